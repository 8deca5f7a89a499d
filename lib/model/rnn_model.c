/* The pipeline's forecasting model (tsflow/rnn_model.h): a network plus its window
 * specification and scaler by column name, instance normalization, training and prediction on
 * windows, forecasting past the end of a frame, and model files with the pipeline's metadata.
 * Float build only (libtsflow). */
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "predict_internal.h"
#include "seasonal_internal.h"
#include "tsflow/rnn_model.h"
#include "tsflow/sha256.h"

/* ---- small helpers ----------------------------------------------------------------------- */

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

static void strv_free(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

/* Copies of the frame's names of columns cols[0..n); NULL on failure (or when n == 0). */
static char **col_names(const tsf_frame *f, const size_t *cols, size_t n)
{
    if (n == 0)
        return NULL;
    char **v = calloc(n, sizeof *v);
    for (size_t i = 0; v && i < n; i++)
        if (!(v[i] = dup_str(f->col_names[cols[i]]))) {
            strv_free(v, i);
            return NULL;
        }
    return v;
}

/* names joined by '\n' (malloc'd). */
static char *join_lines(char *const *v, size_t n)
{
    size_t len = 1;
    for (size_t i = 0; i < n; i++)
        len += strlen(v[i]) + 1;
    char *s = malloc(len), *p = s;
    if (!s)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        size_t k = strlen(v[i]);
        memcpy(p, v[i], k);
        p += k;
        if (i + 1 < n)
            *p++ = '\n';
    }
    *p = '\0';
    return s;
}

/* Split text at '\n' into *n malloc'd strings (text NULL or "": none). */
static int split_lines(const char *text, char ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (!text || !text[0])
        return 0;
    size_t k = 1;
    for (const char *p = text; *p; p++)
        k += *p == '\n';
    char **v = calloc(k, sizeof *v);
    if (!v)
        return -1;
    const char *a = text;
    for (size_t i = 0; i < k; i++) {
        const char *b = strchr(a, '\n');
        size_t len = b ? (size_t)(b - a) : strlen(a);
        if (!(v[i] = malloc(len + 1))) {
            strv_free(v, i);
            return -1;
        }
        memcpy(v[i], a, len);
        v[i][len] = '\0';
        a = b ? b + 1 : a + len;
    }
    *out = v;
    *n = k;
    return 0;
}

/* "a, b, c" of names into buf. */
static char *list_names(char *const *v, size_t n, char *buf, size_t size)
{
    size_t u = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && u < size; i++) {
        int w = snprintf(buf + u, size - u, "%s%s", i ? ", " : "", v[i]);
        if (w < 0)
            break;
        u += (size_t)w;
    }
    return buf;
}

static void model_scaler_free(tsf_model_scaler *s)
{
    if (!s)
        return;
    strv_free(s->cols, s->n_cols);
    strv_free(s->series, s->series ? s->n_groups : 0);
    free(s->center);
    free(s->scale);
    free(s->lambda);
    free(s);
}

static tsf_model_scaler *model_scaler_alloc(size_t n_groups, size_t n_cols)
{
    tsf_model_scaler *s = calloc(1, sizeof *s);
    size_t np = n_groups * n_cols > 0 ? n_groups * n_cols : 1;
    if (!s)
        return NULL;
    s->n_groups = n_groups;
    s->n_cols = n_cols;
    s->cols = calloc(n_cols ? n_cols : 1, sizeof *s->cols);
    s->center = malloc(np * sizeof *s->center);
    s->scale = malloc(np * sizeof *s->scale);
    s->lambda = malloc(np * sizeof *s->lambda);
    if (!s->cols || !s->center || !s->scale || !s->lambda) {
        model_scaler_free(s);
        return NULL;
    }
    return s;
}

void tsf_rnn_model_free(tsf_rnn_model *m)
{
    if (!m)
        return;
    free(m->name);
    tsf_rnn_free(m->rnn);
    strv_free(m->targets, m->n_targets);
    strv_free(m->past, m->n_past);
    strv_free(m->future, m->n_future);
    model_scaler_free(m->scaler);
    for (size_t k = 0; k + 1 < m->n_members; k++)
        tsf_rnn_free(m->members[k]);
    free(m->members);
    tsf_calibration_free(m->calib);
    tsf__model_seasonal_free(m->seasonal);
    free(m);
}

/* ---- creating ---------------------------------------------------------------------------- */

/* The scaler's parameters for the columns the windows read (those it scales), by name. */
static int copy_scaler(tsf_rnn_model *m, const tsf_scaler *sc, const tsf_windows *w, tsf_err *err)
{
    const tsf_frame *f = w->frame;
    const tsf_window_spec *sp = &w->spec;
    if (sc->n_frame_cols != f->n_cols || sc->n_series != f->n_series)
        TSF_FAIL(err, TSF_EINVAL,
                 "the scaler was fitted on a frame of %zu columns and %zu series, but the windows "
                 "come from one of %zu columns and %zu series (expected the scaler of the frame "
                 "the windows were cut from)",
                 sc->n_frame_cols, sc->n_series, f->n_cols, f->n_series);
    size_t n_used = sp->n_targets + sp->n_past + sp->n_future;
    size_t *used = malloc((n_used ? n_used : 1) * sizeof *used), nc = 0;
    if (!used)
        TSF_FAIL(err, TSF_ENOMEM, "out of memory");
    const size_t *lists[] = {sp->target_cols, sp->past_cols, sp->future_cols};
    const size_t lens[] = {sp->n_targets, sp->n_past, sp->n_future};
    for (int l = 0; l < 3; l++)
        for (size_t i = 0; i < lens[l]; i++)
            if (sc->col_pos[lists[l][i]] != SIZE_MAX)
                used[nc++] = lists[l][i];
    tsf_model_scaler *ms = nc ? model_scaler_alloc(sc->n_groups, nc) : NULL;
    int rc = TSF_OK;
    if (nc == 0)
        goto done; /* the scaler touches none of the model's columns */
    if (!ms) {
        rc = tsf_err_set(err, TSF_ENOMEM, "out of memory");
        goto done;
    }
    ms->kind = sc->spec.kind;
    ms->pre = sc->spec.pre;
    ms->per_series = sc->n_groups > 1 || sc->spec.per_series;
    for (size_t k = 0; k < nc; k++) {
        if (!(ms->cols[k] = dup_str(f->col_names[used[k]]))) {
            rc = tsf_err_set(err, TSF_ENOMEM, "out of memory");
            goto done;
        }
        size_t pos = sc->col_pos[used[k]];
        for (size_t g = 0; g < sc->n_groups; g++) {
            ms->center[g * nc + k] = sc->center[g * sc->spec.n_cols + pos];
            ms->scale[g * nc + k] = sc->scale[g * sc->spec.n_cols + pos];
            ms->lambda[g * nc + k] = sc->lambda[g * sc->spec.n_cols + pos];
        }
    }
    if (ms->per_series) {
        if (!(ms->series = calloc(sc->n_groups, sizeof *ms->series))) {
            rc = tsf_err_set(err, TSF_ENOMEM, "out of memory");
            goto done;
        }
        for (size_t g = 0; g < sc->n_groups; g++)
            if (!(ms->series[g] = dup_str(f->series_ids ? f->series_ids[g] : ""))) {
                rc = tsf_err_set(err, TSF_ENOMEM, "out of memory");
                goto done;
            }
    }
    m->scaler = ms;
    ms = NULL;
done:
    model_scaler_free(ms);
    free(used);
    return rc;
}

/* tsf_train_config_init's recipe with the network's batch size and the model's loss. */
static void default_recipe(tsf_rnn_model *m)
{
    tsf_train_config_init(&m->train);
    m->train.batch_size = tsf_rnn_max_batch(m->rnn);
    m->train.loss = m->loss;
}

/* The recipe without the fields that point elsewhere. */
static void set_recipe(tsf_rnn_model *m, const tsf_train_config *cfg)
{
    m->train = *cfg;
    m->train.loss = m->loss;
    m->train.checkpoint = NULL;
    m->train.resume = NULL;
    m->train.meta = NULL;
    m->train.n_meta = 0;
    m->train.progress = NULL;
    m->train.progress_user = NULL;
    m->train.cancel = NULL;
}

void tsf_rnn_model_set_recipe(tsf_rnn_model *m, const tsf_train_config *cfg)
{
    set_recipe(m, cfg);
}

static int check_name(const char *name, const char *what, tsf_err *err)
{
    if (strchr(name, '\n'))
        TSF_FAIL(err, TSF_EINVAL, "%s \"%s\" contains a line break, which model files cannot store",
                 what, name);
    return TSF_OK;
}

int tsf_rnn_model_create(tsf_rnn_model **out, const char *name, const tsf_rnn_config *arch,
                         const tsf_windows *w, const tsf_scaler *scaler, tsf_inorm inorm,
                         const tsf_loss *loss, size_t max_batch, tsf_err *err)
{
    *out = NULL;
    const tsf_window_spec *sp = &w->spec;
    const tsf_frame *f = w->frame;
    int rc = tsf_loss_check(loss, err);
    if (rc != TSF_OK)
        return rc;
    if ((unsigned)inorm > TSF_INORM_MEAN)
        TSF_FAIL(err, TSF_EINVAL, "unknown instance normalization %d", (int)inorm);
    tsf_rnn_model *m = calloc(1, sizeof *m);
    if (!m)
        TSF_FAIL(err, TSF_ENOMEM, "out of memory");
    m->loss = *loss;
    m->inorm = inorm;
    m->lookback = sp->lookback;
    m->horizon = sp->horizon;
    m->calendar = sp->calendar;
    m->channel_independent = sp->channel_independent;
    m->n_targets = sp->n_targets;
    m->n_past = sp->n_past;
    m->n_future = sp->n_future;
    m->name = dup_str(name ? name : tsf_rnn_cell_name(arch->cell));
    m->targets = col_names(f, sp->target_cols, sp->n_targets);
    m->past = col_names(f, sp->past_cols, sp->n_past);
    m->future = col_names(f, sp->future_cols, sp->n_future);
    if (!m->name || (sp->n_targets && !m->targets) || (sp->n_past && !m->past) ||
        (sp->n_future && !m->future)) {
        rc = tsf_err_set(err, TSF_ENOMEM, "out of memory");
        goto fail;
    }
    if ((rc = check_name(m->name, "the model name", err)))
        goto fail;
    char *const *lists[] = {m->targets, m->past, m->future};
    const size_t lens[] = {m->n_targets, m->n_past, m->n_future};
    for (int l = 0; l < 3; l++)
        for (size_t i = 0; i < lens[l]; i++)
            if ((rc = check_name(lists[l][i], "column", err)))
                goto fail;
    tsf_rnn_config c = *arch;
    c.n_inputs = w->n_inputs;
    c.n_future = w->n_future_inputs;
    c.lookback = sp->lookback;
    c.horizon = sp->horizon;
    c.n_outputs = w->n_outputs;
    c.n_quantiles = loss->n_quantiles;
    if ((rc = tsf_rnn_alloc(&m->rnn, &c, max_batch, err)))
        goto fail;
    default_recipe(m);
    if (scaler && (rc = copy_scaler(m, scaler, w, err)))
        goto fail;
    *out = m;
    return TSF_OK;
fail:
    tsf_rnn_model_free(m);
    return rc;
}

int tsf_rnn_model_check_windows(const tsf_rnn_model *m, const tsf_windows *w, const char *what,
                                tsf_err *err)
{
    const tsf_window_spec *sp = &w->spec;
    const tsf_frame *f = w->frame;
    if (sp->lookback != m->lookback || sp->horizon != m->horizon)
        TSF_FAIL(err, TSF_EINVAL,
                 "%s windows have lookback %zu and horizon %zu, the model %zu and %zu", what,
                 sp->lookback, sp->horizon, m->lookback, m->horizon);
    if (sp->calendar != m->calendar || !sp->channel_independent != !m->channel_independent)
        TSF_FAIL(err, TSF_EINVAL,
                 "%s windows differ from the model's in their calendar features or channel "
                 "independence (expected windows cut like the training windows)",
                 what);
    const struct {
        const char *kind;
        const size_t *cols;
        size_t n;
        char *const *names;
        size_t n_names;
    } lists[] = {{"targets", sp->target_cols, sp->n_targets, m->targets, m->n_targets},
                 {"past covariates", sp->past_cols, sp->n_past, m->past, m->n_past},
                 {"future covariates", sp->future_cols, sp->n_future, m->future, m->n_future}};
    for (int l = 0; l < 3; l++) {
        int same = lists[l].n == lists[l].n_names;
        for (size_t i = 0; same && i < lists[l].n; i++)
            same = strcmp(f->col_names[lists[l].cols[i]], lists[l].names[i]) == 0;
        if (!same) {
            char have[512], want[512];
            char **hv = col_names(f, lists[l].cols, lists[l].n);
            list_names(hv, hv ? lists[l].n : 0, have, sizeof have);
            strv_free(hv, lists[l].n);
            list_names(lists[l].names, lists[l].n_names, want, sizeof want);
            TSF_FAIL(err, TSF_EINVAL, "%s windows have %s (%s), the model %s (%s)", what,
                     lists[l].kind, lists[l].n ? have : "none", lists[l].kind,
                     lists[l].n_names ? want : "none");
        }
    }
    return TSF_OK;
}

/* ---- training ---------------------------------------------------------------------------- */

/* A batch source over windows with instance normalization: inputs shifted as
 * tsf_inorm_apply does, targets shifted by the same amount (loss(yhat + s, y) =
 * loss(yhat, y - s), so training needs no restore). */
typedef struct inorm_source {
    tsf_batch_source base;
    tsf_inorm mode;
} inorm_source;

static void inorm_gather(void *ctx, const size_t *idx, size_t B, float *x, float *xf, float *y)
{
    const inorm_source *s = ctx;
    const tsf_batch_source *b = &s->base;
    b->gather(b->ctx, idx, B, x, xf, y);
    if (s->mode == TSF_INORM_NONE)
        return;
    /* The shift of tsf_inorm_apply (mean accumulated in double, rounded to float once), applied
     * to the targets too. */
    const size_t T = b->lookback, L = b->horizon, I = b->n_inputs, O = b->n_outputs;
    for (size_t j = 0; j < B; j++)
        for (size_t c = 0; c < O; c++) {
            double mean = 0;
            if (s->mode == TSF_INORM_LAST) {
                mean = x[((T - 1) * B + j) * I + c];
            } else {
                for (size_t t = 0; t < T; t++)
                    mean += x[(t * B + j) * I + c];
                mean /= (double)T;
            }
            float sh = (float)mean;
            for (size_t t = 0; t < T; t++)
                x[(t * B + j) * I + c] -= sh;
            if (y)
                for (size_t l = 0; l < L; l++)
                    y[(l * B + j) * O + c] -= sh;
        }
}

static void inorm_describe(void *ctx, size_t k, tsf_sample_part part, size_t step, size_t feature,
                           char *buf, size_t n)
{
    const inorm_source *s = ctx;
    s->base.describe(s->base.ctx, k, part, step, feature, buf, n);
}

static void inorm_source_init(inorm_source *s, const tsf_windows *w, tsf_inorm mode,
                              tsf_batch_source *src)
{
    memset(s, 0, sizeof *s);
    tsf_batch_source_windows(&s->base, w);
    s->mode = mode;
    *src = s->base;
    src->gather = inorm_gather;
    src->describe = inorm_describe;
    src->ctx = s;
}

/* The SHA-256 of what training windows read: the frame's shape, names and values (time
 * included) and the windows' origins and series. */
static const char *data_sha256(const tsf_windows *w, char hex[65])
{
    const tsf_frame *f = w->frame;
    tsf_sha256 c;
    tsf_sha256_init(&c);
    uint64_t dims[3] = {f->n_rows, f->n_cols, w->n_windows};
    tsf_sha256_update(&c, dims, sizeof dims);
    for (size_t j = 0; j < f->n_cols; j++) {
        tsf_sha256_update(&c, f->col_names[j], strlen(f->col_names[j]) + 1);
        tsf_sha256_update(&c, f->cols[j], f->n_rows * sizeof *f->cols[j]);
    }
    tsf_sha256_update(&c, f->time, f->n_rows * sizeof *f->time);
    tsf_sha256_update(&c, w->origin, w->n_windows * sizeof *w->origin);
    tsf_sha256_update(&c, w->series, w->n_windows * sizeof *w->series);
    unsigned char d[32];
    tsf_sha256_final(&c, d);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    return hex;
}

int tsf_rnn_model_train(tsf_rnn_model *m, const tsf_windows *train, const tsf_windows *val,
                        const tsf_train_config *cfg, tsf_train_history *hist, tsf_err *err)
{
    int rc = tsf_rnn_model_check_windows(m, train, "training", err);
    if (rc == TSF_OK && val)
        rc = tsf_rnn_model_check_windows(m, val, "validation", err);
    if (rc != TSF_OK)
        return rc;
    if (cfg->meta)
        TSF_FAIL(err, TSF_EINVAL, "training: cfg->meta must be NULL (the model supplies it)");
    tsf_train_config c = *cfg;
    c.loss = m->loss;
    /* The recipe is set first: checkpoints written during training carry it. */
    tsf_train_config old = m->train;
    set_recipe(m, cfg);
    tsf_network_meta *meta = NULL;
    size_t n_meta = 0;
    void *store = NULL;
    if ((rc = tsf_rnn_model_meta(m, &meta, &n_meta, &store, err))) {
        m->train = old;
        return rc;
    }
    /* The training data's hash goes with the model's entries, for a resume to compare. */
    char hash[65];
    tsf_network_meta all[16];
    if (n_meta + 1 > sizeof all / sizeof *all) {
        tsf_rnn_model_meta_free(meta, n_meta, store);
        m->train = old;
        TSF_FAIL(err, TSF_EINVAL, "training: too many model entries (%zu)", n_meta);
    }
    memcpy(all, meta, n_meta * sizeof *meta);
    all[n_meta] = (tsf_network_meta){"train.data_sha256", NULL, 0, data_sha256(train, hash)};
    c.meta = all;
    c.n_meta = n_meta + 1;
    inorm_source ts, vs;
    tsf_batch_source tsrc, vsrc;
    inorm_source_init(&ts, train, m->inorm, &tsrc);
    if (val)
        inorm_source_init(&vs, val, m->inorm, &vsrc);
    rc = tsf_train(m->rnn, &tsrc, val ? &vsrc : NULL, &c, hist, err);
    tsf_rnn_model_meta_free(meta, n_meta, store);
    if (rc != TSF_OK)
        m->train = old;
    return rc;
}

/* One member of an ensemble's training, on its own thread: view is the model with the member's
 * network, cfg has its seed. */
typedef struct member_train {
    tsf_rnn_model view;
    const tsf_windows *train, *val;
    tsf_train_config cfg;
    tsf_train_history *hist;
    int rc;
    tsf_err err;
} member_train;

static void *member_train_run(void *p)
{
    member_train *j = p;
    j->rc = tsf_rnn_model_train(&j->view, j->train, j->val, &j->cfg, j->hist, &j->err);
    return NULL;
}

/* Member 0's progress, passed on; a stop it asks for stops the other members too. */
typedef struct ensemble_progress {
    tsf_train_progress_fn fn;
    void *user;
    volatile sig_atomic_t stop;
} ensemble_progress;

static int ensemble_on_progress(void *user, const tsf_train_progress *p)
{
    ensemble_progress *e = user;
    int r = e->fn(e->user, p);
    if (r)
        e->stop = 1;
    return r;
}

int tsf_rnn_model_train_ensemble(tsf_rnn_model *m, size_t n, const tsf_windows *train,
                                 const tsf_windows *val, const tsf_train_config *cfg,
                                 tsf_train_history *hist, tsf_err *err)
{
    if (n <= 1)
        return tsf_rnn_model_train(m, train, val, cfg, hist, err);
    if (n > 64)
        TSF_FAIL(err, TSF_EINVAL, "ensemble: %zu networks, more than 64", n);
    if (cfg->checkpoint || cfg->resume)
        TSF_FAIL(err, TSF_EINVAL,
                 "ensemble: checkpoints and resume hold one network (expected no save and no "
                 "resume with an ensemble of %zu)",
                 n);
    member_train *jobs = calloc(n, sizeof *jobs);
    pthread_t *threads = calloc(n, sizeof *threads);
    tsf_rnn **nets = calloc(n - 1, sizeof *nets);
    int rc = jobs && threads && nets ? TSF_OK : tsf_err_set(err, TSF_ENOMEM, "out of memory");
    ensemble_progress ep = {cfg->progress, cfg->progress_user, 0};
    for (size_t k = 0; rc == TSF_OK && k < n; k++) {
        jobs[k] = (member_train){
            .view = *m, .train = train, .val = val, .cfg = *cfg, .err = TSF_ERR_INIT};
        jobs[k].cfg.seed = cfg->seed + k;
        if (k == 0) {
            jobs[k].hist = hist;
            if (cfg->progress) {
                jobs[k].cfg.progress = ensemble_on_progress;
                jobs[k].cfg.progress_user = &ep;
            }
            continue;
        }
        jobs[k].cfg.progress = NULL;
        jobs[k].cfg.progress_user = NULL;
        if (!cfg->cancel)
            jobs[k].cfg.cancel = &ep.stop;
        rc = tsf_rnn_alloc(&nets[k - 1], tsf_rnn_config_of(m->rnn), tsf_rnn_max_batch(m->rnn), err);
        jobs[k].view.rnn = nets[k - 1];
    }
    size_t started = 1;
    if (rc == TSF_OK) {
        for (; started < n; started++)
            if (pthread_create(&threads[started], NULL, member_train_run, &jobs[started]) != 0)
                break;
        member_train_run(&jobs[0]);
        for (size_t k = started; k < n; k++)
            member_train_run(&jobs[k]); /* threads that could not start run here */
        for (size_t k = 1; k < started; k++)
            pthread_join(threads[k], NULL);
        for (size_t k = 0; k < n && rc == TSF_OK; k++)
            if (jobs[k].rc != TSF_OK)
                rc = tsf_err_set(err, jobs[k].rc, "%s%s", k ? "ensemble member: " : "",
                                 jobs[k].err.msg);
    }
    if (rc == TSF_OK) {
        m->train = jobs[0].view.train;
        m->members = nets;
        m->n_members = n;
        nets = NULL;
    }
    for (size_t k = 0; nets && k + 1 < n; k++)
        tsf_rnn_free(nets[k]);
    free(nets);
    free(threads);
    free(jobs);
    return rc;
}

static int predict_network(tsf_rnn_model *m, const tsf_windows *w, size_t batch_size,
                           tsf_forecasts *fc, size_t model, size_t first, tsf_err *err);

int tsf_rnn_model_calibrate(tsf_rnn_model *m, const tsf_windows *val, char *why, size_t n,
                            tsf_err *err)
{
    if (!(m->loss.kind == TSF_LOSS_PINBALL && m->loss.n_quantiles > 1))
        TSF_FAIL(err, TSF_EINVAL,
                 "calibration shifts quantile forecasts: model \"%s\" forecasts none (expected "
                 "a pinball loss with quantile levels)",
                 m->name);
    tsf_calibration_free(m->calib);
    m->calib = NULL;
    tsf_forecasts *fc = NULL;
    size_t first = 0;
    /* on the scale the network forecasts (seasonally adjusted), as backtest refits calibrate:
     * predictions are calibrated before the season is put back */
    tsf_frame *af = NULL;
    tsf_windows *aw = NULL;
    int rc = tsf_rnn_model_check_windows(m, val, "calibration:", err);
    if (rc == TSF_OK)
        rc = tsf_rnn_model_adjust_windows(m, val, &af, &aw, err);
    if (aw)
        val = aw;
    if (rc == TSF_OK)
        rc = tsf_rnn_model_forecasts_alloc(m, val->frame, &fc, err);
    if (rc == TSF_OK)
        rc = tsf_forecasts_add_windows(fc, val, &first, err);
    if (rc == TSF_OK)
        rc = predict_network(m, val, 0, fc, 0, first, err);
    tsf_calibration *c = NULL;
    if (rc == TSF_OK)
        rc = tsf_calibration_fit(&c, fc->value, fc->actual, fc->n_entries, m->horizon,
                                 fc->n_targets, fc->quantiles, fc->n_quantiles, err);
    tsf_forecasts_free(fc);
    size_t n_val = val->n_windows;
    tsf_windows_free(aw);
    tsf_frame_free(af);
    if (rc != TSF_OK)
        return rc;
    m->calib = c;
    if (why && n) {
        if (c)
            tsf_calibration_describe(c, why, n);
        else
            snprintf(why, n, "not calibrated: %zu validation windows are too few", n_val);
    }
    return TSF_OK;
}

/* ---- prediction -------------------------------------------------------------------------- */

int tsf_rnn_model_forecasts_alloc(const tsf_rnn_model *m, const tsf_frame *f, tsf_forecasts **out,
                                  tsf_err *err)
{
    *out = NULL;
    size_t *cols = malloc((m->n_targets ? m->n_targets : 1) * sizeof *cols);
    if (!cols)
        TSF_FAIL(err, TSF_ENOMEM, "out of memory");
    for (size_t i = 0; i < m->n_targets; i++) {
        cols[i] = tsf_frame_col_index(f, m->targets[i]);
        if (cols[i] == (size_t)-1) {
            free(cols);
            TSF_FAIL(err, TSF_EINVAL, "the frame has no column \"%s\" (a target of model \"%s\")",
                     m->targets[i], m->name);
        }
    }
    const char *name = m->name;
    int quantiles = m->loss.kind == TSF_LOSS_PINBALL && m->loss.n_quantiles > 1;
    int rc = tsf_forecasts_alloc(out, f, cols, m->n_targets, &name, 1,
                                 quantiles ? m->loss.quantiles : NULL,
                                 quantiles ? m->loss.n_quantiles : 0, m->horizon, 0, err);
    free(cols);
    return rc;
}

void tsf__ensemble_combine(const double *v, size_t N, size_t C, size_t P, double *out)
{
    for (size_t c = 0; c < C; c++)
        for (size_t p = 0; p < P; p++) {
            double col[64], sum = 0; /* N <= 64 */
            for (size_t k = 0; k < N; k++) {
                col[k] = v[(k * C + c) * P + p];
                sum += col[k];
            }
            double y;
            if (p > 0) {
                y = sum / (double)N;
            } else {
                for (size_t a = 1; a < N; a++) /* insertion sort: N is small */
                    for (size_t b = a; b > 0 && col[b - 1] > col[b]; b--) {
                        double t = col[b];
                        col[b] = col[b - 1];
                        col[b - 1] = t;
                    }
                y = N % 2 ? col[N / 2] : 0.5 * (col[N / 2 - 1] + col[N / 2]);
            }
            out[c * P + p] = y;
        }
}

/* The members of an ensemble m forecast w (each into a full-horizon set of its own), combined
 * into entries first .. of fc, model slot `model`. */
static int predict_members(tsf_rnn_model *m, const tsf_windows *w, size_t Bm, tsf_forecasts *fc,
                           size_t model, size_t first, tsf_err *err)
{
    const size_t N = m->n_members, E = w->n_windows, L = m->horizon, O = fc->n_targets;
    const size_t P = fc->n_values, C = E * L * O;
    tsf_forecasts *t = NULL;
    double *v = malloc(N * C * P * sizeof *v), *c = malloc(C * P * sizeof *c);
    int rc = v && c ? TSF_OK : tsf_err_set(err, TSF_ENOMEM, "out of memory");
    for (size_t k = 0; rc == TSF_OK && k < N; k++) {
        size_t f0 = 0;
        tsf_rnn *net = k ? m->members[k - 1] : m->rnn;
        if ((rc = tsf_rnn_model_forecasts_alloc(m, w->frame, &t, err)) == TSF_OK &&
            (rc = tsf_forecasts_add_windows(t, w, &f0, err)) == TSF_OK &&
            (rc = tsf__predict_batches(net, w, Bm, m->inorm, " (stage impute)", t, 0, f0, err)) ==
                TSF_OK) {
            if (t->n_values != P)
                rc = tsf_err_set(err, TSF_EINVAL,
                                 "predict: the forecast set has %zu values per forecast, the "
                                 "ensemble %zu",
                                 P, t->n_values);
            else
                memcpy(v + k * C * P, t->value, C * P * sizeof *v);
        }
        tsf_forecasts_free(t);
        t = NULL;
    }
    if (rc == TSF_OK) {
        tsf__ensemble_combine(v, N, C, P, c);
        for (size_t i = 0; i < E; i++)
            for (size_t k = 0; k < fc->n_steps; k++)
                for (size_t o = 0; o < O; o++)
                    memcpy(tsf_forecasts_at(fc, first + i, k, o, model),
                           c + ((i * L + fc->step0 - 1 + k) * O + o) * P, P * sizeof *c);
    }
    free(v);
    free(c);
    return rc;
}

/* The network's forecasts of w, as it sees them: on the seasonally adjusted scale when m has
 * seasonal indices (w then being adjusted windows), calibrated. */
static int predict_network(tsf_rnn_model *m, const tsf_windows *w, size_t batch_size,
                           tsf_forecasts *fc, size_t model, size_t first, tsf_err *err)
{
    int rc = TSF_OK;
    size_t Bm = tsf_rnn_max_batch(m->rnn);
    if (batch_size && batch_size < Bm)
        Bm = batch_size;
    if (m->n_members > 1)
        rc = predict_members(m, w, Bm, fc, model, first, err);
    else
        rc =
            tsf__predict_batches(m->rnn, w, Bm, m->inorm, " (stage impute)", fc, model, first, err);
    const tsf_calibration *cal = m->calib;
    if (rc == TSF_OK && cal && w->n_windows && fc->n_quantiles == cal->n_quantiles &&
        fc->n_targets == cal->n_targets)
        tsf_calibration_apply(cal, tsf_forecasts_at(fc, first, 0, 0, model), w->n_windows,
                              fc->step0, fc->n_steps, fc->n_models * fc->n_values);
    return rc;
}

int tsf_rnn_model_predict_windows(tsf_rnn_model *m, const tsf_windows *w, size_t batch_size,
                                  tsf_forecasts *fc, size_t model, size_t first, tsf_err *err)
{
    int rc = tsf_rnn_model_check_windows(m, w, "predict:", err);
    if (rc != TSF_OK)
        return rc;
    tsf_frame *af = NULL;
    tsf_windows *aw = NULL;
    if ((rc = tsf_rnn_model_adjust_windows(m, w, &af, &aw, err)) != TSF_OK)
        return rc;
    rc = predict_network(m, aw ? aw : w, batch_size, fc, model, first, err);
    if (rc == TSF_OK && aw)
        rc = tsf__seasonal_restore(m, w, fc, model, first, err);
    tsf_windows_free(aw);
    tsf_frame_free(af);
    return rc;
}

int tsf_rnn_model_scaler_for(const tsf_rnn_model *m, const tsf_frame *f, tsf_scaler **out,
                             tsf_err *err)
{
    *out = NULL;
    const tsf_model_scaler *ms = m->scaler;
    if (!ms)
        return TSF_OK;
    const size_t nc = ms->n_cols, ng = ms->per_series ? f->n_series : 1;
    tsf_scaler *sc = calloc(1, sizeof *sc);
    size_t np = ng * nc > 0 ? ng * nc : 1;
    int rc = TSF_OK;
    if (!sc)
        TSF_FAIL(err, TSF_ENOMEM, "out of memory");
    size_t *cols = malloc((nc ? nc : 1) * sizeof *cols);
    sc->spec.cols = cols;
    sc->spec.n_cols = nc;
    sc->spec.kind = ms->kind;
    sc->spec.pre = ms->pre;
    sc->spec.boxcox_lambda = NAN;
    sc->spec.per_series = ms->per_series;
    sc->spec.on_constant = TSF_CONST_CENTER;
    sc->n_frame_cols = f->n_cols;
    sc->n_series = f->n_series;
    sc->n_groups = ng;
    sc->center = malloc(np * sizeof *sc->center);
    sc->scale = malloc(np * sizeof *sc->scale);
    sc->lambda = malloc(np * sizeof *sc->lambda);
    sc->constant = calloc(np, sizeof *sc->constant);
    sc->fit = calloc(f->n_series ? f->n_series : 1, sizeof *sc->fit);
    sc->col_pos = malloc((f->n_cols ? f->n_cols : 1) * sizeof *sc->col_pos);
    if (!cols || !sc->center || !sc->scale || !sc->lambda || !sc->constant || !sc->fit ||
        !sc->col_pos) {
        rc = tsf_err_set(err, TSF_ENOMEM, "out of memory");
        goto fail;
    }
    for (size_t j = 0; j < f->n_cols; j++)
        sc->col_pos[j] = SIZE_MAX;
    for (size_t k = 0; k < nc; k++) {
        cols[k] = tsf_frame_col_index(f, ms->cols[k]);
        if (cols[k] == (size_t)-1) {
            rc = tsf_err_set(err, TSF_EINVAL,
                             "the frame has no column \"%s\" (model \"%s\" reads it)", ms->cols[k],
                             m->name);
            goto fail;
        }
        sc->col_pos[cols[k]] = k;
    }
    for (size_t g = 0; g < ng; g++) {
        size_t src = 0;
        if (ms->per_series) {
            const char *id = f->series_ids ? f->series_ids[g] : "";
            src = ms->n_groups;
            for (size_t h = 0; h < ms->n_groups && src == ms->n_groups; h++)
                if (strcmp(ms->series[h], id) == 0)
                    src = h;
            if (src == ms->n_groups) {
                char known[512];
                rc = tsf_err_set(err, TSF_EINVAL,
                                 "series \"%s\" has no scaler parameters: model \"%s\" was "
                                 "trained with per-series scaling on series %s",
                                 id, m->name, list_names(ms->series, ms->n_groups, known, 512));
                goto fail;
            }
        }
        for (size_t k = 0; k < nc; k++) {
            sc->center[g * nc + k] = ms->center[src * nc + k];
            sc->scale[g * nc + k] = ms->scale[src * nc + k];
            sc->lambda[g * nc + k] = ms->lambda[src * nc + k];
        }
    }
    *out = sc;
    return TSF_OK;
fail:
    tsf_scaler_free(sc);
    return rc;
}

int tsf_rnn_model_window_spec(const tsf_rnn_model *m, const tsf_frame *f, tsf_window_spec *spec,
                              size_t **cols, tsf_err *err)
{
    size_t n = m->n_targets + m->n_past + m->n_future;
    size_t *c = malloc((n ? n : 1) * sizeof *c);
    *cols = NULL;
    if (!c)
        TSF_FAIL(err, TSF_ENOMEM, "out of memory");
    char *const *lists[] = {m->targets, m->past, m->future};
    const size_t lens[] = {m->n_targets, m->n_past, m->n_future};
    static const char *const kinds[] = {"a target", "a past covariate", "a known-future covariate"};
    size_t k = 0;
    for (int l = 0; l < 3; l++)
        for (size_t i = 0; i < lens[l]; i++, k++) {
            c[k] = tsf_frame_col_index(f, lists[l][i]);
            if (c[k] == (size_t)-1) {
                char have[512];
                list_names(f->col_names, f->n_cols, have, sizeof have);
                free(c);
                TSF_FAIL(err, TSF_EINVAL,
                         "the frame has no column \"%s\" (%s of model \"%s\"; the frame's "
                         "columns: %s)",
                         lists[l][i], kinds[l], m->name, have);
            }
        }
    memset(spec, 0, sizeof *spec);
    spec->lookback = m->lookback;
    spec->horizon = m->horizon;
    spec->stride = 1;
    spec->target_cols = c;
    spec->n_targets = m->n_targets;
    spec->past_cols = c + m->n_targets;
    spec->n_past = m->n_past;
    spec->future_cols = c + m->n_targets + m->n_past;
    spec->n_future = m->n_future;
    spec->calendar = m->calendar;
    spec->channel_independent = m->channel_independent;
    *cols = c;
    return TSF_OK;
}

int tsf_rnn_model_forecast(tsf_rnn_model *m, const tsf_frame *f, size_t batch_size,
                           tsf_forecasts **out, tsf_err *err)
{
    *out = NULL;
    tsf_window_spec spec;
    size_t *cols = NULL, *series = NULL, *origins = NULL;
    tsf_scaler *sc = NULL;
    tsf_frame *g = NULL;
    tsf_windows *w = NULL;
    tsf_forecasts *fc = NULL;
    int rc = tsf_rnn_model_window_spec(m, f, &spec, &cols, err);
    if (rc == TSF_OK)
        rc = tsf_rnn_model_scaler_for(m, f, &sc, err);
    if (rc != TSF_OK)
        goto done;
    for (size_t s = 0; s < f->n_series; s++) {
        size_t len = f->series_start[s + 1] - f->series_start[s];
        if (len < m->lookback) {
            char sl[96];
            rc = tsf_err_set(err, TSF_EINVAL,
                             "%s has %zu rows, fewer than the lookback %zu of model \"%s\" "
                             "(expected at least %zu rows to forecast from)",
                             tsf_frame_series_label(f, s, sl, sizeof sl), len, m->lookback, m->name,
                             m->lookback);
            goto done;
        }
    }
    series = malloc(f->n_series * sizeof *series);
    origins = malloc(f->n_series * sizeof *origins);
    if (!series || !origins) {
        rc = tsf_err_set(err, TSF_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t s = 0; s < f->n_series; s++) {
        series[s] = s;
        origins[s] = f->series_start[s + 1];
    }
    if (sc) {
        if ((rc = tsf_frame_copy_rows(&g, f, 0, f->n_rows, err)) ||
            (rc = tsf_scaler_apply(sc, g, NULL, err)))
            goto done;
    }
    if ((rc = tsf_windows_make_at(&w, g ? g : f, &spec, series, origins, f->n_series, 1, err)) ||
        (rc = tsf_rnn_model_forecasts_alloc(m, f, &fc, err)))
        goto done;
    size_t first = 0;
    if ((rc = tsf_forecasts_add_windows(fc, w, &first, err)))
        goto done;
    fc->scale = sc ? TSF_FC_NORMALIZED : TSF_FC_ORIGINAL;
    if ((rc = tsf_rnn_model_predict_windows(m, w, batch_size, fc, 0, first, err)))
        goto done;
    if (sc && (rc = tsf_forecasts_rescale(fc, sc, 1, err)))
        goto done;
    *out = fc;
    fc = NULL;
done:
    tsf_forecasts_free(fc);
    tsf_windows_free(w);
    tsf_frame_free(g);
    tsf_scaler_free(sc);
    free(series);
    free(origins);
    free(cols);
    return rc;
}

/* ---- model files ------------------------------------------------------------------------- */

enum {
    PIPE_VERSION,
    PIPE_INORM,
    PIPE_LOOKBACK,
    PIPE_HORIZON,
    PIPE_CALENDAR,
    PIPE_CI,
    PIPE_BATCH,
    PIPE_N
};

/* The recipe as numbers (/meta/train.recipe), in this order. New fields go at the end, so that
 * a file written before one existed holds the fields before it (recipe_complete). */
#define RECIPE_FIELDS(X)                                                                           \
    X(epochs, size_t)                                                                              \
    X(batch_size, size_t)                                                                          \
    X(seed, unsigned long)                                                                         \
    X(shuffle, int)                                                                                \
    X(optim.kind, tsf_optim_kind)                                                                  \
    X(optim.lr, double)                                                                            \
    X(optim.momentum, double)                                                                      \
    X(optim.dampening, double)                                                                     \
    X(optim.nesterov, int)                                                                         \
    X(optim.beta1, double)                                                                         \
    X(optim.beta2, double)                                                                         \
    X(optim.eps, double)                                                                           \
    X(optim.weight_decay, double)                                                                  \
    X(sched.kind, tsf_sched_kind)                                                                  \
    X(sched.step_size, size_t)                                                                     \
    X(sched.gamma, double)                                                                         \
    X(sched.warmup, double)                                                                        \
    X(sched.min_lr, double)                                                                        \
    X(sched.factor, double)                                                                        \
    X(sched.patience, size_t)                                                                      \
    X(sched.threshold, double)                                                                     \
    X(sched.cooldown, size_t)                                                                      \
    X(clip.val, double)                                                                            \
    X(clip.algorithm, tsf_clip_algorithm)                                                          \
    X(patience, size_t)                                                                            \
    X(min_delta, double)                                                                           \
    X(checkpoint_every, size_t)                                                                    \
    X(shards, size_t)
#define COUNT_FIELD(f, t) +1
enum { RECIPE_N = 0 RECIPE_FIELDS(COUNT_FIELD) };
#undef COUNT_FIELD

static void recipe_put(const tsf_train_config *c, double *v)
{
    size_t i = 0;
#define PUT_FIELD(f, t) v[i++] = (double)c->f;
    RECIPE_FIELDS(PUT_FIELD)
#undef PUT_FIELD
}

/* Files from before shards was recorded hold one field fewer; they trained in one pass per
 * batch (shards 0), the only way there was. */
enum { RECIPE_N_OLD = RECIPE_N - 1 };

/* The n (RECIPE_N or RECIPE_N_OLD) values of a file's recipe, with the fields it lacks at what
 * files without them trained with (0), in recipe order into v (RECIPE_N). */
static void recipe_complete(const double *in, size_t n, double *v)
{
    for (size_t i = 0; i < RECIPE_N; i++)
        v[i] = i < n ? in[i] : 0;
}

static void recipe_get(tsf_train_config *c, const double *v)
{
    size_t i = 0;
#define GET_FIELD(f, t) c->f = (t)v[i++];
    RECIPE_FIELDS(GET_FIELD)
#undef GET_FIELD
}

enum { FIT_CHOSEN, FIT_ENSEMBLE, FIT_CALIBRATE, FIT_UNTRAINED, FIT_DESEASON, FIT_N };

typedef struct meta_store {
    double pipe[PIPE_N];
    double recipe[RECIPE_N];
    double fit[FIT_N];
    double n_members;
    char *targets, *past, *future, *scols, *sseries;
    double *svals, *cvals;
    double *dvals; /* /meta/deseason */
    char *dids;
    double **mvals;          /* (n_members - 1) each member's parameters */
    char (*mnames)[32];      /* (n_members - 1) "member.K" */
    size_t n_extra;          /* members beyond the first */
    tsf_network_meta *entry; /* (11 + n_extra) */
} meta_store;

void tsf_rnn_model_meta_free(tsf_network_meta *meta, size_t n, void *store)
{
    (void)meta;
    (void)n;
    meta_store *s = store;
    if (!s)
        return;
    free(s->targets);
    free(s->past);
    free(s->future);
    free(s->scols);
    free(s->sseries);
    free(s->svals);
    free(s->cvals);
    free(s->dvals);
    free(s->dids);
    for (size_t k = 0; s->mvals && k < s->n_extra; k++)
        free(s->mvals[k]);
    free(s->mvals);
    free(s->mnames);
    free(s->entry);
    free(s);
}

/* The ensemble's other members (/meta/members, /meta/member.K) and the calibration
 * (/meta/calibration) as entries from entry[*k] on; returns nonzero when memory runs out. */
static int meta_members_calibration(const tsf_rnn_model *m, meta_store *s, size_t *k)
{
    int oom = 0;
    if (s->n_extra) {
        s->n_members = (double)m->n_members;
        s->entry[(*k)++] = (tsf_network_meta){"members", &s->n_members, 1, NULL};
        s->mvals = calloc(s->n_extra, sizeof *s->mvals);
        s->mnames = calloc(s->n_extra, sizeof *s->mnames);
        if (!s->mvals || !s->mnames)
            return 1;
        for (size_t j = 0; j < s->n_extra; j++) {
            size_t P = tsf_rnn_n_params(m->members[j]);
            const tsf_real *w = tsf_rnn_params(m->members[j]);
            if (!(s->mvals[j] = malloc((P ? P : 1) * sizeof **s->mvals)))
                return 1;
            for (size_t i = 0; i < P; i++)
                s->mvals[j][i] = (double)w[i];
            snprintf(s->mnames[j], sizeof s->mnames[j], "member.%zu", j + 1);
            s->entry[(*k)++] = (tsf_network_meta){s->mnames[j], s->mvals[j], P, NULL};
        }
    }
    const tsf_calibration *c = m->calib;
    if (c) {
        size_t L = c->horizon, O = c->n_targets, Q = c->n_quantiles, nv = 5 + Q + L * O * Q;
        if (!(s->cvals = malloc(nv * sizeof *s->cvals)))
            return oom | 1;
        double *v = s->cvals;
        v[0] = c->per_step + 2 * c->widen_only; /* older files: 0 or 1 */
        v[1] = (double)L;
        v[2] = (double)O;
        v[3] = (double)Q;
        v[4] = (double)c->n_residuals;
        memcpy(v + 5, c->levels, Q * sizeof *v);
        memcpy(v + 5 + Q, c->shift, L * O * Q * sizeof *v);
        s->entry[(*k)++] = (tsf_network_meta){"calibration", s->cvals, nv, NULL};
    }
    return oom;
}

int tsf_rnn_model_meta(const tsf_rnn_model *m, tsf_network_meta **meta, size_t *n, void **store,
                       tsf_err *err)
{
    *meta = NULL;
    *n = 0;
    *store = NULL;
    meta_store *s = calloc(1, sizeof *s);
    if (s) {
        s->n_extra = m->n_members > 1 ? m->n_members - 1 : 0;
        s->entry = calloc(11 + s->n_extra, sizeof *s->entry);
    }
    if (!s || !s->entry) {
        free(s);
        TSF_FAIL(err, TSF_ENOMEM, "out of memory");
    }
    s->pipe[PIPE_VERSION] = TSF_RNN_MODEL_META_VERSION;
    s->pipe[PIPE_INORM] = (double)m->inorm;
    s->pipe[PIPE_LOOKBACK] = (double)m->lookback;
    s->pipe[PIPE_HORIZON] = (double)m->horizon;
    s->pipe[PIPE_CALENDAR] = (double)m->calendar;
    s->pipe[PIPE_CI] = (double)m->channel_independent;
    s->pipe[PIPE_BATCH] = (double)tsf_rnn_max_batch(m->rnn);
    size_t k = 0;
    s->entry[k++] = (tsf_network_meta){"pipeline", s->pipe, PIPE_N, m->name};
    s->targets = join_lines(m->targets, m->n_targets);
    int oom = !s->targets;
    s->entry[k++] = (tsf_network_meta){"window.targets", NULL, 0, s->targets};
    recipe_put(&m->train, s->recipe);
    s->entry[k++] = (tsf_network_meta){"train.recipe", s->recipe, RECIPE_N, NULL};
    s->fit[FIT_CHOSEN] = (double)m->chosen;
    s->fit[FIT_ENSEMBLE] = (double)m->ensemble;
    s->fit[FIT_CALIBRATE] = (double)m->calibrate;
    s->fit[FIT_UNTRAINED] = (double)m->untrained;
    s->fit[FIT_DESEASON] = (double)m->deseason;
    s->entry[k++] = (tsf_network_meta){"fit", s->fit, FIT_N, NULL};
    if (m->seasonal) {
        size_t nd = 0;
        oom |= tsf__seasonal_meta_put(m->seasonal, &s->dvals, &nd, &s->dids);
        s->entry[k++] = (tsf_network_meta){"deseason", s->dvals, nd, s->dids};
    }
    if (m->n_past) {
        oom |= !(s->past = join_lines(m->past, m->n_past));
        s->entry[k++] = (tsf_network_meta){"window.past", NULL, 0, s->past};
    }
    if (m->n_future) {
        oom |= !(s->future = join_lines(m->future, m->n_future));
        s->entry[k++] = (tsf_network_meta){"window.future", NULL, 0, s->future};
    }
    const tsf_model_scaler *ms = m->scaler;
    if (ms) {
        size_t np = ms->n_groups * ms->n_cols, nv = 5 + 3 * np;
        s->svals = malloc(nv * sizeof *s->svals);
        s->scols = join_lines(ms->cols, ms->n_cols);
        oom |= !s->svals || !s->scols;
        if (s->svals) {
            double *v = s->svals;
            v[0] = ms->kind;
            v[1] = ms->pre;
            v[2] = ms->per_series;
            v[3] = (double)ms->n_groups;
            v[4] = (double)ms->n_cols;
            memcpy(v + 5, ms->center, np * sizeof *v);
            memcpy(v + 5 + np, ms->scale, np * sizeof *v);
            memcpy(v + 5 + 2 * np, ms->lambda, np * sizeof *v);
        }
        s->entry[k++] = (tsf_network_meta){"scaler", s->svals, nv, s->scols};
        if (ms->per_series) {
            oom |= !(s->sseries = join_lines(ms->series, ms->n_groups));
            s->entry[k++] = (tsf_network_meta){"scaler.series", NULL, 0, s->sseries};
        }
    }
    oom |= meta_members_calibration(m, s, &k);
    if (oom) {
        tsf_rnn_model_meta_free(NULL, 0, s);
        TSF_FAIL(err, TSF_ENOMEM, "out of memory");
    }
    *meta = s->entry;
    *n = k;
    *store = s;
    return TSF_OK;
}

int tsf_rnn_model_save(const tsf_rnn_model *m, const char *path, tsf_err *err)
{
    tsf_network_meta *meta;
    size_t n;
    void *store;
    int rc = tsf_rnn_model_meta(m, &meta, &n, &store, err);
    if (rc == TSF_OK)
        rc = tsf_network_save(m->rnn, &m->loss, meta, n, path, err);
    tsf_rnn_model_meta_free(meta, n, store);
    return rc;
}

static int whole(double v, double lo, double hi)
{
    return v >= lo && v <= hi && v == floor(v);
}

/* /meta/pipeline and /meta/window.*: m's name, window specification and batch size, checked
 * against the network's shapes. */
static int read_window_meta(tsf_rnn_model *m, const tsf_network_info *info, const char *path,
                            size_t *max_batch, tsf_err *err)
{
    const tsf_network_meta *p = tsf_network_info_meta(info, "pipeline");
    if (!p)
        TSF_FAIL(err, TSF_EFORMAT,
                 "%s: a tsflow model file, but without the pipeline's metadata (/meta/pipeline: "
                 "window columns, scaler), so it cannot forecast a frame (expected a model saved "
                 "by train.rnn's save option or the model.save stage)",
                 path);
    if (p->n_values < 1 || p->values[0] != TSF_RNN_MODEL_META_VERSION)
        TSF_FAIL(err, TSF_EFORMAT,
                 "%s: pipeline metadata version %g is not supported: this tsflow (%s) reads "
                 "version %d; retrain the model or use the tsflow that wrote it (%s)",
                 path, p->n_values ? p->values[0] : -1.0, tsf_version(), TSF_RNN_MODEL_META_VERSION,
                 info->tsflow_version);
    const tsf_rnn_config *c = &info->config;
    const double *v = p->values;
    if (p->n_values < PIPE_N || !whole(v[PIPE_INORM], 0, TSF_INORM_MEAN) ||
        v[PIPE_LOOKBACK] != (double)c->lookback || v[PIPE_HORIZON] != (double)c->horizon ||
        !whole(v[PIPE_CALENDAR], 0, 63) || !whole(v[PIPE_CI], 0, 1) ||
        !whole(v[PIPE_BATCH], 1, 1e9) || !p->text)
        TSF_FAIL(err, TSF_EFORMAT,
                 "%s: /meta/pipeline is inconsistent with the model (expected %d values: "
                 "version, instance norm, lookback %zu, horizon %zu, calendar, channel "
                 "independence, batch size; and the model's name)",
                 path, PIPE_N, c->lookback, c->horizon);
    m->inorm = (tsf_inorm)v[PIPE_INORM];
    m->lookback = c->lookback;
    m->horizon = c->horizon;
    m->calendar = (unsigned)v[PIPE_CALENDAR];
    m->channel_independent = (int)v[PIPE_CI];
    *max_batch = (size_t)v[PIPE_BATCH];
    if (!(m->name = dup_str(p->text)))
        TSF_FAIL(err, TSF_ENOMEM, "out of memory");
    const tsf_network_meta *t = tsf_network_info_meta(info, "window.targets");
    const tsf_network_meta *pa = tsf_network_info_meta(info, "window.past");
    const tsf_network_meta *fu = tsf_network_info_meta(info, "window.future");
    if (split_lines(t ? t->text : NULL, &m->targets, &m->n_targets) ||
        split_lines(pa ? pa->text : NULL, &m->past, &m->n_past) ||
        split_lines(fu ? fu->text : NULL, &m->future, &m->n_future))
        TSF_FAIL(err, TSF_ENOMEM, "out of memory");
    size_t n_cal = 0;
    for (unsigned b = m->calendar; b; b &= b - 1)
        n_cal++;
    size_t O = m->channel_independent ? 1 : m->n_targets;
    if (m->n_targets == 0 || c->n_outputs != O ||
        c->n_inputs != O + m->n_past + m->n_future + n_cal || c->n_future != m->n_future + n_cal)
        TSF_FAIL(err, TSF_EFORMAT,
                 "%s: the window columns in /meta (%zu targets, %zu past, %zu future, %zu "
                 "calendar) do not match the network (%zu inputs, %zu future inputs, %zu outputs)",
                 path, m->n_targets, m->n_past, m->n_future, n_cal, c->n_inputs, c->n_future,
                 c->n_outputs);
    return TSF_OK;
}

/* /meta/train.recipe: how m was trained; without it, tsf_train_config_init's defaults with the
 * batch size the file records. */
static int read_recipe_meta(tsf_rnn_model *m, const tsf_network_info *info, const char *path,
                            size_t max_batch, tsf_err *err)
{
    tsf_train_config_init(&m->train);
    m->train.batch_size = max_batch;
    m->train.loss = m->loss;
    const tsf_network_meta *r = tsf_network_info_meta(info, "train.recipe");
    if (r) {
        tsf_err e = TSF_ERR_INIT;
        tsf_train_config rc = m->train;
        const int known = r->n_values == RECIPE_N || r->n_values == RECIPE_N_OLD;
        if (known) {
            double v[RECIPE_N];
            recipe_complete(r->values, r->n_values, v);
            recipe_get(&rc, v);
        }
        if (!known || rc.epochs < 1 || rc.batch_size < 1 || tsf_optim_config_check(&rc.optim, &e) ||
            tsf_sched_config_check(&rc.sched, &e))
            TSF_FAIL(err, TSF_EFORMAT,
                     "%s: /meta/train.recipe is malformed (expected %d valid numbers)%s%s", path,
                     RECIPE_N, e.msg[0] ? ": " : "", e.msg);
        m->train = rc;
        m->train.loss = m->loss;
    }
    return TSF_OK;
}

/* /meta/scaler and /meta/scaler.series: the scaler of the training frame, by column name (and
 * series id when per series); m->scaler stays NULL when the file has none. */
static int read_scaler_meta(tsf_rnn_model *m, const tsf_network_info *info, const char *path,
                            tsf_err *err)
{
    const tsf_network_meta *s = tsf_network_info_meta(info, "scaler");
    if (!s)
        return TSF_OK;
    const double *sv = s->values;
    if (s->n_values < 5 || !whole(sv[0], 0, TSF_SCALE_ROBUST) || !whole(sv[1], 0, TSF_PRE_BOXCOX) ||
        !whole(sv[2], 0, 1) || !whole(sv[3], 1, 1e9) || !whole(sv[4], 1, 1e6))
        TSF_FAIL(err, TSF_EFORMAT, "%s: /meta/scaler is malformed (bad header)", path);
    size_t ng = (size_t)sv[3], nc = (size_t)sv[4], np = ng * nc;
    char **names = NULL;
    size_t n_names = 0;
    if (split_lines(s->text, &names, &n_names))
        TSF_FAIL(err, TSF_ENOMEM, "out of memory");
    if (s->n_values != 5 + 3 * np || n_names != nc) {
        strv_free(names, n_names);
        TSF_FAIL(err, TSF_EFORMAT,
                 "%s: /meta/scaler is malformed (expected %zu values and %zu column names)", path,
                 5 + 3 * np, nc);
    }
    tsf_model_scaler *ms = model_scaler_alloc(ng, nc);
    if (!ms) {
        strv_free(names, n_names);
        TSF_FAIL(err, TSF_ENOMEM, "out of memory");
    }
    free(ms->cols);
    ms->cols = names;
    ms->kind = (tsf_scale_kind)sv[0];
    ms->pre = (tsf_scale_pre)sv[1];
    ms->per_series = (int)sv[2];
    memcpy(ms->center, sv + 5, np * sizeof *sv);
    memcpy(ms->scale, sv + 5 + np, np * sizeof *sv);
    memcpy(ms->lambda, sv + 5 + 2 * np, np * sizeof *sv);
    m->scaler = ms;
    if (ms->per_series) {
        const tsf_network_meta *ss = tsf_network_info_meta(info, "scaler.series");
        size_t n_ids = 0;
        if (!ss || !ss->text)
            TSF_FAIL(err, TSF_EFORMAT, "%s: per-series scaler without /meta/scaler.series", path);
        /* An unnamed single series is stored as "" (one empty line). */
        if (ss->text[0] == '\0') {
            if (!(ms->series = calloc(1, sizeof *ms->series)) || !(ms->series[0] = dup_str("")))
                TSF_FAIL(err, TSF_ENOMEM, "out of memory");
            n_ids = 1;
        } else if (split_lines(ss->text, &ms->series, &n_ids)) {
            TSF_FAIL(err, TSF_ENOMEM, "out of memory");
        }
        if (n_ids != ng) {
            strv_free(ms->series, n_ids);
            ms->series = NULL;
            TSF_FAIL(err, TSF_EFORMAT, "%s: /meta/scaler.series names %zu series, expected %zu",
                     path, n_ids, ng);
        }
    }
    return TSF_OK;
}

/* /meta/fit and /meta/calibration: what refits choose, and the calibration (absent: none). */
static int read_fit_meta(tsf_rnn_model *m, const tsf_network_info *info, const char *path,
                         tsf_err *err)
{
    const tsf_network_meta *f = tsf_network_info_meta(info, "fit");
    if (f) {
        const double *v = f->values;
        /* files written before deseason existed have one value fewer: none */
        if ((f->n_values != FIT_N && f->n_values != FIT_DESEASON) || !whole(v[FIT_CHOSEN], 0, 15) ||
            !whole(v[FIT_ENSEMBLE], 0, 64) || !whole(v[FIT_CALIBRATE], 0, 1) ||
            !whole(v[FIT_UNTRAINED], 0, 1) ||
            (f->n_values == FIT_N && !whole(v[FIT_DESEASON], 0, 3)))
            TSF_FAIL(err, TSF_EFORMAT,
                     "%s: /meta/fit is malformed (expected %d values: chosen settings 0-15, "
                     "ensemble 0-64, calibrate 0 or 1, untrained 0 or 1, deseason 0-3)",
                     path, FIT_N);
        m->deseason = f->n_values == FIT_N ? (tsf_deseason)v[FIT_DESEASON] : TSF_DESEASON_NONE;
        m->chosen = (unsigned)v[FIT_CHOSEN];
        m->ensemble = (size_t)v[FIT_ENSEMBLE];
        m->calibrate = (int)v[FIT_CALIBRATE];
        m->untrained = (int)v[FIT_UNTRAINED];
    }
    const tsf_network_meta *d = tsf_network_info_meta(info, "deseason");
    int rc = d ? tsf__seasonal_meta_get(&m->seasonal, m->n_targets, d->values, d->n_values, d->text,
                                        path, err)
               : TSF_OK;
    if (rc != TSF_OK)
        return rc;
    const tsf_network_meta *c = tsf_network_info_meta(info, "calibration");
    if (!c)
        return TSF_OK;
    const double *v = c->values;
    size_t Q = m->loss.kind == TSF_LOSS_PINBALL ? m->loss.n_quantiles : 0;
    size_t O = m->n_targets, L = m->horizon;
    if (c->n_values < 5 || !whole(v[0], 0, 3) || v[1] != (double)L || v[2] != (double)O ||
        v[3] != (double)Q || Q < 2 || !whole(v[4], 0, 1e12) || c->n_values != 5 + Q + L * O * Q)
        TSF_FAIL(err, TSF_EFORMAT,
                 "%s: /meta/calibration is malformed (expected its kind, horizon %zu, %zu "
                 "targets, %zu quantile levels, a count, the levels and %zu shifts)",
                 path, L, O, Q, L * O * Q);
    for (size_t q = 0; q < Q; q++)
        if (v[5 + q] != m->loss.quantiles[q])
            TSF_FAIL(err, TSF_EFORMAT, "%s: /meta/calibration level %g is not the model's level %g",
                     path, v[5 + q], m->loss.quantiles[q]);
    int kind = (int)v[0]; /* per_step + 2 widen_only */
    rc = tsf_calibration_make(&m->calib, L, O, v + 5, Q, kind & 1, (size_t)v[4], v + 5 + Q, err);
    if (rc == TSF_OK)
        m->calib->widen_only = kind >> 1;
    return rc;
}

/* /meta/members and /meta/member.K: the other networks of an ensemble, each like m->rnn with
 * max batch `batch`. */
static int read_members_meta(tsf_rnn_model *m, const tsf_network_info *info, const char *path,
                             size_t batch, tsf_err *err)
{
    const tsf_network_meta *n = tsf_network_info_meta(info, "members");
    if (!n)
        return TSF_OK;
    if (n->n_values != 1 || !whole(n->values[0], 2, 64))
        TSF_FAIL(err, TSF_EFORMAT, "%s: /meta/members is malformed (expected 2 to 64)", path);
    size_t N = (size_t)n->values[0], P = tsf_rnn_n_params(m->rnn);
    if (!(m->members = calloc(N - 1, sizeof *m->members)))
        TSF_FAIL(err, TSF_ENOMEM, "out of memory");
    m->n_members = 1;
    for (size_t k = 1; k < N; k++) {
        char name[32];
        snprintf(name, sizeof name, "member.%zu", k);
        const tsf_network_meta *e = tsf_network_info_meta(info, name);
        if (!e || e->n_values != P)
            TSF_FAIL(err, TSF_EFORMAT,
                     "%s: /meta/%s is %s (expected the %zu parameters of ensemble member %zu of "
                     "%zu)",
                     path, name, e ? "malformed" : "missing", P, k + 1, N);
        int rc = tsf_rnn_alloc(&m->members[k - 1], tsf_rnn_config_of(m->rnn), batch, err);
        if (rc != TSF_OK)
            return rc;
        m->n_members = k + 1;
        tsf_real *w = tsf_rnn_params(m->members[k - 1]);
        for (size_t i = 0; i < P; i++)
            w[i] = (tsf_real)e->values[i];
    }
    return TSF_OK;
}

/* Rebuild m's pipeline fields from the file's /meta entries. */
static int read_pipeline_meta(tsf_rnn_model *m, const tsf_network_info *info, const char *path,
                              size_t *max_batch, tsf_err *err)
{
    int rc = read_window_meta(m, info, path, max_batch, err);
    if (!rc)
        rc = read_recipe_meta(m, info, path, *max_batch, err);
    if (!rc)
        rc = read_scaler_meta(m, info, path, err);
    if (!rc)
        rc = read_fit_meta(m, info, path, err);
    return rc;
}

int tsf_rnn_model_load(tsf_rnn_model **out, const char *path, size_t max_batch,
                       tsf_network_info *info, tsf_err *err)
{
    *out = NULL;
    tsf_network_info local;
    tsf_network_info *mi = info ? info : &local;
    tsf_rnn *rnn = NULL;
    int rc = tsf_network_load(&rnn, path, 1, mi, err);
    if (rc != TSF_OK)
        return rc;
    tsf_rnn_model *m = calloc(1, sizeof *m);
    size_t trained_batch = 1;
    if (!m) {
        rc = tsf_err_set(err, TSF_ENOMEM, "out of memory");
        goto fail;
    }
    m->loss = mi->loss;
    if ((rc = read_pipeline_meta(m, mi, path, &trained_batch, err)))
        goto fail;
    size_t want = max_batch ? max_batch : trained_batch;
    if (want == 1) {
        m->rnn = rnn;
        rnn = NULL;
    } else {
        /* The file was read for batches of 1; move the weights into a network sized for the
         * batches asked for (by default those it was trained with, so that forecasts repeat
         * bit for bit: the arithmetic of a batch does not depend on anything else). */
        if ((rc = tsf_rnn_alloc(&m->rnn, tsf_rnn_config_of(rnn), want, err)))
            goto fail;
        memcpy(tsf_rnn_params(m->rnn), tsf_rnn_params(rnn),
               tsf_rnn_n_params(rnn) * sizeof *tsf_rnn_params(rnn));
    }
    tsf_rnn_free(rnn);
    rnn = NULL;
    if ((rc = read_members_meta(m, mi, path, want, err)))
        goto fail;
    if (!info)
        tsf_network_info_clear(&local);
    *out = m;
    return TSF_OK;
fail:
    tsf_rnn_free(rnn);
    tsf_rnn_model_free(m);
    tsf_network_info_clear(mi);
    return rc;
}

char *tsf_rnn_model_describe(const tsf_rnn_model *m, char *buf, size_t n)
{
    const tsf_rnn_config *c = tsf_rnn_config_of(m->rnn);
    size_t u = 0;
#define PUT(...)                                                                                   \
    do {                                                                                           \
        int w_ = snprintf(buf + u, u < n ? n - u : 0, __VA_ARGS__);                                \
        if (w_ > 0)                                                                                \
            u += (size_t)w_;                                                                       \
    } while (0)
    PUT("%s, %zu layer%s x %zu hidden", tsf_rnn_cell_name(c->cell), c->n_layers,
        c->n_layers == 1 ? "" : "s", c->hidden);
    if (c->bidirectional)
        PUT(", bidirectional");
    if (c->segment)
        PUT(", segments of %zu, %s decoder", c->segment,
            c->head == TSF_HEAD_RECURSIVE ? "recurrent (rmf)" : "parallel (pmf)");
    else
        PUT(", %s head", c->head == TSF_HEAD_RECURSIVE ? "recursive" : "direct");
    if (c->revin)
        PUT(", RevIN");
    if (m->inorm != TSF_INORM_NONE)
        PUT(", instance norm %s", tsf_inorm_name(m->inorm));
    if (m->loss.kind == TSF_LOSS_PINBALL) {
        PUT(", quantiles");
        for (size_t q = 0; q < m->loss.n_quantiles; q++)
            PUT("%s%g", q ? "/" : " ", m->loss.quantiles[q]);
    }
    PUT(", %zu parameters", tsf_rnn_n_params(m->rnn));
    if (m->n_members > 1)
        PUT(" x %zu ensemble members", m->n_members);
    if (m->calib)
        PUT(", conformally calibrated");
    if (m->untrained)
        PUT(", untrained");
#undef PUT
    return buf;
}

/* The recipe's fields by the names train.rnn's options give them, in RECIPE_FIELDS order. */
static const char *const recipe_names[] = {"epochs",
                                           "batch_size",
                                           "seed",
                                           "shuffle",
                                           "optimizer",
                                           "lr",
                                           "momentum",
                                           "dampening",
                                           "nesterov",
                                           "beta1",
                                           "beta2",
                                           "eps",
                                           "weight_decay",
                                           "schedule",
                                           "step_size",
                                           "gamma",
                                           "warmup",
                                           "min_lr",
                                           "factor",
                                           "plateau_patience",
                                           "threshold",
                                           "cooldown",
                                           "gradient_clip_val",
                                           "gradient_clip_algorithm",
                                           "patience",
                                           "min_delta",
                                           "checkpoint_every",
                                           "shards"};
_Static_assert(sizeof recipe_names / sizeof *recipe_names == RECIPE_N,
               "one name per field of RECIPE_FIELDS");

int tsf_rnn_model_resume_compare(const tsf_rnn_model *m, const tsf_windows *train,
                                 const tsf_train_config *cfg, char *diff, size_t n, size_t *epoch,
                                 size_t *batch, tsf_err *err)
{
    diff[0] = '\0';
    *epoch = *batch = 0;
    tsf_network_info info;
    tsf_rnn *net = NULL;
    int rc = tsf_network_load(&net, cfg->resume, 1, &info, err);
    if (rc != TSF_OK)
        return rc;
    tsf_rnn_free(net);
    *epoch = info.epochs_done;
    *batch = info.batches_done;
    size_t used = 0;
    char hash[65];
    const tsf_network_meta *d = tsf_network_info_meta(&info, "train.data_sha256");
    if (d && d->text && strcmp(d->text, data_sha256(train, hash)))
        used += (size_t)snprintf(diff + used, n - used,
                                 "the training data (SHA-256 %.12s... in the checkpoint, %.12s... "
                                 "now)",
                                 d->text, hash);
    const tsf_network_meta *r = tsf_network_info_meta(&info, "train.recipe");
    if (r && (r->n_values == RECIPE_N || r->n_values == RECIPE_N_OLD)) {
        tsf_train_config now = *cfg;
        now.loss = m->loss;
        double v[RECIPE_N], was[RECIPE_N];
        recipe_put(&now, v);
        recipe_complete(r->values, r->n_values, was);
        for (size_t i = 0; i < RECIPE_N && used < n; i++) {
            if (!strcmp(recipe_names[i], "epochs") ||
                !strcmp(recipe_names[i], "checkpoint_every") || v[i] == was[i])
                continue;
            used +=
                (size_t)snprintf(diff + used, n - used, "%s%s: the checkpoint %.6g, this run %.6g",
                                 used ? "; " : "", recipe_names[i], was[i], v[i]);
        }
    }
    tsf_network_info_clear(&info);
    return TSF_OK;
}
