/* Shared by the libFuzzer harnesses: a private scratch file for inputs that the code under test
 * reads by path, and the invariants every result must satisfy (a frame that is consistent, or
 * an error with a code and a message that names its file). A broken invariant aborts, which
 * libFuzzer (and the replay driver) reports as a crash with the input that caused it. */
#ifndef TSFLOW_FUZZ_COMMON_H
#define TSFLOW_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "tsflow/error.h"
#include "tsflow/frame.h"

/* The harness entry points libFuzzer (or tests/fuzz/replay.c) calls. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Report a broken invariant on stderr and abort. */
#define FUZZ_REQUIRE(cond, ...)                                                                    \
    do {                                                                                           \
        if (!(cond))                                                                               \
            fuzz_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);                                     \
    } while (0)
_Noreturn void fuzz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* A directory private to this process (under $TSF_FUZZ_SCRATCH, else on tmpfs when /dev/shm
 * exists), created once and removed at exit with whatever the harness left in it. */
const char *fuzz_dir(void);

/* Write size bytes to <fuzz_dir>/<name> (replacing it) and return its path (static buffer). */
const char *fuzz_write(const char *name, const uint8_t *data, size_t size);

/* Check a frame's structure: series partition, time order, step, names. */
void fuzz_check_frame(const tsf_frame *f);

/* Check a failed call: rc is a TSF_E* code equal to err->code, the message is non-empty,
 * NUL-terminated and starts with prefix (when not NULL). */
void fuzz_check_error(int rc, const tsf_err *err, const char *prefix);

/* Check that a message holds no raw HDF5 error-stack text (unless the input itself does). */
void fuzz_check_no_h5_stack(const tsf_err *err, const uint8_t *data, size_t size);

#endif
