/* export.csv: write a frame (tsf_csv_write), the long forecast table or the metrics table
 * (tsflow/export.h) as CSV, atomically, numbers exact (the shortest text that reads back as the
 * same double). */
#include <stddef.h>

#include "tsflow/export.h"
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
    {.name = "value",
     .types = TSF_TYPE_BIT(TSF_TYPE_FRAME) | TSF_TYPE_BIT(TSF_TYPE_FORECASTS) |
              TSF_TYPE_BIT(TSF_TYPE_METRICS),
     .help = "a frame, forecasts or metrics"},
    TSF_PORT_END,
};

static int run(tsf_stage_ctx *ctx, void *state, tsf_value *const *in, tsf_value *const *out,
               tsf_err *err)
{
    (void)out;
    const export_csv *s = state;
    int rc = TSF_OK;
    switch (in[0]->type) {
    case TSF_TYPE_FORECASTS: {
        const tsf_forecasts *fc = in[0]->ptr;
        rc = tsf_forecasts_write_csv(fc, s->path, err);
        if (rc == TSF_OK)
            tsf_stage_log(ctx, TSF_LOG_INFO, "wrote %s (%zu forecast rows)", s->path,
                          fc->n_entries * fc->n_steps * fc->n_targets);
        break;
    }
    case TSF_TYPE_METRICS: {
        const tsf_metrics *mt = in[0]->ptr;
        rc = tsf_metrics_write_csv(mt, NULL, 0, s->path, err);
        if (rc == TSF_OK)
            tsf_stage_log(ctx, TSF_LOG_INFO, "wrote %s (%zu metric rows)", s->path, mt->n_rows);
        break;
    }
    default: {
        const tsf_frame *f = in[0]->ptr;
        rc = tsf_csv_write(f, s->path, err);
        if (rc == TSF_OK)
            tsf_stage_log(ctx, TSF_LOG_INFO, "wrote %s (%zu rows)", s->path, f->n_rows);
        break;
    }
    }
    return rc;
}

const tsf_stage_def tsf_stage_export_csv = {
    .abi = TSF_STAGE_ABI_VERSION,
    .name = "export.csv",
    .summary = "write a frame, forecasts or metrics to a CSV file",
    .help =
        "A frame: a header \"time,<columns>\" (long layout: \"<id>,time,<columns>\"). "
        "Forecasts: the long table series,origin,step,target,timestamp,cutoff,fold,actual "
        "and one column per model and quantile (the flat form of export.hdf5's "
        "\"forecasts\"). Metrics: model,target,scale,by,key,cutoff (the fold's cutoff on rows by "
        "fold, else empty),count, the metrics and the skill "
        "columns. Times are written in the data's zone with their offset, as pandas' to_csv "
        "writes zone-aware times. Numbers are written with up to 17 significant digits so that "
        "reading the "
        "file back gives the same doubles; NaN is an empty field.",
    .state_size = sizeof(export_csv),
    .options = options,
    .inputs = inputs,
    .run = run,
};
