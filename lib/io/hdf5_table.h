/* Tables in HDF5: compound datasets, one record per row and one named field per column, as R's
 * rhdf5 and hdf5r write data.frames, numpy writes structured arrays and tsflow writes its flat
 * forecast tables. Private to lib/io. */
#ifndef TSFLOW_IO_HDF5_TABLE_H
#define TSFLOW_IO_HDF5_TABLE_H

#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

#include "tsflow/io.h"

/* What a field holds once read. */
typedef enum tsf__h5_field_kind {
    TSF__FIELD_NUMBER = 0, /* x: floating point */
    TSF__FIELD_INTEGER,    /* i: any integer type */
    TSF__FIELD_TEXT,       /* s: strings, fixed or variable length */
    TSF__FIELD_ENUM,       /* s: the names of an enumeration (hdf5r's factors and logicals) */
} tsf__h5_field_kind;

/* One field of a compound dataset, read on its own. */
typedef struct tsf__h5_field {
    char *name; /* from H5Tget_member_name: free with H5free_memory */
    tsf__h5_field_kind kind;
    int r_int;  /* a signed 32-bit integer, where R writes NA_integer_ as INT32_MIN */
    double *x;  /* (n) TSF__FIELD_NUMBER */
    int64_t *i; /* (n) TSF__FIELD_INTEGER */
    char **s;   /* (n) TSF__FIELD_TEXT, TSF__FIELD_ENUM */
} tsf__h5_field;

/* Read field m of compound type ft of the 1-D dataset ds (n records) into c (zeroed first).
 * Returns 0, -1 (HDF5; the stack holds why), -2 (memory) or -3 (a type that is neither text, a
 * number nor an enumeration). c is filled as far as it got: clear it either way. */
int tsf__h5_field_read(hid_t ds, hid_t ft, unsigned m, size_t n, tsf__h5_field *c);
void tsf__h5_field_clear(tsf__h5_field *c, size_t n);

/* A frame from the 1-D compound dataset ds of n records (its extent already checked): see
 * lib/io/hdf5_table.c for which field is the time, the series id and the values. The frame's
 * times are as read (not yet checked for order or spacing); notes go to info->notes. key is the
 * dataset's path without the leading '/', for messages. */
int tsf__hdf5_table_frame(hid_t ds, size_t n, const char *path, const char *key,
                          const tsf_hdf5_options *opt, tsf_hdf5_info *info, tsf_frame **out,
                          tsf_err *err);

/* Append a decision to info->notes, "; "-separated (dropped when the buffer is full). */
void tsf__hdf5_note(tsf_hdf5_info *info, const char *fmt, ...) TSF_PRINTF(2, 3);

#endif
