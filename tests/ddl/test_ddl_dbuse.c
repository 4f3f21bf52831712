/*
 * tests/ddl/test_ddl_dbuse.c — databases in use: DROP DATABASE and ALTER
 * DATABASE ... RENAME refuse a database other sessions are connected to
 * (PostgreSQL's 55006 and DETAIL), a session opening while one is being
 * dropped waits for the dropping transaction, and a failed open leaves no
 * count behind.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cowcat.h"

static cowcat *db;
static cowcat_session *s; /* on database cowcat */

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

TestSuite(dbuse, .init = setup, .fini = teardown, .timeout = 60);

/* Runs sql on session t; cr_asserts success. */
static void
ok(cowcat_session *t, const char *sql)
{
    cowcat_error err;
    cr_assert_eq(cowcat_exec(t, sql, NULL, NULL, &err), COWCAT_OK, "%s: %s", sql, err.message);
}

/* Runs sql on session t; cr_asserts it fails with sqlstate and message. Returns the error. */
static cowcat_error
fails(cowcat_session *t, const char *sql, const char *sqlstate, const char *msg)
{
    cowcat_error err;
    cr_assert_neq(cowcat_exec(t, sql, NULL, NULL, &err), COWCAT_OK, "%s succeeded", sql);
    cr_expect_str_eq(err.sqlstate, sqlstate, "%s: %s", sql, err.message);
    cr_expect_str_eq(err.message, msg, "%s", sql);
    return err;
}

/* A new session on database name, or NULL with *err filled. */
static cowcat_session *
open_on(const char *name, cowcat_error *err)
{
    cowcat_session_options so = {.database = name};
    cowcat_session *t = NULL;
    if (cowcat_session_open(db, &so, &t, err) != COWCAT_OK)
        return NULL;
    return t;
}

Test(dbuse, drop_and_rename_fail_while_other_sessions_are_connected_to_the_database)
{
    ok(s, "CREATE DATABASE x");
    cowcat_error err;
    cowcat_session *a = open_on("x", &err);
    cr_assert_not_null(a, "%s", err.message);

    err = fails(s, "DROP DATABASE x", "55006", "database \"x\" is being accessed by other users");
    cr_expect_str_eq(err.detail, "There is 1 other session using the database.");
    err = fails(s, "ALTER DATABASE x RENAME TO y", "55006",
                "database \"x\" is being accessed by other users");
    cr_expect_str_eq(err.detail, "There is 1 other session using the database.");

    cowcat_session *b = open_on("x", &err);
    cr_assert_not_null(b, "%s", err.message);
    err = fails(s, "DROP DATABASE x", "55006", "database \"x\" is being accessed by other users");
    cr_expect_str_eq(err.detail, "There are 2 other sessions using the database.");

    /* the sessions still work, and the database is still there */
    ok(a, "CREATE SCHEMA sa");
    ok(b, "CREATE TABLE sa.t (id int)");

    cowcat_session_close(a);
    err = fails(s, "DROP DATABASE x", "55006", "database \"x\" is being accessed by other users");
    cr_expect_str_eq(err.detail, "There is 1 other session using the database.");
    cowcat_session_close(b);
    ok(s, "ALTER DATABASE x RENAME TO y");
    ok(s, "DROP DATABASE y");
    cr_expect_null(open_on("x", &err));
    cr_expect_str_eq(err.sqlstate, "3D000");
}

Test(dbuse, the_current_database_cannot_be_dropped_or_renamed)
{
    fails(s, "DROP DATABASE cowcat", "55006", "cannot drop the currently open database");
    fails(s, "ALTER DATABASE cowcat RENAME TO c2", "0A000", "current database cannot be renamed");
}

Test(dbuse, a_session_that_failed_to_open_is_not_counted)
{
    cowcat_error err;
    cr_assert_null(open_on("later", &err));
    cr_expect_str_eq(err.sqlstate, "3D000");
    cowcat_session_options bad_role = {.user = "nobody", .database = "cowcat"};
    cowcat_session *t = NULL;
    cr_assert_neq(cowcat_session_open(db, &bad_role, &t, &err), COWCAT_OK);
    cr_expect_str_eq(err.sqlstate, "28000");
    ok(s, "CREATE DATABASE later; CREATE DATABASE other");
    ok(s, "DROP DATABASE later");
    /* a closed session is not counted either, nor one on another database */
    cowcat_session *o = open_on("other", &err);
    cr_assert_not_null(o, "%s", err.message);
    cowcat_session *c = open_on("cowcat", &err);
    cr_assert_not_null(c, "%s", err.message);
    ok(s, "CREATE DATABASE third");
    ok(s, "DROP DATABASE third");
    cowcat_session_close(o);
    ok(s, "DROP DATABASE other");
    cowcat_session_close(c);
}

/* A thread opening a session on a database: the outcome, and when it came. */
typedef struct opener {
    const char *name;
    atomic_bool done;
    cowcat_session *session; /* NULL if the open failed */
    cowcat_error err;
} opener;

static void *
open_thread(void *arg)
{
    opener *o = arg;
    o->session = open_on(o->name, &o->err);
    atomic_store(&o->done, true);
    return NULL;
}

/* Opens on x from another thread while s's block drops it; the block then ends with end. */
static opener
open_during_drop(const char *end)
{
    ok(s, "CREATE DATABASE x");
    ok(s, "BEGIN");
    ok(s, "DROP DATABASE x");
    opener o = {.name = "x"};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, open_thread, &o), 0);
    usleep(200 * 1000);
    cr_expect(!atomic_load(&o.done), "a session opened on a database being dropped");
    ok(s, end);
    pthread_join(t, NULL);
    return o;
}

Test(dbuse, a_session_opening_while_its_database_is_dropped_waits_and_then_finds_it_gone)
{
    opener o = open_during_drop("COMMIT");
    cr_expect_null(o.session, "the session opened on a dropped database");
    cr_expect_str_eq(o.err.sqlstate, "3D000");
    cr_expect_str_eq(o.err.message, "database \"x\" does not exist");
    cowcat_session_close(o.session);
}

Test(dbuse, a_session_opening_while_a_drop_is_rolled_back_opens)
{
    opener o = open_during_drop("ROLLBACK");
    cr_assert_not_null(o.session, "%s", o.err.message);
    ok(o.session, "CREATE SCHEMA still_here");
    fails(s, "DROP DATABASE x", "55006", "database \"x\" is being accessed by other users");
    cowcat_session_close(o.session);
    ok(s, "DROP DATABASE x");
}

/* Sessions that open on x, run DDL in it and close, again and again. */
typedef struct churn {
    atomic_bool stop;
    atomic_int opened;    /* sessions that opened */
    atomic_int lost;      /* statements of an open session that found x gone */
    char lost_msg[COWCAT_ERROR_MAX + 8];
} churn;

static void *
churn_thread(void *arg)
{
    churn *ch = arg;
    while (!atomic_load(&ch->stop)) {
        cowcat_error err;
        cowcat_session *t = open_on("x", &err);
        if (t == NULL) {
            cr_expect_str_eq(err.sqlstate, "3D000", "%s", err.message);
            continue;
        }
        atomic_fetch_add(&ch->opened, 1);
        if (cowcat_exec(t, "CREATE SCHEMA IF NOT EXISTS k", NULL, NULL, &err) != COWCAT_OK) {
            if (atomic_fetch_add(&ch->lost, 1) == 0)
                snprintf(ch->lost_msg, sizeof ch->lost_msg, "%s %s", err.sqlstate, err.message);
        }
        cowcat_session_close(t);
        usleep(200); /* leave moments with no session, or no DROP could go through */
    }
    return NULL;
}

Test(dbuse, a_database_is_never_dropped_under_an_open_session)
{
    churn ch = {0};
    ok(s, "CREATE DATABASE x");
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, churn_thread, &ch), 0);
    int drops = 0;
    /* until both sides did enough, or 10 s */
    for (int round = 0; round < 100000 && (drops < 50 || atomic_load(&ch.opened) < 2000);
         round++) {
        usleep(100);
        cowcat_error err;
        if (cowcat_exec(s, "DROP DATABASE x", NULL, NULL, &err) == COWCAT_OK) {
            drops++;
            ok(s, "CREATE DATABASE x");
        } else {
            cr_expect_str_eq(err.sqlstate, "55006", "%s", err.message);
        }
    }
    atomic_store(&ch.stop, true);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    cr_log_info("%d drops, %d sessions opened", drops, atomic_load(&ch.opened));
    cr_expect_gt(drops, 0, "no DROP DATABASE went through");
    cr_expect_gt(atomic_load(&ch.opened), 0, "no session opened");
    cr_expect_eq(atomic_load(&ch.lost), 0, "%d statements found their database dropped (%s)",
                 atomic_load(&ch.lost), ch.lost_msg);
}
