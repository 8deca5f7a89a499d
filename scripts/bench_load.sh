#!/usr/bin/env bash
# Load: a long-format CSV of LOAD_SERIES series (default 1,000) and LOAD_ROWS rows (default
# 20 million, about 0.7 GB) generated into a temporary directory (LOAD_DIR, default /tmp) and
# deleted afterwards; ingested by tsflow inspect, then run through a pipeline (window, seasonal
# naive baseline, metrics, baseline backtest). Prints each command's time and peak RSS against
# the frame's size. Build directory: BUILD_DIR (default build).
#   scripts/bench.sh load
#   LOAD_ROWS=2000000 scripts/bench.sh load     # a quicker look
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
scripts/build.sh "$build"
exec "$build/tests/bench/bench_load" --rows "${LOAD_ROWS:-20000000}" \
  --series "${LOAD_SERIES:-1000}" --tsflow "$build/pipeline/cli/tsflow" --dir "${LOAD_DIR:-/tmp}"
