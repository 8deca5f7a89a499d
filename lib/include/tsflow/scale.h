/* Scalers: z-score, min-max and robust scaling, optionally after a log or Box-Cox transform,
 * per column and optionally per series, fitted on training rows only and invertible; and
 * per-window instance normalization for the model side.
 *
 * A scaler maps a value x of frame column j (series s) to
 *     z = (g(x) - center[s][j]) / scale[s][j]
 * where g is the identity, ln x, or the Box-Cox transform (x^lambda - 1) / lambda (ln x when
 * lambda = 0), and (center, scale) is
 *     z-score: mean, population standard deviation (ddof = 0, as the ETT protocol and
 *              scikit-learn's StandardScaler)
 *     min-max: min, max - min (z in [0, 1] on the training rows)
 *     robust:  median, interquartile range q75 - q25 (numpy's default linear quantiles;
 *              scikit-learn's RobustScaler)
 * computed over the non-missing values of the training rows. NaN stays NaN.
 *
 * Constant columns: when the spread (std, max - min or IQR) of a column over its training
 * rows is zero (or below 1e-12 times its magnitude), on_constant decides: TSF_CONST_ERROR fails
 * naming the column, series and value; TSF_CONST_CENTER uses scale = 1, i.e. only subtracts
 * the center (scikit-learn's rule). A division by zero never happens.
 */
#ifndef TSFLOW_SCALE_H
#define TSFLOW_SCALE_H

#include <stddef.h>

#include "tsflow/error.h"
#include "tsflow/frame.h"
#include "tsflow/prep.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tsf_scale_kind {
    TSF_SCALE_NONE = 0, /* only the pre-transform (or nothing) */
    TSF_SCALE_ZSCORE = 1,
    TSF_SCALE_MINMAX = 2,
    TSF_SCALE_ROBUST = 3,
} tsf_scale_kind;

typedef enum tsf_scale_pre {
    TSF_PRE_NONE = 0,
    TSF_PRE_LOG = 1,    /* ln x; needs x > 0 */
    TSF_PRE_BOXCOX = 2, /* needs x > 0 */
} tsf_scale_pre;

typedef enum tsf_scale_constant {
    TSF_CONST_ERROR = 0,  /* a zero-spread column is an error */
    TSF_CONST_CENTER = 1, /* scale = 1: subtract the center only */
} tsf_scale_constant;

typedef struct tsf_scale_spec {
    tsf_scale_kind kind;
    tsf_scale_pre pre;
    /* BOXCOX: lambda for every column, or NaN to estimate it per column (and series) by
     * maximum likelihood on the training rows, as scipy.stats.boxcox does. */
    double boxcox_lambda;
    int per_series;                 /* 1: parameters per (series, column); 0: per column */
    tsf_scale_constant on_constant; /* see above */
    const size_t *cols;             /* (n_cols) columns to scale; NULL = all columns */
    size_t n_cols;
} tsf_scale_spec;

typedef struct tsf_scaler {
    tsf_scale_spec spec; /* cols copied and owned (always set: all columns when NULL given) */
    size_t n_frame_cols; /* columns of the frame it was fitted on */
    size_t n_series;     /* series of that frame */
    size_t n_groups;     /* n_series when per_series, else 1 */
    /* Parameters (n_groups, spec.n_cols): group g = series s when per_series, else 0. */
    double *center;
    double *scale;
    double *lambda;  /* Box-Cox lambda used (NaN unless pre == BOXCOX) */
    int *constant;   /* 1 where the spread was zero (scale set to 1 by TSF_CONST_CENTER) */
    tsf_range *fit;  /* (n_series) training rows the parameters come from */
    size_t *col_pos; /* (n_frame_cols) position of each frame column in spec.cols, or SIZE_MAX */
} tsf_scaler;

/* Defaults: z-score, no pre-transform, lambda NaN, per column, constant column = error. */
void tsf_scale_spec_init(tsf_scale_spec *spec);

/* Fit on rows fit[s] of each series s of f (fit: n_series ranges, e.g. tsf_split.part[0];
 * NULL = all rows). Errors: a column with no finite training value, a non-positive value
 * under log or Box-Cox (naming column, series and row), a constant column under
 * TSF_CONST_ERROR (TSF_ENUMERIC). On failure *out is NULL. */
int tsf_scaler_fit(tsf_scaler **out, const tsf_frame *f, const tsf_scale_spec *spec,
                   const tsf_range *fit, tsf_err *err) TSF_WUR;

void tsf_scaler_free(tsf_scaler *s);

/* Transform rows[s] of every series s of f in place (rows NULL = all rows). f must have the
 * columns and series the scaler was fitted on. Under log/Box-Cox a non-positive value is an
 * error naming its row; the frame is checked before anything is changed. */
int tsf_scaler_apply(const tsf_scaler *s, tsf_frame *f, const tsf_range *rows,
                     tsf_err *err) TSF_WUR;

/* Map rows[s] of f back to the original scale in place (rows NULL = all rows). A Box-Cox
 * value outside the transform's range (1 + lambda z <= 0) becomes NaN. */
int tsf_scaler_invert(const tsf_scaler *s, tsf_frame *f, const tsf_range *rows,
                      tsf_err *err) TSF_WUR;

/* One value of frame column col of series `series`, forward and back. Columns the scaler
 * does not scale pass through unchanged. For forecasts: map each forecast value of a target
 * column back with tsf_scaler_to_original. */
double tsf_scaler_to_scaled(const tsf_scaler *s, size_t series, size_t col, double x);
double tsf_scaler_to_original(const tsf_scaler *s, size_t series, size_t col, double z);

/* The parameters of (series, col), for provenance: returns 0 when col is not scaled. */
int tsf_scaler_params(const tsf_scaler *s, size_t series, size_t col, double *center, double *scale,
                      double *lambda);

const char *tsf_scale_kind_name(tsf_scale_kind k); /* "none", "zscore", "minmax", "robust" */
int tsf_scale_kind_parse(const char *name);        /* -1 when unknown */
const char *tsf_scale_pre_name(tsf_scale_pre p);   /* "none", "log", "boxcox" */
int tsf_scale_pre_parse(const char *name);         /* -1 when unknown */

/* Box-Cox transform and its inverse for one value, and the maximum-likelihood lambda of
 * x[0..n) (all > 0), searched in [-5, 5] (scipy.stats.boxcox_normmax(method="mle")). */
double tsf_boxcox(double x, double lambda);
double tsf_boxcox_inverse(double z, double lambda);
int tsf_boxcox_mle(const double *x, size_t n, double *lambda, tsf_err *err) TSF_WUR;

/* ---- Per-window instance normalization (for the model / predict side) ------------------------
 *
 * Non-stationary series drift out of the range seen in training; subtracting each window's
 * own level before the network and adding it back to the forecast removes that level (the
 * "subtract last value" of NLinear/SegRNN, the mean of RevIN without its affine part):
 *
 *     tsf_windows_gather(w, idx, B, x, xf, y);
 *     tsf_inorm_apply(TSF_INORM_LAST, T, B, I, O, x, shift);   shift: (B, O)
 *     tsf_rnn_forward(m, B, x, xf, yhat, ...);                 yhat: (L, B, O*Q)
 *     tsf_inorm_restore(L, B, O, Q, yhat, shift);
 *     loss(yhat, y) on the data's scale; the restore adds a constant, so dLoss/dyhat passes
 *     through it unchanged and backward needs nothing extra.
 *
 * Only the first C input channels are shifted: the targets, which window.h puts first (C = O,
 * the number of outputs). Covariates and calendar features are left alone. */
typedef enum tsf_inorm {
    TSF_INORM_NONE = 0,
    TSF_INORM_LAST = 1, /* subtract x[T-1] of each channel */
    TSF_INORM_MEAN = 2, /* subtract the mean over the T steps */
} tsf_inorm;

const char *tsf_inorm_name(tsf_inorm m); /* "none", "last", "mean" */
int tsf_inorm_parse(const char *name);   /* -1 when unknown */

/* x: (T, B, I), channels [0, C) shifted in place; shift: (B, C) written (0 for NONE). */
void tsf_inorm_apply(tsf_inorm mode, size_t T, size_t B, size_t I, size_t C, float *x,
                     float *shift);
/* yhat: (L, B, C*Q), yhat[l][b][c*Q + q] += shift[b][c]. */
void tsf_inorm_restore(size_t L, size_t B, size_t C, size_t Q, float *yhat, const float *shift);
/* The same in double, for the double build of the nn code and for double-valued callers. */
void tsf_inorm_apply_d(tsf_inorm mode, size_t T, size_t B, size_t I, size_t C, double *x,
                       double *shift);
void tsf_inorm_restore_d(size_t L, size_t B, size_t C, size_t Q, double *yhat, const double *shift);

#ifdef __cplusplus
}
#endif

#endif
