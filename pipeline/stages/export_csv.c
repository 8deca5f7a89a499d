/* export.csv: write a frame as CSV (tsf_csv_write: atomic, %.17g, exact round trip). */
#include <stddef.h>

#include "tsflow/io.h"
#include "tsflow/stage.h"

typedef struct export_csv {
    const char *path;
} export_csv;

static const tsf_option options[] = {
    {.name = "path",
     .type = TSF_OPT_PATH_OUT,
     .offset = offsetof(export_csv, path),
     .flags = TSF_OPT_REQUIRED,
     .help = "the CSV file to write (replaced atomically: temporary file, fsync, rename)"},
    TSF_OPTION_END,
};

static const tsf_port inputs[] = {
    {.name = "frame", .types = TSF_TYPE_BIT(TSF_TYPE_FRAME), .help = "the series to write"},
    TSF_PORT_END,
};

static int run(tsf_stage_ctx *ctx, void *state, tsf_value *const *in, tsf_value *const *out,
               tsf_err *err)
{
    (void)out;
    const export_csv *s = state;
    const tsf_frame *f = in[0]->ptr;
    int rc = tsf_csv_write(f, s->path, err);
    if (rc == TSF_OK)
        tsf_stage_log(ctx, TSF_LOG_INFO, "wrote %s (%zu rows)", s->path, f->n_rows);
    return rc;
}

const tsf_stage_def tsf_stage_export_csv = {
    .abi = TSF_STAGE_ABI_VERSION,
    .name = "export.csv",
    .summary = "write a frame to a CSV file",
    .help = "Writes a header \"time,<columns>\" (long layout: \"<id>,time,<columns>\"), values "
            "with 17 significant digits so that reading the file back gives the same numbers, "
            "and NaN as an empty field.",
    .state_size = sizeof(export_csv),
    .options = options,
    .inputs = inputs,
    .run = run,
};
