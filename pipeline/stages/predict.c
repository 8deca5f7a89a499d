/* predict: forecast with a trained or loaded model. Given windows, every window is forecast (on
 * the windows' scale, then mapped back to the data's units with the scaler); given a frame in
 * the data's own units, the model scales it with its own scaler and forecasts the next horizon
 * rows after the end of every series. Instance normalization is applied as the model says. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "model_stages.h"
#include "tsflow/forecast.h"
#include "tsflow/rnn_model.h"
#include "tsflow/scale.h"
#include "tsflow/stage.h"

typedef struct predict_state {
    size_t batch_size;
    int original;
} predict_state;

static const tsf_option options[] = {
    {.name = "batch_size",
     .type = TSF_OPT_SIZE,
     .offset = offsetof(predict_state, batch_size),
     .def = "0",
     .min = 0,
     .max = 1e6,
     .help = "windows per forward pass (0: the batch size the model was trained with, which "
             "repeats its forecasts bit for bit)"},
    {.name = "original",
     .type = TSF_OPT_BOOL,
     .offset = offsetof(predict_state, original),
     .def = "true",
     .help = "map forecasts back to the data's units with the scaler (false: keep them on the "
             "normalized scale, as the ETT protocol scores)"},
    TSF_OPTION_END,
};

static const tsf_port inputs[] = {
    {.name = "model", .types = TSF_TYPE_BIT(TSF_TYPE_MODEL), .help = "train.rnn or model.load"},
    {.name = "data",
     .types = TSF_TYPE_BIT(TSF_TYPE_WINDOWS) | TSF_TYPE_BIT(TSF_TYPE_FRAME),
     .help = "windows to forecast (cut like the training windows, on the model's scale), or a "
             "frame in its own units to forecast past its end"},
    {.name = "scaler",
     .types = TSF_TYPE_BIT(TSF_TYPE_SCALER),
     .flags = TSF_PORT_OPTIONAL,
     .help = "windows input: the scaler of their frame (default: the model's)"},
    TSF_PORT_END,
};

static const tsf_port outputs[] = {
    {.name = "forecasts", .types = TSF_TYPE_BIT(TSF_TYPE_FORECASTS), .help = "the forecasts"},
    TSF_PORT_END,
};

static int check(tsf_stage_ctx *ctx, void *state, const tsf_meta *const *in, tsf_meta *const *out,
                 tsf_err *err)
{
    (void)state;
    const tsf_meta *m = in[0], *d = in[1];
    int has_scaler = ctx->n_inputs > 2 && in[2];
    if (d->type == TSF_TYPE_FRAME) {
        if (has_scaler)
            return tsf_stage_fail_key(ctx, err, "inputs", TSF_EINVAL,
                                      "a scaler input only applies to windows: a frame is scaled "
                                      "with the model's own scaler");
        if (m->lookback != TSF_UNKNOWN && d->min_series_rows != TSF_UNKNOWN &&
            d->min_series_rows < m->lookback)
            return tsf_stage_fail_key(ctx, err, "inputs", TSF_EINVAL,
                                      "the shortest series has %lld rows, fewer than the model's "
                                      "lookback %lld (expected at least %lld rows to forecast "
                                      "from)",
                                      (long long)d->min_series_rows, (long long)m->lookback,
                                      (long long)m->lookback);
    } else {
        const struct {
            const char *what;
            int64_t model, data;
        } dims[] = {{"lookback", m->lookback, d->lookback},
                    {"horizon", m->horizon, d->horizon},
                    {"inputs per step", m->n_inputs, d->n_inputs},
                    {"outputs", m->n_outputs, d->n_outputs}};
        for (size_t i = 0; i < sizeof dims / sizeof *dims; i++)
            if (dims[i].model != TSF_UNKNOWN && dims[i].data != TSF_UNKNOWN &&
                dims[i].model != dims[i].data)
                return tsf_stage_fail_key(ctx, err, "inputs", TSF_EINVAL,
                                          "the windows have %s %lld, the model %lld (expected "
                                          "windows cut like the training windows)",
                                          dims[i].what, (long long)dims[i].data,
                                          (long long)dims[i].model);
    }
    out[0]->horizon = m->horizon;
    out[0]->n_series = d->n_series;
    return TSF_OK;
}

static int run(tsf_stage_ctx *ctx, void *state, tsf_value *const *in, tsf_value *const *out,
               tsf_err *err)
{
    predict_state *s = state;
    tsf_rnn_model *m = in[0]->ptr;
    tsf_forecasts *fc = NULL;
    tsf_scaler *own = NULL;
    int rc;
    if (in[1]->type == TSF_TYPE_FRAME) {
        const tsf_frame *f = in[1]->ptr;
        rc = tsf_rnn_model_forecast(m, f, s->batch_size, &fc, err);
        if (rc == TSF_OK && !s->original && m->scaler &&
            (rc = tsf_rnn_model_scaler_for(m, f, &own, err)) == TSF_OK)
            rc = tsf_forecasts_rescale(fc, own, 0, err);
    } else {
        const tsf_windows *w = in[1]->ptr;
        const tsf_scaler *sc = ctx->n_inputs > 2 && in[2] ? in[2]->ptr : NULL;
        size_t first = 0;
        if (!sc && (rc = tsf_rnn_model_scaler_for(m, w->frame, &own, err)))
            return rc;
        if (!sc)
            sc = own;
        rc = tsf_rnn_model_forecasts_alloc(m, w->frame, &fc, err);
        if (rc == TSF_OK)
            rc = tsf_forecasts_add_windows(fc, w, &first, err);
        if (rc == TSF_OK) {
            fc->scale = sc ? TSF_FC_NORMALIZED : TSF_FC_ORIGINAL;
            rc = tsf_rnn_model_predict_windows(m, w, s->batch_size, fc, 0, first, err);
        }
        if (rc == TSF_OK && sc && s->original)
            rc = tsf_forecasts_rescale(fc, sc, 1, err);
    }
    tsf_scaler_free(own);
    if (rc != TSF_OK) {
        tsf_forecasts_free(fc);
        return rc;
    }
    tsf_stage_log(ctx, TSF_LOG_INFO, "%s: %zu forecast%s of %zu steps x %zu target%s (%s scale)",
                  m->name, fc->n_entries, fc->n_entries == 1 ? "" : "s", fc->horizon, fc->n_targets,
                  fc->n_targets == 1 ? "" : "s",
                  fc->scale == TSF_FC_NORMALIZED ? "normalized" : "original");
    return tsf_value_set(ctx, out[0], fc, tsfs_free_forecasts);
}

const tsf_stage_def tsf_stage_predict = {
    .abi = TSF_STAGE_ABI_VERSION,
    .name = "predict",
    .summary = "forecast windows, or the future of a frame, with a trained or loaded model",
    .help = "inputs = MODEL, WINDOWS forecasts every window (cut like the training windows, from "
            "the normalized frame) and maps the forecasts back to the data's units with the "
            "model's scaler (or the scaler input). inputs = MODEL, FRAME takes a frame in its "
            "own units (e.g. the imputed data), scales it with the model's scaler and forecasts "
            "the horizon after the last row of every series. Quantile models give one column "
            "per level; the 0.5 level is the point forecast.",
    .state_size = sizeof(predict_state),
    .options = options,
    .inputs = inputs,
    .outputs = outputs,
    .check = check,
    .run = run,
};
