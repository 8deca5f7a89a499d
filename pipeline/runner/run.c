/* Running a plan: the host services stages call, values with reference counts and keep-alive
 * links (freed after their last consumer and after every value that refers into them),
 * progress with time left, cancellation, per-step time and peak memory. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runner_internal.h"

typedef struct rvalue {
    tsf_value pub; /* first: stages hold pointers to it */
    void (*free_fn)(void *);
    size_t consumers; /* bindings that have not run yet */
    size_t keepers;   /* live values that keep this one */
    struct rvalue **keeps;
    size_t n_keeps;
    int set, freed;
} rvalue;

struct tsf__run {
    const tsf_run_hooks *hooks;
    rvalue **vals; /* per step: (n_out) values */
    pthread_mutex_t lock;
    double t0; /* when the current step began */
    /* the current step's first report with a known fraction: when, and the fraction (< 0: none
     * yet); the time left is estimated from the rate since then */
    double first_t, first_fraction;
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void tsf__ctx_init(tsf__ctx *ctx, tsf_plan *plan, tsf_plan_step *step, int phase)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->pub.abi = TSF_STAGE_ABI_VERSION;
    ctx->pub.host = &tsf__host;
    ctx->pub.info = &plan->info;
    ctx->pub.step = step->src->name;
    ctx->pub.def = step->def;
    ctx->pub.n_inputs = step->n_in;
    ctx->pub.n_outputs = step->n_out;
    ctx->pub.priv = ctx;
    ctx->plan = plan;
    ctx->step = step;
    ctx->phase = phase;
}

static tsf__ctx *priv(tsf_stage_ctx *ctx)
{
    return (tsf__ctx *)ctx->priv;
}

/* ---- Host services --------------------------------------------------------------------------- */

static int host_cancelled(tsf_stage_ctx *ctx)
{
    tsf__ctx *c = priv(ctx);
    return c->run && c->run->hooks && c->run->hooks->cancel && *c->run->hooks->cancel;
}

static void host_progress(tsf_stage_ctx *ctx, const tsf_progress *p)
{
    tsf__ctx *c = priv(ctx);
    if (!c->run || !c->run->hooks || !c->run->hooks->progress)
        return;
    tsf_progress_event ev;
    ev.index = c->index;
    ev.count = c->plan->n_steps;
    ev.step = c->step->src->name;
    ev.stage = c->step->def->name;
    ev.p = *p;
    tsf__run *r = c->run;
    double t = now();
    ev.elapsed = t - r->t0;
    ev.eta = -1;
    pthread_mutex_lock(&r->lock);
    /* From the rate since the step's first report, not since it began: the set-up before it
     * (reading, allocating, starting threads, a slow first batch) divided by a tiny first
     * fraction would make the early estimates many times too long. */
    if (r->first_fraction < 0 && p->fraction >= 0 && p->fraction <= 1) {
        r->first_t = t;
        r->first_fraction = p->fraction;
    } else if (r->first_fraction >= 0 && p->fraction > r->first_fraction && p->fraction <= 1) {
        ev.eta = (t - r->first_t) * (1 - p->fraction) / (p->fraction - r->first_fraction);
    }
    r->hooks->progress(r->hooks->user, &ev);
    pthread_mutex_unlock(&r->lock);
}

static void host_log(tsf_stage_ctx *ctx, int level, const char *msg)
{
    tsf__ctx *c = priv(ctx);
    if (!c->run || !c->run->hooks || !c->run->hooks->log)
        return;
    pthread_mutex_lock(&c->run->lock);
    c->run->hooks->log(c->run->hooks->user, c->plan, c->index, level, msg);
    pthread_mutex_unlock(&c->run->lock);
}

static void host_blame(tsf_stage_ctx *ctx, const char *key)
{
    tsf__ctx *c = priv(ctx);
    snprintf(c->blame, sizeof c->blame, "%s", key ? key : "");
}

static int host_is_set(tsf_stage_ctx *ctx, const char *key)
{
    const tsf_step_src *s = priv(ctx)->step->src;
    for (size_t i = 0; i < s->n_kv; i++)
        if (!strcmp(s->kv[i].key, key))
            return 1;
    return 0;
}

static int set_text(const char **dst, const char *text)
{
    char *s = NULL;
    if (text && !(s = strdup(text)))
        return TSF_ENOMEM;
    free((char *)*dst);
    *dst = s;
    return TSF_OK;
}

static int host_meta_set_columns(tsf_stage_ctx *ctx, tsf_meta *m, size_t n,
                                 const char *const *names)
{
    (void)ctx;
    char **v = calloc(n ? n : 1, sizeof *v);
    if (!v)
        return TSF_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if (!(v[i] = strdup(names[i] ? names[i] : ""))) {
            for (size_t k = 0; k < i; k++)
                free(v[k]);
            free(v);
            return TSF_ENOMEM;
        }
    }
    const char *source = m->source, *note = m->note;
    m->source = m->note = NULL;
    tsf__meta_clear(m);
    m->source = source;
    m->note = note;
    m->col_names = (const char *const *)v;
    m->cols = (int64_t)n;
    return TSF_OK;
}

static int host_meta_set_text(tsf_stage_ctx *ctx, tsf_meta *m, int which, const char *text)
{
    (void)ctx;
    return set_text(which == TSF_META_SOURCE ? &m->source : &m->note, text);
}

static int host_meta_copy(tsf_stage_ctx *ctx, tsf_meta *dst, const tsf_meta *src)
{
    if (dst == src)
        return TSF_OK;
    tsf_type t = dst->type;
    tsf__meta_clear(dst);
    *dst = *src;
    dst->col_names = NULL;
    dst->source = dst->note = NULL;
    if (t != TSF_TYPE_NONE)
        dst->type = t;
    int rc = TSF_OK;
    if (src->col_names && src->cols >= 0)
        rc = host_meta_set_columns(ctx, dst, (size_t)src->cols, src->col_names);
    if (rc == TSF_OK)
        rc = set_text(&dst->source, src->source);
    if (rc == TSF_OK)
        rc = set_text(&dst->note, src->note);
    return rc;
}

/* The output slot k of the current step that v is, or -1. */
static long out_index(tsf__ctx *c, const tsf_value *v)
{
    if (!c->run || c->phase != TSF__PHASE_RUN)
        return -1;
    rvalue *vals = c->run->vals[c->index];
    for (size_t k = 0; k < c->step->n_out; k++)
        if (&vals[k].pub == v)
            return (long)k;
    return -1;
}

static rvalue *in_value(tsf__ctx *c, const tsf_value *v)
{
    if (!c->run || c->phase != TSF__PHASE_RUN)
        return NULL;
    for (size_t j = 0; j < c->step->n_in; j++) {
        if (!c->step->in_bound[j])
            continue;
        rvalue *r = &c->run->vals[c->step->in[j].step][c->step->in[j].port];
        if (&r->pub == v)
            return r;
    }
    return NULL;
}

static int host_value_set(tsf_stage_ctx *ctx, tsf_value *out, void *obj, void (*free_fn)(void *))
{
    tsf__ctx *c = priv(ctx);
    long k = out_index(c, out);
    if (k < 0 || !obj || ((rvalue *)out)->set) {
        if (obj && free_fn)
            free_fn(obj);
        return TSF_EINVAL;
    }
    rvalue *r = (rvalue *)out;
    r->pub.ptr = obj;
    r->free_fn = free_fn;
    r->set = 1;
    return TSF_OK;
}

static int host_value_keep(tsf_stage_ctx *ctx, tsf_value *out, const tsf_value *in)
{
    tsf__ctx *c = priv(ctx);
    rvalue *src = in_value(c, in);
    if (out_index(c, out) < 0 || !src)
        return TSF_EINVAL;
    rvalue *r = (rvalue *)out;
    rvalue **v = realloc(r->keeps, (r->n_keeps + 1) * sizeof *v);
    if (!v)
        return TSF_ENOMEM;
    r->keeps = v;
    v[r->n_keeps++] = src;
    src->keepers++;
    return TSF_OK;
}

static void *host_value_take(tsf_stage_ctx *ctx, tsf_value *in)
{
    tsf__ctx *c = priv(ctx);
    rvalue *r = in_value(c, in);
    /* Only the last consumer may take, and only a value nothing points into and that points
     * into nothing (its referents' lifetimes would be lost with it). */
    if (!r || r->consumers != 1 || r->keepers || r->n_keeps || !r->pub.ptr)
        return NULL;
    void *obj = r->pub.ptr;
    r->pub.ptr = NULL;
    r->free_fn = NULL;
    return obj;
}

static const char *host_suggest(tsf_stage_ctx *ctx, const char *word, const char *const *candidates,
                                size_t n)
{
    (void)ctx;
    return tsf_suggest(word, candidates, n);
}

const tsf_host tsf__host = {
    .abi = TSF_STAGE_ABI_VERSION,
    .cancelled = host_cancelled,
    .progress = host_progress,
    .log = host_log,
    .blame = host_blame,
    .is_set = host_is_set,
    .meta_copy = host_meta_copy,
    .meta_set_columns = host_meta_set_columns,
    .meta_set_text = host_meta_set_text,
    .value_set = host_value_set,
    .value_keep = host_value_keep,
    .value_take = host_value_take,
    .suggest = host_suggest,
};

/* ---- Values ---------------------------------------------------------------------------------- */

/* Free v once nothing needs it, then let go of what it kept alive. */
static void release(rvalue *v)
{
    if (v->freed || !v->set || v->consumers || v->keepers)
        return;
    if (v->free_fn && v->pub.ptr)
        v->free_fn(v->pub.ptr);
    v->pub.ptr = NULL;
    v->freed = 1;
    for (size_t i = 0; i < v->n_keeps; i++) {
        v->keeps[i]->keepers--;
        release(v->keeps[i]);
    }
    free(v->keeps);
    v->keeps = NULL;
    v->n_keeps = 0;
}

/* ---- Memory -------------------------------------------------------------------------------- */

/* Reset the kernel's peak-RSS mark (Linux >= 4.0) so VmHWM measures this step alone. This also
 * resets the peak that getrusage() and /usr/bin/time report for the whole process: only done
 * when asked (tsf_run_hooks.measure_memory). */
static int reset_peak(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (!f)
        return 0;
    int ok = fputs("5", f) >= 0;
    return fclose(f) == 0 && ok;
}

static long peak_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    char line[256];
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "VmHWM:", 6))
            kb = strtol(line + 6, NULL, 10);
    fclose(f);
    return kb;
}

/* ---- The run ------------------------------------------------------------------------------- */

static int cancelled(const tsf_run_hooks *h)
{
    return h && h->cancel && *h->cancel;
}

/* A value slot for every output of every step (run->vals allocated, n_steps long), each
 * counting the bindings that will read it. */
static int values_alloc(tsf__run *run, tsf_plan *plan, tsf_err *err)
{
    size_t n = plan->n_steps;
    int rc = TSF_OK;
    for (size_t i = 0; i < n && rc == TSF_OK; i++) {
        tsf_plan_step *s = &plan->steps[i];
        if (!s->state)
            rc =
                tsf_err_set(err, TSF_EINVAL, "step \"%s\": the plan has already run", s->src->name);
        run->vals[i] = calloc(s->n_out ? s->n_out : 1, sizeof **run->vals);
        if (!run->vals[i] && rc == TSF_OK)
            rc = tsf_err_set(err, TSF_ENOMEM, "out of memory starting the run");
        for (size_t k = 0; run->vals[i] && k < s->n_out; k++) {
            run->vals[i][k].pub.type = s->out[k].type;
            run->vals[i][k].pub.meta = &s->out[k];
        }
    }
    for (size_t i = 0; i < n && rc == TSF_OK; i++)
        for (size_t j = 0; j < plan->steps[i].n_in; j++)
            if (plan->steps[i].in_bound[j])
                run->vals[plan->steps[i].in[j].step][plan->steps[i].in[j].port].consumers++;
    return rc;
}

/* After a failure: drop every pending consumer and free what is left, newest first (a value's
 * keepers are always newer than it); then the slots. */
static void values_free(tsf__run *run, const tsf_plan *plan)
{
    size_t n = plan->n_steps;
    for (size_t i = n; i-- > 0;) {
        for (size_t k = 0; run->vals[i] && k < plan->steps[i].n_out; k++) {
            run->vals[i][k].consumers = 0;
            release(&run->vals[i][k]);
        }
    }
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; run->vals[i] && k < plan->steps[i].n_out; k++)
            free(run->vals[i][k].keeps);
        free(run->vals[i]);
    }
    free(run->vals);
    run->vals = NULL;
}

/* Call step i's stage on its bound values, timing it (and measuring its peak memory when
 * asked). A stage that succeeds must have produced every output. */
static int call_stage(tsf__run *run, tsf_plan *plan, size_t i, tsf_value **in, tsf_value **out,
                      tsf_err *e)
{
    tsf_plan_step *s = &plan->steps[i];
    int have_peak = run->hooks && run->hooks->measure_memory && reset_peak();
    tsf__ctx ctx;
    tsf__ctx_init(&ctx, plan, s, TSF__PHASE_RUN);
    ctx.run = run;
    ctx.index = i;
    run->t0 = now();
    run->first_fraction = -1;
    int src = s->def->run(&ctx.pub, s->state, in, out, e);
    s->stats.seconds = now() - run->t0;
    s->stats.peak_rss_kb = have_peak ? peak_kb() : -1;
    for (size_t k = 0; k < s->n_out && src == TSF_OK; k++)
        if (!run->vals[i][k].set)
            src = tsf_err_set(e, TSF_EPLUGIN,
                              "stage %s (%s) returned success without producing output \"%s\"",
                              s->def->name, s->origin, s->def->outputs[k].name);
    return src;
}

/* Outputs nobody reads go now; inputs go after their last consumer. */
static void release_step_values(tsf__run *run, const tsf_plan_step *s, size_t i)
{
    for (size_t k = 0; k < s->n_out; k++)
        release(&run->vals[i][k]);
    for (size_t j = 0; j < s->n_in; j++) {
        if (!s->in_bound[j])
            continue;
        rvalue *v = &run->vals[s->in[j].step][s->in[j].port];
        v->consumers--;
        release(v);
    }
}

/* Run step i between the hooks' step_begin and step_end, then finish it. */
static int run_step(tsf__run *run, tsf_plan *plan, size_t i, tsf_err *err)
{
    tsf_plan_step *s = &plan->steps[i];
    const tsf_run_hooks *hooks = run->hooks;
    if (cancelled(hooks))
        return tsf_err_set(err, TSF_ECANCEL, "interrupted before step \"%s\"", s->src->name);
    tsf_value **in = calloc(s->n_in ? s->n_in : 1, sizeof *in);
    tsf_value **out = calloc(s->n_out ? s->n_out : 1, sizeof *out);
    if (!in || !out) {
        free(in);
        free(out);
        return tsf_err_set(err, TSF_ENOMEM, "out of memory running step \"%s\"", s->src->name);
    }
    for (size_t j = 0; j < s->n_in; j++)
        in[j] = s->in_bound[j] ? &run->vals[s->in[j].step][s->in[j].port].pub : NULL;
    for (size_t k = 0; k < s->n_out; k++)
        out[k] = &run->vals[i][k].pub;
    if (hooks && hooks->step_begin)
        hooks->step_begin(hooks->user, plan, i);
    tsf_err e = TSF_ERR_INIT;
    int src = call_stage(run, plan, i, in, out, &e);
    free(in);
    free(out);
    tsf__step_fini(plan, s);
    s->stats.ran = src == TSF_OK;
    int rc = TSF_OK;
    if (src != TSF_OK) {
        if (src == TSF_ECANCEL || cancelled(hooks))
            rc = tsf_err_set(err, TSF_ECANCEL, "interrupted during step \"%s\" (%s)", s->src->name,
                             s->def->name);
        else
            rc = tsf_err_set(err, src, "step \"%s\" (%s): %s", s->src->name, s->def->name,
                             e.msg[0]            ? e.msg
                             : src == TSF_ENOMEM ? "out of memory" /* from a host call */
                                                 : "failed without a message");
    }
    if (hooks && hooks->step_end)
        hooks->step_end(hooks->user, plan, i, src);
    if (rc == TSF_OK)
        release_step_values(run, s, i);
    return rc;
}

int tsf_plan_run(tsf_plan *plan, const tsf_run_hooks *hooks, tsf_err *err)
{
    size_t n = plan->n_steps;
    tsf__run run = {.hooks = hooks};
    run.vals = calloc(n ? n : 1, sizeof *run.vals);
    if (!run.vals)
        TSF_FAIL(err, TSF_ENOMEM, "out of memory starting the run");
    pthread_mutex_init(&run.lock, NULL);
    int rc = values_alloc(&run, plan, err);
    for (size_t i = 0; i < n && rc == TSF_OK; i++)
        rc = run_step(&run, plan, i, err);
    /* A signal during the last step, after it stopped checking: outputs are kept from being
     * replaced (tsf_atomic_set_cancel_flag), so the run was interrupted all the same. */
    if (rc == TSF_OK && cancelled(hooks))
        rc = tsf_err_set(err, TSF_ECANCEL, "interrupted at the end of the run");
    values_free(&run, plan);
    pthread_mutex_destroy(&run.lock);
    /* Steps that never ran still get fini (from tsf_plan_free); mark the plan spent. */
    for (size_t i = 0; i < n; i++)
        tsf__step_fini(plan, &plan->steps[i]);
    return rc;
}
