/* Pieces of the ETS fit that the Theta method reuses (see tsflow/ets.h). */
#ifndef TSF_ETS_INTERNAL_H
#define TSF_ETS_INTERNAL_H

#include <stddef.h>

#include "tsflow/ets.h"

/* What the optimiser minimises: n log(SSE) (+ 2 sum log|mu|), or the one-step MSE (what
 * forecast::ses asks ets for). */
typedef enum tsf__ets_crit {
    TSF__ETS_LIK = 0,
    TSF__ETS_MSE = 1,
} tsf__ets_crit;

/* Fit one model (error, trend, damped, season; m the period, 1 without a season) with the
 * given criterion. Returns TSF_OK with out filled, or an error (too few rows for the
 * parameters, no finite fit) that the model search skips. */
int tsf__ets_fit_model(tsf_ets *out, const double *y, size_t n, size_t m, tsf_ets_kind error,
                       tsf_ets_kind trend, int damped, tsf_ets_kind season, tsf__ets_crit crit,
                       tsf_err *err);

/* Seasonal figure of a classical decomposition (R's stats::decompose): a centred moving
 * average of order m (2 x m when m is even) as the trend, y - trend (mult: y / trend) averaged
 * per position of the season counted from y[0], centred to sum 0 (mult: mean 1).
 * figure: (m); trend: (n) the moving average, NaN where it has no value, or NULL.
 * Needs n >= 2m; returns 0, or -1 when a position has no value. */
int tsf__decompose(double *figure, double *trend, const double *y, size_t n, size_t m, int mult);

/* forecast::thetaf's seasonality test (also tsflow/deseason.h's): |r_m| > 1.645
 * sqrt((1 + 2 sum_{k<m} r_k^2) / n), r the sample autocorrelation (R's acf: deviations from the
 * mean, sums divided by n). y must not be constant. */
int tsf__seasonal_test(const double *y, size_t n, size_t m);

/* R's is.constant: every value equal to y[0] up to a mean relative difference of 1.5e-8. */
int tsf__is_constant(const double *y, size_t n);

/* Least-squares line through (x0 + i, y[i]), i < n: intercept at x = 0 and slope. */
void tsf__lsfit(double *intercept, double *slope, const double *y, size_t n, double x0);

#endif
