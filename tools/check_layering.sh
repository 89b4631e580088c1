#!/usr/bin/env bash
# Checks that mp's package graph reads bottom-up: every dependency of a
# package's targets (all select() branches, tests and benchmarks included)
# lies in that package or in a layer below it. Packages of one layer are
# independent of each other. Prints each upward or sideways dependency and
# exits 1 if there is one; run by tools/test.sh.
#
# A new package gets a line here; a package missing from LAYERS is an error,
# so the graph cannot grow past this list unseen.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Bottom first. One layer per line.
LAYERS=(
  ". tools"    # files only: googletest.BUILD, wine_env.sh
  "tools/bazel tools/mingw tools/tsan tools/bench_util"  # build, bench kit
  "base"       # errors, time, handles, codec, wait, launch, SharedMemory
  "lock"       # Lock ... Barrier, on base's futex word and shared memory
  "shm_value"  # Value, Array (and SharedMemory where Python has it)
  "process"    # Process; its tests pass lock/ and shm_value/ objects
  "pipe"       # Connection, Pipe, Listener/Client, Wait
  "queue"      # Queue, SimpleQueue, JoinableQueue
  "examples tools/soak"  # programs on top
)

declare -A layer_of
for i in "${!LAYERS[@]}"; do
  for pkg in ${LAYERS[$i]}; do layer_of[$pkg]=$i; done
done

bad=0
while read -r build; do
  pkg=$(dirname "$build")  # "." is the root package
  label=//${pkg#.}
  if [ -z "${layer_of[$pkg]+x}" ]; then
    echo "layering: package $label is not in tools/check_layering.sh's LAYERS"
    bad=1
    continue
  fi
  mine=${layer_of[$pkg]}
  # Edges "//pkg:target" -> "//other:dep" from this package's targets.
  edges=$(bazel query --noshow_progress --output=graph --nograph:factored \
            "deps($label:all, 1)" 2>/dev/null) || {
    echo "layering: bazel query failed for $label"
    bad=1
    continue
  }
  while read -r from arrow to; do
    [ "$arrow" = "->" ] || continue
    from=${from//\"/}
    to=${to//\"/}
    case "$to" in //*) ;; *) continue ;; esac
    [ "${from%%:*}" = "$label" ] || continue
    dep_pkg=${to#//}
    dep_pkg=${dep_pkg%%:*}
    dep_pkg=${dep_pkg:-.}
    [ "$dep_pkg" = "$pkg" ] && continue
    theirs=${layer_of[$dep_pkg]-}
    if [ -z "$theirs" ] || [ "$theirs" -ge "$mine" ]; then
      echo "layering: $from (layer $mine) depends on $to" \
           "(layer ${theirs:-none})"
      bad=1
    fi
  done <<< "$edges"
done < <(git ls-files | grep -E '(^|/)BUILD$')

if [ "$bad" = 0 ]; then
  echo "layering: every dependency points down (${#LAYERS[@]} layers)"
fi
exit "$bad"
