/*
 * catalog/src/load.c — building a whole state from a durable Snapshot: the
 * one O(n) pass at open (and after a rebuild).
 *
 * The result is exactly what applying every entry through cat__apply would
 * give (cat_check verifies the same invariants either way), built in bulk:
 * objects are decoded once each (into a bump arena reset per entry: no
 * malloc per field), their derived entries collected in arrays, radix-sorted
 * where a map needs order (cat__radix_sort: O(n) a pass, and passes whose
 * digit never varies are skipped), and every map built bottom-up at exact
 * size (pmap_hamt_build_*, pmap_omap_build) instead of n path-copying
 * inserts. Comments and configuration, a handful of entries, go through
 * cat__apply afterwards.
 *
 *   objects   ref -> object             hamt build (any order)
 *   oids      oid -> ref                hamt build
 *   names     hash -> ref               hamt build; equal hashes: the first
 *                                       (by ref) in names, the rest in names_x
 *   members   [parent][child]           sorted 16-byte keys, omap build
 *   used_by   [used][user]              sorted, duplicates of one item merged
 *   owned / granted  role -> count      sorted role lists, run lengths
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "internal.h"

/* A growable array of fixed-size elements. */
typedef struct vec {
    void *v;
    size_t n, cap, size;
} vec;

static void *
vec_push(vec *a)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 1024;
        void *v = cc_realloc(a->v, cap * a->size);
        if (v == NULL)
            return NULL;
        a->v = v;
        a->cap = cap;
    }
    return (char *)a->v + a->size * a->n++;
}

typedef struct edge16 {
    uint8_t k[16];
} edge16;

/* An edge as collected: sorted numerically, then encoded as its 16-byte key. */
typedef struct edge_pair {
    uint64_t from, to;
} edge_pair;

typedef struct name_ent {
    uint64_t hash;
    cat_ref ref;
    const cat_object *o;
} name_ent;

typedef struct loader {
    vec objs;    /* cat__obj * (one reference each) */
    vec oids;    /* uint64_t pairs: oid, ref */
    vec names;   /* name_ent */
    vec members; /* edge_pair */
    vec used_by; /* edge_pair */
    vec owners;  /* cat_ref */
    vec grants;  /* cat_ref */
    uint64_t count[CAT_NKIND];
    cat__arena arena; /* the entry being decoded */
    cc_err *err;
} loader;

static cc_code
nomem(loader *l)
{
    return cc_err_set(l->err, CC_NOMEM, "out of memory loading the catalog");
}

static cc_code
push_edge(loader *l, vec *v, cat_ref from, cat_ref to)
{
    edge_pair *e = vec_push(v);
    if (e == NULL)
        return nomem(l);
    *e = (edge_pair){from, to};
    return CC_OK;
}

static cc_code
push_ref(loader *l, vec *v, cat_ref r)
{
    cat_ref *p = vec_push(v);
    if (p == NULL)
        return nomem(l);
    *p = r;
    return CC_OK;
}

/* Decodes one object entry and collects it and its derived entries. */
static cc_code
collect(loader *l, const cat_state *s, cat_class cls, pmap_bytes key, const dur_blob *value)
{
    dur_collection coll = cat__class_coll(cls);
    ProtobufCMessage *k = NULL, *v = NULL;
    cat__obj *o = NULL;
    cat__arena_reset(&l->arena);
    cc_code rc = cat__arena_decode(&l->arena, coll, DUR_PART_KEY, key, &k, l->err);
    if (rc == CC_OK)
        rc = cat__arena_decode(&l->arena, coll, DUR_PART_VALUE, dur_blob_bytes(value), &v, l->err);
    const Cowcat__Catalog__ItemKey *ik = (const void *)k; /* every object key: { id } */
    if (rc == CC_OK && (ik->id == NULL || ik->id->value > CAT_REF_VALUE_MAX))
        rc = cc_err_set(l->err, CC_CORRUPT, "catalog %s key without a valid id",
                        dur_collection_name(coll));
    if (rc == CC_OK)
        rc = cat__obj_new(cat_ref_from_id(cls, ik->id), v, value, &o, l->err);
    if (rc != CC_OK)
        return rc;
    cat__obj **slot = vec_push(&l->objs);
    if (slot == NULL) {
        cat_object_unref(&o->pub);
        return nomem(l);
    }
    *slot = o;
    const cat_object *p = &o->pub;
    l->count[p->kind]++;
    cat_ref scope;
    cat__ns ns = cat__obj_ns(p, &scope);
    uint8_t nk[CAT_NAME_KEY_MAX + 1];
    size_t nn = cat__name_key(nk, ns, scope, p->name);
    if (nn == 0)
        return cc_err_set(l->err, CC_CORRUPT, "catalog object name \"%.80s\" is too long", p->name);
    name_ent *ne = vec_push(&l->names);
    if (ne == NULL)
        return nomem(l);
    *ne = (name_ent){s->name_hash(nk, nn), p->ref, p};
    if (p->oid != 0) {
        uint64_t *op = vec_push(&l->oids);
        if (op == NULL)
            return nomem(l);
        op[0] = p->oid;
        op[1] = p->ref;
    }
    if (p->parent != 0 && (rc = push_edge(l, &l->members, p->parent, p->ref)) != CC_OK)
        return rc;
    for (uint32_t i = 0; i < p->nuses && rc == CC_OK; i++)
        if (p->uses[i] != 0)
            rc = push_edge(l, &l->used_by, p->uses[i], p->ref);
    if (rc == CC_OK && p->owner != 0)
        rc = push_ref(l, &l->owners, p->owner);
    uint32_t nacl;
    const cat_ref *acl = cat__obj_acl(p, &nacl);
    for (uint32_t i = 0; i < nacl && rc == CC_OK; i++)
        rc = push_ref(l, &l->grants, acl[i]);
    return rc;
}

/* Sorts v's records (n of size bytes) by (hi, lo) into *out (v->v or a new buffer, which
 * then replaces v->v). Errors: NOMEM. */
static cc_code
sort_vec(loader *l, vec *v, size_t lo_off, size_t hi_off)
{
    if (v->n < 2)
        return CC_OK;
    void *tmp = cc_malloc(v->n * v->size);
    if (tmp == NULL)
        return nomem(l);
    void *r = cat__radix_sort(v->v, tmp, v->n, v->size, lo_off, hi_off);
    if (r == tmp) {
        cc_free(v->v);
        v->v = tmp;
        v->cap = v->n;
    } else {
        cc_free(tmp);
    }
    return CC_OK;
}

/* Builds a sorted, deduplicated edge map. */
static cc_code
build_edges(loader *l, pmap_txn *pt, pmap_omap *m, vec *v)
{
    cc_code rc = sort_vec(l, v, offsetof(edge_pair, to), offsetof(edge_pair, from));
    if (rc != CC_OK)
        return rc;
    const edge_pair *e = v->v;
    size_t n = 0;
    for (size_t i = 0; i < v->n; i++)
        n += i == 0 || e[i].from != e[i - 1].from || e[i].to != e[i - 1].to;
    edge16 *k16 = cc_malloc((n + 1) * sizeof *k16);
    pmap_bytes *keys = cc_malloc((n + 1) * sizeof *keys);
    void **vals = cc_malloc((n + 1) * sizeof *vals);
    rc = k16 == NULL || keys == NULL || vals == NULL ? nomem(l) : CC_OK;
    for (size_t i = 0, j = 0; i < v->n && rc == CC_OK; i++) {
        if (i > 0 && e[i].from == e[i - 1].from && e[i].to == e[i - 1].to)
            continue;
        cat__be64(k16[j].k, e[i].from);
        cat__be64(k16[j].k + 8, e[i].to);
        keys[j] = (pmap_bytes){k16[j].k, 16};
        vals[j++] = (void *)(uintptr_t)1;
    }
    if (rc == CC_OK)
        rc = pmap_omap_build(pt, m, keys, vals, n, l->err);
    cc_free(k16);
    cc_free(keys);
    cc_free(vals);
    return rc;
}

/* Builds a role -> count map from a list with one entry per counted thing. */
static cc_code
build_counts(loader *l, pmap_txn *pt, pmap_hamt *m, vec *v)
{
    cc_code rc = sort_vec(l, v, 0, SIZE_MAX);
    if (rc != CC_OK)
        return rc;
    const cat_ref *r = v->v;
    uint64_t *ids = cc_malloc((v->n + 1) * sizeof *ids);
    void **vals = cc_malloc((v->n + 1) * sizeof *vals);
    rc = ids == NULL || vals == NULL ? nomem(l) : CC_OK;
    size_t n = 0;
    for (size_t i = 0; i < v->n && rc == CC_OK;) {
        size_t j = i;
        while (j < v->n && r[j] == r[i])
            j++;
        ids[n] = r[i];
        vals[n++] = (void *)(uintptr_t)(j - i);
        i = j;
    }
    if (rc == CC_OK)
        rc = pmap_hamt_build_u64(pt, m, ids, vals, n, l->err);
    cc_free(ids);
    cc_free(vals);
    return rc;
}

/* Names by hash; equal hashes beyond the first go to names_x by exact key. */
static cc_code
build_names(loader *l, pmap_txn *pt, cat_state *s)
{
    cc_code rc = sort_vec(l, &l->names, offsetof(name_ent, ref), offsetof(name_ent, hash));
    if (rc != CC_OK)
        return rc;
    const name_ent *e = l->names.v;
    size_t n = l->names.n;
    uint64_t *ids = cc_malloc((n + 1) * sizeof *ids);
    void **vals = cc_malloc((n + 1) * sizeof *vals);
    rc = ids == NULL || vals == NULL ? nomem(l) : CC_OK;
    size_t k = 0;
    for (size_t i = 0; i < n && rc == CC_OK; i++) {
        if (k > 0 && ids[k - 1] == e[i].hash) {
            /* Same hash as the previous name: a collision, or a duplicate. */
            const cat_object *o = e[i].o;
            cat_ref scope;
            cat__ns ns = cat__obj_ns(o, &scope);
            uint8_t nk[CAT_NAME_KEY_MAX + 1];
            size_t nn = cat__name_key(nk, ns, scope, o->name);
            for (size_t j = i; j > 0 && e[j - 1].hash == e[i].hash && rc == CC_OK; j--) {
                cat_ref s2;
                cat__ns ns2 = cat__obj_ns(e[j - 1].o, &s2);
                if (ns2 == ns && s2 == scope && strcmp(e[j - 1].o->name, o->name) == 0)
                    rc = cc_err_set(l->err, CC_CORRUPT, "catalog name \"%s\" held by two objects",
                                    o->name);
            }
            if (rc == CC_OK)
                rc = pmap_hamt_put_bytes(pt, &s->names_x, nk, nn, (void *)(uintptr_t)o->ref, NULL,
                                         l->err);
            continue;
        }
        ids[k] = e[i].hash;
        vals[k++] = (void *)(uintptr_t)e[i].ref;
    }
    if (rc == CC_OK)
        rc = pmap_hamt_build_u64(pt, &s->names, ids, vals, k, l->err);
    cc_free(ids);
    cc_free(vals);
    return rc;
}

static cc_code
build_objects(loader *l, pmap_txn *pt, cat_state *s)
{
    size_t n = l->objs.n;
    cat__obj **objs = l->objs.v;
    uint64_t *ids = cc_malloc((n + 1) * sizeof *ids);
    uint64_t *oids = l->oids.v;
    cc_code rc = ids == NULL ? nomem(l) : CC_OK;
    for (size_t i = 0; i < n && rc == CC_OK; i++)
        ids[i] = objs[i]->pub.ref;
    if (rc == CC_OK)
        rc = pmap_hamt_build_u64(pt, &s->objects, ids, (void *const *)objs, n, l->err);
    if (rc == CC_INVALID)
        rc = cc_err_set(l->err, CC_CORRUPT, "catalog has two objects with one id");
    /* oids: pairs (oid, ref) -> separate arrays, in place */
    size_t no = l->oids.n;
    void **ovals = rc == CC_OK ? cc_malloc((no + 1) * sizeof *ovals) : NULL;
    uint64_t *oidk = rc == CC_OK ? cc_malloc((no + 1) * sizeof *oidk) : NULL;
    if (rc == CC_OK && (ovals == NULL || oidk == NULL))
        rc = nomem(l);
    for (size_t i = 0; i < no && rc == CC_OK; i++) {
        oidk[i] = oids[2 * i];
        ovals[i] = (void *)(uintptr_t)oids[2 * i + 1];
    }
    if (rc == CC_OK)
        rc = pmap_hamt_build_u64(pt, &s->oids, oidk, ovals, no, l->err);
    if (rc == CC_INVALID)
        rc = cc_err_set(l->err, CC_CORRUPT, "catalog has two objects with one OID");
    cc_free(ids);
    cc_free(ovals);
    cc_free(oidk);
    return rc;
}

static void
loader_fini(loader *l)
{
    cat__obj **objs = l->objs.v;
    for (size_t i = 0; i < l->objs.n; i++)
        cat_object_unref(&objs[i]->pub); /* the maps hold their own references */
    cc_free(l->objs.v);
    cc_free(l->oids.v);
    cc_free(l->names.v);
    cc_free(l->members.v);
    cc_free(l->used_by.v);
    cc_free(l->owners.v);
    cc_free(l->grants.v);
    cat__arena_fini(&l->arena);
}

cc_code
cat__state_load(cat_state *s, pmap_txn *pt, const dur_snapshot *ds, cc_err *err)
{
    static const dur_collection objects[] = {DUR_ROLES, DUR_DATABASES, DUR_SCHEMAS, DUR_CLUSTERS,
                                             DUR_ITEMS};
    static const dur_collection others[] = {DUR_COMMENTS, DUR_SYSTEM_CONFIGURATION};
    loader l = {.objs.size = sizeof(cat__obj *),
                .oids.size = 2 * sizeof(uint64_t),
                .names.size = sizeof(name_ent),
                .members.size = sizeof(edge16),
                .used_by.size = sizeof(edge16),
                .owners.size = sizeof(cat_ref),
                .grants.size = sizeof(cat_ref),
                .err = err};
    cc_code rc = CC_OK;
    for (size_t i = 0; i < sizeof objects / sizeof *objects && rc == CC_OK; i++) {
        dur_cursor cur;
        if (!dur_cursor_first(&cur, ds, objects[i]))
            continue;
        do {
            pmap_bytes k;
            const dur_blob *v;
            if (!dur_cursor_get(&cur, &k, &v))
                break;
            rc = collect(&l, s, cat__coll_class(objects[i]), k, v);
        } while (rc == CC_OK && dur_cursor_next(&cur));
    }
    if (rc == CC_OK)
        rc = build_objects(&l, pt, s);
    if (rc == CC_OK)
        rc = build_names(&l, pt, s);
    if (rc == CC_OK)
        rc = build_edges(&l, pt, &s->members, &l.members);
    if (rc == CC_OK)
        rc = build_edges(&l, pt, &s->used_by, &l.used_by);
    if (rc == CC_OK)
        rc = build_counts(&l, pt, &s->owned, &l.owners);
    if (rc == CC_OK)
        rc = build_counts(&l, pt, &s->granted, &l.grants);
    if (rc == CC_OK)
        memcpy(s->count, l.count, sizeof s->count);
    loader_fini(&l);
    for (size_t i = 0; i < sizeof others / sizeof *others && rc == CC_OK; i++) {
        dur_cursor cur;
        if (!dur_cursor_first(&cur, ds, others[i]))
            continue;
        do {
            pmap_bytes k;
            const dur_blob *v;
            if (!dur_cursor_get(&cur, &k, &v))
                break;
            rc = cat__apply_encoded(s, pt, others[i], k, v, err);
        } while (rc == CC_OK && dur_cursor_next(&cur));
    }
    if (rc == CC_OK)
        s->upper = dur_snapshot_upper(ds);
    return rc;
}
