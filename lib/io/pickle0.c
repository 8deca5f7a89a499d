/* A decoder of protocol-0 pickles of plain values (see pickle0.h).
 *
 * Protocol 0 is a line-oriented stack machine. The opcodes understood are those pickle.dumps(v,
 * 0) emits for None, bools, ints, floats, str, bytes, lists, tuples, dicts and objects built by a
 * class called with arguments (pandas' offsets: GLOBAL, a tuple, REDUCE), plus the memo (PUT,
 * GET). Anything else (persistent ids, extensions, higher protocols) makes the decoding fail. */
#include "pickle0.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PK_MAX_STACK 4096
#define PK_MAX_MEMO 65536

typedef struct pk_state {
    const char *p, *end;
    tsf__pk *all;                 /* every value made, for freeing */
    tsf__pk *stack[PK_MAX_STACK]; /* values; a mark is a NULL entry */
    size_t sp;
    tsf__pk **memo;
    size_t n_memo;
} pk_state;

static tsf__pk *pk_new(pk_state *st, tsf__pk_kind kind)
{
    tsf__pk *v = calloc(1, sizeof *v);
    if (v) {
        v->kind = kind;
        v->next = st->all;
        st->all = v;
    }
    return v;
}

/* The rest of the line (without '\n'), or NULL when there is no '\n'. */
static const char *pk_line(pk_state *st, size_t *len)
{
    const char *nl = memchr(st->p, '\n', (size_t)(st->end - st->p));
    if (!nl)
        return NULL;
    const char *s = st->p;
    *len = (size_t)(nl - s);
    st->p = nl + 1;
    return s;
}

static int pk_push(pk_state *st, tsf__pk *v)
{
    if (st->sp == PK_MAX_STACK)
        return -1;
    st->stack[st->sp++] = v;
    return 0;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

static size_t put_utf8(char *o, unsigned long c)
{
    if (c < 0x80) {
        o[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        o[0] = (char)(0xC0 | (c >> 6));
        o[1] = (char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        o[0] = (char)(0xE0 | (c >> 12));
        o[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        o[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (c >> 18));
    o[1] = (char)(0x80 | ((c >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((c >> 6) & 0x3F));
    o[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

/* UNICODE ('V'): raw-unicode-escape, i.e. bytes are code points 0..255 except \uXXXX and
 * \UXXXXXXXX. Returns the UTF-8 text, or NULL. */
static char *pk_unicode(const char *s, size_t n)
{
    char *o = malloc(n * 4 + 1), *w = o;
    if (!o)
        return NULL;
    for (size_t i = 0; i < n;) {
        unsigned long c = (unsigned char)s[i];
        size_t digits = 0;
        if (c == '\\' && i + 1 < n && (s[i + 1] == 'u' || s[i + 1] == 'U'))
            digits = s[i + 1] == 'u' ? 4 : 8;
        if (digits && i + 2 + digits <= n) {
            c = 0;
            for (size_t k = 0; k < digits; k++) {
                int h = hexval(s[i + 2 + k]);
                if (h < 0) {
                    free(o);
                    return NULL;
                }
                c = c * 16 + (unsigned long)h;
            }
            if (c > 0x10FFFF) {
                free(o);
                return NULL;
            }
            i += 2 + digits;
        } else {
            i++;
        }
        w += put_utf8(w, c);
    }
    *w = '\0';
    return o;
}

/* STRING ('S'): a Python repr, quoted with ' or ", with backslash escapes. */
static char *pk_string(const char *s, size_t n)
{
    if (n < 2 || (s[0] != '\'' && s[0] != '"') || s[n - 1] != s[0])
        return NULL;
    char *o = malloc(n), *w = o;
    if (!o)
        return NULL;
    for (size_t i = 1; i + 1 < n; i++) {
        char c = s[i];
        if (c == '\\' && i + 2 < n) {
            c = s[++i];
            if (c == 'x' && i + 2 < n - 1 && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
                c = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
                i += 2;
            } else if (c == 'n') {
                c = '\n';
            } else if (c == 't') {
                c = '\t';
            } else if (c == 'r') {
                c = '\r';
            } else if (c == '0') {
                c = '\0';
            }
        }
        *w++ = c;
    }
    *w = '\0';
    return o;
}

/* The items above the topmost mark, removed from the stack into v (a list, tuple or dict). */
static int pk_collect(pk_state *st, tsf__pk *v)
{
    size_t m = st->sp;
    while (m > 0 && st->stack[m - 1])
        m--;
    if (m == 0)
        return -1; /* no mark */
    size_t n = st->sp - m;
    if (v->kind == TSF__PK_DICT && n % 2)
        return -1;
    v->item = malloc((n ? n : 1) * sizeof *v->item);
    if (!v->item)
        return -1;
    memcpy(v->item, st->stack + m, n * sizeof *v->item);
    v->n = v->kind == TSF__PK_DICT ? n / 2 : n;
    st->sp = m - 1;
    return pk_push(st, v);
}

/* Append k values to the list or dict below them. */
static int pk_append(tsf__pk *to, tsf__pk **v, size_t k)
{
    size_t have = to->kind == TSF__PK_DICT ? 2 * to->n : to->n;
    tsf__pk **item = realloc(to->item, (have + k) * sizeof *item);
    if (!item)
        return -1;
    memcpy(item + have, v, k * sizeof *v);
    to->item = item;
    to->n = to->kind == TSF__PK_DICT ? (have + k) / 2 : have + k;
    return 0;
}

static int pk_number(pk_state *st, char op)
{
    size_t n;
    const char *s = pk_line(st, &n);
    if (!s || n == 0 || n > 40)
        return -1;
    char buf[48];
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (op == 'L' && buf[n - 1] == 'L')
        buf[n - 1] = '\0';
    char *e;
    tsf__pk *v;
    if (op == 'F') {
        if (!(v = pk_new(st, TSF__PK_FLOAT)))
            return -1;
        v->x = strtod(buf, &e);
    } else if (op == 'I' && (!strcmp(buf, "00") || !strcmp(buf, "01"))) {
        if (!(v = pk_new(st, TSF__PK_BOOL)))
            return -1;
        v->i = buf[1] == '1';
        e = buf + n;
    } else {
        if (!(v = pk_new(st, TSF__PK_INT)))
            return -1;
        errno = 0;
        v->i = strtoll(buf, &e, 10);
        if (errno == ERANGE) /* a Python int beyond int64: no label or count tsflow uses */
            return -1;
    }
    return *e ? -1 : pk_push(st, v);
}

static int pk_text(pk_state *st, char op)
{
    size_t n;
    const char *s = pk_line(st, &n);
    tsf__pk *v = s ? pk_new(st, TSF__PK_STR) : NULL;
    if (!v || !(v->s = op == 'V' ? pk_unicode(s, n) : pk_string(s, n)))
        return -1;
    return pk_push(st, v);
}

static int pk_global(pk_state *st)
{
    size_t nm, nn;
    const char *m = pk_line(st, &nm);
    const char *c = m ? pk_line(st, &nn) : NULL;
    tsf__pk *v = c ? pk_new(st, TSF__PK_GLOBAL) : NULL;
    if (!v || !(v->s = malloc(nm + nn + 2)))
        return -1;
    memcpy(v->s, m, nm);
    v->s[nm] = '.';
    memcpy(v->s + nm + 1, c, nn);
    v->s[nm + nn + 1] = '\0';
    return pk_push(st, v);
}

static int pk_memo(pk_state *st, char op)
{
    size_t n;
    const char *s = pk_line(st, &n);
    char buf[24];
    if (!s || n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *e;
    long long k = strtoll(buf, &e, 10);
    if (*e || k < 0 || k >= PK_MAX_MEMO)
        return -1;
    size_t i = (size_t)k;
    if (op == 'g')
        return i < st->n_memo && st->memo[i] ? pk_push(st, st->memo[i]) : -1;
    if (st->sp == 0 || !st->stack[st->sp - 1])
        return -1;
    if (i >= st->n_memo) {
        tsf__pk **m = realloc(st->memo, (i + 1) * sizeof *m);
        if (!m)
            return -1;
        memset(m + st->n_memo, 0, (i + 1 - st->n_memo) * sizeof *m);
        st->memo = m;
        st->n_memo = i + 1;
    }
    st->memo[i] = st->stack[st->sp - 1];
    return 0;
}

/* One opcode. 1 at STOP, 0 to go on, -1 on a malformed or unsupported pickle. */
static int pk_step(pk_state *st)
{
    char op = *st->p++;
    tsf__pk *v, *top = st->sp ? st->stack[st->sp - 1] : NULL;
    tsf__pk *below = st->sp > 1 ? st->stack[st->sp - 2] : NULL;
    switch (op) {
    case '.':
        return st->sp == 1 && top ? 1 : -1;
    case '(':
        return pk_push(st, NULL);
    case 'N':
        return (v = pk_new(st, TSF__PK_NONE)) ? pk_push(st, v) : -1;
    case 'I':
    case 'L':
    case 'F':
        return pk_number(st, op);
    case 'V':
    case 'S':
        return pk_text(st, op);
    case 'l':
    case 't':
    case 'd':
        v = pk_new(st, op == 'l' ? TSF__PK_LIST : op == 't' ? TSF__PK_TUPLE : TSF__PK_DICT);
        return v ? pk_collect(st, v) : -1;
    case 'a':
        if (!top || !below || below->kind != TSF__PK_LIST || pk_append(below, &top, 1))
            return -1;
        st->sp--;
        return 0;
    case 's':
        if (st->sp < 3 || !top || !below || !st->stack[st->sp - 3] ||
            st->stack[st->sp - 3]->kind != TSF__PK_DICT ||
            pk_append(st->stack[st->sp - 3], st->stack + st->sp - 2, 2))
            return -1;
        st->sp -= 2;
        return 0;
    case 'p':
    case 'g':
        return pk_memo(st, op);
    case 'c':
        return pk_global(st);
    case 'R':
        if (!top || !below || top->kind != TSF__PK_TUPLE || below->kind != TSF__PK_GLOBAL ||
            !(v = pk_new(st, TSF__PK_OBJECT)) || !(v->item = malloc(2 * sizeof *v->item)))
            return -1;
        v->item[0] = below;
        v->item[1] = top;
        v->n = 2;
        st->sp -= 2;
        return pk_push(st, v);
    case 'b': /* BUILD: the state set on an object; its arguments say enough here */
        if (!top || !below || below->kind != TSF__PK_OBJECT)
            return -1;
        st->sp--;
        return 0;
    case '0':
        if (st->sp == 0)
            return -1;
        st->sp--;
        return 0;
    default:
        return -1;
    }
}

static void pk_free_all(tsf__pk *v)
{
    while (v) {
        tsf__pk *next = v->next;
        free(v->s);
        free(v->item);
        free(v);
        v = next;
    }
}

tsf__pk *tsf__pk_decode(const char *text, size_t len)
{
    pk_state *st = calloc(1, sizeof *st);
    if (!st)
        return NULL;
    st->p = text;
    st->end = text + len;
    int rc = 0;
    while (rc == 0 && st->p < st->end)
        rc = pk_step(st);
    tsf__pk *root = rc == 1 ? st->stack[0] : NULL;
    if (root) {
        /* the root heads the list of values, so freeing it frees them all */
        tsf__pk **at = &st->all;
        while (*at != root)
            at = &(*at)->next;
        *at = root->next;
        root->next = st->all;
    } else {
        pk_free_all(st->all);
    }
    free(st->memo);
    free(st);
    return root;
}

void tsf__pk_free(tsf__pk *root)
{
    pk_free_all(root);
}

const tsf__pk *tsf__pk_get(const tsf__pk *d, const char *key)
{
    for (size_t k = 0; d && d->kind == TSF__PK_DICT && k < d->n; k++)
        if (d->item[2 * k]->kind == TSF__PK_STR && !strcmp(d->item[2 * k]->s, key))
            return d->item[2 * k + 1];
    return NULL;
}

/* Argument i of an object (what its class was called with), or NULL. */
static const tsf__pk *pk_arg(const tsf__pk *o, size_t i)
{
    const tsf__pk *a = o->n == 2 ? o->item[1] : NULL;
    return a && a->kind == TSF__PK_TUPLE && i < a->n ? a->item[i] : NULL;
}

static int pk_offset_name(int64_t seconds, char *buf, size_t cap)
{
    if (seconds <= -86400 || seconds >= 86400 || seconds % 60)
        return -1;
    if (seconds == 0) {
        snprintf(buf, cap, "UTC");
        return 1;
    }
    int64_t m = seconds < 0 ? -seconds / 60 : seconds / 60;
    snprintf(buf, cap, "%c%02d:%02d", seconds < 0 ? '-' : '+', (int)(m / 60), (int)(m % 60));
    return 1;
}

int tsf__pk_zone(const tsf__pk *z, char *buf, size_t cap)
{
    buf[0] = '\0';
    if (!z || z->kind == TSF__PK_NONE)
        return 0;
    if (z->kind == TSF__PK_STR) { /* a zone given by name */
        snprintf(buf, cap, "%s", z->s);
        return z->s[0] ? 1 : 0;
    }
    if (z->kind != TSF__PK_OBJECT || z->n != 2 || z->item[0]->kind != TSF__PK_GLOBAL)
        return -1;
    const char *cls = z->item[0]->s;
    const tsf__pk *a0 = pk_arg(z, 0);
    if (!strcmp(cls, "pytz._UTC") || !strcmp(cls, "pytz.utc")) {
        snprintf(buf, cap, "UTC");
        return 1;
    }
    /* pytz's zones pickle as _p(name, utcoffset, dst, tzname); zoneinfo's as _unpickle(key, 1) */
    if ((!strcmp(cls, "pytz._p") || !strcmp(cls, "zoneinfo.ZoneInfo._unpickle")) && a0 &&
        a0->kind == TSF__PK_STR && a0->s[0]) {
        snprintf(buf, cap, "%s", a0->s);
        return 1;
    }
    if (!strcmp(cls, "pytz.FixedOffset") && a0 && a0->kind == TSF__PK_INT)
        return pk_offset_name(a0->i * 60, buf, cap);
    /* datetime.timezone(timedelta(days, seconds, microseconds)[, name]) */
    if (!strcmp(cls, "datetime.timezone") && a0 && a0->kind == TSF__PK_OBJECT && a0->n == 2 &&
        a0->item[0]->kind == TSF__PK_GLOBAL && !strcmp(a0->item[0]->s, "datetime.timedelta")) {
        const tsf__pk *d = pk_arg(a0, 0), *sec = pk_arg(a0, 1), *us = pk_arg(a0, 2);
        if (d && sec && d->kind == TSF__PK_INT && sec->kind == TSF__PK_INT &&
            (!us || (us->kind == TSF__PK_INT && us->i == 0)))
            return pk_offset_name(d->i * 86400 + sec->i, buf, cap);
    }
    /* other objects: name their class (copyreg rebuilds plain objects from theirs) */
    if (strstr(cls, "_reconstructor") && a0 && a0->kind == TSF__PK_GLOBAL)
        cls = a0->s;
    snprintf(buf, cap, "%s", cls);
    return -1;
}
