#!/usr/bin/env bash
# Sets up a Debian 12 machine for the Linux build (tools/setup.sh) and runs
# the tour: every mp primitive walked through with small example programs
# (examples/tour.h).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash tools/setup.sh --no-windows
bazel build -c opt //examples:tour
exec "$(bazel info -c opt bazel-bin 2>/dev/null)/examples/tour" "$@"
