/* The backtest's fold layout: origins as row offsets per series, or cutoff instants shared by
 * all series on their common frequency, resolved into the rows every (fold, series) history
 * and fit window holds. Computed once, before any fit; the engine only iterates it. See
 * tsflow/backtest.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tsflow/backtest.h"

void tsf_backtest_layout_free(tsf_backtest_layout *lay)
{
    if (!lay)
        return;
    free(lay->folds);
    free(lay->fit_fold);
    free(lay->fold_fit);
    free(lay->head);
    free(lay->fit);
    free(lay->take);
    free(lay->skipped);
    free(lay);
}

size_t tsf_backtest_span(const tsf_frame *f, const tsf_backtest_spec *spec)
{
    size_t span = 0;
    for (size_t s = 0; s < f->n_series; s++) {
        size_t n = f->series_start[s + 1] - f->series_start[s];
        if (spec->end && spec->end < n)
            n = spec->end;
        span = n > span ? n : span;
    }
    return span;
}

static size_t first_of(const tsf_backtest_spec *spec)
{
    return spec->first_origin ? spec->first_origin : spec->train_length;
}

void tsf_backtest_count(const tsf_backtest_spec *spec, size_t span, size_t *n_folds, size_t *n_fits)
{
    size_t first = first_of(spec);
    size_t F =
        first + spec->horizon <= span ? (span - spec->horizon - first) / spec->stride + 1 : 0;
    *n_folds = F;
    *n_fits = spec->retrain == 0 ? 1 : (F + spec->retrain - 1) / spec->retrain;
}

/* Folds, fits and the (fold, series) arrays for F folds starting at period/row `first`. */
static int alloc_folds(tsf_backtest_layout *lay, const tsf_backtest_spec *sp, size_t first,
                       size_t span, size_t S, tsf_err *err)
{
    tsf_backtest_spec c = *sp;
    c.first_origin = first;
    size_t F, G, R = sp->retrain;
    tsf_backtest_count(&c, span, &F, &G);
    lay->n_folds = F;
    lay->n_fits = G;
    lay->n_series = S;
    size_t FS = F * S > 0 ? F * S : 1;
    lay->folds = calloc(F ? F : 1, sizeof *lay->folds);
    lay->fit_fold = calloc(G ? G : 1, sizeof *lay->fit_fold);
    lay->fold_fit = calloc(F ? F : 1, sizeof *lay->fold_fit);
    lay->head = calloc(FS, sizeof *lay->head);
    lay->fit = calloc(FS, sizeof *lay->fit);
    lay->take = calloc(FS, sizeof *lay->take);
    if (!lay->folds || !lay->fit_fold || !lay->fold_fit || !lay->head || !lay->fit || !lay->take)
        TSF_FAIL(err, TSF_ENOMEM, "backtest: out of memory for %zu folds", F);
    for (size_t g = 0; g < G; g++)
        lay->fit_fold[g] = R == 0 ? 0 : g * R;
    for (size_t k = 0; k < F; k++) {
        tsf_fold *fd = &lay->folds[k];
        fd->origin = first + k * sp->stride;
        lay->fold_fit[k] = R == 0 ? 0 : k / R;
        fd->fit_fold = lay->fit_fold[lay->fold_fit[k]];
        size_t go = first + fd->fit_fold * sp->stride; /* origin of the fitting fold */
        fd->fit_end = go;
        fd->fit_begin =
            sp->window == TSF_WINDOW_SLIDING && go > sp->train_length ? go - sp->train_length : 0;
        fd->cutoff = INT64_MIN;
    }
    return TSF_OK;
}

/* ---- Row offsets ---------------------------------------------------------------------------- */

static int layout_rows(tsf_backtest_layout *lay, const tsf_frame *f, const tsf_backtest_spec *sp,
                       tsf_err *err)
{
    size_t first = first_of(sp), max_end = tsf_backtest_span(f, sp), S = f->n_series;
    if (first + sp->horizon > max_end) {
        char cure[96];
        if (max_end > sp->horizon)
            snprintf(cure, sizeof cure, "%s at most %zu",
                     sp->first_origin ? "first_origin" : "train_length", max_end - sp->horizon);
        else
            snprintf(cure, sizeof cure, "a horizon shorter than %zu", max_end);
        TSF_FAIL(err, TSF_EINVAL,
                 "backtest: the first origin (row %zu) plus horizon %zu is past the end of every "
                 "series (longest: %zu rows%s) (expected first origin + horizon <= %zu: %s)",
                 first, sp->horizon, max_end, sp->end ? ", after end" : "", max_end, cure);
    }
    int rc = alloc_folds(lay, sp, first, max_end, S, err);
    if (rc != TSF_OK)
        return rc;
    for (size_t k = 0; k < lay->n_folds; k++) {
        tsf_fold *fd = &lay->folds[k];
        for (size_t s = 0; s < S; s++) {
            size_t a = f->series_start[s], n = f->series_start[s + 1] - a, i = k * S + s;
            size_t end = sp->end && sp->end < n ? sp->end : n;
            lay->head[i] = fd->origin < n ? fd->origin : n;
            lay->fit[i].begin = fd->fit_begin < n ? fd->fit_begin : n;
            lay->fit[i].end = fd->fit_end < n ? fd->fit_end : n;
            if (fd->origin + sp->horizon > end)
                continue;
            lay->take[i] = 1;
            fd->n_series++;
            int64_t c = f->time[a + fd->origin - 1];
            fd->cutoff = c > fd->cutoff ? c : fd->cutoff;
        }
    }
    return TSF_OK;
}

/* ---- Cutoff times ------------------------------------------------------------------------- */

/* Rows of t (n, increasing) at or before x. */
static size_t count_le(const int64_t *t, size_t n, int64_t x)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t[mid] <= x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Rows of t before x. */
static size_t count_lt(const int64_t *t, size_t n, int64_t x)
{
    return x == INT64_MIN ? 0 : count_le(t, n, x - 1);
}

/* The frequency every series steps on; errors name two series that differ. */
static int common_freq(const tsf_frame *f, tsf_freq *q, tsf_err *err)
{
    if (f->time_kind != TSF_TIME_EPOCH)
        TSF_FAIL(err, TSF_EINVAL,
                 "backtest: origins = times needs timestamps, but the data has an integer index "
                 "(expected origins = rows)");
    *q = *tsf_frame_series_freq(f, 0);
    for (size_t s = 0; s < f->n_series; s++) {
        const tsf_freq *qs = tsf_frame_series_freq(f, s);
        char a[96], b[96], fa[24], fb[24];
        if (qs->unit == TSF_FREQ_NONE)
            TSF_FAIL(err, TSF_EINVAL,
                     "backtest: origins = times needs the data's frequency, but %s has none (too "
                     "few rows or irregular times; expected origins = rows, or freq given)",
                     tsf_frame_series_label(f, s, a, sizeof a));
        if (!tsf_freq_equal(qs, q))
            TSF_FAIL(
                err, TSF_EINVAL,
                "backtest: origins = times needs one frequency, but %s has %s and %s has %s "
                "(expected series on one calendar, or origins = rows)",
                tsf_frame_series_label(f, 0, a, sizeof a), tsf_freq_format(q, 0, fa, sizeof fa),
                tsf_frame_series_label(f, s, b, sizeof b), tsf_freq_format(qs, 0, fb, sizeof fb));
    }
    return TSF_OK;
}

/* Months in a month-like unit, 0 for others. */
static int64_t months_of(const tsf_freq *d)
{
    switch (d->unit) {
    case TSF_FREQ_MONTH_START:
    case TSF_FREQ_MONTH_END:
        return d->n;
    case TSF_FREQ_QUARTER_START:
    case TSF_FREQ_QUARTER_END:
        return 3 * d->n;
    case TSF_FREQ_YEAR_START:
    case TSF_FREQ_YEAR_END:
        return 12 * d->n;
    default:
        return 0;
    }
}

/* Microseconds in a fixed-length unit (weeks are 7 days whatever their anchor), 0 for others. */
static int64_t us_of(const tsf_freq *d)
{
    return d->unit == TSF_FREQ_FIXED  ? d->n
           : d->unit == TSF_FREQ_WEEK ? d->n * 7 * TSF_US_PER_DAY
                                      : 0;
}

/* train_length given as a duration d, in whole periods of q. */
static int span_periods(const tsf_freq *d, const tsf_freq *q, size_t *out, tsf_err *err)
{
    int64_t a = 0, b = 0;
    if (us_of(d) && us_of(q))
        a = us_of(d), b = us_of(q);
    else if (months_of(d) && months_of(q))
        a = months_of(d), b = months_of(q);
    else if (d->unit == TSF_FREQ_BDAY && q->unit == TSF_FREQ_BDAY)
        a = d->n, b = q->n;
    if (b == 0 || a % b != 0 || a / b == 0) {
        char fd[24], fq[24];
        TSF_FAIL(err, TSF_EINVAL,
                 "backtest: train_length %s is not a whole number of periods of the data's "
                 "frequency %s (expected a number of periods, or a duration that is a multiple "
                 "of %s)",
                 tsf_freq_format(d, 0, fd, sizeof fd), tsf_freq_format(q, 0, fq, sizeof fq), fq);
    }
    *out = (size_t)(a / b);
    return TSF_OK;
}

/* Period k of the grid from t (on the zone's calendar), and a time as messages show it. */
static int64_t grid_add(const tsf_backtest_layout *lay, int64_t t, int64_t k)
{
    return tsf_tz_freq_add(lay->tz, &lay->freq, t, k);
}

static char *grid_text(const tsf_backtest_layout *lay, int64_t t, char *buf, size_t n)
{
    return lay->tz ? tsf_tz_format(lay->tz, t, buf, n) : tsf_time_format(TSF_TIME_EPOCH, t, buf, n);
}

/* The end given as an instant, in periods from t0: the periods before it. */
static int end_period(const tsf_backtest_layout *lay, const tsf_backtest_spec *sp, int64_t tl,
                      size_t *end, tsf_err *err)
{
    *end = sp->end;
    if (!sp->has_end_time)
        return TSF_OK;
    char t[48], s0[48], s1[48];
    grid_text(lay, sp->end_time, t, sizeof t);
    grid_text(lay, lay->t0, s0, sizeof s0);
    int64_t after = grid_add(lay, tl, 1);
    grid_text(lay, after, s1, sizeof s1);
    if (sp->end_time <= lay->t0 || sp->end_time > after)
        TSF_FAIL(err, TSF_EINVAL,
                 "backtest: end %s is outside the data, which runs from %s to %s (expected a "
                 "time after the first instant and at most the period after the last: forecasts "
                 "are for times before end)",
                 t, s0, s1);
    int64_t k;
    int exact = tsf_tz_freq_count(lay->tz, &lay->freq, lay->t0, sp->end_time, &k);
    *end = (size_t)(exact ? k : k + 1);
    return TSF_OK;
}

/* The first origin as a period of the grid from t0. */
static int first_period(const tsf_backtest_layout *lay, const tsf_backtest_spec *sp, size_t train,
                        size_t *first, tsf_err *err)
{
    if (!sp->has_first_origin_time) {
        *first = sp->first_origin ? sp->first_origin : train;
        if (*first == 0)
            TSF_FAIL(err, TSF_EINVAL,
                     "backtest: train_length (or first_origin) must be at least 1");
        return TSF_OK;
    }
    int64_t k;
    char t[48], s0[48], tn[48], fq[24];
    int exact = tsf_tz_freq_count(lay->tz, &lay->freq, lay->t0, sp->first_origin_time, &k);
    grid_text(lay, sp->first_origin_time, t, sizeof t);
    grid_text(lay, lay->t0, s0, sizeof s0);
    tsf_freq_format(&lay->freq, 0, fq, sizeof fq);
    if (sp->first_origin_time <= lay->t0)
        TSF_FAIL(err, TSF_EINVAL,
                 "backtest: first_origin %s is not after the first instant of the data, %s "
                 "(expected a later time: the rows before it are the first fit's)",
                 t, s0);
    if (!exact)
        TSF_FAIL(err, TSF_EINVAL,
                 "backtest: first_origin %s is not a period of the data's frequency %s counted "
                 "from %s (expected %s or the next period)",
                 t, fq, s0, grid_text(lay, grid_add(lay, lay->t0, k), tn, sizeof tn));
    *first = (size_t)k;
    return TSF_OK;
}

/* Series s at fold k: its history and fit rows, and whether it is forecast there. */
static int place_series(tsf_backtest_layout *lay, const tsf_frame *f, const tsf_backtest_spec *sp,
                        size_t k, size_t s, size_t need, tsf_err *err)
{
    const tsf_fold *fd = &lay->folds[k];
    size_t a = f->series_start[s], n = f->series_start[s + 1] - a, i = k * lay->n_series + s;
    const int64_t *t = f->time + a;
    size_t head = count_le(t, n, fd->cutoff);
    const tsf_fold *gd = &lay->folds[fd->fit_fold];
    lay->head[i] = head;
    lay->fit[i].end = count_le(t, n, gd->cutoff);
    lay->fit[i].begin =
        fd->fit_begin ? count_lt(t, lay->fit[i].end, grid_add(lay, lay->t0, (int64_t)fd->fit_begin))
                      : 0;
    size_t n_end = sp->end ? count_lt(t, n, grid_add(lay, lay->t0, (int64_t)sp->end)) : n;
    /* forecast from the period after the cutoff over the next horizon rows */
    if (n_end < head + sp->horizon || t[head] > grid_add(lay, fd->cutoff, 1))
        return TSF_OK;
    if (head < need) {
        if (lay->n_skipped % 64 == 0) {
            tsf_fold_skip *p = realloc(lay->skipped, (lay->n_skipped + 64) * sizeof *p);
            if (!p)
                TSF_FAIL(err, TSF_ENOMEM, "backtest: out of memory");
            lay->skipped = p;
        }
        lay->skipped[lay->n_skipped++] = (tsf_fold_skip){k, s, head, need};
        lay->folds[k].n_skipped++;
        return TSF_OK;
    }
    lay->take[i] = 1;
    lay->folds[k].n_series++;
    return TSF_OK;
}

static int layout_times(tsf_backtest_layout *lay, const tsf_frame *f, const tsf_backtest_spec *sp,
                        size_t need, tsf_err *err)
{
    int rc = common_freq(f, &lay->freq, err);
    if (rc != TSF_OK)
        return rc;
    const tsf_freq *q = &lay->freq;
    int64_t t0 = INT64_MAX, tl = INT64_MIN;
    for (size_t s = 0; s < f->n_series; s++) {
        size_t a = f->series_start[s], b = f->series_start[s + 1];
        if (a == b)
            continue;
        t0 = f->time[a] < t0 ? f->time[a] : t0;
        tl = f->time[b - 1] > tl ? f->time[b - 1] : tl;
    }
    if (t0 == INT64_MAX)
        TSF_FAIL(err, TSF_EINVAL, "backtest: the data has no rows");
    lay->t0 = t0;
    lay->tz = f->tz ? tsf_tz_cached(f->tz) : NULL;
    tsf_backtest_spec c = *sp; /* train_length, the first origin and the end in periods */
    if ((rc = end_period(lay, sp, tl, &c.end, err)) != TSF_OK)
        return rc;
    sp = &c;
    if (sp->train_span.unit != TSF_FREQ_NONE &&
        (rc = span_periods(&sp->train_span, q, &c.train_length, err)) != TSF_OK)
        return rc;
    size_t first;
    if ((rc = first_period(lay, &c, c.train_length, &first, err)) != TSF_OK)
        return rc;
    int64_t last;
    tsf_tz_freq_count(lay->tz, q, t0, tl, &last);
    size_t span = (size_t)last + 1;
    if (sp->end && sp->end < span)
        span = sp->end;
    if (first + sp->horizon > span) {
        char tf[48], te[48], ts[48], cure[96];
        const char *key =
            sp->has_first_origin_time || sp->first_origin ? "first_origin" : "train_length";
        grid_text(lay, grid_add(lay, t0, (int64_t)first), tf, sizeof tf);
        grid_text(lay, grid_add(lay, t0, (int64_t)span - 1), te, sizeof te);
        grid_text(lay, t0, ts, sizeof ts);
        if (span > sp->horizon && sp->has_first_origin_time) {
            char tm[48];
            grid_text(lay, grid_add(lay, t0, (int64_t)(span - sp->horizon)), tm, sizeof tm);
            snprintf(cure, sizeof cure, "first_origin at most %s", tm);
        } else if (span > sp->horizon) {
            snprintf(cure, sizeof cure, "%s at most %zu", key, span - sp->horizon);
        } else {
            snprintf(cure, sizeof cure, "a horizon shorter than %zu", span);
        }
        TSF_FAIL(err, TSF_EINVAL,
                 "backtest: the first origin %s (period %zu from %s) plus horizon %zu is past "
                 "the last period of every series, %s%s (expected first origin + horizon <= %zu "
                 "periods: %s)",
                 tf, first, ts, sp->horizon, te, sp->end ? " (end)" : "", span, cure);
    }
    if ((rc = alloc_folds(lay, &c, first, span, f->n_series, err)) != TSF_OK)
        return rc;
    for (size_t k = 0; k < lay->n_folds; k++)
        lay->folds[k].cutoff = grid_add(lay, t0, (int64_t)lay->folds[k].origin - 1);
    for (size_t k = 0; k < lay->n_folds; k++)
        for (size_t s = 0; s < f->n_series; s++)
            if ((rc = place_series(lay, f, sp, k, s, need, err)) != TSF_OK)
                return rc;
    size_t taken = 0;
    for (size_t k = 0; k < lay->n_folds; k++)
        taken += lay->folds[k].n_series;
    if (taken == 0)
        TSF_FAIL(err, TSF_EINVAL,
                 "backtest: no series is forecast at any of the %zu cutoffs (%zu times a series "
                 "had fewer than the %zu rows of history the models need; expected a later "
                 "first_origin)",
                 lay->n_folds, lay->n_skipped, need);
    return TSF_OK;
}

int tsf_backtest_layout_make(tsf_backtest_layout **out, const tsf_frame *f,
                             const tsf_backtest_spec *spec, const tsf_forecaster *models,
                             size_t n_models, tsf_err *err)
{
    *out = NULL;
    tsf_backtest_layout *lay = calloc(1, sizeof *lay);
    if (!lay)
        TSF_FAIL(err, TSF_ENOMEM, "backtest: out of memory");
    lay->origins = spec->origins;
    size_t need = 1;
    for (size_t m = 0; m < n_models; m++)
        need = models[m].min_history > need ? models[m].min_history : need;
    int rc = spec->origins == TSF_ORIGINS_TIMES ? layout_times(lay, f, spec, need, err)
                                                : layout_rows(lay, f, spec, err);
    if (rc != TSF_OK) {
        tsf_backtest_layout_free(lay);
        return rc;
    }
    *out = lay;
    return TSF_OK;
}
