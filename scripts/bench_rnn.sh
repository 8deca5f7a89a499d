#!/usr/bin/env bash
# Recurrent networks: tsflow against PyTorch (Debian's python3-torch) in one run, same models,
# data and batch: cells rnn/lstm/gru x hidden 32/64/128 x features 1/7, lookback 96, horizon
# 24, batch 64, Adam, clip 1.0 (tests/bench/bench_rnn.c and tests/bench/bench_rnn_torch.py say
# exactly what runs). Prints one TSV row per configuration with training and inference samples
# per second of both and the ratios tsflow / PyTorch, then
#     train ratio (geomean) X, infer ratio (geomean) Y
# and the share of OpenBLAS's sgemm peak that tsflow's training loop reaches.
#
# Both sides use 2 threads: OPENBLAS_NUM_THREADS=2 (tsflow runs that many threads of its own
# over chunks of the batch, each with single-threaded BLAS, see lib/nn/rnn.c; PyTorch's BLAS is
# the same OpenBLAS), torch.set_num_threads(2) for PyTorch's OpenMP pool. PyTorch runs with
# OMP_WAIT_POLICY=PASSIVE: with GOMP's default spin-waiting its idle OpenMP threads compete
# with OpenBLAS's threads for the 2 cores and PyTorch ran up to 10x slower here, so passive is
# the setting that favours it. Every step is timed; a rate is the batch over the lower
# quartile of the step times (the machine is shared: the quartile estimates the undisturbed
# speed without resting on one lucky step).
#   scripts/bench.sh rnn                            # the whole grid, 1.5 s per measurement
#   RNN_BENCH_SECONDS=0.3 RNN_BENCH_ONLY=lstm:64:7 scripts/bench.sh rnn   # a quick look
# Build directory: BUILD_DIR (default build-bench, configured as a release build if new).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build-bench}
if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" -Dbuildtype=release >/dev/null
fi
ninja -C "$build" tests/bench/bench_rnn >/dev/null || ninja -C "$build" tests/bench/bench_rnn
seconds=${RNN_BENCH_SECONDS:-1.5}
export OPENBLAS_NUM_THREADS=2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "# $(date -u '+%Y-%m-%d %H:%M:%S UTC'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
"$build/tests/bench/bench_rnn" --peak-only >"$tmp/tsflow.tsv"
# One configuration at a time, tsflow then PyTorch, so both see the same load on the machine.
for cell in rnn lstm gru; do
  for hidden in 32 64 128; do
    for features in 1 7; do
      key=$cell:$hidden:$features
      if [ -n "${RNN_BENCH_ONLY:-}" ] && [ "$RNN_BENCH_ONLY" != "$key" ]; then
        continue
      fi
      "$build/tests/bench/bench_rnn" --no-peak --seconds "$seconds" --only "$key" |
        tail -n +2 >>"$tmp/tsflow.tsv"
      OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 tests/bench/bench_rnn_torch.py --threads 2 \
        --seconds "$seconds" --only "$key" | tail -n +2 >>"$tmp/torch.tsv"
    done
  done
done
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/python3 - "$tmp/tsflow.tsv" "$tmp/torch.tsv" <<'PY'
import math, sys

def rows(path):
    meta, out = {}, {}
    for line in open(path):
        if line.startswith("# "):
            key, value = line[2:].split()
            meta[key] = float(value)
            continue
        f = line.rstrip("\n").split("\t")
        if f[0] == "cell":
            continue
        out[tuple(f[:3])] = [float(v) for v in f[3:]]
    return meta, out

meta, ours = rows(sys.argv[1])
_, theirs = rows(sys.argv[2])
print("cell\thidden\tfeatures\ttsflow_train_sps\ttorch_train_sps\ttrain_ratio"
      "\ttsflow_infer_sps\ttorch_infer_sps\tinfer_ratio\ttsflow_train_gflops")
lt, li, gf = [], [], []
for key, (tr, inf, gflops) in ours.items():
    ttr, tinf = theirs[key]
    rt, ri = tr / ttr, inf / tinf
    lt.append(math.log(rt))
    li.append(math.log(ri))
    gf.append(gflops)
    print("\t".join(key) + f"\t{tr:.0f}\t{ttr:.0f}\t{rt:.2f}\t{inf:.0f}\t{tinf:.0f}\t{ri:.2f}"
          f"\t{gflops:.1f}")
peak = meta.get("sgemm_peak_gflops", float("nan"))
print(f"# OpenBLAS sgemm peak (1024^3, 2 threads): {peak:.1f} GFLOP/s; tsflow's training "
      f"GEMMs reach {min(gf):.1f}..{max(gf):.1f} GFLOP/s = {100 * min(gf) / peak:.0f}..."
      f"{100 * max(gf) / peak:.0f}% of it (mean {100 * sum(gf) / len(gf) / peak:.0f}%)")
print(f"train ratio (geomean) {math.exp(sum(lt) / len(lt)):.2f}, "
      f"infer ratio (geomean) {math.exp(sum(li) / len(li)):.2f}")
PY
