/* Allocation failure injection: representative commands (inspect and convert of a CSV and an
 * HDF5 file, a pipeline that trains, backtests, saves and exports, and tsflow forecast and
 * tsflow backtest built from flags, the backtest's folds on two threads) run with their Nth
 * allocation failed (lib/core/alloc_fail.c, in a build configured with -Dalloc_fail=true), for N =
 * 1, 2, 3, ... until a run makes fewer than N allocations. Every failed run must exit 1 with an
 * out-of-memory message, not crash, not leak (the test runs in the AddressSanitizer build,
 * whose LeakSanitizer checks every exit) and leave no temporary. Each output must be as it was
 * before, byte for byte (a previous file, or none), or complete: the bytes of a successful run
 * (SOURCE_DATE_EPOCH makes them repeat), as when a pipeline fails after an earlier step's export
 * was committed.
 *
 * Which N: every one up to TSFT_DENSE (or the case's own dense, for the commands that train,
 * whose runs are longer and whose first allocations the others already sweep: argument and
 * pipeline parsing, the CSV reader), then about TSFT_SPREAD more spread evenly over the rest of
 * the command's allocations (counted by one run without injection), and the last TSFT_TAIL
 * (where outputs are committed and everything is freed), so that scripts/check.sh stays within
 * a few minutes; TSFT_ALLOC_EXHAUSTIVE=1 in the environment tries every N. The points covered
 * are logged per command and in total.
 *
 * Threads share the count (lib/core/alloc_fail.c), so in the backtest on two threads which
 * fold's allocation is the Nth depends on scheduling; the total does not, and every run, whichever
 * thread fails, must fail (or get past the failure) as cleanly as a serial one. */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support.h"

enum { TSFT_DENSE = 250, TSFT_SPREAD = 60, TSFT_TAIL = 20 };

typedef struct alloc_case {
    const char *name;
    const char *args[24];   /* tsflow's arguments (after the binary), run in the case directory */
    const char *outputs[4]; /* the files it writes */
    long dense;             /* every N up to this one is tried; 0: TSFT_DENSE */
} alloc_case;

static const char train_ini[] =
    "[data]\nstage = ingest.csv\npath = co2.csv\n\n"
    "[split]\nstage = split\nfractions = 0.7, 0.1, 0.2\n\n"
    "[filled]\nstage = impute\ninputs = data, split\nmethod = linear\n\n"
    "[norm]\nstage = normalize\ninputs = filled, split\n\n"
    "[train]\nstage = window\ninputs = norm, split\npart = train\nlookback = 16\nhorizon = 13\n\n"
    "[val]\nstage = window\ninputs = norm, split\npart = validation\nlookback = 16\n"
    "horizon = 13\n\n"
    "[lstm]\nstage = train.rnn\ninputs = train, val, norm.scaler\ncell = lstm\nhidden = 4\n"
    "epochs = 2\nbatch_size = 128\nseed = 1\n\n"
    "[backtest]\nstage = backtest\ninputs = data, lstm.model, split\nimpute = linear\n"
    "stride = 208\nretrain = every 2\nseed = 1\n\n"
    "[save]\nstage = model.save\ninput = lstm.model\npath = model.h5\n\n"
    "[export]\nstage = export.hdf5\ninputs = backtest.forecasts, backtest.metrics, lstm.history, "
    "data\npath = result.h5\n\n"
    "[csv]\nstage = export.csv\ninput = backtest.forecasts\npath = forecasts.csv\n";

static const alloc_case cases[] = {
    {"inspect CSV", {"inspect", "co2.csv", NULL}, {NULL}},
    {"inspect HDF5", {"inspect", "co2.h5", NULL}, {NULL}},
    {"convert CSV to HDF5", {"convert", "co2.csv", "out.h5", NULL}, {"out.h5", NULL}},
    {"convert HDF5 to CSV", {"convert", "co2.h5", "out.csv", NULL}, {"out.csv", NULL}},
    {"run train, backtest, save and export",
     {"run", "-q", "train.ini", NULL},
     {"model.h5", "result.h5", "forecasts.csv", NULL}},
    {"forecast from flags",
     {"forecast", "-q", "co2.csv", "--horizon", "13", "--lookback", "16", "--hidden", "4",
      "--epochs", "1", "--out", "f.h5", "--csv", "f.csv", "--save-model", "m.h5", NULL},
     {"f.h5", "f.csv", "m.h5", NULL},
     100},
    {"backtest from flags on 2 threads",
     {"backtest", "-q",    "co2.csv",  "--horizon", "13",       "--lookback", "16",
      "--hidden", "4",     "--epochs", "1",         "--stride", "104",        "--jobs",
      "2",        "--out", "bt.h5",    "--csv",     "bt.csv",   NULL},
     {"bt.h5", "bt.csv", NULL},
     30},
};

static int run_in(const char *dir, const char *const *args, char **out, char **err)
{
    char *argv[26];
    int n = 0;
    argv[n++] = (char *)tsft_tsflow_bin();
    for (; *args && n < 25; args++)
        argv[n++] = (char *)*args;
    argv[n] = NULL;
    return tsft_run_in(dir, 300, argv, out, err);
}

/* Run args with allocation nth failed (0: none); what the hook reported, or "" (kept). */
static int run_failing(const char *dir, const char *const *args, long nth, char **out, char **err,
                       const char **report)
{
    const char *path = tsft_path(dir, "injected.txt");
    unlink(path);
    char n_text[32];
    snprintf(n_text, sizeof n_text, "%ld", nth);
    setenv("TSF_ALLOC_FAIL_NTH", n_text, 1);
    setenv("TSF_ALLOC_FAIL_REPORT", path, 1);
    int rc = run_in(dir, args, out, err);
    unsetenv("TSF_ALLOC_FAIL_NTH");
    unsetenv("TSF_ALLOC_FAIL_REPORT");
    char *text = tsft_read_file(path, NULL);
    *report = text ? tsft_keep(text) : "";
    return rc;
}

/* The next N to fail after nth, for a command that made total allocations without injection
 * and whose first dense are all tried. */
static long next_point(long nth, long total, long dense)
{
    const char *all = getenv("TSFT_ALLOC_EXHAUSTIVE");
    if ((all && !strcmp(all, "1")) || nth < dense || nth >= total - TSFT_TAIL)
        return nth + 1;
    long stride = (total - TSFT_TAIL - dense) / TSFT_SPREAD + 1;
    long next = nth + stride;
    return next < total - TSFT_TAIL ? next : total - TSFT_TAIL;
}

/* A command's directory and what a run without injection gave. */
typedef struct sweep {
    const alloc_case *c;
    const char *dir;
    long total;    /* allocations made */
    char *out;     /* stdout */
    char *good[4]; /* the outputs' bytes (kept) */
    size_t good_len[4];
    long failed, benign; /* injection points that failed the run, that it got past */
} sweep;

/* What stands in an output's place before a run that finds it there. */
static const char previous_bytes[] = "the previous output\n";

static int same_file(const char *path, const char *bytes, size_t len)
{
    size_t now_len = 0;
    char *now = tsft_read_file(path, &now_len);
    int same = now && now_len == len && !memcmp(now, bytes, len);
    free(now);
    return same;
}

/* The assertions on one run with allocation nth failed; had_outputs: the outputs were there
 * before it. A run that failed must say so and keep or leave nothing; a run that got past the
 * failure (a shrinking realloc may fail harmlessly) must have done all its work, exactly. */
static void check_run(sweep *s, long nth, int had_outputs, int rc, const char *out, const char *err)
{
    const char *name = s->c->name, *dir = s->dir;
    cr_assert(!strstr(err, "Sanitizer") && !strstr(err, "runtime error"),
              "%s, allocation %ld failed: a sanitizer reported an error (a crash or a leak):\n%s",
              name, nth, err);
    if (rc == 0) {
        s->benign++;
        cr_assert_str_eq(out, s->out, "%s, allocation %ld failed, exit 0: another output", name,
                         nth);
        for (int k = 0; s->c->outputs[k]; k++)
            cr_assert(same_file(tsft_path(dir, s->c->outputs[k]), s->good[k], s->good_len[k]),
                      "%s, allocation %ld failed, exit 0: %s differs from a run without failure",
                      name, nth, s->c->outputs[k]);
        return;
    }
    s->failed++;
    cr_assert_eq(rc, 1, "%s, allocation %ld failed: exit %d (expected 1): %s", name, nth, rc, err);
    cr_assert(!strncmp(err, "tsflow: ", 8) && strstr(err, "out of memory"),
              "%s, allocation %ld failed: the message does not say it ran out of memory: %s", name,
              nth, err);
    for (int k = 0; s->c->outputs[k]; k++) {
        const char *path = tsft_path(dir, s->c->outputs[k]);
        int kept = had_outputs ? same_file(path, previous_bytes, strlen(previous_bytes))
                               : access(path, F_OK) != 0;
        cr_assert(kept || same_file(path, s->good[k], s->good_len[k]),
                  "%s, allocation %ld failed: %s is neither %s nor complete", name, nth,
                  s->c->outputs[k], had_outputs ? "the previous file" : "absent");
    }
    cr_assert_eq(tsft_n_temporaries(dir), 0, "%s, allocation %ld failed: a temporary was left",
                 name, nth);
}

/* Set up c's directory and run it once without injection. */
static void sweep_init(sweep *s, const alloc_case *c)
{
    memset(s, 0, sizeof *s);
    s->c = c;
    s->dir = tsft_tmpdir();
    char *data = tsft_read_file(tsft_source("datasets/mauna_loa_co2/co2_weekly.csv"), NULL);
    cr_assert(data);
    tsft_write_file(tsft_path(s->dir, "co2.csv"), data, (size_t)-1);
    free(data);
    tsft_write_file(tsft_path(s->dir, "train.ini"), train_ini, (size_t)-1);
    char *err = NULL;
    const char *const to_h5[] = {"convert", "co2.csv", "co2.h5", NULL};
    cr_assert_eq(run_in(s->dir, to_h5, NULL, &err), 0, "convert to HDF5 failed: %s", err);
    const char *report;
    int rc = run_failing(s->dir, c->args, 0, &s->out, &err, &report);
    cr_assert(rc == 0 && sscanf(report, "count %ld", &s->total) == 1 && s->total > 0,
              "%s: the run without injection failed (exit %d, report \"%s\"; is the build "
              "configured with -Dalloc_fail=true?): %s",
              c->name, rc, report, err);
    for (int k = 0; c->outputs[k]; k++) {
        s->good[k] = tsft_read_file(tsft_path(s->dir, c->outputs[k]), &s->good_len[k]);
        tsft_keep(s->good[k]);
        cr_assert(s->good[k], "%s: %s was not written", c->name, c->outputs[k]);
    }
}

/* Run c failing allocation N for the points next_point() picks; returns how many. */
static long inject(const alloc_case *c)
{
    sweep s;
    sweep_init(&s, c);
    for (long nth = 1;; nth = next_point(nth, s.total, c->dense ? c->dense : TSFT_DENSE)) {
        /* Odd N: previous outputs are there; even N: none is. */
        int had_outputs = nth % 2;
        for (int k = 0; c->outputs[k]; k++) {
            const char *path = tsft_path(s.dir, c->outputs[k]);
            if (had_outputs)
                tsft_write_file(path, previous_bytes, (size_t)-1);
            else
                unlink(path);
        }
        char *out = NULL, *err = NULL;
        const char *report;
        int rc = run_failing(s.dir, c->args, nth, &out, &err, &report);
        if (strncmp(report, "alloc ", 6) != 0) {
            /* Same path as the run without injection up to here: it made total. */
            cr_assert(rc == 0 && nth == s.total + 1,
                      "%s, allocation %ld (of %ld) not injected: exit %d, report \"%s\": %s",
                      c->name, nth, s.total, rc, report, err);
            break;
        }
        check_run(&s, nth, had_outputs, rc, out, err);
    }
    fprintf(
        stderr,
        "alloc_faults: %s: %ld of its %ld allocations failed in turn: %ld failed the run, %ld were "
        "absorbed with the same results\n",
        c->name, s.failed + s.benign, s.total, s.failed, s.benign);
    return s.failed + s.benign;
}

Test(alloc_faults, a_failed_allocation_fails_cleanly_at_every_point)
{
#ifndef TSFT_ALLOC_FAIL
    cr_skip_test("this build has no allocation failure hook (configure with -Dalloc_fail=true; "
                 "scripts/check.sh's build-asan is)");
#endif
    setenv("SOURCE_DATE_EPOCH", "1700000000", 1); /* outputs that repeat byte for byte */
    long total = 0;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        total += inject(&cases[i]);
    fprintf(stderr, "alloc_faults: %ld allocation injection points over %zu commands\n", total,
            sizeof cases / sizeof *cases);
}
