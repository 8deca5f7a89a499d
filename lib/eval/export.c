/* Exporting forecasts, metrics, folds and scaler parameters to CSV and HDF5 (pandas frames,
 * xarray cubes, attributes). See tsflow/export.h for the layouts. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tsflow/io.h"
#include "core.h"
#include "tsflow/atomic.h"
#include "tsflow/export.h"
#include "tsflow/tz.h"

/* every baseline, in tsf_baseline order: skill columns appear for those the table holds */
static const char *const default_refs[] = {"naive", "snaive", "drift", "mean", "ets", "theta"};

void tsf_bt_record_free(tsf_bt_record *r)
{
    if (!r)
        return;
    tsf_backtest_free(r->bt);
    for (size_t j = 0; r->col_names && j < r->n_cols; j++)
        free(r->col_names[j]);
    free(r->col_names);
    free(r->description);
    for (size_t k = 0; r->histories && k < r->n_histories; k++)
        tsf_train_history_clear(&r->histories[k]);
    free(r->histories);
    free(r);
}

/* ---- the metrics table -------------------------------------------------------------------- */

void tsf_metrics_cols_free(tsf_metrics_cols *c)
{
    if (!c)
        return;
    free(c->model);
    free(c->target);
    free(c->scale);
    free(c->by);
    free(c->key);
    free(c->count);
    free(c->cutoff);
    for (int k = 0; k < TSF_N_METRICS; k++)
        free(c->value[k]);
    for (size_t i = 0; c->skill_names && i < c->n_skill; i++)
        free(c->skill_names[i]);
    for (size_t i = 0; c->skill && i < c->n_skill; i++)
        free(c->skill[i]);
    free(c->skill_names);
    free(c->skill);
    free(c);
}

static int same_group(const tsf_metric_row *a, const tsf_metric_row *b)
{
    return a->target == b->target && a->by == b->by && a->key == b->key && a->scale == b->scale;
}

static size_t group_hash(const tsf_metric_row *r, size_t model)
{
    uint64_t h = (uint64_t)model * UINT64_C(0x9E3779B97F4A7C15);
    h = (h ^ (uint64_t)r->target) * UINT64_C(0xBF58476D1CE4E5B9);
    h = (h ^ (uint64_t)r->by) * UINT64_C(0x94D049BB133111EB);
    h = (h ^ (uint64_t)r->key) * UINT64_C(0x9E3779B97F4A7C15);
    h = (h ^ (uint64_t)r->scale) * UINT64_C(0xBF58476D1CE4E5B9);
    return (size_t)(h ^ (h >> 31));
}

/* An index of the rows by (model, group), so that each row finds its reference's row of the
 * same group in constant time (a table of 20,000 series has 100,000s of rows). */
typedef struct group_index {
    size_t cap;   /* a power of two, at least twice the rows */
    size_t *slot; /* row + 1, or 0 for empty */
} group_index;

static int group_index_make(group_index *g, const tsf_metrics *mt)
{
    g->cap = 16;
    while (g->cap < 2 * mt->n_rows)
        g->cap *= 2;
    if (!(g->slot = calloc(g->cap, sizeof *g->slot)))
        return TSF_ENOMEM;
    for (size_t i = 0; i < mt->n_rows; i++) {
        size_t h = group_hash(&mt->row[i], mt->row[i].model) & (g->cap - 1);
        while (g->slot[h])
            h = (h + 1) & (g->cap - 1);
        g->slot[h] = i + 1;
    }
    return TSF_OK;
}

/* The first row of model with r's group, or NULL. */
static const tsf_metric_row *group_find(const group_index *g, const tsf_metrics *mt, size_t model,
                                        const tsf_metric_row *r)
{
    const tsf_metric_row *best = NULL;
    for (size_t h = group_hash(r, model) & (g->cap - 1); g->slot[h]; h = (h + 1) & (g->cap - 1)) {
        const tsf_metric_row *c = &mt->row[g->slot[h] - 1];
        if (c->model == model && same_group(c, r) && (!best || c < best))
            best = c;
    }
    return best;
}

int tsf_metrics_cols_make(tsf_metrics_cols **out, const tsf_metrics *mt, const char *const *refs,
                          size_t n_refs, tsf_err *err)
{
    *out = NULL;
    if (!refs) {
        refs = default_refs;
        n_refs = sizeof default_refs / sizeof *default_refs;
    }
    const size_t n = mt->n_rows, nn = n ? n : 1;
    tsf_metrics_cols *c = calloc(1, sizeof *c);
    if (!c)
        TSF_FAIL(err, TSF_ENOMEM, "metrics: out of memory");
    c->n_rows = n;
    size_t ref_model[16], n_present = 0;
    for (size_t r = 0; r < n_refs && n_present < 16; r++)
        for (size_t m = 0; m < mt->n_models; m++)
            if (strcmp(mt->models[m], refs[r]) == 0)
                ref_model[n_present++] = m;
    c->n_skill = 2 * n_present;
    c->model = malloc(nn * sizeof *c->model);
    c->target = malloc(nn * sizeof *c->target);
    c->scale = malloc(nn * sizeof *c->scale);
    c->by = malloc(nn * sizeof *c->by);
    c->key = malloc(nn * sizeof *c->key);
    c->count = malloc(nn * sizeof *c->count);
    c->cutoff = malloc(nn * sizeof *c->cutoff);
    int ok = c->model && c->target && c->scale && c->by && c->key && c->count && c->cutoff;
    for (int k = 0; ok && k < TSF_N_METRICS; k++)
        ok = (c->value[k] = malloc(nn * sizeof(double))) != NULL;
    if (ok && c->n_skill) {
        c->skill_names = calloc(c->n_skill, sizeof *c->skill_names);
        c->skill = calloc(c->n_skill, sizeof *c->skill);
        ok = c->skill_names && c->skill;
        for (size_t i = 0; ok && i < c->n_skill; i++) {
            char name[256];
            snprintf(name, sizeof name, "skill_%s_%s", i % 2 ? "mse" : "mae",
                     mt->models[ref_model[i / 2]]);
            ok = (c->skill_names[i] = tsf__strdup(name, NULL)) &&
                 (c->skill[i] = malloc(nn * sizeof(double)));
        }
    }
    group_index gi = {0, NULL};
    if (ok && n_present)
        ok = group_index_make(&gi, mt) == TSF_OK;
    if (!ok) {
        tsf_metrics_cols_free(c);
        TSF_FAIL(err, TSF_ENOMEM, "metrics: out of memory for a table of %zu rows", n);
    }
    for (size_t i = 0; i < n; i++) {
        const tsf_metric_row *r = &mt->row[i];
        c->model[i] = mt->models[r->model];
        c->target[i] = r->target == TSF_ALL_TARGETS ? "all" : mt->targets[r->target];
        c->scale[i] = r->scale == TSF_FC_NORMALIZED ? "normalized" : "original";
        c->by[i] = tsf_metric_by_name(r->by);
        c->key[i] = (int64_t)r->key;
        c->count[i] = (int64_t)r->count;
        /* NaT is INT64_MIN, as TSF_NO_CUTOFF; integer indexes have no NaT */
        c->cutoff[i] =
            r->cutoff != TSF_NO_CUTOFF || mt->time_kind == TSF_TIME_EPOCH ? r->cutoff : -1;
        for (int k = 0; k < TSF_N_METRICS; k++)
            c->value[k][i] = r->value[k];
        for (size_t j = 0; j < n_present; j++) {
            const tsf_metric_row *ref = group_find(&gi, mt, ref_model[j], r);
            double mae = NAN, mse = NAN;
            if (ref) {
                mae = 1 - r->value[TSF_METRIC_MAE] / ref->value[TSF_METRIC_MAE];
                mse = 1 - r->value[TSF_METRIC_MSE] / ref->value[TSF_METRIC_MSE];
            }
            c->skill[2 * j][i] = mae;
            c->skill[2 * j + 1][i] = mse;
        }
    }
    free(gi.slot);
    *out = c;
    return TSF_OK;
}

/* ---- CSV ----------------------------------------------------------------------------------- */

static void put_field(FILE *fp, const char *s)
{
    int quote = !*s || strpbrk(s, ",\"\r\n") || s[0] == ' ' || s[strlen(s) - 1] == ' ';
    if (!quote) {
        fputs(s, fp);
        return;
    }
    fputc('"', fp);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', fp);
        fputc(*s, fp);
    }
    fputc('"', fp);
}

static void put_double(FILE *fp, double v)
{
    char buf[40];
    tsf_format_double(buf, sizeof buf, v);
    fputs(buf, fp);
}

/* The zone the forecasts' times are shown in, or NULL (no zone, or an integer index). */
static const char *fc_zone(const tsf_forecasts *fc)
{
    return fc->time_kind == TSF_TIME_EPOCH ? fc->tz : NULL;
}

static const tsf_tz *fc_tz(const tsf_forecasts *fc)
{
    return fc_zone(fc) ? tsf_tz_cached(fc->tz) : NULL;
}

/* A time as text: local time with its offset in zone z, as pandas writes zone-aware times
 * ("2021-03-28 03:00:00+02:00"); without a zone, tsf_time_format's form. buf needs 48 bytes. */
static const char *time_text(tsf_time_kind kind, const tsf_tz *z, int64_t t, char *buf, size_t n)
{
    return z ? tsf_tz_format(z, t, buf, n) : tsf_time_format(kind, t, buf, n);
}

/* A time with `digits` fraction digits (timestamps: the column's finest, as pandas' to_csv), in
 * zone z when there is one. */
static void put_time(FILE *fp, tsf_time_kind kind, const tsf_tz *z, int64_t t, int digits)
{
    char buf[48];
    fputs(kind == TSF_TIME_EPOCH ? tsf_tz_format_digits(z, t, digits, buf, sizeof buf)
                                 : tsf_time_format(kind, t, buf, sizeof buf),
          fp);
}

static int csv_begin(tsf_atomic *a, FILE **fp, const char *path, tsf_err *err)
{
    int rc = tsf_atomic_begin(a, path, err);
    if (rc != TSF_OK)
        return rc;
    if (!(*fp = tsf_atomic_stream(a))) {
        tsf_atomic_abort(a);
        TSF_FAIL(err, TSF_EIO, "%s: cannot open a stream on the temporary file", path);
    }
    return TSF_OK;
}

static int csv_end(tsf_atomic *a, FILE *fp, tsf_err *err)
{
    if (ferror(fp)) {
        const char *p = a->path;
        char path[1024];
        snprintf(path, sizeof path, "%s", p ? p : "?");
        tsf_atomic_abort(a);
        TSF_FAIL(err, TSF_EIO, "%s: write error", path);
    }
    return tsf_atomic_commit(a, err);
}

int tsf_forecasts_write_csv(const tsf_forecasts *fc, const tsf_frame *data, const char *path,
                            tsf_fc_implausible *bad, tsf_err *err)
{
    tsf_fc_table *t = NULL;
    int rc = tsf_forecasts_table(&t, fc, err);
    if (rc != TSF_OK)
        return rc;
    unsigned char *flags = NULL;
    const size_t n_rows = t->n_rows;
    if (data && !(flags = malloc(n_rows ? n_rows : 1))) {
        tsf_fc_table_free(t);
        TSF_FAIL(err, TSF_ENOMEM, "%s: out of memory judging %zu forecast rows", path, n_rows);
    }
    tsf_fc_implausible summary;
    if (data)
        tsf_forecasts_implausible_rows(fc, data, flags, &summary);
    if (bad)
        *bad = data ? summary : (tsf_fc_implausible){0};
    tsf_atomic a;
    FILE *fp;
    if ((rc = csv_begin(&a, &fp, path, err)) != TSF_OK) {
        tsf_fc_table_free(t);
        free(flags);
        return rc;
    }
    const tsf_tz *z = fc_tz(fc);
    fputs("series,origin,step,target,timestamp,cutoff,fold,actual", fp);
    for (size_t j = 0; j < t->n_value_cols; j++) {
        fputc(',', fp);
        put_field(fp, t->value_names[j]);
    }
    fputs(flags ? ",implausible\n" : "\n", fp);
    int d_origin = tsf_time_fraction_digits(t->origin, t->n_rows);
    int d_time = tsf_time_fraction_digits(t->time, t->n_rows);
    int d_cutoff = tsf_time_fraction_digits(t->cutoff, t->n_rows);
    for (size_t i = 0; i < t->n_rows; i++) {
        put_field(fp, t->series[i]);
        fputc(',', fp);
        put_time(fp, fc->time_kind, z, t->origin[i], d_origin);
        fprintf(fp, ",%lld,", (long long)t->step[i]);
        put_field(fp, t->target[i]);
        fputc(',', fp);
        put_time(fp, fc->time_kind, z, t->time[i], d_time);
        fputc(',', fp);
        put_time(fp, fc->time_kind, z, t->cutoff[i], d_cutoff);
        fprintf(fp, ",%lld,", (long long)t->fold[i]);
        put_double(fp, t->actual[i]);
        for (size_t j = 0; j < t->n_value_cols; j++) {
            fputc(',', fp);
            put_double(fp, t->values[j][i]);
        }
        if (flags)
            fputs(flags[i] ? ",True" : ",False", fp);
        fputc('\n', fp);
    }
    tsf_fc_table_free(t);
    free(flags);
    return csv_end(&a, fp, err);
}

int tsf_metrics_write_csv(const tsf_metrics *mt, const char *const *refs, size_t n_refs,
                          const char *path, tsf_err *err)
{
    tsf_metrics_cols *c = NULL;
    int rc = tsf_metrics_cols_make(&c, mt, refs, n_refs, err);
    if (rc != TSF_OK)
        return rc;
    tsf_atomic a;
    FILE *fp;
    if ((rc = csv_begin(&a, &fp, path, err)) != TSF_OK) {
        tsf_metrics_cols_free(c);
        return rc;
    }
    const tsf_tz *z = mt->time_kind == TSF_TIME_EPOCH && mt->tz ? tsf_tz_cached(mt->tz) : NULL;
    fputs("model,target,scale,by,key,cutoff,count", fp);
    for (int k = 0; k < TSF_N_METRICS; k++)
        fprintf(fp, ",%s", tsf_metric_name(k));
    for (size_t j = 0; j < c->n_skill; j++) {
        fputc(',', fp);
        put_field(fp, c->skill_names[j]);
    }
    fputc('\n', fp);
    int dc = 0; /* the cutoffs' fraction digits, as for the forecasts' times */
    for (size_t i = 0; i < c->n_rows; i++)
        if (mt->row[i].cutoff != TSF_NO_CUTOFF &&
            tsf_time_fraction_digits(&mt->row[i].cutoff, 1) > dc)
            dc = tsf_time_fraction_digits(&mt->row[i].cutoff, 1);
    for (size_t i = 0; i < c->n_rows; i++) {
        put_field(fp, c->model[i]);
        fputc(',', fp);
        put_field(fp, c->target[i]);
        fprintf(fp, ",%s,%s,%lld,", c->scale[i], c->by[i], (long long)c->key[i]);
        if (mt->row[i].cutoff != TSF_NO_CUTOFF)
            put_time(fp, mt->time_kind, z, mt->row[i].cutoff, dc);
        fprintf(fp, ",%lld", (long long)c->count[i]);
        for (int k = 0; k < TSF_N_METRICS; k++) {
            fputc(',', fp);
            put_double(fp, c->value[k][i]);
        }
        for (size_t j = 0; j < c->n_skill; j++) {
            fputc(',', fp);
            put_double(fp, c->skill[j][i]);
        }
        fputc('\n', fp);
    }
    tsf_metrics_cols_free(c);
    return csv_end(&a, fp, err);
}

/* ---- HDF5 ---------------------------------------------------------------------------------- */

static tsf_h5_type time_type(const tsf_forecasts *fc)
{
    return fc->time_kind == TSF_TIME_EPOCH ? TSF_H5_TIME : TSF_H5_INT64;
}

typedef struct cube_ctx {
    const tsf_forecasts *fc;
    const size_t *entry_origin;
    size_t n_origins;
    int actual;
} cube_ctx;

/* forecast: rows along the model dimension, each (O, S, N, K, P); actual: along the target
 * dimension, each (S, N, K). */
static void cube_fill(void *vctx, size_t row0, size_t n, double *buf)
{
    const cube_ctx *c = vctx;
    const tsf_forecasts *fc = c->fc;
    const size_t S = fc->n_series, N = c->n_origins, K = fc->n_steps, P = fc->n_values;
    const size_t O = fc->n_targets;
    for (size_t i = 0; i < n; i++) {
        if (c->actual) {
            tsf_forecasts_cube_actual(fc, row0 + i, c->entry_origin, N, buf + i * S * N * K);
            continue;
        }
        for (size_t o = 0; o < O; o++)
            tsf_forecasts_cube(fc, row0 + i, o, c->entry_origin, N,
                               buf + (i * O + o) * S * N * K * P);
    }
}

/* valid_time[origin, step] = origin + (step - 1) periods (the origin is the time of step 1):
 * periods of the frequency on the local calendar of the zone (a day later is the same local
 * time across a change of offset), else steps of time_step; CF time units for timestamps, the
 * zone in a "tz" attribute, and the step length on the step coordinate. */
static int write_valid_time(tsf_h5out *o, const tsf_forecasts *fc, const char *group,
                            const tsf_h5_dim *dims, const int64_t *origins, const int64_t *steps,
                            tsf_err *err)
{
    const size_t N = dims[0].size, K = dims[1].size;
    double *v = malloc((N * K > 0 ? N * K : 1) * sizeof *v);
    if (!v)
        TSF_FAIL(err, TSF_ENOMEM, "forecasts: out of memory for the cube");
    const int cal = fc->time_kind == TSF_TIME_EPOCH && fc->freq.unit != TSF_FREQ_NONE;
    const tsf_tz *z = fc_tz(fc);
    /* CF units in seconds when every time is a whole second, else in microseconds */
    int epoch = fc->time_kind == TSF_TIME_EPOCH;
    int64_t per = epoch && fc->time_step % TSF_US_PER_S == 0 ? TSF_US_PER_S : 1;
    for (size_t n = 0; n < N; n++)
        for (size_t k = 0; k < K; k++) {
            int64_t t = cal ? tsf_tz_freq_add(z, &fc->freq, origins[n], steps[k] - 1)
                            : origins[n] + (steps[k] - 1) * fc->time_step;
            per = t % per != 0 ? 1 : per;
            v[n * K + k] = (double)t;
        }
    for (size_t i = 0; per != 1 && i < N * K; i++)
        v[i] /= (double)per;
    char path[512], step[512];
    snprintf(path, sizeof path, "%s/valid_time", group);
    snprintf(step, sizeof step, "%s/step", group);
    int rc = tsf_h5out_array(o, path, dims, 2, v, err);
    free(v);
    if (rc == TSF_OK && epoch)
        rc = tsf_h5out_attr_string(o, path, "units", tsf_h5out_time_units(per), err);
    if (rc == TSF_OK && epoch)
        rc = tsf_h5out_attr_string(o, path, "calendar", "proleptic_gregorian", err);
    if (rc == TSF_OK && fc_zone(fc))
        rc = tsf_h5out_attr_string(o, path, "tz", fc->tz, err);
    if (rc == TSF_OK)
        rc = tsf_h5out_attr_string(o, path, "long_name", "the time the value is for", err);
    if (rc == TSF_OK)
        rc = tsf_h5out_attr_int(o, step, "step_length", fc->time_step / per, err);
    if (rc == TSF_OK)
        rc = tsf_h5out_attr_string(o, step, "step_length_units",
                                   !epoch                ? "index units"
                                   : per == TSF_US_PER_S ? "seconds"
                                                         : "microseconds",
                                   err);
    return rc;
}

static int write_cube(tsf_h5out *o, const tsf_forecasts *fc, const char *group,
                      const char *const *ids, tsf_err *err)
{
    const size_t E = fc->n_entries, K = fc->n_steps, P = fc->n_values, Q = fc->n_quantiles;
    int64_t *origins = NULL, *steps = malloc(K * sizeof *steps);
    size_t N = 0;
    size_t *entry_origin = malloc((E ? E : 1) * sizeof *entry_origin);
    char **qnames = calloc(P, sizeof *qnames);
    char *qtext = malloc(P * 32);
    double *levels = malloc(P * sizeof *levels);
    int rc = TSF_OK;
    if (!steps || !entry_origin || !qnames || !qtext || !levels) {
        rc = tsf_err_set(err, TSF_ENOMEM, "forecasts: out of memory for the cube");
        goto done;
    }
    if ((rc = tsf_forecasts_origins(fc, &origins, &N, entry_origin, err)) != TSF_OK)
        goto done;
    if (N == 0) /* nothing to put in a cube; the long table is empty too */
        goto done;
    for (size_t k = 0; k < K; k++)
        steps[k] = (int64_t)(fc->step0 + k);
    for (size_t p = 0; p < P; p++) {
        qnames[p] = qtext + 32 * p;
        if (p == 0)
            snprintf(qnames[p], 32, "point");
        else
            snprintf(qnames[p], 32, "q%g", fc->quantiles[p - 1]);
        levels[p] = p == 0 ? NAN : fc->quantiles[p - 1];
    }
    (void)Q;
    tsf_h5_dim dims[6] = {
        {"model", fc->n_models, TSF_H5_STRING, fc->models},
        {"target", fc->n_targets, TSF_H5_STRING, fc->targets},
        {"series", fc->n_series, TSF_H5_STRING, ids},
        {"origin", N, time_type(fc), origins},
        {"step", K, TSF_H5_INT64, steps},
        /* not "quantile": a variable of that name hides xarray's Dataset.quantile */
        {"estimate", P, TSF_H5_STRING, qnames},
    };
    char path[512];
    cube_ctx cc = {fc, entry_origin, N, 0};
    snprintf(path, sizeof path, "%s/forecast", group);
    rc = tsf_h5out_array_fill(o, path, dims, 6, cube_fill, &cc, err);
    if (rc == TSF_OK) {
        cc.actual = 1;
        snprintf(path, sizeof path, "%s/actual", group);
        rc = tsf_h5out_array_fill(o, path, dims + 1, 4, cube_fill, &cc, err);
    }
    if (rc == TSF_OK) {
        snprintf(path, sizeof path, "%s/quantile_level", group);
        rc = tsf_h5out_array(o, path, dims + 5, 1, levels, err);
    }
    if (rc == TSF_OK) {
        snprintf(path, sizeof path, "%s/forecast", group);
        rc = tsf_h5out_attr_string(
            o, path, "long_name",
            fc->scale == TSF_FC_NORMALIZED ? "forecast (normalized scale)" : "forecast", err);
    }
    if (rc == TSF_OK) /* the time each value is for */
        rc = write_valid_time(o, fc, group, dims + 3, origins, steps, err);
    if (rc == TSF_OK) {
        snprintf(path, sizeof path, "%s/forecast", group);
        rc = tsf_h5out_attr_string(o, path, "coordinates", "valid_time quantile_level", err);
    }
    if (rc == TSF_OK) {
        snprintf(path, sizeof path, "%s/actual", group);
        rc = tsf_h5out_attr_string(o, path, "coordinates", "valid_time", err);
    }
    if (rc == TSF_OK && fc_zone(fc)) {
        /* xarray decodes the CF units to UTC; the zone to show them in rides along */
        snprintf(path, sizeof path, "%s/origin", group);
        rc = tsf_h5out_attr_string(o, path, "tz", fc->tz, err);
    }
    if (rc == TSF_OK && fc->freq.unit != TSF_FREQ_NONE) {
        /* the time axis' pandas alias (pandas 1.5 names, which pandas 2 also reads) */
        char alias[24];
        rc = tsf_h5out_attr_string(o, group, "freq",
                                   tsf_freq_format(&fc->freq, 1, alias, sizeof alias), err);
    }
done:
    free(origins);
    free(steps);
    free(entry_origin);
    free(qnames);
    free(qtext);
    free(levels);
    return rc;
}

int tsf_forecasts_write_h5(tsf_h5out *o, const tsf_forecasts *fc, const char *key,
                           const char *cube_group, tsf_err *err)
{
    tsf_fc_table *t = NULL;
    int rc = tsf_forecasts_table(&t, fc, err);
    if (rc != TSF_OK)
        return rc;
    const size_t nv = t->n_value_cols, nc = 8 + nv;
    tsf_h5_column *cols = malloc(nc * sizeof *cols);
    if (!cols) {
        tsf_fc_table_free(t);
        TSF_FAIL(err, TSF_ENOMEM, "forecasts: out of memory");
    }
    tsf_h5_type tt = time_type(fc);
    cols[0] = (tsf_h5_column){"series", TSF_H5_STRING, t->series};
    const char *tz = fc_zone(fc);
    cols[1] = (tsf_h5_column){"origin", tt, t->origin, .tz = tz};
    cols[2] = (tsf_h5_column){"step", TSF_H5_INT64, t->step};
    cols[3] = (tsf_h5_column){"target", TSF_H5_STRING, t->target};
    cols[4] = (tsf_h5_column){"timestamp", tt, t->time, .tz = tz};
    cols[5] = (tsf_h5_column){"cutoff", tt, t->cutoff, .tz = tz};
    cols[6] = (tsf_h5_column){"fold", TSF_H5_INT64, t->fold};
    cols[7] = (tsf_h5_column){"actual", TSF_H5_FLOAT64, t->actual};
    for (size_t j = 0; j < nv; j++)
        cols[8 + j] = (tsf_h5_column){t->value_names[j], TSF_H5_FLOAT64, t->values[j]};
    rc = tsf_h5out_pandas(o, key, t->n_rows, cols, nc, 4, err);
    if (rc == TSF_OK)
        rc = tsf_h5out_attr_string(o, key, "scale",
                                   fc->scale == TSF_FC_NORMALIZED ? "normalized" : "original", err);
    if (rc == TSF_OK) { /* the same rows as one flat table, for R */
        char flat[512];
        snprintf(flat, sizeof flat, "%s_flat", key);
        rc = tsf_h5out_records(o, flat, t->n_rows, cols, nc, err);
        if (rc == TSF_OK)
            rc = tsf_h5out_attr_string(
                o, flat, "description",
                "the forecasts table, one row per value: rhdf5::h5read(file, path) or hdf5r's "
                "file[[path]][] gives a data.frame; times are UTC text (as.POSIXct(x, tz = "
                "\"UTC\"))",
                err);
        if (rc == TSF_OK && tz) /* the zone to show them in: lubridate::with_tz(x, tz) */
            rc = tsf_h5out_attr_string(o, flat, "tz", tz, err);
    }
    if (rc == TSF_OK && cube_group) {
        /* series ids as the long table names them ("0", "1", ... for unnamed series) */
        const char **ids = malloc(fc->n_series * sizeof *ids);
        if (!ids) {
            rc = tsf_err_set(err, TSF_ENOMEM, "forecasts: out of memory");
        } else {
            for (size_t s = 0; s < fc->n_series; s++)
                ids[s] = fc->series_ids ? fc->series_ids[s] : t->series_labels[s];
            rc = write_cube(o, fc, cube_group, ids, err);
            free(ids);
        }
    }
    free(cols);
    tsf_fc_table_free(t);
    return rc;
}

int tsf_metrics_write_h5(tsf_h5out *o, const tsf_metrics *mt, const char *const *refs,
                         size_t n_refs, const char *key, tsf_err *err)
{
    tsf_metrics_cols *c = NULL;
    int rc = tsf_metrics_cols_make(&c, mt, refs, n_refs, err);
    if (rc != TSF_OK)
        return rc;
    const size_t nc = 7 + TSF_N_METRICS + c->n_skill;
    tsf_h5_column *cols = malloc(nc * sizeof *cols);
    if (!cols) {
        tsf_metrics_cols_free(c);
        TSF_FAIL(err, TSF_ENOMEM, "metrics: out of memory");
    }
    const int epoch = mt->time_kind == TSF_TIME_EPOCH;
    cols[0] = (tsf_h5_column){"model", TSF_H5_STRING, c->model};
    cols[1] = (tsf_h5_column){"target", TSF_H5_STRING, c->target};
    cols[2] = (tsf_h5_column){"scale", TSF_H5_STRING, c->scale};
    cols[3] = (tsf_h5_column){"by", TSF_H5_STRING, c->by};
    cols[4] = (tsf_h5_column){"key", TSF_H5_INT64, c->key};
    cols[5] = (tsf_h5_column){"cutoff", epoch ? TSF_H5_TIME : TSF_H5_INT64, c->cutoff,
                              .tz = epoch ? mt->tz : NULL};
    cols[6] = (tsf_h5_column){"count", TSF_H5_INT64, c->count};
    for (int k = 0; k < TSF_N_METRICS; k++)
        cols[7 + k] = (tsf_h5_column){tsf_metric_name(k), TSF_H5_FLOAT64, c->value[k]};
    for (size_t j = 0; j < c->n_skill; j++)
        cols[7 + TSF_N_METRICS + j] =
            (tsf_h5_column){c->skill_names[j], TSF_H5_FLOAT64, c->skill[j]};
    rc = tsf_h5out_pandas(o, key, c->n_rows, cols, nc, 5, err);
    if (rc == TSF_OK && mt->season)
        rc = tsf_h5out_attr_int(o, key, "mase_season", (int64_t)mt->season, err);
    free(cols);
    tsf_metrics_cols_free(c);
    return rc;
}

/* Time of frame row `row` of entry e's series: rows are periods of the frequency (or, without
 * one, of fc->time_step) before or after the origin. */
static int64_t row_time(const tsf_forecasts *fc, const tsf_fc_entry *en, size_t row)
{
    int64_t k = (int64_t)row - (int64_t)en->origin_row;
    if (fc->time_kind == TSF_TIME_EPOCH && fc->freq.unit != TSF_FREQ_NONE)
        return tsf_tz_freq_add(fc_tz(fc), &fc->freq, en->origin_time, k);
    return en->origin_time + k * fc->time_step;
}

/* The "folds" attribute: a line per series and fold ("fold 2: origin ..., fitted on ... (N
 * rows)", prefixed by the series when there are several), at most FOLD_LINES of them. */
#define FOLD_LINES 1000
static int folds_text(tsf_h5out *o, const tsf_forecasts *fc, const char *obj, const int64_t *start,
                      const int64_t *end, const int64_t *rows, tsf_err *err)
{
    const size_t E = fc->n_entries, shown = E < FOLD_LINES ? E : FOLD_LINES;
    char *text = malloc(shown * 256 + 64), *w = text;
    if (!text)
        TSF_FAIL(err, TSF_ENOMEM, "folds: out of memory");
    *w = '\0';
    int several = fc->n_series > 1;
    const tsf_tz *z = fc_tz(fc);
    for (size_t e = 0; e < shown; e++) {
        const tsf_fc_entry *en = &fc->entry[e];
        int known = en->fit_end > en->fit_begin;
        char t0[48], t1[48] = "", t2[48] = "", sid[64] = "";
        time_text(fc->time_kind, z, en->origin_time, t0, sizeof t0);
        if (known) {
            time_text(fc->time_kind, z, start[e], t1, sizeof t1);
            time_text(fc->time_kind, z, end[e], t2, sizeof t2);
        }
        if (several)
            snprintf(sid, sizeof sid, "series %.40s, ",
                     fc->series_ids ? fc->series_ids[en->series] : "");
        if (several && !fc->series_ids)
            snprintf(sid, sizeof sid, "series %zu, ", en->series);
        int n =
            snprintf(w, 256, "%sfold %zu: origin %s, fitted on %s%s%s (%lld rows)\n", sid, en->fold,
                     t0, known ? t1 : "unknown rows", known ? " .. " : "", t2, (long long)rows[e]);
        w += n < 0 ? 0 : n < 256 ? n : 255;
    }
    if (E > shown)
        sprintf(w, "... and %zu more (pandas.read_hdf(path, \"folds\"))\n", E - shown);
    int rc = tsf_h5out_attr_string(o, obj, "folds", text, err);
    free(text);
    return rc;
}

/* The fold attributes' times (every block of fa but the fourth, fit rows; -1: no fold) in
 * seconds when all are whole seconds, else in microseconds: returns the microseconds per unit,
 * for tsf_h5out_time_units. */
static int64_t fold_times_in_units(int64_t *fa, size_t cells)
{
    int64_t per = TSF_US_PER_S;
    for (size_t i = 0; i < cells * 5; i++)
        if (i / cells != 3 && fa[i] != -1 && fa[i] % TSF_US_PER_S != 0)
            per = 1;
    for (size_t i = 0; i < cells * 5; i++)
        if (i / cells != 3 && fa[i] != -1)
            fa[i] /= per;
    return per;
}

int tsf_folds_write_h5(tsf_h5out *o, const tsf_forecasts *fc, const char *key, const char *obj,
                       tsf_err *err)
{
    const size_t E = fc->n_entries, nn = E ? E : 1, S = fc->n_series;
    const char **series = malloc(nn * sizeof *series);
    int64_t *fold = malloc(nn * sizeof *fold), *origin = malloc(nn * sizeof *origin);
    int64_t *cutoff = malloc(nn * sizeof *cutoff), *start = malloc(nn * sizeof *start);
    int64_t *end = malloc(nn * sizeof *end), *rows = malloc(nn * sizeof *rows);
    int64_t *orow = malloc(nn * sizeof *orow);
    char(*labels)[24] = malloc((S ? S : 1) * sizeof *labels);
    size_t n_folds = 0;
    for (size_t e = 0; e < E; e++)
        n_folds = fc->entry[e].fold + 1 > n_folds ? fc->entry[e].fold + 1 : n_folds;
    /* per series and fold: origin, fit start, fit end, fit rows, cutoff (-1: no such fold) */
    size_t nf = n_folds ? n_folds : 1, cells = (S ? S : 1) * nf;
    int64_t *fa = malloc(cells * 5 * sizeof *fa);
    size_t names_len = 1;
    for (size_t s = 0; s < S; s++)
        names_len += (fc->series_ids ? strlen(fc->series_ids[s]) : 20) + 1;
    char *names = malloc(names_len);
    int rc = TSF_OK;
    if (!series || !fold || !origin || !cutoff || !start || !end || !rows || !orow || !labels ||
        !fa || !names) {
        rc = tsf_err_set(err, TSF_ENOMEM, "folds: out of memory");
        goto done;
    }
    const tsf_h5_type tt = time_type(fc);
    const int64_t unknown = tt == TSF_H5_TIME ? TSF_H5_NAT : -1;
    names[0] = '\0';
    for (size_t s = 0, p = 0; s < S; s++) {
        snprintf(labels[s], sizeof labels[s], "%zu", s);
        p += (size_t)sprintf(names + p, "%s%s", s ? "\n" : "",
                             fc->series_ids ? fc->series_ids[s] : labels[s]);
    }
    for (size_t i = 0; i < cells * 5; i++)
        fa[i] = -1;
    for (size_t e = 0; e < E; e++) {
        const tsf_fc_entry *en = &fc->entry[e];
        int known = en->fit_end > en->fit_begin;
        series[e] = fc->series_ids ? fc->series_ids[en->series] : labels[en->series];
        fold[e] = (int64_t)en->fold;
        origin[e] = en->origin_time;
        cutoff[e] = en->cutoff_time;
        start[e] = known ? row_time(fc, en, en->fit_begin) : unknown;
        end[e] = known ? row_time(fc, en, en->fit_end - 1) : unknown;
        rows[e] = (int64_t)(en->fit_end - en->fit_begin);
        orow[e] = (int64_t)en->origin_row;
        size_t at = en->series * nf + en->fold;
        fa[0 * cells + at] = en->origin_time;
        fa[1 * cells + at] = known ? start[e] : -1;
        fa[2 * cells + at] = known ? end[e] : -1;
        fa[3 * cells + at] = rows[e];
        fa[4 * cells + at] = en->cutoff_time;
    }
    const char *tz = fc_zone(fc);
    tsf_h5_column cols[] = {{"series", TSF_H5_STRING, series},  {"fold", TSF_H5_INT64, fold},
                            {"origin", tt, origin, .tz = tz},   {"cutoff", tt, cutoff, .tz = tz},
                            {"fit_start", tt, start, .tz = tz}, {"fit_end", tt, end, .tz = tz},
                            {"fit_rows", TSF_H5_INT64, rows},   {"origin_row", TSF_H5_INT64, orow}};
    rc = tsf_h5out_pandas(o, key, E, cols, 8, 2, err);
    int64_t per = tt == TSF_H5_TIME ? fold_times_in_units(fa, cells) : 1;
    if (rc == TSF_OK && obj && n_folds) {
        /* every series' folds as (series, fold) attributes, times in fold_time_units */
        const char *an[] = {"fold_origin", "fold_fit_start", "fold_fit_end", "fold_fit_rows",
                            "fold_cutoff"};
        for (int k = 0; k < 5 && rc == TSF_OK; k++)
            rc = tsf_h5out_attr_ints_2d(o, obj, an[k], fa + (size_t)k * cells, S, n_folds, err);
        if (rc == TSF_OK)
            rc = tsf_h5out_attr_string(o, obj, "fold_series", names, err);
        if (rc == TSF_OK)
            rc =
                tsf_h5out_attr_string(o, obj, "fold_time_units",
                                      fc->time_kind == TSF_TIME_EPOCH ? tsf_h5out_time_units(per)
                                                                      : "rows of the integer index",
                                      err);
        if (rc == TSF_OK && tz) /* the zone the fold times are shown in */
            rc = tsf_h5out_attr_string(o, obj, "fold_tz", tz, err);
        if (rc == TSF_OK)
            rc = folds_text(o, fc, obj, start, end, rows, err);
    }
done:
    free(series);
    free(fold);
    free(origin);
    free(cutoff);
    free(start);
    free(end);
    free(rows);
    free(orow);
    free(labels);
    free(fa);
    free(names);
    return rc;
}

int tsf_scalers_write_h5(tsf_h5out *o, const char *obj, const tsf_scaler *const *scalers, size_t n,
                         const char *const *col_names, tsf_err *err)
{
    if (n == 0)
        return TSF_OK;
    const tsf_scaler *s0 = scalers[0];
    const size_t G = s0->n_groups, C = s0->spec.n_cols;
    for (size_t i = 1; i < n; i++)
        if (scalers[i]->n_groups != G || scalers[i]->spec.n_cols != C)
            TSF_FAIL(err, TSF_EINVAL, "scalers: fit %zu has another shape than fit 0", i);
    size_t total = n * G * C, len = 1;
    for (size_t k = 0; k < C; k++)
        len += strlen(col_names[s0->spec.cols[k]]) + 1;
    double *v[3];
    for (int a = 0; a < 3; a++)
        v[a] = malloc((total ? total : 1) * sizeof(double));
    char *names = malloc(len);
    int rc = TSF_OK;
    if (!v[0] || !v[1] || !v[2] || !names) {
        rc = tsf_err_set(err, TSF_ENOMEM, "scalers: out of memory");
        goto done;
    }
    names[0] = '\0';
    for (size_t k = 0, p = 0; k < C; k++)
        p += (size_t)sprintf(names + p, "%s%s", k ? "\n" : "", col_names[s0->spec.cols[k]]);
    for (size_t i = 0; i < n; i++)
        for (size_t g = 0; g < G * C; g++) {
            v[0][i * G * C + g] = scalers[i]->center[g];
            v[1][i * G * C + g] = scalers[i]->scale[g];
            v[2][i * G * C + g] = scalers[i]->lambda[g];
        }
    const int64_t shape[3] = {(int64_t)n, (int64_t)G, (int64_t)C};
    rc = tsf_h5out_attr_string(o, obj, "scaler_kind", tsf_scale_kind_name(s0->spec.kind), err);
    if (rc == TSF_OK)
        rc = tsf_h5out_attr_string(o, obj, "scaler_transform", tsf_scale_pre_name(s0->spec.pre),
                                   err);
    if (rc == TSF_OK)
        rc = tsf_h5out_attr_string(o, obj, "scaler_columns", names, err);
    if (rc == TSF_OK)
        rc = tsf_h5out_attr_ints(o, obj, "scaler_shape", shape, 3, err);
    const char *an[3] = {"scaler_center", "scaler_scale", "scaler_lambda"};
    for (int a = 0; a < 3 && rc == TSF_OK; a++)
        rc = tsf_h5out_attr_doubles(o, obj, an[a], v[a], total, err);
done:
    for (int a = 0; a < 3; a++)
        free(v[a]);
    free(names);
    return rc;
}
