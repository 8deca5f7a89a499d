/* Pipeline files: INI text parsed with libinih into steps (sections) of keys with their lines,
 * and --set STEP.KEY=VALUE overrides.
 *
 * libinih (as Debian builds it) reports neither line numbers to the handler nor more than the
 * first syntax error, and reads lines of at most 199 characters. So we feed it through our own
 * line reader, which counts lines, classifies each line exactly as inih will (section, key,
 * continuation, comment, blank) and records every syntax error with its line; inih then calls
 * the handler for each key synchronously after reading that key's line. */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <ini.h>

#include "runner_internal.h"

#define MAX_PIPELINE_BYTES (16u << 20)
#define MAX_STEP_NAME 49

/* ---- Diagnostics ------------------------------------------------------------------------- */

void tsf_diags_clear(tsf_diags *d)
{
    for (size_t i = 0; i < d->n; i++)
        free(d->v[i].msg);
    free(d->v);
    d->v = NULL;
    d->n = d->cap = 0;
}

int tsf_diags_add(tsf_diags *d, int code, int line, const char *fmt, ...)
{
    char msg[TSF_ERR_MSG_MAX + 256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 8;
        tsf_diag *v = realloc(d->v, cap * sizeof *v);
        if (!v)
            return TSF_ENOMEM;
        d->v = v;
        d->cap = cap;
    }
    char *m = strdup(msg);
    if (!m)
        return TSF_ENOMEM;
    d->v[d->n].code = code;
    d->v[d->n].line = line;
    d->v[d->n].msg = m;
    d->n++;
    return code;
}

/* ---- Pipeline objects -------------------------------------------------------------------- */

static void step_free(tsf_step_src *s)
{
    for (size_t i = 0; i < s->n_kv; i++) {
        free(s->kv[i].key);
        free(s->kv[i].value);
    }
    free(s->kv);
    free(s->name);
}

void tsf_pipeline_free(tsf_pipeline *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_steps; i++)
        step_free(&p->steps[i]);
    free(p->steps);
    for (size_t i = 0; i < p->n_sets; i++)
        free(p->sets[i]);
    free(p->sets);
    tsf_diags_clear(&p->diags);
    free(p->name);
    free(p->dir);
    free(p->text);
    free(p);
}

static tsf_step_src *find_step(const tsf_pipeline *p, const char *name)
{
    for (size_t i = 0; i < p->n_steps; i++)
        if (!strcmp(p->steps[i].name, name))
            return &p->steps[i];
    return NULL;
}

static tsf_kv *find_kv(tsf_step_src *s, const char *key)
{
    for (size_t i = 0; i < s->n_kv; i++)
        if (!strcmp(s->kv[i].key, key))
            return &s->kv[i];
    return NULL;
}

static tsf_step_src *add_step(tsf_pipeline *p, const char *name, int line)
{
    if (p->n_steps == p->cap_steps) {
        size_t cap = p->cap_steps ? p->cap_steps * 2 : 8;
        tsf_step_src *v = realloc(p->steps, cap * sizeof *v);
        if (!v)
            return NULL;
        p->steps = v;
        p->cap_steps = cap;
    }
    tsf_step_src *s = &p->steps[p->n_steps];
    memset(s, 0, sizeof *s);
    s->name = strdup(name);
    if (!s->name)
        return NULL;
    s->line = line;
    p->n_steps++;
    return s;
}

static tsf_kv *add_kv(tsf_step_src *s, const char *key, const char *value, int line, int set_index)
{
    if (s->n_kv == s->cap_kv) {
        size_t cap = s->cap_kv ? s->cap_kv * 2 : 8;
        tsf_kv *v = realloc(s->kv, cap * sizeof *v);
        if (!v)
            return NULL;
        s->kv = v;
        s->cap_kv = cap;
    }
    tsf_kv *kv = &s->kv[s->n_kv];
    kv->key = strdup(key);
    kv->value = strdup(value);
    if (!kv->key || !kv->value) {
        free(kv->key);
        free(kv->value);
        return NULL;
    }
    kv->line = line;
    kv->set_index = set_index;
    kv->n_lines = 1;
    s->n_kv++;
    return kv;
}

/* ---- Parsing ------------------------------------------------------------------------------- */

typedef struct parser {
    tsf_pipeline *p;
    size_t pos;        /* next byte of p->text to hand to inih */
    int line;          /* line number of the line inih is processing */
    int is_cont;       /* that line continues the previous key's value */
    int have_prev_key; /* mirrors inih's prev_name: a key line was seen in this section */
    long step;         /* index of the current step, or -1 (none, or a refused section) */
    long last_kv;      /* index in the current step of the last key, or -1 */
    int section_seen;  /* a [section] line was seen */
    int outside;       /* keys before any section were already reported */
    int oom;
} parser;

#define DIAG(ps, line, ...)                                                                        \
    do {                                                                                           \
        if (tsf_diags_add(&(ps)->p->diags, TSF_EFORMAT, (line), __VA_ARGS__) == TSF_ENOMEM)        \
            (ps)->oom = 1;                                                                         \
    } while (0)

/* inih's find_chars_or_comment: the first of chars, or an inline ';' comment after a space. */
static const char *find_or_comment(const char *s, const char *chars)
{
    int was_space = 0;
    while (*s && (!chars || !strchr(chars, *s)) && !(was_space && *s == ';')) {
        was_space = isspace((unsigned char)*s);
        s++;
    }
    return s;
}

static void open_section(parser *ps, const char *start)
{
    const char *name_end = find_or_comment(start + 1, "]");
    ps->section_seen = 1;
    ps->have_prev_key = 0;
    ps->step = -1;
    ps->last_kv = -1;
    if (*name_end != ']') {
        DIAG(ps, ps->line,
             "%s:%d: expected ']' to close the step name (a step starts with a "
             "line like [name])",
             ps->p->name, ps->line);
        return;
    }
    const char *a = start + 1, *b = name_end;
    while (a < b && isspace((unsigned char)*a))
        a++;
    while (b > a && isspace((unsigned char)b[-1]))
        b--;
    char name[256];
    size_t n = (size_t)(b - a);
    if (n >= sizeof name)
        n = sizeof name - 1;
    memcpy(name, a, n);
    name[n] = '\0';
    char q[96];
    if (!tsf__is_step_name(name)) {
        DIAG(ps, ps->line,
             "%s:%d: step name %s may only contain letters, digits, '_' and '-' (it is used in "
             "input = STEP and --set STEP.KEY=VALUE)",
             ps->p->name, ps->line, tsf__quote(name, q, sizeof q));
        return;
    }
    if (strlen(name) > MAX_STEP_NAME) {
        DIAG(ps, ps->line, "%s:%d: step name %s is longer than %d characters", ps->p->name,
             ps->line, tsf__quote(name, q, sizeof q), MAX_STEP_NAME);
        return;
    }
    tsf_step_src *prev = find_step(ps->p, name);
    if (prev) {
        DIAG(ps, ps->line,
             "%s:%d: step \"%s\" is defined twice (first at line %d; step names "
             "must be unique)",
             ps->p->name, ps->line, name, prev->line);
        return;
    }
    if (!add_step(ps->p, name, ps->line)) {
        ps->oom = 1;
        return;
    }
    ps->step = (long)ps->p->n_steps - 1;
}

/* Classify the line inih is about to process, mirroring ini_parse_stream (r55). */
static void classify(parser *ps, char *line)
{
    char *start = line;
    ps->is_cont = 0;
    if (ps->line == 1 && (unsigned char)start[0] == 0xEF && (unsigned char)start[1] == 0xBB &&
        (unsigned char)start[2] == 0xBF)
        start += 3;
    while (*start && isspace((unsigned char)*start))
        start++;
    if (!*start || *start == ';' || *start == '#')
        return;
    if (ps->have_prev_key && start > line) {
        ps->is_cont = 1;
        return;
    }
    if (*start == '[') {
        open_section(ps, start);
        return;
    }
    const char *end = find_or_comment(start, "=:");
    if (*end == '=' || *end == ':') {
        ps->have_prev_key = 1;
        return;
    }
    char q[96];
    DIAG(ps, ps->line,
         "%s:%d: %s is not \"key = value\", \"[step]\" or a comment (comments start with # or ;)",
         ps->p->name, ps->line, tsf__quote(start, q, sizeof q));
}

static char *reader(char *str, int num, void *stream)
{
    parser *ps = stream;
    tsf_pipeline *p = ps->p;
    if (ps->pos >= p->len)
        return NULL;
    const char *start = p->text + ps->pos;
    size_t rest = p->len - ps->pos;
    const char *nl = memchr(start, '\n', rest);
    size_t len = nl ? (size_t)(nl - start) : rest;
    ps->pos += len + (nl ? 1 : 0);
    ps->line++;
    if (memchr(start, '\0', len)) {
        DIAG(ps, ps->line, "%s:%d: line holds a NUL byte (expected a text file)", p->name,
             ps->line);
        str[0] = '\0';
        ps->is_cont = 0;
        return str;
    }
    if (len + 2 > (size_t)num) {
        DIAG(ps, ps->line,
             "%s:%d: line is longer than %d characters, libinih's limit (split a list over "
             "indented continuation lines)",
             p->name, ps->line, num - 2);
        str[0] = '\0';
        ps->is_cont = 0;
        return str;
    }
    memcpy(str, start, len);
    str[len] = '\0';
    classify(ps, str);
    return str;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
    parser *ps = user;
    (void)section; /* we track sections ourselves, untruncated */
    if (ps->oom)
        return 1;
    if (ps->is_cont) {
        if (ps->step < 0 || ps->last_kv < 0)
            return 1;
        tsf_kv *kv = &ps->p->steps[ps->step].kv[ps->last_kv];
        size_t a = strlen(kv->value), b = strlen(value);
        char *v = realloc(kv->value, a + b + 2);
        if (!v) {
            ps->oom = 1;
            return 1;
        }
        v[a] = '\n';
        memcpy(v + a + 1, value, b + 1);
        kv->value = v;
        kv->n_lines++;
        return 1;
    }
    ps->last_kv = -1;
    if (ps->step < 0) {
        /* Keys of a refused section were reported with the section; keys before any section are
         * reported once. */
        if (!ps->section_seen && !ps->outside) {
            ps->outside = 1;
            DIAG(ps, ps->line,
                 "%s:%d: key \"%s\" is outside any step (expected a [step] line before it)",
                 ps->p->name, ps->line, name);
        }
        return 1;
    }
    tsf_step_src *s = &ps->p->steps[ps->step];
    if (!*name) {
        DIAG(ps, ps->line, "%s:%d: step \"%s\": expected a key before '='", ps->p->name, ps->line,
             s->name);
        return 1;
    }
    tsf_kv *prev = find_kv(s, name);
    if (prev) {
        DIAG(ps, ps->line, "%s:%d: step \"%s\", key \"%s\": set twice (first at line %d)",
             ps->p->name, ps->line, s->name, name, prev->line);
        return 1;
    }
    if (!add_kv(s, name, value, ps->line, 0)) {
        ps->oom = 1;
        return 1;
    }
    ps->last_kv = (long)s->n_kv - 1;
    return 1;
}

int tsf_pipeline_parse(tsf_pipeline **out, const char *name, const char *dir, const char *text,
                       size_t len, tsf_err *err)
{
    *out = NULL;
    tsf_pipeline *p = calloc(1, sizeof *p);
    if (!p)
        TSF_FAIL(err, TSF_ENOMEM, "out of memory reading %s", name);
    p->name = strdup(name);
    p->dir = strdup(dir ? dir : ".");
    p->text = malloc(len + 1);
    if (!p->name || !p->dir || !p->text) {
        tsf_pipeline_free(p);
        TSF_FAIL(err, TSF_ENOMEM, "out of memory reading %s", name);
    }
    memcpy(p->text, text, len);
    p->text[len] = '\0';
    p->len = len;

    parser ps = {.p = p, .step = -1, .last_kv = -1};
    int rc = ini_parse_stream(reader, &ps, handler, &ps);
    if (ps.oom) {
        tsf_pipeline_free(p);
        TSF_FAIL(err, TSF_ENOMEM, "out of memory reading %s", name);
    }
    /* Our classification reports every line inih refuses; this only guards against a libinih
     * that disagrees with it. */
    if (rc > 0) {
        int seen = 0;
        for (size_t i = 0; i < p->diags.n; i++)
            seen |= p->diags.v[i].line == rc;
        if (!seen)
            tsf_diags_add(&p->diags, TSF_EFORMAT, rc,
                          "%s:%d: libinih cannot parse this line (expected \"key = value\", "
                          "\"[step]\" or a comment)",
                          p->name, rc);
    } else if (rc < 0) {
        tsf_pipeline_free(p);
        TSF_FAIL(err, TSF_ENOMEM, "libinih failed reading %s (error %d)", name, rc);
    }
    if (p->n_steps == 0 && p->diags.n == 0)
        tsf_diags_add(&p->diags, TSF_EFORMAT, 0,
                      "%s: no steps (expected [name] sections, each with a stage = NAME line)",
                      p->name);
    *out = p;
    return TSF_OK;
}

/* What a pipeline file argument should be, for messages. */
#define PIPELINE_FILE                                                                              \
    "the path of a readable pipeline file, an INI file with one [step] section per step; - "       \
    "reads it from standard input"

int tsf_pipeline_load(tsf_pipeline **out, const char *path, tsf_err *err)
{
    *out = NULL;
    int is_stdin = !strcmp(path, "-");
    struct stat st;
    if (!is_stdin && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        TSF_FAIL(err, TSF_EIO,
                 "%s: cannot open the pipeline file: it is a directory (expected " PIPELINE_FILE
                 ")",
                 path);
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    if (!f)
        TSF_FAIL(err, TSF_EIO, "%s: cannot open the pipeline file: %s (expected " PIPELINE_FILE ")",
                 path, strerror(errno));
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    int rc = TSF_OK;
    while (buf) {
        if (n == cap) {
            if (cap >= MAX_PIPELINE_BYTES) {
                rc = tsf_err_set(err, TSF_EFORMAT,
                                 "%s: larger than %u MiB (expected a small INI file)", path,
                                 MAX_PIPELINE_BYTES >> 20);
                break;
            }
            char *b = realloc(buf, cap * 2);
            if (!b) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = b;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    if (!buf)
        rc = tsf_err_set(err, TSF_ENOMEM, "out of memory reading %s", path);
    else if (rc == TSF_OK && ferror(f))
        rc = tsf_err_set(err, TSF_EIO, "%s: read error: %s", path, strerror(errno));
    if (!is_stdin)
        fclose(f);
    if (rc != TSF_OK) {
        free(buf);
        return rc;
    }
    char *dir = NULL;
    if (!is_stdin) {
        char *copy = strdup(path);
        dir = copy ? strdup(dirname(copy)) : NULL;
        free(copy);
        if (!dir) {
            free(buf);
            TSF_FAIL(err, TSF_ENOMEM, "out of memory reading %s", path);
        }
    }
    rc = tsf_pipeline_parse(out, path, dir ? dir : ".", buf, n, err);
    free(dir);
    free(buf);
    return rc;
}

int tsf_pipeline_set(tsf_pipeline *p, const char *assignment, tsf_err *err)
{
    char q[96];
    const char *eq = strchr(assignment, '=');
    const char *dot = strchr(assignment, '.');
    if (!eq || !dot || dot > eq)
        TSF_FAIL(err, TSF_EINVAL, "--set %s: expected STEP.KEY=VALUE",
                 tsf__quote(assignment, q, sizeof q));
    char step[128], key[128];
    size_t ns = (size_t)(dot - assignment), nk = (size_t)(eq - dot - 1);
    if (ns == 0 || ns >= sizeof step || nk == 0 || nk >= sizeof key)
        TSF_FAIL(err, TSF_EINVAL, "--set %s: expected STEP.KEY=VALUE",
                 tsf__quote(assignment, q, sizeof q));
    memcpy(step, assignment, ns);
    step[ns] = '\0';
    memcpy(key, dot + 1, nk);
    key[nk] = '\0';
    tsf_step_src *s = find_step(p, step);
    if (!s) {
        const char **names = malloc((p->n_steps ? p->n_steps : 1) * sizeof *names);
        if (!names)
            TSF_FAIL(err, TSF_ENOMEM, "out of memory");
        for (size_t i = 0; i < p->n_steps; i++)
            names[i] = p->steps[i].name;
        const char *near = tsf_suggest(step, names, p->n_steps);
        if (near)
            tsf_err_set(err, TSF_EINVAL, "--set %s: %s has no step \"%s\" (did you mean \"%s\"?)",
                        assignment, p->name, step, near);
        else
            tsf_err_set(err, TSF_EINVAL, "--set %s: %s has no step \"%s\"", assignment, p->name,
                        step);
        free(names);
        return TSF_EINVAL;
    }
    if (!tsf__is_ident(key))
        TSF_FAIL(err, TSF_EINVAL,
                 "--set %s: key %s is not an option name (lower-case letters, digits and '_')",
                 assignment, tsf__quote(key, q, sizeof q));
    char **sets = realloc(p->sets, (p->n_sets + 1) * sizeof *sets);
    if (!sets)
        TSF_FAIL(err, TSF_ENOMEM, "out of memory");
    p->sets = sets;
    if (!(p->sets[p->n_sets] = strdup(assignment)))
        TSF_FAIL(err, TSF_ENOMEM, "out of memory");
    p->n_sets++;
    int index = (int)p->n_sets;
    tsf_kv *kv = find_kv(s, key);
    if (kv) {
        char *v = strdup(eq + 1);
        if (!v)
            TSF_FAIL(err, TSF_ENOMEM, "out of memory");
        free(kv->value);
        kv->value = v;
        kv->line = 0;
        kv->set_index = index;
        kv->n_lines = 1;
        return TSF_OK;
    }
    if (!add_kv(s, key, eq + 1, 0, index))
        TSF_FAIL(err, TSF_ENOMEM, "out of memory");
    return TSF_OK;
}

/* ---- Built in memory ------------------------------------------------------------------------ */

int tsf_pipeline_new(tsf_pipeline **out, const char *name, const char *dir, tsf_err *err)
{
    *out = NULL;
    tsf_pipeline *p = calloc(1, sizeof *p);
    if (p) {
        p->name = strdup(name);
        p->dir = strdup(dir ? dir : ".");
        p->text = strdup("");
    }
    if (!p || !p->name || !p->dir || !p->text) {
        tsf_pipeline_free(p);
        TSF_FAIL(err, TSF_ENOMEM, "out of memory building %s", name);
    }
    *out = p;
    return TSF_OK;
}

int tsf_pipeline_add_step(tsf_pipeline *p, const char *name, int line, tsf_err *err)
{
    if (!add_step(p, name, line))
        TSF_FAIL(err, TSF_ENOMEM, "out of memory building %s", p->name);
    return TSF_OK;
}

int tsf_pipeline_add_value(tsf_pipeline *p, const char *key, const char *value, int line,
                           tsf_err *err)
{
    if (!p->n_steps)
        TSF_FAIL(err, TSF_EINVAL, "%s: key \"%s\" before any step", p->name, key);
    if (!add_kv(&p->steps[p->n_steps - 1], key, value, line, 0))
        TSF_FAIL(err, TSF_ENOMEM, "out of memory building %s", p->name);
    return TSF_OK;
}

int tsf_pipeline_set_text(tsf_pipeline *p, const char *text, tsf_err *err)
{
    char *t = strdup(text);
    if (!t)
        TSF_FAIL(err, TSF_ENOMEM, "out of memory building %s", p->name);
    free(p->text);
    p->text = t;
    p->len = strlen(t);
    return TSF_OK;
}
