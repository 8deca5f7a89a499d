import h5py
with h5py.File("zero.h5", "w") as f:
    f.create_dataset("data", shape=(0, 3), dtype="f8")
