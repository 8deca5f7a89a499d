/* A recurrent network as a backtest forecaster (tsflow/backtest.h): every fit trains a fresh
 * network (or, with warm start, continues from the previous fit's weights) on the windows of
 * the fold's history, and every forecast runs it on the last `lookback` rows before the
 * origin. Built on tsflow/rnn_model.h (instance normalization, window columns by name) and
 * tsflow/train.h (the training loop).
 *
 * Leak-free: the backtest hands fit and forecast a copy of the rows before the origin only
 * (already imputed and scaled as the backtest spec says); the training windows are cut from
 * that copy's fit rows, so no target of a training window lies at or after the origin.
 *
 * Determinism: the fit of fold g trains with seed ctx->seed (the backtest seed + g), so the
 * result of every fit does not depend on the order fits run in: jobs = 2 gives the same bits
 * as jobs = 1. Fits of different folds run concurrently (each has its own network); forecasts
 * from one fitted network are serialised by a lock in its state (the network's workspaces are
 * not shared), so the forecaster is reentrant.
 *
 * Warm start: the network of fit g starts from the weights of fit g-1 (optimizer moments and
 * the schedule start afresh, as a new training run on the fold's data would).
 *
 * Known-future covariates are refused: a backtest's history ends at the origin, so their values
 * over the horizon are not in it.
 *
 * Float build only (libtsflow).
 */
#ifndef TSFLOW_RNN_FORECASTER_H
#define TSFLOW_RNN_FORECASTER_H

#include <stddef.h>

#include "tsflow/backtest.h"
#include "tsflow/error.h"
#include "tsflow/rnn_model.h"
#include "tsflow/train.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Called after every batch of every fit, from the thread that runs the fit; return nonzero to
 * stop (the fit then fails with TSF_ECANCEL). fold is the fitting fold. */
typedef int (*tsf_rnn_fit_progress_fn)(void *user, size_t fold, const tsf_train_progress *p);

typedef struct tsf_rnn_forecaster_config {
    const char *name;        /* model name in forecasts and metrics (default: the cell's name) */
    tsf_rnn_config arch;     /* cell, hidden, n_layers, bidirectional, dropout, head, bptt_steps;
                                the shape fields come from the windows and are ignored here */
    tsf_loss loss;           /* pinball with Q > 1: quantile forecasts (the backtest's levels must
                                be the same) */
    tsf_inorm inorm;         /* per-window instance normalization */
    tsf_train_config train;  /* epochs, batch size, optimizer, schedule, clipping, early stopping;
                                seed is replaced by the fold's seed; checkpoint, resume and meta
                                must be unset; progress and cancel are replaced (below) */
    size_t lookback;         /* T */
    size_t stride;           /* rows between training windows (0 is taken as 1) */
    const size_t *past_cols; /* (n_past) past covariate columns of the backtest frame */
    size_t n_past;
    unsigned calendar;                /* tsf_calendar flags (needs timestamps) */
    int channel_independent;          /* one sample per (window, target) */
    tsf_rnn_fit_progress_fn progress; /* may be NULL */
    void *progress_user;
    /* Filled by fits when not NULL: the training history of the fit made at fold g goes to
     * histories[g] (n_histories entries, each initialised by the caller with
     * tsf_train_history_init; fits of folds >= n_histories keep none). */
    tsf_train_history *histories;
    size_t n_histories;
} tsf_rnn_forecaster_config;

/* Defaults: LSTM, 32 hidden, 1 layer, direct head, MSE, no instance normalization,
 * tsf_train_config_init's training, lookback 1, stride 1. */
void tsf_rnn_forecaster_config_init(tsf_rnn_forecaster_config *cfg);

/* The architecture, loss, instance normalization, lookback, past covariates (found by name in
 * f: *cols receives the malloc'd column array cfg->past_cols points into; free it after the
 * backtest), calendar features, channel independence and name of model m, e.g. a model that
 * train.rnn trained or model.load read, so that a backtest refits the same recipe fold by fold.
 * cfg->train is left as it is. Refuses a model with known-future covariates, and a frame that
 * lacks one of its columns (naming it). */
int tsf_rnn_forecaster_config_from_model(tsf_rnn_forecaster_config *cfg, const tsf_rnn_model *m,
                                         const tsf_frame *f, size_t **cols, tsf_err *err) TSF_WUR;

/* Check cfg (the network, the loss, the training settings) without training: TSF_EINVAL with
 * a message naming the setting. */
int tsf_rnn_forecaster_check(const tsf_rnn_forecaster_config *cfg, tsf_err *err) TSF_WUR;

/* Fill *out: a reentrant forecaster whose self is cfg (which must outlive the backtest). */
void tsf_rnn_forecaster(tsf_forecaster *out, const tsf_rnn_forecaster_config *cfg);

#ifdef __cplusplus
}
#endif

#endif
