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
    tsf_frame *f = tframe(2, n, d, 1467331200, 3600);
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
