/* tsf_hdf5_read and tsf_is_hdf5: frames from HDF5 files.
 *
 * `key` (default "data", a leading '/' optional) names one of:
 *
 * 1. A pandas object written by to_hdf(path, key, format="fixed"): a group with attribute
 *    pandas_type "frame" (DataFrame) or "series" (Series).
 *    - Columns: axis0 (string or integer labels). Values: block<i>_items / block<i>_values,
 *      one block per dtype; float and integer blocks (bool too, as 0/1) are merged back into
 *      column order as doubles. Object (string) columns, datetime columns and the like are
 *      refused, naming the column.
 *    - Index: a DatetimeIndex (int64 ns, kind "datetime64") becomes TSF_TIME_EPOCH seconds (a
 *      fraction of a second or NaT is an error); an integer index (RangeIndex included)
 *      becomes TSF_TIME_INDEX with its values; a string index is parsed as ISO 8601
 *      timestamps. The index name becomes the frame's time name. opt->time_column may name
 *      a column instead: datetimes (its block's value_type datetime64) are the time; integers
 *      count opt->time_unit (an integer index without one).
 *    - A two-level MultiIndex (id, time), as tsf_hdf5_write writes a long frame, gives one
 *      series per id (in order of first appearance; rows regrouped if interleaved).
 *    - A PeriodIndex (kind "integer", index_class "period", a pickled freq) becomes the instants
 *      its periods start at, as PeriodIndex.to_timestamp() gives them (period_index).
 *    - format="table" (pandas_type "frame_table"): the PyTables table "table" of records (the
 *      index, dtype blocks values_block_<i> or one field per data column), its column names in
 *      pickled attributes (lib/io/pickle0.c): see read_pd_table. A MultiIndex (id, time) or one
 *      text column gives one series per id; an integer index with a freq is a PeriodIndex.
 * 2. A plain numeric dataset (float32/float64, any integer, bool), 1-D (one column) or 2-D.
 *    - Which dimension is time (2-D): opt->time_dim; else rhdf5's "rhdf5-NA.OK" attribute
 *      says dimension 1 (R's n x k matrices are column-major, so HDF5 sees k x n); else a
 *      dimension scale on dim 0, a time dataset as long as one dimension, a column-names
 *      attribute or more rows than columns decide (plain_time_dim); else it is an error asking
 *      for time_dim (hdf5r writes R matrices without a trace).
 *    - Column names: an attribute named columns, column_names, colnames, col_names, names,
 *      labels or variables (strings, one per column); else a string dimension scale on the
 *      column dimension; else the dataset's name for 1-D, "v0", "v1", ... for 2-D. A string
 *      attribute of one value per column under another name is an error naming it.
 *    - Time: opt->time_column (a column, or a dataset beside the data); else a dimension scale
 *      on the time dimension; else the first of the sibling datasets time, times, date, dates,
 *      datetime, timestamp, timestamps, index (any case; same group, 1-D). A sibling that looks
 *      like time under another name (strings, CF units, "time"/"date" in its name) is an error
 *      asking for time_column or no_time. Its values are: ISO 8601 strings; or numbers with a
 *      CF attribute units="<unit> since <reference time>" (unit seconds, minutes, hours, days,
 *      milliseconds, microseconds or nanoseconds; the reference time with a UTC offset as
 *      lib/io/hdf5_cf.c reads it; calendar standard, gregorian or proleptic_gregorian), giving
 *      TSF_TIME_EPOCH; or numbers without such units, counting opt->time_unit, else giving
 *      TSF_TIME_INDEX with those values. No time dataset: 0, 1, 2, ...
 *    - CF packing and masking, as xarray decodes them: values equal to _FillValue or
 *      missing_value become NaN, the others value * scale_factor + add_offset (in double).
 *      Values outside valid_min/valid_max/valid_range are NaN too, as CF and netCDF4-python say
 *      (xarray keeps them).
 *    tsf_hdf5_write's "<key>_xr/values" of a one-series frame reads back this way.
 *    - A 2-D variable of a netCDF-4 file over (station, time) or (time, station) is a long
 *      frame, one series per station, as xarray's to_dataframe() (read_nc_series).
 * 3. A 1-D compound dataset (a table: R's data.frames): see lib/io/hdf5_table.c.
 *
 * Options (tsf_hdf5_options) mean what tsf_csv_options mean: columns selects and orders value
 * columns, no_time numbers each series' rows, gaps fill inserts NaN rows at missing times.
 *
 * Rows of each series must be in strictly increasing time order and evenly spaced: one
 * period of a frequency for timestamps regular on the calendar (months, business days, ...;
 * see tsflow/freq.h), else the smallest difference is the step; otherwise the error names the rows
 * (0-based, as pandas' iloc). Errors name the file and the object, say what was found and what to
 * do; HDF5's own messages appear only as the innermost description (tsf__h5_fail).
 */
#include <ctype.h>
#include <errno.h>
#include <hdf5.h>
#include <hdf5_hl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "tsflow/atomic.h"
#include "tsflow/io.h"
#include "tsflow/tz.h"
#include "core.h"
#include "hdf5_cf.h"
#include "hdf5_guard.h"
#include "hdf5_table.h"
#include "pickle0.h"

#define NS_PER_US INT64_C(1000) /* pandas' datetime64[ns] to tsflow's microseconds */
#define SLAB_BYTES ((size_t)4 << 20)
#define TEXT_MAX 256

/* What is being read, for messages. */
typedef struct rd {
    const char *path; /* the file */
    const char *key;  /* the object, without the leading '/' */
    hid_t fid;
    const tsf_hdf5_options *opt; /* never NULL */
    tsf_hdf5_info *info;         /* never NULL */
    tsf_err *err;
} rd;

/* Add a decision to info->notes, "; "-separated (truncated when full). */
static void note(const rd *r, const char *fmt, ...) TSF_PRINTF(2, 3);
static void note(const rd *r, const char *fmt, ...)
{
    char *buf = r->info->notes;
    size_t cap = sizeof r->info->notes, used = strlen(buf);
    if (used && used + 3 < cap)
        used += (size_t)snprintf(buf + used, cap - used, "; ");
    if (used + 1 >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + used, cap - used, fmt, ap);
    va_end(ap);
}

/* ---- tsf_is_hdf5 ----------------------------------------------------------------------------- */

int tsf_is_hdf5(const char *path)
{
    /* The signature sits at offset 0, or after a user block at 512, 1024, 2048, ... */
    static const unsigned char sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    /* Never open a pipe: that waits for a writer, and reading would eat the CSV reader's
     * bytes. HDF5 needs random access, so a pipe is never HDF5 here. */
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return 0;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return 0;
    int found = 0;
    unsigned char buf[8];
    for (long off = 0; off <= (1L << 30); off = off ? off * 2 : 512) {
        if (fseek(fp, off, SEEK_SET) != 0 || fread(buf, 1, 8, fp) != 8)
            break;
        if (memcmp(buf, sig, 8) == 0) {
            found = 1;
            break;
        }
    }
    fclose(fp);
    return found;
}

/* ---- small HDF5 helpers -------------------------------------------------------------------- */

static void free_strs(char **s, size_t n)
{
    if (!s)
        return;
    for (size_t i = 0; i < n; i++)
        free(s[i]);
    free(s);
}

/* Seconds a read of a few variable-length values may take before a watchdog may call it a
 * loop inside libhdf5 (tsf_hdf5_deadline): they take microseconds, even under valgrind. */
#define HDF5_PATIENCE_S 10.0

/* Read n strings of string type t from a dataset (is_attr 0) or attribute into *out.
 * Returns 0, -1 (HDF5) or -2 (memory). */
static int read_strs(hid_t obj, int is_attr, hid_t t, size_t n, char ***out)
{
    *out = NULL;
    char **v = calloc(n ? n : 1, sizeof *v);
    if (!v)
        return -2;
    int rc = 0;
    if (H5Tis_variable_str(t) > 0) {
        char **raw = calloc(n ? n : 1, sizeof *raw);
        hid_t mt = H5Tcopy(H5T_C_S1);
        if (!raw || mt < 0 || H5Tset_size(mt, H5T_VARIABLE) < 0 ||
            H5Tset_cset(mt, H5Tget_cset(t)) < 0) {
            rc = raw ? -1 : -2;
        } else if (n) {
            /* The strings live in the global heap, where a damaged file can make libhdf5 loop
             * for ever: a deadline far beyond what n strings take (about 0.3 us each). */
            double deadline = tsf__hdf5_deadline_set(HDF5_PATIENCE_S + 1e-5 * (double)n);
            herr_t h = is_attr ? H5Aread(obj, mt, raw)
                               : H5Dread(obj, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw);
            tsf__hdf5_deadline_restore(deadline);
            rc = h < 0 ? -1 : 0;
        }
        for (size_t i = 0; i < n && raw; i++) {
            if (rc == 0 && !(v[i] = strdup(raw[i] ? raw[i] : "")))
                rc = -2;
            if (raw[i])
                H5free_memory(raw[i]);
        }
        free(raw);
        tsf__h5_close(mt);
    } else {
        size_t w = H5Tget_size(t);
        int spacepad = H5Tget_strpad(t) == H5T_STR_SPACEPAD;
        /* A damaged string type can claim gigabytes per string (found by fuzzing): the strings
         * must fit in what the file stores (chunks may be compressed; attributes live in object
         * headers or the attribute heap: at most 64 MiB is plausible). */
        double stored = is_attr ? 0 : (double)H5Dget_storage_size(obj);
        double cap = stored * 1100.0 > 64.0 * (1 << 20) ? stored * 1100.0 : 64.0 * (1 << 20);
        char *buf = w && (double)n * (double)w <= cap ? malloc(n * w + 1) : NULL;
        if (w && (double)n * (double)w > cap) {
            rc = -1;
        } else if (!buf) {
            rc = -2;
        } else if (n) {
            herr_t h = is_attr ? H5Aread(obj, t, buf)
                               : H5Dread(obj, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
            rc = h < 0 ? -1 : 0;
        }
        for (size_t i = 0; i < n && rc == 0; i++) {
            const char *s = buf + i * w;
            size_t l = 0;
            while (l < w && s[l])
                l++;
            while (spacepad && l > 0 && s[l - 1] == ' ')
                l--;
            if (!(v[i] = malloc(l + 1))) {
                rc = -2;
                break;
            }
            memcpy(v[i], s, l);
            v[i][l] = '\0';
        }
        free(buf);
    }
    if (rc != 0) {
        free_strs(v, n);
        return rc;
    }
    *out = v;
    return 0;
}

/* Set by attr_text when an allocation failed, and read once the whole read is over (as SQLite's
 * mallocFailed is): attr_text's callers take "absent" for an answer, so a lost attribute would
 * otherwise give a wrong error ("index of kind \"\"") or, worse, another reading of the file. */
static _Thread_local int attr_nomem;

/* A scalar string attribute into buf (truncated to cap). Returns 1 when found; 0 when absent,
 * not a string, or a pickled Python object (an ASCII string ending in '.', as PyTables stores
 * non-string attributes such as pandas' "name" of None); with `pickles`, those too, as text;
 * or when memory ran out (attr_nomem). */
static int attr_text_or_pickle(hid_t obj, const char *name, char *buf, size_t cap, int pickles)
{
    buf[0] = '\0';
    if (H5Aexists(obj, name) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        return 0;
    }
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    hid_t t = a < 0 ? -1 : H5Aget_type(a);
    hid_t s = a < 0 ? -1 : H5Aget_space(a);
    int found = 0;
    if (t >= 0 && s >= 0 && H5Tget_class(t) == H5T_STRING) {
        if (H5Sget_simple_extent_type(s) == H5S_NULL) {
            found = 1;
        } else if (H5Sget_simple_extent_npoints(s) == 1) {
            char **v = NULL;
            int got = read_strs(a, 1, t, 1, &v);
            attr_nomem |= got == -2;
            if (got == 0) {
                size_t l = strlen(v[0]);
                int pickled = H5Tget_cset(t) == H5T_CSET_ASCII && l > 0 && v[0][l - 1] == '.';
                if (!pickled || pickles) {
                    snprintf(buf, cap, "%s", v[0]);
                    found = 1;
                }
                free_strs(v, 1);
            }
        }
    }
    tsf__h5_close(s);
    tsf__h5_close(t);
    tsf__h5_close(a);
    H5Eclear2(H5E_DEFAULT);
    return found;
}

static int attr_text(hid_t obj, const char *name, char *buf, size_t cap)
{
    return attr_text_or_pickle(obj, name, buf, cap, 0);
}

/* The zone of a pandas DatetimeIndex node (its "tz" attribute): an IANA name, or the pickles
 * pandas 1.5 writes for pytz's UTC and fixed offsets, as tsflow/tz.h names them. */
static void attr_tz(hid_t ds, char *buf, size_t cap)
{
    char raw[256];
    int minutes;
    if (!attr_text_or_pickle(ds, "tz", raw, sizeof raw, 1) || !raw[0])
        buf[0] = '\0';
    else if (strstr(raw, "pytz\n_UTC\n") || !strcmp(raw, "UTC"))
        snprintf(buf, cap, "UTC");
    else if (sscanf(raw, "cpytz\nFixedOffset\np0\n(I%d\n", &minutes) == 1 && minutes > -1440 &&
             minutes < 1440)
        tsf_tz_offset_format(minutes * 60, buf, cap);
    else if (raw[strlen(raw) - 1] != '.')
        snprintf(buf, cap, "%s", raw);
    else
        buf[0] = '\0'; /* another pickled zone object: not one tsflow can name */
}

/* A scalar integer (or numpy bool) attribute. Returns 1 when found. */
static int attr_int(hid_t obj, const char *name, int64_t *v)
{
    if (H5Aexists(obj, name) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        return 0;
    }
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    hid_t t = a < 0 ? -1 : H5Aget_type(a);
    hid_t s = a < 0 ? -1 : H5Aget_space(a);
    int found = 0;
    if (t >= 0 && s >= 0 && H5Sget_simple_extent_npoints(s) == 1) {
        H5T_class_t c = H5Tget_class(t);
        if (c == H5T_INTEGER) {
            found = H5Aread(a, H5T_NATIVE_INT64, v) >= 0;
        } else if (c == H5T_BITFIELD && H5Tget_size(t) == 1) {
            uint8_t b = 0;
            found = H5Aread(a, H5T_NATIVE_B8, &b) >= 0;
            *v = b;
        }
    }
    tsf__h5_close(s);
    tsf__h5_close(t);
    tsf__h5_close(a);
    H5Eclear2(H5E_DEFAULT);
    return found;
}

/* A 1-D string attribute of exactly n values. 1: read; 0: absent; -1: present but not n
 * strings (*got = its length); -2: memory. */
static int attr_strs(hid_t obj, const char *name, size_t n, char ***out, size_t *got)
{
    *out = NULL;
    *got = 0;
    if (H5Aexists(obj, name) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        return 0;
    }
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    hid_t t = a < 0 ? -1 : H5Aget_type(a);
    hid_t s = a < 0 ? -1 : H5Aget_space(a);
    int rc = -1;
    if (t >= 0 && s >= 0 && H5Tget_class(t) == H5T_STRING) {
        hssize_t np = H5Sget_simple_extent_npoints(s);
        *got = np > 0 ? (size_t)np : 0;
        if (np >= 0 && (size_t)np == n) {
            int r = read_strs(a, 1, t, n, out);
            rc = r == 0 ? 1 : r == -2 ? -2 : -1;
        }
    }
    tsf__h5_close(s);
    tsf__h5_close(t);
    tsf__h5_close(a);
    H5Eclear2(H5E_DEFAULT);
    return rc;
}

static const char *describe_class(hid_t t)
{
    switch (H5Tget_class(t)) {
    case H5T_STRING:
        return "strings";
    case H5T_COMPOUND:
        return "records of a compound type (a table)";
    case H5T_ENUM:
        return "enumeration values";
    case H5T_REFERENCE:
        return "object references";
    case H5T_VLEN:
        return "variable-length sequences (Python objects, as pandas pickles them)";
    case H5T_OPAQUE:
        return "opaque bytes";
    case H5T_ARRAY:
        return "fixed-size arrays";
    case H5T_BITFIELD:
        return "bit fields";
    default:
        return "values of an unsupported type";
    }
}

/* How to read a numeric type: as double through HDF5's conversion, or as 1-byte booleans
 * (numpy bool in PyTables is an 8-bit bitfield, in h5py an int8 enum) that HDF5 cannot
 * convert to double. 0 when the type is not numeric. */
enum { NUM_NONE = 0, NUM_DOUBLE, NUM_BYTE };
static int numeric_kind(hid_t t)
{
    H5T_class_t c = H5Tget_class(t);
    if (c == H5T_INTEGER || c == H5T_FLOAT)
        return NUM_DOUBLE;
    if (c == H5T_BITFIELD && H5Tget_size(t) == 1)
        return NUM_BYTE;
    if (c == H5T_ENUM && H5Tget_size(t) == 1) {
        /* A damaged enum can have a wider base type than itself, and H5Tget_native_type then
         * writes past its buffer (found by fuzzing): require a 1-byte integer base. */
        hid_t b = H5Tget_super(t);
        int ok = b >= 0 && H5Tget_class(b) == H5T_INTEGER && H5Tget_size(b) == 1 &&
                 H5Tget_precision(b) <= 8;
        tsf__h5_close(b);
        H5Eclear2(H5E_DEFAULT);
        return ok ? NUM_BYTE : NUM_NONE;
    }
    return NUM_NONE;
}

/* Read a numeric dataset into dst[0..k)[0..n_rows) as doubles. rank 1: (n_rows), k == 1;
 * rank 2: (n_rows, k) when rows_first, else (k, n_rows). Slabs of a few MB, so memory stays
 * the frame plus a constant. Returns 0, -1 (HDF5) or -2 (memory). */
static int read_numeric(hid_t ds, int rank, size_t n_rows, size_t k, int rows_first,
                        double *const *dst)
{
    hid_t ft = H5Dget_type(ds);
    int nk = ft < 0 ? NUM_NONE : numeric_kind(ft);
    hid_t mt = -1;
    if (nk == NUM_DOUBLE)
        mt = H5Tcopy(H5T_NATIVE_DOUBLE);
    else if (nk == NUM_BYTE)
        mt = H5Tget_class(ft) == H5T_ENUM ? H5Tget_native_type(ft, H5T_DIR_ASCEND)
                                          : H5Tcopy(H5T_NATIVE_B8);
    tsf__h5_close(ft);
    if (mt < 0)
        return -1;
    size_t es = nk == NUM_DOUBLE ? 8 : 1;
    if (n_rows == 0 || k == 0) {
        tsf__h5_close(mt);
        return 0;
    }
    if (rank == 1 && nk == NUM_DOUBLE) {
        int rc = H5Dread(ds, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, dst[0]) < 0 ? -1 : 0;
        tsf__h5_close(mt);
        return rc;
    }
    size_t per = SLAB_BYTES / (es * k);
    if (per == 0)
        per = 1;
    if (per > n_rows)
        per = n_rows;
    unsigned char *buf = malloc(per * k * es);
    hid_t fs = H5Dget_space(ds);
    int rc = buf ? (fs < 0 ? -1 : 0) : -2;
    for (size_t r0 = 0; rc == 0 && r0 < n_rows; r0 += per) {
        size_t n = n_rows - r0 < per ? n_rows - r0 : per;
        hsize_t start[2] = {r0, 0}, count[2] = {n, k};
        if (rank == 2 && !rows_first) {
            start[0] = 0;
            start[1] = r0;
            count[0] = k;
            count[1] = n;
        }
        hsize_t m = (hsize_t)n * k;
        hid_t ms = H5Screate_simple(1, &m, NULL);
        if (ms < 0 || H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL) < 0 ||
            H5Dread(ds, mt, ms, fs, H5P_DEFAULT, buf) < 0)
            rc = -1;
        tsf__h5_close(ms);
        for (size_t i = 0; rc == 0 && i < n; i++)
            for (size_t j = 0; j < k; j++) {
                size_t at = rank == 2 && !rows_first ? j * n + i : i * k + j;
                double v;
                if (es == 8)
                    memcpy(&v, buf + at * 8, 8);
                else
                    v = (double)(int8_t)buf[at];
                dst[j][r0 + i] = v;
            }
    }
    tsf__h5_close(fs);
    tsf__h5_close(mt);
    free(buf);
    return rc;
}

/* Shape of a dataset: rank (-1 on error) and up to 8 dims. */
static int shape_of(hid_t ds, hsize_t *dims)
{
    hid_t s = H5Dget_space(ds);
    if (s < 0)
        return -1;
    int rank = H5Sget_simple_extent_ndims(s);
    if (rank > 8 || (rank > 0 && H5Sget_simple_extent_dims(s, dims, NULL) < 0))
        rank = -1;
    H5Sclose(s);
    return rank;
}

static int fail_h5(const rd *r, int code, const char *what);

/* A damaged file can claim any extent (even one beyond the dataspace's own maximum). Before
 * allocating for a dataset, check that the file can hold the values it claims: its stored data
 * (H5Dget_storage_size) must fit in the file, and the values must fit in that data: exactly for
 * contiguous and compact layouts (but for variable-length strings), within deflate's best ratio
 * (about 1032:1) for chunked ones; storage not yet allocated reads as fill values, allowed up to
 * 64 MiB. Found by fuzzing: without this check such files made the reader allocate terabytes. */
/* A dataset compressed with a filter this libhdf5 lacks reads as an HDF5 error deep in the
 * stack: name the filter and how to get it instead (Debian's plugin packages install into the
 * directory libhdf5 searches by default). */
static int check_filters(const rd *r, hid_t ds, const char *what)
{
    static const struct {
        H5Z_filter_t id;
        const char *name, *how;
    } known[] = {
        {32000, "LZF", "Debian has no plugin for it (h5py carries its own)"},
        {32001, "Blosc", "install Debian's hdf5-filter-plugin-blosc-serial"},
        {32004, "LZ4", "install Debian's hdf5-filter-plugin"},
        {32008, "Bitshuffle", "install Debian's hdf5-filter-plugin"},
        {307, "BZip2", "install Debian's hdf5-filter-plugin"},
        {32013, "ZFP", "install Debian's hdf5-filter-plugin-zfp-serial"},
        {32015, "Zstandard", "Debian has no plugin for it"},
    };
    hid_t pl = H5Dget_create_plist(ds);
    int n = pl < 0 ? 0 : H5Pget_nfilters(pl);
    int rc = TSF_OK;
    for (int i = 0; i < n && rc == TSF_OK; i++) {
        unsigned flags = 0, cd[8];
        size_t n_cd = 8;
        char fname[64] = "";
        H5Z_filter_t id =
            H5Pget_filter2(pl, (unsigned)i, &flags, &n_cd, cd, sizeof fname, fname, NULL);
        if (id < 0 || H5Zfilter_avail(id) > 0)
            continue;
        const char *name = fname[0] ? fname : "an unknown filter", *how = NULL;
        for (size_t k = 0; k < sizeof known / sizeof known[0]; k++)
            if (known[k].id == id) {
                name = known[k].name;
                how = known[k].how;
            }
        rc = tsf_err_set(r->err, TSF_EFORMAT,
                         "%s: \"/%s\": %s is compressed with %s (HDF5 filter %d), which this "
                         "HDF5 library cannot decompress: %s%sor re-save it with zlib (pandas: "
                         "to_hdf(..., complib=\"zlib\"); h5py: compression=\"gzip\")",
                         r->path, r->key, what, name, (int)id, how ? how : "", how ? ", " : "");
    }
    tsf__h5_close(pl);
    H5Eclear2(H5E_DEFAULT);
    return rc;
}

static int check_extent(const rd *r, hid_t ds, const char *what)
{
    int frc = check_filters(r, ds, what);
    if (frc != TSF_OK)
        return frc;
    hsize_t dims[8] = {0}, maxdims[8] = {0}, fsize = 0;
    hid_t s = H5Dget_space(ds), t = H5Dget_type(ds), pl = H5Dget_create_plist(ds);
    int rank = s < 0 ? -1 : H5Sget_simple_extent_ndims(s);
    int ok = rank >= 0 && rank <= 8 && t >= 0 && pl >= 0 &&
             (rank == 0 || H5Sget_simple_extent_dims(s, dims, maxdims) >= 0) &&
             H5Fget_filesize(r->fid, &fsize) >= 0;
    double n = 1, bytes = 0, stored = 0;
    int beyond = -1; /* a dimension larger than its maximum */
    H5D_layout_t layout = H5D_LAYOUT_ERROR;
    if (ok) {
        for (int i = 0; i < rank; i++) {
            if (maxdims[i] != H5S_UNLIMITED && dims[i] > maxdims[i] && beyond < 0)
                beyond = i;
            n *= (double)dims[i];
        }
        bytes = n * (double)H5Tget_size(t);
        stored = (double)H5Dget_storage_size(ds);
        layout = H5Pget_layout(pl);
    }
    tsf__h5_close(pl);
    tsf__h5_close(t);
    tsf__h5_close(s);
    H5Eclear2(H5E_DEFAULT);
    if (!ok)
        return fail_h5(r, TSF_EFORMAT, "cannot read the shape of this dataset");
    if (beyond >= 0)
        TSF_FAIL(r->err, TSF_EFORMAT,
                 "%s: \"/%s\": %s has %llu values along dimension %d, beyond its maximum of %llu "
                 "(expected a size within the maximum): the file is damaged",
                 r->path, r->key, what, (unsigned long long)dims[beyond], beyond,
                 (unsigned long long)maxdims[beyond]);
    const double fill = 64.0 * (1 << 20); /* unallocated storage reads as fill values */
    double limit = stored == 0             ? fill
                   : layout == H5D_CHUNKED ? (stored * 1100.0 > fill ? stored * 1100.0 : fill)
                                           : stored * 2; /* 2: variable-length strings */
    if (stored <= (double)fsize && bytes <= limit)
        return TSF_OK;
    TSF_FAIL(r->err, TSF_EFORMAT,
             "%s: \"/%s\": %s claims %.0f values (%.0f bytes) but the file stores %.0f bytes for "
             "it (file size %.0f); expected an extent that matches the stored data: the file is "
             "damaged",
             r->path, r->key, what, n, bytes, stored, (double)fsize);
}

static int fail_h5(const rd *r, int code, const char *what)
{
    return tsf__h5_fail(r->err, code, "%s: \"/%s\": %s", r->path, r->key, what);
}

static int fail_nomem(const rd *r)
{
    return tsf_err_set(r->err, TSF_ENOMEM, "%s: \"/%s\": out of memory", r->path, r->key);
}

/* ---- time values --------------------------------------------------------------------------- */

/* Which object the time values came from, for messages. */
typedef struct time_src {
    const char *what; /* e.g. "index" or "time dataset \"/time\"" */
} time_src;

static int parse_iso_all(const rd *r, const char *what, char **s, size_t n, int64_t *t)
{
    for (size_t i = 0; i < n; i++) {
        int ok = tsf_time_parse_iso(s[i], strlen(s[i]), &t[i], NULL);
        if (ok == TSF_TIME_SUBUS)
            TSF_FAIL(r->err, TSF_EFORMAT,
                     "%s: \"/%s\": %s value \"%s\" at row %zu has a fraction of a second finer "
                     "than a microsecond, tsflow's resolution (it never rounds a time)",
                     r->path, r->key, what, s[i], i);
        if (ok != 1)
            TSF_FAIL(r->err, TSF_EFORMAT,
                     "%s: \"/%s\": %s value \"%s\" at row %zu is not a timestamp (expected ISO "
                     "8601, e.g. 2016-07-01 00:00:00)",
                     r->path, r->key, what, s[i], i);
    }
    return TSF_OK;
}

/* Integer times that look like epoch times (every value within 1990..2100 in seconds,
 * milliseconds, microseconds or nanoseconds) are read as an integer index, as they say; a note
 * says how to read them as times (a dataset can carry CF units; a column only the option). */
static void epoch_hint(const rd *r, const char *what, int dataset, const int64_t *t, size_t n)
{
    static const struct {
        const char *unit, *abbr;
        double per_s;
    } units[] = {{"seconds", "s", 1},
                 {"milliseconds", "ms", 1e3},
                 {"microseconds", "us", 1e6},
                 {"nanoseconds", "ns", 1e9}};
    if (n == 0)
        return;
    for (size_t u = 0; u < sizeof units / sizeof units[0]; u++) {
        int all = 1;
        for (size_t i = 0; i < n && all; i++) {
            double sec = (double)t[i] / units[u].per_s;
            all = sec >= 631152000.0 && sec < 4102444800.0; /* 1990-01-01 .. 2100-01-01 */
        }
        if (all) {
            char when[40];
            tsf_time_format(TSF_TIME_EPOCH, (int64_t)((double)t[0] / units[u].per_s * 1e6), when,
                            sizeof when);
            if (dataset)
                note(r,
                     "warning: %s holds numbers like epoch %s (the first would be %s) but has "
                     "no units, so they are read as an integer index; to read them as times give "
                     "it the attribute units=\"%s since 1970-01-01\" (or pass --time-unit %s)",
                     what, units[u].unit, when, units[u].unit, units[u].abbr);
            else
                note(r,
                     "warning: %s holds numbers like epoch %s (the first would be %s), read as "
                     "an integer index; to read them as times pass --time-unit %s (ingest.hdf5 "
                     "option time_unit)",
                     what, units[u].unit, when, units[u].abbr);
            return;
        }
    }
}

/* Microseconds per unit (num/den) of time_unit tu when it is a fixed duration, and its name for
 * messages; 0 for auto, index and year. */
static int option_units(tsf_time_unit tu, int64_t *num, int64_t *den, char *name, size_t cap)
{
    static const int64_t num_of[] = {1, TSF_US_PER_S, TSF_US_PER_MS, 1, 1};
    if (tu == TSF_TIME_UNIT_AUTO || tu == TSF_TIME_UNIT_INDEX || tu == TSF_TIME_UNIT_YEAR)
        return 0;
    *num = tu == TSF_TIME_UNIT_DAY ? TSF_US_PER_DAY : num_of[tu];
    *den = tu == TSF_TIME_UNIT_NS ? 1000 : 1;
    snprintf(name, cap, "time_unit %s", tsf_time_unit_names[tu]);
    return 1;
}

/* Read the n_rows time values of dataset ds (strings or numbers, see the top comment). */
/* A time dataset of ISO 8601 strings (closes ft). */
static int read_time_strings(const rd *r, hid_t ds, hid_t ft, const char *what, size_t n_rows,
                             int64_t *t)
{
    char **s = NULL;
    int rc = read_strs(ds, 0, ft, n_rows, &s);
    tsf__h5_close(ft);
    if (rc == -2)
        return fail_nomem(r);
    if (rc < 0)
        return fail_h5(r, TSF_EIO, "cannot read its time dataset");
    rc = parse_iso_all(r, what, s, n_rows, t);
    free_strs(s, n_rows);
    return rc;
}

static int read_time_ds(const rd *r, hid_t ds, const char *dsname, size_t n_rows, int64_t *t,
                        tsf_time_kind *kind)
{
    char what[TEXT_MAX + 32];
    snprintf(what, sizeof what, "time dataset \"%s\"", dsname);
    int rc0 = check_extent(r, ds, what);
    if (rc0 != TSF_OK)
        return rc0;
    hid_t ft = H5Dget_type(ds);
    if (ft < 0)
        return fail_h5(r, TSF_EIO, "cannot read the type of its time dataset");
    H5T_class_t cls = H5Tget_class(ft);
    if (cls == H5T_STRING) {
        *kind = TSF_TIME_EPOCH;
        return read_time_strings(r, ds, ft, what, n_rows, t);
    }
    const char *found = describe_class(ft);
    tsf__h5_close(ft);
    if (cls != H5T_INTEGER && cls != H5T_FLOAT)
        TSF_FAIL(r->err, TSF_ETYPE,
                 "%s: \"/%s\": %s holds %s; expected numbers or ISO 8601 strings", r->path, r->key,
                 what, found);
    char units[TEXT_MAX], cal[TEXT_MAX];
    int64_t num = 1, den = 1, base = 0;
    int cf = 0;
    if (attr_text(ds, "units", units, sizeof units)) {
        cf = tsf__cf_parse_units(units, &num, &den, &base);
        if (cf < 0)
            TSF_FAIL(r->err, TSF_EFORMAT,
                     "%s: \"/%s\": %s has units \"%s\"; expected CF units such as \"seconds since "
                     "1970-01-01T00:00:00Z\"",
                     r->path, r->key, what, units);
    }
    tsf_time_unit tu = r->opt->time_unit;
    if (!cf) /* no units in the file: the option says what the numbers count */
        cf = option_units(tu, &num, &den, units, sizeof units);
    if (cf && attr_text(ds, "calendar", cal, sizeof cal) && strcasecmp(cal, "standard") &&
        strcasecmp(cal, "gregorian") && strcasecmp(cal, "proleptic_gregorian"))
        TSF_FAIL(r->err, TSF_EFORMAT,
                 "%s: \"/%s\": %s uses calendar \"%s\"; tsflow reads the standard (Gregorian) "
                 "calendar only",
                 r->path, r->key, what, cal);
    int rc = TSF_OK;
    if (cls == H5T_INTEGER) {
        if (n_rows && H5Dread(ds, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, t) < 0)
            return fail_h5(r, TSF_EIO, "cannot read its time dataset");
        for (size_t i = 0; cf && i < n_rows && rc == TSF_OK; i++) {
            int64_t v = t[i], s;
            if (v % den != 0)
                rc = tsf_err_set(r->err, TSF_EFORMAT,
                                 "%s: \"/%s\": %s row %zu (%" PRId64
                                 " in units \"%s\") is not a whole microsecond, tsflow's "
                                 "resolution (it never rounds a time)",
                                 r->path, r->key, what, i, v, units);
            else if (__builtin_mul_overflow(v / den, num, &s) ||
                     __builtin_add_overflow(s, base, &t[i]))
                rc = tsf_err_set(r->err, TSF_EFORMAT,
                                 "%s: \"/%s\": %s row %zu (%" PRId64 ") is out of range", r->path,
                                 r->key, what, i, v);
        }
    } else {
        double *x = malloc((n_rows ? n_rows : 1) * sizeof *x);
        if (!x)
            return fail_nomem(r);
        if (n_rows && H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, x) < 0) {
            free(x);
            return fail_h5(r, TSF_EIO, "cannot read its time dataset");
        }
        for (size_t i = 0; i < n_rows && rc == TSF_OK; i++) {
            double v = x[i] * (double)num / (double)den;
            if (!isfinite(v) || v != floor(v) || fabs(v) > 9.2e18)
                rc = tsf_err_set(r->err, TSF_EFORMAT,
                                 "%s: \"/%s\": %s row %zu (%.17g) is not a whole number of %s",
                                 r->path, r->key, what, i, x[i], cf ? "microseconds" : "steps");
            else
                t[i] = (int64_t)v + base;
        }
        free(x);
    }
    *kind = cf ? TSF_TIME_EPOCH : TSF_TIME_INDEX;
    for (size_t i = 0; rc == TSF_OK && tu == TSF_TIME_UNIT_YEAR && i < n_rows; i++) {
        if (t[i] < -999999 || t[i] > 999999)
            rc = tsf_err_set(r->err, TSF_EFORMAT,
                             "%s: \"/%s\": %s row %zu (%" PRId64 ") is not a year (expected "
                             "-999999 to 999999 with time_unit year)",
                             r->path, r->key, what, i, t[i]);
        else
            t[i] = tsf__days_from_civil(t[i], 1, 1) * TSF_US_PER_DAY;
        *kind = TSF_TIME_EPOCH;
    }
    if (rc == TSF_OK && !cf && tu == TSF_TIME_UNIT_AUTO)
        epoch_hint(r, what, 1, t, n_rows);
    return rc;
}

/* Gap filling may multiply the rows by at most 16 (plus a million), as in the CSV reader:
 * beyond that the "gaps" are more likely a wrong step than missing data. */
static int fill_gaps(const rd *r, tsf_frame *f, int64_t step, size_t missing)
{
    if (missing / 16 > f->n_rows + 1000000 / 16)
        TSF_FAIL(r->err, TSF_EFORMAT,
                 "%s: \"/%s\": filling the gaps would insert %zu rows into %zu (expected gaps of "
                 "a few steps of %" PRId64 "; is the step right?)",
                 r->path, r->key, missing, f->n_rows, step);
    size_t n = f->n_rows, total = n + missing;
    int rc = tsf_frame_reserve(f, total, r->err);
    if (rc != TSF_OK)
        return rc;
    /* Expand from the back: a row only moves up (by the rows inserted before it), so walking
     * backwards never overwrites a row not yet moved. */
    size_t w = total;
    for (size_t s = f->n_series; s-- > 0;) {
        size_t end = f->series_start[s + 1], beg = f->series_start[s];
        f->series_start[s + 1] = w;
        for (size_t i = end; i-- > beg;) {
            int64_t t = f->time[i];
            w--;
            f->time[w] = t;
            for (size_t c = 0; c < f->n_cols; c++)
                f->cols[c][w] = f->cols[c][i];
            size_t k = i > beg ? (size_t)((t - f->time[i - 1]) / step - 1) : 0;
            for (size_t m = 1; m <= k; m++) {
                w--;
                f->time[w] = t - (int64_t)m * step;
                for (size_t c = 0; c < f->n_cols; c++)
                    f->cols[c][w] = NAN;
            }
        }
    }
    f->series_start[0] = 0;
    f->n_rows = total;
    r->info->n_filled = missing;
    return TSF_OK;
}

/* Whether every series steps one period at a time on one frequency, on the instants (z NULL)
 * or on the wall clock of zone z (then only days and longer, which step on the local calendar:
 * tsf_tz_freq_add); the frequency into *common. */
static int regular_on(const tsf_frame *f, const tsf_tz *z, tsf_freq *common)
{
    *common = (tsf_freq){TSF_FREQ_NONE, 0, 0};
    int64_t *lt = z ? malloc((f->n_rows ? f->n_rows : 1) * sizeof *lt) : NULL;
    if (z && !lt)
        return 0;
    const int64_t *t = f->time;
    if (z) {
        for (size_t i = 0; i < f->n_rows; i++)
            lt[i] = f->time[i] + tsf_tz_offset(z, f->time[i]) * TSF_US_PER_S;
        t = lt;
    }
    int ok = 1;
    for (size_t s = 0; ok && s < f->n_series; s++) {
        size_t r0, len = tsf_frame_series_rows(f, s, &r0);
        tsf_freq q;
        if (len < 2)
            continue;
        ok = tsf_freq_infer(t + r0, len, &q) &&
             (common->unit == TSF_FREQ_NONE || tsf_freq_equal(&q, common)) &&
             (!z || q.unit != TSF_FREQ_FIXED || q.n % TSF_US_PER_DAY == 0);
        *common = q;
        for (size_t i = r0 + 1; ok && i < r0 + len; i++) {
            int64_t k;
            ok = tsf_freq_count(&q, t[i - 1], t[i], &k) && k == 1;
        }
    }
    free(lt);
    return ok && common->unit != TSF_FREQ_NONE;
}

/* Timestamps whose series all step one period at a time on one frequency (tsflow/freq.h:
 * monthly, business-day, ... indexes are regular on the calendar; with a zone, daily and longer
 * ones on its local calendar, so Berlin's midnights 23 or 25 hours apart are daily): set
 * f->freq and f->step. */
static int calendar_regular(tsf_frame *f)
{
    tsf_freq common;
    const tsf_tz *z = f->tz ? tsf_tz_cached(f->tz) : NULL;
    if (!regular_on(f, NULL, &common) && !(z && regular_on(f, z, &common)))
        return 0;
    f->freq = common;
    f->step = tsf_freq_nominal_step(&common);
    return 1;
}

/* Check that each series is in increasing, evenly spaced time order (filling gaps with NaN
 * rows under TSF_GAP_FILL); set f->step (and f->freq for timestamps). With no_time, number the
 * rows of each series. */
static int check_time(const rd *r, tsf_frame *f, const char *what)
{
    if (r->opt->no_time) {
        for (size_t s = 0; s < f->n_series; s++)
            for (size_t i = f->series_start[s]; i < f->series_start[s + 1]; i++)
                f->time[i] = (int64_t)(i - f->series_start[s]);
        f->time_kind = TSF_TIME_INDEX;
        f->step = 1;
        return tsf_frame_set_time_name(f, NULL, r->err);
    }
    if (f->time_kind == TSF_TIME_EPOCH && calendar_regular(f))
        return TSF_OK;
    int fill = r->opt->gaps == TSF_GAP_FILL;
    int64_t step = 0;
    size_t missing = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t s = 0; s < f->n_series; s++) {
            size_t r0, len = tsf_frame_series_rows(f, s, &r0);
            char sname[TEXT_MAX + 16] = "";
            if (f->series_ids)
                snprintf(sname, sizeof sname, "series \"%s\": ", f->series_ids[s]);
            for (size_t i = r0 + 1; i < r0 + len; i++) {
                int64_t a = f->time[i - 1], b = f->time[i];
                char ta[32], tb[32];
                if (b <= a)
                    TSF_FAIL(r->err, TSF_EFORMAT,
                             "%s: \"/%s\": %s%s is not in increasing order at rows %zu and %zu "
                             "(%s, then %s); sort it (and drop duplicates) before saving",
                             r->path, r->key, sname, what, i - 1, i,
                             tsf_time_format(f->time_kind, a, ta, sizeof ta),
                             tsf_time_format(f->time_kind, b, tb, sizeof tb));
                uint64_t d = (uint64_t)b - (uint64_t)a;
                if (d > INT64_MAX)
                    TSF_FAIL(r->err, TSF_EFORMAT, "%s: \"/%s\": %stime values are out of range",
                             r->path, r->key, sname);
                if (pass == 0 && (step == 0 || (int64_t)d < step))
                    step = (int64_t)d;
                if (pass == 1 && (int64_t)d != step && fill && (int64_t)d % step == 0) {
                    missing += (size_t)((int64_t)d / step - 1);
                } else if (pass == 1 && (int64_t)d != step) {
                    int ep = f->time_kind == TSF_TIME_EPOCH;
                    char dd[32], ds[32];
                    if (ep) { /* durations in seconds, with a fraction when they have one */
                        tsf_seconds_format((int64_t)d, dd, sizeof dd);
                        tsf_seconds_format(step, ds, sizeof ds);
                    } else {
                        snprintf(dd, sizeof dd, "%" PRId64, (int64_t)d);
                        snprintf(ds, sizeof ds, "%" PRId64, step);
                    }
                    TSF_FAIL(r->err, TSF_EFORMAT,
                             "%s: \"/%s\": %srows %zu and %zu (%s, then %s) are %s%s apart, but "
                             "the step is %s%s: the series has a gap; tsflow needs evenly spaced "
                             "rows (%s, or reindex to a regular index with NaN for the missing "
                             "rows, e.g. df.asfreq(...), before saving)",
                             r->path, r->key, sname, i - 1, i,
                             tsf_time_format(f->time_kind, a, ta, sizeof ta),
                             tsf_time_format(f->time_kind, b, tb, sizeof tb), dd, ep ? " s" : "",
                             ds, ep ? " s" : "",
                             fill ? "the gap is not a whole number of steps, so gaps=fill cannot "
                                    "fill it"
                                  : "the gaps=fill policy (--gaps fill) inserts NaN rows");
                }
            }
        }
    }
    f->step = step;
    return missing ? fill_gaps(r, f, step, missing) : TSF_OK;
}

/* ---- pandas -------------------------------------------------------------------------------- */

enum { IX_INT = 0, IX_TIME, IX_STR };

/* One pandas index node (axis0, axis1, a MultiIndex level, block items). */
typedef struct pd_index {
    size_t n;
    int kind;   /* IX_INT, IX_TIME (v in epoch microseconds) or IX_STR */
    int64_t *v; /* (n) IX_INT / IX_TIME */
    char **s;   /* (n) IX_STR */
    char name[TEXT_MAX];
    int has_name;
    char tz[TEXT_MAX]; /* IX_TIME: the zone of a zone-aware DatetimeIndex, or "" */
} pd_index;

static void pd_index_clear(pd_index *ix)
{
    free(ix->v);
    free_strs(ix->s, ix->n);
    memset(ix, 0, sizeof *ix);
}

/* The text of value i (strings as they are, numbers in decimal, times as ISO). */
static const char *pd_label(const pd_index *ix, size_t i, char *buf, size_t cap)
{
    if (ix->kind == IX_STR)
        return ix->s[i];
    return tsf_time_format(ix->kind == IX_TIME ? TSF_TIME_EPOCH : TSF_TIME_INDEX, ix->v[i], buf,
                           cap);
}

/* Index values read as int64 (ix->v) or, for kind "float", as doubles x, made the values of ix
 * by pandas' index kind: datetime64 (nanoseconds) and date (day ordinals) become IX_TIME epoch
 * microseconds, integer and float IX_INT. */
static int pd_index_values(const rd *r, const char *kind, const double *x, size_t n, pd_index *ix)
{
    ix->kind = strcmp(kind, "datetime64") && strcmp(kind, "date") ? IX_INT : IX_TIME;
    for (size_t i = 0; i < n; i++) {
        if (x) {
            if (!isfinite(x[i]) || x[i] != floor(x[i]) || fabs(x[i]) > 9.2e18)
                TSF_FAIL(r->err, TSF_EFORMAT,
                         "%s: \"/%s\": index value %.17g at row %zu is not an integer or a "
                         "timestamp",
                         r->path, r->key, x[i], i);
            ix->v[i] = (int64_t)x[i];
        } else if (!strcmp(kind, "datetime64")) {
            int64_t v = ix->v[i];
            if (v == INT64_MIN)
                TSF_FAIL(r->err, TSF_EFORMAT,
                         "%s: \"/%s\": index row %zu is NaT (a missing timestamp); drop it "
                         "before saving",
                         r->path, r->key, i);
            if (v % NS_PER_US != 0)
                TSF_FAIL(r->err, TSF_EFORMAT,
                         "%s: \"/%s\": index row %zu (%" PRId64
                         " ns) is not a whole microsecond, tsflow's resolution (it never rounds "
                         "a time: floor the index to microseconds before saving, "
                         "df.index.floor(\"us\"))",
                         r->path, r->key, i, v);
            ix->v[i] = v / NS_PER_US;
        } else if (!strcmp(kind, "date")) {
            /* Python date.toordinal(): day 1 is 0001-01-01; 719163 is 1970-01-01. */
            ix->v[i] = (ix->v[i] - 719163) * TSF_US_PER_DAY;
        }
    }
    return TSF_OK;
}

/* A pickled attribute (PyTables pickles lists, dicts and objects). NULL when absent; *bad is
 * set when present but not a protocol-0 pickle of plain values. */
static tsf__pk *attr_pickle(hid_t obj, const char *name, int *bad)
{
    *bad = 0;
    if (H5Aexists(obj, name) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        return NULL;
    }
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    hid_t t = a < 0 ? -1 : H5Aget_type(a);
    hid_t s = a < 0 ? -1 : H5Aget_space(a);
    tsf__pk *v = NULL;
    char **text = NULL;
    if (t >= 0 && s >= 0 && H5Tget_class(t) == H5T_STRING && H5Sget_simple_extent_npoints(s) == 1 &&
        read_strs(a, 1, t, 1, &text) == 0) {
        v = tsf__pk_decode(text[0], strlen(text[0]));
        free_strs(text, 1);
    }
    *bad = !v;
    tsf__h5_close(s);
    tsf__h5_close(t);
    tsf__h5_close(a);
    H5Eclear2(H5E_DEFAULT);
    return v;
}

/* ---- pandas PeriodIndex ------------------------------------------------------------------- */

/* The frequency of a pandas PeriodIndex: its unit ('S' seconds, 'T' minutes, 'H' hours, 'D'
 * days, 'B' business days, 'W' weeks, 'M' months, 'Q' quarters, 'A' years), the anchor (the
 * weekday 0 Monday .. 6 Sunday a week ends on; the month 1..12 a year or quarter cycle ends in)
 * and the multiple (the ordinals count single units whatever it is). */
typedef struct pd_period {
    char unit;
    int anchor;
    int64_t n;
} pd_period;

/* A pickled pandas offset (pandas._libs.tslibs.offsets.MonthEnd(n, normalize[, month]), ...).
 * Returns 1 when it is one a period can have. */
static int period_of_pickle(const tsf__pk *v, pd_period *p)
{
    static const struct {
        const char *cls;
        char unit;
    } known[] = {{"Second", 'S'},   {"Minute", 'T'},      {"Hour", 'H'},
                 {"Day", 'D'},      {"BusinessDay", 'B'}, {"Week", 'W'},
                 {"MonthEnd", 'M'}, {"QuarterEnd", 'Q'},  {"YearEnd", 'A'}};
    if (!v || v->kind != TSF__PK_OBJECT || v->item[0]->kind != TSF__PK_GLOBAL)
        return 0;
    const char *cls = strrchr(v->item[0]->s, '.');
    const tsf__pk *args = v->item[1];
    cls = cls ? cls + 1 : v->item[0]->s;
    memset(p, 0, sizeof *p);
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (!strcmp(cls, known[i].cls))
            p->unit = known[i].unit;
    if (!p->unit || args->n < 1 || args->item[0]->kind != TSF__PK_INT || args->item[0]->i < 1)
        return 0;
    p->n = args->item[0]->i;
    int anchored = p->unit == 'W' || p->unit == 'Q' || p->unit == 'A';
    if (anchored && (args->n < 3 || args->item[2]->kind != TSF__PK_INT))
        return 0;
    p->anchor = anchored ? (int)args->item[2]->i : 0;
    if (p->unit == 'W')
        return p->anchor >= 0 && p->anchor <= 6;
    return !anchored || (p->anchor >= 1 && p->anchor <= 12);
}

/* An alias as older pandas stored it ("M", "Q-DEC", "A-JUN", "W-SUN", "2D", "H", "T", "B"). */
static int period_of_alias(const char *s, pd_period *p)
{
    static const char *const mon[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                      "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
    static const char *const day[] = {"MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"};
    char *e;
    memset(p, 0, sizeof *p);
    p->n = isdigit((unsigned char)s[0]) ? strtoll(s, &e, 10) : 1;
    if (isdigit((unsigned char)s[0]))
        s = e;
    if (p->n < 1 || !s[0] || !strchr("STHDBWMQAY", s[0]) || (s[1] && s[1] != '-'))
        return 0;
    p->unit = s[0] == 'Y' ? 'A' : s[0];
    p->anchor = p->unit == 'W' ? 6 : 12;
    if (!s[1])
        return 1;
    for (int k = 0; k < 12 && (p->unit == 'Q' || p->unit == 'A'); k++)
        if (!strcmp(s + 2, mon[k]))
            return p->anchor = k + 1, 1;
    for (int k = 0; k < 7 && p->unit == 'W'; k++)
        if (!strcmp(s + 2, day[k]))
            return p->anchor = k, 1;
    return 0;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* Period ordinals ix->v (periods since the one holding 1970-01-01) as the instants their periods
 * start at, as PeriodIndex.to_timestamp() gives them. */
static int period_times(const rd *r, const pd_period *p, const char *what, pd_index *ix)
{
    for (size_t i = 0; i < ix->n; i++) {
        int64_t k = ix->v[i], day = 0, month = INT64_MIN;
        if (k == INT64_MIN)
            TSF_FAIL(r->err, TSF_EFORMAT,
                     "%s: \"/%s\": %s row %zu is NaT (a missing period); drop it before saving",
                     r->path, r->key, what, i);
        int64_t us = p->unit == 'S' ? TSF_US_PER_S : p->unit == 'T' ? TSF_US_PER_MIN : TSF_US_PER_H;
        if (k < -INT64_C(10000000000000) || k > INT64_C(10000000000000) ||
            (strchr("STH", p->unit) && (k < -INT64_MAX / us || k > INT64_MAX / us)))
            TSF_FAIL(r->err, TSF_EFORMAT,
                     "%s: \"/%s\": %s row %zu: period %" PRId64 " is out of range", r->path, r->key,
                     what, i, k);
        switch (p->unit) {
        case 'S':
        case 'T':
        case 'H':
            ix->v[i] = k * us;
            continue;
        case 'D':
            day = k;
            break;
        case 'B': /* five business days to a week of seven */
            day = floor_div(k + 3, 5) * 7 + (k + 3 - floor_div(k + 3, 5) * 5) - 3;
            break;
        case 'W': /* week k ends on day 7k + anchor - 3 (a Sunday one a week earlier) */
            day = 7 * k + p->anchor - 3 - (p->anchor == 6 ? 7 : 0) - 6;
            break;
        case 'M':
            month = k;
            break;
        case 'Q': /* quarter k of the years ending in month anchor */
            month = 3 * k + p->anchor - 12;
            break;
        default: /* 'A' */
            month = 12 * k + p->anchor - 12;
            break;
        }
        if (month != INT64_MIN)
            day = tsf__days_from_civil(1970 + floor_div(month, 12),
                                       (unsigned)(month - floor_div(month, 12) * 12 + 1), 1);
        ix->v[i] = day * TSF_US_PER_DAY;
    }
    ix->kind = IX_TIME;
    return TSF_OK;
}

/* Read the freq of a PeriodIndex (a pickled offset, or an alias string) and turn the ordinals
 * of ix into instants. A frequency tsflow cannot decode is an error, never integer ordinals. */
static int period_index(const rd *r, const tsf__pk *freq, const char *alias, const char *what,
                        pd_index *ix)
{
    pd_period p;
    if (!(freq ? period_of_pickle(freq, &p) : alias && period_of_alias(alias, &p)))
        TSF_FAIL(r->err, TSF_ETYPE,
                 "%s: \"/%s\": %s is a pandas PeriodIndex of a frequency tsflow does not read "
                 "(it reads seconds, minutes, hours, days, business days, weeks, months, "
                 "quarters and years); convert it before saving, with DataFrame.to_timestamp()",
                 r->path, r->key, what);
    int rc = period_times(r, &p, what, ix);
    if (rc == TSF_OK)
        note(r,
             "%s: a PeriodIndex, read as the instants its periods start at (as "
             "PeriodIndex.to_timestamp() gives them)",
             what);
    return rc;
}

static int read_index_node(const rd *r, hid_t g, const char *node, pd_index *ix)
{
    memset(ix, 0, sizeof *ix);
    if (H5Lexists(g, node, H5P_DEFAULT) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        TSF_FAIL(r->err, TSF_EFORMAT,
                 "%s: \"/%s\": this pandas group lacks \"%s\"; the file is damaged or was not "
                 "written by pandas' to_hdf",
                 r->path, r->key, node);
    }
    hid_t ds = H5Dopen2(g, node, H5P_DEFAULT);
    if (ds < 0)
        return fail_h5(r, TSF_EFORMAT, "cannot open a node of this pandas frame");
    char kind[TEXT_MAX];
    attr_text(ds, "kind", kind, sizeof kind);
    ix->has_name = attr_text(ds, "name", ix->name, sizeof ix->name);
    attr_tz(ds, ix->tz, sizeof ix->tz);
    hsize_t dims[8] = {0};
    int rank = shape_of(ds, dims);
    /* pandas writes a 1-element sentinel with a "shape" attribute for an empty index. */
    int empty = H5Aexists(ds, "shape") > 0;
    H5Eclear2(H5E_DEFAULT);
    size_t n = empty ? 0 : rank == 1 ? (size_t)dims[0] : 0;
    int rc = TSF_OK;
    char what[TEXT_MAX + 16];
    snprintf(what, sizeof what, "pandas node \"%s\"", node);
    if (rank != 1) {
        rc = tsf_err_set(r->err, TSF_EFORMAT,
                         "%s: \"/%s\": pandas node \"%s\" is %d-D; expected 1-D", r->path, r->key,
                         node, rank);
    } else if ((rc = check_extent(r, ds, what)) != TSF_OK) {
        /* a damaged extent */
    } else if (!strcmp(kind, "string")) {
        hid_t t = H5Dget_type(ds);
        int s = t < 0 || H5Tget_class(t) != H5T_STRING ? -1 : read_strs(ds, 0, t, n, &ix->s);
        tsf__h5_close(t);
        if (s == -2)
            rc = fail_nomem(r);
        else if (s < 0)
            rc = fail_h5(r, TSF_EFORMAT, "cannot read the labels of this pandas frame");
        ix->kind = IX_STR;
    } else if (!strcmp(kind, "datetime64") || !strcmp(kind, "integer") || !strcmp(kind, "date") ||
               !strcmp(kind, "float")) {
        ix->v = malloc((n ? n : 1) * sizeof *ix->v);
        double *x = !strcmp(kind, "float") ? malloc((n ? n : 1) * sizeof *x) : NULL;
        if (!ix->v || (!strcmp(kind, "float") && !x))
            rc = fail_nomem(r);
        else if (n && (x ? H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, x)
                         : H5Dread(ds, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, ix->v)) < 0)
            rc = fail_h5(r, TSF_EFORMAT, "cannot read the index of this pandas frame");
        else
            rc = pd_index_values(r, kind, x, n, ix);
        free(x);
        char cls[TEXT_MAX];
        if (rc == TSF_OK && attr_text(ds, "index_class", cls, sizeof cls) &&
            !strcmp(cls, "period") && !strcmp(kind, "integer")) {
            char alias[64];
            int bad = 0;
            tsf__pk *fq = attr_pickle(ds, "freq", &bad);
            ix->n = n;
            rc = period_index(r, fq, attr_text(ds, "freq", alias, sizeof alias) ? alias : NULL,
                              "the index", ix);
            tsf__pk_free(fq);
        }
    } else {
        rc = tsf_err_set(r->err, TSF_ETYPE,
                         "%s: \"/%s\": pandas index \"%s\" is of kind \"%s\"; tsflow reads "
                         "datetime, integer and string indexes",
                         r->path, r->key, node, kind);
    }
    H5Dclose(ds);
    ix->n = n;
    if (rc != TSF_OK)
        pd_index_clear(ix);
    return rc;
}

/* Read block values node (n_rows x items) into the frame columns at col[0..k). */
/* A datetime64 block that holds opt->time_column (a pandas column of datetimes, not the index):
 * that column's values as microseconds since the epoch (exact in a double up to 2255), NaT as
 * NaN, and
 * *dt_time set; any other datetime column of the block is refused. */
static int pd_has_label(const pd_index *items, const char *name)
{
    char lab[32];
    for (size_t i = 0; i < items->n; i++)
        if (!strcmp(pd_label(items, i, lab, sizeof lab), name))
            return 1;
    return 0;
}

static int read_dt_block(const rd *r, hid_t ds, const pd_index *items, size_t n_rows, tsf_frame *f,
                         const size_t *col, int *dt_time)
{
    char lab[32];
    size_t k = items->n, tk = k;
    for (size_t i = 0; i < k; i++)
        if (!strcmp(pd_label(items, i, lab, sizeof lab), r->opt->time_column))
            tk = i;
    for (size_t i = 0; i < k; i++)
        if (i != tk)
            TSF_FAIL(r->err, TSF_ETYPE,
                     "%s: \"/%s\": column \"%s\" holds datetime64 values besides the time column "
                     "\"%s\"; tsflow reads numeric columns only: drop it",
                     r->path, r->key, pd_label(items, i, lab, sizeof lab), r->opt->time_column);
    int64_t *ns = malloc((n_rows ? n_rows : 1) * sizeof *ns);
    if (!ns)
        return fail_nomem(r);
    hid_t sp = H5Dget_space(ds);
    hssize_t pts = sp < 0 ? -1 : H5Sget_simple_extent_npoints(sp);
    tsf__h5_close(sp);
    int rc = TSF_OK; /* one column: (n_rows) values whichever way round */
    if (pts != (hssize_t)n_rows ||
        (n_rows && H5Dread(ds, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, ns) < 0))
        rc = fail_h5(r, TSF_EIO, "cannot read its time column");
    for (size_t i = 0; i < n_rows && rc == TSF_OK; i++) {
        if (ns[i] == INT64_MIN) /* NaT: check_time names the row */
            f->cols[col[tk]][i] = NAN;
        else if (ns[i] % NS_PER_US != 0 ||
                 (int64_t)(double)(ns[i] / NS_PER_US) != ns[i] / NS_PER_US)
            rc = tsf_err_set(r->err, TSF_EFORMAT,
                             "%s: \"/%s\": time column \"%s\" row %zu (%" PRId64
                             " ns) is not a whole microsecond, tsflow's resolution (it never "
                             "rounds a time: floor the column to microseconds before saving, "
                             ".dt.floor(\"us\"))",
                             r->path, r->key, r->opt->time_column, i, ns[i]);
        else
            f->cols[col[tk]][i] = (double)(ns[i] / NS_PER_US);
    }
    free(ns);
    *dt_time = rc == TSF_OK;
    return rc;
}

static int read_block(const rd *r, hid_t g, const char *node, const pd_index *items, size_t n_rows,
                      tsf_frame *f, const size_t *col, int *dt_time)
{
    hid_t ds = H5Dopen2(g, node, H5P_DEFAULT);
    if (ds < 0)
        return fail_h5(r, TSF_EFORMAT, "cannot open a block of this pandas frame");
    char bwhat[TEXT_MAX + 16];
    snprintf(bwhat, sizeof bwhat, "pandas node \"%s\"", node);
    int frc = check_filters(r, ds, bwhat);
    if (frc != TSF_OK) {
        H5Dclose(ds);
        return frc;
    }
    char vt[TEXT_MAX], cls[TEXT_MAX], lab[32];
    attr_text(ds, "value_type", vt, sizeof vt);
    attr_text(ds, "CLASS", cls, sizeof cls);
    int64_t transposed = 0;
    attr_int(ds, "transposed", &transposed);
    hid_t t = H5Dget_type(ds);
    hsize_t dims[8] = {0};
    int rank = shape_of(ds, dims);
    int empty = H5Aexists(ds, "shape") > 0;
    H5Eclear2(H5E_DEFAULT);
    int rc = TSF_OK;
    const char *first = items->n ? pd_label(items, 0, lab, sizeof lab) : "?";
    if (!strcmp(cls, "VLARRAY") || (t >= 0 && H5Tget_class(t) == H5T_VLEN)) {
        rc = tsf_err_set(r->err, TSF_ETYPE,
                         "%s: \"/%s\": column \"%s\"%s holds Python objects (strings), which "
                         "pandas pickles; tsflow reads numeric columns only: drop or convert "
                         "it (df.drop(columns=[...]) or pd.to_numeric) before to_hdf",
                         r->path, r->key, first, items->n > 1 ? " (and others in its block)" : "");
    } else if (!strncmp(vt, "datetime64", 10) && r->opt->time_column && !r->opt->no_time &&
               pd_has_label(items, r->opt->time_column)) {
        rc = read_dt_block(r, ds, items, n_rows, f, col, dt_time);
    } else if (vt[0]) {
        rc = tsf_err_set(r->err, TSF_ETYPE,
                         "%s: \"/%s\": column \"%s\" holds %s values; tsflow reads numeric "
                         "columns only: drop it, or name it with --time-column (ingest.hdf5 "
                         "option time_column) if it is the time",
                         r->path, r->key, first, vt);
    } else if (t < 0 || !numeric_kind(t)) {
        rc = tsf_err_set(r->err, TSF_ETYPE,
                         "%s: \"/%s\": column \"%s\" holds %s; tsflow reads numeric columns only",
                         r->path, r->key, first, t < 0 ? "an unreadable type" : describe_class(t));
    } else if (!empty && rank == 1 && items->n == 1 && dims[0] == n_rows) {
        /* a Series: 1-D values */
        int x = read_numeric(ds, 1, n_rows, 1, 1, &f->cols[col[0]]);
        if (x == -2)
            rc = fail_nomem(r);
        else if (x < 0)
            rc = fail_h5(r, TSF_EIO, "cannot read the values of this pandas series");
    } else if (!empty) {
        size_t want0 = transposed ? n_rows : items->n, want1 = transposed ? items->n : n_rows;
        if (rank != 2 || dims[0] != want0 || dims[1] != want1) {
            rc = tsf_err_set(r->err, TSF_EFORMAT,
                             "%s: \"/%s\": block \"%s\" has shape %llu x %llu; expected %zu x "
                             "%zu from the frame's index and items",
                             r->path, r->key, node, (unsigned long long)dims[0],
                             (unsigned long long)(rank == 2 ? dims[1] : 0), want0, want1);
        } else {
            double **dst = malloc((items->n ? items->n : 1) * sizeof *dst);
            if (!dst) {
                rc = fail_nomem(r);
            } else {
                for (size_t j = 0; j < items->n; j++)
                    dst[j] = f->cols[col[j]];
                int x = read_numeric(ds, 2, n_rows, items->n, transposed != 0, dst);
                free(dst);
                if (x == -2)
                    rc = fail_nomem(r);
                else if (x < 0)
                    rc = fail_h5(r, TSF_EIO, "cannot read the values of this pandas frame");
            }
        }
    }
    tsf__h5_close(t);
    H5Dclose(ds);
    return rc;
}

/* Times of a pandas index as frame time values. */
static int index_times(const rd *r, const pd_index *ix, int64_t *t, tsf_time_kind *kind)
{
    if (r->opt->no_time) { /* check_time numbers the rows; an index that is no time is fine */
        memset(t, 0, ix->n * sizeof *t);
        *kind = TSF_TIME_INDEX;
        return TSF_OK;
    }
    if (ix->kind == IX_STR) {
        *kind = TSF_TIME_EPOCH;
        return parse_iso_all(r, "index", ix->s, ix->n, t);
    }
    if (ix->n)
        memcpy(t, ix->v, ix->n * sizeof *t);
    *kind = ix->kind == IX_TIME ? TSF_TIME_EPOCH : TSF_TIME_INDEX;
    return TSF_OK;
}

/* Read MultiIndex codes axis1_label<i> (n values) into codes, checked against n_levels. */
static int read_codes(const rd *r, hid_t g, size_t i, size_t n, size_t n_levels, int64_t *codes)
{
    char node[64];
    snprintf(node, sizeof node, "axis1_label%zu", i);
    hid_t ds = H5Dopen2(g, node, H5P_DEFAULT);
    hsize_t dims[8] = {0};
    if (ds < 0)
        return fail_h5(r, TSF_EFORMAT, "cannot open the MultiIndex codes of this pandas frame");
    int rank = shape_of(ds, dims);
    int rc = TSF_OK;
    if (rank != 1 || dims[0] != n)
        rc = tsf_err_set(r->err, TSF_EFORMAT,
                         "%s: \"/%s\": MultiIndex codes \"%s\" do not match the frame's %zu rows",
                         r->path, r->key, node, n);
    else if (n && H5Dread(ds, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, codes) < 0)
        rc = fail_h5(r, TSF_EIO, "cannot read the MultiIndex codes of this pandas frame");
    H5Dclose(ds);
    for (size_t k = 0; rc == TSF_OK && k < n; k++)
        if (codes[k] < 0 || (uint64_t)codes[k] >= n_levels)
            rc = tsf_err_set(r->err, TSF_EFORMAT,
                             "%s: \"/%s\": MultiIndex level %zu is missing (NaN) at row %zu; "
                             "every row needs a series id and a time",
                             r->path, r->key, i, k);
    return rc;
}

/* Reorder rows so each series is contiguous: perm[new] = old, series in order of first
 * appearance. Returns the number of series; starts gets n_series + 1 offsets. */
static size_t group_rows(const int64_t *code, size_t n, size_t n_levels, size_t *perm,
                         size_t *starts, size_t *order)
{
    /* order[level] = series index, or SIZE_MAX before the level's first row */
    for (size_t l = 0; l < n_levels; l++)
        order[l] = SIZE_MAX;
    size_t n_series = 0;
    for (size_t i = 0; i < n; i++)
        if (order[code[i]] == SIZE_MAX)
            order[code[i]] = n_series++;
    for (size_t s = 0; s <= n_series; s++)
        starts[s] = 0;
    for (size_t i = 0; i < n; i++)
        starts[order[code[i]] + 1]++;
    for (size_t s = 0; s < n_series; s++)
        starts[s + 1] += starts[s];
    /* counting sort, stable: starts[s] advances while filling, then is shifted back */
    for (size_t i = 0; i < n; i++)
        perm[starts[order[code[i]]]++] = i;
    for (size_t s = n_series; s > 0; s--)
        starts[s] = starts[s - 1];
    starts[0] = 0;
    return n_series;
}

static int column_as_time(const rd *r, tsf_frame *f, size_t j);
static int column_as_epoch(const rd *r, tsf_frame *f, size_t j);

/* What a pandas fixed-format group says about its rows and columns, read before the values. */
typedef struct pd_shape {
    int is_series, multi;
    int64_t nblocks;
    size_t n_cols, n_rows;
    pd_index cols;       /* axis0: the column labels (frames only) */
    pd_index ix;         /* the flat row index */
    pd_index lev0, lev1; /* a two-level MultiIndex: series id, time */
} pd_shape;

static void pd_shape_clear(pd_shape *sh)
{
    pd_index_clear(&sh->cols);
    pd_index_clear(&sh->ix);
    pd_index_clear(&sh->lev0);
    pd_index_clear(&sh->lev1);
}

/* A frame's column labels (axis0) and its number of dtype blocks. */
static int pd_read_columns(const rd *r, hid_t g, pd_shape *sh)
{
    if (!attr_int(g, "nblocks", &sh->nblocks) || sh->nblocks < 0)
        TSF_FAIL(r->err, TSF_EFORMAT, "%s: \"/%s\": pandas frame without a valid nblocks attribute",
                 r->path, r->key);
    char variety[TEXT_MAX];
    attr_text(g, "axis0_variety", variety, sizeof variety);
    if (strcmp(variety, "regular") != 0)
        TSF_FAIL(r->err, TSF_ETYPE,
                 "%s: \"/%s\": the frame's columns are a MultiIndex; tsflow reads flat column "
                 "labels (flatten them before saving)",
                 r->path, r->key);
    int rc = read_index_node(r, g, "axis0", &sh->cols);
    if (rc != TSF_OK)
        return rc;
    sh->n_cols = sh->cols.n;
    if (sh->n_cols == 0)
        TSF_FAIL(r->err, TSF_EFORMAT, "%s: \"/%s\": the pandas frame has no columns", r->path,
                 r->key);
    return TSF_OK;
}

/* The row count and levels of a two-level (series id, time) MultiIndex. */
static int pd_read_multi_rows(const rd *r, hid_t g, const char *index_node, pd_shape *sh)
{
    int64_t nlev = 0;
    char key_n[64];
    snprintf(key_n, sizeof key_n, "%s_nlevels", index_node);
    attr_int(g, key_n, &nlev);
    if (nlev != 2 || sh->is_series)
        TSF_FAIL(r->err, TSF_ETYPE,
                 "%s: \"/%s\": the index is a MultiIndex of %" PRId64
                 " levels; tsflow reads a flat time index, or two levels (series id, time) for "
                 "several series",
                 r->path, r->key, nlev);
    sh->multi = 1;
    hsize_t dims[8] = {0};
    hid_t ds = H5Dopen2(g, "axis1_label0", H5P_DEFAULT);
    int rank = ds < 0 ? -1 : shape_of(ds, dims);
    if (rank != 1) {
        tsf__h5_close(ds);
        return fail_h5(r, TSF_EFORMAT, "cannot open the MultiIndex codes of this pandas frame");
    }
    int rc = check_extent(r, ds, "pandas node \"axis1_label0\"");
    /* pandas writes a 1-element sentinel with a "shape" attribute for an empty array. */
    int empty = H5Aexists(ds, "shape") > 0;
    H5Eclear2(H5E_DEFAULT);
    tsf__h5_close(ds);
    if (rc != TSF_OK)
        return rc;
    sh->n_rows = empty ? 0 : (size_t)dims[0];
    /* the levels after the size: an empty frame's levels may be of any kind */
    if (sh->n_rows && ((rc = read_index_node(r, g, "axis1_level0", &sh->lev0)) != TSF_OK ||
                       (rc = read_index_node(r, g, "axis1_level1", &sh->lev1)) != TSF_OK))
        return rc;
    return TSF_OK;
}

/* The row index (flat or a MultiIndex) and the row count, which must not be zero. */
static int pd_read_rows(const rd *r, hid_t g, pd_shape *sh)
{
    const char *index_node = sh->is_series ? "index" : "axis1";
    char variety[TEXT_MAX];
    attr_text(g, sh->is_series ? "index_variety" : "axis1_variety", variety, sizeof variety);
    int rc;
    if (!strcmp(variety, "multi")) {
        if ((rc = pd_read_multi_rows(r, g, index_node, sh)) != TSF_OK)
            return rc;
    } else if (!strcmp(variety, "regular")) {
        if ((rc = read_index_node(r, g, index_node, &sh->ix)) != TSF_OK)
            return rc;
        sh->n_rows = sh->ix.n;
    } else {
        TSF_FAIL(r->err, TSF_EFORMAT,
                 "%s: \"/%s\": pandas index of variety \"%s\" (expected regular or multi)", r->path,
                 r->key, variety);
    }
    if (sh->n_rows == 0) /* as the CSV reader refuses a header without rows */
        TSF_FAIL(r->err, TSF_EFORMAT,
                 "%s: \"/%s\": the pandas %s has no rows (expected at least one row of values)",
                 r->path, r->key, sh->is_series ? "series" : "frame");
    return TSF_OK;
}

/* The frame, named after the columns (a series after its name, else the key's last part). */
static int pd_alloc_frame(const rd *r, hid_t g, const pd_shape *sh, tsf_frame **out)
{
    const char **names = calloc(sh->n_cols, sizeof *names);
    char(*numbuf)[32] = calloc(sh->n_cols, sizeof *numbuf);
    if (!names || !numbuf) {
        free(names);
        free(numbuf);
        return fail_nomem(r);
    }
    char series_name[TEXT_MAX];
    if (sh->is_series) {
        if (!attr_text(g, "name", series_name, sizeof series_name)) {
            const char *base = strrchr(r->key, '/');
            snprintf(series_name, sizeof series_name, "%s", base ? base + 1 : r->key);
        }
        names[0] = series_name;
    } else {
        for (size_t j = 0; j < sh->n_cols; j++)
            names[j] = pd_label(&sh->cols, j, numbuf[j], sizeof numbuf[j]);
    }
    int rc = tsf_frame_alloc(out, sh->n_cols, names, sh->n_rows, r->err);
    free(names);
    free(numbuf);
    if (rc != TSF_OK)
        return rc;
    (*out)->n_rows = sh->n_rows;
    (*out)->series_start[1] = sh->n_rows;
    return TSF_OK;
}

/* Block b's items, mapped to frame columns (colmap[k] = column of item k). */
static int pd_map_block(const rd *r, const pd_shape *sh, int64_t b, const pd_index *items,
                        unsigned char *filled, size_t *colmap)
{
    for (size_t k = 0; k < items->n; k++) {
        char lab[32], cl[32];
        const char *name = pd_label(items, k, lab, sizeof lab);
        size_t j = 0;
        while (j < sh->n_cols &&
               (filled[j] || strcmp(pd_label(&sh->cols, j, cl, sizeof cl), name) != 0))
            j++;
        if (j == sh->n_cols)
            TSF_FAIL(r->err, TSF_EFORMAT,
                     "%s: \"/%s\": block %" PRId64
                     " holds column \"%s\", which is not among the frame's columns",
                     r->path, r->key, b, name);
        filled[j] = 1;
        colmap[k] = j;
    }
    return TSF_OK;
}

/* The values: a series' one array, or a frame's dtype blocks merged back into column order. */
static int pd_read_values(const rd *r, hid_t g, const pd_shape *sh, tsf_frame *f, int *dt_time)
{
    pd_index items = {0};
    unsigned char *filled = calloc(sh->n_cols, 1);
    size_t *colmap = malloc(sh->n_cols * sizeof *colmap);
    int rc = TSF_OK;
    if (!filled || !colmap) {
        rc = fail_nomem(r);
    } else if (sh->is_series) {
        char *one[1] = {(char *)f->col_names[0]};
        pd_index item = {.n = 1, .kind = IX_STR, .s = one};
        colmap[0] = 0;
        rc = read_block(r, g, "values", &item, sh->n_rows, f, colmap, dt_time);
    }
    for (int64_t b = 0; rc == TSF_OK && !sh->is_series && b < sh->nblocks; b++) {
        char node[64];
        snprintf(node, sizeof node, "block%" PRId64 "_items", b);
        if ((rc = read_index_node(r, g, node, &items)) != TSF_OK)
            break;
        rc = pd_map_block(r, sh, b, &items, filled, colmap);
        snprintf(node, sizeof node, "block%" PRId64 "_values", b);
        if (rc == TSF_OK)
            rc = read_block(r, g, node, &items, sh->n_rows, f, colmap, dt_time);
        pd_index_clear(&items);
    }
    for (size_t j = 0; rc == TSF_OK && !sh->is_series && j < sh->n_cols; j++)
        if (!filled[j])
            rc = tsf_err_set(r->err, TSF_EFORMAT,
                             "%s: \"/%s\": column \"%s\" is in no block of the pandas frame",
                             r->path, r->key, f->col_names[j]);
    free(filled);
    free(colmap);
    return rc;
}

/* Make f a long frame: rows regrouped so each series (code[i] indexes the labels of ids) is
 * contiguous, in order of first appearance; time_of_row gives each row's time before the
 * regrouping. id_name names the id column ("id" when NULL). */
static int set_long_series(const rd *r, tsf_frame *f, const int64_t *code, const pd_index *ids,
                           const char *id_name, const int64_t *time_of_row)
{
    size_t n_rows = f->n_rows, n_series = 0;
    size_t *perm = malloc((n_rows ? n_rows : 1) * sizeof *perm);
    size_t *starts = malloc((n_rows + 2) * sizeof *starts);
    size_t *order = malloc((ids->n ? ids->n : 1) * sizeof *order);
    double *tmp = malloc((n_rows ? n_rows : 1) * sizeof *tmp);
    char **names = NULL;
    int rc = TSF_OK;
    if (!perm || !starts || !order || !tmp) {
        rc = fail_nomem(r);
        goto cleanup;
    }
    n_series = group_rows(code, n_rows, ids->n, perm, starts, order);
    for (size_t i = 0; i < n_rows; i++)
        f->time[i] = time_of_row[perm[i]];
    for (size_t j = 0; j < f->n_cols; j++) {
        for (size_t i = 0; i < n_rows; i++)
            tmp[i] = f->cols[j][perm[i]];
        memcpy(f->cols[j], tmp, n_rows * sizeof *tmp);
    }
    if (!(names = calloc(n_series ? n_series : 1, sizeof *names))) {
        rc = fail_nomem(r);
        goto cleanup;
    }
    for (size_t l = 0; l < ids->n; l++) {
        char lab[32];
        if (order[l] != SIZE_MAX &&
            !(names[order[l]] = strdup(pd_label(ids, l, lab, sizeof lab)))) {
            rc = fail_nomem(r);
            goto cleanup;
        }
    }
    if (n_series == 0) {
        n_series = 1; /* no rows: one empty unnamed series */
        starts[1] = 0;
    }
    rc = tsf_frame_set_series(f, n_series, n_rows ? (const char *const *)names : NULL, starts,
                              r->err);
    if (rc == TSF_OK && !(f->id_name = strdup(id_name ? id_name : "id")))
        rc = fail_nomem(r);
cleanup:
    if (names)
        free_strs(names, n_series);
    free(perm);
    free(starts);
    free(order);
    free(tmp);
    return rc;
}

/* Times and series from a two-level MultiIndex (series id, time): codes index the levels. */
static int pd_multi_series(const rd *r, hid_t g, const pd_shape *sh, tsf_frame *f)
{
    size_t n_rows = sh->n_rows;
    int64_t *lt = malloc((sh->lev1.n ? sh->lev1.n : 1) * sizeof *lt);
    int64_t *codes0 = malloc((n_rows ? n_rows : 1) * sizeof *codes0);
    int64_t *codes1 = malloc((n_rows ? n_rows : 1) * sizeof *codes1);
    int rc = TSF_OK;
    if (!lt || !codes0 || !codes1)
        rc = fail_nomem(r);
    if (rc == TSF_OK && (rc = read_codes(r, g, 0, n_rows, sh->lev0.n, codes0)) == TSF_OK &&
        (rc = read_codes(r, g, 1, n_rows, sh->lev1.n, codes1)) == TSF_OK &&
        (rc = index_times(r, &sh->lev1, lt, &f->time_kind)) == TSF_OK) {
        /* the time of each row, through its code, into codes1 (the codes are not needed after) */
        for (size_t i = 0; i < n_rows; i++)
            codes1[i] = lt[codes1[i]];
        rc = set_long_series(r, f, codes0, &sh->lev0, sh->lev0.has_name ? sh->lev0.name : NULL,
                             codes1);
    }
    if (rc == TSF_OK && sh->lev1.has_name)
        rc = tsf_frame_set_time_name(f, sh->lev1.name, r->err);
    free(lt);
    free(codes0);
    free(codes1);
    return rc;
}

/* opt->time_column, when it names a value column rather than the index (tix): that column
 * becomes the time. Then the time is checked (check_time). */
static int pd_time_column(const rd *r, tsf_frame *f, const pd_index *tix, int multi, int dt_time)
{
    const char *tc = r->opt->no_time ? NULL : r->opt->time_column;
    int from_col = tc && !(tix->has_name && !strcmp(tc, tix->name));
    if (from_col) {
        size_t j = tsf_frame_col_index(f, tc);
        if (j == (size_t)-1) {
            char cl[512] = "";
            for (size_t k = 0, at = 0; k < f->n_cols && at + 8 < sizeof cl; k++)
                at += (size_t)snprintf(cl + at, sizeof cl - at, "%s%s", k ? ", " : "",
                                       f->col_names[k]);
            TSF_FAIL(r->err, TSF_EINVAL,
                     "%s: \"/%s\": time column \"%s\" is neither the index (%s%s%s) nor a column "
                     "(expected one of: %s)",
                     r->path, r->key, tc, tix->has_name ? "named \"" : "unnamed",
                     tix->has_name ? tix->name : "", tix->has_name ? "\"" : "", cl);
        }
        int rc = dt_time ? column_as_epoch(r, f, j) : column_as_time(r, f, j);
        if (rc != TSF_OK)
            return rc;
    }
    return check_time(r, f,
                      from_col ? "the time column"
                      : multi  ? "the time level of the index"
                               : "the index");
}

static int read_pd_frame(const rd *r, hid_t g, int is_series, tsf_frame **out)
{
    pd_shape sh = {.is_series = is_series, .nblocks = 1, .n_cols = 1};
    tsf_frame *f = NULL;
    int dt_time = 0; /* the time column holds datetimes */
    int rc = is_series ? TSF_OK : pd_read_columns(r, g, &sh);
    if (rc == TSF_OK)
        rc = pd_read_rows(r, g, &sh);
    if (rc == TSF_OK)
        rc = pd_alloc_frame(r, g, &sh, &f);
    if (rc == TSF_OK)
        rc = pd_read_values(r, g, &sh, f, &dt_time);
    if (rc == TSF_OK && sh.multi) {
        rc = pd_multi_series(r, g, &sh, f);
        if (rc == TSF_OK && sh.lev1.tz[0])
            rc = tsf_frame_set_tz(f, sh.lev1.tz, r->err);
    } else if (rc == TSF_OK) {
        rc = index_times(r, &sh.ix, f->time, &f->time_kind);
        if (rc == TSF_OK && sh.ix.has_name)
            rc = tsf_frame_set_time_name(f, sh.ix.name, r->err);
        if (rc == TSF_OK && sh.ix.tz[0])
            rc = tsf_frame_set_tz(f, sh.ix.tz, r->err);
    }
    if (rc == TSF_OK)
        rc = pd_time_column(r, f, sh.multi ? &sh.lev1 : &sh.ix, sh.multi, dt_time);
    pd_shape_clear(&sh);
    if (rc != TSF_OK) {
        tsf_frame_free(f);
        f = NULL;
    }
    *out = f;
    return rc;
}

/* ---- pandas format="table" (PyTables tables) ---------------------------------------------- */

/* The labels of a pickled list of str or int (column names), as text. 0, -1 (not such a list)
 * or -2 (memory). */
static int pk_labels(const tsf__pk *v, char ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (!v || v->kind != TSF__PK_LIST)
        return -1;
    char **s = calloc(v->n ? v->n : 1, sizeof *s);
    if (!s)
        return -2;
    for (size_t i = 0; i < v->n; i++) {
        const tsf__pk *e = v->item[i];
        char num[32];
        if (e->kind == TSF__PK_INT)
            snprintf(num, sizeof num, "%" PRId64, e->i);
        if ((e->kind != TSF__PK_STR && e->kind != TSF__PK_INT)) {
            free_strs(s, v->n);
            return -1;
        }
        if (!(s[i] = strdup(e->kind == TSF__PK_STR ? e->s : num))) {
            free_strs(s, v->n);
            return -2;
        }
    }
    *out = s;
    *n = v->n;
    return 0;
}

enum { PDT_VALUES = 0, PDT_INDEX, PDT_ID, PDT_TIME };

/* One field of a PyTables table: "index", a dtype block "values_block_<i>" (an array of k
 * values per record), or a data column (one value per record). */
typedef struct pdt_field {
    char *name;     /* H5Tget_member_name: H5free_memory */
    char dtype[64]; /* the <name>_dtype attribute: float64, int64, bool, datetime64, bytes16, .. */
    char **labels;  /* (k) the <name>_kind attribute: the columns it holds */
    size_t k;
    int is_array;
    H5T_class_t cls; /* of one value */
    size_t width;    /* bytes of one value */
    int role;        /* PDT_VALUES, PDT_INDEX, PDT_ID or PDT_TIME */
} pdt_field;

typedef struct pdt {
    hid_t ds, ft;
    size_t n_rows, n_fld;
    pdt_field *fld;
    char **order; /* (n_order) non_index_axes: every column in pandas' order */
    size_t n_order;
    char **levels; /* (n_levels) a MultiIndex's level names, else NULL */
    size_t n_levels;
    tsf__pk *info;         /* the group's info attribute */
    const tsf__pk *ixinfo; /* info["index"]: index_name, freq, tz */
    char index_kind[64];
    size_t id_f, time_f; /* fields holding the series id and the time, or SIZE_MAX */
} pdt;

static void pdt_clear(pdt *t)
{
    for (size_t i = 0; t->fld && i < t->n_fld; i++) {
        if (t->fld[i].name)
            H5free_memory(t->fld[i].name);
        free_strs(t->fld[i].labels, t->fld[i].k);
    }
    free(t->fld);
    free_strs(t->order, t->n_order);
    free_strs(t->levels, t->n_levels);
    tsf__pk_free(t->info);
    tsf__h5_close(t->ft);
    tsf__h5_close(t->ds);
}

/* The group's attributes: the column order, the index levels and the index information. */
static int pdt_layout(const rd *r, hid_t g, pdt *t)
{
    int bad = 0;
    tsf__pk *axes = attr_pickle(g, "non_index_axes", &bad);
    /* [(1, [labels...])] */
    const tsf__pk *lab = axes && axes->kind == TSF__PK_LIST && axes->n == 1 &&
                                 axes->item[0]->kind == TSF__PK_TUPLE && axes->item[0]->n == 2
                             ? axes->item[0]->item[1]
                             : NULL;
    int x = pk_labels(lab, &t->order, &t->n_order);
    tsf__pk_free(axes);
    if (x == -2)
        return fail_nomem(r);
    if (x < 0)
        TSF_FAIL(r->err, TSF_EFORMAT,
                 "%s: \"/%s\": this pandas table's non_index_axes attribute is not a list of "
                 "column labels; the file is damaged or was not written by pandas' to_hdf",
                 r->path, r->key);
    tsf__pk *lev = attr_pickle(g, "levels", &bad);
    x = lev ? pk_labels(lev, &t->levels, &t->n_levels) : 0;
    tsf__pk_free(lev);
    if (x == -2)
        return fail_nomem(r);
    if (x < 0 || (t->levels && t->n_levels != 2))
        TSF_FAIL(r->err, TSF_ETYPE,
                 "%s: \"/%s\": the index is a MultiIndex of %zu levels; tsflow reads a flat time "
                 "index, or two levels (series id, time) for several series",
                 r->path, r->key, t->n_levels);
    t->info = attr_pickle(g, "info", &bad);
    if (bad)
        TSF_FAIL(r->err, TSF_EFORMAT,
                 "%s: \"/%s\": this pandas table's info attribute (index name and frequency) "
                 "holds Python objects tsflow cannot decode; re-save it with format='fixed'",
                 r->path, r->key);
    t->ixinfo = tsf__pk_get(t->info, "index");
    return TSF_OK;
}

/* The table dataset: a 1-D compound of at least one record, decompressible. */
static int pdt_open(const rd *r, hid_t g, pdt *t)
{
    if (H5Lexists(g, "table", H5P_DEFAULT) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        TSF_FAIL(r->err, TSF_EFORMAT,
                 "%s: \"/%s\": this pandas table group lacks its \"table\" dataset; the file is "
                 "damaged or was not written by pandas' to_hdf",
                 r->path, r->key);
    }
    t->ds = H5Dopen2(g, "table", H5P_DEFAULT);
    t->ft = t->ds < 0 ? -1 : H5Dget_type(t->ds);
    if (t->ft < 0)
        return fail_h5(r, TSF_EFORMAT, "cannot open its table");
    hsize_t dims[8] = {0};
    int rank = shape_of(t->ds, dims);
    if (rank != 1 || H5Tget_class(t->ft) != H5T_COMPOUND)
        TSF_FAIL(r->err, TSF_EFORMAT,
                 "%s: \"/%s\": its \"table\" is not a 1-D table of records; the file is damaged "
                 "or was not written by pandas' to_hdf",
                 r->path, r->key);
    int rc = check_extent(r, t->ds, "its table");
    if (rc == TSF_OK)
        rc = check_filters(r, t->ds, "its table");
    if (rc != TSF_OK)
        return rc;
    t->n_rows = (size_t)dims[0];
    if (t->n_rows == 0)
        TSF_FAIL(r->err, TSF_EFORMAT,
                 "%s: \"/%s\": the pandas table has no rows (expected at least one row of values)",
                 r->path, r->key);
    attr_text(t->ds, "index_kind", t->index_kind, sizeof t->index_kind);
    return TSF_OK;
}

/* Field m: its name, the columns it holds and the type of one value. */
static int pdt_field_read(const rd *r, pdt *t, unsigned m)
{
    pdt_field *fd = &t->fld[m];
    fd->name = H5Tget_member_name(t->ft, m);
    hid_t mt = fd->name ? H5Tget_member_type(t->ft, m) : -1;
    if (mt < 0)
        return fail_h5(r, TSF_EFORMAT, "cannot read the fields of its table");
    hid_t base = mt;
    size_t k = 1;
    if (H5Tget_class(mt) == H5T_ARRAY) {
        hsize_t d[4] = {0};
        int nd = H5Tget_array_ndims(mt);
        base = nd == 1 && H5Tget_array_dims2(mt, d) == 1 ? H5Tget_super(mt) : -1;
        k = (size_t)d[0];
        fd->is_array = 1;
    }
    fd->cls = base < 0 ? H5T_NO_CLASS : H5Tget_class(base);
    fd->width = base < 0 ? 0 : H5Tget_size(base);
    if (base != mt)
        tsf__h5_close(base);
    tsf__h5_close(mt);
    if (fd->cls == H5T_NO_CLASS || fd->width == 0 || fd->width > 65536 || k == 0)
        TSF_FAIL(r->err, TSF_EFORMAT,
                 "%s: \"/%s\": field \"%s\" of its table has an unreadable type", r->path, r->key,
                 fd->name);
    if (!strcmp(fd->name, "index")) {
        fd->role = PDT_INDEX;
        fd->k = 0;
        return TSF_OK;
    }
    char an[TEXT_MAX + 16];
    snprintf(an, sizeof an, "%s_dtype", fd->name);
    attr_text(t->ds, an, fd->dtype, sizeof fd->dtype);
    snprintf(an, sizeof an, "%s_kind", fd->name);
    int bad = 0;
    tsf__pk *kind = attr_pickle(t->ds, an, &bad);
    int x = pk_labels(kind, &fd->labels, &fd->k);
    tsf__pk_free(kind);
    if (x == -2)
        return fail_nomem(r);
    if (x < 0 || fd->k != k)
        TSF_FAIL(r->err, TSF_EFORMAT,
                 "%s: \"/%s\": field \"%s\" of its table holds %zu values per row but its %s "
                 "attribute does not name as many columns",
                 r->path, r->key, fd->name, k, an);
    char meta[64];
    snprintf(an, sizeof an, "%s_meta", fd->name);
    if (attr_text(t->ds, an, meta, sizeof meta) && !strcmp(meta, "category"))
        TSF_FAIL(r->err, TSF_ETYPE,
                 "%s: \"/%s\": column \"%s\"%s is categorical (pandas stores its codes, not its "
                 "values); tsflow reads numeric columns only: convert it (df[\"%s\"].astype(float) "
                 "or .astype(str) for a series id) or drop it before to_hdf",
                 r->path, r->key, fd->labels[0], fd->k > 1 ? " (and others in its block)" : "",
                 fd->labels[0]);
    return TSF_OK;
}

/* Read field fi of every record: its k values as memory type base (size es each) into buf
 * (n_rows * k * es bytes). */
static int pdt_read_raw(const rd *r, const pdt *t, size_t fi, hid_t base, void *buf)
{
    const pdt_field *fd = &t->fld[fi];
    size_t k = fd->role == PDT_INDEX ? 1 : fd->k, es = H5Tget_size(base);
    hsize_t d = k;
    hid_t arr = fd->is_array ? H5Tarray_create2(base, 1, &d) : H5Tcopy(base);
    hid_t one = H5Tcreate(H5T_COMPOUND, es * k);
    int ok = arr >= 0 && one >= 0 && H5Tinsert(one, fd->name, 0, arr) >= 0 &&
             H5Dread(t->ds, one, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0;
    tsf__h5_close(one);
    tsf__h5_close(arr);
    if (!ok)
        return tsf__h5_fail(r->err, TSF_EIO, "%s: \"/%s\": cannot read field \"%s\" of its table",
                            r->path, r->key, fd->name);
    return TSF_OK;
}

/* A one-value field as strings (fixed-width, NUL-padded as PyTables writes them). */
static int pdt_read_strings(const rd *r, const pdt *t, size_t fi, char ***out)
{
    const pdt_field *fd = &t->fld[fi];
    size_t w = fd->width, n = t->n_rows;
    hid_t st = H5Tcopy(H5T_C_S1);
    char *buf = malloc(n * w + 1);
    char **s = calloc(n, sizeof *s);
    int rc = st < 0 || H5Tset_size(st, w) < 0 || H5Tset_strpad(st, H5T_STR_NULLPAD) < 0
                 ? fail_h5(r, TSF_EIO, "cannot make a string type")
             : !buf || !s ? fail_nomem(r)
                          : pdt_read_raw(r, t, fi, st, buf);
    for (size_t i = 0; rc == TSF_OK && i < n; i++) {
        size_t l = 0;
        while (l < w && buf[i * w + l])
            l++;
        if (!(s[i] = malloc(l + 1)))
            rc = fail_nomem(r);
        else {
            memcpy(s[i], buf + i * w, l);
            s[i][l] = '\0';
        }
    }
    tsf__h5_close(st);
    free(buf);
    if (rc != TSF_OK) {
        free_strs(s, n);
        return rc;
    }
    *out = s;
    return TSF_OK;
}

/* pandas' index kind of a data column from its dtype ("datetime64", "int64", "bytes16", ..). */
static const char *pdt_kind_of(const pdt_field *fd)
{
    if (!strncmp(fd->dtype, "datetime64", 10))
        return "datetime64";
    if (fd->cls == H5T_STRING)
        return "string";
    if (fd->cls == H5T_FLOAT)
        return "float";
    return fd->cls == H5T_INTEGER ? "integer" : "";
}

/* A one-value field (the index, a level, a time column) as a pandas index of n_rows values. */
static int pdt_index(const rd *r, const pdt *t, size_t fi, const char *kind, pd_index *ix)
{
    memset(ix, 0, sizeof *ix);
    const pdt_field *fd = &t->fld[fi];
    size_t n = t->n_rows;
    int rc;
    if (!strcmp(kind, "string")) {
        rc = fd->cls == H5T_STRING ? pdt_read_strings(r, t, fi, &ix->s)
                                   : tsf_err_set(r->err, TSF_EFORMAT,
                                                 "%s: \"/%s\": field \"%s\" of its table is not "
                                                 "text",
                                                 r->path, r->key, fd->name);
        ix->kind = IX_STR;
    } else if (!strcmp(kind, "datetime64") || !strcmp(kind, "integer") || !strcmp(kind, "date") ||
               !strcmp(kind, "float")) {
        int fl = !strcmp(kind, "float");
        double *x = fl ? malloc(n * sizeof *x) : NULL;
        ix->v = malloc(n * sizeof *ix->v);
        if (!ix->v || (fl && !x))
            rc = fail_nomem(r);
        else if (fd->cls != H5T_INTEGER && fd->cls != H5T_FLOAT)
            rc = tsf_err_set(r->err, TSF_EFORMAT,
                             "%s: \"/%s\": field \"%s\" of its table is not numeric", r->path,
                             r->key, fd->name);
        else
            rc = pdt_read_raw(r, t, fi, fl ? H5T_NATIVE_DOUBLE : H5T_NATIVE_INT64,
                              fl ? (void *)x : (void *)ix->v);
        if (rc == TSF_OK)
            rc = pd_index_values(r, kind, x, n, ix);
        free(x);
    } else {
        rc = tsf_err_set(r->err, TSF_ETYPE,
                         "%s: \"/%s\": pandas index \"%s\" is of kind \"%s\"; tsflow reads "
                         "datetime, integer and string indexes",
                         r->path, r->key, fd->name, kind);
    }
    ix->n = n;
    if (rc != TSF_OK)
        pd_index_clear(ix);
    return rc;
}

/* Which field is the series id and which the time, from the MultiIndex levels, the time_column
 * option (a datetime column), or the one text column of a flat frame (a long table's id). */
static int pdt_roles(const rd *r, pdt *t)
{
    t->id_f = t->time_f = SIZE_MAX;
    size_t n_text = 0, text_f = SIZE_MAX;
    const char *tc = r->opt->no_time ? NULL : r->opt->time_column;
    for (size_t i = 0; i < t->n_fld; i++) {
        pdt_field *fd = &t->fld[i];
        if (fd->role == PDT_INDEX)
            continue;
        if (t->levels && !strcmp(fd->name, t->levels[0]) && !fd->is_array) {
            fd->role = PDT_ID;
            t->id_f = i;
        } else if (t->levels && !strcmp(fd->name, t->levels[1]) && !fd->is_array) {
            fd->role = PDT_TIME;
            t->time_f = i;
        } else if (!t->levels && tc && fd->k == 1 && !strcmp(fd->labels[0], tc) &&
                   !strcmp(pdt_kind_of(fd), "datetime64")) {
            fd->role = PDT_TIME;
            t->time_f = i;
        } else if (fd->cls == H5T_STRING) {
            n_text += fd->k;
            text_f = i;
        }
    }
    if (t->levels && (t->id_f == SIZE_MAX || t->time_f == SIZE_MAX))
        TSF_FAIL(r->err, TSF_EFORMAT,
                 "%s: \"/%s\": this pandas table lacks the fields of its index levels \"%s\" "
                 "and \"%s\"; the file is damaged",
                 r->path, r->key, t->levels[0], t->levels[1]);
    if (n_text == 1 && !t->levels) {
        /* one text column in a flat frame: a long table, as a CSV file with an id column */
        t->fld[text_f].role = PDT_ID;
        t->id_f = text_f;
        note(r, "text column \"%s\" read as the series id", t->fld[text_f].labels[0]);
    }
    return TSF_OK;
}

/* The frame: the value columns in pandas' order (non_index_axes less the index levels and the
 * id), read from their fields. Text or datetime columns left over are refused, naming them. */
static int pdt_values(const rd *r, const pdt *t, tsf_frame **out)
{
    const char **names = calloc(t->n_order ? t->n_order : 1, sizeof *names);
    size_t n_cols = 0;
    if (!names)
        return fail_nomem(r);
    for (size_t c = 0; c < t->n_order; c++) {
        const char *name = t->order[c];
        int skip = t->levels && (!strcmp(name, t->levels[0]) || !strcmp(name, t->levels[1]));
        for (size_t i = 0; i < t->n_fld && !skip; i++)
            skip = (t->fld[i].role == PDT_ID || t->fld[i].role == PDT_TIME) &&
                   !strcmp(t->fld[i].labels[0], name);
        if (!skip)
            names[n_cols++] = name;
    }
    int rc =
        n_cols ? tsf_frame_alloc(out, n_cols, names, t->n_rows, r->err)
               : tsf_err_set(r->err, TSF_EFORMAT,
                             "%s: \"/%s\": the pandas table has no value columns", r->path, r->key);
    free(names);
    if (rc != TSF_OK)
        return rc;
    tsf_frame *f = *out;
    f->n_rows = t->n_rows;
    f->series_start[1] = t->n_rows;
    double *buf = NULL;
    for (size_t i = 0; rc == TSF_OK && i < t->n_fld; i++) {
        const pdt_field *fd = &t->fld[i];
        if (fd->role != PDT_VALUES)
            continue;
        const char *kind = pdt_kind_of(fd);
        /* numpy bool is an 8-bit bitfield in PyTables, which HDF5 does not convert to double */
        int bits = fd->cls == H5T_BITFIELD && fd->width == 1;
        if (fd->cls != H5T_INTEGER && fd->cls != H5T_FLOAT && !bits) {
            rc = tsf_err_set(r->err, TSF_ETYPE,
                             "%s: \"/%s\": column \"%s\"%s holds %s; tsflow reads numeric columns "
                             "and at most one text column (the series id): drop or convert it "
                             "before to_hdf",
                             r->path, r->key, fd->labels[0],
                             fd->k > 1 ? " (and others in its block)" : "",
                             fd->cls == H5T_STRING ? "text" : "values of an unsupported type");
            break;
        }
        if (!strcmp(kind, "datetime64")) {
            rc = tsf_err_set(r->err, TSF_ETYPE,
                             "%s: \"/%s\": column \"%s\" holds datetime64 values; tsflow reads "
                             "numeric columns only: drop it, or name it as the time (--time-column "
                             "%s) or make it the index (df.set_index(...))",
                             r->path, r->key, fd->labels[0], fd->labels[0]);
            break;
        }
        free(buf);
        if (!(buf = malloc(t->n_rows * fd->k * sizeof *buf))) {
            rc = fail_nomem(r);
            break;
        }
        if ((rc = pdt_read_raw(r, t, i, bits ? H5T_NATIVE_B8 : H5T_NATIVE_DOUBLE, buf)) != TSF_OK)
            break;
        for (size_t v = t->n_rows * fd->k; bits && v-- > 0;) /* bytes to doubles, in place */
            buf[v] = ((const uint8_t *)buf)[v] != 0;
        for (size_t c = 0; c < fd->k; c++) {
            size_t j = tsf_frame_col_index(f, fd->labels[c]);
            if (j == (size_t)-1) {
                rc = tsf_err_set(r->err, TSF_EFORMAT,
                                 "%s: \"/%s\": field \"%s\" holds column \"%s\", which is not "
                                 "among the table's columns",
                                 r->path, r->key, fd->name, fd->labels[c]);
                break;
            }
            for (size_t row = 0; row < t->n_rows; row++)
                f->cols[j][row] = buf[row * fd->k + c];
        }
    }
    free(buf);
    return rc;
}

static int cmp_labels(const void *a, const void *b)
{
    return strcmp(**(char *const *const *)a, **(char *const *const *)b);
}

/* Codes of the rows' series ids (ids: one label per row) into code, and the distinct labels
 * into uniq (sorted; the series keep the order of first appearance, set_long_series). */
static int pdt_codes(const rd *r, const pd_index *ids, int64_t *code, pd_index *uniq)
{
    size_t n = ids->n;
    memset(uniq, 0, sizeof *uniq);
    uniq->kind = IX_STR;
    char **lab = calloc(n, sizeof *lab);
    char ***by = malloc(n * sizeof *by); /* pointers into lab, sorted by label */
    uniq->s = calloc(n, sizeof *uniq->s);
    int rc = lab && by && uniq->s ? TSF_OK : fail_nomem(r);
    for (size_t i = 0; rc == TSF_OK && i < n; i++) {
        char num[32];
        if (!(lab[i] = strdup(pd_label(ids, i, num, sizeof num))))
            rc = fail_nomem(r);
        by[i] = &lab[i];
    }
    if (rc == TSF_OK)
        qsort(by, n, sizeof *by, cmp_labels);
    for (size_t i = 0; rc == TSF_OK && i < n; i++) {
        if ((i == 0 || strcmp(*by[i], *by[i - 1]) != 0) && !(uniq->s[uniq->n++] = strdup(*by[i])))
            rc = fail_nomem(r);
        code[by[i] - lab] = (int64_t)uniq->n - 1;
    }
    free_strs(lab, n);
    free(by);
    return rc;
}

/* The time of each row (the index, the time level, or a datetime column named by time_column)
 * as a pandas index named after it. */
static int pdt_time(const rd *r, const pdt *t, pd_index *tix)
{
    int rc;
    if (t->time_f != SIZE_MAX) {
        const pdt_field *fd = &t->fld[t->time_f];
        if ((rc = pdt_index(r, t, t->time_f, pdt_kind_of(fd), tix)) != TSF_OK)
            return rc;
        snprintf(tix->name, sizeof tix->name, "%s", fd->labels[0]);
        tix->has_name = 1;
        return TSF_OK;
    }
    size_t fi = 0;
    while (fi < t->n_fld && t->fld[fi].role != PDT_INDEX)
        fi++;
    if (fi == t->n_fld)
        TSF_FAIL(r->err, TSF_EFORMAT,
                 "%s: \"/%s\": this pandas table has no \"index\" field; the file is damaged",
                 r->path, r->key);
    if ((rc = pdt_index(r, t, fi, t->index_kind, tix)) != TSF_OK)
        return rc;
    const tsf__pk *fq = tsf__pk_get(t->ixinfo, "freq");
    if (fq && fq->kind != TSF__PK_NONE && !strcmp(t->index_kind, "integer")) {
        /* an integer index with a frequency is a PeriodIndex */
        rc = period_index(r, fq->kind == TSF__PK_STR ? NULL : fq,
                          fq->kind == TSF__PK_STR ? fq->s : NULL, "the index", tix);
        if (rc != TSF_OK)
            return rc;
    }
    const tsf__pk *nm = tsf__pk_get(t->ixinfo, "index_name");
    if (nm && nm->kind == TSF__PK_STR) {
        snprintf(tix->name, sizeof tix->name, "%s", nm->s);
        tix->has_name = 1;
    }
    return TSF_OK;
}

/* The zone of a zone-aware index of a table (PyTables keeps it in the info attribute, pickled:
 * info["index"]["tz"]): the frame's zone, as a fixed-format index's tz attribute is. A zone
 * object tsflow cannot name is an error rather than times silently shown in UTC. */
static int pdt_zone(const rd *r, const pdt *t, tsf_frame *f)
{
    char zone[TEXT_MAX];
    int named = tsf__pk_zone(tsf__pk_get(t->ixinfo, "tz"), zone, sizeof zone);
    if (named < 0)
        TSF_FAIL(r->err, TSF_EFORMAT,
                 "%s: \"/%s\": the index is zone-aware in a zone tsflow cannot name (a pickled "
                 "%s; expected a pytz, zoneinfo or datetime.timezone zone: "
                 "df.tz_convert('UTC') or a zone name before saving)",
                 r->path, r->key, zone);
    return named ? tsf_frame_set_tz(f, zone, r->err) : TSF_OK;
}

/* A pandas object written by to_hdf(format="table"): a PyTables table of records with the
 * index, dtype blocks values_block_<i> (or one field per data column), and pickled attributes
 * naming the columns (non_index_axes, <field>_kind), the MultiIndex levels and the index name.
 * Rows appended by later to_hdf(append=True) calls are more records of the same table. */
static int read_pd_table(const rd *r, hid_t g, tsf_frame **out)
{
    pdt t = {.ds = -1, .ft = -1};
    pd_index tix = {0}, ids = {0}, uniq = {0};
    tsf_frame *f = NULL;
    int64_t *code = NULL;
    int rc = pdt_layout(r, g, &t);
    if (rc == TSF_OK)
        rc = pdt_open(r, g, &t);
    if (rc == TSF_OK) {
        int nm = H5Tget_nmembers(t.ft);
        t.n_fld = nm > 0 ? (size_t)nm : 0;
        if (!(t.fld = calloc(t.n_fld ? t.n_fld : 1, sizeof *t.fld)))
            rc = fail_nomem(r);
    }
    for (size_t i = 0; rc == TSF_OK && i < t.n_fld; i++)
        rc = pdt_field_read(r, &t, (unsigned)i);
    if (rc == TSF_OK)
        rc = pdt_roles(r, &t);
    if (rc == TSF_OK)
        rc = pdt_values(r, &t, &f);
    if (rc == TSF_OK)
        rc = pdt_time(r, &t, &tix);
    if (rc == TSF_OK && t.id_f == SIZE_MAX) {
        rc = index_times(r, &tix, f->time, &f->time_kind);
        if (rc == TSF_OK && tix.has_name)
            rc = tsf_frame_set_time_name(f, tix.name, r->err);
    } else if (rc == TSF_OK) {
        const pdt_field *fd = &t.fld[t.id_f];
        if (!(code = malloc(t.n_rows * sizeof *code)))
            rc = fail_nomem(r);
        if (rc == TSF_OK)
            rc = pdt_index(r, &t, t.id_f, pdt_kind_of(fd), &ids);
        if (rc == TSF_OK)
            rc = pdt_codes(r, &ids, code, &uniq);
        /* the rows' times, before the regrouping, into ids' values (no longer needed) */
        int64_t *tr = rc == TSF_OK ? malloc(t.n_rows * sizeof *tr) : NULL;
        if (rc == TSF_OK && !tr)
            rc = fail_nomem(r);
        if (rc == TSF_OK)
            rc = index_times(r, &tix, tr, &f->time_kind);
        if (rc == TSF_OK)
            rc = set_long_series(r, f, code, &uniq, fd->labels[0], tr);
        if (rc == TSF_OK && tix.has_name)
            rc = tsf_frame_set_time_name(f, tix.name, r->err);
        free(tr);
    }
    if (rc == TSF_OK && t.time_f == SIZE_MAX && f->time_kind == TSF_TIME_EPOCH)
        rc = pdt_zone(r, &t, f);
    if (rc == TSF_OK)
        rc = pd_time_column(r, f, &tix, t.id_f != SIZE_MAX, 0);
    pd_index_clear(&tix);
    pd_index_clear(&ids);
    pd_index_clear(&uniq);
    free(code);
    pdt_clear(&t);
    if (rc != TSF_OK) {
        tsf_frame_free(f);
        f = NULL;
    }
    *out = f;
    return rc;
}

/* ---- plain datasets ------------------------------------------------------------------------ */

static herr_t first_scale(hid_t did, unsigned dim, hid_t scale, void *data)
{
    (void)did;
    (void)dim;
    char *name = data;
    ssize_t n = H5Iget_name(scale, name, TEXT_MAX);
    return n > 0 && n < TEXT_MAX ? 1 : 0;
}

/* Path of the first dimension scale attached to dim of ds that is a real coordinate (not a
 * netCDF dimension without variable) into name; 0 when none. */
static int scale_of(hid_t fid, hid_t ds, unsigned dim, char *name)
{
    name[0] = '\0';
    /* DIMENSION_LIST is variable-length data in the global heap: see read_strs */
    double deadline = tsf__hdf5_deadline_set(HDF5_PATIENCE_S);
    int n = H5DSget_num_scales(ds, dim);
    H5Eclear2(H5E_DEFAULT);
    int found = n > 0 && H5DSiterate_scales(ds, dim, NULL, first_scale, name) > 0 && name[0];
    tsf__hdf5_deadline_restore(deadline);
    if (!found) {
        H5Eclear2(H5E_DEFAULT);
        return 0;
    }
    hid_t s = H5Dopen2(fid, name, H5P_DEFAULT);
    char label[TEXT_MAX] = "";
    int real = s >= 0;
    if (real && attr_text(s, "NAME", label, sizeof label) &&
        !strncmp(label, "This is a netCDF dimension but not a netCDF variable", 52))
        real = 0;
    tsf__h5_close(s);
    H5Eclear2(H5E_DEFAULT);
    return real;
}

/* Length of a 1-D dataset, or -1 when it is not 1-D. */
static long long len_1d(hid_t ds)
{
    hsize_t dims[8];
    return shape_of(ds, dims) == 1 ? (long long)dims[0] : -1;
}

/* ---- CF packing and masking ---------------------------------------------------------------- */

/* Up to cap values of a numeric attribute as doubles; the count, 0 when absent or not numeric. */
static size_t attr_doubles(hid_t obj, const char *name, double *v, size_t cap)
{
    if (H5Aexists(obj, name) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        return 0;
    }
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    hid_t t = a < 0 ? -1 : H5Aget_type(a);
    hid_t s = a < 0 ? -1 : H5Aget_space(a);
    hssize_t n = s < 0 ? -1 : H5Sget_simple_extent_npoints(s);
    size_t got = 0;
    if (t >= 0 && n >= 1 && (size_t)n <= cap &&
        (H5Tget_class(t) == H5T_INTEGER || H5Tget_class(t) == H5T_FLOAT) &&
        H5Aread(a, H5T_NATIVE_DOUBLE, v) >= 0)
        got = (size_t)n;
    tsf__h5_close(s);
    tsf__h5_close(t);
    tsf__h5_close(a);
    H5Eclear2(H5E_DEFAULT);
    return got;
}

/* The CF attributes of a variable (CF conventions 2.5.1 and 8.1). Values equal to _FillValue or
 * missing_value, or outside valid_min/valid_max/valid_range, are missing; the others become
 * packed * scale_factor + add_offset. The comparisons are on the packed values, as CF says. */
typedef struct cf_codec {
    int any;
    double scale, offset;
    double miss[9]; /* _FillValue and the missing_value list */
    size_t n_miss;
    double lo, hi; /* valid range; -inf/+inf when unbounded */
} cf_codec;

static void cf_read(const rd *r, hid_t ds, cf_codec *c)
{
    memset(c, 0, sizeof *c);
    c->scale = 1;
    c->lo = -INFINITY;
    c->hi = INFINITY;
    double v[2];
    if (attr_doubles(ds, "scale_factor", v, 1)) {
        c->scale = v[0];
        c->any = 1;
        note(r, "CF scale_factor %.17g applied", v[0]);
    }
    if (attr_doubles(ds, "add_offset", v, 1)) {
        c->offset = v[0];
        c->any = 1;
        note(r, "CF add_offset %.17g applied", v[0]);
    }
    c->n_miss = attr_doubles(ds, "_FillValue", c->miss, 1);
    c->n_miss += attr_doubles(ds, "missing_value", c->miss + c->n_miss, 8);
    if (attr_doubles(ds, "valid_range", v, 2) == 2) {
        c->lo = v[0];
        c->hi = v[1];
    } else {
        if (attr_doubles(ds, "valid_min", v, 1))
            c->lo = v[0];
        if (attr_doubles(ds, "valid_max", v, 1))
            c->hi = v[0];
    }
    if (c->n_miss || c->lo > -INFINITY || c->hi < INFINITY)
        c->any = 1;
}

/* Decode n values in place; returns how many became missing. */
static size_t cf_apply(const cf_codec *c, double *x, size_t n)
{
    size_t masked = 0;
    for (size_t i = 0; i < n; i++) {
        double v = x[i];
        int miss = isnan(v) ? 0 : v < c->lo || v > c->hi;
        for (size_t k = 0; k < c->n_miss && !miss; k++)
            miss = v == c->miss[k];
        if (miss) {
            x[i] = NAN;
            masked++;
        } else {
            x[i] = v * c->scale + c->offset;
        }
    }
    return masked;
}

/* ---- plain datasets: which dimension is time, names, time dataset --------------------------- */

/* Names tried, in this order, for the attribute holding the column names. */
static const char *const NAME_ATTRS[] = {"columns", "column_names", "colnames", "col_names",
                                         "names",   "labels",       "variables"};
/* Names tried (any case), in this order, for a time dataset beside the data. */
static const char *const TIME_NAMES[] = {"time",     "times",     "date",       "dates",
                                         "datetime", "timestamp", "timestamps", "index"};

/* What lies beside the dataset in its group. */
typedef struct siblings {
    const char *self;       /* the dataset's own name */
    int rank;               /* best TIME_NAMES position found so far (-1: none) */
    char time[TEXT_MAX];    /* that dataset's name */
    long long time_len;     /* its length (1-D), or -1 */
    char suspect[TEXT_MAX]; /* a 1-D dataset that looks like time under another name */
    long long suspect_len;
    char why[64];   /* why it looks like time */
    char list[512]; /* the 1-D datasets, for messages */
} siblings;

static int contains_nocase(const char *s, const char *w)
{
    for (size_t n = strlen(w); *s; s++)
        if (!strncasecmp(s, w, n))
            return 1;
    return 0;
}

static herr_t sibling_cb(hid_t g, const char *name, const H5L_info_t *info, void *data)
{
    (void)info;
    siblings *sb = data;
    if (!strcmp(name, sb->self))
        return 0;
    hid_t o = H5Oopen(g, name, H5P_DEFAULT);
    if (o < 0 || H5Iget_type(o) != H5I_DATASET) {
        tsf__h5_close(o);
        H5Eclear2(H5E_DEFAULT);
        return 0;
    }
    long long len = len_1d(o);
    if (len >= 0) {
        size_t l = strlen(sb->list);
        if (l + strlen(name) + 4 < sizeof sb->list)
            snprintf(sb->list + l, sizeof sb->list - l, "%s%s", l ? ", " : "", name);
        int k = 0, n = (int)(sizeof TIME_NAMES / sizeof TIME_NAMES[0]);
        while (k < n && strcasecmp(name, TIME_NAMES[k]) != 0)
            k++;
        if (k < n && (sb->rank < 0 || k < sb->rank)) {
            sb->rank = k;
            snprintf(sb->time, sizeof sb->time, "%s", name);
            sb->time_len = len;
        } else if (k == n && !sb->suspect[0]) {
            hid_t t = H5Dget_type(o);
            char units[TEXT_MAX];
            const char *why = NULL;
            if (t >= 0 && H5Tget_class(t) == H5T_STRING)
                why = "it holds strings";
            else if (attr_text(o, "units", units, sizeof units) && strstr(units, " since "))
                why = "it has CF time units";
            else if (contains_nocase(name, "time") || contains_nocase(name, "date"))
                why = "of its name";
            tsf__h5_close(t);
            if (why) {
                snprintf(sb->suspect, sizeof sb->suspect, "%s", name);
                snprintf(sb->why, sizeof sb->why, "%s", why);
                sb->suspect_len = len;
            }
        }
    }
    tsf__h5_close(o);
    H5Eclear2(H5E_DEFAULT);
    return 0;
}

/* Look at the 1-D datasets in the group of the key. */
static void find_siblings(const rd *r, siblings *sb)
{
    memset(sb, 0, sizeof *sb);
    sb->rank = -1;
    sb->time_len = sb->suspect_len = -1;
    const char *slash = strrchr(r->key, '/');
    sb->self = slash ? slash + 1 : r->key;
    char parent[TEXT_MAX * 2] = "/";
    if (slash)
        snprintf(parent, sizeof parent, "/%.*s", (int)(slash - r->key), r->key);
    hid_t g = H5Gopen2(r->fid, parent, H5P_DEFAULT);
    if (g >= 0)
        H5Literate(g, H5_INDEX_NAME, H5_ITER_NATIVE, NULL, sibling_cb, sb);
    tsf__h5_close(g);
    H5Eclear2(H5E_DEFAULT);
}

/* A string attribute other than NAME_ATTRS with n values (the column names under a name
 * tsflow does not know): its name into name, 1 when found. */
typedef struct other_names {
    size_t n;
    char name[TEXT_MAX];
} other_names;

static herr_t other_names_cb(hid_t obj, const char *name, const H5A_info_t *info, void *data)
{
    (void)info;
    other_names *o = data;
    for (size_t k = 0; k < sizeof NAME_ATTRS / sizeof NAME_ATTRS[0]; k++)
        if (!strcmp(name, NAME_ATTRS[k]))
            return 0;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    hid_t t = a < 0 ? -1 : H5Aget_type(a);
    hid_t s = a < 0 ? -1 : H5Aget_space(a);
    int hit = t >= 0 && s >= 0 && H5Tget_class(t) == H5T_STRING &&
              H5Sget_simple_extent_ndims(s) == 1 &&
              H5Sget_simple_extent_npoints(s) == (hssize_t)o->n;
    tsf__h5_close(s);
    tsf__h5_close(t);
    tsf__h5_close(a);
    H5Eclear2(H5E_DEFAULT);
    if (hit)
        snprintf(o->name, sizeof o->name, "%s", name);
    return hit;
}

/* Column names of a plain dataset with n_cols columns along dimension name_dim: a NAME_ATTRS
 * attribute, else a string dimension scale on name_dim. *names stays NULL when there are none;
 * a string attribute of the right length under another name is an error (naming it), so that
 * names are never silently replaced by v0, v1, ... */
static int plain_names(const rd *r, hid_t ds, int rank, unsigned name_dim, size_t n_cols,
                       char ***names)
{
    *names = NULL;
    for (size_t k = 0; k < sizeof NAME_ATTRS / sizeof NAME_ATTRS[0]; k++) {
        size_t got = 0;
        int a = attr_strs(ds, NAME_ATTRS[k], n_cols, names, &got);
        if (a == -2)
            return fail_nomem(r);
        if (a == -1)
            TSF_FAIL(r->err, TSF_EFORMAT,
                     "%s: \"/%s\": attribute \"%s\" has %zu names but the dataset has %zu "
                     "columns (expected one string per column)",
                     r->path, r->key, NAME_ATTRS[k], got, n_cols);
        if (a == 1)
            return TSF_OK;
    }
    char scale[TEXT_MAX];
    if (rank == 2 && scale_of(r->fid, ds, name_dim, scale)) {
        hid_t s = H5Dopen2(r->fid, scale, H5P_DEFAULT);
        hid_t st = s < 0 ? -1 : H5Dget_type(s);
        int rc = 0;
        if (st >= 0 && H5Tget_class(st) == H5T_STRING && len_1d(s) == (long long)n_cols)
            rc = read_strs(s, 0, st, n_cols, names);
        tsf__h5_close(st);
        tsf__h5_close(s);
        H5Eclear2(H5E_DEFAULT);
        if (rc == -2)
            return fail_nomem(r);
        if (*names)
            return TSF_OK;
    }
    other_names o = {.n = n_cols};
    hsize_t at = 0;
    if (rank == 2 && n_cols > 1 &&
        H5Aiterate2(ds, H5_INDEX_NAME, H5_ITER_NATIVE, &at, other_names_cb, &o) > 0)
        TSF_FAIL(r->err, TSF_EFORMAT,
                 "%s: \"/%s\": attribute \"%s\" holds %zu strings, one per column, but tsflow "
                 "takes column names only from an attribute named columns, column_names, "
                 "colnames, col_names, names, labels or variables (expected one of these; "
                 "rename it, e.g. in h5py: d.attrs['columns'] = d.attrs.pop('%s'))",
                 r->path, r->key, o.name, n_cols, o.name);
    H5Eclear2(H5E_DEFAULT);
    return TSF_OK;
}

/* Which dimension of a 2-D dataset (dims) is time, or fail asking for time_dim. In order: the
 * option; rhdf5's "rhdf5-NA.OK" attribute (R matrices are n x k column-major, so HDF5 sees
 * k x n); a dimension scale on dimension 0 or 1 (netCDF, xarray); the length of the time
 * dataset beside it; a column-names attribute (names run along dimension 1); else dimension 0 when
 * it is at least as long as dimension 1 (numpy's and h5py's layout with more times than series). A
 * dataset with fewer rows than columns and none of these (hdf5r writes R matrices without a trace)
 * cannot be read without the option. */
static int plain_time_dim(const rd *r, hid_t ds, const hsize_t *dims, const siblings *sb,
                          int *time_dim)
{
    char scale[TEXT_MAX];
    if (r->opt->time_dim == TSF_HDF5_TIME_DIM_0 || r->opt->time_dim == TSF_HDF5_TIME_DIM_1) {
        *time_dim = (int)r->opt->time_dim;
        return TSF_OK;
    }
    if (H5Aexists(ds, "rhdf5-NA.OK") > 0) {
        *time_dim = 1;
        note(r, "an R matrix written by rhdf5: dimension 1 (%llu long) taken as time",
             (unsigned long long)dims[1]);
        return TSF_OK;
    }
    H5Eclear2(H5E_DEFAULT);
    int named = 0;
    for (size_t k = 0; k < sizeof NAME_ATTRS / sizeof NAME_ATTRS[0]; k++)
        named |= H5Aexists(ds, NAME_ATTRS[k]) > 0;
    H5Eclear2(H5E_DEFAULT);
    if (dims[0] == dims[1] || named || scale_of(r->fid, ds, 0, scale)) {
        *time_dim = 0;
        return TSF_OK;
    }
    if (sb->time_len >= 0 && (hsize_t)sb->time_len == dims[1] && !r->opt->no_time) {
        *time_dim = 1;
        note(r, "time dataset \"%s\" has %llu values, as dimension 1: taken as time", sb->time,
             (unsigned long long)dims[1]);
        return TSF_OK;
    }
    if ((sb->time_len >= 0 && (hsize_t)sb->time_len == dims[0]) || dims[0] > dims[1]) {
        *time_dim = 0;
        return TSF_OK;
    }
    TSF_FAIL(r->err, TSF_EINVAL,
             "%s: \"/%s\": a %llu x %llu dataset without column names or a time dataset: tsflow "
             "cannot tell whether rows or columns run along time (numpy and h5py write rows x "
             "columns, R writes an n x k matrix as k x n); say which with --time-dim 0 (%llu "
             "rows of %llu series) or --time-dim 1 (%llu rows of %llu series, as R wrote it) "
             "(ingest.hdf5 option time_dim)",
             r->path, r->key, (unsigned long long)dims[0], (unsigned long long)dims[1],
             (unsigned long long)dims[0], (unsigned long long)dims[1], (unsigned long long)dims[1],
             (unsigned long long)dims[0]);
}

/* Integer times t[0..n) in the unit opt->time_unit gives (seconds, days, years, ...) as epoch
 * microseconds, *kind TSF_TIME_EPOCH; unchanged (an integer index) without one, with a warning when
 * they look like epoch times. */
static int apply_time_unit(const rd *r, const char *what, int64_t *t, size_t n, tsf_time_kind *kind)
{
    tsf_time_unit tu = r->opt->time_unit;
    int64_t num = 1, den = 1;
    char name[64];
    *kind = TSF_TIME_INDEX;
    if (tu == TSF_TIME_UNIT_AUTO)
        epoch_hint(r, what, 0, t, n);
    if (tu == TSF_TIME_UNIT_AUTO || tu == TSF_TIME_UNIT_INDEX)
        return TSF_OK;
    option_units(tu, &num, &den, name, sizeof name);
    for (size_t i = 0; i < n; i++) {
        int64_t v = t[i];
        if (tu == TSF_TIME_UNIT_YEAR ? v < -999999 || v > 999999
                                     : v % den != 0 || __builtin_mul_overflow(v / den, num, &v))
            TSF_FAIL(r->err, TSF_EFORMAT,
                     "%s: \"/%s\": %s row %zu (%" PRId64 ") is not a whole %s (time_unit %s)",
                     r->path, r->key, what, i, t[i],
                     tu == TSF_TIME_UNIT_YEAR ? "year within -999999..999999"
                                              : "microsecond within 292,000 years of 1970",
                     tsf_time_unit_names[tu]);
        t[i] = tu == TSF_TIME_UNIT_YEAR ? tsf__days_from_civil(v, 1, 1) * TSF_US_PER_DAY : v;
    }
    *kind = TSF_TIME_EPOCH;
    return TSF_OK;
}

/* Drop column j of f once it has become the time. */
static int drop_time_column(const rd *r, tsf_frame *f, size_t j)
{
    int rc = tsf_frame_set_time_name(f, f->col_names[j], r->err);
    if (rc != TSF_OK)
        return rc;
    free(f->col_names[j]);
    free(f->cols[j]);
    memmove(f->col_names + j, f->col_names + j + 1, (f->n_cols - j - 1) * sizeof *f->col_names);
    memmove(f->cols + j, f->cols + j + 1, (f->n_cols - j - 1) * sizeof *f->cols);
    f->n_cols--;
    return TSF_OK;
}

/* Use column j of f as its time (whole numbers: an integer index, or times per time_unit) and
 * drop it. */
static int column_as_time(const rd *r, tsf_frame *f, size_t j)
{
    for (size_t i = 0; i < f->n_rows; i++) {
        double v = f->cols[j][i];
        if (!isfinite(v) || v != floor(v) || fabs(v) > 9.2e18)
            TSF_FAIL(r->err, TSF_EFORMAT,
                     "%s: \"/%s\": time column \"%s\" row %zu (%.17g) is not a whole number "
                     "(expected integer steps)",
                     r->path, r->key, f->col_names[j], i, v);
        f->time[i] = (int64_t)v;
    }
    char what[TEXT_MAX + 16];
    snprintf(what, sizeof what, "time column \"%s\"", f->col_names[j]);
    int rc = apply_time_unit(r, what, f->time, f->n_rows, &f->time_kind);
    return rc == TSF_OK ? drop_time_column(r, f, j) : rc;
}

/* Use column j of f, datetimes read as epoch seconds (read_dt_block), as its time and drop it. */
static int column_as_epoch(const rd *r, tsf_frame *f, size_t j)
{
    for (size_t i = 0; i < f->n_rows; i++) {
        if (isnan(f->cols[j][i]))
            TSF_FAIL(r->err, TSF_EFORMAT,
                     "%s: \"/%s\": time column \"%s\" is NaT (no time) at row %zu (expected a "
                     "time in every row)",
                     r->path, r->key, f->col_names[j], i);
        f->time[i] = (int64_t)f->cols[j][i];
    }
    f->time_kind = TSF_TIME_EPOCH;
    return drop_time_column(r, f, j);
}

/* A plain dataset must hold numbers, 1-D or 2-D, with at least one row. */
static int plain_check_shape(const rd *r, hid_t ds, hsize_t *dims, int *rank_out)
{
    int rank = shape_of(ds, dims);
    hid_t ft = H5Dget_type(ds);
    if (rank < 0 || ft < 0) {
        tsf__h5_close(ft);
        return fail_h5(r, TSF_EIO, "cannot read the shape of this dataset");
    }
    if (!numeric_kind(ft)) {
        const char *what = describe_class(ft);
        tsf__h5_close(ft);
        TSF_FAIL(r->err, TSF_ETYPE,
                 "%s: \"/%s\" holds %s; expected numbers (float or integer): give the key of a "
                 "numeric dataset or of a pandas frame",
                 r->path, r->key, what);
    }
    tsf__h5_close(ft);
    int rc = check_extent(r, ds, "the dataset");
    if (rc != TSF_OK)
        return rc;
    if (rank < 1 || rank > 2) {
        char shape[128] = "";
        size_t at = 0;
        for (int d = 0; d < rank && at < sizeof shape - 24; d++)
            at += (size_t)snprintf(shape + at, sizeof shape - at, "%s%llu", d ? " x " : "",
                                   (unsigned long long)dims[d]);
        TSF_FAIL(r->err, TSF_EFORMAT,
                 "%s: \"/%s\" is a %d-D dataset%s%s%s; expected 1-D (one column) or 2-D (rows x "
                 "columns)",
                 r->path, r->key, rank, rank ? " (" : "", shape, rank ? ")" : "");
    }
    if (dims[0] == 0 || (rank == 2 && dims[1] == 0)) { /* as the CSV reader refuses no rows */
        char shape[48] = "0";
        if (rank == 2)
            snprintf(shape, sizeof shape, "%llu x %llu", (unsigned long long)dims[0],
                     (unsigned long long)dims[1]);
        TSF_FAIL(r->err, TSF_EFORMAT,
                 "%s: \"/%s\": the dataset has no rows (its shape is %s; expected at least one "
                 "row of values)",
                 r->path, r->key, shape);
    }
    *rank_out = rank;
    return TSF_OK;
}

/* The frame of a plain dataset: named columns, values decoded as CF says, rows numbered. */
static int plain_values(const rd *r, hid_t ds, int rank, size_t n_rows, size_t n_cols, int time_dim,
                        const char *base, tsf_frame **out)
{
    char **names = NULL;
    int rc = plain_names(r, ds, rank, (unsigned)(1 - time_dim), n_cols, &names);
    if (rc != TSF_OK)
        return rc;
    const char *one[1] = {base};
    tsf_frame *f = NULL;
    rc = tsf_frame_alloc(&f, n_cols,
                         names       ? (const char *const *)names
                         : rank == 1 ? one
                                     : NULL,
                         n_rows, r->err);
    free_strs(names, n_cols);
    if (rc != TSF_OK)
        return rc;
    f->n_rows = n_rows;
    f->series_start[1] = n_rows;
    int x = read_numeric(ds, rank, n_rows, n_cols, time_dim == 0, f->cols);
    if (x != 0) {
        tsf_frame_free(f);
        return x == -2 ? fail_nomem(r) : fail_h5(r, TSF_EIO, "cannot read its values");
    }
    cf_codec cf;
    cf_read(r, ds, &cf);
    for (size_t j = 0; cf.any && j < n_cols; j++)
        r->info->n_masked += cf_apply(&cf, f->cols[j], n_rows);
    f->time_kind = TSF_TIME_INDEX;
    for (size_t i = 0; i < n_rows; i++)
        f->time[i] = (int64_t)i;
    *out = f;
    return TSF_OK;
}

/* Where the time of a plain dataset is: opt->time_column naming one of its columns (*tcol) or
 * a dataset (tpath); else a dimension scale on the time dimension, else a dataset beside it
 * (tpath). Neither: tpath stays empty and the rows keep their numbers. */
static int plain_time_source(const rd *r, hid_t ds, tsf_frame *f, int time_dim, const siblings *sb,
                             char *tpath, size_t cap, size_t *tcol)
{
    const char *base = strrchr(r->key, '/') ? strrchr(r->key, '/') + 1 : r->key;
    size_t plen = (size_t)(base - r->key);
    const char *tc = r->opt->no_time ? NULL : r->opt->time_column;
    *tcol = tc ? tsf_frame_col_index(f, tc) : (size_t)-1;
    if (tc && *tcol != (size_t)-1)
        return column_as_time(r, f, *tcol);
    if (tc) {
        if (tc[0] == '/')
            snprintf(tpath, cap, "%s", tc);
        else
            snprintf(tpath, cap, "/%.*s%s", (int)plen, r->key, tc);
        if (H5Lexists(r->fid, tpath + 1, H5P_DEFAULT) <= 0 || !strcmp(tpath + 1, r->key)) {
            H5Eclear2(H5E_DEFAULT);
            TSF_FAIL(r->err, TSF_EINVAL,
                     "%s: \"/%s\": time column \"%s\" is neither one of its columns nor a dataset "
                     "beside it (expected a column name or one of: %s)",
                     r->path, r->key, tc, sb->list[0] ? sb->list : "(no 1-D datasets)");
        }
        return TSF_OK;
    }
    if (r->opt->no_time || scale_of(r->fid, ds, (unsigned)time_dim, tpath))
        return TSF_OK;
    if (sb->time[0])
        snprintf(tpath, cap, "/%.*s%s", (int)plen, r->key, sb->time);
    else if (sb->suspect[0] && sb->suspect_len == (long long)f->n_rows)
        TSF_FAIL(r->err, TSF_EINVAL,
                 "%s: \"/%s\": dataset \"%s\" beside it has one value per row and looks like time "
                 "(because %s), but tsflow looks for time only under the names time, times, "
                 "date, dates, datetime, timestamp, timestamps or index: pass --time-column %s "
                 "(ingest.hdf5 option time_column) to use it, or --no-time to number the rows",
                 r->path, r->key, sb->suspect, sb->why, sb->suspect);
    return TSF_OK;
}

/* Read the time dataset tpath (one value per row) into f's time, named after it. */
static int plain_read_time(const rd *r, tsf_frame *f, const char *tpath)
{
    int rc;
    hid_t t = H5Dopen2(r->fid, tpath, H5P_DEFAULT);
    long long tn = t < 0 ? -1 : len_1d(t);
    if (t < 0)
        rc = fail_h5(r, TSF_EIO, "cannot open its time dataset");
    else if (tn != (long long)f->n_rows)
        rc = tsf_err_set(r->err, TSF_EFORMAT,
                         "%s: \"/%s\": time dataset \"%s\" has %lld values but the data has %zu "
                         "rows; expected one time per row (1-D)",
                         r->path, r->key, tpath, tn, f->n_rows);
    else
        rc = read_time_ds(r, t, tpath, f->n_rows, f->time, &f->time_kind);
    tsf__h5_close(t);
    const char *tb = strrchr(tpath, '/') ? strrchr(tpath, '/') + 1 : tpath;
    if (rc == TSF_OK)
        rc = tsf_frame_set_time_name(f, tb, r->err);
    return rc;
}

static int read_plain(const rd *r, hid_t ds, tsf_frame **out)
{
    *out = NULL;
    hsize_t dims[8] = {0};
    int rank = 0;
    int rc = plain_check_shape(r, ds, dims, &rank);
    if (rc != TSF_OK)
        return rc;
    siblings sb;
    find_siblings(r, &sb);
    int time_dim = 0;
    if (rank == 2 && (rc = plain_time_dim(r, ds, dims, &sb, &time_dim)) != TSF_OK)
        return rc;
    r->info->time_dim = time_dim;
    size_t n_rows = (size_t)dims[time_dim], n_cols = rank == 2 ? (size_t)dims[1 - time_dim] : 1;
    const char *base = strrchr(r->key, '/') ? strrchr(r->key, '/') + 1 : r->key;
    tsf_frame *f = NULL;
    if ((rc = plain_values(r, ds, rank, n_rows, n_cols, time_dim, base, &f)) != TSF_OK)
        return rc;

    char tpath[TEXT_MAX * 2 + 16] = "";
    size_t tcol = (size_t)-1;
    rc = plain_time_source(r, ds, f, time_dim, &sb, tpath, sizeof tpath, &tcol);
    if (rc == TSF_OK && tpath[0])
        rc = plain_read_time(r, f, tpath);
    if (rc == TSF_OK) {
        char what[TEXT_MAX * 2 + 32];
        snprintf(what, sizeof what, tpath[0] ? "time dataset \"%s\"" : "%s",
                 tpath[0]             ? tpath
                 : tcol != (size_t)-1 ? "the time column"
                                      : "the row index");
        rc = check_time(r, f, what);
    }
    if (rc != TSF_OK) {
        tsf_frame_free(f);
        return rc;
    }
    *out = f;
    return TSF_OK;
}

/* ---- listing what a file holds, for "no such key" ------------------------------------------ */

typedef struct listing {
    char text[768];
    size_t len;
    size_t count;
    char prefix[TEXT_MAX * 2];
    int depth;
} listing;

static void list_add(listing *l, const char *fmt, const char *a, const char *b)
{
    l->count++;
    if (l->count > 12) {
        if (l->count == 13 && l->len + 8 < sizeof l->text)
            l->len += (size_t)snprintf(l->text + l->len, sizeof l->text - l->len, ", ...");
        return;
    }
    if (l->len + 4 >= sizeof l->text)
        return;
    if (l->len)
        l->len += (size_t)snprintf(l->text + l->len, sizeof l->text - l->len, ", ");
    int n = snprintf(l->text + l->len, sizeof l->text - l->len, fmt, a, b);
    if (n > 0)
        l->len += (size_t)n < sizeof l->text - l->len ? (size_t)n : sizeof l->text - l->len - 1;
}

static herr_t list_cb(hid_t g, const char *name, const H5L_info_t *info, void *data)
{
    (void)info;
    listing *l = data;
    hid_t o = H5Oopen(g, name, H5P_DEFAULT);
    if (o < 0) {
        H5Eclear2(H5E_DEFAULT);
        return 0;
    }
    char full[TEXT_MAX * 2];
    if ((size_t)snprintf(full, sizeof full, "%s/", l->prefix) + strlen(name) >= sizeof full) {
        tsf__h5_close(o);
        return 0; /* too deep or too long to show */
    }
    strcat(full, name);
    if (H5Iget_type(o) == H5I_DATASET) {
        hsize_t dims[8];
        int rank = shape_of(o, dims);
        char what[32];
        snprintf(what, sizeof what, "%d-D", rank);
        list_add(l, "%s (%s)", full, what);
    } else if (H5Iget_type(o) == H5I_GROUP) {
        char pt[TEXT_MAX];
        if (attr_text(o, "pandas_type", pt, sizeof pt)) {
            list_add(l, "%s (pandas %s)", full, pt);
        } else if (l->depth < 6) {
            char saved[TEXT_MAX * 2];
            memcpy(saved, l->prefix, sizeof saved);
            snprintf(l->prefix, sizeof l->prefix, "%s", full);
            l->depth++;
            H5Literate(o, H5_INDEX_NAME, H5_ITER_NATIVE, NULL, list_cb, l);
            l->depth--;
            memcpy(l->prefix, saved, sizeof saved);
        }
    }
    tsf__h5_close(o);
    H5Eclear2(H5E_DEFAULT);
    return 0;
}

static int fail_missing(const rd *r, const char *missing)
{
    listing l;
    memset(&l, 0, sizeof l);
    hid_t root = H5Gopen2(r->fid, "/", H5P_DEFAULT);
    if (root >= 0)
        H5Literate(root, H5_INDEX_NAME, H5_ITER_NATIVE, NULL, list_cb, &l);
    tsf__h5_close(root);
    H5Eclear2(H5E_DEFAULT);
    if (!l.count)
        TSF_FAIL(r->err, TSF_EINVAL, "%s: no dataset or group \"/%s\": the file is empty", r->path,
                 missing);
    TSF_FAIL(r->err, TSF_EINVAL,
             "%s: no dataset or group \"/%s\"; the file holds: %s (pass one of these as the key)",
             r->path, missing, l.text);
}

/* ---- tsf_hdf5_read ------------------------------------------------------------------------- */

/* Keep the columns opt->columns names, in that order. */
static int select_columns(const rd *r, tsf_frame *f)
{
    size_t n = r->opt->n_columns;
    if (!r->opt->columns || n == 0)
        return TSF_OK;
    char **names = malloc(n * sizeof *names);
    double **cols = malloc(n * sizeof *cols);
    if (!names || !cols) {
        free(names);
        free(cols);
        return fail_nomem(r);
    }
    for (size_t k = 0; k < n; k++) {
        const char *want = r->opt->columns[k];
        size_t j = tsf_frame_col_index(f, want);
        int twice = 0;
        for (size_t i = 0; i < k; i++)
            twice |= !strcmp(r->opt->columns[i], want);
        if (j == (size_t)-1 || twice) {
            char cl[512] = "";
            for (size_t i = 0, at = 0; i < f->n_cols && at + 8 < sizeof cl; i++)
                at += (size_t)snprintf(cl + at, sizeof cl - at, "%s%s", i ? ", " : "",
                                       f->col_names[i]);
            free(names);
            free(cols);
            if (twice)
                TSF_FAIL(r->err, TSF_EINVAL,
                         "%s: \"/%s\": column \"%s\" is listed twice in columns", r->path, r->key,
                         want);
            if (f->time_name && !strcmp(f->time_name, want))
                TSF_FAIL(r->err, TSF_EINVAL,
                         "%s: \"/%s\": \"%s\" is the time (expected value columns: %s)", r->path,
                         r->key, want, cl);
            TSF_FAIL(r->err, TSF_EINVAL, "%s: \"/%s\": no column \"%s\" (its columns: %s)", r->path,
                     r->key, want, cl);
        }
        names[k] = f->col_names[j];
        cols[k] = f->cols[j];
    }
    for (size_t j = 0; j < f->n_cols; j++) {
        size_t k = 0;
        while (k < n && f->cols[j] != cols[k])
            k++;
        if (k == n) {
            free(f->col_names[j]);
            free(f->cols[j]);
        }
    }
    free(f->col_names);
    free(f->cols);
    f->col_names = names;
    f->cols = cols;
    f->n_cols = n;
    return TSF_OK;
}

/* ---- netCDF variables over (series, time) ---------------------------------------------------- */

/* A 2-D netCDF variable as xarray writes temp(station, time) or temp(time, station): both
 * dimensions are netCDF dimensions (HDF5 dimension scales), one of them time. Read as xarray's
 * to_dataframe() reads it: a long frame with one series per value of the other dimension (its
 * coordinate, or 0, 1, ... without one) and one column named after the variable. The other
 * dimension is the columns instead when it is named column(s) or variable(s) (tsflow's own
 * "<key>_xr/values"), or when the dataset names its columns in an attribute. Plain HDF5 files
 * with dimension scales (h5py) are not netCDF: a string scale there names the columns. */
typedef struct nc_dims {
    int time_dim;              /* 0 or 1 */
    char time[TEXT_MAX];       /* the time coordinate's path */
    char series[TEXT_MAX];     /* the series coordinate's path ("" for a bare dimension) */
    char series_dim[TEXT_MAX]; /* the series dimension's name */
} nc_dims;

/* The dimension scale on dim: its path into name, and 1 for a coordinate variable, 0 for a
 * bare netCDF dimension; -1 when dim has no scale. */
static int nc_scale(const rd *r, hid_t ds, unsigned dim, char *name)
{
    if (scale_of(r->fid, ds, dim, name))
        return 1;
    return name[0] ? 0 : -1;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* Whether a coordinate is time: CF "since" units, or a name of TIME_NAMES. */
static int nc_is_time(const rd *r, const char *path)
{
    for (size_t k = 0; k < sizeof TIME_NAMES / sizeof TIME_NAMES[0]; k++)
        if (!strcasecmp(base_name(path), TIME_NAMES[k]))
            return 1;
    hid_t s = H5Dopen2(r->fid, path, H5P_DEFAULT);
    char units[TEXT_MAX];
    int t = s >= 0 && attr_text(s, "units", units, sizeof units) && strstr(units, " since ");
    tsf__h5_close(s);
    H5Eclear2(H5E_DEFAULT);
    return t;
}

/* Whether the file is netCDF-4 (netCDF-C and h5netcdf mark the root group, or their dimension
 * scales): plain HDF5 dimension scales (h5py) keep their meaning of column names. */
static int is_netcdf(const rd *r, const char *scale)
{
    hid_t s = H5Dopen2(r->fid, scale, H5P_DEFAULT);
    int nc = H5Aexists_by_name(r->fid, "/", "_NCProperties", H5P_DEFAULT) > 0 ||
             (s >= 0 && H5Aexists(s, "_Netcdf4Dimid") > 0);
    tsf__h5_close(s);
    H5Eclear2(H5E_DEFAULT);
    return nc;
}

/* Whether ds is laid out (series, time) or (time, series); fills d. */
static int nc_series_layout(const rd *r, hid_t ds, nc_dims *d)
{
    hsize_t dims[8];
    if (shape_of(ds, dims) != 2 || r->opt->no_time || r->opt->time_column)
        return 0;
    for (size_t k = 0; k < sizeof NAME_ATTRS / sizeof NAME_ATTRS[0]; k++)
        if (H5Aexists(ds, NAME_ATTRS[k]) > 0)
            return 0;
    H5Eclear2(H5E_DEFAULT);
    char name[2][TEXT_MAX];
    int kind[2] = {nc_scale(r, ds, 0, name[0]), nc_scale(r, ds, 1, name[1])};
    int is_t[2] = {kind[0] == 1 && nc_is_time(r, name[0]), kind[1] == 1 && nc_is_time(r, name[1])};
    if (kind[0] < 0 || kind[1] < 0 || is_t[0] == is_t[1] || !is_netcdf(r, name[is_t[1]]))
        return 0;
    int t = is_t[0] ? 0 : 1;
    if (r->opt->time_dim != TSF_HDF5_TIME_DIM_AUTO && (int)r->opt->time_dim != t)
        return 0;
    static const char *const column_dims[] = {"column", "columns", "variable", "variables"};
    for (size_t k = 0; k < sizeof column_dims / sizeof column_dims[0]; k++)
        if (!strcasecmp(base_name(name[1 - t]), column_dims[k]))
            return 0;
    d->time_dim = t;
    snprintf(d->time, sizeof d->time, "%s", name[t]);
    snprintf(d->series, sizeof d->series, "%s", kind[1 - t] == 1 ? name[1 - t] : "");
    snprintf(d->series_dim, sizeof d->series_dim, "%s", base_name(name[1 - t]));
    return 1;
}

/* The k series ids: the coordinate's strings or numbers, or 0, 1, ... for a bare dimension. */
static int nc_series_ids(const rd *r, const nc_dims *d, size_t k, char ***ids)
{
    *ids = calloc(k ? k : 1, sizeof **ids);
    if (!*ids)
        return fail_nomem(r);
    hid_t s = d->series[0] ? H5Dopen2(r->fid, d->series, H5P_DEFAULT) : -1;
    hid_t st = s < 0 ? -1 : H5Dget_type(s);
    int rc = TSF_OK;
    if (st >= 0 && H5Tget_class(st) == H5T_STRING && len_1d(s) == (long long)k) {
        free(*ids);
        int x = read_strs(s, 0, st, k, ids);
        rc = x == -2 ? fail_nomem(r)
             : x < 0 ? fail_h5(r, TSF_EIO, "cannot read its series ids")
                     : TSF_OK;
    } else {
        double *v = malloc((k ? k : 1) * sizeof *v);
        int numeric = st >= 0 && numeric_kind(st) == NUM_DOUBLE && len_1d(s) == (long long)k;
        if (!v)
            rc = fail_nomem(r);
        else if (numeric && read_numeric(s, 1, k, 1, 1, &v) != 0)
            rc = fail_h5(r, TSF_EIO, "cannot read its series coordinate");
        for (size_t i = 0; i < k && rc == TSF_OK; i++) {
            char buf[40];
            snprintf(buf, sizeof buf, "%.17g", numeric ? v[i] : (double)i);
            if (!((*ids)[i] = strdup(buf)))
                rc = fail_nomem(r);
        }
        free(v);
    }
    tsf__h5_close(st);
    tsf__h5_close(s);
    H5Eclear2(H5E_DEFAULT);
    return rc;
}

/* Series s's rows start at s * n_t; the time coordinate is read once and copied. */
static int nc_fill_times(const rd *r, const nc_dims *d, tsf_frame *f, size_t k, size_t n_t)
{
    hid_t t = H5Dopen2(r->fid, d->time, H5P_DEFAULT);
    if (t < 0)
        return fail_h5(r, TSF_EIO, "cannot open its time coordinate");
    int rc = len_1d(t) == (long long)n_t
                 ? read_time_ds(r, t, d->time, n_t, f->time, &f->time_kind)
                 : tsf_err_set(r->err, TSF_EFORMAT,
                               "%s: \"/%s\": time coordinate \"%s\" has %lld values but the "
                               "time dimension %zu (expected one time per step)",
                               r->path, r->key, d->time, len_1d(t), n_t);
    tsf__h5_close(t);
    for (size_t s = 1; rc == TSF_OK && s < k; s++)
        memcpy(f->time + s * n_t, f->time, n_t * sizeof *f->time);
    if (rc == TSF_OK)
        rc = tsf_frame_set_time_name(f, base_name(d->time), r->err);
    return rc;
}

static int read_nc_series(const rd *r, hid_t ds, const nc_dims *d, tsf_frame **out)
{
    hsize_t dims[8];
    shape_of(ds, dims);
    size_t n_t = (size_t)dims[d->time_dim], k = (size_t)dims[1 - d->time_dim];
    int rc = check_extent(r, ds, "the variable");
    if (rc != TSF_OK)
        return rc;
    if (n_t == 0 || k == 0)
        TSF_FAIL(r->err, TSF_EFORMAT,
                 "%s: \"/%s\": the variable has no values (%zu times of %zu series; expected at "
                 "least one)",
                 r->path, r->key, n_t, k);
    const char *var = base_name(r->key);
    tsf_frame *f = NULL;
    char **ids = NULL;
    double **dst = malloc(k * sizeof *dst);
    size_t *starts = malloc((k + 1) * sizeof *starts);
    if (!dst || !starts) {
        rc = fail_nomem(r);
        goto cleanup;
    }
    if ((rc = tsf_frame_alloc(&f, 1, &var, n_t * k, r->err)) != TSF_OK)
        goto cleanup;
    f->n_rows = n_t * k;
    for (size_t s = 0; s <= k; s++)
        starts[s] = s * n_t;
    for (size_t s = 0; s < k; s++)
        dst[s] = f->cols[0] + s * n_t;
    int x = read_numeric(ds, 2, n_t, k, d->time_dim == 0, dst);
    if (x != 0) {
        rc = x == -2 ? fail_nomem(r) : fail_h5(r, TSF_EIO, "cannot read its values");
        goto cleanup;
    }
    cf_codec cf;
    cf_read(r, ds, &cf);
    if (cf.any)
        r->info->n_masked += cf_apply(&cf, f->cols[0], f->n_rows);
    if ((rc = nc_series_ids(r, d, k, &ids)) != TSF_OK ||
        (rc = tsf_frame_set_series(f, k, (const char *const *)ids, starts, r->err)) != TSF_OK ||
        (rc = nc_fill_times(r, d, f, k, n_t)) != TSF_OK)
        goto cleanup;
    if (!(f->id_name = tsf__strdup(d->series_dim, r->err))) {
        rc = TSF_ENOMEM;
        goto cleanup;
    }
    const char *tn = base_name(d->time), *sn = d->series_dim;
    note(r, "netCDF variable \"%s\" over (%s, %s): one series per %s (%zu)", var,
         d->time_dim ? sn : tn, d->time_dim ? tn : sn, sn, k);
    char what[TEXT_MAX + 32];
    snprintf(what, sizeof what, "time coordinate \"%s\"", d->time);
    rc = check_time(r, f, what);
cleanup:
    if (rc == TSF_OK) {
        *out = f;
    } else {
        tsf_frame_free(f);
    }
    free_strs(ids, k);
    free(dst);
    free(starts);
    return rc;
}

/* A table (a compound dataset: R's data.frames): lib/io/hdf5_table.c decides which field is
 * the time, the series id and the values; the times are checked here as for any dataset. */
static int read_table(const rd *r, hid_t ds, tsf_frame **out)
{
    hsize_t dims[8] = {0};
    int rank = shape_of(ds, dims);
    if (rank != 1)
        TSF_FAIL(r->err, TSF_EFORMAT,
                 "%s: \"/%s\" is a %d-D array of records; expected a 1-D table (one record per "
                 "row, as R and numpy write them)",
                 r->path, r->key, rank);
    int rc = check_extent(r, ds, "the table");
    if (rc != TSF_OK)
        return rc;
    if (dims[0] == 0)
        TSF_FAIL(r->err, TSF_EFORMAT,
                 "%s: \"/%s\": the table has no rows (expected at least one record)", r->path,
                 r->key);
    rc = tsf__hdf5_table_frame(ds, (size_t)dims[0], r->path, r->key, r->opt, r->info, out, r->err);
    if (rc != TSF_OK)
        return rc;
    char what[TEXT_MAX + 32] = "the record order";
    if ((*out)->time_name)
        snprintf(what, sizeof what, "time field \"%s\"", (*out)->time_name);
    if ((rc = check_time(r, *out, what)) != TSF_OK) {
        tsf_frame_free(*out);
        *out = NULL;
    }
    return rc;
}

static int read_object(const rd *r, tsf_frame **out)
{
    /* Walk the key one component at a time: H5Oopen on a path with a missing group would only
     * say "component not found". */
    char part[TEXT_MAX * 2];
    if (strlen(r->key) >= sizeof part)
        TSF_FAIL(r->err, TSF_EINVAL, "%s: key \"%s\" is too long", r->path, r->key);
    for (const char *c = r->key;;) {
        const char *e = strchr(c, '/');
        size_t n = e ? (size_t)(e - r->key) : strlen(r->key);
        memcpy(part, r->key, n);
        part[n] = '\0';
        if (H5Lexists(r->fid, part, H5P_DEFAULT) <= 0) {
            H5Eclear2(H5E_DEFAULT);
            return fail_missing(r, r->key);
        }
        if (!e)
            break;
        c = e + 1;
    }
    hid_t o = H5Oopen(r->fid, r->key, H5P_DEFAULT);
    if (o < 0)
        return fail_h5(r, TSF_EIO, "cannot open it");
    int rc;
    if (H5Iget_type(o) == H5I_DATASET) {
        hid_t t = H5Dget_type(o);
        int table = t >= 0 && H5Tget_class(t) == H5T_COMPOUND;
        tsf__h5_close(t);
        nc_dims nc;
        rc = table                         ? read_table(r, o, out)
             : nc_series_layout(r, o, &nc) ? read_nc_series(r, o, &nc, out)
                                           : read_plain(r, o, out);
    } else if (H5Iget_type(o) == H5I_GROUP) {
        char pt[TEXT_MAX], tt[TEXT_MAX];
        int is_pd = attr_text(o, "pandas_type", pt, sizeof pt);
        int has_table = attr_text(o, "table_type", tt, sizeof tt);
        size_t pl = strlen(pt);
        if (is_pd && !strcmp(pt, "frame")) {
            rc = read_pd_frame(r, o, 0, out);
        } else if (is_pd && !strcmp(pt, "series")) {
            rc = read_pd_frame(r, o, 1, out);
        } else if (is_pd && has_table && !strncmp(tt, "appendable_", 11) &&
                   (!strcmp(tt + 11, "frame") || !strcmp(tt + 11, "series") ||
                    !strcmp(tt + 11, "multiframe") || !strcmp(tt + 11, "multiseries"))) {
            rc = read_pd_table(r, o, out);
        } else if (is_pd && (has_table || (pl > 6 && !strcmp(pt + pl - 6, "_table")))) {
            rc = tsf_err_set(r->err, TSF_ETYPE,
                             "%s: \"/%s\" is a pandas table of type \"%s\"; tsflow reads the "
                             "tables of DataFrames and Series (appendable_frame, "
                             "appendable_multiframe, appendable_series)",
                             r->path, r->key, tt);
        } else if (is_pd) {
            rc = tsf_err_set(r->err, TSF_ETYPE,
                             "%s: \"/%s\" is a pandas object of type \"%s\"; tsflow reads "
                             "DataFrames and Series saved with to_hdf(format='fixed')",
                             r->path, r->key, pt);
        } else {
            rc = tsf_err_set(r->err, TSF_EINVAL,
                             "%s: \"/%s\" is a group, not a dataset or a pandas frame; give the "
                             "key of a dataset inside it (e.g. \"%s/values\")",
                             r->path, r->key, r->key);
        }
    } else {
        rc = tsf_err_set(r->err, TSF_EINVAL, "%s: \"/%s\" is neither a dataset nor a group",
                         r->path, r->key);
    }
    tsf__h5_close(o);
    if (rc == TSF_OK && (rc = select_columns(r, *out)) != TSF_OK) {
        tsf_frame_free(*out);
        *out = NULL;
    }
    return rc;
}

void tsf_hdf5_options_init(tsf_hdf5_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->gaps = TSF_GAP_ERROR;
    opt->time_dim = TSF_HDF5_TIME_DIM_AUTO;
}

int tsf_hdf5_read(tsf_frame **out, const char *path, const char *key, tsf_err *err)
{
    return tsf_hdf5_read_opt(out, path, key, NULL, NULL, err);
}

int tsf_hdf5_read_opt(tsf_frame **out, const char *path, const char *key,
                      const tsf_hdf5_options *opt, tsf_hdf5_info *info, tsf_err *err)
{
    *out = NULL;
    tsf_hdf5_options dflt;
    tsf_hdf5_info scratch;
    if (!opt) {
        tsf_hdf5_options_init(&dflt);
        opt = &dflt;
    }
    if (!info)
        info = &scratch;
    memset(info, 0, sizeof *info);
    if (!key)
        key = "data";
    while (*key == '/')
        key++;
    if (!*key)
        TSF_FAIL(err, TSF_EINVAL, "%s: the key is empty (expected a dataset or pandas key)", path);
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
        TSF_FAIL(err, TSF_EIO,
                 "%s: not a regular file (expected an HDF5 file: HDF5 reads with random access, "
                 "which a pipe or device cannot give; save the data to a file first)",
                 path);
    FILE *fp = fopen(path, "rb");
    if (!fp)
        TSF_FAIL(err, TSF_EIO, "%s: cannot open: %s", path, strerror(errno));
    fclose(fp);
    if (!tsf_is_hdf5(path))
        TSF_FAIL(err, TSF_EFORMAT,
                 "%s: not an HDF5 file (no HDF5 signature); expected a file written by pandas "
                 "to_hdf, h5py or tsflow (CSV files are read as CSV)",
                 path);
    int rc = tsf_init();
    if (rc != TSF_OK)
        TSF_FAIL(err, rc, "%s: the HDF5 library could not be initialised", path);
    const char *parsing = tsf_hdf5_parsing_set(path);
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    hid_t fid = -1;
    if (fapl >= 0 && H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) >= 0)
        fid = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    if (fid < 0) {
        /* report before any other HDF5 call replaces the error stack */
        rc = tsf__h5_fail(err, TSF_EFORMAT,
                          "%s: cannot open as HDF5: the file is truncated or damaged", path);
        tsf__h5_close(fapl);
        tsf_hdf5_parsing_set(parsing);
        return rc;
    }
    tsf__h5_close(fapl);
    rd r = {path, key, fid, opt, info, err};
    attr_nomem = 0;
    rc = read_object(&r, out);
    if (attr_nomem) {
        tsf_frame_free(*out);
        *out = NULL;
        rc = tsf_err_set(err, TSF_ENOMEM, "%s: \"/%s\": out of memory reading its attributes", path,
                         key);
    }
    H5Fclose(fid);
    H5Eclear2(H5E_DEFAULT);
    tsf_hdf5_parsing_set(parsing);
    return rc;
}

/* ---- tables (compound datasets) to CSV ------------------------------------------------------- */

/* The compound dataset for key: key itself, or key_flat beside a pandas group (the flat table
 * tsflow writes next to its forecasts). Fills name; 1 when found. */
static int table_name(hid_t fid, const char *key, char *name, size_t cap)
{
    for (int flat = 0; flat < 2; flat++) {
        snprintf(name, cap, "/%s%s", key, flat ? "_flat" : "");
        int found = 0;
        if (H5Lexists(fid, name, H5P_DEFAULT) > 0) {
            hid_t o = H5Oopen(fid, name, H5P_DEFAULT);
            if (o >= 0 && H5Iget_type(o) == H5I_DATASET) {
                hid_t t = H5Dget_type(o);
                found = t >= 0 && H5Tget_class(t) == H5T_COMPOUND;
                tsf__h5_close(t);
            }
            tsf__h5_close(o);
        }
        H5Eclear2(H5E_DEFAULT);
        if (found)
            return 1;
    }
    return 0;
}

static hid_t open_ro(const char *path)
{
    if (tsf_init() != TSF_OK || !tsf_is_hdf5(path))
        return -1;
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    hid_t fid = -1;
    if (fapl >= 0 && H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) >= 0)
        fid = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    tsf__h5_close(fapl);
    H5Eclear2(H5E_DEFAULT);
    return fid;
}

int tsf_hdf5_is_table(const char *path, const char *key)
{
    if (!key)
        key = "data";
    while (*key == '/')
        key++;
    const char *parsing = tsf_hdf5_parsing_set(path);
    hid_t fid = open_ro(path);
    char name[TEXT_MAX * 2];
    int found = fid >= 0 && table_name(fid, key, name, sizeof name);
    if (fid >= 0)
        H5Fclose(fid);
    H5Eclear2(H5E_DEFAULT);
    tsf_hdf5_parsing_set(parsing);
    return found;
}

static void csv_field(FILE *fp, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, fp);
        return;
    }
    fputc('"', fp);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', fp);
        fputc(*s, fp);
    }
    fputc('"', fp);
}

int tsf_hdf5_table_write_csv(const char *path, const char *key, const char *out, tsf_err *err)
{
    if (!key)
        key = "data";
    while (*key == '/')
        key++;
    const char *parsing = tsf_hdf5_parsing_set(path);
    hid_t fid = open_ro(path);
    char name[TEXT_MAX * 2];
    if (fid < 0 || !table_name(fid, key, name, sizeof name)) {
        if (fid >= 0)
            H5Fclose(fid);
        tsf_hdf5_parsing_set(parsing);
        TSF_FAIL(err, TSF_EINVAL, "%s: \"/%s\" is not a table (a compound dataset)", path, key);
    }
    hid_t ds = H5Dopen2(fid, name, H5P_DEFAULT);
    hid_t ft = ds < 0 ? -1 : H5Dget_type(ds);
    hsize_t dims[8] = {0};
    int rank = ds < 0 ? -1 : shape_of(ds, dims);
    int nm = ft < 0 ? -1 : H5Tget_nmembers(ft);
    rd r = {path, name + 1, fid, NULL, NULL, err};
    int rc = rank == 1 && nm > 0 ? check_extent(&r, ds, "the table") : TSF_EFORMAT;
    size_t n = (size_t)dims[0], k = nm > 0 ? (size_t)nm : 0;
    tsf__h5_field *c = rc == TSF_OK ? calloc(k, sizeof *c) : NULL;
    if (rc == TSF_OK && !c)
        rc = tsf_err_set(err, TSF_ENOMEM, "%s: out of memory", path);
    else if (rank != 1 || nm <= 0)
        rc = tsf_err_set(err, TSF_EFORMAT, "%s: \"%s\" is not a 1-D table of named fields", path,
                         name);
    for (size_t j = 0; j < k && rc == TSF_OK && c; j++) {
        int x = tsf__h5_field_read(ds, ft, (unsigned)j, n, &c[j]);
        if (x == -3)
            rc = tsf_err_set(err, TSF_ETYPE,
                             "%s: \"%s\": field \"%s\" is neither text, a number nor a factor",
                             path, name, c[j].name ? c[j].name : "?");
        else if (x != 0)
            rc = x == -2 ? tsf_err_set(err, TSF_ENOMEM, "%s: out of memory", path)
                         : tsf__h5_fail(err, TSF_EIO, "%s: \"%s\": cannot read field \"%s\"", path,
                                        name, c[j].name ? c[j].name : "?");
    }
    tsf__h5_close(ft);
    tsf__h5_close(ds);
    H5Fclose(fid);
    H5Eclear2(H5E_DEFAULT);
    tsf_hdf5_parsing_set(parsing);
    tsf_atomic a;
    FILE *fp = NULL;
    if (rc == TSF_OK && (rc = tsf_atomic_begin(&a, out, err)) == TSF_OK &&
        !(fp = tsf_atomic_stream(&a))) {
        tsf_atomic_abort(&a);
        rc = tsf_err_set(err, TSF_EIO, "%s: cannot open a stream on the temporary file", out);
    }
    if (rc == TSF_OK) {
        for (size_t j = 0; j < k; j++) {
            fputs(j ? "," : "", fp);
            csv_field(fp, c[j].name);
        }
        fputc('\n', fp);
        char num[40];
        for (size_t i = 0; i < n; i++) {
            for (size_t j = 0; j < k; j++) {
                fputs(j ? "," : "", fp);
                if (c[j].s) {
                    csv_field(fp, c[j].s[i]);
                } else if (c[j].i) {
                    fprintf(fp, "%" PRId64, c[j].i[i]);
                } else {
                    tsf_format_double(num, sizeof num, c[j].x[i]);
                    fputs(num, fp);
                }
            }
            fputc('\n', fp);
        }
        if (ferror(fp)) {
            tsf_atomic_abort(&a);
            rc = tsf_err_set(err, TSF_EIO, "%s: write error", out);
        } else {
            rc = tsf_atomic_commit(&a, err);
        }
    }
    for (size_t j = 0; c && j < k; j++)
        tsf__h5_field_clear(&c[j], n);
    free(c);
    return rc;
}
