/* tsf_hdf5_write: a frame as one HDF5 file that pandas, h5py and xarray open, built on the
 * writer of tsflow/h5out.h. For key K (default "data") the file holds:
 *
 *   /K       a pandas fixed-format frame: pandas.read_hdf(path, "K").
 *            One series: index = the time column (DatetimeIndex for timestamps, zone-aware
 *            with pandas' own "tz" attribute when the frame has a zone; int64 for a plain index),
 * named after the source's time column when it had one; one float64 column per frame column.
 *            Several series (long layout): a MultiIndex (id, time); the id level is named after
 *            the source's id column (default "id"). df.reset_index() gives the long table, and
 *            df.loc["A"] one series. (String columns would be pickled by pandas; index levels
 *            are not.)
 *   /K_xr    for h5py and xarray.open_dataset(path, engine="h5netcdf", group="K_xr"):
 *            values(time, column), or values(series, time, column) for several series, float64
 *            with NaN where a series has no row at a time; coordinate variables time (int64
 *            with CF units: "seconds since 1970-01-01T00:00:00Z" when every time is a whole
 *            second, else "microseconds since ..."; the frame's zone in a
 *            "tz" attribute when it has one; plain int64 for an integer
 *            index; the sorted union over all series), column and series (strings), attached as
 *            HDF5 dimension scales.
 *   /        attribute tsflow_version.
 *
 * tsf_hdf5_read(path, "K") reads /K back (and "K_xr/values" for one series).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tsflow/h5out.h"
#include "tsflow/io.h"
#include "tsflow/tz.h"
#include "core.h"

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Fills values(series, time, column) slabs from the frame's columns. */
typedef struct cube_fill {
    const tsf_frame *f;
    const int64_t *times; /* (n_times) sorted union of the frame's timestamps */
    size_t n_times;
} cube_fill;

/* Index of t in the sorted times, or (size_t)-1. */
static size_t find_time(const cube_fill *c, int64_t t)
{
    size_t lo = 0, hi = c->n_times;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->times[mid] < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < c->n_times && c->times[lo] == t ? lo : (size_t)-1;
}

/* One series: rows of (time, column) are the frame's rows. buf: (n, n_cols) */
static void fill_wide(void *ctx, size_t row0, size_t n, double *buf)
{
    const cube_fill *c = ctx;
    const tsf_frame *f = c->f;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < f->n_cols; j++)
            buf[i * f->n_cols + j] = f->cols[j][row0 + i];
}

/* Several series: buf: (n, n_times, n_cols) for series [row0, row0 + n). */
static void fill_long(void *ctx, size_t row0, size_t n, double *buf)
{
    const cube_fill *c = ctx;
    const tsf_frame *f = c->f;
    size_t per = c->n_times * f->n_cols;
    for (size_t k = 0; k < n * per; k++)
        buf[k] = NAN;
    for (size_t s = 0; s < n; s++) {
        size_t r0, len = tsf_frame_series_rows(f, row0 + s, &r0);
        for (size_t r = r0; r < r0 + len; r++) {
            size_t ti = find_time(c, f->time[r]);
            if (ti == (size_t)-1)
                continue; /* cannot happen: times is the union */
            for (size_t j = 0; j < f->n_cols; j++)
                buf[s * per + ti * f->n_cols + j] = f->cols[j][r];
        }
    }
}

/* The frequency pandas' DatetimeIndex of a one-series frame carries: the frame's, when every row
 * is one period after the row before on the frame's calendar (its zone's wall clock for days and
 * longer); NULL when some period is missing, as pandas gives such an index freq=None. */
static const tsf_freq *index_freq(const tsf_frame *f)
{
    const tsf_freq *q = tsf_frame_series_freq(f, 0);
    if (f->time_kind != TSF_TIME_EPOCH || q->unit == TSF_FREQ_NONE || f->n_rows < 2)
        return NULL;
    const tsf_tz *z = f->tz ? tsf_tz_cached(f->tz) : NULL;
    if (f->tz && !z)
        return NULL;
    for (size_t r = 1; r < f->n_rows; r++)
        if (tsf_tz_freq_add(z, q, f->time[r - 1], 1) != f->time[r])
            return NULL;
    return q;
}

/* Ids "0", "1", ... for the n series of a long frame without ids; NULL when out of memory. */
static char **number_ids(size_t n)
{
    char **ids = calloc(n ? n : 1, sizeof *ids);
    for (size_t s = 0; ids && s < n; s++) {
        if (!(ids[s] = malloc(24))) {
            tsf__free_strings(ids, n);
            return NULL;
        }
        snprintf(ids[s], 24, "%zu", s);
    }
    return ids;
}

int tsf_hdf5_write_frame(tsf_h5out *o, const tsf_frame *f, const char *key, tsf_err *err)
{
    return tsf_hdf5_write_frame_as(o, f, key, TSF_HDF5_PANDAS | TSF_HDF5_XARRAY, err);
}

int tsf_hdf5_write_frame_as(tsf_h5out *o, const tsf_frame *f, const char *key, unsigned layouts,
                            tsf_err *err)
{
    const char *path = tsf_h5out_path(o);
    if (!key)
        key = "data";
    while (*key == '/')
        key++;
    if (f->n_cols == 0)
        TSF_FAIL(err, TSF_EINVAL, "%s: the frame has no columns to write", path);
    /* A long frame of a single series keeps its id too. */
    int multi = f->n_series > 1 || f->series_ids != NULL;
    int is_time = f->time_kind == TSF_TIME_EPOCH;
    tsf_h5_type ttype = is_time ? TSF_H5_TIME : TSF_H5_INT64;
    size_t n = f->n_rows;

    /* pandas table: [id,] time, then the value columns. */
    size_t n_index = multi ? 2 : 1, n_tab = n_index + f->n_cols;
    tsf_h5_column *cols = calloc(n_tab, sizeof *cols);
    const char **row_ids = multi ? malloc((n ? n : 1) * sizeof *row_ids) : NULL;
    char **gen_ids = NULL; /* "0", "1", ... when a long frame has no ids */
    int64_t *times = malloc((n ? n : 1) * sizeof *times);
    const char **ids = NULL;
    char *xr_key = malloc(strlen(key) + 4), *xr_values = malloc(strlen(key) + 16);
    int rc = TSF_OK;
    if (!cols || (multi && !row_ids) || !times || !xr_key || !xr_values) {
        rc = tsf_err_set(err, TSF_ENOMEM, "%s: out of memory writing %zu rows", path, n);
        goto cleanup;
    }
    if (multi) {
        ids = (const char **)f->series_ids;
        if (!ids && !(ids = (const char **)(gen_ids = number_ids(f->n_series)))) {
            rc = tsf_err_set(err, TSF_ENOMEM, "%s: out of memory", path);
            goto cleanup;
        }
        for (size_t s = 0; s < f->n_series; s++) {
            size_t r0, len = tsf_frame_series_rows(f, s, &r0);
            for (size_t r = r0; r < r0 + len; r++)
                row_ids[r] = ids[s];
        }
        cols[0] = (tsf_h5_column){f->id_name ? f->id_name : "id", TSF_H5_STRING, row_ids};
    }
    cols[n_index - 1] = (tsf_h5_column){f->time_name, ttype, f->time, .tz = f->tz,
                                        .freq = multi ? NULL : index_freq(f)};
    for (size_t j = 0; j < f->n_cols; j++)
        cols[n_index + j] = (tsf_h5_column){f->col_names[j], TSF_H5_FLOAT64, f->cols[j]};

    /* The time coordinate: the frame's times (one series) or their sorted union. */
    size_t n_times = n;
    if (n)
        memcpy(times, f->time, n * sizeof *times);
    if (multi) {
        qsort(times, n, sizeof *times, cmp_i64);
        size_t u = 0;
        for (size_t i = 0; i < n; i++)
            if (u == 0 || times[i] != times[u - 1])
                times[u++] = times[i];
        n_times = u;
    }
    cube_fill fill = {f, times, n_times};
    tsf_h5_dim dims[3];
    size_t nd = 0;
    if (multi)
        dims[nd++] = (tsf_h5_dim){"series", f->n_series, TSF_H5_STRING, ids};
    dims[nd++] = (tsf_h5_dim){"time", n_times, ttype, times};
    dims[nd++] = (tsf_h5_dim){"column", f->n_cols, TSF_H5_STRING, f->col_names};
    sprintf(xr_key, "%s_xr", key);
    sprintf(xr_values, "%s/values", xr_key);

    if (layouts & TSF_HDF5_PANDAS)
        rc = tsf_h5out_pandas(o, key, n, cols, n_tab, n_index, err);
    if (rc == TSF_OK && (layouts & TSF_HDF5_XARRAY))
        rc =
            tsf_h5out_array_fill(o, xr_values, dims, nd, multi ? fill_long : fill_wide, &fill, err);
    if (rc == TSF_OK && (layouts & TSF_HDF5_XARRAY) && is_time && f->tz) {
        /* xarray decodes the CF units to UTC; the zone to show them in rides along */
        sprintf(xr_values, "%s/time", xr_key);
        rc = tsf_h5out_attr_string(o, xr_values, "tz", f->tz, err);
    }
    if (rc == TSF_OK && (layouts & TSF_HDF5_XARRAY) && is_time && f->freq.unit != TSF_FREQ_NONE) {
        /* the series' pandas alias, as the forecast cube carries it */
        char alias[24];
        rc = tsf_h5out_attr_string(o, xr_key, "freq",
                                   tsf_freq_format(&f->freq, 1, alias, sizeof alias), err);
    }
cleanup:
    if (gen_ids)
        tsf__free_strings(gen_ids, f->n_series);
    free(cols);
    free(row_ids);
    free(times);
    free(xr_key);
    free(xr_values);
    return rc;
}

int tsf_hdf5_write(const tsf_frame *f, const char *path, const char *key, tsf_err *err)
{
    tsf_h5out *o = NULL;
    int rc = tsf_h5out_open(&o, path, err);
    if (rc != TSF_OK)
        return rc;
    rc = tsf_hdf5_write_frame(o, f, key, err);
    if (rc == TSF_OK)
        rc = tsf_h5out_attr_string(o, "/", "tsflow_version", tsf_version(), err);
    if (rc != TSF_OK) {
        tsf_h5out_abort(o);
        return rc;
    }
    return tsf_h5out_commit(o, err);
}
