/* Baseline forecasters: naive, seasonal naive, drift, mean (Hyndman & Athanasopoulos, FPP3
 * section 5.2), ETS and Theta. With history x_1..x_T (oldest first) and step h = 1..L:
 *     naive           yhat_{T+h} = x_T
 *     seasonal naive  yhat_{T+h} = x_{T+h-m(k+1)},  k = floor((h-1)/m)
 *     drift           yhat_{T+h} = x_T + h (x_T - x_1) / (T - 1)
 *     mean            yhat_{T+h} = mean(x_1..x_T)
 *     ets             the ETS model with the smallest AICc fitted to x with season m
 *     theta           the Theta method with season m (both in tsflow/ets.h, as R's forecast)
 * NaN in the history propagates (impute first); ets and theta fail on it, naming the value.
 * Baselines give point forecasts only.
 *
 * Three ways to use them: a kernel over one history; over windows (the lookback of each
 * window is the history: the ETT protocol's "Repeat" forecaster is naive over windows); and
 * as a tsf_forecaster for backtests, where history is either all rows of the fold's
 * history (mean and drift fitted on the fit rows, naive and seasonal naive from the last
 * rows before the origin, ets and theta refitted at every origin on the rows from the fit
 * window's first row to the origin) or its last `lookback` rows. In a backtest that scales its
 * folds, ets and theta fit the data's units (ctx->scaler undone; forecasts scaled back).
 */
#ifndef TSFLOW_BASELINE_H
#define TSFLOW_BASELINE_H

#include <stddef.h>

#include "tsflow/backtest.h"
#include "tsflow/error.h"
#include "tsflow/forecast.h"
#include "tsflow/window.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tsf_baseline {
    TSF_BASE_NAIVE = 0,
    TSF_BASE_SNAIVE = 1,
    TSF_BASE_DRIFT = 2,
    TSF_BASE_MEAN = 3,
    TSF_BASE_ETS = 4,
    TSF_BASE_THETA = 5,
} tsf_baseline;

#define TSF_N_BASELINES 6

/* "naive", "snaive", "drift", "mean", "ets", "theta"; parse returns -1 for an unknown name. */
const char *tsf_baseline_name(tsf_baseline kind);
int tsf_baseline_parse(const char *name);

/* Forecast L steps from history x (n values, oldest first) into out (L). Needs n >= 1
 * (naive, mean), n >= m (seasonal naive), n >= 2 (drift), n >= 7 (ets, theta); errors say
 * which. m: the season of snaive, ets and theta (0 means 1 for ets and theta). */
int tsf_baseline_forecast(tsf_baseline kind, size_t m, const double *x, size_t n, size_t L,
                          double *out, tsf_err *err) TSF_WUR;

/* Forecast every window of w (history = its lookback rows of each target column) as model
 * `model` of fc, into the entries tsf_forecasts_add_windows made for w (window i is entry
 * first + i). fc's targets must be w's target columns and its horizon w's. */
int tsf_baseline_windows(tsf_forecasts *fc, size_t model, const tsf_windows *w, size_t first,
                         tsf_baseline kind, size_t m, tsf_err *err) TSF_WUR;

/* Baseline as a backtest forecaster. The config must outlive the forecaster. */
typedef struct tsf_baseline_config {
    tsf_baseline kind;
    size_t season;   /* m for seasonal naive, ets and theta */
    size_t lookback; /* 0: all history (see above); n: the last n rows before the origin */
} tsf_baseline_config;

/* Fill *out (name = tsf_baseline_name(cfg->kind) unless name is not NULL). Reentrant. */
void tsf_baseline_forecaster(tsf_forecaster *out, const tsf_baseline_config *cfg, const char *name);

#ifdef __cplusplus
}
#endif

#endif
