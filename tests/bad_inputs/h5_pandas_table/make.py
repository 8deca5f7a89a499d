import warnings
import numpy as np
import pandas as pd
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    df = pd.DataFrame({"site": ["a", "b", "c", "d", "e"], "kind": ["x"] * 5,
                       "load": np.arange(5.0)},
                      index=pd.date_range("2020-01-01", periods=5, freq="h"))
    df.to_hdf("table.h5", key="data", format="table")
