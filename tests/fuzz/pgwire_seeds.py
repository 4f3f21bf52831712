#!/usr/bin/env python3
# tests/fuzz/pgwire_seeds.py — writes the handcrafted seed inputs of
# fuzz_pgwire (tests/fuzz/corpus/fuzz_pgwire/; checked in, so this runs only
# when they change): python3 tests/fuzz/pgwire_seeds.py tests/fuzz/corpus/fuzz_pgwire
# First byte: the mode of fuzz_pgwire.c (0 trust, 1 internal port, 2 SCRAM
# connection, 3 SCRAM directly, 7 mock SCRAM).
import struct
import sys


def msg(t, body=b""):
    return t + struct.pack(">i", len(body) + 4) + body


def cstr(s):
    return s.encode() + b"\0"


def startup(user="cowcat", database="cowcat", **params):
    body = struct.pack(">i", 196608) + cstr("user") + cstr(user)
    if database is not None:
        body += cstr("database") + cstr(database)
    for k, v in params.items():
        body += cstr(k) + cstr(v)
    body += b"\0"
    return struct.pack(">i", len(body) + 4) + body


def special(code, *ints):
    body = struct.pack(">i", code) + b"".join(struct.pack(">i", i) for i in ints)
    return struct.pack(">i", len(body) + 4) + body


def query(sql):
    return msg(b"Q", cstr(sql))


def parse(name, sql, types=()):
    return msg(b"P", cstr(name) + cstr(sql) + struct.pack(">h", len(types)) +
               b"".join(struct.pack(">i", t) for t in types))


def bind(portal, stmt, params=(), formats=(), result_formats=()):
    b = cstr(portal) + cstr(stmt) + struct.pack(">h", len(formats))
    b += b"".join(struct.pack(">h", f) for f in formats)
    b += struct.pack(">h", len(params))
    for p in params:
        if p is None:
            b += struct.pack(">i", -1)
        else:
            b += struct.pack(">i", len(p)) + p.encode()
    b += struct.pack(">h", len(result_formats))
    b += b"".join(struct.pack(">h", f) for f in result_formats)
    return msg(b"B", b)


def describe(kind, name):
    return msg(b"D", kind + cstr(name))


def execute(portal, rows=0):
    return msg(b"E", cstr(portal) + struct.pack(">i", rows))


def close(kind, name):
    return msg(b"C", kind + cstr(name))


SYNC, FLUSH, TERM = msg(b"S"), msg(b"H"), msg(b"X")
RFC_FIRST = b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
RFC_FINAL = (b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
             b"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")

seeds = {
    "simple-query": b"\0" + startup() + query("SELECT 1") +
    query("CREATE TABLE t (a int PRIMARY KEY, b text)") +
    query("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'") + TERM,
    "ssl-then-block": b"\0" + special(80877103) + startup() +
    query("BEGIN; CREATE TABLE t (a int); COMMIT") + query("BEGIN") +
    query("CREATE VIEW v AS SELECT a FROM t") + query("nonsense") + query("ROLLBACK") + TERM,
    "gss-ssl-startup-options": b"\0" + special(80877104) + special(80877103) +
    startup(options="-c search_path=app --application_name=fz", TimeZone="UTC",
            client_encoding="UTF8") + query("SHOW search_path") + query("") + TERM,
    "cancel-request": b"\0" + special(80877102, 1, 12345),
    "extended-select": b"\0" + startup() +
    parse("s1", "SELECT table_name FROM information_schema.tables WHERE table_schema = $1", (25,)) +
    describe(b"S", "s1") + bind("", "s1", ("public",), (0,), (0,)) + describe(b"P", "") +
    execute("") + SYNC + TERM,
    "extended-ddl-close": b"\0" + startup() +
    parse("", "CREATE TABLE t (a int, b text DEFAULT $1)") + bind("", "", ("x",)) +
    execute("") + close(b"S", "") + close(b"P", "") + SYNC + FLUSH +
    msg(b"F", b"\0\0\0\0") + SYNC + msg(b"d", b"x") + msg(b"c") + TERM,
    "extended-row-limit": b"\0" + startup() +
    parse("q", "SELECT column_name, data_type FROM information_schema.columns WHERE "
          "table_name = $1 AND ordinal_position > $2", (0, 23)) +
    bind("p1", "q", ("tables", "0")) + execute("p1", 2) + execute("p1", 2) + execute("p1") +
    bind("p2", "q", ("x", None)) + SYNC + parse("bad", "SELEC 1") + bind("", "bad") +
    execute("") + SYNC + TERM,
    "errors-in-string": b"\0" + startup(database=None) +
    query("CREATE TABLE a (x int); CREATE TABLE a (x int)") + query("DROP TABLE nosuch") +
    query("SELECT * FROM information_schema.schemata") + TERM,
    "unknown-message": b"\0" + startup() + msg(b"?", b"junk"),
    "bad-length": b"\0" + startup() + b"Q\x00\x00\x00\x02",
    "internal-port-system": b"\1" + startup(user="cowcat_system") +
    query("ALTER SYSTEM SET max_tables = 5") + query("CREATE ROLE alice LOGIN PASSWORD 'pw'") + TERM,
    "scram-connection": b"\2" + startup() +
    msg(b"p", cstr("SCRAM-SHA-256") + struct.pack(">i", len(b"n,,n=,r=abcdefgh")) +
        b"n,,n=,r=abcdefgh") +
    msg(b"p", b"c=biws,r=abcdefghXYZ,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="),
    "scram-rfc7677": b"\3" + RFC_FIRST + b"\0" + RFC_FINAL,
    "scram-mock": b"\7" + RFC_FIRST + b"\0" + RFC_FINAL,
    "scram-verifier": b"\3" + b"y,,n=,r=abc" + b"\0" + b"c=eSws,r=abc,p=AAAA" + b"\0" +
    b"SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:"
    b"wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=",
}

out = sys.argv[1]
for name, data in seeds.items():
    with open(f"{out}/{name}", "wb") as f:
        f.write(data)
