/* The model stages through `tsflow run` / `tsflow check` / `tsflow forecast`: train.rnn,
 * predict, model.save, model.load, export.history. An LSTM beats the naive forecaster on
 * held-out windows of a noisy sine; repeated runs, save/load and resume give bit-identical
 * results; the exploding-gradient example stops with the epoch, batch and window and trains
 * once clipped; the gradient-flow example shows the tanh RNN's gradient vanishing faster than
 * the LSTM's; bad options are refused by check with their line; tsflow forecast on the shipped
 * CO2 series writes an HDF5 file pandas reads. Sizes are tiny: these run in the sanitizer
 * build too. */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "support.h"

#define ASSERT_HAS(text, sub)                                                                      \
    cr_assert(strstr((text), (sub)), "missing \"%s\" in:\n%s", (sub), (text))

static const char *dir; /* this test's directory: data, pipelines, outputs */

/* A noisy sine of n hourly rows (period 24, noise sd 0.1) as sine.csv in a fresh directory.
 * The noise comes from a fixed linear congruential generator and Box-Muller. */
static void sine_csv(size_t n)
{
    dir = tsft_tmpdir();
    size_t cap = 64 * (n + 1);
    char *buf = malloc(cap);
    cr_assert(buf);
    size_t len = (size_t)snprintf(buf, cap, "time,y\n");
    unsigned long long s = 12345;
    for (size_t r = 0; r < n; r++) {
        double u[2];
        for (int k = 0; k < 2; k++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            u[k] = ((double)(s >> 11) + 0.5) / 9007199254740992.0;
        }
        double noise = sqrt(-2 * log(u[0])) * cos(2 * M_PI * u[1]);
        len += (size_t)snprintf(buf + len, cap - len, "2020-01-%02zu %02zu:00:00,%.6f\n",
                                1 + r / 24, r % 24, sin(2 * M_PI * (double)r / 24) + 0.1 * noise);
    }
    tsft_write_file(tsft_path(dir, "sine.csv"), buf, len);
    free(buf);
}

/* Write a pipeline file `name` into the test's directory and run `tsflow CMD FILE ARGS...`. */
static int run_file(const char *cmd, const char *name, const char *text, char **out, char **err,
                    const char *a1, const char *a2, const char *a3, const char *a4)
{
    const char *ini = tsft_path(dir, name);
    tsft_write_file(ini, text, (size_t)-1);
    return tsft_tsflow(out, err, cmd, ini, a1, a2, a3, a4, NULL);
}

/* The data preparation shared by the sine pipelines: 336 training, 48 validation and 96 test
 * rows (600 rows of which the last 120 are test), z-score fitted on the training rows,
 * windows of 48 hours forecasting 12. */
#define SINE_PREP                                                                                  \
    "[data]\nstage = ingest.csv\npath = sine.csv\n"                                                \
    "[split]\nstage = split\nfractions = 0.7, 0.1, 0.2\n"                                          \
    "[norm]\nstage = normalize\ninputs = data, split\n"                                            \
    "[train]\nstage = window\ninputs = norm, split\npart = train\nlookback = 48\nhorizon = 12\n"   \
    "[val]\nstage = window\ninputs = norm, split\npart = validation\nlookback = 48\n"              \
    "horizon = 12\n"                                                                               \
    "[test]\nstage = window\ninputs = norm, split\npart = test\nlookback = 48\nhorizon = 12\n"

#define SINE_MODEL                                                                                 \
    "[model]\nstage = train.rnn\ninputs = train, val, norm.scaler\ncell = lstm\nhidden = 16\n"     \
    "epochs = 8\nlr = 0.01\n"

Test(model_stages, lstm_beats_the_naive_forecaster_on_held_out_sine_windows)
{
    sine_csv(600);
    char *out, *err;
    int rc = run_file("run", "p.ini",
                      SINE_PREP SINE_MODEL
                      "[fc]\nstage = predict\ninputs = model, test\n"
                      "[score]\nstage = metrics\ninput = fc\nby = all\n"
                      "[naive]\nstage = baseline\ninputs = test, norm.scaler\n"
                      "[score_naive]\nstage = metrics\ninputs = naive, norm.scaler\nby = all\n",
                      &out, &err, NULL, NULL, NULL, NULL);
    cr_assert_eq(rc, 0, "%s", err);
    ASSERT_HAS(err, "model: lstm: lstm, 1 layer x 16 hidden, direct head, 1420 parameters; 361 "
                    "training windows, 49 validation windows");
    ASSERT_HAS(err, "fc: lstm: 109 forecasts of 12 steps x 1 target (original scale)");
    double lstm = tsft_logged_mse(err, "score", "lstm"),
           naive = tsft_logged_mse(err, "score_naive", "naive");
    /* The last value misses a sine badly over 12 hours (MSE about 1); the LSTM must get close
     * to the noise floor (0.01). */
    cr_assert(lstm < 0.1 * naive && lstm < 0.05, "LSTM MSE %g, naive MSE %g", lstm, naive);
}

/* Run the sine pipeline with forecasts of the test windows and of the future exported as CSV
 * (17 significant digits: equal files mean equal doubles). */
static void sine_forecasts(const char *tag, const char *extra_steps, const char *model_steps)
{
    char text[4096];
    snprintf(text, sizeof text,
             SINE_PREP "%s"
                       "[fc]\nstage = predict\ninputs = model, test\n"
                       "[future]\nstage = predict\ninputs = model, data\n"
                       "[fc_csv]\nstage = export.csv\ninput = fc\npath = fc_%s.csv\n"
                       "[future_csv]\nstage = export.csv\ninput = future\npath = future_%s.csv\n"
                       "%s",
             model_steps, tag, tag, extra_steps);
    char name[64], *out, *err;
    snprintf(name, sizeof name, "%s.ini", tag);
    int rc = run_file("run", name, text, &out, &err, NULL, NULL, NULL, NULL);
    cr_assert_eq(rc, 0, "%s", err);
}

static void assert_same_file(const char *a, const char *b)
{
    size_t na, nb;
    char *x = tsft_read_file(tsft_path(dir, a), &na), *y = tsft_read_file(tsft_path(dir, b), &nb);
    cr_assert(x && y, "%s or %s missing", a, b);
    cr_assert(na > 100, "%s is too small: %s", a, x);
    cr_assert(na == nb && memcmp(x, y, na) == 0, "%s and %s differ:\n%s\n---\n%s", a, b, x, y);
    free(x);
    free(y);
}

Test(model_stages, two_runs_give_bit_identical_forecasts)
{
    sine_csv(600);
    sine_forecasts("a", "", SINE_MODEL "seed = 3\n");
    sine_forecasts("b", "", SINE_MODEL "seed = 3\n");
    assert_same_file("fc_a.csv", "fc_b.csv");
    assert_same_file("future_a.csv", "future_b.csv");
    /* and another seed gives other forecasts */
    sine_forecasts("c", "", SINE_MODEL "seed = 4\n");
    size_t na, nc;
    char *a = tsft_read_file(tsft_path(dir, "fc_a.csv"), &na);
    char *c = tsft_read_file(tsft_path(dir, "fc_c.csv"), &nc);
    cr_assert(na != nc || memcmp(a, c, na) != 0, "seed 3 and seed 4 gave the same forecasts");
    free(a);
    free(c);
}

Test(model_stages, a_saved_model_forecasts_the_same_after_model_load)
{
    sine_csv(600);
    sine_forecasts("a", "[save]\nstage = model.save\ninput = model\npath = model.h5\n",
                   SINE_MODEL "save = checkpoint.h5\n");
    /* the saved model and the final checkpoint, each loaded in a new run */
    sine_forecasts("b", "", "[model]\nstage = model.load\npath = model.h5\n");
    sine_forecasts("c", "", "[model]\nstage = model.load\npath = checkpoint.h5\n");
    assert_same_file("fc_a.csv", "fc_b.csv");
    assert_same_file("future_a.csv", "future_b.csv");
    assert_same_file("fc_a.csv", "fc_c.csv");
    assert_same_file("future_a.csv", "future_c.csv");
    /* the future forecasts: 12 hourly rows after the last one (2020-01-25 23:00), in the
     * data's units (a sine: within [-1.5, 1.5]) */
    char *text = tsft_read_file(tsft_path(dir, "future_a.csv"), NULL);
    ASSERT_HAS(text, "2020-01-26 00:00:00");
    ASSERT_HAS(text, "2020-01-26 11:00:00");
    free(text);
}

/* Whether two files of the test's directory differ. */
static int files_differ(const char *a, const char *b)
{
    size_t na, nb;
    char *x = tsft_read_file(tsft_path(dir, a), &na), *y = tsft_read_file(tsft_path(dir, b), &nb);
    cr_assert(x && y, "%s or %s missing", a, b);
    int d = na != nb || memcmp(x, y, na) != 0;
    free(x);
    free(y);
    return d;
}

#define ENSEMBLE_MODEL SINE_MODEL "seed = 3\nquantiles = 0.1, 0.5, 0.9\nensemble = 3\n"

Test(model_stages, an_ensemble_is_saved_whole_and_reloads_to_the_same_bits_on_any_thread_count)
{
    sine_csv(600);
    char *out, *err;
    /* trained, calibrated on the validation windows and saved: all three networks */
    int rc = run_file("run", "e.ini",
                      SINE_PREP ENSEMBLE_MODEL
                      "[fc]\nstage = predict\ninputs = model, test\n"
                      "[future]\nstage = predict\ninputs = model, data\n"
                      "[fc_csv]\nstage = export.csv\ninput = fc\npath = fc_a.csv\n"
                      "[future_csv]\nstage = export.csv\ninput = future\npath = future_a.csv\n"
                      "[save]\nstage = model.save\ninput = model\npath = ens.h5\n",
                      &out, &err, NULL, NULL, NULL, NULL);
    cr_assert_eq(rc, 0, "%s", err);
    ASSERT_HAS(err, "model: lstm: an ensemble of 3 networks (seeds 3 to 5), on their own threads");
    ASSERT_HAS(err, "model: lstm: conformal, ");
    /* the same run with two BLAS threads */
    setenv("OPENBLAS_NUM_THREADS", "2", 1);
    sine_forecasts("t2", "", ENSEMBLE_MODEL);
    setenv("OPENBLAS_NUM_THREADS", "1", 1);
    assert_same_file("fc_a.csv", "fc_t2.csv");
    assert_same_file("future_a.csv", "future_t2.csv");
    /* the saved ensemble, loaded in a new run */
    sine_forecasts("b", "", "[model]\nstage = model.load\npath = ens.h5\n");
    assert_same_file("fc_a.csv", "fc_b.csv");
    assert_same_file("future_a.csv", "future_b.csv");
    /* not one network: seed 3 alone forecasts otherwise; and the calibration is at work */
    sine_forecasts("one", "", SINE_MODEL "seed = 3\nquantiles = 0.1, 0.5, 0.9\n");
    cr_assert(files_differ("fc_a.csv", "fc_one.csv"), "the ensemble forecasts as seed 3 alone");
    sine_forecasts("raw", "", ENSEMBLE_MODEL "calibrate = none\n");
    cr_assert(files_differ("fc_a.csv", "fc_raw.csv"), "calibration changed no quantile");
}

Test(model_stages, predict_refuses_a_model_saved_untrained)
{
    sine_csv(200);
    char *out, *err;
    int rc = run_file("run", "recipe.ini",
                      SINE_PREP SINE_MODEL
                      "fit = false\n"
                      "[save]\nstage = model.save\ninput = model\npath = recipe.h5\n",
                      &out, &err, NULL, NULL, NULL, NULL);
    cr_assert_eq(rc, 0, "%s", err);
    rc = run_file("run", "use.ini",
                  "[data]\nstage = ingest.csv\npath = sine.csv\n"
                  "[model]\nstage = model.load\npath = recipe.h5\n"
                  "[future]\nstage = predict\ninputs = model, data\n",
                  &out, &err, NULL, NULL, NULL, NULL);
    cr_assert_eq(rc, 1, "%s", err);
    ASSERT_HAS(err, "model: lstm: lstm, 1 layer x 16 hidden, direct head, 1420 parameters, "
                    "untrained");
    ASSERT_HAS(err, "step \"future\" (predict): model \"lstm\" was never trained (train.rnn fit = "
                    "false saves only the recipe a backtest refits at every fold): predict needs "
                    "trained weights (expected a model trained with fit = true, e.g. by tsflow "
                    "forecast --save-model)");
}

Test(model_stages, a_per_series_channel_independent_model_with_covariates_reloads_exactly)
{
    /* two series of different levels in a long file, each with a past covariate; scaled per
     * series; calendar features; channel-independent samples; quantiles; instance norm mean */
    dir = tsft_tmpdir();
    char *buf = malloc(200 * 600 + 64);
    size_t len = (size_t)sprintf(buf, "id,time,y,z,temp\n");
    for (int s = 0; s < 2; s++)
        for (int r = 0; r < 240; r++) {
            double a = s ? 3.0 : 1.0, ph = 2 * M_PI * r / 24;
            len += (size_t)sprintf(buf + len, "%c,2021-01-%02d %02d:00:00,%.6f,%.6f,%.6f\n",
                                   s ? 'B' : 'A', 1 + r / 24, r % 24, 10 * a + a * sin(ph),
                                   a * cos(ph), sin(0.37 * r + s));
        }
    tsft_write_file(tsft_path(dir, "multi.csv"), buf, len);
    free(buf);
#define MULTI_DATA                                                                                 \
    "[data]\nstage = ingest.csv\npath = multi.csv\nid_column = id\ntime_column = time\n"
#define MULTI_WINDOW(name, part)                                                                   \
    "[" name "]\nstage = window\ninputs = norm, split\npart = " part "\nlookback = 24\n"           \
    "horizon = 6\ntargets = y, z\npast = temp\ncalendar = hour, weekday\n"                         \
    "channel_independent = true\n"
    char *out, *err;
    int rc = run_file(
        "run", "train.ini",
        MULTI_DATA
        "[split]\nstage = split\n"
        "[norm]\nstage = normalize\ninputs = data, split\nper_series = "
        "true\n" MULTI_WINDOW("train", "train") MULTI_WINDOW(
            "val", "validation") "[model]\nstage = train.rnn\ninputs = train, val, "
                                 "norm.scaler\ncell = gru\nhidden = 4\nepochs = 2\n"
                                 "quantiles = 0.1, 0.5, 0.9\ninstance_norm = mean\n"
                                 "[save]\nstage = model.save\ninput = model\npath = m.h5\n"
                                 "[future]\nstage = predict\ninputs = model, data\n"
                                 "[csv]\nstage = export.csv\ninput = future\npath = a.csv\n",
        &out, &err, NULL, NULL, NULL, NULL);
    cr_assert_eq(rc, 0, "%s", err);
    ASSERT_HAS(err, "future: gru: 2 forecasts of 6 steps x 2 targets (original scale)");
    rc = run_file("run", "load.ini",
                  MULTI_DATA "[m]\nstage = model.load\npath = m.h5\n"
                             "[future]\nstage = predict\ninputs = m, data\n"
                             "[csv]\nstage = export.csv\ninput = future\npath = b.csv\n",
                  &out, &err, NULL, NULL, NULL, NULL);
    cr_assert_eq(rc, 0, "%s", err);
    assert_same_file("a.csv", "b.csv");
    /* mapped back per series: B's forecasts of y lie near its level (30), A's near 10 */
    char *csv = tsft_read_file(tsft_path(dir, "a.csv"), NULL);
    ASSERT_HAS(csv, "A,2021-01-11 00:00:00,1,y,2021-01-11 00:00:00,2021-01-10 23:00:00,0,,");
    ASSERT_HAS(csv, "B,2021-01-11 00:00:00,6,z,2021-01-11 05:00:00,2021-01-10 23:00:00,0,,");
    int n_y = 0;
    for (char *line = strtok(csv, "\n"); line; line = strtok(NULL, "\n")) {
        char series, target[8];
        double v;
        if (sscanf(line, "%c,%*[^,],%*d,%7[^,],%*[^,],%*[^,],%*d,,%lf", &series, target, &v) != 3 ||
            strcmp(target, "y"))
            continue;
        double level = series == 'B' ? 30 : 10;
        cr_assert(fabs(v - level) < 0.5 * level / 3 + 1, "series %c: y forecast %g, level %g",
                  series, v, level);
        n_y++;
    }
    cr_assert_eq(n_y, 12, "expected 2 series x 6 steps of y");
    free(csv);
#undef MULTI_DATA
#undef MULTI_WINDOW
}

/* Whether two model files hold the same weights, bit for bit (h5py). */
static void assert_same_weights(const char *a, const char *b)
{
    char *out, *err;
    int rc = tsft_python("import sys, h5py, numpy as np\n"
                         "a, b = h5py.File(sys.argv[1], 'r'), h5py.File(sys.argv[2], 'r')\n"
                         "names = sorted(a['model/weights'])\n"
                         "assert names == sorted(b['model/weights']), 'tensor names differ'\n"
                         "for n in names:\n"
                         "    x, y = a['model/weights'][n][()], b['model/weights'][n][()]\n"
                         "    assert x.tobytes() == y.tobytes(), n + ' differs'\n"
                         "print(len(names), 'tensors identical')\n",
                         &out, &err, tsft_path(dir, a), tsft_path(dir, b), NULL);
    cr_assert_eq(rc, 0, "%s%s", out, err);
    ASSERT_HAS(out, "tensors identical");
}

Test(model_stages, training_resumed_from_a_checkpoint_ends_bit_identical)
{
    tsft_need_python_modules("h5py, numpy");
    sine_csv(600);
    char *out, *err;
    const char *model = "[model]\nstage = train.rnn\ninputs = train, val, norm.scaler\n"
                        "cell = gru\nhidden = 8\nlr = 0.01\nseed = 5\ndropout = 0.2\n"
                        "layers = 2\n";
    char text[4096];
    /* uninterrupted: 4 epochs */
    snprintf(text, sizeof text, SINE_PREP "%sepochs = 4\nsave = full.h5\n", model);
    int rc = run_file("run", "full.ini", text, &out, &err, NULL, NULL, NULL, NULL);
    cr_assert_eq(rc, 0, "%s", err);
    /* 2 epochs, then 2 more from the checkpoint */
    snprintf(text, sizeof text, SINE_PREP "%sepochs = 2\nsave = half.h5\n", model);
    rc = run_file("run", "half.ini", text, &out, &err, NULL, NULL, NULL, NULL);
    cr_assert_eq(rc, 0, "%s", err);
    snprintf(text, sizeof text, SINE_PREP "%sepochs = 4\nresume = half.h5\nsave = resumed.h5\n",
             model);
    rc = run_file("run", "resume.ini", text, &out, &err, NULL, NULL, NULL, NULL);
    cr_assert_eq(rc, 0, "%s", err);
    ASSERT_HAS(err, "model: gru: 4 epochs in");
    assert_same_weights("full.h5", "resumed.h5");
}

Test(model_stages, ctrl_c_during_training_writes_a_checkpoint_that_resumes_bit_identical)
{
    tsft_need_python_modules("h5py, numpy");
    dir = tsft_tmpdir();
    const char *ini = tsft_source("examples/exploding_gradients.ini");
    char ck[512], ck_done[512], ck_full[512], hist[512];
    snprintf(ck, sizeof ck, "model.save=%s", tsft_path(dir, "cancelled.h5"));
    snprintf(ck_done, sizeof ck_done, "model.save=%s", tsft_path(dir, "resumed.h5"));
    snprintf(ck_full, sizeof ck_full, "model.save=%s", tsft_path(dir, "full.h5"));
    snprintf(hist, sizeof hist, "history.path=%s", tsft_path(dir, "h.h5"));
    /* A run of 6 epochs (a checkpoint after each), interrupted once the first is on disk. */
    char *args[] = {(char *)tsft_tsflow_bin(),
                    "run",
                    (char *)ini,
                    "--set",
                    "model.epochs=6",
                    "--set",
                    ck,
                    "--set",
                    hist,
                    NULL};
    const char *log = tsft_path(dir, "cancel.log");
    tsft_child child = {.out_path = log, .err_path = log};
    pid_t pid = tsft_spawn(args, &child);
    int status = 0, done = 0;
    for (int i = 0; i < 60000 && !done; i++) { /* up to 10 minutes (sanitizers are slow) */
        if (access(tsft_path(dir, "cancelled.h5"), R_OK) == 0)
            break;
        done = waitpid(pid, &status, WNOHANG) == pid;
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
    cr_assert(!done, "tsflow ended before its first checkpoint:\n%s", tsft_read_file(log, NULL));
    kill(pid, SIGINT);
    int st = tsft_wait(pid, 0, NULL, NULL);
    char *text = tsft_keep(tsft_read_file(log, NULL));
    cr_assert_eq(st, 130, "expected exit 130 (interrupted), got status %d:\n%s", st, text);
    ASSERT_HAS(text, "checkpoint written to ");
    ASSERT_HAS(text, "resume from it to continue");
    cr_assert(tsft_read_file(tsft_path(dir, "h.h5"), NULL) == NULL, "no history after Ctrl-C");
    /* resumed to the end, it equals an uninterrupted run */
    char resume[512], *out, *err;
    snprintf(resume, sizeof resume, "model.resume=%s", tsft_path(dir, "cancelled.h5"));
    int rc = tsft_tsflow(&out, &err, "run", "-q", ini, "--set", "model.epochs=6", "--set", resume,
                         "--set", ck_done, "--set", hist, NULL);
    cr_assert_eq(rc, 0, "%s", err);
    rc = tsft_tsflow(&out, &err, "run", "-q", ini, "--set", "model.epochs=6", "--set", ck_full,
                     "--set", hist, NULL);
    cr_assert_eq(rc, 0, "%s", err);
    assert_same_weights("resumed.h5", "full.h5");
}

Test(model_stages, the_exploding_gradient_example_stops_naming_epoch_batch_and_window)
{
    dir = tsft_tmpdir();
    const char *ini = tsft_source("examples/exploding_gradients.ini");
    char hist[512], *out, *err;
    snprintf(hist, sizeof hist, "history.path=%s", tsft_path(dir, "unclipped.h5"));
    int rc = tsft_tsflow(&out, &err, "run", "-q", ini, "--set", "model.gradient_clip_val=0",
                         "--set", "model.epochs=2", "--set", hist, NULL);
    cr_assert_eq(rc, 1, "expected exit 1:\n%s", err);
    ASSERT_HAS(err, "tsflow: step \"model\" (train.rnn): epoch 1, batch ");
    ASSERT_HAS(err, "(first offending sample: the series, window forecasting from row ");
    ASSERT_HAS(err, "): training diverged; lower the learning rate or clip the gradients "
                    "(gradient_clip_val)");
    cr_assert(strstr(err, "the loss is") || strstr(err, "the gradient norm is"), "%s", err);
    cr_assert(tsft_read_file(tsft_path(dir, "unclipped.h5"), NULL) == NULL,
              "a failed run must leave no output");
}

Test(model_stages, the_exploding_gradient_example_trains_with_clipping)
{
    tsft_need_python_modules("pandas, tables");
    dir = tsft_tmpdir();
    const char *ini = tsft_source("examples/exploding_gradients.ini");
    const char *h5 = tsft_path(dir, "clipped.h5");
    char hist[512], *out, *err;
    snprintf(hist, sizeof hist, "history.path=%s", h5);
    /* the first 2 of the example's 20 epochs (the same updates: the schedule is constant) */
    int rc = tsft_tsflow(&out, &err, "run", ini, "--set", "model.epochs=2", "--set", hist, NULL);
    cr_assert_eq(rc, 0, "%s", err);
    rc = tsft_python("import sys, math, pandas as pd\n"
                     "e = pd.read_hdf(sys.argv[1], 'clipped/epochs')\n"
                     "s = pd.read_hdf(sys.argv[1], 'clipped/steps')\n"
                     "assert len(e) == 2 and len(s) == e.n_steps.sum(), (e, s)\n"
                     "assert s.clipped.sum() == e.n_clipped.sum() >= 1, e\n"
                     "# clipped exactly where the pre-clip norm exceeds 1\n"
                     "assert ((s.grad_norm > 1) == (s.clipped == 1)).all()\n"
                     "# gradients that would have blown the weights away, yet a finite loss\n"
                     "assert s.grad_norm.max() > 1e3, s.grad_norm.max()\n"
                     "assert math.isfinite(e.train_loss.iloc[-1]) and e.train_loss.iloc[-1] < 1\n"
                     "print('ok', s.grad_norm.max(), e.train_loss.iloc[-1])\n",
                     &out, &err, h5, NULL);
    cr_assert_eq(rc, 0, "%s%s", out, err);
}

Test(model_stages, the_gradient_flow_example_shows_the_tanh_gradient_vanishing_faster)
{
    tsft_need_python_modules("pandas, tables, xarray, h5netcdf");
    dir = tsft_tmpdir();
    const char *h5 = tsft_path(dir, "flow.h5");
    char hist[512], *out, *err;
    snprintf(hist, sizeof hist, "history.path=%s", h5);
    int rc = tsft_tsflow(&out, &err, "run", "-q", tsft_source("examples/gradient_flow.ini"),
                         "--set", hist, NULL);
    cr_assert_eq(rc, 0, "%s", err);
    /* grad_flow[epoch, t] = mean ||dLoss/dh_t||: the share of the gradient reaching the oldest
     * input (t = 0) relative to the newest (t = 127), averaged over the epochs */
    rc = tsft_python("import sys, xarray as xr, pandas as pd\n"
                     "r = {}\n"
                     "for k in ('rnn_tanh', 'lstm'):\n"
                     "    g = xr.open_dataset(sys.argv[1], engine='h5netcdf', group=k).grad_flow\n"
                     "    assert g.dims == ('epoch', 't') and g.shape == (5, 128), g\n"
                     "    m = g.mean('epoch')\n"
                     "    r[k] = float(m.isel(t=0) / m.isel(t=-1))\n"
                     "    assert len(pd.read_hdf(sys.argv[1], k + '/epochs')) == 5\n"
                     "print(r)\n"
                     "assert r['rnn_tanh'] < 1e-3, r\n"
                     "assert r['lstm'] > 100 * r['rnn_tanh'], r\n",
                     &out, &err, h5, NULL);
    cr_assert_eq(rc, 0, "%s%s", out, err);
}

Test(model_stages, every_cell_head_loss_optimizer_and_schedule_trains_and_forecasts)
{
    sine_csv(300);
    char *out, *err;
    /* one epoch (three with early stopping) each of many configurations, all through predict and
     * metrics */
    static const char *const configs[] = {
        "cell = rnn\nhead = recursive\nloss = mae\noptimizer = sgd\nmomentum = 0.9\nnesterov = "
        "true\nlr = 0.01\nepochs = 1",
        "cell = rnn_relu\nbptt_steps = 8\nloss = huber\nhuber_delta = 0.5\nschedule = step\n"
        "step_size = 1\ngamma = 0.5\nepochs = 1",
        "cell = gru\nlayers = 2\ndropout = 0.1\noptimizer = adamw\nschedule = cosine\nwarmup = "
        "0.5\nepochs = 1",
        "cell = lstm\nbidirectional = true\nquantiles = 0.1, 0.5, 0.9\nschedule = plateau\n"
        "factor = 0.5\nplateau_patience = 0\nepochs = 1",
        "cell = lstm\ninstance_norm = mean\ngradient_clip_val = 0.5\ngradient_clip_algorithm = "
        "value\npatience = 1\nmin_delta = 10\nepochs = 3",
        "cell = gru\nhead = recursive\ninstance_norm = last\nbatch_size = 7\nshuffle = "
        "false\nepochs = 1",
    };
    for (size_t k = 0; k < sizeof configs / sizeof *configs; k++) {
        char text[4096];
        snprintf(text, sizeof text,
                 SINE_PREP "[model]\nstage = train.rnn\ninputs = train, val, norm.scaler\n"
                           "hidden = 4\nname = m%zu\n%s\n"
                           "[fc]\nstage = predict\ninputs = model, test\n"
                           "[score]\nstage = metrics\ninput = fc\nby = all\n",
                 k, configs[k]);
        int rc = run_file("run", "many.ini", text, &out, &err, NULL, NULL, NULL, NULL);
        cr_assert_eq(rc, 0, "configuration %zu:\n%s\n%s", k, configs[k], err);
        char name[16];
        snprintf(name, sizeof name, "m%zu", k);
        double mse = tsft_logged_mse(err, "score", name);
        cr_assert(isfinite(mse) && mse < 10, "configuration %zu: MSE %g", k, mse);
    }
    /* the quantile model's forecasts carry one column per level; early stopping shows */
    int rc = run_file("run", "q.ini",
                      SINE_PREP "[model]\nstage = train.rnn\ninputs = train, val, norm.scaler\n"
                                "hidden = 4\nepochs = 3\nquantiles = 0.1, 0.5, 0.9\npatience = 1\n"
                                "min_delta = 10\n"
                                "[fc]\nstage = predict\ninputs = model, test\n"
                                "[csv]\nstage = export.csv\ninput = fc\npath = q.csv\n",
                      &out, &err, NULL, NULL, NULL, NULL);
    cr_assert_eq(rc, 0, "%s", err);
    ASSERT_HAS(err, "model: lstm: 2 epochs (stopped early)");
    ASSERT_HAS(err, "best weights restored");
    char *csv = tsft_read_file(tsft_path(dir, "q.csv"), NULL);
    ASSERT_HAS(csv, ",lstm,lstm_q0.1,lstm_q0.5,lstm_q0.9");
    free(csv);
}

/* `tsflow check` on a pipeline: exit 2 and the message (with its line). Returns stderr. */
static char *assert_check_fails(const char *text, const char *want)
{
    char *out, *err;
    int rc = run_file("check", "bad.ini", text, &out, &err, NULL, NULL, NULL, NULL);
    cr_assert_eq(rc, 2, "expected exit 2 for:\n%s\n%s%s", text, out, err);
    char full[1024];
    snprintf(full, sizeof full, "%s/bad.ini:%s", dir, want);
    ASSERT_HAS(err, full);
    return err;
}

/* SINE_PREP is 27 lines: [model] is on line 28, its options from line 31 on. */
#define MODEL_HEAD "[model]\nstage = train.rnn\ninputs = train, val, norm.scaler\n"

Test(model_stages, check_refuses_bad_training_options_naming_the_line)
{
    sine_csv(100);
    assert_check_fails(SINE_PREP MODEL_HEAD "momentum = 0.9\n",
                       "31: step \"model\", key \"momentum\": momentum is only used with "
                       "optimizer = sgd");
    assert_check_fails(SINE_PREP MODEL_HEAD "optimizer = sgd\nbeta2 = 0.9\n",
                       "32: step \"model\", key \"beta2\": beta2 is only used with optimizer = "
                       "adam or adamw");
    assert_check_fails(SINE_PREP MODEL_HEAD "quantiles = 0.5, 0.1\n",
                       "31: step \"model\", key \"quantiles\": ");
    assert_check_fails(SINE_PREP MODEL_HEAD "loss = pinball\n",
                       "31: step \"model\", key \"loss\": loss = pinball needs quantiles (e.g. "
                       "quantiles = 0.1, 0.5, 0.9)");
    assert_check_fails(SINE_PREP MODEL_HEAD "dropout = 0.2\n",
                       "31: step \"model\", key \"dropout\": dropout acts between stacked layers: "
                       "it needs layers >= 2 (layers is 1)");
    assert_check_fails(SINE_PREP MODEL_HEAD "head = recursive\nbidirectional = true\n",
                       "32: step \"model\", key \"bidirectional\": a recursive head cannot follow "
                       "a bidirectional encoder");
    assert_check_fails(SINE_PREP MODEL_HEAD "warmup = 2\n",
                       "31: step \"model\", key \"warmup\": warmup is only used with schedule = "
                       "cosine");
    assert_check_fails(SINE_PREP MODEL_HEAD "dropout = 1\n",
                       "31: step \"model\", key \"dropout\": ");
    assert_check_fails(SINE_PREP MODEL_HEAD "cell = lstn\n", "31: step \"model\", key \"cell\": ");
    assert_check_fails(SINE_PREP MODEL_HEAD "optimizer = sgd\nnesterov = true\n",
                       "32: step \"model\", key \"nesterov\": ");
    /* validation windows of another lookback */
    assert_check_fails("[data]\nstage = ingest.csv\npath = sine.csv\n"
                       "[a]\nstage = window\nlookback = 8\nhorizon = 2\n"
                       "[b]\nstage = window\ninput = data\nlookback = 9\nhorizon = 2\n"
                       "[model]\nstage = train.rnn\ninputs = a, b\n",
                       "15: step \"model\", key \"inputs\": the validation windows have lookback "
                       "9, the training windows 8 (expected windows cut alike)");
}

Test(model_stages, check_refuses_predict_inputs_that_do_not_fit_the_model)
{
    sine_csv(100);
    assert_check_fails("[data]\nstage = ingest.csv\npath = sine.csv\n"
                       "[a]\nstage = window\nlookback = 8\nhorizon = 2\n"
                       "[model]\nstage = train.rnn\ninput = a\n"
                       "[b]\nstage = window\ninput = data\nlookback = 8\nhorizon = 3\n"
                       "[fc]\nstage = predict\ninputs = model, b\n",
                       "18: step \"fc\", key \"inputs\": the windows have horizon 3, the model 2 "
                       "(expected windows cut like the training windows)");
    assert_check_fails("[data]\nstage = ingest.csv\npath = sine.csv\n"
                       "[norm]\nstage = normalize\nfit = all\n"
                       "[a]\nstage = window\ninput = norm\nlookback = 8\nhorizon = 2\n"
                       "[model]\nstage = train.rnn\ninput = a\n"
                       "[fc]\nstage = predict\ninputs = model, data, norm.scaler\n",
                       "17: step \"fc\", key \"inputs\": a scaler input only applies to "
                       "windows: a frame is scaled with the model's own scaler");
}

Test(model_stages, model_load_refuses_other_files_and_format_versions)
{
    tsft_need_python_modules("h5py");
    sine_csv(200);
    char *out, *err;
    /* a plain HDF5 file that is not a model */
    int rc = tsft_python("import sys, h5py\nh5py.File(sys.argv[1], 'w')['x'] = [1.0]\n", &out, &err,
                         tsft_path(dir, "other.h5"), NULL);
    cr_assert_eq(rc, 0, "%s", err);
    err = assert_check_fails("[model]\nstage = model.load\npath = other.h5\n",
                             "3: step \"model\", key \"path\": ");
    ASSERT_HAS(err, "other.h5: not a tsflow model file");
    /* a model of another format version */
    rc = run_file("run", "save.ini",
                  "[data]\nstage = ingest.csv\npath = sine.csv\n"
                  "[w]\nstage = window\nlookback = 8\nhorizon = 2\n"
                  "[model]\nstage = train.rnn\nhidden = 2\nepochs = 1\n"
                  "[save]\nstage = model.save\npath = model.h5\n",
                  &out, &err, NULL, NULL, NULL, NULL);
    cr_assert_eq(rc, 0, "%s", err);
    rc = tsft_python("import sys, h5py\n"
                     "h5py.File(sys.argv[1], 'r+').attrs['tsflow_format_version'] = 99\n",
                     &out, &err, tsft_path(dir, "model.h5"), NULL);
    cr_assert_eq(rc, 0, "%s", err);
    rc = run_file("check", "load.ini", "[model]\nstage = model.load\npath = model.h5\n", &out, &err,
                  NULL, NULL, NULL, NULL);
    cr_assert_eq(rc, 2, "%s", err);
    ASSERT_HAS(err, "load.ini:3: step \"model\", key \"path\": ");
    ASSERT_HAS(err, "model.h5: model file format version 99 is not supported: this tsflow");
}

Test(model_stages, forecast_command_fills_the_co2_gaps_and_writes_hdf5_for_pandas)
{
    tsft_need_python_modules("pandas, tables");
    dir = tsft_tmpdir();
    const char *data = tsft_source("datasets/mauna_loa_co2/co2_weekly.csv");
    const char *h5 = tsft_path(dir, "co2.h5"), *csv = tsft_path(dir, "co2.csv");
    char *out, *err;
    int rc = tsft_tsflow(&out, &err, "forecast", data, "--target", "co2", "--horizon", "13",
                         "--lookback", "26", "--epochs", "2", "--hidden", "8", "--quantiles",
                         "0.1,0.5,0.9", "--out", h5, "--csv", csv, NULL);
    cr_assert_eq(rc, 0, "%s", err);
    ASSERT_HAS(err, "filled: linear: filled 59 of 59 missing values (co2 59/59)");
    ASSERT_HAS(err, "forecast: lstm: 1 forecast of 13 steps x 1 target (original scale)");
    /* 13 weeks after the last row (2001-12-29), in ppm, quantiles ordered */
    rc = tsft_python("import sys, pandas as pd\n"
                     "d = pd.read_hdf(sys.argv[1], 'forecasts').reset_index()\n"
                     "assert len(d) == 13, d\n"
                     "assert str(d.timestamp.iloc[0].date()) == '2002-01-05', d.timestamp\n"
                     "assert str(d.timestamp.iloc[-1].date()) == '2002-03-30', d.timestamp\n"
                     "assert d.lstm.between(340, 400).all(), d.lstm\n"
                     "assert (d.lstm == d['lstm_q0.5']).all()\n"
                     "h = pd.read_hdf(sys.argv[1], 'history/epochs')\n"
                     "assert len(h) == 2, h\n"
                     "print('ok', d.lstm.mean())\n",
                     &out, &err, h5, NULL);
    cr_assert_eq(rc, 0, "%s%s", out, err);

    /* the printed pipeline, run as a file, gives the same forecasts */
    rc = tsft_tsflow(&out, &err, "forecast", data, "--target", "co2", "--horizon", "13",
                     "--lookback", "26", "--epochs", "2", "--hidden", "8", "--quantiles",
                     "0.1,0.5,0.9", "--out", tsft_path(dir, "again.h5"), "--csv",
                     tsft_path(dir, "again.csv"), "--print-pipeline", NULL);
    cr_assert_eq(rc, 0, "%s", err);
    ASSERT_HAS(out, "[model]\nstage = train.rnn\ninputs = train, val, norm.scaler\ncell = lstm\n");
    const char *ini = tsft_path(dir, "forecast.ini");
    tsft_write_file(ini, out, (size_t)-1);
    rc = tsft_tsflow(&out, &err, "run", "-q", ini, NULL);
    cr_assert_eq(rc, 0, "%s", err);
    assert_same_file("co2.csv", "again.csv");
}

Test(model_stages, forecast_command_says_what_to_do_about_missing_values_and_bad_flags)
{
    dir = tsft_tmpdir();
    const char *data = tsft_source("datasets/mauna_loa_co2/co2_weekly.csv");
    const char *h5 = tsft_path(dir, "co2.h5");
    char *out, *err;
    int rc = tsft_tsflow(&out, &err, "forecast", data, "--target", "co2", "--horizon", "13",
                         "--impute", "refuse", "--epochs", "1", "--out", h5, NULL);
    cr_assert_eq(rc, 1, "%s", err);
    ASSERT_HAS(err, "column \"co2\" of the series has 59 missing values (impute method: refuse)");
    cr_assert(tsft_read_file(h5, NULL) == NULL, "no output after a failure");
    rc = tsft_tsflow(&out, &err, "forecast", data, "--target", "co2", "--out", h5, NULL);
    cr_assert_eq(rc, 2, "%s", err);
    ASSERT_HAS(err, "forecast: --horizon N is required");
    rc = tsft_tsflow(&out, &err, "forecast", data, "--horizon", "13", NULL);
    cr_assert_eq(rc, 2, "%s", err);
    ASSERT_HAS(err, "forecast: --out FILE.h5 is required");
    rc = tsft_tsflow(&out, &err, "forecast", data, "--horizon", "13", "--out", h5, "--model",
                     "none", NULL);
    cr_assert_eq(rc, 2, "%s", err);
    ASSERT_HAS(err, "--model none leaves nothing to forecast with");
    /* a bad option value is a check error on the generated pipeline (exit 2) */
    rc = tsft_tsflow(&out, &err, "forecast", data, "--target", "co2", "--horizon", "13", "--out",
                     h5, "--model", "lstn", NULL);
    cr_assert_eq(rc, 2, "%s", err);
    ASSERT_HAS(err, "step \"model\", key \"cell\"");
    ASSERT_HAS(err, "line numbers refer to the pipeline that 'tsflow forecast ... "
                    "--print-pipeline' prints");
}
