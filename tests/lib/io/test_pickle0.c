/* The protocol-0 pickle decoder (lib/io/pickle0.c) on the attributes PyTables writes for pandas
 * (copied from files pandas 1.5 and PyTables 3.7 wrote) and on malformed text, which it must
 * refuse without reading past the end. */
#include <stdlib.h>
#include <string.h>

#include "pickle0.h"
#include "support.h"

/* Decode from an exact-size heap copy, so a read past the end is caught by ASan. */
static tsf__pk *decode(const char *text)
{
    size_t n = strlen(text);
    char *b = malloc(n ? n : 1);
    memcpy(b, text, n);
    tsf__pk *v = tsf__pk_decode(b, n);
    free(b);
    return v;
}

Test(pickle0, decodes_a_list_of_column_labels_with_escapes_and_latin1_bytes)
{
    /* [0, 'x y\\é'] as PyTables stores values_block_0_kind */
    tsf__pk *v = decode("(lp0\nI0\naVx y\\u005c\xe9\np1\na.");
    cr_assert_not_null(v);
    cr_assert_eq(v->kind, TSF__PK_LIST);
    cr_assert_eq(v->n, 2);
    cr_assert_eq(v->item[0]->kind, TSF__PK_INT);
    cr_assert_eq(v->item[0]->i, 0);
    cr_assert_eq(v->item[1]->kind, TSF__PK_STR);
    cr_assert_str_eq(v->item[1]->s, "x y\\\xc3\xa9");
    tsf__pk_free(v);
}

Test(pickle0, decodes_pandas_table_info_with_an_offset_object_and_the_index_name)
{
    tsf__pk *v = decode("(dp0\nI1\n(dp1\nVnames\np2\n(lp3\nNasVtype\np4\nVIndex\np5\nssVindex\n"
                        "p6\n(dp7\nVfreq\np8\ncpandas._libs.tslibs.offsets\nQuarterEnd\np9\n(I1\n"
                        "I00\nI11\ntp10\nRp11\nsVindex_name\np12\nVwhen\np13\nss.");
    cr_assert_not_null(v);
    const tsf__pk *ix = tsf__pk_get(v, "index");
    cr_assert_not_null(ix);
    cr_assert_str_eq(tsf__pk_get(ix, "index_name")->s, "when");
    const tsf__pk *fq = tsf__pk_get(ix, "freq");
    cr_assert_eq(fq->kind, TSF__PK_OBJECT);
    cr_assert_str_eq(fq->item[0]->s, "pandas._libs.tslibs.offsets.QuarterEnd");
    const tsf__pk *args = fq->item[1];
    cr_assert_eq(args->kind, TSF__PK_TUPLE);
    cr_assert_eq(args->n, 3);
    cr_assert_eq(args->item[1]->kind, TSF__PK_BOOL);
    cr_assert_eq(args->item[2]->i, 11);
    cr_assert_null(tsf__pk_get(v, "missing"));
    tsf__pk_free(v);
}

Test(pickle0, follows_the_memo_and_reads_python2_byte_strings)
{
    tsf__pk *v = decode("(lp0\nS'ab\\x41'\np1\nag1\na.");
    cr_assert_not_null(v);
    cr_assert_eq(v->n, 2);
    cr_assert_str_eq(v->item[0]->s, "abA");
    cr_assert_eq(v->item[0], v->item[1], "GET returns the value PUT stored");
    tsf__pk_free(v);
}

Test(pickle0, refuses_malformed_truncated_and_unsupported_pickles)
{
    static const char *const bad[] = {
        "",
        ".",
        "a.",
        "s.",
        "R.",
        "(lp0\n",
        "Vabc",
        "g0\n.",
        "(l(l(l(l.",
        "p65535\n.",
        "(dp0\nVa\n.",
        "0.",
        "b.",
        "S'\n.",
        "I99999999999999999999\n.",
        "\x80\x04\x95.", /* protocol 4 */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_null(decode(bad[i]), "case %zu should be refused", i);
    /* every prefix of a real pickle: refused, never read beyond */
    const char *real = "(dp0\nVindex\np6\n(dp7\nVfreq\np8\ncpandas._libs.tslibs.offsets\nHour\n"
                       "p9\n(I1\nI00\ntp10\nRp11\nss.";
    for (size_t n = 0; n < strlen(real); n++) {
        char *b = malloc(n ? n : 1);
        memcpy(b, real, n);
        cr_assert_null(tsf__pk_decode(b, n), "prefix of %zu bytes", n);
        free(b);
    }
}
