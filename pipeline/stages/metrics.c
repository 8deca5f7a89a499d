/* metrics: score a forecast set (MAE, MSE, RMSE, MAPE, sMAPE, MASE, pinball, coverage) pooled
 * and per horizon step, series and fold; on the forecasts' scale and, given the scaler of
 * normalized forecasts, on the original scale too. Logs the pooled scores. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "prep_stages.h"
#include "tsflow/metrics.h"
#include "tsflow/scale.h"
#include "tsflow/stage.h"

typedef struct metrics_state {
    size_t season;
    tsf_enums by;
    int per_target;
    int original;
    unsigned groups; /* from check */
} metrics_state;

/* In the order of tsf_metrics_spec.groups' bits (TSF_BY_*). */
static const char *const by_names[] = {"all", "step", "series", "fold", NULL};

static const tsf_option options[] = {
    {.name = "season",
     .type = TSF_OPT_SIZE,
     .offset = offsetof(metrics_state, season),
     .def = "0",
     .min = 0,
     .max = 1e9,
     .help = "MASE: scale errors by the in-sample seasonal naive error with this season (needs "
             "the frame input; 0: the season of the frame's frequency, 12 for monthly data)"},
    {.name = "by",
     .type = TSF_OPT_ENUMS,
     .offset = offsetof(metrics_state, by),
     .def = "all, step, series, fold",
     .choices = by_names,
     .help = "groupings to report: all (pooled), by step, by series, by fold"},
    {.name = "per_target",
     .type = TSF_OPT_BOOL,
     .offset = offsetof(metrics_state, per_target),
     .def = "false",
     .help = "rows per target column as well as pooled over targets"},
    {.name = "original",
     .type = TSF_OPT_BOOL,
     .offset = offsetof(metrics_state, original),
     .def = "true",
     .help = "normalized forecasts with a scaler input: score on the original scale too"},
    TSF_OPTION_END,
};

static const tsf_port inputs[] = {
    {.name = "forecasts", .types = TSF_TYPE_BIT(TSF_TYPE_FORECASTS), .help = "what to score"},
    {.name = "scaler",
     .types = TSF_TYPE_BIT(TSF_TYPE_SCALER),
     .flags = TSF_PORT_OPTIONAL,
     .help = "maps normalized forecasts back"},
    {.name = "frame",
     .types = TSF_TYPE_BIT(TSF_TYPE_FRAME),
     .flags = TSF_PORT_OPTIONAL,
     .help = "the frame forecast (for MASE's in-sample scale), on the forecasts' scale"},
    TSF_PORT_END,
};

static const tsf_port outputs[] = {
    {.name = "metrics", .types = TSF_TYPE_BIT(TSF_TYPE_METRICS), .help = "the metrics table"},
    TSF_PORT_END,
};

static int check(tsf_stage_ctx *ctx, void *state, const tsf_meta *const *in, tsf_meta *const *out,
                 tsf_err *err)
{
    metrics_state *s = state;
    s->groups = tsf_enums_mask(&s->by);
    if (!s->groups)
        return tsf_stage_fail_key(ctx, err, "by", TSF_EINVAL, "no grouping given");
    if (tsf_stage_option_set(ctx, "season") && !(ctx->n_inputs > 2 && in[2]))
        return tsf_stage_fail_key(ctx, err, "season", TSF_EINVAL,
                                  "MASE needs the frame as third input (inputs = forecasts, "
                                  "scaler, frame)");
    out[0]->horizon = in[0]->horizon;
    out[0]->folds = in[0]->folds;
    return TSF_OK;
}

/* Log the pooled rows of the scale just appended (rows [from, n_rows)). */
static void log_pooled(tsf_stage_ctx *ctx, const tsf_metrics *mt, size_t from)
{
    for (size_t i = from; i < mt->n_rows; i++) {
        const tsf_metric_row *r = &mt->row[i];
        if (r->by != TSF_BY_ALL || r->target != TSF_ALL_TARGETS)
            continue;
        char line[768];
        size_t len =
            (size_t)snprintf(line, sizeof line, "%s (%s scale, %zu points):", mt->models[r->model],
                             r->scale == TSF_FC_NORMALIZED ? "normalized" : "original", r->count);
        for (int k = 0; k < TSF_N_METRICS && len < sizeof line; k++)
            if (r->value[k] == r->value[k]) /* not NaN */
                len += (size_t)snprintf(line + len, sizeof line - len, " %s %.5f",
                                        tsf_metric_name(k), r->value[k]);
        tsf_stage_log(ctx, TSF_LOG_INFO, "%s", line);
    }
}

static int run(tsf_stage_ctx *ctx, void *state, tsf_value *const *in, tsf_value *const *out,
               tsf_err *err)
{
    metrics_state *s = state;
    const tsf_forecasts *fc = in[0]->ptr;
    const tsf_scaler *sc = ctx->n_inputs > 1 && in[1] ? in[1]->ptr : NULL;
    const tsf_frame *f = ctx->n_inputs > 2 && in[2] ? in[2]->ptr : NULL;
    tsf_metrics_spec spec = {.season = s->season, .groups = s->groups, .per_target = s->per_target};
    if (f && !spec.season) {
        spec.season = f->time_kind == TSF_TIME_EPOCH ? tsf_freq_season(&f->freq) : 0;
        if (!spec.season)
            return tsf_stage_fail_key(ctx, err, "season", TSF_EINVAL,
                                      "MASE needs a season, and the frame's %s has none (expected "
                                      "season = rows per seasonal cycle; 1 scales by the naive "
                                      "forecast)",
                                      f->time_kind == TSF_TIME_EPOCH ? "frequency"
                                                                     : "integer index");
        tsf_stage_log(ctx, TSF_LOG_INFO, "MASE season %zu (from the frequency)", spec.season);
    }
    tsf_metrics *mt = NULL;
    int rc = tsf_metrics_compute(&mt, fc, f, &spec, err);
    if (rc != TSF_OK)
        return rc;
    log_pooled(ctx, mt, 0);
    if (sc && s->original && fc->scale == TSF_FC_NORMALIZED) {
        tsf_forecasts *orig = NULL;
        tsf_frame *g = NULL;
        size_t from = mt->n_rows;
        rc = tsf_forecasts_copy(&orig, fc, err);
        if (rc == TSF_OK)
            rc = tsf_forecasts_rescale(orig, sc, 1, err);
        if (rc == TSF_OK && f && (rc = tsf_frame_copy_rows(&g, f, 0, f->n_rows, err)) == TSF_OK)
            rc = tsf_scaler_invert(sc, g, NULL, err);
        if (rc == TSF_OK)
            rc = tsf_metrics_compute(&mt, orig, g, &spec, err);
        if (rc == TSF_OK)
            log_pooled(ctx, mt, from);
        tsf_forecasts_free(orig);
        tsf_frame_free(g);
    }
    if (rc != TSF_OK) {
        tsf_metrics_free(mt);
        return rc;
    }
    return tsf_value_set(ctx, out[0], mt, tsfs_free_metrics);
}

const tsf_stage_def tsf_stage_metrics = {
    .abi = TSF_STAGE_ABI_VERSION,
    .name = "metrics",
    .summary = "score forecasts: MAE, MSE, RMSE, MAPE, sMAPE, MASE, pinball, coverage",
    .help = "Pooled scores come from pooled errors (pooled RMSE is the root of the pooled mean "
            "squared error). Rows per horizon step, series and fold as asked. Normalized "
            "forecasts (a baseline or model fed by a normalize step) are scored as they are, the "
            "ETT protocol, and with the scaler input also on the original scale.",
    .state_size = sizeof(metrics_state),
    .options = options,
    .inputs = inputs,
    .outputs = outputs,
    .check = check,
    .run = run,
};
