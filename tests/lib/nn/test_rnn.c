/* RNN, LSTM and GRU in the float build: the API's behaviour, and parity with tensors PyTorch
 * wrote (tests/reference/make_rnn_fixtures.py -> tests/reference/rnn/<case>.{txt,bin}).
 *
 * Parity: forward outputs, the MSE loss, every parameter gradient and the gradient-flow record
 * dh_norm must match PyTorch's float32 results to 1e-5 relative, with an absolute floor of
 * 1e-6 times the largest magnitude in the same tensor for entries near zero (a weight
 * gradient is a sum over batch and time with cancellation: its rounding error scales with the
 * terms summed, not with the result).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_rng.h>

#include "nn.h"
#include "support.h"
#include "tsflow/optim.h"
#include "tsflow/rnn.h"

_Static_assert(sizeof(tsf_real) == sizeof(float), "this test needs the float build");

/* ---- fixtures ------------------------------------------------------------------------ */

typedef struct fixture {
    char keys[32][32], values[32][32];
    size_t n_config;
    char names[128][64];
    size_t offset[128], count[128], n_tensors;
    float *data;
} fixture;

static fixture *fixture_load(const char *name)
{
    char rel[256];
    snprintf(rel, sizeof rel, "tests/reference/rnn/%s.txt", name);
    char *text = tsft_read_file(tsft_source(rel), NULL);
    cr_assert_not_null(text, "missing fixture %s (run tests/reference/make_rnn_fixtures.py)", rel);
    fixture *f = calloc(1, sizeof *f);
    cr_assert_not_null(f);
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (strncmp(line, "config ", 7) == 0) {
            cr_assert_lt(f->n_config, 32);
            cr_assert_eq(
                sscanf(line, "config %31s %31s", f->keys[f->n_config], f->values[f->n_config]), 2,
                "%s: bad line \"%s\"", rel, line);
            f->n_config++;
        } else if (strncmp(line, "tensor ", 7) == 0) {
            cr_assert_lt(f->n_tensors, 128);
            cr_assert_eq(sscanf(line, "tensor %63s %zu %zu", f->names[f->n_tensors],
                                &f->offset[f->n_tensors], &f->count[f->n_tensors]),
                         3, "%s: bad line \"%s\"", rel, line);
            f->n_tensors++;
        }
    }
    free(text);
    snprintf(rel, sizeof rel, "tests/reference/rnn/%s.bin", name);
    size_t len = 0;
    f->data = (float *)tsft_read_file(tsft_source(rel), &len);
    cr_assert_not_null(f->data, "missing %s", rel);
    size_t want = f->offset[f->n_tensors - 1] + f->count[f->n_tensors - 1];
    cr_assert_eq(len, want * sizeof(float), "%s: %zu bytes, manifest says %zu floats", rel, len,
                 want);
    return f;
}

static void fixture_free(fixture *f)
{
    free(f->data);
    free(f);
}

static const char *config_value(const fixture *f, const char *key)
{
    for (size_t i = 0; i < f->n_config; i++)
        if (strcmp(f->keys[i], key) == 0)
            return f->values[i];
    cr_assert_fail("fixture has no config %s", key);
    return NULL;
}

/* The value of key, or NULL when the fixture has none (keys newer than some fixtures). */
static const char *config_maybe(const fixture *f, const char *key)
{
    for (size_t i = 0; i < f->n_config; i++)
        if (strcmp(f->keys[i], key) == 0)
            return f->values[i];
    return NULL;
}

static size_t config_size(const fixture *f, const char *key)
{
    return (size_t)strtoul(config_value(f, key), NULL, 10);
}

/* The tensor called name; *n receives its length (must equal want_n unless want_n is 0). */
static const float *tensor(const fixture *f, const char *name, size_t want_n)
{
    for (size_t i = 0; i < f->n_tensors; i++)
        if (strcmp(f->names[i], name) == 0) {
            if (want_n)
                cr_assert_eq(f->count[i], want_n, "fixture tensor %s has %zu values, want %zu",
                             name, f->count[i], want_n);
            return f->data + f->offset[i];
        }
    cr_assert_fail("fixture has no tensor %s", name);
    return NULL;
}

static tsf_rnn_config fixture_config(const fixture *f)
{
    tsf_rnn_config c = {0};
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_rnn_cell_parse(config_value(f, "cell"), &c.cell, &err), TSF_OK, "%s", err.msg);
    c.n_inputs = config_size(f, "n_inputs");
    c.n_future = config_size(f, "n_future");
    c.hidden = config_size(f, "hidden");
    c.n_layers = config_size(f, "n_layers");
    c.bidirectional = (int)config_size(f, "bidirectional");
    c.lookback = config_size(f, "lookback");
    c.horizon = config_size(f, "horizon");
    c.n_outputs = config_size(f, "n_outputs");
    c.n_quantiles = config_size(f, "n_quantiles");
    c.head =
        strcmp(config_value(f, "head"), "recursive") == 0 ? TSF_HEAD_RECURSIVE : TSF_HEAD_DIRECT;
    c.bptt_steps = config_size(f, "bptt_steps");
    const char *seg = config_maybe(f, "segment");
    c.segment = seg ? (size_t)strtoul(seg, NULL, 10) : 0;
    const char *revin = config_maybe(f, "revin");
    c.revin = revin ? atoi(revin) : 0;
    return c;
}

/* got vs want within 1e-5 relative, absolute floor 1e-6 max|want|. */
static void expect_close(const float *got, const float *want, size_t n, const char *what)
{
    double amax = 0;
    for (size_t i = 0; i < n; i++)
        amax = fmax(amax, fabs(want[i]));
    tsft_assert_close_f(got, want, n, 1e-5, 1e-6 * amax, what);
}

/* Load the case into a network (max_batch = batch + extra), run forward and backward on the
 * fixture's data and compare everything PyTorch computed. */
static void check_parity(const char *name, size_t extra)
{
    fixture *f = fixture_load(name);
    tsf_rnn_config c = fixture_config(f);
    size_t B = config_size(f, "batch"), T = c.lookback, L = c.horizon,
           OQ = c.n_outputs * c.n_quantiles, n = L * B * OQ;
    tsf_rnn *m = NULL;
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_rnn_alloc(&m, &c, B + extra, &err), TSF_OK, "%s", err.msg);
    /* Every tsflow tensor has its PyTorch twin, and nothing is left over. */
    size_t n_fixture_params = 0;
    for (size_t i = 0; i < f->n_tensors; i++)
        n_fixture_params += strncmp(f->names[i], "param.", 6) == 0;
    cr_assert_eq(tsf_rnn_n_tensors(m), n_fixture_params);
    char key[96];
    for (size_t k = 0; k < tsf_rnn_n_tensors(m); k++) {
        size_t off, rows, cols;
        const char *tn = tsf_rnn_tensor(m, k, &off, &rows, &cols);
        snprintf(key, sizeof key, "param.%s", tn);
        memcpy(tsf_rnn_params(m) + off, tensor(f, key, rows * cols), rows * cols * sizeof(float));
    }
    const float *x = tensor(f, "x", T * B * c.n_inputs);
    const float *xf = c.n_future ? tensor(f, "xf", L * B * c.n_future) : NULL;
    const float *y = tensor(f, "y", n);
    float *yhat = calloc(n, sizeof *yhat), *dy = calloc(n, sizeof *dy);
    tsf_rnn_forward(m, B, x, xf, yhat, 1, NULL);
    snprintf(key, sizeof key, "%s: yhat", name);
    expect_close(yhat, tensor(f, "yhat", n), n, key);

    double loss = 0;
    for (size_t i = 0; i < n; i++) {
        loss += ((double)yhat[i] - y[i]) * ((double)yhat[i] - y[i]);
        dy[i] = (float)(2 * ((double)yhat[i] - y[i]) / (double)n); /* MSE, mean over all */
    }
    float lossf = (float)(loss / (double)n);
    snprintf(key, sizeof key, "%s: loss", name);
    expect_close(&lossf, tensor(f, "loss", 1), 1, key);

    size_t n_dh = c.segment ? T / c.segment : T; /* one entry per step or segment */
    double *dh_norm = calloc(T, sizeof *dh_norm);
    float *dh_normf = calloc(T, sizeof *dh_normf);
    tsf_rnn_zero_grad(m);
    tsf_rnn_backward(m, B, dy, dh_norm);
    for (size_t k = 0; k < tsf_rnn_n_tensors(m); k++) {
        size_t off, rows, cols;
        const char *tn = tsf_rnn_tensor(m, k, &off, &rows, &cols);
        snprintf(key, sizeof key, "grad.%s", tn);
        const float *want = tensor(f, key, rows * cols);
        snprintf(key, sizeof key, "%s: grad.%s", name, tn);
        expect_close(tsf_rnn_grads(m) + off, want, rows * cols, key);
    }
    for (size_t t = 0; t < T; t++)
        dh_normf[t] = (float)dh_norm[t];
    snprintf(key, sizeof key, "%s: dh_norm", name);
    expect_close(dh_normf, tensor(f, "dh_norm", n_dh), n_dh, key);

    free(dh_norm);
    free(dh_normf);
    free(yhat);
    free(dy);
    tsf_rnn_free(m);
    fixture_free(f);
}

Test(rnn_parity, elman_tanh_matches_pytorch)
{
    check_parity("rnn_tanh", 0);
}

Test(rnn_parity, elman_relu_matches_pytorch)
{
    check_parity("rnn_relu", 0);
}

Test(rnn_parity, lstm_matches_pytorch)
{
    check_parity("lstm", 0);
}

Test(rnn_parity, gru_matches_pytorch)
{
    check_parity("gru", 0);
}

Test(rnn_parity, two_layer_bidirectional_elman_matches_pytorch)
{
    check_parity("rnn_tanh_2layer_bidir", 0);
}

Test(rnn_parity, two_layer_lstm_matches_pytorch)
{
    check_parity("lstm_2layer", 0);
}

Test(rnn_parity, two_layer_bidirectional_lstm_matches_pytorch)
{
    check_parity("lstm_2layer_bidir", 0);
}

Test(rnn_parity, two_layer_gru_matches_pytorch)
{
    check_parity("gru_2layer", 0);
}

Test(rnn_parity, two_layer_bidirectional_gru_matches_pytorch)
{
    check_parity("gru_2layer_bidir", 0);
}

Test(rnn_parity, lstm_with_quantile_outputs_matches_pytorch)
{
    check_parity("lstm_quantiles", 0);
}

Test(rnn_parity, truncated_bptt_matches_pytorch_with_the_state_detached)
{
    check_parity("lstm_2layer_trunc", 0);
    check_parity("gru_2layer_bidir_trunc", 0);
}

Test(rnn_parity, recursive_head_matches_pytorch_decoding_step_by_step)
{
    check_parity("lstm_2layer_recursive", 0);
    check_parity("gru_recursive_trunc", 0);
}

/* The fixture's 10 steps of MSE towards 3 y, clip by norm, Adam: the pre-clip norms, the
 * losses and the weights after the last step (tests/reference/make_segrnn_fixtures.py). */
static void check_adam10(const char *name)
{
    fixture *f = fixture_load(name);
    tsf_rnn_config c = fixture_config(f);
    size_t B = config_size(f, "batch"), n = c.horizon * B * c.n_outputs * c.n_quantiles,
           steps = config_size(f, "steps");
    tsf_rnn *m = NULL;
    tsf_optim *opt = NULL;
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_rnn_alloc(&m, &c, B, &err), TSF_OK, "%s", err.msg);
    size_t P = tsf_rnn_n_params(m);
    char key[96];
    for (size_t k = 0; k < tsf_rnn_n_tensors(m); k++) {
        size_t off, rows, cols;
        const char *tn = tsf_rnn_tensor(m, k, &off, &rows, &cols);
        snprintf(key, sizeof key, "param.%s", tn);
        memcpy(tsf_rnn_params(m) + off, tensor(f, key, rows * cols), rows * cols * sizeof(float));
    }
    tsf_optim_config oc;
    tsf_optim_config_init(&oc, TSF_OPTIM_ADAM);
    oc.lr = strtod(config_value(f, "lr"), NULL);
    cr_assert_eq(tsf_optim_alloc(&opt, &oc, P, &err), TSF_OK, "%s", err.msg);
    tsf_clip clip = {.val = strtod(config_value(f, "clip"), NULL), .algorithm = TSF_CLIP_NORM};
    const float *x = tensor(f, "x", c.lookback * B * c.n_inputs), *y = tensor(f, "y", n);
    float *yhat = calloc(n, sizeof *yhat), *dy = calloc(n, sizeof *dy), norms[16], losses[16];
    cr_assert_leq(steps, 16);
    for (size_t k = 0; k < steps; k++) {
        tsf_rnn_forward(m, B, x, NULL, yhat, 1, NULL);
        double loss = 0;
        for (size_t i = 0; i < n; i++) {
            double e = (double)yhat[i] - 3.0 * y[i];
            loss += e * e;
            dy[i] = (float)(2 * e / (double)n);
        }
        losses[k] = (float)(loss / (double)n);
        tsf_rnn_zero_grad(m);
        tsf_rnn_backward(m, B, dy, NULL);
        double scale = 1;
        norms[k] = (float)tsf_clip_grads(&clip, tsf_rnn_grads(m), P, &scale, NULL);
        tsf_optim_step(opt, tsf_rnn_params(m), tsf_rnn_grads(m), oc.lr, scale);
    }
    snprintf(key, sizeof key, "%s: losses", name);
    expect_close(losses, tensor(f, "losses", steps), steps, key);
    snprintf(key, sizeof key, "%s: pre-clip norms", name);
    expect_close(norms, tensor(f, "norm", steps), steps, key);
    for (size_t k = 0; k < tsf_rnn_n_tensors(m); k++) {
        size_t off, rows, cols;
        const char *tn = tsf_rnn_tensor(m, k, &off, &rows, &cols);
        snprintf(key, sizeof key, "adam10.%s", tn);
        const float *want = tensor(f, key, rows * cols);
        snprintf(key, sizeof key, "%s: %s after %zu steps", name, tn, steps);
        expect_close(tsf_rnn_params(m) + off, want, rows * cols, key);
    }
    free(yhat);
    free(dy);
    tsf_optim_free(opt);
    tsf_rnn_free(m);
    fixture_free(f);
}

Test(rnn_parity, segment_gru_with_the_parallel_decoder_matches_pytorch)
{
    check_parity("seg_gru_pmf", 0);
    check_parity("seg_gru_pmf", 2);
    check_adam10("seg_gru_pmf");
}

Test(rnn_parity, segment_lstm_with_the_parallel_decoder_matches_pytorch)
{
    check_parity("seg_lstm_pmf", 0);
    check_adam10("seg_lstm_pmf");
}

Test(rnn_parity, segment_elman_rnn_with_the_parallel_decoder_matches_pytorch)
{
    check_parity("seg_rnn_tanh_pmf", 0);
    check_adam10("seg_rnn_tanh_pmf");
}

Test(rnn_parity, segment_gru_with_the_recurrent_decoder_and_quantiles_matches_pytorch)
{
    check_parity("seg_gru_rmf", 0);
    check_adam10("seg_gru_rmf");
}

Test(rnn_parity, segment_lstm_with_the_recurrent_decoder_matches_pytorch)
{
    check_parity("seg_lstm_rmf", 0);
    check_adam10("seg_lstm_rmf");
}

Test(rnn_parity, segment_gru_with_revin_matches_pytorch_for_both_decoders)
{
    check_parity("seg_gru_pmf_revin", 0);
    check_adam10("seg_gru_pmf_revin");
    check_parity("seg_gru_rmf_revin", 1);
    check_adam10("seg_gru_rmf_revin");
}

Test(rnn_parity, a_batch_smaller_than_the_allocation_matches_pytorch)
{
    check_parity("gru_2layer_bidir", 5);
    check_parity("lstm_2layer_recursive", 2);
}

/* ---- API ------------------------------------------------------------------------------ */

static tsf_rnn_config small_config(tsf_cell cell)
{
    tsf_rnn_config c = {.cell = cell,
                        .n_inputs = 3,
                        .n_future = 2,
                        .hidden = 8,
                        .n_layers = 2,
                        .lookback = 10,
                        .horizon = 4,
                        .n_outputs = 1,
                        .n_quantiles = 1,
                        .head = TSF_HEAD_DIRECT};
    return c;
}

static void expect_config_error(const tsf_rnn_config *c, const char *msg)
{
    tsf_err err = TSF_ERR_INIT;
    tsf_rnn *m = (tsf_rnn *)&err; /* must be reset to NULL */
    cr_expect_eq(tsf_rnn_config_check(c, &err), TSF_EINVAL);
    cr_expect_str_eq(err.msg, msg);
    tsf_err_clear(&err);
    cr_expect_eq(tsf_rnn_alloc(&m, c, 4, &err), TSF_EINVAL);
    cr_expect_null(m);
    cr_expect_str_eq(err.msg, msg);
}

Test(rnn, rejects_configurations_naming_the_option_and_what_was_expected)
{
    tsf_rnn_config c = small_config(TSF_CELL_LSTM);
    c.hidden = 0;
    expect_config_error(&c, "hidden must be >= 1, got 0");
    c = small_config(TSF_CELL_LSTM);
    c.dropout = 1;
    expect_config_error(&c, "dropout must be in [0, 1), got 1");
    c = small_config(TSF_CELL_LSTM);
    c.head = TSF_HEAD_RECURSIVE;
    c.bidirectional = 1;
    expect_config_error(&c, "the recursive head cannot follow a bidirectional encoder (the "
                            "reverse direction cannot run over the unknown future): use head = "
                            "direct");
    c.bidirectional = 0;
    c.n_inputs = 2;
    expect_config_error(&c, "the recursive head needs n_inputs >= n_outputs + n_future (inputs "
                            "lay out targets, past covariates, known future), got 2 < 1 + 2");
    c = small_config(TSF_CELL_LSTM);
    tsf_rnn *m = NULL;
    tsf_err err = TSF_ERR_INIT;
    cr_expect_eq(tsf_rnn_alloc(&m, &c, 0, &err), TSF_EINVAL);
    cr_expect_str_eq(err.msg, "max_batch must be >= 1, got 0");
}

Test(rnn, rejects_segment_configurations_naming_the_option_and_what_was_expected)
{
    tsf_rnn_config c = {.cell = TSF_CELL_GRU,
                        .n_inputs = 2,
                        .hidden = 4,
                        .n_layers = 1,
                        .lookback = 12,
                        .horizon = 8,
                        .n_outputs = 2,
                        .n_quantiles = 1,
                        .segment = 5};
    expect_config_error(&c, "segment 5 must divide the lookback 12");
    c.segment = 3;
    expect_config_error(&c, "segment 3 must divide the horizon 8");
    c.segment = 4;
    c.n_future = 1;
    expect_config_error(&c, "segments need every input to be a forecast channel (n_inputs == "
                            "n_outputs, no known future), got 2 inputs, 2 outputs, 1 "
                            "known-future features");
    c.n_future = 0;
    c.n_layers = 2;
    expect_config_error(&c, "segments run one unidirectional layer, got 2 layers");
    c.n_layers = 1;
    c.hidden = 5;
    expect_config_error(&c, "the parallel segment decoder needs an even hidden size (position "
                            "and channel embeddings of hidden/2 each), got 5");
    c.head = TSF_HEAD_RECURSIVE; /* no embeddings to split */
    tsf_rnn *m = NULL;
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_rnn_alloc(&m, &c, 3, &err), TSF_OK, "%s", err.msg);
    static const char *names[] = {"embed.weight",     "embed.bias",     "gru.weight_ih_l0",
                                  "gru.weight_hh_l0", "gru.bias_ih_l0", "gru.bias_hh_l0",
                                  "head.weight",      "head.bias"};
    cr_assert_eq(tsf_rnn_n_tensors(m), 8);
    size_t at = 0;
    for (size_t k = 0; k < 8; k++) {
        size_t off, rows, cols;
        cr_expect_str_eq(tsf_rnn_tensor(m, k, &off, &rows, &cols), names[k]);
        cr_expect_eq(off, at, "%s", names[k]);
        at += rows * cols;
    }
    cr_expect_eq(at, tsf_rnn_n_params(m)); /* 5*4+5 + 15*5*2 + 15*2 + 4*5+4 */
    cr_expect_eq(at, 25 + 150 + 30 + 24);
    tsf_rnn_free(m);
}

Test(rnn, parses_cell_names_and_lists_the_accepted_ones)
{
    tsf_cell cell;
    tsf_err err = TSF_ERR_INIT;
    cr_expect_eq(tsf_rnn_cell_parse("rnn", &cell, &err), TSF_OK);
    cr_expect_eq(cell, TSF_CELL_RNN_TANH);
    cr_expect_eq(tsf_rnn_cell_parse("gru", &cell, &err), TSF_OK);
    cr_expect_eq(cell, TSF_CELL_GRU);
    cr_expect_str_eq(tsf_rnn_cell_name(TSF_CELL_RNN_RELU), "rnn_relu");
    cr_expect_eq(tsf_rnn_cell_parse("LSTM", &cell, &err), TSF_EINVAL);
    cr_expect_str_eq(err.msg,
                     "cell \"LSTM\" is not known (expected rnn, rnn_tanh, rnn_relu, lstm or gru)");
}

Test(rnn, names_tensors_as_pytorch_and_lays_them_end_to_end)
{
    tsf_rnn_config c = small_config(TSF_CELL_GRU);
    c.bidirectional = 1;
    tsf_rnn *m = NULL;
    cr_assert_eq(tsf_rnn_alloc(&m, &c, 4, NULL), TSF_OK);
    static const char *want[] = {"gru.weight_ih_l0",
                                 "gru.weight_hh_l0",
                                 "gru.bias_ih_l0",
                                 "gru.bias_hh_l0",
                                 "gru.weight_ih_l0_reverse",
                                 "gru.weight_hh_l0_reverse",
                                 "gru.bias_ih_l0_reverse",
                                 "gru.bias_hh_l0_reverse",
                                 "gru.weight_ih_l1",
                                 "gru.weight_hh_l1",
                                 "gru.bias_ih_l1",
                                 "gru.bias_hh_l1",
                                 "gru.weight_ih_l1_reverse",
                                 "gru.weight_hh_l1_reverse",
                                 "gru.bias_ih_l1_reverse",
                                 "gru.bias_hh_l1_reverse",
                                 "head.weight",
                                 "head.bias"};
    cr_assert_eq(tsf_rnn_n_tensors(m), 18);
    size_t end = 0;
    for (size_t k = 0; k < 18; k++) {
        size_t off, rows, cols;
        cr_expect_str_eq(tsf_rnn_tensor(m, k, &off, &rows, &cols), want[k]);
        cr_expect_eq(off, end, "%s", want[k]);
        end = off + rows * cols;
    }
    cr_expect_eq(end, tsf_rnn_n_params(m));
    size_t rows, cols;
    tsf_rnn_tensor(m, tsf_rnn_find_tensor(m, "gru.weight_ih_l1"), NULL, &rows, &cols);
    cr_expect_eq(rows, 3 * 8);
    cr_expect_eq(cols, 2 * 8); /* both directions of layer 0 */
    tsf_rnn_tensor(m, tsf_rnn_find_tensor(m, "head.weight"), NULL, &rows, &cols);
    cr_expect_eq(rows, 4);             /* L * O * Q */
    cr_expect_eq(cols, 2 * 8 + 4 * 2); /* D*H + L*F */
    cr_expect_eq(tsf_rnn_find_tensor(m, "lstm.weight_ih_l0"), (size_t)-1);
    cr_expect_null(tsf_rnn_tensor(m, 18, NULL, NULL, NULL));
    tsf_rnn_free(m);
    tsf_rnn_free(NULL);
}

Test(rnn, initialises_like_pytorch_with_the_lstm_forget_bias_at_one)
{
    tsf_rnn_config c = small_config(TSF_CELL_LSTM);
    tsf_rnn *m = NULL;
    cr_assert_eq(tsf_rnn_alloc(&m, &c, 4, NULL), TSF_OK);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 1);
    tsf_rnn_init_params(m, rng);
    const float *p = tsf_rnn_params(m);
    for (size_t k = 0; k < tsf_rnn_n_tensors(m); k++) {
        size_t off, rows, cols;
        const char *name = tsf_rnn_tensor(m, k, &off, &rows, &cols);
        double bound = strncmp(name, "head", 4) == 0 ? 1 / sqrt(8.0 + 4 * 2) : 1 / sqrt(8.0);
        int bias_ih = strstr(name, "bias_ih") != NULL, bias_hh = strstr(name, "bias_hh") != NULL;
        double lo = 1, hi = -1;
        for (size_t i = 0; i < rows * cols; i++) {
            int forget = i >= 8 && i < 16;
            if (bias_ih && forget)
                cr_expect_eq(p[off + i], 1.0f, "%s[%zu]", name, i);
            else if (bias_hh && forget)
                cr_expect_eq(p[off + i], 0.0f, "%s[%zu]", name, i);
            else {
                cr_expect_leq(fabs(p[off + i]), bound, "%s[%zu]", name, i);
                lo = fmin(lo, p[off + i]);
                hi = fmax(hi, p[off + i]);
            }
        }
        if (rows * cols >= 32) /* uniform over the whole range, not a corner of it */
            cr_expect(lo < -0.5 * bound && hi > 0.5 * bound, "%s: [%g, %g]", name, lo, hi);
    }
    gsl_rng_free(rng);
    tsf_rnn_free(m);
}

/* A network with fixed weights and data for the behaviour tests. */
typedef struct net {
    tsf_rnn *m;
    gsl_rng *rng;
    float *x, *xf, *yhat;
    size_t B;
} net;

static net net_make(const tsf_rnn_config *c, size_t max_batch, size_t B)
{
    net n = {.B = B};
    cr_assert_eq(tsf_rnn_alloc(&n.m, c, max_batch, NULL), TSF_OK);
    n.rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(n.rng, 3);
    tsf_rnn_init_params(n.m, n.rng);
    size_t nx = c->lookback * max_batch * c->n_inputs, nf = c->horizon * max_batch * c->n_future;
    n.x = malloc(nx * sizeof *n.x);
    n.xf = malloc((nf ? nf : 1) * sizeof *n.xf);
    n.yhat = calloc(c->horizon * max_batch * c->n_outputs * c->n_quantiles, sizeof *n.yhat);
    for (size_t i = 0; i < nx; i++)
        n.x[i] = (float)sin(0.37 * (double)i);
    for (size_t i = 0; i < nf; i++)
        n.xf[i] = (float)cos(0.21 * (double)i);
    return n;
}

static void net_free(net *n)
{
    tsf_rnn_free(n->m);
    gsl_rng_free(n->rng);
    free(n->x);
    free(n->xf);
    free(n->yhat);
}

Test(rnn, repeats_forward_and_backward_bit_for_bit)
{
    tsf_rnn_config c = small_config(TSF_CELL_LSTM);
    c.dropout = 0.25;
    net n = net_make(&c, 5, 5);
    size_t ny = c.horizon * 5, P = tsf_rnn_n_params(n.m);
    float *y1 = malloc(ny * sizeof *y1), *g1 = malloc(P * sizeof *g1);
    double h1[10] = {0}, h2[10] = {0};
    for (int rep = 0; rep < 2; rep++) {
        gsl_rng_set(n.rng, 9);
        tsf_rnn_zero_grad(n.m);
        tsf_rnn_forward(n.m, 5, n.x, n.xf, n.yhat, 1, n.rng);
        tsf_rnn_backward(n.m, 5, n.yhat, rep ? h2 : h1);
        if (rep == 0) {
            memcpy(y1, n.yhat, ny * sizeof *y1);
            memcpy(g1, tsf_rnn_grads(n.m), P * sizeof *g1);
        }
    }
    cr_expect_arr_eq(y1, n.yhat, ny * sizeof *y1);
    cr_expect_arr_eq(g1, tsf_rnn_grads(n.m), P * sizeof *g1);
    cr_expect_arr_eq(h1, h2, sizeof h1);
    free(y1);
    free(g1);
    net_free(&n);
}

/* OpenBLAS's thread count (cblas.h is kept out: it clashes with GSL's declarations). */
extern void openblas_set_num_threads(int n);
extern int openblas_get_num_threads(void);

/* A batch of 70 runs its recurrence as three chunks of rows on as many threads as BLAS has;
 * the chunks depend only on the batch, so one thread gives the same bits as two. */
Test(rnn, gives_the_same_bits_on_one_thread_as_on_two)
{
    int saved = openblas_get_num_threads();
    tsf_cell cells[] = {TSF_CELL_RNN_TANH, TSF_CELL_LSTM, TSF_CELL_GRU};
    for (size_t k = 0; k < 3; k++) {
        tsf_rnn_config c = small_config(cells[k]);
        c.n_layers = 2;
        c.dropout = 0.25;
        c.head = k == 1 ? TSF_HEAD_RECURSIVE : TSF_HEAD_DIRECT;
        c.bidirectional = k != 1;
        enum { B = 70 };
        net n = net_make(&c, B, B);
        size_t ny = c.horizon * B * c.n_outputs, P = tsf_rnn_n_params(n.m);
        float *y[2], *g[2];
        double h[2][10] = {{0}};
        for (int threads = 1; threads <= 2; threads++) {
            openblas_set_num_threads(threads);
            gsl_rng_set(n.rng, 9);
            tsf_rnn_zero_grad(n.m);
            tsf_rnn_forward(n.m, B, n.x, n.xf, n.yhat, 1, n.rng);
            y[threads - 1] = malloc(ny * sizeof(float));
            memcpy(y[threads - 1], n.yhat, ny * sizeof(float));
            tsf_rnn_backward(n.m, B, n.yhat, h[threads - 1]);
            g[threads - 1] = malloc(P * sizeof(float));
            memcpy(g[threads - 1], tsf_rnn_grads(n.m), P * sizeof(float));
        }
        cr_expect_arr_eq(y[0], y[1], ny * sizeof(float), "%s", tsf_rnn_cell_name(cells[k]));
        cr_expect_arr_eq(g[0], g[1], P * sizeof(float), "%s", tsf_rnn_cell_name(cells[k]));
        cr_expect_arr_eq(h[0], h[1], sizeof h[0], "%s", tsf_rnn_cell_name(cells[k]));
        for (int i = 0; i < 2; i++) {
            free(y[i]);
            free(g[i]);
        }
        net_free(&n);
    }
    openblas_set_num_threads(saved);
}

Test(rnn, backward_accumulates_into_the_gradients)
{
    tsf_rnn_config c = small_config(TSF_CELL_GRU);
    net n = net_make(&c, 4, 4);
    size_t P = tsf_rnn_n_params(n.m);
    float *g1 = malloc(P * sizeof *g1);
    tsf_rnn_zero_grad(n.m);
    tsf_rnn_forward(n.m, 4, n.x, n.xf, n.yhat, 1, NULL);
    tsf_rnn_backward(n.m, 4, n.yhat, NULL);
    memcpy(g1, tsf_rnn_grads(n.m), P * sizeof *g1);
    tsf_rnn_backward(n.m, 4, n.yhat, NULL);
    for (size_t i = 0; i < P; i++)
        cr_assert_float_eq(tsf_rnn_grads(n.m)[i], 2 * g1[i], 1e-6 * fabs(g1[i]) + 1e-12, "grad %zu",
                           i);
    tsf_rnn_zero_grad(n.m);
    for (size_t i = 0; i < P; i++)
        cr_assert_eq(tsf_rnn_grads(n.m)[i], 0.0f);
    free(g1);
    net_free(&n);
}

Test(rnn, dropout_acts_only_in_training_and_follows_the_rng)
{
    tsf_rnn_config c = small_config(TSF_CELL_LSTM);
    c.n_layers = 3;
    c.dropout = 0.5;
    net n = net_make(&c, 4, 4);
    tsf_rnn_config c0 = c;
    c0.dropout = 0;
    net n0 = net_make(&c0, 4, 4); /* same seed: same weights */
    size_t ny = c.horizon * 4;
    float *a = malloc(ny * sizeof *a), *b = malloc(ny * sizeof *b);
    tsf_rnn_forward(n0.m, 4, n0.x, n0.xf, a, 0, NULL);
    tsf_rnn_forward(n.m, 4, n.x, n.xf, b, 0, NULL); /* evaluation: no dropout */
    cr_expect_arr_eq(a, b, ny * sizeof *a);
    gsl_rng_set(n.rng, 5);
    tsf_rnn_forward(n.m, 4, n.x, n.xf, a, 1, n.rng);
    gsl_rng_set(n.rng, 5);
    tsf_rnn_forward(n.m, 4, n.x, n.xf, b, 1, n.rng);
    cr_expect_arr_eq(a, b, ny * sizeof *a, "same rng state, same masks");
    tsf_rnn_forward(n.m, 4, n.x, n.xf, b, 1, n.rng);
    size_t differ = 0;
    for (size_t i = 0; i < ny; i++)
        differ += a[i] != b[i];
    cr_expect_gt(differ, 0, "new masks, new forecasts");
    free(a);
    free(b);
    net_free(&n);
    net_free(&n0);
}

Test(rnn, forecasts_of_a_sample_do_not_depend_on_the_rest_of_the_batch)
{
    tsf_cell cells[] = {TSF_CELL_RNN_TANH, TSF_CELL_LSTM, TSF_CELL_GRU};
    for (size_t k = 0; k < 3; k++) {
        tsf_rnn_config c = small_config(cells[k]);
        c.head = k == 1 ? TSF_HEAD_RECURSIVE : TSF_HEAD_DIRECT;
        c.bidirectional = k == 2;
        net n = net_make(&c, 6, 6);
        /* one sample alone: sample 2 of the batch, copied to a batch of one */
        float x1[10 * 3], xf1[4 * 2], y1[4];
        for (size_t t = 0; t < 10; t++)
            memcpy(x1 + t * 3, n.x + (t * 6 + 2) * 3, 3 * sizeof(float));
        for (size_t j = 0; j < 4; j++)
            memcpy(xf1 + j * 2, n.xf + (j * 6 + 2) * 2, 2 * sizeof(float));
        tsf_rnn_forward(n.m, 6, n.x, n.xf, n.yhat, 0, NULL);
        tsf_rnn_forward(n.m, 1, x1, xf1, y1, 0, NULL);
        for (size_t j = 0; j < 4; j++)
            cr_expect_float_eq(y1[j], n.yhat[j * 6 + 2], 1e-6 * fabs(y1[j]) + 1e-7, "%s step %zu",
                               tsf_rnn_cell_name(cells[k]), j);
        net_free(&n);
    }
}

Test(rnn, records_the_vanishing_gradient_of_a_tanh_rnn_next_to_an_lstm)
{
    /* dLoss/dh_t shrinks toward the start of a long window; the LSTM (forget bias 1) keeps
     * more of it than a tanh RNN with the same hidden size. */
    double ratio[2];
    tsf_cell cells[] = {TSF_CELL_RNN_TANH, TSF_CELL_LSTM};
    for (size_t k = 0; k < 2; k++) {
        tsf_rnn_config c = small_config(cells[k]);
        c.lookback = 60;
        c.n_layers = 1;
        c.hidden = 16;
        net n = net_make(&c, 8, 8);
        double dh[60] = {0};
        tsf_rnn_forward(n.m, 8, n.x, n.xf, n.yhat, 1, NULL);
        tsf_rnn_zero_grad(n.m);
        tsf_rnn_backward(n.m, 8, n.yhat, dh);
        for (size_t t = 0; t < 60; t++)
            cr_expect(isfinite(dh[t]) && dh[t] > 0, "step %zu: %g", t, dh[t]);
        ratio[k] = dh[0] / dh[59];
        cr_expect_lt(ratio[k], 0.1, "%s: %g", tsf_rnn_cell_name(cells[k]), ratio[k]);
        net_free(&n);
    }
    cr_expect_gt(ratio[1], 10 * ratio[0], "lstm %g vs rnn %g", ratio[1], ratio[0]);
}

Test(rnn, a_nan_in_the_input_reaches_the_forecast_and_the_gradients)
{
    /* Training stops on a NaN loss or gradient: the network must not hide one (the float
     * build's fast exp and tanh propagate NaN like libm's). */
    tsf_cell cells[] = {TSF_CELL_RNN_TANH, TSF_CELL_LSTM, TSF_CELL_GRU};
    for (size_t k = 0; k < 3; k++) {
        tsf_rnn_config c = small_config(cells[k]);
        net n = net_make(&c, 2, 2);
        n.x[5 * 2 * 3 + 1] = NAN; /* step 5, sample 0, feature 1 */
        tsf_rnn_forward(n.m, 2, n.x, n.xf, n.yhat, 1, NULL);
        cr_expect(isnan(n.yhat[0]), "%s: %g", tsf_rnn_cell_name(cells[k]), n.yhat[0]);
        cr_expect(!isnan(n.yhat[1]), "%s: sample 1 is clean", tsf_rnn_cell_name(cells[k]));
        float dy[8];
        for (size_t i = 0; i < 8; i++)
            dy[i] = 1;
        tsf_rnn_zero_grad(n.m);
        tsf_rnn_backward(n.m, 2, dy, NULL);
        cr_expect(isnan(tsf_rnn_grads(n.m)[0]), "%s", tsf_rnn_cell_name(cells[k]));
        net_free(&n);
    }
}

/* Distance of a float from the exact value in units of the float spacing there. */
static double ulps(float got, double want)
{
    float w = (float)want;
    double spacing = (double)nextafterf(fabsf(w), INFINITY) - fabsf(w);
    return fabs((double)got - want) / spacing;
}

/* The cells' tanh and sigmoid are fast approximations (lib/nn/cells.c); measured here against
 * libm in double over every 1009th float in [-10, 10] (2 million arguments) and the edges. */
Test(cells, compute_tanh_within_1_5_ulp_and_the_sigmoid_within_2)
{
    enum { N = 4096 };
    float *a = malloc(N * sizeof *a), *h = malloc(N * sizeof *h), *c = malloc(N * sizeof *c),
          *tc = malloc(N * sizeof *tc), *g = malloc(4 * N * sizeof *g),
          *zeros = calloc(4 * N, sizeof *zeros);
    cr_assert(a && h && c && tc && g && zeros);
    double worst_tanh = 0, worst_sigmoid = 0;
    float at_tanh = 0, at_sigmoid = 0;
    size_t n = 0;
    for (uint32_t u = 0; u <= 0x41200000u; u += 1009) { /* 0x41200000 is 10.0f */
        for (int neg = 0; neg < 2; neg++) {
            uint32_t bits = u | (neg ? 0x80000000u : 0);
            memcpy(&a[n++], &bits, sizeof bits);
        }
        if (n < N - 1 && u + 1009 <= 0x41200000u)
            continue;
        /* tanh: the Elman cell with zero bias */
        tsf__rnn_cell_forward(h, n, a, zeros, 1, n, 0);
        /* sigmoid: an LSTM cell with no previous state and the cell gate saturated at 1, so
         * c = sigmoid(input gate) exactly */
        for (size_t j = 0; j < n; j++) {
            g[j] = a[j];
            g[n + j] = 0;
            g[2 * n + j] = 20;
            g[3 * n + j] = 0;
        }
        tsf__lstm_cell_forward(tc, n, c, tc, g, zeros, zeros, 1, n);
        for (size_t j = 0; j < n; j++) {
            double et = ulps(h[j], tanh((double)a[j]));
            double es = ulps(c[j], 1 / (1 + exp(-(double)a[j])));
            if (et > worst_tanh)
                worst_tanh = et, at_tanh = a[j];
            if (es > worst_sigmoid)
                worst_sigmoid = es, at_sigmoid = a[j];
        }
        n = 0;
    }
    cr_expect_leq(worst_tanh, 1.5, "tanh: %.2f ulp at %.9g", worst_tanh, at_tanh);
    cr_expect_leq(worst_sigmoid, 2.0, "sigmoid: %.2f ulp at %.9g", worst_sigmoid, at_sigmoid);
    /* Saturation is exact, and NaN propagates. */
    float edge[] = {10.0f, -10.0f, INFINITY, -INFINITY, NAN, 0.0f, -0.0f, 1e-30f};
    tsf__rnn_cell_forward(h, 8, edge, zeros, 1, 8, 0);
    cr_expect_eq(h[0], 1.0f);
    cr_expect_eq(h[1], -1.0f);
    cr_expect_eq(h[2], 1.0f);
    cr_expect_eq(h[3], -1.0f);
    cr_expect(isnan(h[4]));
    cr_expect_eq(h[5], 0.0f);
    cr_expect_eq(h[7], 1e-30f);
    free(a);
    free(h);
    free(c);
    free(tc);
    free(g);
    free(zeros);
}
