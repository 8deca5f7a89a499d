/* Pipelines built from command-line flags: what the convenience commands (tsflow backtest,
 * tsflow forecast) share. A command turns its flags into the steps a user would write in a
 * file, built in memory (tsf_pipeline_new: no text is parsed back, so a value of any length
 * works), and hands them to cli_pipeline_execute, so they are checked, run and reported
 * exactly like `tsflow run`; --print-pipeline prints the file they stand for, --set overrides
 * applied and paths absolute, so it runs from any directory. Step names are fixed and documented,
 * so that
 * --set STEP.KEY=VALUE reaches any option the flags do not cover.
 *
 * The shared steps (cli_ini_model_steps), for DATA.csv (or an HDF5 file: ingest.hdf5):
 *     [data]    ingest.csv            the file (gaps in the timestamps filled with NaN rows)
 *     [split]   split                 fractions train / validation / test
 *     [filled]  impute                missing values (linear by default), per part
 *     [norm]    normalize             z-score fitted on the train part
 *     [train]   window                training windows (part = train)
 *     [val]     window                validation windows (part = validation)
 *     [model]   train.rnn             the network (absent with --model none)
 * A command adds its own steps after these.
 */
#ifndef TSFLOW_CLI_BUILD_H
#define TSFLOW_CLI_BUILD_H

#include <stddef.h>

#include "runner.h"
#include "tsflow/error.h"

/* A pipeline being built: its steps in memory (p), and the text it prints as (text: the line
 * numbers of p's keys are their lines there; comments, which p does not hold, are kept with
 * the step they precede). Functions do nothing after a failed allocation (oom is then set). */
typedef struct cli_ini {
    char *text;
    size_t len, cap;
    int oom;
    int lines;            /* '\n' in text */
    tsf_pipeline *p;      /* made by cli_ini_command_line */
    char **comments;      /* (n_comments) "# ..." lines */
    size_t *comment_step; /* (n_comments) the number of steps before each */
    size_t n_comments;
} cli_ini;

/* "# text\n", text printf-formatted. */
void cli_ini_comment(cli_ini *b, const char *fmt, ...) TSF_PRINTF(2, 3);
/* "\n[name]\nstage = stage\n" */
void cli_ini_section(cli_ini *b, const char *name, const char *stage);
/* "key = value\n", value printf-formatted (one line). */
void cli_ini_put(cli_ini *b, const char *key, const char *fmt, ...) TSF_PRINTF(3, 4);
/* A value the runner takes verbatim: wrapped in double quotes (paths, names). */
void cli_ini_put_quoted(cli_ini *b, const char *key, const char *value);
void cli_ini_free(cli_ini *b);

/* If argv[*i] is the flag `name` ("--out VALUE" or "--out=VALUE"), store its value in *dst,
 * advance *i past it and return 1; 0 when it is another argument; -1 after printing a usage
 * error (a missing value; cmd names the command). */
int cli_take_flag(const char *cmd, int argc, char **argv, int *i, const char *name,
                  const char **dst);

/* The flags of the shared steps. */
typedef struct cli_model_args {
    const char *data;    /* DATA (positional) */
    const char *targets; /* --target COL[,COL...] */
    const char *time_column;
    const char *time_format; /* ingest.csv time_format, or NULL */
    const char *time_unit;   /* ingest.csv time_unit, or NULL */
    const char *tz;          /* ingest.csv tz, or NULL */
    const char *id_column;
    const char *key;    /* HDF5 input: the dataset or pandas key (--key) */
    size_t horizon;     /* --horizon N (required) */
    size_t lookback;    /* --lookback N (0: the window steps choose it from the season and rows) */
    const char *season; /* rows per season for that choice, when the command knows it */
    const char *cell;   /* --model lstm|gru|rnn|none */
    size_t hidden, layers, epochs, batch_size;
    double lr, clip;
    const char *quantiles; /* --quantiles 0.1,0.5,0.9 */
    const char *impute;    /* --impute linear|ffill|seasonal|refuse */
    const char *inorm;     /* --instance-norm last|mean|none */
    double val_fraction, test_fraction;
    int val_fraction_given; /* --val-fraction was on the command line */
    long seed;
    const char *ensemble;  /* --ensemble N, or NULL */
    const char *calibrate; /* --calibrate conformal|none, or NULL (train.rnn's default) */
    const char *deseason;  /* --deseason auto|none|additive|multiplicative, or NULL */
} cli_model_args;

void cli_model_args_init(cli_model_args *a);

/* If argv[*i] is one of the shared flags, consume it (and its value, advancing *i) and return
 * 1; 0 when it is not one; -1 after printing a usage error (cmd names the command);
 * CLI_ARGS_FAIL after printing a failure that is not the user's (memory ran out checking it:
 * exit 1, not 2). */
#define CLI_ARGS_FAIL (-2)
int cli_model_args_parse(cli_model_args *a, const char *cmd, int argc, char **argv, int *i);

/* Check what the flags cannot leave out; prints the error and returns CLI_USAGE, or CLI_OK. */
int cli_model_args_check(const cli_model_args *a, const char *cmd);

/* The help text of the shared flags. */
const char *cli_model_args_help(void);

/* Write the shared steps (see the top of this file). */
/* Whether the data file is HDF5 (by signature, or a .h5/.hdf5/.hdf/.nc name). */
int cli_model_args_hdf5(const cli_model_args *a);

void cli_ini_model_steps(cli_ini *b, const cli_model_args *a);

/* Whether --model none was given (no [model] step). */
int cli_model_args_no_model(const cli_model_args *a);

/* A convenience command's own flag: a value flag stores into *value, a switch sets *on. */
typedef struct cli_flag {
    const char *name;
    const char **value;
    int *on;
} cli_flag;

struct cli_pipeline_args;

/* Parse a convenience command's argv: --help (prints usage_head, the shared flags and the
 * pipeline options; returns -1), the shared model flags into *ma, the command's flags, DATA,
 * and hands the rest (--set, --plugin, -q, -v) to cli_pipeline_parse into *pa. Returns CLI_OK
 * (then *pa must be freed), -1 after --help, or CLI_USAGE/CLI_FAIL after printing the error. */
int cli_command_parse(const char *cmd, int argc, char **argv, const char *usage_head,
                      cli_model_args *ma, const cli_flag *flags, size_t n_flags,
                      struct cli_pipeline_args *pa);

/* "# generated by: tsflow CMD ARGS..." wrapped to the INI reader's line limit, without
 * --print-pipeline, and how to run the file. */
void cli_ini_command_line(cli_ini *b, const char *cmd, int argc, char **argv);

/* The end of every convenience command: print the pipeline (print set) or parse and run it
 * like `tsflow run`. Frees ini and pa; returns the command's exit code. */
int cli_command_finish(const char *cmd, cli_ini *ini, struct cli_pipeline_args *pa, int print);

#endif
