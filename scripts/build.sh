#!/usr/bin/env bash
# Configure (once) and build tsflow in build/ (or the directory given, with extra meson
# options after it). Used by demo.sh and check.sh; safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
shift || true
if [ ! -f "$dir/build.ninja" ]; then
  meson setup "$dir" "$@" >/dev/null
fi
ninja -C "$dir" >/dev/null || ninja -C "$dir"
