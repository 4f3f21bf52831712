/*
 * durable/src/snapshot.c — the cached Snapshot: applying an append's updates
 * to a new version, and the read API on a pinned version.
 *
 * An append holds, per changed key, at most one retraction (-1 of the old
 * value) and one insertion (+1 of the new one). dur__snap_apply does every
 * retraction first, then every insertion, so a key's -old/+new pair in one
 * append works in either order. Each update costs O(log n): one collection
 * map write, one decode of that value, at most one name-index write and one
 * OID-set write. Nothing is scanned.
 */
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "internal.h"

void
dur__snap_init(dur_snapshot *s, pmap_domain *d)
{
    memset(s, 0, sizeof *s);
    for (int c = 0; c < DUR_NCOLL; c++)
        pmap_omap_init(&s->coll[c], d, &dur__blob_map_type);
    for (int i = 0; i < DUR_NNAME; i++)
        pmap_omap_init(&s->names[i], d, &dur__blob_map_type);
    pmap_omap_init(&s->oids, d, &dur__word_map_type);
}

cc_code
dur__snap_drop(dur_snapshot *s, pmap_txn *pt, cc_err *err)
{
    cc_code rc = CC_OK;
    for (int c = 0; c < DUR_NCOLL && rc == CC_OK; c++)
        rc = pmap_omap_drop(pt, &s->coll[c], err);
    for (int i = 0; i < DUR_NNAME && rc == CC_OK; i++)
        rc = pmap_omap_drop(pt, &s->names[i], err);
    if (rc == CC_OK)
        rc = pmap_omap_drop(pt, &s->oids, err);
    return rc;
}

/* Adds delta (+1/-1) to the use count of oid. */
static cc_code
oid_adjust(dur_snapshot *s, pmap_txn *pt, uint32_t oid, int delta, cc_err *err)
{
    uint8_t k[8];
    dur__be64(k, oid);
    uintptr_t n = (uintptr_t)pmap_omap_find(&s->oids, k, sizeof k);
    if (delta < 0 && n == 0)
        return cc_err_set(err, CC_CORRUPT, "catalog OID %u released but not in use", oid);
    n = delta > 0 ? n + 1 : n - 1;
    if (n == 0)
        return pmap_omap_del(pt, &s->oids, k, sizeof k, NULL, err);
    return pmap_omap_put(pt, &s->oids, k, sizeof k, (void *)n, NULL, err);
}

/* Maintains the name index and OID set for one entry of coll going (+1) or away (-1). */
static cc_code
index_entry(dur_snapshot *s, pmap_txn *pt, dur_collection coll, pmap_bytes key, pmap_bytes value,
            int diff, cc_err *err)
{
    if (coll != DUR_DATABASES && coll != DUR_SCHEMAS && coll != DUR_ITEMS && coll != DUR_ROLES &&
        coll != DUR_CLUSTERS && coll != DUR_FENCE_TOKEN)
        return CC_OK;
    if (s->external_names && coll != DUR_FENCE_TOKEN) {
        /* Only the OID is needed: read it off the wire, decode nothing. */
        uint32_t oid;
        if (!dur__scan_oid(coll, value, &oid))
            return cc_err_set(err, CC_CORRUPT, "catalog %s: undecodable value",
                              dur_collection_name(coll));
        return oid == 0 ? CC_OK : oid_adjust(s, pt, oid, diff, err);
    }
    ProtobufCMessage *m;
    cc_code rc = dur_decode(coll, DUR_PART_VALUE, value, &m, err);
    if (rc != CC_OK)
        return rc;
    if (coll == DUR_FENCE_TOKEN) {
        const Cowcat__Catalog__FenceTokenValue *f = (const void *)m;
        if (diff > 0) {
            s->fence.generation = f->deploy_generation;
            s->fence.epoch = f->epoch;
        }
        protobuf_c_message_free_unpacked(m, NULL);
        return CC_OK;
    }
    dur__buf nk = {0};
    dur_name_index idx;
    if (!s->external_names && dur__name_key(coll, m, &idx, &nk, &rc, err) && rc == CC_OK) {
        if (diff > 0) {
            dur_blob *kb = dur__blob_new(key.ptr, key.len);
            if (kb == NULL) {
                rc = cc_err_set(err, CC_NOMEM, "out of memory indexing the catalog");
            } else {
                bool replaced;
                rc = pmap_omap_put(pt, &s->names[idx], nk.p, nk.len, kb, &replaced, err);
                dur_blob_unref(kb);
                if (rc == CC_OK && replaced)
                    rc = cc_err_set(err, CC_CORRUPT, "duplicate name \"%s\" in catalog %s",
                                    dur__value_name(coll, m), dur_collection_name(coll));
            }
        } else {
            rc = pmap_omap_del(pt, &s->names[idx], nk.p, nk.len, NULL, err);
        }
    }
    dur__buf_fini(&nk);
    uint32_t oid = dur__value_oid(coll, m);
    if (rc == CC_OK && oid != 0)
        rc = oid_adjust(s, pt, oid, diff, err);
    protobuf_c_message_free_unpacked(m, NULL);
    return rc;
}

static cc_code
apply_one(dur_snapshot *s, pmap_txn *pt, const persist_update *u, const dur__meta *meta,
          cc_err *err)
{
    const uint8_t *kp = u->key.ptr;
    if (u->key.len < 1 || kp[0] < DUR_COLLECTION_MIN || kp[0] > DUR_COLLECTION_MAX ||
        (u->diff != 1 && u->diff != -1))
        return cc_err_set(err, CC_CORRUPT, "malformed catalog update (key of %zu bytes, diff %lld)",
                          u->key.len, (long long)u->diff);
    dur_collection coll = kp[0];
    pmap_bytes key = {kp + 1, u->key.len - 1};
    if (coll == DUR_AUDIT_LOG) {
        ProtobufCMessage *m;
        cc_code rc = dur_decode(coll, DUR_PART_KEY, key, &m, err);
        if (rc != CC_OK)
            return rc;
        uint64_t id = ((Cowcat__Catalog__AuditLogKey *)m)->event_id;
        protobuf_c_message_free_unpacked(m, NULL);
        if (u->diff > 0) {
            s->audit_count++;
            if (id + 1 > s->audit_next_id)
                s->audit_next_id = id + 1;
        } else {
            s->audit_count--;
        }
        return CC_OK;
    }
    pmap_omap *map = &s->coll[coll];
    const dur_blob *cur = pmap_omap_find(map, key.ptr, key.len);
    if (u->diff < 0) {
        if (cur == NULL || cur->len != u->value.len ||
            memcmp(cur->data, u->value.ptr, cur->len) != 0)
            return cc_err_set(err, CC_CORRUPT, "catalog %s: retraction of a value not present",
                              dur_collection_name(coll));
        cc_code rc = index_entry(s, pt, coll, key, u->value, -1, err);
        if (rc == CC_OK)
            rc = pmap_omap_del(pt, map, key.ptr, key.len, NULL, err);
        return rc;
    }
    if (cur != NULL)
        return cc_err_set(err, CC_CORRUPT, "catalog %s: two values for one key",
                          dur_collection_name(coll));
    dur_blob *b = meta != NULL && meta->blob != NULL ? dur_blob_ref(meta->blob)
                                                     : dur__blob_new(u->value.ptr, u->value.len);
    if (b == NULL)
        return cc_err_set(err, CC_NOMEM, "out of memory applying a catalog update");
    cc_code rc = pmap_omap_put(pt, map, key.ptr, key.len, b, NULL, err);
    dur_blob_unref(b);
    if (rc != CC_OK)
        return rc;
    if (s->external_names && meta != NULL && meta->oid_known && coll != DUR_FENCE_TOKEN)
        return meta->oid == 0 ? CC_OK : oid_adjust(s, pt, meta->oid, +1, err);
    return index_entry(s, pt, coll, key, u->value, +1, err);
}

cc_code
dur__snap_apply(dur_snapshot *s, pmap_txn *pt, const persist_update *u, const dur__meta *meta,
                size_t n, cc_err *err)
{
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < n; i++) {
            if ((pass == 0) != (u[i].diff < 0))
                continue;
            cc_code rc = apply_one(s, pt, &u[i], meta ? &meta[i] : NULL, err);
            if (rc != CC_OK)
                return rc;
        }
    }
    return CC_OK;
}

/* --- reads ---------------------------------------------------------------------- */

static bool
readable(dur_collection c)
{
    return c >= DUR_COLLECTION_MIN && c <= DUR_COLLECTION_MAX;
}

const dur_blob *
dur_snapshot_find(const dur_snapshot *s, dur_collection coll, pmap_bytes key)
{
    if (!readable(coll))
        return NULL;
    return pmap_omap_find(&s->coll[coll], key.ptr, key.len);
}

size_t
dur_snapshot_count(const dur_snapshot *s, dur_collection coll)
{
    if (coll == DUR_AUDIT_LOG)
        return (size_t)s->audit_count;
    return readable(coll) ? pmap_omap_count(&s->coll[coll]) : 0;
}

const dur_blob *
dur_snapshot_find_name(const dur_snapshot *s, dur_name_index idx,
                       const Cowcat__Catalog__CatalogId *scope, const char *name)
{
    if ((unsigned)idx >= DUR_NNAME || name == NULL || s->external_names)
        return NULL;
    size_t nl = strlen(name);
    uint8_t stack[256];
    bool scoped = idx == DUR_NAME_SCHEMA || idx == DUR_NAME_RELATION || idx == DUR_NAME_TYPE;
    size_t len = (scoped ? 9 : 0) + nl;
    uint8_t *k = len <= sizeof stack ? stack : cc_malloc(len);
    if (k == NULL)
        return NULL;
    if (scoped) {
        if (scope == NULL) {
            memset(k, 0xff, 9);
        } else {
            k[0] = scope->system ? 1 : 0;
            dur__be64(k + 1, scope->value);
        }
    }
    memcpy(k + (scoped ? 9 : 0), name, nl);
    const dur_blob *r = pmap_omap_find(&s->names[idx], k, len);
    if (k != stack)
        cc_free(k);
    return r;
}

bool
dur_snapshot_oid_used(const dur_snapshot *s, uint32_t oid)
{
    uint8_t k[8];
    dur__be64(k, oid);
    return pmap_omap_find(&s->oids, k, sizeof k) != NULL;
}

pmap_fp
dur_snapshot_fp(const dur_snapshot *s)
{
    pmap_fp fp = {0, 0};
    for (int c = DUR_COLLECTION_MIN; c <= DUR_COLLECTION_MAX; c++) {
        pmap_fp f = pmap_omap_fp(&s->coll[c]);
        /* Mix the tag in so equal entries of two collections differ. */
        fp.lo += f.lo * (2 * (uint64_t)c + 1) + pmap_omap_count(&s->coll[c]);
        fp.hi += f.hi ^ ((uint64_t)c << 56);
    }
    fp.lo += s->audit_count;
    return fp;
}

uint64_t
dur_snapshot_upper(const dur_snapshot *s)
{
    return s->upper;
}

bool
dur_cursor_first(dur_cursor *cur, const dur_snapshot *s, dur_collection coll)
{
    if (!readable(coll)) {
        memset(cur, 0, sizeof *cur);
        return false;
    }
    return pmap_omap_seek_first(&cur->c, &s->coll[coll]);
}

bool
dur_cursor_get(const dur_cursor *cur, pmap_bytes *key, const dur_blob **value)
{
    void *v = NULL;
    bool ok = pmap_omap_cursor_get(&cur->c, key, &v);
    if (value != NULL)
        *value = v;
    return ok;
}

bool
dur_cursor_next(dur_cursor *cur)
{
    return pmap_omap_cursor_next(&cur->c);
}

/* --- check ------------------------------------------------------------------------ */

/* The OIDs the objects use, collected by check_entry (one per use) and then sorted. */
typedef struct oid_list {
    uint32_t *v;
    size_t n, cap;
} oid_list;

static int
oid_cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/*
 * Does the OID set (be64 OID -> number of users, in OID order) hold exactly
 * the sorted uses, each with its count? One ordered walk of each.
 */
static bool
oids_match(const pmap_omap *set, const oid_list *uses)
{
    pmap_omap_cursor cur;
    bool more = pmap_omap_seek_first(&cur, set);
    for (size_t i = 0; i < uses->n; more = pmap_omap_cursor_next(&cur)) {
        size_t j = i;
        while (j < uses->n && uses->v[j] == uses->v[i])
            j++;
        pmap_bytes k;
        void *count;
        if (!more || !pmap_omap_cursor_get(&cur, &k, &count))
            return false;
        uint8_t want[8];
        dur__be64(want, uses->v[i]);
        if (k.len != sizeof want || memcmp(k.ptr, want, sizeof want) != 0 ||
            (uintptr_t)count != j - i)
            return false;
        i = j;
    }
    return !more;
}

/* Verifies one indexed entry against the name indexes and records its OID. */
static cc_code
check_entry(const dur_snapshot *s, dur_collection coll, pmap_bytes key, const dur_blob *v,
            size_t *named, oid_list *oids, cc_err *err)
{
    ProtobufCMessage *m;
    cc_code rc = dur_decode(coll, DUR_PART_VALUE, dur_blob_bytes(v), &m, err);
    if (rc != CC_OK)
        return rc;
    dur__buf nk = {0};
    dur_name_index idx;
    if (!s->external_names && dur__name_key(coll, m, &idx, &nk, &rc, err) && rc == CC_OK) {
        const dur_blob *k = pmap_omap_find(&s->names[idx], nk.p, nk.len);
        if (k == NULL || k->len != key.len || memcmp(k->data, key.ptr, key.len) != 0)
            rc = cc_err_set(err, CC_CORRUPT, "catalog %s \"%s\": name index out of step",
                            dur_collection_name(coll), dur__value_name(coll, m));
        named[idx]++;
    }
    dur__buf_fini(&nk);
    uint32_t oid = dur__value_oid(coll, m);
    if (rc == CC_OK && oid != 0) {
        if (oids->n == oids->cap) {
            size_t cap = oids->cap ? oids->cap * 2 : 1024;
            uint32_t *nv = cc_realloc(oids->v, cap * sizeof *nv);
            if (nv == NULL)
                rc = cc_err_set(err, CC_NOMEM, "out of memory checking the catalog");
            else
                oids->v = nv, oids->cap = cap;
        }
        if (rc == CC_OK)
            oids->v[oids->n++] = oid;
    }
    protobuf_c_message_free_unpacked(m, NULL);
    return rc;
}

cc_code
dur_snapshot_check(const dur_snapshot *s, cc_err *err)
{
    static const dur_collection indexed[] = {DUR_DATABASES, DUR_SCHEMAS, DUR_ITEMS, DUR_ROLES,
                                             DUR_CLUSTERS};
    size_t named[DUR_NNAME] = {0};
    oid_list oids = {0};
    cc_code rc = CC_OK;
    for (int c = DUR_COLLECTION_MIN; c <= DUR_COLLECTION_MAX && rc == CC_OK; c++)
        rc = pmap_omap_check(&s->coll[c], NULL, err);
    for (int i = 0; i < DUR_NNAME && rc == CC_OK; i++)
        rc = pmap_omap_check(&s->names[i], NULL, err);
    if (rc == CC_OK)
        rc = pmap_omap_check(&s->oids, NULL, err);
    if (rc == CC_OK && pmap_omap_count(&s->coll[DUR_AUDIT_LOG]) != 0)
        rc = cc_err_set(err, CC_CORRUPT, "the audit log was loaded into the snapshot");
    for (size_t j = 0; j < sizeof indexed / sizeof *indexed && rc == CC_OK; j++) {
        pmap_omap_cursor cur;
        for (bool ok = pmap_omap_seek_first(&cur, &s->coll[indexed[j]]); ok && rc == CC_OK;
             ok = pmap_omap_cursor_next(&cur)) {
            pmap_bytes k;
            void *v;
            pmap_omap_cursor_get(&cur, &k, &v);
            rc = check_entry(s, indexed[j], k, v, named, &oids, err);
        }
    }
    for (int i = 0; i < DUR_NNAME && rc == CC_OK; i++)
        if (pmap_omap_count(&s->names[i]) != named[i])
            rc = cc_err_set(err, CC_CORRUPT, "name index %d has %zu entries, objects %zu", i,
                            pmap_omap_count(&s->names[i]), named[i]);
    if (rc == CC_OK && oids.n > 1)
        qsort(oids.v, oids.n, sizeof *oids.v, oid_cmp);
    size_t distinct = 0;
    for (size_t i = 0; i < oids.n; i++)
        distinct += i == 0 || oids.v[i] != oids.v[i - 1];
    if (rc == CC_OK && pmap_omap_count(&s->oids) != distinct)
        rc = cc_err_set(err, CC_CORRUPT, "OID set has %zu entries, objects use %zu",
                        pmap_omap_count(&s->oids), distinct);
    if (rc == CC_OK && !oids_match(&s->oids, &oids))
        rc = cc_err_set(err, CC_CORRUPT, "OID set count out of step");
    if (rc == CC_OK) {
        pmap_omap_cursor cur;
        if (pmap_omap_seek_first(&cur, &s->coll[DUR_FENCE_TOKEN])) {
            void *v;
            ProtobufCMessage *m;
            pmap_omap_cursor_get(&cur, NULL, &v);
            rc = dur_decode(DUR_FENCE_TOKEN, DUR_PART_VALUE, dur_blob_bytes(v), &m, err);
            if (rc == CC_OK) {
                const Cowcat__Catalog__FenceTokenValue *f = (const void *)m;
                if (f->deploy_generation != s->fence.generation || f->epoch != s->fence.epoch)
                    rc = cc_err_set(err, CC_CORRUPT, "cached fence token out of step");
                protobuf_c_message_free_unpacked(m, NULL);
            }
        }
    }
    cc_free(oids.v);
    return rc;
}
