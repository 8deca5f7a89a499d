/* tsflow convert: CSV to HDF5 and back, chosen by the output's extension. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "cli_read.h"
#include "tsflow/atomic.h"

int cmd_convert(int argc, char **argv)
{
    cli_read_args ra;
    cli_read_args_init(&ra);
    const char *in = NULL, *out = NULL, *out_key = NULL;
    for (int i = 1; i < argc; i++) {
        int used = cli_read_args_parse(&ra, argc, argv, &i);
        if (used < 0)
            return CLI_USAGE;
        if (used)
            continue;
        if (!strcmp(argv[i], "--out-key")) {
            if (i + 1 >= argc) {
                cli_error("convert: --out-key expects a NAME");
                return CLI_USAGE;
            }
            out_key = argv[++i];
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf(
                "usage: tsflow convert [READ OPTIONS] [--out-key NAME] IN OUT\n\n"
                "Convert CSV to HDF5 (OUT ending in .h5, .hdf5 or .hdf) or HDF5 to CSV (OUT\n"
                "ending in .csv). A table in an HDF5 file (tsflow's --key forecasts, an R\n"
                "data.frame) is written to CSV as it is.\n"
                "The HDF5 file holds a pandas frame under the key (--key, default data) that\n"
                "pandas.read_hdf(OUT, KEY) opens, and plain datasets with named dimensions for\n"
                "h5py and xarray. OUT is written atomically.\n\n"
                "  --out-key NAME        key to write (default: the --key value, else data)\n\n%s",
                cli_read_args_help());
            return CLI_OK;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            cli_error("convert: unknown option \"%s\" (see 'tsflow convert --help')", argv[i]);
            return CLI_USAGE;
        } else if (!in) {
            in = argv[i];
        } else if (!out) {
            out = argv[i];
        } else {
            cli_error("convert: expected IN and OUT, got a third argument \"%s\"", argv[i]);
            return CLI_USAGE;
        }
    }
    if (!in || !out) {
        cli_error("convert: expected IN and OUT files (see 'tsflow convert --help')");
        return CLI_USAGE;
    }
    tsf_err err = TSF_ERR_INIT;
    if (tsf_atomic_check_target(out, &err) != TSF_OK) {
        cli_error("convert: OUT %s", err.msg);
        free(ra.columns_buf);
        return CLI_USAGE;
    }
    if (tsf_atomic_same_file(in, out)) {
        cli_error("convert: OUT \"%s\" is the same file as IN \"%s\" (expected another file: "
                  "writing it would replace the input)",
                  out, in);
        free(ra.columns_buf);
        return CLI_USAGE;
    }
    if (!out_key)
        out_key = ra.key;
    size_t ol = strlen(out);
    if (!cli_is_hdf5_name(out) && !(ol >= 4 && !strcasecmp(out + ol - 4, ".csv"))) {
        const char *dot = strrchr(out, '.');
        cli_error("convert: cannot write \"%s\"%s%s%s: OUT must end in .csv (CSV) or .h5, .hdf5, "
                  ".hdf (HDF5; xarray opens it with engine=\"h5netcdf\")",
                  out, dot && !strchr(dot, '/') ? " (" : "", dot && !strchr(dot, '/') ? dot : "",
                  dot && !strchr(dot, '/') ? " is not a format tsflow writes)" : "");
        free(ra.columns_buf);
        return CLI_USAGE;
    }
    /* tsflow's own tables (forecasts) and R's data.frames are tables, not frames: to CSV as
     * they are */
    if (!cli_is_hdf5_name(out) && tsf_is_hdf5(in) && tsf_hdf5_is_table(in, ra.key)) {
        free(ra.columns_buf);
        if (tsf_hdf5_table_write_csv(in, ra.key, out, &err) != TSF_OK) {
            cli_error("%s", err.msg);
            return CLI_FAIL;
        }
        return CLI_OK;
    }
    tsf_frame *f = NULL;
    int rc = cli_read_frame(&ra, in, &f);
    if (rc != CLI_OK)
        return rc;
    if (cli_is_hdf5_name(out))
        rc = tsf_hdf5_write(f, out, out_key, &err);
    else
        rc = tsf_csv_write(f, out, &err);
    tsf_frame_free(f);
    if (rc != TSF_OK) {
        cli_error("%s", err.msg);
        return CLI_FAIL;
    }
    return CLI_OK;
}
