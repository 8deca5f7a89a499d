/* The Theta method as forecast::thetaf computes it: a seasonality test on the lag-m
 * autocorrelation, classical multiplicative seasonal adjustment, simple exponential smoothing
 * fitted by least squares, and half the least-squares slope as drift. See tsflow/ets.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "ets_internal.h"

/* Upper 5% point of the standard normal: thetaf's qnorm(0.95). */
#define Z95 1.6448536269514722

int tsf__seasonal_test(const double *y, size_t n, size_t m)
{
    double mean = 0;
    for (size_t t = 0; t < n; t++)
        mean += y[t];
    mean /= (double)n;
    double c0 = 0;
    for (size_t t = 0; t < n; t++)
        c0 += (y[t] - mean) * (y[t] - mean);
    double s2 = 0, rm = 0;
    for (size_t k = 1; k <= m; k++) {
        double ck = 0;
        for (size_t t = 0; t + k < n; t++)
            ck += (y[t] - mean) * (y[t + k] - mean);
        double r = ck / c0;
        if (k < m)
            s2 += r * r;
        else
            rm = r;
    }
    double stat = sqrt((1 + 2 * s2) / (double)n);
    return fabs(rm) / stat > Z95;
}

int tsf_theta_fit(tsf_theta *out, const double *y, size_t n, size_t m, tsf_err *err)
{
    memset(out, 0, sizeof *out);
    if (m == 0 || m > TSF_THETA_MAX_SEASON)
        TSF_FAIL(err, TSF_EINVAL, "theta: a season of %zu rows (expected 1 to %d)", m,
                 TSF_THETA_MAX_SEASON);
    if (n < 7)
        TSF_FAIL(err, TSF_EINVAL, "theta: needs at least 7 rows, got %zu", n);
    for (size_t i = 0; i < n; i++)
        if (!isfinite(y[i]))
            TSF_FAIL(err, TSF_ENUMERIC,
                     "theta: value %zu of %zu is %g (impute missing values first)", i + 1, n, y[i]);
    out->m = m;
    out->n_obs = n;
    double *x = malloc(n * sizeof *x), *fig = malloc(m * sizeof *fig);
    int rc = TSF_OK;
    if (!x || !fig) {
        rc = tsf_err_set(err, TSF_ENOMEM, "theta: out of memory");
        goto done;
    }
    memcpy(x, y, n * sizeof *x);
    if (m > 1 && n > 2 * m && !tsf__is_constant(y, n) && tsf__seasonal_test(y, n, m) &&
        tsf__decompose(fig, NULL, y, n, m, 1) == 0) {
        int tiny = 0;
        for (size_t i = 0; i < m; i++)
            tiny |= !(fabs(fig[i]) >= 1e-4);
        if (!tiny) { /* thetaf falls back to no adjustment when an index is near zero */
            out->seasonal = 1;
            for (size_t t = 0; t < n; t++)
                x[t] = y[t] / fig[t % m];
            for (size_t h = 0; h < m; h++)
                out->index[h] = fig[(n + h) % m];
        }
    }
    tsf_ets ses;
    rc = tsf__ets_fit_model(&ses, x, n, 1, TSF_ETS_ADD, TSF_ETS_NONE, 0, TSF_ETS_NONE, TSF__ETS_MSE,
                            err);
    if (rc != TSF_OK) {
        tsf_err_prefix(err, "theta: simple exponential smoothing: ");
        goto done;
    }
    double a, slope;
    tsf__lsfit(&a, &slope, x, n, 0);
    out->alpha = ses.alpha > 1e-10 ? ses.alpha : 1e-10;
    out->level = ses.final[0];
    out->drift = slope / 2;
done:
    free(x);
    free(fig);
    return rc;
}

void tsf_theta_forecast(const tsf_theta *fit, size_t L, double *out)
{
    const double a = fit->alpha;
    const double c = (1 - pow(1 - a, (double)fit->n_obs)) / a;
    for (size_t h = 0; h < L; h++) {
        double f = fit->level + fit->drift * ((double)h + c);
        out[h] = fit->seasonal ? f * fit->index[h % fit->m] : f;
    }
}
