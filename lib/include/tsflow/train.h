/* Training a tsf_rnn: the loop (batches, loss, backward, clipping, optimizer, schedule, early
 * stopping), its history and diagnostics, checkpoints that resume bit for bit, network files
 * that forecast later, and batch prediction.
 *
 * Data come from a tsf_batch_source: a number of samples and a gather function that copies
 * chosen samples into the network's tensors, x (T, B, I), xf (L, B, F) and y (L, B, O), all
 * float. The model layer's tsf_batch_source_windows() (tsflow/rnn_model.h) wraps
 * tsflow/window.h's windows; tests and other callers can supply their own. The network layer
 * knows no windows, frames or forecasts: only these tensors.
 *
 * Determinism: one gsl_rng (mt19937) seeded with cfg.seed draws, in this order, the initial
 * weights (when init_params), then per epoch the shuffle of the training samples and the
 * dropout masks of each batch. Nothing else is random and every sum has a fixed order, so the
 * same seed, data, configuration and machine give bit-identical weights. A checkpoint stores
 * all state that affects the weights (weights, optimizer moments and step, RNG state, epoch and
 * batch cursor, this epoch's shuffle order, schedule and early-stopping state, best weights),
 * so training resumed from it ends with the same bits as an uninterrupted run.
 *
 * Network files (HDF5, format version TSF_NETWORK_FORMAT_VERSION; see lib/nn/checkpoint.c for
 * the layout) hold the network's configuration, the loss, every weight tensor under its PyTorch
 * name, the caller's metadata and, for checkpoints, the training state and history. Every file
 * is written atomically (tsflow/atomic.h). A forecasting model (tsflow/rnn_model.h) is saved as
 * a network file whose metadata say how to forecast a frame with it: what users call a model
 * file, and what the messages of the readers call it.
 */
#ifndef TSFLOW_TRAIN_H
#define TSFLOW_TRAIN_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "tsflow/error.h"
#include "tsflow/optim.h"
#include "tsflow/rnn.h"

#ifdef TSF_NN_DOUBLE /* distinct symbols in the test-only double build, see nn_real.h */
#define tsf_train_config_init TSF_NN_SYM(tsf_train_config_init)
#define tsf_train_history_init TSF_NN_SYM(tsf_train_history_init)
#define tsf_train_history_clear TSF_NN_SYM(tsf_train_history_clear)
#define tsf_train_history_pack TSF_NN_SYM(tsf_train_history_pack)
#define tsf_train_history_unpack TSF_NN_SYM(tsf_train_history_unpack)
#define tsf_train TSF_NN_SYM(tsf_train)
#define tsf_predict TSF_NN_SYM(tsf_predict)
#define tsf_network_save TSF_NN_SYM(tsf_network_save)
#define tsf_network_load TSF_NN_SYM(tsf_network_load)
#define tsf_network_info_clear TSF_NN_SYM(tsf_network_info_clear)
#define tsf_network_info_meta TSF_NN_SYM(tsf_network_info_meta)
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Batch sources ----------------------------------------------------------------------- */

/* What a sample element is, for messages. */
typedef enum tsf_sample_part {
    TSF_SAMPLE_X = 0,      /* x[step][.][feature]: a lookback input */
    TSF_SAMPLE_XF = 1,     /* xf[step][.][feature]: a known-future input */
    TSF_SAMPLE_Y = 2,      /* y[step][.][feature]: a target */
    TSF_SAMPLE_WINDOW = 3, /* the sample as a whole (step and feature ignored) */
} tsf_sample_part;

typedef struct tsf_batch_source {
    size_t n_samples;                                        /* N */
    size_t lookback, horizon, n_inputs, n_future, n_outputs; /* T, L, I, F, O */
    /* Copy samples idx[0..B) into x (T, B, I), xf (L, B, F; NULL when F == 0) and y (L, B, O;
     * NULL when the caller needs no targets). */
    void (*gather)(void *ctx, const size_t *idx, size_t B, float *x, float *xf, float *y);
    /* Describe where an element of sample k comes from, e.g. 'series "MT_001", row 1234
     * (2016-07-01 00:00:00), column "OT"', into buf (n bytes). NULL: messages say "sample k". */
    void (*describe)(void *ctx, size_t k, tsf_sample_part part, size_t step, size_t feature,
                     char *buf, size_t n);
    void *ctx;
} tsf_batch_source;

/* ---- Training ---------------------------------------------------------------------------- */

/* What the progress callback sees: after every batch, and once more after each epoch's
 * validation (epoch_end = 1). */
typedef struct tsf_train_progress {
    size_t epoch, n_epochs;  /* 0-based epoch of n_epochs */
    size_t batch, n_batches; /* batches done in this epoch (1..n_batches) */
    double batch_loss;       /* this batch's loss (the epoch's mean at epoch_end) */
    double loss;             /* mean training loss of the epoch so far */
    double val_loss;         /* validation loss of the last finished epoch, NaN if none */
    double lr;               /* learning rate of the last update */
    double grad_norm;        /* pre-clip global gradient norm of the last update */
    double fraction;         /* of all updates of all epochs done, in [0, 1] */
    int epoch_end;           /* 1: the epoch (validation included) is complete */
} tsf_train_progress;

/* Return 0 to go on; nonzero stops training at the next poll, as the cancel flag does. */
typedef int (*tsf_train_progress_fn)(void *user, const tsf_train_progress *p);

/* Caller data stored in network files under /meta/<name>: numbers and/or text. A forecasting
 * model keeps its scaler parameters and window specification here so that a saved model
 * forecasts a new frame without retraining. */
typedef struct tsf_network_meta {
    const char *name;     /* [A-Za-z0-9_.-]+, unique */
    const double *values; /* (n_values), or NULL */
    size_t n_values;
    const char *text; /* NUL-terminated, or NULL */
} tsf_network_meta;

typedef struct tsf_train_config {
    size_t epochs;           /* >= 1 (default 10): total, counting epochs done before a resume */
    size_t batch_size;       /* 1 .. the model's max_batch (default 32) */
    unsigned long seed;      /* default 1 */
    int shuffle;             /* reshuffle the training samples each epoch (default 1) */
    int init_params;         /* fresh start: 1 draws initial weights from the seed (default), 0
                                trains the weights the model holds (fine-tuning, parity tests) */
    tsf_loss loss;           /* default MSE; its Q must equal the model's n_quantiles */
    tsf_optim_config optim;  /* default Adam, lr 1e-3 */
    tsf_sched_config sched;  /* default constant */
    tsf_clip clip;           /* default off (val 0) */
    size_t patience;         /* early stopping: epochs without improvement of the monitored
                                loss (validation, else training) before stopping; 0 = off.
                                When on, the best epoch's weights are restored at the end. */
    double min_delta;        /* early stopping: improvement must exceed this (default 0) */
    const char *checkpoint;  /* write a checkpoint here at the end of every checkpoint_every
                                epochs, on cancel, and when training ends; NULL = never */
    size_t checkpoint_every; /* epochs (default 1) */
    const char *resume;      /* continue from this checkpoint (weights, moments, RNG,
                                cursor, history) instead of starting afresh; NULL = fresh */
    const tsf_network_meta *meta; /* (n_meta) stored in every checkpoint written */
    size_t n_meta;
    tsf_train_progress_fn progress; /* may be NULL */
    void *progress_user;
    const volatile sig_atomic_t *cancel; /* polled before every batch; nonzero stops; NULL */
    size_t shards; /* 0 (default): each batch in one pass. K >= 1: each batch in K fixed parts
                      (rows [k B/K, (k+1) B/K)), each its own forward and backward, their
                      gradients added in part order, dropout drawn per part from a seed drawn
                      per batch. The weights then do not depend on the number of MPI ranks
                      (tsflow/par.h): rank r computes the parts k with k mod ranks == r and the
                      ranks exchange them. K > 1 differs from 0 by rounding; K = 1 without
                      dropout gives 0's weights bit for bit. */
} tsf_train_config;

void tsf_train_config_init(tsf_train_config *cfg);

/* Training stops as diverged (TSF_ENUMERIC, naming epoch, batch and loss) when a batch's loss
 * is NaN or infinite, or exceeds TSF_TRAIN_LOSS_GROWTH times the run's first batch loss (taken
 * as at least 1e-3) for TSF_TRAIN_LOSS_GROWTH_BATCHES batches in a row. */
#define TSF_TRAIN_LOSS_GROWTH 1e4
#define TSF_TRAIN_LOSS_GROWTH_BATCHES 5

/* One epoch of the history. */
typedef struct tsf_epoch_record {
    double train_loss;     /* mean over the epoch's samples (weights changing as it goes) */
    double val_loss;       /* mean over the validation samples after the epoch; NaN if none */
    double lr;             /* learning rate of the epoch's last update */
    double grad_norm_mean; /* pre-clip global gradient norm: mean over the epoch's updates */
    double grad_norm_max;  /* and max */
    size_t n_steps;        /* updates in the epoch */
    size_t n_clipped;      /* updates whose gradients were clipped */
    double seconds;        /* wall time of the epoch (validation included) */
} tsf_epoch_record;

/* The training history. Caller-owned: tsf_train_history_init before tsf_train,
 * tsf_train_history_clear after. tsf_train replaces its contents (after a resume, with the
 * checkpoint's history, then appends); on failure it holds the epochs finished before it. */
typedef struct tsf_train_history {
    size_t n_epochs;              /* epochs recorded */
    tsf_epoch_record *epoch;      /* (n_epochs) */
    size_t lookback;              /* T */
    double *grad_flow;            /* (n_epochs, T): mean over the epoch's updates of
                                     ||dLoss/dh_t||_F (tsf_rnn_backward's dh_norm); small values
                                     toward t = 0 show the gradient vanishing along the lookback */
    size_t n_steps;               /* updates recorded */
    double *step_norm;            /* (n_steps) pre-clip global gradient norm of every update */
    unsigned char *step_clipped;  /* (n_steps) 1 where it was clipped */
    size_t best_epoch;            /* epoch of the lowest monitored loss */
    int stopped_early;            /* 1 when early stopping ended training */
    int restored_best;            /* 1 when the best epoch's weights were restored */
    size_t cap_epochs, cap_steps; /* allocated */
    char note[640];               /* set by callers that chose settings for this run: what and
                                     why, one line ("" when nothing was chosen) */
} tsf_train_history;

void tsf_train_history_init(tsf_train_history *h);
void tsf_train_history_clear(tsf_train_history *h); /* frees; h can be reused after init */

/* A history as bytes, to send it to another rank of the same build (tsflow/par.h): appends
 * them to *buf (realloc'd; *len its bytes so far), starting with their own count. */
int tsf_train_history_pack(const tsf_train_history *h, unsigned char **buf, size_t *len,
                           tsf_err *err) TSF_WUR;
/* The history packed at buf (n bytes available) into h (initialised; its old contents are
 * cleared); *used receives the bytes it took. TSF_EFORMAT when they do not hold a history. */
int tsf_train_history_unpack(tsf_train_history *h, const unsigned char *buf, size_t n, size_t *used,
                             tsf_err *err) TSF_WUR;

/* Train m on `train`, validating on `val` (NULL: none) after every epoch.
 * Before the first batch, every value of every training and validation sample (x, xf, y) is
 * checked: a NaN or Inf is refused with TSF_ENUMERIC naming the sample's element (series, row,
 * time, column through describe). Errors:
 *   TSF_EINVAL   bad configuration, or the sources' shapes differ from the model's
 *   TSF_ENUMERIC the loss, the gradient norm or the validation loss became NaN/Inf:
 *                "epoch 3, batch 17: the loss is NaN (first offending sample: <describe>):
 *                training diverged; ..." (epoch and batch 1-based; training stops and no
 *                update is made with the bad gradient; the sample is the first of the batch
 *                whose own loss, or own gradient, is not finite), or the loss grew past
 *                TSF_TRAIN_LOSS_GROWTH times its start for TSF_TRAIN_LOSS_GROWTH_BATCHES
 *                batches: "epoch 2, batch 5: the loss is 3.1e+07, more than 10000 times
 *                where it started (1.02 in epoch 1, batch 1) for 5 batches in a row:
 *                training diverged; ..."
 *   TSF_ECANCEL  cfg->cancel or the progress callback asked to stop (a checkpoint is written
 *                first when cfg->checkpoint is set)
 *   TSF_EIO, TSF_EFORMAT  checkpoint writing or reading (resume) failed
 * On success m holds the trained weights (the best epoch's under early stopping). */
int tsf_train(tsf_rnn *m, const tsf_batch_source *train, const tsf_batch_source *val,
              const tsf_train_config *cfg, tsf_train_history *hist, tsf_err *err) TSF_WUR;

/* Forecast every sample of src in batches of batch_size (<= the model's max_batch), dropout
 * off: out is (N, L, O, Q), sample-major (out[((k*L + l)*O + o)*Q + q]), in double. Refuses
 * NaN/Inf inputs (TSF_ENUMERIC naming the element) and shapes that differ from the model's. */
int tsf_predict(tsf_rnn *m, const tsf_batch_source *src, size_t batch_size, double *out,
                tsf_err *err) TSF_WUR;

/* ---- Network files ----------------------------------------------------------------------- */

#define TSF_NETWORK_FORMAT_VERSION 1

/* Write m (configuration and weights), the loss it was trained with and meta[0..n_meta) to
 * path, atomically. The file has no training state: tsf_network_load reads it, a resume does not.
 */
int tsf_network_save(tsf_rnn *m, const tsf_loss *loss, const tsf_network_meta *meta, size_t n_meta,
                     const char *path, tsf_err *err) TSF_WUR;

/* What tsf_network_load read besides the network. Owned by the info; tsf_network_info_clear frees.
 */
typedef struct tsf_network_info {
    tsf_rnn_config config;
    tsf_loss loss;
    int format_version;
    char tsflow_version[32]; /* of the tsflow that wrote the file */
    int has_train_state;     /* 1 for a checkpoint */
    size_t epochs_done;      /* checkpoints: finished epochs (0 for a plain network file) */
    size_t batches_done;     /* checkpoints: finished batches of the next epoch */
    int complete;            /* checkpoints: training had ended when it was written */
    size_t n_meta;
    tsf_network_meta *meta;    /* (n_meta) owned copies */
    tsf_train_history history; /* checkpoints: the history so far (else empty) */
} tsf_network_info;

/* Read a network file or checkpoint: allocates the network (for batches of up to max_batch) and
 * loads its weights. info may be NULL. A file that is not a tsflow model is refused with
 * TSF_EFORMAT, one of another format version with TSF_EFORMAT saying which versions this
 * tsflow reads. On failure *out is NULL. */
int tsf_network_load(tsf_rnn **out, const char *path, size_t max_batch, tsf_network_info *info,
                     tsf_err *err) TSF_WUR;

void tsf_network_info_clear(tsf_network_info *info); /* NULL is a no-op */

/* The meta entry called name, or NULL. */
const tsf_network_meta *tsf_network_info_meta(const tsf_network_info *info, const char *name);

#ifdef __cplusplus
}
#endif

#endif
