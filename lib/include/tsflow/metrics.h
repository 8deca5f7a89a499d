/* Forecast accuracy metrics: kernels over arrays, a compensated accumulator, and the metrics
 * table of a forecast set (per model, target, horizon step, series, fold, and pooled).
 *
 * Definitions (e = y - yhat, over the points where both are finite):
 *   MAE   mean |e|
 *   MSE   mean e^2
 *   RMSE  sqrt(MSE). Pooled RMSE comes from the pooled squared errors, never from averaging
 *         the RMSEs of the groups.
 *   MAPE  100 * mean |e / y|, over the points with y != 0 (others skipped)
 *   sMAPE 100 * mean 2|e| / (|y| + |yhat|) (the M4 competition's form, 0..200), over the
 *         points where |y| + |yhat| > 0
 *   MASE  mean |e| / d, with d the in-sample MAE of the seasonal naive forecast (season m)
 *         over the series' fit rows x_1..x_n: d = 1/(n-m) * sum_{t=m+1..n} |x_t - x_{t-m}|
 *         (Hyndman & Koehler 2006; Hyndman & Athanasopoulos, FPP3 section 5.8). Points whose
 *         d is 0 or unknown are skipped. Pooled MASE is the mean of |e_i| / d_i over all
 *         points, so each series is scaled by its own d.
 *   pinball  mean over points and quantile levels tau of
 *            max(tau (y - q_tau), (tau - 1)(y - q_tau))
 *   coverage fraction of points with q_lo <= y <= q_hi, where q_lo and q_hi are the lowest
 *            and highest quantile levels (nominal coverage q_hi_level - q_lo_level)
 * A metric with no point to average is NaN. The point forecast is value slot 0, or the 0.5
 * quantile when slot 0 is NaN and 0.5 is among the levels.
 */
#ifndef TSFLOW_METRICS_H
#define TSFLOW_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "tsflow/error.h"
#include "tsflow/forecast.h"
#include "tsflow/frame.h"

#ifdef __cplusplus
extern "C" {
#endif

enum tsf_metric {
    TSF_METRIC_MAE = 0,
    TSF_METRIC_MSE,
    TSF_METRIC_RMSE,
    TSF_METRIC_MAPE,
    TSF_METRIC_SMAPE,
    TSF_METRIC_MASE,
    TSF_METRIC_PINBALL,
    TSF_METRIC_COVERAGE,
    TSF_N_METRICS
};

/* "mae", "mse", "rmse", "mape", "smape", "mase", "pinball", "coverage"; parse gives -1. */
const char *tsf_metric_name(int metric);
int tsf_metric_parse(const char *name);

/* ---- Kernels (NaN pairs skipped; NaN when nothing is left) -------------------------------- */
double tsf_mae(const double *y, const double *yhat, size_t n);
double tsf_mse(const double *y, const double *yhat, size_t n);
double tsf_rmse(const double *y, const double *yhat, size_t n);
double tsf_mape(const double *y, const double *yhat, size_t n);
double tsf_smape(const double *y, const double *yhat, size_t n);
/* In-sample seasonal-naive MAE of x[0..n) with season m (m = 1: naive): d above. */
double tsf_mase_scale(const double *x, size_t n, size_t m);
double tsf_mase(const double *y, const double *yhat, size_t n, double scale);
double tsf_pinball(const double *y, const double *q, size_t n, double tau);
double tsf_coverage(const double *y, const double *lo, const double *hi, size_t n);

/* ---- Accumulator -------------------------------------------------------------------------- */

/* Running sums for all metrics of one group of points (compensated sums, so the order of
 * the points changes a result only in the last bits). Initialise with {0}. */
typedef struct tsf_metric_acc {
    size_t n;       /* points with an actual and a point forecast */
    size_t n_mape;  /* of those, with y != 0 */
    size_t n_smape; /* of those, with |y| + |yhat| > 0 */
    size_t n_mase;  /* of those, with a usable MASE scale */
    size_t n_q;     /* points with an actual and all quantiles */
    size_t n_cov;   /* of those, with two or more levels (coverage) */
    double s[7][2]; /* compensated sums (value, correction): |e|, e^2, |e/y|, sMAPE term,
                       |e|/d, pinball, covered */
} tsf_metric_acc;

/* Add one point: actual y, point forecast yhat (NaN: none), Q quantile forecasts q at levels
 * (may be NULL when Q == 0), MASE scale d (NaN: none). Points with NaN y are ignored. */
void tsf_metric_acc_add(tsf_metric_acc *acc, double y, double yhat, const double *q,
                        const double *levels, size_t Q, double d);

/* The TSF_N_METRICS values of the accumulated points (NaN where undefined). */
void tsf_metric_acc_values(const tsf_metric_acc *acc, double out[TSF_N_METRICS]);

/* ---- Metrics table of a forecast set ----------------------------------------------------- */

typedef enum tsf_metric_by {
    TSF_BY_ALL = 0,    /* pooled: every stored step, series and fold */
    TSF_BY_STEP = 1,   /* key: horizon step, 1-based */
    TSF_BY_SERIES = 2, /* key: series index */
    TSF_BY_FOLD = 3,   /* key: fold index */
} tsf_metric_by;

#define TSF_ALL_TARGETS ((size_t)-1)

typedef struct tsf_metric_row {
    size_t model;       /* index into tsf_metrics.models */
    size_t target;      /* index into tsf_metrics.targets, or TSF_ALL_TARGETS (pooled) */
    tsf_metric_by by;   /* grouping */
    size_t key;         /* step, series or fold; 0 for TSF_BY_ALL */
    tsf_fc_scale scale; /* which scale the forecasts were on */
    size_t count;       /* points with an actual and a point forecast */
    int64_t cutoff;     /* TSF_BY_FOLD: the fold's cutoff, the latest cutoff_time of its
                           forecasts (the folds table's cutoff; shared by all series with time
                           origins); TSF_NO_CUTOFF for the other groupings */
    double value[TSF_N_METRICS];
} tsf_metric_row;

/* The cutoff of a row that is not one fold's. */
#define TSF_NO_CUTOFF INT64_MIN

typedef struct tsf_metrics {
    size_t n_models;
    char **models; /* (n_models) owned */
    size_t n_targets;
    char **targets;          /* (n_targets) owned */
    size_t season;           /* m used for MASE */
    tsf_time_kind time_kind; /* of the forecasts' times (and so of the cutoffs) */
    char *tz;                /* the forecasts' zone, owned, or NULL (tsflow/forecast.h) */
    double coverage_nominal; /* q_hi_level - q_lo_level, NaN without two quantiles */
    size_t n_rows, capacity;
    tsf_metric_row *row; /* (n_rows) */
} tsf_metrics;

typedef struct tsf_metrics_spec {
    size_t season;   /* MASE season m (>= 1); 0 is taken as 1 */
    unsigned groups; /* bit (1 << TSF_BY_*) per grouping wanted; 0 = all four */
    int per_target;  /* 1: rows per target as well as pooled over targets */
} tsf_metrics_spec;

/* Score fc and append rows to *mt (a new table when *mt is NULL; appending requires the same
 * model and target names, e.g. the normalized and the original scale of one backtest).
 * insample is the frame fc's entries come from, on fc's scale, for the MASE scale over each
 * entry's fit rows [fit_begin, fit_end) (all rows of the series before the origin when the
 * entry records none); NULL leaves MASE NaN. Rows: for each model, target (pooled first, then
 * each target when per_target), grouping ALL, STEP (each stored step), SERIES (each series
 * with entries), FOLD (each fold with entries). */
int tsf_metrics_compute(tsf_metrics **mt, const tsf_forecasts *fc, const tsf_frame *insample,
                        const tsf_metrics_spec *spec, tsf_err *err) TSF_WUR;

void tsf_metrics_free(tsf_metrics *mt);

/* The value of a metric in the table's row (model name, target, by, key, scale); NaN when
 * there is no such row. */
double tsf_metrics_get(const tsf_metrics *mt, const char *model, size_t target, tsf_metric_by by,
                       size_t key, tsf_fc_scale scale, int metric);

/* Skill of model against reference on a pooled metric: 1 - metric(model) / metric(reference)
 * (positive: better than the reference). NaN when either is missing. */
double tsf_metrics_skill(const tsf_metrics *mt, const char *model, const char *reference,
                         tsf_fc_scale scale, int metric);

/* "all", "step", "series", "fold". */
const char *tsf_metric_by_name(tsf_metric_by by);

#ifdef __cplusplus
}
#endif

#endif
