/* libFuzzer harness for the HDF5 reader (tsf_hdf5_read) on mutated small HDF5 files.
 *
 * The input is the file's content, written to a tmpfs file (HDF5 reads by path). It is read
 * under the default key and under a key picked by a hash of the input. A frame must be
 * consistent, an error must name the file, and no HDF5 identifier may stay open afterwards (a
 * leaked file id would also make the next input read the previous file's cached state).
 *
 * Seeds: scripts/fuzz.sh writes them (tsflow convert of the CSV fixtures, and
 * tests/fuzz/make_hdf5_seeds.py with h5py: plain datasets, dimension scales, CF time units,
 * strings, pandas fixed and table formats). Crashes inside libhdf5 itself on corrupt metadata
 * are a known limit of HDF5 1.10 (see tests/fuzz/README.md); the harness counts them apart. */
#include <hdf5.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "tsflow/io.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (tsf_init() != TSF_OK)
        abort();
    return 0;
}

static void read_key(const char *path, const char *key, const uint8_t *data, size_t size)
{
    tsf_frame *f = NULL;
    tsf_err err = TSF_ERR_INIT;
    int rc = tsf_hdf5_read(&f, path, key, &err);
    if (rc == TSF_OK) {
        fuzz_check_frame(f);
        tsf_frame_free(f);
    } else {
        FUZZ_REQUIRE(f == NULL, "failed read left a frame");
        fuzz_check_error(rc, &err, path);
        fuzz_check_no_h5_stack(&err, data, size);
    }
    ssize_t open_ids = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL);
    FUZZ_REQUIRE(open_ids == 0, "%zd HDF5 identifiers left open after reading key %s (%s)",
                 open_ids, key ? key : "(default)", rc == TSF_OK ? "success" : err.msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const keys[] = {"data",           "/df", "values", "x",
                                       "data_xr/values", "s",   "t",      "/"};
    const char *path = fuzz_write("in.h5", data, size);
    uint32_t h = 0;
    for (size_t i = 0; i < size; i++)
        h = h * 31u + data[i];
    read_key(path, NULL, data, size);
    read_key(path, keys[h % (sizeof keys / sizeof keys[0])], data, size);
    return 0;
}
