/*
 * tests/ddl/test_ddl_alter.c — ALTER ... SET SCHEMA, the stored SQL kept in
 * step with ADD / DROP / RENAME COLUMN (tables) and RENAME COLUMN (views),
 * and views checking every column they read, through cowcat.h.
 *
 * Every error case is checked for PostgreSQL 15's SQLSTATE and message
 * (compared with a real server) and for leaving the catalog fingerprint
 * unchanged. After the changes, the stored statements are replayed — every
 * schema, then every relation and type in OID order, into a fresh catalog —
 * and must rebuild the same catalog (the same fingerprint), which is what a
 * dump and restore of the stored SQL does.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cowcat.h"

static cowcat *db;
static cowcat_session *s;

typedef struct result {
    char tag[64];
    size_t nnotices;
    cowcat_error notice;
} result;

static void
on_complete(void *arg, const char *tag)
{
    result *r = arg;
    snprintf(r->tag, sizeof r->tag, "%s", tag);
}

static void
on_notice(void *arg, const cowcat_error *n)
{
    result *r = arg;
    r->notice = *n;
    r->nnotices++;
}

static const cowcat_callbacks cbs = {NULL, NULL, on_complete, on_notice};

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

TestSuite(ddl_alter, .init = setup, .fini = teardown);

static void
fingerprint_of(cowcat_session *ss, uint64_t fp[2])
{
    cowcat_snapshot *snap;
    cowcat_error err;
    cr_assert_eq(cowcat_snapshot_open(ss, &snap, &err), COWCAT_OK);
    cowcat_snapshot_fingerprint(snap, fp);
    cowcat_snapshot_close(snap);
}

static result
ok_in(cowcat_session *ss, const char *sql)
{
    result r = {0};
    cowcat_error err;
    cowcat_code rc = cowcat_exec(ss, sql, &cbs, &r, &err);
    cr_assert_eq(rc, COWCAT_OK, "%s: %s (%s)", sql, err.message, err.sqlstate);
    return r;
}

static result
ok(const char *sql)
{
    return ok_in(s, sql);
}

/* Runs sql, which must fail with sqlstate and message and leave the catalog as it was. */
static cowcat_error
fails_in(cowcat_session *ss, const char *sql, const char *sqlstate, const char *message)
{
    uint64_t before[2], after[2];
    fingerprint_of(ss, before);
    cowcat_error err;
    cowcat_code rc = cowcat_exec(ss, sql, NULL, NULL, &err);
    cr_assert_neq(rc, COWCAT_OK, "%s: should have failed", sql);
    cr_assert_str_eq(err.sqlstate, sqlstate, "%s: %s (%s)", sql, err.message, err.sqlstate);
    cr_assert_str_eq(err.message, message, "%s", sql);
    fingerprint_of(ss, after);
    cr_assert(before[0] == after[0] && before[1] == after[1], "%s changed the catalog", sql);
    return err;
}

static cowcat_error
fails(const char *sql, const char *sqlstate, const char *message)
{
    return fails_in(s, sql, sqlstate, message);
}

/* The stored statement of relation or type name. */
static void
create_sql_is(const char *name, const char *want)
{
    cowcat_snapshot *snap;
    cowcat_object o;
    cowcat_error err;
    cr_assert_eq(cowcat_snapshot_open(s, &snap, &err), COWCAT_OK);
    bool found = cowcat_snapshot_find(snap, name, &o, &err) == COWCAT_OK;
    char *got = found && o.create_sql != NULL ? strdup(o.create_sql) : NULL;
    cowcat_snapshot_close(snap);
    cr_assert(found, "%s: %s", name, err.message);
    cr_assert_not_null(got);
    cr_assert_str_eq(got, want, "create_sql of %s: %s", name, got);
    free(got);
}

static bool
exists(const char *name)
{
    cowcat_snapshot *snap;
    cowcat_object o;
    cowcat_error err;
    cr_assert_eq(cowcat_snapshot_open(s, &snap, &err), COWCAT_OK);
    bool found = cowcat_snapshot_find(snap, name, &o, &err) == COWCAT_OK;
    cowcat_snapshot_close(snap);
    return found;
}

typedef struct text {
    char buf[1024];
} text;

static int
col_name(void *arg, const cowcat_column_info *c)
{
    text *t = arg;
    size_t n = strlen(t->buf);
    snprintf(t->buf + n, sizeof t->buf - n, "%s%s %s%s", n ? ", " : "", c->name, c->type,
             c->not_null ? " NOT NULL" : "");
    return 0;
}

static void
columns_are(const char *rel, const char *want)
{
    cowcat_snapshot *snap;
    cowcat_object o;
    cowcat_error err;
    cr_assert_eq(cowcat_snapshot_open(s, &snap, &err), COWCAT_OK);
    text t = {{0}};
    bool found = cowcat_snapshot_find(snap, rel, &o, &err) == COWCAT_OK &&
                 cowcat_snapshot_columns(snap, o.oid, col_name, &t, &err) == COWCAT_OK;
    cowcat_snapshot_close(snap);
    cr_assert(found, "%s: %s", rel, err.message);
    cr_assert_str_eq(t.buf, want, "columns of %s: %s", rel, t.buf);
}

/* --- the replay: the stored statements rebuild the catalog ------------------------------- */

#define MAX_STMTS 128
#define MAX_OID   200000u

typedef struct stmts {
    char *v[MAX_STMTS];
    size_t n;
} stmts;

static void
push(stmts *l, const char *sql)
{
    cr_assert_lt(l->n, MAX_STMTS);
    l->v[l->n++] = strdup(sql);
}

/*
 * Replays the user schemas (CREATE SCHEMA, in OID order) and then every
 * stored statement of a relation or type (in OID order, i.e. creation
 * order) into a fresh catalog, and asserts the same fingerprint. Tests that
 * use it create their schemas first and drop nothing, so a replay allocates
 * the same ids and OIDs.
 */
static void
replay_matches(void)
{
    stmts schemas = {{0}, 0}, items = {{0}, 0};
    cowcat_snapshot *snap;
    cowcat_error err;
    cr_assert_eq(cowcat_snapshot_open(s, &snap, &err), COWCAT_OK);
    for (uint32_t oid = 1; oid < MAX_OID; oid++) {
        cowcat_object o;
        if (cowcat_snapshot_find_oid(snap, oid, &o, &err) != COWCAT_OK)
            continue;
        if (o.kind == COWCAT_KIND_SCHEMA && o.database != NULL && strcmp(o.name, "public") != 0) {
            char sql[160];
            snprintf(sql, sizeof sql, "CREATE SCHEMA %s", o.name);
            push(&schemas, sql);
        } else if (o.create_sql != NULL) {
            push(&items, o.create_sql);
        }
    }
    cowcat_snapshot_close(snap);
    cr_assert_gt(items.n, 0, "nothing to replay");
    uint64_t want[2], got[2];
    fingerprint_of(s, want);

    cowcat_options opts = {.backend = COWCAT_BACKEND_MEMORY};
    cowcat *db2;
    cowcat_session *s2;
    cr_assert_eq(cowcat_open(&opts, &db2, &err), COWCAT_OK, "%s", err.message);
    cr_assert_eq(cowcat_session_open(db2, NULL, &s2, &err), COWCAT_OK, "%s", err.message);
    for (size_t i = 0; i < schemas.n; i++)
        ok_in(s2, schemas.v[i]);
    for (size_t i = 0; i < items.n; i++)
        ok_in(s2, items.v[i]);
    fingerprint_of(s2, got);
    cr_assert(cowcat_check(db2, &err) == COWCAT_OK, "%s", err.message);
    cowcat_session_close(s2);
    cowcat_close(db2);
    for (size_t i = 0; i < schemas.n; i++)
        free(schemas.v[i]);
    for (size_t i = 0; i < items.n; i++)
        free(items.v[i]);
    cr_assert(want[0] == got[0] && want[1] == got[1],
              "replaying the stored statements gives another catalog");
}

/* --- SET SCHEMA ------------------------------------------------------------------------- */

Test(ddl_alter, set_schema_moves_a_table_and_its_indexes_and_requalifies_dependents)
{
    ok("CREATE SCHEMA s");
    ok("CREATE TABLE t (a int PRIMARY KEY, b text)");
    ok("CREATE INDEX t_b_idx ON t (b) WHERE a > 0");
    ok("CREATE TABLE f (x int REFERENCES t (a), y int REFERENCES public.t)");
    ok("CREATE VIEW v AS SELECT a, t.b, public.t.a AS c FROM public.t WHERE a > 1");
    ok("CREATE MATERIALIZED VIEW mv AS SELECT count(*) AS n FROM t");
    result r = ok("ALTER TABLE t SET SCHEMA s");
    cr_assert_str_eq(r.tag, "ALTER TABLE");
    cr_assert(!exists("public.t") && exists("s.t") && exists("s.t_b_idx") && !exists("t_b_idx"));
    create_sql_is("s.t", "CREATE TABLE s.t (a int PRIMARY KEY, b text)");
    create_sql_is("s.t_b_idx", "CREATE INDEX t_b_idx ON s.t USING btree (b) WHERE a > 0");
    create_sql_is("f", "CREATE TABLE f (x int REFERENCES s.t (a), y int REFERENCES s.t)");
    create_sql_is("v", "CREATE VIEW v AS SELECT a, t.b, s.t.a AS c FROM s.t WHERE a > 1");
    create_sql_is("mv", "CREATE MATERIALIZED VIEW mv AS SELECT count(*) AS n FROM s.t");
    /* The view still reads the table (a DROP is refused), under its new name. */
    fails("DROP TABLE s.t", "2BP01", "cannot drop table s.t because other objects depend on it");
    ok("ALTER VIEW v SET SCHEMA s");
    create_sql_is("s.v", "CREATE VIEW s.v AS SELECT a, t.b, s.t.a AS c FROM s.t WHERE a > 1");
    ok("ALTER MATERIALIZED VIEW mv SET SCHEMA s");
    create_sql_is("s.mv", "CREATE MATERIALIZED VIEW s.mv AS SELECT count(*) AS n FROM s.t");
    /* To the current schema: nothing to do, as in PostgreSQL. */
    uint64_t a[2], b[2];
    fingerprint_of(s, a);
    r = ok("ALTER TABLE s.t SET SCHEMA s");
    cr_assert_str_eq(r.tag, "ALTER TABLE");
    fingerprint_of(s, b);
    cr_assert(a[0] == b[0] && a[1] == b[1]);
    replay_matches();
}

Test(ddl_alter, set_schema_of_a_type_requalifies_columns_and_casts)
{
    ok("CREATE SCHEMA s");
    ok("CREATE TYPE mood AS ENUM ('ok', 'meh')");
    ok("CREATE TABLE tm (m mood, n public.mood[])");
    ok("CREATE VIEW vm AS SELECT 'ok'::mood AS k, m FROM tm");
    result r = ok("ALTER TYPE mood SET SCHEMA s");
    cr_assert_str_eq(r.tag, "ALTER TYPE");
    create_sql_is("s.mood", "CREATE TYPE s.mood AS ENUM ('ok', 'meh')");
    create_sql_is("tm", "CREATE TABLE tm (m s.mood, n s.mood[])");
    create_sql_is("vm", "CREATE VIEW vm AS SELECT 'ok'::s.mood AS k, m FROM tm");
    replay_matches();
}

Test(ddl_alter, set_schema_errors_are_postgresqls_and_change_nothing)
{
    ok("CREATE SCHEMA s");
    ok("CREATE TABLE t (a int)");
    ok("CREATE INDEX ti ON t (a)");
    ok("CREATE VIEW v AS SELECT a FROM t");
    ok("CREATE TYPE mood AS ENUM ('x')");
    fails("ALTER TABLE t SET SCHEMA nosuch", "3F000", "schema \"nosuch\" does not exist");
    fails("ALTER TABLE nosuch SET SCHEMA s", "42P01", "relation \"nosuch\" does not exist");
    cowcat_error e =
        fails("ALTER TABLE ti SET SCHEMA s", "42809", "cannot change schema of index \"ti\"");
    cr_assert_str_eq(e.hint, "Change the schema of the table instead.");
    fails("ALTER VIEW t SET SCHEMA s", "42809", "\"t\" is not a view");
    fails("ALTER MATERIALIZED VIEW v SET SCHEMA s", "42809", "\"v\" is not a materialized view");
    fails("ALTER TYPE nosuch SET SCHEMA s", "42704", "type \"nosuch\" does not exist");
    e = fails("ALTER TYPE t SET SCHEMA s", "42809", "t is a table's row type");
    cr_assert_str_eq(e.hint, "Use ALTER TABLE instead.");
    fails("ALTER SEQUENCE t SET SCHEMA s", "0A000",
          "feature not supported: ALTER ... SET SCHEMA of this object type");
    ok("CREATE TABLE s.t (z int)");
    fails("ALTER TABLE t SET SCHEMA s", "42P07", "relation \"t\" already exists in schema \"s\"");
    ok("DROP TABLE s.t");
    ok("CREATE TABLE s.ti (z int)");
    fails("ALTER TABLE t SET SCHEMA s", "42P07", "relation \"ti\" already exists in schema \"s\"");
    ok("DROP TABLE s.ti");
    ok("CREATE TYPE s.t AS ENUM ('y')");
    fails("ALTER TABLE t SET SCHEMA s", "42710", "type \"t\" already exists in schema \"s\"");
    ok("CREATE TYPE s.mood AS ENUM ('y')");
    fails("ALTER TYPE mood SET SCHEMA s", "42710", "type \"mood\" already exists in schema \"s\"");
    fails("ALTER TABLE t SET SCHEMA information_schema", "42501",
          "permission denied for schema information_schema");
    result r = ok("ALTER TABLE IF EXISTS nosuch SET SCHEMA s");
    cr_assert_eq(r.nnotices, 1);
    cr_assert_str_eq(r.notice.message, "relation \"nosuch\" does not exist, skipping");
    cr_assert_str_eq(r.tag, "ALTER TABLE");
    r = ok("ALTER VIEW IF EXISTS nosuch SET SCHEMA nosuch");
    cr_assert_eq(r.nnotices, 1);
    cr_assert_str_eq(r.tag, "ALTER VIEW");
}

Test(ddl_alter, set_schema_needs_ownership_and_create_on_the_schema)
{
    ok("CREATE ROLE r LOGIN");
    ok("CREATE SCHEMA s");
    ok("CREATE SCHEMA rs");
    ok("GRANT CREATE ON SCHEMA public, rs TO r");
    ok("GRANT USAGE ON SCHEMA s TO r");
    ok("CREATE TABLE mine (a int)");
    cowcat_session_options so = {.user = "r"};
    cowcat_session *rs;
    cowcat_error err;
    cr_assert_eq(cowcat_session_open(db, &so, &rs, &err), COWCAT_OK, "%s", err.message);
    fails_in(rs, "ALTER TABLE mine SET SCHEMA rs", "42501", "must be owner of table mine");
    ok_in(rs, "CREATE TABLE theirs (a int)");
    fails_in(rs, "ALTER TABLE theirs SET SCHEMA s", "42501", "permission denied for schema s");
    ok_in(rs, "ALTER TABLE theirs SET SCHEMA rs");
    cowcat_session_close(rs);
    create_sql_is("rs.theirs", "CREATE TABLE rs.theirs (a int)");
}

Test(ddl_alter, set_schema_in_a_failed_block_rolls_back)
{
    ok("CREATE SCHEMA s");
    ok("CREATE TABLE t (a int)");
    ok("CREATE VIEW v AS SELECT a FROM t");
    uint64_t a[2], b[2];
    fingerprint_of(s, a);
    ok("BEGIN");
    ok("ALTER TABLE t SET SCHEMA s");
    create_sql_is("v", "CREATE VIEW v AS SELECT a FROM s.t");
    ok("ROLLBACK");
    fingerprint_of(s, b);
    cr_assert(a[0] == b[0] && a[1] == b[1]);
    create_sql_is("v", "CREATE VIEW v AS SELECT a FROM t");
}

/* --- columns: the table's own statement, indexes, constraints, foreign keys ------------ */

Test(ddl_alter, rename_column_rewrites_the_table_its_indexes_constraints_and_foreign_keys)
{
    ok("CREATE TABLE t (a int PRIMARY KEY, b text CHECK (b <> a::text), c int, "
       "UNIQUE (a, c), CHECK (c > 0))");
    ok("CREATE INDEX t_expr ON t ((a + c)) WHERE a > 0");
    ok("CREATE INDEX t_a_idx ON t (a)");
    ok("CREATE TABLE f (x int REFERENCES t (a), y int, z int, "
       "FOREIGN KEY (y, z) REFERENCES t (a, c))");
    ok("CREATE TABLE self (id int PRIMARY KEY, up int REFERENCES self (id))");
    ok("ALTER TABLE t RENAME COLUMN a TO aa");
    create_sql_is("t", "CREATE TABLE t (aa int CONSTRAINT t_pkey PRIMARY KEY, b text CONSTRAINT "
                       "t_check CHECK (b <> aa::text), c int, CONSTRAINT t_a_c_key UNIQUE (aa, "
                       "c), CONSTRAINT t_c_check CHECK (c > 0))");
    create_sql_is("t_expr", "CREATE INDEX t_expr ON t USING btree ((aa + c)) WHERE aa > 0");
    create_sql_is("t_a_idx", "CREATE INDEX t_a_idx ON t USING btree (aa)");
    create_sql_is("f", "CREATE TABLE f (x int REFERENCES t (aa), y int, z int, FOREIGN KEY (y, "
                       "z) REFERENCES t (aa, c))");
    ok("ALTER TABLE self RENAME COLUMN id TO ident");
    create_sql_is("self", "CREATE TABLE self (ident int CONSTRAINT self_pkey PRIMARY KEY, up int "
                          "CONSTRAINT self_up_fkey REFERENCES self (ident))");
    fails("ALTER TABLE t RENAME COLUMN nosuch TO x", "42703", "column \"nosuch\" does not exist");
    fails("ALTER TABLE t RENAME COLUMN aa TO b", "42701",
          "column \"b\" of relation \"t\" already exists");
    fails("ALTER TABLE t_a_idx RENAME COLUMN aa TO x", "0A000",
          "feature not supported: renaming a column of index t_a_idx");
    replay_matches();
}

Test(ddl_alter, add_column_is_stored_and_star_views_keep_their_columns)
{
    ok("CREATE TABLE t (a int, b text)");
    ok("CREATE TABLE u (k int, c text)");
    ok("CREATE VIEW vs AS SELECT * FROM t");
    ok("CREATE VIEW vq AS SELECT t.*, 1 AS one FROM t");
    ok("CREATE VIEW vc AS SELECT c FROM t, u");
    ok("ALTER TABLE t ADD COLUMN c text DEFAULT 'x' NOT NULL");
    create_sql_is("t", "CREATE TABLE t (a int, b text, c text DEFAULT 'x' NOT NULL)");
    create_sql_is("vs", "CREATE VIEW vs AS SELECT t.a, t.b FROM t");
    create_sql_is("vq", "CREATE VIEW vq AS SELECT t.a, t.b, 1 AS one FROM t");
    /* The new column would capture vc's c (u's): it is qualified. */
    create_sql_is("vc", "CREATE VIEW vc AS SELECT u.c FROM t, u");
    columns_are("vs", "a integer, b text");
    result r = ok("ALTER TABLE t ADD COLUMN IF NOT EXISTS c int");
    cr_assert_eq(r.nnotices, 1);
    create_sql_is("t", "CREATE TABLE t (a int, b text, c text DEFAULT 'x' NOT NULL)");
    fails("ALTER TABLE t ADD COLUMN a int", "42701",
          "column \"a\" of relation \"t\" already exists");
    replay_matches();
}

Test(ddl_alter, drop_column_removes_its_constraints_and_keeps_not_null_from_a_dropped_key)
{
    ok("CREATE TABLE k (a int, b int, c int CHECK (c > a), d int REFERENCES k (a) "
       "DEFERRABLE, PRIMARY KEY (a, b), UNIQUE (a))");
    ok("CREATE TABLE r (x int, y int, FOREIGN KEY (x, y) REFERENCES k, z int REFERENCES k (a))");
    fails("ALTER TABLE k DROP COLUMN a", "2BP01",
          "cannot drop column a of table k because other objects depend on it");
    result res = ok("ALTER TABLE k DROP COLUMN a CASCADE");
    cr_assert_eq(res.nnotices, 1);
    cr_assert_str_eq(res.notice.message, "drop cascades to 3 other objects");
    create_sql_is("k", "CREATE TABLE k (b int NOT NULL, c int, d int)");
    create_sql_is("r", "CREATE TABLE r (x int, y int, z int)");
    columns_are("k", "b integer NOT NULL, c integer, d integer");
    ok("ALTER TABLE k DROP COLUMN IF EXISTS nosuch");
    ok("ALTER TABLE r DROP COLUMN y");
    create_sql_is("r", "CREATE TABLE r (x int, z int)");
    replay_matches();
}

Test(ddl_alter, drop_column_drops_an_index_whose_expression_reads_it)
{
    ok("CREATE TABLE t (a int, b int)");
    ok("CREATE INDEX t_e ON t ((a + 1))");
    ok("CREATE INDEX t_w ON t (b) WHERE a > 0");
    ok("CREATE INDEX t_b ON t (b)");
    ok("ALTER TABLE t DROP COLUMN a");
    cr_assert(!exists("t_e") && !exists("t_w") && exists("t_b"));
    create_sql_is("t", "CREATE TABLE t (b int)");
}

/* --- columns that views read --------------------------------------------------------------- */

Test(ddl_alter, renaming_a_column_a_view_reads_rewrites_the_view_and_keeps_its_columns)
{
    ok("CREATE TABLE t (a int, c int)");
    ok("CREATE VIEW v1 AS SELECT a FROM t");
    ok("CREATE VIEW v2 AS SELECT * FROM t");
    ok("CREATE VIEW v3 AS SELECT x.a FROM (SELECT a FROM t) x");
    ok("CREATE VIEW v4 AS WITH w AS (SELECT a FROM t) SELECT a FROM w");
    ok("CREATE VIEW v5 AS SELECT count(a) AS n FROM t GROUP BY a HAVING max(a) > 1 ORDER BY a");
    ok("CREATE MATERIALIZED VIEW m AS SELECT a + c AS s FROM t WHERE a IS NOT NULL");
    ok("ALTER TABLE t RENAME a TO b");
    create_sql_is("v1", "CREATE VIEW v1 AS SELECT t.b AS a FROM t");
    create_sql_is("v2", "CREATE VIEW v2 AS SELECT t.b AS a, t.c FROM t");
    create_sql_is("v3", "CREATE VIEW v3 AS SELECT x.a FROM (SELECT t.b AS a FROM t) x");
    create_sql_is("v4", "CREATE VIEW v4 AS WITH w AS (SELECT t.b AS a FROM t) SELECT a FROM w");
    create_sql_is("v5", "CREATE VIEW v5 AS SELECT count(t.b) AS n FROM t GROUP BY t.b HAVING "
                        "max(t.b) > 1 ORDER BY t.b");
    create_sql_is("m", "CREATE MATERIALIZED VIEW m AS SELECT t.b + c AS s FROM t WHERE t.b IS "
                       "NOT NULL");
    columns_are("v1", "a integer");
    columns_are("v2", "a integer, c integer");
    /* The view is still one over the column: dropping it is refused. */
    fails("ALTER TABLE t DROP COLUMN b", "2BP01",
          "cannot drop column b of table t because other objects depend on it");
    replay_matches();
}

Test(ddl_alter, column_rename_scoping_follows_postgresqls_name_resolution)
{
    ok("CREATE TABLE p (k int, name text)");
    ok("CREATE TABLE q (k int, label text)");
    /* the same name in two joined tables: only q's references change */
    ok("CREATE VIEW j AS SELECT p.k, q.k AS qk, name FROM p JOIN q ON p.k = q.k");
    /* aliases */
    ok("CREATE VIEW a AS SELECT x.k, y.k AS yk FROM p x, q y WHERE x.k = y.k");
    /* a CTE named like the table is not the table */
    ok("CREATE VIEW c AS WITH q AS (SELECT k FROM p) SELECT k FROM q");
    /* a subquery's column of the same name is not the table's */
    ok("CREATE VIEW sq AS SELECT z.k FROM (SELECT k, name FROM p) z, q WHERE z.k = q.k");
    /* correlated subquery: the outer reference changes, the inner one does not */
    ok("CREATE VIEW e AS SELECT label FROM q WHERE EXISTS (SELECT 1 FROM p WHERE p.k = q.k AND "
       "name = label)");
    /* unqualified, where q is the only FROM item with the column */
    ok("CREATE VIEW un AS SELECT label, name FROM p, q WHERE label <> ''");
    ok("ALTER TABLE q RENAME COLUMN k TO qid");
    create_sql_is("j", "CREATE VIEW j AS SELECT p.k, q.qid AS qk, name FROM p JOIN q ON p.k = "
                       "q.qid");
    create_sql_is("a", "CREATE VIEW a AS SELECT x.k, y.qid AS yk FROM p x, q y WHERE x.k = "
                       "y.qid");
    create_sql_is("c", "CREATE VIEW c AS WITH q AS (SELECT k FROM p) SELECT k FROM q");
    create_sql_is("sq", "CREATE VIEW sq AS SELECT z.k FROM (SELECT k, name FROM p) z, q WHERE "
                        "z.k = q.qid");
    create_sql_is("e", "CREATE VIEW e AS SELECT label FROM q WHERE EXISTS (SELECT 1 FROM p WHERE "
                       "p.k = q.qid AND name = label)");
    ok("ALTER TABLE q RENAME COLUMN label TO name");
    /* the new name would make p's `name` ambiguous and capture the inner one: qualified */
    create_sql_is("un", "CREATE VIEW un AS SELECT q.name AS label, p.name FROM p, q WHERE q.name "
                        "<> ''");
    /* inside EXISTS, `name` still means p's (the nearer FROM item): it stays as written */
    create_sql_is("e", "CREATE VIEW e AS SELECT q.name AS label FROM q WHERE EXISTS (SELECT 1 "
                       "FROM p WHERE p.k = q.qid AND name = q.name)");
    create_sql_is("j", "CREATE VIEW j AS SELECT p.k, q.qid AS qk, p.name FROM p JOIN q ON p.k = "
                       "q.qid");
    columns_are("un", "label text, name text");
    replay_matches();
}

Test(ddl_alter, spelled_out_stars_qualify_subquery_columns_the_new_name_would_capture)
{
    ok("CREATE TABLE a (id int, v text)");
    ok("CREATE TABLE b (id int, w text)");
    ok("CREATE VIEW l AS SELECT * FROM a CROSS JOIN LATERAL (SELECT w FROM b WHERE b.id = a.id "
       "LIMIT 1) x");
    ok("ALTER TABLE a RENAME COLUMN v TO w");
    /* inside the subquery `w` is still b's (the nearer FROM item) */
    create_sql_is("l", "CREATE VIEW l AS SELECT a.id, a.w AS v, x.w FROM a CROSS JOIN LATERAL "
                       "(SELECT w FROM b WHERE b.id = a.id LIMIT 1) x");
    columns_are("l", "id integer, v text, w text");
    replay_matches();
}

Test(ddl_alter, using_and_natural_joins_over_the_column_are_refused_and_change_nothing)
{
    ok("CREATE TABLE j1 (id int, v text)");
    ok("CREATE TABLE j2 (id int, w text)");
    ok("CREATE VIEW ju AS SELECT * FROM j1 JOIN j2 USING (id)");
    ok("CREATE VIEW jn AS SELECT v, w FROM j1 NATURAL JOIN j2");
    cowcat_error e = fails("ALTER TABLE j1 RENAME COLUMN id TO ident", "0A000",
                           "feature not supported: renaming column id of table j1, which view ju "
                           "joins with USING or NATURAL");
    cr_assert_str_eq(e.hint, "Drop the view, alter the table, then create the view again.");
    fails("ALTER TABLE j2 RENAME COLUMN w TO v", "0A000",
          "feature not supported: renaming column w of table j2, which view jn joins with USING "
          "or NATURAL");
    fails("ALTER TABLE j1 ADD COLUMN w int", "0A000",
          "feature not supported: adding column w to table j1, which view jn joins with USING or "
          "NATURAL");
    /* A column the join does not merge on is fine. */
    ok("ALTER TABLE j1 RENAME COLUMN v TO vv");
    create_sql_is("jn", "CREATE VIEW jn AS SELECT j1.vv AS v, w FROM j1 NATURAL JOIN j2");
}

Test(ddl_alter, alter_view_rename_column_renames_the_output_and_rewrites_dependents)
{
    ok("CREATE TABLE t (a int, b text)");
    ok("CREATE VIEW v AS SELECT a, b FROM t");
    ok("CREATE VIEW w AS SELECT a FROM v WHERE b <> ''");
    ok("CREATE MATERIALIZED VIEW m AS SELECT b FROM t");
    ok("CREATE INDEX m_b_idx ON m (b)");
    result r = ok("ALTER VIEW v RENAME COLUMN a TO id");
    cr_assert_str_eq(r.tag, "ALTER VIEW");
    create_sql_is("v", "CREATE VIEW v (id) AS SELECT a, b FROM t");
    create_sql_is("w", "CREATE VIEW w AS SELECT v.id AS a FROM v WHERE b <> ''");
    columns_are("v", "id integer, b text");
    columns_are("w", "a integer");
    ok("ALTER VIEW v RENAME COLUMN b TO label");
    create_sql_is("v", "CREATE VIEW v (id, label) AS SELECT a, b FROM t");
    create_sql_is("w", "CREATE VIEW w AS SELECT v.id AS a FROM v WHERE v.label <> ''");
    r = ok("ALTER MATERIALIZED VIEW m RENAME COLUMN b TO c");
    cr_assert_str_eq(r.tag, "ALTER MATERIALIZED VIEW");
    create_sql_is("m", "CREATE MATERIALIZED VIEW m(c) AS SELECT b FROM t");
    create_sql_is("m_b_idx", "CREATE INDEX m_b_idx ON m USING btree (c)");
    fails("ALTER VIEW v RENAME COLUMN nosuch TO x", "42703", "column \"nosuch\" does not exist");
    fails("ALTER VIEW v RENAME COLUMN id TO label", "42701",
          "column \"label\" of relation \"v\" already exists");
    r = ok("ALTER VIEW IF EXISTS nosuch RENAME COLUMN a TO b");
    cr_assert_eq(r.nnotices, 1);
    replay_matches();
}

Test(ddl_alter, or_replace_view_adding_columns_spells_out_star_views_over_it)
{
    ok("CREATE TABLE t (a int, b text)");
    ok("CREATE VIEW v AS SELECT a FROM t");
    ok("CREATE VIEW w AS SELECT * FROM v");
    ok("CREATE VIEW x AS SELECT b FROM v, (SELECT 'x' AS b) s");
    ok("CREATE OR REPLACE VIEW v AS SELECT a, b FROM t");
    create_sql_is("w", "CREATE VIEW w AS SELECT v.a FROM v");
    create_sql_is("x", "CREATE VIEW x AS SELECT s.b FROM v, (SELECT 'x' AS b) s");
    columns_are("w", "a integer");
    replay_matches();
}

/* --- views check every column they read ---------------------------------------------------- */

static void
view_fails(const char *sql, const char *sqlstate, const char *message, const char *at)
{
    cowcat_error e = fails(sql, sqlstate, message);
    const char *p = at != NULL ? strstr(sql, at) : NULL;
    cr_assert_eq(e.position, p != NULL ? (int)(p - sql) + 1 : 0, "%s: position %d", sql,
                 e.position);
}

Test(ddl_alter, views_check_every_column_they_read)
{
    ok("CREATE TABLE q (bb int, c text)");
    ok("CREATE TABLE r (x int, y int)");
    view_fails("CREATE VIEW v AS SELECT 1 FROM q WHERE nosuch = 1", "42703",
               "column \"nosuch\" does not exist", "nosuch");
    view_fails("CREATE VIEW v AS SELECT 1 FROM q GROUP BY nosuch", "42703",
               "column \"nosuch\" does not exist", "nosuch");
    view_fails("CREATE VIEW v AS SELECT 1 FROM q JOIN r ON q.bb = nosuch", "42703",
               "column \"nosuch\" does not exist", "nosuch");
    view_fails("CREATE VIEW v AS SELECT lower(nosuch) FROM q", "42703",
               "column \"nosuch\" does not exist", "nosuch");
    view_fails("CREATE VIEW v AS SELECT 1 FROM q HAVING max(nosuch) > 1", "42703",
               "column \"nosuch\" does not exist", "nosuch");
    view_fails("CREATE VIEW v AS SELECT 1 FROM q ORDER BY nosuch", "42703",
               "column \"nosuch\" does not exist", "nosuch");
    view_fails("CREATE VIEW v AS SELECT 1 FROM q WHERE q.nosuch = 1", "42703",
               "column q.nosuch does not exist", "q.nosuch");
    cowcat_error e = fails("CREATE VIEW v AS SELECT 1 FROM q WHERE bbb = 1", "42703",
                           "column \"bbb\" does not exist");
    cr_assert_str_eq(e.hint, "Perhaps you meant to reference the column \"q.bb\".");
    e = fails("CREATE VIEW v AS SELECT 1 FROM q, (SELECT bb) x", "42703",
              "column \"bb\" does not exist");
    cr_assert_str_eq(e.hint, "There is a column named \"bb\" in table \"q\", but it cannot be "
                             "referenced from this part of the query.");
    view_fails("CREATE VIEW v AS SELECT 1 FROM q a, q b WHERE bb = 1", "42702",
               "column reference \"bb\" is ambiguous", "bb =");
    view_fails("CREATE VIEW v AS SELECT bb AS z FROM q WHERE z = 1", "42703",
               "column \"z\" does not exist", "z = 1");
    view_fails("CREATE VIEW v AS SELECT count(*) OVER (PARTITION BY nosuch) FROM q WHERE "
               "nosuch2 = 1",
               "42703", "column \"nosuch2\" does not exist", "nosuch2");
    /* correlated subqueries may reference the outer query */
    ok("CREATE VIEW ok1 AS SELECT 1 FROM q WHERE EXISTS (SELECT 1 FROM r WHERE r.x = q.bb AND "
       "y = bb)");
    ok("CREATE VIEW ok2 AS SELECT bb AS z FROM q GROUP BY z ORDER BY z");
    ok("CREATE VIEW ok3 AS SELECT x FROM q, LATERAL (SELECT bb AS x) l");
    cr_assert(!exists("v"));
}
