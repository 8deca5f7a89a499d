import h5py
import numpy as np
with h5py.File("cube.h5", "w") as f:
    f["data"] = np.zeros((2, 3, 4))
