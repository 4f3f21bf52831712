/*
 * tests/ddl/stress_ddl_concurrent.c — many sessions doing DDL at once through
 * the embedded API, on overlapping names, then a serial replay.
 *
 * T threads each run N random statements (create/drop/rename tables, views
 * over them, indexes, comments, multi-statement strings) on a shared small
 * name space, so statements collide: duplicates, missing objects,
 * dependents. Each thread records its successful statements with their
 * commit sequence numbers (cowcat_session_last_commit). Afterwards:
 *   - the full consistency check passes;
 *   - replaying the successful statements serially, in commit-sequence
 *     order, into a fresh catalog gives the same fingerprint;
 *   - group commit happened (fewer durable commits than statements) when the
 *     threads overlapped.
 * Meanwhile a blocker session keeps opening a block that holds the write
 * slot for a few milliseconds and rolls it back, and the odd-numbered
 * workers run with lock_timeout = 1ms: their writes that wait longer fail
 * with 55P03 — whether still queued for group commit or about to start —
 * and while it holds the slot the blocker cancels one worker's statement
 * (cowcat_session_cancel: 57014 if it was waiting); the replay shows that
 * every timed-out or cancelled write did nothing.
 * A plain main (not Criterion) so it also runs under TSan.
 *
 *   stress_ddl_concurrent [threads] [statements per thread] [seed]
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cowcat.h"

typedef struct done_stmt {
    uint64_t seq;
    char sql[160];
} done_stmt;

typedef struct worker {
    cowcat *db;
    int id;
    int n;
    uint64_t seed;
    done_stmt *done;
    size_t ndone;
    int errors;
    int timeouts;         /* 55P03: waited for the slot longer than lock_timeout */
    int cancels;          /* 57014: cancelled by the blocker while waiting */
    int unexpected;       /* errors with an SQLSTATE this workload cannot produce */
    pthread_mutex_t mu;   /* guards live */
    cowcat_session *live; /* the worker's session while it is open (for the canceller) */
} worker;

#define NAMES 24

static uint64_t
next_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* SQLSTATEs the random workload may legitimately hit. */
static int
expected_state(const char *st)
{
    static const char *const ok[] = {"42P07", "42P01", "2BP01", "42809", "42701",
                                     "42703", "42704", "42710", "40001"};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
        if (strcmp(st, ok[i]) == 0)
            return 1;
    return 0;
}

static void
make_stmt(uint64_t *r, char *sql, size_t cap)
{
    int a = (int)(next_rand(r) % NAMES), b = (int)(next_rand(r) % NAMES);
    switch (next_rand(r) % 9) {
    case 0:
    case 1:
        snprintf(sql, cap, "CREATE TABLE t%d (a int PRIMARY KEY, b text)", a);
        break;
    case 2:
        snprintf(sql, cap, "CREATE VIEW v%d AS SELECT a, b FROM t%d", a, b);
        break;
    case 3:
        snprintf(sql, cap, "DROP TABLE t%d CASCADE", a);
        break;
    case 4:
        snprintf(sql, cap, "ALTER TABLE t%d RENAME TO t%d", a, b);
        break;
    case 5:
        snprintf(sql, cap, "CREATE INDEX i%d ON t%d (b)", a, b);
        break;
    case 6:
        snprintf(sql, cap, "COMMENT ON TABLE t%d IS 'c%d'", a, b);
        break;
    case 7:
        snprintf(sql, cap, "DROP VIEW v%d", a);
        break;
    default:
        snprintf(sql, cap, "CREATE TABLE t%d (a int); CREATE VIEW v%d AS SELECT a FROM t%d", a, b,
                 a);
        break;
    }
}

static void *
run(void *arg)
{
    worker *w = arg;
    cowcat_session *s;
    cowcat_error err;
    if (cowcat_session_open(w->db, NULL, &s, &err) != COWCAT_OK) {
        fprintf(stderr, "session_open: %s\n", err.message);
        w->unexpected++;
        return NULL;
    }
    pthread_mutex_lock(&w->mu);
    w->live = s;
    pthread_mutex_unlock(&w->mu);
    if (w->id % 2 == 1 &&
        cowcat_exec(s, "SET lock_timeout = '1ms'", NULL, NULL, &err) != COWCAT_OK) {
        fprintf(stderr, "worker %d: SET lock_timeout: %s\n", w->id, err.message);
        w->unexpected++;
    }
    uint64_t r = w->seed;
    for (int i = 0; i < w->n; i++) {
        char sql[160];
        make_stmt(&r, sql, sizeof sql);
        if (cowcat_exec(s, sql, NULL, NULL, &err) == COWCAT_OK) {
            w->done[w->ndone].seq = cowcat_session_last_commit(s);
            snprintf(w->done[w->ndone].sql, sizeof w->done[w->ndone].sql, "%s", sql);
            w->ndone++;
        } else {
            w->errors++;
            if (w->id % 2 == 1 && strcmp(err.sqlstate, "55P03") == 0) {
                w->timeouts++;
            } else if (strcmp(err.sqlstate, "57014") == 0) {
                w->cancels++;
            } else if (!expected_state(err.sqlstate)) {
                fprintf(stderr, "worker %d: unexpected error %s: %s (%s)\n", w->id, err.sqlstate,
                        err.message, sql);
                w->unexpected++;
            }
        }
    }
    pthread_mutex_lock(&w->mu);
    w->live = NULL;
    pthread_mutex_unlock(&w->mu);
    cowcat_session_close(s);
    return NULL;
}

/* Holds the write slot in a block for ~2 ms at a time (rolled back: no trace) until stop. */
typedef struct blocker {
    cowcat *db;
    atomic_bool stop;
    long blocks;
    int unexpected;
    worker *w; /* whose statements it cancels, one per block in turn */
    int nw;
} blocker;

/* Cancels what worker w runs, if its session is open. */
static void
cancel_worker(worker *w)
{
    pthread_mutex_lock(&w->mu);
    if (w->live != NULL)
        cowcat_session_cancel(w->live);
    pthread_mutex_unlock(&w->mu);
}

static void *
block_main(void *arg)
{
    blocker *b = arg;
    cowcat_session *s;
    cowcat_error err;
    if (cowcat_session_open(b->db, NULL, &s, &err) != COWCAT_OK) {
        b->unexpected++;
        return NULL;
    }
    const struct timespec hold = {0, 2000000}, gap = {0, 1000000};
    while (!atomic_load(&b->stop)) {
        /* the block's first write takes the slot; it is held until ROLLBACK */
        cowcat_code rc = cowcat_exec(s, "BEGIN; CREATE SCHEMA blocker_scratch", NULL, NULL, &err);
        if (rc == COWCAT_OK) {
            nanosleep(&hold, NULL);
            cancel_worker(&b->w[b->blocks % b->nw]);
            rc = cowcat_exec(s, "ROLLBACK", NULL, NULL, &err);
        }
        if (rc != COWCAT_OK) {
            fprintf(stderr, "blocker: %s %s\n", err.sqlstate, err.message);
            b->unexpected++;
            break;
        }
        b->blocks++;
        nanosleep(&gap, NULL);
    }
    cowcat_session_close(s);
    return NULL;
}

static int
by_seq(const void *a, const void *b)
{
    uint64_t x = ((const done_stmt *)a)->seq, y = ((const done_stmt *)b)->seq;
    return (x > y) - (x < y);
}

static void
fingerprint(cowcat *db, uint64_t fp[2])
{
    cowcat_session *s;
    cowcat_snapshot *snap;
    cowcat_session_open(db, NULL, &s, NULL);
    cowcat_snapshot_open(s, &snap, NULL);
    cowcat_snapshot_fingerprint(snap, fp);
    cowcat_snapshot_close(snap);
    cowcat_session_close(s);
}

int
main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 16;
    int per = argc > 2 ? atoi(argv[2]) : 150;
    uint64_t seed = argc > 3 ? strtoull(argv[3], NULL, 10) : 20261123;
    printf("stress_ddl_concurrent: %d threads x %d statements, seed %llu\n", threads, per,
           (unsigned long long)seed);

    cowcat_options o = {.backend = COWCAT_BACKEND_MEMORY};
    cowcat *db;
    cowcat_error err;
    if (cowcat_open(&o, &db, &err) != COWCAT_OK) {
        fprintf(stderr, "open: %s\n", err.message);
        return 1;
    }
    worker *w = calloc((size_t)threads, sizeof *w);
    pthread_t *tid = calloc((size_t)threads, sizeof *tid);
    for (int i = 0; i < threads; i++) {
        w[i] = (worker){.db = db, .id = i, .n = per, .seed = seed * 7919 + (uint64_t)i + 1};
        pthread_mutex_init(&w[i].mu, NULL);
    }
    blocker blk = {.db = db, .w = w, .nw = threads};
    pthread_t blk_tid;
    if (pthread_create(&blk_tid, NULL, block_main, &blk) != 0) {
        fprintf(stderr, "pthread_create: blocker\n");
        return 1;
    }
    for (int i = 0; i < threads; i++) {
        w[i].done = calloc((size_t)per, sizeof *w[i].done);
        pthread_create(&tid[i], NULL, run, &w[i]);
    }
    size_t total = 0;
    int unexpected = 0, errors = 0, timeouts = 0, cancels = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(tid[i], NULL);
        total += w[i].ndone;
        unexpected += w[i].unexpected;
        errors += w[i].errors;
        timeouts += w[i].timeouts;
        cancels += w[i].cancels;
    }
    atomic_store(&blk.stop, true);
    pthread_join(blk_tid, NULL);
    unexpected += blk.unexpected;
    int fail = unexpected > 0;
    if (cowcat_check(db, &err) != COWCAT_OK) {
        fprintf(stderr, "FAIL: check after the concurrent run: %s\n", err.message);
        fail = 1;
    }
    cowcat_stats st;
    cowcat_stats_get(db, &st);
    printf("  %zu statements committed, %d failed (%d lock timeouts and %d cancels while %ld "
           "blocks held the slot); %llu durable commits, %llu groups, largest group %llu, %llu "
           "objects\n",
           total, errors, timeouts, cancels, blk.blocks, (unsigned long long)st.commits,
           (unsigned long long)st.groups, (unsigned long long)st.max_group,
           (unsigned long long)st.objects);

    /* Serial replay in commit order. */
    done_stmt *all = calloc(total ? total : 1, sizeof *all);
    size_t k = 0;
    for (int i = 0; i < threads; i++)
        for (size_t j = 0; j < w[i].ndone; j++)
            all[k++] = w[i].done[j];
    qsort(all, total, sizeof *all, by_seq);
    for (size_t i = 1; i < total; i++)
        if (all[i].seq == all[i - 1].seq || all[i].seq == 0) {
            fprintf(stderr, "FAIL: commit sequence numbers not unique (%llu)\n",
                    (unsigned long long)all[i].seq);
            fail = 1;
            break;
        }
    cowcat *replay;
    if (cowcat_open(&o, &replay, &err) != COWCAT_OK) {
        fprintf(stderr, "open replay: %s\n", err.message);
        return 1;
    }
    cowcat_session *rs;
    cowcat_session_open(replay, NULL, &rs, NULL);
    for (size_t i = 0; i < total; i++)
        if (cowcat_exec(rs, all[i].sql, NULL, NULL, &err) != COWCAT_OK) {
            fprintf(stderr, "FAIL: replay of #%llu failed: %s: %s\n",
                    (unsigned long long)all[i].seq, all[i].sql, err.message);
            fail = 1;
            break;
        }
    cowcat_session_close(rs);
    uint64_t a[2], b[2];
    fingerprint(db, a);
    fingerprint(replay, b);
    if (a[0] != b[0] || a[1] != b[1]) {
        fprintf(stderr, "FAIL: concurrent catalog differs from its serial replay\n");
        fail = 1;
    }
    cowcat_close(replay);
    cowcat_close(db);
    for (int i = 0; i < threads; i++)
        free(w[i].done);
    free(w);
    free(tid);
    free(all);
    printf("stress_ddl_concurrent: %s\n", fail ? "FAILED" : "ok");
    return fail;
}
