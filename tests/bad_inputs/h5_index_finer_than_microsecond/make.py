import pandas as pd
idx = pd.to_datetime(["2020-01-01 00:00:00", "2020-01-01 00:00:00.000001", "2020-01-01 00:00:00.0000025"])
pd.DataFrame({"v": [1.0, 2.0, 3.0]}, index=idx).to_hdf("ns.h5", key="data", format="fixed")
