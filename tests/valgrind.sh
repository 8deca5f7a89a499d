#!/bin/sh
# Test wrapper for `meson test --setup valgrind`: runs the test under valgrind memcheck, following
# Criterion's worker processes (BoxFort forks and re-executes the test program, one worker per
# test), with one log per process. Criterion ignores how a worker exits after it has reported
# its result, so valgrind's --error-exitcode alone would let leaks and invalid reads in a test
# pass: this script fails the test when any process's log shows an error, and prints those logs.
# Helper programs the tests start (python3 references, rm) are not traced; tsflow is.
logs=$(mktemp -d "${TMPDIR:-/tmp}/tsflow-valgrind-XXXXXX")
valgrind --trace-children=yes --trace-children-skip="/usr/*,/bin/*,*python*" \
  --child-silent-after-fork=no --log-file="$logs/vg.%p" \
  --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect \
  --errors-for-leak-kinds=definite,indirect --track-origins=yes --num-callers=30 \
  --suppressions="$(dirname "$0")/valgrind.supp" --gen-suppressions=all "$@"
rc=$?
bad=$(grep -lE 'ERROR SUMMARY: [1-9]' "$logs"/vg.* 2>/dev/null)
if [ -n "$bad" ]; then
  for f in $bad; do
    echo "==== valgrind: $f" >&2
    cat "$f" >&2
  done
  [ $rc -eq 0 ] && rc=1
fi
rm -rf "$logs"
exit $rc
