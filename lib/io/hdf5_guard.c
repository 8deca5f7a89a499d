/* Where an HDF5 read is, for a program's fatal-signal handler and watchdog: the file being
 * parsed and the time by which the read in progress should be over (tsflow/io.h explains why
 * libhdf5 1.10 needs both). Both are single lock-free atomics, so a signal handler may read
 * them. */
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "hdf5_guard.h"
#include "tsflow/io.h"

/* One pointer, lock-free, so that a signal handler may read it. */
static _Atomic(const char *) hdf5_parsing;

const char *tsf_hdf5_parsing(void)
{
    return atomic_load_explicit(&hdf5_parsing, memory_order_relaxed);
}

const char *tsf_hdf5_parsing_set(const char *path)
{
    return atomic_exchange_explicit(&hdf5_parsing, path, memory_order_relaxed);
}

/* Nanoseconds of CLOCK_MONOTONIC, 0: none. An integer so that the atomic is lock-free. */
static _Atomic(int64_t) hdf5_deadline_ns;

double tsf_hdf5_deadline(void)
{
    return 1e-9 * (double)atomic_load_explicit(&hdf5_deadline_ns, memory_order_relaxed);
}

double tsf__hdf5_deadline_set(double seconds)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t at = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec + (int64_t)(seconds * 1e9);
    return 1e-9 * (double)atomic_exchange_explicit(&hdf5_deadline_ns, at, memory_order_relaxed);
}

void tsf__hdf5_deadline_restore(double previous)
{
    atomic_store_explicit(&hdf5_deadline_ns, (int64_t)(previous * 1e9), memory_order_relaxed);
}
