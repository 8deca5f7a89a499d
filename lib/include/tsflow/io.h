/* Reading and writing frames: CSV (streamed through libcsv) and HDF5 (plain datasets and
 * pandas' fixed format). Every writer is atomic: it writes a temporary file in the target's
 * directory, fsyncs it and renames it into place (see tsflow/atomic.h).
 */
#ifndef TSFLOW_IO_H
#define TSFLOW_IO_H

#include <stddef.h>
#include <stdint.h>

#include "tsflow/error.h"
#include "tsflow/frame.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- CSV ---------------------------------------------------------------------------------- */

/* What to do when consecutive timestamps of a series are further apart than the step. */
typedef enum tsf_gap_policy {
    TSF_GAP_ERROR = 0, /* refuse, naming the lines around the first gap */
    TSF_GAP_FILL = 1,  /* insert rows of NaN at the missing timestamps */
} tsf_gap_policy;

/* Where the time column is when no name is given. */
#define TSF_CSV_TIME_AUTO ((long)-1) /* the first column, if its first value parses as time */
#define TSF_CSV_TIME_NONE ((long)-2) /* no time column: plain integer index */

/* What the integers of a time column count. Without one, integers that are all plausible years
 * (1000 to 2999) are years and any other integer time column is an error naming the choices:
 * an integer is never silently taken for epoch seconds. */
typedef enum tsf_time_unit {
    TSF_TIME_UNIT_AUTO = 0,
    TSF_TIME_UNIT_S,     /* seconds since 1970-01-01 UTC */
    TSF_TIME_UNIT_MS,    /* milliseconds since then */
    TSF_TIME_UNIT_US,    /* microseconds since then */
    TSF_TIME_UNIT_NS,    /* nanoseconds (whole microseconds only: tsflow's resolution) */
    TSF_TIME_UNIT_YEAR,  /* years: January 1 of each */
    TSF_TIME_UNIT_INDEX, /* a plain integer index (TSF_TIME_INDEX) */
    TSF_TIME_UNIT_DAY,   /* days since 1970-01-01 (R's Date) */
} tsf_time_unit;

/* The names of tsf_time_unit, "s" .. "index", "d" ("auto" for TSF_TIME_UNIT_AUTO), for options. */
#define TSF_TIME_UNIT_COUNT 8
extern const char *const tsf_time_unit_names[TSF_TIME_UNIT_COUNT];

typedef struct tsf_csv_options {
    char delimiter;               /* ',', ';' or '\t'; 0 = detect from the header line */
    const char *time_column;      /* time column by name; NULL = use time_index */
    long time_index;              /* 0-based position, TSF_CSV_TIME_AUTO or TSF_CSV_TIME_NONE */
    const char *id_column;        /* long layout: the series id column; NULL = wide layout */
    const char *const *columns;   /* value columns to keep, in this order; NULL = all others */
    size_t n_columns;             /* entries in columns */
    const char *const *na_tokens; /* missing-value tokens; NULL = "", NA, NaN, nan, null */
    size_t n_na_tokens;           /* entries in na_tokens */
    tsf_gap_policy gaps;          /* default TSF_GAP_ERROR */
    size_t max_field;             /* longest accepted field in bytes; 0 = 1 MiB */
    const char *time_format;      /* strptime-style (tsf_time_parse_format); NULL = detect */
    tsf_time_unit time_unit;      /* what integer times count; default TSF_TIME_UNIT_AUTO */
    const char *tz; /* zone of local times without an offset, and of the frame (tsflow/tz.h);
                     * NULL: the one UTC offset the times write, else none */
} tsf_csv_options;

/* What the reader saw, for reports (all counts over the whole file). */
typedef struct tsf_csv_info {
    char delimiter;   /* the delimiter used */
    size_t n_lines;   /* physical lines read, header included */
    size_t n_records; /* data records */
    size_t n_missing; /* values that were missing-value tokens */
    size_t n_filled;  /* rows inserted by TSF_GAP_FILL */
} tsf_csv_info;

/* Defaults: detect delimiter, time column TSF_CSV_TIME_AUTO, wide layout, all columns. */
void tsf_csv_options_init(tsf_csv_options *opt);

/* Whether a column named `name` whose first value is `value` is a time column under
 * TSF_CSV_TIME_AUTO: the value parses as a time (tsf_time_parse_text, time_format, a day/month/
 * year date), or it is an integer and either opt->time_unit is set or the name is a time's
 * (year, date, time, ...). opt may be NULL. */
int tsf_csv_looks_like_time(const char *name, const char *value, size_t len,
                            const tsf_csv_options *opt);

/* Read a CSV file into a new frame. opt may be NULL for defaults; info may be NULL.
 * Errors name path:line:col (col = 1-based field number), the offending text and what was
 * expected. Time values: ISO 8601, months "1949-01", quarters "1960Q1", years, day/month/year
 * dates whose order the column settles, time_format for others, integers per time_unit. The
 * frequency is inferred per series (tsflow/freq.h). "inf"/"-inf" read as infinities (as in
 * pandas). Full list of decisions: lib/io/csv_read.c. */
int tsf_csv_read(tsf_frame **out, const char *path, const tsf_csv_options *opt, tsf_csv_info *info,
                 tsf_err *err) TSF_WUR;

/* A look at a CSV file without reading its values: the header, the first records as text, and
 * the records of each series, all decided by tsf_csv_read's own tokenizer and rules (delimiter
 * detection, quotes, blank lines, the time column of TSF_CSV_TIME_AUTO, the id column), so that
 * a plan made from it cannot disagree with what a read finds. Values and timestamps are not
 * parsed (a read may still refuse them); the whole file is scanned to count the records. */
typedef struct tsf_csv_peek {
    char delimiter;         /* the delimiter used */
    size_t n_cols;          /* header fields */
    char **names;           /* (n_cols) header names, as the reader names them */
    size_t n_rows;          /* records kept: the first min(max_rows, n_records) */
    char **rows;            /* (n_rows, n_cols) field texts, row-major; "" for a missing field */
    size_t n_values;        /* value columns of the frame a read makes */
    char **values;          /* (n_values) their names, in the frame's order */
    long time_col;          /* header index of the time column, or -1 */
    long id_col;            /* header index of the id column, or -1 */
    size_t n_records;       /* data records in the file */
    size_t n_series;        /* series (distinct ids; 1 without an id column) */
    size_t min_series_rows; /* records of the shortest series */
} tsf_csv_peek;

/* Peek at path with the options a read would get (NULL: defaults), keeping max_rows records.
 * Errors as tsf_csv_read's for the header and the layout (an empty file, no data rows, unknown
 * columns, a record with too many or too few fields). */
int tsf_csv_peek_read(tsf_csv_peek **out, const char *path, const tsf_csv_options *opt,
                      size_t max_rows, tsf_err *err) TSF_WUR;
void tsf_csv_peek_free(tsf_csv_peek *p); /* NULL is a no-op */

/* Write a frame as CSV (atomically): header "time,<cols>" (long layout: "<id>,time,<cols>"),
 * where "time" and "<id>" are the frame's time_name and id_name when set; values as the
 * shortest of %.15g/%.16g/%.17g that reads back as the same double, NaN as an empty field,
 * timestamps in the form tsf_time_format writes. A frame whose integer index is 0, 1, 2, ...
 * in every series is written without a time column (see lib/io/csv_write.c). */
int tsf_csv_write(const tsf_frame *f, const char *path, tsf_err *err) TSF_WUR;

/* Write v as the shortest of %.15g, %.16g, %.17g that reads back (through the CSV reader) as
 * the same double; "inf"/"-inf" for infinities, "" for NaN. Every text output of tsflow (CSV
 * frames, forecasts, metrics) formats numbers with it, so values round-trip exactly.
 * buf needs 32 bytes. Returns the length written. */
size_t tsf_format_double(char *buf, size_t n, double v);

/* ---- HDF5 --------------------------------------------------------------------------------- */

/* Which dimension of a 2-D dataset runs along time. */
typedef enum tsf_hdf5_time_dim {
    TSF_HDF5_TIME_DIM_AUTO = -1, /* decide from names, time dataset and writer (hdf5_read.c) */
    TSF_HDF5_TIME_DIM_0 = 0,     /* rows x columns: numpy, h5py, pandas, netCDF (time, ...) */
    TSF_HDF5_TIME_DIM_1 = 1,     /* columns x rows: R matrices (rhdf5, hdf5r), Fortran, MATLAB */
} tsf_hdf5_time_dim;

/* How to read an HDF5 object; the fields shared with tsf_csv_options mean the same. */
typedef struct tsf_hdf5_options {
    const char *time_column;    /* the time by name: a dataset beside the data, one of its
                                 * columns, or a pandas index or column; NULL = found by the
                                 * naming rules of lib/io/hdf5_read.c */
    int no_time;                /* ignore any time: rows get 0, 1, 2, ... in each series */
    const char *const *columns; /* value columns to keep, in this order; NULL = all */
    size_t n_columns;           /* entries in columns */
    tsf_gap_policy gaps;        /* default TSF_GAP_ERROR */
    tsf_hdf5_time_dim time_dim; /* default TSF_HDF5_TIME_DIM_AUTO */
    tsf_time_unit time_unit;    /* what numbers in a table's time field or in a time dataset
                                 * without CF units count; default TSF_TIME_UNIT_AUTO */
} tsf_hdf5_options;

/* What the reader decided and saw, for the caller to log (lib/ never prints). */
typedef struct tsf_hdf5_info {
    size_t n_filled; /* rows inserted by TSF_GAP_FILL */
    size_t n_masked; /* values made NaN by CF _FillValue, missing_value or valid range */
    int time_dim;    /* the dimension of a 2-D dataset taken as time (0 or 1) */
    char notes[512]; /* decisions worth a log line ("; "-separated), e.g. CF scaling applied,
                      * an R matrix read with dimension 1 as time; "" when none */
} tsf_hdf5_info;

/* Defaults: time found by the naming rules, all columns, gaps refused, time_dim decided. */
void tsf_hdf5_options_init(tsf_hdf5_options *opt);

/* Read a frame from an HDF5 file. key names either a pandas fixed-format frame group or a
 * plain 1-D/2-D numeric dataset (time dataset and column names found as documented in
 * lib/io/hdf5_read.c). key NULL means "data". opt NULL means defaults; info may be NULL. */
int tsf_hdf5_read_opt(tsf_frame **out, const char *path, const char *key,
                      const tsf_hdf5_options *opt, tsf_hdf5_info *info, tsf_err *err) TSF_WUR;

/* tsf_hdf5_read_opt with default options. */
int tsf_hdf5_read(tsf_frame **out, const char *path, const char *key, tsf_err *err) TSF_WUR;

/* Write a frame to a new HDF5 file (atomically) under key (NULL = "data"): a pandas
 * fixed-format group /<key> that pandas.read_hdf(path, key) opens, and plain datasets with
 * dimension scales under /<key>_xr... (see lib/io/hdf5_write.c) for h5py and xarray. */
int tsf_hdf5_write(const tsf_frame *f, const char *path, const char *key, tsf_err *err) TSF_WUR;

/* The same layout written into an HDF5 file being built with tsflow/h5out.h (e.g. beside
 * forecasts and metrics in one export): /key and /key_xr. */
struct tsf_h5out;
int tsf_hdf5_write_frame(struct tsf_h5out *o, const tsf_frame *f, const char *key,
                         tsf_err *err) TSF_WUR;

/* Only some of the layouts: TSF_HDF5_PANDAS (/key), TSF_HDF5_XARRAY (/key_xr), or both. */
#define TSF_HDF5_PANDAS 1u
#define TSF_HDF5_XARRAY 2u
int tsf_hdf5_write_frame_as(struct tsf_h5out *o, const tsf_frame *f, const char *key,
                            unsigned layouts, tsf_err *err) TSF_WUR;

/* Tables: a compound dataset (R's data.frames, tsflow's "forecasts_flat"), or a pandas group
 * with such a table beside it under <key>_flat (tsflow's "forecasts"). tsf_hdf5_is_table says
 * whether key names one; tsf_hdf5_table_write_csv writes it to out as CSV (atomically): a header
 * of the field names, text fields as they are (quoted where needed), numbers round-tripping. */
int tsf_hdf5_is_table(const char *path, const char *key);
int tsf_hdf5_table_write_csv(const char *path, const char *key, const char *out,
                             tsf_err *err) TSF_WUR;

/* Whether path looks like an HDF5 file (by its signature); 0 for CSV or unreadable files. */
int tsf_is_hdf5(const char *path);

/* The HDF5 file being parsed right now, or NULL. libhdf5 1.10 can crash on a damaged or crafted
 * file, inside the library (tests/fuzz/README.md lists where); every libtsflow call that reads
 * an HDF5 file records its path for the duration so that a program's fatal-signal handler can
 * name the file and say what happened instead of dying unexplained. tsf_hdf5_parsing() is
 * async-signal-safe. Code that opens HDF5 files itself (a stage's check) brackets its reading
 * with prev = tsf_hdf5_parsing_set(path) ... tsf_hdf5_parsing_set(prev). */
const char *tsf_hdf5_parsing(void);
const char *tsf_hdf5_parsing_set(const char *path);

/* When the HDF5 read in progress should be over (CLOCK_MONOTONIC seconds), or 0 for none.
 * libhdf5 1.10 loops for ever on some damaged global heaps (variable-length strings, lists of
 * dimension scales); the readers set a deadline around such reads, generous for what they read,
 * so that a program's watchdog can stop a read that will never end (with the file from
 * tsf_hdf5_parsing). Thread-safe. */
double tsf_hdf5_deadline(void);

#ifdef __cplusplus
}
#endif

#endif
