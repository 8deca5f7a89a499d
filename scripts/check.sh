#!/usr/bin/env bash
# The whole test suite: set-up, build, every test in a normal build and in an
# AddressSanitizer + UndefinedBehaviorSanitizer build, the clang-format check, and last a
# line "N passed, N failed" summed over both builds. Exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

scripts/setup.sh || { echo "check: set-up failed"; exit 1; }
export OPENBLAS_NUM_THREADS=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

status=0
builds=(build build-asan)
scripts/build.sh build || status=1
# build-asan also carries the allocation failure hook (-Dalloc_fail=true), so that
# LeakSanitizer checks every run of tests/faults/test_alloc_faults.c for leaks.
scripts/build.sh build-asan -Db_sanitize=address,undefined -Db_lundef=false \
  -Dbuildtype=debug -Dalloc_fail=true || status=1

for b in "${builds[@]}"; do
  echo "== tests: $b"
  rm -f "$b/meson-logs/testlog.json"
  meson test -C "$b" --no-rebuild --print-errorlogs --num-processes 2 || status=1
done

# ---- MPI ----------------------------------------------------------------------------------
# The tsflow command built with MPI (build-mpi; only the command, which the suite runs), then the
# mpi suite: mpirun with 1 to 4 ranks against the serial build's tsflow, byte for byte (about a
# minute of tests on two cores).
echo "== tests: build-mpi (suite mpi)"
if { [ -f build-mpi/build.ninja ] || meson setup build-mpi -Dmpi=enabled >/dev/null; } &&
   ninja -C build-mpi pipeline/cli/tsflow >/dev/null; then
  rm -f build-mpi/meson-logs/testlog.json
  TSF_SERIAL_BIN="$root/build/pipeline/cli/tsflow" \
    meson test -C build-mpi --no-rebuild --print-errorlogs --suite mpi || status=1
else
  echo "check: the MPI build failed (meson setup build-mpi -Dmpi=enabled; ninja -C build-mpi)"
  status=1
fi
# ---- end of MPI ---------------------------------------------------------------------------

echo "== release build (build-bench)"
# The optimized build the benchmarks use (scripts/bench.sh): -O3 finds warnings -O2 does not
# (GCC's stringop checks follow the inlining), and the build is -Werror, so it is compiled here.
scripts/build.sh build-bench -Dbuildtype=release || status=1

echo "== clang-format"
mapfile -t sources < <(git ls-files '*.c' '*.h' 2>/dev/null)
if [ ${#sources[@]} -gt 0 ]; then
  if ! clang-format --dry-run --Werror "${sources[@]}"; then
    echo "check: clang-format found differences (run: clang-format -i \$(git ls-files '*.c' '*.h'))"
    status=1
  fi
fi

echo "== layers"
# The includes of lib/ against lib/layers.txt, then proof that the check still catches each
# kind of violation (on a copy of lib/ with one bad include injected at a time).
if ! /usr/bin/python3 scripts/check_layers.py; then
  echo "check: an include breaks the layers of lib/layers.txt (see above)"
  status=1
fi
if ! out=$(/usr/bin/python3 scripts/check_layers.py --self-test); then
  echo "$out"
  echo "check: the layer check missed an injected violation (see above)"
  status=1
fi
echo "== functions over 100 lines"
# Only the ones scripts/long_functions.allow lists (still to split) may be, and no longer than
# it says; the self-test is the meson test long_functions.
if ! /usr/bin/python3 scripts/long_functions.py --fail --allow scripts/long_functions.allow; then
  echo "check: a function in lib/ or pipeline/ is over 100 lines (split it by responsibility)"
  status=1
fi

# ---- fuzzing ------------------------------------------------------------------------------
# Each libFuzzer harness for 12 s (about a minute in all), in build-fuzz (clang-14, ASan+UBSan);
# scripts/fuzz.sh prints the executions per harness. A crash, leak, hang or out-of-memory in our
# code fails the check (inputs kept under build-fuzz/fuzz-artifacts/).
echo "== fuzz (12 s per harness)"
if ! scripts/fuzz.sh 12; then
  echo "check: fuzzing found a failure (see above; replay with build-fuzz/tests/fuzz/replay_*)"
  status=1
fi
# ---- end of fuzzing -----------------------------------------------------------------------

# Each Criterion executable is one meson test reporting its cases as TAP: count the cases.
/usr/bin/python3 - "$root" "${builds[@]}" build-mpi <<'PY' || status=1
import json, os, re, sys
root, builds = sys.argv[1], sys.argv[2:]
passed = failed = skipped = 0
for b in builds:
    path = os.path.join(root, b, "meson-logs", "testlog.json")
    if not os.path.exists(path):
        print(f"check: {b}: no test log (did the build fail?)")
        failed += 1
        continue
    for line in open(path):
        t = json.loads(line)
        cases = re.findall(r"^(ok|not ok)\b(.*)$", t.get("stdout") or "", re.M)
        if not cases:  # not TAP, or it died before reporting: count the executable
            if t["result"] == "OK": passed += 1
            elif t["result"] == "SKIP": skipped += 1
            else: failed += 1
            continue
        for verdict, rest in cases:
            if "# SKIP" in rest.upper(): skipped += 1
            elif verdict == "ok": passed += 1
            else: failed += 1
        if t["result"] not in ("OK", "SKIP", "EXPECTEDFAIL") and not any(v == "not ok" for v, _ in cases):
            failed += 1  # crashed or timed out after its last report
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed else 0)
PY
exit $status
