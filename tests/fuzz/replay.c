/* Replays inputs through a libFuzzer harness without libFuzzer: the regression test for every
 * crash or hang the fuzzers found (tests/fuzz/regressions/<harness>/) and for the seeds.
 *
 *   replay_<harness> FILE_OR_DIR...
 *
 * Each file is one input (directories are read in name order, hidden files skipped). Prints
 * TAP: one line per input. A broken invariant aborts, so the test fails with that input named
 * on the line before; the sanitizer build catches memory errors the same way. */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_common.h"

static char **files;
static size_t n_files, cap_files;

static void add(const char *path)
{
    if (n_files == cap_files) {
        cap_files = cap_files ? 2 * cap_files : 64;
        files = realloc(files, cap_files * sizeof *files);
        if (!files)
            abort();
    }
    files[n_files++] = strdup(path);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void collect(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "replay: %s: cannot stat\n", path);
        exit(2);
    }
    if (!S_ISDIR(st.st_mode)) {
        add(path);
        return;
    }
    DIR *d = opendir(path);
    if (!d)
        return;
    size_t first = n_files;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", path, de->d_name);
        add(p);
    }
    closedir(d);
    if (n_files > first)
        qsort(files + first, n_files - first, sizeof *files, by_name);
}

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    size_t cap = 4096, n = 0;
    unsigned char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, fp)) > 0) {
        n += got;
        if (n == cap) {
            unsigned char *b = realloc(buf, cap *= 2);
            if (!b)
                free(buf);
            buf = b;
        }
    }
    fclose(fp);
    *len = n;
    return buf;
}

int main(int argc, char **argv)
{
    LLVMFuzzerInitialize(&argc, &argv);
    for (int i = 1; i < argc; i++)
        collect(argv[i]);
    printf("TAP version 13\n1..%zu\n", n_files);
    int failed = 0;
    for (size_t i = 0; i < n_files; i++) {
        size_t len = 0;
        unsigned char *data = slurp(files[i], &len);
        if (!data) {
            printf("not ok %zu - %s (cannot read)\n", i + 1, files[i]);
            failed = 1;
            free(files[i]);
            continue;
        }
        fprintf(stderr, "replay: %s (%zu bytes)\n", files[i], len);
        fflush(stdout);
        LLVMFuzzerTestOneInput(data, len);
        printf("ok %zu - %s\n", i + 1, files[i]);
        free(data);
        free(files[i]);
    }
    free(files);
    return failed;
}
