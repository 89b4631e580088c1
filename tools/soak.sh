#!/usr/bin/env bash
# The soaks: long random-kill runs of the queue and the locks (a tool, not a
# test; CI keeps the bounded random-kill tests). Builds //tools/soak with
# -c opt and runs it; each round prints what it counted, and the last line
# of each soak sums its rounds. Exits non-zero if anything acknowledged was
# lost or duplicated, or anyone was stuck.
#
# Usage: tools/soak.sh [--windows] queue|lock|all [--minutes M | --seconds S]
#                      [--seed N]
#   --windows  the Windows build, under Wine
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if [ "${1:-}" = "--windows" ]; then
  shift
  bash tools/setup.sh
  bazel build -c opt --config=mingw //tools/soak
  # shellcheck source=tools/wine_env.sh
  . tools/wine_env.sh
  # One Wine server for the whole run, so that each worker starts quickly.
  wineserver -p </dev/null >/dev/null 2>&1 || true
  rc=0
  wine "$(bazel info -c opt --config=mingw bazel-bin 2>/dev/null)/tools/soak/soak.exe" "$@" || rc=$?
  wineserver -k </dev/null >/dev/null 2>&1 || true
  exit "$rc"
fi
bash tools/setup.sh --no-windows
bazel build -c opt //tools/soak
exec "$(bazel info -c opt bazel-bin 2>/dev/null)/tools/soak/soak" "$@"
