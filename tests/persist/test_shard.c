/*
 * tests/persist/test_shard.c — persist shards through the public API:
 * compare_and_append semantics, concurrent writers, group commit across
 * shards, consolidated snapshots, trace views, listeners and since. Each
 * behavioural test runs on both backends (BOTH below); the file backend works
 * in its own mkdtemp directory and removes it. Reopen, rollups, injected I/O
 * faults and the model-based property test are in test_shard_durable.c.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "persist/persist.h"
#include "shard_testutil.h"
#include "testutil.h"

/* Declares one test per backend that runs name(kind). */
#define BOTH(suite, name)                                                                          \
    Test(suite, name##_on_mem)                                                                     \
    {                                                                                              \
        name(PERSIST_BACKEND_MEM);                                                                 \
    }                                                                                              \
    Test(suite, name##_on_file)                                                                    \
    {                                                                                              \
        name(PERSIST_BACKEND_FILE);                                                                \
    }

static persist_update
U(const char *k, const char *v, uint64_t ts, int64_t diff)
{
    return (persist_update){B(k), B(v), ts, diff};
}

/* ---- compare_and_append -------------------------------------------------------- */

static void
caa_semantics(persist_backend_kind kind)
{
    pfix f;
    pfix_open(&f, kind, NULL);
    persist_shard *s = pfix_shard(&f, "t");
    cr_assert_eq(persist_shard_upper(s), 0);
    cr_assert_eq(persist_shard_since(s), 0);
    model m = {0};
    persist_update a[2] = {U("a", "1", 0, 1), U("b", "2", 2, 3)};
    caa_ok(s, a, 2, 0, 5);
    model_add(&m, a, 2);

    cc_err err;
    uint64_t cur = 0;
    persist_update b = U("c", "3", 3, 1);
    cr_assert_eq(persist_compare_and_append(s, &b, 1, 3, 9, &cur, &err), CC_UPPER_MISMATCH);
    cr_assert_eq(cur, 5, "the mismatch reports the current upper");
    cr_assert(strstr(err.msg, "expected 3, current 5") != NULL, "%s", err.msg);
    cr_assert_eq(persist_compare_and_append(s, &b, 1, 3, 9, NULL, &err), CC_UPPER_MISMATCH);

    /* ts outside [expected, new): below and at new_upper. */
    persist_update lo = U("x", "", 4, 1), hi = U("x", "", 9, 1);
    cr_assert_eq(persist_compare_and_append(s, &lo, 1, 5, 9, &cur, &err), CC_INVALID);
    cr_assert(strstr(err.msg, "outside [5, 9)") != NULL, "%s", err.msg);
    cr_assert_eq(persist_compare_and_append(s, &hi, 1, 5, 9, &cur, &err), CC_INVALID);
    /* INVALID is checked before the upper: a wrong upper with a bad ts is INVALID. */
    cr_assert_eq(persist_compare_and_append(s, &lo, 1, 7, 9, &cur, &err), CC_INVALID);
    cr_assert_eq(persist_compare_and_append(s, NULL, 0, 5, 5, &cur, &err), CC_INVALID);
    cr_assert_eq(persist_compare_and_append(s, NULL, 0, 5, 4, &cur, &err), CC_INVALID);
    persist_update z = U("z", "", 6, 0);
    cr_assert_eq(persist_compare_and_append(s, &z, 1, 5, 9, &cur, &err), CC_INVALID);
    cr_assert(strstr(err.msg, "diff 0") != NULL, "%s", err.msg);
    cr_assert_eq(persist_shard_upper(s), 5, "no failed call moved the upper");

    /* An empty batch only advances the upper. */
    persist_stats st0, st1;
    persist_client_stats(f.c, &st0);
    caa_ok(s, NULL, 0, 5, 8);
    persist_client_stats(f.c, &st1);
    cr_assert_eq(st1.appends, st0.appends + 1);
    for (uint64_t t = 0; t < 8; t++)
        snap_expect(s, &m, t, "after rejected appends");
    pfix_reopen(&f);
    s = pfix_shard(&f, "t");
    cr_assert_eq(persist_shard_upper(s), 8, "%s: upper after reopen", pfix_name(&f));
    for (uint64_t t = 0; t < 8; t++)
        snap_expect(s, &m, t, "after reopen: nothing of the rejected appends was written");
    model_free(&m);
    pfix_close(&f);
}
BOTH(persist_shard, caa_semantics)

static void
shard_ids_are_validated_and_reopen_returns_the_same_handle(persist_backend_kind kind)
{
    pfix f;
    pfix_open(&f, kind, NULL);
    cc_err err;
    persist_shard *s;
    cr_assert_eq(persist_shard_open(f.c, "", &s, &err), CC_INVALID);
    char longid[300];
    memset(longid, 'x', sizeof longid - 1);
    longid[sizeof longid - 1] = '\0';
    cr_assert_eq(persist_shard_open(f.c, longid, &s, &err), CC_INVALID);
    longid[255] = '\0';
    persist_shard *a = pfix_shard(&f, longid);
    cr_assert_eq(pfix_shard(&f, longid), a);
    persist_stats st;
    persist_client_stats(f.c, &st);
    cr_assert_eq(st.shards, 1);
    pfix_close(&f);
}
BOTH(persist_shard, shard_ids_are_validated_and_reopen_returns_the_same_handle)

/* ---- concurrent writers on one shard ----------------------------------------------- */

#define RACERS 4
#define ROUNDS 60

typedef struct racer {
    persist_shard *s;
    pthread_barrier_t *bar;
    int id;
    int wins[ROUNDS];      /* 1 if this racer won round r */
    uint64_t seen[ROUNDS]; /* the current upper reported on a loss */
} racer;

static void *
race(void *arg)
{
    racer *r = arg;
    for (int round = 0; round < ROUNDS; round++) {
        pthread_barrier_wait(r->bar);
        char k[32], v[32];
        snprintf(k, sizeof k, "r%03d", round);
        snprintf(v, sizeof v, "w%d", r->id);
        persist_update u = {B(k), B(v), (uint64_t)round * 2, 1};
        uint64_t cur = 0;
        cc_err err;
        cc_code rc = persist_compare_and_append(r->s, &u, 1, (uint64_t)round * 2,
                                                (uint64_t)round * 2 + 2, &cur, &err);
        r->wins[round] = rc == CC_OK;
        r->seen[round] = rc == CC_UPPER_MISMATCH ? cur : 0;
        if (rc != CC_OK && rc != CC_UPPER_MISMATCH)
            r->wins[round] = -1;
        pthread_barrier_wait(r->bar);
    }
    return NULL;
}

static void
concurrent_writers_one_wins_per_round(persist_backend_kind kind)
{
    pfix f;
    pfix_open(&f, kind, NULL);
    persist_shard *s = pfix_shard(&f, "race");
    pthread_barrier_t bar;
    pthread_barrier_init(&bar, NULL, RACERS);
    racer r[RACERS];
    pthread_t th[RACERS];
    for (int i = 0; i < RACERS; i++) {
        r[i] = (racer){.s = s, .bar = &bar, .id = i};
        pthread_create(&th[i], NULL, race, &r[i]);
    }
    for (int i = 0; i < RACERS; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&bar);
    model m = {0};
    for (int round = 0; round < ROUNDS; round++) {
        int winners = 0;
        for (int i = 0; i < RACERS; i++) {
            cr_assert_neq(r[i].wins[round], -1, "round %d: an error other than a mismatch", round);
            if (r[i].wins[round] == 1) {
                winners++;
                char k[32], v[32];
                snprintf(k, sizeof k, "r%03d", round);
                snprintf(v, sizeof v, "w%d", i);
                persist_update u = {B(k), B(v), (uint64_t)round * 2, 1};
                model_add(&m, &u, 1);
            } else {
                cr_assert_eq(r[i].seen[round], (uint64_t)round * 2 + 2,
                             "round %d: a loser gets the winner's upper", round);
            }
        }
        cr_assert_eq(winners, 1, "round %d: %d winners", round, winners);
    }
    cr_assert_eq(persist_shard_upper(s), ROUNDS * 2);
    snap_expect(s, &m, ROUNDS * 2 - 1, "the winners' updates");
    pfix_reopen(&f);
    snap_expect(pfix_shard(&f, "race"), &m, ROUNDS * 2 - 1, "the winners' updates after reopen");
    model_free(&m);
    pfix_close(&f);
}
BOTH(persist_shard, concurrent_writers_one_wins_per_round)

/* ---- group commit across shards ------------------------------------------------------ */

#define GC_THREADS 8
#define GC_APPENDS 40

typedef struct gc_arg {
    persist_shard *s;
    int fails;
} gc_arg;

static void *
gc_run(void *arg)
{
    gc_arg *g = arg;
    for (uint64_t i = 0; i < GC_APPENDS; i++) {
        char k[32];
        snprintf(k, sizeof k, "k%03llu", (unsigned long long)i);
        persist_update u = {B(k), B(persist_shard_id(g->s)), i, 1};
        if (persist_compare_and_append(g->s, &u, 1, i, i + 1, NULL, NULL) != CC_OK)
            g->fails++;
    }
    return NULL;
}

Test(persist_shard, concurrent_appends_to_different_shards_share_durable_writes)
{
    pfix f;
    pfix_open(&f, PERSIST_BACKEND_FILE, NULL);
    gc_arg g[GC_THREADS];
    pthread_t th[GC_THREADS];
    for (int i = 0; i < GC_THREADS; i++) {
        char id[16];
        snprintf(id, sizeof id, "s%d", i);
        g[i] = (gc_arg){pfix_shard(&f, id), 0};
    }
    persist_stats st0, st1;
    persist_client_stats(f.c, &st0);
    for (int i = 0; i < GC_THREADS; i++)
        pthread_create(&th[i], NULL, gc_run, &g[i]);
    for (int i = 0; i < GC_THREADS; i++)
        pthread_join(th[i], NULL);
    persist_client_stats(f.c, &st1);
    uint64_t appends = st1.appends - st0.appends, groups = st1.wal_groups - st0.wal_groups;
    for (int i = 0; i < GC_THREADS; i++)
        cr_assert_eq(g[i].fails, 0);
    cr_assert_eq(appends, GC_THREADS * GC_APPENDS);
    cr_assert_lt(groups, appends, "group commit: %llu groups for %llu appends",
                 (unsigned long long)groups, (unsigned long long)appends);
    cr_assert_leq(st1.wal_fsyncs - st0.wal_fsyncs, groups);
    pfix_reopen(&f);
    for (int i = 0; i < GC_THREADS; i++) {
        char id[16];
        snprintf(id, sizeof id, "s%d", i);
        persist_shard *s = pfix_shard(&f, id);
        cr_assert_eq(persist_shard_upper(s), GC_APPENDS);
        model m = {0};
        for (uint64_t k = 0; k < GC_APPENDS; k++) {
            char key[32];
            snprintf(key, sizeof key, "k%03llu", (unsigned long long)k);
            persist_update u = {B(key), B(id), k, 1};
            model_add(&m, &u, 1);
        }
        snap_expect(s, &m, GC_APPENDS - 1, id);
        model_free(&m);
    }
    pfix_close(&f);
}

/* ---- snapshots --------------------------------------------------------------------- */

static void
snapshots_consolidate_at_every_as_of(persist_backend_kind kind)
{
    pfix f;
    pfix_open(&f, kind, NULL);
    persist_shard *s = pfix_shard(&f, "snap");
    model m = {0};
    /* Keys with 0x00 bytes, an empty key and empty values, inserts and retractions. */
    static const char raw[][4] = {"a\0b", "a\0\0", "a", "", "\0", "ab"};
    static const size_t rawlen[] = {3, 3, 1, 0, 1, 2};
    uint64_t upper = 0;
    for (int step = 0; step < 12; step++) {
        persist_update u[8];
        size_t n = 0;
        for (size_t i = 0; i < 6; i++) {
            if ((step + (int)i) % 3 == 0)
                continue;
            pmap_bytes v = (step + i) % 4 == 0 ? (pmap_bytes){"", 0} : (pmap_bytes){"v\0w", 3};
            int64_t diff = (step % 4 == 3) ? -1 : (int64_t)(i + 1);
            u[n++] = (persist_update){{raw[i], rawlen[i]}, v, upper + (i % 2), diff};
        }
        caa_ok(s, u, n, upper, upper + 2);
        model_add(&m, u, n);
        upper += 2;
    }
    /* An insert/retract pair inside one append and across appends vanishes. */
    persist_update pair[2] = {U("gone", "x", upper, 5), U("gone", "x", upper + 1, -5)};
    caa_ok(s, pair, 2, upper, upper + 2);
    model_add(&m, pair, 2);
    upper += 2;
    for (int round = 0; round < 2; round++) {
        for (uint64_t t = 0; t < upper; t++)
            snap_expect(s, &m, t, round ? "after reopen" : "before reopen");
        kvs got;
        cc_err err;
        cr_assert_eq(snap(s, upper, &got, &err), CC_INVALID, "as_of == upper is incomplete");
        cr_assert(strstr(err.msg, "outside [since 0, upper") != NULL, "%s", err.msg);
        kvs_free(&got);
        cr_assert_eq(snap(s, UINT64_MAX, &got, &err), CC_INVALID);
        kvs_free(&got);
        cr_assert_eq(snap(s, upper - 1, &got, &err), CC_OK);
        for (size_t i = 0; i < got.n; i++)
            cr_assert(!(got.a[i].kl == 4 && memcmp(got.a[i].k, "gone", 4) == 0),
                      "a retracted pair is not in the snapshot");
        kvs_free(&got);
        pfix_reopen(&f);
        s = pfix_shard(&f, "snap");
    }
    model_free(&m);
    pfix_close(&f);
}
BOTH(persist_shard, snapshots_consolidate_at_every_as_of)

static int
stop_after_two(void *arg, pmap_bytes key, pmap_bytes value, int64_t diff)
{
    (void)key, (void)value, (void)diff;
    return ++*(int *)arg == 2;
}

static void
a_snapshot_callback_can_stop_early(persist_backend_kind kind)
{
    pfix f;
    pfix_open(&f, kind, NULL);
    persist_shard *s = pfix_shard(&f, "s");
    persist_update u[3] = {U("a", "", 0, 1), U("b", "", 0, 1), U("c", "", 0, 1)};
    caa_ok(s, u, 3, 0, 1);
    int calls = 0;
    cr_assert_eq(persist_snapshot(s, 0, stop_after_two, &calls, NULL), CC_OK);
    cr_assert_eq(calls, 2);
    pfix_close(&f);
}
BOTH(persist_shard, a_snapshot_callback_can_stop_early)

/* ---- trace views ----------------------------------------------------------------------- */

static void
trace_views_are_stable_and_decode(persist_backend_kind kind)
{
    pfix f;
    pfix_open(&f, kind, NULL);
    persist_shard *s = pfix_shard(&f, "tr");
    persist_update u[3] = {{{"k\0z", 3}, B("v1"), 0, 2}, U("a", "", 0, 1), U("m", "mv", 0, -1)};
    caa_ok(s, u, 3, 0, 1);
    pmap_omap view;
    uint64_t vu;
    persist_shard_trace(s, &view, &vu);
    cr_assert_eq(vu, 1);
    cr_assert_eq(pmap_omap_count(&view), 3);
    uint64_t fp = pmap_omap_fp(&view).lo;
    /* Later appends (including a retraction of a viewed entry) leave the view alone. */
    persist_update later[2] = {U("a", "", 1, -1), U("b", "x", 1, 1)};
    caa_ok(s, later, 2, 1, 2);
    cr_assert_eq(pmap_omap_count(&view), 3);
    cr_assert_eq(pmap_omap_fp(&view).lo, fp);
    cr_assert_eq(trace_count(s, f.c), 3, "a retracted, b added");

    /* The view in (key, value) order, decoded: a, k\0z, m. */
    pmap_omap_cursor cur;
    cr_assert(pmap_omap_seek_first(&cur, &view));
    pmap_bytes enc, k, v;
    void *d;
    const char *wantk[] = {"a", "k\0z", "m"};
    const size_t wantkl[] = {1, 3, 1};
    const char *wantv[] = {"", "v1", "mv"};
    const int64_t wantd[] = {1, 2, -1};
    uint8_t buf[64];
    for (int i = 0; i < 3; i++) {
        cr_assert(pmap_omap_cursor_get(&cur, &enc, &d));
        cr_assert(enc.len <= sizeof buf);
        cr_assert(persist_trace_decode_copy(enc, buf, &k, &v), "entry %d decodes", i);
        cr_assert_eq(k.len, wantkl[i], "entry %d key length", i);
        cr_assert(memcmp(k.ptr, wantk[i], k.len) == 0, "entry %d key", i);
        cr_assert_eq(v.len, strlen(wantv[i]));
        cr_assert(memcmp(v.ptr, wantv[i], v.len) == 0);
        cr_assert_eq((int64_t)(intptr_t)d, wantd[i]);
        /* Without a buffer: exact for keys without 0x00, escaped otherwise. */
        cr_assert(persist_trace_decode(enc, &k, &v));
        cr_assert_eq(k.len, wantkl[i] + (i == 1), "entry %d: raw key keeps the escape", i);
        cr_assert_eq(v.len, strlen(wantv[i]));
        pmap_omap_cursor_next(&cur);
    }
    cr_assert(!persist_trace_decode((pmap_bytes){"ab", 2}, &k, &v), "no terminator");
    cr_assert(!persist_trace_decode((pmap_bytes){"a\0\x01", 3}, &k, &v), "bad escape");
    cr_assert(!persist_trace_decode_copy((pmap_bytes){"a\0", 2}, buf, &k, &v));
    persist_trace_release(f.c, &view);
    pfix_close(&f);
}
BOTH(persist_shard, trace_views_are_stable_and_decode)

/* ---- listeners ------------------------------------------------------------------------- */

typedef struct heard {
    uint64_t lower[64], upper[64];
    size_t n[64];
    model m;
    int calls;
} heard;

static void
on_append(void *arg, const persist_update *u, size_t n, uint64_t lower, uint64_t upper)
{
    heard *h = arg;
    cr_assert_lt(h->calls, 64);
    h->lower[h->calls] = lower;
    h->upper[h->calls] = upper;
    h->n[h->calls] = n;
    for (size_t i = 0; i < n; i++)
        cr_assert(u[i].ts >= lower && u[i].ts < upper, "update ts inside the delivered range");
    model_add(&h->m, u, n);
    h->calls++;
}

/* Appends [2i, 2i + 2) with one update at 2i + 1 for i < 5, then an empty [10, 12). */
static void
listen_fill(persist_shard *s, model *m)
{
    for (uint64_t i = 0; i < 5; i++) {
        char k[8];
        snprintf(k, sizeof k, "k%llu", (unsigned long long)i);
        persist_update u = {B(k), B("v"), 2 * i + 1, 1};
        caa_ok(s, &u, 1, 2 * i, 2 * i + 2);
        model_add(m, &u, 1);
    }
    caa_ok(s, NULL, 0, 10, 12);
}

static void
listen_replays_then_follows(persist_backend_kind kind, bool reopen, bool rollup)
{
    pfix f;
    pfix_open(&f, kind, NULL);
    persist_shard *s = pfix_shard(&f, "l");
    model m = {0};
    listen_fill(s, &m);
    if (rollup)
        cr_assert_eq(persist_client_rollup(f.c, NULL), CC_OK);
    if (reopen) {
        pfix_reopen(&f);
        s = pfix_shard(&f, "l");
    }
    heard h = {0};
    persist_listener *l;
    cc_err err;
    cr_assert_eq(persist_listen(s, 13, on_append, &h, &l, &err), CC_INVALID, "from > upper");
    cr_assert_eq(persist_listen(s, 5, on_append, &h, &l, &err), CC_OK, "%s", err.msg);
    /* Replay from 5: [5, 6) (trimmed), [6, 8), [8, 10), then the empty [10, 12). */
    cr_assert_eq(h.calls, 4, "replayed %d appends", h.calls);
    uint64_t expect = 5;
    for (int i = 0; i < h.calls; i++) {
        cr_assert_eq(h.lower[i], expect, "call %d: lower %llu, want %llu (frontiers contiguous)", i,
                     (unsigned long long)h.lower[i], (unsigned long long)expect);
        expect = h.upper[i];
    }
    cr_assert_eq(expect, 12, "the replay reaches the upper");
    cr_assert_eq(h.n[3], 0, "the empty append is delivered");
    cr_assert_eq(h.m.n, 3, "k2..k4");
    /* Live appends follow in order. */
    persist_update u = U("live", "", 12, 1);
    caa_ok(s, &u, 1, 12, 14);
    caa_ok(s, NULL, 0, 14, 15);
    cr_assert_eq(h.calls, 6);
    cr_assert_eq(h.lower[4], 12);
    cr_assert_eq(h.upper[4], 14);
    cr_assert_eq(h.n[4], 1);
    cr_assert_eq(h.lower[5], 14);
    cr_assert_eq(h.n[5], 0);
    persist_listen_stop(l);
    caa_ok(s, NULL, 0, 15, 16);
    cr_assert_eq(h.calls, 6, "no calls after stop");
    model_free(&h.m);
    model_free(&m);
    pfix_close(&f);
}

static void
listen_from_an_old_frontier(persist_backend_kind kind)
{
    listen_replays_then_follows(kind, false, false);
}
BOTH(persist_shard, listen_from_an_old_frontier)

Test(persist_shard, listen_after_reopen_replays_the_same_appends)
{
    listen_replays_then_follows(PERSIST_BACKEND_FILE, true, false);
}

Test(persist_shard, listen_after_a_rollup_and_reopen_replays_the_same_appends)
{
    listen_replays_then_follows(PERSIST_BACKEND_FILE, true, true);
}

/* ---- since ------------------------------------------------------------------------- */

static void
since_downgrades_are_durable_and_compact(persist_backend_kind kind)
{
    pfix f;
    pfix_open(&f, kind, NULL);
    persist_shard *s = pfix_shard(&f, "since");
    model m = {0};
    for (uint64_t t = 0; t < 20; t++) {
        char k[8];
        snprintf(k, sizeof k, "k%llu", (unsigned long long)(t % 7));
        persist_update u = {B(k), B("v"), t, t % 3 == 2 ? -1 : 1};
        caa_ok(s, &u, 1, t, t + 1);
        model_add(&m, &u, 1);
    }
    cc_err err;
    cr_assert_eq(persist_downgrade_since(s, 21, &err), CC_INVALID, "since beyond the upper");
    cr_assert(strstr(err.msg, "beyond the upper 20") != NULL, "%s", err.msg);
    cr_assert_eq(persist_downgrade_since(s, 8, &err), CC_OK, "%s", err.msg);
    cr_assert_eq(persist_downgrade_since(s, 3, &err), CC_OK, "a smaller since is a no-op");
    cr_assert_eq(persist_shard_since(s), 8);
    for (int round = 0; round < 3; round++) {
        kvs got;
        for (uint64_t t = 0; t < 8; t++) {
            cr_assert_eq(snap(s, t, &got, &err), CC_INVALID, "round %d: as_of %llu < since", round,
                         (unsigned long long)t);
            kvs_free(&got);
        }
        for (uint64_t t = 8; t < 20; t++)
            snap_expect(s, &m, t, round == 0 ? "after compaction" : "after reopen");
        heard h = {0};
        persist_listener *l;
        cr_assert_eq(persist_listen(s, 7, on_append, &h, &l, &err), CC_INVALID);
        cr_assert_eq(persist_listen(s, 8, on_append, &h, &l, &err), CC_OK);
        cr_assert_eq(h.calls, 12, "round %d: appends [8, 20) are retained", round);
        persist_listen_stop(l);
        model_free(&h.m);
        if (round == 1)
            cr_assert_eq(persist_client_rollup(f.c, NULL), CC_OK);
        pfix_reopen(&f);
        s = pfix_shard(&f, "since");
        cr_assert_eq(persist_shard_since(s), 8, "since survives reopen");
        cr_assert_eq(persist_shard_upper(s), 20);
    }
    /* since == upper is allowed; then no snapshot is valid until the upper moves. */
    cr_assert_eq(persist_downgrade_since(s, 20, &err), CC_OK);
    kvs got;
    cr_assert_eq(snap(s, 19, &got, &err), CC_INVALID);
    kvs_free(&got);
    caa_ok(s, NULL, 0, 20, 21);
    snap_expect(s, &m, 20, "at since == old upper");
    model_free(&m);
    pfix_close(&f);
}
BOTH(persist_shard, since_downgrades_are_durable_and_compact)

/* ---- a large append to an empty trace (built in one pass, not n inserts) --------- */

/*
 * 20,000 updates in one append to an empty shard — above the size from which
 * persist bulk-builds the trace instead of inserting entry by entry — in
 * sorted order, then shuffled with duplicate keys whose diffs sum to zero or
 * not: the snapshot must equal the model's consolidation, before and after a
 * reopen (file) and a rollup, and later small appends must fold in normally.
 */
static void
large_append_to_an_empty_trace(persist_backend_kind kind)
{
    uint64_t seed = tu_seed("large_append_to_an_empty_trace");
    tu_rng rng;
    tu_rng_init(&rng, seed);
    enum { N = 20000 };
    for (int shuffled = 0; shuffled < 2; shuffled++) {
        pfix f;
        pfix_open(&f, kind, NULL);
        persist_shard *s = pfix_shard(&f, "bulk");
        static char keys[N][16], vals[N][8];
        persist_update *u = calloc(N, sizeof *u);
        cr_assert_not_null(u);
        for (size_t i = 0; i < N; i++) {
            /* shuffled: 1/4 of the keys repeat an earlier one, half of those cancelling it */
            size_t k = shuffled && i > 0 && tu_rng_chance(&rng, 25) ? tu_rng_below(&rng, i) : i;
            snprintf(keys[i], sizeof keys[i], "k%07zu", k);
            snprintf(vals[i], sizeof vals[i], "v%zu", k % 7);
            int64_t diff = k != i && tu_rng_chance(&rng, 50) ? -u[k].diff : 1 + (int64_t)(i % 3);
            u[i] = (persist_update){B(keys[i]), B(vals[i]), 0, diff};
        }
        for (size_t i = N - 1; shuffled && i > 0; i--) { /* Fisher–Yates */
            size_t j = tu_rng_below(&rng, i + 1);
            persist_update t = u[i];
            u[i] = u[j];
            u[j] = t;
        }
        model m = {0};
        model_add(&m, u, N);
        caa_ok(s, u, N, 0, 1);
        snap_expect(s, &m, 0, shuffled ? "one shuffled append" : "one sorted append");
        persist_update more[] = {{B("k0000001"), B("v1"), 1, 1}, {B("zz"), B("new"), 1, 1}};
        caa_ok(s, more, 2, 1, 2);
        model_add(&m, more, 2);
        snap_expect(s, &m, 1, "a small append after it");
        cr_assert_eq(persist_client_rollup(f.c, NULL), CC_OK);
        pfix_reopen(&f);
        s = pfix_shard(&f, "bulk");
        snap_expect(s, &m, 1, "after a rollup and a reopen");
        model_free(&m);
        free(u);
        pfix_close(&f);
    }
}
BOTH(persist_shard, large_append_to_an_empty_trace)
