/* Seasonal adjustment of a trained model (tsflow/rnn_model.h's tsf_model_seasonal), and the
 * per-series rule it shares with backtest refits (seasonal_internal.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seasonal_internal.h"
#include "tsflow/rnn_forecaster.h"
#include "tsflow/rnn_model.h"

int tsf__seasonal_fit_rows(tsf_seasonal *d, const double *y, size_t n, size_t t0, size_t m,
                           size_t lookback, size_t horizon, tsf_deseason mode, tsf_err *err)
{
    tsf_seasonal fitted;
    size_t windows = n + 1 > lookback + horizon ? n + 1 - lookback - horizon : 0;
    int enough = mode == TSF_DESEASON_AUTO && windows >= TSF_RNN_DESEASON_MAX_WINDOWS;
    int rc = tsf_seasonal_fit(&fitted, y, n, m, enough ? TSF_DESEASON_NONE : mode, err);
    if (rc != TSF_OK)
        return rc;
    if (enough)
        snprintf(fitted.why, sizeof fitted.why, "none (%zu windows: enough to learn the season)",
                 windows);
    /* index[p] is of fitted row p, i.e. of series row t0 + p */
    *d = fitted;
    for (size_t p = 0; fitted.kind != TSF_DESEASON_NONE && p < fitted.m; p++)
        d->index[(t0 + p) % fitted.m] = fitted.index[p];
    return TSF_OK;
}

void tsf__seasonal_note(const tsf_seasonal *sv, size_t n, size_t season, char *note, size_t n_note)
{
    size_t count[4] = {0};
    for (size_t i = 0; i < n; i++)
        count[sv[i].kind]++;
    if (n == 1)
        snprintf(note, n_note, "deseason %s", sv[0].why);
    else
        snprintf(note, n_note, "deseason (season %zu): %zu multiplicative, %zu additive, %zu none",
                 season, count[TSF_DESEASON_MULT], count[TSF_DESEASON_ADD],
                 count[TSF_DESEASON_NONE]);
}

void tsf__model_seasonal_free(tsf_model_seasonal *s)
{
    if (!s)
        return;
    for (size_t g = 0; s->series && g < s->n_groups; g++)
        free(s->series[g]);
    free(s->series);
    free(s->anchor);
    free(s->seas);
    free(s);
}

tsf_model_seasonal *tsf__model_seasonal_alloc(size_t G, size_t O)
{
    tsf_model_seasonal *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->n_groups = G;
    s->n_targets = O;
    s->series = calloc(G ? G : 1, sizeof *s->series);
    s->anchor = calloc(G ? G : 1, sizeof *s->anchor);
    s->seas = calloc(G * O > 0 ? G * O : 1, sizeof *s->seas);
    if (!s->series || !s->anchor || !s->seas) {
        tsf__model_seasonal_free(s);
        return NULL;
    }
    return s;
}

/* The period number of row r of series s of f, counted from anchor (see tsf_model_seasonal). */
static int period_of(const tsf_frame *f, size_t s, size_t r, int64_t anchor, int64_t *k,
                     tsf_err *err)
{
    const tsf_freq *q = tsf_frame_series_freq(f, s);
    if (f->time_kind == TSF_TIME_EPOCH && q->unit != TSF_FREQ_NONE) {
        if (!tsf_freq_count(q, anchor, f->time[r], k)) {
            char b[64];
            TSF_FAIL(err, TSF_EINVAL,
                     "%s: row %zu lies between the periods of its frequency: its seasonal phase "
                     "is unknown (expected times on the frequency the model was trained on)",
                     tsf_frame_series_label(f, s, b, sizeof b), r - f->series_start[s] + 1);
        }
    } else if (f->step > 0) {
        int64_t d = f->time[r] - anchor;
        *k = d / f->step - (d % f->step < 0);
    } else {
        *k = (int64_t)(r - f->series_start[s]);
    }
    return TSF_OK;
}

/* k mod m in [0, m) */
static size_t phase(int64_t k, size_t m)
{
    int64_t p = k % (int64_t)m;
    return (size_t)(p < 0 ? p + (int64_t)m : p);
}

static char *dup_str(const char *s)
{
    char *d = malloc(strlen(s) + 1);
    return d ? strcpy(d, s) : NULL;
}

static const char *series_id(const tsf_frame *f, size_t s)
{
    return f->series_ids ? f->series_ids[s] : "";
}

static double to_units(const tsf_scaler *sc, size_t s, size_t col, double z)
{
    return sc ? tsf_scaler_to_original(sc, s, col, z) : z;
}

static double to_scale(const tsf_scaler *sc, size_t s, size_t col, double x)
{
    return sc ? tsf_scaler_to_scaled(sc, s, col, x) : x;
}

/* Per series of train: the first and one past the last row its windows span (begin == end:
 * none), into r (n_series). */
static void window_rows(const tsf_windows *w, tsf_range *r)
{
    const tsf_frame *f = w->frame;
    for (size_t q = 0; q < f->n_series; q++)
        r[q] = (tsf_range){0, 0};
    for (size_t i = 0; i < w->n_windows; i++) {
        tsf_range *x = &r[w->series[i]];
        size_t a = w->origin[i] - w->spec.lookback, b = w->origin[i] + w->spec.horizon;
        if (x->begin == x->end)
            *x = (tsf_range){a, b};
        x->begin = a < x->begin ? a : x->begin;
        x->end = b > x->end ? b : x->end;
    }
}

/* Fit the indices of every (series, target) of w's frame into s (allocated for it), with season0
 * rows per season (0: the season of each series' frequency). */
static int fit_groups(tsf_model_seasonal *s, const tsf_rnn_model *m, const tsf_windows *w,
                      const tsf_scaler *sc, tsf_deseason mode, size_t season0,
                      const tsf_range *rows, double *y, tsf_err *err)
{
    const tsf_frame *f = w->frame;
    const size_t O = m->n_targets;
    for (size_t q = 0; q < f->n_series; q++) {
        const size_t a = f->series_start[q];
        const size_t season = season0 ? season0 : tsf_freq_season(tsf_frame_series_freq(f, q));
        if (!(s->series[q] = dup_str(series_id(f, q))))
            TSF_FAIL(err, TSF_ENOMEM, "out of memory");
        s->anchor[q] = f->time[a];
        const size_t n = rows[q].end - rows[q].begin;
        for (size_t o = 0; o < O; o++) {
            const size_t col = w->spec.target_cols[o];
            for (size_t i = 0; i < n; i++)
                y[i] = to_units(sc, q, col, f->cols[col][rows[q].begin + i]);
            int rc =
                tsf__seasonal_fit_rows(&s->seas[q * O + o], y, n, rows[q].begin - a, season,
                                       m->lookback, m->horizon, n ? mode : TSF_DESEASON_NONE, err);
            if (rc != TSF_OK) {
                char b[64];
                return tsf_err_prefix(err, "%s, column \"%s\"",
                                      tsf_frame_series_label(f, q, b, sizeof b), f->col_names[col]);
            }
        }
    }
    return TSF_OK;
}

int tsf_rnn_model_deseason(tsf_rnn_model *m, const tsf_windows *train, tsf_deseason mode,
                           size_t season, char *note, size_t n, tsf_err *err)
{
    tsf__model_seasonal_free(m->seasonal);
    m->seasonal = NULL;
    if (note && n)
        note[0] = '\0';
    if (mode == TSF_DESEASON_NONE)
        return TSF_OK;
    const tsf_frame *f = train->frame;
    const size_t S = f->n_series, O = m->n_targets;
    tsf_scaler *sc = NULL;
    tsf_model_seasonal *s = tsf__model_seasonal_alloc(S, O);
    tsf_range *rows = malloc(S * sizeof *rows);
    double *y = malloc((f->n_rows ? f->n_rows : 1) * sizeof *y);
    int rc = s && rows && y ? TSF_OK : tsf_err_set(err, TSF_ENOMEM, "out of memory");
    if (rc == TSF_OK)
        rc = tsf_rnn_model_scaler_for(m, f, &sc, err);
    if (rc == TSF_OK) {
        window_rows(train, rows);
        rc = fit_groups(s, m, train, sc, mode, season, rows, y, err);
    }
    if (rc == TSF_OK) {
        int any = 0;
        for (size_t i = 0; i < S * O; i++)
            any |= s->seas[i].kind != TSF_DESEASON_NONE;
        if (note && n)
            tsf__seasonal_note(s->seas, S * O, S ? s->seas[0].m : 0, note, n);
        if (any) {
            m->seasonal = s;
            s = NULL;
        }
    }
    tsf__model_seasonal_free(s);
    tsf_scaler_free(sc);
    free(rows);
    free(y);
    return rc;
}

/* The group of m->seasonal that series s of f is, by id, into *g. */
static int find_group(const tsf_model_seasonal *ms, const tsf_frame *f, size_t s, size_t *g,
                      tsf_err *err)
{
    for (*g = 0; *g < ms->n_groups; (*g)++)
        if (!strcmp(ms->series[*g], series_id(f, s)))
            return TSF_OK;
    char b[64];
    TSF_FAIL(err, TSF_EINVAL,
             "%s: the model has seasonal indices for the %zu series it was trained on only, not "
             "for this one (expected one of its training series, or a model trained with "
             "deseason = none)",
             tsf_frame_series_label(f, s, b, sizeof b), ms->n_groups);
}

/* Adjust (dir > 0) or restore (dir < 0) value v of column col of series s (group g), target o,
 * at period k. */
static double apply(const tsf_model_seasonal *ms, const tsf_scaler *sc, size_t s, size_t g,
                    size_t o, size_t col, int64_t k, double v, int dir)
{
    const tsf_seasonal *d = &ms->seas[g * ms->n_targets + o];
    if (d->kind == TSF_DESEASON_NONE)
        return v;
    size_t t = phase(k, d->m);
    double u = to_units(sc, s, col, v);
    return to_scale(sc, s, col,
                    dir > 0 ? tsf_seasonal_adjust(d, u, t) : tsf_seasonal_restore(d, u, t));
}

/* A copy of f with the targets (columns tcols, in m's target order) adjusted. */
static int adjusted_frame(const tsf_rnn_model *m, const tsf_frame *f, const size_t *tcols,
                          const tsf_scaler *sc, tsf_frame **out, tsf_err *err)
{
    const tsf_model_seasonal *ms = m->seasonal;
    int rc = tsf_frame_copy_rows(out, f, 0, f->n_rows, err);
    for (size_t s = 0; rc == TSF_OK && s < f->n_series; s++) {
        size_t g;
        if ((rc = find_group(ms, f, s, &g, err)) != TSF_OK)
            break;
        for (size_t r = f->series_start[s]; rc == TSF_OK && r < f->series_start[s + 1]; r++) {
            int64_t k;
            if ((rc = period_of(f, s, r, ms->anchor[g], &k, err)) != TSF_OK)
                break;
            for (size_t o = 0; o < ms->n_targets; o++)
                (*out)->cols[tcols[o]][r] =
                    apply(ms, sc, s, g, o, tcols[o], k, f->cols[tcols[o]][r], 1);
        }
    }
    if (rc != TSF_OK) {
        tsf_frame_free(*out);
        *out = NULL;
    }
    return rc;
}

int tsf_rnn_model_adjust_windows(const tsf_rnn_model *m, const tsf_windows *w, tsf_frame **frame,
                                 tsf_windows **out, tsf_err *err)
{
    *frame = NULL;
    *out = NULL;
    if (!m->seasonal)
        return TSF_OK;
    tsf_scaler *sc = NULL;
    int rc = tsf_rnn_model_scaler_for(m, w->frame, &sc, err);
    if (rc == TSF_OK)
        rc = adjusted_frame(m, w->frame, w->spec.target_cols, sc, frame, err);
    if (rc == TSF_OK)
        rc = tsf_windows_make_at(out, *frame, &w->spec, w->series, w->origin, w->n_windows, 0, err);
    tsf_scaler_free(sc);
    if (rc != TSF_OK) {
        tsf_frame_free(*frame);
        *frame = NULL;
    }
    return rc;
}

int tsf__seasonal_restore(const tsf_rnn_model *m, const tsf_windows *w, tsf_forecasts *fc,
                          size_t model, size_t first, tsf_err *err)
{
    const tsf_model_seasonal *ms = m->seasonal;
    const tsf_frame *f = w->frame;
    tsf_scaler *sc = NULL;
    int rc = tsf_rnn_model_scaler_for(m, f, &sc, err);
    for (size_t i = 0; rc == TSF_OK && i < w->n_windows; i++) {
        const size_t s = w->series[i];
        size_t g;
        int64_t k;
        if ((rc = find_group(ms, f, s, &g, err)) != TSF_OK ||
            (rc = period_of(f, s, w->origin[i] - 1, ms->anchor[g], &k, err)) != TSF_OK)
            break;
        for (size_t j = 0; j < fc->n_steps; j++)
            for (size_t o = 0; o < ms->n_targets; o++) {
                double *v = tsf_forecasts_at(fc, first + i, j, o, model);
                const int64_t kl = k + (int64_t)(fc->step0 + j);
                for (size_t p = 0; p < fc->n_values; p++)
                    v[p] = apply(ms, sc, s, g, o, w->spec.target_cols[o], kl, v[p], -1);
            }
    }
    tsf_scaler_free(sc);
    return rc;
}

/* ---- /meta/deseason: values [G, O, M, anchor (G), kind (G x O), season (G x O), index
 * (G x O x M)], M the longest season; text: the series ids, one per line ---------------------- */

int tsf__seasonal_meta_put(const tsf_model_seasonal *s, double **vals, size_t *n, char **ids)
{
    const size_t G = s->n_groups, O = s->n_targets;
    size_t M = 1, len = 1;
    for (size_t i = 0; i < G * O; i++)
        M = s->seas[i].m > M ? s->seas[i].m : M;
    for (size_t g = 0; g < G; g++)
        len += strlen(s->series[g]) + 1;
    *n = 3 + G + 2 * G * O + G * O * M;
    double *v = *vals = calloc(*n, sizeof *v);
    char *t = *ids = malloc(len);
    if (!v || !t)
        return 1;
    v[0] = (double)G;
    v[1] = (double)O;
    v[2] = (double)M;
    t[0] = '\0';
    for (size_t g = 0; g < G; g++) {
        v[3 + g] = (double)s->anchor[g];
        strcat(strcat(t, s->series[g]), g + 1 < G ? "\n" : "");
    }
    for (size_t i = 0; i < G * O; i++) {
        const tsf_seasonal *d = &s->seas[i];
        v[3 + G + i] = d->kind;
        v[3 + G + G * O + i] = (double)d->m;
        if (d->kind != TSF_DESEASON_NONE)
            memcpy(v + 3 + G + 2 * G * O + i * M, d->index, d->m * sizeof *v);
    }
    return 0;
}

static int whole(double v, double lo, double hi)
{
    return v >= lo && v <= hi && v == floor(v);
}

/* The ids of text (G lines; one empty line for an unnamed series) into s->series. */
static int read_ids(tsf_model_seasonal *s, const char *text)
{
    const char *p = text;
    for (size_t g = 0; g < s->n_groups; g++) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if ((!e) != (g + 1 == s->n_groups))
            return -1;
        if (!(s->series[g] = malloc(len + 1)))
            return 1;
        memcpy(s->series[g], p, len);
        s->series[g][len] = '\0';
        p = e ? e + 1 : p + len;
    }
    return 0;
}

int tsf__seasonal_meta_get(tsf_model_seasonal **out, size_t O, const double *v, size_t n,
                           const char *text, const char *path, tsf_err *err)
{
    *out = NULL;
    if (n < 3 || !whole(v[0], 1, 1e9) || v[1] != (double)O ||
        !whole(v[2], 1, TSF_DESEASON_MAX_SEASON) || !text)
        TSF_FAIL(err, TSF_EFORMAT,
                 "%s: /meta/deseason is malformed (expected the series count, %zu targets, the "
                 "season and the series ids)",
                 path, O);
    const size_t G = (size_t)v[0], M = (size_t)v[2];
    if (n != 3 + G + 2 * G * O + G * O * M)
        TSF_FAIL(err, TSF_EFORMAT, "%s: /meta/deseason holds %zu values (expected %zu)", path, n,
                 3 + G + 2 * G * O + G * O * M);
    tsf_model_seasonal *s = tsf__model_seasonal_alloc(G, O);
    if (!s)
        TSF_FAIL(err, TSF_ENOMEM, "out of memory");
    int bad = read_ids(s, text);
    for (size_t g = 0; !bad && g < G; g++)
        s->anchor[g] = (int64_t)v[3 + g];
    for (size_t i = 0; !bad && i < G * O; i++) {
        tsf_seasonal *d = &s->seas[i];
        double kind = v[3 + G + i], m = v[3 + G + G * O + i];
        if (!(kind == TSF_DESEASON_NONE || kind == TSF_DESEASON_ADD || kind == TSF_DESEASON_MULT) ||
            !whole(m, 0, (double)M) || (kind != TSF_DESEASON_NONE && m < 2)) {
            bad = -1;
            break;
        }
        d->kind = (tsf_deseason)kind;
        d->m = (size_t)m;
        if (d->kind != TSF_DESEASON_NONE)
            memcpy(d->index, v + 3 + G + 2 * G * O + i * M, d->m * sizeof *v);
        snprintf(d->why, sizeof d->why, "%s", tsf_deseason_name(d->kind));
    }
    if (bad) {
        tsf__model_seasonal_free(s);
        if (bad > 0)
            TSF_FAIL(err, TSF_ENOMEM, "out of memory");
        TSF_FAIL(err, TSF_EFORMAT,
                 "%s: /meta/deseason is malformed (expected %zu series ids, kinds none, additive "
                 "or multiplicative, seasons of 2 to %zu rows)",
                 path, G, M);
    }
    *out = s;
    return TSF_OK;
}
