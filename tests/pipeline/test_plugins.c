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
             "plugin %s: built for stage ABI version %u, but this tsflow has version %u (rebuild "
             "it against this tsflow's tsflow/stage.h)",
             path, TSF_STAGE_ABI_VERSION + 41, TSF_STAGE_ABI_VERSION);
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
             "tsflow: plugin %s: built for stage ABI version %u, but this tsflow has version %u "
             "(rebuild it against this tsflow's tsflow/stage.h)\n",
             bad, TSF_STAGE_ABI_VERSION + 41, TSF_STAGE_ABI_VERSION);
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

/* ---- The example model plugin --------------------------------------------------------------- */

/* numpy's least squares on the same lags, forecast recursively: the reference the plugin's
 * forecasts (argv[2], a forecasts CSV) must match. argv[1] is the input CSV, argv[3] the model
 * column; each origin's fit uses the rows before it only. */
static const char *const lstsq_check =
    "import csv, sys, numpy as np\n"
    "y = np.array([float(r['y']) for r in csv.DictReader(open(sys.argv[1]))])\n"
    "rows = list(csv.DictReader(open(sys.argv[2])))\n"
    "model, p, worst, n = sys.argv[3], 2, 0.0, 0\n"
    "for o in sorted({int(r['origin']) for r in rows}):\n"
    "    X = np.array([[1.0, y[t - 1], y[t - 2]] for t in range(p, o)])\n"
    "    b = np.linalg.lstsq(X, y[p:o], rcond=None)[0]\n"
    "    lag, want = [y[o - 1], y[o - 2]], []\n"
    "    for l in range(3):\n"
    "        v = b[0] + b[1] * lag[0] + b[2] * lag[1]\n"
    "        want.append(v)\n"
    "        lag = [v, lag[0]]\n"
    "    for r in rows:\n"
    "        if int(r['origin']) != o:\n"
    "            continue\n"
    "        l = int(r['step']) - 1\n"
    "        worst = max(worst, abs(float(r[model]) - want[l]) / (1 + abs(want[l])))\n"
    "        if 'naive' in r:\n"
    "            assert float(r['naive']) == y[o - 1], (o, l, r['naive'])\n"
    "            assert float(r['snaive']) == y[o - 7 + l], (o, l, r['snaive'])\n"
    "        n += 1\n"
    "print('checked', n, 'forecasts; worst relative difference', worst)\n"
    "assert n and worst < 1e-9, worst\n";

/* y[t] = 0.6 y[t-1] - 0.3 y[t-2] + 1 + 0.8 sin(1.7 t): an AR(2) with a deterministic shock. */
static void write_ar_series(const char *path, size_t n)
{
    char text[8192] = "t,y\n";
    double y1 = 0.5, y2 = 0.0;
    for (size_t t = 0; t < n; t++) {
        double v = t == 0 ? 0.0 : t == 1 ? 0.5 : 0.6 * y1 - 0.3 * y2 + 1.0 + 0.8 * sin(1.7 * t);
        if (t >= 2) {
            y2 = y1;
            y1 = v;
        }
        snprintf(text + strlen(text), sizeof text - strlen(text), "%zu,%.6f\n", t, v);
    }
    tsft_write_file(path, text, strlen(text));
}

Test(example_plugin, linear_ar_backtests_against_the_baselines_and_matches_numpy_lstsq)
{
    tsft_need_python_modules("numpy");
    const char *dir = tsft_tmpdir();
    const char *csv = tsft_keep(strdup(tsft_path(dir, "ar.csv")));
    write_ar_series(csv, 60);
    const char *ini = tsft_keep(strdup(tsft_path(dir, "ar.ini")));
    const char *text = "[data]\nstage = ingest.csv\npath = ar.csv\n"
                       "[ar]\nstage = model.linear_ar\norder = 2\nhorizon = 3\ntargets = y\n"
                       "[bt]\nstage = backtest\ninputs = data, ar\ntrain_length = 40\n"
                       "stride = 5\nseason = 7\nbaselines = naive, snaive\n"
                       "[fc]\nstage = export.csv\ninput = bt.forecasts\npath = fc.csv\n"
                       "[future]\nstage = predict\ninputs = ar, data\n"
                       "[future_csv]\nstage = export.csv\npath = future.csv\n";
    tsft_write_file(ini, text, strlen(text));
    char *out = NULL, *err = NULL;
    const char *so = built("examples/linear_ar.so");
    int rc = tsft_tsflow(&out, &err, "run", "--plugin", so, ini, NULL);
    cr_assert_eq(rc, 0, "%s", err);
    /* four folds (origins 40, 45, 50, 55), the plugin scored beside the baselines */
    cr_assert(strstr(err, "bt: 4 folds, 4 fits; pooled scores (original scale):"), "%s", err);
    cr_assert(strstr(err, "  ar       MAE "), "%s", err);
    cr_assert(strstr(err, "  snaive   MAE "), "%s", err);
    rc = tsft_python(lstsq_check, &out, &err, csv, tsft_path(dir, "fc.csv"), "ar", NULL);
    cr_assert_eq(rc, 0, "%s%s", out, err);
    cr_assert(strstr(out, "checked 12 forecasts"), "%s", out);
    /* predict fits on every row and forecasts the 3 rows past the end: the origin 60 */
    rc = tsft_python(lstsq_check, &out, &err, csv, tsft_path(dir, "future.csv"), "ar", NULL);
    cr_assert_eq(rc, 0, "%s%s", out, err);
    cr_assert(strstr(out, "checked 3 forecasts"), "%s", out);
}

Test(example_plugin, linear_ar_names_a_missing_target_and_cannot_be_saved)
{
    const char *dir = tsft_tmpdir();
    const char *csv = tsft_keep(strdup(tsft_path(dir, "ar.csv")));
    write_ar_series(csv, 30);
    const char *ini = tsft_keep(strdup(tsft_path(dir, "ar.ini")));
    const char *text = "[data]\nstage = ingest.csv\npath = ar.csv\n"
                       "[ar]\nstage = model.linear_ar\nhorizon = 3\ntargets = z\n"
                       "[bt]\nstage = backtest\ninputs = data, ar\ntrain_length = 20\n"
                       "season = 1\n";
    tsft_write_file(ini, text, strlen(text));
    char *out = NULL, *err = NULL;
    const char *so = built("examples/linear_ar.so");
    int rc = tsft_tsflow(&out, &err, "run", "--quiet", "--plugin", so, ini, NULL);
    cr_assert_eq(rc, 2, "the plugin's check names its targets: refused before anything runs\n%s",
                 err);
    char want[1024];
    snprintf(want, sizeof want,
             "%s:10: step \"bt\", key \"inputs\": column \"z\" is not in the input %s\n", ini, csv);
    cr_assert(!strncmp(err, want, strlen(want)), "%s", err);
    const char *save = "[save]\nstage = model.save\ninput = ar\npath = ar.h5\n";
    FILE *fp = fopen(ini, "a");
    cr_assert(fp && fputs(save, fp) >= 0 && fclose(fp) == 0);
    rc = tsft_tsflow(&out, &err, "run", "--quiet", "--plugin", so, "--set", "ar.targets=y", ini,
                     NULL);
    cr_assert_eq(rc, 1, "%s", err);
    cr_assert_str_eq(err, "tsflow: step \"save\" (model.save): model \"ar\" (linear_ar) cannot be "
                          "saved: its producer offers no file format\n");
    cr_assert_null(tsft_read_file(tsft_path(dir, "ar.h5"), NULL), "nothing written");
}
