/* libFuzzer harness for the CSV reader (tsf_csv_read).
 *
 * The input is the file's content. Each input is read with the default options and with a set
 * of options picked by a hash of the input (delimiter, time column by name or position or none,
 * a long layout's id column, the gap policy, a column selection, missing-value tokens, a tiny
 * field limit), each time twice: through the quote-free fast path and through libcsv alone
 * (tsf__csv_force_libcsv). Both paths must agree exactly (same status and error location,
 * or bit-identical frames); a frame must be consistent and an error must name the file. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv_internal.h"
#include "fuzz_common.h"
#include "tsflow/io.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (tsf_init() != TSF_OK)
        abort();
    return 0;
}

static uint32_t fnv1a(const uint8_t *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

static void pick_options(tsf_csv_options *o, uint32_t h)
{
    static const char delims[] = {0, ',', ';', '\t'};
    static const char *const cols[] = {"load", "a", "v", "rain"};
    static const char *const na[] = {"-", "x", "NA", ""};
    tsf_csv_options_init(o);
    o->delimiter = delims[h & 3];
    h >>= 2;
    switch (h % 6) {
    case 0:
        o->time_index = TSF_CSV_TIME_NONE;
        break;
    case 1:
        o->time_column = "time";
        break;
    case 2:
        o->time_index = 0;
        break;
    case 3:
        o->time_index = 1;
        break;
    default:
        break; /* TSF_CSV_TIME_AUTO */
    }
    h /= 6;
    switch (h % 4) {
    case 0:
        o->id_column = "id";
        break;
    case 1:
        o->id_column = "station";
        break;
    default:
        break;
    }
    h /= 4;
    o->gaps = (h & 1) ? TSF_GAP_FILL : TSF_GAP_ERROR;
    h >>= 1;
    if ((h & 7) == 0) {
        o->columns = cols;
        o->n_columns = 2 + ((h >> 3) & 1) * 2;
    }
    h >>= 4;
    if ((h & 3) == 0) {
        o->na_tokens = na;
        o->n_na_tokens = 1 + ((h >> 2) & 3);
    }
    h >>= 4;
    if ((h & 7) == 0)
        o->max_field = 16;
}

static void frames_equal(const tsf_frame *a, const tsf_frame *b)
{
    FUZZ_REQUIRE(a->n_rows == b->n_rows && a->n_cols == b->n_cols && a->n_series == b->n_series,
                 "fast path %zux%zu/%zu series, libcsv %zux%zu/%zu series", a->n_rows, a->n_cols,
                 a->n_series, b->n_rows, b->n_cols, b->n_series);
    FUZZ_REQUIRE(a->step == b->step && a->time_kind == b->time_kind, "step or time kind differ");
    FUZZ_REQUIRE(!a->time_name == !b->time_name &&
                     (!a->time_name || !strcmp(a->time_name, b->time_name)),
                 "time names differ");
    FUZZ_REQUIRE(!a->id_name == !b->id_name && (!a->id_name || !strcmp(a->id_name, b->id_name)),
                 "id names differ");
    for (size_t j = 0; j < a->n_cols; j++) {
        FUZZ_REQUIRE(!strcmp(a->col_names[j], b->col_names[j]), "column %zu: \"%s\" vs \"%s\"", j,
                     a->col_names[j], b->col_names[j]);
        for (size_t i = 0; i < a->n_rows; i++) {
            double x = a->cols[j][i], y = b->cols[j][i];
            FUZZ_REQUIRE((isnan(x) && isnan(y)) || !memcmp(&x, &y, sizeof x),
                         "row %zu column %zu: %.17g vs %.17g", i, j, x, y);
        }
    }
    if (a->n_rows)
        FUZZ_REQUIRE(!memcmp(a->time, b->time, a->n_rows * sizeof *a->time), "times differ");
    FUZZ_REQUIRE(
        !memcmp(a->series_start, b->series_start, (a->n_series + 1) * sizeof *a->series_start),
        "series starts differ");
    FUZZ_REQUIRE(!a->series_ids == !b->series_ids, "series ids present in one only");
    for (size_t s = 0; a->series_ids && s < a->n_series; s++)
        FUZZ_REQUIRE(!strcmp(a->series_ids[s], b->series_ids[s]), "series %zu ids differ", s);
}

static void read_both(const char *path, const tsf_csv_options *o)
{
    tsf_frame *f[2] = {NULL, NULL};
    tsf_err err[2] = {TSF_ERR_INIT, TSF_ERR_INIT};
    tsf_csv_info info[2];
    int rc[2];
    for (int k = 0; k < 2; k++) {
        tsf__csv_force_libcsv = k;
        rc[k] = tsf_csv_read(&f[k], path, o, &info[k], &err[k]);
        if (rc[k] == TSF_OK) {
            fuzz_check_frame(f[k]);
        } else {
            FUZZ_REQUIRE(f[k] == NULL, "failed read left a frame");
            fuzz_check_error(rc[k], &err[k], path);
        }
    }
    tsf__csv_force_libcsv = 0;
    FUZZ_REQUIRE(rc[0] == rc[1], "fast path status %d (%s), libcsv %d (%s)", rc[0], err[0].msg,
                 rc[1], err[1].msg);
    if (rc[0] == TSF_OK) {
        frames_equal(f[0], f[1]);
        FUZZ_REQUIRE(info[0].n_records == info[1].n_records && info[0].n_lines == info[1].n_lines,
                     "record or line counts differ");
    } else {
        /* Same place (path:line:col); the wording may differ (libcsv stops reading a field at
         * the length limit, the fast path knows its whole length). */
        size_t skip = strlen(path);
        size_t n0 = strcspn(err[0].msg + skip, " "), n1 = strcspn(err[1].msg + skip, " ");
        FUZZ_REQUIRE(n0 == n1 && !strncmp(err[0].msg, err[1].msg, skip + n0),
                     "errors at different places:\n  fast:   %s\n  libcsv: %s", err[0].msg,
                     err[1].msg);
    }
    tsf_frame_free(f[0]);
    tsf_frame_free(f[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write("in.csv", data, size);
    tsf_csv_options o;
    tsf_csv_options_init(&o);
    read_both(path, &o);
    pick_options(&o, fnv1a(data, size));
    read_both(path, &o);
    return 0;
}
