/* Atomic output files: write to a temporary file in the target's directory, fsync, rename.
 *
 * A failure or a kill never leaves a truncated file where a good one was: until
 * tsf_atomic_commit() renames the temporary into place, the previous file is untouched.
 * A clean error (tsf_atomic_abort) removes the temporary. Temporaries are named
 * ".<name>.tsflow-tmp-<pid>-<serial>" next to the target; tsf_atomic_begin() removes stale
 * ones left by a killed process (whose pid no longer runs).
 *
 * Open temporaries are also registered so that tsf_atomic_remove_all_signal_safe() can
 * unlink them from a signal handler (on any thread) before the process exits on Ctrl-C or a
 * fault; a name is registered before its file is created, so no moment leaves one behind.
 */
#ifndef TSFLOW_ATOMIC_H
#define TSFLOW_ATOMIC_H

#include <signal.h>
#include <stdio.h>

#include "tsflow/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tsf_atomic {
    char *path;              /* the final path */
    char *tmp_path;          /* the temporary being written */
    int fd;                  /* open descriptor of the temporary, or -1 */
    FILE *fp;                /* stdio stream over fd, made by tsf_atomic_stream(), or NULL */
    int slot;                /* registry slot for signal-time clean-up, or -1 */
    int even_when_cancelled; /* set after begin: commit despite the cancel flag (a checkpoint
                                written because of Ctrl-C) */
    int discard;             /* a rank other than 0 of an MPI run (tsflow/par.h): the temporary
                                is in $TMPDIR (or /tmp) and commit removes it */
} tsf_atomic;

/* The process's cancel flag (set by a SIGINT/SIGTERM handler), or NULL (the default). Once
 * *flag is nonzero, tsf_atomic_commit() removes the temporary and fails with TSF_ECANCEL,
 * keeping the previous file: an interrupted run replaces no output. */
void tsf_atomic_set_cancel_flag(const volatile sig_atomic_t *flag);

/* Create the temporary for path. Fails with TSF_EIO naming the directory when it is not
 * writable, and with TSF_EINVAL when path is not a regular file (tsf_atomic_check_target).
 * When path is a symbolic link, the file it names is replaced (or created, for a dangling link)
 * and the link kept (tsf_atomic_target). On failure a is left cleared (abort is then a no-op). */
int tsf_atomic_begin(tsf_atomic *a, const char *path, tsf_err *err) TSF_WUR;

/* A buffered stdio stream over the temporary (created on first call), for text writers.
 * Writers that open the file by name (HDF5) use a->tmp_path instead. */
FILE *tsf_atomic_stream(tsf_atomic *a);

/* Flush, fsync, close and rename the temporary over path, then fsync the directory.
 * On failure (or after a cancel: tsf_atomic_set_cancel_flag) the temporary is removed and the
 * previous file is untouched. */
int tsf_atomic_commit(tsf_atomic *a, tsf_err *err) TSF_WUR;

/* Close and remove the temporary. Safe to call after commit, after a failed begin, twice. */
void tsf_atomic_abort(tsf_atomic *a);

/* Whether path may receive an output: it is absent or a regular file (a symbolic link is
 * followed; a dangling one is accepted: the file it names is created). Otherwise TSF_EINVAL
 * naming what it is (a directory, a device, a FIFO, a socket, links that loop, the file the
 * process's standard input, output or error is, as /dev/stdout redirected to a file is):
 * replacing such a path by a new file would destroy a device node, a pipe or a log, and never
 * reach whatever reads it.
 * Called at check time, and again by tsf_atomic_begin(). */
int tsf_atomic_check_target(const char *path, tsf_err *err) TSF_WUR;

/* The path an output to path is written at, malloc'd in *out (NULL on failure): path itself,
 * or, when path is a symbolic link, the end of its chain of links, existing or not (relative
 * links taken from the directory holding them). An output through a link replaces the file the
 * link names, or creates it when the link dangles, as a shell's `>` does, and the link stays a
 * link. TSF_EINVAL for a chain that loops or passes 40 links, TSF_ENOMEM. */
int tsf_atomic_target(const char *path, char **out, tsf_err *err) TSF_WUR;

/* 1 when a and b both exist and are the same file (device and inode, so other spellings, hard
 * links and symbolic links are caught), else 0. */
int tsf_atomic_same_file(const char *a, const char *b);

/* Unlink every registered temporary. Async-signal-safe: for SIGINT/SIGTERM handlers. */
void tsf_atomic_remove_all_signal_safe(void);

#ifdef __cplusplus
}
#endif

#endif
