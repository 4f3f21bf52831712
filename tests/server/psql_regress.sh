#!/usr/bin/env bash
# tests/server/psql_regress.sh COWCATD SQLDIR OUTDIR
#
# The SQL regression suite (tests/sql/*.sql, run in-process by sql_regress)
# through the real psql against a live cowcatd: one fresh server per file
# (--memory), the file fed on stdin (so psql prints no "psql:file:line:"
# prefixes), VERBOSITY verbose (errors carry their SQLSTATE, as the expected
# files show them). Two normalisations, both psql's and not the server's:
#   - psql verbose also prefixes NOTICE/WARNING with their SQLSTATE: removed;
#   - a failed \connect ends a non-interactive psql ("connection to server
#     at ... failed:" prefix removed), so the expected file is compared up
#     to that line (sql_regress prints what interactive psql would).
# Fails on any difference and on any sanitizer report in the server's log.
set -u
cowcatd=$1 sqldir=$2 out=$3
rm -rf "$out" && mkdir -p "$out"
fail=0
for f in "$sqldir"/*.sql; do
  b=$(basename "$f" .sql)
  "$cowcatd" --memory --listen 127.0.0.1:0 --internal-listen 127.0.0.1:0 \
    --metrics-listen 127.0.0.1:0 --log-level warning >"$out/$b.ready" 2>"$out/$b.log" &
  pid=$!
  for _ in $(seq 100); do grep -q ready "$out/$b.ready" 2>/dev/null && break; sleep 0.1; done
  port=$(sed -nE 's/.*ready on [^ ]+:([0-9]+) .*/\1/p' "$out/$b.ready")
  if [ -z "$port" ]; then echo "FAIL $b: cowcatd did not start"; cat "$out/$b.log"; fail=1; continue; fi
  PGCONNECT_TIMEOUT=10 psql -X -a -v VERBOSITY=verbose -h 127.0.0.1 -p "$port" -U cowcat -d cowcat \
      <"$f" 2>&1 |
    sed -E -e 's/^(NOTICE|WARNING):  [0-9A-Z]{5}: /\1:  /' \
           -e 's/^\\connect: connection to server at "[^"]*", port [0-9]+ failed: /\\connect: /' \
      >"$out/$b.out"
  kill -TERM "$pid"
  if ! wait "$pid"; then echo "FAIL $b: cowcatd exited with an error"; fail=1; fi
  expected="$sqldir/expected/$b.out"
  last=$(tail -n 1 "$out/$b.out")
  if [[ "$last" == '\connect: FATAL'* ]]; then
    n=$(grep -n -F -x -- "$last" "$expected" | head -n 1 | cut -d: -f1)
    [ -n "$n" ] && head -n "$n" "$expected" >"$out/$b.expected" && expected="$out/$b.expected"
  fi
  if diff -u "$expected" "$out/$b.out" >"$out/$b.diff"; then
    echo "ok $b"
  else
    echo "FAIL $b"; cat "$out/$b.diff"; fail=1
  fi
  if grep -E "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|WARNING: ThreadSanitizer" "$out/$b.log"; then
    echo "FAIL $b: sanitizer report in the server log"; fail=1
  fi
done
[ $fail -eq 0 ] && echo "psql_regress: all files match"
exit $fail
