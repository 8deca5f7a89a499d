/* predict: forecast with a model from the model port (tsf_model in tsflow/stage.h: train.rnn,
 * model.load or a plugin's), through its interface only. Given windows, every window is forecast
 * (on the windows' scale, then mapped back to the data's units with the scaler); given a frame in
 * the data's own units, the model scales it with its own scaler and forecasts the next horizon
 * rows after the end of every series. Instance normalization is applied as the model says. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tsflow/backtest.h"
#include "tsflow/forecast.h"
#include "tsflow/scale.h"
#include "tsflow/stage.h"
#include "values.h"

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

/* An empty forecast set for frame f with m's targets (by name), name and quantile levels. */
static int forecasts_for(const tsf_model *m, const tsf_frame *f, tsf_forecasts **out, tsf_err *err)
{
    *out = NULL;
    size_t *cols = malloc((m->n_targets ? m->n_targets : 1) * sizeof *cols);
    if (!cols)
        TSF_FAIL(err, TSF_ENOMEM, "out of memory");
    for (size_t i = 0; i < m->n_targets; i++)
        if ((cols[i] = tsf_frame_col_index(f, m->targets[i])) == (size_t)-1) {
            free(cols);
            TSF_FAIL(err, TSF_EINVAL, "the frame has no column \"%s\" (a target of model \"%s\")",
                     m->targets[i], m->name);
        }
    int rc = tsf_forecasts_alloc(out, f, cols, m->n_targets, &m->name, 1, m->quantiles,
                                 m->n_quantiles, m->horizon, 0, err);
    free(cols);
    return rc;
}

/* The rows of one series of f before row `end` (a frame row), as a one-series frame that views
 * f's arrays: what a forecaster sees of the history of an origin. */
typedef struct hist_view {
    tsf_frame f;
    double **cols; /* (f's n_cols) */
    size_t start[2];
} hist_view;

static void view_history(hist_view *v, const tsf_frame *f, size_t s, size_t end)
{
    size_t a = f->series_start[s];
    v->f = *f;
    for (size_t j = 0; j < f->n_cols; j++)
        v->cols[j] = f->cols[j] + a;
    v->f.cols = v->cols;
    v->f.time = f->time + a;
    v->f.n_rows = v->f.capacity = end - a;
    v->f.n_series = 1;
    v->f.series_ids = f->series_ids ? f->series_ids + s : NULL;
    v->start[0] = 0;
    v->start[1] = end - a;
    v->f.series_start = v->start;
}

/* A model's forecasts through its forecaster (tsflow/backtest.h): entries first.. of fc, each
 * from the history of its series before its origin, with the state the producer fitted, or
 * else one fitted here on the rows before the earliest origin (as an offset into each series:
 * no series lends the fit a row at or after an origin). */
static int forecast_entries(const tsf_model *m, const tsf_frame *f, tsf_forecasts *fc, size_t first,
                            tsf_err *err)
{
    tsf_model_binding b = {.frame = f};
    int rc = m->bind(m, &b, err);
    if (rc != TSF_OK)
        return rc;
    const tsf_forecaster *fr = &b.forecaster;
    size_t S = f->n_series, P = 1 + fc->n_quantiles;
    tsf_range *fit = calloc(S, sizeof *fit);
    double *block = malloc(fc->horizon * fc->n_targets * P * sizeof *block);
    hist_view v = {.cols = malloc((f->n_cols ? f->n_cols : 1) * sizeof *v.cols)};
    void *own = NULL;
    const void *state = m->fitted;
    if (!fit || !block || !v.cols) {
        rc = tsf_err_set(err, TSF_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t q = 0; q < S; q++)
        fit[q] = (tsf_range){f->series_start[q], f->series_start[q + 1]};
    for (size_t e = first; e < fc->n_entries; e++) {
        tsf_range *r = &fit[fc->entry[e].series];
        if (fc->entry[e].origin_row < r->end)
            r->end = fc->entry[e].origin_row;
    }
    tsf_fold_ctx fctx = {.hist = f,
                         .fit = fit,
                         .targets = fc->target_cols,
                         .n_targets = fc->n_targets,
                         .horizon = fc->horizon,
                         .quantiles = fc->quantiles,
                         .n_quantiles = fc->n_quantiles};
    if (!state && fr->fit) {
        /* fit on the history of the earliest origin: a frame of the past of every series */
        tsf_frame *h = NULL;
        size_t head = SIZE_MAX;
        for (size_t q = 0; q < S; q++)
            if (fit[q].end - fit[q].begin < head)
                head = fit[q].end - fit[q].begin;
        if ((rc = tsf_frame_head(&h, f, head, err)) != TSF_OK)
            goto done;
        for (size_t q = 0; q < S; q++)
            fit[q] = (tsf_range){h->series_start[q], h->series_start[q + 1]};
        fctx.hist = h;
        rc = fr->fit(fr->self, &fctx, NULL, &own, err);
        tsf_frame_free(h);
        if (rc != TSF_OK)
            goto done;
        state = own;
    }
    for (size_t e = first; e < fc->n_entries && rc == TSF_OK; e++) {
        const tsf_fc_entry *en = &fc->entry[e];
        view_history(&v, f, en->series, en->origin_row);
        tsf_range all = {0, v.f.n_rows};
        fctx.hist = &v.f;
        fctx.fit = &all;
        for (size_t i = 0; i < fc->horizon * fc->n_targets * P; i++)
            block[i] = NAN;
        if ((rc = fr->forecast(fr->self, state, &fctx, 0, block, err)) == TSF_OK)
            tsf_forecasts_put(fc, e, 0, block);
    }
done:
    if (own && fr->free_state)
        fr->free_state(fr->self, own);
    if (m->unbind)
        m->unbind(m, &b);
    free(fit);
    free(block);
    free(v.cols);
    return rc;
}

/* The horizon after the end of every series of f, in f's units. */
static int predict_frame(const tsf_model *m, const tsf_frame *f, size_t batch_size,
                         tsf_forecasts **out, tsf_err *err)
{
    if (m->predict_frame)
        return m->predict_frame(m, f, batch_size, out, err);
    tsf_forecasts *fc;
    int rc = forecasts_for(m, f, &fc, err);
    for (size_t q = 0; rc == TSF_OK && q < f->n_series; q++) {
        size_t a = f->series_start[q], end = f->series_start[q + 1];
        if (end - a < m->lookback)
            rc = tsf_err_set(err, TSF_EINVAL,
                             "series %zu has %zu rows, fewer than the lookback %zu of model "
                             "\"%s\"",
                             q, end - a, m->lookback, m->name);
        else
            rc = tsf_forecasts_add(fc, f, q, end, 0, a, end, NULL, err);
    }
    if (rc == TSF_OK)
        rc = forecast_entries(m, f, fc, 0, err);
    if (rc != TSF_OK) {
        tsf_forecasts_free(fc);
        return rc;
    }
    *out = fc;
    return TSF_OK;
}

static int run(tsf_stage_ctx *ctx, void *state, tsf_value *const *in, tsf_value *const *out,
               tsf_err *err)
{
    predict_state *s = state;
    const tsf_model *m = in[0]->ptr;
    tsf_forecasts *fc = NULL;
    tsf_scaler *own = NULL;
    int rc;
    if (in[1]->type == TSF_TYPE_FRAME) {
        const tsf_frame *f = in[1]->ptr;
        rc = predict_frame(m, f, s->batch_size, &fc, err);
        if (rc == TSF_OK && !s->original && m->scaler_for &&
            (rc = m->scaler_for(m, f, &own, err)) == TSF_OK && own)
            rc = tsf_forecasts_rescale(fc, own, 0, err);
    } else {
        const tsf_windows *w = in[1]->ptr;
        const tsf_scaler *sc = ctx->n_inputs > 2 && in[2] ? in[2]->ptr : NULL;
        size_t first = 0;
        if (!sc && m->scaler_for && (rc = m->scaler_for(m, w->frame, &own, err)))
            return rc;
        if (!sc)
            sc = own;
        rc = forecasts_for(m, w->frame, &fc, err);
        if (rc == TSF_OK)
            rc = tsf_forecasts_add_windows(fc, w, &first, err);
        if (rc == TSF_OK) {
            fc->scale = sc ? TSF_FC_NORMALIZED : TSF_FC_ORIGINAL;
            rc = m->predict_windows ? m->predict_windows(m, w, s->batch_size, fc, first, err)
                                    : forecast_entries(m, w->frame, fc, first, err);
        }
        if (rc == TSF_OK && sc && s->original)
            rc = tsf_forecasts_rescale(fc, sc, 1, err);
    }
    tsf_scaler_free(own);
    if (rc != TSF_OK) {
        tsf_forecasts_free(fc);
        return rc;
    }
    if (in[1]->type == TSF_TYPE_FRAME) { /* windows may be cut from a normalized frame */
        tsf_fc_implausible bad;
        tsf_forecasts_implausible(fc, in[1]->ptr, &bad);
        if (bad.n)
            tsf_stage_log(ctx, TSF_LOG_WARN,
                          "%s: %zu of %zu forecast values lie far outside the data, e.g. %g for "
                          "\"%s\", whose data spans %g to %g (plausible: %g to %g, %g times that "
                          "range beyond it): the model may have diverged (lower the learning "
                          "rate or clip the gradients)",
                          m->name, bad.n, bad.n_judged, bad.worst, bad.target, bad.data_min,
                          bad.data_max, bad.lo, bad.hi, TSF_FC_IMPLAUSIBLE_SPANS);
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
