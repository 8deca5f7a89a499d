/* Internals shared by the training loop (train.c) and checkpoints (checkpoint.c): the state a
 * checkpoint saves and restores. Compiled twice like every nn source (see nn_real.h). */
#ifndef TSFLOW_TRAIN_INTERNAL_H
#define TSFLOW_TRAIN_INTERNAL_H

#include <stddef.h>

#include <gsl/gsl_rng.h>

#include "tsflow/optim.h"
#include "tsflow/rnn.h"
#include "tsflow/train.h"

#ifdef TSF_NN_DOUBLE
#define tsf__checkpoint_write TSF_NN_SYM(tsf__checkpoint_write)
#define tsf__checkpoint_resume TSF_NN_SYM(tsf__checkpoint_resume)
#define tsf__history_reserve TSF_NN_SYM(tsf__history_reserve)
#endif

/* Accumulators of the epoch in progress (saved so that a resumed epoch's record is whole). */
typedef struct tsf__epoch_acc {
    double loss_sum;  /* sum over batches of loss * B */
    size_t n_seen;    /* samples trained on this epoch */
    double norm_sum;  /* sum of pre-clip gradient norms */
    double norm_max;  /* max pre-clip gradient norm */
    size_t n_steps;   /* updates */
    size_t n_clipped; /* updates that clipped */
    double seconds;   /* wall time spent in the epoch before a checkpoint */
    double lr;        /* lr of the last update */
    double *flow;     /* (T) sum over updates of ||dLoss/dh_t|| */
} tsf__epoch_acc;

/* Everything that determines the rest of training, besides the weights in the model. */
typedef struct tsf__train_state {
    size_t epoch;      /* epoch in progress (0-based); == epochs when done */
    size_t batch;      /* batches of that epoch done */
    int complete;      /* training ended (early stopping); nothing left to do on resume */
    size_t n_samples;  /* N */
    size_t batch_size; /* batches are order[b*batch_size ..] */
    size_t *order;     /* (N) this epoch's sample order */
    gsl_rng *rng;
    tsf_optim *optim;
    tsf_sched sched;
    tsf_early_stop es;
    tsf_real *best; /* (P) weights of the best epoch (early stopping), or NULL */
    int have_best;  /* best holds weights */
    tsf_real *last; /* (P) weights before restoring best, when restored; else NULL */
    tsf__epoch_acc acc;
    double last_val; /* validation loss of the last finished epoch (NaN if none) */
} tsf__train_state;

/* Write a model file to path, atomically: m's configuration and weights, loss and meta, and
 * when st is not NULL the training state and hist (a checkpoint). */
int tsf__checkpoint_write(const char *path, tsf_rnn *m, const tsf_loss *loss,
                          const tsf_network_meta *meta, size_t n_meta, const tsf__train_state *st,
                          const tsf_train_history *hist, const tsf_train_config *cfg, tsf_err *err);

/* Resume from the checkpoint at path: checks that it was written for the same network, data
 * size, batch size and optimizer, then loads the weights into m and the state into st (whose
 * buffers are allocated by the caller for this run) and replaces hist with the file's history.
 */
int tsf__checkpoint_resume(const char *path, tsf_rnn *m, tsf__train_state *st,
                           tsf_train_history *hist, tsf_err *err);

/* Make room in h for n_epochs epochs of T steps and n_steps updates. */
int tsf__history_reserve(tsf_train_history *h, size_t T, size_t n_epochs, size_t n_steps,
                         tsf_err *err);

#endif
