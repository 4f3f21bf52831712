/*
 * tests/tools/stress_check.c — the threaded consistency checks on a catalog
 * large enough to use their second threads (a plain main, so TSan runs it):
 *
 *   - cowcat_check (cat_check's map job on a second thread from 4,096
 *     objects) while another session keeps committing DDL, so the check reads
 *     a pinned version as writers publish and retire others;
 *   - tools_check on the closed directory (`cowcat check`: the durable check,
 *     the audit walk and the create_sql re-parse on a helper thread, the load
 *     and cat_check's worker thread on the caller's).
 *
 *   stress_check [TABLES]    (default 5,000)
 * Prints "stress_check: ok" when every check passed.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cowcat.h"
#include "tools/tools.h"

static void
die(const char *what, const char *msg)
{
    printf("FAIL: stress_check: %s: %s\n", what, msg);
    exit(1);
}

static void
exec_ok(cowcat_session *s, const char *sql)
{
    cowcat_error e;
    if (cowcat_exec(s, sql, NULL, NULL, &e) != COWCAT_OK)
        die(sql, e.message);
}

typedef struct writer {
    cowcat *db;
    atomic_bool stop;
    long commits;
} writer;

/* Creates and drops tables (and a view over each) until told to stop. */
static void *
writer_main(void *arg)
{
    writer *w = arg;
    cowcat_session *s;
    cowcat_error e;
    if (cowcat_session_open(w->db, NULL, &s, &e) != COWCAT_OK)
        die("writer session", e.message);
    for (long i = 0; !atomic_load(&w->stop); i++) {
        char sql[160];
        snprintf(sql, sizeof sql,
                 "CREATE TABLE w%ld (a int, b text); CREATE VIEW wv%ld AS SELECT a FROM w%ld", i, i,
                 i);
        exec_ok(s, sql);
        snprintf(sql, sizeof sql, "DROP TABLE w%ld CASCADE", i);
        exec_ok(s, sql);
        w->commits += 2;
    }
    cowcat_session_close(s);
    return NULL;
}

static void
on_finding(void *arg, const char *what, const cc_err *f)
{
    (void)arg;
    printf("FAIL: stress_check: tools_check finding (%s): %s\n", what, f->msg);
}

int
main(int argc, char **argv)
{
    long tables = argc > 1 ? atol(argv[1]) : 5000;
    char dir[] = "/tmp/cowcat-stress-check-XXXXXX";
    if (tables < 1 || mkdtemp(dir) == NULL)
        die("setup", "usage: stress_check [TABLES], and a temporary directory");
    cowcat_options o = {.data_dir = dir, .durability = COWCAT_DURABILITY_NONE};
    cowcat *db;
    cowcat_session *s;
    cowcat_error e;
    if (cowcat_open(&o, &db, &e) != COWCAT_OK || cowcat_session_open(db, NULL, &s, &e) != COWCAT_OK)
        die("open", e.message);
    for (long i = 0; i < tables;) { /* 100 per string: one implicit transaction each */
        char sql[100 * 64];
        size_t len = 0;
        for (int k = 0; k < 100 && i < tables; k++, i++)
            len += (size_t)snprintf(sql + len, sizeof sql - len,
                                    "CREATE TABLE t%ld (a int PRIMARY KEY, b text);", i);
        exec_ok(s, sql);
    }
    exec_ok(s, "CREATE VIEW v0 AS SELECT a FROM t0");
    writer w = {.db = db};
    pthread_t t;
    if (pthread_create(&t, NULL, writer_main, &w) != 0)
        die("pthread_create", "failed");
    for (int round = 0; round < 3; round++)
        if (cowcat_check(db, &e) != COWCAT_OK)
            die("cowcat_check during DDL", e.message);
    atomic_store(&w.stop, true);
    pthread_join(t, NULL);
    if (cowcat_check(db, &e) != COWCAT_OK)
        die("cowcat_check after DDL", e.message);
    cowcat_session_close(s);
    cowcat_close(db);

    tools_datadir *d;
    cc_err err;
    cc_err_clear(&err);
    size_t findings = 0;
    if (tools_datadir_open(dir, TOOLS_OPEN_DURABLE, &d, &err) != CC_OK)
        die("tools_datadir_open", err.msg);
    if (tools_check(d, on_finding, NULL, &findings, &err) != CC_OK)
        die("tools_check", err.msg);
    tools_datadir_close(d);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        die("cleanup", dir);
    if (findings > 0)
        die("tools_check", "findings (above)");
    printf("stress_check: %ld tables, %ld writer commits during the checks, every check passed\n",
           tables, w.commits);
    printf("stress_check: ok\n");
    return 0;
}
