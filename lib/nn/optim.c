/* Optimizers on the flat parameter vector: SGD (momentum), Adam, AdamW, as PyTorch 1.13. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tsflow/optim.h"

void tsf_optim_config_init(tsf_optim_config *cfg, tsf_optim_kind kind)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->kind = kind;
    cfg->lr = kind == TSF_OPTIM_SGD ? 1e-2 : 1e-3;
    cfg->beta1 = 0.9;
    cfg->beta2 = 0.999;
    cfg->eps = 1e-8;
    cfg->weight_decay = kind == TSF_OPTIM_ADAMW ? 1e-2 : 0.0;
}

int tsf_optim_config_check(const tsf_optim_config *c, tsf_err *err)
{
    if ((unsigned)c->kind > TSF_OPTIM_ADAMW)
        TSF_FAIL_FIELD(err, "kind", TSF_EINVAL,
                       "optimizer: unknown kind %d (expected sgd, adam or adamw)", (int)c->kind);
    const char *name = tsf_optim_name(c->kind);
    if (!(c->lr > 0) || !isfinite(c->lr))
        TSF_FAIL_FIELD(err, "lr", TSF_EINVAL, "optimizer %s: lr %g must be a positive number", name,
                       c->lr);
    if (!(c->weight_decay >= 0) || !isfinite(c->weight_decay))
        TSF_FAIL_FIELD(err, "weight_decay", TSF_EINVAL,
                       "optimizer %s: weight_decay %g must be >= 0", name, c->weight_decay);
    if (c->kind == TSF_OPTIM_SGD) {
        if (!(c->momentum >= 0 && c->momentum < 1))
            TSF_FAIL_FIELD(err, "momentum", TSF_EINVAL,
                           "optimizer sgd: momentum %g is outside [0, 1)", c->momentum);
        if (!(c->dampening >= 0 && c->dampening <= 1))
            TSF_FAIL_FIELD(err, "dampening", TSF_EINVAL,
                           "optimizer sgd: dampening %g is outside [0, 1]", c->dampening);
        if (c->nesterov && (c->momentum <= 0 || c->dampening != 0))
            TSF_FAIL_FIELD(
                err, "nesterov", TSF_EINVAL,
                "optimizer sgd: nesterov needs momentum > 0 and dampening 0 (got momentum "
                "%g, dampening %g)",
                c->momentum, c->dampening);
    } else {
        if (!(c->beta1 >= 0 && c->beta1 < 1))
            TSF_FAIL_FIELD(err, "beta1", TSF_EINVAL, "optimizer %s: beta1 %g is outside [0, 1)",
                           name, c->beta1);
        if (!(c->beta2 >= 0 && c->beta2 < 1))
            TSF_FAIL_FIELD(err, "beta2", TSF_EINVAL, "optimizer %s: beta2 %g is outside [0, 1)",
                           name, c->beta2);
        if (!(c->eps > 0) || !isfinite(c->eps))
            TSF_FAIL_FIELD(err, "eps", TSF_EINVAL, "optimizer %s: eps %g must be a positive number",
                           name, c->eps);
    }
    return TSF_OK;
}

int tsf_optim_alloc(tsf_optim **out, const tsf_optim_config *cfg, size_t P, tsf_err *err)
{
    *out = NULL;
    int rc = tsf_optim_config_check(cfg, err);
    if (rc)
        return rc;
    tsf_optim *o = calloc(1, sizeof *o);
    if (!o)
        TSF_FAIL(err, TSF_ENOMEM, "optimizer: out of memory");
    o->cfg = *cfg;
    o->n_params = P;
    size_t n = P ? P : 1;
    int need_m = cfg->kind != TSF_OPTIM_SGD || cfg->momentum > 0;
    int need_v = cfg->kind != TSF_OPTIM_SGD;
    if ((need_m && !(o->m = calloc(n, sizeof *o->m))) ||
        (need_v && !(o->v = calloc(n, sizeof *o->v)))) {
        tsf_optim_free(o);
        TSF_FAIL(err, TSF_ENOMEM, "optimizer: out of memory for the moments of %zu parameters", P);
    }
    *out = o;
    return TSF_OK;
}

void tsf_optim_free(tsf_optim *o)
{
    if (!o)
        return;
    free(o->m);
    free(o->v);
    free(o);
}

void tsf_optim_reset(tsf_optim *o)
{
    o->step = 0;
    if (o->m)
        memset(o->m, 0, o->n_params * sizeof *o->m);
    if (o->v)
        memset(o->v, 0, o->n_params * sizeof *o->v);
}

static void sgd_step(tsf_optim *o, tsf_real *p, const tsf_real *grads, double lr, double gs)
{
    const tsf_optim_config *c = &o->cfg;
    const size_t P = o->n_params;
    const tsf_real s = (tsf_real)gs, wd = (tsf_real)c->weight_decay, mu = (tsf_real)c->momentum,
                   damp = (tsf_real)(1 - c->dampening), neg_lr = (tsf_real)-lr;
    const int first = o->step == 1;
    tsf_real *b = o->m;
    for (size_t i = 0; i < P; i++) {
        tsf_real d = grads[i] * s;
        if (c->weight_decay != 0)
            d = d + wd * p[i];
        if (b) {
            /* PyTorch starts the buffer at the first gradient itself, undamped. */
            b[i] = first ? d : mu * b[i] + damp * d;
            d = c->nesterov ? d + mu * b[i] : b[i];
        }
        p[i] = p[i] + neg_lr * d;
    }
}

static void adam_step(tsf_optim *o, tsf_real *p, const tsf_real *grads, double lr, double gs)
{
    const tsf_optim_config *c = &o->cfg;
    const size_t P = o->n_params;
    const double t = (double)o->step;
    /* Bias corrections and the step size in double, as PyTorch computes them in Python. */
    const double bc1 = 1 - pow(c->beta1, t), bc2 = 1 - pow(c->beta2, t);
    const tsf_real s = (tsf_real)gs, b1 = (tsf_real)c->beta1, b2 = (tsf_real)c->beta2,
                   one_b1 = (tsf_real)(1 - c->beta1), one_b2 = (tsf_real)(1 - c->beta2),
                   bc2_sqrt = (tsf_real)sqrt(bc2), eps = (tsf_real)c->eps,
                   neg_step = (tsf_real)(-(lr / bc1));
    const int adamw = c->kind == TSF_OPTIM_ADAMW;
    const tsf_real wd = (tsf_real)c->weight_decay, decay = (tsf_real)(1 - lr * c->weight_decay);
    tsf_real *m = o->m, *v = o->v;
    for (size_t i = 0; i < P; i++) {
        tsf_real g = grads[i] * s;
        if (c->weight_decay != 0) {
            if (adamw)
                p[i] = p[i] * decay;
            else
                g = g + wd * p[i];
        }
        m[i] = m[i] * b1 + one_b1 * g;
        v[i] = v[i] * b2 + one_b2 * (g * g);
        tsf_real denom = (tsf_real)sqrt(v[i]) / bc2_sqrt + eps;
        p[i] = p[i] + neg_step * (m[i] / denom);
    }
}

void tsf_optim_step(tsf_optim *o, tsf_real *params, const tsf_real *grads, double lr,
                    double grad_scale)
{
    o->step++;
    if (o->cfg.kind == TSF_OPTIM_SGD)
        sgd_step(o, params, grads, lr, grad_scale);
    else
        adam_step(o, params, grads, lr, grad_scale);
}

static const char *const optim_names[] = {"sgd", "adam", "adamw"};

const char *tsf_optim_name(tsf_optim_kind kind)
{
    if ((unsigned)kind < sizeof optim_names / sizeof *optim_names)
        return optim_names[kind];
    return "?";
}

int tsf_optim_parse(const char *name, tsf_optim_kind *kind)
{
    for (size_t i = 0; i < sizeof optim_names / sizeof *optim_names; i++)
        if (strcmp(name, optim_names[i]) == 0) {
            *kind = (tsf_optim_kind)i;
            return 0;
        }
    return -1;
}
