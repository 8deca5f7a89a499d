/* The bad-input catalogue: every directory under tests/bad_inputs/ is one case, run by the tsflow
 * command, that must fail with the expected exit code and message and leave its directory as it
 * was (no output created, no file changed, no temporary left behind).
 *
 * A case directory holds its input files and case.ini:
 *
 *     # what the case shows (one comment line or more)
 *     args = inspect ragged.csv        tsflow's arguments (split at spaces), run in a copy of
 *                                      the directory
 *     exit = 1                         expected exit status
 *     message = ragged.csv:3:2: ...    a text stderr must contain (repeatable; each names the
 *                                      place: file:line:col, pipeline.ini:LINE, a dataset)
 *     generate = make.py               optional: /usr/bin/python3 make.py runs first, in the copy
 *                                      (for inputs too big or too binary to keep in the tree,
 *                                      and special files); its exit status 77 skips the case
 *                                      with its stdout as the reason (e.g. mknod needs root)
 *     unwritable = out                 optional: make directory "out" unwritable (as root, the
 *                                      command then runs as user nobody, since root may write
 *                                      anywhere)
 *     pending = reason                 optional: a known bug: the case is skipped with the
 *                                      reason while it fails, and fails once it passes
 *     memory_error = reason            optional: the input makes a library (libhdf5) fault:
 *                                      skipped under AddressSanitizer and valgrind, which stop at
 *                                      the fault before tsflow can report it
 *
 * Any stderr must also be free of raw library output (HDF5-DIAG) and sanitizer reports. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/parameterized.h>

#include "support.h"

#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#else
#define RUNNING_ON_VALGRIND 0
#endif
#ifdef __SANITIZE_ADDRESS__
#define UNDER_ASAN 1
#else
#define UNDER_ASAN 0
#endif

#define NAME_MAX_LEN 256
#define MAX_ITEMS 16
#define ITEM_LEN 512

typedef struct bad_case {
    char name[NAME_MAX_LEN];
} bad_case;

typedef struct case_spec {
    char args[ITEM_LEN];
    int exit_code;
    char messages[MAX_ITEMS][ITEM_LEN];
    int n_messages;
    char generate[ITEM_LEN];
    char unwritable[ITEM_LEN];
    char pending[ITEM_LEN];
    char memory_error[ITEM_LEN];
} case_spec;

static const char *catalogue_dir(void)
{
    return tsft_source("tests/bad_inputs");
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const bad_case *)a)->name, ((const bad_case *)b)->name);
}

/* Criterion builds the parameter list in its runner before forking a worker per case. */
ParameterizedTestParameters(bad_inputs, fails_cleanly_with_its_message)
{
    static bad_case none = {"(no cases)"};
    DIR *d = opendir(catalogue_dir());
    if (!d)
        return cr_make_param_array(bad_case, &none, 1);
    size_t n = 0, cap = 64;
    bad_case *v = cr_malloc(cap * sizeof *v);
    struct dirent *de;
    while ((de = readdir(d))) {
        char p[4096];
        struct stat st;
        snprintf(p, sizeof p, "%s/%s/case.ini", catalogue_dir(), de->d_name);
        if (de->d_name[0] == '.' || stat(p, &st) != 0)
            continue;
        if (n == cap) {
            bad_case *w = cr_malloc(2 * cap * sizeof *w);
            memcpy(w, v, n * sizeof *v);
            cr_free(v);
            v = w;
            cap *= 2;
        }
        snprintf(v[n++].name, NAME_MAX_LEN, "%s", de->d_name);
    }
    closedir(d);
    qsort(v, n, sizeof *v, by_name);
    return cr_make_param_array(bad_case, v, n);
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

static void read_spec(const char *dir, case_spec *c)
{
    memset(c, 0, sizeof *c);
    c->exit_code = -1;
    char path[4200], line[2048];
    snprintf(path, sizeof path, "%s/case.ini", dir);
    FILE *fp = fopen(path, "r");
    cr_assert(fp, "%s: cannot open", path);
    for (int ln = 1; fgets(line, sizeof line, fp); ln++) {
        char *l = trim(line);
        if (!*l || *l == '#')
            continue;
        char *eq = strchr(l, '=');
        cr_assert(eq, "%s:%d: expected KEY = VALUE", path, ln);
        *eq = '\0';
        char *k = trim(l), *v = trim(eq + 1);
        if (!strcmp(k, "args"))
            snprintf(c->args, ITEM_LEN, "%s", v);
        else if (!strcmp(k, "exit"))
            c->exit_code = atoi(v);
        else if (!strcmp(k, "message") && c->n_messages < MAX_ITEMS)
            snprintf(c->messages[c->n_messages++], ITEM_LEN, "%s", v);
        else if (!strcmp(k, "generate"))
            snprintf(c->generate, ITEM_LEN, "%s", v);
        else if (!strcmp(k, "unwritable"))
            snprintf(c->unwritable, ITEM_LEN, "%s", v);
        else if (!strcmp(k, "pending"))
            snprintf(c->pending, ITEM_LEN, "%s", v);
        else if (!strcmp(k, "memory_error"))
            snprintf(c->memory_error, ITEM_LEN, "%s", v);
        else
            cr_assert_fail("%s:%d: unknown key \"%s\"", path, ln, k);
    }
    fclose(fp);
    cr_assert(c->args[0] && c->exit_code >= 0 && c->n_messages > 0,
              "%s: needs args, exit and at least one message", path);
}

/* ---- copying a case and listing what a directory holds -------------------------------------- */

static void copy_file(const char *from, const char *to, mode_t mode)
{
    int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, mode & 0777);
    cr_assert(in >= 0 && out >= 0, "copy %s -> %s: %s", from, to, strerror(errno));
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0)
        cr_assert_eq(write(out, buf, (size_t)n), n, "write %s", to);
    close(in);
    close(out);
}

static void copy_case(const char *src, const char *dst)
{
    DIR *d = opendir(src);
    cr_assert(d, "%s: %s", src, strerror(errno));
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
            !strcmp(de->d_name, "case.ini"))
            continue;
        char a[4096], b[4096];
        struct stat st;
        snprintf(a, sizeof a, "%s/%s", src, de->d_name);
        snprintf(b, sizeof b, "%s/%s", dst, de->d_name);
        cr_assert_eq(stat(a, &st), 0, "%s", a);
        if (S_ISDIR(st.st_mode)) {
            cr_assert_eq(mkdir(b, 0755), 0, "%s", b);
            copy_case(a, b);
        } else {
            copy_file(a, b, st.st_mode | 0644);
        }
    }
    closedir(d);
}

static char listing[1 << 16];
static size_t listing_len;
static size_t listing_root;

static int list_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)ftw;
    unsigned long long h = 1469598103934665603ull;
    if (type == FTW_F && S_ISREG(st->st_mode)) { /* opening a FIFO would block */
        int fd = open(path, O_RDONLY);
        unsigned char buf[65536];
        ssize_t n;
        while (fd >= 0 && (n = read(fd, buf, sizeof buf)) > 0)
            for (ssize_t i = 0; i < n; i++)
                h = (h ^ buf[i]) * 1099511628211ull;
        if (fd >= 0)
            close(fd);
    }
    /* A directory's size and mtime change when a temporary comes and goes: not an output. */
    int dir = type == FTW_D || type == FTW_DNR;
    int w =
        snprintf(listing + listing_len, sizeof listing - listing_len,
                 "%s %c mode %o size %lld mtime %lld.%09ld hash %016llx\n", path + listing_root,
                 dir ? 'd' : 'f', (unsigned)st->st_mode & 07777, dir ? 0 : (long long)st->st_size,
                 dir ? 0 : (long long)st->st_mtim.tv_sec, dir ? 0 : st->st_mtim.tv_nsec, h);
    if (w > 0 && (size_t)w < sizeof listing - listing_len)
        listing_len += (size_t)w;
    return 0;
}

/* Every entry under dir (names relative to it), with size, mode, mtime and a content hash. */
static char *list_dir(const char *dir)
{
    listing_len = 0;
    listing[0] = '\0';
    listing_root = strlen(dir);
    cr_assert_eq(nftw(dir, list_entry, 16, FTW_PHYS), 0, "cannot list %s", dir);
    return strdup(listing);
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (type == FTW_DP)
        rmdir(path);
    else
        unlink(path);
    return 0;
}

/* The first line of a that is not in b, for messages. */
static const char *first_difference(const char *a, const char *b, char *buf, size_t n)
{
    for (const char *l = a; *l;) {
        const char *e = strchr(l, '\n');
        size_t len = e ? (size_t)(e - l) : strlen(l);
        char want[1024];
        snprintf(want, sizeof want, "%.*s\n", (int)len, l);
        if (!strstr(b, want)) {
            snprintf(buf, n, "%.*s", (int)len, l);
            return buf;
        }
        l += len + (e != NULL);
    }
    return "(none)";
}

/* ---- running a case ---------------------------------------------------------------------------
 */

static int run_case(const case_spec *c, const char *work, char **err)
{
    char args[ITEM_LEN];
    snprintf(args, sizeof args, "%s", c->args);
    char *argv[64];
    int n = 0;
    int as_nobody = c->unwritable[0] && geteuid() == 0;
    if (as_nobody) {
        argv[n++] = "setpriv";
        argv[n++] = "--reuid=65534";
        argv[n++] = "--regid=65534";
        argv[n++] = "--clear-groups";
        argv[n++] = "--";
    }
    argv[n++] = (char *)tsft_tsflow_bin();
    for (char *save = NULL, *t = strtok_r(args, " \t", &save); t && n < 63;
         t = strtok_r(NULL, " \t", &save))
        argv[n++] = t;
    argv[n] = NULL;
    cr_assert_eq(chdir(work), 0, "chdir %s", work);
    return tsft_run(argv, NULL, err);
}

ParameterizedTest(bad_case *bc, bad_inputs, fails_cleanly_with_its_message)
{
    if (!strcmp(bc->name, "(no cases)"))
        cr_assert_fail("no cases found under %s", catalogue_dir());
    char src[4096];
    snprintf(src, sizeof src, "%s/%s", catalogue_dir(), bc->name);
    case_spec c;
    read_spec(src, &c);
    cr_log_info("case %s: tsflow %s", bc->name, c.args);
    if (c.memory_error[0] && (UNDER_ASAN || RUNNING_ON_VALGRIND))
        cr_skip_test("%s: the memory checker stops at the library's fault first (%s)", bc->name,
                     c.memory_error);

    char work[] = "/tmp/tsflow-bad-XXXXXX";
    cr_assert(mkdtemp(work), "mkdtemp: %s", strerror(errno));
    chmod(work, 0755); /* readable by nobody (see unwritable) */
    copy_case(src, work);
    if (c.generate[0]) {
        char gen[4096], *out = NULL, *err = NULL;
        snprintf(gen, sizeof gen, "%s/%s", work, c.generate);
        cr_assert_eq(chdir(work), 0, "chdir %s", work);
        char *argv[] = {"/usr/bin/python3", gen, NULL};
        int rc = tsft_run(argv, &out, &err);
        if (rc == 77)
            cr_skip_test("%s: %s", bc->name, out);
        if (rc != 0 && strstr(err, "ModuleNotFoundError"))
            cr_skip_test("%s: Debian's python3 lacks a module: %s", bc->name, err);
        cr_assert_eq(rc, 0, "%s: %s failed: %s", bc->name, c.generate, err);
        unlink(gen);
    }
    if (c.unwritable[0]) {
        char d[4096];
        snprintf(d, sizeof d, "%s/%s", work, c.unwritable);
        mkdir(d, 0755);
        cr_assert_eq(chmod(d, 0555), 0, "chmod %s", d);
    }
    char *before = list_dir(work);

    char *err = NULL;
    int rc = run_case(&c, work, &err);
    char *after = list_dir(work);

    int ok = rc == c.exit_code;
    for (int i = 0; i < c.n_messages; i++)
        ok = ok && strstr(err, c.messages[i]) != NULL;
    int unchanged = !strcmp(before, after);
    chdir("/");
    nftw(work, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    if (c.pending[0]) {
        cr_assert(!(ok && unchanged),
                  "%s: pending case now passes: remove its \"pending\" line (%s)", bc->name,
                  c.pending);
        for (char *q = err; *q; q++) /* one TAP line */
            if (*q == '\n')
                *q = ' ';
        cr_skip_test("%s: pending: %s (exit %d, stderr: %s)", bc->name, c.pending, rc, err);
    }
    cr_assert_eq(rc, c.exit_code, "%s: tsflow %s exited %d, expected %d; stderr:\n%s", bc->name,
                 c.args, rc, c.exit_code, err);
    for (int i = 0; i < c.n_messages; i++)
        cr_assert(strstr(err, c.messages[i]), "%s: stderr lacks\n  %s\nstderr:\n%s", bc->name,
                  c.messages[i], err);
    cr_assert(!strstr(err, "HDF5-DIAG") && !strstr(err, "Sanitizer") &&
                  !strstr(err, "runtime error"),
              "%s: raw library or sanitizer output on stderr:\n%s", bc->name, err);
    char d1[1024], d2[1024];
    cr_assert(unchanged, "%s: the directory changed: before-only \"%s\", after-only \"%s\"",
              bc->name, first_difference(before, after, d1, sizeof d1),
              first_difference(after, before, d2, sizeof d2));
    free(before);
    free(after);
}
