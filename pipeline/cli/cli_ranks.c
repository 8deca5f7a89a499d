/* The command under mpirun: every rank runs it, rank 0 alone speaks, and a rank that fails
 * ends the job with its rank and its own message named.
 *
 * Ranks other than 0 send their standard output to /dev/null and keep their standard error
 * in an unlinked temporary file: a run whose ranks all agree prints what a serial run prints,
 * once. A failing rank tells the others, which stop at their next exchange and fail in turn
 * (removing their temporaries as on any error), and waits a moment for them: when every rank
 * failed, all leave with the worst exit status, no MPI_Abort needed. Rank 0 has said why unless
 * it was only told: then each rank that failed on its own prints its kept error output with
 * "rank R of N: " before each line. When a rank does not answer in time (computing, far from an
 * exchange), the failing rank prints its output so and ends the job (MPI_Abort sends SIGTERM to
 * every rank, whose handler removes the temporaries of outputs in flight): either way a failed
 * run replaces no file.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "tsflow/par.h"

/* How long a failing rank waits for the others to fail in turn (seconds): long enough for a
 * rank preparing its data on a busy machine to reach its next exchange and end the job cleanly,
 * short enough not to keep a failed run waiting on a rank far from one (then MPI_Abort). */
enum { GRACE_SECONDS = 10 };

static int saved_stderr = -1;
static FILE *kept_stderr;

int cli_ranks_start(int *argc, char ***argv)
{
    tsf_err err = TSF_ERR_INIT;
    if (tsf_par_init(argc, argv, &err) != TSF_OK) {
        cli_error("%s", err.msg);
        return CLI_FAIL;
    }
    if (tsf_par_rank() == 0)
        return CLI_OK;
    int null = open("/dev/null", O_WRONLY);
    kept_stderr = tmpfile();
    saved_stderr = dup(STDERR_FILENO);
    fflush(stdout);
    fflush(stderr);
    if (null >= 0) {
        dup2(null, STDOUT_FILENO);
        close(null);
    }
    if (kept_stderr && saved_stderr >= 0)
        dup2(fileno(kept_stderr), STDERR_FILENO);
    return CLI_OK;
}

/* Copy what this rank wrote to its standard error to the real one, each line prefixed. */
static void replay_stderr(void)
{
    if (!kept_stderr || saved_stderr < 0)
        return;
    fflush(stderr);
    FILE *out = fdopen(saved_stderr, "w");
    if (!out)
        return;
    char prefix[64];
    snprintf(prefix, sizeof prefix, "tsflow: rank %zu of %zu: ", tsf_par_rank(), tsf_par_size());
    rewind(kept_stderr);
    char line[4096];
    int at_start = 1, any = 0;
    while (fgets(line, sizeof line, kept_stderr)) {
        const char *s = line;
        if (at_start && !strncmp(s, "tsflow: ", 8))
            s += 8;
        if (at_start)
            fputs(prefix, out);
        fputs(s, out);
        at_start = line[strlen(line) - 1] == '\n';
        any = 1;
    }
    if (!any)
        fprintf(out, "%sfailed without a message\n", prefix);
    else if (!at_start)
        fputc('\n', out);
    fflush(out);
}

int cli_ranks_end(int rc)
{
    if (rc != CLI_OK && tsf_par_size() > 1) {
        fflush(stdout);
        fflush(stderr);
        int worst = rc, zero_told = 0;
        tsf_par_notify_failure();
        if (tsf_par_all_failed(&worst, &zero_told, GRACE_SECONDS)) {
            /* every rank failed: alike (rank 0 has said why), or because some did, which say why */
            if (zero_told && tsf_par_rank() > 0 && tsf_par_failed_peer() == SIZE_MAX)
                replay_stderr();
            tsf_par_finalize();
            return worst;
        }
        if (tsf_par_rank() > 0)
            replay_stderr();
        tsf_par_abort(rc);
    }
    tsf_par_finalize();
    return rc;
}
