/* Frames: allocation, growth, series partition, copies and column statistics. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tsflow/frame.h"
#include "core.h"

char *tsf__strdup(const char *s, tsf_err *err)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (!d) {
        tsf_err_set(err, TSF_ENOMEM, "out of memory copying a %zu-byte name", n);
        return NULL;
    }
    memcpy(d, s, n);
    return d;
}

int tsf_frame_alloc(tsf_frame **out, size_t n_cols, const char *const *names, size_t capacity,
                    tsf_err *err)
{
    *out = NULL;
    tsf_frame *f = calloc(1, sizeof *f);
    if (!f)
        TSF_FAIL(err, TSF_ENOMEM, "out of memory allocating a frame");
    f->n_series = 1;
    f->series_start = calloc(2, sizeof *f->series_start);
    f->col_names = calloc(n_cols ? n_cols : 1, sizeof *f->col_names);
    f->cols = calloc(n_cols ? n_cols : 1, sizeof *f->cols);
    if (!f->series_start || !f->col_names || !f->cols)
        goto nomem;
    f->n_cols = n_cols;
    for (size_t j = 0; j < n_cols; j++) {
        char generated[32];
        const char *name = names ? names[j] : NULL;
        if (!name) {
            snprintf(generated, sizeof generated, "v%zu", j);
            name = generated;
        }
        if (!(f->col_names[j] = tsf__strdup(name, err)))
            goto nomem;
    }
    if (tsf_frame_reserve(f, capacity, err) != TSF_OK) {
        tsf_frame_free(f);
        return err ? err->code : TSF_ENOMEM;
    }
    *out = f;
    return TSF_OK;
nomem:
    tsf_frame_free(f);
    TSF_FAIL(err, TSF_ENOMEM, "out of memory allocating a frame of %zu columns", n_cols);
}

void tsf__free_strings(char **s, size_t n)
{
    if (!s)
        return;
    for (size_t i = 0; i < n; i++)
        free(s[i]);
    free(s);
}

void tsf_frame_free(tsf_frame *f)
{
    if (!f)
        return;
    tsf__free_strings(f->col_names, f->n_cols);
    if (f->cols)
        for (size_t j = 0; j < f->n_cols; j++)
            free(f->cols[j]);
    free(f->cols);
    free(f->time);
    free(f->time_name);
    tsf__free_strings(f->series_ids, f->series_ids ? f->n_series : 0);
    free(f->series_start);
    free(f->id_name);
    free(f->tz);
    free(f->series_freq);
    free(f);
}

const tsf_freq *tsf_frame_series_freq(const tsf_frame *f, size_t s)
{
    return f->series_freq && s < f->n_series ? &f->series_freq[s] : &f->freq;
}

int64_t tsf_freq_nominal_step(const tsf_freq *q)
{
    /* the Gregorian calendar's mean month: 365.2425 days / 12 */
    static const int64_t month = 2629746 * TSF_US_PER_S;
    switch (q->unit) {
    case TSF_FREQ_NONE:
        return 0;
    case TSF_FREQ_FIXED:
        return q->n;
    case TSF_FREQ_WEEK:
        return q->n * 7 * TSF_US_PER_DAY;
    case TSF_FREQ_BDAY:
        return q->n * TSF_US_PER_DAY;
    case TSF_FREQ_MONTH_START:
    case TSF_FREQ_MONTH_END:
        return q->n * month;
    case TSF_FREQ_QUARTER_START:
    case TSF_FREQ_QUARTER_END:
        return q->n * 3 * month;
    default:
        return q->n * 12 * month;
    }
}

int tsf_frame_reserve(tsf_frame *f, size_t capacity, tsf_err *err)
{
    if (capacity <= f->capacity)
        return TSF_OK;
    if (capacity > SIZE_MAX / sizeof(double))
        TSF_FAIL(err, TSF_ENOMEM, "a frame of %zu rows is too large", capacity);
    int64_t *t = realloc(f->time, capacity * sizeof *t);
    if (!t)
        goto nomem;
    f->time = t;
    for (size_t j = 0; j < f->n_cols; j++) {
        double *c = realloc(f->cols[j], capacity * sizeof *c);
        if (!c)
            goto nomem;
        f->cols[j] = c;
    }
    f->capacity = capacity;
    return TSF_OK;
nomem:
    TSF_FAIL(err, TSF_ENOMEM, "out of memory growing a frame to %zu rows of %zu columns", capacity,
             f->n_cols);
}

int tsf_frame_add_col(tsf_frame *f, const char *name, size_t *col, tsf_err *err)
{
    char **names = realloc(f->col_names, (f->n_cols + 1) * sizeof *names);
    if (!names)
        goto nomem;
    f->col_names = names;
    double **cols = realloc(f->cols, (f->n_cols + 1) * sizeof *cols);
    if (!cols)
        goto nomem;
    f->cols = cols;
    double *c = malloc((f->capacity ? f->capacity : 1) * sizeof *c);
    char *nm = tsf__strdup(name, err);
    if (!c || !nm) {
        free(c);
        free(nm);
        goto nomem;
    }
    for (size_t r = 0; r < f->capacity; r++)
        c[r] = NAN;
    f->cols[f->n_cols] = c;
    f->col_names[f->n_cols] = nm;
    if (col)
        *col = f->n_cols;
    f->n_cols++;
    return TSF_OK;
nomem:
    TSF_FAIL(err, TSF_ENOMEM, "out of memory adding column \"%s\"", name);
}

int tsf_frame_set_series(tsf_frame *f, size_t n_series, const char *const *ids,
                         const size_t *starts, tsf_err *err)
{
    if (n_series == 0)
        TSF_FAIL(err, TSF_EINVAL, "a frame needs at least one series");
    size_t *st = malloc((n_series + 1) * sizeof *st);
    char **id = ids ? calloc(n_series, sizeof *id) : NULL;
    if (!st || (ids && !id))
        goto nomem;
    if (starts) {
        memcpy(st, starts, (n_series + 1) * sizeof *st);
    } else {
        if (n_series != 1) {
            free(st);
            free(id);
            TSF_FAIL(err, TSF_EINVAL, "%zu series need row offsets", n_series);
        }
        st[0] = 0;
        st[1] = f->n_rows;
    }
    for (size_t s = 0; ids && s < n_series; s++)
        if (!(id[s] = tsf__strdup(ids[s] ? ids[s] : "", err)))
            goto nomem;
    tsf__free_strings(f->series_ids, f->series_ids ? f->n_series : 0);
    free(f->series_start);
    if (n_series != f->n_series) { /* per-series frequencies no longer match: keep the common */
        free(f->series_freq);
        f->series_freq = NULL;
    }
    f->series_ids = id;
    f->series_start = st;
    f->n_series = n_series;
    return TSF_OK;
nomem:
    free(st);
    tsf__free_strings(id, n_series);
    TSF_FAIL(err, TSF_ENOMEM, "out of memory setting %zu series", n_series);
}

int tsf_frame_set_time_name(tsf_frame *f, const char *name, tsf_err *err)
{
    char *nm = NULL;
    if (name && !(nm = tsf__strdup(name, err)))
        return TSF_ENOMEM;
    free(f->time_name);
    f->time_name = nm;
    return TSF_OK;
}

int tsf_frame_set_tz(tsf_frame *f, const char *tz, tsf_err *err)
{
    char *z = NULL;
    if (tz && !(z = tsf__strdup(tz, err)))
        return TSF_ENOMEM;
    free(f->tz);
    f->tz = z;
    return TSF_OK;
}

int tsf_frame_copy_rows(tsf_frame **out, const tsf_frame *f, size_t row0, size_t n, tsf_err *err)
{
    *out = NULL;
    if (row0 > f->n_rows || n > f->n_rows - row0)
        TSF_FAIL(err, TSF_EINVAL, "rows [%zu, %zu) are outside the frame's %zu rows", row0,
                 row0 + n, f->n_rows);
    tsf_frame *c = NULL;
    int rc = tsf_frame_alloc(&c, f->n_cols, (const char *const *)f->col_names, n, err);
    if (rc != TSF_OK)
        return rc;
    c->n_rows = n;
    c->time_kind = f->time_kind;
    c->step = f->step;
    c->freq = f->freq;
    if (n) {
        memcpy(c->time, f->time + row0, n * sizeof *c->time);
        for (size_t j = 0; j < f->n_cols; j++)
            memcpy(c->cols[j], f->cols[j] + row0, n * sizeof(double));
    }
    /* Keep the series that overlap [row0, row0 + n), with offsets clipped and shifted. */
    size_t n_keep = 0, first = 0;
    for (size_t s = 0; s < f->n_series; s++) {
        size_t a = f->series_start[s], b = f->series_start[s + 1];
        if (b > row0 && a < row0 + n) {
            if (!n_keep)
                first = s;
            n_keep++;
        }
    }
    if (n_keep == 0) {
        n_keep = 1;
        first = 0;
    }
    size_t *starts = malloc((n_keep + 1) * sizeof *starts);
    if (!starts) {
        tsf_frame_free(c);
        TSF_FAIL(err, TSF_ENOMEM, "out of memory copying %zu series", n_keep);
    }
    for (size_t k = 0; k < n_keep; k++) {
        size_t a = f->series_start[first + k];
        starts[k] = a > row0 ? a - row0 : 0;
    }
    starts[0] = 0;
    starts[n_keep] = n;
    rc = tsf_frame_set_series(
        c, n_keep, f->series_ids ? (const char *const *)f->series_ids + first : NULL, starts, err);
    free(starts);
    if (rc == TSF_OK)
        rc = tsf_frame_set_time_name(c, f->time_name, err);
    if (rc == TSF_OK)
        rc = tsf_frame_set_tz(c, f->tz, err);
    if (rc == TSF_OK && f->id_name && !(c->id_name = tsf__strdup(f->id_name, err)))
        rc = TSF_ENOMEM;
    if (rc == TSF_OK && f->series_freq) {
        if (!(c->series_freq = malloc(n_keep * sizeof *c->series_freq)))
            rc = tsf_err_set(err, TSF_ENOMEM, "out of memory copying %zu series", n_keep);
        else
            memcpy(c->series_freq, f->series_freq + first, n_keep * sizeof *c->series_freq);
    }
    if (rc != TSF_OK) {
        tsf_frame_free(c);
        return rc;
    }
    *out = c;
    return TSF_OK;
}

size_t tsf_frame_col_index(const tsf_frame *f, const char *name)
{
    for (size_t j = 0; j < f->n_cols; j++)
        if (strcmp(f->col_names[j], name) == 0)
            return j;
    return (size_t)-1;
}

size_t tsf_frame_series_rows(const tsf_frame *f, size_t s, size_t *row0)
{
    if (row0)
        *row0 = f->series_start[s];
    return f->series_start[s + 1] - f->series_start[s];
}

static void stats_range(const double *x, size_t n, tsf_col_stats *out)
{
    tsf__ksum sum = {0, 0};
    size_t count = 0;
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        double v = x[i];
        if (isnan(v))
            continue;
        count++;
        tsf__ksum_add(&sum, v);
        if (v < lo)
            lo = v;
        if (v > hi)
            hi = v;
    }
    out->count = count;
    out->missing = n - count;
    if (!count) {
        out->min = out->mean = out->max = out->std = NAN;
        return;
    }
    /* With an infinite value the compensation term becomes inf - inf = NaN: the mean is then
     * what plain summation gives (+-inf, or NaN for both signs), as in numpy and pandas. */
    double total = tsf__ksum_value(&sum);
    if (isnan(total) && !isnan(sum.sum))
        total = sum.sum;
    double mean = total / (double)count;
    /* Two-pass variance: sum of squared deviations from the (compensated) mean. */
    tsf__ksum ss = {0, 0};
    for (size_t i = 0; i < n; i++)
        if (!isnan(x[i]))
            tsf__ksum_add(&ss, (x[i] - mean) * (x[i] - mean));
    out->min = lo;
    out->max = hi;
    out->mean = mean;
    out->std = sqrt(tsf__ksum_value(&ss) / (double)count);
}

void tsf_frame_col_stats(const tsf_frame *f, size_t col, tsf_col_stats *out)
{
    stats_range(f->cols[col], f->n_rows, out);
}

void tsf_frame_series_stats(const tsf_frame *f, size_t col, size_t s, tsf_col_stats *out)
{
    size_t r0, n = tsf_frame_series_rows(f, s, &r0);
    stats_range(f->cols[col] + r0, n, out);
}
