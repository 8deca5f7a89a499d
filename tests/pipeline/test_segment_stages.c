/* Segment-wise networks (train.rnn segment = W) through `tsflow run` / `tsflow check`: both
 * decoders, RevIN and the other instance norms, dropout, clipping, quantiles, channel
 * independence, checkpoints and resume, model files, backtests, and the check's errors. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

#define ASSERT_HAS(text, sub)                                                                      \
    cr_assert(strstr((text), (sub)), "missing \"%s\" in:\n%s", (sub), (text))

static const char *dir;

/* Two hourly channels over n rows: y a daily sine with a slow drift, z a cosine of twice the
 * amplitude, each with noise of sd 0.05 from a fixed linear congruential generator. */
static void waves_csv(size_t n)
{
    dir = tsft_tmpdir();
    char *buf = malloc(96 * (n + 1));
    size_t len = (size_t)sprintf(buf, "time,y,z\n");
    unsigned long long s = 4242;
    for (size_t r = 0; r < n; r++) {
        double e[2];
        for (int k = 0; k < 2; k++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            e[k] = ((double)(s >> 11) / 9007199254740992.0 - 0.5) * 0.17;
        }
        double ph = 2 * M_PI * (double)r / 24;
        len += (size_t)sprintf(buf + len, "2020-01-%02zu %02zu:00:00,%.6f,%.6f\n", 1 + r / 24,
                               r % 24, sin(ph) + 0.002 * (double)r + e[0], 2 * cos(ph) + e[1]);
    }
    tsft_write_file(tsft_path(dir, "waves.csv"), buf, len);
    free(buf);
}

static int run_file(const char *cmd, const char *name, const char *text, char **out, char **err)
{
    const char *ini = tsft_path(dir, name);
    tsft_write_file(ini, text, (size_t)-1);
    return tsft_tsflow(out, err, cmd, ini, NULL);
}

/* 600 rows: 70% train, 10% validation, 20% test; z-score on train; windows of 48 -> 24. */
#define PREP(extra)                                                                                \
    "[data]\nstage = ingest.csv\npath = waves.csv\n"                                               \
    "[split]\nstage = split\nfractions = 0.7, 0.1, 0.2\n"                                          \
    "[norm]\nstage = normalize\ninputs = data, split\n"                                            \
    "[train]\nstage = window\ninputs = norm, split\npart = train\nlookback = 48\nhorizon = "       \
    "24\n" extra "[val]\nstage = window\ninputs = norm, split\npart = validation\nlookback = 48\n" \
    "horizon = 24\n" extra                                                                         \
    "[test]\nstage = window\ninputs = norm, split\npart = test\nlookback = 48\n"                   \
    "horizon = 24\n" extra

#define SCORE                                                                                      \
    "[fc]\nstage = predict\ninputs = model, test\n"                                                \
    "[score]\nstage = metrics\ninput = fc\nby = all\n"                                             \
    "[naive]\nstage = baseline\ninputs = test, norm.scaler\n"                                      \
    "[score_naive]\nstage = metrics\ninputs = naive, norm.scaler\nby = all\n"

Test(segment_stages, the_parallel_decoder_with_revin_learns_two_channels_far_better_than_naive)
{
    waves_csv(600);
    char *out, *err;
    int rc = run_file("run", "pmf.ini",
                      PREP("") "[model]\nstage = train.rnn\ninputs = train, val, norm.scaler\n"
                               "cell = gru\nhidden = 16\nsegment = 12\ninstance_norm = revin\n"
                               "dropout = 0.1\ngradient_clip_val = 1\nepochs = 15\nlr = 0.01\n"
                               "batch_size = 16\nname = seg\n" SCORE,
                      &out, &err);
    cr_assert_eq(rc, 0, "%s", err);
    ASSERT_HAS(err, "model: seg: gru, 1 layer x 16 hidden, segments of 12, parallel (pmf) "
                    "decoder, RevIN, ");
    ASSERT_HAS(err, "fc: seg: ");
    double seg = tsft_logged_mse(err, "score", "seg"),
           naive = tsft_logged_mse(err, "score_naive", "naive");
    /* the last value misses a daily wave over a day (MSE about 1.5); the noise floor is 0.002 */
    cr_assert(seg < 0.1 * naive && seg < 0.1, "segment GRU MSE %g, naive %g", seg, naive);
}

/* Channel independence (each channel its own sample), the recurrent decoder, instance_norm
 * last, quantiles: trained, checkpointed after 3 of 6 epochs, resumed to the same weights and
 * forecasts as an uninterrupted run; the saved model forecasts the same after model.load.
 * calibrate = none: a checkpoint holds the network as training left it, before calibration. */
Test(segment_stages, the_recurrent_decoder_resumes_bit_identical_and_reloads_with_its_forecasts)
{
    tsft_need_python_modules("h5py, numpy");
    waves_csv(400);
    char *out, *err, text[8192];
    const char *model = "[model]\nstage = train.rnn\ninputs = train, val, norm.scaler\n"
                        "cell = lstm\nhidden = 8\nsegment = 6\ndecoder = rmf\nlr = 0.01\n"
                        "instance_norm = last\nquantiles = 0.1, 0.5, 0.9\nseed = 3\n"
                        "dropout = 0.2\ncalibrate = none\n";
    snprintf(text, sizeof text,
             PREP("channel_independent = true\n") "%sepochs = 6\nsave = full.h5\n"
                                                  "[fc]\nstage = predict\ninputs = model, test\n"
                                                  "[csv]\nstage = export.csv\ninput = fc\n"
                                                  "path = full.csv\n",
             model);
    int rc = run_file("run", "full.ini", text, &out, &err);
    cr_assert_eq(rc, 0, "%s", err);
    ASSERT_HAS(err, "segments of 6, recurrent (rmf) decoder, instance norm last, quantiles "
                    "0.1/0.5/0.9");
    snprintf(text, sizeof text,
             PREP("channel_independent = true\n") "%sepochs = 3\nsave = half.h5\n", model);
    rc = run_file("run", "half.ini", text, &out, &err);
    cr_assert_eq(rc, 0, "%s", err);
    snprintf(text, sizeof text,
             PREP("channel_independent = true\n") "%sepochs = 6\nresume = half.h5\n"
                                                  "save = resumed.h5\n",
             model);
    rc = run_file("run", "resume.ini", text, &out, &err);
    cr_assert_eq(rc, 0, "%s", err);
    rc = tsft_python("import sys, h5py\n"
                     "a, b = h5py.File(sys.argv[1], 'r'), h5py.File(sys.argv[2], 'r')\n"
                     "names = sorted(a['model/weights'])\n"
                     "assert names == sorted(b['model/weights'])\n"
                     "assert 'embed.weight' in names and 'pos_emb' not in names, names\n"
                     "for n in names:\n"
                     "    assert a['model/weights'][n][()].tobytes() == "
                     "b['model/weights'][n][()].tobytes(), n\n"
                     "m = a['model']\n"
                     "print(int(m.attrs['segment']), int(m.attrs['revin']), len(names))\n",
                     &out, &err, tsft_path(dir, "full.h5"), tsft_path(dir, "resumed.h5"), NULL);
    cr_assert_eq(rc, 0, "%s%s", out, err);
    ASSERT_HAS(out, "6 0 8");
    snprintf(text, sizeof text,
             PREP("channel_independent = true\n") "[m]\nstage = model.load\npath = full.h5\n"
                                                  "[fc]\nstage = predict\ninputs = m, test\n"
                                                  "[csv]\nstage = export.csv\ninput = fc\n"
                                                  "path = loaded.csv\n");
    rc = run_file("run", "load.ini", text, &out, &err);
    cr_assert_eq(rc, 0, "%s", err);
    char *a = tsft_read_file(tsft_path(dir, "full.csv"), NULL),
         *b = tsft_read_file(tsft_path(dir, "loaded.csv"), NULL);
    cr_assert(a && b && strcmp(a, b) == 0, "forecasts differ after model.load");
    free(a);
    free(b);
}

/* Every loss trains; the gradient-flow record has one entry per lookback segment (48 / 12 =
 * 4 non-zero, the rest of its 48 columns zero). */
Test(segment_stages, every_loss_trains_and_gradient_flow_is_recorded_per_segment)
{
    tsft_need_python_modules("h5py, numpy");
    waves_csv(300);
    static const char *const losses[] = {"mse", "mae", "huber"};
    for (size_t k = 0; k < 3; k++) {
        char text[8192], *out, *err;
        snprintf(text, sizeof text,
                 PREP("") "[model]\nstage = train.rnn\ninputs = train, val, norm.scaler\n"
                          "cell = gru\nhidden = 8\nsegment = 12\nepochs = 2\nloss = %s\n"
                          "[hist]\nstage = export.history\ninput = model.history\npath = h.h5\n",
                 losses[k]);
        int rc = run_file("run", "loss.ini", text, &out, &err);
        cr_assert_eq(rc, 0, "loss %s: %s", losses[k], err);
    }
    char *out, *err;
    int rc = tsft_python("import sys, h5py, numpy as np\n"
                         "f = h5py.File(sys.argv[1], 'r')\n"
                         "paths = []\n"
                         "f.visit(lambda n: paths.append(n) if n.endswith('grad_flow') else None)\n"
                         "g = f[paths[0]][()]\n"
                         "nz = (g != 0).sum(axis=1)\n"
                         "assert (nz == 4).all(), nz\n"
                         "assert np.isfinite(g).all() and (g[:, :4] > 0).all()\n"
                         "print('segments', g.shape[1], nz.tolist())\n",
                         &out, &err, tsft_path(dir, "h.h5"), NULL, NULL);
    cr_assert_eq(rc, 0, "%s%s", out, err);
    ASSERT_HAS(out, "segments 48 [4, 4]");
}

/* A backtest retrains the segment network on every fold. */
Test(segment_stages, a_backtest_retrains_the_segment_network_per_fold)
{
    waves_csv(400);
    char *out, *err;
    int rc = run_file("run", "bt.ini",
                      PREP("") "[model]\nstage = train.rnn\ninputs = train, norm.scaler\n"
                               "cell = gru\nhidden = 8\nsegment = 12\nepochs = 2\nseed = 7\n"
                               "[bt]\nstage = backtest\ninputs = data, model.model, split\n"
                               "retrain = every 2\nfirst_origin = 300\nhorizon = 24\nseed = 7\n"
                               "[csv]\nstage = export.csv\ninput = bt.forecasts\npath = bt.csv\n",
                      &out, &err);
    cr_assert_eq(rc, 0, "%s", err);
    char *csv = tsft_read_file(tsft_path(dir, "bt.csv"), NULL);
    cr_assert_not_null(csv);
    ASSERT_HAS(csv, ",z,");
    free(csv);
}

static void assert_check_fails(const char *model_opts, const char *want)
{
    char text[8192], *out, *err;
    snprintf(text, sizeof text,
             PREP("") "[model]\nstage = train.rnn\ninputs = train, val, norm.scaler\n%s",
             model_opts);
    int rc = run_file("check", "bad.ini", text, &out, &err);
    cr_assert_eq(rc, 2, "expected exit 2 for:\n%s\n%s%s", model_opts, out, err);
    ASSERT_HAS(err, want);
}

Test(segment_stages, check_names_the_option_and_what_was_expected)
{
    waves_csv(300);
    assert_check_fails("segment = 10\n", "key \"segment\": segment 10 must divide the lookback 48");
    assert_check_fails("segment = 16\n", "key \"segment\": segment 16 must divide the horizon 24");
    assert_check_fails("segment = 12\nhidden = 7\n",
                       "key \"hidden\": the parallel segment decoder needs an even hidden size");
    assert_check_fails("instance_norm = revin\n",
                       "key \"instance_norm\": revin needs a segment-wise network (segment > 0)");
    assert_check_fails("decoder = rmf\n", "key \"decoder\": decoder is only used with segment > 0");
    assert_check_fails(
        "segment = 12\nhead = recursive\n",
        "key \"head\": head is only used with segment = 0 (segments choose their decoder)");
}
