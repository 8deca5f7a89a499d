/* Imputation of missing values (NaN) in place: refuse, forward fill, linear interpolation,
 * seasonal (the value one period earlier). Works only inside the row ranges it is given. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "tsflow/frame.h"
#include "tsflow/prep.h"

static const char *const method_names[] = {"refuse", "ffill", "linear", "seasonal"};

const char *tsf_impute_method_name(tsf_impute_method m)
{
    return (unsigned)m < 4 ? method_names[m] : "?";
}

int tsf_impute_method_parse(const char *name)
{
    for (int k = 0; k < 4; k++)
        if (strcmp(name, method_names[k]) == 0)
            return k;
    return -1;
}

void tsf_impute_spec_init(tsf_impute_spec *spec)
{
    *spec = (tsf_impute_spec){.method = TSF_IMPUTE_FFILL};
}

/* The refusal message: the column, the series and up to 8 missing rows. */
static int refuse(const tsf_frame *f, size_t col, size_t s, const double *x, size_t a, size_t b,
                  size_t n_missing, tsf_err *err)
{
    char msg[640], sl[96], rl[64];
    size_t len = (size_t)snprintf(msg, sizeof msg,
                                  "impute: column \"%.80s\" of %s has %zu missing "
                                  "value%s (impute method: refuse): ",
                                  f->col_names[col], tsf_frame_series_label(f, s, sl, sizeof sl),
                                  n_missing, n_missing == 1 ? "" : "s");
    size_t shown = 0;
    for (size_t r = a; r < b && shown < 8; r++) {
        if (!isnan(x[r]))
            continue;
        if (len < sizeof msg)
            len += (size_t)snprintf(msg + len, sizeof msg - len, "%s%s", shown ? ", " : "",
                                    tsf_frame_row_label(f, r, rl, sizeof rl));
        shown++;
    }
    if (shown < n_missing && len < sizeof msg)
        snprintf(msg + len, sizeof msg - len, ", ...");
    TSF_FAIL(err, TSF_ENUMERIC, "%s", msg);
}

/* Fill x[a, b) with the method; returns the number filled. */
static size_t fill(const tsf_impute_spec *spec, double *x, size_t a, size_t b)
{
    size_t filled = 0;
    switch (spec->method) {
    case TSF_IMPUTE_REFUSE:
        break;
    case TSF_IMPUTE_FFILL: {
        size_t last = SIZE_MAX;
        for (size_t r = a; r < b; r++) {
            if (!isnan(x[r]))
                last = r;
            else if (last != SIZE_MAX) {
                x[r] = x[last];
                filled++;
            }
        }
        break;
    }
    case TSF_IMPUTE_LINEAR: {
        size_t last = SIZE_MAX;
        for (size_t r = a; r < b; r++) {
            if (isnan(x[r]))
                continue;
            if (last != SIZE_MAX && r > last + 1) {
                /* x[last + k] = x[last] + k (x[r] - x[last]) / (r - last), as numpy.interp. */
                double d = (double)(r - last), x0 = x[last], x1 = x[r];
                for (size_t k = 1; last + k < r; k++) {
                    double w = (double)k / d;
                    x[last + k] = x0 + w * (x1 - x0);
                    filled++;
                }
            }
            last = r;
        }
        /* A trailing gap has no right neighbour inside the rows: carry the last value, as
         * pandas' interpolate() does, so nothing after the rows is ever needed. */
        if (last != SIZE_MAX)
            for (size_t r = last + 1; r < b; r++) {
                x[r] = x[last];
                filled++;
            }
        break;
    }
    case TSF_IMPUTE_SEASONAL:
        for (size_t r = a + spec->season; r < b; r++)
            if (isnan(x[r]) && !isnan(x[r - spec->season])) {
                x[r] = x[r - spec->season];
                filled++;
            }
        break;
    }
    return filled;
}

int tsf_impute(tsf_frame *f, const tsf_impute_spec *spec, const tsf_range *rows,
               tsf_impute_counts *counts, tsf_err *err)
{
    if ((unsigned)spec->method > TSF_IMPUTE_SEASONAL)
        TSF_FAIL(err, TSF_EINVAL, "impute: unknown method %d", (int)spec->method);
    if (spec->method == TSF_IMPUTE_SEASONAL && spec->season == 0)
        TSF_FAIL(err, TSF_EINVAL, "impute: method seasonal needs season >= 1 (rows per period)");
    size_t n_cols = spec->cols ? spec->n_cols : f->n_cols;
    for (size_t k = 0; k < n_cols; k++)
        if (spec->cols && spec->cols[k] >= f->n_cols)
            TSF_FAIL(err, TSF_EINVAL, "impute: column %zu does not exist (the frame has %zu)",
                     spec->cols[k], f->n_cols);
    for (size_t s = 0; rows && s < f->n_series; s++)
        if (rows[s].begin > rows[s].end || rows[s].begin < f->series_start[s] ||
            rows[s].end > f->series_start[s + 1])
            TSF_FAIL(err, TSF_EINVAL,
                     "impute: rows [%zu, %zu) are outside series %zu (rows "
                     "[%zu, %zu))",
                     rows[s].begin, rows[s].end, s, f->series_start[s], f->series_start[s + 1]);
    if (counts)
        for (size_t j = 0; j < f->n_cols; j++)
            counts[j] = (tsf_impute_counts){.first_unfilled = SIZE_MAX};

    for (size_t k = 0; k < n_cols; k++) {
        size_t col = spec->cols ? spec->cols[k] : k;
        double *x = f->cols[col];
        tsf_impute_counts c = {.first_unfilled = SIZE_MAX};
        size_t bad_series = 0;
        for (size_t s = 0; s < f->n_series; s++) {
            size_t a = rows ? rows[s].begin : f->series_start[s];
            size_t b = rows ? rows[s].end : f->series_start[s + 1];
            size_t missing = 0;
            for (size_t r = a; r < b; r++)
                missing += isnan(x[r]) != 0;
            if (!missing)
                continue;
            if (spec->method == TSF_IMPUTE_REFUSE)
                return refuse(f, col, s, x, a, b, missing, err);
            c.missing += missing;
            size_t filled = fill(spec, x, a, b);
            c.filled += filled;
            if (filled < missing) {
                c.unfilled += missing - filled;
                for (size_t r = a; r < b && c.first_unfilled == SIZE_MAX; r++)
                    if (isnan(x[r])) {
                        c.first_unfilled = r;
                        bad_series = s;
                    }
            }
        }
        if (counts)
            counts[col] = c;
        if (c.unfilled && !spec->allow_unfilled) {
            char sl[96], rl[64];
            const char *why = spec->method == TSF_IMPUTE_SEASONAL ? "no value one season earlier"
                                                                  : "no earlier observed value";
            TSF_FAIL(err, TSF_ENUMERIC,
                     "impute: column \"%.80s\" of %s: %s is missing and has %s to fill from "
                     "(impute method: %s); %zu value%s left unfilled",
                     f->col_names[col], tsf_frame_series_label(f, bad_series, sl, sizeof sl),
                     tsf_frame_row_label(f, c.first_unfilled, rl, sizeof rl), why,
                     tsf_impute_method_name(spec->method), c.unfilled, c.unfilled == 1 ? "" : "s");
        }
    }
    return TSF_OK;
}
