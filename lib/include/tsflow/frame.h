/* Frames: the in-memory table every ingest stage produces and every later stage reads.
 *
 * A frame holds one or more series over the same value columns. Rows of one series are
 * contiguous and in time order; series s occupies rows [series_start[s], series_start[s+1]).
 * Values are double, stored column by column (cols[j][r]); NaN marks a missing value.
 *
 * The time index is either timestamps (TSF_TIME_EPOCH: int64 microseconds since 1970-01-01
 * 00:00:00 UTC on the proleptic Gregorian calendar) or a plain integer index (TSF_TIME_INDEX:
 * 0, 1, 2, ... unless the source gave other integers). Microseconds, not nanoseconds: int64
 * microseconds reach +-292,000 years, so sensor data at millisecond and microsecond steps and
 * yearly data from the 1700s both fit, where pandas' int64 nanoseconds stop at 1677-09-21
 * (datetime64[ns] converts exactly when its nanoseconds are whole microseconds; tsflow refuses
 * a finer one rather than round it). Timestamps step on a frequency (tsflow/freq.h): `freq` is
 * the frequency of every series, or TSF_FREQ_NONE when unknown or when series differ (each
 * series' own is then in series_freq). `step` is the spacing in the time unit (microseconds for
 * timestamps): exact for fixed frequencies and for integer indexes, the average length of the
 * period for calendar ones (a month is 2629746 s), for scales and displays; times past a
 * series' end come from tsf_frame_time_at. Every duration on timestamps (frequencies, steps,
 * offsets applied to instants) is in microseconds: use the TSF_US_PER_* factors below.
 *
 * Timestamps are instants in UTC. `tz` names the zone they were given in and are written in
 * (tsflow/tz.h); a frame without one has times without a zone, which tsflow keeps as read
 * (as if UTC) and writes without an offset, as pandas does with naive times.
 */
#ifndef TSFLOW_FRAME_H
#define TSFLOW_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "tsflow/error.h"
#include "tsflow/freq.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tsf_time_kind {
    TSF_TIME_INDEX = 0, /* plain integer index */
    TSF_TIME_EPOCH = 1, /* microseconds since 1970-01-01T00:00:00Z */
} tsf_time_kind;

/* Microseconds per unit: the one place the time unit's factors are written. */
#define TSF_US_PER_MS INT64_C(1000)
#define TSF_US_PER_S INT64_C(1000000)
#define TSF_US_PER_MIN (60 * TSF_US_PER_S)
#define TSF_US_PER_H (3600 * TSF_US_PER_S)
#define TSF_US_PER_DAY (86400 * TSF_US_PER_S)

typedef struct tsf_frame {
    size_t n_rows;    /* rows over all series */
    size_t n_cols;    /* value columns */
    size_t capacity;  /* rows allocated in time[] and each cols[j] */
    char **col_names; /* (n_cols) owned, NUL-terminated */
    double **cols;    /* (n_cols) owned arrays of (capacity) doubles; NaN = missing */
    int64_t *time;    /* (capacity) time index of each row */
    tsf_time_kind time_kind;
    char *time_name;       /* name of the time column in the source, or NULL */
    int64_t step;          /* regular step between rows of one series, or 0 if unknown */
    size_t n_series;       /* >= 1 */
    char **series_ids;     /* (n_series) owned ids, or NULL for one unnamed series */
    size_t *series_start;  /* (n_series + 1) row offsets; series_start[n_series] == n_rows */
    char *id_name;         /* name of the series id column in a long layout, or NULL */
    tsf_freq freq;         /* frequency of all series; TSF_FREQ_NONE if unknown or mixed */
    tsf_freq *series_freq; /* (n_series) owned per-series frequencies, or NULL: all `freq` */
    char *tz; /* zone the timestamps are shown in (tsflow/tz.h: "UTC", "+01:00", an IANA name),
               * or NULL for times without a zone; the instants in time[] are UTC either way */
} tsf_frame;

/* The frequency of series s (series_freq[s], else freq). */
const tsf_freq *tsf_frame_series_freq(const tsf_frame *f, size_t s);

/* The nominal step in microseconds of a frequency (see `step` above); 0 for TSF_FREQ_NONE. */
int64_t tsf_freq_nominal_step(const tsf_freq *q);

/* Allocate a frame with n_cols named columns and room for `capacity` rows. n_rows starts at
 * 0, with one unnamed series, TSF_TIME_INDEX and step 0. names may be NULL: columns are then
 * named "v0", "v1", ... On failure *out is NULL. */
int tsf_frame_alloc(tsf_frame **out, size_t n_cols, const char *const *names, size_t capacity,
                    tsf_err *err) TSF_WUR;

/* Free a frame and everything it owns. NULL is a no-op. */
void tsf_frame_free(tsf_frame *f);

/* Grow the row capacity to at least `capacity` (never shrinks). */
int tsf_frame_reserve(tsf_frame *f, size_t capacity, tsf_err *err) TSF_WUR;

/* Append a column named `name` filled with NaN; returns its index through *col. */
int tsf_frame_add_col(tsf_frame *f, const char *name, size_t *col, tsf_err *err) TSF_WUR;

/* Set the series partition: n_series ids (NULL for one unnamed series) and n_series + 1 row
 * offsets (NULL for one series spanning all rows). Copies both. */
int tsf_frame_set_series(tsf_frame *f, size_t n_series, const char *const *ids,
                         const size_t *starts, tsf_err *err) TSF_WUR;

/* Set the time column name (copied; NULL clears it). */
int tsf_frame_set_time_name(tsf_frame *f, const char *name, tsf_err *err) TSF_WUR;

/* Set the time zone name (copied; NULL: times without a zone). */
int tsf_frame_set_tz(tsf_frame *f, const char *tz, tsf_err *err) TSF_WUR;

/* Deep copy of rows [row0, row0 + n) of every column (series boundaries clipped to the
 * range). */
int tsf_frame_copy_rows(tsf_frame **out, const tsf_frame *f, size_t row0, size_t n,
                        tsf_err *err) TSF_WUR;

/* Index of the column called name, or (size_t)-1 when there is none. */
size_t tsf_frame_col_index(const tsf_frame *f, const char *name);

/* Rows of series s: *row0 is its first row, the return value its length. */
size_t tsf_frame_series_rows(const tsf_frame *f, size_t s, size_t *row0);

/* Summary of one column over all rows (or one series with tsf_frame_series_stats). */
typedef struct tsf_col_stats {
    size_t count;   /* non-missing values */
    size_t missing; /* NaN values */
    double min;     /* NaN when count == 0 */
    double mean;    /* compensated (Neumaier) sum / count; NaN when count == 0 */
    double max;     /* NaN when count == 0 */
    double std;     /* population standard deviation (ddof = 0); NaN when count == 0 */
} tsf_col_stats;

void tsf_frame_col_stats(const tsf_frame *f, size_t col, tsf_col_stats *out);
void tsf_frame_series_stats(const tsf_frame *f, size_t col, size_t s, tsf_col_stats *out);

/* Format a time value as text: ISO 8601 "YYYY-MM-DD HH:MM:SS" (UTC, no zone suffix) for
 * TSF_TIME_EPOCH, with a fraction when t has one ("...:00.250" for whole milliseconds,
 * "...:00.000025" otherwise), or a decimal integer for TSF_TIME_INDEX. buf needs 40 bytes.
 * Returns buf. */
char *tsf_time_format(tsf_time_kind kind, int64_t t, char *buf, size_t n);

/* Like tsf_time_format for TSF_TIME_EPOCH with exactly `digits` (0, 3 or 6) fraction digits,
 * for a column whose values should all look alike (tsf_time_fraction_digits). */
char *tsf_time_format_digits(int64_t t, int digits, char *buf, size_t n);

/* The fraction digits that show every instant t[0..n) exactly, as pandas' to_csv chooses them
 * for a DatetimeIndex: 0 when all are whole seconds, 3 when all are whole milliseconds, else 6. */
int tsf_time_fraction_digits(const int64_t *t, size_t n);

/* A duration in microseconds as decimal seconds, as short as exact: "3600", "0.01", "1.000025".
 * buf needs 32 bytes. Returns buf. */
char *tsf_seconds_format(int64_t us, char *buf, size_t n);

/* Parse an ISO 8601 date or date-time: "2016-07-01", "2016-07-01 00:00:00",
 * "2016-07-01T00:00:00", "2016-07-01 00:00", a fraction of the second after "." or ","
 * ("00:00:00.123", "00:00:00,5", up to 9 digits as pandas reads them) and an optional zone "Z",
 * "+hh:mm", "-hh:mm" or "+hhmm" (converted to UTC). len is the text length (text need not be
 * NUL-terminated). On success stores microseconds since the epoch (UTC) in *t and whether a
 * zone was given in *has_zone (may be NULL), and returns 1; returns 0 when the text is not such
 * a timestamp, and TSF_TIME_SUBUS (-1) when it is one with a non-zero part finer than a
 * microsecond (tsflow's resolution: never rounded). */
int tsf_time_parse_iso(const char *text, size_t len, int64_t *t, int *has_zone);

#define TSF_TIME_SUBUS (-1)

/* Names of series and rows for messages, so that every error names data the same way. */

/* `series "id"`, `series #k` (unnamed, several) or `the series` (one unnamed series).
 * buf needs 96 bytes; returns buf. */
char *tsf_frame_series_label(const tsf_frame *f, size_t s, char *buf, size_t n);

/* The series that holds row r (binary search over series_start). */
size_t tsf_frame_series_of_row(const tsf_frame *f, size_t r);

/* `row 12 (2016-07-01 12:00:00)` for timestamps, `row 12` for a plain index. buf needs 64
 * bytes; returns buf. */
char *tsf_frame_row_label(const tsf_frame *f, size_t r, char *buf, size_t n);

/* The forms of time text read without a format. */
typedef enum tsf_time_form {
    TSF_TIME_FORM_ISO = 0, /* tsf_time_parse_iso */
    TSF_TIME_FORM_MONTH,   /* "1949-01": the first of the month */
    TSF_TIME_FORM_QUARTER, /* "1960Q1", "1960 Q1", "1960-Q1": the first day of the quarter */
} tsf_time_form;

/* tsf_time_parse_iso, or a month "YYYY-MM", or a quarter "YYYYQn" (also "YYYY Qn", "YYYY-Qn",
 * "q"); *form (may be NULL) says which. Returns 1 on success, 0 when the text is none of them,
 * TSF_TIME_SUBUS for an ISO time with a non-zero part finer than a microsecond. */
int tsf_time_parse_text(const char *text, size_t len, int64_t *t, int *has_zone,
                        tsf_time_form *form);

/* tsf_time_parse_text, also giving the UTC offset the text wrote in *offset (may be NULL;
 * seconds east of UTC, 0 for "Z" and without a zone). */
int tsf_time_parse_zoned(const char *text, size_t len, int64_t *t, int *has_zone, int32_t *offset,
                         tsf_time_form *form);

/* Parse text[0..len) with a strptime-style format, independent of locale: %Y (4 digits), %y
 * (2 digits, 69-99 -> 19xx, else 20xx), %m, %d, %H, %M, %S (1 or 2 digits), %f (the fraction of
 * the second: 1 to 9 digits, as pandas.to_datetime(format=) reads it; C's strptime has none),
 * %b and %B (English month names), %%, and literal characters. Fields not given default to
 * 1970-01-01 00:00:00. Returns 1 and microseconds since the epoch (UTC) in *t, 0 when the text
 * does not match or names no real date, TSF_TIME_SUBUS when %f has a non-zero digit past the
 * sixth. */
int tsf_time_parse_format(const char *fmt, const char *text, size_t len, int64_t *t);

/* Whether fmt uses only the directives tsf_time_parse_format knows. */
int tsf_time_format_valid(const char *fmt);

#ifdef __cplusplus
}
#endif

#endif
