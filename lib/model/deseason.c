/* Seasonal adjustment by the indices of a classical decomposition, with the rule that chooses
 * none, additive or multiplicative: see tsflow/deseason.h. The decomposition and the
 * seasonality test are the ones ETS's initial states and the Theta method use (ets_internal.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ets_internal.h"
#include "tsflow/deseason.h"

static const char *const names[] = {"none", "auto", "additive", "multiplicative"};

const char *tsf_deseason_name(tsf_deseason d)
{
    return (unsigned)d < 4 ? names[d] : "?";
}

int tsf_deseason_parse(const char *name)
{
    for (int i = 0; i < 4; i++)
        if (name && !strcmp(name, names[i]))
            return i;
    return -1;
}

/* Sum of squared differences between y and the decomposition's fit (trend + index, or
 * trend x index) over the rows where the trend exists. */
static double fit_sse(const double *y, const double *trend, const double *fig, size_t n, size_t m,
                      int mult)
{
    double sse = 0;
    for (size_t t = 0; t < n; t++)
        if (!isnan(trend[t])) {
            double d = y[t] - (mult ? trend[t] * fig[t % m] : trend[t] + fig[t % m]);
            sse += d * d;
        }
    return sse;
}

/* AUTO: which adjustment, by the rule of tsflow/deseason.h; why says the reason for none. */
static tsf_deseason choose(const double *y, size_t n, size_t m, double *fig, double *trend,
                           const char **why)
{
    if (m < 2 || m > TSF_DESEASON_MAX_SEASON) {
        *why = "no season";
        return TSF_DESEASON_NONE;
    }
    if (n < 2 * m) {
        *why = "fewer than two seasons";
        return TSF_DESEASON_NONE;
    }
    if (tsf__is_constant(y, n)) {
        *why = "constant";
        return TSF_DESEASON_NONE;
    }
    /* the test on the first differences: on the levels a trend makes every autocorrelation
     * near 1, which hides a season (and fires on a trend alone at short seasons) */
    for (size_t t = 0; t + 1 < n; t++)
        trend[t] = y[t + 1] - y[t];
    if (tsf__is_constant(trend, n - 1) || !tsf__seasonal_test(trend, n - 1, m)) {
        *why = "no significant autocorrelation at the season's lag";
        return TSF_DESEASON_NONE;
    }
    int positive = 1;
    for (size_t t = 0; t < n; t++)
        positive &= y[t] > 0;
    if (tsf__decompose(fig, trend, y, n, m, 0) != 0) {
        *why = "decomposition failed";
        return TSF_DESEASON_NONE;
    }
    if (!positive)
        return TSF_DESEASON_ADD;
    double sse_add = fit_sse(y, trend, fig, n, m, 0);
    if (tsf__decompose(fig, trend, y, n, m, 1) != 0)
        return TSF_DESEASON_ADD;
    return fit_sse(y, trend, fig, n, m, 1) < sse_add ? TSF_DESEASON_MULT : TSF_DESEASON_ADD;
}

/* ADD and MULT given explicitly: what the data must satisfy. */
static int check_explicit(const double *y, size_t n, size_t m, tsf_deseason mode, tsf_err *err)
{
    if (m < 2 || m > TSF_DESEASON_MAX_SEASON)
        TSF_FAIL(err, TSF_EINVAL, "deseason %s: a season of %zu rows (expected 2 to %d)",
                 tsf_deseason_name(mode), m, TSF_DESEASON_MAX_SEASON);
    if (n < 2 * m)
        TSF_FAIL(err, TSF_EINVAL,
                 "deseason %s: %zu training rows are fewer than two seasons of %zu (expected "
                 "at least %zu, or deseason = auto or none)",
                 tsf_deseason_name(mode), n, m, 2 * m);
    for (size_t t = 0; mode == TSF_DESEASON_MULT && t < n; t++)
        if (!(y[t] > 0))
            TSF_FAIL(err, TSF_EINVAL,
                     "deseason multiplicative: training value %zu is %g (expected positive "
                     "values, or deseason = additive)",
                     t + 1, y[t]);
    return TSF_OK;
}

int tsf_seasonal_fit(tsf_seasonal *out, const double *y, size_t n, size_t m, tsf_deseason mode,
                     tsf_err *err)
{
    memset(out, 0, sizeof *out);
    out->m = m;
    for (size_t t = 0; t < n; t++)
        if (!isfinite(y[t]))
            TSF_FAIL(err, TSF_ENUMERIC,
                     "deseason: training value %zu of %zu is %g (impute missing values first)",
                     t + 1, n, y[t]);
    if (mode == TSF_DESEASON_NONE) {
        snprintf(out->why, sizeof out->why, "none");
        return TSF_OK;
    }
    double *fig = malloc((m ? m : 1) * sizeof *fig), *trend = malloc((n ? n : 1) * sizeof *trend);
    int rc = TSF_OK;
    const char *why = NULL;
    if (!fig || !trend) {
        rc = tsf_err_set(err, TSF_ENOMEM, "deseason: out of memory");
        goto done;
    }
    tsf_deseason kind = mode;
    if (mode == TSF_DESEASON_AUTO)
        kind = choose(y, n, m, fig, trend, &why);
    else if ((rc = check_explicit(y, n, m, mode, err)) != TSF_OK)
        goto done;
    if (kind != TSF_DESEASON_NONE &&
        tsf__decompose(fig, trend, y, n, m, kind == TSF_DESEASON_MULT) != 0) {
        if (mode != TSF_DESEASON_AUTO) {
            rc = tsf_err_set(err, TSF_ENUMERIC, "deseason %s: the decomposition failed",
                             tsf_deseason_name(mode));
            goto done;
        }
        kind = TSF_DESEASON_NONE;
        why = "decomposition failed";
    }
    out->kind = kind;
    if (kind == TSF_DESEASON_NONE) {
        snprintf(out->why, sizeof out->why, "none (%s)", why ? why : "not asked");
    } else {
        memcpy(out->index, fig, m * sizeof *fig);
        snprintf(out->why, sizeof out->why, "%s (season %zu%s)", tsf_deseason_name(kind), m,
                 mode == TSF_DESEASON_AUTO ? ", auto" : "");
    }
done:
    free(fig);
    free(trend);
    return rc;
}

double tsf_seasonal_adjust(const tsf_seasonal *s, double y, size_t t)
{
    if (s->kind == TSF_DESEASON_ADD)
        return y - s->index[t % s->m];
    if (s->kind == TSF_DESEASON_MULT)
        return y / s->index[t % s->m];
    return y;
}

double tsf_seasonal_restore(const tsf_seasonal *s, double y, size_t t)
{
    if (s->kind == TSF_DESEASON_ADD)
        return y + s->index[t % s->m];
    if (s->kind == TSF_DESEASON_MULT)
        return y * s->index[t % s->m];
    return y;
}
