/* Core: errors, timestamps, frames, atomic outputs, and the BLAS that GSL really calls. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <dirent.h>
#include <unistd.h>

#include <gsl/gsl_blas.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_sf_log.h>

#include "support.h"
#include "tsflow/atomic.h"
#include "tsflow/frame.h"

Test(error, formats_code_and_message_and_prefixes_context)
{
    tsf_err err = TSF_ERR_INIT;
    int rc = tsf_err_set(&err, TSF_EFORMAT, "load.csv:%d:%d: \"%s\" is not a number", 14, 3, "n/a");
    cr_assert_eq(rc, TSF_EFORMAT);
    tsf_err_prefix(&err, "stage \"%s\"", "ingest");
    cr_assert_str_eq(err.msg, "stage \"ingest\": load.csv:14:3: \"n/a\" is not a number");
    cr_assert_eq(err.code, TSF_EFORMAT);
    cr_assert_str_eq(tsf_status_name(err.code), "EFORMAT");
    tsf_err_clear(&err);
    cr_assert_eq(err.code, TSF_OK);
    cr_assert_str_eq(err.msg, "");
}

Test(error, records_the_field_an_error_is_about_until_the_next_error)
{
    tsf_err err = TSF_ERR_INIT;
    cr_assert_null(err.field);
    cr_assert_eq(tsf_err_set_field(&err, "dropout", TSF_EINVAL, "dropout %g", 1.5), TSF_EINVAL);
    tsf_err_prefix(&err, "model");
    cr_assert_str_eq(err.msg, "model: dropout 1.5");
    cr_assert_str_eq(err.field, "dropout", "context keeps the field");
    tsf_err_set(&err, TSF_EIO, "no file");
    cr_assert_null(err.field, "an error without a field forgets the previous one");
    tsf_err_set_field(&err, "lr", TSF_EINVAL, "lr");
    tsf_err_clear(&err);
    cr_assert_null(err.field);
}

Test(error, gsl_returns_an_error_instead_of_aborting_after_init)
{
    cr_assert_eq(tsf_init(), TSF_OK);
    gsl_sf_result r;
    /* log(-1) is a domain error: with GSL's default handler this would abort the process. */
    int status = gsl_sf_log_e(-1.0, &r);
    cr_assert_neq(status, 0);
}

static int64_t parse(const char *s, int *zone)
{
    int64_t t = 0;
    cr_assert_eq(tsf_time_parse_iso(s, strlen(s), &t, zone), 1, "\"%s\" should parse", s);
    return t;
}

#define S TSF_US_PER_S

Test(time, parses_iso_dates_and_date_times_to_utc_microseconds)
{
    int zone;
    /* Reference values from GNU date: date -u -d "2016-07-01" +%s is 1467331200 and
     * date -u -d "1960-02-29" +%s is -310521600. */
    cr_assert_eq(parse("2016-07-01 00:00:00", &zone), 1467331200 * S);
    cr_assert_eq(zone, 0);
    cr_assert_eq(parse("2016-07-01T00:00:00Z", &zone), 1467331200 * S);
    cr_assert_eq(zone, 1);
    cr_assert_eq(parse("2016-07-01", &zone), 1467331200 * S);
    cr_assert_eq(parse("2016-07-01T02:00:00+02:00", &zone), 1467331200 * S);
    cr_assert_eq(parse("2016-06-30T19:00-0500", &zone), 1467331200 * S);
    cr_assert_eq(parse("1970-01-01 00:00:00", &zone), 0);
    cr_assert_eq(parse("1960-02-29 12:00:00.000", &zone), (-310521600 + 12 * 3600) * S);
}

Test(time, reads_fractions_of_a_second_to_the_microsecond)
{
    int zone;
    /* pandas.Timestamp("2016-07-01 00:00:00.5").value // 1000 and the like */
    cr_assert_eq(parse("2016-07-01 00:00:00.5", &zone), 1467331200 * S + 500000);
    cr_assert_eq(parse("2016-07-01T00:00:00,25", &zone), 1467331200 * S + 250000);
    cr_assert_eq(parse("2016-07-01 00:00:00.123456", &zone), 1467331200 * S + 123456);
    cr_assert_eq(parse("2016-07-01 00:00:00.123456000Z", &zone), 1467331200 * S + 123456);
    cr_assert_eq(parse("2016-07-01T02:00:00.001+02:00", &zone), 1467331200 * S + 1000);
    /* before 1970 the fraction still counts forward from the whole second */
    cr_assert_eq(parse("1969-12-31 23:59:59.75", &zone), -250000);
    /* 1749, before pandas' nanosecond range: date -u -d 1749-01-01 +%s is -6974035200 */
    cr_assert_eq(parse("1749-01-01", &zone), -6974035200 * S);
    int64_t t = 0;
    cr_assert_eq(tsf_time_parse_iso("2016-07-01 00:00:00.1234567", 27, &t, NULL), TSF_TIME_SUBUS);
    cr_assert_eq(
        tsf_time_parse_format("%Y-%m-%d %H:%M:%S.%f", "2016-07-01 00:00:00.000000001", 29, &t),
        TSF_TIME_SUBUS);
    cr_assert_eq(tsf_time_parse_format("%d/%m/%Y %H:%M:%S.%f", "01/07/2016 00:00:01.25", 22, &t),
                 1);
    cr_assert_eq(t, (1467331200 + 1) * S + 250000);
}

Test(time, rejects_malformed_and_impossible_timestamps)
{
    const char *bad[] = {"2016-13-01",
                         "2016-02-30",
                         "2015-02-29",
                         "2016-07-01 24:00:00",
                         "2016-7-1",
                         "07/01/2016",
                         "2016-07-01 00:00:00.",
                         "2016-07-01 00:00:00.5x",
                         "2016-07-01 00:00.5",
                         "2016-07-01x",
                         "",
                         "1467331200"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t t;
        cr_assert_not(tsf_time_parse_iso(bad[i], strlen(bad[i]), &t, NULL), "\"%s\" parsed",
                      bad[i]);
    }
}

Test(time, format_check_takes_known_directives_and_refuses_a_trailing_percent)
{
    cr_assert(tsf_time_format_valid("%d.%m.%Y %H:%M:%S.%f"));
    cr_assert(tsf_time_format_valid("%b %Y 100%%"));
    cr_assert_not(tsf_time_format_valid("%Y-%q"));
    /* a '%' ending the format has no directive; the check must not step past the string */
    cr_assert_not(tsf_time_format_valid("%Y-%m-%d %H:%M%"));
    cr_assert_not(tsf_time_format_valid("%"));
}

Test(time, format_round_trips_through_parse_over_four_centuries)
{
    char buf[40];
    for (int64_t t = -6000000000LL * S; t < 7000000000LL * S; t += 7777777 * S + 12345) {
        tsf_time_format(TSF_TIME_EPOCH, t, buf, sizeof buf);
        int64_t back;
        cr_assert_eq(tsf_time_parse_iso(buf, strlen(buf), &back, NULL), 1, "%s", buf);
        cr_assert_eq(back, t, "%s: %lld != %lld", buf, (long long)back, (long long)t);
    }
    cr_assert_str_eq(tsf_time_format(TSF_TIME_EPOCH, (1467331200 + 3600 * 19) * S, buf, sizeof buf),
                     "2016-07-01 19:00:00");
    cr_assert_str_eq(tsf_time_format(TSF_TIME_EPOCH, 1467331200 * S + 250000, buf, sizeof buf),
                     "2016-07-01 00:00:00.250");
    cr_assert_str_eq(tsf_time_format(TSF_TIME_EPOCH, -1, buf, sizeof buf),
                     "1969-12-31 23:59:59.999999");
    cr_assert_str_eq(tsf_time_format_digits(0, 3, buf, sizeof buf), "1970-01-01 00:00:00.000");
    cr_assert_str_eq(tsf_time_format(TSF_TIME_INDEX, -42, buf, sizeof buf), "-42");
    int64_t t[] = {0, 250000, 2 * S};
    cr_assert_eq(tsf_time_fraction_digits(t, 1), 0);
    cr_assert_eq(tsf_time_fraction_digits(t, 3), 3);
    t[2] = 25;
    cr_assert_eq(tsf_time_fraction_digits(t, 3), 6);
    cr_assert_str_eq(tsf_seconds_format(10000, buf, sizeof buf), "0.01");
    cr_assert_str_eq(tsf_seconds_format(3600 * S, buf, sizeof buf), "3600");
    cr_assert_str_eq(tsf_seconds_format(-S - 25, buf, sizeof buf), "-1.000025");
}

Test(frame, grows_adds_columns_and_copies_rows_across_series)
{
    tsf_err err = TSF_ERR_INIT;
    tsf_frame *f = NULL;
    const char *names[] = {"a", "b"};
    cr_assert_eq(tsf_frame_alloc(&f, 2, names, 2, &err), TSF_OK, "%s", err.msg);
    cr_assert_eq(tsf_frame_reserve(f, 10, &err), TSF_OK);
    for (size_t r = 0; r < 10; r++) {
        f->time[r] = (int64_t)(r % 5);
        f->cols[0][r] = (double)r;
        f->cols[1][r] = r == 3 ? NAN : 10.0 * r;
    }
    f->n_rows = 10;
    const char *ids[] = {"x", "y"};
    size_t starts[] = {0, 5, 10};
    cr_assert_eq(tsf_frame_set_series(f, 2, ids, starts, &err), TSF_OK);
    size_t c;
    cr_assert_eq(tsf_frame_add_col(f, "c", &c, &err), TSF_OK);
    cr_assert_eq(c, 2);
    cr_assert(isnan(f->cols[2][9]));
    cr_assert_eq(tsf_frame_col_index(f, "b"), 1);
    cr_assert_eq(tsf_frame_col_index(f, "zz"), (size_t)-1);

    tsf_frame *g = NULL;
    cr_assert_eq(tsf_frame_copy_rows(&g, f, 3, 4, &err), TSF_OK, "%s", err.msg);
    cr_assert_eq(g->n_rows, 4);
    cr_assert_eq(g->n_series, 2);
    cr_assert_str_eq(g->series_ids[0], "x");
    cr_assert_str_eq(g->series_ids[1], "y");
    cr_assert_eq(g->series_start[1], 2);
    cr_assert_eq(g->cols[0][0], 3.0);
    cr_assert(isnan(g->cols[1][0]));

    tsf_frame_free(g);
    cr_assert_eq(tsf_frame_copy_rows(&g, f, 8, 5, &err), TSF_EINVAL);
    cr_assert_null(g);
    cr_assert(strstr(err.msg, "outside the frame's 10 rows"), "%s", err.msg);

    tsf_col_stats st;
    tsf_frame_col_stats(f, 1, &st);
    cr_assert_eq(st.count, 9);
    cr_assert_eq(st.missing, 1);
    cr_assert_eq(st.min, 0.0);
    cr_assert_eq(st.max, 90.0);
    cr_assert_float_eq(st.mean, 420.0 / 9, 1e-12);
    tsf_frame_series_stats(f, 0, 1, &st);
    cr_assert_eq(st.mean, 7.0);
    cr_assert_float_eq(st.std, sqrt(2.0), 1e-15);
    tsf_frame_free(f);
    tsf_frame_free(NULL);
}

Test(frame, mean_of_a_column_with_an_infinity_is_that_infinity_as_in_numpy)
{
    tsf_frame *f = NULL;
    cr_assert_eq(tsf_frame_alloc(&f, 1, NULL, 3, NULL), TSF_OK);
    f->cols[0][0] = 1.5;
    f->cols[0][1] = INFINITY;
    f->cols[0][2] = 2.0;
    f->n_rows = 3;
    cr_assert_eq(tsf_frame_set_series(f, 1, NULL, NULL, NULL), TSF_OK);
    tsf_col_stats st;
    tsf_frame_col_stats(f, 0, &st);
    cr_assert(isinf(st.mean) && st.mean > 0, "mean %g", st.mean);
    cr_assert(isinf(st.max) && st.min == 1.5);
    f->cols[0][0] = -INFINITY; /* both signs: undefined, NaN as numpy.mean gives */
    tsf_frame_col_stats(f, 0, &st);
    cr_assert(isnan(st.mean), "mean %g", st.mean);
    tsf_frame_free(f);
}

Test(frame, mean_is_compensated_against_cancellation)
{
    /* 1e16 + 1 + (-1e16) in a naive sum loses the 1; compensated summation keeps it. */
    tsf_frame *f = NULL;
    cr_assert_eq(tsf_frame_alloc(&f, 1, NULL, 3, NULL), TSF_OK);
    f->cols[0][0] = 1e16;
    f->cols[0][1] = 1.0;
    f->cols[0][2] = -1e16;
    f->n_rows = 3;
    cr_assert_eq(tsf_frame_set_series(f, 1, NULL, NULL, NULL), TSF_OK);
    tsf_col_stats st;
    tsf_frame_col_stats(f, 0, &st);
    cr_assert_eq(st.mean, 1.0 / 3, "mean %.17g", st.mean);
    cr_assert_str_eq(f->col_names[0], "v0");
    tsf_frame_free(f);
}

static size_t count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

static void assert_file_is(const char *path, const char *want)
{
    char *got = tsft_read_file(path, NULL);
    cr_assert(got && !strcmp(got, want), "%s holds \"%s\", expected \"%s\"", path,
              got ? got : "(missing)", want);
    free(got);
}

Test(atomic, commit_replaces_and_abort_keeps_the_old_file)
{
    const char *dir = tsft_tmpdir();
    const char *path = tsft_path(dir, "out.csv");
    tsft_write_file(path, "old\n", (size_t)-1);

    tsf_atomic a;
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_atomic_begin(&a, path, &err), TSF_OK, "%s", err.msg);
    fputs("half-written", tsf_atomic_stream(&a));
    tsf_atomic_abort(&a);
    assert_file_is(path, "old\n");
    cr_assert_eq(count_entries(dir), 1, "the temporary was left behind");

    cr_assert_eq(tsf_atomic_begin(&a, path, &err), TSF_OK);
    fputs("new\n", tsf_atomic_stream(&a));
    assert_file_is(path, "old\n");
    cr_assert_eq(tsf_atomic_commit(&a, &err), TSF_OK, "%s", err.msg);
    assert_file_is(path, "new\n");
    cr_assert_eq(count_entries(dir), 1);
    tsf_atomic_abort(&a); /* after commit: a no-op */
    assert_file_is(path, "new\n");
}

/* Threads that begin temporaries at the same moment (parallel folds exporting, a signal
 * arriving meanwhile): each must get its own registry slot, or the signal-time clean-up
 * misses one whose slot another thread took over. */
#define RACE_THREADS 4
#define RACE_FILES 12
struct race_arg {
    const char *dir;
    int thread;
    pthread_barrier_t *go;
    tsf_atomic files[RACE_FILES];
    int ok;
};

static void *begin_many(void *p)
{
    struct race_arg *r = p;
    tsf_err err = TSF_ERR_INIT;
    pthread_barrier_wait(r->go);
    r->ok = 1;
    for (int i = 0; i < RACE_FILES; i++) {
        char name[64];
        snprintf(name, sizeof name, "t%d-%d.csv", r->thread, i);
        r->ok &= tsf_atomic_begin(&r->files[i], tsft_path(r->dir, name), &err) == TSF_OK;
    }
    return NULL;
}

Test(atomic, temporaries_begun_on_many_threads_at_once_are_all_removed_at_a_signal)
{
    const char *dir = tsft_tmpdir();
    for (int round = 0; round < 50; round++) {
        pthread_barrier_t go;
        pthread_barrier_init(&go, NULL, RACE_THREADS);
        pthread_t th[RACE_THREADS];
        static struct race_arg args[RACE_THREADS];
        for (int t = 0; t < RACE_THREADS; t++) {
            args[t] = (struct race_arg){.dir = dir, .thread = t, .go = &go};
            pthread_create(&th[t], NULL, begin_many, &args[t]);
        }
        for (int t = 0; t < RACE_THREADS; t++)
            pthread_join(th[t], NULL);
        pthread_barrier_destroy(&go);
        int begun = 0;
        for (int t = 0; t < RACE_THREADS; t++)
            begun += args[t].ok;
        cr_assert_eq(begun, RACE_THREADS, "round %d: a temporary could not be begun", round);
        cr_assert_eq(tsft_n_temporaries(dir), RACE_THREADS * RACE_FILES);
        tsf_atomic_remove_all_signal_safe();
        cr_assert_eq(tsft_n_temporaries(dir), 0, "round %d: the clean-up left temporaries", round);
        for (int t = 0; t < RACE_THREADS; t++)
            for (int i = 0; i < RACE_FILES; i++)
                tsf_atomic_abort(&args[t].files[i]);
    }
}

Test(atomic, removes_temporaries_of_killed_writers_and_names_missing_directories)
{
    const char *dir = tsft_tmpdir();
    const char *path = tsft_path(dir, "f.h5");
    /* pid 2^22+1 exceeds Linux's pid_max default ceiling, so no process has it. */
    const char *stale = tsft_path(dir, ".f.h5.tsflow-tmp-4194305-abcdef");
    tsft_write_file(stale, "partial", (size_t)-1);
    tsf_atomic a;
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_atomic_begin(&a, path, &err), TSF_OK);
    cr_assert_neq(access(stale, F_OK), 0, "a stale temporary survived");
    tsf_atomic_abort(&a);

    cr_assert_eq(tsf_atomic_begin(&a, tsft_path(dir, "no/such/dir/x.csv"), &err), TSF_EIO);
    cr_assert(strstr(err.msg, "no/such/dir") && strstr(err.msg, "does not exist"), "%s", err.msg);
    tsf_atomic_abort(&a);
}

Test(atomic, refuses_special_files_and_writes_through_a_link_to_a_file)
{
    const char *dir = tsft_tmpdir();
    const char *fifo = tsft_path(dir, "fifo"), *link = tsft_path(dir, "null.csv");
    cr_assert_eq(mkfifo(fifo, 0644), 0);
    cr_assert_eq(symlink("/dev/null", link), 0);
    tsf_atomic a;
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_atomic_begin(&a, fifo, &err), TSF_EINVAL);
    cr_assert(strstr(err.msg, "is a pipe (FIFO), not a regular file"), "%s", err.msg);
    cr_assert_eq(tsf_atomic_begin(&a, link, &err), TSF_EINVAL);
    cr_assert(strstr(err.msg, "is a symbolic link to a character device"), "%s", err.msg);
    cr_assert_eq(tsf_atomic_check_target(dir, &err), TSF_EINVAL);
    cr_assert(strstr(err.msg, "is a directory"), "%s", err.msg);
    struct stat st;
    cr_assert(lstat(fifo, &st) == 0 && S_ISFIFO(st.st_mode), "the FIFO was replaced");

    /* Through a link to a regular file: the file gets the output, the link stays a link. */
    const char *target = tsft_path(dir, "data.csv"), *alias = tsft_path(dir, "alias.csv");
    tsft_write_file(target, "old\n", (size_t)-1);
    cr_assert_eq(symlink("data.csv", alias), 0);
    cr_assert_eq(tsf_atomic_same_file(alias, target), 1);
    cr_assert_eq(tsf_atomic_same_file(alias, fifo), 0);
    cr_assert_eq(tsf_atomic_begin(&a, alias, &err), TSF_OK, "%s", err.msg);
    fputs("new\n", tsf_atomic_stream(&a));
    cr_assert_eq(tsf_atomic_commit(&a, &err), TSF_OK, "%s", err.msg);
    cr_assert(lstat(alias, &st) == 0 && S_ISLNK(st.st_mode), "the link was replaced by a file");
    assert_file_is(target, "new\n");
}

/* A dangling link is treated as a link to a file: the output creates the file it names (through
 * a chain of relative links, each relative to its own directory) and the link stays a link. */
Test(atomic, creates_the_file_a_dangling_link_names_and_keeps_the_link)
{
    const char *dir = tsft_tmpdir();
    cr_assert_eq(mkdir(tsft_path(dir, "sub"), 0755), 0);
    const char *link = tsft_path(dir, "out.csv"), *hop = tsft_path(dir, "sub/hop.csv");
    cr_assert_eq(symlink("sub/hop.csv", link), 0);
    cr_assert_eq(symlink("real.csv", hop), 0); /* sub/real.csv, relative to sub/ */
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_atomic_check_target(link, &err), TSF_OK, "%s", err.msg);
    char *target = NULL;
    cr_assert_eq(tsf_atomic_target(link, &target, &err), TSF_OK, "%s", err.msg);
    cr_assert_str_eq(target, tsft_path(dir, "sub/real.csv"));
    free(target);
    tsf_atomic a;
    cr_assert_eq(tsf_atomic_begin(&a, link, &err), TSF_OK, "%s", err.msg);
    fputs("new\n", tsf_atomic_stream(&a));
    cr_assert_eq(tsf_atomic_commit(&a, &err), TSF_OK, "%s", err.msg);
    struct stat st;
    cr_assert(lstat(link, &st) == 0 && S_ISLNK(st.st_mode), "the link was replaced by a file");
    cr_assert(lstat(hop, &st) == 0 && S_ISLNK(st.st_mode), "the second link was replaced");
    assert_file_is(tsft_path(dir, "sub/real.csv"), "new\n");
    cr_assert_eq(count_entries(tsft_path(dir, "sub")), 2, "a temporary was left");
}

/* Links that lead back to themselves name no file: refused, the links kept. */
Test(atomic, refuses_links_that_loop)
{
    const char *dir = tsft_tmpdir();
    const char *a_path = tsft_path(dir, "a.csv"), *b_path = tsft_path(dir, "b.csv");
    cr_assert_eq(symlink("b.csv", a_path), 0);
    cr_assert_eq(symlink("a.csv", b_path), 0);
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_atomic_check_target(a_path, &err), TSF_EINVAL);
    cr_assert(strstr(err.msg, "a.csv\" cannot be resolved: Too many levels of symbolic links"),
              "%s", err.msg);
    char *target = NULL;
    cr_assert_eq(tsf_atomic_target(a_path, &target, &err), TSF_EINVAL);
    cr_assert_null(target);
    tsf_atomic a;
    cr_assert_eq(tsf_atomic_begin(&a, a_path, &err), TSF_EINVAL);
    struct stat st;
    cr_assert(lstat(a_path, &st) == 0 && S_ISLNK(st.st_mode), "the link was replaced by a file");
    cr_assert_eq(count_entries(dir), 2);
}

/* /dev/stdout redirected to a file leads to that file: refused, as the file itself is, since
 * renaming an output over it would discard what the stream wrote (a shell's `>> log`). */
Test(atomic, refuses_the_file_standard_output_goes_to)
{
    const char *dir = tsft_tmpdir();
    const char *log = tsft_path(dir, "log.txt");
    tsft_write_file(log, "earlier lines\n", (size_t)-1);
    int fd = open(log, O_WRONLY | O_APPEND);
    cr_assert(fd >= 0);
    fflush(stdout);
    int saved = dup(1);
    cr_assert(saved >= 0 && dup2(fd, 1) == 1);
    tsf_err e1 = TSF_ERR_INIT, e2 = TSF_ERR_INIT;
    int via_dev = tsf_atomic_check_target("/dev/stdout", &e1);
    int direct = tsf_atomic_check_target(log, &e2);
    dup2(saved, 1); /* the TAP report goes to standard output */
    close(saved);
    close(fd);
    cr_assert_eq(via_dev, TSF_EINVAL, "%s", e1.msg);
    cr_assert(strstr(e1.msg, "\"/dev/stdout\" is the file this process's standard output goes to"),
              "%s", e1.msg);
    cr_assert_eq(direct, TSF_EINVAL);
    cr_assert_eq(tsf_atomic_check_target(log, &e2), TSF_OK, "%s", e2.msg); /* no longer */
    assert_file_is(log, "earlier lines\n");
}

static const char *library_of(const char *symbol)
{
    void *p = dlsym(RTLD_DEFAULT, symbol);
    cr_assert(p, "symbol %s is not linked", symbol);
    Dl_info info;
    cr_assert(dladdr(p, &info) && info.dli_fname);
    return info.dli_fname;
}

Test(blas, cblas_gemm_resolves_to_openblas_not_gslcblas)
{
    const char *s = library_of("cblas_sgemm"), *d = library_of("cblas_dgemm");
    cr_assert(strstr(s, "openblas") && !strstr(s, "gslcblas"), "cblas_sgemm comes from %s", s);
    cr_assert(strstr(d, "openblas") && !strstr(d, "gslcblas"), "cblas_dgemm comes from %s", d);

    /* And GSL's BLAS wrapper computes through it: a 2x2 product checked by hand. */
    float a[] = {1, 2, 3, 4}, b[] = {5, 6, 7, 8}, c[4] = {0};
    gsl_matrix_float_view A = gsl_matrix_float_view_array(a, 2, 2);
    gsl_matrix_float_view B = gsl_matrix_float_view_array(b, 2, 2);
    gsl_matrix_float_view C = gsl_matrix_float_view_array(c, 2, 2);
    cr_assert_eq(gsl_blas_sgemm(CblasNoTrans, CblasNoTrans, 1, &A.matrix, &B.matrix, 0, &C.matrix),
                 0);
    cr_assert(c[0] == 19 && c[1] == 22 && c[2] == 43 && c[3] == 50);
}
