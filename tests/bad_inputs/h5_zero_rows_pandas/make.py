import pandas as pd
frame = pd.DataFrame({"load": []}, index=pd.DatetimeIndex([], name="time")).astype(float)
frame.to_hdf("empty.h5", key="data", format="fixed")
