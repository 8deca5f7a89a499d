/* Internals of the CSV reader (tsf__ prefix): exact number parsing, and the switch that tests
 * use to compare its two paths. Not part of the public API. */
#ifndef TSFLOW_IO_CSV_INTERNAL_H
#define TSFLOW_IO_CSV_INTERNAL_H

#include <stddef.h>

/* Parse the whole of s[0..n) (not NUL-terminated) as a decimal number:
 * [+-] digits [. digits] [(e|E) [+-] digits], or [+-] "inf" / "infinity" in any case.
 * No spaces, no hex, no underscores, no "nan" (that is a missing-value token). The result is
 * the correctly rounded double, bit-identical to glibc's strtod and Python's float(): a
 * Clinger fast path, then Eisel-Lemire, then strtod_l in the C locale for the rare inputs
 * neither decides (more than 19 significant digits). Returns 1 and sets *out, or 0. */
int tsf__parse_double(const char *s, size_t n, double *out);

/* Tests and the benchmark set this to 1 to send every block through libcsv, bypassing the
 * quote-free fast path (see csv_read.c), so that both paths can be compared. */
extern int tsf__csv_force_libcsv;

#endif
