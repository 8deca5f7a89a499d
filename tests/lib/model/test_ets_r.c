/* ETS and Theta checked against R's forecast package (forecast::ets, forecast::thetaf), run at
 * test time through tests/reference/ets_r.R on seeded simulated series of several model types
 * (additive and multiplicative season, damped trend, a season longer than a third of the
 * series) and on the shipped Mauna Loa CO2 series aggregated to months. Skips with a message
 * when Rscript or the forecast package is missing (scripts/setup.sh installs both).
 *
 * What is compared, and why these tolerances:
 *  1. The model itself, exactly: forecast's own likelihood code (etscalc) evaluated at the
 *     parameters and initial states tsflow fitted gives tsflow's log-likelihood to 1e-9
 *     (relative) and the same point forecasts to 1e-9 (relative): the state recursion, the
 *     likelihood and the forecasts are R's, up to rounding.
 *  2. The optimiser. Both fits are local Nelder-Mead searches from the same starting values
 *     but with different simplices and stopping rules (GSL's nmsimplex2 with restarts; R's
 *     nmmin stops when the simplex's function values agree to 1.5e-8 relative, which on data in
 *     the hundreds can happen before the smoothing parameters moved). So the optima differ; we
 *     assert that tsflow's is never materially worse: for every model both fit, tsflow's
 *     log-likelihood is at least R's minus 0.5, i.e. at most 1 unit of AIC(c) worse, less than
 *     the 2 units under which models count as equally supported (Burnham & Anderson 2002).
 *  3. The choice: tsflow's chosen model has an AICc at most R's chosen model's AICc plus 1 (by
 *     R's own criterion, tsflow's choice is at least as good, up to the tolerance of 2.).
 *     When both choose the same model and reach the same optimum (log-likelihoods within
 *     0.05), the point forecasts agree within 1% (flat directions of the likelihood, such as
 *     gamma near its lower bound, let parameters differ at equal likelihood).
 *  4. Theta: two parameters (alpha, l0) and a smooth least-squares objective, so R's and
 *     tsflow's optima agree closely: same seasonality decision, forecasts within 1e-5 (both
 *     optimisers stop within about 1e-6 of the optimum; seen: at most 2e-6).
 * The per-series figures are printed to stderr (model R chose vs tsflow's, log-likelihoods,
 * forecast differences). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"
#include "tsflow/ets.h"

#define MAX_SERIES 16
#define MAX_N 1024
#define MAX_H 48
#define N_MODELS 15

static const char *const models[N_MODELS] = {"ANN",  "AAN",  "AAdN", "ANA",  "AAA",
                                             "AAdA", "MNN",  "MAN",  "MAdN", "MNA",
                                             "MAA",  "MAdA", "MNM",  "MAM",  "MAdM"};

typedef struct ref_series {
    char name[64];
    size_t m, n;
    double y[MAX_N];
    char auto_model[8];
    double auto_loglik, auto_aicc, auto_f[MAX_H];
    double loglik[N_MODELS], aicc[N_MODELS]; /* NaN: R could not fit it */
    int theta_seasonal;
    double theta_alpha, theta_drift, theta_f[MAX_H];
    double eval_loglik[N_MODELS], eval_f[N_MODELS][MAX_H]; /* R at tsflow's parameters */
} ref_series;

static size_t horizon(size_t m)
{
    return 2 * m > 10 ? 2 * m : 10;
}

static void need_r(void)
{
    char *argv[] = {"sh", "-c", "command -v Rscript >/dev/null", NULL};
    if (tsft_run(argv, NULL, NULL) != 0)
        cr_skip_test("Rscript is not installed (scripts/setup.sh installs Debian's r-base-core "
                     "and r-cran-forecast)");
    char *argv2[] = {"Rscript", "-e",
                     "quit(status = if (requireNamespace('forecast', quietly = TRUE)) 0 else 3)",
                     NULL};
    if (tsft_run(argv2, NULL, NULL) != 0)
        cr_skip_test("R's forecast package is not installed (scripts/setup.sh installs Debian's "
                     "r-cran-forecast)");
}

/* Mauna Loa weekly CO2 to monthly means; a month without a measurement is interpolated
 * linearly between its neighbours (5 of 526 months). y: (MAX_N). Returns n. */
static size_t co2_monthly(double *y)
{
    char *text = tsft_read_file(tsft_source("datasets/mauna_loa_co2/co2_weekly.csv"), NULL);
    cr_assert(text, "datasets/mauna_loa_co2/co2_weekly.csv is missing");
    size_t n = 0, cnt = 0;
    char cur[8] = "";
    double sum = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (!strncmp(line, "date", 4))
            continue;
        if (strncmp(line, cur, 7) != 0) {
            if (cur[0]) {
                y[n++] = cnt ? sum / (double)cnt : NAN;
                cr_assert(n < MAX_N);
            }
            memcpy(cur, line, 7);
            cur[7] = 0;
            sum = 0, cnt = 0;
        }
        const char *v = strchr(line, ',');
        if (v && v[1] && v[1] != '\r')
            sum += strtod(v + 1, NULL), cnt++;
    }
    y[n++] = cnt ? sum / (double)cnt : NAN;
    for (size_t i = 0; i < n; i++)
        if (isnan(y[i])) {
            size_t j = i;
            while (isnan(y[j]))
                j++;
            cr_assert(i > 0 && j < n);
            y[i] = y[i - 1] + (y[j] - y[i - 1]) / (double)(j - i + 1);
        }
    return n;
}

static void put_series(FILE *fp, const char *name, size_t m, const double *y, size_t n)
{
    fprintf(fp, "%s %zu", name, m);
    for (size_t i = 0; i < n; i++)
        fprintf(fp, " %.17g", y[i]);
    fprintf(fp, "\n");
}

static ref_series *find(ref_series *S, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(S[i].name, name))
            return &S[i];
    cr_assert_fail("R's output names a series \"%s\" that was not sent", name);
    return NULL;
}

static int model_index(const char *md)
{
    for (int k = 0; k < N_MODELS; k++)
        if (!strcmp(models[k], md))
            return k;
    return N_MODELS;
}

static void read_doubles(char **save, double *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char *t = strtok_r(NULL, " ", save);
        cr_assert(t, "R's output line is short");
        out[i] = strtod(t, NULL);
    }
}

/* Parse the fit and eval outputs into S (n_series filled by "series" lines). */
static size_t parse_r(ref_series *S, size_t n_series, char *text)
{
    char *save_line;
    for (char *line = strtok_r(text, "\n", &save_line); line;
         line = strtok_r(NULL, "\n", &save_line)) {
        char *save;
        char *kind = strtok_r(line, " ", &save), *name = strtok_r(NULL, " ", &save);
        cr_assert(kind && name);
        if (!strcmp(kind, "series")) {
            cr_assert(n_series < MAX_SERIES);
            ref_series *s = &S[n_series++];
            snprintf(s->name, sizeof s->name, "%s", name);
            s->m = strtoul(strtok_r(NULL, " ", &save), NULL, 10);
            for (char *t; (t = strtok_r(NULL, " ", &save));)
                s->y[s->n++] = strtod(t, NULL);
            for (int k = 0; k < N_MODELS; k++)
                s->loglik[k] = s->aicc[k] = NAN;
            continue;
        }
        ref_series *s = find(S, n_series, name);
        if (!strcmp(kind, "auto")) {
            snprintf(s->auto_model, sizeof s->auto_model, "%s", strtok_r(NULL, " ", &save));
            read_doubles(&save, &s->auto_loglik, 1);
            read_doubles(&save, &s->auto_aicc, 1);
            read_doubles(&save, s->auto_f, horizon(s->m));
        } else if (!strcmp(kind, "model")) {
            int k = model_index(strtok_r(NULL, " ", &save));
            cr_assert(k < N_MODELS);
            read_doubles(&save, &s->loglik[k], 1);
            read_doubles(&save, &s->aicc[k], 1);
        } else if (!strcmp(kind, "theta")) {
            double v[3];
            read_doubles(&save, v, 3);
            s->theta_seasonal = (int)v[0], s->theta_alpha = v[1], s->theta_drift = v[2];
            read_doubles(&save, s->theta_f, horizon(s->m));
        } else if (!strcmp(kind, "eval")) {
            char *md = strtok_r(NULL, " ", &save);
            int k = model_index(md);
            cr_assert(k < N_MODELS);
            read_doubles(&save, &s->eval_loglik[k], 1);
            read_doubles(&save, s->eval_f[k], horizon(s->m));
        } else {
            cr_assert_fail("unexpected line kind \"%s\" from ets_r.R", kind);
        }
    }
    return n_series;
}

static void model_code(const tsf_ets *e, char *buf)
{
    static const char *const k = "NAM";
    sprintf(buf, "%c%c%s%c", k[e->error], k[e->trend], e->damped ? "d" : "", k[e->season]);
}

/* m: the series' season (R's forecasts run over 2m steps whatever the model) */
static void put_params(FILE *fp, const char *name, size_t m, const tsf_ets *e)
{
    char code[8];
    model_code(e, code);
    fprintf(fp, "%s %s %zu %.17g %.17g %.17g %.17g", name, code, m, e->alpha, e->beta, e->gamma,
            e->phi);
    size_t nx = 1 + (e->trend != TSF_ETS_NONE) + (e->season ? e->m : 0);
    for (size_t i = 0; i < nx; i++)
        fprintf(fp, " %.17g", e->init[i]);
    fprintf(fp, "\n");
}

static double max_rel(const double *a, const double *b, size_t n)
{
    double mx = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs(a[i] - b[i]) / fabs(b[i]);
        if (!(d <= mx))
            mx = d;
    }
    return mx;
}

static char *run_r(char *const argv[])
{
    char *out = NULL, *err = NULL;
    int rc = tsft_run_in(NULL, 600, argv, &out, &err);
    cr_assert_eq(rc, 0, "Rscript %s failed (%d): %s", argv[2], rc, err);
    return err;
}

Test(ets_r, agrees_with_forecast_ets_and_thetaf)
{
    need_r();
    const char *dir = tsft_tmpdir();
    const char *in = tsft_path(dir, "series.txt"), *fit_out = tsft_path(dir, "r_fit.txt");
    const char *par = tsft_path(dir, "params.txt"), *eval_out = tsft_path(dir, "r_eval.txt");
    static double co2[MAX_N];
    size_t n_co2 = co2_monthly(co2);
    cr_assert_eq(n_co2, 526, "CO2 months: %zu (expected 1958-03 to 2001-12)", n_co2);
    FILE *fp = fopen(in, "w");
    cr_assert(fp);
    put_series(fp, "co2_monthly", 12, co2, n_co2);
    put_series(fp, "co2_monthly_120", 12, co2, 120);
    fclose(fp);

    const char *script = tsft_source("tests/reference/ets_r.R");
    char *fit_argv[] = {"Rscript", (char *)script, "fit", (char *)in, (char *)fit_out, NULL};
    run_r(fit_argv);
    static ref_series S[MAX_SERIES];
    size_t n_series = parse_r(S, 0, tsft_keep(tsft_read_file(fit_out, NULL)));
    cr_assert_geq(n_series, 9);

    /* tsflow's fits: the automatic choice and the 15 models */
    static tsf_ets chosen[MAX_SERIES], fits[MAX_SERIES][N_MODELS];
    static int fitted[MAX_SERIES][N_MODELS];
    static tsf_theta theta[MAX_SERIES];
    fp = fopen(in, "w");
    FILE *pp = fopen(par, "w");
    cr_assert(fp && pp);
    for (size_t i = 0; i < n_series; i++) {
        ref_series *s = &S[i];
        tsf_err err = TSF_ERR_INIT;
        put_series(fp, s->name, s->m, s->y, s->n);
        cr_assert_eq(tsf_ets_fit(&chosen[i], s->y, s->n, s->m, NULL, &err), TSF_OK, "%s: %s",
                     s->name, err.msg);
        for (int k = 0; k < N_MODELS; k++) {
            fitted[i][k] = tsf_ets_fit(&fits[i][k], s->y, s->n, s->m, models[k], &err) == TSF_OK;
            if (fitted[i][k])
                put_params(pp, s->name, s->m, &fits[i][k]);
        }
        cr_assert_eq(tsf_theta_fit(&theta[i], s->y, s->n, s->m, &err), TSF_OK, "%s: %s", s->name,
                     err.msg);
    }
    fclose(fp);
    fclose(pp);
    char *eval_argv[] = {"Rscript",   (char *)script,   "eval", (char *)in,
                         (char *)par, (char *)eval_out, NULL};
    run_r(eval_argv);
    char *text = tsft_keep(tsft_read_file(eval_out, NULL));
    for (size_t i = 0; i < n_series; i++)
        for (int k = 0; k < N_MODELS; k++)
            S[i].eval_loglik[k] = NAN;
    parse_r(S, n_series, text);

    fprintf(stderr, "%-16s %-6s %-6s %12s %12s %10s %10s %9s %9s\n", "series", "R", "tsflow",
            "loglik R", "loglik tsf", "AICc R", "AICc tsf", "fc rel", "theta rel");
    size_t n_pairs = 0, n_worse = 0, n_better = 0;
    for (size_t i = 0; i < n_series; i++) {
        ref_series *s = &S[i];
        const size_t h = horizon(s->m);
        double f[MAX_H];
        char code[8];
        /* 1. exact: R's likelihood and forecasts at tsflow's parameters */
        for (int k = 0; k < N_MODELS; k++) {
            if (!fitted[i][k])
                continue;
            cr_assert(!isnan(s->eval_loglik[k]), "%s %s: no eval from R", s->name, models[k]);
            cr_assert_float_eq(fits[i][k].loglik, s->eval_loglik[k], 1e-9 * fabs(s->eval_loglik[k]),
                               "%s %s: tsflow's loglik %.12g, R's at the same parameters %.12g",
                               s->name, models[k], fits[i][k].loglik, s->eval_loglik[k]);
            tsf_ets_forecast(&fits[i][k], h, f);
            char what[256];
            snprintf(what, sizeof what, "%.64s %s: forecasts vs R's at the same parameters",
                     s->name, models[k]);
            tsft_assert_close(f, s->eval_f[k], h, 1e-9, 0, what);
            /* 2. the optimiser is never materially worse than R's (all listed, then asserted) */
            if (!isnan(s->loglik[k])) {
                n_pairs++;
                if (fits[i][k].loglik < s->loglik[k] - 0.5) {
                    n_worse++;
                    fprintf(stderr, "  %s %s: tsflow's loglik %.4f, R's %.4f\n", s->name, models[k],
                            fits[i][k].loglik, s->loglik[k]);
                }
                if (fits[i][k].loglik > s->loglik[k] + 0.5)
                    n_better++;
            }
        }
        /* 3. the choice, by AICc */
        model_code(&chosen[i], code);
        cr_assert_leq(chosen[i].aicc, s->auto_aicc + 1,
                      "%s: tsflow chose %s with AICc %.4f, R %s with %.4f", s->name, code,
                      chosen[i].aicc, s->auto_model, s->auto_aicc);
        tsf_ets_forecast(&chosen[i], h, f);
        double fr = max_rel(f, s->auto_f, h);
        if (!strcmp(code, s->auto_model) && fabs(chosen[i].loglik - s->auto_loglik) < 0.05)
            cr_assert_leq(fr, 1e-2, "%s: same model %s and optimum, forecasts differ by %.3g",
                          s->name, code, fr);
        /* 4. theta */
        double tf[MAX_H];
        tsf_theta_forecast(&theta[i], h, tf);
        cr_assert_eq(theta[i].seasonal, s->theta_seasonal, "%s: theta seasonal %d, R's %d", s->name,
                     theta[i].seasonal, s->theta_seasonal);
        double tr = max_rel(tf, s->theta_f, h);
        cr_assert_leq(tr, 1e-5, "%s: theta forecasts differ from thetaf's by %.3g", s->name, tr);
        fprintf(stderr, "%-16s %-6s %-6s %12.4f %12.4f %10.3f %10.3f %9.2e %9.2e\n", s->name,
                s->auto_model, code, s->auto_loglik, chosen[i].loglik, s->auto_aicc, chosen[i].aicc,
                fr, tr);
    }
    fprintf(stderr,
            "models fitted by both: %zu; tsflow's log-likelihood higher by > 0.5: %zu, "
            "lower by > 0.5: %zu\n",
            n_pairs, n_better, n_worse);
    cr_assert_eq(n_worse, 0, "tsflow's optimum is materially worse than R's for %zu models (above)",
                 n_worse);
}
