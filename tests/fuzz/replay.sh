#!/bin/sh
# tests/fuzz/replay.sh — the ctest of one fuzz target (label fuzz): runs the
# target once over every seed (tests/fuzz/seeds.sh) and every regression
# input (tests/fuzz/regress/TARGET), without fuzzing. Fails on any crash,
# leak, sanitizer report or broken oracle.
#   replay.sh TARGET BINARY SOURCE_DIR BUILD_DIR WORK_DIR
set -eu
target=$1
bin=$2
src=$3
build=$4
work=$5
rm -rf "$work"
mkdir -p "$work/corpus"
sh "$src/tests/fuzz/seeds.sh" "$target" "$src" "$build" "$work/corpus"
set -- "$work"/corpus/*
if [ -d "$src/tests/fuzz/regress/$target" ]; then
    for f in "$src/tests/fuzz/regress/$target"/*; do
        [ -f "$f" ] && set -- "$@" "$f"
    done
fi
echo "replay: $target over $# inputs"
"$bin" -timeout=60 -rss_limit_mb=2560 "$@" >"$work/log" 2>&1 || {
    awk '/^Running: / { last = $0 }
         /ERROR: |runtime error|^fuzz_[a-z_]*: / { if (!on) print last; on = 1 }
         on { print }
         /SUMMARY/ { on = 0 }' "$work/log" | head -80
    echo "replay: $target FAILED; log: $work/log"
    exit 1
}
rm -rf "$work"
echo "replay: $target ok"
