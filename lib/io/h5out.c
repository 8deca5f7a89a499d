/* The HDF5 writer behind tsflow/h5out.h: pandas fixed-format frames, arrays with dimension
 * scales, attributes, all in one atomically written file.
 *
 * The pandas layout follows pandas 1.5's pandas/io/pytables.py (GenericFixed.write_index,
 * write_multi_index, write_array; BlockManagerFixed.write) and PyTables 3.7's bookkeeping
 * attributes, checked by round trips in tests/lib/io/test_hdf5.c. Two facts that matter:
 *  - every string attribute pandas reads is a fixed-length UTF-8 string: PyTables returns
 *    those as str, while ASCII strings ending in '.' would be taken for pickles;
 *  - a datetime block is int64 nanoseconds with value_type="datetime64" exactly (pandas
 *    compares the text; "datetime64[ns]" would leave the column as int64).
 * The array layout is what netCDF-4 writes, so h5netcdf (and xarray on it) sees named
 * dimensions: each dimension is a dimension scale (H5DSset_scale) holding the coordinate
 * values, attached to every array that uses it (H5DSattach_scale).
 */
#include <errno.h>
#include <hdf5.h>
#include <hdf5_hl.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tsflow/atomic.h"
#include "tsflow/frame.h"
#include "tsflow/h5out.h"
#include "tsflow/tz.h"
#include "core.h"

struct tsf_h5out {
    tsf_atomic a;
    hid_t fid;
    size_t close_failures; /* tsf__h5_close_failures() when opened */
};

#define NS_PER_US INT64_C(1000)
/* pandas' datetime64[ns] range in microseconds: |t| * 1000 must fit in int64 and not be NaT. */
#define MAX_PD_US (INT64_MAX / NS_PER_US)
#define SLAB_BYTES ((size_t)4 << 20)  /* buffer for writing rows in slabs */
#define CHUNK_BYTES ((size_t)1 << 20) /* target chunk size of compressed arrays */
#define NETCDF_DIM_NAME "This is a netCDF dimension but not a netCDF variable."

const char *tsf_h5out_path(const tsf_h5out *o)
{
    return o->a.path;
}

/* ---- small HDF5 helpers -------------------------------------------------------------------- */

/* Fixed-length UTF-8 string type of len bytes (at least 1), NUL-terminated unless full. */
static hid_t fixed_str_type(size_t len)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0)
        return t;
    if (H5Tset_size(t, len ? len : 1) < 0 || H5Tset_strpad(t, H5T_STR_NULLTERM) < 0 ||
        H5Tset_cset(t, H5T_CSET_UTF8) < 0) {
        H5Tclose(t);
        return -1;
    }
    return t;
}

static hid_t vlen_str_type(void)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0)
        return t;
    if (H5Tset_size(t, H5T_VARIABLE) < 0 || H5Tset_cset(t, H5T_CSET_UTF8) < 0) {
        H5Tclose(t);
        return -1;
    }
    return t;
}

static hid_t group_create(hid_t loc, const char *name)
{
    hid_t gcpl = tsf__h5_untimed(H5P_GROUP_CREATE);
    hid_t g = gcpl < 0 ? -1 : H5Gcreate2(loc, name, H5P_DEFAULT, gcpl, H5P_DEFAULT);
    tsf__h5_close(gcpl);
    return g;
}

/* A dataset with dcpl (H5P_DEFAULT: contiguous), made untimed. */
static hid_t dataset_create(hid_t loc, const char *name, hid_t ftype, hid_t space, hid_t dcpl)
{
    hid_t pl = dcpl == H5P_DEFAULT ? H5Pcreate(H5P_DATASET_CREATE) : H5Pcopy(dcpl);
    hid_t ds = -1;
    if (pl >= 0 && H5Pset_obj_track_times(pl, 0) >= 0)
        ds = H5Dcreate2(loc, name, ftype, space, H5P_DEFAULT, pl, H5P_DEFAULT);
    tsf__h5_close(pl);
    return ds;
}

static int drop_attr(hid_t obj, const char *name)
{
    htri_t e = H5Aexists(obj, name);
    if (e < 0)
        return -1;
    return e > 0 ? (H5Adelete(obj, name) < 0 ? -1 : 0) : 0;
}

/* Create attribute name on obj with file type ftype and space, write buf of mtype. */
static int put_attr(hid_t obj, const char *name, hid_t ftype, hid_t space, hid_t mtype,
                    const void *buf)
{
    if (ftype < 0 || space < 0 || drop_attr(obj, name) < 0)
        return -1;
    hid_t a = H5Acreate2(obj, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT);
    int rc = a < 0 || (buf && H5Awrite(a, mtype, buf) < 0) ? -1 : 0;
    tsf__h5_close(a);
    return rc;
}

/* A PyTables-style string attribute: fixed-length UTF-8; "" as a null dataspace (as PyTables
 * writes an empty TITLE). */
static int attr_fixed(hid_t obj, const char *name, const char *value)
{
    size_t n = strlen(value);
    hid_t t = fixed_str_type(n);
    hid_t s = H5Screate(n ? H5S_SCALAR : H5S_NULL);
    int rc = put_attr(obj, name, t, s, t, n ? value : NULL);
    tsf__h5_close(t);
    tsf__h5_close(s);
    return rc;
}

static int attr_i64(hid_t obj, const char *name, int64_t v)
{
    hid_t s = H5Screate(H5S_SCALAR);
    int rc = put_attr(obj, name, H5T_STD_I64LE, s, H5T_NATIVE_INT64, &v);
    tsf__h5_close(s);
    return rc;
}

/* numpy bool, as PyTables stores it (an 8-bit bitfield). */
static int attr_bool(hid_t obj, const char *name, int v)
{
    uint8_t b = v ? 1 : 0;
    hid_t s = H5Screate(H5S_SCALAR);
    int rc = put_attr(obj, name, H5T_STD_B8LE, s, H5T_NATIVE_B8, &b);
    tsf__h5_close(s);
    return rc;
}

static int attr_vlen(hid_t obj, const char *name, const char *value)
{
    hid_t t = vlen_str_type();
    hid_t s = H5Screate(H5S_SCALAR);
    const char *v = value ? value : "";
    int rc = put_attr(obj, name, t, s, t, &v);
    tsf__h5_close(t);
    tsf__h5_close(s);
    return rc;
}

/* ---- paths and groups ---------------------------------------------------------------------- */

/* Check a relative object path: components separated by single '/', none empty, "." or "..".
 * Returns the path without leading slashes, or NULL. */
static const char *clean_path(const char *p)
{
    if (!p)
        return NULL;
    while (*p == '/')
        p++;
    if (!*p)
        return NULL;
    const char *c = p;
    while (*c) {
        const char *e = strchr(c, '/');
        size_t n = e ? (size_t)(e - c) : strlen(c);
        if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
            return NULL;
        if (!e)
            break;
        c = e + 1;
        if (!*c)
            return NULL;
    }
    return p;
}

static int pytables_group_attrs(hid_t g)
{
    return attr_fixed(g, "CLASS", "GROUP") < 0 || attr_fixed(g, "TITLE", "") < 0 ||
                   attr_fixed(g, "VERSION", "1.0") < 0
               ? -1
               : 0;
}

/* Open (creating as needed) the groups above the last component of path; *leaf points to that
 * component inside path. pytables: give created groups PyTables' bookkeeping attributes. */
static hid_t open_parent(tsf_h5out *o, const char *path, int pytables, const char **leaf,
                         tsf_err *err)
{
    hid_t g = H5Gopen2(o->fid, "/", H5P_DEFAULT);
    if (g < 0) {
        tsf__h5_fail(err, TSF_EIO, "%s: cannot open the root group", o->a.path);
        return -1;
    }
    const char *c = path;
    for (const char *e; (e = strchr(c, '/')); c = e + 1) {
        char name[1024];
        size_t n = (size_t)(e - c);
        if (n >= sizeof name) {
            tsf__h5_close(g);
            tsf_err_set(err, TSF_EINVAL, "%s: group name in \"%s\" is too long", o->a.path, path);
            return -1;
        }
        memcpy(name, c, n);
        name[n] = '\0';
        htri_t exists = H5Lexists(g, name, H5P_DEFAULT);
        hid_t next = -1;
        if (exists > 0) {
            next = H5Oopen(g, name, H5P_DEFAULT);
            if (next >= 0 && H5Iget_type(next) != H5I_GROUP) {
                tsf__h5_close(next);
                tsf__h5_close(g);
                tsf_err_set(err, TSF_EINVAL, "%s: cannot write \"/%s\": \"/%.*s\" is a dataset",
                            o->a.path, path, (int)(e - path), path);
                return -1;
            }
        } else if (exists == 0) {
            next = group_create(g, name);
            if (next >= 0 && pytables && pytables_group_attrs(next) < 0) {
                tsf__h5_close(next);
                next = -1;
            }
        }
        tsf__h5_close(g);
        if (next < 0) {
            tsf__h5_fail(err, TSF_EIO, "%s: cannot create group \"/%.*s\"", o->a.path,
                         (int)(e - path), path);
            return -1;
        }
        g = next;
    }
    *leaf = c;
    htri_t exists = H5Lexists(g, c, H5P_DEFAULT);
    if (exists != 0) {
        tsf__h5_close(g);
        if (exists < 0)
            tsf__h5_fail(err, TSF_EIO, "%s: cannot look up \"/%s\"", o->a.path, path);
        else
            tsf_err_set(err, TSF_EINVAL, "%s: \"/%s\" is already written in this file", o->a.path,
                        path);
        return -1;
    }
    return g;
}

/* ---- open, commit, abort ------------------------------------------------------------------- */

int tsf_h5out_open(tsf_h5out **out, const char *path, tsf_err *err)
{
    return tsf_h5out_open_kind(out, path, TSF_H5OUT_EXPORT, err);
}

int tsf_h5out_open_kind(tsf_h5out **out, const char *path, tsf_h5out_kind kind, tsf_err *err)
{
    *out = NULL;
    int rc = tsf_init();
    if (rc != TSF_OK)
        TSF_FAIL(err, rc, "%s: the HDF5 library could not be initialised", path);
    tsf_h5out *o = calloc(1, sizeof *o);
    if (!o)
        TSF_FAIL(err, TSF_ENOMEM, "out of memory opening \"%s\"", path);
    o->fid = -1;
    o->close_failures = tsf__h5_close_failures();
    rc = tsf_atomic_begin(&o->a, path, err);
    if (rc != TSF_OK) {
        free(o);
        return rc;
    }
    /* Objects in the 1.8 format, so every HDF5 >= 1.8 reader (PyTables, h5py, R) opens the
     * file, and attributes larger than 64 KiB (a long pipeline text) can be stored densely.
     * A strong close degree makes commit's H5Fclose release everything. */
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS), fcpl = tsf__h5_untimed(H5P_FILE_CREATE);
    int export = kind == TSF_H5OUT_EXPORT;
    if (fapl >= 0 && fcpl >= 0 &&
        (!export || H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_V18) >= 0) &&
        H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) >= 0)
        o->fid = H5Fcreate(o->a.tmp_path, H5F_ACC_TRUNC, fcpl, fapl);
    tsf__h5_close(fcpl);
    tsf__h5_close(fapl);
    if (o->fid < 0) {
        rc = tsf__h5_fail(err, TSF_EIO, "%s: cannot create an HDF5 file", path);
        tsf_h5out_abort(o);
        return rc;
    }
    hid_t root = H5Gopen2(o->fid, "/", H5P_DEFAULT);
    int bad = root < 0 || (export && (pytables_group_attrs(root) < 0 ||
                                      attr_fixed(root, "PYTABLES_FORMAT_VERSION", "2.1") < 0));
    tsf__h5_close(root);
    if (bad) {
        rc = tsf__h5_fail(err, TSF_EIO, "%s: cannot write the root attributes", path);
        tsf_h5out_abort(o);
        return rc;
    }
    *out = o;
    return TSF_OK;
}

void tsf_h5out_commit_when_cancelled(tsf_h5out *o)
{
    o->a.even_when_cancelled = 1;
}

int tsf_h5out_commit(tsf_h5out *o, tsf_err *err)
{
    if (!o)
        TSF_FAIL(err, TSF_EINVAL, "internal error: commit of an HDF5 output that was not opened");
    /* libhdf5 1.10's H5Fclose can return success when writing the metadata it flushes failed
     * (a full disk); H5Fflush reports it. */
    herr_t flushed = H5Fflush(o->fid, H5F_SCOPE_LOCAL);
    /* H5Fclose clears the error stack: keep the flush's, which says why (a full disk). */
    hid_t flush_stack = flushed < 0 ? H5Eget_current_stack() : -1;
    herr_t closed = H5Fclose(o->fid);
    if (flush_stack >= 0)
        H5Eset_current_stack(flush_stack);
    /* An object's close that failed before (tsf__h5_close) left its reason aside: the calls
     * since have cleared HDF5's error stack. */
    int object_failed = tsf__h5_close_failures() != o->close_failures;
    const char *why = flushed >= 0 && object_failed ? tsf__h5_close_reason() : "";
    if (flushed < 0 || object_failed)
        closed = -1;
    o->fid = -1;
    int rc = TSF_OK;
    if (*why) {
        H5Eclear2(H5E_DEFAULT);
        rc = tsf_err_set(err, TSF_EIO,
                         "%s: writing the HDF5 file failed on close (the previous file, if any, "
                         "is unchanged) (HDF5: %s)",
                         o->a.path, why);
        tsf_atomic_abort(&o->a);
    } else if (closed < 0) {
        rc = tsf__h5_fail(err, TSF_EIO,
                          "%s: writing the HDF5 file failed on close (the previous file, if "
                          "any, is unchanged)",
                          o->a.path);
        tsf_atomic_abort(&o->a);
    } else {
        rc = tsf_atomic_commit(&o->a, err);
    }
    free(o);
    return rc;
}

void tsf_h5out_abort(tsf_h5out *o)
{
    if (!o)
        return;
    if (o->fid >= 0)
        H5Fclose(o->fid);
    H5Eclear2(H5E_DEFAULT);
    tsf_atomic_abort(&o->a);
    free(o);
}

/* ---- writing arrays in slabs --------------------------------------------------------------- */

/* Arrays of at least this many bytes are compressed; smaller ones stay contiguous, where a
 * chunk index would cost more than compression saves. */
#define PD_COMPRESS_MIN_BYTES ((size_t)4096)
#define PD_CHUNK_BYTES ((size_t)256 << 10)

/* Create a PyTables array dataset name in g: ftype, rank 1 or 2 (d0 rows of d1 values). Large
 * arrays are what pandas' to_hdf(complevel=4, complib="zlib") writes, a chunked "CARRAY" with
 * shuffle and deflate 4; small ones a contiguous "ARRAY". pandas reads both the same way. */
static hid_t pd_array(hid_t g, const char *name, hid_t ftype, int rank, hsize_t d0, hsize_t d1)
{
    hsize_t dims[2] = {d0, d1};
    size_t row_bytes = H5Tget_size(ftype) * (rank == 2 ? (size_t)d1 : 1);
    int compress = row_bytes > 0 && (size_t)d0 * row_bytes >= PD_COMPRESS_MIN_BYTES;
    hid_t s = H5Screate_simple(rank, dims, NULL);
    if (s < 0)
        return -1;
    hid_t dcpl = H5P_DEFAULT;
    if (compress) {
        hsize_t chunk[2] = {PD_CHUNK_BYTES / row_bytes, d1};
        if (chunk[0] < 1)
            chunk[0] = 1;
        if (chunk[0] > d0)
            chunk[0] = d0;
        dcpl = H5Pcreate(H5P_DATASET_CREATE);
        if (dcpl < 0 || H5Pset_chunk(dcpl, rank, chunk) < 0 || H5Pset_shuffle(dcpl) < 0 ||
            H5Pset_deflate(dcpl, 4) < 0) {
            tsf__h5_close(dcpl);
            H5Sclose(s);
            return -1;
        }
    }
    hid_t ds = dataset_create(g, name, ftype, s, dcpl);
    if (compress)
        tsf__h5_close(dcpl);
    H5Sclose(s);
    if (ds < 0)
        return -1;
    int bad = compress
                  ? attr_fixed(ds, "CLASS", "CARRAY") < 0 || attr_fixed(ds, "VERSION", "1.1") < 0 ||
                        attr_fixed(ds, "TITLE", "") < 0
                  : attr_fixed(ds, "CLASS", "ARRAY") < 0 || attr_fixed(ds, "VERSION", "2.4") < 0 ||
                        attr_fixed(ds, "TITLE", "") < 0 || attr_fixed(ds, "FLAVOR", "numpy") < 0;
    if (bad || attr_bool(ds, "transposed", 1) < 0) {
        tsf__h5_close(ds);
        return -1;
    }
    return ds;
}

/* Write rows [r0, r0 + n) of a dataset whose rows hold `inner` elements, from buf. */
static int write_rows(hid_t ds, hid_t mtype, size_t r0, size_t n, size_t inner, const void *buf)
{
    if (n == 0)
        return 0;
    hid_t fs = H5Dget_space(ds);
    if (fs < 0)
        return -1;
    int nd = H5Sget_simple_extent_ndims(fs);
    hsize_t start[H5S_MAX_RANK] = {0}, count[H5S_MAX_RANK];
    if (nd < 1 || H5Sget_simple_extent_dims(fs, count, NULL) < 0) {
        H5Sclose(fs);
        return -1;
    }
    start[0] = r0;
    count[0] = n;
    hsize_t mdim = (hsize_t)n * inner;
    hid_t ms = H5Screate_simple(1, &mdim, NULL);
    int rc = -1;
    if (ms >= 0 && H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL) >= 0 &&
        H5Dwrite(ds, mtype, ms, fs, H5P_DEFAULT, buf) >= 0)
        rc = 0;
    tsf__h5_close(ms);
    H5Sclose(fs);
    return rc;
}

/* Value j of an 8-byte column, as the bits to store (times as pandas nanoseconds). */
static void put8(void *dst, const tsf_h5_column *c, size_t r)
{
    if (c->type == TSF_H5_FLOAT64) {
        memcpy(dst, (const double *)c->data + r, 8);
    } else {
        int64_t v = ((const int64_t *)c->data)[r];
        if (c->type == TSF_H5_TIME && v != TSF_H5_NAT)
            v *= NS_PER_US; /* checked against MAX_PD_US before */
        memcpy(dst, &v, 8);
    }
}

/* Write columns cols[idx[0..k)] (8-byte types) as a (n_rows, k) dataset, in slabs of rows. */
static int write_block_values(hid_t ds, hid_t mtype, const tsf_h5_column *cols, const size_t *idx,
                              size_t k, size_t n_rows)
{
    size_t per = SLAB_BYTES / (8 * k);
    if (per == 0)
        per = 1;
    if (per > n_rows)
        per = n_rows ? n_rows : 1;
    unsigned char *buf = malloc(per * k * 8);
    if (!buf)
        return -2;
    int rc = 0;
    for (size_t r0 = 0; r0 < n_rows && rc == 0; r0 += per) {
        size_t n = n_rows - r0 < per ? n_rows - r0 : per;
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < k; j++)
                put8(buf + (i * k + j) * 8, &cols[idx[j]], r0 + i);
        rc = write_rows(ds, mtype, r0, n, k, buf);
    }
    free(buf);
    return rc;
}

/* ---- pandas tables ------------------------------------------------------------------------- */

static const char *str_at(const tsf_h5_column *c, size_t r)
{
    const char *s = ((const char *const *)c->data)[r];
    return s ? s : "";
}

/* Write n strings as a fixed-length string array (numpy "S", pandas kind "string"). */
static hid_t write_strings(hid_t g, const char *name, const char *const *s, size_t n)
{
    size_t w = 1;
    for (size_t i = 0; i < n; i++) {
        size_t l = s[i] ? strlen(s[i]) : 0;
        if (l > w)
            w = l;
    }
    char *buf = calloc(n ? n : 1, w);
    if (!buf)
        return -2;
    for (size_t i = 0; i < n; i++)
        if (s[i])
            memcpy(buf + i * w, s[i], strlen(s[i]));
    hid_t t = fixed_str_type(w);
    hid_t ds = t < 0 ? -1 : pd_array(g, name, t, 1, n, 0);
    if (ds >= 0 && n && H5Dwrite(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
        tsf__h5_close(ds);
        ds = -1;
    }
    if (ds >= 0 && attr_fixed(ds, "kind", "string") < 0) {
        tsf__h5_close(ds);
        ds = -1;
    }
    tsf__h5_close(t);
    free(buf);
    return ds;
}

static const char *pd_kind(tsf_h5_type t)
{
    switch (t) {
    case TSF_H5_FLOAT64:
        return "float";
    case TSF_H5_INT64:
        return "integer";
    case TSF_H5_TIME:
        return "datetime64";
    case TSF_H5_STRING:
        return "string";
    case TSF_H5_FLOAT32: /* not in tables (check_table refuses them) */
    case TSF_H5_UINT64:
    case TSF_H5_UINT8:
        break;
    }
    return "integer";
}

/* An attribute holding a protocol-0 pickle (an ASCII string ending in '.'), which PyTables
 * unpickles when pandas reads the attribute. */
static int attr_pickle(hid_t ds, const char *name, const char *pickle)
{
    hid_t t = fixed_str_type(strlen(pickle));
    if (t >= 0 && H5Tset_cset(t, H5T_CSET_ASCII) < 0) {
        tsf__h5_close(t);
        t = -1;
    }
    hid_t s = H5Screate(H5S_SCALAR);
    int rc = put_attr(ds, name, t, s, t, pickle);
    tsf__h5_close(t);
    tsf__h5_close(s);
    return rc;
}

/* pandas' `tz` attribute of a zone-aware DatetimeIndex node, as pandas 1.5 writes it: an IANA
 * name as text, UTC and fixed offsets as the protocol-0 pickles of pytz's objects (an ASCII
 * string ending in '.', which PyTables unpickles); pandas.read_hdf gives back the same zone. */
static int attr_tz(hid_t ds, const char *tz)
{
    char buf[160];
    int32_t off;
    if (!strcmp(tz, "UTC"))
        snprintf(buf, sizeof buf, "cpytz\n_UTC\np0\n(tRp1\n.");
    else if (tsf_tz_offset_parse(tz, &off))
        snprintf(buf, sizeof buf, "cpytz\nFixedOffset\np0\n(I%d\ntp1\nRp2\n.", (int)(off / 60));
    else
        return attr_fixed(ds, "tz", tz);
    return attr_pickle(ds, "tz", buf);
}

/* pandas' `freq` attribute of a DatetimeIndex node: the protocol-0 pickle of the offset
 * object, as PyTables stores what pandas 1.5 gives it (pandas.read_hdf rebuilds the offset: the
 * class named by its pandas 1.x and 2.x name, called with n, normalize and its anchor). */
static int attr_freq(hid_t ds, const tsf_freq *q)
{
    static const struct {
        const char *cls;
        int64_t us;
    } ticks[] = {{"Day", 86400 * TSF_US_PER_S},
                 {"Hour", 3600 * TSF_US_PER_S},
                 {"Minute", 60 * TSF_US_PER_S},
                 {"Second", TSF_US_PER_S},
                 {"Milli", 1000},
                 {"Micro", 1}};
    const char *cls = NULL;
    int64_t n = q->n;
    int anchor = -1; /* a third argument: the weekday or month */
    switch (q->unit) {
    case TSF_FREQ_FIXED:
        for (size_t i = 0; i < sizeof ticks / sizeof ticks[0] && !cls; i++)
            if (q->n % ticks[i].us == 0) {
                cls = ticks[i].cls;
                n = q->n / ticks[i].us;
            }
        break;
    case TSF_FREQ_WEEK:
        cls = "Week", anchor = q->anchor;
        break;
    case TSF_FREQ_BDAY:
        cls = "BusinessDay";
        break;
    case TSF_FREQ_MONTH_START:
        cls = "MonthBegin";
        break;
    case TSF_FREQ_MONTH_END:
        cls = "MonthEnd";
        break;
    case TSF_FREQ_QUARTER_START:
        cls = "QuarterBegin", anchor = q->anchor;
        break;
    case TSF_FREQ_QUARTER_END:
        cls = "QuarterEnd", anchor = q->anchor;
        break;
    case TSF_FREQ_YEAR_START:
        cls = "YearBegin", anchor = q->anchor;
        break;
    case TSF_FREQ_YEAR_END:
        cls = "YearEnd", anchor = q->anchor;
        break;
    case TSF_FREQ_NONE:
        break;
    }
    if (!cls)
        return 0;
    char buf[200];
    if (q->unit == TSF_FREQ_BDAY) /* BusinessDay(n, normalize, offset=timedelta(0)) */
        snprintf(buf, sizeof buf,
                 "cpandas._libs.tslibs.offsets\nBusinessDay\np0\n(I%" PRId64
                 "\nI00\ncdatetime\ntimedelta\np1\n(I0\nI0\nI0\ntp2\nRp3\ntp4\nRp5\n.",
                 n);
    else if (anchor >= 0)
        snprintf(buf, sizeof buf,
                 "cpandas._libs.tslibs.offsets\n%s\np0\n(I%" PRId64 "\nI00\nI%d\ntp1\nRp2\n.", cls,
                 n, anchor);
    else
        snprintf(buf, sizeof buf,
                 "cpandas._libs.tslibs.offsets\n%s\np0\n(I%" PRId64 "\nI00\ntp1\nRp2\n.", cls, n);
    return attr_pickle(ds, "freq", buf);
}

/* Write one index node (axis1, or a MultiIndex level) holding values of column c at rows
 * rows[0..n) (rows NULL: 0..n-1), with pandas' kind and name. regular: a plain axis1 index,
 * which for datetimes also gets index_class="datetime". Returns 0, -1 (HDF5) or -2 (memory). */
static int write_index_node(hid_t g, const char *name, const tsf_h5_column *c, const size_t *rows,
                            size_t n, int regular)
{
    hid_t ds = -1;
    if (c->type == TSF_H5_STRING) {
        const char **s = malloc((n ? n : 1) * sizeof *s);
        if (!s)
            return -2;
        for (size_t i = 0; i < n; i++)
            s[i] = str_at(c, rows ? rows[i] : i);
        ds = write_strings(g, name, s, n);
        free(s);
        if (ds == -2)
            return -2;
    } else {
        int is_f = c->type == TSF_H5_FLOAT64;
        ds = pd_array(g, name, is_f ? H5T_IEEE_F64LE : H5T_STD_I64LE, 1, n, 0);
        unsigned char *buf = malloc((n ? n : 1) * 8);
        if (!buf) {
            tsf__h5_close(ds);
            return -2;
        }
        for (size_t i = 0; i < n; i++)
            put8(buf + i * 8, c, rows ? rows[i] : i);
        if (ds >= 0 && n &&
            H5Dwrite(ds, is_f ? H5T_NATIVE_DOUBLE : H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                     buf) < 0) {
            tsf__h5_close(ds);
            ds = -1;
        }
        free(buf);
        if (ds >= 0 && attr_fixed(ds, "kind", pd_kind(c->type)) < 0) {
            tsf__h5_close(ds);
            ds = -1;
        }
    }
    if (ds < 0)
        return -1;
    /* a MultiIndex level with a zone needs index_class too: pandas.read_hdf rebuilds a level as a
     * zone-aware DatetimeIndex only from both (pandas 1.5 cannot write such a level itself) */
    int rc = 0, dt = c->type == TSF_H5_TIME && (regular || c->tz);
    if (dt && attr_fixed(ds, "index_class", "datetime") < 0)
        rc = -1;
    if (rc == 0 && dt && c->tz && attr_tz(ds, c->tz) < 0)
        rc = -1;
    if (rc == 0 && dt && regular && c->freq && attr_freq(ds, c->freq) < 0)
        rc = -1;
    if (rc == 0 && c->name && attr_fixed(ds, "name", c->name) < 0)
        rc = -1;
    tsf__h5_close(ds);
    return rc;
}

/* Sorting rows by the value of one column, for MultiIndex levels. */
typedef struct sort_item {
    const tsf_h5_column *c;
    size_t row;
} sort_item;

static int is_missing(const tsf_h5_column *c, size_t r)
{
    if (c->type == TSF_H5_FLOAT64)
        return isnan(((const double *)c->data)[r]);
    if (c->type == TSF_H5_TIME)
        return ((const int64_t *)c->data)[r] == TSF_H5_NAT;
    return 0;
}

static int cmp_rows(const void *pa, const void *pb)
{
    const sort_item *a = pa, *b = pb;
    const tsf_h5_column *c = a->c;
    int r = 0;
    if (c->type == TSF_H5_STRING) {
        r = strcmp(str_at(c, a->row), str_at(c, b->row));
    } else if (c->type == TSF_H5_FLOAT64) {
        double x = ((const double *)c->data)[a->row], y = ((const double *)c->data)[b->row];
        r = (x > y) - (x < y);
    } else {
        int64_t x = ((const int64_t *)c->data)[a->row], y = ((const int64_t *)c->data)[b->row];
        r = (x > y) - (x < y);
    }
    if (r == 0)
        r = (a->row > b->row) - (a->row < b->row);
    return r;
}

/* Whether rows a and b of c hold the same value (cmp_rows also orders equal values by row). */
static int same_value(const tsf_h5_column *c, size_t a, size_t b)
{
    if (c->type == TSF_H5_STRING)
        return strcmp(str_at(c, a), str_at(c, b)) == 0;
    if (c->type == TSF_H5_FLOAT64)
        return ((const double *)c->data)[a] == ((const double *)c->data)[b];
    return ((const int64_t *)c->data)[a] == ((const int64_t *)c->data)[b];
}

/* Write MultiIndex level i of column c: sorted unique values (axis1_level<i>) and each row's
 * code into them (axis1_label<i>; -1 for a missing value, as pandas stores NaN/NaT). */
static int write_level(hid_t g, size_t i, const tsf_h5_column *c, size_t n_rows)
{
    sort_item *items = malloc((n_rows ? n_rows : 1) * sizeof *items);
    int64_t *codes = malloc((n_rows ? n_rows : 1) * sizeof *codes);
    size_t *uniq = malloc((n_rows ? n_rows : 1) * sizeof *uniq);
    if (!items || !codes || !uniq) {
        free(items);
        free(codes);
        free(uniq);
        return -2;
    }
    size_t m = 0;
    for (size_t r = 0; r < n_rows; r++) {
        if (is_missing(c, r))
            codes[r] = -1;
        else
            items[m++] = (sort_item){c, r};
    }
    qsort(items, m, sizeof *items, cmp_rows);
    size_t n_uniq = 0;
    for (size_t k = 0; k < m; k++) {
        if (n_uniq == 0) {
            uniq[n_uniq++] = items[k].row;
        } else {
            if (!same_value(c, uniq[n_uniq - 1], items[k].row))
                uniq[n_uniq++] = items[k].row;
        }
        codes[items[k].row] = (int64_t)n_uniq - 1;
    }
    free(items);
    char name[64];
    snprintf(name, sizeof name, "axis1_level%zu", i);
    int rc = write_index_node(g, name, c, uniq, n_uniq, 0);
    free(uniq);
    if (rc == 0) {
        /* codes in the smallest signed type that holds them, as pandas writes them */
        hid_t ct = n_uniq < INT8_MAX    ? H5T_STD_I8LE
                   : n_uniq < INT16_MAX ? H5T_STD_I16LE
                   : n_uniq < INT32_MAX ? H5T_STD_I32LE
                                        : H5T_STD_I64LE;
        snprintf(name, sizeof name, "axis1_label%zu", i);
        hid_t ds = pd_array(g, name, ct, 1, n_rows, 0);
        if (ds < 0 ||
            (n_rows && H5Dwrite(ds, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, codes) < 0))
            rc = -1;
        tsf__h5_close(ds);
    }
    free(codes);
    return rc;
}

/* Check the table's columns before anything is written. */
static int check_table(tsf_h5out *o, const char *key, size_t n_rows, const tsf_h5_column *cols,
                       size_t n_cols, size_t n_index, tsf_err *err)
{
    if (n_index > n_cols)
        TSF_FAIL(err, TSF_EINVAL, "%s: table \"%s\": %zu index columns but only %zu columns",
                 o->a.path, key, n_index, n_cols);
    if (n_cols == n_index)
        TSF_FAIL(err, TSF_EINVAL, "%s: table \"%s\" has no columns besides its index", o->a.path,
                 key);
    for (size_t j = 0; j < n_cols; j++) {
        const tsf_h5_column *c = &cols[j];
        if ((unsigned)c->type > TSF_H5_STRING)
            TSF_FAIL(err, TSF_EINVAL, "%s: table \"%s\": column %zu has an unknown type %d",
                     o->a.path, key, j, (int)c->type);
        if (!c->data && n_rows)
            TSF_FAIL(err, TSF_EINVAL, "%s: table \"%s\": column %zu (\"%s\") has no data",
                     o->a.path, key, j, c->name ? c->name : "");
        if (j >= n_index) {
            if (!c->name)
                TSF_FAIL(err, TSF_EINVAL, "%s: table \"%s\": column %zu has no name", o->a.path,
                         key, j);
            if (c->type == TSF_H5_STRING)
                TSF_FAIL(err, TSF_ETYPE,
                         "%s: table \"%s\": string column \"%s\" must be an index level "
                         "(pandas' fixed format can store string columns only by pickling them)",
                         o->a.path, key, c->name);
            for (size_t i = n_index; i < j; i++)
                if (strcmp(cols[i].name, c->name) == 0)
                    TSF_FAIL(err, TSF_EINVAL, "%s: table \"%s\": two columns are named \"%s\"",
                             o->a.path, key, c->name);
        }
        if (c->type == TSF_H5_TIME) {
            const int64_t *t = c->data;
            for (size_t r = 0; r < n_rows; r++)
                if (t[r] != TSF_H5_NAT && (t[r] > MAX_PD_US || t[r] < -MAX_PD_US)) {
                    char when[48];
                    TSF_FAIL(err, TSF_EINVAL,
                             "%s: table \"%s\": column \"%s\" row %zu: %s is outside pandas' "
                             "datetime64[ns] range (1677-09-21 to 2262-04-11), which the pandas "
                             "layout stores times in (expected times in that range; write CSV, "
                             "or only the xarray layout, whose CF units reach any year: "
                             "export.hdf5 option data = xarray)",
                             o->a.path, key, c->name ? c->name : "(index)", r,
                             tsf_time_format(TSF_TIME_EPOCH, t[r], when, sizeof when));
                }
        }
    }
    return TSF_OK;
}

/* A block of a pandas frame: the value columns of one type, or one zone-aware time column
 * (pandas keeps each datetime64[ns, tz] column in a block of its own, its zone on the block). */
typedef struct pd_block {
    tsf_h5_type type;
    size_t own; /* the zone-aware time column alone in this block, or SIZE_MAX */
} pd_block;

static int zoned(const tsf_h5_column *c)
{
    return c->type == TSF_H5_TIME && c->tz;
}

static int in_block(const pd_block *b, const tsf_h5_column *cols, size_t j)
{
    return b->own == SIZE_MAX ? cols[j].type == b->type && !zoned(&cols[j]) : j == b->own;
}

/* The blocks of columns [n_index, n_cols) in order of first appearance: pandas consolidates a
 * frame's columns into one block per type. blocks has room for n_cols. Returns their number. */
static size_t table_blocks(const tsf_h5_column *cols, size_t n_cols, size_t n_index,
                           pd_block *blocks)
{
    size_t n_blocks = 0;
    for (size_t j = n_index; j < n_cols; j++) {
        if (zoned(&cols[j])) {
            blocks[n_blocks++] = (pd_block){cols[j].type, j};
            continue;
        }
        size_t b = 0;
        while (b < n_blocks && !(blocks[b].own == SIZE_MAX && blocks[b].type == cols[j].type))
            b++;
        if (b == n_blocks)
            blocks[n_blocks++] = (pd_block){cols[j].type, SIZE_MAX};
    }
    return n_blocks;
}

/* The attributes that make group g a pandas fixed-format frame. */
static int write_frame_attrs(hid_t g, size_t n_index, size_t n_blocks)
{
    return pytables_group_attrs(g) < 0 || attr_fixed(g, "pandas_type", "frame") < 0 ||
                   attr_fixed(g, "pandas_version", "0.15.2") < 0 ||
                   attr_fixed(g, "encoding", "UTF-8") < 0 ||
                   attr_fixed(g, "errors", "strict") < 0 || attr_i64(g, "ndim", 2) < 0 ||
                   attr_i64(g, "nblocks", (int64_t)n_blocks) < 0 ||
                   attr_fixed(g, "axis0_variety", "regular") < 0 ||
                   attr_fixed(g, "axis1_variety", n_index >= 2 ? "multi" : "regular") < 0 ||
                   (n_index >= 2 && attr_i64(g, "axis1_nlevels", (int64_t)n_index) < 0)
               ? -1
               : 0;
}

/* write_strings, closing the dataset: 0, -1 (HDF5) or -2 (memory). */
static int write_string_node(hid_t g, const char *name, const char *const *s, size_t n)
{
    hid_t ds = write_strings(g, name, s, n);
    if (ds < 0)
        return ds == -2 ? -2 : -1;
    tsf__h5_close(ds);
    return 0;
}

/* axis0: the names of the value columns [n_index, n_cols). */
static int write_column_labels(hid_t g, const tsf_h5_column *cols, size_t n_cols, size_t n_index)
{
    size_t n_val = n_cols - n_index;
    const char **names = malloc(n_val * sizeof *names);
    if (!names)
        return -2;
    for (size_t j = 0; j < n_val; j++)
        names[j] = cols[n_index + j].name;
    int r = write_string_node(g, "axis0", names, n_val);
    free(names);
    return r;
}

/* axis1: the row index; 0..n_rows-1 without index columns (a RangeIndex written out), the
 * index column itself, or a MultiIndex with one level per index column. */
static int write_row_index(hid_t g, const tsf_h5_column *cols, size_t n_index, size_t n_rows)
{
    if (n_index == 1)
        return write_index_node(g, "axis1", &cols[0], NULL, n_rows, 1);
    if (n_index >= 2) {
        int r = 0;
        for (size_t i = 0; i < n_index && r == 0; i++)
            r = write_level(g, i, &cols[i], n_rows);
        return r;
    }
    int64_t *seq = malloc((n_rows ? n_rows : 1) * sizeof *seq);
    if (!seq)
        return -2;
    for (size_t i = 0; i < n_rows; i++)
        seq[i] = (int64_t)i;
    tsf_h5_column range = {NULL, TSF_H5_INT64, seq};
    int r = write_index_node(g, "axis1", &range, NULL, n_rows, 1);
    free(seq);
    return r;
}

/* block<b>_values: columns cols[idx[0..k)] of type t as an (n_rows, k) array; tz: the zone of
 * a block holding one zone-aware time column, or NULL. */
static int write_block_array(hid_t g, size_t b, tsf_h5_type t, const tsf_h5_column *cols,
                             const size_t *idx, size_t k, size_t n_rows, const char *tz)
{
    int is_f = t == TSF_H5_FLOAT64;
    char name[64];
    snprintf(name, sizeof name, "block%zu_values", b);
    hid_t ds = pd_array(g, name, is_f ? H5T_IEEE_F64LE : H5T_STD_I64LE, 2, n_rows, k);
    int r = ds < 0 ? -1 : 0;
    if (r == 0 && t == TSF_H5_TIME)
        r = attr_fixed(ds, "value_type", "datetime64");
    if (r == 0 && tz)
        r = attr_tz(ds, tz);
    if (r == 0)
        r = write_block_values(ds, is_f ? H5T_NATIVE_DOUBLE : H5T_NATIVE_INT64, cols, idx, k,
                               n_rows);
    tsf__h5_close(ds);
    return r;
}

/* Block b: its value columns, their names (block<b>_items) and values. */
static int write_block(hid_t g, size_t b, const pd_block *blk, const tsf_h5_column *cols,
                       size_t n_cols, size_t n_index, size_t n_rows)
{
    size_t n_val = n_cols - n_index;
    size_t *idx = malloc(n_val * sizeof *idx);
    const char **names = malloc(n_val * sizeof *names);
    int r = !idx || !names ? -2 : 0;
    size_t k = 0;
    for (size_t j = n_index; j < n_cols && r == 0; j++)
        if (in_block(blk, cols, j)) {
            idx[k] = j;
            names[k++] = cols[j].name;
        }
    char name[64];
    snprintf(name, sizeof name, "block%zu_items_variety", b);
    if (r == 0)
        r = attr_fixed(g, name, "regular") < 0 ? -1 : 0;
    snprintf(name, sizeof name, "block%zu_items", b);
    if (r == 0)
        r = write_string_node(g, name, names, k);
    if (r == 0)
        r = write_block_array(g, b, blk->type, cols, idx, k, n_rows,
                              blk->own == SIZE_MAX ? NULL : cols[blk->own].tz);
    free(idx);
    free(names);
    return r;
}

int tsf_h5out_pandas(tsf_h5out *o, const char *key, size_t n_rows, const tsf_h5_column *cols,
                     size_t n_cols, size_t n_index, tsf_err *err)
{
    const char *k = clean_path(key);
    if (!k)
        TSF_FAIL(err, TSF_EINVAL, "%s: \"%s\" is not a valid key (expected names separated by '/')",
                 o->a.path, key ? key : "(null)");
    int rc = check_table(o, k, n_rows, cols, n_cols, n_index, err);
    if (rc != TSF_OK)
        return rc;
    const char *leaf;
    hid_t parent = open_parent(o, k, 1, &leaf, err);
    if (parent < 0)
        return err ? err->code : TSF_EIO;
    hid_t g = group_create(parent, leaf);
    tsf__h5_close(parent);

    pd_block *blocks = malloc(n_cols * sizeof *blocks);
    size_t n_blocks = blocks ? table_blocks(cols, n_cols, n_index, blocks) : 0;
    int r = !blocks ? -2 : g < 0 ? -1 : write_frame_attrs(g, n_index, n_blocks);
    if (r == 0)
        r = write_column_labels(g, cols, n_cols, n_index);
    if (r == 0)
        r = write_row_index(g, cols, n_index, n_rows);
    for (size_t b = 0; b < n_blocks && r == 0; b++)
        r = write_block(g, b, &blocks[b], cols, n_cols, n_index, n_rows);
    free(blocks);
    tsf__h5_close(g);
    if (r == -2)
        TSF_FAIL(err, TSF_ENOMEM, "%s: out of memory writing table \"/%s\" (%zu rows)", o->a.path,
                 k, n_rows);
    if (r < 0)
        return tsf__h5_fail(err, TSF_EIO, "%s: cannot write table \"/%s\"", o->a.path, k);
    return TSF_OK;
}

/* ---- arrays with dimension scales ---------------------------------------------------------- */

static int valid_dim_name(const char *s)
{
    return s && *s && !strchr(s, '/') && strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

/* Open dimension d's existing coordinate variable in group g: it must be a 1-D dimension
 * scale of d's size. */
static hid_t reuse_dim_scale(tsf_h5out *o, hid_t g, const char *path, const tsf_h5_dim *d,
                             tsf_err *err)
{
    hid_t ds = H5Oopen(g, d->name, H5P_DEFAULT);
    if (ds < 0) {
        tsf__h5_fail(err, TSF_EIO, "%s: cannot open coordinate \"%s\" of \"/%s\"", o->a.path,
                     d->name, path);
        return -1;
    }
    hsize_t n = 0;
    int ok = H5Iget_type(ds) == H5I_DATASET && H5DSis_scale(ds) > 0;
    if (ok) {
        hid_t s = H5Dget_space(ds);
        ok = s >= 0 && H5Sget_simple_extent_ndims(s) == 1 &&
             H5Sget_simple_extent_dims(s, &n, NULL) == 1;
        tsf__h5_close(s);
    }
    if (!ok) {
        tsf__h5_close(ds);
        H5Eclear2(H5E_DEFAULT);
        tsf_err_set(err, TSF_EINVAL,
                    "%s: dimension \"%s\" of \"/%s\": the group already holds an object of "
                    "that name that is not a 1-D coordinate",
                    o->a.path, d->name, path);
        return -1;
    }
    if (n != d->size) {
        tsf__h5_close(ds);
        tsf_err_set(err, TSF_EINVAL,
                    "%s: dimension \"%s\" of \"/%s\" has size %zu, but an earlier array gave "
                    "it size %llu",
                    o->a.path, d->name, path, d->size, (unsigned long long)n);
        return -1;
    }
    return ds;
}

/* The file and memory types of d's coordinate values (owned by the caller). Without
 * coordinate values: netCDF-4's type for a dimension without a variable, and no memory type. */
static void coord_types(const tsf_h5_dim *d, hid_t *ftype, hid_t *mtype)
{
    *ftype = *mtype = -1;
    if (!d->coord) {
        *ftype = H5Tcopy(H5T_IEEE_F32BE);
    } else if (d->type == TSF_H5_FLOAT64) {
        *ftype = H5Tcopy(H5T_IEEE_F64LE);
        *mtype = H5Tcopy(H5T_NATIVE_DOUBLE);
    } else if (d->type == TSF_H5_STRING) {
        *ftype = vlen_str_type();
        *mtype = vlen_str_type();
    } else {
        *ftype = H5Tcopy(H5T_STD_I64LE);
        *mtype = H5Tcopy(H5T_NATIVE_INT64);
    }
}

int64_t tsf_h5out_time_per(const int64_t *t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (t[i] != TSF_H5_NAT && t[i] % TSF_US_PER_S != 0)
            return 1;
    return TSF_US_PER_S;
}

const char *tsf_h5out_time_units(int64_t per)
{
    return per == TSF_US_PER_S ? "seconds since 1970-01-01T00:00:00Z"
                               : "microseconds since 1970-01-01T00:00:00Z";
}

/* Write coordinate values buf (of mtype) into ds and make ds the dimension scale of d: times
 * get CF units, a dimension without coordinate values netCDF-4's placeholder name. */
static int write_coord(hid_t ds, const tsf_h5_dim *d, hid_t mtype, const void *buf, int64_t per)
{
    if (d->coord && d->size && H5Dwrite(ds, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)
        return -1;
    if (d->coord && d->type == TSF_H5_TIME &&
        (attr_vlen(ds, "units", tsf_h5out_time_units(per)) < 0 ||
         attr_vlen(ds, "calendar", "proleptic_gregorian") < 0))
        return -1;
    char scale_name[128];
    if (d->coord)
        snprintf(scale_name, sizeof scale_name, "%s", d->name);
    else
        snprintf(scale_name, sizeof scale_name, NETCDF_DIM_NAME "%10zu", d->size);
    return H5DSset_scale(ds, d->coord ? d->name : scale_name) < 0 ? -1 : 0;
}

/* Create the coordinate variable of dimension d in group g. */
static hid_t create_dim_scale(tsf_h5out *o, hid_t g, const char *path, const tsf_h5_dim *d,
                              tsf_err *err)
{
    if (d->coord && d->type == TSF_H5_TIME)
        for (size_t i = 0; i < d->size; i++)
            if (((const int64_t *)d->coord)[i] == TSF_H5_NAT) {
                tsf_err_set(err, TSF_EINVAL,
                            "%s: coordinate \"%s\" of \"/%s\" has a missing time at %zu "
                            "(coordinates need values)",
                            o->a.path, d->name, path, i);
                return -1;
            }
    /* times in whole seconds as seconds, others in microseconds (tsf_h5out_time_units) */
    int64_t per = 1, *scaled = NULL;
    if (d->coord && d->type == TSF_H5_TIME && (per = tsf_h5out_time_per(d->coord, d->size)) != 1) {
        if (!(scaled = malloc((d->size ? d->size : 1) * sizeof *scaled))) {
            tsf_err_set(err, TSF_ENOMEM, "%s: out of memory writing coordinate \"%s\"", o->a.path,
                        d->name);
            return -1;
        }
        for (size_t i = 0; i < d->size; i++)
            scaled[i] = ((const int64_t *)d->coord)[i] / per;
    }
    /* NULL strings are written as "" */
    const char **strs = NULL;
    if (d->coord && d->type == TSF_H5_STRING) {
        strs = malloc((d->size ? d->size : 1) * sizeof *strs);
        if (!strs) {
            tsf_err_set(err, TSF_ENOMEM, "%s: out of memory writing coordinate \"%s\"", o->a.path,
                        d->name);
            return -1;
        }
        for (size_t i = 0; i < d->size; i++) {
            const char *v = ((const char *const *)d->coord)[i];
            strs[i] = v ? v : "";
        }
    }
    hsize_t n = d->size;
    hid_t s = H5Screate_simple(1, &n, NULL), ftype, mtype;
    coord_types(d, &ftype, &mtype);
    hid_t ds = -1;
    if (s >= 0 && ftype >= 0)
        ds = dataset_create(g, d->name, ftype, s, H5P_DEFAULT);
    const void *buf = strs ? (const void *)strs : scaled ? (const void *)scaled : d->coord;
    int rc = ds < 0 ? -1 : write_coord(ds, d, mtype, buf, per);
    free(strs);
    free(scaled);
    tsf__h5_close(s);
    tsf__h5_close(ftype);
    tsf__h5_close(mtype);
    if (rc < 0) {
        tsf__h5_close(ds);
        tsf__h5_fail(err, TSF_EIO, "%s: cannot write coordinate \"%s\" of \"/%s\"", o->a.path,
                     d->name, path);
        return -1;
    }
    return ds;
}

/* Open the coordinate variable of dimension d in group g, creating it if absent. */
static hid_t dim_scale(tsf_h5out *o, hid_t g, const char *path, const tsf_h5_dim *d, tsf_err *err)
{
    htri_t exists = H5Lexists(g, d->name, H5P_DEFAULT);
    if (exists > 0)
        return reuse_dim_scale(o, g, path, d, err);
    if (exists < 0) {
        tsf__h5_fail(err, TSF_EIO, "%s: cannot look up \"%s\" beside \"/%s\"", o->a.path, d->name,
                     path);
        return -1;
    }
    return create_dim_scale(o, g, path, d, err);
}

/* Check an array's dimensions (named, unique, not the array's own name leaf, known coordinate
 * types) and that its n_dims sizes multiply to at most SIZE_MAX / 8 values. */
static int check_dims(tsf_h5out *o, const char *p, const char *leaf, const tsf_h5_dim *dims,
                      size_t n_dims, tsf_err *err)
{
    if (n_dims < 1 || n_dims > H5S_MAX_RANK)
        TSF_FAIL(err, TSF_EINVAL, "%s: array \"/%s\": %zu dimensions (expected 1 to %d)", o->a.path,
                 p, n_dims, H5S_MAX_RANK);
    size_t total = 1;
    for (size_t d = 0; d < n_dims; d++) {
        if (!valid_dim_name(dims[d].name))
            TSF_FAIL(err, TSF_EINVAL, "%s: array \"/%s\": dimension %zu needs a name without '/'",
                     o->a.path, p, d);
        if (!strcmp(dims[d].name, leaf))
            TSF_FAIL(err, TSF_EINVAL,
                     "%s: array \"/%s\" cannot have a dimension of its own name \"%s\"", o->a.path,
                     p, dims[d].name);
        if (dims[d].coord && (unsigned)dims[d].type > TSF_H5_STRING)
            TSF_FAIL(err, TSF_EINVAL, "%s: array \"/%s\": coordinate \"%s\" has an unknown type",
                     o->a.path, p, dims[d].name);
        for (size_t e = 0; e < d; e++)
            if (!strcmp(dims[e].name, dims[d].name))
                TSF_FAIL(err, TSF_EINVAL, "%s: array \"/%s\": dimension \"%s\" appears twice",
                         o->a.path, p, dims[d].name);
        if (dims[d].size && total > SIZE_MAX / 8 / dims[d].size)
            TSF_FAIL(err, TSF_EINVAL, "%s: array \"/%s\" is too large", o->a.path, p);
        total *= dims[d].size;
    }
    return TSF_OK;
}

/* A compressed, chunked (when not empty) float64 dataset of the given dimensions. Chunks of
 * about CHUNK_BYTES: halve the leading dimensions first (slabs along the first dimension are
 * what readers usually take). */
static hid_t create_array(hid_t g, const char *leaf, const tsf_h5_dim *dims, size_t n_dims)
{
    hsize_t hd[H5S_MAX_RANK], chunk[H5S_MAX_RANK];
    size_t total = 1;
    for (size_t d = 0; d < n_dims; d++) {
        hd[d] = dims[d].size;
        chunk[d] = dims[d].size ? dims[d].size : 1;
        total *= dims[d].size;
    }
    for (size_t d = 0;;) {
        size_t bytes = 8;
        for (size_t e = 0; e < n_dims; e++)
            bytes *= (size_t)chunk[e];
        if (bytes <= CHUNK_BYTES)
            break;
        while (d < n_dims && chunk[d] == 1)
            d++;
        if (d == n_dims)
            break;
        chunk[d] = (chunk[d] + 1) / 2;
    }
    hid_t space = H5Screate_simple((int)n_dims, hd, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    int ok = space >= 0 && dcpl >= 0;
    if (ok && total > 0) {
        ok = H5Pset_chunk(dcpl, (int)n_dims, chunk) >= 0;
        if (ok && H5Zfilter_avail(H5Z_FILTER_DEFLATE) > 0)
            ok = H5Pset_shuffle(dcpl) >= 0 && H5Pset_deflate(dcpl, 4) >= 0;
    }
    hid_t ds = ok ? dataset_create(g, leaf, H5T_IEEE_F64LE, space, dcpl) : -1;
    tsf__h5_close(dcpl);
    tsf__h5_close(space);
    return ds;
}

/* Write the array's values into ds: from values, or asked of fill in slabs of rows along the
 * first dimension. Returns 0, -1 (HDF5) or -2 (memory). */
static int write_array_values(hid_t ds, const tsf_h5_dim *dims, size_t n_dims, const double *values,
                              tsf_h5_fill_fn fill, void *ctx)
{
    size_t inner = 1;
    for (size_t d = 1; d < n_dims; d++)
        inner *= dims[d].size;
    if (dims[0].size == 0 || inner == 0)
        return 0;
    if (values)
        return H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values) < 0 ? -1 : 0;
    size_t per = SLAB_BYTES / 8 / inner;
    if (per == 0)
        per = 1;
    if (per > dims[0].size)
        per = dims[0].size;
    double *buf = malloc(per * inner * sizeof *buf);
    if (!buf)
        return -2;
    int rc = 0;
    for (size_t r0 = 0; rc == 0 && r0 < dims[0].size; r0 += per) {
        size_t n = dims[0].size - r0 < per ? dims[0].size - r0 : per;
        fill(ctx, r0, n, buf);
        rc = write_rows(ds, H5T_NATIVE_DOUBLE, r0, n, inner, buf);
    }
    free(buf);
    return rc;
}

static int write_array(tsf_h5out *o, const char *path, const tsf_h5_dim *dims, size_t n_dims,
                       const double *values, tsf_h5_fill_fn fill, void *ctx, tsf_err *err)
{
    const char *p = clean_path(path);
    if (!p)
        TSF_FAIL(err, TSF_EINVAL, "%s: \"%s\" is not a valid array path", o->a.path,
                 path ? path : "(null)");
    int rc = check_dims(o, p, strrchr(p, '/') ? strrchr(p, '/') + 1 : p, dims, n_dims, err);
    if (rc != TSF_OK)
        return rc;
    const char *leaf;
    hid_t g = open_parent(o, p, 0, &leaf, err);
    if (g < 0)
        return err ? err->code : TSF_EIO;
    hid_t scales[H5S_MAX_RANK];
    size_t n_scales = 0;
    for (; n_scales < n_dims; n_scales++) {
        scales[n_scales] = dim_scale(o, g, p, &dims[n_scales], err);
        if (scales[n_scales] < 0) {
            rc = err ? err->code : TSF_EIO;
            break;
        }
    }
    hid_t ds = -1;
    if (rc == TSF_OK) {
        ds = create_array(g, leaf, dims, n_dims);
        int r = ds < 0 ? -1 : write_array_values(ds, dims, n_dims, values, fill, ctx);
        for (size_t d = 0; r == 0 && d < n_dims; d++)
            r = H5DSattach_scale(ds, scales[d], (unsigned)d) < 0 ? -1 : 0;
        if (r == -2)
            rc = tsf_err_set(err, TSF_ENOMEM, "%s: out of memory writing array \"/%s\"", o->a.path,
                             p);
        else if (r < 0)
            rc = tsf__h5_fail(err, TSF_EIO, "%s: cannot write array \"/%s\"", o->a.path, p);
    }
    tsf__h5_close(ds);
    for (size_t d = 0; d < n_scales; d++)
        tsf__h5_close(scales[d]);
    tsf__h5_close(g);
    return rc;
}

int tsf_h5out_array(tsf_h5out *o, const char *path, const tsf_h5_dim *dims, size_t n_dims,
                    const double *values, tsf_err *err)
{
    return write_array(o, path, dims, n_dims, values, NULL, NULL, err);
}

int tsf_h5out_array_fill(tsf_h5out *o, const char *path, const tsf_h5_dim *dims, size_t n_dims,
                         tsf_h5_fill_fn fill, void *ctx, tsf_err *err)
{
    if (!fill)
        TSF_FAIL(err, TSF_EINVAL, "%s: array \"%s\": no fill function", o->a.path,
                 path ? path : "(null)");
    return write_array(o, path, dims, n_dims, NULL, fill, ctx, err);
}

/* ---- plain groups and datasets ------------------------------------------------------------ */

int tsf_h5out_group(tsf_h5out *o, const char *path, tsf_err *err)
{
    const char *p = clean_path(path), *leaf;
    if (!p)
        TSF_FAIL(err, TSF_EINVAL, "%s: \"%s\" is not a valid group path", o->a.path,
                 path ? path : "(null)");
    hid_t parent = open_parent(o, p, 0, &leaf, err);
    if (parent < 0)
        return err ? err->code : TSF_EIO;
    hid_t g = group_create(parent, leaf);
    tsf__h5_close(g);
    tsf__h5_close(parent);
    if (g < 0)
        return tsf__h5_fail(err, TSF_EIO, "%s: cannot write group \"/%s\"", o->a.path, p);
    return TSF_OK;
}

int tsf_h5out_dataset(tsf_h5out *o, const char *path, tsf_h5_type type, int rank,
                      const size_t *dims, const void *data, tsf_err *err)
{
    hid_t ft = -1, mt = -1;
    switch (type) {
    case TSF_H5_FLOAT64:
        ft = H5T_IEEE_F64LE, mt = H5T_NATIVE_DOUBLE;
        break;
    case TSF_H5_INT64:
        ft = H5T_STD_I64LE, mt = H5T_NATIVE_INT64;
        break;
    case TSF_H5_FLOAT32:
        ft = H5T_IEEE_F32LE, mt = H5T_NATIVE_FLOAT;
        break;
    case TSF_H5_UINT64:
        ft = H5T_STD_U64LE, mt = H5T_NATIVE_UINT64;
        break;
    case TSF_H5_UINT8:
        ft = H5T_STD_U8LE, mt = H5T_NATIVE_UINT8;
        break;
    case TSF_H5_TIME:
    case TSF_H5_STRING:
        break;
    }
    const char *p = clean_path(path), *leaf;
    if (!p || ft < 0 || rank < 1 || rank > 2)
        TSF_FAIL(err, TSF_EINVAL,
                 "%s: dataset \"%s\": expected a valid path, a numeric type and rank 1 or 2 "
                 "(got type %d, rank %d)",
                 o->a.path, path ? path : "(null)", (int)type, rank);
    hid_t parent = open_parent(o, p, 0, &leaf, err);
    if (parent < 0)
        return err ? err->code : TSF_EIO;
    hsize_t hd[2] = {dims[0], rank == 2 ? dims[1] : 1};
    size_t n = (size_t)hd[0] * (rank == 2 ? (size_t)hd[1] : 1);
    hid_t sp = H5Screate_simple(rank, hd, NULL);
    hid_t ds = sp < 0 ? -1 : dataset_create(parent, leaf, ft, sp, H5P_DEFAULT);
    int bad = ds < 0 || (n > 0 && H5Dwrite(ds, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0);
    tsf__h5_close(ds);
    tsf__h5_close(sp);
    tsf__h5_close(parent);
    if (bad)
        return tsf__h5_fail(err, TSF_EIO, "%s: cannot write dataset \"/%s\"", o->a.path, p);
    return TSF_OK;
}

/* ---- records for R -------------------------------------------------------------------------- */

#define TIME_TEXT 19 /* "YYYY-MM-DD HH:MM:SS"; a fraction adds 4 or 7 */

/* How column c is stored: its size in a record and its file type (owned by the caller). */
static hid_t record_field(const tsf_h5_column *c, size_t n_rows, size_t *size)
{
    switch (c->type) {
    case TSF_H5_FLOAT64:
        *size = 8;
        return H5Tcopy(H5T_IEEE_F64LE);
    case TSF_H5_INT64: {
        const int64_t *v = c->data;
        int fits = 1;
        for (size_t r = 0; r < n_rows && fits; r++)
            fits = v[r] >= INT32_MIN && v[r] <= INT32_MAX;
        *size = fits ? 4 : 8;
        return H5Tcopy(fits ? H5T_STD_I32LE : H5T_IEEE_F64LE);
    }
    case TSF_H5_TIME: {
        /* the fraction digits the finest time needs, on every row (as tsf_csv_write) */
        int digits = 0;
        for (size_t r = 0; r < n_rows && digits < 6; r++) {
            int64_t v = ((const int64_t *)c->data)[r];
            int k = v == TSF_H5_NAT ? 0 : tsf_time_fraction_digits(&v, 1);
            digits = k > digits ? k : digits;
        }
        *size = TIME_TEXT + (digits ? (size_t)digits + 1 : 0);
        return fixed_str_type(*size);
    }
    case TSF_H5_STRING: {
        size_t w = 1;
        for (size_t r = 0; r < n_rows; r++) {
            size_t l = strlen(str_at(c, r));
            w = l > w ? l : w;
        }
        *size = w;
        return fixed_str_type(w);
    }
    default:
        *size = 0;
        return -1;
    }
}

/* Put row r of column c, stored as type t of size bytes, at dst. */
static void record_put(unsigned char *dst, const tsf_h5_column *c, size_t size, size_t r)
{
    if (c->type == TSF_H5_FLOAT64) {
        memcpy(dst, (const double *)c->data + r, 8);
    } else if (c->type == TSF_H5_INT64) {
        int64_t v = ((const int64_t *)c->data)[r];
        if (size == 4) {
            int32_t x = (int32_t)v;
            memcpy(dst, &x, 4);
        } else {
            double x = (double)v;
            memcpy(dst, &x, 8);
        }
    } else if (c->type == TSF_H5_TIME) {
        int64_t v = ((const int64_t *)c->data)[r];
        char buf[40] = "";
        if (v != TSF_H5_NAT)
            tsf_time_format_digits(v, size > TIME_TEXT ? (int)(size - TIME_TEXT - 1) : 0, buf,
                                   sizeof buf);
        memset(dst, 0, size);
        memcpy(dst, buf, strlen(buf) < size ? strlen(buf) : size);
    } else {
        const char *v = str_at(c, r);
        memset(dst, 0, size);
        memcpy(dst, v, strlen(v) < size ? strlen(v) : size);
    }
}

int tsf_h5out_records(tsf_h5out *o, const char *path, size_t n_rows, const tsf_h5_column *cols,
                      size_t n_cols, tsf_err *err)
{
    const char *p = clean_path(path), *leaf;
    if (!p || n_cols == 0)
        TSF_FAIL(err, TSF_EINVAL, "%s: records \"%s\": expected a valid path and columns",
                 o->a.path, path ? path : "(null)");
    for (size_t j = 0; j < n_cols; j++) {
        if (!cols[j].name || (unsigned)cols[j].type > TSF_H5_STRING || (!cols[j].data && n_rows))
            TSF_FAIL(err, TSF_EINVAL,
                     "%s: records \"%s\": column %zu needs a name, data and a table type",
                     o->a.path, p, j);
        for (size_t i = 0; i < j; i++)
            if (!strcmp(cols[i].name, cols[j].name))
                TSF_FAIL(err, TSF_EINVAL, "%s: records \"%s\": two columns are named \"%s\"",
                         o->a.path, p, cols[j].name);
    }
    hid_t *ft = calloc(n_cols, sizeof *ft);
    size_t *size = calloc(n_cols, sizeof *size), *off = calloc(n_cols, sizeof *off);
    if (!ft || !size || !off) {
        free(ft);
        free(size);
        free(off);
        TSF_FAIL(err, TSF_ENOMEM, "%s: out of memory writing \"/%s\"", o->a.path, p);
    }
    size_t rec = 0;
    int bad = 0;
    for (size_t j = 0; j < n_cols; j++) {
        ft[j] = record_field(&cols[j], n_rows, &size[j]);
        bad |= ft[j] < 0;
        off[j] = rec;
        rec += size[j];
    }
    hid_t ct = bad ? -1 : H5Tcreate(H5T_COMPOUND, rec);
    for (size_t j = 0; j < n_cols && ct >= 0 && !bad; j++)
        bad = H5Tinsert(ct, cols[j].name, off[j], ft[j]) < 0;
    hid_t parent = -1, ds = -1, sp = -1, dcpl = -1;
    int nomem = 0;
    if (ct >= 0 && !bad && (parent = open_parent(o, p, 0, &leaf, err)) < 0) {
        for (size_t j = 0; j < n_cols; j++)
            tsf__h5_close(ft[j]);
        tsf__h5_close(ct);
        free(ft);
        free(size);
        free(off);
        return err ? err->code : TSF_EIO;
    }
    if (ct >= 0 && !bad) {
        hsize_t dim = n_rows, chunk = PD_CHUNK_BYTES / (rec ? rec : 1);
        chunk = chunk < 1 ? 1 : chunk > dim ? (dim ? dim : 1) : chunk;
        sp = H5Screate_simple(1, &dim, NULL);
        dcpl = H5Pcreate(H5P_DATASET_CREATE);
        if (sp >= 0 && dcpl >= 0 && H5Pset_chunk(dcpl, 1, &chunk) >= 0 &&
            H5Pset_shuffle(dcpl) >= 0 && H5Pset_deflate(dcpl, 4) >= 0)
            ds = dataset_create(parent, leaf, ct, sp, dcpl);
        bad = ds < 0;
    } else {
        bad = 1;
    }
    /* fill records in slabs of rows */
    size_t per = SLAB_BYTES / (rec ? rec : 1);
    per = per < 1 ? 1 : per;
    unsigned char *buf = bad ? NULL : malloc(per * rec);
    nomem = !bad && !buf;
    for (size_t r0 = 0; r0 < n_rows && buf && !bad; r0 += per) {
        size_t n = n_rows - r0 < per ? n_rows - r0 : per;
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n_cols; j++)
                record_put(buf + i * rec + off[j], &cols[j], size[j], r0 + i);
        bad = write_rows(ds, ct, r0, n, 1, buf) < 0;
    }
    free(buf);
    tsf__h5_close(ds);
    tsf__h5_close(dcpl);
    tsf__h5_close(sp);
    tsf__h5_close(parent);
    tsf__h5_close(ct);
    for (size_t j = 0; j < n_cols; j++)
        tsf__h5_close(ft[j]);
    free(ft);
    free(size);
    free(off);
    if (nomem)
        TSF_FAIL(err, TSF_ENOMEM, "%s: out of memory writing \"/%s\"", o->a.path, p);
    if (bad)
        return tsf__h5_fail(err, TSF_EIO, "%s: cannot write records \"/%s\"", o->a.path, p);
    return TSF_OK;
}

/* ---- attributes ---------------------------------------------------------------------------- */

static hid_t open_obj(tsf_h5out *o, const char *obj, const char *name, tsf_err *err)
{
    if (!name || !*name) {
        tsf_err_set(err, TSF_EINVAL, "%s: an attribute needs a name", o->a.path);
        return -1;
    }
    const char *p = obj;
    while (p && *p == '/')
        p++;
    if (!p || !*p)
        p = ".";
    else if (!clean_path(p)) {
        tsf_err_set(err, TSF_EINVAL, "%s: \"%s\" is not a valid object path", o->a.path, obj);
        return -1;
    }
    hid_t id = H5Oopen(o->fid, p, H5P_DEFAULT);
    if (id < 0)
        tsf__h5_fail(err, TSF_EINVAL,
                     "%s: cannot set attribute \"%s\": no object \"/%s\" has been written",
                     o->a.path, name, p);
    return id;
}

static int attr_done(tsf_h5out *o, hid_t id, int bad, const char *obj, const char *name,
                     tsf_err *err)
{
    tsf__h5_close(id);
    if (bad)
        return tsf__h5_fail(err, TSF_EIO, "%s: cannot write attribute \"%s\" of \"/%s\"", o->a.path,
                            name, obj ? obj : "");
    return TSF_OK;
}

int tsf_h5out_attr_string(tsf_h5out *o, const char *obj, const char *name, const char *value,
                          tsf_err *err)
{
    hid_t id = open_obj(o, obj, name, err);
    if (id < 0)
        return err ? err->code : TSF_EINVAL;
    return attr_done(o, id, attr_vlen(id, name, value) < 0, obj, name, err);
}

static int attr_array(tsf_h5out *o, const char *obj, const char *name, hid_t ftype, hid_t mtype,
                      const void *v, size_t n, int scalar, tsf_err *err)
{
    hid_t id = open_obj(o, obj, name, err);
    if (id < 0)
        return err ? err->code : TSF_EINVAL;
    hsize_t dim = n;
    hid_t s = scalar ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &dim, NULL);
    int bad = put_attr(id, name, ftype, s, mtype, n ? v : NULL) < 0;
    tsf__h5_close(s);
    return attr_done(o, id, bad, obj, name, err);
}

int tsf_h5out_attr_int(tsf_h5out *o, const char *obj, const char *name, int64_t value, tsf_err *err)
{
    return attr_array(o, obj, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &value, 1, 1, err);
}

int tsf_h5out_attr_double(tsf_h5out *o, const char *obj, const char *name, double value,
                          tsf_err *err)
{
    return attr_array(o, obj, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &value, 1, 1, err);
}

int tsf_h5out_attr_ints(tsf_h5out *o, const char *obj, const char *name, const int64_t *v, size_t n,
                        tsf_err *err)
{
    return attr_array(o, obj, name, H5T_STD_I64LE, H5T_NATIVE_INT64, v, n, 0, err);
}

int tsf_h5out_attr_doubles(tsf_h5out *o, const char *obj, const char *name, const double *v,
                           size_t n, tsf_err *err)
{
    return attr_array(o, obj, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, v, n, 0, err);
}

int tsf_h5out_attr_ints_2d(tsf_h5out *o, const char *obj, const char *name, const int64_t *v,
                           size_t n0, size_t n1, tsf_err *err)
{
    hid_t id = open_obj(o, obj, name, err);
    if (id < 0)
        return err ? err->code : TSF_EINVAL;
    hsize_t dims[2] = {n0, n1};
    hid_t sp = H5Screate_simple(2, dims, NULL);
    int bad =
        put_attr(id, name, H5T_STD_I64LE, sp, H5T_NATIVE_INT64, n0 > 0 && n1 > 0 ? v : NULL) < 0;
    tsf__h5_close(sp);
    return attr_done(o, id, bad, obj, name, err);
}

int tsf_h5out_attr_doubles_or_scalar(tsf_h5out *o, const char *obj, const char *name,
                                     const double *v, size_t n, tsf_err *err)
{
    return attr_array(o, obj, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, v, n, n == 1, err);
}

int tsf_source_date_epoch(int64_t *t, tsf_err *err)
{
    *t = -1;
    const char *e = getenv("SOURCE_DATE_EPOCH");
    if (!e || !*e)
        return TSF_OK;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(e, &end, 10);
    if (*e < '0' || *e > '9' || *end || errno || v > 253402300799ull /* 9999-12-31T23:59:59Z */)
        return tsf_err_set(err, TSF_EINVAL,
                           "SOURCE_DATE_EPOCH=\"%.40s\" is not a time (expected whole seconds "
                           "since 1970-01-01T00:00:00Z, like 1700000000, or unset it)",
                           e);
    *t = (int64_t)v;
    return TSF_OK;
}
