/* Train/validation/test splits: row ranges per series, by share, by row offset or by time. */
#include <math.h>
#include <stdlib.h>

#include "tsflow/frame.h"
#include "tsflow/prep.h"

const char *tsf_part_name(int part)
{
    static const char *const names[TSF_N_PARTS] = {"train", "validation", "test"};
    return part >= 0 && part < TSF_N_PARTS ? names[part] : "?";
}

void tsf_split_spec_ett(tsf_split_spec *spec, size_t rows_per_day)
{
    const size_t month = 30 * rows_per_day;
    *spec = (tsf_split_spec){.kind = TSF_SPLIT_ROWS};
    spec->rows[0] = 0;
    spec->rows[1] = 12 * month;
    spec->rows[2] = 16 * month;
    spec->rows[3] = 20 * month;
}

void tsf_split_free(tsf_split *sp)
{
    if (!sp)
        return;
    free(sp->part[0]);
    free(sp);
}

/* Index of the first row in [a, b) whose time is >= t (rows are in time order). */
static size_t lower_bound(const int64_t *time, size_t a, size_t b, int64_t t)
{
    while (a < b) {
        size_t mid = a + (b - a) / 2;
        if (time[mid] < t)
            a = mid + 1;
        else
            b = mid;
    }
    return a;
}

static int check_spec(const tsf_split_spec *spec, tsf_err *err)
{
    switch (spec->kind) {
    case TSF_SPLIT_FRACTION: {
        double sum = 0;
        for (int p = 0; p < TSF_N_PARTS; p++) {
            double x = spec->fraction[p];
            if (!(x >= 0 && x <= 1))
                TSF_FAIL(err, TSF_EINVAL, "split: %s share %g is outside [0, 1]", tsf_part_name(p),
                         x);
            sum += x;
        }
        if (sum > 1 + 1e-9)
            TSF_FAIL(err, TSF_EINVAL,
                     "split: shares %g + %g + %g add up to %g (expected at most 1)",
                     spec->fraction[0], spec->fraction[1], spec->fraction[2], sum);
        if (spec->fraction[TSF_PART_TRAIN] <= 0)
            TSF_FAIL(err, TSF_EINVAL, "split: the train share must be positive");
        return TSF_OK;
    }
    case TSF_SPLIT_ROWS:
        for (int k = 0; k < TSF_N_PARTS; k++)
            if (spec->rows[k] > spec->rows[k + 1])
                TSF_FAIL(err, TSF_EINVAL,
                         "split: row boundaries %zu, %zu, %zu, %zu are not in increasing order",
                         spec->rows[0], spec->rows[1], spec->rows[2], spec->rows[3]);
        return TSF_OK;
    case TSF_SPLIT_TIME:
        for (int k = 0; k < TSF_N_PARTS; k++)
            if (spec->times[k] > spec->times[k + 1])
                TSF_FAIL(err, TSF_EINVAL,
                         "split: time boundaries are not in increasing order "
                         "(boundary %d is after boundary %d)",
                         k, k + 1);
        return TSF_OK;
    }
    TSF_FAIL(err, TSF_EINVAL, "split: unknown kind %d", (int)spec->kind);
}

/* Boundaries (offsets from the series start) for a series of n rows. */
static void fraction_bounds(const tsf_split_spec *spec, size_t n, size_t b[TSF_N_PARTS + 1])
{
    double cum = 0;
    b[0] = 0;
    for (int p = 0; p < TSF_N_PARTS; p++) {
        cum += spec->fraction[p];
        /* 1e-9 keeps 0.7 + 0.1 (= 0.7999999...) times 10 at 8 rows. */
        double x = floor(cum * (double)n + 1e-9);
        size_t v = x >= (double)n ? n : (size_t)x;
        b[p + 1] = v;
    }
    if (cum >= 1 - 1e-9)
        b[TSF_N_PARTS] = n;
    size_t v = spec->min_validation_rows;
    if (spec->fraction[TSF_PART_VAL] > 0 && b[2] - b[1] < v)
        b[1] = b[2] > v ? b[2] - v : 0;
}

int tsf_split_make(tsf_split **out, const tsf_frame *f, const tsf_split_spec *spec, tsf_err *err)
{
    *out = NULL;
    int rc = check_spec(spec, err);
    if (rc != TSF_OK)
        return rc;
    if (spec->kind == TSF_SPLIT_TIME && f->time_kind != TSF_TIME_EPOCH &&
        f->time_kind != TSF_TIME_INDEX)
        TSF_FAIL(err, TSF_EINVAL, "split: unknown time kind");
    tsf_split *sp = calloc(1, sizeof *sp);
    tsf_range *r = calloc(TSF_N_PARTS * (f->n_series ? f->n_series : 1), sizeof *r);
    if (!sp || !r) {
        free(sp);
        free(r);
        TSF_FAIL(err, TSF_ENOMEM, "split: out of memory for %zu series", f->n_series);
    }
    sp->n_series = f->n_series;
    for (int p = 0; p < TSF_N_PARTS; p++)
        sp->part[p] = r + (size_t)p * f->n_series;

    for (size_t s = 0; s < f->n_series; s++) {
        size_t a = f->series_start[s], n = f->series_start[s + 1] - a;
        size_t b[TSF_N_PARTS + 1];
        char sl[96];
        if (spec->kind == TSF_SPLIT_FRACTION) {
            fraction_bounds(spec, n, b);
        } else if (spec->kind == TSF_SPLIT_ROWS) {
            for (int k = 0; k <= TSF_N_PARTS; k++)
                b[k] = spec->rows[k];
            if (b[TSF_N_PARTS] == TSF_SPLIT_END)
                b[TSF_N_PARTS] = n < b[TSF_N_PARTS - 1] ? b[TSF_N_PARTS - 1] : n;
            if (b[TSF_N_PARTS] > n) {
                tsf_split_free(sp);
                TSF_FAIL(err, TSF_EINVAL,
                         "split: %s has %zu rows, but the split by rows needs %zu (the test "
                         "part is rows [%zu, %zu))",
                         tsf_frame_series_label(f, s, sl, sizeof sl), n, b[TSF_N_PARTS], b[2],
                         b[3]);
            }
        } else {
            for (int k = 0; k <= TSF_N_PARTS; k++)
                b[k] = lower_bound(f->time, a, a + n, spec->times[k]) - a;
        }
        for (int p = 0; p < TSF_N_PARTS; p++)
            sp->part[p][s] = (tsf_range){a + b[p], a + b[p + 1]};
        if (b[1] <= b[0]) {
            tsf_split_free(sp);
            TSF_FAIL(err, TSF_EINVAL, "split: the train part of %s (%zu rows) is empty",
                     tsf_frame_series_label(f, s, sl, sizeof sl), n);
        }
    }
    *out = sp;
    return TSF_OK;
}
