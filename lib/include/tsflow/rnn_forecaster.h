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
#include "tsflow/deseason.h"
#include "tsflow/error.h"
#include "tsflow/rnn_model.h"
#include "tsflow/train.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Called after every batch of every fit, from the thread that runs the fit; return nonzero to
 * stop (the fit then fails with TSF_ECANCEL). fold is the fitting fold. */
typedef int (*tsf_rnn_fit_progress_fn)(void *user, size_t fold, const tsf_train_progress *p);

/* deseason = auto adjusts a series only while its fit has fewer windows than this. With a few
 * dozen windows a network cannot learn the season and the trend at once, and fixed seasonal
 * indices are decisive (Hewamalage et al. 2021); with hundreds it learns the season itself,
 * including a season that drifts, which indices averaged over the whole fit do not follow. On
 * the measured series (scripts/measure_defaults.py: simulated, statsmodels', the shipped CO2)
 * the indices cut the MASE of the seven simulated series (fits of 13 to 193 windows) by 2-74%
 * and moved statsmodels' quarterly macro series by at most 2%, and raised it by 20-60% on
 * statsmodels' CO2 and El Nino and the Mauna Loa CO2, whose fits have 205 to about 410 windows:
 * 200 is a round number between, chosen on those series. */
#define TSF_RNN_DESEASON_MAX_WINDOWS 200

/* Settings a fit may choose from its data (bits of tsf_rnn_forecaster_config.chosen), by the
 * rules of tsf_rnn_fit_choose. */
enum {
    TSF_CHOOSE_HIDDEN = 1u << 0, /* hidden units */
    TSF_CHOOSE_EPOCHS = 1u << 1, /* the epoch budget */
    TSF_CHOOSE_BATCH = 1u << 2,  /* windows per update */
    TSF_CHOOSE_STOP = 1u << 3,   /* early stopping on a validation tail of the fit's rows */
};

/* What tsf_rnn_fit_choose decided for one fit. */
typedef struct tsf_rnn_fit_choice {
    size_t hidden, epochs, batch_size, patience; /* patience 0: no early stopping */
    char why[640];                               /* one line: what was chosen and why */
} tsf_rnn_fit_choice;

/* The rules for a fit on n_windows training windows (n_val validation windows, 0: none), for
 * the settings in `choose`; the others keep the values in *c
 * (filled by the caller). From first principles, not tuned to any data set:
 *  - hidden: capacity grows with the data as sqrt: the largest power of two <= sqrt(8 n),
 *    within [8, 64] (13 windows: 8; 100: 16; 400: 32; 2000+: 64);
 *  - batch_size: min(32, n), so that a short series still gets several windows per update
 *    and never a batch larger than the data;
 *  - epochs: about 1000 updates (n / batch per epoch), within [30, 300]: small data needs more
 *    passes to fit at all, and early stopping ends them when validation stops improving;
 *  - patience (with validation windows): max(10, epochs / 10).
 * why reads like "hidden 16 (sqrt rule, 100 windows), batch 32, epochs 250 (~1000 updates),
 * early stopping after 25 epochs without progress on 10 validation windows". */
void tsf_rnn_fit_choose(unsigned choose, size_t n_windows, size_t n_val, tsf_rnn_fit_choice *c);

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
    /* TSF_CHOOSE_* bits: settings every fit chooses from its own windows (tsf_rnn_fit_choose)
     * instead of taking them from arch and train. With TSF_CHOOSE_STOP a fit holds out the last
     * windows of every series (their targets after all training targets: about 10% of the
     * windows, at least one), trains with early stopping on them, then trains a fresh network
     * on all windows for the best epoch count: the most recent rows matter most to a forecast.
     * A fit too short for a held-out tail trains the fixed epochs (and says so in its note).
     * With warm start the hidden size stays arch's. */
    unsigned chosen; /* the choice goes to the note of the fit's history (histories above) */
    /* Networks per fit (0 and 1: one; at most 64): member k trains with the fit's seed + k, all
     * on their own threads, and a forecast is the median of the members' point forecasts and
     * the mean of each quantile level. The bits depend on the seeds only, not on threads. */
    size_t ensemble;
    /* Nonzero: calibrate the quantile forecasts by split conformal prediction
     * (tsflow/calibrate.h) on the held-out tail: the networks trained before the tail (one per
     * member) forecast its windows, the combined forecasts against the actuals give the
     * shifts, and every forecast of the fit gets them. A fit holds out the tail for this even
     * without TSF_CHOOSE_STOP (then its final training keeps train.epochs). Needs a pinball
     * loss with quantile levels (tsf_rnn_forecaster_check); the note says what was shifted. */
    int calibrate;
    /* Seasonal adjustment (tsflow/deseason.h): every fit fits seasonal indices per series and
     * target on its fit rows, in the data's units (ctx->scaler undone), trains on the adjusted
     * series and puts the season back on its forecasts (points and quantiles; calibration, when
     * asked, happens on the adjusted scale before). AUTO decides per series by the rule of
     * tsflow/deseason.h, and leaves a series alone when its fit has at least
     * TSF_RNN_DESEASON_MAX_WINDOWS windows; the fit's note says what was chosen. NONE (the
     * zero value): off. */
    tsf_deseason deseason;
    size_t season; /* rows per season for deseason (0 or 1: none) */
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
