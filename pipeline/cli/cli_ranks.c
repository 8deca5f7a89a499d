/* The command under mpirun: every rank runs it, rank 0 alone speaks, and a rank that fails
 * ends the job with its rank and its own message named.
 *
 * Ranks other than 0 send their standard output to /dev/null and keep their standard error
 * in an unlinked temporary file: a run whose ranks all agree prints what a serial run prints,
 * once. A failing rank waits a moment for the others: when every rank failed (a bad option, a
 * missing input), rank 0 has reported it and all leave with its exit status. Otherwise a rank
 * other than 0 prints its kept error output with "rank R of N: " before each line, and the rank
 * ends the job (MPI_Abort sends SIGTERM to every rank, whose handler removes the temporaries of
 * outputs in flight, so a failed run replaces no file).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "tsflow/par.h"

/* How long a failing rank other than 0 waits for rank 0 to end the job (seconds). */
enum { GRACE_SECONDS = 2 };

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
        int worst = rc;
        if (tsf_par_all_failed(&worst, GRACE_SECONDS)) {
            tsf_par_finalize(); /* every rank failed alike: rank 0 has said why */
            return worst;
        }
        if (tsf_par_rank() > 0)
            replay_stderr();
        tsf_par_abort(rc);
    }
    tsf_par_finalize();
    return rc;
}
