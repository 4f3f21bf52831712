/*
 * tests/fuzz/fuzz_sql.c — libFuzzer target: SQL text through the whole
 * engine (parse -> plan -> transact -> commit -> publish) of an in-memory
 * cowcat, with the full consistency check after every input.
 *
 * Input layout:
 *
 *   +-------+---------+----+---------+----+-----
 *   | setup | chunk 0 | \0 | chunk 1 | \0 | ...
 *   +-------+---------+----+---------+----+-----
 *
 *   setup bit 0   0: the bootstrap catalog; 1: the small prebuilt catalog
 *                 below (schemas, tables with keys, views, an index, a
 *                 materialized view, roles, grants, comments)
 *   setup bit 1   start the session as alice (a LOGIN role without
 *                 privileges beyond her own schema; prebuilt only)
 *   setup bit 2   start the session as cowcat_system (the superuser that
 *                 may ALTER SYSTEM)
 *   chunk         one cowcat_exec call (one statement, or several joined
 *                 with ';' = one implicit transaction), or a meta-command
 *                 "\c DB ROLE" ('-' keeps the current one) that reconnects,
 *                 as in the SQL regression files
 *
 * Each input gets a fresh memory-backed cowcat (so a crash reproduces from
 * its input alone), opened from scratch or from the prebuilt catalog, whose
 * statements run again for each input.
 *
 * Oracles (abort() on violation): cowcat_check passes after the input; a
 * statement that fails outside a transaction block leaves the catalog's
 * content fingerprint unchanged ("a failed statement changes nothing"); a
 * failing call fills in an error message and SQLSTATE; a row has as many
 * values as its columns. ASan/UBSan/LeakSanitizer catch the rest.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cowcat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_CHUNKS 256 /* statements per input: bounds the time one input can take */

/* The prebuilt catalog (setup bit 0). Runs as cowcat, then as alice. */
static const char *const prebuilt_sql[] = {
    "CREATE ROLE alice LOGIN",
    "CREATE ROLE bob LOGIN CREATEDB",
    "CREATE ROLE readers",
    "CREATE SCHEMA app",
    "CREATE SCHEMA alice_s",
    "GRANT CREATE, USAGE ON SCHEMA alice_s TO alice",
    "CREATE TABLE t1 (id int PRIMARY KEY, name text NOT NULL DEFAULT 'x', v numeric(10,2))",
    "CREATE TABLE app.t2 (a int REFERENCES t1 (id) ON DELETE CASCADE, b varchar(20) UNIQUE, "
    "c int CHECK (c > 0))",
    "CREATE VIEW v1 AS SELECT id, name FROM t1 WHERE id > 1",
    "CREATE VIEW app.v2 AS SELECT v1.id, t2.b FROM v1 JOIN app.t2 ON t2.a = v1.id",
    "CREATE INDEX t1_name_idx ON t1 (name)",
    "CREATE MATERIALIZED VIEW mv1 AS SELECT count(*) AS n FROM t1",
    "COMMENT ON TABLE t1 IS 'the first table'",
    "GRANT USAGE ON SCHEMA app TO readers",
    "GRANT CREATE ON SCHEMA public TO alice",
    "ALTER TABLE t1 ADD COLUMN extra boolean",
    NULL,
};
static const char *const prebuilt_alice_sql[] = {
    "CREATE TABLE alice_s.at (k int PRIMARY KEY, t text)",
    "CREATE VIEW alice_s.av AS SELECT k FROM alice_s.at",
    NULL,
};

/* What one input's run keeps. */
typedef struct run {
    cowcat *db;
    cowcat_session *s;
    char user[64];
    char database[64];
    size_t ncols; /* columns of the statement whose rows are arriving */
} run;

static void
die(const char *what, const cowcat_error *e)
{
    fprintf(stderr, "fuzz_sql: %s: %s (%s) %s\n", what, e != NULL ? e->message : "",
            e != NULL ? e->sqlstate : "", e != NULL ? e->detail : "");
    abort();
}

static int
on_columns(void *arg, const cowcat_column *cols, size_t n)
{
    run *r = arg;
    r->ncols = n;
    for (size_t i = 0; i < n; i++)
        if (cols[i].name == NULL)
            die("a result column without a name", NULL);
    return 0;
}

static int
on_row(void *arg, const char *const *values, size_t n)
{
    run *r = arg;
    if (n != r->ncols)
        die("a row with a different number of values than columns", NULL);
    size_t sum = 0;
    for (size_t i = 0; i < n; i++)
        if (values[i] != NULL)
            sum += strlen(values[i]); /* ASan: every value must be readable */
    return sum == (size_t)-1;
}

static void
on_complete(void *arg, const char *tag)
{
    (void)arg;
    if (tag == NULL || tag[0] == '\0')
        die("an empty command tag", NULL);
}

static void
on_notice(void *arg, const cowcat_error *n)
{
    (void)arg;
    if (n->message[0] == '\0')
        die("a notice without a message", n);
}

static const cowcat_callbacks callbacks = {on_columns, on_row, on_complete, on_notice};

static cowcat_code
open_session(run *r, const char *database, const char *user, cowcat_error *err)
{
    cowcat_session_options so = {.user = user[0] ? user : NULL,
                                 .database = database[0] ? database : NULL};
    cowcat_session *s = NULL;
    cowcat_code rc = cowcat_session_open(r->db, &so, &s, err);
    if (rc != COWCAT_OK)
        return rc;
    cowcat_session_close(r->s);
    r->s = s;
    snprintf(r->user, sizeof r->user, "%s", user);
    snprintf(r->database, sizeof r->database, "%s", database);
    return COWCAT_OK;
}

/* Runs the statements as one string: one implicit transaction, one commit. */
static void
run_script(run *r, const char *const *sql)
{
    char buf[4096];
    size_t len = 0;
    for (size_t i = 0; sql[i] != NULL; i++) {
        int w = snprintf(buf + len, sizeof buf - len, "%s;\n", sql[i]);
        if (w < 0 || (size_t)w >= sizeof buf - len)
            abort(); /* the script outgrew buf */
        len += (size_t)w;
    }
    cowcat_error err;
    if (cowcat_exec(r->s, buf, NULL, NULL, &err) != COWCAT_OK)
        die(buf, &err);
}

/* "\c DB ROLE": reconnects (a failure keeps the session, as psql does). */
static void
meta(run *r, char *cmd)
{
    char *save = NULL;
    char *name = strtok_r(cmd, " \t\n", &save);
    if (name == NULL || (strcmp(name, "c") != 0 && strcmp(name, "connect") != 0))
        return;
    char *db = strtok_r(NULL, " \t\n", &save);
    char *user = strtok_r(NULL, " \t\n", &save);
    char newdb[64], newuser[64];
    snprintf(newdb, sizeof newdb, "%s", db != NULL && strcmp(db, "-") != 0 ? db : r->database);
    snprintf(newuser, sizeof newuser, "%s",
             user != NULL && strcmp(user, "-") != 0 ? user : r->user);
    cowcat_error err;
    if (open_session(r, newdb, newuser, &err) != COWCAT_OK && err.message[0] == '\0')
        die("session_open failed without a message", &err);
}

/* The catalog content fingerprint of the published version (outside a block). */
static void
fingerprint(run *r, uint64_t fp[2])
{
    cowcat_snapshot *snap;
    cowcat_error err;
    if (cowcat_snapshot_open(r->s, &snap, &err) != COWCAT_OK)
        die("snapshot_open", &err);
    cowcat_snapshot_fingerprint(snap, fp);
    cowcat_snapshot_close(snap);
}

/*
 * Whether a failure of sql must leave the catalog as it was: true unless sql
 * is a string of several statements that may end its implicit transaction
 * early (COMMIT inside a string commits what came before, as in PostgreSQL).
 */
static bool
failure_is_atomic(const char *sql)
{
    static const char *const words[] = {"commit", "end", "rollback", "abort", "begin", "start"};
    if (strchr(sql, ';') == NULL)
        return true;
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        if (strcasestr(sql, words[i]) != NULL)
            return false;
    return true;
}

static void
exec_chunk(run *r, const char *sql)
{
    bool idle = cowcat_session_status(r->s) == COWCAT_TXN_IDLE && failure_is_atomic(sql);
    uint64_t before[2] = {0, 0};
    if (idle)
        fingerprint(r, before);
    cowcat_error err;
    memset(&err, 0, sizeof err);
    r->ncols = 0;
    cowcat_code rc = cowcat_exec(r->s, sql, &callbacks, r, &err);
    if (rc == COWCAT_OK)
        return;
    if (err.message[0] == '\0' || err.sqlstate[0] == '\0')
        die("a failed statement without a message or SQLSTATE", &err);
    if (rc == COWCAT_INTERNAL || rc == COWCAT_CORRUPT)
        die("an internal error", &err);
    if (idle && cowcat_session_status(r->s) == COWCAT_TXN_IDLE) {
        uint64_t after[2];
        fingerprint(r, after);
        if (before[0] != after[0] || before[1] != after[1])
            die("a failed statement changed the catalog", &err);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t setup = data[0];
    run r;
    memset(&r, 0, sizeof r);
    cowcat_options o = {.backend = COWCAT_BACKEND_MEMORY};
    cowcat_error err;
    if (cowcat_open(&o, &r.db, &err) != COWCAT_OK)
        die("cowcat_open", &err);
    if (open_session(&r, "", "", &err) != COWCAT_OK)
        die("session_open", &err);
    if (setup & 1) {
        run_script(&r, prebuilt_sql);
        if (open_session(&r, "", "alice", &err) != COWCAT_OK)
            die("session_open alice", &err);
        run_script(&r, prebuilt_alice_sql);
        if (open_session(&r, "", (setup & 2) ? "alice" : "", &err) != COWCAT_OK)
            die("session_open", &err);
    }
    if ((setup & 4) && open_session(&r, "", "cowcat_system", &err) != COWCAT_OK)
        die("session_open cowcat_system", &err);

    /* The chunks, NUL-terminated in a copy (the last one may lack its NUL). */
    char *text = malloc(size);
    if (text == NULL)
        abort();
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    char *p = text, *end = text + size - 1;
    for (int nchunks = 0; p <= end && nchunks < MAX_CHUNKS; nchunks++) {
        size_t len = strlen(p);
        if (p[0] == '\\')
            meta(&r, p + 1);
        else
            exec_chunk(&r, p);
        p += len + 1;
    }
    free(text);

    cowcat_session_close(r.s); /* rolls back an open block */
    if (cowcat_check(r.db, &err) != COWCAT_OK)
        die("cowcat_check", &err);
    cowcat_close(r.db);
    return 0;
}
