/* The evaluation stages through `tsflow run`: backtest (hand-computed baseline scores, leak-free
 * folds, jobs = 2 identical to jobs = 1), export.hdf5 and export.csv read back by Debian's
 * pandas, h5py and xarray and compared exactly, plot (gnuplot), `tsflow backtest`, the shipped
 * demo pipeline, and SHA-256 against FIPS 180-4 and sha256sum. The data suite runs
 * examples/ett_rnn.ini (briefly) against the naive forecaster. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "support.h"
#include "tsflow/frame.h"
#include "tsflow/sha256.h"

#define ASSERT_HAS(text, sub)                                                                      \
    cr_assert(strstr((text), (sub)), "missing \"%s\" in:\n%s", (sub), (text))

static const char *work_dir; /* this test's directory: data, pipeline, outputs */

/* A daily CSV from 2020-01-01: y = r (a line), NaN at the listed rows. */
static const char *line_csv(size_t n, const int *gaps, size_t n_gaps)
{
    work_dir = tsft_tmpdir();
    const char *path = tsft_path(work_dir, "line.csv");
    size_t cap = 64 * (n + 1);
    char *buf = malloc(cap);
    cr_assert(buf);
    size_t len = (size_t)snprintf(buf, cap, "time,y\n");
    for (size_t r = 0; r < n; r++) {
        int gap = 0;
        for (size_t k = 0; k < n_gaps; k++)
            gap |= gaps[k] == (int)r;
        char day[32];
        tsf_time_format(TSF_TIME_EPOCH, (1577836800LL + 86400LL * (long long)r) * TSF_US_PER_S, day,
                        sizeof day);
        len += (size_t)snprintf(buf + len, cap - len, "%s,", day);
        if (!gap)
            len += (size_t)snprintf(buf + len, cap - len, "%zu", r);
        buf[len++] = '\n';
    }
    tsft_write_file(path, buf, len);
    free(buf);
    return path;
}

/* A daily long-layout CSV of series "a" (n_a rows) and "b" (n_b rows), both from 2020-01-01:
 * trend + weekly cycle + deterministic noise; rows >= bump_from get + bump; NaN at row gap
 * (SIZE_MAX: none) of series a. */
static const char *wave_csv(const char *name, size_t n_a, size_t n_b, size_t bump_from, double bump,
                            size_t gap)
{
    const char *path = tsft_path(work_dir, name);
    char *buf = malloc(96 * (n_a + n_b + 1));
    size_t len = (size_t)sprintf(buf, "id,time,y\n");
    unsigned long long lcg = 12345;
    for (int s = 0; s < 2; s++)
        for (size_t r = 0; r < (s ? n_b : n_a); r++) {
            lcg = lcg * 6364136223846793005ULL + 1442695040888963407ULL;
            double noise = (double)(lcg >> 40) / (double)(1ULL << 24) - 0.5;
            double y = 10 + 5 * s + 0.05 * (double)r + 3 * sin(2 * M_PI * (double)r / 7) + noise;
            if (r >= bump_from)
                y += bump;
            char day[32];
            tsf_time_format(TSF_TIME_EPOCH, (1577836800LL + 86400LL * (long long)r) * TSF_US_PER_S,
                            day, sizeof day);
            len += (size_t)sprintf(buf + len, "%s,%s,", s ? "b" : "a", day);
            if (!(s == 0 && r == gap))
                len += (size_t)sprintf(buf + len, "%.6f", y);
            buf[len++] = '\n';
        }
    tsft_write_file(path, buf, len);
    free(buf);
    return path;
}

/* Write a pipeline file into work_dir and run `tsflow CMD` on it with extra arguments. */
static int run_pipeline(const char *cmd, const char *text, char **out, char **err, const char *a1,
                        const char *a2)
{
    const char *ini = tsft_path(work_dir, "p.ini");
    tsft_write_file(ini, text, (size_t)-1);
    return tsft_tsflow(out, err, cmd, ini, a1, a2, NULL);
}

/* The RNN backtest pipeline over wave.csv: a tiny LSTM trained once for its recipe, then
 * refitted fold by fold (origins from row 96, every 4 rows) beside naive and seasonal naive,
 * imputation and scaling per fold; extra option lines for [lstm] and [bt], extra steps after. */
static const char *rnn_text(const char *lstm_extra, const char *bt_extra, const char *tail)
{
    static char buf[8192];
    snprintf(buf, sizeof buf,
             "[data]\nstage = ingest.csv\npath = wave.csv\nid_column = id\n"
             "[split]\nstage = split\nfractions = 0.6, 0.1, 0.3\n"
             "[filled]\nstage = impute\ninputs = data, split\nmethod = linear\n"
             "[norm]\nstage = normalize\ninputs = filled, split\n"
             "[train]\nstage = window\ninputs = norm, split\npart = train\nlookback = 10\n"
             "horizon = 4\n"
             "[lstm]\nstage = train.rnn\ninputs = train, norm.scaler\nhidden = 4\nepochs = 2\n"
             "batch_size = 16\nseed = 7\n%s"
             "[bt]\nstage = backtest\ninputs = data, lstm.model, split\nimpute = linear\n"
             "retrain = every 3\nseason = 7\nseed = 7\nfirst_origin = 96\n%s"
             "[csv]\nstage = export.csv\ninput = bt.forecasts\npath = fc.csv\n%s",
             lstm_extra, bt_extra, tail);
    return buf;
}

/* The CSV rows of fold <= k (below) or > k (above), without the actual column (8th). */
static char *rows_of_folds(const char *csv, int k, int above)
{
    size_t n = strlen(csv);
    char *out = malloc(n + 1), *o = out;
    const char *p = strchr(csv, '\n') + 1;
    while (*p) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        /* fields: series,origin,step,target,timestamp,cutoff,fold,actual,... */
        const char *f = p;
        for (int i = 0; i < 6; i++)
            f = strchr(f, ',') + 1;
        int fold = atoi(f);
        if (above ? fold > k : fold <= k) {
            const char *a = strchr(f, ',') + 1, *b = strchr(a, ',');
            memcpy(o, p, (size_t)(a - p));
            o += a - p;
            memcpy(o, b, (size_t)(p + len - b));
            o += p + len - b;
            *o++ = '\n';
        }
        p += len + (e != NULL);
    }
    *o = '\0';
    return out;
}

/* ---- SHA-256 --------------------------------------------------------------------------------- */

Test(eval_stages, sha256_gives_the_fips_180_4_digests)
{
    char hex[65];
    cr_assert_str_eq(tsf_sha256_hex("abc", 3, hex),
                     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    cr_assert_str_eq(tsf_sha256_hex("", 0, hex),
                     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    cr_assert_str_eq(tsf_sha256_hex(m, strlen(m), hex),
                     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    /* a million 'a', fed in uneven pieces through the streaming interface */
    tsf_sha256 c;
    tsf_sha256_init(&c);
    char a[1000];
    memset(a, 'a', sizeof a);
    size_t done = 0;
    for (size_t piece = 1; done < 1000000; piece = piece % 997 + 1) {
        size_t k = 1000000 - done < piece ? 1000000 - done : piece;
        tsf_sha256_update(&c, a, k);
        done += k;
    }
    unsigned char d[32];
    tsf_sha256_final(&c, d);
    char got[65];
    for (int i = 0; i < 32; i++)
        sprintf(got + 2 * i, "%02x", d[i]);
    cr_assert_str_eq(got, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

Test(eval_stages, sha256_of_files_matches_sha256sum)
{
    work_dir = tsft_tmpdir();
    /* every length around the 55/56/64-byte padding boundaries, and a larger file */
    for (size_t n = 0; n < 140; n += (n > 50 && n < 130) ? 1 : 7) {
        const char *p = tsft_path(work_dir, "f.bin");
        char buf[4096];
        for (size_t i = 0; i < n; i++)
            buf[i] = (char)(i * 31 + 7);
        tsft_write_file(p, buf, n);
        char hex[65], *out = NULL;
        tsf_err err = TSF_ERR_INIT;
        cr_assert_eq(tsf_sha256_file(p, hex, &err), TSF_OK, "%s", err.msg);
        char *argv[] = {"sha256sum", (char *)p, NULL};
        cr_assert_eq(tsft_run(argv, &out, NULL), 0);
        cr_assert(!strncmp(out, hex, 64), "length %zu: sha256sum %.64s, tsflow %s", n, out, hex);
    }
    char hex[65];
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_sha256_file(tsft_path(work_dir, "missing"), hex, &err), TSF_EIO);
    ASSERT_HAS(err.msg, "missing: cannot open for its SHA-256: No such file or directory");
}

/* ---- backtest ------------------------------------------------------------------------------- */

Test(eval_stages, backtest_baselines_score_hand_computed_errors_on_a_line)
{
    line_csv(40, NULL, 0);
    char *out, *err;
    /* origins 20, 25, 30, 35; naive misses the line by h at step h: MAE 3, MSE 11; seasonal
     * naive (season 7) by 7 everywhere; MASE divides by the in-sample error of snaive, 7 */
    int rc = run_pipeline("run",
                          "[data]\nstage = ingest.csv\npath = line.csv\n"
                          "[bt]\nstage = backtest\ntrain_length = 20\nhorizon = 5\nseason = 7\n"
                          "[csv]\nstage = export.csv\ninput = bt.forecasts\npath = fc.csv\n",
                          &out, &err, NULL, NULL);
    cr_assert_eq(rc, 0, "%s", err);
    ASSERT_HAS(err, "bt: 0 models and 2 baselines on 4 folds (cutoffs every 5 periods of D from "
                    "2020-01-20 00:00:00, horizon 5, expanding window, 4 fits)");
    ASSERT_HAS(err, "bt:   naive    MAE 3  RMSE 3.3166  MASE 0.4286  skill vs snaive +0.571");
    ASSERT_HAS(err, "bt:   snaive   MAE 7  RMSE 7  MASE 1");
    char *csv = tsft_read_file(tsft_path(work_dir, "fc.csv"), NULL);
    cr_assert(csv);
    ASSERT_HAS(csv, "series,origin,step,target,timestamp,cutoff,fold,actual,naive,snaive\n"
                    "0,2020-01-21 00:00:00,1,y,2020-01-21 00:00:00,2020-01-20 00:00:00,0,20,19,"
                    "13\n");
    ASSERT_HAS(csv, "0,2020-02-05 00:00:00,5,y,2020-02-09 00:00:00,2020-02-04 00:00:00,3,39,34,"
                    "32\n");
    free(csv);
}

Test(eval_stages, backtest_sliding_window_and_retrain_never_record_their_fit_windows)
{
    line_csv(40, NULL, 0);
    char *out, *err;
    int rc = run_pipeline("run",
                          "[data]\nstage = ingest.csv\npath = line.csv\n"
                          "[bt]\nstage = backtest\ntrain_length = 10\nfirst_origin = 20\n"
                          "horizon = 4\nstride = 6\nwindow = sliding\nretrain = never\n"
                          "baselines = mean\nlast_points_only = true\n"
                          "[csv]\nstage = export.csv\ninput = bt.forecasts\npath = fc.csv\n"
                          "[h5]\nstage = export.hdf5\ninputs = bt.forecasts, bt.backtest\n"
                          "path = bt.h5\n",
                          &out, &err, NULL, NULL);
    cr_assert_eq(rc, 0, "%s", err);
    ASSERT_HAS(err, "on 3 folds (cutoffs every 6 periods of D from 2020-01-20 00:00:00, horizon 4, "
                    "sliding window of train_length periods, 1 fit)");
    /* one fit at fold 0 on rows [10, 20): mean 14.5 forecasts every fold; only step 4 kept */
    char *csv = tsft_read_file(tsft_path(work_dir, "fc.csv"), NULL);
    ASSERT_HAS(csv,
               "series,origin,step,target,timestamp,cutoff,fold,actual,mean\n"
               "0,2020-01-21 00:00:00,4,y,2020-01-24 00:00:00,2020-01-20 00:00:00,0,23,14.5\n"
               "0,2020-01-27 00:00:00,4,y,2020-01-30 00:00:00,2020-01-26 00:00:00,1,29,14.5\n"
               "0,2020-02-02 00:00:00,4,y,2020-02-05 00:00:00,2020-02-01 00:00:00,2,35,14.5\n");
    free(csv);
    tsft_need_python_modules("pandas");
    char *py;
    rc = tsft_python("import pandas as pd, h5py, sys\n"
                     "f = pd.read_hdf(sys.argv[1], 'folds').reset_index()\n"
                     "print(list(f['fold']), list(f['fit_rows']), list(f['origin_row']))\n"
                     "print([str(t.date()) for t in f['fit_start']], "
                     "[str(t.date()) for t in f['fit_end']])\n"
                     "a = h5py.File(sys.argv[1]).attrs\n"
                     "print(list(a['fold_fit_rows'][0]), a['folds'].splitlines()[2])\n",
                     &py, &err, tsft_path(work_dir, "bt.h5"), NULL);
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert_str_eq(py, "[0, 1, 2] [10, 10, 10] [20, 26, 32]\n"
                         "['2020-01-11', '2020-01-11', '2020-01-11'] ['2020-01-20', "
                         "'2020-01-20', '2020-01-20']\n"
                         "[10, 10, 10] fold 2: origin 2020-02-02 00:00:00, fitted on 2020-01-11 "
                         "00:00:00 .. 2020-01-20 00:00:00 (10 rows)\n");
}

Test(eval_stages, backtest_refuses_bad_options_naming_them)
{
    line_csv(40, NULL, 0);
    const struct {
        const char *opts, *want;
    } cases[] = {
        {"horizon = 5\ntrain_length = 20\nretrain = sometimes\n",
         "key \"retrain\": \"sometimes\" is not a retraining rule (expected always, never, or "
         "every N with N >= 1)"},
        {"train_length = 20\n", "key \"horizon\": set horizon (steps to forecast): no model input "
                                "gives one"},
        {"horizon = 5\n", "key \"train_length\": set train_length (rows of the first fit) or bind "
                          "a split (inputs = data, split)"},
        {"horizon = 5\ntrain_length = 38\n",
         "key \"train_length\": the first origin (row 38) plus horizon 5 is past the 40 rows of "
         "the series (expected train_length + horizon <= 40: train_length at most 35)"},
        {"horizon = 5\ntrain_length = 20\nretrain = never\nwarm_start = true\n",
         "key \"warm_start\": warm_start needs refits, but retrain = never fits once"},
        {"horizon = 5\ntrain_length = 20\nbaselines = naive, seasonal\n",
         "key \"baselines\": \"seasonal\" is not one of naive, snaive, drift, mean, ets, "
         "theta"},
        {"horizon = 5\ntrain_length = 20\nbaselines = \"\"\n",
         "key \"baselines\": nothing to backtest: bind a model (inputs = data, train_step.model) "
         "or name baselines"},
        {"horizon = 5\ntrain_length = 20\ntargets = z\n",
         "key \"targets\": column \"z\" is not in the input"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char text[1024], *out, *err;
        snprintf(text, sizeof text,
                 "[data]\nstage = ingest.csv\npath = line.csv\n[bt]\nstage = backtest\n%s",
                 cases[i].opts);
        int rc = run_pipeline("check", text, &out, &err, NULL, NULL);
        cr_assert_eq(rc, 2, "case %zu: exit %d\n%s", i, rc, err);
        ASSERT_HAS(err, cases[i].want);
    }
}

Test(eval_stages, changing_values_after_an_origin_never_changes_that_folds_forecasts)
{
    work_dir = tsft_tmpdir();
    /* test part of series a: rows [96, 160): 16 folds of 4, refits every 3 folds. Fold 4's
     * origin is row 112. Row 111 is missing in both files: imputed from the rows before it
     * (linear interpolation over the whole series would have read row 112). */
    wave_csv("wave.csv", 160, 150, SIZE_MAX, 0, 111);
    char *out, *err;
    int rc = run_pipeline("run", rnn_text("", "", ""), &out, &err, NULL, NULL);
    cr_assert_eq(rc, 0, "%s", err);
    ASSERT_HAS(err, "bt: 1 model and 2 baselines on 16 folds (cutoffs every 4 periods of D from "
                    "2020-04-05 00:00:00, "
                    "horizon 4, expanding window, 6 fits, normalized per fit (zscore), imputed "
                    "per fold)");
    char *before = tsft_read_file(tsft_path(work_dir, "fc.csv"), NULL);
    /* the same data with every value from row 112 on raised by 50 */
    wave_csv("wave.csv", 160, 150, 112, 50, 111);
    rc = run_pipeline("run", rnn_text("", "", ""), &out, &err, NULL, NULL);
    cr_assert_eq(rc, 0, "%s", err);
    char *after = tsft_read_file(tsft_path(work_dir, "fc.csv"), NULL);
    char *b = rows_of_folds(before, 4, 0), *a = rows_of_folds(after, 4, 0);
    cr_assert(strlen(b) > 1000, "too few rows compared:\n%s", b);
    cr_assert_str_eq(a, b, "forecasts of folds 0..4 changed when rows after their origins did");
    /* and the test can see a change: the later folds' forecasts moved */
    char *b2 = rows_of_folds(before, 4, 1), *a2 = rows_of_folds(after, 4, 1);
    cr_assert(strcmp(a2, b2) != 0, "later folds did not change: the test would see no leak");
    free(b);
    free(a);
    free(b2);
    free(a2);
    free(before);
    free(after);
}

Test(eval_stages, jobs_2_gives_the_same_bits_as_jobs_1_also_with_warm_start)
{
    work_dir = tsft_tmpdir();
    wave_csv("wave.csv", 160, 150, SIZE_MAX, 0, SIZE_MAX);
    const char *csv = tsft_path(work_dir, "fc.csv");
    const char *warm[] = {"bt.warm_start=false", "bt.warm_start=true"};
    for (int w = 0; w < 2; w++) {
        char *out, *err;
        int rc = run_pipeline("run", rnn_text("", "", ""), &out, &err, "--set", warm[w]);
        cr_assert_eq(rc, 0, "%s", err);
        char *one = tsft_read_file(csv, NULL);
        rc = run_pipeline("run", rnn_text("", "jobs = 2\n", ""), &out, &err, "--set", warm[w]);
        cr_assert_eq(rc, 0, "%s", err);
        char *two = tsft_read_file(csv, NULL);
        cr_assert(strlen(one) > 1000);
        cr_assert_str_eq(two, one, "%s: jobs = 2 differs from jobs = 1", warm[w]);
        free(one);
        free(two);
    }
}

/* ---- export --------------------------------------------------------------------------------- */

/* Checks every output of the RNN backtest with pandas, h5py and xarray; prints OK. */
static const char *export_check =
    "import sys, hashlib, datetime, numpy as np, pandas as pd, h5py, xarray as xr\n"
    "h5, fccsv, mcsv, data, ini, version, commit = sys.argv[1:8]\n"
    "def same(a, b, what):\n"
    "    a = np.asarray(a); b = np.asarray(b)\n"
    "    assert a.shape == b.shape, (what, a.shape, b.shape)\n"
    "    if a.dtype.kind == 'f' or b.dtype.kind == 'f':\n"
    "        ok = (a == b) | (np.isnan(a.astype(float)) & np.isnan(b.astype(float)))\n"
    "    elif a.dtype.kind == 'M' or b.dtype.kind == 'M':\n"
    "        ok = (a == b) | (np.isnat(a) & np.isnat(b))\n"
    "    else:\n"
    "        ok = a == b\n"
    "    assert ok.all(), (what, np.argmin(ok), a[~ok][:3], b[~ok][:3])\n"
    /* the long table: HDF5 and CSV alike, every column exact */
    "df = pd.read_hdf(h5, 'forecasts').reset_index()\n"
    "cols = ['series', 'origin', 'step', 'target', 'timestamp', 'cutoff', 'fold', 'actual',\n"
    "        'lstm', 'lstm_q0.1', 'lstm_q0.5', 'lstm_q0.9', 'naive', 'naive_q0.1',\n"
    "        'naive_q0.5', 'naive_q0.9', 'snaive', 'snaive_q0.1', 'snaive_q0.5', 'snaive_q0.9']\n"
    "assert list(df.columns) == cols, list(df.columns)\n"
    "assert str(df['origin'].dtype) == 'datetime64[ns]' and str(df['fold'].dtype) == 'int64'\n"
    "c = pd.read_csv(fccsv, float_precision='round_trip', dtype={'series': str},\n"
    "                parse_dates=['origin', 'timestamp', 'cutoff'])\n"
    "assert list(c.columns) == cols, list(c.columns)\n"
    "for k in cols: same(df[k], c[k], 'forecasts.' + k)\n"
    "assert df['naive_q0.1'].isna().all() and df['lstm_q0.1'].notna().all()\n"
    "assert (df['lstm_q0.9'] - df['lstm_q0.1']).mean() > 0\n"
    /* the actuals are the data's values at the forecast times */
    "d = pd.read_csv(data, float_precision='round_trip', dtype={'id': str})\n"
    "d['time'] = pd.to_datetime(d['time'])\n"
    "m = df.merge(d, left_on=['series', 'timestamp'], right_on=['id', 'time'])\n"
    "assert len(m) == len(df); same(m['actual'], m['y'], 'actual')\n"
    /* the metrics table: HDF5 and CSV alike; skills as defined; pooled MAE from the table */
    "mt = pd.read_hdf(h5, 'metrics').reset_index()\n"
    "mc = pd.read_csv(mcsv, float_precision='round_trip', keep_default_na=False,\n"
    "                 na_values=[''], parse_dates=['cutoff'])\n"
    "assert list(mt.columns) == list(mc.columns), (list(mt.columns), list(mc.columns))\n"
    "assert list(mt.columns[:7]) == ['model', 'target', 'scale', 'by', 'key', 'cutoff',\n"
    "                                'count']\n"
    /* each fold's row has the fold's cutoff: the latest of its series' in the folds table */
    "fc_ = pd.read_hdf(h5, 'folds').reset_index().groupby('fold').cutoff.max()\n"
    "mf = mt[mt.by == 'fold']\n"
    "assert len(mf) and (mf.cutoff.values == fc_.loc[mf.key].values).all()\n"
    "assert mt[mt.by != 'fold'].cutoff.isna().all()\n"
    "assert list(mt.columns[-4:]) == ['skill_mae_naive', 'skill_mse_naive', 'skill_mae_snaive',\n"
    "                                 'skill_mse_snaive']\n"
    "for k in mt.columns: same(mt[k], mc[k], 'metrics.' + k)\n"
    "pool = mt[(mt.by == 'all') & (mt.scale == 'original')].set_index('model')\n"
    "assert pool.loc['lstm', 'skill_mae_naive'] == 1 - pool.loc['lstm', 'mae'] / "
    "pool.loc['naive', 'mae']\n"
    "assert pool.loc['lstm', 'skill_mse_snaive'] == 1 - pool.loc['lstm', 'mse'] / "
    "pool.loc['snaive', 'mse']\n"
    "e = (df['actual'] - df['lstm']).abs()\n"
    "assert np.isclose(pool.loc['lstm', 'mae'], e.mean(), rtol=1e-13, atol=0)\n"
    "assert pool.loc['lstm', 'count'] == e.notna().sum()\n"
    "assert set(mt.scale) == {'original', 'normalized'}\n"
    /* the cube: named dimensions, time coordinates, the long table's values, NaN elsewhere */
    "ds = xr.open_dataset(h5, engine='h5netcdf', group='cube')\n"
    "fc = ds['forecast']\n"
    "assert fc.dims == ('model', 'target', 'series', 'origin', 'step', 'estimate'), fc.dims\n"
    "assert list(ds['estimate'].values) == ['point', 'q0.1', 'q0.5', 'q0.9']\n"
    "assert callable(ds.quantile), 'a variable named quantile hides Dataset.quantile'\n"
    /* valid_time = origin + (step - 1) days, as the long table's timestamp */
    "assert ds['step'].attrs['step_length'] == 86400 and 'valid_time' in fc.coords\n"
    "vt = ds['valid_time'].values\n"
    "assert (vt == ds['origin'].values[:, None] + np.timedelta64(86400, 's') *\n"
    "        (ds['step'].values[None, :] - 1)).all()\n"
    "same(vt[[list(ds['origin'].values).index(o) for o in df['origin']], df['step'].values - 1]\n"
    "     .astype('int64'), df['timestamp'].values.astype('int64'), 'valid_time')\n"
    "assert list(ds['model'].values) == ['lstm', 'naive', 'snaive']\n"
    "assert list(ds['series'].values) == ['a', 'b'] and str(ds['origin'].dtype) == "
    "'datetime64[ns]'\n"
    "same(ds['quantile_level'].values, [np.nan, 0.1, 0.5, 0.9], 'quantile_level')\n"
    "for mod in ['lstm', 'naive', 'snaive']:\n"
    "    for q, name in [('point', mod), ('q0.1', mod + '_q0.1'), ('q0.9', mod + '_q0.9')]:\n"
    "        v = fc.sel(model=mod, target='y', estimate=q)\n"
    "        got = v.values[[list(ds['series'].values).index(s) for s in df['series']],\n"
    "                       [list(ds['origin'].values).index(o) for o in df['origin']],\n"
    "                       df['step'].values - 1]\n"
    "        same(got, df[name], 'cube ' + mod + ' ' + q)\n"
    "n_cells = fc.sel(model='lstm', estimate='point').size\n"
    "assert int(fc.sel(model='lstm', estimate='point').notnull().sum()) == len(df)\n"
    "assert n_cells > len(df), 'series b misses the last folds: its cells must be NaN'\n"
    "same(ds['actual'].sel(target='y').values[[0 if s == 'a' else 1 for s in df['series']],\n"
    "     [list(ds['origin'].values).index(o) for o in df['origin']], df['step'].values - 1],\n"
    "     df['actual'], 'cube actual')\n"
    "with h5py.File(h5) as f:\n"
    "    assert f['cube/forecast'].shape == fc.shape\n"
    /* the input frame is not copied beside forecasts unless asked (data = both) */
    "    assert 'data' not in f and 'data_xr' not in f, list(f)\n"
    "    assert f['cube/origin'].attrs['units'] in (b'seconds since 1970-01-01T00:00:00Z',\n"
    "                                               'seconds since 1970-01-01T00:00:00Z')\n"
    "    a = f.attrs\n"
    "    assert a['pipeline'] == open(ini).read()\n"
    "    assert a['tsflow_version'] == version and a['git_commit'] == commit\n"
    "    assert a['input_sha256'] == hashlib.sha256(open(data, 'rb').read()).hexdigest()\n"
    "    assert a['input_path'].endswith('wave.csv') and a['seed'] == 7\n"
    "    t = datetime.datetime.strptime(a['created_utc'], '%Y-%m-%dT%H:%M:%SZ')\n"
    "    assert abs((datetime.datetime.utcnow() - t).total_seconds()) < 3600\n"
    "    assert a['hdf5_version'] == h5py.version.hdf5_version, a['hdf5_version']\n"
    "    assert a['blas_version'].startswith('OpenBLAS'), a['blas_version']\n"
    /* folds: every fold's fit window, in the table and the attributes */
    "    folds = pd.read_hdf(h5, 'folds').reset_index()\n"
    "    fa = folds[folds.series == 'a']\n"
    "    assert len(fa) == 16 and list(fa['origin_row']) == list(range(96, 160, 4))\n"
    "    same(a['fold_fit_rows'][0], fa['fit_rows'], 'fold_fit_rows')\n"
    "    same(a['fold_origin'][0], fa['origin'].astype('int64') // 10**9, 'fold_origin')\n"
    /* every series' folds, not only the first one's; -1 where b has no such fold */
    "    assert a['fold_series'].split('\\n') == ['a', 'b'] and a['fold_fit_rows'].shape[0] == 2\n"
    "    assert a['fold_time_units'] == 'seconds since 1970-01-01T00:00:00Z'\n"
    "    fb = folds[folds.series == 'b']\n"
    "    nb = len(fb)\n"
    "    same(a['fold_fit_start'][1][:nb], fb['fit_start'].astype('int64') // 10**9, 'b start')\n"
    "    assert (a['fold_fit_rows'][1][nb:] == -1).all() and nb < 16\n"
    "    assert list(fa['fit_rows']) == [96 + 12 * (k // 3) for k in range(16)]\n"
    "    assert (fa['fit_start'] == pd.Timestamp('2020-01-01')).all()\n"
    /* scalers: one per fit; fit 0's center is the mean over both series' rows before row 96 */
    "    assert list(a['scaler_shape']) == [6, 1, 1] and a['scaler_kind'] == 'zscore'\n"
    "    d['r'] = d.groupby('id').cumcount()\n"
    "    x = d[d.r < 96]['y'].values\n"
    "    assert np.isclose(a['scaler_center'][0], x.mean(), rtol=1e-14)\n"
    "    assert np.isclose(a['scaler_scale'][0], x.std(), rtol=1e-12)\n"
    /* the training history, and each fit's */
    "h = pd.read_hdf(h5, 'history/epochs')\n"
    "assert list(h.index) == [1, 2] and 'train_loss' in h.columns\n"
    "g = xr.open_dataset(h5, engine='h5netcdf', group='history')['grad_flow']\n"
    "assert g.dims == ('epoch', 't') and g.shape == (2, 10)\n"
    "h0 = pd.read_hdf(h5, 'backtest_history/epochs')\n"
    "assert list(h0.index.names) == ['fold', 'epoch'], h0.index.names\n"
    "assert len(h0.loc[3]) == 2, len(h0.loc[3])\n"
    "fl = xr.open_dataset(h5, engine='h5netcdf', group='backtest_history')['grad_flow']\n"
    "assert fl.dims == ('fold', 'epoch', 't') and fl.shape[1:] == (2, 10), fl.shape\n"
    "assert not np.isnan(fl.sel(fold=3).values).any()\n"
    "n = pd.read_hdf(h5, 'forecasts_normalized').reset_index()\n"
    "assert len(n) == len(df) and not np.allclose(n['lstm'], df['lstm'])\n"
    "print('OK')\n";

Test(eval_stages, export_writes_what_pandas_h5py_and_xarray_read_back_exactly)
{
    tsft_need_python_modules("pandas,h5py,xarray,h5netcdf");
    work_dir = tsft_tmpdir();
    const char *data = wave_csv("wave.csv", 160, 150, SIZE_MAX, 0, SIZE_MAX);
    /* quantile forecasts: the LSTM learns the 10%, 50% and 90% quantiles */
    const char *text = rnn_text("quantiles = 0.1, 0.5, 0.9\n", "",
                                "[mcsv]\nstage = export.csv\ninput = bt.metrics\n"
                                "path = metrics.csv\n"
                                "[h5]\nstage = export.hdf5\n"
                                "inputs = bt.forecasts, bt.metrics, bt.backtest, lstm.history, "
                                "data\npath = out.h5\nnormalized = true\n");
    char *out, *err;
    int rc = run_pipeline("run", text, &out, &err, NULL, NULL);
    cr_assert_eq(rc, 0, "%s", err);
    ASSERT_HAS(err, "h5: wrote");
    char *ver;
    cr_assert_eq(tsft_tsflow(&ver, NULL, "--version", NULL), 0);
    char version[64], commit[64];
    cr_assert_eq(sscanf(ver, "tsflow %63s (git %63[^)])", version, commit), 2, "%s", ver);
    char *py;
    rc = tsft_python(export_check, &py, &err, tsft_path(work_dir, "out.h5"),
                     tsft_path(work_dir, "fc.csv"), tsft_path(work_dir, "metrics.csv"), data,
                     tsft_path(work_dir, "p.ini"), version, commit, NULL);
    cr_assert_eq(rc, 0, "python: %s\n%s", err, py);
    cr_assert_str_eq(py, "OK\n");
}

Test(eval_stages, export_refuses_two_values_of_one_kind_and_a_reserved_key)
{
    line_csv(40, NULL, 0);
    char *out, *err;
    int rc = run_pipeline("check",
                          "[data]\nstage = ingest.csv\npath = line.csv\n"
                          "[bt]\nstage = backtest\ntrain_length = 20\nhorizon = 5\n"
                          "[h5]\nstage = export.hdf5\ninputs = bt.forecasts, bt.forecasts\n"
                          "path = x.h5\n",
                          &out, &err, NULL, NULL);
    cr_assert_eq(rc, 2, "%s", err);
    ASSERT_HAS(err, "2 forecasts inputs (expected at most one; write others with another "
                    "export.hdf5 step)");
    rc = run_pipeline("check",
                      "[data]\nstage = ingest.csv\npath = line.csv\n"
                      "[h5]\nstage = export.hdf5\npath = x.h5\nkey = metrics\n",
                      &out, &err, NULL, NULL);
    cr_assert_eq(rc, 2, "%s", err);
    ASSERT_HAS(err, "key \"key\": \"metrics\" is where other inputs go (expected another name, "
                    "like \"data\")");
}

/* ---- plots ---------------------------------------------------------------------------------- */

static void assert_png(const char *path)
{
    size_t n = 0;
    char *png = tsft_read_file(path, &n);
    cr_assert(png, "%s was not written", path);
    cr_assert(n > 5000 && !memcmp(png, "\x89PNG\r\n\x1a\n", 8), "%s is not a PNG (%zu bytes)", path,
              n);
    free(png);
}

Test(eval_stages, plot_draws_every_picture_and_a_script_that_redraws_them)
{
    work_dir = tsft_tmpdir();
    wave_csv("wave.csv", 160, 150, SIZE_MAX, 0, SIZE_MAX);
    const char *text = rnn_text("", "",
                                "[plots]\nstage = plot\ninputs = data, bt.forecasts, "
                                "lstm.history\nprefix = pic\nseries = b\nunits = kW\n"
                                "width = 640\nheight = 400\n");
    char *out, *err;
    int rc = run_pipeline("run", text, &out, &err, NULL, NULL);
    cr_assert_eq(rc, 0, "%s", err);
    ASSERT_HAS(err, "plots: drew 5 plots in ");
    ASSERT_HAS(err, "pic_forecast.png, pic_backtest.png, pic_loss.png, pic_grad_norm.png, "
                    "pic_grad_flow.png (data and script: pic.gp)");
    const char *names[] = {"forecast", "backtest", "loss", "grad_norm", "grad_flow"};
    for (int k = 0; k < 5; k++) {
        char f[64];
        snprintf(f, sizeof f, "pic_%s.png", names[k]);
        assert_png(tsft_path(work_dir, f));
        snprintf(f, sizeof f, "pic_%s.dat", names[k]);
        char *dat = tsft_read_file(tsft_path(work_dir, f), NULL);
        cr_assert(dat, "%s missing", f);
        free(dat);
    }
    char *gp = tsft_read_file(tsft_path(work_dir, "pic.gp"), NULL);
    ASSERT_HAS(gp, "set ylabel \"y (kW)\"");
    ASSERT_HAS(gp, "set title \"y, series b: lstm forecast of 4 steps from 2020-05-24\"");
    free(gp);
    /* nothing but the outputs is left in the directory (no temporaries) */
    char *ls, *argv[] = {"ls", "-A", (char *)work_dir, NULL};
    cr_assert_eq(tsft_run(argv, &ls, NULL), 0);
    cr_assert(!strstr(ls, "tsflow-tmp"), "temporaries left:\n%s", ls);
    /* the script alone redraws the pictures under their own names */
    for (int k = 0; k < 5; k++) {
        char f[64];
        snprintf(f, sizeof f, "pic_%s.png", names[k]);
        remove(tsft_path(work_dir, f));
    }
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "cd '%s' && gnuplot pic.gp", work_dir);
    char *sh[] = {"sh", "-c", cmd, NULL}, *gerr;
    cr_assert_eq(tsft_run(sh, NULL, &gerr), 0, "%s", gerr);
    for (int k = 0; k < 5; k++) {
        char f[64];
        snprintf(f, sizeof f, "pic_%s.png", names[k]);
        assert_png(tsft_path(work_dir, f));
    }
}

Test(eval_stages, plot_says_when_gnuplot_is_missing_or_a_plot_has_no_input)
{
    line_csv(40, NULL, 0);
    const char *head = "[data]\nstage = ingest.csv\npath = line.csv\n"
                       "[bt]\nstage = backtest\ntrain_length = 20\nhorizon = 5\n"
                       "[plots]\nstage = plot\ninputs = data, bt.forecasts\nprefix = p\n";
    const struct {
        const char *opts, *want;
    } cases[] = {
        {"gnuplot = /nonexistent/gnuplot\n",
         "key \"gnuplot\": cannot run \"/nonexistent/gnuplot\": gnuplot is not installed (on "
         "Debian: apt-get install gnuplot-nox), or set gnuplot = PATH"},
        {"plots = forecast, pie\n", "key \"plots\": \"pie\" is not one of forecast, backtest, "
                                    "loss, grad_norm, grad_flow"},
        {"plots = loss\n", "key \"plots\": plot loss needs a training history (or backtest) "
                           "input"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char text[1024], *out, *err;
        snprintf(text, sizeof text, "%s%s", head, cases[i].opts);
        int rc = run_pipeline("check", text, &out, &err, NULL, NULL);
        cr_assert_eq(rc, 2, "case %zu: %s", i, err);
        ASSERT_HAS(err, cases[i].want);
    }
    /* baselines alone: forecast and backtest plots */
    char text[1024], *out, *err;
    snprintf(text, sizeof text, "%s", head);
    int rc = run_pipeline("run", text, &out, &err, NULL, NULL);
    cr_assert_eq(rc, 0, "%s", err);
    ASSERT_HAS(err, "plots: drew 2 plots in ");
    assert_png(tsft_path(work_dir, "p_backtest.png"));
}

/* ---- tsflow backtest --------------------------------------------------------------------------
 */

Test(eval_stages, the_backtest_command_builds_and_runs_the_pipeline_it_prints)
{
    tsft_need_python_modules("pandas");
    work_dir = tsft_tmpdir();
    const char *data = wave_csv("wave.csv", 160, 150, SIZE_MAX, 0, SIZE_MAX);
    const char *h5 = tsft_path(work_dir, "bt.h5");
    char *out, *err;
    int rc = tsft_tsflow(&out, &err, "backtest", data, "--horizon", "4", "--out", h5,
                         "--print-pipeline", "--id-column", "id", NULL);
    cr_assert_eq(rc, 0, "%s", err);
    /* no validation part: every refit holds out its own tail */
    ASSERT_HAS(out, "\n[model]\nstage = train.rnn\ninputs = train, norm.scaler\ncell = lstm\n");
    ASSERT_HAS(out, "\n[backtest]\nstage = backtest\ninputs = data, model.model, split\n");
    /* a small run: 4 hidden units, one epoch, --set reaches the generated steps */
    rc = tsft_tsflow(&out, &err, "backtest", data, "--horizon", "4", "--out", h5, "--id-column",
                     "id", "--hidden", "4", "--epochs", "1", "--lookback", "8", "--retrain",
                     "never", "--jobs", "2", "--set", "backtest.baselines=naive", "-q", NULL);
    cr_assert_eq(rc, 0, "%s", err);
    char *py;
    rc = tsft_python("import pandas as pd, sys\n"
                     "df = pd.read_hdf(sys.argv[1], 'forecasts').reset_index()\n"
                     "print(list(df.columns[8:]), sorted(set(df['series'])), df['fold'].max())\n",
                     &py, &err, h5, NULL);
    cr_assert_eq(rc, 0, "%s", err);
    /* test parts: the last 20% of a (from row 128) and of b (from row 120): origins from row
     * 120 every 4 rows to a's end, 120, 124, ..., 156 */
    cr_assert_str_eq(py, "['lstm', 'naive'] ['a', 'b'] 9\n");
    /* help shows the command, then the stage of the same name */
    rc = tsft_tsflow(&out, &err, "help", "backtest", NULL);
    cr_assert_eq(rc, 0, "%s", err);
    ASSERT_HAS(out, "usage: tsflow backtest [OPTIONS] DATA.csv --horizon N --out FILE.h5\n");
    ASSERT_HAS(out, "\nThe stage \"backtest\" (in pipeline files):\n\nbacktest: rolling-origin "
                    "backtest of models against baselines, leak-free\n");
    /* usage errors */
    rc = tsft_tsflow(&out, &err, "backtest", data, "--horizon", "4", NULL);
    cr_assert_eq(rc, 2);
    ASSERT_HAS(err, "tsflow: backtest: --out FILE.h5 is required (where the results go)");
    rc = tsft_tsflow(&out, &err, "backtest", data, "--out", h5, NULL);
    cr_assert_eq(rc, 2);
    ASSERT_HAS(err, "tsflow: backtest: --horizon N is required (steps to forecast)");
    rc = tsft_tsflow(&out, &err, "backtest", data, "--horizon", "x", "--out", h5, NULL);
    cr_assert_eq(rc, 2);
    ASSERT_HAS(err, "tsflow: backtest: --horizon \"x\" is not an integer (expected an integer ");
    ASSERT_HAS(err, "(as option horizon of stage window)");
}

/* ---- the shipped pipelines --------------------------------------------------------------------
 */

Test(eval_stages, the_demo_pipeline_checks_and_runs_in_small)
{
    work_dir = tsft_tmpdir();
    const char *ini = tsft_source("examples/demo.ini");
    char *out, *err;
    /* outputs into this test's directory; a tiny network so that the test stays quick */
    char sets[6][512];
    const char *keys[] = {"export.path=%s/co2.h5", "forecasts_csv.path=%s/f.csv",
                          "metrics_csv.path=%s/m.csv", "plots.prefix=%s/co2"};
    for (int k = 0; k < 4; k++)
        snprintf(sets[k], sizeof sets[k], keys[k], work_dir);
    int rc =
        tsft_tsflow(&out, &err, "run", ini, "--set", sets[0], "--set", sets[1], "--set", sets[2],
                    "--set", sets[3], "--set", "lstm.epochs=1", "--set", "lstm.hidden=4", "--set",
                    "backtest.retrain=never", "--set", "lstm.batch_size=128", NULL);
    cr_assert_eq(rc, 0, "%s", err);
    ASSERT_HAS(err, "examples/../datasets/mauna_loa_co2/co2_weekly.csv: 2284 rows, 1 column, 1 "
                    "series, 59 missing values");
    ASSERT_HAS(err, "backtest: 1 model and 2 baselines on 8 folds (cutoffs every 52 periods of "
                    "W-SAT from 1993-03-27 00:00:00");
    ASSERT_HAS(err, "plots: drew 5 plots in ");
    assert_png(tsft_path(work_dir, "co2_backtest.png"));
}

Test(eval_stages_data, ett_rnn_beats_the_naive_forecaster_on_the_ett_protocol)
{
    TSFT_NEED_SHARED(ett, "ett/ETTh1.csv");
    (void)ett;
    char *out, *err;
    /* two epochs already beat "repeat" (MSE 1.29437) by far; the full file trains longer */
    int rc = tsft_tsflow(&out, &err, "run", tsft_source("examples/ett_rnn.ini"), "--set",
                         "gru.epochs=2", NULL);
    cr_assert_eq(rc, 0, "%s", err);
    ASSERT_HAS(err, "score_repeat: repeat (normalized scale, 1871520 points): mae 0.71318 mse "
                    "1.29437");
    const char *s = strstr(err, "score: gru (normalized scale, 1871520 points): mae ");
    cr_assert(s, "%s", err);
    double mae, mse;
    cr_assert_eq(
        sscanf(s, "score: gru (normalized scale, 1871520 points): mae %lf mse %lf", &mae, &mse), 2);
    cr_assert(mse < 0.8 && mae < 0.6, "gru: mse %g mae %g, not clearly below repeat's", mse, mae);
}

/* ---- R ----------------------------------------------------------------------------------------
 */

/* R users read the flat forecasts table in one call with either package; it holds what pandas
 * reads from the forecasts table, value for value, with times as text R parses. */
Test(eval_stages, r_reads_the_flat_forecasts_table_as_a_data_frame_with_either_package)
{
    if (access("/usr/bin/Rscript", X_OK) != 0)
        cr_skip_test("R is absent (scripts/setup.sh installs r-cran-hdf5r and r-bioc-rhdf5)");
    tsft_need_python_modules("pandas,h5py");
    work_dir = tsft_tmpdir();
    const char *data = wave_csv("wave.csv", 60, 50, SIZE_MAX, 0, SIZE_MAX);
    const char *h5 = tsft_path(work_dir, "bt.h5");
    char *out, *err;
    int rc = tsft_tsflow(&out, &err, "backtest", data, "--id-column", "id", "--horizon", "3",
                         "--model", "none", "--out", h5, NULL);
    cr_assert_eq(rc, 0, "%s", err);
    char script[2048];
    snprintf(script, sizeof script,
             "suppressMessages({library(rhdf5); library(hdf5r)})\n"
             "a <- h5read('%s', 'forecasts_flat')\n"
             "f <- H5File$new('%s', mode = 'r'); b <- f[['forecasts_flat']][]; f$close_all()\n"
             "for (d in list(a, b)) {\n"
             "  t <- as.POSIXct(d$timestamp, tz = 'UTC')\n"
             "  cat(class(d), nrow(d), paste(names(d), collapse = ','), typeof(d$step),\n"
             "      sum(is.na(t)), format(t[1], '%%Y-%%m-%%dT%%H:%%M'), '\\n')\n"
             "  cat(sprintf('%%.17g', c(d$actual, d$naive, d$snaive)), '\\n')\n"
             "}\n",
             h5, h5);
    char *argv[] = {"/usr/bin/Rscript", "-e", script, NULL}, *r_out = NULL, *r_err = NULL;
    rc = tsft_run(argv, &r_out, &r_err);
    if (rc != 0 && strstr(r_err, "there is no package"))
        cr_skip_test("R lacks rhdf5 or hdf5r (scripts/setup.sh installs them): %s", r_err);
    cr_assert_eq(rc, 0, "Rscript: %s", r_err);
    char *py = NULL;
    rc = tsft_python("import sys, numpy as np, pandas as pd\n"
                     "d = pd.read_hdf(sys.argv[1], 'forecasts').reset_index()\n"
                     "print('data.frame', len(d), ','.join(d.columns), 'integer', 0,\n"
                     "      d['timestamp'][0].strftime('%Y-%m-%dT%H:%M'))\n"
                     "print(' '.join('%.17g' % x for x in np.concatenate(\n"
                     "      [d['actual'], d['naive'], d['snaive']])).replace('nan', 'NA'))\n",
                     &py, &err, h5, NULL);
    cr_assert_eq(rc, 0, "python: %s", err);
    /* both packages: the same two lines as pandas (cat adds a space before the newline) */
    char *want = malloc(2 * strlen(py) + 16), *w = want;
    for (int k = 0; k < 2; k++)
        for (const char *s = py; *s; s++) {
            if (*s == '\n')
                *w++ = ' ';
            *w++ = *s;
        }
    *w = '\0';
    cr_assert_str_eq(r_out, want);
    free(want);
}

/* A forecast export records what made it as a backtest export does: the seed and the scaler
 * the model was trained with (fitted on the training rows, before the validation split). */
Test(eval_stages, forecast_export_records_the_seed_and_the_scaler)
{
    tsft_need_python_modules("pandas,h5py");
    work_dir = tsft_tmpdir();
    const char *data = wave_csv("wave.csv", 60, 50, SIZE_MAX, 0, SIZE_MAX);
    const char *h5 = tsft_path(work_dir, "fc.h5");
    char *out, *err;
    int rc = tsft_tsflow(&out, &err, "forecast", data, "--id-column", "id", "--horizon", "3",
                         "--epochs", "1", "--hidden", "4", "--seed", "42", "--out", h5, NULL);
    cr_assert_eq(rc, 0, "%s", err);
    char *py = NULL;
    rc = tsft_python("import sys, h5py\n"
                     "a = h5py.File(sys.argv[1]).attrs\n"
                     "print(a['seed'], a['scaler_kind'], a['scaler_columns'], "
                     "list(a['scaler_shape']), len(a['scaler_center']))\n",
                     &py, &err, h5, NULL);
    cr_assert_eq(rc, 0, "python: %s", err);
    cr_assert_str_eq(py, "42 zscore y [1, 1, 1] 1\n");
}

/* backtest reads an HDF5 file directly (--key): the same series saved by pandas give the same
 * forecasts as the CSV. */
Test(eval_stages, backtest_reads_hdf5_input_with_key_as_it_reads_the_csv)
{
    tsft_need_python_modules("pandas,tables");
    work_dir = tsft_tmpdir();
    const char *data = wave_csv("wave.csv", 60, 50, SIZE_MAX, 0, SIZE_MAX);
    const char *h5 = tsft_path(work_dir, "wave.h5"), *a = tsft_path(work_dir, "a.h5"),
               *b = tsft_path(work_dir, "b.h5");
    char *out, *err;
    cr_assert_eq(tsft_python("import sys, pandas as pd\n"
                             "d = pd.read_csv(sys.argv[1], parse_dates=['time'])\n"
                             "d.set_index(['id', 'time']).to_hdf(sys.argv[2], 'waves')\n",
                             &out, &err, data, h5, NULL),
                 0, "%s", err);
    int rc = tsft_tsflow(&out, &err, "backtest", data, "--id-column", "id", "--horizon", "3",
                         "--model", "none", "--out", a, NULL);
    cr_assert_eq(rc, 0, "%s", err);
    rc = tsft_tsflow(&out, &err, "backtest", h5, "--key", "waves", "--horizon", "3", "--model",
                     "none", "--out", b, NULL);
    cr_assert_eq(rc, 0, "%s", err);
    char *py = NULL;
    rc = tsft_python("import sys, pandas as pd\n"
                     "x, y = (pd.read_hdf(p, 'forecasts') for p in sys.argv[1:3])\n"
                     "print(len(x) > 0 and x.equals(y))\n",
                     &py, &err, a, b, NULL);
    cr_assert_eq(rc, 0, "python: %s", err);
    cr_assert_str_eq(py, "True\n");
    rc = tsft_tsflow(&out, &err, "backtest", h5, "--id-column", "id", "--horizon", "3", "--out", b,
                     NULL);
    cr_assert_eq(rc, 2);
    char want[512];
    snprintf(want, sizeof want,
             "tsflow: backtest: --id-column applies to CSV; %s is HDF5, whose long frames carry "
             "their series ids in a pandas (id, time) index\n",
             h5);
    cr_assert_str_eq(err, want);
}
