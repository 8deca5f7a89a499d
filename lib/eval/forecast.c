/* Forecast sets: entries of (series, origin) with actuals and the forecasts of several named
 * models, viewable as a long table or as a cube. See tsflow/forecast.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "tsflow/forecast.h"
#include "tsflow/window.h"

void tsf_forecasts_free(tsf_forecasts *fc)
{
    if (!fc)
        return;
    tsf__free_strings(fc->models, fc->n_models);
    tsf__free_strings(fc->targets, fc->n_targets);
    tsf__free_strings(fc->series_ids, fc->n_series);
    free(fc->target_cols);
    free(fc->quantiles);
    free(fc->entry);
    free(fc->time);
    free(fc->actual);
    free(fc->value);
    free(fc->tz);
    free(fc);
}

static char **dup_strings(const char *const *src, size_t n, tsf_err *err)
{
    char **d = calloc(n ? n : 1, sizeof *d);
    if (!d) {
        tsf_err_set(err, TSF_ENOMEM, "forecasts: out of memory");
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        if (!(d[i] = tsf__strdup(src[i], err))) {
            tsf__free_strings(d, n);
            return NULL;
        }
    return d;
}

int tsf_forecasts_alloc(tsf_forecasts **out, const tsf_frame *f, const size_t *target_cols,
                        size_t n_targets, const char *const *models, size_t n_models,
                        const double *quantiles, size_t n_quantiles, size_t horizon,
                        int last_points_only, tsf_err *err)
{
    *out = NULL;
    if (horizon == 0)
        TSF_FAIL(err, TSF_EINVAL, "forecasts: horizon must be at least 1");
    if (n_targets == 0 || n_models == 0)
        TSF_FAIL(err, TSF_EINVAL,
                 "forecasts: need at least one target and one model (got %zu "
                 "and %zu)",
                 n_targets, n_models);
    for (size_t o = 0; o < n_targets; o++)
        if (target_cols[o] >= f->n_cols)
            TSF_FAIL(err, TSF_EINVAL,
                     "forecasts: target column %zu does not exist (the frame "
                     "has %zu)",
                     target_cols[o], f->n_cols);
    for (size_t m = 0; m < n_models; m++) {
        if (!models[m] || !*models[m])
            TSF_FAIL(err, TSF_EINVAL, "forecasts: model %zu has no name", m);
        for (size_t k = 0; k < m; k++)
            if (strcmp(models[k], models[m]) == 0)
                TSF_FAIL(err, TSF_EINVAL, "forecasts: two models are called \"%s\"", models[m]);
    }
    for (size_t q = 0; q < n_quantiles; q++)
        if (!(quantiles[q] > 0 && quantiles[q] < 1) || (q && !(quantiles[q] > quantiles[q - 1])))
            TSF_FAIL(err, TSF_EINVAL,
                     "forecasts: quantile levels must increase inside (0, 1); "
                     "level %zu is %g",
                     q, quantiles[q]);
    tsf_forecasts *fc = calloc(1, sizeof *fc);
    if (!fc)
        TSF_FAIL(err, TSF_ENOMEM, "forecasts: out of memory");
    fc->n_models = n_models;
    fc->n_targets = n_targets;
    fc->n_series = f->n_series;
    int rc = TSF_ENOMEM;
    if (!(fc->models = dup_strings(models, n_models, err)))
        goto fail;
    const char **tn = malloc(n_targets * sizeof *tn);
    if (!tn)
        goto fail_nomem;
    for (size_t o = 0; o < n_targets; o++)
        tn[o] = f->col_names[target_cols[o]];
    fc->targets = dup_strings(tn, n_targets, err);
    free(tn);
    if (!fc->targets)
        goto fail;
    if (f->series_ids &&
        !(fc->series_ids = dup_strings((const char *const *)f->series_ids, f->n_series, err)))
        goto fail;
    fc->target_cols = malloc(n_targets * sizeof *fc->target_cols);
    fc->quantiles = malloc((n_quantiles ? n_quantiles : 1) * sizeof *fc->quantiles);
    if (!fc->target_cols || !fc->quantiles)
        goto fail_nomem;
    memcpy(fc->target_cols, target_cols, n_targets * sizeof *target_cols);
    if (n_quantiles)
        memcpy(fc->quantiles, quantiles, n_quantiles * sizeof *quantiles);
    fc->n_quantiles = n_quantiles;
    fc->n_values = 1 + n_quantiles;
    fc->horizon = horizon;
    fc->step0 = last_points_only ? horizon : 1;
    fc->n_steps = last_points_only ? 1 : horizon;
    fc->time_kind = f->time_kind;
    fc->time_step = f->step;
    fc->freq = f->freq;
    if (f->tz && !(fc->tz = tsf__strdup(f->tz, err)))
        goto fail;
    fc->scale = TSF_FC_ORIGINAL;
    *out = fc;
    return TSF_OK;
fail_nomem:
    tsf_err_set(err, TSF_ENOMEM, "forecasts: out of memory");
fail:
    tsf_forecasts_free(fc);
    return rc;
}

int tsf_forecasts_copy(tsf_forecasts **out, const tsf_forecasts *fc, tsf_err *err)
{
    *out = NULL;
    tsf_forecasts *c = calloc(1, sizeof *c);
    if (!c)
        TSF_FAIL(err, TSF_ENOMEM, "forecasts: out of memory");
    *c = *fc;
    c->models = c->targets = c->series_ids = NULL;
    c->target_cols = NULL;
    c->quantiles = NULL;
    c->entry = NULL;
    c->time = NULL;
    c->actual = c->value = NULL;
    c->capacity = c->n_entries = 0;
    c->tz = NULL;
    size_t E = fc->n_entries, K = fc->n_steps, O = fc->n_targets;
    size_t MP = fc->n_models * fc->n_values;
    int ok = (c->models = dup_strings((const char *const *)fc->models, fc->n_models, err)) &&
             (c->targets = dup_strings((const char *const *)fc->targets, O, err)) &&
             (!fc->series_ids || (c->series_ids = dup_strings((const char *const *)fc->series_ids,
                                                              fc->n_series, err))) &&
             (!fc->tz || (c->tz = tsf__strdup(fc->tz, err)));
    if (ok) {
        size_t nq = fc->n_quantiles ? fc->n_quantiles : 1, ne = E ? E : 1;
        c->target_cols = malloc(O * sizeof *c->target_cols);
        c->quantiles = malloc(nq * sizeof *c->quantiles);
        c->entry = malloc(ne * sizeof *c->entry);
        c->time = malloc(ne * K * sizeof *c->time);
        c->actual = malloc(ne * K * O * sizeof *c->actual);
        c->value = malloc(ne * K * O * MP * sizeof *c->value);
        ok = c->target_cols && c->quantiles && c->entry && c->time && c->actual && c->value;
        if (ok) {
            memcpy(c->target_cols, fc->target_cols, O * sizeof *c->target_cols);
            memcpy(c->quantiles, fc->quantiles, fc->n_quantiles * sizeof *c->quantiles);
            memcpy(c->entry, fc->entry, E * sizeof *c->entry);
            memcpy(c->time, fc->time, E * K * sizeof *c->time);
            memcpy(c->actual, fc->actual, E * K * O * sizeof *c->actual);
            memcpy(c->value, fc->value, E * K * O * MP * sizeof *c->value);
            c->n_entries = c->capacity = E;
        } else {
            tsf_err_set(err, TSF_ENOMEM, "forecasts: out of memory copying %zu entries", E);
        }
    }
    if (!ok) {
        c->n_models = c->models ? c->n_models : 0;
        tsf_forecasts_free(c);
        return TSF_ENOMEM;
    }
    *out = c;
    return TSF_OK;
}

static int grow(tsf_forecasts *fc, tsf_err *err)
{
    size_t cap = fc->capacity ? 2 * fc->capacity : 64;
    size_t K = fc->n_steps, O = fc->n_targets, MP = fc->n_models * fc->n_values;
    tsf_fc_entry *e = realloc(fc->entry, cap * sizeof *e);
    if (e)
        fc->entry = e;
    int64_t *t = realloc(fc->time, cap * K * sizeof *t);
    if (t)
        fc->time = t;
    double *a = realloc(fc->actual, cap * K * O * sizeof *a);
    if (a)
        fc->actual = a;
    double *v = realloc(fc->value, cap * K * O * MP * sizeof *v);
    if (v)
        fc->value = v;
    if (!e || !t || !a || !v)
        TSF_FAIL(err, TSF_ENOMEM, "forecasts: out of memory for %zu entries", cap);
    fc->capacity = cap;
    return TSF_OK;
}

int tsf_forecasts_add(tsf_forecasts *fc, const tsf_frame *f, size_t s, size_t origin_row,
                      size_t fold, size_t fit_begin, size_t fit_end, size_t *entry, tsf_err *err)
{
    if (s >= f->n_series || s >= fc->n_series)
        TSF_FAIL(err, TSF_EINVAL, "forecasts: series %zu does not exist", s);
    size_t a = f->series_start[s], b = f->series_start[s + 1];
    if (origin_row <= a || origin_row > b)
        TSF_FAIL(err, TSF_EINVAL,
                 "forecasts: origin row %zu is outside series %zu (rows [%zu, %zu], at least one "
                 "row of history needed)",
                 origin_row, s, a + 1, b);
    if (fit_end > origin_row)
        TSF_FAIL(err, TSF_EINVAL, "forecasts: fit rows end at %zu, after the origin row %zu",
                 fit_end, origin_row);
    if (fc->n_entries == fc->capacity) {
        int rc = grow(fc, err);
        if (rc != TSF_OK)
            return rc;
    }
    size_t e = fc->n_entries++;
    fc->entry[e] = (tsf_fc_entry){.series = s,
                                  .origin_row = origin_row,
                                  .origin_time = tsf_series_time_at(f, s, origin_row),
                                  .cutoff_time = f->time[origin_row - 1],
                                  .fold = fold,
                                  .fit_begin = fit_begin,
                                  .fit_end = fit_end};
    size_t K = fc->n_steps, O = fc->n_targets, MP = fc->n_models * fc->n_values;
    for (size_t k = 0; k < K; k++) {
        size_t r = origin_row + fc->step0 - 1 + k;
        fc->time[e * K + k] = tsf_series_time_at(f, s, r);
        for (size_t o = 0; o < O; o++)
            fc->actual[(e * K + k) * O + o] = r < b ? f->cols[fc->target_cols[o]][r] : NAN;
    }
    double *v = fc->value + e * K * O * MP;
    for (size_t i = 0; i < K * O * MP; i++)
        v[i] = NAN;
    if (entry)
        *entry = e;
    return TSF_OK;
}

void tsf_forecasts_put(tsf_forecasts *fc, size_t e, size_t m, const double *block)
{
    size_t O = fc->n_targets, P = fc->n_values;
    for (size_t k = 0; k < fc->n_steps; k++) {
        size_t l = fc->step0 - 1 + k;
        for (size_t o = 0; o < O; o++)
            memcpy(tsf_forecasts_at(fc, e, k, o, m), block + (l * O + o) * P, P * sizeof *block);
    }
}

void tsf_forecasts_put_yhat(tsf_forecasts *fc, size_t e, size_t m, const float *yhat, size_t B,
                            size_t b, size_t O_net, size_t Q_net, size_t target0)
{
    size_t Q = fc->n_quantiles;
    size_t median = SIZE_MAX;
    for (size_t q = 0; q < Q; q++)
        if (fc->quantiles[q] == 0.5)
            median = q;
    for (size_t k = 0; k < fc->n_steps; k++) {
        size_t l = fc->step0 - 1 + k;
        for (size_t o = 0; o < O_net && target0 + o < fc->n_targets; o++) {
            const float *y = yhat + (l * B + b) * O_net * Q_net + o * Q_net;
            double *v = tsf_forecasts_at(fc, e, k, target0 + o, m);
            if (Q_net == 1) {
                v[0] = y[0];
                continue;
            }
            for (size_t q = 0; q < Q && q < Q_net; q++)
                v[1 + q] = y[q];
            v[0] = median != SIZE_MAX ? y[median] : NAN;
        }
    }
}

int tsf_forecasts_add_windows(tsf_forecasts *fc, const tsf_windows *w, size_t *first, tsf_err *err)
{
    if (w->spec.horizon != fc->horizon || w->spec.n_targets != fc->n_targets)
        TSF_FAIL(err, TSF_EINVAL,
                 "forecasts: windows with horizon %zu and %zu targets do not fit forecasts with "
                 "horizon %zu and %zu targets",
                 w->spec.horizon, w->spec.n_targets, fc->horizon, fc->n_targets);
    for (size_t o = 0; o < fc->n_targets; o++)
        if (w->spec.target_cols[o] != fc->target_cols[o])
            TSF_FAIL(err, TSF_EINVAL,
                     "forecasts: target %zu is column %zu in the windows but "
                     "column %zu in the forecasts",
                     o, w->spec.target_cols[o], fc->target_cols[o]);
    *first = fc->n_entries;
    for (size_t i = 0; i < w->n_windows; i++) {
        int rc = tsf_forecasts_add(fc, w->frame, w->series[i], w->origin[i], 0, 0, 0, NULL, err);
        if (rc != TSF_OK) {
            fc->n_entries = *first;
            return rc;
        }
    }
    return TSF_OK;
}

int tsf_forecasts_rescale(tsf_forecasts *fc, const tsf_scaler *s, int to_original, tsf_err *err)
{
    tsf_fc_scale want = to_original ? TSF_FC_ORIGINAL : TSF_FC_NORMALIZED;
    if (fc->scale == want)
        TSF_FAIL(err, TSF_EINVAL, "forecasts: already on the %s scale",
                 to_original ? "original" : "normalized");
    if (fc->n_series != s->n_series)
        TSF_FAIL(err, TSF_EINVAL,
                 "forecasts: the scaler was fitted on %zu series, the forecasts "
                 "have %zu",
                 s->n_series, fc->n_series);
    size_t K = fc->n_steps, O = fc->n_targets, MP = fc->n_models * fc->n_values;
    for (size_t e = 0; e < fc->n_entries; e++) {
        size_t sr = fc->entry[e].series;
        for (size_t k = 0; k < K; k++)
            for (size_t o = 0; o < O; o++) {
                size_t col = fc->target_cols[o];
                double *a = fc->actual + (e * K + k) * O + o;
                double *v = tsf_forecasts_at(fc, e, k, o, 0);
                if (to_original) {
                    *a = tsf_scaler_to_original(s, sr, col, *a);
                    for (size_t i = 0; i < MP; i++)
                        v[i] = tsf_scaler_to_original(s, sr, col, v[i]);
                } else {
                    *a = tsf_scaler_to_scaled(s, sr, col, *a);
                    for (size_t i = 0; i < MP; i++)
                        v[i] = tsf_scaler_to_scaled(s, sr, col, v[i]);
                }
            }
    }
    fc->scale = want;
    return TSF_OK;
}

char *tsf_forecasts_column_name(const tsf_forecasts *fc, size_t m, size_t p, char *buf, size_t n)
{
    if (p == 0)
        snprintf(buf, n, "%s", fc->models[m]);
    else
        snprintf(buf, n, "%s_q%g", fc->models[m], fc->quantiles[p - 1]);
    return buf;
}

size_t tsf_forecasts_model_index(const tsf_forecasts *fc, const char *name)
{
    for (size_t m = 0; m < fc->n_models; m++)
        if (strcmp(fc->models[m], name) == 0)
            return m;
    return SIZE_MAX;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int tsf_forecasts_origins(const tsf_forecasts *fc, int64_t **times, size_t *n_origins,
                          size_t *entry_origin, tsf_err *err)
{
    *times = NULL;
    *n_origins = 0;
    size_t E = fc->n_entries;
    int64_t *t = malloc((E ? E : 1) * sizeof *t);
    if (!t)
        TSF_FAIL(err, TSF_ENOMEM, "forecasts: out of memory for %zu origins", E);
    for (size_t e = 0; e < E; e++)
        t[e] = fc->entry[e].origin_time;
    qsort(t, E, sizeof *t, cmp_i64);
    size_t n = 0;
    for (size_t e = 0; e < E; e++)
        if (n == 0 || t[e] != t[n - 1])
            t[n++] = t[e];
    for (size_t e = 0; entry_origin && e < E; e++) {
        int64_t key = fc->entry[e].origin_time;
        size_t lo = 0, hi = n; /* t[lo] <= key < t[hi] */
        while (hi - lo > 1) {
            size_t mid = lo + (hi - lo) / 2;
            if (t[mid] <= key)
                lo = mid;
            else
                hi = mid;
        }
        entry_origin[e] = lo;
    }
    *times = t;
    *n_origins = n;
    return TSF_OK;
}

void tsf_forecasts_cube(const tsf_forecasts *fc, size_t m, size_t o, const size_t *entry_origin,
                        size_t n_origins, double *out)
{
    size_t K = fc->n_steps, P = fc->n_values;
    size_t total = fc->n_series * n_origins * K * P;
    for (size_t i = 0; i < total; i++)
        out[i] = NAN;
    for (size_t e = 0; e < fc->n_entries; e++) {
        double *c = out + (fc->entry[e].series * n_origins + entry_origin[e]) * K * P;
        for (size_t k = 0; k < K; k++)
            memcpy(c + k * P, tsf_forecasts_at(fc, e, k, o, m), P * sizeof *c);
    }
}

void tsf_forecasts_cube_actual(const tsf_forecasts *fc, size_t o, const size_t *entry_origin,
                               size_t n_origins, double *out)
{
    size_t K = fc->n_steps, O = fc->n_targets;
    size_t total = fc->n_series * n_origins * K;
    for (size_t i = 0; i < total; i++)
        out[i] = NAN;
    for (size_t e = 0; e < fc->n_entries; e++) {
        double *c = out + (fc->entry[e].series * n_origins + entry_origin[e]) * K;
        for (size_t k = 0; k < K; k++)
            c[k] = fc->actual[(e * K + k) * O + o];
    }
}

void tsf_fc_table_free(tsf_fc_table *t)
{
    if (!t)
        return;
    free(t->series);
    free(t->origin);
    free(t->cutoff);
    free(t->time);
    free(t->step);
    free(t->fold);
    free(t->target);
    free(t->actual);
    for (size_t i = 0; t->value_names && i < t->n_value_cols; i++)
        free(t->value_names[i]);
    free(t->value_names);
    for (size_t i = 0; t->values && i < t->n_value_cols; i++)
        free(t->values[i]);
    free(t->values);
    free(t->series_labels);
    free(t);
}

int tsf_forecasts_table(tsf_fc_table **out, const tsf_forecasts *fc, tsf_err *err)
{
    *out = NULL;
    const size_t K = fc->n_steps, O = fc->n_targets, M = fc->n_models, P = fc->n_values;
    const size_t n = fc->n_entries * K * O, nn = n ? n : 1, S = fc->n_series;
    tsf_fc_table *t = calloc(1, sizeof *t);
    if (!t)
        TSF_FAIL(err, TSF_ENOMEM, "forecasts: out of memory for the long table");
    t->n_rows = n;
    t->n_value_cols = M * P;
    t->series = malloc(nn * sizeof *t->series);
    t->origin = malloc(nn * sizeof *t->origin);
    t->cutoff = malloc(nn * sizeof *t->cutoff);
    t->time = malloc(nn * sizeof *t->time);
    t->step = malloc(nn * sizeof *t->step);
    t->fold = malloc(nn * sizeof *t->fold);
    t->target = malloc(nn * sizeof *t->target);
    t->actual = malloc(nn * sizeof *t->actual);
    t->value_names = calloc(M * P, sizeof *t->value_names);
    t->values = calloc(M * P, sizeof *t->values);
    /* unnamed series get "0", "1", ...: one block of 24-byte labels */
    if (!fc->series_ids)
        t->series_labels = malloc(S * (sizeof(char *) + 24));
    int ok = t->series && t->origin && t->cutoff && t->time && t->step && t->fold && t->target &&
             t->actual && t->value_names && t->values && (fc->series_ids || t->series_labels);
    for (size_t i = 0; ok && i < M * P; i++) {
        char name[256];
        tsf_forecasts_column_name(fc, i / P, i % P, name, sizeof name);
        ok = (t->value_names[i] = tsf__strdup(name, NULL)) && (t->values[i] = malloc(nn * 8));
    }
    if (!ok) {
        tsf_fc_table_free(t);
        TSF_FAIL(err, TSF_ENOMEM, "forecasts: out of memory for a long table of %zu rows", n);
    }
    if (t->series_labels) {
        char *text = (char *)(t->series_labels + S);
        for (size_t s = 0; s < S; s++) {
            t->series_labels[s] = text + 24 * s;
            snprintf(t->series_labels[s], 24, "%zu", s);
        }
    }
    char *const *ids = fc->series_ids ? fc->series_ids : t->series_labels;
    size_t i = 0;
    for (size_t e = 0; e < fc->n_entries; e++) {
        const tsf_fc_entry *en = &fc->entry[e];
        for (size_t k = 0; k < K; k++)
            for (size_t o = 0; o < O; o++, i++) {
                t->series[i] = ids[en->series];
                t->origin[i] = en->origin_time;
                t->cutoff[i] = en->cutoff_time;
                t->time[i] = fc->time[e * K + k];
                t->step[i] = (int64_t)(fc->step0 + k);
                t->fold[i] = (int64_t)en->fold;
                t->target[i] = fc->targets[o];
                t->actual[i] = fc->actual[(e * K + k) * O + o];
                const double *v = tsf_forecasts_at(fc, e, k, o, 0);
                for (size_t c = 0; c < M * P; c++)
                    t->values[c][i] = v[c];
            }
    }
    *out = t;
    return TSF_OK;
}

void tsf_forecasts_implausible(const tsf_forecasts *fc, const tsf_frame *f, tsf_fc_implausible *out)
{
    tsf_forecasts_implausible_rows(fc, f, NULL, out);
}

void tsf_forecasts_implausible_rows(const tsf_forecasts *fc, const tsf_frame *f,
                                    unsigned char *rows, tsf_fc_implausible *out)
{
    memset(out, 0, sizeof *out);
    if (rows)
        memset(rows, 0, fc->n_entries * fc->n_steps * fc->n_targets);
    if (fc->scale != TSF_FC_ORIGINAL)
        return;
    const size_t O = fc->n_targets, M = fc->n_models, P = fc->n_values;
    double farthest = 0;
    for (size_t o = 0; o < O; o++) {
        size_t col = f->n_cols;
        for (size_t j = 0; j < f->n_cols && col == f->n_cols; j++)
            if (!strcmp(f->col_names[j], fc->targets[o]))
                col = j;
        if (col == f->n_cols)
            continue;
        double mn = HUGE_VAL, mx = -HUGE_VAL;
        for (size_t r = 0; r < f->n_rows; r++) {
            double v = f->cols[col][r];
            if (isfinite(v)) {
                mn = v < mn ? v : mn;
                mx = v > mx ? v : mx;
            }
        }
        if (!(mn <= mx))
            continue;
        double width = mx > mn ? mx - mn : 1;
        double lo = mn - TSF_FC_IMPLAUSIBLE_SPANS * width,
               hi = mx + TSF_FC_IMPLAUSIBLE_SPANS * width;
        for (size_t e = 0; e < fc->n_entries; e++)
            for (size_t t = 0; t < fc->n_steps; t++)
                for (size_t k = 0; k < M * P; k++) {
                    double v = fc->value[((e * fc->n_steps + t) * O + o) * M * P + k];
                    if (!isfinite(v))
                        continue;
                    out->n_judged++;
                    if (v >= lo && v <= hi)
                        continue;
                    out->n++;
                    if (rows)
                        rows[(e * fc->n_steps + t) * O + o] = 1;
                    double d = v < lo ? (lo - v) / width : (v - hi) / width;
                    if (d > farthest) {
                        farthest = d;
                        out->target = fc->targets[o];
                        out->worst = v;
                        out->data_min = mn;
                        out->data_max = mx;
                        out->lo = lo;
                        out->hi = hi;
                    }
                }
    }
}
