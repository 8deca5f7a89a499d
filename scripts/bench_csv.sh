#!/usr/bin/env bash
# CSV reading speed and memory: tsflow's tsf_csv_read against pandas.read_csv, in one run, on
# ETTm1 and on an ETT-like CSV of about CSV_BENCH_MB megabytes (default 500) generated into a
# temporary directory and deleted afterwards. Prints each reader's best time of CSV_BENCH_RUNS
# (default 3), the throughput ratio and both peak RSS figures (each read runs in its own
# process; RSS from wait4). Build directory: BUILD_DIR (default build).
#   scripts/bench.sh csv                       # ETTm1 + 500 MB
#   CSV_BENCH_MB=50 scripts/bench.sh csv       # a quicker look
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
scripts/build.sh "$build"
ett=../shared/datasets/ett/ETTm1.csv
files=()
if [ -f "$ett" ]; then
  files+=("$ett")
else
  echo "bench_csv: $ett is absent: benchmarking the generated file only" >&2
fi
exec "$build/tests/bench/bench_csv" --runs "${CSV_BENCH_RUNS:-3}" \
  --generate-mb "${CSV_BENCH_MB:-500}" "${files[@]}"
