/* Recurrent forecasting networks: Elman RNN (tanh or relu), LSTM and GRU cells, stacked, with
 * an optional bidirectional encoder and a linear head that forecasts the horizon either at once
 * (direct) or one step at a time feeding predictions back (recursive).
 *
 * lib/nn/rnn.c implements it, batched into matrix products and threaded; lib/nn/bptt_reference.c
 * computes the same forward and backward pass plainly, one sample and one step at a time: the
 * place to learn backpropagation through time, and what the gradient checks hold rnn.c to.
 * PyTorch parity: tests/reference/make_rnn_fixtures.py writes tests/reference/rnn/<case>.txt
 * (manifest) and <case>.bin (float32), which tests/lib/nn/test_rnn.c reads (fixture_load).
 *
 * Weights are those of PyTorch: for each layer l and direction (suffix "" or "_reverse"),
 *     <cell>.weight_ih_l<l>  (G*H, I_l)   I_0 = I, I_l = D*H for l > 0 (D = 2 if bidirectional)
 *     <cell>.weight_hh_l<l>  (G*H, H)
 *     <cell>.bias_ih_l<l>    (G*H, 1)
 *     <cell>.bias_hh_l<l>    (G*H, 1)
 * with <cell> = "rnn" (G = 1), "lstm" (G = 4, gate rows i, f, g, o) or "gru" (G = 3, gate
 * rows r, z, n), then "head.weight" and "head.bias". They correspond one to one with
 * torch.nn.RNN/LSTM/GRU(I, H, num_layers, bidirectional=...) and torch.nn.Linear:
 *     RNN:  h' = act(W_ih x + b_ih + W_hh h + b_hh)                 act = tanh or relu
 *     LSTM: i = s(W_ii x + b_ii + W_hi h + b_hi)   f = s(...)   g = tanh(...)   o = s(...)
 *           c' = f * c + i * g                      h' = o * tanh(c')           (s = sigmoid)
 *     GRU:  r = s(W_ir x + b_ir + W_hr h + b_hr)   z = s(W_iz x + b_iz + W_hz h + b_hz)
 *           n = tanh(W_in x + b_in + r * (W_hn h + b_hn))            h' = (1 - z) * n + z * h
 * Initial states are zero. Between stacked layers, dropout (inverted: kept units scaled by
 * 1/(1-p)) is applied to a layer's output when training, as torch's `dropout=` argument does;
 * never after the last layer.
 *
 * Tensors are row-major with time outermost: x (T, B, I), xf (L, B, F), yhat (L, B, O*Q) with
 * yhat[l][b][o*Q + q] the q-th quantile (or the point forecast when Q = 1) of output o.
 *
 * Heads (n_head_in inputs -> rows outputs, one torch.nn.Linear):
 *   TSF_HEAD_DIRECT: the whole horizon from the encoder's final state(s) and the known future:
 *       in  = [ h_fwd(T-1) (H) | h_rev(0) (H, bidirectional only) | xf flattened (L*F) ]
 *             (last layer; h_rev(0) is the reverse direction's final state, as torch's h_n;
 *              xf flattened step-major: xf[0][b][0..F), xf[1][b][0..F), ...)
 *       out = head.weight (L*O*Q, D*H + L*F) in + head.bias;  out row l*O*Q + o*Q + q is
 *             yhat[l][b][o*Q + q]
 *     In PyTorch: head(cat(h_n[-2], h_n[-1], xf.permute(1, 0, 2).reshape(B, L*F))).
 *   TSF_HEAD_RECURSIVE: one step at a time, reusing the (forward, stacked) cells as decoder:
 *       yhat[0] = head([h_top(T-1) | xf[0]])              head.weight (O*Q, H + F)
 *       for j = 1 .. L-1: one more step of every layer on the input
 *           u_j = [ yhat[j-1][:, o*Q + Q/2] for o < O  (the fed-back forecast: the middle
 *                                                       quantile, the median for 0.1,0.5,0.9)
 *                 | x[T-1][:, O .. I-F)                 (past covariates: last observed value)
 *                 | xf[j-1] ]                           (known future at the time u_j stands for)
 *           yhat[j] = head([h_top(T-1+j) | xf[j]])
 *     So a decoder input has the layout of a lookback input (targets, past covariates, known
 *     future; window.h's order) and requires I >= O + F. Gradients flow through the fed-back
 *     forecasts (no teacher forcing, nothing detached). Not available with a bidirectional
 *     encoder (the reverse direction cannot run over an unknown future): alloc refuses it.
 *
 * Truncated BPTT (bptt_steps = k, 0 < k < T; 0 or k >= T is full BPTT): the gradient is the
 * exact gradient of the loss with the recurrent state (h, and c for LSTM) detached at one
 * point of the lookback per direction, as torch's `h = h.detach()` would:
 *   forward direction: the state entering step T-k (h(T-k-1)) is a constant, so the loss
 *     reaches only the last k lookback steps (and, in recursive mode, every decoder step,
 *     which is never truncated);
 *   reverse direction: the state entering step k-1 (h(k)) is a constant: the last k steps of
 *     its pass, t = k-1 .. 0, ending at the h_rev(0) the head reads.
 * In a stacked bidirectional encoder, lower layers can still receive gradient from further
 * back through the other direction of the layer above; in a unidirectional network only steps
 * T-k .. T-1 are back-propagated (and the work is k steps, not T). This is the gradient of one
 * chunk of "carry the state across chunks of k, detach between chunks" when the loss is read
 * at the end of the window.
 *
 * Gradient-flow diagnostic: tsf_rnn_backward adds to dh_norm[t] (t < T) the Frobenius norm of
 * dLoss/dh_t over the whole batch, ||dLoss/dh_t||_F of the (B, D*H) last-layer output at
 * lookback step t (both directions' halves together) — the total derivative that reaches h_t
 * (from the head, from the layer's next step through the recurrence and, in recursive mode,
 * from the decoder). In PyTorch terms: h_t.grad.norm() when the top layer is unrolled with
 * nn.LSTMCell (etc.) and h_t.retain_grad(); not out.grad[t] of out = lstm(x)[0], which misses
 * the recurrent path. Not averaged over the batch: with a batch-mean loss the per-sample
 * gradients already carry 1/B. Steps cut off by truncated BPTT add 0.
 *
 * Arithmetic is float32 (tsf_real, see nn_real.h) through GSL float matrix views and
 * gsl_blas_sgemm on OpenBLAS. The gate nonlinearities use vectorized expf/tanhf
 * approximations within 2 ulp (lib/nn/cells.c); results match PyTorch to about 1e-6 relative
 * and repeat bit for bit on the same machine.
 *
 * Nothing allocates after tsf_rnn_alloc: forward and backward run in workspaces sized for
 * max_batch. A tsf_rnn is not thread-safe; use one per thread.
 */
/*
 * Segment-wise networks (segment = W > 0; SegRNN, Lin et al. 2023): every input column is a
 * channel that is also forecast (n_inputs == n_outputs = C, n_future = 0), and channels are
 * independent samples sharing every weight. W divides the lookback T (N = T/W segments) and
 * the horizon L (M = L/W output segments); one layer, unidirectional, full BPTT; the cell is
 * any of the four. With hidden d, per channel c of a sample:
 *     e_n = relu(embed.weight seg_n + embed.bias)   seg_n = x[nW .. nW+W)[c]   embed (d, W)
 *     h_n = cell(e_n, h_{n-1}), n < N, h_{-1} = 0          (<cell>.*_l0, input size d)
 * head = direct: parallel multi-step forecasting (PMF), output segment m < M:
 *     u_m = [ pos_emb[m] (d/2) | channel_emb[c] (d/2) ]    pos_emb (M, d/2), channel_emb (C, d/2)
 *     y_m = head.weight dropout(cell(u_m, h_{N-1})) + head.bias          head (W*Q, d)
 *     (the same cell weights as the encoder; every m starts from h_{N-1}; d must be even)
 * head = recursive: recurrent multi-step forecasting (RMF):
 *     y_0 = head(dropout(h_{N-1})),  h_{N-1+m} = cell(relu(embed(y_{m-1}[middle quantile])),
 *     h_{N-2+m}),  y_m = head(dropout(h_{N-1+m}))
 * yhat[mW + w][b][c*Q + q] = y_m[w*Q + q] of sample b, channel c. Tensors, in order:
 * "embed.weight", "embed.bias", the cell's four (l0), "pos_emb", "channel_emb" (PMF only),
 * "head.weight", "head.bias". init: nn.Linear's for embed and head, the cell's, N(0, 1) for
 * the two embeddings (torch.randn), forget bias 1 for LSTM. dropout applies to the head's
 * input. dh_norm[n] (n < N) records ||dLoss/dh_n||_F per lookback segment.
 * revin = 1 (RevIN, Kim et al. 2022) wraps it per sample and channel: with mu and sd the mean
 * and sqrt(biased variance + 1e-5) of the channel's lookback (constants, not differentiated),
 * the network sees x' = (x - mu) / sd * revin.weight[c] + revin.bias[c] and forecasts
 * yhat = (y' - revin.bias[c]) / (revin.weight[c] + 1e-10) * sd + mu (y' the network's output);
 * tensors "revin.weight" (C, 1), initialised 1, and "revin.bias" (C, 1), 0, come last.
 * In PyTorch: tests/reference/make_segrnn_fixtures.py.
 */
#ifndef TSFLOW_RNN_H
#define TSFLOW_RNN_H

#include <stddef.h>

#include <gsl/gsl_rng.h>

#include "tsflow/error.h"
#include "tsflow/nn_real.h"

#ifdef TSF_NN_DOUBLE /* distinct symbols in the test-only double build, see nn_real.h */
#define tsf_rnn_cell_name TSF_NN_SYM(tsf_rnn_cell_name)
#define tsf_rnn_cell_parse TSF_NN_SYM(tsf_rnn_cell_parse)
#define tsf_rnn_config_check TSF_NN_SYM(tsf_rnn_config_check)
#define tsf_rnn_alloc TSF_NN_SYM(tsf_rnn_alloc)
#define tsf_rnn_free TSF_NN_SYM(tsf_rnn_free)
#define tsf_rnn_bytes TSF_NN_SYM(tsf_rnn_bytes)
#define tsf_rnn_config_of TSF_NN_SYM(tsf_rnn_config_of)
#define tsf_rnn_max_batch TSF_NN_SYM(tsf_rnn_max_batch)
#define tsf_rnn_n_params TSF_NN_SYM(tsf_rnn_n_params)
#define tsf_rnn_params TSF_NN_SYM(tsf_rnn_params)
#define tsf_rnn_grads TSF_NN_SYM(tsf_rnn_grads)
#define tsf_rnn_n_tensors TSF_NN_SYM(tsf_rnn_n_tensors)
#define tsf_rnn_tensor TSF_NN_SYM(tsf_rnn_tensor)
#define tsf_rnn_find_tensor TSF_NN_SYM(tsf_rnn_find_tensor)
#define tsf_rnn_init_params TSF_NN_SYM(tsf_rnn_init_params)
#define tsf_rnn_zero_grad TSF_NN_SYM(tsf_rnn_zero_grad)
#define tsf_rnn_forward TSF_NN_SYM(tsf_rnn_forward)
#define tsf_rnn_backward TSF_NN_SYM(tsf_rnn_backward)
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tsf_cell {
    TSF_CELL_RNN_TANH, /* Elman, tanh:  "rnn_tanh" (also "rnn") */
    TSF_CELL_RNN_RELU, /* Elman, relu:  "rnn_relu" */
    TSF_CELL_LSTM,     /* "lstm" */
    TSF_CELL_GRU,      /* "gru" */
} tsf_cell;

typedef enum tsf_head {
    TSF_HEAD_DIRECT,    /* "direct": the whole horizon at once */
    TSF_HEAD_RECURSIVE, /* "recursive": one step at a time, forecasts fed back */
} tsf_head;

typedef struct tsf_rnn_config {
    tsf_cell cell;
    size_t n_inputs;    /* I >= 1: features per lookback step */
    size_t n_future;    /* F >= 0: known-future features per horizon step */
    size_t hidden;      /* H >= 1 */
    size_t n_layers;    /* >= 1 */
    int bidirectional;  /* 0 or 1 (D = 1 or 2); direct head only */
    double dropout;     /* in [0, 1): between layers, training only */
    size_t lookback;    /* T >= 1 */
    size_t horizon;     /* L >= 1 */
    size_t n_outputs;   /* O >= 1 */
    size_t n_quantiles; /* Q >= 1; 1 = point forecast */
    tsf_head head;
    size_t bptt_steps; /* 0 = full BPTT; k = truncated, see above */
    size_t segment;    /* W: 0 = the step-wise network above; W > 0 = segment-wise, see below */
    int revin;         /* 0 or 1: RevIN around a segment-wise network, see below */
} tsf_rnn_config;

typedef struct tsf_rnn tsf_rnn; /* opaque */

/* "rnn_tanh", "rnn_relu", "lstm", "gru" (static strings; "?" for an unknown value). */
const char *tsf_rnn_cell_name(tsf_cell cell);

/* Parse a cell name ("rnn" means "rnn_tanh"). TSF_EINVAL names the accepted values. */
int tsf_rnn_cell_parse(const char *name, tsf_cell *out, tsf_err *err) TSF_WUR;

/* Check a configuration without allocating: TSF_EINVAL naming the option and what was
 * expected (e.g. "hidden must be >= 1", "recursive head needs n_inputs >= n_outputs +
 * n_future (inputs lay out targets, past covariates, known future)"). */
int tsf_rnn_config_check(const tsf_rnn_config *cfg, tsf_err *err) TSF_WUR;

/* A network for batches of up to max_batch (>= 1) samples: parameters (uninitialised: call
 * tsf_rnn_init_params or write them), zeroed gradients, and every workspace. On failure *out
 * is NULL and err says why (tsf_rnn_config_check's messages, or TSF_ENOMEM). */
int tsf_rnn_alloc(tsf_rnn **out, const tsf_rnn_config *cfg, size_t max_batch, tsf_err *err) TSF_WUR;

/* Free m and everything it owns; NULL is a no-op. */
void tsf_rnn_free(tsf_rnn *m);

/* The bytes tsf_rnn_alloc(cfg, max_batch) takes for parameters, gradients and the workspaces of
 * a batch of max_batch (all but a few small arrays), without allocating them; -1 when even
 * counting runs out of memory; 0 for a segment network (not estimated). For memory checks
 * before a run. */
double tsf_rnn_bytes(const tsf_rnn_config *cfg, size_t max_batch);

const tsf_rnn_config *tsf_rnn_config_of(const tsf_rnn *m);
size_t tsf_rnn_max_batch(const tsf_rnn *m);

/* Parameters: one flat vector of n_params reals, the tensors listed by tsf_rnn_tensor laid end
 * to end in that order (no padding). Gradients mirror it element for element, so an optimizer
 * is one loop over n_params and a checkpoint one write. Owned by m. */
size_t tsf_rnn_n_params(const tsf_rnn *m);
tsf_real *tsf_rnn_params(tsf_rnn *m); /* (P) */
tsf_real *tsf_rnn_grads(tsf_rnn *m);  /* (P) */

/* Tensor k < n_tensors: returns its PyTorch name ("lstm.weight_ih_l0", "gru.bias_hh_l1_reverse",
 * "head.weight", ...; owned by m) and sets *offset into params/grads and its row-major shape
 * (rows, cols; biases are (n, 1)). Any out pointer may be NULL. NULL when k is out of range. */
size_t tsf_rnn_n_tensors(const tsf_rnn *m);
const char *tsf_rnn_tensor(const tsf_rnn *m, size_t k, size_t *offset, size_t *rows, size_t *cols);

/* Index of the tensor called name, or (size_t)-1. */
size_t tsf_rnn_find_tensor(const tsf_rnn *m, const char *name);

/* PyTorch's initialisation, drawn from rng in tensor order: every cell weight and bias
 * U(-1/sqrt(H), 1/sqrt(H)); head weight and bias U(-1/sqrt(n_in), 1/sqrt(n_in)) (nn.Linear).
 * Then, for LSTM, the forget gate's bias is 1 (bias_ih's f rows = 1, bias_hh's f rows = 0, so
 * the sum is 1): at the start the cell keeps its memory, so gradients reach back along the
 * lookback instead of vanishing at once (Jozefowicz et al. 2015). */
void tsf_rnn_init_params(tsf_rnn *m, gsl_rng *rng);

/* grads = 0. */
void tsf_rnn_zero_grad(tsf_rnn *m);

/* Forward pass over a batch of B <= max_batch samples.
 *   x:    (T, B, I)
 *   xf:   (L, B, F); may be NULL only when F == 0
 *   yhat: (L, B, O*Q) written
 * training: 1 applies dropout (masks drawn from rng with gsl_rng_uniform in a fixed order, so
 * the same rng state gives the same masks); rng may be NULL when training == 0 or dropout == 0.
 * The activations of this pass are kept for tsf_rnn_backward. */
void tsf_rnn_forward(tsf_rnn *m, size_t B, const tsf_real *x, const tsf_real *xf, tsf_real *yhat,
                     int training, gsl_rng *rng);

/* Backward pass of the last forward (same B): given dyhat = dLoss/dyhat (L, B, O*Q), adds
 * (+=) dLoss/dparams into grads (zeroing is tsf_rnn_zero_grad's job), and when dh_norm is not
 * NULL adds ||dLoss/dh_t||_F to dh_norm[t] for t < T (see the diagnostic above). */
void tsf_rnn_backward(tsf_rnn *m, size_t B, const tsf_real *dyhat, double *dh_norm);

#ifdef __cplusplus
}
#endif

#endif
