/* Plugins: shared objects exporting tsflow_plugin_stages(), loaded with dlopen, all or nothing. */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "runner_internal.h"

void tsf__plugin_close(void *handle)
{
    if (handle)
        dlclose(handle);
}

int tsf_registry_load_plugin(tsf_registry *r, const char *path, tsf_err *err)
{
    dlerror();
    /* A name without '/' would be searched in the library path: the user means a file. */
    char *p = NULL;
    if (!strchr(path, '/')) {
        p = malloc(strlen(path) + 3);
        if (!p)
            TSF_FAIL(err, TSF_ENOMEM, "out of memory");
        strcpy(p, "./");
        strcat(p, path);
    }
    void *h = dlopen(p ? p : path, RTLD_NOW | RTLD_LOCAL);
    free(p);
    if (!h) {
        const char *why = dlerror();
        TSF_FAIL(err, TSF_EPLUGIN, "plugin %s: cannot load it: %s", path,
                 why ? why : "unknown error");
    }
    /* The same file loaded twice (TSFLOW_PLUGIN_PATH and --plugin): dlopen gave the handle we
     * already hold; drop the extra reference and keep the stages registered the first time. */
    if (tsf__registry_has_handle(r, h)) {
        dlclose(h);
        return TSF_OK;
    }
    /* ISO C has no cast from void * to a function pointer: copy the bits. */
    tsf_plugin_stages_fn fn;
    void *sym = dlsym(h, TSF_PLUGIN_SYMBOL);
    if (!sym) {
        dlclose(h);
        TSF_FAIL(err, TSF_EPLUGIN,
                 "plugin %s: no function " TSF_PLUGIN_SYMBOL " in it (expected a plugin that "
                 "defines its stages with TSF_PLUGIN_STAGES from tsflow/stage.h)",
                 path);
    }
    memcpy(&fn, &sym, sizeof fn);
    unsigned abi = 0;
    const tsf_stage_def *const *defs = fn(&abi);
    if (abi != TSF_STAGE_ABI_VERSION) {
        dlclose(h);
        TSF_FAIL(err, TSF_EPLUGIN,
                 "plugin %s: built for stage ABI version %u, but this tsflow has version %u "
                 "(rebuild it against this tsflow's tsflow/stage.h)",
                 path, abi, TSF_STAGE_ABI_VERSION);
    }
    if (!defs || !defs[0]) {
        dlclose(h);
        TSF_FAIL(err, TSF_EPLUGIN, "plugin %s: defines no stages", path);
    }
    for (size_t i = 0; defs[i]; i++) {
        int rc = tsf_registry_add(r, defs[i], path, err);
        if (rc != TSF_OK) {
            tsf__registry_remove_origin(r, path);
            dlclose(h);
            return tsf_err_prefix(err, "plugin %s", path);
        }
    }
    int rc = tsf__registry_keep_handle(r, h, err);
    if (rc != TSF_OK) {
        tsf__registry_remove_origin(r, path);
        dlclose(h);
    }
    return rc;
}

static int has_so_suffix(const char *name)
{
    size_t n = strlen(name);
    return n > 3 && !strcmp(name + n - 3, ".so");
}

static int so_filter(const struct dirent *d)
{
    return d->d_name[0] != '.' && has_so_suffix(d->d_name);
}

static int load_dir(tsf_registry *r, const char *dir, tsf_err *err)
{
    struct dirent **list = NULL;
    int n = scandir(dir, &list, so_filter, alphasort);
    if (n < 0)
        TSF_FAIL(err, TSF_EPLUGIN, "TSFLOW_PLUGIN_PATH: cannot list directory %s: %s", dir,
                 strerror(errno));
    int rc = TSF_OK;
    for (int i = 0; i < n; i++) {
        if (rc == TSF_OK) {
            size_t len = strlen(dir) + strlen(list[i]->d_name) + 2;
            char *path = malloc(len);
            if (!path) {
                rc = tsf_err_set(err, TSF_ENOMEM, "out of memory");
            } else {
                snprintf(path, len, "%s/%s", dir, list[i]->d_name);
                rc = tsf_registry_load_plugin(r, path, err);
                free(path);
            }
        }
        free(list[i]);
    }
    free(list);
    return rc;
}

int tsf_registry_load_path(tsf_registry *r, const char *pathlist, tsf_err *err)
{
    if (!pathlist)
        return TSF_OK;
    char *copy = strdup(pathlist);
    if (!copy)
        TSF_FAIL(err, TSF_ENOMEM, "out of memory");
    int rc = TSF_OK;
    char *save = NULL;
    for (char *e = strtok_r(copy, ":", &save); e && rc == TSF_OK; e = strtok_r(NULL, ":", &save)) {
        struct stat st;
        if (stat(e, &st) != 0)
            rc = tsf_err_set(err, TSF_EPLUGIN, "TSFLOW_PLUGIN_PATH: %s: %s", e, strerror(errno));
        else if (S_ISDIR(st.st_mode))
            rc = load_dir(r, e, err);
        else
            rc = tsf_registry_load_plugin(r, e, err);
    }
    free(copy);
    return rc;
}
