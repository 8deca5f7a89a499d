/* Frequencies: aliases, calendar arithmetic and inference, checked against pandas' date_range
 * and infer_freq (Debian's python3-pandas, run at test time) and Python's datetime. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"
#include "tsflow/frame.h"
#include "tsflow/freq.h"

/* One line per case: "<alias> <pandas.infer_freq or None> <epoch microseconds>...", from
 * pandas.date_range(start, periods=n, freq=alias). */
static const char *const date_range_py =
    "import pandas as pd\n"
    "cases = [('MS', '1949-01-01', 144), ('M', '1999-11-30', 40), ('QS-OCT', '1960-01-01', 60),\n"
    "         ('Q-DEC', '1959-03-31', 60), ('QS-FEB', '1980-02-01', 9), ('Q-NOV', '1980-02-29', "
    "9),\n"
    "         ('AS-JAN', '1749-01-01', 272), ('A-DEC', '1871-12-31', 150), ('AS-JUL', "
    "'1990-07-01', 9),\n"
    "         ('W-SUN', '2019-12-29', 120), ('W-WED', '2020-01-01', 60), ('B', '2019-12-02', "
    "400),\n"
    "         ('D', '1900-02-20', 800), ('H', '2020-03-27 00:00', 200), ('15T', '2020-03-28 "
    "22:00', 400),\n"
    "         ('2H', '2021-10-30', 50), ('3MS', '2001-01-01', 20), ('2Q-DEC', '2000-06-30', 12),\n"
    "         ('MS', '2000-01-01 06:30', 30), ('S', '2020-01-01', 100), ('90T', '2020-01-01', "
    "100),\n"
    "         ('2W-MON', '2020-01-06', 30), ('10L', '2020-01-01 00:00:59.5', 300),\n"
    "         ('250L', '2020-01-01', 50), ('100U', '2020-01-01', 100), ('L', '2020-01-01', 20),\n"
    "         ('U', '1969-12-31 23:59:59.99999', 30), ('1500L', '2020-01-01', 10)]\n"
    "for alias, start, n in cases:\n"
    "    idx = pd.date_range(start, periods=n, freq=alias)\n"
    "    print(alias, pd.infer_freq(idx), *(idx.asi8 // 10**3))\n";

static void parse_ok(const char *alias, tsf_freq *f)
{
    tsf_err err = TSF_ERR_INIT;
    int rc = tsf_freq_parse(alias, f, &err);
    cr_assert_eq(rc, TSF_OK, "%s: %s", alias, err.msg);
}

Test(freq, adds_counts_and_infers_as_pandas_date_range_and_infer_freq)
{
    tsft_need_python_modules("pandas");
    char *out = NULL, *perr = NULL;
    int rc = tsft_python(date_range_py, &out, &perr, NULL);
    cr_assert_eq(rc, 0, "python: %s", perr);
    tsft_ref_line r[32];
    size_t n = tsft_ref_lines(out, 2, r, 32);
    cr_assert_eq(n, 28, "cases from python: %zu", n);
    for (size_t c = 0; c < n; c++) {
        const char *alias = r[c].word[0], *inferred = r[c].word[1];
        const int64_t *t = r[c].v;
        tsf_freq f;
        parse_ok(alias, &f);
        for (size_t i = 0; i < r[c].n; i++) {
            int64_t got = tsf_freq_add(&f, t[0], (int64_t)i), k = -1;
            cr_assert_eq(got, t[i], "%s: period %zu from %" PRId64 ": %" PRId64 ", pandas %" PRId64,
                         alias, i, t[0], got, t[i]);
            cr_assert(tsf_freq_on_offset(&f, t[i]), "%s: %" PRId64 " on offset", alias, t[i]);
            cr_assert(tsf_freq_count(&f, t[0], t[i], &k) && k == (int64_t)i,
                      "%s: count to period %zu gave %" PRId64, alias, i, k);
            /* backwards, too */
            cr_assert_eq(tsf_freq_add(&f, t[i], -(int64_t)i), t[0], "%s: back %zu", alias, i);
        }
        tsf_freq inf;
        cr_assert(tsf_freq_infer(t, r[c].n, &inf), "%s: inferred", alias);
        char a[24];
        cr_assert_str_eq(tsf_freq_format(&inf, 1, a, sizeof a), inferred,
                         "%s: tsflow infers %s, pandas.infer_freq %s", alias, a, inferred);
    }
}

Test(freq, infers_the_frequency_when_periods_are_missing)
{
    tsft_need_python_modules("pandas");
    /* Business days without the 2020 US market holidays, monthly with months dropped, quarterly
     * with a missing quarter, hourly with a missing hour, weekly with a missing week: the
     * frequency of the complete range. */
    char *out = NULL, *perr = NULL;
    int rc = tsft_python(
        "import pandas as pd\n"
        "def show(idx, full):\n"
        "    print(pd.infer_freq(full), pd.infer_freq(full), *(idx.asi8 // 10**3))\n"
        "b = pd.date_range('2020-01-01', '2020-12-31', freq='B')\n"
        "hol = pd.to_datetime(['2020-01-01', '2020-01-20', '2020-02-17', '2020-04-10',\n"
        "                      '2020-05-25', '2020-07-03', '2020-09-07', '2020-11-26', "
        "'2020-12-25'])\n"
        "show(b.difference(hol), b)\n"
        "m = pd.date_range('1949-01-01', periods=60, freq='MS')\n"
        "show(m.delete([3, 4, 17]), m)\n"
        "q = pd.date_range('1960-03-31', periods=20, freq='Q-DEC')\n"
        "show(q.delete([5]), q)\n"
        "h = pd.date_range('2020-01-01', periods=50, freq='H')\n"
        "show(h.delete([1, 2, 30]), h)\n"
        "w = pd.date_range('2020-01-05', periods=20, freq='W-SUN')\n"
        "show(w.delete([7]), w)\n"
        "y = pd.date_range('1871-12-31', periods=30, freq='A-DEC')\n"
        "show(y.delete([1, 2]), y)\n"
        "u = pd.date_range('2020-01-01', periods=100, freq='100U')\n"
        "show(u.delete([3, 50, 51]), u)\n",
        &out, &perr, NULL);
    cr_assert_eq(rc, 0, "python: %s", perr);
    tsft_ref_line r[8];
    size_t n = tsft_ref_lines(out, 2, r, 8);
    cr_assert_eq(n, 7);
    for (size_t c = 0; c < n; c++) {
        tsf_freq f;
        cr_assert(tsf_freq_infer(r[c].v, r[c].n, &f));
        char a[24];
        cr_assert_str_eq(tsf_freq_format(&f, 1, a, sizeof a), r[c].word[0],
                         "case %zu: tsflow infers %s with periods missing, the full range is %s", c,
                         a, r[c].word[0]);
    }
    /* The business-day series: 262 business days in 2020 less 9 holidays; the first, Jan 1,
     * is before the first row, so the span from Jan 2 holds 261 periods, 8 of them missing. */
    tsf_freq b;
    parse_ok("B", &b);
    int64_t k;
    cr_assert(tsf_freq_count(&b, r[0].v[0], r[0].v[r[0].n - 1], &k));
    cr_assert_eq(k + 1, 261, "%" PRId64 " periods from %" PRId64 " to %" PRId64, k + 1, r[0].v[0],
                 r[0].v[r[0].n - 1]);
    cr_assert_eq(r[0].n, 253);
}

Test(freq, reaches_the_1600s_before_pandas_nanoseconds_as_python_datetime_does)
{
    char *out = NULL, *perr = NULL;
    int rc = tsft_python("import datetime\n"
                         "e = datetime.date(1970, 1, 1)\n"
                         "print('AS-JAN', 'AS-JAN', *((datetime.date(y, 1, 1) - e).days * 86400\n"
                         "                          * 10**6 for y in range(1600, 2021)))\n",
                         &out, &perr, NULL);
    cr_assert_eq(rc, 0, "python: %s", perr);
    tsft_ref_line r[1];
    cr_assert_eq(tsft_ref_lines(out, 2, r, 1), 1);
    cr_assert_eq(r[0].n, 421);
    tsf_freq f;
    cr_assert(tsf_freq_infer(r[0].v, r[0].n, &f));
    char a[24];
    cr_assert_str_eq(tsf_freq_format(&f, 0, a, sizeof a), "YS-JAN");
    for (size_t i = 0; i < r[0].n; i++)
        cr_assert_eq(tsf_freq_add(&f, r[0].v[0], (int64_t)i), r[0].v[i], "year %zu", 1600 + i);
    cr_assert_eq(tsf_freq_season(&f), 1);
}

Test(freq, month_end_plus_one_month_is_the_end_of_february)
{
    tsf_freq me;
    parse_ok("ME", &me);
    /* date -u -d 2020-01-31 +%s; 2020-02-29; 2021-01-31; 2021-02-28 (in microseconds) */
    const int64_t S = TSF_US_PER_S;
    cr_assert_eq(tsf_freq_add(&me, 1580428800 * S, 1), 1582934400 * S);
    cr_assert_eq(tsf_freq_add(&me, 1612051200 * S, 1), 1614470400 * S);
    int64_t k;
    /* 2020-02-15 lies between the January and February ends */
    cr_assert_not(tsf_freq_count(&me, 1580428800 * S, 1581724800 * S, &k));
    cr_assert_eq(k, 0);
}

Test(freq, prints_pandas_2_and_pandas_1_names)
{
    static const char *const cases[][3] = {
        {"ME", "ME", "M"},
        {"M", "ME", "M"},
        {"Q", "QE-DEC", "Q-DEC"},
        {"QE-MAR", "QE-MAR", "Q-MAR"},
        {"QS", "QS-JAN", "QS-JAN"},
        {"YS", "YS-JAN", "AS-JAN"},
        {"AS-JUL", "YS-JUL", "AS-JUL"},
        {"A", "YE-DEC", "A-DEC"},
        {"Y-JUN", "YE-JUN", "A-JUN"},
        {"W", "W-SUN", "W-SUN"},
        {"15min", "15min", "15T"},
        {"15T", "15min", "15T"},
        {"2h", "2h", "2H"},
        {"24H", "D", "D"},
        {"30s", "30s", "30S"},
        {"B", "B", "B"},
        {"3MS", "3MS", "3MS"},
        {"7D", "7D", "7D"},
        {"500ms", "500ms", "500L"},
        {"10L", "10ms", "10L"},
        {"1000ms", "s", "S"},
        {"100us", "100us", "100U"},
        {"1500U", "1500us", "1500U"},
        {"2000ns", "2us", "2U"},
        {"3000000N", "3ms", "3L"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tsf_freq f;
        parse_ok(cases[i][0], &f);
        char a[24], b[24];
        cr_assert_str_eq(tsf_freq_format(&f, 0, a, sizeof a), cases[i][1], "%s", cases[i][0]);
        cr_assert_str_eq(tsf_freq_format(&f, 1, b, sizeof b), cases[i][2], "%s", cases[i][0]);
    }
    tsf_freq a, b;
    parse_ok("QS-OCT", &a);
    parse_ok("QS-JAN", &b);
    cr_assert(tsf_freq_equal(&a, &b), "QS-OCT and QS-JAN start the same quarters");
    parse_ok("QS-FEB", &b);
    cr_assert_not(tsf_freq_equal(&a, &b));
}

Test(freq, refuses_unknown_aliases_naming_what_is_understood)
{
    static const char *const bad[][2] = {
        {"X", "frequency \"X\" is not understood (expected a pandas offset alias"},
        {"W-FOO", "frequency \"W-FOO\": \"FOO\" is not a weekday MON..SUN"},
        {"QS-13", "frequency \"QS-13\": \"13\" is not a month JAN..DEC"},
        {"D-MON", "frequency \"D-MON\": \"D\" takes no anchor"},
        {"500ns", "frequency \"500ns\" is not a whole number of microseconds, tsflow's "
                  "resolution"},
        {"N", "frequency \"N\" is not a whole number of microseconds"},
        {"99999999999D", "frequency \"99999999999D\": the multiple is too large"},
        {"0D", "frequency \"0D\": the multiple is 0"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tsf_freq f;
        tsf_err err = TSF_ERR_INIT;
        cr_assert_eq(tsf_freq_parse(bad[i][0], &f, &err), TSF_EINVAL, "%s", bad[i][0]);
        cr_assert(strstr(err.msg, bad[i][1]), "%s: %s", bad[i][0], err.msg);
        cr_assert_eq(f.unit, TSF_FREQ_NONE);
    }
}

Test(freq, season_follows_the_frequency)
{
    static const struct {
        const char *alias;
        size_t season;
    } cases[] = {{"15min", 96}, {"h", 24},    {"2h", 12},    {"5h", 0},     {"D", 7},
                 {"2D", 0},     {"B", 5},     {"W-SUN", 52}, {"MS", 12},    {"ME", 12},
                 {"3MS", 4},    {"5MS", 0},   {"QS-JAN", 4}, {"QE-DEC", 4}, {"YS-JAN", 1},
                 {"YE-DEC", 1}, {"s", 86400}, {"10ms", 0},   {"100us", 0}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tsf_freq f;
        parse_ok(cases[i].alias, &f);
        cr_assert_eq(tsf_freq_season(&f), cases[i].season, "%s: %zu", cases[i].alias,
                     tsf_freq_season(&f));
    }
    tsf_freq none = {TSF_FREQ_NONE, 0, 0};
    cr_assert_eq(tsf_freq_season(&none), 0);
}
