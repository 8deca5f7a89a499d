/* A tsf_batch_source over windows (tsflow/window.h), with messages that name the series, the
 * frame row, its time and the column of a sample element. Not tied to the real type: built once,
 * into libtsflow. Also tsf_predict_windows, which fills a forecast set (tsflow/forecast.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "predict_internal.h"
#include "tsflow/forecast.h"
#include "tsflow/rnn_model.h"
#include "tsflow/train.h"

static void windows_gather(void *ctx, const size_t *idx, size_t B, float *x, float *xf, float *y)
{
    tsf_windows_gather(ctx, idx, B, x, xf, y);
}

/* Name of calendar feature j of the flags (in flag-bit order, as tsf_calendar_features). */
static const char *calendar_name(unsigned flags, size_t j)
{
    static const char *const names[] = {"minute",       "hour",        "day_of_week",
                                        "day_of_month", "day_of_year", "month"};
    for (unsigned bit = 0; bit < 6; bit++)
        if (flags & (1u << bit)) {
            if (j == 0)
                return names[bit];
            j--;
        }
    return "?";
}

/* The frame column of feature i of a lookback input (targets | past | future | calendar), of a
 * known-future input (future | calendar) or of a target; NULL for a calendar feature, whose
 * name goes to *cal. */
static const char *feature_name(const tsf_windows *w, size_t target, tsf_sample_part part, size_t i,
                                const char **cal)
{
    const tsf_window_spec *sp = &w->spec;
    const tsf_frame *f = w->frame;
    const size_t O = w->n_outputs;
    *cal = NULL;
    if (part == TSF_SAMPLE_Y || (part == TSF_SAMPLE_X && i < O)) {
        size_t col = sp->channel_independent ? sp->target_cols[target] : sp->target_cols[i];
        return f->col_names[col];
    }
    if (part == TSF_SAMPLE_X) {
        i -= O;
        if (i < sp->n_past)
            return f->col_names[sp->past_cols[i]];
        i -= sp->n_past;
    }
    if (i < sp->n_future)
        return f->col_names[sp->future_cols[i]];
    *cal = calendar_name(sp->calendar, i - sp->n_future);
    return NULL;
}

static void windows_describe(void *ctx, size_t k, tsf_sample_part part, size_t step, size_t feature,
                             char *buf, size_t n)
{
    const tsf_windows *w = ctx;
    const tsf_frame *f = w->frame;
    size_t s, origin, target;
    tsf_windows_sample_info(w, k, &s, &origin, &target);
    char series[96], row[64];
    tsf_frame_series_label(f, s, series, sizeof series);
    if (part == TSF_SAMPLE_WINDOW) {
        snprintf(buf, n, "%s, window forecasting from %s", series,
                 tsf_frame_row_label(f, origin, row, sizeof row));
        return;
    }
    size_t r = part == TSF_SAMPLE_X ? origin - w->spec.lookback + step : origin + step;
    tsf_frame_row_label(f, r, row, sizeof row);
    const char *cal;
    const char *col = feature_name(w, target, part, feature, &cal);
    if (col)
        snprintf(buf, n, "%s, %s, column \"%s\"", series, row, col);
    else
        snprintf(buf, n, "%s, %s, calendar feature %s", series, row, cal);
}

void tsf_batch_source_windows(tsf_batch_source *src, const tsf_windows *w)
{
    src->n_samples = w->n_samples;
    src->lookback = w->spec.lookback;
    src->horizon = w->spec.horizon;
    src->n_inputs = w->n_inputs;
    src->n_future = w->n_future_inputs;
    src->n_outputs = w->n_outputs;
    src->gather = windows_gather;
    src->describe = windows_describe;
    src->ctx = (void *)w;
}

int tsf__predict_batches(tsf_rnn *m, const tsf_windows *w, size_t Bm, tsf_inorm inorm,
                         const char *hint, tsf_forecasts *fc, size_t model, size_t first,
                         tsf_err *err)
{
    const tsf_rnn_config *c = tsf_rnn_config_of(m);
    if (model >= fc->n_models || first + w->n_windows > fc->n_entries)
        TSF_FAIL(err, TSF_EINVAL,
                 "predict: model %zu or entries %zu .. %zu are not in the forecast set (%zu "
                 "models, %zu entries)",
                 model, first, first + w->n_windows, fc->n_models, fc->n_entries);
    if (c->n_quantiles > 1 && c->n_quantiles != fc->n_quantiles)
        TSF_FAIL(err, TSF_EINVAL,
                 "predict: the model forecasts %zu quantiles, the forecast set has %zu levels",
                 c->n_quantiles, fc->n_quantiles);
    const size_t T = c->lookback, L = c->horizon, I = c->n_inputs, F = c->n_future,
                 O = c->n_outputs, Q = c->n_quantiles;
    float *x = malloc(T * Bm * I * sizeof *x), *xf = malloc((F ? L * Bm * F : 1) * sizeof *xf),
          *yhat = malloc(L * Bm * O * Q * sizeof *yhat), *shift = malloc(Bm * O * sizeof *shift);
    size_t *idx = malloc(Bm * sizeof *idx);
    int rc = TSF_OK;
    if (!x || !xf || !yhat || !shift || !idx) {
        rc = tsf_err_set(err, TSF_ENOMEM, "predict: out of memory for batches of %zu", Bm);
        goto cleanup;
    }
    for (size_t k0 = 0; k0 < w->n_samples; k0 += Bm) {
        size_t B = w->n_samples - k0 < Bm ? w->n_samples - k0 : Bm;
        for (size_t b = 0; b < B; b++)
            idx[b] = k0 + b;
        tsf_windows_gather(w, idx, B, x, F ? xf : NULL, NULL);
        /* NaN or Inf inputs: name the first one */
        const struct {
            const float *v;
            size_t steps, width;
            tsf_sample_part part;
            const char *what;
        } parts[] = {{x, T, I, TSF_SAMPLE_X, "input"},
                     {xf, F ? L : 0, F, TSF_SAMPLE_XF, "known-future input"}};
        for (size_t b = 0; b < B; b++)
            for (int p = 0; p < 2; p++)
                for (size_t t = 0; t < parts[p].steps; t++)
                    for (size_t i = 0; i < parts[p].width; i++) {
                        float v = parts[p].v[(t * B + b) * parts[p].width + i];
                        if (isfinite(v))
                            continue;
                        char where[512];
                        windows_describe((void *)w, k0 + b, parts[p].part, t, i, where,
                                         sizeof where);
                        rc = tsf_err_set(err, TSF_ENUMERIC,
                                         "predict: %s is %s at %s: fill or drop missing values "
                                         "before forecasting%s",
                                         parts[p].what, isnan(v) ? "NaN" : "infinite", where, hint);
                        goto cleanup;
                    }
        if (inorm != TSF_INORM_NONE)
            tsf_inorm_apply(inorm, T, B, I, O, x, shift);
        tsf_rnn_forward(m, B, x, F ? xf : NULL, yhat, 0, NULL);
        if (inorm != TSF_INORM_NONE)
            tsf_inorm_restore(L, B, O, Q, yhat, shift);
        for (size_t b = 0; b < B; b++) {
            size_t k = k0 + b, target;
            tsf_windows_sample_info(w, k, NULL, NULL, &target);
            int ci = w->spec.channel_independent;
            size_t win = ci ? k / w->spec.n_targets : k;
            tsf_forecasts_put_yhat(fc, first + win, model, yhat, B, b, O, Q, ci ? target : 0);
        }
    }
cleanup:
    free(x);
    free(xf);
    free(yhat);
    free(shift);
    free(idx);
    return rc;
}

int tsf_predict_windows(tsf_rnn *m, const tsf_windows *w, size_t batch_size, tsf_forecasts *fc,
                        size_t model, size_t first, tsf_err *err)
{
    const tsf_rnn_config *c = tsf_rnn_config_of(m);
    if (batch_size < 1 || batch_size > tsf_rnn_max_batch(m))
        TSF_FAIL(err, TSF_EINVAL,
                 "predict: batch_size %zu is outside 1 .. %zu (the model's maximum batch)",
                 batch_size, tsf_rnn_max_batch(m));
    if (w->spec.lookback != c->lookback || w->spec.horizon != c->horizon ||
        w->n_inputs != c->n_inputs || w->n_future_inputs != c->n_future ||
        w->n_outputs != c->n_outputs)
        TSF_FAIL(err, TSF_EINVAL,
                 "predict: the windows (lookback %zu, horizon %zu, %zu inputs, %zu known-future "
                 "inputs, %zu outputs) do not fit the model (%zu, %zu, %zu, %zu, %zu)",
                 w->spec.lookback, w->spec.horizon, w->n_inputs, w->n_future_inputs, w->n_outputs,
                 c->lookback, c->horizon, c->n_inputs, c->n_future, c->n_outputs);
    return tsf__predict_batches(m, w, batch_size, TSF_INORM_NONE, "", fc, model, first, err);
}
