/* Every message that tells the user to set an option names an option that exists: the sources of
 * lib/ and pipeline/ are read, each run of adjacent string literals joined (messages span
 * lines), and every "KEY = VALUE" in them, the form errors and help use to suggest a setting
 * ("set constant = center", "use by = rows", "needs retrain = never"), is looked up in the
 * registry of built-in stages: KEY must be an option of some stage (or input/inputs/stage), and
 * when every option of that name is an enum or a bool, VALUE must be one of its values. */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "runner.h"
#include "support.h"

/* Formulas and prose that read like settings but are not: "key = value" (the file format),
 * "t = 0", "o_k = first_origin + k x stride", "step = horizon", "end = %lld" (formulas and
 * positions in help and messages), "dark = vanishing, bright = large" (a plot's colour key). */
static const char *const not_settings[] = {"key", "t",    "o_k",    "step",
                                           "end", "dark", "bright", NULL};

typedef struct finding {
    char text[1024];
    size_t n;
} finding;

static const tsf_registry *registry(void)
{
    static tsf_registry *r;
    if (!r) {
        tsf_err err = TSF_ERR_INIT;
        cr_assert_eq(tsf_registry_alloc(&r, &err), TSF_OK, "%s", err.msg);
        cr_assert_eq(tsf_registry_add_builtins(r, &err), TSF_OK, "%s", err.msg);
    }
    return r;
}

static int is_bool_word(const char *v)
{
    static const char *const w[] = {"true", "false", "yes", "no", "on", "off", "1", "0", NULL};
    for (size_t i = 0; w[i]; i++)
        if (!strcasecmp(v, w[i]))
            return 1;
    return 0;
}

/* NULL when KEY = VALUE is a real setting, else why not. */
static const char *check_setting(const char *key, const char *value, char *why, size_t n)
{
    if (!strcmp(key, "stage") || !strcmp(key, "input") || !strcmp(key, "inputs"))
        return NULL;
    for (size_t i = 0; not_settings[i]; i++)
        if (!strcmp(key, not_settings[i]))
            return NULL;
    const tsf_registry *r = registry();
    int found = 0, value_free = 0, value_ok = 0;
    for (size_t k = 0; k < tsf_registry_count(r); k++) {
        const tsf_stage_def *d = tsf_registry_get(r, k, NULL);
        for (const tsf_option *o = d->options; o && o->name; o++) {
            if (strcmp(o->name, key))
                continue;
            found = 1;
            if (o->type == TSF_OPT_ENUM) {
                for (size_t c = 0; o->choices[c]; c++)
                    value_ok |= !strcasecmp(o->choices[c], value);
            } else if (o->type == TSF_OPT_BOOL) {
                value_ok |= is_bool_word(value);
            } else {
                value_free = 1;
            }
        }
    }
    if (!found)
        snprintf(why, n, "no stage has an option \"%s\"", key);
    else if (!value_free && !value_ok)
        snprintf(why, n, "option \"%s\" has no value \"%s\"", key, value);
    else
        return NULL;
    return why;
}

/* Scan text (joined literals) for KEY = VALUE with lower-case words. */
static void scan_text(const char *file, int line, const char *t, finding *f)
{
    for (const char *p = strstr(t, " = "); p; p = strstr(p + 1, " = ")) {
        const char *k = p;
        while (k > t && (islower((unsigned char)k[-1]) || k[-1] == '_'))
            k--;
        const char *v = p + 3, *ve = v;
        while (islower((unsigned char)*ve) || isdigit((unsigned char)*ve) || *ve == '_')
            ve++;
        if (k == p || ve == v || (k > t && (isalnum((unsigned char)k[-1]) || k[-1] == '%')))
            continue;
        char key[64], value[64], why[256];
        snprintf(key, sizeof key, "%.*s", (int)(p - k), k);
        snprintf(value, sizeof value, "%.*s", (int)(ve - v), v);
        if (check_setting(key, value, why, sizeof why)) {
            size_t used = strlen(f->text);
            snprintf(f->text + used, sizeof f->text - used, "\n  %s:%d: \"%s = %s\": %s", file,
                     line, key, value, why);
        }
        f->n++;
    }
}

/* Join adjacent string literals of a C file and scan each run. */
static void scan_file(const char *path, const char *rel, finding *f, size_t *n_settings)
{
    size_t len;
    char *src = tsft_read_file(path, &len);
    cr_assert(src, "%s", path);
    char *buf = malloc(len + 1);
    size_t used = 0;
    int line = 1, start_line = 0, in_run = 0;
    for (size_t i = 0; i < len; i++) {
        char ch = src[i];
        if (ch == '\n')
            line++;
        if (ch == '/' && src[i + 1] == '*') { /* comments hold examples, not messages */
            for (i += 2; i + 1 < len && !(src[i] == '*' && src[i + 1] == '/'); i++)
                line += src[i] == '\n';
            i++;
            continue;
        }
        if (ch == '\'' && i + 2 < len) { /* '"' is not a string */
            i += src[i + 1] == '\\' ? 3 : 2;
            continue;
        }
        if (ch == '"') {
            if (!in_run) {
                used = 0;
                start_line = line;
                in_run = 1;
            }
            for (i++; i < len && src[i] != '"'; i++) {
                if (src[i] == '\\' && i + 1 < len) {
                    i++;
                    buf[used++] = src[i] == 'n' ? ' ' : src[i];
                    continue;
                }
                buf[used++] = src[i];
            }
            continue;
        }
        if (in_run && !isspace((unsigned char)ch)) {
            buf[used] = '\0';
            size_t before = f->n;
            scan_text(rel, start_line, buf, f);
            *n_settings += f->n - before;
            f->n = before;
            in_run = 0;
        }
    }
    free(buf);
    free(src);
}

static void scan_dir(const char *root, const char *rel, finding *f, size_t *n_files,
                     size_t *n_settings)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/%s", root, rel);
    DIR *d = opendir(dir);
    cr_assert(d, "%s", dir);
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char p[8192], r[8192];
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        snprintf(r, sizeof r, "%s/%s", rel, de->d_name);
        struct stat st;
        if (stat(p, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            scan_dir(root, r, f, n_files, n_settings);
        } else {
            size_t n = strlen(de->d_name);
            if (n > 2 && !strcmp(de->d_name + n - 2, ".c")) {
                scan_file(p, r, f, n_settings);
                (*n_files)++;
            }
        }
    }
    closedir(d);
}

Test(messages, every_suggested_setting_names_a_real_option_and_value)
{
    finding f = {{0}, 0};
    size_t n_files = 0, n_settings = 0;
    const char *root = tsft_source(".");
    scan_dir(root, "lib", &f, &n_files, &n_settings);
    scan_dir(root, "pipeline", &f, &n_files, &n_settings);
    cr_log_info("%zu settings suggested in %zu files", n_settings, n_files);
    cr_assert_gt(n_settings, 20, "the scan found only %zu settings: is the pattern still used?",
                 n_settings);
    cr_assert(!f.text[0], "messages suggest settings that do not exist:%s", f.text);
}

Test(messages, the_scan_catches_an_option_that_does_not_exist)
{
    finding f = {{0}, 0};
    scan_text("x.c", 1, "would divide by zero (set on_constant = center to only", &f);
    cr_assert(strstr(f.text, "no stage has an option \"on_constant\""), "%s", f.text);
    memset(&f, 0, sizeof f);
    scan_text("x.c", 1, "(set constant = middle)", &f);
    cr_assert(strstr(f.text, "option \"constant\" has no value \"middle\""), "%s", f.text);
    memset(&f, 0, sizeof f);
    scan_text("x.c", 1, "(set constant = center)", &f);
    cr_assert(!f.text[0], "%s", f.text);
}
