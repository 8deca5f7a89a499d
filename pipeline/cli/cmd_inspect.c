/* tsflow inspect: what is in a CSV or HDF5 file (rows, step, span, per-column statistics). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_read.h"
#include "tsflow/frame.h"

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

static void print_json(FILE *out, const char *path, const tsf_frame *f)
{
    char a[32], b[32];
    int64_t t0 = 0, t1 = 0;
    if (f->n_rows)
        span(f, &t0, &t1);
    fputs("{\"file\": ", out);
    json_string(out, path);
    fprintf(out, ", \"rows\": %zu, \"series\": %zu, \"step_seconds\": ", f->n_rows, f->n_series);
    if (f->time_kind == TSF_TIME_EPOCH && f->step > 0)
        fprintf(out, "%lld", (long long)f->step);
    else
        fputs("null", out);
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
        json_string(out, tsf_time_format(f->time_kind, t0, a, sizeof a));
        fputs(", \"end\": ", out);
        json_string(out, tsf_time_format(f->time_kind, t1, b, sizeof b));
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

static void print_text(FILE *out, const char *path, const tsf_frame *f)
{
    char a[32], b[32];
    fprintf(out, "%s\n  rows    %zu", path, f->n_rows);
    if (f->n_series > 1)
        fprintf(out, " in %zu series (id column \"%s\")", f->n_series,
                f->id_name ? f->id_name : "?");
    fputc('\n', out);
    if (f->time_kind == TSF_TIME_EPOCH)
        fprintf(out, "  step    %lld s\n", (long long)f->step);
    else
        fprintf(out, "  step    %lld (integer index)\n", (long long)f->step);
    if (f->n_rows) {
        int64_t t0, t1;
        span(f, &t0, &t1);
        fprintf(out, "  span    %s .. %s\n", tsf_time_format(f->time_kind, t0, a, sizeof a),
                tsf_time_format(f->time_kind, t1, b, sizeof b));
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
        print_json(stdout, path, f);
    else
        print_text(stdout, path, f);
    tsf_frame_free(f);
    return CLI_OK;
}
