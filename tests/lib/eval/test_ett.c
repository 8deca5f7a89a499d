/* The ETT sanity anchor (../shared/datasets/ett/README.md): ETTh1, all 7 columns, the
 * standard split, z-score fitted on the training rows, horizon 96, the last-value ("Repeat")
 * forecaster over all 2785 test windows, scored on the normalized scale: MSE 1.29437 and
 * MAE 0.71318. Proof that split, scaling, windows, baselines and metrics follow the published
 * protocol. Also recomputed independently with numpy/pandas. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "support.h"
#include "tsflow/baseline.h"
#include "tsflow/io.h"
#include "tsflow/metrics.h"
#include "tsflow/scale.h"
#include "tsflow/window.h"

/* Round to 5 decimals, the precision the anchor is published with (5 significant digits of
 * 0.71318, 6 of 1.29437). */
static double round5(double x)
{
    return round(x * 1e5) / 1e5;
}

/* MSE and MAE of the repeat forecaster over the ETT test windows with horizon L. */
static void ett_repeat(const char *path, size_t lookback, size_t L, double *mse, double *mae,
                       size_t *n_windows)
{
    tsf_err err = TSF_ERR_INIT;
    tsf_frame *f;
    cr_assert_eq(tsf_csv_read(&f, path, NULL, NULL, &err), TSF_OK, "%s", err.msg);
    cr_assert_eq(f->n_rows, 17420);
    cr_assert_eq(f->n_cols, 7);
    tsf_split_spec ss;
    tsf_split_spec_ett(&ss, 24);
    tsf_split *sp;
    cr_assert_eq(tsf_split_make(&sp, f, &ss, &err), TSF_OK, "%s", err.msg);
    tsf_scale_spec sc;
    tsf_scale_spec_init(&sc); /* z-score, population std, per column */
    tsf_scaler *scaler;
    cr_assert_eq(tsf_scaler_fit(&scaler, f, &sc, sp->part[TSF_PART_TRAIN], &err), TSF_OK, "%s",
                 err.msg);
    cr_assert_eq(tsf_scaler_apply(scaler, f, NULL, &err), TSF_OK, "%s", err.msg);
    size_t cols[7];
    for (size_t j = 0; j < 7; j++)
        cols[j] = j;
    tsf_window_spec ws = {
        .lookback = lookback, .horizon = L, .stride = 1, .target_cols = cols, .n_targets = 7};
    tsf_windows *w;
    cr_assert_eq(tsf_windows_make_ranges(&w, f, &ws, sp->part[TSF_PART_TEST], 1, &err), TSF_OK,
                 "%s", err.msg);
    *n_windows = w->n_windows;
    cr_assert_eq(w->origin[0], 11520);
    cr_assert_eq(w->origin[w->n_windows - 1], 14400 - L);
    const char *models[] = {"repeat"};
    tsf_forecasts *fc;
    cr_assert_eq(tsf_forecasts_alloc(&fc, f, cols, 7, models, 1, NULL, 0, L, 0, &err), TSF_OK);
    fc->scale = TSF_FC_NORMALIZED;
    size_t first;
    cr_assert_eq(tsf_forecasts_add_windows(fc, w, &first, &err), TSF_OK, "%s", err.msg);
    cr_assert_eq(tsf_baseline_windows(fc, 0, w, first, TSF_BASE_NAIVE, 0, &err), TSF_OK, "%s",
                 err.msg);
    tsf_metrics *mt = NULL;
    tsf_metrics_spec ms = {.groups = 1u << TSF_BY_ALL};
    cr_assert_eq(tsf_metrics_compute(&mt, fc, NULL, &ms, &err), TSF_OK, "%s", err.msg);
    *mse = tsf_metrics_get(mt, "repeat", TSF_ALL_TARGETS, TSF_BY_ALL, 0, TSF_FC_NORMALIZED,
                           TSF_METRIC_MSE);
    *mae = tsf_metrics_get(mt, "repeat", TSF_ALL_TARGETS, TSF_BY_ALL, 0, TSF_FC_NORMALIZED,
                           TSF_METRIC_MAE);
    cr_assert_eq(mt->row[0].count, w->n_windows * L * 7);
    tsf_metrics_free(mt);
    tsf_forecasts_free(fc);
    tsf_windows_free(w);
    tsf_scaler_free(scaler);
    tsf_split_free(sp);
    tsf_frame_free(f);
}

Test(ett, repeat_forecaster_on_etth1_gives_the_published_mse_and_mae)
{
    TSFT_NEED_SHARED(path, "ett/ETTh1.csv");
    double mse, mae;
    size_t n;
    ett_repeat(path, 96, 96, &mse, &mae, &n);
    cr_assert_eq(n, 2785);
    cr_assert(fabs(round5(mse) - 1.29437) < 1e-12 && fabs(round5(mae) - 0.71318) < 1e-12,
              "ETTh1 repeat H=96: MSE %.7f MAE %.7f, want 1.29437 0.71318", mse, mae);
    /* "lookback any": the window count and the scores do not depend on it */
    double mse2, mae2;
    ett_repeat(path, 336, 96, &mse2, &mae2, &n);
    cr_assert_eq(n, 2785);
    cr_assert(mse2 == mse && mae2 == mae);
}

Test(ett, repeat_scores_agree_with_numpy_at_every_horizon)
{
    TSFT_NEED_SHARED(path, "ett/ETTh1.csv");
    tsft_need_python_modules("numpy, pandas");
    char *out = NULL, *perr = NULL;
    int rc = tsft_python("import sys, numpy as np, pandas as pd\n"
                         "x = pd.read_csv(sys.argv[1]).iloc[:, 1:].to_numpy()\n"
                         "z = (x - x[:8640].mean(0)) / x[:8640].std(0, ddof=0)\n"
                         "for H in (96, 192, 336, 720):\n"
                         "    t = np.arange(11520, 14400 - H + 1)\n"
                         "    idx = t[:, None] + np.arange(H)[None, :]\n"
                         "    e = z[idx] - z[t - 1][:, None, :]\n"
                         "    print(repr(float(np.mean(e**2))), repr(float(np.mean(np.abs(e)))))\n",
                         &out, &perr, path, NULL);
    cr_assert_eq(rc, 0, "python failed: %s", perr);
    char *p = out;
    const size_t H[] = {96, 192, 336, 720};
    for (size_t i = 0; i < 4; i++) {
        double want[2], got[2];
        size_t n;
        want[0] = strtod(p, &p);
        want[1] = strtod(p, &p);
        ett_repeat(path, 48, H[i], &got[0], &got[1], &n);
        cr_assert_eq(n, 2880 - H[i] + 1);
        char what[32];
        snprintf(what, sizeof what, "MSE, MAE at H=%zu", H[i]);
        tsft_assert_close(got, want, 2, 1e-10, 0, what);
    }
}
