import h5py
import numpy as np
with h5py.File("other.h5", "w") as f:
    f["values"] = np.arange(5.0)
    f["grp/x"] = np.arange(3.0)
