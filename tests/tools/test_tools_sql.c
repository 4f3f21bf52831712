/*
 * tests/tools/test_tools_sql.c — `cowcat sql` output: psql's aligned table,
 * command tags, CSV, JSON, notices and errors with SQLSTATE and caret; and
 * scripts split into statements the way psql sends them.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools_testutil.h"

typedef struct capture {
    char *out, *msg;
    size_t out_len, msg_len;
    tools_sql_output o;
} capture;

static void
capture_begin(capture *c, tools_sql_format format)
{
    memset(c, 0, sizeof *c);
    c->o.format = format;
    c->o.out = open_memstream(&c->out, &c->out_len);
    c->o.msg = open_memstream(&c->msg, &c->msg_len);
    cr_assert(c->o.out != NULL && c->o.msg != NULL);
}

static void
capture_end(capture *c)
{
    fclose(c->o.out);
    fclose(c->o.msg);
}

static void
capture_free(capture *c)
{
    free(c->out);
    free(c->msg);
}

/* Runs sql in a fresh in-memory catalog and captures what it prints. */
static cowcat_code
run(const char *setup, const char *sql, tools_sql_format format, capture *c)
{
    cowcat *db;
    cowcat_session *s;
    cowcat_options o = {.backend = COWCAT_BACKEND_MEMORY};
    cowcat_error e;
    cr_assert_eq(cowcat_open(&o, &db, &e), COWCAT_OK, "%s", e.message);
    cr_assert_eq(cowcat_session_open(db, NULL, &s, &e), COWCAT_OK, "%s", e.message);
    if (setup != NULL)
        tt_exec(s, setup);
    capture_begin(c, format);
    cowcat_code rc = tools_sql_exec(s, sql, &c->o);
    capture_end(c);
    tt_close(db, s);
    return rc;
}

Test(tools_sql, prints_rows_as_an_aligned_table_with_a_row_count)
{
    capture c;
    cr_assert_eq(run("CREATE TABLE t (a int, b text)",
                     "SELECT column_name, ordinal_position FROM information_schema.columns "
                     "WHERE table_name = 't' ORDER BY ordinal_position",
                     TOOLS_SQL_ALIGNED, &c),
                 COWCAT_OK);
    cr_assert_str_eq(c.out, " column_name | ordinal_position \n"
                            "-------------+------------------\n"
                            " a           |                1\n"
                            " b           |                2\n"
                            "(2 rows)\n"
                            "\n");
    cr_assert_str_eq(c.msg, "");
    capture_free(&c);
}

Test(tools_sql, prints_command_tags_and_notices)
{
    capture c;
    cr_assert_eq(run("CREATE TABLE t (a int)",
                     "CREATE TABLE IF NOT EXISTS t (a int); CREATE VIEW v AS SELECT a FROM t",
                     TOOLS_SQL_ALIGNED, &c),
                 COWCAT_OK);
    cr_assert_str_eq(c.out, "CREATE TABLE\nCREATE VIEW\n");
    cr_assert_str_eq(c.msg, "NOTICE:  relation \"t\" already exists, skipping\n");
    capture_free(&c);
}

Test(tools_sql, prints_errors_with_sqlstate_line_and_caret)
{
    capture c;
    cr_assert_eq(run(NULL, "CREATE TABLE bad (a nosuchtype)", TOOLS_SQL_ALIGNED, &c),
                 COWCAT_NOT_FOUND);
    cr_assert_str_eq(c.out, "");
    cr_assert_str_eq(c.msg, "ERROR:  42704: type \"nosuchtype\" does not exist\n"
                            "LINE 1: CREATE TABLE bad (a nosuchtype)\n"
                            "                            ^\n");
    capture_free(&c);
}

Test(tools_sql, csv_quotes_what_needs_it_and_prints_no_tags)
{
    capture c;
    cr_assert_eq(run(NULL,
                     "SELECT name, value FROM cowcat_catalog.limits WHERE name = 'max_tables'; "
                     "CREATE TABLE \"a,b\" (x int)",
                     TOOLS_SQL_CSV, &c),
                 COWCAT_OK);
    cr_assert_str_eq(c.out, "name,value\nmax_tables,10000000\n", "no command tag in CSV");
    capture_free(&c);
    cr_assert_eq(run("CREATE TABLE \"a,b\" (x int); CREATE TABLE \"say \"\"hi\"\"\" (x int)",
                     "SELECT table_name FROM information_schema.tables "
                     "WHERE table_schema = 'public' ORDER BY table_name",
                     TOOLS_SQL_CSV, &c),
                 COWCAT_OK);
    cr_assert_str_eq(c.out, "table_name\n\"a,b\"\n\"say \"\"hi\"\"\"\n");
    capture_free(&c);
}

Test(tools_sql, json_prints_one_array_of_objects_per_result)
{
    capture c;
    cr_assert_eq(run("CREATE TABLE t (a int NOT NULL, b text DEFAULT 'q\"')",
                     "SELECT column_name, column_default FROM information_schema.columns "
                     "WHERE table_name = 't' ORDER BY ordinal_position",
                     TOOLS_SQL_JSON, &c),
                 COWCAT_OK);
    cr_assert_str_eq(c.out, "[{\"column_name\":\"a\",\"column_default\":null},"
                            "{\"column_name\":\"b\",\"column_default\":\"'q\\\"'\"}]\n");
    capture_free(&c);
}

/* --- splitting ------------------------------------------------------------------------- */

typedef struct split_log {
    char text[1024];
} split_log;

static int
collect(void *arg, const char *stmt, int line)
{
    split_log *l = arg;
    char item[256];
    snprintf(item, sizeof item, "[%d:%s]", line, stmt);
    strncat(l->text, item, sizeof l->text - strlen(l->text) - 1);
    return 0;
}

static const char *
split(const char *script, split_log *l)
{
    l->text[0] = '\0';
    cr_assert_eq(tools_sql_split(script, collect, l), 0);
    return l->text;
}

Test(tools_sql, scripts_split_at_semicolons_outside_quotes_comments_and_dollar_quotes)
{
    split_log l;
    cr_assert_str_eq(split("SELECT 1; SELECT 2;", &l), "[1:SELECT 1;][1:SELECT 2;]");
    cr_assert_str_eq(split("-- head\nSELECT ';' AS \"a;b\";\n/* x; /* y; */ z; */ SELECT 3", &l),
                     "[2:SELECT ';' AS \"a;b\";][3:SELECT 3]");
    cr_assert_str_eq(split("SELECT $$a;b$$; SELECT $t$ ; $t$;", &l),
                     "[1:SELECT $$a;b$$;][1:SELECT $t$ ; $t$;]");
    cr_assert_str_eq(split("SELECT E'it\\'s;'; SELECT 'it''s;'", &l),
                     "[1:SELECT E'it\\'s;';][1:SELECT 'it''s;']");
    cr_assert_str_eq(split("  \n-- only a comment\n  ", &l), "");
    cr_assert_str_eq(split("SELECT\n1\n;\n\nSELECT 2", &l), "[1:SELECT\n1\n;][5:SELECT 2]");
}
