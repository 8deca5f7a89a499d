/* A forecasting model as the pipeline passes it between stages (TSF_TYPE_MODEL values): a
 * recurrent network (tsflow/rnn.h) together with everything it needs to forecast a frame it has
 * never seen, so that a saved model forecasts later without the pipeline that trained it:
 *   - the loss it was trained with (its quantile levels name the forecast columns);
 *   - the window specification by frame column NAMES (targets, past and known-future
 *     covariates, calendar features, channel independence), not by column positions;
 *   - the scaler of the frame it was trained on, for the columns it reads, also by name, so a
 *     frame in the data's own units is scaled on the way in and forecasts are mapped back;
 *   - per-window instance normalization (tsflow/scale.h's tsf_inorm): each window's last value
 *     or mean of every target is subtracted from the inputs before the network and added back
 *     to its forecasts. Training does the same by subtracting it from the targets, which gives
 *     the same loss (the restore adds a constant) without touching the training loop.
 *
 * Files: tsf_rnn_model_save writes a model file (tsflow/train.h's tsf_network_save, layout in
 * lib/nn/checkpoint.c) with this object's data as /meta entries:
 *     /meta/pipeline        values [layout version 1, inorm, lookback, horizon, calendar flags,
 *                           channel_independent, max_batch]; text: the model's name
 *     /meta/window.targets  text: target column names, one per line
 *     /meta/window.past     text: past covariate names (absent when none)
 *     /meta/window.future   text: known-future covariate names (absent when none)
 *     /meta/scaler          (absent without a scaler) values [kind, pre, per_series, n_groups,
 *                           n_cols, center (n_groups x n_cols), scale (...), lambda (...)];
 *                           text: the scaled column names, one per line
 *     /meta/scaler.series   per-series scalers: the series ids, one per line
 *     /meta/train.recipe    the training recipe (tsf_rnn_model.train), numbers in the order of
 *                           RECIPE_FIELDS in lib/model/rnn_model.c, shards last (absent in
 *                           older files: 0)
 *     /meta/fit             values [chosen (TSF_CHOOSE_* bits), ensemble, calibrate,
 *                           untrained, deseason (tsf_deseason)]: what refits choose from their
 *                           data, and whether the weights were never trained (absent in older
 *                           files: 0, 0, 0, 0, 0; files without deseason: 0, none)
 *     /meta/deseason        (absent: no seasonal adjustment) values [G series, O targets, M
 *                           longest season, anchor (G), kind (G x O), season (G x O), indices
 *                           (G x O x M)]; text: the series ids, one per line
 *                           (tsf_model_seasonal, lib/model/rnn_seasonal.c)
 *     /meta/members         values [n_members] (absent: one network); /meta/member.K
 *                           (K = 1 .. n_members - 1) values: that member's parameters, in the
 *                           network's order (floats stored exactly as doubles)
 *     /meta/calibration     values [per_step, L, O, Q, n_residuals, levels (Q), shifts
 *                           (L x O x Q)] (tsflow/calibrate.h; absent: not calibrated)
 * Training checkpoints (train.h's cfg.checkpoint) carry the same entries, so a checkpoint is
 * also a model file tsf_rnn_model_load reads.
 *
 * The first section below connects a bare network (tsflow/train.h) to windows: a batch source
 * over tsflow/window.h's windows and prediction into a forecast set. They live here, in the
 * model layer, so that the network layer knows nothing of windows or forecasts.
 *
 * Float build only (libtsflow).
 */
#ifndef TSFLOW_RNN_MODEL_H
#define TSFLOW_RNN_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "tsflow/calibrate.h"
#include "tsflow/deseason.h"
#include "tsflow/error.h"
#include "tsflow/forecast.h"
#include "tsflow/frame.h"
#include "tsflow/optim.h"
#include "tsflow/rnn.h"
#include "tsflow/scale.h"
#include "tsflow/train.h"
#include "tsflow/window.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Bare networks on windows ------------------------------------------------------------ */

/* A source over windows w (viewed: w and its frame must outlive src). describe names the
 * series id, the frame row, its time and the frame column of the element. */
void tsf_batch_source_windows(tsf_batch_source *src, const tsf_windows *w);

/* Forecast every sample of windows w with m (dropout off) into forecast set fc as model
 * `model`: window i goes to entry first + i, numbered as tsf_forecasts_add_windows numbers
 * them (channel-independent samples fill their target of their window's entry). Quantile
 * outputs must match fc's levels (see tsf_forecasts_put_yhat). Refuses NaN/Inf inputs naming
 * the element, and windows whose shapes differ from the model's. Float build only (libtsflow).
 */
int tsf_predict_windows(tsf_rnn *m, const tsf_windows *w, size_t batch_size, tsf_forecasts *fc,
                        size_t model, size_t first, tsf_err *err) TSF_WUR;

/* Layout version of the /meta entries above; files with another one are refused. */
#define TSF_RNN_MODEL_META_VERSION 1

/* A scaler's parameters for named columns (what tsf_scaler holds by column position). */
typedef struct tsf_model_scaler {
    tsf_scale_kind kind;
    tsf_scale_pre pre;
    int per_series;  /* 1: one group of parameters per series, matched by series id */
    size_t n_cols;   /* scaled columns the model reads */
    char **cols;     /* (n_cols) their names */
    size_t n_groups; /* 1, or the series of the training frame when per_series */
    char **series;   /* (n_groups) series ids when per_series (NULL otherwise) */
    double *center;  /* (n_groups, n_cols) */
    double *scale;   /* (n_groups, n_cols) */
    double *lambda;  /* (n_groups, n_cols) Box-Cox lambda (NaN unless pre == BOXCOX) */
} tsf_model_scaler;

/* The seasonal indices a trained model removes from its inputs and puts back on its forecasts
 * (tsflow/deseason.h), one set per training series and target. A row's period number k counts
 * periods of its series' frequency from anchor[g], the time of series g's first row in the
 * training frame (tsf_freq_count; without a frequency, steps of the frame's step; without a
 * step, rows from the series' first row), and the row belongs to index[k mod m]: a later frame,
 * or one that starts elsewhere, gets the phase of its own times. */
typedef struct tsf_model_seasonal {
    size_t n_groups;    /* series of the training frame */
    size_t n_targets;   /* the model's targets */
    char **series;      /* (n_groups) their ids ("" for one unnamed series) */
    int64_t *anchor;    /* (n_groups) time of each series' first training-frame row (frame.h's
                         * unit: microseconds since 1970 for timestamps) */
    tsf_seasonal *seas; /* (n_groups, n_targets) */
} tsf_model_seasonal;

typedef struct tsf_rnn_model {
    char *name;    /* the model's name in forecasts and metrics ("lstm") */
    tsf_rnn *rnn;  /* owned */
    tsf_loss loss; /* what it was (or will be) trained with; Q = the network's n_quantiles */
    tsf_inorm inorm;
    size_t lookback, horizon; /* T, L */
    size_t n_targets, n_past, n_future;
    char **targets;           /* (n_targets) frame column names, also the first inputs */
    char **past;              /* (n_past) */
    char **future;            /* (n_future) */
    unsigned calendar;        /* tsf_calendar flags */
    int channel_independent;  /* one sample per (window, target) */
    tsf_model_scaler *scaler; /* NULL: trained on the data's own units */
    /* The training recipe: what the model was trained with (epochs, batch size, seed, shuffle,
     * optimizer, schedule, clipping, early stopping, checkpoint_every, shards), so that it can be
     * refitted elsewhere (a backtest refits it fold by fold). Pointer fields (checkpoint,
     * resume, meta, progress, cancel) are always NULL and loss equals m->loss. Until trained,
     * and for a model file without the recipe: tsf_train_config_init's defaults with the
     * network's max batch as batch size. */
    tsf_train_config train;
    /* TSF_CHOOSE_* bits (tsflow/rnn_forecaster.h): settings that were left to the data, which
     * every refit chooses again from its own windows. */
    unsigned chosen;
    /* Networks a refit trains and combines (tsf_rnn_forecaster_config.ensemble), and whether
     * refits calibrate their quantiles on a held-out tail (.calibrate). */
    size_t ensemble;
    int calibrate;
    /* Seasonal adjustment (tsf_rnn_forecaster_config.deseason): every backtest refit fits it
     * on its rows, a trained model fitted it on its training rows (tsf_rnn_model_deseason). */
    tsf_deseason deseason;
    /* The indices the trained network's inputs were adjusted by (NULL: none): every prediction
     * adjusts its inputs and restores its forecasts with them. */
    tsf_model_seasonal *seasonal;
    /* Nonzero: a recipe whose weights were never trained (train.rnn fit = false), which only a
     * backtest's refits may use; forecasting with it is refused. */
    int untrained;
    /* A trained ensemble: n_members networks, member 0 being rnn, member k (members[k - 1],
     * owned, same configuration) trained with the recipe's seed + k. Forecasts are the median
     * of the members' points and the mean of each quantile level. n_members 0 or 1: rnn alone. */
    size_t n_members;
    tsf_rnn **members; /* (n_members - 1) */
    /* Split conformal calibration of the (combined) quantile forecasts, fitted on validation
     * windows (tsf_rnn_model_calibrate), applied by every forecast; NULL: none. */
    tsf_calibration *calib;
} tsf_rnn_model;

/* A new, untrained model for windows like w: the network's lookback, horizon, inputs, future
 * inputs and outputs come from w, its cell, hidden size, layers, direction, dropout, head and
 * BPTT truncation from arch (arch's shape fields are ignored), its quantiles from loss (Q =
 * loss->n_quantiles). The column names are read from w->frame. scaler (may be NULL) is the
 * scaler w's frame was normalized with: its parameters for the columns the windows read are
 * copied by name. name NULL means the cell's name. Weights are allocated, not initialised
 * (tsf_rnn_model_train draws them). max_batch: as tsf_rnn_alloc. */
int tsf_rnn_model_create(tsf_rnn_model **out, const char *name, const tsf_rnn_config *arch,
                         const tsf_windows *w, const tsf_scaler *scaler, tsf_inorm inorm,
                         const tsf_loss *loss, size_t max_batch, tsf_err *err) TSF_WUR;

void tsf_rnn_model_free(tsf_rnn_model *m); /* NULL is a no-op */

/* Refuse windows that do not fit m: other lookback, horizon, columns (by name, in order),
 * calendar features or channel independence. what ("training", "validation", "predict")
 * starts the message. */
int tsf_rnn_model_check_windows(const tsf_rnn_model *m, const tsf_windows *w, const char *what,
                                tsf_err *err) TSF_WUR;

/* Train m and n - 1 more networks like it, member k with cfg->seed + k (the history, progress
 * and checkpoints are member 0's), each on its own thread; the bits depend on the seeds only.
 * The other members go to m->members. n = 1 is tsf_rnn_model_train. Checkpoints and resume
 * are refused for n > 1 (TSF_EINVAL, naming them). */
int tsf_rnn_model_train_ensemble(tsf_rnn_model *m, size_t n, const tsf_windows *train,
                                 const tsf_windows *val, const tsf_train_config *cfg,
                                 tsf_train_history *hist, tsf_err *err) TSF_WUR;

/* Calibrate m's quantile forecasts (all members combined) on windows val it was not trained
 * on (tsf_calibration_fit): m->calib is replaced; it stays NULL when val holds too few
 * windows, and *why (n bytes, may be NULL) says what was done either way. TSF_EINVAL when m
 * forecasts no quantiles. */
int tsf_rnn_model_calibrate(tsf_rnn_model *m, const tsf_windows *val, char *why, size_t n,
                            tsf_err *err) TSF_WUR;

/* Fit m->seasonal for a model about to be trained on windows `train` (whose frame is on m's
 * scale): per series and target, on the rows the series' training windows span, in the data's
 * units (m's scaler undone), by the rule backtest refits use (tsflow/rnn_forecaster.h's
 * deseason: same decision, same AUTO threshold), with season rows per season, or with 0 the
 * season of each series' frequency (tsf_freq_season; none without one). m->seasonal stays NULL when
 * no series is adjusted. note (n bytes) says what was chosen, as a refit's note does. Errors as
 * tsf_seasonal_fit's (ADD and MULT on data that does not allow them), naming the series and column.
 */
int tsf_rnn_model_deseason(tsf_rnn_model *m, const tsf_windows *train, tsf_deseason mode,
                           size_t season, char *note, size_t n, tsf_err *err) TSF_WUR;

/* Windows w (on m's scale) cut again at the same origins from a copy of w's frame whose targets
 * are seasonally adjusted by m->seasonal: *frame (owned by the caller, freed after *out) and
 * *out. Both NULL when m has no seasonal indices. Errors name a series the indices lack. */
int tsf_rnn_model_adjust_windows(const tsf_rnn_model *m, const tsf_windows *w, tsf_frame **frame,
                                 tsf_windows **out, tsf_err *err) TSF_WUR;

/* Record cfg as m's training recipe without training (what tsf_rnn_model_train records), for a
 * model that only describes how a backtest should fit it at every fold. */
void tsf_rnn_model_set_recipe(tsf_rnn_model *m, const tsf_train_config *cfg);

/* Train m on windows `train`, validating on `val` (NULL: none), with instance normalization as
 * m says. cfg is used as given except that cfg->loss is replaced by m->loss and cfg->meta by
 * m's entries (so checkpoints are model files); cfg->meta must be NULL. m->train becomes cfg
 * (its pointer fields cleared). See tsf_train for the errors. */
int tsf_rnn_model_train(tsf_rnn_model *m, const tsf_windows *train, const tsf_windows *val,
                        const tsf_train_config *cfg, tsf_train_history *hist, tsf_err *err) TSF_WUR;

/* Before resuming training of m on `train` with cfg from the checkpoint cfg->resume: compare
 * the checkpoint's training data (the SHA-256 of the windows' frame and origins, which
 * tsf_rnn_model_train stores as /meta/train.data_sha256) and recipe (/meta/train.recipe: every
 * field but epochs and checkpoint_every, which a resume may change; shards too, which changes
 * the order of the gradient sums and so the bits, not the number of ranks) with this run's. diff
 * (n bytes) receives the differences by name ("lr: the checkpoint 0.003, this run 0.01; ..."),
 * empty when none; *epoch and *batch the checkpoint's cursor (0-based: finished epochs, batches
 * of the next). Errors: the checkpoint cannot be read. */
int tsf_rnn_model_resume_compare(const tsf_rnn_model *m, const tsf_windows *train,
                                 const tsf_train_config *cfg, char *diff, size_t n, size_t *epoch,
                                 size_t *batch, tsf_err *err) TSF_WUR;

/* A forecast set for frame f with m's targets (by name), name and quantile levels (pinball with
 * Q > 1: the levels, whose 0.5 is the point forecast when present), empty. */
int tsf_rnn_model_forecasts_alloc(const tsf_rnn_model *m, const tsf_frame *f, tsf_forecasts **out,
                                  tsf_err *err) TSF_WUR;

/* Forecast every window of w (which must fit m) into entries first .. of fc, model slot `model`,
 * in batches of up to batch_size (0: the network's max batch), dropout off, instance
 * normalization as m says, the members of an ensemble combined, the calibration applied.
 * Values stay on w's frame's scale. Refuses NaN/Inf inputs naming the element. */
int tsf_rnn_model_predict_windows(tsf_rnn_model *m, const tsf_windows *w, size_t batch_size,
                                  tsf_forecasts *fc, size_t model, size_t first,
                                  tsf_err *err) TSF_WUR;

/* m's scaler laid out for frame f (columns found by name, series by id when per series), for
 * tsf_scaler_apply and tsf_forecasts_rescale on f. *out is NULL (and TSF_OK) when m has no
 * scaler. Errors name a scaled column f lacks or a series the scaler has no parameters for. */
int tsf_rnn_model_scaler_for(const tsf_rnn_model *m, const tsf_frame *f, tsf_scaler **out,
                             tsf_err *err) TSF_WUR;

/* The window spec of m resolved against f's columns; *cols receives the malloc'd column index
 * arrays the spec points into (free it after the spec). */
int tsf_rnn_model_window_spec(const tsf_rnn_model *m, const tsf_frame *f, tsf_window_spec *spec,
                              size_t **cols, tsf_err *err) TSF_WUR;

/* Forecast the next horizon rows after the end of every series of f, a frame in the data's own
 * units (not normalized): f is scaled with m's scaler, windows are cut at each series' end, and
 * the forecasts are mapped back to f's units. *out is a new forecast set on the original scale
 * (actuals NaN: the rows lie past the data). A series shorter than the lookback is an error
 * naming it. */
int tsf_rnn_model_forecast(tsf_rnn_model *m, const tsf_frame *f, size_t batch_size,
                           tsf_forecasts **out, tsf_err *err) TSF_WUR;

/* m's data as model-file entries: *meta (n) point into *store, which the caller frees with
 * tsf_rnn_model_meta_free(*meta, n, *store). */
int tsf_rnn_model_meta(const tsf_rnn_model *m, tsf_network_meta **meta, size_t *n, void **store,
                       tsf_err *err) TSF_WUR;
void tsf_rnn_model_meta_free(tsf_network_meta *meta, size_t n, void *store);

/* Write m to path (a model file without training state), atomically. */
int tsf_rnn_model_save(const tsf_rnn_model *m, const char *path, tsf_err *err) TSF_WUR;

/* Read a model file or checkpoint written with m's entries. max_batch 0: the batch size the
 * model was trained with. info (may be NULL) receives what tsf_network_load read (format version,
 * tsflow version, checkpoint history); clear it with tsf_network_info_clear. Errors (TSF_EFORMAT)
 * name the file: not a tsflow model, another format version (saying which versions this tsflow
 * reads), or a model file without the pipeline's entries. */
int tsf_rnn_model_load(tsf_rnn_model **out, const char *path, size_t max_batch,
                       tsf_network_info *info, tsf_err *err) TSF_WUR;

/* "lstm, 2 layers x 64 hidden, bidirectional, recursive head, 12345 parameters" into buf. */
char *tsf_rnn_model_describe(const tsf_rnn_model *m, char *buf, size_t n);

/* ---- The training history in HDF5 ---------------------------------------------------------- */

struct tsf_h5out; /* tsflow/h5out.h */

/* Write history h under group `group` of an HDF5 file being written:
 *   <group>/epochs     pandas frame (pandas.read_hdf(path, "<group>/epochs")), index "epoch"
 *                      (1-based), columns train_loss, val_loss, lr, grad_norm_mean,
 *                      grad_norm_max, n_steps, n_clipped, seconds
 *   <group>/steps      pandas frame, index "step" (1-based update), columns grad_norm (the
 *                      pre-clip global norm) and clipped (0/1)
 *   <group>/grad_flow  float64 (epoch, t): mean ||dLoss/dh_t|| over the epoch's updates for
 *                      lookback step t (0 = the oldest input, T-1 = the last before the
 *                      forecast), with coordinates <group>/epoch and <group>/t (xarray)
 * and attributes on <group>: best_epoch (1-based), stopped_early, restored_best, lookback, and
 * note (what was chosen from the data and how the quantiles were calibrated) when there is one. */
int tsf_train_history_write_h5(struct tsf_h5out *o, const char *group, const tsf_train_history *h,
                               tsf_err *err) TSF_WUR;

/* Write the histories h[0..n) of several fits (a backtest's folds; fold k is h[k], and one
 * without epochs is left out) under `group` as a few long tables rather than a group per fit
 * (HDF5 spends about a kilobyte of headers per object, a dozen per fit):
 *   <group>/epochs     pandas frame indexed by (fold, epoch): the columns of <group>/epochs
 *                      above
 *   <group>/steps      pandas frame indexed by (fold, step): grad_norm, clipped
 *   <group>/fits       pandas frame indexed by fold: n_epochs, best_epoch (1-based),
 *                      stopped_early, restored_best
 *   <group>/grad_flow  float64 (fold, epoch, t), NaN past a fit's last epoch or lookback
 * seconds_nan writes the seconds as NaN (wall-clock times differ from run to run). */
int tsf_train_histories_write_h5(struct tsf_h5out *o, const char *group, const tsf_train_history *h,
                                 size_t n, int seconds_nan, tsf_err *err) TSF_WUR;

#ifdef __cplusplus
}
#endif

#endif
