/* Reliability of the tsflow command on unusual inputs and for reproducible outputs:
 * pipes given as input paths (check neither blocks nor reads them; run reads them once), check's
 * plan agreeing with what run reads, and byte-identical HDF5 exports across runs under
 * SOURCE_DATE_EPOCH.
 *
 * Commands that could hang on a regression run under a deadline (tsft_run_in): the child is
 * killed and the test fails instead of blocking the suite. */
#define _GNU_SOURCE
#include <errno.h>
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

/* Generous: under the valgrind setup tsflow runs some 30 times slower. */
#define DEADLINE_S 120

/* The whole file as a kept string, or NULL. */
static char *read_kept(const char *path, size_t *len)
{
    return tsft_keep(tsft_read_file(path, len));
}

static const char *const data_csv = "time,load\n2020-01-01 00:00,1.5\n2020-01-01 01:00,2.5\n"
                                    "2020-01-01 02:00,3.5\n2020-01-01 03:00,4.5\n";

/* A child that opens fifo for writing (which waits for a reader), writes data and exits 0. It
 * gives up after 4 deadlines, so a failed test leaves nothing behind for long. */
static pid_t start_writer(const char *fifo, const char *data)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        alarm(4 * DEADLINE_S);
        int fd = open(fifo, O_WRONLY);
        if (fd < 0)
            _exit(2);
        size_t n = strlen(data);
        _exit(write(fd, data, n) == (ssize_t)n ? 0 : 3);
    }
    return pid;
}

/* Whether the writer has finished (its exit status in *status), without waiting. */
static int writer_done(pid_t pid, int *status)
{
    return waitpid(pid, status, WNOHANG) == pid;
}

static int writer_wait(pid_t pid)
{
    return tsft_wait(pid, DEADLINE_S, "the FIFO writer (never read to the end)", NULL);
}

static const char *write_pipeline(const char *dir, const char *text)
{
    const char *p = tsft_path(dir, "pipeline.ini");
    tsft_write_file(p, text, (size_t)-1);
    return p;
}

/* ---- pipes as inputs ------------------------------------------------------------------------ */

Test(pipes, check_of_a_fifo_neither_blocks_nor_reads_it_and_run_reads_it_once)
{
    const char *dir = tsft_tmpdir();
    const char *fifo = tsft_path(dir, "data.csv");
    cr_assert_eq(mkfifo(fifo, 0600), 0, "mkfifo: %s", strerror(errno));
    write_pipeline(dir, "[data]\nstage = ingest.csv\npath = data.csv\n\n"
                        "[out]\nstage = export.csv\ninput = data\npath = out.csv\n");
    pid_t writer = start_writer(fifo, data_csv);

    char *out, *err;
    char *check[] = {(char *)tsft_tsflow_bin(), "check", "pipeline.ini", NULL};
    int rc = tsft_run_in(dir, DEADLINE_S, check, &out, &err);
    cr_assert_eq(rc, 0, "check exited %d: %s", rc, err);
    ASSERT_HAS(out, "reads  ");
    ASSERT_HAS(out, "frame: a pipe, not a file: run reads it once, and checks its header and "
                    "rows then\n");
    /* The writer still waits for a reader: check never opened the FIFO. */
    int status;
    cr_assert_not(writer_done(writer, &status), "check opened the FIFO (the writer finished)");

    char *run[] = {(char *)tsft_tsflow_bin(), "run", "-q", "pipeline.ini", NULL};
    rc = tsft_run_in(dir, DEADLINE_S, run, &out, &err);
    cr_assert_eq(rc, 0, "run exited %d: %s", rc, err);
    cr_assert_eq(writer_wait(writer), 0, "the writer failed");
    char *got = read_kept(tsft_path(dir, "out.csv"), NULL);
    cr_assert_not_null(got);
    cr_assert_str_eq(got, "time,load\n2020-01-01 00:00:00,1.5\n2020-01-01 01:00:00,2.5\n"
                          "2020-01-01 02:00:00,3.5\n2020-01-01 03:00:00,4.5\n");
}

Test(pipes, run_reads_a_process_substitution_given_with_set)
{
    if (access("/bin/bash", X_OK) != 0)
        cr_skip_test("no /bin/bash for <(...)");
    const char *dir = tsft_tmpdir();
    tsft_write_file(tsft_path(dir, "real.csv"), data_csv, (size_t)-1);
    tsft_write_file(tsft_path(dir, "placeholder.csv"), "x\n1\n", (size_t)-1);
    write_pipeline(dir, "[data]\nstage = ingest.csv\npath = placeholder.csv\n\n"
                        "[out]\nstage = export.hdf5\ninputs = data\npath = out.h5\n");
    char script[1024];
    snprintf(script, sizeof script,
             "\"%s\" run -v pipeline.ini --set data.path=<(cat real.csv) && test -s out.h5",
             tsft_tsflow_bin());
    char *argv[] = {"/bin/bash", "-c", script, NULL};
    char *out, *err;
    int rc = tsft_run_in(dir, DEADLINE_S, argv, &out, &err);
    cr_assert_eq(rc, 0, "exit %d: %s", rc, err);
    ASSERT_HAS(err, "frame: a pipe, not a file"); /* -v prints the plan */
    ASSERT_HAS(err, ": 4 rows, 1 column, 1 series, 0 missing values");
    /* The export records that the input could not be hashed, instead of hashing nothing. */
    size_t n;
    char *h5 = read_kept(tsft_path(dir, "out.h5"), &n);
    cr_assert(memmem(h5, n, "not hashed: read from a pipe", 28), "no pipe note in input_sha256");
}

Test(pipes, readers_that_need_random_access_refuse_a_fifo_at_once)
{
    const char *dir = tsft_tmpdir();
    cr_assert_eq(mkfifo(tsft_path(dir, "data.h5"), 0600), 0);
    write_pipeline(dir, "[data]\nstage = ingest.hdf5\npath = data.h5\n");
    char *out, *err;
    char *check[] = {(char *)tsft_tsflow_bin(), "check", "pipeline.ini", NULL};
    cr_assert_eq(tsft_run_in(dir, DEADLINE_S, check, &out, &err), 2, "%s", err);
    ASSERT_HAS(err, "pipeline.ini:3: step \"data\", key \"path\": \"");
    ASSERT_HAS(err, "data.h5\" is a pipe (FIFO), not a regular file (expected the path of a "
                    "readable file: stage ingest.hdf5 reads it with random access, which a pipe "
                    "or device cannot give; save the data to a file first)");
    char *inspect[] = {(char *)tsft_tsflow_bin(), "inspect", "data.h5", NULL};
    cr_assert_eq(tsft_run_in(dir, DEADLINE_S, inspect, &out, &err), 1, "%s", err);
    cr_assert_str_eq(err, "tsflow: data.h5: not a regular file (expected an HDF5 file: HDF5 reads "
                          "with random access, which a pipe or device cannot give; save the data "
                          "to a file first)\n");
}

Test(pipes, inspect_reads_a_fifo_as_csv_without_losing_its_first_bytes)
{
    const char *dir = tsft_tmpdir();
    const char *fifo = tsft_path(dir, "data.csv");
    cr_assert_eq(mkfifo(fifo, 0600), 0);
    pid_t writer = start_writer(fifo, data_csv);
    char *out, *err;
    char *inspect[] = {(char *)tsft_tsflow_bin(), "inspect", "data.csv", NULL};
    int rc = tsft_run_in(dir, DEADLINE_S, inspect, &out, &err);
    cr_assert_eq(rc, 0, "exit %d: %s", rc, err);
    cr_assert_eq(writer_wait(writer), 0);
    ASSERT_HAS(out, "rows    4");
    ASSERT_HAS(out, "step    3600 s");
}

Test(pipes, a_nul_byte_read_from_a_fifo_is_reported_without_reopening_it)
{
    const char *dir = tsft_tmpdir();
    const char *fifo = tsft_path(dir, "data.csv");
    cr_assert_eq(mkfifo(fifo, 0600), 0);
    write_pipeline(dir, "[data]\nstage = ingest.csv\npath = data.csv\n\n"
                        "[out]\nstage = export.csv\ninput = data\npath = out.csv\n");
    /* start_writer writes a C string: the NUL goes in as "\\0" text, so write it by hand */
    fflush(stdout);
    fflush(stderr);
    pid_t writer = fork();
    cr_assert_geq(writer, 0);
    if (writer == 0) {
        alarm(4 * DEADLINE_S);
        static const char bad[] = "time,v\n2020-01-01,1\n2020-01-02,\0\n";
        int fd = open(fifo, O_WRONLY);
        _exit(fd >= 0 && write(fd, bad, sizeof bad - 1) == (ssize_t)(sizeof bad - 1) ? 0 : 3);
    }
    char *out, *err;
    char *run[] = {(char *)tsft_tsflow_bin(), "run", "-q", "pipeline.ini", NULL};
    int rc = tsft_run_in(dir, DEADLINE_S, run, &out, &err);
    cr_assert_eq(rc, 1, "exit %d: %s", rc, err);
    writer_wait(writer);
    ASSERT_HAS(err, "data.csv: NUL byte at byte 31: this looks like binary data, not CSV "
                    "(expected UTF-8 or ASCII text)");
    cr_assert_null(read_kept(tsft_path(dir, "out.csv"), NULL));
}

/* ---- check's plan and run agree -------------------------------------------------------------- */

Test(plan, check_describes_a_long_csv_as_run_reads_it)
{
    const char *dir = tsft_tmpdir();
    tsft_write_file(tsft_path(dir, "long.csv"),
                    "id,time,value\na,2020-01-01,1\na,2020-01-02,2\na,2020-01-03,3\n"
                    "b,2020-01-01,4\nb,2020-01-02,5\n",
                    (size_t)-1);
    write_pipeline(dir, "[data]\nstage = ingest.csv\npath = long.csv\nid_column = id\n\n"
                        "[out]\nstage = export.csv\ninput = data\npath = out.csv\n");
    char *out, *err;
    char *check[] = {(char *)tsft_tsflow_bin(), "check", "pipeline.ini", NULL};
    cr_assert_eq(tsft_run_in(dir, DEADLINE_S, check, &out, &err), 0, "%s", err);
    ASSERT_HAS(out, "frame: 5 rows x 1 column (value), 2 series, shortest series 2 rows, step "
                    "86400 s\n");
    char *run[] = {(char *)tsft_tsflow_bin(), "run", "pipeline.ini", NULL};
    char *run_out, *run_err;
    cr_assert_eq(tsft_run_in(dir, DEADLINE_S, run, &run_out, &run_err), 0, "%s", run_err);
    ASSERT_HAS(run_err, "long.csv: 5 rows, 1 column, 2 series, 0 missing values");
    /* and the numbers of the two lines, read back, are the same */
    long long pr, pc, ps, rr, rcol, rs;
    const char *p = strstr(out, "frame: "), *r = strstr(run_err, "long.csv: ");
    cr_assert(p && r);
    cr_assert_eq(sscanf(p, "frame: %lld rows x %lld column (value), %lld series", &pr, &pc, &ps),
                 3);
    cr_assert_eq(sscanf(r, "long.csv: %lld rows, %lld column, %lld series", &rr, &rcol, &rs), 3);
    cr_assert(pr == rr && pc == rcol && ps == rs, "check %lld/%lld/%lld, run %lld/%lld/%lld", pr,
              pc, ps, rr, rcol, rs);
}

/* A long frame in HDF5 (a pandas MultiIndex of id and time, as tsflow convert writes it): check
 * counts its series and the shortest from the index codes. The CSV has three series of 4, 2 and
 * 3 rows, interleaved. */
Test(plan, check_counts_the_series_of_a_long_hdf5_frame_as_run_reads_them)
{
    const char *dir = tsft_tmpdir();
    tsft_write_file(tsft_path(dir, "long.csv"),
                    "id,time,value\na,2020-01-01,1\nb,2020-01-01,2\nc,2020-01-01,3\n"
                    "a,2020-01-02,4\nb,2020-01-02,5\nc,2020-01-02,6\na,2020-01-03,7\n"
                    "c,2020-01-03,8\na,2020-01-04,9\n",
                    (size_t)-1);
    char *out, *err;
    char *conv[] = {
        (char *)tsft_tsflow_bin(), "convert", "--id-column", "id", "long.csv", "long.h5", NULL};
    cr_assert_eq(tsft_run_in(dir, DEADLINE_S, conv, &out, &err), 0, "%s", err);
    write_pipeline(dir, "[data]\nstage = ingest.hdf5\npath = long.h5\n\n"
                        "[out]\nstage = export.csv\ninput = data\npath = out.csv\n");
    char *check[] = {(char *)tsft_tsflow_bin(), "check", "pipeline.ini", NULL};
    cr_assert_eq(tsft_run_in(dir, DEADLINE_S, check, &out, &err), 0, "%s", err);
    ASSERT_HAS(out, "frame: 9 rows x 1 column, 3 series, shortest series 2 rows\n");
    char *run[] = {(char *)tsft_tsflow_bin(), "run", "pipeline.ini", NULL};
    cr_assert_eq(tsft_run_in(dir, DEADLINE_S, run, &out, &err), 0, "%s", err);
    ASSERT_HAS(err, "long.h5: 9 rows, 1 column, 3 series");
}

/* ---- reproducible HDF5 ----------------------------------------------------------------------- */

static const char *const export_pipeline =
    "[data]\nstage = ingest.csv\npath = data.csv\n\n"
    "[split]\nstage = split\nfractions = 0.5, 0.25, 0.25\n\n"
    "[norm]\nstage = normalize\ninputs = data, split\n\n"
    "[out]\nstage = export.hdf5\ninputs = norm\npath = out.h5\n";

static void write_export_case(const char *dir)
{
    char csv[4096];
    size_t u = (size_t)snprintf(csv, sizeof csv, "time,load,temp\n");
    for (int i = 0; i < 48; i++)
        u += (size_t)snprintf(csv + u, sizeof csv - u, "2020-01-%02d %02d:00,%d.25,%d\n",
                              1 + i / 24, i % 24, (i * 7) % 13, 20 - i % 5);
    tsft_write_file(tsft_path(dir, "data.csv"), csv, u);
    write_pipeline(dir, export_pipeline);
}

Test(reproducible, two_runs_under_source_date_epoch_write_identical_hdf5_bytes)
{
    const char *dir = tsft_tmpdir();
    write_export_case(dir);
    cr_assert_eq(setenv("SOURCE_DATE_EPOCH", "1700000000", 1), 0);
    char *out, *err;
    char *run[] = {(char *)tsft_tsflow_bin(), "run", "-q", "pipeline.ini", NULL};
    cr_assert_eq(tsft_run_in(dir, DEADLINE_S, run, &out, &err), 0, "%s", err);
    cr_assert_eq(rename(tsft_path(dir, "out.h5"), tsft_path(dir, "first.h5")), 0);
    sleep(1); /* HDF5's object times have 1 s resolution: a tracked time would now differ */
    cr_assert_eq(tsft_run_in(dir, DEADLINE_S, run, &out, &err), 0, "%s", err);
    size_t n1, n2;
    char *a = read_kept(tsft_path(dir, "first.h5"), &n1);
    char *b = read_kept(tsft_path(dir, "out.h5"), &n2);
    cr_assert(a && b);
    cr_assert_eq(n1, n2, "sizes differ: %zu and %zu bytes", n1, n2);
    size_t i = 0;
    while (i < n1 && a[i] == b[i])
        i++;
    cr_assert_eq(i, n1, "the files differ first at byte %zu (of %zu)", i, n1);
    /* 1700000000 s after the epoch, as the creation time */
    cr_assert(memmem(a, n1, "2023-11-14T22:13:20Z", 20), "created_utc is not SOURCE_DATE_EPOCH");
}

/* A backtest export holds training histories, whose per-epoch wall-clock seconds differ from
 * run to run: under SOURCE_DATE_EPOCH they are NaN (with an attribute saying why). */
Test(reproducible, two_backtests_under_source_date_epoch_write_identical_hdf5_bytes)
{
    const char *dir = tsft_tmpdir();
    write_export_case(dir);
    cr_assert_eq(setenv("SOURCE_DATE_EPOCH", "1700000000", 1), 0);
    char *out, *err;
    char *run[] = {(char *)tsft_tsflow_bin(),
                   "backtest",
                   "data.csv",
                   "--horizon",
                   "4",
                   "--epochs",
                   "2",
                   "--hidden",
                   "4",
                   "--out",
                   "bt.h5",
                   NULL};
    cr_assert_eq(tsft_run_in(dir, DEADLINE_S, run, &out, &err), 0, "%s", err);
    cr_assert_eq(rename(tsft_path(dir, "bt.h5"), tsft_path(dir, "first.h5")), 0);
    sleep(1); /* epochs take other wall-clock times; HDF5 object times have 1 s resolution */
    cr_assert_eq(tsft_run_in(dir, DEADLINE_S, run, &out, &err), 0, "%s", err);
    size_t n1, n2;
    char *a = read_kept(tsft_path(dir, "first.h5"), &n1);
    char *b = read_kept(tsft_path(dir, "bt.h5"), &n2);
    cr_assert(a && b);
    cr_assert_eq(n1, n2, "sizes differ: %zu and %zu bytes", n1, n2);
    size_t i = 0;
    while (i < n1 && a[i] == b[i])
        i++;
    cr_assert_eq(i, n1, "the files differ first at byte %zu (of %zu)", i, n1);
    char *py = NULL;
    cr_assert_eq(tsft_python("import sys, pandas as pd, h5py\n"
                             "h = pd.read_hdf(sys.argv[1], 'backtest_history/epochs').loc[0]\n"
                             "print(len(h), int(h['seconds'].isna().sum()),\n"
                             "      h5py.File(sys.argv[1])['backtest_history'].attrs["
                             "'seconds'][:3])\n",
                             &py, &err, tsft_path(dir, "bt.h5"), NULL),
                 0, "%s", err);
    cr_assert_str_eq(py, "2 2 NaN\n");
}

Test(reproducible, a_malformed_source_date_epoch_is_refused_naming_it)
{
    const char *dir = tsft_tmpdir();
    write_export_case(dir);
    cr_assert_eq(setenv("SOURCE_DATE_EPOCH", "yesterday", 1), 0);
    char *out, *err;
    char *run[] = {(char *)tsft_tsflow_bin(), "run", "-q", "pipeline.ini", NULL};
    cr_assert_eq(tsft_run_in(dir, DEADLINE_S, run, &out, &err), 1, "%s", err);
    cr_assert_str_eq(err, "tsflow: step \"out\" (export.hdf5): SOURCE_DATE_EPOCH=\"yesterday\" is "
                          "not a time (expected whole seconds since 1970-01-01T00:00:00Z, like "
                          "1700000000, or unset it)\n");
    cr_assert_null(read_kept(tsft_path(dir, "out.h5"), NULL));
}

Test(reproducible, convert_writes_the_same_hdf5_bytes_twice)
{
    const char *dir = tsft_tmpdir();
    write_export_case(dir);
    char *out, *err;
    char *a[] = {(char *)tsft_tsflow_bin(), "convert", "data.csv", "a.h5", NULL};
    char *b[] = {(char *)tsft_tsflow_bin(), "convert", "data.csv", "b.h5", NULL};
    cr_assert_eq(tsft_run_in(dir, DEADLINE_S, a, &out, &err), 0, "%s", err);
    sleep(1);
    cr_assert_eq(tsft_run_in(dir, DEADLINE_S, b, &out, &err), 0, "%s", err);
    size_t n1, n2;
    char *x = read_kept(tsft_path(dir, "a.h5"), &n1);
    char *y = read_kept(tsft_path(dir, "b.h5"), &n2);
    cr_assert(x && y && n1 == n2 && !memcmp(x, y, n1), "convert wrote different bytes");
}
