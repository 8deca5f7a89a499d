/* Losses, gradient clipping, optimizers, learning-rate schedules and early stopping: the parts
 * of training that act on flat vectors and know nothing of the network.
 *
 * Everything here works on the flat parameter vector of a tsf_rnn (tsf_rnn_params, P values)
 * and its mirror of gradients (tsf_rnn_grads); optimizer moments mirror it too, so an update is
 * one loop and a checkpoint one write. Arithmetic is in tsf_real (float in libtsflow, double in
 * the test build, see nn_real.h); sums and norms are accumulated in double.
 *
 * The formulas follow PyTorch 1.13 (torch.nn.MSELoss, L1Loss, HuberLoss; torch.optim.SGD, Adam,
 * AdamW; StepLR, ReduceLROnPlateau; clip_grad_norm_ / clip_grad_value_), so that weights can be
 * compared with PyTorch's step by step; where tsflow deliberately differs it says so.
 */
#ifndef TSFLOW_OPTIM_H
#define TSFLOW_OPTIM_H

#include <stddef.h>
#include <stdint.h>

#include "tsflow/error.h"
#include "tsflow/nn_real.h"

#ifdef TSF_NN_DOUBLE /* distinct symbols in the test-only double build, see nn_real.h */
#define tsf_loss_init TSF_NN_SYM(tsf_loss_init)
#define tsf_loss_init_pinball TSF_NN_SYM(tsf_loss_init_pinball)
#define tsf_loss_check TSF_NN_SYM(tsf_loss_check)
#define tsf_loss_eval TSF_NN_SYM(tsf_loss_eval)
#define tsf_loss_name TSF_NN_SYM(tsf_loss_name)
#define tsf_loss_parse TSF_NN_SYM(tsf_loss_parse)
#define tsf_grad_norm TSF_NN_SYM(tsf_grad_norm)
#define tsf_clip_grads TSF_NN_SYM(tsf_clip_grads)
#define tsf_clip_name TSF_NN_SYM(tsf_clip_name)
#define tsf_clip_parse TSF_NN_SYM(tsf_clip_parse)
#define tsf_optim_config_init TSF_NN_SYM(tsf_optim_config_init)
#define tsf_optim_config_check TSF_NN_SYM(tsf_optim_config_check)
#define tsf_optim_alloc TSF_NN_SYM(tsf_optim_alloc)
#define tsf_optim_free TSF_NN_SYM(tsf_optim_free)
#define tsf_optim_reset TSF_NN_SYM(tsf_optim_reset)
#define tsf_optim_step TSF_NN_SYM(tsf_optim_step)
#define tsf_optim_name TSF_NN_SYM(tsf_optim_name)
#define tsf_optim_parse TSF_NN_SYM(tsf_optim_parse)
#define tsf_sched_config_init TSF_NN_SYM(tsf_sched_config_init)
#define tsf_sched_config_check TSF_NN_SYM(tsf_sched_config_check)
#define tsf_sched_init TSF_NN_SYM(tsf_sched_init)
#define tsf_sched_lr TSF_NN_SYM(tsf_sched_lr)
#define tsf_sched_epoch_end TSF_NN_SYM(tsf_sched_epoch_end)
#define tsf_sched_name TSF_NN_SYM(tsf_sched_name)
#define tsf_sched_parse TSF_NN_SYM(tsf_sched_parse)
#define tsf_early_stop_init TSF_NN_SYM(tsf_early_stop_init)
#define tsf_early_stop_update TSF_NN_SYM(tsf_early_stop_update)
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Losses ------------------------------------------------------------------------------ */

typedef enum tsf_loss_kind {
    TSF_LOSS_MSE = 0,     /* mean of (yhat - y)^2 */
    TSF_LOSS_MAE = 1,     /* mean of |yhat - y| (gradient 0 where yhat == y, as PyTorch) */
    TSF_LOSS_HUBER = 2,   /* mean of 0.5 d^2 if |d| < delta, else delta (|d| - 0.5 delta) */
    TSF_LOSS_PINBALL = 3, /* quantile loss, summed over quantiles, mean over targets */
} tsf_loss_kind;

#define TSF_MAX_QUANTILES 16

typedef struct tsf_loss {
    tsf_loss_kind kind;
    double delta;                        /* Huber threshold (> 0; default 1) */
    size_t n_quantiles;                  /* Q: 1 for point losses; pinball: >= 1 */
    double quantiles[TSF_MAX_QUANTILES]; /* pinball levels, strictly increasing in (0, 1) */
} tsf_loss;

/* A point loss (MSE, MAE, Huber with delta 1). */
void tsf_loss_init(tsf_loss *loss, tsf_loss_kind kind);

/* Set up a pinball loss for quantiles q[0..Q). Fails with TSF_EINVAL unless 1 <= Q <=
 * TSF_MAX_QUANTILES and the levels are strictly increasing inside (0, 1). */
int tsf_loss_init_pinball(tsf_loss *loss, const double *q, size_t Q, tsf_err *err) TSF_WUR;

/* Check a loss set up by hand (kind, delta, quantiles): TSF_EINVAL names the bad field. */
int tsf_loss_check(const tsf_loss *loss, tsf_err *err) TSF_WUR;

/* Loss value and its gradient over n targets with Q outputs each (Q = loss->n_quantiles):
 *   yhat:  (n, Q) predictions; for a network output (L, B, O*Q), n = L*B*O and the quantile
 *          index is innermost: yhat[((l*B + b)*O + o)*Q + q]
 *   y:     (n) targets, (L, B, O)
 *   dyhat: (n, Q) dLoss/dyhat, WRITTEN (not accumulated: it seeds backward), or NULL
 * Returns the mean over the n targets (pinball: of the sum over the Q quantiles, as Darts'
 * QuantileRegression), accumulated in double. Pinball at level q with e = y - yhat:
 * max(q e, (q - 1) e), gradient -q for e > 0, 1 - q for e < 0, 0.5 - q at e == 0. NaN inputs
 * give NaN. */
double tsf_loss_eval(const tsf_loss *loss, size_t n, const tsf_real *yhat, const tsf_real *y,
                     tsf_real *dyhat);

/* "mse", "mae", "huber", "pinball" (also accepted when parsing: "l2", "l1", "quantile"). */
const char *tsf_loss_name(tsf_loss_kind kind);
int tsf_loss_parse(const char *name, tsf_loss_kind *kind); /* 0, or -1 when unknown */

/* ---- Gradient clipping ------------------------------------------------------------------- */

typedef enum tsf_clip_algorithm {
    TSF_CLIP_NORM = 0,  /* scale all gradients by val / ||g|| when ||g|| > val */
    TSF_CLIP_VALUE = 1, /* clamp each gradient to [-val, val] */
} tsf_clip_algorithm;

typedef struct tsf_clip {
    double val;                   /* gradient_clip_val; <= 0 turns clipping off */
    tsf_clip_algorithm algorithm; /* gradient_clip_algorithm */
} tsf_clip;

/* Global L2 norm of g (P values), sqrt of the sum of squares accumulated in double. A NaN or Inf
 * element gives a NaN or Inf norm. */
double tsf_grad_norm(const tsf_real *g, size_t P);

/* Clip the gradients g (P values) and return their global L2 norm BEFORE clipping (for logging
 * and NaN checks). *clipped (may be NULL) says whether anything changed.
 *   norm:  when ||g|| > val, the scale s = val / ||g|| brings the norm to exactly val (one norm,
 *          one scale; PyTorch's clip_grad_norm_ uses val / (||g|| + 1e-6) instead). If scale is
 *          not NULL, g is left untouched and *scale = s (1 when not clipping): the caller folds
 *          it into the update (tsf_optim_step's grad_scale) instead of a second pass over g;
 *          with scale NULL, g is multiplied by s in place.
 *   value: every g_i is clamped to [-val, val] in place; *scale = 1.
 * When the norm is not finite nothing is clipped and *scale = 1: the caller must stop. */
double tsf_clip_grads(const tsf_clip *clip, tsf_real *g, size_t P, double *scale, int *clipped);

/* "norm", "value" */
const char *tsf_clip_name(tsf_clip_algorithm a);
int tsf_clip_parse(const char *name, tsf_clip_algorithm *a); /* 0, or -1 when unknown */

/* ---- Optimizers -------------------------------------------------------------------------- */

typedef enum tsf_optim_kind {
    TSF_OPTIM_SGD = 0,   /* SGD with optional (Nesterov) momentum, PyTorch's formulation */
    TSF_OPTIM_ADAM = 1,  /* Adam; weight_decay is an L2 term added to the gradient */
    TSF_OPTIM_ADAMW = 2, /* AdamW; weight decay decoupled: p *= 1 - lr wd before the update */
} tsf_optim_kind;

typedef struct tsf_optim_config {
    tsf_optim_kind kind;
    double lr;           /* base learning rate (> 0) */
    double momentum;     /* SGD: in [0, 1) */
    double dampening;    /* SGD: in [0, 1], PyTorch default 0 */
    int nesterov;        /* SGD: Nesterov momentum (needs momentum > 0, dampening 0) */
    double beta1, beta2; /* Adam(W): in [0, 1) */
    double eps;          /* Adam(W): > 0 */
    double weight_decay; /* >= 0 */
} tsf_optim_config;

/* PyTorch's defaults for kind: lr 1e-3 (SGD 1e-2), momentum 0, betas (0.9, 0.999), eps 1e-8,
 * weight_decay 0 (AdamW 1e-2). */
void tsf_optim_config_init(tsf_optim_config *cfg, tsf_optim_kind kind);

/* TSF_EINVAL naming the out-of-range field (e.g. "optimizer: beta2 1.5 is outside [0, 1)"). */
int tsf_optim_config_check(const tsf_optim_config *cfg, tsf_err *err) TSF_WUR;

/* Optimizer state over P parameters. Fields are public for checkpoints; treat as read-only. */
typedef struct tsf_optim {
    tsf_optim_config cfg;
    size_t n_params; /* P */
    uint64_t step;   /* updates done so far (Adam's t) */
    tsf_real *m;     /* (P) SGD momentum buffer / Adam first moment; NULL for SGD without
                        momentum */
    tsf_real *v;     /* (P) Adam second moment; NULL for SGD */
} tsf_optim;

/* Checks cfg, allocates zeroed moments. On failure *out is NULL. */
int tsf_optim_alloc(tsf_optim **out, const tsf_optim_config *cfg, size_t P, tsf_err *err) TSF_WUR;
void tsf_optim_free(tsf_optim *o); /* NULL is a no-op */

/* Zero the moments and the step count. */
void tsf_optim_reset(tsf_optim *o);

/* One update of params (P) from grads (P), using g_i = grads[i] * grad_scale (pass the scale
 * tsf_clip_grads returned, or 1) and learning rate lr (the schedule's; cfg.lr is only the base).
 * Increments o->step. Per element, with t = o->step after the increment:
 *   SGD:   d = g + wd p; b = t == 1 ? d : momentum b + (1 - dampening) d;
 *          d = nesterov ? d + momentum b : b (when momentum > 0); p -= lr d
 *   Adam:  g += wd p; m = beta1 m + (1 - beta1) g; v = beta2 v + (1 - beta2) g^2;
 *          p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 *   AdamW: p *= 1 - lr wd; then Adam without the L2 term. */
void tsf_optim_step(tsf_optim *o, tsf_real *params, const tsf_real *grads, double lr,
                    double grad_scale);

/* "sgd", "adam", "adamw" */
const char *tsf_optim_name(tsf_optim_kind kind);
int tsf_optim_parse(const char *name, tsf_optim_kind *kind); /* 0, or -1 when unknown */

/* ---- Learning-rate schedules ------------------------------------------------------------- */

typedef enum tsf_sched_kind {
    TSF_SCHED_CONSTANT = 0, /* lr = base */
    TSF_SCHED_STEP = 1,     /* lr = base * gamma^floor(epoch / step_size) (StepLR per epoch) */
    TSF_SCHED_COSINE = 2,   /* linear warm-up, then cosine decay to min_lr, per update */
    TSF_SCHED_PLATEAU = 3,  /* ReduceLROnPlateau (mode min, relative threshold) per epoch */
} tsf_sched_kind;

typedef struct tsf_sched_config {
    tsf_sched_kind kind;
    size_t step_size; /* step: epochs between decays (>= 1; default 10) */
    double gamma;     /* step: decay factor in (0, 1] (default 0.1) */
    double warmup;    /* cosine: warm-up length in epochs, may be fractional (default 0) */
    double min_lr;    /* cosine: final lr; plateau: floor (default 0) */
    double factor;    /* plateau: lr multiplier on a plateau, in (0, 1) (default 0.1) */
    size_t patience;  /* plateau: epochs without improvement before reducing (default 10) */
    double threshold; /* plateau: relative improvement that counts (default 1e-4) */
    size_t cooldown;  /* plateau: epochs to wait after a reduction (default 0) */
} tsf_sched_config;

/* Schedule state. Public for checkpoints; only plateau has state that changes. */
typedef struct tsf_sched {
    tsf_sched_config cfg;
    double base_lr;
    double lr;            /* plateau: the current lr */
    double best;          /* plateau: best metric so far (+Inf at start) */
    size_t n_bad;         /* plateau: epochs since the last improvement */
    size_t cooldown_left; /* plateau: epochs of cooldown left */
    size_t n_reductions;  /* plateau: reductions so far */
} tsf_sched;

void tsf_sched_config_init(tsf_sched_config *cfg, tsf_sched_kind kind);
int tsf_sched_config_check(const tsf_sched_config *cfg, tsf_err *err) TSF_WUR;
void tsf_sched_init(tsf_sched *s, const tsf_sched_config *cfg, double base_lr);

/* Learning rate for the update with 0-based global index `step`, made in epoch `epoch`, when an
 * epoch has steps_per_epoch updates and training lasts n_epochs. Cosine: with W =
 * round(warmup * steps_per_epoch) and S = n_epochs * steps_per_epoch,
 *   step < W:  base * (step + 1) / W
 *   else:      min_lr + (base - min_lr) (1 + cos(pi min(1, (step - W) / (S - W)))) / 2. */
double tsf_sched_lr(const tsf_sched *s, size_t epoch, size_t step, size_t steps_per_epoch,
                    size_t n_epochs);

/* End of an epoch with its monitored metric (validation loss, or training loss without
 * validation). Only plateau uses it: improvement means metric < best (1 - threshold); after more
 * than `patience` epochs without one, lr = max(lr factor, min_lr) (skipped when the change is
 * below 1e-8, as PyTorch) and the cooldown starts. NaN counts as no improvement. */
void tsf_sched_epoch_end(tsf_sched *s, double metric);

/* "constant", "step", "cosine", "plateau" */
const char *tsf_sched_name(tsf_sched_kind kind);
int tsf_sched_parse(const char *name, tsf_sched_kind *kind); /* 0, or -1 when unknown */

/* ---- Early stopping ---------------------------------------------------------------------- */

typedef struct tsf_early_stop {
    size_t patience;   /* epochs without improvement before stopping; 0 = off */
    double min_delta;  /* an improvement must beat best by more than this (>= 0) */
    double best;       /* best monitored value so far (+Inf at start) */
    size_t best_epoch; /* 0-based epoch of best */
    size_t n_bad;      /* epochs since best */
    int stop;          /* set when n_bad reached patience */
} tsf_early_stop;

void tsf_early_stop_init(tsf_early_stop *es, size_t patience, double min_delta);

/* Record the monitored value of `epoch`; returns 1 when it is a new best (value < best -
 * min_delta: the caller keeps a copy of the weights), else 0 and counts a bad epoch, setting
 * es->stop once n_bad >= patience (when patience > 0). NaN is never a new best. */
int tsf_early_stop_update(tsf_early_stop *es, size_t epoch, double value);

#ifdef __cplusplus
}
#endif

#endif
