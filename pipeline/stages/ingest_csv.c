/* ingest.csv: read a CSV file into a frame (tsf_csv_read), every tsf_csv_options field an option.
 *
 * check is cheap but looks at the file: it reads the header and the first two records (column
 * names, delimiter, which column is time by the reader's own rule, the step) and counts the
 * records with a quote-aware newline scan (memchr speed when a block holds no quote), so that
 * later stages can check lengths (lookback + horizon, folds) before anything runs. In the long
 * layout the scan also reads each record's id, so the plan gives the series and the shortest
 * one's rows as run will find them. The reader itself still validates everything at run time.
 *
 * The path may be a pipe (a FIFO, or bash's <(command)): check then only says so, without
 * opening it (that would block until a writer comes, and reading would consume the data), and
 * run reads it once. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tsflow/io.h"
#include "tsflow/stage.h"

enum { DELIM_AUTO, DELIM_COMMA, DELIM_SEMICOLON, DELIM_TAB };
enum { GAPS_ERROR, GAPS_FILL };

typedef struct ingest_csv {
    const char *path;
    int delimiter;
    const char *time_column;
    int64_t time_position;
    int no_time;
    const char *id_column;
    tsf_strings columns;
    tsf_strings na;
    int gaps;
    size_t max_field;
} ingest_csv;

static const char *const delimiters[] = {"auto", "comma", "semicolon", "tab", NULL};
static const char *const gap_policies[] = {"error", "fill", NULL};

static const tsf_option options[] = {
    {.name = "path",
     .type = TSF_OPT_PATH_IN,
     .offset = offsetof(ingest_csv, path),
     .flags = TSF_OPT_REQUIRED | TSF_OPT_STREAM,
     .help = "the CSV file to read; a pipe works too (read once, by run): --set "
             "STEP.path=<(zcat data.csv.gz)"},
    {.name = "delimiter",
     .type = TSF_OPT_ENUM,
     .offset = offsetof(ingest_csv, delimiter),
     .def = "auto",
     .choices = delimiters,
     .help = "field delimiter; auto picks the most frequent of , ; and tab in the header line"},
    {.name = "time_column",
     .type = TSF_OPT_STRING,
     .offset = offsetof(ingest_csv, time_column),
     .help = "the time column by name (default: the first column, if its values parse as time)"},
    {.name = "time_position",
     .type = TSF_OPT_INT,
     .offset = offsetof(ingest_csv, time_position),
     .def = "-1",
     .min = -1,
     .max = 1e6,
     .help = "the time column by 0-based position; -1: use time_column or detect"},
    {.name = "no_time",
     .type = TSF_OPT_BOOL,
     .offset = offsetof(ingest_csv, no_time),
     .def = "false",
     .help = "no time column: rows get an integer index 0, 1, 2, ..."},
    {.name = "id_column",
     .type = TSF_OPT_STRING,
     .offset = offsetof(ingest_csv, id_column),
     .help = "long layout: the column naming each row's series (default: wide layout, one "
             "series)"},
    {.name = "columns",
     .type = TSF_OPT_STRINGS,
     .offset = offsetof(ingest_csv, columns),
     .help = "value columns to keep, in this order (default: all but the time and id columns)"},
    {.name = "na",
     .type = TSF_OPT_STRINGS,
     .offset = offsetof(ingest_csv, na),
     .help = "missing-value tokens; \"\" is the empty field (default: \"\", NA, NaN, nan, null)"},
    {.name = "gaps",
     .type = TSF_OPT_ENUM,
     .offset = offsetof(ingest_csv, gaps),
     .def = "error",
     .choices = gap_policies,
     .help = "missing timestamps: error refuses them, fill inserts rows of NaN"},
    {.name = "max_field",
     .type = TSF_OPT_SIZE,
     .offset = offsetof(ingest_csv, max_field),
     .def = "1048576",
     .min = 1,
     .max = 1e9,
     .help = "longest accepted field in bytes"},
    TSF_OPTION_END,
};

static const tsf_port outputs[] = {
    {.name = "frame", .types = TSF_TYPE_BIT(TSF_TYPE_FRAME), .help = "the series read"},
    TSF_PORT_END,
};

/* ---- A cheap look at the file ------------------------------------------------------------ */

#define PEEK_BYTES (1u << 20)
#define MAX_PEEK_FIELDS 4096

typedef struct record {
    char **f;
    size_t n;
} record;

static void record_free(record *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->f[i]);
    free(r->f);
    r->f = NULL;
    r->n = 0;
}

/* The end of the record starting at p (the byte after its newline), or NULL when it does not
 * end before `end` (buffer end). */
static const char *record_end(const char *p, const char *end, int at_eof)
{
    int q = 0;
    for (; p < end; p++) {
        if (*p == '"')
            q = !q;
        else if (*p == '\n' && !q)
            return p + 1;
    }
    return at_eof ? end : NULL;
}

static int blank(const char *p, const char *e)
{
    for (; p < e; p++)
        if (*p != '\r' && *p != '\n')
            return 0;
    return 1;
}

/* Split [p, e) into fields (RFC 4180 quotes, "" inside quotes). */
static int split(const char *p, const char *e, char delim, record *r)
{
    while (e > p && (e[-1] == '\n' || e[-1] == '\r'))
        e--;
    size_t cap = 16;
    r->f = malloc(cap * sizeof *r->f);
    r->n = 0;
    if (!r->f)
        return -1;
    for (;;) {
        char *fld = malloc((size_t)(e - p) + 1);
        if (!fld)
            return -1;
        size_t k = 0;
        if (p < e && *p == '"') {
            p++;
            while (p < e) {
                if (*p == '"' && p + 1 < e && p[1] == '"') {
                    fld[k++] = '"';
                    p += 2;
                } else if (*p == '"') {
                    p++;
                    break;
                } else {
                    fld[k++] = *p++;
                }
            }
        }
        while (p < e && *p != delim)
            fld[k++] = *p++;
        fld[k] = '\0';
        if (r->n == cap) {
            cap *= 2;
            char **v = realloc(r->f, cap * sizeof *v);
            if (!v) {
                free(fld);
                return -1;
            }
            r->f = v;
        }
        r->f[r->n++] = fld;
        if (p >= e || r->n == MAX_PEEK_FIELDS)
            return 0;
        p++; /* delimiter */
    }
}

static char detect_delimiter(const char *p, const char *e)
{
    size_t n[3] = {0, 0, 0};
    const char c[3] = {',', ';', '\t'};
    int q = 0;
    for (; p < e; p++) {
        if (*p == '"')
            q = !q;
        for (int k = 0; k < 3 && !q; k++)
            n[k] += *p == c[k];
    }
    int best = 0;
    for (int k = 1; k < 3; k++)
        if (n[k] > n[best])
            best = k;
    return c[best];
}

/* Non-blank records in the whole file (header included), quote-aware. */
static int count_records(FILE *f, size_t *out)
{
    char *buf = malloc(PEEK_BYTES);
    if (!buf)
        return -1;
    size_t n_rec = 0;
    int q = 0, content = 0;
    size_t got;
    rewind(f);
    while ((got = fread(buf, 1, PEEK_BYTES, f)) > 0) {
        const char *p = buf, *end = buf + got;
        if (!q && !memchr(p, '"', got)) {
            /* Fast path: lines are memchr-separated. */
            while (p < end) {
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                const char *le = nl ? nl : end;
                if (!blank(p, le))
                    content = 1;
                if (nl) {
                    n_rec += content;
                    content = 0;
                }
                p = nl ? nl + 1 : end;
            }
            continue;
        }
        for (; p < end; p++) {
            if (*p == '"') {
                q = !q;
                content = 1;
            } else if (*p == '\n' && !q) {
                n_rec += content;
                content = 0;
            } else if (*p != '\r') {
                content = 1;
            }
        }
    }
    n_rec += content;
    int bad = ferror(f);
    free(buf);
    *out = n_rec;
    return bad ? -1 : 0;
}

/* ---- The series of a long layout ----------------------------------------------------------
 *
 * The records of each distinct value of the id column, read as the reader reads it: quotes
 * removed ("" inside quotes is one quote), unquoted values trimmed of spaces and tabs, blank
 * lines skipped, the first record (the header) passed over. A block without quotes is cut at
 * newlines with memchr; anything else goes byte by byte through a small state machine that
 * carries over between blocks. Memory: the distinct ids. */

typedef struct id_slot {
    char *id; /* NULL: free slot */
    size_t len;
    size_t n; /* records */
} id_slot;

typedef struct id_count {
    long col;        /* the id column's 0-based position */
    char delim;      /* the field delimiter */
    int header_done; /* the header record has been passed */
    int oom;
    /* the record being read byte by byte */
    int q;       /* inside quotes */
    int closed;  /* the previous byte closed a quote (a quote now is a literal one) */
    int content; /* the record has a byte other than CR/LF */
    int quoted;  /* the id field had quotes (then keeps its blanks) */
    long field;  /* current field */
    char *buf;   /* the id field so far */
    size_t len, cap;
    /* the distinct ids: open addressing, at most half full */
    id_slot *slot;
    size_t n_slots, n_ids;
    size_t last; /* slot of the previous record's id, or SIZE_MAX */
} id_count;

static void ids_free(id_count *ic)
{
    for (size_t i = 0; i < ic->n_slots; i++)
        free(ic->slot[i].id);
    free(ic->slot);
    free(ic->buf);
}

static uint64_t id_hash(const char *s, size_t n)
{
    uint64_t h = UINT64_C(1469598103934665603);
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * UINT64_C(1099511628211);
    return h;
}

static size_t id_find(const id_count *ic, const char *s, size_t n)
{
    size_t mask = ic->n_slots - 1, i = (size_t)id_hash(s, n) & mask;
    while (ic->slot[i].id && (ic->slot[i].len != n || memcmp(ic->slot[i].id, s, n)))
        i = (i + 1) & mask;
    return i;
}

static int ids_grow(id_count *ic)
{
    size_t n = ic->n_slots ? ic->n_slots * 2 : 64;
    id_slot *old = ic->slot;
    size_t n_old = ic->n_slots;
    if (!(ic->slot = calloc(n, sizeof *ic->slot))) {
        ic->slot = old;
        return -1;
    }
    ic->n_slots = n;
    for (size_t i = 0; i < n_old; i++)
        if (old[i].id)
            ic->slot[id_find(ic, old[i].id, old[i].len)] = old[i];
    free(old);
    ic->last = SIZE_MAX;
    return 0;
}

/* One data record whose id is s[0..n). */
static void ids_add(id_count *ic, const char *s, size_t n, int quoted)
{
    if (!ic->header_done) {
        ic->header_done = 1;
        return;
    }
    if (!quoted) {
        while (n && (*s == ' ' || *s == '\t'))
            s++, n--;
        while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
            n--;
    }
    if (ic->last != SIZE_MAX && ic->slot[ic->last].len == n &&
        !memcmp(ic->slot[ic->last].id, s, n)) {
        ic->slot[ic->last].n++; /* the common case: a run of one series */
        return;
    }
    if (2 * (ic->n_ids + 1) > ic->n_slots && ids_grow(ic) != 0) {
        ic->oom = 1;
        return;
    }
    size_t i = id_find(ic, s, n);
    if (!ic->slot[i].id) {
        if (!(ic->slot[i].id = malloc(n + 1))) {
            ic->oom = 1;
            return;
        }
        memcpy(ic->slot[i].id, s, n);
        ic->slot[i].id[n] = '\0';
        ic->slot[i].len = n;
        ic->n_ids++;
    }
    ic->slot[i].n++;
    ic->last = i;
}

static void id_putc(id_count *ic, char c)
{
    if (ic->len == ic->cap) {
        size_t cap = ic->cap ? ic->cap * 2 : 64;
        char *b = realloc(ic->buf, cap);
        if (!b) {
            ic->oom = 1;
            return;
        }
        ic->buf = b;
        ic->cap = cap;
    }
    ic->buf[ic->len++] = c;
}

/* Bytes [p, end) through the state machine. */
static void ids_feed(id_count *ic, const char *p, const char *end)
{
    for (; p < end; p++) {
        char c = *p;
        if (c == '"') {
            ic->content = 1;
            if (ic->q) {
                ic->q = 0;
                ic->closed = 1;
                continue;
            }
            if (ic->closed && ic->field == ic->col)
                id_putc(ic, '"');
            ic->quoted |= ic->field == ic->col;
            ic->q = 1;
            ic->closed = 0;
            continue;
        }
        ic->closed = 0;
        if (!ic->q && c == '\n') {
            if (ic->content)
                ids_add(ic, ic->buf, ic->len, ic->quoted);
            ic->content = ic->quoted = 0;
            ic->field = 0;
            ic->len = 0;
        } else if (!ic->q && c == '\r') {
            /* CRLF */
        } else if (!ic->q && c == ic->delim) {
            ic->content = 1;
            ic->field++;
        } else {
            ic->content = 1;
            if (ic->field == ic->col)
                id_putc(ic, c);
        }
    }
}

/* One whole line [p, e) without quotes. */
static void ids_line(id_count *ic, const char *p, const char *e)
{
    if (e > p && e[-1] == '\r')
        e--;
    if (e == p)
        return; /* blank */
    for (long k = 0; k < ic->col && p; k++) {
        p = memchr(p, ic->delim, (size_t)(e - p));
        p = p ? p + 1 : NULL;
    }
    if (!p) {
        ids_add(ic, "", 0, 0); /* too few fields: the reader will say so */
        return;
    }
    const char *f = memchr(p, ic->delim, (size_t)(e - p));
    ids_add(ic, p, (size_t)((f ? f : e) - p), 0);
}

/* The records of each id over the whole file. */
static int count_ids(FILE *f, id_count *ic)
{
    char *buf = malloc(PEEK_BYTES);
    if (!buf)
        return -1;
    size_t got;
    rewind(f);
    while ((got = fread(buf, 1, PEEK_BYTES, f)) > 0 && !ic->oom) {
        const char *p = buf, *end = buf + got;
        int no_quote = !memchr(p, '"', got);
        while (p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            const char *e = nl ? nl + 1 : end;
            if (no_quote && nl && !ic->q && !ic->content && !ic->field)
                ids_line(ic, p, nl); /* at a record's start: the line is the record */
            else
                ids_feed(ic, p, e);
            p = e;
        }
    }
    if (ic->content)
        ids_add(ic, ic->buf, ic->len, ic->quoted);
    int bad = ferror(f);
    free(buf);
    return bad || ic->oom ? -1 : 0;
}

typedef struct peek {
    char delim;
    record header, row1, row2;
    size_t n_records;  /* data records */
    size_t n_series;   /* long layout: distinct ids (0: not counted) */
    size_t min_series; /* long layout: records of the shortest series */
} peek;

static void peek_free(peek *pk)
{
    record_free(&pk->header);
    record_free(&pk->row1);
    record_free(&pk->row2);
}

/* Read the header and the first two records; count the records (and with id_name, the series
 * and their records). */
static int peek_file(const char *path, char delim, const char *id_name, peek *pk, tsf_err *err)
{
    memset(pk, 0, sizeof *pk);
    FILE *f = fopen(path, "rb");
    if (!f)
        TSF_FAIL(err, TSF_EIO, "cannot open %s", path);
    char *buf = malloc(PEEK_BYTES);
    int rc = TSF_OK;
    if (!buf) {
        fclose(f);
        TSF_FAIL(err, TSF_ENOMEM, "out of memory");
    }
    size_t n = fread(buf, 1, PEEK_BYTES, f);
    int at_eof = n < PEEK_BYTES;
    const char *p = buf, *end = buf + n;
    if (n >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3))
        p += 3;
    record *recs[3] = {&pk->header, &pk->row1, &pk->row2};
    for (int k = 0; k < 3; k++) {
        const char *e;
        while ((e = record_end(p, end, at_eof)) && e > p && blank(p, e))
            p = e;
        if (!e || e == p) {
            if (k == 0 && !e) {
                rc = tsf_err_set(err, TSF_EFORMAT,
                                 "%s: the header line is longer than %u bytes (expected a header "
                                 "line of column names)",
                                 path, PEEK_BYTES);
                goto done;
            }
            break;
        }
        if (k == 0)
            pk->delim = delim ? delim : detect_delimiter(p, e);
        if (split(p, e, pk->delim, recs[k]) != 0) {
            rc = tsf_err_set(err, TSF_ENOMEM, "out of memory");
            goto done;
        }
        p = e;
    }
    if (!pk->header.n) {
        rc = tsf_err_set(err, TSF_EFORMAT,
                         "%s is empty (expected a header line of column names, then rows)", path);
        goto done;
    }
    long id_col = -1;
    for (size_t i = 0; id_name && i < pk->header.n && id_col < 0; i++)
        if (!strcmp(pk->header.f[i], id_name))
            id_col = (long)i;
    if (id_col >= 0) {
        id_count ic = {.col = id_col, .delim = pk->delim, .last = SIZE_MAX};
        if (count_ids(f, &ic) != 0) {
            rc = ic.oom ? tsf_err_set(err, TSF_ENOMEM, "out of memory counting the series")
                        : tsf_err_set(err, TSF_EIO, "%s: read error", path);
            ids_free(&ic);
            goto done;
        }
        pk->n_series = ic.n_ids;
        pk->min_series = ic.n_ids ? SIZE_MAX : 0;
        for (size_t i = 0; i < ic.n_slots; i++) {
            if (!ic.slot[i].id)
                continue;
            pk->n_records += ic.slot[i].n;
            if (ic.slot[i].n < pk->min_series)
                pk->min_series = ic.slot[i].n;
        }
        ids_free(&ic);
    } else {
        size_t total;
        if (count_records(f, &total) != 0) {
            rc = tsf_err_set(err, TSF_EIO, "%s: read error", path);
            goto done;
        }
        pk->n_records = total ? total - 1 : 0;
    }
    if (!pk->n_records)
        rc = tsf_err_set(err, TSF_EFORMAT,
                         "%s has a header line but no rows (expected at least one row of values)",
                         path);
done:
    free(buf);
    fclose(f);
    if (rc != TSF_OK)
        peek_free(pk);
    return rc;
}

static long find_col(const record *h, const char *name)
{
    for (size_t i = 0; i < h->n; i++)
        if (!strcmp(h->f[i], name))
            return (long)i;
    return -1;
}

/* Fail naming the missing column, the file's columns and the closest one. */
static int no_such_column(tsf_stage_ctx *ctx, tsf_err *err, const char *key, const char *path,
                          const record *h, const char *name)
{
    char cols[512];
    size_t used = 0;
    cols[0] = '\0';
    for (size_t i = 0; i < h->n && used < sizeof cols; i++) {
        int k = snprintf(cols + used, sizeof cols - used, "%s%s", i ? ", " : "", h->f[i]);
        if (k > 0)
            used += (size_t)k;
    }
    const char *near = tsf_stage_suggest(ctx, name, (const char *const *)h->f, h->n);
    if (used >= sizeof cols)
        strcpy(cols + sizeof cols - 5, "...");
    if (near)
        return tsf_stage_fail_key(ctx, err, key, TSF_EINVAL,
                                  "%s has no column \"%s\" (did you mean \"%s\"? its columns: %s)",
                                  path, name, near, cols);
    return tsf_stage_fail_key(ctx, err, key, TSF_EINVAL,
                              "%s has no column \"%s\" (its columns: %s)", path, name, cols);
}

static char delimiter_char(int d)
{
    return d == DELIM_COMMA ? ',' : d == DELIM_SEMICOLON ? ';' : d == DELIM_TAB ? '\t' : 0;
}

static int listed(const tsf_strings *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->v[i], name))
            return 1;
    return 0;
}

static int check(tsf_stage_ctx *ctx, void *state, const tsf_meta *const *in, tsf_meta *const *out,
                 tsf_err *err)
{
    (void)in;
    const ingest_csv *s = state;
    int n_time = (s->time_column != NULL) + (s->time_position >= 0) + (s->no_time != 0);
    if (n_time > 1)
        return tsf_stage_fail_key(ctx, err, s->no_time ? "no_time" : "time_position", TSF_EINVAL,
                                  "time_column, time_position and no_time contradict each other "
                                  "(expected at most one of them)");
    tsf_meta *m = out[0];
    struct stat st;
    if (stat(s->path, &st) == 0 && !S_ISREG(st.st_mode)) {
        /* A pipe: opening it would wait for a writer, reading it would eat run's data. */
        int rc = tsf_meta_set_source(ctx, m, s->path);
        if (rc == TSF_OK)
            rc = tsf_meta_set_note(ctx, m,
                                   "%s, not a file: run reads it once, and checks its header and "
                                   "rows then",
                                   S_ISFIFO(st.st_mode) ? "a pipe" : "a device or socket");
        return rc;
    }
    peek pk;
    int rc = peek_file(s->path, delimiter_char(s->delimiter), s->id_column, &pk, err);
    if (rc != TSF_OK) {
        char msg[TSF_ERR_MSG_MAX];
        memcpy(msg, err->msg, sizeof msg);
        return tsf_stage_fail_key(ctx, err, "path", rc, "%s", msg);
    }
    long time_col = -1, id_col = -1;
    if (s->id_column) {
        id_col = find_col(&pk.header, s->id_column);
        if (id_col < 0) {
            rc = no_such_column(ctx, err, "id_column", s->path, &pk.header, s->id_column);
            goto done;
        }
    }
    if (s->time_column) {
        time_col = find_col(&pk.header, s->time_column);
        if (time_col < 0) {
            rc = no_such_column(ctx, err, "time_column", s->path, &pk.header, s->time_column);
            goto done;
        }
    } else if (s->time_position >= 0) {
        if ((size_t)s->time_position >= pk.header.n) {
            rc = tsf_stage_fail_key(ctx, err, "time_position", TSF_EINVAL,
                                    "%s has %zu columns, so there is no position %lld (expected "
                                    "0 to %zu)",
                                    s->path, pk.header.n, (long long)s->time_position,
                                    pk.header.n - 1);
            goto done;
        }
        time_col = (long)s->time_position;
    } else if (!s->no_time) {
        /* The reader's rule (lib/io/csv_read.c): the first column other than the id column,
         * unless listed as a value column, is time when its first value is an ISO 8601 time;
         * numeric epochs are never guessed. */
        size_t j = id_col == 0 ? 1 : 0;
        int64_t t;
        if (j < pk.header.n && j < pk.row1.n && !listed(&s->columns, pk.header.f[j]) &&
            tsf_time_parse_iso(pk.row1.f[j], strlen(pk.row1.f[j]), &t, NULL))
            time_col = (long)j;
    }
    for (size_t i = 0; i < s->columns.n; i++) {
        long c = find_col(&pk.header, s->columns.v[i]);
        if (c < 0) {
            rc = no_such_column(ctx, err, "columns", s->path, &pk.header, s->columns.v[i]);
            goto done;
        }
        if (c == time_col || c == id_col) {
            rc = tsf_stage_fail_key(ctx, err, "columns", TSF_EINVAL,
                                    "\"%s\" is the %s column of %s (expected value columns)",
                                    s->columns.v[i], c == time_col ? "time" : "id", s->path);
            goto done;
        }
    }
    if ((rc = tsf_meta_set_source(ctx, m, s->path)) != TSF_OK)
        goto done;
    const char **names = malloc((pk.header.n ? pk.header.n : 1) * sizeof *names);
    size_t n = 0;
    if (!names) {
        rc = TSF_ENOMEM;
        goto done;
    }
    if (s->columns.n) {
        for (size_t i = 0; i < s->columns.n; i++)
            names[n++] = s->columns.v[i];
    } else {
        for (size_t i = 0; i < pk.header.n; i++)
            if ((long)i != time_col && (long)i != id_col)
                names[n++] = pk.header.f[i];
    }
    rc = tsf_meta_set_columns(ctx, m, n, names);
    free(names);
    if (rc != TSF_OK)
        goto done;
    m->time_kind = time_col >= 0 ? TSF_TIME_EPOCH : TSF_TIME_INDEX;
    if (time_col < 0)
        m->step = 1;
    m->n_series = s->id_column ? (int64_t)pk.n_series : 1;
    if (s->gaps == GAPS_ERROR) { /* fill may add rows */
        m->rows = (int64_t)pk.n_records;
        m->min_series_rows = s->id_column ? (int64_t)pk.min_series : m->rows;
    }
    /* The step from the first two records when they are of one series (the reader takes the
     * most common difference; a first gap shows here, and run then refuses it or fills it). */
    int same_series = !s->id_column || (pk.row1.n > (size_t)id_col && pk.row2.n > (size_t)id_col &&
                                        !strcmp(pk.row1.f[id_col], pk.row2.f[id_col]));
    if (time_col >= 0 && same_series && pk.row2.n > (size_t)time_col &&
        pk.row1.n > (size_t)time_col) {
        int64_t t1, t2;
        const char *a = pk.row1.f[time_col], *b = pk.row2.f[time_col];
        if (tsf_time_parse_iso(a, strlen(a), &t1, NULL) &&
            tsf_time_parse_iso(b, strlen(b), &t2, NULL) && t2 > t1) {
            m->step = t2 - t1;
            m->time_kind = TSF_TIME_EPOCH;
        }
    }
done:
    peek_free(&pk);
    return rc;
}

static int run(tsf_stage_ctx *ctx, void *state, tsf_value *const *in, tsf_value *const *out,
               tsf_err *err)
{
    (void)in;
    const ingest_csv *s = state;
    tsf_csv_options opt;
    memset(&opt, 0, sizeof opt);
    tsf_csv_options_init(&opt);
    opt.delimiter = delimiter_char(s->delimiter);
    if (s->time_column)
        opt.time_column = s->time_column;
    else if (s->time_position >= 0)
        opt.time_index = (long)s->time_position;
    else if (s->no_time)
        opt.time_index = TSF_CSV_TIME_NONE;
    else
        opt.time_index = TSF_CSV_TIME_AUTO;
    opt.id_column = s->id_column;
    if (s->columns.n) {
        opt.columns = s->columns.v;
        opt.n_columns = s->columns.n;
    }
    if (s->na.n) {
        opt.na_tokens = s->na.v;
        opt.n_na_tokens = s->na.n;
    }
    opt.gaps = s->gaps == GAPS_FILL ? TSF_GAP_FILL : TSF_GAP_ERROR;
    opt.max_field = s->max_field;
    tsf_progress p = TSF_PROGRESS_INIT;
    p.what = "reading";
    tsf_stage_progress(ctx, &p);
    tsf_frame *f = NULL;
    tsf_csv_info info;
    memset(&info, 0, sizeof info);
    int rc = tsf_csv_read(&f, s->path, &opt, &info, err);
    if (rc != TSF_OK)
        return rc;
    if (tsf_stage_cancelled(ctx)) {
        tsf_frame_free(f);
        return tsf_err_set(err, TSF_ECANCEL, "interrupted");
    }
    tsf_stage_log(ctx, TSF_LOG_INFO,
                  "%s: %zu row%s, %zu column%s, %zu series, %zu missing value%s%s", s->path,
                  f->n_rows, f->n_rows == 1 ? "" : "s", f->n_cols, f->n_cols == 1 ? "" : "s",
                  f->n_series, info.n_missing, info.n_missing == 1 ? "" : "s",
                  info.n_filled ? " (gaps filled)" : "");
    return tsf_value_set(ctx, out[0], f, tsf_free_frame);
}

const tsf_stage_def tsf_stage_ingest_csv = {
    .abi = TSF_STAGE_ABI_VERSION,
    .name = "ingest.csv",
    .summary = "read a CSV file into a frame",
    .help = "Reads a CSV file with a header line: wide (a time column and value columns) or long "
            "(an id column naming the series, a time column, value columns). Timestamps may be "
            "ISO 8601 dates or date-times, or numeric epochs. Missing values become NaN.",
    .state_size = sizeof(ingest_csv),
    .options = options,
    .outputs = outputs,
    .check = check,
    .run = run,
};
