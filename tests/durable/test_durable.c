/*
 * tests/durable/test_durable.c — the durable catalog: bootstrap, reopen,
 * transactions and their one append, uniqueness with SQLSTATEs, ID/OID
 * allocation, the audit log, abort. Fencing, followers and scale are in
 * test_durable_follow.c.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "dur_testutil.h"
#include "internal.h"
#include "testutil.h"

static const char *
setting(const dur_snapshot *s, dur_collection coll, const char *name)
{
    static char out[128];
    ProtobufCMessage *km, *m;
    Cowcat__Catalog__SystemConfigurationKey k = COWCAT__CATALOG__SYSTEM_CONFIGURATION_KEY__INIT;
    Cowcat__Catalog__SettingKey sk = COWCAT__CATALOG__SETTING_KEY__INIT;
    k.name = (char *)name;
    sk.name = (char *)name;
    km = coll == DUR_SETTINGS ? &sk.base : &k.base;
    uint8_t buf[256];
    pmap_bytes kb = {buf, protobuf_c_message_pack(km, buf)};
    const dur_blob *b = dur_snapshot_find(s, coll, kb);
    if (b == NULL)
        return NULL;
    cr_assert_eq(dur_decode(coll, DUR_PART_VALUE, dur_blob_bytes(b), &m, NULL), CC_OK);
    snprintf(out, sizeof out, "%s", ((Cowcat__Catalog__SettingValue *)m)->value);
    protobuf_c_message_free_unpacked(m, NULL);
    return out;
}

static ProtobufCMessage *
by_name(const dur_snapshot *s, dur_name_index idx, dur_collection coll,
        const Cowcat__Catalog__CatalogId *scope, const char *name)
{
    const dur_blob *k = dur_snapshot_find_name(s, idx, scope, name);
    cr_assert_not_null(k, "name \"%s\" not indexed", name);
    const dur_blob *v = dur_snapshot_find(s, coll, dur_blob_bytes(k));
    cr_assert_not_null(v, "name \"%s\" indexed but its key is missing", name);
    ProtobufCMessage *m;
    cr_assert_eq(dur_decode(coll, DUR_PART_VALUE, dur_blob_bytes(v), &m, NULL), CC_OK);
    return m;
}

Test(dur_open, bootstraps_an_empty_shard_in_one_append)
{
    pfix f;
    dfix_open(&f, PERSIST_BACKEND_MEM);
    dur_catalog *cat = dopen(f.c, DUR_MODE_WRITABLE, 1);
    const dur_snapshot *s = dur_snapshot_acquire(cat);
    cr_assert_eq(dur_upper(cat), 1, "bootstrap must be one append, upper %llu",
                 (unsigned long long)dur_upper(cat));
    cr_assert_eq(dur_snapshot_count(s, DUR_ROLES), 2);
    cr_assert_eq(dur_snapshot_count(s, DUR_DATABASES), 1);
    cr_assert_eq(dur_snapshot_count(s, DUR_SCHEMAS), 3);
    cr_assert_eq(dur_snapshot_count(s, DUR_CLUSTERS), 1);
    cr_assert_eq(dur_snapshot_count(s, DUR_SYSTEM_CONFIGURATION), 9);
    cr_assert_eq(dur_snapshot_count(s, DUR_AUDIT_LOG), 0);

    Cowcat__Catalog__RoleValue *sys =
        (void *)by_name(s, DUR_NAME_ROLE, DUR_ROLES, NULL, "cowcat_system");
    cr_assert(sys->attributes->superuser);
    protobuf_c_message_free_unpacked(&sys->base, NULL);
    Cowcat__Catalog__RoleValue *u = (void *)by_name(s, DUR_NAME_ROLE, DUR_ROLES, NULL, "cowcat");
    cr_assert(!u->attributes->superuser && u->attributes->login && u->attributes->create_db &&
              u->attributes->create_role);
    cr_assert_geq(u->oid, DUR_FIRST_USER_OID);
    uint32_t role_oid = u->oid;
    protobuf_c_message_free_unpacked(&u->base, NULL);

    const dur_blob *rk = dur_snapshot_find_name(s, DUR_NAME_ROLE, NULL, "cowcat");
    Cowcat__Catalog__RoleKey *rkey;
    cr_assert_eq(dur_decode(DUR_ROLES, DUR_PART_KEY, dur_blob_bytes(rk), (void *)&rkey, NULL),
                 CC_OK);
    cr_assert(!rkey->id->system);

    Cowcat__Catalog__DatabaseValue *db =
        (void *)by_name(s, DUR_NAME_DATABASE, DUR_DATABASES, NULL, "cowcat");
    cr_assert_eq(db->owner->value, rkey->id->value);
    cr_assert(!db->owner->system);
    cr_assert_neq(db->oid, role_oid, "OIDs must be distinct");
    const dur_blob *dk = dur_snapshot_find_name(s, DUR_NAME_DATABASE, NULL, "cowcat");
    Cowcat__Catalog__DatabaseKey *dkey;
    cr_assert_eq(dur_decode(DUR_DATABASES, DUR_PART_KEY, dur_blob_bytes(dk), (void *)&dkey, NULL),
                 CC_OK);
    Cowcat__Catalog__SchemaValue *pub =
        (void *)by_name(s, DUR_NAME_SCHEMA, DUR_SCHEMAS, dkey->id, "public");
    cr_assert_eq(pub->owner->value, rkey->id->value);
    cr_assert_eq(pub->database_opt_case, COWCAT__CATALOG__SCHEMA_VALUE__DATABASE_OPT_DATABASE);
    cr_assert(dur_snapshot_find_name(s, DUR_NAME_SCHEMA, NULL, "cowcat_catalog") != NULL);
    cr_assert(dur_snapshot_find_name(s, DUR_NAME_SCHEMA, NULL, "information_schema") != NULL);
    cr_assert(dur_snapshot_find_name(s, DUR_NAME_SCHEMA, NULL, "public") == NULL,
              "public is not an ambient schema");
    cr_assert(dur_snapshot_find_name(s, DUR_NAME_CLUSTER, NULL, "default") != NULL);
    cr_assert(dur_snapshot_oid_used(s, db->oid) && dur_snapshot_oid_used(s, pub->oid));
    protobuf_c_message_free_unpacked(&pub->base, NULL);
    protobuf_c_message_free_unpacked(&db->base, NULL);
    protobuf_c_message_free_unpacked(&dkey->base, NULL);
    protobuf_c_message_free_unpacked(&rkey->base, NULL);

    const char *limits[] = {"max_databases",
                            "max_schemas_per_database",
                            "max_objects_per_schema",
                            "max_tables",
                            "max_views",
                            "max_materialized_views",
                            "max_indexes",
                            "max_roles",
                            "max_clusters"};
    for (size_t i = 0; i < 9; i++) {
        const char *v = setting(s, DUR_SYSTEM_CONFIGURATION, limits[i]);
        cr_assert(v != NULL && strcmp(v, DUR_DEFAULT_LIMIT) == 0, "limit %s = %s", limits[i],
                  v ? v : "(missing)");
    }
    cr_assert_not_null(setting(s, DUR_SETTINGS, "catalog_content_version"));
    snap_check(s, "bootstrap");
    dur_fence fe = dur_fence_token(cat);
    cr_assert(fe.generation == 1 && fe.epoch == 1);

    /* allocators: the next user item id is 1, the next database id 2 */
    dur_txn *t = dbegin(cat);
    uint64_t id;
    cr_assert_eq(dur_txn_allocate_id(t, DUR_ALLOC_USER_ITEM, &id, NULL), CC_OK);
    cr_assert_eq(id, 1);
    cr_assert_eq(dur_txn_allocate_id(t, DUR_ALLOC_DATABASE, &id, NULL), CC_OK);
    cr_assert_eq(id, 2);
    cc_err err;
    cr_assert_eq(dur_txn_allocate_id(t, "nope", &id, &err), CC_NOT_FOUND);
    dur_txn_abort(t);
    dur_close(cat);
    pfix_close(&f);
}

Test(dur_open, reopen_gives_the_same_snapshot_and_writes_only_the_fence)
{
    pfix f;
    dfix_open(&f, PERSIST_BACKEND_FILE);
    dur_catalog *cat = dopen(f.c, DUR_MODE_WRITABLE, 1);
    dur_txn *t = dbegin(cat);
    for (uint64_t i = 1; i <= 50; i++) {
        char name[32];
        snprintf(name, sizeof name, "t%llu", (unsigned long long)i);
        uint32_t oid;
        cr_assert_eq(dur_txn_allocate_oid(t, &oid, NULL), CC_OK);
        cr_assert_eq(
            item_put(t, true, i, 1, name, COWCAT__CATALOG__ITEM_KIND__ITEM_KIND_TABLE, oid, NULL),
            CC_OK);
    }
    cr_assert_eq(dur_txn_audit(t, COWCAT__CATALOG__AUDIT_EVENT_TYPE__AUDIT_EVENT_TYPE_CREATE,
                               COWCAT__CATALOG__OBJECT_TYPE__OBJECT_TYPE_TABLE, "public.t1",
                               "cowcat", 1234, NULL, NULL),
                 CC_OK);
    dcommit(t);
    pmap_fp before = fp_without_fence(dur_snapshot_acquire(cat));
    pmap_fp before_all = dur_snapshot_fp(dur_snapshot_acquire(cat));
    uint64_t upper = dur_upper(cat);
    dur_close(cat);
    pfix_reopen(&f);

    /* read-only reopen: same contents, same upper, nothing written */
    persist_stats st0, st1;
    persist_client_stats(f.c, &st0);
    dur_catalog *ro = dopen(f.c, DUR_MODE_READ_ONLY, 0);
    cr_assert_eq(dur_upper(ro), upper);
    cr_assert(pmap_fp_equal(dur_snapshot_fp(dur_snapshot_acquire(ro)), before_all));
    cr_assert_eq(dur_snapshot_count(dur_snapshot_acquire(ro), DUR_AUDIT_LOG), 1);
    cr_assert_str_eq(item_name(dur_snapshot_acquire(ro), 50), "t50");
    persist_client_stats(f.c, &st1);
    cr_assert_eq(st1.appends, st0.appends, "a read-only open must not write");
    dur_close(ro);

    /* writable reopen, same version: exactly one append of 2 updates (the fence) */
    appends_seen a;
    seen_start(&a, f.c);
    cat = dopen(f.c, DUR_MODE_WRITABLE, 1);
    cr_assert_eq(a.appends, 1);
    cr_assert_eq(a.updates, 2, "only -old/+new fence token, got %zu updates", a.updates);
    cr_assert_eq(dur_upper(cat), upper + 1);
    cr_assert(pmap_fp_equal(fp_without_fence(dur_snapshot_acquire(cat)), before));
    cr_assert_eq(dur_fence_token(cat).epoch, 2);
    seen_stop(&a);
    dur_close(cat);
    pfix_close(&f);
}

static void
txn_roundtrip(persist_backend_kind kind)
{
    pfix f;
    dfix_open(&f, kind);
    dur_catalog *cat = dopen(f.c, DUR_MODE_WRITABLE, 1);
    appends_seen a;
    seen_start(&a, f.c);
    uint64_t u0 = dur_upper(cat);

    dur_txn *t = dbegin(cat);
    cr_assert_eq(
        item_put(t, true, 1, 1, "a", COWCAT__CATALOG__ITEM_KIND__ITEM_KIND_TABLE, 20100, NULL),
        CC_OK);
    cr_assert_eq(
        item_put(t, true, 2, 1, "b", COWCAT__CATALOG__ITEM_KIND__ITEM_KIND_VIEW, 20101, NULL),
        CC_OK);
    cr_assert_eq(
        item_put(t, true, 3, 1, "c", COWCAT__CATALOG__ITEM_KIND__ITEM_KIND_INDEX, 20102, NULL),
        CC_OK);
    dur_changes *ch;
    cc_err err;
    cr_assert_eq(dur_txn_commit(t, &ch, &err), CC_OK, "%s", err.msg);
    cr_assert_eq(ch->n, 3);
    cr_assert_eq(a.appends, 1);
    cr_assert_eq(a.updates, 3);
    cr_assert_eq(dur_upper(cat), u0 + 1);
    for (size_t i = 0; i < ch->n; i++)
        cr_assert(ch->v[i].coll == DUR_ITEMS && ch->v[i].old_value == NULL && ch->v[i].new_value);
    dur_changes_free(ch);

    /* update (rename a -> a2), delete b, in one transaction: one append, 2 + 1 + ... updates */
    t = dbegin(cat);
    cr_assert_eq(
        item_put(t, false, 1, 1, "a2", COWCAT__CATALOG__ITEM_KIND__ITEM_KIND_TABLE, 20100, NULL),
        CC_OK);
    cr_assert_eq(item_del(t, 2, NULL), CC_OK);
    cr_assert_eq(item_del(t, 2, &err), CC_NOT_FOUND, "deleting twice");
    cr_assert_eq(
        item_put(t, false, 99, 1, "zz", COWCAT__CATALOG__ITEM_KIND__ITEM_KIND_TABLE, 0, &err),
        CC_NOT_FOUND);
    cr_assert_eq(
        item_put(t, true, 3, 1, "c", COWCAT__CATALOG__ITEM_KIND__ITEM_KIND_INDEX, 20102, &err),
        CC_EXISTS);
    cr_assert_eq(dur_txn_commit(t, &ch, &err), CC_OK, "%s", err.msg);
    cr_assert_eq(ch->n, 2);
    cr_assert_eq(a.appends, 2);
    cr_assert_eq(a.last_n, 3, "-old +new for a, -old for b");
    dur_changes_free(ch);
    const dur_snapshot *s = dur_snapshot_acquire(cat);
    snap_check(s, "after update/delete");
    cr_assert_str_eq(item_name(s, 1), "a2");
    cr_assert_null(item_name(s, 2));
    cr_assert_null(dur_snapshot_find_name(
        s, DUR_NAME_RELATION, &(Cowcat__Catalog__CatalogId)COWCAT__CATALOG__CATALOG_ID__INIT, "a"));
    cr_assert(!dur_snapshot_oid_used(s, 20101), "the deleted item's OID is free again");
    pmap_fp fp = dur_snapshot_fp(s);

    /* a transaction whose writes cancel out writes nothing */
    t = dbegin(cat);
    cr_assert_eq(
        item_put(t, false, 1, 1, "tmp", COWCAT__CATALOG__ITEM_KIND__ITEM_KIND_TABLE, 20100, NULL),
        CC_OK);
    cr_assert_eq(
        item_put(t, false, 1, 1, "a2", COWCAT__CATALOG__ITEM_KIND__ITEM_KIND_TABLE, 20100, NULL),
        CC_OK);
    cr_assert_eq(dur_txn_pending_count(t), 0);
    dcommit(t);
    cr_assert_eq(a.appends, 2);
    seen_stop(&a);
    uint64_t upper = dur_upper(cat);
    dur_close(cat);

    pfix_reopen(&f);
    dur_catalog *ro = dopen(f.c, DUR_MODE_READ_ONLY, 0);
    cr_assert_eq(dur_upper(ro), upper);
    cr_assert(pmap_fp_equal(dur_snapshot_fp(dur_snapshot_acquire(ro)), fp));
    cr_assert_str_eq(item_name(dur_snapshot_acquire(ro), 3), "c");
    snap_check(dur_snapshot_acquire(ro), "after reopen");
    dur_close(ro);
    pfix_close(&f);
}

Test(dur_txn, insert_update_delete_commit_one_append_each_mem)
{
    txn_roundtrip(PERSIST_BACKEND_MEM);
}

Test(dur_txn, insert_update_delete_survive_a_reopen_file)
{
    txn_roundtrip(PERSIST_BACKEND_FILE);
}

static void
expect_state(cc_code rc, const cc_err *err, cc_code code, const char *sqlstate, const char *msg)
{
    cr_assert_eq(rc, code, "got %s: %s", cc_code_name(rc), err->msg);
    cr_assert_str_eq(cc_err_sqlstate(err), sqlstate, "%s", err->msg);
    cr_assert_str_eq(err->msg, msg);
}

Test(dur_txn, uniqueness_violations_report_postgres_sqlstates_and_change_nothing)
{
    pfix f;
    dfix_open(&f, PERSIST_BACKEND_MEM);
    dur_catalog *cat = dopen(f.c, DUR_MODE_WRITABLE, 1);
    cc_err err;
    dur_txn *t = dbegin(cat);
    cr_assert_eq(item_put(t, true, 1, 1, "t", COWCAT__CATALOG__ITEM_KIND__ITEM_KIND_TABLE, 0, NULL),
                 CC_OK);
    cr_assert_eq(item_put(t, true, 2, 1, "ty", COWCAT__CATALOG__ITEM_KIND__ITEM_KIND_TYPE, 0, NULL),
                 CC_OK);
    dcommit(t);
    pmap_fp fp = dur_snapshot_fp(dur_snapshot_acquire(cat));
    uint64_t upper = dur_upper(cat);

    t = dbegin(cat);
    expect_state(item_put(t, true, 3, 1, "t", COWCAT__CATALOG__ITEM_KIND__ITEM_KIND_VIEW, 0, &err),
                 &err, CC_EXISTS, "42P07", "relation \"t\" already exists");
    /* types conflict only with types */
    cr_assert_eq(item_put(t, true, 4, 1, "t", COWCAT__CATALOG__ITEM_KIND__ITEM_KIND_TYPE, 0, &err),
                 CC_OK, "%s", err.msg);
    expect_state(item_put(t, true, 5, 1, "ty", COWCAT__CATALOG__ITEM_KIND__ITEM_KIND_TYPE, 0, &err),
                 &err, CC_EXISTS, "42710", "type \"ty\" already exists");
    cr_assert_eq(
        item_put(t, true, 6, 1, "ty", COWCAT__CATALOG__ITEM_KIND__ITEM_KIND_TABLE, 0, &err), CC_OK);
    /* same name in another schema is fine */
    cr_assert_eq(item_put(t, true, 7, 2, "t", COWCAT__CATALOG__ITEM_KIND__ITEM_KIND_TABLE, 0, &err),
                 CC_OK);
    /* a name added earlier in this transaction conflicts too */
    expect_state(item_put(t, true, 8, 2, "t", COWCAT__CATALOG__ITEM_KIND__ITEM_KIND_TABLE, 0, &err),
                 &err, CC_EXISTS, "42P07", "relation \"t\" already exists");
    /* rename t -> t_old frees "t" within the transaction; renaming onto a taken name fails */
    cr_assert_eq(
        item_put(t, false, 1, 1, "t_old", COWCAT__CATALOG__ITEM_KIND__ITEM_KIND_TABLE, 0, &err),
        CC_OK);
    cr_assert_eq(item_put(t, true, 9, 1, "t", COWCAT__CATALOG__ITEM_KIND__ITEM_KIND_TABLE, 0, &err),
                 CC_OK, "%s", err.msg);
    expect_state(
        item_put(t, false, 9, 1, "t_old", COWCAT__CATALOG__ITEM_KIND__ITEM_KIND_TABLE, 0, &err),
        &err, CC_EXISTS, "42P07", "relation \"t_old\" already exists");
    /* deleting frees a name */
    cr_assert_eq(item_del(t, 9, NULL), CC_OK);
    cr_assert_eq(
        item_put(t, true, 10, 1, "t", COWCAT__CATALOG__ITEM_KIND__ITEM_KIND_TABLE, 0, &err), CC_OK);

    Cowcat__Catalog__CatalogId id = COWCAT__CATALOG__CATALOG_ID__INIT;
    Cowcat__Catalog__CatalogId owner = COWCAT__CATALOG__CATALOG_ID__INIT;
    id.value = 77;
    owner.value = 1;
    Cowcat__Catalog__DatabaseKey dk = COWCAT__CATALOG__DATABASE_KEY__INIT;
    Cowcat__Catalog__DatabaseValue dv = COWCAT__CATALOG__DATABASE_VALUE__INIT;
    dk.id = &id;
    dv.name = "cowcat";
    dv.owner = &owner;
    expect_state(dur_txn_insert(t, DUR_DATABASES, &dk.base, &dv.base, &err), &err, CC_EXISTS,
                 "42P04", "database \"cowcat\" already exists");
    Cowcat__Catalog__SchemaKey sk = COWCAT__CATALOG__SCHEMA_KEY__INIT;
    Cowcat__Catalog__SchemaValue sv = COWCAT__CATALOG__SCHEMA_VALUE__INIT;
    Cowcat__Catalog__CatalogId db1 = COWCAT__CATALOG__CATALOG_ID__INIT;
    db1.value = 1;
    sk.id = &id;
    sv.database_opt_case = COWCAT__CATALOG__SCHEMA_VALUE__DATABASE_OPT_DATABASE;
    sv.database = &db1;
    sv.name = "public";
    sv.owner = &owner;
    expect_state(dur_txn_insert(t, DUR_SCHEMAS, &sk.base, &sv.base, &err), &err, CC_EXISTS, "42P06",
                 "schema \"public\" already exists");
    Cowcat__Catalog__RoleKey rk = COWCAT__CATALOG__ROLE_KEY__INIT;
    Cowcat__Catalog__RoleValue rv = COWCAT__CATALOG__ROLE_VALUE__INIT;
    rk.id = &id;
    rv.name = "cowcat";
    expect_state(dur_txn_insert(t, DUR_ROLES, &rk.base, &rv.base, &err), &err, CC_EXISTS, "42710",
                 "role \"cowcat\" already exists");
    Cowcat__Catalog__ClusterKey ck = COWCAT__CATALOG__CLUSTER_KEY__INIT;
    Cowcat__Catalog__ClusterValue cv = COWCAT__CATALOG__CLUSTER_VALUE__INIT;
    ck.id = &id;
    cv.name = "default";
    expect_state(dur_txn_insert(t, DUR_CLUSTERS, &ck.base, &cv.base, &err), &err, CC_EXISTS,
                 "42710", "cluster \"default\" already exists");
    /* a wrong message type is INVALID */
    cr_assert_eq(dur_txn_insert(t, DUR_ROLES, &dk.base, &rv.base, &err), CC_INVALID);
    dur_txn_abort(t);

    cr_assert_eq(dur_upper(cat), upper, "abort wrote something");
    cr_assert(pmap_fp_equal(dur_snapshot_fp(dur_snapshot_acquire(cat)), fp),
              "abort changed the snapshot");
    snap_check(dur_snapshot_acquire(cat), "after abort");
    t = dbegin(cat);
    cr_assert_eq(item_put(t, true, 3, 1, "t", COWCAT__CATALOG__ITEM_KIND__ITEM_KIND_VIEW, 0, &err),
                 CC_EXISTS, "the base still holds t after abort");
    dur_txn_abort(t);
    dur_close(cat);
    pfix_close(&f);
}

Test(dur_txn, oids_skip_used_ones_and_allocate_id_commits_two_updates)
{
    pfix f;
    dfix_open(&f, PERSIST_BACKEND_MEM);
    dur_catalog *cat = dopen(f.c, DUR_MODE_WRITABLE, 1);
    dur_txn *t = dbegin(cat);
    uint32_t first;
    cr_assert_eq(dur_txn_allocate_oid(t, &first, NULL), CC_OK);
    dur_txn_abort(t);
    /* occupy [first + 2, first + 40) with explicit OIDs, and first + 45 */
    t = dbegin(cat);
    for (uint32_t i = 0; i < 38; i++) {
        char name[16];
        snprintf(name, sizeof name, "o%u", i);
        cr_assert_eq(item_put(t, true, 100 + i, 1, name,
                              COWCAT__CATALOG__ITEM_KIND__ITEM_KIND_TABLE, first + 2 + i, NULL),
                     CC_OK);
    }
    cr_assert_eq(item_put(t, true, 200, 1, "o45", COWCAT__CATALOG__ITEM_KIND__ITEM_KIND_TABLE,
                          first + 45, NULL),
                 CC_OK);
    dcommit(t);

    t = dbegin(cat);
    uint32_t got[8];
    for (int i = 0; i < 8; i++)
        cr_assert_eq(dur_txn_allocate_oid(t, &got[i], NULL), CC_OK);
    uint32_t want[8] = {first,      first + 1,  first + 40, first + 41,
                        first + 42, first + 43, first + 44, first + 46};
    for (int i = 0; i < 8; i++)
        cr_assert_eq(got[i], want[i], "oid %d: got %u want %u", i, got[i], want[i]);
    /* an OID written by this transaction is skipped too */
    cr_assert_eq(item_put(t, true, 300, 1, "x", COWCAT__CATALOG__ITEM_KIND__ITEM_KIND_TABLE,
                          first + 47, NULL),
                 CC_OK);
    uint32_t next;
    cr_assert_eq(dur_txn_allocate_oid(t, &next, NULL), CC_OK);
    cr_assert_eq(next, first + 48);
    uint64_t id1, id2;
    cr_assert_eq(dur_txn_allocate_id(t, DUR_ALLOC_USER_ITEM, &id1, NULL), CC_OK);
    cr_assert_eq(dur_txn_allocate_id(t, DUR_ALLOC_USER_ITEM, &id2, NULL), CC_OK);
    cr_assert_eq(id2, id1 + 1);
    appends_seen a;
    seen_start(&a, f.c);
    dcommit(t);
    cr_assert_eq(a.appends, 1, "ids and oids are committed with the DDL's own append");
    /* The item, the user allocator's first block reservation (-old +new), and
     * the OID cursor's if its block (from the bootstrap) ran out. */
    cr_assert(a.updates == 1 + 2 || a.updates == 1 + 2 + 2,
              "the item + the allocators that reserved a block: %zu updates", a.updates);
    snap_check(dur_snapshot_acquire(cat), "after oid allocation");

    uint64_t id3;
    cc_err err;
    cr_assert_eq(dur_allocate_id(cat, DUR_ALLOC_USER_ITEM, &id3, &err), CC_OK, "%s", err.msg);
    cr_assert_gt(id3, id2, "a standalone id comes after every reserved block");
    cr_assert_eq(a.appends, 2);
    cr_assert_eq(a.last_n, 2, "a standalone allocate_id commits exactly 2 updates");
    seen_stop(&a);
    dur_close(cat);
    pfix_close(&f);
}

/* Ids come from blocks reserved in the DDL's own commit: most commits write
 * no allocator, ids are contiguous within a run, and after a reopen they
 * continue past the reserved block, never reusing one. */
Test(dur_txn, ids_come_from_reserved_blocks_and_never_repeat_across_reopens)
{
    pfix f;
    dfix_open(&f, PERSIST_BACKEND_FILE);
    uint64_t max_id = 0;
    for (int run = 0; run < 3; run++) {
        dur_catalog *cat = dopen(f.c, DUR_MODE_WRITABLE, 1);
        appends_seen a;
        seen_start(&a, f.c);
        size_t with_allocators = 0;
        uint64_t prev = 0;
        for (int i = 0; i < 200; i++) {
            dur_txn *t = dbegin(cat);
            uint64_t id;
            uint32_t oid;
            cr_assert_eq(dur_txn_allocate_id(t, DUR_ALLOC_USER_ITEM, &id, NULL), CC_OK);
            cr_assert_eq(dur_txn_allocate_oid(t, &oid, NULL), CC_OK);
            char name[32];
            snprintf(name, sizeof name, "r%d_%d", run, i);
            cr_assert_eq(item_put(t, true, id, 1, name, COWCAT__CATALOG__ITEM_KIND__ITEM_KIND_TABLE,
                                  oid, NULL),
                         CC_OK);
            dcommit(t);
            cr_assert_gt(id, max_id, "run %d: id %llu reused or out of order", run,
                         (unsigned long long)id);
            if (prev != 0)
                cr_assert_eq(id, prev + 1, "ids are contiguous within a run");
            prev = max_id = id;
            with_allocators += a.last_n > 1;
        }
        /* 200 creates draw on ceil(200 / 64) + 1 blocks of each allocator at most */
        cr_assert_leq(with_allocators, 2 * (200 / 64 + 2),
                      "run %d: %zu of 200 commits wrote an allocator", run, with_allocators);
        seen_stop(&a);
        snap_check(dur_snapshot_acquire(cat), "after the run");
        dur_close(cat);
        pfix_reopen(&f);
    }
    pfix_close(&f);
}

Test(dur_txn, external_names_skip_the_name_check_but_still_track_oids)
{
    pfix f;
    dfix_open(&f, PERSIST_BACKEND_FILE);
    dur_options o = {
        .mode = DUR_MODE_WRITABLE, .deploy_generation = 1, .names = DUR_NAMES_EXTERNAL};
    dur_catalog *cat;
    cc_err err;
    cr_assert_eq(dur_open(f.c, &o, &cat, &err), CC_OK, "%s", err.msg);
    dur_txn *t = dbegin(cat);
    uint32_t oid;
    cr_assert_eq(dur_txn_allocate_oid(t, &oid, NULL), CC_OK);
    cr_assert_eq(
        item_put(t, true, 500, 1, "same", COWCAT__CATALOG__ITEM_KIND__ITEM_KIND_TABLE, oid, &err),
        CC_OK, "%s", err.msg);
    /* The layer above owns uniqueness: a second "same" is not this layer's to refuse. */
    cr_assert_eq(item_put(t, true, 501, 1, "same", COWCAT__CATALOG__ITEM_KIND__ITEM_KIND_TABLE,
                          oid + 1, &err),
                 CC_OK, "%s", err.msg);
    dcommit(t);
    const dur_snapshot *s = dur_snapshot_acquire(cat);
    Cowcat__Catalog__CatalogId scope = COWCAT__CATALOG__CATALOG_ID__INIT;
    scope.value = 1;
    cr_assert_null(dur_snapshot_find_name(s, DUR_NAME_RELATION, &scope, "same"));
    cr_assert(dur_snapshot_oid_used(s, oid) && dur_snapshot_oid_used(s, oid + 1),
              "OIDs are tracked without a name index");
    snap_check(s, "external names");
    t = dbegin(cat);
    uint32_t next;
    cr_assert_eq(dur_txn_allocate_oid(t, &next, NULL), CC_OK);
    cr_assert_eq(next, oid + 2, "allocation skips the OIDs written with external names");
    cr_assert_eq(item_del(t, 500, NULL), CC_OK);
    dcommit(t);
    cr_assert_not(dur_snapshot_oid_used(dur_snapshot_acquire(cat), oid));
    dur_close(cat);

    pfix_reopen(&f);
    cr_assert_eq(dur_open(f.c, &o, &cat, &err), CC_OK, "%s", err.msg);
    s = dur_snapshot_acquire(cat);
    cr_assert_not(dur_snapshot_oid_used(s, oid));
    cr_assert(dur_snapshot_oid_used(s, oid + 1));
    cr_assert_null(dur_snapshot_find_name(s, DUR_NAME_RELATION, &scope, "same"));
    snap_check(s, "external names after reopen");
    dur_close(cat);
    pfix_close(&f);
}

typedef struct audit_scan {
    size_t n;
    uint64_t max_id;
} audit_scan;

static int
audit_cb(void *arg, pmap_bytes key, pmap_bytes value, int64_t diff)
{
    audit_scan *a = arg;
    const uint8_t *k = key.ptr;
    (void)value;
    if (k[0] == DUR_AUDIT_LOG && diff == 1) {
        ProtobufCMessage *m;
        pmap_bytes kb = {k + 1, key.len - 1};
        cr_assert_eq(dur_decode(DUR_AUDIT_LOG, DUR_PART_KEY, kb, &m, NULL), CC_OK);
        uint64_t id = ((Cowcat__Catalog__AuditLogKey *)m)->event_id;
        if (id > a->max_id)
            a->max_id = id;
        protobuf_c_message_free_unpacked(m, NULL);
        a->n++;
    }
    return 0;
}

Test(dur_txn, audit_events_are_durable_but_not_in_the_snapshot)
{
    pfix f;
    dfix_open(&f, PERSIST_BACKEND_FILE);
    dur_catalog *cat = dopen(f.c, DUR_MODE_WRITABLE, 1);
    for (int round = 0; round < 3; round++) {
        dur_txn *t = dbegin(cat);
        uint64_t ev[2];
        for (int i = 0; i < 2; i++)
            cr_assert_eq(dur_txn_audit(t,
                                       COWCAT__CATALOG__AUDIT_EVENT_TYPE__AUDIT_EVENT_TYPE_CREATE,
                                       COWCAT__CATALOG__OBJECT_TYPE__OBJECT_TYPE_TABLE, "public.t",
                                       "cowcat", 1000 + round, &ev[i], NULL),
                         CC_OK);
        cr_assert_eq(ev[0], (uint64_t)round * 2 + 1);
        cr_assert_eq(ev[1], ev[0] + 1);
        dcommit(t);
    }
    const dur_snapshot *s = dur_snapshot_acquire(cat);
    cr_assert_eq(dur_snapshot_count(s, DUR_AUDIT_LOG), 6);
    dur_cursor c;
    cr_assert(!dur_cursor_first(&c, s, DUR_AUDIT_LOG), "the audit log is never loaded");
    dur_close(cat);
    pfix_reopen(&f);
    cat = dopen(f.c, DUR_MODE_WRITABLE, 1);
    cr_assert_eq(dur_snapshot_count(dur_snapshot_acquire(cat), DUR_AUDIT_LOG), 6);
    dur_txn *t = dbegin(cat);
    uint64_t ev;
    cr_assert_eq(dur_txn_audit(t, COWCAT__CATALOG__AUDIT_EVENT_TYPE__AUDIT_EVENT_TYPE_DROP,
                               COWCAT__CATALOG__OBJECT_TYPE__OBJECT_TYPE_TABLE, "public.t",
                               "cowcat", 2000, &ev, NULL),
                 CC_OK);
    cr_assert_eq(ev, 7, "event ids continue after a reopen");
    dcommit(t);
    persist_shard *sh = pfix_shard(&f, "catalog");
    audit_scan a = {0, 0};
    cr_assert_eq(persist_snapshot(sh, persist_shard_upper(sh) - 1, audit_cb, &a, NULL), CC_OK);
    cr_assert_eq(a.n, 7);
    cr_assert_eq(a.max_id, 7);
    dur_close(cat);
    pfix_close(&f);
}

/* Opens cat writable with the audit log bounded to keep events. */
static dur_catalog *
dopen_keep(persist_client *c, uint64_t keep)
{
    dur_options o = {.mode = DUR_MODE_WRITABLE, .deploy_generation = 1, .audit_keep = keep};
    dur_catalog *cat;
    cc_err err;
    cr_assert_eq(dur_open(c, &o, &cat, &err), CC_OK, "dur_open: %s", err.msg);
    return cat;
}

/* Commits one transaction of n audit events (with a long detail every 3rd). */
static void
audit_commit(dur_catalog *cat, int n)
{
    char details[400];
    dur_txn *t = dbegin(cat);
    for (int i = 0; i < n; i++) {
        memset(details, 'x', sizeof details - 1);
        details[i % 3 == 0 ? sizeof details - 1 : 8] = '\0';
        cr_assert_eq(dur_txn_audit(t, COWCAT__CATALOG__AUDIT_EVENT_TYPE__AUDIT_EVENT_TYPE_CREATE,
                                   COWCAT__CATALOG__OBJECT_TYPE__OBJECT_TYPE_TABLE, details,
                                   "cowcat", 1000, NULL, NULL),
                     CC_OK);
    }
    dcommit(t);
}

/* The events in the shard: how many, and the smallest and largest id. */
typedef struct audit_span {
    size_t n;
    uint64_t min_id, max_id;
} audit_span;

static int
audit_span_cb(void *arg, uint64_t id, const Cowcat__Catalog__AuditLogValue *v)
{
    audit_span *a = arg;
    (void)v;
    if (a->n++ == 0 || id < a->min_id)
        a->min_id = id;
    if (id > a->max_id)
        a->max_id = id;
    return 0;
}

static audit_span
audit_span_of(dur_catalog *cat)
{
    audit_span a = {0, 0, 0};
    cc_err err;
    cr_assert_eq(dur_audit_walk(cat, audit_span_cb, &a, &err), CC_OK, "%s", err.msg);
    cr_assert_eq(dur_snapshot_count(dur_snapshot_acquire(cat), DUR_AUDIT_LOG), a.n,
                 "the snapshot's count matches the shard");
    return a;
}

Test(dur_txn, the_audit_log_keeps_the_newest_audit_keep_events)
{
    /* Unbounded, the log grew memory and rollups by ~100 bytes per DDL forever
     * (found by tests/soak). */
    pfix f;
    dfix_open(&f, PERSIST_BACKEND_FILE);
    dur_catalog *cat = dopen_keep(f.c, 5);
    for (int round = 0; round < 12; round++)
        audit_commit(cat, 1 + round % 3);
    audit_span a = audit_span_of(cat);
    cr_assert_eq(a.n, 5);
    cr_assert_eq(a.max_id, 24);
    cr_assert_eq(a.min_id, 20, "the newest five are kept");
    dur_close(cat);

    /* A larger bound keeps what is there and lets the log grow to it. */
    pfix_reopen(&f);
    cat = dopen_keep(f.c, 8);
    audit_commit(cat, 2);
    a = audit_span_of(cat);
    cr_assert_eq(a.n, 7);
    cr_assert_eq(a.min_id, 20);
    cr_assert_eq(a.max_id, 26);
    dur_close(cat);

    /* A smaller bound catches up two events per new one, then holds. */
    pfix_reopen(&f);
    cat = dopen_keep(f.c, 2);
    audit_commit(cat, 1);
    a = audit_span_of(cat);
    cr_assert_eq(a.n, 6, "one new event retracts at most two old ones");
    audit_commit(cat, 4);
    a = audit_span_of(cat);
    cr_assert_eq(a.n, 4, "a transaction never retracts its own events");
    cr_assert_eq(a.min_id, 28);
    audit_commit(cat, 1);
    audit_commit(cat, 1);
    a = audit_span_of(cat);
    cr_assert_eq(a.n, 2);
    cr_assert_eq(a.min_id, 32);
    cr_assert_eq(a.max_id, 33);
    snap_check(dur_snapshot_acquire(cat), "after trimming the audit log");
    pmap_fp before = fp_without_fence(dur_snapshot_acquire(cat));
    dur_close(cat);
    persist_client_rollup(f.c, NULL);
    pfix_reopen(&f);
    cat = dopen_keep(f.c, 2);
    a = audit_span_of(cat);
    cr_assert_eq(a.n, 2, "the trimmed log is what a reopen recovers");
    cr_assert_eq(a.min_id, 32);
    pmap_fp after = fp_without_fence(dur_snapshot_acquire(cat));
    cr_assert(pmap_fp_equal(before, after));
    dur_close(cat);
    pfix_close(&f);
}

Test(dur_txn, every_allocation_failure_while_trimming_the_audit_log_poisons_only_that_txn)
{
    pfix f;
    dfix_open(&f, PERSIST_BACKEND_MEM);
    dur_catalog *cat = dopen_keep(f.c, 3);
    for (int i = 0; i < 3; i++)
        audit_commit(cat, 1);
    size_t n;
    for (n = 1;; n++) {
        dur_txn *t = dbegin(cat);
        cc_alloc_fail_at(n);
        cc_code rc = dur_txn_audit(t, COWCAT__CATALOG__AUDIT_EVENT_TYPE__AUDIT_EVENT_TYPE_DROP,
                                   COWCAT__CATALOG__OBJECT_TYPE__OBJECT_TYPE_TABLE, "public.t",
                                   "cowcat", 1, NULL, NULL);
        int fired = cc_alloc_failed();
        cc_alloc_fail_at(0);
        if (rc == CC_OK && !fired) {
            dcommit(t);
            break;
        }
        cr_assert_eq(rc, CC_NOMEM, "N=%zu", n);
        /* Misuse on purpose: a commit after the failure either fails (the txn
         * is poisoned) or has nothing to write — never an event without its
         * retractions, or retractions without the event. */
        (void)dur_txn_commit(t, NULL, NULL);
        audit_span a = audit_span_of(cat);
        cr_assert(a.n == 3 && a.min_id == 1 && a.max_id == 3, "N=%zu: the log changed", n);
    }
    cr_assert_gt(n, 2, "the trim allocates (else this test sweeps nothing)");
    audit_span a = audit_span_of(cat);
    cr_assert(a.n == 3 && a.min_id == 2 && a.max_id == 4);
    dur_close(cat);
    pfix_close(&f);
}

Test(dur_txn, commits_let_persist_compact_the_catalog_history)
{
    /* Without since moving, persist would keep every DDL's updates forever
     * (memory, rollup size and reopen would grow with history). */
    pfix f;
    dfix_open(&f, PERSIST_BACKEND_FILE);
    dur_catalog *cat = dopen(f.c, DUR_MODE_WRITABLE, 1);
    for (uint64_t i = 0; i < 200; i++) {
        char name[32];
        snprintf(name, sizeof name, "t%llu", (unsigned long long)i);
        dur_txn *t = dbegin(cat);
        cc_err err;
        cr_assert_eq(item_put(t, true, 1000 + i, 1, name,
                              COWCAT__CATALOG__ITEM_KIND__ITEM_KIND_TABLE, 30000 + (uint32_t)i,
                              &err),
                     CC_OK, "%s", err.msg);
        dcommit(t);
    }
    uint64_t upper = dur_upper(cat);
    persist_shard *s;
    cr_assert_eq(persist_shard_open(f.c, "catalog", &s, NULL), CC_OK);
    uint64_t since = persist_shard_since(s);
    cr_assert_gt(since, 0, "the writer never moved since");
    cr_assert_geq(since + 64 + 1, upper - 1, "since lags by more than 64 commits: %llu vs %llu",
                  (unsigned long long)since, (unsigned long long)upper);
    dur_close(cat);

    pfix_reopen(&f);
    dur_catalog *ro = dopen(f.c, DUR_MODE_READ_ONLY, 0);
    cr_assert_eq(dur_upper(ro), upper);
    cr_assert_str_eq(item_name(dur_snapshot_acquire(ro), 1199), "t199");
    cr_assert_str_eq(item_name(dur_snapshot_acquire(ro), 1000), "t0");
    snap_check(dur_snapshot_acquire(ro), "after reopen with compacted history");
    dur_close(ro);
    pfix_close(&f);
}

/* dur__scan_oid reads the OID off the wire exactly as a decode would. */
Test(dur_wire, scanning_the_oid_agrees_with_decoding_and_refuses_bad_bytes)
{
    uint64_t seed = tu_seed("dur_wire");
    tu_rng r;
    tu_rng_init(&r, seed);
    for (int i = 0; i < 2000; i++) {
        Cowcat__Catalog__CatalogId sid = COWCAT__CATALOG__CATALOG_ID__INIT;
        Cowcat__Catalog__Column col = COWCAT__CATALOG__COLUMN__INIT;
        Cowcat__Catalog__Column *cols[] = {&col};
        Cowcat__Catalog__ItemValue v = COWCAT__CATALOG__ITEM_VALUE__INIT;
        char name[32];
        snprintf(name, sizeof name, "n%llu", (unsigned long long)tu_rng_next(&r));
        sid.value = tu_rng_next(&r);
        col.name = "c";
        col.type_name = "int4";
        col.typmod = (int32_t)tu_rng_below(&r, 100) - 50;
        v.schema = &sid;
        v.name = name;
        v.kind = COWCAT__CATALOG__ITEM_KIND__ITEM_KIND_TABLE;
        v.create_sql = "CREATE TABLE x (c int4)";
        v.oid = (uint32_t)(i % 3 == 0 ? 0 : tu_rng_next(&r));
        v.n_columns = tu_rng_below(&r, 2);
        v.columns = cols;
        uint8_t buf[512];
        size_t n = protobuf_c_message_pack(&v.base, buf);
        uint32_t oid = 1;
        cr_assert(dur__scan_oid(DUR_ITEMS, (pmap_bytes){buf, n}, &oid), "seed %llu i %d",
                  (unsigned long long)seed, i);
        cr_assert_eq(oid, v.oid, "seed %llu i %d: scanned %u, stored %u", (unsigned long long)seed,
                     i, oid, v.oid);
        /* a message cut inside a field is refused, never misread */
        size_t cut = 1 + tu_rng_below(&r, n - 1);
        uint32_t o2;
        ProtobufCMessage *m;
        bool scanned = dur__scan_oid(DUR_ITEMS, (pmap_bytes){buf, cut}, &o2);
        bool decoded =
            dur_decode(DUR_ITEMS, DUR_PART_VALUE, (pmap_bytes){buf, cut}, &m, NULL) == CC_OK;
        if (decoded) {
            cr_assert(scanned, "seed %llu i %d: decodable prefix refused", (unsigned long long)seed,
                      i);
            cr_assert_eq(o2, ((Cowcat__Catalog__ItemValue *)m)->oid);
            protobuf_c_message_free_unpacked(m, NULL);
        } else {
            cr_assert_not(scanned, "seed %llu i %d: a cut at %zu of %zu scanned as %u",
                          (unsigned long long)seed, i, cut, n, o2);
        }
    }
    Cowcat__Catalog__RoleValue rv = COWCAT__CATALOG__ROLE_VALUE__INIT;
    rv.name = "r";
    rv.oid = 77;
    uint8_t b[64];
    uint32_t o;
    cr_assert(dur__scan_oid(DUR_ROLES, (pmap_bytes){b, protobuf_c_message_pack(&rv.base, b)}, &o));
    cr_assert_eq(o, 77);
}
