/* Preparing a frame before windows are cut: train/validation/test splits and imputation.
 *
 * A split is a set of row ranges, one per series and part, over the frame it was made from:
 * nothing is copied. Every other module that fits on "the training rows" (scalers, windows,
 * backtests) takes such ranges: `const tsf_range *rows` with n_series entries, one range of frame
 * rows per series.
 *
 * Imputation fills NaN in place. It only reads and writes the rows it is given, and its
 * methods only look backwards except linear interpolation, which looks at the next observed
 * value inside the same rows: applied to the rows before a backtest origin it never sees a
 * value at or after the origin (a gap running into the end is carried forward, as pandas'
 * interpolate() does).
 */
#ifndef TSFLOW_PREP_H
#define TSFLOW_PREP_H

#include <stddef.h>
#include <stdint.h>

#include "tsflow/error.h"
#include "tsflow/frame.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Frame rows [begin, end). */
typedef struct tsf_range {
    size_t begin, end;
} tsf_range;

/* ---- Splits ------------------------------------------------------------------------------- */

enum tsf_part { TSF_PART_TRAIN = 0, TSF_PART_VAL = 1, TSF_PART_TEST = 2, TSF_N_PARTS = 3 };

typedef enum tsf_split_kind {
    TSF_SPLIT_FRACTION = 0, /* shares of each series' length */
    TSF_SPLIT_ROWS = 1,     /* row offsets from each series' first row */
    TSF_SPLIT_TIME = 2,     /* time values (same unit as frame->time) */
} tsf_split_kind;

#define TSF_SPLIT_END SIZE_MAX /* TSF_SPLIT_ROWS: up to the end of each series */

typedef struct tsf_split_spec {
    tsf_split_kind kind;
    /* FRACTION: train, validation and test shares, each >= 0, summing to <= 1. A series of n
     * rows is cut at floor(n * cumulative share) (to 1e-9), so the parts are train [0, b1),
     * validation [b1, b2), test [b2, b3); b3 = n when the shares sum to 1. */
    double fraction[TSF_N_PARTS];
    /* FRACTION: the validation part of a series, when its share is not 0, holds at least this
     * many rows (its start moves earlier into the train part): a window's horizon, so that
     * short series still give a validation window. 0: off. */
    size_t min_validation_rows;
    /* ROWS: boundaries b0 <= b1 <= b2 <= b3 counted from each series' first row: train
     * [b0, b1), validation [b1, b2), test [b2, b3). b3 may be TSF_SPLIT_END. A series shorter
     * than b3 is an error (the ETT split on a shorter file must not silently change). */
    size_t rows[TSF_N_PARTS + 1];
    /* TIME: boundaries t0 <= t1 <= t2 <= t3: part p holds the rows with
     * times[p] <= time < times[p + 1]. INT64_MIN and INT64_MAX are open ends. */
    int64_t times[TSF_N_PARTS + 1];
} tsf_split_spec;

typedef struct tsf_split {
    size_t n_series;
    tsf_range *part[TSF_N_PARTS]; /* (n_series) each: frame rows of that part of series s */
} tsf_split;

/* The ETT standard split (Informer's border1s/border2s; ../shared/datasets/ett/README.md):
 * months of 30 days from the first row, train 12 months, validation 4, test 4, the rest
 * unused. rows_per_day is 24 for ETTh (rows 0, 8640, 11520, 14400) and 96 for ETTm. */
void tsf_split_spec_ett(tsf_split_spec *spec, size_t rows_per_day);

/* Compute the split of every series of f. The training part of every series must be
 * non-empty; validation and test may be empty. Errors name the series, its length and the
 * boundary that does not fit. */
int tsf_split_make(tsf_split **out, const tsf_frame *f, const tsf_split_spec *spec,
                   tsf_err *err) TSF_WUR;

void tsf_split_free(tsf_split *sp);

/* Part name: "train", "validation", "test". */
const char *tsf_part_name(int part);

/* ---- Imputation --------------------------------------------------------------------------- */

typedef enum tsf_impute_method {
    TSF_IMPUTE_REFUSE = 0,   /* fail, naming the missing rows */
    TSF_IMPUTE_FFILL = 1,    /* last observed value */
    TSF_IMPUTE_LINEAR = 2,   /* linear in the row index between the observed neighbours */
    TSF_IMPUTE_SEASONAL = 3, /* the value `season` rows earlier (same time last period) */
} tsf_impute_method;

typedef struct tsf_impute_spec {
    tsf_impute_method method;
    size_t season;      /* SEASONAL: rows per period (e.g. 24 for daily period, hourly data) */
    const size_t *cols; /* (n_cols) columns to impute; NULL = all columns */
    size_t n_cols;      /* entries in cols */
    int allow_unfilled; /* 0: a value that cannot be filled is an error; 1: left NaN */
} tsf_impute_spec;

/* What imputation did to one column. */
typedef struct tsf_impute_counts {
    size_t missing;        /* NaN values found in the rows worked on */
    size_t filled;         /* of those, filled */
    size_t unfilled;       /* left NaN: no earlier value (FFILL, LINEAR) or none a season back */
    size_t first_unfilled; /* row of the first unfilled value, or SIZE_MAX */
} tsf_impute_counts;

/* Defaults: forward fill, all columns, unfilled values are an error. */
void tsf_impute_spec_init(tsf_impute_spec *spec);

/* Fill NaN in place in rows[s] of each series s (rows NULL: every row of every series).
 * counts, when not NULL, has f->n_cols entries and is overwritten (columns not imputed get
 * zeros). Filling runs forward in time, so seasonal and forward fill can chain through filled
 * values. Leading values (before the first observation of a column in the rows) cannot be
 * filled by any method. Errors: REFUSE with any NaN (TSF_ENUMERIC, naming column, series and
 * up to 8 rows with their timestamps), an unfilled value when !allow_unfilled (TSF_ENUMERIC,
 * naming the first one), a bad column or season (TSF_EINVAL). After an unfilled-value error
 * the columns before the failing one have been filled: impute a copy when that matters. */
int tsf_impute(tsf_frame *f, const tsf_impute_spec *spec, const tsf_range *rows,
               tsf_impute_counts *counts, tsf_err *err) TSF_WUR;

/* Method name: "refuse", "ffill", "linear", "seasonal"; parse returns -1 for an unknown one. */
const char *tsf_impute_method_name(tsf_impute_method m);
int tsf_impute_method_parse(const char *name);

#ifdef __cplusplus
}
#endif

#endif
