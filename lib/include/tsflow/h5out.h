/* Writing HDF5 files that pandas, h5py, xarray (h5netcdf engine) and R open without help.
 *
 * A tsf_h5out is one new HDF5 file, written atomically (tsflow/atomic.h): tsf_h5out_open()
 * creates a temporary beside the target, the writers below fill it, tsf_h5out_commit() closes,
 * fsyncs and renames it into place. tsf_h5out_abort() (and any failed commit) removes the
 * temporary, so a previous file at the path stays as it was.
 *
 * It is tsflow's one HDF5 writer: exports (export.c, export.hdf5, tsf_hdf5_write), training
 * histories, model files and checkpoints (TSF_H5OUT_PLAIN) all write through it.
 *
 * Two layouts, usually side by side in one file:
 *  - tsf_h5out_pandas(): a pandas "fixed"-format frame group that pandas.read_hdf(path, key)
 *    opens (PyTables bookkeeping, axis0/axis1/block<i>_items/block<i>_values; no pickles).
 *  - tsf_h5out_array(): a float64 N-D dataset whose dimensions are HDF5 dimension scales with
 *    coordinate variables, so xarray.open_dataset(path, engine="h5netcdf", group=...) and
 *    h5py see named dimensions; time coordinates carry CF units.
 * Attributes (provenance) go on the root or any object written so far; tsf_h5out_group and
 * tsf_h5out_dataset write plain groups and datasets (a model's weights).
 *
 * Typical use (an export of forecasts):
 *     tsf_h5out *o;
 *     if (tsf_h5out_open(&o, path, err)) return err->code;
 *     rc = tsf_h5out_pandas(o, "forecasts", n, cols, n_cols, 3, err);  // 3 index levels
 *     if (!rc) rc = tsf_h5out_array(o, "cube/forecast", dims, 4, values, err);
 *     if (!rc) rc = tsf_h5out_attr_string(o, "/", "pipeline", text, err);
 *     if (rc) { tsf_h5out_abort(o); return rc; }
 *     return tsf_h5out_commit(o, err);
 *
 * Paths ("key", "cube/forecast") are relative to the root; a leading '/' is accepted.
 * Missing parent groups are created. Writing the same path twice is an error.
 */
#ifndef TSFLOW_H5OUT_H
#define TSFLOW_H5OUT_H

#include <stddef.h>
#include <stdint.h>

#include "tsflow/error.h"
#include "tsflow/freq.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tsf_h5out tsf_h5out;

/* Value types of table columns and coordinates; `data` points to n values of the C type. */
typedef enum tsf_h5_type {
    TSF_H5_FLOAT64 = 0, /* const double *; NaN = missing */
    TSF_H5_INT64 = 1,   /* const int64_t * */
    TSF_H5_TIME = 2,   /* const int64_t *: microseconds since 1970-01-01T00:00:00Z (tsflow/frame.h);
                        * TSF_H5_NAT = missing */
    TSF_H5_STRING = 3, /* const char *const *: NUL-terminated UTF-8; a NULL entry is "" */
    /* Plain datasets only (tsf_h5out_dataset), stored as they are in memory: */
    TSF_H5_FLOAT32 = 4, /* const float * */
    TSF_H5_UINT64 = 5,  /* const uint64_t * */
    TSF_H5_UINT8 = 6,   /* const uint8_t * */
} tsf_h5_type;

/* The missing timestamp (pandas NaT) in TSF_H5_TIME columns. */
#define TSF_H5_NAT INT64_MIN

/* One column of a table: n_rows values of `type` at `data`. */
typedef struct tsf_h5_column {
    const char *name; /* column (or index level) name; NULL only for an unnamed index level */
    tsf_h5_type type;
    const void *data;
    const char *tz; /* TSF_H5_TIME: the zone of a pandas DatetimeIndex (tsflow/tz.h), or NULL */
    /* TSF_H5_TIME row index: the frequency of the DatetimeIndex (pandas' `freq`), or NULL. Give
     * it only when every row is one period after the row before: pandas trusts it unchecked. */
    const tsf_freq *freq;
} tsf_h5_column;

/* One dimension of an array, with its coordinate variable. */
typedef struct tsf_h5_dim {
    const char *name;  /* dimension name = name of its coordinate variable (no '/') */
    size_t size;       /* length along this dimension */
    tsf_h5_type type;  /* type of coord (ignored when coord is NULL) */
    const void *coord; /* (size) coordinate values, or NULL for a dimension without coordinates */
} tsf_h5_dim;

/* Fills buf with the values of rows [row0, row0 + n) along the first dimension: n times the
 * product of the other dimensions' sizes, row-major, NaN for "no value". */
typedef void (*tsf_h5_fill_fn)(void *ctx, size_t row0, size_t n, double *buf);

/* Start a new HDF5 file for path (atomically: nothing appears at path before commit). The
 * root gets the PyTables bookkeeping attributes pandas needs. On failure *out is NULL. */
int tsf_h5out_open(tsf_h5out **out, const char *path, tsf_err *err) TSF_WUR;

/* What a file is for. */
typedef enum tsf_h5out_kind {
    TSF_H5OUT_EXPORT = 0, /* pandas/xarray exports: PyTables' root attributes, 1.8 object format */
    TSF_H5OUT_PLAIN = 1,  /* model files and checkpoints: no PyTables bookkeeping, the earliest
                           * object format (readable by every HDF5 version) */
} tsf_h5out_kind;

/* tsf_h5out_open for a file of the given kind (tsf_h5out_open is TSF_H5OUT_EXPORT). */
int tsf_h5out_open_kind(tsf_h5out **out, const char *path, tsf_h5out_kind kind,
                        tsf_err *err) TSF_WUR;

/* Close the file, fsync it and rename it over path. Frees o whether it succeeds or not; on
 * failure the temporary is removed and the previous file is untouched. */
int tsf_h5out_commit(tsf_h5out *o, tsf_err *err) TSF_WUR;

/* Commit even after the process's cancel flag is set (tsf_atomic_set_cancel_flag): for a
 * checkpoint written because of Ctrl-C. */
void tsf_h5out_commit_when_cancelled(tsf_h5out *o);

/* Close and remove the temporary and free o. NULL is a no-op. */
void tsf_h5out_abort(tsf_h5out *o);

/* Write a table of n_rows rows as a pandas fixed-format frame at group `key`, so that
 * pandas.read_hdf(path, key) returns it. cols[0 .. n_index) form the row index, the others are
 * the frame's columns, in order:
 *   n_index == 0: a plain integer index 0 .. n_rows-1;
 *   n_index == 1: that column is the index (DatetimeIndex for TSF_H5_TIME);
 *   n_index >= 2: a MultiIndex with one level per index column (levels sorted, as pandas makes).
 * Frame columns may be TSF_H5_FLOAT64 (float64), TSF_H5_INT64 (int64) or TSF_H5_TIME
 * (datetime64[ns]); their names must be unique and non-NULL. TSF_H5_STRING is allowed only in
 * the index: pandas' fixed format stores string columns by pickling them, which C cannot write
 * safely, so string columns (series ids, model names) are index levels; df.reset_index() turns
 * them into ordinary columns. Timestamps are written as datetime64[ns] (microseconds * 1000)
 * and must lie within its range (1677-09-21 .. 2262-04-11): an earlier time (yearly data from
 * the 1700s) is an error that names the layouts that hold it (CSV, xarray). Fails with TSF_EINVAL
 * on a bad layout, TSF_ETYPE for a string column outside the index, TSF_EIO when HDF5 fails. */
int tsf_h5out_pandas(tsf_h5out *o, const char *key, size_t n_rows, const tsf_h5_column *cols,
                     size_t n_cols, size_t n_index, tsf_err *err) TSF_WUR;

/* How CF time units store instants t[0..n) (TSF_H5_NAT ignored): TSF_US_PER_S when every one
 * is a whole second (stored as seconds: the units files had before sub-second times), else 1
 * (microseconds). tsf_h5out_time_units(per) is the units text: "seconds since
 * 1970-01-01T00:00:00Z" or "microseconds since 1970-01-01T00:00:00Z". */
int64_t tsf_h5out_time_per(const int64_t *t, size_t n);
const char *tsf_h5out_time_units(int64_t per);

/* Write a float64 array at `path` (e.g. "cube/forecast") with n_dims named dimensions: values
 * is (dims[0].size, ..., dims[n_dims-1].size), row-major, NaN for "no value". The dataset is
 * chunked and compressed (deflate + shuffle). Each dimension becomes an HDF5 dimension scale:
 * the coordinate variable <parent group>/<dims[d].name>, created by the first array of the group
 * that names it and reused (size must match) by later ones. Coordinate types: TSF_H5_FLOAT64,
 * TSF_H5_INT64, TSF_H5_STRING (variable-length UTF-8) or TSF_H5_TIME (int64 with CF
 * units, tsf_h5out_time_units: seconds when every time is a whole second, else microseconds;
 * calendar="proleptic_gregorian"; TSF_H5_NAT is not allowed in coordinates). A dimension with coord
 * NULL is written the way netCDF-4 writes a dimension without a variable. */
int tsf_h5out_array(tsf_h5out *o, const char *path, const tsf_h5_dim *dims, size_t n_dims,
                    const double *values, tsf_err *err) TSF_WUR;

/* Like tsf_h5out_array, but the values come from fill(ctx, ...) in slabs along the first
 * dimension (a few MB at a time), for arrays that are not contiguous in memory. */
int tsf_h5out_array_fill(tsf_h5out *o, const char *path, const tsf_h5_dim *dims, size_t n_dims,
                         tsf_h5_fill_fn fill, void *ctx, tsf_err *err) TSF_WUR;

/* An empty group at path (parents created as needed), for attributes and datasets below it. */
int tsf_h5out_group(tsf_h5out *o, const char *path, tsf_err *err) TSF_WUR;

/* A plain contiguous dataset at path of rank (1 or 2) dimensions dims, holding data in row-major
 * order stored with its own type (any tsf_h5_type but TSF_H5_TIME and TSF_H5_STRING): what
 * h5py's f[path][()] gives back as a numpy array of that dtype. No compression, no object
 * times, so that the same values give the same bytes. */
int tsf_h5out_dataset(tsf_h5out *o, const char *path, tsf_h5_type type, int rank,
                      const size_t *dims, const void *data, tsf_err *err) TSF_WUR;

/* A table of n_rows records at path: one compound dataset (chunked, compressed) that R reads
 * as a data.frame in one call (rhdf5::h5read(file, path), hdf5r's file[[path]][]) and h5py as
 * a structured array. Columns: TSF_H5_FLOAT64 as double; TSF_H5_INT64 as a 32-bit integer when
 * every value fits (R has no 64-bit integers: rhdf5 makes larger ones NA), else as double;
 * TSF_H5_TIME as text "YYYY-MM-DD HH:MM:SS" (UTC, with the fraction digits of the
 * finest time on every row as tsf_csv_write; "" for TSF_H5_NAT), which R turns into times
 * with as.POSIXct(x, tz = "UTC"); TSF_H5_STRING as fixed-length UTF-8. Names must be unique. */
int tsf_h5out_records(tsf_h5out *o, const char *path, size_t n_rows, const tsf_h5_column *cols,
                      size_t n_cols, tsf_err *err) TSF_WUR;

/* Attributes on the object at obj ("/" or "" for the root, else a group or dataset written
 * before). Strings are variable-length UTF-8 (h5py reads them as str); numbers are int64 or
 * float64 scalars, or 1-D arrays of n values (tsf_h5out_attr_doubles_or_scalar: a scalar when n
 * is 1, as a checkpoint's quantiles). An existing attribute of that name is replaced. */
int tsf_h5out_attr_string(tsf_h5out *o, const char *obj, const char *name, const char *value,
                          tsf_err *err) TSF_WUR;
int tsf_h5out_attr_int(tsf_h5out *o, const char *obj, const char *name, int64_t value,
                       tsf_err *err) TSF_WUR;
int tsf_h5out_attr_double(tsf_h5out *o, const char *obj, const char *name, double value,
                          tsf_err *err) TSF_WUR;
int tsf_h5out_attr_ints(tsf_h5out *o, const char *obj, const char *name, const int64_t *v, size_t n,
                        tsf_err *err) TSF_WUR;
int tsf_h5out_attr_doubles(tsf_h5out *o, const char *obj, const char *name, const double *v,
                           size_t n, tsf_err *err) TSF_WUR;
/* A 2-D int64 attribute: v is (n0, n1), row-major. */
int tsf_h5out_attr_ints_2d(tsf_h5out *o, const char *obj, const char *name, const int64_t *v,
                           size_t n0, size_t n1, tsf_err *err) TSF_WUR;
int tsf_h5out_attr_doubles_or_scalar(tsf_h5out *o, const char *obj, const char *name,
                                     const double *v, size_t n, tsf_err *err) TSF_WUR;

/* SOURCE_DATE_EPOCH (https://reproducible-builds.org/specs/source-date-epoch/): the time an
 * export records as its creation when set, so that two runs give the same bytes. *t = the
 * environment variable's seconds since 1970-01-01T00:00:00Z, or -1 when it is unset or empty
 * (then exports record the current time and wall-clock durations). A malformed value is
 * TSF_EINVAL, as the convention asks. */
int tsf_source_date_epoch(int64_t *t, tsf_err *err) TSF_WUR;

/* Path of the file being written (the final path, for messages). */
const char *tsf_h5out_path(const tsf_h5out *o);

#ifdef __cplusplus
}
#endif

#endif
