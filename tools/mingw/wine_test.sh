#!/usr/bin/env bash
# Runs a Windows test binary under Wine for `bazel test --config=mingw`.
# Bazel hands the test Linux paths in its environment; gtest writes to them, so
# they become Z:\ paths that Wine maps back to the same files.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
for f in "$here/../wine_env.sh" "${RUNFILES_DIR:-/nonexistent}/mp/tools/wine_env.sh" \
         "$0.runfiles/mp/tools/wine_env.sh"; do
  if [ -f "$f" ]; then . "$f"; break; fi
done
winpath() { printf 'Z:%s' "$(echo "$1" | tr / '\\')"; }
for v in XML_OUTPUT_FILE TEST_PREMATURE_EXIT_FILE TEST_SHARD_STATUS_FILE \
         TEST_UNDECLARED_OUTPUTS_DIR TEST_TMPDIR; do
  if [ -n "${!v:-}" ]; then
    case "${!v}" in /*) export "$v=$(winpath "${!v}")" ;; esac
  fi
done
# Wine's exit status is the low byte of the Windows exit code (0 comes out as
# 0, 256 as 1 already), which is what Bazel needs.
exec wine "$@" </dev/null
