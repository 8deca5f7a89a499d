/* Error reporting for libtsflow: a status code plus a message owned by the caller.
 *
 * Every fallible function returns int (TSF_OK or a TSF_E* code) and takes `tsf_err *err` as its
 * last parameter. err may be NULL when the caller only wants the code. A message says where,
 * what, and what was expected:
 *     load.csv:14:3: "n/a" is not a number in column "load" (expected a decimal number)
 * Callers add context as the error rises with tsf_err_prefix():
 *     stage "window": lookback 512 is longer than the 300 rows of "load.csv"
 */
#ifndef TSFLOW_ERROR_H
#define TSFLOW_ERROR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define TSF_WUR __attribute__((warn_unused_result))
#define TSF_PRINTF(fmt_idx, arg_idx) __attribute__((format(printf, fmt_idx, arg_idx)))
#else
#define TSF_WUR
#define TSF_PRINTF(fmt_idx, arg_idx)
#endif

/* Status codes. TSF_OK is 0; everything else is a failure. */
enum tsf_status {
    TSF_OK = 0,
    TSF_EINVAL,   /* an argument or option is out of its documented domain */
    TSF_EIO,      /* a file could not be opened, read, written or renamed */
    TSF_EFORMAT,  /* input data is malformed (CSV syntax, HDF5 layout, timestamps) */
    TSF_ENOMEM,   /* an allocation failed */
    TSF_ENUMERIC, /* NaN/Inf or another numerical failure (training diverged, singular scale) */
    TSF_ETYPE,    /* a value has the wrong type (pipeline ports, HDF5 dataset types) */
    TSF_EPLUGIN,  /* a plugin could not be loaded or is incompatible */
    TSF_ECANCEL,  /* the work was interrupted (SIGINT/SIGTERM) */
};

#define TSF_ERR_MSG_MAX 1024

/* Caller-owned error record. Initialise with TSF_ERR_INIT or tsf_err_clear(). */
typedef struct tsf_err {
    int code;                  /* TSF_OK or a TSF_E* status */
    char msg[TSF_ERR_MSG_MAX]; /* NUL-terminated message; "" when code == TSF_OK */
    /* The configuration field the error is about when a check knows it ("nesterov" in
     * tsf_optim_config), so a caller can point at its own name for it without reading the
     * message; NULL otherwise. A static string. */
    const char *field;
} tsf_err;

#define TSF_ERR_INIT                                                                               \
    {                                                                                              \
        TSF_OK, {0}, NULL                                                                          \
    }

/* Reset err to TSF_OK with an empty message. err may be NULL. */
void tsf_err_clear(tsf_err *err);

/* Record code and a printf-formatted message in err (if not NULL); returns code. */
int tsf_err_set(tsf_err *err, int code, const char *fmt, ...) TSF_PRINTF(3, 4);

/* tsf_err_set, and record which configuration field (a static string) the error is about. */
int tsf_err_set_field(tsf_err *err, const char *field, int code, const char *fmt, ...)
    TSF_PRINTF(4, 5);

/* Prepend printf-formatted context and ": " to err's message, keeping its code.
 * Does nothing when err is NULL or holds TSF_OK. Returns err's code. */
int tsf_err_prefix(tsf_err *err, const char *fmt, ...) TSF_PRINTF(2, 3);

/* A short constant name for a status code, e.g. "EFORMAT". */
const char *tsf_status_name(int code);

/* Record the error and return its code from the enclosing function. */
#define TSF_FAIL(err, code, ...) return tsf_err_set((err), (code), __VA_ARGS__)

/* TSF_FAIL about one field of a configuration struct (see tsf_err.field). */
#define TSF_FAIL_FIELD(err, field, code, ...)                                                      \
    return tsf_err_set_field((err), (field), (code), __VA_ARGS__)

/* Library set-up, idempotent and thread-safe: makes GSL return errors instead of aborting and
 * turns off HDF5's automatic error-stack printing. Call once before any other tsf_ function
 * (the tsflow command does). */
int tsf_init(void);

/* Library version string, e.g. "0.1.0". */
const char *tsf_version(void);

/* The git commit libtsflow was built from ("1a2b3c4d5e6f", "...-dirty" with uncommitted
 * changes, or "unknown" outside a git checkout). */
const char *tsf_git_commit(void);

#ifdef __cplusplus
}
#endif

#endif
