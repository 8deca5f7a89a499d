/* RNN, LSTM and GRU gradients against central differences, in the double build of the nn code
 * (compiled with -DTSF_NN_DOUBLE, linked with tsftest_nn_double).
 *
 * The loss is a weighted squared error 0.5 sum_i w_i (yhat_i - y_i)^2, so every output
 * element gets its own weight and a transposed index shows up. Every parameter is checked
 * against a fourth-order central difference and must match to 1e-6 relative:
 *     |a - n| <= 1e-6 max(|a|, |n|) + 1e-9 max_j |a_j|
 * (the absolute term, a billionth of the largest gradient, only matters for gradients near
 * zero, where the difference quotient's rounding error dominates).
 *
 * Truncated BPTT is checked against the difference quotient of the loss with the recurrent
 * state at the truncation point held at its value (tsf__rnn_freeze), which is what "detach the
 * state there" means; dropout with the masks held fixed (the rng re-seeded before every
 * forward).
 *
 * Where it covers the network (stacked, unidirectional, direct head, full BPTT, no dropout),
 * the plain reference pass of lib/nn/bptt_reference.c computes the same outputs and gradients
 * a third way, one sample and one step at a time: the reference gradients, the fast ones and
 * the central differences are compared in one loop, and reference clipping against
 * tsf_clip_grads.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_rng.h>

#include "bptt_reference.h"
#include "nn.h"
#include "support.h"
#include "tsflow/optim.h"
#include "tsflow/rnn.h"

_Static_assert(sizeof(tsf_real) == sizeof(double), "this test needs the double build");

typedef struct problem {
    tsf_rnn *m;
    size_t B;
    double *x, *xf, *y, *w, *yhat, *dy;
    gsl_rng *rng;
    int training;
} problem;

static double loss(problem *p)
{
    const tsf_rnn_config *c = tsf_rnn_config_of(p->m);
    size_t n = c->horizon * p->B * c->n_outputs * c->n_quantiles;
    if (p->training)
        gsl_rng_set(p->rng, 77); /* the same dropout masks every time */
    tsf_rnn_forward(p->m, p->B, p->x, c->n_future ? p->xf : NULL, p->yhat, p->training, p->rng);
    double l = 0;
    for (size_t i = 0; i < n; i++) {
        double d = p->yhat[i] - p->y[i];
        l += 0.5 * p->w[i] * d * d;
        p->dy[i] = p->w[i] * d;
    }
    return l;
}

static size_t m_offset(const tsf_rnn *m, size_t k)
{
    size_t off = 0;
    tsf_rnn_tensor(m, k, &off, NULL, NULL);
    return off;
}

static double *random_array(gsl_rng *r, size_t n, double scale)
{
    double *a = malloc((n ? n : 1) * sizeof *a);
    cr_assert_not_null(a);
    for (size_t i = 0; i < n; i++)
        a[i] = scale * (2 * gsl_rng_uniform(r) - 1);
    return a;
}

static problem make(const tsf_rnn_config *cfg, size_t max_batch, size_t B, double wscale)
{
    problem p = {.B = B};
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_rnn_alloc(&p.m, cfg, max_batch, &err), TSF_OK, "%s", err.msg);
    p.rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(p.rng, 12345);
    tsf_rnn_init_params(p.m, p.rng);
    /* Larger weights than the init so the nonlinearities are exercised away from 0. */
    tsf_real *theta = tsf_rnn_params(p.m);
    for (size_t i = 0; i < tsf_rnn_n_params(p.m); i++)
        theta[i] = theta[i] * wscale + 0.05 * (2 * gsl_rng_uniform(p.rng) - 1);
    size_t T = cfg->lookback, L = cfg->horizon, n_out = cfg->n_outputs * cfg->n_quantiles;
    p.x = random_array(p.rng, T * B * cfg->n_inputs, 1.0);
    p.xf = random_array(p.rng, L * B * cfg->n_future, 1.0);
    p.y = random_array(p.rng, L * B * n_out, 1.0);
    p.w = random_array(p.rng, L * B * n_out, 1.0);
    for (size_t i = 0; i < L * B * n_out; i++)
        p.w[i] = 1.5 + p.w[i]; /* in [0.5, 2.5] */
    p.yhat = calloc(L * B * n_out, sizeof *p.yhat);
    p.dy = calloc(L * B * n_out, sizeof *p.dy);
    return p;
}

static void drop(problem *p)
{
    tsf_rnn_free(p->m);
    gsl_rng_free(p->rng);
    free(p->x);
    free(p->xf);
    free(p->y);
    free(p->w);
    free(p->yhat);
    free(p->dy);
}

/* Analytic gradient of the loss (into grads), with dh_norm if given. */
static void analytic(problem *p, double *dh_norm)
{
    tsf_rnn_zero_grad(p->m);
    loss(p);
    tsf_rnn_backward(p->m, p->B, p->dy, dh_norm);
}

/* The loss at theta[i] + delta. */
static double loss_at(problem *p, size_t i, double delta)
{
    tsf_real *theta = tsf_rnn_params(p->m);
    double t0 = theta[i];
    theta[i] = t0 + delta;
    double l = loss(p);
    theta[i] = t0;
    return l;
}

/* Compare grads with the fourth-order central difference
 *     (8 (f(h) - f(-h)) - (f(2h) - f(-2h))) / 12h
 * of every parameter (truncation error O(h^4), so h can be large enough for the rounding error
 * of f to stay far below 1e-6 of the gradient). ReLU is not differentiable at 0: a parameter
 * whose +-2h perturbation moves a pre-activation across 0 shows it by two-point differences
 * over h and 2h that disagree; such parameters are skipped (at most 5% of them). */
/* The output and gradients of the reference pass for p's network and data (NULL when the
 * reference does not cover the configuration or p trains with dropout); the outputs must equal
 * the fast pass's. Call after analytic(p). */
static double *reference_grads(problem *p)
{
    const tsf_rnn_config *c = tsf_rnn_config_of(p->m);
    tsf__ref *r = NULL;
    tsf_err err = TSF_ERR_INIT;
    if (p->training || c->bidirectional || c->head != TSF_HEAD_DIRECT || c->segment ||
        (c->bptt_steps > 0 && c->bptt_steps < c->lookback)) {
        cr_assert_neq(tsf__ref_alloc(&r, c, p->B, &err), TSF_OK);
        cr_assert_null(r);
        if (!p->training)
            return NULL;
    }
    if (p->training)
        return NULL;
    cr_assert_eq(tsf__ref_alloc(&r, c, p->B, &err), TSF_OK, "%s", err.msg);
    size_t P = tsf_rnn_n_params(p->m), n = c->horizon * p->B * c->n_outputs * c->n_quantiles;
    double *yhat = malloc(n * sizeof *yhat), *grad = calloc(P, sizeof *grad);
    cr_assert(yhat && grad);
    tsf__ref_forward(r, tsf_rnn_params(p->m), p->x, c->n_future ? p->xf : NULL, yhat);
    loss(p); /* the fast pass again: its yhat and dy, the same as analytic() left */
    tsft_assert_close(yhat, p->yhat, n, 1e-12, 1e-14, "reference forward vs tsf_rnn_forward");
    tsf__ref_backward(r, tsf_rnn_params(p->m), p->dy, grad);
    tsf__ref_free(r);
    free(yhat);
    return grad;
}

/* Compare the analytic gradients (the fast pass's and, when ref is not NULL, the reference
 * pass's) with central differences; see check_against_fd. */
static void check_against_fd_and(problem *p, int frozen, const double *ref);

static void check_against_fd(problem *p, int frozen)
{
    check_against_fd_and(p, frozen, NULL);
}

static void check_against_fd_and(problem *p, int frozen, const double *ref)
{
    tsf_rnn *m = p->m;
    const tsf_rnn_config *cfg = tsf_rnn_config_of(m);
    int relu = cfg->cell == TSF_CELL_RNN_RELU || cfg->segment > 0; /* segments embed by ReLU */
    size_t P = tsf_rnn_n_params(m);
    double *ana = malloc(P * sizeof *ana), h = relu ? 1e-5 : 1e-4, amax = 0;
    memcpy(ana, tsf_rnn_grads(m), P * sizeof *ana);
    for (size_t i = 0; i < P; i++)
        amax = fmax(amax, fabs(ana[i]));
    double atol = 1e-9 * amax;
    if (frozen)
        tsf__rnn_freeze(m, 1); /* snapshot the truncation states of the unperturbed forward */
    size_t nonzero = 0, kinks = 0, bad = P;
    double bad_num = 0;
    for (size_t i = 0; i < P && bad == P; i++) {
        double f1 = loss_at(p, i, h) - loss_at(p, i, -h);
        double f2 = loss_at(p, i, 2 * h) - loss_at(p, i, -2 * h);
        double num = (8 * f1 - f2) / (12 * h), a = ana[i];
        double scale = fmax(fabs(a), fabs(num));
        if (relu && fabs(f1 / (2 * h) - f2 / (4 * h)) > 1e-4 * scale + atol) {
            kinks++;
            continue;
        }
        if (scale > 1e-6 * amax)
            nonzero++;
        if (fabs(a - num) > 1e-6 * scale + atol) {
            bad = i;
            bad_num = num;
        }
        /* The reference sums the same terms in another order: equal to rounding. */
        if (ref && fabs(ref[i] - a) > 1e-10 * fmax(fabs(a), fabs(ref[i])) + 1e-12 * amax)
            cr_assert_fail("parameter %zu: reference %.17g, fast %.17g, central difference "
                           "%.12g",
                           i, ref[i], a, num);
    }
    if (frozen)
        tsf__rnn_freeze(m, 0);
    if (bad < P) {
        size_t off = 0, k;
        const char *name = NULL;
        for (k = 0; k < tsf_rnn_n_tensors(m); k++) {
            name = tsf_rnn_tensor(m, k, &off, NULL, NULL);
            if (k + 1 == tsf_rnn_n_tensors(m) || bad < m_offset(m, k + 1))
                break;
        }
        cr_assert_fail("parameter %zu (%s[%zu]): analytic %.12g, central difference %.12g "
                       "(relative error %.3g)",
                       bad, name, bad - off, ana[bad], bad_num,
                       fabs(ana[bad] - bad_num) / fmax(fabs(ana[bad]), fabs(bad_num)));
    }
    cr_expect_leq(kinks, P / 20, "%zu of %zu parameters sit on a ReLU kink", kinks, P);
    /* A check that compares zeros with zeros proves nothing. */
    cr_expect_gt(nonzero, P / 2, "only %zu of %zu gradients are non-zero", nonzero, P);
    free(ana);
}

static tsf_rnn_config base_config(tsf_cell cell)
{
    tsf_rnn_config c = {.cell = cell,
                        .n_inputs = 3,
                        .n_future = 2,
                        .hidden = 4,
                        .n_layers = 1,
                        .lookback = 6,
                        .horizon = 3,
                        .n_outputs = 1,
                        .n_quantiles = 1,
                        .head = TSF_HEAD_DIRECT};
    return c;
}

static void gradcheck(const tsf_rnn_config *c)
{
    problem p = make(c, 4, 3, c->cell == TSF_CELL_RNN_RELU ? 1.0 : 2.0);
    analytic(&p, NULL);
    double *ref = reference_grads(&p);
    check_against_fd_and(&p, c->bptt_steps > 0 && c->bptt_steps < c->lookback, ref);
    free(ref);
    drop(&p);
}

static const tsf_cell cells[] = {TSF_CELL_RNN_TANH, TSF_CELL_RNN_RELU, TSF_CELL_LSTM, TSF_CELL_GRU};

Test(rnn_gradcheck, one_layer_direct_head_matches_central_differences_for_every_cell)
{
    for (size_t k = 0; k < 4; k++) {
        tsf_rnn_config c = base_config(cells[k]);
        gradcheck(&c);
    }
}

Test(rnn_gradcheck, stacked_layers_match_central_differences_for_every_cell)
{
    for (size_t k = 0; k < 4; k++) {
        tsf_rnn_config c = base_config(cells[k]);
        c.n_layers = 3;
        gradcheck(&c);
    }
}

Test(rnn_gradcheck, bidirectional_stacked_encoder_matches_central_differences)
{
    for (size_t k = 0; k < 4; k++) {
        tsf_rnn_config c = base_config(cells[k]);
        c.n_layers = 2;
        c.bidirectional = 1;
        gradcheck(&c);
    }
}

Test(rnn_gradcheck, quantile_outputs_without_known_future_match_central_differences)
{
    for (size_t k = 0; k < 4; k++) {
        tsf_rnn_config c = base_config(cells[k]);
        c.n_future = 0;
        c.n_outputs = 2;
        c.n_quantiles = 3;
        gradcheck(&c);
    }
}

Test(rnn_gradcheck, recursive_head_feeding_forecasts_back_matches_central_differences)
{
    for (size_t k = 0; k < 4; k++) {
        /* inputs: 2 targets, 1 past covariate, 2 known-future features */
        tsf_rnn_config c = base_config(cells[k]);
        c.n_inputs = 5;
        c.n_outputs = 2;
        c.n_quantiles = 3;
        c.horizon = 4;
        c.n_layers = 2;
        c.head = TSF_HEAD_RECURSIVE;
        gradcheck(&c);
    }
}

Test(rnn_gradcheck, truncated_bptt_matches_differences_with_the_cut_state_held_constant)
{
    for (size_t k = 0; k < 4; k++) {
        tsf_rnn_config c = base_config(cells[k]);
        c.n_layers = 2;
        c.bptt_steps = 3;
        gradcheck(&c);
        c.bidirectional = 1;
        gradcheck(&c);
        c.bidirectional = 0;
        c.head = TSF_HEAD_RECURSIVE;
        c.n_inputs = 4;
        gradcheck(&c);
    }
}

Test(rnn_gradcheck, dropout_between_layers_with_fixed_masks_matches_central_differences)
{
    for (size_t k = 0; k < 4; k++) {
        tsf_rnn_config c = base_config(cells[k]);
        c.n_layers = 3;
        c.dropout = 0.3;
        c.bidirectional = k % 2;
        problem p = make(&c, 4, 3, 2.0);
        p.training = 1;
        analytic(&p, NULL);
        check_against_fd(&p, 0);
        drop(&p);
        c.bidirectional = 0;
        c.head = TSF_HEAD_RECURSIVE;
        c.n_inputs = 4;
        p = make(&c, 4, 3, 2.0);
        p.training = 1;
        analytic(&p, NULL);
        check_against_fd(&p, 0);
        drop(&p);
    }
}

Test(rnn_gradcheck, truncation_changes_the_gradient_and_cuts_the_gradient_flow_record)
{
    tsf_rnn_config c = base_config(TSF_CELL_LSTM);
    c.n_layers = 2;
    problem full = make(&c, 4, 3, 2.0);
    double norm_full[6] = {0};
    analytic(&full, norm_full);
    c.bptt_steps = 2;
    problem cut = make(&c, 4, 3, 2.0);
    double norm_cut[6] = {0};
    analytic(&cut, norm_cut);
    /* Same weights and data: the last two steps see the same dLoss/dh, earlier ones none. */
    for (size_t t = 0; t < 6; t++) {
        if (t < 4)
            cr_expect_eq(norm_cut[t], 0.0, "step %zu: %g", t, norm_cut[t]);
        else
            cr_expect_float_eq(norm_cut[t], norm_full[t], 1e-12 * norm_full[t], "step %zu", t);
        cr_expect_gt(norm_full[t], 0.0, "step %zu", t);
    }
    size_t P = tsf_rnn_n_params(full.m);
    double diff = 0;
    for (size_t i = 0; i < P; i++)
        diff += fabs(tsf_rnn_grads(full.m)[i] - tsf_rnn_grads(cut.m)[i]);
    cr_expect_gt(diff, 1e-3, "truncation did not change the gradient");
    drop(&full);
    drop(&cut);
}

Test(rnn_gradcheck, a_batch_smaller_than_the_allocation_matches_central_differences)
{
    tsf_rnn_config c = base_config(TSF_CELL_GRU);
    c.n_layers = 2;
    problem p = make(&c, 7, 2, 2.0);
    analytic(&p, NULL);
    check_against_fd(&p, 0);
    drop(&p);
}

/* A batch of 70 runs its recurrence as three independent chunks of rows (forward and
 * backward, see lib/nn/rnn.c); every direction and layer of every chunk must still add up to
 * the gradient of the whole batch's loss, and dh_norm to the norm over all 70 samples. */
Test(rnn_gradcheck, a_batch_cut_into_several_recurrence_chunks_matches_central_differences)
{
    tsf_rnn_config c = base_config(TSF_CELL_LSTM);
    c.n_layers = 2;
    c.bidirectional = 1;
    problem p = make(&c, 70, 70, 2.0);
    size_t T = c.lookback;
    double norm[16] = {0};
    cr_assert_leq(T, 16);
    analytic(&p, norm);
    check_against_fd(&p, 0);
    /* dh_norm[t] is sqrt(sum over samples of |dLoss/dh_t|^2): the same as from each sample
     * alone, with its own rows of dLoss/dyhat. */
    const size_t L = c.horizon, n_out = c.n_outputs * c.n_quantiles, I = c.n_inputs, F = c.n_future;
    double sum_sq[16] = {0};
    problem one = make(&c, 1, 1, 2.0);
    memcpy(tsf_rnn_params(one.m), tsf_rnn_params(p.m), tsf_rnn_n_params(p.m) * sizeof(tsf_real));
    for (size_t b = 0; b < p.B; b++) {
        for (size_t t = 0; t < T; t++)
            memcpy(one.x + t * I, p.x + (t * p.B + b) * I, I * sizeof *one.x);
        for (size_t j = 0; j < L; j++) {
            memcpy(one.xf + j * F, p.xf + (j * p.B + b) * F, F * sizeof *one.xf);
            memcpy(one.y + j * n_out, p.y + (j * p.B + b) * n_out, n_out * sizeof *one.y);
            memcpy(one.w + j * n_out, p.w + (j * p.B + b) * n_out, n_out * sizeof *one.w);
        }
        double nb[16] = {0};
        analytic(&one, nb);
        for (size_t t = 0; t < T; t++)
            sum_sq[t] += nb[t] * nb[t];
    }
    for (size_t t = 0; t < T; t++)
        cr_expect_float_eq(norm[t], sqrt(sum_sq[t]), 1e-12 * norm[t], "step %zu: %.17g vs %.17g", t,
                           norm[t], sqrt(sum_sq[t]));
    drop(&one);
    drop(&p);
}

/* The reference pass covers what it claims: every cell, one layer and stacked, with and
 * without known-future inputs and quantiles (the loop above compares it with the fast pass
 * and central differences); here it must also have been used, not skipped. */
Test(rnn_gradcheck, the_reference_pass_runs_for_every_cell_it_covers)
{
    for (size_t k = 0; k < 4; k++) {
        tsf_rnn_config c = base_config(cells[k]);
        c.n_layers = 2;
        problem p = make(&c, 4, 3, 2.0);
        analytic(&p, NULL);
        double *ref = reference_grads(&p);
        cr_assert_not_null(ref, "%s: the reference refused the network",
                           tsf_rnn_cell_name(cells[k]));
        size_t P = tsf_rnn_n_params(p.m), nonzero = 0;
        for (size_t i = 0; i < P; i++)
            nonzero += ref[i] != 0;
        cr_expect_gt(nonzero, P / 2, "%s: only %zu of %zu reference gradients are non-zero",
                     tsf_rnn_cell_name(cells[k]), nonzero, P);
        free(ref);
        drop(&p);
    }
}

/* Clipping by global norm, the plain way, against the library's: the same norm before
 * clipping, the same clipped gradient, of norm exactly the threshold; below it, untouched. */
Test(rnn_gradcheck, reference_clipping_matches_tsf_clip_grads)
{
    tsf_rnn_config c = base_config(TSF_CELL_LSTM);
    problem p = make(&c, 4, 3, 2.0);
    analytic(&p, NULL);
    double *ref = reference_grads(&p);
    cr_assert_not_null(ref);
    size_t P = tsf_rnn_n_params(p.m);
    double *fast = tsf_rnn_grads(p.m), norm = tsf_grad_norm(fast, P);
    cr_assert_gt(norm, 0);
    double *before = malloc(P * sizeof *before);
    memcpy(before, ref, P * sizeof *ref);
    /* Above the norm: nothing changes. */
    cr_expect_float_eq(tsf__ref_clip_norm(ref, P, 2 * norm), norm, 1e-10 * norm);
    tsft_assert_identical(ref, before, P, "gradient clipped below its threshold");
    /* Half the norm: every element halves, both ways. */
    tsf_clip clip = {.val = norm / 2, .algorithm = TSF_CLIP_NORM};
    int clipped = 0;
    double ref_norm = tsf__ref_clip_norm(ref, P, norm / 2);
    double fast_norm = tsf_clip_grads(&clip, fast, P, NULL, &clipped);
    cr_expect_eq(clipped, 1);
    cr_expect_float_eq(ref_norm, fast_norm, 1e-10 * norm);
    tsft_assert_close(ref, fast, P, 1e-10, 1e-12 * norm, "reference vs tsf_clip_grads");
    for (size_t i = 0; i < P; i++)
        cr_assert_float_eq(ref[i], before[i] / 2, 1e-10 * fabs(before[i]) + 1e-15, "element %zu",
                           i);
    cr_expect_float_eq(tsf_grad_norm(ref, P), norm / 2, 1e-12 * norm);
    free(before);
    free(ref);
    drop(&p);
}

/* Segment-wise networks: C channels, lookback 3 segments of 2, horizon 2 output segments. */
static tsf_rnn_config segment_config(tsf_cell cell, tsf_head head)
{
    tsf_rnn_config c = {.cell = cell,
                        .n_inputs = 2,
                        .hidden = 4,
                        .n_layers = 1,
                        .lookback = 6,
                        .horizon = 4,
                        .n_outputs = 2,
                        .n_quantiles = 1,
                        .head = head,
                        .segment = 2};
    return c;
}

Test(rnn_gradcheck, segments_with_the_parallel_decoder_match_central_differences_for_every_cell)
{
    for (size_t k = 0; k < 4; k++) {
        tsf_rnn_config c = segment_config(cells[k], TSF_HEAD_DIRECT);
        gradcheck(&c);
        c.n_quantiles = 3;
        c.horizon = 6;
        gradcheck(&c);
    }
}

Test(rnn_gradcheck, segments_with_the_recurrent_decoder_match_central_differences_for_every_cell)
{
    for (size_t k = 0; k < 4; k++) {
        tsf_rnn_config c = segment_config(cells[k], TSF_HEAD_RECURSIVE);
        gradcheck(&c);
        c.n_quantiles = 3;
        c.horizon = 6;
        gradcheck(&c);
    }
}

Test(rnn_gradcheck, segments_with_dropout_and_fixed_masks_match_central_differences)
{
    for (size_t k = 0; k < 2; k++) {
        tsf_rnn_config c = segment_config(TSF_CELL_GRU, k ? TSF_HEAD_RECURSIVE : TSF_HEAD_DIRECT);
        c.dropout = 0.3;
        problem p = make(&c, 4, 3, 2.0);
        p.training = 1;
        analytic(&p, NULL);
        check_against_fd(&p, 0);
        drop(&p);
    }
}

/* dh_norm has one entry per lookback segment: the norm of dLoss/dh_n over the batch, the
 * same as summing the squares of each sample's own. */
Test(rnn_gradcheck, segment_gradient_flow_is_recorded_per_segment_and_adds_up_over_samples)
{
    tsf_rnn_config c = segment_config(TSF_CELL_LSTM, TSF_HEAD_DIRECT);
    problem p = make(&c, 5, 5, 2.0);
    double norm[6] = {0}, sum_sq[6] = {0};
    analytic(&p, norm);
    problem one = make(&c, 1, 1, 2.0);
    memcpy(tsf_rnn_params(one.m), tsf_rnn_params(p.m), tsf_rnn_n_params(p.m) * sizeof(tsf_real));
    size_t I = c.n_inputs, n_out = c.n_outputs;
    for (size_t b = 0; b < p.B; b++) {
        for (size_t t = 0; t < c.lookback; t++)
            memcpy(one.x + t * I, p.x + (t * p.B + b) * I, I * sizeof *one.x);
        for (size_t j = 0; j < c.horizon; j++) {
            memcpy(one.y + j * n_out, p.y + (j * p.B + b) * n_out, n_out * sizeof *one.y);
            memcpy(one.w + j * n_out, p.w + (j * p.B + b) * n_out, n_out * sizeof *one.w);
        }
        double nb[6] = {0};
        analytic(&one, nb);
        for (size_t t = 0; t < 6; t++)
            sum_sq[t] += nb[t] * nb[t];
    }
    for (size_t t = 0; t < 3; t++) {
        cr_expect_gt(norm[t], 0.0, "segment %zu", t);
        cr_expect_float_eq(norm[t], sqrt(sum_sq[t]), 1e-12 * norm[t], "segment %zu", t);
    }
    for (size_t t = 3; t < 6; t++) /* only N = 3 segments */
        cr_expect_eq(norm[t], 0.0, "entry %zu: %g", t, norm[t]);
    drop(&one);
    drop(&p);
}

/* RevIN's affine weights get gradients through the normalized input and the restored output
 * (the window statistics are constants, as RevIN detaches them). */
Test(rnn_gradcheck, segments_with_revin_match_central_differences_for_both_decoders)
{
    for (size_t k = 0; k < 4; k++) {
        tsf_rnn_config c = segment_config(cells[k], k % 2 ? TSF_HEAD_RECURSIVE : TSF_HEAD_DIRECT);
        c.revin = 1;
        c.n_quantiles = k == 3 ? 3 : 1;
        gradcheck(&c);
    }
}
