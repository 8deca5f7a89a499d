/* Frames from HDF5 tables (compound datasets): R data.frames as rhdf5 (h5write(df, file, name))
 * and hdf5r (h5file[["name"]] <- df) write them, and numpy structured arrays.
 *
 * Neither R writer keeps a column's class: a Date becomes a float64 of days since 1970-01-01, a
 * POSIXct a float64 of seconds since then, a factor an int32 code (rhdf5) or an enumeration of
 * its levels (hdf5r), a logical an enumeration FALSE/TRUE/NA (hdf5r; rhdf5 leaves it out), and
 * NA_integer_ INT32_MIN. So the fields are read as follows.
 *
 * - The time: opt->time_column by name; else the first text field whose first value reads as a
 *   time (tsf_time_parse_text: ISO 8601, "1949-01", "1960Q1"); else a numeric field with "date"
 *   or "time" in its name, or named day, ds (prophet's), year or period (any case). Numbers count
 * opt->time_unit; without one, whole numbers that are all years (1000 to 2999) are years, and other
 * numbers are an error naming the units to choose from (d for R's Date, s for POSIXct): the file
 * cannot say which. With no time field, rows are numbered (an integer index).
 * - The series: the one text or factor field left, if any, makes a long table: one series per
 *   value, in order of first appearance. Two such fields are an error naming them.
 * - The values: every numeric field left, as doubles, in field order. INT32_MIN in a signed
 *   32-bit field is R's NA (missing); an enumeration of FALSE/TRUE/NA is 0, 1 and missing.
 */
#include <hdf5.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tsflow/io.h"
#include "core.h"
#include "hdf5_table.h"

void tsf__hdf5_note(tsf_hdf5_info *info, const char *fmt, ...)
{
    char *buf = info->notes;
    size_t cap = sizeof info->notes, used = strlen(buf);
    if (used && used + 3 < cap)
        used += (size_t)snprintf(buf + used, cap - used, "; ");
    if (used + 1 >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + used, cap - used, fmt, ap);
    va_end(ap);
}

/* ---- reading one field ---------------------------------------------------------------------- */

/* Read member `name` of type mt alone, through a one-member compound of the memory type
 * native (size w per record), into buf (n * w bytes). */
static int read_one(hid_t ds, const char *name, hid_t native, size_t w, size_t n, void *buf)
{
    hid_t one = H5Tcreate(H5T_COMPOUND, w);
    int rc = one < 0 || H5Tinsert(one, name, 0, native) < 0 ||
                     (n && H5Dread(ds, one, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)
                 ? -1
                 : 0;
    tsf__h5_close(one);
    return rc;
}

static int read_text(hid_t ds, hid_t mt, size_t n, tsf__h5_field *c)
{
    int vlen = H5Tis_variable_str(mt) > 0;
    size_t w = vlen ? sizeof(char *) : H5Tget_size(mt);
    hid_t native = H5Tcopy(mt);
    unsigned char *buf = malloc((n ? n : 1) * (w ? w : 1));
    c->kind = TSF__FIELD_TEXT;
    c->s = calloc(n ? n : 1, sizeof *c->s);
    int rc = !buf || !c->s ? -2 : native < 0 ? -1 : read_one(ds, c->name, native, w, n, buf);
    for (size_t r = 0; r < n && rc == 0; r++) {
        if (vlen) {
            char *v;
            memcpy(&v, buf + r * w, sizeof v);
            c->s[r] = strdup(v ? v : "");
            H5free_memory(v);
        } else {
            c->s[r] = calloc(w + 1, 1);
            if (c->s[r])
                memcpy(c->s[r], buf + r * w, w);
        }
        if (!c->s[r])
            rc = -2;
    }
    free(buf);
    tsf__h5_close(native);
    return rc;
}

/* An enumeration's values as their names ("" for a value that has none). */
static int read_enum(hid_t ds, hid_t mt, size_t n, tsf__h5_field *c)
{
    /* A damaged enum can claim a base type wider than itself (see numeric_kind in hdf5_read.c):
     * require an integer base of the enum's own size, at most 8 bytes. */
    hid_t base = H5Tget_super(mt);
    size_t w = H5Tget_size(mt);
    int ok = base >= 0 && H5Tget_class(base) == H5T_INTEGER && H5Tget_size(base) == w && w >= 1 &&
             w <= 8;
    tsf__h5_close(base);
    if (!ok)
        return -3;
    hid_t native = H5Tget_native_type(mt, H5T_DIR_DEFAULT);
    unsigned char *buf = malloc((n ? n : 1) * w);
    c->kind = TSF__FIELD_ENUM;
    c->s = calloc(n ? n : 1, sizeof *c->s);
    int rc = !buf || !c->s ? -2 : native < 0 ? -1 : read_one(ds, c->name, native, w, n, buf);
    for (size_t r = 0; r < n && rc == 0; r++) {
        char name[256];
        if (H5Tenum_nameof(native, buf + r * w, name, sizeof name) < 0)
            name[0] = '\0';
        if (!(c->s[r] = strdup(name)))
            rc = -2;
    }
    H5Eclear2(H5E_DEFAULT);
    free(buf);
    tsf__h5_close(native);
    return rc;
}

int tsf__h5_field_read(hid_t ds, hid_t ft, unsigned m, size_t n, tsf__h5_field *c)
{
    memset(c, 0, sizeof *c);
    hid_t mt = H5Tget_member_type(ft, m);
    H5T_class_t cls = mt < 0 ? H5T_NO_CLASS : H5Tget_class(mt);
    c->name = H5Tget_member_name(ft, m);
    int rc = 0;
    if (!c->name) {
        rc = -1;
    } else if (cls == H5T_STRING) {
        rc = read_text(ds, mt, n, c);
    } else if (cls == H5T_ENUM) {
        rc = read_enum(ds, mt, n, c);
    } else if (cls == H5T_INTEGER || cls == H5T_FLOAT) {
        c->kind = cls == H5T_INTEGER ? TSF__FIELD_INTEGER : TSF__FIELD_NUMBER;
        c->r_int = cls == H5T_INTEGER && H5Tget_size(mt) == 4 && H5Tget_sign(mt) == H5T_SGN_2;
        void *buf = malloc((n ? n : 1) * 8);
        if (cls == H5T_INTEGER)
            c->i = buf;
        else
            c->x = buf;
        rc = !buf ? -2
                  : read_one(ds, c->name, cls == H5T_INTEGER ? H5T_NATIVE_INT64 : H5T_NATIVE_DOUBLE,
                             8, n, buf);
    } else {
        rc = -3;
    }
    tsf__h5_close(mt);
    return rc;
}

void tsf__h5_field_clear(tsf__h5_field *c, size_t n)
{
    if (c->name)
        H5free_memory(c->name);
    free(c->x);
    free(c->i);
    tsf__free_strings(c->s, n);
    memset(c, 0, sizeof *c);
}

/* ---- roles of the fields -------------------------------------------------------------------- */

/* Whether an enumeration holds R's logical levels only. */
static int is_logical(const tsf__h5_field *c, size_t n)
{
    if (c->kind != TSF__FIELD_ENUM)
        return 0;
    for (size_t r = 0; r < n; r++)
        if (strcmp(c->s[r], "TRUE") && strcmp(c->s[r], "FALSE") && strcmp(c->s[r], "NA"))
            return 0;
    return 1;
}

static int is_text(const tsf__h5_field *c, size_t n)
{
    return c->kind == TSF__FIELD_TEXT || (c->kind == TSF__FIELD_ENUM && !is_logical(c, n));
}

static int contains_nocase(const char *s, const char *w)
{
    for (size_t n = strlen(w); *s; s++)
        if (!strncasecmp(s, w, n))
            return 1;
    return 0;
}

/* A name that says time: "date" or "time" in it, or day, ds (prophet's), year or period. */
static int time_name(const char *name)
{
    return contains_nocase(name, "date") || contains_nocase(name, "time") ||
           !strcasecmp(name, "day") || !strcasecmp(name, "ds") || !strcasecmp(name, "year") ||
           !strcasecmp(name, "period");
}

/* What is being read, for messages. */
typedef struct tab {
    const char *path, *key;
    const tsf_hdf5_options *opt;
    tsf_hdf5_info *info;
    tsf_err *err;
    tsf__h5_field *c; /* (k) */
    size_t k, n;
} tab;

/* "a, b, c": the field names, for messages. */
static const char *field_list(const tab *t, char *buf, size_t cap)
{
    size_t at = 0;
    buf[0] = '\0';
    for (size_t j = 0; j < t->k && at + 8 < cap; j++)
        at += (size_t)snprintf(buf + at, cap - at, "%s%s", j ? ", " : "", t->c[j].name);
    return buf;
}

/* Whether a text field holds times: its first value that is not missing reads as one. */
static int holds_times(const tsf__h5_field *c, size_t n)
{
    if (c->kind != TSF__FIELD_TEXT)
        return 0;
    size_t r = 0;
    while (r < n && (!c->s[r][0] || !strcmp(c->s[r], "NA")))
        r++;
    int64_t v;
    return r < n && tsf_time_parse_text(c->s[r], strlen(c->s[r]), &v, NULL, NULL) != 0;
}

/* The time field: its index, or k when there is none. */
static int find_time(const tab *t, size_t *tf)
{
    *tf = t->k;
    const char *want = t->opt->time_column;
    if (want) {
        for (size_t j = 0; j < t->k; j++)
            if (!strcmp(t->c[j].name, want))
                *tf = j;
        char list[512];
        if (*tf == t->k)
            TSF_FAIL(t->err, TSF_EINVAL,
                     "%s: \"/%s\": time column \"%s\" is not a field of this table (expected one "
                     "of: %s)",
                     t->path, t->key, want, field_list(t, list, sizeof list));
        return TSF_OK;
    }
    for (size_t j = 0; j < t->k; j++)
        if (holds_times(&t->c[j], t->n)) {
            *tf = j;
            return TSF_OK;
        }
    for (size_t j = 0; j < t->k; j++)
        if ((t->c[j].kind == TSF__FIELD_NUMBER || t->c[j].kind == TSF__FIELD_INTEGER) &&
            time_name(t->c[j].name)) {
            *tf = j;
            return TSF_OK;
        }
    return TSF_OK;
}

/* One time value of a numeric field in seconds (or index steps) per opt->time_unit. */
static int number_time(const tab *t, const tsf__h5_field *c, size_t r, double v, int64_t *out)
{
    static const double us_per[] = {0, 1e6, 1e3, 1, 1e-3}; /* by tsf_time_unit */
    tsf_time_unit u = t->opt->time_unit;
    if (isnan(v))
        TSF_FAIL(t->err, TSF_EFORMAT,
                 "%s: \"/%s\": time field \"%s\" is missing (NA) at row %zu (expected a time in "
                 "every row)",
                 t->path, t->key, c->name, r);
    if (u == TSF_TIME_UNIT_AUTO || u == TSF_TIME_UNIT_YEAR) {
        if (v != floor(v) || (u == TSF_TIME_UNIT_AUTO ? v < 1000 || v > 2999 : fabs(v) > 999999))
            TSF_FAIL(t->err, TSF_EFORMAT,
                     "%s: \"/%s\": time field \"%s\" holds numbers (%.17g at row %zu) and the file "
                     "does not say what they count: R writes a Date as days since 1970-01-01 and "
                     "a POSIXct as seconds since then; give --time-unit d for days, s for "
                     "seconds (or ms, us, ns, year, index) (ingest.hdf5 option time_unit)",
                     t->path, t->key, c->name, v, r);
        *out = tsf__days_from_civil((int64_t)v, 1, 1) * TSF_US_PER_DAY;
        return TSF_OK;
    }
    double s = u == TSF_TIME_UNIT_INDEX ? v
               : u == TSF_TIME_UNIT_DAY ? v * (double)TSF_US_PER_DAY
                                        : v * us_per[u];
    /* R's POSIXct is a double of seconds: a fraction such as .25 is exact, .123 only to the
     * double's 16 digits, so a time is read as the microsecond within that precision of it */
    double w = nearbyint(s), tol = u == TSF_TIME_UNIT_INDEX ? 0 : fabs(s) * 0x1p-50;
    if (!isfinite(s) || fabs(s - w) > tol || fabs(s) > 9.2e18)
        TSF_FAIL(t->err, TSF_EFORMAT,
                 "%s: \"/%s\": time field \"%s\" row %zu (%.17g with time_unit %s) is not a whole "
                 "%s (tsflow's resolution is one microsecond; it never rounds a time)",
                 t->path, t->key, c->name, r, v, tsf_time_unit_names[u],
                 u == TSF_TIME_UNIT_INDEX ? "number" : "microsecond");
    *out = (int64_t)w;
    return TSF_OK;
}

/* The time of every record into time[] (in record order), and its kind. */
static int read_times(const tab *t, size_t tf, int64_t *time, tsf_time_kind *kind)
{
    const tsf__h5_field *c = &t->c[tf];
    *kind = TSF_TIME_EPOCH;
    if (c->kind == TSF__FIELD_TEXT || c->kind == TSF__FIELD_ENUM) {
        for (size_t r = 0; r < t->n; r++)
            if (tsf_time_parse_text(c->s[r], strlen(c->s[r]), &time[r], NULL, NULL) != 1)
                TSF_FAIL(t->err, TSF_EFORMAT,
                         "%s: \"/%s\": time field \"%s\" value \"%s\" at row %zu is not a time "
                         "(expected ISO 8601 such as 2020-01-31 or 2020-01-31 12:00:00, a month "
                         "2020-01 or a quarter 2020Q1)",
                         t->path, t->key, c->name, c->s[r], r);
        return TSF_OK;
    }
    if (t->opt->time_unit == TSF_TIME_UNIT_INDEX)
        *kind = TSF_TIME_INDEX;
    for (size_t r = 0; r < t->n; r++) {
        double v = c->kind == TSF__FIELD_NUMBER ? c->x[r] : (double)c->i[r];
        if (c->kind == TSF__FIELD_INTEGER && c->r_int && c->i[r] == INT32_MIN)
            v = NAN;
        int rc = number_time(t, c, r, v, &time[r]);
        if (rc != TSF_OK)
            return rc;
    }
    return TSF_OK;
}

/* The series id field: its index, or k when there is none. Other text fields that hold times
 * (a date kept both as a string and as a number) are left out, with a note. */
static int find_id(const tab *t, size_t tf, size_t *idf)
{
    *idf = t->k;
    for (size_t j = 0; j < t->k; j++) {
        if (j == tf || !is_text(&t->c[j], t->n))
            continue;
        if (holds_times(&t->c[j], t->n)) {
            tsf__hdf5_note(t->info, "field \"%s\" holds times but \"%s\" is the time: left out",
                           t->c[j].name, tf < t->k ? t->c[tf].name : "?");
            continue;
        }
        if (*idf < t->k)
            TSF_FAIL(t->err, TSF_EFORMAT,
                     "%s: \"/%s\": fields \"%s\" and \"%s\" both hold text; tsflow takes one text "
                     "field as the series id (a long table) and numbers as values (expected at "
                     "most one text field besides the time: drop the others before saving, or "
                     "name the time with --time-column)",
                     t->path, t->key, t->c[*idf].name, t->c[j].name);
        *idf = j;
    }
    return TSF_OK;
}

/* ---- grouping rows into series -------------------------------------------------------------- */

typedef struct row_key {
    const char *id;
    size_t row;
} row_key;

static int cmp_key(const void *a, const void *b)
{
    const row_key *x = a, *y = b;
    int c = strcmp(x->id, y->id);
    return c ? c : (x->row > y->row) - (x->row < y->row);
}

typedef struct group {
    size_t first, start, len; /* first row in the file; start in the sorted keys; its rows */
} group;

static int cmp_group(const void *a, const void *b)
{
    const group *x = a, *y = b;
    return (x->first > y->first) - (x->first < y->first);
}

/* perm[new] = old so that each id's rows are contiguous (in file order), series in order of
 * first appearance; ids[s] and starts[s] describe them. Returns the series count, 0 on memory. */
static size_t group_ids(char *const *id, size_t n, size_t *perm, const char ***ids, size_t **starts)
{
    row_key *key = malloc((n ? n : 1) * sizeof *key);
    group *g = malloc((n ? n : 1) * sizeof *g);
    size_t n_g = 0;
    *ids = NULL;
    *starts = NULL;
    if (key && g) {
        for (size_t r = 0; r < n; r++)
            key[r] = (row_key){id[r], r};
        qsort(key, n, sizeof *key, cmp_key);
        for (size_t r = 0; r < n; r++) {
            if (r == 0 || strcmp(key[r].id, key[r - 1].id))
                g[n_g++] = (group){key[r].row, r, 0};
            g[n_g - 1].len++;
        }
        qsort(g, n_g, sizeof *g, cmp_group);
        *ids = malloc((n_g ? n_g : 1) * sizeof **ids);
        *starts = malloc((n_g + 1) * sizeof **starts);
    }
    if (!*ids || !*starts) {
        free((void *)*ids);
        free(*starts);
        *ids = NULL;
        *starts = NULL;
        n_g = 0;
    }
    size_t at = 0;
    for (size_t s = 0; s < n_g; s++) {
        (*ids)[s] = key[g[s].start].id;
        (*starts)[s] = at;
        for (size_t r = 0; r < g[s].len; r++)
            perm[at++] = key[g[s].start + r].row;
    }
    if (n_g)
        (*starts)[n_g] = n;
    free(key);
    free(g);
    return n_g;
}

/* ---- the frame ------------------------------------------------------------------------------ */

/* Fill column col of f (rows in perm order) from numeric or logical field c. Returns how many
 * of R's NA_integer_ it met. */
static size_t fill_column(double *col, const tsf__h5_field *c, const size_t *perm, size_t n)
{
    size_t na = 0;
    for (size_t r = 0; r < n; r++) {
        size_t o = perm ? perm[r] : r;
        if (c->kind == TSF__FIELD_NUMBER) {
            col[r] = c->x[o];
        } else if (c->kind == TSF__FIELD_INTEGER) {
            int miss = c->r_int && c->i[o] == INT32_MIN;
            na += (size_t)miss;
            col[r] = miss ? NAN : (double)c->i[o];
        } else {
            col[r] = !strcmp(c->s[o], "TRUE") ? 1 : !strcmp(c->s[o], "FALSE") ? 0 : NAN;
        }
    }
    return na;
}

static int build(const tab *t, size_t tf, size_t idf, tsf_frame **out)
{
    size_t n = t->n, n_vals = 0;
    const char **names = malloc((t->k ? t->k : 1) * sizeof *names);
    int64_t *time = malloc((n ? n : 1) * sizeof *time);
    size_t *perm = idf < t->k ? malloc((n ? n : 1) * sizeof *perm) : NULL;
    const char **ids = NULL;
    size_t *starts = NULL, n_series = 1;
    tsf_frame *f = NULL;
    tsf_time_kind kind = TSF_TIME_INDEX;
    int rc = TSF_OK;
    if (!names || !time || (idf < t->k && !perm)) {
        rc = tsf_err_set(t->err, TSF_ENOMEM, "%s: \"/%s\": out of memory", t->path, t->key);
        goto cleanup;
    }
    for (size_t j = 0; j < t->k; j++)
        if (j != tf && j != idf && !is_text(&t->c[j], n))
            names[n_vals++] = t->c[j].name;
    if (n_vals == 0) {
        char list[512];
        rc = tsf_err_set(t->err, TSF_EFORMAT,
                         "%s: \"/%s\": the table has no numeric field to forecast (its fields: %s; "
                         "expected at least one field of numbers besides the time and the id)",
                         t->path, t->key, field_list(t, list, sizeof list));
        goto cleanup;
    }
    int timed = tf < t->k && !t->opt->no_time;
    if (timed && (rc = read_times(t, tf, time, &kind)) != TSF_OK)
        goto cleanup;
    for (size_t r = 0; !timed && r < n; r++)
        time[r] = (int64_t)r;
    if (perm && !(n_series = group_ids(t->c[idf].s, n, perm, &ids, &starts))) {
        rc = tsf_err_set(t->err, TSF_ENOMEM, "%s: \"/%s\": out of memory", t->path, t->key);
        goto cleanup;
    }
    if ((rc = tsf_frame_alloc(&f, n_vals, names, n, t->err)) != TSF_OK)
        goto cleanup;
    f->n_rows = n;
    f->series_start[1] = n;
    f->time_kind = kind;
    for (size_t r = 0; r < n; r++)
        f->time[r] = time[perm ? perm[r] : r];
    size_t na = 0;
    for (size_t j = 0, v = 0; j < t->k; j++)
        if (j != tf && j != idf && !is_text(&t->c[j], n))
            na += fill_column(f->cols[v++], &t->c[j], perm, n);
    if (na)
        tsf__hdf5_note(t->info,
                       "%zu value%s of -2147483648 in 32-bit integer fields read as "
                       "missing (R's NA_integer_)",
                       na, na == 1 ? "" : "s");
    if (timed)
        rc = tsf_frame_set_time_name(f, t->c[tf].name, t->err);
    if (rc == TSF_OK && perm) {
        rc = tsf_frame_set_series(f, n_series, ids, starts, t->err);
        if (rc == TSF_OK && !(f->id_name = tsf__strdup(t->c[idf].name, t->err)))
            rc = TSF_ENOMEM;
    }
cleanup:
    if (rc != TSF_OK)
        tsf_frame_free(f);
    else
        *out = f;
    free(names);
    free(time);
    free(perm);
    free((void *)ids);
    free(starts);
    return rc;
}

int tsf__hdf5_table_frame(hid_t ds, size_t n, const char *path, const char *key,
                          const tsf_hdf5_options *opt, tsf_hdf5_info *info, tsf_frame **out,
                          tsf_err *err)
{
    *out = NULL;
    hid_t ft = H5Dget_type(ds);
    int nm = ft < 0 ? -1 : H5Tget_nmembers(ft);
    if (nm <= 0) {
        tsf__h5_close(ft);
        return tsf__h5_fail(err, TSF_EFORMAT, "%s: \"/%s\": cannot read the fields of this table",
                            path, key);
    }
    tab t = {path, key, opt, info, err, calloc((size_t)nm, sizeof *t.c), (size_t)nm, n};
    int rc = t.c ? TSF_OK : tsf_err_set(err, TSF_ENOMEM, "%s: \"/%s\": out of memory", path, key);
    for (size_t j = 0; j < t.k && rc == TSF_OK; j++) {
        int x = tsf__h5_field_read(ds, ft, (unsigned)j, n, &t.c[j]);
        const char *name = t.c[j].name ? t.c[j].name : "?";
        if (x == -3)
            rc = tsf_err_set(err, TSF_ETYPE,
                             "%s: \"/%s\": field \"%s\" is neither text, a number nor a factor "
                             "(expected a table of text and numeric fields)",
                             path, key, name);
        else if (x == -2)
            rc = tsf_err_set(err, TSF_ENOMEM, "%s: \"/%s\": out of memory", path, key);
        else if (x != 0)
            rc = tsf__h5_fail(err, TSF_EIO, "%s: \"/%s\": cannot read field \"%s\"", path, key,
                              name);
    }
    tsf__h5_close(ft);
    size_t tf = t.k, idf = t.k;
    if (rc == TSF_OK && opt->no_time && opt->time_column)
        rc = tsf_err_set(err, TSF_EINVAL, "%s: \"/%s\": time_column and no_time both given", path,
                         key);
    if (rc == TSF_OK)
        rc = find_time(&t, &tf);
    if (rc == TSF_OK)
        rc = find_id(&t, tf, &idf);
    if (rc == TSF_OK)
        rc = build(&t, tf, idf, out);
    if (rc == TSF_OK && idf < t.k)
        tsf__hdf5_note(info, "a long table: field \"%s\" names %zu series", t.c[idf].name,
                       (*out)->n_series);
    for (size_t j = 0; t.c && j < t.k; j++)
        tsf__h5_field_clear(&t.c[j], n);
    free(t.c);
    return rc;
}
