import os
import h5py
import numpy as np
with h5py.File("full.h5", "w") as f:
    f["data"] = np.arange(40, dtype="f8").reshape(20, 2)
raw = open("full.h5", "rb").read()
open("truncated.h5", "wb").write(raw[: len(raw) // 2])
os.remove("full.h5")
