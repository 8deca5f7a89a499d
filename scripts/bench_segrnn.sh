#!/usr/bin/env bash
# The segment recurrent network: tsflow against PyTorch (Debian's python3-torch) in one run,
# same model (examples/ett's: 7 channels, lookback 720 in segments of 48, horizon 96, GRU,
# parallel decoder, hidden SEGRNN_BENCH_HIDDEN, default 128), data, batch 64, Adam, clip 1.0
# (tests/bench/bench_segrnn.c and bench_segrnn_torch.py). Prints training and inference
# windows per second of both and the ratios tsflow / PyTorch. Both on 2 threads
# (OPENBLAS_NUM_THREADS=2; torch.set_num_threads(2) with OMP_WAIT_POLICY=PASSIVE, as
# scripts/bench_rnn.sh explains). SEGRNN_BENCH_SECONDS per measurement (default 3).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build-bench}
if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" -Dbuildtype=release >/dev/null
fi
ninja -C "$build" tests/bench/bench_segrnn >/dev/null || ninja -C "$build" tests/bench/bench_segrnn
seconds=${SEGRNN_BENCH_SECONDS:-3}
hidden=${SEGRNN_BENCH_HIDDEN:-128}
export OPENBLAS_NUM_THREADS=2
echo "# $(date -u '+%Y-%m-%d %H:%M:%S UTC'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
ours=$("$build/tests/bench/bench_segrnn" --seconds "$seconds" --hidden "$hidden" | tail -1)
theirs=$(OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 tests/bench/bench_segrnn_torch.py --threads 2 \
  --seconds "$seconds" --hidden "$hidden" | tail -1)
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
awk -v a="$ours" -v b="$theirs" 'BEGIN {
  split(a, x, "\t"); split(b, y, "\t")
  print "hidden\ttsflow_train_sps\ttorch_train_sps\ttrain_ratio\ttsflow_infer_sps\ttorch_infer_sps\tinfer_ratio"
  printf "%s\t%.1f\t%.1f\t%.2f\t%.1f\t%.1f\t%.2f\n", x[1], x[2], y[2], x[2] / y[2], x[3], y[3], x[3] / y[3]
}'
