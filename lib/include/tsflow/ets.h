/* Exponential smoothing state space models (ETS) and the Theta method, as R's forecast package
 * fits them (forecast::ets and forecast::thetaf, version 8).
 *
 * ETS (Hyndman, Koehler, Ord & Snyder, "Forecasting with exponential smoothing", 2008). With
 * one-step forecast mu_t and error e_t (additive: y_t = mu_t + e_t; multiplicative:
 * y_t = mu_t (1 + e_t)), level l, trend b (damped by phi) and m seasonal states s:
 *     mu_t = (l_{t-1} + phi b_{t-1}) (+ or *) s_{t-m}
 *     l_t  = q + alpha (p - q),          q = l_{t-1} + phi b_{t-1},  p = y_t (- or /) s_{t-m}
 *     b_t  = phi b_{t-1} + (beta / alpha) (l_t - l_{t-1} - phi b_{t-1})
 *     s_t  = s_{t-m} + gamma (y_t (- or /) q - s_{t-m})
 * (no trend: b = 0, beta absent; no damping: phi = 1; no season: s absent). The models are
 * written ETS(error, trend, season): error A or M, trend N, A or Ad (damped), season N, A or M.
 *
 * Fitting, as forecast::ets does by default:
 *   - candidates: the 15 models with error A, season N or A (6) and error M, season N, A or M
 *     (9); multiplicative trends are not considered, and additive error with multiplicative
 *     season is excluded (infinite forecast variance). Multiplicative error only when every
 *     value is positive. No season when m = 1, m > 24 or n <= m.
 *   - initial states: l0 (and b0) from the mean of (a regression line through) the first
 *     max(10, 2m) seasonally adjusted values; seasonal states from a classical decomposition
 *     (n >= 3m) or a one-harmonic Fourier regression (n < 3m).
 *   - parameters (alpha, beta, gamma, phi and the initial states, the last seasonal state
 *     implied by the others) by maximum likelihood: minimise n log(SSE) (+ 2 sum log|mu_t| for
 *     multiplicative errors) with Nelder-Mead (GSL's nmsimplex2), inside the "usual" bounds
 *     1e-4 <= alpha, beta, gamma <= 0.9999, 0.8 <= phi <= 0.98, beta <= alpha,
 *     gamma <= 1 - alpha, and inside the admissible (forecastable) region. R runs one
 *     Nelder-Mead from forecast's starting values; the likelihood is multimodal and that
 *     search often stops early, so tsflow runs two (forecast's start and mid-range
 *     smoothing parameters, with a simplex scaled to each parameter), each restarted until it
 *     stops improving, and keeps the better. Its optimum is then at
 *     least as good as R's and often better (tests/lib/model/test_ets_r.c), which can change
 *     the model chosen.
 *   - selection: the smallest AICc. log-likelihood is reported as R reports it:
 *     loglik = -0.5 (n log(SSE) + 2 sum log|mu_t|), without the constant terms.
 *   - a constant series gets simple exponential smoothing with alpha = 0.99999 (forecasts:
 *     the constant), as forecast::ets.
 * Point forecasts are the HKOS point forecasts from the final state (l_n + phi_h b_n, the
 * seasonal state of the same season). forecast::forecast.ets returns the forecast mean
 * instead for ETS(M,N,M), (M,A,M) and (M,Ad,M), which differs beyond one season by a
 * sigma^2 term.
 *
 * Theta (Assimakopoulos & Nikolopoulos 2000; Hyndman & Billah 2003), as forecast::thetaf:
 * when m > 1, n > 2m and the lag-m autocorrelation is significant at 90% (|r_m| >
 * 1.645 sqrt((1 + 2 sum_{k<m} r_k^2) / n)), the series is divided by the seasonal indices of a
 * classical multiplicative decomposition. The forecast is simple exponential smoothing (alpha
 * and l0 by least squares) plus half the slope b of the least-squares line through the
 * adjusted series: yhat_{n+h} = l_n + (b / 2) (h - 1 + (1 - (1 - alpha)^n) / alpha), then
 * multiplied back by the seasonal index.
 *
 * Nothing here allocates per step of the state recursion; fits allocate their optimiser.
 */
#ifndef TSFLOW_ETS_H
#define TSFLOW_ETS_H

#include <stddef.h>

#include "tsflow/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TSF_ETS_MAX_SEASON 24     /* longer seasons are fitted without a season, as in R */
#define TSF_THETA_MAX_SEASON 1024 /* the Theta method's longest season */

typedef enum tsf_ets_kind {
    TSF_ETS_NONE = 0,
    TSF_ETS_ADD = 1,
    TSF_ETS_MULT = 2,
} tsf_ets_kind;

/* A fitted model: the parameters, the initial and final states, and the fit statistics. */
typedef struct tsf_ets {
    tsf_ets_kind error;             /* TSF_ETS_ADD or TSF_ETS_MULT */
    tsf_ets_kind trend;             /* TSF_ETS_NONE or TSF_ETS_ADD */
    int damped;                     /* 1: damped trend */
    tsf_ets_kind season;            /* TSF_ETS_NONE, TSF_ETS_ADD or TSF_ETS_MULT */
    size_t m;                       /* seasonal period used (1 without a season) */
    double alpha, beta, gamma, phi; /* beta, gamma 0 and phi 1 where the model has none */
    /* states: l, then b when trended, then s_1 .. s_m (s_1 the most recent season) */
    double init[2 + TSF_ETS_MAX_SEASON];  /* at time 0 */
    double final[2 + TSF_ETS_MAX_SEASON]; /* after the last observation */
    size_t n_obs;                         /* n */
    size_t n_params; /* k in the criteria: smoothing parameters, free initial states, sigma */
    double loglik;   /* -0.5 (n log SSE + 2 sum log|mu_t|) as forecast::ets reports it */
    double aic, aicc, bic;
    double sigma2; /* sum e_t^2 / (n - k + 1): e_t relative for multiplicative errors */
    double mse;    /* mean squared one-step error, original units */
} tsf_ets;

/* Fit ETS to y (n values, oldest first, all finite) with seasonal period m (>= 1).
 * model: NULL or "ZZZ" for the automatic choice; else error, trend and season letters as in
 * forecast::ets ("A", "M" or "Z" for error; "N", "A", "Ad" or "Z" for trend, "Z" trying N, A
 * and Ad; "N", "A", "M" or "Z" for season), e.g. "MAdM", "ANN", "AZN".
 * Needs n >= 7 (and enough rows for at least one candidate's parameters). Errors name what is
 * wrong: a NaN with its index, an unknown model string, a model that the data cannot take
 * (multiplicative with values <= 0), no candidate that could be fitted. */
int tsf_ets_fit(tsf_ets *out, const double *y, size_t n, size_t m, const char *model,
                tsf_err *err) TSF_WUR;

/* Point forecasts of steps 1..L after the fit's last observation. out: (L). */
void tsf_ets_forecast(const tsf_ets *fit, size_t L, double *out);

/* "ETS(M,Ad,M)" into buf (at least 16 bytes); returns buf. */
const char *tsf_ets_name(const tsf_ets *fit, char *buf, size_t size);

/* The Theta method's fit: what thetaf reports. */
typedef struct tsf_theta {
    int seasonal; /* 1: seasonally adjusted by a multiplicative decomposition */
    size_t m;     /* period used for the test and the adjustment */
    double alpha; /* SES smoothing parameter */
    double level; /* SES level after the last observation (adjusted scale) */
    double drift; /* half the least-squares slope of the (adjusted) series */
    size_t n_obs; /* n */
    double index[TSF_THETA_MAX_SEASON]; /* seasonal indices of steps n+1 .. n+m (seasonal) */
} tsf_theta;

/* Fit the Theta method to y (n >= 7 finite values) with period m (1 <= m <=
 * TSF_THETA_MAX_SEASON; seasonality is tested when m > 1 and n > 2m, see above). */
int tsf_theta_fit(tsf_theta *out, const double *y, size_t n, size_t m, tsf_err *err) TSF_WUR;

/* Point forecasts of steps 1..L. out: (L). */
void tsf_theta_forecast(const tsf_theta *fit, size_t L, double *out);

#ifdef __cplusplus
}
#endif

#endif
