/* Split conformal calibration (tsflow/calibrate.h): the rank rule on interval scores and on
 * residuals worked out by hand, when shifts are per step or pooled, coverage on simulated
 * Gaussian errors against the binomial tolerance of a known truth, with and without a
 * calibration set off-centre, and pooled shifts against numpy. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../prep/frames.h"
#include "support.h"
#include "tsflow/calibrate.h"

static const double levels[3] = {0.1, 0.5, 0.9};

/* n forecasts of L steps, one target: point 0 and levels (-w, 0, +w) * spread[l]; actuals
 * from y(i, l). */
static void forecasts(double *value, double *actual, size_t n, size_t L, double w,
                      const double *spread, double (*y)(size_t i, size_t l, void *), void *u)
{
    for (size_t i = 0; i < n; i++)
        for (size_t l = 0; l < L; l++) {
            double *v = value + (i * L + l) * 4;
            v[0] = 0;
            v[1] = -w * spread[l];
            v[2] = 0;
            v[3] = w * spread[l];
            actual[i * L + l] = y(i, l, u);
        }
}

/* actual = i + 1: the residuals of the levels are 1..n (+ the level's offset) */
static double counting(size_t i, size_t l, void *u)
{
    (void)l;
    (void)u;
    return (double)(i + 1);
}

/* Levels 0.1 and 0.9 at 0 and actuals 1..n: the interval scores max(0 - y, y - 0) are 1..n */
Test(calibrate, widens_a_central_interval_by_the_score_of_rank_ceil_of_n_plus_1_content)
{
    double value[19 * 4], actual[19], one = 1;
    tsf_calibration *c = NULL;
    tsf_err err = TSF_ERR_INIT;
    /* n = 9: content 0.8 -> rank ceil(8) = 8: the interval widens by 8 on both sides */
    forecasts(value, actual, 9, 1, 0, &one, counting, NULL);
    cr_assert_eq(tsf_calibration_fit(&c, value, actual, 9, 1, 1, levels, 3, &err), TSF_OK, "%s",
                 err.msg);
    cr_assert_not_null(c);
    cr_assert_eq(c->shift[0], -8);
    cr_assert_eq(c->shift[1], 0, "the median is not shifted");
    cr_assert_eq(c->shift[2], 8);
    cr_assert_eq(c->n_residuals, 9);
    tsf_calibration_free(c);
    /* n = 19: ceil(16) = 16 */
    forecasts(value, actual, 19, 1, 0, &one, counting, NULL);
    cr_assert_eq(tsf_calibration_fit(&c, value, actual, 19, 1, 1, levels, 3, &err), TSF_OK);
    cr_assert_eq(c->shift[0], -16);
    cr_assert_eq(c->shift[2], 16);
    tsf_calibration_free(c);
    /* n = 8 is too few for 0.9 (rank ceil(8.1) = 9 > 8): no calibration */
    c = (tsf_calibration *)&err; /* must be reset */
    cr_assert_eq(tsf_calibration_fit(&c, value, actual, 8, 1, 1, levels, 3, &err), TSF_OK);
    cr_assert_null(c);
}

/* Levels without their mirror (0.1 and 0.8: no 0.2, no 0.9) are shifted one by one */
Test(calibrate, shifts_a_level_without_its_mirror_by_the_residual_of_rank_ceil_or_floor)
{
    static const double lv[3] = {0.1, 0.5, 0.8};
    double value[19 * 4], actual[19], one = 1;
    tsf_calibration *c = NULL;
    tsf_err err = TSF_ERR_INIT;
    /* n = 19, residuals 1..19: 0.8 -> rank ceil(16) = 16, 0.1 -> rank floor(2) = 2 */
    forecasts(value, actual, 19, 1, 0, &one, counting, NULL);
    cr_assert_eq(tsf_calibration_fit(&c, value, actual, 19, 1, 1, lv, 3, &err), TSF_OK, "%s",
                 err.msg);
    cr_assert_not_null(c);
    cr_assert_eq(c->shift[0], 2);
    cr_assert_eq(c->shift[1], 0);
    cr_assert_eq(c->shift[2], 16);
    tsf_calibration_free(c);
}

Test(calibrate, is_per_step_from_39_residuals_a_step_and_pooled_below)
{
    const size_t L = 3;
    double value[39 * 3 * 4], actual[39 * 3], spread[3] = {1, 1, 1};
    tsf_calibration *c = NULL;
    tsf_err err = TSF_ERR_INIT;
    forecasts(value, actual, 39, L, 0, spread, counting, NULL);
    cr_assert_eq(tsf_calibration_fit(&c, value, actual, 39, L, 1, levels, 3, &err), TSF_OK);
    cr_assert(c->per_step);
    cr_assert_eq(c->n_residuals, 39);
    tsf_calibration_free(c);
    /* 38 a step: pooled over the 3 steps (114 residuals, every step the same shift) */
    forecasts(value, actual, 38, L, 0, spread, counting, NULL);
    cr_assert_eq(tsf_calibration_fit(&c, value, actual, 38, L, 1, levels, 3, &err), TSF_OK);
    cr_assert(!c->per_step);
    cr_assert_eq(c->n_residuals, 114);
    /* scores 1..38 three times: content 0.8 -> rank ceil(115 * 0.8) = 92 of the sorted 114 */
    cr_assert_eq(c->shift[2], 31);
    cr_assert_eq(c->shift[2], c->shift[2 * 3 + 2]);
    tsf_calibration_free(c);
}

Test(calibrate, refuses_forecasts_without_levels)
{
    double v[2] = {0}, a[1] = {0};
    tsf_calibration *c = NULL;
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_calibration_fit(&c, v, a, 1, 1, 1, NULL, 0, &err), TSF_EINVAL);
    cr_assert_str_eq(err.msg, "calibration: the forecasts have no quantile levels");
}

Test(calibrate, sorts_levels_a_shift_made_cross)
{
    double shift[3] = {2, 0, 0}; /* level 0.1 moved above the median */
    tsf_calibration *c = NULL;
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_calibration_make(&c, 1, 1, levels, 3, 0, 10, shift, &err), TSF_OK);
    double v[4] = {0, -1, 0, 1};
    tsf_calibration_apply(c, v, 1, 1, 1, 4);
    cr_assert_eq(v[0], 0, "the point forecast is kept");
    cr_assert_eq(v[1], 0);
    cr_assert_eq(v[2], 1);
    cr_assert_eq(v[3], 1);
    tsf_calibration_free(c);
}

/* A standard normal draw times the step's noise scale (Box-Muller on the test's LCG). */
typedef struct gauss {
    unsigned long long st;
    const double *sigma;
} gauss;

static double normal(size_t i, size_t l, void *u)
{
    (void)i;
    gauss *g = u;
    double a = trand(&g->st), b = trand(&g->st);
    if (a < 1e-300)
        a = 1e-300;
    return g->sigma[l] * sqrt(-2 * log(a)) * cos(2 * M_PI * b);
}

static double coverage(const double *value, const double *actual, size_t n, size_t L, size_t l)
{
    size_t in = 0;
    for (size_t i = 0; i < n; i++) {
        const double *v = value + (i * L + l) * 4;
        double y = actual[i * L + l];
        in += v[1] <= y && y <= v[3];
    }
    return (double)in / (double)n;
}

/* Errors N(0, 1) at step 1 and N(0, 4) at step 2, quantiles (-0.5, 0, 0.5) at both: the
 * uncalibrated 80% interval covers P(|z| < 0.5) = 0.383 and P(|z| < 0.25) = 0.197. Calibrated
 * on 2000 forecasts, judged on 5000 new ones per step: the coverage of a conformal interval
 * given its calibration set varies with sd <= sqrt((0.1 * 0.9 + 0.1 * 0.9) / 2000) = 0.0095
 * (each end's level is a Beta-distributed order statistic), the judged share around it with
 * binomial sd sqrt(0.8 * 0.2 / 5000) = 0.0057; together 0.011. The ranks round outwards by at
 * most 2 / 2001 = 0.001. So 0.8 +- 0.045 is four standard deviations: the fixed seed makes the
 * test repeatable, and a calibration that did not widen the step-2 interval twice as much as
 * step 1's (pooled, or none) lands far outside. */
Test(calibrate, gaussian_errors_are_covered_80_percent_per_step_after_calibration)
{
    const size_t L = 2, nc = 2000, nt = 5000;
    const double sigma[2] = {1, 2}, unit[2] = {1, 1};
    double *vc = malloc(nc * L * 4 * sizeof *vc), *ac = malloc(nc * L * sizeof *ac);
    double *vt = malloc(nt * L * 4 * sizeof *vt), *at = malloc(nt * L * sizeof *at);
    cr_assert(vc && ac && vt && at);
    gauss g = {12345, sigma};
    forecasts(vc, ac, nc, L, 0.5, unit, normal, &g);
    forecasts(vt, at, nt, L, 0.5, unit, normal, &g);
    double before[2] = {coverage(vt, at, nt, L, 0), coverage(vt, at, nt, L, 1)};
    tsf_calibration *c = NULL;
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_calibration_fit(&c, vc, ac, nc, L, 1, levels, 3, &err), TSF_OK, "%s", err.msg);
    cr_assert(c->per_step);
    tsf_calibration_apply(c, vt, nt, 1, L, 4);
    for (size_t l = 0; l < L; l++) {
        double after = coverage(vt, at, nt, L, l);
        cr_assert(fabs(after - 0.8) <= 0.045,
                  "step %zu: calibrated coverage %.4f, expected 0.8 "
                  "+- 0.045",
                  l + 1, after);
        cr_assert(fabs(before[l] - 0.8) > 0.3, "step %zu: uncalibrated coverage %.4f", l + 1,
                  before[l]);
        /* the upper shift is about the N(0, sigma^2) 0.9 quantile minus 0.5 */
        double want = 1.2816 * sigma[l] - 0.5;
        cr_assert(fabs(c->shift[l * 3 + 2] - want) < 0.1 * sigma[l],
                  "step %zu: shift %.4f, expected about %.4f", l + 1, c->shift[l * 3 + 2], want);
    }
    char d[256];
    cr_assert(strstr(tsf_calibration_describe(c, d, sizeof d),
                     "conformal, per step on 2000 residuals: level 0.1 shifted by "),
              "%s", d);
    tsf_calibration_free(c);
    free(vc);
    free(ac);
    free(vt);
    free(at);
}

/* N(b, 1) plus the step's offset: a calibration set whose errors share an offset b. */
typedef struct shifted {
    gauss g;
    double b;
} shifted;

static double normal_plus(size_t i, size_t l, void *u)
{
    shifted *s = u;
    return s->b + normal(i, l, &s->g);
}

/* Calibration windows that share an offset the final model does not have (consecutive
 * windows of one stretch whose local level the refit on every window has learnt): errors
 * N(b, 1) on the 2000 calibration forecasts, N(0, 1) on the 5000 judged ones, quantiles
 * (-0.5, 0, 0.5). Shifting each level by its own residual quantile would move the interval to
 * b +- 1.28 and cover P(-1.28 - |b| < z < 1.28 - |b|) = 0.665 for |b| = 0.8; widening it on
 * both sides by the interval score's quantile keeps it centred and covers at least 0.8 (here
 * P(|z| < 1.66) = 0.90) whichever the offset's sign. Tolerance as above: 0.8 - 0.045. */
Test(calibrate, an_off_centre_calibration_set_still_gives_80_percent_coverage)
{
    const size_t nc = 2000, nt = 5000;
    const double sigma[1] = {1}, unit[1] = {1};
    double *vc = malloc(nc * 4 * sizeof *vc), *ac = malloc(nc * sizeof *ac);
    double *vt = malloc(nt * 4 * sizeof *vt), *at = malloc(nt * sizeof *at);
    cr_assert(vc && ac && vt && at);
    for (int sign = -1; sign <= 1; sign += 2) {
        shifted s = {{777, sigma}, 0.8 * sign};
        forecasts(vc, ac, nc, 1, 0.5, unit, normal_plus, &s);
        s.b = 0;
        forecasts(vt, at, nt, 1, 0.5, unit, normal_plus, &s);
        tsf_calibration *c = NULL;
        tsf_err err = TSF_ERR_INIT;
        cr_assert_eq(tsf_calibration_fit(&c, vc, ac, nc, 1, 1, levels, 3, &err), TSF_OK, "%s",
                     err.msg);
        cr_assert_eq(c->shift[0], -c->shift[2], "offset %+.1f: the interval stays centred",
                     0.8 * sign);
        tsf_calibration_apply(c, vt, nt, 1, 1, 4);
        double after = coverage(vt, at, nt, 1, 0);
        cr_assert(after >= 0.8 - 0.045, "offset %+.1f: calibrated coverage %.4f, expected >= 0.755",
                  0.8 * sign, after);
        tsf_calibration_free(c);
    }
    free(vc);
    free(ac);
    free(vt);
    free(at);
}

/* Pooled over the steps of a few windows (2 windows x 12 steps, as a short monthly series'
 * early-stopping tail gives): the 0.1-0.9 interval widens by the split conformal quantile of
 * the 24 interval scores, checked against numpy: the order statistic of rank
 * ceil((n + 1) 0.8) is np.quantile(s, rank / n, method="inverted_cdf"), the rank computed in
 * exact fractions, then kept only where it widens (2 windows are fewer than the rank needs).
 * The forecasts and actuals are pseudo-random, so every score differs. */
Test(calibrate, pooled_shifts_of_a_few_windows_are_numpys_conformal_quantiles)
{
    tsft_need_python_modules("numpy");
    enum { E = 2, L = 12, P = 4 };
    double value[E * L * P], actual[E * L];
    unsigned long long lcg = 2024;
    char vs[E * L * P * 26], as[E * L * 26];
    size_t nv = 0, na = 0;
    for (size_t i = 0; i < E * L; i++) {
        double u[3];
        for (int k = 0; k < 3; k++) {
            lcg = lcg * 6364136223846793005ULL + 1442695040888963407ULL;
            u[k] = (double)(lcg >> 11) / 9007199254740992.0;
        }
        double *v = value + i * P;
        v[2] = 10 * u[0];
        v[0] = v[2];
        v[1] = v[2] - 0.5 - u[1];
        v[3] = v[2] + 0.5 + u[1];
        actual[i] = v[2] + 6 * (u[2] - 0.5);
        for (int p = 0; p < P; p++)
            nv += (size_t)sprintf(vs + nv, "%s%.17g", nv ? "," : "", v[p]);
        na += (size_t)sprintf(as + na, "%s%.17g", na ? "," : "", actual[i]);
    }
    tsf_calibration *c = NULL;
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_calibration_fit(&c, value, actual, E, L, 1, levels, 3, &err), TSF_OK, "%s",
                 err.msg);
    cr_assert_not_null(c);
    cr_assert(!c->per_step);
    cr_assert(c->widen_only); /* 2 residuals a step, fewer than the 9 the rank needs */
    cr_assert_eq(c->n_residuals, E * L);
    char *out, *perr;
    int rc = tsft_python("import sys, math\n"
                         "from fractions import Fraction as F\n"
                         "import numpy as np\n"
                         "v = np.array(sys.argv[1].split(','), float).reshape(-1, 4)\n"
                         "y = np.array(sys.argv[2].split(','), float)\n"
                         "r = np.maximum(v[:, 1] - y, y - v[:, 3])\n"
                         "n = len(r)\n"
                         "k = math.ceil((n + 1) * F(4, 5))\n"
                         "e = max(float(np.quantile(r, k / n, method='inverted_cdf')), 0.0)\n"
                         "print(repr(-e), repr(e))\n",
                         &out, &perr, vs, as, NULL);
    cr_assert_eq(rc, 0, "%s", perr);
    double want[2];
    cr_assert_eq(sscanf(out, "%lf %lf", &want[0], &want[1]), 2, "%s", out);
    for (size_t l = 0; l < L; l++) {
        cr_assert_eq(c->shift[l * 3 + 0], want[0], "step %zu, level 0.1: %.17g, numpy %.17g", l + 1,
                     c->shift[l * 3 + 0], want[0]);
        cr_assert_eq(c->shift[l * 3 + 1], 0.0);
        cr_assert_eq(c->shift[l * 3 + 2], want[1], "step %zu, level 0.9: %.17g, numpy %.17g", l + 1,
                     c->shift[l * 3 + 2], want[1]);
    }
    tsf_calibration_free(c);
}

/* Fewer windows than the rank needs (3 windows x 4 steps): actuals well inside a too-wide
 * interval would narrow it pooled (interval scores y - 3 = -3 .. -2.89), so both shifts are 0
 * and the interval stays the network's; with 9 windows of one step the rank rule holds and the
 * same scores narrow it. */
Test(calibrate, with_fewer_windows_than_the_rank_needs_the_shifts_only_widen)
{
    enum { P = 4 };
    double value[12 * P], actual[12];
    for (size_t i = 0; i < 12; i++) {
        double *v = value + i * P;
        v[0] = v[2] = 0;
        v[1] = -3;
        v[3] = 3;
        actual[i] = 0.01 * (double)i;
    }
    tsf_calibration *c = NULL;
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_calibration_fit(&c, value, actual, 3, 4, 1, levels, 3, &err), TSF_OK, "%s",
                 err.msg);
    cr_assert(c && c->widen_only && !c->per_step);
    for (size_t l = 0; l < 4; l++) {
        cr_assert_eq(c->shift[l * 3 + 0], 0.0, "step %zu: %g", l + 1, c->shift[l * 3 + 0]);
        cr_assert_eq(c->shift[l * 3 + 2], 0.0, "step %zu: %g", l + 1, c->shift[l * 3 + 2]);
    }
    char d[256];
    cr_assert(strstr(tsf_calibration_describe(c, d, sizeof d),
                     "conformal, pooled over the steps, widening only, on 12 residuals"
                     ": level 0.1 shifted by 0, level 0.9 shifted by 0 on average"),
              "%s", d);
    tsf_calibration *copy = NULL;
    cr_assert_eq(tsf_calibration_copy(&copy, c, &err), TSF_OK);
    cr_assert(copy->widen_only);
    tsf_calibration_free(copy);
    tsf_calibration_free(c);
    /* 9 windows of 1 step: rank ceil(10 x 0.8) = 8 of the scores -3.00 .. -2.92 */
    cr_assert_eq(tsf_calibration_fit(&c, value, actual, 9, 1, 1, levels, 3, &err), TSF_OK);
    cr_assert(c && !c->widen_only);
    cr_assert_float_eq(c->shift[0], 3.0 - 0.07, 1e-12);
    cr_assert_float_eq(c->shift[2], -3.0 + 0.07, 1e-12);
    tsf_calibration_free(c);
}
