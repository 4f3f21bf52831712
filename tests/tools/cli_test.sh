#!/bin/sh
# tests/tools/cli_test.sh — the cowcat binary end to end: --help, exit
# statuses, the shape of `sql` output, dump | inspect | restore | check |
# stats, and failures that must leave nothing behind.
#   cli_test.sh COWCAT_BINARY SCRATCH_DIR
set -u
C="$1"
T="$2"
rm -rf "$T"
mkdir -p "$T"
fails=0

fail() {
    echo "FAIL: $*"
    fails=$((fails + 1))
}

# expect STATUS CMD...: runs CMD (stdout > $T/out, stderr > $T/err), checks its exit status.
expect() {
    want="$1"
    shift
    "$@" >"$T/out" 2>"$T/err"
    got=$?
    [ "$got" -eq "$want" ] || fail "exit $got (want $want): $*; stderr: $(cat "$T/err")"
}

has() { # has FILE TEXT
    grep -qF -- "$2" "$T/$1" || fail "$1 lacks \"$2\": $(cat "$T/$1")"
}

# --help and usage errors
expect 0 "$C" --help
has out "Usage: cowcat COMMAND"
expect 0 "$C" --version
has out "cowcat "
expect 2 "$C"
expect 2 "$C" nosuch
has err "cowcat: error: unknown command"
for cmd in dump restore check stats sql inspect; do
    expect 0 "$C" "$cmd" --help
    has out "Usage: cowcat $cmd"
done
expect 2 "$C" dump
has err "no data directory given"
expect 2 "$C" check -D "$T/x" --bogus
has err "invalid option"

# sql: a new catalog only with --create; tags, tables, CSV, JSON, errors
expect 1 "$C" sql -D "$T/db" -c "SELECT 1"
has err "does not exist"
[ -e "$T/db" ] && fail "sql without --create created $T/db"
mkdir "$T/empty"
expect 1 "$C" sql -D "$T/empty" -c "SELECT 1"
has err "is not a cowcat data directory"
[ -n "$(ls -A "$T/empty")" ] && fail "sql without --create wrote into $T/empty"
expect 0 "$C" sql -D "$T/db" --create -c "CREATE TABLE t (a int PRIMARY KEY, b text)"
has out "CREATE TABLE"
expect 0 "$C" sql -D "$T/db" -c "SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = 'public'"
has out " table_name | table_type "
has out "------------+------------"
has out " t          | BASE TABLE"
has out "(1 row)"
expect 0 "$C" sql -D "$T/db" --csv -c "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
[ "$(cat "$T/out")" = "$(printf 'table_name\nt')" ] || fail "csv: $(cat "$T/out")"
expect 0 "$C" sql -D "$T/db" --json -c "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
[ "$(cat "$T/out")" = '[{"table_name":"t"}]' ] || fail "json: $(cat "$T/out")"
expect 1 "$C" sql -D "$T/db" -c "CREATE TABLE t (x int)"
has err 'ERROR:  42P07: relation "t" already exists'
printf 'CREATE VIEW v AS SELECT a FROM t;\nCREATE TABLE t (x int);\nCREATE INDEX i ON t (b);\n' >"$T/script.sql"
expect 1 "$C" sql -D "$T/db" -f "$T/script.sql"
has out "CREATE VIEW"
has out "CREATE INDEX"
has err "42P07"
expect 1 "$C" sql -D "$T/db" --on-error-stop -c "CREATE TABLE t (x int)" -c "CREATE TABLE after_stop (x int)"
expect 0 "$C" sql -D "$T/db" -c "SELECT count(*) FROM information_schema.tables WHERE table_name = 'after_stop'"
has out "     0"
echo "SELECT name FROM cowcat_catalog.roles WHERE name = 'cowcat';" | "$C" sql -D "$T/db" >"$T/out" 2>"$T/err" || fail "sql from stdin"
has out " cowcat"
expect 0 "$C" sql -D "$T/db" -U cowcat_system -c "ALTER SYSTEM SET max_tables = 77"
has out "ALTER SYSTEM"

# dump | inspect | restore | check | stats
expect 1 "$C" dump -D "$T/nope" -o "$T/nope.dump"
has err 'cowcat: error: data directory'
has err "does not exist"
[ -e "$T/nope.dump" ] && fail "a failed dump left a file"
expect 0 "$C" dump -D "$T/db" -o "$T/a.dump" -v
has err "cowcat: dumped"
expect 0 "$C" inspect "$T/a.dump"
has out "magic: cowcat-dump"
has out "(verified)"
has out "  table "
"$C" dump -D "$T/db" >"$T/b.dump" 2>"$T/err" || fail "dump to stdout"
cmp -s "$T/a.dump" "$T/b.dump" || fail "dump to a file and to stdout differ"
expect 0 "$C" restore -D "$T/copy" -i "$T/a.dump"
expect 0 "$C" check -D "$T/copy"
has out "check: ok"
"$C" restore -D "$T/copy2" <"$T/a.dump" >"$T/out" 2>"$T/err" || fail "restore from stdin"
expect 1 "$C" restore -D "$T/copy" -i "$T/a.dump"
has err "is not empty"
has err "--force"
expect 0 "$C" restore -D "$T/copy" -i "$T/a.dump" --force
expect 0 "$C" dump -D "$T/copy" -o "$T/c.dump"
cmp -s "$T/a.dump" "$T/c.dump" || fail "the restored catalog dumps differently"
expect 0 "$C" stats -D "$T/copy"
has out "objects by kind:"
has out "max_tables"
has out "77"
expect 0 "$C" stats -D "$T/copy" --json
has out '"kinds":{'
expect 0 "$C" sql -D "$T/copy" -c "SELECT value FROM cowcat_catalog.limits WHERE name = 'max_tables'"
has out "77"

# bad dumps: refused, nothing left
head -c $(($(wc -c <"$T/a.dump") - 100)) "$T/a.dump" >"$T/short.dump"
expect 1 "$C" restore -D "$T/bad" -i "$T/short.dump"
has err "truncated"
has err "SQLSTATE XX001"
expect 1 "$C" inspect "$T/short.dump"
printf 'hello' >"$T/hello.dump"
expect 1 "$C" inspect "$T/hello.dump"
has err "not a cowcat dump"
[ -e "$T/bad" ] && fail "a failed restore left $T/bad"
ls -a "$T" | grep -q '\.restore-' && fail "a failed restore left a temporary directory"
expect 1 "$C" check -D "$T"
has err "not a cowcat data directory"

if [ "$fails" -ne 0 ]; then
    echo "cli_test: $fails failure(s)"
    exit 1
fi
rm -rf "$T"
echo "cli_test: ok"
