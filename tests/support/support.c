/* Test support: see support.h. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support.h"

char *tsft_keep(char *s)
{
    /* Leaked on purpose: test strings live until exit. Register for LeakSanitizer as reachable
     * by keeping them in a static list. */
    static char **kept;
    static size_t n_kept, cap;
    /* tests call it from their own threads too (tsft_path in a thread) */
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&lock);
    if (n_kept == cap) {
        cap = cap ? cap * 2 : 64;
        kept = realloc(kept, cap * sizeof *kept);
    }
    kept[n_kept++] = s;
    pthread_mutex_unlock(&lock);
    return s;
}

static const char *env_or(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    return v && *v ? v : fallback;
}

const char *tsft_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    return tsft_keep(p);
}

const char *tsft_source(const char *rel)
{
    return tsft_path(env_or("TSF_SOURCE_ROOT", "."), rel);
}

const char *tsft_shared(const char *rel)
{
    const char *p = tsft_path(env_or("TSF_SHARED_DATASETS", "../shared/datasets"), rel);
    return access(p, R_OK) == 0 ? p : NULL;
}

static char *tmp_root;

static void remove_tmp(void)
{
    if (!tmp_root)
        return;
    char *argv[] = {"rm", "-rf", tmp_root, NULL};
    tsft_run(argv, NULL, NULL);
}

const char *tsft_tmpdir(void)
{
    static int n;
    if (!tmp_root) {
        const char *t = env_or("TMPDIR", "/tmp");
        size_t len = strlen(t) + 32;
        tmp_root = malloc(len);
        snprintf(tmp_root, len, "%s/tsftest-XXXXXX", t);
        cr_assert(mkdtemp(tmp_root), "mkdtemp failed: %s", strerror(errno));
        tsft_keep(tmp_root);
        atexit(remove_tmp);
    }
    char name[32];
    snprintf(name, sizeof name, "t%d", n++);
    const char *d = tsft_path(tmp_root, name);
    cr_assert(mkdir(d, 0755) == 0, "mkdir %s: %s", d, strerror(errno));
    return d;
}

void tsft_write_file(const char *path, const char *data, size_t len)
{
    if (len == (size_t)-1)
        len = strlen(data);
    FILE *f = fopen(path, "wb");
    cr_assert(f, "cannot write %s: %s", path, strerror(errno));
    cr_assert(fwrite(data, 1, len, f) == len);
    cr_assert(fclose(f) == 0);
}

char *tsft_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (cap - n - 1 == 0)
            buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

static char *slurp_fd(int fd)
{
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    ssize_t got;
    while ((got = read(fd, buf + n, cap - n - 1)) != 0) {
        if (got < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        n += (size_t)got;
        if (cap - n - 1 == 0)
            buf = realloc(buf, cap *= 2);
    }
    buf[n] = '\0';
    return buf;
}

pid_t tsft_spawn(char *const argv[], const tsft_child *o)
{
    static const tsft_child none;
    if (!o)
        o = &none;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    cr_assert(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        int ofd = o->out_path ? open(o->out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644) : null;
        int efd = !o->err_path ? null
                  : o->out_path && !strcmp(o->out_path, o->err_path)
                      ? ofd
                      : open(o->err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (null < 0 || ofd < 0 || efd < 0)
            _exit(126);
        dup2(null, 0);
        dup2(ofd, 1);
        dup2(efd, 2);
        if (o->dir && chdir(o->dir) != 0)
            _exit(126);
        struct rlimit no_core = {0, 0}; /* a child killed on purpose leaves no core file */
        setrlimit(RLIMIT_CORE, &no_core);
        if (o->fsize) {
            struct rlimit rl = {o->fsize, o->fsize};
            setrlimit(RLIMIT_FSIZE, &rl);
        }
        execvp(argv[0], argv);
        fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    return pid;
}

static double seconds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int tsft_wait(pid_t pid, double limit_s, const char *what, const char *log)
{
    int st = 0;
    if (limit_s <= 0) {
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
            ;
    } else {
        double t0 = seconds_now();
        while (waitpid(pid, &st, WNOHANG) != pid) {
            if (seconds_now() - t0 > limit_s) {
                kill(pid, SIGKILL);
                waitpid(pid, &st, 0);
                char *text = log ? tsft_read_file(log, NULL) : NULL;
                cr_assert_fail("%s: still running after %.0f s (blocked?)%s%s", what, limit_s,
                               text ? "; output:\n" : "", text ? text : "");
            }
            struct timespec ts = {0, 10 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : TSFT_SIGNALLED + WTERMSIG(st);
}

int tsft_run_in(const char *dir, double limit_s, char *const argv[], char **out, char **err)
{
    /* stdout and stderr go to temporary files so neither pipe can fill and block the child. */
    char out_path[] = "/tmp/tsft-out-XXXXXX", err_path[] = "/tmp/tsft-err-XXXXXX";
    int ofd = mkstemp(out_path), efd = mkstemp(err_path);
    cr_assert(ofd >= 0 && efd >= 0, "mkstemp: %s", strerror(errno));
    tsft_child o = {.dir = dir, .out_path = out_path, .err_path = err_path};
    pid_t pid = tsft_spawn(argv, &o);
    char what[512];
    snprintf(what, sizeof what, "%s %s %s ...", argv[0], argv[1] ? argv[1] : "",
             argv[1] && argv[2] ? argv[2] : "");
    int st = tsft_wait(pid, limit_s, what, err_path);
    if (out)
        *out = tsft_keep(slurp_fd(ofd));
    if (err)
        *err = tsft_keep(slurp_fd(efd));
    close(ofd);
    close(efd);
    unlink(out_path);
    unlink(err_path);
    return st;
}

int tsft_run(char *const argv[], char **out, char **err)
{
    return tsft_run_in(NULL, 0, argv, out, err);
}

const char *tsft_tsflow_bin(void)
{
    return env_or("TSFLOW_BIN", "tsflow");
}

static int run_va(const char *prog, const char *first, char **out, char **err, va_list ap)
{
    char *argv[256];
    int n = 0;
    argv[n++] = (char *)prog;
    if (first)
        argv[n++] = (char *)first;
    const char *a;
    while ((a = va_arg(ap, const char *)) && n < 255)
        argv[n++] = (char *)a;
    argv[n] = NULL;
    return tsft_run(argv, out, err);
}

int tsft_tsflow(char **out, char **err, ...)
{
    va_list ap;
    va_start(ap, err);
    int rc = run_va(tsft_tsflow_bin(), NULL, out, err, ap);
    va_end(ap);
    return rc;
}

int tsft_python(const char *code, char **out, char **err, ...)
{
    char *argv[256];
    int n = 0;
    argv[n++] = (char *)env_or("PYTHON", "/usr/bin/python3");
    argv[n++] = "-c";
    argv[n++] = (char *)code;
    va_list ap;
    va_start(ap, err);
    const char *a;
    while ((a = va_arg(ap, const char *)) && n < 255)
        argv[n++] = (char *)a;
    va_end(ap);
    argv[n] = NULL;
    return tsft_run(argv, out, err);
}

void tsft_need_python_modules(const char *modules)
{
    char code[1024];
    snprintf(code, sizeof code, "import %s", modules);
    char *err = NULL;
    if (tsft_python(code, NULL, &err, NULL) != 0)
        cr_skip_test("Debian's python3 lacks %s (scripts/setup.sh installs it): %s", modules, err);
}

size_t tsft_ref_lines(const char *text, size_t n_words, tsft_ref_line *lines, size_t max)
{
    cr_assert(n_words <= 4, "tsft_ref_lines: %zu words (at most 4)", n_words);
    size_t k = 0;
    char *copy = tsft_keep(strdup(text)), *save = NULL;
    for (char *line = strtok_r(copy, "\n", &save); line && k < max;
         line = strtok_r(NULL, "\n", &save), k++) {
        tsft_ref_line *l = &lines[k];
        /* at most one number per two characters */
        l->v = (int64_t *)(void *)tsft_keep(malloc((strlen(line) / 2 + 1) * sizeof *l->v));
        l->n = 0;
        char *s2 = NULL, *tok = strtok_r(line, " ", &s2);
        for (size_t w = 0; w < n_words; w++, tok = strtok_r(NULL, " ", &s2)) {
            cr_assert(tok, "reference line %zu has fewer than %zu words", k + 1, n_words);
            snprintf(l->word[w], sizeof l->word[w], "%s", tok);
        }
        for (; tok; tok = strtok_r(NULL, " ", &s2))
            l->v[l->n++] = strtoll(tok, NULL, 10);
    }
    return k;
}

double tsft_logged_mse(const char *log, const char *step, const char *model)
{
    char key[128];
    snprintf(key, sizeof key, "%s: %s (original scale, ", step, model);
    const char *p = strstr(log, key);
    cr_assert(p, "no \"%s\" line in:\n%s", key, log);
    p = strstr(p, " mse ");
    cr_assert(p, "no mse after \"%s\"", key);
    return strtod(p + 5, NULL);
}

static int close_enough(double g, double w, double rtol, double atol)
{
    if (isnan(g) || isnan(w))
        return isnan(g) && isnan(w);
    if (isinf(g) || isinf(w))
        return g == w;
    return fabs(g - w) <= atol + rtol * fabs(w);
}

void tsft_assert_close(const double *got, const double *want, size_t n, double rtol, double atol,
                       const char *what)
{
    size_t first_bad = (size_t)-1, n_bad = 0;
    double max_abs = 0, max_rel = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs(got[i] - want[i]);
        if (isfinite(d)) {
            if (d > max_abs)
                max_abs = d;
            if (want[i] != 0 && d / fabs(want[i]) > max_rel)
                max_rel = d / fabs(want[i]);
        }
        if (!close_enough(got[i], want[i], rtol, atol)) {
            if (first_bad == (size_t)-1)
                first_bad = i;
            n_bad++;
        }
    }
    cr_assert(n_bad == 0,
              "%s: %zu of %zu values differ; first at [%zu]: got %.17g, want %.17g; max abs "
              "diff %.3g, max rel diff %.3g (rtol %.1g, atol %.1g)",
              what, n_bad, n, first_bad, got[first_bad], want[first_bad], max_abs, max_rel, rtol,
              atol);
}

void tsft_assert_close_f(const float *got, const float *want, size_t n, double rtol, double atol,
                         const char *what)
{
    double *g = malloc((n ? n : 1) * sizeof *g), *w = malloc((n ? n : 1) * sizeof *w);
    for (size_t i = 0; i < n; i++) {
        g[i] = got[i];
        w[i] = want[i];
    }
    tsft_assert_close(g, w, n, rtol, atol, what);
    free(g);
    free(w);
}

void tsft_assert_identical(const double *got, const double *want, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++) {
        int same =
            (isnan(got[i]) && isnan(want[i])) || memcmp(&got[i], &want[i], sizeof(double)) == 0;
        cr_assert(same, "%s: [%zu] differs: got %.17g, want %.17g (bitwise)", what, i, got[i],
                  want[i]);
    }
}

char *tsft_line(const char *text, int n)
{
    const char *s = text;
    for (int i = 0; i < n && s; i++)
        if ((s = strchr(s, '\n')))
            s++;
    cr_assert(s, "the reference printed fewer than %d lines:\n%s", n + 1, text);
    return tsft_keep(strndup(s, strcspn(s, "\n")));
}

double *tsft_nums(const char *s, size_t *n)
{
    size_t cap = 16, k = 0;
    double *v = malloc(cap * sizeof *v);
    char *end;
    for (;;) {
        while (*s == ' ')
            s++;
        if (!*s)
            break;
        double x = strtod(s, &end);
        cr_assert(end != s, "not a number: \"%s\"", s);
        if (k == cap)
            v = realloc(v, (cap *= 2) * sizeof *v);
        v[k++] = x;
        s = end;
    }
    *n = k;
    return v;
}

int tsft_n_temporaries(const char *dir)
{
    DIR *d = opendir(dir);
    cr_assert(d, "cannot list %s", dir);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        n += strstr(de->d_name, ".tsflow-tmp-") != NULL;
    closedir(d);
    return n;
}
