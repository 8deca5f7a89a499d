/* Checking a pipeline before anything runs: stages, options, inputs, cycles, port types, files,
 * and each stage's own check, all reported at once with the file's line numbers. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runner_internal.h"
#include "tsflow/atomic.h"

typedef struct ref {
    size_t step; /* producer, in file order */
    char *port;  /* STEP.PORT, or NULL */
} ref;

typedef struct work {
    int bad;      /* unknown stage or a bad option: its check does not run */
    int in_cycle; /* part of (or behind) a cycle: not ordered */
    ref *refs;    /* what input/inputs names, or the implicit previous step */
    size_t n_refs;
    const tsf_kv *input_kv; /* the input/inputs key, or NULL when implicit */
} work;

typedef struct out_file {
    char *path; /* as resolved */
    size_t step;
    int line;
} out_file;

/* A path option of a step, as given (resolved against the file's directory), for comparing
 * the files outputs and inputs name. */
typedef struct path_use {
    const char *path;
    const char *key;
    const tsf_kv *kv;
    size_t step;
    int line;
} path_use;

typedef struct checker {
    const tsf_pipeline *p;
    const tsf_registry *reg;
    tsf_plan *plan; /* steps in file order until the end */
    work *w;
    tsf_diags *diags;
    int oom;                       /* an allocation failed: the problems found may be its effects */
    const char *oom_step;          /* the step whose check ran out of memory, or NULL */
    char oom_msg[TSF_ERR_MSG_MAX]; /* what its check said, or "" */
    out_file *outs;
    size_t n_outs;
    path_use *ins, *writes; /* every input and output path option */
    size_t n_ins, n_writes;
} checker;

/* Record a problem: "<where>: step "S"[, key "K"]: <message>". where is the key's line, its
 * --set, or the given line. */
static void diag(checker *c, const tsf_step_src *s, const tsf_kv *kv, int line, const char *key,
                 int code, const char *fmt, ...) TSF_PRINTF(7, 8);
static void diag(checker *c, const tsf_step_src *s, const tsf_kv *kv, int line, const char *key,
                 int code, const char *fmt, ...)
{
    char msg[TSF_ERR_MSG_MAX], where[512], what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (kv)
        line = kv->line;
    if (kv && kv->line == 0 && kv->set_index > 0)
        snprintf(where, sizeof where, "--set %s", c->p->sets[kv->set_index - 1]);
    else if (line > 0)
        snprintf(where, sizeof where, "%s:%d", c->p->name, line);
    else
        snprintf(where, sizeof where, "%s", c->p->name);
    if (key)
        snprintf(what, sizeof what, "step \"%s\", key \"%s\"", s->name, key);
    else
        snprintf(what, sizeof what, "step \"%s\"", s->name);
    if (tsf_diags_add(c->diags, code, line, "%s: %s: %s", where, what, msg) == TSF_ENOMEM)
        c->oom = 1;
}

static tsf_kv *find_kv(const tsf_step_src *s, const char *key)
{
    for (size_t i = 0; i < s->n_kv; i++)
        if (!strcmp(s->kv[i].key, key))
            return &s->kv[i];
    return NULL;
}

static size_t count_ports(const tsf_port *p)
{
    size_t n = 0;
    while (p && p[n].name)
        n++;
    return n;
}

/* "frame or forecasts" for a type mask. */
static void mask_text(unsigned mask, char *buf, size_t n)
{
    size_t used = 0;
    buf[0] = '\0';
    int k = 0;
    for (unsigned t = 1; t < TSF_TYPE_COUNT_; t++) {
        if (!(mask & TSF_TYPE_BIT(t)))
            continue;
        int w =
            snprintf(buf + used, n - used, "%s%s", k++ ? " or " : "", tsf_type_name((tsf_type)t));
        if (w < 0 || (size_t)w >= n - used)
            return;
        used += (size_t)w;
    }
}

/* "frame (frame), model (model)" */
static void ports_text(const tsf_port *ports, char *buf, size_t n)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; ports && ports[i].name; i++) {
        char m[128];
        mask_text(ports[i].types, m, sizeof m);
        int w = snprintf(buf + used, n - used, "%s%s: %s%s", i ? ", " : "", ports[i].name, m,
                         ports[i].flags & TSF_PORT_OPTIONAL ? ", optional" : "");
        if (w < 0 || (size_t)w >= n - used)
            return;
        used += (size_t)w;
    }
}

static const char *suggest_step(const tsf_pipeline *p, const char *name)
{
    const char *names[256];
    size_t n = p->n_steps < 256 ? p->n_steps : 256;
    for (size_t i = 0; i < n; i++)
        names[i] = p->steps[i].name;
    return tsf_suggest(name, names, n);
}

static long step_index(const tsf_pipeline *p, const char *name)
{
    for (size_t i = 0; i < p->n_steps; i++)
        if (!strcmp(p->steps[i].name, name))
            return (long)i;
    return -1;
}

/* ---- Phase 1: stage, options, files -------------------------------------------------------- */

static int check_paths(checker *c, size_t i);

static void check_options(checker *c, size_t i)
{
    const tsf_step_src *s = &c->p->steps[i];
    tsf_plan_step *ps = &c->plan->steps[i];
    work *w = &c->w[i];
    ps->src = s;
    ps->stage_line = s->line;
    tsf_kv *kv = find_kv(s, "stage");
    if (!kv) {
        diag(c, s, NULL, s->line, NULL, TSF_EINVAL,
             "no \"stage = NAME\" line (expected the stage this step runs; 'tsflow stages' lists "
             "them)");
        w->bad = 1;
        return;
    }
    if (kv->line)
        ps->stage_line = kv->line;
    char name[128];
    snprintf(name, sizeof name, "%s", kv->value);
    const tsf_stage_def *def = tsf_registry_find(c->reg, name);
    if (!def) {
        char q[96];
        const char *near = tsf_registry_suggest(c->reg, name);
        if (near)
            diag(c, s, kv, 0, "stage", TSF_EINVAL,
                 "unknown stage %s (did you mean \"%s\"? 'tsflow stages' lists them)",
                 tsf__quote(name, q, sizeof q), near);
        else
            diag(c, s, kv, 0, "stage", TSF_EINVAL, "unknown stage %s ('tsflow stages' lists them)",
                 tsf__quote(name, q, sizeof q));
        w->bad = 1;
        return;
    }
    ps->def = def;
    for (size_t k = 0; k < tsf_registry_count(c->reg); k++) {
        const char *origin;
        if (tsf_registry_get(c->reg, k, &origin) == def)
            ps->origin = origin;
    }
    ps->state = calloc(1, def->state_size ? def->state_size : 1);
    if (!ps->state) {
        c->oom = 1;
        w->bad = 1;
        return;
    }
    for (const tsf_option *o = def->options; o && o->name; o++) {
        if (!o->def)
            continue;
        tsf_err e = TSF_ERR_INIT;
        if (tsf_opt_parse(o, o->def, NULL, ps->state, &e) != TSF_OK) {
            diag(c, s, NULL, ps->stage_line, o->name, e.code, "default: %s", e.msg);
            w->bad = 1;
        }
    }
    for (size_t k = 0; k < s->n_kv; k++) {
        const tsf_kv *x = &s->kv[k];
        if (tsf__is_reserved_key(x->key))
            continue;
        const tsf_option *o = tsf_opt_find(def->options, x->key);
        if (!o) {
            const char *names[256];
            size_t n = 0;
            for (const tsf_option *q = def->options; q && q->name && n < 253; q++)
                names[n++] = q->name;
            names[n++] = "input";
            names[n++] = "inputs";
            const char *near = tsf_suggest(x->key, names, n);
            if (near)
                diag(c, s, x, 0, x->key, TSF_EINVAL,
                     "stage %s has no such option (did you mean \"%s\"? 'tsflow help %s' lists "
                     "its options)",
                     def->name, near, def->name);
            else
                diag(c, s, x, 0, x->key, TSF_EINVAL,
                     "stage %s has no such option ('tsflow help %s' lists its options)", def->name,
                     def->name);
            w->bad = 1;
            continue;
        }
        tsf_err e = TSF_ERR_INIT;
        if (tsf_opt_parse(o, x->value, x->line ? c->p->dir : NULL, ps->state, &e) != TSF_OK) {
            if (e.code == TSF_ENOMEM)
                c->oom = 1;
            diag(c, s, x, 0, x->key, e.code, "%s", e.msg);
            w->bad = 1;
        }
    }
    for (const tsf_option *o = def->options; o && o->name; o++) {
        if ((o->flags & TSF_OPT_REQUIRED) && !find_kv(s, o->name)) {
            char exp[512];
            tsf_opt_expected(o, exp, sizeof exp);
            diag(c, s, NULL, ps->stage_line, o->name, TSF_EINVAL,
                 "required by stage %s but not set (expected %s)", def->name, exp);
            w->bad = 1;
        }
    }
    if (check_paths(c, i) != 0)
        w->bad = 1;
}

/* ---- Phase 2: input references ------------------------------------------------------------ */

static int add_ref(work *w, size_t step, const char *port)
{
    ref *v = realloc(w->refs, (w->n_refs + 1) * sizeof *v);
    if (!v)
        return -1;
    w->refs = v;
    v[w->n_refs].step = step;
    v[w->n_refs].port = port ? strdup(port) : NULL;
    if (port && !v[w->n_refs].port)
        return -1;
    w->n_refs++;
    return 0;
}

/* The steps named by `input`/`inputs` (use), as references of step i. */
static void read_refs(checker *c, size_t i, const tsf_kv *use)
{
    const tsf_step_src *s = &c->p->steps[i];
    work *w = &c->w[i];
    char *copy = strdup(use->value);
    if (!copy) {
        c->oom = 1;
        return;
    }
    char *save = NULL;
    for (char *t = strtok_r(copy, ",\n", &save); t; t = strtok_r(NULL, ",\n", &save)) {
        while (*t == ' ' || *t == '\t')
            t++;
        size_t n = strlen(t);
        while (n && (t[n - 1] == ' ' || t[n - 1] == '\t' || t[n - 1] == '\r'))
            t[--n] = '\0';
        if (!n)
            continue;
        char *dot = strchr(t, '.');
        if (dot)
            *dot = '\0';
        long j = step_index(c->p, t);
        char q[96];
        if (j < 0) {
            const char *near = suggest_step(c->p, t);
            if (near)
                diag(c, s, use, 0, use->key, TSF_EINVAL, "no step named %s (did you mean \"%s\"?)",
                     tsf__quote(t, q, sizeof q), near);
            else
                diag(c, s, use, 0, use->key, TSF_EINVAL,
                     "no step named %s (expected the name of a [step] in this file)",
                     tsf__quote(t, q, sizeof q));
            w->bad = 1;
            continue;
        }
        if ((size_t)j == i) {
            diag(c, s, use, 0, use->key, TSF_EINVAL,
                 "the step reads its own output (expected an earlier step)");
            w->bad = 1;
            continue;
        }
        if (add_ref(w, (size_t)j, dot ? dot + 1 : NULL) != 0)
            c->oom = 1;
    }
    free(copy);
}

/* The number of inputs against the stage's ports. */
static void count_inputs(checker *c, size_t i, const tsf_kv *use, const char *ports)
{
    const tsf_step_src *s = &c->p->steps[i];
    tsf_plan_step *ps = &c->plan->steps[i];
    work *w = &c->w[i];
    const tsf_stage_def *def = ps->def;
    size_t np = count_ports(def->inputs);
    int many = np && (def->inputs[np - 1].flags & TSF_PORT_MANY);
    size_t nreq = 0;
    for (size_t k = 0; k < np; k++)
        nreq += !(def->inputs[k].flags & TSF_PORT_OPTIONAL);
    if (!many && w->n_refs > np) {
        diag(c, s, use, ps->stage_line, use ? use->key : NULL, TSF_EINVAL,
             "stage %s takes %s%zu input%s (%s), got %zu", def->name, nreq < np ? "at most " : "",
             np, np == 1 ? "" : "s", ports, w->n_refs);
        w->bad = 1;
    } else if (w->n_refs < nreq) {
        diag(c, s, use, ps->stage_line, use ? use->key : NULL, TSF_EINVAL,
             "stage %s needs %s%zu input%s (%s), got %zu", def->name,
             nreq < np || many ? "at least " : "", nreq, nreq == 1 ? "" : "s", ports, w->n_refs);
        w->bad = 1;
    }
}

static void resolve_inputs(checker *c, size_t i)
{
    const tsf_step_src *s = &c->p->steps[i];
    tsf_plan_step *ps = &c->plan->steps[i];
    work *w = &c->w[i];
    const tsf_stage_def *def = ps->def;
    const tsf_kv *k1 = find_kv(s, "input"), *k2 = find_kv(s, "inputs");
    if (k1 && k2)
        diag(c, s, k2, 0, "inputs", TSF_EINVAL,
             "set together with input (expected one of the two)");
    const tsf_kv *use = k1 ? k1 : k2;
    size_t np = def ? count_ports(def->inputs) : 0;
    char ports[512];
    ports_text(def ? def->inputs : NULL, ports, sizeof ports);
    if (use) {
        w->input_kv = use;
        if (def && np == 0) {
            diag(c, s, use, 0, use->key, TSF_EINVAL, "stage %s takes no input", def->name);
            w->bad = 1;
            return;
        }
        read_refs(c, i, use);
        if (!w->n_refs && !w->bad) {
            diag(c, s, use, 0, use->key, TSF_EINVAL, "is empty (expected STEP or STEP.PORT, ...)");
            w->bad = 1;
        }
    } else if (def) {
        size_t nreq = 0;
        for (size_t k = 0; k < np; k++)
            nreq += !(def->inputs[k].flags & TSF_PORT_OPTIONAL);
        if (nreq == 0)
            return;
        if (nreq > 1) {
            diag(c, s, NULL, ps->stage_line, NULL, TSF_EINVAL,
                 "stage %s needs %zu inputs (%s) (expected inputs = STEP, STEP...)", def->name,
                 nreq, ports);
            w->bad = 1;
            return;
        }
        if (i == 0) {
            diag(c, s, NULL, ps->stage_line, NULL, TSF_EINVAL,
                 "stage %s needs an input (%s), but this is the first step (expected input = "
                 "STEP, or a step before it)",
                 def->name, ports);
            w->bad = 1;
            return;
        }
        if (add_ref(w, i - 1, NULL) != 0)
            c->oom = 1;
    }
    if (!def || w->bad)
        return;
    count_inputs(c, i, use, ports);
}

/* ---- Phase 3: order ------------------------------------------------------------------------- */

/* Kahn's algorithm, always taking the earliest ready step in file order, so a file that lists
 * steps in a valid order runs in that order. Steps left over sit on or behind a cycle. */
static size_t order_steps(checker *c, size_t *order)
{
    size_t n = c->p->n_steps, done = 0;
    char *placed = calloc(n ? n : 1, 1);
    if (!placed) {
        c->oom = 1;
        return 0;
    }
    for (;;) {
        size_t pick = n;
        for (size_t i = 0; i < n && pick == n; i++) {
            if (placed[i])
                continue;
            int ready = 1;
            for (size_t r = 0; r < c->w[i].n_refs && ready; r++)
                ready = placed[c->w[i].refs[r].step];
            if (ready)
                pick = i;
        }
        if (pick == n)
            break;
        placed[pick] = 1;
        order[done++] = pick;
    }
    /* Report each cycle once, from its earliest step. */
    char *reported = calloc(n ? n : 1, 1);
    size_t *path = malloc((n ? n : 1) * sizeof *path);
    long *pos = malloc((n ? n : 1) * sizeof *pos);
    if (!reported || !path || !pos) {
        c->oom = 1;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (placed[i])
            continue;
        c->w[i].in_cycle = 1;
        if (reported[i])
            continue;
        /* Walk unplaced producers from i until a step repeats. */
        for (size_t k = 0; k < n; k++)
            pos[k] = -1;
        size_t len = 0, v = i;
        while (pos[v] < 0) {
            pos[v] = (long)len;
            path[len++] = v;
            size_t next = n;
            for (size_t r = 0; r < c->w[v].n_refs && next == n; r++)
                if (!placed[c->w[v].refs[r].step])
                    next = c->w[v].refs[r].step;
            v = next;
        }
        size_t from = (size_t)pos[v];
        int already = 0;
        for (size_t k = from; k < len; k++)
            already |= reported[path[k]];
        if (already)
            continue;
        /* Start the message at the cycle's earliest step. */
        size_t first = from;
        for (size_t k = from; k < len; k++)
            if (path[k] < path[first])
                first = k;
        char msg[768];
        size_t used = 0, cyc = len - from;
        msg[0] = '\0';
        for (size_t k = 0; k < cyc && used < sizeof msg; k++) {
            size_t a = path[from + (first - from + k) % cyc];
            size_t b = path[from + (first - from + k + 1) % cyc];
            reported[a] = 1;
            int wr = snprintf(msg + used, sizeof msg - used, "%s%s reads %s", k ? ", " : "",
                              c->p->steps[a].name, c->p->steps[b].name);
            if (wr < 0)
                break;
            used += (size_t)wr;
        }
        size_t a = path[first];
        const tsf_kv *kv = c->w[a].input_kv;
        diag(c, &c->p->steps[a], kv, c->p->steps[a].line, kv ? kv->key : NULL, TSF_EINVAL,
             "steps form a cycle: %s (expected each step to read only steps that can run "
             "before it)",
             msg);
    }
out:
    free(reported);
    free(path);
    free(pos);
    free(placed);
    return done;
}

/* ---- Phase 4: bindings, files, stage checks ---------------------------------------------- */

static int bind_inputs(checker *c, size_t i)
{
    const tsf_step_src *s = &c->p->steps[i];
    tsf_plan_step *ps = &c->plan->steps[i];
    work *w = &c->w[i];
    const tsf_stage_def *def = ps->def;
    size_t np = count_ports(def->inputs);
    int many = np && (def->inputs[np - 1].flags & TSF_PORT_MANY);
    size_t n_in = many ? (w->n_refs > np - 1 ? w->n_refs : np - 1) : np;
    ps->n_in = n_in;
    ps->in = calloc(n_in ? n_in : 1, sizeof *ps->in);
    ps->in_bound = calloc(n_in ? n_in : 1, sizeof *ps->in_bound);
    if (!ps->in || !ps->in_bound) {
        c->oom = 1;
        return -1;
    }
    int ok = 0;
    for (size_t j = 0; j < w->n_refs; j++) {
        const tsf_port *port = &def->inputs[j < np ? j : np - 1];
        const ref *r = &w->refs[j];
        const tsf_plan_step *prod = &c->plan->steps[r->step];
        const char *pname = prod->src->name;
        const tsf_kv *kv = w->input_kv;
        const char *key = kv ? kv->key : NULL;
        int line = ps->stage_line;
        char want[128], outs[512];
        mask_text(port->types, want, sizeof want);
        ports_text(prod->def->outputs, outs, sizeof outs);
        if (!prod->n_out) {
            diag(c, s, kv, line, key, TSF_ETYPE,
                 "step \"%s\" produces nothing to read (stage %s has no outputs)", pname,
                 prod->def->name);
            ok = -1;
            continue;
        }
        size_t k = prod->n_out;
        if (r->port) {
            for (size_t q = 0; q < prod->n_out; q++)
                if (!strcmp(prod->def->outputs[q].name, r->port))
                    k = q;
            if (k == prod->n_out) {
                diag(c, s, kv, line, key, TSF_EINVAL,
                     "step \"%s\" has no output \"%s\" (stage %s gives %s)", pname, r->port,
                     prod->def->name, outs);
                ok = -1;
                continue;
            }
            if (!(TSF_TYPE_BIT(prod->out[k].type) & port->types)) {
                diag(c, s, kv, line, key, TSF_ETYPE,
                     "%s.%s is a %s, but input \"%s\" of stage %s takes %s", pname, r->port,
                     tsf_type_name(prod->out[k].type), port->name, def->name, want);
                ok = -1;
                continue;
            }
        } else {
            for (size_t q = 0; q < prod->n_out && k == prod->n_out; q++)
                if (TSF_TYPE_BIT(prod->out[q].type) & port->types)
                    k = q;
            if (k == prod->n_out) {
                char gives[256];
                size_t used = 0;
                gives[0] = '\0';
                for (size_t q = 0; q < prod->n_out; q++) {
                    int wr = snprintf(gives + used, sizeof gives - used, "%s%s", q ? ", " : "",
                                      tsf_type_name(prod->out[q].type));
                    if (wr < 0 || (size_t)wr >= sizeof gives - used)
                        break;
                    used += (size_t)wr;
                }
                diag(c, s, kv, line, key, TSF_ETYPE,
                     "step \"%s\" gives %s, but input \"%s\" of stage %s takes %s", pname, gives,
                     port->name, def->name, want);
                ok = -1;
                continue;
            }
        }
        ps->in[j].step = r->step;
        ps->in[j].port = k;
        ps->in_bound[j] = 1;
    }
    return ok;
}

/* What a path that is not a regular file is, for messages. */
static const char *file_kind(mode_t mode)
{
    return S_ISFIFO(mode)   ? "a pipe (FIFO)"
           : S_ISCHR(mode)  ? "a character device"
           : S_ISBLK(mode)  ? "a block device"
           : S_ISSOCK(mode) ? "a socket"
                            : "a special file";
}

/* One path option of a step, with what its messages say. */
typedef struct path_opt {
    size_t step;
    const tsf_option *o;
    const char *path;
    const tsf_kv *kv; /* the option's key, or NULL when it was not given */
    int line;         /* the stage's line, for a default */
    char q[96];       /* the path, quoted */
    char exp[256];    /* what the option expects */
} path_opt;

/* Remember the path among the run's inputs or outputs, for check_outputs_apart_from_inputs. */
static int record_path_use(checker *c, const path_opt *po)
{
    int in = po->o->type == TSF_OPT_PATH_IN;
    path_use **uses = in ? &c->ins : &c->writes;
    size_t *n_uses = in ? &c->n_ins : &c->n_writes;
    path_use *u = realloc(*uses, (*n_uses + 1) * sizeof *u);
    if (!u) {
        c->oom = 1;
        return -1;
    }
    *uses = u;
    u[(*n_uses)++] = (path_use){po->path, po->o->name, po->kv, po->step,
                                po->kv && po->kv->line ? po->kv->line : po->line};
    return 0;
}

/* An input must be a readable file; a pipe or device only for options that stream. */
static int check_input_file(checker *c, const path_opt *po)
{
    const tsf_step_src *s = &c->p->steps[po->step];
    const char *key = po->o->name;
    struct stat st;
    if (stat(po->path, &st) != 0) {
        diag(c, s, po->kv, po->line, key, TSF_EIO, "%s %s (expected %s)", po->q,
             errno == ENOENT ? "does not exist" : strerror(errno), po->exp);
        return -1;
    }
    if (S_ISDIR(st.st_mode)) {
        diag(c, s, po->kv, po->line, key, TSF_EIO, "%s is a directory (expected %s)", po->q,
             po->exp);
        return -1;
    }
    if (access(po->path, R_OK) != 0) {
        diag(c, s, po->kv, po->line, key, TSF_EIO, "cannot read %s: %s (expected %s)", po->q,
             strerror(errno), po->exp);
        return -1;
    }
    if (!S_ISREG(st.st_mode) && !(po->o->flags & TSF_OPT_STREAM)) {
        /* Only stat(), never open(): opening a FIFO blocks until a writer comes. */
        diag(c, s, po->kv, po->line, key, TSF_EIO,
             "%s is %s, not a regular file (expected %s: stage %s reads it with "
             "random access, which a pipe or device cannot give; save the data to a "
             "file first)",
             po->q, file_kind(st.st_mode), po->exp, c->plan->steps[po->step].def->name);
        return -1;
    }
    return 0;
}

/* An output's directory must exist and be writable. */
static int check_output_dir(checker *c, const path_opt *po, const char *dir)
{
    const tsf_step_src *s = &c->p->steps[po->step];
    const char *key = po->o->name;
    char qd[96];
    tsf__quote(dir, qd, sizeof qd);
    struct stat st;
    if (stat(dir, &st) != 0) {
        diag(c, s, po->kv, po->line, key, TSF_EIO,
             "cannot write %s: directory %s does not exist (expected %s)", po->q, qd, po->exp);
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        diag(c, s, po->kv, po->line, key, TSF_EIO,
             "cannot write %s: %s is not a directory (expected %s)", po->q, qd, po->exp);
        return -1;
    }
    if (access(dir, W_OK | X_OK) != 0) {
        diag(c, s, po->kv, po->line, key, TSF_EIO,
             "cannot write %s: directory %s is not writable (expected %s)", po->q, qd, po->exp);
        return -1;
    }
    return 0;
}

/* Two steps writing one file: compare real directories and base names of the files written
 * (target: the path, or the file its symbolic links lead to). A path whose directory cannot be
 * resolved is left to the run. */
static int claim_output_file(checker *c, const path_opt *po, const char *target, const char *dir)
{
    char real[PATH_MAX];
    char *base_copy = strdup(target);
    if (!base_copy || !realpath(dir, real)) {
        free(base_copy);
        return 0;
    }
    size_t len = strlen(real) + strlen(target) + 2;
    char *full = malloc(len);
    if (!full) {
        free(base_copy);
        c->oom = 1;
        return -1;
    }
    snprintf(full, len, "%s/%s", real, basename(base_copy));
    free(base_copy);
    int dup = 0;
    for (size_t k = 0; k < c->n_outs; k++) {
        if (!strcmp(c->outs[k].path, full)) {
            diag(c, &c->p->steps[po->step], po->kv, po->line, po->o->name, TSF_EINVAL,
                 "%s is also written by step \"%s\" (line %d) (expected each output "
                 "file to be written once)",
                 po->q, c->p->steps[c->outs[k].step].name, c->outs[k].line);
            dup = 1;
        }
    }
    out_file *v = dup ? NULL : realloc(c->outs, (c->n_outs + 1) * sizeof *v);
    if (!v) {
        free(full);
        return dup ? -1 : 0;
    }
    c->outs = v;
    v[c->n_outs].path = full;
    v[c->n_outs].step = po->step;
    v[c->n_outs].line = po->kv && po->kv->line ? po->kv->line : po->line;
    c->n_outs++;
    return 0;
}

/* An output must not be a directory, must be a target tsf_atomic can replace, in a writable
 * directory, and written by one step only. Through a symbolic link, the file written is the one
 * the link names (tsf_atomic_target): its directory is the one checked. */
static int check_output_file(checker *c, const path_opt *po)
{
    const tsf_step_src *s = &c->p->steps[po->step];
    struct stat st;
    if (stat(po->path, &st) == 0 && S_ISDIR(st.st_mode)) {
        diag(c, s, po->kv, po->line, po->o->name, TSF_EIO, "%s is a directory (expected %s)", po->q,
             po->exp);
        return -1;
    }
    tsf_err e = TSF_ERR_INIT;
    char *target = NULL;
    if (tsf_atomic_check_target(po->path, &e) != TSF_OK ||
        tsf_atomic_target(po->path, &target, &e) != TSF_OK) {
        if (e.code == TSF_ENOMEM)
            c->oom = 1;
        else
            diag(c, s, po->kv, po->line, po->o->name, e.code, "%s", e.msg);
        return -1;
    }
    char *copy = strdup(target);
    if (!copy) {
        free(target);
        c->oom = 1;
        return -1;
    }
    const char *dir = dirname(copy);
    int r = check_output_dir(c, po, dir);
    if (r == 0)
        r = claim_output_file(c, po, target, dir);
    free(copy);
    free(target);
    return r;
}

/* Check step i's file options: inputs readable, outputs writable and written once. */
static int check_paths(checker *c, size_t i)
{
    const tsf_step_src *s = &c->p->steps[i];
    tsf_plan_step *ps = &c->plan->steps[i];
    int ok = 0;
    for (const tsf_option *o = ps->def->options; o && o->name; o++) {
        if (o->type != TSF_OPT_PATH_IN && o->type != TSF_OPT_PATH_OUT)
            continue;
        const char *path = *(char *const *)((const char *)ps->state + o->offset);
        if (!path)
            continue;
        path_opt po = {
            .step = i, .o = o, .path = path, .kv = find_kv(s, o->name), .line = ps->stage_line};
        tsf__quote(path, po.q, sizeof po.q);
        tsf_opt_expected(o, po.exp, sizeof po.exp);
        if (record_path_use(c, &po) != 0)
            return -1;
        int r = o->type == TSF_OPT_PATH_IN ? check_input_file(c, &po) : check_output_file(c, &po);
        if (c->oom)
            return -1;
        if (r != 0)
            ok = -1;
    }
    return ok;
}

/* An output that is one of the run's inputs (another spelling, a link) would replace the data
 * the run reads. A step may rewrite a file it reads itself: train.rnn resumes from the
 * checkpoint it then updates. */
static void check_outputs_apart_from_inputs(checker *c)
{
    for (size_t k = 0; k < c->n_writes; k++) {
        const path_use *w = &c->writes[k];
        for (size_t j = 0; j < c->n_ins; j++) {
            const path_use *r = &c->ins[j];
            if (r->step == w->step || !tsf_atomic_same_file(w->path, r->path))
                continue;
            char qw[96], qr[96];
            tsf__quote(w->path, qw, sizeof qw);
            tsf__quote(r->path, qr, sizeof qr);
            diag(c, &c->p->steps[w->step], w->kv, w->line, w->key, TSF_EINVAL,
                 "%s is the same file as %s, which step \"%s\" reads (%s, line %d) (expected "
                 "an output apart from the run's inputs: writing it would replace the input)",
                 qw, qr, c->p->steps[r->step].name, r->key, r->line);
            c->w[w->step].bad = 1;
            break;
        }
    }
}

static void run_check(checker *c, size_t i)
{
    const tsf_step_src *s = &c->p->steps[i];
    tsf_plan_step *ps = &c->plan->steps[i];
    const tsf_stage_def *def = ps->def;
    const tsf_meta **in = calloc(ps->n_in ? ps->n_in : 1, sizeof *in);
    tsf_meta **out = calloc(ps->n_out ? ps->n_out : 1, sizeof *out);
    if (!in || !out) {
        free(in);
        free(out);
        c->oom = 1;
        return;
    }
    for (size_t j = 0; j < ps->n_in; j++)
        in[j] = ps->in_bound[j] ? &c->plan->steps[ps->in[j].step].out[ps->in[j].port] : NULL;
    for (size_t k = 0; k < ps->n_out; k++)
        out[k] = &ps->out[k];
    int rc = TSF_OK;
    tsf_err e = TSF_ERR_INIT;
    tsf__ctx ctx;
    tsf__ctx_init(&ctx, c->plan, ps, TSF__PHASE_CHECK);
    if (def->check)
        rc = def->check(&ctx.pub, ps->state, (const tsf_meta *const *)in, (tsf_meta *const *)out,
                        &e);
    free(in);
    free(out);
    if (rc == TSF_ENOMEM) {
        c->oom = 1;
        c->oom_step = s->name;
        snprintf(c->oom_msg, sizeof c->oom_msg, "%s", e.msg[0] ? e.msg : "out of memory");
        return;
    }
    if (rc != TSF_OK) {
        const char *key = ctx.blame[0] ? ctx.blame : NULL;
        const tsf_kv *kv = key ? find_kv(s, key) : NULL;
        diag(c, s, kv, ps->stage_line, key, rc, "%s",
             e.msg[0] ? e.msg : "the stage's check failed without a message");
        return;
    }
    for (size_t k = 0; k < ps->n_out; k++) {
        const tsf_port *port = &def->outputs[k];
        tsf_type t = ps->out[k].type;
        if (t <= TSF_TYPE_NONE || t >= TSF_TYPE_COUNT_ || !(TSF_TYPE_BIT(t) & port->types)) {
            diag(c, s, NULL, ps->stage_line, NULL, TSF_EPLUGIN,
                 "stage %s (%s): check left output \"%s\" with type %d (expected one of its "
                 "port's types)",
                 def->name, ps->origin, port->name, (int)t);
            return;
        }
    }
    ps->checked = 1;
}

static int single_type(unsigned mask)
{
    for (unsigned t = 1; t < TSF_TYPE_COUNT_; t++)
        if (mask == TSF_TYPE_BIT(t))
            return (int)t;
    return TSF_TYPE_NONE;
}

static void check_step(checker *c, size_t i)
{
    tsf_plan_step *ps = &c->plan->steps[i];
    work *w = &c->w[i];
    if (w->bad || !ps->def)
        return;
    for (size_t r = 0; r < w->n_refs; r++)
        if (!c->plan->steps[w->refs[r].step].checked)
            return; /* its producer failed: it was reported there */
    size_t n_out = count_ports(ps->def->outputs);
    ps->out = calloc(n_out ? n_out : 1, sizeof *ps->out);
    if (!ps->out) {
        c->oom = 1;
        return;
    }
    ps->n_out = n_out; /* only now: tsf_plan_free clears n_out metas */
    for (size_t k = 0; k < ps->n_out; k++)
        tsf__meta_init(&ps->out[k], (tsf_type)single_type(ps->def->outputs[k].types));
    if (bind_inputs(c, i) != 0)
        return;
    run_check(c, i);
}

/* ---- The plan ---------------------------------------------------------------------------- */

/* The plan (steps in file order, the pipeline's record) and the checker's work per step. */
static int plan_alloc(checker *c)
{
    const tsf_pipeline *p = c->p;
    size_t n = p->n_steps;
    c->plan = calloc(1, sizeof *c->plan);
    c->w = calloc(n ? n : 1, sizeof *c->w);
    if (c->plan)
        c->plan->steps = calloc(n ? n : 1, sizeof *c->plan->steps);
    if (!c->plan || !c->w || !c->plan->steps)
        return -1;
    c->plan->n_steps = n;
    c->plan->src = p;
    c->plan->info.pipeline_name = p->name;
    c->plan->info.pipeline_text = p->text;
    c->plan->info.overrides = (const char *const *)p->sets;
    c->plan->info.n_overrides = p->n_sets;
    c->plan->info.version = TSF_VERSION;
    c->plan->info.git_commit = tsf_git_commit();
    for (size_t i = 0; i < n; i++)
        c->plan->steps[i].src = &p->steps[i];
    return 0;
}

/* Sort diagnostics [first, n) by line, stably, --set problems (line 0) last. */
static void sort_diags_by_line(tsf_diags *diags, size_t first)
{
    for (size_t i = first + 1; i < diags->n; i++) {
        tsf_diag d = diags->v[i];
        unsigned key = d.line > 0 ? (unsigned)d.line : UINT_MAX;
        size_t j = i;
        while (j > first &&
               (diags->v[j - 1].line > 0 ? (unsigned)diags->v[j - 1].line : UINT_MAX) > key) {
            diags->v[j] = diags->v[j - 1];
            j--;
        }
        diags->v[j] = d;
    }
}

/* Put the plan's steps in run order (order[k] is the file index of the k-th to run), remap
 * their bindings to it and count each step's consumers. */
static int plan_in_run_order(tsf_plan *plan, const size_t *order)
{
    size_t n = plan->n_steps;
    size_t *pos = malloc((n ? n : 1) * sizeof *pos);
    tsf_plan_step *sorted = calloc(n ? n : 1, sizeof *sorted);
    if (!pos || !sorted) {
        free(pos);
        free(sorted);
        return -1;
    }
    for (size_t k = 0; k < n; k++)
        pos[order[k]] = k;
    for (size_t k = 0; k < n; k++) {
        sorted[k] = plan->steps[order[k]];
        for (size_t j = 0; j < sorted[k].n_in; j++)
            if (sorted[k].in_bound[j])
                sorted[k].in[j].step = pos[sorted[k].in[j].step];
    }
    for (size_t k = 0; k < n; k++)
        for (size_t j = 0; j < sorted[k].n_in; j++)
            if (sorted[k].in_bound[j])
                sorted[sorted[k].in[j].step].n_consumers++;
    free(plan->steps);
    plan->steps = sorted;
    free(pos);
    return 0;
}

/* Every check, in the order that lets each rely on the ones before: options and files, then
 * inputs, then an order without cycles in which each stage checks what its inputs give it. */
static void check_pipeline(checker *c, size_t *order)
{
    size_t n = c->p->n_steps;
    for (size_t i = 0; i < n && !c->oom; i++)
        check_options(c, i);
    if (!c->oom)
        check_outputs_apart_from_inputs(c);
    for (size_t i = 0; i < n && !c->oom; i++)
        resolve_inputs(c, i);
    size_t n_ordered = c->oom ? 0 : order_steps(c, order);
    for (size_t k = 0; k < n_ordered && !c->oom; k++)
        check_step(c, order[k]);
}

/* The error for diagnostics [first, n): the first, and how many more. */
static int diags_error(const tsf_diags *diags, size_t first, tsf_err *err)
{
    size_t more = diags->n - first - 1;
    int rc = tsf_err_set(err, diags->v[first].code, "%s", diags->v[first].msg);
    if (more)
        tsf_err_set(err, diags->v[first].code, "%s (and %zu more problem%s)", diags->v[first].msg,
                    more, more == 1 ? "" : "s");
    return rc;
}

/* Free what the checker owns (not the plan). */
static void checker_clear(checker *c)
{
    for (size_t i = 0; c->w && i < c->p->n_steps; i++) {
        for (size_t k = 0; k < c->w[i].n_refs; k++)
            free(c->w[i].refs[k].port);
        free(c->w[i].refs);
    }
    free(c->w);
    for (size_t k = 0; k < c->n_outs; k++)
        free(c->outs[k].path);
    free(c->outs);
    free(c->ins);
    free(c->writes);
}

int tsf_plan_make(tsf_plan **out, const tsf_pipeline *p, const tsf_registry *r, tsf_diags *diags,
                  tsf_err *err)
{
    *out = NULL;
    size_t first = diags->n;
    for (size_t i = 0; i < p->diags.n; i++)
        if (tsf_diags_add(diags, p->diags.v[i].code, p->diags.v[i].line, "%s", p->diags.v[i].msg) ==
            TSF_ENOMEM)
            TSF_FAIL(err, TSF_ENOMEM, "out of memory checking %s", p->name);
    checker c = {.p = p, .reg = r, .diags = diags};
    size_t *order = malloc((p->n_steps ? p->n_steps : 1) * sizeof *order);
    if (plan_alloc(&c) != 0 || !order)
        c.oom = 1;
    if (!c.oom) {
        check_pipeline(&c, order);
        sort_diags_by_line(diags, first);
    }
    if (!c.oom && diags->n == first && plan_in_run_order(c.plan, order) != 0)
        c.oom = 1;
    int rc = TSF_OK;
    if (c.oom) {
        /* What was found after an allocation failed (an input list cut short, a step left
         * unchecked) is no problem of the file. */
        for (size_t i = first; i < diags->n; i++)
            free(diags->v[i].msg);
        diags->n = first;
        rc = c.oom_step ? tsf_err_set(err, TSF_ENOMEM, "%s: step \"%s\": %s", p->name, c.oom_step,
                                      c.oom_msg)
                        : tsf_err_set(err, TSF_ENOMEM, "out of memory checking %s", p->name);
    } else if (diags->n > first) {
        rc = diags_error(diags, first, err);
    }
    checker_clear(&c);
    free(order);
    if (rc != TSF_OK) {
        tsf_plan_free(c.plan);
        return rc;
    }
    *out = c.plan;
    return TSF_OK;
}
