/* Reading a frame from the command line: the options inspect and convert share. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli.h"
#include "cli_read.h"
#include "tsflow/tz.h"

void cli_read_args_init(cli_read_args *ra)
{
    memset(ra, 0, sizeof *ra);
    tsf_csv_options_init(&ra->csv);
    ra->time_dim = TSF_HDF5_TIME_DIM_AUTO;
}

static int has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcasecmp(s + n - k, suffix);
}

int cli_is_hdf5_name(const char *path)
{
    return has_suffix(path, ".h5") || has_suffix(path, ".hdf5") || has_suffix(path, ".hdf");
}

const char *cli_read_args_help(void)
{
    return "read options:\n"
           "  --key NAME            HDF5 dataset or pandas key to read (default: data)\n"
           "  --delimiter C         CSV delimiter: ',' ';' or 'tab' (default: detected)\n"
           "  --time-column NAME    the time column (default: the first column if it is time)\n"
           "  --time-format FMT     strptime-style time format (e.g. %d/%m/%Y, %Y%m%d)\n"
           "  --time-unit UNIT      what numeric times count: s, ms, us, ns, d (days), year,\n"
           "                        index\n"
           "  --tz ZONE             zone of local times without an offset, and of the output\n"
           "                        (e.g. Europe/Berlin, UTC, +01:00)\n"
           "  --no-time             no time column: rows get an integer index\n"
           "  --id-column NAME      long layout: the column naming each row's series\n"
           "  --columns A,B,...     value columns to keep (default: all)\n"
           "  --na TOKEN            a missing-value token (repeatable; default: empty NA NaN\n"
           "                        nan null)\n"
           "  --gaps error|fill     missing timestamps: refuse (default) or fill with NaN rows\n"
           "  --time-dim 0|1        HDF5 2-D dataset: the dimension that runs along time (0 as\n"
           "                        numpy and h5py write, 1 as R writes; default: decided, or\n"
           "                        asked for when the file cannot tell)\n";
}

static const char *value(int argc, char **argv, int *i)
{
    if (*i + 1 >= argc) {
        cli_error("option %s expects a value", argv[*i]);
        return NULL;
    }
    return argv[++*i];
}

/* ---- one setter per option: v is the option's value (NULL for a flag); -1 after an error */

static int set_key(cli_read_args *ra, const char *v)
{
    ra->key = v;
    return 0;
}

static int set_delimiter(cli_read_args *ra, const char *v)
{
    if (!strcmp(v, "tab") || !strcmp(v, "\\t") || !strcmp(v, "\t"))
        ra->csv.delimiter = '\t';
    else if (!strcmp(v, ",") || !strcmp(v, ";"))
        ra->csv.delimiter = v[0];
    else {
        cli_error("--delimiter: \"%s\" is not supported (expected ',', ';' or 'tab')", v);
        return -1;
    }
    return 0;
}

static int set_time_column(cli_read_args *ra, const char *v)
{
    ra->csv.time_column = v;
    return 0;
}

static int set_time_format(cli_read_args *ra, const char *v)
{
    if (!tsf_time_format_valid(v)) {
        cli_error("--time-format: \"%s\" uses a directive tsflow does not know (expected "
                  "%%Y %%y %%m %%d %%H %%M %%S %%f %%b %%B %%%% and literal text)",
                  v);
        return -1;
    }
    ra->csv.time_format = v;
    return 0;
}

static int set_time_unit(cli_read_args *ra, const char *v)
{
    const size_t n_units = sizeof tsf_time_unit_names / sizeof *tsf_time_unit_names;
    size_t u = 0;
    while (u < n_units && strcmp(v, tsf_time_unit_names[u]))
        u++;
    if (u == n_units) {
        cli_error("--time-unit: \"%s\" is not a unit (expected s, ms, us, ns, d, year or "
                  "index)",
                  v);
        return -1;
    }
    ra->csv.time_unit = (tsf_time_unit)u;
    return 0;
}

static int set_tz(cli_read_args *ra, const char *v)
{
    ra->csv.tz = v;
    return 0;
}

static int set_no_time(cli_read_args *ra, const char *v)
{
    (void)v;
    ra->csv.time_index = TSF_CSV_TIME_NONE;
    return 0;
}

static int set_id_column(cli_read_args *ra, const char *v)
{
    ra->csv.id_column = v;
    return 0;
}

/* A comma-separated list, split in a copy the names point into. */
static int set_columns(cli_read_args *ra, const char *v)
{
    free(ra->columns_buf);
    ra->columns_buf = strdup(v);
    size_t n = 0;
    for (char *save = NULL, *tok = strtok_r(ra->columns_buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        if (n == CLI_READ_MAX_LIST) {
            cli_error("--columns: more than %d columns", CLI_READ_MAX_LIST);
            return -1;
        }
        ra->columns[n++] = tok;
    }
    if (!n) {
        cli_error("--columns: expected a comma-separated list of column names");
        return -1;
    }
    ra->csv.columns = ra->columns;
    ra->csv.n_columns = n;
    return 0;
}

static int set_na(cli_read_args *ra, const char *v)
{
    if (ra->csv.n_na_tokens == CLI_READ_MAX_LIST) {
        cli_error("--na: more than %d tokens", CLI_READ_MAX_LIST);
        return -1;
    }
    ra->na[ra->csv.n_na_tokens++] = v;
    ra->csv.na_tokens = ra->na;
    return 0;
}

static int set_gaps(cli_read_args *ra, const char *v)
{
    if (!strcmp(v, "error"))
        ra->csv.gaps = TSF_GAP_ERROR;
    else if (!strcmp(v, "fill"))
        ra->csv.gaps = TSF_GAP_FILL;
    else {
        cli_error("--gaps: \"%s\" is not a policy (expected error or fill)", v);
        return -1;
    }
    return 0;
}

static int set_time_dim(cli_read_args *ra, const char *v)
{
    if (strcmp(v, "0") != 0 && strcmp(v, "1") != 0) {
        cli_error("--time-dim: \"%s\" is not a dimension (expected 0 or 1)", v);
        return -1;
    }
    ra->time_dim = v[0] == '0' ? TSF_HDF5_TIME_DIM_0 : TSF_HDF5_TIME_DIM_1;
    return 0;
}

static const struct read_option {
    const char *name;
    int takes_value;
    int (*set)(cli_read_args *ra, const char *v);
} read_options[] = {
    {"--key", 1, set_key},
    {"--delimiter", 1, set_delimiter},
    {"--time-column", 1, set_time_column},
    {"--time-format", 1, set_time_format},
    {"--time-unit", 1, set_time_unit},
    {"--tz", 1, set_tz},
    {"--no-time", 0, set_no_time},
    {"--id-column", 1, set_id_column},
    {"--columns", 1, set_columns},
    {"--na", 1, set_na},
    {"--gaps", 1, set_gaps},
    {"--time-dim", 1, set_time_dim},
};

int cli_read_args_parse(cli_read_args *ra, int argc, char **argv, int *i)
{
    const char *opt = argv[*i];
    const struct read_option *ro = read_options;
    const struct read_option *end = read_options + sizeof read_options / sizeof *read_options;
    while (ro < end && strcmp(opt, ro->name))
        ro++;
    if (ro == end)
        return 0;
    const char *v = NULL;
    if (ro->takes_value && !(v = value(argc, argv, i)))
        return -1;
    if (ro->set(ra, v) != 0)
        return -1;
    ra->given[ra->n_given++ % CLI_READ_MAX_GIVEN] = opt;
    return 1;
}

/* The read options that mean nothing for an HDF5 file, refused rather than ignored. */
static int refuse_csv_only(const cli_read_args *ra, const char *path)
{
    static const char *const csv_only[] = {"--delimiter", "--na", "--id-column", "--time-format"};
    for (size_t k = 0; k < ra->n_given && k < CLI_READ_MAX_GIVEN; k++)
        for (size_t c = 0; c < sizeof csv_only / sizeof csv_only[0]; c++)
            if (!strcmp(ra->given[k], csv_only[c])) {
                cli_error("%s: %s applies to CSV files only; %s is HDF5 (a pandas frame carries "
                          "its series ids in its index, and missing values are NaN or a CF "
                          "_FillValue)",
                          path, csv_only[c], path);
                return -1;
            }
    return 0;
}

/* Say what the HDF5 reader decided on its own (an R matrix turned round, CF decoding). */
static void report_hdf5(const char *path, const tsf_hdf5_info *info)
{
    if (info->notes[0])
        fprintf(stderr, "tsflow: %s: %s\n", path, info->notes);
    if (info->n_masked)
        fprintf(stderr,
                "tsflow: %s: %zu value%s missing by CF _FillValue, missing_value or "
                "valid range\n",
                path, info->n_masked, info->n_masked == 1 ? " is" : "s are");
}

int cli_read_frame(cli_read_args *ra, const char *path, tsf_frame **out)
{
    tsf_err err = TSF_ERR_INIT;
    int rc;
    if (access(path, R_OK) != 0) {
        cli_error("%s: cannot read: %s (expected a readable CSV or HDF5 file)", path,
                  strerror(errno));
        free(ra->columns_buf);
        ra->columns_buf = NULL;
        return CLI_FAIL;
    }
    /* By signature, or by name: a .h5 file that is not HDF5 gets the HDF5 reader's "not an
     * HDF5 file" rather than CSV errors about its contents. */
    if (tsf_is_hdf5(path) || cli_is_hdf5_name(path)) {
        if (refuse_csv_only(ra, path) != 0) {
            free(ra->columns_buf);
            ra->columns_buf = NULL;
            return CLI_USAGE;
        }
        tsf_hdf5_options opt;
        tsf_hdf5_options_init(&opt);
        opt.time_column = ra->csv.time_column;
        opt.no_time = ra->csv.time_index == TSF_CSV_TIME_NONE;
        opt.columns = ra->csv.columns;
        opt.n_columns = ra->csv.n_columns;
        opt.gaps = ra->csv.gaps;
        opt.time_dim = ra->time_dim;
        opt.time_unit = ra->csv.time_unit;
        tsf_hdf5_info info;
        rc = tsf_hdf5_read_opt(out, path, ra->key, &opt, &info, &err);
        if (rc == TSF_OK && ra->csv.tz && (rc = tsf_frame_localize(*out, ra->csv.tz, &err))) {
            (void)tsf_err_prefix(&err, "%s: tz", path);
            tsf_frame_free(*out);
            *out = NULL;
        }
        if (rc == TSF_OK)
            report_hdf5(path, &info);
    } else {
        if (ra->time_dim != TSF_HDF5_TIME_DIM_AUTO) {
            cli_error("%s: --time-dim applies to HDF5 datasets only", path);
            free(ra->columns_buf);
            ra->columns_buf = NULL;
            return CLI_USAGE;
        }
        tsf_csv_info info;
        memset(&info, 0, sizeof info);
        rc = tsf_csv_read(out, path, &ra->csv, &info, &err);
        ra->n_filled = info.n_filled;
    }
    free(ra->columns_buf);
    ra->columns_buf = NULL;
    if (rc != TSF_OK) {
        cli_error("%s", err.msg);
        return CLI_FAIL;
    }
    return CLI_OK;
}
