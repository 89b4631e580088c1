#!/usr/bin/env bash
# Fuzzes the codec's decoder: builds base/codec_fuzzer.cc with clang's
# libFuzzer, AddressSanitizer and UndefinedBehaviorSanitizer (outside Bazel,
# whose gcc toolchain has no libFuzzer) and runs it.
#
# Usage: tools/fuzz_codec.sh [SECONDS] [libFuzzer flags...]
#   SECONDS  how long to fuzz (default 60)
# Environment:
#   MP_FUZZ_DIR   build and corpus directory (default $TMPDIR/mp-fuzz-codec);
#                 the corpus in $MP_FUZZ_DIR/corpus carries over between runs
#   MP_FUZZ_JOBS  compile jobs (default 1: the machines are shared)
#   CXX           clang++ to use (default clang++-14, else clang++)
#
# Runs tools/setup.sh --fuzz first, which installs clang-14 and its runtime
# and unpacks the Abseil sources into .deps/; the Abseil pieces
# the codec uses are compiled once into $MP_FUZZ_DIR/absl. Exits non-zero if
# the fuzzer finds a crash, leak or broken property; the input that did it is
# left in $MP_FUZZ_DIR as crash-* / leak-*.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ABSL="$ROOT/.deps/abseil-cpp"
SECS="${1:-60}"
[ $# -gt 0 ] && shift
OUT="${MP_FUZZ_DIR:-${TMPDIR:-/tmp}/mp-fuzz-codec}"
JOBS="${MP_FUZZ_JOBS:-1}"
bash "$ROOT/tools/setup.sh" --no-windows --fuzz
if [ -z "${CXX:-}" ]; then
  CXX=clang++
  command -v clang++-14 >/dev/null && CXX=clang++-14
fi
say() { echo "fuzz_codec: $*" >&2; }

command -v "$CXX" >/dev/null || {
  say "no $CXX: apt-get install clang-14 libclang-rt-14-dev"
  exit 2
}
[ -d "$ABSL/absl" ] || {
  say "no Abseil sources in $ABSL: run tools/setup.sh"
  exit 2
}
mkdir -p "$OUT/absl" "$OUT/corpus"

COMMON=(-std=c++17 -O1 -g -fno-omit-frame-pointer -I"$ROOT" -I"$ABSL")

# Abseil: the libraries under the codec (status, strings and cord, time,
# containers and what they pull in), instrumented for ASan but not for
# coverage: the fuzzer is after the codec, not Abseil.
ABSL_DIRS=(base container debugging hash numeric profiling status strings
  synchronization time types)
mapfile -t ABSL_SRCS < <(cd "$ABSL" && for d in "${ABSL_DIRS[@]}"; do
  find "absl/$d" -name '*.cc'
done | grep -vE '_test|test_|_benchmark|benchmark\.cc|mock|gentables|print_hash_of|failure_signal|leak_check|_testing' | sort)
export ABSL OUT CXX
compile_absl() {  # one source file, if its object is missing or stale
  local src="$1" obj="$OUT/absl/${1//\//_}.o"
  if [ ! -f "$obj" ] || [ "$ABSL/$src" -nt "$obj" ]; then
    "$CXX" -std=c++17 -O1 -g -fno-omit-frame-pointer -I"$ABSL" \
      -fsanitize=address -w -c "$ABSL/$src" -o "$obj"
  fi
}
export -f compile_absl
say "compiling ${#ABSL_SRCS[@]} Abseil sources (cached in $OUT/absl)"
printf '%s\n' "${ABSL_SRCS[@]}" |
  xargs -P "$JOBS" -I{} bash -c 'compile_absl "$1"' _ {}
rm -f "$OUT/libabsl.a"
ar rcs "$OUT/libabsl.a" "$OUT"/absl/*.o

say "building the fuzzer"
MP_SRCS=(
  base/codec_fuzzer.cc
  base/codec.cc
  base/internal/codec_fuzz.cc
  base/internal/codec_test_handle_posix.cc
  base/handle_posix.cc
  base/os_error_posix.cc
  base/status.cc
)
(cd "$ROOT" && "$CXX" "${COMMON[@]}" \
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
  "${MP_SRCS[@]}" "$OUT/libabsl.a" -lpthread -o "$OUT/codec_fuzzer")

say "fuzzing for ${SECS}s; corpus $OUT/corpus"
MP_CODEC_FUZZ_SEEDS="$OUT/corpus" "$OUT/codec_fuzzer" "$OUT/corpus" \
  -max_total_time="$SECS" -artifact_prefix="$OUT/" -print_final_stats=1 \
  "$@"
