/* CSV writer: a frame as text that tsf_csv_read turns back into the same frame, bit for bit.
 *
 * Header "<time>,<cols>" (long layout: "<id>,<time>,<cols>"), where <time> is the frame's time
 * column name or "time" and <id> its id column name or "id". Timestamps as tsf_time_format
 * writes them ("YYYY-MM-DD HH:MM:SS") for a frame without a zone, with as many fraction digits
 * as the finest of them needs, on every row (".250" for milliseconds, ".000025" for
 * microseconds, none when all are whole seconds), as pandas' to_csv writes a DatetimeIndex, and in
 * the frame's zone with their offset ("2020-03-29 03:00:00+02:00", as pandas' to_csv writes
 * zone-aware times) for one with a zone (reading back a zone whose offset changes takes its tz
 * again); values as the shortest of %.15g/%.16g/%.17g that reads back as the same double (so ETT's
 * values are written as they appear in its files); NaN as an empty field, infinities as inf/-inf. A
 * frame with a plain integer index 0, 1, 2, ... per series gets no time column (reading it back
 * gives the same index); any other integer index is written as a column, which reads back only when
 * named as the time column (and then with its time_unit). Names and ids are quoted when they need
 * it. Written atomically.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tsflow/atomic.h"
#include "tsflow/io.h"
#include "tsflow/tz.h"

/* Write s as one CSV field, quoted when it holds a delimiter, quote, line break or
 * surrounding blanks (which libcsv would trim), or when it is empty. */
static void put_field(FILE *fp, const char *s)
{
    size_t n = strlen(s);
    int quote = n == 0 || strpbrk(s, ",;\t\"\r\n") != NULL || s[0] == ' ' || s[n - 1] == ' ';
    if (!quote) {
        fwrite(s, 1, n, fp);
        return;
    }
    putc('"', fp);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"')
            putc('"', fp);
        putc(s[i], fp);
    }
    putc('"', fp);
}

/* Whether the frame's time index is the default 0, 1, 2, ... within every series. */
static int default_index(const tsf_frame *f)
{
    if (f->time_kind != TSF_TIME_INDEX)
        return 0;
    for (size_t s = 0; s < f->n_series; s++) {
        size_t r0, n = tsf_frame_series_rows(f, s, &r0);
        for (size_t i = 0; i < n; i++)
            if (f->time[r0 + i] != (int64_t)i)
                return 0;
    }
    return 1;
}

int tsf_csv_write(const tsf_frame *f, const char *path, tsf_err *err)
{
    tsf_atomic a;
    tsf_tz *z = NULL;
    if (f->tz && f->time_kind == TSF_TIME_EPOCH && tsf_tz_load(&z, f->tz, err) != TSF_OK) {
        (void)tsf_err_prefix(err, "%s", path);
        return err ? err->code : TSF_EINVAL;
    }
    int rc = tsf_atomic_begin(&a, path, err);
    if (rc != TSF_OK) {
        tsf_tz_free(z);
        return rc;
    }
    FILE *fp = tsf_atomic_stream(&a);
    if (!fp) {
        tsf_tz_free(z);
        tsf_atomic_abort(&a);
        TSF_FAIL(err, TSF_EIO, "%s: cannot open a stream on the temporary file", path);
    }
    setvbuf(fp, NULL, _IOFBF, 1 << 16);
    int with_id = f->series_ids != NULL || f->n_series > 1;
    int with_time = !default_index(f);
    int first = 1;
    if (with_id) {
        put_field(fp, f->id_name ? f->id_name : "id");
        first = 0;
    }
    if (with_time) {
        if (!first)
            putc(',', fp);
        put_field(fp, f->time_name ? f->time_name : "time");
        first = 0;
    }
    for (size_t c = 0; c < f->n_cols; c++) {
        if (!first)
            putc(',', fp);
        put_field(fp, f->col_names[c]);
        first = 0;
    }
    putc('\n', fp);
    char buf[64];
    int digits = f->time_kind == TSF_TIME_EPOCH ? tsf_time_fraction_digits(f->time, f->n_rows) : 0;
    for (size_t s = 0; s < f->n_series; s++) {
        char idbuf[32];
        const char *id = NULL;
        if (with_id) {
            if (f->series_ids) {
                id = f->series_ids[s];
            } else {
                snprintf(idbuf, sizeof idbuf, "%zu", s);
                id = idbuf;
            }
        }
        size_t r0, n = tsf_frame_series_rows(f, s, &r0);
        for (size_t r = r0; r < r0 + n; r++) {
            first = 1;
            if (id) {
                put_field(fp, id);
                first = 0;
            }
            if (with_time) {
                if (!first)
                    putc(',', fp);
                fputs(f->time_kind == TSF_TIME_EPOCH
                          ? tsf_tz_format_digits(z, f->time[r], digits, buf, sizeof buf)
                          : tsf_time_format(f->time_kind, f->time[r], buf, sizeof buf),
                      fp);
                first = 0;
            }
            for (size_t c = 0; c < f->n_cols; c++) {
                if (!first)
                    putc(',', fp);
                first = 0;
                size_t len = tsf_format_double(buf, sizeof buf, f->cols[c][r]);
                fwrite(buf, 1, len, fp);
            }
            putc('\n', fp);
        }
        if (ferror(fp))
            break;
    }
    tsf_tz_free(z);
    return tsf_atomic_commit(&a, err);
}
