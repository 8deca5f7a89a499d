/* export.hdf5: write a frame to HDF5 (tsf_hdf5_write: a pandas fixed-format group that
 * pandas.read_hdf opens, plus plain datasets with dimension scales for h5py and xarray). */
#include <stddef.h>

#include "tsflow/io.h"
#include "tsflow/stage.h"

typedef struct export_hdf5 {
    const char *path;
    const char *key;
} export_hdf5;

static const tsf_option options[] = {
    {.name = "path",
     .type = TSF_OPT_PATH_OUT,
     .offset = offsetof(export_hdf5, path),
     .flags = TSF_OPT_REQUIRED,
     .help = "the HDF5 file to write (replaced atomically: temporary file, fsync, rename)"},
    {.name = "key",
     .type = TSF_OPT_STRING,
     .offset = offsetof(export_hdf5, key),
     .def = "data",
     .help = "the group name: pandas.read_hdf(path, key) opens it"},
    TSF_OPTION_END,
};

static const tsf_port inputs[] = {
    {.name = "frame", .types = TSF_TYPE_BIT(TSF_TYPE_FRAME), .help = "the series to write"},
    TSF_PORT_END,
};

static int check(tsf_stage_ctx *ctx, void *state, const tsf_meta *const *in, tsf_meta *const *out,
                 tsf_err *err)
{
    (void)in;
    (void)out;
    const export_hdf5 *s = state;
    if (!s->key || !s->key[0] || s->key[0] == '/')
        return tsf_stage_fail_key(ctx, err, "key", TSF_EINVAL,
                                  "\"%s\" is not a group name (expected a name like \"data\")",
                                  s->key ? s->key : "");
    return TSF_OK;
}

static int run(tsf_stage_ctx *ctx, void *state, tsf_value *const *in, tsf_value *const *out,
               tsf_err *err)
{
    (void)out;
    const export_hdf5 *s = state;
    const tsf_frame *f = in[0]->ptr;
    int rc = tsf_hdf5_write(f, s->path, s->key, err);
    if (rc == TSF_OK)
        tsf_stage_log(ctx, TSF_LOG_INFO, "wrote %s, key %s (%zu rows)", s->path, s->key, f->n_rows);
    return rc;
}

const tsf_stage_def tsf_stage_export_hdf5 = {
    .abi = TSF_STAGE_ABI_VERSION,
    .name = "export.hdf5",
    .summary = "write a frame to an HDF5 file (pandas, h5py and xarray read it)",
    .help = "Writes the frame under a key as a pandas fixed-format group, so that "
            "pandas.read_hdf(path, key) returns it with its column names and time index, and "
            "as plain datasets with dimension scales for h5py and xarray.",
    .state_size = sizeof(export_hdf5),
    .options = options,
    .inputs = inputs,
    .check = check,
    .run = run,
};
