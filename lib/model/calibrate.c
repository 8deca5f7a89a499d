/* Split conformal calibration of quantile forecasts: see tsflow/calibrate.h for the rule and
 * why. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tsflow/calibrate.h"

void tsf_calibration_free(tsf_calibration *c)
{
    if (!c)
        return;
    free(c->levels);
    free(c->shift);
    free(c);
}

static int calib_alloc(tsf_calibration **out, size_t L, size_t O, const double *levels, size_t Q,
                       tsf_err *err)
{
    *out = NULL;
    if (Q == 0)
        TSF_FAIL(err, TSF_EINVAL, "calibration: the forecasts have no quantile levels");
    for (size_t q = 0; q < Q; q++)
        if (!(levels[q] > 0 && levels[q] < 1))
            TSF_FAIL(err, TSF_EINVAL, "calibration: level %g is not in (0, 1)", levels[q]);
    tsf_calibration *c = calloc(1, sizeof *c);
    if (c) {
        c->levels = malloc(Q * sizeof *c->levels);
        size_t n = L * O * Q;
        c->shift = calloc(n ? n : 1, sizeof *c->shift);
    }
    if (!c || !c->levels || !c->shift) {
        tsf_calibration_free(c);
        TSF_FAIL(err, TSF_ENOMEM, "out of memory");
    }
    memcpy(c->levels, levels, Q * sizeof *levels);
    c->horizon = L;
    c->n_targets = O;
    c->n_quantiles = Q;
    *out = c;
    return TSF_OK;
}

int tsf_calibration_make(tsf_calibration **out, size_t L, size_t O, const double *levels, size_t Q,
                         int per_step, size_t n_residuals, const double *shift, tsf_err *err)
{
    int rc = calib_alloc(out, L, O, levels, Q, err);
    if (rc != TSF_OK)
        return rc;
    (*out)->per_step = per_step;
    (*out)->n_residuals = n_residuals;
    memcpy((*out)->shift, shift, L * O * Q * sizeof *shift);
    return TSF_OK;
}

int tsf_calibration_copy(tsf_calibration **out, const tsf_calibration *c, tsf_err *err)
{
    int rc = tsf_calibration_make(out, c->horizon, c->n_targets, c->levels, c->n_quantiles,
                                  c->per_step, c->n_residuals, c->shift, err);
    if (rc == TSF_OK)
        (*out)->widen_only = c->widen_only;
    return rc;
}

static int is_median(double level)
{
    return fabs(level - 0.5) < 1e-12;
}

/* The rank (1-based) of the residual that shifts level tau with n residuals; 0 when n is too
 * small. The small slack keeps (n + 1) tau = 9.000000000000002 from becoming 10. */
static size_t rank_of(double tau, size_t n)
{
    double x = (double)(n + 1) * tau;
    double k = tau > 0.5 ? ceil(x - 1e-9) : floor(x + 1e-9);
    return k >= 1 && k <= (double)n ? (size_t)k : 0;
}

/* Whether every level other than 0.5 can be shifted with n residuals. */
static int enough(const double *levels, size_t Q, size_t n)
{
    for (size_t q = 0; q < Q; q++)
        if (!is_median(levels[q]) && rank_of(levels[q], n) == 0)
            return 0;
    return 1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The residuals y - q of level q of target o at steps [l0, l1) into r; returns how many. */
static size_t residuals(const double *value, const double *actual, size_t n, size_t L, size_t O,
                        size_t P, size_t o, size_t q, size_t l0, size_t l1, double *r)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t l = l0; l < l1; l++) {
            double y = actual[(i * L + l) * O + o];
            double f = value[((i * L + l) * O + o) * P + 1 + q];
            if (!isnan(y) && !isnan(f))
                r[k++] = y - f;
        }
    return k;
}

/* The fewest usable actuals of target o over the steps [l0, l1) taken one at a time. */
static size_t fewest_per_step(const double *actual, size_t n, size_t L, size_t O)
{
    size_t fewest = SIZE_MAX;
    for (size_t l = 0; l < L; l++)
        for (size_t o = 0; o < O; o++) {
            size_t k = 0;
            for (size_t i = 0; i < n; i++)
                k += !isnan(actual[(i * L + l) * O + o]);
            if (k < fewest)
                fewest = k;
        }
    return fewest == SIZE_MAX ? 0 : fewest;
}

/* The index of the level 1 - levels[q] (the other end of a central interval), or Q. */
static size_t mirror(const double *levels, size_t Q, size_t q)
{
    for (size_t m = 0; m < Q; m++)
        if (m != q && fabs(levels[m] - (1 - levels[q])) < 1e-12)
            return m;
    return Q;
}

/* The interval scores max(lo - y, y - hi) of the levels lo < hi of target o at steps [l0, l1)
 * into r (how far an actual falls outside the interval, negative inside); returns how many. */
static size_t interval_scores(const double *value, const double *actual, size_t n, size_t L,
                              size_t O, size_t P, size_t o, size_t lo, size_t hi, size_t l0,
                              size_t l1, double *r)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t l = l0; l < l1; l++) {
            double y = actual[(i * L + l) * O + o];
            const double *f = value + ((i * L + l) * O + o) * P + 1;
            if (!isnan(y) && !isnan(f[lo]) && !isnan(f[hi]))
                r[k++] = fmax(f[lo] - y, y - f[hi]);
        }
    return k;
}

/* The shift of level q of target o over the steps [l0, l1) from its k residuals or scores in
 * r (sorted here); *k_out gets k. */
static double level_shift(const double *value, const double *actual, size_t n, size_t L, size_t O,
                          const double *levels, size_t Q, size_t o, size_t q, size_t l0, size_t l1,
                          double *r, size_t *k_out)
{
    const size_t P = 1 + Q, m = mirror(levels, Q, q);
    if (m == Q) {
        size_t k = residuals(value, actual, n, L, O, P, o, q, l0, l1, r);
        size_t rank = rank_of(levels[q], k);
        *k_out = k;
        if (!rank)
            return 0;
        qsort(r, k, sizeof *r, cmp_double);
        return r[rank - 1];
    }
    size_t lo = levels[q] < levels[m] ? q : m, hi = lo == q ? m : q;
    size_t k = interval_scores(value, actual, n, L, O, P, o, lo, hi, l0, l1, r);
    /* rank ceil((n + 1) (hi - lo)) of the scores: the interval's content, rounded outwards */
    double x = ceil((double)(k + 1) * (levels[hi] - levels[lo]) - 1e-9);
    *k_out = k;
    if (!(x >= 1 && x <= (double)k))
        return 0;
    qsort(r, k, sizeof *r, cmp_double);
    double e = r[(size_t)x - 1];
    return q == hi ? e : -e;
}

int tsf_calibration_fit(tsf_calibration **out, const double *value, const double *actual, size_t n,
                        size_t L, size_t O, const double *levels, size_t Q, tsf_err *err)
{
    *out = NULL;
    tsf_calibration *c;
    int rc = calib_alloc(&c, L, O, levels, Q, err);
    if (rc != TSF_OK)
        return rc;
    size_t per = fewest_per_step(actual, n, L, O);
    c->per_step = L > 1 && per >= TSF_CALIB_PER_STEP_MIN && enough(levels, Q, per);
    c->widen_only = !enough(levels, Q, per);
    if (!c->per_step && !enough(levels, Q, per * L)) {
        tsf_calibration_free(c);
        return TSF_OK; /* too few residuals: *out stays NULL */
    }
    size_t nr = n * L;
    double *r = malloc((nr ? nr : 1) * sizeof *r);
    if (!r) {
        tsf_calibration_free(c);
        TSF_FAIL(err, TSF_ENOMEM, "out of memory");
    }
    const size_t groups = c->per_step ? L : 1;
    c->n_residuals = SIZE_MAX;
    for (size_t g = 0; g < groups; g++)
        for (size_t o = 0; o < O; o++)
            for (size_t q = 0; q < Q; q++) {
                size_t l0 = c->per_step ? g : 0, l1 = c->per_step ? g + 1 : L, k = 0;
                double s = is_median(levels[q]) ? 0
                                                : level_shift(value, actual, n, L, O, levels, Q, o,
                                                              q, l0, l1, r, &k);
                if (!is_median(levels[q]) && k < c->n_residuals)
                    c->n_residuals = k;
                for (size_t l = l0; l < l1; l++)
                    c->shift[(l * O + o) * Q + q] = s;
            }
    if (c->n_residuals == SIZE_MAX)
        c->n_residuals = 0;
    if (c->widen_only)
        tsf_calibration_widen_only(c);
    free(r);
    *out = c;
    return TSF_OK;
}

void tsf_calibration_widen_only(tsf_calibration *c)
{
    c->widen_only = 1;
    const size_t LO = c->horizon * c->n_targets, Q = c->n_quantiles;
    for (size_t i = 0; i < LO; i++)
        for (size_t q = 0; q < Q; q++) {
            double *s = &c->shift[i * Q + q];
            *s = c->levels[q] > 0.5 ? fmax(*s, 0) : fmin(*s, 0);
        }
}

void tsf_calibration_apply(const tsf_calibration *c, double *value, size_t n, size_t step0,
                           size_t n_steps, size_t stride)
{
    const size_t O = c->n_targets, Q = c->n_quantiles;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < n_steps; k++) {
            size_t l = step0 - 1 + k;
            if (l >= c->horizon)
                continue;
            for (size_t o = 0; o < O; o++) {
                double *v = value + ((i * n_steps + k) * O + o) * stride + 1;
                for (size_t q = 0; q < Q; q++)
                    v[q] += c->shift[(l * O + o) * Q + q];
                /* rearrangement: Q is small */
                for (size_t a = 1; a < Q; a++)
                    for (size_t b = a; b > 0 && v[b - 1] > v[b]; b--) {
                        double t = v[b];
                        v[b] = v[b - 1];
                        v[b - 1] = t;
                    }
            }
        }
}

char *tsf_calibration_describe(const tsf_calibration *c, char *buf, size_t n)
{
    size_t len = (size_t)snprintf(buf, n, "conformal, %s%s on %zu residuals",
                                  c->per_step ? "per step" : "pooled over the steps",
                                  c->widen_only ? ", widening only," : "", c->n_residuals);
    const size_t L = c->horizon, O = c->n_targets, Q = c->n_quantiles;
    const char *sep = ": ";
    for (size_t q = 0; q < Q && len < n; q++) {
        if (is_median(c->levels[q]))
            continue;
        double sum = 0, cells = (double)(L * O);
        for (size_t l = 0; l < L; l++)
            for (size_t o = 0; o < O; o++)
                sum += c->shift[(l * O + o) * Q + q];
        len += (size_t)snprintf(buf + len, n - len, "%slevel %g shifted by %.4g", sep, c->levels[q],
                                cells > 0 ? sum / cells : 0.0);
        sep = ", ";
    }
    if (len < n)
        snprintf(buf + len, n - len, " on average (model scale)");
    return buf;
}
