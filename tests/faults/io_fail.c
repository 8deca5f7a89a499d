/* An LD_PRELOAD shim that fails one I/O call, for the I/O failure injection test: with
 * TSFT_FAIL_OP (write, flush, fsync, rename or close) and TSFT_FAIL_NTH=N in the environment,
 * the Nth such call on a regular file fails with ENOSPC (write, flush, close: a full disk) or
 * EIO (fsync, rename), and a line is appended to TSFT_FAIL_REPORT (when set) to say it was
 * injected. write covers write, pwrite and pwrite64 (libhdf5's sec2 driver); stdio's own
 * writes are internal to libc, so flush and close stand for them (fflush, fclose). Calls on
 * anything but a regular file (stderr, pipes), and flushes and closes of inputs, are not
 * counted: messages still get out. */
#undef _FILE_OFFSET_BITS /* define pwrite and pwrite64 each, not one as the other */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

static long counter;

static int is_file(int fd)
{
    struct stat st;
    return fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

/* A regular file open for writing (closing an input cannot lose data). */
static int is_output(int fd)
{
    int fl = fd >= 0 ? fcntl(fd, F_GETFL) : -1;
    return is_file(fd) && fl >= 0 && (fl & O_ACCMODE) != O_RDONLY;
}

/* Whether this call (of op, on a regular file) is the one to fail. */
static int fail_now(const char *op)
{
    const char *want = getenv("TSFT_FAIL_OP"), *nth = getenv("TSFT_FAIL_NTH");
    if (!want || !nth || strcmp(want, op))
        return 0;
    if (++counter != atol(nth))
        return 0;
    const char *report = getenv("TSFT_FAIL_REPORT");
    if (report) {
        int fd = open(report, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            char line[64];
            int n = snprintf(line, sizeof line, "%s %ld\n", op, counter);
            ssize_t w = write(fd, line, (size_t)n);
            (void)w;
            close(fd);
        }
    }
    return 1;
}

#define REAL(ret, name, ...)                                                                       \
    static ret (*real_##name)(__VA_ARGS__);                                                        \
    if (!real_##name)                                                                              \
    real_##name = (ret(*)(__VA_ARGS__))dlsym(RTLD_NEXT, #name)

ssize_t write(int fd, const void *buf, size_t n)
{
    REAL(ssize_t, write, int, const void *, size_t);
    if (is_file(fd) && fail_now("write")) {
        errno = ENOSPC;
        return -1;
    }
    return real_write(fd, buf, n);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    REAL(ssize_t, pwrite, int, const void *, size_t, off_t);
    if (is_file(fd) && fail_now("write")) {
        errno = ENOSPC;
        return -1;
    }
    return real_pwrite(fd, buf, n, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off)
{
    REAL(ssize_t, pwrite64, int, const void *, size_t, off64_t);
    if (is_file(fd) && fail_now("write")) {
        errno = ENOSPC;
        return -1;
    }
    return real_pwrite64(fd, buf, n, off);
}

int fflush(FILE *f)
{
    REAL(int, fflush, FILE *);
    if (f && is_output(fileno(f)) && fail_now("flush")) {
        errno = ENOSPC;
        return EOF;
    }
    return real_fflush(f);
}

int fclose(FILE *f)
{
    REAL(int, fclose, FILE *);
    if (f && is_output(fileno(f)) && fail_now("close")) {
        real_fclose(f);
        errno = ENOSPC;
        return EOF;
    }
    return real_fclose(f);
}

int fsync(int fd)
{
    REAL(int, fsync, int);
    if (is_file(fd) && fail_now("fsync")) {
        errno = EIO;
        return -1;
    }
    return real_fsync(fd);
}

int rename(const char *from, const char *to)
{
    REAL(int, rename, const char *, const char *);
    if (fail_now("rename")) {
        errno = EIO;
        return -1;
    }
    return real_rename(from, to);
}
