import h5py
import numpy as np
with h5py.File("cf.h5", "w") as f:
    f["v"] = np.arange(3.0)
    f["time"] = np.array([0, 1000, 2500])
    f["time"].attrs["units"] = "nanoseconds since 2020-01-01"
