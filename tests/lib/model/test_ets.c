/* ETS and Theta without R: errors that name the problem, the cases forecast::ets handles
 * specially, and the ets and theta baselines in a backtest (refitted at every origin). The
 * comparison with R is test_ets_r.c. */
#include <math.h>
#include <string.h>

#include "../prep/frames.h"
#include "support.h"
#include "tsflow/backtest.h"
#include "tsflow/baseline.h"
#include "tsflow/ets.h"

/* y_t = 10 + 0.5 t + 3 sin(2 pi t / 12) + small noise, t = 0..n-1. */
static void seasonal(double *y, size_t n, double noise)
{
    unsigned long long st = 7;
    for (size_t t = 0; t < n; t++)
        y[t] =
            10 + 0.5 * (double)t + 3 * sin(2 * M_PI * (double)t / 12) + noise * (trand(&st) - 0.5);
}

Test(ets, rejects_a_missing_value_naming_it)
{
    double y[20];
    seasonal(y, 20, 0);
    y[5] = NAN;
    tsf_ets e;
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_ets_fit(&e, y, 20, 1, NULL, &err), TSF_ENUMERIC);
    cr_assert_str_eq(err.msg, "ets: value 6 of 20 is nan (impute missing values first)");
    tsf_theta t;
    cr_assert_eq(tsf_theta_fit(&t, y, 20, 1, &err), TSF_ENUMERIC);
    cr_assert_str_eq(err.msg, "theta: value 6 of 20 is nan (impute missing values first)");
}

Test(ets, rejects_model_strings_it_cannot_fit)
{
    double y[40];
    seasonal(y, 40, 0.1);
    tsf_ets e;
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_ets_fit(&e, y, 40, 12, "AXN", &err), TSF_EINVAL);
    cr_assert_str_eq(err.msg, "ets: \"AXN\" is not a model (expected error A, M or Z, trend N, "
                              "A, Ad or Z, season N, A, M or Z, as in \"ZZZ\" or \"MAdM\")");
    cr_assert_eq(tsf_ets_fit(&e, y, 40, 12, "ANM", &err), TSF_EINVAL);
    cr_assert_str_eq(err.msg, "ets: model \"ANM\": additive errors with a multiplicative season "
                              "have infinite forecast variance (forecast::ets forbids them)");
    cr_assert_eq(tsf_ets_fit(&e, y, 40, 12, "MMN", &err), TSF_EINVAL);
    cr_assert(strstr(err.msg, "multiplicative trends are not supported"), "%s", err.msg);
    y[3] = -1;
    cr_assert_eq(tsf_ets_fit(&e, y, 40, 12, "MNN", &err), TSF_EINVAL);
    cr_assert_str_eq(err.msg, "ets: model \"MNN\" has multiplicative errors, which need every "
                              "value to be positive");
    cr_assert_eq(tsf_ets_fit(&e, y, 6, 1, NULL, &err), TSF_EINVAL);
    cr_assert_str_eq(err.msg, "ets: needs at least 7 rows, got 6");
}

Test(ets, forecasts_a_constant_series_as_the_constant)
{
    double y[30], f[5];
    for (size_t i = 0; i < 30; i++)
        y[i] = 4.25;
    tsf_ets e;
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_ets_fit(&e, y, 30, 12, NULL, &err), TSF_OK, "%s", err.msg);
    tsf_ets_forecast(&e, 5, f);
    for (size_t i = 0; i < 5; i++)
        cr_assert_float_eq(f[i], 4.25, 1e-12);
}

Test(ets, extrapolates_a_noise_free_seasonal_trend)
{
    /* a linear trend plus a fixed additive season is ETS(A,A,A) with beta = gamma = 0: the
     * fit must continue it (the likelihood is flat in alpha, so 1e-3 rather than exact) */
    double y[84], f[24];
    double all[108];
    seasonal(all, 108, 0);
    memcpy(y, all, sizeof y);
    tsf_ets e;
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_ets_fit(&e, y, 84, 12, "AAA", &err), TSF_OK, "%s", err.msg);
    tsf_ets_forecast(&e, 24, f);
    tsft_assert_close(f, all + 84, 24, 1e-3, 0, "AAA forecasts of trend + season");
}

Test(ets, fits_no_season_longer_than_24_rows)
{
    double y[120];
    seasonal(y, 120, 0.5);
    tsf_ets e;
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_ets_fit(&e, y, 120, 52, NULL, &err), TSF_OK, "%s", err.msg);
    cr_assert_eq(e.season, TSF_ETS_NONE);
    cr_assert_eq(tsf_ets_fit(&e, y, 120, 52, "ANA", &err), TSF_EINVAL);
    cr_assert(strstr(err.msg, "a season of 52 rows cannot be fitted"), "%s", err.msg);
}

/* The ets and theta baselines in a backtest refit at every origin even with retrain = never:
 * each fold's forecasts are those of a fit to exactly the rows before its origin. */
Test(ets, baselines_refit_at_every_backtest_origin)
{
    const size_t n = 72;
    double y[72];
    seasonal(y, n, 1.0);
    tsf_frame *f = tframe(1, n, y, 0, 0);
    const size_t tc[] = {0};
    tsf_backtest_spec spec;
    tsf_backtest_spec_init(&spec);
    spec.train_length = 48;
    spec.stride = 12;
    spec.horizon = 12;
    spec.retrain = 0;
    spec.targets = tc;
    spec.n_targets = 1;
    tsf_baseline_config cfg[2] = {{.kind = TSF_BASE_ETS, .season = 12},
                                  {.kind = TSF_BASE_THETA, .season = 12}};
    tsf_forecaster m[2];
    tsf_baseline_forecaster(&m[0], &cfg[0], NULL);
    tsf_baseline_forecaster(&m[1], &cfg[1], NULL);
    tsf_backtest *bt;
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_backtest_run(&bt, f, &spec, m, 2, &err), TSF_OK, "%s", err.msg);
    cr_assert_eq(bt->n_folds, 2);
    cr_assert_str_eq(bt->fc->models[0], "ets");
    cr_assert_str_eq(bt->fc->models[1], "theta");
    for (size_t k = 0; k < 2; k++) {
        size_t o = 48 + 12 * k;
        double want[2][12], got[2][12];
        tsf_ets e;
        tsf_theta t;
        cr_assert_eq(tsf_ets_fit(&e, y, o, 12, NULL, &err), TSF_OK, "%s", err.msg);
        tsf_ets_forecast(&e, 12, want[0]);
        cr_assert_eq(tsf_theta_fit(&t, y, o, 12, &err), TSF_OK, "%s", err.msg);
        tsf_theta_forecast(&t, 12, want[1]);
        for (size_t j = 0; j < 2; j++)
            for (size_t l = 0; l < 12; l++)
                got[j][l] = tsf_forecasts_at(bt->fc, k, l, 0, j)[0];
        tsft_assert_identical(got[0], want[0], 12,
                              "ets in the backtest vs a fit to the rows "
                              "before the origin");
        tsft_assert_identical(got[1], want[1], 12, "theta likewise");
    }
    tsf_backtest_free(bt);
    tsf_frame_free(f);
}

/* In a backtest whose folds are z-scored (as tsflow backtest's are beside a network), ETS and
 * Theta fit the data's units (the fold's scaler undone): on a positive series with a
 * multiplicative season, ETS chooses the model a fit to the raw rows chooses (multiplicative,
 * which z-scores, crossing zero, would forbid) and forecasts what it forecasts, up to the
 * rounding of the scaler's round trip. */
Test(ets, baselines_in_a_scaled_backtest_fit_the_data_units)
{
    const size_t n = 96;
    double y[96];
    unsigned long long st = 3;
    for (size_t t = 0; t < n; t++)
        y[t] = (50 + 0.8 * (double)t) * (1 + 0.3 * sin(2 * M_PI * (double)t / 12)) *
               (1 + 0.04 * (trand(&st) - 0.5));
    tsf_frame *f = tframe(1, n, y, 0, 0);
    const size_t tc[] = {0};
    tsf_scale_spec scl;
    tsf_scale_spec_init(&scl);
    scl.kind = TSF_SCALE_ZSCORE;
    tsf_backtest_spec spec;
    tsf_backtest_spec_init(&spec);
    spec.train_length = 84;
    spec.horizon = 12;
    spec.targets = tc;
    spec.n_targets = 1;
    spec.scale = &scl;
    tsf_baseline_config cfg[2] = {{.kind = TSF_BASE_ETS, .season = 12},
                                  {.kind = TSF_BASE_THETA, .season = 12}};
    tsf_forecaster m[2];
    tsf_baseline_forecaster(&m[0], &cfg[0], NULL);
    tsf_baseline_forecaster(&m[1], &cfg[1], NULL);
    tsf_backtest *bt;
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_backtest_run(&bt, f, &spec, m, 2, &err), TSF_OK, "%s", err.msg);
    cr_assert_eq(bt->n_folds, 1);
    cr_assert(bt->fc_norm, "the folds were not scaled");
    double want[2][12], got[2][12];
    tsf_ets e;
    tsf_theta t;
    cr_assert_eq(tsf_ets_fit(&e, y, 84, 12, NULL, &err), TSF_OK, "%s", err.msg);
    char name[32];
    cr_assert_eq(e.season, TSF_ETS_MULT, "standalone ETS chose %s",
                 tsf_ets_name(&e, name, sizeof name));
    tsf_ets_forecast(&e, 12, want[0]);
    cr_assert_eq(tsf_theta_fit(&t, y, 84, 12, &err), TSF_OK, "%s", err.msg);
    tsf_theta_forecast(&t, 12, want[1]);
    for (size_t j = 0; j < 2; j++)
        for (size_t l = 0; l < 12; l++)
            got[j][l] = tsf_forecasts_at(bt->fc, 0, l, 0, j)[0];
    /* the inputs differ from y by the z-score round trip's rounding (~1e-16 relative); the
     * optimiser's answer moves by far less than 1e-6 of the values for that */
    tsft_assert_close(got[0], want[0], 12, 1e-6, 0, "ets in a z-scored backtest vs on the data");
    tsft_assert_close(got[1], want[1], 12, 1e-9, 0, "theta likewise");
    tsf_backtest_free(bt);
    tsf_frame_free(f);
}
