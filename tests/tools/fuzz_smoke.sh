#!/bin/sh
# tests/tools/fuzz_smoke.sh — builds the dump reader's libFuzzer target with
# clang-14 against the (gcc-built, unsanitized) libraries of this build and
# runs it briefly over the seed corpus (tests/tools/corpus). Exit 77 (ctest:
# skipped) when clang-14 or libFuzzer (libfuzzer-14-dev) is missing.
#   fuzz_smoke.sh SOURCE_DIR PROTO_GEN_DIR WORK_DIR SECONDS LIB...
set -u
SRC="$1"
GEN="$2"
WORK="$3"
SECONDS_="$4"
shift 4
CLANG=$(command -v clang-14 || true)
if [ -z "$CLANG" ]; then
    echo "fuzz_smoke: clang-14 not found: skipped"
    exit 77
fi
rm -rf "$WORK"
mkdir -p "$WORK/corpus"
printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' >"$WORK/probe.c"
if ! "$CLANG" -fsanitize=fuzzer "$WORK/probe.c" -o "$WORK/probe" >/dev/null 2>&1; then
    echo "fuzz_smoke: clang-14 cannot link -fsanitize=fuzzer (install libfuzzer-14-dev): skipped"
    exit 77
fi
"$CLANG" -std=c11 -D_GNU_SOURCE -DCOWCAT_VERSION_STRING='"fuzz"' -g -O1 \
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
    -I"$SRC/base/include" -I"$SRC/pmap/include" -I"$SRC/persist/include" \
    -I"$SRC/durable/include" -I"$SRC/catalog/include" -I"$SRC/tools/include" \
    -I"$SRC/tools/src" -I"$SRC/include" -I"$GEN" \
    "$SRC/tools/fuzz/fuzz_dump.c" "$SRC/tools/src/dump_read.c" "$SRC/tools/src/dump_format.c" \
    "$SRC/tools/src/util.c" \
    "$@" -lprotobuf-c -lxxhash -lpthread -o "$WORK/fuzz_dump" || exit 1
cp "$SRC"/tests/tools/corpus/* "$WORK/corpus/"
SEED=${COWCAT_TEST_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
echo "seed fuzz_dump = $SEED"
"$WORK/fuzz_dump" -seed="$SEED" -max_total_time="$SECONDS_" -max_len=65536 \
    -artifact_prefix="$WORK/" -print_final_stats=1 "$WORK/corpus" >"$WORK/log" 2>&1
status=$?
tail -25 "$WORK/log"
if [ "$status" -ne 0 ]; then
    echo "fuzz_smoke: the fuzzer failed (status $status, seed $SEED); input kept in $WORK"
    exit 1
fi
rm -rf "$WORK"
echo "fuzz_smoke: ok"
