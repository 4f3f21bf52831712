/*
 * tests/persist/crash_shard.c — kill -9 crash test for persist shards on the
 * file backend.
 *
 *   crash_persist_shard [--iterations N] [--keep]
 *
 * Each iteration forks a child that opens a persist client (file backend,
 * FSYNC, small segments and automatic rollups) on the same data directory,
 * recovering whatever the previous child left. CRASH_SHARDS threads each own
 * one shard and compare_and_append numbered batches: batch b of a shard is
 * appended at [b, b + 1) and its contents are a pure function of (shard, b),
 * so the shard's whole contents follow from its upper. After each append
 * returns CC_OK the thread writes (shard, new upper, batch checksum) to a
 * pipe. The main thread writes a rollup every few milliseconds. The parent
 * SIGKILLs the child after a random delay, reads the acknowledgements,
 * reopens the directory and checks for every shard:
 *   - upper >= every acknowledged upper, and never below the last check's;
 *   - the acknowledged checksums match the parent's own batch builder;
 *   - the snapshot at upper - 1 equals the model of batches 0 .. upper - 1
 *     exactly, so every batch is all-or-none and nothing else is present;
 *   - the shard is usable: the parent appends the next batch.
 * Every ROUND iterations the directory starts afresh, so long runs stay linear.
 * Exits 1 with a message on the first violation; prints the seed
 * (COWCAT_TEST_SEED replays a run).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "persist/persist.h"
#include "testutil.h"

#define CRASH_SHARDS 3
#define NKEY         13
#define NSUB         4
#define NVAL         5

typedef struct ack {
    uint32_t shard;
    uint32_t pad;
    uint64_t upper;
    uint64_t sum;
} ack;

/* Batch b of shard sh: 1 + (b + sh) % NSUB updates "k<b % NKEY>-<j>" = "v<(b + j) % NVAL>". */
typedef struct batch {
    persist_update u[NSUB];
    char keys[NSUB][32], vals[NSUB][16];
    size_t n;
    uint64_t sum;
} batch;

static void
batch_build(batch *bt, unsigned sh, uint64_t b)
{
    bt->n = 1 + (size_t)((b + sh) % NSUB);
    bt->sum = 1469598103934665603ull ^ (b * 1099511628211ull) ^ sh;
    for (size_t j = 0; j < bt->n; j++) {
        snprintf(bt->keys[j], sizeof bt->keys[j], "k%u-%zu", (unsigned)(b % NKEY), j);
        snprintf(bt->vals[j], sizeof bt->vals[j], "v%u", (unsigned)((b + j) % NVAL));
        int64_t diff = (b + j) % 3 == 2 ? -1 : 1;
        bt->u[j] = (persist_update){
            {bt->keys[j], strlen(bt->keys[j])}, {bt->vals[j], strlen(bt->vals[j])}, b, diff};
        bt->sum = (bt->sum ^ (b % NKEY) * 131 ^ j * 7 ^ ((b + j) % NVAL) * 17 ^ (uint64_t)diff) *
                  1099511628211ull;
    }
}

static void
fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "crash_persist_shard: FAILED: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

/* ---- child ----------------------------------------------------------------------------- */

typedef struct worker {
    persist_shard *s;
    unsigned sh;
    int fd;
} worker;

static void *
work(void *arg)
{
    worker *wk = arg;
    for (;;) {
        uint64_t b = persist_shard_upper(wk->s);
        batch bt;
        batch_build(&bt, wk->sh, b);
        cc_err err;
        cc_code rc = persist_compare_and_append(wk->s, bt.u, bt.n, b, b + 1, NULL, &err);
        if (rc != CC_OK) {
            fprintf(stderr, "crash_persist_shard child: append failed: %s\n", err.msg);
            _exit(3);
        }
        ack a = {wk->sh, 0, b + 1, bt.sum};
        if (write(wk->fd, &a, sizeof a) != (ssize_t)sizeof a)
            _exit(4);
    }
    return NULL;
}

static void
child(const char *dir, int fd)
{
    persist_options o = {.backend = PERSIST_BACKEND_FILE,
                         .data_dir = dir,
                         .sync = PERSIST_SYNC_FSYNC,
                         .segment_bytes = 16384,
                         .rollup_min_bytes = 32768};
    persist_client *c;
    cc_err err;
    if (persist_client_open(&o, &c, &err) != CC_OK) {
        fprintf(stderr, "crash_persist_shard child: open: %s\n", err.msg);
        _exit(2);
    }
    worker wk[CRASH_SHARDS];
    pthread_t th[CRASH_SHARDS];
    for (unsigned i = 0; i < CRASH_SHARDS; i++) {
        char id[16];
        snprintf(id, sizeof id, "shard-%u", i);
        if (persist_shard_open(c, id, &wk[i].s, &err) != CC_OK) {
            fprintf(stderr, "crash_persist_shard child: shard: %s\n", err.msg);
            _exit(2);
        }
        wk[i].sh = i;
        wk[i].fd = fd;
        pthread_create(&th[i], NULL, work, &wk[i]);
    }
    for (;;) {
        struct timespec ts = {0, 3 * 1000 * 1000};
        nanosleep(&ts, NULL);
        if (persist_client_rollup(c, &err) != CC_OK) {
            fprintf(stderr, "crash_persist_shard child: rollup: %s\n", err.msg);
            _exit(5);
        }
    }
}

/* child() as tu_fork_and_kill's body. */
static void
run_child(void *dir, int fd)
{
    child(dir, fd);
}

/* ---- parent ---------------------------------------------------------------------------- */

/* The consolidated model of one shard up to `upper` (maintained incrementally). */
typedef struct shard_model {
    uint64_t upper;
    int64_t cnt[NKEY][NSUB][NVAL];
    uint64_t acked; /* the largest acknowledged upper so far */
} shard_model;

static void
model_advance(shard_model *m, unsigned sh, uint64_t to)
{
    for (; m->upper < to; m->upper++) {
        batch bt;
        batch_build(&bt, sh, m->upper);
        for (size_t j = 0; j < bt.n; j++)
            m->cnt[m->upper % NKEY][j][(m->upper + j) % NVAL] += bt.u[j].diff;
    }
}

typedef struct seen {
    int64_t cnt[NKEY][NSUB][NVAL];
    int bad;
} seen;

static int
collect(void *arg, pmap_bytes key, pmap_bytes value, int64_t diff)
{
    seen *s = arg;
    char k[32], v[16];
    unsigned ki, ji, vi;
    if (key.len >= sizeof k || value.len >= sizeof v) {
        s->bad = 1;
        return 1;
    }
    memcpy(k, key.ptr, key.len);
    k[key.len] = '\0';
    memcpy(v, value.ptr, value.len);
    v[value.len] = '\0';
    if (sscanf(k, "k%u-%u", &ki, &ji) != 2 || sscanf(v, "v%u", &vi) != 1 || ki >= NKEY ||
        ji >= NSUB || vi >= NVAL || s->cnt[ki][ji][vi] != 0) {
        s->bad = 1;
        return 1;
    }
    s->cnt[ki][ji][vi] = diff;
    return 0;
}

static void
check(const char *dir, shard_model *models, long it)
{
    persist_options o = {.backend = PERSIST_BACKEND_FILE, .data_dir = dir};
    persist_client *c;
    cc_err err;
    if (persist_client_open(&o, &c, &err) != CC_OK)
        fail("iteration %ld: reopen: %s", it, err.msg);
    for (unsigned i = 0; i < CRASH_SHARDS; i++) {
        shard_model *m = &models[i];
        char id[16];
        snprintf(id, sizeof id, "shard-%u", i);
        persist_shard *s;
        if (persist_shard_open(c, id, &s, &err) != CC_OK)
            fail("iteration %ld: open %s: %s", it, id, err.msg);
        uint64_t up = persist_shard_upper(s);
        if (up < m->acked)
            fail("iteration %ld: %s has upper %" PRIu64 " but %" PRIu64 " was acknowledged", it, id,
                 up, m->acked);
        if (up < m->upper)
            fail("iteration %ld: %s went back from %" PRIu64 " to %" PRIu64, it, id, m->upper, up);
        model_advance(m, i, up);
        if (up > 0) {
            seen got;
            memset(&got, 0, sizeof got);
            if (persist_snapshot(s, up - 1, collect, &got, &err) != CC_OK)
                fail("iteration %ld: snapshot of %s: %s", it, id, err.msg);
            if (got.bad)
                fail("iteration %ld: %s holds an unexpected entry", it, id);
            if (memcmp(got.cnt, m->cnt, sizeof got.cnt) != 0)
                fail("iteration %ld: %s at upper %" PRIu64 " differs from batches 0..%" PRIu64
                     " (a batch is half-present or foreign)",
                     it, id, up, up - 1);
        }
        batch bt;
        batch_build(&bt, i, up);
        if (persist_compare_and_append(s, bt.u, bt.n, up, up + 1, NULL, &err) != CC_OK)
            fail("iteration %ld: %s is not usable: %s", it, id, err.msg);
        model_advance(m, i, up + 1);
        if (m->acked < up + 1)
            m->acked = up + 1;
    }
    persist_client_close(c);
}

static void
remove_dir(const char *dir, const char *root)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", dir, root);
    if (system(cmd) != 0)
        fprintf(stderr, "crash_persist_shard: could not remove %s\n", root);
}

/* Iterations per data directory (see main). */
#define ROUND 200

int
main(int argc, char **argv)
{
    long iterations = 200;
    int keep = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--iterations") == 0 && i + 1 < argc)
            iterations = atol(argv[++i]);
        else if (strcmp(argv[i], "--keep") == 0)
            keep = 1;
        else {
            fprintf(stderr, "usage: %s [--iterations N] [--keep]\n", argv[0]);
            return 2;
        }
    }
    uint64_t seed = tu_seed("crash_persist_shard");
    tu_rng r;
    tu_rng_init(&r, seed);
    char root[64], dir[96];
    snprintf(root, sizeof root, "/tmp/cowcat-crash-shard-XXXXXX");
    if (mkdtemp(root) == NULL)
        fail("mkdtemp: %s", strerror(errno));
    snprintf(dir, sizeof dir, "%s/data", root);
    static shard_model models[CRASH_SHARDS];
    uint64_t acks = 0;
    for (long it = 0; it < iterations; it++) {
        /* A fresh data directory every ROUND iterations: verifying a shard
         * costs O(its contents), so one directory for thousands of
         * iterations would make the loop quadratic. */
        if (it > 0 && it % ROUND == 0) {
            char cmd[200];
            snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
            if (system(cmd) != 0)
                fail("iteration %ld: could not reset %s", it, dir);
            memset(models, 0, sizeof models);
        }
        int killed;
        int fd = tu_fork_and_kill(run_child, (void *)dir, (long)(1 + tu_rng_below(&r, 60)), &killed);
        if (fd < 0)
            fail("iteration %ld: pipe or fork: %s", it, strerror(errno));
        if (!killed)
            fail("iteration %ld: the child exited by itself", it);
        ack a;
        ssize_t got;
        while ((got = read(fd, &a, sizeof a)) == (ssize_t)sizeof a) {
            if (a.shard >= CRASH_SHARDS || a.upper == 0)
                fail("iteration %ld: garbled acknowledgement", it);
            batch bt;
            batch_build(&bt, a.shard, a.upper - 1);
            if (bt.sum != a.sum)
                fail("iteration %ld: shard %u batch %" PRIu64 ": checksum mismatch", it, a.shard,
                     a.upper - 1);
            if (models[a.shard].acked < a.upper)
                models[a.shard].acked = a.upper;
            acks++;
        }
        if (got != 0)
            fail("iteration %ld: partial acknowledgement read (%zd)", it, got);
        close(fd);
        check(dir, models, it);
    }
    fprintf(stderr,
            "crash_persist_shard: %ld iterations, %" PRIu64 " acknowledged appends, "
            "uppers %" PRIu64 "/%" PRIu64 "/%" PRIu64 ": ok\n",
            iterations, acks, models[0].upper, models[1].upper, models[2].upper);
    if (!keep)
        remove_dir(dir, root);
    else
        fprintf(stderr, "kept %s\n", root);
    return 0;
}
