/*
 * tests/durable/test_durable_follow.c — fencing between writers, read-only
 * followers, and scale (many items, then single commits still cost one
 * append).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "dur_testutil.h"
#include "testutil.h"

static cc_code
create_item(dur_catalog *cat, const char *name, uint64_t *id_out, cc_err *err)
{
    dur_txn *t;
    uint64_t id;
    uint32_t oid;
    cc_code rc = dur_txn_begin(cat, &t, err);
    if (rc != CC_OK)
        return rc;
    if ((rc = dur_txn_allocate_id(t, DUR_ALLOC_USER_ITEM, &id, err)) == CC_OK &&
        (rc = dur_txn_allocate_oid(t, &oid, err)) == CC_OK)
        rc = item_put(t, true, id, 1, name, COWCAT__CATALOG__ITEM_KIND__ITEM_KIND_TABLE, oid, err);
    if (rc != CC_OK) {
        dur_txn_abort(t);
        return rc;
    }
    if (id_out != NULL)
        *id_out = id;
    return dur_txn_commit(t, NULL, err);
}

static void
fencing(persist_backend_kind kind)
{
    pfix f;
    dfix_open(&f, kind);
    dur_catalog *w1 = dopen(f.c, DUR_MODE_WRITABLE, 1);
    cc_err err;
    cr_assert_eq(create_item(w1, "before", NULL, &err), CC_OK, "%s", err.msg);
    dur_catalog *w2 = dopen(f.c, DUR_MODE_WRITABLE, 1);
    cr_assert_eq(dur_fence_token(w2).epoch, dur_fence_token(w1).epoch + 1);
    uint64_t upper = dur_upper(w2);

    cr_assert_eq(create_item(w1, "lost", NULL, &err), CC_FENCED, "got: %s", err.msg);
    cr_assert(dur_is_fenced(w1));
    dur_txn *t;
    cr_assert_eq(dur_txn_begin(w1, &t, &err), CC_FENCED, "every later call fails");
    uint64_t id;
    cr_assert_eq(dur_allocate_id(w1, DUR_ALLOC_USER_ITEM, &id, &err), CC_FENCED);
    cr_assert_eq(persist_shard_upper(pfix_shard(&f, "catalog")), upper, "the fenced writer wrote");

    uint64_t after_id;
    cr_assert_eq(create_item(w2, "after", &after_id, &err), CC_OK, "%s", err.msg);
    cr_assert_str_eq(item_name(dur_snapshot_acquire(w2), after_id), "after");
    cr_assert_null(item_name(dur_snapshot_acquire(w2), after_id + 1));

    /* an older deploy generation cannot take over */
    dur_options o = {.mode = DUR_MODE_WRITABLE};
    dur_catalog *old;
    cr_assert_eq(dur_open(f.c, &o, &old, &err), CC_FENCED, "%s", err.msg);
    /* a newer one can, and fences w2 */
    dur_catalog *w3 = dopen(f.c, DUR_MODE_WRITABLE, 2);
    cr_assert_eq(create_item(w2, "x", NULL, &err), CC_FENCED);
    cr_assert_eq(create_item(w3, "y", NULL, &err), CC_OK, "%s", err.msg);
    dur_close(w1);
    dur_close(w2);
    dur_close(w3);
    pfix_close(&f);
}

Test(dur_fence, a_second_writer_fences_the_first_mem)
{
    fencing(PERSIST_BACKEND_MEM);
}

Test(dur_fence, a_second_writer_fences_the_first_file)
{
    fencing(PERSIST_BACKEND_FILE);
}

typedef struct follow_log {
    uint64_t uppers[512];
    size_t n;
    size_t changes;
} follow_log;

static void
on_change(void *arg, const dur_changes *ch)
{
    follow_log *l = arg;
    if (l->n < 512)
        l->uppers[l->n++] = ch->upper;
    l->changes += ch->n;
}

Test(dur_follow, a_read_only_follower_sees_every_commit_in_order)
{
    uint64_t seed = tu_seed("dur_follow");
    tu_rng r;
    tu_rng_init(&r, seed);
    pfix f;
    dfix_open(&f, PERSIST_BACKEND_MEM);
    dur_catalog *w = dopen(f.c, DUR_MODE_WRITABLE, 1);
    follow_log log = {{0}, 0, 0};
    dur_options o = {.mode = DUR_MODE_READ_ONLY, .on_change = on_change, .on_change_arg = &log};
    dur_catalog *ro;
    cc_err err;
    cr_assert_eq(dur_open(f.c, &o, &ro, &err), CC_OK, "%s", err.msg);
    cr_assert_eq(dur_txn_begin(ro, &(dur_txn *){0}, &err), CC_INVALID);
    cr_assert_str_eq(cc_err_sqlstate(&err), "25006");
    uint64_t start = dur_upper(w);
    uint64_t next_id = 1;
    for (int step = 0; step < 200; step++) {
        dur_txn *t = dbegin(w);
        int ops = 1 + (int)tu_rng_below(&r, 4);
        for (int i = 0; i < ops; i++) {
            uint64_t id = 1 + tu_rng_below(&r, next_id);
            char name[32];
            snprintf(name, sizeof name, "n%llu_%d", (unsigned long long)tu_rng_next(&r) % 1000,
                     step);
            cc_code rc;
            if (id == next_id)
                rc = item_put(t, true, next_id++, 1, name,
                              COWCAT__CATALOG__ITEM_KIND__ITEM_KIND_TABLE, 0, &err);
            else if (tu_rng_chance(&r, 30))
                rc = item_del(t, id, &err);
            else
                rc = item_put(t, false, id, 1, name, COWCAT__CATALOG__ITEM_KIND__ITEM_KIND_VIEW, 0,
                              &err);
            cr_assert(rc == CC_OK || rc == CC_NOT_FOUND || rc == CC_EXISTS, "seed %llu: %s",
                      (unsigned long long)seed, err.msg);
        }
        dcommit(t);
        cr_assert_eq(dur_upper(ro), dur_upper(w), "seed %llu step %d", (unsigned long long)seed,
                     step);
        cr_assert(pmap_fp_equal(dur_snapshot_fp(dur_snapshot_acquire(ro)),
                                dur_snapshot_fp(dur_snapshot_acquire(w))),
                  "seed %llu step %d: follower differs", (unsigned long long)seed, step);
        snap_check(dur_snapshot_acquire(w), "writer");
        snap_check(dur_snapshot_acquire(ro), "follower");
    }
    for (size_t i = 0; i < log.n; i++)
        cr_assert_eq(log.uppers[i], start + 1 + i, "commits out of order at %zu", i);
    cr_assert_eq(log.n, dur_upper(w) - start);
    dur_close(ro);
    dur_close(w);
    pfix_close(&f);
}

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

Test(dur_scale, single_commits_stay_one_append_after_many_items, .timeout = 300)
{
    long n = tu_env_long("COWCAT_TEST_SCALE_ITEMS", 100000);
    pfix f;
    dfix_open(&f, PERSIST_BACKEND_FILE);
    dur_catalog *cat = dopen(f.c, DUR_MODE_WRITABLE, 1);
    cc_err err;
    double t0 = now_s();
    for (long done = 0; done < n;) {
        dur_txn *t = dbegin(cat);
        for (int i = 0; i < 1000 && done < n; i++, done++) {
            uint64_t id;
            uint32_t oid;
            char name[32];
            snprintf(name, sizeof name, "t%ld", done);
            cr_assert_eq(dur_txn_allocate_id(t, DUR_ALLOC_USER_ITEM, &id, NULL), CC_OK);
            cr_assert_eq(dur_txn_allocate_oid(t, &oid, NULL), CC_OK);
            cr_assert_eq(item_put(t, true, id, 1, name, COWCAT__CATALOG__ITEM_KIND__ITEM_KIND_TABLE,
                                  oid, &err),
                         CC_OK, "%s", err.msg);
        }
        dcommit(t);
    }
    double t1 = now_s();
    const dur_snapshot *s = dur_snapshot_acquire(cat);
    cr_assert_eq(dur_snapshot_count(s, DUR_ITEMS), (size_t)n);
    snap_check(s, "after the fill");
    /* median of 21 single creates (timing is informational) */
    double lat[21];
    for (int i = 0; i < 21; i++) {
        char name[32];
        snprintf(name, sizeof name, "warm%d", i);
        double c0 = now_s();
        cr_assert_eq(create_item(cat, name, NULL, &err), CC_OK, "%s", err.msg);
        lat[i] = now_s() - c0;
    }
    for (int i = 1; i < 21; i++)
        for (int j = i; j > 0 && lat[j - 1] > lat[j]; j--) {
            double x = lat[j];
            lat[j] = lat[j - 1];
            lat[j - 1] = x;
        }
    appends_seen a;
    seen_start(&a, f.c);
    uint64_t id;
    cr_assert_eq(create_item(cat, "one_more", &id, &err), CC_OK, "%s", err.msg);
    cr_assert_eq(a.appends, 1);
    /* The item alone, or with both allocators (-old +new each) when their
     * reserved blocks ran out: a constant either way. */
    cr_assert(a.last_n == 1 || a.last_n == 5, "item (+ 2 allocators): %zu updates", a.last_n);
    dur_txn *t = dbegin(cat);
    cr_assert_eq(
        item_put(t, false, id, 1, "renamed", COWCAT__CATALOG__ITEM_KIND__ITEM_KIND_TABLE, 0, &err),
        CC_OK);
    cr_assert_eq(
        item_put(t, true, id + 1, 1, "t7", COWCAT__CATALOG__ITEM_KIND__ITEM_KIND_TABLE, 0, &err),
        CC_EXISTS);
    dcommit(t);
    cr_assert_eq(a.appends, 2);
    t = dbegin(cat);
    cr_assert_eq(item_del(t, id, NULL), CC_OK);
    dcommit(t);
    cr_assert_eq(a.appends, 3);
    cr_assert_eq(a.last_n, 1);
    seen_stop(&a);
    cr_assert_eq(dur_snapshot_count(dur_snapshot_acquire(cat), DUR_ITEMS), (size_t)n + 21);
    fprintf(stderr, "dur_scale: %ld items in %.2f s; single create at %ld items: median %.1f us\n",
            n, t1 - t0, n, lat[10] * 1e6);
    uint64_t upper = dur_upper(cat);
    dur_close(cat);
    pfix_reopen(&f);
    double o0 = now_s();
    dur_catalog *ro = dopen(f.c, DUR_MODE_READ_ONLY, 0);
    fprintf(stderr, "dur_scale: reopen of %ld items: %.2f s\n", n, now_s() - o0);
    cr_assert_eq(dur_upper(ro), upper);
    cr_assert_eq(dur_snapshot_count(dur_snapshot_acquire(ro), DUR_ITEMS), (size_t)n + 21);
    cr_assert_str_eq(item_name(dur_snapshot_acquire(ro), 7), "t6");
    snap_check(dur_snapshot_acquire(ro), "after reopen");
    dur_close(ro);
    pfix_close(&f);
}
