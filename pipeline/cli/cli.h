/* Shared declarations of the tsflow command's subcommands. */
#ifndef TSFLOW_CLI_H
#define TSFLOW_CLI_H

/* Exit codes: 0 ok, 1 run failure, 2 usage or pipeline-check failure, 128 + the signal when
 * interrupted (130 SIGINT, 143 SIGTERM), as shells report a death by that signal. */
enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2, CLI_INTERRUPTED = 128 };

/* Each subcommand gets argv with argv[0] = its own name. */
#define CLI_COMMAND(name, fn, summary) int fn(int argc, char **argv);
#include "commands.def"
#undef CLI_COMMAND

/* Print "tsflow: <msg>" to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Join the MPI job, if any, and silence ranks other than 0 (cli_ranks.c); CLI_OK or CLI_FAIL. */
int cli_ranks_start(int *argc, char ***argv);
/* Leave the job with the command's exit code rc: a failure on any rank ends every rank. */
int cli_ranks_end(int rc);

#endif
