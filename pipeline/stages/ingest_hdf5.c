/* ingest.hdf5: read a frame from an HDF5 file (tsf_hdf5_read_opt): a plain 1-D or 2-D numeric
 * dataset, or a pandas frame group (format "fixed" or "table").
 *
 * check opens the file (cheap: HDF5 reads only metadata) to refuse a file that is not HDF5 or
 * lacks the key, naming what the file holds, and to learn the shape: a dataset's dimensions,
 * or a pandas group's index (axis1) and column (axis0) lengths, and for a long frame (a
 * MultiIndex of id and time) its series, counted from the index codes. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>

#include "tsflow/io.h"
#include "tsflow/stage.h"
#include "ingest.h"

typedef struct ingest_hdf5 {
    const char *path;
    const char *key;
    const char *time_column;
    int no_time;
    tsf_strings columns;
    int gaps;
    int time_dim;
    const char *tz;
    int time_unit;
} ingest_hdf5;

enum { GAPS_ERROR, GAPS_FILL };
enum { TIME_DIM_AUTO, TIME_DIM_0, TIME_DIM_1 };
static const char *const gap_policies[] = {"error", "fill", NULL};
static const char *const time_dims[] = {"auto", "0", "1", NULL};
static const char *const time_units[] = {"auto", "s", "ms", "us", "ns", "year", "index", "d", NULL};

static const tsf_option options[] = {
    {.name = "path",
     .type = TSF_OPT_PATH_IN,
     .offset = offsetof(ingest_hdf5, path),
     .flags = TSF_OPT_REQUIRED,
     .help = "the HDF5 file to read"},
    {.name = "key",
     .type = TSF_OPT_STRING,
     .offset = offsetof(ingest_hdf5, key),
     .def = "data",
     .help = "the dataset, or the pandas key (the group pandas.DataFrame.to_hdf wrote)"},
    {.name = "time_column",
     .type = TSF_OPT_STRING,
     .offset = offsetof(ingest_hdf5, time_column),
     .help = "the time by name: a dataset beside the data, one of its columns, or a pandas "
             "column or index name (default: found by the naming rules above)"},
    {.name = "no_time",
     .type = TSF_OPT_BOOL,
     .offset = offsetof(ingest_hdf5, no_time),
     .def = "false",
     .help = "ignore any time: rows get an integer index 0, 1, 2, ... in each series"},
    {.name = "columns",
     .type = TSF_OPT_STRINGS,
     .offset = offsetof(ingest_hdf5, columns),
     .help = "value columns to keep, in this order (default: all)"},
    {.name = "gaps",
     .type = TSF_OPT_ENUM,
     .offset = offsetof(ingest_hdf5, gaps),
     .def = "error",
     .choices = gap_policies,
     .help = "missing timestamps: error refuses them, fill inserts rows of NaN"},
    {.name = "time_dim",
     .type = TSF_OPT_ENUM,
     .offset = offsetof(ingest_hdf5, time_dim),
     .def = "auto",
     .choices = time_dims,
     .help = "a 2-D dataset's dimension that runs along time: 0 as numpy and h5py write, 1 as R "
             "writes (an n x k matrix is k x n in HDF5); auto decides, and asks when it cannot"},
    {.name = "tz",
     .type = TSF_OPT_STRING,
     .offset = offsetof(ingest_hdf5, tz),
     .help = "time zone: times without one (a naive pandas index, CF units, ISO text) are local "
             "times there; a zone-aware pandas index is shown in it. An IANA name from the "
             "system's zoneinfo (Europe/Berlin), UTC, or an offset (+01:00)"},
    {.name = "time_unit",
     .type = TSF_OPT_ENUM,
     .offset = offsetof(ingest_hdf5, time_unit),
     .def = "auto",
     .choices = time_units,
     .help = "what numeric times without CF units count (a table's time field, a time dataset): "
             "s, ms, us, ns since 1970-01-01 UTC, d (days since then: R's Date; s is R's "
             "POSIXct), year, or index; auto reads whole numbers that are all years 1000-2999 "
             "in a table as years, and refuses other numbers there"},
    TSF_OPTION_END,
};

static const tsf_port outputs[] = {
    {.name = "frame", .types = TSF_TYPE_BIT(TSF_TYPE_FRAME), .help = "the series read"},
    TSF_PORT_END,
};

/* "a, b, c" from the root group's links. */
static void root_names(hid_t file, char *buf, size_t n)
{
    H5G_info_t gi;
    size_t used = 0;
    buf[0] = '\0';
    if (H5Gget_info(file, &gi) < 0)
        return;
    for (hsize_t i = 0; i < gi.nlinks && used + 8 < n; i++) {
        char name[256];
        if (H5Lget_name_by_idx(file, ".", H5_INDEX_NAME, H5_ITER_INC, i, name, sizeof name,
                               H5P_DEFAULT) < 0)
            break;
        int k = snprintf(buf + used, n - used, "%s%s", i ? ", " : "", name);
        if (k < 0 || (size_t)k >= n - used) {
            snprintf(buf + used, n - used, ", ...");
            return;
        }
        used += (size_t)k;
    }
}

/* Whether every component of key exists as a link (H5Lexists needs the parents to exist). */
static int key_exists(hid_t file, const char *key)
{
    char path[1024];
    size_t n = strlen(key);
    if (n >= sizeof path)
        return 0;
    for (size_t i = 1; i <= n; i++) {
        if (i < n && key[i] != '/')
            continue;
        memcpy(path, key, i);
        path[i] = '\0';
        if (H5Lexists(file, path, H5P_DEFAULT) <= 0)
            return 0;
    }
    return 1;
}

/* Length of dimension 0 of dataset name under loc, or -1. pandas stores an empty array as a
 * 1-element sentinel with a "shape" attribute: that is length 0. */
static int64_t dim0(hid_t loc, const char *name)
{
    if (H5Lexists(loc, name, H5P_DEFAULT) <= 0)
        return -1;
    hid_t d = H5Dopen2(loc, name, H5P_DEFAULT);
    if (d < 0)
        return -1;
    hid_t sp = H5Dget_space(d);
    hsize_t dims[8];
    int rank = sp >= 0 ? H5Sget_simple_extent_dims(sp, dims, NULL) : -1;
    int empty = H5Aexists(d, "shape") > 0;
    H5Eclear2(H5E_DEFAULT);
    if (sp >= 0)
        H5Sclose(sp);
    H5Dclose(d);
    return rank < 1 ? -1 : empty ? 0 : (int64_t)dims[0];
}

/* A pandas MultiIndex (id, time) frame: its series (distinct codes of level 0, as the reader
 * groups them) and the rows of the shortest, from the codes axis1_label0, read in blocks so that
 * check's memory stays small. 0 when the codes cannot be read (run then reports why). */
static int count_series(hid_t grp, int64_t rows, tsf_meta *m)
{
    int64_t n_levels = dim0(grp, "axis1_level0");
    if (n_levels <= 0 || rows <= 0)
        return 0;
    hid_t d = H5Dopen2(grp, "axis1_label0", H5P_DEFAULT);
    if (d < 0)
        return 0;
    enum { BLOCK = 1 << 16 };
    int64_t *count = calloc((size_t)n_levels, sizeof *count), *code = malloc(BLOCK * sizeof *code);
    hid_t fsp = H5Dget_space(d);
    int ok = count && code && fsp >= 0;
    for (hsize_t at = 0; ok && at < (hsize_t)rows; at += BLOCK) {
        hsize_t n = (hsize_t)rows - at < BLOCK ? (hsize_t)rows - at : BLOCK;
        hid_t msp = H5Screate_simple(1, &n, NULL);
        ok = msp >= 0 && H5Sselect_hyperslab(fsp, H5S_SELECT_SET, &at, NULL, &n, NULL) >= 0 &&
             H5Dread(d, H5T_NATIVE_INT64, msp, fsp, H5P_DEFAULT, code) >= 0;
        if (msp >= 0)
            H5Sclose(msp);
        for (hsize_t i = 0; ok && i < n; i++) {
            ok = code[i] >= 0 && code[i] < n_levels; /* -1 (NaN): the reader refuses it */
            if (ok)
                count[code[i]]++;
        }
    }
    if (ok) {
        m->n_series = 0;
        m->min_series_rows = rows;
        for (int64_t k = 0; k < n_levels; k++)
            if (count[k]) {
                m->n_series++;
                if (count[k] < m->min_series_rows)
                    m->min_series_rows = count[k];
            }
    }
    H5Eclear2(H5E_DEFAULT);
    if (fsp >= 0)
        H5Sclose(fsp);
    H5Dclose(d);
    free(count);
    free(code);
    return ok;
}

/* The shape of a pandas group: a table's records (format="table"; its columns and series are
 * named in pickled attributes, which only the reader decodes), or a fixed-format frame's index
 * and columns, with the series of a MultiIndex (id, time). */
static int check_pandas_group(tsf_stage_ctx *ctx, const ingest_hdf5 *s, const char *key, hid_t obj,
                              tsf_meta *m, tsf_err *err)
{
    if (H5Lexists(obj, "table", H5P_DEFAULT) > 0) {
        m->rows = dim0(obj, "table");
        if (m->rows == 0)
            return tsf_stage_fail_key(ctx, err, "key", TSF_EFORMAT,
                                      "%s: \"/%s\": the pandas table has no rows (expected at "
                                      "least one row of values)",
                                      s->path, key);
        return TSF_OK;
    }
    int series = H5Lexists(obj, "axis0", H5P_DEFAULT) <= 0 &&
                 H5Lexists(obj, "index", H5P_DEFAULT) > 0; /* a pandas Series */
    H5Eclear2(H5E_DEFAULT);
    m->rows = dim0(obj, series ? "index" : "axis1");
    if (m->rows >= 0) {
        m->n_series = 1;
        m->min_series_rows = m->rows;
    } else if (!series) { /* a MultiIndex (id, time) */
        m->rows = dim0(obj, "axis1_label0");
        count_series(obj, m->rows, m);
    }
    m->cols = series ? 1 : dim0(obj, "axis0");
    if (m->rows == 0)
        return tsf_stage_fail_key(ctx, err, "key", TSF_EFORMAT,
                                  "%s: \"/%s\": the pandas %s has no rows (expected at least "
                                  "one row of values)",
                                  s->path, key, series ? "series" : "frame");
    return TSF_OK;
}

/* A 2-D variable of a netCDF-4 file may be (station, time): one series per station, or
 * columns; which, the reader decides from its dimensions (lib/io/hdf5_read.c). */
static int netcdf_2d(hid_t file)
{
    int nc = H5Aexists_by_name(file, "/", "_NCProperties", H5P_DEFAULT) > 0;
    H5Eclear2(H5E_DEFAULT);
    return nc;
}

static int check_file(tsf_stage_ctx *ctx, const ingest_hdf5 *s, tsf_meta *const *out, tsf_err *err)
{
    const char *key = s->key ? s->key : "data";
    tsf_meta *m = out[0];
    if (H5Fis_hdf5(s->path) <= 0)
        return tsf_stage_fail_key(ctx, err, "path", TSF_EFORMAT,
                                  "%s is not an HDF5 file (expected an HDF5 file; for CSV use "
                                  "stage ingest.csv)",
                                  s->path);
    hid_t file = H5Fopen(s->path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0)
        return tsf_stage_fail_key(ctx, err, "path", TSF_EIO, "%s: HDF5 cannot open it", s->path);
    int rc = TSF_OK;
    if (!key_exists(file, key)) {
        char names[512];
        root_names(file, names, sizeof names);
        rc = tsf_stage_fail_key(ctx, err, "key", TSF_EINVAL,
                                "%s has no dataset or group \"%s\" (expected one of: %s)", s->path,
                                key, names[0] ? names : "(the file is empty)");
        goto done;
    }
    hid_t obj = H5Oopen(file, key, H5P_DEFAULT);
    if (obj < 0) {
        rc = tsf_stage_fail_key(ctx, err, "key", TSF_EFORMAT, "%s: cannot open \"%s\"", s->path,
                                key);
        goto done;
    }
    H5I_type_t t = H5Iget_type(obj);
    if (t == H5I_DATASET) {
        hid_t sp = H5Dget_space(obj), ty = H5Dget_type(obj);
        hsize_t dims[8];
        int rank = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1;
        H5T_class_t cls = ty >= 0 ? H5Tget_class(ty) : H5T_NO_CLASS;
        if (rank >= 1 && rank <= 2)
            H5Sget_simple_extent_dims(sp, dims, NULL);
        if (sp >= 0)
            H5Sclose(sp);
        if (ty >= 0)
            H5Tclose(ty);
        if (cls == H5T_COMPOUND && rank == 1) {
            /* a table (R's data.frame): its series and value fields are known once read */
            m->rows = (int64_t)dims[0];
            m->cols = m->n_series = m->min_series_rows = TSF_UNKNOWN;
        } else if (cls != H5T_INTEGER && cls != H5T_FLOAT)
            rc = tsf_stage_fail_key(ctx, err, "key", TSF_EFORMAT,
                                    "%s: dataset \"%s\" is not numeric (expected integers, "
                                    "floating-point numbers or a table of records)",
                                    s->path, key);
        else if (rank < 1 || rank > 2)
            rc = tsf_stage_fail_key(ctx, err, "key", TSF_EFORMAT,
                                    "%s: dataset \"%s\" has %d dimensions (expected 1 or 2: rows, "
                                    "or rows x columns)",
                                    s->path, key, rank);
        else if (dims[0] == 0) { /* as the reader says it, and as ingest.csv refuses no rows */
            char shape[48] = "0";
            if (rank == 2)
                snprintf(shape, sizeof shape, "0 x %llu", (unsigned long long)dims[1]);
            rc = tsf_stage_fail_key(ctx, err, "key", TSF_EFORMAT,
                                    "%s: \"/%s\": the dataset has no rows (its shape is %s; "
                                    "expected at least one row of values)",
                                    s->path, key, shape);
        } else {
            /* R matrices are k x n in HDF5: rhdf5 marks them, and time_dim says so */
            int t1 =
                rank == 2 && (s->time_dim == TIME_DIM_1 ||
                              (s->time_dim == TIME_DIM_AUTO && H5Aexists(obj, "rhdf5-NA.OK") > 0));
            H5Eclear2(H5E_DEFAULT);
            m->rows = m->min_series_rows = (int64_t)dims[t1];
            m->cols = rank == 2 ? (int64_t)dims[1 - t1] : 1;
            m->n_series = 1;
            if (rank == 2 && netcdf_2d(file))
                m->rows = m->min_series_rows = m->cols = m->n_series = TSF_UNKNOWN;
        }
    } else if (t == H5I_GROUP) {
        rc = check_pandas_group(ctx, s, key, obj, m, err);
    }
    H5Oclose(obj);
    if (s->columns.n)
        m->cols = (int64_t)s->columns.n;
    if (s->gaps == GAPS_FILL) /* fill may add rows */
        m->rows = m->min_series_rows = 0;
    if (rc == TSF_OK)
        rc = tsf_meta_set_source(ctx, m, s->path);
done:
    H5Fclose(file);
    return rc;
}

static int check(tsf_stage_ctx *ctx, void *state, const tsf_meta *const *in, tsf_meta *const *out,
                 tsf_err *err)
{
    (void)in;
    const ingest_hdf5 *s = state;
    int tz_rc = tsfs_check_tz(ctx, s->tz, err);
    if (tz_rc != TSF_OK)
        return tz_rc;
    const char *parsing = tsf_hdf5_parsing_set(s->path); /* named if libhdf5 crashes on it */
    int rc = check_file(ctx, s, out, err);
    tsf_hdf5_parsing_set(parsing);
    return rc;
}

static int run(tsf_stage_ctx *ctx, void *state, tsf_value *const *in, tsf_value *const *out,
               tsf_err *err)
{
    (void)in;
    const ingest_hdf5 *s = state;
    tsf_hdf5_options opt;
    tsf_hdf5_options_init(&opt);
    opt.time_column = s->time_column;
    opt.no_time = s->no_time;
    if (s->columns.n) {
        opt.columns = s->columns.v;
        opt.n_columns = s->columns.n;
    }
    opt.gaps = s->gaps == GAPS_FILL ? TSF_GAP_FILL : TSF_GAP_ERROR;
    opt.time_dim = s->time_dim == TIME_DIM_0   ? TSF_HDF5_TIME_DIM_0
                   : s->time_dim == TIME_DIM_1 ? TSF_HDF5_TIME_DIM_1
                                               : TSF_HDF5_TIME_DIM_AUTO;
    opt.time_unit = (tsf_time_unit)s->time_unit;
    tsf_frame *f = NULL;
    tsf_hdf5_info info;
    int rc = tsf_hdf5_read_opt(&f, s->path, s->key, &opt, &info, err);
    if (rc == TSF_OK && s->tz && (rc = tsf_frame_localize(f, s->tz, err)) != TSF_OK)
        (void)tsf_err_prefix(err, "%s: tz", s->path);
    if (rc != TSF_OK) {
        tsf_frame_free(f);
        return rc;
    }
    if (info.notes[0])
        tsf_stage_log(ctx, TSF_LOG_INFO, "%s: %s", s->path, info.notes);
    tsf_stage_log(ctx, TSF_LOG_INFO,
                  "%s: %zu row%s, %zu column%s, %zu series, %zu value%s "
                  "missing by CF attributes%s",
                  s->path, f->n_rows, f->n_rows == 1 ? "" : "s", f->n_cols,
                  f->n_cols == 1 ? "" : "s", f->n_series, info.n_masked,
                  info.n_masked == 1 ? "" : "s", info.n_filled ? " (gaps filled)" : "");
    return tsf_value_set(ctx, out[0], f, tsf_free_frame);
}

const tsf_stage_def tsf_stage_ingest_hdf5 = {
    .abi = TSF_STAGE_ABI_VERSION,
    .name = "ingest.hdf5",
    .summary = "read a frame from an HDF5 file (a dataset or a pandas frame)",
    .help = "Reads a frame written by pandas.DataFrame.to_hdf(path, key) in format \"fixed\" or "
            "\"table\" (dtype blocks, data columns, rows appended in chunks; a MultiIndex "
            "(id, time) or one text column gives one series per id; a PeriodIndex reads as the "
            "instants its periods start at, as to_timestamp() gives them), or a "
            "plain 1-D or 2-D numeric dataset (h5py, netCDF-4/xarray, R). Naming rules for "
            "datasets: column names from an attribute named columns, column_names, colnames, "
            "col_names, names, labels or variables, or a string dimension scale; the time from a "
            "dimension scale, else a dataset beside the data named time, times, date, dates, "
            "datetime, timestamp, timestamps or index (any case), else time_column. Time values "
            "are ISO 8601 strings, numbers with CF units (\"<seconds|minutes|hours|days|"
            "milliseconds|microseconds|nanoseconds> since <date>\", standard calendar), or plain "
            "numbers (an integer index; time_unit says what they count). A 2-D netCDF-4 variable "
            "over (station, time) or (time, station) is a long frame, one series per station "
            "(as xarray's to_dataframe). CF scale_factor, add_offset, _FillValue, missing_value "
            "and valid_min/valid_max/valid_range are applied. R matrices (n x k in R, k x n in "
            "HDF5) are recognised when rhdf5 wrote them; otherwise time_dim decides, and a "
            "dataset with fewer rows than columns and no names or time is refused until it is "
            "given. A compound dataset (an R data.frame from rhdf5 or hdf5r) is a table: its time "
            "is time_column, else the first text field holding times, else a numeric field named "
            "like a time (numbers need time_unit: d for R's Date, s for POSIXct); one other text "
            "or factor field is the series id of a long table; numeric fields are the values.",
    .state_size = sizeof(ingest_hdf5),
    .options = options,
    .outputs = outputs,
    .check = check,
    .run = run,
};
