/* CSV reader: streams a file through libcsv's callback parser into a frame.
 *
 * Memory is the frame plus a constant: the file is read in 64 KiB blocks and never held
 * whole. Per series the reader keeps its last timestamp and line (long layouts), and a list of
 * "line checkpoints" (records whose line is not the previous record's plus one: blank lines,
 * quoted newlines) so that errors found after reading can still name lines. A long file whose
 * series interleave also needs one uint32 per row (its series) and, while regrouping, one
 * column-sized scratch array.
 *
 * Parsing. Blocks are cut at their last newline. A block that starts at a record boundary and
 * holds no quote character cannot contain any of the constructs that need a state machine, so
 * it is split by a plain scan (split_plain) that yields exactly the fields libcsv would: fields
 * end at the delimiter, records at CR or LF, blank lines are skipped and unquoted fields lose
 * their leading and trailing spaces and tabs. Every other block goes through libcsv in strict
 * mode. The plain scan exists for speed (libcsv alone runs at about 1.7x pandas' speed on
 * ETTm1, below the 2x goal); tests read every fixture both ways (tsf__csv_force_libcsv).
 *
 * Decisions:
 * - Line numbers count LF, CRLF and lone CR as one line break; "col" in messages is the
 *   1-based field number within the record.
 * - Time column. TSF_CSV_TIME_AUTO takes the first column (other than the id column, and not
 *   one listed in opt->columns) when its first value is an ISO 8601 timestamp; otherwise there
 *   is no time column and rows get an integer index. A column named (or given by position)
 *   holds ISO 8601 timestamps or integer epoch seconds, decided by its first value; numeric
 *   epochs are never guessed. Zones are converted to UTC; mixing values with and without a
 *   zone is an error.
 * - The step is the most common positive difference between consecutive timestamps over all
 *   series (ties: the smallest). A difference that is not a multiple of it is an error; a
 *   multiple larger than one step is a gap (TSF_GAP_ERROR: error, TSF_GAP_FILL: NaN rows).
 * - "inf", "-inf", "infinity" (any case) are read as infinities, as pandas does; deciding that
 *   a model cannot train on them is a later stage's job. "nan" is a missing-value token.
 * - Header names: spaces around unquoted names are trimmed (libcsv); an empty name becomes
 *   "Unnamed: <j>" as in pandas; duplicate names are an error; names must be UTF-8.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csv.h>

#include "core.h"
#include "csv_internal.h"
#include "tsflow/io.h"
#include "tsflow/tz.h"

#define BLOCK (64 * 1024)
#define SHOW_MAX 40                 /* bytes of offending text quoted in a message */
#define SHOW_BUF (4 * SHOW_MAX + 8) /* room for them, escaped and quoted */

int tsf__csv_force_libcsv = 0;

static const char *const default_na[] = {"", "NA", "NaN", "nan", "null"};

void tsf_csv_options_init(tsf_csv_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->time_index = TSF_CSV_TIME_AUTO;
    opt->gaps = TSF_GAP_ERROR;
}

enum role { ROLE_SKIP, ROLE_TIME, ROLE_ID, ROLE_VALUE };
enum time_mode {
    TIME_NONE,   /* no value seen yet */
    TIME_TEXT,   /* tsf_time_parse_text: ISO 8601, months, quarters */
    TIME_FORMAT, /* opt->time_format */
    TIME_DMY,    /* day/month/year or month/day/year: both readings kept until one is ruled out */
    TIME_INT,    /* integers, per opt->time_unit (years when that is TSF_TIME_UNIT_AUTO) */
};

const char *const tsf_time_unit_names[TSF_TIME_UNIT_COUNT] = {"auto", "s",    "ms",    "us",
                                                              "ns",   "year", "index", "d"};

#define TIME_FORMS                                                                                 \
    "understood without options: ISO 8601 such as 2016-07-01, 2016-07-01 13:45:00 or "             \
    "2016-07-01T13:45:00+02:00, months such as 1949-01, quarters such as 1960Q1 or 1960 Q1, "      \
    "years such as 1871, and dates such as 31/01/2020 or 01/31/2020 when the column shows the "    \
    "day/month order; set time_format (e.g. %d.%m.%Y) for other forms, or time_unit for "          \
    "integers"

typedef struct series {
    char *id;
    size_t id_len;
    int64_t last_t;
    size_t last_line; /* line of the series' latest record */
    size_t n;         /* rows so far */
    size_t first_row; /* file-order row of its first record */
} series;

typedef struct reader {
    const char *path;
    tsf_err *err;
    int failed;
    char delim;
    size_t max_field;
    tsf_gap_policy gaps;
    const tsf_csv_options *opt;

    /* missing-value tokens */
    const char *const *na;
    size_t n_na;
    size_t na_len[64];
    int na_first; /* a token reads as a number: check tokens before parsing */

    /* position */
    size_t line;        /* line where the next field starts (1-based) */
    size_t rec_line;    /* line where the current record started */
    size_t field;       /* index of the next field in the current record */
    int cr_pending;     /* libcsv reported a CR and nothing since: a following LF is its pair */
    size_t n_missing;   /* missing values */
    size_t n_records;   /* data records */
    int last_byte_nl;   /* the file's last byte was CR or LF */
    int in_header;      /* the next record is the header */
    int roles_ready;    /* roles decided (after the first data field) */
    int auto_done;      /* TSF_CSV_TIME_AUTO has been resolved */
    const char *last_s; /* the latest field (valid until the record ends), for messages */
    size_t last_n;

    /* header */
    char **names;
    size_t width;
    unsigned char *roles; /* (width) enum role */
    size_t *col_of;       /* (width) frame column of a ROLE_VALUE field */
    long time_field, id_field;
    enum time_mode time_mode;
    int zone;         /* -1 unknown, 0 timestamps without zone, 1 with */
    size_t zone_line; /* line of the first timestamp (for the mixed-zone message) */
    char zone_text[SHOW_BUF];
    int32_t off0, off1; /* UTC offsets of the first timestamp and of the first other one */
    size_t off1_line;   /* line of that other one (0: none yet) */
    char off1_text[SHOW_BUF];
    tsf_tz *tz; /* opt->tz, or the fixed offset all timestamps wrote; NULL: times without zone */
    size_t time_line0;  /* line of the first time value */
    tsf_time_form form; /* TIME_TEXT: the form of the first value */
    int rownames;       /* field 0 is R's unnamed row-name column, field 1 may be time */
    /* TIME_DMY: the day-first reading of each file-order row (f->time holds the month-first
     * one, or the day-first one where month-first is not a date), whether each order is still
     * possible, and the first line whose readings differ */
    int64_t *alt, rec_alt;
    int could_mdy, could_dmy;
    size_t dmy_line;
    char dmy_text[SHOW_BUF];
    tsf_freq *series_freq; /* (n_ser) each series' frequency, when they differ */

    /* the record being read */
    int64_t rec_t;
    char *id_buf;
    size_t id_len, id_cap;

    /* output */
    tsf_frame *f;

    /* series (one unnamed series in a wide layout) */
    series *ser;
    size_t n_ser, cap_ser;
    size_t *slot; /* open-addressing table of series indices + 1, 0 = empty */
    size_t n_slot;
    size_t cur;        /* series of the previous record */
    int interleaved;   /* some series' records are not contiguous */
    uint32_t *row_ser; /* (capacity) series of each file-order row, once interleaved */

    /* line checkpoints: record ck_rec[i] starts at line ck_line[i]; records in between
     * follow one line apart */
    size_t *ck_rec, *ck_line;
    size_t n_ck, cap_ck;
    size_t prev_rec_line;
    size_t n_filled; /* rows inserted by TSF_GAP_FILL */

    /* tsf_csv_peek_read: fields are kept as text (the first peek_max records), ids counted,
     * values and timestamps not parsed */
    tsf_csv_peek *peek;
    size_t peek_max;
} reader;

/* ---- messages ----------------------------------------------------------------------------- */

static int utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t k;
        unsigned min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            k = 1;
            min = 0x80;
            c &= 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            k = 2;
            min = 0x800;
            c &= 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            k = 3;
            min = 0x10000;
            c &= 0x07;
        } else {
            return 0;
        }
        if (n - i <= k) /* truncated sequence */
            return 0;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xC0) != 0x80)
                return 0;
            c = (c << 6) | (s[i + j] & 0x3F);
        }
        if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
            return 0;
        i += k + 1;
    }
    return 1;
}

/* Quote s[0..n) for a message: at most SHOW_MAX bytes, escapes for control bytes, quotes and
 * backslashes, and for bytes >= 0x80 unless the text is valid UTF-8. out needs 4 * SHOW_MAX
 * + 8 bytes. */
static const char *show(char *out, const char *s, size_t n)
{
    size_t m = n > SHOW_MAX ? SHOW_MAX : n;
    int utf8 = utf8_valid((const unsigned char *)s, m);
    char *o = out;
    *o++ = '"';
    for (size_t i = 0; i < m; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            *o++ = '\\';
            *o++ = (char)c;
        } else if (c < 0x20 || c == 0x7F || (c >= 0x80 && !utf8)) {
            o += sprintf(o, "\\x%02x", c);
        } else {
            *o++ = (char)c;
        }
    }
    if (m < n) {
        memcpy(o, "...", 3);
        o += 3;
    }
    *o++ = '"';
    *o = '\0';
    return out;
}

/* Record an error at line:col of the file (once) and stop the reader. */
static void fail_at(reader *r, int code, size_t line, size_t col, const char *fmt, ...)
    TSF_PRINTF(5, 6);
static void fail_at(reader *r, int code, size_t line, size_t col, const char *fmt, ...)
{
    if (r->failed)
        return;
    r->failed = code;
    char msg[TSF_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (col)
        tsf_err_set(r->err, code, "%s:%zu:%zu: %s", r->path, line, col, msg);
    else if (line)
        tsf_err_set(r->err, code, "%s:%zu: %s", r->path, line, msg);
    else
        tsf_err_set(r->err, code, "%s: %s", r->path, msg);
}

static const char *col_name(const reader *r, size_t j)
{
    return j < r->width && r->names ? r->names[j] : "?";
}

/* The missing-value tokens as a list for messages: "", "NA", ... */
static void na_list(const reader *r, char *out, size_t n)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < r->n_na && used + 8 < n; i++) {
        char q[SHOW_BUF];
        int k =
            snprintf(out + used, n - used, "%s%s", i ? ", " : "", show(q, r->na[i], r->na_len[i]));
        if (k < 0 || (size_t)k >= n - used)
            break;
        used += (size_t)k;
    }
}

/* ---- header ------------------------------------------------------------------------------- */

static size_t find_name(const reader *r, const char *name)
{
    for (size_t j = 0; j < r->width; j++)
        if (strcmp(r->names[j], name) == 0)
            return j;
    return (size_t)-1;
}

/* "a", "b", "c" (the header's names, skipping `except`), for unknown-name messages. */
static void name_list(const reader *r, char *out, size_t n)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t j = 0; j < r->width; j++) {
        int k = snprintf(out + used, n - used, "%s\"%s\"", used ? ", " : "", r->names[j]);
        if (k < 0 || (size_t)k >= n - used) {
            if (n > 4)
                memcpy(out + (used < n - 4 ? used : n - 4), "...", 4);
            return;
        }
        used += (size_t)k;
    }
}

static void header_field(reader *r, const char *s, size_t n)
{
    size_t j = r->width;
    char **names = realloc(r->names, (j + 1) * sizeof *names);
    if (!names) {
        fail_at(r, TSF_ENOMEM, 0, 0, "out of memory reading the header");
        return;
    }
    r->names = names;
    char q[SHOW_BUF];
    if (!utf8_valid((const unsigned char *)s, n)) {
        fail_at(r, TSF_EFORMAT, r->line, j + 1,
                "%s: column name is not valid UTF-8 (expected a text header line naming the "
                "columns)",
                show(q, s, n));
        return;
    }
    if (memchr(s, '\0', n)) {
        fail_at(r, TSF_EFORMAT, r->line, j + 1,
                "%s: column name contains a NUL byte (expected a text header line)", show(q, s, n));
        return;
    }
    char unnamed[32];
    if (n == 0) { /* pandas' name for an empty header field */
        n = (size_t)snprintf(unnamed, sizeof unnamed, "Unnamed: %zu", j);
        s = unnamed;
    }
    char *name = malloc(n + 1);
    if (!name) {
        fail_at(r, TSF_ENOMEM, 0, 0, "out of memory reading the header");
        return;
    }
    memcpy(name, s, n);
    name[n] = '\0';
    r->names[j] = name;
    r->width = j + 1;
}

static uint64_t hash_id(const char *s, size_t n);

/* Refuse a duplicate column name, naming both columns. A hash table (open addressing, at most
 * half full) keeps this linear: comparing every pair took a minute on 200,000 columns. */
static void check_unique_names(reader *r)
{
    size_t n_slot = 16;
    while (n_slot < 2 * r->width)
        n_slot *= 2;
    size_t *slot = calloc(n_slot, sizeof *slot); /* column + 1, 0 = empty */
    if (!slot) {
        fail_at(r, TSF_ENOMEM, 0, 0, "out of memory reading the header");
        return;
    }
    for (size_t j = 0; j < r->width; j++) {
        size_t h = (size_t)hash_id(r->names[j], strlen(r->names[j])) & (n_slot - 1);
        for (; slot[h]; h = (h + 1) & (n_slot - 1)) {
            size_t k = slot[h] - 1;
            if (strcmp(r->names[j], r->names[k]) == 0) {
                fail_at(r, TSF_EFORMAT, r->rec_line, j + 1,
                        "duplicate column name \"%s\" (also column %zu) (expected unique names)",
                        r->names[j], k + 1);
                free(slot);
                return;
            }
        }
        slot[h] = j + 1;
    }
    free(slot);
}

static void header_done(reader *r)
{
    check_unique_names(r);
    if (r->failed)
        return;
    r->roles = calloc(r->width, 1);
    r->col_of = calloc(r->width, sizeof *r->col_of);
    if (!r->roles || !r->col_of) {
        fail_at(r, TSF_ENOMEM, 0, 0, "out of memory reading the header");
        return;
    }
    const tsf_csv_options *opt = r->opt;
    char list[768];
    r->id_field = -1;
    if (opt->id_column) {
        size_t j = find_name(r, opt->id_column);
        if (j == (size_t)-1) {
            name_list(r, list, sizeof list);
            fail_at(r, TSF_EFORMAT, r->rec_line, 0,
                    "unknown id column \"%s\" (expected one of the header's columns: %s)",
                    opt->id_column, list);
            return;
        }
        r->id_field = (long)j;
    }
    r->time_field = -1;
    if (opt->time_column) {
        size_t j = find_name(r, opt->time_column);
        if (j == (size_t)-1) {
            name_list(r, list, sizeof list);
            fail_at(r, TSF_EFORMAT, r->rec_line, 0,
                    "unknown time column \"%s\" (expected one of the header's columns: %s)",
                    opt->time_column, list);
            return;
        }
        r->time_field = (long)j;
    } else if (opt->time_index >= 0) {
        if ((size_t)opt->time_index >= r->width) {
            fail_at(r, TSF_EINVAL, r->rec_line, 0,
                    "time column %ld is out of range: the header has %zu columns (expected a "
                    "0-based position below %zu)",
                    opt->time_index, r->width, r->width);
            return;
        }
        r->time_field = opt->time_index;
    } else if (opt->time_index != TSF_CSV_TIME_AUTO && opt->time_index != TSF_CSV_TIME_NONE) {
        fail_at(r, TSF_EINVAL, 0, 0,
                "time_index %ld is not a position, TSF_CSV_TIME_AUTO or TSF_CSV_TIME_NONE",
                opt->time_index);
        return;
    }
    if (r->time_field >= 0 && r->time_field == r->id_field) {
        fail_at(r, TSF_EINVAL, r->rec_line, 0,
                "column \"%s\" cannot be both the time and the id column", r->names[r->time_field]);
        return;
    }
    for (size_t k = 0; k < opt->n_columns; k++) {
        const char *c = opt->columns[k];
        size_t j = find_name(r, c);
        if (j == (size_t)-1) {
            name_list(r, list, sizeof list);
            fail_at(r, TSF_EFORMAT, r->rec_line, 0,
                    "unknown column \"%s\" (expected one of the header's columns: %s)", c, list);
            return;
        }
        if ((long)j == r->time_field || (long)j == r->id_field) {
            fail_at(r, TSF_EINVAL, r->rec_line, j + 1,
                    "column \"%s\" is the %s column (expected a value column)", c,
                    (long)j == r->time_field ? "time" : "id");
            return;
        }
        if (r->roles[j] == ROLE_VALUE) {
            fail_at(r, TSF_EINVAL, 0, 0, "column \"%s\" is selected twice", c);
            return;
        }
        r->roles[j] = ROLE_VALUE;
    }
}

static void value_field(reader *r, size_t j, const char *s, size_t n);
static void id_field(reader *r, const char *s, size_t n);

/* Both readings of a day/month/year date "a/b/yyyy" (also '.' and '-', as spreadsheets write
 * 14-08-2018; an optional " HH:MM[:SS[.f]]"),
 * or of "yyyy/mm/dd": bit 1 when month-first (*mdy) is a date, bit 2 when day-first (*dmy). */
static int parse_dmy(const char *s, size_t n, int64_t *mdy, int64_t *dmy)
{
    const char *p = s, *end = s + n;
    unsigned v[3], k = 0, len[3];
    char sep = 0;
    for (; k < 3; k++) {
        const char *q = p;
        v[k] = 0;
        while (p < end && *p >= '0' && *p <= '9' && p - q < 4)
            v[k] = v[k] * 10 + (unsigned)(*p++ - '0');
        len[k] = (unsigned)(p - q);
        if (!len[k])
            return 0;
        if (k == 2)
            break;
        if (p >= end || (*p != '/' && *p != '.' && *p != '-') || (sep && *p != sep))
            return 0;
        sep = *p++;
    }
    char rest[24] = "00:00:00"; /* " HH:MM:SS" and a fraction of up to 9 digits */
    size_t nr = (size_t)(end - p);
    if (nr) {
        if (nr > 19 || (*p != ' ' && *p != 'T'))
            return 0;
        memcpy(rest, p + 1, nr - 1);
        rest[nr - 1] = '\0';
    }
    int64_t tod;
    char iso[40];
    if (snprintf(iso, sizeof iso, "1970-01-01 %s", rest) >= (int)sizeof iso ||
        tsf_time_parse_iso(iso, strlen(iso), &tod, NULL) != 1)
        return 0;
    char d1[16];
    int ok = 0;
    if (len[0] == 4 && len[1] <= 2 && len[2] <= 2) { /* yyyy/mm/dd: one reading */
        snprintf(d1, sizeof d1, "%04u-%02u-%02u", v[0], v[1], v[2]);
        if (tsf_time_parse_iso(d1, 10, mdy, NULL)) {
            *dmy = *mdy;
            ok = 3;
        }
    } else if (len[0] <= 2 && len[1] <= 2 && len[2] == 4) {
        snprintf(d1, sizeof d1, "%04u-%02u-%02u", v[2], v[0] % 100, v[1] % 100);
        if (tsf_time_parse_iso(d1, 10, mdy, NULL))
            ok |= 1;
        snprintf(d1, sizeof d1, "%04u-%02u-%02u", v[2], v[1] % 100, v[0] % 100);
        if (tsf_time_parse_iso(d1, 10, dmy, NULL))
            ok |= 2;
    }
    if (ok & 1)
        *mdy += tod;
    if (ok & 2)
        *dmy += tod;
    return ok;
}

static int parse_int(const char *s, size_t n, int64_t *v)
{
    size_t i = 0;
    int neg = 0;
    if (n && (s[0] == '-' || s[0] == '+')) {
        neg = s[0] == '-';
        i = 1;
    }
    if (i == n || n - i > 19) /* epoch nanoseconds today have 19 digits */
        return 0;
    uint64_t x = 0;
    for (; i < n; i++) {
        if ((unsigned)(s[i] - '0') >= 10)
            return 0;
        x = x * 10 + (uint64_t)(s[i] - '0');
    }
    if (x > (uint64_t)INT64_MAX)
        return 0;
    *v = neg ? -(int64_t)x : (int64_t)x;
    return 1;
}

static int plausible_year(int64_t v)
{
    return v >= 1000 && v <= 2999;
}

static int time_name(const char *name)
{
    static const char *const names[] = {"year",  "years",    "yr",        "date",
                                        "time",  "datetime", "timestamp", "period",
                                        "month", "quarter",  "ds"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcasecmp(name, names[i]))
            return 1;
    return 0;
}

int tsf_csv_looks_like_time(const char *name, const char *value, size_t len,
                            const tsf_csv_options *opt)
{
    int64_t t, u;
    while (len && (value[0] == ' ' || value[0] == '\t'))
        value++, len--;
    while (len && (value[len - 1] == ' ' || value[len - 1] == '\t'))
        len--;
    if (opt && opt->time_format)
        return tsf_time_parse_format(opt->time_format, value, len, &t);
    if (tsf_time_parse_text(value, len, &t, NULL, NULL) || parse_dmy(value, len, &t, &u))
        return 1;
    return parse_int(value, len, &t) &&
           ((opt && opt->time_unit != TSF_TIME_UNIT_AUTO) || (name && time_name(name)));
}

/* Decide the roles at the first data field (the time column of TSF_CSV_TIME_AUTO depends on
 * its first value) and allocate the frame. */
static void setup_roles(reader *r, const char *first, size_t n_first)
{
    const tsf_csv_options *opt = r->opt;
    if (!r->auto_done && !opt->time_column && opt->time_index == TSF_CSV_TIME_AUTO) {
        r->auto_done = 1;
        size_t j = r->id_field == 0 ? 1 : 0;
        if (j < r->width && r->roles[j] != ROLE_VALUE) {
            /* This runs at field 0. When the id is field 0, the candidate is field 1 and its
             * first value comes next: decide_auto_second() settles it (-2 until then). So it
             * is when field 0 is R's row names (an empty header name, as write.csv writes it,
             * or "rownames", as the Rdatasets collection does, over values that are no time)
             * and field 1 is not a listed value column. */
            if (j == 0 && tsf_csv_looks_like_time(r->names[0], first, n_first, opt))
                r->time_field = 0;
            else if (j == 1)
                r->time_field = -2;
            else if (r->width > 1 &&
                     (!strcmp(r->names[0], "Unnamed: 0") || !strcmp(r->names[0], "rownames")) &&
                     r->roles[1] != ROLE_VALUE) {
                r->time_field = -2;
                r->rownames = 1;
            }
        }
    }
    size_t n_cols = 0;
    if (opt->n_columns)
        n_cols = opt->n_columns;
    else
        for (size_t j = 0; j < r->width; j++)
            if ((long)j != r->time_field && (long)j != r->id_field &&
                !(r->time_field == -2 && j == 1) && !(r->rownames && j == 0))
                n_cols++;
    const char **cn = calloc(n_cols ? n_cols : 1, sizeof *cn);
    if (!cn) {
        fail_at(r, TSF_ENOMEM, 0, 0, "out of memory");
        return;
    }
    if (opt->n_columns) {
        for (size_t k = 0; k < opt->n_columns; k++) {
            size_t j = find_name(r, opt->columns[k]);
            r->col_of[j] = k;
            cn[k] = r->names[j];
        }
    } else {
        size_t k = 0;
        for (size_t j = 0; j < r->width; j++)
            if ((long)j != r->time_field && (long)j != r->id_field &&
                !(r->time_field == -2 && j == 1) && !(r->rownames && j == 0)) {
                r->roles[j] = ROLE_VALUE;
                r->col_of[j] = k;
                cn[k++] = r->names[j];
            }
    }
    if (r->time_field >= 0)
        r->roles[r->time_field] = ROLE_TIME;
    if (r->id_field >= 0)
        r->roles[r->id_field] = ROLE_ID;
    int rc = tsf_frame_alloc(&r->f, n_cols, cn, 1024, r->err);
    free(cn);
    if (rc != TSF_OK) {
        r->failed = rc;
        return;
    }
    r->roles_ready = 1;
}

/* TSF_CSV_TIME_AUTO with field 1 as the candidate (the id or R's row names in field 0): field
 * 1 is the time column if its first value is a time, else a value column (the frame is re-made
 * with it, and with field 0 as a value when it was taken for row names). */
static void decide_auto_second(reader *r, const char *s, size_t n)
{
    if (tsf_csv_looks_like_time(r->names[1], s, n, r->opt)) {
        r->time_field = 1;
        r->roles[1] = ROLE_TIME;
        return;
    }
    r->time_field = -1; /* no time column: re-make the frame with field 1 as a value */
    int rownames = r->rownames;
    r->rownames = 0;
    tsf_frame_free(r->f);
    r->f = NULL;
    r->roles_ready = 0;
    setup_roles(r, s, n);
    if (!r->failed && rownames && !r->peek && r->roles[0] == ROLE_VALUE) /* went by already */
        value_field(r, 0, r->id_buf, r->id_len);
}

/* ---- fields ------------------------------------------------------------------------------- */

static int is_na(const reader *r, const char *s, size_t n)
{
    for (size_t i = 0; i < r->n_na; i++)
        if (r->na_len[i] == n && memcmp(r->na[i], s, n) == 0)
            return 1;
    return 0;
}

/* Quoted fields keep their blanks (libcsv trims only unquoted ones): numbers and timestamps
 * do not care, as in pandas. */
static void trim(const char **s, size_t *n)
{
    while (*n && ((*s)[0] == ' ' || (*s)[0] == '\t')) {
        (*s)++;
        (*n)--;
    }
    while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
        (*n)--;
}

/* A value that is no number: say what it looks like and which option reads it. A time in a
 * column that is not the time column needs that column named (or, when tsflow did not know it
 * as a time, its format); text needs the column named as the id column or left out. */
static void not_a_number(reader *r, size_t j, const char *s, size_t n)
{
    char q[SHOW_BUF], list[256];
    const char *name = col_name(r, j);
    /* the time hints only when tsflow looked for a time column and found none */
    const tsf_csv_options *o = r->opt;
    int has_time = r->time_field >= 0 || o->time_index != TSF_CSV_TIME_AUTO || o->time_column;
    if (tsf_csv_looks_like_time(name, s, n, r->opt) && !has_time) {
        fail_at(r, TSF_EFORMAT, r->line, j + 1,
                "%s in column \"%s\" is a time, but tsflow takes the first column as the time "
                "only when its values are times (expected time_column = %s, --time-column %s)",
                show(q, s, n), name, name, name);
    } else if (time_name(name) && !has_time) {
        fail_at(r, TSF_EFORMAT, r->line, j + 1,
                "%s in column \"%s\" is neither a number nor a time tsflow reads without a "
                "format (%s; with time_column = %s)",
                show(q, s, n), name, TIME_FORMS, name);
    } else if (j == 0 && r->f->n_rows == 0 && r->id_field < 0 && !time_name(name) &&
               !tsf_csv_looks_like_time(name, s, n, o)) {
        /* text in the first column from the first row on: most often the series' names */
        na_list(r, list, sizeof list);
        fail_at(r, TSF_EFORMAT, r->line, j + 1,
                "%s is not a number in column \"%s\" (expected a decimal number such as -1.5e3, "
                "inf, or a missing-value token: %s; a text column that names each row's series "
                "is the id column, id_column = %s (--id-column %s); list the value columns in "
                "columns to leave other text out)",
                show(q, s, n), name, list, name, name);
    } else {
        na_list(r, list, sizeof list);
        fail_at(r, TSF_EFORMAT, r->line, j + 1,
                "%s is not a number in column \"%s\" (expected a decimal number such as -1.5e3, "
                "inf, or a missing-value token: %s)",
                show(q, s, n), name, list);
    }
}

static void value_field(reader *r, size_t j, const char *s, size_t n)
{
    double v;
    if (n && (s[0] == ' ' || s[n - 1] == ' ' || s[0] == '\t' || s[n - 1] == '\t'))
        trim(&s, &n);
    if (r->na_first && is_na(r, s, n)) {
        v = NAN;
        r->n_missing++;
    } else if (!tsf__parse_double(s, n, &v)) {
        if (!is_na(r, s, n)) {
            not_a_number(r, j, s, n);
            return;
        }
        v = NAN;
        r->n_missing++;
    }
    r->f->cols[r->col_of[j]][r->f->n_rows] = v;
}

/* The instant month m of year y starts at (UTC). */
static int64_t month_start(int64_t y, int m)
{
    return tsf__days_from_civil(y, m, 1) * TSF_US_PER_DAY;
}

/* R's time() of a monthly or quarterly ts, as write.csv writes it beside the years of the
 * whole periods: year + (month - 1) / 12 with R's 15 significant digits (1949.08333333333;
 * quarters are 1960.25, ...). Only in a column of years (time_unit unset). */
static int r_ts_time(const char *s, size_t n, int64_t *t)
{
    double v;
    if (!tsf__parse_double(s, n, &v) || !(v >= 1000 && v < 3000))
        return 0;
    double y = floor(v), m = (v - y) * 12;
    if (fabs(m - round(m)) > 1e-6 * 12)
        return 0;
    *t = month_start((int64_t)y, 1 + (int)round(m));
    return 1;
}

/* An integer time per opt->time_unit (years when it is TSF_TIME_UNIT_AUTO), in microseconds. */
static void int_time(reader *r, size_t j, const char *s, size_t n, int64_t v)
{
    char q[SHOW_BUF];
    /* microseconds per unit, by tsf_time_unit: auto, s, ms, us, ns (below), year, index, day */
    static const int64_t us_per[] = {0, TSF_US_PER_S, TSF_US_PER_MS, 1, 0, 0, 0, TSF_US_PER_DAY};
    tsf_time_unit u = r->opt->time_unit;
    switch (u) {
    case TSF_TIME_UNIT_AUTO:
    case TSF_TIME_UNIT_YEAR:
        if (u == TSF_TIME_UNIT_AUTO && !plausible_year(v)) {
            fail_at(r, TSF_EFORMAT, r->line, j + 1,
                    "%s in time column \"%s\" is an integer but not a year (expected years "
                    "1000 to 2999 in every row; set time_unit = s, ms, us, ns, year or index to "
                    "say what the integers of \"%s\" count)",
                    show(q, s, n), col_name(r, j), col_name(r, j));
            return;
        }
        if (v < -999999 || v > 999999) {
            fail_at(r, TSF_EFORMAT, r->line, j + 1,
                    "%s in time column \"%s\" is not a year (expected -999999 to 999999 with "
                    "time_unit = year)",
                    show(q, s, n), col_name(r, j));
            return;
        }
        r->rec_t = month_start(v, 1);
        return;
    case TSF_TIME_UNIT_INDEX:
        r->rec_t = v;
        return;
    case TSF_TIME_UNIT_NS:
        if (v % 1000 != 0) {
            fail_at(r, TSF_EFORMAT, r->line, j + 1,
                    "%s in time column \"%s\" is not a whole microsecond with time_unit = ns "
                    "(expected nanoseconds that are multiples of 1000: one microsecond is "
                    "tsflow's resolution, and it never rounds a time)",
                    show(q, s, n), col_name(r, j));
            return;
        }
        r->rec_t = v / 1000;
        return;
    default:
        if (v < -INT64_MAX / us_per[u] || v > INT64_MAX / us_per[u]) {
            fail_at(r, TSF_EFORMAT, r->line, j + 1,
                    "%s in time column \"%s\" is out of range with time_unit = %s (expected "
                    "an instant within 292,000 years of 1970)",
                    show(q, s, n), col_name(r, j), tsf_time_unit_names[u]);
            return;
        }
        r->rec_t = v * us_per[u];
        return;
    }
}

static tsf_time_kind time_kind_of(const reader *r)
{
    if (r->time_field < 0 || r->time_mode == TIME_NONE ||
        (r->time_mode == TIME_INT && r->opt->time_unit == TSF_TIME_UNIT_INDEX))
        return TSF_TIME_INDEX;
    return TSF_TIME_EPOCH;
}

/* Whether the times read are local wall-clock times to resolve in opt->tz after reading: text
 * without an offset, dates and years; integer epochs and times with offsets are instants. */
static int times_local(const reader *r)
{
    if (!r->opt->tz || r->time_field < 0)
        return 0;
    switch (r->time_mode) {
    case TIME_TEXT:
        return r->zone == 0;
    case TIME_INT:
        return r->opt->time_unit == TSF_TIME_UNIT_AUTO || r->opt->time_unit == TSF_TIME_UNIT_YEAR;
    case TIME_NONE:
        return 0;
    default:
        return 1;
    }
}

/* The first time value decides how the column is read. */
static int first_time(reader *r, size_t j, const char *s, size_t n, int *zone, int32_t *off)
{
    const tsf_csv_options *opt = r->opt;
    int64_t v;
    r->time_line0 = r->line;
    if (opt->time_format) {
        r->time_mode = TIME_FORMAT;
        return tsf_time_parse_format(opt->time_format, s, n, &r->rec_t);
    }
    if (opt->time_unit != TSF_TIME_UNIT_AUTO || parse_int(s, n, &v)) {
        r->time_mode = TIME_INT;
        return parse_int(s, n, &v) ? (int_time(r, j, s, n, v), 1) : 0;
    }
    int rc = tsf_time_parse_zoned(s, n, &r->rec_t, zone, off, &r->form);
    if (rc) { /* TSF_TIME_SUBUS too: a time, too fine, which the caller reports */
        r->time_mode = TIME_TEXT;
        return rc;
    }
    r->time_mode = TIME_DMY;
    r->could_mdy = r->could_dmy = 1;
    r->alt = malloc(r->f->capacity * sizeof *r->alt);
    if (!r->alt) {
        fail_at(r, TSF_ENOMEM, 0, 0, "out of memory");
        return 1;
    }
    return 0; /* parsed below */
}

static void time_field(reader *r, size_t j, const char *s, size_t n)
{
    char q[SHOW_BUF];
    int zone = 0, ok = 0;
    int32_t off = 0;
    trim(&s, &n);
    if (r->time_mode == TIME_NONE) {
        ok = first_time(r, j, s, n, &zone, &off);
        if (r->failed)
            return;
    } else if (r->time_mode == TIME_TEXT) {
        ok = tsf_time_parse_zoned(s, n, &r->rec_t, &zone, &off, NULL);
    } else if (r->time_mode == TIME_FORMAT) {
        ok = tsf_time_parse_format(r->opt->time_format, s, n, &r->rec_t);
    } else if (r->time_mode == TIME_INT) {
        int64_t v;
        if ((ok = parse_int(s, n, &v)))
            int_time(r, j, s, n, v);
        else if (r->opt->time_unit == TSF_TIME_UNIT_AUTO)
            ok = r_ts_time(s, n, &r->rec_t);
        if (r->failed)
            return;
    }
    if (r->time_mode == TIME_DMY) {
        int64_t mdy = 0, dmy = 0;
        int k = parse_dmy(s, n, &mdy, &dmy);
        if (k && (k & 1 ? r->could_mdy : 0) + (k & 2 ? r->could_dmy : 0)) {
            ok = 1;
            r->could_mdy &= k & 1;
            r->could_dmy &= k >> 1;
            r->rec_t = k & 1 ? mdy : dmy;
            r->rec_alt = k & 2 ? dmy : mdy;
            if (k == 3 && mdy != dmy && !r->dmy_line) {
                r->dmy_line = r->line;
                show(r->dmy_text, s, n);
            }
        }
    }
    if (ok == TSF_TIME_SUBUS) {
        fail_at(r, TSF_EFORMAT, r->line, j + 1,
                "%s in time column \"%s\" has a fraction of a second finer than a microsecond, "
                "tsflow's resolution (expected at most 6 digits after the point, or zeros past "
                "them: tsflow never rounds a time)",
                show(q, s, n), col_name(r, j));
        return;
    }
    if (!ok) {
        if (r->time_mode == TIME_FORMAT)
            fail_at(r, TSF_EFORMAT, r->line, j + 1,
                    "%s in time column \"%s\" does not match time_format \"%s\" (expected "
                    "every time in that format)",
                    show(q, s, n), col_name(r, j), r->opt->time_format);
        else if (r->time_mode == TIME_INT) {
            static const char *const counts[] = {"years",        "seconds",     "milliseconds",
                                                 "microseconds", "nanoseconds", "years",
                                                 "indexes",      "days"};
            fail_at(r, TSF_EFORMAT, r->line, j + 1,
                    "%s in time column \"%s\" is not an integer (expected integer %s, as at "
                    "line %zu)",
                    show(q, s, n), col_name(r, j), counts[r->opt->time_unit], r->time_line0);
        } else
            fail_at(r, TSF_EFORMAT, r->line, j + 1,
                    "%s in time column \"%s\" is a time that does not parse%s (%s)", show(q, s, n),
                    col_name(r, j),
                    r->time_mode == TIME_DMY && r->line != r->time_line0
                        ? " as a day/month/year date in the order of the rows before"
                        : "",
                    TIME_FORMS);
        return;
    }
    if (r->time_mode != TIME_TEXT)
        return;
    if (r->zone < 0) {
        r->zone = zone;
        r->zone_line = r->line;
        r->off0 = off;
        show(r->zone_text, s, n);
    } else if (zone != r->zone) {
        fail_at(r, TSF_EFORMAT, r->line, j + 1,
                "%s has %s time zone but %s at line %zu has %s (expected all timestamps with a "
                "zone or all without)",
                show(q, s, n), zone ? "a" : "no", r->zone_text, r->zone_line,
                zone ? "none" : "one");
    } else if (zone && off != r->off0 && !r->off1_line) {
        r->off1_line = r->line;
        r->off1 = off;
        show(r->off1_text, s, n);
    }
}

static void id_field(reader *r, const char *s, size_t n)
{
    if (n + 1 > r->id_cap) {
        size_t cap = (n + 1) * 2;
        char *b = realloc(r->id_buf, cap);
        if (!b) {
            fail_at(r, TSF_ENOMEM, 0, 0, "out of memory reading a series id");
            return;
        }
        r->id_buf = b;
        r->id_cap = cap;
    }
    memcpy(r->id_buf, s, n);
    r->id_buf[n] = '\0';
    r->id_len = n;
}

static void grow_rows(reader *r)
{
    tsf_frame *f = r->f;
    size_t cap = f->capacity * 2;
    int rc = tsf_frame_reserve(f, cap, r->err);
    if (rc != TSF_OK) {
        r->failed = rc;
        return;
    }
    if (r->row_ser) {
        uint32_t *rs = realloc(r->row_ser, cap * sizeof *rs);
        if (!rs) {
            fail_at(r, TSF_ENOMEM, 0, 0, "out of memory at %zu rows", f->n_rows);
            return;
        }
        r->row_ser = rs;
    }
    if (r->alt) {
        int64_t *a = realloc(r->alt, cap * sizeof *a);
        if (!a) {
            fail_at(r, TSF_ENOMEM, 0, 0, "out of memory at %zu rows", f->n_rows);
            return;
        }
        r->alt = a;
    }
}

/* tsf_csv_peek's field: the id as the reader reads it, the text of the first records. */
static void peek_field(reader *r, size_t j, const char *s, size_t n)
{
    tsf_csv_peek *pk = r->peek;
    if (r->roles[j] == ROLE_ID)
        id_field(r, s, n);
    if (r->n_records >= r->peek_max)
        return;
    if (!pk->rows && !(pk->rows = calloc(r->peek_max * r->width, sizeof *pk->rows))) {
        fail_at(r, TSF_ENOMEM, 0, 0, "out of memory");
        return;
    }
    char *text = malloc(n + 1);
    if (!text) {
        fail_at(r, TSF_ENOMEM, 0, 0, "out of memory");
        return;
    }
    memcpy(text, s, n);
    text[n] = '\0';
    pk->rows[r->n_records * r->width + j] = text;
}

/* One field of the current record: s[0..n), not NUL-terminated. */
static void on_field(reader *r, const char *s, size_t n)
{
    if (r->failed)
        return;
    size_t j = r->field++;
    if (j == 0)
        r->rec_line = r->line;
    r->last_s = s;
    r->last_n = n;
    char q[SHOW_BUF];
    if (n > r->max_field) {
        fail_at(r, TSF_EFORMAT, r->line, j + 1,
                "%s: field of %zu bytes is longer than the limit of %zu bytes (expected "
                "shorter fields; raise max_field if this is real data)",
                show(q, s, n), n, r->max_field);
        return;
    }
    if (r->in_header) {
        header_field(r, s, n);
        return;
    }
    if (j == 0) {
        if (!r->roles_ready) {
            setup_roles(r, s, n);
            if (r->failed)
                return;
        }
        if (!r->peek && r->f->n_rows == r->f->capacity) {
            grow_rows(r);
            if (r->failed)
                return;
        }
    }
    if (j >= r->width) {
        fail_at(r, TSF_EFORMAT, r->line, j + 1,
                "%s: the record has more than %zu fields (expected %zu fields, as in the "
                "header)",
                show(q, s, n), r->width, r->width);
        return;
    }
    if (j == 1 && r->time_field == -2) {
        decide_auto_second(r, s, n);
        if (r->failed)
            return;
    }
    if (r->peek) {
        peek_field(r, j, s, n);
        return;
    }
    switch (r->roles[j]) {
    case ROLE_VALUE:
        value_field(r, j, s, n);
        break;
    case ROLE_TIME:
        time_field(r, j, s, n);
        break;
    case ROLE_ID:
        id_field(r, s, n);
        break;
    default:
        if (j == 0 && r->rownames) /* kept until field 1 says whether these are row names */
            id_field(r, s, n);
        break;
    }
}

/* ---- records ------------------------------------------------------------------------------ */

static uint64_t hash_id(const char *s, size_t n)
{
    uint64_t h = UINT64_C(1469598103934665603);
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * UINT64_C(1099511628211);
    return h;
}

static int add_series(reader *r, const char *id, size_t n, size_t *out)
{
    if (r->n_ser == r->cap_ser) {
        size_t cap = r->cap_ser ? r->cap_ser * 2 : 8;
        series *s = realloc(r->ser, cap * sizeof *s);
        if (!s)
            return TSF_ENOMEM;
        r->ser = s;
        r->cap_ser = cap;
    }
    series *s = &r->ser[r->n_ser];
    memset(s, 0, sizeof *s);
    if (id) {
        if (!(s->id = malloc(n + 1)))
            return TSF_ENOMEM;
        memcpy(s->id, id, n);
        s->id[n] = '\0';
        s->id_len = n;
    }
    s->first_row = r->f->n_rows;
    *out = r->n_ser++;
    return TSF_OK;
}

/* The series of the current record's id (created on first sight). */
static int lookup_series(reader *r, size_t *out)
{
    if (r->n_ser && r->ser[r->cur].id && r->ser[r->cur].id_len == r->id_len &&
        memcmp(r->ser[r->cur].id, r->id_buf, r->id_len) == 0) {
        *out = r->cur; /* the common case: same series as the previous record */
        return TSF_OK;
    }
    if (2 * (r->n_ser + 1) > r->n_slot) { /* rehash at half load */
        size_t ns = r->n_slot ? r->n_slot * 2 : 64;
        size_t *slot = calloc(ns, sizeof *slot);
        if (!slot)
            return TSF_ENOMEM;
        for (size_t k = 0; k < r->n_ser; k++) {
            uint64_t h = hash_id(r->ser[k].id, r->ser[k].id_len) & (ns - 1);
            while (slot[h])
                h = (h + 1) & (ns - 1);
            slot[h] = k + 1;
        }
        free(r->slot);
        r->slot = slot;
        r->n_slot = ns;
    }
    uint64_t h = hash_id(r->id_buf, r->id_len) & (r->n_slot - 1);
    while (r->slot[h]) {
        series *s = &r->ser[r->slot[h] - 1];
        if (s->id_len == r->id_len && memcmp(s->id, r->id_buf, r->id_len) == 0) {
            *out = r->slot[h] - 1;
            return TSF_OK;
        }
        h = (h + 1) & (r->n_slot - 1);
    }
    int rc = add_series(r, r->id_buf, r->id_len, out);
    if (rc == TSF_OK)
        r->slot[h] = *out + 1;
    return rc;
}

/* Series of file-order rows start their own contiguous runs until two series interleave;
 * from then on each row's series is recorded. */
static int start_row_series(reader *r)
{
    r->row_ser = malloc(r->f->capacity * sizeof *r->row_ser);
    if (!r->row_ser)
        return TSF_ENOMEM;
    for (size_t s = 0; s < r->n_ser; s++)
        for (size_t k = 0; k < r->ser[s].n; k++)
            r->row_ser[r->ser[s].first_row + k] = (uint32_t)s;
    return TSF_OK;
}

/* tsf_csv_peek's record: counted in its series. */
static void peek_record(reader *r)
{
    size_t s = 0;
    if (r->id_field >= 0 ? lookup_series(r, &s) != TSF_OK
                         : !r->n_ser && add_series(r, NULL, 0, &s) != TSF_OK) {
        fail_at(r, TSF_ENOMEM, 0, 0, "out of memory at %zu series", r->n_ser);
        return;
    }
    r->ser[s].n++;
    r->cur = s;
    r->n_records++;
}

/* The series of the record being read, registered (and its row noted when series
 * interleave). Returns 0 after recording a failure. */
static int record_series(reader *r, size_t row, size_t *out)
{
    size_t s = 0;
    if (r->id_field >= 0) {
        if (lookup_series(r, &s) != TSF_OK) {
            fail_at(r, TSF_ENOMEM, 0, 0, "out of memory at %zu series", r->n_ser);
            return 0;
        }
        if (s != r->cur && r->ser[s].n && !r->interleaved) {
            r->interleaved = 1;
            if (start_row_series(r) != TSF_OK) {
                fail_at(r, TSF_ENOMEM, 0, 0, "out of memory at %zu rows", row);
                return 0;
            }
        }
        if (s > UINT32_MAX - 1) {
            fail_at(r, TSF_EFORMAT, r->rec_line, 0, "more than %" PRIu32 " series", UINT32_MAX - 1);
            return 0;
        }
        if (r->row_ser)
            r->row_ser[row] = (uint32_t)s;
    } else if (!r->n_ser && add_series(r, NULL, 0, &s) != TSF_OK) {
        fail_at(r, TSF_ENOMEM, 0, 0, "out of memory");
        return 0;
    }
    *out = s;
    return 1;
}

/* The time of the record being read in series se: its timestamp, which must come after the
 * series' previous one, or the next integer index. Returns 0 after recording a failure. */
static int record_time(reader *r, const series *se, size_t row, int64_t *out)
{
    if (r->time_field < 0) {
        *out = (int64_t)se->n; /* integer index within the series */
        return 1;
    }
    int64_t t = r->rec_t;
    if (r->alt)
        r->alt[row] = r->rec_alt;
    /* Day/month dates are in order in one reading only, and local times in a zone once the zone
     * has resolved the hour shown twice when clocks go back: both are checked at the end. */
    if (se->n && t <= se->last_t && r->time_mode != TIME_DMY && !times_local(r)) {
        char a[40], b[40], q[SHOW_BUF], sid[SHOW_BUF + 16] = "";
        tsf_time_kind kind = time_kind_of(r);
        if (se->id)
            snprintf(sid, sizeof sid, " of series %s", show(q, se->id, strlen(se->id)));
        /* Without a zone, a local time shown twice when clocks go back is a duplicate or goes
         * back by up to an hour: say which option reads it (clocks change between 00:00 and
         * 04:00 local time, not at midnight in the zones that change at all often). */
        int64_t tod = (t % TSF_US_PER_DAY + TSF_US_PER_DAY) % TSF_US_PER_DAY;
        int dst = kind == TSF_TIME_EPOCH && r->zone != 1 && tod > 0 && tod < 4 * TSF_US_PER_H &&
                  se->last_t - t <= TSF_US_PER_H;
        const char *hint = dst ? "; local times that repeat when clocks go back need their zone, "
                                 "such as tz = Europe/Berlin"
                               : "";
        if (t == se->last_t)
            fail_at(r, TSF_EFORMAT, r->rec_line, (size_t)r->time_field + 1,
                    "duplicate timestamp %s%s (also at line %zu) (expected each timestamp "
                    "once per series%s)",
                    tsf_time_format(kind, t, a, sizeof a), sid, se->last_line, hint);
        else
            fail_at(r, TSF_EFORMAT, r->rec_line, (size_t)r->time_field + 1,
                    "timestamp %s%s is earlier than %s at line %zu (expected increasing "
                    "timestamps within a series%s)",
                    tsf_time_format(kind, t, a, sizeof a), sid,
                    tsf_time_format(kind, se->last_t, b, sizeof b), se->last_line, hint);
        return 0;
    }
    *out = t;
    return 1;
}

/* A line checkpoint for file-order row `row` when its record is not one line after the
 * previous one. Returns 0 after recording a failure. */
static int record_checkpoint(reader *r, size_t row)
{
    if (row != 0 && r->rec_line == r->prev_rec_line + 1)
        return 1;
    if (r->n_ck == r->cap_ck) {
        size_t cap = r->cap_ck ? r->cap_ck * 2 : 16;
        size_t *a = realloc(r->ck_rec, cap * sizeof *a);
        if (a)
            r->ck_rec = a;
        size_t *b = a ? realloc(r->ck_line, cap * sizeof *b) : NULL;
        if (!b) {
            fail_at(r, TSF_ENOMEM, 0, 0, "out of memory at %zu rows", row);
            return 0;
        }
        r->ck_line = b;
        r->cap_ck = cap;
    }
    r->ck_rec[r->n_ck] = row;
    r->ck_line[r->n_ck++] = r->rec_line;
    return 1;
}

static void on_record_end(reader *r)
{
    if (r->failed || r->field == 0)
        return; /* blank line */
    size_t n_fields = r->field;
    r->field = 0;
    if (r->in_header) {
        r->in_header = 0;
        header_done(r);
        return;
    }
    if (n_fields < r->width) {
        char q[SHOW_BUF];
        fail_at(r, TSF_EFORMAT, r->line, n_fields,
                "%s: the record ends after %zu field%s but the header has %zu (expected %zu "
                "fields; is a value or a delimiter missing?)",
                show(q, r->last_s, r->last_n), n_fields, n_fields == 1 ? "" : "s", r->width,
                r->width);
        return;
    }
    if (r->peek) {
        peek_record(r);
        return;
    }
    tsf_frame *f = r->f;
    size_t row = f->n_rows, s;
    int64_t t;
    if (!record_series(r, row, &s) || !record_time(r, &r->ser[s], row, &t))
        return;
    series *se = &r->ser[s];
    f->time[row] = t;
    se->last_t = t;
    se->last_line = r->rec_line;
    se->n++;
    r->cur = s;
    if (!record_checkpoint(r, row))
        return;
    r->prev_rec_line = r->rec_line;
    f->n_rows = row + 1;
    r->n_records++;
}

/* Line of file-order record k. */
static size_t record_line(const reader *r, size_t k)
{
    size_t lo = 0, hi = r->n_ck; /* last checkpoint with ck_rec <= k */
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (r->ck_rec[mid] <= k)
            lo = mid;
        else
            hi = mid;
    }
    return r->n_ck ? r->ck_line[lo] + (k - r->ck_rec[lo]) : 0;
}

/* ---- block parsing ------------------------------------------------------------------------ */

static int is_blank(char c, char delim)
{
    return (c == ' ' || c == '\t') && c != delim;
}

/* Split a block of whole lines (the last may lack its terminator only at end of file) with no
 * quote character, starting at a record boundary: the fields libcsv would produce. buf[len]
 * must be readable and, when buf[len - 1] is not a line break, be one (a sentinel), so that
 * the scan for the end of a field needs no bounds check. */
static void split_plain(reader *r, const char *buf, size_t len)
{
    const char *p = buf, *end = buf + len;
    const char delim = r->delim;
    unsigned char stop[256] = {0}; /* bytes that end a field */
    stop['\n'] = stop['\r'] = stop[(unsigned char)delim] = 1;
    if (r->cr_pending && p < end && *p == '\n')
        p++; /* the LF of a CRLF whose CR ended libcsv's last block */
    while (p < end && !r->failed) {
        const char *q = p;
        while (q < end && is_blank(*q, delim))
            q++;
        if (q == end || *q == '\n' || *q == '\r') {
            /* blank line: no record */
        } else {
            for (;;) {
                const char *fs = q;
                while (!stop[(unsigned char)*q])
                    q++;
                const char *fe = q;
                while (fe > fs && is_blank(fe[-1], delim))
                    fe--;
                on_field(r, fs, (size_t)(fe - fs));
                if (q < end && *q == delim) {
                    q++;
                    while (q < end && is_blank(*q, delim))
                        q++;
                    continue;
                }
                break;
            }
            on_record_end(r);
        }
        if (q < end) {
            if (*q == '\r' && q + 1 < end && q[1] == '\n')
                q++;
            q++;
            r->line++;
        }
        p = q;
    }
    r->cr_pending = 0;
}

static size_t count_breaks(const char *s, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '\n' || (s[i] == '\r' && (i + 1 == n || s[i + 1] != '\n')))
            k++;
    return k;
}

static void cb_field(void *s, size_t n, void *data)
{
    reader *r = data;
    r->cr_pending = 0;
    on_field(r, s, n);
    /* a quoted field may span lines */
    if (n && (memchr(s, '\n', n) || memchr(s, '\r', n)))
        r->line += count_breaks(s, n);
}

/* libcsv skips spaces and tabs before a field without a callback, so in "\r \n" the LF would
 * look like the second half of a CRLF pair and the line count would fall one behind. Its space
 * test is the only place those bytes are seen: it ends a pending CR (found by fuzzing). */
static _Thread_local reader *space_reader;

static int csv_space(unsigned char c)
{
    if (c != ' ' && c != '\t')
        return 0;
    if (space_reader)
        space_reader->cr_pending = 0;
    return 1;
}

static void cb_record(int c, void *data)
{
    reader *r = data;
    if (c == '\n' && r->cr_pending && r->field == 0) {
        r->cr_pending = 0; /* the LF of a CRLF pair */
        return;
    }
    on_record_end(r);
    r->field = 0;
    if (c == '\r' || c == '\n')
        r->line++;
    r->cr_pending = c == '\r';
}

/* ---- the driver --------------------------------------------------------------------------- */

static char detect_delimiter(const char *s, size_t n)
{
    size_t count[3] = {0, 0, 0};
    int quoted = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '"')
            quoted = !quoted;
        else if (!quoted && (c == '\n' || c == '\r'))
            break;
        else if (!quoted)
            count[0] += c == ',', count[1] += c == ';', count[2] += c == '\t';
    }
    if (count[1] > count[0] && count[1] >= count[2])
        return ';';
    if (count[2] > count[0] && count[2] > count[1])
        return '\t';
    return ',';
}

/* Line and field of byte `offset` of the file, by reading it again (error path only). Returns
 * 0 when the file cannot be read again: a pipe (opening it would wait for a new writer). */
static int locate(reader *r, uint64_t offset, size_t *line, size_t *col)
{
    *line = 1;
    *col = 1;
    int fd = open(r->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    FILE *fp = fdopen(fd, "rb");
    if (!fp) {
        close(fd);
        return 0;
    }
    int prev = 0;
    for (uint64_t i = 0; i < offset; i++) {
        int c = getc(fp);
        if (c == EOF)
            break;
        if (c == '\n' && prev == '\r') {
            /* CRLF: counted at the CR */
        } else if (c == '\n' || c == '\r') {
            (*line)++;
            *col = 1;
        } else if (c == r->delim) {
            (*col)++;
        }
        prev = c;
    }
    fclose(fp);
    return 1;
}

static void libcsv_block(reader *r, struct csv_parser *p, const char *buf, size_t n)
{
    space_reader = r;
    size_t used = csv_parse(p, buf, n, cb_field, cb_record, r);
    space_reader = NULL;
    if (r->failed)
        return;
    if (used < n) {
        int e = csv_error(p);
        if (e == CSV_EPARSE) {
            char q[SHOW_BUF];
            fail_at(r, TSF_EFORMAT, r->line, r->field + 1,
                    "%s: stray quote in a field (expected a quoted field to close its quote "
                    "right before the delimiter or the end of the line, with quotes inside it "
                    "doubled)",
                    show(q, (const char *)p->entry_buf, p->entry_pos));
        } else {
            fail_at(r, TSF_ENOMEM, r->line, r->field + 1, "libcsv: %s", csv_strerror(e));
        }
        return;
    }
    /* The field read so far, without the trailing blanks libcsv will trim and, once a quoted
     * field has closed (state 3, FIELD_MIGHT_HAVE_ENDED), its closing quote: measured as the
     * fast path measures fields (a difference found by fuzzing). */
    size_t pending = p->entry_pos - p->spaces - (p->pstate == 3);
    if (pending > r->max_field) {
        char q[SHOW_BUF];
        fail_at(r, TSF_EFORMAT, r->line, r->field + 1,
                "%s: field is longer than the limit of %zu bytes (expected shorter fields; an "
                "unterminated quote makes one field of the rest of the file)",
                show(q, (const char *)p->entry_buf, pending), r->max_field);
    }
}

/* Feed the file to the parsers block by block. */
static int read_all(reader *r, int fd)
{
    char *buf = malloc(BLOCK + 1); /* + a sentinel for split_plain */
    struct csv_parser p;
    if (!buf || csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_REPALL_NL) != 0) {
        free(buf);
        return tsf_err_set(r->err, TSF_ENOMEM, "%s: out of memory", r->path);
    }
    /* libcsv's field buffer through our allocator: libcsv's default in an ordinary build, the
     * failure injection's wrappers in a -Dalloc_fail=true one (lib/core/alloc_fail.c). */
    csv_set_realloc_func(&p, realloc);
    csv_set_free_func(&p, free);
    csv_set_blk_size(&p, 4096);
    csv_set_space_func(&p, csv_space);
    size_t have = 0;
    uint64_t offset = 0; /* file offset of buf[0] */
    int first = 1, eof = 0;
    int last = -1;
    while (!r->failed && !eof) {
        ssize_t got = read(fd, buf + have, BLOCK - have);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            fail_at(r, TSF_EIO, 0, 0, "read failed: %s (expected a readable CSV file)",
                    strerror(errno));
            break;
        }
        eof = got == 0;
        size_t fresh = have;
        have += (size_t)got;
        if (got > 0)
            last = (unsigned char)buf[have - 1];
        if (first && (have >= 3 || eof)) {
            first = 0;
            if (have >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0) {
                memmove(buf, buf + 3, have - 3);
                have -= 3;
                fresh = 0;
                offset += 3;
            }
            if (!r->delim)
                r->delim = detect_delimiter(buf, have);
            csv_set_delim(&p, (unsigned char)r->delim);
        } else if (first) {
            continue; /* need 3 bytes to see a BOM */
        }
        const char *nul = memchr(buf + fresh, '\0', have - fresh);
        if (nul) {
            size_t line, col;
            uint64_t at = offset + (uint64_t)(nul - buf);
            if (locate(r, at, &line, &col))
                fail_at(r, TSF_EFORMAT, line, col,
                        "NUL byte: this looks like a binary file, not CSV (expected UTF-8 or "
                        "ASCII text)");
            else
                fail_at(r, TSF_EFORMAT, 0, 0,
                        "NUL byte at byte %" PRIu64 ": this looks like binary data, not CSV "
                        "(expected UTF-8 or ASCII text)",
                        at);
            break;
        }
        size_t cut; /* bytes to parse now */
        if (eof) {
            cut = have;
        } else {
            const char *nl = memrchr(buf, '\n', have);
            if (nl)
                cut = (size_t)(nl - buf) + 1;
            else if (have == BLOCK)
                cut = have; /* a line longer than the block: libcsv keeps the state */
            else
                continue;
        }
        if (!tsf__csv_force_libcsv && p.pstate == 0 /* ROW_NOT_BEGUN */ && !memchr(buf, '"', cut) &&
            (cut < have || eof || buf[cut - 1] == '\n')) {
            if (cut == have)
                buf[cut] = '\n'; /* sentinel (at end of file, after a last line without one) */
            split_plain(r, buf, cut);
        } else {
            libcsv_block(r, &p, buf, cut);
        }
        memmove(buf, buf + cut, have - cut);
        have -= cut;
        offset += cut;
    }
    if (!r->failed) {
        if (csv_fini(&p, cb_field, cb_record, r) != 0 && !r->failed) {
            char q[SHOW_BUF];
            fail_at(r, TSF_EFORMAT, r->line, r->field + 1,
                    "%s: unterminated quoted field at the end of the file (expected a closing "
                    "quote)",
                    show(q, (const char *)p.entry_buf, p.entry_pos));
        }
    }
    r->last_byte_nl = last == '\n' || last == '\r';
    csv_free(&p);
    free(buf);
    return r->failed;
}

/* ---- after reading: regroup, step, gaps --------------------------------------------------- */

/* Rows of an interleaved long file are in file order: move each series' rows together (a
 * stable counting sort, one column at a time through one scratch column). */
static int regroup(reader *r, size_t *starts)
{
    tsf_frame *f = r->f;
    size_t n = f->n_rows;
    size_t *pos = malloc(r->n_ser * sizeof *pos);
    double *tmp = malloc((n ? n : 1) * sizeof *tmp);
    if (!pos || !tmp) {
        free(pos);
        free(tmp);
        return TSF_ENOMEM;
    }
    for (size_t c = 0; c <= f->n_cols; c++) {
        memcpy(pos, starts, r->n_ser * sizeof *pos);
        if (c < f->n_cols) {
            double *src = f->cols[c];
            for (size_t i = 0; i < n; i++)
                tmp[pos[r->row_ser[i]]++] = src[i];
            f->cols[c] = tmp;
            tmp = src;
        } else {
            int64_t *src = f->time, *dst = (int64_t *)(void *)tmp;
            for (size_t i = 0; i < n; i++)
                dst[pos[r->row_ser[i]]++] = src[i];
            f->time = dst;
            tmp = (double *)(void *)src;
        }
    }
    /* Arrays now hold n or capacity rows: n is a valid capacity for all of them. */
    free(tmp);
    free(pos);
    f->capacity = n;
    return TSF_OK;
}

/* File line of final row `row` (series s). */
static size_t row_line(const reader *r, const size_t *starts, size_t s, size_t row)
{
    size_t i = row - starts[s];
    if (!r->interleaved)
        return record_line(r, r->ser[s].first_row + i);
    for (size_t k = 0; k < r->n_records; k++)
        if (r->row_ser[k] == s && i-- == 0)
            return record_line(r, k);
    return 0;
}

/* Gap filling may multiply the rows by at most 16 (plus a million): beyond that the "gaps" are
 * more likely a wrong frequency than missing data, and filling them would exhaust memory. */
static size_t n_rows_limit(size_t n)
{
    return n + 1000000 / 16;
}

static int64_t gcd_step(const int64_t *t, size_t n)
{
    int64_t g = 0;
    for (size_t i = 1; i < n; i++) {
        int64_t a = g, b = t[i] - t[i - 1];
        while (b) {
            int64_t m = a % b;
            a = b;
            b = m;
        }
        g = a < 0 ? -a : a;
    }
    return g;
}

/* Day/month dates: keep the one order every value allows, or refuse when both remain and some
 * value reads differently in them. Runs on file-order rows, before regrouping. */
static int resolve_dmy(reader *r)
{
    tsf_frame *f = r->f;
    size_t col = (size_t)r->time_field + 1;
    if (r->could_mdy && r->could_dmy && r->dmy_line) {
        int64_t mdy, dmy;
        char a[32], b[32];
        const char *txt = r->dmy_text + 1;
        parse_dmy(txt, strlen(txt) - 1, &mdy, &dmy);
        char c = txt[strcspn(txt, "/.-")] ? txt[strcspn(txt, "/.-")] : '/';
        return tsf_err_set(r->err, TSF_EFORMAT,
                           "%s:%zu:%zu: the day/month order of time column \"%s\" is ambiguous: "
                           "%s reads as %s month first (%%m%c%%d%c%%Y) and as %s day first "
                           "(%%d%c%%m%c%%Y), and no value in the column rules either out "
                           "(expected time_format = %%m%c%%d%c%%Y or %%d%c%%m%c%%Y)",
                           r->path, r->dmy_line, col, r->names[r->time_field], r->dmy_text,
                           tsf_time_format(TSF_TIME_EPOCH, mdy, a, sizeof a), c, c,
                           tsf_time_format(TSF_TIME_EPOCH, dmy, b, sizeof b), c, c, c, c, c, c);
    }
    if (!r->could_mdy)
        memcpy(f->time, r->alt, f->n_rows * sizeof *f->time);
    return TSF_OK;
}

/* Timestamps increase within each series (checked while reading, except for day/month dates,
 * whose order is known only at the end). */
static int check_order(reader *r, const size_t *starts)
{
    tsf_frame *f = r->f;
    for (size_t s = 0; s < r->n_ser; s++)
        for (size_t i = starts[s] + 1; i < starts[s + 1]; i++)
            if (f->time[i] <= f->time[i - 1]) {
                char a[32], b[32];
                return tsf_err_set(
                    r->err, TSF_EFORMAT,
                    "%s:%zu:%zu: timestamp %s is %s %s at line %zu (expected increasing "
                    "timestamps within a series, each once)",
                    r->path, row_line(r, starts, s, i), (size_t)r->time_field + 1,
                    tsf_time_format(TSF_TIME_EPOCH, f->time[i], a, sizeof a),
                    f->time[i] == f->time[i - 1] ? "the same as" : "earlier than",
                    tsf_time_format(TSF_TIME_EPOCH, f->time[i - 1], b, sizeof b),
                    row_line(r, starts, s, i - 1));
            }
    return TSF_OK;
}

/* " in series "id"" for a named series, "" otherwise. buf needs SHOW_BUF + 16 bytes. */
static const char *series_suffix(const reader *r, size_t s, char *buf, size_t n)
{
    char q[SHOW_BUF];
    buf[0] = '\0';
    if (r->ser[s].id)
        snprintf(buf, n, " in series %s", show(q, r->ser[s].id, strlen(r->ser[s].id)));
    return buf;
}

/* Infer each series' frequency into sf (an integer index steps by the greatest common divisor
 * of its differences) and the one most series share into *common. Returns whether series
 * differ. */
static int infer_freqs(reader *r, const size_t *starts, tsf_freq *sf, tsf_freq *common_out)
{
    tsf_frame *f = r->f;
    size_t n_ser = r->n_ser;
    int index = f->time_kind == TSF_TIME_INDEX;
    tsf_freq common = {TSF_FREQ_NONE, 0, 0};
    /* Each series steps on its own frequency. A series of one or two rows shows little: it
     * takes the frequency most series of three rows or more have, when its timestamps are on
     * it (two daily rows three days apart are daily with a gap, not every three days). */
    for (size_t s = 0; s < n_ser; s++) {
        const int64_t *t = f->time + starts[s];
        size_t n = starts[s + 1] - starts[s];
        if (index && n >= 2)
            sf[s] = (tsf_freq){TSF_FREQ_FIXED, gcd_step(t, n), 0};
        else if (!index)
            tsf_freq_infer(t, n, &sf[s]);
    }
    for (int pass = 0; pass < 2 && common.unit == TSF_FREQ_NONE; pass++) {
        size_t best = 0;
        for (size_t s = 0; s < n_ser; s++) {
            if (sf[s].unit == TSF_FREQ_NONE || (pass == 0 && starts[s + 1] - starts[s] < 3))
                continue;
            size_t votes = 0;
            for (size_t u = s; u < n_ser; u++)
                votes += tsf_freq_equal(&sf[s], &sf[u]);
            if (votes > best) {
                best = votes;
                common = sf[s];
            }
        }
    }
    int mixed = 0;
    for (size_t s = 0; s < n_ser; s++) {
        size_t n = starts[s + 1] - starts[s];
        int on = n < 3 && common.unit != TSF_FREQ_NONE;
        for (size_t i = starts[s] + 1; on && i < starts[s + 1]; i++) {
            int64_t k;
            on = tsf_freq_count(&common, f->time[i - 1], f->time[i], &k);
        }
        if (sf[s].unit == TSF_FREQ_NONE || on)
            sf[s] = common;
        mixed |= !tsf_freq_equal(&sf[s], &common);
    }
    *common_out = common;
    return mixed;
}

/* Most differences are one period in a series with gaps. When they are not, the frequency is
 * a common divisor of unrelated steps (10 and 15 minutes give 5): refuse, naming the first
 * difference that breaks the series' first step. */
static int check_steps(reader *r, const size_t *starts, const tsf_freq *sf)
{
    tsf_frame *f = r->f;
    int index = f->time_kind == TSF_TIME_INDEX;
    size_t col = (size_t)r->time_field + 1;
    tsf_time_kind kind = f->time_kind;
    for (size_t s = 0; s < r->n_ser && sf[s].unit != TSF_FREQ_NONE; s++) {
        size_t a = starts[s], n_one = 0, n = starts[s + 1] - a;
        int64_t k, k0 = 0;
        for (size_t i = a + 1; i < a + n; i++) {
            tsf_freq_count(&sf[s], f->time[i - 1], f->time[i], &k);
            n_one += k == 1;
        }
        if (n < 3 || 2 * n_one >= n - 1)
            continue;
        tsf_freq_count(&sf[s], f->time[a], f->time[a + 1], &k0);
        for (size_t i = a + 2; i < a + n; i++) {
            tsf_freq_count(&sf[s], f->time[i - 1], f->time[i], &k);
            if (k % k0 == 0)
                continue;
            char t0[32], t1[32], t2[32], t3[32], fq[24], sid[SHOW_BUF + 16];
            return tsf_err_set(
                r->err, TSF_EFORMAT,
                "%s:%zu:%zu: irregular timestamps%s: %s .. %s at line %zu is not a whole "
                "number of steps of %s .. %s at lines %zu-%zu; only %zu of %zu differences are "
                "the step %s that all are multiples of (expected a regular series, gaps allowed)",
                r->path, row_line(r, starts, s, i), col, series_suffix(r, s, sid, sizeof sid),
                tsf_time_format(kind, f->time[i - 1], t0, sizeof t0),
                tsf_time_format(kind, f->time[i], t1, sizeof t1), row_line(r, starts, s, i),
                tsf_time_format(kind, f->time[a], t2, sizeof t2),
                tsf_time_format(kind, f->time[a + 1], t3, sizeof t3), row_line(r, starts, s, a),
                row_line(r, starts, s, a + 1), n_one, n - 1,
                index ? (snprintf(fq, sizeof fq, "%" PRId64, sf[s].n), fq)
                      : tsf_freq_format(&sf[s], 0, fq, sizeof fq));
        }
    }
    return TSF_OK;
}

/* Count the missing periods into *missing; refuse a timestamp off the frequency, and any gap
 * unless the policy fills them. */
static int count_gaps(reader *r, const size_t *starts, const tsf_freq *sf, size_t *missing)
{
    tsf_frame *f = r->f;
    int index = f->time_kind == TSF_TIME_INDEX;
    size_t col = (size_t)r->time_field + 1;
    tsf_time_kind kind = f->time_kind;
    *missing = 0;
    for (size_t s = 0; s < r->n_ser; s++) {
        if (sf[s].unit == TSF_FREQ_NONE)
            continue;
        for (size_t i = starts[s] + 1; i < starts[s + 1]; i++) {
            int64_t k;
            int exact = tsf_freq_count(&sf[s], f->time[i - 1], f->time[i], &k);
            if (exact && k == 1)
                continue;
            char a[32], b[32], sid[SHOW_BUF + 16], fq[32];
            series_suffix(r, s, sid, sizeof sid);
            if (index)
                snprintf(fq, sizeof fq, "a step of %" PRId64, sf[s].n);
            else
                snprintf(fq, sizeof fq, "frequency %s", tsf_freq_format(&sf[s], 0, a, sizeof a));
            size_t l0 = row_line(r, starts, s, i - 1), l1 = row_line(r, starts, s, i);
            /* k == 0: both fall in one period (a Sunday then a Monday on business days) */
            if (!exact || k < 1)
                return tsf_err_set(r->err, TSF_EFORMAT,
                                   "%s:%zu:%zu: timestamp %s at line %zu%s is not a whole number "
                                   "of periods after %s at line %zu (expected %s)",
                                   r->path, l1, col, tsf_time_format(kind, f->time[i], a, sizeof a),
                                   l1, sid, tsf_time_format(kind, f->time[i - 1], b, sizeof b), l0,
                                   fq);
            if (r->gaps != TSF_GAP_FILL) {
                char c0[32], c1[32];
                tsf_time_format(kind, tsf_freq_add(&sf[s], f->time[i - 1], 1), c0, sizeof c0);
                tsf_time_format(kind, tsf_freq_add(&sf[s], f->time[i - 1], k - 1), c1, sizeof c1);
                /* an hour missing early in the morning of times without a zone: perhaps local
                 * times skipping the hour clocks go forward, which tz reads */
                int64_t tod = (f->time[i] % TSF_US_PER_DAY + TSF_US_PER_DAY) % TSF_US_PER_DAY;
                int dst = !index && r->zone != 1 && !r->opt->tz && sf[s].unit == TSF_FREQ_FIXED &&
                          (k - 1) * sf[s].n == TSF_US_PER_H && tod > 0 && tod <= 4 * TSF_US_PER_H;
                return tsf_err_set(
                    r->err, TSF_EFORMAT,
                    "%s:%zu:%zu: gap of %" PRId64 " missing timestamp%s between line %zu (%s) and "
                    "line %zu (%s)%s: %s .. %s are missing (expected %s; gaps = fill (--gaps fill) "
                    "inserts NaN rows instead%s)",
                    r->path, l1, col, k - 1, k == 2 ? "" : "s", l0,
                    tsf_time_format(kind, f->time[i - 1], a, sizeof a), l1,
                    tsf_time_format(kind, f->time[i], b, sizeof b), sid, c0, c1, fq,
                    dst ? "; local times that skip the hour clocks go forward need their zone, "
                          "such as tz = Europe/Berlin"
                        : "");
            }
            *missing += (size_t)(k - 1);
        }
    }
    return TSF_OK;
}

/* Insert NaN rows at the `missing` missing periods of each series' frequency fs[s]. */
static int fill_gaps(reader *r, size_t *starts, const tsf_freq *fs, size_t missing)
{
    tsf_frame *f = r->f;
    size_t n_ser = r->n_ser;
    if (missing / 16 > n_rows_limit(f->n_rows))
        return tsf_err_set(r->err, TSF_EFORMAT,
                           "%s: filling the gaps would insert %zu rows into %zu (expected gaps "
                           "of a few periods; is the frequency right?)",
                           r->path, missing, f->n_rows);
    /* Expand in place from the back, inserting NaN rows at the missing timestamps. A row only
     * moves up (its destination is its index plus the rows inserted before it), so walking
     * backwards never overwrites a row not yet moved. */
    size_t n = f->n_rows, total = n + missing;
    size_t *new_starts = malloc((n_ser + 1) * sizeof *new_starts);
    if (!new_starts)
        return tsf_err_set(r->err, TSF_ENOMEM, "%s: out of memory", r->path);
    int rc = tsf_frame_reserve(f, total, r->err);
    if (rc != TSF_OK) {
        free(new_starts);
        return rc;
    }
    size_t w = total;
    for (size_t s = n_ser; s-- > 0;) {
        for (size_t i = starts[s + 1]; i-- > starts[s];) {
            w--;
            int64_t t = f->time[i];
            f->time[w] = t;
            for (size_t c = 0; c < f->n_cols; c++)
                f->cols[c][w] = f->cols[c][i];
            if (i > starts[s]) {
                int64_t prev = f->time[i - 1], k;
                tsf_freq_count(&fs[s], prev, t, &k);
                for (int64_t m = k - 1; m >= 1; m--) {
                    w--;
                    f->time[w] = tsf_freq_add(&fs[s], prev, m);
                    for (size_t c = 0; c < f->n_cols; c++)
                        f->cols[c][w] = NAN;
                }
            }
        }
        new_starts[s] = w;
    }
    new_starts[n_ser] = total;
    memcpy(starts, new_starts, (n_ser + 1) * sizeof *starts);
    free(new_starts);
    f->n_rows = total;
    r->n_filled = missing;
    return TSF_OK;
}

/* Infer each series' frequency (tsflow/freq.h), then refuse or fill the missing periods. */
static int check_regular(reader *r, size_t *starts)
{
    tsf_frame *f = r->f;
    if (r->time_field < 0) {
        f->step = 1;
        return TSF_OK;
    }
    int index = f->time_kind == TSF_TIME_INDEX;
    tsf_freq *sf = calloc(r->n_ser, sizeof *sf), common;
    if (!sf)
        return tsf_err_set(r->err, TSF_ENOMEM, "%s: out of memory", r->path);
    int mixed = infer_freqs(r, starts, sf, &common);
    size_t missing = 0;
    int rc = check_steps(r, starts, sf);
    if (rc == TSF_OK)
        rc = count_gaps(r, starts, sf, &missing);
    if (rc != TSF_OK) {
        free(sf);
        return rc;
    }
    f->freq = mixed || index ? (tsf_freq){TSF_FREQ_NONE, 0, 0} : common;
    f->step = mixed ? 0 : index ? common.n : tsf_freq_nominal_step(&common);
    if (missing)
        rc = fill_gaps(r, starts, sf, missing);
    if (mixed && rc == TSF_OK) /* handed to the frame once its series are set */
        r->series_freq = sf;
    else
        free(sf);
    return rc;
}

/* ---- time zones ---------------------------------------------------------------------------- */

/* The frame's zone: opt->tz, else the one offset all timestamps wrote. Offsets that change (local
 * time with daylight saving: +01:00 in winter, +02:00 in summer) fit no fixed offset and do not
 * name their zone (Berlin, Paris and Rome write the same): tsflow asks for tz, as pandas 1.5's
 * to_datetime gives such times no zone (an object column; one zone only with utc=True). */
static int decide_zone(reader *r)
{
    tsf_frame *f = r->f;
    if (r->opt->tz && f->time_kind != TSF_TIME_EPOCH)
        return tsf_err_set(r->err, TSF_EINVAL,
                           "%s: tz = %s applies to timestamps, but %s (expected no tz, or a time "
                           "column of dates and times)",
                           r->path, r->opt->tz,
                           r->time_field < 0 ? "the file has no time column"
                                             : "the time column is an integer index");
    if (!r->opt->tz && r->zone == 1 && r->off1_line) {
        char a[8], b[8];
        return tsf_err_set(
            r->err, TSF_EFORMAT,
            "%s:%zu:%zu: %s has UTC offset %s but %s at line %zu has %s: the offsets change "
            "(daylight saving time?) and no fixed offset holds them (expected tz = the zone the "
            "times were written in, such as tz = Europe/Berlin, or tz = UTC to keep them in UTC)",
            r->path, r->off1_line, (size_t)r->time_field + 1, r->off1_text,
            tsf_tz_offset_format(r->off1, a, sizeof a), r->zone_text, r->zone_line,
            tsf_tz_offset_format(r->off0, b, sizeof b));
    }
    if (!r->opt->tz && r->zone == 1) {
        char name[8];
        int rc = tsf_tz_load(&r->tz, tsf_tz_offset_format(r->off0, name, sizeof name), r->err);
        if (rc != TSF_OK)
            return rc;
    }
    return r->tz ? tsf_frame_set_tz(f, tsf_tz_name(r->tz), r->err) : TSF_OK;
}

/* Local wall-clock times of each series become instants in r->tz (tsf_tz_localize); a time
 * the clocks skip is an error. `read`: the times are the file's (lines are named). */
static int localize(reader *r, const size_t *starts, int read)
{
    tsf_frame *f = r->f;
    for (size_t s = 0; s < r->n_ser; s++) {
        size_t a = starts[s], n = starts[s + 1] - a;
        size_t i = tsf_tz_localize(r->tz, f->time + a, n);
        if (i == n)
            continue;
        int64_t jump;
        tsf_tz_resolve(r->tz, f->time[a + i], &jump, NULL);
        int32_t o0 = tsf_tz_offset(r->tz, jump - 1), o1 = tsf_tz_offset(r->tz, jump);
        char t[32], t0[32], t1[32], a0[8], a1[8], where[48] = "";
        if (read)
            snprintf(where, sizeof where, ":%zu:%zu", row_line(r, starts, s, a + i),
                     (size_t)r->time_field + 1);
        return tsf_err_set(
            r->err, TSF_EFORMAT,
            "%s%s: %s does not exist in %s: the clocks go from %s (%s) to %s (%s) (expected "
            "local times of tz = %s; is that the zone the times were written in?)",
            r->path, where, tsf_time_format(TSF_TIME_EPOCH, f->time[a + i], t, sizeof t),
            tsf_tz_name(r->tz),
            tsf_time_format(TSF_TIME_EPOCH, jump + o0 * TSF_US_PER_S, t0, sizeof t0),
            tsf_tz_offset_format(o0, a0, sizeof a0),
            tsf_time_format(TSF_TIME_EPOCH, jump + o1 * TSF_US_PER_S, t1, sizeof t1),
            tsf_tz_offset_format(o1, a1, sizeof a1), tsf_tz_name(r->tz));
    }
    return TSF_OK;
}

/* Frequencies step on the local calendar. check_regular sees wall-clock times when the zone's
 * offset matters to the frequency: always for a fixed offset (a shift), and for a zone with
 * daylight saving when the series are daily or coarser (their periods start at local
 * midnight). Hours and minutes step on instants, an hour being an hour across a change of
 * offset, as in pandas.date_range(..., tz=...). */
static int check_regular_zoned(reader *r, size_t *starts)
{
    tsf_frame *f = r->f;
    int32_t off = 0;
    int fixed = r->tz ? tsf_tz_fixed(r->tz, &off) : 1;
    if (!r->tz || f->time_kind != TSF_TIME_EPOCH || (fixed && off == 0))
        return check_regular(r, starts);
    size_t n = f->n_rows, longest = 0;
    for (size_t i = 0; i < n; i++)
        f->time[i] += tsf_tz_offset(r->tz, f->time[i]) * TSF_US_PER_S;
    if (!fixed) {
        for (size_t s = 1; s < r->n_ser; s++)
            if (starts[s + 1] - starts[s] > starts[longest + 1] - starts[longest])
                longest = s;
        tsf_freq q;
        tsf_freq_infer(f->time + starts[longest], starts[longest + 1] - starts[longest], &q);
        if (q.unit == TSF_FREQ_NONE || (q.unit == TSF_FREQ_FIXED && q.n < TSF_US_PER_DAY)) {
            int rc = localize(r, starts, 1); /* back to the instants they came from */
            return rc != TSF_OK ? rc : check_regular(r, starts);
        }
    }
    int rc = check_regular(r, starts);
    if (rc != TSF_OK || !fixed)
        return rc != TSF_OK ? rc : localize(r, starts, 0);
    for (size_t i = 0; i < f->n_rows; i++)
        f->time[i] -= off * TSF_US_PER_S;
    return TSF_OK;
}

/* Give back the rows allocated beyond n_rows. */
static void shrink(tsf_frame *f)
{
    size_t n = f->n_rows;
    if (n == 0 || n >= f->capacity)
        return;
    int64_t *t = realloc(f->time, n * sizeof *t);
    if (!t)
        return;
    f->time = t;
    for (size_t c = 0; c < f->n_cols; c++) {
        double *v = realloc(f->cols[c], n * sizeof *v);
        if (v)
            f->cols[c] = v;
        else
            return; /* keep capacity: some columns are still larger, none smaller */
    }
    f->capacity = n;
}

/* ---- entry point -------------------------------------------------------------------------- */

static void reader_free(reader *r)
{
    for (size_t j = 0; j < r->width; j++)
        free(r->names[j]);
    free(r->names);
    free(r->roles);
    free(r->col_of);
    free(r->id_buf);
    for (size_t s = 0; s < r->n_ser; s++)
        free(r->ser[s].id);
    free(r->ser);
    free(r->slot);
    free(r->row_ser);
    free(r->ck_rec);
    free(r->ck_line);
    free(r->alt);
    free(r->series_freq);
    tsf_tz_free(r->tz);
    tsf_frame_free(r->f);
}

/* A reader of path with options opt (checked), before the first byte. */
static void reader_init(reader *r, const char *path, const tsf_csv_options *opt, tsf_err *err)
{
    memset(r, 0, sizeof *r);
    r->path = path;
    r->err = err;
    r->opt = opt;
    r->delim = opt->delimiter;
    r->max_field = opt->max_field ? opt->max_field : (size_t)1 << 20;
    r->gaps = opt->gaps;
    r->na = opt->na_tokens ? opt->na_tokens : default_na;
    r->n_na = opt->na_tokens ? opt->n_na_tokens : sizeof default_na / sizeof default_na[0];
    for (size_t i = 0; i < r->n_na; i++) {
        double v;
        r->na_len[i] = strlen(r->na[i]);
        if (tsf__parse_double(r->na[i], r->na_len[i], &v))
            r->na_first = 1;
    }
    r->line = 1;
    r->in_header = 1;
    r->zone = -1;
    r->time_field = -1;
    r->id_field = -1;
}

/* After the last record: the frame's series (regrouped when their rows interleave, checked for
 * regular steps), its time kind and the names of its time and id columns. */
static int finish_frame(reader *r)
{
    tsf_frame *f = r->f;
    tsf_err *err = r->err;
    const char *path = r->path;
    int rc;
    size_t *starts = malloc((r->n_ser + 1) * sizeof *starts);
    const char **ids = calloc(r->n_ser, sizeof *ids);
    if (!starts || !ids) {
        free(starts);
        free(ids);
        return tsf_err_set(err, TSF_ENOMEM, "%s: out of memory", path);
    }
    starts[0] = 0;
    for (size_t s = 0; s < r->n_ser; s++) {
        starts[s + 1] = starts[s] + r->ser[s].n;
        ids[s] = r->ser[s].id;
    }
    f->time_kind = time_kind_of(r);
    rc = r->time_mode == TIME_DMY ? resolve_dmy(r) : TSF_OK;
    if (rc == TSF_OK && r->interleaved && regroup(r, starts) != TSF_OK)
        rc =
            tsf_err_set(err, TSF_ENOMEM, "%s: out of memory regrouping %zu series", path, r->n_ser);
    if (rc == TSF_OK)
        rc = decide_zone(r);
    if (rc == TSF_OK && times_local(r))
        rc = localize(r, starts, 1);
    if (rc == TSF_OK && (r->time_mode == TIME_DMY || times_local(r)))
        rc = check_order(r, starts);
    if (rc == TSF_OK)
        rc = check_regular_zoned(r, starts);
    if (rc == TSF_OK)
        rc = tsf_frame_set_series(f, r->n_ser, r->id_field >= 0 ? ids : NULL, starts, err);
    if (rc == TSF_OK) {
        f->series_freq = r->series_freq;
        r->series_freq = NULL;
    }
    free(starts);
    free(ids);
    if (rc == TSF_OK && r->time_field >= 0)
        rc = tsf_frame_set_time_name(f, r->names[r->time_field], err);
    if (rc == TSF_OK && r->id_field >= 0 && !(f->id_name = tsf__strdup(r->names[r->id_field], err)))
        rc = TSF_ENOMEM;
    return rc;
}

/* Set up r for path and opt (defaults: NULL opt) and read the whole file into it: a frame, or
 * with peek the header, the first peek_max records as text and the records per series. Fails
 * on an empty file or one without data rows. */
static int read_file(reader *r, const char *path, const tsf_csv_options *opt,
                     tsf_csv_options *defaults, tsf_csv_peek *peek, size_t peek_max, tsf_err *err)
{
    memset(r, 0, sizeof *r);
    if (!opt) {
        tsf_csv_options_init(defaults);
        opt = defaults;
    }
    if (opt->delimiter && opt->delimiter != ',' && opt->delimiter != ';' && opt->delimiter != '\t')
        TSF_FAIL(err, TSF_EINVAL, "%s: delimiter '%c' is not supported (expected ',', ';' or tab)",
                 path, opt->delimiter);
    if (opt->n_na_tokens > 64)
        TSF_FAIL(err, TSF_EINVAL, "%s: %zu missing-value tokens (expected at most 64)", path,
                 opt->n_na_tokens);
    reader_init(r, path, opt, err);
    int rc = opt->tz ? tsf_tz_load(&r->tz, opt->tz, err) : TSF_OK;
    if (rc != TSF_OK) {
        (void)tsf_err_prefix(err, "%s: tz", path);
        return rc;
    }
    r->peek = peek;
    r->peek_max = peek_max;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        TSF_FAIL(err, TSF_EIO, "%s: cannot open: %s (expected a readable CSV file)", path,
                 strerror(errno));
    rc = read_all(r, fd);
    close(fd);
    if (rc)
        return err ? err->code : rc;
    if (r->width == 0)
        TSF_FAIL(err, TSF_EFORMAT,
                 "%s:1:1: the file is empty (expected a header line naming the columns, then data "
                 "rows)",
                 path);
    if (r->n_records == 0)
        TSF_FAIL(err, TSF_EFORMAT,
                 "%s:%zu:1: no data rows after the header (expected at least one data row below "
                 "the header)",
                 path, r->line);
    return TSF_OK;
}

int tsf_csv_read(tsf_frame **out, const char *path, const tsf_csv_options *opt, tsf_csv_info *info,
                 tsf_err *err)
{
    *out = NULL;
    tsf_csv_options defaults;
    reader r;
    int rc = read_file(&r, path, opt, &defaults, NULL, 0, err);
    if (rc)
        goto fail;
    tsf_frame *f = r.f;
    rc = finish_frame(&r);
    if (rc != TSF_OK)
        goto fail;
    shrink(f);
    if (info) {
        memset(info, 0, sizeof *info);
        info->delimiter = r.delim;
        info->n_lines = r.line - 1 + (r.last_byte_nl ? 0 : 1);
        info->n_records = r.n_records;
        info->n_missing = r.n_missing;
        info->n_filled = r.n_filled;
    }
    r.f = NULL;
    reader_free(&r);
    *out = f;
    return TSF_OK;
fail:
    reader_free(&r);
    return err ? err->code : rc;
}

void tsf_csv_peek_free(tsf_csv_peek *p)
{
    if (!p)
        return;
    for (size_t j = 0; j < p->n_cols; j++)
        free(p->names[j]);
    free(p->names);
    for (size_t j = 0; j < p->n_values; j++)
        free(p->values[j]);
    free(p->values);
    for (size_t i = 0; p->rows && i < p->n_rows * p->n_cols; i++)
        free(p->rows[i]);
    free(p->rows);
    free(p);
}

int tsf_csv_peek_read(tsf_csv_peek **out, const char *path, const tsf_csv_options *opt,
                      size_t max_rows, tsf_err *err)
{
    *out = NULL;
    tsf_csv_peek *pk = calloc(1, sizeof *pk);
    if (!pk)
        TSF_FAIL(err, TSF_ENOMEM, "%s: out of memory", path);
    tsf_csv_options defaults;
    reader r;
    int rc = read_file(&r, path, opt, &defaults, pk, max_rows, err);
    if (rc == TSF_OK && r.time_field == -2) /* one data record: its second field decided nothing */
        r.time_field = -1;
    if (rc == TSF_OK) {
        pk->delimiter = r.delim;
        pk->n_cols = r.width;
        pk->names = r.names;
        r.names = NULL;
        r.width = 0;
        pk->n_rows = r.n_records < max_rows ? r.n_records : max_rows;
        for (size_t i = 0; pk->rows && i < pk->n_rows * pk->n_cols; i++)
            if (!pk->rows[i] && !(pk->rows[i] = calloc(1, 1)))
                rc = tsf_err_set(err, TSF_ENOMEM, "%s: out of memory", path);
        size_t nv = r.f ? r.f->n_cols : 0;
        if (nv && !(pk->values = calloc(nv, sizeof *pk->values)))
            rc = tsf_err_set(err, TSF_ENOMEM, "%s: out of memory", path);
        for (size_t j = 0; pk->values && j < nv; j++, pk->n_values++)
            if (!(pk->values[j] = tsf__strdup(r.f->col_names[j], err))) {
                rc = TSF_ENOMEM;
                break;
            }
        pk->time_col = r.time_field;
        pk->id_col = r.id_field;
        pk->n_records = r.n_records;
        pk->n_series = r.n_ser;
        pk->min_series_rows = r.n_ser ? SIZE_MAX : 0;
        for (size_t q = 0; q < r.n_ser; q++)
            if (r.ser[q].n < pk->min_series_rows)
                pk->min_series_rows = r.ser[q].n;
    }
    if (rc != TSF_OK && pk->n_cols == 0) { /* the names are still the reader's */
        for (size_t i = 0; pk->rows && i < max_rows * r.width; i++)
            free(pk->rows[i]);
        free(pk->rows);
        pk->rows = NULL;
    }
    reader_free(&r);
    if (rc != TSF_OK) {
        tsf_csv_peek_free(pk);
        return rc;
    }
    *out = pk;
    return TSF_OK;
}
