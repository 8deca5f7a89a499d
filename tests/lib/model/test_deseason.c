/* Seasonal adjustment (tsflow/deseason.h): the indices and the adjusted series against
 * statsmodels' seasonal_decompose on a real series, the inverse, the auto rule on simulated
 * series, the errors, and in a backtest: forecasts of the first fold do not change when the
 * data after its cutoff does; a trained model forecasts what a backtest refit on the same rows
 * does. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"
#include "tsflow/deseason.h"
#include "tsflow/io.h"
#include "tsflow/rnn_forecaster.h"
#include "tsflow/rnn_model.h"

/* statsmodels' CO2 (Mauna Loa, weekly) as month-start means, the last 240 months (printed with
 * repr, so the C side reads the same doubles), then seasonal_decompose's figure (one season of
 * its `seasonal`) and the seasonally adjusted series, additive then multiplicative. */
static const char decompose_py[] =
    "import statsmodels.api as sm\n"
    "from statsmodels.tsa.seasonal import seasonal_decompose\n"
    "y = sm.datasets.co2.load_pandas().data['co2'].resample('MS').mean().interpolate()\n"
    "y = y.iloc[-240:]\n"
    "show = lambda v: print(' '.join(repr(float(x)) for x in v))\n"
    "show(y)\n"
    "for model in ('additive', 'multiplicative'):\n"
    "    d = seasonal_decompose(y, model=model, period=12)\n"
    "    show(d.seasonal.iloc[:12])\n"
    "    show(y - d.seasonal if model == 'additive' else y / d.seasonal)\n";

Test(deseason, indices_and_adjusted_series_match_statsmodels_seasonal_decompose)
{
    tsft_need_python_modules("statsmodels, pandas");
    char *out = NULL, *perr = NULL;
    int rc = tsft_python(decompose_py, &out, &perr, NULL);
    cr_assert_eq(rc, 0, "python: %s", perr);
    size_t n, k;
    double *y = tsft_nums(tsft_line(out, 0), &n);
    cr_assert_eq(n, 240);
    const tsf_deseason modes[] = {TSF_DESEASON_ADD, TSF_DESEASON_MULT};
    double *adj = malloc(n * sizeof *adj);
    for (int j = 0; j < 2; j++) {
        double *fig = tsft_nums(tsft_line(out, 1 + 2 * j), &k);
        double *want = tsft_nums(tsft_line(out, 2 + 2 * j), &k);
        cr_assert_eq(k, n);
        tsf_seasonal s;
        tsf_err err = TSF_ERR_INIT;
        cr_assert_eq(tsf_seasonal_fit(&s, y, n, 12, modes[j], &err), TSF_OK, "%s", err.msg);
        cr_assert_eq(s.kind, modes[j]);
        /* the same moving averages and means in another order: agreement to rounding */
        tsft_assert_close(s.index, fig, 12, 1e-12, 1e-12, j ? "mult figure" : "add figure");
        for (size_t t = 0; t < n; t++)
            adj[t] = tsf_seasonal_adjust(&s, y[t], t);
        tsft_assert_close(adj, want, n, 1e-12, 1e-12, j ? "mult adjusted" : "add adjusted");
        free(fig);
        free(want);
    }
    free(adj);
    free(y);
}

/* y_t = level_t (1 + a sin) (mult) or level_t + b sin, level_t = 50 + 0.8 t, plus small
 * uniform noise; n values. */
static void simulated(double *y, size_t n, int mult, double noise, unsigned long long seed)
{
    for (size_t t = 0; t < n; t++) {
        double lev = 50 + 0.8 * (double)t, s = sin(2 * M_PI * (double)t / 12);
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        double u = (double)(seed >> 11) / 9007199254740992.0 - 0.5;
        y[t] = (mult ? lev * (1 + 0.3 * s) : lev + 15 * s) + noise * u;
    }
}

Test(deseason, restore_inverts_adjust_to_rounding)
{
    double y[96];
    simulated(y, 96, 1, 2, 3);
    for (int mode = TSF_DESEASON_ADD; mode <= TSF_DESEASON_MULT; mode++) {
        tsf_seasonal s;
        cr_assert_eq(tsf_seasonal_fit(&s, y, 96, 12, (tsf_deseason)mode, NULL), TSF_OK);
        for (size_t t = 0; t < 96 + 24; t++) { /* past the fitted rows, as forecasts are */
            double v = t < 96 ? y[t] : 100 + (double)t;
            double back = tsf_seasonal_restore(&s, tsf_seasonal_adjust(&s, v, t), t);
            cr_assert(fabs(back - v) <= 4e-16 * fabs(v) * 4, "%s row %zu: %.17g back as %.17g",
                      tsf_deseason_name((tsf_deseason)mode), t, v, back);
        }
    }
}

Test(deseason, auto_tells_multiplicative_additive_and_none_apart)
{
    double y[144];
    tsf_seasonal s;
    simulated(y, 144, 1, 2, 1);
    cr_assert_eq(tsf_seasonal_fit(&s, y, 144, 12, TSF_DESEASON_AUTO, NULL), TSF_OK);
    cr_assert_eq(s.kind, TSF_DESEASON_MULT, "%s", s.why);
    cr_assert_str_eq(s.why, "multiplicative (season 12, auto)");
    simulated(y, 144, 0, 2, 1);
    cr_assert_eq(tsf_seasonal_fit(&s, y, 144, 12, TSF_DESEASON_AUTO, NULL), TSF_OK);
    cr_assert_eq(s.kind, TSF_DESEASON_ADD, "%s", s.why);
    /* the same additive series shifted below zero: multiplicative is impossible */
    for (size_t t = 0; t < 144; t++)
        y[t] -= 500;
    cr_assert_eq(tsf_seasonal_fit(&s, y, 144, 12, TSF_DESEASON_AUTO, NULL), TSF_OK);
    cr_assert_eq(s.kind, TSF_DESEASON_ADD, "%s", s.why);
    /* noise alone: no significant lag-12 autocorrelation, nothing removed */
    unsigned long long st = 5;
    for (size_t t = 0; t < 144; t++) {
        st = st * 6364136223846793005ULL + 1442695040888963407ULL;
        y[t] = 10 + (double)(st >> 11) / 9007199254740992.0;
    }
    cr_assert_eq(tsf_seasonal_fit(&s, y, 144, 12, TSF_DESEASON_AUTO, NULL), TSF_OK);
    cr_assert_eq(s.kind, TSF_DESEASON_NONE);
    cr_assert_str_eq(s.why, "none (no significant autocorrelation at the season's lag)");
    /* 23 rows: fewer than two seasons */
    simulated(y, 23, 1, 0, 1);
    cr_assert_eq(tsf_seasonal_fit(&s, y, 23, 12, TSF_DESEASON_AUTO, NULL), TSF_OK);
    cr_assert_str_eq(s.why, "none (fewer than two seasons)");
    cr_assert_eq(tsf_seasonal_fit(&s, y, 23, 1, TSF_DESEASON_AUTO, NULL), TSF_OK);
    cr_assert_str_eq(s.why, "none (no season)");
}

Test(deseason, explicit_modes_refuse_what_the_data_cannot_take)
{
    double y[48];
    simulated(y, 48, 0, 0, 1);
    y[30] = -1;
    tsf_seasonal s;
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_seasonal_fit(&s, y, 48, 12, TSF_DESEASON_MULT, &err), TSF_EINVAL);
    cr_assert_str_eq(err.msg, "deseason multiplicative: training value 31 is -1 (expected "
                              "positive values, or deseason = additive)");
    cr_assert_eq(tsf_seasonal_fit(&s, y, 20, 12, TSF_DESEASON_ADD, &err), TSF_EINVAL);
    cr_assert_str_eq(err.msg, "deseason additive: 20 training rows are fewer than two seasons of "
                              "12 (expected at least 24, or deseason = auto or none)");
    y[3] = NAN;
    cr_assert_eq(tsf_seasonal_fit(&s, y, 48, 12, TSF_DESEASON_AUTO, &err), TSF_ENUMERIC);
    cr_assert_str_eq(err.msg,
                     "deseason: training value 4 of 48 is nan (impute missing values first)");
    cr_assert_eq(tsf_deseason_parse("multiplicative"), TSF_DESEASON_MULT);
    cr_assert_eq(tsf_deseason_parse("mult"), -1);
}

/* A monthly CSV of n rows from 1990-01; values y. */
static void write_monthly(const char *path, const double *y, size_t n)
{
    size_t cap = 64 * n + 16, len = 0;
    char *text = malloc(cap);
    len += (size_t)snprintf(text, cap, "date,y\n");
    for (size_t t = 0; t < n; t++)
        len += (size_t)snprintf(text + len, cap - len, "%04zu-%02zu-01,%.17g\n", 1990 + t / 12,
                                t % 12 + 1, y[t]);
    tsft_write_file(path, text, len);
    free(text);
}

/* The network's forecasts (the 9th column, after the 8th, the actual) of the rows of a
 * forecast CSV whose fold (the 7th column) is 0, one per line. */
static char *fold0_forecasts(const char *csv)
{
    char *text = tsft_read_file(csv, NULL), *keep = calloc(1, strlen(text) + 1);
    cr_assert(text);
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        const char *c[9] = {line};
        for (int k = 1; k < 9 && c[k - 1]; k++)
            c[k] = strchr(c[k - 1], ',') ? strchr(c[k - 1], ',') + 1 : NULL;
        if (c[8] && !strncmp(c[6], "0,", 2))
            strcat(strcat(keep, c[8]), "\n");
    }
    free(text);
    return tsft_keep(keep);
}

Test(deseason, backtest_forecasts_before_a_cutoff_ignore_the_rows_after_it, .timeout = 120)
{
    double y[96];
    simulated(y, 96, 1, 3, 11);
    const char *dir = tsft_tmpdir();
    const char *a = tsft_path(dir, "a.csv"), *b = tsft_path(dir, "b.csv");
    write_monthly(a, y, 96);
    for (size_t t = 72; t < 96; t++) /* the test part: every row after the first cutoff */
        y[t] *= 3;
    write_monthly(b, y, 96);
    const char *fc[2];
    char *log[2];
    for (int k = 0; k < 2; k++) {
        char *out = NULL, *err = NULL;
        const char *csv = tsft_path(dir, k ? "b_fc.csv" : "a_fc.csv");
        int rc =
            tsft_tsflow(&out, &err, "backtest", k ? b : a, "--horizon", "12", "--test-fraction",
                        "0.25", "--epochs", "4", "--hidden", "4", "--deseason", "multiplicative",
                        "--out", tsft_path(dir, k ? "b.h5" : "a.h5"), "--csv", csv, NULL);
        cr_assert_eq(rc, 0, "%s", err);
        fc[k] = fold0_forecasts(csv);
        log[k] = err;
    }
    cr_assert(strlen(fc[0]) > 12 * 10, "no fold 0 forecasts: %s", fc[0]);
    cr_assert_str_eq(fc[0], fc[1], "fold 0 changed with the data after its cutoff");
    cr_assert(strstr(log[0], "fit at fold 0: ") &&
                  strstr(log[0], "; deseason multiplicative (season 12)\n"),
              "%s", log[0]);
}

Test(deseason, a_trained_model_takes_an_explicit_mode)
{
    double y[96];
    simulated(y, 96, 1, 3, 11);
    const char *path = tsft_path(tsft_tmpdir(), "f.csv");
    write_monthly(path, y, 96);
    char *out = NULL, *err = NULL;
    int rc = tsft_tsflow(&out, &err, "forecast", path, "--horizon", "12", "--deseason", "additive",
                         "--epochs", "3", "--out", tsft_path(tsft_tmpdir(), "f.h5"), NULL);
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert(strstr(err, "model: lstm: deseason additive (season 12)\n"), "%s", err);
}

Test(deseason, auto_leaves_a_series_alone_when_the_fit_has_200_windows, .timeout = 120)
{
    double y[300];
    simulated(y, 300, 1, 3, 11);
    const char *dir = tsft_tmpdir(), *path = tsft_path(dir, "long.csv");
    write_monthly(path, y, 300);
    char *out = NULL, *err = NULL;
    /* fit rows [0, 264) with lookback 24 and horizon 12: 229 windows */
    int rc = tsft_tsflow(&out, &err, "backtest", path, "--horizon", "12", "--test-fraction", "0.12",
                         "--lookback", "24", "--epochs", "1", "--hidden", "4", "--retrain", "never",
                         "--out", tsft_path(dir, "l.h5"), NULL);
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert(strstr(err, "; deseason none (229 windows: enough to learn the season)\n"), "%s",
              err);
    /* asked for explicitly, the indices are used whatever the windows */
    rc = tsft_tsflow(&out, &err, "backtest", path, "--horizon", "12", "--test-fraction", "0.12",
                     "--lookback", "24", "--epochs", "1", "--hidden", "4", "--retrain", "never",
                     "--deseason", "additive", "--out", tsft_path(dir, "l.h5"), NULL);
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert(strstr(err, "; deseason additive (season 12)\n"), "%s", err);
}

Test(deseason, each_series_of_a_long_table_gets_its_own_choice, .timeout = 120)
{
    /* series "a": multiplicative season on a trend; series "b": noise around 10 */
    double y[2][96];
    simulated(y[0], 96, 1, 2, 5);
    unsigned long long st = 9;
    for (size_t t = 0; t < 96; t++) {
        st = st * 6364136223846793005ULL + 1442695040888963407ULL;
        y[1][t] = 10 + (double)(st >> 11) / 9007199254740992.0;
    }
    size_t cap = 2 * 96 * 64 + 16, len = 0;
    char *text = malloc(cap);
    len += (size_t)snprintf(text, cap, "date,id,y\n");
    for (int k = 0; k < 2; k++)
        for (size_t t = 0; t < 96; t++)
            len += (size_t)snprintf(text + len, cap - len, "%04zu-%02zu-01,%c,%.17g\n",
                                    1990 + t / 12, t % 12 + 1, "ab"[k], y[k][t]);
    const char *dir = tsft_tmpdir(), *path = tsft_path(dir, "long.csv");
    tsft_write_file(path, text, len);
    free(text);
    char *out = NULL, *err = NULL;
    int rc = tsft_tsflow(&out, &err, "backtest", path, "--id-column", "id", "--horizon", "12",
                         "--test-fraction", "0.25", "--epochs", "2", "--hidden", "4", "--out",
                         tsft_path(dir, "l.h5"), NULL);
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert(strstr(err, "; deseason (season 12): 1 multiplicative, 0 additive, 1 none\n"), "%s",
              err);
}

/* The refit's way (tsf_rnn_forecaster's fit and forecast on one fold ending at the data's end)
 * and the trained model's way (tsf_rnn_model_deseason, adjusted windows, tsf_rnn_model_train,
 * tsf_rnn_model_forecast on the frame in its units) on the same rows with the same seed: the
 * same indices, the same network, the same forecasts to the bit. */
Test(deseason, a_trained_model_forecasts_what_a_refit_on_the_same_rows_forecasts, .timeout = 120)
{
    double y[84];
    simulated(y, 84, 1, 3, 17);
    const char *path = tsft_path(tsft_tmpdir(), "m.csv");
    write_monthly(path, y, 84);
    tsf_err err = TSF_ERR_INIT;
    tsf_frame *f = NULL;
    tsf_csv_options opt;
    tsf_csv_options_init(&opt);
    cr_assert_eq(tsf_csv_read(&f, path, &opt, NULL, &err), TSF_OK, "%s", err.msg);
    cr_assert_eq(tsf_freq_season(&f->freq), 12);
    tsf_rnn_forecaster_config cfg;
    tsf_rnn_forecaster_config_init(&cfg);
    cfg.arch.hidden = 8;
    cfg.inorm = TSF_INORM_LAST;
    cfg.lookback = 12;
    cfg.train.epochs = 6;
    cfg.train.batch_size = 16;
    cfg.deseason = TSF_DESEASON_AUTO;
    cfg.season = 12;
    const size_t L = 12, target = 0;
    /* the refit */
    tsf_forecaster fr;
    tsf_rnn_forecaster(&fr, &cfg);
    tsf_range all = {0, f->n_rows};
    tsf_fold_ctx ctx = {
        .hist = f, .fit = &all, .targets = &target, .n_targets = 1, .horizon = L, .seed = 5};
    void *state = NULL;
    cr_assert_eq(fr.fit(fr.self, &ctx, NULL, &state, &err), TSF_OK, "%s", err.msg);
    double refit[12];
    for (size_t l = 0; l < L; l++)
        refit[l] = NAN;
    cr_assert_eq(fr.forecast(fr.self, state, &ctx, 0, refit, &err), TSF_OK, "%s", err.msg);
    fr.free_state(fr.self, state);
    /* the trained model */
    tsf_window_spec spec = {
        .lookback = 12, .horizon = L, .stride = 1, .target_cols = &target, .n_targets = 1};
    tsf_windows *w = NULL, *aw = NULL;
    tsf_frame *af = NULL;
    tsf_rnn_model *m = NULL;
    tsf_forecasts *fc = NULL;
    char note[160];
    tsf_train_config tc = cfg.train;
    tc.seed = 5;
    cr_assert_eq(tsf_windows_make(&w, f, &spec, 0, f->n_rows, 1, &err), TSF_OK, "%s", err.msg);
    cr_assert_eq(tsf_rnn_model_create(&m, NULL, &cfg.arch, w, NULL, cfg.inorm, &cfg.loss,
                                      tc.batch_size, &err),
                 TSF_OK, "%s", err.msg);
    cr_assert_eq(tsf_rnn_model_deseason(m, w, TSF_DESEASON_AUTO, 0, note, sizeof note, &err),
                 TSF_OK, "%s", err.msg);
    cr_assert_str_eq(note, "deseason multiplicative (season 12, auto)");
    cr_assert_eq(tsf_rnn_model_adjust_windows(m, w, &af, &aw, &err), TSF_OK, "%s", err.msg);
    cr_assert(aw && aw->n_windows == w->n_windows);
    cr_assert_eq(tsf_rnn_model_train(m, aw, NULL, &tc, NULL, &err), TSF_OK, "%s", err.msg);
    cr_assert_eq(tsf_rnn_model_forecast(m, f, 0, &fc, &err), TSF_OK, "%s", err.msg);
    for (size_t l = 0; l < L; l++) {
        double v = *tsf_forecasts_at(fc, 0, l, 0, 0);
        cr_assert(v == refit[l], "step %zu: the model %.17g, the refit %.17g", l + 1, v, refit[l]);
    }
    /* and the season is on them: April (sin = 1) above October (sin = -1) */
    cr_assert(refit[3] > 1.5 * refit[9], "Apr %g, Oct %g", refit[3], refit[9]);
    tsf_forecasts_free(fc);
    tsf_rnn_model_free(m);
    tsf_windows_free(aw);
    tsf_frame_free(af);
    tsf_windows_free(w);
    tsf_frame_free(f);
}
