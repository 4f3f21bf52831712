/*
 * tests/persist/test_batch.c — atomic multi-shard writes (persist_batch),
 * lazy shards and shard drops: one durable write per batch, all or nothing
 * on a mismatch, on a failed write or fdatasync and on a torn frame at every
 * cut point, drops that free memory and stay dropped across reopen and
 * rollup, lazy shards that cost no durable write, shard counts that stay
 * flat over create/drop cycles, and batches group-committed with other
 * appenders.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "persist/persist.h"
#include "shard_testutil.h"
#include "testutil.h"

#define BOTH(suite, name)                                                                          \
    Test(suite, name##_on_mem)                                                                     \
    {                                                                                              \
        name(PERSIST_BACKEND_MEM);                                                                 \
    }                                                                                              \
    Test(suite, name##_on_file)                                                                    \
    {                                                                                              \
        name(PERSIST_BACKEND_FILE);                                                                \
    }

static persist_stats
stats_of(persist_client *c)
{
    persist_stats st;
    persist_client_stats(c, &st);
    return st;
}

/* One update "k" = v at ts. */
static persist_update
upd(const char *k, const char *v, uint64_t ts)
{
    return (persist_update){B(k), B(v), ts, 1};
}

/* Commits b, asserting success, and frees it. */
static void
batch_ok(persist_batch *b)
{
    cc_err err;
    cc_code rc = persist_batch_commit(b, NULL, NULL, &err);
    cr_assert_eq(rc, CC_OK, "batch commit: %s", err.msg);
    persist_batch_free(b);
}

static persist_batch *
batch_new(persist_client *c)
{
    persist_batch *b;
    cr_assert_eq(persist_batch_new(c, &b, NULL), CC_OK);
    return b;
}

/* Asserts shard id holds exactly the model at every time below its upper. */
static void
expect_shard(pfix *f, const char *id, const model *m, uint64_t upper, const char *what)
{
    persist_shard *s = pfix_shard(f, id);
    cr_assert_eq(persist_shard_upper(s), upper, "%s: upper of %s is %llu, want %llu", what, id,
                 (unsigned long long)persist_shard_upper(s), (unsigned long long)upper);
    if (upper > 0)
        snap_expect(s, m, upper - 1, what);
}

/* ---- one record, several shards --------------------------------------------------- */

typedef struct heard {
    size_t calls;
    uint64_t lower, upper;
} heard;

static void
heard_cb(void *arg, const persist_update *u, size_t n, uint64_t lower, uint64_t upper)
{
    heard *h = arg;
    (void)u, (void)n;
    h->calls++;
    h->lower = lower;
    h->upper = upper;
}

static void
appends_to_several_shards_are_one_durable_write(persist_backend_kind kind)
{
    pfix f;
    pfix_open(&f, kind, NULL);
    persist_shard *a = pfix_shard(&f, "a"), *b = pfix_shard(&f, "b"), *c = pfix_shard(&f, "c");
    model ma = {0}, mb = {0}, mc = {0};
    persist_update u0 = upd("x", "1", 0);
    caa_ok(a, &u0, 1, 0, 3);
    model_add(&ma, &u0, 1);
    heard hb = {0};
    persist_listener *l;
    cr_assert_eq(persist_listen(b, 0, heard_cb, &hb, &l, NULL), CC_OK);

    persist_stats s0 = stats_of(f.c);
    persist_batch *pb = batch_new(f.c);
    persist_update ua[2] = {upd("y", "2", 3), upd("x", "1", 4)};
    ua[1].diff = -1;
    persist_update ub = upd("z", "3", 7);
    cr_assert_eq(persist_batch_append(pb, a, ua, 2, 3, 5, NULL), CC_OK);
    cr_assert_eq(persist_batch_append(pb, b, &ub, 1, 0, 8, NULL), CC_OK);
    cr_assert_eq(persist_batch_append(pb, c, NULL, 0, 0, 1, NULL), CC_OK);
    cr_assert_eq(persist_batch_since(pb, a, 4, NULL), CC_OK);
    cr_assert_eq(persist_batch_shards(pb), 3);
    batch_ok(pb);
    model_add(&ma, ua, 2);
    model_add(&mb, &ub, 1);
    persist_stats s1 = stats_of(f.c);
    cr_assert_eq(s1.appends - s0.appends, 3, "three compare_and_appends");
    if (kind == PERSIST_BACKEND_FILE)
        cr_assert_eq(s1.wal_groups - s0.wal_groups, 1, "one durable write for the batch");
    cr_assert_eq(hb.calls, 1, "the listener of b heard the batch's append");
    cr_assert(hb.lower == 0 && hb.upper == 8);
    persist_listen_stop(l);
    cr_assert_eq(persist_shard_since(a), 4);
    expect_shard(&f, "a", &ma, 5, "after the batch");
    expect_shard(&f, "b", &mb, 8, "after the batch");
    expect_shard(&f, "c", &mc, 1, "after the batch");
    pfix_reopen(&f);
    expect_shard(&f, "a", &ma, 5, "after reopen");
    expect_shard(&f, "b", &mb, 8, "after reopen");
    expect_shard(&f, "c", &mc, 1, "after reopen");
    cr_assert_eq(persist_shard_since(pfix_shard(&f, "a")), 4);
    cr_assert_eq(persist_client_rollup(f.c, NULL), CC_OK);
    pfix_reopen(&f);
    expect_shard(&f, "a", &ma, 5, "after a rollup");
    expect_shard(&f, "b", &mb, 8, "after a rollup");
    model_free(&ma);
    model_free(&mb);
    model_free(&mc);
    pfix_close(&f);
}
BOTH(persist_batch, appends_to_several_shards_are_one_durable_write)

static void
a_mismatch_or_a_bad_part_writes_nothing(persist_backend_kind kind)
{
    pfix f;
    pfix_open(&f, kind, NULL);
    persist_shard *a = pfix_shard(&f, "a"), *b = pfix_shard(&f, "b");
    persist_update u0 = upd("x", "1", 0);
    caa_ok(b, &u0, 1, 0, 2);
    persist_stats s0 = stats_of(f.c);
    cc_err err;
    persist_shard *bad = NULL;
    uint64_t cur = 0;
    persist_update ua = upd("a", "1", 0), ub = upd("b", "1", 1);

    persist_batch *pb = batch_new(f.c);
    cr_assert_eq(persist_batch_append(pb, a, &ua, 1, 0, 1, NULL), CC_OK);
    cr_assert_eq(persist_batch_append(pb, b, &ub, 1, 1, 2, NULL), CC_OK); /* b is at 2 */
    cr_assert_eq(persist_batch_commit(pb, &bad, &cur, &err), CC_UPPER_MISMATCH);
    cr_assert_eq(bad, b);
    cr_assert_eq(cur, 2);
    cr_assert(strstr(err.msg, "upper mismatch on shard \"b\"") != NULL, "%s", err.msg);
    persist_batch_free(pb);

    /* Refused when added: a range or timestamp that does not fit, a diff of 0. */
    pb = batch_new(f.c);
    cr_assert_eq(persist_batch_append(pb, a, &ua, 1, 1, 1, &err), CC_INVALID);
    persist_update late = upd("a", "1", 5);
    cr_assert_eq(persist_batch_append(pb, a, &late, 1, 0, 1, &err), CC_INVALID);
    persist_update zero = upd("a", "1", 0);
    zero.diff = 0;
    cr_assert_eq(persist_batch_append(pb, a, &zero, 1, 0, 1, &err), CC_INVALID);
    /* Refused at commit: two appends to one shard, a since beyond the upper. */
    cr_assert_eq(persist_batch_append(pb, a, &ua, 1, 0, 1, NULL), CC_OK);
    cr_assert_eq(persist_batch_append(pb, a, NULL, 0, 0, 3, NULL), CC_OK);
    cr_assert_eq(persist_batch_commit(pb, NULL, NULL, &err), CC_INVALID);
    cr_assert(strstr(err.msg, "twice") != NULL, "%s", err.msg);
    persist_batch_free(pb);
    pb = batch_new(f.c);
    cr_assert_eq(persist_batch_append(pb, a, &ua, 1, 0, 1, NULL), CC_OK);
    cr_assert_eq(persist_batch_since(pb, b, 3, NULL), CC_OK);
    cr_assert_eq(persist_batch_commit(pb, NULL, NULL, &err), CC_INVALID);
    cr_assert(strstr(err.msg, "beyond the upper") != NULL, "%s", err.msg);
    persist_batch_free(pb);

    persist_stats s1 = stats_of(f.c);
    cr_assert_eq(s1.appends, s0.appends, "nothing applied");
    cr_assert_eq(s1.wal_groups, s0.wal_groups, "nothing written");
    cr_assert_eq(persist_shard_upper(a), 0);
    cr_assert_eq(persist_shard_upper(b), 2);
    cr_assert_eq(persist_shard_since(b), 0);
    /* An empty batch is no write at all. */
    pb = batch_new(f.c);
    batch_ok(pb);
    cr_assert_eq(stats_of(f.c).wal_groups, s0.wal_groups);
    pfix_close(&f);
}
BOTH(persist_batch, a_mismatch_or_a_bad_part_writes_nothing)

/* ---- failures and torn frames ---------------------------------------------------------- */

/* A batch over shards a, b, c: key "k<i>" in each, [i, i + 1). */
static cc_code
batch_step(pfix *f, uint64_t i, cc_err *err)
{
    persist_batch *pb = batch_new(f->c);
    char k[16];
    snprintf(k, sizeof k, "k%llu", (unsigned long long)i);
    persist_update u = {B(k), B("v"), i, 1};
    const char *ids[3] = {"a", "b", "c"};
    cc_code rc = CC_OK;
    for (int s = 0; s < 3 && rc == CC_OK; s++) {
        persist_shard *sh;
        rc = persist_shard_open_lazy(f->c, ids[s], &sh, err);
        if (rc == CC_OK)
            rc = persist_batch_append(pb, sh, &u, 1, i, i + 1, err);
    }
    if (rc == CC_OK)
        rc = persist_batch_commit(pb, NULL, NULL, err);
    persist_batch_free(pb);
    return rc;
}

/* Asserts a, b and c all hold steps [0, n) and nothing else. */
static void
expect_steps(pfix *f, uint64_t n, const char *what)
{
    const char *ids[3] = {"a", "b", "c"};
    for (int s = 0; s < 3; s++) {
        persist_shard *sh = persist_shard_find(f->c, ids[s]);
        uint64_t up = sh != NULL ? persist_shard_upper(sh) : 0;
        cr_assert_eq(up, n, "%s: shard %s at %llu, want %llu (a batch applied in part?)", what,
                     ids[s], (unsigned long long)up, (unsigned long long)n);
        if (n > 0) {
            cr_assert_eq(trace_count(sh, f->c), n, "%s: shard %s", what, ids[s]);
        }
    }
}

Test(persist_batch, a_failed_write_or_fdatasync_changes_no_shard)
{
    persist_io_faults fi;
    persist_io_faults_init(&fi, persist_io_default());
    persist_options o = {.io = &fi.io};
    pfix f;
    pfix_open(&f, PERSIST_BACKEND_FILE, &o);
    cc_err err;
    cr_assert_eq(batch_step(&f, 0, &err), CC_OK, "%s", err.msg);
    struct {
        persist_io_op op;
        persist_io_fault_kind kind;
    } faults[] = {{PERSIST_IO_PWRITE, PERSIST_FAULT_ERRNO},
                  {PERSIST_IO_PWRITE, PERSIST_FAULT_SHORT},
                  {PERSIST_IO_FDATASYNC, PERSIST_FAULT_ERRNO}};
    for (size_t i = 0; i < sizeof faults / sizeof *faults; i++) {
        cr_assert_eq(persist_io_faults_arm(&fi, faults[i].op, 1, 1, faults[i].kind, EIO), 0);
        cr_assert_eq(batch_step(&f, 1, &err), CC_IO, "fault %zu", i);
        persist_io_faults_disarm(&fi);
        expect_steps(&f, 1, "after a failed batch");
    }
    cr_assert_eq(batch_step(&f, 1, &err), CC_OK, "%s", err.msg);
    pfix_reopen(&f);
    expect_steps(&f, 2, "reopened: the failed batches left nothing behind");
    pfix_close(&f);
    persist_io_faults_fini(&fi);
}

Test(persist_batch, a_torn_batch_frame_replays_as_nothing_at_every_cut)
{
    pfix f;
    pfix_open(&f, PERSIST_BACKEND_FILE, NULL);
    cc_err err;
    for (uint64_t i = 0; i < 3; i++)
        cr_assert_eq(batch_step(&f, i, &err), CC_OK, "%s", err.msg);
    char path[256];
    snprintf(path, sizeof path, "%s", seg_path(&f.t, 1));
    long before = file_len(path);
    cr_assert_eq(batch_step(&f, 3, &err), CC_OK, "%s", err.msg);
    persist_client_close(f.c);
    f.c = NULL;
    long len;
    unsigned char *img = slurp(path, &len);
    cr_assert_gt(len, before + 16, "the last batch is one frame after byte %ld", before);
    /* Every cut inside the last frame: the batch is gone whole, the rest intact. */
    for (long cut = before; cut < len; cut += (cut - before < 40 || len - cut < 40) ? 1 : 7) {
        spit(path, img, cut);
        cr_assert_eq(persist_client_open(&f.o, &f.c, &err), CC_OK, "cut %ld: %s", cut, err.msg);
        char what[64];
        snprintf(what, sizeof what, "cut at %ld of %ld", cut, len);
        expect_steps(&f, 3, what);
        persist_client_close(f.c);
        f.c = NULL;
    }
    spit(path, img, len);
    cr_assert_eq(persist_client_open(&f.o, &f.c, &err), CC_OK, "%s", err.msg);
    expect_steps(&f, 4, "whole frame");
    free(img);
    pfix_close(&f);
}

Test(persist_batch, a_torn_frame_after_a_failed_repair_replays_as_nothing)
{
    /* A short write whose truncation also fails leaves a torn frame on disk. */
    persist_io_faults fi;
    persist_io_faults_init(&fi, persist_io_default());
    persist_options o = {.io = &fi.io};
    pfix f;
    pfix_open(&f, PERSIST_BACKEND_FILE, &o);
    cc_err err;
    cr_assert_eq(batch_step(&f, 0, &err), CC_OK, "%s", err.msg);
    cr_assert_eq(persist_io_faults_arm(&fi, PERSIST_IO_PWRITE, 1, 1, PERSIST_FAULT_SHORT, 0), 0);
    cr_assert_eq(
        persist_io_faults_arm(&fi, PERSIST_IO_FTRUNCATE, 1, UINT64_MAX, PERSIST_FAULT_ERRNO, EIO), 0);
    cr_assert_eq(batch_step(&f, 1, &err), CC_IO);
    cr_assert_eq(batch_step(&f, 1, &err), CC_IO, "the log is unusable until reopened");
    persist_io_faults_disarm(&fi);
    expect_steps(&f, 1, "in memory after the failure");
    pfix_reopen(&f);
    expect_steps(&f, 1, "reopened over the torn frame");
    cr_assert_eq(batch_step(&f, 1, &err), CC_OK, "%s", err.msg);
    pfix_reopen(&f);
    expect_steps(&f, 2, "the next batch");
    pfix_close(&f);
    persist_io_faults_fini(&fi);
}

/* ---- drops and lazy shards ----------------------------------------------------------- */

static void
a_dropped_shard_is_gone_for_good(persist_backend_kind kind)
{
    pfix f;
    pfix_open(&f, kind, NULL);
    persist_shard *keep = pfix_shard(&f, "keep"), *gone = pfix_shard(&f, "gone");
    persist_update u = upd("x", "1", 0);
    caa_ok(gone, &u, 1, 0, 5);
    caa_ok(keep, &u, 1, 0, 1);
    uint64_t shards = stats_of(f.c).shards;
    persist_batch *pb = batch_new(f.c);
    persist_update k2 = upd("y", "2", 1);
    cr_assert_eq(persist_batch_append(pb, keep, &k2, 1, 1, 2, NULL), CC_OK);
    cr_assert_eq(persist_batch_drop(pb, gone, NULL), CC_OK);
    batch_ok(pb);
    cr_assert_eq(stats_of(f.c).shards, shards - 1);
    cr_assert_null(persist_shard_find(f.c, "gone"));
    cr_assert_eq(persist_shard_upper(keep), 2);
    pfix_reopen(&f);
    cr_assert_null(persist_shard_find(f.c, "gone"), "dropped after replay");
    cr_assert_eq(persist_shard_upper(pfix_shard(&f, "keep")), 2);
    cr_assert_eq(persist_client_rollup(f.c, NULL), CC_OK);
    pfix_reopen(&f);
    cr_assert_null(persist_shard_find(f.c, "gone"), "not in the rollup");
    /* The id names a new, empty shard. */
    persist_shard *again = pfix_shard(&f, "gone");
    cr_assert_eq(persist_shard_upper(again), 0);
    cr_assert_eq(trace_count(again, f.c), 0);
    pfix_close(&f);
}
BOTH(persist_batch, a_dropped_shard_is_gone_for_good)

Test(persist_batch, a_lazy_shard_costs_no_durable_write_until_written)
{
    pfix f;
    pfix_open(&f, PERSIST_BACKEND_FILE, NULL);
    persist_stats s0 = stats_of(f.c);
    persist_shard *s;
    cr_assert_eq(persist_shard_open_lazy(f.c, "lazy", &s, NULL), CC_OK);
    cr_assert_eq(persist_shard_find(f.c, "lazy"), s);
    persist_shard *s2;
    cr_assert_eq(persist_shard_open_lazy(f.c, "lazy", &s2, NULL), CC_OK);
    cr_assert_eq(s2, s, "the same handle");
    cr_assert_eq(stats_of(f.c).wal_groups, s0.wal_groups, "no durable write");
    cr_assert_eq(persist_shard_open_lazy(f.c, "", &s2, NULL), CC_INVALID);
    pfix_reopen(&f);
    cr_assert_null(persist_shard_find(f.c, "lazy"), "never written: not in the log");
    cr_assert_eq(persist_shard_open_lazy(f.c, "lazy", &s, NULL), CC_OK);
    persist_update u = upd("x", "1", 0);
    caa_ok(s, &u, 1, 0, 1);
    pfix_reopen(&f);
    s = persist_shard_find(f.c, "lazy");
    cr_assert_not_null(s, "written: recovered");
    cr_assert_eq(persist_shard_upper(s), 1);
    pfix_close(&f);
}

Test(persist_batch, shards_and_memory_stay_flat_over_create_and_drop_cycles)
{
    pfix f;
    pfix_open(&f, PERSIST_BACKEND_FILE, NULL);
    persist_shard *log = pfix_shard(&f, "log");
    uint64_t upper = 0, shards0 = 0;
    for (int i = 0; i < 3000; i++) {
        char id[32];
        snprintf(id, sizeof id, "d%d", i);
        persist_shard *d;
        cr_assert_eq(persist_shard_open_lazy(f.c, id, &d, NULL), CC_OK);
        persist_update u = upd("row", "x", 0);
        persist_batch *pb = batch_new(f.c);
        cr_assert_eq(persist_batch_append(pb, d, &u, 1, 0, 1, NULL), CC_OK);
        cr_assert_eq(persist_batch_append(pb, log, NULL, 0, upper, upper + 1, NULL), CC_OK);
        cr_assert_eq(persist_batch_since(pb, log, upper, NULL), CC_OK);
        batch_ok(pb);
        upper++;
        pb = batch_new(f.c);
        cr_assert_eq(persist_batch_drop(pb, d, NULL), CC_OK);
        cr_assert_eq(persist_batch_append(pb, log, NULL, 0, upper, upper + 1, NULL), CC_OK);
        cr_assert_eq(persist_batch_since(pb, log, upper, NULL), CC_OK);
        batch_ok(pb);
        upper++;
        if (i == 0)
            shards0 = stats_of(f.c).shards;
        cr_assert_eq(stats_of(f.c).shards, shards0, "cycle %d", i);
    }
    pmap_domain_stats ds0, ds1;
    pmap_domain_stats_get(persist_client_domain(f.c), &ds0);
    for (int i = 3000; i < 4000; i++) {
        char id[32];
        snprintf(id, sizeof id, "d%d", i);
        persist_shard *d;
        cr_assert_eq(persist_shard_open_lazy(f.c, id, &d, NULL), CC_OK);
        persist_update u = upd("row", "x", 0);
        persist_batch *pb = batch_new(f.c);
        cr_assert_eq(persist_batch_append(pb, d, &u, 1, 0, 1, NULL), CC_OK);
        cr_assert_eq(persist_batch_drop(pb, d, NULL), CC_OK);
        batch_ok(pb);
    }
    pmap_domain_stats_get(persist_client_domain(f.c), &ds1);
    cr_assert_leq(ds1.live_nodes, ds0.live_nodes + 8, "pmap nodes grew from %llu to %llu",
                  (unsigned long long)ds0.live_nodes, (unsigned long long)ds1.live_nodes);
    cr_assert_leq(ds1.live_keys, ds0.live_keys + 8);
    pfix_reopen(&f);
    cr_assert_eq(stats_of(f.c).shards, 1, "only the log shard is left after replay");
    cr_assert_eq(persist_client_rollup(f.c, NULL), CC_OK);
    pfix_reopen(&f);
    cr_assert_eq(stats_of(f.c).shards, 1, "and after a rollup");
    cr_assert_eq(persist_shard_upper(pfix_shard(&f, "log")), upper);
    pfix_close(&f);
}

/* ---- group commit ------------------------------------------------------------------- */

/* An I/O hook whose fdatasync takes a while, so that appenders pile up. */
static int
slow_fdatasync(void *ctx, int fd)
{
    (void)ctx;
    struct timespec ts = {0, 5 * 1000 * 1000};
    nanosleep(&ts, NULL);
    return fdatasync(fd);
}

typedef struct racer {
    pfix *f;
    int id;
    pthread_barrier_t *bar;
} racer;

#define RACERS   4
#define BATCHES  20

static void *
race(void *arg)
{
    racer *r = arg;
    char a[16], b[16];
    snprintf(a, sizeof a, "r%d.a", r->id);
    snprintf(b, sizeof b, "r%d.b", r->id);
    persist_shard *sa, *sb;
    cr_assert_eq(persist_shard_open_lazy(r->f->c, a, &sa, NULL), CC_OK);
    cr_assert_eq(persist_shard_open_lazy(r->f->c, b, &sb, NULL), CC_OK);
    pthread_barrier_wait(r->bar);
    for (uint64_t i = 0; i < BATCHES; i++) {
        persist_update u = {B("k"), B(a), i, 1};
        if (i % 2 == 0) {
            persist_batch *pb = batch_new(r->f->c);
            cr_assert_eq(persist_batch_append(pb, sa, &u, 1, i, i + 1, NULL), CC_OK);
            cr_assert_eq(persist_batch_append(pb, sb, &u, 1, i, i + 1, NULL), CC_OK);
            batch_ok(pb);
        } else {
            caa_ok(sa, &u, 1, i, i + 1);
            caa_ok(sb, &u, 1, i, i + 1);
        }
    }
    return NULL;
}

Test(persist_batch, batches_group_commit_with_other_appenders)
{
    persist_io slow = *persist_io_default();
    slow.fdatasync = slow_fdatasync;
    persist_options o = {.io = &slow};
    pfix f;
    pfix_open(&f, PERSIST_BACKEND_FILE, &o);
    persist_stats s0 = stats_of(f.c);
    pthread_barrier_t bar;
    pthread_barrier_init(&bar, NULL, RACERS);
    pthread_t th[RACERS];
    racer rs[RACERS];
    for (int i = 0; i < RACERS; i++) {
        rs[i] = (racer){&f, i, &bar};
        pthread_create(&th[i], NULL, race, &rs[i]);
    }
    for (int i = 0; i < RACERS; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&bar);
    persist_stats s1 = stats_of(f.c);
    uint64_t units = RACERS * (BATCHES / 2 + BATCHES); /* a batch is one unit, an append one */
    uint64_t groups = s1.wal_groups - s0.wal_groups;
    cr_assert_eq(s1.appends - s0.appends, RACERS * BATCHES * 2);
    cr_assert_lt(groups, units, "%llu frames for %llu units: nothing was group-committed",
                 (unsigned long long)groups, (unsigned long long)units);
    pfix_reopen(&f);
    for (int i = 0; i < RACERS; i++) {
        char a[16];
        snprintf(a, sizeof a, "r%d.b", i);
        cr_assert_eq(persist_shard_upper(pfix_shard(&f, a)), BATCHES);
    }
    pfix_close(&f);
}
