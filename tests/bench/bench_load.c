/* Load benchmark: a long-format CSV of many series, ingested, windowed, forecast by a
 * baseline and backtested, with each command's time and peak RSS against the frame's size.
 *
 * usage: bench_load [--rows N] [--series S] [--tsflow PATH] [--no-pipeline] [--interleaved]
 *                   [--dir DIR] [--ranks N,N,...]
 *
 * Writes "id,time,value" rows (S series of N / S hourly rows each, series after series; with
 * --interleaved every series at each time in turn, which the reader must regroup) into a
 * temporary directory (or DIR), then runs, each as its own process so that wait4() gives its
 * peak RSS:
 *   1. tsflow inspect --id-column id FILE            (read the whole file into one frame)
 *   2. tsflow run -v load.ini: ingest.csv, window (lookback 168, horizon 24, stride 24),
 *      baseline (seasonal naive, season 24), metrics, and a backtest of the naive and seasonal
 *      naive baselines over the last 30 days of every series.
 * The frame of N rows holds 8 bytes of time and 8 per value column, plus the series ids: the
 * figures show the peak RSS above it. The generated file and the directory are deleted.
 * With --ranks (a tsflow built with MPI, scripts/bench.sh mpi): instead of 1 and 2, the pipeline
 * under `mpirun --oversubscribe -n N` for each N listed, its wall time and its backtest step's
 * (the work spread over the ranks; every rank reads the whole file) with the speed-ups against
 * the first N, and whether the backtest's metrics file is byte-identical to the first N's.
 * A benchmark (meson benchmark(), scripts/bench.sh load): it prints, it never fails on speed. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Write the CSV; returns its size in bytes. */
static long long generate(const char *path, size_t rows, size_t series, int interleaved)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        exit(1);
    }
    static char buf[1 << 22];
    setvbuf(f, buf, _IOFBF, sizeof buf);
    size_t per = rows / series;
    char(*stamp)[24] = malloc(per * sizeof *stamp);
    time_t t0 = 1451606400; /* 2016-01-01 00:00:00 */
    for (size_t i = 0; i < per; i++) {
        time_t t = t0 + (time_t)i * 3600;
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(stamp[i], sizeof stamp[i], "%Y-%m-%d %H:%M:%S", &tm);
    }
    fputs("id,time,value\n", f);
    uint64_t x = 88172645463325252ull;
    for (size_t k = 0; k < rows; k++) {
        /* series after series, or (interleaved) every series at each time in turn */
        size_t s = interleaved ? k % series : k / per, i = interleaved ? k / series : k % per;
        double level = 10.0 + (double)(s % 97);
        x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 noise */
        double v = level + 5.0 * (double)((i % 24) < 12) + (double)(x % 1000) / 1000.0;
        fprintf(f, "s%04zu,%s,%.3f\n", s, stamp[i], v);
    }
    free(stamp);
    if (fclose(f) != 0) {
        perror(path);
        exit(1);
    }
    struct stat st;
    stat(path, &st);
    return (long long)st.st_size;
}

typedef struct result {
    double seconds;
    double rss_mib;
    int status;
} result;

/* Run argv with stderr (and stdout) into log; its wall time and peak RSS. */
static result measure(char *const argv[], const char *log)
{
    result r = {0, 0, -1};
    double t0 = now();
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, 1);
        dup2(fd, 2);
        execvp(argv[0], argv);
        _exit(127);
    }
    int st;
    struct rusage ru;
    while (wait4(pid, &st, 0, &ru) < 0 && errno == EINTR)
        ;
    r.seconds = now() - t0;
    r.rss_mib = (double)ru.ru_maxrss / 1024.0;
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return r;
}

/* The largest "<x> MiB" at the end of a line of tsflow run -v's step table: the run's peak
 * RSS (the runner resets the kernel's high-water mark at each step, so wait4's figure is only
 * the last step's). */
static double max_step_mib(const char *log)
{
    FILE *f = fopen(log, "r");
    char line[1024];
    double best = 0;
    while (f && fgets(line, sizeof line, f)) {
        char *m = strstr(line, " MiB\n");
        if (!m)
            continue;
        char *p = m;
        while (p > line && (p[-1] == '.' || (p[-1] >= '0' && p[-1] <= '9')))
            p--;
        double v = atof(p);
        if (v > best)
            best = v;
    }
    if (f)
        fclose(f);
    return best;
}

/* The time of step "bt" in tsflow run -v's step table ("1.23 s", "12 s", "1:02"), or -1. */
static double bt_step_seconds(const char *log)
{
    FILE *f = fopen(log, "r");
    char line[1024];
    double t = -1;
    while (f && fgets(line, sizeof line, f)) {
        int m, sec;
        char *p = line;
        if (strncmp(line, "bt ", 3) || !(p = strstr(line, " backtest ")))
            continue;
        p += strlen(" backtest ");
        if (sscanf(p, " %d:%d", &m, &sec) == 2 && strchr(p, ':'))
            t = 60.0 * m + sec;
        else
            t = atof(p);
    }
    if (f)
        fclose(f);
    return t;
}

static void show_log(const char *log, const char *indent)
{
    FILE *f = fopen(log, "r");
    char line[1024];
    while (f && fgets(line, sizeof line, f))
        printf("%s%s", indent, line);
    if (f)
        fclose(f);
}

/* The pipeline of step 2 (load.ini, beside the data). */
static void write_pipeline(const char *ini, size_t per)
{
    FILE *f = fopen(ini, "w");
    if (!f) {
        perror(ini);
        exit(1);
    }
    fprintf(f,
            "[data]\nstage = ingest.csv\npath = long.csv\nid_column = id\n\n"
            "[win]\nstage = window\ninput = data\nlookback = 168\nhorizon = 24\n"
            "stride = 24\n\n"
            "[snaive]\nstage = baseline\ninput = win\nmethod = snaive\nseason = 24\n\n"
            "[scores]\nstage = metrics\ninput = snaive\n\n"
            "[bt]\nstage = backtest\ninputs = data\nfirst_origin = %zu\nhorizon = 24\n"
            "stride = 24\nbaselines = naive, snaive\nseason = 24\n\n"
            "[bt_scores]\nstage = export.csv\ninput = bt.metrics\npath = bt_metrics.csv\n",
            per - 30 * 24);
    fclose(f);
}

/* Whether files a and b hold the same bytes. */
static int same_bytes(const char *a, const char *b)
{
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    int same = fa && fb;
    for (int ca = 0; same && ca != EOF;) {
        ca = getc(fa);
        same = ca == getc(fb);
    }
    if (fa)
        fclose(fa);
    if (fb)
        fclose(fb);
    return same;
}

/* The pipeline under mpirun with each rank count of the list "1,2,4": times and speed-ups. */
static void run_ranks(const char *tsflow, const char *ranks, const char *dir, const char *ini,
                      const char *log)
{
    char out[4200], first[4200], n_arg[32];
    snprintf(out, sizeof out, "%s/bt_metrics.csv", dir);
    snprintf(first, sizeof first, "%s/bt_metrics.first.csv", dir);
    printf("2. mpirun --oversubscribe -n N tsflow run -v load.ini (ingest.csv, window, seasonal "
           "naive, metrics; backtest of naive and seasonal naive over the last 30 days, its fits "
           "spread over the ranks)\n");
    printf("   %5s %9s %9s %12s %12s  %s\n", "ranks", "run (s)", "speed-up", "backtest (s)",
           "speed-up", "metrics file");
    double base_run = 0, base_bt = 0;
    for (const char *p = ranks; *p;) {
        char *end;
        long n = strtol(p, &end, 10);
        p = end + (*end == ',');
        snprintf(n_arg, sizeof n_arg, "%ld", n);
        char *argv[] = {"mpirun", "--oversubscribe", "-n", n_arg, (char *)tsflow, "run",
                        "-v",     (char *)ini,       NULL, NULL};
        if (geteuid() == 0) { /* Open MPI refuses root without being told */
            memmove(argv + 2, argv + 1, 7 * sizeof *argv);
            argv[1] = "--allow-run-as-root";
        }
        result r = measure(argv, log);
        double bt = bt_step_seconds(log);
        const char *same = "-";
        if (r.status == 0 && base_run == 0) {
            base_run = r.seconds;
            base_bt = bt;
            rename(out, first);
            same = "(reference)";
        } else if (r.status == 0) {
            same = same_bytes(out, first) ? "identical" : "DIFFERS";
            unlink(out);
        }
        printf("   %5ld %9.1f %9.2f %12.1f %12.2f  %s\n", n, r.seconds, base_run / r.seconds, bt,
               bt > 0 ? base_bt / bt : 0, same);
        if (r.status != 0) {
            printf("   exit %d:\n", r.status);
            show_log(log, "   | ");
        }
    }
    unlink(first);
}

int main(int argc, char **argv)
{
    size_t rows = 20000000, series = 1000;
    const char *tsflow = getenv("TSFLOW_BIN") ? getenv("TSFLOW_BIN") : "tsflow";
    const char *dir_arg = NULL, *ranks = NULL;
    int pipeline = 1, interleaved = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--rows") && i + 1 < argc)
            rows = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--series") && i + 1 < argc)
            series = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--tsflow") && i + 1 < argc)
            tsflow = argv[++i];
        else if (!strcmp(argv[i], "--dir") && i + 1 < argc)
            dir_arg = argv[++i];
        else if (!strcmp(argv[i], "--no-pipeline"))
            pipeline = 0;
        else if (!strcmp(argv[i], "--interleaved"))
            interleaved = 1;
        else if (!strcmp(argv[i], "--ranks") && i + 1 < argc)
            ranks = argv[++i];
        else {
            fprintf(stderr, "usage: bench_load [--rows N] [--series S] [--tsflow PATH] "
                            "[--no-pipeline] [--interleaved] [--dir DIR] [--ranks N,N,...]\n");
            return 2;
        }
    }
    if (series == 0 || rows < series) {
        fprintf(stderr, "bench_load: need rows >= series >= 1\n");
        return 2;
    }
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/tsflow-load-XXXXXX", dir_arg ? dir_arg : "/tmp");
    if (!mkdtemp(dir)) {
        perror(dir);
        return 1;
    }
    char csv[4200], ini[4200], log[4200];
    snprintf(csv, sizeof csv, "%s/long.csv", dir);
    snprintf(ini, sizeof ini, "%s/load.ini", dir);
    snprintf(log, sizeof log, "%s/log.txt", dir);

    size_t per = rows / series;
    rows = per * series;
    double t0 = now();
    long long bytes = generate(csv, rows, series, interleaved);
    double gen = now() - t0;
    /* frame: time (int64) + one double column per row, plus ids ("s0000" + NUL + pointer) */
    double frame_mib = ((double)rows * 16.0 + (double)series * (6 + 8 + 8)) / 1048576.0;
    printf("load: %zu rows = %zu series x %zu hourly rows, long format (id,time,value), %s\n", rows,
           series, per,
           interleaved ? "interleaved (all series at each time)" : "series after series");
    printf("load: generated %.1f MB in %.1f s (%s)\n", (double)bytes / 1e6, gen, csv);
    printf("load: frame = %zu rows x (8 B time + 8 B value) + ids = %.1f MiB\n\n", rows, frame_mib);

    if (ranks) {
        write_pipeline(ini, per);
        run_ranks(tsflow, ranks, dir, ini, log);
        pipeline = 0;
        goto cleanup;
    }
    char *inspect[] = {(char *)tsflow, "inspect", "--id-column", "id", csv, NULL};
    result r = measure(inspect, log);
    printf("1. tsflow inspect --id-column id long.csv\n");
    printf("   exit %d, %.2f s (%.0f MB/s, %.1f M rows/s), peak RSS %.1f MiB = frame %.1f MiB "
           "+ %.1f MiB (%.0f%% of the frame)\n",
           r.status, r.seconds, (double)bytes / 1e6 / r.seconds, (double)rows / 1e6 / r.seconds,
           r.rss_mib, frame_mib, r.rss_mib - frame_mib,
           100.0 * (r.rss_mib - frame_mib) / frame_mib);
    if (r.status != 0)
        show_log(log, "   | ");

    if (pipeline) {
        write_pipeline(ini, per);
        char *run[] = {(char *)tsflow, "run", "-v", ini, NULL};
        r = measure(run, log);
        printf("\n2. tsflow run -v load.ini (ingest.csv, window 168/24 stride 24, seasonal naive, "
               "metrics; backtest of naive and seasonal naive over the last 30 days)\n");
        double peak = max_step_mib(log);
        printf("   exit %d, %.2f s, peak RSS %.1f MiB (largest step) = frame %.1f MiB + %.1f MiB "
               "(%.0f%% of the frame)\n",
               r.status, r.seconds, peak, frame_mib, peak - frame_mib,
               100.0 * (peak - frame_mib) / frame_mib);
        show_log(log, "   | ");
    }

cleanup:
    unlink(csv);
    unlink(ini);
    unlink(log);
    char m[4300];
    snprintf(m, sizeof m, "%s/bt_metrics.csv", dir);
    unlink(m);
    rmdir(dir);
    return 0;
}
