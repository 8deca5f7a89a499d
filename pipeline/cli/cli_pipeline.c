/* Options shared by run, check, stages and help, and loading the stage registry. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_pipeline.h"

const char *cli_pipeline_options_help(void)
{
    return "  --set STEP.KEY=VALUE  override an option of a step (repeatable), checked like the\n"
           "                        file; paths given here are relative to the current directory\n"
           "  --plugin FILE.so      load stages from a plugin (repeatable); TSFLOW_PLUGIN_PATH\n"
           "                        lists more plugins or directories of them, ':'-separated\n"
           "  --quiet, -q           print only errors\n"
           "  --verbose, -v         print the plan, stage messages, and per-step time and peak\n"
           "                        memory at the end (measuring it resets the process's peak\n"
           "                        memory mark: /usr/bin/time -v then sees the last step's)\n";
}

static int push(const char ***v, size_t *n, const char *s)
{
    const char **x = realloc((void *)*v, (*n + 1) * sizeof *x);
    if (!x)
        return -1;
    x[(*n)++] = s;
    *v = x;
    return 0;
}

void cli_pipeline_args_free(cli_pipeline_args *a)
{
    free((void *)a->plugins);
    free((void *)a->sets);
    memset(a, 0, sizeof *a);
}

int cli_pipeline_parse(cli_pipeline_args *a, int argc, char **argv, const char *allowed,
                       int n_positional, const char *usage)
{
    memset(a, 0, sizeof *a);
    const char *cmd = argv[0];
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *val = NULL;
        int takes = 0;
        char which = 0;
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            printf("%s", usage);
            cli_pipeline_args_free(a);
            return -1;
        }
        if (!strcmp(arg, "--plugin") || !strncmp(arg, "--plugin=", 9)) {
            which = 'p';
            takes = 1;
            val = arg[8] == '=' ? arg + 9 : NULL;
        } else if (!strcmp(arg, "--set") || !strncmp(arg, "--set=", 6)) {
            which = 's';
            takes = 1;
            val = arg[5] == '=' ? arg + 6 : NULL;
        } else if (!strcmp(arg, "--quiet") || !strcmp(arg, "-q")) {
            which = 'q';
        } else if (!strcmp(arg, "--verbose") || !strcmp(arg, "-v")) {
            which = 'v';
        } else if (arg[0] == '-' && arg[1]) {
            cli_error("%s: unknown option \"%s\" (see 'tsflow %s --help')", cmd, arg, cmd);
            cli_pipeline_args_free(a);
            return CLI_USAGE;
        } else {
            if (a->pipeline || !n_positional) {
                cli_error("%s: unexpected argument \"%s\" (see 'tsflow %s --help')", cmd, arg, cmd);
                cli_pipeline_args_free(a);
                return CLI_USAGE;
            }
            a->pipeline = arg;
            continue;
        }
        if (!strchr(allowed, which)) {
            cli_error("%s: option %s does not apply here (see 'tsflow %s --help')", cmd, arg, cmd);
            cli_pipeline_args_free(a);
            return CLI_USAGE;
        }
        if (takes && !val) {
            if (i + 1 >= argc) {
                cli_error("%s: option %s expects a value", cmd, arg);
                cli_pipeline_args_free(a);
                return CLI_USAGE;
            }
            val = argv[++i];
        }
        int bad = 0;
        if (which == 'p')
            bad = push(&a->plugins, &a->n_plugins, val);
        else if (which == 's')
            bad = push(&a->sets, &a->n_sets, val);
        else if (which == 'q')
            a->quiet = 1;
        else
            a->verbose = 1;
        if (bad) {
            cli_error("out of memory");
            cli_pipeline_args_free(a);
            return CLI_FAIL;
        }
    }
    if (n_positional && !a->pipeline) {
        cli_error("%s: expected a PIPELINE file (see 'tsflow %s --help')", cmd, cmd);
        cli_pipeline_args_free(a);
        return CLI_USAGE;
    }
    if (a->quiet && a->verbose) {
        cli_error("%s: --quiet and --verbose contradict each other", cmd);
        cli_pipeline_args_free(a);
        return CLI_USAGE;
    }
    return CLI_OK;
}

int cli_registry(tsf_registry **out, const cli_pipeline_args *a)
{
    tsf_err err = TSF_ERR_INIT;
    tsf_registry *r = NULL;
    *out = NULL;
    if (tsf_registry_alloc(&r, &err) != TSF_OK || tsf_registry_add_builtins(r, &err) != TSF_OK) {
        cli_error("%s", err.msg);
        tsf_registry_free(r);
        return CLI_FAIL;
    }
    int rc = tsf_registry_load_path(r, getenv("TSFLOW_PLUGIN_PATH"), &err);
    for (size_t i = 0; i < a->n_plugins && rc == TSF_OK; i++)
        rc = tsf_registry_load_plugin(r, a->plugins[i], &err);
    if (rc != TSF_OK) {
        cli_error("%s", err.msg);
        tsf_registry_free(r);
        return rc == TSF_ENOMEM ? CLI_FAIL : CLI_USAGE;
    }
    *out = r;
    return CLI_OK;
}
