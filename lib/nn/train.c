/* The training loop: shuffle, gather, forward, loss, backward, clip, update, validate, record;
 * with NaN guards, progress, cancellation, early stopping and checkpoints. Also batch
 * prediction. Reads top to bottom like the algorithm (tsf_train); helpers above it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "train_internal.h"
#include "tsflow/par.h"
#include "tsflow/train.h"

/* ---- configuration and history ---------------------------------------------------------- */

void tsf_train_config_init(tsf_train_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->epochs = 10;
    cfg->batch_size = 32;
    cfg->seed = 1;
    cfg->shuffle = 1;
    cfg->init_params = 1;
    tsf_loss_init(&cfg->loss, TSF_LOSS_MSE);
    tsf_optim_config_init(&cfg->optim, TSF_OPTIM_ADAM);
    tsf_sched_config_init(&cfg->sched, TSF_SCHED_CONSTANT);
    cfg->clip.val = 0;
    cfg->clip.algorithm = TSF_CLIP_NORM;
    cfg->checkpoint_every = 1;
}

void tsf_train_history_init(tsf_train_history *h)
{
    memset(h, 0, sizeof *h);
}

void tsf_train_history_clear(tsf_train_history *h)
{
    if (!h)
        return;
    free(h->epoch);
    free(h->grad_flow);
    free(h->step_norm);
    free(h->step_clipped);
    tsf_train_history_init(h);
}

/* The packed layout: the byte count and the scalars as uint64, the note, then the arrays. */
enum { HIST_HEADER = 7 * sizeof(uint64_t) + sizeof(((tsf_train_history *)0)->note) };

static size_t packed_size(size_t n_epochs, size_t T, size_t n_steps)
{
    return HIST_HEADER + n_epochs * (sizeof(tsf_epoch_record) + T * sizeof(double)) +
           n_steps * (sizeof(double) + 1);
}

int tsf_train_history_pack(const tsf_train_history *h, unsigned char **buf, size_t *len,
                           tsf_err *err)
{
    size_t E = h->n_epochs, T = h->lookback, S = h->n_steps, n = packed_size(E, T, S);
    unsigned char *b = realloc(*buf, *len + n);
    if (!b)
        TSF_FAIL(err, TSF_ENOMEM, "training history: out of memory packing %zu bytes", n);
    *buf = b;
    unsigned char *p = b + *len;
    uint64_t head[7] = {
        n, E, T, S, h->best_epoch, (uint64_t)h->stopped_early, (uint64_t)h->restored_best};
    memcpy(p, head, sizeof head);
    p += sizeof head;
    memcpy(p, h->note, sizeof h->note);
    p += sizeof h->note;
    if (E) {
        memcpy(p, h->epoch, E * sizeof *h->epoch);
        p += E * sizeof *h->epoch;
        memcpy(p, h->grad_flow, E * T * sizeof(double));
        p += E * T * sizeof(double);
    }
    if (S) {
        memcpy(p, h->step_norm, S * sizeof(double));
        p += S * sizeof(double);
        memcpy(p, h->step_clipped, S);
    }
    *len += n;
    return TSF_OK;
}

int tsf_train_history_unpack(tsf_train_history *h, const unsigned char *buf, size_t n, size_t *used,
                             tsf_err *err)
{
    uint64_t head[7];
    if (n < HIST_HEADER)
        TSF_FAIL(err, TSF_EFORMAT, "training history: %zu bytes, expected at least %zu", n,
                 (size_t)HIST_HEADER);
    memcpy(head, buf, sizeof head);
    size_t E = head[1], T = head[2], S = head[3];
    if (head[0] > n || E > n || T > n || S > n || head[0] != packed_size(E, T, S))
        TSF_FAIL(err, TSF_EFORMAT,
                 "training history: the packed sizes do not add up (%zu bytes for %zu epochs, "
                 "lookback %zu, %zu updates; %zu available)",
                 (size_t)head[0], E, T, S, n);
    tsf_train_history_clear(h);
    int rc = tsf__history_reserve(h, T, E, S, err);
    if (rc != TSF_OK)
        return rc;
    const unsigned char *p = buf + sizeof head;
    h->n_epochs = E;
    h->n_steps = S;
    h->best_epoch = head[4];
    h->stopped_early = (int)head[5];
    h->restored_best = (int)head[6];
    memcpy(h->note, p, sizeof h->note);
    h->note[sizeof h->note - 1] = '\0';
    p += sizeof h->note;
    if (E) {
        memcpy(h->epoch, p, E * sizeof *h->epoch);
        p += E * sizeof *h->epoch;
        memcpy(h->grad_flow, p, E * T * sizeof(double));
        p += E * T * sizeof(double);
    }
    if (S) {
        memcpy(h->step_norm, p, S * sizeof(double));
        p += S * sizeof(double);
        memcpy(h->step_clipped, p, S);
    }
    *used = head[0];
    return TSF_OK;
}

int tsf__history_reserve(tsf_train_history *h, size_t T, size_t n_epochs, size_t n_steps,
                         tsf_err *err)
{
    if (h->lookback != T && h->n_epochs > 0)
        TSF_FAIL(err, TSF_EINVAL, "training history: lookback %zu, expected %zu", T, h->lookback);
    h->lookback = T;
    if (n_epochs > h->cap_epochs) {
        tsf_epoch_record *e = realloc(h->epoch, n_epochs * sizeof *e);
        if (e)
            h->epoch = e;
        double *f = realloc(h->grad_flow, n_epochs * (T ? T : 1) * sizeof *f);
        if (f)
            h->grad_flow = f;
        if (!e || !f)
            TSF_FAIL(err, TSF_ENOMEM, "training history: out of memory for %zu epochs", n_epochs);
        h->cap_epochs = n_epochs;
    }
    if (n_steps > h->cap_steps) {
        double *s = realloc(h->step_norm, n_steps * sizeof *s);
        if (s)
            h->step_norm = s;
        unsigned char *c = realloc(h->step_clipped, n_steps);
        if (c)
            h->step_clipped = c;
        if (!s || !c)
            TSF_FAIL(err, TSF_ENOMEM, "training history: out of memory for %zu updates", n_steps);
        h->cap_steps = n_steps;
    }
    return TSF_OK;
}

/* ---- the loop's workspace --------------------------------------------------------------- */

/* Everything tsf_train allocates, once, before the first batch. */
typedef struct loop {
    tsf_rnn *m;
    const tsf_train_config *cfg;
    const tsf_batch_source *train, *val;
    size_t P, T, L, I, F, O, Q, Bmax;
    float *x, *xf, *y;       /* (T, Bmax, I), (L, Bmax, F), (L, Bmax, O): gathered */
    tsf_real *xr, *xfr, *yr; /* the same in tsf_real (aliases of x, xf, y in the float build) */
    tsf_real *yhat, *dyhat;  /* (L, Bmax, O*Q) */
    size_t *idx;             /* (Bmax) sample indices for validation and checks */
    double *flow_scratch;    /* (T) for the single-sample gradient search */
    double loss0;            /* the first training batch's loss of this run (0: none yet) */
    size_t loss0_epoch, loss0_batch;
    size_t n_grown; /* consecutive batches whose loss is past the growth bound */
    /* sharded batches (cfg->shards = K > 0): one record per part, in part order:
     * gradients (P) as tsf_real, then its loss and its gradient flow (T) as double */
    size_t K, part_bytes;
    unsigned char *parts; /* (K, part_bytes) */
    gsl_rng *part_rng;    /* dropout of one part */
    tsf__train_state st;
} loop;

#ifdef TSF_NN_DOUBLE
#define REAL_IS_FLOAT 0
#else
#define REAL_IS_FLOAT 1
#endif

static void to_real(tsf_real *dst, const float *src, size_t n)
{
    if (!REAL_IS_FLOAT)
        for (size_t i = 0; i < n; i++)
            dst[i] = (tsf_real)src[i];
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Gather samples idx[0..B) of src into the loop's tensors (tsf_real views included). */
static void gather(loop *lp, const tsf_batch_source *src, const size_t *idx, size_t B)
{
    src->gather(src->ctx, idx, B, lp->x, lp->F ? lp->xf : NULL, lp->y);
    to_real(lp->xr, lp->x, lp->T * B * lp->I);
    if (lp->F)
        to_real(lp->xfr, lp->xf, lp->L * B * lp->F);
    to_real(lp->yr, lp->y, lp->L * B * lp->O);
}

static void describe(const tsf_batch_source *src, size_t k, tsf_sample_part part, size_t step,
                     size_t feature, char *buf, size_t n)
{
    if (src->describe) {
        src->describe(src->ctx, k, part, step, feature, buf, n);
        return;
    }
    static const char *const parts[] = {"input", "future input", "target", "window"};
    if (part == TSF_SAMPLE_WINDOW)
        snprintf(buf, n, "sample %zu", k);
    else
        snprintf(buf, n, "sample %zu, %s step %zu, feature %zu", k, parts[part], step, feature);
}

static void loop_free(loop *lp)
{
    free(lp->x);
    free(lp->xf);
    free(lp->y);
    if (!REAL_IS_FLOAT) {
        free(lp->xr);
        free(lp->xfr);
        free(lp->yr);
    }
    free(lp->yhat);
    free(lp->dyhat);
    free(lp->idx);
    free(lp->flow_scratch);
    free(lp->st.order);
    free(lp->st.best);
    free(lp->st.last);
    free(lp->st.acc.flow);
    free(lp->parts);
    if (lp->part_rng)
        gsl_rng_free(lp->part_rng);
    gsl_rng_free(lp->st.rng);
    tsf_optim_free(lp->st.optim);
}

static int check_source(const loop *lp, const tsf_batch_source *src, const char *what, tsf_err *err)
{
    const tsf_rnn_config *c = tsf_rnn_config_of(lp->m);
    if (!src->gather)
        TSF_FAIL(err, TSF_EINVAL, "%s data: no gather function", what);
    struct {
        const char *name;
        size_t have, want;
    } dims[] = {{"lookback", src->lookback, c->lookback},
                {"horizon", src->horizon, c->horizon},
                {"inputs per step", src->n_inputs, c->n_inputs},
                {"known-future inputs per step", src->n_future, c->n_future},
                {"outputs", src->n_outputs, c->n_outputs}};
    for (size_t i = 0; i < sizeof dims / sizeof *dims; i++)
        if (dims[i].have != dims[i].want)
            TSF_FAIL(err, TSF_EINVAL, "%s data: %s is %zu, but the model expects %zu", what,
                     dims[i].name, dims[i].have, dims[i].want);
    return TSF_OK;
}

static int loop_alloc(loop *lp, tsf_rnn *m, const tsf_train_config *cfg, size_t Bmax, tsf_err *err)
{
    const tsf_rnn_config *c = tsf_rnn_config_of(m);
    lp->m = m;
    lp->cfg = cfg;
    lp->P = tsf_rnn_n_params(m);
    lp->T = c->lookback;
    lp->L = c->horizon;
    lp->I = c->n_inputs;
    lp->F = c->n_future;
    lp->O = c->n_outputs;
    lp->Q = c->n_quantiles;
    lp->Bmax = Bmax;
    lp->st.last_val = NAN;
    size_t nx = lp->T * Bmax * lp->I, nxf = lp->L * Bmax * lp->F, ny = lp->L * Bmax * lp->O,
           nyh = ny * lp->Q;
    lp->x = malloc(nx * sizeof *lp->x);
    lp->xf = malloc((nxf ? nxf : 1) * sizeof *lp->xf);
    lp->y = malloc(ny * sizeof *lp->y);
    if (REAL_IS_FLOAT) {
        lp->xr = (tsf_real *)(void *)lp->x;
        lp->xfr = (tsf_real *)(void *)lp->xf;
        lp->yr = (tsf_real *)(void *)lp->y;
    } else {
        lp->xr = malloc(nx * sizeof *lp->xr);
        lp->xfr = malloc((nxf ? nxf : 1) * sizeof *lp->xfr);
        lp->yr = malloc(ny * sizeof *lp->yr);
    }
    lp->yhat = malloc(nyh * sizeof *lp->yhat);
    lp->dyhat = malloc(nyh * sizeof *lp->dyhat);
    lp->idx = malloc(Bmax * sizeof *lp->idx);
    lp->flow_scratch = calloc(lp->T ? lp->T : 1, sizeof *lp->flow_scratch);
    lp->st.acc.flow = calloc(lp->T ? lp->T : 1, sizeof *lp->st.acc.flow);
    if ((lp->K = cfg->shards) > 0) {
        /* doubles first in each record, so that they stay aligned */
        lp->part_bytes = (1 + lp->T) * sizeof(double) + lp->P * sizeof(tsf_real);
        lp->part_bytes = (lp->part_bytes + 7) / 8 * 8;
        lp->parts = malloc(lp->K * lp->part_bytes);
        lp->part_rng = gsl_rng_alloc(gsl_rng_mt19937);
        if (!lp->parts || !lp->part_rng)
            TSF_FAIL(err, TSF_ENOMEM, "training: out of memory for %zu batch parts", lp->K);
    }
    if (!lp->x || !lp->xf || !lp->y || !lp->xr || !lp->xfr || !lp->yr || !lp->yhat || !lp->dyhat ||
        !lp->idx || !lp->flow_scratch || !lp->st.acc.flow)
        TSF_FAIL(err, TSF_ENOMEM, "training: out of memory for batches of %zu samples", Bmax);
    return TSF_OK;
}

/* Refuse NaN/Inf anywhere in src's samples, naming the first offending element. */
static int check_finite(loop *lp, const tsf_batch_source *src, const char *what, int with_targets,
                        tsf_err *err)
{
    const size_t T = lp->T, L = lp->L, I = lp->I, F = lp->F, O = lp->O;
    for (size_t k0 = 0; k0 < src->n_samples; k0 += lp->Bmax) {
        size_t B = src->n_samples - k0 < lp->Bmax ? src->n_samples - k0 : lp->Bmax;
        for (size_t b = 0; b < B; b++)
            lp->idx[b] = k0 + b;
        src->gather(src->ctx, lp->idx, B, lp->x, F ? lp->xf : NULL, with_targets ? lp->y : NULL);
        for (size_t b = 0; b < B; b++) {
            const struct {
                const float *v;
                size_t steps, width;
                tsf_sample_part part;
                const char *name;
            } parts[] = {{lp->x, T, I, TSF_SAMPLE_X, "input"},
                         {lp->xf, F ? L : 0, F, TSF_SAMPLE_XF, "known-future input"},
                         {lp->y, with_targets ? L : 0, O, TSF_SAMPLE_Y, "target"}};
            for (size_t p = 0; p < 3; p++)
                for (size_t t = 0; t < parts[p].steps; t++)
                    for (size_t i = 0; i < parts[p].width; i++) {
                        float v = parts[p].v[(t * B + b) * parts[p].width + i];
                        if (isfinite(v))
                            continue;
                        char where[512];
                        describe(src, k0 + b, parts[p].part, t, i, where, sizeof where);
                        TSF_FAIL(err, TSF_ENUMERIC,
                                 "%s data: %s is %s at %s: fill or drop missing values before "
                                 "training",
                                 what, parts[p].name, isnan(v) ? "NaN" : "infinite", where);
                    }
        }
    }
    return TSF_OK;
}

/* The first sample b < B of the batch in the loop's tensors whose loss is not finite, or B. */
static size_t first_bad_loss(const loop *lp, size_t B)
{
    const size_t O = lp->O, Q = lp->Q;
    for (size_t b = 0; b < B; b++)
        for (size_t l = 0; l < lp->L; l++) {
            double v = tsf_loss_eval(&lp->cfg->loss, O, lp->yhat + (l * B + b) * O * Q,
                                     lp->yr + (l * B + b) * O, NULL);
            if (!isfinite(v))
                return b;
        }
    return B;
}

/* The gradient of the batch is not finite: find the first sample whose own gradient is not,
 * by one forward/backward per sample (dropout off). Returns its position in the batch, or B
 * when none is bad on its own. Overwrites the batch, the gradients and yhat. */
static size_t first_bad_grad(loop *lp, const size_t *idx, size_t B)
{
    const tsf_batch_source *src = lp->train;
    for (size_t b = 0; b < B; b++) {
        gather(lp, src, idx + b, 1);
        tsf_rnn_zero_grad(lp->m);
        tsf_rnn_forward(lp->m, 1, lp->xr, lp->F ? lp->xfr : NULL, lp->yhat, 0, NULL);
        double v = tsf_loss_eval(&lp->cfg->loss, lp->L * lp->O, lp->yhat, lp->yr, lp->dyhat);
        if (!isfinite(v))
            return b;
        tsf_rnn_backward(lp->m, 1, lp->dyhat, NULL);
        if (!isfinite(tsf_grad_norm(tsf_rnn_grads(lp->m), lp->P)))
            return b;
    }
    return B;
}

/* Mean loss over src's samples in batches, dropout off. *bad_sample is set to the first
 * sample with a non-finite loss (or SIZE_MAX). */
static double evaluate(loop *lp, const tsf_batch_source *src, size_t *bad_sample)
{
    const size_t n = src->n_samples;
    double sum = 0;
    *bad_sample = (size_t)-1;
    for (size_t k0 = 0; k0 < n; k0 += lp->Bmax) {
        size_t B = n - k0 < lp->Bmax ? n - k0 : lp->Bmax;
        for (size_t b = 0; b < B; b++)
            lp->idx[b] = k0 + b;
        gather(lp, src, lp->idx, B);
        tsf_rnn_forward(lp->m, B, lp->xr, lp->F ? lp->xfr : NULL, lp->yhat, 0, NULL);
        double v = tsf_loss_eval(&lp->cfg->loss, lp->L * B * lp->O, lp->yhat, lp->yr, NULL);
        if (!isfinite(v) && *bad_sample == (size_t)-1) {
            size_t b = first_bad_loss(lp, B);
            *bad_sample = k0 + (b < B ? b : 0);
        }
        sum += v * (double)B;
    }
    return sum / (double)n;
}

static int check_config(const tsf_rnn *m, const tsf_train_config *cfg, tsf_err *err)
{
    const tsf_rnn_config *c = tsf_rnn_config_of(m);
    int rc;
    if (cfg->epochs < 1)
        TSF_FAIL(err, TSF_EINVAL, "training: epochs must be at least 1");
    if (cfg->batch_size < 1 || cfg->batch_size > tsf_rnn_max_batch(m))
        TSF_FAIL(err, TSF_EINVAL,
                 "training: batch_size %zu is outside 1 .. %zu (the model's maximum batch)",
                 cfg->batch_size, tsf_rnn_max_batch(m));
    if ((rc = tsf_loss_check(&cfg->loss, err)))
        return rc;
    if (cfg->loss.n_quantiles != c->n_quantiles)
        TSF_FAIL(err, TSF_EINVAL,
                 "training: the loss has %zu quantile%s but the model forecasts %zu per output",
                 cfg->loss.n_quantiles, cfg->loss.n_quantiles == 1 ? "" : "s", c->n_quantiles);
    if ((rc = tsf_optim_config_check(&cfg->optim, err)) ||
        (rc = tsf_sched_config_check(&cfg->sched, err)))
        return rc;
    if (!(cfg->clip.val >= 0) || !isfinite(cfg->clip.val))
        TSF_FAIL(err, TSF_EINVAL, "training: gradient_clip_val %g must be >= 0 (0 = off)",
                 cfg->clip.val);
    if ((unsigned)cfg->clip.algorithm > TSF_CLIP_VALUE)
        TSF_FAIL(err, TSF_EINVAL, "training: unknown gradient_clip_algorithm %d (norm or value)",
                 (int)cfg->clip.algorithm);
    if (!(cfg->min_delta >= 0))
        TSF_FAIL(err, TSF_EINVAL, "training: min_delta %g must be >= 0", cfg->min_delta);
    if (cfg->checkpoint && cfg->checkpoint_every < 1)
        TSF_FAIL(err, TSF_EINVAL, "training: checkpoint_every must be at least 1 epoch");
    return TSF_OK;
}

/* ---- the steps of the loop ------------------------------------------------------------- */

/* What the divergence check watches. */
typedef enum watch {
    WATCH_LOSS,      /* a training batch's loss */
    WATCH_GRAD_NORM, /* a training batch's pre-clip global gradient norm */
    WATCH_VAL_LOSS,  /* an epoch's validation loss */
} watch;

/* The divergence check: the one place that decides training has diverged. v is the watched
 * quantity; for a training batch idx[0..B) are its samples, for validation bad is the first
 * sample evaluate() found with a non-finite loss. Returns TSF_OK, or TSF_ENUMERIC naming the
 * epoch (and batch), the quantity and the first offending sample: the first of the batch whose
 * own loss (or own gradient) is not finite, found by recomputing the batch sample by sample
 * (which overwrites the loop's tensors and the gradients: training stops anyway). */
static int check_diverged(loop *lp, watch what, double v, const size_t *idx, size_t B, size_t bad,
                          tsf_err *err)
{
    const tsf__train_state *st = &lp->st;
    if (isfinite(v) && what == WATCH_LOSS) {
        /* A finite loss can diverge too: one that stays TSF_TRAIN_LOSS_GROWTH times past where
         * this run started (from at least 1e-3, so that a loss starting near zero may wobble)
         * for TSF_TRAIN_LOSS_GROWTH_BATCHES batches in a row is no longer training, and its
         * forecasts would be far outside the data, silently. A single batch may spike that far
         * and recover (a clipped RNN near instability meeting a level shift). */
        if (lp->loss0 <= 0) {
            lp->loss0 = v > 0 ? v : 1e-300;
            lp->loss0_epoch = st->epoch + 1;
            lp->loss0_batch = st->batch + 1;
        } else if (v <= TSF_TRAIN_LOSS_GROWTH * (lp->loss0 > 1e-3 ? lp->loss0 : 1e-3)) {
            lp->n_grown = 0;
        } else if (++lp->n_grown >= TSF_TRAIN_LOSS_GROWTH_BATCHES) {
            return tsf_err_set(err, TSF_ENUMERIC,
                               "epoch %zu, batch %zu: the loss is %.4g, more than %g times where "
                               "it started (%.4g in epoch %zu, batch %zu) for %d batches in a "
                               "row: training diverged; lower the learning rate or clip the "
                               "gradients (gradient_clip_val)",
                               st->epoch + 1, st->batch + 1, v, TSF_TRAIN_LOSS_GROWTH, lp->loss0,
                               lp->loss0_epoch, lp->loss0_batch, TSF_TRAIN_LOSS_GROWTH_BATCHES);
        }
    }
    if (isfinite(v))
        return TSF_OK;
    const tsf_batch_source *src = what == WATCH_VAL_LOSS ? lp->val : lp->train;
    size_t k = 0;
    if (what == WATCH_VAL_LOSS) {
        k = bad == (size_t)-1 ? 0 : bad;
    } else {
        size_t b = what == WATCH_LOSS ? first_bad_loss(lp, B) : first_bad_grad(lp, idx, B);
        k = idx[b < B ? b : 0];
    }
    char where[512], when[64];
    describe(src, k, TSF_SAMPLE_WINDOW, 0, 0, where, sizeof where);
    if (what == WATCH_VAL_LOSS)
        snprintf(when, sizeof when, "epoch %zu", st->epoch + 1);
    else
        snprintf(when, sizeof when, "epoch %zu, batch %zu", st->epoch + 1, st->batch + 1);
    static const char *const names[] = {"the loss", "the gradient norm", "the validation loss"};
    return tsf_err_set(err, TSF_ENUMERIC,
                       "%s: %s is %s (first offending sample: %s): training diverged; lower the "
                       "learning rate or clip the gradients (gradient_clip_val)",
                       when, names[what], isnan(v) ? "NaN" : "infinite", where);
}

/* Tell cfg->progress where training is; returns nonzero when it asks to stop. During epoch
 * `epoch`, after batch st->batch (r NULL): this batch's loss and gradient norm and the epoch's
 * mean loss so far. At the end of the epoch (r its record, validation included): the epoch's
 * figures. */
static int report_progress(const loop *lp, size_t epoch, size_t n_batches, double batch_loss,
                           double grad_norm, const tsf_epoch_record *r)
{
    const tsf_train_config *cfg = lp->cfg;
    if (!cfg->progress)
        return 0;
    const tsf__train_state *st = &lp->st;
    const size_t done = r ? n_batches : st->batch + 1; /* batches done in the epoch */
    tsf_train_progress p = {
        .epoch = epoch,
        .n_epochs = cfg->epochs,
        .batch = done,
        .n_batches = n_batches,
        .batch_loss = r ? r->train_loss : batch_loss,
        .loss = r ? r->train_loss : st->acc.loss_sum / (double)st->acc.n_seen,
        .val_loss = st->last_val,
        .lr = r ? r->lr : st->acc.lr,
        .grad_norm = r ? r->grad_norm_mean : grad_norm,
        .fraction = (double)(epoch * n_batches + done) / (double)(cfg->epochs * n_batches),
        .epoch_end = r != NULL,
    };
    return cfg->progress(cfg->progress_user, &p);
}

/* Write cfg->checkpoint: the weights and everything a resume needs, with st's cursor (the epoch
 * and batch to do next) as where it starts. Every checkpoint goes through here. */
static int write_checkpoint(loop *lp, const tsf_train_history *hist, tsf_err *err)
{
    const tsf_train_config *cfg = lp->cfg;
    return tsf__checkpoint_write(cfg->checkpoint, lp->m, &cfg->loss, cfg->meta, cfg->n_meta,
                                 &lp->st, hist, cfg, err);
}

/* Stop on request before batch st->batch of the epoch: write a checkpoint when configured and
 * return TSF_ECANCEL saying where training stopped and where the checkpoint is. */
static int cancel(loop *lp, const tsf_train_history *hist, size_t n_batches, tsf_err *err)
{
    const tsf_train_config *cfg = lp->cfg;
    const tsf__train_state *st = &lp->st;
    char msg[TSF_ERR_MSG_MAX];
    snprintf(msg, sizeof msg, "training cancelled in epoch %zu of %zu before batch %zu of %zu",
             st->epoch + 1, cfg->epochs, st->batch + 1, n_batches);
    if (!cfg->checkpoint)
        return tsf_err_set(err, TSF_ECANCEL, "%s", msg);
    tsf_err werr = TSF_ERR_INIT;
    if (write_checkpoint(lp, hist, &werr))
        return tsf_err_set(err, TSF_ECANCEL, "%s; writing the checkpoint failed: %.600s", msg,
                           werr.msg);
    return tsf_err_set(err, TSF_ECANCEL,
                       "%s (checkpoint written to %s: resume from it to continue)", msg,
                       cfg->checkpoint);
}

static void acc_reset(tsf__epoch_acc *a, size_t T)
{
    double *flow = a->flow;
    memset(a, 0, sizeof *a);
    a->flow = flow;
    memset(flow, 0, (T ? T : 1) * sizeof *flow);
}

/* A fresh epoch: empty accumulators and a new permutation of the samples from the RNG. */
static void start_epoch(loop *lp)
{
    tsf__train_state *st = &lp->st;
    acc_reset(&st->acc, lp->T);
    for (size_t k = 0; k < st->n_samples; k++)
        st->order[k] = k;
    if (lp->cfg->shuffle)
        gsl_ran_shuffle(st->rng, st->order, st->n_samples, sizeof *st->order);
}

/* Part k's record in lp->parts: its loss, its gradient flow (T), its gradients (P). */
static double *part_record(const loop *lp, size_t k)
{
    return (double *)(void *)(lp->parts + k * lp->part_bytes);
}

static tsf_real *part_grads(const loop *lp, size_t k)
{
    return (tsf_real *)(void *)(part_record(lp, k) + 1 + lp->T);
}

/* Send the records of this rank's parts, receive the others' (part k is rank k mod ranks's). */
static int exchange_parts(loop *lp, size_t K, tsf_err *err)
{
    const size_t ranks = tsf_par_team(), me = tsf_par_rank(), rb = lp->part_bytes;
    size_t n_mine = 0;
    for (size_t k = me; k < K; k += ranks)
        memmove(lp->parts + n_mine++ * rb, part_record(lp, k), rb); /* packed in place */
    void *all;
    int rc = tsf_par_allgather(lp->parts, n_mine * rb, &all, NULL, err);
    if (rc != TSF_OK)
        return tsf_err_prefix(err, "training: exchanging the gradients of the batch parts");
    const unsigned char *p = all;
    for (size_t r = 0; r < ranks; r++)
        for (size_t k = r; k < K; k += ranks, p += rb)
            memcpy(part_record(lp, k), p, rb);
    free(all);
    return TSF_OK;
}

/* The batch idx[0..B) in K fixed parts (cfg->shards): this rank's parts each through forward,
 * loss and backward, with dyhat weighted by the part's share of the batch so that the parts'
 * gradients add up to the batch's; then every part's record from its rank, and the sums in part
 * order into the model's gradients, *loss (the batch's mean) and the epoch's gradient flow (the
 * batch's ||dLoss/dh_t||_F from the parts' squares). Nothing here depends on the number of
 * ranks: the same parts, the same operations, the same order of additions. */
static int sharded_pass(loop *lp, const size_t *idx, size_t B, double *loss, tsf_err *err)
{
    tsf_rnn *m = lp->m;
    const size_t K = lp->K < B ? lp->K : B, T = lp->T, P = lp->P;
    /* the ranks sharing this training (1 inside a backtest's fits, which ranks share out) */
    const size_t ranks = tsf_par_team(), me = ranks > 1 ? tsf_par_rank() : 0;
    /* Every rank draws it, and only for dropout: without it the shuffles are one pass's. */
    const unsigned long seed = tsf_rnn_config_of(m)->dropout > 0 ? gsl_rng_get(lp->st.rng) : 0;
    for (size_t k = me; k < K; k += ranks) {
        size_t b0 = k * B / K, nb = (k + 1) * B / K - b0, n = lp->L * nb * lp->O;
        double *rec = part_record(lp, k);
        gather(lp, lp->train, idx + b0, nb);
        tsf_rnn_zero_grad(m);
        gsl_rng_set(lp->part_rng, seed + k);
        tsf_rnn_forward(m, nb, lp->xr, lp->F ? lp->xfr : NULL, lp->yhat, 1, lp->part_rng);
        rec[0] = tsf_loss_eval(&lp->cfg->loss, n, lp->yhat, lp->yr, lp->dyhat);
        const tsf_real w = (tsf_real)((double)nb / (double)B);
        for (size_t i = 0; i < n * lp->Q; i++)
            lp->dyhat[i] *= w;
        memset(rec + 1, 0, T * sizeof *rec);
        tsf_rnn_backward(m, nb, lp->dyhat, rec + 1);
        memcpy(part_grads(lp, k), tsf_rnn_grads(m), P * sizeof(tsf_real));
    }
    int rc = ranks > 1 ? exchange_parts(lp, K, err) : TSF_OK;
    if (rc != TSF_OK)
        return rc;
    tsf_real *grads = tsf_rnn_grads(m);
    double sum = 0, *ss = lp->flow_scratch;
    memset(ss, 0, T * sizeof *ss);
    for (size_t k = 0; k < K; k++) {
        const double *rec = part_record(lp, k);
        const tsf_real *g = part_grads(lp, k);
        size_t nb = (k + 1) * B / K - k * B / K;
        for (size_t i = 0; i < P; i++)
            grads[i] = k == 0 ? g[i] : grads[i] + g[i];
        sum += rec[0] * (double)nb;
        for (size_t t = 0; t < T; t++)
            ss[t] += rec[1 + t] * rec[1 + t];
    }
    for (size_t t = 0; t < T; t++)
        lp->st.acc.flow[t] += sqrt(ss[t]);
    *loss = sum / (double)B;
    if (!isfinite(*loss)) { /* the divergence report looks for the first bad sample's loss */
        gather(lp, lp->train, idx, B);
        tsf_rnn_forward(m, B, lp->xr, lp->F ? lp->xfr : NULL, lp->yhat, 0, NULL);
        tsf_loss_eval(&lp->cfg->loss, lp->L * B * lp->O, lp->yhat, lp->yr, NULL);
    }
    return TSF_OK;
}

/* One update on the samples idx[0..B): forward (dropout on), loss, backward, clip, step, then
 * its record in the epoch's accumulators and in hist. No update is made with a non-finite
 * loss or gradient (the divergence check's error). *loss and *norm receive the batch's loss
 * and its pre-clip gradient norm. */
static int train_batch(loop *lp, tsf_train_history *hist, const size_t *idx, size_t B,
                       size_t n_batches, double *loss, double *norm, tsf_err *err)
{
    const tsf_train_config *cfg = lp->cfg;
    tsf__train_state *st = &lp->st;
    tsf_rnn *m = lp->m;
    tsf_real *grads = tsf_rnn_grads(m);
    int rc;

    /* forward, loss, backward: in one pass, or in fixed parts (over ranks) */
    if (lp->K) {
        if ((rc = sharded_pass(lp, idx, B, loss, err)) ||
            (rc = check_diverged(lp, WATCH_LOSS, *loss, idx, B, 0, err)))
            return rc;
    } else {
        gather(lp, lp->train, idx, B);
        tsf_rnn_zero_grad(m);
        tsf_rnn_forward(m, B, lp->xr, lp->F ? lp->xfr : NULL, lp->yhat, 1, st->rng);
        *loss = tsf_loss_eval(&cfg->loss, lp->L * B * lp->O, lp->yhat, lp->yr, lp->dyhat);
        if ((rc = check_diverged(lp, WATCH_LOSS, *loss, idx, B, 0, err)))
            return rc;
        tsf_rnn_backward(m, B, lp->dyhat, st->acc.flow);
    }

    /* clip (the norm scale is folded into the update), then step */
    double scale = 1;
    int clipped = 0;
    *norm = tsf_clip_grads(&cfg->clip, grads, lp->P, &scale, &clipped);
    if ((rc = check_diverged(lp, WATCH_GRAD_NORM, *norm, idx, B, 0, err)))
        return rc;
    double lr =
        tsf_sched_lr(&st->sched, st->epoch, (size_t)st->optim->step, n_batches, cfg->epochs);
    tsf_optim_step(st->optim, tsf_rnn_params(m), grads, lr, scale);

    /* record */
    tsf__epoch_acc *a = &st->acc;
    hist->step_norm[hist->n_steps] = *norm;
    hist->step_clipped[hist->n_steps] = (unsigned char)clipped;
    hist->n_steps++;
    a->loss_sum += *loss * (double)B;
    a->n_seen += B;
    a->norm_sum += *norm;
    if (*norm > a->norm_max)
        a->norm_max = *norm;
    a->n_steps++;
    a->n_clipped += (size_t)clipped;
    a->lr = lr;
    return TSF_OK;
}

/* Close the epoch in progress into the history. */
static void record_epoch(loop *lp, tsf_train_history *h, double val_loss, double seconds)
{
    const tsf__epoch_acc *a = &lp->st.acc;
    tsf_epoch_record *r = &h->epoch[h->n_epochs];
    r->train_loss = a->n_seen ? a->loss_sum / (double)a->n_seen : NAN;
    r->val_loss = val_loss;
    r->lr = a->lr;
    r->grad_norm_mean = a->n_steps ? a->norm_sum / (double)a->n_steps : NAN;
    r->grad_norm_max = a->norm_max;
    r->n_steps = a->n_steps;
    r->n_clipped = a->n_clipped;
    r->seconds = seconds;
    double *flow = h->grad_flow + h->n_epochs * lp->T;
    for (size_t t = 0; t < lp->T; t++)
        flow[t] = a->n_steps ? a->flow[t] / (double)a->n_steps : NAN;
    h->n_epochs++;
}

/* Close epoch st->epoch after its last batch (t0: when this run of it began): validate, record
 * it in hist, step the schedule on the monitored loss (validation, else training) and update
 * early stopping (keeping the best weights when patience is on). */
static int end_epoch(loop *lp, tsf_train_history *hist, double t0, tsf_err *err)
{
    const tsf_train_config *cfg = lp->cfg;
    tsf__train_state *st = &lp->st;
    double val_loss = NAN;
    if (lp->val) {
        size_t bad;
        val_loss = evaluate(lp, lp->val, &bad);
        int rc = check_diverged(lp, WATCH_VAL_LOSS, val_loss, NULL, 0, bad, err);
        if (rc)
            return rc;
    }
    st->last_val = val_loss;
    record_epoch(lp, hist, val_loss, st->acc.seconds + (now_seconds() - t0));
    const tsf_epoch_record *r = &hist->epoch[hist->n_epochs - 1];
    double monitored = lp->val ? val_loss : r->train_loss;
    tsf_sched_epoch_end(&st->sched, monitored);
    /* Early stopping's bookkeeping also tracks the best epoch when patience is 0 (off). */
    if (tsf_early_stop_update(&st->es, st->epoch, monitored) && cfg->patience > 0) {
        memcpy(st->best, tsf_rnn_params(lp->m), lp->P * sizeof *st->best);
        st->have_best = 1;
    }
    hist->best_epoch = st->es.best_epoch;
    if (st->es.stop) {
        hist->stopped_early = 1;
        st->complete = 1;
    }
    return TSF_OK;
}

/* Early stopping keeps the best epoch's weights; the last ones go to st->last, which the final
 * checkpoint keeps so that training can be extended later. */
static int restore_best(loop *lp, tsf_train_history *hist, tsf_err *err)
{
    tsf__train_state *st = &lp->st;
    tsf_real *params = tsf_rnn_params(lp->m);
    const size_t P = lp->P;
    if (lp->cfg->patience == 0 || !st->have_best || hist->restored_best ||
        memcmp(st->best, params, P * sizeof *params) == 0)
        return TSF_OK;
    st->last = malloc((P ? P : 1) * sizeof *st->last);
    if (!st->last)
        TSF_FAIL(err, TSF_ENOMEM, "training: out of memory");
    memcpy(st->last, params, P * sizeof *params);
    memcpy(params, st->best, P * sizeof *params);
    hist->restored_best = 1;
    return TSF_OK;
}

/* The state of a fresh run (a resume then overwrites it from the checkpoint): the sample
 * order, the RNG seeded with cfg->seed, the optimizer, schedule and early stopping. */
static int state_alloc(loop *lp, size_t N, tsf_err *err)
{
    const tsf_train_config *cfg = lp->cfg;
    tsf__train_state *st = &lp->st;
    const size_t P = lp->P;
    st->n_samples = N;
    st->batch_size = cfg->batch_size;
    st->order = malloc(N * sizeof *st->order);
    st->rng = gsl_rng_alloc(gsl_rng_mt19937);
    if (cfg->patience > 0)
        st->best = malloc((P ? P : 1) * sizeof *st->best);
    if (!st->order || !st->rng || (cfg->patience > 0 && !st->best))
        TSF_FAIL(err, TSF_ENOMEM, "training: out of memory");
    int rc = tsf_optim_alloc(&st->optim, &cfg->optim, P, err);
    if (rc)
        return rc;
    gsl_rng_set(st->rng, cfg->seed);
    tsf_sched_init(&st->sched, &cfg->sched, cfg->optim.lr);
    tsf_early_stop_init(&st->es, cfg->patience, cfg->min_delta);
    for (size_t k = 0; k < N; k++)
        st->order[k] = k;
    return TSF_OK;
}

/* ---- the loop --------------------------------------------------------------------------- */

int tsf_train(tsf_rnn *m, const tsf_batch_source *train, const tsf_batch_source *val,
              const tsf_train_config *cfg, tsf_train_history *hist, tsf_err *err)
{
    loop lp = {0};
    tsf__train_state *st = &lp.st;
    tsf_train_history local_hist;
    tsf_train_history_init(&local_hist);
    if (!hist)
        hist = &local_hist;
    int rc = check_config(m, cfg, err);
    if (rc)
        return rc;
    lp.m = m;
    lp.train = train;
    lp.val = val && val->n_samples > 0 ? val : NULL;
    if (train->n_samples == 0)
        TSF_FAIL(err, TSF_EINVAL, "training data: no samples (windows) to train on");
    if ((rc = check_source(&lp, train, "training", err)) ||
        (lp.val && (rc = check_source(&lp, lp.val, "validation", err))))
        return rc;
    const size_t N = train->n_samples, bs = cfg->batch_size;
    const size_t n_batches = (N + bs - 1) / bs;

    /* Set-up: every buffer, the RNG, the optimizer; nothing is allocated per batch. */
    if ((rc = loop_alloc(&lp, m, cfg, bs, err)) || (rc = state_alloc(&lp, N, err)))
        goto cleanup;

    /* NaN in the data is the caller's problem, refused before any training. */
    if ((rc = check_finite(&lp, train, "training", 1, err)) ||
        (lp.val && (rc = check_finite(&lp, lp.val, "validation", 1, err))))
        goto cleanup;

    if (cfg->resume) {
        if ((rc = tsf__checkpoint_resume(cfg->resume, m, st, hist, err)))
            goto cleanup;
    } else {
        tsf_train_history_clear(hist);
        if (cfg->init_params)
            tsf_rnn_init_params(m, st->rng);
    }
    size_t total_epochs = cfg->epochs > st->epoch ? cfg->epochs : st->epoch;
    if ((rc = tsf__history_reserve(hist, lp.T, total_epochs,
                                   hist->n_steps + (total_epochs - st->epoch) * n_batches, err)))
        goto cleanup;

    /* st->epoch and st->batch are the cursor: the epoch in progress and its next batch. */
    int stop_requested = 0;
    while (st->epoch < cfg->epochs && !st->complete) {
        double t0 = now_seconds();
        for (; st->batch < n_batches; st->batch++) {
            if (stop_requested || (cfg->cancel && *cfg->cancel)) {
                st->acc.seconds += now_seconds() - t0;
                rc = cancel(&lp, hist, n_batches, err);
                goto cleanup;
            }
            /* After the cancel poll, so that a checkpoint at batch 0 means "not drawn yet". */
            if (st->batch == 0)
                start_epoch(&lp);
            const size_t k0 = st->batch * bs, B = N - k0 < bs ? N - k0 : bs;
            double loss, norm;
            if ((rc = train_batch(&lp, hist, st->order + k0, B, n_batches, &loss, &norm, err)))
                goto cleanup;
            stop_requested |= report_progress(&lp, st->epoch, n_batches, loss, norm, NULL);
        }
        if ((rc = end_epoch(&lp, hist, t0, err)))
            goto cleanup;
        /* The epoch is done: the cursor moves to the next one before anyone looks at it. */
        const size_t done = st->epoch++;
        st->batch = 0;
        stop_requested |=
            report_progress(&lp, done, n_batches, 0, 0, &hist->epoch[hist->n_epochs - 1]);
        if (cfg->checkpoint && !st->complete && st->epoch < cfg->epochs &&
            st->epoch % cfg->checkpoint_every == 0 && (rc = write_checkpoint(&lp, hist, err)))
            goto cleanup;
    }
    if ((rc = restore_best(&lp, hist, err)))
        goto cleanup;
    if (cfg->checkpoint && (rc = write_checkpoint(&lp, hist, err)))
        goto cleanup;
    rc = TSF_OK;
cleanup:
    loop_free(&lp);
    tsf_train_history_clear(&local_hist);
    return rc;
}

/* ---- prediction ------------------------------------------------------------------------- */

int tsf_predict(tsf_rnn *m, const tsf_batch_source *src, size_t batch_size, double *out,
                tsf_err *err)
{
    loop lp = {0};
    if (batch_size < 1 || batch_size > tsf_rnn_max_batch(m))
        TSF_FAIL(err, TSF_EINVAL,
                 "predict: batch_size %zu is outside 1 .. %zu (the model's maximum batch)",
                 batch_size, tsf_rnn_max_batch(m));
    lp.m = m;
    int rc = check_source(&lp, src, "prediction", err);
    if (rc)
        return rc;
    tsf_train_config cfg;
    tsf_train_config_init(&cfg);
    if ((rc = loop_alloc(&lp, m, &cfg, batch_size, err)) ||
        (rc = check_finite(&lp, src, "prediction", 0, err)))
        goto cleanup;
    const size_t L = lp.L, O = lp.O, Q = lp.Q, N = src->n_samples;
    for (size_t k0 = 0; k0 < N; k0 += batch_size) {
        size_t B = N - k0 < batch_size ? N - k0 : batch_size;
        for (size_t b = 0; b < B; b++)
            lp.idx[b] = k0 + b;
        src->gather(src->ctx, lp.idx, B, lp.x, lp.F ? lp.xf : NULL, NULL);
        to_real(lp.xr, lp.x, lp.T * B * lp.I);
        if (lp.F)
            to_real(lp.xfr, lp.xf, L * B * lp.F);
        tsf_rnn_forward(m, B, lp.xr, lp.F ? lp.xfr : NULL, lp.yhat, 0, NULL);
        /* (L, B, O*Q) -> (N, L, O*Q) */
        for (size_t l = 0; l < L; l++)
            for (size_t b = 0; b < B; b++)
                for (size_t j = 0; j < O * Q; j++)
                    out[((k0 + b) * L + l) * O * Q + j] = (double)lp.yhat[(l * B + b) * O * Q + j];
    }
cleanup:
    loop_free(&lp);
    return rc;
}
