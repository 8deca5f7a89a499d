/* Rolling-origin backtests with pluggable forecasters, leak-free by construction.
 *
 * Folds. Origins come in two kinds (spec->origins):
 *  - TSF_ORIGINS_TIMES: cutoff instants shared by all series, as NeuralForecast's
 *    cross_validation lays them out. The grid is the series' common frequency q from t0, the
 *    earliest first instant of any series: period i is t0 + i periods. Origins are periods
 *        o_k = first_origin + k * stride,  k = 0, 1, ...  while o_k + horizon <= span
 *    (span: the periods from t0 to the latest last instant, cut at `end` periods), and fold k's
 *    cutoff is c_k = t0 + (o_k - 1) periods: the last instant any fit or forecast of fold k
 *    sees, for every series. Series s is forecast at fold k from its first row after c_k
 *    (which must fall in the period after c_k, the fold's origin) over its next horizon rows;
 *    a series without horizon rows after c_k (before `end`) has no forecast at fold k, and a
 *    series with fewer rows at or before c_k than some model needs (tsf_forecaster's
 *    min_history) is skipped there and listed in tsf_backtest.skipped. The series must share
 *    one frequency. first_origin may be given as an instant (first_origin_time: the origin,
 *    the period after the first cutoff), end as an instant (end_time: forecasts are for
 *    instants before it) and train_length as a duration (train_span). Periods step on the
 *    local calendar of the frame's zone (tsf_tz_freq_add: a day is the same local time).
 *  - TSF_ORIGINS_ROWS: row offsets from each series' first row (for series aligned in time,
 *    as wide CSVs and equal-span long CSVs are):
 *        o_k = first_origin + k * stride,  k = 0, 1, ...  while o_k + horizon <= end
 *    A series takes part in fold k when o_k + horizon <= its length (and <= end). Fold k
 *    forecasts rows [o_k, o_k + horizon) of each such series. On series aligned in time
 *    without missing periods both kinds give the same folds.
 *
 * Fits. Fold k is forecast by the model fitted at fold g(k):
 *     retrain = 1 (always): g(k) = k;  retrain = N: g(k) = N * floor(k / N);  retrain = 0
 *     (never): g(k) = 0, one fit, then only forecasts.
 * The fit at fold g sees the rows before o_g (times: at or before c_g) of each series, all of
 * them with an expanding window, the last train_length (rows, or periods with times) with a
 * sliding one. With warm_start the fit at g receives the model state of the previous fit
 * (continue from its weights).
 *
 * Leak-free by construction: every fit and every forecast of fold k receives `hist`, a copy
 * of the frame that holds only the rows before the origin (rows [0, o) of each series, o the
 * fit's or the fold's origin; with times, each series' rows at or before the cutoff).
 * Imputation (impute spec) runs on that copy, the scaler (scale spec) is fitted on its fit
 * rows and applied to it; forecasts are mapped back to the original scale with the fit's
 * scaler. Actuals are read from the full frame by the engine only. Forecasters therefore
 * cannot see a value after the cutoff. Each fold's fit window is recorded (tsf_fold, the
 * layout's rows, and every forecast entry's fit_begin/fit_end and cutoff_time).
 *
 * Layout. tsf_backtest_layout_make computes everything above (folds, fits, the rows of every
 * (fold, series) history and fit window, who is forecast where) before anything runs; the
 * engine only iterates it, and so can a caller that distributes the fits elsewhere.
 *
 * Parallelism: jobs > 1 runs independent fits, then all forecasts, on that many threads.
 * Every result goes to a slot fixed before the run (the forecast entries are created in fold
 * order first), so results are identical to jobs = 1. With warm_start the fits run one after
 * another (each needs the previous), the forecasts still in parallel.
 */
#ifndef TSFLOW_BACKTEST_H
#define TSFLOW_BACKTEST_H

#include <stddef.h>
#include <stdint.h>

#include "tsflow/error.h"
#include "tsflow/forecast.h"
#include "tsflow/frame.h"
#include "tsflow/freq.h"
#include "tsflow/prep.h"
#include "tsflow/scale.h"
#include "tsflow/tz.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What a forecaster sees of one fit or one fold. */
typedef struct tsf_fold_ctx {
    const tsf_frame *hist;    /* rows before the origin only; series s of hist ends at its origin.
                                 Already imputed and scaled as the backtest spec says. */
    const tsf_range *fit;     /* (hist->n_series) rows of hist to fit on (fit calls; in forecast
                                 calls, the rows the state was fitted on, in this hist) */
    const size_t *targets;    /* (n_targets) columns of hist to forecast */
    size_t n_targets;         /* O */
    size_t horizon;           /* L */
    const double *quantiles;  /* (n_quantiles) levels wanted in value slots 1..Q */
    size_t n_quantiles;       /* Q */
    size_t fold;              /* this fold (fit calls: the fold that fits) */
    uint64_t seed;            /* spec seed + fitting fold: for reproducible stochastic fits */
    const tsf_scaler *scaler; /* the fit's scaler that made hist's values, NULL without scaling:
                                 tsf_scaler_to_original gives a forecaster the data's units */
} tsf_fold_ctx;

/* A forecaster: the model side of a backtest (an RNN, a baseline, a plugin).
 * fit: fit on ctx->hist rows ctx->fit, starting from warm (the previous fit's state, only with
 *      warm_start, else NULL; read-only), into a new *state. NULL fit: the forecaster keeps no
 *      state (forecast gets state NULL).
 * forecast: forecast series s from the end of ctx->hist's series s (its origin) into out
 *      (L, O, 1 + Q): out[(l * O + o) * (1 + Q) + p], slot 0 the point forecast, slot 1 + q
 *      quantile q. out arrives filled with NaN; leave NaN what the model does not produce.
 *      state is read-only here.
 * free_state: free a state from fit (may be NULL when states need no freeing).
 * reentrant: 1 when forecast may run concurrently (jobs > 1) on one state; 0 makes the engine
 *      serialise this forecaster's forecast calls with a mutex. fit is never called
 *      concurrently on one forecaster unless reentrant is set. */
typedef struct tsf_forecaster {
    const char *name; /* model name in the forecasts and metrics */
    void *self;       /* the forecaster's configuration; not modified during a backtest */
    int reentrant;
    int (*fit)(void *self, const tsf_fold_ctx *ctx, const void *warm, void **state, tsf_err *err);
    int (*forecast)(void *self, const void *state, const tsf_fold_ctx *ctx, size_t s, double *out,
                    tsf_err *err);
    void (*free_state)(void *self, void *state);
    size_t min_history; /* rows before the origin a forecast needs (0: 1); with time origins
                           a series with fewer is skipped at that cutoff */
} tsf_forecaster;

typedef enum tsf_train_window {
    TSF_WINDOW_EXPANDING = 0, /* fit on all rows before the origin */
    TSF_WINDOW_SLIDING = 1,   /* fit on the last train_length rows before the origin */
} tsf_train_window;

typedef enum tsf_backtest_origins {
    TSF_ORIGINS_ROWS = 0,  /* row offsets from each series' first row */
    TSF_ORIGINS_TIMES = 1, /* cutoff instants shared by all series (needs timestamps) */
} tsf_backtest_origins;

typedef struct tsf_backtest_spec {
    tsf_backtest_origins origins;
    tsf_train_window window;
    size_t train_length;       /* initial training rows (periods with times); the sliding
                                  window's length */
    tsf_freq train_span;       /* times: train_length as a duration ("365D", "12MS"); unit
                                  TSF_FREQ_NONE: use train_length */
    size_t first_origin;       /* offset (periods from t0 with times) of the first origin; 0 =
                                  train_length */
    int has_first_origin_time; /* times: first_origin_time gives the first origin */
    int64_t first_origin_time; /* times: the first origin as an instant on the grid */
    size_t end;                /* forecasts end at or before this offset; 0 = series end */
    int has_end_time;          /* times: end_time gives the end */
    int64_t end_time;          /* times: forecasts are for instants before it */
    size_t stride;             /* rows (periods with times) between origins (>= 1) */
    size_t horizon;            /* L (>= 1) */
    size_t retrain;            /* 1 = always, N = every N folds, 0 = never */
    int warm_start;            /* pass the previous fit's state to the next fit */
    int last_points_only;      /* keep only step L of each forecast */
    size_t jobs;               /* threads; 0 or 1 = run in the calling thread */
    uint64_t seed;             /* passed to fits as seed + fold */
    const size_t *targets;     /* (n_targets) columns to forecast */
    size_t n_targets;
    const double *quantiles; /* (n_quantiles) levels, may be NULL */
    size_t n_quantiles;
    const tsf_impute_spec *impute; /* NULL: no imputation; else applied to every hist */
    const tsf_scale_spec *scale;   /* NULL: no scaling; else fitted per fit, on its fit rows */
} tsf_backtest_spec;

/* Defaults: expanding, stride 1, horizon 1, retrain always, jobs 1, everything else 0/NULL. */
void tsf_backtest_spec_init(tsf_backtest_spec *spec);

typedef struct tsf_fold {
    size_t origin;    /* origin offset o_k (rows; periods from t0 with times) */
    size_t fit_fold;  /* g(k): the fold whose fit forecasts this one */
    size_t fit_begin; /* fit window offsets [fit_begin, fit_end) (of fit g(k)); with times */
    size_t fit_end;   /*   periods from t0 */
    int64_t cutoff;   /* times: c_k, the last instant fold k sees; rows: the latest time of a
                         row before the origin among the series forecast (INT64_MIN: none) */
    size_t n_series;  /* series forecast in this fold */
    size_t n_skipped; /* series skipped for too little history (times only) */
} tsf_fold;

/* A series left out of a fold: it had data after the cutoff, but fewer rows at or before it
 * than a model needs. */
typedef struct tsf_fold_skip {
    size_t fold, series;
    size_t rows; /* its rows at or before the cutoff */
    size_t need; /* the largest min_history of the models */
} tsf_fold_skip;

/* The fold layout: every fold, every fit, and the rows each (fold, series) sees. All row
 * numbers are offsets within their series. */
typedef struct tsf_backtest_layout {
    tsf_backtest_origins origins;
    tsf_freq freq;    /* times: the grid's frequency */
    int64_t t0;       /* times: the grid's period 0 */
    const tsf_tz *tz; /* times: the zone whose calendar the grid steps on (the frame's, from
                         tsf_tz_cached; NULL: UTC) */
    size_t n_folds, n_fits, n_series;
    tsf_fold *folds;     /* (n_folds) */
    size_t *fit_fold;    /* (n_fits) the fold that fits */
    size_t *fold_fit;    /* (n_folds) the fit that forecasts each fold */
    size_t *head;        /* (n_folds, n_series) series s's history at fold k: its first head rows */
    tsf_range *fit;      /* (n_folds, n_series) the fit window in series s of fold k's fit (fit
                            fold_fit[k], made at fold fit_fold[fold_fit[k]]): [begin, end) */
    unsigned char *take; /* (n_folds, n_series) 1 when series s is forecast at fold k, from
                            row head (its first row after the cutoff) */
    tsf_fold_skip *skipped; /* (n_skipped) in (fold, series) order */
    size_t n_skipped;
} tsf_backtest_layout;

/* Lay out the folds of spec over f for forecasters models (their min_history, times only).
 * Errors name the option (first_origin, train_length, origins) and say what was expected. */
int tsf_backtest_layout_make(tsf_backtest_layout **out, const tsf_frame *f,
                             const tsf_backtest_spec *spec, const tsf_forecaster *models,
                             size_t n_models, tsf_err *err) TSF_WUR;
void tsf_backtest_layout_free(tsf_backtest_layout *lay);

typedef struct tsf_backtest {
    size_t n_folds;
    tsf_fold *folds;        /* (n_folds) */
    tsf_fold_skip *skipped; /* (n_skipped) series left out of a fold for too little history */
    size_t n_skipped;
    tsf_forecasts *fc;      /* original scale: one model per forecaster, entries in fold, series
                               order; entry fit_begin/fit_end are frame rows */
    tsf_forecasts *fc_norm; /* the same on each fit's normalized scale (NULL without scale) */
    size_t n_fits;
    size_t *fit_fold;     /* (n_fits) the fold of each fit */
    size_t *fit_rank;     /* (n_fits) the rank that fitted each fit's models and made the
                             forecasts of its folds (tsflow/par.h; all 0 in one process):
                             what a model recorded while fitting is on that rank only */
    tsf_scaler **scalers; /* (n_fits) each fit's scaler, for provenance (NULL without scale) */
} tsf_backtest;

/* Run the backtest of n_models forecasters over frame f. Errors come from the lowest failing
 * fold (deterministic with any jobs), prefixed with the model and fold: `backtest: model
 * "lstm", fold 3 (origin row 11544): ...`. Bad options name the option and the expected range. */
int tsf_backtest_run(tsf_backtest **out, const tsf_frame *f, const tsf_backtest_spec *spec,
                     const tsf_forecaster *models, size_t n_models, tsf_err *err) TSF_WUR;

void tsf_backtest_free(tsf_backtest *bt);

/* The row-offset fold count, for callers that plan before the data is there: span is the
 * rows of the longest series of f, cut at spec->end (tsf_backtest_span); n_folds and n_fits
 * are what a run of spec with row origins over series that long lays out (n_folds 0 when the
 * first origin plus the horizon is past span). spec->horizon and spec->stride must be >= 1.
 * With time origins, tsf_backtest_layout_make gives the exact counts. */
size_t tsf_backtest_span(const tsf_frame *f, const tsf_backtest_spec *spec);
void tsf_backtest_count(const tsf_backtest_spec *spec, size_t span, size_t *n_folds,
                        size_t *n_fits);

/* The history frame of a fold: rows [0, offset) of every series of f (all rows of a series
 * shorter than offset), copied. What tsf_backtest_run hands to forecasters; public so that a
 * predict stage can build the same input. */
int tsf_frame_head(tsf_frame **out, const tsf_frame *f, size_t offset, tsf_err *err) TSF_WUR;

/* The same with a length per series: the first n_rows[s] rows of series s (at most all). */
int tsf_frame_head_rows(tsf_frame **out, const tsf_frame *f, const size_t *n_rows,
                        tsf_err *err) TSF_WUR;

#ifdef __cplusplus
}
#endif

#endif
