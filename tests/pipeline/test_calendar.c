/* Calendar time end to end: tsflow inspect and backtest on monthly, business-day, yearly and
 * integer-index files, with forecast dates checked against pandas.date_range and the seasonal
 * naive against the data a season earlier. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

#define ASSERT_HAS(text, sub)                                                                      \
    cr_assert(strstr((text), (sub)), "missing \"%s\" in:\n%s", (sub), (text))

/* A monthly series as pandas writes it: 1949-01 .. 1960-12 on month starts. */
static const char *monthly_csv(void)
{
    const char *p = tsft_path(tsft_tmpdir(), "monthly.csv");
    char *out = NULL, *err = NULL;
    int rc = tsft_python("import sys, numpy as np, pandas as pd\n"
                         "i = pd.date_range('1949-01-01', periods=144, freq='MS', name='Month')\n"
                         "v = 100 + np.arange(144) + 10 * np.sin(np.arange(144) * np.pi / 6)\n"
                         "pd.DataFrame({'passengers': v.round(3)}, index=i).to_csv(sys.argv[1])\n",
                         &out, &err, p, NULL);
    cr_assert_eq(rc, 0, "python: %s", err);
    return p;
}

Test(calendar, monthly_backtest_uses_season_12_and_dates_forecasts_on_month_starts)
{
    tsft_need_python_modules("pandas");
    const char *data = monthly_csv(), *dir = tsft_tmpdir();
    const char *h5 = tsft_path(dir, "bt.h5"), *csv = tsft_path(dir, "bt.csv");
    char *out = NULL, *err = NULL;
    int rc = tsft_tsflow(&out, &err, "backtest", data, "--horizon", "12", "--model", "none",
                         "--out", h5, "--csv", csv, NULL);
    cr_assert_eq(rc, 0, "%s", err);
    ASSERT_HAS(err, "backtest: season 12 (from the frequency)");
    /* Every forecast timestamp is origin + (step - 1) months as pandas counts them, the cutoff
     * is the month before the origin, and the seasonal naive repeats the last 12 months up to
     * the cutoff. */
    char *py = NULL, *perr = NULL;
    rc = tsft_python(
        "import sys, pandas as pd\n"
        "d = pd.read_csv(sys.argv[1], index_col=0, parse_dates=True)['passengers']\n"
        "bt = pd.read_csv(sys.argv[2], parse_dates=['origin', 'timestamp', 'cutoff'])\n"
        "assert len(bt) > 0\n"
        "bad = 0\n"
        "for _, r in bt.iterrows():\n"
        "    want = pd.date_range(r.origin, periods=r.step, freq='MS')[-1]\n"
        "    bad += want != r.timestamp or r.cutoff != r.origin - pd.offsets.MonthBegin(1)\n"
        "    k = (r.step - 1) % 12 + 1\n"
        "    src = pd.date_range(end=r.cutoff, periods=12, freq='MS')[k - 1]\n"
        "    bad += abs(d[src] - r.snaive) > 1e-9 or abs(d[r.cutoff] - r.naive) > 1e-9\n"
        "print(len(bt), bad, pd.infer_freq(pd.DatetimeIndex(bt.timestamp.unique())))\n",
        &py, &perr, data, csv, NULL);
    cr_assert_eq(rc, 0, "python: %s", perr);
    int n = 0, bad = -1;
    char freq[16] = "";
    cr_assert_eq(sscanf(py, "%d %d %15s", &n, &bad, freq), 3, "%s", py);
    cr_assert_gt(n, 0);
    cr_assert_eq(bad, 0, "%d of %d forecast rows disagree with pandas", bad, n);
    cr_assert_str_eq(freq, "MS");
}

Test(calendar, an_integer_index_needs_a_season_and_says_so)
{
    const char *p = tsft_path(tsft_tmpdir(), "idx.csv");
    tsft_write_file(p, "a\n1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n13\n14\n15\n16\n", (size_t)-1);
    const char *h5 = tsft_path(tsft_tmpdir(), "bt.h5");
    char *out = NULL, *err = NULL;
    int rc = tsft_tsflow(&out, &err, "backtest", p, "--horizon", "2", "--model", "none", "--out",
                         h5, NULL);
    cr_assert_eq(rc, 1, "%s", err);
    ASSERT_HAS(err, "the data has an integer index, so no season for seasonal naive and MASE "
                    "(expected season = rows per seasonal cycle");
    rc = tsft_tsflow(&out, &err, "backtest", p, "--horizon", "2", "--model", "none", "--season",
                     "4", "--out", h5, NULL);
    cr_assert_eq(rc, 0, "%s", err);
    ASSERT_HAS(err, "backtest: season 4 (the option)");
}

Test(calendar, series_of_different_seasons_are_refused_naming_two)
{
    const char *p = tsft_path(tsft_tmpdir(), "long.csv");
    FILE *fp = fopen(p, "w");
    cr_assert_not_null(fp);
    fputs("id,time,v\n", fp);
    for (int h = 0; h < 48; h++)
        fprintf(fp, "a,2020-01-%02d %02d:00,%d\n", 1 + h / 24, h % 24, h);
    for (int d = 1; d <= 28; d++)
        fprintf(fp, "b,2020-02-%02d,%d\n", d, d);
    fclose(fp);
    const char *h5 = tsft_path(tsft_tmpdir(), "bt.h5");
    char *out = NULL, *err = NULL;
    int rc = tsft_tsflow(&out, &err, "backtest", p, "--id-column", "id", "--horizon", "2",
                         "--model", "none", "--out", h5, NULL);
    cr_assert_eq(rc, 1, "%s", err);
    ASSERT_HAS(err, "series \"a\" has frequency h (season 24) but series \"b\" has D (season 7)");
    rc = tsft_tsflow(&out, &err, "inspect", "--id-column", "id", p, NULL);
    cr_assert_eq(rc, 0, "%s", err);
    ASSERT_HAS(out, "  freq    a h, b D (no season)\n");
}

Test(calendar, inspect_reports_business_days_and_the_rows_filled)
{
    const char *p = tsft_path(tsft_tmpdir(), "b.csv");
    /* two weeks of business days without Monday 6 January */
    tsft_write_file(p,
                    "Date,Close\n2020-01-02,1\n2020-01-03,2\n2020-01-07,3\n2020-01-08,4\n"
                    "2020-01-09,5\n2020-01-10,6\n2020-01-13,7\n2020-01-14,8\n",
                    (size_t)-1);
    char *out = NULL, *err = NULL;
    int rc = tsft_tsflow(&out, &err, "inspect", "--gaps", "fill", p, NULL);
    cr_assert_eq(rc, 0, "%s", err);
    ASSERT_HAS(out, "  freq    B (season 5)\n");
    ASSERT_HAS(out, "  periods 9, 1 missing in the file, 1 row filled\n");
    rc = tsft_tsflow(&out, &err, "inspect", "--json", "--gaps", "fill", p, NULL);
    cr_assert_eq(rc, 0, "%s", err);
    ASSERT_HAS(out, "\"freq\": \"B\", \"season\": 5, \"tz\": null, \"periods\": 9, "
                    "\"missing_periods\": 1, \"rows_filled\": 1");
}

Test(calendar, a_monthly_hdf5_frame_from_pandas_reads_with_its_frequency)
{
    tsft_need_python_modules("pandas,tables");
    const char *p = tsft_path(tsft_tmpdir(), "m.h5");
    char *out = NULL, *err = NULL;
    int rc = tsft_python("import sys, numpy as np, pandas as pd\n"
                         "i = pd.date_range('1990-01-31', periods=36, freq='M', name='date')\n"
                         "pd.DataFrame({'v': np.arange(36.0)}, index=i).to_hdf(sys.argv[1], "
                         "'data', format='fixed')\n",
                         &out, &err, p, NULL);
    cr_assert_eq(rc, 0, "python: %s", err);
    rc = tsft_tsflow(&out, &err, "inspect", p, NULL);
    cr_assert_eq(rc, 0, "%s", err);
    ASSERT_HAS(out, "  freq    ME (season 12)\n");
    ASSERT_HAS(out, "  span    1990-01-31 00:00:00 .. 1992-12-31 00:00:00\n");
}

/* Two daily series in a long file a month apart: A from 2020-01-01 to 2020-11-30, B from
 * 2020-02-01 to 2020-12-31. */
static const char *unaligned_csv(void)
{
    const char *p = tsft_path(tsft_tmpdir(), "unaligned.csv");
    char *out = NULL, *err = NULL;
    int rc = tsft_python("import sys, numpy as np, pandas as pd\n"
                         "rows = []\n"
                         "for sid, a, b, k in (('A', '2020-01-01', '2020-11-30', 0),\n"
                         "                     ('B', '2020-02-01', '2020-12-31', 1)):\n"
                         "    i = pd.date_range(a, b, freq='D')\n"
                         "    v = 50 + 10 * k + np.sin(np.arange(len(i)) * 2 * np.pi / 7) + "
                         "np.arange(len(i)) * 0.01 * (k + 1)\n"
                         "    rows.append(pd.DataFrame({'id': sid, 'date': i, 'y': v.round(6)}))\n"
                         "pd.concat(rows).to_csv(sys.argv[1], index=False)\n",
                         &out, &err, p, NULL);
    cr_assert_eq(rc, 0, "python: %s", err);
    return p;
}

/* The reference: cutoffs and who is forecast where, computed by pandas from the data, against
 * the folds table, the fold_cutoff attribute and the forecasts tsflow wrote. Prints the
 * disagreements and counts. */
static const char cutoff_reference[] =
    "import sys, h5py, numpy as np, pandas as pd\n"
    "d = pd.read_csv(sys.argv[1], parse_dates=['date'])\n"
    "h, need, first, stride = int(sys.argv[3]), 7, 200, 30\n"
    "t0, tl = d.date.min(), d.date.max()\n"
    "span = (tl - t0).days + 1\n"
    "want = set()\n"
    "cutoffs = [t0 + pd.Timedelta(days=o - 1) for o in range(first, span - h + 1, stride)]\n"
    "for k, c in enumerate(cutoffs):\n"
    "    for sid, g in d.groupby('id'):\n"
    "        after, hist = g.date[g.date > c], (g.date <= c).sum()\n"
    "        if len(after) >= h and hist >= need and after.min() == c + pd.Timedelta(days=1):\n"
    "            want.add((sid, k, c))\n"
    "folds = pd.read_hdf(sys.argv[2], 'folds').reset_index()\n"
    "got = set(zip(folds.series, folds.fold, folds.cutoff))\n"
    "bad = len(want ^ got)\n"
    "# no training row of any series at or after a fold's cutoff: fit windows end at it\n"
    "for k, g in folds.groupby('fold'):\n"
    "    bad += int((g.fit_end > cutoffs[k]).any()) + int((g.origin <= cutoffs[k]).any())\n"
    "fc = pd.read_hdf(sys.argv[2], 'forecasts').reset_index()\n"
    "bad += int((fc.timestamp <= fc.cutoff).sum())\n"
    "# the naive forecast is the series' value at the cutoff\n"
    "y = d.set_index(['id', 'date']).y\n"
    "bad += int(sum(abs(y[(s, c)] - v) > 1e-9 for s, c, v in zip(fc.series, fc.cutoff, "
    "fc.naive)))\n"
    "with h5py.File(sys.argv[2], 'r') as f:\n"
    "    fa = f.attrs['fold_cutoff']\n"
    "    ids = f.attrs['fold_series']\n"
    "    ids = (ids.decode() if isinstance(ids, bytes) else ids).split('\\n')\n"
    "for sid, k, c in want:\n"
    "    bad += int(fa[ids.index(sid), k] != c.value // 10**9)\n"
    "bad += int((fa != -1).sum() != len(want))\n"
    "print(len(cutoffs), len(want), bad)\n";

Test(calendar, backtest_cutoffs_are_shared_by_series_that_end_a_month_apart)
{
    tsft_need_python_modules("pandas,tables,h5py");
    const char *data = unaligned_csv(), *dir = tsft_tmpdir();
    const char *h5 = tsft_path(dir, "cut.h5"), *h5t = tsft_path(dir, "cut_t.h5");
    char *out = NULL, *err = NULL;
    int rc =
        tsft_tsflow(&out, &err, "backtest", data, "--id-column", "id", "--horizon", "14", "--model",
                    "none", "--train-length", "200", "--stride", "30", "--out", h5, NULL);
    cr_assert_eq(rc, 0, "%s", err);
    ASSERT_HAS(err, "backtest: origins: cutoff times shared by all series");
    ASSERT_HAS(err, "on 6 folds (cutoffs every 30 periods of D from 2020-07-18 00:00:00, "
                    "horizon 14,");
    char *py = NULL, *perr = NULL;
    rc = tsft_python(cutoff_reference, &py, &perr, data, h5, "14", NULL);
    cr_assert_eq(rc, 0, "python: %s", perr);
    int n_cut = 0, n_fc = 0, bad = -1;
    cr_assert_eq(sscanf(py, "%d %d %d", &n_cut, &n_fc, &bad), 3, "%s", py);
    cr_assert_eq(n_cut, 6);
    cr_assert_eq(n_fc, 11); /* A has no 14 days after the last cutoff, 2020-11-24 */
    cr_assert_eq(bad, 0, "%d disagreements with pandas", bad);
    /* the first origin as a time lays out the same folds */
    rc = tsft_tsflow(&out, &err, "backtest", data, "--id-column", "id", "--horizon", "14",
                     "--model", "none", "--first-origin", "2020-07-19", "--train-length", "200",
                     "--stride", "30", "--out", h5t, NULL);
    cr_assert_eq(rc, 0, "%s", err);
    rc = tsft_python("import sys, pandas as pd\n"
                     "a, b = (pd.read_hdf(p, 'forecasts') for p in sys.argv[1:3])\n"
                     "print(len(a) > 0 and a.equals(b))\n",
                     &py, &perr, h5, h5t, NULL);
    cr_assert_eq(rc, 0, "python: %s", perr);
    cr_assert_str_eq(py, "True\n");
}

Test(calendar, row_offset_origins_on_unaligned_series_fit_past_another_series_cutoff)
{
    tsft_need_python_modules("pandas,tables");
    const char *data = unaligned_csv(), *dir = tsft_tmpdir();
    const char *h5 = tsft_path(dir, "rows.h5");
    char *out = NULL, *err = NULL;
    int rc = tsft_tsflow(&out, &err, "backtest", data, "--id-column", "id", "--horizon", "14",
                         "--model", "none", "--train-length", "200", "--stride", "30", "--origins",
                         "rows", "--out", h5, NULL);
    cr_assert_eq(rc, 0, "%s", err);
    ASSERT_HAS(err, "on 5 folds (origins every 30 rows from row 200, horizon 14,");
    /* the leak time cutoffs remove: at row 200 A's origin is 2020-07-19 and B's 2020-08-19,
     * so fold 0's fit sees B a month past A's cutoff */
    char *py = NULL, *perr = NULL;
    rc = tsft_python("import sys, pandas as pd\n"
                     "f = pd.read_hdf(sys.argv[1], 'folds').reset_index()\n"
                     "g = f[f.fold == 0].set_index('series')\n"
                     "print(g.fit_end['B'] - g.cutoff['A'])\n",
                     &py, &perr, h5, NULL);
    cr_assert_eq(rc, 0, "python: %s", perr);
    cr_assert_str_eq(py, "31 days 00:00:00\n");
    rc =
        tsft_tsflow(&out, &err, "backtest", data, "--id-column", "id", "--horizon", "14", "--model",
                    "none", "--first-origin", "2020-07-19", "--origins", "rows", "--out", h5, NULL);
    cr_assert_eq(rc, 2, "%s", err);
    ASSERT_HAS(err, "key \"first_origin\": \"2020-07-19\" is a time, but origins are row offsets "
                    "(expected a row offset, or origins = times)");
}
