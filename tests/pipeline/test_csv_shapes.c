/* Shapes of public time-series CSV files (scripts/public_csv.sh, docs/public-csv.md), as small
 * synthetic fixtures: R's ts exported with its row names and decimal years, day-month-year
 * dates with dashes, a time column that is not the first, a long table whose first column
 * names the series. What reads is checked against pandas; what cannot be known asks for the
 * option that reads it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

#define ASSERT_HAS(text, sub)                                                                      \
    cr_assert(strstr((text), (sub)), "missing \"%s\" in:\n%s", (sub), (text))

static const char *fixture(const char *name)
{
    static char rel[256];
    snprintf(rel, sizeof rel, "tests/fixtures/csv/%s", name);
    return tsft_source(rel);
}

/* tsflow convert's times of a fixture against pandas.date_range(start, periods=n, freq). */
static void times_are(const char *name, const char *start, int n, const char *freq,
                      const char *flag, const char *value)
{
    const char *out_csv = tsft_path(tsft_tmpdir(), "out.csv");
    char *out = NULL, *err = NULL;
    int rc = flag ? tsft_tsflow(&out, &err, "convert", fixture(name), out_csv, flag, value, NULL)
                  : tsft_tsflow(&out, &err, "convert", fixture(name), out_csv, NULL);
    cr_assert_eq(rc, 0, "%s: %s", name, err);
    char nbuf[16];
    snprintf(nbuf, sizeof nbuf, "%d", n);
    char *py = NULL, *perr = NULL;
    rc = tsft_python("import sys, pandas as pd\n"
                     "c = pd.read_csv(sys.argv[1])\n"
                     "t = pd.DatetimeIndex(pd.to_datetime(c.iloc[:, 0]))\n"
                     "want = pd.date_range(sys.argv[2], periods=int(sys.argv[3]), "
                     "freq=sys.argv[4])\n"
                     "assert t.equals(want), (t, want)\n"
                     "assert pd.infer_freq(t) == pd.infer_freq(want)\n"
                     "print('ok')\n",
                     &py, &perr, out_csv, start, nbuf, freq, NULL);
    cr_assert_eq(rc, 0, "%s: python: %s", name, perr);
    ASSERT_HAS(py, "ok");
}

Test(csv_shapes, r_ts_exports_with_row_names_and_decimal_years_read_on_the_calendar)
{
    tsft_need_python_modules("pandas");
    times_are("r_ts_monthly.csv", "1949-01-01", 15, "MS", NULL, NULL);
    times_are("r_ts_quarterly.csv", "1960-01-01", 9, "QS-JAN", NULL, NULL);
    char *out = NULL, *err = NULL;
    int rc = tsft_tsflow(&out, &err, "inspect", fixture("r_ts_monthly.csv"), NULL);
    cr_assert_eq(rc, 0, "%s", err);
    ASSERT_HAS(out, "freq    MS (season 12)");
    ASSERT_HAS(out, "value"); /* the row names are no column */
    cr_assert(!strstr(out, "rownames"), "%s", out);
}

Test(csv_shapes, a_decimal_year_off_the_months_is_an_error_naming_the_column)
{
    const char *p = tsft_path(tsft_tmpdir(), "odd.csv");
    tsft_write_file(p, "rownames,time,value\n1,1949,1\n2,1949.3,2\n", (size_t)-1);
    char *out = NULL, *err = NULL;
    int rc = tsft_tsflow(&out, &err, "inspect", p, NULL);
    cr_assert_eq(rc, 1, "%s", err);
    ASSERT_HAS(err, "odd.csv:3:2: \"1949.3\" in time column \"time\" is not an integer (expected "
                    "integer years, as at line 2)");
}

Test(csv_shapes, day_month_year_dates_with_dashes_read_day_first_when_a_day_says_so)
{
    tsft_need_python_modules("pandas");
    times_are("dmy_dashes.csv", "2018-08-10", 6, "D", NULL, NULL);
    /* all days 12 or less: both orders read, so tsflow asks */
    const char *p = tsft_path(tsft_tmpdir(), "amb.csv");
    tsft_write_file(p, "Date,Price\n01-02-2018,1\n02-02-2018,2\n03-02-2018,3\n", (size_t)-1);
    char *out = NULL, *err = NULL;
    int rc = tsft_tsflow(&out, &err, "inspect", p, NULL);
    cr_assert_eq(rc, 1, "%s", err);
    ASSERT_HAS(err, "the day/month order of time column \"Date\" is ambiguous: \"01-02-2018\" "
                    "reads as 2018-01-02 00:00:00 month first (%m-%d-%Y) and as 2018-02-01 "
                    "00:00:00 day first (%d-%m-%Y), and no value in the column rules either out "
                    "(expected time_format = %m-%d-%Y or %d-%m-%Y)");
}

Test(csv_shapes, a_time_column_that_is_not_the_first_is_asked_for_by_name)
{
    tsft_need_python_modules("pandas");
    char *out = NULL, *err = NULL;
    int rc = tsft_tsflow(&out, &err, "inspect", fixture("time_second_column.csv"), NULL);
    cr_assert_eq(rc, 1, "%s", err);
    ASSERT_HAS(err, "time_second_column.csv:2:2: \"1956-01-01\" in column \"date\" is a time, but "
                    "tsflow takes the first column as the time only when its values are times "
                    "(expected time_column = date, --time-column date)");
    times_are("time_second_column.csv", "1956-01-01", 6, "QS-JAN", "--time-column", "date");
}

Test(csv_shapes, text_in_a_value_column_names_the_id_column_option)
{
    char *out = NULL, *err = NULL;
    const char *p = fixture("text_id_first.csv");
    int rc = tsft_tsflow(&out, &err, "inspect", p, NULL);
    cr_assert_eq(rc, 1, "%s", err);
    ASSERT_HAS(err, "text_id_first.csv:2:1: \"GCAG\" is not a number in column \"Source\" "
                    "(expected a decimal number such as -1.5e3, inf, or a missing-value token: "
                    "\"\", \"NA\", \"NaN\", \"nan\", \"null\"; a text column that names each "
                    "row's series is the id column, id_column = Source (--id-column Source)");
    rc = tsft_tsflow(&out, &err, "inspect", "--id-column", "Source", p, NULL);
    cr_assert_eq(rc, 0, "%s", err);
    ASSERT_HAS(out, "rows    12 in 2 series (id column \"Source\")");
    ASSERT_HAS(out, "freq    YS-JAN (season 1)");
}

Test(csv_shapes, a_named_time_column_in_an_unknown_form_says_it_is_a_time_and_how_to_read_it)
{
    const char *p = tsft_path(tsft_tmpdir(), "hm.csv");
    tsft_write_file(p, "date,close\n11:34,270.49\n11:35,270.6\n", (size_t)-1);
    char *out = NULL, *err = NULL;
    int rc = tsft_tsflow(&out, &err, "inspect", p, NULL);
    cr_assert_eq(rc, 1, "%s", err);
    ASSERT_HAS(err, "hm.csv:2:1: \"11:34\" in column \"date\" is neither a number nor a time "
                    "tsflow reads without a format (understood without options: ISO 8601");
    ASSERT_HAS(err, "set time_format (e.g. %d.%m.%Y) for other forms, or time_unit for "
                    "integers; with time_column = date)");
}
