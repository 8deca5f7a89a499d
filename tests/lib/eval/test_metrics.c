/* Metrics: hand-computed and textbook values, numpy cross-checks, and the metrics table of a
 * forecast set (per step, series, fold, pooled; pooled RMSE from pooled squared errors). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "../prep/frames.h"
#include "support.h"
#include "tsflow/metrics.h"

Test(metrics, point_metrics_equal_hand_computed_values)
{
    const double y[] = {2, 4, 0, -5};
    const double f[] = {1, 7, 1, -5};
    /* errors 1, -3, -1, 0: MAE 5/4, MSE 11/4 */
    cr_assert_float_eq(tsf_mae(y, f, 4), 1.25, 1e-15);
    cr_assert_float_eq(tsf_mse(y, f, 4), 2.75, 1e-15);
    cr_assert_float_eq(tsf_rmse(y, f, 4), sqrt(2.75), 1e-15);
    /* MAPE skips y = 0: (1/2 + 3/4 + 0) / 3 * 100 */
    cr_assert_float_eq(tsf_mape(y, f, 4), 125.0 / 3, 1e-12);
    /* sMAPE: 2|e|/(|y|+|f|): 2/3, 6/11, 2/1, 0 -> mean * 100 */
    cr_assert_float_eq(tsf_smape(y, f, 4), 100 * (2.0 / 3 + 6.0 / 11 + 2 + 0) / 4, 1e-12);
    /* NaN pairs are skipped */
    const double yn[] = {2, NAN, 4};
    const double fn[] = {1, 5, NAN};
    cr_assert_float_eq(tsf_mae(yn, fn, 3), 1, 0);
    cr_assert(isnan(tsf_mae(yn + 1, fn + 1, 2)));
}

Test(metrics, mase_follows_hyndman_and_koehler)
{
    /* In-sample 1, 3, 2, 5, 4 with m = 1: naive errors 2, 1, 3, 1 -> d = 7/4.
     * With m = 2: |2-1|, |5-3|, |4-2| -> d = 5/3. */
    const double x[] = {1, 3, 2, 5, 4};
    cr_assert_float_eq(tsf_mase_scale(x, 5, 1), 1.75, 1e-15);
    cr_assert_float_eq(tsf_mase_scale(x, 5, 2), 5.0 / 3, 1e-15);
    /* Out of sample y 6, 2 forecast 4, 4: MAE 2 -> MASE 2 / 1.75 */
    const double y[] = {6, 2}, f[] = {4, 4};
    cr_assert_float_eq(tsf_mase(y, f, 2, tsf_mase_scale(x, 5, 1)), 2 / 1.75, 1e-15);
    /* The naive forecast over the training data itself scores exactly 1 (FPP3 5.8). */
    const double fit[] = {1, 3, 2, 5};
    cr_assert_float_eq(tsf_mase(x + 1, fit, 4, tsf_mase_scale(x, 5, 1)), 1, 1e-15);
}

Test(metrics, pinball_loss_and_coverage_equal_hand_computed_values)
{
    /* tau 0.9: under-forecast by 2 costs 0.9 * 2, over-forecast by 2 costs 0.1 * 2 */
    const double y[] = {10, 10};
    const double q[] = {8, 12};
    cr_assert_float_eq(tsf_pinball(y, q, 2, 0.9), (1.8 + 0.2) / 2, 1e-15);
    cr_assert_float_eq(tsf_pinball(y, q, 2, 0.5), 1, 1e-15);
    const double yy[] = {1, 5, 9, 3};
    const double lo[] = {0, 0, 0, 3}, hi[] = {2, 4, 10, 3};
    cr_assert_float_eq(tsf_coverage(yy, lo, hi, 4), 0.75, 0);
}

Test(metrics, kernels_agree_with_numpy_on_random_data)
{
    tsft_need_python_modules("numpy");
    unsigned long long st = 5;
    enum { N = 300 };
    double y[N], f[N], x[N];
    char *txt = malloc(N * 80);
    size_t len = 0;
    for (size_t i = 0; i < N; i++) {
        y[i] = 10 * trand(&st) - 3;
        f[i] = y[i] + 2 * trand(&st) - 1;
        x[i] = sin(0.3 * (double)i) * 5 + trand(&st);
        len += (size_t)sprintf(txt + len, "%.17g %.17g %.17g\n", y[i], f[i], x[i]);
    }
    const char *path = tsft_path(tsft_tmpdir(), "m.txt");
    tsft_write_file(path, txt, len);
    free(txt);
    char *out = NULL, *perr = NULL;
    int rc = tsft_python(
        "import sys, numpy as np\ny, f, x = np.loadtxt(sys.argv[1]).T\ne = y - f\n"
        "d = np.mean(np.abs(x[7:] - x[:-7]))\n"
        "tau = 0.8\nu = y - f\npin = np.mean(np.maximum(tau * u, (tau - 1) * u))\n"
        "v = [np.mean(np.abs(e)), np.mean(e**2), np.sqrt(np.mean(e**2)),\n"
        "     100*np.mean(np.abs(e/y)), 100*np.mean(2*np.abs(e)/(np.abs(y)+np.abs(f))),\n"
        "     np.mean(np.abs(e))/d, pin]\n"
        "print(*[repr(float(a)) for a in v])\n",
        &out, &perr, path, NULL);
    cr_assert_eq(rc, 0, "python failed: %s", perr);
    double want[7], got[7];
    char *p = out;
    for (int i = 0; i < 7; i++)
        want[i] = strtod(p, &p);
    got[0] = tsf_mae(y, f, N);
    got[1] = tsf_mse(y, f, N);
    got[2] = tsf_rmse(y, f, N);
    got[3] = tsf_mape(y, f, N);
    got[4] = tsf_smape(y, f, N);
    got[5] = tsf_mase(y, f, N, tsf_mase_scale(x, N, 7));
    got[6] = tsf_pinball(y, f, N, 0.8);
    tsft_assert_close(got, want, 7, 1e-13, 0, "mae mse rmse mape smape mase pinball");
}

/* A forecast set over one column of 2 series x 12 rows, model "m", 2 folds of horizon 2. */
static tsf_forecasts *small_set(tsf_frame **fp)
{
    tsf_err err = TSF_ERR_INIT;
    double d[24];
    for (int r = 0; r < 24; r++)
        d[r] = r < 12 ? r : 2 * (r - 12);
    tsf_frame *f = tframe(1, 24, d, 0, 0);
    const size_t starts[] = {0, 12, 24};
    tseries(f, 2, starts, NULL);
    const size_t tc[] = {0};
    const char *models[] = {"m", "zero"};
    tsf_forecasts *fc;
    cr_assert_eq(tsf_forecasts_alloc(&fc, f, tc, 1, models, 2, NULL, 0, 2, 0, &err), TSF_OK, "%s",
                 err.msg);
    /* folds 0 and 1 at offsets 8 and 10 of both series; model m is off by +1 in series 0 and
     * by -3 in series 1; model zero forecasts 0 */
    for (size_t k = 0; k < 2; k++)
        for (size_t s = 0; s < 2; s++) {
            size_t e, origin = starts[s] + 8 + 2 * k;
            cr_assert_eq(tsf_forecasts_add(fc, f, s, origin, k, starts[s], origin, &e, &err),
                         TSF_OK, "%s", err.msg);
            double block[2], zero[2] = {0, 0};
            for (size_t l = 0; l < 2; l++)
                block[l] = f->cols[0][origin + l] + (s == 0 ? 1 : -3);
            tsf_forecasts_put(fc, e, 0, block);
            tsf_forecasts_put(fc, e, 1, zero);
        }
    *fp = f;
    return fc;
}

Test(metrics, table_reports_pooled_per_step_series_and_fold_rows)
{
    tsf_err err = TSF_ERR_INIT;
    tsf_frame *f;
    tsf_forecasts *fc = small_set(&f);
    tsf_metrics *mt = NULL;
    tsf_metrics_spec spec = {.season = 1};
    cr_assert_eq(tsf_metrics_compute(&mt, fc, f, &spec, &err), TSF_OK, "%s", err.msg);
    /* per model: all (1) + steps (2) + series (2) + folds (2) = 7 rows */
    cr_assert_eq(mt->n_rows, 14);
    const size_t A = TSF_ALL_TARGETS;
    /* 8 points, 4 with |e| = 1 and 4 with |e| = 3: MSE (4 + 36) / 8 = 5; pooled RMSE is
     * sqrt(5), not the mean of the series RMSEs (1 + 3) / 2 = 2 */
    cr_assert_float_eq(tsf_metrics_get(mt, "m", A, TSF_BY_ALL, 0, TSF_FC_ORIGINAL, TSF_METRIC_MSE),
                       5, 1e-15);
    cr_assert_float_eq(tsf_metrics_get(mt, "m", A, TSF_BY_ALL, 0, TSF_FC_ORIGINAL, TSF_METRIC_RMSE),
                       sqrt(5), 1e-15);
    cr_assert_float_eq(
        tsf_metrics_get(mt, "m", A, TSF_BY_SERIES, 0, TSF_FC_ORIGINAL, TSF_METRIC_RMSE), 1, 1e-15);
    cr_assert_float_eq(
        tsf_metrics_get(mt, "m", A, TSF_BY_SERIES, 1, TSF_FC_ORIGINAL, TSF_METRIC_RMSE), 3, 1e-15);
    cr_assert_float_eq(tsf_metrics_get(mt, "m", A, TSF_BY_STEP, 2, TSF_FC_ORIGINAL, TSF_METRIC_MAE),
                       2, 1e-15);
    cr_assert_float_eq(tsf_metrics_get(mt, "m", A, TSF_BY_FOLD, 1, TSF_FC_ORIGINAL, TSF_METRIC_MAE),
                       2, 1e-15);
    /* MASE: series 0 rises by 1 a row (d = 1), series 1 by 2 (d = 2): (1 + 1.5) / 2 */
    cr_assert_float_eq(tsf_metrics_get(mt, "m", A, TSF_BY_ALL, 0, TSF_FC_ORIGINAL, TSF_METRIC_MASE),
                       1.25, 1e-15);
    cr_assert_eq(mt->row[0].count, 8);
    /* zero forecasts actuals 8, 9 / 10, 11 (series 0) and 16, 18 / 20, 22 (series 1) */
    double want = (64 + 81 + 100 + 121 + 256 + 324 + 400 + 484) / 8.0;
    cr_assert_float_eq(
        tsf_metrics_get(mt, "zero", A, TSF_BY_ALL, 0, TSF_FC_ORIGINAL, TSF_METRIC_MSE), want,
        1e-12);
    cr_assert_float_eq(tsf_metrics_skill(mt, "m", "zero", TSF_FC_ORIGINAL, TSF_METRIC_MSE),
                       1 - 5 / want, 1e-15);
    cr_assert(isnan(mt->row[0].value[TSF_METRIC_PINBALL]));
    tsf_metrics_free(mt);
    tsf_forecasts_free(fc);
    tsf_frame_free(f);
}

Test(metrics, quantile_forecasts_score_pinball_and_coverage_and_use_the_median_as_point)
{
    tsf_err err = TSF_ERR_INIT;
    const double d[] = {0, 1, 2, 3, 4, 5};
    tsf_frame *f = tframe(1, 6, d, 0, 0);
    const size_t tc[] = {0};
    const char *models[] = {"q"};
    const double levels[] = {0.1, 0.5, 0.9};
    tsf_forecasts *fc;
    cr_assert_eq(tsf_forecasts_alloc(&fc, f, tc, 1, models, 1, levels, 3, 2, 0, &err), TSF_OK);
    size_t e;
    cr_assert_eq(tsf_forecasts_add(fc, f, 0, 4, 0, 0, 4, &e, &err), TSF_OK);
    /* actuals 4, 5; (L, O, P) blocks: point NaN, quantiles */
    const double block[] = {NAN, 3, 4, 6, NAN, 5.5, 6, 7};
    tsf_forecasts_put(fc, e, 0, block);
    tsf_metrics *mt = NULL;
    cr_assert_eq(tsf_metrics_compute(&mt, fc, NULL, NULL, &err), TSF_OK, "%s", err.msg);
    const tsf_metric_row *r = &mt->row[0];
    cr_assert_eq(r->by, TSF_BY_ALL);
    /* median as point: errors 0 and -1 */
    cr_assert_float_eq(r->value[TSF_METRIC_MAE], 0.5, 1e-15);
    /* step 1: 0.1*1 + 0 + 0.1*2 = 0.3; step 2: 0.9*0.5 + 0.5*1 + 0.1*2 = 1.15 -> (0.3/3 +
     * 1.15/3) / 2 */
    cr_assert_float_eq(r->value[TSF_METRIC_PINBALL], (0.3 + 1.15) / 6, 1e-15);
    /* 4 in [3, 6], 5 not in [5.5, 7] */
    cr_assert_float_eq(r->value[TSF_METRIC_COVERAGE], 0.5, 0);
    cr_assert_float_eq(mt->coverage_nominal, 0.8, 1e-15);
    cr_assert(isnan(r->value[TSF_METRIC_MASE]));
    tsf_metrics_free(mt);
    tsf_forecasts_free(fc);
    tsf_frame_free(f);
}

Test(metrics, names_parse_back)
{
    for (int m = 0; m < TSF_N_METRICS; m++)
        cr_assert_eq(tsf_metric_parse(tsf_metric_name(m)), m);
    cr_assert_eq(tsf_metric_parse("r2"), -1);
}
