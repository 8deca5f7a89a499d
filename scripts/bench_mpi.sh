#!/usr/bin/env bash
# MPI: wall time and speed-up with 1, 2 and 4 ranks (mpirun --oversubscribe: on a machine with
# fewer cores the ranks share them) of
#   - a retrain-always LSTM backtest (tsflow backtest on the weekly CO2 series, a refit per fold,
#     the fits shared out over the ranks),
#   - data-parallel training (tests/mpi/small.ini's network, hidden 32, 10 epochs, shards = 4,
#     without its backtest): the ranks share each batch's parts,
#   - the load benchmark's pipeline (scripts/bench.sh load: LOAD_ROWS rows, default 20 million,
#     of LOAD_SERIES series, default 1,000, generated into LOAD_DIR, default /tmp, and deleted),
#     whose backtest of two baselines the ranks share; every rank reads the whole file.
# Build directory: BUILD_DIR (default build-mpi, configured with -Dmpi=enabled). RANKS lists the
# rank counts (default "1 2 4"). Prints figures; never passes or fails on speed.
#   scripts/bench.sh mpi
#   LOAD_ROWS=2000000 scripts/bench.sh mpi     # a quicker look at the load part
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build-mpi}
scripts/build.sh "$build" -Dmpi=enabled
bin=$build/pipeline/cli/tsflow
export OPENBLAS_NUM_THREADS=1 SOURCE_DATE_EPOCH=1700000000
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mpi=(mpirun --oversubscribe --allow-run-as-root)
bt=(backtest -q datasets/mauna_loa_co2/co2_weekly.csv --horizon 13 --stride 13
    --test-fraction 0.2 --set model.hidden=16 --set model.epochs=5 --retrain always
    --out "$dir/bt.h5")
# small.ini's steps up to the network, without the backtest and the exports
sed -n '/^\[data\]/,/^\[backtest\]/p' tests/mpi/small.ini | sed '$d' |
  sed "s|^path = \.\./\.\./|path = $PWD/|" >"$dir/train.ini"
train=(run -q --set lstm.epochs=10 --set lstm.hidden=32 --set lstm.save="$dir/m.h5" "$dir/train.ini")
seconds() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null; t1=$(date +%s.%N); echo "$t1 - $t0" | bc; }
echo "cores: $(nproc); load average: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-34s %6s %9s %9s\n' work ranks seconds speed-up
for what in backtest training; do
  base=""
  for n in ${RANKS:-1 2 4}; do
    if [ $what = backtest ]; then s=$(seconds "${mpi[@]}" -n $n "$bin" "${bt[@]}")
    else s=$(seconds "${mpi[@]}" -n $n "$bin" "${train[@]}"); fi
    [ -n "$base" ] || base=$s
    label=$([ $what = backtest ] && echo "backtest, LSTM refit every fold" || echo "training, shards = 4")
    printf '%-34s %6d %9.1f %9.2f\n' "$label" $n "$s" "$(echo "$base / $s" | bc -l)"
  done
done
echo
ranks=$(echo ${RANKS:-1 2 4} | tr ' ' ',')
"$build/tests/bench/bench_load" --rows "${LOAD_ROWS:-20000000}" --series "${LOAD_SERIES:-1000}" \
  --tsflow "$bin" --dir "${LOAD_DIR:-/tmp}" --ranks "$ranks"
