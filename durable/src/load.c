/*
 * durable/src/load.c — building the first cached Snapshot from the shard's
 * consolidated contents, in one pass and bulk builds.
 *
 * persist_snapshot yields entries in (tagged key, value) order, so each
 * collection is one contiguous, already sorted run: its map is bulk-built
 * (leaves packed full, no per-entry path copies). Indexed values are decoded
 * once here for their name key and OID; name keys and OIDs are sorted and
 * bulk-built too. Cost: O(n log n) for the sorts, O(n) for everything else;
 * this is the only full pass — every later version is made incrementally,
 * unless the DUR_SNAPSHOT_REBUILD ablation makes every commit reload here.
 *
 *   keys arena   [tagged key bytes][tagged key bytes]...   (offsets in ents)
 *   names arena  [name key bytes]...                       (offsets in names)
 */
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "internal.h"

typedef struct ent {
    size_t off, len; /* tagged key in the keys arena */
    dur_blob *value;
} ent;

typedef struct name_ent {
    size_t off, len; /* name key in the names arena */
    unsigned idx;    /* dur_name_index */
    dur_blob *key;   /* encoded catalog key */
} name_ent;

typedef struct loader {
    dur__buf keys, names;
    ent *ents;
    size_t n, cap;
    name_ent *nm;
    size_t nn, ncap;
    uint32_t *oids;
    size_t no, ocap;
    dur_snapshot *s;
    cc_err *err;
    cc_code rc;
} loader;

static bool
grow(void **p, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return true;
    size_t c = *cap ? *cap * 2 : 1024;
    void *q = cc_realloc(*p, c * size);
    if (q == NULL)
        return false;
    *p = q;
    *cap = c;
    return true;
}

static cc_code
index_value(loader *l, dur_collection coll, pmap_bytes key, pmap_bytes value)
{
    if (l->s->external_names && coll != DUR_FENCE_TOKEN) {
        /* Only the OID is needed: read it off the wire, decode nothing (the
         * catalog above decodes and checks every object value at its open). */
        uint32_t oid;
        if (!dur__scan_oid(coll, value, &oid))
            return cc_err_set(l->err, CC_CORRUPT, "catalog %s: undecodable value",
                              dur_collection_name(coll));
        if (oid != 0 && !grow((void **)&l->oids, &l->ocap, l->no, sizeof *l->oids))
            return cc_err_set(l->err, CC_NOMEM, "out of memory loading the catalog");
        if (oid != 0)
            l->oids[l->no++] = oid;
        return CC_OK;
    }
    ProtobufCMessage *m;
    cc_code rc = dur_decode(coll, DUR_PART_VALUE, value, &m, l->err);
    if (rc != CC_OK)
        return rc;
    if (coll == DUR_FENCE_TOKEN) {
        const Cowcat__Catalog__FenceTokenValue *f = (const void *)m;
        l->s->fence.generation = f->deploy_generation;
        l->s->fence.epoch = f->epoch;
        protobuf_c_message_free_unpacked(m, NULL);
        return CC_OK;
    }
    dur__buf nk = {0};
    dur_name_index idx;
    if (!l->s->external_names && dur__name_key(coll, m, &idx, &nk, &rc, l->err) && rc == CC_OK) {
        if (!grow((void **)&l->nm, &l->ncap, l->nn, sizeof *l->nm)) {
            rc = cc_err_set(l->err, CC_NOMEM, "out of memory loading the catalog");
        } else {
            name_ent *e = &l->nm[l->nn];
            e->off = l->names.len;
            e->len = nk.len;
            e->idx = idx;
            e->key = dur__blob_new(key.ptr, key.len);
            if (e->key == NULL)
                rc = cc_err_set(l->err, CC_NOMEM, "out of memory loading the catalog");
            else if ((rc = dur__buf_put(&l->names, nk.p, nk.len, l->err)) == CC_OK)
                l->nn++;
            else
                dur_blob_unref(e->key);
        }
    }
    dur__buf_fini(&nk);
    uint32_t oid = dur__value_oid(coll, m);
    if (rc == CC_OK && oid != 0) {
        if (!grow((void **)&l->oids, &l->ocap, l->no, sizeof *l->oids))
            rc = cc_err_set(l->err, CC_NOMEM, "out of memory loading the catalog");
        else
            l->oids[l->no++] = oid;
    }
    protobuf_c_message_free_unpacked(m, NULL);
    return rc;
}

static int
load_cb(void *arg, pmap_bytes key, pmap_bytes value, int64_t diff)
{
    loader *l = arg;
    const uint8_t *kp = key.ptr;
    if (diff != 1 || key.len < 1 || kp[0] < DUR_COLLECTION_MIN || kp[0] > DUR_COLLECTION_MAX) {
        l->rc = cc_err_set(l->err, CC_CORRUPT, "malformed catalog entry (net diff %lld)",
                           (long long)diff);
        return 1;
    }
    dur_collection coll = kp[0];
    pmap_bytes k = {kp + 1, key.len - 1};
    if (coll == DUR_AUDIT_LOG) {
        ProtobufCMessage *m;
        if ((l->rc = dur_decode(coll, DUR_PART_KEY, k, &m, l->err)) != CC_OK)
            return 1;
        uint64_t id = ((Cowcat__Catalog__AuditLogKey *)m)->event_id;
        protobuf_c_message_free_unpacked(m, NULL);
        l->s->audit_count++;
        if (id + 1 > l->s->audit_next_id)
            l->s->audit_next_id = id + 1;
        return 0;
    }
    if (!grow((void **)&l->ents, &l->cap, l->n, sizeof *l->ents)) {
        l->rc = cc_err_set(l->err, CC_NOMEM, "out of memory loading the catalog");
        return 1;
    }
    ent *e = &l->ents[l->n];
    e->off = l->keys.len;
    e->len = key.len;
    e->value = dur__blob_new(value.ptr, value.len);
    if (e->value == NULL) {
        l->rc = cc_err_set(l->err, CC_NOMEM, "out of memory loading the catalog");
        return 1;
    }
    if ((l->rc = dur__buf_put(&l->keys, key.ptr, key.len, l->err)) != CC_OK) {
        dur_blob_unref(e->value);
        return 1;
    }
    l->n++;
    if (coll == DUR_DATABASES || coll == DUR_SCHEMAS || coll == DUR_ITEMS || coll == DUR_ROLES ||
        coll == DUR_CLUSTERS || coll == DUR_FENCE_TOKEN)
        l->rc = index_value(l, coll, k, value);
    return l->rc != CC_OK;
}

/* Orders name entries by (index, name key); arg is the names arena. */
static int
name_cmp(const void *a, const void *b, void *arg)
{
    const uint8_t *names_base = arg;
    const name_ent *x = a, *y = b;
    if (x->idx != y->idx)
        return x->idx < y->idx ? -1 : 1;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(names_base + x->off, names_base + y->off, n);
    return c != 0 ? c : (x->len > y->len) - (x->len < y->len);
}

static int
u32_cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Bulk-builds every map of l->s from the collected runs. */
static cc_code
build(loader *l, pmap_txn *pt)
{
    size_t maxn = l->n > l->nn ? l->n : l->nn;
    if (l->no > maxn)
        maxn = l->no;
    pmap_bytes *keys = cc_malloc((maxn + 1) * sizeof *keys);
    void **vals = cc_malloc((maxn + 1) * sizeof *vals);
    uint8_t *oidk = cc_malloc((l->no + 1) * 8);
    cc_code rc = CC_OK;
    if (keys == NULL || vals == NULL || oidk == NULL) {
        rc = cc_err_set(l->err, CC_NOMEM, "out of memory loading the catalog");
        goto out;
    }
    for (size_t i = 0; i < l->n && rc == CC_OK;) {
        dur_collection coll = l->keys.p[l->ents[i].off];
        size_t j = i;
        for (; j < l->n && l->keys.p[l->ents[j].off] == coll; j++) {
            keys[j - i] = (pmap_bytes){l->keys.p + l->ents[j].off + 1, l->ents[j].len - 1};
            vals[j - i] = l->ents[j].value;
        }
        rc = pmap_omap_build(pt, &l->s->coll[coll], keys, vals, j - i, l->err);
        i = j;
    }
    if (l->nn > 1)
        qsort_r(l->nm, l->nn, sizeof *l->nm, name_cmp, l->names.p);
    for (size_t i = 0; i < l->nn && rc == CC_OK;) {
        unsigned idx = l->nm[i].idx;
        size_t j = i;
        for (; j < l->nn && l->nm[j].idx == idx; j++) {
            keys[j - i] = (pmap_bytes){l->names.p + l->nm[j].off, l->nm[j].len};
            vals[j - i] = l->nm[j].key;
        }
        rc = pmap_omap_build(pt, &l->s->names[idx], keys, vals, j - i, l->err);
        if (rc == CC_INVALID)
            rc = cc_err_set(l->err, CC_CORRUPT, "duplicate names in the catalog's %u index", idx);
        i = j;
    }
    if (l->no > 1)
        qsort(l->oids, l->no, sizeof *l->oids, u32_cmp);
    size_t m = 0;
    for (size_t i = 0; i < l->no;) {
        size_t j = i;
        while (j < l->no && l->oids[j] == l->oids[i])
            j++;
        dur__be64(oidk + 8 * m, l->oids[i]);
        keys[m] = (pmap_bytes){oidk + 8 * m, 8};
        vals[m] = (void *)(uintptr_t)(j - i);
        m++;
        i = j;
    }
    if (rc == CC_OK)
        rc = pmap_omap_build(pt, &l->s->oids, keys, vals, m, l->err);
out:
    cc_free(keys);
    cc_free(vals);
    cc_free(oidk);
    return rc;
}

static void
loader_fini(loader *l)
{
    for (size_t i = 0; i < l->n; i++)
        dur_blob_unref(l->ents[i].value);
    for (size_t i = 0; i < l->nn; i++)
        dur_blob_unref(l->nm[i].key);
    cc_free(l->ents);
    cc_free(l->nm);
    cc_free(l->oids);
    dur__buf_fini(&l->keys);
    dur__buf_fini(&l->names);
}

/*
 * Builds a version from the consolidated contents at upper - 1 (empty if
 * upper is 0) in pt: *out is a new struct whose maps pt created. On error
 * nothing is returned (abort pt to free the maps).
 */
static cc_code
load_version(dur_catalog *cat, uint64_t upper, pmap_txn *pt, dur_snapshot **out, cc_err *err)
{
    dur_snapshot *s = cc_malloc(sizeof *s);
    if (s == NULL)
        return cc_err_set(err, CC_NOMEM, "out of memory loading the catalog");
    dur__snap_init(s, cat->domain);
    s->external_names = cat->opts.names == DUR_NAMES_EXTERNAL;
    loader l;
    memset(&l, 0, sizeof l);
    l.s = s;
    l.err = err;
    cc_code rc = CC_OK;
    if (upper > 0) {
        rc = persist_snapshot(cat->shard, upper - 1, load_cb, &l, err);
        if (rc == CC_OK)
            rc = l.rc;
    }
    if (rc == CC_OK)
        rc = build(&l, pt);
    loader_fini(&l); /* the maps hold their own references now */
    if (rc != CC_OK) {
        cc_free(s);
        return rc;
    }
    s->upper = upper;
    *out = s;
    return CC_OK;
}

cc_code
dur__catalog_load(dur_catalog *cat, cc_err *err)
{
    uint64_t upper = persist_shard_upper(cat->shard);
    pmap_txn *pt;
    dur_snapshot *s;
    cc_code rc = pmap_txn_begin(cat->domain, &pt, err);
    if (rc != CC_OK)
        return rc;
    if ((rc = load_version(cat, upper, pt, &s, err)) != CC_OK) {
        pmap_txn_abort(pt);
        return rc;
    }
    atomic_store_explicit(&cat->cur, s, memory_order_release);
    pmap_txn_commit(pt);
    return CC_OK;
}

/* --- the SNAPSHOT ablation ------------------------------------------------------- */

static void
free_version(void *p)
{
    cc_free(p);
}

cc_code
dur__catalog_reload(dur_catalog *cat, uint64_t new_upper, cc_err *err)
{
    dur_snapshot *old = atomic_load_explicit(&cat->cur, memory_order_relaxed);
    dur_snapshot lines = *old; /* the heads of the old maps' lines, dropped below */
    dur_snapshot *s = NULL;
    pmap_txn *pt;
    cc_code rc = pmap_txn_begin(cat->domain, &pt, err);
    if (rc != CC_OK)
        return rc;
    rc = load_version(cat, new_upper, pt, &s, err);
    if (rc == CC_OK)
        rc = dur__snap_drop(&lines, pt, err);
    if (rc == CC_OK)
        rc = pmap_txn_defer(pt, free_version, old, err);
    if (rc != CC_OK) {
        pmap_txn_abort(pt);
        cc_free(s);
        return rc;
    }
    /* Publish before commit (pmap/domain.h); pairs with dur_snapshot_acquire. */
    atomic_store_explicit(&cat->cur, s, memory_order_release);
    pmap_txn_commit(pt);
    atomic_fetch_add_explicit(&cat->snapshot_rebuilds, 1, memory_order_relaxed);
    return CC_OK;
}

void
dur_stats_get(dur_catalog *cat, dur_stats *out)
{
    out->snapshot_rebuilds = atomic_load_explicit(&cat->snapshot_rebuilds, memory_order_relaxed);
}
