/* Scalers (z-score, min-max, robust; log or Box-Cox first), fitted on training rows and
 * invertible, plus per-window instance normalization. See tsflow/scale.h. */
#include <assert.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_min.h>
#include <gsl/gsl_sort_double.h>
#include <gsl/gsl_statistics_double.h>

#include "core.h"
#include "tsflow/frame.h"
#include "tsflow/scale.h"

static const char *const kind_names[] = {"none", "zscore", "minmax", "robust"};
static const char *const pre_names[] = {"none", "log", "boxcox"};
static const char *const inorm_names[] = {"none", "last", "mean"};

const char *tsf_scale_kind_name(tsf_scale_kind k)
{
    return (unsigned)k < 4 ? kind_names[k] : "?";
}

const char *tsf_scale_pre_name(tsf_scale_pre p)
{
    return (unsigned)p < 3 ? pre_names[p] : "?";
}

const char *tsf_inorm_name(tsf_inorm m)
{
    return (unsigned)m < 3 ? inorm_names[m] : "?";
}

static int parse(const char *name, const char *const *names, int n)
{
    for (int k = 0; k < n; k++)
        if (strcmp(name, names[k]) == 0)
            return k;
    return -1;
}

int tsf_scale_kind_parse(const char *name)
{
    return parse(name, kind_names, 4);
}

int tsf_scale_pre_parse(const char *name)
{
    return parse(name, pre_names, 3);
}

int tsf_inorm_parse(const char *name)
{
    return parse(name, inorm_names, 3);
}

void tsf_scale_spec_init(tsf_scale_spec *spec)
{
    *spec = (tsf_scale_spec){.kind = TSF_SCALE_ZSCORE, .pre = TSF_PRE_NONE, .boxcox_lambda = NAN};
}

/* ---- Box-Cox ------------------------------------------------------------------------------ */

double tsf_boxcox(double x, double lambda)
{
    /* expm1(lambda ln x) / lambda keeps precision for small lambda (scipy.special.boxcox). */
    if (lambda == 0)
        return log(x);
    return expm1(lambda * log(x)) / lambda;
}

double tsf_boxcox_inverse(double z, double lambda)
{
    if (lambda == 0)
        return exp(z);
    double u = lambda * z;
    if (!(u > -1))
        return NAN; /* outside the transform's range */
    return exp(log1p(u) / lambda);
}

struct llf_data {
    const double *x;
    size_t n;
    double sum_log; /* sum of ln x */
    double *work;   /* (n) */
};

/* Negative Box-Cox log-likelihood: -(lambda - 1) sum ln x + n/2 ln var(boxcox(x, lambda)). */
static double neg_llf(double lambda, void *p)
{
    struct llf_data *d = p;
    for (size_t i = 0; i < d->n; i++)
        d->work[i] = tsf_boxcox(d->x[i], lambda);
    double var = gsl_stats_variance_m(d->work, 1, d->n, gsl_stats_mean(d->work, 1, d->n)) *
                 (double)(d->n - 1) / (double)d->n;
    if (!(var > 0))
        return HUGE_VAL;
    return -(lambda - 1) * d->sum_log + 0.5 * (double)d->n * log(var);
}

int tsf_boxcox_mle(const double *x, size_t n, double *lambda, tsf_err *err)
{
    if (n < 2)
        TSF_FAIL(err, TSF_EINVAL, "Box-Cox: estimating lambda needs at least 2 values, got %zu", n);
    struct llf_data d = {x, n, 0, malloc(n * sizeof(double))};
    if (!d.work)
        TSF_FAIL(err, TSF_ENOMEM, "Box-Cox: out of memory for %zu values", n);
    for (size_t i = 0; i < n; i++) {
        if (!(x[i] > 0)) {
            free(d.work);
            TSF_FAIL(err, TSF_EINVAL, "Box-Cox: value %d is %g (expected > 0)", (int)i, x[i]);
        }
        d.sum_log += log(x[i]);
    }
    /* A coarse grid finds the basin (the likelihood is unimodal in practice), Brent refines. */
    const double lo = -5, h = 0.1; /* grid -5, -4.9, ..., 5 */
    const int n_grid = 100;
    int best = 0;
    double fbest = HUGE_VAL;
    for (int k = 0; k <= n_grid; k++) {
        double v = neg_llf(lo + h * k, &d);
        if (v < fbest)
            fbest = v, best = k;
    }
    int rc = TSF_OK;
    double lam = lo + h * best;
    if (fbest == HUGE_VAL) {
        rc = tsf_err_set(err, TSF_ENUMERIC, "Box-Cox: the %zu values are constant", n);
    } else if (best > 0 && best < n_grid) {
        gsl_function fn = {neg_llf, &d};
        gsl_min_fminimizer *m = gsl_min_fminimizer_alloc(gsl_min_fminimizer_brent);
        if (!m) {
            rc = tsf_err_set(err, TSF_ENOMEM, "Box-Cox: out of memory");
        } else if (gsl_min_fminimizer_set_with_values(m, &fn, lam, fbest, lam - h,
                                                      neg_llf(lam - h, &d), lam + h,
                                                      neg_llf(lam + h, &d)) == GSL_SUCCESS) {
            for (int it = 0; it < 200; it++) {
                if (gsl_min_fminimizer_iterate(m) != GSL_SUCCESS)
                    break;
                double a = gsl_min_fminimizer_x_lower(m), b = gsl_min_fminimizer_x_upper(m);
                if (gsl_min_test_interval(a, b, 1e-12, 0) == GSL_SUCCESS)
                    break;
            }
            lam = gsl_min_fminimizer_x_minimum(m);
        }
        gsl_min_fminimizer_free(m);
    }
    free(d.work);
    if (rc == TSF_OK)
        *lambda = lam;
    return rc;
}

/* ---- Fitting ------------------------------------------------------------------------------ */

void tsf_scaler_free(tsf_scaler *s)
{
    if (!s)
        return;
    free((void *)s->spec.cols);
    free(s->center);
    free(s->scale);
    free(s->lambda);
    free(s->constant);
    free(s->fit);
    free(s->col_pos);
    free(s);
}

static double pre_forward(const tsf_scaler *s, double x, double lambda)
{
    switch (s->spec.pre) {
    case TSF_PRE_LOG:
        return log(x);
    case TSF_PRE_BOXCOX:
        return tsf_boxcox(x, lambda);
    default:
        return x;
    }
}

static double pre_inverse(const tsf_scaler *s, double z, double lambda)
{
    switch (s->spec.pre) {
    case TSF_PRE_LOG:
        return exp(z);
    case TSF_PRE_BOXCOX:
        return tsf_boxcox_inverse(z, lambda);
    default:
        return z;
    }
}

/* The first non-positive finite value of column col in rows[s] of the selected series, as a
 * frame row, or SIZE_MAX. */
static size_t first_non_positive(const tsf_frame *f, size_t col, size_t s0, size_t s1,
                                 const tsf_range *rows)
{
    const double *x = f->cols[col];
    for (size_t s = s0; s < s1; s++) {
        size_t a = rows ? rows[s].begin : f->series_start[s];
        size_t b = rows ? rows[s].end : f->series_start[s + 1];
        for (size_t r = a; r < b; r++)
            if (x[r] <= 0)
                return r;
    }
    return SIZE_MAX;
}

static int non_positive_error(const tsf_frame *f, const tsf_scale_spec *spec, size_t col, size_t r,
                              const char *where, tsf_err *err)
{
    char sl[96], rl[64];
    TSF_FAIL(err, TSF_EINVAL,
             "normalize: column \"%.80s\" of %s is %g at %s %s; transform = %s needs values "
             "> 0",
             f->col_names[col],
             tsf_frame_series_label(f, tsf_frame_series_of_row(f, r), sl, sizeof sl),
             f->cols[col][r], tsf_frame_row_label(f, r, rl, sizeof rl), where,
             tsf_scale_pre_name(spec->pre));
}

/* The center and spread that kind scales by, of the n (>= 1) values in buf (which robust
 * scaling sorts): mean and population standard deviation, minimum and range, or median and
 * interquartile range; 0 and 1 for no scaling. */
static void center_spread(tsf_scale_kind kind, double *buf, size_t n, double *center_out,
                          double *spread_out)
{
    double center = 0, spread = 1;
    switch (kind) {
    case TSF_SCALE_NONE:
        break;
    case TSF_SCALE_ZSCORE: {
        tsf__ksum m = {0, 0}, v = {0, 0};
        for (size_t i = 0; i < n; i++)
            tsf__ksum_add(&m, buf[i]);
        center = tsf__ksum_value(&m) / (double)n;
        for (size_t i = 0; i < n; i++)
            tsf__ksum_add(&v, (buf[i] - center) * (buf[i] - center));
        spread = sqrt(tsf__ksum_value(&v) / (double)n); /* population: ddof = 0 */
        break;
    }
    case TSF_SCALE_MINMAX: {
        double lo = buf[0], hi = buf[0];
        for (size_t i = 1; i < n; i++) {
            lo = buf[i] < lo ? buf[i] : lo;
            hi = buf[i] > hi ? buf[i] : hi;
        }
        center = lo;
        spread = hi - lo;
        break;
    }
    case TSF_SCALE_ROBUST:
        gsl_sort(buf, 1, n);
        center = gsl_stats_median_from_sorted_data(buf, 1, n);
        spread = gsl_stats_quantile_from_sorted_data(buf, 1, n, 0.75) -
                 gsl_stats_quantile_from_sorted_data(buf, 1, n, 0.25);
        break;
    }
    *center_out = center;
    *spread_out = spread;
}

/* Fit (center, scale, lambda) of column col over series [s0, s1) into slot k of group g. */
static int fit_one(tsf_scaler *sc, const tsf_frame *f, size_t col, size_t g, size_t k, size_t s0,
                   size_t s1, double *buf, tsf_err *err)
{
    const tsf_scale_spec *spec = &sc->spec;
    const double *x = f->cols[col];
    size_t n = 0;
    for (size_t s = s0; s < s1; s++)
        for (size_t r = sc->fit[s].begin; r < sc->fit[s].end; r++) {
            if (isinf(x[r])) {
                char il[96], rl[64];
                TSF_FAIL(err, TSF_ENUMERIC,
                         "normalize: column \"%.80s\" of %s is infinite (%g) at %s in the "
                         "training rows (expected finite values or missing ones; fix or drop "
                         "the value)",
                         f->col_names[col], tsf_frame_series_label(f, s, il, sizeof il), x[r],
                         tsf_frame_row_label(f, r, rl, sizeof rl));
            }
            if (!isnan(x[r]))
                buf[n++] = x[r];
        }
    char sl[96];
    const char *who = sc->n_groups > 1 || f->n_series == 1
                          ? tsf_frame_series_label(f, s0, sl, sizeof sl)
                          : "all series";
    if (n == 0) {
        size_t n_fit = 0;
        for (size_t s = s0; s < s1; s++)
            n_fit += sc->fit[s].end - sc->fit[s].begin;
        if (n_fit == 0)
            TSF_FAIL(err, TSF_EINVAL,
                     "normalize: %s has no training rows to fit column \"%.80s\" on (expected "
                     "a split that gives every series training rows)",
                     who, f->col_names[col]);
        TSF_FAIL(err, TSF_EINVAL,
                 "normalize: column \"%.80s\" of %s has no value in its training rows (all %zu "
                 "are missing; expected at least one number to fit the scaler on: leave the "
                 "column out with the columns option of normalize or of the ingest step)",
                 f->col_names[col], who, n_fit);
    }
    size_t idx = g * spec->n_cols + k;
    double lambda = NAN;
    if (spec->pre != TSF_PRE_NONE) {
        size_t bad = first_non_positive(f, col, s0, s1, sc->fit);
        if (bad != SIZE_MAX)
            return non_positive_error(f, spec, col, bad, "in the training rows", err);
        if (spec->pre == TSF_PRE_BOXCOX) {
            lambda = spec->boxcox_lambda;
            if (isnan(lambda)) {
                int rc = tsf_boxcox_mle(buf, n, &lambda, err);
                if (rc != TSF_OK)
                    return tsf_err_prefix(err, "normalize: column \"%.80s\" of %s",
                                          f->col_names[col], who);
            }
        }
        for (size_t i = 0; i < n; i++)
            buf[i] = pre_forward(sc, buf[i], lambda);
    }
    double center, spread;
    center_spread(spec->kind, buf, n, &center, &spread);
    sc->constant[idx] = 0;
    if (spec->kind != TSF_SCALE_NONE && !(spread > 1e-12 * fabs(center))) {
        if (spec->on_constant == TSF_CONST_ERROR)
            TSF_FAIL(err, TSF_ENUMERIC,
                     "normalize: column \"%.80s\" of %s is constant (%.17g) over its %zu "
                     "training values: %s scaling would divide by zero (set constant = "
                     "center to only subtract the center, or drop the column)",
                     f->col_names[col], who, center, n, tsf_scale_kind_name(spec->kind));
        spread = 1;
        sc->constant[idx] = 1;
    }
    sc->center[idx] = center;
    sc->scale[idx] = spread;
    sc->lambda[idx] = lambda;
    return TSF_OK;
}

int tsf_scaler_fit(tsf_scaler **out, const tsf_frame *f, const tsf_scale_spec *spec,
                   const tsf_range *fit, tsf_err *err)
{
    *out = NULL;
    if ((unsigned)spec->kind > TSF_SCALE_ROBUST)
        TSF_FAIL(err, TSF_EINVAL, "normalize: unknown scaling %d", (int)spec->kind);
    if ((unsigned)spec->pre > TSF_PRE_BOXCOX)
        TSF_FAIL(err, TSF_EINVAL, "normalize: unknown transform %d", (int)spec->pre);
    if ((unsigned)spec->on_constant > TSF_CONST_CENTER)
        TSF_FAIL(err, TSF_EINVAL, "normalize: unknown constant-column rule %d",
                 (int)spec->on_constant);
    size_t nc = spec->cols ? spec->n_cols : f->n_cols;
    for (size_t k = 0; spec->cols && k < nc; k++)
        if (spec->cols[k] >= f->n_cols)
            TSF_FAIL(err, TSF_EINVAL, "normalize: column %zu does not exist (the frame has %zu)",
                     spec->cols[k], f->n_cols);
    for (size_t s = 0; fit && s < f->n_series; s++)
        if (fit[s].begin > fit[s].end || fit[s].begin < f->series_start[s] ||
            fit[s].end > f->series_start[s + 1])
            TSF_FAIL(err, TSF_EINVAL,
                     "normalize: training rows [%zu, %zu) are outside series %zu (rows [%zu, "
                     "%zu))",
                     fit[s].begin, fit[s].end, s, f->series_start[s], f->series_start[s + 1]);

    int rc = TSF_ENOMEM;
    double *buf = NULL;
    tsf_scaler *sc = calloc(1, sizeof *sc);
    if (!sc)
        goto cleanup;
    sc->spec = *spec;
    sc->spec.n_cols = nc;
    sc->n_frame_cols = f->n_cols;
    sc->n_series = f->n_series;
    sc->n_groups = spec->per_series ? f->n_series : 1;
    size_t *cols = malloc((nc ? nc : 1) * sizeof *cols);
    sc->spec.cols = cols;
    size_t np = sc->n_groups * nc > 0 ? sc->n_groups * nc : 1;
    sc->center = malloc(np * sizeof(double));
    sc->scale = malloc(np * sizeof(double));
    sc->lambda = malloc(np * sizeof(double));
    sc->constant = calloc(np, sizeof(int));
    sc->fit = malloc(f->n_series * sizeof *sc->fit);
    sc->col_pos = malloc((f->n_cols ? f->n_cols : 1) * sizeof *sc->col_pos);
    buf = malloc((f->n_rows ? f->n_rows : 1) * sizeof *buf);
    if (!cols || !sc->center || !sc->scale || !sc->lambda || !sc->constant || !sc->fit ||
        !sc->col_pos || !buf)
        goto cleanup;
    for (size_t j = 0; j < f->n_cols; j++)
        sc->col_pos[j] = SIZE_MAX;
    for (size_t k = 0; k < nc; k++) {
        cols[k] = spec->cols ? spec->cols[k] : k;
        sc->col_pos[cols[k]] = k;
    }
    for (size_t s = 0; s < f->n_series; s++)
        sc->fit[s] = fit ? fit[s] : (tsf_range){f->series_start[s], f->series_start[s + 1]};
    for (size_t g = 0; g < sc->n_groups; g++) {
        size_t s0 = spec->per_series ? g : 0, s1 = spec->per_series ? g + 1 : f->n_series;
        for (size_t k = 0; k < nc; k++)
            if ((rc = fit_one(sc, f, cols[k], g, k, s0, s1, buf, err)) != TSF_OK)
                goto cleanup;
    }
    rc = TSF_OK;
cleanup:
    free(buf);
    if (rc == TSF_ENOMEM)
        tsf_err_set(err, rc, "normalize: out of memory for %zu columns", nc);
    if (rc != TSF_OK) {
        tsf_scaler_free(sc);
        return rc;
    }
    *out = sc;
    return TSF_OK;
}

/* ---- Applying ----------------------------------------------------------------------------- */

static size_t group_of(const tsf_scaler *s, size_t series)
{
    return s->n_groups > 1 ? series : 0;
}

double tsf_scaler_to_scaled(const tsf_scaler *s, size_t series, size_t col, double x)
{
    size_t k = col < s->n_frame_cols ? s->col_pos[col] : SIZE_MAX;
    if (k == SIZE_MAX)
        return x;
    size_t i = group_of(s, series) * s->spec.n_cols + k;
    return (pre_forward(s, x, s->lambda[i]) - s->center[i]) / s->scale[i];
}

double tsf_scaler_to_original(const tsf_scaler *s, size_t series, size_t col, double z)
{
    size_t k = col < s->n_frame_cols ? s->col_pos[col] : SIZE_MAX;
    if (k == SIZE_MAX)
        return z;
    size_t i = group_of(s, series) * s->spec.n_cols + k;
    return pre_inverse(s, z * s->scale[i] + s->center[i], s->lambda[i]);
}

int tsf_scaler_params(const tsf_scaler *s, size_t series, size_t col, double *center, double *scale,
                      double *lambda)
{
    size_t k = col < s->n_frame_cols ? s->col_pos[col] : SIZE_MAX;
    if (k == SIZE_MAX)
        return 0;
    size_t i = group_of(s, series) * s->spec.n_cols + k;
    if (center)
        *center = s->center[i];
    if (scale)
        *scale = s->scale[i];
    if (lambda)
        *lambda = s->lambda[i];
    return 1;
}

static int check_frame(const tsf_scaler *s, const tsf_frame *f, const tsf_range *rows, tsf_err *err)
{
    if (f->n_cols != s->n_frame_cols || f->n_series != s->n_series)
        TSF_FAIL(err, TSF_EINVAL,
                 "normalize: the scaler was fitted on %zu columns and %zu series, the frame has "
                 "%zu columns and %zu series",
                 s->n_frame_cols, s->n_series, f->n_cols, f->n_series);
    for (size_t q = 0; rows && q < f->n_series; q++)
        if (rows[q].begin > rows[q].end || rows[q].begin < f->series_start[q] ||
            rows[q].end > f->series_start[q + 1])
            TSF_FAIL(err, TSF_EINVAL, "normalize: rows [%zu, %zu) are outside series %zu",
                     rows[q].begin, rows[q].end, q);
    return TSF_OK;
}

static int transform(const tsf_scaler *s, tsf_frame *f, const tsf_range *rows, int forward,
                     tsf_err *err)
{
    int rc = check_frame(s, f, rows, err);
    if (rc != TSF_OK)
        return rc;
    if (forward && s->spec.pre != TSF_PRE_NONE)
        for (size_t k = 0; k < s->spec.n_cols; k++) {
            size_t bad = first_non_positive(f, s->spec.cols[k], 0, f->n_series, rows);
            if (bad != SIZE_MAX)
                return non_positive_error(f, &s->spec, s->spec.cols[k], bad, "", err);
        }
    for (size_t q = 0; q < f->n_series; q++) {
        size_t a = rows ? rows[q].begin : f->series_start[q];
        size_t b = rows ? rows[q].end : f->series_start[q + 1];
        for (size_t k = 0; k < s->spec.n_cols; k++) {
            double *x = f->cols[s->spec.cols[k]];
            size_t i = group_of(s, q) * s->spec.n_cols + k;
            double c = s->center[i], sd = s->scale[i], lam = s->lambda[i];
            if (forward)
                for (size_t r = a; r < b; r++)
                    x[r] = (pre_forward(s, x[r], lam) - c) / sd;
            else
                for (size_t r = a; r < b; r++)
                    x[r] = pre_inverse(s, x[r] * sd + c, lam);
        }
    }
    return TSF_OK;
}

int tsf_scaler_apply(const tsf_scaler *s, tsf_frame *f, const tsf_range *rows, tsf_err *err)
{
    return transform(s, f, rows, 1, err);
}

int tsf_scaler_invert(const tsf_scaler *s, tsf_frame *f, const tsf_range *rows, tsf_err *err)
{
    return transform(s, f, rows, 0, err);
}

/* ---- Instance normalization --------------------------------------------------------------- */

#define INORM_APPLY(NAME, REAL)                                                                    \
    void NAME(tsf_inorm mode, size_t T, size_t B, size_t I, size_t C, REAL *x, REAL *shift)        \
    {                                                                                              \
        assert(C <= I && T > 0);                                                                   \
        for (size_t b = 0; b < B; b++)                                                             \
            for (size_t c = 0; c < C; c++) {                                                       \
                double m = 0;                                                                      \
                if (mode == TSF_INORM_LAST) {                                                      \
                    m = x[((T - 1) * B + b) * I + c];                                              \
                } else if (mode == TSF_INORM_MEAN) {                                               \
                    for (size_t t = 0; t < T; t++)                                                 \
                        m += x[(t * B + b) * I + c];                                               \
                    m /= (double)T;                                                                \
                }                                                                                  \
                REAL sh = (REAL)m;                                                                 \
                shift[b * C + c] = sh;                                                             \
                if (mode != TSF_INORM_NONE)                                                        \
                    for (size_t t = 0; t < T; t++)                                                 \
                        x[(t * B + b) * I + c] -= sh;                                              \
            }                                                                                      \
    }

#define INORM_RESTORE(NAME, REAL)                                                                  \
    void NAME(size_t L, size_t B, size_t C, size_t Q, REAL *yhat, const REAL *shift)               \
    {                                                                                              \
        for (size_t l = 0; l < L; l++)                                                             \
            for (size_t b = 0; b < B; b++)                                                         \
                for (size_t c = 0; c < C; c++)                                                     \
                    for (size_t q = 0; q < Q; q++)                                                 \
                        yhat[(l * B + b) * C * Q + c * Q + q] += shift[b * C + c];                 \
    }

INORM_APPLY(tsf_inorm_apply, float)
INORM_APPLY(tsf_inorm_apply_d, double)
INORM_RESTORE(tsf_inorm_restore, float)
INORM_RESTORE(tsf_inorm_restore_d, double)
