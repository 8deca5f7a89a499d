/* HDF5 tables as R writes data.frames: rhdf5 (h5write(df, file, name)) and hdf5r
 * (h5file[["name"]] <- df) write compound datasets without the columns' classes. The files are
 * made at test time by Debian's R, which also prints what it reads back (values as C99 hex
 * floats, times as seconds since 1970): tsflow must see the same. Skips when R or a package is
 * absent (scripts/setup.sh installs r-bioc-rhdf5 and r-cran-hdf5r). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support.h"
#include "tsflow/io.h"

/* R prelude: hx() prints values as hex floats ("nan" for NA) on one line; wr() writes df with
 * both writers to argv-given files. */
static const char *PRE =
    "suppressMessages({library(rhdf5); library(hdf5r)})\n"
    "a <- commandArgs(trailingOnly = TRUE); rh <- a[1]; hr <- a[2]\n"
    "hx <- function(x) cat(ifelse(is.na(x), 'nan', sprintf('%a', as.numeric(x))), '\\n')\n"
    "wr <- function(df) {\n"
    "  h5createFile(rh); h5write(df, rh, 'df')\n"
    "  f <- H5File$new(hr, mode = 'w'); f[['df']] <- df; f$close_all()\n"
    "}\n";

/* Run PRE + code with the two file paths; returns stdout (kept). */
static char *rscript(const char *code, const char *rh, const char *hr)
{
    if (access("/usr/bin/Rscript", X_OK) != 0)
        cr_skip_test("R is absent (scripts/setup.sh installs r-cran-hdf5r and r-bioc-rhdf5)");
    size_t n = strlen(PRE) + strlen(code) + 1;
    char *full = malloc(n);
    snprintf(full, n, "%s%s", PRE, code);
    char *argv[] = {"/usr/bin/Rscript", "-e", full, (char *)rh, (char *)hr, NULL};
    char *out = NULL, *err = NULL;
    int rc = tsft_run(argv, &out, &err);
    free(full);
    if (rc != 0 && strstr(err, "there is no package"))
        cr_skip_test("R lacks rhdf5 or hdf5r (scripts/setup.sh installs them): %s", err);
    cr_assert_eq(rc, 0, "Rscript failed: %s", err);
    return out;
}

/* The n-th line (0-based) of text, in a kept buffer. */
/* Column j of f equals R's printed values bit for bit (NaN for NA). */
static void assert_col(const tsf_frame *f, size_t j, const char *hex, const char *what)
{
    size_t n;
    double *want = tsft_nums(hex, &n);
    cr_assert_eq(n, f->n_rows, "%s: R printed %zu values, the frame has %zu rows", what, n,
                 f->n_rows);
    tsft_assert_identical(f->cols[j], want, n, what);
    free(want);
}

static void assert_times(const tsf_frame *f, const char *hex)
{
    size_t n;
    double *want = tsft_nums(hex, &n);
    cr_assert_eq(n, f->n_rows);
    cr_assert_eq(f->time_kind, TSF_TIME_EPOCH);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq((double)f->time[i], want[i] * 1e6, "time[%zu]: got %lld us, R has %.17g s", i,
                     (long long)f->time[i], want[i]);
    free(want);
}

static tsf_frame *read_ok(const char *path, const tsf_hdf5_options *opt, tsf_hdf5_info *info)
{
    tsf_frame *f = NULL;
    tsf_err err = TSF_ERR_INIT;
    int rc = tsf_hdf5_read_opt(&f, path, "df", opt, info, &err);
    cr_assert_eq(rc, TSF_OK, "tsf_hdf5_read_opt(%s): %s", path, err.msg);
    return f;
}

static const char *read_fails(const char *path, const tsf_hdf5_options *opt, int code)
{
    tsf_frame *f = (tsf_frame *)1;
    static tsf_err err;
    tsf_err_clear(&err);
    int rc = tsf_hdf5_read_opt(&f, path, "df", opt, NULL, &err);
    cr_assert_eq(rc, code, "expected %s, got %s: %s", tsf_status_name(code), tsf_status_name(rc),
                 err.msg);
    cr_assert_null(f, "*out must be NULL on failure");
    return err.msg;
}

Test(hdf5_r, reads_a_data_frame_with_a_date_string_field_from_both_writers)
{
    const char *d = tsft_tmpdir();
    const char *rh = tsft_path(d, "rh.h5"), *hr = tsft_path(d, "hr.h5");
    char *out =
        rscript("set.seed(1)\n"
                "df <- data.frame(date = format(seq(as.POSIXct('2021-03-27 22:00', "
                "tz = 'UTC'), by = 'hour', length.out = 40), '%Y-%m-%d %H:%M:%S'),\n"
                "                 load = rnorm(40) * 1e3, n = c(1:9, NA, 11:40),\n"
                "                 stringsAsFactors = FALSE)\n"
                "df$load[7] <- NA\n"
                "wr(df)\n"
                "for (p in c(rh, hr)) {\n"
                "  x <- if (p == rh) h5read(p, 'df') else {\n"
                "    f <- H5File$new(p, mode = 'r'); v <- f[['df']]$read(); f$close_all(); v }\n"
                "  hx(as.numeric(as.POSIXct(x$date, tz = 'UTC'))); hx(x$load); hx(x$n)\n"
                "}\n",
                rh, hr);
    for (int w = 0; w < 2; w++) {
        tsf_hdf5_info info;
        tsf_frame *f = read_ok(w ? hr : rh, NULL, &info);
        cr_assert_eq(f->n_series, 1);
        cr_assert_eq(f->n_cols, 2);
        cr_assert_str_eq(f->col_names[0], "load");
        cr_assert_str_eq(f->col_names[1], "n");
        cr_assert_str_eq(f->time_name, "date");
        cr_assert_eq(f->step, TSF_US_PER_H);
        assert_times(f, tsft_line(out, 3 * w));
        assert_col(f, 0, tsft_line(out, 3 * w + 1), w ? "hdf5r load" : "rhdf5 load");
        assert_col(f, 1, tsft_line(out, 3 * w + 2), w ? "hdf5r n" : "rhdf5 n");
        cr_assert(strstr(info.notes, "1 value of -2147483648 in 32-bit integer fields read as "
                                     "missing (R's NA_integer_)"),
                  "%s", info.notes);
        tsf_frame_free(f);
    }
}

/* A Date is days and a POSIXct seconds since 1970, stored as plain doubles: the reader asks. */
Test(hdf5_r, reads_numeric_date_and_posixct_fields_with_the_time_unit_and_asks_without_it)
{
    const char *d = tsft_tmpdir();
    const char *rh = tsft_path(d, "rh.h5"), *hr = tsft_path(d, "hr.h5");
    char *out = rscript("day <- as.Date('2019-12-30') + 0:9\n"
                        "df <- data.frame(day = day, at = as.POSIXct(day) + 1800,\n"
                        "                 sales = (1:10)^2 / 7)\n"
                        "wr(df)\n"
                        "x <- h5read(rh, 'df')\n"
                        "hx(as.numeric(as.POSIXct(as.Date(x$day, origin = '1970-01-01'))))\n"
                        "hx(x$at); hx(x$sales)\n",
                        rh, hr);
    char want[1024];
    snprintf(want, sizeof want,
             "%s: \"/df\": time field \"day\" holds numbers (18260 at row 0) and the file does "
             "not say what they count: R writes a Date as days since 1970-01-01 and a POSIXct as "
             "seconds since then; give --time-unit d for days, s for seconds (or ms, us, ns, year, "
             "index) (ingest.hdf5 option time_unit)",
             rh);
    cr_assert_str_eq(read_fails(rh, NULL, TSF_EFORMAT), want);
    tsf_hdf5_options opt;
    tsf_hdf5_options_init(&opt);
    opt.time_unit = TSF_TIME_UNIT_DAY;
    opt.columns = (const char *const[]){"sales"};
    opt.n_columns = 1;
    for (int w = 0; w < 2; w++) {
        tsf_frame *f = read_ok(w ? hr : rh, &opt, NULL);
        cr_assert_str_eq(f->time_name, "day");
        cr_assert_eq(f->step, TSF_US_PER_DAY);
        assert_times(f, tsft_line(out, 0));
        assert_col(f, 0, tsft_line(out, 2), "sales");
        tsf_frame_free(f);
    }
    opt.time_unit = TSF_TIME_UNIT_S;
    opt.time_column = "at";
    tsf_frame *f = read_ok(hr, &opt, NULL);
    assert_times(f, tsft_line(out, 1));
    tsf_frame_free(f);
}

/* A long data.frame: one series per id, whether the id is text (both writers) or a factor
 * (hdf5r: an enumeration of its levels); a logical (hdf5r: FALSE/TRUE/NA) is 0, 1 or missing. */
Test(hdf5_r, reads_a_long_data_frame_as_one_series_per_id_in_order_of_appearance)
{
    const char *d = tsft_tmpdir();
    const char *rh = tsft_path(d, "rh.h5"), *hr = tsft_path(d, "hr.h5");
    const char *fa = tsft_path(d, "factor.h5"), *two = tsft_path(d, "two.h5");
    char *out = rscript("dates <- format(as.Date('2020-01-01') + 0:5)\n"
                        "df <- data.frame(site = rep(c('west', 'east'), each = 6),\n"
                        "                 date = rep(dates, 2), temp = c(1:12) / 4,\n"
                        "                 stringsAsFactors = FALSE)\n"
                        "df <- df[c(1:3, 7:9, 4:6, 10:12), ]\n"
                        "wr(df)\n"
                        "g <- df; g$site <- factor(g$site, levels = c('west', 'east'))\n"
                        "g$wet <- rep(c(TRUE, FALSE, NA), 4)\n"
                        "fa <- sub('rh[.]h5$', 'factor.h5', rh)\n"
                        "f <- H5File$new(fa, mode = 'w'); f[['df']] <- g; f$close_all()\n"
                        "g$kind <- rep(c('x', 'y'), 6)\n"
                        "two <- sub('rh[.]h5$', 'two.h5', rh)\n"
                        "f <- H5File$new(two, mode = 'w'); f[['df']] <- g; f$close_all()\n"
                        "x <- h5read(rh, 'df')\n"
                        "for (s in unique(x$site)) hx(x$temp[x$site == s])\n"
                        "f <- H5File$new(fa, mode = 'r'); y <- f[['df']]$read(); f$close_all()\n"
                        "for (s in levels(y$site)) hx(y$wet[y$site == s])\n",
                        rh, hr);
    size_t n;
    double *west = tsft_nums(tsft_line(out, 0), &n), *east = tsft_nums(tsft_line(out, 1), &n);
    for (int w = 0; w < 3; w++) {
        const char *p = w == 0 ? rh : w == 1 ? hr : fa;
        tsf_hdf5_info info;
        tsf_frame *f = read_ok(p, NULL, &info);
        cr_assert_eq(f->n_series, 2, "%s", p);
        cr_assert_str_eq(f->series_ids[0], "west");
        cr_assert_str_eq(f->series_ids[1], "east");
        cr_assert_str_eq(f->id_name, "site");
        cr_assert_str_eq(f->time_name, "date");
        cr_assert_eq(f->n_rows, 12);
        cr_assert_eq(f->series_start[1], 6);
        cr_assert_eq(f->step, TSF_US_PER_DAY);
        cr_assert_eq(f->time[0], 1577836800 * TSF_US_PER_S);
        cr_assert_eq(f->time[6], 1577836800 * TSF_US_PER_S);
        cr_assert_eq(f->n_cols, w == 2 ? 2 : 1);
        tsft_assert_identical(f->cols[0], west, 6, "west");
        tsft_assert_identical(f->cols[0] + 6, east, 6, "east");
        cr_assert(strstr(info.notes, "a long table: field \"site\" names 2 series"), "%s",
                  info.notes);
        if (w == 2) {
            cr_assert_str_eq(f->col_names[1], "wet");
            double *wet_w = tsft_nums(tsft_line(out, 2), &n),
                   *wet_e = tsft_nums(tsft_line(out, 3), &n);
            tsft_assert_identical(f->cols[1], wet_w, 6, "west's logical");
            tsft_assert_identical(f->cols[1] + 6, wet_e, 6, "east's logical");
            free(wet_w);
            free(wet_e);
        }
        tsf_frame_free(f);
    }
    free(west);
    free(east);
    char want[1024];
    snprintf(want, sizeof want,
             "%s: \"/df\": fields \"site\" and \"kind\" both hold text; tsflow takes one text "
             "field as the series id (a long table) and numbers as values (expected at most one "
             "text field besides the time: drop the others before saving, or name the time with "
             "--time-column)",
             two);
    cr_assert_str_eq(read_fails(two, NULL, TSF_EFORMAT), want);
}
