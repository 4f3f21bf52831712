/*
 * tests/persist/crash_batch.c — kill -9 crash test for atomic multi-shard
 * writes (persist_batch) on the file backend.
 *
 *   crash_persist_batch [--iterations N] [--keep]
 *
 * Each iteration forks a child that opens a persist client (file backend,
 * FSYNC, small segments and automatic rollups) on the same data directory,
 * recovering whatever the previous child left, and commits numbered steps,
 * each ONE batch: step b appends "b<b>" to the shard "log" at [b, b + 1)
 * (with log's since moved to b) and to every shard s<i> with i in S(b) (a
 * pure function of b) at that shard's upper; every fifth step also writes a
 * lazily made shard "tmp<b>", which the next step drops. After a batch
 * commits the child writes b + 1 to a pipe. A second thread appends to a
 * shard "solo" alone (so batches are group-committed with plain appends),
 * and the main thread writes a rollup every few milliseconds. The parent
 * SIGKILLs the child after a random delay, reopens the directory and, with
 * L = log's upper, checks:
 *   - L >= every acknowledged step, and never went back;
 *   - every s<i> holds exactly { "b<b>" : b < L, i in S(b) } and its upper is
 *     their count: every step is in all of its shards or in none;
 *   - tmp<b> exists (holding one row) only when L == b + 1, i.e. when its
 *     drop is not yet durable, and its create and drop came with their steps;
 *   - "solo" holds exactly rows 0 .. upper - 1.
 * Every ROUND iterations the directory starts afresh. Exits 1 with a message
 * on the first violation; prints the seed (COWCAT_TEST_SEED replays a run).
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

#define NSHARDS 4
#define ROUND   100

static void
fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "crash_persist_batch: FAILED: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

/* Is shard s<i> part of step b? */
static int
in_step(uint64_t b, unsigned i)
{
    return (int)(((b * 2654435761u) >> (i * 3 + 5)) & 1);
}

/* ---- child ----------------------------------------------------------------------------- */

static void
child_fail(const char *what, const cc_err *err)
{
    fprintf(stderr, "crash_persist_batch child: %s: %s\n", what, err ? err->msg : "");
    _exit(3);
}

static persist_shard *
lazy(persist_client *c, const char *id)
{
    persist_shard *s;
    cc_err err;
    if (persist_shard_open_lazy(c, id, &s, &err) != CC_OK)
        child_fail("open", &err);
    return s;
}

typedef struct solo_arg {
    persist_client *c;
} solo_arg;

static void *
solo_work(void *arg)
{
    persist_shard *s = lazy(((solo_arg *)arg)->c, "solo");
    for (;;) {
        uint64_t up = persist_shard_upper(s);
        char k[32];
        snprintf(k, sizeof k, "r%" PRIu64, up);
        persist_update u = {{k, strlen(k)}, {"x", 1}, up, 1};
        cc_err err;
        if (persist_compare_and_append(s, &u, 1, up, up + 1, NULL, &err) != CC_OK)
            child_fail("solo append", &err);
    }
    return NULL;
}

typedef struct step_arg {
    persist_client *c;
    int fd;
} step_arg;

static void *
step_work(void *arg)
{
    step_arg *sa = arg;
    persist_client *c = sa->c;
    persist_shard *log = lazy(c, "log"), *sh[NSHARDS];
    for (unsigned i = 0; i < NSHARDS; i++) {
        char id[16];
        snprintf(id, sizeof id, "s%u", i);
        sh[i] = lazy(c, id);
    }
    for (;;) {
        uint64_t b = persist_shard_upper(log);
        char k[32], tmpid[32];
        snprintf(k, sizeof k, "b%" PRIu64, b);
        persist_update u = {{k, strlen(k)}, {"v", 1}, b, 1};
        persist_update us[NSHARDS];
        persist_batch *pb;
        cc_err err;
        if (persist_batch_new(c, &pb, &err) != CC_OK)
            child_fail("batch", &err);
        if (persist_batch_append(pb, log, &u, 1, b, b + 1, &err) != CC_OK ||
            (b > 0 && persist_batch_since(pb, log, b, &err) != CC_OK))
            child_fail("batch log", &err);
        for (unsigned i = 0; i < NSHARDS; i++) {
            if (!in_step(b, i))
                continue;
            uint64_t up = persist_shard_upper(sh[i]);
            us[i] = (persist_update){{k, strlen(k)}, {"v", 1}, up, 1};
            if (persist_batch_append(pb, sh[i], &us[i], 1, up, up + 1, &err) != CC_OK)
                child_fail("batch shard", &err);
        }
        persist_update row = {{"row", 3}, {"x", 1}, 0, 1};
        if (b % 5 == 0) {
            snprintf(tmpid, sizeof tmpid, "tmp%" PRIu64, b);
            if (persist_batch_append(pb, lazy(c, tmpid), &row, 1, 0, 1, &err) != CC_OK)
                child_fail("batch tmp", &err);
        } else if (b % 5 == 1) {
            snprintf(tmpid, sizeof tmpid, "tmp%" PRIu64, b - 1);
            persist_shard *t = persist_shard_find(c, tmpid);
            if (t == NULL) {
                fprintf(stderr, "crash_persist_batch child: %s was not recovered\n", tmpid);
                _exit(6);
            }
            if (persist_batch_drop(pb, t, &err) != CC_OK)
                child_fail("batch drop", &err);
        }
        if (persist_batch_commit(pb, NULL, NULL, &err) != CC_OK)
            child_fail("batch commit", &err);
        persist_batch_free(pb);
        uint64_t ack = b + 1;
        if (write(sa->fd, &ack, sizeof ack) != (ssize_t)sizeof ack)
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
        fprintf(stderr, "crash_persist_batch child: open: %s\n", err.msg);
        _exit(2);
    }
    pthread_t t1, t2;
    solo_arg so = {c};
    step_arg sa = {c, fd};
    pthread_create(&t1, NULL, step_work, &sa);
    pthread_create(&t2, NULL, solo_work, &so);
    for (;;) {
        struct timespec ts = {0, 3 * 1000 * 1000};
        nanosleep(&ts, NULL);
        if (persist_client_rollup(c, &err) != CC_OK) {
            fprintf(stderr, "crash_persist_batch child: rollup: %s\n", err.msg);
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

typedef struct keys {
    uint64_t *b; /* step numbers found, or row numbers for "solo" */
    size_t n, cap;
    int bad;
    char prefix;
} keys;

static int
collect(void *arg, pmap_bytes key, pmap_bytes value, int64_t diff)
{
    keys *ks = arg;
    char k[40];
    uint64_t b;
    (void)value;
    if (key.len == 0 || key.len >= sizeof k || diff != 1) {
        ks->bad = 1;
        return 1;
    }
    memcpy(k, key.ptr, key.len);
    k[key.len] = '\0';
    char fmt[8] = {ks->prefix, '%', 'l', 'u', '\0'};
    unsigned long v;
    if (sscanf(k, fmt, &v) != 1) {
        ks->bad = 1;
        return 1;
    }
    b = v;
    if (ks->n == ks->cap) {
        ks->cap = ks->cap ? ks->cap * 2 : 64;
        ks->b = realloc(ks->b, ks->cap * sizeof *ks->b);
        if (ks->b == NULL)
            fail("out of memory");
    }
    ks->b[ks->n++] = b;
    return 0;
}

static int
u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* The sorted row numbers of shard s (prefix 'b' or 'r'). */
static void
read_keys(persist_shard *s, char prefix, keys *ks, long it)
{
    memset(ks, 0, sizeof *ks);
    ks->prefix = prefix;
    uint64_t up = persist_shard_upper(s);
    cc_err err;
    if (up > 0 && persist_snapshot(s, up - 1, collect, ks, &err) != CC_OK)
        fail("iteration %ld: snapshot of %s: %s", it, persist_shard_id(s), err.msg);
    if (ks->bad)
        fail("iteration %ld: %s holds an unexpected entry", it, persist_shard_id(s));
    qsort(ks->b, ks->n, sizeof *ks->b, u64_cmp);
}

static void
check(const char *dir, uint64_t acked, uint64_t *last, long it)
{
    persist_options o = {.backend = PERSIST_BACKEND_FILE, .data_dir = dir};
    persist_client *c;
    cc_err err;
    if (persist_client_open(&o, &c, &err) != CC_OK)
        fail("iteration %ld: reopen: %s", it, err.msg);
    persist_shard *log = persist_shard_find(c, "log");
    uint64_t L = log != NULL ? persist_shard_upper(log) : 0;
    if (L < acked)
        fail("iteration %ld: log at %" PRIu64 " but step %" PRIu64 " was acknowledged", it, L,
             acked);
    if (L < *last)
        fail("iteration %ld: log went back from %" PRIu64 " to %" PRIu64, it, *last, L);
    *last = L;
    for (unsigned i = 0; i < NSHARDS; i++) {
        char id[16];
        snprintf(id, sizeof id, "s%u", i);
        persist_shard *s = persist_shard_find(c, id);
        keys ks = {0};
        if (s != NULL)
            read_keys(s, 'b', &ks, it);
        size_t k = 0;
        for (uint64_t b = 0; b < L; b++) {
            if (!in_step(b, i))
                continue;
            if (k >= ks.n || ks.b[k] != b)
                fail("iteration %ld: %s lacks step %" PRIu64 " of %" PRIu64
                     " (a batch applied in part)",
                     it, id, b, L);
            k++;
        }
        if (k != ks.n)
            fail("iteration %ld: %s holds step %" PRIu64 " beyond log's %" PRIu64
                 " (a batch applied in part)",
                 it, id, ks.b[k], L);
        if (s != NULL && persist_shard_upper(s) != ks.n)
            fail("iteration %ld: %s has upper %" PRIu64 " for %zu steps", it, id,
                 persist_shard_upper(s), ks.n);
        free(ks.b);
    }
    for (uint64_t b = L > 12 ? L - 12 : 0; b < L + 2; b++) {
        if (b % 5 != 0)
            continue;
        char id[32];
        snprintf(id, sizeof id, "tmp%" PRIu64, b);
        persist_shard *t = persist_shard_find(c, id);
        int want = L == b + 1;
        if ((t != NULL) != want)
            fail("iteration %ld: %s %s at log %" PRIu64, it, id,
                 t != NULL ? "exists" : "is missing", L);
        if (t != NULL && persist_shard_upper(t) != 1)
            fail("iteration %ld: %s has upper %" PRIu64, it, id, persist_shard_upper(t));
    }
    persist_shard *solo = persist_shard_find(c, "solo");
    if (solo != NULL) {
        keys ks;
        read_keys(solo, 'r', &ks, it);
        for (size_t k = 0; k < ks.n; k++)
            if (ks.b[k] != k)
                fail("iteration %ld: solo row %zu is %" PRIu64, it, k, ks.b[k]);
        if (ks.n != persist_shard_upper(solo))
            fail("iteration %ld: solo has %zu rows at upper %" PRIu64, it, ks.n,
                 persist_shard_upper(solo));
        free(ks.b);
    }
    persist_client_close(c);
}

int
main(int argc, char **argv)
{
    long iterations = 100;
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
    uint64_t seed = tu_seed("crash_persist_batch");
    tu_rng r;
    tu_rng_init(&r, seed);
    char root[64], dir[96];
    snprintf(root, sizeof root, "/tmp/cowcat-crash-batch-XXXXXX");
    if (mkdtemp(root) == NULL)
        fail("mkdtemp: %s", strerror(errno));
    snprintf(dir, sizeof dir, "%s/data", root);
    uint64_t acked = 0, last = 0, acks = 0;
    for (long it = 0; it < iterations; it++) {
        if (it > 0 && it % ROUND == 0) {
            char cmd[200];
            snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
            if (system(cmd) != 0)
                fail("iteration %ld: could not reset %s", it, dir);
            acked = last = 0;
        }
        int killed;
        int fd = tu_fork_and_kill(run_child, (void *)dir, (long)(1 + tu_rng_below(&r, 60)), &killed);
        if (fd < 0)
            fail("iteration %ld: pipe or fork: %s", it, strerror(errno));
        if (!killed)
            fail("iteration %ld: the child exited by itself", it);
        uint64_t a;
        ssize_t got;
        while ((got = read(fd, &a, sizeof a)) == (ssize_t)sizeof a) {
            if (a > acked)
                acked = a;
            acks++;
        }
        if (got != 0)
            fail("iteration %ld: partial acknowledgement read (%zd)", it, got);
        close(fd);
        check(dir, acked, &last, it);
    }
    fprintf(stderr, "crash_persist_batch: %ld iterations, %" PRIu64 " acknowledged batches: ok\n",
            iterations, acks);
    char cmd[200];
    if (!keep) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
        if (system(cmd) != 0)
            fprintf(stderr, "crash_persist_batch: could not remove %s\n", root);
    } else {
        fprintf(stderr, "kept %s\n", root);
    }
    return 0;
}
