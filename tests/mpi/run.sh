#!/usr/bin/env bash
# The MPI tests, as TAP: `mpirun -n 1..4 tsflow ...` writes files byte for byte the same as one
# process (the serial build's tsflow when TSF_SERIAL_BIN names it, as scripts/check.sh does,
# else this build run without mpirun); a checkpoint written under -n 2 resumes under -n 3 or in
# one process to the bytes of an uninterrupted run; a failing rank ends the run naming itself and
# nothing is written; Ctrl-C or SIGTERM to mpirun stops every rank and leaves no file behind, nor
# a temporary. Criterion is not used
# here: its workers fork and re-execute the test program, which an MPI rank cannot do.
# Environment (set by meson): TSFLOW_BIN, TSF_SOURCE_ROOT, TSF_MPI_BUILT.
set -u
if [ "${TSF_MPI_BUILT:-0}" != 1 ]; then
  echo "1..0 # SKIP built without MPI (configure a build with meson setup -Dmpi=enabled)"
  exit 0
fi
if ! command -v mpirun >/dev/null; then
  echo "1..0 # SKIP mpirun not found (apt-get install openmpi-bin)"
  exit 0
fi
src=$TSF_SOURCE_ROOT
bin=$TSFLOW_BIN
ref_bin=${TSF_SERIAL_BIN:-$bin}
export SOURCE_DATE_EPOCH=1700000000 OPENBLAS_NUM_THREADS=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
out=$work/out # every run writes here, so that paths recorded in the files agree
mpi=(mpirun --oversubscribe --allow-run-as-root)
n_test=0
failed=0
ok() { n_test=$((n_test + 1)); echo "ok $n_test - $1"; }
not_ok() {
  n_test=$((n_test + 1))
  failed=1
  echo "not ok $n_test - $1"
  shift
  for line in "$@"; do echo "# $line"; done
}

pipe_opts=(run -q --set "lstm.save=$out/model.h5" --set "export.path=$out/out.h5"
           --set "forecasts_csv.path=$out/f.csv")
pipe_args=("${pipe_opts[@]}" "$src/tests/mpi/small.ini")
bt_args=(backtest -q "$src/datasets/mauna_loa_co2/co2_weekly.csv" --horizon 8 --stride 26
         --test-fraction 0.15 --set model.hidden=8 --set model.epochs=2 --set model.shards=4
         --retrain "every 2" --out "$out/bt.h5" --csv "$out/bt.csv")

# Run "$@" writing into $out, then keep $out as $work/$name.
run_into() {
  local name=$1
  shift
  rm -rf "$out" && mkdir -p "$out"
  "$@" >"$work/$name.log" 2>&1
  local rc=$?
  mv "$out" "$work/$name"
  return $rc
}

# Whether directory $1 holds the same files as $2, byte for byte; lists the differences. The
# training checkpoint records each epoch's wall time even under SOURCE_DATE_EPOCH: it is compared
# value for value (h5diff: exact, no tolerance) without /history/seconds.
same_files() {
  local a=$1 b=$2 f diff=""
  for f in $(ls "$a"); do
    if [ "$f" = model.h5 ]; then
      h5diff -q --exclude-path /history/seconds "$a/$f" "$b/$f" >/dev/null 2>&1 || diff="$diff $f"
    else
      cmp -s "$a/$f" "$b/$f" || diff="$diff $f"
    fi
  done
  [ "$(ls "$a")" = "$(ls "$b")" ] || diff="$diff (the lists of files differ)"
  [ -z "$diff" ] || { echo "$diff"; return 1; }
}

echo "1..14"

if run_into ref "$ref_bin" "${pipe_args[@]}" && [ -s "$work/ref/out.h5" ]; then
  ok "one process runs the pipeline (reference: $(basename "$(dirname "$(dirname "$(dirname "$ref_bin")")")"))"
else
  not_ok "one process runs the pipeline" "$(tail -5 "$work/ref.log")"
fi

# Data-parallel training (shards = 4: ranks own whole batch parts) and a backtest whose fits are
# spread over the ranks: the model checkpoint, the HDF5 export and the CSV agree for any N.
for n in 1 2 3 4; do
  if run_into "n$n" "${mpi[@]}" -n $n "$bin" "${pipe_args[@]}"; then
    if d=$(same_files "$work/ref" "$work/n$n"); then
      ok "mpirun -n $n writes the same bytes (weights, forecasts, histories) as one process"
    else
      not_ok "mpirun -n $n writes the same bytes as one process" "differ:$d"
    fi
  else
    not_ok "mpirun -n $n runs the pipeline" "$(tail -5 "$work/n$n.log")"
  fi
done

# Whether HDF5 files $1 and $2 hold the same data and attributes, exactly, but for the root's
# "overrides" (the --set options of the run, which a resumed run has more of); lists what differs.
same_but_overrides() {
  h5diff -q --exclude-attribute / "$1" "$2" >/dev/null 2>&1 || { echo "(data)"; return 1; }
  /usr/bin/python3 - "$1" "$2" <<'PY'
import sys
import h5py
import numpy as np
def same(x, y):  # bit for bit (NaN equals NaN)
    x, y = np.asarray(x), np.asarray(y)
    if x.dtype == object or y.dtype == object:
        return x.tolist() == y.tolist()
    return x.dtype == y.dtype and x.shape == y.shape and x.tobytes() == y.tobytes()
a, b = (h5py.File(p, "r") for p in sys.argv[1:])
ka, kb = set(a.attrs) - {"overrides"}, set(b.attrs) - {"overrides"}
bad = sorted(k for k in ka | kb if k not in ka or k not in kb or not same(a.attrs[k], b.attrs[k]))
print(" ".join(bad))
sys.exit(1 if bad else 0)
PY
}

# Rank 0 writes the checkpoints. The -n 2 run above stopped after its 2 epochs; resumed to 4
# under -n 3, and by one process, it ends with the bytes of an uninterrupted 4-epoch run (the same
# shards, so the same sums): weights and history, the backtest refitting the network with the
# recipe, its forecasts.
cp "$work/n2/model.h5" "$work/ck2.h5"
resume_args=("${pipe_opts[@]}" --set lstm.epochs=4 --set "lstm.resume=$work/ck2.h5"
             "$src/tests/mpi/small.ini")
if run_into full "$ref_bin" "${pipe_opts[@]}" --set lstm.epochs=4 "$src/tests/mpi/small.ini"; then
  for how in n3 serial; do
    if [ $how = n3 ]; then run_into "res_$how" "${mpi[@]}" -n 3 "$bin" "${resume_args[@]}"
    else run_into "res_$how" "$ref_bin" "${resume_args[@]}"; fi
    rc=$?
    d=""
    if [ $rc -ne 0 ]; then
      d="exit $rc: $(tail -3 "$work/res_$how.log")"
    else
      h5diff -q --exclude-path /history/seconds "$work/full/model.h5" "$work/res_$how/model.h5" \
        >/dev/null 2>&1 || d="$d model.h5"
      cmp -s "$work/full/f.csv" "$work/res_$how/f.csv" || d="$d f.csv"
      o=$(same_but_overrides "$work/full/out.h5" "$work/res_$how/out.h5") || d="$d out.h5 $o"
    fi
    if [ -z "$d" ]; then
      ok "a -n 2 checkpoint resumed under $([ $how = n3 ] && echo "mpirun -n 3" || echo "one process") ends as an uninterrupted run"
    else
      not_ok "a -n 2 checkpoint resumed under $how ends as an uninterrupted run" "differ: $d"
    fi
  done
else
  not_ok "an uninterrupted 4-epoch run" "$(tail -5 "$work/full.log")"
  not_ok "(no reference for the resumed runs)"
fi

if [ -s "$work/n3.log" ]; then
  not_ok "only rank 0 speaks (-q: nothing on success)" "$(head -5 "$work/n3.log")"
else
  ok "only rank 0 speaks (-q: nothing on success)"
fi

# tsflow backtest, refitting the network every two folds on spread ranks.
if run_into bt_ref "$ref_bin" "${bt_args[@]}" &&
   run_into bt3 "${mpi[@]}" -n 3 "$bin" "${bt_args[@]}"; then
  if d=$(same_files "$work/bt_ref" "$work/bt3"); then
    ok "mpirun -n 3 tsflow backtest writes the same bytes as one process"
  else
    not_ok "mpirun -n 3 tsflow backtest writes the same bytes as one process" "differ:$d"
  fi
else
  not_ok "tsflow backtest runs under mpirun -n 3" "$(tail -5 "$work/bt_ref.log" "$work/bt3.log")"
fi

# A failure on one rank only: rank 1 cannot create its copies (its TMPDIR does not exist). It tells
# rank 0, which stops at its next exchange (the agreement before it renames the checkpoint) and
# unwinds as on any error: the run fails, the message names rank 1 and its own error, and no file
# nor temporary is left.
run_into fail "${mpi[@]}" -n 1 "$bin" "${pipe_args[@]}" : -n 1 env TMPDIR=/nonexistent-tsflow \
  "$bin" "${pipe_args[@]}"
rc=$?
if [ $rc -eq 1 ] && grep -q "rank 1 of 2: .*cannot create a file in its directory" "$work/fail.log" &&
   [ -z "$(ls -A "$work/fail")" ]; then
  ok "a failing rank ends the run, named with its message, and nothing is written, no temporary left"
else
  not_ok "a failing rank ends the run, named with its message, and nothing is written" \
    "exit $rc; files: $(ls -A "$work/fail" | tr '\n' ' ')" "$(tail -8 "$work/fail.log")"
fi

# Rank 1 alone meets a bad option while rank 0 trains: rank 0 stops at its next exchange of
# gradients, naming rank 1, whose message follows; the worst exit status (2) is the run's.
run_into told "${mpi[@]}" -n 1 "$bin" "${pipe_args[@]}" : -n 1 "$bin" "${pipe_opts[@]}" \
  --set lstm.lr=-1 "$src/tests/mpi/small.ini"
rc=$?
if [ $rc -eq 2 ] && grep -q "exchanging the gradients of the batch parts: rank 1 of 2 failed" \
     "$work/told.log" && grep -q "rank 1 of 2: --set lstm.lr=-1: .* out of range" "$work/told.log" &&
   [ -z "$(ls -A "$work/told")" ]; then
  ok "a rank failing alone stops the others at their next exchange, each named once, exit 2"
else
  not_ok "a rank failing alone stops the others at their next exchange" \
    "exit $rc; files: $(ls -A "$work/told" | tr '\n' ' ')" "$(head -8 "$work/told.log")"
fi

# A usage error every rank meets is reported once, by rank 0, with the usage exit status.
"${mpi[@]}" -n 3 "$bin" run --set lstm.hidden=-4 "$src/tests/mpi/small.ini" >"$work/usage.log" 2>&1
rc=$?
count=$(grep -c "hidden" "$work/usage.log")
if [ $rc -eq 2 ] && [ "$count" -eq 1 ] && ! grep -q "rank [12]" "$work/usage.log"; then
  ok "an error every rank meets is reported once, exit status 2"
else
  not_ok "an error every rank meets is reported once, exit status 2" "exit $rc, $count mentions" \
    "$(head -8 "$work/usage.log")"
fi

# Ctrl-C (SIGINT) or SIGTERM to mpirun, which sends SIGTERM to every rank: each removes the
# temporaries of its outputs in flight and exits 143 at once (it cannot stop cleanly: another rank
# may be gone from an exchange). Every rank stops within seconds, no output and no temporary is
# left (the checkpoints go elsewhere; one may hold the last epoch). mpirun's exit status is its
# own: Open MPI 4.1 sets 1 on a signal whatever the ranks return (128 + the signal is accepted too,
# should a later mpirun pass the ranks' status on).
for sig in INT TERM; do
  rm -rf "$out" "$work/ck" && mkdir -p "$out" "$work/ck"
  "${mpi[@]}" -n 2 "$bin" run -q --set lstm.epochs=500 --set "lstm.save=$work/ck/model.h5" \
    --set "export.path=$out/out.h5" --set "forecasts_csv.path=$out/f.csv" \
    "$src/tests/mpi/small.ini" >"$work/int.log" 2>&1 &
  pid=$!
  sleep 4
  kill -$sig $pid
  for _ in $(seq 1 40); do kill -0 $pid 2>/dev/null || break; sleep 0.5; done
  if kill -0 $pid 2>/dev/null; then
    kill -KILL $pid
    not_ok "SIG$sig to mpirun stops every rank" "still running 20 s after SIG$sig"
    continue
  fi
  wait $pid
  rc=$?
  left="$(ls -A "$out" | tr '\n' ' ')$(ls -A "$work/ck" | grep '^\.' | tr '\n' ' ')"
  want=$([ $sig = INT ] && echo 130 || echo 143)
  if { [ $rc -eq 1 ] || [ $rc -eq "$want" ]; } && [ -z "$left" ] &&
     ! pgrep -f "lstm.save=$work/ck/model.h5" >/dev/null; then
    ok "SIG$sig to mpirun stops every rank and leaves no file nor temporary (exit $rc)"
  else
    not_ok "SIG$sig to mpirun stops every rank and leaves no file nor temporary" \
      "exit $rc; left: $left" "$(tail -5 "$work/int.log")"
  fi
done
exit $failed
