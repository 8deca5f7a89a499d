/* tsflow forecast: train a recurrent network on a CSV file and forecast the next horizon rows of
 * every series, without writing a pipeline file. Builds the pipeline a user would write
 * (cli_build.h's shared steps with no test part, then [forecast], [save], [export], [csv]) and
 * runs it like `tsflow run`; --print-pipeline prints it instead, so users can graduate to
 * files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_build.h"
#include "cli_pipeline.h"

static const char usage_head[] =
    "usage: tsflow forecast [OPTIONS] DATA.csv --horizon N --out FILE.h5\n\n"
    "Train a recurrent network on DATA.csv and forecast the next N rows after the end of\n"
    "every series, in the data's own units. The last --val-fraction of each series validates\n"
    "the network (early stopping, and the calibration of --quantiles), the rest trains it\n"
    "(there is no test part: see tsflow backtest to score a model); missing values are filled\n"
    "(--impute), the targets z-scored on the training rows. Where a series has a season,\n"
    "the network forecasts it seasonally adjusted and the season is put back (--deseason\n"
    "auto, as backtest refits do; the saved model keeps the indices). --ensemble N trains N\n"
    "networks and --save-model keeps them all.\n"
    "Writes the forecasts and the training history to FILE.h5 (pandas.read_hdf(FILE,\n"
    "'forecasts'); xarray group 'cube'). The steps: data, split, filled, norm, train, val,\n"
    "model, forecast, export (and save, csv); --set STEP.KEY=VALUE changes any of their\n"
    "options, --print-pipeline prints them as a pipeline file for tsflow run.\n\n"
    "output:\n"
    "  --out FILE.h5          the HDF5 file to write (required)\n"
    "  --csv FILE.csv         also the forecasts as CSV (the long table)\n"
    "  --save-model FILE.h5   also the trained model, which model.load reads to forecast\n"
    "                         again without training\n"
    "  --print-pipeline       print the generated pipeline and exit\n\n"
    "data:\n"
    "  --season M             rows per season for the default lookback and --deseason\n"
    "                         (default: from the frequency; needed for an integer index)\n\n";

int cmd_forecast(int argc, char **argv)
{
    const char *cmd = "forecast";
    cli_model_args ma;
    cli_model_args_init(&ma);
    ma.test_fraction = 0; /* forecasting the future: every row trains or validates */
    const char *out = NULL, *csv = NULL, *save = NULL, *season = NULL;
    int print = 0;
    const cli_flag flags[] = {{"--out", &out, NULL},
                              {"--csv", &csv, NULL},
                              {"--save-model", &save, NULL},
                              {"--season", &season, NULL},
                              {"--print-pipeline", NULL, &print}};
    cli_pipeline_args pa;
    int rc = cli_command_parse(cmd, argc, argv, usage_head, &ma, flags,
                               sizeof flags / sizeof *flags, &pa);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    if (!out) {
        cli_error("%s: --out FILE.h5 is required (where the forecasts go)", cmd);
        rc = CLI_USAGE;
    } else if (cli_model_args_no_model(&ma)) {
        cli_error("%s: --model none leaves nothing to forecast with (expected lstm, gru, rnn or "
                  "rnn_relu; baselines are scored by tsflow backtest)",
                  cmd);
        rc = CLI_USAGE;
    }
    if (rc != CLI_OK) {
        cli_pipeline_args_free(&pa);
        return rc;
    }

    cli_ini ini = {0};
    cli_ini_command_line(&ini, cmd, argc, argv);
    ma.season = season;
    cli_ini_model_steps(&ini, &ma);
    cli_ini_comment(&ini, "the %zu rows after the end of every series, in the data's units",
                    ma.horizon);
    cli_ini_section(&ini, "forecast", "predict");
    cli_ini_put(&ini, "inputs", "model, filled");
    if (save) {
        cli_ini_section(&ini, "save", "model.save");
        cli_ini_put(&ini, "input", "model");
        cli_ini_put_quoted(&ini, "path", save);
    }
    cli_ini_section(&ini, "export", "export.hdf5");
    cli_ini_put(&ini, "inputs", "forecast, model, model.history, data");
    cli_ini_put_quoted(&ini, "path", out);
    if (csv) {
        cli_ini_section(&ini, "csv", "export.csv");
        cli_ini_put(&ini, "inputs", "forecast, data");
        cli_ini_put_quoted(&ini, "path", csv);
    }
    return cli_command_finish(cmd, &ini, &pa, print);
}
