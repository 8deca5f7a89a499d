/* A reader's path through backpropagation through time: a plain, single-threaded forward and
 * backward pass of the networks of tsflow/rnn.h, written as a straight list of steps, one
 * sample and one time step at a time (lib/nn/bptt_reference.c). It computes what
 * tsf_rnn_forward and tsf_rnn_backward compute, without their batching into matrix products,
 * fused kernels and threads, so that the gradient checks can hold the fast pass to it and a
 * reader can learn BPTT and gradient clipping from one file before meeting the fast one.
 *
 * Double build only (tests/lib/nn/meson.build compiles it into the test-only library).
 * Covers the Elman RNN (tanh, relu), LSTM and GRU cells, stacked, unidirectional, with the
 * direct head, full BPTT, no dropout; tsf__ref_alloc refuses other configurations.
 */
#ifndef TSFLOW_NN_BPTT_REFERENCE_H
#define TSFLOW_NN_BPTT_REFERENCE_H

#ifndef TSF_NN_DOUBLE
#error "the reference BPTT is part of the double build only"
#endif

#include <stddef.h>

#include "tsflow/error.h"
#include "tsflow/rnn.h"

typedef struct tsf__ref tsf__ref; /* the activations of one forward pass, and scratch */

/* Workspace for batches of B samples of a network configured as c. On failure *out is NULL:
 * TSF_EINVAL for a configuration the reference does not cover, TSF_ENOMEM. */
int tsf__ref_alloc(tsf__ref **out, const tsf_rnn_config *c, size_t B, tsf_err *err) TSF_WUR;
void tsf__ref_free(tsf__ref *r); /* NULL is a no-op */

/* Forward pass with the parameters theta (tsf_rnn_params' layout, P = tsf_rnn_n_params):
 *   x: (T, B, I), xf: (L, B, F) (NULL when F = 0), yhat: (L, B, O*Q) written.
 * Keeps x, xf and every activation for tsf__ref_backward. */
void tsf__ref_forward(tsf__ref *r, const double *theta, const double *x, const double *xf,
                      double *yhat);

/* Backward pass of the last forward: given dyhat = dLoss/dyhat (L, B, O*Q), adds dLoss/dtheta
 * to grad (P), as tsf_rnn_backward does. */
void tsf__ref_backward(tsf__ref *r, const double *theta, const double *dyhat, double *grad);

/* Clip g (P values) by global norm: when ||g|| > max_norm, multiply every element by
 * max_norm / ||g||, so the clipped gradient has norm max_norm and keeps its direction.
 * Returns ||g|| before clipping (what tsf_clip_grads returns). */
double tsf__ref_clip_norm(double *g, size_t P, double max_norm);

#endif
