/* Forecast sets (entries, long-table layout, cube, rescaling, network outputs) and the
 * baseline forecasters (FPP3 formulas by hand, over windows). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "../prep/frames.h"
#include "support.h"
#include "tsflow/baseline.h"
#include "tsflow/forecast.h"

Test(forecasts, entries_carry_times_actuals_and_nan_values_until_put)
{
    tsf_err err = TSF_ERR_INIT;
    const double d[] = {0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15};
    tsf_frame *f = tframe(2, 6, d, 1467331200 * SEC, 3600 * SEC);
    const size_t tc[] = {1, 0};
    const char *models[] = {"lstm", "naive"};
    const double lv[] = {0.1, 0.9};
    tsf_forecasts *fc;
    cr_assert_eq(tsf_forecasts_alloc(&fc, f, tc, 2, models, 2, lv, 2, 3, 0, &err), TSF_OK, "%s",
                 err.msg);
    cr_assert_str_eq(fc->targets[0], "b");
    cr_assert_eq(fc->n_values, 3);
    size_t e;
    /* origin row 4: steps at rows 4, 5 and 6 (past the data: NaN actual, time continues) */
    cr_assert_eq(tsf_forecasts_add(fc, f, 0, 4, 0, 0, 4, &e, &err), TSF_OK, "%s", err.msg);
    cr_assert_eq(fc->entry[e].origin_time, 1467331200 * SEC + 4 * 3600 * SEC);
    cr_assert_eq(fc->entry[e].cutoff_time, 1467331200 * SEC + 3 * 3600 * SEC);
    cr_assert_eq(fc->time[2], 1467331200 * SEC + 6 * 3600 * SEC);
    cr_assert_eq(fc->actual[0], 14);
    cr_assert_eq(fc->actual[1], 4);
    cr_assert(isnan(fc->actual[4]) && isnan(fc->actual[5]));
    for (size_t i = 0; i < 3 * 2 * 2 * 3; i++)
        cr_assert(isnan(fc->value[i]));
    /* put a (L, O, P) block for model 1; the long-table row (step 2, target 0) holds
     * lstm's 3 values then naive's 3 values, contiguously */
    double block[3 * 2 * 3];
    for (size_t i = 0; i < 18; i++)
        block[i] = (double)i;
    tsf_forecasts_put(fc, e, 1, block);
    const double *row = fc->value + ((e * 3 + 1) * 2 + 0) * 2 * 3;
    cr_assert(isnan(row[0]) && row[3] == 6 && row[4] == 7 && row[5] == 8);
    cr_assert_eq(tsf_forecasts_at(fc, e, 2, 1, 1)[2], 17);
    char name[64];
    cr_assert_str_eq(tsf_forecasts_column_name(fc, 0, 2, name, sizeof name), "lstm_q0.9");
    cr_assert_str_eq(tsf_forecasts_column_name(fc, 1, 0, name, sizeof name), "naive");
    cr_assert_eq(tsf_forecasts_model_index(fc, "naive"), 1);
    cr_assert_eq(tsf_forecasts_add(fc, f, 0, 7, 0, 0, 4, &e, &err), TSF_EINVAL);
    cr_assert_str_eq(err.msg, "forecasts: origin row 7 is outside series 0 (rows [1, 6], at "
                              "least one row of history needed)");
    tsf_forecasts_free(fc);
    tsf_frame_free(f);
}

Test(forecasts, last_points_only_keeps_the_final_step)
{
    tsf_err err = TSF_ERR_INIT;
    const double d[] = {0, 1, 2, 3, 4, 5, 6, 7};
    tsf_frame *f = tframe(1, 8, d, 0, 0);
    const size_t tc[] = {0};
    const char *models[] = {"m"};
    tsf_forecasts *fc;
    cr_assert_eq(tsf_forecasts_alloc(&fc, f, tc, 1, models, 1, NULL, 0, 3, 1, &err), TSF_OK);
    cr_assert(fc->step0 == 3 && fc->n_steps == 1);
    size_t e;
    cr_assert_eq(tsf_forecasts_add(fc, f, 0, 2, 0, 0, 2, &e, &err), TSF_OK);
    cr_assert_eq(fc->actual[0], 4);
    const double block[] = {10, 11, 12};
    tsf_forecasts_put(fc, e, 0, block);
    cr_assert_eq(fc->value[0], 12);
    tsf_forecasts_free(fc);
    tsf_frame_free(f);
}

Test(forecasts, cube_places_entries_on_a_shared_origin_axis_with_nan_holes)
{
    tsf_err err = TSF_ERR_INIT;
    double d[20];
    for (int r = 0; r < 20; r++)
        d[r] = r;
    tsf_frame *f = tframe(1, 20, d, 0, 0);
    /* series b starts one step later in time than a */
    for (int r = 10; r < 20; r++)
        f->time[r] = r - 10 + 1;
    const size_t starts[] = {0, 10, 20};
    const char *ids[] = {"a", "b"};
    tseries(f, 2, starts, ids);
    const size_t tc[] = {0};
    const char *models[] = {"m"};
    tsf_forecasts *fc;
    cr_assert_eq(tsf_forecasts_alloc(&fc, f, tc, 1, models, 1, NULL, 0, 2, 0, &err), TSF_OK);
    size_t e;
    cr_assert_eq(tsf_forecasts_add(fc, f, 0, 5, 0, 0, 5, &e, &err), TSF_OK);    /* time 5 */
    cr_assert_eq(tsf_forecasts_add(fc, f, 1, 14, 0, 10, 14, &e, &err), TSF_OK); /* time 5 */
    cr_assert_eq(tsf_forecasts_add(fc, f, 1, 16, 1, 10, 16, &e, &err), TSF_OK); /* time 7 */
    for (size_t i = 0; i < 3; i++) {
        const double b[] = {100.0 + (double)i, 200.0 + (double)i};
        tsf_forecasts_put(fc, i, 0, b);
    }
    int64_t *times;
    size_t n, eo[3];
    cr_assert_eq(tsf_forecasts_origins(fc, &times, &n, eo, &err), TSF_OK);
    cr_assert(n == 2 && times[0] == 5 && times[1] == 7);
    cr_assert(eo[0] == 0 && eo[1] == 0 && eo[2] == 1);
    double cube[2 * 2 * 2 * 1];
    tsf_forecasts_cube(fc, 0, 0, eo, n, cube);
    /* [series][origin][step][p] */
    const double want[] = {100, 200, NAN, NAN, 101, 201, 102, 202};
    tsft_assert_identical(cube, want, 8, "cube");
    double act[8];
    tsf_forecasts_cube_actual(fc, 0, eo, n, act);
    const double want_a[] = {5, 6, NAN, NAN, 14, 15, 16, 17};
    tsft_assert_identical(act, want_a, 8, "actual cube");
    free(times);
    tsf_forecasts_free(fc);
    tsf_frame_free(f);
}

Test(forecasts, rescale_maps_actuals_and_values_back_to_the_original_scale)
{
    tsf_err err = TSF_ERR_INIT;
    const double d[] = {1, 3, 5, 7};
    tsf_frame *f = tframe(1, 4, d, 0, 0);
    tsf_scale_spec spec;
    tsf_scale_spec_init(&spec);
    tsf_scaler *s;
    cr_assert_eq(tsf_scaler_fit(&s, f, &spec, NULL, &err), TSF_OK); /* mean 4, std sqrt 5 */
    cr_assert_eq(tsf_scaler_apply(s, f, NULL, &err), TSF_OK);
    const size_t tc[] = {0};
    const char *models[] = {"m"};
    tsf_forecasts *fc;
    cr_assert_eq(tsf_forecasts_alloc(&fc, f, tc, 1, models, 1, NULL, 0, 1, 0, &err), TSF_OK);
    fc->scale = TSF_FC_NORMALIZED;
    size_t e;
    cr_assert_eq(tsf_forecasts_add(fc, f, 0, 3, 0, 0, 3, &e, &err), TSF_OK);
    const double z[] = {0.5};
    tsf_forecasts_put(fc, e, 0, z);
    cr_assert_eq(tsf_forecasts_rescale(fc, s, 1, &err), TSF_OK, "%s", err.msg);
    cr_assert_float_eq(fc->actual[0], 7, 1e-14);
    cr_assert_float_eq(fc->value[0], 4 + 0.5 * sqrt(5), 1e-14);
    cr_assert_eq(fc->scale, TSF_FC_ORIGINAL);
    cr_assert_eq(tsf_forecasts_rescale(fc, s, 1, &err), TSF_EINVAL);
    cr_assert_str_eq(err.msg, "forecasts: already on the original scale");
    tsf_forecasts_free(fc);
    tsf_scaler_free(s);
    tsf_frame_free(f);
}

Test(forecasts, values_far_outside_the_data_are_counted_with_the_farthest_named)
{
    tsf_err err = TSF_ERR_INIT;
    const double d[] = {37, 63, 50, 45}; /* range 26: plausible from 37 - 260 to 63 + 260 */
    tsf_frame *f = tframe(1, 4, d, 0, 0);
    const size_t tc[] = {0};
    const char *models[] = {"m"};
    tsf_forecasts *fc;
    cr_assert_eq(tsf_forecasts_alloc(&fc, f, tc, 1, models, 1, NULL, 0, 4, 0, &err), TSF_OK);
    size_t e;
    cr_assert_eq(tsf_forecasts_add(fc, f, 0, 4, 0, 0, 4, &e, &err), TSF_OK, "%s", err.msg);
    const double v[] = {-223, 323, 323.5, -8e9}; /* the bounds themselves are plausible */
    tsf_forecasts_put(fc, e, 0, v);
    tsf_fc_implausible bad;
    tsf_forecasts_implausible(fc, f, &bad);
    cr_assert_eq(bad.n, 2);
    cr_assert_eq(bad.n_judged, 4);
    cr_assert_str_eq(bad.target, f->col_names[0]);
    cr_assert_eq(bad.worst, -8e9);
    cr_assert_eq(bad.data_min, 37);
    cr_assert_eq(bad.data_max, 63);
    cr_assert_eq(bad.lo, -223);
    cr_assert_eq(bad.hi, 323);
    unsigned char rows[4] = {9, 9, 9, 9}; /* (entry, step, target): steps 3 and 4 */
    tsf_fc_implausible same;
    tsf_forecasts_implausible_rows(fc, f, rows, &same);
    cr_assert(rows[0] == 0 && rows[1] == 0 && rows[2] == 1 && rows[3] == 1, "%d %d %d %d", rows[0],
              rows[1], rows[2], rows[3]);
    cr_assert_eq(same.n, bad.n);
    fc->scale = TSF_FC_NORMALIZED; /* not in the data's units: not judged */
    tsf_forecasts_implausible_rows(fc, f, rows, &bad);
    cr_assert_eq(bad.n, 0);
    cr_assert(rows[2] == 0 && rows[3] == 0);
    tsf_forecasts_free(fc);
    tsf_frame_free(f);
}

Test(forecasts, network_outputs_fill_quantiles_and_take_the_median_as_point)
{
    tsf_err err = TSF_ERR_INIT;
    double d[10];
    for (int r = 0; r < 10; r++)
        d[r] = r;
    tsf_frame *f = tframe(2, 5, d, 0, 0);
    const size_t tc[] = {0, 1};
    const char *models[] = {"rnn"};
    const double lv[] = {0.1, 0.5, 0.9};
    tsf_forecasts *fc;
    cr_assert_eq(tsf_forecasts_alloc(&fc, f, tc, 2, models, 1, lv, 3, 2, 0, &err), TSF_OK);
    size_t e;
    cr_assert_eq(tsf_forecasts_add(fc, f, 0, 3, 0, 0, 3, &e, &err), TSF_OK);
    /* yhat (L=2, B=2, O*Q=6), sample b = 1: value 100 l + 10 o + q */
    float yhat[2 * 2 * 6];
    for (size_t l = 0; l < 2; l++)
        for (size_t b = 0; b < 2; b++)
            for (size_t o = 0; o < 2; o++)
                for (size_t q = 0; q < 3; q++)
                    yhat[(l * 2 + b) * 6 + o * 3 + q] = (float)(b * 1000 + 100 * l + 10 * o + q);
    tsf_forecasts_put_yhat(fc, e, 0, yhat, 2, 1, 2, 3, 0);
    const double *v = tsf_forecasts_at(fc, e, 1, 1, 0);
    cr_assert(v[0] == 1111 && v[1] == 1110 && v[2] == 1111 && v[3] == 1112);
    tsf_forecasts_free(fc);
    tsf_frame_free(f);
}

/* ---- Baselines ---------------------------------------------------------------------------- */

Test(baseline, kernels_follow_the_fpp3_formulas)
{
    tsf_err err = TSF_ERR_INIT;
    const double x[] = {3, 5, 4, 8, 6, 7};
    double out[5];
    cr_assert_eq(tsf_baseline_forecast(TSF_BASE_NAIVE, 0, x, 6, 3, out, &err), TSF_OK);
    const double naive[] = {7, 7, 7};
    tsft_assert_identical(out, naive, 3, "naive");
    /* season 4: last season 4, 8, 6, 7 repeats */
    cr_assert_eq(tsf_baseline_forecast(TSF_BASE_SNAIVE, 4, x, 6, 5, out, &err), TSF_OK);
    const double snaive[] = {4, 8, 6, 7, 4};
    tsft_assert_identical(out, snaive, 5, "seasonal naive");
    /* drift: 7 + h (7 - 3) / 5 */
    cr_assert_eq(tsf_baseline_forecast(TSF_BASE_DRIFT, 0, x, 6, 3, out, &err), TSF_OK);
    const double drift[] = {7.8, 8.6, 9.4};
    tsft_assert_close(out, drift, 3, 1e-15, 0, "drift");
    cr_assert_eq(tsf_baseline_forecast(TSF_BASE_MEAN, 0, x, 6, 2, out, &err), TSF_OK);
    const double mean[] = {5.5, 5.5};
    tsft_assert_identical(out, mean, 2, "mean");
    cr_assert_eq(tsf_baseline_forecast(TSF_BASE_SNAIVE, 24, x, 6, 2, out, &err), TSF_EINVAL);
    cr_assert_str_eq(err.msg, "baseline snaive: needs at least 24 rows of history, got 6");
    for (int k = 0; k < 4; k++)
        cr_assert_eq(tsf_baseline_parse(tsf_baseline_name((tsf_baseline)k)), k);
}

Test(baseline, over_windows_forecasts_from_each_lookback)
{
    tsf_err err = TSF_ERR_INIT;
    double d[24];
    for (int r = 0; r < 12; r++) {
        d[r] = r * r;   /* column a */
        d[12 + r] = -r; /* column b */
    }
    tsf_frame *f = tframe(2, 12, d, 0, 0);
    const size_t tc[] = {0, 1};
    tsf_window_spec ws = {
        .lookback = 3, .horizon = 2, .stride = 4, .target_cols = tc, .n_targets = 2};
    tsf_windows *w;
    cr_assert_eq(tsf_windows_make(&w, f, &ws, 0, 12, 1, &err), TSF_OK, "%s", err.msg);
    cr_assert_eq(w->n_windows, 2); /* origins 3 and 7 (11 + 2 > 12) */
    const char *models[] = {"naive", "drift"};
    tsf_forecasts *fc;
    cr_assert_eq(tsf_forecasts_alloc(&fc, f, tc, 2, models, 2, NULL, 0, 2, 0, &err), TSF_OK);
    size_t first;
    cr_assert_eq(tsf_forecasts_add_windows(fc, w, &first, &err), TSF_OK, "%s", err.msg);
    cr_assert_eq(tsf_baseline_windows(fc, 0, w, first, TSF_BASE_NAIVE, 0, &err), TSF_OK);
    cr_assert_eq(tsf_baseline_windows(fc, 1, w, first, TSF_BASE_DRIFT, 0, &err), TSF_OK);
    /* window 1: origin 7, lookback rows 4..6: a = 16, 25, 36; b = -4, -5, -6 */
    size_t e = first + 1;
    cr_assert_eq(fc->entry[e].origin_row, 7);
    cr_assert_eq(tsf_forecasts_at(fc, e, 0, 0, 0)[0], 36);
    cr_assert_eq(tsf_forecasts_at(fc, e, 1, 1, 0)[0], -6);
    cr_assert_float_eq(tsf_forecasts_at(fc, e, 1, 0, 1)[0], 36 + 2 * 10, 1e-12);
    cr_assert_float_eq(tsf_forecasts_at(fc, e, 0, 1, 1)[0], -7, 1e-12);
    tsf_forecasts_free(fc);
    tsf_windows_free(w);
    tsf_frame_free(f);
}

Test(forecasts, long_table_has_one_row_per_entry_step_and_target)
{
    tsf_err err = TSF_ERR_INIT;
    double d[20];
    for (int r = 0; r < 20; r++)
        d[r] = r;
    tsf_frame *f = tframe(2, 10, d, 1467331200 * SEC, 3600 * SEC);
    const size_t tc[] = {0, 1};
    const char *models[] = {"m"};
    const double lv[] = {0.25};
    tsf_forecasts *fc;
    cr_assert_eq(tsf_forecasts_alloc(&fc, f, tc, 2, models, 1, lv, 1, 2, 0, &err), TSF_OK);
    size_t e;
    cr_assert_eq(tsf_forecasts_add(fc, f, 0, 5, 3, 0, 5, &e, &err), TSF_OK);
    const double block[] = {1, 2, 3, 4, 5, 6, 7, 8}; /* (L=2, O=2, P=2) */
    tsf_forecasts_put(fc, e, 0, block);
    tsf_fc_table *t;
    cr_assert_eq(tsf_forecasts_table(&t, fc, &err), TSF_OK, "%s", err.msg);
    cr_assert_eq(t->n_rows, 4);
    cr_assert_eq(t->n_value_cols, 2);
    cr_assert_str_eq(t->value_names[0], "m");
    cr_assert_str_eq(t->value_names[1], "m_q0.25");
    /* row 3: step 2, target b (row 6 of column b = 16) */
    cr_assert_str_eq(t->series[3], "0");
    cr_assert_str_eq(t->target[3], "b");
    cr_assert_eq(t->step[3], 2);
    cr_assert_eq(t->fold[3], 3);
    cr_assert_eq(t->time[3], 1467331200 * SEC + 6 * 3600 * SEC);
    cr_assert_eq(t->origin[3], 1467331200 * SEC + 5 * 3600 * SEC);
    cr_assert_eq(t->cutoff[3], 1467331200 * SEC + 4 * 3600 * SEC);
    cr_assert_eq(t->actual[3], 16);
    cr_assert(t->values[0][3] == 7 && t->values[1][3] == 8);
    cr_assert(t->values[0][0] == 1 && t->values[1][0] == 2);
    tsf_fc_table_free(t);
    tsf_forecasts_free(fc);
    tsf_frame_free(f);
}
