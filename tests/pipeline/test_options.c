/* The option parser every front end shares: each type, ranges, choices, lists, paths, the
 * "expected" texts that errors and help print, and the "did you mean" suggestions. */
#include <math.h>
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runner.h"
#include "support.h"

#define ASSERT_HAS(text, sub)                                                                      \
    cr_assert(strstr((text), (sub)), "missing \"%s\" in:\n%s", (sub), (text))

typedef struct st {
    int flag;
    int64_t count;
    size_t size;
    double rate;
    const char *name;
    int mode;
    tsf_doubles qs;
    tsf_strings cols;
    const char *in;
    const char *out;
    tsf_enums kinds;
} st;

static const char *const modes[] = {"fast", "slow", "exact", NULL};

static const tsf_option opts[] = {
    {.name = "flag",
     .type = TSF_OPT_BOOL,
     .offset = offsetof(st, flag),
     .def = "false",
     .help = "b"},
    {.name = "count",
     .type = TSF_OPT_INT,
     .offset = offsetof(st, count),
     .def = "0",
     .min = -5,
     .max = 5,
     .help = "i"},
    {.name = "size",
     .type = TSF_OPT_SIZE,
     .offset = offsetof(st, size),
     .def = "1",
     .min = 1,
     .max = 100,
     .help = "s"},
    {.name = "rate",
     .type = TSF_OPT_DOUBLE,
     .offset = offsetof(st, rate),
     .def = "0.5",
     .min = 0,
     .max = 1,
     .flags = TSF_OPT_MIN_EXCLUSIVE,
     .help = "d"},
    {.name = "name", .type = TSF_OPT_STRING, .offset = offsetof(st, name), .help = "t"},
    {.name = "mode",
     .type = TSF_OPT_ENUM,
     .offset = offsetof(st, mode),
     .def = "fast",
     .choices = modes,
     .help = "e"},
    {.name = "qs",
     .type = TSF_OPT_DOUBLES,
     .offset = offsetof(st, qs),
     .min = 0,
     .max = 1,
     .help = "l"},
    {.name = "cols", .type = TSF_OPT_STRINGS, .offset = offsetof(st, cols), .help = "L"},
    {.name = "in", .type = TSF_OPT_PATH_IN, .offset = offsetof(st, in), .help = "p"},
    {.name = "out", .type = TSF_OPT_PATH_OUT, .offset = offsetof(st, out), .help = "P"},
    {.name = "kinds",
     .type = TSF_OPT_ENUMS,
     .offset = offsetof(st, kinds),
     .choices = modes,
     .help = "E"},
    TSF_OPTION_END,
};

static const tsf_option *opt(const char *name)
{
    const tsf_option *o = tsf_opt_find(opts, name);
    cr_assert(o, "no option %s", name);
    return o;
}

/* Parse text into s; returns the code, leaves the message in err. */
static int parse(st *s, const char *name, const char *text, tsf_err *err)
{
    tsf_err_clear(err);
    return tsf_opt_parse(opt(name), text, "base/dir", s, err);
}

static void parse_ok(st *s, const char *name, const char *text)
{
    tsf_err err = TSF_ERR_INIT;
    int rc = parse(s, name, text, &err);
    cr_assert_eq(rc, TSF_OK, "%s = %s: %s", name, text, err.msg);
}

static void parse_fails(const char *name, const char *text, const char *msg)
{
    st s;
    memset(&s, 0, sizeof s);
    tsf_err err = TSF_ERR_INIT;
    int rc = parse(&s, name, text, &err);
    cr_assert_eq(rc, TSF_EINVAL, "%s = %s: expected EINVAL, got %d", name, text, rc);
    cr_assert_str_eq(err.msg, msg);
    tsf_opts_clear(opts, &s);
}

Test(options, parses_booleans_in_every_spelling)
{
    st s;
    memset(&s, 0, sizeof s);
    const char *yes[] = {"true", "Yes", "ON", "1"}, *no[] = {"false", "no", "Off", "0"};
    for (int i = 0; i < 4; i++) {
        parse_ok(&s, "flag", yes[i]);
        cr_assert_eq(s.flag, 1, "%s", yes[i]);
        parse_ok(&s, "flag", no[i]);
        cr_assert_eq(s.flag, 0, "%s", no[i]);
    }
    parse_fails("flag", "maybe", "\"maybe\" is not a boolean (expected true or false)");
}

Test(options, parses_integers_and_sizes_within_their_ranges)
{
    st s;
    memset(&s, 0, sizeof s);
    parse_ok(&s, "count", "-5");
    cr_assert_eq(s.count, -5);
    parse_ok(&s, "count", " +5 ");
    cr_assert_eq(s.count, 5);
    parse_ok(&s, "size", "100");
    cr_assert_eq(s.size, 100);
    parse_fails("count", "6", "\"6\" is out of range (expected an integer from -5 to 5)");
    parse_fails("count", "1.5", "\"1.5\" is not an integer (expected an integer from -5 to 5)");
    parse_fails("count", "99999999999999999999",
                "\"99999999999999999999\" is out of range (expected an integer from -5 to 5)");
    parse_fails("size", "0", "\"0\" is out of range (expected an integer from 1 to 100)");
    parse_fails("size", "-3", "\"-3\" is negative (expected an integer from 1 to 100)");
    parse_fails("size", "", "\"\" is not an integer (expected an integer from 1 to 100)");
    parse_fails("size", "12abc", "\"12abc\" is not an integer (expected an integer from 1 to 100)");
}

Test(options, parses_numbers_and_honours_exclusive_bounds)
{
    st s;
    memset(&s, 0, sizeof s);
    parse_ok(&s, "rate", "1e-3");
    cr_assert_eq(s.rate, 1e-3);
    parse_ok(&s, "rate", "1");
    cr_assert_eq(s.rate, 1.0);
    parse_fails("rate", "0",
                "\"0\" is out of range (expected a number greater than 0 and at most 1)");
    parse_fails("rate", "nan",
                "\"nan\" is not a finite number (expected a number greater than 0 and at most 1)");
    parse_fails("rate", "inf",
                "\"inf\" is not a finite number (expected a number greater than 0 and at most 1)");
    parse_fails("rate", "0.5 # half",
                "\"0.5 # half\" is not a finite number (expected a number greater than 0 and at "
                "most 1; comments start a line with # or ;, or follow a space with ;)");
}

Test(options, parses_strings_with_optional_quotes)
{
    st s;
    memset(&s, 0, sizeof s);
    parse_ok(&s, "name", "\"a, b\"");
    cr_assert_str_eq(s.name, "a, b");
    parse_ok(&s, "name", "plain text");
    cr_assert_str_eq(s.name, "plain text");
    parse_ok(&s, "name", "\"\"");
    cr_assert_str_eq(s.name, "");
    parse_ok(&s, "name", "");
    cr_assert_null(s.name, "an unquoted empty value leaves a string unset");
    tsf_opts_clear(opts, &s);
}

Test(options, matches_choices_in_any_case_and_suggests_the_closest)
{
    st s;
    memset(&s, 0, sizeof s);
    parse_ok(&s, "mode", "EXACT");
    cr_assert_eq(s.mode, 2);
    parse_fails("mode", "slwo",
                "\"slwo\" is not one of fast, slow, exact (did you mean \"slow\"?)");
    parse_fails("mode", "quick", "\"quick\" is not one of fast, slow, exact");
}

Test(options, parses_lists_of_numbers_checking_each_item)
{
    st s;
    memset(&s, 0, sizeof s);
    parse_ok(&s, "qs", "0.1, 0.5,0.9");
    cr_assert_eq(s.qs.n, 3);
    cr_assert_eq(s.qs.v[0], 0.1);
    cr_assert_eq(s.qs.v[2], 0.9);
    parse_ok(&s, "qs", "0.25,\n0.75,"); /* continuation lines and a trailing comma */
    cr_assert_eq(s.qs.n, 2);
    cr_assert_eq(s.qs.v[1], 0.75);
    parse_ok(&s, "qs", "");
    cr_assert_eq(s.qs.n, 0);
    cr_assert_null(s.qs.v);
    parse_fails("qs", "0.1, 2",
                "item 2, \"2\", is out of range (expected a comma-separated list of numbers, each "
                "from 0 to 1)");
    parse_fails("qs", "0.1, x",
                "item 2, \"x\", is not a number (expected a comma-separated list of numbers, "
                "each from 0 to 1)");
    tsf_opts_clear(opts, &s);
}

Test(options, parses_lists_of_strings_with_quoted_commas_and_empty_items)
{
    st s;
    memset(&s, 0, sizeof s);
    parse_ok(&s, "cols", "load, \"a,b\", \"\" ,temp");
    cr_assert_eq(s.cols.n, 4);
    cr_assert_str_eq(s.cols.v[0], "load");
    cr_assert_str_eq(s.cols.v[1], "a,b");
    cr_assert_str_eq(s.cols.v[2], "");
    cr_assert_str_eq(s.cols.v[3], "temp");
    parse_fails("cols", "a, \"b",
                "\"a, \\\"b\" has an unterminated quote (expected a comma-separated list of "
                "strings)");
    tsf_opts_clear(opts, &s);
}

Test(options, joins_relative_paths_to_the_base_directory_only)
{
    st s;
    memset(&s, 0, sizeof s);
    parse_ok(&s, "in", "data.csv");
    cr_assert_str_eq(s.in, "base/dir/data.csv");
    parse_ok(&s, "in", "/abs/data.csv");
    cr_assert_str_eq(s.in, "/abs/data.csv");
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_opt_parse(opt("out"), "\"out file.h5\"", NULL, &s, &err), TSF_OK);
    cr_assert_str_eq(s.out, "out file.h5");
    parse_fails("in", "", "\"\" is empty (expected the path of a readable file)");
    tsf_opts_clear(opts, &s);
}

Test(options, refuses_a_scalar_value_spanning_several_lines)
{
    parse_fails("name", "a\nb",
                "\"a\\nb\" spans several lines (only lists continue on indented lines: is a "
                "following line indented by mistake?)");
}

Test(options, replacing_a_value_frees_the_previous_one)
{
    /* Under ASan a leak here fails the test. */
    st s;
    memset(&s, 0, sizeof s);
    parse_ok(&s, "name", "first");
    parse_ok(&s, "name", "second");
    parse_ok(&s, "cols", "a, b");
    parse_ok(&s, "cols", "c");
    parse_ok(&s, "qs", "0.1");
    parse_ok(&s, "qs", "0.2, 0.3");
    cr_assert_str_eq(s.name, "second");
    cr_assert_eq(s.cols.n, 1);
    cr_assert_eq(s.qs.n, 2);
    tsf_opts_clear(opts, &s);
    cr_assert_null(s.name);
    cr_assert_null(s.cols.v);
}

Test(options, describes_what_each_type_expects)
{
    char buf[256];
    struct {
        const char *name, *want;
    } cases[] = {
        {"flag", "true or false"},
        {"count", "an integer from -5 to 5"},
        {"size", "an integer from 1 to 100"},
        {"rate", "a number greater than 0 and at most 1"},
        {"name", "a string"},
        {"mode", "one of fast, slow, exact"},
        {"qs", "a comma-separated list of numbers, each from 0 to 1"},
        {"cols", "a comma-separated list of strings"},
        {"in", "the path of a readable file"},
        {"out", "the path of a file to write, in an existing writable directory"},
        {"kinds", "a comma-separated list of fast, slow, exact, each at most once"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tsf_opt_expected(opt(cases[i].name), buf, sizeof buf);
        cr_assert_str_eq(buf, cases[i].want);
    }
    tsf_option open_size = {.name = "n", .type = TSF_OPT_SIZE, .help = "n"};
    tsf_opt_expected(&open_size, buf, sizeof buf);
    cr_assert_str_eq(buf, "a non-negative integer");
    tsf_option lower = {.name = "n",
                        .type = TSF_OPT_DOUBLE,
                        .min = 0,
                        .max = HUGE_VAL,
                        .flags = TSF_OPT_MIN_EXCLUSIVE,
                        .help = "n"};
    tsf_opt_expected(&lower, buf, sizeof buf);
    cr_assert_str_eq(buf, "a number greater than 0");
    tsf_opt_type_label(opt("mode"), buf, sizeof buf);
    cr_assert_str_eq(buf, "fast|slow|exact");
    tsf_opt_type_label(opt("kinds"), buf, sizeof buf);
    cr_assert_str_eq(buf, "fast|slow|exact, ...");
}

Test(options, formats_values_back_as_text)
{
    st s;
    memset(&s, 0, sizeof s);
    char buf[128];
    parse_ok(&s, "qs", "0.1, 0.5");
    tsf_opt_format(opt("qs"), &s, buf, sizeof buf);
    cr_assert_str_eq(buf, "0.1, 0.5");
    parse_ok(&s, "mode", "slow");
    tsf_opt_format(opt("mode"), &s, buf, sizeof buf);
    cr_assert_str_eq(buf, "slow");
    tsf_opt_format(opt("name"), &s, buf, sizeof buf);
    cr_assert_str_eq(buf, "(unset)");
    parse_ok(&s, "kinds", "exact, FAST");
    tsf_opt_format(opt("kinds"), &s, buf, sizeof buf);
    cr_assert_str_eq(buf, "exact, fast");
    tsf_opts_clear(opts, &s);
}

Test(options, parses_enum_lists_into_indices_in_the_order_given)
{
    st s;
    memset(&s, 0, sizeof s);
    parse_ok(&s, "kinds", "exact,\n Fast");
    cr_assert_eq(s.kinds.n, 2);
    cr_assert_eq(s.kinds.v[0], 2);
    cr_assert_eq(s.kinds.v[1], 0);
    cr_assert_eq(tsf_enums_mask(&s.kinds), 5u);
    parse_ok(&s, "kinds", "\"\"");
    cr_assert_eq(s.kinds.n, 0, "\"\" is the empty list");
    cr_assert_null(s.kinds.v);
    cr_assert_eq(tsf_enums_mask(&s.kinds), 0u);
    tsf_opts_clear(opts, &s);
}

Test(options, refuses_an_unknown_or_repeated_item_of_an_enum_list_listing_the_choices)
{
    parse_fails("kinds", "fast, slwo",
                "\"slwo\" is not one of fast, slow, exact (did you mean \"slow\"?)");
    parse_fails("kinds", "quick", "\"quick\" is not one of fast, slow, exact");
    parse_fails("kinds", "slow, fast, SLOW",
                "\"slow\" is listed twice (expected each at most once)");
}

/* Every front end goes through the runner: a pipeline file, --set, and the generated help of a
 * built-in stage whose enum list names the baselines. */
Test(options, a_stage_enum_list_is_checked_and_described_by_the_runner)
{
    const char *dir = tsft_tmpdir();
    char csv[2048] = "t,y\n";
    for (int i = 0; i < 40; i++)
        snprintf(csv + strlen(csv), sizeof csv - strlen(csv), "%d,%d\n", i, i % 7);
    tsft_write_file(tsft_path(dir, "line.csv"), csv, strlen(csv));
    const char *ini = "[data]\nstage = ingest.csv\npath = line.csv\n"
                      "[bt]\nstage = backtest\nhorizon = 5\ntrain_length = 20\n"
                      "baselines = naive, seasnaive\n";
    const char *path = tsft_keep(strdup(tsft_path(dir, "bt.ini")));
    tsft_write_file(path, ini, strlen(ini));
    char *out, *err;
    cr_assert_eq(tsft_tsflow(&out, &err, "check", path, NULL), 2, "%s", err);
    ASSERT_HAS(err, "bt.ini:8: step \"bt\", key \"baselines\": \"seasnaive\" is not one of naive, "
                    "snaive, drift, mean, ets, theta (did you mean \"snaive\"?)");
    cr_assert_eq(tsft_tsflow(&out, &err, "check", "--set", "bt.baselines=drift, pie", path, NULL),
                 2, "%s", err);
    ASSERT_HAS(err, "--set bt.baselines=drift, pie: step \"bt\", key \"baselines\": \"pie\" is "
                    "not one of naive, snaive, drift, mean, ets, theta");
    cr_assert_eq(tsft_tsflow(&out, &err, "check", "--set", "bt.baselines=mean, drift", path, NULL),
                 0, "%s", err);
    cr_assert_eq(tsft_tsflow(&out, &err, "help", "backtest", NULL), 0, "%s", err);
    ASSERT_HAS(out, "  baselines = naive|snaive|drift|mean|ets|theta, ...  (default naive, "
                    "snaive)\n");
    cr_assert_eq(tsft_tsflow(&out, &err, "help", "metrics", NULL), 0, "%s", err);
    ASSERT_HAS(out, "  by = all|step|series|fold, ...  (default all, step, series, fold)\n");
}

Test(suggest, edit_distance_matches_textbook_values)
{
    /* Levenshtein's classic pair, plus OSA's adjacent transposition. */
    cr_assert_eq(tsf_edit_distance("kitten", "sitting"), 3);
    cr_assert_eq(tsf_edit_distance("flaw", "lawn"), 2);
    cr_assert_eq(tsf_edit_distance("lookbak", "lookback"), 1);
    cr_assert_eq(tsf_edit_distance("ab", "ba"), 1);
    cr_assert_eq(tsf_edit_distance("", "abc"), 3);
    cr_assert_eq(tsf_edit_distance("Delimiter", "delimiter"), 0);
}

/* The rule of tsf_suggest with the full distance table for every candidate: the reference
 * for its early cut-off. */
static const char *suggest_by_full_distance(const char *word, const char *const *names, size_t n)
{
    size_t len = strlen(word), limit = len / 3 > 1 ? len / 3 : 1;
    limit = limit > 3 ? 3 : limit;
    const char *best = NULL;
    size_t best_d = (size_t)-1;
    for (size_t i = 0; i < n; i++) {
        size_t d = tsf_edit_distance(word, names[i]), clen = strlen(names[i]);
        if (d < best_d && d <= limit && d < (len > clen ? len : clen)) {
            best = names[i];
            best_d = d;
        }
    }
    return best;
}

Test(suggest, cutting_off_far_candidates_changes_no_suggestion)
{
    const char *names[] = {"lookback",      "horizon",     "delimiter",    "epochs",
                           "hidden",        "layers",      "batch_size",   "learning_rate",
                           "instance_norm", "quantiles",   "val_fraction", "time_format",
                           "on_constant",   "first_origin"};
    size_t n = sizeof names / sizeof *names;
    /* Every name with one, two and three characters replaced, dropped or doubled. */
    char word[64];
    size_t checked = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(names[i]);
        for (size_t k = 1; k <= 3; k++)
            for (size_t at = 0; at + k <= len; at++)
                for (int op = 0; op < 3; op++) {
                    char *w = word;
                    for (size_t c = 0; c < len; c++) {
                        int in = c >= at && c < at + k;
                        if (!in || op == 2)
                            *w++ = names[i][c];
                        if (in && op == 0)
                            *w++ = 'q';
                        if (in && op == 2)
                            *w++ = names[i][c];
                    }
                    *w = '\0';
                    if (!*word)
                        continue;
                    const char *want = suggest_by_full_distance(word, names, n);
                    const char *got = tsf_suggest(word, names, n);
                    if (want)
                        cr_assert(got && !strcmp(got, want), "%s: got %s, want %s", word,
                                  got ? got : "none", want);
                    checked++;
                }
    }
    cr_assert_gt(checked, 500);
}

Test(suggest, offers_close_names_and_abbreviations_but_not_far_ones)
{
    const char *names[] = {"lookback", "horizon", "delimiter", "epochs"};
    cr_assert_str_eq(tsf_suggest("lookbak", names, 4), "lookback");
    cr_assert_str_eq(tsf_suggest("horzion", names, 4), "horizon");
    cr_assert_str_eq(tsf_suggest("delim", names, 4), "delimiter");
    cr_assert_null(tsf_suggest("batch_size", names, 4));
    cr_assert_null(tsf_suggest("x", names, 4));
}
