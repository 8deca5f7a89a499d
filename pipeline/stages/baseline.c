/* baseline: naive, seasonal naive, drift, mean, ETS or Theta forecasts of every window (the
 * lookback is the history), as a forecast set for metrics and export. The ETT protocol's
 * "Repeat" is naive. */
#include <stddef.h>

#include "prep_stages.h"
#include "tsflow/baseline.h"
#include "tsflow/stage.h"

typedef struct baseline_state {
    int method;
    size_t season;
    const char *name;
} baseline_state;

static const tsf_option options[] = {
    {.name = "method",
     .type = TSF_OPT_ENUM,
     .offset = offsetof(baseline_state, method),
     .def = "naive",
     .choices = tsfs_baselines,
     .help = "naive: the last value; snaive: the value one season earlier; drift: the line "
             "through the first and last values; mean: the lookback's mean; ets: the exponential "
             "smoothing model with the smallest AICc, fitted to each lookback; theta: the Theta "
             "method (both as R's forecast package)"},
    {.name = "season",
     .type = TSF_OPT_SIZE,
     .offset = offsetof(baseline_state, season),
     .def = "1",
     .min = 1,
     .max = 1e9,
     .help = "method = snaive, ets or theta: rows per season (snaive: at most the lookback)"},
    {.name = "name",
     .type = TSF_OPT_STRING,
     .offset = offsetof(baseline_state, name),
     .help = "the model's name in forecasts and metrics (default: the method)"},
    TSF_OPTION_END,
};

static const tsf_port inputs[] = {
    {.name = "windows", .types = TSF_TYPE_BIT(TSF_TYPE_WINDOWS), .help = "windows to forecast"},
    {.name = "scaler",
     .types = TSF_TYPE_BIT(TSF_TYPE_SCALER),
     .flags = TSF_PORT_OPTIONAL,
     .help = "bind when the windows' frame was normalized: forecasts are marked normalized"},
    TSF_PORT_END,
};

static const tsf_port outputs[] = {
    {.name = "forecasts", .types = TSF_TYPE_BIT(TSF_TYPE_FORECASTS), .help = "one per window"},
    TSF_PORT_END,
};

static int check(tsf_stage_ctx *ctx, void *state, const tsf_meta *const *in, tsf_meta *const *out,
                 tsf_err *err)
{
    baseline_state *s = state;
    if (tsf_stage_option_set(ctx, "season") && s->method != TSF_BASE_SNAIVE &&
        s->method < TSF_BASE_ETS)
        return tsf_stage_fail_key(ctx, err, "season", TSF_EINVAL,
                                  "season is only used by method = snaive, ets or theta");
    if (s->method == TSF_BASE_SNAIVE && in[0]->lookback != TSF_UNKNOWN &&
        (int64_t)s->season > in[0]->lookback)
        return tsf_stage_fail_key(ctx, err, "season", TSF_EINVAL,
                                  "season %zu is longer than the windows' lookback %lld", s->season,
                                  (long long)in[0]->lookback);
    if (s->method == TSF_BASE_DRIFT && in[0]->lookback == 1)
        return tsf_stage_fail_key(ctx, err, "method", TSF_EINVAL,
                                  "drift needs a lookback of at least 2");
    if (s->method >= TSF_BASE_ETS && in[0]->lookback != TSF_UNKNOWN && in[0]->lookback < 7)
        return tsf_stage_fail_key(ctx, err, "method", TSF_EINVAL,
                                  "%s needs a lookback of at least 7, got %lld",
                                  tsfs_baselines[s->method], (long long)in[0]->lookback);
    out[0]->n_series = in[0]->n_series;
    out[0]->horizon = in[0]->horizon;
    return TSF_OK;
}

static int run(tsf_stage_ctx *ctx, void *state, tsf_value *const *in, tsf_value *const *out,
               tsf_err *err)
{
    baseline_state *s = state;
    const tsf_windows *w = in[0]->ptr;
    int normalized = ctx->n_inputs > 1 && in[1];
    const char *name = s->name && s->name[0] ? s->name : tsfs_baselines[s->method];
    tsf_forecasts *fc;
    int rc = tsf_forecasts_alloc(&fc, w->frame, w->spec.target_cols, w->spec.n_targets, &name, 1,
                                 NULL, 0, w->spec.horizon, 0, err);
    if (rc != TSF_OK)
        return rc;
    fc->scale = normalized ? TSF_FC_NORMALIZED : TSF_FC_ORIGINAL;
    size_t first;
    rc = tsf_forecasts_add_windows(fc, w, &first, err);
    if (rc == TSF_OK)
        rc = tsf_baseline_windows(fc, 0, w, first, (tsf_baseline)s->method, s->season, err);
    if (rc != TSF_OK) {
        tsf_forecasts_free(fc);
        return rc;
    }
    tsf_stage_log(ctx, TSF_LOG_INFO, "%s: %zu forecasts of %zu steps x %zu target%s", name,
                  fc->n_entries, fc->horizon, fc->n_targets, fc->n_targets == 1 ? "" : "s");
    return tsf_value_set(ctx, out[0], fc, tsfs_free_forecasts);
}

const tsf_stage_def tsf_stage_baseline = {
    .abi = TSF_STAGE_ABI_VERSION,
    .name = "baseline",
    .summary = "forecast every window with naive, seasonal naive, drift, mean, ETS or Theta",
    .help = "Each window's lookback is the history (Hyndman & Athanasopoulos, FPP3 5.2). The "
            "forecasts carry the windows' series, origins, timestamps and actual values.",
    .state_size = sizeof(baseline_state),
    .options = options,
    .inputs = inputs,
    .outputs = outputs,
    .check = check,
    .run = run,
};
