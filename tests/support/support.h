/* Test support: paths to fixtures and shared data, temporary directories, running the tsflow
 * command and Debian's python3, and array comparison that names the first bad index. */
#ifndef TSFLOW_TEST_SUPPORT_H
#define TSFLOW_TEST_SUPPORT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <criterion/criterion.h>

/* Keep s (malloc'd) until the test process exits: it stays reachable, so leak checkers do not
 * count it. Returns s. */
char *tsft_keep(char *s);
/* Line n (from 0) of a reference program's output, kept until the test ends; fails the test
 * when the output is shorter. */
char *tsft_line(const char *text, int n);
/* The blank-separated numbers of s (malloc'd, *n of them); fails the test on anything else. */
double *tsft_nums(const char *s, size_t *n);

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

/* How many of tsflow's temporaries (".<name>.tsflow-tmp-...") are in dir. */
int tsft_n_temporaries(const char *dir);

/* Write len bytes (len == (size_t)-1: strlen) to path; asserts success. */
void tsft_write_file(const char *path, const char *data, size_t len);

/* Read a whole file (NUL-terminated; *len may be NULL); NULL if it does not exist. */
char *tsft_read_file(const char *path, size_t *len);

/* The status a child ended by a signal gets from tsft_wait and tsft_run: TSFT_SIGNALLED + the
 * signal, so that a death by SIGINT is never taken for a clean exit 130. */
#define TSFT_SIGNALLED 1000

/* How tsft_spawn starts a child. */
typedef struct tsft_child {
    const char *dir;          /* working directory; NULL: this one */
    const char *out_path;     /* stdout to this file (truncated); NULL: /dev/null */
    const char *err_path;     /* stderr likewise; the same path as out_path: one log */
    unsigned long long fsize; /* file-size limit (RLIMIT_FSIZE) in bytes; 0: none */
} tsft_child;

/* Start argv (argv[0] searched in PATH) in the background with stdin from /dev/null (o may be
 * NULL). Returns its pid. */
pid_t tsft_spawn(char *const argv[], const tsft_child *o);

/* Wait for pid: its exit status, or TSFT_SIGNALLED + signal. With limit_s > 0, a child still
 * running after that many seconds is killed and the test fails, naming what and quoting the
 * file log (when not NULL). */
int tsft_wait(pid_t pid, double limit_s, const char *what, const char *log);

/* Run argv (argv[0] searched in PATH) with stdin from /dev/null, in dir (NULL: here), killed
 * after limit_s seconds (0: no limit; then the test fails naming argv and quoting stderr).
 * Captures stdout and stderr into kept strings when out/err are not NULL. Returns the exit
 * status, or TSFT_SIGNALLED + signal. */
int tsft_run_in(const char *dir, double limit_s, char *const argv[], char **out, char **err);

/* tsft_run_in(NULL, 0, ...). */
int tsft_run(char *const argv[], char **out, char **err);

/* The tsflow command under test ($TSFLOW_BIN, else tsflow from PATH). */
const char *tsft_tsflow_bin(void);

/* Run the tsflow command under test with NULL-terminated arguments. */
int tsft_tsflow(char **out, char **err, ...);

/* Run Debian's /usr/bin/python3 -c CODE with extra NULL-terminated arguments (sys.argv[1:]). */
int tsft_python(const char *code, char **out, char **err, ...);

/* Skip the test if /usr/bin/python3 lacks one of the named modules (comma-separated). */
void tsft_need_python_modules(const char *modules);

/* One line of a reference script's output: n_words words, then whole numbers. */
typedef struct tsft_ref_line {
    char word[4][32];
    int64_t *v; /* kept until exit */
    size_t n;
} tsft_ref_line;

/* Split text (a reference script's output) into at most max lines of n_words (at most 4)
 * words followed by whole numbers, as "MS MS -662688000 -660009600 ...". Returns the number of
 * lines. */
size_t tsft_ref_lines(const char *text, size_t n_words, tsft_ref_line *lines, size_t max);

/* The mse of the metrics line "<step>: <model> (original scale, N points): ... mse X" that
 * `tsflow run` logged; fails the test when log has no such line. */
double tsft_logged_mse(const char *log, const char *step, const char *model);

/* Assert |got[i] - want[i]| <= atol + rtol * |want[i]| for all i (NaN matches NaN), and on
 * failure report the first bad index, both values and the max abs/rel difference. */
void tsft_assert_close(const double *got, const double *want, size_t n, double rtol, double atol,
                       const char *what);
void tsft_assert_close_f(const float *got, const float *want, size_t n, double rtol, double atol,
                         const char *what);

/* Assert that got and want are bit-identical doubles (NaN payloads ignored). */
void tsft_assert_identical(const double *got, const double *want, size_t n, const char *what);

#endif
