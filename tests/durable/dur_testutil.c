/*
 * tests/durable/dur_testutil.c — fixtures for the durable catalog tests (see header).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "base/hash.h"

#include "dur_testutil.h"

static void
seen_cb(void *arg, const persist_update *u, size_t n, uint64_t lower, uint64_t upper)
{
    appends_seen *a = arg;
    (void)u;
    (void)lower;
    (void)upper;
    if (n > 0) {
        a->appends++;
        a->updates += n;
        a->last_n = n;
    }
}

void
seen_start(appends_seen *a, persist_client *c)
{
    persist_shard *s;
    cc_err err;
    memset(a, 0, sizeof *a);
    cr_assert_eq(persist_shard_open(c, "catalog", &s, &err), CC_OK, "%s", err.msg);
    cr_assert_eq(persist_listen(s, persist_shard_upper(s), seen_cb, a, &a->l, &err), CC_OK, "%s",
                 err.msg);
}

void
seen_stop(appends_seen *a)
{
    persist_listen_stop(a->l);
    a->l = NULL;
}

void
dfix_open(pfix *f, persist_backend_kind kind)
{
    persist_options o = {0};
    o.sync = PERSIST_SYNC_NONE;
    pfix_open(f, kind, &o);
}

dur_catalog *
dopen(persist_client *c, dur_mode mode, uint64_t gen)
{
    dur_options o = {0};
    o.mode = mode;
    o.deploy_generation = gen;
    dur_catalog *cat;
    cc_err err;
    cc_code rc = dur_open(c, &o, &cat, &err);
    cr_assert_eq(rc, CC_OK, "dur_open: %s", err.msg);
    return cat;
}

dur_txn *
dbegin(dur_catalog *cat)
{
    dur_txn *t;
    cc_err err;
    cr_assert_eq(dur_txn_begin(cat, &t, &err), CC_OK, "begin: %s", err.msg);
    return t;
}

void
dcommit(dur_txn *t)
{
    cc_err err;
    cc_code rc = dur_txn_commit(t, NULL, &err);
    cr_assert_eq(rc, CC_OK, "commit: %s", err.msg);
}

cc_code
item_put(dur_txn *t, bool insert, uint64_t id, uint64_t schema, const char *name,
         Cowcat__Catalog__ItemKind kind, uint32_t oid, cc_err *err)
{
    Cowcat__Catalog__CatalogId kid = COWCAT__CATALOG__CATALOG_ID__INIT;
    Cowcat__Catalog__CatalogId sid = COWCAT__CATALOG__CATALOG_ID__INIT;
    Cowcat__Catalog__CatalogId owner = COWCAT__CATALOG__CATALOG_ID__INIT;
    Cowcat__Catalog__ItemKey k = COWCAT__CATALOG__ITEM_KEY__INIT;
    Cowcat__Catalog__ItemValue v = COWCAT__CATALOG__ITEM_VALUE__INIT;
    Cowcat__Catalog__Column col = COWCAT__CATALOG__COLUMN__INIT;
    Cowcat__Catalog__Column *cols[1] = {&col};
    char sql[160];
    kid.value = id;
    sid.value = schema;
    owner.value = 1;
    k.id = &kid;
    v.schema = &sid;
    v.name = (char *)name;
    v.kind = kind;
    snprintf(sql, sizeof sql, "CREATE TABLE %s (a int4)", name);
    v.create_sql = sql;
    v.owner = &owner;
    v.oid = oid;
    col.name = "a";
    col.type_name = "int4";
    col.typmod = -1;
    col.nullable = true;
    v.n_columns = 1;
    v.columns = cols;
    return insert ? dur_txn_insert(t, DUR_ITEMS, &k.base, &v.base, err)
                  : dur_txn_update(t, DUR_ITEMS, &k.base, &v.base, err);
}

cc_code
item_del(dur_txn *t, uint64_t id, cc_err *err)
{
    Cowcat__Catalog__CatalogId kid = COWCAT__CATALOG__CATALOG_ID__INIT;
    Cowcat__Catalog__ItemKey k = COWCAT__CATALOG__ITEM_KEY__INIT;
    kid.value = id;
    k.id = &kid;
    return dur_txn_delete(t, DUR_ITEMS, &k.base, err);
}

size_t
item_key(uint64_t id, uint8_t *buf)
{
    Cowcat__Catalog__CatalogId kid = COWCAT__CATALOG__CATALOG_ID__INIT;
    Cowcat__Catalog__ItemKey k = COWCAT__CATALOG__ITEM_KEY__INIT;
    kid.value = id;
    k.id = &kid;
    return protobuf_c_message_pack(&k.base, buf);
}

const char *
item_name(const dur_snapshot *s, uint64_t id)
{
    static char name[128];
    uint8_t kb[32];
    pmap_bytes k = {kb, item_key(id, kb)};
    const dur_blob *b = dur_snapshot_find(s, DUR_ITEMS, k);
    if (b == NULL)
        return NULL;
    ProtobufCMessage *m;
    cr_assert_eq(dur_decode(DUR_ITEMS, DUR_PART_VALUE, dur_blob_bytes(b), &m, NULL), CC_OK);
    snprintf(name, sizeof name, "%s", ((Cowcat__Catalog__ItemValue *)m)->name);
    protobuf_c_message_free_unpacked(m, NULL);
    return name;
}

pmap_fp
fp_without_fence(const dur_snapshot *s)
{
    pmap_fp fp = {0, 0};
    for (int c = DUR_COLLECTION_MIN; c <= DUR_COLLECTION_MAX; c++) {
        if (c == DUR_FENCE_TOKEN)
            continue;
        dur_cursor cur;
        for (bool ok = dur_cursor_first(&cur, s, c); ok; ok = dur_cursor_next(&cur)) {
            pmap_bytes k;
            const dur_blob *v;
            dur_cursor_get(&cur, &k, &v);
            pmap_bytes vb = dur_blob_bytes(v);
            uint64_t h =
                cc_hash_combine(cc_hash_bytes(k.ptr, k.len), cc_hash_bytes(vb.ptr, vb.len));
            fp.lo += cc_hash_combine(h, (uint64_t)c);
            fp.hi ^= cc_mix64(h + (uint64_t)c);
        }
    }
    fp.lo += dur_snapshot_count(s, DUR_AUDIT_LOG);
    return fp;
}

void
snap_check(const dur_snapshot *s, const char *what)
{
    cc_err err;
    cc_code rc = dur_snapshot_check(s, &err);
    cr_assert_eq(rc, CC_OK, "%s: %s", what, err.msg);
}
