/* Windows: origins, gather layout (x, xf, y), channel independence, calendar features
 * (checked against pandas), NaN refusal, ranges and forecasts beyond the data. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "frames.h"
#include "support.h"
#include "tsflow/window.h"

/* Column j, row r holds 100 j + r: every gathered value says where it came from. */
static tsf_frame *coded_frame(size_t n_cols, size_t n_rows, int64_t step)
{
    double *d = malloc(n_cols * n_rows * sizeof *d);
    for (size_t j = 0; j < n_cols; j++)
        for (size_t r = 0; r < n_rows; r++)
            d[j * n_rows + r] = 100.0 * (double)j + (double)r;
    tsf_frame *f = tframe(n_cols, n_rows, d, 1467331200 * SEC, step);
    free(d);
    return f;
}

Test(window, stores_only_origins_spaced_by_the_stride)
{
    tsf_err err = TSF_ERR_INIT;
    tsf_frame *f = coded_frame(1, 20, 0);
    const size_t tc[] = {0};
    tsf_window_spec spec = {
        .lookback = 4, .horizon = 3, .stride = 2, .target_cols = tc, .n_targets = 1};
    tsf_windows *w;
    cr_assert_eq(tsf_windows_make(&w, f, &spec, 0, 20, 1, &err), TSF_OK, "%s", err.msg);
    /* t >= 4 (lookback), t + 3 <= 20, (t - 4) % 2 == 0: 4, 6, ..., 16 */
    cr_assert_eq(w->n_windows, 7);
    for (size_t i = 0; i < 7; i++)
        cr_assert_eq(w->origin[i], 4 + 2 * i);
    cr_assert_eq(w->n_inputs, 1);
    cr_assert_eq(w->n_future_inputs, 0);
    cr_assert_eq(w->n_outputs, 1);
    cr_assert_eq(w->n_samples, 7);
    tsf_windows_free(w);
    tsf_frame_free(f);
}

Test(window, gathers_targets_covariates_and_future_inputs_in_the_documented_layout)
{
    tsf_err err = TSF_ERR_INIT;
    /* Columns: 0, 1 targets; 2 past covariate; 3 future covariate. Two series of 10 rows. */
    tsf_frame *f = coded_frame(4, 20, 0);
    const size_t starts[] = {0, 10, 20};
    tseries(f, 2, starts, NULL);
    const size_t tc[] = {1, 0}, pc[] = {2}, fcol[] = {3};
    tsf_window_spec spec = {.lookback = 3,
                            .horizon = 2,
                            .stride = 1,
                            .target_cols = tc,
                            .n_targets = 2,
                            .past_cols = pc,
                            .n_past = 1,
                            .future_cols = fcol,
                            .n_future = 1};
    tsf_windows *w;
    cr_assert_eq(tsf_windows_make(&w, f, &spec, 0, 20, 1, &err), TSF_OK, "%s", err.msg);
    /* Per series: origins 3..8 (6 windows), never crossing the boundary at row 10. */
    cr_assert_eq(w->n_windows, 12);
    cr_assert_eq(w->origin[5], 8);
    cr_assert_eq(w->origin[6], 13);
    cr_assert_eq(w->series[6], 1);
    const size_t T = 3, L = 2, B = 2, I = 4, F = 1, O = 2;
    cr_assert_eq(w->n_inputs, I);
    cr_assert_eq(w->n_future_inputs, F);
    float x[3 * 2 * 4], xf[2 * 2 * 1], y[2 * 2 * 2];
    const size_t idx[] = {6, 0}; /* origin 13 (series 1), origin 3 (series 0) */
    tsf_windows_gather(w, idx, B, x, xf, y);
    const size_t origin[] = {13, 3};
    for (size_t b = 0; b < B; b++) {
        for (size_t t = 0; t < T; t++) {
            float r = (float)(origin[b] - T + t);
            const float *xp = x + (t * B + b) * I;
            cr_assert_eq(xp[0], 100 + r); /* target column 1 first, as listed */
            cr_assert_eq(xp[1], 0 + r);
            cr_assert_eq(xp[2], 200 + r);
            cr_assert_eq(xp[3], 300 + r);
        }
        for (size_t h = 0; h < L; h++) {
            float r = (float)(origin[b] + h);
            cr_assert_eq(xf[(h * B + b) * F], 300 + r);
            cr_assert_eq(y[(h * B + b) * O + 0], 100 + r);
            cr_assert_eq(y[(h * B + b) * O + 1], 0 + r);
        }
    }
    size_t s, o, tgt;
    tsf_windows_sample_info(w, 6, &s, &o, &tgt);
    cr_assert(s == 1 && o == 13 && tgt == SIZE_MAX);
    tsf_windows_free(w);
    tsf_frame_free(f);
}

Test(window, channel_independent_samples_are_one_target_each_with_shared_covariates)
{
    tsf_err err = TSF_ERR_INIT;
    tsf_frame *f = coded_frame(3, 10, 0);
    const size_t tc[] = {0, 1}, pc[] = {2};
    tsf_window_spec spec = {.lookback = 2,
                            .horizon = 1,
                            .stride = 1,
                            .target_cols = tc,
                            .n_targets = 2,
                            .past_cols = pc,
                            .n_past = 1,
                            .channel_independent = 1};
    tsf_windows *w;
    cr_assert_eq(tsf_windows_make(&w, f, &spec, 0, 10, 1, &err), TSF_OK, "%s", err.msg);
    cr_assert_eq(w->n_windows, 8); /* origins 2..9 */
    cr_assert_eq(w->n_samples, 16);
    cr_assert_eq(w->n_inputs, 2);
    cr_assert_eq(w->n_outputs, 1);
    /* sample 5 = window 2 (origin 4), target 1 (column 1) */
    size_t s, o, tgt;
    tsf_windows_sample_info(w, 5, &s, &o, &tgt);
    cr_assert(s == 0 && o == 4 && tgt == 1);
    float x[2 * 1 * 2], y[1];
    const size_t idx[] = {5};
    tsf_windows_gather(w, idx, 1, x, NULL, y);
    const float want_x[] = {102, 202, 103, 203};
    tsft_assert_close_f(x, want_x, 4, 0, 0, "x of sample 5");
    cr_assert_eq(y[0], 104);
    tsf_windows_free(w);
    tsf_frame_free(f);
}

Test(window, calendar_features_match_informers_time_features_computed_by_pandas)
{
    tsft_need_python_modules("pandas");
    /* 64 timestamps spread over 1969..2030, including leap days and midnight boundaries, with
     * fractions of a second (which no feature shows) */
    unsigned long long st = 11;
    int64_t t[64];
    for (size_t i = 0; i < 64; i++) {
        t[i] = (int64_t)(trand(&st) * 1.9e9) - 31536000;
        t[i] -= t[i] % 60;
    }
    t[0] = 951782400;  /* 2000-02-29 00:00:00 */
    t[1] = 1483228740; /* 2016-12-31 23:59:00, day 366 of a leap year */
    t[2] = -60;        /* 1969-12-31 23:59:00 */
    for (size_t i = 0; i < 64; i++)
        t[i] = t[i] * SEC + (int64_t)(i % 7) * 123457;
    char args[64 * 24], *p = args;
    for (size_t i = 0; i < 64; i++)
        p += sprintf(p, "%s%lld", i ? "," : "", (long long)t[i]);
    char *out = NULL, *perr = NULL;
    int rc = tsft_python(
        "import sys, pandas as pd\n"
        "ix = pd.to_datetime([int(v) for v in sys.argv[1].split(',')], unit='us')\n"
        "cols = [ix.minute / 59.0 - 0.5, ix.hour / 23.0 - 0.5, ix.dayofweek / 6.0 - 0.5,\n"
        "        (ix.day - 1) / 30.0 - 0.5, (ix.dayofyear - 1) / 365.0 - 0.5,\n"
        "        (ix.month - 1) / 11.0 - 0.5]\n"
        "for i in range(len(ix)):\n"
        "    print(' '.join(repr(float(c[i])) for c in cols))\n",
        &out, &perr, args, NULL);
    cr_assert_eq(rc, 0, "python failed: %s", perr);
    float got[64 * 6], want[64 * 6];
    char *q = out;
    for (size_t i = 0; i < 64; i++) {
        cr_assert_eq(tsf_calendar_features(0x3F, t[i], got + 6 * i), 6);
        for (size_t k = 0; k < 6; k++)
            want[6 * i + k] = (float)strtod(q, &q);
    }
    tsft_assert_close_f(got, want, 64 * 6, 0, 0, "calendar features vs pandas");
    /* A subset keeps flag-bit order: hour then month. */
    float two[2];
    cr_assert_eq(tsf_calendar_features(TSF_CAL_HOUR | TSF_CAL_MONTH, t[1], two), 2);
    cr_assert_eq(two[0], want[6 + 1]);
    cr_assert_eq(two[1], want[6 + 5]);
}

Test(window, calendar_features_follow_the_inputs_and_continue_past_the_data)
{
    tsf_err err = TSF_ERR_INIT;
    tsf_frame *f = coded_frame(1, 30, 3600 * SEC); /* hourly from 2016-07-01 00:00 (a Friday) */
    const size_t tc[] = {0};
    tsf_window_spec spec = {.lookback = 2,
                            .horizon = 3,
                            .stride = 1,
                            .target_cols = tc,
                            .n_targets = 1,
                            .calendar = TSF_CAL_HOUR | TSF_CAL_DAY_OF_WEEK};
    const size_t series[] = {0}, origins[] = {29, 30};
    tsf_windows *w;
    /* origin 30 = the end: the horizon is past the data */
    cr_assert_eq(tsf_windows_make_at(&w, f, &spec, series, origins, 1, 1, &err), TSF_OK, "%s",
                 err.msg);
    tsf_windows_free(w);
    const size_t s2[] = {0, 0};
    cr_assert_eq(tsf_windows_make_at(&w, f, &spec, s2, origins, 2, 1, &err), TSF_OK, "%s", err.msg);
    cr_assert_eq(w->n_inputs, 3);
    cr_assert_eq(w->n_future_inputs, 2);
    float x[2 * 1 * 3], xf[3 * 1 * 2], y[3];
    const size_t idx[] = {1};
    tsf_windows_gather(w, idx, 1, x, xf, y);
    /* inputs rows 28, 29 = 2016-07-02 04:00, 05:00 (Saturday, weekday 5) */
    cr_assert_eq(x[0], 28);
    cr_assert_eq(x[1], (float)(4 / 23.0 - 0.5));
    cr_assert_eq(x[2], (float)(5 / 6.0 - 0.5));
    cr_assert_eq(x[3], 29);
    /* horizon rows 30..32 = 06:00..08:00, past the data: calendar continues, y is NaN */
    for (size_t h = 0; h < 3; h++) {
        cr_assert_eq(xf[2 * h], (float)((6 + h) / 23.0 - 0.5));
        cr_assert_eq(xf[2 * h + 1], (float)(5 / 6.0 - 0.5));
        cr_assert(isnan(y[h]));
    }
    tsf_windows_free(w);
    tsf_frame_free(f);
}

Test(window, refuses_nan_inputs_naming_series_row_and_column)
{
    tsf_err err = TSF_ERR_INIT;
    tsf_frame *f = coded_frame(2, 40, 3600 * SEC);
    const size_t starts[] = {0, 20, 40};
    const char *ids[] = {"north", "south"};
    tseries(f, 2, starts, ids);
    f->cols[1][27] = NAN;
    const size_t tc[] = {0}, pc[] = {1};
    tsf_window_spec spec = {.lookback = 5,
                            .horizon = 2,
                            .stride = 1,
                            .target_cols = tc,
                            .n_targets = 1,
                            .past_cols = pc,
                            .n_past = 1};
    tsf_windows *w = (tsf_windows *)1;
    cr_assert_eq(tsf_windows_make(&w, f, &spec, 0, 40, 1, &err), TSF_ENUMERIC);
    cr_assert_null(w);
    cr_assert_str_eq(err.msg, "windows: column \"b\" of series \"south\" is NaN at row 27 "
                              "(2016-07-02 03:00:00), inside the input of the window with "
                              "origin row 28 (lookback 5, horizon 2); impute the missing values "
                              "first");
    /* Without require_finite the windows are made (the caller takes the risk). */
    cr_assert_eq(tsf_windows_make(&w, f, &spec, 0, 40, 0, &err), TSF_OK, "%s", err.msg);
    tsf_windows_free(w);
    tsf_frame_free(f);
}

Test(window, refuses_a_series_too_short_for_lookback_and_horizon)
{
    tsf_err err = TSF_ERR_INIT;
    tsf_frame *f = coded_frame(1, 300, 0);
    const size_t tc[] = {0};
    tsf_window_spec spec = {
        .lookback = 512, .horizon = 24, .stride = 1, .target_cols = tc, .n_targets = 1};
    tsf_windows *w;
    cr_assert_eq(tsf_windows_make(&w, f, &spec, 0, 300, 1, &err), TSF_EINVAL);
    cr_assert_str_eq(err.msg, "windows: the series has 300 rows, too few for lookback 512 + "
                              "horizon 24 (536 rows)");
    tsf_frame_free(f);
}

Test(window, test_windows_of_a_split_reach_back_into_earlier_rows)
{
    tsf_err err = TSF_ERR_INIT;
    tsf_frame *f = coded_frame(1, 100, 0);
    const size_t tc[] = {0};
    tsf_window_spec spec = {
        .lookback = 30, .horizon = 5, .stride = 1, .target_cols = tc, .n_targets = 1};
    const tsf_range test[] = {{80, 100}};
    tsf_windows *w;
    cr_assert_eq(tsf_windows_make_ranges(&w, f, &spec, test, 1, &err), TSF_OK, "%s", err.msg);
    /* 80 <= t <= 95: 20 - 5 + 1 = 16 windows whatever the lookback */
    cr_assert_eq(w->n_windows, 16);
    cr_assert_eq(w->origin[0], 80);
    cr_assert_eq(w->origin[15], 95);
    tsf_windows_free(w);
    tsf_frame_free(f);
}
