/* TEMPORARY: placeholder until the HDF5 reader lands. Delete when lib/io/hdf5_*.c exist. */
#include "tsflow/io.h"

int tsf_hdf5_read(tsf_frame **out, const char *path, const char *key, tsf_err *err)
{
    (void)key;
    *out = NULL;
    TSF_FAIL(err, TSF_EIO, "%s: HDF5 reader not built yet", path);
}

int tsf_hdf5_write(const tsf_frame *f, const char *path, const char *key, tsf_err *err)
{
    (void)f;
    (void)key;
    TSF_FAIL(err, TSF_EIO, "%s: HDF5 writer not built yet", path);
}

int tsf_is_hdf5(const char *path)
{
    (void)path;
    return 0;
}
