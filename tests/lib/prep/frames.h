/* Small frames for the prep and eval tests, built from literal arrays. */
#ifndef TSFLOW_TEST_FRAMES_H
#define TSFLOW_TEST_FRAMES_H

#include <string.h>

#include "support.h"
#include "tsflow/frame.h"

#define SEC TSF_US_PER_S /* microseconds per second: timestamps are microseconds */

/* A frame of n_cols columns named a, b, c, ... and n_rows rows: data is column-major
 * (data[j * n_rows + r]; NULL leaves NaN), time t0 + r * step (step 0: index 0, 1, ...). */
static inline tsf_frame *tframe(size_t n_cols, size_t n_rows, const double *data, int64_t t0,
                                int64_t step)
{
    static const char *const names[] = {"a", "b", "c", "d", "e", "f", "g", "h"};
    tsf_frame *f = NULL;
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_frame_alloc(&f, n_cols, n_cols <= 8 ? names : NULL, n_rows, &err), TSF_OK,
                 "%s", err.msg);
    f->n_rows = n_rows;
    for (size_t j = 0; j < n_cols; j++)
        for (size_t r = 0; r < n_rows; r++)
            f->cols[j][r] = data ? data[j * n_rows + r] : __builtin_nan("");
    for (size_t r = 0; r < n_rows; r++)
        f->time[r] = step ? t0 + (int64_t)r * step : (int64_t)r;
    f->time_kind = step ? TSF_TIME_EPOCH : TSF_TIME_INDEX;
    f->step = step ? step : 1;
    cr_assert_eq(tsf_frame_set_series(f, 1, NULL, NULL, &err), TSF_OK, "%s", err.msg);
    return f;
}

/* Split f into n series with the given row offsets (n + 1 of them) and ids (may be NULL). */
static inline void tseries(tsf_frame *f, size_t n, const size_t *starts, const char *const *ids)
{
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_frame_set_series(f, n, ids, starts, &err), TSF_OK, "%s", err.msg);
}

/* Deterministic pseudo-random numbers in [0, 1) (a 64-bit LCG; tests need no quality). */
static inline double trand(unsigned long long *state)
{
    *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(*state >> 11) / 9007199254740992.0;
}

#endif
