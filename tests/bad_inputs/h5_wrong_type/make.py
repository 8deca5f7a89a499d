import h5py
import numpy as np
with h5py.File("strings.h5", "w") as f:
    f["data"] = np.array([b"a", b"b", b"c"])
