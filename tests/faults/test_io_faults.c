/* I/O failure injection: representative commands run under an LD_PRELOAD shim (io_fail.c) that
 * fails their Nth write (write, pwrite: HDF5's writes), stdio flush, fclose, fsync or rename on a
 * regular file, for N = 1, 2, 3, ... until a run gets through without an injected failure.
 * Every failed run must exit 1 with a message naming the output, leave the previous outputs byte
 * for byte and no temporary. The number of injection points covered is logged. The commands:
 * convert to HDF5 and to CSV, pipelines exporting both, saving a model and writing a training
 * checkpoint (one epoch: one checkpoint, since a later one failing rightly leaves an earlier
 * epoch's in place), and tsflow forecast from flags with its three outputs (an earlier output a
 * failed run has committed equals the previous one: SOURCE_DATE_EPOCH makes the bytes repeat). */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support.h"

static const char *shim(void)
{
#ifdef __SANITIZE_ADDRESS__
    cr_skip_test("under AddressSanitizer the shim cannot be preloaded (ASan's runtime must come "
                 "first); the plain build runs this test");
#endif
    const char *b = getenv("TSF_BUILD_ROOT");
    cr_assert(b, "TSF_BUILD_ROOT is not set");
    return tsft_keep(strdup(tsft_path(b, "tests/faults/tsft_io_fail.so")));
}

typedef struct io_case {
    const char *name;
    const char *args[24];   /* tsflow's arguments (after the binary), run in the case directory */
    const char *outputs[4]; /* files that exist before and must survive a failed run */
} io_case;

static void write_data(const char *dir)
{
    FILE *f = fopen(tsft_path(dir, "data.csv"), "w");
    cr_assert(f);
    fprintf(f, "time,load,temp\n");
    for (int i = 0; i < 300; i++)
        fprintf(f, "2020-01-%02d %02d:00,%d.5,%d\n", 1 + i / 24, i % 24, 50 + (i * 7) % 11, i % 13);
    fclose(f);
    tsft_write_file(tsft_path(dir, "export.ini"),
                    "[data]\nstage = ingest.csv\npath = data.csv\n\n"
                    "[csv]\nstage = export.csv\ninput = data\npath = out.csv\n\n"
                    "[h5]\nstage = export.hdf5\ninput = data\npath = out.h5\n",
                    (size_t)-1);
    tsft_write_file(tsft_path(dir, "model.ini"),
                    "[data]\nstage = ingest.csv\npath = data.csv\n\n"
                    "[w]\nstage = window\ninput = data\nlookback = 8\nhorizon = 2\n\n"
                    "[m]\nstage = train.rnn\ninput = w\nhidden = 4\nepochs = 1\n\n"
                    "[s]\nstage = model.save\ninput = m.model\npath = model.h5\n",
                    (size_t)-1);
    tsft_write_file(tsft_path(dir, "checkpoint.ini"),
                    "[data]\nstage = ingest.csv\npath = data.csv\n\n"
                    "[w]\nstage = window\ninput = data\nlookback = 8\nhorizon = 2\n\n"
                    "[m]\nstage = train.rnn\ninput = w\nhidden = 4\nepochs = 1\n"
                    "save = ckpt.h5\ncheckpoint_every = 1\n",
                    (size_t)-1);
}

static int run_in(const char *dir, const char *const *args, char **err)
{
    char *argv[26];
    int n = 0;
    argv[n++] = (char *)tsft_tsflow_bin();
    for (; *args && n < 25; args++)
        argv[n++] = (char *)*args;
    argv[n] = NULL;
    return tsft_run_in(dir, 120, argv, NULL, err);
}

/* Run c failing the Nth op for N = 1, 2, ...; returns the injection points (failed runs). */
static size_t inject(const io_case *c, const char *op)
{
    const char *dir = tsft_tmpdir(), *report = tsft_path(dir, "injected.txt");
    setenv("SOURCE_DATE_EPOCH", "1700000000", 1);
    write_data(dir);
    char *err = NULL;
    int rc = run_in(dir, c->args, &err); /* the previous outputs */
    cr_assert_eq(rc, 0, "%s: the run without injection failed: %s", c->name, err);
    char *prev[4] = {NULL};
    size_t prev_len[4] = {0};
    for (int k = 0; k < 4 && c->outputs[k]; k++)
        prev[k] = tsft_read_file(tsft_path(dir, c->outputs[k]), &prev_len[k]);
    size_t points = 0;
    for (long nth = 1; nth < 2000; nth++) {
        char n_text[32];
        snprintf(n_text, sizeof n_text, "%ld", nth);
        unlink(report);
        setenv("LD_PRELOAD", shim(), 1);
        setenv("TSFT_FAIL_OP", op, 1);
        setenv("TSFT_FAIL_NTH", n_text, 1);
        setenv("TSFT_FAIL_REPORT", report, 1);
        rc = run_in(dir, c->args, &err);
        unsetenv("LD_PRELOAD");
        unsetenv("TSFT_FAIL_OP");
        unsetenv("TSFT_FAIL_NTH");
        unsetenv("TSFT_FAIL_REPORT");
        if (access(report, F_OK) != 0) {
            cr_assert_eq(rc, 0, "%s, %s %ld not injected: exit %d: %s", c->name, op, nth, rc, err);
            break;
        }
        points++;
        cr_assert_eq(rc, 1, "%s, %s %ld failed: exit %d (expected 1): %s", c->name, op, nth, rc,
                     err);
        int named = 0;
        for (int k = 0; k < 4 && c->outputs[k]; k++)
            named |= strstr(err, c->outputs[k]) != NULL;
        cr_assert(strstr(err, "tsflow: ") && named,
                  "%s, %s %ld failed: the message does not name the output: %s", c->name, op, nth,
                  err);
        /* The system's reason, without what would change from run to run (HDF5's description
         * of a failed write holds a clock time and a buffer's address). */
        cr_assert(strcmp(op, "write") || strstr(err, "No space left on device"),
                  "%s, write %ld failed: the message does not give the reason: %s", c->name, nth,
                  err);
        cr_assert(!strstr(err, "buf = 0x") && !strstr(err, "time = "),
                  "%s, %s %ld failed: the message holds HDF5's addresses and times: %s", c->name,
                  op, nth, err);
        for (int k = 0; k < 4 && c->outputs[k]; k++) {
            size_t len = 0;
            char *now = tsft_read_file(tsft_path(dir, c->outputs[k]), &len);
            cr_assert(now && len == prev_len[k] && !memcmp(now, prev[k], len),
                      "%s, %s %ld failed: %s is not the previous file", c->name, op, nth,
                      c->outputs[k]);
            free(now);
        }
        cr_assert_eq(tsft_n_temporaries(dir), 0, "%s, %s %ld failed: a temporary was left", c->name,
                     op, nth);
    }
    for (int k = 0; k < 4; k++)
        free(prev[k]);
    cr_log_info("%s: %zu %s injection points", c->name, points, op);
    return points;
}

static const io_case cases[] = {
    {"convert to HDF5", {"convert", "data.csv", "out.h5", NULL}, {"out.h5", NULL}},
    {"convert to CSV", {"convert", "data.csv", "out.csv", NULL}, {"out.csv", NULL}},
    {"run with exports", {"run", "-q", "export.ini", NULL}, {"out.csv", "out.h5", NULL}},
    {"run saving a model", {"run", "-q", "model.ini", NULL}, {"model.h5", NULL}},
    {"run writing checkpoints during training",
     {"run", "-q", "checkpoint.ini", NULL},
     {"ckpt.h5", NULL}},
    {"forecast from flags",
     {"forecast", "-q", "data.csv", "--horizon", "2", "--lookback", "8", "--hidden", "4",
      "--epochs", "1", "--out", "f.h5", "--csv", "f.csv", "--save-model", "m.h5", NULL},
     {"f.h5", "f.csv", "m.h5", NULL}},
};

static void every_case(const char *op, size_t min_points)
{
    size_t total = 0;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        total += inject(&cases[i], op);
    cr_log_info("%s: %zu injection points over %zu commands", op, total,
                sizeof cases / sizeof *cases);
    cr_assert_geq(total, min_points, "only %zu %s calls were failed: is the shim loaded?", total,
                  op);
}

Test(io_faults, a_failed_write_fails_cleanly_at_every_point)
{
    every_case("write", 3);
}

Test(io_faults, a_failed_flush_fails_cleanly_at_every_point)
{
    every_case("flush", 2);
}

Test(io_faults, a_failed_close_fails_cleanly_at_every_point)
{
    every_case("close", 2);
}

Test(io_faults, a_failed_fsync_fails_cleanly_at_every_point)
{
    every_case("fsync", 4);
}

Test(io_faults, a_failed_rename_fails_cleanly_at_every_point)
{
    every_case("rename", 4);
}
