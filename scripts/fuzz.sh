#!/usr/bin/env bash
# Run every libFuzzer harness (tests/fuzz/fuzz_*.c) for SECONDS each (default 60), one after
# the other, and print how many inputs each executed. Exits non-zero when a harness found a
# crash, a leak, a timeout or an out-of-memory; the input is saved under
# build-fuzz/fuzz-artifacts/<harness>/ (keep it in tests/fuzz/regressions/<harness>/ once fixed).
#
#   scripts/fuzz.sh [SECONDS] [HARNESS...]     (harnesses: csv hdf5 pipeline set)
#   scripts/fuzz.sh --long [RUNS] [HARNESS...] a campaign: RUNS executions per harness (default
#                                              10 million; hdf5, in fork mode, runs for
#                                              FUZZ_HDF5_SECONDS, default 24 h), then the corpus
#                                              is minimized into build-fuzz/fuzz-min/<harness>/,
#                                              ready to replace tests/fuzz/seeds/<harness>/
#
# The build directory (FUZZ_BUILD, default build-fuzz) is configured on first use with clang-14,
# AddressSanitizer + UndefinedBehaviorSanitizer and coverage instrumentation of the library.
# FUZZ_SANITIZE=undefined (with its own FUZZ_BUILD) gives a build without AddressSanitizer,
# about twice the executions a second, for stretching a campaign; it misses memory errors that
# do not crash, so report its executions apart. FUZZ_CORPUS (default $FUZZ_BUILD/fuzz-corpus)
# lets two builds grow one corpus.
# The corpus grows across runs in build-fuzz/fuzz-corpus/<harness>/, seeded from the fixtures.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
long=0
if [ "${1:-}" = --long ]; then
  long=1
  shift
  runs_wanted=10000000
  if [[ ${1:-} =~ ^[0-9]+$ ]]; then
    runs_wanted=$1
    shift
  fi
  secs=${FUZZ_HDF5_SECONDS:-86400}
else
  secs=${1:-60}
  shift || true
fi
harnesses=("$@")
[ ${#harnesses[@]} -gt 0 ] || harnesses=(csv hdf5 pipeline set)
b=${FUZZ_BUILD:-build-fuzz}
sanitize=${FUZZ_SANITIZE:-address,undefined}
corpora=${FUZZ_CORPUS:-$b/fuzz-corpus}

if [ ! -f "$b/build.ninja" ]; then
  if ! CC=clang-14 meson setup "$b" -Dfuzz=true -Db_sanitize="$sanitize" -Db_lundef=false \
      -Dbuildtype=debugoptimized -Dc_args=-fsanitize=fuzzer-no-link >"$b.setup.log" 2>&1; then
    cat "$b.setup.log" >&2
    echo "fuzz: meson setup $b failed" >&2
    exit 1
  fi
  rm -f "$b.setup.log"
fi
targets=()
for h in "${harnesses[@]}"; do targets+=("tests/fuzz/fuzz_$h"); done
log=$(mktemp)
# the harnesses' scratch files (libFuzzer may end them before their own clean-up runs)
scratch_base=/tmp
[ -d /dev/shm ] && scratch_base=/dev/shm
export TSF_FUZZ_SCRATCH=$(mktemp -d "$scratch_base/tsflow-fuzz-XXXXXX")
trap 'rm -f "$log"; rm -rf "$TSF_FUZZ_SCRATCH"' EXIT
for h in "${harnesses[@]}"; do targets+=("tests/fuzz/replay_$h"); done
if ! ninja -C "$b" -j2 "${targets[@]}" tests/fuzz/hdf5_seeds.stamp pipeline/cli/tsflow >"$log" 2>&1; then
  grep -v '^\[' "$log" >&2
  echo "fuzz: build failed" >&2
  exit 1
fi

export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1
export LSAN_OPTIONS=suppressions=$root/tests/fuzz/lsan.supp:print_suppressions=0
export OPENBLAS_NUM_THREADS=1

# Seed corpus directories (read-only extra corpora given after the growing one).
seeds_of() {
  case $1 in
    csv) echo "$root/tests/fixtures/csv $root/tests/fuzz/seeds/csv $root/tests/fuzz/regressions/csv" ;;
    hdf5)
      local s="$b/fuzz-seeds/hdf5"
      if [ ! -d "$s" ]; then
        mkdir -p "$s"
        cp "$b"/tests/fuzz/hdf5_seeds/*.h5 "$s"/ 2>/dev/null
        # files written by tsflow itself
        for f in "$root"/tests/fixtures/csv/wide.csv "$root"/tests/fixtures/csv/long_interleaved.csv; do
          "$b/pipeline/cli/tsflow" convert --id-column station "$f" "$s/tsflow_$(basename "$f" .csv).h5" \
            >/dev/null 2>&1 || "$b/pipeline/cli/tsflow" convert "$f" "$s/tsflow_$(basename "$f" .csv).h5" \
            >/dev/null 2>&1
        done
      fi
      echo "$s $root/tests/fuzz/regressions/hdf5" ;;
    pipeline)
      local s="$b/fuzz-seeds/pipeline"
      mkdir -p "$s"
      cp "$root"/examples/*.ini "$root"/tests/fixtures/pipelines/*.ini "$s"/ 2>/dev/null
      echo "$s $root/tests/fuzz/seeds/pipeline $root/tests/fuzz/regressions/pipeline" ;;
    set) echo "$root/tests/fuzz/seeds/set $root/tests/fuzz/regressions/set" ;;
  esac
}
# The INI dictionary: tests/fuzz/ini.dict plus every stage and option name the registry has.
ini_dict() {
  local d="$b/fuzz-seeds/ini.dict" tsflow="$b/pipeline/cli/tsflow" st
  cp "$root/tests/fuzz/ini.dict" "$d"
  for st in $("$tsflow" stages 2>/dev/null | awk '/^  [a-z]/ {print $1}'); do
    echo "\"$st\"" >>"$d"
    "$tsflow" help "$st" 2>/dev/null | sed -n 's/^  \([a-z_0-9]*\) = .*/"\1"/p' >>"$d"
  done
  sort -u "$d" -o "$d"
  echo "$d"
}
flags_of() {
  case $1 in
    csv) echo "-dict=$root/tests/fuzz/csv.dict -max_len=4096" ;;
    hdf5) echo "-max_len=16384" ;;
    # libFuzzer's entropic schedule re-weighs every rare feature at each new input: with the
    # 27,000 features of a pipeline check that was two thirds of the time (3.4x fewer
    # executions, and less coverage after 150 s, than the plain schedule). With --set's 11,000
    # features it pays (1,450 executions a second against 800 with the plain one).
    pipeline) echo "-dict=$(ini_dict) -max_len=4096 -entropic=0" ;;
    set) echo "-dict=$(ini_dict) -max_len=4096" ;;
  esac
}

# Where a crash happened: "ours" (our code, or a broken invariant), "libhdf5" (inside the HDF5
# library on corrupt metadata: a known limit of libhdf5 1.10, see tests/fuzz/README.md), "slow"
# (a slow input, not a failure) or "flaky" (does not reproduce alone). Replays the input with the
# single-threaded replay_<harness>; a hang is interrupted with SIGSEGV so that AddressSanitizer
# prints where it was; an out-of-memory is replayed by the fuzzer with its malloc limit.
classify() {
  local h=$1 f=$2 out frame
  case $(basename "$f") in
    slow-unit-*) echo slow; return ;;
    oom-*) out=$("$b/tests/fuzz/fuzz_$h" -rss_limit_mb=2048 -malloc_limit_mb=2048 "$f" 2>&1) ;;
    *) out=$(timeout -s SEGV 12 "$b/tests/fuzz/replay_$h" "$f" 2>&1) ;;
  esac
  if grep -q 'invariant broken' <<<"$out"; then echo ours; return; fi
  if ! grep -qE 'ERROR|SUMMARY' <<<"$out"; then echo flaky; return; fi
  frame=$(grep -E '^ +#[0-9]+ ' <<<"$out" |
    grep -vE '__interceptor_|__asan|__sanitizer|fuzzer::|libclang_rt|/libc\.so|libc_start|nptl/|string/\.\./|sysdeps/| in (malloc|calloc|realloc|free|operator new)' |
    head -1)
  case $frame in
    *libhdf5*) echo libhdf5 ;;
    *) echo ours ;;
  esac
}

status=0
summary=()
for h in "${harnesses[@]}"; do
  t0=$SECONDS
  corpus="$corpora/$h"
  art="$b/fuzz-artifacts/$h"
  mkdir -p "$corpus" "$art" "$b/fuzz-seeds"
  if [ "$h" = hdf5 ]; then
    # libhdf5 itself crashes and hangs on some corrupt files: keep fuzzing past those (fork
    # mode), then sort what was found by where it happened.
    run_art=$(mktemp -d "$b/fuzz-artifacts/hdf5/run-XXXXXX")
    # shellcheck disable=SC2046
    "$b/tests/fuzz/fuzz_$h" $(flags_of "$h") -fork=1 -ignore_crashes=1 -ignore_timeouts=1 \
      -ignore_ooms=1 -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="$run_art/" "$corpus" $(seeds_of "$h") >"$log" 2>&1
    rc=$?
    runs=$(grep -oE '^#[0-9]+:' "$log" | tail -1 | tr -d '#:')
    cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
    ours=0
    lib=0
    other=0
    for f in "$run_art"/*; do
      [ -f "$f" ] || continue
      c=$(classify "$h" "$f")
      case $c in
        ours)
          ours=$((ours + 1))
          mv "$f" "$art/"
          echo "fuzz: hdf5: $(basename "$f") fails in our code: replay with $b/tests/fuzz/replay_hdf5 $art/$(basename "$f")" >&2 ;;
        libhdf5) lib=$((lib + 1)); mkdir -p "$art/libhdf5"; mv "$f" "$art/libhdf5/" ;;
        *) other=$((other + 1)); mkdir -p "$art/$c"; mv "$f" "$art/$c/" ;;
      esac
    done
    rmdir "$run_art" 2>/dev/null
    # fork mode exits non-zero after ignored failures: judge by the sorted inputs instead
    if [ $ours -gt 0 ] || [ -z "$runs" ]; then
      status=1
      [ -n "$runs" ] || tail -20 "$log" >&2
      summary+=("$h: FAILED: ${runs:-?} executions, $ours inputs failing in our code (exit $rc); inputs in $art/")
    else
      summary+=("$h: ${runs} executions in $((SECONDS - t0))s, coverage ${cov:-?} edges, no failure in our code; $lib inputs crash, hang or exhaust memory inside libhdf5 ($art/libhdf5/), $other slow or not reproducible")
    fi
    continue
  fi
  limit=(-max_total_time="$secs")
  [ $long = 1 ] && limit=(-runs="$runs_wanted")
  # shellcheck disable=SC2046
  "$b/tests/fuzz/fuzz_$h" $(flags_of "$h") "${limit[@]}" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$art/" "$corpus" $(seeds_of "$h") >"$log" 2>&1
  rc=$?
  if [ $long = 1 ] && [ $rc -eq 0 ]; then
    # the smallest corpus with the same coverage, to commit as the seeds of CI's short run
    min="$b/fuzz-min/$h"
    rm -rf "$min"
    mkdir -p "$min"
    # shellcheck disable=SC2046
    "$b/tests/fuzz/fuzz_$h" $(flags_of "$h") -merge=1 "$min" "$corpus" $(seeds_of "$h") \
      >"$log.merge" 2>&1
    echo "fuzz: $h: corpus minimized to $(ls "$min" | wc -l) inputs in $min (copy them to tests/fuzz/seeds/$h/)" >&2
    rm -f "$log.merge"
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
  if [ $rc -ne 0 ]; then
    status=1
    grep -E 'ERROR|SUMMARY|invariant|Test unit written' "$log" | head -20 >&2
    summary+=("$h: FAILED after ${runs:-?} executions (exit $rc); inputs in $art/")
  else
    summary+=("$h: ${runs:-?} executions in $((SECONDS - t0))s, coverage ${cov:-?} edges, corpus $(ls "$corpus" | wc -l) inputs, no crash")
  fi
done
echo "== fuzz summary"
printf '%s\n' "${summary[@]}"
exit $status
