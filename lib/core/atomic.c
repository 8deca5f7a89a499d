/* Atomic output files: temporary in the same directory, fsync, rename, fsync the directory. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tsflow/atomic.h"
#include "tsflow/par.h"

#define TMP_TAG ".tsflow-tmp-"

/* Temporaries of this process, for tsf_atomic_remove_all_signal_safe(), which a signal
 * handler runs on any thread. A slot is claimed (CLAIMED) by compare-and-swap, its path copied
 * and only then published (READY); lock-free atomics are safe in a handler and order the path
 * before the flag across threads, which volatile sig_atomic_t does not. */
#define MAX_OPEN 64
#define MAX_PATH_LEN 4096
enum { SLOT_FREE, SLOT_CLAIMED, SLOT_READY };
static char open_paths[MAX_OPEN][MAX_PATH_LEN];
static atomic_int open_state[MAX_OPEN];
static atomic_uint tmp_serial;

static const volatile sig_atomic_t *cancel_flag;

void tsf_atomic_set_cancel_flag(const volatile sig_atomic_t *flag)
{
    cancel_flag = flag;
}

static int register_tmp(const char *path)
{
    size_t len = strlen(path);
    if (len >= MAX_PATH_LEN)
        return -1;
    for (int i = 0; i < MAX_OPEN; i++) {
        int free_slot = SLOT_FREE;
        if (atomic_compare_exchange_strong(&open_state[i], &free_slot, SLOT_CLAIMED)) {
            memcpy(open_paths[i], path, len + 1);
            atomic_store(&open_state[i], SLOT_READY);
            return i;
        }
    }
    return -1;
}

void tsf_atomic_remove_all_signal_safe(void)
{
    for (int i = 0; i < MAX_OPEN; i++)
        if (atomic_load(&open_state[i]) == SLOT_READY)
            unlink(open_paths[i]);
}

static void unregister(tsf_atomic *a)
{
    if (a->slot >= 0)
        atomic_store(&open_state[a->slot], SLOT_FREE);
    a->slot = -1;
}

/* Split path into a malloc'd directory and a pointer to its base name inside path. */
static char *dir_of(const char *path, const char **base)
{
    const char *slash = strrchr(path, '/');
    if (!slash) {
        *base = path;
        return strdup(".");
    }
    *base = slash + 1;
    if (slash == path)
        return strdup("/");
    char *d = malloc((size_t)(slash - path) + 1);
    if (d) {
        memcpy(d, path, (size_t)(slash - path));
        d[slash - path] = '\0';
    }
    return d;
}

/* Remove ".<base>.tsflow-tmp-<pid>-<serial>" files whose process is gone (killed writers). */
static void remove_stale(const char *dir, const char *base)
{
    DIR *dp = opendir(dir);
    if (!dp)
        return;
    size_t blen = strlen(base);
    struct dirent *de;
    while ((de = readdir(dp))) {
        const char *n = de->d_name;
        if (n[0] != '.' || strncmp(n + 1, base, blen) != 0 ||
            strncmp(n + 1 + blen, TMP_TAG, strlen(TMP_TAG)) != 0)
            continue;
        long pid = strtol(n + 1 + blen + strlen(TMP_TAG), NULL, 10);
        if (pid > 0 && (kill((pid_t)pid, 0) == 0 || errno != ESRCH))
            continue; /* its writer may still be running */
        size_t len = strlen(dir) + 1 + strlen(n) + 1;
        char *p = malloc(len);
        if (p) {
            snprintf(p, len, "%s/%s", dir, n);
            unlink(p);
            free(p);
        }
    }
    closedir(dp);
}

/* What a path that is not a regular file is, for messages. */
static const char *file_kind(mode_t mode)
{
    return S_ISDIR(mode)    ? "a directory"
           : S_ISFIFO(mode) ? "a pipe (FIFO)"
           : S_ISCHR(mode)  ? "a character device"
           : S_ISBLK(mode)  ? "a block device"
           : S_ISSOCK(mode) ? "a socket"
                            : "a special file";
}

int tsf_atomic_check_target(const char *path, tsf_err *err)
{
    struct stat st, lst;
    if (stat(path, &st) != 0) {
        if (errno != ELOOP)
            return TSF_OK; /* absent, or a dangling link: the file it names is created */
        TSF_FAIL(err, TSF_EINVAL,
                 "\"%s\" cannot be resolved: %s (expected a new file, a regular file to replace "
                 "or a symbolic link to one)",
                 path, strerror(ELOOP));
    }
    if (S_ISREG(st.st_mode)) {
        /* /dev/stdout of a shell's `> log` leads to the log file: renaming an output over it
         * would discard what the log holds and never reach the stream. */
        static const char *const stream[] = {"input", "output", "error"};
        for (int fd = 0; fd < 3; fd++) {
            struct stat sf;
            if (fstat(fd, &sf) == 0 && sf.st_dev == st.st_dev && sf.st_ino == st.st_ino)
                TSF_FAIL(err, TSF_EINVAL,
                         "\"%s\" is the file this process's standard %s goes to (expected a file "
                         "of its own: an output is written as a new file renamed over the old "
                         "one, which would discard what the stream wrote there)",
                         path, stream[fd]);
        }
        return TSF_OK;
    }
    int link = lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode);
    TSF_FAIL(err, TSF_EINVAL,
             "\"%s\" is %s%s, not a regular file (expected a new file or a regular file to "
             "replace: an output is written as a new file renamed over the old one, which would "
             "destroy it)",
             path, link ? "a symbolic link to " : "", file_kind(st.st_mode));
}

/* Linux's limit on the links one lookup follows (MAXSYMLINKS). */
#define MAX_LINKS 40

int tsf_atomic_target(const char *path, char **out, tsf_err *err)
{
    *out = NULL;
    char *cur = strdup(path);
    if (!cur)
        TSF_FAIL(err, TSF_ENOMEM, "out of memory opening \"%s\"", path);
    for (int hops = 0;; hops++) {
        struct stat lst;
        if (lstat(cur, &lst) != 0 || !S_ISLNK(lst.st_mode)) {
            *out = cur; /* the end of the chain: a file, or nothing yet */
            return TSF_OK;
        }
        char link[MAX_PATH_LEN];
        ssize_t n = hops < MAX_LINKS ? readlink(cur, link, sizeof link - 1) : -1;
        int e = hops < MAX_LINKS ? errno : ELOOP;
        if (n < 0 || n == (ssize_t)sizeof link - 1) {
            free(cur);
            TSF_FAIL(err, TSF_EINVAL,
                     "\"%s\" cannot be resolved: %s (expected a new file, a regular file to "
                     "replace or a symbolic link to one)",
                     path, n < 0 ? strerror(e) : "a symbolic link names too long a path");
        }
        link[n] = '\0';
        /* A relative link is relative to the directory holding it. */
        const char *base;
        char *dir = link[0] == '/' ? NULL : dir_of(cur, &base);
        size_t len = (dir ? strlen(dir) + 1 : 0) + (size_t)n + 1;
        char *next = (dir || link[0] == '/') ? malloc(len) : NULL;
        if (next)
            snprintf(next, len, "%s%s%s", dir ? dir : "", dir ? "/" : "", link);
        free(dir);
        free(cur);
        if (!(cur = next))
            TSF_FAIL(err, TSF_ENOMEM, "%s: out of memory resolving the symbolic link", path);
    }
}

int tsf_atomic_same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

static int begin_at(tsf_atomic *a, const char *path, tsf_err *err)
{
    const char *base;
    char *dir = dir_of(path, &base);
    if (!dir)
        TSF_FAIL(err, TSF_ENOMEM, "out of memory opening \"%s\"", path);
    if (!*base) {
        free(dir);
        TSF_FAIL(err, TSF_EINVAL, "\"%s\": expected a file name, not a directory", path);
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        int e = errno;
        tsf_err_set(err, TSF_EIO, "%s: cannot write here: directory \"%s\" does not exist%s%s",
                    path, dir, e ? ": " : "", e ? strerror(e) : "");
        free(dir);
        return TSF_EIO;
    }
    if (tsf_par_rank() > 0) {
        /* Only rank 0 writes: another rank writes its copy in its own temporary directory (it
         * runs the same code, so it fails where rank 0 would) and discards it at commit. */
        const char *tmp = getenv("TMPDIR");
        char *own = strdup(tmp && *tmp ? tmp : "/tmp");
        free(dir);
        if (!(dir = own))
            TSF_FAIL(err, TSF_ENOMEM, "out of memory opening \"%s\"", path);
        a->discard = 1;
    } else {
        remove_stale(dir, base);
    }
    size_t len = strlen(dir) + strlen(base) + 64;
    a->tmp_path = malloc(len);
    a->path = strdup(path);
    if (!a->tmp_path || !a->path) {
        free(dir);
        tsf_atomic_abort(a);
        TSF_FAIL(err, TSF_ENOMEM, "out of memory opening \"%s\"", path);
    }
    /* The name is registered before the file exists, so a signal on any thread at any moment
     * finds it (unlinking a name not yet created is harmless); O_EXCL makes the file ours.
     * The pid makes the name unique across processes and remove_stale() recognize it; the
     * serial, unique within the process. Mode 0666 lets the umask decide, as for any output. */
    int e = EEXIST;
    for (int attempt = 0; attempt < 100 && e == EEXIST; attempt++) {
        unsigned serial = atomic_fetch_add(&tmp_serial, 1u);
        snprintf(a->tmp_path, len, "%s/.%s" TMP_TAG "%ld-%06x", dir, base, (long)getpid(),
                 serial & 0xffffffu);
        a->slot = register_tmp(a->tmp_path);
        a->fd = open(a->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        e = a->fd < 0 ? errno : 0;
        if (a->fd < 0)
            unregister(a);
    }
    free(dir);
    if (a->fd < 0) {
        free(a->tmp_path);
        a->tmp_path = NULL;
        tsf_atomic_abort(a);
        TSF_FAIL(err, TSF_EIO, "%s: cannot create a file in its directory: %s", path, strerror(e));
    }
    return TSF_OK;
}

int tsf_atomic_begin(tsf_atomic *a, const char *path, tsf_err *err)
{
    memset(a, 0, sizeof *a);
    a->fd = -1;
    a->slot = -1;
    int rc = tsf_atomic_check_target(path, err);
    if (rc != TSF_OK)
        return rc;
    /* Through a symbolic link, replace (or create) the file it names and keep the link:
     * writing at path itself would rename the new file over the link. */
    char *target = NULL;
    if ((rc = tsf_atomic_target(path, &target, err)) != TSF_OK)
        return rc;
    rc = begin_at(a, target, err);
    free(target);
    return rc;
}

FILE *tsf_atomic_stream(tsf_atomic *a)
{
    if (!a->fp && a->fd >= 0)
        a->fp = fdopen(a->fd, "w");
    return a->fp;
}

int tsf_atomic_commit(tsf_atomic *a, tsf_err *err)
{
    int e = 0;
    const char *what = "";
    if (a->fd < 0) {
        tsf_atomic_abort(a);
        TSF_FAIL(err, TSF_EIO, "internal error: commit of an output that was not begun");
    }
    if (cancel_flag && *cancel_flag && !a->even_when_cancelled) {
        tsf_err_set(err, TSF_ECANCEL,
                    "%s: interrupted before it was replaced (the previous file, "
                    "if any, is unchanged)",
                    a->path);
        tsf_atomic_abort(a);
        return TSF_ECANCEL;
    }
    /* The directory to fsync after the rename, found before it: once the file is replaced,
     * running out of memory could only skip that fsync, silently. */
    const char *base;
    char *dir = dir_of(a->path, &base);
    if (!dir) {
        tsf_err_set(err, TSF_ENOMEM,
                    "%s: out of memory replacing it (the previous file, if any, is unchanged)",
                    a->path);
        tsf_atomic_abort(a);
        return TSF_ENOMEM;
    }
    if (a->fp && fflush(a->fp) != 0) {
        e = errno;
        what = "write";
    } else if (a->fp && ferror(a->fp)) {
        e = EIO;
        what = "write";
    } else if (!a->discard && fsync(a->fd) != 0) {
        e = errno;
        what = "fsync";
    }
    int rc = a->fp ? fclose(a->fp) : close(a->fd);
    a->fp = NULL;
    a->fd = -1;
    if (!e && rc != 0) {
        e = errno;
        what = "close";
    }
    /* Under MPI, rank 0 replaces the file only when every rank made its copy: a rank that
     * failed to, or failed elsewhere and said so (tsf_par_notify_failure), ends the run, which
     * must then have replaced nothing. */
    size_t bad;
    if (!tsf_par_agree(!e, &bad) && !e) {
        tsf_err_set(err, TSF_EIO,
                    "%s: not replaced: rank %zu failed (the previous file, if any, is unchanged)",
                    a->path, bad);
        tsf_atomic_abort(a);
        return TSF_EIO;
    }
    if (a->discard && !e) {
        tsf_atomic_abort(a);
        return TSF_OK;
    }
    if (!e && rename(a->tmp_path, a->path) != 0) {
        e = errno;
        what = "rename";
    }
    if (e) {
        tsf_err_set(err, TSF_EIO, "%s: %s failed: %s (the previous file, if any, is unchanged)",
                    a->path, what, strerror(e));
        free(dir);
        tsf_atomic_abort(a);
        return TSF_EIO;
    }
    unregister(a);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    free(dir);
    free(a->tmp_path);
    free(a->path);
    a->tmp_path = a->path = NULL;
    return TSF_OK;
}

void tsf_atomic_abort(tsf_atomic *a)
{
    if (a->fp)
        fclose(a->fp);
    else if (a->fd >= 0)
        close(a->fd);
    a->fp = NULL;
    a->fd = -1;
    if (a->tmp_path)
        unlink(a->tmp_path);
    unregister(a);
    free(a->tmp_path);
    free(a->path);
    a->tmp_path = a->path = NULL;
}
