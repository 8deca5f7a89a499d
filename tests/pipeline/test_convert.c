/* tsflow convert: CSV -> HDF5 that pandas reads as the same doubles as pandas.read_csv, HDF5 ->
 * CSV back, and the same on ETTm1 (suite data). Files are generated at test time by Debian's
 * python3 and written only to temporary directories. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "support.h"

/* Python: compare a CSV (read by pandas.read_csv with round-trip parsing) with an HDF5 key
 * (pandas.read_hdf) value by value, bitwise (NaN matches NaN), plus index and columns. Prints
 * "same" or the first difference. argv: csv, h5, key, index columns (e.g. "0" or "0,1"). */
static const char *SAME_AS_CSV =
    "import sys, numpy as np, pandas as pd\n"
    "csv, h5, key, ix = sys.argv[1:5]\n"
    "ix = [int(i) for i in ix.split(',')]\n"
    "a = pd.read_csv(csv, index_col=ix, parse_dates=True, float_precision='round_trip')\n"
    "if len(ix) > 1:\n"
    "    a.index = a.index.set_levels(pd.to_datetime(a.index.levels[1]), level=1)\n"
    "a = a.astype('float64')\n"
    "b = pd.read_hdf(h5, key)\n"
    "if list(a.columns) != list(b.columns): print('columns', list(a.columns), list(b.columns))\n"
    "elif not a.index.equals(b.index): print('index', a.index[:3], b.index[:3])\n"
    "elif b.values.dtype != np.float64: print('dtype', b.values.dtype)\n"
    "else:\n"
    "    x, y = a.values, b.values\n"
    "    same = (x.view('int64') == y.view('int64')) | (np.isnan(x) & np.isnan(y))\n"
    "    if same.all(): print('same', x.shape[0], x.shape[1], int(np.isnan(x).sum()))\n"
    "    else:\n"
    "        i, j = np.argwhere(~same)[0]\n"
    "        print('differ at', i, j, float(x[i, j]).hex(), float(y[i, j]).hex())\n";

static char *python(const char *code, char **err_out, const char *a1, const char *a2,
                    const char *a3, const char *a4)
{
    char *out = NULL, *err = NULL;
    int rc = tsft_python(code, &out, &err, a1, a2, a3, a4, NULL);
    if (rc != 0 && strstr(err, "ModuleNotFoundError"))
        cr_skip_test("Debian's python3 lacks a module (scripts/setup.sh installs it): %s", err);
    cr_assert_eq(rc, 0, "python failed (%d): %s", rc, err);
    if (err_out)
        *err_out = err;
    return out;
}

static void convert_ok(const char *in, const char *out, const char *opt, const char *val)
{
    char *o = NULL, *e = NULL;
    int rc = opt ? tsft_tsflow(&o, &e, "convert", opt, val, in, out, NULL)
                 : tsft_tsflow(&o, &e, "convert", in, out, NULL);
    cr_assert_eq(rc, 0, "tsflow convert %s %s exited %d: %s", in, out, rc, e);
    cr_assert_str_eq(e, "", "tsflow convert printed on stderr: %s", e);
}

/* A CSV of awkward doubles: 17 significant digits, huge and tiny exponents, negative zero,
 * missing values; 15-minute timestamps. */
static const char *GEN_CSV =
    "import sys, numpy as np, pandas as pd\n"
    "rng = np.random.default_rng(11)\n"
    "n = 2000\n"
    "t = pd.date_range('2016-07-01', periods=n, freq='15min', name='date')\n"
    "df = pd.DataFrame({'load': rng.normal(size=n) * 10.0 ** rng.integers(-300, 300, n),\n"
    "                   'temp': rng.normal(size=n),\n"
    "                   'tiny': rng.random(n) * 1e-310,\n"
    "                   'third': np.arange(n) / 3}, index=t)\n"
    "df.iloc[::97, 0] = np.nan\n"
    "df.iloc[5, 1] = -0.0\n"
    "df.iloc[7, 3] = np.nan\n"
    "df.to_csv(sys.argv[1])\n";

Test(convert, csv_to_hdf5_gives_pandas_the_same_doubles_as_read_csv)
{
    const char *d = tsft_tmpdir();
    const char *csv = tsft_path(d, "in.csv"), *h5 = tsft_path(d, "out.h5");
    python(GEN_CSV, NULL, csv, NULL, NULL, NULL);
    convert_ok(csv, h5, NULL, NULL);
    char *out = python(SAME_AS_CSV, NULL, csv, h5, "data", "0");
    cr_assert_str_eq(out, "same 2000 4 22\n");
}

Test(convert, hdf5_back_to_csv_keeps_every_value_and_timestamp)
{
    const char *d = tsft_tmpdir();
    const char *csv = tsft_path(d, "in.csv"), *h5 = tsft_path(d, "mid.h5"),
               *back = tsft_path(d, "back.csv"), *h5b = tsft_path(d, "again.h5");
    python(GEN_CSV, NULL, csv, NULL, NULL, NULL);
    convert_ok(csv, h5, "--out-key", "load/v1");
    convert_ok(h5, back, "--key", "load/v1");
    /* the CSV tsflow wrote reads (in pandas) as the same doubles as the original */
    convert_ok(back, h5b, NULL, NULL);
    char *out = python(SAME_AS_CSV, NULL, back, h5, "load/v1", "0");
    cr_assert_str_eq(out, "same 2000 4 22\n");
    out = python(SAME_AS_CSV, NULL, csv, h5b, "data", "0");
    cr_assert_str_eq(out, "same 2000 4 22\n");
    char *head = tsft_read_file(back, NULL);
    cr_assert(!strncmp(head, "date,load,temp,tiny,third\n2016-07-01 00:00:00,", 46), "%.80s", head);
    free(head);
}

/* A 10 ms sensor as pandas writes it (ISO fractions) and yearly data from 1700: CSV -> HDF5
 * gives pandas.read_hdf the DatetimeIndex pandas.read_csv reads (and xarray the same times from
 * CF units in microseconds), HDF5 -> CSV gives back the times as pandas wrote them. */
static const char *SUBSEC_PY =
    "import sys, numpy as np, pandas as pd, h5py, xarray as xr\n"
    "step, d = sys.argv[1:3]\n"
    "csv, h5, back = d + '/in.csv', d + '/mid.h5', d + '/back.csv'\n"
    "if step == 'make':\n"
    "    t = pd.date_range('2021-06-01 12:00:59.5', periods=400, freq='10L', name='time')\n"
    "    v = np.sin(np.arange(400) / 7.0)\n"
    "    pd.DataFrame({'accel': v}, index=t).to_csv(csv)\n"
    "    with open(d + '/years.csv', 'w') as f:\n"
    "        f.write('Year,Sunspots\\n')\n"
    "        f.writelines('%d,%g\\n' % (y, y % 11) for y in range(1700, 2021))\n"
    "    sys.exit(0)\n"
    "a = pd.read_csv(csv, index_col=0, parse_dates=True, float_precision='round_trip')\n"
    "b = pd.read_hdf(h5, 'data')\n"
    "print('index', a.index.equals(b.index), pd.infer_freq(b.index))\n"
    "print('values', bool((a.values == b.values).all()))\n"
    "with h5py.File(h5, 'r') as f:\n"
    "    print('units', f['data_xr/time'].attrs['units'])\n"
    "x = xr.open_dataset(h5, engine='h5netcdf', group='data_xr')\n"
    "print('xarray', bool((x['time'].values == a.index.values).all()))\n"
    "col = lambda p: [l.split(',')[0] for l in open(p)]\n"
    "print('text', col(csv) == col(back))\n"
    "y = pd.read_hdf(d + '/years.h5', 'data')\n"
    "want = pd.to_datetime(['%d-01-01' % k for k in range(1700, 2021)])\n"
    "print('years', y.index.equals(want), pd.infer_freq(y.index), y.index.name)\n";

Test(convert, sub_second_and_1700s_times_keep_pandas_index_through_hdf5_and_back)
{
    const char *d = tsft_tmpdir();
    python(SUBSEC_PY, NULL, "make", d, NULL, NULL);
    convert_ok(tsft_path(d, "in.csv"), tsft_path(d, "mid.h5"), NULL, NULL);
    convert_ok(tsft_path(d, "mid.h5"), tsft_path(d, "back.csv"), NULL, NULL);
    convert_ok(tsft_path(d, "years.csv"), tsft_path(d, "years.h5"), NULL, NULL);
    char *out = python(SUBSEC_PY, NULL, "check", d, NULL, NULL);
    cr_assert_str_eq(out, "index True 10L\nvalues True\n"
                          "units microseconds since 1970-01-01T00:00:00Z\nxarray True\n"
                          "text True\nyears True AS-JAN Year\n");
    char *head = tsft_read_file(tsft_path(d, "back.csv"), NULL);
    cr_assert(!strncmp(head, "time,accel\n2021-06-01 12:00:59.500,", 35), "%.60s", head);
    free(head);
}

/* pandas' index freq: for each alias, a CSV from pandas.date_range (local wall-clock times for
 * a zone, converted with --tz) converted to HDF5 reads back with the index and freq that
 * date_range gives, also after --gaps fill inserted a missing day; the xarray group has the
 * alias as its freq attribute. */
static const char *FREQ_PY =
    "import sys, numpy as np, pandas as pd\n"
    "step, d = sys.argv[1:3]\n"
    "cases = [('MS', None), ('M', None), ('Q-DEC', None), ('QS-OCT', None), ('AS-JAN', None),\n"
    "         ('A-JUN', None), ('W-SUN', None), ('W-WED', None), ('B', None), ('D', None),\n"
    "         ('15T', None), ('2H', None), ('10L', None), ('100U', None), ('H', 'Europe/Berlin'),\n"
    "         ('D', 'Europe/Berlin')]\n"
    "for k, (fq, tz) in enumerate(cases):\n"
    "    i = pd.date_range('2021-03-01', periods=60, freq=fq, tz=tz, name='t')\n"
    "    if step == 'make':\n"
    "        i = i.tz_localize(None) if tz else i\n"
    "        pd.DataFrame({'y': np.arange(60.0)}, index=i).to_csv('%s/f%d.csv' % (d, k))\n"
    "        print(tz or '')\n"
    "    else:\n"
    "        b = pd.read_hdf('%s/f%d.h5' % (d, k), 'data').index\n"
    "        if not (b.equals(i) and b.freq == i.freq and b.freq is not None):\n"
    "            print(fq, tz, b.freq, i.freq, b[:2])\n"
    "if step == 'check':\n"
    "    import xarray as xr\n"
    "    x = xr.open_dataset(d + '/f0.h5', engine='h5netcdf', group='data_xr')\n"
    "    print('xarray', x.attrs.get('freq'))\n"
    "    g = pd.read_hdf(d + '/gap.h5', 'data')\n"
    "    print('gap', len(g), g.index.freq, g['y'].isna().sum())\n";

Test(convert, pandas_index_freq_is_what_date_range_gives)
{
    const char *d = tsft_tmpdir();
    char *zones = python(FREQ_PY, NULL, "make", d, NULL, NULL);
    char *line = zones;
    for (int k = 0; line && *line; k++) {
        char *nl = strchr(line, '\n'), in[64], out[64];
        if (nl)
            *nl = '\0';
        snprintf(in, sizeof in, "f%d.csv", k);
        snprintf(out, sizeof out, "f%d.h5", k);
        convert_ok(tsft_path(d, in), tsft_path(d, out), *line ? "--tz" : NULL, line);
        line = nl ? nl + 1 : NULL;
    }
    tsft_write_file(tsft_path(d, "gap.csv"),
                    "t,y\n2021-01-01,1\n2021-01-02,2\n2021-01-04,3\n2021-01-05,4\n", (size_t)-1);
    convert_ok(tsft_path(d, "gap.csv"), tsft_path(d, "gap.h5"), "--gaps", "fill");
    char *out = python(FREQ_PY, NULL, "check", d, NULL, NULL);
    cr_assert_str_eq(out, "xarray MS\ngap 5 <Day> 1\n", "indexes that differ from date_range:\n%s",
                     out);
}

Test(convert, long_csv_becomes_an_id_time_multiindex_frame_in_pandas)
{
    const char *d = tsft_tmpdir();
    const char *csv = tsft_path(d, "long.csv"), *h5 = tsft_path(d, "long.h5"),
               *back = tsft_path(d, "back.csv");
    python("import sys, numpy as np, pandas as pd\n"
           "rng = np.random.default_rng(5)\n"
           "parts = []\n"
           "for k, sid in enumerate(['north', 'south', 'west']):\n"
           "    t = pd.date_range('2016-07-01', periods=50 + k, freq='H')\n"
           "    parts.append(pd.DataFrame({'site': sid, 'date': t.strftime('%Y-%m-%d %H:%M:%S'),\n"
           "                               'v': rng.normal(size=len(t)) / 3}))\n"
           "pd.concat(parts).to_csv(sys.argv[1], index=False)\n",
           NULL, csv, NULL, NULL, NULL);
    convert_ok(csv, h5, "--id-column", "site");
    char *out = python(SAME_AS_CSV, NULL, csv, h5, "data", "0,1");
    cr_assert_str_eq(out, "same 153 1 0\n");
    convert_ok(h5, back, NULL, NULL);
    char *text = tsft_read_file(back, NULL);
    cr_assert(!strncmp(text, "site,date,v\nnorth,2016-07-01 00:00:00,", 38), "%.80s", text);
    free(text);
}

/* A pandas table with two text columns: one could be the series id, two cannot. */
Test(convert, reports_a_table_format_input_with_two_text_columns_and_leaves_no_output)
{
    const char *d = tsft_tmpdir();
    const char *h5 = tsft_path(d, "t.h5"), *out_csv = tsft_path(d, "t.csv");
    python("import sys, pandas as pd\n"
           "pd.DataFrame({'a': [1.0, 2.0], 's': ['x', 'y'], 'u': ['p', 'q']})"
           ".to_hdf(sys.argv[1], 'data', format='table')\n",
           NULL, h5, NULL, NULL, NULL);
    char *o = NULL, *e = NULL;
    int rc = tsft_tsflow(&o, &e, "convert", h5, out_csv, NULL);
    cr_assert_eq(rc, 1);
    char want[512];
    snprintf(want, sizeof want,
             "tsflow: %s: \"/data\": column \"s\" (and others in its block) holds text; tsflow "
             "reads numeric columns and at most one text column (the series id): drop or "
             "convert it before to_hdf\n",
             h5);
    cr_assert_str_eq(e, want);
    cr_assert_null(tsft_read_file(out_csv, NULL));
}

/* The read options mean for an HDF5 input what they mean for a CSV one: the same file as CSV
 * and as HDF5 (written by pandas and h5py) converts to the same CSV under the same options. */
Test(convert, honours_columns_time_column_no_time_and_gaps_for_hdf5_as_for_csv)
{
    const char *d = tsft_tmpdir();
    const char *csv = tsft_path(d, "in.csv"), *h5 = tsft_path(d, "in.h5");
    python("import sys, numpy as np, pandas as pd, h5py\n"
           "t = pd.to_datetime(['2016-07-01 00:00', '2016-07-01 01:00', '2016-07-01 03:00'])\n"
           "df = pd.DataFrame({'a': [1.5, 2.5, 4.5], 'b': [10.0, 20, 40], 'c': [7, 8, 9.25]},\n"
           "                  index=pd.Index(t, name='time'))\n"
           "df.to_csv(sys.argv[1])\n"
           "df.to_hdf(sys.argv[2], 'pd', format='fixed')\n"
           "with h5py.File(sys.argv[2], 'a') as f:\n"
           "    f['v'] = df.values; f['v'].attrs['columns'] = list(df.columns)\n"
           "    f['time'] = (t.values.astype('int64') // 10**9)\n"
           "    f['time'].attrs['units'] = 'seconds since 1970-01-01'\n",
           NULL, csv, h5, NULL, NULL);
    const char *cases[][4] = {
        {"--columns", "c,a", "--gaps", "fill"},
        {"--no-time", "--columns", "b", NULL},
        {"--time-column", "time", "--gaps", "fill"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        for (int k = 0; k < 3; k++) {
            const char *in = k == 0 ? csv : h5, *key = k == 1 ? "pd" : k == 2 ? "v" : "data";
            char name[32];
            snprintf(name, sizeof name, "out%zu_%d.csv", c, k);
            const char *out = tsft_path(d, name);
            char *o = NULL, *e = NULL;
            int n = cases[c][3] ? 4 : 3;
            int rc = n == 4 ? tsft_tsflow(&o, &e, "convert", "--key", key, cases[c][0], cases[c][1],
                                          cases[c][2], cases[c][3], in, out, NULL)
                            : tsft_tsflow(&o, &e, "convert", "--key", key, cases[c][0], cases[c][1],
                                          cases[c][2], in, out, NULL);
            cr_assert_eq(rc, 0, "case %zu, %s key %s: %s", c, in, key, e);
            cr_assert_str_eq(e, "");
        }
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char a[32], b[32], x[32];
        snprintf(a, sizeof a, "out%zu_0.csv", c);
        snprintf(b, sizeof b, "out%zu_1.csv", c);
        snprintf(x, sizeof x, "out%zu_2.csv", c);
        char *want = tsft_keep(tsft_read_file(tsft_path(d, a), NULL));
        cr_assert_str_eq(tsft_keep(tsft_read_file(tsft_path(d, b), NULL)), want, "case %zu, pandas",
                         c);
        cr_assert_str_eq(tsft_keep(tsft_read_file(tsft_path(d, x), NULL)), want, "case %zu, h5py",
                         c);
    }
    /* the filled gap is there, as pandas' asfreq puts it */
    cr_assert(strstr(tsft_keep(tsft_read_file(tsft_path(d, "out0_0.csv"), NULL)),
                     "2016-07-01 02:00:00,,\n"));
    char *o = NULL, *e = NULL;
    int rc =
        tsft_tsflow(&o, &e, "convert", "--key", "v", "--na", "x", h5, tsft_path(d, "no.csv"), NULL);
    cr_assert_eq(rc, 2);
    char want[512];
    snprintf(want, sizeof want,
             "tsflow: %s: --na applies to CSV files only; %s is HDF5 (a pandas frame carries its "
             "series ids in its index, and missing values are NaN or a CF _FillValue)\n",
             h5, h5);
    cr_assert_str_eq(e, want);
}

/* tsflow's own forecasts table (and any compound table, as R's data.frames are stored) goes to
 * CSV as it is: the same rows pandas reads from the forecasts group. */
Test(convert, writes_tsflows_forecasts_table_and_compound_tables_to_csv)
{
    const char *d = tsft_tmpdir();
    const char *csv = tsft_path(d, "in.csv"), *bt = tsft_path(d, "bt.h5"),
               *fc = tsft_path(d, "fc.csv"), *rdf = tsft_path(d, "rdf.h5"),
               *rcsv = tsft_path(d, "rdf.csv");
    python("import sys, numpy as np, pandas as pd\n"
           "t = pd.date_range('2016-07-01', periods=200, freq='h', name='time')\n"
           "pd.DataFrame({'y': np.sin(np.arange(200) / 3) + np.arange(200) / 7}, index=t)"
           ".to_csv(sys.argv[1])\n",
           NULL, csv, NULL, NULL, NULL);
    char *o = NULL, *e = NULL;
    int rc = tsft_tsflow(&o, &e, "backtest", csv, "--horizon", "4", "--model", "none", "--out", bt,
                         NULL);
    cr_assert_eq(rc, 0, "%s", e);
    convert_ok(bt, fc, "--key", "forecasts");
    char *out = python("import sys, numpy as np, pandas as pd\n"
                       "a = pd.read_hdf(sys.argv[1], 'forecasts').reset_index()\n"
                       "b = pd.read_csv(sys.argv[2], float_precision='round_trip')\n"
                       "for c in ('origin', 'timestamp', 'cutoff'): b[c] = pd.to_datetime(b[c])\n"
                       "b['series'] = b['series'].astype(str)\n"
                       "print(list(a.columns) == list(b.columns), len(a) == len(b) > 0,\n"
                       "      all(a[c].equals(b[c]) for c in a.columns))\n",
                       NULL, bt, fc, NULL, NULL);
    cr_assert_str_eq(out, "True True True\n");
    /* a data.frame as rhdf5 stores it: fixed-length date text and numeric fields */
    python("import sys, numpy as np, h5py\n"
           "t = np.dtype([('date', 'S10'), ('x', '<f8'), ('n', '<i4')])\n"
           "v = np.array([(b'2020-01-01', 1.5, 1), (b'2020-01-02', 0.1, -2)], dtype=t)\n"
           "h5py.File(sys.argv[1], 'w')['df'] = v\n",
           NULL, rdf, NULL, NULL, NULL);
    convert_ok(rdf, rcsv, "--key", "df");
    cr_assert_str_eq(tsft_keep(tsft_read_file(rcsv, NULL)),
                     "date,x,n\n2020-01-01,1.5,1\n2020-01-02,0.1,-2\n");
}

Test(convert, refuses_an_output_format_it_cannot_write)
{
    const char *d = tsft_tmpdir();
    const char *csv = tsft_path(d, "in.csv"), *nc = tsft_path(d, "out.nc");
    tsft_write_file(csv, "a\n1\n2\n", (size_t)-1);
    char *o = NULL, *e = NULL;
    int rc = tsft_tsflow(&o, &e, "convert", csv, nc, NULL);
    cr_assert_eq(rc, 2);
    char want[512];
    snprintf(want, sizeof want,
             "tsflow: convert: cannot write \"%s\" (.nc is not a format tsflow writes): OUT must "
             "end in .csv (CSV) or .h5, .hdf5, .hdf (HDF5; xarray opens it with "
             "engine=\"h5netcdf\")\n",
             nc);
    cr_assert_str_eq(e, want);
    cr_assert_null(tsft_read_file(nc, NULL));
}

/* An output through a dangling symbolic link creates the file the link names and keeps the link,
 * as an output through a link to an existing file replaces that file and keeps the link. */
Test(convert, writes_through_a_dangling_link_and_keeps_the_link)
{
    const char *d = tsft_tmpdir();
    const char *csv = tsft_path(d, "in.csv"), *link = tsft_path(d, "out.csv");
    tsft_write_file(csv, "a\n1\n2\n", (size_t)-1);
    cr_assert_eq(symlink("made.csv", link), 0);
    convert_ok(csv, link, NULL, NULL);
    struct stat st;
    cr_assert(lstat(link, &st) == 0 && S_ISLNK(st.st_mode), "the link was replaced by a file");
    cr_assert_str_eq(tsft_keep(tsft_read_file(tsft_path(d, "made.csv"), NULL)), "a\n1\n2\n");
    convert_ok(csv, link, NULL, NULL); /* now a link to a file: the same */
    cr_assert(lstat(link, &st) == 0 && S_ISLNK(st.st_mode), "the link was replaced by a file");
}

/* ---- ETTm1 (suite data) -------------------------------------------------------------------- */

Test(convert_data, ettm1_converts_to_hdf5_that_pandas_and_xarray_read_exactly)
{
    TSFT_NEED_SHARED(ett, "ett/ETTm1.csv");
    const char *d = tsft_tmpdir();
    const char *h5 = tsft_path(d, "ettm1.h5"), *back = tsft_path(d, "ettm1.csv");
    convert_ok(ett, h5, "--out-key", "ettm1");
    char *out = python(SAME_AS_CSV, NULL, ett, h5, "ettm1", "0");
    cr_assert_str_eq(out, "same 69680 7 0\n");
    out = python("import sys, numpy as np, pandas as pd, xarray as xr\n"
                 "ds = xr.open_dataset(sys.argv[1], engine='h5netcdf', group='ettm1_xr')\n"
                 "a = pd.read_csv(sys.argv[2], index_col=0, parse_dates=True,\n"
                 "                float_precision='round_trip')\n"
                 "v = ds['values']\n"
                 "print(v.dims, v.shape, list(ds['column'].values) == list(a.columns),\n"
                 "      np.array_equal(ds['time'].values, a.index.values),\n"
                 "      np.array_equal(v.values.view('int64'), a.values.view('int64')))\n",
                 NULL, h5, ett, NULL, NULL);
    cr_assert_str_eq(out, "('time', 'column') (69680, 7) True True True\n");
    convert_ok(h5, back, "--key", "ettm1");
    out = python(SAME_AS_CSV, NULL, back, h5, "ettm1", "0");
    cr_assert_str_eq(out, "same 69680 7 0\n");
}
