/* A recurrent network as a backtest forecaster: train on the fold's history windows, forecast
 * from the last lookback rows before the origin. See tsflow/rnn_forecaster.h. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "predict_internal.h"
#include "seasonal_internal.h"
#include "tsflow/calibrate.h"
#include "tsflow/rnn_forecaster.h"

void tsf_rnn_forecaster_config_init(tsf_rnn_forecaster_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->arch.cell = TSF_CELL_LSTM;
    cfg->arch.hidden = 32;
    cfg->arch.n_layers = 1;
    cfg->arch.head = TSF_HEAD_DIRECT;
    tsf_loss_init(&cfg->loss, TSF_LOSS_MSE);
    tsf_train_config_init(&cfg->train);
    cfg->lookback = 1;
    cfg->stride = 1;
}

int tsf_rnn_forecaster_config_from_model(tsf_rnn_forecaster_config *cfg, const tsf_rnn_model *m,
                                         const tsf_frame *f, size_t **cols, tsf_err *err)
{
    *cols = NULL;
    if (m->n_future)
        TSF_FAIL(err, TSF_EINVAL,
                 "model \"%s\" reads known-future covariates (%s%s): a backtest's history ends "
                 "at each origin, so their future values are unknown there",
                 m->name, m->future[0], m->n_future > 1 ? ", ..." : "");
    size_t *c = malloc((m->n_past ? m->n_past : 1) * sizeof *c);
    if (!c)
        TSF_FAIL(err, TSF_ENOMEM, "out of memory");
    for (size_t i = 0; i < m->n_past; i++) {
        c[i] = tsf_frame_col_index(f, m->past[i]);
        if (c[i] == (size_t)-1) {
            free(c);
            TSF_FAIL(err, TSF_EINVAL,
                     "the frame has no column \"%s\" (a past covariate of model \"%s\")",
                     m->past[i], m->name);
        }
    }
    cfg->name = m->name;
    cfg->arch = *tsf_rnn_config_of(m->rnn);
    cfg->loss = m->loss;
    cfg->inorm = m->inorm;
    cfg->lookback = m->lookback;
    cfg->past_cols = c;
    cfg->n_past = m->n_past;
    cfg->calendar = m->calendar;
    cfg->channel_independent = m->channel_independent;
    *cols = c;
    return TSF_OK;
}

int tsf_rnn_forecaster_check(const tsf_rnn_forecaster_config *cfg, tsf_err *err)
{
    const tsf_train_config *t = &cfg->train;
    if (cfg->lookback == 0)
        TSF_FAIL(err, TSF_EINVAL, "rnn forecaster: lookback must be at least 1");
    if (t->checkpoint || t->resume || t->meta)
        TSF_FAIL(err, TSF_EINVAL,
                 "rnn forecaster: checkpoints, resume and model metadata do not apply to "
                 "backtest fits (every fold trains its own network)");
    if (cfg->calibrate && !(cfg->loss.kind == TSF_LOSS_PINBALL && cfg->loss.n_quantiles > 1))
        TSF_FAIL(err, TSF_EINVAL,
                 "rnn forecaster: calibration shifts quantile forecasts: the model forecasts "
                 "none (expected a pinball loss with quantile levels)");
    if (cfg->ensemble > 64)
        TSF_FAIL(err, TSF_EINVAL, "rnn forecaster: ensemble %zu is more than 64 networks",
                 cfg->ensemble);
    if (t->epochs == 0 || t->batch_size == 0)
        TSF_FAIL(err, TSF_EINVAL, "rnn forecaster: epochs and batch_size must be at least 1");
    int rc = tsf_loss_check(&cfg->loss, err);
    if (rc == TSF_OK)
        rc = tsf_optim_config_check(&t->optim, err);
    if (rc == TSF_OK)
        rc = tsf_sched_config_check(&t->sched, err);
    if (rc == TSF_OK) {
        /* the network with a plausible shape: what does not depend on the data */
        tsf_rnn_config a = cfg->arch;
        a.lookback = cfg->lookback;
        a.horizon = 1;
        a.n_outputs = 1;
        a.n_inputs = 1 + cfg->n_past + 6;
        a.n_future = 0;
        a.n_quantiles = cfg->loss.n_quantiles;
        if (a.segment) /* segments: every input a forecast channel, the horizon whole segments */
            a.horizon = a.segment, a.n_inputs = 1;
        rc = tsf_rnn_config_check(&a, err);
    }
    if (rc != TSF_OK)
        return tsf_err_prefix(err, "rnn forecaster");
    return TSF_OK;
}

/* A fitted network and the lock that serialises forecasts through its workspaces. */
typedef struct fit_state {
    tsf_rnn_model **m; /* (n) the ensemble's networks, member k trained with seed + k */
    size_t n;
    tsf_calibration *calib; /* of the combined quantiles, or NULL */
    tsf_seasonal *seas;     /* (S, O) indices of each series and target, rows counted from the
                               series' first row; NULL: the network sees the data as it is */
    pthread_mutex_t lock;
} fit_state;

static void free_state(void *self, void *state)
{
    (void)self;
    fit_state *st = state;
    if (!st)
        return;
    pthread_mutex_destroy(&st->lock);
    for (size_t k = 0; k < st->n; k++)
        tsf_rnn_model_free(st->m[k]);
    free(st->m);
    tsf_calibration_free(st->calib);
    free(st->seas);
    free(st);
}

/* ---- Seasonal adjustment (tsflow/deseason.h) ------------------------------------------------
 * The indices are fitted in the data's units: a value z of hist is tsf_scaler_to_original(z)
 * there, and the adjusted value goes back through tsf_scaler_to_scaled, so the network sees the
 * adjusted series on the fit's scale. */

static double to_units(const tsf_fold_ctx *ctx, size_t s, size_t col, double z)
{
    return ctx->scaler ? tsf_scaler_to_original(ctx->scaler, s, col, z) : z;
}

static double to_scale(const tsf_fold_ctx *ctx, size_t s, size_t col, double x)
{
    return ctx->scaler ? tsf_scaler_to_scaled(ctx->scaler, s, col, x) : x;
}

/* Indices of every (series, target) on the fit rows of ctx, into *out (S * O, NULL when
 * cfg->deseason is NONE); note gets "deseason multiplicative (season 12, auto)" for one, or the
 * count of each kind. */
static int fit_seasonal(const tsf_rnn_forecaster_config *cfg, const tsf_fold_ctx *ctx,
                        tsf_seasonal **out, char *note, size_t n_note, tsf_err *err)
{
    *out = NULL;
    note[0] = '\0';
    if (cfg->deseason == TSF_DESEASON_NONE)
        return TSF_OK;
    const tsf_frame *h = ctx->hist;
    const size_t S = h->n_series, O = ctx->n_targets;
    tsf_seasonal *sv = calloc(S * O, sizeof *sv);
    double *y = malloc((h->n_rows ? h->n_rows : 1) * sizeof *y);
    int rc = TSF_OK;
    if (!sv || !y)
        rc = tsf_err_set(err, TSF_ENOMEM, "out of memory");
    for (size_t q = 0; rc == TSF_OK && q < S; q++) {
        const tsf_range f = ctx->fit[q];
        const size_t n = f.end > f.begin ? f.end - f.begin : 0, t0 = f.begin - h->series_start[q];
        for (size_t o = 0; rc == TSF_OK && o < O; o++) {
            const size_t col = ctx->targets[o];
            for (size_t i = 0; i < n; i++)
                y[i] = to_units(ctx, q, col, h->cols[col][f.begin + i]);
            tsf_seasonal *d = &sv[q * O + o];
            rc = tsf__seasonal_fit_rows(d, y, n, t0, cfg->season, cfg->lookback, ctx->horizon,
                                        cfg->deseason, err);
            if (rc != TSF_OK) {
                char b[64];
                tsf_err_prefix(err, "%s, column \"%s\"", tsf_frame_series_label(h, q, b, sizeof b),
                               h->col_names[col]);
                break;
            }
        }
    }
    if (rc == TSF_OK)
        tsf__seasonal_note(sv, S * O, cfg->season, note, n_note);
    free(y);
    if (rc != TSF_OK) {
        free(sv);
        return rc;
    }
    *out = sv;
    return TSF_OK;
}

/* A copy of ctx->hist with every target seasonally adjusted by seas (S, O). */
static int adjusted_copy(const tsf_fold_ctx *ctx, const tsf_seasonal *seas, tsf_frame **out,
                         tsf_err *err)
{
    const tsf_frame *h = ctx->hist;
    int rc = tsf_frame_copy_rows(out, h, 0, h->n_rows, err);
    if (rc != TSF_OK)
        return rc;
    const size_t O = ctx->n_targets;
    for (size_t q = 0; q < h->n_series; q++)
        for (size_t o = 0; o < O; o++) {
            const tsf_seasonal *d = &seas[q * O + o];
            if (d->kind == TSF_DESEASON_NONE)
                continue;
            const size_t col = ctx->targets[o], a = h->series_start[q];
            double *x = (*out)->cols[col];
            for (size_t r = a; r < h->series_start[q + 1]; r++)
                x[r] = to_scale(ctx, q, col,
                                tsf_seasonal_adjust(d, to_units(ctx, q, col, x[r]), r - a));
        }
    return TSF_OK;
}

/* The season put back on the forecasts out (L, O, P) of series s made at row t of the series
 * (its origin: the first forecast step). */
static void restore_season(const tsf_fold_ctx *ctx, const tsf_seasonal *seas, size_t s, size_t t,
                           size_t P, double *out)
{
    const size_t L = ctx->horizon, O = ctx->n_targets;
    for (size_t o = 0; o < O; o++) {
        const tsf_seasonal *d = &seas[s * O + o];
        if (d->kind == TSF_DESEASON_NONE)
            continue;
        const size_t col = ctx->targets[o];
        for (size_t l = 0; l < L; l++)
            for (size_t p = 0; p < P; p++) {
                double *v = out + (l * O + o) * P + p;
                *v = to_scale(ctx, s, col,
                              tsf_seasonal_restore(d, to_units(ctx, s, col, *v), t + l));
            }
    }
}

static tsf_window_spec window_spec(const tsf_rnn_forecaster_config *cfg, const tsf_fold_ctx *ctx)
{
    return (tsf_window_spec){.lookback = cfg->lookback,
                             .horizon = ctx->horizon,
                             .stride = cfg->stride ? cfg->stride : 1,
                             .target_cols = ctx->targets,
                             .n_targets = ctx->n_targets,
                             .past_cols = cfg->past_cols,
                             .n_past = cfg->n_past,
                             .calendar = cfg->calendar,
                             .channel_independent = cfg->channel_independent};
}

typedef struct fit_progress {
    const tsf_rnn_forecaster_config *cfg;
    size_t fold;
} fit_progress;

static int on_progress(void *user, const tsf_train_progress *p)
{
    const fit_progress *fp = user;
    return fp->cfg->progress(fp->cfg->progress_user, fp->fold, p);
}

/* Residuals the rank rule of tsflow/calibrate.h needs: n >= 1 / min(tau, 1 - tau) - 1 for each
 * level tau but the median (9 for 0.1 and 0.9). A calibration slice is taken from the training
 * windows only when it has that many windows on its own; a tail with fewer calibrates on its
 * early-stopping windows, every step of every window a residual (tsf_calibration_fit pools them
 * over the steps and, the windows being fewer than the rank needs, only widens), so that a
 * short series is calibrated instead of keeping the network's quantiles, which pinball training
 * on a few dozen windows leaves too narrow. */
static size_t calib_needed(const double *levels, size_t Q)
{
    size_t need = 0;
    for (size_t q = 0; q < Q; q++) {
        double tau = levels[q], lo = tau < 1 - tau ? tau : 1 - tau;
        size_t k = (size_t)ceil(1 / lo - 1 - 1e-9);
        if (fabs(tau - 0.5) > 1e-12 && k > need)
            need = k;
    }
    return need;
}

/* The held-out tail of a fit (TSF_CHOOSE_STOP or calibration): per series, of its k windows
 * the last v = max(1, k / 10) validate (early stopping), and with cal the v before them
 * validate while those last v calibrate, so that the windows that chose the epoch count are
 * not the ones whose residuals set the intervals (residuals of the windows that chose the
 * epoch are optimistic). Training windows end their targets before the first target of the
 * tail. Consecutive windows overlap by L - 1 target rows, so the first calibration targets
 * were also targets of the last validation windows: the slices are disjoint in windows (and
 * in what was chosen on them), not in every row. *train, *val and *cal stay NULL when a series
 * is too short to keep 4 training windows; *cal alone stays NULL (the caller then calibrates
 * on *val and says so) when it is too short for both slices, or when the calibration slices of
 * all series together would have fewer windows than calib_needed (then no slice is taken from
 * the training windows: the early-stopping windows' steps calibrate). */
static int hold_out(const tsf_rnn_forecaster_config *cfg, const tsf_fold_ctx *ctx,
                    const tsf_window_spec *spec, tsf_windows **train, tsf_windows **val,
                    tsf_windows **cal, tsf_err *err)
{
    const size_t S = ctx->hist->n_series, T = cfg->lookback, L = ctx->horizon;
    *train = *val = NULL;
    if (cal)
        *cal = NULL;
    tsf_range *r = malloc(3 * (S ? S : 1) * sizeof *r);
    if (!r)
        TSF_FAIL(err, TSF_ENOMEM, "out of memory");
    tsf_range *rt = r, *rv = r + S, *rc_ = r + 2 * S;
    /* ok: every series keeps 4 training windows beside one slice; split: beside two */
    int ok = 1, split = cal != NULL;
    size_t n_cal = 0;
    for (size_t q = 0; q < S; q++) {
        size_t rows = ctx->fit[q].end > ctx->fit[q].begin ? ctx->fit[q].end - ctx->fit[q].begin : 0;
        if (rows < T + L)
            continue;
        size_t k = rows - T - L + 1, v = k / 10 ? k / 10 : 1;
        ok &= k >= v + L - 1 + 4;
        split &= k >= 2 * v + L - 1 + 4;
        n_cal += v;
    }
    if (split && n_cal < calib_needed(cfg->loss.quantiles, cfg->loss.n_quantiles))
        split = 0;
    for (size_t q = 0; q < S && ok; q++) {
        tsf_range f = ctx->fit[q];
        rt[q] = rv[q] = rc_[q] = (tsf_range){f.begin, f.begin};
        size_t rows = f.end > f.begin ? f.end - f.begin : 0;
        if (rows < T + L)
            continue;
        size_t k = rows - T - L + 1, v = k / 10 ? k / 10 : 1;
        size_t last = f.end - L - v + 1; /* origin of the first window of the last slice */
        size_t first = split ? last - v : last;
        rt[q] = (tsf_range){f.begin, first};
        rv[q] = (tsf_range){first, split ? last + L - 1 : f.end}; /* split: origins < last */
        rc_[q] = (tsf_range){last, f.end};
    }
    int rc = TSF_OK;
    if (ok) {
        rc = tsf_windows_make_ranges(train, ctx->hist, spec, rt, 1, err);
        if (rc == TSF_OK)
            rc = tsf_windows_make_ranges(val, ctx->hist, spec, rv, 1, err);
        if (rc == TSF_OK && split)
            rc = tsf_windows_make_ranges(cal, ctx->hist, spec, rc_, 1, err);
        if (rc != TSF_OK) {
            tsf_windows_free(*train);
            tsf_windows_free(*val);
            *train = *val = NULL;
        }
    }
    free(r);
    return rc;
}

/* Train a fresh network (or prev's weights) of architecture arch on w, validating on val. */
static int train_one(const tsf_rnn_forecaster_config *cfg, const tsf_rnn_config *arch,
                     const tsf_windows *w, const tsf_windows *val, const tsf_train_config *tc,
                     const tsf_rnn_model *prev, tsf_rnn_model **out, tsf_train_history *h,
                     tsf_err *err)
{
    tsf_rnn_model *m = NULL;
    int rc = tsf_rnn_model_create(&m, cfg->name, arch, w, NULL, cfg->inorm, &cfg->loss,
                                  tc->batch_size, err);
    if (rc != TSF_OK)
        return rc;
    tsf_train_config c = *tc;
    if (prev) {
        /* continue from the previous fit's weights: same configuration, same tensor layout */
        size_t P = tsf_rnn_n_params(m->rnn);
        if (tsf_rnn_n_params(prev->rnn) != P) {
            rc = tsf_err_set(err, TSF_EINVAL,
                             "warm start: the previous fit's network has %zu parameters, this "
                             "one %zu",
                             tsf_rnn_n_params(prev->rnn), P);
            tsf_rnn_model_free(m);
            return rc;
        }
        memcpy(tsf_rnn_params(m->rnn), tsf_rnn_params(prev->rnn), P * sizeof(tsf_real));
        c.init_params = 0;
    }
    rc = tsf_rnn_model_train(m, w, val, &c, h, err);
    if (rc != TSF_OK) {
        tsf_rnn_model_free(m);
        return rc;
    }
    *out = m;
    return TSF_OK;
}

/* One member of a fit's ensemble: with a held-out tail, find the epoch count there, then train
 * on every window. Members run on their own threads; each writes only its own job. */
typedef struct member_job {
    const tsf_rnn_forecaster_config *cfg;
    const tsf_rnn_config *arch;
    const tsf_windows *w, *wt, *wv; /* all windows; training and validation parts of the tail */
    const tsf_windows *wc;          /* the tail's calibration slice, or NULL: calibrate on wv */
    tsf_train_config tc;            /* with this member's seed */
    const tsf_rnn_model *prev;      /* warm start, or NULL */
    int stop;                       /* the tail finds the epoch count of the final training */
    int calibrate;                  /* the tail's forecasts go to vfc */
    tsf_rnn_model *m;               /* out */
    tsf_forecasts *vfc;             /* out: the tail-trained network's forecasts of wc (or wv);
                                       without a tail, the final network's of w */
    tsf_train_history *h;           /* or NULL */
    size_t epochs;                  /* out: the epochs of the final training */
    int rc;
    tsf_err err;
} member_job;

/* m's forecasts of the validation windows wv (their frame's scale), for calibration. */
static int forecast_tail(tsf_rnn_model *m, const tsf_windows *wv, tsf_forecasts **out, tsf_err *err)
{
    size_t first = 0;
    int rc = tsf_rnn_model_forecasts_alloc(m, wv->frame, out, err);
    if (rc == TSF_OK)
        rc = tsf_forecasts_add_windows(*out, wv, &first, err);
    if (rc == TSF_OK)
        rc = tsf_rnn_model_predict_windows(m, wv, 0, *out, 0, first, err);
    if (rc != TSF_OK) {
        tsf_forecasts_free(*out);
        *out = NULL;
    }
    return rc;
}

static void *member_run(void *p)
{
    member_job *j = p;
    tsf_train_config tc = j->tc;
    if (j->wt) {
        tsf_train_history probe;
        tsf_train_history_init(&probe);
        tsf_rnn_model *m1 = NULL;
        j->rc = train_one(j->cfg, j->arch, j->wt, j->wv, &tc, j->prev, &m1, &probe, &j->err);
        if (j->rc == TSF_OK && j->calibrate)
            j->rc = forecast_tail(m1, j->wc ? j->wc : j->wv, &j->vfc, &j->err);
        tsf_rnn_model_free(m1);
        if (j->stop) {
            tc.epochs = probe.best_epoch + 1;
            tc.patience = 0;
        }
        tsf_train_history_clear(&probe);
        if (j->rc != TSF_OK)
            return NULL;
    }
    j->epochs = tc.epochs;
    j->rc = train_one(j->cfg, j->arch, j->w, NULL, &tc, j->prev, &j->m, j->h, &j->err);
    if (j->rc == TSF_OK && j->calibrate && !j->wt)
        j->rc = forecast_tail(j->m, j->w, &j->vfc, &j->err); /* no tail: see naive_centred */
    return NULL;
}

/* The windows of a fit: all of them into *w, and with tail the held-out tail's training and
 * validation parts into *wt and *wv (NULL when too short), and with wc (calibration) its
 * calibration slice into *wc (see hold_out). */
static int fit_windows(const tsf_rnn_forecaster_config *cfg, const tsf_fold_ctx *ctx, int tail,
                       tsf_windows **w, tsf_windows **wt, tsf_windows **wv, tsf_windows **wc,
                       tsf_err *err)
{
    tsf_window_spec spec = window_spec(cfg, ctx);
    *w = *wt = *wv = NULL;
    if (wc)
        *wc = NULL;
    int rc = tsf_windows_make_ranges(w, ctx->hist, &spec, ctx->fit, 1, err);
    if (rc != TSF_OK)
        return rc;
    if ((*w)->n_samples == 0)
        rc = tsf_err_set(err, TSF_EINVAL,
                         "no training window fits before the origin (lookback %zu + horizon "
                         "%zu rows are needed): raise train_length or first_origin",
                         cfg->lookback, ctx->horizon);
    else if (tail)
        rc = hold_out(cfg, ctx, &spec, wt, wv, wc, err);
    if (rc != TSF_OK) {
        tsf_windows_free(*w);
        *w = NULL;
    }
    return rc;
}

/* An empty fitted state for n networks. */
static int state_alloc(fit_state **out, size_t n, tsf_err *err)
{
    *out = NULL;
    fit_state *st = calloc(1, sizeof *st);
    if (!st)
        TSF_FAIL(err, TSF_ENOMEM, "out of memory");
    if (pthread_mutex_init(&st->lock, NULL) != 0) {
        free(st);
        TSF_FAIL(err, TSF_ENOMEM, "cannot create a mutex");
    }
    if (!(st->m = calloc(n, sizeof *st->m))) {
        free_state(NULL, st);
        TSF_FAIL(err, TSF_ENOMEM, "out of memory");
    }
    st->n = n;
    *out = st;
    return TSF_OK;
}

/* Train the n members of jobs, every one on its own thread (the first on this one); the
 * result of each depends on its seed only, so any thread count gives the same bits. The
 * networks go to st->m; the first failure is reported. */
static int run_members(member_job *jobs, size_t n, fit_state *st, tsf_err *err)
{
    pthread_t *threads = calloc(n, sizeof *threads);
    if (!threads)
        TSF_FAIL(err, TSF_ENOMEM, "out of memory");
    size_t started = 1;
    for (; started < n; started++)
        if (pthread_create(&threads[started], NULL, member_run, &jobs[started]) != 0)
            break;
    member_run(&jobs[0]);
    for (size_t k = started; k < n; k++)
        member_run(&jobs[k]); /* threads that could not start run here */
    for (size_t k = 1; k < started; k++)
        pthread_join(threads[k], NULL);
    free(threads);
    int rc = TSF_OK;
    for (size_t k = 0; k < n; k++) {
        st->m[k] = jobs[k].m;
        if (rc == TSF_OK && jobs[k].rc != TSF_OK) {
            rc = jobs[k].rc;
            tsf_err_set(err, rc, "%s%s", n > 1 ? "ensemble member: " : "", jobs[k].err.msg);
        }
    }
    return rc;
}

/* The fit's one line on what was chosen, appended to ch->why: the epoch count the held-out
 * tail found (tail: whether there was one), the ensemble's seeds and the seasonal adjustment
 * (deseason: fit_seasonal's note, or empty). */
static void fit_note(tsf_rnn_fit_choice *ch, int tail, size_t epochs, size_t n_windows, size_t n,
                     uint64_t seed, const char *deseason)
{
    size_t len = strlen(ch->why);
    if (tail)
        len += (size_t)snprintf(ch->why + len, sizeof ch->why - len,
                                "; best epoch %zu, refit on all %zu windows", epochs, n_windows);
    if (n > 1 && len < sizeof ch->why)
        len += (size_t)snprintf(ch->why + len, sizeof ch->why - len,
                                "%sensemble of %zu (seeds %lu to %lu)", len ? "; " : "", n,
                                (unsigned long)seed, (unsigned long)(seed + n - 1));
    if (deseason[0] && len < sizeof ch->why)
        snprintf(ch->why + len, sizeof ch->why - len, "%s%s", len ? "; " : "", deseason);
}

/* A fit too short for a held-out tail (a dozen windows: holding out one horizon would leave none
 * to train on) has only its training windows, to which pinball training fitted the network's
 * quantiles: their residuals say little about later errors (left uncalibrated, the 80% intervals
 * of the first fold of 72-row monthly series covered 38%). Such a fit calibrates as if the
 * network's point forecast erred as much as the seasonal naive forecast does on those windows
 * (season m = cfg->season of a series the fit did not adjust; else the naive, the last lookback
 * value: the benchmarks MASE scales by): each combined forecast of c (E, L, O, P) is moved by
 * benchmark - point, keeping the network's interval shape, before tsf_calibration_fit scores it
 * against the actuals (a, a copy, NaN where the benchmark is unknown), and the shifts only
 * widen. A model-free stand-in for held-out errors, conservative where the network beats the
 * benchmark. Returns which benchmark, for the log. */
static const char *naive_centred(double *c, double *a, const tsf_forecasts *f,
                                 const tsf_frame *frame, const tsf_seasonal *seas, size_t m)
{
    unsigned used = 0; /* 1: a seasonal naive, 2: a naive */
    const size_t E = f->n_entries, L = f->horizon, O = f->n_targets, P = f->n_values;
    for (size_t e = 0; e < E; e++)
        for (size_t o = 0; o < O; o++) {
            const size_t q = f->entry[e].series, r = f->entry[e].origin_row;
            const double *y = frame->cols[f->target_cols[o]];
            const int snaive = m > 1 && !(seas && seas[q * O + o].kind != TSF_DESEASON_NONE);
            used |= snaive ? 1u : 2u;
            for (size_t l = 0; l < L; l++) {
                /* the same phase in the last season before the origin */
                size_t back = snaive ? m - l % m : 1;
                double bench = r >= frame->series_start[q] + back ? y[r - back] : NAN;
                double *v = c + ((e * L + l) * O + o) * P, d = bench - v[0];
                for (size_t p = 0; p < P; p++)
                    v[p] += d;
                a[(e * L + l) * O + o] = isfinite(bench) ? f->actual[(e * L + l) * O + o] : NAN;
            }
        }
    return used == 1   ? "seasonal naive"
           : used == 2 ? "naive"
                       : "seasonal naive (naive where adjusted)";
}

/* The calibration of the combined forecasts of the held-out tail (each member's network trained
 * before it: jobs[k].vfc), or without a tail of the training windows (naive_centred), into *out
 * (NULL when there are too few residuals); the note in ch->why says which. */
static int calibrate_tail(const member_job *jobs, size_t N, const tsf_seasonal *seas,
                          tsf_calibration **out, tsf_rnn_fit_choice *ch, tsf_err *err)
{
    *out = NULL;
    size_t len = strlen(ch->why);
    const char *sep = len ? "; " : "";
    const tsf_forecasts *f0 = jobs[0].vfc;
    const int insample = !jobs[0].wt;
    const size_t E = f0->n_entries, L = f0->horizon, O = f0->n_targets, P = f0->n_values;
    const size_t need = calib_needed(f0->quantiles, f0->n_quantiles);
    const char *kind = insample ? "training" : jobs[0].wc ? "calibration" : "validation";
    if (E * L < need) {
        snprintf(ch->why + len, sizeof ch->why - len,
                 "%snot calibrated (%zu %s window%s x %zu step%s = %zu residuals, fewer than the "
                 "%zu the rank rule needs)",
                 sep, E, kind, E == 1 ? "" : "s", L, L == 1 ? "" : "s", E * L, need);
        return TSF_OK;
    }
    double *v = malloc(N * E * L * O * P * sizeof *v), *c = malloc(E * L * O * P * sizeof *c);
    double *a = insample ? malloc(E * L * O * sizeof *a) : NULL;
    const char *bench = "";
    int rc = TSF_OK;
    if (!v || !c || (insample && !a))
        rc = tsf_err_set(err, TSF_ENOMEM, "out of memory");
    for (size_t k = 0; rc == TSF_OK && k < N; k++)
        memcpy(v + k * E * L * O * P, jobs[k].vfc->value, E * L * O * P * sizeof *v);
    if (rc == TSF_OK) {
        tsf__ensemble_combine(v, N, E * L * O, P, c);
        if (insample)
            bench = naive_centred(c, a, f0, jobs[0].w->frame, seas, jobs[0].cfg->season);
        rc = tsf_calibration_fit(out, c, insample ? a : f0->actual, E, L, O, f0->quantiles,
                                 f0->n_quantiles, err);
    }
    if (rc == TSF_OK && *out && insample)
        tsf_calibration_widen_only(*out);
    if (rc == TSF_OK) {
        char d[256], how[160];
        if (insample)
            snprintf(how, sizeof how,
                     ": no held-out tail, so the network's intervals centred on the %s forecasts "
                     "of its training windows",
                     bench);
        else
            snprintf(how, sizeof how, "%s",
                     jobs[0].wc ? " after the early-stopping windows"
                                : ": too few windows for a separate calibration slice");
        snprintf(ch->why + len, sizeof ch->why - len, "%s%s (%zu %s window%s x %zu step%s%s)", sep,
                 *out ? tsf_calibration_describe(*out, d, sizeof d)
                      : "not calibrated (too few residuals)",
                 E,
                 insample     ? "training"
                 : jobs[0].wc ? "calibration-slice"
                              : "early-stopping",
                 E == 1 ? "" : "s", L, L == 1 ? "" : "s", how);
    }
    free(v);
    free(c);
    free(a);
    return rc;
}

/* The data a fit trains on: with seasonal adjustment, *c is ctx with hist replaced by the
 * adjusted copy *adj and *seas the indices (both NULL when no series is adjusted); note says
 * what was chosen (empty without deseason). */
static int fit_data(const tsf_rnn_forecaster_config *cfg, const tsf_fold_ctx *ctx, tsf_fold_ctx *c,
                    tsf_frame **adj, tsf_seasonal **seas, char *note, size_t n_note, tsf_err *err)
{
    *c = *ctx;
    *adj = NULL;
    int rc = fit_seasonal(cfg, ctx, seas, note, n_note, err);
    if (rc != TSF_OK || !*seas)
        return rc;
    int any = 0;
    for (size_t i = 0; i < ctx->hist->n_series * ctx->n_targets; i++)
        any |= (*seas)[i].kind != TSF_DESEASON_NONE;
    if (!any) {
        free(*seas);
        *seas = NULL;
        return TSF_OK;
    }
    if ((rc = adjusted_copy(ctx, *seas, adj, err)) != TSF_OK) {
        free(*seas);
        *seas = NULL;
        return rc;
    }
    c->hist = *adj;
    return TSF_OK;
}

static int fit(void *self, const tsf_fold_ctx *ctx0, const void *warm, void **state, tsf_err *err)
{
    const tsf_rnn_forecaster_config *cfg = self;
    const fit_state *prev = warm;
    *state = NULL;
    const size_t N = cfg->ensemble > 1 ? cfg->ensemble : 1;
    unsigned choose = cfg->chosen & ~(prev ? (unsigned)TSF_CHOOSE_HIDDEN : 0u);
    tsf_windows *w = NULL, *wt = NULL, *wv = NULL, *wc = NULL;
    fit_state *st = NULL;
    tsf_train_history hist, *h = NULL;
    member_job *jobs = NULL;
    int calibrate = cfg->calibrate != 0;
    tsf_fold_ctx c, *ctx = &c;
    tsf_frame *adj = NULL;
    tsf_seasonal *seas = NULL;
    char dnote[160];
    int rc = fit_data(cfg, ctx0, &c, &adj, &seas, dnote, sizeof dnote, err);
    if (rc != TSF_OK)
        return rc;
    rc = fit_windows(cfg, ctx, (choose & TSF_CHOOSE_STOP) || calibrate, &w, &wt, &wv,
                     calibrate ? &wc : NULL, err);
    if (rc != TSF_OK || (rc = state_alloc(&st, N, err)) != TSF_OK)
        goto done;
    st->seas = seas;
    seas = NULL;
    tsf_rnn_config arch = cfg->arch;
    tsf_train_config tc = cfg->train;
    tc.cancel = NULL;
    fit_progress fp = {cfg, ctx->fold};
    tc.progress = cfg->progress ? on_progress : NULL;
    tc.progress_user = &fp;
    tsf_rnn_fit_choice ch = {.hidden = arch.hidden,
                             .epochs = tc.epochs,
                             .batch_size = tc.batch_size,
                             .patience = tc.patience};
    if (choose) {
        tsf_rnn_fit_choose(choose, wt ? wt->n_samples : w->n_samples, wv ? wv->n_samples : 0, &ch);
        arch.hidden = ch.hidden;
        tc.epochs = ch.epochs;
        tc.batch_size = ch.batch_size;
        tc.patience = ch.patience;
    }
    if (cfg->histories && ctx->fold < cfg->n_histories) {
        h = &hist;
        tsf_train_history_init(h);
    }
    if (!(jobs = calloc(N, sizeof *jobs))) {
        rc = tsf_err_set(err, TSF_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t k = 0; k < N; k++) {
        jobs[k] = (member_job){.cfg = cfg,
                               .arch = &arch,
                               .w = w,
                               .wt = wt,
                               .wv = wv,
                               .wc = wc,
                               .tc = tc,
                               .prev = prev ? prev->m[k < prev->n ? k : 0] : NULL,
                               .stop = (choose & TSF_CHOOSE_STOP) != 0,
                               .calibrate = calibrate,
                               .h = k == 0 ? h : NULL,
                               .err = TSF_ERR_INIT};
        jobs[k].tc.seed = (unsigned long)(ctx->seed + k);
    }
    if ((rc = run_members(jobs, N, st, err)) != TSF_OK)
        goto done;
    fit_note(&ch, wt && (choose & TSF_CHOOSE_STOP), jobs[0].epochs, w->n_samples, N, ctx->seed,
             dnote);
    if (calibrate && (rc = calibrate_tail(jobs, N, st->seas, &st->calib, &ch, err)) != TSF_OK)
        goto done;
    if (h && ch.why[0])
        snprintf(h->note, sizeof h->note, "%s", ch.why);
    if (h) {
        /* each fold's slot is written by its own fit only: no lock needed */
        tsf_train_history_clear(&cfg->histories[ctx->fold]);
        cfg->histories[ctx->fold] = hist;
        h = NULL;
    }
done:
    if (h)
        tsf_train_history_clear(h);
    for (size_t k = 0; jobs && k < N; k++)
        tsf_forecasts_free(jobs[k].vfc);
    free(jobs);
    tsf_windows_free(w);
    tsf_windows_free(wt);
    tsf_windows_free(wv);
    tsf_windows_free(wc);
    tsf_frame_free(adj);
    free(seas);
    if (rc != TSF_OK) {
        free_state(NULL, st);
        return rc;
    }
    *state = st;
    return TSF_OK;
}

static int forecast(void *self, const void *state, const tsf_fold_ctx *ctx, size_t s, double *out,
                    tsf_err *err)
{
    const tsf_rnn_forecaster_config *cfg = self;
    fit_state *st = (fit_state *)state;
    const tsf_frame *h = ctx->hist;
    tsf_window_spec spec = window_spec(cfg, ctx);
    size_t origin = h->series_start[s + 1];
    size_t n = origin - h->series_start[s];
    if (n < cfg->lookback)
        TSF_FAIL(err, TSF_EINVAL, "%zu rows before the origin, fewer than the lookback %zu", n,
                 cfg->lookback);
    tsf_windows *w = NULL;
    tsf_forecasts *fc = NULL;
    tsf_frame *adj = NULL;
    size_t first = 0;
    int rc = st->seas ? adjusted_copy(ctx, st->seas, &adj, err) : TSF_OK;
    if (adj)
        h = adj;
    if (rc == TSF_OK)
        rc = tsf_windows_make_at(&w, h, &spec, &s, &origin, 1, 1, err);
    if (rc != TSF_OK) {
        tsf_frame_free(adj);
        return rc;
    }
    const size_t L = ctx->horizon, O = ctx->n_targets, P = 1 + ctx->n_quantiles, N = st->n;
    double *v = malloc(N * L * O * P * sizeof *v); /* (N, L, O, P) each member's values */
    if (!v) {
        tsf_windows_free(w);
        tsf_frame_free(adj);
        TSF_FAIL(err, TSF_ENOMEM, "out of memory");
    }
    pthread_mutex_lock(&st->lock);
    for (size_t k = 0; rc == TSF_OK && k < N; k++) {
        rc = tsf_rnn_model_forecasts_alloc(st->m[k], h, &fc, err);
        if (rc == TSF_OK)
            rc = tsf_forecasts_add_windows(fc, w, &first, err);
        if (rc == TSF_OK)
            rc = tsf_rnn_model_predict_windows(st->m[k], w, 1, fc, 0, first, err);
        /* the model's slots: the point forecast, then its quantile levels when it has them;
         * the backtest's levels are the model's or none */
        for (size_t l = 0; rc == TSF_OK && l < L; l++)
            for (size_t o = 0; o < O; o++) {
                const double *y = tsf_forecasts_at(fc, first, l, o, 0);
                double *d = v + ((k * L + l) * O + o) * P;
                d[0] = y[0];
                for (size_t p = 1; p < P; p++)
                    d[p] = P == fc->n_values ? y[p] : NAN;
            }
        tsf_forecasts_free(fc);
        fc = NULL;
    }
    pthread_mutex_unlock(&st->lock);
    if (rc == TSF_OK) {
        tsf__ensemble_combine(v, N, L * O, P, out);
        if (st->calib)
            tsf_calibration_apply(st->calib, out, 1, 1, L, P);
        if (st->seas)
            restore_season(ctx, st->seas, s, n, P, out);
    }
    free(v);
    tsf_forecasts_free(fc);
    tsf_windows_free(w);
    tsf_frame_free(adj);
    return rc;
}

void tsf_rnn_forecaster(tsf_forecaster *out, const tsf_rnn_forecaster_config *cfg)
{
    *out = (tsf_forecaster){.name = cfg->name ? cfg->name : tsf_rnn_cell_name(cfg->arch.cell),
                            .self = (void *)cfg,
                            .reentrant = 1,
                            .fit = fit,
                            .forecast = forecast,
                            .free_state = free_state,
                            .min_history = cfg->lookback};
}
