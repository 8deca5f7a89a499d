/* Time zones: the zone a frame's instants are shown in.
 *
 * Instants are always UTC (tsflow/frame.h); a zone only says how to show them and how to read
 * local times without an offset. A zone is one of
 *   - "UTC" (also read from "Z", "utc", "+00:00"),
 *   - a fixed offset "+01:00", "-05:30" (also read from "+0100"),
 *   - an IANA name such as "Europe/Berlin", read from the system's compiled zoneinfo
 *     ($TZDIR, else /usr/share/zoneinfo; Debian's tzdata package) by a small TZif reader:
 *     the transition table of version 2+ files. Past the file's last transition (2037 in
 *     Debian's "fat" files) the last offset holds; the POSIX rule in the file's footer is not
 *     applied. Leap-second ("right/") zones are refused.
 * Loading parses the file once; the lookups are pure functions of the loaded table, safe to
 * call from any thread (no setenv("TZ"), no mktime).
 */
#ifndef TSFLOW_TZ_H
#define TSFLOW_TZ_H

#include <stddef.h>
#include <stdint.h>

#include "tsflow/error.h"
#include "tsflow/frame.h"
#include "tsflow/freq.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tsf_tz tsf_tz;

/* Load the zone called name (see above). Errors name the zone and say what was expected. On
 * failure *out is NULL. */
int tsf_tz_load(tsf_tz **out, const char *name, tsf_err *err) TSF_WUR;

/* Free a zone. NULL is a no-op. */
void tsf_tz_free(tsf_tz *z);

/* The canonical name: "UTC", "+01:00" or the IANA name as given. */
const char *tsf_tz_name(const tsf_tz *z);

/* Whether the zone has one offset at all times (UTC and fixed offsets); *offset (may be NULL)
 * gets it in seconds east of UTC. */
int tsf_tz_fixed(const tsf_tz *z, int32_t *offset);

/* The offset in seconds east of UTC at instant t (microseconds since the epoch, UTC, as every
 * instant; an offset is applied to one as offset * TSF_US_PER_S). */
int32_t tsf_tz_offset(const tsf_tz *z, int64_t t);

/* How a local time reads in a zone. */
typedef enum tsf_tz_local {
    TSF_TZ_UNIQUE = 0, /* one instant */
    TSF_TZ_GAP = 1,    /* none: the clocks skip it (spring forward) */
    TSF_TZ_FOLD = 2,   /* two: the clocks show it twice (fall back) */
} tsf_tz_local;

/* Resolve a local wall-clock time (microseconds since 1970-01-01 00:00 on the local calendar) to
 * an instant: *t gets the only one, or the earlier of two (TSF_TZ_FOLD; *later, may be NULL,
 * gets the later one), or for TSF_TZ_GAP the instant the clocks jump at (*later too). */
tsf_tz_local tsf_tz_resolve(const tsf_tz *z, int64_t local, int64_t *t, int64_t *later);

/* Convert local wall-clock times t[0..n) of one series, in time order, to instants in place.
 * A time the clocks show twice is its first instant unless the row before is already at or
 * after that (the second pass of the repeated hour), as pandas' tz_localize(ambiguous="infer")
 * reads a series that runs through the hour twice. Returns n, or the index of the first time
 * the clocks skip (times before it are converted, the rest untouched). */
size_t tsf_tz_localize(const tsf_tz *z, int64_t *t, size_t n);

/* Instant t as "YYYY-MM-DD HH:MM:SS+hh:mm" in zone z, as pandas writes zone-aware times ("+00:00"
 * for UTC), with a fraction of the second when t has one; z NULL: tsf_time_format's form without
 * a zone. buf needs 48 bytes. Returns buf. */
char *tsf_tz_format(const tsf_tz *z, int64_t t, char *buf, size_t n);

/* tsf_tz_format with exactly `digits` (0, 3 or 6) fraction digits (tsf_time_format_digits). */
char *tsf_tz_format_digits(const tsf_tz *z, int64_t t, int digits, char *buf, size_t n);

/* The zone called name, loaded once per process and kept (up to 16 zones), for code that meets
 * a frame's zone name at every row; NULL when it does not load. Thread-safe. */
const tsf_tz *tsf_tz_cached(const char *name);

/* t plus k periods of q, stepping on the local calendar of z (NULL: UTC): fixed durations under
 * a day step on instants (an hour is an hour across a change of offset), longer ones and
 * calendar units on the wall clock (a day later is the same local time, as
 * pandas.date_range(..., tz=...)); a result the clocks skip is the instant they jump at, one
 * shown twice its first pass. */
int64_t tsf_tz_freq_add(const tsf_tz *z, const tsf_freq *q, int64_t t, int64_t k);

/* Periods of q from a to b on the calendar tsf_tz_freq_add steps on (z NULL: UTC): stores in *k
 * the largest k with tsf_tz_freq_add(z, q, a, k) <= b and returns 1 when that is b exactly, 0
 * when b falls between periods. a must be an instant of q in z. */
int tsf_tz_freq_count(const tsf_tz *z, const tsf_freq *q, int64_t a, int64_t b, int64_t *k);

/* Put frame f in zone tz: times without a zone (f->tz NULL) are local wall-clock times there and
 * become instants (tsf_tz_localize per series; a time the clocks skip is an error naming the
 * row); times with a zone are the same instants, shown in tz from now on. For readers that
 * return times without a zone (HDF5). */
int tsf_frame_localize(tsf_frame *f, const char *tz, tsf_err *err) TSF_WUR;

/* Format an offset as "+01:00" ("+00:00" for 0). buf needs 8 bytes. Returns buf. */
char *tsf_tz_offset_format(int32_t offset, char *buf, size_t n);

/* Parse "Z", "+01:00", "+0100", "+01" or "-05:30" into seconds east of UTC. Returns 1, or 0
 * when the text is not an offset. */
int tsf_tz_offset_parse(const char *text, int32_t *offset);

#ifdef __cplusplus
}
#endif

#endif
