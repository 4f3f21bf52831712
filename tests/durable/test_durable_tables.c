/*
 * tests/durable/test_durable_tables.c — txn-wal registration of the tables'
 * data shards by the durable catalog: a table is registered (and forgotten)
 * in its commit's one durable write, every commit advances every table's
 * logical upper, registrations survive reopen and agree with the tables at
 * open (adopted from an empty txns shard, refused when they disagree),
 * create/drop cycles leave shard counts and memory flat, and the `advance`
 * ablation appends to every data shard while counting its runs.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "dur_testutil.h"
#include "persist/txnwal.h"

#define TABLE COWCAT__CATALOG__ITEM_KIND__ITEM_KIND_TABLE
#define VIEW  COWCAT__CATALOG__ITEM_KIND__ITEM_KIND_VIEW

static uint64_t
groups(pfix *f)
{
    persist_stats st;
    persist_client_stats(f->c, &st);
    return st.wal_groups;
}

static uint64_t
shards(pfix *f)
{
    persist_stats st;
    persist_client_stats(f->c, &st);
    return st.shards;
}

static dur_tables_stats
tstats(dur_catalog *cat)
{
    dur_tables_stats st;
    dur_tables_stats_get(cat, &st);
    return st;
}

/* Commits one transaction putting (kind) or deleting (kind < 0) items [first, first + n). */
static void
items_commit(dur_catalog *cat, uint64_t first, size_t n, int kind)
{
    dur_txn *t = dbegin(cat);
    cc_err err;
    for (size_t i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof name, "i%llu", (unsigned long long)(first + i));
        cc_code rc = kind < 0 ? item_del(t, first + i, &err)
                              : item_put(t, true, first + i, 1, name,
                                         (Cowcat__Catalog__ItemKind)kind,
                                         (uint32_t)(30000 + first + i), &err);
        cr_assert_eq(rc, CC_OK, "item %llu: %s", (unsigned long long)(first + i), err.msg);
    }
    dcommit(t);
}

static uint64_t
table_upper(dur_catalog *cat, uint64_t id, cc_code *rc)
{
    Cowcat__Catalog__CatalogId cid = COWCAT__CATALOG__CATALOG_ID__INIT;
    cid.value = id;
    uint64_t up = 0;
    *rc = dur_table_upper(cat, &cid, &up, NULL);
    return up;
}

static void
check_ok(dur_catalog *cat, const char *what)
{
    cc_err err;
    cr_assert_eq(dur_tables_check(cat, &err), CC_OK, "%s: %s", what, err.msg);
}

Test(dur_tables, a_table_is_registered_in_its_commits_one_durable_write)
{
    pfix f;
    dfix_open(&f, PERSIST_BACKEND_FILE);
    dur_catalog *cat = dopen(f.c, DUR_MODE_WRITABLE, 1);
    uint64_t s0 = shards(&f);
    /* 150 single-table commits: past two since moves of the catalog shard
     * (every 64 commits), which ride in the same record. */
    for (uint64_t i = 0; i < 150; i++) {
        uint64_t g0 = groups(&f);
        items_commit(cat, 1000 + i, 1, TABLE);
        cr_assert_eq(groups(&f) - g0, 1, "CREATE %llu: one durable write", (unsigned long long)i);
    }
    cr_assert_eq(tstats(cat).registered, 150);
    cr_assert_eq(shards(&f), s0, "no data shard exists for a table never written");
    uint64_t g0 = groups(&f);
    items_commit(cat, 5000, 1, VIEW);
    cr_assert_eq(groups(&f) - g0, 1);
    cr_assert_eq(tstats(cat).registered, 150, "a view has no data shard");
    cc_code rc;
    table_upper(cat, 5000, &rc);
    cr_assert_eq(rc, CC_NOT_FOUND);
    cr_assert_eq(table_upper(cat, 1000, &rc), tstats(cat).txns_upper);
    cr_assert_eq(rc, CC_OK);
    check_ok(cat, "after the creates");
    dur_close(cat);
    pfix_close(&f);
}

Test(dur_tables, every_commit_advances_every_tables_logical_upper)
{
    pfix f;
    dfix_open(&f, PERSIST_BACKEND_MEM);
    dur_catalog *cat = dopen(f.c, DUR_MODE_WRITABLE, 1);
    items_commit(cat, 1, 300, TABLE);
    uint64_t s0 = shards(&f);
    for (int c = 0; c < 5; c++) {
        uint64_t before = tstats(cat).txns_upper;
        items_commit(cat, 10000 + (uint64_t)c, 1, VIEW); /* no table involved */
        uint64_t after = tstats(cat).txns_upper;
        cr_assert_eq(after, before + 1, "commit %d advances the txns upper by one", c);
        for (uint64_t i = 1; i <= 300; i++) {
            cc_code rc;
            cr_assert_eq(table_upper(cat, i, &rc), after, "table u%llu after commit %d",
                         (unsigned long long)i, c);
        }
    }
    cr_assert_eq(shards(&f), s0, "no per-table append happened");
    cr_assert_eq(tstats(cat).advance_runs, 0);
    dur_close(cat);
    pfix_close(&f);
}

Test(dur_tables, registrations_and_forgets_survive_a_reopen)
{
    pfix f;
    dfix_open(&f, PERSIST_BACKEND_FILE);
    dur_catalog *cat = dopen(f.c, DUR_MODE_WRITABLE, 1);
    items_commit(cat, 1, 3, TABLE);
    items_commit(cat, 2, 1, -1);
    cr_assert_eq(tstats(cat).registered, 2);
    uint64_t upper = tstats(cat).txns_upper;
    dur_close(cat);
    for (int round = 0; round < 2; round++) {
        pfix_reopen(&f);
        if (round == 1)
            cr_assert_eq(persist_client_rollup(f.c, NULL), CC_OK);
        cat = dopen(f.c, DUR_MODE_WRITABLE, 1);
        dur_tables_stats st = tstats(cat);
        cr_assert_eq(st.registered, 2, "round %d", round);
        cr_assert_gt(st.txns_upper, upper, "the open's commit advanced it too");
        upper = st.txns_upper;
        cc_code rc;
        cr_assert_eq(table_upper(cat, 1, &rc), upper);
        cr_assert_eq(rc, CC_OK);
        table_upper(cat, 2, &rc);
        cr_assert_eq(rc, CC_NOT_FOUND, "the dropped table stays forgotten");
        check_ok(cat, "after reopen");
        dur_close(cat);
    }
    pfix_close(&f);
}

Test(dur_tables, create_and_drop_cycles_keep_shards_and_memory_flat)
{
    pfix f;
    dfix_open(&f, PERSIST_BACKEND_FILE);
    dur_catalog *cat = dopen(f.c, DUR_MODE_WRITABLE, 1);
    items_commit(cat, 1, 10, TABLE);
    uint64_t s0 = shards(&f);
    pmap_domain_stats d0, d1;
    for (uint64_t i = 0; i < 3000; i++) {
        if (i == 1000)
            pmap_domain_stats_get(persist_client_domain(f.c), &d0);
        items_commit(cat, 100 + i, 1, TABLE);
        items_commit(cat, 100 + i, 1, -1);
        cr_assert_eq(shards(&f), s0);
    }
    pmap_domain_stats_get(persist_client_domain(f.c), &d1);
    cr_assert_eq(tstats(cat).registered, 10);
    cr_assert_leq(d1.live_nodes, d0.live_nodes + 16, "persist's maps grew from %llu to %llu nodes",
                  (unsigned long long)d0.live_nodes, (unsigned long long)d1.live_nodes);
    cr_assert_leq(d1.live_keys, d0.live_keys + 16);
    persist_shard *txns = persist_shard_find(f.c, "txns");
    cr_assert_not_null(txns);
    cr_assert_eq(trace_count(txns, f.c), 10, "the txns shard holds the 10 registrations only");
    check_ok(cat, "after the cycles");
    dur_close(cat);
    pfix_close(&f);
}

Test(dur_tables, an_empty_txns_shard_is_adopted_by_the_open)
{
    pfix f;
    dfix_open(&f, PERSIST_BACKEND_FILE);
    dur_catalog *cat = dopen(f.c, DUR_MODE_WRITABLE, 1);
    items_commit(cat, 1, 40, TABLE);
    items_commit(cat, 100, 5, VIEW);
    /* Point the catalog at a txns shard nobody has written (as a catalog from
     * before txn-wal, or a restored dump, finds itself). */
    dur_txn *t = dbegin(cat);
    Cowcat__Catalog__TxnWalShardKey k = COWCAT__CATALOG__TXN_WAL_SHARD_KEY__INIT;
    Cowcat__Catalog__TxnWalShardValue v = COWCAT__CATALOG__TXN_WAL_SHARD_VALUE__INIT;
    v.shard = "txns2";
    cr_assert_eq(dur_txn_set(t, DUR_TXN_WAL_SHARD, &k.base, &v.base, NULL), CC_OK);
    dcommit(t);
    dur_close(cat);
    pfix_reopen(&f);
    uint64_t g0 = groups(&f);
    cat = dopen(f.c, DUR_MODE_WRITABLE, 1);
    cr_assert_eq(groups(&f) - g0, 1, "adopting is part of the open's one write");
    cr_assert_eq(tstats(cat).registered, 40);
    check_ok(cat, "adopted");
    dur_close(cat);
    pfix_reopen(&f);
    cat = dopen(f.c, DUR_MODE_WRITABLE, 1);
    cr_assert_eq(tstats(cat).registered, 40);
    cr_assert_not_null(persist_shard_find(f.c, "txns2"));
    dur_close(cat);
    pfix_close(&f);
}

Test(dur_tables, registrations_that_disagree_with_the_tables_fail_the_open)
{
    pfix f;
    dfix_open(&f, PERSIST_BACKEND_FILE);
    dur_catalog *cat = dopen(f.c, DUR_MODE_WRITABLE, 1);
    items_commit(cat, 1, 3, TABLE);
    dur_close(cat);
    /* Someone registers a shard no table owns. */
    txnwal *w;
    cr_assert_eq(txnwal_open(f.c, "txns", &w, NULL), CC_OK);
    persist_shard *stray;
    cr_assert_eq(persist_shard_open_lazy(f.c, "t/u77", &stray, NULL), CC_OK);
    cr_assert_eq(txnwal_register(w, 0, &stray, 1, NULL, NULL), CC_OK);
    dur_options o = {.mode = DUR_MODE_WRITABLE, .deploy_generation = 1};
    cc_err err;
    cr_assert_eq(dur_open(f.c, &o, &cat, &err), CC_CORRUPT);
    cr_assert(strstr(err.msg, "registered") != NULL, "%s", err.msg);
    /* ... or forgets one a table owns. */
    cr_assert_eq(txnwal_forget(w, 0, &stray, 1, NULL, NULL), CC_OK);
    persist_shard *t2;
    cr_assert_eq(persist_shard_open_lazy(f.c, "t/u2", &t2, NULL), CC_OK);
    cr_assert_eq(txnwal_forget(w, 0, &t2, 1, NULL, NULL), CC_OK);
    cr_assert_eq(dur_open(f.c, &o, &cat, &err), CC_CORRUPT);
    cr_assert(strstr(err.msg, "t/u2") != NULL, "%s", err.msg);
    /* Put right, the open succeeds. */
    cr_assert_eq(txnwal_register(w, 0, &t2, 1, NULL, NULL), CC_OK);
    txnwal_close(w);
    cat = dopen(f.c, DUR_MODE_WRITABLE, 1);
    check_ok(cat, "repaired");
    dur_close(cat);
    pfix_close(&f);
}

Test(dur_tables, the_advance_ablation_appends_to_every_data_shard)
{
    pfix f;
    dfix_open(&f, PERSIST_BACKEND_FILE);
    dur_options o = {.mode = DUR_MODE_WRITABLE, .deploy_generation = 1,
                     .advance = DUR_ADVANCE_EACH};
    dur_catalog *cat;
    cc_err err;
    cr_assert_eq(dur_open(f.c, &o, &cat, &err), CC_OK, "%s", err.msg);
    uint64_t runs0 = tstats(cat).advance_runs;
    cr_assert_eq(runs0, 1, "the open's commit ran the loop (over no tables)");
    items_commit(cat, 1, 20, TABLE);
    items_commit(cat, 100, 1, VIEW);
    items_commit(cat, 200, 1, VIEW);
    dur_tables_stats st = tstats(cat);
    cr_assert_eq(st.advance_runs, runs0 + 3, "one loop per commit");
    cr_assert_eq(st.advanced, 20 + 20 + 20, "each commit advanced every registered shard");
    for (uint64_t i = 1; i <= 20; i++) {
        char id[32];
        snprintf(id, sizeof id, "t/u%llu", (unsigned long long)i);
        persist_shard *s = persist_shard_find(f.c, id);
        cr_assert_not_null(s, "%s materialised by the ablation", id);
        cr_assert_eq(persist_shard_upper(s), st.txns_upper, "%s physically advanced", id);
        cc_code rc;
        cr_assert_eq(table_upper(cat, i, &rc), st.txns_upper);
    }
    /* Dropping with the ablation on drops the materialised shard. */
    uint64_t s0 = shards(&f);
    items_commit(cat, 1, 5, -1);
    cr_assert_eq(shards(&f), s0 - 5);
    check_ok(cat, "ablated");
    dur_close(cat);
    pfix_reopen(&f);
    cat = dopen(f.c, DUR_MODE_WRITABLE, 1);
    cr_assert_eq(tstats(cat).registered, 15);
    cr_assert_eq(tstats(cat).advance_runs, 0, "counted per open");
    dur_close(cat);
    pfix_close(&f);
}
