/*
 * tests/durable/test_durable_faults.c — the durable catalog under allocation
 * failures (every N until the transaction succeeds) and pinned readers
 * keeping an old version across commits.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "dur_testutil.h"
#include "testutil.h"

/* Builds the transaction under fault: create, rename, delete, allocate, audit. */
static cc_code
faulty_build(dur_catalog *cat, dur_txn **out, cc_err *err)
{
    dur_txn *t;
    uint64_t id;
    uint32_t oid;
    cc_code rc = dur_txn_begin(cat, &t, err);
    if (rc != CC_OK)
        return rc;
    if ((rc = dur_txn_allocate_id(t, DUR_ALLOC_USER_ITEM, &id, err)) == CC_OK &&
        (rc = dur_txn_allocate_oid(t, &oid, err)) == CC_OK &&
        (rc = item_put(t, true, 1000, 1, "fault_new", COWCAT__CATALOG__ITEM_KIND__ITEM_KIND_TABLE,
                       oid, err)) == CC_OK &&
        (rc = item_put(t, false, 1, 1, "a_renamed", COWCAT__CATALOG__ITEM_KIND__ITEM_KIND_TABLE, 0,
                       err)) == CC_OK &&
        (rc = item_del(t, 2, err)) == CC_OK &&
        (rc = dur_txn_audit(t, COWCAT__CATALOG__AUDIT_EVENT_TYPE__AUDIT_EVENT_TYPE_CREATE,
                            COWCAT__CATALOG__OBJECT_TYPE__OBJECT_TYPE_TABLE, "public.fault_new",
                            "cowcat", 1, NULL, err)) == CC_OK) {
        *out = t;
        return CC_OK;
    }
    dur_txn_abort(t);
    return rc;
}

static void
expect_applied(const dur_snapshot *s, bool applied, size_t n)
{
    cr_assert_eq(item_name(s, 1000) != NULL, applied, "N=%zu: new item", n);
    cr_assert_str_eq(item_name(s, 1), applied ? "a_renamed" : "a", "N=%zu: rename", n);
    cr_assert_eq(item_name(s, 2) == NULL, applied, "N=%zu: delete", n);
    cr_assert_eq(dur_snapshot_count(s, DUR_AUDIT_LOG), applied ? 1u : 0u, "N=%zu: audit", n);
}

/*
 * Walks N = 1, 2, ... through building the transaction (every allocation of
 * durable/ and pmap/), then through the allocations commit makes before its
 * append (persist itself stops the process on an allocation failure after an
 * append is durable, by design, so the walk ends at the append).
 */
Test(dur_faults, every_allocation_failure_leaves_the_catalog_unchanged)
{
    pfix f;
    dfix_open(&f, PERSIST_BACKEND_MEM);
    dur_catalog *cat = dopen(f.c, DUR_MODE_WRITABLE, 1);
    dur_txn *t = dbegin(cat);
    cr_assert_eq(item_put(t, true, 1, 1, "a", COWCAT__CATALOG__ITEM_KIND__ITEM_KIND_TABLE, 0, NULL),
                 CC_OK);
    cr_assert_eq(item_put(t, true, 2, 1, "b", COWCAT__CATALOG__ITEM_KIND__ITEM_KIND_TABLE, 0, NULL),
                 CC_OK);
    dcommit(t);
    pmap_fp fp0 = dur_snapshot_fp(dur_snapshot_acquire(cat));
    uint64_t upper0 = dur_upper(cat);
    size_t failures = 0, n;
    cc_err err;
    for (n = 1;; n++) {
        cc_alloc_fail_at(n);
        cc_code rc = faulty_build(cat, &t, &err);
        int fired = cc_alloc_failed();
        cc_alloc_fail_at(0);
        if (rc == CC_OK) {
            dur_txn_abort(t);
            if (!fired)
                break;
        } else {
            cr_assert(fired, "N=%zu: failed without an injected failure: %s", n, err.msg);
            cr_assert_eq(rc, CC_NOMEM, "N=%zu: %s", n, err.msg);
            failures++;
        }
        cr_assert_eq(dur_upper(cat), upper0, "N=%zu", n);
        cr_assert(pmap_fp_equal(dur_snapshot_fp(dur_snapshot_acquire(cat)), fp0), "N=%zu", n);
        expect_applied(dur_snapshot_acquire(cat), false, n);
        snap_check(dur_snapshot_acquire(cat), "after a failed build");
    }
    cr_assert_gt(failures, 10, "the walk must hit the transaction many times (%zu)", failures);

    /* commit: its own allocations before the append (changes list, updates, keys) */
    cr_assert_eq(faulty_build(cat, &t, &err), CC_OK, "%s", err.msg);
    size_t before_append = 3 + dur_txn_pending_count(t);
    dur_txn_abort(t);
    for (n = 1; n <= before_append; n++) {
        cr_assert_eq(faulty_build(cat, &t, &err), CC_OK, "%s", err.msg);
        cc_alloc_fail_at(n);
        cc_code rc = dur_txn_commit(t, NULL, &err);
        cc_alloc_fail_at(0);
        cr_assert_eq(rc, CC_NOMEM, "commit N=%zu: %s", n, err.msg);
        cr_assert_eq(dur_upper(cat), upper0, "commit N=%zu wrote", n);
        expect_applied(dur_snapshot_acquire(cat), false, n);
    }
    cr_assert_eq(faulty_build(cat, &t, &err), CC_OK, "%s", err.msg);
    cr_assert_eq(dur_txn_commit(t, NULL, &err), CC_OK, "%s", err.msg);
    expect_applied(dur_snapshot_acquire(cat), true, 0);

    /* the cache of the surviving handle equals what a fresh open reads */
    dur_catalog *ro = dopen(f.c, DUR_MODE_READ_ONLY, 0);
    cr_assert(pmap_fp_equal(dur_snapshot_fp(dur_snapshot_acquire(ro)),
                            dur_snapshot_fp(dur_snapshot_acquire(cat))));
    dur_close(ro);
    dur_close(cat);
    pfix_close(&f);
}

Test(dur_read, a_pinned_version_stays_readable_across_commits)
{
    pfix f;
    dfix_open(&f, PERSIST_BACKEND_MEM);
    dur_catalog *cat = dopen(f.c, DUR_MODE_WRITABLE, 1);
    pmap_reader *r;
    cr_assert_eq(pmap_reader_new(dur_catalog_domain(cat), &r, NULL), CC_OK);
    pmap_reader_pin(r);
    const dur_snapshot *v1 = dur_snapshot_acquire(cat);
    pmap_fp fp1 = dur_snapshot_fp(v1);
    for (uint64_t i = 1; i <= 300; i++) {
        dur_txn *t = dbegin(cat);
        char name[16];
        snprintf(name, sizeof name, "r%llu", (unsigned long long)i);
        cr_assert_eq(
            item_put(t, true, i, 1, name, COWCAT__CATALOG__ITEM_KIND__ITEM_KIND_TABLE, 0, NULL),
            CC_OK);
        dcommit(t);
    }
    const dur_snapshot *v2 = dur_snapshot_acquire(cat);
    cr_assert_eq(dur_snapshot_count(v1, DUR_ITEMS), 0, "the old version must not change");
    cr_assert(pmap_fp_equal(dur_snapshot_fp(v1), fp1));
    cr_assert_eq(dur_snapshot_count(v2, DUR_ITEMS), 300);
    cr_assert_eq(dur_snapshot_upper(v2), dur_snapshot_upper(v1) + 300);
    /* key order iteration */
    dur_cursor c;
    size_t n = 0;
    pmap_bytes prev = {NULL, 0};
    for (bool ok = dur_cursor_first(&c, v2, DUR_ITEMS); ok; ok = dur_cursor_next(&c), n++) {
        pmap_bytes k;
        const dur_blob *v;
        cr_assert(dur_cursor_get(&c, &k, &v) && v != NULL);
        if (prev.ptr != NULL) {
            size_t m = prev.len < k.len ? prev.len : k.len;
            int cmp = memcmp(prev.ptr, k.ptr, m);
            cr_assert(cmp < 0 || (cmp == 0 && prev.len < k.len), "keys out of order at %zu", n);
        }
        prev = k;
    }
    cr_assert_eq(n, 300);
    pmap_reader_unpin(r);
    pmap_reader_free(r);
    dur_close(cat);
    pfix_close(&f);
}

/*
 * kill -9 during commits (file backend): a child commits transactions that
 * each create one item (id from the allocator) and audit it; after the kill
 * the reopened catalog holds a prefix of them — items 1..k with the user
 * allocator at k + 1 and k audit events — never a partial transaction.
 */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static void
crash_child(const char *dir)
{
    persist_options po = {0};
    po.backend = PERSIST_BACKEND_FILE;
    po.data_dir = dir;
    po.sync = PERSIST_SYNC_NONE;
    persist_client *c;
    if (persist_client_open(&po, &c, NULL) != CC_OK)
        _exit(3);
    dur_options o = {.mode = DUR_MODE_WRITABLE, .deploy_generation = 1};
    dur_catalog *cat;
    if (dur_open(c, &o, &cat, NULL) != CC_OK)
        _exit(4);
    for (;;) {
        dur_txn *t;
        uint64_t id;
        uint32_t oid;
        char name[32];
        if (dur_txn_begin(cat, &t, NULL) != CC_OK ||
            dur_txn_allocate_id(t, DUR_ALLOC_USER_ITEM, &id, NULL) != CC_OK ||
            dur_txn_allocate_oid(t, &oid, NULL) != CC_OK)
            _exit(5);
        snprintf(name, sizeof name, "c%llu", (unsigned long long)id);
        if (item_put(t, true, id, 1, name, COWCAT__CATALOG__ITEM_KIND__ITEM_KIND_TABLE, oid,
                     NULL) != CC_OK ||
            dur_txn_audit(t, COWCAT__CATALOG__AUDIT_EVENT_TYPE__AUDIT_EVENT_TYPE_CREATE,
                          COWCAT__CATALOG__OBJECT_TYPE__OBJECT_TYPE_TABLE, name, "cowcat", 0, NULL,
                          NULL) != CC_OK ||
            dur_txn_commit(t, NULL, NULL) != CC_OK)
            _exit(6);
    }
}

Test(dur_crash, kill_during_commits_reopens_to_a_transaction_boundary, .timeout = 120)
{
    uint64_t seed = tu_seed("dur_crash");
    tu_rng r;
    tu_rng_init(&r, seed);
    pfix f;
    dfix_open(&f, PERSIST_BACKEND_FILE);
    persist_client_close(f.c); /* the child owns the directory while it runs */
    f.c = NULL;
    uint64_t prev = 0;
    for (int round = 0; round < 6; round++) {
        pid_t pid = fork();
        cr_assert_neq(pid, -1);
        if (pid == 0)
            crash_child(f.t.data);
        usleep((useconds_t)(20000 + tu_rng_below(&r, 80000)));
        kill(pid, SIGKILL);
        int st;
        waitpid(pid, &st, 0);
        cr_assert(WIFSIGNALED(st), "seed %llu: child exited %d", (unsigned long long)seed,
                  WEXITSTATUS(st));
        cc_err err;
        cr_assert_eq(persist_client_open(&f.o, &f.c, &err), CC_OK, "%s", err.msg);
        dur_catalog *ro = dopen(f.c, DUR_MODE_READ_ONLY, 0);
        const dur_snapshot *s = dur_snapshot_acquire(ro);
        snap_check(s, "after kill -9");
        size_t k = dur_snapshot_count(s, DUR_ITEMS);
        cr_assert_geq(k, prev, "seed %llu: lost committed items", (unsigned long long)seed);
        cr_assert_eq(dur_snapshot_count(s, DUR_AUDIT_LOG), k, "seed %llu round %d: audit vs items",
                     (unsigned long long)seed, round);
        /* Every item is whole (named after its id); ids may skip after a
         * restart (a reserved block's rest is never reused), never repeat. */
        uint64_t max_id = 0;
        dur_cursor cur;
        for (bool ok = dur_cursor_first(&cur, s, DUR_ITEMS); ok; ok = dur_cursor_next(&cur)) {
            pmap_bytes kb;
            const dur_blob *vb;
            cr_assert(dur_cursor_get(&cur, &kb, &vb));
            ProtobufCMessage *km;
            cr_assert_eq(dur_decode(DUR_ITEMS, DUR_PART_KEY, kb, &km, NULL), CC_OK);
            uint64_t id = ((Cowcat__Catalog__ItemKey *)km)->id->value;
            protobuf_c_message_free_unpacked(km, NULL);
            char want[32];
            snprintf(want, sizeof want, "c%llu", (unsigned long long)id);
            const char *got = item_name(s, id);
            cr_assert(got != NULL && strcmp(got, want) == 0, "seed %llu: item %llu",
                      (unsigned long long)seed, (unsigned long long)id);
            if (id > max_id)
                max_id = id;
        }
        Cowcat__Catalog__IdAllocKey ak = COWCAT__CATALOG__ID_ALLOC_KEY__INIT;
        ak.name = DUR_ALLOC_USER_ITEM;
        uint8_t kb[64];
        pmap_bytes key = {kb, protobuf_c_message_pack(&ak.base, kb)};
        const dur_blob *v = dur_snapshot_find(s, DUR_ID_ALLOCATOR, key);
        cr_assert_not_null(v);
        ProtobufCMessage *m;
        cr_assert_eq(dur_decode(DUR_ID_ALLOCATOR, DUR_PART_VALUE, dur_blob_bytes(v), &m, NULL),
                     CC_OK);
        cr_assert_gt(((Cowcat__Catalog__IdAllocValue *)m)->next_id, max_id,
                     "seed %llu: the allocator's reservation must cover every id used",
                     (unsigned long long)seed);
        protobuf_c_message_free_unpacked(m, NULL);
        prev = k;
        dur_close(ro);
        persist_client_close(f.c);
        f.c = NULL;
    }
    cr_assert_gt(prev, 0, "seed %llu: the child never committed", (unsigned long long)seed);
    cc_err err;
    cr_assert_eq(persist_client_open(&f.o, &f.c, &err), CC_OK, "%s", err.msg);
    pfix_close(&f);
}
