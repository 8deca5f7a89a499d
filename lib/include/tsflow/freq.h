/* Frequencies: the calendar a time axis steps on.
 *
 * A frequency is a fixed duration (microseconds to days, and weeks anchored on a weekday) or a
 * calendar unit (business day, month, quarter, year, at the start or the end of the unit), with
 * a multiple. They are spelled as pandas' offset aliases, so that
 * pandas.date_range(start, periods=n, freq=ALIAS) gives the same instants as tsflow:
 *
 *   fixed       "D", "h" (1.5: "H"), "min" ("T"), "s" ("S"), "ms" ("L"), "us" ("U"), with a
 *               multiple: "15min", "2h", "500ms"; "ns" ("N") only as whole microseconds
 *   weeks       "W-MON" .. "W-SUN" ("W" is "W-SUN")
 *   business    "B" (Monday to Friday; holidays are missing periods)
 *   months      "MS" (first day), "ME" (last day; 1.5: "M")
 *   quarters    "QS-JAN" .. (start), "QE-DEC" .. (end; 1.5: "Q-DEC"); "QS" is "QS-JAN", "QE"
 * "QE-DEC" years       "YS-JAN" .. (start; 1.5: "AS-JAN"), "YE-DEC" .. (end; 1.5: "A-DEC")
 *
 * Instants are int64 microseconds since 1970-01-01T00:00:00 UTC on the proleptic Gregorian
 * calendar (tsflow/frame.h): they reach far beyond the 1700s both ways (pandas' nanoseconds stop
 * at 1677), and one microsecond is the finest step. Calendar units keep the time of day of the
 * instant they start from. Quarter anchors name a month of the quarter cycle as pandas does: QE-DEC
 * ends quarters in Mar, Jun, Sep and Dec; QS-OCT and QS-JAN both start them in Jan, Apr, Jul, Oct.
 */
#ifndef TSFLOW_FREQ_H
#define TSFLOW_FREQ_H

#include <stddef.h>
#include <stdint.h>

#include "tsflow/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tsf_freq_unit {
    TSF_FREQ_NONE = 0,      /* unknown (fewer than two instants, or an integer index) */
    TSF_FREQ_FIXED,         /* a fixed duration of n microseconds */
    TSF_FREQ_WEEK,          /* n weeks ending on weekday `anchor` (0 Monday .. 6 Sunday) */
    TSF_FREQ_BDAY,          /* n business days, Monday to Friday */
    TSF_FREQ_MONTH_START,   /* n months, on the first day */
    TSF_FREQ_MONTH_END,     /* n months, on the last day */
    TSF_FREQ_QUARTER_START, /* n quarters, first day; anchor: a starting month (1..12) */
    TSF_FREQ_QUARTER_END,   /* n quarters, last day; anchor: an ending month (1..12) */
    TSF_FREQ_YEAR_START,    /* n years, first day of month `anchor` (1..12) */
    TSF_FREQ_YEAR_END,      /* n years, last day of month `anchor` (1..12) */
} tsf_freq_unit;

typedef struct tsf_freq {
    tsf_freq_unit unit;
    int64_t n;  /* the multiple (>= 1); for TSF_FREQ_FIXED, the duration in microseconds */
    int anchor; /* weekday (TSF_FREQ_WEEK) or month (quarters, years); 0 otherwise */
} tsf_freq;

/* Parse a pandas offset alias (pandas 1.5 and 2.x names, see above). Errors say what was
 * expected. */
int tsf_freq_parse(const char *text, tsf_freq *out, tsf_err *err) TSF_WUR;

/* Print f as a pandas alias: pandas 2.x names, or pandas 1.5's with pandas1 != 0. "" for
 * TSF_FREQ_NONE. buf needs 24 bytes. Returns buf. */
char *tsf_freq_format(const tsf_freq *f, int pandas1, char *buf, size_t n);

/* Whether a and b step on the same instants (QS-JAN and QS-OCT do). */
int tsf_freq_equal(const tsf_freq *a, const tsf_freq *b);

/* Infer the frequency of n increasing instants t (n >= 2), allowing missing periods: the
 * coarsest unit that every difference is a whole multiple of, tried in pandas.infer_freq's
 * order: years, quarters, months (when every instant is a month start, or every one a month
 * end), weeks, business days (when no instant falls on a weekend and some difference spans
 * one), days, then the greatest common divisor of the differences in microseconds. On regular
 * instants this is pandas.infer_freq's answer. Returns 1 and sets *out, or 0 (unit NONE) when
 * n < 2 or the instants are not increasing. */
int tsf_freq_infer(const int64_t *t, size_t n, tsf_freq *out);

/* Whether t is an instant of f (a month start for MS, a weekday for B, ...; any instant for a
 * fixed duration). */
int tsf_freq_on_offset(const tsf_freq *f, int64_t t);

/* t + k periods of f (k may be negative), for t on f's offsets: Jan 31 + 1 ME is Feb 28 or 29,
 * Friday + 1 B is Monday. f must not be TSF_FREQ_NONE. */
int64_t tsf_freq_add(const tsf_freq *f, int64_t t, int64_t k);

/* Periods of f from a to b: stores in *k the largest k with tsf_freq_add(f, a, k) <= b and
 * returns 1 when that is b exactly, 0 when b falls between periods. */
int tsf_freq_count(const tsf_freq *f, int64_t a, int64_t b, int64_t *k);

/* The season of f in periods (periods per day from a second to a day, a week of days, 5
 * business days, 52 weeks, 12 months, 4 quarters, 1 for years), or 0 when f has none (a step
 * that does not divide its natural cycle, such as 5h or 2D, and steps under a second). */
size_t tsf_freq_season(const tsf_freq *f);

#ifdef __cplusplus
}
#endif

#endif
