#!/usr/bin/env bash
# Run one benchmark: scripts/bench.sh NAME [ARGS...] runs scripts/bench_NAME.sh [ARGS...].
# Benchmarks print figures; they never pass or fail on speed.
set -euo pipefail
cd "$(dirname "$0")/.."
available=$(ls scripts/bench_*.sh 2>/dev/null | sed 's|scripts/bench_||; s|\.sh$||' | tr '\n' ' ')
if [ $# -lt 1 ] || [ ! -f "scripts/bench_$1.sh" ]; then
  echo "usage: scripts/bench.sh NAME [ARGS...] (NAME is one of: ${available:-none})" >&2
  exit 2
fi
name=$1
shift
exec bash "scripts/bench_$name.sh" "$@"
