/* A CSV header of 200,000 column names: the time tsf_csv_read takes to check them for duplicates
 * (and read the two data rows), with the names unique and with the last one repeating the
 * first. Comparing every pair took about 60 s; pandas.read_csv takes about 4 s.
 *
 *     build/tests/bench/bench_header [--columns N] */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tsflow/io.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void write_csv(const char *path, size_t n, int duplicate)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        exit(1);
    }
    fputs("time", f);
    for (size_t j = 0; j < n; j++)
        fprintf(f, ",sensor_%zu", duplicate && j == n - 1 ? (size_t)0 : j);
    for (int r = 0; r < 2; r++) {
        fprintf(f, "\n2020-01-0%d", r + 1);
        for (size_t j = 0; j < n; j++)
            fputs(",1.5", f);
    }
    fputs("\n", f);
    fclose(f);
}

int main(int argc, char **argv)
{
    size_t n = 200000;
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], "--columns"))
            n = (size_t)strtoull(argv[++i], NULL, 10);
    char path[] = "/tmp/tsflow-bench-header-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) {
        perror("mkstemp");
        return 1;
    }
    close(fd);
    int status = 0;
    for (int duplicate = 0; duplicate < 2; duplicate++) {
        write_csv(path, n, duplicate);
        tsf_csv_options opt;
        tsf_csv_options_init(&opt);
        tsf_frame *f = NULL;
        tsf_err err = TSF_ERR_INIT;
        double t0 = now();
        int rc = tsf_csv_read(&f, path, &opt, NULL, &err);
        double secs = now() - t0;
        printf("%zu columns, %s: %.3f s (%s)\n", n, duplicate ? "last repeats the first" : "unique",
               secs, rc == TSF_OK ? "read" : err.msg);
        if ((rc == TSF_OK) == duplicate)
            status = 1;
        tsf_frame_free(f);
    }
    unlink(path);
    return status;
}
