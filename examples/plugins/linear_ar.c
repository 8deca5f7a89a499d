/* linear_ar: an example plugin that adds a model. The stage model.linear_ar outputs a linear
 * autoregressive forecaster, fitted by least squares,
 *     y[t] = c + a[1] y[t-1] + ... + a[p] y[t-p],
 * one equation per target, pooled over the series, and forecast recursively (each forecast
 * step feeds the next). It implements the tsf_forecaster interface of tsflow/backtest.h behind
 * the tsf_model of tsflow/stage.h, so the built-in backtest and predict stages fit and forecast
 * it like the built-in recurrent model: a backtest refits it on the rows before every origin.
 *
 * The least-squares fit solves the normal equations X'X b = X'y by Cholesky factorisation; the
 * design has 1 + p columns (p is small), and a rank-deficient design (a constant series) is
 * refused with the series and target named rather than fitted silently. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tsflow/stage.h"

typedef struct lar_state {
    size_t order;
    size_t horizon;
    tsf_strings targets;
    int intercept;
} lar_state;

static const tsf_option options[] = {
    {.name = "order",
     .type = TSF_OPT_SIZE,
     .offset = offsetof(lar_state, order),
     .def = "2",
     .min = 1,
     .max = 64,
     .help = "p: lagged values in each equation (the lookback)"},
    {.name = "horizon",
     .type = TSF_OPT_SIZE,
     .offset = offsetof(lar_state, horizon),
     .min = 1,
     .max = 1e6,
     .flags = TSF_OPT_REQUIRED,
     .help = "steps forecast from each origin"},
    {.name = "targets",
     .type = TSF_OPT_STRINGS,
     .offset = offsetof(lar_state, targets),
     .flags = TSF_OPT_REQUIRED,
     .help = "columns to forecast, each from its own lags"},
    {.name = "intercept",
     .type = TSF_OPT_BOOL,
     .offset = offsetof(lar_state, intercept),
     .def = "true",
     .help = "fit the constant c (false: c = 0)"},
    TSF_OPTION_END,
};

static const tsf_port outputs[] = {
    {.name = "model", .types = TSF_TYPE_BIT(TSF_TYPE_MODEL), .help = "the forecaster"},
    TSF_PORT_END,
};

/* ---- The model ------------------------------------------------------------------------------ */

typedef struct lar_model {
    tsf_model pub;
    size_t p;      /* order */
    int intercept; /* 1: column 0 of the design is the constant */
    char **targets;
    char *name;
    char description[96];
} lar_model;

/* Coefficients of a fit: (O, 1 + p), row o = c, a[1..p] of target o (c = 0 without intercept). */
typedef struct lar_fit {
    size_t O, K;
    double coef[];
} lar_fit;

/* Solve A x = b in place for a symmetric positive definite A (K, K) by Cholesky: 0 on success,
 * -1 when A is not positive definite (a singular design). */
static int cholesky_solve(double *A, double *b, size_t K)
{
    for (size_t j = 0; j < K; j++) {
        double d = A[j * K + j];
        for (size_t k = 0; k < j; k++)
            d -= A[j * K + k] * A[j * K + k];
        if (!(d > 1e-12 * (1.0 + fabs(A[j * K + j]))))
            return -1;
        A[j * K + j] = sqrt(d);
        for (size_t i = j + 1; i < K; i++) {
            double v = A[i * K + j];
            for (size_t k = 0; k < j; k++)
                v -= A[i * K + k] * A[j * K + k];
            A[i * K + j] = v / A[j * K + j];
        }
    }
    for (size_t i = 0; i < K; i++) { /* L z = b */
        for (size_t k = 0; k < i; k++)
            b[i] -= A[i * K + k] * b[k];
        b[i] /= A[i * K + i];
    }
    for (size_t i = K; i-- > 0;) { /* L' x = z */
        for (size_t k = i + 1; k < K; k++)
            b[i] -= A[k * K + i] * b[k];
        b[i] /= A[i * K + i];
    }
    return 0;
}

static void lar_free_state(void *self, void *state)
{
    (void)self;
    free(state);
}

static int lar_fit_fn(void *self, const tsf_fold_ctx *ctx, const void *warm, void **state,
                      tsf_err *err)
{
    (void)warm; /* least squares has a unique solution: nothing to warm-start */
    const lar_model *m = self;
    const tsf_frame *h = ctx->hist;
    const size_t p = m->p, K = 1 + p, O = ctx->n_targets;
    *state = NULL;
    lar_fit *fit = malloc(sizeof *fit + O * K * sizeof(double));
    if (!fit)
        TSF_FAIL(err, TSF_ENOMEM, "linear_ar: out of memory");
    fit->O = O;
    fit->K = K;
    for (size_t o = 0; o < O; o++) {
        const double *y = h->cols[ctx->targets[o]];
        double A[65 * 65] = {0}, *b = fit->coef + o * K, x[65];
        size_t n = 0;
        memset(b, 0, K * sizeof *b);
        /* accumulate X'X and X'y over every row with p finite lags, in every series */
        for (size_t s = 0; s < h->n_series; s++)
            for (size_t t = ctx->fit[s].begin + p; t < ctx->fit[s].end; t++) {
                x[0] = m->intercept ? 1.0 : 0.0;
                int ok = isfinite(y[t]);
                for (size_t i = 1; i <= p && ok; i++)
                    ok = isfinite(x[i] = y[t - i]);
                if (!ok)
                    continue;
                for (size_t i = 0; i < K; i++) {
                    b[i] += x[i] * y[t];
                    for (size_t j = 0; j <= i; j++)
                        A[i * K + j] += x[i] * x[j];
                }
                n++;
            }
        if (!m->intercept)
            A[0] = 1.0, b[0] = 0.0; /* c = 0: a fixed unknown */
        for (size_t i = 0; i < K; i++)
            for (size_t j = i + 1; j < K; j++)
                A[i * K + j] = A[j * K + i];
        if (n < K || cholesky_solve(A, b, K) != 0) {
            free(fit);
            TSF_FAIL(err, TSF_ENUMERIC,
                     "linear_ar: the least-squares design of target \"%s\" is singular (%zu rows "
                     "with %zu finite lags; a constant series?)",
                     h->col_names[ctx->targets[o]], n, p);
        }
    }
    *state = fit;
    return TSF_OK;
}

static int lar_forecast(void *self, const void *state, const tsf_fold_ctx *ctx, size_t s,
                        double *out, tsf_err *err)
{
    const lar_model *m = self;
    const lar_fit *fit = state;
    const tsf_frame *h = ctx->hist;
    const size_t p = m->p, O = ctx->n_targets, P = 1 + ctx->n_quantiles;
    size_t a = h->series_start[s], end = h->series_start[s + 1];
    if (end - a < p)
        TSF_FAIL(err, TSF_EINVAL, "linear_ar: %zu rows before the origin, fewer than the order %zu",
                 end - a, p);
    double lag[64];
    for (size_t o = 0; o < O; o++) {
        const double *y = h->cols[ctx->targets[o]], *c = fit->coef + o * fit->K;
        for (size_t i = 0; i < p; i++) /* lag[i] = y[origin - 1 - i] */
            lag[i] = y[end - 1 - i];
        for (size_t l = 0; l < ctx->horizon; l++) {
            double v = c[0];
            for (size_t i = 0; i < p; i++)
                v += c[1 + i] * lag[i];
            out[(l * O + o) * P] = v;
            memmove(lag + 1, lag, (p - 1) * sizeof *lag);
            lag[0] = v;
        }
    }
    return TSF_OK;
}

static int lar_bind(const tsf_model *pub, tsf_model_binding *b, tsf_err *err)
{
    const lar_model *m = (const lar_model *)pub;
    for (size_t o = 0; o < pub->n_targets; o++)
        if (tsf_frame_col_index(b->frame, m->targets[o]) == (size_t)-1)
            TSF_FAIL(err, TSF_EINVAL, "linear_ar: the frame has no column \"%s\" (a target)",
                     m->targets[o]);
    b->forecaster = (tsf_forecaster){.name = pub->name,
                                     .self = (void *)m,
                                     .reentrant = 1,
                                     .fit = lar_fit_fn,
                                     .forecast = lar_forecast,
                                     .free_state = lar_free_state};
    return TSF_OK;
}

static void lar_destroy(tsf_model *pub)
{
    lar_model *m = (lar_model *)pub;
    for (size_t o = 0; o < pub->n_targets; o++)
        free(m->targets[o]);
    free(m->targets);
    free(m->name);
    free(m);
}

/* ---- The stage ------------------------------------------------------------------------------ */

static int check(tsf_stage_ctx *ctx, void *state, const tsf_meta *const *in, tsf_meta *const *out,
                 tsf_err *err)
{
    (void)in;
    (void)err;
    const lar_state *s = state;
    out[0]->lookback = (int64_t)s->order;
    out[0]->horizon = (int64_t)s->horizon;
    /* the targets: backtest checks them against its frame before anything runs */
    int rc = tsf_meta_set_columns(ctx, out[0], s->targets.n, s->targets.v);
    if (rc != TSF_OK)
        return rc;
    return tsf_meta_set_note(ctx, out[0], "linear AR(%zu), least squares", s->order);
}

static int run(tsf_stage_ctx *ctx, void *state, tsf_value *const *in, tsf_value *const *out,
               tsf_err *err)
{
    (void)in;
    const lar_state *s = state;
    lar_model *m = calloc(1, sizeof *m);
    if (!m || !(m->targets = calloc(s->targets.n, sizeof *m->targets))) {
        free(m);
        TSF_FAIL(err, TSF_ENOMEM, "out of memory");
    }
    tsf_model *pub = &m->pub;
    pub->n_targets = s->targets.n; /* before any strdup: lar_destroy frees what is set */
    for (size_t o = 0; o < s->targets.n; o++)
        if (!(m->targets[o] = strdup(s->targets.v[o]))) {
            lar_destroy(pub);
            TSF_FAIL(err, TSF_ENOMEM, "out of memory");
        }
    if (!(m->name = strdup(ctx->step))) { /* the step's name: "ar" in [ar] */
        lar_destroy(pub);
        TSF_FAIL(err, TSF_ENOMEM, "out of memory");
    }
    m->p = s->order;
    m->intercept = s->intercept;
    snprintf(m->description, sizeof m->description, "linear AR(%zu)%s, least squares", s->order,
             s->intercept ? "" : " without intercept");
    pub->name = m->name;
    pub->kind = "linear_ar";
    pub->description = m->description;
    pub->lookback = s->order;
    pub->horizon = s->horizon;
    pub->targets = (const char *const *)m->targets;
    pub->bind = lar_bind;
    pub->destroy = lar_destroy;
    tsf_stage_log(ctx, TSF_LOG_INFO, "%s: %s", pub->name, m->description);
    return tsf_value_set(ctx, out[0], pub, tsf_free_model);
}

static const tsf_stage_def linear_ar_stage = {
    .abi = TSF_STAGE_ABI_VERSION,
    .name = "model.linear_ar",
    .summary = "a linear autoregressive forecaster fitted by least squares",
    .help = "y[t] = c + a[1] y[t-1] + ... + a[p] y[t-p] for each target, fitted on every row "
            "with p finite lags, pooled over the series; forecasts are recursive. Bind the "
            "model to backtest (refitted fold by fold) or to predict (fitted on the input's "
            "rows).",
    .state_size = sizeof(lar_state),
    .options = options,
    .outputs = outputs,
    .check = check,
    .run = run,
};

TSF_PLUGIN_STAGES(&linear_ar_stage)
