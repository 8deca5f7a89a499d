/* CSV time columns as pandas, R and spreadsheets write them: the instants tsflow reads and the
 * frequency it infers, against pandas (Debian's python3-pandas 1.5: to_csv, date_range,
 * to_datetime, infer_freq) and Python's datetime, run at test time. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"
#include "tsflow/freq.h"
#include "tsflow/io.h"

/* Writes each file into sys.argv[1] and prints one line per file:
 * "<file> <options> <pandas.infer_freq of the true index> <epoch microseconds of each row>". */
static const char *const files_py =
    "import sys, os, datetime\n"
    "import numpy as np, pandas as pd\n"
    "d = sys.argv[1]\n"
    "def out(name, opts, idx, freq=None):\n"
    "    us = idx.asi8 // 10**3\n"
    "    print(name, opts, freq or pd.infer_freq(idx), *us)\n"
    "def frame(idx, name):\n"
    "    return pd.DataFrame({'value': np.arange(len(idx)) * 1.5}, index=idx.rename(name))\n"
    "m = pd.date_range('1949-01-01', periods=144, freq='MS')\n"
    "frame(m, 'Month').to_csv(os.path.join(d, 'ms.csv')); out('ms.csv', '-', m)\n"
    "me = pd.date_range('1990-01-31', periods=50, freq='M')\n"
    "frame(me, 'date').to_csv(os.path.join(d, 'me.csv')); out('me.csv', '-', me)\n"
    "# R: write.csv(data.frame(date = seq(as.Date('1949-01-01'), by = 'month', length.out = "
    "144), value = ...)) quotes strings and writes row names\n"
    "with open(os.path.join(d, 'r.csv'), 'w') as f:\n"
    "    f.write('\"\",\"date\",\"value\"\\n')\n"
    "    for i, t in enumerate(m):\n"
    "        f.write('\"%d\",\"%s\",%g\\n' % (i + 1, t.strftime('%Y-%m-%d'), i * 1.5))\n"
    "out('r.csv', '-', m)\n"
    "with open(os.path.join(d, 'ym.csv'), 'w') as f:\n"
    "    f.write('Month,#Passengers\\n')\n"
    "    f.writelines('%s,%d\\n' % (t.strftime('%Y-%m'), i) for i, t in enumerate(m))\n"
    "out('ym.csv', '-', m)\n"
    "p = pd.period_range('1960Q1', periods=40, freq='Q')\n"
    "q = p.to_timestamp(how='start')\n"
    "with open(os.path.join(d, 'q.csv'), 'w') as f:\n"
    "    f.write('quarter,gdp\\n')\n"
    "    f.writelines('%s,%d\\n' % (str(x), i) for i, x in enumerate(p))\n"
    "out('q.csv', '-', q)\n"
    "with open(os.path.join(d, 'q_space.csv'), 'w') as f:\n"
    "    f.write('quarter,gdp\\n')\n"
    "    f.writelines('%d Q%d,%d\\n' % (x.year, x.quarter, i) for i, x in enumerate(p))\n"
    "out('q_space.csv', '-', q)\n"
    "qe = pd.date_range('1959-03-31', periods=60, freq='Q-DEC')\n"
    "frame(qe, 'date').to_csv(os.path.join(d, 'qe.csv')); out('qe.csv', '-', qe)\n"
    "ye = pd.date_range('1871-12-31', periods=100, freq='A-DEC')\n"
    "frame(ye, 'date').to_csv(os.path.join(d, 'ye.csv')); out('ye.csv', '-', ye)\n"
    "e = datetime.date(1970, 1, 1)\n"
    "with open(os.path.join(d, 'years.csv'), 'w') as f:\n"
    "    f.write('Year,Sunspots\\n')\n"
    "    f.writelines('%d,%g\\n' % (y, y % 11) for y in range(1700, 2021))\n"
    "print('years.csv', '-', 'AS-JAN', *((datetime.date(y, 1, 1) - e).days * 86400 * 10**6 for y "
    "in range(1700, 2021)))\n"
    "w = pd.date_range('2020-01-05', periods=80, freq='W-SUN')\n"
    "frame(w, 'week').to_csv(os.path.join(d, 'w.csv')); out('w.csv', '-', w)\n"
    "b = pd.bdate_range('2020-01-01', '2020-12-31')\n"
    "hol = pd.to_datetime(['2020-01-20', '2020-02-17', '2020-04-10', '2020-05-25',\n"
    "                      '2020-07-03', '2020-09-07', '2020-11-26', '2020-12-25'])\n"
    "bh = b.difference(hol)\n"
    "frame(bh, 'Date').to_csv(os.path.join(d, 'b.csv'), date_format='%Y-%m-%d')\n"
    "out('b.csv', 'fill', b, 'B')\n"
    "us = pd.date_range('2020-01-01', periods=100, freq='D')\n"
    "with open(os.path.join(d, 'us.csv'), 'w') as f:\n"
    "    f.write('Date,Sales\\n')\n"
    "    f.writelines('%d/%d/%d,%d\\n' % (t.month, t.day, t.year, i) for i, t in "
    "enumerate(us))\n"
    "out('us.csv', '-', pd.to_datetime([t.strftime('%m/%d/%Y') for t in us], "
    "format='%m/%d/%Y'))\n"
    "with open(os.path.join(d, 'eu.csv'), 'w') as f:\n"
    "    f.write('Datum;Wert\\n')\n"
    "    f.writelines('%02d.%02d.%d;%d\\n' % (t.day, t.month, t.year, i) for i, t in "
    "enumerate(us))\n"
    "out('eu.csv', '-', pd.to_datetime([t.strftime('%d.%m.%Y') for t in us], "
    "format='%d.%m.%Y'))\n"
    "with open(os.path.join(d, 'ymd.csv'), 'w') as f:\n"
    "    f.write('day,v\\n')\n"
    "    f.writelines('%s,%d\\n' % (t.strftime('%Y%m%d'), i) for i, t in enumerate(us))\n"
    "out('ymd.csv', 'fmt=%Y%m%d', pd.to_datetime([t.strftime('%Y%m%d') for t in us], "
    "format='%Y%m%d'))\n"
    "h = pd.date_range('2021-03-27 22:00', periods=60, freq='15min', tz='Europe/Berlin')\n"
    "frame(h, 'time').to_csv(os.path.join(d, 'dst.csv'), date_format='%Y-%m-%dT%H:%M:%S%z')\n"
    "out('dst.csv', 'tz=Europe/Berlin', h.tz_convert('UTC'))\n"
    "ms = pd.date_range('2020-01-01', periods=30, freq='H')\n"
    "with open(os.path.join(d, 'ms_epoch.csv'), 'w') as f:\n"
    "    f.write('t,v\\n')\n"
    "    f.writelines('%d,%d\\n' % (x // 10**6, i) for i, x in enumerate(ms.asi8))\n"
    "out('ms_epoch.csv', 'unit=ms', ms)\n"
    "# sub-second: a 10 ms sensor as pandas writes it (ISO fractions), epoch milliseconds at\n"
    "# 250 ms, nanoseconds that are whole microseconds, a %f format, 100 us steps with gaps\n"
    "s10 = pd.date_range('2021-06-01 12:00:59.5', periods=400, freq='10L')\n"
    "frame(s10, 'time').to_csv(os.path.join(d, 'sensor.csv')); out('sensor.csv', '-', s10)\n"
    "q = pd.date_range('2020-01-01 00:00:00.75', periods=40, freq='250L')\n"
    "with open(os.path.join(d, 'ms_frac.csv'), 'w') as f:\n"
    "    f.write('t,v\\n')\n"
    "    f.writelines('%d,%d\\n' % (x // 10**6, i) for i, x in enumerate(q.asi8))\n"
    "out('ms_frac.csv', 'unit=ms', q)\n"
    "n = pd.date_range('2020-01-01', periods=30, freq='1500U')\n"
    "with open(os.path.join(d, 'ns.csv'), 'w') as f:\n"
    "    f.write('t,v\\n')\n"
    "    f.writelines('%d,%d\\n' % (x, i) for i, x in enumerate(n.asi8))\n"
    "out('ns.csv', 'unit=ns', n)\n"
    "with open(os.path.join(d, 'fmt_f.csv'), 'w') as f:\n"
    "    f.write('t,v\\n')\n"
    "    f.writelines('%s,%d\\n' % (t.strftime('%d/%m/%Y-%H:%M:%S.%f')[:-3], i)\n"
    "                 for i, t in enumerate(q))\n"
    "out('fmt_f.csv', 'fmt=%d/%m/%Y-%H:%M:%S.%f', pd.to_datetime(\n"
    "    [t.strftime('%d/%m/%Y-%H:%M:%S.%f')[:-3] for t in q], format='%d/%m/%Y-%H:%M:%S.%f'))\n"
    "u = pd.date_range('2020-01-01', periods=200, freq='100U')\n"
    "frame(u.delete([5, 6, 7, 120]), 'time').to_csv(os.path.join(d, 'us_gaps.csv'))\n"
    "out('us_gaps.csv', 'fill', u)\n"
    "with open(os.path.join(d, 'dmy_ms.csv'), 'w') as f:\n"
    "    f.write('Datum,v\\n')\n"
    "    f.writelines('%s,%d\\n' % (t.strftime('%d/%m/%Y %H:%M:%S.%f')[:-3], i)\n"
    "                 for i, t in enumerate(q))\n"
    "out('dmy_ms.csv', '-', pd.to_datetime([t.strftime('%d/%m/%Y %H:%M:%S.%f')[:-3] for t in q],\n"
    "                                      format='%d/%m/%Y %H:%M:%S.%f'))\n";

Test(csv_calendar, reads_pandas_r_and_spreadsheet_time_columns_with_their_frequency)
{
    tsft_need_python_modules("pandas");
    const char *dir = tsft_tmpdir();
    char *out = NULL, *perr = NULL;
    int rc = tsft_python(files_py, &out, &perr, dir, NULL);
    cr_assert_eq(rc, 0, "python: %s", perr);
    tsft_ref_line e[32];
    size_t n = tsft_ref_lines(out, 3, e, 32);
    cr_assert_eq(n, 22, "files from python: %zu", n);
    for (size_t c = 0; c < n; c++) {
        const char *name = e[c].word[0], *opts = e[c].word[1], *freq = e[c].word[2];
        tsf_csv_options o;
        tsf_csv_options_init(&o);
        if (!strncmp(opts, "fmt=", 4))
            o.time_format = opts + 4;
        else if (!strcmp(opts, "unit=ms"))
            o.time_unit = TSF_TIME_UNIT_MS;
        else if (!strcmp(opts, "unit=ns"))
            o.time_unit = TSF_TIME_UNIT_NS;
        else if (!strncmp(opts, "tz=", 3))
            o.tz = opts + 3;
        else if (!strcmp(opts, "fill"))
            o.gaps = TSF_GAP_FILL;
        tsf_frame *f = NULL;
        tsf_err err = TSF_ERR_INIT;
        const char *path = tsft_path(dir, name);
        rc = tsf_csv_read(&f, path, &o, NULL, &err);
        cr_assert_eq(rc, TSF_OK, "%s: %s", name, err.msg);
        cr_assert_eq(f->n_rows, e[c].n, "%s: %zu rows, pandas %zu", name, f->n_rows, e[c].n);
        cr_assert_eq(f->time_kind, TSF_TIME_EPOCH, "%s", name);
        cr_assert_eq(f->n_cols, 1, "%s: %zu value columns", name, f->n_cols);
        for (size_t i = 0; i < f->n_rows; i++)
            cr_assert_eq(f->time[i], e[c].v[i], "%s: row %zu: %" PRId64 ", pandas %" PRId64, name,
                         i, f->time[i], e[c].v[i]);
        char a[24];
        cr_assert_str_eq(tsf_freq_format(&f->freq, 1, a, sizeof a), freq,
                         "%s: tsflow %s, pandas.infer_freq %s", name, a, freq);
        /* steps under a second have no season: a day of 10 ms is 8.6 million steps */
        if (f->freq.unit == TSF_FREQ_FIXED && f->freq.n < TSF_US_PER_S)
            cr_assert_eq(tsf_freq_season(&f->freq), 0, "%s: season", name);
        tsf_frame_free(f);
    }
}

Test(csv_calendar, each_series_of_a_long_file_keeps_its_own_frequency)
{
    /* an hourly and a daily series: the daily one is not filled hourly */
    const char *p = tsft_path(tsft_tmpdir(), "long.csv");
    tsft_write_file(p,
                    "id,time,v\n"
                    "a,2020-01-01 00:00,1\na,2020-01-01 01:00,2\na,2020-01-01 03:00,4\n"
                    "b,2020-01-01,1\nb,2020-01-02,2\nb,2020-01-03,3\nb,2020-01-05,5\n",
                    (size_t)-1);
    tsf_csv_options o;
    tsf_csv_options_init(&o);
    o.id_column = "id";
    o.gaps = TSF_GAP_FILL;
    tsf_frame *f = NULL;
    tsf_err err = TSF_ERR_INIT;
    tsf_csv_info info;
    cr_assert_eq(tsf_csv_read(&f, p, &o, &info, &err), TSF_OK, "%s", err.msg);
    cr_assert_eq(info.n_filled, 2);
    cr_assert_eq(f->n_rows, 9);
    cr_assert_eq(f->freq.unit, TSF_FREQ_NONE);
    cr_assert_not_null(f->series_freq);
    char a[24], b[24];
    cr_assert_str_eq(tsf_freq_format(tsf_frame_series_freq(f, 0), 0, a, sizeof a), "h");
    cr_assert_str_eq(tsf_freq_format(tsf_frame_series_freq(f, 1), 0, b, sizeof b), "D");
    cr_assert_eq(f->series_start[1], 4);
    cr_assert_eq(f->time[3] - f->time[2], TSF_US_PER_H);
    cr_assert_eq(f->time[8] - f->time[7], TSF_US_PER_DAY);
    tsf_frame_free(f);
}

Test(csv_calendar, business_days_get_no_weekends_when_gaps_are_filled)
{
    const char *p = tsft_path(tsft_tmpdir(), "b.csv");
    /* Thu 2 Jan .. Fri 10 Jan 2020 without Mon 6 Jan (a holiday) */
    tsft_write_file(p,
                    "Date,Close\n2020-01-02,1\n2020-01-03,2\n2020-01-07,3\n2020-01-08,4\n"
                    "2020-01-09,5\n2020-01-10,6\n2020-01-13,7\n",
                    (size_t)-1);
    tsf_csv_options o;
    tsf_csv_options_init(&o);
    o.gaps = TSF_GAP_FILL;
    tsf_frame *f = NULL;
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_csv_read(&f, p, &o, NULL, &err), TSF_OK, "%s", err.msg);
    char a[24];
    cr_assert_str_eq(tsf_freq_format(&f->freq, 0, a, sizeof a), "B");
    cr_assert_eq(tsf_freq_season(&f->freq), 5);
    cr_assert_eq(f->n_rows, 8, "only Monday 6 January is inserted");
    cr_assert_eq(f->time[2], 1578268800 * TSF_US_PER_S); /* date -u -d 2020-01-06 +%s */
    tsf_frame_free(f);
}

Test(csv_calendar, integer_years_are_years_and_other_integers_need_time_unit)
{
    const char *dir = tsft_tmpdir();
    const char *p = tsft_path(dir, "y.csv");
    tsft_write_file(p, "Year,v\n1871,1\n1872,2\n1874,4\n", (size_t)-1);
    tsf_csv_options o;
    tsf_csv_options_init(&o);
    tsf_frame *f = NULL;
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_csv_read(&f, p, &o, NULL, &err), TSF_EFORMAT);
    cr_assert(strstr(err.msg, "gap of 1 missing timestamp between line 3 (1872-01-01 00:00:00) "
                              "and line 4 (1874-01-01 00:00:00)"),
              "%s", err.msg);
    o.time_unit = TSF_TIME_UNIT_INDEX;
    cr_assert_eq(tsf_csv_read(&f, p, &o, NULL, &err), TSF_EFORMAT);
    cr_assert(strstr(err.msg, "expected a step of 1;"), "%s", err.msg);
    o.gaps = TSF_GAP_FILL;
    cr_assert_eq(tsf_csv_read(&f, p, &o, NULL, &err), TSF_OK, "%s", err.msg);
    cr_assert_eq(f->time_kind, TSF_TIME_INDEX);
    cr_assert_eq(f->time[2], 1873);
    tsf_frame_free(f);
}
