/* Seasonal adjustment for models that forecast the seasonally adjusted series: the seasonal
 * indices of a classical decomposition (R's stats::decompose, statsmodels'
 * seasonal_decompose: a centred moving average of order m, 2 x m when m is even, as the trend;
 * the detrended values averaged per position of the season), fitted on the rows a model trains
 * on, removed before training and put back on its forecasts.
 *
 * Recurrent networks forecast short seasonal series (monthly, quarterly) much better from the
 * seasonally adjusted series than from the raw one: with a few dozen training windows the
 * network cannot learn the seasonal pattern and the trend at once (Hewamalage, Bergmeir and
 * Bandara 2021, "Recurrent neural networks for time series forecasting: current status and
 * future directions", on the M3/M4 data; they deseasonalise with STL after a log transform, the
 * multiplicative decomposition here plays the log's part).
 *
 * The rule of TSF_DESEASON_AUTO, for a series y of n training values and a season of m rows:
 *  - none when m < 2, m > TSF_DESEASON_MAX_SEASON, n < 2m (fewer than two full seasons: the
 *    moving average leaves a position without a value), y constant, or when the lag-m
 *    autocorrelation of the first differences is not significant by the test forecast::thetaf
 *    uses on the levels (|r_m| > 1.645 sqrt((1 + 2 sum_{k<m} r_k^2) / n)): no evidence of a
 *    season, nothing removed. On the differences because on the levels a trend makes every
 *    autocorrelation near 1: on simulated AR(1) noise plus a season of one noise sd and a
 *    trend of 0.3 noise sd per step, the levels' test found the season in 0-1% of 300 series
 *    of 60 or 96 months, the differences' in 92-100%; on a trend without season (60 quarters)
 *    the levels' test fired in 100%, the differences' in 6%;
 *  - else multiplicative when every value is positive and the multiplicative decomposition
 *    fits the rows where the moving average exists better (sum of (y - trend x index)^2 below
 *    sum of (y - trend - index)^2: the same residual, in the data's units, for both), else
 *    additive.
 * Leak-free by construction: the indices depend on the n values given and nothing else. */
#ifndef TSFLOW_DESEASON_H
#define TSFLOW_DESEASON_H

#include <stddef.h>

#include "tsflow/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TSF_DESEASON_MAX_SEASON 400 /* longer seasons are not adjusted (auto) or refused */

typedef enum tsf_deseason {
    TSF_DESEASON_NONE = 0,
    TSF_DESEASON_AUTO = 1, /* by the rule above */
    TSF_DESEASON_ADD = 2,  /* y - index */
    TSF_DESEASON_MULT = 3, /* y / index; needs positive values */
} tsf_deseason;

/* Seasonal indices fitted on one series. */
typedef struct tsf_seasonal {
    tsf_deseason kind;                     /* what is applied: NONE, ADD or MULT */
    size_t m;                              /* rows per season */
    double index[TSF_DESEASON_MAX_SEASON]; /* index[p] belongs to the rows t with t % m == p,
                                              t counted from the first fitted value */
    char why[96];                          /* "multiplicative (season 12)", "none (...)" */
} tsf_seasonal;

/* Fit the indices of y (n finite values, oldest first) for mode with season m. AUTO follows
 * the rule above and never fails on the data; ADD and MULT fail (TSF_EINVAL) when m is below 2
 * or above TSF_DESEASON_MAX_SEASON, or n < 2m, and MULT when a value is not positive (naming
 * it). NONE gives kind NONE. */
int tsf_seasonal_fit(tsf_seasonal *out, const double *y, size_t n, size_t m, tsf_deseason mode,
                     tsf_err *err) TSF_WUR;

/* The value y at row t (counted as in tsf_seasonal.index) seasonally adjusted, and back:
 * tsf_seasonal_restore(s, tsf_seasonal_adjust(s, y, t), t) == y up to rounding. */
double tsf_seasonal_adjust(const tsf_seasonal *s, double y, size_t t);
double tsf_seasonal_restore(const tsf_seasonal *s, double y, size_t t);

/* "none", "auto", "additive", "multiplicative"; parse returns -1 for another word. */
const char *tsf_deseason_name(tsf_deseason d);
int tsf_deseason_parse(const char *name);

#ifdef __cplusplus
}
#endif

#endif
