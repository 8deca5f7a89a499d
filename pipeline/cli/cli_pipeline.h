/* What run, check, stages and help share: --plugin, --set, --quiet/--verbose, the registry
 * (built-ins, TSFLOW_PLUGIN_PATH, --plugin), and the progress display of a run. */
#ifndef TSFLOW_CLI_PIPELINE_H
#define TSFLOW_CLI_PIPELINE_H

#include <stdio.h>

#include "runner.h"

typedef struct cli_pipeline_args {
    const char *pipeline; /* the PIPELINE argument, or NULL */
    const char **plugins; /* (n_plugins) --plugin FILE */
    size_t n_plugins;
    const char **sets; /* (n_sets) --set STEP.KEY=VALUE */
    size_t n_sets;
    int quiet, verbose;
} cli_pipeline_args;

/* Parse argv[1..] for a command taking the options in `allowed` ("psqv": plugin, set, quiet,
 * verbose) and `n_positional` positional arguments (0 or 1). Prints usage errors and returns
 * CLI_USAGE; -1 after printing --help (the caller returns CLI_OK); CLI_OK otherwise. */
int cli_pipeline_parse(cli_pipeline_args *a, int argc, char **argv, const char *allowed,
                       int n_positional, const char *usage);
void cli_pipeline_args_free(cli_pipeline_args *a);

/* The help text of the shared options. */
const char *cli_pipeline_options_help(void);

/* A registry with the built-in stages, the plugins of TSFLOW_PLUGIN_PATH and --plugin. Prints
 * the error and returns CLI_USAGE when a plugin is refused. */
int cli_registry(tsf_registry **out, const cli_pipeline_args *a);

/* Check a parsed pipeline (after applying a->sets) against the registry (built-ins,
 * TSFLOW_PLUGIN_PATH, a->plugins), printing every problem (CLI_USAGE); then print the plan
 * (run == 0, `tsflow check`) or run it with the progress display, Ctrl-C/SIGTERM handling and
 * --verbose statistics (run == 1, `tsflow run`). Returns the exit code. Commands that build a
 * pipeline in memory (tsflow forecast / backtest) write INI text, parse it with
 * tsf_pipeline_parse() and call this, so they behave exactly like a file. */
int cli_pipeline_execute(tsf_pipeline *pipe, const cli_pipeline_args *a, int run);

/* Progress display for tsf_plan_run. */
typedef struct cli_progress {
    FILE *out;
    int tty, quiet, verbose;
    int width;        /* terminal columns (TTY) */
    int line_open;    /* a transient progress line is on the screen */
    double last_draw; /* when it was drawn */
    long last_epoch, last_fold;
    int last_tenth;   /* last printed tenth of the fraction (plain log) */
    double last_line; /* when the last plain log line was written */
} cli_progress;

/* Seconds between plain-log progress lines within a tenth of a step's work. */
#define CLI_LOG_INTERVAL 5.0

void cli_progress_init(cli_progress *p, FILE *out, int quiet, int verbose);
/* Hooks for tsf_plan_run (user = the cli_progress). */
void cli_progress_hooks(cli_progress *p, tsf_run_hooks *h);
/* Clear a transient line before printing something else. */
void cli_progress_clear(cli_progress *p);
/* "0.12 s", "42 s", "3:07", "1:02:03". */
void cli_format_duration(double seconds, char *buf, size_t n);

#endif
