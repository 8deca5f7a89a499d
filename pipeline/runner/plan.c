/* Plans: what check knew (metas), the plan as text for `tsflow check`, and tearing a plan down. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner_internal.h"

void tsf__meta_init(tsf_meta *m, tsf_type t)
{
    memset(m, 0, sizeof *m);
    m->type = t;
    m->rows = m->cols = m->n_series = m->min_series_rows = m->step = m->time_kind = TSF_UNKNOWN;
    m->samples = m->lookback = m->horizon = m->n_inputs = m->n_outputs = m->folds = TSF_UNKNOWN;
}

void tsf__meta_clear(tsf_meta *m)
{
    if (m->col_names) {
        for (int64_t i = 0; i < m->cols; i++)
            free((char *)m->col_names[i]);
        free((void *)m->col_names);
    }
    free((char *)m->source);
    free((char *)m->note);
    m->col_names = NULL;
    m->source = m->note = NULL;
}

void tsf__step_fini(tsf_plan *plan, tsf_plan_step *step)
{
    if (!step->state)
        return;
    if (step->def && step->def->fini) {
        tsf__ctx ctx;
        tsf__ctx_init(&ctx, plan, step, TSF__PHASE_FINI);
        step->def->fini(&ctx.pub, step->state);
    }
    if (step->def)
        tsf_opts_clear(step->def->options, step->state);
    free(step->state);
    step->state = NULL;
}

void tsf_plan_free(tsf_plan *plan)
{
    if (!plan)
        return;
    for (size_t i = 0; i < plan->n_steps; i++) {
        tsf_plan_step *s = &plan->steps[i];
        tsf__step_fini(plan, s);
        free(s->in);
        free(s->in_bound);
        for (size_t k = 0; k < s->n_out; k++)
            tsf__meta_clear(&s->out[k]);
        free(s->out);
    }
    free(plan->steps);
    free(plan);
}

/* ---- Text ---------------------------------------------------------------------------------- */

static void put(char *buf, size_t n, size_t *used, const char *fmt, ...) TSF_PRINTF(4, 5);
static void put(char *buf, size_t n, size_t *used, const char *fmt, ...)
{
    if (*used >= n)
        return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(buf + *used, n - *used, fmt, ap);
    va_end(ap);
    if (k > 0)
        *used += (size_t)k < n - *used ? (size_t)k : n - *used - 1;
}

void tsf_meta_describe(const tsf_meta *m, char *buf, size_t n)
{
    size_t u = 0;
    buf[0] = '\0';
    put(buf, n, &u, "%s", tsf_type_name(m->type));
    const char *sep = ": ";
#define FIELD(cond, ...)                                                                           \
    do {                                                                                           \
        if (cond) {                                                                                \
            put(buf, n, &u, "%s", sep);                                                            \
            put(buf, n, &u, __VA_ARGS__);                                                          \
            sep = ", ";                                                                            \
        }                                                                                          \
    } while (0)
    if (m->rows >= 0 && m->cols >= 0)
        FIELD(1, "%lld rows x %lld column%s", (long long)m->rows, (long long)m->cols,
              m->cols == 1 ? "" : "s");
    else if (m->rows >= 0)
        FIELD(1, "%lld rows", (long long)m->rows);
    else if (m->cols >= 0)
        FIELD(1, "%lld column%s", (long long)m->cols, m->cols == 1 ? "" : "s");
    if (m->col_names && m->cols > 0) {
        put(buf, n, &u, " (");
        for (int64_t i = 0; i < m->cols && i < 8; i++)
            put(buf, n, &u, "%s%s", i ? ", " : "", m->col_names[i]);
        put(buf, n, &u, "%s)", m->cols > 8 ? ", ..." : "");
    }
    FIELD(m->n_series >= 0, "%lld series", (long long)m->n_series);
    FIELD(m->min_series_rows >= 0 && m->n_series != 1, "shortest series %lld row%s",
          (long long)m->min_series_rows, m->min_series_rows == 1 ? "" : "s");
    char sec[32];
    FIELD(m->step > 0, "step %s%s",
          m->time_kind == 1 ? tsf_seconds_format(m->step, sec, sizeof sec)
                            : (snprintf(sec, sizeof sec, "%lld", (long long)m->step), sec),
          m->time_kind == 1 ? " s" : "");
    FIELD(m->samples >= 0, "%lld samples", (long long)m->samples);
    FIELD(m->lookback >= 0, "lookback %lld", (long long)m->lookback);
    FIELD(m->horizon >= 0, "horizon %lld", (long long)m->horizon);
    FIELD(m->n_inputs >= 0, "%lld inputs", (long long)m->n_inputs);
    FIELD(m->n_outputs >= 0, "%lld outputs", (long long)m->n_outputs);
    FIELD(m->folds >= 0, "%lld folds", (long long)m->folds);
    FIELD(m->note != NULL, "%s", m->note);
#undef FIELD
}

int tsf_plan_format(const tsf_plan *plan, char **text, tsf_err *err)
{
    tsf__buf b = {0};
    *text = NULL;
    size_t w = 4;
    for (size_t i = 0; i < plan->n_steps; i++) {
        size_t len = strlen(plan->steps[i].src->name);
        if (len > w)
            w = len;
    }
    tsf__buf_printf(&b, "%s: %zu step%s, in run order\n", plan->src->name, plan->n_steps,
                    plan->n_steps == 1 ? "" : "s");
    for (size_t i = 0; i < plan->n_steps; i++) {
        const tsf_plan_step *s = &plan->steps[i];
        const tsf_stage_def *def = s->def;
        if (s->origin && strcmp(s->origin, "built-in"))
            tsf__buf_printf(&b, "%3zu  %-*s  %s  (plugin %s)\n", i + 1, (int)w, s->src->name,
                            def->name, s->origin);
        else
            tsf__buf_printf(&b, "%3zu  %-*s  %s\n", i + 1, (int)w, s->src->name, def->name);
        for (size_t j = 0; j < s->n_in; j++) {
            size_t np = 0;
            while (def->inputs[np].name)
                np++;
            const tsf_port *port = &def->inputs[j < np ? j : np - 1];
            if (!s->in_bound[j]) {
                tsf__buf_printf(&b, "%*s  in     %-10s (not connected)\n", (int)w + 5, "",
                                port->name);
                continue;
            }
            const tsf_plan_step *p = &plan->steps[s->in[j].step];
            tsf__buf_printf(&b, "%*s  in     %-10s <- %s.%s\n", (int)w + 5, "", port->name,
                            p->src->name, p->def->outputs[s->in[j].port].name);
        }
        for (const tsf_option *o = def->options; o && o->name; o++) {
            if (o->type != TSF_OPT_PATH_IN && o->type != TSF_OPT_PATH_OUT)
                continue;
            const char *path = *(char *const *)((const char *)s->state + o->offset);
            if (path)
                tsf__buf_printf(&b, "%*s  %-6s %s\n", (int)w + 5, "",
                                o->type == TSF_OPT_PATH_IN ? "reads" : "writes", path);
        }
        for (size_t k = 0; k < s->n_out; k++) {
            char d[1024];
            tsf_meta_describe(&s->out[k], d, sizeof d);
            tsf__buf_printf(&b, "%*s  out    %-10s %s\n", (int)w + 5, "", def->outputs[k].name, d);
        }
    }
    if (b.failed) {
        free(b.s);
        TSF_FAIL(err, TSF_ENOMEM, "out of memory formatting the plan");
    }
    *text = b.s;
    return TSF_OK;
}
