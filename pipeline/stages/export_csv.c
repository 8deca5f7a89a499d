/* export.csv: write a frame (tsf_csv_write), the long forecast table or the metrics table
 * (tsflow/export.h) as CSV, atomically, numbers exact (the shortest text that reads back as the
 * same double). Forecasts written with the data they were made from get a column flagging the
 * rows far outside it, as export.hdf5 counts them in an attribute: a CSV has no attributes, and a
 * comment line would break a plain pandas.read_csv. */
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
    {.name = "data",
     .types = TSF_TYPE_BIT(TSF_TYPE_FRAME),
     .flags = TSF_PORT_OPTIONAL,
     .help = "with forecasts: the data they were made from, to flag forecasts far outside it "
             "(inputs = FORECASTS, DATA)"},
    TSF_PORT_END,
};

static int check(tsf_stage_ctx *ctx, void *state, const tsf_meta *const *in, tsf_meta *const *out,
                 tsf_err *err)
{
    (void)state;
    (void)out;
    if (in[1] && in[0]->type != TSF_TYPE_FORECASTS)
        return tsf_stage_fail_key(ctx, err, "inputs", TSF_EINVAL,
                                  "a second input (the data) is read only with forecasts, to flag "
                                  "forecasts far outside it (expected inputs = FORECASTS, DATA, or "
                                  "one input)");
    return TSF_OK;
}

static int run(tsf_stage_ctx *ctx, void *state, tsf_value *const *in, tsf_value *const *out,
               tsf_err *err)
{
    (void)out;
    const export_csv *s = state;
    int rc = TSF_OK;
    switch (in[0]->type) {
    case TSF_TYPE_FORECASTS: {
        const tsf_forecasts *fc = in[0]->ptr;
        const tsf_frame *data = ctx->n_inputs > 1 && in[1] ? in[1]->ptr : NULL;
        tsf_fc_implausible bad;
        rc = tsf_forecasts_write_csv(fc, data, s->path, &bad, err);
        if (rc == TSF_OK && bad.n)
            tsf_stage_log(ctx, TSF_LOG_WARN,
                          "%s: %zu of %zu forecast values lie far outside the data, e.g. %g for "
                          "\"%.80s\", whose data spans %g to %g (plausible: %g to %g); their rows "
                          "say implausible = True",
                          s->path, bad.n, bad.n_judged, bad.worst, bad.target, bad.data_min,
                          bad.data_max, bad.lo, bad.hi);
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
    .help = "A frame: a header \"time,<columns>\" (long layout: \"<id>,time,<columns>\"). "
            "Forecasts: the long table series,origin,step,target,timestamp,cutoff,fold,actual "
            "and one column per model and quantile (the flat form of export.hdf5's "
            "\"forecasts\"); with the data as a second input (inputs = FORECASTS, DATA), a last "
            "column implausible, True where a value of the row lies far outside anything the data "
            "supports (beyond its range widened by 10 times its width on each side; logged as a "
            "warning, as export.hdf5 counts them in its attribute implausible_forecasts). Metrics: "
            "model,target,scale,by,key,cutoff (the fold's cutoff on rows by fold, else empty),"
            "count, the metrics and the skill columns. Times are written in the data's zone with "
            "their offset, as pandas' to_csv writes zone-aware times. Numbers are written with up "
            "to 17 significant digits so that reading the file back gives the same doubles; NaN "
            "is an empty field.",
    .state_size = sizeof(export_csv),
    .options = options,
    .inputs = inputs,
    .check = check,
    .run = run,
};
