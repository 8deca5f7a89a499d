/* Windows: (lookback, horizon) samples cut from a frame, as views, never copies.
 *
 * A window with origin t (a row index) reads input rows [t - lookback, t) and forecasts rows
 * [t, t + horizon) of the same series; a window never crosses a series boundary. Only the
 * origins are stored (one size_t each), so memory does not grow with lookback x windows;
 * tsf_windows_gather() copies a batch into the float tensors the network consumes.
 *
 * Per time step the network input has I = n_targets + n_past + n_future + n_calendar
 * features, in that order: target values, past covariates, known-future covariates, calendar
 * features derived from timestamps. Over the horizon only known-future covariates and
 * calendar features are known: F = n_future + n_calendar.
 *
 * With channel_independent set, each target column of each window is a separate sample of one
 * target (n_targets = 1 per sample, covariates shared): sample k is window k / n_targets,
 * target k % n_targets.
 */
#ifndef TSFLOW_WINDOW_H
#define TSFLOW_WINDOW_H

#include <stddef.h>

#include "tsflow/error.h"
#include "tsflow/frame.h"
#include "tsflow/prep.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Calendar features (bit flags), each scaled to [-0.5, 0.5] as in Informer's time features. */
enum tsf_calendar {
    TSF_CAL_MINUTE = 1 << 0,      /* minute of hour */
    TSF_CAL_HOUR = 1 << 1,        /* hour of day */
    TSF_CAL_DAY_OF_WEEK = 1 << 2, /* Monday = 0 */
    TSF_CAL_DAY_OF_MONTH = 1 << 3,
    TSF_CAL_DAY_OF_YEAR = 1 << 4,
    TSF_CAL_MONTH = 1 << 5,
};

typedef struct tsf_window_spec {
    size_t lookback;           /* T: input steps */
    size_t horizon;            /* L: forecast steps */
    size_t stride;             /* rows between consecutive origins (>= 1) */
    const size_t *target_cols; /* (n_targets) frame columns to forecast (also inputs) */
    size_t n_targets;
    const size_t *past_cols; /* (n_past) covariates known only up to the origin */
    size_t n_past;
    const size_t *future_cols; /* (n_future) covariates known over the horizon too */
    size_t n_future;
    unsigned calendar;       /* tsf_calendar flags; needs TSF_TIME_EPOCH */
    int channel_independent; /* 1: one sample per (window, target) */
} tsf_window_spec;

typedef struct tsf_windows {
    const tsf_frame *frame; /* viewed, not owned: must outlive the windows */
    tsf_window_spec spec;   /* column arrays copied and owned */
    size_t n_windows;       /* windows (not samples) */
    size_t *origin;         /* (n_windows) row index t of the first forecast row */
    size_t *series;         /* (n_windows) series index of each window */
    size_t n_calendar;      /* calendar features per step */
    size_t n_inputs;        /* I, see above */
    size_t n_future_inputs; /* F, see above */
    size_t n_outputs;       /* O: n_targets, or 1 when channel_independent */
    size_t n_samples;       /* n_windows, or n_windows * n_targets when channel_independent */
} tsf_windows;

/* Cut every window whose origin t satisfies row_begin <= t, t + horizon <= row_end (rows of
 * the frame, across all series, each window inside one series), t - lookback >= the series'
 * first row, and (t - first origin of the series) % stride == 0. Errors name the series and
 * the lengths when a series is too short, and a window input containing NaN is refused when
 * require_finite is set (naming series, row and column). */
int tsf_windows_make(tsf_windows **out, const tsf_frame *f, const tsf_window_spec *spec,
                     size_t row_begin, size_t row_end, int require_finite, tsf_err *err) TSF_WUR;

void tsf_windows_free(tsf_windows *w);

/* Copy samples idx[0..B) into network tensors (all row-major, time outermost):
 *   x:  (T, B, I) inputs over the lookback
 *   xf: (L, B, F) known-future inputs over the horizon (may be NULL when F == 0)
 *   y:  (L, B, O) targets over the horizon (may be NULL for inference past the data end)
 * Values are converted to float. */
void tsf_windows_gather(const tsf_windows *w, const size_t *idx, size_t B, float *x, float *xf,
                        float *y);

/* The series, window and target of sample k (for error messages and forecast export). */
void tsf_windows_sample_info(const tsf_windows *w, size_t k, size_t *series, size_t *origin_row,
                             size_t *target);

/* ---- Added by prep (extensions; the declarations above are the contract) ----------------- */

/* Notes on the contract above, as implemented in lib/prep/window.c:
 *  - tsf_windows_sample_info gives target = SIZE_MAX when windows are not channel
 *    independent (a sample then holds all targets).
 *  - require_finite also checks the targets over the horizon (rows inside the data), since a
 *    NaN target would make the loss NaN.
 *  - Calendar features are computed from timestamps at gather time (nothing is stored). */

/* Like tsf_windows_make with one row range per series (ranges: n_series entries, e.g. a split
 * part: tsf_split.part[TSF_PART_TEST]): origins t with ranges[s].begin <= t and
 * t + horizon <= ranges[s].end; the lookback may reach back before ranges[s].begin (as the ETT
 * protocol's test windows reach into the validation rows). An empty range gives no windows;
 * a non-empty range in which no window fits is an error naming the series. require_finite
 * checks the inputs (lookback rows of every input column, horizon rows of the future
 * covariates) and the targets over the horizon. */
int tsf_windows_make_ranges(tsf_windows **out, const tsf_frame *f, const tsf_window_spec *spec,
                            const tsf_range *ranges, int require_finite, tsf_err *err) TSF_WUR;

/* Windows at explicit origins: window k is series[k], origin row origins[k] (n entries, in any
 * order). An origin may equal the series' end row (a forecast beyond the data, what predict
 * needs): horizon rows past the series end have no targets (gather writes NaN into y there),
 * their calendar features continue the frame's step, and future covariates are refused there.
 * The lookback must lie inside the series. The stride of spec is ignored. */
int tsf_windows_make_at(tsf_windows **out, const tsf_frame *f, const tsf_window_spec *spec,
                        const size_t *series, const size_t *origins, size_t n, int require_finite,
                        tsf_err *err) TSF_WUR;

/* The calendar features selected by flags (tsf_calendar) for time t (microseconds since the epoch,
 * on the clock they describe: windows pass a frame's local time, instant plus its zone's
 * offset), in flag-bit order, as Informer's timefeatures.py computes them:
 *   minute/59 - 0.5, hour/23 - 0.5, weekday/6 - 0.5 (Monday = 0), (day - 1)/30 - 0.5,
 *   (day of year - 1)/365 - 0.5, (month - 1)/11 - 0.5.
 * out has room for 6 values; returns how many were written. */
size_t tsf_calendar_features(unsigned flags, int64_t t, float *out);

/* The frame time of row `row` of series s; past the series end (forecasts beyond the data),
 * the last time plus periods of the series' frequency on the calendar (the local one of the
 * frame's zone: tsf_tz_freq_add), or plus steps of an integer index. */
int64_t tsf_series_time_at(const tsf_frame *f, size_t s, size_t row);

#ifdef __cplusplus
}
#endif

#endif
