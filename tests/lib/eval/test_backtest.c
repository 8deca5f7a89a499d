/* Rolling-origin backtests: fold layout, fit windows, retrain and warm start, leak-freedom
 * (changing values after an origin never changes that fold's forecasts), jobs = N identical to
 * jobs = 1, deterministic errors, baselines on the same folds. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../prep/frames.h"
#include "support.h"
#include "tsflow/backtest.h"
#include "tsflow/baseline.h"
#include "tsflow/metrics.h"

/* ---- A small fitted model: AR(1) by least squares per series and target ----------------- */

typedef struct ar1 {
    size_t S, O;
    double *c, *phi; /* (S, O) */
} ar1;

static int ar1_fit(void *self, const tsf_fold_ctx *ctx, const void *warm, void **state,
                   tsf_err *err)
{
    (void)self;
    (void)warm;
    const tsf_frame *h = ctx->hist;
    ar1 *m = calloc(1, sizeof *m);
    m->S = h->n_series;
    m->O = ctx->n_targets;
    m->c = calloc(m->S * m->O, sizeof(double));
    m->phi = calloc(m->S * m->O, sizeof(double));
    for (size_t s = 0; s < m->S; s++)
        for (size_t o = 0; o < m->O; o++) {
            const double *x = h->cols[ctx->targets[o]];
            size_t a = ctx->fit[s].begin, b = ctx->fit[s].end;
            if (b - a < 3) {
                free(m->c);
                free(m->phi);
                free(m);
                TSF_FAIL(err, TSF_EINVAL, "ar1: %zu rows are too few", b - a);
            }
            double mx = 0, my = 0, sxy = 0, sxx = 0, n = (double)(b - a - 1);
            for (size_t r = a + 1; r < b; r++)
                mx += x[r - 1], my += x[r];
            mx /= n, my /= n;
            for (size_t r = a + 1; r < b; r++) {
                sxy += (x[r - 1] - mx) * (x[r] - my);
                sxx += (x[r - 1] - mx) * (x[r - 1] - mx);
            }
            double phi = sxx > 0 ? sxy / sxx : 0;
            m->phi[s * m->O + o] = phi;
            m->c[s * m->O + o] = my - phi * mx;
        }
    *state = m;
    return TSF_OK;
}

static int ar1_forecast(void *self, const void *state, const tsf_fold_ctx *ctx, size_t s,
                        double *out, tsf_err *err)
{
    (void)self;
    (void)err;
    const ar1 *m = state;
    const tsf_frame *h = ctx->hist;
    size_t P = 1 + ctx->n_quantiles, O = ctx->n_targets;
    for (size_t o = 0; o < O; o++) {
        double y = h->cols[ctx->targets[o]][h->series_start[s + 1] - 1];
        for (size_t l = 0; l < ctx->horizon; l++) {
            y = m->c[s * O + o] + m->phi[s * O + o] * y;
            out[(l * O + o) * P] = y;
            if (P == 3) { /* a crude interval, to exercise quantile slots */
                out[(l * O + o) * P + 1] = y - 1;
                out[(l * O + o) * P + 2] = y + 1;
            }
        }
    }
    return TSF_OK;
}

static void ar1_free(void *self, void *state)
{
    (void)self;
    ar1 *m = state;
    free(m->c);
    free(m->phi);
    free(m);
}

static const tsf_forecaster ar1_model = {.name = "ar1",
                                         .reentrant = 0,
                                         .fit = ar1_fit,
                                         .forecast = ar1_forecast,
                                         .free_state = ar1_free};

/* A seasonal series with trend and noise, 2 columns; optionally two series. */
static tsf_frame *series_frame(size_t n, size_t n_series)
{
    unsigned long long st = 99;
    double *d = malloc(2 * n * sizeof *d);
    for (size_t r = 0; r < n; r++) {
        double t = (double)r;
        d[r] = 10 + sin(2 * M_PI * t / 12) * 3 + 0.05 * t + trand(&st);
        d[n + r] = 5 * cos(2 * M_PI * t / 12) + trand(&st);
    }
    tsf_frame *f = tframe(2, n, d, 1467331200 * SEC, 3600 * SEC);
    free(d);
    if (n_series == 2) {
        const size_t starts[] = {0, n / 2, n};
        const char *ids[] = {"p", "q"};
        tseries(f, 2, starts, ids);
        for (size_t r = n / 2; r < n; r++)
            f->time[r] = f->time[r - n / 2];
    }
    return f;
}

Test(backtest, expanding_folds_refit_every_fold_and_record_their_fit_windows)
{
    tsf_err err = TSF_ERR_INIT;
    tsf_frame *f = series_frame(60, 1);
    const size_t tc[] = {0, 1};
    tsf_backtest_spec spec;
    tsf_backtest_spec_init(&spec);
    spec.train_length = 30;
    spec.stride = 5;
    spec.horizon = 6;
    spec.targets = tc;
    spec.n_targets = 2;
    tsf_backtest *bt;
    cr_assert_eq(tsf_backtest_run(&bt, f, &spec, &ar1_model, 1, &err), TSF_OK, "%s", err.msg);
    /* origins 30, 35, ..., 54 (54 + 6 = 60) */
    cr_assert_eq(bt->n_folds, 5);
    cr_assert_eq(bt->n_fits, 5);
    for (size_t k = 0; k < 5; k++) {
        cr_assert_eq(bt->folds[k].origin, 30 + 5 * k);
        cr_assert_eq(bt->folds[k].fit_fold, k);
        cr_assert_eq(bt->folds[k].fit_begin, 0);
        cr_assert_eq(bt->folds[k].fit_end, 30 + 5 * k);
        const tsf_fc_entry *e = &bt->fc->entry[k];
        cr_assert(e->fold == k && e->origin_row == 30 + 5 * k && e->fit_begin == 0 &&
                  e->fit_end == 30 + 5 * k);
        for (size_t o = 0; o < 2; o++)
            cr_assert(!isnan(tsf_forecasts_at(bt->fc, k, 5, o, 0)[0]));
    }
    cr_assert_null(bt->fc_norm);
    tsf_backtest_free(bt);
    tsf_frame_free(f);
}

Test(backtest, sliding_windows_retrain_every_n_and_never)
{
    tsf_err err = TSF_ERR_INIT;
    tsf_frame *f = series_frame(60, 1);
    const size_t tc[] = {0};
    tsf_backtest_spec spec;
    tsf_backtest_spec_init(&spec);
    spec.window = TSF_WINDOW_SLIDING;
    spec.train_length = 20;
    spec.first_origin = 30;
    spec.stride = 4;
    spec.horizon = 3;
    spec.retrain = 3;
    spec.targets = tc;
    spec.n_targets = 1;
    tsf_backtest *bt;
    cr_assert_eq(tsf_backtest_run(&bt, f, &spec, &ar1_model, 1, &err), TSF_OK, "%s", err.msg);
    /* origins 30, 34, ..., 54 (7 folds); fits at folds 0, 3, 6 */
    cr_assert_eq(bt->n_folds, 7);
    cr_assert_eq(bt->n_fits, 3);
    cr_assert(bt->fit_fold[0] == 0 && bt->fit_fold[1] == 3 && bt->fit_fold[2] == 6);
    cr_assert(bt->folds[4].fit_fold == 3 && bt->folds[4].fit_begin == 22 &&
              bt->folds[4].fit_end == 42);
    tsf_backtest_free(bt);

    spec.retrain = 0; /* never: one fit at fold 0 on rows [10, 30) */
    cr_assert_eq(tsf_backtest_run(&bt, f, &spec, &ar1_model, 1, &err), TSF_OK, "%s", err.msg);
    cr_assert_eq(bt->n_fits, 1);
    for (size_t k = 0; k < bt->n_folds; k++)
        cr_assert(bt->folds[k].fit_fold == 0 && bt->folds[k].fit_begin == 10 &&
                  bt->folds[k].fit_end == 30);
    tsf_backtest_free(bt);

    spec.last_points_only = 1;
    cr_assert_eq(tsf_backtest_run(&bt, f, &spec, &ar1_model, 1, &err), TSF_OK, "%s", err.msg);
    cr_assert_eq(bt->fc->n_steps, 1);
    cr_assert_eq(bt->fc->step0, 3);
    cr_assert_eq(bt->fc->actual[0], f->cols[0][32]);
    tsf_backtest_free(bt);
    tsf_frame_free(f);
}

/* ---- Warm start ----------------------------------------------------------------------------- */

static int count_fit(void *self, const tsf_fold_ctx *ctx, const void *warm, void **state,
                     tsf_err *err)
{
    (void)self;
    (void)err;
    int *n = malloc(sizeof *n);
    *n = (warm ? *(const int *)warm : 0) + 1;
    if (ctx->seed != 1000 + ctx->fold)
        *n = -1000; /* the seed must be spec seed + fold */
    *state = n;
    return TSF_OK;
}

static int count_forecast(void *self, const void *state, const tsf_fold_ctx *ctx, size_t s,
                          double *out, tsf_err *err)
{
    (void)self;
    (void)s;
    (void)err;
    for (size_t l = 0; l < ctx->horizon; l++)
        out[l * (1 + ctx->n_quantiles)] = *(const int *)state;
    return TSF_OK;
}

static void count_free(void *self, void *state)
{
    (void)self;
    free(state);
}

Test(backtest, warm_start_hands_each_fit_the_previous_state)
{
    tsf_err err = TSF_ERR_INIT;
    tsf_frame *f = series_frame(40, 1);
    const size_t tc[] = {0};
    const tsf_forecaster counter = {.name = "counter",
                                    .reentrant = 1,
                                    .fit = count_fit,
                                    .forecast = count_forecast,
                                    .free_state = count_free};
    tsf_backtest_spec spec;
    tsf_backtest_spec_init(&spec);
    spec.train_length = 20;
    spec.stride = 5;
    spec.horizon = 2;
    spec.targets = tc;
    spec.n_targets = 1;
    spec.seed = 1000;
    spec.jobs = 3;
    spec.warm_start = 1;
    tsf_backtest *bt;
    cr_assert_eq(tsf_backtest_run(&bt, f, &spec, &counter, 1, &err), TSF_OK, "%s", err.msg);
    cr_assert_eq(bt->n_folds, 4);
    for (size_t k = 0; k < 4; k++)
        cr_assert_eq(tsf_forecasts_at(bt->fc, k, 0, 0, 0)[0], (double)(k + 1));
    tsf_backtest_free(bt);
    spec.warm_start = 0;
    cr_assert_eq(tsf_backtest_run(&bt, f, &spec, &counter, 1, &err), TSF_OK, "%s", err.msg);
    for (size_t k = 0; k < 4; k++)
        cr_assert_eq(tsf_forecasts_at(bt->fc, k, 0, 0, 0)[0], 1);
    tsf_backtest_free(bt);
    tsf_frame_free(f);
}

/* ---- Leak-freedom and parallel determinism --------------------------------------------- */

static void leak_spec(tsf_backtest_spec *spec, const size_t *tc, tsf_impute_spec *imp,
                      tsf_scale_spec *sc)
{
    tsf_backtest_spec_init(spec);
    spec->train_length = 24;
    spec->stride = 7;
    spec->horizon = 5;
    spec->targets = tc;
    spec->n_targets = 2;
    tsf_impute_spec_init(imp);
    imp->method = TSF_IMPUTE_LINEAR;
    tsf_scale_spec_init(sc);
    spec->impute = imp;
    spec->scale = sc;
}

static tsf_forecaster *all_models(size_t *n, tsf_baseline_config *cfg)
{
    static tsf_forecaster m[5];
    m[0] = ar1_model;
    cfg[0] = (tsf_baseline_config){.kind = TSF_BASE_NAIVE};
    cfg[1] = (tsf_baseline_config){.kind = TSF_BASE_SNAIVE, .season = 12};
    cfg[2] = (tsf_baseline_config){.kind = TSF_BASE_DRIFT};
    cfg[3] = (tsf_baseline_config){.kind = TSF_BASE_MEAN};
    for (int k = 0; k < 4; k++)
        tsf_baseline_forecaster(&m[1 + k], &cfg[k], NULL);
    *n = 5;
    return m;
}

Test(backtest, changing_values_after_an_origin_never_changes_that_folds_forecasts)
{
    tsf_err err = TSF_ERR_INIT;
    tsf_frame *f = series_frame(100, 2); /* two series of 50 rows */
    f->cols[0][10] = NAN;                /* imputed (linearly) inside every history */
    f->cols[1][60] = NAN;
    const size_t tc[] = {0, 1};
    tsf_backtest_spec spec;
    tsf_impute_spec imp;
    tsf_scale_spec sc;
    leak_spec(&spec, tc, &imp, &sc);
    tsf_baseline_config cfg[4];
    size_t M;
    const tsf_forecaster *models = all_models(&M, cfg);
    tsf_backtest *ref;
    cr_assert_eq(tsf_backtest_run(&ref, f, &spec, models, M, &err), TSF_OK, "%s", err.msg);
    cr_assert_eq(ref->n_folds, 4); /* origins 24, 31, 38, 45 in each series */
    size_t per_entry = ref->fc->n_steps * ref->fc->n_targets * M * ref->fc->n_values;
    for (size_t k = 0; k < ref->n_folds; k++) {
        /* From the origin on, every value of both series changes (and gets a NaN, which a
         * leaking imputer or scaler would spread). */
        tsf_frame *g;
        cr_assert_eq(tsf_frame_copy_rows(&g, f, 0, f->n_rows, &err), TSF_OK);
        size_t o = ref->folds[k].origin;
        for (size_t s = 0; s < 2; s++)
            for (size_t r = g->series_start[s] + o; r < g->series_start[s + 1]; r++)
                for (size_t j = 0; j < 2; j++)
                    g->cols[j][r] = r % 3 == 0 ? NAN : 1e6 * (double)(r + j);
        tsf_backtest *bt;
        cr_assert_eq(tsf_backtest_run(&bt, g, &spec, models, M, &err), TSF_OK, "%s", err.msg);
        for (size_t e = 0; e < bt->fc->n_entries; e++) {
            if (bt->fc->entry[e].fold != k)
                continue;
            char what[64];
            snprintf(what, sizeof what, "fold %zu entry %zu", k, e);
            tsft_assert_identical(bt->fc->value + e * per_entry, ref->fc->value + e * per_entry,
                                  per_entry, what);
            tsft_assert_identical(bt->fc_norm->value + e * per_entry,
                                  ref->fc_norm->value + e * per_entry, per_entry, what);
        }
        /* ... while a later fold, which sees the changed rows, does change */
        if (k + 1 < ref->n_folds) {
            size_t e = ref->fc->n_entries - 1;
            cr_assert_neq(bt->fc->value[e * per_entry], ref->fc->value[e * per_entry]);
        }
        tsf_backtest_free(bt);
        tsf_frame_free(g);
    }
    tsf_backtest_free(ref);
    tsf_frame_free(f);
}

Test(backtest, jobs_n_gives_bit_identical_results_to_jobs_1)
{
    tsf_err err = TSF_ERR_INIT;
    tsf_frame *f = series_frame(200, 2);
    const size_t tc[] = {0, 1};
    const double lv[] = {0.1, 0.9};
    tsf_backtest_spec spec;
    tsf_impute_spec imp;
    tsf_scale_spec sc;
    leak_spec(&spec, tc, &imp, &sc);
    spec.stride = 3;
    spec.quantiles = lv;
    spec.n_quantiles = 2;
    tsf_baseline_config cfg[4];
    size_t M;
    const tsf_forecaster *models = all_models(&M, cfg);
    tsf_backtest *one, *many;
    cr_assert_eq(tsf_backtest_run(&one, f, &spec, models, M, &err), TSF_OK, "%s", err.msg);
    spec.jobs = 4;
    cr_assert_eq(tsf_backtest_run(&many, f, &spec, models, M, &err), TSF_OK, "%s", err.msg);
    cr_assert_eq(one->fc->n_entries, many->fc->n_entries);
    size_t n = one->fc->n_entries * one->fc->n_steps * one->fc->n_targets * M * 3;
    tsft_assert_identical(many->fc->value, one->fc->value, n, "forecasts, jobs 4 vs 1");
    tsft_assert_identical(many->fc_norm->value, one->fc_norm->value, n, "normalized forecasts");
    tsft_assert_identical(many->fc_norm->actual, one->fc_norm->actual,
                          one->fc->n_entries * one->fc->n_steps * 2, "normalized actuals");
    for (size_t g = 0; g < one->n_fits; g++)
        tsft_assert_identical(many->scalers[g]->center, one->scalers[g]->center, 2, "scalers");
    tsf_backtest_free(one);
    tsf_backtest_free(many);
    tsf_frame_free(f);
}

/* ---- Errors ------------------------------------------------------------------------------- */

static int failing_fit(void *self, const tsf_fold_ctx *ctx, const void *warm, void **state,
                       tsf_err *err)
{
    (void)self;
    (void)warm;
    *state = NULL;
    if (ctx->fold >= 3)
        TSF_FAIL(err, TSF_ENUMERIC, "loss is NaN");
    return TSF_OK;
}

static int nop_forecast(void *self, const void *state, const tsf_fold_ctx *ctx, size_t s,
                        double *out, tsf_err *err)
{
    (void)self, (void)state, (void)ctx, (void)s, (void)out, (void)err;
    return TSF_OK;
}

Test(backtest, reports_the_lowest_failing_fold_whatever_the_number_of_jobs)
{
    tsf_frame *f = series_frame(100, 1);
    const size_t tc[] = {0};
    const tsf_forecaster bad = {
        .name = "bad", .reentrant = 1, .fit = failing_fit, .forecast = nop_forecast};
    tsf_backtest_spec spec;
    tsf_backtest_spec_init(&spec);
    spec.train_length = 20;
    spec.stride = 5;
    spec.horizon = 1;
    spec.targets = tc;
    spec.n_targets = 1;
    for (size_t jobs = 1; jobs <= 4; jobs += 3) {
        tsf_err err = TSF_ERR_INIT;
        spec.jobs = jobs;
        tsf_backtest *bt = (tsf_backtest *)1;
        cr_assert_eq(tsf_backtest_run(&bt, f, &spec, &bad, 1, &err), TSF_ENUMERIC);
        cr_assert_null(bt);
        cr_assert_str_eq(err.msg, "backtest: model \"bad\", fit at fold 3 (origin row 35): loss "
                                  "is NaN");
    }
    tsf_frame_free(f);
}

Test(backtest, refuses_a_first_origin_past_the_data)
{
    tsf_err err = TSF_ERR_INIT;
    tsf_frame *f = series_frame(50, 1);
    const size_t tc[] = {0};
    tsf_backtest_spec spec;
    tsf_backtest_spec_init(&spec);
    spec.train_length = 48;
    spec.horizon = 5;
    spec.targets = tc;
    spec.n_targets = 1;
    tsf_backtest *bt;
    cr_assert_eq(tsf_backtest_run(&bt, f, &spec, &ar1_model, 1, &err), TSF_EINVAL);
    cr_assert_str_eq(err.msg, "backtest: the first origin (row 48) plus horizon 5 is past the "
                              "end of every series (longest: 50 rows) (expected first origin + "
                              "horizon <= 50: train_length at most 45)");
    tsf_frame_free(f);
}

/* ---- Baselines beside the model ------------------------------------------------------------- */

Test(backtest, baselines_run_on_the_same_folds_and_skill_is_reported_against_them)
{
    tsf_err err = TSF_ERR_INIT;
    tsf_frame *f = series_frame(240, 1);
    const size_t tc[] = {0, 1};
    tsf_backtest_spec spec;
    tsf_backtest_spec_init(&spec);
    spec.train_length = 96;
    spec.stride = 12;
    spec.horizon = 12;
    spec.targets = tc;
    spec.n_targets = 2;
    tsf_baseline_config cfg[4];
    size_t M;
    const tsf_forecaster *models = all_models(&M, cfg);
    tsf_backtest *bt;
    cr_assert_eq(tsf_backtest_run(&bt, f, &spec, models, M, &err), TSF_OK, "%s", err.msg);
    tsf_metrics *mt = NULL;
    tsf_metrics_spec ms = {.season = 12, .per_target = 1};
    cr_assert_eq(tsf_metrics_compute(&mt, bt->fc, f, &ms, &err), TSF_OK, "%s", err.msg);
    /* a 12-periodic series: seasonal naive beats naive clearly */
    double skill = tsf_metrics_skill(mt, "snaive", "naive", TSF_FC_ORIGINAL, TSF_METRIC_MSE);
    cr_assert(skill > 0.5, "snaive vs naive skill %g", skill);
    double mase = tsf_metrics_get(mt, "snaive", TSF_ALL_TARGETS, TSF_BY_ALL, 0, TSF_FC_ORIGINAL,
                                  TSF_METRIC_MASE);
    cr_assert(mase > 0.5 && mase < 2, "snaive MASE %g (season 12 in-sample scaling)", mase);
    cr_assert(!isnan(tsf_metrics_get(mt, "ar1", 1, TSF_BY_FOLD, bt->n_folds - 1, TSF_FC_ORIGINAL,
                                     TSF_METRIC_RMSE)));
    tsf_metrics_free(mt);
    tsf_backtest_free(bt);
    tsf_frame_free(f);
}

Test(backtest, baselines_in_folds_match_the_formulas_on_the_original_scale)
{
    tsf_err err = TSF_ERR_INIT;
    tsf_frame *f = series_frame(80, 1);
    const size_t tc[] = {0};
    tsf_backtest_spec spec;
    tsf_scale_spec sc;
    tsf_scale_spec_init(&sc);
    tsf_backtest_spec_init(&spec);
    spec.window = TSF_WINDOW_SLIDING;
    spec.train_length = 30;
    spec.first_origin = 40;
    spec.stride = 10;
    spec.horizon = 4;
    spec.targets = tc;
    spec.n_targets = 1;
    spec.scale = &sc; /* drift and mean commute with z-scoring: same values after inversion */
    tsf_baseline_config cfg[4];
    size_t M;
    const tsf_forecaster *models = all_models(&M, cfg);
    tsf_backtest *bt;
    cr_assert_eq(tsf_backtest_run(&bt, f, &spec, models + 1, 4, &err), TSF_OK, "%s", err.msg);
    const double *x = f->cols[0];
    for (size_t k = 0; k < bt->n_folds; k++) {
        size_t o = bt->folds[k].origin, a = o - 30; /* fit rows [o - 30, o) */
        double mean = 0;
        for (size_t r = a; r < o; r++)
            mean += x[r] / 30;
        double slope = (x[o - 1] - x[a]) / 29;
        for (size_t l = 0; l < 4; l++) {
            double want[4] = {x[o - 1], x[o - 12 + l], x[o - 1] + (double)(l + 1) * slope, mean};
            for (size_t m = 0; m < 4; m++)
                cr_assert_float_eq(tsf_forecasts_at(bt->fc, k, l, 0, m)[0], want[m], 1e-12,
                                   "fold %zu step %zu model %s", k, l + 1, bt->fc->models[m]);
        }
    }
    tsf_backtest_free(bt);
    tsf_frame_free(f);
}

Test(backtest, series_of_different_lengths_take_part_in_the_folds_that_fit_them)
{
    tsf_err err = TSF_ERR_INIT;
    tsf_frame *f = series_frame(70, 1);
    const size_t starts[] = {0, 40, 70}; /* 40 and 30 rows */
    const char *ids[] = {"long", "short"};
    tseries(f, 2, starts, ids);
    const size_t tc[] = {0};
    tsf_baseline_config cfg = {.kind = TSF_BASE_NAIVE};
    tsf_forecaster naive;
    tsf_baseline_forecaster(&naive, &cfg, "last");
    tsf_backtest_spec spec;
    tsf_backtest_spec_init(&spec);
    spec.train_length = 20;
    spec.stride = 5;
    spec.horizon = 5;
    spec.targets = tc;
    spec.n_targets = 1;
    tsf_backtest *bt;
    cr_assert_eq(tsf_backtest_run(&bt, f, &spec, &naive, 1, &err), TSF_OK, "%s", err.msg);
    /* origins 20, 25, 30, 35: the short series (30 rows) only in the first two */
    cr_assert_eq(bt->n_folds, 4);
    const size_t want[] = {2, 2, 1, 1};
    for (size_t k = 0; k < 4; k++)
        cr_assert_eq(bt->folds[k].n_series, want[k], "fold %zu", k);
    cr_assert_eq(bt->fc->n_entries, 6);
    cr_assert_eq(bt->fc->entry[1].series, 1);
    cr_assert_eq(bt->fc->entry[1].origin_row, 60);
    cr_assert_eq(tsf_forecasts_at(bt->fc, 1, 0, 0, 0)[0], f->cols[0][59]);
    cr_assert_str_eq(bt->fc->models[0], "last");
    tsf_backtest_free(bt);
    tsf_frame_free(f);
}

/* ---- Cutoff times shared across series -------------------------------------------------- */

/* A forecaster that records what every fit and forecast call sees: the fold and, per series,
 * the time of the last row of its history (INT64_MIN for none). Forecasts the last value. */
#define SPY_CALLS 4096
#define SPY_SERIES 4
typedef struct spy_call {
    int is_fit;
    size_t fold;
    int64_t last[SPY_SERIES];
} spy_call;
static spy_call spy_log[SPY_CALLS];
static size_t spy_n;

static void spy_record(const tsf_fold_ctx *ctx, int is_fit)
{
    cr_assert_lt(spy_n, SPY_CALLS);
    spy_call *c = &spy_log[spy_n++];
    c->is_fit = is_fit;
    c->fold = ctx->fold;
    const tsf_frame *h = ctx->hist;
    cr_assert_leq(h->n_series, SPY_SERIES);
    for (size_t s = 0; s < h->n_series; s++) {
        size_t a = h->series_start[s], b = h->series_start[s + 1];
        c->last[s] = b > a ? h->time[b - 1] : INT64_MIN;
    }
}

static int spy_fit(void *self, const tsf_fold_ctx *ctx, const void *warm, void **state,
                   tsf_err *err)
{
    (void)self, (void)warm, (void)err;
    spy_record(ctx, 1);
    *state = NULL;
    return TSF_OK;
}

static int spy_forecast(void *self, const void *state, const tsf_fold_ctx *ctx, size_t s,
                        double *out, tsf_err *err)
{
    (void)self, (void)state, (void)err;
    spy_record(ctx, 0);
    const tsf_frame *h = ctx->hist;
    for (size_t l = 0; l < ctx->horizon; l++)
        out[l * ctx->n_targets * (1 + ctx->n_quantiles)] =
            h->cols[ctx->targets[0]][h->series_start[s + 1] - 1];
    return TSF_OK;
}

static const tsf_forecaster spy_model = {
    .name = "spy", .reentrant = 0, .fit = spy_fit, .forecast = spy_forecast};

/* Series of the given lengths starting at the given instants, on frequency q, one column. */
static tsf_frame *calendar_frame(const tsf_freq *q, size_t n, const int64_t *start,
                                 const size_t *len)
{
    size_t total = 0, starts[SPY_SERIES + 1] = {0};
    for (size_t s = 0; s < n; s++)
        starts[s + 1] = total += len[s];
    tsf_frame *f = tframe(1, total, NULL, 0, 1);
    unsigned long long st = 5;
    for (size_t s = 0; s < n; s++)
        for (size_t r = 0; r < len[s]; r++) {
            f->time[starts[s] + r] = tsf_freq_add(q, start[s], (int64_t)r);
            f->cols[0][starts[s] + r] = 10 + (double)r * 0.1 + trand(&st);
        }
    static const char *ids[] = {"A", "B", "C", "D"};
    tseries(f, n, starts, ids);
    f->freq = *q;
    f->step = tsf_freq_nominal_step(q);
    return f;
}

/* For every fit and forecast call, no history row of any series is after the fold's cutoff,
 * and every row at or before it is there; returns the calls checked. */
static size_t assert_no_row_after_cutoff(const tsf_backtest *bt, const tsf_frame *f)
{
    for (size_t i = 0; i < spy_n; i++) {
        const spy_call *c = &spy_log[i];
        int64_t cut = bt->folds[c->fold].cutoff;
        for (size_t s = 0; s < f->n_series; s++) {
            size_t a = f->series_start[s], b = f->series_start[s + 1];
            int64_t want = INT64_MIN; /* the last row of series s at or before the cutoff */
            for (size_t r = a; r < b && f->time[r] <= cut; r++)
                want = f->time[r];
            cr_assert(c->last[s] <= cut, "%s at fold %zu saw series %zu at %lld > cutoff %lld",
                      c->is_fit ? "fit" : "forecast", c->fold, s, (long long)c->last[s],
                      (long long)cut);
            cr_assert_eq(c->last[s], want, "%s at fold %zu: series %zu's history is cut short",
                         c->is_fit ? "fit" : "forecast", c->fold, s);
        }
    }
    return spy_n;
}

Test(backtest, time_cutoffs_hide_every_series_rows_after_the_cutoff_of_unaligned_daily_series)
{
    tsf_err err = TSF_ERR_INIT;
    const tsf_freq day = {TSF_FREQ_FIXED, 86400 * SEC, 0};
    /* A: 2020-01-01 .. 2020-11-30; B: 2020-02-01 .. 2020-12-31 (ends a month later) */
    const int64_t start[] = {1577836800 * SEC, 1580515200 * SEC};
    const size_t len[] = {335, 334};
    tsf_frame *f = calendar_frame(&day, 2, start, len);
    const size_t tc[] = {0};
    tsf_backtest_spec spec;
    tsf_backtest_spec_init(&spec);
    spec.origins = TSF_ORIGINS_TIMES;
    spec.train_length = 200;
    spec.stride = 30;
    spec.horizon = 14;
    spec.targets = tc;
    spec.n_targets = 1;
    spy_n = 0;
    tsf_backtest *bt;
    cr_assert_eq(tsf_backtest_run(&bt, f, &spec, &spy_model, 1, &err), TSF_OK, "%s", err.msg);
    /* periods 0 .. 365 from 2020-01-01: origins 200, 230, ..., 350 (350 + 14 <= 366) */
    cr_assert_eq(bt->n_folds, 6);
    cr_assert_gt(assert_no_row_after_cutoff(bt, f), 6);
    for (size_t k = 0; k < bt->n_folds; k++) /* cutoff k: 2020-01-01 + 199 + 30k days */
        cr_assert_eq(bt->folds[k].cutoff, start[0] + (int64_t)(199 + 30 * k) * 86400 * SEC);
    /* A (last day 2020-11-30 = period 334) has 14 days after the cutoffs of origins <= 321:
     * folds 0..4; B (to period 365) all six */
    const size_t want[] = {2, 2, 2, 2, 2, 1};
    for (size_t k = 0; k < 6; k++)
        cr_assert_eq(bt->folds[k].n_series, want[k], "fold %zu", k);
    const tsf_forecasts *fc = bt->fc;
    cr_assert_eq(fc->n_entries, 11);
    for (size_t e = 0; e < fc->n_entries; e++) {
        const tsf_fc_entry *en = &fc->entry[e];
        int64_t cut = bt->folds[en->fold].cutoff;
        cr_assert_eq(en->cutoff_time, cut);
        for (size_t l = 0; l < fc->n_steps; l++) /* dated the periods after the cutoff */
            cr_assert_eq(fc->time[e * fc->n_steps + l], cut + (int64_t)(l + 1) * 86400 * SEC);
        cr_assert(en->fit_end <= en->origin_row && f->time[en->origin_row - 1] <= cut);
    }
    tsf_backtest_free(bt);
    /* Row offsets on the same data look ahead: fold 0's fit sees B up to row 199 of B, a
     * month past A's origin row 200 (the bug time cutoffs fix). */
    spec.origins = TSF_ORIGINS_ROWS;
    spy_n = 0;
    cr_assert_eq(tsf_backtest_run(&bt, f, &spec, &spy_model, 1, &err), TSF_OK, "%s", err.msg);
    cr_assert(spy_log[0].is_fit && spy_log[0].fold == 0);
    cr_assert_gt(spy_log[0].last[1], bt->fc->entry[0].cutoff_time + 20 * 86400 * SEC);
    tsf_backtest_free(bt);
    tsf_frame_free(f);
}

Test(backtest, time_cutoffs_on_months_skip_a_series_too_short_for_the_season_and_list_it)
{
    tsf_err err = TSF_ERR_INIT;
    const tsf_freq ms = {TSF_FREQ_MONTH_START, 1, 0};
    /* A: 2015-01 .. 2017-12 (36 months); B: 2016-01 .. 2018-06 (30 months) */
    const int64_t start[] = {1420070400 * SEC, 1451606400 * SEC};
    const size_t len[] = {36, 30};
    tsf_frame *f = calendar_frame(&ms, 2, start, len);
    const size_t tc[] = {0};
    tsf_baseline_config cfg = {.kind = TSF_BASE_SNAIVE, .season = 12};
    tsf_forecaster snaive;
    tsf_baseline_forecaster(&snaive, &cfg, NULL);
    cr_assert_eq(snaive.min_history, 12);
    tsf_forecaster models[] = {spy_model, snaive};
    tsf_backtest_spec spec;
    tsf_backtest_spec_init(&spec);
    spec.origins = TSF_ORIGINS_TIMES;
    spec.has_first_origin_time = 1;
    spec.first_origin_time =
        1451606400 * SEC + 366 * 86400 * SEC - 31 * 86400 * SEC; /* 2016-12-01 */
    spec.stride = 6;
    spec.horizon = 3;
    spec.targets = tc;
    spec.n_targets = 1;
    spy_n = 0;
    tsf_backtest *bt;
    cr_assert_eq(tsf_backtest_run(&bt, f, &spec, models, 2, &err), TSF_OK, "%s", err.msg);
    assert_no_row_after_cutoff(bt, f);
    /* origins 2016-12, 2017-06, 2017-12, 2018-06 (+3 <= 2018-07); cutoffs the month before.
     * A: 23, 29 rows before the first two, no 3 months after the third. B: 11 rows before
     * 2016-12 (skipped: snaive needs 12), then 17, 23 (2018-06 lacks 3 months after). */
    cr_assert_eq(bt->n_folds, 3);
    const int64_t cut[] = {1477958400 * SEC, 1493596800 * SEC,
                           1509494400 * SEC}; /* 2016-11-01, 2017-05-01, 2017-11-01 */
    const size_t want[] = {1, 2, 1};
    for (size_t k = 0; k < 3; k++) {
        cr_assert_eq(bt->folds[k].cutoff, cut[k], "fold %zu", k);
        cr_assert_eq(bt->folds[k].n_series, want[k], "fold %zu", k);
    }
    cr_assert_eq(bt->n_skipped, 1);
    cr_assert(bt->skipped[0].fold == 0 && bt->skipped[0].series == 1 && bt->skipped[0].rows == 11 &&
              bt->skipped[0].need == 12);
    const tsf_forecasts *fc = bt->fc;
    for (size_t e = 0; e < fc->n_entries; e++)
        for (size_t l = 0; l < 3; l++)
            cr_assert_eq(fc->time[e * 3 + l],
                         tsf_freq_add(&ms, fc->entry[e].cutoff_time, (int64_t)l + 1));
    tsf_backtest_free(bt);
    tsf_frame_free(f);
}

Test(backtest, time_cutoffs_on_aligned_series_give_the_row_offsets_results)
{
    tsf_err err = TSF_ERR_INIT;
    tsf_frame *f = series_frame(120, 2); /* two aligned hourly series of 60 rows */
    f->freq = (tsf_freq){TSF_FREQ_FIXED, 3600 * SEC, 0};
    const size_t tc[] = {0, 1};
    tsf_backtest *bt[2];
    for (int kind = 0; kind < 2; kind++) {
        tsf_backtest_spec spec;
        tsf_backtest_spec_init(&spec);
        spec.origins = kind ? TSF_ORIGINS_TIMES : TSF_ORIGINS_ROWS;
        spec.window = TSF_WINDOW_SLIDING;
        spec.train_length = 24;
        spec.first_origin = 30;
        spec.stride = 4;
        spec.horizon = 6;
        spec.retrain = 2;
        spec.targets = tc;
        spec.n_targets = 2;
        cr_assert_eq(tsf_backtest_run(&bt[kind], f, &spec, &ar1_model, 1, &err), TSF_OK, "%s",
                     err.msg);
    }
    cr_assert_eq(bt[0]->n_folds, bt[1]->n_folds);
    cr_assert_eq(bt[0]->n_fits, bt[1]->n_fits);
    for (size_t k = 0; k < bt[0]->n_folds; k++) {
        const tsf_fold *a = &bt[0]->folds[k], *b = &bt[1]->folds[k];
        cr_assert(a->origin == b->origin && a->fit_fold == b->fit_fold &&
                      a->fit_begin == b->fit_begin && a->fit_end == b->fit_end &&
                      a->n_series == b->n_series && a->cutoff == b->cutoff,
                  "fold %zu", k);
    }
    const tsf_forecasts *x = bt[0]->fc, *y = bt[1]->fc;
    cr_assert_eq(x->n_entries, y->n_entries);
    cr_assert_eq(memcmp(x->entry, y->entry, x->n_entries * sizeof *x->entry), 0);
    cr_assert_eq(memcmp(x->time, y->time, x->n_entries * x->n_steps * sizeof *x->time), 0);
    size_t nv = x->n_entries * x->n_steps * x->n_targets * x->n_models * x->n_values;
    tsft_assert_identical(y->value, x->value, nv, "forecasts");
    tsf_backtest_free(bt[0]);
    tsf_backtest_free(bt[1]);
    tsf_frame_free(f);
}

Test(backtest, time_origin_options_that_do_not_fit_the_calendar_are_refused_by_name)
{
    tsf_err err = TSF_ERR_INIT;
    const tsf_freq ms = {TSF_FREQ_MONTH_START, 1, 0};
    const int64_t start[] = {1420070400 * SEC};
    const size_t len[] = {36};
    tsf_frame *f = calendar_frame(&ms, 1, start, len);
    const size_t tc[] = {0};
    tsf_backtest_spec spec;
    tsf_backtest_spec_init(&spec);
    spec.origins = TSF_ORIGINS_TIMES;
    spec.horizon = 3;
    spec.targets = tc;
    spec.n_targets = 1;
    spec.train_span = (tsf_freq){TSF_FREQ_FIXED, 365 * 86400 * SEC, 0};
    tsf_backtest *bt = NULL;
    cr_assert_eq(tsf_backtest_run(&bt, f, &spec, &spy_model, 1, &err), TSF_EINVAL);
    cr_assert_str_eq(err.msg, "backtest: train_length 365D is not a whole number of periods of "
                              "the data's frequency MS (expected a number of periods, or a "
                              "duration that is a multiple of MS)");
    spec.train_span = (tsf_freq){TSF_FREQ_YEAR_START, 1, 1}; /* 1YS: 12 months */
    cr_assert_eq(tsf_backtest_run(&bt, f, &spec, &spy_model, 1, &err), TSF_OK, "%s", err.msg);
    cr_assert_eq(bt->folds[0].origin, 12);
    tsf_backtest_free(bt);
    spec.has_first_origin_time = 1;
    spec.first_origin_time = 1420070400 * SEC + 45 * 86400 * SEC; /* 2015-02-15 */
    cr_assert_eq(tsf_backtest_run(&bt, f, &spec, &spy_model, 1, &err), TSF_EINVAL);
    cr_assert_str_eq(err.msg, "backtest: first_origin 2015-02-15 00:00:00 is not a period of the "
                              "data's frequency MS counted from 2015-01-01 00:00:00 (expected "
                              "2015-02-01 00:00:00 or the next period)");
    f->time_kind = TSF_TIME_INDEX;
    spec.has_first_origin_time = 0;
    cr_assert_eq(tsf_backtest_run(&bt, f, &spec, &spy_model, 1, &err), TSF_EINVAL);
    cr_assert_str_eq(err.msg, "backtest: origins = times needs timestamps, but the data has an "
                              "integer index (expected origins = rows)");
    tsf_frame_free(f);
}
