#!/usr/bin/env bash
# Sets up a Debian 12 machine (tools/setup.sh) and runs every test: the
# package graph's layering (tools/check_layering.sh), the Linux build, then
# the Windows build under Wine. Extra arguments go to both `bazel test` runs
# (for example a --config=asan or a target pattern). Ends with one line
# `tests: N passed, N failed` over all of them.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash tools/setup.sh || exit 1
# No target pattern among the arguments (only flags): every target.
has_target=0
for arg in "$@"; do
  case "$arg" in //* | @* | -//*) has_target=1 ;; esac
done
[ "$has_target" = 1 ] || set -- "$@" //...

LOG="$(mktemp)"
trap 'rm -f "$LOG"' EXIT
run() {  # bazel test arguments...
  echo "== bazel test $*" >&2
  bazel test --test_summary=short "$@" 2>&1 | tee -a "$LOG"
  return "${PIPESTATUS[0]}"
}

rc=0
echo "== tools/check_layering.sh" >&2
layering_failed=0
bash tools/check_layering.sh || { rc=1; layering_failed=1; }
run "$@" || rc=1

# Windows: one Wine server for the whole run, so each test binary starts in
# milliseconds instead of seconds.
. tools/wine_env.sh
wineserver -p </dev/null >/dev/null 2>&1 || true
run --config=mingw "$@" || rc=1
wineserver -k </dev/null >/dev/null 2>&1 || true

passed=$(grep -cE '^//[^ ]+ +(\(cached\) )?PASSED' "$LOG")
failed=$(grep -cE '^//[^ ]+ +(\(cached\) )?(FAILED|TIMEOUT|FLAKY|NO STATUS|INCOMPLETE|FAILED TO BUILD)' "$LOG")
passed=$((passed + 1 - layering_failed))
failed=$((failed + layering_failed))
if [ "$rc" != 0 ] && [ "$failed" = 0 ]; then
  failed=1  # the build itself failed before any test ran
fi
echo "tests: $passed passed, $failed failed"
exit "$rc"
