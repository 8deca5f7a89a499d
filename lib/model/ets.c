/* ETS: exponential smoothing state space models fitted as forecast::ets fits them (initial
 * states, starting values, bounds, admissibility, likelihood and AICc as in forecast 8),
 * optimised with GSL's Nelder-Mead. See tsflow/ets.h for the model and the choices. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_multifit.h>
#include <gsl/gsl_multimin.h>
#include <gsl/gsl_poly.h>

#include "core.h"
#include "ets_internal.h"

/* forecast::ets's defaults: "usual" bounds on alpha, beta, gamma, phi. */
static const double lower_b[4] = {1e-4, 1e-4, 1e-4, 0.8};
static const double upper_b[4] = {0.9999, 0.9999, 0.9999, 0.98};

/* Guards of forecast's etscalc.c, kept so that degenerate fits fail where R's fail. */
#define ETS_TOL 1.0e-10
#define ETS_HUGE 1.0e10
/* R's Nelder-Mead scores a non-finite objective as this ("big" in R's nmmin). */
#define ETS_BIG 1.0e35
#define ETS_MAXEVAL 2000 /* forecast::etsmodel's maxit (R counts function evaluations) */

#define MAXS (2 + TSF_ETS_MAX_SEASON)

/* One model being fitted: the data, the structure, and the objective's scratch. */
typedef struct ets_problem {
    const double *y;
    size_t n, m; /* m: 1 without a season */
    tsf_ets_kind error, trend, season;
    int damped;
    tsf__ets_crit crit;
    size_t n_smooth; /* alpha (+ beta) (+ gamma) (+ phi) */
    size_t n_state;  /* l (+ b) (+ m - 1 seasonal states): the last one is implied */
    gsl_poly_complex_workspace *poly; /* (m + 2) coefficients, seasonal models only */
    double coef[TSF_ETS_MAX_SEASON + 2];
    double roots[2 * (TSF_ETS_MAX_SEASON + 1)];
    size_t n_eval;
    double base[4 + MAXS], step[4 + MAXS], v[4 + MAXS]; /* optimiser coordinates */
} ets_problem;

typedef struct ets_params {
    double alpha, beta, gamma, phi;
    double x[MAXS]; /* full initial state, the implied seasonal state included */
} ets_params;

/* ---- The state recursion (forecast's etscalc and update) ---------------------------------- */

typedef struct ets_run {
    double lik; /* n log(SSE) (+ 2 sum log|mu|) */
    double sse; /* sum e^2 (relative errors for multiplicative error) */
    double mse; /* mean (y - mu)^2 */
} ets_run;

/* Filter y through the model from state x (l, [b], s_1..s_m; s_m is the season of y[0]),
 * leaving the final state in x. */
static ets_run ets_filter(const ets_problem *p, const ets_params *q, double *x)
{
    const size_t m = p->m, nt = p->trend != TSF_ETS_NONE;
    const double alpha = q->alpha, beta = q->beta, gamma = q->gamma, phi = q->phi;
    double l = x[0], b = nt ? x[1] : 0, s[TSF_ETS_MAX_SEASON];
    if (p->season)
        memcpy(s, x + 1 + nt, m * sizeof *s);
    double sse = 0, sum_log = 0, sq = 0;
    for (size_t i = 0; i < p->n; i++) {
        const double yi = p->y[i];
        /* one-step forecast */
        double phib = nt ? phi * b : 0, q0 = l + phib, f = q0;
        const double so = p->season ? s[m - 1] : 0;
        if (p->season == TSF_ETS_ADD)
            f += so;
        else if (p->season == TSF_ETS_MULT)
            f *= so;
        double e = p->error == TSF_ETS_ADD ? yi - f : (yi - f) / f;
        sse += e * e;
        sq += (yi - f) * (yi - f);
        sum_log += log(fabs(f));
        /* level */
        double pv = yi;
        if (p->season == TSF_ETS_ADD)
            pv = yi - so;
        else if (p->season == TSF_ETS_MULT)
            pv = fabs(so) < ETS_TOL ? ETS_HUGE : yi / so;
        double lnew = q0 + alpha * (pv - q0);
        /* trend */
        if (nt)
            b = phib + (beta / alpha) * ((lnew - l) - phib);
        /* season */
        if (p->season) {
            double t = p->season == TSF_ETS_ADD ? yi - q0 : fabs(q0) < ETS_TOL ? ETS_HUGE : yi / q0;
            double snew = so + gamma * (t - so);
            memmove(s + 1, s, (m - 1) * sizeof *s);
            s[0] = snew;
        }
        l = lnew;
    }
    x[0] = l;
    if (nt)
        x[1] = b;
    if (p->season)
        memcpy(x + 1 + nt, s, m * sizeof *s);
    ets_run r = {.sse = sse, .mse = sq / (double)p->n};
    r.lik = (double)p->n * log(sse);
    if (p->error == TSF_ETS_MULT)
        r.lik += 2 * sum_log;
    return r;
}

/* ---- Bounds and admissibility (forecast's check_params and admissible) -------------------- */

static int admissible(ets_problem *p, const ets_params *q)
{
    const double a = q->alpha, b = q->beta, g = q->gamma, phi = q->phi;
    if (phi < 0 || phi > 1 + 1e-8)
        return 0;
    if (!p->season) {
        if (a < 1 - 1 / phi || a > 1 + 1 / phi)
            return 0;
        if (p->trend && (b < a * (phi - 1) || b > (1 + phi) * (2 - a)))
            return 0;
        return 1;
    }
    const double m = (double)p->m, d = 1 - 1 / phi - a;
    if (g < (d > 0 ? d : 0) || g > 1 + 1 / phi - a)
        return 0;
    if (a < 1 - 1 / phi - g * (1 - m + phi + phi * m) / (2 * phi * m))
        return 0;
    if (b < -(1 - phi) * (g / m + a))
        return 0;
    /* Roots of z^(m+1) + (a+b-phi) z^m + (a+b-a phi) (z^(m-1) + .. + z^2)
     * + (a+b-a phi+g-1) z + phi (1-a-g) inside the unit circle (Hyndman, Akram & Archibald
     * 2008). Coefficients in increasing order for GSL. */
    const size_t M = p->m;
    double *c = p->coef;
    c[0] = phi * (1 - a - g);
    c[1] = a + b - a * phi + g - 1;
    for (size_t i = 2; i < M; i++)
        c[i] = a + b - a * phi;
    c[M] = a + b - phi;
    c[M + 1] = 1;
    if (gsl_poly_complex_solve(c, M + 2, p->poly, p->roots) != GSL_SUCCESS)
        return 0;
    double mx = 0;
    for (size_t i = 0; i <= M; i++) {
        double r = hypot(p->roots[2 * i], p->roots[2 * i + 1]);
        if (r > mx)
            mx = r;
    }
    return mx <= 1 + 1e-10;
}

static int in_bounds(ets_problem *p, const ets_params *q)
{
    if (q->alpha < lower_b[0] || q->alpha > upper_b[0])
        return 0;
    if (p->trend && (q->beta < lower_b[1] || q->beta > q->alpha || q->beta > upper_b[1]))
        return 0;
    if (p->damped && (q->phi < lower_b[3] || q->phi > upper_b[3]))
        return 0;
    if (p->season && (q->gamma < lower_b[2] || q->gamma > 1 - q->alpha || q->gamma > upper_b[2]))
        return 0;
    return admissible(p, q);
}

/* Optimiser vector (alpha, [beta], [gamma], [phi], l, [b], s_1..s_{m-1}) to parameters, the
 * last seasonal state making the states sum to 0 (additive) or m (multiplicative). */
static void unpack(const ets_problem *p, const double *v, ets_params *q)
{
    size_t j = 0;
    q->alpha = v[j++];
    q->beta = p->trend ? v[j++] : 0;
    q->gamma = p->season ? v[j++] : 0;
    q->phi = p->damped ? v[j++] : 1;
    memcpy(q->x, v + j, p->n_state * sizeof *v);
    if (p->season) {
        size_t first = 1 + (p->trend != TSF_ETS_NONE);
        double sum = 0;
        for (size_t i = first; i < p->n_state; i++)
            sum += q->x[i];
        q->x[p->n_state] = (p->season == TSF_ETS_MULT ? (double)p->m : 0) - sum;
    }
}

/* The objective (forecast's EtsTargetFunction::eval): +Inf outside the bounds, the admissible
 * region, or with a negative multiplicative seasonal state. */
static double objective(ets_problem *p, const double *v)
{
    ets_params q;
    unpack(p, v, &q);
    if (!in_bounds(p, &q))
        return INFINITY;
    size_t nx = p->n_state + (p->season != TSF_ETS_NONE);
    if (p->season == TSF_ETS_MULT)
        for (size_t i = 1 + (p->trend != TSF_ETS_NONE); i < nx; i++)
            if (q.x[i] < 0)
                return INFINITY;
    ets_run r = ets_filter(p, &q, q.x);
    double lik = r.lik;
    if (lik < -1e10)
        lik = -1e10; /* perfect fits */
    if (isnan(lik))
        lik = INFINITY;
    return p->crit == TSF__ETS_LIK ? lik : isnan(r.mse) ? INFINITY : r.mse;
}

static double gsl_objective(const gsl_vector *u, void *params)
{
    ets_problem *p = params;
    p->n_eval++;
    const size_t dim = p->n_smooth + p->n_state;
    for (size_t i = 0; i < dim; i++)
        p->v[i] = p->base[i] + p->step[i] * gsl_vector_get(u, i);
    double f = objective(p, p->v);
    return isfinite(f) ? f : ETS_BIG;
}

/* ---- Initial states (forecast's initstate) ------------------------------------------------ */

void tsf__lsfit(double *intercept, double *slope, const double *y, size_t n, double x0)
{
    double xm = x0 + (double)(n - 1) / 2, ym = 0;
    for (size_t i = 0; i < n; i++)
        ym += y[i];
    ym /= (double)n;
    double sxy = 0, sxx = 0;
    for (size_t i = 0; i < n; i++) {
        double dx = x0 + (double)i - xm;
        sxy += dx * (y[i] - ym);
        sxx += dx * dx;
    }
    *slope = sxx > 0 ? sxy / sxx : 0;
    *intercept = ym - *slope * xm;
}

int tsf__decompose(double *figure, double *trend, const double *y, size_t n, size_t m, int mult)
{
    /* trend: centred MA; position t has a value when t - m/2 >= 0 and t + m/2 < n */
    const size_t half = m / 2;
    double *acc = calloc(m, sizeof *acc);
    size_t *num = calloc(m, sizeof *num);
    int rc = 0;
    if (!acc || !num) {
        rc = -1;
        goto done;
    }
    for (size_t t = 0; trend && t < n; t++)
        trend[t] = NAN;
    for (size_t t = half; t + half < n; t++) {
        double tr = 0;
        if (m % 2 == 0) {
            tr = 0.5 * (y[t - half] + y[t + half]);
            for (size_t k = t - half + 1; k < t + half; k++)
                tr += y[k];
        } else {
            for (size_t k = t - half; k <= t + half; k++)
                tr += y[k];
        }
        tr /= (double)m;
        if (trend)
            trend[t] = tr;
        double v = mult ? y[t] / tr : y[t] - tr;
        if (isnan(v))
            continue;
        acc[t % m] += v;
        num[t % m]++;
    }
    double total = 0;
    for (size_t i = 0; i < m; i++) {
        if (!num[i]) {
            rc = -1;
            goto done;
        }
        figure[i] = acc[i] / (double)num[i];
        total += figure[i];
    }
    total /= (double)m;
    for (size_t i = 0; i < m; i++)
        figure[i] = mult ? figure[i] / total : figure[i] - total;
done:
    free(acc);
    free(num);
    return rc;
}

/* Seasonal series for the initial states when n < 3m (forecast's initstate): y minus (or
 * divided by) the trend line of a regression on t = 1..n and one Fourier pair. */
static int fourier_seasonal(double *seas, const double *y, size_t n, size_t m, int mult)
{
    size_t k = m == 2 ? 3 : 4; /* sin(pi t) is zero: forecast::fourier drops it */
    gsl_matrix *X = gsl_matrix_alloc(n, k);
    gsl_vector *c = gsl_vector_alloc(k), *yy = gsl_vector_alloc(n);
    gsl_matrix *cov = gsl_matrix_alloc(k, k);
    gsl_multifit_linear_workspace *w = gsl_multifit_linear_alloc(n, k);
    int rc = -1;
    if (!X || !c || !yy || !cov || !w)
        goto done;
    for (size_t t = 0; t < n; t++) {
        double tt = (double)(t + 1), ang = 2 * M_PI * tt / (double)m;
        gsl_matrix_set(X, t, 0, 1);
        gsl_matrix_set(X, t, 1, tt);
        if (k == 4) {
            gsl_matrix_set(X, t, 2, sin(ang));
            gsl_matrix_set(X, t, 3, cos(ang));
        } else {
            gsl_matrix_set(X, t, 2, cos(ang));
        }
        gsl_vector_set(yy, t, y[t]);
    }
    double chisq;
    if (gsl_multifit_linear(X, yy, c, cov, &chisq, w) != GSL_SUCCESS)
        goto done;
    double b0 = gsl_vector_get(c, 0), b1 = gsl_vector_get(c, 1);
    for (size_t t = 0; t < n; t++) {
        double tr = b0 + b1 * (double)(t + 1);
        seas[t] = mult ? y[t] / tr : y[t] - tr;
    }
    rc = 0;
done:
    gsl_matrix_free(X);
    gsl_vector_free(c);
    gsl_vector_free(yy);
    gsl_matrix_free(cov);
    gsl_multifit_linear_free(w);
    return rc;
}

/* x: (n_state) l, [b], s_1..s_{m-1}. Returns TSF_OK or an error. */
static int init_states(double *x, const ets_problem *p, tsf_err *err)
{
    const size_t n = p->n, m = p->m, nt = p->trend != TSF_ETS_NONE;
    const double *y = p->y;
    double *ysa = malloc(n * sizeof *ysa), *seas = NULL;
    if (!ysa)
        TSF_FAIL(err, TSF_ENOMEM, "ets: out of memory");
    int rc = TSF_OK;
    size_t mm = 1;
    if (p->season) {
        const int mult = p->season == TSF_ETS_MULT;
        mm = m;
        if (n < 4) {
            rc = tsf_err_set(err, TSF_EINVAL, "ets: a seasonal model needs at least 4 rows");
            goto done;
        }
        seas = malloc(n * sizeof *seas);
        if (!seas) {
            rc = tsf_err_set(err, TSF_ENOMEM, "ets: out of memory");
            goto done;
        }
        if (n < 3 * m) {
            if (fourier_seasonal(seas, y, n, m, mult) != 0) {
                rc = tsf_err_set(err, TSF_ENUMERIC,
                                 "ets: the Fourier regression for the "
                                 "initial seasonal states failed");
                goto done;
            }
        } else {
            double fig[TSF_ETS_MAX_SEASON];
            if (tsf__decompose(fig, NULL, y, n, m, mult) != 0) {
                rc = tsf_err_set(err, TSF_ENUMERIC,
                                 "ets: the decomposition for the initial seasonal states failed");
                goto done;
            }
            for (size_t t = 0; t < n; t++)
                seas[t] = fig[t % m];
        }
        /* s_1 .. s_{m-1} = seasonal values m .. 2 (1-based): rev(seasonal[2:m]) */
        double *s0 = x + 1 + nt, sum = 0;
        for (size_t j = 0; j + 1 < m; j++) {
            s0[j] = seas[m - 1 - j];
            if (mult && s0[j] < 1e-2)
                s0[j] = 1e-2; /* no negative seasonal indices */
            sum += s0[j];
        }
        if (mult && sum > (double)m)
            for (size_t j = 0; j + 1 < m; j++)
                s0[j] /= sum + 1e-2 * (double)(m - 1);
        for (size_t t = 0; t < n; t++)
            ysa[t] = mult ? y[t] / (seas[t] > 1e-2 ? seas[t] : 1e-2) : y[t] - seas[t];
    } else {
        memcpy(ysa, y, n * sizeof *ysa);
    }
    size_t maxn = 2 * mm > 10 ? 2 * mm : 10;
    if (maxn > n)
        maxn = n;
    if (!nt) {
        double s = 0;
        for (size_t t = 0; t < maxn; t++)
            s += ysa[t];
        x[0] = s / (double)maxn;
    } else {
        double l0, b0;
        tsf__lsfit(&l0, &b0, ysa, maxn, 1);
        if (fabs(l0 + b0) < 1e-8) { /* mu_1 = 0 would break multiplicative errors */
            l0 *= 1 + 1e-3;
            b0 *= 1 - 1e-3;
        }
        x[0] = l0;
        x[1] = b0;
    }
done:
    free(ysa);
    free(seas);
    return rc;
}

/* ---- One model ---------------------------------------------------------------------------- */

/* Starting values (forecast's initparam with the usual bounds). v: (n_smooth). */
static void init_params(double *v, const ets_problem *p)
{
    double lo[4], up[4];
    memcpy(lo, lower_b, sizeof lo);
    memcpy(up, upper_b, sizeof up);
    size_t j = 0;
    double alpha = lo[0] + 0.2 * (up[0] - lo[0]) / (double)p->m;
    if (alpha > 1 || alpha < 0)
        alpha = lo[0] + 2e-3;
    v[j++] = alpha;
    if (p->trend) {
        if (alpha < up[1])
            up[1] = alpha;
        double beta = lo[1] + 0.1 * (up[1] - lo[1]);
        if (beta < 0 || beta > alpha)
            beta = alpha - 1e-3;
        v[j++] = beta;
    }
    if (p->season) {
        if (1 - alpha < up[2])
            up[2] = 1 - alpha;
        double gamma = lo[2] + 0.05 * (up[2] - lo[2]);
        if (gamma < 0 || gamma > 1 - alpha)
            gamma = 1 - alpha - 1e-3;
        v[j++] = gamma;
    }
    if (p->damped) {
        double phi = lo[3] + 0.99 * (up[3] - lo[3]);
        if (phi < 0 || phi > 1)
            phi = up[3] - 1e-3;
        v[j++] = phi;
    }
}

/* Step sizes of the initial simplex: a tenth of each smoothing parameter's room inside its
 * bounds (towards the inside), and for the states a tenth of the data's spread (level, additive
 * season), a hundredth of it (trend) or 0.05 (multiplicative season indices near 1).
 * R's Nelder-Mead moves every coordinate by a tenth of the largest |v_i| instead: on data in
 * the hundreds that throws the smoothing parameters out of bounds and leaves them at their
 * starting values, so forecast::ets can end far from the optimum. */
static void simplex_steps(double *step, const ets_problem *p, const double *v)
{
    double mean = 0, var = 0;
    for (size_t i = 0; i < p->n; i++)
        mean += p->y[i];
    mean /= (double)p->n;
    for (size_t i = 0; i < p->n; i++)
        var += (p->y[i] - mean) * (p->y[i] - mean);
    double sd = sqrt(var / (double)p->n);
    if (!(sd > 0))
        sd = fabs(mean) > 0 ? fabs(mean) : 1;
    size_t j = 0;
    const double alpha = v[0];
    step[j++] = 0.1 * (upper_b[0] - alpha);
    if (p->trend) {
        step[j] = 0.5 * (alpha - v[j]); /* beta <= alpha */
        j++;
    }
    if (p->season) {
        step[j] = 0.1 * (1 - alpha - v[j]); /* gamma <= 1 - alpha */
        j++;
    }
    if (p->damped) {
        step[j] = -0.1 * (v[j] - lower_b[3]);
        j++;
    }
    step[j++] = 0.1 * sd;
    if (p->trend)
        step[j++] = 0.01 * sd;
    for (size_t i = 0; p->season && i + 1 < p->m; i++)
        step[j++] = p->season == TSF_ETS_MULT ? 0.05 : 0.1 * sd;
}

/* Nelder-Mead (GSL's nmsimplex2) from v (dim values), in place. It runs in coordinates
 * u = (v - v0) / step, where the initial simplex is the unit one, and stops when the simplex
 * is smaller than 1e-6 steps, when its best value gained less than 1e-9 (relative) in 10 dim
 * iterations, or after ETS_MAXEVAL evaluations; then restarts from the best vertex with a
 * fresh simplex until a restart improves the objective by less than 1e-9 (relative), at most
 * 5 runs. Restarts are the usual remedy for Nelder-Mead collapsing into a subspace, which
 * happens here in 15 to 30 dimensions. */
static int minimise(ets_problem *p, double *v, size_t dim, tsf_err *err)
{
    const gsl_multimin_fminimizer_type *T = gsl_multimin_fminimizer_nmsimplex2;
    gsl_multimin_fminimizer *s = gsl_multimin_fminimizer_alloc(T, dim);
    gsl_vector *u = gsl_vector_alloc(dim), *unit = gsl_vector_alloc(dim);
    int rc = TSF_OK;
    if (!s || !u || !unit) {
        rc = tsf_err_set(err, TSF_ENOMEM, "ets: out of memory");
        goto done;
    }
    gsl_vector_set_all(unit, 1);
    gsl_multimin_function fn = {.f = gsl_objective, .n = dim, .params = p};
    double fbest = objective(p, v);
    for (int run = 0; run < 5; run++) {
        memcpy(p->base, v, dim * sizeof *v);
        simplex_steps(p->step, p, v);
        gsl_vector_set_zero(u);
        p->n_eval = 0;
        if (gsl_multimin_fminimizer_set(s, &fn, u, unit) != GSL_SUCCESS)
            break;
        double f_ref = s->fval;
        size_t it = 0, it_ref = 0;
        while (p->n_eval < ETS_MAXEVAL) {
            if (gsl_multimin_fminimizer_iterate(s) != GSL_SUCCESS)
                break;
            if (gsl_multimin_fminimizer_size(s) < 1e-6)
                break;
            /* stalled: the best value gained less than 1e-9 (relative) in 10 dim iterations */
            if (++it - it_ref >= 10 * dim) {
                if (f_ref - s->fval <= 1e-9 * (fabs(s->fval) + 1e-9))
                    break;
                f_ref = s->fval, it_ref = it;
            }
        }
        double f = s->fval;
        if (!(f < fbest))
            break;
        for (size_t i = 0; i < dim; i++)
            v[i] = p->base[i] + p->step[i] * gsl_vector_get(s->x, i);
        int small = fbest - f <= 1e-9 * (fabs(f) + 1e-9);
        fbest = f;
        if (small)
            break;
    }
done:
    gsl_multimin_fminimizer_free(s);
    gsl_vector_free(u);
    gsl_vector_free(unit);
    return rc;
}

int tsf__ets_fit_model(tsf_ets *out, const double *y, size_t n, size_t m, tsf_ets_kind error,
                       tsf_ets_kind trend, int damped, tsf_ets_kind season, tsf__ets_crit crit,
                       tsf_err *err)
{
    ets_problem p = {.y = y,
                     .n = n,
                     .m = season ? m : 1,
                     .error = error,
                     .trend = trend,
                     .season = season,
                     .damped = damped,
                     .crit = crit};
    const size_t nt = trend != TSF_ETS_NONE;
    p.n_smooth = 1 + nt + (season != TSF_ETS_NONE) + (damped != 0);
    p.n_state = 1 + nt + (season ? p.m - 1 : 0);
    const size_t dim = p.n_smooth + p.n_state;
    if (season && (p.m < 2 || p.m > TSF_ETS_MAX_SEASON))
        TSF_FAIL(err, TSF_EINVAL, "ets: a season of %zu rows (expected 2 to %d)", p.m,
                 TSF_ETS_MAX_SEASON);
    if (dim + 1 >= n)
        TSF_FAIL(err, TSF_EINVAL, "ets: %zu parameters need more than the %zu rows", dim, n);
    double v[4 + MAXS];
    init_params(v, &p);
    int rc = init_states(v + p.n_smooth, &p, err);
    if (rc != TSF_OK)
        return rc;
    if (season) {
        p.poly = gsl_poly_complex_workspace_alloc(p.m + 2);
        if (!p.poly)
            TSF_FAIL(err, TSF_ENOMEM, "ets: out of memory");
    }
    /* Two searches, keeping the better: from forecast's starting values and from mid-range
     * smoothing parameters (alpha 0.5, beta and gamma an eighth, phi 0.9). The likelihood is
     * multimodal (beta at its bound alpha, or alpha near 1), and either search alone ends
     * worse than R's fit on some series. (A third from R's own simplex won 7 of 112 fits, by
     * at most 0.06 in log-likelihood, for half again the time.) */
    double best[4 + MAXS], fbest = INFINITY;
    for (int start = 0; rc == TSF_OK && start < 2; start++) {
        double w[4 + MAXS];
        memcpy(w, v, dim * sizeof *v);
        if (start == 1) {
            size_t j = 0;
            w[j++] = 0.5;
            if (trend)
                w[j++] = 0.125;
            if (season)
                w[j++] = 0.125;
            if (damped)
                w[j++] = 0.9;
        }
        rc = minimise(&p, w, dim, err);
        double f = objective(&p, w);
        if (rc == TSF_OK && f < fbest) {
            fbest = f;
            memcpy(best, w, dim * sizeof *w);
        }
    }
    if (rc == TSF_OK && fbest < INFINITY)
        memcpy(v, best, dim * sizeof *v);
    else if (rc == TSF_OK)
        rc = tsf_err_set(err, TSF_ENUMERIC,
                         "ets: no admissible parameters with a finite likelihood");
    gsl_poly_complex_workspace_free(p.poly);
    if (rc != TSF_OK)
        return rc;

    ets_params q;
    unpack(&p, v, &q);
    memset(out, 0, sizeof *out);
    out->error = error;
    out->trend = trend;
    out->damped = damped != 0;
    out->season = season;
    out->m = p.m;
    out->alpha = q.alpha;
    out->beta = q.beta;
    out->gamma = q.gamma;
    out->phi = q.phi;
    out->n_obs = n;
    size_t nx = p.n_state + (season != TSF_ETS_NONE);
    memcpy(out->init, q.x, nx * sizeof *q.x);
    ets_run r = ets_filter(&p, &q, q.x);
    memcpy(out->final, q.x, nx * sizeof *q.x);
    const double k = (double)(dim + 1), nd = (double)n;
    out->n_params = dim + 1;
    out->loglik = -0.5 * r.lik;
    out->aic = r.lik + 2 * k;
    out->bic = r.lik + log(nd) * k;
    out->aicc = nd - k - 1 > 0 ? out->aic + 2 * k * (k + 1) / (nd - k - 1) : INFINITY;
    out->sigma2 = r.sse / (nd - (double)dim);
    out->mse = r.mse;
    return TSF_OK;
}

/* ---- Model search ------------------------------------------------------------------------- */

/* Parse "ZZZ", "MAdM", "AZN"...: allowed[e][t][s] with t = 0 N, 1 A, 2 Ad. */
static int parse_model(const char *model, int allowed[3][3][3], tsf_err *err)
{
    const char *s = model ? model : "ZZZ";
    const char *p = s;
    int es[3] = {0}, ts[3] = {0}, ss[3] = {0};
    switch (*p++) {
    case 'A':
        es[1] = 1;
        break;
    case 'M':
        es[2] = 1;
        break;
    case 'Z':
        es[1] = es[2] = 1;
        break;
    default:
        goto bad;
    }
    switch (*p++) {
    case 'N':
        ts[0] = 1;
        break;
    case 'A':
        if (*p == 'd')
            p++, ts[2] = 1;
        else
            ts[1] = 1;
        break;
    case 'Z':
        ts[0] = ts[1] = ts[2] = 1;
        break;
    case 'M':
        TSF_FAIL(err, TSF_EINVAL,
                 "ets: model \"%s\": multiplicative trends are not supported (expected N, A, "
                 "Ad or Z as the trend)",
                 s);
    default:
        goto bad;
    }
    switch (*p++) {
    case 'N':
        ss[0] = 1;
        break;
    case 'A':
        ss[1] = 1;
        break;
    case 'M':
        ss[2] = 1;
        break;
    case 'Z':
        ss[0] = ss[1] = ss[2] = 1;
        break;
    default:
        goto bad;
    }
    if (*p)
        goto bad;
    if (!es[2] && !ss[0] && !ss[1])
        TSF_FAIL(err, TSF_EINVAL,
                 "ets: model \"%s\": additive errors with a multiplicative season have infinite "
                 "forecast variance (forecast::ets forbids them)",
                 s);
    for (int e = 0; e < 3; e++)
        for (int t = 0; t < 3; t++)
            for (int k = 0; k < 3; k++)
                allowed[e][t][k] = es[e] && ts[t] && ss[k];
    return TSF_OK;
bad:
    TSF_FAIL(err, TSF_EINVAL,
             "ets: \"%s\" is not a model (expected error A, M or Z, trend N, A, Ad or Z, season "
             "N, A, M or Z, as in \"ZZZ\" or \"MAdM\")",
             s);
}

int tsf__is_constant(const double *y, size_t n)
{
    /* R's is.constant: all.equal(y, rep(y[1], n)), mean relative difference below 1.5e-8 */
    double d = 0, a = 0;
    for (size_t i = 0; i < n; i++)
        d += fabs(y[i] - y[0]), a += fabs(y[i]);
    d /= (double)n, a /= (double)n;
    return (a > 1.5e-8 ? d / a : d) < 1.5e-8;
}

int tsf_ets_fit(tsf_ets *out, const double *y, size_t n, size_t m, const char *model, tsf_err *err)
{
    memset(out, 0, sizeof *out);
    int allowed[3][3][3];
    int rc = parse_model(model, allowed, err);
    if (rc != TSF_OK)
        return rc;
    if (m == 0)
        TSF_FAIL(err, TSF_EINVAL, "ets: the season must be at least 1 row");
    if (n < 7)
        TSF_FAIL(err, TSF_EINVAL, "ets: needs at least 7 rows, got %zu", n);
    int positive = 1;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(y[i]))
            TSF_FAIL(err, TSF_ENUMERIC, "ets: value %zu of %zu is %g (impute missing values first)",
                     i + 1, n, y[i]);
        if (y[i] <= 0)
            positive = 0;
    }
    const int automatic = !model || !strcmp(model, "ZZZ");
    if (automatic && tsf__is_constant(y, n)) {
        /* forecast::ets: simple exponential smoothing with alpha 0.99999 from y[0] */
        *out = (tsf_ets){.error = TSF_ETS_ADD, .m = 1, .alpha = 0.99999, .phi = 1, .n_obs = n};
        double l = y[0];
        for (size_t i = 0; i < n; i++)
            l += out->alpha * (y[i] - l);
        out->init[0] = y[0];
        out->final[0] = l;
        out->n_params = 3;
        out->loglik = out->aic = out->aicc = out->bic = out->sigma2 = NAN;
        out->mse = 0;
        return TSF_OK;
    }
    /* seasons R does not fit: none for m = 1, n <= m or m > 24 */
    if (m == 1 || n <= m || m > TSF_ETS_MAX_SEASON) {
        int any = 0;
        for (int e = 0; e < 3; e++)
            for (int t = 0; t < 3; t++) {
                any |= allowed[e][t][0];
                allowed[e][t][1] = allowed[e][t][2] = 0;
            }
        if (!any)
            TSF_FAIL(err, TSF_EINVAL,
                     "ets: model \"%s\" has a season, but a season of %zu rows cannot be fitted "
                     "to %zu rows (needs 2 <= season <= %d and more rows than the season)",
                     model, m, n, TSF_ETS_MAX_SEASON);
    }
    if (!positive) {
        int any = 0;
        for (int t = 0; t < 3; t++)
            for (int k = 0; k < 3; k++) {
                allowed[2][t][k] = 0;
                any |= allowed[1][t][k];
            }
        if (!any)
            TSF_FAIL(err, TSF_EINVAL,
                     "ets: model \"%s\" has multiplicative errors, which need "
                     "every value to be positive",
                     model);
    }
    double best = INFINITY;
    tsf_ets fit;
    tsf_err last = TSF_ERR_INIT;
    int tried = 0;
    /* R's order: error A, M; trend N, A; season N, A, M; damped before undamped (ties keep
     * the first) */
    for (int e = 1; e <= 2; e++)
        for (int tr = 0; tr <= 1; tr++)
            for (int k = 0; k < 3; k++)
                for (int d = 1; d >= 0; d--) {
                    int t = tr ? 1 + d : 0; /* index into allowed: 0 N, 1 A, 2 Ad */
                    if ((!tr && d) || !allowed[e][t][k])
                        continue;
                    if (e == 1 && k == 2)
                        continue; /* infinite forecast variance: forecast::ets excludes it */
                    tried++;
                    if (tsf__ets_fit_model(&fit, y, n, m, (tsf_ets_kind)e,
                                           tr ? TSF_ETS_ADD : TSF_ETS_NONE, d, (tsf_ets_kind)k,
                                           TSF__ETS_LIK, &last) != TSF_OK)
                        continue;
                    if (fit.aicc < best) {
                        best = fit.aicc;
                        *out = fit;
                    }
                }
    if (best == INFINITY) {
        if (tried == 1 && last.code != TSF_OK)
            TSF_FAIL(err, last.code, "%s", last.msg);
        TSF_FAIL(err, TSF_ENUMERIC, "ets: no model could be fitted to the %zu rows%s%s", n,
                 last.code ? " (last: " : "", last.code ? last.msg : "");
    }
    return TSF_OK;
}

void tsf_ets_forecast(const tsf_ets *fit, size_t L, double *out)
{
    const size_t m = fit->m, nt = fit->trend != TSF_ETS_NONE;
    const double l = fit->final[0], b = nt ? fit->final[1] : 0, phi = fit->phi;
    const double *s = fit->final + 1 + nt;
    double phistar = phi;
    for (size_t i = 0; i < L; i++) {
        double f = nt ? l + phistar * b : l;
        if (fit->season) {
            /* s_1 is the latest season: step i + 1 uses s_{m - i mod m} */
            double si = s[m - 1 - i % m];
            f = fit->season == TSF_ETS_ADD ? f + si : f * si;
        }
        out[i] = f;
        phistar += fabs(phi - 1.0) < ETS_TOL ? 1.0 : pow(phi, (double)(i + 2));
    }
}

const char *tsf_ets_name(const tsf_ets *fit, char *buf, size_t size)
{
    static const char *const k[3] = {"N", "A", "M"};
    snprintf(buf, size, "ETS(%s,%s%s,%s)", k[fit->error % 3], k[fit->trend % 3],
             fit->damped ? "d" : "", k[fit->season % 3]);
    return buf;
}
