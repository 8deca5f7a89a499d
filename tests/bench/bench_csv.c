/* Benchmark: tsf_csv_read against pandas.read_csv, in the same run, on the same files.
 *
 * usage: bench_csv [--runs N] [--generate-mb MB] [FILE...]
 *
 * Each FILE (and with --generate-mb an ETT-like CSV of about MB megabytes generated into a
 * temporary directory and deleted afterwards) is read N times by tsflow (fast path, then libcsv
 * alone) and N times by pandas.read_csv (Debian's /usr/bin/python3), every read in its own
 * child process so that wait4() reports each one's peak RSS. Prints the best time, the
 * throughput, the ratio, both peak RSS figures, the frame's size and the interpreter's RSS
 * before pandas reads (its floor).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "csv_internal.h"
#include "tsflow/io.h"

typedef struct run {
    double seconds;   /* best wall time of the read itself */
    double rss_mib;   /* peak RSS of the process that read (max over runs) */
    double floor_mib; /* pandas: RSS after importing pandas, before reading */
    double frame_mib; /* tsflow: bytes of the frame's arrays */
    size_t rows;
} run;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Run fn in a child; it writes one line to the pipe. Returns the child's peak RSS (MiB). */
static double in_child(void (*fn)(int fd, const char *path, int arg), const char *path, int arg,
                       char *line, size_t n)
{
    int fds[2];
    if (pipe(fds) != 0) {
        perror("pipe");
        exit(1);
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        fn(fds[1], path, arg);
        _exit(0);
    }
    close(fds[1]);
    ssize_t got = 0, k;
    while ((k = read(fds[0], line + got, n - 1 - (size_t)got)) > 0)
        got += k;
    line[got > 0 ? got : 0] = '\0';
    close(fds[0]);
    int status;
    struct rusage ru;
    while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "bench_csv: a reader of %s failed: %s\n", path, line);
        exit(1);
    }
    return (double)ru.ru_maxrss / 1024.0;
}

static void tsflow_child(int fd, const char *path, int force_libcsv)
{
    tsf__csv_force_libcsv = force_libcsv;
    tsf_frame *f = NULL;
    tsf_err err = TSF_ERR_INIT;
    double t = now();
    int rc = tsf_csv_read(&f, path, NULL, NULL, &err);
    t = now() - t;
    if (rc != TSF_OK) {
        dprintf(fd, "%s", err.msg);
        _exit(1);
    }
    dprintf(fd, "%.6f %zu %.3f", t, f->n_rows,
            (double)(f->n_rows * (f->n_cols + 1) * 8) / (1024.0 * 1024.0));
    tsf_frame_free(f);
}

static void pandas_child(int fd, const char *path, int unused)
{
    (void)unused;
    dup2(fd, 1);
    char *argv[] = {"/usr/bin/python3", "-c",
                    "import sys, time, resource, pandas as pd\n"
                    "floor = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n"
                    "t = time.perf_counter(); df = pd.read_csv(sys.argv[1]); "
                    "t = time.perf_counter() - t\n"
                    "print('%.6f %d %.3f' % (t, len(df), floor))\n",
                    (char *)path, NULL};
    execv(argv[0], argv);
    dprintf(fd, "exec /usr/bin/python3: %s", strerror(errno));
    _exit(1);
}

static run measure(const char *path, int runs, int which)
{
    run best = {INFINITY, 0, 0, 0, 0};
    for (int i = 0; i < runs; i++) {
        char line[1024];
        double rss = which == 2 ? in_child(pandas_child, path, 0, line, sizeof line)
                                : in_child(tsflow_child, path, which, line, sizeof line);
        double t, extra;
        size_t rows;
        if (sscanf(line, "%lf %zu %lf", &t, &rows, &extra) != 3) {
            fprintf(stderr, "bench_csv: unexpected report \"%s\"\n", line);
            exit(1);
        }
        if (t < best.seconds)
            best.seconds = t;
        if (rss > best.rss_mib)
            best.rss_mib = rss;
        best.rows = rows;
        if (which == 2)
            best.floor_mib = extra;
        else
            best.frame_mib = extra;
    }
    return best;
}

/* An ETT-like file: a timestamp every 15 minutes and 7 float32 values printed as doubles. */
static void generate(const char *path, double mb)
{
    FILE *fp = fopen(path, "w");
    if (!fp) {
        perror(path);
        exit(1);
    }
    setvbuf(fp, NULL, _IOFBF, 1 << 20);
    fputs("date,HUFL,HULL,MUFL,MULL,LUFL,LULL,OT\n", fp);
    uint64_t s = UINT64_C(0x9E3779B97F4A7C15);
    double level[7] = {5, 2, 1.5, 0.5, 4, 1.3, 30};
    int64_t t = 1467331200 * TSF_US_PER_S;
    size_t target = (size_t)(mb * 1e6);
    for (size_t bytes = 0; bytes < target; t += 900 * TSF_US_PER_S) {
        char ts[32];
        tsf_time_format(TSF_TIME_EPOCH, t, ts, sizeof ts);
        bytes += (size_t)fprintf(fp, "%s", ts);
        for (int j = 0; j < 7; j++) {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            level[j] += ((double)(s >> 11) / 9007199254740992.0 - 0.5) * 0.2;
            /* values like ETT's: three decimals, stored as float32, printed as a double */
            float v = (float)(round(level[j] * 1000) / 1000);
            bytes += (size_t)fprintf(fp, ",%.17g", (double)v);
        }
        bytes += 1;
        putc('\n', fp);
    }
    if (fclose(fp) != 0) {
        perror(path);
        exit(1);
    }
}

static void report(const char *path, int runs)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        perror(path);
        exit(1);
    }
    double mb = (double)st.st_size / 1e6;
    run fast = measure(path, runs, 0), lib = measure(path, runs, 1), pd = measure(path, runs, 2);
    if (fast.rows != pd.rows) {
        fprintf(stderr, "bench_csv: %s: tsflow read %zu rows, pandas %zu\n", path, fast.rows,
                pd.rows);
        exit(1);
    }
    printf("%s: %.1f MB, %zu rows, best of %d\n", path, mb, fast.rows, runs);
    printf("  tsflow          %8.3f s %8.1f MB/s   peak RSS %8.1f MiB (frame %.1f MiB, +%.1f "
           "MiB)\n",
           fast.seconds, mb / fast.seconds, fast.rss_mib, fast.frame_mib,
           fast.rss_mib - fast.frame_mib);
    printf("  tsflow (libcsv) %8.3f s %8.1f MB/s   peak RSS %8.1f MiB\n", lib.seconds,
           mb / lib.seconds, lib.rss_mib);
    printf("  pandas          %8.3f s %8.1f MB/s   peak RSS %8.1f MiB (%.1f MiB before "
           "read_csv)\n",
           pd.seconds, mb / pd.seconds, pd.rss_mib, pd.floor_mib);
    printf("  throughput ratio tsflow/pandas: %.2fx (libcsv alone: %.2fx)\n",
           pd.seconds / fast.seconds, pd.seconds / lib.seconds);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    int runs = 3;
    double gen_mb = 0;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "--runs") && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--generate-mb") && i + 1 < argc)
            gen_mb = atof(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_csv [--runs N] [--generate-mb MB] [FILE...]\n");
            return 2;
        }
    }
    for (; i < argc; i++)
        report(argv[i], runs);
    if (gen_mb > 0) {
        const char *tmp = getenv("TMPDIR");
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/tsflow-bench-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(dir)) {
            perror("mkdtemp");
            return 1;
        }
        char path[4200];
        snprintf(path, sizeof path, "%s/generated.csv", dir);
        double t = now();
        generate(path, gen_mb);
        printf("generated %s in %.1f s\n", path, now() - t);
        report(path, runs);
        unlink(path);
        rmdir(dir);
    }
    return 0;
}
