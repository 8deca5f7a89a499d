/* Reading a frame from the command line: the options inspect and convert share. */
#ifndef TSFLOW_CLI_READ_H
#define TSFLOW_CLI_READ_H

#include "tsflow/io.h"

#define CLI_READ_MAX_LIST 256
#define CLI_READ_MAX_GIVEN 64

typedef struct cli_read_args {
    tsf_csv_options csv;
    const char *key; /* HDF5 key; NULL = "data" */
    const char *columns[CLI_READ_MAX_LIST];
    const char *na[CLI_READ_MAX_LIST];
    char *columns_buf;                     /* owned copy of --columns text, split in place */
    tsf_hdf5_time_dim time_dim;            /* --time-dim */
    const char *given[CLI_READ_MAX_GIVEN]; /* the read options given, for refusing CSV-only ones */
    size_t n_given;
    size_t n_filled; /* after cli_read_frame: rows the CSV reader inserted into gaps */
} cli_read_args;

void cli_read_args_init(cli_read_args *ra);

/* If argv[*i] is a read option, consume it (and its value, advancing *i) and return 1;
 * return 0 if it is not one; -1 after printing a usage error. */
int cli_read_args_parse(cli_read_args *ra, int argc, char **argv, int *i);

/* Whether a file name says HDF5 (.h5, .hdf5, .hdf, any case). */
int cli_is_hdf5_name(const char *path);

/* Help text for the read options. */
const char *cli_read_args_help(void);

/* Read path (HDF5 by signature, else CSV) into *out, with the same options for both (CSV-only
 * ones refused for HDF5, with CLI_USAGE); prints the error and returns CLI_FAIL on failure (a
 * missing or unreadable file included) and what the HDF5 reader decided on success. Frees ra's
 * buffers. */
int cli_read_frame(cli_read_args *ra, const char *path, tsf_frame **out);

#endif
