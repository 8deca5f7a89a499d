/* Scratch files and result invariants for the libFuzzer harnesses (see fuzz_common.h). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_common.h"

void fuzz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s:%d: invariant broken: %s: ", file, line, cond);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

static char dir[256];

static void remove_dir(void)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *de;
        char p[512];
        while ((de = readdir(d)))
            if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
                snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
                unlink(p);
            }
        closedir(d);
    }
    rmdir(dir);
}

const char *fuzz_dir(void)
{
    if (!dir[0]) {
        /* libFuzzer often ends a process without running atexit handlers (crashes, timeouts,
         * fork mode): scripts/fuzz.sh points TSF_FUZZ_SCRATCH at a directory it removes. */
        struct stat st;
        const char *base = getenv("TSF_FUZZ_SCRATCH");
        if (!base)
            base = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : "/tmp";
        snprintf(dir, sizeof dir, "%s/tsflow-fuzz-%ld-XXXXXX", base, (long)getpid());
        if (!mkdtemp(dir)) {
            perror("fuzz: mkdtemp");
            abort();
        }
        atexit(remove_dir);
    }
    return dir;
}

const char *fuzz_write(const char *name, const uint8_t *data, size_t size)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", fuzz_dir(), name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) {
        perror("fuzz: open");
        abort();
    }
    for (size_t done = 0; done < size;) {
        ssize_t w = write(fd, data + done, size - done);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            perror("fuzz: write");
            abort();
        }
        done += (size_t)w;
    }
    close(fd);
    return path;
}

void fuzz_check_frame(const tsf_frame *f)
{
    FUZZ_REQUIRE(f, "success without a frame");
    FUZZ_REQUIRE(f->n_rows <= f->capacity, "%zu rows > capacity %zu", f->n_rows, f->capacity);
    FUZZ_REQUIRE(f->n_series >= 1, "no series");
    FUZZ_REQUIRE(f->series_start && f->series_start[0] == 0, "series do not start at row 0");
    FUZZ_REQUIRE(f->series_start[f->n_series] == f->n_rows, "last series ends at %zu, not %zu",
                 f->series_start[f->n_series], f->n_rows);
    FUZZ_REQUIRE(f->step >= 0, "negative step %lld", (long long)f->step);
    for (size_t j = 0; j < f->n_cols; j++)
        FUZZ_REQUIRE(f->col_names[j] && (f->cols[j] || !f->capacity),
                     "column %zu has no name or data", j);
    for (size_t s = 0; s < f->n_series; s++) {
        size_t a = f->series_start[s], b = f->series_start[s + 1];
        FUZZ_REQUIRE(a <= b, "series %zu: start %zu > end %zu", s, a, b);
        if (f->series_ids)
            FUZZ_REQUIRE(f->series_ids[s], "series %zu has no id", s);
        for (size_t i = a + 1; i < b; i++) {
            FUZZ_REQUIRE(f->time[i] > f->time[i - 1], "series %zu row %zu: time not increasing", s,
                         i);
            /* a series on a frequency steps one period at a time (a calendar period's length
             * varies: `step` is then only its average); an integer index by `step` */
            const tsf_freq *q = tsf_frame_series_freq(f, s);
            int64_t k = 0;
            if (q->unit != TSF_FREQ_NONE)
                FUZZ_REQUIRE(tsf_freq_count(q, f->time[i - 1], f->time[i], &k) && k == 1,
                             "series %zu row %zu: not one period of its frequency after row %zu", s,
                             i, i - 1);
            else if (f->step > 0)
                FUZZ_REQUIRE(f->time[i] - f->time[i - 1] == f->step,
                             "series %zu row %zu: difference is not the step %lld", s, i,
                             (long long)f->step);
        }
        /* Touch every value so ASan sees a short column. */
        for (size_t j = 0; j < f->n_cols; j++)
            for (size_t i = a; i < b; i++) {
                volatile double v = f->cols[j][i];
                (void)v;
            }
    }
}

void fuzz_check_error(int rc, const tsf_err *err, const char *prefix)
{
    FUZZ_REQUIRE(rc > TSF_OK && rc <= TSF_ECANCEL, "bad status %d", rc);
    FUZZ_REQUIRE(err->code == rc, "err.code %d != returned %d", err->code, rc);
    size_t n = strnlen(err->msg, sizeof err->msg);
    FUZZ_REQUIRE(n > 0 && n < sizeof err->msg, "message empty or not terminated");
    if (prefix)
        FUZZ_REQUIRE(!strncmp(err->msg, prefix, strlen(prefix)),
                     "message does not name the file: \"%s\"", err->msg);
}

void fuzz_check_no_h5_stack(const tsf_err *err, const uint8_t *data, size_t size)
{
    static const char tag[] = "HDF5-DIAG";
    if (!memmem(data, size, tag, sizeof tag - 1))
        FUZZ_REQUIRE(!strstr(err->msg, tag), "raw HDF5 error stack in \"%s\"", err->msg);
}
