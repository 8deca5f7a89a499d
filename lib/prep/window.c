/* Windows over a frame: only origins are stored; tsf_windows_gather copies a batch into the
 * float tensors the network reads. Calendar features are computed from timestamps on the fly
 * (Informer's time features), so nothing grows with lookback x windows. */
#include <assert.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tsflow/frame.h"
#include "tsflow/tz.h"
#include "tsflow/window.h"
#include "core.h"

/* ---- Calendar features -------------------------------------------------------------------- */

size_t tsf_calendar_features(unsigned flags, int64_t t, float *out)
{
    int64_t days = t / TSF_US_PER_DAY - (t % TSF_US_PER_DAY < 0);
    int64_t sod = (t - days * TSF_US_PER_DAY) / TSF_US_PER_S; /* whole seconds of the day */
    int64_t y;
    unsigned m, d;
    tsf__civil_from_days(days, &y, &m, &d);
    static const unsigned before[12] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
    unsigned doy = before[m - 1] + d + (m > 2 && tsf__is_leap(y)); /* 1-based */
    /* 1970-01-01 was a Thursday: Monday = 0 makes it 3. */
    int64_t dow = ((days + 3) % 7 + 7) % 7;
    size_t n = 0;
    if (flags & TSF_CAL_MINUTE)
        out[n++] = (float)((double)((sod % 3600) / 60) / 59.0 - 0.5);
    if (flags & TSF_CAL_HOUR)
        out[n++] = (float)((double)(sod / 3600) / 23.0 - 0.5);
    if (flags & TSF_CAL_DAY_OF_WEEK)
        out[n++] = (float)((double)dow / 6.0 - 0.5);
    if (flags & TSF_CAL_DAY_OF_MONTH)
        out[n++] = (float)((double)(d - 1) / 30.0 - 0.5);
    if (flags & TSF_CAL_DAY_OF_YEAR)
        out[n++] = (float)((double)(doy - 1) / 365.0 - 0.5);
    if (flags & TSF_CAL_MONTH)
        out[n++] = (float)((double)(m - 1) / 11.0 - 0.5);
    return n;
}

int64_t tsf_series_time_at(const tsf_frame *f, size_t s, size_t row)
{
    size_t end = f->series_start[s + 1];
    if (row < end)
        return f->time[row];
    /* past the end: periods of the series' frequency, on the calendar (month starts stay
     * month starts), or steps of an integer index */
    const tsf_freq *q = tsf_frame_series_freq(f, s);
    if (f->time_kind == TSF_TIME_EPOCH && q->unit != TSF_FREQ_NONE)
        return tsf_tz_freq_add(f->tz ? tsf_tz_cached(f->tz) : NULL, q, f->time[end - 1],
                               (int64_t)(row - end + 1));
    return f->time[end - 1] + (int64_t)(row - end + 1) * f->step;
}

/* ---- Making windows ----------------------------------------------------------------------- */

/* Calendar features describe the local clock: hour 8 in Berlin is 8, whatever UTC says. */
static int64_t local_time(const tsf_tz *z, int64_t t)
{
    return z ? t + tsf_tz_offset(z, t) * TSF_US_PER_S : t;
}

static const unsigned all_calendar = TSF_CAL_MINUTE | TSF_CAL_HOUR | TSF_CAL_DAY_OF_WEEK |
                                     TSF_CAL_DAY_OF_MONTH | TSF_CAL_DAY_OF_YEAR | TSF_CAL_MONTH;

void tsf_windows_free(tsf_windows *w)
{
    if (!w)
        return;
    free((void *)w->spec.target_cols);
    free((void *)w->spec.past_cols);
    free((void *)w->spec.future_cols);
    free(w->origin);
    free(w->series);
    free(w);
}

static int copy_cols(const size_t **dst, const size_t *src, size_t n, tsf_err *err)
{
    *dst = NULL;
    if (!n)
        return TSF_OK;
    size_t *c = malloc(n * sizeof *c);
    if (!c)
        TSF_FAIL(err, TSF_ENOMEM, "windows: out of memory");
    memcpy(c, src, n * sizeof *c);
    *dst = c;
    return TSF_OK;
}

static int check_cols(const tsf_frame *f, const size_t *cols, size_t n, const char *what,
                      tsf_err *err)
{
    if (n && !cols)
        TSF_FAIL(err, TSF_EINVAL, "windows: %zu %s columns given but no list", n, what);
    for (size_t k = 0; k < n; k++)
        if (cols[k] >= f->n_cols)
            TSF_FAIL(err, TSF_EINVAL, "windows: %s column %zu does not exist (the frame has %zu)",
                     what, cols[k], f->n_cols);
    return TSF_OK;
}

/* Validate spec, allocate the windows object with its copied spec and derived sizes. */
static int windows_new(tsf_windows **out, const tsf_frame *f, const tsf_window_spec *spec,
                       size_t n_windows, tsf_err *err)
{
    *out = NULL;
    tsf_windows *w = calloc(1, sizeof *w);
    if (!w)
        TSF_FAIL(err, TSF_ENOMEM, "windows: out of memory");
    w->frame = f;
    w->spec = *spec;
    w->spec.target_cols = w->spec.past_cols = w->spec.future_cols = NULL;
    int rc = copy_cols(&w->spec.target_cols, spec->target_cols, spec->n_targets, err);
    if (rc == TSF_OK)
        rc = copy_cols(&w->spec.past_cols, spec->past_cols, spec->n_past, err);
    if (rc == TSF_OK)
        rc = copy_cols(&w->spec.future_cols, spec->future_cols, spec->n_future, err);
    if (rc == TSF_OK) {
        w->origin = malloc((n_windows ? n_windows : 1) * sizeof *w->origin);
        w->series = malloc((n_windows ? n_windows : 1) * sizeof *w->series);
        if (!w->origin || !w->series)
            rc = tsf_err_set(err, TSF_ENOMEM, "windows: out of memory for %zu windows", n_windows);
    }
    if (rc != TSF_OK) {
        tsf_windows_free(w);
        return rc;
    }
    w->n_windows = n_windows;
    w->n_calendar = 0;
    for (unsigned b = spec->calendar; b; b &= b - 1)
        w->n_calendar++;
    size_t per = spec->channel_independent ? 1 : spec->n_targets;
    w->n_inputs = per + spec->n_past + spec->n_future + w->n_calendar;
    w->n_future_inputs = spec->n_future + w->n_calendar;
    w->n_outputs = per;
    w->n_samples = spec->channel_independent ? n_windows * spec->n_targets : n_windows;
    *out = w;
    return TSF_OK;
}

static int check_spec(const tsf_frame *f, const tsf_window_spec *spec, tsf_err *err)
{
    if (spec->lookback == 0)
        TSF_FAIL(err, TSF_EINVAL, "windows: lookback must be at least 1");
    if (spec->horizon == 0)
        TSF_FAIL(err, TSF_EINVAL, "windows: horizon must be at least 1");
    if (spec->stride == 0)
        TSF_FAIL(err, TSF_EINVAL, "windows: stride must be at least 1");
    if (spec->n_targets == 0)
        TSF_FAIL(err, TSF_EINVAL, "windows: at least one target column is needed");
    int rc = check_cols(f, spec->target_cols, spec->n_targets, "target", err);
    if (rc == TSF_OK)
        rc = check_cols(f, spec->past_cols, spec->n_past, "past covariate", err);
    if (rc == TSF_OK)
        rc = check_cols(f, spec->future_cols, spec->n_future, "future covariate", err);
    if (rc != TSF_OK)
        return rc;
    if (spec->calendar & ~all_calendar)
        TSF_FAIL(err, TSF_EINVAL, "windows: unknown calendar flags 0x%x",
                 spec->calendar & ~all_calendar);
    if (spec->calendar && f->time_kind != TSF_TIME_EPOCH)
        TSF_FAIL(err, TSF_EINVAL,
                 "windows: calendar features need timestamps, but the frame has "
                 "a plain integer index");
    return TSF_OK;
}

/* Refuse windows whose values contain NaN: inputs over [t - T, t) for every input column,
 * future covariates and targets over [t, min(t + L, series end)). One prefix count of NaN per
 * column makes each window check O(1). */
static int check_finite(const tsf_windows *w, tsf_err *err)
{
    const tsf_frame *f = w->frame;
    const tsf_window_spec *sp = &w->spec;
    size_t n_in = sp->n_targets + sp->n_past + sp->n_future;
    size_t *nan_before = malloc((f->n_rows + 1) * sizeof *nan_before);
    if (!nan_before)
        TSF_FAIL(err, TSF_ENOMEM, "windows: out of memory checking for NaN");
    int rc = TSF_OK;
    for (size_t k = 0; k < n_in && rc == TSF_OK; k++) {
        size_t col, horizon_too; /* whether the horizon rows of this column are read */
        if (k < sp->n_targets)
            col = sp->target_cols[k], horizon_too = 1;
        else if (k < sp->n_targets + sp->n_past)
            col = sp->past_cols[k - sp->n_targets], horizon_too = 0;
        else
            col = sp->future_cols[k - sp->n_targets - sp->n_past], horizon_too = 1;
        const double *x = f->cols[col];
        nan_before[0] = 0;
        for (size_t r = 0; r < f->n_rows; r++)
            nan_before[r + 1] = nan_before[r] + (isnan(x[r]) != 0);
        if (nan_before[f->n_rows] == 0)
            continue;
        for (size_t i = 0; i < w->n_windows; i++) {
            size_t t = w->origin[i], s = w->series[i], end = f->series_start[s + 1];
            size_t a = t - sp->lookback;
            size_t b = horizon_too ? (t + sp->horizon < end ? t + sp->horizon : end) : t;
            if (nan_before[b] == nan_before[a])
                continue;
            size_t r = a;
            while (!isnan(x[r]))
                r++;
            char sl[96], rl[64];
            rc = tsf_err_set(err, TSF_ENUMERIC,
                             "windows: column \"%.80s\" of %s is NaN at %s, inside the %s of the "
                             "window with origin row %zu (lookback %zu, horizon %zu); impute the "
                             "missing values first",
                             f->col_names[col], tsf_frame_series_label(f, s, sl, sizeof sl),
                             tsf_frame_row_label(f, r, rl, sizeof rl),
                             r < t ? "input" : (k < sp->n_targets ? "target" : "future input"), t,
                             sp->lookback, sp->horizon);
            break;
        }
    }
    free(nan_before);
    return rc;
}

/* First origin of series s in range [lo, hi) and the number of windows there. */
static size_t count_in_range(const tsf_frame *f, const tsf_window_spec *spec, size_t s, size_t lo,
                             size_t hi, size_t *first)
{
    size_t a = f->series_start[s], b = f->series_start[s + 1];
    if (lo < a)
        lo = a;
    if (hi > b)
        hi = b;
    size_t t0 = a + spec->lookback > lo ? a + spec->lookback : lo;
    *first = t0;
    if (hi < spec->horizon || t0 > hi - spec->horizon)
        return 0;
    return (hi - spec->horizon - t0) / spec->stride + 1;
}

int tsf_windows_make_ranges(tsf_windows **out, const tsf_frame *f, const tsf_window_spec *spec,
                            const tsf_range *ranges, int require_finite, tsf_err *err)
{
    *out = NULL;
    int rc = check_spec(f, spec, err);
    if (rc != TSF_OK)
        return rc;
    size_t total = 0;
    for (size_t s = 0; s < f->n_series; s++) {
        size_t a = f->series_start[s], b = f->series_start[s + 1];
        size_t lo = ranges[s].begin > a ? ranges[s].begin : a;
        size_t hi = ranges[s].end < b ? ranges[s].end : b;
        if (lo >= hi)
            continue; /* the range does not touch this series */
        size_t first, n = count_in_range(f, spec, s, lo, hi, &first);
        if (n == 0) {
            char sl[96];
            if (lo == a && hi == b)
                TSF_FAIL(err, TSF_EINVAL,
                         "windows: %s has %zu rows, too few for lookback %zu + horizon %zu "
                         "(%zu rows)",
                         tsf_frame_series_label(f, s, sl, sizeof sl), b - a, spec->lookback,
                         spec->horizon, spec->lookback + spec->horizon);
            TSF_FAIL(err, TSF_EINVAL,
                     "windows: no window of %s fits in rows [%zu, %zu): the first origin is "
                     "row %zu (lookback %zu after the series' first row %zu) and its horizon "
                     "%zu would end at row %zu",
                     tsf_frame_series_label(f, s, sl, sizeof sl), lo, hi, first, spec->lookback, a,
                     spec->horizon, first + spec->horizon);
        }
        total += n;
    }
    if (total == 0)
        TSF_FAIL(err, TSF_EINVAL, "windows: the row ranges hold no rows of any series");
    tsf_windows *w;
    rc = windows_new(&w, f, spec, total, err);
    if (rc != TSF_OK)
        return rc;
    size_t i = 0;
    for (size_t s = 0; s < f->n_series; s++) {
        size_t a = f->series_start[s], b = f->series_start[s + 1];
        size_t lo = ranges[s].begin > a ? ranges[s].begin : a;
        size_t hi = ranges[s].end < b ? ranges[s].end : b;
        if (lo >= hi)
            continue;
        size_t first, n = count_in_range(f, spec, s, lo, hi, &first);
        for (size_t k = 0; k < n; k++, i++) {
            w->origin[i] = first + k * spec->stride;
            w->series[i] = s;
        }
    }
    assert(i == total);
    if (require_finite && (rc = check_finite(w, err)) != TSF_OK) {
        tsf_windows_free(w);
        return rc;
    }
    *out = w;
    return TSF_OK;
}

int tsf_windows_make(tsf_windows **out, const tsf_frame *f, const tsf_window_spec *spec,
                     size_t row_begin, size_t row_end, int require_finite, tsf_err *err)
{
    *out = NULL;
    if (row_begin >= row_end || row_begin >= f->n_rows)
        TSF_FAIL(err, TSF_EINVAL, "windows: rows [%zu, %zu) hold none of the frame's %zu rows",
                 row_begin, row_end, f->n_rows);
    tsf_range *r = malloc(f->n_series * sizeof *r);
    if (!r)
        TSF_FAIL(err, TSF_ENOMEM, "windows: out of memory");
    for (size_t s = 0; s < f->n_series; s++)
        r[s] = (tsf_range){row_begin, row_end};
    int rc = tsf_windows_make_ranges(out, f, spec, r, require_finite, err);
    free(r);
    return rc;
}

int tsf_windows_make_at(tsf_windows **out, const tsf_frame *f, const tsf_window_spec *spec,
                        const size_t *series, const size_t *origins, size_t n, int require_finite,
                        tsf_err *err)
{
    *out = NULL;
    int rc = check_spec(f, spec, err);
    if (rc != TSF_OK)
        return rc;
    for (size_t k = 0; k < n; k++) {
        size_t s = series[k], t = origins[k];
        char sl[96];
        if (s >= f->n_series)
            TSF_FAIL(err, TSF_EINVAL, "windows: window %zu names series %zu of %zu", k, s,
                     f->n_series);
        size_t a = f->series_start[s], b = f->series_start[s + 1];
        if (t < a + spec->lookback || t > b)
            TSF_FAIL(err, TSF_EINVAL,
                     "windows: origin row %zu of %s (rows [%zu, %zu)) leaves no room for "
                     "lookback %zu (expected an origin in [%zu, %zu])",
                     t, tsf_frame_series_label(f, s, sl, sizeof sl), a, b, spec->lookback,
                     a + spec->lookback, b);
        if (t + spec->horizon > b) {
            if (spec->n_future)
                TSF_FAIL(err, TSF_EINVAL,
                         "windows: the horizon of origin row %zu of %s runs %zu rows past the "
                         "data, where the known-future covariates have no values",
                         t, tsf_frame_series_label(f, s, sl, sizeof sl), t + spec->horizon - b);
            if (spec->calendar && f->step <= 0)
                TSF_FAIL(err, TSF_EINVAL,
                         "windows: the horizon of origin row %zu of %s runs past the data and "
                         "the frame has no regular time step to extend its calendar",
                         t, tsf_frame_series_label(f, s, sl, sizeof sl));
        }
    }
    tsf_windows *w;
    rc = windows_new(&w, f, spec, n, err);
    if (rc != TSF_OK)
        return rc;
    for (size_t k = 0; k < n; k++) {
        w->origin[k] = origins[k];
        w->series[k] = series[k];
    }
    if (require_finite && (rc = check_finite(w, err)) != TSF_OK) {
        tsf_windows_free(w);
        return rc;
    }
    *out = w;
    return TSF_OK;
}

/* ---- Gathering ---------------------------------------------------------------------------- */

void tsf_windows_sample_info(const tsf_windows *w, size_t k, size_t *series, size_t *origin_row,
                             size_t *target)
{
    assert(k < w->n_samples);
    size_t i = w->spec.channel_independent ? k / w->spec.n_targets : k;
    if (series)
        *series = w->series[i];
    if (origin_row)
        *origin_row = w->origin[i];
    if (target)
        *target = w->spec.channel_independent ? k % w->spec.n_targets : SIZE_MAX;
}

void tsf_windows_gather(const tsf_windows *w, const size_t *idx, size_t B, float *x, float *xf,
                        float *y)
{
    const tsf_frame *f = w->frame;
    const tsf_window_spec *sp = &w->spec;
    const size_t T = sp->lookback, L = sp->horizon, I = w->n_inputs, F = w->n_future_inputs;
    const size_t O = w->n_outputs;
    const int ci = sp->channel_independent;
    const tsf_tz *z = sp->calendar && f->tz ? tsf_tz_cached(f->tz) : NULL;
    assert(F == 0 || xf);
    for (size_t b = 0; b < B; b++) {
        assert(idx[b] < w->n_samples);
        size_t i = ci ? idx[b] / sp->n_targets : idx[b];
        size_t t0 = w->origin[i], s = w->series[i], end = f->series_start[s + 1];
        const size_t *tcols = ci ? sp->target_cols + idx[b] % sp->n_targets : sp->target_cols;
        /* x: (T, B, I) = targets | past | future | calendar over rows [t0 - T, t0) */
        for (size_t t = 0; t < T; t++) {
            size_t r = t0 - T + t;
            float *xp = x + (t * B + b) * I;
            for (size_t o = 0; o < O; o++)
                *xp++ = (float)f->cols[tcols[o]][r];
            for (size_t k = 0; k < sp->n_past; k++)
                *xp++ = (float)f->cols[sp->past_cols[k]][r];
            for (size_t k = 0; k < sp->n_future; k++)
                *xp++ = (float)f->cols[sp->future_cols[k]][r];
            if (sp->calendar)
                tsf_calendar_features(sp->calendar, local_time(z, f->time[r]), xp);
        }
        /* xf: (L, B, F) = future | calendar over rows [t0, t0 + L) */
        for (size_t h = 0; F && h < L; h++) {
            size_t r = t0 + h;
            float *xp = xf + (h * B + b) * F;
            for (size_t k = 0; k < sp->n_future; k++)
                *xp++ = (float)f->cols[sp->future_cols[k]][r];
            if (sp->calendar)
                tsf_calendar_features(sp->calendar, local_time(z, tsf_series_time_at(f, s, r)), xp);
        }
        /* y: (L, B, O) targets over the horizon; NaN past the data (predict beyond the end) */
        for (size_t h = 0; y && h < L; h++) {
            size_t r = t0 + h;
            float *yp = y + (h * B + b) * O;
            for (size_t o = 0; o < O; o++)
                yp[o] = r < end ? (float)f->cols[tcols[o]][r] : NAN;
        }
    }
}
