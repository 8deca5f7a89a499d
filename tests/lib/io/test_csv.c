/* CSV: reading (libcsv and the quote-free fast path), layouts, regularity, every malformed
 * input with its message, exact numbers against strtod and pandas, and writing round trips. */
#define _GNU_SOURCE
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv_internal.h"
#include "support.h"
#include "tsflow/io.h"

#define S TSF_US_PER_S /* microseconds per second: the unit of timestamps */

/* ---- helpers ------------------------------------------------------------------------------ */

static const char *fixture(const char *name)
{
    static char rel[256];
    snprintf(rel, sizeof rel, "tests/fixtures/csv/%s", name);
    return tsft_source(rel);
}

static const char *tmp_csv(const char *text)
{
    static int n;
    char name[32];
    snprintf(name, sizeof name, "in%d.csv", n++);
    const char *p = tsft_path(tsft_tmpdir(), name);
    tsft_write_file(p, text, (size_t)-1);
    return p;
}

static void assert_same_frames(const tsf_frame *a, const tsf_frame *b, const char *what)
{
    cr_assert_eq(a->n_rows, b->n_rows, "%s: rows %zu vs %zu", what, a->n_rows, b->n_rows);
    cr_assert_eq(a->n_cols, b->n_cols, "%s: columns", what);
    cr_assert_eq(a->n_series, b->n_series, "%s: series", what);
    cr_assert_eq(a->time_kind, b->time_kind, "%s: time kind", what);
    cr_assert_eq(a->step, b->step, "%s: step", what);
    for (size_t s = 0; s <= a->n_series; s++)
        cr_assert_eq(a->series_start[s], b->series_start[s], "%s: series start %zu", what, s);
    cr_assert_eq(!a->series_ids, !b->series_ids, "%s: ids", what);
    for (size_t s = 0; a->series_ids && s < a->n_series; s++)
        cr_assert_str_eq(a->series_ids[s], b->series_ids[s], "%s: id %zu", what, s);
    for (size_t r = 0; r < a->n_rows; r++)
        cr_assert_eq(a->time[r], b->time[r], "%s: time[%zu]", what, r);
    for (size_t j = 0; j < a->n_cols; j++) {
        cr_assert_str_eq(a->col_names[j], b->col_names[j], "%s: name %zu", what, j);
        tsft_assert_identical(a->cols[j], b->cols[j], a->n_rows, a->col_names[j]);
    }
}

/* Read through the fast path and through libcsv alone: both must give the same frame. */
static tsf_frame *read_ok(const char *path, const tsf_csv_options *opt, tsf_csv_info *info)
{
    tsf_frame *f = NULL, *g = NULL;
    tsf_err err = TSF_ERR_INIT;
    tsf_csv_info i2;
    tsf__csv_force_libcsv = 0;
    int rc = tsf_csv_read(&f, path, opt, info, &err);
    cr_assert_eq(rc, TSF_OK, "reading %s: %s", path, err.msg);
    tsf__csv_force_libcsv = 1;
    rc = tsf_csv_read(&g, path, opt, &i2, &err);
    tsf__csv_force_libcsv = 0;
    cr_assert_eq(rc, TSF_OK, "reading %s through libcsv alone: %s", path, err.msg);
    assert_same_frames(f, g, "fast path vs libcsv");
    if (info) {
        cr_assert_eq(info->n_lines, i2.n_lines);
        cr_assert_eq(info->n_records, i2.n_records);
        cr_assert_eq(info->n_missing, i2.n_missing);
        cr_assert_eq(info->n_filled, i2.n_filled);
    }
    tsf_frame_free(g);
    return f;
}

/* Both paths must fail with this code and exactly this message, "%s" standing for the path. */
static void read_fails(const char *path, const tsf_csv_options *opt, int code, const char *want)
{
    char expect[2048];
    snprintf(expect, sizeof expect, want, path);
    for (int force = 0; force <= 1; force++) {
        tsf_frame *f = (tsf_frame *)1;
        tsf_err err = TSF_ERR_INIT;
        tsf__csv_force_libcsv = force;
        int rc = tsf_csv_read(&f, path, opt, NULL, &err);
        tsf__csv_force_libcsv = 0;
        cr_assert_eq(rc, code, "%s (force_libcsv %d): code %s, want %s: %s", path, force,
                     tsf_status_name(rc), tsf_status_name(code), err.msg);
        cr_assert_null(f);
        cr_assert_str_eq(err.msg, expect, "(force_libcsv %d)\n got: %s\nwant: %s", force, err.msg,
                         expect);
    }
}

static tsf_csv_options opts(void)
{
    tsf_csv_options o;
    tsf_csv_options_init(&o);
    return o;
}

/* ---- features ----------------------------------------------------------------------------- */

Test(csv, reads_a_wide_file_with_iso_timestamps_and_infers_the_step)
{
    tsf_csv_info info;
    tsf_frame *f = read_ok(fixture("wide.csv"), NULL, &info);
    cr_assert_eq(f->n_rows, 4);
    cr_assert_eq(f->n_cols, 2);
    cr_assert_str_eq(f->col_names[0], "load");
    cr_assert_str_eq(f->col_names[1], "temp");
    cr_assert_str_eq(f->time_name, "time");
    cr_assert_eq(f->time_kind, TSF_TIME_EPOCH);
    cr_assert_eq(f->step, 3600 * S);
    cr_assert_eq(f->n_series, 1);
    cr_assert_null(f->series_ids);
    cr_assert_eq(f->time[0], 1577836800 * S); /* date -u -d 2020-01-01 +%s */
    cr_assert_eq(f->time[3], (1577836800 + 3 * 3600) * S);
    double load[] = {1.5, 2.25, NAN, 4}, temp[] = {-3, -2.5, -2, NAN};
    tsft_assert_identical(f->cols[0], load, 4, "load");
    tsft_assert_identical(f->cols[1], temp, 4, "temp");
    cr_assert_eq(info.delimiter, ',');
    cr_assert_eq(info.n_lines, 5);
    cr_assert_eq(info.n_records, 4);
    cr_assert_eq(info.n_missing, 2);
    cr_assert_eq(info.n_filled, 0);
    tsf_frame_free(f);
}

Test(csv, strips_a_utf8_bom_reads_crlf_and_detects_the_semicolon)
{
    tsf_csv_info info;
    tsf_frame *f = read_ok(fixture("bom_crlf_semicolon.csv"), NULL, &info);
    cr_assert_eq(info.delimiter, ';');
    cr_assert_str_eq(f->time_name, "stamp");
    cr_assert_eq(f->n_rows, 3);
    cr_assert_eq(f->step, 86400 * S);
    cr_assert_eq(info.n_lines, 4);
    double b[] = {10, 20, 30};
    tsft_assert_identical(f->cols[1], b, 3, "b");
    tsf_frame_free(f);
}

Test(csv, detects_a_tab_delimiter_and_honours_an_override)
{
    const char *p = tmp_csv("t\ta;b\tc\n2020-01-01\t1\t2\n2020-01-02\t3\t4\n");
    tsf_csv_info info;
    tsf_frame *f = read_ok(p, NULL, &info);
    cr_assert_eq(info.delimiter, '\t');
    cr_assert_str_eq(f->col_names[0], "a;b");
    tsf_frame_free(f);
    /* the header has more ';' than ',': detection picks ';', the override reads ',' */
    p = tmp_csv("t,x;y;z\n2020-01-01,1;2\n2020-01-02,3\n");
    tsf_csv_options o = opts();
    o.delimiter = ',';
    o.time_column = "t";
    o.na_tokens = (const char *const[]){"1;2"};
    o.n_na_tokens = 1;
    f = read_ok(p, &o, &info);
    cr_assert_eq(info.delimiter, ',');
    cr_assert_str_eq(f->col_names[0], "x;y;z");
    cr_assert(isnan(f->cols[0][0]));
    cr_assert_eq(f->cols[0][1], 3);
    tsf_frame_free(f);
}

Test(csv, reads_quoted_names_values_delimiters_quotes_and_newlines)
{
    tsf_csv_options o = opts();
    o.columns = (const char *const[]){"the \"load\""};
    o.n_columns = 1;
    tsf_csv_info info;
    tsf_frame *f = read_ok(fixture("quoted.csv"), &o, &info);
    cr_assert_eq(f->n_cols, 1);
    cr_assert_str_eq(f->col_names[0], "the \"load\"");
    cr_assert_str_eq(f->time_name, "when");
    cr_assert_eq(f->step, 1800 * S);
    double v[] = {1.5, 2.5, 3.5}; /* " 3.5 " is quoted, so libcsv keeps the blanks: trimmed */
    tsft_assert_identical(f->cols[0], v, 3, "load");
    cr_assert_eq(info.n_lines, 5); /* the quoted newline makes record 2 two lines long */
    tsf_frame_free(f);
    /* the multi-line field shifts the following line numbers */
    const char *p = tmp_csv("t,id,v\n2020-01-01,\"a\nb\",1\n2020-01-02,x,oops\n");
    o = opts();
    o.columns = (const char *const[]){"v"};
    o.n_columns = 1;
    read_fails(p, &o, TSF_EFORMAT,
               "%s:4:3: \"oops\" is not a number in column \"v\" (expected a decimal number such "
               "as -1.5e3, inf, or a missing-value token: \"\", \"NA\", \"NaN\", \"nan\", "
               "\"null\")");
}

Test(csv, missing_value_tokens_become_nan_and_are_counted)
{
    const char *p = tmp_csv("t,a\n2020-01-01,NA\n2020-01-02,NaN\n2020-01-03,nan\n"
                            "2020-01-04,null\n2020-01-05,\n2020-01-06,-999\n2020-01-07,?\n"
                            "2020-01-08,7\n");
    tsf_csv_options o = opts();
    o.na_tokens = (const char *const[]){"-999", "?", ""};
    o.n_na_tokens = 3;
    tsf_csv_info info;
    read_fails(p, &o, TSF_EFORMAT,
               "%s:2:2: \"NA\" is not a number in column \"a\" (expected a decimal number such "
               "as -1.5e3, inf, or a missing-value token: \"-999\", \"?\", \"\")");
    o.na_tokens = (const char *const[]){"-999", "?", "", "NA", "NaN", "nan", "null"};
    o.n_na_tokens = 7;
    tsf_frame *f = read_ok(p, &o, &info);
    cr_assert_eq(info.n_missing, 7);
    for (size_t r = 0; r < 7; r++)
        cr_assert(isnan(f->cols[0][r]), "row %zu", r);
    cr_assert_eq(f->cols[0][7], 7);
    tsf_frame_free(f);
    /* defaults: "-999" is a number */
    f = read_ok(tmp_csv("t,a\n2020-01-01,-999\n2020-01-02,\n"), NULL, &info);
    cr_assert_eq(f->cols[0][0], -999);
    cr_assert_eq(info.n_missing, 1);
    tsf_frame_free(f);
}

Test(csv, reads_inf_values_as_infinities_like_pandas)
{
    tsf_frame *f = read_ok(tmp_csv("t,a\n2020-01-01,inf\n2020-01-02,-Infinity\n2020-01-03,+INF\n"),
                           NULL, NULL);
    cr_assert(isinf(f->cols[0][0]) && f->cols[0][0] > 0);
    cr_assert(isinf(f->cols[0][1]) && f->cols[0][1] < 0);
    cr_assert(isinf(f->cols[0][2]) && f->cols[0][2] > 0);
    tsf_frame_free(f);
}

Test(csv, selects_value_columns_by_name_in_the_given_order)
{
    tsf_csv_options o = opts();
    o.columns = (const char *const[]){"temp", "load"};
    o.n_columns = 2;
    tsf_frame *f = read_ok(fixture("wide.csv"), &o, NULL);
    cr_assert_str_eq(f->col_names[0], "temp");
    cr_assert_str_eq(f->col_names[1], "load");
    cr_assert_eq(f->cols[0][0], -3);
    cr_assert_eq(f->cols[1][0], 1.5);
    tsf_frame_free(f);
}

Test(csv, an_unknown_column_name_lists_the_available_ones)
{
    tsf_csv_options o = opts();
    o.columns = (const char *const[]){"load", "pressure"};
    o.n_columns = 2;
    read_fails(fixture("wide.csv"), &o, TSF_EFORMAT,
               "%s:1: unknown column \"pressure\" (expected one of the header's columns: "
               "\"time\", \"load\", \"temp\")");
    o = opts();
    o.time_column = "date";
    read_fails(fixture("wide.csv"), &o, TSF_EFORMAT,
               "%s:1: unknown time column \"date\" (expected one of the header's columns: "
               "\"time\", \"load\", \"temp\")");
    o = opts();
    o.id_column = "site";
    read_fails(fixture("wide.csv"), &o, TSF_EFORMAT,
               "%s:1: unknown id column \"site\" (expected one of the header's columns: "
               "\"time\", \"load\", \"temp\")");
}

Test(csv, time_column_by_name_or_position_and_integer_epoch_seconds)
{
    const char *p = tmp_csv("v,epoch\n1,1467331200\n2,1467332100\n3,1467333000\n");
    tsf_csv_options o = opts();
    o.time_column = "epoch";
    /* integers that are not years are never taken for epoch seconds silently */
    read_fails(p, &o, TSF_EFORMAT,
               "%s:2:2: \"1467331200\" in time column \"epoch\" is an integer but not a year "
               "(expected years 1000 to 2999 in every row; set time_unit = s, ms, us, ns, year or "
               "index to say what the integers of \"epoch\" count)");
    o.time_unit = TSF_TIME_UNIT_S;
    tsf_frame *f = read_ok(p, &o, NULL);
    cr_assert_eq(f->time_kind, TSF_TIME_EPOCH);
    cr_assert_eq(f->time[0], 1467331200 * S);
    cr_assert_eq(f->step, 900 * S);
    cr_assert_eq(f->n_cols, 1);
    cr_assert_str_eq(f->col_names[0], "v");
    tsf_frame_free(f);
    o = opts();
    o.time_index = 1;
    o.time_unit = TSF_TIME_UNIT_S;
    f = read_ok(p, &o, NULL);
    cr_assert_str_eq(f->time_name, "epoch");
    cr_assert_eq(f->step, 900 * S);
    tsf_frame_free(f);
    o.time_index = 2;
    read_fails(p, &o, TSF_EINVAL,
               "%s:1: time column 2 is out of range: the header has 2 columns (expected a "
               "0-based position below 2)");
    /* times with offsets are instants: in tz = UTC whatever offsets they write */
    tsf_csv_options_init(&o);
    o.tz = "UTC";
    f = read_ok(tmp_csv("t,v\n2016-07-01T02:00:00+02:00,1\n2016-07-01T00:15:00Z,2\n"), &o, NULL);
    cr_assert_str_eq(f->tz, "UTC");
    cr_assert_eq(f->time[0], 1467331200 * S);
    cr_assert_eq(f->step, 900 * S);
    tsf_frame_free(f);
}

Test(csv, without_a_time_column_rows_get_an_integer_index)
{
    /* AUTO: the first column is not a timestamp, so it is a value column */
    tsf_frame *f = read_ok(tmp_csv("a,b\n1467331200,1\n1467332100,2\n"), NULL, NULL);
    cr_assert_eq(f->time_kind, TSF_TIME_INDEX);
    cr_assert_null(f->time_name);
    cr_assert_eq(f->n_cols, 2);
    cr_assert_eq(f->time[1], 1);
    cr_assert_eq(f->step, 1);
    cr_assert_eq(f->cols[0][1], 1467332100);
    tsf_frame_free(f);
    tsf_csv_options o = opts();
    o.time_index = TSF_CSV_TIME_NONE;
    f = read_ok(tmp_csv("a,b\n1,2\n3,4\n5,6\n"), &o, NULL);
    cr_assert_eq(f->time_kind, TSF_TIME_INDEX);
    cr_assert_eq(f->n_cols, 2);
    cr_assert_eq(f->time[2], 2);
    cr_assert_eq(f->cols[1][2], 6);
    tsf_frame_free(f);
}

Test(csv, a_date_column_as_value_is_not_a_number)
{
    tsf_csv_options o = opts();
    o.time_index = TSF_CSV_TIME_NONE;
    o.na_tokens = (const char *const[]){""};
    o.n_na_tokens = 1;
    read_fails(fixture("wide.csv"), &o, TSF_EFORMAT,
               "%s:2:1: \"2020-01-01 00:00:00\" is not a number in column \"time\" (expected a "
               "decimal number such as -1.5e3, inf, or a missing-value token: \"\")");
}

Test(csv, long_layout_keeps_each_series_and_its_id)
{
    const char *p = tmp_csv("id,t,v\na,2020-01-01,1\na,2020-01-02,2\nb,2020-01-01,3\n"
                            "b,2020-01-02,4\nb,2020-01-03,5\n");
    tsf_csv_options o = opts();
    o.id_column = "id";
    tsf_frame *f = read_ok(p, &o, NULL);
    cr_assert_eq(f->n_series, 2);
    cr_assert_str_eq(f->series_ids[0], "a");
    cr_assert_str_eq(f->series_ids[1], "b");
    cr_assert_eq(f->series_start[1], 2);
    cr_assert_eq(f->series_start[2], 5);
    cr_assert_str_eq(f->id_name, "id");
    cr_assert_str_eq(f->time_name, "t"); /* AUTO skips the id column */
    cr_assert_eq(f->step, 86400 * S);
    cr_assert_eq(f->n_cols, 1);
    double v[] = {1, 2, 3, 4, 5};
    tsft_assert_identical(f->cols[0], v, 5, "v");
    tsf_frame_free(f);
}

Test(csv, long_layout_regroups_interleaved_series_in_order_of_first_appearance)
{
    tsf_csv_options o = opts();
    o.id_column = "station";
    tsf_frame *f = read_ok(fixture("long_interleaved.csv"), &o, NULL);
    cr_assert_eq(f->n_series, 3);
    cr_assert_str_eq(f->series_ids[0], "north");
    cr_assert_str_eq(f->series_ids[1], "south");
    cr_assert_str_eq(f->series_ids[2], "east");
    size_t starts[] = {0, 3, 5, 6};
    for (size_t s = 0; s <= 3; s++)
        cr_assert_eq(f->series_start[s], starts[s]);
    double rain[] = {0.5, 0.25, 0, 1.5, 2.5, 7}, wind[] = {3, 5, 7, 4, 6, 1};
    tsft_assert_identical(f->cols[0], rain, 6, "rain");
    tsft_assert_identical(f->cols[1], wind, 6, "wind");
    cr_assert_eq(f->time[2] - f->time[0], (2 * 86400) * S);
    cr_assert_eq(f->time[5], f->time[0]);
    tsf_frame_free(f);
}

Test(csv, a_gap_in_an_interleaved_long_file_names_its_file_lines)
{
    const char *p = tmp_csv("id,t,v\na,2020-01-01,1\nb,2020-01-01,2\na,2020-01-02,3\n"
                            "b,2020-01-04,4\na,2020-01-03,5\n");
    tsf_csv_options o = opts();
    o.id_column = "id";
    read_fails(p, &o, TSF_EFORMAT,
               "%s:5:2: gap of 2 missing timestamps between line 3 (2020-01-01 00:00:00) and "
               "line 5 (2020-01-04 00:00:00) in series \"b\": 2020-01-02 00:00:00 .. 2020-01-03 "
               "00:00:00 are missing (expected frequency D; gaps = fill (--gaps fill) "
               "inserts NaN rows instead)");
    o.gaps = TSF_GAP_FILL;
    tsf_csv_info info;
    tsf_frame *f = read_ok(p, &o, &info);
    cr_assert_eq(info.n_filled, 2);
    cr_assert_eq(f->n_rows, 7);
    cr_assert_eq(f->series_start[1], 3);
    double v[] = {1, 3, 5, 2, NAN, NAN, 4};
    tsft_assert_identical(f->cols[0], v, 7, "v");
    cr_assert_eq(f->time[5] - f->time[3], (2 * 86400) * S);
    tsf_frame_free(f);
}

Test(csv, gaps_are_an_error_naming_the_lines_and_the_missing_span)
{
    read_fails(fixture("gap.csv"), NULL, TSF_EFORMAT,
               "%s:4:1: gap of 2 missing timestamps between line 3 (2020-01-01 00:15:00) and "
               "line 4 (2020-01-01 01:00:00): 2020-01-01 00:30:00 .. 2020-01-01 00:45:00 are "
               "missing (expected frequency 15min; gaps = fill (--gaps fill) inserts NaN rows "
               "instead)");
}

Test(csv, gap_fill_inserts_nan_rows_and_counts_them)
{
    tsf_csv_options o = opts();
    o.gaps = TSF_GAP_FILL;
    tsf_csv_info info;
    tsf_frame *f = read_ok(fixture("gap.csv"), &o, &info);
    cr_assert_eq(info.n_filled, 2);
    cr_assert_eq(info.n_records, 4);
    cr_assert_eq(info.n_missing, 0);
    cr_assert_eq(f->n_rows, 6);
    cr_assert_eq(f->series_start[1], 6);
    double v[] = {1, 2, NAN, NAN, 5, 6};
    tsft_assert_identical(f->cols[0], v, 6, "v");
    for (size_t r = 1; r < 6; r++)
        cr_assert_eq(f->time[r] - f->time[r - 1], 900 * S, "row %zu", r);
    tsf_frame_free(f);
}

Test(csv, gap_fill_refuses_to_multiply_the_rows_beyond_reason)
{
    tsf_csv_options o = opts();
    o.gaps = TSF_GAP_FILL;
    o.time_column = "t";
    o.time_unit = TSF_TIME_UNIT_S;
    read_fails(tmp_csv("t,v\n1,1\n2,2\n3,3\n100000003,4\n"), &o, TSF_EFORMAT,
               "%s: filling the gaps would insert 99999999 rows into 4 (expected gaps of a few "
               "periods; is the frequency right?)");
}

Test(csv, the_frequency_is_the_step_all_differences_are_whole_multiples_of)
{
    const char *p = tmp_csv("t,v\n2020-01-01 00:00,1\n2020-01-01 00:10,2\n2020-01-01 00:20,3\n"
                            "2020-01-01 00:35,4\n");
    read_fails(p, NULL, TSF_EFORMAT,
               "%s:5:1: irregular timestamps: 2020-01-01 00:20:00 .. 2020-01-01 00:35:00 at line "
               "5 is not a whole number of steps of 2020-01-01 00:00:00 .. 2020-01-01 00:10:00 "
               "at lines 2-3; only 0 of 3 differences are the step 5min that all are multiples "
               "of (expected a regular series, gaps allowed)");
    /* with a few gaps, the step all differences are multiples of is the frequency */
    tsf_csv_options o = opts();
    o.gaps = TSF_GAP_FILL;
    tsf_frame *f = read_ok(tmp_csv("t,v\n2020-01-01 00:00,1\n2020-01-01 00:05,2\n"
                                   "2020-01-01 00:10,3\n2020-01-01 00:20,4\n"),
                           &o, NULL);
    cr_assert_eq(f->n_rows, 5);
    cr_assert_eq(f->freq.unit, TSF_FREQ_FIXED);
    cr_assert_eq(f->freq.n, 300 * S);
    tsf_frame_free(f);
}

Test(csv, duplicate_and_unsorted_timestamps_name_both_lines)
{
    read_fails(tmp_csv("t,v\n2020-01-01,1\n2020-01-02,2\n2020-01-02,3\n"), NULL, TSF_EFORMAT,
               "%s:4:1: duplicate timestamp 2020-01-02 00:00:00 (also at line 3) (expected each "
               "timestamp once per series)");
    read_fails(tmp_csv("t,v\n2020-01-01,1\n\n2020-01-03,2\n2020-01-02,3\n"), NULL, TSF_EFORMAT,
               "%s:5:1: timestamp 2020-01-02 00:00:00 is earlier than 2020-01-03 00:00:00 at "
               "line 4 (expected increasing timestamps within a series)");
    tsf_csv_options o = opts();
    o.id_column = "station";
    read_fails(tmp_csv("station,t,v\nn,2020-01-02,1\ns,2020-01-01,2\nn,2020-01-01,3\n"), &o,
               TSF_EFORMAT,
               "%s:4:2: timestamp 2020-01-01 00:00:00 of series \"n\" is earlier than "
               "2020-01-02 00:00:00 at line 2 (expected increasing timestamps within a series)");
}

Test(csv, mixed_time_zones_are_an_error)
{
    read_fails(tmp_csv("t,v\n2020-01-01T00:00:00Z,1\n2020-01-01T01:00:00,2\n"), NULL, TSF_EFORMAT,
               "%s:3:1: \"2020-01-01T01:00:00\" has no time zone but \"2020-01-01T00:00:00Z\" at "
               "line 2 has one (expected all timestamps with a zone or all without)");
}

/* ---- malformed input ---------------------------------------------------------------------- */

Test(csv, rejects_ragged_rows)
{
    read_fails(tmp_csv("t,a,b\n2020-01-01,1,2\n2020-01-02,3\n"), NULL, TSF_EFORMAT,
               "%s:3:2: \"3\": the record ends after 2 fields but the header has 3 (expected 3 "
               "fields; is a value or a delimiter missing?)");
    read_fails(tmp_csv("t,a,b\n2020-01-01,1,2\n2020-01-02,3,4,5\n"), NULL, TSF_EFORMAT,
               "%s:3:4: \"5\": the record has more than 3 fields (expected 3 fields, as in the "
               "header)");
}

Test(csv, rejects_unterminated_and_stray_quotes)
{
    read_fails(tmp_csv("t,a\n2020-01-01,1\n2020-01-02,\"2\n2020-01-03,3\n"), NULL, TSF_EFORMAT,
               "%s:3:2: \"2\\x0a2020-01-03,3\\x0a\": unterminated quoted field at the end of the "
               "file (expected a closing quote)");
    read_fails(tmp_csv("t,a\n2020-01-01,1\n2020-01-02,4\"2\n"), NULL, TSF_EFORMAT,
               "%s:3:2: \"4\": stray quote in a field (expected a quoted field to close its quote "
               "right before the delimiter or the end of the line, with quotes inside it "
               "doubled)");
    read_fails(tmp_csv("t,a\n2020-01-01,\"1\"x\n"), NULL, TSF_EFORMAT,
               "%s:2:2: \"1\\\"\": stray quote in a field (expected a quoted field to close its "
               "quote right before the delimiter or the end of the line, with quotes inside it "
               "doubled)");
}

Test(csv, rejects_non_numeric_values_naming_the_column)
{
    read_fails(tmp_csv("t,load\n2020-01-01,1\n2020-01-02,1,5\n"), NULL, TSF_EFORMAT,
               "%s:3:3: \"5\": the record has more than 2 fields (expected 2 fields, as in the "
               "header)");
    read_fails(tmp_csv("t,load\n2020-01-01,1\n2020-01-02,n/a\n"), NULL, TSF_EFORMAT,
               "%s:3:2: \"n/a\" is not a number in column \"load\" (expected a decimal number "
               "such as -1.5e3, inf, or a missing-value token: \"\", \"NA\", \"NaN\", \"nan\", "
               "\"null\")");
    read_fails(tmp_csv("t,load\n2020-01-01,0x10\n"), NULL, TSF_EFORMAT,
               "%s:2:2: \"0x10\" is not a number in column \"load\" (expected a decimal number "
               "such as -1.5e3, inf, or a missing-value token: \"\", \"NA\", \"NaN\", \"nan\", "
               "\"null\")");
}

Test(csv, rejects_an_empty_file_and_a_header_without_rows)
{
    read_fails(tmp_csv(""), NULL, TSF_EFORMAT,
               "%s:1:1: the file is empty (expected a header line naming the columns, then data "
               "rows)");
    read_fails(tmp_csv("\n  \n\n"), NULL, TSF_EFORMAT,
               "%s:1:1: the file is empty (expected a header line naming the columns, then data "
               "rows)");
    read_fails(tmp_csv("t,a,b\n"), NULL, TSF_EFORMAT,
               "%s:2:1: no data rows after the header (expected at least one data row below the "
               "header)");
}

#define FORMS                                                                                      \
    "understood without options: ISO 8601 such as 2016-07-01, 2016-07-01 13:45:00 or "             \
    "2016-07-01T13:45:00+02:00, months such as 1949-01, quarters such as 1960Q1 or 1960 Q1, "      \
    "years such as 1871, and dates such as 31/01/2020 or 01/31/2020 when the column shows the "    \
    "day/month order; set time_format (e.g. %%d.%%m.%%Y) for other forms, or time_unit for "       \
    "integers"

Test(csv, rejects_unparseable_timestamps)
{
    read_fails(tmp_csv("t,a\n2020-01-01,1\n2020-01-32,2\n"), NULL, TSF_EFORMAT,
               "%s:3:1: \"2020-01-32\" in time column \"t\" is a time that does not parse (" FORMS
               ")");
    tsf_csv_options o = opts();
    o.time_column = "t";
    read_fails(tmp_csv("t,a\n2016-07-01 noon,1\n"), &o, TSF_EFORMAT,
               "%s:2:1: \"2016-07-01 noon\" in time column \"t\" is a time that does not parse "
               "(" FORMS ")");
    /* 1990.5 would be R's time() of July 1990; 1990.3 is no month */
    read_fails(tmp_csv("t,a\n1990,1\n1990.3,2\n"), &o, TSF_EFORMAT,
               "%s:3:1: \"1990.3\" in time column \"t\" is not an integer (expected integer "
               "years, as at line 2)");
    read_fails(tmp_csv("t,a\n2020-01-01,1\n,2\n"), NULL, TSF_EFORMAT,
               "%s:3:1: \"\" in time column \"t\" is a time that does not parse (" FORMS ")");
}

Test(csv, rejects_fields_longer_than_max_field)
{
    tsf_csv_options o = opts();
    o.max_field = 10;
    read_fails(tmp_csv("t,a\n2020-01-01,1\n2020-01-02,123456789012\n"), &o, TSF_EFORMAT,
               "%s:3:2: \"123456789012\": field of 12 bytes is longer than the limit of 10 "
               "bytes (expected shorter fields; raise max_field if this is real data)");
    /* an unterminated quote early in a big file: the field grows past the limit, and the
     * reader stops without buffering the rest of the file */
    size_t n = 3u << 20;
    char *big = malloc(n + 1);
    strcpy(big, "t,a\n2020-01-01,\"1\n");
    for (size_t i = strlen(big); i < n; i++)
        big[i] = i % 20 == 19 ? '\n' : '7';
    big[n] = '\0';
    const char *p = tmp_csv(big);
    free(big);
    tsf_frame *f;
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_csv_read(&f, p, NULL, NULL, &err), TSF_EFORMAT);
    char want[512];
    snprintf(want, sizeof want,
             "%s:2:2: \"1\\x0a7\\x0a7777777777777777777\\x0a7777777777777777...\": field is "
             "longer than the limit of 1048576 bytes (expected shorter fields; an unterminated "
             "quote makes one field of the rest of the file)",
             p);
    cr_assert_str_eq(err.msg, want);
}

Test(csv, rejects_nul_bytes_and_binary_garbage)
{
    const char *p = tsft_path(tsft_tmpdir(), "bin.csv");
    tsft_write_file(p, "t,a\n2020-01-01,1\n2020-01-02,\0\0\x01\x02\n", 33);
    read_fails(p, NULL, TSF_EFORMAT,
               "%s:3:2: NUL byte: this looks like a binary file, not CSV (expected UTF-8 or ASCII "
               "text)");
    read_fails(tmp_csv("\x89PNG\r\n\x1a\n"), NULL, TSF_EFORMAT,
               "%s:1:1: \"\\x89PNG\": column name is not valid UTF-8 (expected a text header line "
               "naming the columns)");
}

Test(csv, rejects_invalid_utf8_and_duplicate_header_names)
{
    read_fails(tmp_csv("t,caf\xc3,b\n2020-01-01,1,2\n"), NULL, TSF_EFORMAT,
               "%s:1:2: \"caf\\xc3\": column name is not valid UTF-8 (expected a text header line "
               "naming the columns)");
    tsf_frame *f = read_ok(tmp_csv("t,caf\xc3\xa9,\n2020-01-01,1,2\n"), NULL, NULL);
    cr_assert_str_eq(f->col_names[0], "caf\xc3\xa9");
    cr_assert_str_eq(f->col_names[1], "Unnamed: 2");
    tsf_frame_free(f);
    read_fails(tmp_csv("t,a,b,a\n2020-01-01,1,2,3\n"), NULL, TSF_EFORMAT,
               "%s:1:4: duplicate column name \"a\" (also column 2) (expected unique names)");
}

/* Names that collide in the hash table's slots but differ, and a duplicate far from its first
 * occurrence: the pair is named as by comparing every pair. */
Test(csv, duplicate_names_are_found_among_many_columns)
{
    size_t n = 5000, cap = 16 * n;
    char *text = malloc(cap), *p = text;
    p += sprintf(p, "t");
    for (size_t j = 0; j < n; j++)
        p += sprintf(p, ",c%zu", j == 4321 ? (size_t)17 : j); /* column 4323 repeats c17 */
    p += sprintf(p, "\n2020-01-01");
    for (size_t j = 0; j < n; j++)
        p += sprintf(p, ",1");
    sprintf(p, "\n");
    read_fails(tmp_csv(text), NULL, TSF_EFORMAT,
               "%s:1:4323: duplicate column name \"c17\" (also column 19) (expected unique names)");
    /* the same width without the duplicate reads */
    p = text + 1;
    for (size_t j = 0; j < n; j++)
        p += sprintf(p, ",c%zu", j);
    p += sprintf(p, "\n2020-01-01");
    for (size_t j = 0; j < n; j++)
        p += sprintf(p, ",1");
    sprintf(p, "\n");
    tsf_frame *f = read_ok(tmp_csv(text), NULL, NULL);
    cr_assert_eq(f->n_cols, n);
    tsf_frame_free(f);
    free(text);
}

Test(csv, a_missing_file_is_an_io_error)
{
    const char *p = tsft_path(tsft_tmpdir(), "absent.csv");
    read_fails(p, NULL, TSF_EIO,
               "%s: cannot open: No such file or directory (expected a readable CSV file)");
    read_fails(tsft_tmpdir(), NULL, TSF_EIO,
               "%s: read failed: Is a directory (expected a readable CSV file)");
}

/* ---- blocks: the fast path and libcsv across 64 KiB boundaries ---------------------------- */

Test(csv, large_files_with_quotes_crlf_and_long_lines_read_the_same_both_ways)
{
    size_t cap = 600000, n = 0;
    char *text = malloc(cap);
    n += (size_t)sprintf(text + n, "t,\"name\",v\r\n");
    int64_t t0 = 1577836800 * S;
    for (int i = 0; n < cap - 5000; i++) {
        char ts[32];
        tsf_time_format(TSF_TIME_EPOCH, t0 + 60 * S * i, ts, sizeof ts);
        if (i % 5000 == 17) /* long lines, the first longer than a 64 KiB block */
            n +=
                (size_t)sprintf(text + n, "%s,\"%0*d\",%d.5\r\n", ts, i == 17 ? 70000 : 3000, i, i);
        else if (i % 997 == 3) /* quotes, an embedded CRLF */
            n += (size_t)sprintf(text + n, "%s,\"a \"\"q\"\"\r\nb\",%de-3\r\n", ts, i);
        else if (i % 1201 == 5)
            n += (size_t)sprintf(text + n, "\r\n%s,x,  %d  \r\n", ts, -i);
        else
            n += (size_t)sprintf(text + n, "%s,plain,%d.25\r\n", ts, i);
    }
    text[n] = '\0';
    const char *p = tmp_csv(text);
    free(text);
    tsf_csv_options o = opts();
    o.columns = (const char *const[]){"v"};
    o.n_columns = 1;
    tsf_csv_info info;
    tsf_frame *f = read_ok(p, &o, &info);
    cr_assert_gt(f->n_rows, 10000);
    cr_assert_eq(f->step, 60 * S);
    cr_assert_eq(f->cols[0][3], 3e-3);
    cr_assert_eq(f->cols[0][5], -5);
    cr_assert_eq(f->cols[0][17], 17.5);
    /* lines: header, records (one extra line each for embedded CRLFs), blank lines */
    size_t quoted = 0, blank = 0;
    for (size_t i = 0; i < f->n_rows; i++) {
        quoted += i % 5000 != 17 && i % 997 == 3;
        blank += i % 1201 == 5 && i % 997 != 3 && i % 5000 != 17;
    }
    cr_assert_eq(info.n_lines, 1 + f->n_rows + quoted + blank);
    tsf_frame_free(f);
}

/* ---- numbers ------------------------------------------------------------------------------ */

static uint64_t rng_state = UINT64_C(88172645463325252);
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

Test(number, parses_exactly_like_strtod_on_random_and_boundary_inputs)
{
    const char *edge[] = {"9007199254740993",
                          "9007199254740995",
                          "2.2250738585072011e-308",
                          "2.2250738585072012e-308",
                          "4.9406564584124654e-324",
                          "2.4703282292062327e-324",
                          "2.4703282292062328e-324",
                          "1.7976931348623157e308",
                          "1.7976931348623158e308",
                          "1.7976931348623159e308",
                          "1e-400",
                          "1e400",
                          "-0",
                          "0.1",
                          ".5",
                          "5.",
                          "1e23",
                          "7.2057594037927933e16",
                          "123456789012345678901234567890",
                          "1.00000000000000011102230246251565404236316680908203125",
                          "1.00000000000000011102230246251565404236316680908203124",
                          "0.000000000000000000000000000001234567890123456789012345"};
    for (size_t i = 0; i < sizeof edge / sizeof edge[0]; i++) {
        double got, want = strtod(edge[i], NULL);
        cr_assert(tsf__parse_double(edge[i], strlen(edge[i]), &got), "%s", edge[i]);
        cr_assert(memcmp(&got, &want, sizeof got) == 0, "%s: got %a, want %a", edge[i], got, want);
    }
    char b[128];
    for (int i = 0; i < 300000; i++) {
        int len;
        double d;
        uint64_t bits = rnd();
        switch (i % 5) {
        case 0: /* any double, 17 digits */
            memcpy(&d, &bits, sizeof d);
            if (isnan(d))
                continue;
            len = snprintf(b, sizeof b, "%.17g", d);
            break;
        case 1: /* fewer digits */
            memcpy(&d, &bits, sizeof d);
            if (isnan(d))
                continue;
            len = snprintf(b, sizeof b, "%.*g", (int)(rnd() % 17) + 1, d);
            break;
        case 2: { /* 1..20 random digits, exponents across the whole range */
            char m[24];
            int nd = (int)(rnd() % 20) + 1;
            for (int k = 0; k < nd; k++)
                m[k] = (char)('0' + rnd() % 10);
            m[nd] = '\0';
            len = snprintf(b, sizeof b, "%s%c.%se%d", rnd() % 2 ? "-" : "", m[0], m + 1,
                           (int)(rnd() % 700) - 350);
            break;
        }
        case 3: { /* exact midpoints between neighbouring doubles: round half to even */
            d = (double)(rnd() >> 11) * ldexp(1, (int)(rnd() % 100) - 50);
            long double mid = ((long double)d + (long double)nextafter(d, INFINITY)) / 2;
            len = snprintf(b, sizeof b, "%.30Lg", mid);
            break;
        }
        default: /* subnormals */
            d = ldexp((double)(rnd() >> 12), -1074);
            len = snprintf(b, sizeof b, "%.*g", (int)(rnd() % 19) + 1, d);
        }
        double got, want = strtod(b, NULL);
        cr_assert(tsf__parse_double(b, (size_t)len, &got), "%s", b);
        cr_assert(memcmp(&got, &want, sizeof got) == 0, "%s: got %a, want %a", b, got, want);
    }
}

Test(number, rejects_what_is_not_a_decimal_number)
{
    const char *bad[] = {"",    "-",  "+",  ".",   "e5",   "1e",  "1e+",   "1.2.3", "0x10",
                         "1_0", " 1", "1 ", "nan", "infx", "--1", "1e5.0", "in",    "1,5"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        double v;
        cr_assert_not(tsf__parse_double(bad[i], strlen(bad[i]), &v), "\"%s\" parsed", bad[i]);
    }
}

Test(number, formatting_is_shortest_and_reads_back_bit_identical)
{
    char b[40];
    tsf_format_double(b, sizeof b, 0.1);
    cr_assert_str_eq(b, "0.1");
    tsf_format_double(b, sizeof b, 1.5989999771118164);
    cr_assert_str_eq(b, "1.5989999771118164");
    tsf_format_double(b, sizeof b, -INFINITY);
    cr_assert_str_eq(b, "-inf");
    cr_assert_eq(tsf_format_double(b, sizeof b, NAN), 0);
    for (int i = 0; i < 100000; i++) {
        uint64_t bits = rnd();
        double d, back;
        memcpy(&d, &bits, sizeof d);
        if (isnan(d))
            continue;
        size_t n = tsf_format_double(b, sizeof b, d);
        cr_assert(tsf__parse_double(b, n, &back), "%s", b);
        cr_assert(memcmp(&d, &back, sizeof d) == 0, "%a -> %s -> %a", d, b, back);
    }
}

Test(number, the_power_of_five_table_matches_its_generator)
{
    char *out = NULL, *err = NULL;
    int rc =
        tsft_python("import os, runpy; runpy.run_path(os.environ.get('TSF_SOURCE_ROOT', '.') + "
                    "'/lib/io/gen_pow5.py', run_name='__main__')",
                    &out, &err, NULL);
    cr_assert_eq(rc, 0, "%s", err);
    char *have = tsft_read_file(tsft_source("lib/io/csv_pow5.h"), NULL);
    cr_assert_not_null(have);
    cr_assert_str_eq(out, have, "lib/io/csv_pow5.h differs from gen_pow5.py's output");
    free(have);
}

/* ---- against pandas ----------------------------------------------------------------------- */

/* Awkward numbers written by Python; pandas reads them with float_precision="round_trip" and
 * prints each value as a hex float, which glibc's strtod reads exactly. */
static const char *awkward_py =
    "import random, sys, pandas as pd\n"
    "random.seed(20240601)\n"
    "def num():\n"
    "    k = random.randrange(9)\n"
    "    if k == 0: return repr(random.uniform(-1e3, 1e3))\n"
    "    if k == 1: return '%.*e' % (random.randrange(0, 19), random.uniform(-1, 1) * 10.0 ** "
    "random.randrange(-300, 300))\n"
    "    if k == 2: return '%.17g' % (random.random() * 2.2e-308)\n"
    "    if k == 3: return str(random.randrange(-10**18, 10**18))\n"
    "    if k == 4: return '%.25f' % random.random()\n"
    "    if k == 5: return random.choice(['-0.0', '1e-320', '4.9e-324', '1.7976931348623157e308', "
    "'9007199254740993', '0.30000000000000004', '2.2250738585072011e-308'])\n"
    "    if k == 6: return '%de%d' % (random.randrange(1, 10**6), random.randrange(-320, 300))\n"
    "    if k == 7: return '%.17g' % random.uniform(-1e22, 1e22)\n"
    "    return '%.20g' % random.uniform(-1, 1)\n"
    "with open(sys.argv[1], 'w') as f:\n"
    "    f.write('a,b,c\\n')\n"
    "    for i in range(3000): f.write(','.join(num() for _ in range(3)) + '\\n')\n"
    "rt = pd.read_csv(sys.argv[1], float_precision='round_trip')\n"
    "hi = pd.read_csv(sys.argv[1])\n"
    "for c in rt.columns: print(' '.join(float(v).hex() for v in rt[c]))\n"
    "print(int((rt.values != hi.values).sum()))\n";

Test(csv, values_are_bit_identical_to_pandas_round_trip_on_awkward_numbers)
{
    tsft_need_python_modules("pandas");
    const char *p = tsft_path(tsft_tmpdir(), "awkward.csv");
    char *out = NULL, *err = NULL;
    cr_assert_eq(tsft_python(awkward_py, &out, &err, p, NULL), 0, "%s", err);
    tsf_frame *f = read_ok(p, NULL, NULL);
    cr_assert_eq(f->n_rows, 3000);
    cr_assert_eq(f->n_cols, 3);
    double *want = malloc(3000 * sizeof *want);
    char *s = out;
    for (size_t j = 0; j < 3; j++) {
        for (size_t r = 0; r < 3000; r++)
            want[r] = strtod(s, &s);
        tsft_assert_identical(f->cols[j], want, 3000, f->col_names[j]);
    }
    long differ = strtol(s, NULL, 10);
    cr_log_info("pandas' default float_precision differs from round_trip on %ld of 9000 "
                "awkward values",
                differ);
    free(want);
    tsf_frame_free(f);
}

/* ---- writing ------------------------------------------------------------------------------ */

static void round_trip(const char *path, const tsf_csv_options *opt)
{
    tsf_frame *f = read_ok(path, opt, NULL);
    const char *dir = tsft_tmpdir();
    const char *out1 = tsft_path(dir, "once.csv"), *out2 = tsft_path(dir, "twice.csv");
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_csv_write(f, out1, &err), TSF_OK, "%s", err.msg);
    tsf_csv_options o2 = opts();
    if (f->id_name)
        o2.id_column = f->id_name;
    tsf_frame *g = read_ok(out1, &o2, NULL);
    assert_same_frames(f, g, "CSV -> frame -> CSV -> frame");
    cr_assert_eq(tsf_csv_write(g, out2, &err), TSF_OK, "%s", err.msg);
    char *a = tsft_read_file(out1, NULL), *b = tsft_read_file(out2, NULL);
    cr_assert_str_eq(a, b, "writing the re-read frame changed the text");
    free(a);
    free(b);
    tsf_frame_free(f);
    tsf_frame_free(g);
}

Test(csv, round_trips_csv_frame_csv_frame_bit_identically)
{
    round_trip(fixture("wide.csv"), NULL);
    tsf_csv_options o = opts();
    o.id_column = "station";
    round_trip(fixture("long_interleaved.csv"), &o);
    round_trip(tmp_csv("x,y\n0.1,1e-320\n-0,inf\n,-inf\n1.7976931348623157e308,3\n"), NULL);
    o = opts();
    o.gaps = TSF_GAP_FILL;
    round_trip(fixture("gap.csv"), &o);
    /* names and ids that need quoting */
    o = opts();
    o.id_column = "who, where";
    round_trip(tmp_csv("\"who, where\",t,\"a \"\"b\"\"\"\n\"x,1\",2020-01-01,1\n\"x,1\","
                       "2020-01-02,2\n\" y\",2020-01-01,3\n"),
               &o);
}

Test(csv, round_trips_awkward_numbers_bit_identically)
{
    tsft_need_python_modules("pandas");
    const char *p = tsft_path(tsft_tmpdir(), "awkward.csv");
    cr_assert_eq(tsft_python(awkward_py, NULL, NULL, p, NULL), 0);
    round_trip(p, NULL);
}

Test(csv, writes_the_header_timestamps_and_nan_as_an_empty_field)
{
    tsf_frame *f = read_ok(fixture("wide.csv"), NULL, NULL);
    const char *out = tsft_path(tsft_tmpdir(), "w.csv");
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_csv_write(f, out, &err), TSF_OK, "%s", err.msg);
    char *text = tsft_read_file(out, NULL);
    cr_assert_str_eq(text, "time,load,temp\n2020-01-01 00:00:00,1.5,-3\n"
                           "2020-01-01 01:00:00,2.25,-2.5\n2020-01-01 02:00:00,,-2\n"
                           "2020-01-01 03:00:00,4,\n");
    free(text);
    /* a missing directory: an I/O error, nothing written */
    const char *bad = tsft_path(tsft_tmpdir(), "no/such/dir.csv");
    cr_assert_eq(tsf_csv_write(f, bad, &err), TSF_EIO);
    cr_assert(strstr(err.msg, "does not exist"), "%s", err.msg);
    tsf_frame_free(f);
}

/* ---- tsf_csv_peek_read: what a read would find, without the values --------------------------- */

Test(csv_peek, sees_the_header_first_records_and_series_as_the_reader_does)
{
    /* semicolons, a BOM, CRLF, a quoted id with a blank (kept) beside an unquoted one (trimmed),
     * interleaved series, a blank line, and a value the reader would refuse (not parsed here) */
    const char *p = tmp_csv("\xEF\xBB\xBFid;time;v\r\n\" a\";2021-01-01;1\r\n a ;2021-01-01;x\r\n"
                            "\r\n\" a\";2021-01-02;3\r\nb;2021-01-02;4\r\n");
    tsf_csv_options o = opts();
    o.id_column = "id";
    tsf_csv_peek *pk = NULL;
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_csv_peek_read(&pk, p, &o, 2, &err), TSF_OK, "%s", err.msg);
    cr_assert_eq(pk->delimiter, ';');
    cr_assert_eq(pk->n_cols, 3);
    cr_assert_str_eq(pk->names[0], "id");
    cr_assert_eq(pk->id_col, 0);
    cr_assert_eq(pk->time_col, 1, "the reader's own rule takes the first non-id ISO column");
    cr_assert_eq(pk->n_values, 1);
    cr_assert_str_eq(pk->values[0], "v");
    cr_assert_eq(pk->n_rows, 2);
    cr_assert_str_eq(pk->rows[0], " a");
    cr_assert_str_eq(pk->rows[3], "a");
    cr_assert_str_eq(pk->rows[5], "x");
    cr_assert_eq(pk->n_records, 4);
    cr_assert_eq(pk->n_series, 3, "\" a\", \"a\" and \"b\"");
    cr_assert_eq(pk->min_series_rows, 1);
    tsf_csv_peek_free(pk);
    /* the same file read: the series the peek counted (the bad value stops the read later) */
    tsf_frame *f = NULL;
    cr_assert_eq(tsf_csv_read(&f, p, &o, NULL, &err), TSF_EFORMAT);
    cr_assert(strstr(err.msg, "\"x\""), "%s", err.msg);
}

Test(csv_peek, refuses_what_the_reader_refuses_in_the_header_and_layout)
{
    tsf_csv_peek *pk = NULL;
    tsf_err err = TSF_ERR_INIT;
    const char *p = tmp_csv("\n\n");
    cr_assert_eq(tsf_csv_peek_read(&pk, p, NULL, 2, &err), TSF_EFORMAT);
    cr_assert_null(pk);
    cr_assert(strstr(err.msg, ":1:1: the file is empty (expected a header line naming the "
                              "columns, then data rows)"),
              "%s", err.msg);
    p = tmp_csv("t,a\n1,2,3\n");
    cr_assert_eq(tsf_csv_peek_read(&pk, p, NULL, 2, &err), TSF_EFORMAT);
    cr_assert(strstr(err.msg, ":2:3: \"3\": the record has more than 2 fields"), "%s", err.msg);
}
