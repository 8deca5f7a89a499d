/* Internals of lib/nn shared across its files (tsf__ prefix): the per-step cell kernels and a
 * test hook. Not part of the public API. Compiled twice like every nn source (see nn_real.h),
 * so the exported names are renamed in the double build. */
#ifndef TSFLOW_NN_INTERNAL_H
#define TSFLOW_NN_INTERNAL_H

#include <stddef.h>

#include "tsflow/nn_real.h"
#include "tsflow/rnn.h"

#ifdef TSF_NN_DOUBLE
#define tsf__rnn_cell_forward TSF_NN_SYM(tsf__rnn_cell_forward)
#define tsf__rnn_cell_backward TSF_NN_SYM(tsf__rnn_cell_backward)
#define tsf__lstm_cell_forward TSF_NN_SYM(tsf__lstm_cell_forward)
#define tsf__lstm_cell_backward TSF_NN_SYM(tsf__lstm_cell_backward)
#define tsf__gru_cell_forward TSF_NN_SYM(tsf__gru_cell_forward)
#define tsf__gru_cell_backward TSF_NN_SYM(tsf__gru_cell_backward)
#define tsf__rnn_freeze TSF_NN_SYM(tsf__rnn_freeze)
#define tsf__mm TSF_NN_SYM(tsf__mm)
#define tsf__pmm TSF_NN_SYM(tsf__pmm)
#define tsf__colsum_add TSF_NN_SYM(tsf__colsum_add)
#define tsf__sum_squares TSF_NN_SYM(tsf__sum_squares)
#define tsf__seg_alloc TSF_NN_SYM(tsf__seg_alloc)
#define tsf__seg_free TSF_NN_SYM(tsf__seg_free)
#define tsf__seg_n_params TSF_NN_SYM(tsf__seg_n_params)
#define tsf__seg_params TSF_NN_SYM(tsf__seg_params)
#define tsf__seg_grads TSF_NN_SYM(tsf__seg_grads)
#define tsf__seg_n_tensors TSF_NN_SYM(tsf__seg_n_tensors)
#define tsf__seg_tensor TSF_NN_SYM(tsf__seg_tensor)
#define tsf__seg_init_params TSF_NN_SYM(tsf__seg_init_params)
#define tsf__seg_forward TSF_NN_SYM(tsf__seg_forward)
#define tsf__seg_backward TSF_NN_SYM(tsf__seg_backward)

#endif

/* One time step of a cell over a batch. Matrix products are done by the caller with BLAS
 * (pre = x W_ih^T for all steps at once, then h_prev W_hh^T per step); these kernels do the
 * rest in one pass. Row strides (ld*) let h live inside a (B, D*H) layer output. Backward
 * kernels take dh = dLoss/dh_t (B, H), everything that reaches h_t. The state before the
 * first step is passed as zeros (never NULL). */

/* Elman: h = act(a + bias).
 *   h: (B, H) stride ldh, out     a: (B, H) pre-activation without bias     bias: (H) */
void tsf__rnn_cell_forward(tsf_real *h, size_t ldh, const tsf_real *a, const tsf_real *bias,
                           size_t B, size_t H, int relu);
/* da = dh * act'(h).   da: (B, H) out   dh: (B, H)   h: (B, H) stride ldh (forward output) */
void tsf__rnn_cell_backward(tsf_real *da, const tsf_real *dh, const tsf_real *h, size_t ldh,
                            size_t B, size_t H, int relu);

/* LSTM: g holds i, f, g, o pre-activations (without bias), replaced by their activations;
 * c = f * c_prev + i * g, tc = tanh(c), h = o * tc.
 *   h: (B, H) stride ldh     c, tc: (B, H)     g: (B, 4H)     c_prev: (B, H)
 *   bias: (4H) b_ih + b_hh */
void tsf__lstm_cell_forward(tsf_real *h, size_t ldh, tsf_real *c, tsf_real *tc, tsf_real *g,
                            const tsf_real *c_prev, const tsf_real *bias, size_t B, size_t H);
/* dg = dLoss/d(pre-activations) (B, 4H); dc: (B, H) in: dLoss/dc from the next step (taken as
 * 0 when dc_in_valid is 0), out: dLoss/dc_prev = dc * f. g, tc as left by forward; c_prev
 * (B, H), zeros for the first step. */
void tsf__lstm_cell_backward(tsf_real *dg, tsf_real *dc, int dc_in_valid, const tsf_real *dh,
                             const tsf_real *g, const tsf_real *c_prev, const tsf_real *tc,
                             size_t B, size_t H);

/* GRU (PyTorch): g holds x W_ih^T (r, z, n rows, without bias), replaced by r, z, n;
 * hh = h_prev W_hh^T (B, 3H) (zeros for the first step); hn = hh_n + b_hn is kept.
 *   r = s(g_r + b_ir + hh_r + b_hr)   z = s(g_z + b_iz + hh_z + b_hz)
 *   n = tanh(g_n + b_in + r * hn)     h = (1 - z) * n + z * h_prev
 *   h: (B, H) stride ldh     hn: (B, H)     h_prev: (B, H) stride ldp */
void tsf__gru_cell_forward(tsf_real *h, size_t ldh, tsf_real *g, tsf_real *hn, const tsf_real *hh,
                           const tsf_real *h_prev, size_t ldp, const tsf_real *b_ih,
                           const tsf_real *b_hh, size_t B, size_t H);
/* dgi: (B, 3H) gradient of the input-side pre-activations (r, z, n); dgh: (B, 3H) of the
 * hidden side (r, z as dgi; n row: dLoss/dhn = dn_pre * r); dh: (B, H) in: dLoss/dh_t, out:
 * the direct part of dLoss/dh_prev, dh * z (the caller adds dgh W_hh). h_prev: (B, H) stride
 * ldp, zeros for the first step. */
void tsf__gru_cell_backward(tsf_real *dgi, tsf_real *dgh, tsf_real *dh, const tsf_real *g,
                            const tsf_real *hn, const tsf_real *h_prev, size_t ldp, size_t B,
                            size_t H);

/* Test hook for the truncated-BPTT gradient check: on = 1 snapshots the recurrent state at
 * each truncation point (the state entering step T-k forward and step k-1 reverse) of the
 * last forward pass, and later forwards use the snapshot there instead of the state they
 * compute, so a finite difference sees that state held constant; on = 0 restores normal
 * forwards. Needs bptt_steps in (0, T). */
void tsf__rnn_freeze(tsf_rnn *m, int on);

/* Products shared by the network kinds (rnn.c). C (M, N) = beta C + op(A) op(B), op(A) (M, K),
 * op(B) (K, N); ld* are row strides, ta/tb say A is stored (K, M) / B stored (N, K). tsf__pmm
 * splits C into row blocks that depend only on the shape and runs them on up to `threads`
 * threads. */
void tsf__mm(tsf_real *C, size_t ldc, const tsf_real *A, size_t lda, int ta, const tsf_real *B,
             size_t ldb, int tb, size_t M, size_t N, size_t K, tsf_real beta);
void tsf__pmm(size_t threads, tsf_real *C, size_t ldc, const tsf_real *A, size_t lda, int ta,
              const tsf_real *B, size_t ldb, int tb, size_t M, size_t N, size_t K, tsf_real beta);
/* y (N) += column sums of A (M, N), contiguous; ones: (M) ones. */
void tsf__colsum_add(tsf_real *y, const tsf_real *A, const tsf_real *ones, size_t M, size_t N);
/* sum of x_i^2 in double, in a fixed order. */
double tsf__sum_squares(const tsf_real *x, size_t n);

/* The segment-wise network (segrnn.c) behind a tsf_rnn whose config has segment > 0; rnn.c's
 * public functions hand over to these. The config was checked by tsf_rnn_config_check. */
typedef struct tsf__seg tsf__seg;
int tsf__seg_alloc(tsf__seg **out, const tsf_rnn_config *cfg, size_t max_batch, tsf_err *err);
void tsf__seg_free(tsf__seg *s);
size_t tsf__seg_n_params(const tsf__seg *s);
tsf_real *tsf__seg_params(tsf__seg *s);
tsf_real *tsf__seg_grads(tsf__seg *s);
size_t tsf__seg_n_tensors(const tsf__seg *s);
const char *tsf__seg_tensor(const tsf__seg *s, size_t k, size_t *offset, size_t *rows,
                            size_t *cols);
void tsf__seg_init_params(tsf__seg *s, gsl_rng *rng);
/* x: (T, B, C)   yhat: (L, B, C*Q) */
void tsf__seg_forward(tsf__seg *s, size_t B, const tsf_real *x, tsf_real *yhat, int training,
                      gsl_rng *rng, size_t threads);
void tsf__seg_backward(tsf__seg *s, size_t B, const tsf_real *dyhat, double *dh_norm,
                       size_t threads);

#endif
