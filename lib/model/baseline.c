/* Baseline forecasters (naive, seasonal naive, drift, mean, ets, theta): a kernel, over
 * windows, and as a backtest forecaster. See tsflow/baseline.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "tsflow/baseline.h"
#include "tsflow/ets.h"

static const char *const names[TSF_N_BASELINES] = {"naive", "snaive", "drift",
                                                   "mean",  "ets",    "theta"};

const char *tsf_baseline_name(tsf_baseline kind)
{
    return (unsigned)kind < TSF_N_BASELINES ? names[kind] : "?";
}

int tsf_baseline_parse(const char *name)
{
    for (int k = 0; k < TSF_N_BASELINES; k++)
        if (strcmp(name, names[k]) == 0)
            return k;
    return -1;
}

/* Mean with a compensated sum (so it does not depend on how long the history is). */
static double mean_of(const double *x, size_t n)
{
    tsf__ksum s = {0, 0};
    for (size_t i = 0; i < n; i++)
        tsf__ksum_add(&s, x[i]);
    return tsf__ksum_value(&s) / (double)n;
}

/* Rows of history a forecast of kind needs (season m). */
static size_t history_needed(tsf_baseline kind, size_t m)
{
    return kind == TSF_BASE_SNAIVE ? m : kind == TSF_BASE_DRIFT ? 2 : kind >= TSF_BASE_ETS ? 7 : 1;
}

static int check_history(tsf_baseline kind, size_t m, size_t n, tsf_err *err)
{
    if ((unsigned)kind >= TSF_N_BASELINES)
        TSF_FAIL(err, TSF_EINVAL, "baseline: unknown kind %d", (int)kind);
    if (kind == TSF_BASE_SNAIVE && m == 0)
        TSF_FAIL(err, TSF_EINVAL, "baseline snaive: season must be at least 1");
    size_t need = history_needed(kind, m);
    if (n < need)
        TSF_FAIL(err, TSF_EINVAL, "baseline %s: needs at least %zu rows of history, got %zu",
                 tsf_baseline_name(kind), need, n);
    return TSF_OK;
}

/* ETS or Theta fitted to x, forecasts to out[l * stride]. */
static int fit_forecast(tsf_baseline kind, size_t m, const double *x, size_t n, size_t L,
                        double *out, size_t stride, tsf_err *err)
{
    double *f = malloc(L * sizeof *f);
    if (!f)
        TSF_FAIL(err, TSF_ENOMEM, "baseline: out of memory");
    int rc;
    if (kind == TSF_BASE_ETS) {
        tsf_ets fit;
        if ((rc = tsf_ets_fit(&fit, x, n, m ? m : 1, NULL, err)) == TSF_OK)
            tsf_ets_forecast(&fit, L, f);
    } else {
        tsf_theta fit;
        if ((rc = tsf_theta_fit(&fit, x, n, m ? m : 1, err)) == TSF_OK)
            tsf_theta_forecast(&fit, L, f);
    }
    for (size_t l = 0; rc == TSF_OK && l < L; l++)
        out[l * stride] = f[l];
    free(f);
    return rc;
}

/* out[l * stride] for l < L. Fails only for ets and theta (a fit that cannot be made). */
static int forecast_strided(tsf_baseline kind, size_t m, const double *x, size_t n, size_t L,
                            double *out, size_t stride, tsf_err *err)
{
    switch (kind) {
    case TSF_BASE_NAIVE:
        for (size_t l = 0; l < L; l++)
            out[l * stride] = x[n - 1];
        break;
    case TSF_BASE_SNAIVE:
        /* h = l + 1: x_{T + h - m(k + 1)}, k = floor((h - 1) / m): index n - m + l % m. */
        for (size_t l = 0; l < L; l++)
            out[l * stride] = x[n - m + l % m];
        break;
    case TSF_BASE_DRIFT: {
        double slope = (x[n - 1] - x[0]) / (double)(n - 1);
        for (size_t l = 0; l < L; l++)
            out[l * stride] = x[n - 1] + (double)(l + 1) * slope;
        break;
    }
    case TSF_BASE_MEAN: {
        double mu = mean_of(x, n);
        for (size_t l = 0; l < L; l++)
            out[l * stride] = mu;
        break;
    }
    case TSF_BASE_ETS:
    case TSF_BASE_THETA:
        return fit_forecast(kind, m, x, n, L, out, stride, err);
    }
    return TSF_OK;
}

int tsf_baseline_forecast(tsf_baseline kind, size_t m, const double *x, size_t n, size_t L,
                          double *out, tsf_err *err)
{
    int rc = check_history(kind, m, n, err);
    if (rc != TSF_OK)
        return rc;
    return forecast_strided(kind, m, x, n, L, out, 1, err);
}

int tsf_baseline_windows(tsf_forecasts *fc, size_t model, const tsf_windows *w, size_t first,
                         tsf_baseline kind, size_t m, tsf_err *err)
{
    const size_t T = w->spec.lookback, L = w->spec.horizon, O = fc->n_targets, P = fc->n_values;
    int rc = check_history(kind, m, T, err);
    if (rc != TSF_OK)
        return rc;
    if (model >= fc->n_models || first + w->n_windows > fc->n_entries || L != fc->horizon ||
        w->spec.n_targets != O)
        TSF_FAIL(err, TSF_EINVAL,
                 "baseline %s: the forecasts (%zu models, %zu entries, horizon %zu, %zu "
                 "targets) do not match model %zu and %zu windows from entry %zu with horizon %zu "
                 "and %zu targets",
                 tsf_baseline_name(kind), fc->n_models, fc->n_entries, fc->horizon, O, model,
                 w->n_windows, first, L, w->spec.n_targets);
    double *block = malloc(L * O * P * sizeof *block);
    if (!block)
        TSF_FAIL(err, TSF_ENOMEM, "baseline: out of memory");
    for (size_t i = 0; i < L * O * P; i++)
        block[i] = NAN;
    for (size_t i = 0; rc == TSF_OK && i < w->n_windows; i++) {
        size_t t = w->origin[i];
        for (size_t o = 0; rc == TSF_OK && o < O; o++) {
            const double *x = w->frame->cols[w->spec.target_cols[o]] + (t - T);
            rc = forecast_strided(kind, m, x, T, L, block + o * P, O * P, err);
            if (rc != TSF_OK)
                tsf_err_prefix(err, "window %zu, target %zu: ", i, o);
        }
        if (rc == TSF_OK)
            tsf_forecasts_put(fc, first + i, model, block);
    }
    free(block);
    return rc;
}

/* ---- As a backtest forecaster ------------------------------------------------------------- */

/* State of mean and drift fitted on all fit rows: (n_series, O) level and slope. */
typedef struct baseline_state {
    size_t n_series, n_targets;
    double *mean;  /* (S, O) mean of the fit rows */
    double *slope; /* (S, O) (x_last - x_first) / (n - 1) over the fit rows */
} baseline_state;

static void free_state(void *self, void *state)
{
    (void)self;
    baseline_state *st = state;
    if (!st)
        return;
    free(st->mean);
    free(st->slope);
    free(st);
}

static int fit(void *self, const tsf_fold_ctx *ctx, const void *warm, void **state, tsf_err *err)
{
    const tsf_baseline_config *cfg = self;
    (void)warm;
    *state = NULL;
    if (cfg->lookback || (cfg->kind != TSF_BASE_MEAN && cfg->kind != TSF_BASE_DRIFT))
        return TSF_OK; /* forecasts read (and ets and theta fit) the rows before the origin */
    const tsf_frame *h = ctx->hist;
    size_t S = h->n_series, O = ctx->n_targets;
    baseline_state *st = calloc(1, sizeof *st);
    if (!st || !(st->mean = malloc(S * O * sizeof(double))) ||
        !(st->slope = malloc(S * O * sizeof(double)))) {
        free_state(NULL, st);
        TSF_FAIL(err, TSF_ENOMEM, "baseline: out of memory");
    }
    st->n_series = S;
    st->n_targets = O;
    for (size_t s = 0; s < S; s++) {
        size_t a = ctx->fit[s].begin, n = ctx->fit[s].end - a;
        for (size_t o = 0; o < O; o++) {
            const double *x = h->cols[ctx->targets[o]] + a;
            st->mean[s * O + o] = n ? mean_of(x, n) : NAN;
            st->slope[s * O + o] = n >= 2 ? (x[n - 1] - x[0]) / (double)(n - 1) : NAN;
        }
    }
    *state = st;
    return TSF_OK;
}

/* ETS and Theta on a backtest's scaled history x (n values of column col of series s): fitted in
 * the data's units (ctx->scaler undone), as they would be on the data itself, since neither is
 * invariant to a z-score: multiplicative errors and seasons need the positive values, and the
 * AICc compares models on the scale it is given. The forecasts go back to the history's scale,
 * to y[l * stride]. */
static int fit_in_units(const tsf_baseline_config *cfg, const tsf_fold_ctx *ctx, size_t s,
                        size_t col, const double *x, size_t n, double *y, size_t stride,
                        tsf_err *err)
{
    const size_t L = ctx->horizon;
    double *u = malloc((n + L) * sizeof *u);
    if (!u)
        TSF_FAIL(err, TSF_ENOMEM, "baseline: out of memory");
    for (size_t i = 0; i < n; i++)
        u[i] = tsf_scaler_to_original(ctx->scaler, s, col, x[i]);
    int rc = forecast_strided(cfg->kind, cfg->season, u, n, L, u + n, 1, err);
    for (size_t l = 0; rc == TSF_OK && l < L; l++)
        y[l * stride] = tsf_scaler_to_scaled(ctx->scaler, s, col, u[n + l]);
    free(u);
    return rc;
}

static int forecast(void *self, const void *state, const tsf_fold_ctx *ctx, size_t s, double *out,
                    tsf_err *err)
{
    const tsf_baseline_config *cfg = self;
    const baseline_state *st = state;
    const tsf_frame *h = ctx->hist;
    size_t a = h->series_start[s], b = h->series_start[s + 1];
    size_t L = ctx->horizon, O = ctx->n_targets, P = 1 + ctx->n_quantiles;
    size_t n = b - a;
    if (cfg->lookback && n > cfg->lookback)
        a = b - cfg->lookback, n = cfg->lookback;
    else if (!cfg->lookback && cfg->kind >= TSF_BASE_ETS && ctx->fit[s].begin >= a &&
             ctx->fit[s].begin < b)
        n = b - ctx->fit[s].begin, a = ctx->fit[s].begin; /* refit from the fit window's start */
    int fitted = st && !cfg->lookback;
    if (fitted && n == 0)
        TSF_FAIL(err, TSF_EINVAL, "baseline %s: no row of history before the origin",
                 tsf_baseline_name(cfg->kind));
    int rc = fitted ? TSF_OK : check_history(cfg->kind, cfg->season, n, err);
    if (rc != TSF_OK)
        return rc;
    for (size_t o = 0; rc == TSF_OK && o < O; o++) {
        const double *x = h->cols[ctx->targets[o]] + a;
        double *y = out + o * P;
        if (fitted && cfg->kind == TSF_BASE_MEAN)
            for (size_t l = 0; l < L; l++)
                y[l * O * P] = st->mean[s * O + o];
        else if (fitted && cfg->kind == TSF_BASE_DRIFT)
            for (size_t l = 0; l < L; l++)
                y[l * O * P] = x[n - 1] + (double)(l + 1) * st->slope[s * O + o];
        else if (cfg->kind >= TSF_BASE_ETS && ctx->scaler)
            rc = fit_in_units(cfg, ctx, s, ctx->targets[o], x, n, y, O * P, err);
        else
            rc = forecast_strided(cfg->kind, cfg->season, x, n, L, y, O * P, err);
    }
    return rc;
}

void tsf_baseline_forecaster(tsf_forecaster *out, const tsf_baseline_config *cfg, const char *name)
{
    *out = (tsf_forecaster){.name = name ? name : tsf_baseline_name(cfg->kind),
                            .self = (void *)cfg,
                            .reentrant = 1,
                            .fit = fit,
                            .forecast = forecast,
                            .free_state = free_state,
                            .min_history = history_needed(cfg->kind, cfg->season)};
}
