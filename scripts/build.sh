#!/usr/bin/env bash
# Configure (once) and build tsflow in build/ (or the directory given, with extra meson
# options after it). Used by demo.sh and check.sh; safe to run again. Quiet unless it fails.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
shift || true
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if [ ! -f "$dir/build.ninja" ]; then
  if ! meson setup "$dir" "$@" >"$log" 2>&1; then
    cat "$log" >&2
    exit 1
  fi
elif [ $# -gt 0 ]; then
  # An existing build directory gets options added since it was set up; --reconfigure reads
  # meson_options.txt again, so an option newer than the directory is known.
  if ! meson setup --reconfigure "$dir" "$@" >"$log" 2>&1; then
    cat "$log" >&2
    exit 1
  fi
fi
if ! ninja -C "$dir" >"$log" 2>&1; then
  grep -v '^\[' "$log" >&2 || cat "$log" >&2
  echo "build: ninja -C $dir failed" >&2
  exit 1
fi
