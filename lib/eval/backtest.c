/* Rolling-origin backtests: folds, fits and forecasts over copies of the rows before each
 * origin (so nothing after an origin can leak into its forecasts), on a pool of threads whose
 * results land in slots fixed before the run. See tsflow/backtest.h. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "tsflow/backtest.h"
#include "tsflow/par.h"

void tsf_backtest_spec_init(tsf_backtest_spec *spec)
{
    *spec = (tsf_backtest_spec){
        .window = TSF_WINDOW_EXPANDING, .stride = 1, .horizon = 1, .retrain = 1, .jobs = 1};
}

int tsf_frame_head_rows(tsf_frame **out, const tsf_frame *f, const size_t *n_rows, tsf_err *err)
{
    *out = NULL;
    size_t total = 0;
    for (size_t s = 0; s < f->n_series; s++) {
        size_t n = f->series_start[s + 1] - f->series_start[s];
        total += n < n_rows[s] ? n : n_rows[s];
    }
    tsf_frame *h;
    int rc = tsf_frame_alloc(&h, f->n_cols, (const char *const *)f->col_names, total, err);
    if (rc != TSF_OK)
        return rc;
    size_t *starts = malloc((f->n_series + 1) * sizeof *starts);
    if (!starts) {
        tsf_frame_free(h);
        TSF_FAIL(err, TSF_ENOMEM, "out of memory copying %zu series", f->n_series);
    }
    size_t r = 0;
    for (size_t s = 0; s < f->n_series; s++) {
        size_t a = f->series_start[s], n = f->series_start[s + 1] - a;
        n = n < n_rows[s] ? n : n_rows[s];
        starts[s] = r;
        if (n) {
            memcpy(h->time + r, f->time + a, n * sizeof *h->time);
            for (size_t j = 0; j < f->n_cols; j++)
                memcpy(h->cols[j] + r, f->cols[j] + a, n * sizeof(double));
        }
        r += n;
    }
    starts[f->n_series] = r;
    h->n_rows = r;
    h->time_kind = f->time_kind;
    h->step = f->step;
    h->freq = f->freq;
    rc = tsf_frame_set_series(h, f->n_series, (const char *const *)f->series_ids, starts, err);
    free(starts);
    if (rc == TSF_OK && f->series_freq) {
        if (!(h->series_freq = malloc(f->n_series * sizeof *h->series_freq)))
            rc = tsf_err_set(err, TSF_ENOMEM, "out of memory copying %zu series", f->n_series);
        else
            memcpy(h->series_freq, f->series_freq, f->n_series * sizeof *h->series_freq);
    }
    if (rc == TSF_OK)
        rc = tsf_frame_set_time_name(h, f->time_name, err);
    if (rc == TSF_OK)
        rc = tsf_frame_set_tz(h, f->tz, err);
    if (rc == TSF_OK && f->id_name && !(h->id_name = tsf__strdup(f->id_name, err)))
        rc = TSF_ENOMEM;
    if (rc != TSF_OK) {
        tsf_frame_free(h);
        return rc;
    }
    *out = h;
    return TSF_OK;
}

int tsf_frame_head(tsf_frame **out, const tsf_frame *f, size_t offset, tsf_err *err)
{
    *out = NULL;
    size_t *n = malloc((f->n_series ? f->n_series : 1) * sizeof *n);
    if (!n)
        TSF_FAIL(err, TSF_ENOMEM, "out of memory copying %zu series", f->n_series);
    for (size_t s = 0; s < f->n_series; s++)
        n[s] = offset;
    int rc = tsf_frame_head_rows(out, f, n, err);
    free(n);
    return rc;
}

/* ---- Run state ---------------------------------------------------------------------------- */

typedef struct fit_slot {
    size_t fold;        /* the fold that fits */
    tsf_scaler *scaler; /* moved to the result at the end */
    void **state;       /* (M) model states */
} fit_slot;

typedef struct task_result {
    int rc;
    tsf_err err;
} task_result;

typedef struct run {
    const tsf_frame *f;
    const tsf_backtest_spec *spec;
    const tsf_forecaster *models;
    size_t M;
    tsf_backtest *bt;
    tsf_backtest_layout *lay;
    fit_slot *fits;              /* (n_fits) */
    size_t *fold_entry;          /* (n_folds + 1) first entry of each fold */
    pthread_mutex_t *model_lock; /* (M) for forecasters that are not reentrant */
    /* the task pool */
    pthread_mutex_t lock;
    size_t next, n_tasks;
    int failed;
    int (*task)(struct run *, size_t, tsf_err *);
    task_result *results; /* (n_tasks) */
} run;

static void *worker(void *arg)
{
    run *R = arg;
    for (;;) {
        pthread_mutex_lock(&R->lock);
        size_t i = R->next;
        int stop = R->failed || i >= R->n_tasks;
        if (!stop)
            R->next++;
        pthread_mutex_unlock(&R->lock);
        if (stop)
            return NULL;
        task_result *res = &R->results[i];
        tsf_err_clear(&res->err);
        res->rc = R->task(R, i, &res->err);
        if (res->rc != TSF_OK) {
            pthread_mutex_lock(&R->lock);
            R->failed = 1;
            pthread_mutex_unlock(&R->lock);
        }
    }
}

/* Run tasks [0, n) on `jobs` threads. Tasks are taken in increasing order, so when one fails
 * every lower task has run: the lowest failure reported is the same with any jobs. */
static int run_tasks(run *R, size_t n, size_t jobs, int (*task)(run *, size_t, tsf_err *),
                     tsf_err *err)
{
    R->task = task;
    R->next = 0;
    R->n_tasks = n;
    R->failed = 0;
    R->results = calloc(n ? n : 1, sizeof *R->results);
    if (!R->results)
        TSF_FAIL(err, TSF_ENOMEM, "backtest: out of memory");
    if (jobs > n)
        jobs = n;
    if (jobs <= 1) {
        worker(R);
    } else {
        /* The folds are the parallelism: BLAS threads on top of them fight over the cores
         * (measured on the demo, 2 cores: 10 s with one BLAS thread per fit, 37 s with two). */
        tsf__blas_serial_begin();
        pthread_t *th = malloc(jobs * sizeof *th);
        size_t started = 0;
        if (th)
            for (; started < jobs; started++)
                if (pthread_create(&th[started], NULL, worker, R) != 0)
                    break;
        if (started == 0)
            worker(R); /* no thread could start: run here */
        for (size_t i = 0; i < started; i++)
            pthread_join(th[i], NULL);
        free(th);
        tsf__blas_serial_end();
    }
    int rc = TSF_OK;
    for (size_t i = 0; i < n; i++)
        if (R->results[i].rc != TSF_OK) {
            rc = R->results[i].rc;
            if (err) {
                err->code = rc;
                memcpy(err->msg, R->results[i].err.msg, sizeof err->msg);
            }
            break;
        }
    free(R->results);
    R->results = NULL;
    return rc;
}

/* Fold k's history: a copy of each series' rows before its origin (at or before its cutoff),
 * imputed, and the rows of fold k's fit window in it. */
static int make_hist(run *R, size_t k, tsf_frame **hist, tsf_range **fit, tsf_err *err)
{
    *hist = NULL;
    *fit = NULL;
    const size_t S = R->lay->n_series;
    tsf_frame *h;
    int rc = tsf_frame_head_rows(&h, R->f, R->lay->head + k * S, err);
    if (rc != TSF_OK)
        return rc;
    tsf_range *r = malloc((S ? S : 1) * sizeof *r);
    if (!r) {
        tsf_frame_free(h);
        TSF_FAIL(err, TSF_ENOMEM, "backtest: out of memory");
    }
    for (size_t s = 0; s < S; s++) {
        size_t a = h->series_start[s], n = h->series_start[s + 1] - a;
        const tsf_range *w = &R->lay->fit[k * S + s];
        r[s].begin = a + (w->begin < n ? w->begin : n);
        r[s].end = a + (w->end < n ? w->end : n);
    }
    if (R->spec->impute && (rc = tsf_impute(h, R->spec->impute, NULL, NULL, err)) != TSF_OK) {
        free(r);
        tsf_frame_free(h);
        return rc;
    }
    *hist = h;
    *fit = r;
    return TSF_OK;
}

/* "origin row 11544" (rows) or "cutoff 2020-11-15 00:00:00" (times), for messages. */
static const char *fold_where(const run *R, size_t k, char *buf, size_t n)
{
    const tsf_fold *fd = &R->lay->folds[k];
    if (R->lay->origins == TSF_ORIGINS_TIMES) {
        char t[40];
        snprintf(buf, n, "cutoff %s", tsf_time_format(TSF_TIME_EPOCH, fd->cutoff, t, sizeof t));
    } else {
        snprintf(buf, n, "origin row %zu", fd->origin);
    }
    return buf;
}

static tsf_fold_ctx make_ctx(const run *R, const tsf_frame *hist, const tsf_range *fit, size_t fold,
                             size_t fit_fold, const tsf_scaler *scaler)
{
    const tsf_backtest_spec *sp = R->spec;
    return (tsf_fold_ctx){.hist = hist,
                          .fit = fit,
                          .targets = sp->targets,
                          .n_targets = sp->n_targets,
                          .horizon = sp->horizon,
                          .quantiles = sp->quantiles,
                          .n_quantiles = sp->n_quantiles,
                          .fold = fold,
                          .seed = sp->seed + fit_fold,
                          .scaler = scaler};
}

/* Whether this rank fits the models of fit g (and makes the forecasts of its folds). Chained
 * fits (warm start) stay on rank 0: each needs the state of the one before. */
static int owns_fit(const run *R, size_t g)
{
    return R->bt->fit_rank[g] == tsf_par_rank();
}

static int fit_task(run *R, size_t g, tsf_err *err)
{
    fit_slot *fs = &R->fits[g];
    /* Another rank's fit: only its scaler, which is cheap and which every rank returns. */
    if (!owns_fit(R, g) && !R->spec->scale)
        return TSF_OK;
    char where[64];
    fold_where(R, fs->fold, where, sizeof where);
    tsf_frame *hist;
    tsf_range *fit;
    int rc = make_hist(R, fs->fold, &hist, &fit, err);
    if (rc != TSF_OK)
        goto done;
    if (R->spec->scale) {
        rc = tsf_scaler_fit(&fs->scaler, hist, R->spec->scale, fit, err);
        if (rc == TSF_OK)
            rc = tsf_scaler_apply(fs->scaler, hist, NULL, err);
        if (rc != TSF_OK)
            goto done;
    }
    tsf_fold_ctx ctx = make_ctx(R, hist, fit, fs->fold, fs->fold, fs->scaler);
    for (size_t m = 0; m < R->M && rc == TSF_OK && owns_fit(R, g); m++) {
        const tsf_forecaster *fc = &R->models[m];
        if (!fc->fit)
            continue;
        const void *warm = R->spec->warm_start && g > 0 ? R->fits[g - 1].state[m] : NULL;
        if (!fc->reentrant)
            pthread_mutex_lock(&R->model_lock[m]);
        rc = fc->fit(fc->self, &ctx, warm, &fs->state[m], err);
        if (!fc->reentrant)
            pthread_mutex_unlock(&R->model_lock[m]);
        if (rc != TSF_OK)
            tsf_err_prefix(err, "backtest: model \"%s\", fit at fold %zu (%s)", fc->name, fs->fold,
                           where);
    }
done:
    if (rc != TSF_OK && err && strncmp(err->msg, "backtest:", 9) != 0)
        tsf_err_prefix(err, "backtest: fit at fold %zu (%s)", fs->fold, where);
    tsf_frame_free(hist);
    free(fit);
    return rc;
}

static int forecast_task(run *R, size_t k, tsf_err *err)
{
    const tsf_backtest_spec *sp = R->spec;
    const fit_slot *fs = &R->fits[R->lay->fold_fit[k]];
    char where[64];
    fold_where(R, k, where, sizeof where);
    tsf_forecasts *fc = R->bt->fc, *fn = R->bt->fc_norm;
    if (!owns_fit(R, R->lay->fold_fit[k]))
        return TSF_OK; /* its rank sends the forecasts (exchange) */
    const size_t L = sp->horizon, O = sp->n_targets, P = 1 + sp->n_quantiles;
    tsf_frame *hist;
    tsf_range *fit;
    double *block = NULL;
    int rc = make_hist(R, k, &hist, &fit, err);
    if (rc != TSF_OK)
        goto done;
    if (fs->scaler && (rc = tsf_scaler_apply(fs->scaler, hist, NULL, err)) != TSF_OK)
        goto done;
    if (!(block = malloc(L * O * P * sizeof *block))) {
        rc = tsf_err_set(err, TSF_ENOMEM, "backtest: out of memory");
        goto done;
    }
    tsf_fold_ctx ctx = make_ctx(R, hist, fit, k, fs->fold, fs->scaler);
    for (size_t e = R->fold_entry[k]; e < R->fold_entry[k + 1] && rc == TSF_OK; e++) {
        size_t s = fc->entry[e].series;
        if (fs->scaler) /* normalized actuals with this fit's scaler */
            for (size_t i = 0; i < fn->n_steps; i++)
                for (size_t o = 0; o < O; o++) {
                    double *a = fn->actual + (e * fn->n_steps + i) * O + o;
                    *a = tsf_scaler_to_scaled(fs->scaler, s, sp->targets[o], *a);
                }
        for (size_t m = 0; m < R->M && rc == TSF_OK; m++) {
            const tsf_forecaster *f = &R->models[m];
            for (size_t i = 0; i < L * O * P; i++)
                block[i] = NAN;
            if (!f->reentrant)
                pthread_mutex_lock(&R->model_lock[m]);
            rc = f->forecast(f->self, fs->state[m], &ctx, s, block, err);
            if (!f->reentrant)
                pthread_mutex_unlock(&R->model_lock[m]);
            if (rc != TSF_OK) {
                tsf_err_prefix(err, "backtest: model \"%s\", fold %zu (%s)", f->name, k, where);
                break;
            }
            if (fs->scaler) {
                tsf_forecasts_put(fn, e, m, block);
                for (size_t l = 0; l < L; l++)
                    for (size_t o = 0; o < O; o++)
                        for (size_t p = 0; p < P; p++) {
                            double *v = block + (l * O + o) * P + p;
                            *v = tsf_scaler_to_original(fs->scaler, s, sp->targets[o], *v);
                        }
            }
            tsf_forecasts_put(fc, e, m, block);
        }
    }
done:
    if (rc != TSF_OK && err && strncmp(err->msg, "backtest:", 9) != 0)
        tsf_err_prefix(err, "backtest: fold %zu (%s)", k, where);
    free(block);
    tsf_frame_free(hist);
    free(fit);
    return rc;
}

/* ---- Ranks --------------------------------------------------------------------------------- */

/* The stored values of fold k's entries: forecasts, and on the normalized scale forecasts and
 * actuals (those were normalized by the fit's scaler in forecast_task). Calls put(ctx, p, n) for
 * each contiguous piece, in a fixed order. */
static void fold_pieces(const run *R, size_t k, void (*put)(void *ctx, double *p, size_t n),
                        void *ctx)
{
    const tsf_forecasts *fc = R->bt->fc, *fn = R->bt->fc_norm;
    size_t e0 = R->fold_entry[k], ne = R->fold_entry[k + 1] - e0;
    size_t per = fc->n_steps * fc->n_targets * fc->n_models * fc->n_values;
    put(ctx, fc->value + e0 * per, ne * per);
    if (fn) {
        put(ctx, fn->value + e0 * per, ne * per);
        put(ctx, fn->actual + e0 * fn->n_steps * fn->n_targets, ne * fn->n_steps * fn->n_targets);
    }
}

typedef struct cursor {
    unsigned char *at;
    enum { COPY_OUT, COPY_IN, SKIP } how; /* into the buffer, out of it, or pass over it */
} cursor;

static void count_piece(void *ctx, double *p, size_t n)
{
    (void)p;
    *(size_t *)ctx += n * sizeof(double);
}

static void move_piece(void *ctx, double *p, size_t n)
{
    cursor *c = ctx;
    if (c->how == COPY_IN)
        memcpy(c->at, p, n * sizeof(double));
    else if (c->how == COPY_OUT)
        memcpy(p, c->at, n * sizeof(double));
    c->at += n * sizeof(double);
}

/* Every rank sends the values of the folds it forecast and receives the others': afterwards
 * every rank holds the whole backtest, byte for byte what one process computes (each value was
 * computed by the same code on the same inputs, only elsewhere). */
static int exchange(run *R, tsf_err *err)
{
    const size_t me = tsf_par_rank(), n_ranks = tsf_par_size(), F = R->bt->n_folds;
    size_t bytes = 0;
    for (size_t k = 0; k < F; k++)
        if (owns_fit(R, R->lay->fold_fit[k]))
            fold_pieces(R, k, count_piece, &bytes);
    unsigned char *mine = malloc(bytes ? bytes : 1);
    if (!mine)
        TSF_FAIL(err, TSF_ENOMEM, "backtest: out of memory for the %zu bytes to exchange", bytes);
    cursor c = {.at = mine, .how = COPY_IN};
    for (size_t k = 0; k < F; k++)
        if (owns_fit(R, R->lay->fold_fit[k]))
            fold_pieces(R, k, move_piece, &c);
    void *all;
    int rc = tsf_par_allgather(mine, bytes, &all, NULL, err);
    free(mine);
    if (rc != TSF_OK)
        return tsf_err_prefix(err, "backtest: exchanging the forecasts");
    c.at = all;
    for (size_t r = 0; r < n_ranks; r++) {
        c.how = r == me ? SKIP : COPY_OUT; /* our own folds are in place already */
        for (size_t k = 0; k < F; k++)
            if (R->bt->fit_rank[R->lay->fold_fit[k]] == r)
                fold_pieces(R, k, move_piece, &c);
    }
    free(all);
    return TSF_OK;
}

/* ---- Setting up ------------------------------------------------------------------------------ */

void tsf_backtest_free(tsf_backtest *bt)
{
    if (!bt)
        return;
    free(bt->folds);
    free(bt->skipped);
    tsf_forecasts_free(bt->fc);
    tsf_forecasts_free(bt->fc_norm);
    for (size_t i = 0; bt->scalers && i < bt->n_fits; i++)
        tsf_scaler_free(bt->scalers[i]);
    free(bt->scalers);
    free(bt->fit_fold);
    free(bt->fit_rank);
    free(bt);
}

static int check_spec(const tsf_frame *f, const tsf_backtest_spec *sp, const tsf_forecaster *m,
                      size_t M, tsf_err *err)
{
    if (sp->horizon == 0)
        TSF_FAIL(err, TSF_EINVAL, "backtest: horizon must be at least 1");
    if (sp->stride == 0)
        TSF_FAIL(err, TSF_EINVAL, "backtest: stride must be at least 1");
    int times = sp->origins == TSF_ORIGINS_TIMES;
    if ((unsigned)sp->origins > TSF_ORIGINS_TIMES)
        TSF_FAIL(err, TSF_EINVAL, "backtest: unknown origins %d", (int)sp->origins);
    if (!times &&
        (sp->has_first_origin_time || sp->has_end_time || sp->train_span.unit != TSF_FREQ_NONE))
        TSF_FAIL(err, TSF_EINVAL,
                 "backtest: %s as a time needs origins = times (row origins count rows)",
                 sp->has_first_origin_time ? "first_origin"
                 : sp->has_end_time        ? "end"
                                           : "train_length");
    int has_train = sp->train_length || (times && sp->train_span.unit != TSF_FREQ_NONE);
    if (!has_train && sp->first_origin == 0 && !(times && sp->has_first_origin_time))
        TSF_FAIL(err, TSF_EINVAL, "backtest: train_length (or first_origin) must be at least 1");
    if (sp->window == TSF_WINDOW_SLIDING && !has_train)
        TSF_FAIL(err, TSF_EINVAL, "backtest: a sliding window needs train_length >= 1");
    if ((unsigned)sp->window > TSF_WINDOW_SLIDING)
        TSF_FAIL(err, TSF_EINVAL, "backtest: unknown training window %d", (int)sp->window);
    if (sp->n_targets == 0)
        TSF_FAIL(err, TSF_EINVAL, "backtest: at least one target column is needed");
    for (size_t o = 0; o < sp->n_targets; o++)
        if (sp->targets[o] >= f->n_cols)
            TSF_FAIL(err, TSF_EINVAL,
                     "backtest: target column %zu does not exist (the frame has "
                     "%zu)",
                     sp->targets[o], f->n_cols);
    if (M == 0)
        TSF_FAIL(err, TSF_EINVAL, "backtest: no model to run");
    for (size_t k = 0; k < M; k++)
        if (!m[k].forecast || !m[k].name)
            TSF_FAIL(err, TSF_EINVAL, "backtest: model %zu has no name or no forecast function", k);
    return TSF_OK;
}

/* Lay out folds, fits and entries (in (fold, series) order, before any thread runs). */
static int plan(run *R, tsf_err *err)
{
    const tsf_frame *f = R->f;
    tsf_backtest *bt = R->bt;
    int rc = tsf_backtest_layout_make(&R->lay, f, R->spec, R->models, R->M, err);
    if (rc != TSF_OK)
        return rc;
    const tsf_backtest_layout *lay = R->lay;
    size_t F = lay->n_folds, G = lay->n_fits, S = lay->n_series;
    bt->n_folds = F;
    bt->n_fits = G;
    bt->folds = malloc((F ? F : 1) * sizeof *bt->folds);
    bt->fit_fold = malloc((G ? G : 1) * sizeof *bt->fit_fold);
    bt->skipped = malloc((lay->n_skipped ? lay->n_skipped : 1) * sizeof *bt->skipped);
    R->fits = calloc(G ? G : 1, sizeof *R->fits);
    R->fold_entry = calloc(F + 1, sizeof *R->fold_entry);
    bt->fit_rank = calloc(G ? G : 1, sizeof *bt->fit_rank);
    if (!bt->folds || !bt->fit_fold || !bt->fit_rank || !bt->skipped || !R->fits || !R->fold_entry)
        TSF_FAIL(err, TSF_ENOMEM, "backtest: out of memory for %zu folds", F);
    memcpy(bt->folds, lay->folds, F * sizeof *bt->folds);
    memcpy(bt->fit_fold, lay->fit_fold, G * sizeof *bt->fit_fold);
    if (lay->n_skipped)
        memcpy(bt->skipped, lay->skipped, lay->n_skipped * sizeof *bt->skipped);
    bt->n_skipped = lay->n_skipped;
    for (size_t g = 0; g < G; g++) {
        R->fits[g].fold = lay->fit_fold[g];
        bt->fit_rank[g] = R->spec->warm_start ? 0 : tsf_par_owner(g);
        if (!(R->fits[g].state = calloc(R->M ? R->M : 1, sizeof(void *))))
            TSF_FAIL(err, TSF_ENOMEM, "backtest: out of memory");
    }
    for (size_t k = 0; k < F; k++) {
        R->fold_entry[k] = bt->fc->n_entries;
        for (size_t s = 0; s < S; s++) {
            size_t i = k * S + s, a = f->series_start[s], e;
            if (!lay->take[i])
                continue;
            size_t o = a + lay->head[i], fb = a + lay->fit[i].begin, fe = a + lay->fit[i].end;
            rc = tsf_forecasts_add(bt->fc, f, s, o, k, fb, fe, &e, err);
            if (rc == TSF_OK && lay->origins == TSF_ORIGINS_TIMES)
                bt->fc->entry[e].cutoff_time = lay->folds[k].cutoff;
            if (rc == TSF_OK && bt->fc_norm) {
                rc = tsf_forecasts_add(bt->fc_norm, f, s, o, k, fb, fe, &e, err);
                if (rc == TSF_OK && lay->origins == TSF_ORIGINS_TIMES)
                    bt->fc_norm->entry[e].cutoff_time = lay->folds[k].cutoff;
            }
            if (rc != TSF_OK)
                return rc;
        }
    }
    R->fold_entry[F] = bt->fc->n_entries;
    return TSF_OK;
}

int tsf_backtest_run(tsf_backtest **out, const tsf_frame *f, const tsf_backtest_spec *spec,
                     const tsf_forecaster *models, size_t n_models, tsf_err *err)
{
    *out = NULL;
    int rc = check_spec(f, spec, models, n_models, err);
    if (rc != TSF_OK)
        return rc;
    run R = {.f = f, .spec = spec, .models = models, .M = n_models};
    size_t n_locks = 0;
    int lock_ok = 0;
    const char **names = malloc(n_models * sizeof *names);
    R.bt = calloc(1, sizeof *R.bt);
    R.model_lock = malloc(n_models * sizeof *R.model_lock);
    if (!names || !R.bt || !R.model_lock) {
        rc = tsf_err_set(err, TSF_ENOMEM, "backtest: out of memory");
        goto cleanup;
    }
    for (size_t m = 0; m < n_models; m++)
        names[m] = models[m].name;
    rc = tsf_forecasts_alloc(&R.bt->fc, f, spec->targets, spec->n_targets, names, n_models,
                             spec->quantiles, spec->n_quantiles, spec->horizon,
                             spec->last_points_only, err);
    if (rc == TSF_OK && spec->scale) {
        rc = tsf_forecasts_alloc(&R.bt->fc_norm, f, spec->targets, spec->n_targets, names, n_models,
                                 spec->quantiles, spec->n_quantiles, spec->horizon,
                                 spec->last_points_only, err);
        if (rc == TSF_OK)
            R.bt->fc_norm->scale = TSF_FC_NORMALIZED;
    }
    if (rc != TSF_OK)
        goto cleanup;
    if ((rc = pthread_mutex_init(&R.lock, NULL)) != 0) {
        rc = tsf_err_set(err, TSF_ENOMEM, "backtest: cannot create a mutex");
        goto cleanup;
    }
    lock_ok = 1;
    for (; n_locks < n_models; n_locks++)
        if (pthread_mutex_init(&R.model_lock[n_locks], NULL) != 0) {
            rc = tsf_err_set(err, TSF_ENOMEM, "backtest: cannot create a mutex");
            goto cleanup;
        }
    if ((rc = plan(&R, err)) != TSF_OK)
        goto cleanup;
    size_t jobs = spec->jobs ? spec->jobs : 1;
    /* Fits: chained with warm start (each needs the previous state), else independent. */
    /* Each rank fits and forecasts its own share alone; the exchange then runs on all. */
    tsf_par_local_begin();
    rc = run_tasks(&R, R.bt->n_fits, spec->warm_start ? 1 : jobs, fit_task, err);
    if (rc == TSF_OK)
        rc = run_tasks(&R, R.bt->n_folds, jobs, forecast_task, err);
    tsf_par_local_end();
    if (rc == TSF_OK && tsf_par_size() > 1)
        rc = exchange(&R, err);
    if (rc == TSF_OK && spec->scale) {
        if (!(R.bt->scalers = calloc(R.bt->n_fits, sizeof *R.bt->scalers))) {
            rc = tsf_err_set(err, TSF_ENOMEM, "backtest: out of memory");
            goto cleanup;
        }
        for (size_t g = 0; g < R.bt->n_fits; g++) {
            R.bt->scalers[g] = R.fits[g].scaler;
            R.fits[g].scaler = NULL;
        }
    }
cleanup:
    if (lock_ok)
        pthread_mutex_destroy(&R.lock);
    for (size_t m = 0; m < n_locks; m++)
        pthread_mutex_destroy(&R.model_lock[m]);
    for (size_t g = 0; R.fits && g < R.bt->n_fits; g++) {
        for (size_t m = 0; R.fits[g].state && m < n_models; m++)
            if (R.fits[g].state[m] && models[m].free_state)
                models[m].free_state(models[m].self, R.fits[g].state[m]);
        free(R.fits[g].state);
        tsf_scaler_free(R.fits[g].scaler);
    }
    free(R.fits);
    tsf_backtest_layout_free(R.lay);
    free(R.fold_entry);
    free(R.model_lock);
    free(names);
    if (rc != TSF_OK) {
        tsf_backtest_free(R.bt);
        return rc;
    }
    *out = R.bt;
    return TSF_OK;
}
