/* Internals shared by lib/prep and lib/eval (tsf__ prefix): naming rows and series in messages. */
#ifndef TSFLOW_PREP_INTERNAL_H
#define TSFLOW_PREP_INTERNAL_H

#include <stddef.h>

#include "tsflow/frame.h"

/* `series "id"`, `series #k` (unnamed, several) or `the series` (one unnamed series).
 * buf needs 96 bytes; returns buf. */
char *tsf__series_label(const tsf_frame *f, size_t s, char *buf, size_t n);

/* The series that holds row r (binary search over series_start). */
size_t tsf__series_of_row(const tsf_frame *f, size_t r);

/* `row 12 (2016-07-01 12:00:00)` for timestamps, `row 12` for a plain index. buf needs 64
 * bytes; returns buf. */
char *tsf__row_label(const tsf_frame *f, size_t r, char *buf, size_t n);

#endif
