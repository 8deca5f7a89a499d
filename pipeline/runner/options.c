/* The one option parser: value text (pipeline file, --set, defaults) into a stage's state, and
 * the descriptions that errors and `tsflow help` share ("an integer from 1 to 1000"). */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "runner_internal.h"

size_t tsf__opt_field_size(tsf_opt_type t)
{
    switch (t) {
    case TSF_OPT_BOOL:
    case TSF_OPT_ENUM:
        return sizeof(int);
    case TSF_OPT_INT:
        return sizeof(int64_t);
    case TSF_OPT_SIZE:
        return sizeof(size_t);
    case TSF_OPT_DOUBLE:
        return sizeof(double);
    case TSF_OPT_STRING:
    case TSF_OPT_PATH_IN:
    case TSF_OPT_PATH_OUT:
        return sizeof(char *);
    case TSF_OPT_DOUBLES:
        return sizeof(tsf_doubles);
    case TSF_OPT_STRINGS:
        return sizeof(tsf_strings);
    case TSF_OPT_ENUMS:
        return sizeof(tsf_enums);
    }
    return 0;
}

size_t tsf__opt_field_align(tsf_opt_type t)
{
    switch (t) {
    case TSF_OPT_BOOL:
    case TSF_OPT_ENUM:
        return alignof(int);
    case TSF_OPT_INT:
        return alignof(int64_t);
    case TSF_OPT_SIZE:
        return alignof(size_t);
    case TSF_OPT_DOUBLE:
        return alignof(double);
    case TSF_OPT_STRING:
    case TSF_OPT_PATH_IN:
    case TSF_OPT_PATH_OUT:
        return alignof(char *);
    case TSF_OPT_DOUBLES:
        return alignof(tsf_doubles);
    case TSF_OPT_STRINGS:
        return alignof(tsf_strings);
    case TSF_OPT_ENUMS:
        return alignof(tsf_enums);
    }
    return 0;
}

static int is_word_char(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

int tsf__is_ident(const char *s)
{
    if (!s || !*s)
        return 0;
    for (; *s; s++)
        if (!is_word_char((unsigned char)*s))
            return 0;
    return 1;
}

int tsf__is_stage_name(const char *s)
{
    if (!s || !*s || *s == '.')
        return 0;
    for (const char *p = s; *p; p++) {
        if (*p == '.') {
            if (p[1] == '.' || p[1] == '\0')
                return 0;
        } else if (!is_word_char((unsigned char)*p)) {
            return 0;
        }
    }
    return 1;
}

int tsf__is_step_name(const char *s)
{
    if (!s || !*s)
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-')
            return 0;
    return 1;
}

int tsf__is_reserved_key(const char *key)
{
    return !strcmp(key, "stage") || !strcmp(key, "input") || !strcmp(key, "inputs");
}

const char *tsf__quote(const char *text, char *buf, size_t n)
{
    size_t o = 0;
    if (n < 8) {
        if (n)
            buf[0] = '\0';
        return buf;
    }
    buf[o++] = '"';
    size_t shown = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++, shown++) {
        if (shown == 60 || o + 8 >= n) {
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
        if (*p == '\n') {
            buf[o++] = '\\';
            buf[o++] = 'n';
        } else if (*p == '"' || *p == '\\') {
            buf[o++] = '\\';
            buf[o++] = (char)*p;
        } else if (*p < 0x20 || *p == 0x7f) {
            o += (size_t)snprintf(buf + o, n - o, "\\x%02x", *p);
        } else {
            buf[o++] = (char)*p;
        }
    }
    buf[o++] = '"';
    buf[o] = '\0';
    return buf;
}

void tsf__buf_printf(tsf__buf *b, const char *fmt, ...)
{
    if (b->failed)
        return;
    va_list ap;
    va_start(ap, fmt);
    char tmp[512];
    int k = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (k < 0) {
        b->failed = 1;
        return;
    }
    size_t need = b->len + (size_t)k + 1;
    if (need > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < need)
            cap *= 2;
        char *s = realloc(b->s, cap);
        if (!s) {
            b->failed = 1;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
    if ((size_t)k < sizeof tmp) {
        memcpy(b->s + b->len, tmp, (size_t)k + 1);
    } else {
        va_start(ap, fmt);
        vsnprintf(b->s + b->len, (size_t)k + 1, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t)k;
}

/* ---- Descriptions -------------------------------------------------------------------------- */

static int has_range(const tsf_option *o)
{
    return !(o->min == 0 && o->max == 0);
}

/* " from 1 to 10", " greater than 0", " at least 1 and less than 5", or "". */
static void range_text(const tsf_option *o, char *buf, size_t n)
{
    buf[0] = '\0';
    if (!has_range(o))
        return;
    int lo = isfinite(o->min), hi = isfinite(o->max);
    int lo_x = (o->flags & TSF_OPT_MIN_EXCLUSIVE) != 0,
        hi_x = (o->flags & TSF_OPT_MAX_EXCLUSIVE) != 0;
    if (lo && hi && !lo_x && !hi_x) {
        snprintf(buf, n, " from %.10g to %.10g", o->min, o->max);
        return;
    }
    char a[64] = "", b[64] = "";
    if (lo)
        snprintf(a, sizeof a, "%s %.10g", lo_x ? "greater than" : "at least", o->min);
    if (hi)
        snprintf(b, sizeof b, "%s %.10g", hi_x ? "less than" : "at most", o->max);
    snprintf(buf, n, "%s%s%s%s%s", (lo || hi) ? " " : "", a, (lo && hi) ? " and " : "", b, "");
}

static void choices_text(const tsf_option *o, char *buf, size_t n, const char *sep)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; o->choices && o->choices[i]; i++) {
        int k = snprintf(buf + used, n - used, "%s%s", i ? sep : "", o->choices[i]);
        if (k < 0 || (size_t)k >= n - used)
            return;
        used += (size_t)k;
    }
}

void tsf_opt_expected(const tsf_option *o, char *buf, size_t n)
{
    char r[160];
    range_text(o, r, sizeof r);
    switch (o->type) {
    case TSF_OPT_BOOL:
        snprintf(buf, n, "true or false");
        return;
    case TSF_OPT_INT:
        snprintf(buf, n, "an integer%s", r);
        return;
    case TSF_OPT_SIZE:
        if (has_range(o) && (o->min > 0 || isfinite(o->max)))
            snprintf(buf, n, "an integer%s", r);
        else
            snprintf(buf, n, "a non-negative integer");
        return;
    case TSF_OPT_DOUBLE:
        snprintf(buf, n, "a number%s", r);
        return;
    case TSF_OPT_STRING:
        snprintf(buf, n, "a string");
        return;
    case TSF_OPT_ENUM: {
        char c[512];
        choices_text(o, c, sizeof c, ", ");
        snprintf(buf, n, "one of %s", c);
        return;
    }
    case TSF_OPT_DOUBLES:
        snprintf(buf, n, "a comma-separated list of numbers%s%s", *r ? ", each" : "", r);
        return;
    case TSF_OPT_STRINGS:
        snprintf(buf, n, "a comma-separated list of strings");
        return;
    case TSF_OPT_ENUMS: {
        char c[512];
        choices_text(o, c, sizeof c, ", ");
        snprintf(buf, n, "a comma-separated list of %s, each at most once", c);
        return;
    }
    case TSF_OPT_PATH_IN:
        snprintf(buf, n, "the path of a readable file");
        return;
    case TSF_OPT_PATH_OUT:
        snprintf(buf, n, "the path of a file to write, in an existing writable directory");
        return;
    }
    snprintf(buf, n, "a value");
}

void tsf_opt_type_label(const tsf_option *o, char *buf, size_t n)
{
    switch (o->type) {
    case TSF_OPT_BOOL:
        snprintf(buf, n, "true|false");
        return;
    case TSF_OPT_INT:
    case TSF_OPT_SIZE:
        snprintf(buf, n, "integer");
        return;
    case TSF_OPT_DOUBLE:
        snprintf(buf, n, "number");
        return;
    case TSF_OPT_STRING:
        snprintf(buf, n, "string");
        return;
    case TSF_OPT_ENUM:
        choices_text(o, buf, n, "|");
        return;
    case TSF_OPT_DOUBLES:
        snprintf(buf, n, "number, ...");
        return;
    case TSF_OPT_STRINGS:
        snprintf(buf, n, "string, ...");
        return;
    case TSF_OPT_ENUMS: {
        char c[240];
        choices_text(o, c, sizeof c, "|");
        snprintf(buf, n, "%s, ...", c);
        return;
    }
    case TSF_OPT_PATH_IN:
    case TSF_OPT_PATH_OUT:
        snprintf(buf, n, "file");
        return;
    }
    snprintf(buf, n, "?");
}

static void *field(const tsf_option *o, void *state)
{
    return (char *)state + o->offset;
}

static const void *cfield(const tsf_option *o, const void *state)
{
    return (const char *)state + o->offset;
}

void tsf_opt_format(const tsf_option *o, const void *state, char *buf, size_t n)
{
    const void *f = cfield(o, state);
    switch (o->type) {
    case TSF_OPT_BOOL:
        snprintf(buf, n, "%s", *(const int *)f ? "true" : "false");
        return;
    case TSF_OPT_INT:
        snprintf(buf, n, "%lld", (long long)*(const int64_t *)f);
        return;
    case TSF_OPT_SIZE:
        snprintf(buf, n, "%zu", *(const size_t *)f);
        return;
    case TSF_OPT_DOUBLE:
        snprintf(buf, n, "%.10g", *(const double *)f);
        return;
    case TSF_OPT_ENUM: {
        int i = *(const int *)f;
        snprintf(buf, n, "%s", i >= 0 && o->choices ? o->choices[i] : "?");
        return;
    }
    case TSF_OPT_STRING:
    case TSF_OPT_PATH_IN:
    case TSF_OPT_PATH_OUT: {
        const char *s = *(char *const *)f;
        snprintf(buf, n, "%s", s ? s : "(unset)");
        return;
    }
    case TSF_OPT_DOUBLES: {
        const tsf_doubles *d = f;
        size_t used = 0;
        buf[0] = '\0';
        if (!d->n)
            snprintf(buf, n, "(empty)");
        for (size_t i = 0; i < d->n && used < n; i++) {
            int k = snprintf(buf + used, n - used, "%s%.10g", i ? ", " : "", d->v[i]);
            if (k < 0)
                return;
            used += (size_t)k;
        }
        return;
    }
    case TSF_OPT_STRINGS: {
        const tsf_strings *s = f;
        size_t used = 0;
        buf[0] = '\0';
        if (!s->n)
            snprintf(buf, n, "(empty)");
        for (size_t i = 0; i < s->n && used < n; i++) {
            int k = snprintf(buf + used, n - used, "%s%s", i ? ", " : "", s->v[i]);
            if (k < 0)
                return;
            used += (size_t)k;
        }
        return;
    }
    case TSF_OPT_ENUMS: {
        const tsf_enums *e = f;
        size_t used = 0;
        buf[0] = '\0';
        if (!e->n)
            snprintf(buf, n, "(empty)");
        for (size_t i = 0; i < e->n && used < n; i++) {
            int k = snprintf(buf + used, n - used, "%s%s", i ? ", " : "", o->choices[e->v[i]]);
            if (k < 0)
                return;
            used += (size_t)k;
        }
        return;
    }
    }
    snprintf(buf, n, "?");
}

/* ---- Parsing ------------------------------------------------------------------------------- */

void tsf_opt_clear(const tsf_option *o, void *state)
{
    void *f = field(o, state);
    switch (o->type) {
    case TSF_OPT_STRING:
    case TSF_OPT_PATH_IN:
    case TSF_OPT_PATH_OUT:
        free(*(char **)f);
        *(char **)f = NULL;
        return;
    case TSF_OPT_DOUBLES: {
        tsf_doubles *d = f;
        free((void *)d->v);
        d->v = NULL;
        d->n = 0;
        return;
    }
    case TSF_OPT_STRINGS: {
        tsf_strings *s = f;
        free((void *)s->v);
        s->v = NULL;
        s->n = 0;
        return;
    }
    case TSF_OPT_ENUMS: {
        tsf_enums *e = f;
        free((void *)e->v);
        e->v = NULL;
        e->n = 0;
        return;
    }
    default:
        memset(f, 0, tsf__opt_field_size(o->type));
        return;
    }
}

void tsf_opts_clear(const tsf_option *opts, void *state)
{
    for (const tsf_option *o = opts; o && o->name; o++)
        tsf_opt_clear(o, state);
}

const tsf_option *tsf_opt_find(const tsf_option *opts, const char *name)
{
    for (const tsf_option *o = opts; o && o->name; o++)
        if (!strcmp(o->name, name))
            return o;
    return NULL;
}

/* Trimmed copy of text[0..len) (NULL when out of memory). */
static char *trimmed(const char *text, size_t len)
{
    while (len && isspace((unsigned char)*text)) {
        text++;
        len--;
    }
    while (len && isspace((unsigned char)text[len - 1]))
        len--;
    char *s = malloc(len + 1);
    if (s) {
        memcpy(s, text, len);
        s[len] = '\0';
    }
    return s;
}

static int fail_value(tsf_err *err, const tsf_option *o, int code, const char *what,
                      const char *text)
{
    char q[96], exp[512];
    tsf__quote(text, q, sizeof q);
    tsf_opt_expected(o, exp, sizeof exp);
    const char *hint = strstr(text, " #") ? "; comments start a line with # or ;, or follow a "
                                            "space with ;"
                                          : "";
    return tsf_err_set(err, code, "%s %s (expected %s%s)", q, what, exp, hint);
}

static int in_range(const tsf_option *o, double v)
{
    if (!has_range(o))
        return 1;
    if (o->flags & TSF_OPT_MIN_EXCLUSIVE ? !(v > o->min) : !(v >= o->min))
        return 0;
    if (o->flags & TSF_OPT_MAX_EXCLUSIVE ? !(v < o->max) : !(v <= o->max))
        return 0;
    return 1;
}

static int parse_double(const char *s, double *v)
{
    if (!*s || isspace((unsigned char)*s))
        return 0;
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    if (*end || end == s)
        return 0;
    /* Overflow gives HUGE_VAL; "inf" and "nan" parse too: none is a usable option value. */
    return isfinite(*v);
}

static int parse_bool(const char *s, int *v)
{
    static const char *const yes[] = {"true", "yes", "on", "1"}, *const no[] = {"false", "no",
                                                                                "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (!strcasecmp(s, yes[i])) {
            *v = 1;
            return 1;
        }
        if (!strcasecmp(s, no[i])) {
            *v = 0;
            return 1;
        }
    }
    return 0;
}

/* Split a list into items: separators ',' and '\n'; items trimmed; "quoted" items may hold
 * commas or be empty; empty unquoted items are skipped (so "a,\n b" and "a, b," are two items).
 * Fills items (malloc'd array of malloc'd strings). */
static int split_list(const char *text, char ***items_out, size_t *n_out, tsf_err *err,
                      const tsf_option *o)
{
    char **items = NULL;
    size_t n = 0, cap = 0;
    const char *p = text;
    int rc = TSF_OK;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == '\r')
            p++;
        char *item = NULL;
        if (*p == '"') {
            const char *q = strchr(p + 1, '"');
            if (!q) {
                rc = fail_value(err, o, TSF_EINVAL, "has an unterminated quote", text);
                goto fail;
            }
            item = malloc((size_t)(q - p));
            if (!item)
                goto oom;
            memcpy(item, p + 1, (size_t)(q - p - 1));
            item[q - p - 1] = '\0';
            p = q + 1;
            while (*p == ' ' || *p == '\t' || *p == '\r')
                p++;
            if (*p && *p != ',' && *p != '\n') {
                free(item);
                rc = fail_value(err, o, TSF_EINVAL, "has text after a quoted item", text);
                goto fail;
            }
        } else {
            size_t len = strcspn(p, ",\n");
            item = trimmed(p, len);
            if (!item)
                goto oom;
            p += len;
            if (!*item) {
                free(item);
                item = NULL;
            }
        }
        if (*p)
            p++; /* the separator */
        if (!item)
            continue;
        if (n == cap) {
            size_t c = cap ? cap * 2 : 8;
            char **v = realloc(items, c * sizeof *v);
            if (!v) {
                free(item);
                goto oom;
            }
            items = v;
            cap = c;
        }
        items[n++] = item;
    }
    *items_out = items;
    *n_out = n;
    return TSF_OK;
oom:
    rc = tsf_err_set(err, TSF_ENOMEM, "out of memory parsing a list");
fail:
    for (size_t i = 0; i < n; i++)
        free(items[i]);
    free(items);
    return rc;
}

static void free_items(char **items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(items[i]);
    free(items);
}

static int parse_doubles(const tsf_option *o, const char *text, tsf_doubles *out, tsf_err *err)
{
    char **items;
    size_t n;
    int rc = split_list(text, &items, &n, err, o);
    if (rc != TSF_OK)
        return rc;
    double *v = n ? malloc(n * sizeof *v) : NULL;
    if (n && !v) {
        free_items(items, n);
        return tsf_err_set(err, TSF_ENOMEM, "out of memory parsing a list");
    }
    for (size_t i = 0; i < n; i++) {
        char q[96], exp[512];
        int ok = parse_double(items[i], &v[i]);
        if (!ok || !in_range(o, v[i])) {
            tsf__quote(items[i], q, sizeof q);
            tsf_opt_expected(o, exp, sizeof exp);
            rc = tsf_err_set(err, TSF_EINVAL, "item %zu, %s, %s (expected %s)", i + 1, q,
                             ok ? "is out of range" : "is not a number", exp);
            free(v);
            free_items(items, n);
            return rc;
        }
    }
    free_items(items, n);
    out->v = v;
    out->n = n;
    return TSF_OK;
}

static int parse_strings(const tsf_option *o, const char *text, tsf_strings *out, tsf_err *err)
{
    char **items;
    size_t n;
    int rc = split_list(text, &items, &n, err, o);
    if (rc != TSF_OK)
        return rc;
    if (!n) {
        out->v = NULL;
        out->n = 0;
        return TSF_OK;
    }
    /* One block: n pointers, then the strings. */
    size_t bytes = n * sizeof(char *);
    for (size_t i = 0; i < n; i++)
        bytes += strlen(items[i]) + 1;
    char **block = malloc(bytes);
    if (!block) {
        free_items(items, n);
        return tsf_err_set(err, TSF_ENOMEM, "out of memory parsing a list");
    }
    char *s = (char *)(block + n);
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(items[i]) + 1;
        memcpy(s, items[i], len);
        block[i] = s;
        s += len;
    }
    free_items(items, n);
    out->v = (const char *const *)block;
    out->n = n;
    return TSF_OK;
}

/* The index of text among o's choices (any case), or an error listing them. */
static int parse_choice(const tsf_option *o, const char *text, int *index, tsf_err *err)
{
    size_t n = 0;
    *index = -1;
    for (; o->choices && o->choices[n]; n++)
        if (*index < 0 && !strcasecmp(text, o->choices[n]))
            *index = (int)n;
    if (*index >= 0)
        return TSF_OK;
    char q[96], c[512];
    tsf__quote(text, q, sizeof q);
    choices_text(o, c, sizeof c, ", ");
    const char *near = tsf_suggest(text, o->choices, n);
    if (near)
        return tsf_err_set(err, TSF_EINVAL, "%s is not one of %s (did you mean \"%s\"?)", q, c,
                           near);
    return tsf_err_set(err, TSF_EINVAL, "%s is not one of %s", q, c);
}

/* A list of choices: empty items ("") are skipped, so "" is the empty list; a choice named
 * twice is refused (the stage would otherwise have to decide what that means). */
static int parse_enums(const tsf_option *o, const char *text, tsf_enums *out, tsf_err *err)
{
    char **items;
    size_t n;
    int rc = split_list(text, &items, &n, err, o);
    if (rc != TSF_OK)
        return rc;
    int *v = n ? malloc(n * sizeof *v) : NULL;
    if (n && !v) {
        free_items(items, n);
        return tsf_err_set(err, TSF_ENOMEM, "out of memory parsing a list");
    }
    size_t k = 0;
    for (size_t i = 0; i < n && rc == TSF_OK; i++) {
        if (!items[i][0])
            continue;
        int c;
        if ((rc = parse_choice(o, items[i], &c, err)) != TSF_OK)
            break;
        for (size_t j = 0; j < k; j++)
            if (v[j] == c)
                rc = tsf_err_set(err, TSF_EINVAL,
                                 "\"%s\" is listed twice (expected each at most "
                                 "once)",
                                 o->choices[c]);
        v[k++] = c;
    }
    free_items(items, n);
    if (rc != TSF_OK || !k) {
        free(v);
        v = NULL;
        k = 0;
    }
    out->v = v;
    out->n = k;
    return rc;
}

/* Remove one pair of surrounding double quotes (in place). Returns 1 when there were some. */
static int unquote(char *s)
{
    size_t n = strlen(s);
    if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
        memmove(s, s + 1, n - 2);
        s[n - 2] = '\0';
        return 1;
    }
    return 0;
}

static char *join_path(const char *dir, const char *path)
{
    if (path[0] == '/' || !dir || !*dir || !strcmp(dir, "."))
        return strdup(path);
    size_t n = strlen(dir) + strlen(path) + 2;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", path);
    return s;
}

/* A bool or a number (text already trimmed) into field f. */
static int parse_scalar(const tsf_option *o, const char *s, void *f, tsf_err *err)
{
    switch (o->type) {
    case TSF_OPT_BOOL: {
        int v;
        if (!parse_bool(s, &v))
            return fail_value(err, o, TSF_EINVAL, "is not a boolean", s);
        *(int *)f = v;
        break;
    }
    case TSF_OPT_INT: {
        char *end;
        errno = 0;
        long long v = *s ? strtoll(s, &end, 10) : 0;
        if (!*s || *end || isspace((unsigned char)*s))
            return fail_value(err, o, TSF_EINVAL, "is not an integer", s);
        if (errno == ERANGE || !in_range(o, (double)v))
            return fail_value(err, o, TSF_EINVAL, "is out of range", s);
        *(int64_t *)f = (int64_t)v;
        break;
    }
    case TSF_OPT_SIZE: {
        char *end;
        errno = 0;
        if (s[0] == '-')
            return fail_value(err, o, TSF_EINVAL, "is negative", s);
        unsigned long long v = *s ? strtoull(s, &end, 10) : 0;
        if (!*s || *end || !isdigit((unsigned char)s[s[0] == '+']))
            return fail_value(err, o, TSF_EINVAL, "is not an integer", s);
        if (errno == ERANGE || v > SIZE_MAX || !in_range(o, (double)v))
            return fail_value(err, o, TSF_EINVAL, "is out of range", s);
        *(size_t *)f = (size_t)v;
        break;
    }
    case TSF_OPT_DOUBLE: {
        double v;
        if (!parse_double(s, &v))
            return fail_value(err, o, TSF_EINVAL, "is not a finite number", s);
        if (!in_range(o, v))
            return fail_value(err, o, TSF_EINVAL, "is out of range", s);
        *(double *)f = v;
        break;
    }
    default:
        break;
    }
    return TSF_OK;
}

int tsf_opt_parse(const tsf_option *o, const char *text, const char *base_dir, void *state,
                  tsf_err *err)
{
    char *s = trimmed(text, strlen(text));
    if (!s)
        return tsf_err_set(err, TSF_ENOMEM, "out of memory");
    int rc = TSF_OK;
    int scalar =
        o->type != TSF_OPT_DOUBLES && o->type != TSF_OPT_STRINGS && o->type != TSF_OPT_ENUMS;
    if (scalar && strchr(s, '\n')) {
        char q[96];
        tsf__quote(s, q, sizeof q);
        rc = tsf_err_set(err, TSF_EINVAL,
                         "%s spans several lines (only lists continue on indented lines: is a "
                         "following line indented by mistake?)",
                         q);
        goto done;
    }
    void *f = field(o, state);
    switch (o->type) {
    case TSF_OPT_BOOL:
    case TSF_OPT_INT:
    case TSF_OPT_SIZE:
    case TSF_OPT_DOUBLE:
        rc = parse_scalar(o, s, f, err);
        break;
    case TSF_OPT_ENUM: {
        int found;
        if ((rc = parse_choice(o, s, &found, err)) != TSF_OK)
            goto done;
        *(int *)f = found;
        break;
    }
    case TSF_OPT_STRING: {
        /* Unquoted empty means unset; "" is an empty string. */
        int quoted = unquote(s);
        tsf_opt_clear(o, state);
        if (*s || quoted) {
            *(char **)f = s;
            s = NULL;
        }
        break;
    }
    case TSF_OPT_PATH_IN:
    case TSF_OPT_PATH_OUT: {
        unquote(s);
        if (!*s) {
            rc = fail_value(err, o, TSF_EINVAL, "is empty", s);
            goto done;
        }
        char *p = join_path(base_dir, s);
        if (!p) {
            rc = tsf_err_set(err, TSF_ENOMEM, "out of memory");
            goto done;
        }
        tsf_opt_clear(o, state);
        *(char **)f = p;
        break;
    }
    case TSF_OPT_DOUBLES: {
        tsf_doubles d;
        rc = parse_doubles(o, s, &d, err);
        if (rc == TSF_OK) {
            tsf_opt_clear(o, state);
            *(tsf_doubles *)f = d;
        }
        break;
    }
    case TSF_OPT_STRINGS: {
        tsf_strings l;
        rc = parse_strings(o, s, &l, err);
        if (rc == TSF_OK) {
            tsf_opt_clear(o, state);
            *(tsf_strings *)f = l;
        }
        break;
    }
    case TSF_OPT_ENUMS: {
        tsf_enums l;
        rc = parse_enums(o, s, &l, err);
        if (rc == TSF_OK) {
            tsf_opt_clear(o, state);
            *(tsf_enums *)f = l;
        }
        break;
    }
    default:
        rc = tsf_err_set(err, TSF_EINVAL, "option \"%s\" has an unknown type %d", o->name,
                         (int)o->type);
        break;
    }
done:
    free(s);
    return rc;
}
