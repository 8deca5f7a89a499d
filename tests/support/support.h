/* Test support: paths to fixtures and shared data, temporary directories, running the tsflow
 * command and Debian's python3, and array comparison that names the first bad index. */
#ifndef TSFLOW_TEST_SUPPORT_H
#define TSFLOW_TEST_SUPPORT_H

#include <stddef.h>

#include <criterion/criterion.h>

/* Path of a file in the source tree (relative to the project root). Returns a malloc'd
 * string the test need not free (kept until exit). */
const char *tsft_source(const char *rel);

/* Path of a file under ../shared/datasets, or NULL when it is absent. */
const char *tsft_shared(const char *rel);

/* Skip the current test, saying why, when ../shared/datasets/<rel> is absent; else set var. */
#define TSFT_NEED_SHARED(var, rel)                                                                 \
    const char *var = tsft_shared(rel);                                                            \
    do {                                                                                           \
        if (!var)                                                                                  \
            cr_skip_test("../shared/datasets/%s is absent: this test needs the shared data "       \
                         "sets beside the project (see README)",                                   \
                         rel);                                                                     \
    } while (0)

/* A fresh empty directory for this test (removed with its contents at exit). */
const char *tsft_tmpdir(void);

/* Join a directory and a name into a kept string. */
const char *tsft_path(const char *dir, const char *name);

/* Write len bytes (len == (size_t)-1: strlen) to path; asserts success. */
void tsft_write_file(const char *path, const char *data, size_t len);

/* Read a whole file (NUL-terminated; *len may be NULL); NULL if it does not exist. */
char *tsft_read_file(const char *path, size_t *len);

/* Run argv (argv[0] searched in PATH) with stdin from /dev/null. Captures stdout and stderr
 * into malloc'd strings when out/err are not NULL. Returns the exit status, or 128 + signal. */
int tsft_run(char *const argv[], char **out, char **err);

/* Run the tsflow command under test with NULL-terminated arguments. */
int tsft_tsflow(char **out, char **err, ...);

/* Run Debian's /usr/bin/python3 -c CODE with extra NULL-terminated arguments (sys.argv[1:]). */
int tsft_python(const char *code, char **out, char **err, ...);

/* Skip the test if /usr/bin/python3 lacks one of the named modules (comma-separated). */
void tsft_need_python_modules(const char *modules);

/* Assert |got[i] - want[i]| <= atol + rtol * |want[i]| for all i (NaN matches NaN), and on
 * failure report the first bad index, both values and the max abs/rel difference. */
void tsft_assert_close(const double *got, const double *want, size_t n, double rtol, double atol,
                       const char *what);
void tsft_assert_close_f(const float *got, const float *want, size_t n, double rtol, double atol,
                         const char *what);

/* Assert that got and want are bit-identical doubles (NaN payloads ignored). */
void tsft_assert_identical(const double *got, const double *want, size_t n, const char *what);

#endif
