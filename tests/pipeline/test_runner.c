/* The runner: registry, pipeline files, every check with its message and line, the plan text,
 * --set, run order, freeing values after their last consumer (and after the views into them),
 * ownership transfer, failures, progress and cancellation, and the built-in CSV stages. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "runner.h"
#include "support.h"
#include "tsflow/io.h"
#include "tsft_stages.h"

/* ---- Helpers ------------------------------------------------------------------------------ */

static tsf_registry *registry(void)
{
    tsf_registry *r = NULL;
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_init(), TSF_OK);
    cr_assert_eq(tsf_registry_alloc(&r, &err), TSF_OK);
    cr_assert_eq(tsf_registry_add_builtins(r, &err), TSF_OK, "%s", err.msg);
    unsigned abi = 0;
    const tsf_stage_def *const *defs = tsflow_plugin_stages(&abi);
    cr_assert_eq(abi, TSF_STAGE_ABI_VERSION);
    for (size_t i = 0; defs[i]; i++)
        cr_assert_eq(tsf_registry_add(r, defs[i], "test", &err), TSF_OK, "%s", err.msg);
    return r;
}

typedef struct checked {
    tsf_registry *reg;
    tsf_pipeline *p;
    tsf_plan *plan;
    tsf_diags diags;
    tsf_err err;
    int rc;
} checked;

/* Parse text as "pipeline.ini" in dir (NULL: a fresh temporary directory), apply the --set
 * assignments (NULL-terminated, may be NULL) and check it. */
static void check_text(checked *c, const char *text, const char *dir, const char *const *sets)
{
    memset(c, 0, sizeof *c);
    c->reg = registry();
    if (!dir)
        dir = tsft_tmpdir();
    cr_assert_eq(tsf_pipeline_parse(&c->p, "pipeline.ini", dir, text, strlen(text), &c->err),
                 TSF_OK, "%s", c->err.msg);
    for (size_t i = 0; sets && sets[i]; i++)
        cr_assert_eq(tsf_pipeline_set(c->p, sets[i], &c->err), TSF_OK, "%s", c->err.msg);
    c->rc = tsf_plan_make(&c->plan, c->p, c->reg, &c->diags, &c->err);
}

static void checked_free(checked *c)
{
    tsf_plan_free(c->plan);
    tsf_diags_clear(&c->diags);
    tsf_pipeline_free(c->p);
    tsf_registry_free(c->reg);
}

static const char *all_diags(const tsf_diags *d)
{
    static char buf[16384];
    size_t u = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < d->n && u < sizeof buf; i++)
        u += (size_t)snprintf(buf + u, sizeof buf - u, "%s\n", d->v[i].msg);
    return buf;
}

/* The check fails with exactly these messages, in this order. */
static void expect_diags(const char *text, const char *dir, const char *const *sets,
                         const char *const *want, int code)
{
    checked c;
    check_text(&c, text, dir, sets);
    size_t n = 0;
    while (want[n])
        n++;
    cr_assert_neq(c.rc, TSF_OK, "the check passed; expected:\n%s", want[0]);
    cr_assert_null(c.plan);
    cr_assert_eq(c.diags.n, n, "expected %zu problems, got:\n%s", n, all_diags(&c.diags));
    for (size_t i = 0; i < n; i++)
        cr_assert_str_eq(c.diags.v[i].msg, want[i], "problem %zu; all:\n%s", i,
                         all_diags(&c.diags));
    if (code)
        cr_assert_eq(c.rc, code, "code %s", tsf_status_name(c.rc));
    checked_free(&c);
}

static void expect_one(const char *text, const char *want, int code)
{
    const char *w[] = {want, NULL};
    expect_diags(text, NULL, NULL, w, code);
}

/* Check and run text; returns the run's code with the message in *err. */
static int run_text(const char *text, const char *dir, tsf_err *err)
{
    checked c;
    check_text(&c, text, dir, NULL);
    cr_assert_eq(c.rc, TSF_OK, "%s", all_diags(&c.diags));
    tsft_events_reset();
    tsf_err_clear(err);
    int rc = tsf_plan_run(c.plan, NULL, err);
    checked_free(&c);
    return rc;
}

static void expect_events(const char *want)
{
    cr_assert_str_eq(tsft_events(), want);
}

static const char *fixture(const char *name)
{
    char rel[256];
    snprintf(rel, sizeof rel, "tests/fixtures/pipelines/%s", name);
    return tsft_source(rel);
}

static const char *fixture_dir(void)
{
    return tsft_source("tests/fixtures/pipelines");
}

/* ---- Registry ----------------------------------------------------------------------------- */

Test(registry, lists_the_built_in_stages_in_name_order)
{
    tsf_registry *r = NULL;
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_registry_alloc(&r, &err), TSF_OK);
    cr_assert_eq(tsf_registry_add_builtins(r, &err), TSF_OK, "%s", err.msg);
    size_t n = tsf_registry_count(r);
    cr_assert_geq(n, 4);
    for (size_t i = 1; i < n; i++)
        cr_assert_lt(
            strcmp(tsf_registry_get(r, i - 1, NULL)->name, tsf_registry_get(r, i, NULL)->name), 0);
    const char *origin = NULL;
    for (size_t i = 0; i < n; i++) {
        const tsf_stage_def *d = tsf_registry_get(r, i, &origin);
        cr_assert_str_eq(origin, "built-in");
        cr_assert(strncmp(d->name, "test.", 5), "test stages are not shipped: %s", d->name);
    }
    const char *want[] = {"ingest.csv", "ingest.hdf5", "export.csv", "export.hdf5"};
    for (size_t i = 0; i < 4; i++)
        cr_assert_not_null(tsf_registry_find(r, want[i]), "%s", want[i]);
    cr_assert_null(tsf_registry_find(r, "ingest"));
    cr_assert_str_eq(tsf_registry_suggest(r, "ingest_csv"), "ingest.csv");
    cr_assert_str_eq(tsf_registry_suggest(r, "export.h5"), "export.hdf5");
    cr_assert_null(tsf_registry_suggest(r, "train.rnn.lstm.huge"));
    tsf_registry_free(r);
}

Test(registry, refuses_a_second_stage_with_the_same_name)
{
    tsf_registry *r = registry();
    tsf_err err = TSF_ERR_INIT;
    unsigned abi;
    const tsf_stage_def *src = tsflow_plugin_stages(&abi)[0];
    cr_assert_eq(tsf_registry_add(r, src, "again.so", &err), TSF_EPLUGIN);
    cr_assert_str_eq(err.msg, "stage \"test.source\" is already defined (test)");
    cr_assert_eq(tsf_registry_add(r, tsf_registry_find(r, "ingest.csv"), "x.so", &err),
                 TSF_EPLUGIN);
    cr_assert_str_eq(err.msg, "stage \"ingest.csv\" is already defined (a built-in stage)");
    tsf_registry_free(r);
}

static int nop_run(tsf_stage_ctx *ctx, void *state, tsf_value *const *in, tsf_value *const *out,
                   tsf_err *err)
{
    (void)ctx;
    (void)state;
    (void)in;
    (void)out;
    (void)err;
    return TSF_OK;
}

typedef struct bad_state {
    size_t n;
    int e;
} bad_state;

static void expect_invalid(const tsf_stage_def *def, const char *want)
{
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_stage_def_validate(def, &err), TSF_EPLUGIN, "accepted; expected: %s", want);
    cr_assert_str_eq(err.msg, want);
}

Test(registry, validates_every_rule_of_a_definition)
{
    static const char *const no_choices[] = {NULL};
    tsf_stage_def d = {.abi = TSF_STAGE_ABI_VERSION,
                       .name = "ok.stage",
                       .summary = "fine",
                       .state_size = sizeof(bad_state),
                       .run = nop_run};
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_stage_def_validate(&d, &err), TSF_OK, "%s", err.msg);

    tsf_stage_def x = d;
    x.abi = 7;
    char want[256];
    snprintf(want, sizeof want,
             "stage \"ok.stage\" was built for stage ABI version 7, but this tsflow has version %u "
             "(rebuild it against this tsflow's stage.h)",
             TSF_STAGE_ABI_VERSION);
    expect_invalid(&x, want);
    x = d;
    x.name = "Bad Name";
    expect_invalid(&x, "stage name \"Bad Name\" is invalid (expected lower-case words of letters, "
                       "digits and '_' joined by '.', like \"ingest.csv\")");
    x = d;
    x.name = "trailing.";
    expect_invalid(&x, "stage name \"trailing.\" is invalid (expected lower-case words of "
                       "letters, digits and '_' joined by '.', like \"ingest.csv\")");
    x = d;
    x.run = NULL;
    expect_invalid(&x, "stage \"ok.stage\" has no run callback");
    x = d;
    x.summary = NULL;
    expect_invalid(&x, "stage \"ok.stage\" has no summary");

    struct {
        tsf_option o;
        const char *want;
    } cases[] = {
        {{.name = "n", .type = TSF_OPT_SIZE, .offset = sizeof(bad_state), .def = "1", .help = "h"},
         "stage \"ok.stage\": option \"n\" at offset 16 does not fit state_size 16 (a 8-byte "
         "field aligned to 8)"},
        {{.name = "n", .type = TSF_OPT_SIZE, .offset = 4, .def = "1", .help = "h"},
         "stage \"ok.stage\": option \"n\" at offset 4 does not fit state_size 16 (a 8-byte field "
         "aligned to 8)"},
        {{.name = "N", .type = TSF_OPT_SIZE, .def = "1", .help = "h"},
         "stage \"ok.stage\": option name \"N\" is invalid (expected lower-case letters, digits "
         "and '_')"},
        {{.name = "input", .type = TSF_OPT_SIZE, .def = "1", .help = "h"},
         "stage \"ok.stage\": option \"input\" uses a reserved key (stage, input and inputs are "
         "the runner's)"},
        {{.name = "n", .type = (tsf_opt_type)99, .def = "1", .help = "h"},
         "stage \"ok.stage\": option \"n\" has an unknown type 99"},
        {{.name = "n", .type = TSF_OPT_SIZE, .help = "h"},
         "stage \"ok.stage\": option \"n\" has no default (expected a default, or the flag "
         "TSF_OPT_REQUIRED)"},
        {{.name = "n", .type = TSF_OPT_SIZE, .def = "1", .flags = TSF_OPT_REQUIRED, .help = "h"},
         "stage \"ok.stage\": option \"n\" is required and has a default (expected one or the "
         "other)"},
        {{.name = "n", .type = TSF_OPT_SIZE, .def = "0", .min = 1, .max = 9, .help = "h"},
         "stage \"ok.stage\": default of option \"n\": \"0\" is out of range (expected an integer "
         "from 1 to 9)"},
        {{.name = "e",
          .type = TSF_OPT_ENUM,
          .offset = offsetof(bad_state, e),
          .def = "a",
          .choices = no_choices,
          .help = "h"},
         "stage \"ok.stage\": enum option \"e\" has no choices"},
        {{.name = "n", .type = TSF_OPT_SIZE, .def = "1"},
         "stage \"ok.stage\": option \"n\" has no help text"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tsf_option table[2] = {cases[i].o, TSF_OPTION_END};
        x = d;
        x.options = table;
        expect_invalid(&x, cases[i].want);
    }
    tsf_option twice[3] = {
        {.name = "n", .type = TSF_OPT_SIZE, .def = "1", .help = "h"},
        {.name = "n", .type = TSF_OPT_SIZE, .def = "2", .help = "h"},
        TSF_OPTION_END,
    };
    x = d;
    x.options = twice;
    expect_invalid(&x, "stage \"ok.stage\": two options are called \"n\"");

    tsf_port many_first[] = {{.name = "a", .types = TSF_TYPE_ANY, .flags = TSF_PORT_MANY},
                             {.name = "b", .types = TSF_TYPE_ANY},
                             TSF_PORT_END};
    x = d;
    x.inputs = many_first;
    expect_invalid(&x, "stage \"ok.stage\": input port \"a\" takes many values but is not the "
                       "last port");
    tsf_port opt_first[] = {{.name = "a", .types = TSF_TYPE_ANY, .flags = TSF_PORT_OPTIONAL},
                            {.name = "b", .types = TSF_TYPE_ANY},
                            TSF_PORT_END};
    x = d;
    x.inputs = opt_first;
    expect_invalid(&x, "stage \"ok.stage\": required input port \"b\" follows an optional one");
    tsf_port no_type[] = {{.name = "a", .types = 0}, TSF_PORT_END};
    x = d;
    x.outputs = no_type;
    expect_invalid(&x, "stage \"ok.stage\": output port \"a\" has type mask 0x0 (expected a "
                       "non-empty mask of TSF_TYPE_BIT values)");
    tsf_port out_flags[] = {{.name = "a", .types = TSF_TYPE_ANY, .flags = TSF_PORT_OPTIONAL},
                            TSF_PORT_END};
    x = d;
    x.outputs = out_flags;
    expect_invalid(&x, "stage \"ok.stage\": output port \"a\" has flags (only inputs may be "
                       "optional or many)");
}

/* ---- Pipeline files ------------------------------------------------------------------------ */

Test(pipeline, records_steps_keys_values_and_lines)
{
    const char *text = "\xEF\xBB\xBF# comment\n"
                       "[data]\n"
                       "stage = ingest.csv   ; inline comment\n"
                       "path: load.csv\n"
                       "\n"
                       "[ win ]\n"
                       "columns = a,\n"
                       "   b,\n"
                       "\n"
                       "   c\n";
    tsf_pipeline *p = NULL;
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_pipeline_parse(&p, "p.ini", NULL, text, strlen(text), &err), TSF_OK);
    cr_assert_eq(p->diags.n, 0, "%s", all_diags(&p->diags));
    cr_assert_eq(p->n_steps, 2);
    cr_assert_str_eq(p->steps[0].name, "data");
    cr_assert_eq(p->steps[0].line, 2);
    cr_assert_eq(p->steps[0].n_kv, 2);
    cr_assert_str_eq(p->steps[0].kv[0].key, "stage");
    cr_assert_str_eq(p->steps[0].kv[0].value, "ingest.csv");
    cr_assert_eq(p->steps[0].kv[0].line, 3);
    cr_assert_str_eq(p->steps[0].kv[1].value, "load.csv");
    cr_assert_eq(p->steps[0].kv[1].line, 4);
    cr_assert_str_eq(p->steps[1].name, "win");
    cr_assert_eq(p->steps[1].line, 6);
    cr_assert_str_eq(p->steps[1].kv[0].value, "a,\nb,\nc");
    cr_assert_eq(p->steps[1].kv[0].line, 7);
    cr_assert_eq(p->steps[1].kv[0].n_lines, 3);
    cr_assert_str_eq(p->dir, ".");
    tsf_pipeline_free(p);
}

Test(pipeline, reports_every_syntax_error_with_its_line)
{
    char long_line[300];
    memset(long_line, 'x', sizeof long_line);
    memcpy(long_line, "path = ", 7);
    long_line[sizeof long_line - 1] = '\0';
    char text[2048];
    int n = snprintf(text, sizeof text,
                     "orphan = 1\n"          /* 1 */
                     "[a]\n"                 /* 2 */
                     "stage = test.source\n" /* 3 */
                     "no value here\n"       /* 4 */
                     "rows = 3\n"            /* 5 */
                     "rows = 4\n"            /* 6 */
                     "[a]\n"                 /* 7 */
                     "[bad name]\n"          /* 8 */
                     "[open\n"               /* 9 */
                     "[b]\n"                 /* 10 */
                     "%s\n"                  /* 11 */
                     "= 3\n"                 /* 12 */
                     "x = 1",                /* 13 */
                     long_line);
    size_t len = (size_t)n + 3; /* the NUL byte and "y\n" */
    memcpy(text + n, "\0y\n", 3);
    tsf_pipeline *p = NULL;
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_pipeline_parse(&p, "p.ini", NULL, text, len, &err), TSF_OK);
    const char *want[] = {
        "p.ini:1: key \"orphan\" is outside any step (expected a [step] line before it)",
        "p.ini:4: \"no value here\" is not \"key = value\", \"[step]\" or a comment (comments "
        "start with # or ;)",
        "p.ini:6: step \"a\", key \"rows\": set twice (first at line 5)",
        "p.ini:7: step \"a\" is defined twice (first at line 2; step names must be unique)",
        "p.ini:8: step name \"bad name\" may only contain letters, digits, '_' and '-' (it is "
        "used in input = STEP and --set STEP.KEY=VALUE)",
        "p.ini:9: expected ']' to close the step name (a step starts with a line like [name])",
        "p.ini:11: line is longer than 198 characters, libinih's limit (split a list over "
        "indented continuation lines)",
        "p.ini:12: step \"b\": expected a key before '='",
        "p.ini:13: line holds a NUL byte (expected a text file)",
    };
    size_t nw = sizeof want / sizeof want[0];
    cr_assert_eq(p->diags.n, nw, "%s", all_diags(&p->diags));
    for (size_t i = 0; i < nw; i++)
        cr_assert_str_eq(p->diags.v[i].msg, want[i]);
    tsf_pipeline_free(p);
}

Test(pipeline, an_empty_file_has_no_steps)
{
    tsf_pipeline *p = NULL;
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_pipeline_parse(&p, "empty.ini", NULL, "# nothing\n", 10, &err), TSF_OK);
    cr_assert_eq(p->diags.n, 1);
    cr_assert_str_eq(p->diags.v[0].msg, "empty.ini: no steps (expected [name] sections, each "
                                        "with a stage = NAME line)");
    tsf_pipeline_free(p);
}

Test(pipeline, loads_a_file_and_resolves_paths_against_its_directory)
{
    tsf_pipeline *p = NULL;
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_pipeline_load(&p, fixture("roundtrip.ini"), &err), TSF_OK, "%s", err.msg);
    cr_assert_str_eq(p->dir, fixture_dir());
    cr_assert_eq(p->n_steps, 2);
    cr_assert(strstr(p->text, "[data]"));
    tsf_pipeline_free(p);
    cr_assert_eq(tsf_pipeline_load(&p, "/nonexistent/p.ini", &err), TSF_EIO);
    cr_assert_str_eq(err.msg,
                     "/nonexistent/p.ini: cannot open the pipeline file: No such file or directory "
                     "(expected the path of a readable pipeline file, an INI file with one [step] "
                     "section per step; - reads it from standard input)");
    cr_assert_eq(tsf_pipeline_load(&p, fixture_dir(), &err), TSF_EIO);
    cr_assert(strstr(err.msg, ": cannot open the pipeline file: it is a directory (expected the "
                              "path of a readable pipeline file"),
              "%s", err.msg);
    cr_assert_null(p);
    cr_assert_null(p);
}

/* ---- --set ------------------------------------------------------------------------------- */

Test(set, overrides_and_adds_keys_and_refuses_bad_syntax_or_steps)
{
    const char *text = "[data]\nstage = test.source\nrows = 3\n";
    tsf_pipeline *p = NULL;
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_pipeline_parse(&p, "p.ini", NULL, text, strlen(text), &err), TSF_OK);
    cr_assert_eq(tsf_pipeline_set(p, "data.rows=7", &err), TSF_OK, "%s", err.msg);
    cr_assert_eq(tsf_pipeline_set(p, "data.cols=2", &err), TSF_OK, "%s", err.msg);
    cr_assert_str_eq(p->steps[0].kv[1].value, "7");
    cr_assert_eq(p->steps[0].kv[1].line, 0);
    cr_assert_eq(p->steps[0].kv[1].set_index, 1);
    cr_assert_str_eq(p->steps[0].kv[2].key, "cols");
    cr_assert_eq(p->steps[0].kv[2].set_index, 2);
    cr_assert_eq(tsf_pipeline_set(p, "dta.rows=1", &err), TSF_EINVAL);
    cr_assert_str_eq(err.msg, "--set dta.rows=1: p.ini has no step \"dta\" (did you mean "
                              "\"data\"?)");
    cr_assert_eq(tsf_pipeline_set(p, "rows=1", &err), TSF_EINVAL);
    cr_assert_str_eq(err.msg, "--set \"rows=1\": expected STEP.KEY=VALUE");
    cr_assert_eq(tsf_pipeline_set(p, "data.Rows=1", &err), TSF_EINVAL);
    cr_assert_str_eq(err.msg, "--set data.Rows=1: key \"Rows\" is not an option name (lower-case "
                              "letters, digits and '_')");
    tsf_pipeline_free(p);
}

Test(set, values_are_checked_like_the_file_and_named_by_their_set)
{
    const char *sets[] = {"data.rows=-1", "data.colz=2", NULL};
    const char *want[] = {
        "--set data.rows=-1: step \"data\", key \"rows\": \"-1\" is negative (expected an "
        "integer from 0 to 1000000000)",
        "--set data.colz=2: step \"data\", key \"colz\": stage test.source has no such option "
        "(did you mean \"cols\"? 'tsflow help test.source' lists its options)",
        NULL};
    expect_diags("[data]\nstage = test.source\nrows = 3\n", NULL, sets, want, TSF_EINVAL);
}

Test(set, replaces_a_bad_value_of_the_file_and_resolves_paths_from_the_current_directory)
{
    const char *dir = tsft_tmpdir(), *here = tsft_tmpdir();
    tsft_write_file(tsft_path(here, "x.txt"), "x", 1);
    cr_assert_eq(chdir(here), 0);
    const char *sets[] = {"s.count=2", "s.src=x.txt", NULL};
    checked c;
    check_text(&c, "[s]\nstage = test.options\ncount = 99\nsrc = rel.txt\n", dir, sets);
    cr_assert_eq(c.rc, TSF_OK, "%s", all_diags(&c.diags));
    char buf[256];
    const tsf_option *o = tsf_opt_find(c.plan->steps[0].def->options, "src");
    tsf_opt_format(o, c.plan->steps[0].state, buf, sizeof buf);
    cr_assert_str_eq(buf, "x.txt");
    checked_free(&c);
}

/* ---- Check: each problem, its message and its line ---------------------------------------- */

Test(check, unknown_stage_with_a_suggestion)
{
    expect_one("[data]\nstage = ingest.cvs\n",
               "pipeline.ini:2: step \"data\", key \"stage\": unknown stage \"ingest.cvs\" (did "
               "you mean \"ingest.csv\"? 'tsflow stages' lists them)",
               TSF_EINVAL);
}

Test(check, a_step_without_a_stage_line)
{
    expect_one("[data]\npath = x.csv\n",
               "pipeline.ini:1: step \"data\": no \"stage = NAME\" line (expected the stage this "
               "step runs; 'tsflow stages' lists them)",
               TSF_EINVAL);
}

Test(check, unknown_option_with_a_suggestion)
{
    expect_one("[s]\nstage = test.source\nrws = 3\n",
               "pipeline.ini:3: step \"s\", key \"rws\": stage test.source has no such option "
               "(did you mean \"rows\"? 'tsflow help test.source' lists its options)",
               TSF_EINVAL);
}

Test(check, wrong_types_out_of_range_values_and_bad_choices)
{
    const char *want[] = {
        "pipeline.ini:3: step \"o\", key \"flag\": \"maybe\" is not a boolean (expected true or "
        "false)",
        "pipeline.ini:4: step \"o\", key \"count\": \"9\" is out of range (expected an integer "
        "from -5 to 5)",
        "pipeline.ini:5: step \"o\", key \"rate\": \"0\" is out of range (expected a number "
        "greater than 0 and at most 1)",
        "pipeline.ini:6: step \"o\", key \"mode\": \"fsat\" is not one of fast, slow, exact (did "
        "you mean \"fast\"?)",
        "pipeline.ini:7: step \"o\", key \"quantiles\": item 2, \"1.5\", is out of range "
        "(expected a comma-separated list of numbers, each from 0 to 1)",
        NULL};
    expect_diags("[o]\nstage = test.options\nflag = maybe\ncount = 9\nrate = 0\nmode = fsat\n"
                 "quantiles = 0.5, 1.5\n",
                 NULL, NULL, want, TSF_EINVAL);
}

Test(check, a_required_option_left_out)
{
    expect_one("[out]\nstage = test.source\n[save]\nstage = export.csv\n",
               "pipeline.ini:4: step \"save\", key \"path\": required by stage export.csv but not "
               "set (expected the path of a file to write, in an existing writable directory)",
               TSF_EINVAL);
}

Test(check, a_first_step_that_needs_an_input)
{
    expect_one("[save]\nstage = test.scale\n",
               "pipeline.ini:2: step \"save\": stage test.scale needs an input (frame: frame), "
               "but this is the first step (expected input = STEP, or a step before it)",
               TSF_EINVAL);
}

Test(check, a_dangling_input)
{
    expect_one("[data]\nstage = test.source\n[s]\nstage = test.scale\ninput = dat\n",
               "pipeline.ini:5: step \"s\", key \"input\": no step named \"dat\" (did you mean "
               "\"data\"?)",
               TSF_EINVAL);
}

Test(check, a_step_reading_itself_and_a_cycle)
{
    const char *want[] = {
        "pipeline.ini:3: step \"a\", key \"input\": steps form a cycle: a reads c, c reads b, b "
        "reads a (expected each step to read only steps that can run before it)",
        "pipeline.ini:12: step \"d\", key \"input\": the step reads its own output (expected an "
        "earlier step)",
        NULL};
    expect_diags("[a]\nstage = test.scale\ninput = c\n"
                 "[b]\nstage = test.scale\ninput = a\n"
                 "[c]\nstage = test.scale\ninput = b\n"
                 "[d]\nstage = test.scale\ninput = d\n"
                 "[e]\nstage = test.scale\ninput = c\n",
                 NULL, NULL, want, TSF_EINVAL);
}

Test(check, a_type_mismatch_between_ports)
{
    const char *want[] = {
        "pipeline.ini:7: step \"p\", key \"inputs\": step \"w\" gives windows, but input "
        "\"frame\" of stage test.pair takes frame",
        "pipeline.ini:7: step \"p\", key \"inputs\": step \"s\" gives frame, but input "
        "\"windows\" of stage test.pair takes windows",
        "pipeline.ini:10: step \"q\", key \"inputs\": m.hist is a history, but input \"windows\" "
        "of stage test.pair takes windows",
        "pipeline.ini:13: step \"r\", key \"inputs\": step \"m\" has no output \"histo\" (stage "
        "test.multi gives main: frame, hist: history)",
        NULL};
    expect_diags("[s]\nstage = test.source\n"
                 "[w]\nstage = test.view\n"
                 "[p]\nstage = test.pair\ninputs = w, s\n"
                 "[q]\nstage = test.pair\ninputs = s, m.hist\n"
                 "[r]\nstage = test.pair\ninputs = s, m.histo\n"
                 "[m]\nstage = test.multi\n",
                 NULL, NULL, want, TSF_ETYPE);
}

Test(check, the_number_of_inputs)
{
    const char *want[] = {
        "pipeline.ini:5: step \"two\", key \"inputs\": stage test.scale takes 1 input (frame: "
        "frame), got 2",
        "pipeline.ini:7: step \"pair\": stage test.pair needs 2 inputs (frame: frame, windows: "
        "windows) (expected inputs = STEP, STEP...)",
        "pipeline.ini:10: step \"x\", key \"input\": stage test.source takes no input",
        "pipeline.ini:14: step \"y\", key \"inputs\": set together with input (expected one of "
        "the two)",
        NULL};
    expect_diags("[s]\nstage = test.source\n"
                 "[two]\nstage = test.scale\ninputs = s, s\n"
                 "[pair]\nstage = test.pair\n"
                 "[x]\nstage = test.source\ninput = s\n"
                 "[y]\nstage = test.sink\ninput = s\ninputs = s\n",
                 NULL, NULL, want, TSF_EINVAL);
}

Test(check, reading_from_a_step_that_gives_nothing)
{
    expect_one("[s]\nstage = test.source\n[n]\nstage = test.sink\n[m]\nstage = test.sink\n",
               "pipeline.ini:6: step \"m\": step \"n\" produces nothing to read (stage test.sink "
               "has no outputs)",
               TSF_ETYPE);
}

Test(check, input_files_that_do_not_exist_or_are_directories)
{
    const char *dir = tsft_tmpdir();
    mkdir(tsft_path(dir, "sub"), 0755);
    char w1[512], w2[512];
    snprintf(w1, sizeof w1,
             "pipeline.ini:3: step \"a\", key \"path\": \"%s/nope.csv\" does not exist (expected "
             "the path of a readable file)",
             dir);
    snprintf(w2, sizeof w2,
             "pipeline.ini:6: step \"b\", key \"path\": \"%s/sub\" is a directory (expected the "
             "path of a readable file)",
             dir);
    const char *want[] = {w1, w2, NULL};
    expect_diags("[a]\nstage = ingest.csv\npath = nope.csv\n"
                 "[b]\nstage = ingest.csv\npath = sub\n",
                 dir, NULL, want, TSF_EIO);
}

Test(check, output_directories_that_are_missing_or_not_writable)
{
    const char *dir = tsft_tmpdir();
    tsft_write_file(tsft_path(dir, "file"), "x", 1);
    char w1[512], w2[512];
    snprintf(w1, sizeof w1,
             "pipeline.ini:6: step \"a\", key \"path\": cannot write \"%s/nodir/out.csv\": "
             "directory \"%s/nodir\" does not exist (expected the path of a file to write, in an "
             "existing writable directory)",
             dir, dir);
    snprintf(w2, sizeof w2,
             "pipeline.ini:10: step \"b\", key \"path\": cannot write \"%s/file/out.csv\": "
             "\"%s/file\" is not a directory (expected the path of a file to write, in an "
             "existing writable directory)",
             dir, dir);
    const char *want[] = {w1, w2, NULL};
    expect_diags("[s]\nstage = test.source\n"
                 "[a]\nstage = export.csv\ninput = s\npath = nodir/out.csv\n"
                 "[b]\nstage = export.csv\ninput = s\npath = file/out.csv\n",
                 dir, NULL, want, TSF_EIO);
}

Test(check, an_output_directory_without_write_permission)
{
    if (geteuid() == 0)
        cr_skip_test("running as root: every directory is writable, so there is nothing to refuse");
    const char *dir = tsft_tmpdir();
    const char *ro = tsft_path(dir, "ro");
    cr_assert_eq(mkdir(ro, 0555), 0);
    char w[512];
    snprintf(w, sizeof w,
             "pipeline.ini:5: step \"a\", key \"path\": cannot write \"%s/out.csv\": directory "
             "\"%s\" is not writable (expected the path of a file to write, in an existing "
             "writable directory)",
             ro, ro);
    const char *want[] = {w, NULL};
    expect_diags("[s]\nstage = test.source\n[a]\nstage = export.csv\npath = ro/out.csv\n", dir,
                 NULL, want, TSF_EIO);
}

Test(check, two_steps_writing_one_file)
{
    const char *dir = tsft_tmpdir();
    char w[512];
    snprintf(w, sizeof w,
             "pipeline.ini:9: step \"b\", key \"path\": \"%s/./out.csv\" is also written by step "
             "\"a\" (line 5) (expected each output file to be written once)",
             dir);
    const char *want[] = {w, NULL};
    expect_diags("[s]\nstage = test.source\n"
                 "[a]\nstage = export.csv\npath = out.csv\n"
                 "[b]\nstage = export.csv\ninput = s\npath = ./out.csv\n",
                 dir, NULL, want, TSF_EINVAL);
}

Test(check, a_stage_check_error_points_at_the_key_it_names)
{
    expect_one("[f]\nstage = test.fail\nat = check\nmessage = lookback too long\n",
               "pipeline.ini:4: step \"f\", key \"message\": lookback too long", TSF_EINVAL);
    /* A key left at its default: the error points at the stage line. */
    expect_one("[f]\nstage = test.fail\nat = check\n",
               "pipeline.ini:2: step \"f\", key \"message\": deliberate failure", TSF_EINVAL);
}

Test(check, a_length_constraint_known_before_running)
{
    expect_one("[s]\nstage = test.source\nrows = 50\n[n]\nstage = test.needs\nmin_rows = 96\n",
               "pipeline.ini:6: step \"n\", key \"min_rows\": the shortest series has 50 rows, "
               "fewer than min_rows 96 (expected at least 96 rows)",
               TSF_EINVAL);
}

Test(check, reports_every_problem_at_once_in_line_order)
{
    tsf_pipeline *p = NULL;
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_pipeline_load(&p, fixture("errors.ini"), &err), TSF_OK, "%s", err.msg);
    tsf_registry *r = registry();
    tsf_diags d = {0};
    tsf_plan *plan = NULL;
    cr_assert_eq(tsf_plan_make(&plan, p, r, &d, &err), TSF_EIO);
    const char *f = fixture("errors.ini");
    char w[4][512];
    snprintf(w[0], sizeof w[0],
             "%s:4: step \"data\", key \"path\": \"%s/missing.csv\" does not exist (expected the "
             "path of a readable file)",
             f, fixture_dir());
    snprintf(w[1], sizeof w[1],
             "%s:8: step \"window\", key \"min_rows\": \"ten\" is not an integer (expected an "
             "integer from 1 to 1000000000)",
             f);
    snprintf(w[2], sizeof w[2],
             "%s:11: step \"train\", key \"stage\": unknown stage \"test.scael\" (did you mean "
             "\"test.scale\"? 'tsflow stages' lists them)",
             f);
    snprintf(w[3], sizeof w[3],
             "%s:16: step \"save\", key \"input\": no step named \"trian\" (did you mean "
             "\"train\"?)",
             f);
    cr_assert_eq(d.n, 5, "%s", all_diags(&d));
    for (size_t i = 0; i < 3; i++)
        cr_assert_str_eq(d.v[i].msg, w[i]);
    cr_assert_str_eq(d.v[3].msg, w[3]);
    cr_assert(strstr(d.v[4].msg, ":17: step \"save\", key \"path\": cannot write"), "%s",
              d.v[4].msg);
    char first[1200];
    snprintf(first, sizeof first, "%s (and 4 more problems)", w[0]);
    cr_assert_str_eq(err.msg, first);
    cr_assert_null(plan);
    tsf_diags_clear(&d);
    tsf_pipeline_free(p);
    tsf_registry_free(r);
}

Test(check, fini_runs_once_for_every_step_that_was_set_up)
{
    tsft_events_reset();
    expect_one("[a]\nstage = test.source\n[b]\nstage = test.source\n[c]\nstage = test.fail\nat "
               "= check\n",
               "pipeline.ini:6: step \"c\", key \"message\": deliberate failure", TSF_EINVAL);
    expect_events("fini a fini b");
}

/* ---- The plan --------------------------------------------------------------------------- */

Test(plan, lists_steps_in_run_order_with_inputs_files_and_shapes)
{
    tsf_pipeline *p = NULL;
    tsf_err err = TSF_ERR_INIT;
    const char *path = fixture("plan.ini");
    cr_assert_eq(tsf_pipeline_load(&p, path, &err), TSF_OK, "%s", err.msg);
    tsf_registry *r = registry();
    tsf_diags d = {0};
    tsf_plan *plan = NULL;
    cr_assert_eq(tsf_plan_make(&plan, p, r, &d, &err), TSF_OK, "%s", all_diags(&d));
    char *text = NULL;
    cr_assert_eq(tsf_plan_format(plan, &text, &err), TSF_OK);
    const char *dir = fixture_dir();
    char want[2048];
    snprintf(want, sizeof want,
             "%s: 2 steps, in run order\n"
             "  1  data  ingest.csv\n"
             "           reads  %s/small.csv\n"
             "           out    frame      frame: 6 rows x 1 column (temp), 1 series, step 3600 "
             "s\n"
             "  2  save  export.csv\n"
             "           in     value      <- data.frame\n"
             "           in     data       (not connected)\n"
             "           writes %s/out.csv\n",
             path, dir, dir);
    cr_assert_str_eq(text, want);
    free(text);
    tsf_plan_free(plan);
    tsf_diags_clear(&d);
    tsf_pipeline_free(p);
    tsf_registry_free(r);
}

Test(plan, shows_plugin_origins_and_unconnected_optional_inputs)
{
    checked c;
    check_text(&c, "[s]\nstage = test.slow\nseconds = 0\n", NULL, NULL);
    cr_assert_eq(c.rc, TSF_OK, "%s", all_diags(&c.diags));
    char *text = NULL;
    cr_assert_eq(tsf_plan_format(c.plan, &text, &c.err), TSF_OK);
    cr_assert_str_eq(text, "pipeline.ini: 1 step, in run order\n"
                           "  1  s     test.slow  (plugin test)\n"
                           "           in     frame      (not connected)\n");
    free(text);
    checked_free(&c);
}

/* ---- ingest.csv's check -------------------------------------------------------------------- */

Test(ingest_csv, check_reads_the_header_and_counts_the_rows)
{
    const char *dir = tsft_tmpdir();
    /* A quoted field holding a newline and a blank line: 3 records, not 5 lines. */
    tsft_write_file(tsft_path(dir, "q.csv"),
                    "\xEF\xBB\xBFtime;note;v\r\n2021-03-01;\"two\nlines\";1\r\n\r\n"
                    "2021-03-02;x;2\r\n2021-03-03;y;3",
                    (size_t)-1);
    checked c;
    check_text(&c, "[d]\nstage = ingest.csv\npath = q.csv\ncolumns = v\n", dir, NULL);
    cr_assert_eq(c.rc, TSF_OK, "%s", all_diags(&c.diags));
    const tsf_meta *m = &c.plan->steps[0].out[0];
    cr_assert_eq(m->rows, 3);
    cr_assert_eq(m->cols, 1);
    cr_assert_str_eq(m->col_names[0], "v");
    cr_assert_eq(m->step, 86400 * TSF_US_PER_S);
    cr_assert_eq(m->n_series, 1);
    checked_free(&c);
}

Test(ingest_csv, check_names_a_missing_column_and_its_neighbours)
{
    char w[512];
    snprintf(w, sizeof w,
             "pipeline.ini:4: step \"d\", key \"columns\": %s/small.csv has no column \"tmp\" "
             "(did you mean \"temp\"? its columns: time, load, temp)",
             fixture_dir());
    const char *want[] = {w, NULL};
    expect_diags("[d]\nstage = ingest.csv\npath = small.csv\ncolumns = load, tmp\n", fixture_dir(),
                 NULL, want, TSF_EINVAL);
}

Test(ingest_csv, check_refuses_empty_and_header_only_files)
{
    const char *dir = tsft_tmpdir();
    tsft_write_file(tsft_path(dir, "empty.csv"), "\n\n", (size_t)-1);
    tsft_write_file(tsft_path(dir, "header.csv"), "time,v\n", (size_t)-1);
    char w1[512], w2[512];
    snprintf(w1, sizeof w1,
             "pipeline.ini:3: step \"a\", key \"path\": %s/empty.csv:1:1: the file is empty "
             "(expected a header line naming the columns, then data rows)",
             dir);
    snprintf(w2, sizeof w2,
             "pipeline.ini:6: step \"b\", key \"path\": %s/header.csv:2:1: no data rows after the "
             "header (expected at least one data row below the header)",
             dir);
    const char *want[] = {w1, w2, NULL};
    expect_diags("[a]\nstage = ingest.csv\npath = empty.csv\n"
                 "[b]\nstage = ingest.csv\npath = header.csv\n",
                 dir, NULL, want, TSF_EFORMAT);
}

Test(ingest_csv, row_count_feeds_length_checks_downstream)
{
    char w[256];
    snprintf(w, sizeof w,
             "pipeline.ini:6: step \"n\", key \"min_rows\": the shortest series has 6 rows, fewer "
             "than min_rows 7 (expected at least 7 rows)");
    const char *want[] = {w, NULL};
    expect_diags("[d]\nstage = ingest.csv\npath = small.csv\n[n]\nstage = test.needs\n"
                 "min_rows = 7\n",
                 fixture_dir(), NULL, want, TSF_EINVAL);
}

/* check's description of path (ingest.csv with extra option lines) against the frame the
 * reader gives: columns, series, rows, the shortest series, the step when check gives one. */
static void expect_check_matches_reader(const char *dir, const char *file, const char *opts,
                                        const char *id_column)
{
    char text[512];
    snprintf(text, sizeof text, "[d]\nstage = ingest.csv\npath = %s\n%s", file, opts);
    checked c;
    check_text(&c, text, dir, NULL);
    cr_assert_eq(c.rc, TSF_OK, "%s: %s", file, all_diags(&c.diags));
    const tsf_meta *m = &c.plan->steps[0].out[0];
    tsf_csv_options opt;
    tsf_csv_options_init(&opt);
    opt.id_column = id_column;
    tsf_frame *f = NULL;
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_csv_read(&f, tsft_path(dir, file), &opt, NULL, &err), TSF_OK, "%s", err.msg);
    cr_assert_eq(m->cols, (int64_t)f->n_cols, "%s: columns: check %lld, run %zu", file,
                 (long long)m->cols, f->n_cols);
    for (size_t j = 0; j < f->n_cols; j++)
        cr_assert_str_eq(m->col_names[j], f->col_names[j], "%s: column %zu", file, j);
    size_t shortest = SIZE_MAX;
    for (size_t k = 0; k < f->n_series; k++) {
        size_t len = f->series_start[k + 1] - f->series_start[k];
        shortest = len < shortest ? len : shortest;
    }
    cr_assert_eq(m->n_series, (int64_t)f->n_series, "%s: series: check %lld, run %zu", file,
                 (long long)m->n_series, f->n_series);
    cr_assert_eq(m->rows, (int64_t)f->n_rows, "%s: rows", file);
    cr_assert_eq(m->min_series_rows, (int64_t)shortest, "%s: shortest series: check %lld, run %zu",
                 file, (long long)m->min_series_rows, shortest);
    cr_assert_eq(m->time_kind, (int64_t)f->time_kind, "%s: time kind", file);
    if (m->step != TSF_UNKNOWN)
        cr_assert_eq(m->step, f->step, "%s: step: check %lld, run %lld", file, (long long)m->step,
                     (long long)f->step);
    tsf_frame_free(f);
    checked_free(&c);
}

Test(ingest_csv, check_of_a_long_layout_gives_the_columns_series_and_step_run_reads)
{
    const char *dir = tsft_tmpdir();
    tsft_write_file(tsft_path(dir, "long.csv"),
                    "id,time,value\na,2020-01-01,1\na,2020-01-02,2\na,2020-01-03,3\n"
                    "b,2020-01-01,4\nb,2020-01-02,5\nb,2020-01-03,6\n",
                    (size_t)-1);
    checked c;
    check_text(&c, "[d]\nstage = ingest.csv\npath = long.csv\nid_column = id\n", dir, NULL);
    cr_assert_eq(c.rc, TSF_OK, "%s", all_diags(&c.diags));
    char d[1024];
    tsf_meta_describe(&c.plan->steps[0].out[0], d, sizeof d);
    cr_assert_str_eq(d, "frame: 6 rows x 1 column (value), 2 series, shortest series 3 rows, "
                        "step 86400 s");
    checked_free(&c);
    expect_check_matches_reader(dir, "long.csv", "id_column = id\n", "id");

    /* Quoted ids ("a" is a), blanks around unquoted ones, "" inside quotes, a quoted newline in
     * a value, blank lines, CRLF, and the id in the middle. */
    tsft_write_file(tsft_path(dir, "quoted.csv"),
                    "time,id,v\r\n2020-01-01,\"a\",1\r\n2020-01-02, a ,\"2\"\r\n\r\n"
                    "2020-01-01,\"x\"\"y\",3\r\n2020-01-02,\"x\"\"y\",4\r\n"
                    "2020-01-03,\"x\"\"y\",\"5\"\r\n2020-01-01,\"b\nc\",6\r\n",
                    (size_t)-1);
    expect_check_matches_reader(dir, "quoted.csv", "id_column = id\n", "id");

    /* No time column: the id first, then numbers (never guessed as epochs). */
    tsft_write_file(tsft_path(dir, "notime.csv"), "id,a,b\nu,1,2\nu,3,4\nw,5,6\n", (size_t)-1);
    expect_check_matches_reader(dir, "notime.csv", "id_column = id\n", "id");

    /* Over 1 MiB, so the scan crosses blocks: three interleaved series of unequal lengths, some
     * ids quoted (the byte-by-byte path) and most not (the line path). */
    size_t cap = 4u << 20, used = 0;
    char *big = malloc(cap);
    cr_assert_not_null(big);
    used += (size_t)snprintf(big, cap, "series,time,load\n");
    size_t next[3] = {0, 0, 0};
    for (size_t i = 0; i < 80000; i++) {
        size_t k = i % 7 == 6 ? 2 : i % 2; /* s2 is the shortest */
        time_t t = (time_t)(1577836800 + 3600 * next[k]++);
        struct tm tm;
        gmtime_r(&t, &tm);
        char ts[32];
        strftime(ts, sizeof ts, "%Y-%m-%d %H:%M:%S", &tm);
        used += (size_t)snprintf(big + used, cap - used,
                                 i % 97 ? "s%zu,%s,%zu.5\n" : "\"s%zu\",%s,%zu.5\n", k, ts, i);
    }
    cr_assert_lt(used, cap);
    cr_assert_gt(used, (size_t)1 << 21);
    tsft_write_file(tsft_path(dir, "big.csv"), big, used);
    free(big);
    expect_check_matches_reader(dir, "big.csv", "id_column = series\n", "series");
}

/* A small deterministic generator for the randomized case below. */
static unsigned long long lcg_state;
static unsigned rnd(unsigned n)
{
    lcg_state = lcg_state * 6364136223846793005ull + 1442695040888963407ull;
    return (unsigned)(lcg_state >> 33) % n;
}

Test(ingest_csv, check_counts_series_as_the_reader_does_over_random_quoting_and_blank_lines)
{
    const char *dir = tsft_tmpdir();
    static const char *const ids[] = {"a", "b", "c d", "e\"f", "g,h", "i\nj"};
    lcg_state = 20240601;
    for (int file = 0; file < 60; file++) {
        char csv[16384];
        size_t u = 0;
        const char *nl = rnd(2) ? "\r\n" : "\n";
        int id_pos = (int)rnd(3); /* 0: id first, 1: between time and value, 2: last */
        static const char *const headers[] = {"id,time,v", "time,id,v", "time,v,id"};
        u += (size_t)snprintf(csv + u, sizeof csv - u, "%s%s", headers[id_pos], nl);
        size_t next[6] = {0};
        int n_rows = 1 + (int)rnd(40);
        for (int r = 0; r < n_rows; r++) {
            unsigned k = rnd(6);
            char idf[32], tf[32], vf[32];
            const char *id = ids[k];
            if (strpbrk(id, "\",\n") || rnd(3) == 0) { /* quoted, "" inside */
                size_t w = 0;
                idf[w++] = '"';
                for (const char *c = id; *c; c++) {
                    if (*c == '"')
                        idf[w++] = '"';
                    idf[w++] = *c;
                }
                idf[w++] = '"';
                idf[w] = '\0';
            } else {
                snprintf(idf, sizeof idf, "%s%s%s", rnd(4) ? "" : " ", id, rnd(4) ? "" : "\t");
            }
            time_t t = (time_t)(1577836800 + 3600 * next[k]++);
            struct tm tm;
            gmtime_r(&t, &tm);
            strftime(tf, sizeof tf, "%Y-%m-%d %H:%M:%S", &tm);
            snprintf(vf, sizeof vf, rnd(5) ? "%d.5" : "\"%d\"", r);
            const char *f[3];
            f[id_pos] = idf;
            f[id_pos == 0 ? 1 : 0] = tf;
            f[id_pos == 2 ? 1 : 2] = vf;
            u += (size_t)snprintf(csv + u, sizeof csv - u, "%s,%s,%s%s%s", f[0], f[1], f[2], nl,
                                  rnd(8) ? "" : nl); /* now and then a blank line */
            cr_assert_lt(u, sizeof csv - 256);
        }
        if (rnd(3) == 0) /* no newline at the end */
            u -= strlen(nl);
        char name[32];
        snprintf(name, sizeof name, "r%d.csv", file);
        tsft_write_file(tsft_path(dir, name), csv, u);
        expect_check_matches_reader(dir, name, "id_column = id\n", "id");
    }
}

Test(ingest_csv, check_takes_a_numeric_first_column_as_a_value_as_the_reader_does)
{
    const char *dir = tsft_tmpdir();
    tsft_write_file(tsft_path(dir, "num.csv"), "epoch,v\n1600000000,1\n1600000060,2\n", (size_t)-1);
    expect_check_matches_reader(dir, "num.csv", "", NULL);
    checked c;
    check_text(&c, "[d]\nstage = ingest.csv\npath = num.csv\n", dir, NULL);
    cr_assert_eq(c.rc, TSF_OK, "%s", all_diags(&c.diags));
    cr_assert_eq(c.plan->steps[0].out[0].cols, 2);
    checked_free(&c);
}

Test(ingest_csv, check_of_a_pipe_says_so_without_opening_it)
{
    const char *dir = tsft_tmpdir();
    cr_assert_eq(mkfifo(tsft_path(dir, "fifo.csv"), 0600), 0);
    /* Opening the FIFO here would block this test: the check must only stat it. */
    checked c;
    check_text(&c, "[d]\nstage = ingest.csv\npath = fifo.csv\n", dir, NULL);
    cr_assert_eq(c.rc, TSF_OK, "%s", all_diags(&c.diags));
    char d[1024];
    tsf_meta_describe(&c.plan->steps[0].out[0], d, sizeof d);
    cr_assert_str_eq(d, "frame: a pipe, not a file: run reads it once, and checks its header and "
                        "rows then");
    checked_free(&c);
    /* A stage that reads with random access refuses it (before its own check opens it). */
    char w[512];
    snprintf(w, sizeof w,
             "pipeline.ini:3: step \"h\", key \"path\": \"%s/fifo.csv\" is a pipe (FIFO), not a "
             "regular file (expected the path of a readable file: stage ingest.hdf5 reads it "
             "with random access, which a pipe or device cannot give; save the data to a file "
             "first)",
             dir);
    const char *want[] = {w, NULL};
    expect_diags("[h]\nstage = ingest.hdf5\npath = fifo.csv\n", dir, NULL, want, TSF_EIO);
}

Test(ingest_hdf5, check_refuses_a_file_that_is_not_hdf5)
{
    char w[512];
    snprintf(w, sizeof w,
             "pipeline.ini:3: step \"h\", key \"path\": %s/small.csv is not an HDF5 file "
             "(expected an HDF5 file; for CSV use stage ingest.csv)",
             fixture_dir());
    const char *want[] = {w, NULL};
    expect_diags("[h]\nstage = ingest.hdf5\npath = small.csv\n", fixture_dir(), NULL, want,
                 TSF_EFORMAT);
}

/* ---- Running --------------------------------------------------------------------------------- */

Test(run, runs_steps_in_dependency_order_and_frees_each_value_after_its_last_reader)
{
    tsf_err err = TSF_ERR_INIT;
    int rc = run_text("[c]\nstage = test.scale\ninput = b\n"
                      "[a]\nstage = test.source\nrows = 5\n"
                      "[b]\nstage = test.scale\ninput = a\n"
                      "[sink]\nstage = test.sink\ninputs = c, a\n",
                      NULL, &err);
    cr_assert_eq(rc, TSF_OK, "%s", err.msg);
    /* a is read by b and by sink: it lives until sink is done; b's value goes after c. */
    expect_events("run a fini a copy b run b copy c run c free b run sink free c free a");
}

Test(run, frees_outputs_nobody_reads_right_away)
{
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(
        run_text("[m]\nstage = test.multi\n[s]\nstage = test.sink\ninputs = m.main\n", NULL, &err),
        TSF_OK, "%s", err.msg);
    expect_events("run m free m.hist run s free m");
}

Test(run, keeps_a_frame_alive_until_the_views_into_it_are_freed)
{
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(run_text("[src]\nstage = test.source\nrows = 3\n"
                          "[win]\nstage = test.view\n"
                          "[sink]\nstage = test.sink\n",
                          NULL, &err),
                 TSF_OK, "%s", err.msg);
    /* The view's destructor reads the frame: under ASan an early free would be caught. */
    expect_events("run src fini src run win run sink free win(src:3) free src");
}

Test(run, gives_ownership_only_to_the_last_reader_of_an_unshared_value)
{
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(run_text("[a]\nstage = test.source\n"
                          "[b]\nstage = test.scale\ninplace = true\n"
                          "[c]\nstage = test.scale\ninplace = true\ninput = a\n"
                          "[d]\nstage = test.sink\ninputs = b, c\n",
                          NULL, &err),
                 TSF_OK, "%s", err.msg);
    /* b shares a with c: it copies; c is a's last reader: it takes a (so no "free a"). */
    expect_events("run a fini a copy b run b take c run c run d free b free c");
    cr_assert_eq(run_text("[a]\nstage = test.source\n"
                          "[v]\nstage = test.view\n"
                          "[b]\nstage = test.scale\ninplace = true\ninput = a\n"
                          "[d]\nstage = test.sink\ninputs = v, b\n",
                          NULL, &err),
                 TSF_OK, "%s", err.msg);
    /* v points into a: b may not take it. */
    expect_events("run a fini a run v copy b run b run d free v(a:10) free a free b");
}

Test(run, a_failure_names_the_step_and_frees_every_value)
{
    tsf_err err = TSF_ERR_INIT;
    int rc = run_text("[a]\nstage = test.source\n"
                      "[v]\nstage = test.view\n"
                      "[f]\nstage = test.fail\ninput = a\nmessage = boom\n"
                      "[s]\nstage = test.sink\ninputs = v\n"
                      "[t]\nstage = test.source\n",
                      NULL, &err);
    cr_assert_eq(rc, TSF_EIO);
    cr_assert_str_eq(err.msg, "step \"f\" (test.fail): boom");
    expect_events("run a fini a run v run f free v(a:10) free a fini t");
}

Test(run, a_plan_runs_once)
{
    checked c;
    check_text(&c, "[a]\nstage = test.source\n", NULL, NULL);
    cr_assert_eq(c.rc, TSF_OK);
    cr_assert_eq(tsf_plan_run(c.plan, NULL, &c.err), TSF_OK, "%s", c.err.msg);
    cr_assert_eq(tsf_plan_run(c.plan, NULL, &c.err), TSF_EINVAL);
    cr_assert_str_eq(c.err.msg, "step \"a\": the plan has already run");
    checked_free(&c);
}

typedef struct recorder {
    char text[4096];
    int n_progress;
    int reports_in_step;
    double eta[8]; /* of the first progress reports */
    volatile sig_atomic_t cancel;
    long cancel_at_epoch;
} recorder;

static void rec_begin(void *user, const tsf_plan *plan, size_t i)
{
    recorder *r = user;
    size_t n = strlen(r->text);
    snprintf(r->text + n, sizeof r->text - n, "begin %s; ", plan->steps[i].src->name);
    r->reports_in_step = 0;
}

static void rec_end(void *user, const tsf_plan *plan, size_t i, int status)
{
    recorder *r = user;
    size_t n = strlen(r->text);
    snprintf(r->text + n, sizeof r->text - n, "end %s %s; ", plan->steps[i].src->name,
             tsf_status_name(status));
}

static void rec_progress(void *user, const tsf_progress_event *ev)
{
    recorder *r = user;
    size_t n = strlen(r->text);
    /* the time left is unknown at a step's first report (no rate yet), known at every later one */
    cr_assert_eq(ev->eta >= 0, r->reports_in_step > 0, "time left %g at report %d of step %s",
                 ev->eta, r->reports_in_step + 1, ev->step);
    r->reports_in_step++;
    cr_assert_geq(ev->elapsed, 0);
    if (r->n_progress < 8)
        r->eta[r->n_progress] = ev->eta;
    snprintf(r->text + n, sizeof r->text - n, "%zu/%zu %s epoch %ld/%ld loss %g val %g %.2f; ",
             ev->index + 1, ev->count, ev->step, ev->p.epoch, ev->p.epochs, ev->p.loss,
             ev->p.val_loss, ev->p.fraction);
    r->n_progress++;
    if (r->cancel_at_epoch && ev->p.epoch == r->cancel_at_epoch)
        r->cancel = 1;
}

static void rec_log(void *user, const tsf_plan *plan, size_t i, int level, const char *msg)
{
    recorder *r = user;
    size_t n = strlen(r->text);
    snprintf(r->text + n, sizeof r->text - n, "log %s %d %s; ", plan->steps[i].src->name, level,
             msg);
}

static int run_recorded(const char *text, const char *dir, recorder *r, tsf_err *err)
{
    checked c;
    check_text(&c, text, dir, NULL);
    cr_assert_eq(c.rc, TSF_OK, "%s", all_diags(&c.diags));
    tsf_run_hooks h = {.user = r,
                       .cancel = &r->cancel,
                       .step_begin = rec_begin,
                       .step_end = rec_end,
                       .progress = rec_progress,
                       .log = rec_log};
    tsft_events_reset();
    int rc = tsf_plan_run(c.plan, &h, err);
    for (size_t i = 0; i < c.plan->n_steps; i++)
        if (c.plan->steps[i].stats.ran)
            cr_assert_geq(c.plan->steps[i].stats.seconds, 0);
    checked_free(&c);
    return rc;
}

/* The process's peak resident memory (VmHWM) in KiB, or -1. */
static long process_peak_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    long kb = -1;
    char line[256];
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmHWM:", 6))
            kb = strtol(line + 6, NULL, 10);
    if (f)
        fclose(f);
    return kb;
}

/* Run text with hooks that only set measure_memory; returns the first step's peak. */
static long run_measured(const char *text, int measure)
{
    checked c;
    check_text(&c, text, NULL, NULL);
    cr_assert_eq(c.rc, TSF_OK, "%s", all_diags(&c.diags));
    tsf_run_hooks h = {.measure_memory = measure};
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_plan_run(c.plan, &h, &err), TSF_OK, "%s", err.msg);
    long kb = c.plan->steps[0].stats.peak_rss_kb;
    checked_free(&c);
    return kb;
}

Test(run, leaves_the_process_peak_memory_alone_unless_asked_to_measure_steps)
{
    long before = process_peak_kb();
    if (before < 0)
        cr_skip_test("no /proc/self/status VmHWM on this system");
    /* Raise the process's peak by 64 MiB, then give the memory back. */
    size_t n = (size_t)64 << 20;
    char *big = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(big, MAP_FAILED);
    memset(big, 1, n);
    munmap(big, n);
    long high = process_peak_kb();
    cr_assert_geq(high, before + 60 * 1024, "VmHWM %ld KiB after touching 64 MiB (before %ld)",
                  high, before);
    const char *text = "[a]\nstage = test.source\nrows = 3\n[s]\nstage = test.sink\ninput = a\n";
    cr_assert_eq(run_measured(text, 0), -1, "not measured unless asked");
    cr_assert_geq(process_peak_kb(), high, "a run without measure_memory reset the peak");
    long step = run_measured(text, 1);
    if (step < 0)
        cr_skip_test("the kernel does not let the peak be reset (/proc/self/clear_refs)");
    cr_assert_gt(step, 0);
    cr_assert_lt(process_peak_kb(), high, "measure_memory resets the peak per step");
}

Test(run, reports_steps_progress_and_stage_messages_through_the_hooks)
{
    recorder r;
    memset(&r, 0, sizeof r);
    tsf_err err = TSF_ERR_INIT;
    int rc = run_recorded("[s]\nstage = test.slow\nseconds = 0.02\nepochs = 2\n"
                          "[o]\nstage = test.options\nname = hi\n",
                          NULL, &r, &err);
    cr_assert_eq(rc, TSF_OK, "%s", err.msg);
    cr_assert_str_eq(r.text, "begin s; 1/2 s epoch 1/2 loss 1 val 2 0.50; "
                             "1/2 s epoch 2/2 loss 0.5 val 1 1.00; end s OK; begin o; "
                             "log o 1 flag=0 count=3 size=4 rate=0.5 name=hi mode=0 quantiles=3 "
                             "cols=0; end o OK; ");
}

/* A step that spends 1 s setting up before its first report, then 10 ms an epoch: the time left
 * counts from the first report's rate (at the second of four reports, 2 epochs of 10 ms), not
 * from the step's start, which would say about 1 s. */
Test(run, time_left_ignores_the_set_up_before_the_first_report)
{
    recorder r;
    memset(&r, 0, sizeof r);
    tsf_err err = TSF_ERR_INIT;
    int rc = run_recorded("[s]\nstage = test.slow\nsetup = 1\nseconds = 0.04\nepochs = 4\n", NULL,
                          &r, &err);
    cr_assert_eq(rc, TSF_OK, "%s", err.msg);
    cr_assert_eq(r.n_progress, 4);
    cr_assert_lt(r.eta[0], 0, "no rate at the first report");
    cr_assert(r.eta[1] >= 0 && r.eta[1] < 0.5, "%g s left after the second of four 10 ms epochs",
              r.eta[1]);
    cr_assert_eq(r.eta[3], 0);
}

static size_t count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    cr_assert(d);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}

Test(run, cancelling_stops_the_stage_and_leaves_no_output)
{
    const char *dir = tsft_tmpdir();
    recorder r;
    memset(&r, 0, sizeof r);
    r.cancel_at_epoch = 2;
    tsf_err err = TSF_ERR_INIT;
    int rc = run_recorded("[s]\nstage = test.slow\nseconds = 30\nepochs = 3000\npath = out.txt\n"
                          "[after]\nstage = test.source\n",
                          dir, &r, &err);
    cr_assert_eq(rc, TSF_ECANCEL, "%s", err.msg);
    cr_assert_str_eq(err.msg, "interrupted during step \"s\" (test.slow)");
    cr_assert_eq(r.n_progress, 2);
    cr_assert_eq(count_entries(dir), 0, "the output and its temporary are gone");
    /* The next step never started; its fini still ran. */
    expect_events("run s fini after");
}

Test(run, a_cancel_before_a_step_starts_stops_the_run)
{
    recorder r;
    memset(&r, 0, sizeof r);
    r.cancel = 1;
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(run_recorded("[a]\nstage = test.source\n", NULL, &r, &err), TSF_ECANCEL);
    cr_assert_str_eq(err.msg, "interrupted before step \"a\"");
    cr_assert_str_eq(r.text, "");
}

/* ---- Built-in stages end to end --------------------------------------------------------- */

Test(builtin, ingest_csv_then_export_csv_gives_back_the_same_frame)
{
    const char *dir = tsft_tmpdir();
    char text[1024];
    snprintf(text, sizeof text,
             "[data]\nstage = ingest.csv\npath = %s\n[out]\nstage = export.csv\npath = out.csv\n",
             fixture("small.csv"));
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(run_text(text, dir, &err), TSF_OK, "%s", err.msg);
    tsf_frame *a = NULL, *b = NULL;
    cr_assert_eq(tsf_csv_read(&a, fixture("small.csv"), NULL, NULL, &err), TSF_OK, "%s", err.msg);
    cr_assert_eq(tsf_csv_read(&b, tsft_path(dir, "out.csv"), NULL, NULL, &err), TSF_OK, "%s",
                 err.msg);
    cr_assert_eq(a->n_rows, 6);
    cr_assert_eq(b->n_rows, a->n_rows);
    cr_assert_eq(b->n_cols, a->n_cols);
    for (size_t j = 0; j < a->n_cols; j++) {
        cr_assert_str_eq(b->col_names[j], a->col_names[j]);
        tsft_assert_identical(b->cols[j], a->cols[j], a->n_rows, a->col_names[j]);
    }
    cr_assert_eq(memcmp(a->time, b->time, a->n_rows * sizeof *a->time), 0);
    tsf_frame_free(a);
    tsf_frame_free(b);
}

Test(builtin, ingest_csv_options_reach_the_reader)
{
    const char *dir = tsft_tmpdir();
    tsft_write_file(tsft_path(dir, "in.csv"), "a;b;c\n1;-;x\n2;5;y\n", (size_t)-1);
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(run_text("[data]\nstage = ingest.csv\npath = in.csv\ndelimiter = semicolon\n"
                          "no_time = true\ncolumns = b, a\nna = -\n"
                          "[out]\nstage = export.csv\npath = out.csv\n",
                          dir, &err),
                 TSF_OK, "%s", err.msg);
    tsf_frame *f = NULL;
    tsf_csv_options opt;
    tsf_csv_options_init(&opt);
    opt.time_index = TSF_CSV_TIME_NONE;
    cr_assert_eq(tsf_csv_read(&f, tsft_path(dir, "out.csv"), &opt, NULL, &err), TSF_OK, "%s",
                 err.msg);
    cr_assert_eq(f->n_cols, 2);
    cr_assert_str_eq(f->col_names[0], "b");
    cr_assert_str_eq(f->col_names[1], "a");
    cr_assert(isnan(f->cols[0][0]));
    cr_assert_eq(f->cols[0][1], 5.0);
    cr_assert_eq(f->cols[1][1], 2.0);
    tsf_frame_free(f);
}

Test(builtin, a_reader_error_names_the_step_and_the_file_position)
{
    const char *dir = tsft_tmpdir();
    tsft_write_file(tsft_path(dir, "bad.csv"), "time,v\n2020-01-01,1\n2020-01-02,abc\n",
                    (size_t)-1);
    tsf_err err = TSF_ERR_INIT;
    int rc = run_text("[data]\nstage = ingest.csv\npath = bad.csv\n", dir, &err);
    cr_assert_neq(rc, TSF_OK);
    char prefix[512];
    snprintf(prefix, sizeof prefix, "step \"data\" (ingest.csv): %s/bad.csv:3:", dir);
    cr_assert(!strncmp(err.msg, prefix, strlen(prefix)), "%s", err.msg);
}

Test(builtin, export_hdf5_writes_what_pandas_reads)
{
    tsft_need_python_modules("pandas,tables");
    const char *dir = tsft_tmpdir();
    char text[1024];
    snprintf(text, sizeof text,
             "[data]\nstage = ingest.csv\npath = %s\n[out]\nstage = export.hdf5\npath = "
             "out2.h5\nkey = series\n[back]\nstage = ingest.hdf5\npath = out.h5\nkey = series\n",
             fixture("small.csv"));
    /* The third step reads a file an earlier run wrote (a run may not write a file it also
     * reads), so write it first with a two-step pipeline. */
    char first[1024];
    snprintf(first, sizeof first,
             "[data]\nstage = ingest.csv\npath = %s\n[out]\nstage = export.hdf5\npath = "
             "out.h5\nkey = series\n",
             fixture("small.csv"));
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(run_text(first, dir, &err), TSF_OK, "%s", err.msg);
    char *out = NULL, *perr = NULL;
    int rc = tsft_python("import pandas, sys\n"
                         "df = pandas.read_hdf(sys.argv[1], 'series')\n"
                         "print(list(df.columns), len(df), repr(float(df['temp'].sum())))\n",
                         &out, &perr, tsft_path(dir, "out.h5"), NULL);
    cr_assert_eq(rc, 0, "%s", perr);
    cr_assert_str_eq(out, "['load', 'temp'] 6 75.0\n");
    /* And ingest.hdf5 reads it back, its check seeing the shape. */
    checked c;
    check_text(&c, text, dir, NULL);
    cr_assert_eq(c.rc, TSF_OK, "%s", all_diags(&c.diags));
    cr_assert_eq(c.plan->steps[2].out[0].rows, 6);
    cr_assert_eq(c.plan->steps[2].out[0].cols, 2);
    checked_free(&c);
}

Test(builtin, ingest_hdf5_check_lists_what_the_file_holds_when_the_key_is_missing)
{
    tsft_need_python_modules("h5py,numpy");
    const char *dir = tsft_tmpdir();
    const char *h5 = tsft_path(dir, "x.h5");
    char *out = NULL, *perr = NULL;
    int rc = tsft_python("import h5py, numpy, sys\n"
                         "with h5py.File(sys.argv[1], 'w') as f:\n"
                         "    f['load'] = numpy.zeros((5, 2))\n"
                         "    f['cube'] = numpy.zeros((2, 2, 2))\n"
                         "    f['names'] = numpy.array([b'a', b'b'])\n",
                         &out, &perr, h5, NULL);
    cr_assert_eq(rc, 0, "%s", perr);
    char w1[512], w2[512], w3[512];
    snprintf(w1, sizeof w1,
             "pipeline.ini:4: step \"a\", key \"key\": %s has no dataset or group \"laod\" "
             "(expected one of: cube, load, names)",
             h5);
    snprintf(w2, sizeof w2,
             "pipeline.ini:8: step \"b\", key \"key\": %s: dataset \"cube\" has 3 dimensions "
             "(expected 1 or 2: rows, or rows x columns)",
             h5);
    snprintf(w3, sizeof w3,
             "pipeline.ini:12: step \"c\", key \"key\": %s: dataset \"names\" is not numeric "
             "(expected integers, floating-point numbers or a table of records)",
             h5);
    const char *want[] = {w1, w2, w3, NULL};
    expect_diags("[a]\nstage = ingest.hdf5\npath = x.h5\nkey = laod\n"
                 "[b]\nstage = ingest.hdf5\npath = x.h5\nkey = cube\n"
                 "[c]\nstage = ingest.hdf5\npath = x.h5\nkey = names\n"
                 "[d]\nstage = ingest.hdf5\npath = x.h5\nkey = load\n",
                 dir, NULL, want, TSF_EINVAL);
}
