/*
 * tests/ddl/test_ddl_oom.c — allocation failures through every statement kind.
 *
 * For each statement kind the engine runs (the table below), on a small
 * prepared catalog: for N = 1, 2, ... make the N-th allocation fail
 * (cc_alloc_fail_at) and run the statement through cowcat_exec, until a run
 * completes without the failure firing. Every run must either
 *   - fail with 53200 (out of memory), leaving the published catalog's
 *     fingerprint and the session's settings as they were, cowcat_check
 *     clean, the session idle (a block: failed, and ROLLBACK ends it) and
 *     usable: the next statement works; or
 *   - give exactly the result of a run without the failure (the engine
 *     absorbed it: same rows, tags, notices, catalog — or, for a statement
 *     that fails anyway, the same error, DETAIL and HINT, nothing changed).
 * No failure may come after the durable append (every durable write moves
 * txn-wal's upper, so the sweep sees it): the engine takes the memory it
 * needs before writing, persist included (it prepares an append's trace and
 * history before the write and publishes them after). persist used to stop
 * the process (abort, "the log is intact") when it could not apply a durable
 * append to its own memory; such a stop now fails the sweep (its N is
 * reported; on the file backend the directory is still reopened and must
 * hold the state before or after the statement, nothing in between).
 *
 * The hook sees cowcat's allocations (cc_malloc and friends, and what
 * protobuf-c decodes through cc_protobuf_alloc), not libpg_query's: its
 * parser, deparser and scanner allocate with malloc inside the library, so a
 * parse itself never fails here — the cowcat side of it (the statement
 * split, the depth check, the unpacked tree) does.
 *
 * How: each statement kind is one Criterion test. A sweep runs in forked
 * children, so that a persist stop (SIGABRT) ends a child and the next one
 * starts, on a freshly prepared catalog, at the next N; a child that ends
 * normally closes everything and, under AddressSanitizer, runs
 * LeakSanitizer on what is left (a leak fails the sweep). A first child runs
 * the statement without failures to record the reference: fingerprints
 * before and after, hashes of the output and of an id-free dump, and how
 * many allocations it makes (the sweep's length; every N is run, none
 * sampled). The file backend runs with durability NONE (written, not
 * fdatasync'ed: a reopen in the same process sees the same log) and reopens
 * after every failure.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/hash.h"
#include "cowcat.h"
#include "oom_common.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#define OOM_LEAK_CHECK 1
#else
#define OOM_LEAK_CHECK 0
#endif

/* --- the statement kinds ------------------------------------------------------------- */

/* One statement kind: run as user on the prepared catalog. */
typedef struct oom_case {
    const char *name;     /* what the kind is, for messages */
    const char *user;     /* session role; NULL: cowcat */
    const char *sql;      /* the statement (or string of statements) */
    bool writes;          /* a successful run changes the catalog's fingerprint */
    bool block;           /* an explicit BEGIN ... COMMIT: a failure leaves the block failed */
    bool random;          /* the result has random parts (a SCRAM salt): compare only the tags */
    const char *in_block; /* NULL, or opens a block (unarmed) the statement then runs in: a
                           * failure must leave it failed, a success is committed (unarmed) */
    const char *expect;   /* NULL: the statement succeeds; else it fails with this SQLSTATE
                           * (and each N with 53200 or exactly that error) */
} oom_case;

/* The prepared catalog: a bit of everything the statements below touch. */
static const char *const prepare_sql[] = {
    "CREATE ROLE alice",
    "CREATE ROLE bob",
    "CREATE DATABASE other",
    "CREATE SCHEMA app",
    "CREATE TYPE mood AS ENUM ('sad', 'ok')",
    "CREATE TYPE unused AS ENUM ('a', 'b')",
    "CREATE TABLE users (id int PRIMARY KEY, name varchar(20) NOT NULL, m mood, UNIQUE (name))",
    "CREATE TABLE orders (id bigint PRIMARY KEY, user_id int REFERENCES users (id), "
    "note text DEFAULT 'none', CHECK (id > 0))",
    "CREATE VIEW big AS SELECT id, name FROM users WHERE id > 100",
    "CREATE MATERIALIZED VIEW totals AS SELECT user_id FROM orders",
    "CREATE INDEX orders_user ON orders (user_id)",
    "CREATE TABLE app.t1 (a int, b text)",
    "CREATE TABLE scratch (a int PRIMARY KEY, b text)",
    "CREATE VIEW app.v1 AS SELECT a FROM app.t1",
    "COMMENT ON TABLE users IS 'people'",
    "GRANT SELECT ON users TO alice",
    "GRANT CREATE ON SCHEMA app TO alice",
    "CREATE ROLE carl",
    "GRANT CREATE ON DATABASE cowcat TO carl",
};

/* Run as cowcat_system after prepare_sql. */
static const char *const prepare_system_sql[] = {
    "ALTER SYSTEM SET max_views = 50",
};

static const oom_case cases[] = {
    {.name = "CREATE DATABASE", .sql = "CREATE DATABASE db2", .writes = true},
    {.name = "CREATE SCHEMA", .sql = "CREATE SCHEMA s2", .writes = true},
    {.name = "CREATE TABLE with constraints and FKs",
     .sql = "CREATE TABLE t2 (a int PRIMARY KEY, b text NOT NULL DEFAULT 'x', "
            "c int REFERENCES users (id) ON DELETE CASCADE, d bigint, m mood, "
            "UNIQUE (b), CHECK (a > 0), FOREIGN KEY (d) REFERENCES orders (id))",
     .writes = true},
    {.name = "CREATE VIEW",
     .sql = "CREATE VIEW v2 AS SELECT u.id, u.name, o.note FROM users u JOIN orders o "
            "ON o.user_id = u.id WHERE u.id > 1",
     .writes = true},
    {.name = "CREATE MATERIALIZED VIEW",
     .sql = "CREATE MATERIALIZED VIEW mv2 AS SELECT id, name FROM users",
     .writes = true},
    {.name = "CREATE INDEX",
     .sql = "CREATE UNIQUE INDEX users_name_m ON users (name, m)",
     .writes = true},
    {.name = "CREATE ROLE", .sql = "CREATE ROLE carol LOGIN CREATEDB", .writes = true},
    {.name = "CREATE ROLE with a password",
     .sql = "CREATE ROLE dave LOGIN PASSWORD 'secret'",
     .writes = true,
     .random = true},
    {.name = "CREATE TYPE enum",
     .sql = "CREATE TYPE color AS ENUM ('red', 'green', 'blue')",
     .writes = true},
    {.name = "DROP TABLE", .sql = "DROP TABLE scratch", .writes = true},
    {.name = "DROP TABLE CASCADE", .sql = "DROP TABLE users CASCADE", .writes = true},
    {.name = "DROP VIEW", .sql = "DROP VIEW big", .writes = true},
    {.name = "DROP MATERIALIZED VIEW", .sql = "DROP MATERIALIZED VIEW totals", .writes = true},
    {.name = "DROP INDEX", .sql = "DROP INDEX orders_user", .writes = true},
    {.name = "DROP TYPE", .sql = "DROP TYPE unused", .writes = true},
    {.name = "DROP TYPE CASCADE", .sql = "DROP TYPE mood CASCADE", .writes = true},
    {.name = "DROP ROLE", .sql = "DROP ROLE bob", .writes = true},
    {.name = "DROP SCHEMA CASCADE", .sql = "DROP SCHEMA app CASCADE", .writes = true},
    {.name = "DROP DATABASE", .sql = "DROP DATABASE other", .writes = true},
    {.name = "ALTER TABLE RENAME", .sql = "ALTER TABLE users RENAME TO people", .writes = true},
    {.name = "ALTER TABLE ADD COLUMN",
     .sql = "ALTER TABLE orders ADD COLUMN extra int NOT NULL DEFAULT 0",
     .writes = true},
    {.name = "ALTER TABLE DROP COLUMN", .sql = "ALTER TABLE app.t1 DROP COLUMN b", .writes = true},
    {.name = "ALTER TABLE RENAME COLUMN",
     .sql = "ALTER TABLE users RENAME COLUMN name TO full_name",
     .writes = true},
    {.name = "ALTER TABLE OWNER TO",
     .user = "cowcat_system",
     .sql = "ALTER TABLE orders OWNER TO alice",
     .writes = true},
    {.name = "ALTER TABLE SET SCHEMA", .sql = "ALTER TABLE orders SET SCHEMA app", .writes = true},
    {.name = "ALTER ROLE", .sql = "ALTER ROLE alice LOGIN CREATEDB", .writes = true},
    {.name = "ALTER ROLE RENAME", .sql = "ALTER ROLE bob RENAME TO robert", .writes = true},
    {.name = "COMMENT ON", .sql = "COMMENT ON COLUMN orders.note IS 'free text'", .writes = true},
    {.name = "GRANT", .sql = "GRANT SELECT, INSERT ON orders TO bob", .writes = true},
    {.name = "REVOKE", .sql = "REVOKE SELECT ON users FROM alice", .writes = true},
    {.name = "ALTER SYSTEM SET",
     .user = "cowcat_system",
     .sql = "ALTER SYSTEM SET max_tables = 500",
     .writes = true},
    {.name = "ALTER SYSTEM RESET",
     .user = "cowcat_system",
     .sql = "ALTER SYSTEM RESET max_views",
     .writes = true},
    {.name = "CREATE TABLE by a non-owner with CREATE on the schema",
     .user = "alice",
     .sql = "CREATE TABLE app.alice_t (a int)",
     .writes = true},
    {.name = "CREATE SCHEMA by a non-owner with CREATE on the database",
     .user = "carl",
     .sql = "CREATE SCHEMA carls",
     .writes = true},
    {.name = "ALTER TABLE DROP COLUMN CASCADE",
     .sql = "ALTER TABLE users DROP COLUMN id CASCADE",
     .writes = true},
    {.name = "DROP TABLE RESTRICT with dependents (2BP01)",
     .sql = "DROP TABLE users",
     .expect = "2BP01"},
    {.name = "DROP ROLE with privileges (2BP01)", .sql = "DROP ROLE alice", .expect = "2BP01"},
    {.name = "CREATE TABLE that exists (42P07)",
     .sql = "CREATE TABLE orders (a int)",
     .expect = "42P07"},
    {.name = "CREATE SCHEMA without the privilege (42501)",
     .user = "bob",
     .sql = "CREATE SCHEMA bobs",
     .expect = "42501"},
    {.name = "SET", .sql = "SET search_path = app, public"},
    {.name = "SHOW", .sql = "SHOW search_path"},
    {.name = "BEGIN ... COMMIT block",
     .sql = "BEGIN; CREATE TABLE b1 (a int PRIMARY KEY); ALTER TABLE b1 ADD COLUMN b text; "
            "CREATE VIEW bv AS SELECT a, b FROM b1; COMMENT ON TABLE b1 IS 'in a block'; COMMIT",
     .writes = true,
     .block = true},
    {.name = "a statement inside an open block",
     .sql = "ALTER TABLE blk ADD COLUMN b text",
     .writes = true,
     .in_block = "BEGIN; CREATE TABLE blk (a int)"},
    {.name = "implicit multi-statement block",
     .sql = "CREATE TABLE i1 (a int); CREATE INDEX i1_a ON i1 (a); DROP VIEW big",
     .writes = true},
    {.name = "SHOW CREATE", .sql = "SHOW CREATE TABLE orders"},
    {.name = "SHOW TABLES", .sql = "SHOW TABLES"},
    {.name = "SELECT information_schema.tables", .sql = "SELECT * FROM information_schema.tables"},
    {.name = "SELECT information_schema.columns",
     .sql = "SELECT * FROM information_schema.columns"},
    {.name = "SELECT information_schema.views", .sql = "SELECT * FROM information_schema.views"},
    {.name = "SELECT information_schema.schemata",
     .sql = "SELECT * FROM information_schema.schemata"},
    {.name = "SELECT information_schema.table_constraints",
     .sql = "SELECT * FROM information_schema.table_constraints"},
    {.name = "SELECT information_schema.key_column_usage",
     .sql = "SELECT * FROM information_schema.key_column_usage"},
    {.name = "SELECT cowcat_catalog.objects",
     .sql = "SELECT * FROM cowcat_catalog.objects WHERE schema = 'public' ORDER BY name"},
    {.name = "SELECT cowcat_catalog.tables", .sql = "SELECT * FROM cowcat_catalog.tables"},
    {.name = "SELECT cowcat_catalog.views", .sql = "SELECT * FROM cowcat_catalog.views"},
    {.name = "SELECT cowcat_catalog.indexes", .sql = "SELECT * FROM cowcat_catalog.indexes"},
    {.name = "SELECT cowcat_catalog.types", .sql = "SELECT * FROM cowcat_catalog.types"},
    {.name = "SELECT cowcat_catalog.columns", .sql = "SELECT * FROM cowcat_catalog.columns"},
    {.name = "SELECT cowcat_catalog.schemas", .sql = "SELECT * FROM cowcat_catalog.schemas"},
    {.name = "SELECT cowcat_catalog.databases", .sql = "SELECT * FROM cowcat_catalog.databases"},
    {.name = "SELECT cowcat_catalog.roles", .sql = "SELECT * FROM cowcat_catalog.roles"},
    {.name = "SELECT cowcat_catalog.dependencies",
     .sql = "SELECT * FROM cowcat_catalog.dependencies"},
    {.name = "SELECT cowcat_catalog.comments", .sql = "SELECT * FROM cowcat_catalog.comments"},
    {.name = "SELECT cowcat_catalog.audit_events",
     .sql = "SELECT event_type, object_type FROM cowcat_catalog.audit_events"},
    {.name = "SELECT cowcat_catalog.limits", .sql = "SELECT * FROM cowcat_catalog.limits"},
};

/* The kinds also swept on the file backend (names of cases[]). */
static const char *const file_cases[] = {
    "CREATE TABLE with constraints and FKs",
    "DROP TABLE CASCADE",
    "ALTER TABLE RENAME COLUMN",
    "BEGIN ... COMMIT block",
    "ALTER SYSTEM SET",
};

/* --- a cowcat handle with the prepared catalog ------------------------------------- */

typedef struct fix {
    cowcat *db;
    cowcat_session *s;
    cowcat_options o;
    const char *user; /* the session's role; NULL: cowcat */
} fix;

/* --- child side: failures end the child with a message -------------------------------- */

/* What a child reports, in memory shared with the parent. */
typedef struct report {
    /* the reference run (first child) */
    uint64_t fp_before[2], fp_after[2];
    uint64_t settings_before, settings_after;
    uint64_t content_before, content_after;
    oom_out result;
    uint64_t error;  /* an expected error: hash of its SQLSTATE, message, DETAIL, HINT */
    uint64_t allocs; /* allocation calls of the statement without failures */
    /* the sweep */
    uint64_t cur;            /* the N being run: names the N of a child that aborted */
    uint64_t next;           /* where the next child starts; 0: the sweep reached the end */
    uint64_t last;           /* the N that ran without the failure firing */
    uint64_t failures;       /* N that failed with 53200 and changed nothing */
    uint64_t absorbed;       /* N whose failure did not change the result */
    uint64_t absorbed_first; /* the first of them */
    uint64_t leaks;          /* children whose LeakSanitizer check found leaks */
    char msg[1024];          /* why the child failed */
} report;

static report *rep; /* shared with the children (MAP_SHARED) */

static _Noreturn void __attribute__((format(printf, 1, 2))) child_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rep->msg, sizeof rep->msg, fmt, ap);
    va_end(ap);
    fflush(NULL);
    _exit(3);
}

static void
fix_session(fix *f)
{
    cowcat_error err;
    cowcat_session_options so = {.user = f->user};
    if (cowcat_session_open(f->db, &so, &f->s, &err) != COWCAT_OK)
        child_fail("session_open: %s %s", err.sqlstate, err.message);
}

static void
fix_open(fix *f)
{
    cowcat_error err;
    if (cowcat_open(&f->o, &f->db, &err) != COWCAT_OK)
        child_fail("cowcat_open: %s %s", err.sqlstate, err.message);
    fix_session(f);
}

static void
fix_close(fix *f)
{
    cowcat_session_close(f->s);
    cowcat_close(f->db);
    f->s = NULL;
    f->db = NULL;
}

static void
exec_as(cowcat *db, const char *user, const char *sql)
{
    cowcat_session *s;
    cowcat_error err;
    cowcat_session_options so = {.user = user};
    if (cowcat_session_open(db, &so, &s, &err) != COWCAT_OK)
        child_fail("session_open %s: %s", user != NULL ? user : "(default user)", err.message);
    if (cowcat_exec(s, sql, NULL, NULL, &err) != COWCAT_OK)
        child_fail("prepare: %s: %s %s", sql, err.sqlstate, err.message);
    cowcat_session_close(s);
}

/* Opens o (a fresh catalog), prepares it, then opens the session (its role may be new). */
static void
fix_prepare(fix *f)
{
    cowcat_error err;
    if (cowcat_open(&f->o, &f->db, &err) != COWCAT_OK)
        child_fail("cowcat_open: %s %s", err.sqlstate, err.message);
    for (size_t i = 0; i < sizeof prepare_sql / sizeof *prepare_sql; i++)
        exec_as(f->db, NULL, prepare_sql[i]);
    for (size_t i = 0; i < sizeof prepare_system_sql / sizeof *prepare_system_sql; i++)
        exec_as(f->db, "cowcat_system", prepare_system_sql[i]);
    fix_session(f);
}

static void
fingerprint(fix *f, uint64_t fp[2])
{
    cowcat_error err;
    if (oom_fingerprint(f->s, fp, &err) != COWCAT_OK)
        child_fail("snapshot_open: %s", err.message);
}

/* A hash of the session's settings (SHOW ALL). */
static uint64_t
settings(fix *f)
{
    oom_out o = {0};
    cowcat_error err;
    if (cowcat_exec(f->s, "SHOW ALL", &oom_out_cbs, &o, &err) != COWCAT_OK)
        child_fail("SHOW ALL: %s %s", err.sqlstate, err.message);
    return o.h;
}

/*
 * What the catalog holds, without ids and OIDs: those differ after a
 * reopen (allocators move past their reserved blocks), so a reopened
 * catalog is compared with the reference this way.
 */
static const char *const content_sql[] = {
    "SELECT kind, database, schema, name, owner FROM cowcat_catalog.objects "
    "ORDER BY kind, database, schema, name",
    "SELECT database, schema, name, owner, create_sql FROM cowcat_catalog.tables "
    "ORDER BY database, schema, name",
    "SELECT database, schema, name, owner, definition, create_sql FROM cowcat_catalog.views "
    "ORDER BY database, schema, name",
    "SELECT database, schema, name, table_name, create_sql FROM cowcat_catalog.indexes "
    "ORDER BY database, schema, name",
    "SELECT database, schema, relation, position, name, type, nullable, default_expr "
    "FROM cowcat_catalog.columns ORDER BY database, schema, relation, position",
    "SELECT object, object_kind, referenced, referenced_kind FROM cowcat_catalog.dependencies "
    "ORDER BY object, object_kind, referenced, referenced_kind",
    "SELECT object, object_kind, column_position, comment FROM cowcat_catalog.comments "
    "ORDER BY object, object_kind, column_position",
    "SELECT name, superuser, login, inherit, create_db, create_role FROM cowcat_catalog.roles "
    "ORDER BY name",
    "SELECT name, value, current FROM cowcat_catalog.limits ORDER BY name",
};

static uint64_t
content(fix *f)
{
    oom_out o = {0};
    cowcat_error err;
    for (size_t i = 0; i < sizeof content_sql / sizeof *content_sql; i++)
        if (cowcat_exec(f->s, content_sql[i], &oom_out_cbs, &o, &err) != COWCAT_OK)
            child_fail("%s: %s %s", content_sql[i], err.sqlstate, err.message);
    return o.h;
}

static uint64_t
txns_upper(fix *f)
{
    cowcat_stats st;
    cowcat_stats_get(f->db, &st);
    return st.txns_upper;
}

static void
check_clean(fix *f, uint64_t n, const char *when)
{
    cowcat_error err;
    if (cowcat_check(f->db, &err) != COWCAT_OK)
        child_fail("N=%llu %s: cowcat_check: %s", (unsigned long long)n, when, err.message);
}

/* Closes f, runs LeakSanitizer (sanitizer builds) and ends the child. */
static _Noreturn void
child_end(fix *f)
{
    fix_close(f);
#if OOM_LEAK_CHECK
    if (__lsan_do_recoverable_leak_check() != 0)
        rep->leaks++;
#endif
    fflush(NULL);
    _exit(0);
}

/*
 * Runs the case's statement with the n-th allocation failing (n = 0: none,
 * counting them into *calls); *fired: the failure happened. A case in a
 * block opens it first and commits it after a success, both unarmed.
 */
static cowcat_code
run_statement(const oom_case *k, fix *f, uint64_t n, oom_out *o, cowcat_error *err, bool *fired,
              uint64_t *calls)
{
    if (k->in_block != NULL && cowcat_exec(f->s, k->in_block, NULL, NULL, err) != COWCAT_OK)
        child_fail("%s: %s %s", k->in_block, err->sqlstate, err->message);
    memset(err, 0, sizeof *err);
    if (n == 0)
        cc_alloc_count_start();
    else
        cc_alloc_fail_at(n);
    cowcat_code rc = cowcat_exec(f->s, k->sql, &oom_out_cbs, o, err);
    *fired = cc_alloc_failed();
    *calls = cc_alloc_calls();
    cc_alloc_fail_at(0);
    if (k->in_block != NULL && rc == COWCAT_OK) {
        cowcat_error e2;
        if (cowcat_exec(f->s, "COMMIT", NULL, NULL, &e2) != COWCAT_OK)
            child_fail("N=%llu: COMMIT after the statement: %s %s", (unsigned long long)n,
                       e2.sqlstate, e2.message);
    }
    return rc;
}

/* The reference run: the statement without failures on a fresh catalog. */
static _Noreturn void
child_reference(const oom_case *k, fix *f)
{
    fix_prepare(f);
    fingerprint(f, rep->fp_before);
    rep->settings_before = settings(f);
    rep->content_before = content(f);
    oom_out o = {0};
    cowcat_error err;
    bool fired;
    cowcat_code rc = run_statement(k, f, 0, &o, &err, &fired, &rep->allocs);
    if (k->expect == NULL && rc != COWCAT_OK)
        child_fail("%s without failures: %s %s", k->sql, err.sqlstate, err.message);
    if (k->expect != NULL && (rc == COWCAT_OK || strcmp(err.sqlstate, k->expect) != 0))
        child_fail("%s without failures: expected %s, got %s %s", k->sql, k->expect,
                   rc == COWCAT_OK ? "success" : err.sqlstate, err.message);
    if (k->expect != NULL)
        rep->error = oom_error_hash(&err);
    rep->result = o;
    fingerprint(f, rep->fp_after);
    rep->settings_after = settings(f);
    rep->content_after = content(f);
    /* Where the comparison is by content (is_after), the content must show the change. */
    if ((f->o.backend == COWCAT_BACKEND_FILE || k->random) &&
        k->writes == (rep->content_before == rep->content_after))
        child_fail("%s: the content queries do not see the change", k->sql);
    if (k->writes == oom_fp_eq(rep->fp_before, rep->fp_after))
        child_fail("%s %s the catalog's fingerprint", k->sql,
                   k->writes ? "did not change" : "changed");
    child_end(f);
}

/*
 * Is the catalog the one the statement makes? Exactly (the fingerprint) on
 * the mem backend; by content where ids may differ (a reopened file
 * catalog) or the result is random.
 */
static bool
is_after(const oom_case *k, fix *f)
{
    if (f->o.backend == COWCAT_BACKEND_FILE || k->random)
        return content(f) == rep->content_after;
    uint64_t fp[2];
    fingerprint(f, fp);
    return oom_fp_eq(fp, rep->fp_after);
}

/* Did the run give the reference result? */
static bool
same_result(const oom_case *k, const oom_out *o)
{
    return k->random ? o->tags == rep->result.tags : o->h == rep->result.h;
}

/*
 * After a 53200 before the durable append: nothing changed and the session
 * works. On the file backend also after a reopen.
 */
static void
check_unchanged(const oom_case *k, fix *f, uint64_t n, const cowcat_error *err)
{
    cowcat_error e2;
    cowcat_txn_status st = cowcat_session_status(f->s);
    if (k->in_block != NULL && st != COWCAT_TXN_FAILED)
        child_fail("N=%llu: the failure (%s) left the block in status '%c', not failed",
                   (unsigned long long)n, err->message, (char)st);
    if ((k->block || k->in_block != NULL) && st == COWCAT_TXN_FAILED) {
        if (cowcat_exec(f->s, "ROLLBACK", NULL, NULL, &e2) != COWCAT_OK)
            child_fail("N=%llu: ROLLBACK after the failure: %s", (unsigned long long)n, e2.message);
        st = cowcat_session_status(f->s);
    }
    if (st != COWCAT_TXN_IDLE)
        child_fail("N=%llu: the session is left in status '%c' (%s)", (unsigned long long)n,
                   (char)st, err->message);
    uint64_t fp[2];
    fingerprint(f, fp);
    if (!oom_fp_eq(fp, rep->fp_before))
        child_fail("N=%llu: the failure (%s) changed the catalog", (unsigned long long)n,
                   err->message);
    if (settings(f) != rep->settings_before)
        child_fail("N=%llu: the failure (%s) changed the session's settings", (unsigned long long)n,
                   err->message);
    check_clean(f, n, "after the failure");
    oom_out o = {0};
    if (cowcat_exec(f->s, "SELECT count(*) FROM cowcat_catalog.objects", &oom_out_cbs, &o, &e2) !=
        COWCAT_OK)
        child_fail("N=%llu: the next statement fails: %s %s", (unsigned long long)n, e2.sqlstate,
                   e2.message);
    if (f->o.backend == COWCAT_BACKEND_FILE) {
        fix_close(f);
        fix_open(f);
        fingerprint(f, fp);
        if (!oom_fp_eq(fp, rep->fp_before))
            child_fail("N=%llu: reopened after the failure (%s), the catalog differs",
                       (unsigned long long)n, err->message);
        check_clean(f, n, "reopened after the failure");
    }
}

/* Sweeps N = start, start + 1, ... on a freshly prepared catalog. */
static _Noreturn void
child_sweep(const oom_case *k, fix *f, uint64_t start)
{
    fix_prepare(f);
    for (uint64_t n = start;; n++) {
        rep->cur = n;
        uint64_t upper = txns_upper(f);
        oom_out o = {0};
        cowcat_error err;
        bool fired;
        uint64_t calls;
        cowcat_code rc = run_statement(k, f, n, &o, &err, &fired, &calls);
        if (!fired) {
            if (k->expect == NULL && rc != COWCAT_OK)
                child_fail("N=%llu: failed without an injected failure: %s %s",
                           (unsigned long long)n, err.sqlstate, err.message);
            if (k->expect != NULL && (rc == COWCAT_OK || oom_error_hash(&err) != rep->error))
                child_fail("N=%llu: without an injected failure, not the expected error: %s %s",
                           (unsigned long long)n, err.sqlstate, err.message);
            if (!same_result(k, &o) || !is_after(k, f))
                child_fail("N=%llu: the run past the last allocation gave another result",
                           (unsigned long long)n);
            rep->last = n;
            rep->next = 0;
            child_end(f);
        }
        if (rc == COWCAT_OK) {
            /* The engine absorbed the failure: only if nothing shows it. */
            if (k->expect != NULL || !same_result(k, &o) || !is_after(k, f) ||
                (!k->random && settings(f) != rep->settings_after))
                child_fail("N=%llu: succeeded despite the failure, with another result",
                           (unsigned long long)n);
            check_clean(f, n, "after an absorbed failure");
            if (rep->absorbed++ == 0)
                rep->absorbed_first = n;
            rep->next = n + 1;
            if (!k->writes && rep->settings_after == rep->settings_before)
                continue; /* nothing changed: go on with the same handle */
            child_end(f);
        }
        if (txns_upper(f) != upper)
            child_fail("N=%llu: failed (%s %s) after the durable append: the statement is on "
                       "disk but not in the catalog",
                       (unsigned long long)n, err.sqlstate, err.message);
        if (k->expect != NULL && oom_error_hash(&err) == rep->error) {
            /* The expected error despite the failure: absorbed on its way there. */
            if (rep->absorbed++ == 0)
                rep->absorbed_first = n;
            check_unchanged(k, f, n, &err);
            continue;
        }
        if (strcmp(err.sqlstate, "53200") != 0 || err.code != COWCAT_NOMEM)
            child_fail("N=%llu: expected 53200, got %s (%s): %s", (unsigned long long)n,
                       err.sqlstate, cowcat_code_name(err.code), err.message);
        rep->failures++;
        check_unchanged(k, f, n, &err);
    }
}

/* After persist stopped a file-backed child: the log holds the state before or after. */
static _Noreturn void
child_verify(const oom_case *k, fix *f)
{
    fix_open(f);
    uint64_t fp[2];
    fingerprint(f, fp);
    if (!oom_fp_eq(fp, rep->fp_before) && !is_after(k, f))
        child_fail("N=%llu: after persist stopped, the reopened catalog is neither the state "
                   "before nor the one after the statement",
                   (unsigned long long)rep->cur);
    check_clean(f, rep->cur, "reopened after persist stopped");
    child_end(f);
}

/* --- parent side ---------------------------------------------------------------------- */

typedef enum child_kind { CHILD_REFERENCE, CHILD_SWEEP, CHILD_VERIFY } child_kind;

static const char *const child_names[] = {"reference", "sweep", "verify"};

/* How a child ended. */
typedef enum child_end_kind { ENDED_OK, ENDED_PERSIST_STOP } child_end_kind;

static void
fresh_dir(char *dir, size_t n)
{
    snprintf(dir, n, "/tmp/cowcat-oom-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void
remove_dir(const char *dir)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

/*
 * Runs one child; its stderr is collected and copied to ours. A child that
 * fails fails the test; SIGABRT with persist's message is a persist stop.
 */
static child_end_kind
run_child(const oom_case *k, child_kind what, const char *dir, uint64_t start)
{
    FILE *errf = tmpfile();
    cr_assert_not_null(errf);
    fflush(NULL);
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        dup2(fileno(errf), STDERR_FILENO);
        fix f = {.user = k->user};
        f.o.backend = dir != NULL ? COWCAT_BACKEND_FILE : COWCAT_BACKEND_MEMORY;
        f.o.data_dir = dir;
        f.o.durability = COWCAT_DURABILITY_NONE;
        switch (what) {
        case CHILD_REFERENCE:
            child_reference(k, &f);
        case CHILD_SWEEP:
            child_sweep(k, &f, start);
        case CHILD_VERIFY:
            child_verify(k, &f);
        }
        _exit(4);
    }
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    char text[8192];
    rewind(errf);
    size_t got = fread(text, 1, sizeof text - 1, errf);
    text[got] = '\0';
    fclose(errf);
    if (WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT &&
        strncmp(text, "persist: out of memory", 22) == 0 && strchr(text, '\n') == text + got - 1 &&
        what == CHILD_SWEEP)
        return ENDED_PERSIST_STOP; /* its one line said so: not worth repeating */
    /* Copy what the child said, but LeakSanitizer's note that the parent's other
     * threads (Criterion's) were not suspended: a fork has none of them. */
    for (char *line = text; *line != '\0';) {
        size_t len = strcspn(line, "\n");
        char keep = line[len];
        line[len] = '\0';
        if (strstr(line, "was not suspended. False leaks are possible.") == NULL)
            fprintf(stderr, "%s\n", line);
        line[len] = keep;
        line += len + (keep != '\0');
    }
    if (dir != NULL && !(WIFEXITED(st) && WEXITSTATUS(st) == 0 && rep->leaks == 0))
        remove_dir(dir); /* the test fails below: leave nothing behind */
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s (%s): %s%s", k->name, child_names[what],
              rep->msg[0] ? rep->msg : "the child died: ", rep->msg[0] ? "" : text);
    cr_assert_eq(rep->leaks, 0,
                 "%s: LeakSanitizer found leaks in a %s child (N up to %llu; see above)", k->name,
                 child_names[what], (unsigned long long)rep->cur);
    return ENDED_OK;
}

/* The whole sweep of one kind on one backend. */
static void
sweep(const oom_case *k, bool file)
{
    rep = mmap(NULL, sizeof *rep, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(rep, MAP_FAILED);
    memset(rep, 0, sizeof *rep);
    /* The seed is drawn on first use: draw it here, so every child hashes alike
     * and fingerprints compare across children. */
    (void)cc_hash_seed();
    char dir[64];
    if (file)
        fresh_dir(dir, sizeof dir);
    run_child(k, CHILD_REFERENCE, file ? dir : NULL, 0);
    if (file)
        remove_dir(dir);
    uint64_t allocs = rep->allocs, children = 0, stops = 0;
    cr_assert_gt(allocs, 0, "%s: the statement allocates nothing through the hook", k->name);
    for (uint64_t start = 1; start != 0;) {
        if (file)
            fresh_dir(dir, sizeof dir);
        rep->next = 0;
        rep->msg[0] = '\0';
        children++;
        if (run_child(k, CHILD_SWEEP, file ? dir : NULL, start) == ENDED_PERSIST_STOP) {
            stops++;
            if (file)
                run_child(k, CHILD_VERIFY, dir, 0);
            rep->next = rep->cur + 1;
        }
        if (file)
            remove_dir(dir);
        cr_assert(rep->next == 0 || rep->next > start, "%s: the sweep does not advance", k->name);
        start = rep->next;
    }
    cr_assert_gt(rep->failures, 0, "%s: no N failed", k->name);
    cr_assert_eq(stops, 0, "%s: %llu N stopped the process in persist after a durable append",
                 k->name, (unsigned long long)stops);
    /* A reopened file catalog may allocate a little more (an id block to reserve). */
    cr_assert(file ? rep->last > allocs / 2 : rep->last == allocs + 1,
              "%s: the sweep ended at N=%llu, the statement makes %llu allocations", k->name,
              (unsigned long long)rep->last, (unsigned long long)allocs);
    char absorbed[64] = "";
    if (rep->absorbed > 0)
        snprintf(absorbed, sizeof absorbed, " (first N=%llu)",
                 (unsigned long long)rep->absorbed_first);
    fprintf(stderr,
            "ddl_oom %-44s %s: N=1..%llu: %llu x 53200 unchanged, %llu absorbed%s, %llu persist "
            "stops (%llu children)\n",
            k->name, file ? "file" : "mem ", (unsigned long long)rep->last - 1,
            (unsigned long long)rep->failures, (unsigned long long)rep->absorbed, absorbed,
            (unsigned long long)stops, (unsigned long long)children);
    munmap(rep, sizeof *rep);
    rep = NULL;
}

/*
 * Parameters are indexes into cases[]: Criterion copies parameters into its
 * workers, where pointers into the runner's image would not be valid.
 */
#define NCASES      (sizeof cases / sizeof *cases)
#define NFILE_CASES (sizeof file_cases / sizeof *file_cases)

ParameterizedTestParameters(ddl_oom, every_allocation_failure_is_53200_and_changes_nothing)
{
    static size_t idx[NCASES];
    for (size_t i = 0; i < NCASES; i++)
        idx[i] = i;
    return cr_make_param_array(size_t, idx, NCASES);
}

ParameterizedTest(size_t *i, ddl_oom, every_allocation_failure_is_53200_and_changes_nothing)
{
    sweep(&cases[*i], false);
}

ParameterizedTestParameters(ddl_oom, on_the_file_backend_a_reopen_finds_nothing_half_written)
{
    static size_t idx[NFILE_CASES];
    for (size_t i = 0; i < NFILE_CASES; i++) {
        idx[i] = NCASES;
        for (size_t j = 0; j < NCASES; j++)
            if (strcmp(cases[j].name, file_cases[i]) == 0)
                idx[i] = j;
    }
    return cr_make_param_array(size_t, idx, NFILE_CASES);
}

ParameterizedTest(size_t *i, ddl_oom, on_the_file_backend_a_reopen_finds_nothing_half_written)
{
    cr_assert_lt(*i, NCASES, "a file case names no kind of cases[]");
    sweep(&cases[*i], true);
}
