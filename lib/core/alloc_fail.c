/* Allocation failure injection, as SQLite's test allocator does it: in a build configured with
 * -Dalloc_fail=true, every allocation made by libtsflow, the pipeline runner, the built-in stages
 * and the tsflow command goes through the wrappers below, and with TSF_ALLOC_FAIL_NTH=N in the
 * environment the Nth of them fails (returns NULL with errno ENOMEM, as an exhausted heap does)
 * while every other call goes to the C library. When TSF_ALLOC_FAIL_REPORT names a file, the
 * injected failure appends a line "alloc N SIZE" to it, so a test knows that the run reached
 * the Nth allocation (a run that makes fewer than N allocations completes untouched); a run in
 * which none was injected appends "count C", the allocations it made, as the process exits.
 * tests/faults/test_alloc_faults.c drives it.
 *
 * The routing is done at link time (-Wl,--wrap=malloc,... on libtsflow and the tsflow binary,
 * see the top-level meson.build), not by an allocator the call sites name, for two reasons:
 * some 450 malloc/calloc/realloc/strdup sites spread over every file of lib/ and pipeline/
 * would each have to be rewritten and every new one remembered, and a wrapper the linker puts
 * in place covers them all, present and future, with no change to the code. The ordinary build
 * contains none of this (no wrapper, no counter, no cost).
 *
 * What is covered: the calls named below, from our code, and libcsv's buffers (the CSV reader
 * hands libcsv realloc and free, which the linker makes these wrappers). What is not: the
 * allocations the C library makes for itself (FILE buffers, threads), and those inside
 * libhdf5, GSL (gsl_*_alloc), OpenBLAS and libinih, which are compiled elsewhere; a failure
 * there reaches us as the library's own error return. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The C library's functions (the linker resolves __real_X to X). */
void *__real_malloc(size_t n);
void *__real_calloc(size_t k, size_t n);
void *__real_realloc(void *p, size_t n);
void *__real_aligned_alloc(size_t align, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
char *__real_realpath(const char *path, char *resolved);
int __real_scandir(const char *dir, struct dirent ***list, int (*filter)(const struct dirent *),
                   int (*compar)(const struct dirent **, const struct dirent **));

void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t k, size_t n);
void *__wrap_realloc(void *p, size_t n);
void *__wrap_aligned_alloc(size_t align, size_t n);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);
char *__wrap_realpath(const char *path, char *resolved);
int __wrap_scandir(const char *dir, struct dirent ***list, int (*filter)(const struct dirent *),
                   int (*compar)(const struct dirent **, const struct dirent **));

/* The allocation to fail: 0 before the environment was read, -1 for none. Threads (parallel
 * folds) share the count, so with them which allocation is the Nth depends on scheduling; every
 * run still must fail cleanly. */
static _Atomic long fail_at;
static _Atomic long count;

static long target(void)
{
    long at = atomic_load_explicit(&fail_at, memory_order_relaxed);
    if (at)
        return at;
    /* getenv and strtol do not allocate. */
    const char *s = getenv("TSF_ALLOC_FAIL_NTH");
    char *end;
    long n = s ? strtol(s, &end, 10) : 0;
    at = s && *end == '\0' && n > 0 ? n : -1;
    atomic_store_explicit(&fail_at, at, memory_order_relaxed);
    return at;
}

/* Append line to TSF_ALLOC_FAIL_REPORT, when set (open, write, close: no allocation). */
static void report(const char *line)
{
    const char *path = getenv("TSF_ALLOC_FAIL_REPORT");
    int fd = path ? open(path, O_WRONLY | O_CREAT | O_APPEND, 0644) : -1;
    if (fd < 0)
        return;
    ssize_t w = write(fd, line, strlen(line));
    (void)w;
    close(fd);
}

/* Whether this allocation (of size bytes) is the one to fail; if so, report it. */
static int fail_now(size_t size)
{
    long at = target();
    long n = atomic_fetch_add_explicit(&count, 1, memory_order_relaxed) + 1;
    if (n != at)
        return 0;
    char line[64];
    snprintf(line, sizeof line, "alloc %ld %zu\n", n, size);
    report(line);
    errno = ENOMEM;
    return 1;
}

/* A run that got past every allocation says how many it made (a test sizes its sweep by it). */
__attribute__((destructor)) static void report_count(void)
{
    long n = atomic_load_explicit(&count, memory_order_relaxed), at = target();
    if (at > 0 && n >= at)
        return;
    char line[64];
    snprintf(line, sizeof line, "count %ld\n", n);
    report(line);
}

void *__wrap_malloc(size_t n)
{
    return fail_now(n) ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t k, size_t n)
{
    return fail_now(k * n) ? NULL : __real_calloc(k, n);
}

/* A failed realloc leaves p allocated, as the C library's does. */
void *__wrap_realloc(void *p, size_t n)
{
    return fail_now(n) ? NULL : __real_realloc(p, n);
}

void *__wrap_aligned_alloc(size_t align, size_t n)
{
    return fail_now(n) ? NULL : __real_aligned_alloc(align, n);
}

char *__wrap_strdup(const char *s)
{
    return fail_now(strlen(s) + 1) ? NULL : __real_strdup(s);
}

char *__wrap_strndup(const char *s, size_t n)
{
    return fail_now(strnlen(s, n) + 1) ? NULL : __real_strndup(s, n);
}

/* realpath(path, NULL) allocates its result; with a caller's buffer it does not. */
char *__wrap_realpath(const char *path, char *resolved)
{
    return !resolved && fail_now(0) ? NULL : __real_realpath(path, resolved);
}

int __wrap_scandir(const char *dir, struct dirent ***list, int (*filter)(const struct dirent *),
                   int (*compar)(const struct dirent **, const struct dirent **))
{
    return fail_now(0) ? -1 : __real_scandir(dir, list, filter, compar);
}
