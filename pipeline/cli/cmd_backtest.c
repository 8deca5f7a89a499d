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
    "DATA.csv: forecast origins every --stride rows (periods) through the test part of each\n"
    "series (the last --test-fraction), each forecast made by a network refitted on the rows\n"
    "before its origin only (imputation and scaling too); with timestamps the cutoffs are\n"
    "instants shared by all series, so no fit sees any series past its cutoff. Writes the "
    "forecasts, the metrics (with\n"
    "skill against the baselines), the folds' fit windows and training histories to\n"
    "FILE.h5 (pandas.read_hdf(FILE, 'forecasts'), 'metrics'; xarray group 'cube') and\n"
    "prints the pooled scores. The steps: data, split, filled, norm, train, val, model,\n"
    "backtest, export (and csv, plots); --set STEP.KEY=VALUE changes any of their options.\n\n"
    "output:\n"
    "  --out FILE.h5          the HDF5 file to write (required)\n"
    "  --csv FILE.csv         also the long forecast table as CSV\n"
    "  --metrics-csv FILE.csv also the metrics table as CSV (per fold with its cutoff)\n"
    "  --plots PREFIX         also PNG plots (gnuplot): PREFIX_backtest.png, ...\n"
    "  --print-pipeline       print the generated pipeline and exit\n\n"
    "backtest:\n"
    "  --origins KIND         times (default with timestamps): cutoff instants shared by\n"
    "                         all series, no fit sees a row of any series after its\n"
    "                         cutoff; rows: row offsets in each series (aligned series)\n"
    "  --first-origin X       the first origin: a time (2020-11-01) or a row/period offset\n"
    "                         (a time without offset is a local time of the data's --tz)\n"
    "  --end X                forecasts end before X: a time (2021-01-01) or a row/period\n"
    "                         offset (default: the data's end)\n"
    "  --stride N             rows (periods) between origins (default: the horizon)\n"
    "  --retrain RULE         always (default), never, or every N folds\n"
    "  --window KIND          expanding (default) or sliding (over --train-length rows)\n"
    "  --train-length N       rows (periods) before the first origin, and the sliding\n"
    "                         window's length; with times also a duration (365D, 12MS)\n"
    "                         (default: origins start with the test part)\n"
    "  --warm-start           refits continue from the previous fit's weights\n"
    "  --season M             rows per season for snaive, ets, theta and MASE (default:\n"
    "                         from the frequency; needed for an integer index)\n"
    "  --baselines LIST       naive, snaive, drift, mean, ets, theta (default: naive,\n"
    "                         snaive); ets and theta are refitted at every origin\n"
    "  --jobs N               threads (default 1); results do not depend on it\n\n"
    "The model step only holds the recipe (fit = false): nothing is trained before the\n"
    "backtest, whose fit at fold g trains with --seed + g, choosing what the flags leave\n"
    "unset from its own windows and stopping early on the last tenth of them (with\n"
    "--quantiles on the tenth before, and the last calibrates, unless --calibrate none);\n"
    "so --val-fraction defaults to 0 here. Refits forecast the seasonally adjusted series\n"
    "where the data has a season (--deseason auto), as tsflow forecast's model does.\n"
    "--ensemble N: every refit trains N networks.\n\n";

typedef struct bt_args {
    const char *out, *csv, *metrics_csv, *plots, *stride, *retrain, *window, *train_length, *season,
        *jobs, *baselines, *origins, *first_origin, *end;
    int warm_start, print;
} bt_args;

int cmd_backtest(int argc, char **argv)
{
    const char *cmd = "backtest";
    cli_model_args ma;
    cli_model_args_init(&ma);
    bt_args b = {0};
    const cli_flag flags[] = {{"--out", &b.out, NULL},
                              {"--csv", &b.csv, NULL},
                              {"--metrics-csv", &b.metrics_csv, NULL},
                              {"--plots", &b.plots, NULL},
                              {"--stride", &b.stride, NULL},
                              {"--retrain", &b.retrain, NULL},
                              {"--window", &b.window, NULL},
                              {"--train-length", &b.train_length, NULL},
                              {"--origins", &b.origins, NULL},
                              {"--first-origin", &b.first_origin, NULL},
                              {"--end", &b.end, NULL},
                              {"--season", &b.season, NULL},
                              {"--jobs", &b.jobs, NULL},
                              {"--baselines", &b.baselines, NULL},
                              {"--warm-start", NULL, &b.warm_start},
                              {"--print-pipeline", NULL, &b.print}};
    cli_pipeline_args pa;
    int rc = cli_command_parse(cmd, argc, argv, usage_head, &ma, flags,
                               sizeof flags / sizeof *flags, &pa);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    if (!b.out) {
        cli_error("%s: --out FILE.h5 is required (where the results go)", cmd);
        cli_pipeline_args_free(&pa);
        return CLI_USAGE;
    }

    cli_ini ini = {0};
    int model = !cli_model_args_no_model(&ma);
    cli_ini_command_line(&ini, cmd, argc, argv);
    ma.season = b.season;
    /* nothing trains before the backtest, and every refit holds out its own validation tail:
     * a validation part would only take rows from the first fit's lookback choice */
    if (!ma.val_fraction_given)
        ma.val_fraction = 0;
    cli_ini_model_steps(&ini, &ma);
    if (model) /* the backtest refits the model at every fold: a first fit would be wasted */
        cli_ini_put(&ini, "fit", "false");
    cli_ini_section(&ini, "backtest", "backtest");
    cli_ini_put(&ini, "inputs", model ? "data, model.model, split" : "data, split");
    if (!model)
        cli_ini_put(&ini, "horizon", "%zu", ma.horizon);
    if (ma.targets && !model)
        cli_ini_put(&ini, "targets", "%s", ma.targets);
    cli_ini_put(&ini, "impute", "%s", !strcmp(ma.impute, "refuse") ? "none" : ma.impute);
    const struct {
        const char *key, *value;
    } opts[] = {{"stride", b.stride},
                {"retrain", b.retrain},
                {"window", b.window},
                {"train_length", b.train_length},
                {"season", b.season},
                {"jobs", b.jobs},
                {"baselines", b.baselines},
                {"origins", b.origins},
                {"first_origin", b.first_origin},
                {"end", b.end}};
    for (size_t k = 0; k < sizeof opts / sizeof *opts; k++)
        if (opts[k].value)
            cli_ini_put(&ini, opts[k].key, "%s", opts[k].value);
    if (b.warm_start)
        cli_ini_put(&ini, "warm_start", "true");
    cli_ini_section(&ini, "export", "export.hdf5");
    cli_ini_put(&ini, "inputs", "backtest.forecasts, backtest.metrics, backtest.backtest, data");
    cli_ini_put_quoted(&ini, "path", b.out);
    if (b.csv) {
        cli_ini_section(&ini, "csv", "export.csv");
        cli_ini_put(&ini, "inputs", "backtest.forecasts, data");
        cli_ini_put_quoted(&ini, "path", b.csv);
    }
    if (b.metrics_csv) {
        cli_ini_section(&ini, "metrics_csv", "export.csv");
        cli_ini_put(&ini, "input", "backtest.metrics");
        cli_ini_put_quoted(&ini, "path", b.metrics_csv);
    }
    if (b.plots) {
        cli_ini_section(&ini, "plots", "plot");
        cli_ini_put(&ini, "inputs",
                    model ? "data, backtest.forecasts, backtest.backtest"
                          : "data, backtest.forecasts");
        cli_ini_put_quoted(&ini, "prefix", b.plots);
    }
    return cli_command_finish(cmd, &ini, &pa, b.print);
}
