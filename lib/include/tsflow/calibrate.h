/* Calibrated quantile forecasts by split conformal prediction: a model's quantile forecasts of
 * windows it was not trained on (a validation tail) are compared with what happened, and every
 * central interval (or a level without its mirror) is shifted by the amount that makes it hold
 * on those windows; later forecasts get the same shifts. Under exchangeability of the
 * validation and future errors, an interval between levels lo and hi then covers at least
 * hi - lo of the actuals, and a level tau shifted on its own is exceeded with probability at
 * most 1 - tau (tau > 0.5) or at least 1 - tau (tau < 0.5) (Vovk et al. 2005; Romano,
 * Patterson and Candes 2019 for quantile regression; Stankeviciute et al. 2021 per horizon
 * step).
 *
 * The rule for a central interval (levels lo = tau and hi = 1 - tau both forecast) with n
 * forecasts: the interval scores e = max(q_lo - y, y - q_hi) (how far an actual falls outside,
 * negative inside) sorted ascending, level hi is shifted by e_(k) and level lo by -e_(k), with
 * k = ceil((n + 1) (hi - lo)): the interval widens (or narrows) by the same amount on both
 * sides and keeps the network's centre (Romano, Patterson and Candes 2019, "CQR"). A level
 * without its mirror is shifted on its own by its residuals r = y - q_tau: r_(k) with
 * k = ceil((n + 1) tau) for tau > 0.5 and k = floor((n + 1) tau) for tau < 0.5. Both are valid
 * under exchangeability; the interval rule is used where it can be because the residuals come
 * from consecutive windows of one stretch, which share that stretch's local level: shifting
 * each end on its own moves the interval towards that level, which the final network, refit
 * on every window including those, has most likely learnt, so the interval lands off-centre and
 * under-covers; the interval score only widens it by the share of the offset either way. On 72
 * monthly simulated series (scripts/coverage_study.py) the mean 80% coverage went from 0.714
 * to 0.730 (paired difference 0.017, standard error 0.008; 0.708 to 0.755 on the 240-row
 * series, which calibrate on 15 consecutive windows), on 80 quarterly from 0.796 to 0.820.
 * A level needs n >= 1 / min(tau, 1 - tau) - 1 (9 for 0.1 and 0.9); an interval would need
 * fewer, but the thresholds below are kept per level so that calibration happens where it did.
 * The ranks round outwards, so an interval covers up to 2 / (n + 1) more than its label on
 * average (n = 18: 0.895 for 0.1-0.9): shifts are per horizon step when every step has at least
 * TSF_CALIB_PER_STEP_MIN residuals (at most 5 points too wide), else one per level pooled over
 * the steps (later steps spread wider, so the pooled shift widens the near steps and narrows
 * the far ones, right on average), else, with fewer than the rank needs, there is none. A fit
 * (tsflow forecast, backtest refits and train.rnn alike) passes every step of every held-out
 * window, so a tail of fewer windows than the rank needs (2 windows of a 12-step horizon: 24
 * residuals) is still calibrated, pooled over its steps, rather than left with the network's
 * quantiles, which pinball training on a few dozen windows leaves too narrow; only fewer
 * residuals than the rank needs (2 windows x 4 steps) keep them, and the fit says so. But the
 * steps of one window share its origin, so such residuals are not independent and the guarantee
 * is only approximate: with fewer windows (residuals per step) than the rank needs the shifts
 * only widen (widen_only: a level above 0.5 never moves down, one below never up, so the
 * interval is the hull of the network's and the calibrated one). Residuals are pooled over series
 * and windows, never over targets (their units differ). The 0.5 level (the point forecast of a
 * quantile model) is not shifted: calibration is about the intervals, and moving the median would
 * change the point forecast early stopping chose. After the shifts the levels of every forecast are
 * sorted again, so they never cross (rearrangement).
 *
 * Values are on the scale of the forecasts they calibrate (a model's normalized scale):
 * shifting before a monotone inverse transform keeps a quantile a quantile.
 */
#ifndef TSFLOW_CALIBRATE_H
#define TSFLOW_CALIBRATE_H

#include <stddef.h>

#include "tsflow/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TSF_CALIB_PER_STEP_MIN 39

typedef struct tsf_calibration {
    size_t horizon;     /* L */
    size_t n_targets;   /* O */
    size_t n_quantiles; /* Q */
    double *levels;     /* (Q) the quantile levels, increasing */
    int per_step;       /* 1: a shift per step; 0: pooled over the steps (the same at each) */
    int widen_only;     /* 1: fewer residuals a step than the rank needs; shifts only widen */
    size_t n_residuals; /* residuals (or interval scores) behind each shift, the fewest */
    double *shift;      /* (L, O, Q) added to level q of target o at step l (0 for 0.5) */
} tsf_calibration;

/* Fit the shifts from n forecasts and their actuals:
 *     value  (n, L, O, 1 + Q)  point forecast, then the Q levels (a forecast set's layout
 *                              with one model: tsflow/forecast.h)
 *     actual (n, L, O)         NaN where unknown (skipped)
 * *out is NULL (TSF_OK) when the residuals are too few even pooled over the steps. Errors:
 * TSF_EINVAL for Q = 0 or levels outside (0, 1), TSF_ENOMEM. */
int tsf_calibration_fit(tsf_calibration **out, const double *value, const double *actual, size_t n,
                        size_t L, size_t O, const double *levels, size_t Q, tsf_err *err) TSF_WUR;

/* A calibration from stored numbers (a model file): shift (L, O, Q) and levels (Q) are
 * copied; widen_only is 0 (a model file's reader sets it: the shifts stored are final). */
int tsf_calibration_make(tsf_calibration **out, size_t L, size_t O, const double *levels, size_t Q,
                         int per_step, size_t n_residuals, const double *shift,
                         tsf_err *err) TSF_WUR;

int tsf_calibration_copy(tsf_calibration **out, const tsf_calibration *c, tsf_err *err) TSF_WUR;

/* Keep only the shifts that widen (a level above 0.5 never moves down, one below never up) and
 * set widen_only: for residuals that may understate the errors to come, so that they can only
 * make an interval wider than the network's. */
void tsf_calibration_widen_only(tsf_calibration *c);

void tsf_calibration_free(tsf_calibration *c); /* NULL is a no-op */

/* Shift the levels of forecasts of steps step0 .. step0 + n_steps - 1 (1-based):
 *     value (n, n_steps, O, stride) where slot 1 + q of each stride is level q
 * (stride = M * (1 + Q) in a forecast set of M models, value pointing at the model's slot 0),
 * then sort each forecast's levels ascending. */
void tsf_calibration_apply(const tsf_calibration *c, double *value, size_t n, size_t step0,
                           size_t n_steps, size_t stride);

/* One line: "conformal, per step on 27 residuals: level 0.1 shifted by -0.21 and
 * level 0.9 by 0.35 on average (model scale)" (", widening only," after the kind when so).
 * Returns buf. */
char *tsf_calibration_describe(const tsf_calibration *c, char *buf, size_t n);

#ifdef __cplusplus
}
#endif

#endif
