#!/usr/bin/python3
"""Write small HDF5 seed files for the fuzz_hdf5 harness (and the bad-input catalogue) into
the directory given as argv[1] (then touch the stamp file argv[2], if given): the layouts tsf_hdf5_read understands (plain 1-D/2-D datasets,
a "columns" attribute, dimension scales, sibling time datasets with CF units or ISO strings,
pandas fixed format) and a few it refuses (pandas table format, strings, rank 3). Each file is
kept small (a few KB) so that mutations stay fast. Run with Debian's /usr/bin/python3."""
import os
import sys
import warnings

import h5py
import numpy as np

out = sys.argv[1]
os.makedirs(out, exist_ok=True)


def path(name):
    return os.path.join(out, name)


# 1-D float dataset, no time: index 0, 1, 2...
with h5py.File(path("plain_1d.h5"), "w", libver="latest") as f:
    f["data"] = np.arange(6, dtype="f8") * 0.5

# 2-D with a "columns" attribute and a sibling "time" with CF units
with h5py.File(path("plain_2d_cf.h5"), "w") as f:
    f["data"] = np.arange(8, dtype="f4").reshape(4, 2)
    f["data"].attrs["columns"] = np.array([b"load", b"temp"])
    t = f.create_dataset("time", data=np.arange(4, dtype="i8") * 3600)
    t.attrs["units"] = "seconds since 2020-01-01 00:00:00"
    t.attrs["calendar"] = "standard"

# dimension scales: ISO-string time on dim 0, string column names on dim 1
with h5py.File(path("scales.h5"), "w") as f:
    d = f.create_dataset("data", data=np.array([[1, 2], [3, 4], [5, 6]], dtype="i4"))
    tm = f.create_dataset("time", data=np.array([b"2021-01-01", b"2021-01-02", b"2021-01-03"]))
    cols = f.create_dataset("cols", data=np.array([b"a", b"b"]))
    tm.make_scale("time")
    cols.make_scale("cols")
    d.dims[0].attach_scale(tm)
    d.dims[1].attach_scale(cols)

# sibling "date" in days, bool values
with h5py.File(path("days_bool.h5"), "w") as f:
    f["data"] = np.array([True, False, True, True])
    t = f.create_dataset("date", data=np.arange(4, dtype="f8"))
    t.attrs["units"] = "days since 1999-12-31"

# refused: rank 3, a string dataset, a compound
with h5py.File(path("rank3.h5"), "w") as f:
    f["data"] = np.zeros((2, 2, 2))
with h5py.File(path("strings.h5"), "w") as f:
    f["data"] = np.array([b"x", b"y"])
with h5py.File(path("compound.h5"), "w") as f:
    f["data"] = np.zeros(3, dtype=[("a", "f8"), ("b", "i4")])

# pandas fixed and table formats (needs pandas + PyTables)
try:
    import pandas as pd

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        idx = pd.date_range("2020-01-01", periods=5, freq="h", name="time")
        df = pd.DataFrame({"load": np.arange(5.0), "n": np.arange(5)}, index=idx)
        df.to_hdf(path("pandas_fixed.h5"), key="data", format="fixed")
        df.to_hdf(path("pandas_table.h5"), key="data", format="table")
        pd.Series(np.arange(3.0), name="s").to_hdf(path("pandas_series.h5"), key="data")
except ImportError:
    pass

if len(sys.argv) > 2:
    open(sys.argv[2], "w").close()
