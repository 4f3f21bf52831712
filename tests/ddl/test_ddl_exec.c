/*
 * tests/ddl/test_ddl_exec.c — the embedded API's execution model: splitting
 * strings, transaction blocks (explicit and implicit), errors and their
 * positions, sessions, snapshots, subscriptions, restart.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cowcat.h"
#include "persist/io.h"

/* --- fixture -------------------------------------------------------------------------- */

static cowcat *db;
static cowcat_session *s;

static void
setup(void)
{
    cowcat_options o = {.backend = COWCAT_BACKEND_MEMORY};
    cowcat_error err;
    cr_assert_eq(cowcat_open(&o, &db, &err), COWCAT_OK, "%s", err.message);
    cr_assert_eq(cowcat_session_open(db, NULL, &s, &err), COWCAT_OK, "%s", err.message);
}

static void
teardown(void)
{
    cowcat_session_close(s);
    cowcat_close(db);
}

TestSuite(exec, .init = setup, .fini = teardown);

/* What a statement string produced, as text: tags, notices and rows. */
typedef struct out {
    char buf[4096];
} out;

static void
append(out *o, const char *fmt, const char *a)
{
    size_t n = strlen(o->buf);
    snprintf(o->buf + n, sizeof o->buf - n, fmt, a);
}

static int
on_columns(void *arg, const cowcat_column *cols, size_t n)
{
    for (size_t i = 0; i < n; i++)
        append(arg, i ? ",%s" : "[%s", cols[i].name);
    append(arg, "%s]", "");
    return 0;
}

static int
on_row(void *arg, const char *const *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        append(arg, i ? ",%s" : "(%s", v[i] ? v[i] : "NULL");
    append(arg, "%s)", "");
    return 0;
}

static void
on_complete(void *arg, const char *tag)
{
    append(arg, "<%s>", tag);
}

static void
on_notice(void *arg, const cowcat_error *n)
{
    append(arg, "{%s}", n->sqlstate);
}

static const cowcat_callbacks cbs = {on_columns, on_row, on_complete, on_notice};

/* Runs sql; returns the code and fills *o and *err. */
static cowcat_code
run(const char *sql, out *o, cowcat_error *err)
{
    memset(o, 0, sizeof *o);
    return cowcat_exec(s, sql, &cbs, o, err);
}

static void
ok(const char *sql)
{
    out o;
    cowcat_error err;
    cr_assert_eq(run(sql, &o, &err), COWCAT_OK, "%s: %s %s", sql, err.sqlstate, err.message);
}

static int
has(const char *name)
{
    cowcat_snapshot *snap;
    cowcat_object obj;
    cr_assert_eq(cowcat_snapshot_open(s, &snap, NULL), COWCAT_OK);
    int r = cowcat_snapshot_find(snap, name, &obj, NULL) == COWCAT_OK;
    cowcat_snapshot_close(snap);
    return r;
}

static void
fp(uint64_t f[2])
{
    cowcat_snapshot *snap;
    cr_assert_eq(cowcat_snapshot_open(s, &snap, NULL), COWCAT_OK);
    cowcat_snapshot_fingerprint(snap, f);
    cowcat_snapshot_close(snap);
}

/* --- splitting ------------------------------------------------------------------------- */

Test(exec, semicolons_inside_quotes_comments_and_dollar_quotes_do_not_split)
{
    out o;
    cowcat_error err;
    cr_assert_eq(run("CREATE TABLE \"a;b\" (x int); -- c;d\n"
                     "COMMENT ON TABLE \"a;b\" IS 'x;y'; /* e; /* nested; */ f; */"
                     "COMMENT ON TABLE \"a;b\" IS $t$p;q$t$; COMMENT ON TABLE \"a;b\" IS E'r\\';s'",
                     &o, &err),
                 COWCAT_OK, "%s", err.message);
    cr_assert_str_eq(o.buf, "<CREATE TABLE><COMMENT><COMMENT><COMMENT>");
    cr_assert(has("\"a;b\""));
}

Test(exec, an_empty_string_runs_nothing)
{
    out o;
    cowcat_error err;
    cr_assert_eq(run("  ; -- nothing\n ;", &o, &err), COWCAT_OK);
    cr_assert_str_eq(o.buf, "");
}

Test(exec, a_syntax_error_reports_the_position_in_the_whole_string)
{
    out o;
    cowcat_error err;
    cr_assert_eq(run("CREATE TABLE a (x int); SELEC 1", &o, &err), COWCAT_PARSE);
    cr_assert_str_eq(err.sqlstate, "42601");
    cr_assert_str_eq(err.message, "syntax error at or near \"SELEC\"");
    cr_assert_eq(err.position, 25);
    /* the string was one implicit transaction: the table is not there */
    cr_assert_not(has("a"));
}

Test(exec, positions_count_characters_not_bytes)
{
    out o;
    cowcat_error err;
    cr_assert_eq(run("COMMENT ON SCHEMA public IS 'é'; SELEC 1", &o, &err), COWCAT_PARSE);
    cr_assert_eq(err.position, 34);
}

Test(exec, unsupported_statements_fail_with_0A000_and_change_nothing)
{
    uint64_t a[2], b[2];
    fp(a);
    out o;
    cowcat_error err;
    cr_assert_eq(run("INSERT INTO t VALUES (1)", &o, &err), COWCAT_INVALID);
    cr_assert_str_eq(err.sqlstate, "0A000");
    cr_assert_str_eq(err.message, "feature not supported: INSERT");
    cr_assert_eq(run("CREATE FUNCTION f() RETURNS int AS 'select 1' LANGUAGE sql", &o, &err),
                 COWCAT_INVALID);
    cr_assert_str_eq(err.message, "feature not supported: CREATE FUNCTION");
    fp(b);
    cr_assert(a[0] == b[0] && a[1] == b[1]);
}

/* --- transaction blocks -------------------------------------------------------------------- */

Test(exec, a_multi_statement_string_is_atomic)
{
    out o;
    cowcat_error err;
    cr_assert_eq(run("CREATE TABLE a (x int); CREATE TABLE b (x int); CREATE TABLE a (y int)", &o,
                     &err),
                 COWCAT_EXISTS);
    cr_assert_str_eq(err.sqlstate, "42P07");
    cr_assert_eq(err.position, 0, "PostgreSQL gives no position for 42P07");
    cr_assert_str_eq(o.buf, "<CREATE TABLE><CREATE TABLE>");
    cr_assert_not(has("a"));
    cr_assert_not(has("b"));
    cr_assert_eq(cowcat_session_status(s), COWCAT_TXN_IDLE);

    cowcat_stats before, after;
    cowcat_stats_get(db, &before);
    ok("CREATE TABLE a (x int); CREATE TABLE b (x int); CREATE VIEW v AS SELECT x FROM a");
    cowcat_stats_get(db, &after);
    cr_assert_eq(after.commits - before.commits, 1, "one durable write for the string");
    cr_assert(has("a") && has("b") && has("v"));
}

Test(exec, statements_in_a_block_see_its_changes_and_others_do_not)
{
    cowcat_session *other;
    cr_assert_eq(cowcat_session_open(db, NULL, &other, NULL), COWCAT_OK);
    ok("BEGIN");
    cr_assert_eq(cowcat_session_status(s), COWCAT_TXN_BLOCK);
    ok("CREATE TABLE a (x int)");
    ok("CREATE VIEW v AS SELECT x FROM a");
    cr_assert(has("a"));
    /* another session's snapshot does not see the open block */
    cowcat_snapshot *snap;
    cowcat_object obj;
    cr_assert_eq(cowcat_snapshot_open(other, &snap, NULL), COWCAT_OK);
    cr_assert_eq(cowcat_snapshot_find(snap, "a", &obj, NULL), COWCAT_NOT_FOUND);
    cowcat_snapshot_close(snap);
    ok("COMMIT");
    cr_assert_eq(cowcat_session_status(s), COWCAT_TXN_IDLE);
    cr_assert_eq(cowcat_snapshot_open(other, &snap, NULL), COWCAT_OK);
    cr_assert_eq(cowcat_snapshot_find(snap, "a", &obj, NULL), COWCAT_OK);
    cr_assert_str_eq(obj.kind_name, "table");
    cr_assert_str_eq(obj.schema, "public");
    cr_assert_str_eq(obj.database, "cowcat");
    cr_assert_str_eq(obj.owner, "cowcat");
    cr_assert_str_eq(obj.create_sql, "CREATE TABLE a (x int)");
    cowcat_snapshot_close(snap);
    cowcat_session_close(other);
}

Test(exec, an_error_fails_the_block_until_rollback)
{
    out o;
    cowcat_error err;
    ok("BEGIN");
    ok("CREATE TABLE a (x int)");
    cr_assert_eq(run("CREATE TABLE a (x int)", &o, &err), COWCAT_EXISTS);
    cr_assert_eq(cowcat_session_status(s), COWCAT_TXN_FAILED);
    cr_assert_eq(run("CREATE TABLE b (x int)", &o, &err), COWCAT_INVALID);
    cr_assert_str_eq(err.sqlstate, "25P02");
    cr_assert_eq(run("SELECT 1", &o, &err), COWCAT_INVALID);
    cr_assert_str_eq(err.sqlstate, "25P02");
    /* COMMIT of a failed block rolls back, as PostgreSQL does */
    cr_assert_eq(run("COMMIT", &o, &err), COWCAT_OK);
    cr_assert_str_eq(o.buf, "<ROLLBACK>");
    cr_assert_eq(cowcat_session_status(s), COWCAT_TXN_IDLE);
    cr_assert_not(has("a"));
    /* the write slot was released: another session can write */
    ok("CREATE TABLE c (x int)");
    cr_assert(has("c"));
}

Test(exec, rollback_discards_the_block)
{
    uint64_t a[2], b[2];
    fp(a);
    ok("BEGIN; CREATE TABLE a (x int); CREATE SCHEMA s2");
    cr_assert_eq(cowcat_session_status(s), COWCAT_TXN_BLOCK);
    ok("ROLLBACK");
    fp(b);
    cr_assert(a[0] == b[0] && a[1] == b[1]);
}

Test(exec, transaction_control_outside_a_block_warns)
{
    out o;
    cowcat_error err;
    cr_assert_eq(run("COMMIT", &o, &err), COWCAT_OK);
    cr_assert_str_eq(o.buf, "{25P01}<COMMIT>");
    cr_assert_eq(run("ROLLBACK", &o, &err), COWCAT_OK);
    cr_assert_str_eq(o.buf, "{25P01}<ROLLBACK>");
    ok("BEGIN");
    cr_assert_eq(run("BEGIN", &o, &err), COWCAT_OK);
    cr_assert_str_eq(o.buf, "{25001}<BEGIN>");
    ok("ROLLBACK");
}

Test(exec, the_api_commit_of_a_failed_block_is_an_error)
{
    cowcat_error err;
    cr_assert_eq(cowcat_begin(s, &err), COWCAT_OK);
    cr_assert_neq(cowcat_exec(s, "DROP TABLE nosuch", NULL, NULL, &err), COWCAT_OK);
    cr_assert_eq(cowcat_commit(s, &err), COWCAT_INVALID);
    cr_assert_str_eq(err.sqlstate, "25P02");
    cr_assert_eq(cowcat_session_status(s), COWCAT_TXN_IDLE);
}

Test(exec, closing_a_session_rolls_its_block_back_and_frees_the_slot)
{
    cowcat_session *other;
    cr_assert_eq(cowcat_session_open(db, NULL, &other, NULL), COWCAT_OK);
    cr_assert_eq(cowcat_exec(other, "BEGIN; CREATE TABLE a (x int)", NULL, NULL, NULL), COWCAT_OK);
    cowcat_session_close(other);
    ok("CREATE TABLE b (x int)");
    cr_assert_not(has("a"));
    cr_assert(has("b"));
}

Test(exec, commit_sequence_numbers_follow_commit_order)
{
    ok("CREATE TABLE a (x int)");
    uint64_t first = cowcat_session_last_commit(s);
    ok("CREATE TABLE b (x int); CREATE TABLE c (x int)");
    cr_assert_eq(cowcat_session_last_commit(s), first + 2);
    out o;
    cowcat_error err;
    cr_assert_neq(run("CREATE TABLE a (x int)", &o, &err), COWCAT_OK);
    cr_assert_eq(cowcat_session_last_commit(s), first + 2, "a failure commits nothing");
}

/* --- sessions ------------------------------------------------------------------------------- */

Test(exec, sessions_need_an_existing_role_and_database)
{
    cowcat_session *x;
    cowcat_error err;
    cowcat_session_options so = {.user = "nobody"};
    cr_assert_eq(cowcat_session_open(db, &so, &x, &err), COWCAT_NOT_FOUND);
    cr_assert_str_eq(err.sqlstate, "28000");
    cr_assert_str_eq(err.message, "role \"nobody\" does not exist");
    so = (cowcat_session_options){.database = "nodb"};
    cr_assert_eq(cowcat_session_open(db, &so, &x, &err), COWCAT_NOT_FOUND);
    cr_assert_str_eq(err.sqlstate, "3D000");
}

Test(exec, search_path_decides_where_names_go_and_resolve)
{
    ok("CREATE SCHEMA s1; CREATE SCHEMA s2");
    ok("SET search_path TO s2, s1");
    cr_assert_str_eq(cowcat_session_setting(s, "search_path"), "s2, s1");
    ok("CREATE TABLE t (x int)");
    cr_assert(has("s2.t"));
    cr_assert_not(has("s1.t"));
    ok("CREATE TABLE s1.u (x int)");
    cr_assert(has("u")); /* found through s1 */
    ok("SET search_path = nosuch");
    out o;
    cowcat_error err;
    cr_assert_eq(run("CREATE TABLE v (x int)", &o, &err), COWCAT_NOT_FOUND);
    cr_assert_str_eq(err.sqlstate, "3F000");
    cr_assert_str_eq(err.message, "no schema has been selected to create in");
    ok("RESET search_path");
    cr_assert_str_eq(cowcat_session_setting(s, "search_path"), "public");
}

Test(exec, show_all_lists_every_setting_once)
{
    out o;
    cowcat_error err;
    cr_assert_eq(run("SHOW ALL", &o, &err), COWCAT_OK);
    cr_assert(strncmp(o.buf, "[name,setting,description]", 26) == 0);
    cr_assert(strstr(o.buf, "(search_path,public,") != NULL);
    cr_assert(strstr(o.buf, "(TimeZone,UTC,") != NULL);
    cr_assert_eq(run("SHOW timezone", &o, &err), COWCAT_OK);
    cr_assert_str_eq(o.buf, "[TimeZone](UTC)<SHOW>");
}

/* --- snapshots ------------------------------------------------------------------------------ */

static int
collect_names(void *arg, const cowcat_object *obj)
{
    append(arg, "%s;", obj->name);
    return 0;
}

static int
collect_columns(void *arg, const cowcat_column_info *c)
{
    char b[256];
    snprintf(b, sizeof b, "%u:%s:%s:%d:%s;", c->position, c->name, c->type, c->not_null,
             c->default_expr ? c->default_expr : "-");
    append(arg, "%s", b);
    return 0;
}

static int
collect_constraints(void *arg, const cowcat_constraint_info *c)
{
    append(arg, "%s:", c->name);
    append(arg, "%s;", c->type);
    return 0;
}

Test(exec, a_snapshot_keeps_its_version_while_writers_go_on)
{
    ok("CREATE TABLE a (x int NOT NULL DEFAULT 1, y varchar(20), PRIMARY KEY (x))");
    cowcat_snapshot *snap;
    cowcat_error err;
    cr_assert_eq(cowcat_snapshot_open(s, &snap, &err), COWCAT_OK);
    ok("DROP TABLE a; CREATE TABLE b (z int)");
    cowcat_object obj;
    cr_assert_eq(cowcat_snapshot_find(snap, "public.a", &obj, &err), COWCAT_OK);
    cr_assert_eq(cowcat_snapshot_find(snap, "b", &obj, &err), COWCAT_NOT_FOUND);
    cr_assert_eq(cowcat_snapshot_find(snap, "a", &obj, &err), COWCAT_OK);
    out o = {{0}};
    cr_assert_eq(cowcat_snapshot_columns(snap, obj.oid, collect_columns, &o, &err), COWCAT_OK);
    cr_assert_str_eq(o.buf, "1:x:integer:1:1;2:y:character varying(20):0:-;");
    memset(&o, 0, sizeof o);
    cr_assert_eq(cowcat_snapshot_constraints(snap, obj.oid, collect_constraints, &o, &err),
                 COWCAT_OK);
    cr_assert_str_eq(o.buf, "a_pkey:PRIMARY KEY;");
    memset(&o, 0, sizeof o);
    cr_assert_eq(cowcat_snapshot_walk_schema(snap, "public", collect_names, &o, &err), COWCAT_OK);
    cr_assert_str_eq(o.buf, "a;");
    cr_assert_eq(cowcat_snapshot_count(snap, COWCAT_KIND_TABLE), 1);
    cowcat_snapshot_close(snap);
}

Test(exec, walks_list_dependents_and_schema_members)
{
    ok("CREATE TABLE a (x int); CREATE VIEW v1 AS SELECT x FROM a; CREATE VIEW v2 AS SELECT * FROM a;"
       "CREATE INDEX ON a (x)");
    cowcat_snapshot *snap;
    cowcat_object obj;
    cowcat_error err;
    cr_assert_eq(cowcat_snapshot_open(s, &snap, &err), COWCAT_OK);
    cr_assert_eq(cowcat_snapshot_find(snap, "a", &obj, &err), COWCAT_OK);
    out o = {{0}};
    cr_assert_eq(cowcat_snapshot_walk_dependents(snap, obj.oid, collect_names, &o, &err), COWCAT_OK);
    cr_assert_str_eq(o.buf, "v1;v2;a_x_idx;");
    cr_assert_eq(cowcat_snapshot_walk_schema(snap, "nosuch", collect_names, &o, &err),
                 COWCAT_NOT_FOUND);
    cr_assert_str_eq(err.sqlstate, "3F000");
    cr_assert_eq(cowcat_snapshot_find(snap, "a.b.c.d", &obj, &err), COWCAT_PARSE);
    cr_assert_eq(cowcat_snapshot_find_oid(snap, 1, &obj, &err), COWCAT_NOT_FOUND);
    cowcat_snapshot_close(snap);
}

/* --- subscriptions ----------------------------------------------------------------------------- */

static void
on_change(void *arg, const cowcat_change *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char b[128];
        snprintf(b, sizeof b, "%c%s.%s;", c[i].diff > 0 ? '+' : '-',
                 c[i].object->schema ? c[i].object->schema : "", c[i].object->name);
        append(arg, "%s", b);
    }
    append(arg, "%s", "|");
}

Test(exec, subscribers_get_one_change_list_per_commit)
{
    out o = {{0}};
    cowcat_subscription *sub;
    cr_assert_eq(cowcat_subscribe(db, on_change, &o, &sub, NULL), COWCAT_OK);
    ok("CREATE TABLE a (x int)");
    ok("CREATE TABLE b (x int); ALTER TABLE a RENAME TO c");
    out bad;
    cowcat_error err;
    cr_assert_neq(run("CREATE TABLE b (x int)", &bad, &err), COWCAT_OK); /* nothing reported */
    cowcat_unsubscribe(sub);
    ok("DROP TABLE b");
    /* per commit, in ref order: a's new version (renamed c) keeps a's ref, older than b's */
    cr_assert_str_eq(o.buf, "+public.a;|-public.a;+public.c;+public.b;|");
}

/* --- waiting for the write slot: lock_timeout, statement_timeout ---------------------------- */

/* Runs sql in session x expecting the error state; returns nothing. */
static void
fails_with(cowcat_session *x, const char *sql, const char *state)
{
    cowcat_error err;
    cr_assert_neq(cowcat_exec(x, sql, NULL, NULL, &err), COWCAT_OK, "%s succeeded", sql);
    cr_assert_str_eq(err.sqlstate, state, "%s: %s %s", sql, err.sqlstate, err.message);
    cr_assert(strstr(err.message, "canceling statement due to") != NULL, "%s", err.message);
}

/*
 * While s holds the write slot in an open block, another session's write
 * waits at most its lock_timeout / statement_timeout (55P03 / 57014, with
 * nothing done), both as a group-committed statement and as a block's first
 * write (which fails the block); without a timeout it would wait for s.
 */
Test(exec, a_write_waiting_for_the_slot_ends_at_lock_timeout_or_statement_timeout)
{
    cowcat_session *x;
    cowcat_error err;
    cr_assert_eq(cowcat_session_open(db, NULL, &x, &err), COWCAT_OK);
    ok("BEGIN");
    ok("CREATE TABLE held (a int)"); /* s holds the slot until its block ends */

    cr_assert_eq(cowcat_exec(x, "SET lock_timeout = '50ms'", NULL, NULL, &err), COWCAT_OK);
    fails_with(x, "CREATE TABLE waiting (a int)", "55P03");
    cr_assert_eq(cowcat_exec(x, "BEGIN", NULL, NULL, &err), COWCAT_OK);
    fails_with(x, "CREATE TABLE in_block (a int)", "55P03");
    cr_assert_eq(cowcat_session_status(x), COWCAT_TXN_FAILED, "the error failed x's block");
    cr_assert_eq(cowcat_exec(x, "ROLLBACK", NULL, NULL, &err), COWCAT_OK);

    cr_assert_eq(cowcat_exec(x, "SET lock_timeout = 0; SET statement_timeout = '50ms'", NULL,
                             NULL, &err),
                 COWCAT_OK);
    fails_with(x, "CREATE TABLE waiting (a int)", "57014");
    /* the nearer of the two wins */
    cr_assert_eq(cowcat_exec(x, "SET lock_timeout = '20ms'", NULL, NULL, &err), COWCAT_OK);
    fails_with(x, "CREATE TABLE waiting (a int)", "55P03");

    ok("COMMIT");
    cr_assert(has("held"));
    cr_assert(!has("waiting") && !has("in_block"), "a timed-out write did nothing");
    /* the slot is free: the same statement now runs within its timeouts */
    cr_assert_eq(cowcat_exec(x, "CREATE TABLE waiting (a int)", NULL, NULL, &err), COWCAT_OK,
                 "%s", err.message);
    cr_assert(has("waiting"));
    cowcat_session_close(x);
    cr_assert_eq(cowcat_check(db, &err), COWCAT_OK, "%s", err.message);
}

typedef struct waiter {
    cowcat_session *x;
    const char *sql;
    cowcat_code rc;
    cowcat_error err;
    atomic_bool done;
} waiter;

static void *
waiter_main(void *arg)
{
    waiter *w = arg;
    w->rc = cowcat_exec(w->x, w->sql, NULL, NULL, &w->err);
    atomic_store(&w->done, true);
    return NULL;
}

/*
 * cowcat_session_cancel from another thread ends a write waiting for the
 * slot with 57014 (as a group-commit request, and as a block's first
 * write), and the write did nothing. A cancel that lands before the wait
 * starts is forgotten, so it is repeated until the waiter is done (bounded,
 * so a lost cancel fails rather than hangs).
 */
Test(exec, cowcat_session_cancel_ends_a_write_waiting_for_the_slot)
{
    cowcat_session *x;
    cowcat_error err;
    cr_assert_eq(cowcat_session_open(db, NULL, &x, &err), COWCAT_OK);
    ok("BEGIN");
    ok("CREATE TABLE held (a int)");
    const char *sqls[] = {"CREATE TABLE waiting (a int)", "BEGIN; CREATE TABLE in_block (a int)"};
    for (size_t k = 0; k < 2; k++) {
        waiter w = {.x = x, .sql = sqls[k]};
        pthread_t t;
        cr_assert_eq(pthread_create(&t, NULL, waiter_main, &w), 0);
        for (int i = 0; i < 10000 && !atomic_load(&w.done); i++) {
            cowcat_session_cancel(x);
            usleep(1000);
        }
        if (!atomic_load(&w.done))
            ok("ROLLBACK"); /* free the waiter before failing */
        pthread_join(t, NULL);
        cr_assert_neq(w.rc, COWCAT_OK, "%s: not cancelled", sqls[k]);
        cr_assert_str_eq(w.err.sqlstate, "57014", "%s: %s", sqls[k], w.err.message);
        cr_assert(strstr(w.err.message, "user request") != NULL, "%s", w.err.message);
    }
    /* the cancelled write in the block failed the block (implicit: rolled back) */
    cr_assert_neq(cowcat_session_status(x), COWCAT_TXN_BLOCK);
    cr_assert_eq(cowcat_exec(x, "ROLLBACK", NULL, NULL, &err), COWCAT_OK);
    ok("COMMIT");
    cr_assert(has("held") && !has("waiting") && !has("in_block"), "a cancelled write did nothing");
    cowcat_session_cancel(x); /* nothing waits: forgotten at the next exec */
    cr_assert_eq(cowcat_exec(x, "CREATE TABLE waiting (a int)", NULL, NULL, &err), COWCAT_OK,
                 "%s", err.message);
    cowcat_session_close(x);
}

/* --- restart ---------------------------------------------------------------------------------- */

Test(durable_exec, acknowledged_ddl_survives_a_reopen)
{
    char dir[] = "/tmp/cowcat-exec-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    cowcat_options o = {.data_dir = dir};
    cowcat *d;
    cowcat_session *x;
    cowcat_error err;
    uint64_t before[2], after[2];
    cr_assert_eq(cowcat_open(&o, &d, &err), COWCAT_OK, "%s", err.message);
    cr_assert_eq(cowcat_session_open(d, NULL, &x, &err), COWCAT_OK);
    cr_assert_eq(cowcat_exec(x,
                             "CREATE SCHEMA app; CREATE TABLE app.t (a int PRIMARY KEY);"
                             "CREATE VIEW app.v AS SELECT a FROM app.t; COMMENT ON TABLE app.t IS 'c'",
                             NULL, NULL, &err),
                 COWCAT_OK, "%s", err.message);
    cr_assert_eq(cowcat_exec(x, "ALTER TABLE app.t RENAME TO u", NULL, NULL, &err), COWCAT_OK);
    cowcat_snapshot *snap;
    cowcat_snapshot_open(x, &snap, NULL);
    cowcat_snapshot_fingerprint(snap, before);
    cowcat_snapshot_close(snap);
    cowcat_session_close(x);
    cowcat_close(d);

    cr_assert_eq(cowcat_open(&o, &d, &err), COWCAT_OK, "%s", err.message);
    cr_assert_eq(cowcat_check(d, &err), COWCAT_OK, "%s", err.message);
    cr_assert_eq(cowcat_session_open(d, NULL, &x, &err), COWCAT_OK);
    cowcat_object obj;
    cowcat_snapshot_open(x, &snap, NULL);
    cowcat_snapshot_fingerprint(snap, after);
    cr_assert_eq(cowcat_snapshot_find(snap, "app.v", &obj, &err), COWCAT_OK);
    cr_assert(strstr(obj.create_sql, "app.u") != NULL, "the rename rewrote the view: %s",
              obj.create_sql);
    cowcat_snapshot_close(snap);
    cr_assert(before[0] == after[0] && before[1] == after[1]);
    cowcat_session_close(x);
    cowcat_close(d);
    char cmd[64];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

/* --- bad input changes nothing ------------------------------------------------------------- */

/* Each bad statement: its SQLSTATE, and the catalog fingerprint unchanged. */
Test(exec, every_kind_of_bad_statement_fails_with_its_sqlstate_and_changes_nothing)
{
    ok("CREATE TABLE t (a int PRIMARY KEY, b text); CREATE VIEW v AS SELECT a FROM t;"
       "CREATE ROLE bob; CREATE SCHEMA s; CREATE TYPE mood AS ENUM ('ok')");
    static const struct {
        const char *sql;
        const char *state;
    } bad[] = {
        {"CREATE TABLE t (x int)", "42P07"},
        {"CREATE TABLE u (x nosuchtype)", "42704"},
        {"CREATE TABLE u (x int, x int)", "42701"},
        {"CREATE TABLE nosuch.u (x int)", "3F000"},
        {"CREATE TABLE u (x int REFERENCES nosuch (y))", "42P01"},
        {"CREATE VIEW w AS SELECT * FROM nosuch", "42P01"},
        {"CREATE INDEX ON t (nosuch)", "42703"},
        {"CREATE INDEX ON v (a)", "42809"},
        {"CREATE SCHEMA s", "42P06"},
        {"CREATE ROLE bob", "42710"},
        {"CREATE DATABASE cowcat", "42P04"},
        {"CREATE TYPE mood AS ENUM ('x')", "42710"},
        {"DROP TABLE nosuch", "42P01"},
        {"DROP TABLE t", "2BP01"},
        {"DROP VIEW t", "42809"},
        {"DROP SCHEMA nosuch", "3F000"},
        {"DROP ROLE cowcat", "55006"},
        {"DROP TYPE nosuch", "42704"},
        {"ALTER TABLE nosuch RENAME TO x", "42P01"},
        {"ALTER TABLE t RENAME TO v", "42P07"},
        {"ALTER TABLE t ADD COLUMN a int", "42701"},
        {"ALTER TABLE t DROP COLUMN nosuch", "42703"},
        {"ALTER TABLE t DROP COLUMN a", "2BP01"},
        {"ALTER TABLE t RENAME COLUMN nosuch TO c", "42703"},
        {"ALTER TABLE t OWNER TO nosuch", "42704"},
        {"ALTER TABLE t SET SCHEMA nosuch", "3F000"},
        {"COMMENT ON TABLE nosuch IS 'x'", "42P01"},
        {"COMMENT ON COLUMN t.nosuch IS 'x'", "42703"},
        {"GRANT SELECT ON nosuch TO bob", "42P01"},
        {"GRANT USAGE ON t TO bob", "0LP01"},
        {"GRANT SELECT ON t TO nosuch", "42704"},
        {"ALTER SYSTEM SET max_tables = 5", "42501"},
        {"CREATE TABLE u (x int", "42601"},
        {"TRUNCATE t", "0A000"},
        {"CREATE TABLE u (x int); CREATE TABLE t (y int)", "42P07"},
    };
    uint64_t a[2], b[2];
    fp(a);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        out o;
        cowcat_error err;
        cr_assert_neq(run(bad[i].sql, &o, &err), COWCAT_OK, "%s succeeded", bad[i].sql);
        cr_assert_str_eq(err.sqlstate, bad[i].state, "%s: %s (%s)", bad[i].sql, err.sqlstate,
                         err.message);
        fp(b);
        cr_assert(a[0] == b[0] && a[1] == b[1], "%s changed the catalog", bad[i].sql);
    }
    /* Permission denied, as a role that owns nothing: */
    cowcat_session *bs;
    cowcat_session_options so = {.user = "bob"};
    cr_assert_eq(cowcat_session_open(db, &so, &bs, NULL), COWCAT_OK);
    static const char *const denied[] = {"DROP TABLE t", "ALTER TABLE t RENAME TO x",
                                         "COMMENT ON TABLE t IS 'x'", "CREATE TABLE u (x int)",
                                         "GRANT SELECT ON t TO bob", "CREATE ROLE eve",
                                         "DROP SCHEMA information_schema"};
    for (size_t i = 0; i < sizeof denied / sizeof *denied; i++) {
        cowcat_error err;
        cr_assert_neq(cowcat_exec(bs, denied[i], NULL, NULL, &err), COWCAT_OK, "%s", denied[i]);
        cr_assert_str_eq(err.sqlstate, "42501", "%s: %s (%s)", denied[i], err.sqlstate, err.message);
        fp(b);
        cr_assert(a[0] == b[0] && a[1] == b[1], "%s changed the catalog", denied[i]);
    }
    cowcat_session_close(bs);
}

Test(exec, over_limit_creates_fail_with_53400_and_change_nothing)
{
    cowcat_session *sys;
    cowcat_session_options so = {.user = "cowcat_system"};
    cr_assert_eq(cowcat_session_open(db, &so, &sys, NULL), COWCAT_OK);
    cr_assert_eq(cowcat_exec(sys, "ALTER SYSTEM SET max_tables = 2", NULL, NULL, NULL), COWCAT_OK);
    cowcat_session_close(sys);
    ok("CREATE TABLE a (x int); CREATE TABLE b (x int)");
    uint64_t f1[2], f2[2];
    fp(f1);
    out o;
    cowcat_error err;
    cr_assert_eq(run("CREATE TABLE c (x int)", &o, &err), COWCAT_LIMIT);
    cr_assert_str_eq(err.sqlstate, "53400");
    cr_assert_str_eq(err.message,
                     "creating table would violate max_tables limit (desired: 3, limit: 2, current: 2)");
    fp(f2);
    cr_assert(f1[0] == f2[0] && f1[1] == f2[1]);
}

/* --- disk faults ------------------------------------------------------------------------------ */

/* A file catalog in a fresh directory whose I/O goes through a fault injector. */
typedef struct fault_fix {
    char dir[32];
    persist_io_faults fi;
} fault_fix;

/* Creates f's directory and opens *dbp on it through f->fi, and a session *sess. */
static void
fault_fix_open(fault_fix *f, cowcat **dbp, cowcat_session **sess)
{
    snprintf(f->dir, sizeof f->dir, "/tmp/cowcat-exec-XXXXXX");
    cr_assert_not_null(mkdtemp(f->dir));
    persist_io_faults_init(&f->fi, persist_io_default());
    cowcat_options o = {.data_dir = f->dir, .io = &f->fi.io};
    cowcat_error err;
    cr_assert_eq(cowcat_open(&o, dbp, &err), COWCAT_OK, "%s", err.message);
    cr_assert_eq(cowcat_session_open(*dbp, NULL, sess, &err), COWCAT_OK, "%s", err.message);
}

/* Once the test has closed everything it opened: removes f's directory. */
static void
fault_fix_done(fault_fix *f)
{
    persist_io_faults_fini(&f->fi);
    char cmd[64];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    cr_assert_eq(system(cmd), 0);
}

/* Is relation name there (through a fresh snapshot of x)? */
static bool
has_relation(cowcat_session *x, const char *name)
{
    cowcat_snapshot *snap;
    cowcat_error err;
    cr_assert_eq(cowcat_snapshot_open(x, &snap, &err), COWCAT_OK, "%s", err.message);
    cowcat_object obj;
    bool found = cowcat_snapshot_find(snap, name, &obj, &err) == COWCAT_OK;
    cowcat_snapshot_close(snap);
    return found;
}

Test(durable_exec, a_full_disk_fails_the_statement_and_the_handle_goes_on)
{
    fault_fix f;
    cowcat *d;
    cowcat_session *x;
    cowcat_error err;
    fault_fix_open(&f, &d, &x);
    const struct {
        persist_io_op op;
        persist_io_fault_kind kind;
        int errnum;
        const char *state;
    } cases[] = {
        {PERSIST_IO_PWRITE, PERSIST_FAULT_ERRNO, ENOSPC, "53100"},
        {PERSIST_IO_PWRITE, PERSIST_FAULT_SHORT, 0, "53100"},
        {PERSIST_IO_PWRITE, PERSIST_FAULT_ERRNO, EIO, "58030"},
        {PERSIST_IO_FDATASYNC, PERSIST_FAULT_ERRNO, EIO, "58030"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char sql[64], name[32];
        snprintf(name, sizeof name, "t%zu", i);
        snprintf(sql, sizeof sql, "CREATE TABLE %s (a int)", name);
        cr_assert_eq(persist_io_faults_arm(&f.fi, cases[i].op, 1, 1, cases[i].kind, cases[i].errnum),
                     0);
        cr_assert_eq(cowcat_exec(x, sql, NULL, NULL, &err), COWCAT_IO, "case %zu", i);
        cr_assert_str_eq(err.sqlstate, cases[i].state, "case %zu: %s", i, err.message);
        cr_assert_eq(persist_io_faults_fired(&f.fi), 1);
        persist_io_faults_disarm(&f.fi);
        cr_assert_eq(cowcat_health(d, &err), COWCAT_OK, "undone: the handle is healthy");
        cr_assert(!has_relation(x, name), "case %zu: the failed CREATE is absent", i);
        cr_assert_eq(cowcat_exec(x, sql, NULL, NULL, &err), COWCAT_OK, "%s", err.message);
    }
    cowcat_session_close(x);
    cowcat_close(d);

    cr_assert_eq(cowcat_open(&(cowcat_options){.data_dir = f.dir}, &d, &err), COWCAT_OK);
    cr_assert_eq(cowcat_check(d, &err), COWCAT_OK, "%s", err.message);
    cr_assert_eq(cowcat_session_open(d, NULL, &x, &err), COWCAT_OK);
    for (int i = 0; i < 4; i++) {
        char name[32];
        snprintf(name, sizeof name, "t%d", i);
        cr_assert(has_relation(x, name), "the retried CREATE of %s survived", name);
    }
    cowcat_session_close(x);
    cowcat_close(d);
    fault_fix_done(&f);
}

Test(durable_exec, a_write_that_cannot_be_undone_breaks_the_handle_until_reopened)
{
    fault_fix f;
    cowcat *d;
    cowcat_session *x;
    cowcat_error err;
    fault_fix_open(&f, &d, &x);
    cr_assert_eq(cowcat_exec(x, "CREATE TABLE kept (a int)", NULL, NULL, &err), COWCAT_OK);
    /* the fdatasync fails and so does the truncation that would undo the frame */
    persist_io_faults_arm(&f.fi, PERSIST_IO_FDATASYNC, 1, 1, PERSIST_FAULT_ERRNO, EIO);
    persist_io_faults_arm(&f.fi, PERSIST_IO_FTRUNCATE, 1, UINT64_MAX, PERSIST_FAULT_ERRNO, EIO);
    cr_assert_eq(cowcat_exec(x, "CREATE TABLE maybe (a int)", NULL, NULL, &err), COWCAT_IO);
    persist_io_faults_disarm(&f.fi);
    cr_assert_eq(cowcat_health(d, &err), COWCAT_IO);
    cr_assert_str_eq(err.sqlstate, "58030");
    cr_assert(strstr(err.message, "unusable") != NULL, "%s", err.message);
    /* it serves nothing now, not even reads: memory may disagree with disk */
    cr_assert_eq(cowcat_exec(x, "SELECT 1", NULL, NULL, &err), COWCAT_IO);
    cr_assert_eq(cowcat_exec(x, "CREATE TABLE later (a int)", NULL, NULL, &err), COWCAT_IO);
    cowcat_snapshot *snap;
    cr_assert_eq(cowcat_snapshot_open(x, &snap, &err), COWCAT_IO);
    cowcat_session_close(x);
    cowcat_close(d);

    /* the reopen recovers: what was acknowledged is there, the failed one is all or nothing */
    cr_assert_eq(cowcat_open(&(cowcat_options){.data_dir = f.dir}, &d, &err), COWCAT_OK);
    cr_assert_eq(cowcat_health(d, &err), COWCAT_OK);
    cr_assert_eq(cowcat_check(d, &err), COWCAT_OK, "%s", err.message);
    cr_assert_eq(cowcat_session_open(d, NULL, &x, &err), COWCAT_OK);
    cr_assert(has_relation(x, "kept"));
    cr_assert(!has_relation(x, "later"));
    cr_assert_eq(cowcat_exec(x, "CREATE TABLE later (a int)", NULL, NULL, &err), COWCAT_OK);
    cowcat_session_close(x);
    cowcat_close(d);
    fault_fix_done(&f);
}
