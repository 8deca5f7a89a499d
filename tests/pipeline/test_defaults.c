/* `tsflow backtest` and `tsflow forecast` on a short monthly series (72 rows, as classic business
 * series are): the flags mean what they say (--train-length places the first origin, shares
 * read back exactly), the default validation share works, the backtest trains no model it would
 * throw away, and the log says which seed the refits use. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

#define ASSERT_HAS(text, sub)                                                                      \
    cr_assert(strstr((text), (sub)), "missing \"%s\" in:\n%s", (sub), (text))
#define ASSERT_LACKS(text, sub)                                                                    \
    cr_assert(!strstr((text), (sub)), "unexpected \"%s\" in:\n%s", (sub), (text))

/* 72 monthly values (no time column): trend + yearly cycle + deterministic noise. */
static const char *monthly_csv(const char **dir)
{
    *dir = tsft_tmpdir();
    const char *path = tsft_path(*dir, "m72.csv");
    char buf[72 * 32 + 8];
    size_t len = (size_t)sprintf(buf, "y\n");
    unsigned long long lcg = 7;
    for (int r = 0; r < 72; r++) {
        lcg = lcg * 6364136223846793005ULL + 1442695040888963407ULL;
        double noise = (double)(lcg >> 40) / (double)(1ULL << 24) - 0.5;
        len += (size_t)sprintf(buf + len, "%.6f\n",
                               100 + 0.5 * r + 10 * sin(2 * M_PI * r / 12) + 4 * noise);
    }
    tsft_write_file(path, buf, len);
    return path;
}

Test(defaults, train_length_places_the_first_origin_of_the_backtest_command)
{
    const char *dir, *data = monthly_csv(&dir);
    char *out, *err;
    int rc =
        tsft_tsflow(&out, &err, "backtest", data, "--horizon", "12", "--season", "12", "--model",
                    "none", "--train-length", "36", "--out", tsft_path(dir, "b.h5"), NULL);
    cr_assert_eq(rc, 0, "%s", err);
    /* origins 36, 48, 60 (the split's test part would start at row 57) */
    ASSERT_HAS(err, "on 3 folds (origins every 12 rows from row 36, horizon 12,");
}

Test(defaults, shares_that_need_seven_digits_are_read_back_exactly)
{
    const char *dir, *data = monthly_csv(&dir);
    char *out, *err;
    /* 6 digits would give 0.666667 + 0 + 0.333334 > 1 */
    int rc = tsft_tsflow(&out, &err, "backtest", data, "--horizon", "2", "--season", "12",
                         "--model", "none", "--val-fraction", "0", "--test-fraction", "0.3333335",
                         "--out", tsft_path(dir, "b.h5"), NULL);
    cr_assert_eq(rc, 0, "%s", err);
    ASSERT_HAS(err, "split: train rows [0, 47), validation [47, 47), test [47, 72)");
}

Test(defaults, the_default_validation_share_holds_a_window_of_a_72_row_series)
{
    const char *dir, *data = monthly_csv(&dir);
    char *out, *err;
    /* 10% of 72 rows is 7, less than the horizon: the validation part grows to 12 rows */
    int rc = tsft_tsflow(&out, &err, "forecast", data, "--horizon", "12", "--epochs", "1",
                         "--hidden", "4", "--out", tsft_path(dir, "f.h5"), NULL);
    cr_assert_eq(rc, 0, "%s", err);
    ASSERT_HAS(err, "split: train rows [0, 60), validation [60, 72), test [72, 72)");
    ASSERT_HAS(err, "val: 1 window (1 samples)");
    /* a share that already holds a horizon is kept */
    rc = tsft_tsflow(&out, &err, "forecast", data, "--horizon", "3", "--epochs", "1", "--hidden",
                     "4", "--out", tsft_path(dir, "f.h5"), NULL);
    cr_assert_eq(rc, 0, "%s", err);
    ASSERT_HAS(err, "split: train rows [0, 64), validation [64, 72), test [72, 72)");
}

Test(defaults, the_backtest_command_trains_no_model_before_the_backtest)
{
    const char *dir, *data = monthly_csv(&dir);
    char *out, *err;
    int rc = tsft_tsflow(&out, &err, "backtest", data, "--horizon", "12", "--season", "12",
                         "--epochs", "2", "--hidden", "4", "--out", tsft_path(dir, "b.h5"), NULL);
    cr_assert_eq(rc, 0, "%s", err);
    ASSERT_HAS(err, "model: lstm: not trained (fit = false): a recipe for the backtest's refits");
    ASSERT_LACKS(err, "model: lstm: 2 epochs");
    /* the one fit of the single fold trains */
    ASSERT_HAS(err, "1 model and 2 baselines on 1 folds");
}

Test(defaults, the_log_says_which_seed_the_refits_use)
{
    const char *dir, *data = monthly_csv(&dir);
    char *out, *err;
    const char *common[] = {"--horizon", "12", "--season", "12", "--epochs", "1", "--hidden", "4"};
    int rc = tsft_tsflow(&out, &err, "backtest", data, common[0], common[1], common[2], common[3],
                         common[4], common[5], common[6], common[7], "--seed", "7", "--out",
                         tsft_path(dir, "b.h5"), NULL);
    cr_assert_eq(rc, 0, "%s", err);
    ASSERT_HAS(err, "backtest: fits train with seed 7 + fold (the model's seed)");
    rc = tsft_tsflow(&out, &err, "backtest", data, common[0], common[1], common[2], common[3],
                     common[4], common[5], common[6], common[7], "--seed", "7", "--set",
                     "backtest.seed=3", "--out", tsft_path(dir, "b.h5"), NULL);
    cr_assert_eq(rc, 0, "%s", err);
    ASSERT_HAS(err, "backtest: fits train with seed 3 + fold (the backtest's seed option; the "
                    "model input's seed is not used)");
}

Test(defaults, every_backtest_fit_chooses_its_settings_from_its_windows_and_says_why)
{
    const char *dir, *data = monthly_csv(&dir);
    char *out, *err;
    int rc = tsft_tsflow(&out, &err, "backtest", data, "--horizon", "12", "--season", "12",
                         "--train-length", "36", "--out", tsft_path(dir, "b.h5"), NULL);
    cr_assert_eq(rc, 0, "%s", err);
    /* lookback: a season, as the 57 rows before the test part leave fewer than 100 windows for
     * two (no validation part: each refit holds out its own) */
    ASSERT_HAS(err, "train: lookback 12: a season, leaving 34 windows in 57 rows\n");
    /* fold 0 fits rows [0, 36): 13 windows, too few to hold out a tail and keep 4 to train on;
     * fold 2 rows [0, 60): 37 windows, the last 3 validate and 11 before them are dropped so
     * that no training target reaches the validation rows. Fold 0's 36 rows (35 differences)
     * show no significant season; fold 2's 60 do (the series' season is additive) */
    ASSERT_HAS(err, "backtest: lstm, fit at fold 0: hidden 8 (sqrt rule on 13 windows), batch 13, "
                    "epochs 300 (~1000 updates), no early stopping (no validation windows); "
                    "deseason none (no significant autocorrelation at the season's lag)\n");
    ASSERT_HAS(err, "backtest: lstm, fit at fold 2: hidden 8 (sqrt rule on 23 windows), batch 23, "
                    "epochs 300 (~1000 updates), early stopping after 30 epochs without progress "
                    "on 3 validation windows; best epoch ");
    ASSERT_HAS(err, ", refit on all 37 windows; deseason additive (season 12, auto)\n");
}

Test(defaults, train_rnn_chooses_what_the_pipeline_leaves_unset)
{
    const char *dir, *data = monthly_csv(&dir);
    char *out, *err;
    int rc = tsft_tsflow(&out, &err, "forecast", data, "--horizon", "12", "--out",
                         tsft_path(dir, "f.h5"), NULL);
    cr_assert_eq(rc, 0, "%s", err);
    ASSERT_HAS(err, "model: lstm: chosen from the data: hidden 8 (sqrt rule on 25 windows), "
                    "batch 25, epochs 300 (~1000 updates), early stopping after 30 epochs without "
                    "progress on 1 validation windows\n");
    /* what the flags set stays */
    rc = tsft_tsflow(&out, &err, "forecast", data, "--horizon", "12", "--hidden", "4", "--epochs",
                     "3", "--batch-size", "5", "--out", tsft_path(dir, "f.h5"), NULL);
    cr_assert_eq(rc, 0, "%s", err);
    ASSERT_HAS(err, "model: lstm: chosen from the data: early stopping after 10 epochs without "
                    "progress on 1 validation windows\n");
    ASSERT_HAS(err, "lstm, 1 layer x 4 hidden");
}

/* Run `tsflow backtest` on data with extra flags and OPENBLAS_NUM_THREADS=threads, writing the
 * forecasts to csv. */
static void backtest_csv(const char *data, const char *dir, const char *csv, const char *threads,
                         const char *a1, const char *a2)
{
    setenv("OPENBLAS_NUM_THREADS", threads, 1);
    char *out, *err;
    int rc = tsft_tsflow(&out, &err, "backtest", data, "--horizon", "12", "--season", "12",
                         "--train-length", "48", "--out", tsft_path(dir, "b.h5"), "--csv",
                         tsft_path(dir, csv), a1, a2, NULL);
    setenv("OPENBLAS_NUM_THREADS", "1", 1);
    cr_assert_eq(rc, 0, "%s", err);
}

Test(defaults, an_ensemble_forecasts_the_median_of_its_members_the_same_on_any_thread_count)
{
    tsft_need_python_modules("pandas");
    const char *dir, *data = monthly_csv(&dir);
    backtest_csv(data, dir, "e1.csv", "1", "--ensemble", "3");
    backtest_csv(data, dir, "e2.csv", "2", "--ensemble", "3");
    /* member k of the fit at fold g trains with seed + g + k: the single networks of seeds 1,
     * 2 and 3 are the members */
    backtest_csv(data, dir, "s1.csv", "1", "--seed", "1");
    backtest_csv(data, dir, "s2.csv", "1", "--seed", "2");
    backtest_csv(data, dir, "s3.csv", "1", "--seed", "3");
    char *py, *err;
    int rc = tsft_python("import pandas as pd, numpy as np, sys, os\n"
                         "d = sys.argv[1]\n"
                         "r = lambda n: pd.read_csv(os.path.join(d, n))\n"
                         "e1, e2 = r('e1.csv'), r('e2.csv')\n"
                         "assert e1.equals(e2), 'OPENBLAS_NUM_THREADS changed the bits'\n"
                         "m = np.median(np.stack([r(f's{k}.csv')['lstm'] for k in (1, 2, 3)]), 0)\n"
                         "print(len(m), np.abs(e1['lstm'] - m).max(),\n"
                         "      (np.abs(r('s1.csv')['lstm'] - m) > 1e-6).sum() > 0)\n",
                         &py, &err, dir, NULL);
    cr_assert_eq(rc, 0, "%s", err);
    /* 2 folds x 12 steps; the median read back from CSV to 1e-12, not seed 1's forecast */
    double diff;
    int n, differs;
    char flag[8];
    cr_assert_eq(sscanf(py, "%d %lf %7s", &n, &diff, flag), 3, "%s", py);
    differs = !strcmp(flag, "True");
    cr_assert_eq(n, 24, "%s", py);
    cr_assert(diff < 1e-9, "ensemble vs median of members: max difference %g", diff);
    cr_assert(differs, "the ensemble equals seed 1's network: %s", py);
}

/* 1500 rows of y = 50 + 3 sin(2 pi t / 12) + N(0, 1) noise (Box-Muller on a fixed LCG). */
static const char *gaussian_csv(const char *dir)
{
    const char *path = tsft_path(dir, "g1500.csv");
    char *buf = malloc(1500 * 24 + 8);
    cr_assert_not_null(buf);
    size_t len = (size_t)sprintf(buf, "y\n");
    unsigned long long lcg = 99;
    for (int r = 0; r < 1500; r++) {
        double u[2];
        for (int k = 0; k < 2; k++) {
            lcg = lcg * 6364136223846793005ULL + 1442695040888963407ULL;
            u[k] = ((double)(lcg >> 11) + 0.5) / 9007199254740992.0;
        }
        double z = sqrt(-2 * log(u[0])) * cos(2 * M_PI * u[1]);
        len += (size_t)sprintf(buf + len, "%.6f\n", 50 + 3 * sin(2 * M_PI * r / 12) + z);
    }
    tsft_write_file(path, buf, len);
    free(buf);
    return path;
}

/* The pooled coverage the backtest prints for the lstm. */
static double lstm_coverage(const char *log)
{
    const char *p = strstr(log, "backtest:   lstm ");
    cr_assert_not_null(p, "%s", log);
    p = strstr(p, "coverage ");
    cr_assert_not_null(p, "%s", log);
    return strtod(p + 9, NULL);
}

/* The lstm's pooled 80% coverage in `tsflow backtest DATA ARGS --quantiles 0.1,0.5,0.9
 * --calibrate HOW` (args: options separated by spaces) calibrated (cov[0]; its log in *log)
 * and with --calibrate none (cov[1]). */
static void coverage_with_and_without_calibration(const char *dir, const char *data,
                                                  const char *args, double cov[2], char **log)
{
    const char *how[2] = {"conformal", "none"};
    for (int k = 0; k < 2; k++) {
        const char *argv[64] = {tsft_tsflow_bin(), "backtest", data};
        size_t n = 3;
        char *copy = tsft_keep(strdup(args)), *save = NULL;
        for (char *a = strtok_r(copy, " ", &save); a && n < 56; a = strtok_r(NULL, " ", &save))
            argv[n++] = a;
        const char *tail[] = {"--quantiles", "0.1,0.5,0.9",          "--calibrate", how[k],
                              "--out",       tsft_path(dir, "b.h5"), NULL};
        memcpy(argv + n, tail, sizeof tail);
        char *out, *err;
        int rc = tsft_run((char *const *)argv, &out, &err);
        cr_assert_eq(rc, 0, "%s", err);
        cov[k] = lstm_coverage(err);
        if (k == 0)
            *log = err;
    }
}

/* A network trained one epoch has not learnt the spread of its quantiles: its 80% interval
 * covers far less (the series is not deseasonalised, so the network has the season to learn).
 * Calibrated on the held-out tail's calibration slice (103 windows a step), the interval is judged
 * on 447 origins (450 distinct target rows). Tolerance: the calibration's own sampling (sd
 * sqrt(2 x 0.1 x 0.9 / 103) = 0.042 per step, less pooled over the 4 steps), the judged rows'
 * binomial sd sqrt(0.16 / 450) = 0.019, and the ranks' outward rounding (<= 2 / 104 = 0.02):
 * 0.8 +- 0.13 is three standard deviations and the rounding. The uncalibrated interval must lie
 * outside that band, so the test cannot pass without calibration doing the work. */
Test(defaults, a_backtests_80_percent_intervals_cover_about_80_percent_after_calibration)
{
    const char *dir = tsft_tmpdir(), *data = gaussian_csv(dir);
    const char *args = "--horizon 4 --season 12 --lookback 12 --epochs 1 --hidden 8 --retrain "
                       "never --stride 1 --test-fraction 0.3 --deseason none";
    double cov[2];
    char *err;
    coverage_with_and_without_calibration(dir, data, args, cov, &err);
    ASSERT_HAS(err, "; conformal, per step on 103 residuals: level 0.1 shifted by ");
    cr_assert(fabs(cov[0] - 0.8) <= 0.13, "calibrated coverage %g, expected 0.8 +- 0.13", cov[0]);
    cr_assert(fabs(cov[1] - 0.8) > 0.13, "uncalibrated coverage %g is already within 0.8 +- 0.13",
              cov[1]);
}

/* With calibration the tail has two slices: the early-stopping windows, then as many
 * calibration windows whose residuals set the intervals, so the windows that chose the epoch
 * count do not also judge the spread. 1050 fit rows, lookback 12, horizon 4: 1035 windows; the
 * last 103 calibrate, the 103 before them stop early, the 3 before those are dropped so that
 * no training target reaches the tail: 826 train the probe network, 26 batches of 32 an epoch,
 * so 39 epochs make about 1000 updates (without the calibration slice: 929, 30, 34). */
Test(defaults, calibration_uses_a_slice_of_the_tail_that_early_stopping_did_not_see)
{
    const char *dir = tsft_tmpdir(), *data = gaussian_csv(dir);
    char *out, *err;
    int rc = tsft_tsflow(&out, &err, "backtest", data, "--horizon", "4", "--season", "12",
                         "--lookback", "12", "--quantiles", "0.1,0.5,0.9", "--hidden", "8",
                         "--retrain", "never", "--stride", "1", "--test-fraction", "0.3",
                         "--deseason", "none", "--out", tsft_path(dir, "b.h5"), NULL);
    cr_assert_eq(rc, 0, "%s", err);
    ASSERT_HAS(err, "backtest: lstm, fit at fold 0: batch 32, epochs 39 (~1000 updates), early "
                    "stopping after 10 epochs without progress on 103 validation windows; best "
                    "epoch ");
    ASSERT_HAS(err, ", refit on all 1035 windows; conformal, per step on 103 residuals"
                    ": level 0.1 shifted by ");
    ASSERT_HAS(err, " (103 calibration-slice windows x 4 steps after the early-stopping "
                    "windows)\n");
}

/* Fewer calibration windows than the rank rule needs for 0.1 and 0.9 (9): no slice is taken
 * from the training windows; the early-stopping windows calibrate, every step a residual,
 * pooled over the steps, the shifts only widening (fewer residuals a step than the rank needs:
 * tsflow/calibrate.h). Origins 39 and 51: fold 1 fits rows [0, 51), 28 windows; the last 2 stop
 * early (2 x 12 = 24 residuals), the 11 before them are dropped, 15 train the probe network as
 * without quantiles; fold 0 has 1 early-stopping window, 12 residuals. */
Test(defaults, a_refit_with_few_windows_calibrates_on_the_steps_of_its_early_stopping_windows)
{
    const char *dir, *data = monthly_csv(&dir);
    char *out, *err;
    int rc = tsft_tsflow(&out, &err, "backtest", data, "--horizon", "12", "--season", "12",
                         "--train-length", "39", "--quantiles", "0.1,0.5,0.9", "--out",
                         tsft_path(dir, "b.h5"), NULL);
    cr_assert_eq(rc, 0, "%s", err);
    ASSERT_HAS(err, "backtest: lstm, fit at fold 1: hidden 8 (sqrt rule on 15 windows), batch 15, "
                    "epochs 300 (~1000 updates), early stopping after 30 epochs without progress "
                    "on 2 validation windows; best epoch ");
    ASSERT_HAS(err, ", refit on all 28 windows; deseason additive (season 12, auto); conformal, "
                    "pooled over the steps, widening only, on 24 residuals: level 0.1 "
                    "shifted by ");
    ASSERT_HAS(err, " (2 early-stopping windows x 12 steps: too few windows for a separate "
                    "calibration slice)\n");
    ASSERT_HAS(err, "conformal, pooled over the steps, widening only, on 12 residuals: "
                    "level 0.1 shifted by ");
    ASSERT_HAS(err, " (1 early-stopping window x 12 steps: too few windows for a separate "
                    "calibration slice)\n");
}

/* Fewer residuals than the rank rule needs even pooled over the steps: the network's own
 * quantiles are kept, and the log says why. Horizon 4, origins 36 and 40: 2 early-stopping
 * windows x 4 steps. */
Test(defaults, a_refit_with_fewer_residuals_than_the_rank_rule_needs_says_so)
{
    const char *dir, *data = monthly_csv(&dir);
    char *out, *err;
    int rc = tsft_tsflow(&out, &err, "backtest", data, "--horizon", "4", "--season", "12",
                         "--train-length", "36", "--quantiles", "0.1,0.5,0.9", "--out",
                         tsft_path(dir, "b.h5"), NULL);
    cr_assert_eq(rc, 0, "%s", err);
    ASSERT_HAS(err, "backtest: lstm, fit at fold 0: hidden 8 (sqrt rule on 16 windows), batch 16, "
                    "epochs 300 (~1000 updates), early stopping after 30 epochs without progress "
                    "on 2 validation windows; best epoch ");
    ASSERT_HAS(err, ", refit on all 21 windows; deseason none (no significant autocorrelation at "
                    "the season's lag); not calibrated (2 validation windows x 4 steps = 8 "
                    "residuals, fewer than the 9 the rank rule needs)\n");
}

/* A fit with fewer early-stopping windows than the rank rule needs (8 of 85 windows: 108 fit
 * rows, lookback 12, horizon 12), whose network, trained one epoch, has not learnt the spread of
 * its quantiles: its own 80% interval covers almost nothing, so keeping it for want of windows
 * fails. Calibrated on the 8 windows' 96 residuals pooled over the steps, it is judged on the 1381
 * origins from row 108 (stride 1, no retraining; iid N(0, 1) noise around a season). Tolerance: the
 * 96 residuals are 19 distinct target rows (consecutive windows share 11), so each end's level has
 * sd about sqrt(0.1 x 0.9 / 19) = 0.069 and the interval about 0.097; the judged rows' binomial sd
 * is sqrt(0.16 / 1392) = 0.011 and the ranks round outwards by at most 2 / 97: 0.8 +- 0.2 is two
 * standard deviations and the rounding. The uncalibrated interval lies far outside it. */
Test(defaults, a_fit_with_few_windows_covers_about_80_percent_after_calibration)
{
    const char *dir = tsft_tmpdir(), *data = gaussian_csv(dir);
    const char *args = "--horizon 12 --season 12 --lookback 12 --epochs 1 --hidden 8 --retrain "
                       "never --stride 1 --train-length 108 --deseason none";
    double cov[2];
    char *err;
    coverage_with_and_without_calibration(dir, data, args, cov, &err);
    ASSERT_HAS(err, ", refit on all 85 windows; conformal, pooled over the steps, "
                    "widening only, on 96 residuals: level 0.1 shifted by ");
    cr_assert(fabs(cov[0] - 0.8) <= 0.2, "calibrated coverage %g, expected 0.8 +- 0.2", cov[0]);
    cr_assert(fabs(cov[1] - 0.8) > 0.2, "uncalibrated coverage %g is already within 0.8 +- 0.2",
              cov[1]);
}

/* A fit too short to hold out a tail (36 fit rows, lookback 12, horizon 12: 13 windows, and
 * holding out one would leave a single window to train on) has only its training windows, on
 * which the pinball-trained quantiles fit: uncalibrated, its 80% interval covers about half of
 * the 1453 origins judged from row 36 (stride 1, no retraining; iid N(0, 1) noise around a
 * season, adjusted away). The fallback scores the network's interval shape centred on the naive
 * forecast of each training window (the series is adjusted) and only widens. Reference: the
 * naive's errors on the adjusted series are N(0, 2), so a median without error would get
 * +-1.28 sqrt(2) and cover P(|Z| < 1.81) = 0.93; a median erring as much as the naive, 0.8. The
 * network lies between, so its coverage must too, with the judged rows' binomial sd (0.011) and
 * the 24 distinct target rows behind the shifts (sd about 0.06 per end) as slack:
 * [0.72, 0.97]. */
Test(defaults, a_fit_too_short_for_a_held_out_tail_calibrates_on_a_naive_benchmark)
{
    const char *dir = tsft_tmpdir(), *data = gaussian_csv(dir);
    const char *args = "--horizon 12 --season 12 --lookback 12 --hidden 8 --retrain never --stride "
                       "1 --train-length 36 --deseason additive";
    double cov[2];
    char *err;
    coverage_with_and_without_calibration(dir, data, args, cov, &err);
    ASSERT_HAS(err, "; conformal, pooled over the steps, widening only, on 156 residuals: "
                    "level 0.1 shifted by -");
    ASSERT_HAS(err, " (13 training windows x 12 steps: no held-out tail, so the network's "
                    "intervals centred on the naive forecasts of its training windows)\n");
    cr_assert(cov[0] >= 0.72 && cov[0] <= 0.97, "calibrated coverage %g, expected 0.72 to 0.97",
              cov[0]);
    cr_assert(cov[1] < 0.6, "uncalibrated coverage %g: the fallback has nothing to show", cov[1]);
}

Test(defaults, predict_repeats_what_tsflow_forecast_forecast_with_an_ensemble_bit_for_bit)
{
    const char *dir, *data = monthly_csv(&dir);
    char *out, *err;
    int rc = tsft_tsflow(&out, &err, "forecast", data, "--horizon", "12", "--epochs", "20",
                         "--quantiles", "0.1,0.5,0.9", "--ensemble", "3", "--save-model",
                         tsft_path(dir, "m.h5"), "--csv", tsft_path(dir, "a.csv"), "--out",
                         tsft_path(dir, "f.h5"), NULL);
    cr_assert_eq(rc, 0, "%s", err);
    ASSERT_HAS(err, "model: lstm: an ensemble of 3 networks (seeds 1 to 3)");
    /* 1 validation window of 12 steps: 12 residuals pooled */
    ASSERT_HAS(err,
               "model: lstm: conformal, pooled over the steps, widening only, on 12 residuals");
    char ini[4096];
    snprintf(ini, sizeof ini,
             "[data]\nstage = ingest.csv\npath = %s\n"
             "[model]\nstage = model.load\npath = %s\n"
             "[fc]\nstage = predict\ninputs = model, data\n"
             "[csv]\nstage = export.csv\ninputs = fc, data\npath = %s\n",
             data, tsft_path(dir, "m.h5"), tsft_path(dir, "b.csv"));
    const char *p = tsft_path(dir, "p.ini");
    tsft_write_file(p, ini, strlen(ini));
    rc = tsft_tsflow(&out, &err, "run", p, NULL);
    cr_assert_eq(rc, 0, "%s", err);
    ASSERT_HAS(err, "parameters x 3 ensemble members, conformally calibrated");
    size_t na, nb;
    char *a = tsft_read_file(tsft_path(dir, "a.csv"), &na);
    char *b = tsft_read_file(tsft_path(dir, "b.csv"), &nb);
    cr_assert(a && b && na > 100);
    cr_assert(na == nb && !memcmp(a, b, na), "forecast and predict differ:\n%s\n---\n%s", a, b);
    free(a);
    free(b);
    /* the export records the ensemble and the calibration */
    tsft_need_python_modules("h5py");
    char *py;
    rc = tsft_python("import h5py, sys\n"
                     "a = h5py.File(sys.argv[1], 'r').attrs\n"
                     "print(a['ensemble_members'], a['calibration_per_step'],\n"
                     "      a['calibration_widen_only'],\n"
                     "      len(a['calibration_shift']), list(a['calibration_levels']))\n",
                     &py, &err, tsft_path(dir, "f.h5"), NULL);
    cr_assert_eq(rc, 0, "%s", err);
    ASSERT_HAS(py, "3 0 1 36 [0.1, 0.5, 0.9]");
}

/* 96 month starts from 2010-01 of a multiplicative season on a trend, deterministic noise:
 * (100 + 1.5 t) (1 + 0.3 sin(2 pi t / 12)) (1 + 0.03 noise), from row `skip` on. */
static const char *seasonal_csv(const char *dir, const char *name, int skip)
{
    const char *path = tsft_path(dir, name);
    char buf[96 * 40 + 16];
    size_t len = (size_t)sprintf(buf, "date,y\n");
    unsigned long long lcg = 11;
    for (int r = 0; r < 96; r++) {
        lcg = lcg * 6364136223846793005ULL + 1442695040888963407ULL;
        double noise = (double)(lcg >> 40) / (double)(1ULL << 24) - 0.5;
        double y = (100 + 1.5 * r) * (1 + 0.3 * sin(2 * M_PI * r / 12)) * (1 + 0.03 * noise);
        if (r >= skip)
            len += (size_t)sprintf(buf + len, "%04d-%02d-01,%.6f\n", 2010 + r / 12, r % 12 + 1, y);
    }
    tsft_write_file(path, buf, len);
    return path;
}

/* predict with a loaded model into b.csv, on data; returns the CSV */
static char *predict_csv(const char *dir, const char *data, const char *model, size_t *n)
{
    char ini[4096], *out, *err;
    snprintf(ini, sizeof ini,
             "[data]\nstage = ingest.csv\npath = %s\n"
             "[model]\nstage = model.load\npath = %s\n"
             "[fc]\nstage = predict\ninputs = model, data\n"
             "[csv]\nstage = export.csv\ninput = fc\npath = %s\n",
             data, model, tsft_path(dir, "b.csv"));
    const char *p = tsft_path(dir, "p.ini");
    tsft_write_file(p, ini, strlen(ini));
    int rc = tsft_tsflow(&out, &err, "run", p, NULL);
    cr_assert_eq(rc, 0, "%s", err);
    return tsft_read_file(tsft_path(dir, "b.csv"), n);
}

/* The column "lstm" of the rows of an export.csv table, into v (n). */
static void lstm_column(const char *csv, double *v, size_t n)
{
    const char *h = strstr(csv, "lstm");
    const char *line = strchr(csv, '\n');
    cr_assert(h && line && h < line, "no lstm column in:\n%s", csv);
    size_t col = 0;
    for (const char *c = csv; c < h; c++)
        col += *c == ',';
    for (size_t i = 0; i < n; i++) {
        cr_assert(line && line[1], "fewer than %zu rows in:\n%s", n, csv);
        const char *c = line + 1;
        for (size_t k = 0; k < col; k++)
            c = strchr(c, ',') + 1;
        v[i] = strtod(c, NULL);
        line = strchr(line + 1, '\n');
    }
}

Test(defaults, a_trained_model_forecasts_the_seasonally_adjusted_series_as_refits_do)
{
    const char *dir = tsft_tmpdir(), *data = seasonal_csv(dir, "s96.csv", 0);
    char *out, *err;
    int rc = tsft_tsflow(&out, &err, "forecast", data, "--horizon", "12", "--epochs", "30",
                         "--save-model", tsft_path(dir, "m.h5"), "--csv", tsft_path(dir, "a.csv"),
                         "--out", tsft_path(dir, "f.h5"), NULL);
    cr_assert_eq(rc, 0, "%s", err);
    /* the per-series choice, logged as refits log it */
    ASSERT_HAS(err, "model: lstm: deseason multiplicative (season 12, auto)\n");
    ASSERT_LACKS(err, "adjusts backtest refits only");
    /* the season is back on the forecasts: April 2018 (sin = 1) above January and October
     * (sin = 0, -1) by about the seasonal factors 1.3 : 1 : 0.7 */
    size_t na, nb;
    char *a = tsft_read_file(tsft_path(dir, "a.csv"), &na);
    cr_assert(a);
    double v[12];
    lstm_column(a, v, 12);
    cr_assert(v[3] / v[0] > 1.15 && v[9] / v[0] < 0.85, "Jan %g, Apr %g, Oct %g", v[0], v[3], v[9]);
    /* model.load + predict: the same values to the bit (the CSV prints them exactly) */
    char *b = predict_csv(dir, data, tsft_path(dir, "m.h5"), &nb);
    double w[12];
    lstm_column(b, w, 12);
    for (int i = 0; i < 12; i++)
        cr_assert(v[i] == w[i], "step %d: forecast %.17g, predict %.17g", i + 1, v[i], w[i]);
    free(b);
    /* the same data without its first 7 months: the phase comes from the times, not from the
     * rows, so the forecasts (from the same last lookback rows) are the same */
    b = predict_csv(dir, seasonal_csv(dir, "s89.csv", 7), tsft_path(dir, "m.h5"), &nb);
    lstm_column(b, w, 12);
    for (int i = 0; i < 12; i++)
        cr_assert(v[i] == w[i], "step %d: %.17g from all rows, %.17g without the first 7", i + 1,
                  v[i], w[i]);
    free(a);
    free(b);
    /* the model file keeps the indices: h5py reads the multiplicative kind and 12 indices
     * averaging 1 */
    tsft_need_python_modules("h5py,numpy");
    char *py;
    rc = tsft_python("import h5py, sys, numpy as np\n"
                     "v = h5py.File(sys.argv[1], 'r')['meta/deseason'][()]\n"
                     "G, O, M = int(v[0]), int(v[1]), int(v[2])\n"
                     "print(G, O, M, int(v[3 + G]), round(float(np.mean(v[3 + G + 2:])), 6))\n",
                     &py, &err, tsft_path(dir, "m.h5"), NULL);
    cr_assert_eq(rc, 0, "%s", err);
    ASSERT_HAS(py, "1 1 12 3 1.0\n");
    /* a model file without /meta/deseason (as files from before it) loads as none: predict
     * runs and forecasts the network's output as it is, without the season */
    rc = tsft_python("import h5py, shutil, sys\n"
                     "shutil.copy(sys.argv[1], sys.argv[2])\n"
                     "with h5py.File(sys.argv[2], 'r+') as f:\n"
                     "    del f['meta/deseason']\n",
                     &py, &err, tsft_path(dir, "m.h5"), tsft_path(dir, "old.h5"), NULL);
    cr_assert_eq(rc, 0, "%s", err);
    b = predict_csv(dir, data, tsft_path(dir, "old.h5"), &nb);
    lstm_column(b, w, 12);
    free(b);
    cr_assert(w[3] / w[0] < 1.1 && w[9] / w[0] > 0.9, "Jan %g, Apr %g, Oct %g", w[0], w[3], w[9]);
}

Test(defaults, deseason_none_trains_on_the_data_as_it_is)
{
    const char *dir = tsft_tmpdir(), *data = seasonal_csv(dir, "s96.csv", 0);
    char *out, *err;
    int rc = tsft_tsflow(&out, &err, "forecast", data, "--horizon", "12", "--epochs", "5",
                         "--deseason", "none", "--save-model", tsft_path(dir, "m.h5"), "--out",
                         tsft_path(dir, "f.h5"), NULL);
    cr_assert_eq(rc, 0, "%s", err);
    ASSERT_LACKS(err, "deseason");
    tsft_need_python_modules("h5py");
    char *py;
    rc = tsft_python("import h5py, sys\n"
                     "print('meta/deseason' in h5py.File(sys.argv[1], 'r'))\n",
                     &py, &err, tsft_path(dir, "m.h5"), NULL);
    cr_assert_eq(rc, 0, "%s", err);
    ASSERT_HAS(py, "False");
}

/* Without timestamps the series has no frequency: train.rnn's season gives the trained model its
 * season (as --season gives refits theirs), the phase then counts rows of the index, and
 * model.load + predict repeats tsflow forecast. */
Test(defaults, train_rnn_season_adjusts_a_series_without_timestamps)
{
    const char *dir, *data = monthly_csv(&dir);
    char *out, *err;
    int rc = tsft_tsflow(&out, &err, "forecast", data, "--horizon", "12", "--epochs", "10",
                         "--save-model", tsft_path(dir, "m.h5"), "--csv", tsft_path(dir, "a.csv"),
                         "--out", tsft_path(dir, "f.h5"), NULL);
    cr_assert_eq(rc, 0, "%s", err);
    ASSERT_HAS(err, "model: lstm: deseason none (no season)\n");
    rc = tsft_tsflow(&out, &err, "forecast", data, "--horizon", "12", "--epochs", "10", "--set",
                     "model.season=12", "--save-model", tsft_path(dir, "m.h5"), "--csv",
                     tsft_path(dir, "a.csv"), "--out", tsft_path(dir, "f.h5"), NULL);
    cr_assert_eq(rc, 0, "%s", err);
    ASSERT_HAS(err, "model: lstm: deseason ");
    ASSERT_HAS(err, " (season 12, auto)\n");
    /* the flag, as tsflow backtest has it: the season of the model's adjustment and of the
     * windows' default lookback */
    rc = tsft_tsflow(&out, &err, "forecast", data, "--horizon", "12", "--epochs", "10", "--season",
                     "12", "--out", tsft_path(dir, "g.h5"), NULL);
    cr_assert_eq(rc, 0, "%s", err);
    ASSERT_HAS(err, " (season 12, auto)\n");
    rc = tsft_tsflow(&out, &err, "forecast", data, "--horizon", "12", "--season", "12", "--out",
                     tsft_path(dir, "g.h5"), "--print-pipeline", NULL);
    cr_assert_eq(rc, 0, "%s", err);
    ASSERT_HAS(out, "[train]\nstage = window\n");
    const char *model = strstr(out, "stage = train.rnn");
    cr_assert(model && strstr(model, "season = 12") && strstr(out, "season = 12") < model, "%s",
              out);
    size_t na, nb;
    char *a = tsft_read_file(tsft_path(dir, "a.csv"), &na);
    char *b = predict_csv(dir, data, tsft_path(dir, "m.h5"), &nb);
    double v[12], w[12];
    lstm_column(a, v, 12);
    lstm_column(b, w, 12);
    for (int i = 0; i < 12; i++)
        cr_assert(v[i] == w[i], "step %d: forecast %.17g, predict %.17g", i + 1, v[i], w[i]);
    free(a);
    free(b);
}
