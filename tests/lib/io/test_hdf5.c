/* HDF5: reading h5py- and pandas-written files, writing files that pandas, h5py and xarray
 * read back exactly, the writer API of tsflow/h5out.h, every refused input, atomic writes.
 * Inputs are made at test time by Debian's python3 (h5py, pandas, xarray); values are compared
 * bit for bit through float.hex. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "support.h"
#include "tsflow/h5out.h"
#include "tsflow/freq.h"
#include "tsflow/io.h"

#define SEC TSF_US_PER_S               /* microseconds per second */
#define T0 (INT64_C(1467331200) * SEC) /* 2016-07-01 00:00:00 UTC */

/* Python prelude: hx() prints values as float.hex, one line. */
static const char *PRE = "import sys, numpy as np, pandas as pd, h5py\n"
                         "def hx(a):\n"
                         "    print(' '.join(float(x).hex() for x in "
                         "np.asarray(a, dtype='float64').ravel()))\n"
                         "p = sys.argv[1]\n";

/* Run PRE + code with argv[1] = path and argv[2] = arg (may be NULL); returns stdout. Skips
 * when Debian's python3 lacks a module. */
static char *py(const char *code, const char *path, const char *arg)
{
    size_t n = strlen(PRE) + strlen(code) + 1;
    char *full = malloc(n);
    snprintf(full, n, "%s%s", PRE, code);
    char *out = NULL, *err = NULL;
    int rc = tsft_python(full, &out, &err, path, arg, NULL);
    free(full);
    if (rc != 0 && strstr(err, "ModuleNotFoundError"))
        cr_skip_test("Debian's python3 lacks a module (scripts/setup.sh installs it): %s", err);
    cr_assert_eq(rc, 0, "python failed (%d): %s", rc, err);
    return out;
}

/* The n-th line (0-based) of text, in a kept buffer. */
/* Parse whitespace-separated numbers (float.hex, decimal, nan) into a new array. */
static int64_t *ints(const char *s, size_t *n)
{
    size_t cap = 16, k = 0;
    int64_t *v = malloc(cap * sizeof *v);
    char *end;
    for (;;) {
        while (*s == ' ')
            s++;
        if (!*s)
            break;
        long long x = strtoll(s, &end, 10);
        cr_assert(end != s, "not an integer: \"%s\"", s);
        if (k == cap)
            v = realloc(v, (cap *= 2) * sizeof *v);
        v[k++] = x;
        s = end;
    }
    *n = k;
    return v;
}

/* The frame's values column by column, as one array. */
static double *frame_values(const tsf_frame *f)
{
    double *v = malloc((f->n_rows * f->n_cols + 1) * sizeof *v);
    for (size_t j = 0; j < f->n_cols; j++)
        memcpy(v + j * f->n_rows, f->cols[j], f->n_rows * sizeof *v);
    return v;
}

static void assert_values(const tsf_frame *f, const char *hex, const char *what)
{
    size_t n;
    double *want = tsft_nums(hex, &n);
    cr_assert_eq(n, f->n_rows * f->n_cols, "%s: %zu values, frame has %zu x %zu", what, n,
                 f->n_rows, f->n_cols);
    double *got = frame_values(f);
    tsft_assert_identical(got, want, n, what);
    free(got);
    free(want);
}

/* The frame's times (microseconds) equal text's numbers, each ns_per_unit nanoseconds. */
static void assert_times(const tsf_frame *f, const char *text, int64_t ns_per_unit)
{
    size_t n;
    int64_t *want = ints(text, &n);
    cr_assert_eq(n, f->n_rows);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(f->time[i] * 1000, want[i] * ns_per_unit, "time[%zu]: got %lld us, want %lld",
                     i, (long long)f->time[i], (long long)want[i]);
    free(want);
}

static tsf_frame *read_ok(const char *path, const char *key)
{
    tsf_frame *f = NULL;
    tsf_err err = TSF_ERR_INIT;
    int rc = tsf_hdf5_read(&f, path, key, &err);
    cr_assert_eq(rc, TSF_OK, "tsf_hdf5_read(%s, %s): %s", path, key ? key : "NULL", err.msg);
    cr_assert(f);
    return f;
}

/* Read expecting failure: asserts the code and returns the message (kept). */
static const char *read_fails(const char *path, const char *key, int code)
{
    tsf_frame *f = (tsf_frame *)1;
    static tsf_err err;
    tsf_err_clear(&err);
    int rc = tsf_hdf5_read(&f, path, key, &err);
    cr_assert_eq(rc, code, "expected %s, got %s: %s", tsf_status_name(code), tsf_status_name(rc),
                 err.msg);
    cr_assert_eq(err.code, code);
    cr_assert_null(f, "*out must be NULL on failure");
    return err.msg;
}

static void assert_msg(const char *got, const char *want)
{
    cr_assert_str_eq(got, want, "message:\n  got:  %s\n  want: %s", got, want);
}

/* ---- tsf_is_hdf5 ----------------------------------------------------------------------------- */

Test(hdf5, recognises_hdf5_files_by_their_signature)
{
    const char *d = tsft_tmpdir();
    const char *h5 = tsft_path(d, "a.h5"), *csv = tsft_path(d, "a.csv");
    py("h5py.File(p, 'w')['x'] = [1.0]\n", h5, NULL);
    tsft_write_file(csv, "a,b\n1,2\n", (size_t)-1);
    cr_assert(tsf_is_hdf5(h5));
    cr_assert_not(tsf_is_hdf5(csv));
    cr_assert_not(tsf_is_hdf5(tsft_path(d, "missing.h5")));
}

/* ---- plain datasets (h5py) ----------------------------------------------------------------- */

Test(hdf5, reads_a_1d_float64_dataset_as_one_column_named_after_it)
{
    const char *p = tsft_path(tsft_tmpdir(), "a.h5");
    char *out = py("x = np.array([0.1, 1/3, -0.0, 5e-324, np.nan, 1.7976931348623157e308])\n"
                   "with h5py.File(p, 'w') as f: f['grp/load'] = x\n"
                   "hx(x)\n",
                   p, NULL);
    tsf_frame *f = read_ok(p, "/grp/load");
    cr_assert_eq(f->n_cols, 1);
    cr_assert_str_eq(f->col_names[0], "load");
    cr_assert_eq(f->time_kind, TSF_TIME_INDEX);
    cr_assert_eq(f->step, 1);
    cr_assert_eq(f->time[5], 5);
    cr_assert_null(f->time_name);
    assert_values(f, tsft_line(out, 0), "1-D float64");
    tsf_frame_free(f);
}

Test(hdf5, reads_a_2d_float32_dataset_exactly_as_doubles)
{
    const char *p = tsft_path(tsft_tmpdir(), "a.h5");
    char *out = py("x = (np.arange(12).reshape(4, 3) / 7).astype('float32')\n"
                   "x[1, 2] = np.nan\n"
                   "with h5py.File(p, 'w') as f: f['data'] = x\n"
                   "hx(x.T)\n",
                   p, NULL);
    tsf_frame *f = read_ok(p, NULL); /* key NULL means "data" */
    cr_assert_eq(f->n_rows, 4);
    cr_assert_eq(f->n_cols, 3);
    cr_assert_str_eq(f->col_names[0], "v0");
    cr_assert_str_eq(f->col_names[2], "v2");
    assert_values(f, tsft_line(out, 0), "2-D float32");
    tsf_frame_free(f);
}

Test(hdf5, reads_integer_datasets_of_every_width_and_signedness)
{
    const char *p = tsft_path(tsft_tmpdir(), "a.h5");
    char *out = py("cases = {'i8': np.array([-128, 0, 127], 'int8'),\n"
                   "         'u16': np.array([0, 1, 65535], 'uint16'),\n"
                   "         'i32': np.array([-2**31, 7, 2**31 - 1], 'int32'),\n"
                   "         'i64': np.array([-2**53, 3, 2**53], 'int64'),\n"
                   "         'b': np.array([True, False, True])}\n"
                   "with h5py.File(p, 'w') as f:\n"
                   "    for k, v in cases.items(): f[k] = v\n"
                   "for k, v in cases.items(): hx(v)\n",
                   p, NULL);
    const char *keys[] = {"i8", "u16", "i32", "i64", "b"};
    for (int i = 0; i < 5; i++) {
        tsf_frame *f = read_ok(p, keys[i]);
        assert_values(f, tsft_line(out, i), keys[i]);
        tsf_frame_free(f);
    }
}

Test(hdf5, takes_column_names_from_the_columns_attribute)
{
    const char *p = tsft_path(tsft_tmpdir(), "a.h5");
    py("with h5py.File(p, 'w') as f:\n"
       "    d = f.create_dataset('m', data=np.ones((3, 2)))\n"
       "    d.attrs['columns'] = ['load', 'temp\\u00e9']\n"
       "    d2 = f.create_dataset('fixed', data=np.ones((3, 2)))\n"
       "    d2.attrs['columns'] = np.array([b'x', b'yy'])\n",
       p, NULL);
    tsf_frame *f = read_ok(p, "m");
    cr_assert_str_eq(f->col_names[0], "load");
    cr_assert_str_eq(f->col_names[1], "temp\xc3\xa9");
    tsf_frame_free(f);
    f = read_ok(p, "fixed");
    cr_assert_str_eq(f->col_names[1], "yy");
    tsf_frame_free(f);
}

Test(hdf5, takes_time_and_column_names_from_dimension_scales)
{
    const char *p = tsft_path(tsft_tmpdir(), "a.h5");
    char *out = py("with h5py.File(p, 'w') as f:\n"
                   "    x = f.create_dataset('obs/x', data=np.arange(8.0).reshape(4, 2))\n"
                   "    t = f.create_dataset('obs/when', data=1467331200 + 1800 * np.arange(4))\n"
                   "    t.attrs['units'] = 'seconds since 1970-01-01T00:00:00Z'\n"
                   "    c = f.create_dataset('obs/col', data=['a', 'b'], "
                   "dtype=h5py.string_dtype())\n"
                   "    t.make_scale('when'); c.make_scale('col')\n"
                   "    x.dims[0].attach_scale(t); x.dims[1].attach_scale(c)\n"
                   "    print(' '.join(str(v) for v in t[:]))\n",
                   p, NULL);
    tsf_frame *f = read_ok(p, "obs/x");
    cr_assert_eq(f->time_kind, TSF_TIME_EPOCH);
    cr_assert_eq(f->step, 1800 * SEC);
    cr_assert_str_eq(f->time_name, "when");
    cr_assert_str_eq(f->col_names[0], "a");
    cr_assert_str_eq(f->col_names[1], "b");
    assert_times(f, tsft_line(out, 0), 1000000000);
    cr_assert_eq(f->cols[1][3], 7.0);
    tsf_frame_free(f);
}

Test(hdf5, finds_a_sibling_time_dataset_with_cf_units_or_iso_strings)
{
    const char *p = tsft_path(tsft_tmpdir(), "a.h5");
    py("with h5py.File(p, 'w') as f:\n"
       "    f['a/v'] = np.arange(3.0)\n"
       "    f['a/time'] = np.array([0.0, 1.5, 3.0])\n"
       "    f['a/time'].attrs['units'] = 'hours since 2016-07-01 00:00:00'\n"
       "    f['b/v'] = np.arange(3.0)\n"
       "    f['b/date'] = np.array([b'2016-07-01', b'2016-07-02', b'2016-07-03'])\n"
       "    f['c/v'] = np.arange(3.0)\n"
       "    f['c/index'] = np.array([10, 20, 30])\n",
       p, NULL);
    tsf_frame *f = read_ok(p, "a/v");
    cr_assert_eq(f->time_kind, TSF_TIME_EPOCH);
    cr_assert_eq(f->time[0], T0);
    cr_assert_eq(f->time[1], T0 + 5400 * SEC);
    cr_assert_eq(f->step, 5400 * SEC);
    cr_assert_str_eq(f->time_name, "time");
    tsf_frame_free(f);
    f = read_ok(p, "b/v");
    cr_assert_eq(f->time_kind, TSF_TIME_EPOCH);
    cr_assert_eq(f->time[2], T0 + 2 * 86400 * SEC);
    cr_assert_str_eq(f->time_name, "date");
    tsf_frame_free(f);
    /* numbers without CF units are a plain integer index */
    f = read_ok(p, "c/v");
    cr_assert_eq(f->time_kind, TSF_TIME_INDEX);
    cr_assert_eq(f->time[1], 20);
    cr_assert_eq(f->step, 10);
    tsf_frame_free(f);
}

Test(hdf5, reads_a_variable_that_xarray_wrote_with_the_h5netcdf_engine)
{
    const char *p = tsft_path(tsft_tmpdir(), "a.nc");
    char *out = py("import xarray as xr\n"
                   "t = pd.date_range('2016-07-01', periods=5, freq='15min')\n"
                   "v = np.random.default_rng(1).normal(size=(5, 2))\n"
                   "ds = xr.Dataset({'load': (('time', 'site'), v)},\n"
                   "                coords={'time': t, 'site': ['north', 'south']})\n"
                   "ds.to_netcdf(p, engine='h5netcdf')\n"
                   "hx(v.T)\n",
                   p, NULL);
    /* as xarray's to_dataframe(): one series per site (test_hdf5_nc.c has the layouts) */
    tsf_frame *f = read_ok(p, "load");
    cr_assert_eq(f->time_kind, TSF_TIME_EPOCH);
    cr_assert_eq(f->time[0], T0);
    cr_assert_eq(f->step, 900 * SEC);
    cr_assert_eq(f->n_series, 2);
    cr_assert_str_eq(f->series_ids[0], "north");
    cr_assert_str_eq(f->series_ids[1], "south");
    cr_assert_str_eq(f->col_names[0], "load");
    assert_values(f, tsft_line(out, 0), "xarray values");
    tsf_frame_free(f);
}

/* ---- inputs that used to be read silently wrong -----------------------------------------------
 */

static tsf_frame *read_opt_ok(const char *path, const char *key, const tsf_hdf5_options *opt,
                              tsf_hdf5_info *info)
{
    tsf_frame *f = NULL;
    tsf_err err = TSF_ERR_INIT;
    int rc = tsf_hdf5_read_opt(&f, path, key, opt, info, &err);
    cr_assert_eq(rc, TSF_OK, "tsf_hdf5_read_opt(%s, %s): %s", path, key, err.msg);
    return f;
}

static const char *read_opt_fails(const char *path, const char *key, const tsf_hdf5_options *opt,
                                  int code)
{
    tsf_frame *f = (tsf_frame *)1;
    static tsf_err err;
    tsf_err_clear(&err);
    int rc = tsf_hdf5_read_opt(&f, path, key, opt, NULL, &err);
    cr_assert_eq(rc, code, "expected %s, got %s: %s", tsf_status_name(code), tsf_status_name(rc),
                 err.msg);
    cr_assert_null(f, "*out must be NULL on failure");
    return err.msg;
}

/* xarray decodes scale_factor, add_offset, _FillValue and missing_value; CF also makes values
 * outside valid_min/valid_max missing, which xarray leaves to the user (and netCDF4-python
 * applies): the reference is xarray's decoding with that mask added. */
Test(hdf5, applies_cf_packing_fill_and_valid_range_as_xarray_and_cf_do)
{
    const char *p = tsft_path(tsft_tmpdir(), "cf.h5");
    char *out = py("import xarray as xr, warnings\n"
                   "warnings.simplefilter('ignore')\n"
                   "raw = np.array([[10, 20], [-9999, 30], [-1, 500], [40, 7]], dtype='int16')\n"
                   "with h5py.File(p, 'w') as f:\n"
                   "    d = f.create_dataset('x', data=raw)\n"
                   "    d.attrs['scale_factor'] = 0.1\n"
                   "    d.attrs['add_offset'] = 5.0\n"
                   "    d.attrs['_FillValue'] = np.int16(-9999)\n"
                   "    d.attrs['missing_value'] = np.int16(-1)\n"
                   "    d.attrs['valid_min'] = np.int16(0)\n"
                   "    d.attrs['valid_max'] = np.int16(100)\n"
                   "    d.attrs['columns'] = ['a', 'b']\n"
                   "    f['y'] = np.array([1.5, -9999.0, 2.5])\n"
                   "    f['y'].attrs['_FillValue'] = -9999.0\n"
                   "ds = xr.open_dataset(p, engine='h5netcdf', phony_dims='sort')\n"
                   "x = ds['x'].values.astype('float64')\n"
                   "x[(raw < 0) | (raw > 100)] = np.nan\n"
                   "hx(x.T)\n"
                   "hx(ds['y'].values)\n",
                   p, NULL);
    tsf_hdf5_info info;
    tsf_frame *f = read_opt_ok(p, "x", NULL, &info);
    cr_assert_eq(f->n_rows, 4);
    cr_assert_eq(f->n_cols, 2);
    size_t n;
    double *want = tsft_nums(tsft_line(out, 0), &n), *got = frame_values(f);
    cr_assert_eq(n, 8);
    /* this xarray decodes packed int16 to float32; tsflow keeps double */
    tsft_assert_close(got, want, n, 1.2e-7, 0, "CF-decoded int16 (xarray's float32)");
    cr_assert_eq(info.n_masked, 3, "masked %zu", info.n_masked);
    cr_assert(strstr(info.notes, "CF scale_factor 0.10000000000000001 applied"), "%s", info.notes);
    free(got);
    free(want);
    tsf_frame_free(f);
    f = read_ok(p, "y");
    assert_values(f, tsft_line(out, 1), "float64 with _FillValue");
    tsf_frame_free(f);
}

/* An R matrix of 30 times x 2 series: R stores it column-major, so HDF5 sees 2 x 30. rhdf5
 * marks its datasets ("rhdf5-NA.OK"); hdf5r leaves no trace, so the reader asks. */
Test(hdf5, reads_r_matrices_the_right_way_round_or_asks_which_dimension_is_time)
{
    const char *d = tsft_tmpdir();
    const char *rh = tsft_path(d, "rhdf5.h5"), *hr = tsft_path(d, "hdf5r.h5");
    if (access("/usr/bin/Rscript", X_OK) != 0)
        cr_skip_test("R is absent (scripts/setup.sh installs r-cran-hdf5r and r-bioc-rhdf5)");
    char script[1024];
    snprintf(script, sizeof script,
             "suppressMessages({library(rhdf5); library(hdf5r)})\n"
             "m <- matrix(c(1:30 / 4, 101:130), nrow = 30, ncol = 2)\n"
             "h5createFile('%s'); h5write(m, '%s', 'm')\n"
             "f <- H5File$new('%s', mode = 'w'); f[['m']] <- m; f$close_all()\n"
             "cat(m[1, ], m[30, ], '\\n')\n",
             rh, rh, hr);
    char *argv[] = {"/usr/bin/Rscript", "-e", script, NULL}, *out = NULL, *err = NULL;
    int rc = tsft_run(argv, &out, &err);
    if (rc != 0 && strstr(err, "there is no package"))
        cr_skip_test("R lacks rhdf5 or hdf5r (scripts/setup.sh installs them): %s", err);
    cr_assert_eq(rc, 0, "Rscript failed: %s", err);
    cr_assert_str_eq(out, "0.25 101 7.5 130 \n");
    tsf_hdf5_info info;
    tsf_frame *f = read_opt_ok(rh, "m", NULL, &info);
    cr_assert_eq(f->n_rows, 30);
    cr_assert_eq(f->n_cols, 2);
    cr_assert_eq(f->cols[0][0], 0.25);
    cr_assert_eq(f->cols[1][0], 101);
    cr_assert_eq(f->cols[0][29], 7.5);
    cr_assert_eq(f->cols[1][29], 130);
    cr_assert_eq(info.time_dim, 1);
    cr_assert(strstr(info.notes, "R matrix written by rhdf5"), "%s", info.notes);
    tsf_frame_free(f);
    char want[1024];
    snprintf(want, sizeof want,
             "%s: \"/m\": a 2 x 30 dataset without column names or a time dataset: tsflow cannot "
             "tell whether rows or columns run along time (numpy and h5py write rows x columns, "
             "R writes an n x k matrix as k x n); say which with --time-dim 0 (2 rows of 30 "
             "series) or --time-dim 1 (30 rows of 2 series, as R wrote it) (ingest.hdf5 option "
             "time_dim)",
             hr);
    assert_msg(read_fails(hr, "m", TSF_EINVAL), want);
    tsf_hdf5_options opt;
    tsf_hdf5_options_init(&opt);
    opt.time_dim = TSF_HDF5_TIME_DIM_1;
    f = read_opt_ok(hr, "m", &opt, NULL);
    cr_assert_eq(f->n_rows, 30);
    cr_assert_eq(f->cols[0][29], 7.5);
    cr_assert_eq(f->cols[1][29], 130);
    tsf_frame_free(f);
}

Test(hdf5, takes_names_from_column_names_and_times_from_timestamps_or_says_why_not)
{
    const char *p = tsft_path(tsft_tmpdir(), "cn.h5");
    char *out = py("v = np.random.default_rng(3).normal(size=(4, 2))\n"
                   "t = np.array([1467331200, 1467334800, 1467338400, 1467342000])\n"
                   "with h5py.File(p, 'w') as f:\n"
                   "    f['a/values'] = v; f['a/values'].attrs['column_names'] = ['load', 'temp']\n"
                   "    f['a/timestamps'] = t\n"
                   "    f['a/timestamps'].attrs['units'] = 'seconds since 1970-01-01'\n"
                   "    f['b/values'] = v; f['b/values'].attrs['series'] = ['load', 'temp']\n"
                   "    f['c/values'] = v; f['c/when'] = [b'2016-07-01 00:00'] * 4\n"
                   "hx(v.T)\n",
                   p, NULL);
    tsf_frame *f = read_ok(p, "a/values");
    cr_assert_str_eq(f->col_names[0], "load");
    cr_assert_str_eq(f->col_names[1], "temp");
    cr_assert_eq(f->time_kind, TSF_TIME_EPOCH);
    cr_assert_eq(f->time[0], T0);
    cr_assert_eq(f->step, 3600 * SEC);
    cr_assert_str_eq(f->time_name, "timestamps");
    assert_values(f, tsft_line(out, 0), "values");
    tsf_frame_free(f);
    char want[1024];
    snprintf(want, sizeof want,
             "%s: \"/b/values\": attribute \"series\" holds 2 strings, one per column, but tsflow "
             "takes column names only from an attribute named columns, column_names, colnames, "
             "col_names, names, labels or variables (expected one of these; rename it, e.g. in "
             "h5py: d.attrs['columns'] = d.attrs.pop('series'))",
             p);
    assert_msg(read_fails(p, "b/values", TSF_EFORMAT), want);
    snprintf(want, sizeof want,
             "%s: \"/c/values\": dataset \"when\" beside it has one value per row and looks like "
             "time (because it holds strings), but tsflow looks for time only under the names "
             "time, times, date, dates, datetime, timestamp, timestamps or index: pass "
             "--time-column when (ingest.hdf5 option time_column) to use it, or --no-time to "
             "number the rows",
             p);
    assert_msg(read_fails(p, "c/values", TSF_EINVAL), want);
}

Test(hdf5, honours_columns_time_column_no_time_and_gaps_as_the_csv_reader_does)
{
    const char *p = tsft_path(tsft_tmpdir(), "o.h5");
    py("with h5py.File(p, 'w') as f:\n"
       "    f['g/v'] = np.array([[1.0, 10], [2, 20], [4, 40]])\n"
       "    f['g/v'].attrs['columns'] = ['a', 'b']\n"
       "    f['g/time'] = np.array([0, 60, 180])\n"
       "    f['g/time'].attrs['units'] = 'seconds since 2016-07-01'\n"
       "    f['g/when'] = np.array([5, 6, 7])\n"
       "    f['k'] = np.array([[7.0, 1.5], [8, 2.5], [9, 3.5]])\n"
       "    f['k'].attrs['columns'] = ['step', 'y']\n"
       "idx = pd.Index([3, 1, 2], name='n')\n"
       "pd.DataFrame({'t': [10, 11, 12], 'y': [1.0, 2, 3]}, index=idx).to_hdf(p, 'pd')\n",
       p, NULL);
    tsf_hdf5_options opt;
    tsf_hdf5_options_init(&opt);
    const char *cols[] = {"b"};
    opt.columns = cols;
    opt.n_columns = 1;
    opt.gaps = TSF_GAP_FILL;
    tsf_hdf5_info info;
    tsf_frame *f = read_opt_ok(p, "g/v", &opt, &info);
    cr_assert_eq(f->n_cols, 1);
    cr_assert_str_eq(f->col_names[0], "b");
    cr_assert_eq(f->n_rows, 4);
    cr_assert_eq(info.n_filled, 1);
    cr_assert_eq(f->time[2], T0 + 120 * SEC);
    cr_assert(isnan(f->cols[0][2]));
    cr_assert_eq(f->cols[0][3], 40);
    tsf_frame_free(f);
    /* no_time: the gap no longer matters */
    tsf_hdf5_options_init(&opt);
    opt.no_time = 1;
    f = read_opt_ok(p, "g/v", &opt, NULL);
    cr_assert_eq(f->time_kind, TSF_TIME_INDEX);
    cr_assert_eq(f->time[2], 2);
    cr_assert_null(f->time_name);
    tsf_frame_free(f);
    /* time_column: a dataset beside it, or one of the columns */
    tsf_hdf5_options_init(&opt);
    opt.time_column = "when";
    f = read_opt_ok(p, "g/v", &opt, NULL);
    cr_assert_eq(f->time[0], 5);
    cr_assert_str_eq(f->time_name, "when");
    tsf_frame_free(f);
    opt.time_column = "step";
    f = read_opt_ok(p, "k", &opt, NULL);
    cr_assert_eq(f->n_cols, 1);
    cr_assert_str_eq(f->col_names[0], "y");
    cr_assert_eq(f->time[2], 9);
    cr_assert_eq(f->step, 1);
    tsf_frame_free(f);
    /* pandas: a column as time (the unsorted index is then no time) */
    opt.time_column = "t";
    f = read_opt_ok(p, "pd", &opt, NULL);
    cr_assert_eq(f->n_cols, 1);
    cr_assert_eq(f->time[0], 10);
    cr_assert_eq(f->cols[0][2], 3);
    tsf_frame_free(f);
    char want[512];
    snprintf(want, sizeof want,
             "%s: \"/pd\": time column \"x\" is neither the index (named \"n\") nor a column "
             "(expected one of: t, y)",
             p);
    opt.time_column = "x";
    assert_msg(read_opt_fails(p, "pd", &opt, TSF_EINVAL), want);
    tsf_hdf5_options_init(&opt);
    const char *bad[] = {"c"};
    opt.columns = bad;
    opt.n_columns = 1;
    snprintf(want, sizeof want, "%s: \"/g/v\": no column \"c\" (its columns: a, b)", p);
    opt.gaps = TSF_GAP_FILL;
    assert_msg(read_opt_fails(p, "g/v", &opt, TSF_EINVAL), want);
}

/* ---- pandas fixed format ------------------------------------------------------------------- */

Test(hdf5, reads_a_pandas_frame_merging_its_dtype_blocks_back_into_column_order)
{
    const char *p = tsft_path(tsft_tmpdir(), "a.h5");
    char *out = py("idx = pd.date_range('2016-07-01', periods=5, freq='15min', name='date')\n"
                   "df = pd.DataFrame({'f64': [0.1, np.nan, -0.0, 1e300, 2/3],\n"
                   "                   'i64': np.array([-2**53, 0, 1, 2, 2**53], 'int64'),\n"
                   "                   'f32': np.float32([1/3, 2, np.nan, 4, 5]),\n"
                   "                   'i32': np.int32([1, 2, 3, 4, -5]),\n"
                   "                   'ok': [True, False, True, True, False],\n"
                   "                   'u8': np.uint8([0, 1, 2, 3, 255]),\n"
                   "                   'g64': np.arange(5.0)}, index=idx)\n"
                   "df.to_hdf(p, 'frame', format='fixed')\n"
                   "print(' '.join(df.columns))\n"
                   "hx(df.astype('float64').values.T)\n"
                   "print(' '.join(str(v) for v in df.index.asi8))\n",
                   p, NULL);
    tsf_frame *f = read_ok(p, "frame");
    char names[256] = "";
    for (size_t j = 0; j < f->n_cols; j++)
        snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", j ? " " : "",
                 f->col_names[j]);
    cr_assert_str_eq(names, tsft_line(out, 0));
    cr_assert_eq(f->time_kind, TSF_TIME_EPOCH);
    cr_assert_str_eq(f->time_name, "date");
    cr_assert_eq(f->step, 900 * SEC);
    cr_assert_eq(f->n_series, 1);
    assert_values(f, tsft_line(out, 1), "pandas blocks");
    assert_times(f, tsft_line(out, 2), 1);
    tsf_frame_free(f);
}

Test(hdf5, reads_a_pandas_frame_with_a_range_index_as_an_integer_index)
{
    const char *p = tsft_path(tsft_tmpdir(), "a.h5");
    char *out = py("df = pd.DataFrame({'a': np.arange(4.0) / 3, 'b': [1, 2, 3, 4]})\n"
                   "df.to_hdf(p, 'r', format='fixed')\n"
                   "hx(df.astype('float64').values.T)\n",
                   p, NULL);
    tsf_frame *f = read_ok(p, "r");
    cr_assert_eq(f->time_kind, TSF_TIME_INDEX);
    cr_assert_eq(f->time[3], 3);
    cr_assert_eq(f->step, 1);
    cr_assert_null(f->time_name);
    assert_values(f, tsft_line(out, 0), "range index");
    tsf_frame_free(f);
}

Test(hdf5, reads_a_pandas_series)
{
    const char *p = tsft_path(tsft_tmpdir(), "a.h5");
    char *out = py("s = pd.Series(np.arange(3.0) / 7, name='load',\n"
                   "              index=pd.date_range('2016-07-01', periods=3, freq='H'))\n"
                   "s.to_hdf(p, 's', format='fixed')\n"
                   "hx(s.values)\n",
                   p, NULL);
    tsf_frame *f = read_ok(p, "s");
    cr_assert_eq(f->n_cols, 1);
    cr_assert_str_eq(f->col_names[0], "load");
    cr_assert_eq(f->step, 3600 * SEC);
    assert_values(f, tsft_line(out, 0), "series");
    tsf_frame_free(f);
}

Test(hdf5, reads_a_pandas_id_time_multiindex_as_one_series_per_id)
{
    const char *p = tsft_path(tsft_tmpdir(), "a.h5");
    /* interleaved rows: series keep the order of their first row */
    py("t = pd.to_datetime(['2016-07-01 01:00', '2016-07-01 00:00', '2016-07-01 02:00',\n"
       "                    '2016-07-01 01:00'])\n"
       "idx = pd.MultiIndex.from_arrays([['B', 'A', 'B', 'A'], t], names=['site', 'when'])\n"
       "pd.DataFrame({'v': [1.0, 2.0, 3.0, 4.0]}, index=idx).to_hdf(p, 'k', format='fixed')\n",
       p, NULL);
    tsf_frame *f = read_ok(p, "k");
    cr_assert_eq(f->n_series, 2);
    cr_assert_str_eq(f->series_ids[0], "B");
    cr_assert_str_eq(f->series_ids[1], "A");
    cr_assert_str_eq(f->id_name, "site");
    cr_assert_str_eq(f->time_name, "when");
    cr_assert_eq(f->series_start[1], 2);
    double want[] = {1, 3, 2, 4};
    tsft_assert_identical(f->cols[0], want, 4, "regrouped values");
    int64_t wt[] = {T0 + 3600 * SEC, T0 + 7200 * SEC, T0, T0 + 3600 * SEC};
    for (int i = 0; i < 4; i++)
        cr_assert_eq(f->time[i], wt[i], "time[%d]", i);
    cr_assert_eq(f->step, 3600 * SEC);
    tsf_frame_free(f);
}

/* ---- pandas table format ------------------------------------------------------------------- */

/* The frame's column names, space-separated. */
static const char *col_list(const tsf_frame *f)
{
    static char names[1024];
    names[0] = '\0';
    for (size_t j = 0; j < f->n_cols; j++)
        snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", j ? " " : "",
                 f->col_names[j]);
    return names;
}

/* One frame written as pandas' tables in three ways: dtype blocks appended in three chunks,
 * every column a data column, some columns data columns; each read as pandas.read_hdf reads it.
 */
Test(hdf5, reads_pandas_tables_of_blocks_appended_chunks_and_data_columns_as_read_hdf_does)
{
    const char *p = tsft_path(tsft_tmpdir(), "t.h5");
    char *out = py("import warnings; warnings.simplefilter('ignore')\n"
                   "idx = pd.date_range('2016-07-01', periods=7, freq='15min', name='when')\n"
                   "df = pd.DataFrame({'f64': [0.1, np.nan, -0.0, 1e300, 2/3, 5, 6],\n"
                   "                   'i64': np.array([-2**53, 0, 1, 2, 2**53, 7, 8], 'int64'),\n"
                   "                   'f32': np.float32([1/3, 2, np.nan, 4, 5, 6, 7]),\n"
                   "                   'ok': [True, False, True, True, False, True, True],\n"
                   "                   'u8': np.uint8([0, 1, 2, 3, 255, 4, 5]),\n"
                   "                   3: np.arange(7.0)}, index=idx)\n"
                   "for a, b in ((0, 2), (2, 5), (5, 7)):\n"
                   "    df.iloc[a:b].to_hdf(p, 'blocks', format='table', append=True)\n"
                   "df.drop(columns=[3]).to_hdf(p, 'cols', format='table', data_columns=True)\n"
                   "df.to_hdf(p, 'some', format='table', data_columns=['i64', 'ok'])\n"
                   "for k in ('blocks', 'cols', 'some'):\n"
                   "    r = pd.read_hdf(p, k)\n"
                   "    print(' '.join(str(c) for c in r.columns))\n"
                   "    hx(r.astype('float64').values.T)\n"
                   "    print(' '.join(str(v) for v in r.index.asi8))\n",
                   p, NULL);
    const char *keys[] = {"blocks", "cols", "some"};
    for (int k = 0; k < 3; k++) {
        tsf_frame *f = read_ok(p, keys[k]);
        cr_assert_str_eq(col_list(f), tsft_line(out, 3 * k), "%s", keys[k]);
        cr_assert_eq(f->time_kind, TSF_TIME_EPOCH);
        cr_assert_str_eq(f->time_name, "when");
        cr_assert_eq(f->step, 900 * SEC);
        cr_assert_eq(f->n_series, 1);
        assert_values(f, tsft_line(out, 3 * k + 1), keys[k]);
        assert_times(f, tsft_line(out, 3 * k + 2), 1);
        tsf_frame_free(f);
    }
}

/* df.set_index(["id", "time"]).to_hdf(format="table"): a long frame of one series per id, rows
 * interleaved, as pandas reads it back. */
Test(hdf5, reads_a_pandas_table_with_an_id_time_multiindex_as_one_series_per_id)
{
    const char *p = tsft_path(tsft_tmpdir(), "t.h5");
    char *out = py("import warnings; warnings.simplefilter('ignore')\n"
                   "t = pd.date_range('2016-07-01', periods=3, freq='D')\n"
                   "df = pd.DataFrame({'id': ['north', 'south'] * 3,\n"
                   "                   'time': t.repeat(2), 'y': np.arange(6) / 7,\n"
                   "                   'n': np.arange(6) * 10})\n"
                   "df.set_index(['id', 'time']).to_hdf(p, 'long', format='table')\n"
                   "r = pd.read_hdf(p, 'long')\n"
                   "for s in ('north', 'south'):\n"
                   "    hx(r.loc[s].values.T.astype('float64'))\n"
                   "    print(' '.join(str(v) for v in r.loc[s].index.asi8))\n"
                   "print(' '.join(r.columns), ' '.join(r.index.names))\n",
                   p, NULL);
    tsf_frame *f = read_ok(p, "long");
    cr_assert_eq(f->n_series, 2);
    cr_assert_str_eq(f->series_ids[0], "north");
    cr_assert_str_eq(f->series_ids[1], "south");
    cr_assert_str_eq(f->id_name, "id");
    cr_assert_str_eq(f->time_name, "time");
    cr_assert_str_eq(col_list(f), "y n");
    cr_assert_str_eq(tsft_line(out, 4), "y n id time");
    cr_assert_eq(f->step, 86400 * SEC);
    for (size_t s = 0; s < 2; s++) {
        size_t r0, n = tsf_frame_series_rows(f, s, &r0);
        size_t k;
        double *want = tsft_nums(tsft_line(out, 2 * (int)s), &k);
        cr_assert_eq(k, 2 * n);
        tsft_assert_identical(f->cols[0] + r0, want, n, s ? "y of south" : "y of north");
        tsft_assert_identical(f->cols[1] + r0, want + n, n, s ? "n of south" : "n of north");
        int64_t *wt = ints(tsft_line(out, 2 * (int)s + 1), &k);
        for (size_t i = 0; i < n; i++)
            cr_assert_eq(f->time[r0 + i] * 1000, wt[i], "series %zu time %zu", s, i);
        free(want);
        free(wt);
    }
    tsf_frame_free(f);
}

/* A flat table with one text column: a long table whose text column names the series (as a
 * CSV file with an id column); a Series table and an integer index. */
Test(hdf5, reads_a_pandas_table_text_column_as_the_series_id_and_a_series_table)
{
    const char *p = tsft_path(tsft_tmpdir(), "t.h5");
    py("import warnings; warnings.simplefilter('ignore')\n"
       "t = pd.date_range('2016-07-01', periods=2, freq='H', name='when').repeat(2)\n"
       "pd.DataFrame({'site': ['a', 'bb'] * 2, 'v': [1.0, 2.0, 3.0, 4.0]}, index=t)"
       ".to_hdf(p, 'long', format='table')\n"
       "pd.Series([0.5, 1.5, 2.5], name='load').to_hdf(p, 's', format='table')\n",
       p, NULL);
    tsf_hdf5_info info;
    tsf_frame *f = NULL;
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_hdf5_read_opt(&f, p, "long", NULL, &info, &err), TSF_OK, "%s", err.msg);
    cr_assert_str_eq(info.notes, "text column \"site\" read as the series id");
    cr_assert_eq(f->n_series, 2);
    cr_assert_str_eq(f->series_ids[1], "bb");
    cr_assert_str_eq(f->id_name, "site");
    cr_assert_str_eq(f->time_name, "when");
    double want[] = {1, 3, 2, 4};
    tsft_assert_identical(f->cols[0], want, 4, "values by series");
    int64_t wt[] = {T0, T0 + 3600 * SEC, T0, T0 + 3600 * SEC};
    for (int i = 0; i < 4; i++)
        cr_assert_eq(f->time[i], wt[i], "time[%d]", i);
    tsf_frame_free(f);
    f = read_ok(p, "s");
    cr_assert_str_eq(col_list(f), "load");
    cr_assert_eq(f->time_kind, TSF_TIME_INDEX);
    cr_assert_eq(f->time[2], 2);
    double ws[] = {0.5, 1.5, 2.5};
    tsft_assert_identical(f->cols[0], ws, 3, "series");
    tsf_frame_free(f);
}

/* A categorical column of a pandas table holds codes: refused, never read as values. */
Test(hdf5, refuses_a_categorical_column_of_a_pandas_table_naming_it)
{
    const char *p = tsft_path(tsft_tmpdir(), "c.h5");
    py("import warnings; warnings.simplefilter('ignore')\n"
       "pd.DataFrame({'c': pd.Categorical([1.5, 2.5, 1.5]), 'y': [1.0, 2.0, 3.0]})"
       ".to_hdf(p, 'data', format='table')\n",
       p, NULL);
    const char *m = read_fails(p, "data", TSF_ETYPE);
    char want[1024];
    snprintf(want, sizeof want,
             "%s: \"/data\": column \"c\" is categorical (pandas stores its codes, not its "
             "values); tsflow reads numeric columns only: convert it (df[\"c\"].astype(float) or "
             ".astype(str) for a series id) or drop it before to_hdf",
             p);
    assert_msg(m, want);
}

/* A PeriodIndex (fixed and table format) reads as the instants PeriodIndex.to_timestamp()
 * gives, on the matching calendar frequency, for every unit pandas has. */
Test(hdf5, reads_a_pandas_period_index_as_the_instants_to_timestamp_gives)
{
    const char *p = tsft_path(tsft_tmpdir(), "p.h5");
    static const char *const freqs[] = {"M", "Q",     "Q-NOV", "A", "A-JUN", "D",  "B",
                                        "W", "W-WED", "H",     "T", "S",     "2M", "3D"};
    char *out = py("import warnings; warnings.simplefilter('ignore')\n"
                   "for fq in sys.argv[2].split(','):\n"
                   "    pi = pd.period_range('1949-01-03 05:07', periods=4, freq=fq, name='when')\n"
                   "    df = pd.DataFrame({'y': np.arange(4.0)}, index=pi)\n"
                   "    df.to_hdf(p, 'f' + fq, format='fixed')\n"
                   "    df.to_hdf(p, 't' + fq, format='table')\n"
                   "    assert isinstance(pd.read_hdf(p, 't' + fq).index, pd.PeriodIndex)\n"
                   "    print(' '.join(str(v) for v in pi.to_timestamp().asi8))\n"
                   "    print(pd.infer_freq(pi.to_timestamp()))\n",
                   p, "M,Q,Q-NOV,A,A-JUN,D,B,W,W-WED,H,T,S,2M,3D");
    for (int k = 0; k < (int)(sizeof freqs / sizeof freqs[0]); k++) {
        for (int table = 0; table < 2; table++) {
            char key[32];
            snprintf(key, sizeof key, "%c%s", table ? 't' : 'f', freqs[k]);
            tsf_frame *f = read_ok(p, key);
            cr_assert_eq(f->time_kind, TSF_TIME_EPOCH, "%s", key);
            cr_assert_str_eq(f->time_name, "when", "%s", key);
            assert_times(f, tsft_line(out, 2 * k), 1);
            /* the frequency of the instants, as pandas.infer_freq (1.5's aliases) names it */
            char fq[32];
            cr_assert_str_eq(tsf_freq_format(&f->freq, 1, fq, sizeof fq), tsft_line(out, 2 * k + 1),
                             "%s", key);
            tsf_frame_free(f);
        }
    }
}

/* ---- refused inputs ------------------------------------------------------------------------ */

Test(hdf5, refuses_a_dataset_of_strings)
{
    const char *p = tsft_path(tsft_tmpdir(), "s.h5");
    py("h5py.File(p, 'w')['names'] = np.array([b'a', b'b'])\n", p, NULL);
    char want[512];
    snprintf(want, sizeof want,
             "%s: \"/names\" holds strings; expected numbers (float or integer): give the key "
             "of a numeric dataset or of a pandas frame",
             p);
    assert_msg(read_fails(p, "names", TSF_ETYPE), want);
}

Test(hdf5, refuses_a_dataset_of_the_wrong_rank)
{
    const char *p = tsft_path(tsft_tmpdir(), "r.h5");
    py("with h5py.File(p, 'w') as f:\n"
       "    f['cube'] = np.zeros((2, 3, 4))\n"
       "    f['one'] = 1.0\n",
       p, NULL);
    char want[512];
    snprintf(want, sizeof want,
             "%s: \"/cube\" is a 3-D dataset (2 x 3 x 4); expected 1-D (one column) or 2-D (rows "
             "x columns)",
             p);
    assert_msg(read_fails(p, "cube", TSF_EFORMAT), want);
    snprintf(want, sizeof want,
             "%s: \"/one\" is a 0-D dataset; expected 1-D (one column) or 2-D (rows x columns)", p);
    assert_msg(read_fails(p, "one", TSF_EFORMAT), want);
}

Test(hdf5, refuses_a_missing_key_listing_the_keys_that_exist)
{
    const char *p = tsft_path(tsft_tmpdir(), "k.h5");
    py("pd.DataFrame({'a': [1.0]}).to_hdf(p, 'frame', format='fixed')\n"
       "with h5py.File(p, 'a') as f: f['grp/x'] = np.zeros((2, 2)); f['y'] = np.zeros(3)\n",
       p, NULL);
    char want[512];
    snprintf(want, sizeof want,
             "%s: no dataset or group \"/grp/nope\"; the file holds: /frame (pandas frame), "
             "/grp/x (2-D), /y (1-D) (pass one of these as the key)",
             p);
    assert_msg(read_fails(p, "grp/nope", TSF_EINVAL), want);
    snprintf(want, sizeof want,
             "%s: no dataset or group \"/data\"; the file holds: /frame (pandas frame), "
             "/grp/x (2-D), /y (1-D) (pass one of these as the key)",
             p);
    assert_msg(read_fails(p, NULL, TSF_EINVAL), want);
    snprintf(want, sizeof want,
             "%s: \"/grp\" is a group, not a dataset or a pandas frame; give the key of a "
             "dataset inside it (e.g. \"grp/values\")",
             p);
    assert_msg(read_fails(p, "grp", TSF_EINVAL), want);
}

Test(hdf5, refuses_a_file_that_is_not_hdf5_or_does_not_exist)
{
    const char *d = tsft_tmpdir();
    const char *csv = tsft_path(d, "a.csv"), *none = tsft_path(d, "none.h5");
    tsft_write_file(csv, "time,a\n2016-07-01,1\n", (size_t)-1);
    char want[512];
    snprintf(want, sizeof want,
             "%s: not an HDF5 file (no HDF5 signature); expected a file written by pandas "
             "to_hdf, h5py or tsflow (CSV files are read as CSV)",
             csv);
    assert_msg(read_fails(csv, "data", TSF_EFORMAT), want);
    snprintf(want, sizeof want, "%s: cannot open: No such file or directory", none);
    assert_msg(read_fails(none, "data", TSF_EIO), want);
}

Test(hdf5, refuses_a_truncated_file_naming_the_cause)
{
    const char *d = tsft_tmpdir();
    const char *p = tsft_path(d, "full.h5"), *cut = tsft_path(d, "cut.h5");
    py("pd.DataFrame({'a': np.arange(10000.0)}).to_hdf(p, 'data', format='fixed')\n", p, NULL);
    size_t len;
    char *bytes = tsft_read_file(p, &len);
    tsft_write_file(cut, bytes, len / 2);
    free(bytes);
    const char *m = read_fails(cut, "data", TSF_EFORMAT);
    char want[512];
    snprintf(want, sizeof want,
             "%s: cannot open as HDF5: the file is truncated or damaged (HDF5: truncated file: "
             "eof = %zu,",
             cut, len / 2);
    cr_assert(strncmp(m, want, strlen(want)) == 0, "message:\n  got:  %s\n  want: %s...", m, want);
}

Test(hdf5, refuses_string_and_datetime_columns_of_a_pandas_frame_naming_them)
{
    const char *p = tsft_path(tsft_tmpdir(), "c.h5");
    py("df = pd.DataFrame({'a': [1.0, 2.0], 'name': ['x', 'y']})\n"
       "df.to_hdf(p, 'obj', format='fixed')\n"
       "df = pd.DataFrame({'a': [1.0, 2.0], 'at': pd.to_datetime(['2016-07-01', '2016-07-02'])})\n"
       "df.to_hdf(p, 'dt', format='fixed')\n",
       p, NULL);
    char want[512];
    snprintf(want, sizeof want,
             "%s: \"/obj\": column \"name\" holds Python objects (strings), which pandas pickles; "
             "tsflow reads numeric columns only: drop or convert it (df.drop(columns=[...]) or "
             "pd.to_numeric) before to_hdf",
             p);
    assert_msg(read_fails(p, "obj", TSF_ETYPE), want);
    snprintf(want, sizeof want,
             "%s: \"/dt\": column \"at\" holds datetime64 values; tsflow reads numeric columns "
             "only: drop it, or name it with --time-column (ingest.hdf5 option time_column) if "
             "it is the time",
             p);
    assert_msg(read_fails(p, "dt", TSF_ETYPE), want);
}

/* A pandas column of datetimes (naive or tz-aware) named by time_column is the time, as
 * pandas sees it; an integer column is an integer index unless time_unit says what it counts,
 * with a warning when it looks like epoch seconds. */
Test(hdf5, takes_a_datetime_or_integer_column_named_by_time_column_as_the_time)
{
    const char *p = tsft_path(tsft_tmpdir(), "tc.h5");
    char *out = py("t = pd.date_range('2016-07-01 01:00', periods=6, freq='30min', "
                   "tz='Europe/Berlin')\n"
                   "df = pd.DataFrame({'load': np.arange(6.0) / 3, 'at': t, "
                   "'naive': t.tz_localize(None), 'ep': t.asi8 // 10**9})\n"
                   "df[['load', 'at']].to_hdf(p, 'tz', format='fixed')\n"
                   "df[['naive', 'load']].to_hdf(p, 'naive', format='fixed')\n"
                   "df[['ep', 'load']].to_hdf(p, 'ep', format='fixed')\n"
                   "df[['naive', 'load']].assign(n2=df['naive']).to_hdf(p, 'two', format='fixed')\n"
                   "r = pd.read_hdf(p, 'tz')\n"
                   "print(' '.join(str(v // 10**9) for v in r['at'].astype('int64')))\n"
                   "r = pd.read_hdf(p, 'naive')\n"
                   "print(' '.join(str(v // 10**9) for v in r['naive'].astype('int64')))\n"
                   "hx(r['load'])\n",
                   p, NULL);
    tsf_hdf5_options opt;
    tsf_hdf5_options_init(&opt);
    opt.time_column = "at";
    tsf_frame *f = read_opt_ok(p, "tz", &opt, NULL);
    cr_assert_eq(f->time_kind, TSF_TIME_EPOCH);
    cr_assert_eq(f->n_cols, 1);
    cr_assert_str_eq(f->time_name, "at");
    cr_assert_eq(f->step, 1800 * SEC);
    assert_times(f, tsft_line(out, 0), 1000000000);
    assert_values(f, tsft_line(out, 2), "load beside a tz-aware time column");
    tsf_frame_free(f);
    opt.time_column = "naive";
    f = read_opt_ok(p, "naive", &opt, NULL);
    assert_times(f, tsft_line(out, 1), 1000000000);
    assert_values(f, tsft_line(out, 2), "load beside a naive time column");
    tsf_frame_free(f);
    /* two datetime columns share a block: the other one is refused by name */
    char want[512];
    snprintf(want, sizeof want,
             "%s: \"/two\": column \"n2\" holds datetime64 values besides the time column "
             "\"naive\"; tsflow reads numeric columns only: drop it",
             p);
    assert_msg(read_opt_fails(p, "two", &opt, TSF_ETYPE), want);
    opt.time_column = "ep";
    tsf_hdf5_info info;
    f = read_opt_ok(p, "ep", &opt, &info);
    cr_assert_eq(f->time_kind, TSF_TIME_INDEX);
    cr_assert_str_eq(info.notes,
                     "warning: time column \"ep\" holds numbers like epoch seconds (the first "
                     "would be 2016-06-30 23:00:00), read as an integer index; to read them as "
                     "times pass --time-unit s (ingest.hdf5 option time_unit)");
    tsf_frame_free(f);
    opt.time_unit = TSF_TIME_UNIT_S;
    f = read_opt_ok(p, "ep", &opt, NULL);
    cr_assert_eq(f->time_kind, TSF_TIME_EPOCH);
    assert_times(f, tsft_line(out, 0), 1000000000);
    tsf_frame_free(f);
}

Test(hdf5, refuses_unsorted_gapped_and_sub_microsecond_times_naming_the_rows)
{
    const char *p = tsft_path(tsft_tmpdir(), "g.h5");
    py("with h5py.File(p, 'w') as f:\n"
       "    for g, t in (('unsorted', [0, 120, 60]), ('gap', [0, 60, 180])):\n"
       "        f[g + '/v'] = np.zeros(3)\n"
       "        f[g + '/time'] = np.array(t)\n"
       "        f[g + '/time'].attrs['units'] = 'seconds since 2016-07-01'\n"
       "idx = pd.to_datetime(['2016-07-01 00:00:00', '2016-07-01 00:00:00.000000001'])\n"
       "pd.DataFrame({'a': [1.0, 2.0]}, index=idx).to_hdf(p, 'frac', format='fixed')\n",
       p, NULL);
    char want[1024];
    snprintf(want, sizeof want,
             "%s: \"/unsorted/v\": time dataset \"/unsorted/time\" is not in increasing order at "
             "rows 1 and 2 (2016-07-01 00:02:00, then 2016-07-01 00:01:00); sort it (and drop "
             "duplicates) before saving",
             p);
    assert_msg(read_fails(p, "unsorted/v", TSF_EFORMAT), want);
    snprintf(want, sizeof want,
             "%s: \"/gap/v\": rows 1 and 2 (2016-07-01 00:01:00, then 2016-07-01 00:03:00) are "
             "120 s apart, but the step is 60 s: the series has a gap; tsflow needs evenly "
             "spaced rows (the gaps=fill policy (--gaps fill) inserts NaN rows, or reindex to a "
             "regular index with NaN for the missing rows, e.g. df.asfreq(...), before saving)",
             p);
    assert_msg(read_fails(p, "gap/v", TSF_EFORMAT), want);
    snprintf(want, sizeof want,
             "%s: \"/frac\": index row 1 (1467331200000000001 ns) is not a whole microsecond, "
             "tsflow's resolution (it never rounds a time: floor the index to microseconds "
             "before saving, df.index.floor(\"us\"))",
             p);
    assert_msg(read_fails(p, "frac", TSF_EFORMAT), want);
}

Test(hdf5, refuses_a_columns_attribute_of_the_wrong_length_and_unknown_time_units)
{
    const char *p = tsft_path(tsft_tmpdir(), "u.h5");
    py("with h5py.File(p, 'w') as f:\n"
       "    f['m'] = np.zeros((2, 3)); f['m'].attrs['columns'] = ['a', 'b']\n"
       "    f['u/v'] = np.zeros(2); f['u/time'] = [0, 1]\n"
       "    f['u/time'].attrs['units'] = 'fortnights since 2016-07-01'\n",
       p, NULL);
    char want[512];
    snprintf(want, sizeof want,
             "%s: \"/m\": attribute \"columns\" has 2 names but the dataset has 3 columns "
             "(expected one string per column)",
             p);
    assert_msg(read_fails(p, "m", TSF_EFORMAT), want);
    snprintf(want, sizeof want,
             "%s: \"/u/v\": time dataset \"/u/time\" has units \"fortnights since 2016-07-01\"; "
             "expected CF units such as \"seconds since 1970-01-01T00:00:00Z\"",
             p);
    assert_msg(read_fails(p, "u/v", TSF_EFORMAT), want);
}

/* ---- tsf_hdf5_write ------------------------------------------------------------------------ */

/* Awkward doubles: thirds, signed zero, subnormals, extremes, NaN. */
static double awkward(size_t i, size_t j)
{
    static const double v[] = {0.1,
                               1.0 / 3,
                               -0.0,
                               5e-324,
                               1.7976931348623157e308,
                               NAN,
                               -2.5,
                               1e-310,
                               123456789.123456789,
                               -1e-300,
                               2.0 / 3,
                               0.0};
    return v[(i * 7 + j * 3) % (sizeof v / sizeof v[0])] * (i % 5 == 4 ? -1 : 1);
}

/* n rows of k columns; several series when n_series > 1 (ids "s0", "s1", ...; series s
 * starts s steps later than series 0). */
static tsf_frame *make_frame(size_t n_per, size_t k, size_t n_series, int epoch)
{
    tsf_frame *f = NULL;
    const char *names[] = {"load", "temp \xc3\xa9", "x"};
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_frame_alloc(&f, k, names, n_per * n_series, &err), TSF_OK, "%s", err.msg);
    size_t starts[8];
    const char *ids[8] = {"s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7"};
    size_t r = 0;
    for (size_t s = 0; s < n_series; s++) {
        starts[s] = r;
        for (size_t i = 0; i < n_per; i++, r++) {
            f->time[r] = epoch ? T0 + 900 * SEC * (int64_t)(i + s) : (int64_t)(i + s);
            for (size_t j = 0; j < k; j++)
                f->cols[j][r] = awkward(r, j);
        }
    }
    starts[n_series] = r;
    f->n_rows = r;
    f->time_kind = epoch ? TSF_TIME_EPOCH : TSF_TIME_INDEX;
    f->step = epoch ? 900 * SEC : 1;
    if (n_series > 1) {
        cr_assert_eq(tsf_frame_set_series(f, n_series, ids, starts, &err), TSF_OK);
        f->id_name = strdup("site");
    } else {
        f->series_start[1] = r;
    }
    if (epoch)
        cr_assert_eq(tsf_frame_set_time_name(f, "date", &err), TSF_OK);
    return f;
}

static void write_ok(const tsf_frame *f, const char *path, const char *key)
{
    tsf_err err = TSF_ERR_INIT;
    int rc = tsf_hdf5_write(f, path, key, &err);
    cr_assert_eq(rc, TSF_OK, "tsf_hdf5_write: %s", err.msg);
}

static const char *PD_CHECK = "df = pd.read_hdf(p, sys.argv[2])\n"
                              "print('|'.join(df.columns))\n"
                              "print(df.index.name, df.index.dtype)\n"
                              "hx(df.values.T)\n"
                              "print(' '.join(str(v) for v in np.asarray(df.index.values)"
                              ".astype('int64')))\n";

Test(hdf5, written_frame_reads_back_in_pandas_bit_identical)
{
    const char *p = tsft_path(tsft_tmpdir(), "w.h5");
    tsf_frame *f = make_frame(40, 3, 1, 1);
    write_ok(f, p, "data");
    char *out = py(PD_CHECK, p, "data");
    cr_assert_str_eq(tsft_line(out, 0), "load|temp \xc3\xa9|x");
    cr_assert_str_eq(tsft_line(out, 1), "date datetime64[ns]");
    assert_values(f, tsft_line(out, 2), "pandas.read_hdf values");
    assert_times(f, tsft_line(out, 3), 1);
    tsf_frame_free(f);
}

Test(hdf5, written_integer_index_frame_reads_back_in_pandas_with_an_int64_index)
{
    const char *p = tsft_path(tsft_tmpdir(), "w.h5");
    tsf_frame *f = make_frame(10, 2, 1, 0);
    write_ok(f, p, "nested/key");
    char *out = py(PD_CHECK, p, "/nested/key");
    cr_assert_str_eq(tsft_line(out, 1), "None int64");
    assert_values(f, tsft_line(out, 2), "pandas values");
    assert_times(f, tsft_line(out, 3), 1000); /* an index: as it is */
    tsf_frame_free(f);
}

Test(hdf5, written_long_frame_reads_back_in_pandas_as_an_id_time_multiindex)
{
    const char *p = tsft_path(tsft_tmpdir(), "w.h5");
    tsf_frame *f = make_frame(6, 2, 3, 1);
    write_ok(f, p, NULL);
    char *out = py("df = pd.read_hdf(p, 'data')\n"
                   "print(df.index.names, df.index.levels[1].dtype)\n"
                   "print(' '.join(df.index.get_level_values(0)))\n"
                   "hx(df.values.T)\n"
                   "print(' '.join(str(v) for v in df.index.get_level_values(1).asi8))\n"
                   "print(df.loc['s1'].shape)\n",
                   p, NULL);
    cr_assert_str_eq(tsft_line(out, 0), "['site', 'date'] datetime64[ns]");
    cr_assert_str_eq(tsft_line(out, 1), "s0 s0 s0 s0 s0 s0 s1 s1 s1 s1 s1 s1 s2 s2 s2 s2 s2 s2");
    assert_values(f, tsft_line(out, 2), "long frame values");
    assert_times(f, tsft_line(out, 3), 1);
    cr_assert_str_eq(tsft_line(out, 4), "(6, 2)");
    tsf_frame_free(f);
}

Test(hdf5, written_frame_opens_in_xarray_with_named_dimensions_and_cf_time)
{
    const char *p = tsft_path(tsft_tmpdir(), "w.h5");
    tsf_frame *f = make_frame(12, 3, 1, 1);
    write_ok(f, p, "data");
    char *out = py("import xarray as xr\n"
                   "ds = xr.open_dataset(p, engine='h5netcdf', group='data_xr')\n"
                   "v = ds['values']\n"
                   "print(v.dims, ds['time'].dtype, ds['time'].attrs.get('units'),\n"
                   "      ds['time'].encoding.get('units'))\n"
                   "print('|'.join(ds['column'].values))\n"
                   "hx(v.values.T)\n"
                   "print(' '.join(str(x) for x in ds['time'].values.astype('int64')))\n",
                   p, NULL);
    cr_assert_str_eq(tsft_line(out, 0),
                     "('time', 'column') datetime64[ns] None seconds since 1970-01-01T00:00:00Z");
    cr_assert_str_eq(tsft_line(out, 1), "load|temp \xc3\xa9|x");
    assert_values(f, tsft_line(out, 2), "xarray values");
    assert_times(f, tsft_line(out, 3), 1);
    tsf_frame_free(f);
}

Test(hdf5, written_long_frame_opens_in_xarray_as_series_time_column_with_nan_fill)
{
    const char *p = tsft_path(tsft_tmpdir(), "w.h5");
    tsf_frame *f = make_frame(3, 1, 2, 1); /* s1 starts one step after s0 */
    write_ok(f, p, "data");
    char *out = py("import xarray as xr\n"
                   "ds = xr.open_dataset(p, engine='h5netcdf', group='data_xr')\n"
                   "v = ds['values']\n"
                   "print(v.dims, list(ds['series'].values), v.shape)\n"
                   "hx(v.values)\n",
                   p, NULL);
    cr_assert_str_eq(tsft_line(out, 0), "('series', 'time', 'column') ['s0', 's1'] (2, 4, 1)");
    size_t n;
    double *got = tsft_nums(tsft_line(out, 1), &n);
    cr_assert_eq(n, 8);
    double want[8] = {f->cols[0][0], f->cols[0][1], f->cols[0][2], NAN,
                      NAN,           f->cols[0][3], f->cols[0][4], f->cols[0][5]};
    tsft_assert_identical(got, want, 8, "cube with NaN fill");
    free(got);
    tsf_frame_free(f);
}

Test(hdf5, written_frame_opens_in_h5py_with_dimension_scales_attached)
{
    const char *p = tsft_path(tsft_tmpdir(), "w.h5");
    tsf_frame *f = make_frame(5, 2, 1, 1);
    write_ok(f, p, "data");
    char *out = py("f = h5py.File(p, 'r')\n"
                   "v = f['data_xr/values']\n"
                   "print(v.dims[0][0].name, v.dims[1][0].name, v.dims[0].label or '-')\n"
                   "print(f['data_xr/time'].attrs['units'], f.attrs['tsflow_version'])\n"
                   "print(v.compression, v.dtype)\n",
                   p, NULL);
    cr_assert_str_eq(tsft_line(out, 0), "/data_xr/time /data_xr/column -");
    char want[128];
    snprintf(want, sizeof want, "seconds since 1970-01-01T00:00:00Z %s", tsf_version());
    cr_assert_str_eq(tsft_line(out, 1), want);
    cr_assert_str_eq(tsft_line(out, 2), "gzip float64");
    tsf_frame_free(f);
}

static void assert_same_frame(const tsf_frame *a, const tsf_frame *b)
{
    cr_assert_eq(a->n_rows, b->n_rows);
    cr_assert_eq(a->n_cols, b->n_cols);
    cr_assert_eq(a->time_kind, b->time_kind);
    cr_assert_eq(a->step, b->step);
    cr_assert_eq(a->n_series, b->n_series);
    cr_assert_eq(!a->time_name, !b->time_name);
    if (a->time_name)
        cr_assert_str_eq(a->time_name, b->time_name);
    for (size_t j = 0; j < a->n_cols; j++) {
        cr_assert_str_eq(a->col_names[j], b->col_names[j]);
        tsft_assert_identical(a->cols[j], b->cols[j], a->n_rows, a->col_names[j]);
    }
    for (size_t i = 0; i < a->n_rows; i++)
        cr_assert_eq(a->time[i], b->time[i], "time[%zu]", i);
    for (size_t s = 0; s <= a->n_series; s++)
        cr_assert_eq(a->series_start[s], b->series_start[s]);
    for (size_t s = 0; a->series_ids && s < a->n_series; s++)
        cr_assert_str_eq(a->series_ids[s], b->series_ids[s]);
    if (a->id_name)
        cr_assert_str_eq(a->id_name, b->id_name);
}

Test(hdf5, round_trip_through_tsflow_is_bit_identical)
{
    const char *p = tsft_path(tsft_tmpdir(), "w.h5");
    tsf_frame *wide = make_frame(50, 3, 1, 1), *lng = make_frame(7, 2, 3, 1),
              *idx = make_frame(9, 1, 1, 0);
    tsf_frame *list[] = {wide, lng, idx};
    for (int i = 0; i < 3; i++) {
        write_ok(list[i], p, "data");
        tsf_frame *back = read_ok(p, "data");
        assert_same_frame(list[i], back);
        tsf_frame_free(back);
        if (i != 1) { /* the xarray group of one series reads back as a plain dataset */
            back = read_ok(p, "data_xr/values");
            cr_assert_eq(back->time_kind, list[i]->time_kind);
            cr_assert_eq(back->step, list[i]->step);
            for (size_t j = 0; j < back->n_cols; j++) {
                cr_assert_str_eq(back->col_names[j], list[i]->col_names[j]);
                tsft_assert_identical(back->cols[j], list[i]->cols[j], back->n_rows, "xr");
            }
            tsf_frame_free(back);
        }
        tsf_frame_free(list[i]);
    }
}

static size_t count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    cr_assert(d);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

Test(hdf5, failed_write_leaves_the_old_file_intact_and_no_temporary)
{
    const char *d = tsft_tmpdir();
    const char *p = tsft_path(d, "out.h5");
    tsf_frame *f = make_frame(5, 2, 1, 1);
    write_ok(f, p, "data");
    size_t len0;
    char *before = tsft_read_file(p, &len0);
    tsf_err err = TSF_ERR_INIT;

    /* a key that fails after the file was begun */
    int rc = tsf_hdf5_write(f, p, "bad//key", &err);
    cr_assert_eq(rc, TSF_EINVAL);
    char want[512];
    snprintf(want, sizeof want,
             "%s: \"bad//key\" is not a valid key (expected names separated by '/')", p);
    assert_msg(err.msg, want);

    /* timestamps pandas cannot hold (year 2300) */
    f->time[4] = INT64_C(10413792000) * SEC;
    rc = tsf_hdf5_write(f, p, "data", &err);
    cr_assert_eq(rc, TSF_EINVAL);
    snprintf(want, sizeof want,
             "%s: table \"data\": column \"date\" row 4: 2300-01-01 00:00:00 is outside pandas' "
             "datetime64[ns] range (1677-09-21 to 2262-04-11), which the pandas layout stores "
             "times in (expected times in that range; write CSV, or only the xarray layout, "
             "whose CF units reach any year: export.hdf5 option data = xarray)",
             p);
    assert_msg(err.msg, want);

    /* a directory that does not exist */
    const char *nodir = tsft_path(d, "no/such/dir/out.h5");
    rc = tsf_hdf5_write(f, nodir, "data", &err);
    cr_assert_eq(rc, TSF_EIO);
    cr_assert(strstr(err.msg, "cannot write here: directory"), "%s", err.msg);

    /* an unwritable directory (root writes anywhere, so only as another user) */
    if (geteuid() != 0) {
        cr_assert_eq(chmod(d, 0555), 0);
        f->time[4] = T0 + 4 * 900 * SEC;
        rc = tsf_hdf5_write(f, p, "data", &err);
        chmod(d, 0755);
        cr_assert_eq(rc, TSF_EIO);
        cr_assert(strstr(err.msg, "cannot create a file in its directory"), "%s", err.msg);
    }

    size_t len1;
    char *after = tsft_read_file(p, &len1);
    cr_assert_eq(len0, len1);
    cr_assert(memcmp(before, after, len0) == 0, "the old file changed");
    cr_assert_eq(count_entries(d), 1, "a temporary was left behind");
    free(before);
    free(after);
    tsf_frame_free(f);
}

/* ---- the writer API (tsflow/h5out.h) ------------------------------------------------------- */

Test(h5out, writes_a_long_table_with_string_time_and_integer_index_levels_for_pandas)
{
    const char *p = tsft_path(tsft_tmpdir(), "x.h5");
    tsf_h5out *o = NULL;
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_h5out_open(&o, p, &err), TSF_OK, "%s", err.msg);
    const char *series[] = {"b", "a", "b", "\xc3\xa9", NULL};
    int64_t origin[] = {T0, T0, T0 + 3600 * SEC, T0, T0};
    int64_t step[] = {1, 2, 1, 1, 3};
    double actual[] = {0.1, NAN, -0.0, 1.0 / 3, 5e-324};
    int64_t count[] = {-7, 0, INT64_MAX, 3, 4};
    int64_t when[] = {T0 + 60 * SEC, TSF_H5_NAT, -86400 * SEC, T0, 0};
    tsf_h5_column cols[] = {
        {"series", TSF_H5_STRING, series}, {"origin", TSF_H5_TIME, origin},
        {"step", TSF_H5_INT64, step},      {"actual", TSF_H5_FLOAT64, actual},
        {"count", TSF_H5_INT64, count},    {"when", TSF_H5_TIME, when},
    };
    cr_assert_eq(tsf_h5out_pandas(o, "forecasts", 5, cols, 6, 3, &err), TSF_OK, "%s", err.msg);
    cr_assert_eq(tsf_h5out_commit(o, &err), TSF_OK, "%s", err.msg);
    char *out = py("df = pd.read_hdf(p, 'forecasts').reset_index()\n"
                   "print(list(df.columns), [str(t) for t in df.dtypes])\n"
                   "print(list(df['series']))\n"
                   "print(' '.join(str(v) for v in df['origin'].values.astype('int64') // 10**9))\n"
                   "print(list(df['step']), list(df['count']))\n"
                   "hx(df['actual'])\n"
                   "print([str(v) for v in df['when']])\n",
                   p, NULL);
    cr_assert_str_eq(tsft_line(out, 0), "['series', 'origin', 'step', 'actual', 'count', 'when'] "
                                        "['object', 'datetime64[ns]', 'int64', 'float64', 'int64', "
                                        "'datetime64[ns]']");
    cr_assert_str_eq(tsft_line(out, 1), "['b', 'a', 'b', '\xc3\xa9', '']");
    cr_assert_str_eq(tsft_line(out, 2), "1467331200 1467331200 1467334800 1467331200 1467331200");
    cr_assert_str_eq(tsft_line(out, 3), "[1, 2, 1, 1, 3] [-7, 0, 9223372036854775807, 3, 4]");
    size_t n;
    double *got = tsft_nums(tsft_line(out, 4), &n);
    cr_assert_eq(n, 5);
    tsft_assert_identical(got, actual, 5, "actual");
    free(got);
    cr_assert_str_eq(tsft_line(out, 5), "['2016-07-01 00:01:00', 'NaT', '1969-12-31 00:00:00', "
                                        "'2016-07-01 00:00:00', '1970-01-01 00:00:00']");
}

Test(h5out, refuses_a_string_column_outside_the_index)
{
    const char *d = tsft_tmpdir();
    const char *p = tsft_path(d, "x.h5");
    tsf_h5out *o = NULL;
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_h5out_open(&o, p, &err), TSF_OK, "%s", err.msg);
    const char *model[] = {"lstm", "naive"};
    double v[] = {1, 2};
    tsf_h5_column cols[] = {{"v", TSF_H5_FLOAT64, v}, {"model", TSF_H5_STRING, model}};
    cr_assert_eq(tsf_h5out_pandas(o, "t", 2, cols, 2, 0, &err), TSF_ETYPE);
    char want[512];
    snprintf(want, sizeof want,
             "%s: table \"t\": string column \"model\" must be an index level (pandas' fixed "
             "format can store string columns only by pickling them)",
             p);
    assert_msg(err.msg, want);
    tsf_h5out_abort(o);
    cr_assert_eq(count_entries(d), 0, "abort must remove the temporary");
}

Test(h5out, writes_a_cube_that_xarray_opens_with_named_dimensions_and_coordinates)
{
    const char *p = tsft_path(tsft_tmpdir(), "c.h5");
    tsf_h5out *o = NULL;
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_h5out_open(&o, p, &err), TSF_OK, "%s", err.msg);
    const char *series[] = {"north", "south", "\xc3\xa9st"};
    int64_t origin[] = {T0, T0 + 86400 * SEC};
    int64_t step[] = {1, 2, 3, 4};
    double q[] = {0.1, 0.5, 0.9};
    tsf_h5_dim dims[] = {{"series", 3, TSF_H5_STRING, series},
                         {"origin", 2, TSF_H5_TIME, origin},
                         {"step", 4, TSF_H5_INT64, step},
                         {"quantile", 3, TSF_H5_FLOAT64, q}};
    double v[72];
    for (int i = 0; i < 72; i++)
        v[i] = i % 11 == 5 ? NAN : i / 7.0;
    cr_assert_eq(tsf_h5out_array(o, "cube/forecast", dims, 4, v, &err), TSF_OK, "%s", err.msg);
    /* a second array reuses "series" and adds a dimension without coordinates */
    tsf_h5_dim dims2[] = {{"series", 3, TSF_H5_STRING, series}, {"fold", 2, 0, NULL}};
    double w[6] = {1, 2, 3, 4, 5, 6};
    cr_assert_eq(tsf_h5out_array(o, "cube/count", dims2, 2, w, &err), TSF_OK, "%s", err.msg);
    cr_assert_eq(tsf_h5out_attr_string(o, "cube/forecast", "long_name", "forecast", &err), TSF_OK,
                 "%s", err.msg);
    /* reusing a dimension with another size is refused */
    tsf_h5_dim bad[] = {{"series", 2, TSF_H5_STRING, series}};
    cr_assert_eq(tsf_h5out_array(o, "cube/bad", bad, 1, w, &err), TSF_EINVAL);
    char want[512];
    snprintf(want, sizeof want,
             "%s: dimension \"series\" of \"/cube/bad\" has size 2, but an earlier array gave it "
             "size 3",
             p);
    assert_msg(err.msg, want);
    cr_assert_eq(tsf_h5out_array(o, "cube/forecast", dims, 4, v, &err), TSF_EINVAL);
    snprintf(want, sizeof want, "%s: \"/cube/forecast\" is already written in this file", p);
    assert_msg(err.msg, want);
    cr_assert_eq(tsf_h5out_commit(o, &err), TSF_OK, "%s", err.msg);
    char *out = py("import xarray as xr\n"
                   "ds = xr.open_dataset(p, engine='h5netcdf', group='cube')\n"
                   "print(ds['forecast'].dims, ds['count'].dims, ds['forecast'].attrs)\n"
                   "print(list(ds['series'].values), list(ds['step'].values),\n"
                   "      list(ds['quantile'].values), [str(t) for t in ds['origin'].values])\n"
                   "hx(ds['forecast'].values)\n"
                   "hx(ds['count'].values)\n",
                   p, NULL);
    cr_assert_str_eq(tsft_line(out, 0),
                     "('series', 'origin', 'step', 'quantile') ('series', 'fold') "
                     "{'long_name': 'forecast'}");
    cr_assert_str_eq(tsft_line(out, 1), "['north', 'south', '\xc3\xa9st'] [1, 2, 3, 4] [0.1, 0.5, "
                                        "0.9] ['2016-07-01T00:00:00.000000000', "
                                        "'2016-07-02T00:00:00.000000000']");
    size_t n;
    double *got = tsft_nums(tsft_line(out, 2), &n);
    cr_assert_eq(n, 72);
    tsft_assert_identical(got, v, 72, "cube values");
    free(got);
    got = tsft_nums(tsft_line(out, 3), &n);
    cr_assert_eq(n, 6);
    tsft_assert_identical(got, w, 6, "second array");
    free(got);
}

Test(h5out, one_file_holds_tables_a_cube_and_provenance_that_each_reader_opens_cleanly)
{
    const char *p = tsft_path(tsft_tmpdir(), "export.h5");
    tsf_h5out *o = NULL;
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_h5out_open(&o, p, &err), TSF_OK, "%s", err.msg);
    const char *sid[] = {"a", "a", "b", "b"};
    int64_t ts[] = {T0, T0 + 900 * SEC, T0, T0 + 900 * SEC};
    double fc[] = {1, 2, 3, 4};
    tsf_h5_column fcols[] = {{"series", TSF_H5_STRING, sid},
                             {"timestamp", TSF_H5_TIME, ts},
                             {"lstm", TSF_H5_FLOAT64, fc}};
    const char *metric[] = {"mae", "rmse"};
    double val[] = {0.5, 0.75};
    tsf_h5_column mcols[] = {{"metric", TSF_H5_STRING, metric}, {"value", TSF_H5_FLOAT64, val}};
    int64_t epoch[] = {1, 2, 3};
    double loss[] = {0.9, 0.5, 0.25};
    tsf_h5_column hcols[] = {{"epoch", TSF_H5_INT64, epoch}, {"loss", TSF_H5_FLOAT64, loss}};
    const char *ids[] = {"a", "b"};
    int64_t tc[] = {T0, T0 + 900 * SEC};
    tsf_h5_dim dims[] = {{"series", 2, TSF_H5_STRING, ids}, {"timestamp", 2, TSF_H5_TIME, tc}};
    cr_assert_eq(tsf_h5out_pandas(o, "forecasts", 4, fcols, 3, 2, &err), TSF_OK, "%s", err.msg);
    cr_assert_eq(tsf_h5out_pandas(o, "metrics", 2, mcols, 2, 1, &err), TSF_OK, "%s", err.msg);
    cr_assert_eq(tsf_h5out_pandas(o, "training/history", 3, hcols, 2, 0, &err), TSF_OK, "%s",
                 err.msg);
    cr_assert_eq(tsf_h5out_array(o, "cube/forecast", dims, 2, fc, &err), TSF_OK, "%s", err.msg);
    cr_assert_eq(tsf_h5out_attr_string(o, "/", "pipeline", "[ingest]\npath = x.csv\n", &err),
                 TSF_OK);
    cr_assert_eq(tsf_h5out_commit(o, &err), TSF_OK, "%s", err.msg);
    char *out = py("import warnings, xarray as xr\n"
                   "warnings.simplefilter('error')\n"
                   "with pd.HDFStore(p, 'r') as s: print(s.keys())\n"
                   "print(pd.read_hdf(p, 'forecasts').loc['b', 'lstm'].tolist())\n"
                   "print(pd.read_hdf(p, 'metrics')['value'].to_dict())\n"
                   "print(pd.read_hdf(p, 'training/history').to_dict('list'))\n"
                   "ds = xr.open_dataset(p, engine='h5netcdf', group='cube')\n"
                   "print(ds['forecast'].sel(series='b').values.tolist())\n"
                   "print(repr(h5py.File(p, 'r').attrs['pipeline']))\n",
                   p, NULL);
    cr_assert_str_eq(tsft_line(out, 0), "['/forecasts', '/metrics', '/training/history']");
    cr_assert_str_eq(tsft_line(out, 1), "[3.0, 4.0]");
    cr_assert_str_eq(tsft_line(out, 2), "{'mae': 0.5, 'rmse': 0.75}");
    cr_assert_str_eq(tsft_line(out, 3), "{'epoch': [1, 2, 3], 'loss': [0.9, 0.5, 0.25]}");
    cr_assert_str_eq(tsft_line(out, 4), "[3.0, 4.0]");
    cr_assert_str_eq(tsft_line(out, 5), "'[ingest]\\npath = x.csv\\n'");
}

static void fill_rows(void *ctx, size_t row0, size_t n, double *buf)
{
    size_t inner = *(const size_t *)ctx;
    for (size_t i = 0; i < n * inner; i++)
        buf[i] = (double)(row0 * inner + i) / 3;
}

Test(h5out, writes_a_large_array_slab_by_slab_from_a_fill_function)
{
    const char *p = tsft_path(tsft_tmpdir(), "f.h5");
    tsf_h5out *o = NULL;
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_h5out_open(&o, p, &err), TSF_OK, "%s", err.msg);
    size_t inner = 1000; /* 3000 rows x 1000 = 24 MB: several slabs */
    tsf_h5_dim dims[] = {{"row", 3000, 0, NULL}, {"col", 1000, 0, NULL}};
    cr_assert_eq(tsf_h5out_array_fill(o, "big", dims, 2, fill_rows, &inner, &err), TSF_OK, "%s",
                 err.msg);
    cr_assert_eq(tsf_h5out_commit(o, &err), TSF_OK, "%s", err.msg);
    char *out = py("v = h5py.File(p, 'r')['big'][...]\n"
                   "want = np.arange(3000 * 1000, dtype='float64').reshape(3000, 1000) / 3\n"
                   "print(v.shape, np.array_equal(v, want))\n",
                   p, NULL);
    cr_assert_str_eq(tsft_line(out, 0), "(3000, 1000) True");
}

Test(h5out, writes_root_attributes_for_provenance)
{
    const char *p = tsft_path(tsft_tmpdir(), "a.h5");
    tsf_h5out *o = NULL;
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_h5out_open(&o, p, &err), TSF_OK, "%s", err.msg);
    size_t big_n = 100000; /* larger than HDF5's 64 KiB compact attribute limit */
    char *big = malloc(big_n + 1);
    for (size_t i = 0; i < big_n; i++)
        big[i] = (char)('a' + i % 26);
    big[big_n] = '\0';
    int64_t folds[] = {0, 100, 200};
    double scales[] = {0.5, 1.0 / 3};
    cr_assert_eq(tsf_h5out_attr_string(o, "/", "pipeline", big, &err), TSF_OK, "%s", err.msg);
    cr_assert_eq(tsf_h5out_attr_string(o, "", "input", "d\xc3\xa9mo.csv", &err), TSF_OK);
    cr_assert_eq(tsf_h5out_attr_int(o, "/", "seed", -42, &err), TSF_OK);
    cr_assert_eq(tsf_h5out_attr_double(o, "/", "lr", 1e-3, &err), TSF_OK);
    cr_assert_eq(tsf_h5out_attr_ints(o, "/", "folds", folds, 3, &err), TSF_OK);
    cr_assert_eq(tsf_h5out_attr_doubles(o, "/", "scales", scales, 2, &err), TSF_OK);
    cr_assert_eq(tsf_h5out_attr_int(o, "/", "seed", 7, &err), TSF_OK); /* replaces */
    cr_assert_eq(tsf_h5out_attr_int(o, "nothing", "x", 1, &err), TSF_EINVAL);
    cr_assert(strstr(err.msg, "cannot set attribute \"x\": no object \"/nothing\" has been "
                              "written"),
              "%s", err.msg);
    cr_assert_eq(tsf_h5out_commit(o, &err), TSF_OK, "%s", err.msg);
    free(big);
    char *out = py("a = h5py.File(p, 'r').attrs\n"
                   "print(len(a['pipeline']), a['pipeline'][:5], a['input'], a['seed'], "
                   "float(a['lr']).hex())\n"
                   "print(list(a['folds']), [float(x).hex() for x in a['scales']])\n",
                   p, NULL);
    cr_assert_str_eq(tsft_line(out, 0), "100000 abcde d\xc3\xa9mo.csv 7 0x1.0624dd2f1a9fcp-10");
    cr_assert_str_eq(tsft_line(out, 1), "[0, 100, 200] ['0x1.0000000000000p-1', "
                                        "'0x1.5555555555555p-2']");
}

/* The plain kind (model files, checkpoints): no PyTables bookkeeping; datasets keep their
 * types, as h5py sees them; one double is a scalar attribute, as checkpoints store quantiles. */
Test(h5out, writes_plain_groups_and_typed_datasets_that_h5py_reads_back)
{
    const char *p = tsft_path(tsft_tmpdir(), "plain.h5");
    tsf_h5out *o = NULL;
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_h5out_open_kind(&o, p, TSF_H5OUT_PLAIN, &err), TSF_OK, "%s", err.msg);
    float w[6] = {0.5f, -1.25f, 3, 4, 5, 6};
    uint64_t u[3] = {1, UINT64_MAX, 7};
    uint8_t b[2] = {0, 1};
    double q = 0.5;
    size_t d23[2] = {2, 3}, d3[1] = {3}, d2[1] = {2}, d0[1] = {0};
    cr_assert_eq(tsf_h5out_group(o, "model", &err), TSF_OK, "%s", err.msg);
    cr_assert_eq(
        tsf_h5out_dataset(o, "model/weights/lstm.weight_ih_l0", TSF_H5_FLOAT32, 2, d23, w, &err),
        TSF_OK, "%s", err.msg);
    cr_assert_eq(tsf_h5out_dataset(o, "model/order", TSF_H5_UINT64, 1, d3, u, &err), TSF_OK);
    cr_assert_eq(tsf_h5out_dataset(o, "model/clipped", TSF_H5_UINT8, 1, d2, b, &err), TSF_OK);
    cr_assert_eq(tsf_h5out_dataset(o, "model/none", TSF_H5_FLOAT64, 1, d0, NULL, &err), TSF_OK);
    cr_assert_eq(tsf_h5out_attr_doubles_or_scalar(o, "model", "quantiles", &q, 1, &err), TSF_OK);
    cr_assert_eq(tsf_h5out_dataset(o, "model/t", TSF_H5_TIME, 1, d2, u, &err), TSF_EINVAL);
    cr_assert_eq(tsf_h5out_group(o, "model", &err), TSF_EINVAL);
    cr_assert(strstr(err.msg, "\"/model\" is already written in this file"), "%s", err.msg);
    cr_assert_eq(tsf_h5out_commit(o, &err), TSF_OK, "%s", err.msg);
    char *out = py("f = h5py.File(p, 'r')\n"
                   "print(sorted(f.attrs.keys()), sorted(f['model'].attrs.keys()))\n"
                   "w = f['model/weights/lstm.weight_ih_l0']\n"
                   "print(w.dtype, w.shape, w[()].ravel().tolist())\n"
                   "print(f['model/order'].dtype, f['model/order'][()].tolist(),\n"
                   "      f['model/clipped'].dtype, f['model/none'].shape,\n"
                   "      f['model'].attrs['quantiles'].shape, f['model'].attrs['quantiles'])\n",
                   p, NULL);
    cr_assert_str_eq(tsft_line(out, 0), "[] ['quantiles']");
    cr_assert_str_eq(tsft_line(out, 1), "float32 (2, 3) [0.5, -1.25, 3.0, 4.0, 5.0, 6.0]");
    cr_assert_str_eq(tsft_line(out, 2), "uint64 [1, 18446744073709551615, 7] uint8 (0,) () 0.5");
}

/* What pandas' to_hdf(complevel=4, complib="zlib") writes: MultiIndex codes in the smallest
 * signed type, large arrays chunked with shuffle and deflate; pandas reads the same frame. */
Test(h5out, writes_small_codes_and_compressed_arrays_that_pandas_reads_unchanged)
{
    const char *p = tsft_path(tsft_tmpdir(), "z.h5");
    tsf_frame *f = make_frame(300, 2, 3, 1);
    write_ok(f, p, "data");
    char *out = py("f = h5py.File(p, 'r')['data']\n"
                   "print(f['axis1_label0'].dtype, f['axis1_label1'].dtype,\n"
                   "      f['block0_values'].compression, f['block0_values'].shuffle,\n"
                   "      f['block0_values'].attrs['CLASS'], f['axis0'].compression)\n"
                   "df = pd.read_hdf(p, 'data')\n"
                   "print(df.shape, df.index.names)\n"
                   "hx(df.values.T)\n",
                   p, NULL);
    cr_assert_str_eq(tsft_line(out, 0), "int8 int16 gzip True b'CARRAY' None");
    cr_assert_str_eq(tsft_line(out, 1), "(900, 2) ['site', 'date']");
    assert_values(f, tsft_line(out, 2), "pandas values of a compressed frame");
    tsf_frame_free(f);
}

/* LZF is h5py's own filter: Debian's libhdf5 cannot decompress it. The message names the filter
 * and what to do, instead of HDF5's "can't open directory" deep in its stack. */
Test(hdf5, names_a_compression_filter_it_lacks_and_how_to_get_it)
{
    const char *p = tsft_path(tsft_tmpdir(), "lzf.h5");
    py("with h5py.File(p, 'w') as f:\n"
       "    f.create_dataset('x', data=np.arange(1000.0), compression='lzf')\n",
       p, NULL);
    char want[512];
    snprintf(want, sizeof want,
             "%s: \"/x\": the dataset is compressed with LZF (HDF5 filter 32000), which this HDF5 "
             "library cannot decompress: Debian has no plugin for it (h5py carries its own), or "
             "re-save it with zlib (pandas: to_hdf(..., complib=\"zlib\"); h5py: "
             "compression=\"gzip\")",
             p);
    assert_msg(read_fails(p, "x", TSF_EFORMAT), want);
}

Test(hdf5, warns_when_a_time_dataset_looks_like_epoch_times_without_units)
{
    const char *p = tsft_path(tsft_tmpdir(), "ep.h5");
    py("with h5py.File(p, 'w') as f:\n"
       "    f['v'] = np.arange(3.0)\n"
       "    f['time'] = np.array([1467331200, 1467334800, 1467338400]) * 1000\n",
       p, NULL);
    tsf_hdf5_info info;
    tsf_frame *f = read_opt_ok(p, "v", NULL, &info);
    cr_assert_eq(f->time_kind, TSF_TIME_INDEX);
    cr_assert_str_eq(info.notes,
                     "warning: time dataset \"/time\" holds numbers like epoch milliseconds (the "
                     "first would be 2016-07-01 00:00:00) but has no units, so they are read as "
                     "an integer index; to read them as times give it the attribute "
                     "units=\"milliseconds since 1970-01-01\" (or pass --time-unit ms)");
    tsf_frame_free(f);
    /* the option says what the file does not */
    tsf_hdf5_options opt;
    tsf_hdf5_options_init(&opt);
    opt.time_unit = TSF_TIME_UNIT_MS;
    f = read_opt_ok(p, "v", &opt, &info);
    cr_assert_eq(f->time_kind, TSF_TIME_EPOCH);
    cr_assert_eq(f->time[0], T0);
    cr_assert_eq(f->step, 3600 * SEC);
    cr_assert_str_eq(info.notes, "");
    tsf_frame_free(f);
}
