/*
 * tests/tools/tools_testutil.c — fixtures for the tools tests (see the header).
 */
#include "tools_testutil.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h" /* tools/src: tools__remove_tree */

void
tt_scratch_new(tt_scratch *s)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(s->path, sizeof s->path, "%s/cowcat-tools-XXXXXX", tmp != NULL ? tmp : "/tmp");
    cr_assert_not_null(mkdtemp(s->path), "mkdtemp %s", s->path);
}

void
tt_scratch_free(tt_scratch *s)
{
    tools__remove_tree(s->path);
}

const char *
tt_path(const tt_scratch *s, const char *name, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/%s", s->path, name);
    return buf;
}

void
tt_open(const char *dir, const char *user, cowcat **db, cowcat_session **s)
{
    cowcat_options o = {.data_dir = dir, .durability = COWCAT_DURABILITY_NONE};
    cowcat_error e;
    cr_assert_eq(cowcat_open(&o, db, &e), COWCAT_OK, "open %s: %s", dir, e.message);
    cowcat_session_options so = {.user = user};
    cr_assert_eq(cowcat_session_open(*db, &so, s, &e), COWCAT_OK, "session: %s", e.message);
}

void
tt_close(cowcat *db, cowcat_session *s)
{
    cowcat_session_close(s);
    cowcat_close(db);
}

void
tt_exec(cowcat_session *s, const char *sql)
{
    cowcat_error e;
    cowcat_code rc = cowcat_exec(s, sql, NULL, NULL, &e);
    cr_assert_eq(rc, COWCAT_OK, "%s\n  -> %s: %s", sql, e.sqlstate, e.message);
}

/* Rows collected as text lines. */
typedef struct rows {
    char **v;
    size_t n, cap;
} rows;

static int
on_row(void *arg, const char *const *values, size_t n)
{
    rows *r = arg;
    size_t len = 1;
    for (size_t i = 0; i < n; i++)
        len += (values[i] != NULL ? strlen(values[i]) : 6) + 1;
    char *line = malloc(len);
    cr_assert_not_null(line);
    line[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            strcat(line, "|");
        strcat(line, values[i] != NULL ? values[i] : "<null>");
    }
    if (r->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 64;
        r->v = realloc(r->v, r->cap * sizeof *r->v);
        cr_assert_not_null(r->v);
    }
    r->v[r->n++] = line;
    return 0;
}

static int
str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

char *
tt_query(cowcat_session *s, const char *sql)
{
    rows r = {0};
    cowcat_callbacks cb = {.row = on_row};
    cowcat_error e;
    cr_assert_eq(cowcat_exec(s, sql, &cb, &r, &e), COWCAT_OK, "%s\n  -> %s: %s", sql, e.sqlstate,
                 e.message);
    if (r.n > 1)
        qsort(r.v, r.n, sizeof *r.v, str_cmp);
    size_t len = 1;
    for (size_t i = 0; i < r.n; i++)
        len += strlen(r.v[i]) + 1;
    char *out = malloc(len);
    cr_assert_not_null(out);
    out[0] = '\0';
    for (size_t i = 0; i < r.n; i++) {
        strcat(out, r.v[i]);
        strcat(out, "\n");
        free(r.v[i]);
    }
    free(r.v);
    return out;
}

char *
tt_query_value(cowcat_session *s, const char *sql)
{
    char *all = tt_query(s, sql);
    cr_assert(all[0] != '\0', "%s returned no row", sql);
    char *end = strpbrk(all, "|\n");
    *end = '\0';
    return all;
}

/* Every kind of object: roles (one with a password), databases, schemas, an
 * enum type, tables with constraints, foreign keys and defaults, indexes, a
 * view, a materialized view, comments, grants, a rename, a dropped table (a
 * gap in ids) and an ALTER SYSTEM limit. */
static const char every_kind_sql[] =
    "CREATE ROLE alice LOGIN PASSWORD 'secret';"
    "CREATE ROLE bob;"
    "CREATE DATABASE otherdb;"
    "CREATE SCHEMA app;"
    "CREATE TYPE app.mood AS ENUM ('sad', 'ok', 'happy');"
    "CREATE TABLE app.customers (id int PRIMARY KEY, name varchar(40) NOT NULL DEFAULT 'anon',"
    "  mood app.mood, UNIQUE (name), CHECK (id > 0));"
    "CREATE TABLE app.orders (id bigint PRIMARY KEY,"
    "  customer int REFERENCES app.customers (id) ON DELETE CASCADE,"
    "  total numeric(10,2) DEFAULT 0, created timestamptz, tags text[]);"
    "CREATE INDEX orders_customer ON app.orders (customer);"
    "CREATE UNIQUE INDEX ON app.orders (created, id);"
    "CREATE VIEW app.big_orders AS SELECT id, total FROM app.orders WHERE total > 100;"
    "CREATE MATERIALIZED VIEW app.order_totals AS SELECT customer, total FROM app.orders;"
    "CREATE TABLE public.plain (a int, b text);"
    "COMMENT ON TABLE app.orders IS 'all orders';"
    "COMMENT ON COLUMN app.orders.total IS 'in euros';"
    "COMMENT ON SCHEMA app IS 'the app';"
    "GRANT SELECT ON app.orders TO alice;"
    "GRANT USAGE ON SCHEMA app TO bob;"
    "ALTER TABLE app.orders ADD COLUMN note text;"
    "CREATE TABLE tmp (a int);"
    "DROP TABLE tmp;"
    "ALTER TABLE app.customers RENAME TO clients;";

void
tt_build_every_kind(const char *dir)
{
    cowcat *db;
    cowcat_session *s;
    tt_open(dir, NULL, &db, &s);
    tt_exec(s, every_kind_sql);
    cowcat_session_close(s);
    cowcat_session_options so = {.user = "cowcat_system"};
    cowcat_error e;
    cr_assert_eq(cowcat_session_open(db, &so, &s, &e), COWCAT_OK, "%s", e.message);
    tt_exec(s, "ALTER SYSTEM SET max_tables = 500");
    tt_exec(s, "ALTER SYSTEM SET max_views = 70");
    tt_close(db, s);
}

void
tt_build_tables(const char *dir, int n)
{
    cowcat *db;
    cowcat_session *s;
    tt_open(dir, NULL, &db, &s);
    char *sql = malloc(64 * 100 + 1);
    cr_assert_not_null(sql);
    for (int i = 0; i < n;) {
        sql[0] = '\0';
        size_t len = 0;
        for (int k = 0; k < 100 && i < n; k++, i++)
            len += (size_t)sprintf(sql + len, "CREATE TABLE t%d (a int, b text);", i);
        tt_exec(s, sql);
    }
    free(sql);
    tt_close(db, s);
}

uint8_t *
tt_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc((size_t)n + 1);
    cr_assert_not_null(buf);
    cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

void
tt_write_file(const char *path, const void *p, size_t len)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "create %s", path);
    cr_assert_eq(fwrite(p, 1, len, f), len);
    cr_assert_eq(fclose(f), 0);
}

uint8_t *
tt_dump(const tt_scratch *s, const char *dir, tools_dump_content content, size_t *len)
{
    char path[600];
    tt_path(s, "tt_dump.tmp", path, sizeof path);
    tools_dump_options o = {.content = content};
    cc_err e;
    cr_assert_eq(tools_dump_to_path(dir, path, &o, NULL, &e), CC_OK, "dump %s: %s", dir, e.msg);
    uint8_t *buf = tt_read_file(path, len);
    unlink(path);
    return buf;
}

bool
tt_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

int
tt_count_prefix(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "opendir %s", dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    closedir(d);
    return n;
}
