/*
 * tests/ddl/test_ddl_depth.c — deeply nested statements get 54001 "stack
 * depth limit exceeded", never a crash, on any thread stack: the parse runs
 * where the stack allows (or on a thread of its own for long statements),
 * and a parse tree is accepted only if the calling thread can walk it.
 * Nested views within the limit are created, read back (their definition is
 * deparsed) and pass the full check.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cowcat.h"

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

/* prefix, then n copies of unit, then suffix (malloc'd). */
static char *
repeat(const char *prefix, const char *unit, size_t n, const char *suffix)
{
    size_t lp = strlen(prefix), lu = strlen(unit), ls = strlen(suffix);
    char *q = malloc(lp + lu * n + ls + 1);
    cr_assert_not_null(q);
    memcpy(q, prefix, lp);
    for (size_t i = 0; i < n; i++)
        memcpy(q + lp + i * lu, unit, lu);
    memcpy(q + lp + lu * n, suffix, ls + 1);
    return q;
}

static uint64_t
objects(void)
{
    cowcat_stats st;
    cowcat_stats_get(db, &st);
    return st.objects;
}

/* Runs sql; returns the SQLSTATE ("00000" on success) in state. */
static void
run(cowcat_session *ss, const char *sql, char state[6])
{
    cowcat_error err;
    cowcat_code rc = cowcat_exec(ss, sql, NULL, NULL, &err);
    snprintf(state, 6, "%s", rc == COWCAT_OK ? "00000" : err.sqlstate);
}

TestSuite(ddl_depth, .init = setup, .fini = teardown);

Test(ddl_depth, a_left_deep_chain_within_the_limit_makes_a_view_that_reads_back)
{
    char *q = repeat("CREATE VIEW v AS SELECT ", "1+", 400, "1 AS x");
    char st[6];
    run(s, q, st);
    cr_assert_str_eq(st, "00000");
    free(q);
    run(s, "SELECT view_definition FROM information_schema.views WHERE table_name = 'v'", st);
    cr_assert_str_eq(st, "00000");
    cowcat_error err;
    cr_assert_eq(cowcat_check(db, &err), COWCAT_OK, "%s", err.message);
}

Test(ddl_depth, chains_too_deep_for_any_stack_are_54001_and_change_nothing)
{
    /* 2.4 KB: parsed, then refused for its depth. */
    uint64_t before = objects();
    char *q = repeat("CREATE VIEW v AS SELECT ", "1+", 1200, "1 AS x");
    cowcat_error err;
    cr_assert_eq(cowcat_exec(s, q, NULL, NULL, &err), COWCAT_LIMIT);
    cr_assert_str_eq(err.sqlstate, "54001");
    cr_assert_str_eq(err.message, "stack depth limit exceeded");
    cr_assert(strstr(err.detail, "nests more than") != NULL, "%s", err.detail);
    cr_assert_neq(err.hint[0], '\0');
    cr_assert_eq(objects(), before);
    free(q);
    /* 40 KB, 800 KB: refused before parsing (libpg_query is quadratic in a chain). */
    const size_t ns[] = {20000, 400000};
    for (size_t i = 0; i < sizeof ns / sizeof *ns; i++) {
        q = repeat("CREATE VIEW v AS SELECT ", "1+", ns[i], "1 AS x");
        cr_assert_eq(cowcat_exec(s, q, NULL, NULL, &err), COWCAT_LIMIT, "n=%zu", ns[i]);
        cr_assert_str_eq(err.sqlstate, "54001", "n=%zu", ns[i]);
        cr_assert_str_eq(err.message, "statement is too complex");
        cr_assert(strstr(err.detail, "operator characters") != NULL, "%s", err.detail);
        cr_assert_eq(objects(), before);
        free(q);
    }
    /* Other shapes: function calls, unary minus, casts, joins. */
    const char *units[][3] = {
        {"SELECT ", "abs(", ")"},
        {"SELECT ", "- ", ""},
        {"SELECT 1", "::int", ""},
        {"SELECT 1 FROM pg_class a0", " JOIN pg_class ON true", ""},
    };
    for (size_t i = 0; i < sizeof units / sizeof *units; i++) {
        q = repeat(units[i][0], units[i][1], 3000, "");
        if (strcmp(units[i][2], ")") == 0) {
            char *w = repeat(q, "", 0, "1");
            free(q);
            q = repeat(w, ")", 3000, "");
            free(w);
        } else if (strcmp(units[i][1], "- ") == 0) {
            char *w = repeat(q, "", 0, "1");
            free(q);
            q = w;
        }
        char st[6];
        run(s, q, st);
        /* PostgreSQL folds `- - 1` into one constant: that shape stays shallow. */
        if (i == 1)
            cr_assert(strcmp(st, "00000") == 0 || strcmp(st, "0A000") == 0, "SQLSTATE %s", st);
        else
            cr_assert(strcmp(st, "54001") == 0 || strcmp(st, "42601") == 0,
                      "shape %zu: SQLSTATE %s", i, st);
        free(q);
    }
    /* The session is still usable. */
    char st[6];
    run(s, "CREATE TABLE after_deep (a int)", st);
    cr_assert_str_eq(st, "00000");
}

typedef struct small_run {
    size_t n;
    char state[6];
} small_run;

static void *
small_main(void *arg)
{
    small_run *r = arg;
    cowcat_session *ss;
    cowcat_error err;
    if (cowcat_session_open(db, NULL, &ss, &err) != COWCAT_OK) {
        snprintf(r->state, 6, "%s", err.sqlstate);
        return NULL;
    }
    char *q = repeat("SELECT ", "1+", r->n, "1");
    run(ss, q, r->state);
    free(q);
    cowcat_session_close(ss);
    return NULL;
}

/* A thread with a small stack gets a lower limit, not a crash. */
Test(ddl_depth, a_small_thread_stack_lowers_the_limit_and_never_overflows)
{
    const size_t ns[] = {10, 300, 900, 5000, 60000};
    for (size_t i = 0; i < sizeof ns / sizeof *ns; i++) {
        small_run r = {.n = ns[i]};
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, 512u << 10);
        pthread_t t;
        cr_assert_eq(pthread_create(&t, &attr, small_main, &r), 0);
        pthread_join(t, NULL);
        pthread_attr_destroy(&attr);
        /* SELECT of + over integers: 0A000 (no operators) once it parses. */
        cr_assert(strcmp(r.state, "0A000") == 0 || strcmp(r.state, "00000") == 0 ||
                      strcmp(r.state, "54001") == 0,
                  "n=%zu: SQLSTATE %s", ns[i], r.state);
        if (ns[i] >= 5000)
            cr_assert_str_eq(r.state, "54001", "n=%zu", ns[i]);
        if (ns[i] <= 10)
            cr_assert_neq(strcmp(r.state, "54001"), 0, "n=%zu", ns[i]);
    }
}

/* Operators inside literals, quoted names and comments do not count; a long
 * but shallow statement is parsed on a thread of its own and succeeds. */
Test(ddl_depth, long_shallow_statements_parse_and_quoted_operators_do_not_count)
{
    char *lit = repeat("CREATE VIEW w AS SELECT '", "+-", 600000, "' AS x /* ");
    char *q = repeat(lit, "++", 20000, " */ -- +++++\n");
    free(lit);
    char st[6];
    run(s, q, st);
    cr_assert_str_eq(st, "00000");
    free(q);
    q = repeat("CREATE VIEW w2 AS SELECT $tag$", "**", 20000, "$tag$ AS \"+++\", E'\\'++' AS y");
    run(s, q, st);
    cr_assert_str_eq(st, "00000");
    free(q);
    cowcat_error err;
    cr_assert_eq(cowcat_check(db, &err), COWCAT_OK, "%s", err.message);
}
