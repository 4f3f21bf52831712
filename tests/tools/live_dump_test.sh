#!/bin/sh
# tests/tools/live_dump_test.sh — `cowcat dump` of a data directory that a
# running cowcatd holds, with DDL in flight: each dump restores (restore runs
# the full check), passes `cowcat check`, and is one consistent version —
# one psql session creates t1, v1, t2, v2, ... in order (each view over its
# table), so a consistent version holds exactly t1..tK and v1..vK or
# v1..vK-1 for some K. The server goes on: it takes more DDL and stops
# cleanly after.
#   live_dump_test.sh COWCAT COWCATD SCRATCH_DIR
# Exit 77 (skipped) without psql.
set -u
C="$1"
D="$2"
T="$3"
command -v psql >/dev/null 2>&1 || { echo "live_dump_test: no psql, skipped"; exit 77; }
rm -rf "$T"
mkdir -p "$T"
fails=0
fail() {
    echo "FAIL: $*"
    fails=$((fails + 1))
}

"$D" --data-dir "$T/live" --listen 127.0.0.1:0 --internal-listen 127.0.0.1:0 \
    --metrics-listen 127.0.0.1:0 --log-level error >"$T/server.out" 2>"$T/server.err" &
server=$!
port=""
for _ in $(seq 1 300); do
    port=$(sed -n 's/^cowcatd: ready on 127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$T/server.out")
    [ -n "$port" ] && break
    kill -0 "$server" 2>/dev/null || break
    sleep 0.1
done
if [ -z "$port" ]; then
    echo "FAIL: cowcatd did not start: $(cat "$T/server.err")"
    kill "$server" 2>/dev/null
    exit 1
fi
export PGHOST=127.0.0.1 PGPORT="$port" PGUSER=cowcat PGDATABASE=cowcat PGCONNECT_TIMEOUT=10

N=1500
i=1
while [ "$i" -le "$N" ]; do
    echo "CREATE TABLE t$i (a int, b text);"
    echo "CREATE VIEW v$i AS SELECT a FROM t$i;"
    i=$((i + 1))
done >"$T/ddl.sql"
psql -q -v ON_ERROR_STOP=1 -f "$T/ddl.sql" >"$T/psql.out" 2>&1 &
client=$!

# consistent DIR LABEL: DIR's catalog must be t1..tK with v1..vK or v1..vK-1;
# prints K, and any violation into $T/cfail.
consistent() {
    : >"$T/cfail"
    if ! "$C" sql -D "$1" --csv -c "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'" \
        >"$T/names" 2>"$T/names.err"; then
        echo "$2: sql: $(cat "$T/names.err")" >>"$T/cfail"
        echo 0
        return
    fi
    nt=$(grep -c '^t[0-9]*$' "$T/names")
    nv=$(grep -c '^v[0-9]*$' "$T/names")
    maxt=$(sed -n 's/^t\([0-9]*\)$/\1/p' "$T/names" | sort -n | tail -1)
    maxv=$(sed -n 's/^v\([0-9]*\)$/\1/p' "$T/names" | sort -n | tail -1)
    [ "$nt" -eq "${maxt:-0}" ] || echo "$2: $nt tables but t${maxt:-0} (not a prefix)" >>"$T/cfail"
    [ "$nv" -eq "${maxv:-0}" ] || echo "$2: $nv views but v${maxv:-0} (not a prefix)" >>"$T/cfail"
    [ "$nv" -eq "$nt" ] || [ "$nv" -eq $((nt - 1)) ] || echo "$2: $nt tables, $nv views" >>"$T/cfail"
    echo "$nt"
}
cfail() { [ -s "$T/cfail" ] && fail "$(cat "$T/cfail")"; }

k=0
inflight=0
while kill -0 "$client" 2>/dev/null && [ "$k" -lt 20 ]; do
    k=$((k + 1))
    running=1
    "$C" dump -D "$T/live" -o "$T/d$k.dump" 2>"$T/err" || fail "dump $k: $(cat "$T/err")"
    kill -0 "$client" 2>/dev/null || running=0
    "$C" restore -D "$T/r$k" -i "$T/d$k.dump" 2>"$T/err" || fail "restore $k: $(cat "$T/err")"
    "$C" check -D "$T/r$k" >/dev/null 2>"$T/err" || fail "check $k: $(cat "$T/err")"
    n=$(consistent "$T/r$k" "dump $k")
    cfail
    echo "dump $k: $n tables, DDL running after it: $running"
    [ "$running" -eq 1 ] && [ "${n:-0}" -lt "$N" ] && inflight=$((inflight + 1))
done
"$C" check -D "$T/live" >"$T/out" 2>"$T/err" || fail "check of the live directory: $(cat "$T/err")"
wait "$client" || fail "psql: $(cat "$T/psql.out")"
[ "$inflight" -ge 1 ] || fail "no dump was taken while the DDL ran"

# After the last DDL: everything, and the server still takes DDL and stops cleanly.
"$C" dump -D "$T/live" -o "$T/final.dump" 2>"$T/err" || fail "final dump: $(cat "$T/err")"
"$C" restore -D "$T/final" -i "$T/final.dump" 2>"$T/err" || fail "final restore: $(cat "$T/err")"
n=$(consistent "$T/final" "final dump")
cfail
[ "${n:-0}" -eq "$N" ] || fail "final dump: $n tables, want $N"
psql -q -v ON_ERROR_STOP=1 -c "CREATE TABLE after_dumps (a int)" >"$T/psql.out" 2>&1 ||
    fail "DDL after the dumps: $(cat "$T/psql.out")"
kill -TERM "$server"
wait "$server" || fail "cowcatd exit status $?: $(cat "$T/server.err")"
[ "$fails" -eq 0 ] || { echo "live_dump_test: $fails failures"; exit 1; }
echo "live_dump_test: ok ($k dumps during DDL, $inflight with DDL in flight)"
