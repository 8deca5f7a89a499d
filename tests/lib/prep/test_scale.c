/* Scalers (checked against numpy and scipy), constant columns, inversion, and per-window
 * instance normalization. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "frames.h"
#include "support.h"
#include "tsflow/scale.h"

/* n rows of 3 columns of pseudo-random positive values with different levels. */
static tsf_frame *random_frame(size_t n, unsigned long long seed)
{
    double *d = malloc(3 * n * sizeof *d);
    for (size_t r = 0; r < n; r++) {
        d[r] = 50 + 10 * trand(&seed);
        d[n + r] = exp(3 * trand(&seed)); /* skewed, for Box-Cox */
        d[2 * n + r] = 0.001 + trand(&seed);
    }
    tsf_frame *f = tframe(3, n, d, 0, 0);
    free(d);
    return f;
}

/* Ask numpy/scipy: run code with the frame's first `n` rows saved as text (argv[1]); parse
 * the printed numbers into want. */
static void python_ref(const tsf_frame *f, size_t n, const char *code, double *want, size_t k)
{
    tsft_need_python_modules("numpy, scipy");
    size_t cap = n * f->n_cols * 28 + 1, len = 0;
    char *txt = malloc(cap);
    for (size_t r = 0; r < n; r++)
        for (size_t j = 0; j < f->n_cols; j++)
            len += (size_t)snprintf(txt + len, cap - len, "%.17g%c", f->cols[j][r],
                                    j + 1 < f->n_cols ? ' ' : '\n');
    const char *path = tsft_path(tsft_tmpdir(), "scale.txt");
    tsft_write_file(path, txt, len);
    free(txt);
    char *out = NULL, *perr = NULL;
    int rc = tsft_python(code, &out, &perr, path, NULL);
    cr_assert_eq(rc, 0, "python failed: %s", perr);
    char *p = out;
    for (size_t i = 0; i < k; i++)
        want[i] = strtod(p, &p);
}

Test(scale, zscore_uses_mean_and_population_std_of_the_training_rows_only)
{
    tsf_err err = TSF_ERR_INIT;
    tsf_frame *f = random_frame(500, 3);
    double want[6];
    python_ref(f, 300,
               "import sys, numpy as np\nx = np.loadtxt(sys.argv[1])\n"
               "print(*[repr(float(v)) for v in x.mean(0)], *[repr(float(v)) for v in "
               "x.std(0, ddof=0)])\n",
               want, 6);
    tsf_scale_spec spec;
    tsf_scale_spec_init(&spec);
    const tsf_range train[] = {{0, 300}};
    tsf_scaler *s;
    cr_assert_eq(tsf_scaler_fit(&s, f, &spec, train, &err), TSF_OK, "%s", err.msg);
    double got[6];
    for (size_t j = 0; j < 3; j++)
        cr_assert(tsf_scaler_params(s, 0, j, &got[j], &got[3 + j], NULL));
    tsft_assert_close(got, want, 6, 1e-13, 0, "mean and std vs numpy");
    cr_assert_eq(s->fit[0].begin, 0);
    cr_assert_eq(s->fit[0].end, 300);

    /* apply transforms every row with the training parameters; invert restores them */
    tsf_frame *orig = NULL;
    cr_assert_eq(tsf_frame_copy_rows(&orig, f, 0, f->n_rows, &err), TSF_OK);
    cr_assert_eq(tsf_scaler_apply(s, f, NULL, &err), TSF_OK, "%s", err.msg);
    cr_assert_float_eq(f->cols[0][400], (orig->cols[0][400] - want[0]) / want[3], 1e-12);
    cr_assert_float_eq(tsf_scaler_to_original(s, 0, 1, f->cols[1][450]), orig->cols[1][450], 1e-12);
    cr_assert_eq(tsf_scaler_invert(s, f, NULL, &err), TSF_OK, "%s", err.msg);
    for (size_t j = 0; j < 3; j++)
        tsft_assert_close(f->cols[j], orig->cols[j], 500, 1e-14, 1e-14, "round trip");
    tsf_scaler_free(s);
    tsf_frame_free(orig);
    tsf_frame_free(f);
}

Test(scale, minmax_and_robust_match_numpy)
{
    tsf_err err = TSF_ERR_INIT;
    tsf_frame *f = random_frame(201, 5);
    double want[12];
    python_ref(f, 201,
               "import sys, numpy as np\nx = np.loadtxt(sys.argv[1])\n"
               "q = np.percentile(x, [25, 50, 75], axis=0)\n"
               "print(*[repr(float(v)) for v in np.concatenate([x.min(0), x.max(0) - x.min(0), "
               "q[1], q[2] - q[0]])])\n",
               want, 12);
    tsf_scale_spec spec;
    tsf_scale_spec_init(&spec);
    spec.kind = TSF_SCALE_MINMAX;
    tsf_scaler *s;
    cr_assert_eq(tsf_scaler_fit(&s, f, &spec, NULL, &err), TSF_OK, "%s", err.msg);
    double got[12];
    for (size_t j = 0; j < 3; j++)
        tsf_scaler_params(s, 0, j, &got[j], &got[3 + j], NULL);
    tsf_scaler_free(s);
    spec.kind = TSF_SCALE_ROBUST;
    cr_assert_eq(tsf_scaler_fit(&s, f, &spec, NULL, &err), TSF_OK, "%s", err.msg);
    for (size_t j = 0; j < 3; j++)
        tsf_scaler_params(s, 0, j, &got[6 + j], &got[9 + j], NULL);
    tsf_scaler_free(s);
    tsft_assert_close(got, want, 12, 1e-14, 0, "min, range, median, IQR vs numpy");
    tsf_frame_free(f);
}

Test(scale, box_cox_lambda_matches_scipy_and_inverts)
{
    tsf_err err = TSF_ERR_INIT;
    tsf_frame *f = random_frame(400, 9);
    double want[3];
    python_ref(f, 400,
               "import sys, numpy as np, scipy.stats as st\nx = np.loadtxt(sys.argv[1])\n"
               "print(*[repr(float(st.boxcox_normmax(x[:, j], method='mle'))) for j in "
               "range(3)])\n",
               want, 3);
    tsf_scale_spec spec;
    tsf_scale_spec_init(&spec);
    spec.pre = TSF_PRE_BOXCOX;
    tsf_scaler *s;
    cr_assert_eq(tsf_scaler_fit(&s, f, &spec, NULL, &err), TSF_OK, "%s", err.msg);
    double got[3];
    for (size_t j = 0; j < 3; j++)
        tsf_scaler_params(s, 0, j, NULL, NULL, &got[j]);
    tsft_assert_close(got, want, 3, 1e-5, 1e-6, "Box-Cox lambda vs scipy");
    /* z-scored Box-Cox values: mean 0, std 1 on the training rows, and invertible */
    double x = f->cols[1][17];
    double z = tsf_scaler_to_scaled(s, 0, 1, x);
    cr_assert_float_eq(tsf_scaler_to_original(s, 0, 1, z), x, 1e-12 * x);
    cr_assert_eq(tsf_scaler_apply(s, f, NULL, &err), TSF_OK, "%s", err.msg);
    tsf_col_stats cs;
    tsf_frame_col_stats(f, 1, &cs);
    cr_assert_float_eq(cs.mean, 0, 1e-12);
    cr_assert_float_eq(cs.std, 1, 1e-12);
    tsf_scaler_free(s);
    tsf_frame_free(f);
    cr_assert_float_eq(tsf_boxcox(8, 1.0 / 3), 3.0, 1e-15); /* (8^(1/3) - 1) * 3 */
    cr_assert_float_eq(tsf_boxcox_inverse(3.0, 1.0 / 3), 8, 1e-13);
    cr_assert(isnan(tsf_boxcox_inverse(-4, 0.5))); /* 1 + 0.5 * -4 < 0: outside the range */
}

Test(scale, log_refuses_non_positive_values_naming_the_row)
{
    tsf_err err = TSF_ERR_INIT;
    const double d[] = {1, 2, 0, 4, 5, 6};
    tsf_frame *f = tframe(1, 6, d, 1467331200 * SEC, 3600 * SEC);
    tsf_scale_spec spec;
    tsf_scale_spec_init(&spec);
    spec.pre = TSF_PRE_LOG;
    tsf_scaler *s = (tsf_scaler *)1;
    cr_assert_eq(tsf_scaler_fit(&s, f, &spec, NULL, &err), TSF_EINVAL);
    cr_assert_null(s);
    cr_assert_str_eq(err.msg, "normalize: column \"a\" of the series is 0 at row 2 (2016-07-01 "
                              "02:00:00) in the training rows; transform = log needs values > 0");
    /* Fitted on rows 3.. it is fine, but applying it to row 2 is refused, frame untouched. */
    const tsf_range train[] = {{3, 6}};
    cr_assert_eq(tsf_scaler_fit(&s, f, &spec, train, &err), TSF_OK, "%s", err.msg);
    cr_assert_eq(tsf_scaler_apply(s, f, NULL, &err), TSF_EINVAL);
    tsft_assert_identical(f->cols[0], d, 6, "frame after a refused apply");
    tsf_scaler_free(s);
    tsf_frame_free(f);
}

Test(scale, a_constant_column_is_an_error_or_only_centered_never_divided_by_zero)
{
    tsf_err err = TSF_ERR_INIT;
    const double d[] = {1, 2, 3, 4, 0.1, 0.1, 0.1, 0.1};
    tsf_frame *f = tframe(2, 4, d, 0, 0);
    tsf_scale_spec spec;
    tsf_scale_spec_init(&spec);
    tsf_scaler *s;
    cr_assert_eq(tsf_scaler_fit(&s, f, &spec, NULL, &err), TSF_ENUMERIC);
    cr_assert_str_eq(err.msg, "normalize: column \"b\" of the series is constant "
                              "(0.10000000000000001) over its 4 training values: zscore scaling "
                              "would divide by zero (set constant = center to only subtract "
                              "the center, or drop the column)");
    spec.on_constant = TSF_CONST_CENTER;
    for (int k = TSF_SCALE_ZSCORE; k <= TSF_SCALE_ROBUST; k++) {
        spec.kind = (tsf_scale_kind)k;
        cr_assert_eq(tsf_scaler_fit(&s, f, &spec, NULL, &err), TSF_OK, "%s", err.msg);
        cr_assert_eq(s->constant[1], 1);
        cr_assert_eq(s->scale[1], 1);
        double z = tsf_scaler_to_scaled(s, 0, 1, 0.1);
        cr_assert(isfinite(z) && fabs(z) < 1e-15, "%s: z = %g", tsf_scale_kind_name(spec.kind), z);
        tsf_scaler_free(s);
    }
    tsf_frame_free(f);
}

Test(scale, per_series_parameters_come_from_each_series_own_training_rows)
{
    tsf_err err = TSF_ERR_INIT;
    const double d[] = {1, 3, 100, 10, 20, 1000};
    tsf_frame *f = tframe(1, 6, d, 0, 0);
    const size_t starts[] = {0, 3, 6};
    tseries(f, 2, starts, NULL);
    const tsf_range train[] = {{0, 2}, {3, 5}};
    tsf_scale_spec spec;
    tsf_scale_spec_init(&spec);
    spec.per_series = 1;
    tsf_scaler *s;
    cr_assert_eq(tsf_scaler_fit(&s, f, &spec, train, &err), TSF_OK, "%s", err.msg);
    double c, sd;
    tsf_scaler_params(s, 0, 0, &c, &sd, NULL);
    cr_assert(c == 2 && sd == 1, "series 0: %g %g", c, sd);
    tsf_scaler_params(s, 1, 0, &c, &sd, NULL);
    cr_assert(c == 15 && sd == 5, "series 1: %g %g", c, sd);
    cr_assert_eq(tsf_scaler_apply(s, f, NULL, &err), TSF_OK);
    const double want[] = {-1, 1, 98, -1, 1, 197};
    tsft_assert_identical(f->cols[0], want, 6, "per-series z-scores");
    /* pooled: one mean and std over the four training values 1, 3, 10, 20 */
    cr_assert_eq(tsf_scaler_invert(s, f, NULL, &err), TSF_OK);
    tsft_assert_identical(f->cols[0], d, 6, "inverted");
    tsf_scaler_free(s);
    spec.per_series = 0;
    cr_assert_eq(tsf_scaler_fit(&s, f, &spec, train, &err), TSF_OK);
    cr_assert_eq(s->n_groups, 1);
    tsf_scaler_params(s, 1, 0, &c, NULL, NULL);
    cr_assert_eq(c, 8.5);
    tsf_scaler_free(s);
    tsf_frame_free(f);
}

Test(inorm, subtracts_the_last_value_or_mean_of_the_targets_and_restores_forecasts)
{
    /* x: (T=3, B=2, I=2); channel 0 is the target, channel 1 a covariate left alone */
    float x[] = {1, 50, 10, 60, 2, 51, 20, 61, 6, 52, 30, 62};
    float shift[2];
    tsf_inorm_apply(TSF_INORM_LAST, 3, 2, 2, 1, x, shift);
    cr_assert(shift[0] == 6 && shift[1] == 30);
    const float want_x[] = {-5, 50, -20, 60, -4, 51, -10, 61, 0, 52, 0, 62};
    tsft_assert_close_f(x, want_x, 12, 0, 0, "x after last-value normalization");
    /* yhat: (L=2, B=2, C*Q = 1*3) */
    float yhat[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
    tsf_inorm_restore(2, 2, 1, 3, yhat, shift);
    const float want_y[] = {6, 7, 8, 33, 34, 35, 12, 13, 14, 39, 40, 41};
    tsft_assert_close_f(yhat, want_y, 12, 0, 0, "restored yhat");

    double xd[] = {1, 10, 2, 20, 6, 30}; /* (T=3, B=2, I=1) */
    double sd[2];
    tsf_inorm_apply_d(TSF_INORM_MEAN, 3, 2, 1, 1, xd, sd);
    cr_assert(sd[0] == 3 && sd[1] == 20);
    const double want_d[] = {-2, -10, -1, 0, 3, 10};
    tsft_assert_identical(xd, want_d, 6, "x after mean normalization");
    cr_assert_eq(tsf_inorm_parse(tsf_inorm_name(TSF_INORM_MEAN)), TSF_INORM_MEAN);
}
