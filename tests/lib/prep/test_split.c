/* Splits (by share, row and time; the ETT standard split) and imputation (refuse, forward
 * fill, linear, seasonal; counts; leak-free inside row ranges). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "frames.h"
#include "support.h"
#include "tsflow/prep.h"

static void assert_part(const tsf_split *sp, int p, size_t s, size_t begin, size_t end)
{
    cr_assert(sp->part[p][s].begin == begin && sp->part[p][s].end == end,
              "%s part of series %zu: got [%zu, %zu), want [%zu, %zu)", tsf_part_name(p), s,
              sp->part[p][s].begin, sp->part[p][s].end, begin, end);
}

Test(split, expresses_the_ett_standard_split_for_hourly_and_15_minute_files)
{
    tsf_err err = TSF_ERR_INIT;
    tsf_split_spec spec;
    tsf_frame *f = tframe(1, 17420, NULL, 1467331200 * SEC, 3600 * SEC);
    tsf_split *sp;
    tsf_split_spec_ett(&spec, 24);
    cr_assert_eq(tsf_split_make(&sp, f, &spec, &err), TSF_OK, "%s", err.msg);
    assert_part(sp, TSF_PART_TRAIN, 0, 0, 8640);
    assert_part(sp, TSF_PART_VAL, 0, 8640, 11520);
    assert_part(sp, TSF_PART_TEST, 0, 11520, 14400);
    tsf_split_free(sp);
    tsf_frame_free(f);

    f = tframe(1, 69680, NULL, 1467331200 * SEC, 900 * SEC);
    tsf_split_spec_ett(&spec, 96);
    cr_assert_eq(tsf_split_make(&sp, f, &spec, &err), TSF_OK, "%s", err.msg);
    assert_part(sp, TSF_PART_TRAIN, 0, 0, 34560);
    assert_part(sp, TSF_PART_VAL, 0, 34560, 46080);
    assert_part(sp, TSF_PART_TEST, 0, 46080, 57600);
    tsf_split_free(sp);
    tsf_frame_free(f);
}

Test(split, by_shares_cuts_each_series_at_floor_of_the_cumulative_share)
{
    tsf_err err = TSF_ERR_INIT;
    tsf_frame *f = tframe(1, 30, NULL, 0, 0);
    const size_t starts[] = {0, 10, 30};
    const char *ids[] = {"x", "y"};
    tseries(f, 2, starts, ids);
    tsf_split_spec spec = {.kind = TSF_SPLIT_FRACTION, .fraction = {0.7, 0.1, 0.2}};
    tsf_split *sp;
    cr_assert_eq(tsf_split_make(&sp, f, &spec, &err), TSF_OK, "%s", err.msg);
    /* 10 rows: 7 / 1 / 2 (0.7 + 0.1 is 0.7999999999999999 in binary: still 8 rows). */
    assert_part(sp, TSF_PART_TRAIN, 0, 0, 7);
    assert_part(sp, TSF_PART_VAL, 0, 7, 8);
    assert_part(sp, TSF_PART_TEST, 0, 8, 10);
    /* 20 rows from row 10: 14 / 2 / 4 */
    assert_part(sp, TSF_PART_TRAIN, 1, 10, 24);
    assert_part(sp, TSF_PART_VAL, 1, 24, 26);
    assert_part(sp, TSF_PART_TEST, 1, 26, 30);
    tsf_split_free(sp);

    /* Shares below 1 leave the tail unused. */
    spec = (tsf_split_spec){.kind = TSF_SPLIT_FRACTION, .fraction = {0.5, 0.25, 0}};
    cr_assert_eq(tsf_split_make(&sp, f, &spec, &err), TSF_OK, "%s", err.msg);
    assert_part(sp, TSF_PART_TRAIN, 1, 10, 20);
    assert_part(sp, TSF_PART_VAL, 1, 20, 25);
    assert_part(sp, TSF_PART_TEST, 1, 25, 25);
    tsf_split_free(sp);
    tsf_frame_free(f);
}

Test(split, by_time_takes_rows_between_the_boundaries_of_every_series)
{
    tsf_err err = TSF_ERR_INIT;
    /* Two hourly series of 48 rows, both from 2016-07-01 00:00 UTC (1467331200 s). */
    tsf_frame *f = tframe(1, 96, NULL, 0, 3600 * SEC);
    for (size_t r = 0; r < 96; r++)
        f->time[r] = 1467331200 * SEC + (int64_t)(r % 48) * 3600 * SEC;
    const size_t starts[] = {0, 48, 96};
    tseries(f, 2, starts, NULL);
    tsf_split_spec spec = {.kind = TSF_SPLIT_TIME};
    int64_t day2 = 1467331200 * SEC + 86400 * SEC;
    spec.times[0] = INT64_MIN;
    spec.times[1] = day2;                   /* train: day 1 */
    spec.times[2] = day2 + 12 * 3600 * SEC; /* validation: day 2 until noon */
    spec.times[3] = INT64_MAX;              /* test: the rest */
    tsf_split *sp;
    cr_assert_eq(tsf_split_make(&sp, f, &spec, &err), TSF_OK, "%s", err.msg);
    for (size_t s = 0; s < 2; s++) {
        assert_part(sp, TSF_PART_TRAIN, s, 48 * s, 48 * s + 24);
        assert_part(sp, TSF_PART_VAL, s, 48 * s + 24, 48 * s + 36);
        assert_part(sp, TSF_PART_TEST, s, 48 * s + 36, 48 * s + 48);
    }
    tsf_split_free(sp);
    tsf_frame_free(f);
}

Test(split, refuses_a_series_shorter_than_the_row_split_naming_it)
{
    tsf_err err = TSF_ERR_INIT;
    tsf_frame *f = tframe(1, 20, NULL, 0, 0);
    const size_t starts[] = {0, 14, 20};
    const char *ids[] = {"long", "short"};
    tseries(f, 2, starts, ids);
    tsf_split_spec spec = {.kind = TSF_SPLIT_ROWS, .rows = {0, 8, 10, 12}};
    tsf_split *sp = (tsf_split *)1;
    cr_assert_eq(tsf_split_make(&sp, f, &spec, &err), TSF_EINVAL);
    cr_assert_null(sp);
    cr_assert_str_eq(err.msg, "split: series \"short\" has 6 rows, but the split by rows needs "
                              "12 (the test part is rows [10, 12))");
    tsf_frame_free(f);
}

Test(split, refuses_shares_above_one_and_an_empty_train_part)
{
    tsf_err err = TSF_ERR_INIT;
    tsf_frame *f = tframe(1, 3, NULL, 0, 0);
    tsf_split *sp;
    tsf_split_spec spec = {.kind = TSF_SPLIT_FRACTION, .fraction = {0.7, 0.2, 0.2}};
    cr_assert_eq(tsf_split_make(&sp, f, &spec, &err), TSF_EINVAL);
    cr_assert_str_eq(err.msg, "split: shares 0.7 + 0.2 + 0.2 add up to 1.1 (expected at most 1)");
    spec = (tsf_split_spec){.kind = TSF_SPLIT_FRACTION, .fraction = {0.2, 0.8, 0}};
    cr_assert_eq(tsf_split_make(&sp, f, &spec, &err), TSF_EINVAL);
    cr_assert_str_eq(err.msg, "split: the train part of the series (3 rows) is empty");
    tsf_frame_free(f);
}

/* ---- Imputation --------------------------------------------------------------------------- */

#define N_ 10
static const double gappy[N_] = {NAN, 1, 2, NAN, NAN, 5, 6, NAN, 8, NAN};

static void impute_one(tsf_impute_method method, size_t season, double *x, size_t n,
                       tsf_impute_counts *c, int allow)
{
    tsf_err err = TSF_ERR_INIT;
    tsf_frame *f = tframe(1, n, x, 1467331200 * SEC, 3600 * SEC);
    tsf_impute_spec spec = {.method = method, .season = season, .allow_unfilled = allow};
    cr_assert_eq(tsf_impute(f, &spec, NULL, c, &err), TSF_OK, "%s", err.msg);
    for (size_t r = 0; r < n; r++)
        x[r] = f->cols[0][r];
    tsf_frame_free(f);
}

Test(impute, forward_fill_carries_the_last_value_and_counts_the_leading_gap)
{
    double x[N_];
    memcpy(x, gappy, sizeof x);
    tsf_impute_counts c;
    impute_one(TSF_IMPUTE_FFILL, 0, x, N_, &c, 1);
    const double want[N_] = {NAN, 1, 2, 2, 2, 5, 6, 6, 8, 8};
    tsft_assert_identical(x, want, N_, "forward fill");
    cr_assert_eq(c.missing, 5);
    cr_assert_eq(c.filled, 4);
    cr_assert_eq(c.unfilled, 1);
    cr_assert_eq(c.first_unfilled, 0);
}

Test(impute, linear_interpolates_in_the_row_index_like_pandas)
{
    double x[N_];
    memcpy(x, gappy, sizeof x);
    tsf_impute_counts c;
    impute_one(TSF_IMPUTE_LINEAR, 0, x, N_, &c, 1);
    /* pandas.Series(gappy).interpolate(): 3 and 4 between 2 and 5, 7 between 6 and 8, the
     * trailing NaN carries 8, the leading one stays. */
    const double want[N_] = {NAN, 1, 2, 3, 4, 5, 6, 7, 8, 8};
    tsft_assert_identical(x, want, N_, "linear");
    cr_assert_eq(c.filled, 4);
    cr_assert_eq(c.unfilled, 1);
}

Test(impute, linear_agrees_with_pandas_interpolate_on_random_gaps)
{
    tsft_need_python_modules("pandas");
    unsigned long long st = 7;
    const size_t n = 200;
    double x[200];
    char *csv = malloc(n * 32);
    size_t len = 0;
    for (size_t r = 0; r < n; r++) {
        x[r] = trand(&st) < 0.3 && r > 0 ? NAN : 10 * trand(&st) - 5;
        len += (size_t)sprintf(csv + len, "%.17g\n", x[r]);
    }
    const char *path = tsft_path(tsft_tmpdir(), "gaps.txt");
    tsft_write_file(path, csv, len);
    free(csv);
    char *out = NULL, *perr = NULL;
    int rc = tsft_python("import sys, pandas as pd\n"
                         "s = pd.read_csv(sys.argv[1], header=None)[0].interpolate()\n"
                         "print('\\n'.join(repr(float(v)) for v in s))\n",
                         &out, &perr, path, NULL);
    cr_assert_eq(rc, 0, "python failed: %s", perr);
    double want[200];
    char *p = out;
    for (size_t r = 0; r < n; r++)
        want[r] = strtod(p, &p);
    tsf_impute_counts c;
    impute_one(TSF_IMPUTE_LINEAR, 0, x, n, &c, 0);
    tsft_assert_close(x, want, n, 1e-14, 1e-14, "linear vs pandas");
}

Test(impute, seasonal_takes_the_value_one_period_earlier_and_chains)
{
    /* season 3: rows 3 and 6 missing in a row: row 3 from row 0, row 6 from (filled) row 3. */
    double x[9] = {10, 11, 12, NAN, 14, 15, NAN, NAN, 18};
    tsf_impute_counts c;
    impute_one(TSF_IMPUTE_SEASONAL, 3, x, 9, &c, 0);
    const double want[9] = {10, 11, 12, 10, 14, 15, 10, 14, 18};
    tsft_assert_identical(x, want, 9, "seasonal");
    cr_assert_eq(c.missing, 3);
    cr_assert_eq(c.filled, 3);
    cr_assert_eq(c.unfilled, 0);
    cr_assert_eq(c.first_unfilled, SIZE_MAX);
}

Test(impute, refuse_names_the_missing_rows_with_their_timestamps)
{
    tsf_err err = TSF_ERR_INIT;
    double x[N_];
    memcpy(x, gappy, sizeof x);
    tsf_frame *f = tframe(1, N_, x, 1467331200 * SEC, 3600 * SEC);
    tsf_impute_spec spec = {.method = TSF_IMPUTE_REFUSE};
    cr_assert_eq(tsf_impute(f, &spec, NULL, NULL, &err), TSF_ENUMERIC);
    cr_assert_str_eq(err.msg, "impute: column \"a\" of the series has 5 missing values (impute "
                              "method: refuse): row 0 (2016-07-01 00:00:00), row 3 (2016-07-01 "
                              "03:00:00), row 4 (2016-07-01 04:00:00), row 7 (2016-07-01 "
                              "07:00:00), row 9 (2016-07-01 09:00:00)");
    tsf_frame_free(f);
}

Test(impute, an_unfillable_leading_gap_is_an_error_unless_allowed)
{
    tsf_err err = TSF_ERR_INIT;
    double x[N_];
    memcpy(x, gappy, sizeof x);
    tsf_frame *f = tframe(1, N_, x, 1467331200 * SEC, 3600 * SEC);
    tsf_impute_spec spec;
    tsf_impute_spec_init(&spec);
    cr_assert_eq(tsf_impute(f, &spec, NULL, NULL, &err), TSF_ENUMERIC);
    cr_assert_str_eq(err.msg, "impute: column \"a\" of the series: row 0 (2016-07-01 00:00:00) "
                              "is missing and has no earlier observed value to fill from (impute "
                              "method: ffill); 1 value left unfilled");
    tsf_frame_free(f);
}

Test(impute, inside_row_ranges_never_reads_or_writes_after_the_cut)
{
    tsf_err err = TSF_ERR_INIT;
    /* Two series of 6 rows; cut each after 4 rows. The gap at rows 2..3 reaches the cut: linear
     * interpolation must carry row 1 forward, not use row 4 (which is after the cut). */
    double x[12] = {1, 2, NAN, NAN, 100, NAN, 5, NAN, 7, NAN, 200, NAN};
    tsf_frame *f = tframe(1, 12, x, 0, 0);
    const size_t starts[] = {0, 6, 12};
    tseries(f, 2, starts, NULL);
    const tsf_range rows[] = {{0, 4}, {6, 10}};
    tsf_impute_spec spec = {.method = TSF_IMPUTE_LINEAR};
    tsf_impute_counts c[1];
    cr_assert_eq(tsf_impute(f, &spec, rows, c, &err), TSF_OK, "%s", err.msg);
    const double want[12] = {1, 2, 2, 2, 100, NAN, 5, 6, 7, 7, 200, NAN};
    tsft_assert_identical(f->cols[0], want, 12, "linear within ranges");
    cr_assert_eq(c[0].missing, 4);
    cr_assert_eq(c[0].filled, 4);
    tsf_frame_free(f);
}

Test(impute, method_names_parse_back)
{
    for (int m = 0; m < 4; m++)
        cr_assert_eq(tsf_impute_method_parse(tsf_impute_method_name((tsf_impute_method)m)), m);
    cr_assert_eq(tsf_impute_method_parse("bfill"), -1);
}

Test(impute, seasonal_leaves_the_first_period_unfilled_and_says_why)
{
    tsf_err err = TSF_ERR_INIT;
    double x[6] = {1, NAN, 3, 4, NAN, 6};
    tsf_frame *f = tframe(1, 6, x, 0, 0);
    tsf_impute_spec spec = {.method = TSF_IMPUTE_SEASONAL, .season = 3};
    tsf_impute_counts c[1];
    cr_assert_eq(tsf_impute(f, &spec, NULL, c, &err), TSF_ENUMERIC);
    cr_assert_str_eq(err.msg, "impute: column \"a\" of the series: row 1 is missing and has no "
                              "value one season earlier to fill from (impute method: seasonal); 2 "
                              "values left unfilled");
    /* row 1 has no row a season back; row 4's is row 1, missing too */
    cr_assert_eq(c[0].missing, 2);
    cr_assert_eq(c[0].filled, 0);
    cr_assert_eq(c[0].first_unfilled, 1);
    tsf_frame_free(f);
}
