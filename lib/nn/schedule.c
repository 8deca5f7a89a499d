/* Learning-rate schedules (constant, step, cosine with warm-up, reduce on plateau) and early
 * stopping on the validation loss. */
#include <math.h>
#include <string.h>

#include "tsflow/optim.h"

void tsf_sched_config_init(tsf_sched_config *cfg, tsf_sched_kind kind)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->kind = kind;
    cfg->step_size = 10;
    cfg->gamma = 0.1;
    cfg->warmup = 0;
    cfg->min_lr = 0;
    cfg->factor = 0.1;
    cfg->patience = 10;
    cfg->threshold = 1e-4;
    cfg->cooldown = 0;
}

int tsf_sched_config_check(const tsf_sched_config *c, tsf_err *err)
{
    switch (c->kind) {
    case TSF_SCHED_CONSTANT:
        break;
    case TSF_SCHED_STEP:
        if (c->step_size < 1)
            TSF_FAIL_FIELD(err, "step_size", TSF_EINVAL,
                           "schedule step: step_size must be at least 1 epoch");
        if (!(c->gamma > 0 && c->gamma <= 1))
            TSF_FAIL_FIELD(err, "gamma", TSF_EINVAL, "schedule step: gamma %g is outside (0, 1]",
                           c->gamma);
        break;
    case TSF_SCHED_COSINE:
        if (!(c->warmup >= 0) || !isfinite(c->warmup))
            TSF_FAIL_FIELD(err, "warmup", TSF_EINVAL,
                           "schedule cosine: warmup %g must be >= 0 epochs", c->warmup);
        if (!(c->min_lr >= 0) || !isfinite(c->min_lr))
            TSF_FAIL_FIELD(err, "min_lr", TSF_EINVAL, "schedule cosine: min_lr %g must be >= 0",
                           c->min_lr);
        break;
    case TSF_SCHED_PLATEAU:
        if (!(c->factor > 0 && c->factor < 1))
            TSF_FAIL_FIELD(err, "factor", TSF_EINVAL,
                           "schedule plateau: factor %g is outside (0, 1)", c->factor);
        if (!(c->threshold >= 0) || !isfinite(c->threshold))
            TSF_FAIL_FIELD(err, "threshold", TSF_EINVAL,
                           "schedule plateau: threshold %g must be >= 0", c->threshold);
        if (!(c->min_lr >= 0) || !isfinite(c->min_lr))
            TSF_FAIL_FIELD(err, "min_lr", TSF_EINVAL, "schedule plateau: min_lr %g must be >= 0",
                           c->min_lr);
        break;
    default:
        TSF_FAIL_FIELD(err, "kind", TSF_EINVAL,
                       "schedule: unknown kind %d (expected constant, step, cosine or plateau)",
                       (int)c->kind);
    }
    return TSF_OK;
}

void tsf_sched_init(tsf_sched *s, const tsf_sched_config *cfg, double base_lr)
{
    memset(s, 0, sizeof *s);
    s->cfg = *cfg;
    s->base_lr = base_lr;
    s->lr = base_lr;
    s->best = INFINITY;
}

double tsf_sched_lr(const tsf_sched *s, size_t epoch, size_t step, size_t steps_per_epoch,
                    size_t n_epochs)
{
    const tsf_sched_config *c = &s->cfg;
    switch (c->kind) {
    case TSF_SCHED_STEP:
        return s->base_lr * pow(c->gamma, (double)(epoch / c->step_size));
    case TSF_SCHED_COSINE: {
        double W = floor(c->warmup * (double)steps_per_epoch + 0.5);
        double S = (double)n_epochs * (double)steps_per_epoch, t = (double)step;
        if (t < W)
            return s->base_lr * (t + 1) / W;
        double p = S > W ? (t - W) / (S - W) : 1.0;
        if (p > 1)
            p = 1;
        return c->min_lr + (s->base_lr - c->min_lr) * 0.5 * (1 + cos(M_PI * p));
    }
    case TSF_SCHED_PLATEAU:
        return s->lr;
    default:
        return s->base_lr;
    }
}

void tsf_sched_epoch_end(tsf_sched *s, double metric)
{
    const tsf_sched_config *c = &s->cfg;
    if (c->kind != TSF_SCHED_PLATEAU)
        return;
    /* ReduceLROnPlateau, mode "min", threshold_mode "rel". */
    if (metric < s->best * (1 - c->threshold)) {
        s->best = metric;
        s->n_bad = 0;
    } else {
        s->n_bad++;
    }
    if (s->cooldown_left > 0) {
        s->cooldown_left--;
        s->n_bad = 0;
    }
    if (s->n_bad > c->patience) {
        double lr = s->lr * c->factor;
        if (lr < c->min_lr)
            lr = c->min_lr;
        if (s->lr - lr > 1e-8) {
            s->lr = lr;
            s->n_reductions++;
        }
        s->cooldown_left = c->cooldown;
        s->n_bad = 0;
    }
}

static const char *const sched_names[] = {"constant", "step", "cosine", "plateau"};

const char *tsf_sched_name(tsf_sched_kind kind)
{
    if ((unsigned)kind < sizeof sched_names / sizeof *sched_names)
        return sched_names[kind];
    return "?";
}

int tsf_sched_parse(const char *name, tsf_sched_kind *kind)
{
    for (size_t i = 0; i < sizeof sched_names / sizeof *sched_names; i++)
        if (strcmp(name, sched_names[i]) == 0) {
            *kind = (tsf_sched_kind)i;
            return 0;
        }
    return -1;
}

void tsf_early_stop_init(tsf_early_stop *es, size_t patience, double min_delta)
{
    memset(es, 0, sizeof *es);
    es->patience = patience;
    es->min_delta = min_delta;
    es->best = INFINITY;
}

int tsf_early_stop_update(tsf_early_stop *es, size_t epoch, double value)
{
    if (value < es->best - es->min_delta) {
        es->best = value;
        es->best_epoch = epoch;
        es->n_bad = 0;
        return 1;
    }
    es->n_bad++;
    if (es->patience > 0 && es->n_bad >= es->patience)
        es->stop = 1;
    return 0;
}
