/*
 * tests/ddl/test_ddl_create.c — the CREATE statements through cowcat.h:
 * TABLE (types, defaults, constraints and PostgreSQL's generated names),
 * VIEW / MATERIALIZED VIEW (dependencies, output columns), INDEX, TYPE ...
 * AS ENUM, ROLE (SCRAM verifiers), DATABASE, SCHEMA, and the rename
 * rewrite of stored statements.
 *
 * Every error case is checked for PostgreSQL 15's SQLSTATE, message and
 * position (compared with a real server), and for leaving the catalog
 * unchanged (snapshot fingerprint before and after). White-box where the
 * public API cannot see: the SCRAM verifier (internal.h) and the stored
 * role password.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cowcat.h"
#include "internal.h"

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

TestSuite(ddl_create, .init = setup, .fini = teardown);

static void
fingerprint(uint64_t fp[2])
{
    cowcat_snapshot *snap;
    cowcat_error err;
    cr_assert_eq(cowcat_snapshot_open(s, &snap, &err), COWCAT_OK);
    cowcat_snapshot_fingerprint(snap, fp);
    cowcat_snapshot_close(snap);
}

/* Runs sql, which must succeed; returns its last tag and notices in r. */
static result
ok(const char *sql)
{
    result r = {0};
    cowcat_error err;
    cowcat_code rc = cowcat_exec(s, sql, &cbs, &r, &err);
    cr_assert_eq(rc, COWCAT_OK, "%s: %s (%s)", sql, err.message, err.sqlstate);
    return r;
}

/*
 * Runs sql, which must fail with sqlstate and message at position pos
 * (0: none) and leave the catalog as it was; returns the error.
 */
static cowcat_error
fails(const char *sql, const char *sqlstate, const char *message, int pos)
{
    uint64_t before[2], after[2];
    fingerprint(before);
    cowcat_error err;
    cowcat_code rc = cowcat_exec(s, sql, NULL, NULL, &err);
    cr_assert_neq(rc, COWCAT_OK, "%s: should have failed", sql);
    cr_assert_str_eq(err.sqlstate, sqlstate, "%s: %s (%s)", sql, err.message, err.sqlstate);
    cr_assert_str_eq(err.message, message, "%s", sql);
    cr_assert_eq(err.position, pos, "%s: position %d, want %d", sql, err.position, pos);
    fingerprint(after);
    cr_assert(before[0] == after[0] && before[1] == after[1], "%s changed the catalog", sql);
    return err;
}

/* The position of the first occurrence of word in sql (1-based). */
static int
at(const char *sql, const char *word)
{
    const char *p = strstr(sql, word);
    cr_assert_not_null(p, "%s not in %s", word, sql);
    return (int)(p - sql) + 1;
}

/* Finds relation name in a new snapshot (closed by the caller). */
static cowcat_snapshot *
find(const char *name, cowcat_object *o)
{
    cowcat_snapshot *snap;
    cowcat_error err;
    cr_assert_eq(cowcat_snapshot_open(s, &snap, &err), COWCAT_OK);
    cr_assert_eq(cowcat_snapshot_find(snap, name, o, &err), COWCAT_OK, "%s: %s", name, err.message);
    return snap;
}

/* "name type [NOT NULL] [DEFAULT x]" of each column, joined with ", ". */
typedef struct text {
    char buf[2048];
} text;

static int
col_text(void *arg, const cowcat_column_info *c)
{
    text *t = arg;
    size_t n = strlen(t->buf);
    snprintf(t->buf + n, sizeof t->buf - n, "%s%s %s%s%s%s", n ? ", " : "", c->name, c->type,
             c->not_null ? " NOT NULL" : "", c->default_expr ? " DEFAULT " : "",
             c->default_expr ? c->default_expr : "");
    return 0;
}

static void
columns_are(const char *rel, const char *want)
{
    cowcat_object o;
    cowcat_snapshot *snap = find(rel, &o);
    text t = {{0}};
    cowcat_error err;
    cr_assert_eq(cowcat_snapshot_columns(snap, o.oid, col_text, &t, &err), COWCAT_OK);
    cowcat_snapshot_close(snap);
    cr_assert_str_eq(t.buf, want, "columns of %s: %s", rel, t.buf);
}

/* "name TYPE (cols) [-> ref (cols)] [CHECK expr]" of each constraint, joined with "; ". */
typedef struct con_arg {
    text t;
    cowcat_snapshot *snap;
} con_arg;

static int
con_text(void *arg, const cowcat_constraint_info *c)
{
    con_arg *a = arg;
    size_t n = strlen(a->t.buf);
    n += (size_t)snprintf(a->t.buf + n, sizeof a->t.buf - n, "%s%s %s (", n ? "; " : "", c->name,
                          c->type);
    for (size_t i = 0; i < c->ncolumns; i++)
        n += (size_t)snprintf(a->t.buf + n, sizeof a->t.buf - n, "%s%s", i ? "," : "",
                              c->columns[i]);
    n += (size_t)snprintf(a->t.buf + n, sizeof a->t.buf - n, ")");
    if (c->ref_oid != 0) {
        cowcat_object r;
        cowcat_error err;
        cr_assert_eq(cowcat_snapshot_find_oid(a->snap, c->ref_oid, &r, &err), COWCAT_OK);
        n += (size_t)snprintf(a->t.buf + n, sizeof a->t.buf - n, " -> %s (", r.name);
        for (size_t i = 0; i < c->nref_columns; i++)
            n += (size_t)snprintf(a->t.buf + n, sizeof a->t.buf - n, "%s%s", i ? "," : "",
                                  c->ref_columns[i]);
        n += (size_t)snprintf(a->t.buf + n, sizeof a->t.buf - n, ")");
    }
    if (c->check_expr != NULL)
        snprintf(a->t.buf + n, sizeof a->t.buf - n, " %s", c->check_expr);
    return 0;
}

static void
constraints_are(const char *rel, const char *want)
{
    cowcat_object o;
    con_arg a = {{{0}}, NULL};
    a.snap = find(rel, &o);
    cowcat_error err;
    cr_assert_eq(cowcat_snapshot_constraints(a.snap, o.oid, con_text, &a, &err), COWCAT_OK);
    cowcat_snapshot_close(a.snap);
    cr_assert_str_eq(a.t.buf, want, "constraints of %s: %s", rel, a.t.buf);
}

static int
dep_text(void *arg, const cowcat_object *o)
{
    text *t = arg;
    size_t n = strlen(t->buf);
    snprintf(t->buf + n, sizeof t->buf - n, "%s%s", n ? "," : "", o->name);
    return 0;
}

/* The names of rel's direct dependents, in walk order. */
static void
dependents_are(const char *rel, const char *want)
{
    cowcat_object o;
    cowcat_snapshot *snap = find(rel, &o);
    text t = {{0}};
    cowcat_error err;
    cr_assert_eq(cowcat_snapshot_walk_dependents(snap, o.oid, dep_text, &t, &err), COWCAT_OK);
    cowcat_snapshot_close(snap);
    cr_assert_str_eq(t.buf, want, "dependents of %s: %s", rel, t.buf);
}

static void
create_sql_is(const char *rel, const char *want)
{
    cowcat_object o;
    cowcat_snapshot *snap = find(rel, &o);
    cr_assert_str_eq(o.create_sql, want, "create_sql of %s", rel);
    cowcat_snapshot_close(snap);
}

static bool
exists(const char *rel)
{
    cowcat_snapshot *snap;
    cowcat_object o;
    cowcat_error err;
    cr_assert_eq(cowcat_snapshot_open(s, &snap, &err), COWCAT_OK);
    bool found = cowcat_snapshot_find(snap, rel, &o, &err) == COWCAT_OK;
    cowcat_snapshot_close(snap);
    return found;
}

static void query_is(const char *sql, const char *want);

/* --- CREATE TABLE ----------------------------------------------------------------------- */

Test(ddl_create, table_stores_builtin_types_with_postgres_names_and_modifiers)
{
    result r = ok("CREATE TABLE t (a int, b smallint, c bigint, d numeric(10,2), e real, "
                  "f double precision, g boolean, h text, i varchar(20), j char(3), k bytea, "
                  "l date, m time, n timestamp, o timestamptz, p interval, q uuid, r json, "
                  "s jsonb, u int[], v decimal, w float(30))");
    cr_assert_str_eq(r.tag, "CREATE TABLE");
    columns_are("t", "a integer, b smallint, c bigint, d numeric(10,2), e real, "
                     "f double precision, g boolean, h text, i character varying(20), "
                     "j character(3), k bytea, l date, m time without time zone, "
                     "n timestamp without time zone, o timestamp with time zone, p interval, "
                     "q uuid, r json, s jsonb, u integer[], v numeric, w double precision");
    create_sql_is("t", "CREATE TABLE t (a int, b smallint, c bigint, d numeric(10,2), e real, "
                       "f double precision, g boolean, h text, i varchar(20), j char(3), k bytea, "
                       "l date, m time, n timestamp, o timestamptz, p interval, q uuid, r json, "
                       "s jsonb, u int[], v decimal, w float(30))");
}

Test(ddl_create, table_keeps_not_null_defaults_and_primary_key_implies_not_null)
{
    ok("  create table t (a int primary key, b text not null default 'x', c int null, "
       "d timestamptz default now());  ");
    columns_are("t", "a integer NOT NULL, b text NOT NULL DEFAULT 'x', c integer, "
                     "d timestamp with time zone DEFAULT now()");
    create_sql_is("t", "create table t (a int primary key, b text not null default 'x', c int "
                       "null, d timestamptz default now())");
}

Test(ddl_create, constraints_get_postgres_default_names)
{
    ok("CREATE TABLE u (x int PRIMARY KEY, y int UNIQUE, z text)");
    ok("CREATE TABLE u2 (p int, q int, PRIMARY KEY (p, q))");
    ok("CREATE TABLE t (a int, b int, CHECK (a > b), CHECK (a > 0), c int CHECK (a < 0) "
       "CHECK (c > 0), d int REFERENCES u, e int REFERENCES u (y) ON DELETE CASCADE, "
       "FOREIGN KEY (d) REFERENCES u, FOREIGN KEY (d, e) REFERENCES u2 MATCH FULL)");
    constraints_are("t", "t_check CHECK (a,b) a > b; t_a_check CHECK (a) a > 0; "
                         "t_a_check1 CHECK (a) a < 0; t_c_check CHECK (c) c > 0; "
                         "t_d_fkey FOREIGN KEY (d) -> u (x); t_e_fkey FOREIGN KEY (e) -> u (y); "
                         "t_d_fkey1 FOREIGN KEY (d) -> u (x); "
                         "t_d_e_fkey FOREIGN KEY (d,e) -> u2 (p,q)");
    constraints_are("u", "u_pkey PRIMARY KEY (x); u_y_key UNIQUE (y)");
    dependents_are("u", "t");
    dependents_are("u2", "t");
}

Test(ddl_create, identical_unique_keys_merge_and_names_avoid_existing_relations)
{
    ok("CREATE TABLE t_pkey (a int)");
    ok("CREATE TABLE t (a int PRIMARY KEY, UNIQUE (a), b int UNIQUE, c int, "
       "CONSTRAINT named UNIQUE (b), UNIQUE (b, c), UNIQUE (b, c))");
    constraints_are("t", "t_pkey1 PRIMARY KEY (a); named UNIQUE (b); t_b_c_key UNIQUE (b,c)");
}

Test(ddl_create, a_table_may_reference_itself)
{
    ok("CREATE TABLE node (id int PRIMARY KEY, parent int REFERENCES node, "
       "other int REFERENCES public.node (id))");
    constraints_are("node", "node_pkey PRIMARY KEY (id); "
                            "node_parent_fkey FOREIGN KEY (parent) -> node (id); "
                            "node_other_fkey FOREIGN KEY (other) -> node (id)");
    dependents_are("node", "");
    ok("DROP TABLE node");
    cr_assert(!exists("node"));
}

Test(ddl_create, enum_columns_use_their_type)
{
    ok("CREATE TYPE mood AS ENUM ('sad', 'ok')");
    ok("CREATE TABLE t (m mood, ms public.mood[])");
    columns_are("t", "m mood, ms mood[]");
    dependents_are("mood", "t");
    fails("DROP TYPE mood", "2BP01", "cannot drop type mood because other objects depend on it", 0);
}

Test(ddl_create, if_not_exists_skips_with_a_notice)
{
    ok("CREATE TABLE t (a int)");
    uint64_t before[2], after[2];
    fingerprint(before);
    result r = ok("CREATE TABLE IF NOT EXISTS t (b text)");
    fingerprint(after);
    cr_assert_eq(r.nnotices, 1);
    cr_assert_str_eq(r.notice.sqlstate, "42P07");
    cr_assert_str_eq(r.notice.message, "relation \"t\" already exists, skipping");
    cr_assert_str_eq(r.tag, "CREATE TABLE");
    cr_assert(before[0] == after[0] && before[1] == after[1]);
}

Test(ddl_create, table_errors_match_postgres)
{
    ok("CREATE TABLE u (x int PRIMARY KEY, y int UNIQUE, z text)");
    ok("CREATE VIEW vu AS SELECT * FROM u");
    ok("CREATE TABLE nopk (a int)");
    ok("CREATE TYPE mood AS ENUM ('a')");
    const char *q;
    fails("CREATE TABLE t (a int, a text)", "42701", "column \"a\" specified more than once", 0);
    q = "CREATE TABLE t (a foo)";
    fails(q, "42704", "type \"foo\" does not exist", at(q, "foo"));
    q = "CREATE TABLE t (a s.foo)";
    fails(q, "3F000", "schema \"s\" does not exist", at(q, "s.foo"));
    q = "CREATE TABLE t (a pg_catalog.foo)";
    fails(q, "42704", "type \"pg_catalog.foo\" does not exist", at(q, "pg_catalog"));
    q = "CREATE TABLE t (a int PRIMARY KEY, b int PRIMARY KEY)";
    fails(q, "42P16", "multiple primary keys for table \"t\" are not allowed",
          at(q, "PRIMARY KEY)"));
    q = "CREATE TABLE t (a int, UNIQUE (a, x))";
    fails(q, "42703", "column \"x\" named in key does not exist", at(q, "UNIQUE"));
    q = "CREATE TABLE t (a int, b int, PRIMARY KEY (a, a))";
    fails(q, "42701", "column \"a\" appears twice in primary key constraint", at(q, "PRIMARY"));
    fails("CREATE TABLE t (a int REFERENCES nope)", "42P01", "relation \"nope\" does not exist", 0);
    fails("CREATE TABLE t (a int REFERENCES u (q))", "42703",
          "column \"q\" referenced in foreign key constraint does not exist", 0);
    fails("CREATE TABLE t (a int, FOREIGN KEY (q) REFERENCES u)", "42703",
          "column \"q\" referenced in foreign key constraint does not exist", 0);
    fails("CREATE TABLE t (a int REFERENCES u (z))", "42830",
          "there is no unique constraint matching given keys for referenced table \"u\"", 0);
    fails("CREATE TABLE t (a int, b int, FOREIGN KEY (a, b) REFERENCES u (x))", "42830",
          "number of referencing and referenced columns for foreign key disagree", 0);
    fails("CREATE TABLE t (a int REFERENCES nopk)", "42704",
          "there is no primary key for referenced table \"nopk\"", 0);
    fails("CREATE TABLE t (a int REFERENCES vu)", "42809",
          "referenced relation \"vu\" is not a table", 0);
    fails("CREATE TABLE t (a int, b int, FOREIGN KEY (a, b) REFERENCES u (x, x))", "42830",
          "foreign key referenced-columns list must not contain duplicates", 0);
    fails("CREATE TABLE u (q int)", "42P07", "relation \"u\" already exists", 0);
    cowcat_error e = fails("CREATE TABLE mood (a int)", "42710", "type \"mood\" already exists", 0);
    cr_assert(strstr(e.hint, "associated type") != NULL);
    q = "CREATE TABLE t (a serial)";
    fails(q, "0A000", "feature not supported: serial columns", at(q, "serial"));
    q = "CREATE TABLE t (a int NULL NOT NULL)";
    fails(q, "42601", "conflicting NULL/NOT NULL declarations for column \"a\" of table \"t\"",
          at(q, "NOT NULL"));
    q = "CREATE TABLE t (a int DEFAULT 1 DEFAULT 2)";
    fails(q, "42601", "multiple default values specified for column \"a\" of table \"t\"",
          at(q, "DEFAULT 2"));
    fails("CREATE TABLE t (a int CHECK (b > 0) CONSTRAINT t_a_check CHECK (a > 1))", "42703",
          "column \"b\" does not exist", at("CREATE TABLE t (a int CHECK (b > 0)", "b >"));
    fails("CREATE TABLE t (a int CHECK (a > 0) CONSTRAINT t_a_check CHECK (a > 1))", "42710",
          "check constraint \"t_a_check\" already exists", 0);
    q = "CREATE TABLE t (a varchar(0))";
    fails(q, "22023", "length for type varchar must be at least 1", at(q, "varchar"));
    q = "CREATE TABLE t (a numeric(2000))";
    fails(q, "22023", "NUMERIC precision 2000 must be between 1 and 1000", at(q, "numeric"));
    q = "CREATE TABLE t (a text(3))";
    fails(q, "42601", "type modifier is not allowed for type \"text\"", at(q, "text"));
    q = "CREATE TABLE pg_catalog.t (a int)";
    fails(q, "42501", "permission denied for schema pg_catalog", at(q, "pg_catalog"));
    q = "CREATE TABLE information_schema.t (a int)";
    fails(q, "42501", "permission denied for schema information_schema",
          at(q, "information_schema"));
    q = "CREATE TABLE nosuch.t (a int)";
    fails(q, "3F000", "schema \"nosuch\" does not exist", at(q, "nosuch"));
}

Test(ddl_create, unsupported_table_forms_fail_with_0A000)
{
    ok("CREATE TABLE base (a int)");
    const char *cases[][2] = {
        {"CREATE TEMP TABLE t (a int)", "feature not supported: temporary tables"},
        {"CREATE UNLOGGED TABLE t (a int)", "feature not supported: unlogged tables"},
        {"CREATE TABLE t (a int) PARTITION BY RANGE (a)", "feature not supported: PARTITION BY"},
        {"CREATE TABLE t (b int) INHERITS (base)", "feature not supported: INHERITS"},
        {"CREATE TABLE t (LIKE base)", "feature not supported: LIKE"},
        {"CREATE TABLE t (a int GENERATED ALWAYS AS (1) STORED)",
         "feature not supported: generated columns"},
        {"CREATE TABLE t (a int GENERATED ALWAYS AS IDENTITY)",
         "feature not supported: identity columns"},
        {"CREATE TABLE t (a int, EXCLUDE USING gist (a WITH =))",
         "feature not supported: EXCLUDE constraints"},
        {"CREATE TABLE t (a inet)", "feature not supported: type inet"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint64_t before[2], after[2];
        fingerprint(before);
        cowcat_error err;
        cr_assert_neq(cowcat_exec(s, cases[i][0], NULL, NULL, &err), COWCAT_OK, "%s", cases[i][0]);
        cr_assert_str_eq(err.sqlstate, "0A000", "%s: %s", cases[i][0], err.message);
        cr_assert_str_eq(err.message, cases[i][1]);
        fingerprint(after);
        cr_assert(before[0] == after[0] && before[1] == after[1]);
    }
}

Test(ddl_create, an_error_in_a_block_leaves_earlier_statements_to_rollback)
{
    cowcat_error err;
    uint64_t before[2], after[2];
    fingerprint(before);
    cr_assert_neq(
        cowcat_exec(s, "CREATE TABLE a (x int); CREATE TABLE b (y nope)", NULL, NULL, &err),
        COWCAT_OK);
    cr_assert_str_eq(err.sqlstate, "42704");
    fingerprint(after);
    cr_assert(before[0] == after[0] && before[1] == after[1]);
    cr_assert(!exists("a"));
}

/* --- views ------------------------------------------------------------------------------ */

Test(ddl_create, view_columns_and_dependencies)
{
    ok("CREATE TABLE tz (a int, b text, c varchar(10))");
    ok("CREATE TABLE tx (a int PRIMARY KEY, k int)");
    result r = ok("CREATE VIEW v AS SELECT tz.*, x.k, 1 AS one, 'a'::varchar(5) AS vc, "
                  "lower(b), a + 1 FROM tz JOIN tx x USING (a) "
                  "WHERE EXISTS (SELECT 1 FROM tx WHERE tx.a = tz.a)");
    cr_assert_str_eq(r.tag, "CREATE VIEW");
    columns_are("v", "a integer, b text, c character varying(10), k integer, one integer, "
                     "vc character varying(5), lower unknown, ?column? unknown");
    dependents_are("tz", "v");
    dependents_are("tx", "v");
    ok("CREATE VIEW v2 (x, y) AS SELECT * FROM v");
    columns_are("v2", "x integer, y text, c character varying(10), k integer, one integer, "
                      "vc character varying(5), lower unknown, ?column? unknown");
    dependents_are("v", "v2");
}

Test(ddl_create, view_ctes_set_operations_and_values)
{
    ok("CREATE TABLE t (a int, b text)");
    ok("CREATE VIEW v1 AS WITH t AS (SELECT 1::int8 AS q) SELECT q FROM t");
    columns_are("v1", "q bigint");
    dependents_are("t", "");
    ok("CREATE VIEW v2 AS WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r "
       "WHERE n < 3) SELECT n FROM r, t");
    columns_are("v2", "n integer");
    dependents_are("t", "v2");
    ok("CREATE VIEW v3 AS SELECT a FROM t UNION SELECT 2");
    columns_are("v3", "a integer");
    ok("CREATE VIEW v4 AS VALUES (1, 'x')");
    columns_are("v4", "column1 integer, column2 text");
    ok("CREATE VIEW v5 AS SELECT s.x FROM (SELECT b FROM t) s (x)");
    columns_are("v5", "x text");
}

Test(ddl_create, view_errors_match_postgres)
{
    ok("CREATE TABLE tz (a int, b text)");
    ok("CREATE TABLE tx (a int, c text)");
    ok("CREATE VIEW v AS SELECT a FROM tz");
    const char *q;
    q = "CREATE VIEW v1 AS SELECT * FROM nope";
    fails(q, "42P01", "relation \"nope\" does not exist", at(q, "nope"));
    q = "CREATE VIEW v1 AS SELECT * FROM tz WHERE a IN (SELECT x FROM nope2)";
    fails(q, "42P01", "relation \"nope2\" does not exist", at(q, "nope2"));
    fails("CREATE VIEW v1 AS SELECT a, a FROM tz", "42701", "column \"a\" specified more than once",
          0);
    fails("CREATE VIEW v1 AS SELECT 1, 2", "42701", "column \"?column?\" specified more than once",
          0);
    fails("CREATE VIEW v1 (x, y, z) AS SELECT a, b FROM tz", "42601",
          "CREATE VIEW specifies more column names than columns", 0);
    q = "CREATE VIEW v1 AS SELECT q FROM tz";
    fails(q, "42703", "column \"q\" does not exist", at(q, "q FROM"));
    q = "CREATE VIEW v1 AS SELECT tz.q FROM tz";
    fails(q, "42703", "column tz.q does not exist", at(q, "tz.q"));
    q = "CREATE VIEW v1 AS SELECT zz.a FROM tz";
    fails(q, "42P01", "missing FROM-clause entry for table \"zz\"", at(q, "zz.a"));
    q = "CREATE VIEW v1 AS SELECT a FROM tz, tx";
    fails(q, "42702", "column reference \"a\" is ambiguous", at(q, "a FROM"));
    fails("CREATE VIEW v1 AS SELECT * FROM tz JOIN tx USING (b)", "42703",
          "column \"b\" specified in USING clause does not exist in right table", 0);
    fails("CREATE VIEW v1 AS SELECT * FROM tz JOIN tx ON true", "42701",
          "column \"a\" specified more than once", 0);
    fails("CREATE VIEW v AS SELECT a FROM tz", "42P07", "relation \"v\" already exists", 0);
    fails("CREATE OR REPLACE VIEW tz AS SELECT a FROM tz", "42809", "\"tz\" is not a view", 0);
    q = "CREATE VIEW v1 AS SELECT 'a'::nosuchtype";
    fails(q, "42704", "type \"nosuchtype\" does not exist", at(q, "nosuchtype"));
    fails("CREATE VIEW nosuch.v1 AS SELECT 1", "3F000", "schema \"nosuch\" does not exist", 0);
    q = "CREATE TEMP VIEW v1 AS SELECT 1";
    fails(q, "0A000", "feature not supported: temporary views", at(q, "v1"));
    ok("CREATE OR REPLACE VIEW v9 AS SELECT 1 AS one");
    columns_are("v9", "one integer");
}

static uint32_t
oid_of(const char *rel)
{
    cowcat_object o;
    cowcat_snapshot *snap = find(rel, &o);
    cowcat_snapshot_close(snap);
    return o.oid;
}

Test(ddl_create, or_replace_view_keeps_the_view_its_oid_and_its_dependents)
{
    ok("CREATE TABLE tz (a int, b text)");
    ok("CREATE TABLE ty (a int, b text)");
    ok("CREATE VIEW v AS SELECT a FROM tz");
    ok("CREATE VIEW w AS SELECT a FROM v WHERE a > 1");
    ok("COMMENT ON VIEW v IS 'kept'");
    uint32_t oid = oid_of("v");
    result r = ok("  CREATE OR REPLACE VIEW v AS SELECT a, b FROM tz;  ");
    cr_assert_str_eq(r.tag, "CREATE VIEW");
    cr_assert_eq(oid_of("v"), oid, "the view keeps its OID");
    columns_are("v", "a integer, b text");
    create_sql_is("v", "CREATE OR REPLACE VIEW v AS SELECT a, b FROM tz");
    dependents_are("v", "w");
    query_is("SELECT comment FROM cowcat_catalog.comments WHERE object = 'public.v'", "kept");
    /* reading another table moves the dependency */
    ok("CREATE OR REPLACE VIEW v AS SELECT a, b, 1 AS one FROM ty");
    columns_are("v", "a integer, b text, one integer");
    dependents_are("tz", "");
    dependents_are("ty", "v");
    dependents_are("v", "w");
    cr_assert_eq(oid_of("v"), oid);
    /* replacing w changes nothing about v */
    ok("CREATE OR REPLACE VIEW w AS SELECT a, b FROM v");
    columns_are("w", "a integer, b text");
    dependents_are("v", "w");
}

Test(ddl_create, or_replace_view_errors_match_postgres)
{
    ok("CREATE TABLE tz (a int, b text, c varchar(5), d varchar(10))");
    ok("CREATE VIEW v AS SELECT a, b, c FROM tz");
    ok("CREATE VIEW w AS SELECT a FROM v");
    ok("CREATE MATERIALIZED VIEW mv AS SELECT a FROM tz");
    fails("CREATE OR REPLACE VIEW v AS SELECT a, b FROM tz", "42P16",
          "cannot drop columns from view", 0);
    cowcat_error e = fails("CREATE OR REPLACE VIEW v AS SELECT a, b AS label, c FROM tz", "42P16",
                           "cannot change name of view column \"b\" to \"label\"", 0);
    cr_assert_str_eq(e.hint,
                     "Use ALTER VIEW ... RENAME COLUMN ... to change name of view column instead.");
    fails("CREATE OR REPLACE VIEW v AS SELECT a, a AS b, c FROM tz", "42P16",
          "cannot change data type of view column \"b\" from text to integer", 0);
    fails("CREATE OR REPLACE VIEW v AS SELECT a, b, d AS c FROM tz", "42P16",
          "cannot change data type of view column \"c\" from character varying(5) to character "
          "varying(10)",
          0);
    fails("CREATE OR REPLACE VIEW v AS SELECT a, b, c, a FROM tz", "42701",
          "column \"a\" of relation \"v\" already exists", 0);
    fails("CREATE OR REPLACE VIEW v AS SELECT a, b, c, d, d FROM tz", "42701",
          "column \"d\" of relation \"v\" already exists", 0);
    fails("CREATE OR REPLACE VIEW tz AS SELECT 1 AS a", "42809", "\"tz\" is not a view", 0);
    fails("CREATE OR REPLACE VIEW mv AS SELECT 1 AS a", "42809", "\"mv\" is not a view", 0);
    fails("CREATE OR REPLACE VIEW v AS SELECT a, b, c FROM w, tz", "42702",
          "column reference \"a\" is ambiguous",
          at("CREATE OR REPLACE VIEW v AS SELECT a, b, c FROM w, tz", "a, b"));
    fails("CREATE OR REPLACE VIEW v AS SELECT w.a, b, c FROM w, tz", "42P17",
          "infinite recursion detected in rules for relation \"v\"", 0);
    fails("CREATE OR REPLACE VIEW v AS SELECT a, b, c FROM v", "42P17",
          "infinite recursion detected in rules for relation \"v\"", 0);
    columns_are("v", "a integer, b text, c character varying(5)");
}

Test(ddl_create, or_replace_view_is_for_the_owner_only)
{
    ok("CREATE TABLE tz (a int)");
    ok("CREATE VIEW v AS SELECT a FROM tz");
    ok("CREATE ROLE r1 LOGIN");
    ok("GRANT CREATE ON SCHEMA public TO r1");
    cowcat_session_close(s);
    cowcat_session_options o = {.user = "r1"};
    cowcat_error err;
    cr_assert_eq(cowcat_session_open(db, &o, &s, &err), COWCAT_OK, "%s", err.message);
    fails("CREATE OR REPLACE VIEW v AS SELECT a, 1 AS one FROM tz", "42501",
          "must be owner of view v", 0);
    /* the compatibility rules come first, as in PostgreSQL */
    fails("CREATE OR REPLACE VIEW v AS SELECT 1 AS one", "42P16",
          "cannot change name of view column \"a\" to \"one\"", 0);
    ok("CREATE OR REPLACE VIEW v2 AS SELECT a FROM tz");
    ok("CREATE OR REPLACE VIEW v2 AS SELECT a, 2 AS two FROM tz");
    columns_are("v2", "a integer, two integer");
}

Test(ddl_create, materialized_views_and_their_tags)
{
    ok("CREATE TABLE t (a int)");
    result r = ok("CREATE MATERIALIZED VIEW mv AS SELECT a FROM t");
    cr_assert_str_eq(r.tag, "SELECT 0");
    r = ok("CREATE MATERIALIZED VIEW mv2 AS SELECT a FROM t WITH NO DATA");
    cr_assert_str_eq(r.tag, "CREATE MATERIALIZED VIEW");
    columns_are("mv", "a integer");
    dependents_are("t", "mv,mv2");
    fails("CREATE MATERIALIZED VIEW mv AS SELECT a FROM t", "42P07",
          "relation \"mv\" already exists", 0);
    r = ok("CREATE MATERIALIZED VIEW IF NOT EXISTS mv AS SELECT a FROM nope");
    cr_assert_eq(r.nnotices, 1);
    cr_assert_str_eq(r.notice.message, "relation \"mv\" already exists, skipping");
    fails("CREATE MATERIALIZED VIEW mv3 AS SELECT a FROM nope", "42P01",
          "relation \"nope\" does not exist",
          at("CREATE MATERIALIZED VIEW mv3 AS SELECT a FROM nope", "nope"));
    ok("CREATE INDEX ON mv (a)");
    cr_assert(exists("mv_a_idx"));
}

/* --- indexes ---------------------------------------------------------------------------- */

Test(ddl_create, index_names_follow_choose_index_name)
{
    ok("CREATE TABLE tz (a int, b text)");
    const char *stmts[] = {
        "CREATE INDEX ON tz (a)",        "CREATE INDEX ON tz (a)",
        "CREATE INDEX ON tz (a, b)",     "CREATE INDEX ON tz (lower(b))",
        "CREATE INDEX ON tz ((a + 1))",  "CREATE INDEX ON tz (a, a)",
        "CREATE INDEX ON tz ((b::int))", "CREATE UNIQUE INDEX ON tz (a) INCLUDE (b)",
    };
    const char *names[] = {"tz_a_idx",    "tz_a_idx1",   "tz_a_b_idx", "tz_lower_idx",
                           "tz_expr_idx", "tz_a_a1_idx", "tz_b_idx",   "tz_a_b_idx1"};
    for (size_t i = 0; i < sizeof stmts / sizeof stmts[0]; i++) {
        result r = ok(stmts[i]);
        cr_assert_str_eq(r.tag, "CREATE INDEX");
        cr_assert(exists(names[i]), "%s: no %s", stmts[i], names[i]);
    }
    columns_are("tz_a_b_idx", "a integer, b text");
    columns_are("tz_a_a1_idx", "a integer, a1 integer");
    create_sql_is("tz_a_idx", "CREATE INDEX tz_a_idx ON tz USING btree (a)");
    dependents_are("tz", "tz_a_idx,tz_a_idx1,tz_a_b_idx,tz_lower_idx,tz_expr_idx,tz_a_a1_idx,"
                         "tz_b_idx,tz_a_b_idx1");
}

Test(ddl_create, index_errors_match_postgres)
{
    ok("CREATE TABLE tz (a int, b text)");
    ok("CREATE VIEW v AS SELECT * FROM tz");
    ok("CREATE INDEX i1 ON tz (a)");
    fails("CREATE INDEX ON tz (q)", "42703", "column \"q\" does not exist", 0);
    const char *q = "CREATE INDEX ON tz (lower(q))";
    fails(q, "42703", "column \"q\" does not exist", at(q, "q)"));
    cowcat_error e =
        fails("CREATE INDEX ON v (a)", "42809", "cannot create index on relation \"v\"", 0);
    cr_assert_str_eq(e.detail, "This operation is not supported for views.");
    fails("CREATE INDEX ON i1 (a)", "42809", "\"i1\" is an index", 0);
    fails("CREATE INDEX i1 ON tz (a)", "42P07", "relation \"i1\" already exists", 0);
    fails("CREATE INDEX tz ON tz (a)", "42P07", "relation \"tz\" already exists", 0);
    fails("CREATE INDEX i2 ON nope (a)", "42P01", "relation \"nope\" does not exist", 0);
    fails("CREATE INDEX i3 ON tz USING foo (a)", "42704", "access method \"foo\" does not exist",
          0);
    result r = ok("CREATE INDEX IF NOT EXISTS i1 ON tz (b)");
    cr_assert_eq(r.nnotices, 1);
    cr_assert_str_eq(r.notice.message, "relation \"i1\" already exists, skipping");
}

/* --- types -------------------------------------------------------------------------------- */

Test(ddl_create, enum_types_and_their_errors)
{
    result r = ok("CREATE TYPE mood AS ENUM ('a', 'b')");
    cr_assert_str_eq(r.tag, "CREATE TYPE");
    create_sql_is("mood", "CREATE TYPE mood AS ENUM ('a', 'b')");
    ok("CREATE TABLE tz (a int)");
    fails("CREATE TYPE mood AS ENUM ('c')", "42710", "type \"mood\" already exists", 0);
    fails("CREATE TYPE tz AS ENUM ('c')", "42710", "type \"tz\" already exists", 0);
    fails("CREATE TYPE m2 AS ENUM ('a', 'b', 'a')", "23505",
          "duplicate key value violates unique constraint \"pg_enum_typid_label_index\"", 0);
    cowcat_error e =
        fails("CREATE TYPE m3 AS ENUM ('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
              "aaaaaaaaaaaaaaaaaaaaaaaaaaa')",
              "42602",
              "invalid enum label \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
              "aaaaaaaaaaaaaaaaaaaaaaa\"",
              0);
    cr_assert_str_eq(e.detail, "Labels must be 63 bytes or less.");
    fails("CREATE TYPE nosuch.m AS ENUM ('a')", "3F000", "schema \"nosuch\" does not exist", 0);
}

/* --- roles, databases, schemas ------------------------------------------------------------ */

Test(ddl_create, scram_verifier_matches_postgres)
{
    /* PostgreSQL 15 stored this for PASSWORD 'secret'; recompute it from its salt. */
    const char *pg = "SCRAM-SHA-256$4096:7BjBU+HI7bfkM9ngFKatBA==$aHNdxUchWKPmqC5RBFsMhvqvkifKGg"
                     "MzoPt+ITjnsBA=:iPFEcBirC2+50H3PdWroCvRnpuFiBaEVWaoxJ8P+QUM=";
    const uint8_t salt[16] = {0xec, 0x18, 0xc1, 0x53, 0xe1, 0xc8, 0xed, 0xb7,
                              0xe4, 0x33, 0xd9, 0xe0, 0x14, 0xa6, 0xad, 0x04};
    char *v = NULL;
    cc_err err;
    cr_assert_eq(ddl__scram_verifier_salt("secret", salt, sizeof salt, 4096, &v, &err), CC_OK);
    cr_assert_str_eq(v, pg);
    free(v);
    cr_assert(ddl__scram_is_verifier(pg));
    cr_assert(!ddl__scram_is_verifier("SCRAM-SHA-256$4096:abc$def:ghi"));
    char *a = NULL, *b = NULL;
    cr_assert_eq(ddl__scram_verifier("secret", &a, &err), CC_OK);
    cr_assert_eq(ddl__scram_verifier("secret", &b, &err), CC_OK);
    cr_assert(ddl__scram_is_verifier(a));
    cr_assert_str_neq(a, b, "salts must be random");
    free(a);
    free(b);
}

/* The stored password of role name (white-box: decodes the role). */
static char *
stored_password(const char *name)
{
    const cat_state *st = cat_state_acquire(db->cat);
    const cat_object *r = cat_state_find_role(st, name);
    cr_assert_not_null(r);
    ProtobufCMessage *m;
    cr_assert_eq(cat_object_decode(r, &m, NULL), CC_OK);
    char *p = strdup(((Cowcat__Catalog__RoleValue *)m)->password);
    protobuf_c_message_free_unpacked(m, NULL);
    return p;
}

Test(ddl_create, roles_store_scram_verifiers_never_the_password)
{
    result r = ok("CREATE ROLE r1 LOGIN PASSWORD 'secret'");
    cr_assert_str_eq(r.tag, "CREATE ROLE");
    char *p = stored_password("r1");
    cr_assert(ddl__scram_is_verifier(p), "%s", p);
    cr_assert(strstr(p, "secret") == NULL);
    free(p);
    const char *given = "SCRAM-SHA-256$4096:7BjBU+HI7bfkM9ngFKatBA==$aHNdxUchWKPmqC5RBFsMhvqvkif"
                        "KGgMzoPt+ITjnsBA=:iPFEcBirC2+50H3PdWroCvRnpuFiBaEVWaoxJ8P+QUM=";
    char sql[512];
    snprintf(sql, sizeof sql, "CREATE USER r2 PASSWORD '%s'", given);
    ok(sql);
    p = stored_password("r2");
    cr_assert_str_eq(p, given);
    free(p);
    r = ok("CREATE ROLE r3 PASSWORD ''");
    cr_assert_eq(r.nnotices, 1);
    cr_assert_str_eq(r.notice.message, "empty string is not a valid password, clearing password");
    p = stored_password("r3");
    cr_assert_str_eq(p, "");
    free(p);
}

/* Rows of a query as '|'-joined cells, ';'-separated. */
static int
row_text(void *arg, const char *const *v, size_t n)
{
    text *t = arg;
    size_t len = strlen(t->buf);
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(t->buf + len, sizeof t->buf - len, "%s%s",
                                i ? "|" : (len ? ";" : ""), v[i] ? v[i] : "NULL");
    return 0;
}

static void
query_is(const char *sql, const char *want)
{
    text t = {{0}};
    cowcat_callbacks cb = {NULL, row_text, NULL, NULL};
    cowcat_error err;
    cr_assert_eq(cowcat_exec(s, sql, &cb, &t, &err), COWCAT_OK, "%s: %s", sql, err.message);
    cr_assert_str_eq(t.buf, want, "%s", sql);
}

Test(ddl_create, role_attributes_and_permission_errors)
{
    ok("CREATE ROLE r1 LOGIN CREATEDB");
    ok("CREATE USER u1 NOINHERIT");
    query_is("SELECT name, superuser, login, inherit, create_db, create_role FROM "
             "cowcat_catalog.roles WHERE name IN ('r1', 'u1') ORDER BY name",
             "r1|f|t|t|t|f;u1|f|t|f|f|f");
    fails("CREATE ROLE r1", "42710", "role \"r1\" already exists", 0);
    const char *q = "CREATE ROLE r2 LOGIN NOLOGIN";
    fails(q, "42601", "conflicting or redundant options", at(q, "NOLOGIN"));
    cowcat_error e = fails("CREATE ROLE pg_x", "42939", "role name \"pg_x\" is reserved", 0);
    cr_assert_str_eq(e.detail, "Role names starting with \"pg_\" are reserved.");
    /* the default role cowcat has CREATEROLE but is not a superuser */
    fails("CREATE ROLE r9 SUPERUSER", "42501", "must be superuser to create superusers", 0);
    q = "CREATE ROLE r9 CONNECTION LIMIT 3";
    fails(q, "0A000", "feature not supported: CREATE ROLE ... CONNECTION LIMIT",
          at(q, "CONNECTION"));
    cowcat_session_close(s);
    cowcat_session_options o = {.user = "r1"};
    cowcat_error err;
    cr_assert_eq(cowcat_session_open(db, &o, &s, &err), COWCAT_OK, "%s", err.message);
    fails("CREATE ROLE r5", "42501", "permission denied to create role", 0);
    fails("CREATE SCHEMA s5", "42501", "permission denied for database cowcat", 0);
    fails("CREATE TABLE t (a int)", "42501", "permission denied for schema public",
          at("CREATE TABLE t (a int)", "t ("));
    fails("CREATE VIEW v AS SELECT 1", "42501", "permission denied for schema public", 0);
    result r = ok("CREATE DATABASE d1");
    cr_assert_str_eq(r.tag, "CREATE DATABASE");
    cowcat_session_close(s);
    o.user = "u1";
    cr_assert_eq(cowcat_session_open(db, &o, &s, &err), COWCAT_OK, "%s", err.message);
    fails("CREATE DATABASE d2", "42501", "permission denied to create database", 0);
}

Test(ddl_create, databases_come_with_a_public_schema)
{
    result r = ok("CREATE DATABASE d1");
    cr_assert_str_eq(r.tag, "CREATE DATABASE");
    fails("CREATE DATABASE d1", "42P04", "database \"d1\" already exists", 0);
    fails("CREATE DATABASE d2 OWNER nobody", "42704", "role \"nobody\" does not exist", 0);
    fails("CREATE DATABASE d2 TEMPLATE foo", "3D000", "template database \"foo\" does not exist",
          0);
    const char *q = "CREATE DATABASE d2 WITH foo = 1";
    fails(q, "42601", "option \"foo\" not recognized", at(q, "foo"));
    ok("CREATE ROLE r1");
    fails("CREATE DATABASE d2 OWNER r1", "42501", "must be member of role \"r1\"", 0);
    cowcat_session_close(s);
    cowcat_session_options o = {.database = "d1"};
    cowcat_error err;
    cr_assert_eq(cowcat_session_open(db, &o, &s, &err), COWCAT_OK, "%s", err.message);
    ok("CREATE TABLE t (a int)");
    cr_assert(exists("public.t"));
}

Test(ddl_create, schemas_and_their_errors)
{
    result r = ok("CREATE SCHEMA s1");
    cr_assert_str_eq(r.tag, "CREATE SCHEMA");
    ok("CREATE TABLE s1.t (a int)");
    cr_assert(exists("s1.t"));
    fails("CREATE SCHEMA s1", "42P06", "schema \"s1\" already exists", 0);
    r = ok("CREATE SCHEMA IF NOT EXISTS s1");
    cr_assert_eq(r.nnotices, 1);
    cr_assert_str_eq(r.notice.sqlstate, "42P06");
    cr_assert_str_eq(r.notice.message, "schema \"s1\" already exists, skipping");
    fails("CREATE SCHEMA information_schema", "42P06",
          "schema \"information_schema\" already exists", 0);
    cowcat_error e = fails("CREATE SCHEMA pg_x", "42939", "unacceptable schema name \"pg_x\"", 0);
    cr_assert_str_eq(e.detail, "The prefix \"pg_\" is reserved for system schemas.");
    fails("CREATE SCHEMA AUTHORIZATION nobody", "42704", "role \"nobody\" does not exist", 0);
    ok("CREATE SCHEMA AUTHORIZATION cowcat");
    fails("CREATE SCHEMA AUTHORIZATION cowcat", "42P06", "schema \"cowcat\" already exists", 0);
    fails("CREATE SCHEMA s4 CREATE TABLE x (a int)", "0A000",
          "feature not supported: CREATE SCHEMA with schema elements", 0);
}

/* --- rename rewrite ------------------------------------------------------------------------ */

Test(ddl_create, renames_rewrite_stored_statements)
{
    ok("CREATE TABLE t (a int PRIMARY KEY, b text)");
    ok("CREATE TABLE c (x int REFERENCES t, y int REFERENCES public.t (a))");
    ok("CREATE VIEW v AS SELECT t.a, b FROM t WHERE EXISTS (SELECT 1 FROM public.t t2)");
    ok("CREATE VIEW vc AS WITH t AS (SELECT 1 AS q) SELECT q FROM t, c");
    ok("CREATE INDEX i ON t (b)");
    ok("CREATE TYPE mood AS ENUM ('x')");
    ok("CREATE TABLE tm (m mood, n public.mood[])");
    ok("ALTER TABLE t RENAME TO t2");
    create_sql_is("t2", "CREATE TABLE t2 (a int PRIMARY KEY, b text)");
    create_sql_is("c", "CREATE TABLE c (x int REFERENCES t2, y int REFERENCES public.t2 (a))");
    create_sql_is("v", "CREATE VIEW v AS SELECT t.a, b FROM t2 t WHERE EXISTS (SELECT 1 FROM "
                       "public.t2 t2)");
    create_sql_is("i", "CREATE INDEX i ON t2 USING btree (b)");
    ok("ALTER TABLE c RENAME TO c2");
    create_sql_is("vc", "CREATE VIEW vc AS WITH t AS (SELECT 1 AS q) SELECT q FROM t, c2 c");
    ok("ALTER TYPE mood RENAME TO feeling");
    create_sql_is("feeling", "CREATE TYPE feeling AS ENUM ('x')");
    create_sql_is("tm", "CREATE TABLE tm (m feeling, n public.feeling[])");
    ok("ALTER INDEX i RENAME TO i2");
    create_sql_is("i2", "CREATE INDEX i2 ON t2 USING btree (b)");
}

Test(ddl_create, rewrite_renames_schema_qualified_references)
{
    ok("CREATE SCHEMA s");
    ok("CREATE TABLE s.t (a int)");
    const cat_state *st = cat_state_acquire(db->cat);
    const cat_object *sc =
        cat_state_find_schema(st, cat_state_find_database(st, "cowcat")->ref, "s");
    cr_assert_not_null(sc);
    const cat_object *t = cat_state_find_relation(st, sc->ref, "t");
    char *out = NULL;
    cc_err err;
    cr_assert_eq(ddl__rewrite(NULL, st, t, "CREATE VIEW v AS SELECT s.t.a FROM s.t, other.t", sc,
                              "s2", &out, &err),
                 CC_OK);
    cr_assert_str_eq(out, "CREATE VIEW v AS SELECT s2.t.a FROM s2.t, other.t");
    free(out);
    cr_assert_eq(ddl__rewrite(NULL, st, t, "CREATE TABLE x (a int)", sc, "s2", &out, &err), CC_OK);
    cr_assert_null(out, "nothing to rename: the statement stays as written");
}
