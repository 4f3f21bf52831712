#!/bin/sh
# tests/fuzz/run.sh — builds the fuzz build (clang-14, -DCOWCAT_FUZZ=ON:
# every library instrumented for libFuzzer + ASan/UBSan) if needed; then for
# each target replays its seeds and regression inputs (ctest TARGET_replay)
# and, if they pass, fuzzes it for SECONDS with a printed seed
# (COWCAT_TEST_SEED fixes it).
#
#   tests/fuzz/run.sh BUILD_DIR SECONDS [TARGET...]
#
# Each target works in BUILD_DIR/fuzz-work/TARGET: corpus/ (the seeds plus
# what the fuzzer found; kept between runs), log, and any crash-*, leak-*,
# timeout-* or oom-* artifact, which is left there. Exits 1 if a target
# crashed, leaked, timed out or broke an oracle; 77 if clang-14 or libFuzzer
# (libfuzzer-14-dev) is missing. JOBS sets the build parallelism (default 2).
set -u
if [ $# -lt 2 ]; then
    echo "usage: tests/fuzz/run.sh BUILD_DIR SECONDS [TARGET...]" >&2
    exit 2
fi
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$1
secs=$2
shift 2
targets=${*:-"fuzz_sql fuzz_pgwire fuzz_persist_recovery fuzz_dump"}

clang=$(command -v clang-14 || true)
if [ -z "$clang" ]; then
    echo "fuzz: clang-14 not found: skipped"
    exit 77
fi
probe=$(mktemp -d)
printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' \
    >"$probe/probe.c"
if ! "$clang" -fsanitize=fuzzer "$probe/probe.c" -o "$probe/probe" >/dev/null 2>&1; then
    rm -rf "$probe"
    echo "fuzz: clang-14 cannot link -fsanitize=fuzzer (install libfuzzer-14-dev): skipped"
    exit 77
fi
rm -rf "$probe"

start=$(date +%s)
if ! grep -q '^COWCAT_FUZZ:BOOL=ON' "$build/CMakeCache.txt" 2>/dev/null; then
    cmake -S "$src" -B "$build" -DCMAKE_C_COMPILER="$clang" -DCOWCAT_FUZZ=ON \
        -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null || exit 1
fi
# shellcheck disable=SC2086 # the target list is words
cmake --build "$build" -j"${JOBS:-2}" --target $targets fuzz_persist_seeds || exit 1
built=$(date +%s)
echo "fuzz: build took $((built - start)) s"


max_len() {
    case "$1" in
    fuzz_sql) echo 8192 ;;
    fuzz_pgwire) echo 4096 ;;
    fuzz_persist_recovery) echo 16384 ;;
    *) echo 65536 ;;
    esac
}

# libpg_query is not instrumented: the SQL targets get its keywords from a dictionary.
dict_flag() {
    case "$1" in
    fuzz_sql | fuzz_pgwire) echo "-dict=$src/tests/fuzz/sql.dict" ;;
    esac
}

failed=""
summary=""
for t in $targets; do
    bin="$build/tests/fuzz/$t"
    [ "$t" = fuzz_dump ] && bin="$build/tools/fuzz_dump"
    if [ ! -x "$bin" ]; then
        echo "fuzz: no binary for $t"
        failed="$failed $t"
        continue
    fi
    # The seeds and regression inputs once each (ctest): a known crash fails
    # here, and the target is not fuzzed.
    if ! (cd "$build" && ctest --output-on-failure -L fuzz -R "^${t}_replay\$"); then
        echo "fuzz: $t FAILED replaying its seeds and regression inputs"
        failed="$failed $t"
        summary="$summary
$t: FAILED (replay of the seeds and regression inputs)"
        continue
    fi
    work="$build/fuzz-work/$t"
    mkdir -p "$work/corpus"
    sh "$src/tests/fuzz/seeds.sh" "$t" "$src" "$build" "$work/corpus" || exit 1
    regress="$src/tests/fuzz/regress/$t"
    [ -d "$regress" ] || regress=""
    seed=${COWCAT_TEST_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
    echo "== $t: $secs s"
    echo "seed $t = $seed"
    # shellcheck disable=SC2086,SC2046 # $regress and the dict flag: empty or one word
    "$bin" -seed="$seed" -max_total_time="$secs" -max_len="$(max_len "$t")" -timeout=30 \
        -rss_limit_mb=2560 -detect_leaks=1 -print_final_stats=1 $(dict_flag "$t") \
        -artifact_prefix="$work/" "$work/corpus" $regress >"$work/log" 2>&1
    status=$?
    final=$(grep -E '^#[0-9]+' "$work/log" | tail -1)
    echo "$final"
    grep -E '^stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)' \
        "$work/log"
    corpus=$(find "$work/corpus" -type f | wc -l)
    cov=$(echo "$final" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
    ft=$(echo "$final" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log")
    if [ "$status" -ne 0 ]; then
        echo "fuzz: $t FAILED (status $status, seed $seed); log: $work/log"
        sed -n '/ERROR: \|runtime error\|fuzz_[a-z_]*: /,/SUMMARY/p' "$work/log" | head -60
        find "$work" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o \
            -name 'timeout-*' -o -name 'oom-*' \) | sed 's/^/fuzz: artifact: /'
        failed="$failed $t"
        summary="$summary
$t: FAILED seed=$seed execs=${execs:-?} cov=${cov:-?} ft=${ft:-?} corpus=$corpus"
    else
        summary="$summary
$t: ok seed=$seed execs=${execs:-?} cov=${cov:-?} ft=${ft:-?} corpus=$corpus"
    fi
done
echo "== fuzz summary ($(($(date +%s) - start)) s in all)$summary"
if [ -n "$failed" ]; then
    echo "fuzz: failed:$failed"
    exit 1
fi
echo "fuzz: ok"
