#!/bin/sh
# bench/ddl_bench/smoke.sh BENCH CHECKER OUTDIR — the CI smoke run of ddl_bench
# (ctest ddl_bench_smoke): scales 0 and 200, 5 samples, every target this
# machine can run (embedded and pgwire always; psql, postgres and sqlite when
# `ddl_bench --list-targets` says so), then an ablation run (--ablate check on
# embedded and pgwire, both durabilities), and --report over the first run's JSON.
# ddl_bench_check validates each JSON file: well
# formed, every sample present and successful, and the check ablation running
# the full check exactly once per committed DDL. Data directories go to
# $TMPDIR (PostgreSQL, run as another user when we are root, must reach them).
set -eu
bench=$1 check=$2 out=$3
rm -rf "$out"
mkdir -p "$out"
targets=embedded,pgwire
for t in psql postgres sqlite; do
    if "$bench" --list-targets | grep -q "^$t  *available"; then
        targets=$targets,$t
    else
        echo "ddl_bench_smoke: $t is not available here, left out:"
        "$bench" --list-targets | grep "^$t " || true
    fi
done

"$bench" --quiet --scales 0,200 --samples 5 --target "$targets" --clients 4 --duration 0.5 \
    --json "$out/all.json" --plot "$out/all.svg" >"$out/all.md"
"$check" --json "$out/all.json" --samples 5 --scales 0,200 --targets "$targets" \
    --svg "$out/all.svg"
grep -q '^| CREATE TABLE |' "$out/all.md"
grep -q '^Builds: 0 → 200 tables' "$out/all.md"
grep -q '"build_s"' "$out/all.json"
# --report rebuilds the same tables (rows and columns) and plot from the JSON alone.
"$bench" --report "$out/all.json" --plot "$out/again.svg" >"$out/again.md"
# (the rows' names and cell counts: cells may round differently, samples_us has one decimal)
awk -F'|' 'NF > 1 { print $2, NF }' "$out/all.md" >"$out/all.rows"
awk -F'|' 'NF > 1 { print $2, NF }' "$out/again.md" >"$out/again.rows"
cmp "$out/all.rows" "$out/again.rows"
"$check" --json "$out/all.json" --samples 5 --scales 0,200 --targets "$targets" \
    --svg "$out/again.svg"

"$bench" --quiet --scales 0,200 --samples 5 --target embedded,pgwire --durability fsync,none \
    --ablate check --json "$out/ablate.json" >"$out/ablate.md"
"$check" --json "$out/ablate.json" --samples 5 --scales 0,200 --targets embedded,pgwire \
    --durability fsync,none --ablate check --per-ddl check
grep -q '^| pgwire check |' "$out/ablate.md"
grep -q 'ablated path runs: check' "$out/ablate.md"

rm -rf "$out"
echo "ddl_bench_smoke: ok ($targets)"
