/* The preparation and evaluation stages through `tsflow run` / `tsflow check`: split, impute,
 * normalize, window, baseline, metrics; their logs, hand-computed scores, check-time errors
 * naming the key, and the ETT anchor of examples/ett_repeat.ini (suite data). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

#define ASSERT_HAS(text, sub)                                                                      \
    cr_assert(strstr((text), (sub)), "missing \"%s\" in:\n%s", (sub), (text))

/* A CSV of n hourly rows from 2016-07-01: y = r (NaN where r is listed in gaps), z = 2 r. */
static const char *work_dir; /* this test's directory: the data and the pipeline file */

static const char *line_csv(size_t n, const int *gaps, size_t n_gaps)
{
    work_dir = tsft_tmpdir();
    const char *path = tsft_path(work_dir, "line.csv");
    size_t cap = 64 * (n + 1);
    char *buf = malloc(cap);
    cr_assert(buf);
    size_t len = (size_t)snprintf(buf, cap, "time,y,z\n");
    for (size_t r = 0; r < n; r++) {
        int gap = 0;
        for (size_t k = 0; k < n_gaps; k++)
            gap |= gaps[k] == (int)r;
        len += (size_t)snprintf(buf + len, cap - len, "2016-07-%02zu %02zu:00:00,", 1 + r / 24,
                                r % 24);
        if (!gap)
            len += (size_t)snprintf(buf + len, cap - len, "%zu", r);
        len += (size_t)snprintf(buf + len, cap - len, ",%zu\n", 2 * r);
    }
    tsft_write_file(path, buf, len);
    free(buf);
    return path;
}

/* Write a pipeline file next to the data and run `tsflow CMD` on it. */
static int run_pipeline(const char *cmd, const char *text, char **out, char **err)
{
    const char *ini = tsft_path(work_dir, "p.ini");
    tsft_write_file(ini, text, (size_t)-1);
    return tsft_tsflow(out, err, cmd, ini, NULL);
}

Test(prep_stages, naive_and_drift_score_hand_computed_errors_on_a_line)
{
    line_csv(40, NULL, 0);
    char *out, *err;
    int rc = run_pipeline("run",
                          "[data]\nstage = ingest.csv\npath = line.csv\n"
                          "[win]\nstage = window\nlookback = 3\nhorizon = 2\ntargets = y\n"
                          "[naive]\nstage = baseline\n"
                          "[score]\nstage = metrics\nby = all, step\n"
                          "[drift]\nstage = baseline\ninput = win\nmethod = drift\n"
                          "[score2]\nstage = metrics\ninput = drift\n",
                          &out, &err);
    cr_assert_eq(rc, 0, "%s", err);
    /* 36 windows; naive misses a rising line by 1 and 2: MAE 1.5, MSE 2.5; drift is exact */
    ASSERT_HAS(err, "win: 36 windows (36 samples) of 1 input x 3 steps -> 1 output x 2 steps");
    ASSERT_HAS(err, "score: naive (original scale, 72 points): mae 1.50000 mse 2.50000 rmse "
                    "1.58114");
    ASSERT_HAS(err, "score2: drift (original scale, 72 points): mae 0.00000 mse 0.00000");
}

Test(prep_stages, impute_fills_gaps_and_reports_the_counts)
{
    const int gaps[] = {5, 6, 30};
    line_csv(40, gaps, 3);
    char *out, *err;
    int rc = run_pipeline("run",
                          "[data]\nstage = ingest.csv\npath = line.csv\n"
                          "[fill]\nstage = impute\nmethod = linear\n"
                          "[win]\nstage = window\nlookback = 4\nhorizon = 1\ntargets = y\n"
                          "[drift]\nstage = baseline\nmethod = drift\n"
                          "[score]\nstage = metrics\n",
                          &out, &err);
    cr_assert_eq(rc, 0, "%s", err);
    ASSERT_HAS(err, "fill: linear: filled 3 of 3 missing values (y 3/3)");
    /* linear fills restore the line exactly: drift is still exact */
    ASSERT_HAS(err, "score: drift (original scale, 36 points): mae 0.00000");
}

Test(prep_stages, impute_refuse_fails_naming_the_rows)
{
    const int gaps[] = {5};
    line_csv(20, gaps, 1);
    char *out, *err;
    int rc = run_pipeline("run",
                          "[data]\nstage = ingest.csv\npath = line.csv\n"
                          "[fill]\nstage = impute\n",
                          &out, &err);
    cr_assert_eq(rc, 1, "%s", err);
    ASSERT_HAS(err, "column \"y\" of the series has 1 missing value (impute method: refuse): row 5 "
                    "(2016-07-01 05:00:00)");
}

Test(prep_stages, windows_refuse_nan_inputs_without_impute)
{
    const int gaps[] = {7};
    line_csv(20, gaps, 1);
    char *out, *err;
    int rc = run_pipeline("run",
                          "[data]\nstage = ingest.csv\npath = line.csv\n"
                          "[win]\nstage = window\nlookback = 3\nhorizon = 1\n",
                          &out, &err);
    cr_assert_eq(rc, 1, "%s", err);
    ASSERT_HAS(err, "windows: column \"y\" of the series is NaN at row 7 (2016-07-01 07:00:00), "
                    "inside the target of the window with origin row 7");
}

Test(prep_stages, split_normalize_and_window_follow_the_train_part)
{
    line_csv(100, NULL, 0);
    char *out, *err;
    /* train rows [0, 70): y has mean 34.5 and population std sqrt((70^2 - 1) / 12) */
    int rc = run_pipeline("run",
                          "[data]\nstage = ingest.csv\npath = line.csv\n"
                          "[split]\nstage = split\nfractions = 0.7, 0.1, 0.2\n"
                          "[norm]\nstage = normalize\ninputs = data, split\ncolumns = y\n"
                          "[test]\nstage = window\ninputs = norm, split\npart = test\n"
                          "lookback = 5\nhorizon = 3\ntargets = y\n"
                          "[naive]\nstage = baseline\ninputs = test, norm.scaler\n"
                          "[score]\nstage = metrics\ninputs = naive, norm.scaler\nby = all\n",
                          &out, &err);
    cr_assert_eq(rc, 0, "%s", err);
    ASSERT_HAS(err, "split: train rows [0, 70), validation [70, 80), test [80, 100)");
    ASSERT_HAS(err, "norm: zscore fitted on rows [0, 70) (center/scale): y 34.5/20.2052");
    ASSERT_HAS(err, "test: 18 windows (18 samples)");
    /* errors 1, 2, 3 in original units; divided by the std on the normalized scale */
    char want[128];
    double sd = sqrt((70.0 * 70.0 - 1) / 12);
    snprintf(want, sizeof want, "naive (normalized scale, 54 points): mae %.5f mse %.5f", 2 / sd,
             (14.0 / 3) / (sd * sd));
    ASSERT_HAS(err, want);
    ASSERT_HAS(err, "naive (original scale, 54 points): mae 2.00000 mse 4.66667");
}

Test(prep_stages, check_names_the_key_of_inconsistent_options)
{
    line_csv(30, NULL, 0);
    char *out, *err;
    int rc = run_pipeline("check",
                          "[data]\nstage = ingest.csv\npath = line.csv\n"
                          "[norm]\nstage = normalize\n"
                          "[win]\nstage = window\ninput = data\npart = test\nlookback = 3\n"
                          "horizon = 2\n"
                          "[long]\nstage = window\ninput = data\nlookback = 25\nhorizon = 6\n"
                          "[split]\nstage = split\ninput = data\nby = rows\nrows = 10, 20, 40\n",
                          &out, &err);
    cr_assert_eq(rc, 2, "%s", err);
    ASSERT_HAS(err, "p.ini:5: step \"norm\", key \"fit\": fit = train needs a split as second "
                    "input (inputs = data, split), or set fit = all");
    ASSERT_HAS(err, "p.ini:9: step \"win\", key \"part\": part = test needs a split as second "
                    "input (inputs = data, split)");
    ASSERT_HAS(err, "step \"long\", key \"lookback\": lookback 25 + horizon 6 is longer than the "
                    "30 rows of the shortest series (expected lookback + horizon <= 30)");
    ASSERT_HAS(err, "step \"split\", key \"rows\": the test part ends at row 40, but the "
                    "shortest series has 30 rows");
}

Test(prep_stages_data, ett_repeat_example_prints_the_published_anchor)
{
    TSFT_NEED_SHARED(path, "ett/ETTh1.csv");
    (void)path;
    char *out, *err;
    const char *root = getenv("TSF_SOURCE_ROOT");
    cr_assert(root);
    /* the example reads ../../shared/datasets relative to examples/: the shared folder beside
     * the source tree, as TSF_SHARED_DATASETS says */
    int rc = tsft_tsflow(&out, &err, "run", tsft_path(root, "examples/ett_repeat.ini"), NULL);
    cr_assert_eq(rc, 0, "%s", err);
    ASSERT_HAS(err, "test: 2785 windows (2785 samples) of 7 inputs x 96 steps -> 7 outputs x 96 "
                    "steps, part test");
    ASSERT_HAS(err, "score: repeat (normalized scale, 1871520 points): mae 0.71318 mse 1.29437");
}
