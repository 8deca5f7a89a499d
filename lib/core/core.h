/* Internals shared across lib/ files (tsf__ prefix): not part of the public API. */
#ifndef TSFLOW_CORE_INTERNAL_H
#define TSFLOW_CORE_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tsflow/error.h"

/* Like tsf_err_set, then appends the innermost description on HDF5's error stack (if any) and
 * clears the stack. Use right after a failing H5* call: the message should name the file and
 * dataset, HDF5's text says what went wrong inside it. */
int tsf__h5_fail(tsf_err *err, int code, const char *fmt, ...) TSF_PRINTF(3, 4);

#ifdef H5_VERS_MAJOR /* only for files that include <hdf5.h> first */
/* Close any HDF5 identifier by its kind (dataset, group, type, space, attribute, property
 * list, other objects); negative ids are ignored, so clean-up paths need no checks. */
void tsf__h5_close(hid_t id);
/* How many closes by tsf__h5_close have failed in this thread. Closing a dataset writes what
 * libhdf5 still buffers: a writer compares the count before and after to catch a lost write
 * (a full disk) that no call it checks reported. */
size_t tsf__h5_close_failures(void);
/* HDF5's innermost description of the last such failure in this thread ("" when it gave none):
 * the later calls a writer makes clear HDF5's error stack. */
const char *tsf__h5_close_reason(void);

/* A creation property list of class cls (file, group or dataset) whose objects carry no
 * access/modification/change/birth times: HDF5 records them by default, which makes two runs
 * of one pipeline differ in bytes. Without them a file depends only on what is written
 * (reproducible builds: same input, same bytes). The file class covers the root group.
 * Negative on failure; close with tsf__h5_close. */
hid_t tsf__h5_untimed(hid_t cls);
#endif

/* Free n strings and the array holding them; NULL is a no-op. */
void tsf__free_strings(char **s, size_t n);

/* Civil date (proleptic Gregorian) of a day count since 1970-01-01, its inverse, and leap
 * years. */
void tsf__civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);
int64_t tsf__days_from_civil(int64_t y, unsigned m, unsigned d);
int tsf__is_leap(int64_t y);

/* strdup that records TSF_ENOMEM on failure; NULL input gives NULL with no error. */
char *tsf__strdup(const char *s, tsf_err *err);

/* Compensated (Neumaier) summation state. */
typedef struct tsf__ksum {
    double sum, c;
} tsf__ksum;
static inline void tsf__ksum_add(tsf__ksum *k, double x)
{
    double t = k->sum + x;
    if ((k->sum >= 0 ? k->sum : -k->sum) >= (x >= 0 ? x : -x))
        k->c += (k->sum - t) + x;
    else
        k->c += (x - t) + k->sum;
    k->sum = t;
}
static inline double tsf__ksum_value(const tsf__ksum *k)
{
    return k->sum + k->c;
}

/* Threads for tsflow's own parallel loops: as many as OpenBLAS would use (OPENBLAS_NUM_THREADS
 * or the cores), so one setting governs both, and 1 inside a region where BLAS was made serial
 * (a backtest running folds on several threads). */
size_t tsf__threads(void);

/* Run task(ctx, k) for k in [0, n) on up to `threads` threads: the caller's and threads - 1
 * workers kept for these loops (k goes to thread k % threads; see parallel.c). Meanwhile
 * OpenBLAS runs each call on the calling thread: its own threads would compete for the same
 * cores, and its pthread build serializes concurrent multithreaded calls. Tasks must be
 * independent; if a thread cannot be started its tasks run on the caller, so the results
 * never depend on how many ran. */
void tsf__parallel(size_t n, size_t threads, void (*task)(void *ctx, size_t k), void *ctx);

/* Make OpenBLAS serial until the matching tsf__blas_serial_end (nested and concurrent uses
 * are counted; the last end restores the thread count). */
void tsf__blas_serial_begin(void);
void tsf__blas_serial_end(void);

#endif
