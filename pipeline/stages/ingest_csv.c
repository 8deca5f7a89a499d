/* ingest.csv: read a CSV file into a frame (tsf_csv_read), every tsf_csv_options field an option.
 *
 * check is cheap but looks at the file: it reads the header and the first two records (column
 * names, delimiter, whether the first column is time, the step) and counts the records with a
 * quote-aware newline scan (memchr speed when a block holds no quote), so that later stages can
 * check lengths (lookback + horizon, folds) before anything runs. The reader itself still
 * validates everything at run time. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
     .flags = TSF_OPT_REQUIRED,
     .help = "the CSV file to read"},
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

typedef struct peek {
    char delim;
    record header, row1, row2;
    size_t n_records; /* data records */
} peek;

static void peek_free(peek *pk)
{
    record_free(&pk->header);
    record_free(&pk->row1);
    record_free(&pk->row2);
}

static int peek_file(const char *path, char delim, peek *pk, tsf_err *err)
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
    size_t total;
    if (count_records(f, &total) != 0) {
        rc = tsf_err_set(err, TSF_EIO, "%s: read error", path);
        goto done;
    }
    pk->n_records = total ? total - 1 : 0;
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

static int looks_numeric(const char *s)
{
    if (!*s)
        return 0;
    char *end;
    strtod(s, &end);
    return *end == '\0';
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
    peek pk;
    int rc = peek_file(s->path, delimiter_char(s->delimiter), &pk, err);
    if (rc != TSF_OK) {
        char msg[TSF_ERR_MSG_MAX];
        memcpy(msg, err->msg, sizeof msg);
        return tsf_stage_fail_key(ctx, err, "path", rc, "%s", msg);
    }
    tsf_meta *m = out[0];
    long time_col = -1, id_col = -1;
    int time_known = 1;
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
    } else if (!s->no_time && pk.row1.n) {
        int64_t t;
        const char *v = pk.row1.f[0];
        if (tsf_time_parse_iso(v, strlen(v), &t, NULL))
            time_col = 0;
        else if (looks_numeric(v))
            time_known = 0; /* an epoch or a value: the reader decides */
    }
    if (s->id_column) {
        id_col = find_col(&pk.header, s->id_column);
        if (id_col < 0) {
            rc = no_such_column(ctx, err, "id_column", s->path, &pk.header, s->id_column);
            goto done;
        }
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
    if (time_known) {
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
    }
    if (s->gaps == GAPS_ERROR) {
        m->rows = (int64_t)pk.n_records;
        if (!s->id_column) {
            m->n_series = 1;
            m->min_series_rows = m->rows;
        }
    }
    if (time_col >= 0 && !s->id_column && pk.row2.n > (size_t)time_col &&
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
    tsf_stage_log(ctx, TSF_LOG_INFO, "%s: %zu rows, %zu columns, %zu series, %zu missing values%s",
                  s->path, f->n_rows, f->n_cols, f->n_series, info.n_missing,
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
