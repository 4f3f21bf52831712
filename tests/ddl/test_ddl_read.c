/*
 * tests/ddl/test_ddl_read.c — the read side through cowcat.h: SELECT over
 * the builtin relations (information_schema, cowcat_catalog) and none,
 * WHERE / ORDER BY / LIMIT semantics, SHOW lists and SHOW CREATE, and the
 * errors with their SQLSTATEs and positions.
 *
 * Each test opens an in-memory catalog and one session; results are
 * collected as rows of '|'-joined cells ("NULL" for SQL NULL).
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cowcat.h"

#define MAXROWS 256
#define MAXCOLS 64

typedef struct result {
    size_t ncols;
    char cols[MAXCOLS][64];
    uint32_t oids[MAXCOLS];
    size_t nrows;
    char *rows[MAXROWS];
    char tag[64];
    cowcat_code code;
    cowcat_error err;
} result;

static cowcat *db;
static cowcat_session *s;

static int
on_columns(void *arg, const cowcat_column *cols, size_t n)
{
    result *r = arg;
    r->ncols = n;
    for (size_t i = 0; i < n && i < MAXCOLS; i++) {
        snprintf(r->cols[i], sizeof r->cols[i], "%s", cols[i].name);
        r->oids[i] = cols[i].type_oid;
    }
    return 0;
}

static int
on_row(void *arg, const char *const *v, size_t n)
{
    result *r = arg;
    size_t len = 1;
    for (size_t i = 0; i < n; i++)
        len += (v[i] ? strlen(v[i]) : 4) + 1;
    char *row = malloc(len), *p = row;
    *p = 0;
    for (size_t i = 0; i < n; i++)
        p += sprintf(p, "%s%s", i ? "|" : "", v[i] ? v[i] : "NULL");
    cr_assert_lt(r->nrows, MAXROWS);
    r->rows[r->nrows++] = row;
    return 0;
}

static void
on_complete(void *arg, const char *tag)
{
    result *r = arg;
    snprintf(r->tag, sizeof r->tag, "%s", tag);
}

static const cowcat_callbacks cbs = {on_columns, on_row, on_complete, NULL};

static void
result_free(result *r)
{
    for (size_t i = 0; i < r->nrows; i++)
        free(r->rows[i]);
    memset(r, 0, sizeof *r);
}

/* Runs sql, which must succeed, into r (freed first). */
static void
q(result *r, const char *sql)
{
    result_free(r);
    r->code = cowcat_exec(s, sql, &cbs, r, &r->err);
    cr_assert_eq(r->code, COWCAT_OK, "%s: %s (%s)", sql, r->err.message, r->err.sqlstate);
}

/* Runs sql, which must fail with sqlstate (and position pos if pos > 0). */
static void
fails(const char *sql, const char *sqlstate, int pos, const char *message)
{
    result r = {0};
    r.code = cowcat_exec(s, sql, &cbs, &r, &r.err);
    cr_assert_neq(r.code, COWCAT_OK, "%s: should have failed", sql);
    cr_assert_str_eq(r.err.sqlstate, sqlstate, "%s: %s (%s)", sql, r.err.message, r.err.sqlstate);
    if (pos > 0)
        cr_assert_eq(r.err.position, pos, "%s: position %d, not %d", sql, r.err.position, pos);
    if (message != NULL)
        cr_assert_str_eq(r.err.message, message, "%s", sql);
    result_free(&r);
}

static void
exec_ok(const char *sql)
{
    cowcat_error err;
    cowcat_code rc = cowcat_exec(s, sql, NULL, NULL, &err);
    cr_assert_eq(rc, COWCAT_OK, "%s: %s (%s)", sql, err.message, err.sqlstate);
}

/* Checks r's rows equal want[0..n) in order. */
static void
rows_are(const result *r, const char *const *want, size_t n)
{
    cr_assert_eq(r->nrows, n, "%zu rows, want %zu (first: %s, last: %s)", r->nrows, n,
                 r->nrows ? r->rows[0] : "-", r->nrows ? r->rows[r->nrows - 1] : "-");
    for (size_t i = 0; i < n; i++)
        cr_assert_str_eq(r->rows[i], want[i], "row %zu: %s, want %s", i, r->rows[i], want[i]);
}

#define ROWS(r, ...)                                                                               \
    do {                                                                                           \
        static const char *const want_[] = {__VA_ARGS__};                                          \
        rows_are((r), want_, sizeof want_ / sizeof want_[0]);                                      \
    } while (0)

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

/* A small schema: two tables with keys, a view, a materialized view, an index, an enum. */
static void
fixture(void)
{
    exec_ok("CREATE TYPE mood AS ENUM ('sad', 'ok')");
    exec_ok("CREATE TABLE users (id int PRIMARY KEY, name varchar(20) NOT NULL, "
            "balance numeric(10,2) DEFAULT 0, tags text[], m mood, UNIQUE (name))");
    exec_ok("CREATE TABLE orders (id bigint PRIMARY KEY, user_id int REFERENCES users (id), "
            "note text, CHECK (id > 0))");
    exec_ok("CREATE VIEW big AS SELECT id, name FROM users WHERE balance > 100");
    exec_ok("CREATE MATERIALIZED VIEW totals AS SELECT user_id FROM orders");
    exec_ok("CREATE INDEX orders_user ON orders (user_id)");
}

TestSuite(ddl_read, .init = setup, .fini = teardown);

/* --- SELECT without FROM ---------------------------------------------------------------------- */

Test(ddl_read, constants_and_session_functions_need_no_from)
{
    result r = {0};
    q(&r, "SELECT 1");
    cr_assert_str_eq(r.cols[0], "?column?");
    cr_assert_eq(r.oids[0], 23);
    cr_assert_str_eq(r.tag, "SELECT 1");
    ROWS(&r, "1");
    q(&r, "SELECT 'a' AS x, true, NULL, 1.5");
    cr_assert_str_eq(r.cols[0], "x");
    cr_assert_eq(r.oids[0], 25);
    cr_assert_str_eq(r.cols[1], "bool");
    cr_assert_eq(r.oids[1], 16);
    ROWS(&r, "a|t|NULL|1.5");
    q(&r, "SELECT version()");
    cr_assert_str_eq(r.cols[0], "version");
    ROWS(&r, "PostgreSQL 15.1 (cowcat 0.1.0)");
    q(&r, "SELECT current_user, session_user, current_database(), current_schema(), "
          "current_schema");
    cr_assert_str_eq(r.cols[0], "current_user");
    cr_assert_eq(r.oids[0], 19);
    ROWS(&r, "cowcat|cowcat|cowcat|public|public");
    q(&r, "SELECT pg_catalog.version() AS v, 'x'::text, 2::int8");
    cr_assert_str_eq(r.cols[1], "text");
    cr_assert_str_eq(r.cols[2], "int8");
    cr_assert_eq(r.oids[2], 20);
    ROWS(&r, "PostgreSQL 15.1 (cowcat 0.1.0)|x|2");
    q(&r, "SELECT 1 WHERE false");
    cr_assert_str_eq(r.tag, "SELECT 0");
    cr_assert_eq(r.nrows, 0);
    result_free(&r);
}

Test(ddl_read, current_schema_follows_search_path)
{
    result r = {0};
    exec_ok("SET search_path = nosuch, public");
    q(&r, "SELECT current_schema()");
    ROWS(&r, "public");
    exec_ok("SET search_path = nosuch");
    q(&r, "SELECT current_schema()");
    ROWS(&r, "NULL");
    result_free(&r);
}

/* --- information_schema ------------------------------------------------------------------------
 */

Test(ddl_read, information_schema_tables_lists_tables_and_views_not_matviews)
{
    fixture();
    result r = {0};
    q(&r, "SELECT table_catalog, table_schema, table_name, table_type, is_insertable_into "
          "FROM information_schema.tables ORDER BY table_name");
    cr_assert_eq(r.ncols, 5);
    cr_assert_eq(r.oids[0], 19);
    ROWS(&r, "cowcat|public|big|VIEW|YES", "cowcat|public|orders|BASE TABLE|YES",
         "cowcat|public|users|BASE TABLE|YES");
    cr_assert_str_eq(r.tag, "SELECT 3");
    q(&r, "SELECT * FROM information_schema.tables WHERE table_name = 'users'");
    cr_assert_eq(r.ncols, 12);
    cr_assert_str_eq(r.cols[0], "table_catalog");
    cr_assert_str_eq(r.cols[11], "commit_action");
    ROWS(&r, "cowcat|public|users|BASE TABLE|NULL|NULL|NULL|NULL|NULL|YES|NO|NULL");
    result_free(&r);
}

Test(ddl_read, information_schema_columns_describes_types_as_postgresql)
{
    fixture();
    result r = {0};
    q(&r, "SELECT column_name, ordinal_position, is_nullable, data_type, "
          "character_maximum_length, numeric_precision, numeric_scale, udt_schema, udt_name, "
          "column_default FROM information_schema.columns WHERE table_name = 'users' "
          "ORDER BY ordinal_position");
    ROWS(&r, "id|1|NO|integer|NULL|32|0|pg_catalog|int4|NULL",
         "name|2|NO|character varying|20|NULL|NULL|pg_catalog|varchar|NULL",
         "balance|3|YES|numeric|NULL|10|2|pg_catalog|numeric|0",
         "tags|4|YES|ARRAY|NULL|NULL|NULL|pg_catalog|_text|NULL",
         "m|5|YES|USER-DEFINED|NULL|NULL|NULL|public|mood|NULL");
    cr_assert_eq(r.oids[1], 23);
    q(&r, "SELECT table_name, column_name FROM information_schema.columns "
          "WHERE table_name IN ('big', 'totals') ORDER BY 1, ordinal_position");
    ROWS(&r, "big|id", "big|name");
    q(&r, "SELECT count(*) FROM information_schema.columns");
    ROWS(&r, "10");
    q(&r, "SELECT * FROM information_schema.columns LIMIT 1");
    cr_assert_eq(r.ncols, 44);
    cr_assert_str_eq(r.cols[43], "is_updatable");
    result_free(&r);
}

Test(ddl_read, information_schema_views_schemata_and_constraints)
{
    fixture();
    result r = {0};
    q(&r, "SELECT table_name, check_option, is_updatable, view_definition LIKE 'SELECT%' "
          "FROM information_schema.views");
    ROWS(&r, "big|NONE|YES|t");
    q(&r, "SELECT catalog_name, schema_name, schema_owner FROM information_schema.schemata "
          "ORDER BY schema_name");
    ROWS(&r, "cowcat|cowcat_catalog|cowcat_system", "cowcat|information_schema|cowcat_system",
         "cowcat|public|cowcat");
    q(&r, "SELECT table_name, constraint_type, is_deferrable, enforced, nulls_distinct "
          "FROM information_schema.table_constraints ORDER BY table_name, constraint_type");
    ROWS(&r, "orders|CHECK|NO|YES|NULL", "orders|FOREIGN KEY|NO|YES|NULL",
         "orders|PRIMARY KEY|NO|YES|NULL", "users|PRIMARY KEY|NO|YES|NULL",
         "users|UNIQUE|NO|YES|YES");
    q(&r, "SELECT table_name, column_name, ordinal_position, position_in_unique_constraint "
          "FROM information_schema.key_column_usage ORDER BY table_name, column_name");
    ROWS(&r, "orders|id|1|NULL", "orders|user_id|1|1", "users|id|1|NULL", "users|name|1|NULL");
    result_free(&r);
}

Test(ddl_read, information_schema_shows_only_the_current_database)
{
    fixture();
    exec_ok("CREATE DATABASE other");
    cowcat_session *s2;
    cowcat_error err;
    cowcat_session_options so = {.database = "other"};
    cr_assert_eq(cowcat_session_open(db, &so, &s2, &err), COWCAT_OK, "%s", err.message);
    cowcat_session *s1 = s;
    s = s2;
    exec_ok("CREATE TABLE elsewhere (a int)");
    result r = {0};
    q(&r, "SELECT table_catalog, table_name FROM information_schema.tables");
    ROWS(&r, "other|elsewhere");
    s = s1;
    q(&r, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'elsewhere'");
    ROWS(&r, "0");
    q(&r, "SELECT database, schema, name FROM cowcat_catalog.tables WHERE name = 'elsewhere'");
    ROWS(&r, "other|public|elsewhere");
    cowcat_session_close(s2);
    result_free(&r);
}

Test(ddl_read, views_are_updatable_by_postgresql_rules)
{
    exec_ok("CREATE TABLE t (a int, b int)");
    exec_ok("CREATE VIEW simple AS SELECT a, b + 1 AS b1 FROM t WHERE a > 0");
    exec_ok("CREATE VIEW everything AS SELECT * FROM simple");
    exec_ok("CREATE VIEW counted AS SELECT count(*) AS n FROM t");
    exec_ok("CREATE VIEW distinct_a AS SELECT DISTINCT a FROM t");
    exec_ok("CREATE VIEW checked AS SELECT a FROM t WITH LOCAL CHECK OPTION");
    result r = {0};
    q(&r, "SELECT table_name, check_option, is_updatable, is_insertable_into "
          "FROM information_schema.views ORDER BY table_name");
    ROWS(&r, "checked|LOCAL|YES|YES", "counted|NONE|NO|NO", "distinct_a|NONE|NO|NO",
         "everything|NONE|YES|YES", "simple|NONE|YES|YES");
    q(&r, "SELECT table_name, is_insertable_into FROM information_schema.tables "
          "WHERE table_type = 'VIEW' AND is_insertable_into = 'NO' ORDER BY 1");
    ROWS(&r, "counted|NO", "distinct_a|NO");
    q(&r,
      "SELECT table_name, column_name, is_updatable FROM information_schema.columns "
      "WHERE table_name IN ('simple', 'everything', 't') ORDER BY table_name, ordinal_position");
    ROWS(&r, "everything|a|YES", "everything|b1|YES", "simple|a|YES", "simple|b1|NO", "t|a|YES",
         "t|b|YES");
    result_free(&r);
}

/* --- WHERE, ORDER BY, LIMIT ----------------------------------------------------------------------
 */

Test(ddl_read, where_supports_comparisons_like_in_null_tests_and_logic)
{
    fixture();
    result r = {0};
    const char *base = "SELECT column_name FROM information_schema.columns WHERE table_name = "
                       "'users' AND ";
    char sql[512];
#define W(cond, ...)                                                                               \
    do {                                                                                           \
        snprintf(sql, sizeof sql, "%s(%s) ORDER BY ordinal_position", base, cond);                 \
        q(&r, sql);                                                                                \
        ROWS(&r, __VA_ARGS__);                                                                     \
    } while (0)
    W("ordinal_position >= 4", "tags", "m");
    W("ordinal_position < 2", "id");
    W("ordinal_position <> 1 AND ordinal_position != 2 AND ordinal_position <= 3", "balance");
    W("ordinal_position > '3'", "tags", "m");
    W("column_name LIKE '%a%'", "name", "balance", "tags");
    W("column_name LIKE '_d'", "id");
    W("column_name NOT LIKE '%a%'", "id", "m");
    W("column_name ILIKE 'ID'", "id");
    W("column_name IN ('m', 'id', 'zz')", "id", "m");
    W("column_name NOT IN ('m', 'id')", "name", "balance", "tags");
    W("column_default IS NOT NULL", "balance");
    W("NOT (column_default IS NULL OR ordinal_position = 1)", "balance");
    W("(ordinal_position = 1 OR column_name = 'm')", "id", "m");
    W("ordinal_position BETWEEN 2 AND 3", "name", "balance");
    W("column_name > 'n'", "name", "tags");
    /* NULL semantics: comparisons with NULL are not true, NOT IN with a NULL keeps nothing. */
    W("column_default = NULL OR column_name = 'id'", "id");
    W("(column_name NOT IN ('m', NULL)) IS NULL", "id", "name", "balance", "tags");
#undef W
    result_free(&r);
}

Test(ddl_read, order_by_names_positions_aliases_with_nulls_as_postgresql)
{
    fixture();
    result r = {0};
    q(&r, "SELECT column_name AS c, column_default FROM information_schema.columns "
          "WHERE table_name = 'users' ORDER BY column_default DESC, c");
    /* DESC puts NULLs first, as in PostgreSQL. */
    ROWS(&r, "id|NULL", "m|NULL", "name|NULL", "tags|NULL", "balance|0");
    q(&r, "SELECT column_name, column_default FROM information_schema.columns "
          "WHERE table_name = 'users' ORDER BY 2, 1 DESC");
    ROWS(&r, "balance|0", "tags|NULL", "name|NULL", "m|NULL", "id|NULL");
    q(&r, "SELECT column_name FROM information_schema.columns WHERE table_name = 'users' "
          "ORDER BY column_default NULLS FIRST, ordinal_position DESC LIMIT 2 OFFSET 1");
    ROWS(&r, "tags", "name");
    q(&r, "SELECT column_name FROM information_schema.columns WHERE table_name = 'users' "
          "ORDER BY ordinal_position LIMIT ALL OFFSET 4");
    ROWS(&r, "m");
    q(&r, "SELECT column_name FROM information_schema.columns ORDER BY 1 LIMIT 0");
    cr_assert_str_eq(r.tag, "SELECT 0");
    result_free(&r);
}

Test(ddl_read, count_star_and_count_of_an_expression)
{
    fixture();
    result r = {0};
    q(&r, "SELECT count(*) FROM information_schema.tables");
    cr_assert_str_eq(r.cols[0], "count");
    cr_assert_eq(r.oids[0], 20);
    ROWS(&r, "3");
    q(&r, "SELECT count(*) AS n, count(column_default), 'x' FROM information_schema.columns "
          "WHERE table_name = 'users'");
    cr_assert_str_eq(r.cols[0], "n");
    ROWS(&r, "5|1|x");
    q(&r, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'nope'");
    ROWS(&r, "0");
    fails("SELECT count(*), table_name FROM information_schema.tables", "42803", 18, NULL);
    result_free(&r);
}

Test(ddl_read, unqualified_names_resolve_through_search_path_and_aliases)
{
    fixture();
    result r = {0};
    fails("SELECT * FROM tables", "42P01", 15, "relation \"tables\" does not exist");
    exec_ok("SET search_path = public, information_schema");
    q(&r, "SELECT t.table_name FROM tables AS t WHERE t.table_type = 'VIEW'");
    ROWS(&r, "big");
    q(&r, "SELECT tables.table_name FROM tables ORDER BY tables.table_name LIMIT 1");
    ROWS(&r, "big");
    fails("SELECT x.table_name FROM tables t", "42P01", 8,
          "missing FROM-clause entry for table \"x\"");
    exec_ok("SET search_path = cowcat_catalog");
    q(&r, "SELECT name FROM databases");
    ROWS(&r, "cowcat");
    result_free(&r);
}

/* --- errors ------------------------------------------------------------------------------------
 */

Test(ddl_read, errors_carry_sqlstates_and_positions)
{
    fixture();
    fails("SELECT * FROM information_schema.nope", "42P01", 15,
          "relation \"information_schema.nope\" does not exist");
    fails("SELECT nope FROM information_schema.tables", "42703", 8,
          "column \"nope\" does not exist");
    fails("SELECT table_name FROM information_schema.tables WHERE bogus = 1", "42703", 56, NULL);
    fails("SELECT 1 FROM information_schema.tables a, information_schema.views b", "0A000", 0,
          NULL);
    fails("SELECT 1 FROM information_schema.tables a JOIN information_schema.views b USING "
          "(table_name)",
          "0A000", 0, NULL);
    fails("SELECT table_name FROM information_schema.tables GROUP BY table_name", "0A000", 0,
          "feature not supported: GROUP BY");
    fails("SELECT * FROM (SELECT 1) s", "0A000", 0, NULL);
    fails("SELECT 1 UNION SELECT 2", "0A000", 0, "feature not supported: UNION");
    fails("SELECT now()", "0A000", 8, "feature not supported: function now()");
    fails("SELECT nosuch(1, 'a')", "42883", 8, "function nosuch(integer, unknown) does not exist");
    fails("SELECT 1 = 'abc'", "22P02", 12, "invalid input syntax for type integer: \"abc\"");
    fails("SELECT 'abc'::int", "22P02", 8, NULL);
    fails("SELECT table_name FROM information_schema.tables WHERE table_name = 1", "42883", 67,
          "operator does not exist: name = integer");
    fails("SELECT 1 FROM information_schema.columns WHERE ordinal_position = 'x'", "22P02", 0,
          NULL);
    fails("SELECT 1 FROM information_schema.tables WHERE table_name", "42804", 0, NULL);
    fails("SELECT table_name FROM information_schema.tables ORDER BY 2", "42P10", 59,
          "ORDER BY position 2 is not in select list");
    fails("SELECT 1 LIMIT -1", "2201W", 0, NULL);
    fails("SELECT * FROM public.users", "0A000", 15, NULL);
    fails("SELECT * FROM public.nope", "42P01", 15, "relation \"public.nope\" does not exist");
}

/* --- SHOW
 * ----------------------------------------------------------------------------------------- */

Test(ddl_read, show_lists_the_current_schema_or_the_named_one)
{
    fixture();
    exec_ok("CREATE SCHEMA s2");
    exec_ok("CREATE TABLE s2.zeta (a int)");
    exec_ok("COMMENT ON TABLE users IS 'people'");
    result r = {0};
    q(&r, "SHOW TABLES");
    cr_assert_str_eq(r.cols[0], "name");
    ROWS(&r, "orders|NULL", "users|people");
    cr_assert_str_eq(r.tag, "SELECT 2");
    q(&r, "show tables from s2;");
    ROWS(&r, "zeta|NULL");
    q(&r, "SHOW VIEWS");
    ROWS(&r, "big|NULL");
    q(&r, "SHOW INDEXES");
    cr_assert_str_eq(r.cols[1], "on");
    /* The primary keys' indexes, if the create path makes them, come with orders_user. */
    int found = 0;
    for (size_t i = 0; i < r.nrows; i++)
        found += strcmp(r.rows[i], "orders_user|orders|NULL") == 0;
    cr_assert_eq(found, 1);
    q(&r, "SHOW OBJECTS FROM public");
    cr_assert_str_eq(r.cols[1], "type");
    int tables = 0, mv = 0, types = 0;
    for (size_t i = 0; i < r.nrows; i++) {
        tables += strstr(r.rows[i], "|table|") != NULL;
        mv += strcmp(r.rows[i], "totals|materialized view|NULL") == 0;
        types += strcmp(r.rows[i], "mood|type|NULL") == 0;
    }
    cr_assert_eq(tables, 2);
    cr_assert_eq(mv, 1);
    cr_assert_eq(types, 1);
    q(&r, "SHOW SCHEMAS");
    ROWS(&r, "cowcat_catalog|NULL", "information_schema|NULL", "public|NULL", "s2|NULL");
    q(&r, "SHOW DATABASES");
    ROWS(&r, "cowcat|NULL");
    fails("SHOW TABLES FROM nosuch", "3F000", 18, "schema \"nosuch\" does not exist");
    result_free(&r);
}

Test(ddl_read, show_create_prints_the_stored_statement)
{
    fixture();
    result r = {0};
    q(&r, "SHOW CREATE TABLE users");
    cr_assert_str_eq(r.cols[0], "name");
    cr_assert_str_eq(r.cols[1], "create_sql");
    cr_assert_str_eq(r.tag, "SHOW");
    cr_assert_eq(r.nrows, 1);
    cr_assert(strncmp(r.rows[0], "public.users|CREATE TABLE", 25) == 0, "%s", r.rows[0]);
    q(&r, "show create view PUBLIC.\"big\" ; ");
    cr_assert_eq(r.nrows, 1);
    cr_assert(strncmp(r.rows[0], "public.big|CREATE VIEW", 22) == 0, "%s", r.rows[0]);
    q(&r, "SHOW CREATE MATERIALIZED VIEW totals");
    cr_assert(strncmp(r.rows[0], "public.totals|", 14) == 0, "%s", r.rows[0]);
    q(&r, "SHOW CREATE INDEX orders_user");
    cr_assert(strncmp(r.rows[0], "public.orders_user|CREATE INDEX", 31) == 0, "%s", r.rows[0]);
    q(&r, "SHOW CREATE TYPE mood");
    cr_assert(strncmp(r.rows[0], "public.mood|CREATE TYPE", 23) == 0, "%s", r.rows[0]);
    fails("SHOW CREATE VIEW users", "42809", 18, "\"users\" is not a view");
    fails("SHOW CREATE INDEX users", "42809", 19, "\"users\" is not an index");
    fails("SHOW CREATE TABLE nope", "42P01", 19, "relation \"nope\" does not exist");
    fails("SHOW CREATE TABLE \"Users\"", "42P01", 19, "relation \"Users\" does not exist");
    fails("SHOW CREATE TYPE nope", "42704", 18, "type \"nope\" does not exist");
    result_free(&r);
}

/* --- cowcat_catalog ------------------------------------------------------------------------------
 */

Test(ddl_read, cowcat_catalog_objects_and_items)
{
    fixture();
    result r = {0};
    fails("SELECT kind, count(*) FROM cowcat_catalog.objects", "42803", 0, NULL);
    q(&r, "SELECT count(*) FROM cowcat_catalog.objects WHERE kind = 'table'");
    ROWS(&r, "2");
    q(&r, "SELECT kind, database, schema, name, owner FROM cowcat_catalog.objects "
          "WHERE name IN ('users', 'public', 'cowcat') ORDER BY kind");
    ROWS(&r, "database|NULL|NULL|cowcat|cowcat", "role|NULL|NULL|cowcat|NULL",
         "schema|cowcat|NULL|public|cowcat", "table|cowcat|public|users|cowcat");
    /* Without ORDER BY: by oid, i.e. creation order for user objects. */
    q(&r, "SELECT name FROM cowcat_catalog.tables");
    ROWS(&r, "users", "orders");
    q(&r, "SELECT name, materialized, definition IS NOT NULL FROM cowcat_catalog.views");
    ROWS(&r, "big|f|t", "totals|t|t");
    q(&r, "SELECT name, table_name FROM cowcat_catalog.indexes WHERE name = 'orders_user'");
    ROWS(&r, "orders_user|orders");
    q(&r, "SELECT name FROM cowcat_catalog.types");
    ROWS(&r, "mood");
    q(&r, "SELECT oid FROM cowcat_catalog.tables WHERE oid > 16383 AND oid = oid");
    cr_assert_eq(r.nrows, 2);
    result_free(&r);
}

Test(ddl_read, cowcat_catalog_columns_schemas_databases_roles)
{
    fixture();
    exec_ok("CREATE ROLE alice LOGIN");
    result r = {0};
    q(&r,
      "SELECT relation, position, name, type, nullable, default_expr FROM cowcat_catalog.columns "
      "WHERE relation = 'users'");
    ROWS(&r, "users|1|id|integer|f|NULL", "users|2|name|character varying(20)|f|NULL",
         "users|3|balance|numeric(10,2)|t|0", "users|4|tags|text[]|t|NULL",
         "users|5|m|mood|t|NULL");
    q(&r, "SELECT database, name, owner FROM cowcat_catalog.schemas ORDER BY name");
    ROWS(&r, "NULL|cowcat_catalog|cowcat_system", "NULL|information_schema|cowcat_system",
         "cowcat|public|cowcat");
    q(&r, "SELECT id, name, owner FROM cowcat_catalog.databases");
    ROWS(&r, "u1|cowcat|cowcat");
    q(&r, "SELECT name, superuser, login, inherit FROM cowcat_catalog.roles ORDER BY name");
    ROWS(&r, "alice|f|t|t", "cowcat|f|t|t", "cowcat_system|t|t|t");
    q(&r, "SELECT name FROM cowcat_catalog.roles WHERE superuser");
    ROWS(&r, "cowcat_system");
    q(&r, "SELECT name FROM cowcat_catalog.roles WHERE login AND NOT (superuser = false)");
    ROWS(&r, "cowcat_system");
    result_free(&r);
}

Test(ddl_read, cowcat_catalog_dependencies_comments_limits_audit)
{
    fixture();
    exec_ok("COMMENT ON TABLE orders IS 'all orders'");
    exec_ok("COMMENT ON COLUMN orders.note IS 'free text'");
    result r = {0};
    q(&r, "SELECT object, object_kind, referenced, referenced_kind FROM "
          "cowcat_catalog.dependencies WHERE object IN ('public.big', 'public.totals') "
          "ORDER BY object");
    ROWS(&r, "public.big|view|public.users|table",
         "public.totals|materialized view|public.orders|table");
    q(&r, "SELECT object, column_position, comment FROM cowcat_catalog.comments "
          "ORDER BY column_position NULLS FIRST");
    ROWS(&r, "public.orders|NULL|all orders", "public.orders|3|free text");
    q(&r, "SELECT name, value, current FROM cowcat_catalog.limits "
          "WHERE name IN ('max_tables', 'max_views', 'max_objects_per_schema') ORDER BY name");
    ROWS(&r, "max_objects_per_schema|10000000|NULL", "max_tables|10000000|2",
         "max_views|10000000|1");
    cowcat_session *admin, *user = s;
    cowcat_session_options so = {.user = "cowcat_system"};
    cowcat_error err;
    cr_assert_eq(cowcat_session_open(db, &so, &admin, &err), COWCAT_OK, "%s", err.message);
    s = admin;
    exec_ok("ALTER SYSTEM SET max_tables = 5");
    s = user;
    cowcat_session_close(admin);
    q(&r, "SELECT value FROM cowcat_catalog.limits WHERE name = 'max_tables'");
    ROWS(&r, "5");
    q(&r, "SELECT event_type, object_type, user_name FROM cowcat_catalog.audit_events "
          "WHERE event_type = 'create' AND object_type = 'table'");
    ROWS(&r, "create|table|cowcat", "create|table|cowcat");
    q(&r, "SELECT count(*) FROM cowcat_catalog.audit_events WHERE details LIKE '%users%' "
          "AND occurred_at LIKE '20%+00'");
    cr_assert_eq(r.nrows, 1);
    cr_assert_neq(strcmp(r.rows[0], "0"), 0);
    /* Ids are increasing in output order (the walk sorts by event id). */
    q(&r, "SELECT id FROM cowcat_catalog.audit_events");
    cr_assert_geq(r.nrows, 7);
    for (size_t i = 1; i < r.nrows; i++)
        cr_assert_lt(atoll(r.rows[i - 1]), atoll(r.rows[i]));
    result_free(&r);
}

Test(ddl_read, reads_inside_a_block_see_its_own_changes)
{
    result r = {0};
    exec_ok("BEGIN");
    exec_ok("CREATE TABLE t1 (a int)");
    q(&r, "SELECT table_name FROM information_schema.tables");
    ROWS(&r, "t1");
    exec_ok("ROLLBACK");
    q(&r, "SELECT table_name FROM information_schema.tables");
    cr_assert_eq(r.nrows, 0);
    result_free(&r);
}

/* --- concurrency --------------------------------------------------------------------------------
 */

typedef struct writer_arg {
    cowcat_session *s;
    int n;
    int failures;
} writer_arg;

static void *
writer_main(void *p)
{
    writer_arg *a = p;
    for (int i = 0; i < a->n; i++) {
        char sql[64];
        cowcat_error err;
        snprintf(sql, sizeof sql, "CREATE TABLE w%d (a int)", i);
        a->failures += cowcat_exec(a->s, sql, NULL, NULL, &err) != COWCAT_OK;
    }
    return NULL;
}

Test(ddl_read, the_audit_log_reads_safely_while_another_session_commits)
{
    cowcat_session *ws;
    cowcat_error err;
    cr_assert_eq(cowcat_session_open(db, NULL, &ws, &err), COWCAT_OK, "%s", err.message);
    writer_arg wa = {ws, 60, 0};
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, writer_main, &wa), 0);
    result r = {0};
    long last = -1, tables = -1;
    for (int i = 0; i < 200; i++) {
        q(&r, "SELECT count(*) FROM cowcat_catalog.audit_events WHERE object_type = 'table'");
        long n = atol(r.rows[0]);
        cr_assert_geq(n, last, "the audit log shrank: %ld after %ld", n, last);
        last = n;
        q(&r, "SELECT count(*) FROM information_schema.tables");
        long t = atol(r.rows[0]);
        cr_assert_geq(t, tables);
        tables = t;
    }
    pthread_join(th, NULL);
    cr_assert_eq(wa.failures, 0);
    q(&r, "SELECT count(*) FROM cowcat_catalog.audit_events WHERE object_type = 'table' "
          "AND event_type = 'create' AND details LIKE '%w5_%'");
    ROWS(&r, "10");
    cowcat_session_close(ws);
    result_free(&r);
}
