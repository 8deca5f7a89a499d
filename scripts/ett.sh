#!/usr/bin/env bash
# The ETT long-horizon benchmark with the segment recurrent network of examples/ett/:
#     scripts/ett.sh [--seeds N] [--validation] [DATASETS] [HORIZONS]
# DATASETS: comma-separated, from ETTh1,ETTh2,ETTm1,ETTm2 (default all four); HORIZONS:
# comma-separated (default 96,192,336,720). Each cell trains and scores one run per seed
# (seeds 1..N, default 1) and prints the test MSE and MAE (multivariate, normalized scale: the
# protocol of examples/ett_repeat.ini) as the mean and, with N > 1, the standard deviation over
# seeds, the mean wall time of a run, and the published MSE of DLinear, PatchTST/42 (lookback
# 336, their papers) and SegRNN (lookback 720, its paper). A cell's settings beyond its
# pipeline file come from examples/ett/settings.txt (chosen there on the validation part) and
# are printed after its row. --validation scores the validation part instead of the test part
# (what those settings were chosen on; no published numbers beside it). Needs the datasets in
# ../shared/datasets/ett and a build (scripts/build.sh build).
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=1
part=test
while [ $# -gt 0 ]; do
  case "$1" in
  --seeds)
    seeds=${2:?--seeds needs a number}
    shift 2
    ;;
  --validation)
    part=validation
    shift
    ;;
  *) break ;;
  esac
done
datasets=${1:-ETTh1,ETTh2,ETTm1,ETTm2}
horizons=${2:-96,192,336,720}
tsflow=build/pipeline/cli/tsflow
[ -x "$tsflow" ] || { echo "ett.sh: build first (scripts/build.sh build)" >&2; exit 2; }

# published multivariate MSE at 96/192/336/720: DLinear, PatchTST/42, SegRNN
published() {
  case "$1" in
  ETTh1) echo "0.375 0.405 0.439 0.472|0.375 0.414 0.431 0.449|0.341 0.385 0.401 0.434" ;;
  ETTh2) echo "0.289 0.383 0.448 0.605|0.274 0.339 0.331 0.379|0.263 0.321 0.325 0.394" ;;
  ETTm1) echo "0.299 0.335 0.369 0.425|0.290 0.332 0.366 0.420|0.282 0.319 0.349 0.410" ;;
  ETTm2) echo "0.167 0.224 0.281 0.397|0.165 0.220 0.278 0.367|0.158 0.215 0.263 0.330" ;;
  *) echo "ett.sh: unknown dataset $1 (expected ETTh1, ETTh2, ETTm1 or ETTm2)" >&2; exit 2 ;;
  esac
}
# the --set options of a cell from examples/ett/settings.txt ("DATASET HORIZON key=value ...")
settings_of() {
  awk -v ds="$1" -v h="$2" '$1 == ds && $2 == h { for (i = 3; i <= NF; i++) printf "%s ", $i }' \
    examples/ett/settings.txt
}
column_of() { case "$1" in 96) echo 1 ;; 192) echo 2 ;; 336) echo 3 ;; 720) echo 4 ;; *) echo 0 ;; esac; }

log=$(mktemp)
trap 'rm -f "$log"' EXIT
if [ "$part" = test ]; then
  printf '%-6s %7s  %-17s %-17s %8s   %8s %8s %8s\n' dataset horizon "MSE (sd)" "MAE (sd)" "time/s" \
    DLinear PatchTST SegRNN
else
  printf '%-6s %7s  %-17s %-17s %8s   (validation part)\n' dataset horizon "MSE (sd)" "MAE (sd)" "time/s"
fi
for ds in ${datasets//,/ }; do
  pub=$(published "$ds")
  for h in ${horizons//,/ }; do
    results=""
    extra=()
    for kv in $(settings_of "$ds" "$h"); do
      extra+=(--set "$kv")
    done
    for ((s = 1; s <= seeds; s++)); do
      t0=$(date +%s.%N)
      if ! "$tsflow" run "examples/ett/$ds.ini" --set "train.horizon=$h" --set "val.horizon=$h" \
        --set "test.horizon=$h" --set "test.part=$part" --set "model.seed=$s" ${extra[@]+"${extra[@]}"} \
        >"$log" 2>&1; then
        echo "ett.sh: $ds horizon $h seed $s failed:" >&2
        tail -5 "$log" >&2
        exit 1
      fi
      t1=$(date +%s.%N)
      # "score: segrnn (... points): mae A ... mse B ..."
      line=$(tr '\r' '\n' <"$log" | grep -E 'score: segrnn .* mse ' | tail -1)
      mae=$(sed -E 's/.* mae ([0-9.eE+-]+).*/\1/' <<<"$line")
      mse=$(sed -E 's/.* mse ([0-9.eE+-]+).*/\1/' <<<"$line")
      results+="$mse $mae $(echo "$t1 - $t0" | bc) "
    done
    c=$(column_of "$h")
    awk -v ds="$ds" -v h="$h" -v r="$results" -v pub="$pub" -v c="$c" -v test="$([ "$part" = test ] && echo 1)" \
      -v set="$(settings_of "$ds" "$h")" 'BEGIN {
      n = split(r, v, " ") / 3
      for (i = 0; i < n; i++) { a += v[3*i+1]; b += v[3*i+2]; t += v[3*i+3] }
      a /= n; b /= n; t /= n
      for (i = 0; i < n; i++) { sa += (v[3*i+1] - a)^2; sb += (v[3*i+2] - b)^2 }
      sa = n > 1 ? sqrt(sa / (n - 1)) : 0; sb = n > 1 ? sqrt(sb / (n - 1)) : 0
      split(pub, p, "|")
      for (k = 1; k <= 3; k++) { split(p[k], q, " "); pv[k] = c ? q[c] : "-" }
      printf "%-6s %7d  %.4f (%.4f)   %.4f (%.4f)   %8.0f", ds, h, a, sa, b, sb, t
      if (test) printf "   %8s %8s %8s", pv[1], pv[2], pv[3]
      printf "%s\n", set != "" ? "   + " set : ""
    }'
  done
done
