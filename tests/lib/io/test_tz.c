/* Time zones, against pandas 1.5 (Debian's python3-pandas, with pytz) and Python's zoneinfo, run
 * at test time: the offsets tsflow reads from the system's zone files, CSV times with offsets
 * across daylight saving changes, local times read with tz, and the zone kept through HDF5
 * (pandas.read_hdf) and back to CSV (pandas' to_csv text). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"
#include "tsflow/freq.h"
#include "tsflow/io.h"
#include "tsflow/tz.h"
#include "tsflow/window.h"

static tsf_tz *load(const char *name)
{
    tsf_tz *z = NULL;
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_tz_load(&z, name, &err), TSF_OK, "%s: %s", name, err.msg);
    return z;
}

static tsf_frame *read_csv(const char *path, const char *tz, tsf_gap_policy gaps)
{
    tsf_csv_options o;
    tsf_csv_options_init(&o);
    o.tz = tz;
    o.gaps = gaps;
    tsf_frame *f = NULL;
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_csv_read(&f, path, &o, NULL, &err), TSF_OK, "%s: %s", path, err.msg);
    return f;
}

/* Whitespace-separated integers of text into a kept array; *n gets their count. */
static int64_t *ints(const char *text, size_t *n)
{
    size_t cap = 64, k = 0;
    int64_t *v = (int64_t *)(void *)tsft_keep(malloc(cap * sizeof *v));
    char *end;
    for (const char *p = text;; p = end) {
        long long x = strtoll(p, &end, 10);
        if (end == p)
            break;
        if (k == cap) {
            cap *= 2;
            int64_t *w = malloc(cap * sizeof *w);
            memcpy(w, v, k * sizeof *v);
            v = (int64_t *)(void *)tsft_keep((char *)w);
        }
        v[k++] = x;
    }
    *n = k;
    return v;
}

Test(tz, offsets_match_python_zoneinfo_from_1900_to_2037)
{
    tsft_need_python_modules("zoneinfo");
    static const char *const py =
        "import sys, datetime, zoneinfo\n"
        "z = zoneinfo.ZoneInfo(sys.argv[1])\n"
        "for t in range(-2208988800, 2145916800, 86400 * 7 + 3607):\n"
        "    d = datetime.datetime.fromtimestamp(t, datetime.timezone.utc).astimezone(z)\n"
        "    print(t * 10**6, int(d.utcoffset().total_seconds()))\n";
    const char *zones[] = {"Europe/Berlin", "America/New_York", "Australia/Lord_Howe",
                           "Asia/Kolkata"};
    for (size_t k = 0; k < sizeof zones / sizeof *zones; k++) {
        char *out = NULL, *perr = NULL;
        cr_assert_eq(tsft_python(py, &out, &perr, zones[k], NULL), 0, "python: %s", perr);
        size_t n;
        int64_t *v = ints(out, &n);
        cr_assert_gt(n, 2 * 7000, "%s: %zu values from python", zones[k], n);
        tsf_tz *z = load(zones[k]);
        for (size_t i = 0; i + 1 < n; i += 2)
            cr_assert_eq(tsf_tz_offset(z, v[i]), v[i + 1], "%s at %" PRId64 ": %d, python %" PRId64,
                         zones[k], v[i], (int)tsf_tz_offset(z, v[i]), v[i + 1]);
        tsf_tz_free(z);
    }
}

Test(tz, local_times_in_the_spring_gap_and_the_autumn_fold)
{
    tsf_tz *z = load("Europe/Berlin");
    int64_t t, later;
    /* 2020-03-29 02:30 local does not exist: clocks jump at 01:00 UTC */
    const int64_t H = TSF_US_PER_H, M30 = 30 * TSF_US_PER_MIN;
    int64_t day = 1585440000 * TSF_US_PER_S; /* 2020-03-29 00:00 UTC */
    cr_assert_eq(tsf_tz_resolve(z, day + 2 * H + M30, &t, &later), TSF_TZ_GAP);
    cr_assert_eq(t, day + H);
    cr_assert_eq(tsf_tz_resolve(z, day + 3 * H, &t, NULL), TSF_TZ_UNIQUE);
    cr_assert_eq(t, day + H);
    /* 2020-10-25 02:30 local happens twice: 00:30 and 01:30 UTC */
    int64_t oct = 1603584000 * TSF_US_PER_S; /* 2020-10-25 00:00 UTC */
    cr_assert_eq(tsf_tz_resolve(z, oct + 2 * H + M30, &t, &later), TSF_TZ_FOLD);
    cr_assert_eq(t, oct + M30);
    cr_assert_eq(later, oct + H + M30);
    char buf[48];
    cr_assert_str_eq(tsf_tz_format(z, oct + H + M30, buf, sizeof buf), "2020-10-25 02:30:00+01:00");
    /* a fraction of the second shows before the offset, as pandas writes it */
    cr_assert_str_eq(tsf_tz_format(z, oct + H + M30 + 250000, buf, sizeof buf),
                     "2020-10-25 02:30:00.250+01:00");
    /* the fold resolves sub-second times too: 02:59:59.999999 local, twice */
    cr_assert_eq(tsf_tz_resolve(z, oct + 3 * H - 1, &t, &later), TSF_TZ_FOLD);
    cr_assert_eq(t, oct + H - 1);
    cr_assert_eq(later, oct + 2 * H - 1);
    tsf_tz_free(z);
    z = load("+05:30");
    cr_assert_str_eq(tsf_tz_name(z), "+05:30");
    cr_assert_eq(tsf_tz_offset(z, 0), 19800);
    tsf_tz_free(z);
    z = load("Z");
    cr_assert_str_eq(tsf_tz_name(z), "UTC");
    tsf_tz_free(z);
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_tz_load(&z, "../etc/passwd", &err), TSF_EINVAL);
    cr_assert_null(z);
    cr_assert_str_eq(err.msg, "\"../etc/passwd\" is not a time zone (expected an IANA name such "
                              "as Europe/Berlin, UTC, or an offset such as +01:00)");
}

/* Files pandas writes, and for each: "<file> <tz option> <freq> <epoch seconds of each row>",
 * the instants of pandas' zone-aware index. */
static const char *const dst_py =
    "import sys, os\n"
    "import numpy as np, pandas as pd\n"
    "d = sys.argv[1]\n"
    "def out(name, tz, idx, freq):\n"
    "    print(name, tz, freq, *(idx.asi8 // 10**3))\n"
    "def frame(idx):\n"
    "    return pd.DataFrame({'load': np.arange(len(idx)) * 0.5}, index=idx.rename('time'))\n"
    "for name, start, f, n in [('spring15', '2020-03-28 20:00', '15T', 200),\n"
    "                          ('autumn15', '2020-10-24 20:00', '15T', 200),\n"
    "                          ('spring_h', '2021-03-27 12:00', 'H', 60),\n"
    "                          ('autumn_h', '2021-10-30 12:00', 'H', 60)]:\n"
    "    idx = pd.date_range(start, periods=n, freq=f, tz='Europe/Berlin')\n"
    "    frame(idx).to_csv(os.path.join(d, name + '.csv'))\n"
    "    out(name + '.csv', 'Europe/Berlin', idx, f)\n"
    "    # the same wall-clock times without offsets, as a local-time export writes them\n"
    "    frame(idx.tz_localize(None)).to_csv(os.path.join(d, name + '_local.csv'))\n"
    "    out(name + '_local.csv', 'Europe/Berlin', idx, f)\n"
    "    # and pandas' own reading of that local file with the zone\n"
    "    back = pd.read_csv(os.path.join(d, name + '_local.csv'), index_col=0, parse_dates=True)\n"
    "    assert (back.index.tz_localize('Europe/Berlin', ambiguous='infer') == idx).all()\n"
    "idx = pd.date_range('2020-03-25', periods=10, freq='D', tz='Europe/Berlin')\n"
    "frame(idx).to_csv(os.path.join(d, 'daily.csv'))\n"
    "out('daily.csv', 'Europe/Berlin', idx, 'D')\n"
    "idx = pd.date_range('2020-01-01', periods=24, freq='MS', tz='+05:30')\n"
    "frame(idx).to_csv(os.path.join(d, 'monthly_fixed.csv'))\n"
    "out('monthly_fixed.csv', '-', idx, 'MS')\n"
    "idx = pd.date_range('2020-01-01', periods=48, freq='H', tz='UTC')\n"
    "frame(idx).to_csv(os.path.join(d, 'utc.csv'), date_format='%Y-%m-%dT%H:%M:%SZ')\n"
    "out('utc.csv', '-', idx, 'H')\n";

Test(tz, csv_times_across_daylight_saving_read_as_pandas_reads_them)
{
    tsft_need_python_modules("pandas");
    const char *dir = tsft_tmpdir();
    char *out = NULL, *perr = NULL;
    cr_assert_eq(tsft_python(dst_py, &out, &perr, dir, NULL), 0, "python: %s", perr);
    size_t n_files = 0;
    for (char *save = NULL, *line = strtok_r(out, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save), n_files++) {
        char name[64], tz[32], fq[16];
        int used = 0;
        cr_assert_eq(sscanf(line, "%63s %31s %15s %n", name, tz, fq, &used), 3);
        size_t n;
        int64_t *want = ints(line + used, &n);
        int has_tz = strcmp(tz, "-") != 0;
        tsf_frame *f = read_csv(tsft_path(dir, name), has_tz ? tz : NULL, TSF_GAP_ERROR);
        cr_assert_eq(f->n_rows, n, "%s: %zu rows, pandas %zu", name, f->n_rows, n);
        for (size_t i = 0; i < n; i++)
            cr_assert_eq(f->time[i], want[i], "%s: row %zu: %" PRId64 ", pandas %" PRId64, name, i,
                         f->time[i], want[i]);
        char a[24];
        cr_assert_str_eq(tsf_freq_format(&f->freq, 1, a, sizeof a), fq, "%s: freq %s, pandas %s",
                         name, a, fq);
        const char *ztz = !strcmp(name, "monthly_fixed.csv") ? "+05:30"
                          : !strcmp(name, "utc.csv")         ? "UTC"
                                                             : tz;
        cr_assert_str_eq(f->tz, ztz, "%s", name);
        tsf_frame_free(f);
    }
    cr_assert_eq(n_files, 11);
}

Test(tz, a_daily_series_in_a_zone_fills_its_gaps_at_local_midnight)
{
    /* 2020-03-29 (the spring change) is missing: filled at 00:00+02:00 as pandas.date_range */
    const char *p = tsft_path(tsft_tmpdir(), "daily.csv");
    tsft_write_file(p, "day,v\n2020-03-27,1\n2020-03-28,2\n2020-03-30,4\n2020-03-31,5\n",
                    (size_t)-1);
    tsf_frame *f = read_csv(p, "Europe/Berlin", TSF_GAP_FILL);
    cr_assert_eq(f->n_rows, 5);
    char a[24];
    cr_assert_str_eq(tsf_freq_format(&f->freq, 0, a, sizeof a), "D");
    /* 2020-03-29 00:00+01:00 is 2020-03-28 23:00 UTC */
    cr_assert_eq(f->time[2], 1585436400 * TSF_US_PER_S);
    cr_assert_eq(f->time[3], 1585519200 * TSF_US_PER_S); /* 2020-03-30 00:00+02:00 */
    tsf_frame_free(f);
}

/* The round trip pandas reads at each step: CSV (offsets) -> HDF5 (pandas.read_hdf gives the
 * zone-aware index pandas wrote the CSV from) -> CSV (the same text as pandas' to_csv). */
static const char *const trip_py =
    "import sys\n"
    "import numpy as np, pandas as pd\n"
    "d, h5, back = sys.argv[1:4]\n"
    "for tz, name in [('Europe/Berlin', 'berlin'), ('+01:00', 'fixed'), ('UTC', 'utc')]:\n"
    "    if sys.argv[4] == 'write':\n"
    "        idx = pd.date_range('2020-10-24 22:00', periods=120, freq='15min', "
    "tz='Europe/Berlin')\n"
    "        if tz != 'Europe/Berlin':\n"
    "            idx = pd.date_range('2020-10-24 22:00', periods=120, freq='15min', tz=tz)\n"
    "        pd.DataFrame({'load': np.arange(len(idx)) * 0.25}, index=idx.rename('time'))"
    ".to_csv('%s/%s.csv' % (d, name))\n"
    "        continue\n"
    "    got = pd.read_hdf('%s/%s.h5' % (d, name), 'data')\n"
    "    want = pd.read_csv('%s/%s.csv' % (d, name), index_col=0)\n"
    "    if tz == 'Europe/Berlin':\n"
    "        want.index = pd.to_datetime(want.index, utc=True).tz_convert(tz)\n"
    "    else:\n"
    "        want.index = pd.to_datetime(want.index)\n"
    "    assert str(got.index.tz) == str(want.index.tz), (got.index.tz, want.index.tz)\n"
    "    assert got.index.equals(want.index), (got.index[:3], want.index[:3])\n"
    "    assert [t.utcoffset() for t in got.index] == [t.utcoffset() for t in want.index]\n"
    "    assert (got['load'].values == want['load'].values).all()\n"
    "    a = open('%s/%s.csv' % (d, name)).read().replace('.0,', ',').splitlines()\n"
    "    b = open('%s/%s_back.csv' % (d, name)).read().splitlines()\n"
    "    assert [x.split(',')[0] for x in a] == [x.split(',')[0] for x in b], (a[:3], b[:3])\n"
    "    print(name, got.index.tz)\n";

Test(tz, offsets_survive_csv_to_hdf5_to_csv_as_pandas_reads_them)
{
    tsft_need_python_modules("pandas,tables");
    const char *dir = tsft_tmpdir();
    char *out = NULL, *perr = NULL;
    cr_assert_eq(tsft_python(trip_py, &out, &perr, dir, "-", "-", "write", NULL), 0, "python: %s",
                 perr);
    const char *names[] = {"berlin", "fixed", "utc"}, *zones[] = {"Europe/Berlin", NULL, NULL};
    for (size_t k = 0; k < 3; k++) {
        char csv[64], h5[64], back[64];
        snprintf(csv, sizeof csv, "%s.csv", names[k]);
        snprintf(h5, sizeof h5, "%s.h5", names[k]);
        snprintf(back, sizeof back, "%s_back.csv", names[k]);
        tsf_frame *f = read_csv(tsft_path(dir, csv), zones[k], TSF_GAP_ERROR), *g = NULL;
        tsf_err err = TSF_ERR_INIT;
        cr_assert_eq(tsf_hdf5_write(f, tsft_path(dir, h5), NULL, &err), TSF_OK, "%s", err.msg);
        cr_assert_eq(tsf_hdf5_read(&g, tsft_path(dir, h5), NULL, &err), TSF_OK, "%s", err.msg);
        cr_assert_str_eq(g->tz, f->tz, "%s", names[k]);
        cr_assert_eq(tsf_csv_write(g, tsft_path(dir, back), &err), TSF_OK, "%s", err.msg);
        tsf_frame_free(f);
        tsf_frame_free(g);
    }
    cr_assert_eq(tsft_python(trip_py, &out, &perr, dir, "-", "-", "check", NULL), 0, "python: %s",
                 perr);
    cr_assert_str_eq(out, "berlin Europe/Berlin\nfixed pytz.FixedOffset(60)\nutc UTC\n");
}

Test(tz, times_past_the_end_step_on_the_local_calendar)
{
    /* pandas.date_range('2020-03-26', periods=6, freq='D', tz='Europe/Berlin').asi8 // 10**9:
     * local midnights, 23 hours apart across the spring change (in seconds here) */
    static const int64_t want_s[] = {1585177200, 1585263600, 1585350000,
                                     1585436400, 1585519200, 1585605600};
    int64_t want[6];
    for (size_t r = 0; r < 6; r++)
        want[r] = want_s[r] * TSF_US_PER_S;
    const char *p = tsft_path(tsft_tmpdir(), "d.csv");
    tsft_write_file(p, "day,v\n2020-03-26,1\n2020-03-27,2\n2020-03-28,3\n", (size_t)-1);
    tsf_frame *f = read_csv(p, "Europe/Berlin", TSF_GAP_ERROR);
    for (size_t r = 0; r < 6; r++)
        cr_assert_eq(tsf_series_time_at(f, 0, r), want[r], "row %zu: %" PRId64 ", pandas %" PRId64,
                     r, tsf_series_time_at(f, 0, r), want[r]);
    tsf_frame_free(f);
    /* hours step on instants: 01:00+01:00 + 1h is 03:00+02:00 */
    const tsf_tz *z = tsf_tz_cached("Europe/Berlin");
    cr_assert_not_null(z);
    tsf_freq h = {TSF_FREQ_FIXED, TSF_US_PER_H, 0};
    cr_assert_eq(tsf_tz_freq_add(z, &h, 1585440000 * TSF_US_PER_S, 1), 1585443600 * TSF_US_PER_S);
    /* windows give the local hour: an hourly Berlin series across the spring change, rows
     * 00:00+01:00, 01:00+01:00, 03:00+02:00, then past the end 04:00+02:00, 05:00+02:00 */
    const char *ph = tsft_path(tsft_tmpdir(), "h.csv");
    tsft_write_file(ph,
                    "time,v\n2020-03-29 00:00:00+01:00,0\n2020-03-29 01:00:00+01:00,1\n"
                    "2020-03-29 03:00:00+02:00,2\n",
                    (size_t)-1);
    f = read_csv(ph, "Europe/Berlin", TSF_GAP_ERROR);
    const size_t tc[] = {0}, series[] = {0}, origins[] = {3};
    tsf_window_spec spec = {.lookback = 3,
                            .horizon = 2,
                            .stride = 1,
                            .target_cols = tc,
                            .n_targets = 1,
                            .calendar = TSF_CAL_HOUR};
    tsf_windows *w = NULL;
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_windows_make_at(&w, f, &spec, series, origins, 1, 1, &err), TSF_OK, "%s",
                 err.msg);
    float x[3 * 2], xf[2], y[2];
    const size_t idx[] = {0};
    tsf_windows_gather(w, idx, 1, x, xf, y);
    const int hours[] = {0, 1, 3}, future[] = {4, 5};
    for (size_t i = 0; i < 3; i++)
        cr_assert_eq(x[2 * i + 1], (float)(hours[i] / 23.0 - 0.5), "row %zu", i);
    for (size_t i = 0; i < 2; i++)
        cr_assert_eq(xf[i], (float)(future[i] / 23.0 - 0.5), "future row %zu", i);
    tsf_windows_free(w);
    tsf_frame_free(f);
}

Test(tz, naive_hdf5_times_become_local_times_of_the_zone_as_pandas_tz_localize)
{
    tsft_need_python_modules("pandas,tables");
    static const char *const py =
        "import sys\n"
        "import numpy as np, pandas as pd\n"
        "idx = pd.date_range('2020-03-27', periods=5, freq='D', tz='Europe/Berlin')\n"
        "df = pd.DataFrame({'v': np.arange(5.0)}, index=idx.tz_localize(None).rename('day'))\n"
        "df.to_hdf(sys.argv[1], 'data', format='fixed')\n"
        "print(*(pd.read_hdf(sys.argv[1], 'data').index.tz_localize('Europe/Berlin').asi8 "
        "// 10**3))\n";
    const char *h5 = tsft_path(tsft_tmpdir(), "naive.h5");
    char *out = NULL, *perr = NULL;
    cr_assert_eq(tsft_python(py, &out, &perr, h5, NULL), 0, "python: %s", perr);
    size_t n;
    int64_t *want = ints(out, &n);
    tsf_frame *f = NULL;
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_hdf5_read(&f, h5, NULL, &err), TSF_OK, "%s", err.msg);
    cr_assert_null(f->tz);
    cr_assert_eq(tsf_frame_localize(f, "Europe/Berlin", &err), TSF_OK, "%s", err.msg);
    cr_assert_str_eq(f->tz, "Europe/Berlin");
    cr_assert_eq(f->n_rows, n);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(f->time[i], want[i], "row %zu: %" PRId64 ", pandas %" PRId64, i, f->time[i],
                     want[i]);
    tsf_frame_free(f);
}

/* Counting periods is the inverse of stepping them: daily Berlin midnights are 23 or 25 hours
 * apart across a change of offset and still one period; hours count instants. */
Test(tz, counting_periods_inverts_stepping_on_the_local_calendar)
{
    const tsf_tz *z = tsf_tz_cached("Europe/Berlin");
    cr_assert_not_null(z);
    tsf_freq d = {TSF_FREQ_FIXED, TSF_US_PER_DAY, 0}, h = {TSF_FREQ_FIXED, TSF_US_PER_H, 0};
    const int64_t a = 1616194800 * TSF_US_PER_S; /* 2021-03-20 00:00+01:00 */
    for (int64_t k = 0; k < 20; k++) {
        int64_t t = tsf_tz_freq_add(z, &d, a, k), got = -1;
        cr_assert(tsf_tz_freq_count(z, &d, a, t, &got), "day %lld", (long long)k);
        cr_assert_eq(got, k);
        cr_assert(!tsf_tz_freq_count(z, &d, a, t + TSF_US_PER_H, &got));
        cr_assert_eq(got, k, "an hour past day %lld", (long long)k);
        t = tsf_tz_freq_add(z, &h, a, k * 7);
        cr_assert(tsf_tz_freq_count(z, &h, a, t, &got));
        cr_assert_eq(got, k * 7);
    }
    /* 2021-03-28 00:00+01:00 to 2021-03-29 00:00+02:00: one day, 23 hours */
    int64_t n = 0;
    const int64_t m28 = 1616886000 * TSF_US_PER_S, m29 = 1616968800 * TSF_US_PER_S;
    cr_assert(tsf_tz_freq_count(z, &d, m28, m29, &n));
    cr_assert_eq(n, 1);
    cr_assert(tsf_tz_freq_count(z, &h, m28, m29, &n));
    cr_assert_eq(n, 23);
}
