#!/usr/bin/env bash
# The tsflow demo: install what is missing, build, then run tsflow's main job on the shipped
# Mauna Loa CO2 series and say where every output went.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh build
tsflow=build/pipeline/cli/tsflow
data=datasets/mauna_loa_co2/co2_weekly.csv
out=${TSFLOW_DEMO_OUT:-out/demo}
mkdir -p "$out"

echo "== tsflow inspect $data"
"$tsflow" inspect "$data"
echo
echo "== tsflow convert $data $out/co2.h5"
"$tsflow" convert "$data" "$out/co2.h5"
"$tsflow" inspect --key data "$out/co2.h5" >/dev/null
echo
echo "outputs:"
echo "  $out/co2.h5   the series as HDF5: pandas.read_hdf('$out/co2.h5', 'data'),"
echo "                or xarray/h5py (plain datasets with named dimensions)"
