/* Forecast accuracy metrics and the metrics table of a forecast set. See tsflow/metrics.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "tsflow/metrics.h"

static const char *const metric_names[TSF_N_METRICS] = {"mae",   "mse",  "rmse",    "mape",
                                                        "smape", "mase", "pinball", "coverage"};

const char *tsf_metric_name(int metric)
{
    return metric >= 0 && metric < TSF_N_METRICS ? metric_names[metric] : "?";
}

int tsf_metric_parse(const char *name)
{
    for (int k = 0; k < TSF_N_METRICS; k++)
        if (strcmp(name, metric_names[k]) == 0)
            return k;
    return -1;
}

const char *tsf_metric_by_name(tsf_metric_by by)
{
    static const char *const names[] = {"all", "step", "series", "fold"};
    return (unsigned)by < 4 ? names[by] : "?";
}

/* ---- Accumulator -------------------------------------------------------------------------- */

enum { S_ABS, S_SQ, S_APE, S_SAPE, S_SCALED, S_PINBALL, S_COVERED };

static void add(tsf_metric_acc *a, int k, double x)
{
    tsf__ksum ks = {a->s[k][0], a->s[k][1]};
    tsf__ksum_add(&ks, x);
    a->s[k][0] = ks.sum;
    a->s[k][1] = ks.c;
}

static double sum(const tsf_metric_acc *a, int k)
{
    return a->s[k][0] + a->s[k][1];
}

static double pinball1(double y, double q, double tau)
{
    double d = y - q;
    return d >= 0 ? tau * d : (tau - 1) * d;
}

void tsf_metric_acc_add(tsf_metric_acc *acc, double y, double yhat, const double *q,
                        const double *levels, size_t Q, double d)
{
    if (isnan(y))
        return;
    if (!isnan(yhat)) {
        double e = y - yhat, ae = fabs(e);
        acc->n++;
        add(acc, S_ABS, ae);
        add(acc, S_SQ, e * e);
        if (y != 0) {
            acc->n_mape++;
            add(acc, S_APE, fabs(e / y));
        }
        double den = fabs(y) + fabs(yhat);
        if (den > 0) {
            acc->n_smape++;
            add(acc, S_SAPE, 2 * ae / den);
        }
        if (d > 0 && isfinite(d)) {
            acc->n_mase++;
            add(acc, S_SCALED, ae / d);
        }
    }
    if (Q == 0)
        return;
    for (size_t i = 0; i < Q; i++)
        if (isnan(q[i]))
            return;
    acc->n_q++;
    double pl = 0;
    for (size_t i = 0; i < Q; i++)
        pl += pinball1(y, q[i], levels[i]);
    add(acc, S_PINBALL, pl / (double)Q);
    if (Q >= 2) {
        acc->n_cov++;
        add(acc, S_COVERED, q[0] <= y && y <= q[Q - 1] ? 1.0 : 0.0);
    }
}

static double ratio(double s, size_t n)
{
    return n ? s / (double)n : NAN;
}

void tsf_metric_acc_values(const tsf_metric_acc *acc, double out[TSF_N_METRICS])
{
    out[TSF_METRIC_MAE] = ratio(sum(acc, S_ABS), acc->n);
    out[TSF_METRIC_MSE] = ratio(sum(acc, S_SQ), acc->n);
    out[TSF_METRIC_RMSE] = sqrt(out[TSF_METRIC_MSE]);
    out[TSF_METRIC_MAPE] = 100 * ratio(sum(acc, S_APE), acc->n_mape);
    out[TSF_METRIC_SMAPE] = 100 * ratio(sum(acc, S_SAPE), acc->n_smape);
    out[TSF_METRIC_MASE] = ratio(sum(acc, S_SCALED), acc->n_mase);
    out[TSF_METRIC_PINBALL] = ratio(sum(acc, S_PINBALL), acc->n_q);
    out[TSF_METRIC_COVERAGE] = ratio(sum(acc, S_COVERED), acc->n_cov);
}

/* ---- Kernels ------------------------------------------------------------------------------ */

static double kernel(const double *y, const double *yhat, size_t n, int metric, double d)
{
    tsf_metric_acc a = {0};
    for (size_t i = 0; i < n; i++)
        tsf_metric_acc_add(&a, y[i], yhat[i], NULL, NULL, 0, d);
    double v[TSF_N_METRICS];
    tsf_metric_acc_values(&a, v);
    return v[metric];
}

double tsf_mae(const double *y, const double *yhat, size_t n)
{
    return kernel(y, yhat, n, TSF_METRIC_MAE, NAN);
}

double tsf_mse(const double *y, const double *yhat, size_t n)
{
    return kernel(y, yhat, n, TSF_METRIC_MSE, NAN);
}

double tsf_rmse(const double *y, const double *yhat, size_t n)
{
    return kernel(y, yhat, n, TSF_METRIC_RMSE, NAN);
}

double tsf_mape(const double *y, const double *yhat, size_t n)
{
    return kernel(y, yhat, n, TSF_METRIC_MAPE, NAN);
}

double tsf_smape(const double *y, const double *yhat, size_t n)
{
    return kernel(y, yhat, n, TSF_METRIC_SMAPE, NAN);
}

double tsf_mase(const double *y, const double *yhat, size_t n, double scale)
{
    return kernel(y, yhat, n, TSF_METRIC_MASE, scale);
}

double tsf_mase_scale(const double *x, size_t n, size_t m)
{
    if (m == 0)
        m = 1;
    tsf__ksum s = {0, 0};
    size_t k = 0;
    for (size_t t = m; t < n; t++)
        if (!isnan(x[t]) && !isnan(x[t - m])) {
            tsf__ksum_add(&s, fabs(x[t] - x[t - m]));
            k++;
        }
    return k ? tsf__ksum_value(&s) / (double)k : NAN;
}

double tsf_pinball(const double *y, const double *q, size_t n, double tau)
{
    tsf_metric_acc a = {0};
    for (size_t i = 0; i < n; i++)
        tsf_metric_acc_add(&a, y[i], NAN, q + i, &tau, 1, NAN);
    double v[TSF_N_METRICS];
    tsf_metric_acc_values(&a, v);
    return v[TSF_METRIC_PINBALL];
}

double tsf_coverage(const double *y, const double *lo, const double *hi, size_t n)
{
    size_t k = 0, in = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(y[i]) && !isnan(lo[i]) && !isnan(hi[i])) {
            k++;
            in += lo[i] <= y[i] && y[i] <= hi[i];
        }
    return k ? (double)in / (double)k : NAN;
}

/* ---- Table -------------------------------------------------------------------------------- */

void tsf_metrics_free(tsf_metrics *mt)
{
    if (!mt)
        return;
    tsf__free_strings(mt->models, mt->n_models);
    tsf__free_strings(mt->targets, mt->n_targets);
    free(mt->row);
    free(mt->tz);
    free(mt);
}

static int new_table(tsf_metrics **out, const tsf_forecasts *fc, size_t season, tsf_err *err)
{
    tsf_metrics *mt = calloc(1, sizeof *mt);
    if (!mt)
        goto nomem;
    mt->models = calloc(fc->n_models, sizeof *mt->models);
    mt->targets = calloc(fc->n_targets, sizeof *mt->targets);
    if (!mt->models || !mt->targets)
        goto nomem;
    mt->n_models = fc->n_models;
    mt->n_targets = fc->n_targets;
    for (size_t m = 0; m < fc->n_models; m++)
        if (!(mt->models[m] = tsf__strdup(fc->models[m], err)))
            goto nomem;
    for (size_t o = 0; o < fc->n_targets; o++)
        if (!(mt->targets[o] = tsf__strdup(fc->targets[o], err)))
            goto nomem;
    mt->season = season;
    mt->time_kind = fc->time_kind;
    if (fc->tz && !(mt->tz = tsf__strdup(fc->tz, err)))
        goto nomem;
    mt->coverage_nominal =
        fc->n_quantiles >= 2 ? fc->quantiles[fc->n_quantiles - 1] - fc->quantiles[0] : NAN;
    *out = mt;
    return TSF_OK;
nomem:
    tsf_metrics_free(mt);
    TSF_FAIL(err, TSF_ENOMEM, "metrics: out of memory");
}

static int same_names(const tsf_metrics *mt, const tsf_forecasts *fc)
{
    if (mt->n_models != fc->n_models || mt->n_targets != fc->n_targets)
        return 0;
    for (size_t m = 0; m < fc->n_models; m++)
        if (strcmp(mt->models[m], fc->models[m]) != 0)
            return 0;
    for (size_t o = 0; o < fc->n_targets; o++)
        if (strcmp(mt->targets[o], fc->targets[o]) != 0)
            return 0;
    return 1;
}

static int push(tsf_metrics *mt, const tsf_metric_row *r, tsf_err *err)
{
    if (mt->n_rows == mt->capacity) {
        size_t cap = mt->capacity ? 2 * mt->capacity : 64;
        tsf_metric_row *p = realloc(mt->row, cap * sizeof *p);
        if (!p)
            TSF_FAIL(err, TSF_ENOMEM, "metrics: out of memory for %zu rows", cap);
        mt->row = p;
        mt->capacity = cap;
    }
    mt->row[mt->n_rows++] = *r;
    return TSF_OK;
}

/* MASE scales of entry e for every target: d over its fit rows of insample. */
static void mase_scales(const tsf_forecasts *fc, const tsf_frame *f, size_t e, size_t m, double *d)
{
    const tsf_fc_entry *en = &fc->entry[e];
    size_t a = en->fit_begin, b = en->fit_end;
    if (a == 0 && b == 0) {
        a = f->series_start[en->series];
        b = en->origin_row;
    }
    for (size_t o = 0; o < fc->n_targets; o++)
        d[o] = b > a && b <= f->n_rows ? tsf_mase_scale(f->cols[fc->target_cols[o]] + a, b - a, m)
                                       : NAN;
}

/* The accumulators of one tsf_metrics_compute call, one per (model m, target slot ts, group g)
 * at acc[(m * T + ts) * G + g]. Target slot 0 is "all targets", 1 + o is target o; groups are
 * [0] all, [1, 1+K) the K steps, then the S series, then the F folds. */
typedef struct acc_grid {
    size_t T, G, K, S;
    tsf_metric_acc *acc;
} acc_grid;

/* Add every forecast with a known actual to its groups' accumulators. d (O) and qv (Q) are
 * scratch: the MASE scales of the entry's fit window and one forecast's quantiles. */
static void accumulate(const acc_grid *grid, const tsf_forecasts *fc, const tsf_frame *insample,
                       size_t season, double *d, double *qv)
{
    const size_t M = fc->n_models, O = fc->n_targets, K = grid->K, S = grid->S, Q = fc->n_quantiles;
    const size_t T = grid->T, G = grid->G;
    size_t median = SIZE_MAX;
    for (size_t q = 0; q < Q; q++)
        if (fc->quantiles[q] == 0.5)
            median = q;
    size_t last_mase = SIZE_MAX; /* entries sharing a fit window share their scales */
    for (size_t e = 0; e < fc->n_entries; e++) {
        const tsf_fc_entry *en = &fc->entry[e];
        if (insample) {
            const tsf_fc_entry *pe = last_mase != SIZE_MAX ? &fc->entry[last_mase] : NULL;
            if (!pe || pe->series != en->series || pe->fit_begin != en->fit_begin ||
                pe->fit_end != en->fit_end ||
                (en->fit_end == 0 && pe->origin_row != en->origin_row))
                mase_scales(fc, insample, e, season, d);
            last_mase = e;
        } else
            for (size_t o = 0; o < O; o++)
                d[o] = NAN;
        for (size_t k = 0; k < K; k++)
            for (size_t o = 0; o < O; o++) {
                double y = fc->actual[(e * K + k) * O + o];
                if (isnan(y))
                    continue;
                for (size_t m = 0; m < M; m++) {
                    const double *v = tsf_forecasts_at(fc, e, k, o, m);
                    double point = v[0];
                    if (isnan(point) && median != SIZE_MAX)
                        point = v[1 + median];
                    for (size_t q = 0; q < Q; q++)
                        qv[q] = v[1 + q];
                    size_t slots[2] = {0, 1 + o};
                    size_t keys[4] = {0, 1 + k, 1 + K + en->series, 1 + K + S + en->fold};
                    for (int ts = 0; ts < 2; ts++)
                        for (int g = 0; g < 4; g++)
                            tsf_metric_acc_add(&grid->acc[(m * T + slots[ts]) * G + keys[g]], y,
                                               point, qv, fc->quantiles, Q, d[o]);
                }
            }
    }
}

/* Append a row to mt for every accumulator of the requested groups (and per target when asked)
 * that saw forecasts. cutoff (F): each fold's cutoff. */
static int emit_rows(tsf_metrics *mt, const acc_grid *grid, const tsf_forecasts *fc,
                     const int64_t *cutoff, unsigned groups, int per_target, tsf_err *err)
{
    const size_t T = grid->T, G = grid->G, K = grid->K, S = grid->S;
    int rc = TSF_OK;
    for (size_t m = 0; m < fc->n_models && rc == TSF_OK; m++)
        for (size_t ts = 0; ts < (per_target ? T : 1) && rc == TSF_OK; ts++)
            for (size_t g = 0; g < G && rc == TSF_OK; g++) {
                tsf_metric_row r = {.model = m,
                                    .target = ts == 0 ? TSF_ALL_TARGETS : ts - 1,
                                    .scale = fc->scale,
                                    .cutoff = TSF_NO_CUTOFF};
                if (g == 0)
                    r.by = TSF_BY_ALL, r.key = 0;
                else if (g < 1 + K)
                    r.by = TSF_BY_STEP, r.key = fc->step0 + (g - 1);
                else if (g < 1 + K + S)
                    r.by = TSF_BY_SERIES, r.key = g - 1 - K;
                else
                    r.by = TSF_BY_FOLD, r.key = g - 1 - K - S, r.cutoff = cutoff[r.key];
                if (!(groups & (1u << r.by)))
                    continue;
                const tsf_metric_acc *a = &grid->acc[(m * T + ts) * G + g];
                if (r.by != TSF_BY_ALL && a->n == 0 && a->n_q == 0)
                    continue; /* a series or fold without forecasts */
                r.count = a->n;
                tsf_metric_acc_values(a, r.value);
                rc = push(mt, &r, err);
            }
    return rc;
}

int tsf_metrics_compute(tsf_metrics **mt, const tsf_forecasts *fc, const tsf_frame *insample,
                        const tsf_metrics_spec *spec, tsf_err *err)
{
    size_t season = spec && spec->season ? spec->season : 1;
    unsigned groups = spec && spec->groups ? spec->groups : 0xFu;
    int per_target = spec ? spec->per_target : 0;
    if (insample && (insample->n_series != fc->n_series))
        TSF_FAIL(err, TSF_EINVAL, "metrics: the in-sample frame has %zu series, the forecasts %zu",
                 insample->n_series, fc->n_series);
    for (size_t o = 0; insample && o < fc->n_targets; o++)
        if (fc->target_cols[o] >= insample->n_cols)
            TSF_FAIL(err, TSF_EINVAL, "metrics: target column %zu is not in the in-sample frame",
                     fc->target_cols[o]);
    int rc;
    int fresh = *mt == NULL;
    if (fresh && (rc = new_table(mt, fc, season, err)) != TSF_OK)
        return rc;
    if (!fresh && !same_names(*mt, fc))
        TSF_FAIL(err, TSF_EINVAL,
                 "metrics: the forecasts' models or targets differ from the "
                 "table's");

    const size_t M = fc->n_models, O = fc->n_targets, Q = fc->n_quantiles;
    size_t F = 0;
    for (size_t e = 0; e < fc->n_entries; e++)
        F = fc->entry[e].fold + 1 > F ? fc->entry[e].fold + 1 : F;
    acc_grid grid = {.T = O + 1, .K = fc->n_steps, .S = fc->n_series};
    grid.G = 1 + grid.K + grid.S + F;
    size_t n_acc = M * grid.T * grid.G;
    grid.acc = calloc(n_acc ? n_acc : 1, sizeof *grid.acc);
    double *d = malloc((O ? O : 1) * sizeof *d);
    double *qv = malloc((Q ? Q : 1) * sizeof *qv);
    int64_t *cutoff = malloc((F ? F : 1) * sizeof *cutoff);
    if (!grid.acc || !d || !qv || !cutoff)
        rc = tsf_err_set(err, TSF_ENOMEM, "metrics: out of memory");
    else {
        for (size_t k = 0; k < F; k++)
            cutoff[k] = TSF_NO_CUTOFF;
        for (size_t e = 0; e < fc->n_entries; e++) {
            int64_t *c = &cutoff[fc->entry[e].fold];
            *c = fc->entry[e].cutoff_time > *c ? fc->entry[e].cutoff_time : *c;
        }
        accumulate(&grid, fc, insample, season, d, qv);
        rc = emit_rows(*mt, &grid, fc, cutoff, groups, per_target, err);
    }
    free(cutoff);
    free(grid.acc);
    free(d);
    free(qv);
    if (rc != TSF_OK && fresh) {
        tsf_metrics_free(*mt);
        *mt = NULL;
    }
    return rc;
}

double tsf_metrics_get(const tsf_metrics *mt, const char *model, size_t target, tsf_metric_by by,
                       size_t key, tsf_fc_scale scale, int metric)
{
    if (metric < 0 || metric >= TSF_N_METRICS)
        return NAN;
    for (size_t i = 0; i < mt->n_rows; i++) {
        const tsf_metric_row *r = &mt->row[i];
        if (r->target == target && r->by == by && r->key == key && r->scale == scale &&
            strcmp(mt->models[r->model], model) == 0)
            return r->value[metric];
    }
    return NAN;
}

double tsf_metrics_skill(const tsf_metrics *mt, const char *model, const char *reference,
                         tsf_fc_scale scale, int metric)
{
    double a = tsf_metrics_get(mt, model, TSF_ALL_TARGETS, TSF_BY_ALL, 0, scale, metric);
    double b = tsf_metrics_get(mt, reference, TSF_ALL_TARGETS, TSF_BY_ALL, 0, scale, metric);
    return 1 - a / b;
}
