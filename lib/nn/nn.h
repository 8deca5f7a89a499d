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

#endif
