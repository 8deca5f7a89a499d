/* Losses over network outputs (L, B, O[, Q]) and their gradients: MSE, MAE, Huber, pinball. */
#include <math.h>
#include <string.h>

#include "tsflow/optim.h"

void tsf_loss_init(tsf_loss *loss, tsf_loss_kind kind)
{
    memset(loss, 0, sizeof *loss);
    loss->kind = kind;
    loss->delta = 1.0;
    loss->n_quantiles = 1;
    loss->quantiles[0] = 0.5;
}

int tsf_loss_check(const tsf_loss *loss, tsf_err *err)
{
    switch (loss->kind) {
    case TSF_LOSS_MSE:
    case TSF_LOSS_MAE:
        break;
    case TSF_LOSS_HUBER:
        if (!(loss->delta > 0) || !isfinite(loss->delta))
            TSF_FAIL(err, TSF_EINVAL, "loss huber: delta %g must be a positive number",
                     loss->delta);
        break;
    case TSF_LOSS_PINBALL:
        if (loss->n_quantiles < 1 || loss->n_quantiles > TSF_MAX_QUANTILES)
            TSF_FAIL(err, TSF_EINVAL, "loss pinball: %zu quantiles given, expected 1 to %d",
                     loss->n_quantiles, TSF_MAX_QUANTILES);
        for (size_t q = 0; q < loss->n_quantiles; q++) {
            double v = loss->quantiles[q];
            if (!(v > 0 && v < 1))
                TSF_FAIL(err, TSF_EINVAL,
                         "loss pinball: quantile %g is outside (0, 1) (expected levels such as "
                         "0.1, 0.5, 0.9)",
                         v);
            if (q > 0 && !(v > loss->quantiles[q - 1]))
                TSF_FAIL(err, TSF_EINVAL,
                         "loss pinball: quantiles must be strictly increasing, but %g follows %g",
                         v, loss->quantiles[q - 1]);
        }
        return TSF_OK;
    default:
        TSF_FAIL(err, TSF_EINVAL, "loss: unknown kind %d", (int)loss->kind);
    }
    if (loss->n_quantiles != 1)
        TSF_FAIL(err, TSF_EINVAL, "loss %s: a point loss has 1 output per target, not %zu",
                 tsf_loss_name(loss->kind), loss->n_quantiles);
    return TSF_OK;
}

int tsf_loss_init_pinball(tsf_loss *loss, const double *q, size_t Q, tsf_err *err)
{
    tsf_loss_init(loss, TSF_LOSS_PINBALL);
    if (Q < 1 || Q > TSF_MAX_QUANTILES)
        TSF_FAIL(err, TSF_EINVAL, "loss pinball: %zu quantiles given, expected 1 to %d", Q,
                 TSF_MAX_QUANTILES);
    loss->n_quantiles = Q;
    memcpy(loss->quantiles, q, Q * sizeof *q);
    return tsf_loss_check(loss, err);
}

double tsf_loss_eval(const tsf_loss *loss, size_t n, const tsf_real *yhat, const tsf_real *y,
                     tsf_real *dyhat)
{
    size_t Q = loss->n_quantiles;
    double sum = 0;
    if (n == 0)
        return NAN;
    /* Gradients of the mean: the 1/n is folded into each element, as PyTorch's backward does. */
    const tsf_real inv_n = (tsf_real)(1.0 / (double)n);
    switch (loss->kind) {
    case TSF_LOSS_MSE:
        for (size_t i = 0; i < n; i++) {
            tsf_real d = yhat[i] - y[i];
            sum += (double)d * (double)d;
            if (dyhat)
                dyhat[i] = (tsf_real)2 * inv_n * d;
        }
        break;
    case TSF_LOSS_MAE:
        for (size_t i = 0; i < n; i++) {
            tsf_real d = yhat[i] - y[i];
            sum += fabs((double)d);
            if (dyhat)
                dyhat[i] = d > 0 ? inv_n : d < 0 ? -inv_n : d == 0 ? (tsf_real)0 : d;
        }
        break;
    case TSF_LOSS_HUBER: {
        const double delta = loss->delta;
        for (size_t i = 0; i < n; i++) {
            tsf_real d = yhat[i] - y[i];
            double a = fabs((double)d);
            /* 0.5 d^2 inside the band, linear with slope delta outside: the two meet at |d| =
             * delta, so the gradient is continuous. */
            if (a < delta || isnan(a)) {
                sum += 0.5 * (double)d * (double)d;
                if (dyhat)
                    dyhat[i] = inv_n * d;
            } else {
                sum += delta * (a - 0.5 * delta);
                if (dyhat)
                    dyhat[i] = (d > 0 ? (tsf_real)delta : -(tsf_real)delta) * inv_n;
            }
        }
        break;
    }
    case TSF_LOSS_PINBALL:
        for (size_t i = 0; i < n; i++) {
            for (size_t k = 0; k < Q; k++) {
                const double q = loss->quantiles[k];
                tsf_real e = y[i] - yhat[i * Q + k];
                /* max(q e, (q - 1) e): under-forecasts (e > 0) cost q per unit, over-forecasts
                 * 1 - q. At e == 0 the subgradient midpoint 0.5 - q keeps q = 0.5 at half of
                 * MAE's gradient. */
                double ed = (double)e;
                sum += ed > 0 ? q * ed : (q - 1) * ed;
                if (dyhat) {
                    tsf_real g = e > 0    ? -(tsf_real)q
                                 : e < 0  ? (tsf_real)(1 - q)
                                 : e == 0 ? (tsf_real)(0.5 - q)
                                          : e;
                    dyhat[i * Q + k] = g * inv_n;
                }
            }
        }
        break;
    }
    return sum / (double)n;
}

static const char *const loss_names[] = {"mse", "mae", "huber", "pinball"};

const char *tsf_loss_name(tsf_loss_kind kind)
{
    if ((unsigned)kind < sizeof loss_names / sizeof *loss_names)
        return loss_names[kind];
    return "?";
}

int tsf_loss_parse(const char *name, tsf_loss_kind *kind)
{
    static const struct {
        const char *name;
        tsf_loss_kind kind;
    } table[] = {{"mse", TSF_LOSS_MSE},         {"l2", TSF_LOSS_MSE},
                 {"mae", TSF_LOSS_MAE},         {"l1", TSF_LOSS_MAE},
                 {"huber", TSF_LOSS_HUBER},     {"pinball", TSF_LOSS_PINBALL},
                 {"quantile", TSF_LOSS_PINBALL}};
    for (size_t i = 0; i < sizeof table / sizeof *table; i++)
        if (strcmp(name, table[i].name) == 0) {
            *kind = table[i].kind;
            return 0;
        }
    return -1;
}
