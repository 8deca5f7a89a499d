/* The tsflow run, check, stages and help commands: output, exit codes (0 ok, 1 run failure,
 * 2 usage or check failure, 130 interrupted, 143 terminated), --quiet/--verbose, progress lines,
 * and Ctrl-C or SIGTERM leaving no output behind. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "support.h"

#define ASSERT_HAS(text, sub)                                                                      \
    cr_assert(strstr((text), (sub)), "missing \"%s\" in:\n%s", (sub), (text))

/* Whether text has a line "  NAME<spaces>SUMMARY..." (the padding depends on the longest name). */
static int has_stage_line(const char *text, const char *name, const char *summary)
{
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        const char *q = p + 2;
        if (strncmp(p, "  ", 2) || strncmp(q, name, strlen(name)) || q[strlen(name)] != ' ')
            continue;
        q += strlen(name);
        while (*q == ' ')
            q++;
        if (!strncmp(q, summary, strlen(summary)))
            return 1;
    }
    return 0;
}

static const char *fixture(const char *name)
{
    char rel[256];
    snprintf(rel, sizeof rel, "tests/fixtures/pipelines/%s", name);
    return tsft_source(rel);
}

static const char *stages_plugin(void)
{
    const char *root = getenv("TSF_BUILD_ROOT");
    cr_assert(root);
    return tsft_path(root, "tests/pipeline/tsft_stages.so");
}

/* "KEY=VALUE" for --set, in one of a few static buffers (enough for one command line). */
static const char *set_arg(const char *key, const char *value)
{
    static char bufs[8][2048];
    static int k;
    char *b = bufs[k++ % 8];
    snprintf(b, sizeof bufs[0], "%s=%s", key, value);
    return b;
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

Test(cli, check_prints_the_plan_and_exits_0)
{
    const char *dir = tsft_tmpdir();
    char *out, *err;
    const char *set = set_arg("out.path", tsft_path(dir, "out.csv"));
    int rc = tsft_tsflow(&out, &err, "check", "--set", set, fixture("roundtrip.ini"), NULL);
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert_str_eq(err, "");
    ASSERT_HAS(out, ": 2 steps, in run order\n");
    ASSERT_HAS(out, "frame: 6 rows x 2 columns (load, temp), 1 series, step 3600 s\n");
    char w[1024];
    snprintf(w, sizeof w, "writes %s/out.csv\n", dir);
    ASSERT_HAS(out, w);
    cr_assert_eq(count_entries(dir), 0, "check writes nothing");
}

Test(cli, check_prints_every_problem_and_exits_2)
{
    char *out, *err;
    int rc =
        tsft_tsflow(&out, &err, "check", "--plugin", stages_plugin(), fixture("errors.ini"), NULL);
    cr_assert_eq(rc, 2);
    cr_assert_str_eq(out, "");
    char w[1024];
    snprintf(w, sizeof w, "%s:8: step \"window\", key \"min_rows\": \"ten\" is not an integer",
             fixture("errors.ini"));
    ASSERT_HAS(err, w);
    snprintf(w, sizeof w, "tsflow: %s: 5 problems found; nothing runs\n", fixture("errors.ini"));
    ASSERT_HAS(err, w);
}

Test(cli, run_writes_the_output_and_exits_0)
{
    const char *dir = tsft_tmpdir();
    const char *dst = tsft_path(dir, "out.csv");
    char *out, *err;
    int rc = tsft_tsflow(&out, &err, "run", "--set", set_arg("out.path", dst),
                         fixture("roundtrip.ini"), NULL);
    cr_assert_eq(rc, 0, "%s", err);
    ASSERT_HAS(err, "[1/2] data (ingest.csv)\n");
    ASSERT_HAS(err, "[2/2] out (export.csv) done in ");
    ASSERT_HAS(err, ": 2 steps done in ");
    char *text = tsft_read_file(dst, NULL);
    cr_assert_not_null(text, "no output");
    ASSERT_HAS(text, "load");
    free(text);
}

Test(cli, quiet_prints_nothing_and_verbose_adds_the_plan_and_a_time_table)
{
    const char *dir = tsft_tmpdir();
    char *out, *err;
    int rc =
        tsft_tsflow(&out, &err, "run", "-q", "--set", set_arg("out.path", tsft_path(dir, "a.csv")),
                    fixture("roundtrip.ini"), NULL);
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert_str_eq(out, "");
    cr_assert_str_eq(err, "");
    rc = tsft_tsflow(&out, &err, "run", "--verbose", "--set",
                     set_arg("out.path", tsft_path(dir, "b.csv")), fixture("roundtrip.ini"), NULL);
    cr_assert_eq(rc, 0, "%s", err);
    ASSERT_HAS(err, "2 steps, in run order\n");
    ASSERT_HAS(err, "step  stage             time     peak memory\n");
    ASSERT_HAS(err, "\ndata  ingest.csv  ");
    ASSERT_HAS(err, " MiB\n");
    rc = tsft_tsflow(&out, &err, "run", "-q", "-v", fixture("roundtrip.ini"), NULL);
    cr_assert_eq(rc, 2);
    cr_assert_str_eq(err, "tsflow: run: --quiet and --verbose contradict each other\n");
}

Test(cli, run_prints_progress_lines_when_not_on_a_terminal)
{
    char *out, *err;
    int rc = tsft_tsflow(&out, &err, "run", "--plugin", stages_plugin(), "--set",
                         "slow.seconds=0.05", "--set", "slow.epochs=4", fixture("slow.ini"), NULL);
    cr_assert_eq(rc, 0, "%s", err);
    /* no time left at the first report: there is no rate yet */
    ASSERT_HAS(err, "[2/2] slow (test.slow) epoch 1/4 loss 1 val 2  25%\n");
    ASSERT_HAS(err, "[2/2] slow (test.slow) epoch 2/4 loss 0.5 val 1  50%, ");
    ASSERT_HAS(err, "[2/2] slow (test.slow) epoch 4/4 loss 0.25 val 0.5 100%, 0.00 s left\n");
}

Test(cli, a_failing_step_exits_1_naming_the_step)
{
    const char *dir = tsft_tmpdir();
    const char *ini = tsft_path(dir, "f.ini");
    tsft_write_file(ini, "[f]\nstage = test.fail\nmessage = disk on fire\n", (size_t)-1);
    char *out, *err;
    int rc = tsft_tsflow(&out, &err, "run", "-q", "--plugin", stages_plugin(), ini, NULL);
    cr_assert_eq(rc, 1);
    cr_assert_str_eq(err, "tsflow: step \"f\" (test.fail): disk on fire\n");
}

Test(cli, usage_errors_exit_2)
{
    char *out, *err;
    cr_assert_eq(tsft_tsflow(&out, &err, "run", NULL), 2);
    cr_assert_str_eq(err, "tsflow: run: expected a PIPELINE file (see 'tsflow run --help')\n");
    cr_assert_eq(tsft_tsflow(&out, &err, "check", "--bogus", "x.ini", NULL), 2);
    cr_assert_str_eq(err,
                     "tsflow: check: unknown option \"--bogus\" (see 'tsflow check --help')\n");
    cr_assert_eq(tsft_tsflow(&out, &err, "run", "a.ini", "b.ini", NULL), 2);
    cr_assert_str_eq(err, "tsflow: run: unexpected argument \"b.ini\" (see 'tsflow run --help')\n");
    cr_assert_eq(tsft_tsflow(&out, &err, "run", "/nonexistent/p.ini", NULL), 2);
    cr_assert_str_eq(err, "tsflow: /nonexistent/p.ini: cannot open the pipeline file: No such "
                          "file or directory (expected the path of a readable pipeline file, an "
                          "INI file with one [step] section per step; - reads it from standard "
                          "input)\n");
    cr_assert_eq(tsft_tsflow(&out, &err, "run", "--set", "oops", fixture("roundtrip.ini"), NULL),
                 2);
    cr_assert_str_eq(err, "tsflow: --set \"oops\": expected STEP.KEY=VALUE\n");
    cr_assert_eq(tsft_tsflow(&out, &err, "check", "--set", NULL), 2);
    cr_assert_str_eq(err, "tsflow: check: option --set expects a value\n");
    cr_assert_eq(tsft_tsflow(&out, &err, "stages", "--set", "a.b=c", NULL), 2);
    cr_assert_str_eq(err, "tsflow: stages: option --set does not apply here (see 'tsflow stages "
                          "--help')\n");
}

Test(cli, check_reads_a_pipeline_from_standard_input_with_paths_from_here)
{
    char *out, *err;
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "cd %s && printf '[d]\\nstage = ingest.csv\\npath = small.csv\\n' | %s check -",
             tsft_source("tests/fixtures/pipelines"), tsft_tsflow_bin());
    char *argv[] = {"sh", "-c", cmd, NULL};
    int rc = tsft_run(argv, &out, &err);
    cr_assert_eq(rc, 0, "%s", err);
    ASSERT_HAS(out, "-: 1 step, in run order\n");
    ASSERT_HAS(out, "reads  small.csv\n");
}

Test(cli, stages_lists_the_built_in_stages_only)
{
    char *out, *err;
    cr_assert_eq(tsft_tsflow(&out, &err, "stages", NULL), 0, "%s", err);
    cr_assert(
        has_stage_line(out, "export.csv", "write a frame, forecasts or metrics to a CSV file\n"),
        "%s", out);
    cr_assert(has_stage_line(out, "ingest.hdf5", "read a frame from an HDF5 file"), "%s", out);
    cr_assert_null(strstr(out, "test."), "test stages are not shipped:\n%s", out);
}

Test(cli, help_describes_a_stage_from_its_definition)
{
    char *out, *err;
    cr_assert_eq(tsft_tsflow(&out, &err, "help", "ingest.csv", NULL), 0, "%s", err);
    ASSERT_HAS(out, "ingest.csv: read a CSV file into a frame\n");
    ASSERT_HAS(out, "outputs:\n  frame      frame                the series read\n");
    ASSERT_HAS(out, "  path = file  (required)\n      the CSV file to read; a pipe works too "
                    "(read once, by run): --set\n      STEP.path=<(zcat data.csv.gz)\n");
    ASSERT_HAS(out, "  delimiter = auto|comma|semicolon|tab  (default auto)\n");
    ASSERT_HAS(out, "  time_position = integer  (default -1)\n");
    ASSERT_HAS(out, "      expects an integer from -1 to 1000000\n");
    ASSERT_HAS(out, "example:\n  [step]\n  stage = ingest.csv\n  path = FILE\n");

    cr_assert_eq(tsft_tsflow(&out, &err, "help", "--plugin", stages_plugin(), "test.options", NULL),
                 0, "%s", err);
    ASSERT_HAS(out,
               "  rate = number  (default 0.5)\n      a number\n      expects a number greater "
               "than 0 and at most 1\n");
    ASSERT_HAS(out, "  quantiles = number, ...  (default 0.1, 0.5, 0.9)\n");
    ASSERT_HAS(out, "  mode = fast|slow|exact  (default fast)\n");
}

Test(cli, help_for_commands_and_unknown_names)
{
    char *out, *err;
    cr_assert_eq(tsft_tsflow(&out, &err, "help", "run", NULL), 0, "%s", err);
    ASSERT_HAS(out, "usage: tsflow run [OPTIONS] PIPELINE\n");
    cr_assert_eq(tsft_tsflow(&out, &err, "help", "ingest_csv", NULL), 2);
    cr_assert_str_eq(err, "tsflow: help: no stage or command \"ingest_csv\" (did you mean "
                          "\"ingest.csv\"?)\n");
    cr_assert_eq(tsft_tsflow(&out, &err, "help", NULL), 0, "bare help is --help");
    ASSERT_HAS(out, "  stages ");
}

/* ---- Interrupting a run ----------------------------------------------------------------- */

/* Wait until dir holds a file whose name contains part (at most 20 s). */
static int wait_for_entry(const char *dir, const char *part)
{
    for (int i = 0; i < 2000; i++) {
        DIR *d = opendir(dir);
        struct dirent *e;
        int found = 0;
        while (d && (e = readdir(d)))
            found |= strstr(e->d_name, part) != NULL;
        if (d)
            closedir(d);
        if (found)
            return 1;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return 0;
}

/* Start `tsflow run` of the slow test stage writing dst (in its own directory), stderr to
 * err_path; returns once the step has its temporary open. */
static pid_t start_slow_run(const char *dst, int stubborn, const char *err_path)
{
    char *argv[] = {(char *)tsft_tsflow_bin(),
                    "run",
                    "--plugin",
                    (char *)stages_plugin(),
                    "--set",
                    (char *)set_arg("slow.path", dst),
                    "--set",
                    stubborn ? "slow.stubborn=true" : "slow.stubborn=false",
                    (char *)fixture("slow.ini"),
                    NULL};
    tsft_child child = {.err_path = err_path};
    pid_t pid = tsft_spawn(argv, &child);
    char *slash = strrchr(dst, '/'), dir[4096];
    snprintf(dir, sizeof dir, "%.*s", (int)(slash - dst), dst);
    /* The slow step has its temporary open once ".result.txt.tsflow-tmp-" appears. */
    cr_assert(wait_for_entry(dir, ".tsflow-tmp-"), "the slow step never started");
    return pid;
}

static void interrupt_run(int sig, int existing, int stubborn)
{
    const char *dir = tsft_tmpdir();
    const char *work = tsft_path(dir, "work");
    cr_assert_eq(mkdir(work, 0755), 0);
    const char *dst = tsft_path(work, "result.txt");
    if (existing)
        tsft_write_file(dst, "previous result\n", (size_t)-1);
    const char *err_path = tsft_path(dir, "stderr.txt");
    pid_t pid = start_slow_run(dst, stubborn, err_path);
    kill(pid, sig);
    if (stubborn) {
        /* The stage ignores the flag: a second signal removes the temporary and exits. */
        struct timespec ts = {0, 200 * 1000 * 1000};
        nanosleep(&ts, NULL);
        kill(pid, sig);
    }
    int rc = tsft_wait(pid, 30, "tsflow run after the signal", err_path);
    char *err = tsft_read_file(err_path, NULL);
    cr_assert_eq(rc, 128 + sig, "exit %d (expected %d); stderr:\n%s", rc, 128 + sig, err);
    if (stubborn)
        ASSERT_HAS(err, "tsflow: stopped at once; temporary files removed\n");
    else
        ASSERT_HAS(err, "tsflow: interrupted during step \"slow\" (test.slow); outputs in "
                        "progress were removed, previous outputs kept\n");
    free(err);
    cr_assert_eq(count_entries(work), existing ? 1 : 0, "a partial output or temporary is left");
    if (existing) {
        char *text = tsft_read_file(dst, NULL);
        cr_assert_str_eq(text, "previous result\n", "the previous output changed");
        free(text);
    }
}

/* A fault outside HDF5 parsing is a bug: tsflow removes its temporaries, says nothing about a
 * damaged HDF5 file, and dies by the signal (a core dump; under ASan, the sanitizer's report). */
Test(interrupt, a_fault_outside_hdf5_removes_temporaries_and_keeps_its_signal)
{
    const char *dir = tsft_tmpdir();
    const char *work = tsft_path(dir, "work");
    cr_assert_eq(mkdir(work, 0755), 0);
    const char *err_path = tsft_path(dir, "stderr.txt");
    pid_t pid = start_slow_run(tsft_path(work, "result.txt"), 0, err_path);
    kill(pid, SIGSEGV);
    int rc = tsft_wait(pid, 30, "tsflow run after SIGSEGV", err_path);
    char *err = tsft_keep(tsft_read_file(err_path, NULL));
#ifdef __SANITIZE_ADDRESS__
    cr_assert(rc != 0 && strstr(err, "AddressSanitizer: SEGV"), "exit %d; stderr:\n%s", rc, err);
#else
    cr_assert_eq(rc, TSFT_SIGNALLED + SIGSEGV, "exit %d; stderr:\n%s", rc, err);
#endif
    cr_assert(!strstr(err, "HDF5"), "a fault outside HDF5 blamed on a file:\n%s", err);
    cr_assert_eq(count_entries(work), 0, "a temporary is left behind");
}

Test(interrupt, ctrl_c_stops_cleanly_leaves_no_output_and_exits_130)
{
    interrupt_run(SIGINT, 0, 0);
}

Test(interrupt, ctrl_c_keeps_the_previous_output_intact)
{
    interrupt_run(SIGINT, 1, 0);
}

Test(interrupt, sigterm_stops_cleanly_and_exits_143)
{
    interrupt_run(SIGTERM, 0, 0);
}

Test(interrupt, a_second_ctrl_c_quits_at_once_removing_temporaries)
{
    interrupt_run(SIGINT, 1, 1);
}

/* In dir: wide.csv, a ramp 0, step, 2 step, ... (40 rows), narrow.csv, a series living in
 * 37-63, and p.ini: the ramp's naive forecasts (lookback 4, horizon 2) exported by `stage` to
 * `out` beside the narrow series. Returns the pipeline's path. */
static const char *ramp_beside_narrow(const char *dir, int step, const char *stage, const char *out)
{
    FILE *w = fopen(tsft_path(dir, "wide.csv"), "w"), *n = fopen(tsft_path(dir, "narrow.csv"), "w");
    cr_assert(w && n);
    fprintf(w, "time,load\n");
    fprintf(n, "time,load\n");
    for (int i = 0; i < 40; i++) {
        fprintf(w, "%d,%d\n", i, i * step);
        fprintf(n, "%d,%d\n", i, 37 + i % 27);
    }
    fclose(w);
    fclose(n);
    const char *ini = tsft_path(dir, "p.ini");
    char text[512];
    snprintf(text, sizeof text,
             "[wide]\nstage = ingest.csv\npath = wide.csv\ntime_unit = index\n\n"
             "[win]\nstage = window\ninput = wide\nlookback = 4\nhorizon = 2\n\n"
             "[naive]\nstage = baseline\ninput = win\nmethod = naive\n\n"
             "[narrow]\nstage = ingest.csv\npath = narrow.csv\ntime_unit = index\n\n"
             "[out]\nstage = %s\ninputs = naive, narrow\npath = %s\n",
             stage, out);
    tsft_write_file(ini, text, (size_t)-1);
    return ini;
}

/* Forecasts far outside the data they are exported with are flagged in the log and in the
 * file: a naive forecast of a ramp up to 38000, exported beside a series living in 37-63. The
 * count is checked against h5py and against the data: every one of the 35 windows' 2 naive
 * forecasts of the ramp is at least 3000, beyond 63 + 10 x 26. */
Test(plausibility, forecasts_far_outside_the_data_are_flagged_in_the_log_and_the_export)
{
    tsft_need_python_modules("h5py");
    const char *dir = tsft_tmpdir(), *ini = ramp_beside_narrow(dir, 1000, "export.hdf5", "out.h5");
    char *out = NULL, *err = NULL;
    cr_assert_eq(tsft_tsflow(&out, &err, "run", ini, NULL), 0, "%s", err);
    ASSERT_HAS(err, "warning: ");
    ASSERT_HAS(err, "70 of 70 forecast values lie far outside the data, e.g. 37000 for \"load\", "
                    "whose data spans 37 to 63 (plausible: -223 to 323)");
    int rc = tsft_python("import sys, h5py\n"
                         "f = h5py.File(sys.argv[1], 'r')\n"
                         "print(int(f.attrs['implausible_forecasts']))\n",
                         &out, &err, tsft_path(dir, "out.h5"), NULL);
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert_str_eq(out, "70\n");
}

/* export.csv flags the same forecasts as export.hdf5, row by row, in a last column implausible
 * that pandas.read_csv reads as booleans: naive forecasts of a ramp 0, 20, ..., 780 beside a
 * series living in 37-63 (plausible up to 63 + 10 x 26 = 323): the 35 windows' naive forecasts
 * are 20 x 3 to 20 x 37, twice each, and the 21 from 340 on are implausible; checked against
 * pandas' own comparison of each row with those bounds. tsflow backtest --csv binds its data the
 * same way. */
Test(plausibility, export_csv_flags_each_row_far_outside_the_data_in_a_boolean_column)
{
    tsft_need_python_modules("pandas");
    const char *dir = tsft_tmpdir(), *ini = ramp_beside_narrow(dir, 20, "export.csv", "out.csv");
    char *out = NULL, *err = NULL;
    cr_assert_eq(tsft_tsflow(&out, &err, "run", ini, NULL), 0, "%s", err);
    ASSERT_HAS(err, "warning: ");
    ASSERT_HAS(err, "out.csv: 42 of 70 forecast values lie far outside the data, e.g. 740 for "
                    "\"load\", whose data spans 37 to 63 (plausible: -223 to 323); their rows say "
                    "implausible = True");
    int rc =
        tsft_python("import sys, pandas as pd\n"
                    "d = pd.read_csv(sys.argv[1])\n"
                    "assert d.columns[-1] == 'implausible' and d.implausible.dtype == bool\n"
                    "want = (d.naive < 37 - 260) | (d.naive > 63 + 260)\n"
                    "print(len(d), int(d.implausible.sum()), int((d.implausible == want).sum()))\n",
                    &out, &err, tsft_path(dir, "out.csv"), NULL);
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert_str_eq(out, "70 42 70\n");

    /* The command's CSV carries the column too; baselines of the data itself are plausible. */
    rc = tsft_tsflow(&out, &err, "backtest", tsft_path(dir, "narrow.csv"), "--time-unit", "index",
                     "--season", "27", "--horizon", "2", "--model", "none", "--out",
                     tsft_path(dir, "bt.h5"), "--csv", tsft_path(dir, "bt.csv"), NULL);
    cr_assert_eq(rc, 0, "%s", err);
    rc = tsft_python("import sys, pandas as pd\n"
                     "d = pd.read_csv(sys.argv[1])\n"
                     "print(d.implausible.dtype, len(d) > 0, int(d.implausible.sum()))\n",
                     &out, &err, tsft_path(dir, "bt.csv"), NULL);
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert_str_eq(out, "bool True 0\n");
}

/* A batch larger than the training windows is cut to them, and the log says so (a batch of
 * 100000 on 97 windows took 3.8 GB for nothing). */
Test(plausibility, a_batch_larger_than_the_windows_is_capped_and_logged)
{
    const char *dir = tsft_tmpdir();
    FILE *f = fopen(tsft_path(dir, "data.csv"), "w");
    cr_assert(f);
    fprintf(f, "time,load\n");
    for (int i = 0; i < 120; i++)
        fprintf(f, "2020-01-%02d %02d:00,%d\n", 1 + i / 24, i % 24, 50 + (i * 7) % 11);
    fclose(f);
    char *out = NULL, *err = NULL;
    int rc = tsft_tsflow(&out, &err, "forecast", tsft_path(dir, "data.csv"), "--horizon", "4",
                         "--epochs", "1", "--batch-size", "100000", "--out", tsft_path(dir, "f.h5"),
                         NULL);
    cr_assert_eq(rc, 0, "%s", err);
    /* 120 rows, 0.9 of them train (forecast keeps 0.1 to validate, none to test): 108 rows hold
     * 108 - (lookback 8 + horizon 4) + 1 = 97 windows */
    ASSERT_HAS(err, "model: batch_size 100000 is more than the 97 training windows: batches of 97");
}

/* ---- pipelines built from flags ------------------------------------------------------------ */

static const char *hourly_csv(const char *dir)
{
    const char *path = tsft_path(dir, "data.csv");
    FILE *f = fopen(path, "w");
    cr_assert(f, "%s", path);
    fprintf(f, "time,load\n");
    for (int i = 0; i < 120; i++)
        fprintf(f, "2020-01-%02d %02d:00,%d\n", 1 + i / 24, i % 24, 50 + (i * 7) % 11);
    fclose(f);
    return path;
}

/* The flags become steps in memory, not INI text parsed back: a path longer than libinih's
 * 200-byte line works. */
Test(flags_pipeline, paths_longer_than_an_ini_line_work)
{
    char deep[1024];
    snprintf(deep, sizeof deep, "%s/", tsft_tmpdir());
    for (int i = 0; i < 5; i++) {
        strcat(deep, "a_directory_name_of_fifty_characters_for_the_path_");
        cr_assert_eq(mkdir(deep, 0755), 0, "%s", deep);
        strcat(deep, "/");
    }
    cr_assert_gt(strlen(deep), 250);
    const char *data = hourly_csv(deep);
    char out_path[1100];
    snprintf(out_path, sizeof out_path, "%sout.h5", deep);
    char *out = NULL, *err = NULL;
    int rc = tsft_tsflow(&out, &err, "backtest", data, "--horizon", "4", "--model", "none", "--out",
                         out_path, NULL);
    cr_assert_eq(rc, 0, "%s", err);
    struct stat st;
    cr_assert_eq(stat(out_path, &st), 0, "no output at the long path");
}

/* --print-pipeline prints what runs: --set overrides applied (and marked), paths absolute, so
 * the printed file checks from any directory. */
/* --csv /dev/stdout with standard output appended to a log (`>> log`): the link leads to the log
 * file, which an output renamed over it would replace, losing the log; refused at check time. */
Test(output_safety, an_output_that_is_where_standard_output_goes_is_refused)
{
    const char *dir = tsft_tmpdir();
    hourly_csv(dir);
    tsft_write_file(tsft_path(dir, "log.txt"), "earlier lines\n", (size_t)-1);
    char cmd[8192];
    snprintf(
        cmd, sizeof cmd,
        "'%s' forecast data.csv --horizon 4 --epochs 1 --out f.h5 --csv /dev/stdout >> log.txt",
        tsft_tsflow_bin());
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    char *out = NULL, *err = NULL;
    int rc = tsft_run_in(dir, 60, argv, &out, &err);
    cr_assert_eq(rc, 2, "exit %d: %s", rc, err);
    ASSERT_HAS(err, "step \"csv\", key \"path\": \"/dev/stdout\" is the file this process's "
                    "standard output goes to (expected a file of its own");
    cr_assert_str_eq(tsft_keep(tsft_read_file(tsft_path(dir, "log.txt"), NULL)), "earlier lines\n");
    cr_assert_null(tsft_read_file(tsft_path(dir, "f.h5"), NULL));
}

/* --time-unit reaches ingest.csv's time_unit as the choice it is: integer times counted as an
 * index (quoted, as a path is, it was "\"index\"", not one of the choices). */
Test(flags_pipeline, time_unit_flag_is_a_choice_the_pipeline_accepts)
{
    const char *dir = tsft_tmpdir();
    const char *data = tsft_path(dir, "n.csv");
    FILE *f = fopen(data, "w");
    cr_assert(f);
    fprintf(f, "t,load\n");
    for (int i = 0; i < 60; i++)
        fprintf(f, "%d,%d\n", i, 37 + i % 27);
    fclose(f);
    char *out = NULL, *err = NULL;
    int rc = tsft_tsflow(&out, &err, "backtest", data, "--time-unit", "index", "--season", "27",
                         "--horizon", "2", "--model", "none", "--out", tsft_path(dir, "bt.h5"),
                         "--print-pipeline", NULL);
    cr_assert_eq(rc, 0, "%s", err);
    ASSERT_HAS(out, "\ntime_unit = index\n");
    rc = tsft_tsflow(&out, &err, "backtest", data, "--time-unit", "index", "--season", "27",
                     "--horizon", "2", "--model", "none", "--out", tsft_path(dir, "bt.h5"), NULL);
    cr_assert_eq(rc, 0, "%s", err);
}

Test(flags_pipeline, print_pipeline_shows_set_overrides_and_runs_from_anywhere)
{
    const char *dir = tsft_tmpdir(), *elsewhere = tsft_tmpdir();
    hourly_csv(dir);
    char *out = NULL, *err = NULL;
    char *argv[] = {(char *)tsft_tsflow_bin(),
                    "forecast",
                    "data.csv",
                    "--horizon",
                    "4",
                    "--out",
                    "f.h5",
                    "--set",
                    "model.lr=0.01",
                    "--print-pipeline",
                    NULL};
    int rc = tsft_run_in(dir, 60, argv, &out, &err);
    cr_assert_eq(rc, 0, "%s", err);
    ASSERT_HAS(out, "# from --set model.lr=0.01\nlr = 0.01\n");
    char want[4200];
    snprintf(want, sizeof want, "path = \"%s/data.csv\"\n", dir);
    ASSERT_HAS(out, want);
    cr_assert(!strstr(out, "lr = 0.003"), "the flag's value is printed, not the override:\n%s",
              out);
    const char *ini = tsft_path(elsewhere, "printed.ini");
    tsft_write_file(ini, out, (size_t)-1);
    char *check[] = {(char *)tsft_tsflow_bin(), "check", "printed.ini", NULL};
    rc = tsft_run_in(elsewhere, 60, check, &out, &err);
    cr_assert_eq(rc, 0, "the printed pipeline does not check from another directory:\n%s", err);
}

/* Without a terminal, progress is logged at a bounded rate: a line per tenth of a step's work
 * or every few seconds, however many epochs and folds report (folds in parallel used to add a
 * line at every report), and each line says which fold of how many. */
Test(progress, a_plain_log_has_a_bounded_number_of_progress_lines)
{
    const char *dir = tsft_tmpdir();
    const char *data = tsft_path(dir, "data.csv");
    FILE *f = fopen(data, "w");
    cr_assert(f);
    fprintf(f, "time,load\n");
    for (int i = 0; i < 400; i++)
        fprintf(f, "2020-01-%02d %02d:00,%d\n", 1 + i / 24, i % 24, 50 + (i * 7) % 11 + (i % 24));
    fclose(f);
    char *out = NULL, *err = NULL;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc =
        tsft_tsflow(&out, &err, "backtest", data, "--horizon", "4", "--stride", "4", "--epochs",
                    "3", "--hidden", "8", "--jobs", "2", "--out", tsft_path(dir, "bt.h5"), NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    cr_assert_eq(rc, 0, "%s", err);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    size_t n = 0, with_fold = 0;
    for (char *l = err; l && *l;) {
        char *e = strchr(l, '\n');
        size_t len = e ? (size_t)(e - l) : strlen(l);
        char line[1024];
        snprintf(line, sizeof line, "%.*s", (int)len, l);
        if (strstr(line, "(backtest) fitting")) {
            n++;
            with_fold += strstr(line, " fold ") && strstr(line, "/20 ") != NULL;
        }
        l += len + (e != NULL);
    }
    /* 20 folds x 3 epochs report hundreds of times; at most 11 tenths plus the timed lines */
    size_t bound = 11 + (size_t)(secs / 5.0) + 1;
    cr_assert(n >= 1 && n <= bound, "%zu progress lines of the backtest (bound %zu):\n%s", n, bound,
              err);
    cr_assert_eq(with_fold, n, "a progress line does not say which fold of 20:\n%s", err);
}

/* gnuplot that exits 0 having written half a picture (as on a full disk) fails the step: exit 1,
 * the previous PNGs kept, no temporary left. The stand-in gnuplot writes a PNG signature and a
 * few bytes to every output it is given. */
/* Run a backtest whose plots are drawn by the stand-in gnuplot script: it must exit 1 with
 * message, keep the previous PNGs and leave no temporary. */
static void plot_fails_keeping_previous_pngs(const char *script, const char *message)
{
    const char *dir = tsft_tmpdir();
    const char *data = tsft_path(dir, "data.csv");
    FILE *f = fopen(data, "w");
    cr_assert(f);
    fprintf(f, "time,load\n");
    for (int i = 0; i < 200; i++)
        fprintf(f, "2020-01-%02d %02d:00,%d\n", 1 + i / 24, i % 24, 50 + (i * 7) % 11);
    fclose(f);
    const char *fake = tsft_path(dir, "fake-gnuplot.sh");
    tsft_write_file(fake, script, (size_t)-1);
    cr_assert_eq(chmod(fake, 0755), 0);
    const char *names[] = {"p_forecast.png", "p_backtest.png"};
    for (int k = 0; k < 2; k++)
        tsft_write_file(tsft_path(dir, names[k]), "previous picture", (size_t)-1);
    char set[4200];
    snprintf(set, sizeof set, "plots.gnuplot=%s", fake);
    char *out = NULL, *err = NULL;
    int rc =
        tsft_tsflow(&out, &err, "backtest", data, "--horizon", "4", "--model", "none", "--out",
                    tsft_path(dir, "bt.h5"), "--plots", tsft_path(dir, "p"), "--set", set, NULL);
    cr_assert_eq(rc, 1, "exit %d:\n%s", rc, err);
    ASSERT_HAS(err, message);
    for (int k = 0; k < 2; k++) {
        char *text = tsft_read_file(tsft_path(dir, names[k]), NULL);
        cr_assert(text && !strcmp(text, "previous picture"), "%s was replaced", names[k]);
        free(text);
    }
    DIR *d = opendir(dir);
    struct dirent *de;
    while ((de = readdir(d)))
        cr_assert(!strstr(de->d_name, ".tsflow-tmp-"), "a temporary was left: %s", de->d_name);
    closedir(d);
}

/* gnuplot that exits 0 having written half a picture (as on a full disk) fails the step: exit 1,
 * the previous PNGs kept, no temporary left. The stand-in gnuplot writes a PNG signature and a
 * few bytes to every output it is given. */
Test(plot, a_truncated_png_is_refused_and_the_previous_one_kept)
{
    plot_fails_keeping_previous_pngs(
        "#!/bin/sh\n"
        "while [ $# -gt 1 ]; do\n"
        "  if [ \"$1\" = -e ]; then\n"
        "    f=$(printf '%s' \"$2\" | sed \"s/^[^']*'//; s/'$//\")\n"
        "    printf '\\211PNG\\r\\n\\032\\nhalf a pic' > \"$f\"; shift 2\n"
        "  else shift; fi\n"
        "done\n"
        "exit 0\n",
        "is not a complete PNG (a full disk?); the previous file is kept");
}

/* gnuplot that fails (exit 1 with a message, as when it cannot write a PNG) fails the step with
 * its message: exit 1, the previous PNGs kept, no temporary left. */
Test(plot, a_failing_gnuplot_fails_the_step_and_keeps_the_previous_pngs)
{
    plot_fails_keeping_previous_pngs("#!/bin/sh\n"
                                     "echo 'cannot write to the output: No space left' >&2\n"
                                     "exit 1\n",
                                     ": cannot write to the output: No space left");
}
