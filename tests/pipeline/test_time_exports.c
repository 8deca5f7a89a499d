/* Time zones through forecasts and backtests: a Europe/Berlin hourly file of local times across
 * the spring change of offset, forecast and backtested, whose exports (the long table in HDF5
 * and CSV, the cube's coordinates, the folds table and attributes, the metrics' cutoffs, the
 * plots' time axis) are checked against pandas' own date_range with tz. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

#define ASSERT_HAS(text, sub)                                                                      \
    cr_assert(strstr((text), (sub)), "missing \"%s\" in:\n%s", (sub), (text))

#define TZ "Europe/Berlin"

/* Hourly local times of Berlin, without offsets, 2021-03-20 00:00 .. 2021-03-30 23:00 (the
 * clocks skip 02:00 on 2021-03-28): the whole file, and its head before 2021-03-28 00:00. */
static void berlin_csv(const char **all, const char **head)
{
    const char *dir = tsft_tmpdir();
    *all = tsft_path(dir, "berlin.csv");
    *head = tsft_path(dir, "berlin_head.csv");
    char *out = NULL, *err = NULL;
    int rc = tsft_python(
        "import sys, numpy as np, pandas as pd\n"
        "i = pd.date_range('2021-03-20', '2021-03-30 23:00', freq='h', tz='" TZ "')\n"
        "v = 10 + np.sin(np.arange(len(i)) * 2 * np.pi / 24) + 0.01 * np.arange(len(i))\n"
        "d = pd.DataFrame({'time': i.tz_localize(None).strftime('%Y-%m-%d %H:%M:%S'),\n"
        "                  'load': v.round(4)})\n"
        "d.to_csv(sys.argv[1], index=False)\n"
        "d[i < pd.Timestamp('2021-03-28', tz='" TZ "')].to_csv(sys.argv[2], index=False)\n",
        &out, &err, *all, *head, NULL);
    cr_assert_eq(rc, 0, "python: %s", err);
}

/* The forecast rows of an export (HDF5 and CSV) and its cube, against pandas: every forecast
 * time, in row order, is pandas.date_range(argv[3], periods=argv[4], freq='h', tz=TZ); origins
 * and cutoffs are zone-aware and consistent with it. */
static const char forecasts_reference[] =
    "import sys, numpy as np, pandas as pd, xarray as xr\n"
    "h5, csv, start, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])\n"
    "tz = '" TZ "'\n"
    "want = pd.date_range(start, periods=n, freq='h', tz=tz)\n"
    "d = pd.read_hdf(h5, 'forecasts').reset_index()\n"
    "ts, org, cut = (pd.DatetimeIndex(d[c]) for c in ('timestamp', 'origin', 'cutoff'))\n"
    "for x in (ts, org, cut):\n"
    "    assert str(x.tz) == tz, x.dtype\n"
    "assert ts.equals(want), (ts, want)\n"
    "back = ts - pd.to_timedelta(d.step.values - 1, unit='h')\n"
    "assert (back == org).all() and (cut == org - pd.Timedelta(hours=1)).all()\n"
    "c = pd.read_csv(csv)\n"
    "assert c.timestamp.tolist() == [str(t) for t in want], c.timestamp.tolist()[:30]\n"
    "assert c.origin.tolist() == [str(t) for t in org]\n"
    "assert c.cutoff.tolist() == [str(t) for t in cut]\n"
    "assert pd.DatetimeIndex(pd.to_datetime(c.timestamp, utc=True)).tz_convert(tz).equals(want)\n"
    "x = xr.open_dataset(h5, engine='h5netcdf', group='cube')\n"
    "assert x.origin.attrs['tz'] == tz and x.valid_time.attrs['tz'] == tz, x\n"
    "vt = pd.DatetimeIndex(x.valid_time.values.ravel()).tz_localize('UTC').tz_convert(tz)\n"
    "assert vt.equals(want), (vt, want)\n"
    "xo = pd.DatetimeIndex(x.origin.values).tz_localize('UTC').tz_convert(tz)\n"
    "assert xo.equals(pd.DatetimeIndex(org.unique())), (xo, org.unique())\n"
    "print('ok', len(d), (ts.strftime('%z') == '+0200').sum())\n";

static void check_forecasts(const char *h5, const char *csv, const char *start, const char *n)
{
    char *py = NULL, *perr = NULL;
    int rc = tsft_python(forecasts_reference, &py, &perr, h5, csv, start, n, NULL);
    cr_assert_eq(rc, 0, "python: %s", perr);
    int rows = 0, summer = 0;
    cr_assert_eq(sscanf(py, "ok %d %d", &rows, &summer), 2, "%s", py);
    cr_assert_eq(rows, atoi(n));
    cr_assert_gt(summer, 0, "no forecast time after the change of offset: %s", py);
}

Test(time_exports, backtest_exports_carry_the_zone_across_a_change_of_offset)
{
    tsft_need_python_modules("pandas,tables,xarray,h5netcdf,h5py");
    const char *data, *head, *dir = tsft_tmpdir();
    berlin_csv(&data, &head);
    const char *h5 = tsft_path(dir, "bt.h5"), *csv = tsft_path(dir, "bt.csv");
    char *out = NULL, *err = NULL;
    /* origins at local midnights 2021-03-27 00:00+01:00, then every 24 hours: the second fold
     * runs through the skipped hour */
    int rc =
        tsft_tsflow(&out, &err, "backtest", data, "--tz", TZ, "--horizon", "24", "--model", "none",
                    "--first-origin", "2021-03-27T00:00:00+01:00", "--out", h5, "--csv", csv, NULL);
    cr_assert_eq(rc, 0, "%s", err);
    check_forecasts(h5, csv, "2021-03-27 00:00", "72");
    /* the folds table and the fold attributes: zone-aware cutoffs, an hour before each origin */
    char *py = NULL, *perr = NULL;
    rc = tsft_python(
        "import sys, numpy as np, pandas as pd, h5py\n"
        "tz = '" TZ "'\n"
        "fo = pd.read_hdf(sys.argv[1], 'folds')\n"
        "for c in ('origin', 'cutoff', 'fit_start', 'fit_end'):\n"
        "    assert str(pd.DatetimeIndex(fo[c]).tz) == tz, fo.dtypes\n"
        "org = pd.date_range('2021-03-27', periods=3, freq='24h', tz=tz)\n"
        "assert pd.DatetimeIndex(fo.origin).equals(org), fo.origin\n"
        "assert pd.DatetimeIndex(fo.cutoff).equals(org - pd.Timedelta(hours=1)), fo.cutoff\n"
        "assert (fo.fit_start == pd.Timestamp('2021-03-20', tz=tz)).all()\n"
        "f = h5py.File(sys.argv[1], 'r')\n"
        "assert f.attrs['fold_tz'] == tz\n"
        "units = f.attrs['fold_time_units']\n"
        "per = {'seconds': 10**9, 'milliseconds': 10**6, 'microseconds': 10**3}[units.split()[0]]\n"
        "cut = np.asarray(f.attrs['fold_cutoff'])[0]\n"
        "assert (cut == pd.DatetimeIndex(fo.cutoff).asi8 // per).all(), (cut, fo.cutoff)\n"
        "lines = f.attrs['folds'].splitlines()\n"
        "assert lines[1].startswith('fold 1: origin 2021-03-28 00:00:00+01:00'), lines\n"
        "assert lines[2].startswith('fold 2: origin 2021-03-29 01:00:00+02:00'), lines\n"
        "print('ok')\n",
        &py, &perr, h5, NULL);
    cr_assert_eq(rc, 0, "python: %s", perr);
    ASSERT_HAS(py, "ok");
}

Test(time_exports, forecast_exports_carry_the_zone_across_a_change_of_offset)
{
    tsft_need_python_modules("pandas,tables,xarray,h5netcdf");
    const char *data, *head, *dir = tsft_tmpdir();
    berlin_csv(&data, &head);
    const char *h5 = tsft_path(dir, "f.h5"), *csv = tsft_path(dir, "f.csv");
    char *out = NULL, *err = NULL;
    /* the data ends at 2021-03-27 23:00+01:00: the 24 forecast hours run through the skipped
     * hour (a tiny network: this is about times, not accuracy) */
    int rc = tsft_tsflow(&out, &err, "forecast", head, "--tz", TZ, "--horizon", "24", "--epochs",
                         "1", "--hidden", "2", "--out", h5, "--csv", csv, NULL);
    cr_assert_eq(rc, 0, "%s", err);
    check_forecasts(h5, csv, "2021-03-28 00:00", "24");
}

Test(time_exports, plots_show_the_local_clock)
{
    tsft_need_python_modules("pandas");
    const char *data, *head, *dir = tsft_tmpdir();
    berlin_csv(&data, &head);
    const char *h5 = tsft_path(dir, "bt.h5"), *prefix = tsft_path(dir, "pl");
    char *out = NULL, *err = NULL;
    int rc = tsft_tsflow(&out, &err, "backtest", data, "--tz", TZ, "--horizon", "24", "--model",
                         "none", "--first-origin", "2021-03-27T00:00:00+01:00", "--out", h5,
                         "--plots", prefix, NULL);
    if (rc != 0 && strstr(err, "gnuplot"))
        cr_skip_test("gnuplot is not installed: %s", err);
    cr_assert_eq(rc, 0, "%s", err);
    char *gp = tsft_read_file(tsft_path(dir, "pl.gp"), NULL);
    cr_assert(gp);
    ASSERT_HAS(gp, "set xlabel \"time (" TZ ")\"");
    /* the naive forecasts' times are the local wall clock written as if UTC, which is what
     * pandas' tz_localize(None) gives */
    char *py = NULL, *perr = NULL;
    rc = tsft_python(
        "import sys, pandas as pd\n"
        "want = pd.date_range('2021-03-27', periods=72, freq='h', tz='" TZ "')\n"
        "want = want.tz_localize(None).asi8 // 10**9\n"
        "blocks = open(sys.argv[1]).read().split('# naive: time forecast')[1]\n"
        "got = [int(l.split()[0]) for l in blocks.split('#')[0].splitlines() if l.strip()]\n"
        "assert got == list(want), (got[:30], list(want[:30]))\n"
        "print('ok')\n",
        &py, &perr, tsft_path(dir, "pl_backtest.dat"), NULL);
    cr_assert_eq(rc, 0, "python: %s", perr);
    ASSERT_HAS(py, "ok");
}

Test(time_exports, several_series_keep_the_zone_on_the_time_level_of_the_index)
{
    tsft_need_python_modules("pandas,tables");
    const char *dir = tsft_tmpdir();
    const char *csv = tsft_path(dir, "long.csv"), *h5 = tsft_path(dir, "long.h5");
    tsft_write_file(csv,
                    "id,time,v\n"
                    "a,2021-03-28 00:00:00+01:00,1\na,2021-03-28 01:00:00+01:00,2\n"
                    "a,2021-03-28 03:00:00+02:00,3\nb,2021-03-28 00:00:00+01:00,4\n"
                    "b,2021-03-28 01:00:00+01:00,5\nb,2021-03-28 03:00:00+02:00,6\n",
                    (size_t)-1);
    char *out = NULL, *err = NULL;
    int rc = tsft_tsflow(&out, &err, "convert", csv, h5, "--id-column", "id", "--tz", TZ, NULL);
    cr_assert_eq(rc, 0, "%s", err);
    char *py = NULL, *perr = NULL;
    rc = tsft_python("import sys, pandas as pd\n"
                     "d = pd.read_hdf(sys.argv[1], 'data')\n"
                     "want = pd.date_range('2021-03-28', periods=3, freq='h', tz='" TZ "')\n"
                     "t = pd.DatetimeIndex(d.reset_index()['time'])\n"
                     "assert t.equals(want.append(want)), t\n"
                     "print('ok')\n",
                     &py, &perr, h5, NULL);
    cr_assert_eq(rc, 0, "python: %s", perr);
    ASSERT_HAS(py, "ok");
    /* and tsflow reads the zone back from the level */
    rc = tsft_tsflow(&out, &err, "inspect", h5, NULL);
    cr_assert_eq(rc, 0, "%s", err);
    ASSERT_HAS(out, "2021-03-28 03:00:00+02:00");
}

/* The metrics rows by fold against the folds table, in HDF5 and in CSV: each fold's cutoff is
 * the latest cutoff of its series (the one shared cutoff with time origins); rows of the other
 * groupings have none. */
static const char metrics_cutoff_reference[] =
    "import sys, pandas as pd\n"
    "h5, csv, tz = sys.argv[1], sys.argv[2], sys.argv[3] or None\n"
    "fo = pd.read_hdf(h5, 'folds').reset_index()\n"
    "want = fo.groupby('fold').cutoff.max()\n"
    "m = pd.read_hdf(h5, 'metrics').reset_index()\n"
    "assert str(pd.DatetimeIndex(m.cutoff).tz) == str(tz), m.cutoff.dtype\n"
    "f = m[m.by == 'fold']\n"
    "assert len(f) > 0 and (f.cutoff.values == want.loc[f.key].values).all(), (f, want)\n"
    "assert m[m.by != 'fold'].cutoff.isna().all()\n"
    "c = pd.read_csv(csv)\n"
    "cf = c[c.by == 'fold']\n"
    "assert cf.cutoff.tolist() == [str(t) for t in want.loc[cf.key]], (cf.cutoff, want)\n"
    "assert c[c.by != 'fold'].cutoff.isna().all()\n"
    "print('ok', want.nunique(), len(f))\n";

static void check_metrics_cutoffs(const char *h5, const char *csv, const char *tz, int n_folds)
{
    char *py = NULL, *perr = NULL;
    int rc = tsft_python(metrics_cutoff_reference, &py, &perr, h5, csv, tz, NULL);
    cr_assert_eq(rc, 0, "python: %s", perr);
    int distinct = 0, rows = 0;
    cr_assert_eq(sscanf(py, "ok %d %d", &distinct, &rows), 2, "%s", py);
    cr_assert_eq(distinct, n_folds, "%s", py);
}

Test(time_exports, metrics_by_fold_carry_the_folds_cutoff_in_the_zone)
{
    tsft_need_python_modules("pandas,tables");
    const char *data, *head, *dir = tsft_tmpdir();
    berlin_csv(&data, &head);
    const char *h5 = tsft_path(dir, "bt.h5"), *csv = tsft_path(dir, "metrics.csv");
    char *out = NULL, *err = NULL;
    int rc = tsft_tsflow(&out, &err, "backtest", data, "--tz", TZ, "--horizon", "24", "--model",
                         "none", "--first-origin", "2021-03-27T00:00:00+01:00", "--out", h5,
                         "--metrics-csv", csv, NULL);
    cr_assert_eq(rc, 0, "%s", err);
    check_metrics_cutoffs(h5, csv, TZ, 3);
}

Test(time_exports, metrics_by_fold_of_row_origins_carry_the_latest_series_cutoff)
{
    tsft_need_python_modules("pandas,tables");
    const char *dir = tsft_tmpdir(), *data = tsft_path(dir, "two.csv");
    char *out = NULL, *err = NULL;
    /* two daily series that end 10 days apart: row origins give each its own cutoffs */
    int rc =
        tsft_python("import sys, numpy as np, pandas as pd\n"
                    "a = pd.date_range('2020-01-01', periods=60, freq='D')\n"
                    "b = pd.date_range('2020-01-11', periods=60, freq='D')\n"
                    "d = pd.concat([pd.DataFrame({'id': 'a', 'time': a, 'v': np.arange(60.)}),\n"
                    "               pd.DataFrame({'id': 'b', 'time': b, 'v': np.arange(60.) "
                    "** 1.5})])\n"
                    "d.to_csv(sys.argv[1], index=False)\n",
                    &out, &err, data, NULL);
    cr_assert_eq(rc, 0, "python: %s", err);
    const char *h5 = tsft_path(dir, "bt.h5"), *csv = tsft_path(dir, "metrics.csv");
    rc = tsft_tsflow(&out, &err, "backtest", data, "--id-column", "id", "--origins", "rows",
                     "--horizon", "7", "--stride", "2", "--model", "none", "--out", h5,
                     "--metrics-csv", csv, NULL);
    cr_assert_eq(rc, 0, "%s", err);
    check_metrics_cutoffs(h5, csv, "", 3);
}

Test(time_exports, first_origin_and_end_without_offset_are_local_times_of_the_data_zone)
{
    tsft_need_python_modules("pandas,tables");
    const char *data, *head, *dir = tsft_tmpdir();
    berlin_csv(&data, &head);
    const char *h5 = tsft_path(dir, "bt.h5");
    char *out = NULL, *err = NULL;
    /* the end is the first forecast hour a third fold would need: two folds fit before it */
    int rc = tsft_tsflow(&out, &err, "backtest", data, "--tz", TZ, "--horizon", "24", "--model",
                         "none", "--first-origin", "2021-03-27 00:00", "--end", "2021-03-29 01:00",
                         "--out", h5, NULL);
    cr_assert_eq(rc, 0, "%s", err);
    ASSERT_HAS(err, "first_origin 2021-03-27 00:00 has no offset: read in the data's zone, "
                    "2021-03-27 00:00:00+01:00");
    ASSERT_HAS(err, "end 2021-03-29 01:00 has no offset: read in the data's zone, "
                    "2021-03-29 01:00:00+02:00");
    char *py = NULL, *perr = NULL;
    rc = tsft_python("import sys, pandas as pd\n"
                     "tz = '" TZ "'\n"
                     "fo = pd.read_hdf(sys.argv[1], 'folds')\n"
                     "want = pd.date_range('2021-03-27', periods=2, freq='24h', tz=tz)\n"
                     "assert pd.DatetimeIndex(fo.origin).equals(want), fo.origin\n"
                     "d = pd.read_hdf(sys.argv[1], 'forecasts').reset_index()\n"
                     "assert d.timestamp.max() < pd.Timestamp('2021-03-29 01:00', tz=tz)\n"
                     "print('ok')\n",
                     &py, &perr, h5, NULL);
    cr_assert_eq(rc, 0, "python: %s", perr);
    ASSERT_HAS(py, "ok");
}

Test(time_exports, daily_folds_step_on_local_midnights_across_a_change_of_offset)
{
    tsft_need_python_modules("pandas,tables");
    const char *dir = tsft_tmpdir(), *data = tsft_path(dir, "daily.csv");
    char *out = NULL, *err = NULL;
    int rc = tsft_python("import sys, numpy as np, pandas as pd\n"
                         "i = pd.date_range('2021-02-01', '2021-04-30', freq='D')\n"
                         "pd.DataFrame({'time': i.strftime('%Y-%m-%d'), 'v': np.arange(len(i)) "
                         "* 1.0}).to_csv(sys.argv[1], index=False)\n",
                         &out, &err, data, NULL);
    cr_assert_eq(rc, 0, "python: %s", err);
    const char *h5 = tsft_path(dir, "bt.h5");
    rc = tsft_tsflow(&out, &err, "backtest", data, "--tz", TZ, "--horizon", "7", "--model", "none",
                     "--first-origin", "2021-03-22", "--end", "2021-04-12", "--out", h5, NULL);
    cr_assert_eq(rc, 0, "%s", err);
    /* fold 1's cutoff is local midnight of 2021-03-28, the day of the change: its naive
     * forecast is that day's value, not the next one's (which a grid of UTC days, an hour off
     * after the change, would let into the history) */
    char *py = NULL, *perr = NULL;
    rc = tsft_python(
        "import sys, pandas as pd\n"
        "tz = '" TZ "'\n"
        "data = pd.read_csv(sys.argv[2], index_col=0, parse_dates=True).v.tz_localize(tz)\n"
        "fo = pd.read_hdf(sys.argv[1], 'folds')\n"
        "org = pd.date_range('2021-03-22', periods=3, freq='7D', tz=tz)\n"
        "assert pd.DatetimeIndex(fo.origin).equals(org), fo.origin\n"
        "assert pd.DatetimeIndex(fo.cutoff).equals(org - pd.DateOffset(days=1)), fo.cutoff\n"
        "d = pd.read_hdf(sys.argv[1], 'forecasts').reset_index()\n"
        "want = pd.date_range('2021-03-22', periods=21, freq='D', tz=tz)\n"
        "assert pd.DatetimeIndex(d.timestamp).equals(want), d.timestamp\n"
        "assert (d.naive.values == data.loc[pd.DatetimeIndex(d.cutoff)].values).all()\n"
        "assert (d.actual.values == data.loc[want].values).all()\n"
        "print('ok')\n",
        &py, &perr, h5, data, NULL);
    cr_assert_eq(rc, 0, "python: %s", perr);
    ASSERT_HAS(py, "ok");
}

/* Bad first_origin and end values: the exit status and the message naming the option. */
Test(time_exports, bad_first_origin_and_end_times_are_refused_naming_the_option)
{
    const char *data, *head, *dir = tsft_tmpdir();
    tsft_need_python_modules("pandas");
    berlin_csv(&data, &head);
    const char *h5 = tsft_path(dir, "bt.h5");
    static const struct {
        const char *flag, *value, *origins;
        int rc;
        const char *msg;
    } cases[] = {
        {"--end", "2020-01-01", "times", 1,
         "end 2020-01-01 00:00:00+01:00 is outside the data, which runs from 2021-03-20 "
         "00:00:00+01:00 to 2021-03-31 00:00:00+02:00"},
        {"--end", "2022-01-01", "times", 1, "end 2022-01-01 00:00:00+01:00 is outside the data"},
        {"--first-origin", "2019-01-01", "times", 1,
         "first_origin 2019-01-01 00:00:00+01:00 is not after the first instant of the data, "
         "2021-03-20 00:00:00+01:00"},
        {"--first-origin", "2021-03-28T02:30", "times", 1,
         "first_origin \"2021-03-28T02:30\" is a local time of the data's zone Europe/Berlin "
         "that the clocks skip (they jump to 2021-03-28 03:00:00+02:00"},
        {"--end", "tomorrow", "times", 2,
         "key \"end\": \"tomorrow\" is neither a row offset nor a time"},
        {"--end", "2021-03-29", "rows", 2,
         "key \"end\": \"2021-03-29\" is a time, but origins are row offsets"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *out = NULL, *err = NULL;
        int rc = tsft_tsflow(&out, &err, "backtest", data, "--tz", TZ, "--horizon", "24", "--model",
                             "none", "--origins", cases[i].origins, cases[i].flag, cases[i].value,
                             "--out", h5, NULL);
        cr_assert_eq(rc, cases[i].rc, "%s %s: status %d: %s", cases[i].flag, cases[i].value, rc,
                     err);
        ASSERT_HAS(err, cases[i].msg);
    }
}

/* pandas format="table" keeps an index's zone in the pickled info attribute (pytz, zoneinfo or
 * datetime.timezone objects): tsflow reads the zone with the instants, and writes back the
 * same local times as pandas.read_hdf shows them (fixed format alike); daily Berlin midnights,
 * 23 or 25 hours apart, are daily. */
Test(time_exports, pandas_tables_with_a_zone_aware_index_read_with_their_zone)
{
    tsft_need_python_modules("pandas,tables");
    const char *dir = tsft_tmpdir();
    static const struct {
        const char *name, *index, *format, *tz, *freq;
    } cases[] = {
        {"berlin_h", "pd.date_range('2021-03-27', periods=48, freq='h', tz='Europe/Berlin')",
         "table", "Europe/Berlin", "h"},
        {"berlin_d", "pd.date_range('2021-03-20', periods=20, freq='D', tz='Europe/Berlin')",
         "table", "Europe/Berlin", "D"},
        {"berlin_d_fixed", "pd.date_range('2021-10-20', periods=20, freq='D', tz='Europe/Berlin')",
         "fixed", "Europe/Berlin", "D"},
        {"utc", "pd.date_range('2021-03-27', periods=48, freq='h', tz='UTC')", "table", "UTC", "h"},
        {"plus1",
         "pd.date_range('2021-03-27', periods=48, freq='h', tz=datetime.timezone("
         "datetime.timedelta(hours=1)))",
         "table", "+01:00", "h"},
        {"minus0530",
         "pd.date_range('2021-03-27', periods=10, freq='MS', tz=datetime.timezone("
         "-datetime.timedelta(hours=5, minutes=30)))",
         "table", "-05:30", "MS"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char name[64];
        snprintf(name, sizeof name, "%s.h5", cases[i].name);
        const char *h5 = tsft_path(dir, name);
        snprintf(name, sizeof name, "%s.csv", cases[i].name);
        const char *csv = tsft_path(dir, name);
        char code[1024], *py = NULL, *perr = NULL, *out = NULL, *err = NULL;
        snprintf(code, sizeof code,
                 "import sys, datetime, numpy as np, pandas as pd\n"
                 "i = %s.rename('time')\n"
                 "pd.DataFrame({'v': np.arange(len(i)) * 1.0}, index=i).to_hdf(sys.argv[1], "
                 "'data', format='%s')\n",
                 cases[i].index, cases[i].format);
        int rc = tsft_python(code, &py, &perr, h5, NULL);
        cr_assert_eq(rc, 0, "python: %s", perr);
        rc = tsft_tsflow(&out, &err, "inspect", "--json", h5, NULL);
        cr_assert_eq(rc, 0, "%s: %s", cases[i].name, err);
        char want[96];
        snprintf(want, sizeof want, "\"freq\": \"%s\", \"season\":", cases[i].freq);
        ASSERT_HAS(out, want);
        snprintf(want, sizeof want, "\"tz\": \"%s\", ", cases[i].tz);
        ASSERT_HAS(out, want);
        rc = tsft_tsflow(&out, &err, "convert", h5, csv, NULL);
        cr_assert_eq(rc, 0, "%s: %s", cases[i].name, err);
        rc = tsft_python("import sys, pandas as pd\n"
                         "i = pd.read_hdf(sys.argv[1], 'data').index\n"
                         "c = pd.read_csv(sys.argv[2])\n"
                         "assert i.tz is not None\n"
                         "assert c.time.tolist() == [str(t) for t in i], (c.time[:5], i[:5])\n"
                         "print('ok')\n",
                         &py, &perr, h5, csv, NULL);
        cr_assert_eq(rc, 0, "%s: python: %s", cases[i].name, perr);
        ASSERT_HAS(py, "ok");
    }
}

/* A zone object tsflow cannot name (dateutil's) is refused, never shown as UTC. */
Test(time_exports, a_table_index_in_a_zone_tsflow_cannot_name_is_refused)
{
    tsft_need_python_modules("pandas,tables,dateutil");
    const char *h5 = tsft_path(tsft_tmpdir(), "du.h5");
    char *py = NULL, *perr = NULL, *out = NULL, *err = NULL;
    int rc = tsft_python("import sys, numpy as np, pandas as pd, dateutil.tz\n"
                         "i = pd.date_range('2021-03-27', periods=8, freq='h',\n"
                         "                  tz=dateutil.tz.tzoffset('X', 3600), name='time')\n"
                         "pd.DataFrame({'v': np.arange(8.)}, index=i).to_hdf(sys.argv[1], "
                         "'data', format='table')\n",
                         &py, &perr, h5, NULL);
    cr_assert_eq(rc, 0, "python: %s", perr);
    rc = tsft_tsflow(&out, &err, "inspect", h5, NULL);
    cr_assert_eq(rc, 1, "%s", err);
    ASSERT_HAS(err, "\"/data\": the index is zone-aware in a zone tsflow cannot name (a pickled "
                    "dateutil.tz.tz.tzoffset");
}
