#!/bin/sh
# tests/fuzz/seeds.sh — writes the seed corpus of one fuzz target into OUT:
# the checked-in seeds (tests/fuzz/corpus/TARGET) plus what is made fresh
# from the sources, so seeds follow the current SQL tests and disk format:
#   fuzz_sql               tests/sql/*.sql split into statements: every file
#                          whole, and windows of 8 statements (a window
#                          starts with the file's last "\c" before it)
#   fuzz_persist_recovery  fuzz_persist_seeds (real data directories)
#   fuzz_dump              tests/tools/corpus
#   fuzz_pgwire            (checked-in seeds only)
#
#   seeds.sh TARGET SOURCE_DIR BUILD_DIR OUT
set -eu
target=$1
src=$2
build=$3
out=$4
mkdir -p "$out"
if [ -d "$src/tests/fuzz/corpus/$target" ]; then
    cp "$src/tests/fuzz/corpus/$target"/* "$out"/
fi

# One fuzz_sql input per window: setup byte 0 (the bootstrap catalog), then
# the statements, each ended by a NUL (awk writes \001; tr makes it NUL).
sql_seeds() {
    for f in "$src"/tests/sql/*.sql; do
        base=$(basename "$f" .sql)
        awk -v out="$out" -v base="$base" -v W=8 '
            function flush_window() {
                if (nwin == 0)
                    return
                file = out "/sql-" base "-" sprintf("%02d", nfile++) ".tmp"
                printf "%s%s", (wctx != "" ? wctx "\001" : ""), win > file
                close(file)
                win = ""
                nwin = 0
            }
            function emit(s) {
                if (nwin == 0)
                    wctx = ctx
                all = all s "\001"
                win = win s "\001"
                if (++nwin == W)
                    flush_window()
            }
            {
                line = $0
                if (pending == "") {
                    t = line
                    sub(/^[ \t]+/, "", t)
                    if (t == "" || t ~ /^--/)
                        next
                    if (t ~ /^\\/) {
                        emit(t)
                        if (t ~ /^\\c/)
                            ctx = t
                        next
                    }
                }
                pending = pending (pending == "" ? "" : "\n") line
                copy = pending
                quotes = gsub(/\047/, "", copy)
                t = line
                sub(/[ \t]+$/, "", t)
                if (t ~ /;$/ && quotes % 2 == 0) {
                    emit(pending)
                    pending = ""
                }
            }
            END {
                if (pending != "")
                    emit(pending)
                flush_window()
                file = out "/sql-" base "-all.tmp"
                printf "%s", all > file
                close(file)
            }' "$f"
    done
    for t in "$out"/sql-*.tmp; do
        { printf '\000'; tr '\001' '\000' <"$t"; } >"${t%.tmp}"
        rm -f "$t"
    done
}

case "$target" in
fuzz_sql) sql_seeds ;;
fuzz_persist_recovery) "$build/tests/fuzz/fuzz_persist_seeds" "$out" ;;
fuzz_dump) cp "$src"/tests/tools/corpus/* "$out"/ ;;
fuzz_pgwire) ;;
*)
    echo "seeds.sh: unknown target $target" >&2
    exit 2
    ;;
esac
