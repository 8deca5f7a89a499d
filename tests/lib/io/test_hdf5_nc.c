/* netCDF-4 as xarray writes it (engine="h5netcdf"): a variable over (station, time) or
 * (time, station) is a long frame of one series per station, as to_dataframe() gives it, and CF
 * time units with a UTC offset are decoded as xarray decodes them. Inputs are made and read
 * back by Debian's python3 at test time. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"
#include "tsflow/io.h"

/* Python prelude: hx() prints values as float.hex, one line; ints() prints integers. */
static const char *PRE = "import sys, warnings, numpy as np, pandas as pd, h5py, xarray as xr\n"
                         "warnings.simplefilter('ignore')\n"
                         "def hx(a):\n"
                         "    print(' '.join(float(x).hex() for x in "
                         "np.asarray(a, dtype='float64').ravel()))\n"
                         "def ints(a):\n"
                         "    print(' '.join(str(int(x)) for x in np.asarray(a).ravel()))\n"
                         "p = sys.argv[1]\n";

static char *py(const char *code, const char *path)
{
    size_t n = strlen(PRE) + strlen(code) + 1;
    char *full = malloc(n);
    snprintf(full, n, "%s%s", PRE, code);
    char *out = NULL, *err = NULL;
    int rc = tsft_python(full, &out, &err, path, NULL);
    free(full);
    if (rc != 0 && strstr(err, "ModuleNotFoundError"))
        cr_skip_test("Debian's python3 lacks a module (scripts/setup.sh installs it): %s", err);
    cr_assert_eq(rc, 0, "python failed (%d): %s", rc, err);
    return out;
}

static tsf_frame *read_ok(const char *path, const char *key, tsf_hdf5_info *info)
{
    tsf_frame *f = NULL;
    tsf_err err = TSF_ERR_INIT;
    int rc = tsf_hdf5_read_opt(&f, path, key, NULL, info, &err);
    cr_assert_eq(rc, TSF_OK, "tsf_hdf5_read_opt(%s, %s): %s", path, key, err.msg);
    return f;
}

/* The frame equals xarray's ds[var].to_dataframe() (printed as: station labels, times in
 * microseconds, values), row for row; rtol for float32-decoded packed values. */
static void assert_like_xarray(const tsf_frame *f, const char *out, double rtol)
{
    char *labels = tsft_line(out, 0);
    size_t n_t, n_v;
    double *t = tsft_nums(tsft_line(out, 1), &n_t), *v = tsft_nums(tsft_line(out, 2), &n_v);
    cr_assert_eq(f->n_rows, n_v, "rows: %zu, xarray has %zu", f->n_rows, n_v);
    cr_assert_eq(f->n_cols, 1);
    char *save = NULL;
    size_t s = 0;
    for (char *tok = strtok_r(labels, " ", &save); tok; tok = strtok_r(NULL, " ", &save), s++) {
        cr_assert(s < f->n_series);
        cr_assert_str_eq(f->series_ids[s], tok);
    }
    cr_assert_eq(s, f->n_series);
    cr_assert_eq(n_t * f->n_series, f->n_rows);
    for (size_t r = 0; r < f->n_rows; r++)
        cr_assert_eq((double)f->time[r], t[r % n_t], "time[%zu]", r);
    tsft_assert_close(f->cols[0], v, n_v, rtol, 0, "values against xarray");
    free(t);
    free(v);
}

/* Python that prints what xarray reads of variable `temp`, as assert_like_xarray expects. */
#define XR_PRINT                                                                                   \
    "ds = xr.open_dataset(p, engine='h5netcdf')\n"                                                 \
    "df = ds['temp'].to_dataframe()['temp'].unstack('time')\n"                                     \
    "print(' '.join(str(s) for s in df.index))\n"                                                  \
    "ints(df.columns.values.astype('datetime64[us]').astype('int64'))\n"                           \
    "hx(df.values)\n"

Test(hdf5_nc, reads_a_station_time_variable_as_one_series_per_station)
{
    const char *p = tsft_path(tsft_tmpdir(), "st.nc");
    /* int16 packed with scale_factor/add_offset and a _FillValue, string stations */
    char *out = py("t = pd.date_range('2020-01-01', periods=6, freq='h')\n"
                   "raw = np.arange(18, dtype='int16').reshape(3, 6) * 7 - 20\n"
                   "raw[1, 2] = -999\n"
                   "v = xr.Variable(('station', 'time'), raw, {'scale_factor': 0.25, "
                   "'add_offset': 10.0, '_FillValue': np.int16(-999)})\n"
                   "ds = xr.Dataset({'temp': v}, coords={'station': ['oslo', 'bergen', "
                   "'tromso'], 'time': t})\n"
                   "ds.to_netcdf(p, engine='h5netcdf')\n" XR_PRINT,
                   p);
    tsf_hdf5_info info;
    tsf_frame *f = read_ok(p, "temp", &info);
    cr_assert_str_eq(f->col_names[0], "temp");
    cr_assert_str_eq(f->id_name, "station");
    cr_assert_str_eq(f->time_name, "time");
    cr_assert_eq(f->step, TSF_US_PER_H);
    cr_assert_eq(info.n_masked, 1);
    cr_assert(strstr(info.notes, "netCDF variable \"temp\" over (station, time): one series per "
                                 "station (3)"),
              "%s", info.notes);
    assert_like_xarray(f, out, 1.2e-7);
    tsf_frame_free(f);
}

Test(hdf5_nc, reads_time_station_order_integer_and_bare_station_dimensions_alike)
{
    const char *d = tsft_tmpdir();
    const char *ts = tsft_path(d, "ts.nc"), *bare = tsft_path(d, "bare.nc");
    const char *code[] = {
        /* (time, station) with integer station numbers */
        "t = pd.date_range('2021-06-01', periods=5, freq='D')\n"
        "v = np.random.default_rng(4).normal(size=(5, 4))\n"
        "ds = xr.Dataset({'temp': (('time', 'station'), v)},\n"
        "                coords={'station': [101, 205, 307, 999], 'time': t})\n"
        "ds.to_netcdf(p, engine='h5netcdf')\n" XR_PRINT,
        /* a station dimension without a coordinate: xarray numbers it 0, 1, ... */
        "t = pd.date_range('2021-06-01', periods=5, freq='D')\n"
        "v = np.random.default_rng(5).normal(size=(2, 5))\n"
        "ds = xr.Dataset({'temp': (('station', 'time'), v)}, coords={'time': t})\n"
        "ds.to_netcdf(p, engine='h5netcdf')\n" XR_PRINT,
    };
    for (int k = 0; k < 2; k++) {
        const char *p = k ? bare : ts;
        char *out = py(code[k], p);
        tsf_frame *f = read_ok(p, "temp", NULL);
        cr_assert_eq(f->n_series, k ? 2 : 4);
        cr_assert_eq(f->step, TSF_US_PER_DAY);
        assert_like_xarray(f, out, 0);
        tsf_frame_free(f);
    }
}

/* CF reference times with a zone, a "Z", "UTC", 1-digit months and hours only: the times xarray
 * decodes. */
Test(hdf5_nc, decodes_cf_time_units_with_utc_offsets_as_xarray_does)
{
    static const char *const units[] = {
        "hours since 2000-01-01 00:00:00 +01:00",
        "days since 2000-01-01T00:00:00+0100",
        "seconds since 2000-01-01 00:00:00 Z",
        "hours since 2000-01-01 00:00:00 -05:30",
        "days since 2000-1-1",
        "hours since 2000-01-01 00:00:00 UTC",
        "minutes since 1999-12-31T22:00",
        "hours since 2000-01-01T06",
    };
    const char *p = tsft_path(tsft_tmpdir(), "cf.h5");
    for (size_t k = 0; k < sizeof units / sizeof units[0]; k++) {
        char code[1024];
        snprintf(code, sizeof code,
                 "with h5py.File(p, 'w') as f:\n"
                 "    f['v'] = np.arange(3.0)\n"
                 "    f['time'] = np.array([0, 1, 2])\n"
                 "    f['time'].attrs['units'] = '%s'\n"
                 "ds = xr.open_dataset(p, engine='h5netcdf', phony_dims='sort')\n"
                 "ints(ds['time'].values.astype('datetime64[us]').astype('int64'))\n"
                 "ds.close()\n",
                 units[k]);
        char *out = py(code, p);
        tsf_frame *f = read_ok(p, "v", NULL);
        size_t n;
        double *t = tsft_nums(tsft_line(out, 0), &n);
        cr_assert_eq(n, 3);
        cr_assert_eq(f->time_kind, TSF_TIME_EPOCH);
        for (size_t i = 0; i < n; i++)
            cr_assert_eq((double)f->time[i], t[i], "\"%s\": time[%zu] %lld, xarray %.0f", units[k],
                         i, (long long)f->time[i], t[i]);
        free(t);
        tsf_frame_free(f);
    }
}

Test(hdf5_nc, refuses_a_cf_reference_time_it_cannot_read)
{
    const char *p = tsft_path(tsft_tmpdir(), "bad.h5");
    py("with h5py.File(p, 'w') as f:\n"
       "    f['v'] = np.arange(3.0)\n"
       "    f['time'] = np.array([0, 1, 2])\n"
       "    f['time'].attrs['units'] = 'hours since 2000-13-01 00:00:00 +01:00'\n",
       p);
    tsf_frame *f = (tsf_frame *)1;
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_hdf5_read(&f, p, "v", &err), TSF_EFORMAT);
    cr_assert_null(f);
    char want[512];
    snprintf(want, sizeof want,
             "%s: \"/v\": time dataset \"/time\" has units \"hours since 2000-13-01 00:00:00 "
             "+01:00\"; expected CF units such as \"seconds since 1970-01-01T00:00:00Z\"",
             p);
    cr_assert_str_eq(err.msg, want);
}
