/* Plugins: a good one loads and runs, bad ones (another ABI, no symbol, a name clash, an invalid
 * definition, a missing file) are refused naming the file and leave the registry unchanged;
 * TSFLOW_PLUGIN_PATH; the example Box-Cox plugin, end to end. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runner.h"
#include "support.h"
#include "tsflow/io.h"

static const char *built(const char *rel)
{
    const char *root = getenv("TSF_BUILD_ROOT");
    cr_assert(root, "TSF_BUILD_ROOT is not set (run the tests with meson test)");
    return tsft_path(root, rel);
}

static const char *plugin(const char *name)
{
    char rel[256];
    snprintf(rel, sizeof rel, "tests/pipeline/%s.so", name);
    return built(rel);
}

static tsf_registry *builtins(void)
{
    tsf_registry *r = NULL;
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_init(), TSF_OK);
    cr_assert_eq(tsf_registry_alloc(&r, &err), TSF_OK);
    cr_assert_eq(tsf_registry_add_builtins(r, &err), TSF_OK, "%s", err.msg);
    return r;
}

static void expect_refused(const char *path, const char *want)
{
    tsf_registry *r = builtins();
    size_t before = tsf_registry_count(r);
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_registry_load_plugin(r, path, &err), TSF_EPLUGIN, "%s loaded", path);
    cr_assert_str_eq(err.msg, want);
    cr_assert_eq(tsf_registry_count(r), before, "a refused plugin adds nothing");
    tsf_registry_free(r);
}

Test(plugins, a_good_plugin_adds_its_stages_and_they_run)
{
    tsf_registry *r = builtins();
    tsf_err err = TSF_ERR_INIT;
    const char *path = plugin("tsft_stages");
    cr_assert_eq(tsf_registry_load_plugin(r, path, &err), TSF_OK, "%s", err.msg);
    const tsf_stage_def *d = tsf_registry_find(r, "test.source");
    cr_assert_not_null(d);
    const char *origin = NULL;
    for (size_t i = 0; i < tsf_registry_count(r); i++)
        if (tsf_registry_get(r, i, &origin) == d)
            break;
    cr_assert_str_eq(origin, path);
    /* Loading the same file again (TSFLOW_PLUGIN_PATH and --plugin) is harmless. */
    cr_assert_eq(tsf_registry_load_plugin(r, path, &err), TSF_OK, "%s", err.msg);

    const char *text = "[a]\nstage = test.source\nrows = 4\n[b]\nstage = test.scale\n"
                       "[c]\nstage = test.sink\n";
    tsf_pipeline *p = NULL;
    cr_assert_eq(tsf_pipeline_parse(&p, "p.ini", NULL, text, strlen(text), &err), TSF_OK);
    tsf_diags dg = {0};
    tsf_plan *plan = NULL;
    cr_assert_eq(tsf_plan_make(&plan, p, r, &dg, &err), TSF_OK, "%s", err.msg);
    cr_assert_eq(tsf_plan_run(plan, NULL, &err), TSF_OK, "%s", err.msg);
    tsf_plan_free(plan);
    tsf_pipeline_free(p);
    tsf_registry_free(r);
}

Test(plugins, refuses_a_plugin_built_for_another_abi)
{
    const char *path = plugin("tsft_bad_abi");
    char want[1024];
    snprintf(want, sizeof want,
             "plugin %s: built for stage ABI version 42, but this tsflow has version 1 (rebuild "
             "it against this tsflow's tsflow/stage.h)",
             path);
    expect_refused(path, want);
}

Test(plugins, refuses_a_shared_object_without_the_enumeration_function)
{
    const char *path = plugin("tsft_no_symbol");
    char want[1024];
    snprintf(want, sizeof want,
             "plugin %s: no function tsflow_plugin_stages in it (expected a plugin that defines "
             "its stages with TSF_PLUGIN_STAGES from tsflow/stage.h)",
             path);
    expect_refused(path, want);
}

Test(plugins, refuses_a_stage_name_that_clashes_and_keeps_none_of_the_plugin)
{
    const char *path = plugin("tsft_clash");
    char want[1024];
    snprintf(want, sizeof want,
             "plugin %s: stage \"ingest.csv\" is already defined (a built-in stage)", path);
    expect_refused(path, want); /* also asserts that clash.fine was taken back out */
}

Test(plugins, refuses_an_invalid_definition_naming_the_stage_and_option)
{
    const char *path = plugin("tsft_bad_option");
    char want[1024];
    snprintf(want, sizeof want,
             "plugin %s: stage \"bad.option\": default of option \"window\": \"0\" is out of "
             "range (expected an integer from 1 to 100)",
             path);
    expect_refused(path, want);
}

Test(plugins, refuses_a_missing_file)
{
    tsf_registry *r = builtins();
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_registry_load_plugin(r, "/nonexistent/x.so", &err), TSF_EPLUGIN);
    const char *want = "plugin /nonexistent/x.so: cannot load it: /nonexistent/x.so: cannot open "
                       "shared object file: No such file or directory";
    cr_assert_str_eq(err.msg, want);
    tsf_registry_free(r);
}

Test(plugins, the_plugin_path_loads_files_and_directories)
{
    const char *dir = tsft_tmpdir();
    cr_assert_eq(symlink(plugin("tsft_stages"), tsft_path(dir, "stages.so")), 0);
    tsft_write_file(tsft_path(dir, "README"), "not a plugin", (size_t)-1);
    tsf_registry *r = builtins();
    tsf_err err = TSF_ERR_INIT;
    char list[2048];
    snprintf(list, sizeof list, "::%s:", dir);
    cr_assert_eq(tsf_registry_load_path(r, list, &err), TSF_OK, "%s", err.msg);
    cr_assert_not_null(tsf_registry_find(r, "test.slow"));
    cr_assert_eq(tsf_registry_load_path(r, "/nonexistent-dir", &err), TSF_EPLUGIN);
    cr_assert_str_eq(err.msg, "TSFLOW_PLUGIN_PATH: /nonexistent-dir: No such file or directory");
    cr_assert_eq(tsf_registry_load_path(r, NULL, &err), TSF_OK);
    tsf_registry_free(r);
}

Test(plugins, the_command_lists_plugin_stages_and_refuses_bad_plugins_with_exit_2)
{
    char *out = NULL, *err = NULL;
    const char *good = plugin("tsft_stages");
    int rc = tsft_tsflow(&out, &err, "stages", "--plugin", good, NULL);
    cr_assert_eq(rc, 0, "%s", err);
    char line[1024];
    snprintf(line, sizeof line, " make a frame of ROWS x COLS (test only)  (plugin %s)\n", good);
    cr_assert(strstr(out, "  test.source ") && strstr(out, line), "%s", out);
    cr_assert(strstr(out, "  ingest.csv ") && strstr(out, " read a CSV file into a frame\n"), "%s",
              out);

    const char *bad = plugin("tsft_bad_abi");
    rc = tsft_tsflow(&out, &err, "stages", "--plugin", bad, NULL);
    cr_assert_eq(rc, 2);
    snprintf(line, sizeof line,
             "tsflow: plugin %s: built for stage ABI version 42, but this tsflow has version 1 "
             "(rebuild it against this tsflow's tsflow/stage.h)\n",
             bad);
    cr_assert_str_eq(err, line);

    /* TSFLOW_PLUGIN_PATH, through env(1). */
    char env[2048];
    snprintf(env, sizeof env, "TSFLOW_PLUGIN_PATH=%s", good);
    char *argv[] = {"env", env, (char *)tsft_tsflow_bin(), "help", "test.slow", NULL};
    rc = tsft_run(argv, &out, &err);
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert(strstr(out, "test.slow: take a while"), "%s", out);
    snprintf(line, sizeof line, "(from plugin %s)\n", good);
    cr_assert(strstr(out, line), "%s", out);
}

/* ---- The example plugin -------------------------------------------------------------------- */

Test(example_plugin, boxcox_log_transforms_a_column_in_a_pipeline)
{
    const char *dir = tsft_tmpdir();
    tsft_write_file(tsft_path(dir, "in.csv"),
                    "time,a,b\n2020-01-01,1,5\n2020-01-02,2.5,\n2020-01-03,10,7\n", (size_t)-1);
    tsft_write_file(tsft_path(dir, "p.ini"),
                    "[in]\nstage = ingest.csv\npath = in.csv\n"
                    "[bc]\nstage = boxcox\ncolumns = b\nlambda = 0.5\nshift = 1\n"
                    "[out]\nstage = export.csv\npath = out.csv\n",
                    (size_t)-1);
    char *out = NULL, *err = NULL;
    int rc = tsft_tsflow(&out, &err, "run", "--quiet", "--plugin", built("examples/boxcox.so"),
                         tsft_path(dir, "p.ini"), NULL);
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert_str_eq(err, "");
    tsf_frame *f = NULL;
    tsf_err e = TSF_ERR_INIT;
    cr_assert_eq(tsf_csv_read(&f, tsft_path(dir, "out.csv"), NULL, NULL, &e), TSF_OK, "%s", e.msg);
    /* a is untouched; b = ((b + 1)^0.5 - 1) / 0.5, NaN stays NaN. */
    double want_a[] = {1, 2.5, 10};
    double want_b[] = {(sqrt(6.0) - 1) / 0.5, NAN, (sqrt(8.0) - 1) / 0.5};
    tsft_assert_identical(f->cols[0], want_a, 3, "a");
    tsft_assert_identical(f->cols[1], want_b, 3, "b");
    tsf_frame_free(f);
}

Test(example_plugin, boxcox_refuses_unknown_columns_and_non_positive_values)
{
    const char *dir = tsft_tmpdir();
    tsft_write_file(tsft_path(dir, "in.csv"), "time,a\n2020-01-01,1\n2020-01-02,-3\n", (size_t)-1);
    tsft_write_file(tsft_path(dir, "p.ini"),
                    "[in]\nstage = ingest.csv\npath = in.csv\n[bc]\nstage = boxcox\ncolumns = "
                    "aa\n",
                    (size_t)-1);
    char *out = NULL, *err = NULL;
    const char *so = built("examples/boxcox.so");
    const char *ini = tsft_path(dir, "p.ini");
    int rc = tsft_tsflow(&out, &err, "check", "--plugin", so, ini, NULL);
    cr_assert_eq(rc, 2);
    char want[1024];
    snprintf(want, sizeof want,
             "%s:6: step \"bc\", key \"columns\": the input has no column \"aa\" (did you mean "
             "\"a\"?)\n",
             ini);
    cr_assert(!strncmp(err, want, strlen(want)), "%s", err);
    rc = tsft_tsflow(&out, &err, "run", "--quiet", "--plugin", so, "--set", "bc.columns=a", ini,
                     NULL);
    cr_assert_eq(rc, 1);
    cr_assert_str_eq(err, "tsflow: step \"bc\" (boxcox): column \"a\", row 1 (2020-01-02 "
                          "00:00:00): -3 + shift 0 = -3 is not positive (expected values > 0 for "
                          "Box-Cox; raise shift)\n");
}
