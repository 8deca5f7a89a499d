/* Forecast sets: what the predict stage, the baselines and the backtest produce, and what the
 * metrics and the HDF5/CSV export read.
 *
 * A forecast set is a list of entries. An entry is one forecast origin of one series: the
 * series, the origin row (window.h's meaning: the first forecast row), the backtest fold and
 * the rows the model was fitted on. Each entry holds, for its stored steps,
 *     time   (n_steps)                timestamps (or index values) of the forecast rows
 *     actual (n_steps, O)             observed target values, NaN where unknown
 *     value  (n_steps, O, M, P)       forecasts: M models, P = 1 + Q values each
 * where O is the number of target columns, M the number of named models and value slot
 * p = 0 is the point forecast and p = 1 + q the forecast of quantile level quantiles[q]. A
 * value a model did not produce is NaN (a point-only model has NaN quantiles).
 *
 * Steps: a forecast has horizon L (steps 1..L). Normally all L steps are stored (step0 = 1,
 * n_steps = L); with last_points_only only step L is (step0 = L, n_steps = 1).
 *
 * The two views export needs, both without copying:
 *  - long table (pandas): one row per (entry, stored step, target), i.e.
 *        series id, origin, cutoff, timestamp, step, target, actual, then M x P value columns
 *    named by tsf_forecasts_column_name ("naive", "lstm", "lstm_q0.1", ...). value is laid
 *    out so that the M x P values of one row are contiguous: row i = (e, k, o) is
 *    value + ((e * n_steps + k) * O + o) * M * P.
 *  - cube (xarray): per model and target, forecast[series, origin, step, quantile] with NaN
 *    where a series has no forecast at an origin. tsf_forecasts_origins gives the sorted
 *    distinct origin times (the cube's origin coordinate) and each entry's position on it;
 *    tsf_forecasts_cube fills the cube of one (model, target).
 *
 * Threads: adding entries reallocates; putting values into distinct entries from several
 * threads is safe once all entries exist (the backtest creates them first).
 *
 * Origin and cutoff: origin_time is the time of the first forecast row (row origin_row);
 * cutoff_time is the time of the last row the forecast could see (origin_row - 1), which
 * statsforecast and sktime call the cutoff. Both are stored.
 */
#ifndef TSFLOW_FORECAST_H
#define TSFLOW_FORECAST_H

#include <stddef.h>
#include <stdint.h>

#include "tsflow/error.h"
#include "tsflow/frame.h"
#include "tsflow/scale.h"
#include "tsflow/window.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tsf_fc_scale {
    TSF_FC_ORIGINAL = 0,   /* the data's own units */
    TSF_FC_NORMALIZED = 1, /* a scaler's output (the ETT protocol scores here) */
} tsf_fc_scale;

typedef struct tsf_fc_entry {
    size_t series;       /* series index in the frame (and in series_ids) */
    size_t origin_row;   /* frame row of the first forecast step (may be past the data) */
    int64_t origin_time; /* time of that row (continuing the frame's step past the data) */
    int64_t cutoff_time; /* time of row origin_row - 1, the last row the model could see */
    size_t fold;         /* backtest fold, 0 outside backtests */
    size_t fit_begin;    /* frame rows the model (and scaler) were fitted on: */
    size_t fit_end;      /*   [fit_begin, fit_end), fit_end <= origin_row; 0, 0 if unknown */
} tsf_fc_entry;

typedef struct tsf_forecasts {
    size_t n_models;     /* M */
    char **models;       /* (M) model names, owned */
    size_t n_targets;    /* O */
    char **targets;      /* (O) target column names, owned */
    size_t *target_cols; /* (O) their columns in the frame the forecasts were made from */
    size_t n_quantiles;  /* Q, may be 0 */
    double *quantiles;   /* (Q) increasing levels in (0, 1) */
    size_t n_values;     /* P = 1 + Q */
    size_t horizon;      /* L */
    size_t step0;        /* first stored step (1-based) */
    size_t n_steps;      /* stored steps: step0 .. step0 + n_steps - 1 */
    size_t n_series;     /* S, as in the frame */
    char **series_ids;   /* (S) owned copies, or NULL for unnamed series (ids "0", "1", ...) */
    tsf_time_kind time_kind;
    int64_t time_step; /* the frame's step */
    tsf_freq freq;     /* the frame's frequency (TSF_FREQ_NONE: steps of time_step) */
    char *tz;          /* the frame's zone (tsflow/tz.h), owned, or NULL: exports show the
                          instants in it */
    tsf_fc_scale scale;

    size_t n_entries; /* E */
    size_t capacity;
    tsf_fc_entry *entry; /* (E) */
    int64_t *time;       /* (E, n_steps) */
    double *actual;      /* (E, n_steps, O) */
    double *value;       /* (E, n_steps, O, M, P) */
} tsf_forecasts;

/* A new empty forecast set for frame f: targets are frame columns (n_targets), models are
 * names (n_models, distinct), quantiles are levels (n_quantiles, increasing, in (0, 1); NULL
 * when 0). last_points_only keeps only step `horizon`. Errors name the bad argument. */
int tsf_forecasts_alloc(tsf_forecasts **out, const tsf_frame *f, const size_t *target_cols,
                        size_t n_targets, const char *const *models, size_t n_models,
                        const double *quantiles, size_t n_quantiles, size_t horizon,
                        int last_points_only, tsf_err *err) TSF_WUR;

void tsf_forecasts_free(tsf_forecasts *fc);

/* Forecasts far outside anything the data supports: a value (of any model or quantile) beyond
 * its target's range in the frame widened on each side by TSF_FC_IMPLAUSIBLE_SPANS times the
 * range's width (by 1 for a constant column). A series living in 37-63 is judged implausible
 * below -223 or above 323: no trend in its data reaches there within a horizon; a diverged
 * model does. Targets are found in f by name; forecasts in normalized units are not judged. */
#define TSF_FC_IMPLAUSIBLE_SPANS 10.0
typedef struct tsf_fc_implausible {
    size_t n;                  /* values outside their bounds, over all targets */
    size_t n_judged;           /* values judged (finite, of a target f holds) */
    const char *target;        /* the target of the farthest one (fc's string), or NULL */
    double worst;              /* that value */
    double data_min, data_max; /* its target's range in f */
    double lo, hi;             /* and the bounds it broke */
} tsf_fc_implausible;
void tsf_forecasts_implausible(const tsf_forecasts *fc, const tsf_frame *f,
                               tsf_fc_implausible *out);
/* The same, also marking in rows (E, n_steps, O), when not NULL, the rows of the long table
 * (tsflow/export.h: entry, step, target) holding such a value with 1, the others with 0. */
void tsf_forecasts_implausible_rows(const tsf_forecasts *fc, const tsf_frame *f,
                                    unsigned char *rows, tsf_fc_implausible *out);

/* Deep copy (e.g. to rescale one copy and keep the other). */
int tsf_forecasts_copy(tsf_forecasts **out, const tsf_forecasts *fc, tsf_err *err) TSF_WUR;

/* Append an entry for series s of f at origin_row (first forecast row; rows past the series
 * end are allowed and have NaN actuals), from fold `fold`, fitted on rows [fit_begin, fit_end)
 * (0, 0 when unknown). Times and actuals are read from f; values start as NaN. f must be the
 * frame (or a same-shaped frame) the set was allocated for. *entry (may be NULL) receives the
 * entry index. */
int tsf_forecasts_add(tsf_forecasts *fc, const tsf_frame *f, size_t s, size_t origin_row,
                      size_t fold, size_t fit_begin, size_t fit_end, size_t *entry,
                      tsf_err *err) TSF_WUR;

/* Store model m's forecast of entry e from a full-horizon block (L, O, P) (block[(l * O + o)
 * * P + p], step l + 1), keeping the stored steps only. NaN in the block means "no value". */
void tsf_forecasts_put(tsf_forecasts *fc, size_t e, size_t m, const double *block);

/* The same from a network output tensor: yhat (L, B, O_net*Q_net) as rnn.h writes it
 * (yhat[l][b][o*Q_net + q]), sample b, written to targets [target0, target0 + O_net) of the
 * entry: O_net = O, target0 = 0 for ordinary windows; O_net = 1, target0 = the sample's target
 * for channel-independent windows (tsf_windows_sample_info). Q_net == 1: the point forecast.
 * Q_net > 1: the network's levels must be fc->quantiles (Q_net == Q); the point forecast is
 * the 0.5 quantile when it is one of them, else NaN. Values are converted to double. */
void tsf_forecasts_put_yhat(tsf_forecasts *fc, size_t e, size_t m, const float *yhat, size_t B,
                            size_t b, size_t O_net, size_t Q_net, size_t target0);

/* Append one entry per window of w (window i becomes entry *first + i; samples of
 * channel-independent windows share their window's entry), fold 0, fit rows unknown. fc's
 * targets and horizon must be w's. The frame is w->frame. */
int tsf_forecasts_add_windows(tsf_forecasts *fc, const tsf_windows *w, size_t *first,
                              tsf_err *err) TSF_WUR;

/* Pointer to the P values of (entry e, stored step k, target o, model m). */
static inline double *tsf_forecasts_at(const tsf_forecasts *fc, size_t e, size_t k, size_t o,
                                       size_t m)
{
    return fc->value +
           (((e * fc->n_steps + k) * fc->n_targets + o) * fc->n_models + m) * fc->n_values;
}

/* Map actuals and values between scales in place with scaler s (fitted on the frame the
 * entries come from): to_original = 1 applies tsf_scaler_to_original, 0 tsf_scaler_to_scaled,
 * and sets fc->scale. Fails when the set is already on the requested scale. */
int tsf_forecasts_rescale(tsf_forecasts *fc, const tsf_scaler *s, int to_original,
                          tsf_err *err) TSF_WUR;

/* Column name of value slot p of model m in the long table: the model name for p = 0,
 * "<model>_q<level>" (level printed with %g: "lstm_q0.1") for quantiles. Returns buf. */
char *tsf_forecasts_column_name(const tsf_forecasts *fc, size_t m, size_t p, char *buf, size_t n);

/* The cube's origin axis: the distinct origin times of all entries, increasing, into
 * *times (malloc'd, *n_origins of them), and each entry's index on that axis into
 * entry_origin (caller-provided, n_entries; may be NULL). */
int tsf_forecasts_origins(const tsf_forecasts *fc, int64_t **times, size_t *n_origins,
                          size_t *entry_origin, tsf_err *err) TSF_WUR;

/* Fill the cube of model m, target o: out (S, n_origins, n_steps, P), NaN where no entry.
 * entry_origin as returned by tsf_forecasts_origins. Entries that share (series, origin) (two
 * folds forecasting the same origin) are written in entry order, the last one wins. */
void tsf_forecasts_cube(const tsf_forecasts *fc, size_t m, size_t o, const size_t *entry_origin,
                        size_t n_origins, double *out);

/* The same for the actuals: out (S, n_origins, n_steps), NaN where no entry. */
void tsf_forecasts_cube_actual(const tsf_forecasts *fc, size_t o, const size_t *entry_origin,
                               size_t n_origins, double *out);

/* The long table as columns, ready for tsflow/h5out.h's tsf_h5out_pandas and for CSV: one row
 * per (entry, stored step, target), in entry order. String columns point into the table or
 * the forecast set (which must outlive the table). */
typedef struct tsf_fc_table {
    size_t n_rows;
    const char **series;  /* (n_rows) series id ("0", "1", ... for unnamed series) */
    int64_t *origin;      /* (n_rows) origin_time of the entry */
    int64_t *cutoff;      /* (n_rows) cutoff_time of the entry */
    int64_t *time;        /* (n_rows) timestamp of the forecast row */
    int64_t *step;        /* (n_rows) 1-based horizon step */
    int64_t *fold;        /* (n_rows) backtest fold */
    const char **target;  /* (n_rows) target column name */
    double *actual;       /* (n_rows) NaN when unknown */
    size_t n_value_cols;  /* M * P */
    char **value_names;   /* (n_value_cols) tsf_forecasts_column_name of (m, p), m-major */
    double **values;      /* (n_value_cols) columns of n_rows forecasts */
    char **series_labels; /* owned labels of unnamed series, or NULL */
} tsf_fc_table;

int tsf_forecasts_table(tsf_fc_table **out, const tsf_forecasts *fc, tsf_err *err) TSF_WUR;
void tsf_fc_table_free(tsf_fc_table *t);

/* Index of the model called name, or SIZE_MAX. */
size_t tsf_forecasts_model_index(const tsf_forecasts *fc, const char *name);

#ifdef __cplusplus
}
#endif

#endif
