/* CF conventions (cfconventions.org) shared by the HDF5 readers. Private to lib/io. */
#ifndef TSFLOW_IO_HDF5_CF_H
#define TSFLOW_IO_HDF5_CF_H

#include <stddef.h>
#include <stdint.h>

/* Parse CF time units "<unit> since <reference time>": microseconds per unit as num/den and
 * the reference time in microseconds since 1970-01-01 UTC. Returns 1 when the text has "since", 0
 * when it has not, -1 when it cannot be read. */
int tsf__cf_parse_units(const char *u, int64_t *num, int64_t *den, int64_t *base);

/* Parse a CF reference time (text[0..len)) as UDUNITS and xarray read it: "Y-M-D" with 1- or
 * 2-digit month and day, then optionally " " or "T" and "H", "H:M" or "H:M:S" (a fraction of
 * whole microseconds allowed), then optionally, with or without a space, a zone "Z", "UTC", "GMT",
 * "+hh:mm",
 * "+hhmm", "+hh" or "+h" (or "-"), which is subtracted: "2000-01-01 00:00:00 +01:00" is
 * 1999-12-31 23:00:00 UTC. Returns 1 and the time in *t, or 0 when the text is not such a time. */
int tsf__cf_parse_time(const char *text, size_t len, int64_t *t);

#endif
