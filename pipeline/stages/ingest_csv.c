/* ingest.csv: read a CSV file into a frame (tsf_csv_read), every tsf_csv_options field an option.
 *
 * check looks at the file through the reader itself (tsf_csv_peek_read, with the options run
 * reads with): the header, the first two records (column names, delimiter, which column is
 * time, the step) and the records of each series, counted by the reader's own tokenizer and id
 * handling without parsing values, so that the plan and what run reads cannot disagree and
 * later stages can check lengths (lookback + horizon, folds) before anything runs. The reader
 * still validates every value at run time.
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
#include "ingest.h"

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
    const char *time_format;
    int time_unit;
    const char *tz;
} ingest_csv;

static const char *const delimiters[] = {"auto", "comma", "semicolon", "tab", NULL};
static const char *const gap_policies[] = {"error", "fill", NULL};
static const char *const time_units[] = {"auto", "s", "ms", "us", "ns", "year", "index", "d", NULL};

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
    {.name = "time_format",
     .type = TSF_OPT_STRING,
     .offset = offsetof(ingest_csv, time_format),
     .help = "strptime-style format of the time values, for forms not read without it: "
             "%d/%m/%Y, %m/%d/%Y, %Y%m%d, %d.%m.%Y %H:%M, ... (%Y %y %m %d %H %M %S %f %b %B %%)"},
    {.name = "time_unit",
     .type = TSF_OPT_ENUM,
     .offset = offsetof(ingest_csv, time_unit),
     .def = "auto",
     .choices = time_units,
     .help = "what integer times count: s, ms, us, ns since 1970-01-01 UTC, year, index (a "
             "plain integer index), or d (days since 1970-01-01); auto reads integers that are all "
             "years 1000-2999 as years "
             "and refuses other integers"},
    {.name = "tz",
     .type = TSF_OPT_STRING,
     .offset = offsetof(ingest_csv, tz),
     .help = "time zone of local times without a UTC offset, and of the frame's outputs: an "
             "IANA name from the system's zoneinfo (Europe/Berlin), UTC, or an offset (+01:00). "
             "Times with offsets stay the instants they name. Unset: the one offset the times "
             "write; offsets that change (daylight saving) are refused, asking for tz"},
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

/* ---- check: a look at the file through the reader ---------------------------------------- */

static char delimiter_char(int d)
{
    return d == DELIM_COMMA ? ',' : d == DELIM_SEMICOLON ? ';' : d == DELIM_TAB ? '\t' : 0;
}

/* The reader's options from the step's: check peeks with exactly what run reads with. */
static void read_options(const ingest_csv *s, tsf_csv_options *opt)
{
    memset(opt, 0, sizeof *opt);
    tsf_csv_options_init(opt);
    opt->delimiter = delimiter_char(s->delimiter);
    if (s->time_column)
        opt->time_column = s->time_column;
    else if (s->time_position >= 0)
        opt->time_index = (long)s->time_position;
    else if (s->no_time)
        opt->time_index = TSF_CSV_TIME_NONE;
    else
        opt->time_index = TSF_CSV_TIME_AUTO;
    opt->id_column = s->id_column;
    if (s->columns.n) {
        opt->columns = s->columns.v;
        opt->n_columns = s->columns.n;
    }
    if (s->na.n) {
        opt->na_tokens = s->na.v;
        opt->n_na_tokens = s->na.n;
    }
    opt->gaps = s->gaps == GAPS_FILL ? TSF_GAP_FILL : TSF_GAP_ERROR;
    opt->max_field = s->max_field;
    opt->time_format = s->time_format;
    opt->time_unit = (tsf_time_unit)s->time_unit;
    opt->tz = s->tz;
}

static long find_col(const tsf_csv_peek *pk, const char *name)
{
    for (size_t i = 0; i < pk->n_cols; i++)
        if (!strcmp(pk->names[i], name))
            return (long)i;
    return -1;
}

/* Fail naming the missing column, the file's columns and the closest one. */
static int no_such_column(tsf_stage_ctx *ctx, tsf_err *err, const char *key, const char *path,
                          const tsf_csv_peek *pk, const char *name)
{
    char cols[512];
    size_t used = 0;
    cols[0] = '\0';
    for (size_t i = 0; i < pk->n_cols && used < sizeof cols; i++) {
        int k = snprintf(cols + used, sizeof cols - used, "%s%s", i ? ", " : "", pk->names[i]);
        if (k > 0)
            used += (size_t)k;
    }
    const char *near = tsf_stage_suggest(ctx, name, (const char *const *)pk->names, pk->n_cols);
    if (used >= sizeof cols)
        strcpy(cols + sizeof cols - 5, "...");
    if (near)
        return tsf_stage_fail_key(ctx, err, key, TSF_EINVAL,
                                  "%s has no column \"%s\" (did you mean \"%s\"? its columns: %s)",
                                  path, name, near, cols);
    return tsf_stage_fail_key(ctx, err, key, TSF_EINVAL,
                              "%s has no column \"%s\" (its columns: %s)", path, name, cols);
}

/* The column options against the header, each error naming its option. */
static int check_names(tsf_stage_ctx *ctx, const ingest_csv *s, const tsf_csv_peek *pk,
                       tsf_err *err)
{
    long time_col = -1, id_col = -1;
    if (s->id_column && (id_col = find_col(pk, s->id_column)) < 0)
        return no_such_column(ctx, err, "id_column", s->path, pk, s->id_column);
    if (s->time_column && (time_col = find_col(pk, s->time_column)) < 0)
        return no_such_column(ctx, err, "time_column", s->path, pk, s->time_column);
    if (!s->time_column && s->time_position >= 0) {
        if ((size_t)s->time_position >= pk->n_cols)
            return tsf_stage_fail_key(ctx, err, "time_position", TSF_EINVAL,
                                      "%s has %zu columns, so there is no position %lld (expected "
                                      "0 to %zu)",
                                      s->path, pk->n_cols, (long long)s->time_position,
                                      pk->n_cols - 1);
        time_col = (long)s->time_position;
    }
    for (size_t i = 0; i < s->columns.n; i++) {
        long c = find_col(pk, s->columns.v[i]);
        if (c < 0)
            return no_such_column(ctx, err, "columns", s->path, pk, s->columns.v[i]);
        if (c == time_col || c == id_col)
            return tsf_stage_fail_key(ctx, err, "columns", TSF_EINVAL,
                                      "\"%s\" is the %s column of %s (expected value columns)",
                                      s->columns.v[i], c == time_col ? "time" : "id", s->path);
    }
    return TSF_OK;
}

/* Peek at the file as run will read it. When that fails and the step names columns, a second
 * peek that names none checks them against the header, so that a misspelt name is blamed on
 * its option with the file's columns and the closest one (one scan when all is well). */
static int peek(tsf_stage_ctx *ctx, const ingest_csv *s, tsf_csv_peek **pk, tsf_err *err)
{
    tsf_csv_options opt;
    read_options(s, &opt);
    int rc = tsf_csv_peek_read(pk, s->path, &opt, 2, err);
    if (rc == TSF_OK)
        return TSF_OK;
    char msg[TSF_ERR_MSG_MAX];
    memcpy(msg, err->msg, sizeof msg);
    if (s->id_column || s->time_column || s->time_position >= 0 || s->columns.n) {
        tsf_csv_options plain = opt;
        plain.id_column = plain.time_column = NULL;
        plain.time_index = TSF_CSV_TIME_NONE;
        plain.columns = NULL;
        plain.n_columns = 0;
        tsf_csv_peek *header = NULL;
        tsf_err e = TSF_ERR_INIT;
        if (tsf_csv_peek_read(&header, s->path, &plain, 0, &e) == TSF_OK) {
            int bad = check_names(ctx, s, header, err);
            tsf_csv_peek_free(header);
            if (bad != TSF_OK)
                return bad;
        }
    }
    return tsf_stage_fail_key(ctx, err, "path", rc, "%s", msg);
}

/* Describe the frame run will read: columns, time, series, rows, and the step from the first
 * two records when they are of one series (the reader takes the most common difference; a
 * first gap shows here, and run then refuses it or fills it). */
static int describe(tsf_stage_ctx *ctx, const ingest_csv *s, const tsf_csv_peek *pk, tsf_meta *m)
{
    int rc = tsf_meta_set_source(ctx, m, s->path);
    if (rc != TSF_OK)
        return rc;
    rc = tsf_meta_set_columns(ctx, m, pk->n_values, (const char *const *)pk->values);
    if (rc != TSF_OK)
        return rc;
    long tc = pk->time_col, ic = pk->id_col;
    m->time_kind = tc >= 0 && s->time_unit != TSF_TIME_UNIT_INDEX ? TSF_TIME_EPOCH : TSF_TIME_INDEX;
    if (tc < 0)
        m->step = 1;
    m->n_series = (int64_t)pk->n_series;
    if (s->gaps == GAPS_ERROR) { /* fill may add rows */
        m->rows = (int64_t)pk->n_records;
        m->min_series_rows = (int64_t)pk->min_series_rows;
    }
    const char *const *r1 = (const char *const *)pk->rows, *const *r2 = r1 + pk->n_cols;
    if (tc >= 0 && pk->n_rows == 2 && (ic < 0 || !strcmp(r1[ic], r2[ic]))) {
        int64_t t1, t2;
        if (tsf_time_parse_text(r1[tc], strlen(r1[tc]), &t1, NULL, NULL) == 1 &&
            tsf_time_parse_text(r2[tc], strlen(r2[tc]), &t2, NULL, NULL) == 1 && t2 > t1)
            m->step = t2 - t1;
    }
    return TSF_OK;
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
    if (s->time_format && !tsf_time_format_valid(s->time_format))
        return tsf_stage_fail_key(ctx, err, "time_format", TSF_EINVAL,
                                  "\"%s\" uses a directive tsflow does not know (expected "
                                  "%%Y %%y %%m %%d %%H %%M %%S %%f %%b %%B %%%% and literal text)",
                                  s->time_format);
    int tz_rc = tsfs_check_tz(ctx, s->tz, err);
    if (tz_rc != TSF_OK)
        return tz_rc;
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
    tsf_csv_peek *pk = NULL;
    int rc = peek(ctx, s, &pk, err);
    if (rc == TSF_OK)
        rc = describe(ctx, s, pk, m);
    tsf_csv_peek_free(pk);
    return rc;
}

static int run(tsf_stage_ctx *ctx, void *state, tsf_value *const *in, tsf_value *const *out,
               tsf_err *err)
{
    (void)in;
    const ingest_csv *s = state;
    tsf_csv_options opt;
    read_options(s, &opt);
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
            "(an id column naming the series, a time column, value columns). Times may be ISO "
            "8601 dates or date-times, months (1949-01), quarters (1960Q1), years, day/month/"
            "year dates whose order the column shows, any form given by time_format, or "
            "integers per time_unit. Each series' frequency (a pandas alias: D, h, 15min, B, "
            "W-SUN, MS, ME, QS-JAN, QE-DEC, YS-JAN, YE-DEC, ...) is inferred, allowing missing "
            "periods. Missing values become NaN.",
    .state_size = sizeof(ingest_csv),
    .options = options,
    .outputs = outputs,
    .check = check,
    .run = run,
};
