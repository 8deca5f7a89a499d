/* Python pickles of protocol 0, as PyTables stores attributes that are not numbers or strings
 * (pandas' column lists, index names and frequencies of format="table" and of PeriodIndex).
 * Decoding only builds values: nothing is called or imported. Private to lib/io. */
#ifndef TSFLOW_IO_PICKLE0_H
#define TSFLOW_IO_PICKLE0_H

#include <stddef.h>
#include <stdint.h>

typedef enum tsf__pk_kind {
    TSF__PK_NONE = 0,
    TSF__PK_BOOL,   /* i: 0 or 1 */
    TSF__PK_INT,    /* i */
    TSF__PK_FLOAT,  /* x */
    TSF__PK_STR,    /* s: UTF-8 (str and bytes alike) */
    TSF__PK_LIST,   /* item[0..n) */
    TSF__PK_TUPLE,  /* item[0..n) */
    TSF__PK_DICT,   /* item[2k] a key, item[2k+1] its value, k < n */
    TSF__PK_GLOBAL, /* s: "module.name" of a class or function */
    TSF__PK_OBJECT, /* what calling item[0] (a GLOBAL) with the tuple item[1] would make */
} tsf__pk_kind;

typedef struct tsf__pk {
    tsf__pk_kind kind;
    int64_t i;
    double x;
    char *s;
    struct tsf__pk **item;
    size_t n;
    struct tsf__pk *next; /* every value of a document, for freeing */
} tsf__pk;

/* Decode the len bytes of text (a whole pickle, ending with '.'). Returns the root value, or
 * NULL when the text is not a protocol-0 pickle of plain values (or memory ran out). Free with
 * tsf__pk_free. */
tsf__pk *tsf__pk_decode(const char *text, size_t len);
void tsf__pk_free(tsf__pk *root); /* NULL is a no-op */

/* The value of a dict under the string key (NULL when absent or d is no dict). */
const tsf__pk *tsf__pk_get(const tsf__pk *d, const char *key);

/* The zone a pickled Python tzinfo names, as tsflow/tz.h spells zones, into buf: pytz's zones
 * ("pytz._p" with the IANA name, "pytz._UTC", "pytz.FixedOffset" in minutes), zoneinfo.ZoneInfo
 * and datetime.timezone (a timedelta offset). Returns 1 with the name, 0 when z is absent or
 * None (no zone), -1 for another object (a zone tsflow cannot name; buf gets its class). */
int tsf__pk_zone(const tsf__pk *z, char *buf, size_t cap);

#endif
