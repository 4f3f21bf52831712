/*
 * tests/persist/crash_wal.c — kill -9 crash test for the file backend's log.
 *
 *   crash_persist_wal [--iterations N] [--keep]
 *
 * Each iteration forks a child that opens the same data directory (recovering
 * whatever the previous child left), replays it, and then appends a stream of
 * numbered units from CRASH_THREADS threads at once, writing each unit's id to
 * a pipe after its append returned CC_OK. Its main thread writes a rollup every
 * few milliseconds (under the child's own lock, as a shard layer would). The
 * parent SIGKILLs the child after a random few milliseconds, collects the
 * acknowledged ids, reopens the directory, replays it and checks:
 *   - every unit acknowledged, in this or any earlier iteration, is present
 *     exactly once, and so is every unit an earlier check saw;
 *   - every unit's records are intact (per-record checksum, record count, ids),
 *     so a unit is all-or-none;
 *   - no unit appears that was never attempted (id from a known iteration and
 *     thread, sequence below what that thread can have reached);
 *   - the units of one thread replay in the order it appended them.
 * Every fourth iteration uses durability NONE (a killed process's writes stay
 * in the page cache, so the same checks hold). Exits 1 with a message on the
 * first violation; prints the seed (COWCAT_TEST_SEED replays a run).
 */
#include <errno.h>
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
#include <xxhash.h>

#include "testutil.h"
#include "wal.h"

#define CRASH_THREADS 3
#define CRASH_MAX_SEQ 4000 /* a child thread stops after this many units */

/* id = iteration << 32 | thread << 24 | seq */
static uint64_t
make_id(uint64_t it, uint64_t t, uint64_t seq)
{
    return it << 32 | t << 24 | seq;
}

/*
 * Record r of unit id: [u64 id][u32 r][u32 nrecs][pad bytes][u64 XXH3 of all before].
 * nrecs = 1 + id % 3; pad = (id * 31 + r * 7) % 40.
 */
typedef struct crash_unit {
    persist_wal_rec recs[3];
    unsigned char bytes[3][64];
    size_t n;
} crash_unit;

static void
unit_build(crash_unit *u, uint64_t id)
{
    u->n = 1 + id % 3;
    for (size_t r = 0; r < u->n; r++) {
        unsigned char *b = u->bytes[r];
        size_t pad = (id * 31 + r * 7) % 40, len = 16 + pad;
        uint32_t rr = (uint32_t)r, nn = (uint32_t)u->n;
        memcpy(b, &id, 8);
        memcpy(b + 8, &rr, 4);
        memcpy(b + 12, &nn, 4);
        for (size_t i = 0; i < pad; i++)
            b[16 + i] = (unsigned char)(id + i * 13);
        uint64_t h = XXH3_64bits(b, len);
        memcpy(b + len, &h, 8);
        u->recs[r] = (persist_wal_rec){b, len + 8};
    }
}

/* Checks a replayed unit against unit_build; returns its id or fails with why. */
static int
unit_check(const persist_wal_rec *recs, size_t n, uint64_t *id, char *why, size_t whylen)
{
    if (n < 1 || n > 3 || recs[0].len < 8) {
        snprintf(why, whylen, "unit with %zu records", n);
        return -1;
    }
    memcpy(id, recs[0].data, 8);
    crash_unit want;
    unit_build(&want, *id);
    if (want.n != n) {
        snprintf(why, whylen, "unit %" PRIx64 " has %zu records, not %zu", *id, n, want.n);
        return -1;
    }
    for (size_t r = 0; r < n; r++)
        if (recs[r].len != want.recs[r].len ||
            memcmp(recs[r].data, want.recs[r].data, recs[r].len) != 0) {
            snprintf(why, whylen, "unit %" PRIx64 " record %zu is damaged", *id, r);
            return -1;
        }
    return 0;
}

/* A growable u64 array. */
typedef struct ids {
    uint64_t *v;
    size_t n, cap;
} ids;

static void
ids_push(ids *a, uint64_t x)
{
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 1024;
        a->v = realloc(a->v, a->cap * sizeof *a->v);
        if (a->v == NULL) {
            fprintf(stderr, "crash_persist_wal: out of memory\n");
            exit(2);
        }
    }
    a->v[a->n++] = x;
}

static int
u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Replay callback: the rollup body is a list of ids, each append unit is checked. */
typedef struct replay_state {
    ids got;
    char why[200];
} replay_state;

static cc_code
on_replay(void *arg, persist_wal_kind kind, const persist_wal_rec *recs, size_t n, cc_err *err)
{
    replay_state *s = arg;
    if (kind == PERSIST_WAL_ROLLUP) {
        if (recs[0].len % 8 != 0 || s->got.n != 0)
            return cc_err_set(err, CC_CORRUPT, "malformed rollup body (%zu bytes)", recs[0].len);
        for (size_t i = 0; i < recs[0].len / 8; i++) {
            uint64_t x;
            memcpy(&x, (const unsigned char *)recs[0].data + 8 * i, 8);
            ids_push(&s->got, x);
        }
        return CC_OK;
    }
    uint64_t id;
    if (unit_check(recs, n, &id, s->why, sizeof s->why) != 0)
        return cc_err_set(err, CC_CORRUPT, "%s", s->why);
    ids_push(&s->got, id);
    return CC_OK;
}

/* ---- the child ---------------------------------------------------------------------- */

typedef struct child {
    persist_wal *wal;
    uint64_t it;
    int ack_fd;
    pthread_rwlock_t rw; /* appends take it shared; rollup_begin + snapshot exclusively */
    pthread_mutex_t mu;  /* protects state */
    ids state;           /* ids acknowledged or replayed: what a rollup must contain */
} child;

typedef struct child_thread {
    child *c;
    uint64_t t;
} child_thread;

static void
child_die(const char *what, const cc_err *err)
{
    fprintf(stderr, "crash_persist_wal: child: %s: %s\n", what, err->msg);
    _exit(3);
}

static void *
child_appender(void *p)
{
    child_thread *ct = p;
    child *c = ct->c;
    for (uint64_t seq = 0; seq < CRASH_MAX_SEQ; seq++) {
        uint64_t id = make_id(c->it, ct->t, seq);
        crash_unit u;
        cc_err err;
        unit_build(&u, id);
        pthread_rwlock_rdlock(&c->rw);
        if (persist_wal_append(c->wal, u.recs, u.n, &err) != CC_OK)
            child_die("append", &err);
        pthread_mutex_lock(&c->mu);
        ids_push(&c->state, id);
        pthread_mutex_unlock(&c->mu);
        pthread_rwlock_unlock(&c->rw);
        if (write(c->ack_fd, &id, sizeof id) != (ssize_t)sizeof id)
            _exit(4);
    }
    return NULL;
}

static cc_code
write_ids(void *arg, persist_wal_sink *sink, cc_err *err)
{
    const ids *a = arg;
    return persist_wal_sink_write(sink, a->v, a->n * sizeof *a->v, err);
}

static void
child_main(const char *dir, uint64_t it, persist_durability d, int ack_fd)
{
    child c = {.it = it, .ack_fd = ack_fd};
    persist_wal_opts o = {.durability = d, .segment_bytes = 64 << 10};
    cc_err err;
    replay_state rs = {0};
    if (persist_wal_open(dir, &o, &c.wal, &err) != CC_OK)
        child_die("open", &err);
    if (persist_wal_replay(c.wal, on_replay, &rs, &err) != CC_OK)
        child_die("replay", &err);
    c.state = rs.got;
    pthread_rwlock_init(&c.rw, NULL);
    pthread_mutex_init(&c.mu, NULL);
    pthread_t th[CRASH_THREADS];
    child_thread cts[CRASH_THREADS];
    for (uint64_t t = 0; t < CRASH_THREADS; t++) {
        cts[t] = (child_thread){&c, t};
        pthread_create(&th[t], NULL, child_appender, &cts[t]);
    }
    for (;;) {
        struct timespec ts = {0, 2 * 1000 * 1000};
        nanosleep(&ts, NULL);
        uint64_t mark;
        ids snap = {0};
        pthread_rwlock_wrlock(&c.rw);
        if (persist_wal_rollup_begin(c.wal, &mark, &err) != CC_OK)
            child_die("rollup_begin", &err);
        pthread_mutex_lock(&c.mu);
        for (size_t i = 0; i < c.state.n; i++)
            ids_push(&snap, c.state.v[i]);
        pthread_mutex_unlock(&c.mu);
        pthread_rwlock_unlock(&c.rw);
        if (persist_wal_rollup_write(c.wal, mark, write_ids, &snap, &err) != CC_OK)
            child_die("rollup_write", &err);
        free(snap.v);
    }
}

/* child_main's arguments, for tu_fork_and_kill. */
typedef struct wal_child {
    const char *dir;
    uint64_t it;
    persist_durability d;
} wal_child;

static void
run_child(void *arg, int fd)
{
    const wal_child *c = arg;
    child_main(c->dir, c->it, c->d, fd);
}

/* ---- the parent ---------------------------------------------------------------------- */

static int fail(uint64_t it, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Reports a violation found in iteration it; returns 1. */
static int
fail(uint64_t it, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "crash_persist_wal: iteration %" PRIu64 ": ", it);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    return 1;
}

/* Binary search in a sorted array. */
static int
ids_has(const ids *a, uint64_t x)
{
    return a->n > 0 && bsearch(&x, a->v, a->n, sizeof x, u64_cmp) != NULL;
}

/* Replays dir and checks it against everything known; `known` becomes what was seen. */
static int
verify(const char *dir, uint64_t it, ids *known, const ids *acked)
{
    persist_wal *wal;
    cc_err err;
    replay_state rs = {0};
    if (persist_wal_open(dir, NULL, &wal, &err) != CC_OK) {
        fprintf(stderr, "crash_persist_wal: iteration %" PRIu64 ": open: %s\n", it, err.msg);
        return 1;
    }
    cc_code rc = persist_wal_replay(wal, on_replay, &rs, &err);
    persist_wal_close(wal);
    if (rc != CC_OK) {
        fprintf(stderr, "crash_persist_wal: iteration %" PRIu64 ": replay: %s\n", it, err.msg);
        return 1;
    }
    /* Per-thread order, and ids that were never attempted. */
    uint64_t next_seq[CRASH_THREADS] = {0}, cur_it = UINT64_MAX;
    for (size_t i = 0; i < rs.got.n; i++) {
        uint64_t id = rs.got.v[i], uit = id >> 32, t = id >> 24 & 0xff, seq = id & 0xffffff;
        if (uit > it || t >= CRASH_THREADS || seq >= CRASH_MAX_SEQ)
            return fail(it, "unit %" PRIx64 " was never attempted (%zu replayed)", id, rs.got.n);
        if (uit != cur_it) {
            memset(next_seq, 0, sizeof next_seq);
            cur_it = uit;
        }
        if (seq < next_seq[t])
            return fail(it, "unit %" PRIx64 " replayed out of order (expected seq >= %" PRIu64 ")",
                        id, next_seq[t]);
        next_seq[t] = seq + 1;
    }
    if (rs.got.n > 1)
        qsort(rs.got.v, rs.got.n, sizeof(uint64_t), u64_cmp);
    for (size_t i = 1; i < rs.got.n; i++)
        if (rs.got.v[i] == rs.got.v[i - 1])
            return fail(it, "unit %" PRIx64 " replayed twice", rs.got.v[i]);
    for (size_t i = 0; i < known->n; i++)
        if (!ids_has(&rs.got, known->v[i]))
            return fail(it, "unit %" PRIx64 " (seen by an earlier check) is lost", known->v[i]);
    for (size_t i = 0; i < acked->n; i++)
        if (!ids_has(&rs.got, acked->v[i]))
            return fail(it, "acknowledged unit %" PRIx64 " is lost", acked->v[i]);
    free(known->v);
    *known = rs.got;
    return 0;
}

int
main(int argc, char **argv)
{
    long iterations = 200;
    int keep = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--iterations") == 0 && i + 1 < argc)
            iterations = strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--keep") == 0)
            keep = 1;
        else {
            fprintf(stderr, "usage: %s [--iterations N] [--keep]\n", argv[0]);
            return 2;
        }
    }
    tu_rng rng;
    tu_rng_init(&rng, tu_seed("crash_persist_wal"));
    char root[64], dir[96];
    snprintf(root, sizeof root, "/tmp/cowcat-crash-XXXXXX");
    if (mkdtemp(root) == NULL) {
        perror("mkdtemp");
        return 2;
    }
    snprintf(dir, sizeof dir, "%s/data", root);
    ids known = {0};
    uint64_t total_acked = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int bad = 0;
    long done = 0;
    for (long it = 1; it <= iterations && !bad; it++) {
        done = it;
        persist_durability d = it % 4 == 0 ? PERSIST_DURABILITY_NONE : PERSIST_DURABILITY_FSYNC;
        wal_child wc = {dir, (uint64_t)it, d};
        int killed;
        int fd = tu_fork_and_kill(run_child, &wc, (long)(1 + tu_rng_below(&rng, 12)), &killed);
        if (fd < 0) {
            perror("pipe or fork");
            return 2;
        }
        ids acked = {0};
        uint64_t id;
        while (read(fd, &id, sizeof id) == (ssize_t)sizeof id)
            ids_push(&acked, id);
        close(fd);
        if (!killed) {
            fprintf(stderr,
                    "crash_persist_wal: iteration %ld: the child exited on its own instead of "
                    "being killed\n",
                    it);
            free(acked.v);
            bad = 1;
            break;
        }
        total_acked += acked.n;
        bad = verify(dir, (uint64_t)it, &known, &acked);
        free(acked.v);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("crash_persist_wal: %s after %ld iterations, %" PRIu64 " acknowledged units, %zu in the "
           "log, %.1f s\n",
           bad ? "FAILED" : "ok", done, total_acked, known.n, secs);
    free(known.v);
    if (!keep && !bad) {
        char cmd[160];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
        if (system(cmd) != 0)
            fprintf(stderr, "crash_persist_wal: could not remove %s\n", root);
    } else {
        fprintf(stderr, "crash_persist_wal: data directory kept in %s\n", dir);
    }
    return bad;
}
