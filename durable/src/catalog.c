/*
 * durable/src/catalog.c — opening a catalog (load, bootstrap, upgrade, fence),
 * publishing versions, catching up after a lost race, and following the shard
 * read-only.
 *
 * Open loads the consolidated snapshot at upper - 1 once (load.c: the only
 * full pass); everything after is incremental. A writable open writes ONE
 * append: the bootstrap (empty shard) or the format upgrade (older version),
 * plus the fence token (generation, epoch + 1) and the txn_wal_shard entry —
 * with txn-wal's part (tables.c) in the same record.
 *
 * Bootstrap contents (ids: s = system, u = user):
 *   roles     s1 cowcat_system (superuser, oid 10); u1 cowcat (login,
 *             CREATEDB, CREATEROLE, not superuser)
 *   schemas   s1 cowcat_catalog (oid 11), s2 information_schema (oid 12),
 *             ambient; u1 public in database cowcat, owned by cowcat
 *   databases u1 cowcat, owned by cowcat
 *   clusters  u1 default
 *   system_configuration: max_* limits = DUR_DEFAULT_LIMIT
 *   id_allocator: database, schema, user, system, user_role, user_compute, oid
 *   config catalog_format_version; settings catalog_content_version
 */
#include <string.h>

#include "base/alloc.h"
#include "internal.h"

static const char *const limit_names[] = {
    "max_databases",
    "max_schemas_per_database",
    "max_objects_per_schema",
    "max_tables",
    "max_views",
    "max_materialized_views",
    "max_indexes",
    "max_roles",
    "max_clusters",
};

uint64_t
dur_upper(dur_catalog *cat)
{
    return atomic_load_explicit(&cat->cur, memory_order_acquire)->upper;
}

dur_fence
dur_fence_token(dur_catalog *cat)
{
    if (cat->opts.mode == DUR_MODE_WRITABLE)
        return cat->mine;
    return atomic_load_explicit(&cat->cur, memory_order_acquire)->fence;
}

bool
dur_is_fenced(dur_catalog *cat)
{
    return cat->fenced;
}

cc_code
dur_health(dur_catalog *cat, cc_err *err)
{
    if (__atomic_load_n(&cat->fenced, __ATOMIC_ACQUIRE))
        return cc_err_set(err, CC_FENCED, "catalog writer fenced by a newer writer; close and "
                                          "reopen the data directory");
    if (__atomic_load_n(&cat->broken, __ATOMIC_ACQUIRE))
        return cc_err_set(err, CC_INTERNAL, "catalog handle missed a durable change and must be "
                                            "reopened");
    return CC_OK;
}

pmap_domain *
dur_catalog_domain(dur_catalog *cat)
{
    return cat->domain;
}

const dur_snapshot *
dur_snapshot_acquire(dur_catalog *cat)
{
    /* Pairs with the release store in dur__catalog_advance. */
    return atomic_load_explicit(&cat->cur, memory_order_acquire);
}

static void
free_snapshot_struct(void *p)
{
    cc_free(p);
}

cc_code
dur__catalog_prepare(dur_catalog *cat, const persist_update *u, const dur__meta *meta, size_t n,
                     uint64_t new_upper, dur__next *out, cc_err *err)
{
    *out = (dur__next){NULL, NULL};
    dur_snapshot *old = atomic_load_explicit(&cat->cur, memory_order_relaxed);
    dur_snapshot *next = cc_malloc(sizeof *next);
    if (next == NULL)
        return cc_err_set(err, CC_NOMEM, "out of memory applying catalog updates");
    *next = *old;
    pmap_txn *pt;
    cc_code rc = pmap_txn_begin(cat->domain, &pt, err);
    if (rc != CC_OK) {
        cc_free(next);
        return rc;
    }
    rc = dur__snap_apply(next, pt, u, meta, n, err);
    if (rc == CC_OK)
        rc = pmap_txn_defer(pt, free_snapshot_struct, old, err);
    if (rc != CC_OK) {
        pmap_txn_abort(pt);
        cc_free(next);
        return rc;
    }
    next->upper = new_upper;
    *out = (dur__next){next, pt};
    return CC_OK;
}

void
dur__catalog_publish(dur_catalog *cat, dur__next *next)
{
    /* Publish before commit (pmap/domain.h); pairs with dur_snapshot_acquire. */
    atomic_store_explicit(&cat->cur, next->snap, memory_order_release);
    pmap_txn_commit(next->pt);
    *next = (dur__next){NULL, NULL};
}

void
dur__catalog_discard(dur__next *next)
{
    if (next->pt != NULL)
        pmap_txn_abort(next->pt);
    cc_free(next->snap);
    *next = (dur__next){NULL, NULL};
}

cc_code
dur__catalog_advance(dur_catalog *cat, const persist_update *u, const dur__meta *meta, size_t n,
                     uint64_t new_upper, cc_err *err)
{
    /* The SNAPSHOT ablation, for the writer's own commits only (meta is
     * theirs; a followed append runs under the shard's lock, so it could
     * not read the shard). */
    if (meta != NULL && cat->opts.snapshot == DUR_SNAPSHOT_REBUILD)
        return dur__catalog_reload(cat, new_upper, err);
    dur__next next;
    cc_code rc = dur__catalog_prepare(cat, u, meta, n, new_upper, &next, err);
    if (rc == CC_OK)
        dur__catalog_publish(cat, &next);
    return rc;
}

/* --- changes from raw updates (followers) ------------------------------------- */

static int
upd_cmp(const void *a, const void *b)
{
    const persist_update *x = a, *y = b;
    size_t n = x->key.len < y->key.len ? x->key.len : y->key.len;
    int c = memcmp(x->key.ptr, y->key.ptr, n);
    if (c == 0)
        c = (x->key.len > y->key.len) - (x->key.len < y->key.len);
    return c != 0 ? c : (x->diff > y->diff) - (x->diff < y->diff);
}

/* Pairs -old/+new per key into a new dur_changes (O(m log m) in the append's size). */
static dur_changes *
changes_from(const persist_update *u, size_t n, uint64_t upper)
{
    dur_changes *ch = cc_calloc(1, sizeof *ch);
    persist_update *s = cc_malloc((n + 1) * sizeof *s);
    if (ch == NULL || s == NULL || (ch->v = cc_calloc(n + 1, sizeof *ch->v)) == NULL)
        goto fail;
    memcpy(s, u, n * sizeof *s);
    qsort(s, n, sizeof *s, upd_cmp);
    for (size_t i = 0; i < n;) {
        size_t j = i;
        dur_change *c = &ch->v[ch->n];
        const uint8_t *kp = s[i].key.ptr;
        c->coll = kp[0];
        if ((c->key = dur__blob_new(kp + 1, s[i].key.len - 1)) == NULL)
            goto fail;
        ch->n++;
        for (; j < n && upd_cmp(&(persist_update){s[i].key, {0}, 0, s[j].diff}, &s[j]) == 0; j++) {
            dur_blob *b = dur__blob_new(s[j].value.ptr, s[j].value.len);
            if (b == NULL)
                goto fail;
            if (s[j].diff < 0)
                c->old_value = b;
            else
                c->new_value = b;
        }
        i = j;
    }
    ch->upper = upper;
    cc_free(s);
    return ch;
fail:
    cc_free(s);
    dur_changes_free(ch);
    return NULL;
}

/* --- following ------------------------------------------------------------------ */

static void
follow_cb(void *arg, const persist_update *u, size_t n, uint64_t lower, uint64_t upper)
{
    dur_catalog *cat = arg;
    (void)lower;
    pthread_mutex_lock(&cat->lock);
    if (!cat->broken) {
        cc_err e;
        cc_err_clear(&e);
        if (dur__catalog_advance(cat, u, NULL, n, upper, &e) != CC_OK)
            cat->broken = true;
        else if (cat->opts.mode == DUR_MODE_WRITABLE) {
            dur_fence f = atomic_load(&cat->cur)->fence;
            if (f.generation != cat->mine.generation || f.epoch != cat->mine.epoch)
                cat->fenced = true;
        }
    }
    pthread_mutex_unlock(&cat->lock);
    if (!cat->broken && cat->opts.on_change != NULL) {
        dur_changes *ch = changes_from(u, n, upper);
        if (ch != NULL)
            cat->opts.on_change(cat->opts.on_change_arg, ch);
        else
            cat->broken = true;
        dur_changes_free(ch);
    }
}

/*
 * Writer: reads the appends it missed (a short listen from its upper) and
 * applies them; a newer fence token among them fences the handle.
 */
cc_code
dur__catalog_sync(dur_catalog *cat, cc_err *err)
{
    persist_listener *l;
    dur_follow_fn saved = cat->opts.on_change;
    cat->opts.on_change = NULL;
    cc_code rc = persist_listen(cat->shard, dur_upper(cat), follow_cb, cat, &l, err);
    if (rc == CC_OK)
        persist_listen_stop(l);
    cat->opts.on_change = saved;
    if (rc == CC_OK && cat->broken)
        rc = cc_err_set(err, CC_INTERNAL, "catalog handle could not apply updates it missed");
    return rc;
}

/* --- bootstrap -------------------------------------------------------------------- */

static Cowcat__Catalog__CatalogId
cid(bool system, uint64_t v)
{
    Cowcat__Catalog__CatalogId id = COWCAT__CATALOG__CATALOG_ID__INIT;
    id.system = system;
    id.value = v;
    return id;
}

static cc_code
put_alloc(dur_txn *t, const char *name, uint64_t next, cc_err *err)
{
    Cowcat__Catalog__IdAllocKey k = COWCAT__CATALOG__ID_ALLOC_KEY__INIT;
    Cowcat__Catalog__IdAllocValue v = COWCAT__CATALOG__ID_ALLOC_VALUE__INIT;
    k.name = (char *)name;
    v.next_id = next;
    return dur_txn_insert(t, DUR_ID_ALLOCATOR, &k.base, &v.base, err);
}

static cc_code
put_role(dur_txn *t, Cowcat__Catalog__CatalogId id, const char *name, bool super, uint32_t oid,
         cc_err *err)
{
    Cowcat__Catalog__RoleKey k = COWCAT__CATALOG__ROLE_KEY__INIT;
    Cowcat__Catalog__RoleValue v = COWCAT__CATALOG__ROLE_VALUE__INIT;
    Cowcat__Catalog__RoleAttributes a = COWCAT__CATALOG__ROLE_ATTRIBUTES__INIT;
    k.id = &id;
    v.name = (char *)name;
    a.superuser = super;
    a.login = true;
    a.inherit = true;
    a.create_db = true;
    a.create_role = true;
    v.attributes = &a;
    v.oid = oid;
    return dur_txn_insert(t, DUR_ROLES, &k.base, &v.base, err);
}

static cc_code
put_schema(dur_txn *t, Cowcat__Catalog__CatalogId id, Cowcat__Catalog__CatalogId *db,
           const char *name, Cowcat__Catalog__CatalogId owner, uint32_t oid, cc_err *err)
{
    Cowcat__Catalog__SchemaKey k = COWCAT__CATALOG__SCHEMA_KEY__INIT;
    Cowcat__Catalog__SchemaValue v = COWCAT__CATALOG__SCHEMA_VALUE__INIT;
    k.id = &id;
    if (db != NULL) {
        v.database_opt_case = COWCAT__CATALOG__SCHEMA_VALUE__DATABASE_OPT_DATABASE;
        v.database = db;
    }
    v.name = (char *)name;
    v.owner = &owner;
    v.oid = oid;
    return dur_txn_insert(t, DUR_SCHEMAS, &k.base, &v.base, err);
}

static cc_code
put_string(dur_txn *t, dur_collection coll, const char *name, const char *value, cc_err *err)
{
    if (coll == DUR_SETTINGS) {
        Cowcat__Catalog__SettingKey k = COWCAT__CATALOG__SETTING_KEY__INIT;
        Cowcat__Catalog__SettingValue v = COWCAT__CATALOG__SETTING_VALUE__INIT;
        k.name = (char *)name;
        v.value = (char *)value;
        return dur_txn_insert(t, coll, &k.base, &v.base, err);
    }
    Cowcat__Catalog__SystemConfigurationKey k = COWCAT__CATALOG__SYSTEM_CONFIGURATION_KEY__INIT;
    Cowcat__Catalog__SystemConfigurationValue v = COWCAT__CATALOG__SYSTEM_CONFIGURATION_VALUE__INIT;
    k.name = (char *)name;
    v.value = (char *)value;
    return dur_txn_insert(t, coll, &k.base, &v.base, err);
}

static cc_code
bootstrap(dur_txn *t, cc_err *err)
{
    static const char *const allocs[] = {DUR_ALLOC_DATABASE,  DUR_ALLOC_SCHEMA,
                                         DUR_ALLOC_USER_ITEM, DUR_ALLOC_SYSTEM_ITEM,
                                         DUR_ALLOC_USER_ROLE, DUR_ALLOC_USER_CLUSTER};
    cc_code rc = CC_OK;
    for (size_t i = 0; i < sizeof allocs / sizeof *allocs && rc == CC_OK; i++)
        rc = put_alloc(t, allocs[i], 1, err);
    if (rc == CC_OK)
        rc = put_alloc(t, DUR_ALLOC_OID, DUR_FIRST_USER_OID, err);
    Cowcat__Catalog__CatalogId sys = cid(true, 1);
    uint64_t role_id = 0, db_id = 0, schema_id = 0, cluster_id = 0;
    uint32_t role_oid = 0, db_oid = 0, schema_oid = 0;
    if (rc == CC_OK)
        rc = put_role(t, sys, "cowcat_system", true, 10, err);
    if (rc == CC_OK)
        rc = dur_txn_allocate_id(t, DUR_ALLOC_USER_ROLE, &role_id, err);
    if (rc == CC_OK)
        rc = dur_txn_allocate_oid(t, &role_oid, err);
    Cowcat__Catalog__CatalogId owner = cid(false, role_id);
    if (rc == CC_OK)
        rc = put_role(t, owner, "cowcat", false, role_oid, err);
    if (rc == CC_OK)
        rc = put_schema(t, cid(true, 1), NULL, "cowcat_catalog", sys, 11, err);
    if (rc == CC_OK)
        rc = put_schema(t, cid(true, 2), NULL, "information_schema", sys, 12, err);
    if (rc == CC_OK)
        rc = dur_txn_allocate_id(t, DUR_ALLOC_DATABASE, &db_id, err);
    if (rc == CC_OK)
        rc = dur_txn_allocate_oid(t, &db_oid, err);
    Cowcat__Catalog__CatalogId db = cid(false, db_id);
    if (rc == CC_OK) {
        Cowcat__Catalog__DatabaseKey k = COWCAT__CATALOG__DATABASE_KEY__INIT;
        Cowcat__Catalog__DatabaseValue v = COWCAT__CATALOG__DATABASE_VALUE__INIT;
        k.id = &db;
        v.name = "cowcat";
        v.owner = &owner;
        v.oid = db_oid;
        rc = dur_txn_insert(t, DUR_DATABASES, &k.base, &v.base, err);
    }
    if (rc == CC_OK)
        rc = dur_txn_allocate_id(t, DUR_ALLOC_SCHEMA, &schema_id, err);
    if (rc == CC_OK)
        rc = dur_txn_allocate_oid(t, &schema_oid, err);
    if (rc == CC_OK)
        rc = put_schema(t, cid(false, schema_id), &db, "public", owner, schema_oid, err);
    if (rc == CC_OK)
        rc = dur_txn_allocate_id(t, DUR_ALLOC_USER_CLUSTER, &cluster_id, err);
    if (rc == CC_OK) {
        Cowcat__Catalog__CatalogId id = cid(false, cluster_id);
        Cowcat__Catalog__ClusterKey k = COWCAT__CATALOG__CLUSTER_KEY__INIT;
        Cowcat__Catalog__ClusterValue v = COWCAT__CATALOG__CLUSTER_VALUE__INIT;
        k.id = &id;
        v.name = "default";
        v.owner = &sys;
        v.size = "1";
        v.replication_factor = 1;
        rc = dur_txn_insert(t, DUR_CLUSTERS, &k.base, &v.base, err);
    }
    for (size_t i = 0; i < sizeof limit_names / sizeof *limit_names && rc == CC_OK; i++)
        rc = put_string(t, DUR_SYSTEM_CONFIGURATION, limit_names[i], DUR_DEFAULT_LIMIT, err);
    if (rc == CC_OK)
        rc = put_string(t, DUR_SETTINGS, "catalog_content_version", "cowcat 0.1.0", err);
    return rc;
}

/* Bootstrap or upgrade if needed, then the fence bump: one commit. */
static cc_code
open_writable(dur_catalog *cat, cc_err *err)
{
    const dur_snapshot *s = dur_snapshot_acquire(cat);
    if (s->fence.generation > cat->opts.deploy_generation)
        return cc_err_set(err, CC_FENCED,
                          "catalog is owned by deploy generation %llu, newer than %llu",
                          (unsigned long long)s->fence.generation,
                          (unsigned long long)cat->opts.deploy_generation);
    dur_txn *t;
    cc_code rc = dur_txn_begin(cat, &t, err);
    if (rc != CC_OK)
        return rc;
    Cowcat__Catalog__ConfigKey ck = COWCAT__CATALOG__CONFIG_KEY__INIT;
    Cowcat__Catalog__ConfigValue cv = COWCAT__CATALOG__CONFIG_VALUE__INIT;
    ck.key = "catalog_format_version";
    cv.value = DUR_FORMAT_VERSION;
    ProtobufCMessage *m = NULL;
    rc = dur_txn_get(t, DUR_CONFIG, &ck.base, &m, err);
    if (rc == CC_NOT_FOUND) {
        if (dur_snapshot_count(s, DUR_DATABASES) + dur_snapshot_count(s, DUR_ROLES) > 0)
            rc = cc_err_set(err, CC_CORRUPT, "catalog has objects but no format version");
        else if ((rc = bootstrap(t, err)) == CC_OK)
            rc = dur_txn_insert(t, DUR_CONFIG, &ck.base, &cv.base, err);
    } else if (rc == CC_OK) {
        uint64_t have = ((Cowcat__Catalog__ConfigValue *)m)->value;
        if (have > DUR_FORMAT_VERSION)
            rc = cc_err_set(err, CC_INVALID,
                            "catalog format version %llu is newer than this build's %u",
                            (unsigned long long)have, DUR_FORMAT_VERSION);
        else if (have < DUR_FORMAT_VERSION)
            rc = dur_txn_update(t, DUR_CONFIG, &ck.base, &cv.base, err);
    }
    if (m != NULL)
        protobuf_c_message_free_unpacked(m, NULL);
    dur_fence f = {cat->opts.deploy_generation, s->fence.epoch + 1};
    if (rc == CC_OK) {
        Cowcat__Catalog__FenceTokenKey fk = COWCAT__CATALOG__FENCE_TOKEN_KEY__INIT;
        Cowcat__Catalog__FenceTokenValue fv = COWCAT__CATALOG__FENCE_TOKEN_VALUE__INIT;
        fv.deploy_generation = f.generation;
        fv.epoch = f.epoch;
        rc = dur_txn_set(t, DUR_FENCE_TOKEN, &fk.base, &fv.base, err);
    }
    if (rc == CC_OK)
        rc = dur__tables_prepare(cat, t, err);
    if (rc != CC_OK) {
        dur_txn_abort(t);
        return rc;
    }
    cat->mine = f;
    return dur_txn_commit(t, NULL, err);
}

static void
close_maps(dur_catalog *cat)
{
    dur_snapshot *s = atomic_load(&cat->cur);
    if (s == NULL)
        return;
    pmap_txn *pt;
    if (pmap_txn_begin(cat->domain, &pt, NULL) == CC_OK) {
        if (dur__snap_drop(s, pt, NULL) == CC_OK)
            pmap_txn_commit(pt);
        else
            pmap_txn_abort(pt);
    }
    cc_free(s);
    atomic_store(&cat->cur, NULL);
}

cc_code
dur_open(persist_client *c, const dur_options *opts, dur_catalog **out, cc_err *err)
{
    if (c == NULL || opts == NULL || out == NULL ||
        (opts->mode != DUR_MODE_WRITABLE && opts->mode != DUR_MODE_READ_ONLY))
        return cc_err_set(err, CC_INVALID, "dur_open: invalid argument");
    dur_catalog *cat = cc_calloc(1, sizeof *cat);
    if (cat == NULL)
        return cc_err_set(err, CC_NOMEM, "out of memory opening the catalog");
    cat->client = c;
    cat->opts = *opts;
    pthread_mutex_init(&cat->lock, NULL);
    cc_code rc = pmap_domain_new(NULL, &cat->domain, err);
    if (rc == CC_OK)
        rc = persist_shard_open(c, opts->shard_id ? opts->shard_id : "catalog", &cat->shard, err);
    if (rc == CC_OK)
        rc = dur__catalog_load(cat, err);
    if (rc == CC_OK && opts->mode == DUR_MODE_WRITABLE)
        rc = dur__tables_open(cat, err);
    if (rc == CC_OK && opts->mode == DUR_MODE_WRITABLE)
        rc = open_writable(cat, err);
    if (rc == CC_OK && opts->mode == DUR_MODE_READ_ONLY)
        rc = persist_listen(cat->shard, dur_upper(cat), follow_cb, cat, &cat->listener, err);
    if (rc != CC_OK) {
        dur_close(cat);
        return rc;
    }
    *out = cat;
    return CC_OK;
}

void
dur_close(dur_catalog *cat)
{
    if (cat == NULL)
        return;
    persist_listen_stop(cat->listener);
    txnwal_close(cat->tw);
    if (cat->domain != NULL) {
        close_maps(cat);
        pmap_domain_free(cat->domain);
    }
    pthread_mutex_destroy(&cat->lock);
    cc_free(cat);
}
