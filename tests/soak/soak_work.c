/*
 * tests/soak/soak_work.c — the soak workload: writers running mixed DDL on a
 * bounded name space, readers pinning versions and running catalog SELECTs.
 *
 * Names are bounded (tables t0..t{N-1}, views v*, views over views w*,
 * indexes i*, four roles), so the catalog's size oscillates around a fixed
 * level however long the run: creates meet 42P07 once a name is taken,
 * drops meet 42P01 once it is gone, and the two balance. Every statement's
 * failure must carry one of the SQLSTATEs listed in soak_expected_state,
 * each of which a collision on these names explains; anything else is a bug.
 *
 * Writers mix autocommit statements (group committed), BEGIN ... COMMIT
 * blocks sent statement by statement (ROLLBACK after the first error),
 * multi-statement strings (one implicit transaction), GRANT/REVOKE, and now
 * and then ALTER SYSTEM SET of a limit through a cowcat_system session (to a
 * value far above anything the names allow, so no 53400).
 *
 * Readers (embedded target) keep up to HOLD_MAX snapshots pinned, each for
 * 50 ms .. 3 s — thousands of commits at the rates reached — and check on
 * release that the version did not change under them (fingerprint and table
 * count equal to those at pin time); every fifth second (by the monotonic
 * clock, the same for all readers) they hold none, so the heap's floor
 * shows the live memory. Meanwhile they run SELECTs over
 * information_schema and cowcat_catalog and walk the public schema's
 * relations and their columns. On the server target they run the SELECTs.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "soak.h"

#define NAMES    32 /* tables, views, views over views, indexes: each 0..NAMES-1 */
#define ROLES    4  /* soak_r0 .. */
#define HOLD_MAX 4  /* snapshots a reader keeps pinned at once */

static uint64_t
next_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static int
pick(uint64_t *r, int n)
{
    return (int)(next_rand(r) % (uint64_t)n);
}

static uint64_t
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

bool
soak_expected_state(const char *st)
{
    static const char *const ok[] = {
        "42P07", /* create or rename onto a name that is taken (relation or index) */
        "42P01", /* drop, rename, alter, comment on, grant on or select from a missing relation */
        "2BP01", /* DROP without CASCADE of a table a view depends on, or a column a view uses */
        "42704", /* DROP INDEX of a missing index */
        "42701", /* ADD COLUMN c when c is there */
        "42703", /* DROP COLUMN c when c is not there */
    };
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
        if (strcmp(st, ok[i]) == 0)
            return true;
    return false;
}

void
soak_tally_add(soak_tally *t, const char *state)
{
    for (int i = 0; i < t->n; i++)
        if (strcmp(t->state[i], state) == 0) {
            t->count[i]++;
            return;
        }
    if (t->n == SOAK_STATES)
        return;
    snprintf(t->state[t->n], 6, "%s", state);
    t->count[t->n++] = 1;
}

/* --- connections ---------------------------------------------------------------------- */

static void
ignore_notice(void *arg, const char *message)
{
    (void)arg, (void)message;
}

bool
soak_conn_open(soak_worker *w, bool system, soak_conn *c)
{
    *c = (soak_conn){0};
    if (w->db != NULL) {
        cowcat_session_options so = {.user = system ? "cowcat_system" : NULL};
        cowcat_error err;
        if (cowcat_session_open(w->db, &so, &c->s, &err) != COWCAT_OK) {
            fprintf(stderr, "soak: session_open: %s\n", err.message);
            return false;
        }
        return true;
    }
    c->pg = PQconnectdb(system ? w->conninfo_system : w->conninfo_user);
    if (PQstatus(c->pg) != CONNECTION_OK) {
        fprintf(stderr, "soak: connect: %s", PQerrorMessage(c->pg));
        PQfinish(c->pg);
        c->pg = NULL;
        return false;
    }
    PQsetNoticeProcessor(c->pg, ignore_notice, NULL); /* "drop cascades to ...", by the thousand */
    return true;
}

void
soak_conn_close(soak_conn *c)
{
    if (c->s != NULL)
        cowcat_session_close(c->s);
    if (c->pg != NULL)
        PQfinish(c->pg);
    *c = (soak_conn){0};
}

static int
count_row(void *arg, const char *const *values, size_t n)
{
    (void)values, (void)n;
    (*(uint64_t *)arg)++;
    return 0;
}

bool
soak_exec(soak_conn *c, const char *sql, char state[6], char *msg, size_t msgcap, uint64_t *rows)
{
    uint64_t nrows = 0;
    bool ok;
    if (c->s != NULL) {
        static const cowcat_callbacks cb = {.row = count_row};
        cowcat_error err;
        ok = cowcat_exec(c->s, sql, &cb, &nrows, &err) == COWCAT_OK;
        if (!ok && state != NULL)
            snprintf(state, 6, "%s", err.sqlstate);
        if (!ok && msg != NULL)
            snprintf(msg, msgcap, "%s", err.message);
    } else {
        PGresult *r = PQexec(c->pg, sql);
        ExecStatusType st = PQresultStatus(r);
        ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
        if (ok && st == PGRES_TUPLES_OK)
            nrows = (uint64_t)PQntuples(r);
        if (!ok) {
            const char *s = PQresultErrorField(r, PG_DIAG_SQLSTATE);
            if (state != NULL)
                snprintf(state, 6, "%s", s != NULL ? s : "?????");
            if (msg != NULL)
                snprintf(msg, msgcap, "%s", PQresultErrorMessage(r));
        }
        PQclear(r);
    }
    if (rows != NULL)
        *rows = nrows;
    return ok;
}

/* Records a failure: tallies it and, if the workload cannot produce it, reports it. */
static void
failed(soak_worker *w, const char *sql, const char *state, const char *msg)
{
    soak_tally_add(&w->tally, state);
    if (soak_expected_state(state))
        return;
    if (__atomic_add_fetch(&w->sh->unexpected, 1, __ATOMIC_RELAXED) <= 10)
        fprintf(stderr, "soak: worker %d: unexpected %s: %s (%s)\n", w->id, state, msg, sql);
    if (w->first_unexpected[0] == '\0')
        snprintf(w->first_unexpected, sizeof w->first_unexpected, "%s: %.200s (%.250s)", state, msg,
                 sql);
}

/* Runs one statement and accounts for it; true on success. */
static bool
run(soak_worker *w, soak_conn *c, const char *sql)
{
    char state[6], msg[300];
    __atomic_add_fetch(&w->sh->statements, 1, __ATOMIC_RELAXED);
    if (soak_exec(c, sql, state, msg, sizeof msg, NULL))
        return true;
    failed(w, sql, state, msg);
    return false;
}

bool
soak_setup(soak_worker *w)
{
    soak_conn c;
    if (!soak_conn_open(w, false, &c))
        return false;
    bool ok = true;
    char sql[96];
    for (int i = 0; i < ROLES && ok; i++) {
        snprintf(sql, sizeof sql, "CREATE ROLE soak_r%d", i);
        char state[6], msg[300];
        ok = soak_exec(&c, sql, state, msg, sizeof msg, NULL) || strcmp(state, "42710") == 0;
        if (!ok)
            fprintf(stderr, "soak: setup: %s: %s %s\n", sql, state, msg);
    }
    soak_conn_close(&c);
    return ok;
}

/* --- writers ----------------------------------------------------------------------------- */

/* One autocommit statement on the bounded names into sql. */
static void
make_stmt(uint64_t *r, char *sql, size_t cap)
{
    int a = pick(r, NAMES), b = pick(r, NAMES);
    switch (pick(r, 24)) {
    case 0:
    case 1:
    case 2:
    case 3:
        snprintf(sql, cap, "CREATE TABLE t%d (a int PRIMARY KEY, b text, c int)", a);
        break;
    case 4:
    case 5:
        snprintf(sql, cap, "DROP TABLE t%d CASCADE", a);
        break;
    case 6:
        snprintf(sql, cap, "DROP TABLE t%d", a);
        break;
    case 7:
    case 8:
        snprintf(sql, cap, "CREATE VIEW v%d AS SELECT a, b FROM t%d", a, b);
        break;
    case 9:
        snprintf(sql, cap, "CREATE VIEW w%d AS SELECT a FROM v%d", a, b);
        break;
    case 10:
        snprintf(sql, cap, "DROP VIEW v%d CASCADE", a);
        break;
    case 11:
        snprintf(sql, cap, "DROP VIEW w%d", a);
        break;
    case 12:
        snprintf(sql, cap, "CREATE INDEX i%d ON t%d (b)", a, b);
        break;
    case 13:
        snprintf(sql, cap, "DROP INDEX i%d", a);
        break;
    case 14:
        snprintf(sql, cap, "ALTER TABLE t%d RENAME TO t%d", a, b);
        break;
    case 15:
        snprintf(sql, cap, "ALTER VIEW v%d RENAME TO v%d", a, b);
        break;
    case 16:
        snprintf(sql, cap, "COMMENT ON TABLE t%d IS 'soak %d'", a, b);
        break;
    case 17:
        snprintf(sql, cap, "COMMENT ON VIEW v%d IS 'soak %d'", a, b);
        break;
    case 18:
        snprintf(sql, cap, "GRANT SELECT ON t%d TO soak_r%d", a, b % ROLES);
        break;
    case 19:
        snprintf(sql, cap, "REVOKE SELECT ON t%d FROM soak_r%d", a, b % ROLES);
        break;
    case 20:
        snprintf(sql, cap, "ALTER TABLE t%d ADD COLUMN d int", a);
        break;
    case 21:
        snprintf(sql, cap, "ALTER TABLE t%d DROP COLUMN d", a);
        break;
    default:
        /* a multi-statement string: one implicit transaction */
        snprintf(sql, cap,
                 "CREATE TABLE t%d (a int PRIMARY KEY, b text, c int); "
                 "CREATE VIEW v%d AS SELECT a, b FROM t%d; COMMENT ON TABLE t%d IS 'pair'",
                 a, b, a, a);
        break;
    }
}

/* A BEGIN ... COMMIT block sent statement by statement; ROLLBACK after an error. */
static void
run_block(soak_worker *w, soak_conn *c)
{
    uint64_t *r = &w->rng;
    if (!run(w, c, "BEGIN"))
        return;
    int n = 2 + pick(r, 4);
    bool ok = true;
    for (int i = 0; i < n && ok; i++) {
        char sql[256];
        int a = pick(r, NAMES), b = pick(r, NAMES);
        switch (pick(r, 4)) {
        case 0:
            snprintf(sql, sizeof sql, "DROP TABLE t%d CASCADE", a);
            break;
        case 1:
            snprintf(sql, sizeof sql, "CREATE TABLE t%d (a int PRIMARY KEY, b text, c int)", a);
            break;
        case 2:
            snprintf(sql, sizeof sql, "CREATE VIEW v%d AS SELECT a, b FROM t%d", a, b);
            break;
        default:
            make_stmt(r, sql, sizeof sql);
            if (strchr(sql, ';') != NULL) /* one statement per message in a block */
                snprintf(sql, sizeof sql, "CREATE INDEX i%d ON t%d (c)", a, b);
            break;
        }
        ok = run(w, c, sql);
    }
    run(w, c, ok && pick(r, 8) != 0 ? "COMMIT" : "ROLLBACK");
}

void *
soak_writer_main(void *arg)
{
    soak_worker *w = arg;
    soak_conn c, sys;
    if (!soak_conn_open(w, false, &c)) {
        __atomic_add_fetch(&w->sh->unexpected, 1, __ATOMIC_RELAXED);
        return NULL;
    }
    if (!soak_conn_open(w, true, &sys)) {
        soak_conn_close(&c);
        __atomic_add_fetch(&w->sh->unexpected, 1, __ATOMIC_RELAXED);
        return NULL;
    }
    static const char *const limits[] = {"max_tables", "max_views", "max_indexes",
                                         "max_objects_per_schema"};
    while (!__atomic_load_n(&w->sh->stop, __ATOMIC_RELAXED)) {
        int dice = pick(&w->rng, 1000);
        char sql[512];
        if (dice < 60) {
            run_block(w, &c);
        } else if (dice < 62) {
            /* far above the NAMES-bounded counts: never 53400 */
            snprintf(sql, sizeof sql, "ALTER SYSTEM SET %s = %d", limits[pick(&w->rng, 4)],
                     10000 + pick(&w->rng, 100000));
            run(w, &sys, sql);
        } else if (dice < 63) {
            snprintf(sql, sizeof sql, "ALTER SYSTEM RESET %s", limits[pick(&w->rng, 4)]);
            run(w, &sys, sql);
        } else {
            make_stmt(&w->rng, sql, sizeof sql);
            run(w, &c, sql);
        }
    }
    soak_conn_close(&sys);
    soak_conn_close(&c);
    return NULL;
}

/* --- readers -------------------------------------------------------------------------------- */

static const char *const reads[] = {
    "SELECT table_schema, table_name, table_type FROM information_schema.tables "
    "WHERE table_schema = 'public'",
    "SELECT table_name, column_name, data_type FROM information_schema.columns "
    "WHERE table_schema = 'public'",
    "SELECT table_name, view_definition FROM information_schema.views WHERE table_schema = "
    "'public'",
    "SELECT count(*) FROM cowcat_catalog.objects",
    "SELECT kind, name FROM cowcat_catalog.objects WHERE schema = 'public'",
    "SELECT * FROM cowcat_catalog.indexes",
    "SELECT * FROM cowcat_catalog.dependencies",
    "SELECT name, value, current FROM cowcat_catalog.limits",
};

typedef struct held {
    cowcat_snapshot *snap;
    uint64_t fp[2];
    uint64_t tables;
    uint64_t since_ms, until_ms;
} held;

typedef struct walk_ctx {
    cowcat_snapshot *snap;
    uint64_t columns;
} walk_ctx;

static int
count_column(void *arg, const cowcat_column_info *ci)
{
    (void)ci;
    (*(uint64_t *)arg)++;
    return 0;
}

static int
walk_object(void *arg, const cowcat_object *o)
{
    walk_ctx *k = arg;
    if (o->kind == COWCAT_KIND_TABLE || o->kind == COWCAT_KIND_VIEW)
        cowcat_snapshot_columns(k->snap, o->oid, count_column, &k->columns, NULL);
    return 0;
}

/* Unpins h after checking its version did not change under it. */
static void
release(soak_worker *w, held *h)
{
    uint64_t fp[2];
    cowcat_snapshot_fingerprint(h->snap, fp);
    uint64_t tables = cowcat_snapshot_count(h->snap, COWCAT_KIND_TABLE);
    if (fp[0] != h->fp[0] || fp[1] != h->fp[1] || tables != h->tables) {
        __atomic_add_fetch(&w->sh->isolation_failures, 1, __ATOMIC_RELAXED);
        fprintf(stderr, "soak: reader %d: a pinned version changed (tables %llu -> %llu)\n", w->id,
                (unsigned long long)h->tables, (unsigned long long)tables);
    }
    cowcat_snapshot_close(h->snap);
    uint64_t ms = now_ms() - h->since_ms;
    __atomic_add_fetch(&w->sh->snapshots_held, 1, __ATOMIC_RELAXED);
    uint64_t max = __atomic_load_n(&w->sh->max_hold_ms, __ATOMIC_RELAXED);
    while (ms > max && !__atomic_compare_exchange_n(&w->sh->max_hold_ms, &max, ms, false,
                                                    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        ;
    h->snap = NULL;
}

void *
soak_reader_main(void *arg)
{
    soak_worker *w = arg;
    soak_conn c;
    if (!soak_conn_open(w, false, &c)) {
        __atomic_add_fetch(&w->sh->unexpected, 1, __ATOMIC_RELAXED);
        return NULL;
    }
    held hold[HOLD_MAX] = {0};
    while (!__atomic_load_n(&w->sh->stop, __ATOMIC_RELAXED)) {
        uint64_t now = now_ms();
        /* one second in five without long pins, so the heap's floor shows the
         * live memory (soak.c's leak signal) */
        bool quiet = now / 1000 % 5 == 4;
        if (c.s != NULL) {
            for (int i = 0; i < HOLD_MAX; i++)
                if (hold[i].snap != NULL && (quiet || now >= hold[i].until_ms))
                    release(w, &hold[i]);
            int slot = pick(&w->rng, HOLD_MAX * 4);
            if (!quiet && slot < HOLD_MAX && hold[slot].snap == NULL &&
                cowcat_snapshot_open(c.s, &hold[slot].snap, NULL) == COWCAT_OK) {
                held *h = &hold[slot];
                cowcat_snapshot_fingerprint(h->snap, h->fp);
                h->tables = cowcat_snapshot_count(h->snap, COWCAT_KIND_TABLE);
                h->since_ms = now;
                h->until_ms = now + 50 + (uint64_t)pick(&w->rng, 2950);
            }
            if (pick(&w->rng, 4) == 0) {
                /* a short pin: walk the public relations and their columns */
                cowcat_snapshot *snap;
                if (cowcat_snapshot_open(c.s, &snap, NULL) == COWCAT_OK) {
                    walk_ctx k = {snap, 0};
                    cowcat_error err;
                    if (cowcat_snapshot_walk_schema(snap, "public", walk_object, &k, &err) !=
                        COWCAT_OK)
                        failed(w, "walk_schema public", err.sqlstate, err.message);
                    cowcat_snapshot_close(snap);
                }
            }
        }
        const char *sql = reads[pick(&w->rng, (int)(sizeof reads / sizeof *reads))];
        char state[6], msg[300];
        uint64_t rows;
        if (soak_exec(&c, sql, state, msg, sizeof msg, &rows)) {
            __atomic_add_fetch(&w->sh->reads, 1, __ATOMIC_RELAXED);
            __atomic_add_fetch(&w->sh->rows, rows, __ATOMIC_RELAXED);
        } else {
            /* a read of the published version cannot fail */
            soak_tally_add(&w->tally, state);
            if (__atomic_add_fetch(&w->sh->unexpected, 1, __ATOMIC_RELAXED) <= 10)
                fprintf(stderr, "soak: reader %d: %s: %s (%s)\n", w->id, state, msg, sql);
        }
    }
    for (int i = 0; i < HOLD_MAX; i++)
        if (hold[i].snap != NULL)
            release(w, &hold[i]);
    soak_conn_close(&c);
    return NULL;
}
