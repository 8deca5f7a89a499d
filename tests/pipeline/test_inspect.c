/* tsflow inspect, end to end: the text and JSON reports, read options, errors and exit codes,
 * and on ETTm1 the figures pandas computes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

static const char *fixture(const char *name)
{
    static char rel[256];
    snprintf(rel, sizeof rel, "tests/fixtures/csv/%s", name);
    return tsft_source(rel);
}

#define ASSERT_HAS(text, sub)                                                                      \
    cr_assert(strstr((text), (sub)), "missing \"%s\" in:\n%s", (sub), (text))

Test(inspect, prints_rows_step_span_and_column_statistics_as_text)
{
    char *out, *err;
    int rc = tsft_tsflow(&out, &err, "inspect", fixture("wide.csv"), NULL);
    cr_assert_eq(rc, 0, "%s", err);
    ASSERT_HAS(out, "  rows    4\n");
    ASSERT_HAS(out, "  step    3600 s\n");
    ASSERT_HAS(out, "  span    2020-01-01 00:00:00 .. 2020-01-01 03:00:00\n");
    /* load: 1.5, 2.25, NA, 4 -> count 3, missing 1, mean 2.58333 */
    ASSERT_HAS(out, "  load            3        1            1.5        2.58333              4\n");
    ASSERT_HAS(out, "  temp            3        1             -3           -2.5             -2\n");
}

Test(inspect, json_of_a_long_layout_spans_all_series)
{
    char *out, *err;
    int rc = tsft_tsflow(&out, &err, "inspect", "--json", "--id-column", "station",
                         fixture("long_interleaved.csv"), NULL);
    cr_assert_eq(rc, 0, "%s", err);
    ASSERT_HAS(out, "\"rows\": 6, \"series\": 3, \"step_seconds\": 86400, \"freq\": \"D\", "
                    "\"season\": 7, \"tz\": null, \"periods\": 6, \"missing_periods\": 0, "
                    "\"rows_filled\": 0, \"time_column\": \"day\", \"id_column\": \"station\", "
                    "\"start\": \"2022-05-01 00:00:00\", \"end\": \"2022-05-03 00:00:00\"");
    ASSERT_HAS(out, "{\"name\": \"wind\", \"count\": 6, \"missing\": 0, \"min\": 1, \"mean\": "
                    "4.333333333333333, \"max\": 7");
}

Test(inspect, read_options_select_columns_set_the_delimiter_and_fill_gaps)
{
    char *out, *err;
    int rc = tsft_tsflow(&out, &err, "inspect", "--json", "--gaps", "fill", "--columns", "v",
                         "--delimiter", ",", fixture("gap.csv"), NULL);
    cr_assert_eq(rc, 0, "%s", err);
    ASSERT_HAS(out, "\"rows\": 6, \"series\": 1, \"step_seconds\": 900");
    ASSERT_HAS(out, "{\"name\": \"v\", \"count\": 4, \"missing\": 2, \"min\": 1, \"mean\": 3.5");
    rc = tsft_tsflow(&out, &err, "inspect", "--no-time", "--na", "", "--columns", "a",
                     fixture("bom_crlf_semicolon.csv"), NULL);
    cr_assert_eq(rc, 0, "%s", err);
    ASSERT_HAS(out, "  step    1 (integer index)\n");
    ASSERT_HAS(out, "  span    0 .. 2\n");
}

Test(inspect, a_malformed_file_fails_with_the_readers_message_and_status_1)
{
    char *out, *err;
    const char *p = fixture("gap.csv");
    int rc = tsft_tsflow(&out, &err, "inspect", p, NULL);
    cr_assert_eq(rc, 1);
    cr_assert_str_eq(out, "");
    char want[512];
    snprintf(want, sizeof want, "tsflow: %s:4:1: gap of 2 missing timestamps between line 3", p);
    cr_assert(strncmp(err, want, strlen(want)) == 0, "%s", err);
    const char *missing = tsft_path(tsft_tmpdir(), "absent.csv");
    rc = tsft_tsflow(&out, &err, "inspect", missing, NULL);
    cr_assert_eq(rc, 1);
    snprintf(want, sizeof want,
             "tsflow: %s: cannot read: No such file or directory (expected a readable CSV or "
             "HDF5 file)\n",
             missing);
    cr_assert_str_eq(err, want);
}

Test(inspect, usage_errors_exit_with_status_2)
{
    char *out, *err;
    cr_assert_eq(tsft_tsflow(&out, &err, "inspect", NULL), 2);
    cr_assert_str_eq(err, "tsflow: inspect: expected a FILE to inspect (see 'tsflow inspect "
                          "--help')\n");
    cr_assert_eq(tsft_tsflow(&out, &err, "inspect", "--gaps", "skip", "x.csv", NULL), 2);
    cr_assert_str_eq(err, "tsflow: --gaps: \"skip\" is not a policy (expected error or fill)\n");
    cr_assert_eq(tsft_tsflow(&out, &err, "inspect", "--delimiter", "|", "x.csv", NULL), 2);
    cr_assert_eq(tsft_tsflow(&out, &err, "inspect", "a.csv", "b.csv", NULL), 2);
    cr_assert_eq(tsft_tsflow(&out, &err, "inspect", "--frobnicate", "a.csv", NULL), 2);
    cr_assert_eq(tsft_tsflow(&out, &err, "inspect", "--help", NULL), 0);
    ASSERT_HAS(out, "usage: tsflow inspect");
}

/* ETTm1: tsflow's JSON against pandas.read_csv, checked by Debian's python3. */
static const char *check_py =
    "import json, sys, pandas as pd\n"
    "rep = json.loads(sys.argv[1])\n"
    "df = pd.read_csv(sys.argv[2])\n"
    "vals = df.columns[1:]\n"
    "bad = []\n"
    "if rep['rows'] != 69680: bad.append('rows %r' % rep['rows'])\n"
    "if rep['step_seconds'] != 900: bad.append('step %r' % rep['step_seconds'])\n"
    "if rep['start'] != df['date'].iloc[0] or rep['end'] != df['date'].iloc[-1]:\n"
    "    bad.append('span %r .. %r' % (rep['start'], rep['end']))\n"
    "if [c['name'] for c in rep['columns']] != list(vals): bad.append('columns')\n"
    "worst = 0.0\n"
    "for c in rep['columns']:\n"
    "    s = df[c['name']]\n"
    "    rel = abs(c['mean'] - s.mean()) / abs(s.mean())\n"
    "    worst = max(worst, rel)\n"
    "    if rel > 1e-12: bad.append('%s mean %r vs pandas %r (rel %.3g)' % (c['name'], c['mean'], "
    "s.mean(), rel))\n"
    "    if c['count'] != s.count() or c['missing'] != s.isna().sum(): bad.append(c['name'] + ' "
    "counts')\n"
    "    if c['min'] != s.min() or c['max'] != s.max(): bad.append(c['name'] + ' min/max')\n"
    "print('; '.join(bad) if bad else 'ok %.3g' % worst)\n"
    "sys.exit(1 if bad else 0)\n";

Test(ett, ettm1_json_reports_rows_step_columns_and_means_equal_to_pandas)
{
    TSFT_NEED_SHARED(path, "ett/ETTm1.csv");
    tsft_need_python_modules("pandas");
    char *out, *err;
    int rc = tsft_tsflow(&out, &err, "inspect", "--json", path, NULL);
    cr_assert_eq(rc, 0, "%s", err);
    char *pout, *perr;
    rc = tsft_python(check_py, &pout, &perr, out, path, NULL);
    cr_assert_eq(rc, 0, "tsflow inspect --json disagrees with pandas: %s%s", pout, perr);
    cr_log_info("ETTm1 means: largest relative difference from pandas %s", pout + 3);
}
