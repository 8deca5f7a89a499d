/* The training loop, model files and checkpoints (float build): learning, bit-identical repeat
 * runs and resumes, early stopping, clipping records, the gradient-flow record, NaN guards,
 * cancellation, configuration errors, saving and loading. */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support.h"
#include "tsflow/forecast.h"
#include "tsflow/rnn_model.h"
#include "tsflow/train.h"

#define SEC TSF_US_PER_S /* microseconds per second */

_Static_assert(sizeof(tsf_real) == sizeof(float), "this test needs the float build");

/* ---- a synthetic problem ------------------------------------------------------------------ */

/* Sample k: a sine of phase 0.37 k sampled every 0.3 over the lookback (feature 0) and, with
 * I = 2, its cosine (feature 1); the target continues the sine over the horizon; with F = 1 the
 * known-future input is the step index / 10. nan_sample/nan_step put a NaN into x. */
typedef struct sine {
    tsf_batch_source src;
    size_t nan_sample, nan_step;
    float y_scale;
} sine;

static void sine_gather(void *ctx, const size_t *idx, size_t B, float *x, float *xf, float *y)
{
    const sine *s = ctx;
    const size_t T = s->src.lookback, L = s->src.horizon, I = s->src.n_inputs, F = s->src.n_future;
    for (size_t b = 0; b < B; b++) {
        double ph = 0.37 * (double)idx[b];
        for (size_t t = 0; t < T; t++) {
            x[(t * B + b) * I] = (float)sin(ph + 0.3 * (double)t);
            if (I > 1)
                x[(t * B + b) * I + 1] = (float)cos(ph + 0.3 * (double)t);
            if (idx[b] == s->nan_sample && t == s->nan_step)
                x[(t * B + b) * I] = NAN;
        }
        for (size_t l = 0; l < L; l++) {
            if (y)
                y[l * B + b] = s->y_scale * (float)sin(ph + 0.3 * (double)(T + l));
            if (F)
                xf[(l * B + b) * F] = (float)(l + 1) / 10;
        }
    }
}

static void sine_init(sine *s, size_t N, size_t T, size_t L, size_t I, size_t F)
{
    memset(s, 0, sizeof *s);
    s->src.n_samples = N;
    s->src.lookback = T;
    s->src.horizon = L;
    s->src.n_inputs = I;
    s->src.n_future = F;
    s->src.n_outputs = 1;
    s->src.gather = sine_gather;
    s->src.ctx = s;
    s->nan_sample = (size_t)-1;
    s->y_scale = 1;
}

static tsf_rnn_config small_config(tsf_cell cell)
{
    tsf_rnn_config c = {0};
    c.cell = cell;
    c.n_inputs = 2;
    c.n_future = 1;
    c.hidden = 8;
    c.n_layers = 1;
    c.lookback = 10;
    c.horizon = 3;
    c.n_outputs = 1;
    c.n_quantiles = 1;
    c.head = TSF_HEAD_DIRECT;
    return c;
}

static tsf_rnn *make_model(const tsf_rnn_config *c, size_t max_batch)
{
    tsf_rnn *m = NULL;
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_rnn_alloc(&m, c, max_batch, &err), TSF_OK, "%s", err.msg);
    return m;
}

static void base_config(tsf_train_config *tc)
{
    tsf_train_config_init(tc);
    tc->epochs = 4;
    tc->batch_size = 8;
    tc->seed = 42;
    tc->optim.lr = 0.01;
}

/* Train a fresh model; returns it (caller frees). */
static tsf_rnn *train_once(const tsf_rnn_config *c, const tsf_train_config *tc, sine *tr, sine *va,
                           tsf_train_history *h)
{
    tsf_rnn *m = make_model(c, tc->batch_size);
    tsf_err err = TSF_ERR_INIT;
    int rc = tsf_train(m, &tr->src, va ? &va->src : NULL, tc, h, &err);
    cr_assert_eq(rc, TSF_OK, "tsf_train: %s", err.msg);
    return m;
}

static void assert_same_weights(tsf_rnn *a, tsf_rnn *b, const char *what)
{
    size_t P = tsf_rnn_n_params(a);
    cr_assert_eq(P, tsf_rnn_n_params(b));
    const float *pa = tsf_rnn_params(a), *pb = tsf_rnn_params(b);
    for (size_t i = 0; i < P; i++)
        if (memcmp(&pa[i], &pb[i], sizeof *pa) != 0)
            cr_assert_fail("%s: weight %zu differs: %.9g vs %.9g", what, i, pa[i], pb[i]);
}

/* ---- batches in fixed parts (shards: data-parallel training) ------------------------------- */

Test(shards, one_part_without_dropout_gives_the_one_pass_weights_bit_for_bit)
{
    sine tr;
    sine_init(&tr, 50, 10, 3, 2, 1);
    tsf_rnn_config c = small_config(TSF_CELL_LSTM);
    tsf_train_config tc;
    base_config(&tc);
    tc.clip.val = 0.5;
    tsf_rnn *a = train_once(&c, &tc, &tr, NULL, NULL);
    tc.shards = 1;
    tsf_rnn *b = train_once(&c, &tc, &tr, NULL, NULL);
    assert_same_weights(a, b, "shards = 1 against one pass");
    tsf_rnn_free(a);
    tsf_rnn_free(b);
}

/* One SGD step on one batch of 8: the four parts' weighted gradients add up to the batch's
 * (same norm and same step up to float rounding); a part weighted by 1 instead of its share would
 * give 4 times the norm. */
Test(shards, four_parts_add_up_to_the_gradient_of_the_whole_batch)
{
    sine tr;
    sine_init(&tr, 8, 10, 3, 2, 1);
    tsf_rnn_config c = small_config(TSF_CELL_GRU);
    tsf_train_config tc;
    base_config(&tc);
    tc.epochs = 1;
    tsf_optim_config_init(&tc.optim, TSF_OPTIM_SGD);
    tc.optim.lr = 0.1;
    tsf_train_history ha, hb;
    tsf_train_history_init(&ha);
    tsf_train_history_init(&hb);
    tsf_rnn *a = train_once(&c, &tc, &tr, NULL, &ha);
    tc.shards = 4;
    tsf_rnn *b = train_once(&c, &tc, &tr, NULL, &hb);
    cr_assert_eq(ha.n_steps, 1);
    cr_assert_eq(hb.n_steps, 1);
    cr_assert_float_eq(hb.step_norm[0], ha.step_norm[0], 1e-6 * ha.step_norm[0],
                       "norm %.9g vs %.9g", hb.step_norm[0], ha.step_norm[0]);
    cr_assert_float_eq(hb.epoch[0].train_loss, ha.epoch[0].train_loss,
                       1e-6 * ha.epoch[0].train_loss);
    for (size_t t = 0; t < 10; t++)
        cr_assert_float_eq(hb.grad_flow[t], ha.grad_flow[t], 1e-5 * ha.grad_flow[t] + 1e-12,
                           "gradient flow at step %zu: %g vs %g", t, hb.grad_flow[t],
                           ha.grad_flow[t]);
    const float *pa = tsf_rnn_params(a), *pb = tsf_rnn_params(b);
    for (size_t i = 0; i < tsf_rnn_n_params(a); i++)
        cr_assert_float_eq(pb[i], pa[i], 1e-6, "weight %zu: %.9g vs %.9g", i, pb[i], pa[i]);
    tsf_rnn_free(a);
    tsf_rnn_free(b);
    tsf_train_history_clear(&ha);
    tsf_train_history_clear(&hb);
}

Test(shards, a_history_packed_for_another_rank_unpacks_to_the_same_record)
{
    sine tr;
    sine_init(&tr, 20, 10, 3, 2, 1);
    tsf_rnn_config c = small_config(TSF_CELL_GRU);
    tsf_train_config tc;
    base_config(&tc);
    tc.epochs = 3;
    tsf_train_history h, back;
    tsf_train_history_init(&h);
    tsf_train_history_init(&back);
    tsf_rnn_free(train_once(&c, &tc, &tr, NULL, &h));
    snprintf(h.note, sizeof h.note, "chosen: a note travels too");
    unsigned char *buf = NULL;
    size_t len = 0, used = 0;
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_train_history_pack(&h, &buf, &len, &err), TSF_OK, "%s", err.msg);
    cr_assert_eq(tsf_train_history_unpack(&back, buf, len, &used, &err), TSF_OK, "%s", err.msg);
    cr_assert_eq(used, len);
    cr_assert_eq(back.n_epochs, 3);
    cr_assert_eq(back.n_steps, h.n_steps);
    cr_assert_eq(back.lookback, 10);
    cr_assert_str_eq(back.note, h.note);
    cr_assert_eq(memcmp(back.epoch, h.epoch, 3 * sizeof *h.epoch), 0);
    cr_assert_eq(memcmp(back.grad_flow, h.grad_flow, 3 * 10 * sizeof(double)), 0);
    cr_assert_eq(memcmp(back.step_norm, h.step_norm, h.n_steps * sizeof(double)), 0);
    cr_assert_eq(memcmp(back.step_clipped, h.step_clipped, h.n_steps), 0);
    /* cut short: refused, naming the sizes */
    cr_assert_eq(tsf_train_history_unpack(&back, buf, len - 1, &used, &err), TSF_EFORMAT);
    cr_assert(strstr(err.msg, "the packed sizes do not add up") != NULL, "%s", err.msg);
    free(buf);
    tsf_train_history_clear(&h);
    tsf_train_history_clear(&back);
}

/* ---- learning and records ----------------------------------------------------------------- */

Test(train, an_lstm_learns_to_continue_a_sine)
{
    sine tr, va;
    sine_init(&tr, 64, 10, 3, 2, 1);
    sine_init(&va, 16, 10, 3, 2, 1);
    tsf_rnn_config c = small_config(TSF_CELL_LSTM);
    tsf_train_config tc;
    base_config(&tc);
    tc.epochs = 30;
    tsf_train_history h;
    tsf_train_history_init(&h);
    tsf_rnn *m = train_once(&c, &tc, &tr, &va, &h);
    cr_assert_eq(h.n_epochs, 30);
    cr_assert_eq(h.n_steps, 30 * 8);
    const tsf_epoch_record *first = &h.epoch[0], *last = &h.epoch[29];
    cr_assert_lt(last->train_loss, first->train_loss / 10, "train loss %g -> %g", first->train_loss,
                 last->train_loss);
    cr_assert_lt(last->val_loss, 0.05, "validation loss %g", last->val_loss);
    for (size_t e = 0; e < h.n_epochs; e++) {
        cr_assert_eq(h.epoch[e].n_steps, 8);
        cr_assert_eq(h.epoch[e].lr, 0.01);
        cr_assert(h.epoch[e].grad_norm_max >= h.epoch[e].grad_norm_mean);
        cr_assert_geq(h.epoch[e].seconds, 0);
        for (size_t t = 0; t < 10; t++)
            cr_assert(isfinite(h.grad_flow[e * 10 + t]) && h.grad_flow[e * 10 + t] > 0,
                      "grad flow epoch %zu step %zu: %g", e, t, h.grad_flow[e * 10 + t]);
    }
    /* The mean of the per-step norms is the epoch's mean. */
    double s = 0;
    for (size_t k = 0; k < 8; k++)
        s += h.step_norm[k];
    cr_assert_float_eq(s / 8, h.epoch[0].grad_norm_mean, 1e-12);
    tsf_rnn_free(m);
    tsf_train_history_clear(&h);
}

Test(train, the_same_seed_gives_bit_identical_weights_and_another_seed_does_not)
{
    sine tr, va;
    sine_init(&tr, 50, 10, 3, 2, 1); /* 50 = 6 batches of 8 and one of 2 */
    sine_init(&va, 10, 10, 3, 2, 1);
    tsf_rnn_config c = small_config(TSF_CELL_GRU);
    c.n_layers = 2;
    c.dropout = 0.3; /* the RNG drives the dropout masks too */
    tsf_train_config tc;
    base_config(&tc);
    tc.clip.val = 0.5;
    tsf_rnn *a = train_once(&c, &tc, &tr, &va, NULL);
    tsf_rnn *b = train_once(&c, &tc, &tr, &va, NULL);
    assert_same_weights(a, b, "two runs with seed 42");
    tc.seed = 43;
    tsf_rnn *d = train_once(&c, &tc, &tr, &va, NULL);
    cr_assert_neq(memcmp(tsf_rnn_params(a), tsf_rnn_params(d), tsf_rnn_n_params(a) * 4), 0);
    tsf_rnn_free(a);
    tsf_rnn_free(b);
    tsf_rnn_free(d);
}

Test(train, clipping_is_recorded_for_every_update)
{
    sine tr;
    sine_init(&tr, 32, 10, 3, 2, 1);
    tsf_rnn_config c = small_config(TSF_CELL_RNN_TANH);
    tsf_train_config tc;
    base_config(&tc);
    tc.epochs = 2;
    tc.clip.val = 1e-4; /* smaller than any gradient norm: every update clips */
    tsf_train_history h;
    tsf_train_history_init(&h);
    tsf_rnn *m = train_once(&c, &tc, &tr, NULL, &h);
    cr_assert_eq(h.n_steps, 8);
    for (size_t k = 0; k < h.n_steps; k++) {
        cr_assert_eq(h.step_clipped[k], 1);
        cr_assert_gt(h.step_norm[k], 1e-4);
    }
    cr_assert_eq(h.epoch[0].n_clipped, 4);
    cr_assert(isnan(h.epoch[0].val_loss));
    tsf_train_history_clear(&h);
    /* A large threshold never clips. */
    tc.clip.val = 1e9;
    tsf_train_history_init(&h);
    tsf_rnn *m2 = train_once(&c, &tc, &tr, NULL, &h);
    cr_assert_eq(h.epoch[0].n_clipped + h.epoch[1].n_clipped, 0);
    tsf_rnn_free(m);
    tsf_rnn_free(m2);
    tsf_train_history_clear(&h);
}

Test(train, truncated_bptt_leaves_no_gradient_flow_before_the_last_k_steps)
{
    sine tr;
    sine_init(&tr, 16, 10, 3, 2, 1);
    tsf_rnn_config c = small_config(TSF_CELL_LSTM);
    c.bptt_steps = 4;
    tsf_train_config tc;
    base_config(&tc);
    tc.epochs = 1;
    tsf_train_history h;
    tsf_train_history_init(&h);
    tsf_rnn *m = train_once(&c, &tc, &tr, NULL, &h);
    cr_assert_eq(h.lookback, 10);
    for (size_t t = 0; t < 10; t++) {
        if (t < 6)
            cr_assert_eq(h.grad_flow[t], 0.0, "step %zu: %g", t, h.grad_flow[t]);
        else
            cr_assert_gt(h.grad_flow[t], 0.0, "step %zu", t);
    }
    tsf_rnn_free(m);
    tsf_train_history_clear(&h);
}

Test(train, cosine_and_step_schedules_set_the_recorded_learning_rate)
{
    sine tr;
    sine_init(&tr, 16, 10, 3, 2, 1);
    tsf_rnn_config c = small_config(TSF_CELL_GRU);
    tsf_train_config tc;
    base_config(&tc);
    tc.epochs = 4;
    tc.optim.lr = 0.1;
    tsf_sched_config_init(&tc.sched, TSF_SCHED_STEP);
    tc.sched.step_size = 2;
    tc.sched.gamma = 0.5;
    tsf_train_history h;
    tsf_train_history_init(&h);
    tsf_rnn *m = train_once(&c, &tc, &tr, NULL, &h);
    const double want[] = {0.1, 0.1, 0.05, 0.05};
    for (size_t e = 0; e < 4; e++)
        cr_assert_float_eq(h.epoch[e].lr, want[e], 1e-15, "epoch %zu: %g", e, h.epoch[e].lr);
    tsf_rnn_free(m);
    /* cosine, 2 updates per epoch, no warm-up: the last update (index 7 of 8) has
     * lr = 0.1 (1 + cos(pi 7/8)) / 2. */
    tsf_sched_config_init(&tc.sched, TSF_SCHED_COSINE);
    m = train_once(&c, &tc, &tr, NULL, &h);
    cr_assert_float_eq(h.epoch[3].lr, 0.05 * (1 + cos(M_PI * 7 / 8)), 1e-15);
    tsf_rnn_free(m);
    tsf_train_history_clear(&h);
}

Test(train, early_stopping_restores_the_weights_of_the_best_epoch)
{
    sine tr, va;
    sine_init(&tr, 32, 10, 3, 2, 1);
    sine_init(&va, 8, 10, 3, 2, 1);
    tsf_rnn_config c = small_config(TSF_CELL_LSTM);
    tsf_train_config tc;
    base_config(&tc);
    tc.epochs = 20;
    tc.patience = 2;
    tc.min_delta = 1e9; /* only the first epoch counts as an improvement */
    tsf_train_history h;
    tsf_train_history_init(&h);
    tsf_rnn *m = train_once(&c, &tc, &tr, &va, &h);
    cr_assert_eq(h.n_epochs, 3);
    cr_assert_eq(h.stopped_early, 1);
    cr_assert_eq(h.best_epoch, 0);
    cr_assert_eq(h.restored_best, 1);
    /* The restored weights are those after epoch 1 of the same run. */
    tc.epochs = 1;
    tc.patience = 0;
    tsf_rnn *one = train_once(&c, &tc, &tr, &va, NULL);
    assert_same_weights(m, one, "restored best vs one epoch");
    tsf_rnn_free(m);
    tsf_rnn_free(one);
    tsf_train_history_clear(&h);
}

/* ---- progress and cancellation ------------------------------------------------------------ */

typedef struct progress_log {
    size_t calls, epoch_ends;
    double last_fraction;
    size_t stop_epoch, stop_batch; /* request a stop after this batch (1-based) of this epoch */
    volatile sig_atomic_t *flag;   /* set it instead of returning nonzero */
} progress_log;

static int on_progress(void *user, const tsf_train_progress *p)
{
    progress_log *g = user;
    g->calls++;
    g->epoch_ends += (size_t)p->epoch_end;
    cr_assert_geq(p->fraction, g->last_fraction);
    g->last_fraction = p->fraction;
    if (!p->epoch_end && p->epoch == g->stop_epoch && p->batch == g->stop_batch) {
        if (g->flag) {
            *g->flag = 1;
            return 0;
        }
        return 1;
    }
    return 0;
}

Test(train, reports_progress_after_every_batch_and_epoch)
{
    sine tr, va;
    sine_init(&tr, 20, 10, 3, 2, 1); /* 3 batches of 8, 8, 4 */
    sine_init(&va, 5, 10, 3, 2, 1);
    tsf_rnn_config c = small_config(TSF_CELL_GRU);
    tsf_train_config tc;
    base_config(&tc);
    tc.epochs = 2;
    progress_log g = {0};
    g.stop_epoch = (size_t)-1;
    tc.progress = on_progress;
    tc.progress_user = &g;
    tsf_rnn *m = train_once(&c, &tc, &tr, &va, NULL);
    cr_assert_eq(g.calls, 2 * 3 + 2);
    cr_assert_eq(g.epoch_ends, 2);
    cr_assert_eq(g.last_fraction, 1.0);
    tsf_rnn_free(m);
}

Test(train, the_cancel_flag_stops_between_batches_with_ecancel)
{
    sine tr;
    sine_init(&tr, 40, 10, 3, 2, 1);
    tsf_rnn_config c = small_config(TSF_CELL_GRU);
    tsf_train_config tc;
    base_config(&tc);
    volatile sig_atomic_t flag = 0;
    progress_log g = {0};
    g.stop_epoch = 1;
    g.stop_batch = 2;
    g.flag = &flag;
    tc.cancel = &flag;
    tc.progress = on_progress;
    tc.progress_user = &g;
    tsf_rnn *m = make_model(&c, 8);
    tsf_train_history h;
    tsf_train_history_init(&h);
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_train(m, &tr.src, NULL, &tc, &h, &err), TSF_ECANCEL);
    cr_assert_str_eq(err.msg, "training cancelled in epoch 2 of 4 before batch 3 of 5");
    cr_assert_eq(h.n_epochs, 1);
    cr_assert_eq(h.n_steps, 5 + 2);
    tsf_rnn_free(m);
    tsf_train_history_clear(&h);
}

/* ---- checkpoints and resume --------------------------------------------------------------- */

/* Train tc.epochs straight; then again, stopping after batch stop_batch of epoch stop_epoch with
 * a checkpoint, and resume from it in a new model: the weights must be the same bits. */
static void check_resume(const tsf_rnn_config *c, tsf_train_config tc, size_t stop_epoch,
                         size_t stop_batch, int with_val)
{
    sine tr, va;
    sine_init(&tr, 44, 10, 3, 2, 1);
    sine_init(&va, 12, 10, 3, 2, 1);
    tsf_train_history h1, h2;
    tsf_train_history_init(&h1);
    tsf_train_history_init(&h2);
    tsf_rnn *straight = train_once(c, &tc, &tr, with_val ? &va : NULL, &h1);

    const char *ck = tsft_path(tsft_tmpdir(), "ck.h5");
    tsf_train_config t2 = tc;
    progress_log g = {0};
    g.stop_epoch = stop_epoch;
    g.stop_batch = stop_batch;
    t2.progress = on_progress;
    t2.progress_user = &g;
    t2.checkpoint = ck;
    tsf_rnn *m = make_model(c, tc.batch_size);
    tsf_err err = TSF_ERR_INIT;
    int rc = tsf_train(m, &tr.src, with_val ? &va.src : NULL, &t2, &h2, &err);
    cr_assert_eq(rc, TSF_ECANCEL, "%s", err.msg);
    cr_assert(strstr(err.msg, "checkpoint written to"), "%s", err.msg);
    tsf_rnn_free(m);
    tsf_train_history_clear(&h2);

    /* A new process would start here: a new model, the same options plus resume. */
    tsf_train_config t3 = tc;
    t3.resume = ck;
    t3.checkpoint = ck;
    m = make_model(c, tc.batch_size);
    tsf_train_history_init(&h2);
    rc = tsf_train(m, &tr.src, with_val ? &va.src : NULL, &t3, &h2, &err);
    cr_assert_eq(rc, TSF_OK, "resume: %s", err.msg);
    assert_same_weights(straight, m, "straight vs resumed");
    cr_assert_eq(h2.n_epochs, h1.n_epochs);
    cr_assert_eq(h2.n_steps, h1.n_steps);
    for (size_t e = 0; e < h1.n_epochs; e++) {
        cr_assert_eq(h2.epoch[e].train_loss, h1.epoch[e].train_loss, "epoch %zu", e);
        cr_assert(h2.epoch[e].val_loss == h1.epoch[e].val_loss ||
                  (isnan(h1.epoch[e].val_loss) && isnan(h2.epoch[e].val_loss)));
        cr_assert_eq(h2.epoch[e].n_clipped, h1.epoch[e].n_clipped);
        cr_assert_eq(h2.epoch[e].grad_norm_mean, h1.epoch[e].grad_norm_mean);
        cr_assert_eq(h2.epoch[e].grad_norm_max, h1.epoch[e].grad_norm_max);
        cr_assert_eq(h2.epoch[e].lr, h1.epoch[e].lr);
        cr_assert_arr_eq(h2.grad_flow + e * 10, h1.grad_flow + e * 10, 10 * sizeof(double));
    }
    cr_assert_arr_eq(h2.step_norm, h1.step_norm, h1.n_steps * sizeof(double));
    cr_assert_eq(h2.best_epoch, h1.best_epoch);
    cr_assert_eq(h2.stopped_early, h1.stopped_early);
    tsf_rnn_free(m);

    /* The final checkpoint is a model file: it loads and forecasts like the trained model. */
    tsf_network_info info;
    tsf_rnn *loaded = NULL;
    cr_assert_eq(tsf_network_load(&loaded, ck, 8, &info, &err), TSF_OK, "%s", err.msg);
    assert_same_weights(straight, loaded, "straight vs loaded");
    cr_assert_eq(info.has_train_state, 1);
    cr_assert_eq(info.history.n_epochs, h1.n_epochs);
    tsf_network_info_clear(&info);
    tsf_rnn_free(loaded);
    tsf_rnn_free(straight);
    tsf_train_history_clear(&h1);
    tsf_train_history_clear(&h2);
}

Test(resume, mid_epoch_ends_bit_identical_to_an_uninterrupted_run)
{
    tsf_rnn_config c = small_config(TSF_CELL_LSTM);
    c.n_layers = 2;
    c.dropout = 0.2;
    tsf_train_config tc;
    base_config(&tc);
    tc.clip.val = 0.5;
    check_resume(&c, tc, 1, 3, 1);
}

Test(resume, at_an_epoch_boundary_ends_bit_identical)
{
    tsf_rnn_config c = small_config(TSF_CELL_GRU);
    tsf_train_config tc;
    base_config(&tc);
    tsf_optim_config_init(&tc.optim, TSF_OPTIM_SGD);
    tc.optim.lr = 0.05;
    tc.optim.momentum = 0.9;
    check_resume(&c, tc, 1, 6, 0); /* 44 samples: 6 batches; stops before epoch 3 */
}

Test(resume, keeps_schedule_and_early_stopping_state)
{
    tsf_rnn_config c = small_config(TSF_CELL_RNN_TANH);
    tsf_train_config tc;
    base_config(&tc);
    tc.epochs = 6;
    tsf_optim_config_init(&tc.optim, TSF_OPTIM_ADAMW);
    tc.optim.lr = 0.02;
    tsf_sched_config_init(&tc.sched, TSF_SCHED_PLATEAU);
    tc.sched.patience = 0;
    tc.sched.factor = 0.5;
    tc.sched.threshold = 0.5;
    tc.patience = 3;
    tc.clip.algorithm = TSF_CLIP_VALUE;
    tc.clip.val = 0.05;
    check_resume(&c, tc, 2, 1, 1);
}

Test(resume, refuses_a_checkpoint_of_another_model_or_batch_size)
{
    sine tr;
    sine_init(&tr, 16, 10, 3, 2, 1);
    tsf_rnn_config c = small_config(TSF_CELL_LSTM);
    tsf_train_config tc;
    base_config(&tc);
    tc.epochs = 1;
    const char *ck = tsft_path(tsft_tmpdir(), "one.h5");
    tc.checkpoint = ck;
    tsf_rnn *m = train_once(&c, &tc, &tr, NULL, NULL);
    tsf_rnn_free(m);
    tsf_err err = TSF_ERR_INIT;
    tc.checkpoint = NULL;
    tc.resume = ck;
    c.hidden = 9;
    m = make_model(&c, 8);
    cr_assert_eq(tsf_train(m, &tr.src, NULL, &tc, NULL, &err), TSF_EINVAL);
    char want[512];
    snprintf(want, sizeof want,
             "%s: cannot resume: the checkpoint is of another model (hidden 8 in the file, 9 "
             "here)",
             ck);
    cr_assert_str_eq(err.msg, want);
    tsf_rnn_free(m);
    c.hidden = 8;
    tc.batch_size = 4;
    m = make_model(&c, 8);
    cr_assert_eq(tsf_train(m, &tr.src, NULL, &tc, NULL, &err), TSF_EINVAL);
    snprintf(want, sizeof want, "%s: cannot resume: the checkpoint used batch_size 8, this run 4",
             ck);
    cr_assert_str_eq(err.msg, want);
    tsf_rnn_free(m);
}

/* ---- model files -------------------------------------------------------------------------- */

Test(model, saves_and_loads_weights_config_loss_and_metadata)
{
    tsf_rnn_config c = small_config(TSF_CELL_LSTM);
    c.n_quantiles = 3;
    c.n_layers = 2;
    c.bidirectional = 1;
    tsf_rnn *m = make_model(&c, 4);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    tsf_rnn_init_params(m, rng);
    gsl_rng_free(rng);
    tsf_loss loss;
    cr_assert_eq(tsf_loss_init_pinball(&loss, (const double[]){0.1, 0.5, 0.9}, 3, NULL), TSF_OK);
    const double scaler[] = {1.5, 0.25, -3};
    const tsf_network_meta meta[] = {{"scaler", scaler, 3, "zscore"},
                                     {"windows", NULL, 0, "target=OT lookback=10"}};
    const char *path = tsft_path(tsft_tmpdir(), "model.h5");
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_network_save(m, &loss, meta, 2, path, &err), TSF_OK, "%s", err.msg);

    tsf_rnn *back = NULL;
    tsf_network_info info;
    cr_assert_eq(tsf_network_load(&back, path, 16, &info, &err), TSF_OK, "%s", err.msg);
    assert_same_weights(m, back, "saved vs loaded");
    const tsf_rnn_config *bc = tsf_rnn_config_of(back);
    cr_assert(bc->cell == c.cell && bc->n_inputs == c.n_inputs && bc->n_future == c.n_future &&
              bc->hidden == c.hidden && bc->n_layers == c.n_layers &&
              bc->bidirectional == c.bidirectional && bc->dropout == c.dropout &&
              bc->lookback == c.lookback && bc->horizon == c.horizon &&
              bc->n_outputs == c.n_outputs && bc->n_quantiles == c.n_quantiles &&
              bc->head == c.head && bc->bptt_steps == c.bptt_steps);
    cr_assert_eq(tsf_rnn_max_batch(back), 16);
    cr_assert_eq(info.loss.kind, TSF_LOSS_PINBALL);
    cr_assert_eq(info.loss.n_quantiles, 3);
    cr_assert_eq(info.loss.quantiles[2], 0.9);
    cr_assert_eq(info.format_version, TSF_NETWORK_FORMAT_VERSION);
    cr_assert_str_eq(info.tsflow_version, tsf_version());
    cr_assert_eq(info.has_train_state, 0);
    cr_assert_eq(info.n_meta, 2);
    const tsf_network_meta *s = tsf_network_info_meta(&info, "scaler");
    cr_assert_not_null(s);
    cr_assert_eq(s->n_values, 3);
    cr_assert_arr_eq(s->values, scaler, sizeof scaler);
    cr_assert_str_eq(s->text, "zscore");
    const tsf_network_meta *w = tsf_network_info_meta(&info, "windows");
    cr_assert_not_null(w);
    cr_assert_eq(w->n_values, 0);
    cr_assert_str_eq(w->text, "target=OT lookback=10");
    cr_assert_null(tsf_network_info_meta(&info, "absent"));
    tsf_network_info_clear(&info);

    /* A saved model holds no training state: resuming from it is refused. */
    sine tr;
    sine_init(&tr, 8, 10, 3, 2, 1);
    tsf_train_config tc;
    base_config(&tc);
    tc.batch_size = 4;
    tc.loss = loss;
    tc.resume = path;
    cr_assert_eq(tsf_train(m, &tr.src, NULL, &tc, NULL, &err), TSF_EINVAL);
    cr_assert(strstr(err.msg, "cannot resume: this model file holds no training state"), "%s",
              err.msg);
    tsf_rnn_free(m);
    tsf_rnn_free(back);
}

Test(model, forecasts_after_loading_exactly_as_before_saving)
{
    sine tr;
    sine_init(&tr, 24, 10, 3, 2, 1);
    tsf_rnn_config c = small_config(TSF_CELL_GRU);
    tsf_train_config tc;
    base_config(&tc);
    tc.epochs = 2;
    tsf_rnn *m = train_once(&c, &tc, &tr, NULL, NULL);
    const char *path = tsft_path(tsft_tmpdir(), "gru.h5");
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_network_save(m, NULL, NULL, 0, path, &err), TSF_OK, "%s", err.msg);
    tsf_rnn *back = NULL, *back5 = NULL;
    cr_assert_eq(tsf_network_load(&back, path, 8, NULL, &err), TSF_OK, "%s", err.msg);
    double a[24 * 3], b[24 * 3], c5[24 * 3];
    cr_assert_eq(tsf_predict(m, &tr.src, 8, a, &err), TSF_OK, "%s", err.msg);
    cr_assert_eq(tsf_predict(back, &tr.src, 8, b, &err), TSF_OK, "%s", err.msg);
    cr_assert_arr_eq(a, b, sizeof a);
    /* In batches of another size the matrix products may round differently (OpenBLAS picks
     * its kernels by shape), so another batch size agrees to float precision, not to the bit. */
    cr_assert_eq(tsf_network_load(&back5, path, 5, NULL, &err), TSF_OK, "%s", err.msg);
    cr_assert_eq(tsf_predict(back5, &tr.src, 5, c5, &err), TSF_OK, "%s", err.msg);
    for (size_t i = 0; i < 24 * 3; i++)
        cr_expect_float_eq(c5[i], a[i], 1e-6 * fabs(a[i]) + 1e-7, "forecast %zu", i);
    tsf_rnn_free(m);
    tsf_rnn_free(back);
    tsf_rnn_free(back5);
}

/* HDF5 stamps objects with creation times unless told not to: a model saved twice, a second
 * apart, must still be the same bytes (reproducible outputs). */
Test(model, saved_twice_a_second_apart_is_the_same_bytes)
{
    sine tr;
    sine_init(&tr, 8, 10, 3, 2, 1);
    tsf_rnn_config c = small_config(TSF_CELL_LSTM);
    tsf_train_config tc;
    base_config(&tc);
    tc.epochs = 1;
    tsf_rnn *m = train_once(&c, &tc, &tr, NULL, NULL);
    const char *dir = tsft_tmpdir(), *a = tsft_path(dir, "a.h5"), *b = tsft_path(dir, "b.h5");
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_network_save(m, NULL, NULL, 0, a, &err), TSF_OK, "%s", err.msg);
    sleep(1);
    cr_assert_eq(tsf_network_save(m, NULL, NULL, 0, b, &err), TSF_OK, "%s", err.msg);
    size_t na = 0, nb = 0;
    char *ba = tsft_read_file(a, &na), *bb = tsft_read_file(b, &nb);
    cr_assert(ba && bb);
    cr_expect_eq(na, nb);
    size_t i = 0;
    while (i < na && i < nb && ba[i] == bb[i])
        i++;
    cr_expect_eq(i, na, "the files differ first at byte %zu of %zu", i, na);
    free(ba);
    free(bb);
    tsf_rnn_free(m);
}

Test(model, pytorch_reads_the_weights_under_their_own_names)
{
    tsft_need_python_modules("h5py,numpy,torch");
    tsf_rnn_config c = small_config(TSF_CELL_LSTM);
    c.n_future = 0;
    tsf_rnn *m = make_model(&c, 2);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    tsf_rnn_init_params(m, rng);
    gsl_rng_free(rng);
    const char *path = tsft_path(tsft_tmpdir(), "lstm.h5");
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_network_save(m, NULL, NULL, 0, path, &err), TSF_OK, "%s", err.msg);
    /* Load the file's weights into torch.nn.LSTM + Linear and forecast one input. */
    const char *code =
        "import sys, h5py, numpy as np, torch\n"
        "f = h5py.File(sys.argv[1], 'r')\n"
        "g = f['model']; w = g['weights']\n"
        "assert g.attrs['cell'] == 'lstm' and int(f.attrs['tsflow_format_version']) == 1\n"
        "lstm = torch.nn.LSTM(int(g.attrs['n_inputs']), int(g.attrs['hidden']))\n"
        "head = torch.nn.Linear(int(g.attrs['hidden']), 3)\n"
        "lstm.load_state_dict({k[5:]: torch.from_numpy(w[k][()]) for k in w if "
        "k.startswith('lstm.')})\n"
        "head.load_state_dict({k[5:]: torch.from_numpy(w[k][()]) for k in w if "
        "k.startswith('head.')})\n"
        "x = torch.tensor([[[np.sin(0.3 * t), np.cos(0.3 * t)]] for t in range(10)],"
        " dtype=torch.float32)\n"
        "out, (h, c) = lstm(x)\n"
        "print(*[repr(v) for v in head(h[-1])[0].tolist()])\n";
    char *out = NULL, *errs = NULL;
    cr_assert_eq(tsft_python(code, &out, &errs, path, NULL), 0, "python: %s", errs);
    sine s;
    sine_init(&s, 1, 10, 3, 2, 0);
    double yhat[3];
    cr_assert_eq(tsf_predict(m, &s.src, 1, yhat, &err), TSF_OK, "%s", err.msg);
    char *p = out;
    for (int l = 0; l < 3; l++) {
        double want = strtod(p, &p);
        cr_assert_float_eq(yhat[l], want, 1e-5 * fabs(want) + 1e-6, "step %d: %g vs torch %g", l,
                           yhat[l], want);
    }
    free(out);
    free(errs);
    tsf_rnn_free(m);
}

Test(model, refuses_files_of_another_format_version_or_not_from_tsflow)
{
    tsft_need_python_modules("h5py");
    tsf_rnn_config c = small_config(TSF_CELL_GRU);
    tsf_rnn *m = make_model(&c, 2);
    memset(tsf_rnn_params(m), 0, tsf_rnn_n_params(m) * sizeof(float));
    const char *path = tsft_path(tsft_tmpdir(), "v2.h5");
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_network_save(m, NULL, NULL, 0, path, &err), TSF_OK, "%s", err.msg);
    char *perr = NULL;
    cr_assert_eq(tsft_python("import sys, h5py\n"
                             "with h5py.File(sys.argv[1], 'a') as f:\n"
                             "    f.attrs['tsflow_format_version'] = 2\n",
                             NULL, &perr, path, NULL),
                 0, "%s", perr);
    free(perr);
    tsf_rnn *back = (tsf_rnn *)1;
    cr_assert_eq(tsf_network_load(&back, path, 2, NULL, &err), TSF_EFORMAT);
    cr_assert_null(back);
    char want[1024];
    snprintf(want, sizeof want,
             "%s: model file format version 2 is not supported: this tsflow (%s) reads version "
             "1; retrain the model or use the tsflow that wrote it (%s)",
             path, tsf_version(), tsf_version());
    cr_assert_str_eq(err.msg, want);

    const char *plain = tsft_path(tsft_tmpdir(), "plain.h5");
    cr_assert_eq(tsft_python("import sys, h5py\n"
                             "with h5py.File(sys.argv[1], 'w') as f:\n"
                             "    f['x'] = [1.0, 2.0]\n",
                             NULL, NULL, plain, NULL),
                 0);
    cr_assert_eq(tsf_network_load(&back, plain, 2, NULL, &err), TSF_EFORMAT);
    snprintf(want, sizeof want,
             "%s: not a tsflow model file (the root group has no \"tsflow_format_version\" "
             "attribute)",
             plain);
    cr_assert_str_eq(err.msg, want);

    const char *csv = tsft_path(tsft_tmpdir(), "model.csv");
    tsft_write_file(csv, "a,b\n1,2\n", (size_t)-1);
    cr_assert_eq(tsf_network_load(&back, csv, 2, NULL, &err), TSF_EFORMAT);
    snprintf(want, sizeof want, "%s: not a tsflow model file (expected an HDF5 file)", csv);
    cr_assert_str_eq(err.msg, want);

    cr_assert_eq(tsf_network_load(&back, tsft_path(tsft_tmpdir(), "absent.h5"), 2, NULL, &err),
                 TSF_EIO);
    cr_assert(strstr(err.msg, "cannot open the model file: No such file or directory"), "%s",
              err.msg);
    tsf_rnn_free(m);
}

/* ---- errors ------------------------------------------------------------------------------- */

Test(train_errors, nan_in_the_input_is_refused_before_training_naming_the_sample)
{
    sine tr;
    sine_init(&tr, 16, 10, 3, 2, 1);
    tr.nan_sample = 11;
    tr.nan_step = 4;
    tsf_rnn_config c = small_config(TSF_CELL_LSTM);
    tsf_rnn *m = make_model(&c, 8);
    float *p = tsf_rnn_params(m);
    memset(p, 0, tsf_rnn_n_params(m) * sizeof *p);
    tsf_train_config tc;
    base_config(&tc);
    tc.init_params = 0;
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_train(m, &tr.src, NULL, &tc, NULL, &err), TSF_ENUMERIC);
    cr_assert_str_eq(err.msg, "training data: input is NaN at sample 11, input step 4, feature 0: "
                              "fill or drop missing values before training");
    /* Nothing was trained. */
    for (size_t i = 0; i < tsf_rnn_n_params(m); i++)
        cr_assert_eq(p[i], 0.0f);
    tsf_rnn_free(m);
}

Test(train_errors, a_nan_loss_stops_training_naming_epoch_batch_and_sample)
{
    sine tr;
    sine_init(&tr, 16, 10, 3, 2, 1);
    tsf_rnn_config c = small_config(TSF_CELL_GRU);
    tsf_rnn *m = make_model(&c, 8);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    tsf_rnn_init_params(m, rng);
    gsl_rng_free(rng);
    size_t off;
    tsf_rnn_tensor(m, tsf_rnn_find_tensor(m, "head.bias"), &off, NULL, NULL);
    tsf_rnn_params(m)[off] = NAN;
    tsf_train_config tc;
    base_config(&tc);
    tc.init_params = 0;
    tc.shuffle = 0;
    tsf_train_history h;
    tsf_train_history_init(&h);
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_train(m, &tr.src, NULL, &tc, &h, &err), TSF_ENUMERIC);
    cr_assert_str_eq(err.msg, "epoch 1, batch 1: the loss is NaN (first offending sample: sample "
                              "0): training diverged; lower the learning rate or clip the "
                              "gradients (gradient_clip_val)");
    cr_assert_eq(h.n_steps, 0);
    tsf_rnn_free(m);
    tsf_train_history_clear(&h);
}

Test(train_errors, an_exploding_relu_rnn_stops_with_a_numeric_error)
{
    sine tr;
    sine_init(&tr, 32, 10, 3, 2, 1);
    tr.y_scale = 1e3f;
    tsf_rnn_config c = small_config(TSF_CELL_RNN_RELU);
    c.lookback = 10;
    tsf_train_config tc;
    base_config(&tc);
    tc.epochs = 50;
    tsf_optim_config_init(&tc.optim, TSF_OPTIM_SGD);
    tc.optim.lr = 10;
    tsf_rnn *m = make_model(&c, 8);
    tsf_train_history h;
    tsf_train_history_init(&h);
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_train(m, &tr.src, NULL, &tc, &h, &err), TSF_ENUMERIC, "%d %s", err.code,
                 err.msg);
    size_t e, b;
    cr_assert_eq(sscanf(err.msg, "epoch %zu, batch %zu: the ", &e, &b), 2, "%s", err.msg);
    cr_assert(strstr(err.msg, ": the loss is ") || strstr(err.msg, ": the gradient norm is "), "%s",
              err.msg);
    double loss, start;
    size_t e0, b0;
    if (strstr(err.msg, "times where it started")) {
        /* finite but grown past the bound: both losses and where the start was are named */
        cr_assert_eq(sscanf(strstr(err.msg, ": the loss is "),
                            ": the loss is %lf, more than 10000 times where it started (%lf in "
                            "epoch %zu, batch %zu)",
                            &loss, &start, &e0, &b0),
                     4, "%s", err.msg);
        cr_assert(loss > TSF_TRAIN_LOSS_GROWTH * start && start > 0, "%s", err.msg);
        cr_assert(e0 == 1 && b0 == 1 && (e > 1 || b > 1), "%s", err.msg);
    } else {
        cr_assert(strstr(err.msg, "(first offending sample: sample "), "%s", err.msg);
    }
    /* Every update made before the failure had a finite norm. */
    for (size_t k = 0; k < h.n_steps; k++)
        cr_assert(isfinite(h.step_norm[k]));
    tsf_rnn_free(m);
    tsf_train_history_clear(&h);
}

Test(train_errors, rejects_bad_options_and_mismatched_shapes)
{
    sine tr;
    sine_init(&tr, 16, 10, 3, 2, 1);
    tsf_rnn_config c = small_config(TSF_CELL_LSTM);
    tsf_rnn *m = make_model(&c, 8);
    tsf_train_config tc;
    base_config(&tc);
    tsf_err err = TSF_ERR_INIT;
    tc.batch_size = 9;
    cr_assert_eq(tsf_train(m, &tr.src, NULL, &tc, NULL, &err), TSF_EINVAL);
    cr_assert_str_eq(err.msg,
                     "training: batch_size 9 is outside 1 .. 8 (the model's maximum batch)");
    tc.batch_size = 8;
    cr_assert_eq(tsf_loss_init_pinball(&tc.loss, (const double[]){0.1, 0.9}, 2, NULL), TSF_OK);
    cr_assert_eq(tsf_train(m, &tr.src, NULL, &tc, NULL, &err), TSF_EINVAL);
    cr_assert_str_eq(err.msg,
                     "training: the loss has 2 quantiles but the model forecasts 1 per output");
    tsf_loss_init(&tc.loss, TSF_LOSS_MSE);
    tc.clip.val = -1;
    cr_assert_eq(tsf_train(m, &tr.src, NULL, &tc, NULL, &err), TSF_EINVAL);
    cr_assert_str_eq(err.msg, "training: gradient_clip_val -1 must be >= 0 (0 = off)");
    tc.clip.val = 0;
    sine va;
    sine_init(&va, 4, 12, 3, 2, 1);
    cr_assert_eq(tsf_train(m, &tr.src, &va.src, &tc, NULL, &err), TSF_EINVAL);
    cr_assert_str_eq(err.msg, "validation data: lookback is 12, but the model expects 10");
    tr.src.n_samples = 0;
    cr_assert_eq(tsf_train(m, &tr.src, NULL, &tc, NULL, &err), TSF_EINVAL);
    cr_assert_str_eq(err.msg, "training data: no samples (windows) to train on");
    tsf_rnn_free(m);
}

/* ---- windows as a batch source ------------------------------------------------------------ */

/* Two hourly series "A" and "B" of 30 rows from 2016-07-01 00:00 UTC, columns load (target)
 * and temp (past covariate), with temp missing at row 45 (series B, 15:00). */
static tsf_frame *two_series_frame(void)
{
    const char *names[] = {"load", "temp"};
    tsf_frame *f = NULL;
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_frame_alloc(&f, 2, names, 60, &err), TSF_OK, "%s", err.msg);
    f->n_rows = 60;
    f->time_kind = TSF_TIME_EPOCH;
    f->step = 3600 * SEC;
    for (size_t r = 0; r < 60; r++) {
        f->time[r] = 1467331200 * SEC + 3600 * SEC * (int64_t)(r % 30);
        f->cols[0][r] = sin(0.3 * (double)r);
        f->cols[1][r] = cos(0.2 * (double)r);
    }
    f->cols[1][45] = NAN;
    const char *ids[] = {"A", "B"};
    const size_t starts[] = {0, 30, 60};
    cr_assert_eq(tsf_frame_set_series(f, 2, ids, starts, &err), TSF_OK, "%s", err.msg);
    return f;
}

Test(train_windows, nan_in_a_window_names_the_series_row_time_and_column)
{
    tsf_frame *f = two_series_frame();
    const size_t target[] = {0}, past[] = {1};
    tsf_window_spec spec = {0};
    spec.lookback = 10;
    spec.horizon = 3;
    spec.stride = 1;
    spec.target_cols = target;
    spec.n_targets = 1;
    spec.past_cols = past;
    spec.n_past = 1;
    tsf_windows *w = NULL;
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_windows_make(&w, f, &spec, 0, 60, 0, &err), TSF_OK, "%s", err.msg);
    tsf_batch_source src;
    tsf_batch_source_windows(&src, w);
    cr_assert_eq(src.n_inputs, 2);
    cr_assert_eq(src.n_future, 0);
    tsf_rnn_config c = small_config(TSF_CELL_LSTM);
    c.n_future = 0;
    tsf_rnn *m = make_model(&c, 8);
    tsf_train_config tc;
    base_config(&tc);
    cr_assert_eq(tsf_train(m, &src, NULL, &tc, NULL, &err), TSF_ENUMERIC);
    cr_assert_str_eq(err.msg, "training data: input is NaN at series \"B\", row 45 (2016-07-01 "
                              "15:00:00), column \"temp\": fill or drop missing values before "
                              "training");

    /* Forecasting refuses it as well. */
    const char *models[] = {"lstm"};
    tsf_forecasts *fc = NULL;
    cr_assert_eq(tsf_forecasts_alloc(&fc, f, target, 1, models, 1, NULL, 0, 3, 0, &err), TSF_OK,
                 "%s", err.msg);
    size_t first;
    cr_assert_eq(tsf_forecasts_add_windows(fc, w, &first, &err), TSF_OK, "%s", err.msg);
    cr_assert_eq(tsf_predict_windows(m, w, 8, fc, 0, first, &err), TSF_ENUMERIC);
    cr_assert_str_eq(err.msg, "predict: input is NaN at series \"B\", row 45 (2016-07-01 "
                              "15:00:00), column \"temp\": fill or drop missing values before "
                              "forecasting");
    tsf_forecasts_free(fc);

    /* With the value back, a NaN weight makes the first batch's loss NaN, and the message names
     * the first window of the batch. */
    f->cols[1][45] = 0.5;
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    tsf_rnn_init_params(m, rng);
    gsl_rng_free(rng);
    size_t off;
    tsf_rnn_tensor(m, tsf_rnn_find_tensor(m, "head.bias"), &off, NULL, NULL);
    tsf_rnn_params(m)[off] = NAN;
    tc.init_params = 0;
    tc.shuffle = 0;
    cr_assert_eq(tsf_train(m, &src, NULL, &tc, NULL, &err), TSF_ENUMERIC);
    cr_assert_str_eq(err.msg, "epoch 1, batch 1: the loss is NaN (first offending sample: series "
                              "\"A\", window forecasting from row 10 (2016-07-01 10:00:00)): "
                              "training diverged; lower the learning rate or clip the gradients "
                              "(gradient_clip_val)");
    tsf_rnn_free(m);
    tsf_windows_free(w);
    tsf_frame_free(f);
}

Test(train_windows, trains_and_predicts_on_windows_of_a_frame)
{
    tsf_frame *f = two_series_frame();
    f->cols[1][45] = 0.5;
    const size_t target[] = {0}, past[] = {1};
    tsf_window_spec spec = {0};
    spec.lookback = 10;
    spec.horizon = 3;
    spec.stride = 1;
    spec.target_cols = target;
    spec.n_targets = 1;
    spec.past_cols = past;
    spec.n_past = 1;
    tsf_windows *w = NULL;
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_windows_make(&w, f, &spec, 0, 60, 1, &err), TSF_OK, "%s", err.msg);
    tsf_batch_source src;
    tsf_batch_source_windows(&src, w);
    tsf_rnn_config c = small_config(TSF_CELL_GRU);
    c.n_future = 0;
    tsf_rnn *m = make_model(&c, 8);
    tsf_train_config tc;
    base_config(&tc);
    tc.epochs = 3;
    tsf_train_history h;
    tsf_train_history_init(&h);
    cr_assert_eq(tsf_train(m, &src, &src, &tc, &h, &err), TSF_OK, "%s", err.msg);
    cr_assert_eq(h.n_epochs, 3);
    double *out = malloc(w->n_samples * 3 * sizeof *out);
    cr_assert_eq(tsf_predict(m, &src, 8, out, &err), TSF_OK, "%s", err.msg);
    for (size_t i = 0; i < w->n_samples * 3; i++)
        cr_assert(isfinite(out[i]));
    free(out);
    tsf_train_history_clear(&h);
    tsf_rnn_free(m);
    tsf_windows_free(w);
    tsf_frame_free(f);
}

/* ---- PyTorch parity: 10 Adam steps with clipping ------------------------------------------ */

/* A fixture of tests/reference/make_train_fixtures.py: manifest lines "config <key> <value>"
 * and "tensor <name> <offset> <count> <shape>" over a float32 blob. */
typedef struct tfix {
    char keys[32][32], values[32][32];
    size_t n_config;
    char names[160][64];
    size_t offset[160], count[160], n_tensors;
    float *data;
} tfix;

static tfix *tfix_load(const char *name)
{
    char rel[256];
    snprintf(rel, sizeof rel, "tests/reference/train/%s.txt", name);
    char *text = tsft_read_file(tsft_source(rel), NULL);
    cr_assert_not_null(text, "missing fixture %s (run tests/reference/make_train_fixtures.py)",
                       rel);
    tfix *f = calloc(1, sizeof *f);
    cr_assert_not_null(f);
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (strncmp(line, "config ", 7) == 0 && f->n_config < 32) {
            cr_assert_eq(
                sscanf(line, "config %31s %31s", f->keys[f->n_config], f->values[f->n_config]), 2);
            f->n_config++;
        } else if (strncmp(line, "tensor ", 7) == 0 && f->n_tensors < 160) {
            cr_assert_eq(sscanf(line, "tensor %63s %zu %zu", f->names[f->n_tensors],
                                &f->offset[f->n_tensors], &f->count[f->n_tensors]),
                         3);
            f->n_tensors++;
        }
    }
    free(text);
    snprintf(rel, sizeof rel, "tests/reference/train/%s.bin", name);
    size_t len = 0;
    f->data = (float *)tsft_read_file(tsft_source(rel), &len);
    cr_assert_not_null(f->data, "missing %s", rel);
    cr_assert_eq(len, (f->offset[f->n_tensors - 1] + f->count[f->n_tensors - 1]) * sizeof(float));
    return f;
}

static const char *tfix_config(const tfix *f, const char *key)
{
    for (size_t i = 0; i < f->n_config; i++)
        if (strcmp(f->keys[i], key) == 0)
            return f->values[i];
    cr_assert_fail("fixture has no config %s", key);
    return NULL;
}

static size_t tfix_size(const tfix *f, const char *key)
{
    return (size_t)strtoul(tfix_config(f, key), NULL, 10);
}

static const float *tfix_tensor(const tfix *f, const char *name, size_t want_n)
{
    for (size_t i = 0; i < f->n_tensors; i++)
        if (strcmp(f->names[i], name) == 0) {
            cr_assert_eq(f->count[i], want_n, "fixture tensor %s: %zu values, want %zu", name,
                         f->count[i], want_n);
            return f->data + f->offset[i];
        }
    cr_assert_fail("fixture has no tensor %s", name);
    return NULL;
}

/* The fixture's batch as a source: sample k is column k of x (T, B, I), xf, y. */
typedef struct fix_source {
    tsf_batch_source src;
    const float *x, *xf, *y;
    size_t B;
} fix_source;

static void fix_gather(void *ctx, const size_t *idx, size_t B, float *x, float *xf, float *y)
{
    const fix_source *s = ctx;
    const size_t T = s->src.lookback, L = s->src.horizon, I = s->src.n_inputs, F = s->src.n_future,
                 O = s->src.n_outputs;
    for (size_t b = 0; b < B; b++) {
        size_t k = idx[b];
        for (size_t t = 0; t < T; t++)
            memcpy(x + (t * B + b) * I, s->x + (t * s->B + k) * I, I * sizeof *x);
        for (size_t l = 0; l < L; l++) {
            if (F)
                memcpy(xf + (l * B + b) * F, s->xf + (l * s->B + k) * F, F * sizeof *xf);
            if (y)
                memcpy(y + (l * B + b) * O, s->y + (l * s->B + k) * O, O * sizeof *y);
        }
    }
}

static void check_adam10(const char *name)
{
    tfix *f = tfix_load(name);
    tsf_rnn_config c = {0};
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_rnn_cell_parse(tfix_config(f, "cell"), &c.cell, &err), TSF_OK);
    c.n_inputs = tfix_size(f, "n_inputs");
    c.n_future = tfix_size(f, "n_future");
    c.hidden = tfix_size(f, "hidden");
    c.n_layers = tfix_size(f, "n_layers");
    c.bidirectional = (int)tfix_size(f, "bidirectional");
    c.lookback = tfix_size(f, "lookback");
    c.horizon = tfix_size(f, "horizon");
    c.n_outputs = tfix_size(f, "n_outputs");
    c.n_quantiles = tfix_size(f, "n_quantiles");
    c.head = TSF_HEAD_DIRECT;
    const size_t B = tfix_size(f, "batch"), T = c.lookback, L = c.horizon, I = c.n_inputs,
                 F = c.n_future, O = c.n_outputs, steps = tfix_size(f, "steps");
    tsf_rnn *m = make_model(&c, B);
    char key[96];
    for (size_t k = 0; k < tsf_rnn_n_tensors(m); k++) {
        size_t off, rows, cols;
        const char *tn = tsf_rnn_tensor(m, k, &off, &rows, &cols);
        snprintf(key, sizeof key, "param.%s", tn);
        memcpy(tsf_rnn_params(m) + off, tfix_tensor(f, key, rows * cols),
               rows * cols * sizeof(float));
    }
    fix_source s = {0};
    s.src.n_samples = B;
    s.src.lookback = T;
    s.src.horizon = L;
    s.src.n_inputs = I;
    s.src.n_future = F;
    s.src.n_outputs = O;
    s.src.gather = fix_gather;
    s.src.ctx = &s;
    s.B = B;
    s.x = tfix_tensor(f, "x", T * B * I);
    s.xf = F ? tfix_tensor(f, "xf", L * B * F) : NULL;
    s.y = tfix_tensor(f, "y", L * B * O);

    /* One batch of all B samples per epoch, in order: epochs = steps. */
    tsf_train_config tc;
    tsf_train_config_init(&tc);
    tc.epochs = steps;
    tc.batch_size = B;
    tc.shuffle = 0;
    tc.init_params = 0;
    int adamw = strcmp(tfix_config(f, "optimizer"), "adamw") == 0;
    tsf_optim_config_init(&tc.optim, adamw ? TSF_OPTIM_ADAMW : TSF_OPTIM_ADAM);
    tc.optim.lr = strtod(tfix_config(f, "lr"), NULL);
    tc.clip.val = strtod(tfix_config(f, "clip"), NULL);
    tc.clip.algorithm = TSF_CLIP_NORM;
    if (strcmp(tfix_config(f, "loss"), "pinball") == 0)
        cr_assert_eq(
            tsf_loss_init_pinball(&tc.loss, (const double[]){0.1, 0.5, 0.9}, c.n_quantiles, &err),
            TSF_OK);
    tsf_train_history h;
    tsf_train_history_init(&h);
    cr_assert_eq(tsf_train(m, &s.src, NULL, &tc, &h, &err), TSF_OK, "%s", err.msg);

    /* Losses and pre-clip norms of every step, then every weight after the last. */
    const float *want_loss = tfix_tensor(f, "loss", steps),
                *want_norm = tfix_tensor(f, "norm", steps);
    float got_loss[32], got_norm[32];
    size_t n_clipped = 0;
    for (size_t k = 0; k < steps; k++) {
        got_loss[k] = (float)h.epoch[k].train_loss;
        got_norm[k] = (float)h.step_norm[k];
        n_clipped += h.step_clipped[k];
    }
    snprintf(key, sizeof key, "%s: loss per step", name);
    tsft_assert_close_f(got_loss, want_loss, steps, 1e-5, 0, key);
    snprintf(key, sizeof key, "%s: pre-clip norm per step", name);
    tsft_assert_close_f(got_norm, want_norm, steps, 1e-5, 0, key);
    cr_assert_geq(n_clipped, 5, "%s: only %zu of %zu steps clipped", name, n_clipped, steps);
    for (size_t k = 0; k < tsf_rnn_n_tensors(m); k++) {
        size_t off, rows, cols;
        const char *tn = tsf_rnn_tensor(m, k, &off, &rows, &cols);
        snprintf(key, sizeof key, "adam10.%s", tn);
        const float *want = tfix_tensor(f, key, rows * cols);
        double amax = 0;
        for (size_t i = 0; i < rows * cols; i++)
            amax = fmax(amax, fabs(want[i]));
        snprintf(key, sizeof key, "%s: %s after %zu steps", name, tn, steps);
        tsft_assert_close_f(tsf_rnn_params(m) + off, want, rows * cols, 1e-5, 1e-6 * amax, key);
    }
    tsf_train_history_clear(&h);
    tsf_rnn_free(m);
    free(f->data);
    free(f);
}

Test(train_parity, elman_rnn_weights_after_10_clipped_adam_steps_match_pytorch)
{
    check_adam10("rnn_tanh");
}

Test(train_parity, lstm_weights_after_10_clipped_adam_steps_match_pytorch)
{
    check_adam10("lstm");
}

Test(train_parity, gru_weights_after_10_clipped_adam_steps_match_pytorch)
{
    check_adam10("gru");
}

Test(train_parity, two_layer_quantile_lstm_after_10_clipped_adamw_steps_on_pinball_matches_pytorch)
{
    check_adam10("lstm_2layer_pinball");
}

Test(model, a_checkpoint_exports_the_history_to_h5py)
{
    tsft_need_python_modules("h5py,numpy");
    sine tr, va;
    sine_init(&tr, 20, 10, 3, 2, 1);
    sine_init(&va, 6, 10, 3, 2, 1);
    tsf_rnn_config c = small_config(TSF_CELL_LSTM);
    tsf_train_config tc;
    base_config(&tc);
    tc.epochs = 3;
    tc.clip.val = 0.1;
    const char *ck = tsft_path(tsft_tmpdir(), "hist.h5");
    tc.checkpoint = ck;
    tsf_train_history h;
    tsf_train_history_init(&h);
    tsf_rnn *m = train_once(&c, &tc, &tr, &va, &h);
    const char *code =
        "import sys, h5py\n"
        "f = h5py.File(sys.argv[1], 'r')\n"
        "h = f['history']\n"
        "print(h['grad_flow'].shape[0], h['grad_flow'].shape[1], h['step_norm'].shape[0],"
        " int(f['train'].attrs['epoch']), int(f['train'].attrs['complete']))\n"
        "print(*[repr(float(v)) for v in h['train_loss'][:]])\n"
        "print(*[repr(float(v)) for v in h['val_loss'][:]])\n"
        "print(*[int(v) for v in h['n_clipped'][:]])\n";
    char *out = NULL, *errs = NULL;
    cr_assert_eq(tsft_python(code, &out, &errs, ck, NULL), 0, "python: %s", errs);
    char *p = out;
    cr_assert_eq(strtol(p, &p, 10), 3);  /* epochs */
    cr_assert_eq(strtol(p, &p, 10), 10); /* lookback */
    cr_assert_eq(strtol(p, &p, 10), 9);  /* updates: 3 epochs of 3 batches */
    cr_assert_eq(strtol(p, &p, 10), 3);  /* cursor: 3 epochs done */
    cr_assert_eq(strtol(p, &p, 10), 0);  /* not stopped early */
    for (int e = 0; e < 3; e++)
        cr_assert_eq(strtod(p, &p), h.epoch[e].train_loss, "epoch %d", e);
    for (int e = 0; e < 3; e++)
        cr_assert_eq(strtod(p, &p), h.epoch[e].val_loss, "epoch %d", e);
    for (int e = 0; e < 3; e++)
        cr_assert_eq(strtol(p, &p, 10), (long)h.epoch[e].n_clipped, "epoch %d", e);
    free(out);
    free(errs);
    tsf_train_history_clear(&h);
    tsf_rnn_free(m);
}

Test(train_windows, predicts_windows_into_a_forecast_set_with_quantiles)
{
    tsf_frame *f = two_series_frame();
    f->cols[1][45] = 0.5;
    const size_t target[] = {0}, past[] = {1};
    tsf_window_spec spec = {0};
    spec.lookback = 10;
    spec.horizon = 3;
    spec.stride = 4;
    spec.target_cols = target;
    spec.n_targets = 1;
    spec.past_cols = past;
    spec.n_past = 1;
    tsf_windows *w = NULL;
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_windows_make(&w, f, &spec, 0, 60, 1, &err), TSF_OK, "%s", err.msg);
    tsf_rnn_config c = small_config(TSF_CELL_LSTM);
    c.n_future = 0;
    c.n_quantiles = 3;
    tsf_rnn *m = make_model(&c, 4);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    tsf_rnn_init_params(m, rng);
    gsl_rng_free(rng);

    const double q[] = {0.1, 0.5, 0.9};
    const char *models[] = {"naive", "lstm"};
    tsf_forecasts *fc = NULL;
    cr_assert_eq(tsf_forecasts_alloc(&fc, f, target, 1, models, 2, q, 3, 3, 0, &err), TSF_OK, "%s",
                 err.msg);
    size_t first;
    cr_assert_eq(tsf_forecasts_add_windows(fc, w, &first, &err), TSF_OK, "%s", err.msg);
    cr_assert_eq(tsf_predict_windows(m, w, 4, fc, 1, first, &err), TSF_OK, "%s", err.msg);

    /* The same numbers as tsf_predict, with the 0.5 quantile as the point forecast. */
    tsf_batch_source src;
    tsf_batch_source_windows(&src, w);
    double *out = malloc(w->n_samples * 3 * 3 * sizeof *out);
    cr_assert_eq(tsf_predict(m, &src, 4, out, &err), TSF_OK, "%s", err.msg);
    for (size_t k = 0; k < w->n_windows; k++)
        for (size_t l = 0; l < 3; l++) {
            const double *v = tsf_forecasts_at(fc, first + k, l, 0, 1);
            const double *y = out + (k * 3 + l) * 3;
            cr_assert_eq(v[0], y[1], "window %zu step %zu", k, l);
            cr_assert_eq(v[1], y[0]);
            cr_assert_eq(v[2], y[1]);
            cr_assert_eq(v[3], y[2]);
            cr_assert(isnan(tsf_forecasts_at(fc, first + k, l, 0, 0)[0])); /* naive untouched */
        }
    free(out);
    tsf_forecasts_free(fc);
    tsf_rnn_free(m);
    tsf_windows_free(w);
    tsf_frame_free(f);
}
