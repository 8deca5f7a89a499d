/* tsflow convert: CSV to HDF5 and back, chosen by the output's extension. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "cli_read.h"

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
                "Convert CSV to HDF5 (OUT ending in .h5, .hdf5 or .hdf) or HDF5 to CSV.\n"
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
    if (!out_key)
        out_key = ra.key;
    tsf_frame *f = NULL;
    int rc = cli_read_frame(&ra, in, &f);
    if (rc != CLI_OK)
        return rc;
    tsf_err err = TSF_ERR_INIT;
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
