/* tsflow backtest: a rolling-origin backtest of a recurrent network against the naive and
 * seasonal naive baselines on one CSV file, written to HDF5 (and optionally CSV and plots).
 * Builds the pipeline a user would write (cli_build.h's shared steps, then [backtest],
 * [export], [csv], [plots]) and runs it like `tsflow run`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_build.h"
#include "cli_pipeline.h"

static const char usage_head[] =
    "usage: tsflow backtest [OPTIONS] DATA.csv --horizon N --out FILE.h5\n\n"
    "Backtest a recurrent network against the naive and seasonal naive forecasters on\n"
    "DATA.csv: forecast origins every --stride rows through the test part of each series\n"
    "(the last --test-fraction), each forecast made by a network refitted on the rows before\n"
    "its origin only (imputation and scaling too). Writes the forecasts, the metrics (with\n"
    "skill against the baselines), the folds' fit windows and the training history to\n"
    "FILE.h5 (pandas.read_hdf(FILE, 'forecasts'), 'metrics'; xarray group 'cube') and\n"
    "prints the pooled scores. The steps: data, split, filled, norm, train, val, model,\n"
    "backtest, export (and csv, plots); --set STEP.KEY=VALUE changes any of their options.\n\n"
    "output:\n"
    "  --out FILE.h5          the HDF5 file to write (required)\n"
    "  --csv FILE.csv         also the long forecast table as CSV\n"
    "  --plots PREFIX         also PNG plots (gnuplot): PREFIX_backtest.png, ...\n"
    "  --print-pipeline       print the generated pipeline and exit\n\n"
    "backtest:\n"
    "  --stride N             rows between origins (default: the horizon)\n"
    "  --retrain RULE         always (default), never, or every N folds\n"
    "  --window KIND          expanding (default) or sliding (over --train-length rows)\n"
    "  --train-length N       rows of the first fit / the sliding window (default: the\n"
    "                         train part)\n"
    "  --warm-start           refits continue from the previous fit's weights\n"
    "  --season M             rows per season for snaive and MASE (default: from the step)\n"
    "  --jobs N               threads (default 1); results do not depend on it\n\n";

typedef struct bt_args {
    const char *out, *csv, *plots, *stride, *retrain, *window, *train_length, *season, *jobs;
    int warm_start, print;
} bt_args;

int cmd_backtest(int argc, char **argv)
{
    const char *cmd = "backtest";
    cli_model_args ma;
    cli_model_args_init(&ma);
    bt_args b = {0};
    /* our flags here; --set, --plugin, -q, -v go on to cli_pipeline_parse */
    char **rest = malloc(((size_t)argc + 1) * sizeof *rest);
    if (!rest) {
        cli_error("out of memory");
        return CLI_FAIL;
    }
    int n_rest = 0;
    rest[n_rest++] = argv[0];
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            printf("%s%s\n%s", usage_head, cli_model_args_help(), cli_pipeline_options_help());
            free(rest);
            return CLI_OK;
        }
        int used = cli_model_args_parse(&ma, cmd, argc, argv, &i);
        const struct {
            const char *name;
            const char **dst;
        } vals[] = {{"--out", &b.out},
                    {"--csv", &b.csv},
                    {"--plots", &b.plots},
                    {"--stride", &b.stride},
                    {"--retrain", &b.retrain},
                    {"--window", &b.window},
                    {"--train-length", &b.train_length},
                    {"--season", &b.season},
                    {"--jobs", &b.jobs}};
        for (size_t k = 0; !used && k < sizeof vals / sizeof *vals; k++)
            used = cli_take_flag(cmd, argc, argv, &i, vals[k].name, vals[k].dst);
        if (!used && !strcmp(arg, "--warm-start"))
            used = b.warm_start = 1;
        if (!used && !strcmp(arg, "--print-pipeline"))
            used = b.print = 1;
        if (used < 0) {
            free(rest);
            return CLI_USAGE;
        }
        if (used)
            continue;
        if (arg[0] != '-' && !ma.data) {
            ma.data = arg;
            continue;
        }
        rest[n_rest++] = argv[i];
        if ((!strcmp(arg, "--set") || !strcmp(arg, "--plugin")) && i + 1 < argc)
            rest[n_rest++] = argv[++i];
    }
    rest[n_rest] = NULL;
    int rc = cli_model_args_check(&ma, cmd);
    if (rc == CLI_OK && !b.out) {
        cli_error("%s: --out FILE.h5 is required (where the results go)", cmd);
        rc = CLI_USAGE;
    }
    cli_pipeline_args pa;
    if (rc == CLI_OK) {
        char usage[8192];
        snprintf(usage, sizeof usage, "%s%s\n%s", usage_head, cli_model_args_help(),
                 cli_pipeline_options_help());
        rc = cli_pipeline_parse(&pa, n_rest, rest, "psqv", 0, usage);
        if (rc < 0)
            rc = CLI_OK; /* --help was printed above already; not reached */
    }
    free(rest);
    if (rc != CLI_OK)
        return rc;

    cli_ini ini = {0};
    int model = !cli_model_args_no_model(&ma);
    cli_ini_comment(&ini, "generated by: tsflow backtest %s --horizon %zu --out %s", ma.data,
                    ma.horizon, b.out);
    cli_ini_model_steps(&ini, &ma);
    cli_ini_section(&ini, "backtest", "backtest");
    cli_ini_put(&ini, "inputs", model ? "data, model.model, split" : "data, split");
    if (!model)
        cli_ini_put(&ini, "horizon", "%zu", ma.horizon);
    if (ma.targets && !model)
        cli_ini_put(&ini, "targets", "%s", ma.targets);
    cli_ini_put(&ini, "impute", "%s", !strcmp(ma.impute, "refuse") ? "none" : ma.impute);
    cli_ini_put(&ini, "seed", "%ld", ma.seed);
    const struct {
        const char *key, *value;
    } opts[] = {{"stride", b.stride}, {"retrain", b.retrain},
                {"window", b.window}, {"train_length", b.train_length},
                {"season", b.season}, {"jobs", b.jobs}};
    for (size_t k = 0; k < sizeof opts / sizeof *opts; k++)
        if (opts[k].value)
            cli_ini_put(&ini, opts[k].key, "%s", opts[k].value);
    if (b.warm_start)
        cli_ini_put(&ini, "warm_start", "true");
    cli_ini_section(&ini, "export", "export.hdf5");
    cli_ini_put(&ini, "inputs",
                model ? "backtest.forecasts, backtest.metrics, backtest.backtest, "
                        "model.history, data"
                      : "backtest.forecasts, backtest.metrics, backtest.backtest, "
                        "data");
    cli_ini_put_quoted(&ini, "path", b.out);
    if (b.csv) {
        cli_ini_section(&ini, "csv", "export.csv");
        cli_ini_put(&ini, "input", "backtest.forecasts");
        cli_ini_put_quoted(&ini, "path", b.csv);
    }
    if (b.plots) {
        cli_ini_section(&ini, "plots", "plot");
        cli_ini_put(&ini, "inputs",
                    model ? "data, backtest.forecasts, model.history" : "data, backtest.forecasts");
        cli_ini_put_quoted(&ini, "prefix", b.plots);
    }
    if (ini.oom) {
        cli_ini_free(&ini);
        cli_pipeline_args_free(&pa);
        cli_error("out of memory");
        return CLI_FAIL;
    }
    if (b.print) {
        fputs(ini.text, stdout);
        cli_ini_free(&ini);
        cli_pipeline_args_free(&pa);
        return CLI_OK;
    }
    tsf_pipeline *pipe = NULL;
    tsf_err err = TSF_ERR_INIT;
    if (tsf_pipeline_parse(&pipe, "tsflow backtest", ".", ini.text, ini.len, &err) != TSF_OK) {
        cli_error("%s", err.msg);
        rc = CLI_FAIL;
    } else {
        rc = cli_pipeline_execute(pipe, &pa, 1);
    }
    tsf_pipeline_free(pipe);
    cli_ini_free(&ini);
    cli_pipeline_args_free(&pa);
    return rc;
}
