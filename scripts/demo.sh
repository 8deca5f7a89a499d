#!/usr/bin/env bash
# The tsflow demo: install what is missing, build, then run the shipped pipeline
# examples/demo.ini on the shipped Mauna Loa CO2 series: ingest the CSV, fill the missing
# weeks, cut windows, normalize, train an LSTM (quantiles, gradient clipping), backtest it
# against the naive and seasonal naive forecasters, export HDF5 and CSV, draw the plots; then
# print the metrics and say where every output went.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
build=${TSFLOW_BUILD_DIR:-build}
scripts/build.sh "$build"
tsflow=$build/pipeline/cli/tsflow
data=datasets/mauna_loa_co2/co2_weekly.csv
out=${TSFLOW_DEMO_OUT:-out/demo}
# The demo's networks are small: BLAS threads cost more than they give there (measured on 2
# cores: the whole pipeline in 15 s with one thread, 23 s with two).
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
mkdir -p "$out"
start=$(date +%s)

echo "== tsflow inspect $data"
"$tsflow" inspect "$data"
echo
echo "== tsflow run examples/demo.ini"
"$tsflow" run examples/demo.ini \
  --set export.path="$out/co2.h5" \
  --set forecasts_csv.path="$out/co2_forecasts.csv" \
  --set metrics_csv.path="$out/co2_metrics.csv" \
  --set plots.prefix="$out/co2"
echo

# The pooled scores of the backtest (original scale, ppm), from the metrics table.
echo "== backtest of 52-week forecasts, one origin a year: pooled over all folds (ppm)"
awk -F, '
  NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
  $col["by"] == "all" && $col["scale"] == "original" && $col["target"] == "all" {
    printf "  %-7s  MAE %6.3f  RMSE %6.3f  MASE %5.3f", $col["model"], $col["mae"],
           $col["rmse"], $col["mase"]
    if ($col["pinball"] != "") printf "  pinball %5.3f  80%% coverage %4.2f", $col["pinball"], $col["coverage"]
    skill = ""
    if ($col["model"] != "naive" && $col["skill_mae_naive"] != "")
      skill = sprintf(" naive %+.2f", $col["skill_mae_naive"])
    if ($col["model"] != "snaive" && $col["skill_mae_snaive"] != "")
      skill = skill sprintf("%s snaive %+.2f", skill == "" ? "" : ",", $col["skill_mae_snaive"])
    printf "  skill vs%s\n", skill
  }' "$out/co2_metrics.csv"
echo "  (skill = 1 - MAE / MAE of the baseline: above 0 is better than it)"
echo "== lstm MAE per fold (origin year):"
awk -F, '
  NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
  $col["by"] == "fold" && $col["scale"] == "original" && $col["target"] == "all" {
    v[$col["model"], $col["key"]] = $col["mae"]; if ($col["key"] + 1 > n) n = $col["key"] + 1
  }
  END {
    printf "  fold   "; for (k = 0; k < n; k++) printf "%7d", k; printf "\n"
    split("lstm naive snaive", ms, " ")
    for (m = 1; m <= 3; m++) {
      printf "  %-7s", ms[m]; for (k = 0; k < n; k++) printf "%7.3f", v[ms[m], k]; printf "\n"
    }
  }' "$out/co2_metrics.csv"
echo
echo "outputs (in $out):"
echo "  co2.h5               everything, with provenance: pandas.read_hdf('$out/co2.h5', 'forecasts')"
echo "                       (also 'metrics', 'folds', 'history/epochs', 'data');"
echo "                       xarray.open_dataset('$out/co2.h5', engine='h5netcdf', group='cube')"
echo "                       for forecast[model, target, series, origin, step, quantile]"
echo "  co2_forecasts.csv    the long forecast table (series, origin, step, target, timestamp, ...)"
echo "  co2_metrics.csv      the metrics table (per model: pooled, per step, series and fold)"
echo "  co2_forecast.png     the last year: history, actuals, the LSTM's median and 80% band"
echo "  co2_backtest.png     every fold's forecasts against the actuals"
echo "  co2_loss.png         training and validation loss per epoch"
echo "  co2_grad_norm.png    the gradient norm of every update, clipped ones marked"
echo "  co2_grad_flow.png    how much gradient reaches each step of the 104-week lookback"
echo "  co2.gp, co2_*.dat    the gnuplot script and data: (cd $out && gnuplot co2.gp) redraws"
echo "demo done in $(( $(date +%s) - start )) s"
