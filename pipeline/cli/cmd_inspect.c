/* tsflow inspect: what is in a CSV or HDF5 file (rows, step, span, per-column statistics). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_read.h"
#include "tsflow/frame.h"
#include "tsflow/tz.h"

static void json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(out, "\\u%04x", *p);
        else
            fputc(*p, out);
    }
    fputc('"', out);
}

static void json_number(FILE *out, double v)
{
    if (isfinite(v))
        fprintf(out, "%.17g", v);
    else
        fputs("null", out);
}

/* First and last time over all series (rows of a long layout are grouped by series, so the
 * first and last rows are not the span). */
static void span(const tsf_frame *f, int64_t *first, int64_t *last)
{
    *first = f->time[0];
    *last = f->time[f->n_rows - 1];
    for (size_t s = 0; s < f->n_series; s++) {
        size_t r0, n = tsf_frame_series_rows(f, s, &r0);
        if (!n)
            continue;
        if (f->time[r0] < *first)
            *first = f->time[r0];
        if (f->time[r0 + n - 1] > *last)
            *last = f->time[r0 + n - 1];
    }
}

/* Periods of each series' frequency from its first to its last row, over all series (on the
 * local calendar of the frame's zone, where daily periods step). */
static int64_t span_periods(const tsf_frame *f)
{
    int64_t total = 0;
    for (size_t s = 0; s < f->n_series; s++) {
        size_t r0, n = tsf_frame_series_rows(f, s, &r0);
        const tsf_freq *q = tsf_frame_series_freq(f, s);
        int64_t k = 0;
        if (!n)
            continue;
        if (q->unit == TSF_FREQ_NONE || f->time_kind != TSF_TIME_EPOCH)
            k = (int64_t)n - 1;
        else
            tsf_tz_freq_count(f->tz ? tsf_tz_cached(f->tz) : NULL, q, f->time[r0],
                              f->time[r0 + n - 1], &k);
        total += k + 1;
    }
    return total;
}

/* The frequency as text: the frame's alias, or each series' when they differ. */
static void freq_text(const tsf_frame *f, char *buf, size_t n)
{
    char a[24];
    buf[0] = '\0';
    if (f->freq.unit != TSF_FREQ_NONE || !f->series_freq) {
        tsf_freq_format(&f->freq, 0, buf, n);
        return;
    }
    size_t used = 0;
    for (size_t s = 0; s < f->n_series && used + 1 < n; s++)
        used += (size_t)snprintf(buf + used, n - used, "%s%s %s", s ? ", " : "",
                                 f->series_ids ? f->series_ids[s] : "?",
                                 tsf_freq_format(&f->series_freq[s], 0, a, sizeof a));
}

/* Time t as text: in the frame's zone with its offset, or without a zone. buf: 40 bytes. */
static char *time_text(const tsf_frame *f, int64_t t, char *buf, size_t n)
{
    tsf_tz *z = NULL;
    if (!f->tz || f->time_kind != TSF_TIME_EPOCH || tsf_tz_load(&z, f->tz, NULL) != TSF_OK)
        return tsf_time_format(f->time_kind, t, buf, n);
    tsf_tz_format(z, t, buf, n);
    tsf_tz_free(z);
    return buf;
}

static void print_json(FILE *out, const char *path, const tsf_frame *f, size_t n_filled)
{
    char a[40], b[40];
    int64_t t0 = 0, t1 = 0;
    if (f->n_rows)
        span(f, &t0, &t1);
    fputs("{\"file\": ", out);
    json_string(out, path);
    fprintf(out, ", \"rows\": %zu, \"series\": %zu, \"step_seconds\": ", f->n_rows, f->n_series);
    if (f->time_kind == TSF_TIME_EPOCH && f->step > 0)
        fputs(tsf_seconds_format(f->step, a, sizeof a), out);
    else
        fputs("null", out);
    char fq[24];
    size_t season = tsf_freq_season(&f->freq);
    fputs(", \"freq\": ", out);
    if (f->freq.unit != TSF_FREQ_NONE)
        json_string(out, tsf_freq_format(&f->freq, 0, fq, sizeof fq));
    else
        fputs("null", out);
    if (f->series_freq) {
        fputs(", \"series_freq\": [", out);
        for (size_t s = 0; s < f->n_series; s++) {
            fputs(s ? ", " : "", out);
            json_string(out, tsf_freq_format(&f->series_freq[s], 0, fq, sizeof fq));
        }
        fputc(']', out);
    }
    fputs(", \"season\": ", out);
    if (season)
        fprintf(out, "%zu", season);
    else
        fputs("null", out);
    fputs(", \"tz\": ", out);
    if (f->tz)
        json_string(out, f->tz);
    else
        fputs("null", out);
    int64_t periods = f->n_rows ? span_periods(f) : 0;
    fprintf(out, ", \"periods\": %lld, \"missing_periods\": %lld, \"rows_filled\": %zu",
            (long long)periods, (long long)(periods - (int64_t)(f->n_rows - n_filled)), n_filled);
    fputs(", \"time_column\": ", out);
    if (f->time_name)
        json_string(out, f->time_name);
    else
        fputs("null", out);
    fputs(", \"id_column\": ", out);
    if (f->id_name)
        json_string(out, f->id_name);
    else
        fputs("null", out);
    fputs(", \"start\": ", out);
    if (f->n_rows) {
        json_string(out, time_text(f, t0, a, sizeof a));
        fputs(", \"end\": ", out);
        json_string(out, time_text(f, t1, b, sizeof b));
    } else {
        fputs("null, \"end\": null", out);
    }
    fputs(", \"columns\": [", out);
    for (size_t j = 0; j < f->n_cols; j++) {
        tsf_col_stats st;
        tsf_frame_col_stats(f, j, &st);
        fputs(j ? ", {\"name\": " : "{\"name\": ", out);
        json_string(out, f->col_names[j]);
        fprintf(out, ", \"count\": %zu, \"missing\": %zu, \"min\": ", st.count, st.missing);
        json_number(out, st.min);
        fputs(", \"mean\": ", out);
        json_number(out, st.mean);
        fputs(", \"max\": ", out);
        json_number(out, st.max);
        fputs(", \"std\": ", out);
        json_number(out, st.std);
        fputc('}', out);
    }
    fputs("]}\n", out);
}

static void print_text(FILE *out, const char *path, const tsf_frame *f, size_t n_filled)
{
    char a[40], b[40];
    fprintf(out, "%s\n  rows    %zu", path, f->n_rows);
    if (f->n_series > 1)
        fprintf(out, " in %zu series (id column \"%s\")", f->n_series,
                f->id_name ? f->id_name : "?");
    fputc('\n', out);
    if (f->time_kind == TSF_TIME_EPOCH) {
        char fq[512];
        freq_text(f, fq, sizeof fq);
        size_t season = tsf_freq_season(&f->freq);
        if (fq[0] && season)
            fprintf(out, "  freq    %s (season %zu)\n", fq, season);
        else if (fq[0])
            fprintf(out, "  freq    %s (no season)\n", fq);
        else
            fprintf(out, "  freq    unknown\n");
        char sec[32];
        fprintf(out, "  step    %s s%s\n", tsf_seconds_format(f->step, sec, sizeof sec),
                f->freq.unit >= TSF_FREQ_MONTH_START ? " (average)" : "");
    } else {
        fprintf(out, "  step    %lld (integer index)\n", (long long)f->step);
    }
    if (f->n_rows) {
        int64_t t0, t1, periods = span_periods(f);
        span(f, &t0, &t1);
        fprintf(out, "  span    %s .. %s\n", time_text(f, t0, a, sizeof a),
                time_text(f, t1, b, sizeof b));
        if (f->tz)
            fprintf(out, "  tz      %s\n", f->tz);
        fprintf(out, "  periods %lld, %lld missing in the file, %zu row%s filled\n",
                (long long)periods, (long long)(periods - (int64_t)(f->n_rows - n_filled)),
                n_filled, n_filled == 1 ? "" : "s");
    }
    size_t w = 6;
    for (size_t j = 0; j < f->n_cols; j++)
        if (strlen(f->col_names[j]) > w)
            w = strlen(f->col_names[j]);
    fprintf(out, "\n  %-*s %10s %8s %14s %14s %14s\n", (int)w, "column", "count", "missing", "min",
            "mean", "max");
    for (size_t j = 0; j < f->n_cols; j++) {
        tsf_col_stats st;
        tsf_frame_col_stats(f, j, &st);
        fprintf(out, "  %-*s %10zu %8zu %14.6g %14.6g %14.6g\n", (int)w, f->col_names[j], st.count,
                st.missing, st.min, st.mean, st.max);
    }
}

int cmd_inspect(int argc, char **argv)
{
    cli_read_args ra;
    cli_read_args_init(&ra);
    int json = 0;
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        int used = cli_read_args_parse(&ra, argc, argv, &i);
        if (used < 0)
            return CLI_USAGE;
        if (used)
            continue;
        if (!strcmp(argv[i], "--json")) {
            json = 1;
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: tsflow inspect [--json] [READ OPTIONS] FILE\n\n"
                   "Rows, time step, span and per-column count, missing, min, mean, max of a CSV\n"
                   "or HDF5 file. --json prints one JSON object instead of a table.\n\n%s",
                   cli_read_args_help());
            return CLI_OK;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            cli_error("inspect: unknown option \"%s\" (see 'tsflow inspect --help')", argv[i]);
            return CLI_USAGE;
        } else if (!path) {
            path = argv[i];
        } else {
            cli_error("inspect: expected one FILE, got \"%s\" and \"%s\"", path, argv[i]);
            return CLI_USAGE;
        }
    }
    if (!path) {
        cli_error("inspect: expected a FILE to inspect (see 'tsflow inspect --help')");
        return CLI_USAGE;
    }
    tsf_frame *f = NULL;
    int rc = cli_read_frame(&ra, path, &f);
    if (rc != CLI_OK)
        return rc;
    if (json)
        print_json(stdout, path, f, ra.n_filled);
    else
        print_text(stdout, path, f, ra.n_filled);
    tsf_frame_free(f);
    return CLI_OK;
}
