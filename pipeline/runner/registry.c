/* The stage registry: built-in stages from stages.def, plugin stages, lookup and suggestions,
 * and the validation every definition passes before it is registered. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runner_internal.h"

/* Built-in stages: stages.def lists each once as TSF_STAGE(file, symbol). */
#define TSF_STAGE(file, sym) extern const tsf_stage_def sym;
#include "stages.def"
#undef TSF_STAGE

static const tsf_stage_def *const builtins[] = {
#define TSF_STAGE(file, sym) &sym,
#include "stages.def"
#undef TSF_STAGE
    NULL};

typedef struct entry {
    const tsf_stage_def *def;
    char *origin;
} entry;

struct tsf_registry {
    entry *v; /* sorted by name */
    size_t n, cap;
    void **handles; /* dlopen handles of loaded plugins */
    size_t n_handles, cap_handles;
};

int tsf_registry_alloc(tsf_registry **out, tsf_err *err)
{
    *out = calloc(1, sizeof **out);
    if (!*out)
        TSF_FAIL(err, TSF_ENOMEM, "out of memory allocating the stage registry");
    return TSF_OK;
}

void tsf_registry_free(tsf_registry *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        free(r->v[i].origin);
    free(r->v);
    for (size_t i = r->n_handles; i-- > 0;)
        tsf__plugin_close(r->handles[i]);
    free(r->handles);
    free(r);
}

int tsf__registry_keep_handle(tsf_registry *r, void *handle, tsf_err *err)
{
    if (r->n_handles == r->cap_handles) {
        size_t cap = r->cap_handles ? r->cap_handles * 2 : 4;
        void **v = realloc(r->handles, cap * sizeof *v);
        if (!v)
            TSF_FAIL(err, TSF_ENOMEM, "out of memory loading a plugin");
        r->handles = v;
        r->cap_handles = cap;
    }
    r->handles[r->n_handles++] = handle;
    return TSF_OK;
}

int tsf__registry_has_handle(const tsf_registry *r, const void *handle)
{
    for (size_t i = 0; i < r->n_handles; i++)
        if (r->handles[i] == handle)
            return 1;
    return 0;
}

static size_t lower_bound(const tsf_registry *r, const char *name)
{
    size_t lo = 0, hi = r->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(r->v[mid].def->name, name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

const tsf_stage_def *tsf_registry_find(const tsf_registry *r, const char *name)
{
    size_t i = lower_bound(r, name);
    return i < r->n && !strcmp(r->v[i].def->name, name) ? r->v[i].def : NULL;
}

static const char *origin_of(const tsf_registry *r, const char *name)
{
    size_t i = lower_bound(r, name);
    return i < r->n && !strcmp(r->v[i].def->name, name) ? r->v[i].origin : NULL;
}

size_t tsf_registry_count(const tsf_registry *r)
{
    return r->n;
}

const tsf_stage_def *tsf_registry_get(const tsf_registry *r, size_t i, const char **origin)
{
    if (i >= r->n)
        return NULL;
    if (origin)
        *origin = r->v[i].origin;
    return r->v[i].def;
}

const char *tsf_registry_suggest(const tsf_registry *r, const char *name)
{
    const char **names = malloc((r->n ? r->n : 1) * sizeof *names);
    if (!names)
        return NULL;
    for (size_t i = 0; i < r->n; i++)
        names[i] = r->v[i].def->name;
    const char *s = tsf_suggest(name, names, r->n);
    free(names);
    return s;
}

/* ---- Validation -------------------------------------------------------------------------- */

static int validate_option(const tsf_stage_def *def, const tsf_option *o, tsf_err *err)
{
    const char *n = def->name;
    if (!tsf__is_ident(o->name))
        TSF_FAIL(err, TSF_EPLUGIN,
                 "stage \"%s\": option name \"%s\" is invalid (expected lower-case letters, "
                 "digits and '_')",
                 n, o->name);
    if (tsf__is_reserved_key(o->name))
        TSF_FAIL(err, TSF_EPLUGIN,
                 "stage \"%s\": option \"%s\" uses a reserved key (stage, input and inputs are "
                 "the runner's)",
                 n, o->name);
    size_t size = tsf__opt_field_size(o->type);
    if (!size)
        TSF_FAIL(err, TSF_EPLUGIN, "stage \"%s\": option \"%s\" has an unknown type %d", n, o->name,
                 (int)o->type);
    size_t align = tsf__opt_field_align(o->type);
    if (o->offset > def->state_size || size > def->state_size - o->offset || o->offset % align)
        TSF_FAIL(err, TSF_EPLUGIN,
                 "stage \"%s\": option \"%s\" at offset %zu does not fit state_size %zu (a "
                 "%zu-byte field aligned to %zu)",
                 n, o->name, o->offset, def->state_size, size, align);
    if ((o->type == TSF_OPT_ENUM || o->type == TSF_OPT_ENUMS) && (!o->choices || !o->choices[0]))
        TSF_FAIL(err, TSF_EPLUGIN, "stage \"%s\": enum option \"%s\" has no choices", n, o->name);
    if (o->type == TSF_OPT_ENUMS) {
        size_t k = 0;
        while (o->choices[k])
            k++;
        if (k > 32) /* tsf_enums_mask gives one bit of an unsigned to each */
            TSF_FAIL(err, TSF_EPLUGIN,
                     "stage \"%s\": enum list option \"%s\" has %zu choices (expected at most 32)",
                     n, o->name, k);
    }
    if ((o->flags & TSF_OPT_REQUIRED) && o->def)
        TSF_FAIL(err, TSF_EPLUGIN,
                 "stage \"%s\": option \"%s\" is required and has a default (expected one or the "
                 "other)",
                 n, o->name);
    int may_be_unset = o->type == TSF_OPT_STRING || o->type == TSF_OPT_PATH_IN ||
                       o->type == TSF_OPT_PATH_OUT || o->type == TSF_OPT_DOUBLES ||
                       o->type == TSF_OPT_STRINGS || o->type == TSF_OPT_ENUMS;
    if (!o->def && !(o->flags & TSF_OPT_REQUIRED) && !may_be_unset)
        TSF_FAIL(err, TSF_EPLUGIN,
                 "stage \"%s\": option \"%s\" has no default (expected a default, or the flag "
                 "TSF_OPT_REQUIRED)",
                 n, o->name);
    if (!o->help)
        TSF_FAIL(err, TSF_EPLUGIN, "stage \"%s\": option \"%s\" has no help text", n, o->name);
    if (o->def) {
        /* Parse the default into a scratch state, exactly as a value from the file. */
        void *scratch = calloc(1, def->state_size ? def->state_size : 1);
        if (!scratch)
            TSF_FAIL(err, TSF_ENOMEM, "out of memory");
        tsf_err e = TSF_ERR_INIT;
        int rc = tsf_opt_parse(o, o->def, NULL, scratch, &e);
        tsf_opt_clear(o, scratch);
        free(scratch);
        if (rc != TSF_OK) /* a default that does not parse is the stage's fault; memory is not */
            TSF_FAIL(err, rc == TSF_ENOMEM ? TSF_ENOMEM : TSF_EPLUGIN,
                     "stage \"%s\": default of option \"%s\": %s", n, o->name, e.msg);
    }
    return TSF_OK;
}

static int validate_ports(const tsf_stage_def *def, const tsf_port *ports, int inputs, tsf_err *err)
{
    const char *kind = inputs ? "input" : "output";
    int seen_optional = 0;
    for (const tsf_port *p = ports; p && p->name; p++) {
        if (!tsf__is_ident(p->name))
            TSF_FAIL(err, TSF_EPLUGIN, "stage \"%s\": %s port name \"%s\" is invalid", def->name,
                     kind, p->name);
        for (const tsf_port *q = ports; q != p; q++)
            if (!strcmp(q->name, p->name))
                TSF_FAIL(err, TSF_EPLUGIN, "stage \"%s\": two %s ports are called \"%s\"",
                         def->name, kind, p->name);
        if (!p->types || (p->types & ~(unsigned)TSF_TYPE_ANY))
            TSF_FAIL(err, TSF_EPLUGIN,
                     "stage \"%s\": %s port \"%s\" has type mask 0x%x (expected a non-empty mask "
                     "of TSF_TYPE_BIT values)",
                     def->name, kind, p->name, p->types);
        if (!inputs && p->flags)
            TSF_FAIL(err, TSF_EPLUGIN,
                     "stage \"%s\": output port \"%s\" has flags (only inputs may be optional "
                     "or many)",
                     def->name, p->name);
        if (inputs && (p->flags & TSF_PORT_MANY) && p[1].name)
            TSF_FAIL(err, TSF_EPLUGIN,
                     "stage \"%s\": input port \"%s\" takes many values but is not the last port",
                     def->name, p->name);
        if (inputs && seen_optional && !(p->flags & TSF_PORT_OPTIONAL))
            TSF_FAIL(err, TSF_EPLUGIN,
                     "stage \"%s\": required input port \"%s\" follows an optional one", def->name,
                     p->name);
        if (p->flags & TSF_PORT_OPTIONAL)
            seen_optional = 1;
    }
    return TSF_OK;
}

int tsf_stage_def_validate(const tsf_stage_def *def, tsf_err *err)
{
    if (!def)
        TSF_FAIL(err, TSF_EPLUGIN, "a stage definition is NULL");
    if (def->abi != TSF_STAGE_ABI_VERSION)
        TSF_FAIL(err, TSF_EPLUGIN,
                 "stage \"%s\" was built for stage ABI version %u, but this tsflow has version %u "
                 "(rebuild it against this tsflow's stage.h)",
                 def->name ? def->name : "?", def->abi, TSF_STAGE_ABI_VERSION);
    if (!tsf__is_stage_name(def->name))
        TSF_FAIL(err, TSF_EPLUGIN,
                 "stage name \"%s\" is invalid (expected lower-case words of letters, digits "
                 "and '_' joined by '.', like \"ingest.csv\")",
                 def->name ? def->name : "(null)");
    if (!def->summary || !*def->summary)
        TSF_FAIL(err, TSF_EPLUGIN, "stage \"%s\" has no summary", def->name);
    if (!def->run)
        TSF_FAIL(err, TSF_EPLUGIN, "stage \"%s\" has no run callback", def->name);
    for (const tsf_option *o = def->options; o && o->name; o++) {
        int rc = validate_option(def, o, err);
        if (rc != TSF_OK)
            return rc;
        for (const tsf_option *q = def->options; q != o; q++)
            if (!strcmp(q->name, o->name))
                TSF_FAIL(err, TSF_EPLUGIN, "stage \"%s\": two options are called \"%s\"", def->name,
                         o->name);
    }
    int rc = validate_ports(def, def->inputs, 1, err);
    if (rc == TSF_OK)
        rc = validate_ports(def, def->outputs, 0, err);
    return rc;
}

int tsf_registry_add(tsf_registry *r, const tsf_stage_def *def, const char *origin, tsf_err *err)
{
    int rc = tsf_stage_def_validate(def, err);
    if (rc != TSF_OK)
        return rc;
    const char *other = origin_of(r, def->name);
    if (other)
        TSF_FAIL(err, TSF_EPLUGIN, "stage \"%s\" is already defined (%s)", def->name,
                 !strcmp(other, "built-in") ? "a built-in stage" : other);
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 32;
        entry *v = realloc(r->v, cap * sizeof *v);
        if (!v)
            TSF_FAIL(err, TSF_ENOMEM, "out of memory registering stage \"%s\"", def->name);
        r->v = v;
        r->cap = cap;
    }
    char *o = strdup(origin ? origin : "built-in");
    if (!o)
        TSF_FAIL(err, TSF_ENOMEM, "out of memory registering stage \"%s\"", def->name);
    size_t i = lower_bound(r, def->name);
    memmove(r->v + i + 1, r->v + i, (r->n - i) * sizeof *r->v);
    r->v[i].def = def;
    r->v[i].origin = o;
    r->n++;
    return TSF_OK;
}

void tsf__registry_remove_origin(tsf_registry *r, const char *origin)
{
    size_t k = 0;
    for (size_t i = 0; i < r->n; i++) {
        if (!strcmp(r->v[i].origin, origin))
            free(r->v[i].origin);
        else
            r->v[k++] = r->v[i];
    }
    r->n = k;
}

int tsf_registry_add_builtins(tsf_registry *r, tsf_err *err)
{
    for (size_t i = 0; builtins[i]; i++) {
        int rc = tsf_registry_add(r, builtins[i], "built-in", err);
        if (rc != TSF_OK)
            return tsf_err_prefix(err, "built-in stages");
    }
    return TSF_OK;
}
