#!/usr/bin/env bash
# Installs everything mp needs to build and test on Debian 12, offline but for
# Debian's archive: Bazel and its rules, the compilers, Wine, and the Debian
# source packages of Abseil and Google Benchmark (unpacked into .deps/).
# Idempotent: a second run only checks, and takes about a second.
#
# Usage: tools/setup.sh [--no-windows] [--fuzz]
#   --no-windows  skip the mingw-w64 cross compiler and Wine
#   --fuzz        also clang and its libFuzzer runtime (tools/fuzz_codec.sh)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEPS="$ROOT/.deps"
WINDOWS=1
FUZZ=0
for a in "$@"; do
  case "$a" in
    --no-windows) WINDOWS=0 ;;
    --fuzz) FUZZ=1 ;;
    -h | --help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "setup: unknown option $a" >&2; exit 2 ;;
  esac
done
say() { echo "setup: $*" >&2; }

# Packages: what builds and tests need, nothing more.
PKGS=(
  bazel-bootstrap bazel-rules-cc bazel-rules-java bazel-platforms bazel-skylib
  g++ googletest python3 libssl-dev
)
[ "$WINDOWS" = 1 ] && PKGS+=(g++-mingw-w64-x86-64-posix wine wine64)
[ "$FUZZ" = 1 ] && PKGS+=(clang-14 libclang-rt-14-dev)

missing=()
for p in "${PKGS[@]}"; do
  st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$st" = "install ok installed" ] || missing+=("$p")
done
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  $SUDO apt-get update -q >&2
  # --no-install-recommends keeps Wine from pulling in a desktop.
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q \
    --no-install-recommends "${missing[@]}" >&2
else
  say "packages present"
fi

# Debian's source packages of Abseil and Google Benchmark carry upstream's
# Bazel files; the same sources serve the Linux and the Windows builds.
fetch_source() {  # package dest
  local pkg="$1" dest="$DEPS/$2"
  if [ -f "$dest/WORKSPACE" ]; then
    return
  fi
  local tmp
  tmp="$(mktemp -d)"
  mkdir -p "$tmp/lists/partial"
  # The machine's own archive, read from its apt sources (deb822 or classic).
  local uri
  uri=$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\).*/\1/p' \
        /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v security | head -n1)
  if [ -z "$uri" ]; then
    uri=$(awk '$1 == "deb" && $0 !~ /security/ { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:/) { print $i; exit } }' \
          /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | head -n1)
  fi
  [ -n "$uri" ] || uri="http://deb.debian.org/debian"
  echo "deb-src $uri bookworm main" > "$tmp/sources.list"
  local apt=(-o "Dir::Etc::SourceList=$tmp/sources.list" -o Dir::Etc::SourceParts=/dev/null
             -o "Dir::State::Lists=$tmp/lists" -o APT::Sandbox::User=root)
  say "fetching Debian source package $pkg"
  apt-get "${apt[@]}" -q update >/dev/null
  (cd "$tmp" && apt-get "${apt[@]}" -q source --download-only "$pkg" >/dev/null 2>&1)
  mkdir -p "$dest"
  tar xzf "$tmp"/"${pkg}"_*.orig.tar.gz -C "$dest" --strip-components=1
  rm -rf "$tmp"
}
fetch_source abseil abseil-cpp
fetch_source benchmark benchmark

if [ "$WINDOWS" = 1 ]; then
  # shellcheck source=tools/wine_env.sh
  . "$ROOT/tools/wine_env.sh"
  if [ ! -f "$WINEPREFIX/system.reg" ]; then
    say "creating the Wine prefix $WINEPREFIX"
    mkdir -p "$WINEPREFIX"
    wineboot -i </dev/null >/dev/null 2>&1 || true
    wineserver -w </dev/null >/dev/null 2>&1 || true
    [ -f "$WINEPREFIX/system.reg" ] || { say "wineboot failed"; exit 1; }
  fi
fi
say "ready"
