/* Exporting forecasts, metrics and backtest provenance: the long forecast table (CSV, and a
 * pandas frame in HDF5), the forecast cube for xarray and h5py, the metrics table with skill
 * scores, the fold table and scaler parameters. What export.hdf5 and export.csv write.
 *
 * The long forecast table, one row per (series, origin, step, target):
 *     index levels  series (string), origin (time), step (1-based), target (string)
 *     columns       timestamp (the forecast row's time), cutoff (last time the forecast
 *                   saw), fold, actual, then per model its point forecast "<model>" and
 *                   quantile forecasts "<model>_q<level>"
 * Strings are index levels because pandas' fixed HDF5 format stores string columns only by
 * pickling them (tsflow/h5out.h): pandas.read_hdf(path, "forecasts").reset_index() gives the
 * flat table, which is also the CSV's layout (same columns, same order). Times are
 * datetime64[ns] in pandas and "YYYY-MM-DD HH:MM:SS" (UTC) in CSV; with a zone (fc->tz)
 * datetime64[ns, tz] (pandas' own tz attributes) and local times with their offset in CSV
 * ("2021-03-28 03:00:00+02:00", as pandas' to_csv writes); integer-indexed frames give int64.
 * NaN (an empty CSV field) means "no value".
 *
 * The cube, in an HDF5 group (default "cube") that xarray.open_dataset(path, engine="h5netcdf",
 * group="cube") opens with named dimensions:
 *     forecast (model, target, series, origin, step, quantile)  NaN where there is no forecast
 *     actual   (target, series, origin, step)
 *     quantile_level (quantile)   NaN for the point forecast
 * coordinates model, target and series (strings), origin (time: int64 seconds with CF units
 * "seconds since 1970-01-01T00:00:00Z", or microseconds when a time is not a whole second,
 * decoded by xarray, and the zone in a "tz" attribute),
 * step (int64) and quantile (strings: "point", then "q0.1", "q0.5", ... as in the long table's
 * column names), and valid_time (origin, step), the time of each value: origin + step - 1
 * periods on the zone's local calendar.
 *
 * The metrics table, one row per tsf_metric_row:
 *     index levels  model, target ("all" for the pooled row), scale ("original" or
 *                   "normalized"), by ("all", "step", "series", "fold"), key (the step,
 *                   series index or fold; 0 for "all")
 *     columns       cutoff (rows by fold: the fold's cutoff, as in the fold table, the latest
 *                   over its series with row origins; NaT for the other groupings, -1 for
 *                   integer-indexed frames; zone-aware with a zone), count, mae, mse, rmse,
 *                   mape, smape, mase, pinball, coverage, then for
 *                   every reference model present (by default the baselines naive, snaive,
 *                   drift, mean, ets and theta)
 *                   skill_mae_<ref> = 1 - MAE / MAE(ref) and skill_mse_<ref> = 1 - MSE /
 *                   MSE(ref) of the same target, scale, grouping and key (positive: better
 *                   than the reference; NaN where the reference has no such row)
 *
 * The fold table ("folds"), one row per forecast entry (series, fold): index levels series
 * and fold, columns origin, cutoff, fit_start and fit_end (times of the first and last row the
 * model and scaler were fitted on; NaT when unknown), fit_rows, origin_row.
 */
#ifndef TSFLOW_EXPORT_H
#define TSFLOW_EXPORT_H

#include <stddef.h>
#include <stdint.h>

#include "tsflow/backtest.h"
#include "tsflow/error.h"
#include "tsflow/forecast.h"
#include "tsflow/h5out.h"
#include "tsflow/metrics.h"
#include "tsflow/scale.h"
#include "tsflow/train.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- A backtest's record (the pipeline's TSF_TYPE_BACKTEST value) ------------------------ */

typedef struct tsf_bt_record {
    tsf_backtest *bt;   /* owned: folds, fits, each fit's scaler, the normalized forecasts;
                           bt->fc is NULL (the forecasts travel as their own value) */
    uint64_t seed;      /* the backtest's seed: the fit at fold g trains with seed + g */
    size_t n_cols;      /* columns of the frame backtested */
    char **col_names;   /* (n_cols) their names (the scalers' columns are indices) */
    char *description;  /* one line: window, lengths, stride, retraining, models */
    size_t n_histories; /* folds */
    tsf_train_history *histories; /* (n_histories) training history of the first model's fit
                                     made at each fold (empty where no fit was made), or NULL */
} tsf_bt_record;

void tsf_bt_record_free(tsf_bt_record *r); /* NULL is a no-op */

/* ---- The metrics table ------------------------------------------------------------------- */

typedef struct tsf_metrics_cols {
    size_t n_rows;
    const char **model;           /* (n_rows) point into the metrics table */
    const char **target;          /* (n_rows) target name or "all" */
    const char **scale;           /* (n_rows) "original" or "normalized" */
    const char **by;              /* (n_rows) "all", "step", "series", "fold" */
    int64_t *key;                 /* (n_rows) */
    int64_t *cutoff;              /* (n_rows) the row's cutoff (tsf_metric_row) */
    int64_t *count;               /* (n_rows) */
    double *value[TSF_N_METRICS]; /* (n_rows) each, in tsf_metric order */
    size_t n_skill;               /* 2 per reference present */
    char **skill_names;           /* (n_skill) "skill_mae_naive", "skill_mse_naive", ... */
    double **skill;               /* (n_skill) columns of n_rows */
} tsf_metrics_cols;

/* The metrics table as columns, with skill against the reference models refs[0..n_refs) that
 * the table holds (refs NULL: the baselines by name, naive, snaive, drift, mean, ets, theta). mt
 * must outlive the columns. */
int tsf_metrics_cols_make(tsf_metrics_cols **out, const tsf_metrics *mt, const char *const *refs,
                          size_t n_refs, tsf_err *err) TSF_WUR;
void tsf_metrics_cols_free(tsf_metrics_cols *c);

/* ---- CSV --------------------------------------------------------------------------------- */

/* The long forecast table as CSV (atomically; numbers with 17 significant digits at most, the
 * shortest that reads back exactly; NaN as an empty field; fields quoted when needed). With the
 * data the forecasts were made from (data not NULL), a last column "implausible", True or False
 * (which pandas.read_csv reads as booleans): whether a value of the row (any model or quantile)
 * lies far outside anything the data supports (tsf_forecasts_implausible_rows; False for
 * forecasts in normalized units, which are not judged). *bad, when not NULL, gets the summary. */
int tsf_forecasts_write_csv(const tsf_forecasts *fc, const tsf_frame *data, const char *path,
                            tsf_fc_implausible *bad, tsf_err *err) TSF_WUR;

/* The metrics table as CSV, flat: model,target,scale,by,key,cutoff,count,mae,...,skill columns
 * (cutoff as the forecasts CSV writes times; empty when the row has none). */
int tsf_metrics_write_csv(const tsf_metrics *mt, const char *const *refs, size_t n_refs,
                          const char *path, tsf_err *err) TSF_WUR;

/* ---- HDF5 (into a file being written with tsflow/h5out.h) ------------------------------- */

/* The long table as pandas frame `key` and, when cube_group is not NULL, the cube in that
 * group. */
int tsf_forecasts_write_h5(tsf_h5out *o, const tsf_forecasts *fc, const char *key,
                           const char *cube_group, tsf_err *err) TSF_WUR;

/* The metrics table as pandas frame `key`. */
int tsf_metrics_write_h5(tsf_h5out *o, const tsf_metrics *mt, const char *const *refs,
                         size_t n_refs, const char *key, tsf_err *err) TSF_WUR;

/* The fold table of fc's entries as pandas frame `key` (its cutoff column: the fold's cutoff
 * shared by all series with time origins, else the series' last row before the origin), and
 * on object `obj` (e.g. "/") the (series, fold) attributes fold_origin, fold_fit_start,
 * fold_fit_end, fold_cutoff (int64 seconds since the epoch, or row indices for integer-indexed
 * frames; -1 when unknown or the series has no forecast in the fold) and fold_fit_rows, with
 * fold_series naming the rows, fold_tz the zone (when the frame has one), and "folds", the same
 * as text lines (times in the zone, with offsets). Times in the table are zone-aware with one. */
int tsf_folds_write_h5(tsf_h5out *o, const tsf_forecasts *fc, const char *key, const char *obj,
                       tsf_err *err) TSF_WUR;

/* Scaler parameters as attributes of obj: scaler_kind, scaler_transform (strings),
 * scaler_columns (column names, one per line), scaler_shape (int64 [n, groups, columns]),
 * scaler_center, scaler_scale and scaler_lambda (float64, n x groups x columns, row-major:
 * scaler i, group g, column k), for scalers[0..n) fitted alike (a backtest's fits, or n = 1).
 * col_names are the names of the frame's columns. */
int tsf_scalers_write_h5(tsf_h5out *o, const char *obj, const tsf_scaler *const *scalers, size_t n,
                         const char *const *col_names, tsf_err *err) TSF_WUR;

#ifdef __cplusplus
}
#endif

#endif
