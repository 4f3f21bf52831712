/*
 * catalog/src/state.c — reading a version: lookups by ref, OID and name,
 * counts, ordered walks of the edge maps, and the fingerprint.
 *
 * Edge maps (members, used_by, owned) have 16-byte keys [from BE8][to BE8];
 * "everything from x" is the key range [x:0, x+1:0), so a walk is a seek and
 * a cursor run and a count is one range count: O(log n (+ k)).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "internal.h"

void
cat__state_init(cat_state *s, pmap_domain *d, uint64_t (*name_hash)(const void *, size_t))
{
    memset(s, 0, sizeof *s);
    s->name_hash = name_hash != NULL ? name_hash : cc_hash_bytes;
    pmap_hamt_init(&s->objects, d, &cat__objects_type);
    pmap_hamt_init(&s->names, d, &cat__u64_word_type);
    pmap_hamt_init(&s->names_x, d, &cat__bytes_word_type);
    pmap_hamt_init(&s->oids, d, &cat__u64_word_type);
    pmap_omap_init(&s->members, d, &cat__edge_type);
    pmap_omap_init(&s->used_by, d, &cat__edge_type);
    pmap_hamt_init(&s->owned, d, &cat__u64_word_type);
    pmap_hamt_init(&s->granted, d, &cat__u64_word_type);
    pmap_omap_init(&s->comments, d, &cat__comment_type);
    pmap_hamt_init(&s->config, d, &cat__config_type);
    for (int i = 0; i < CAT_NLIMIT; i++)
        s->limit[i] = cat__parse_limit(DUR_DEFAULT_LIMIT);
}

void
cat__state_clone(const cat_state *src, cat_state *dst)
{
    *dst = *src;
    pmap_hamt_clone(&src->objects, &dst->objects);
    pmap_hamt_clone(&src->names, &dst->names);
    pmap_hamt_clone(&src->names_x, &dst->names_x);
    pmap_hamt_clone(&src->oids, &dst->oids);
    pmap_omap_clone(&src->members, &dst->members);
    pmap_omap_clone(&src->used_by, &dst->used_by);
    pmap_hamt_clone(&src->owned, &dst->owned);
    pmap_hamt_clone(&src->granted, &dst->granted);
    pmap_omap_clone(&src->comments, &dst->comments);
    pmap_hamt_clone(&src->config, &dst->config);
}

/* Inserts every entry of src into dst (empty, of src's type) in pt. */
static cc_code
copy_hamt(pmap_txn *pt, const pmap_hamt *src, pmap_hamt *dst, cc_err *err)
{
    pmap_hamt_init(dst, pmap_txn_domain(pt), src->type);
    pmap_hamt_iter it;
    uint64_t id;
    pmap_bytes key;
    void *v;
    cc_code rc = CC_OK;
    pmap_hamt_iter_init(&it, src);
    while (rc == CC_OK && pmap_hamt_iter_next(&it, &id, &key, &v))
        rc = src->type->key_kind == PMAP_KEY_U64
                 ? pmap_hamt_put_u64(pt, dst, id, v, NULL, err)
                 : pmap_hamt_put_bytes(pt, dst, key.ptr, key.len, v, NULL, err);
    return rc;
}

static cc_code
copy_omap(pmap_txn *pt, const pmap_omap *src, pmap_omap *dst, cc_err *err)
{
    pmap_omap_init(dst, pmap_txn_domain(pt), src->type);
    pmap_omap_cursor c;
    cc_code rc = CC_OK;
    for (bool ok = pmap_omap_seek_first(&c, src); ok && rc == CC_OK;
         ok = pmap_omap_cursor_next(&c)) {
        pmap_bytes k;
        void *v;
        pmap_omap_cursor_get(&c, &k, &v);
        rc = pmap_omap_put(pt, dst, k.ptr, k.len, v, NULL, err);
    }
    return rc;
}

cc_code
cat__state_copy(const cat_state *src, cat_state *dst, pmap_txn *pt, cc_err *err)
{
    *dst = *src; /* counts, limits, upper, name hash */
    cc_code rc = copy_hamt(pt, &src->objects, &dst->objects, err);
    if (rc == CC_OK)
        rc = copy_hamt(pt, &src->names, &dst->names, err);
    if (rc == CC_OK)
        rc = copy_hamt(pt, &src->names_x, &dst->names_x, err);
    if (rc == CC_OK)
        rc = copy_hamt(pt, &src->oids, &dst->oids, err);
    if (rc == CC_OK)
        rc = copy_omap(pt, &src->members, &dst->members, err);
    if (rc == CC_OK)
        rc = copy_omap(pt, &src->used_by, &dst->used_by, err);
    if (rc == CC_OK)
        rc = copy_hamt(pt, &src->owned, &dst->owned, err);
    if (rc == CC_OK)
        rc = copy_hamt(pt, &src->granted, &dst->granted, err);
    if (rc == CC_OK)
        rc = copy_omap(pt, &src->comments, &dst->comments, err);
    if (rc == CC_OK)
        rc = copy_hamt(pt, &src->config, &dst->config, err);
    return rc;
}

cc_code
cat__state_drop(cat_state *s, pmap_txn *pt, cc_err *err)
{
    cc_code rc = pmap_hamt_drop(pt, &s->objects, err);
    if (rc == CC_OK)
        rc = pmap_hamt_drop(pt, &s->names, err);
    if (rc == CC_OK)
        rc = pmap_hamt_drop(pt, &s->names_x, err);
    if (rc == CC_OK)
        rc = pmap_hamt_drop(pt, &s->oids, err);
    if (rc == CC_OK)
        rc = pmap_omap_drop(pt, &s->members, err);
    if (rc == CC_OK)
        rc = pmap_omap_drop(pt, &s->used_by, err);
    if (rc == CC_OK)
        rc = pmap_hamt_drop(pt, &s->owned, err);
    if (rc == CC_OK)
        rc = pmap_hamt_drop(pt, &s->granted, err);
    if (rc == CC_OK)
        rc = pmap_omap_drop(pt, &s->comments, err);
    if (rc == CC_OK)
        rc = pmap_hamt_drop(pt, &s->config, err);
    return rc;
}

int64_t
cat__parse_limit(const char *v)
{
    if (v == NULL || *v == '\0' || strlen(v) > 18)
        return -1;
    int64_t x = 0;
    for (const char *p = v; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        x = x * 10 + (*p - '0');
    }
    return x;
}

/* --- lookups -------------------------------------------------------------------------- */

const cat_object *
cat_state_find(const cat_state *s, cat_ref ref)
{
    return ref == 0 ? NULL : pmap_hamt_find_u64(&s->objects, ref);
}

/*
 * Names: `names` maps the 64-bit hash of a name key to the object holding
 * it; the object itself confirms the name (a lookup is two hamt finds and a
 * compare). A name whose hash another name already holds goes to names_x
 * under its exact key — with 64-bit hashes that map stays empty in practice,
 * so no name costs a key copy.
 */

/* Does object ref (in s) have exactly the name key key[0..len)? */
static bool
holds(const cat_state *s, cat_ref ref, const uint8_t *key, size_t len)
{
    const cat_object *o = cat_state_find(s, ref);
    if (o == NULL)
        return false;
    cat_ref scope;
    uint8_t k[CAT_NAME_KEY_MAX + 1];
    cat__ns ns = cat__obj_ns(o, &scope);
    size_t n = cat__name_key(k, ns, scope, o->name);
    return n == len && memcmp(k, key, len) == 0;
}

cat_ref
cat__state_name(const cat_state *s, const uint8_t *key, size_t len)
{
    cat_ref r = (cat_ref)(uintptr_t)pmap_hamt_find_u64(&s->names, s->name_hash(key, len));
    if (r != 0 && holds(s, r, key, len))
        return r;
    if (pmap_hamt_count(&s->names_x) == 0)
        return 0;
    return (cat_ref)(uintptr_t)pmap_hamt_find_bytes(&s->names_x, key, len);
}

cc_code
cat__names_add(cat_state *s, pmap_txn *pt, const cat_object *o, cc_err *err)
{
    cat_ref scope;
    cat__ns ns = cat__obj_ns(o, &scope);
    uint8_t k[CAT_NAME_KEY_MAX + 1];
    size_t n = cat__name_key(k, ns, scope, o->name);
    if (n == 0)
        return cc_err_set(err, CC_CORRUPT, "catalog object name \"%.80s\" is too long", o->name);
    /* One hash and one descent: the holder of the hash either is o, holds
     * this very name (two objects, one name: refuse), or holds another name
     * with the same hash (a collision: o goes to the overflow map). */
    uint64_t h = s->name_hash(k, n);
    cat_ref first = (cat_ref)(uintptr_t)pmap_hamt_find_u64(&s->names, h);
    void *v = (void *)(uintptr_t)o->ref;
    if (first == 0 || first == o->ref)
        return pmap_hamt_put_u64(pt, &s->names, h, v, NULL, err);
    cat_ref other = holds(s, first, k, n) ? first
                    : pmap_hamt_count(&s->names_x) == 0
                        ? 0
                        : (cat_ref)(uintptr_t)pmap_hamt_find_bytes(&s->names_x, k, n);
    if (other != 0 && other != o->ref)
        return cc_err_set(err, CC_CORRUPT, "catalog name \"%s\" held by two objects", o->name);
    return pmap_hamt_put_bytes(pt, &s->names_x, k, n, v, NULL, err);
}

cc_code
cat__names_del(cat_state *s, pmap_txn *pt, const cat_object *o, cc_err *err)
{
    cat_ref scope;
    uint8_t k[CAT_NAME_KEY_MAX + 1];
    cat__ns ns = cat__obj_ns(o, &scope);
    size_t n = cat__name_key(k, ns, scope, o->name);
    if (n == 0)
        return CC_OK;
    uint64_t h = s->name_hash(k, n);
    if ((cat_ref)(uintptr_t)pmap_hamt_find_u64(&s->names, h) == o->ref)
        return pmap_hamt_del_u64(pt, &s->names, h, NULL, err);
    if (pmap_hamt_count(&s->names_x) == 0)
        return CC_OK;
    return pmap_hamt_del_bytes(pt, &s->names_x, k, n, NULL, err);
}

const cat_object *
cat_state_find_oid(const cat_state *s, uint32_t oid)
{
    if (oid == 0)
        return NULL;
    return cat_state_find(s, (cat_ref)(uintptr_t)pmap_hamt_find_u64(&s->oids, oid));
}

static const cat_object *
by_name(const cat_state *s, cat__ns ns, cat_ref scope, const char *name)
{
    uint8_t k[CAT_NAME_KEY_MAX + 1];
    size_t n = name == NULL ? 0 : cat__name_key(k, ns, scope, name);
    return n == 0 ? NULL : cat_state_find(s, cat__state_name(s, k, n));
}

const cat_object *
cat_state_find_database(const cat_state *s, const char *name)
{
    return by_name(s, CAT_NS_DATABASE, 0, name);
}

const cat_object *
cat_state_find_schema(const cat_state *s, cat_ref database, const char *name)
{
    return by_name(s, CAT_NS_SCHEMA, database, name);
}

const cat_object *
cat_state_find_relation(const cat_state *s, cat_ref schema, const char *name)
{
    return by_name(s, CAT_NS_RELATION, schema, name);
}

const cat_object *
cat_state_find_type(const cat_state *s, cat_ref schema, const char *name)
{
    return by_name(s, CAT_NS_TYPE, schema, name);
}

const cat_object *
cat_state_find_role(const cat_state *s, const char *name)
{
    return by_name(s, CAT_NS_ROLE, 0, name);
}

const cat_object *
cat_state_find_cluster(const cat_state *s, const char *name)
{
    return by_name(s, CAT_NS_CLUSTER, 0, name);
}

/* --- counts and walks -------------------------------------------------------------------- */

uint64_t
cat_state_count(const cat_state *s, cat_kind k)
{
    return (unsigned)k < CAT_NKIND ? s->count[k] : 0;
}

static uint64_t
count_from(const pmap_omap *m, cat_ref from)
{
    uint8_t lo[16] = {0}, hi[16] = {0};
    cat__be64(lo, from);
    cat__be64(hi, from + 1);
    return pmap_omap_count_range(m, lo, sizeof lo, hi, sizeof hi);
}

uint64_t
cat_state_count_members(const cat_state *s, cat_ref parent)
{
    return count_from(&s->members, parent);
}

uint64_t
cat_state_count_used_by(const cat_state *s, cat_ref ref)
{
    return count_from(&s->used_by, ref);
}

static int
walk_from(const cat_state *s, const pmap_omap *m, cat_ref from, cat_walk_fn fn, void *arg)
{
    uint8_t lo[16] = {0};
    cat__be64(lo, from);
    pmap_omap_cursor c;
    if (!pmap_omap_seek(&c, m, lo, sizeof lo))
        return 0;
    do {
        pmap_bytes k;
        void *v;
        if (!pmap_omap_cursor_get(&c, &k, &v) || k.len != 16 || cat__get_be64(k.ptr) != from)
            break;
        const cat_object *o = cat_state_find(s, cat__get_be64((const uint8_t *)k.ptr + 8));
        if (o == NULL)
            continue; /* an edge to an object not loaded (cat_check reports it) */
        int r = fn(arg, o);
        if (r != 0)
            return r;
    } while (pmap_omap_cursor_next(&c));
    return 0;
}

int
cat_state_walk_members(const cat_state *s, cat_ref parent, cat_walk_fn fn, void *arg)
{
    return walk_from(s, &s->members, parent, fn, arg);
}

int
cat_state_walk_used_by(const cat_state *s, cat_ref ref, cat_walk_fn fn, void *arg)
{
    return walk_from(s, &s->used_by, ref, fn, arg);
}

uint64_t
cat_state_count_owned(const cat_state *s, cat_ref role)
{
    return (uint64_t)(uintptr_t)pmap_hamt_find_u64(&s->owned, role);
}

uint64_t
cat_state_count_granted(const cat_state *s, cat_ref role)
{
    return (uint64_t)(uintptr_t)pmap_hamt_find_u64(&s->granted, role);
}

int
cat_state_walk_all(const cat_state *s, cat_walk_fn fn, void *arg)
{
    pmap_hamt_iter it;
    void *v;
    pmap_hamt_iter_init(&it, &s->objects);
    while (pmap_hamt_iter_next(&it, NULL, NULL, &v)) {
        int r = fn(arg, v);
        if (r != 0)
            return r;
    }
    return 0;
}

/* --- comments, config, limits, fingerprint ----------------------------------------------- */

const char *
cat_state_comment(const cat_state *s, cat_ref ref, uint32_t column)
{
    uint8_t k[12];
    cat__be64(k, ref);
    k[8] = (uint8_t)(column >> 24);
    k[9] = (uint8_t)(column >> 16);
    k[10] = (uint8_t)(column >> 8);
    k[11] = (uint8_t)column;
    const cat__text *t = pmap_omap_find(&s->comments, k, sizeof k);
    return t == NULL ? NULL : t->s;
}

const char *
cat_state_config(const cat_state *s, const char *name)
{
    const cat__text *t = pmap_hamt_find_bytes(&s->config, name, strlen(name));
    return t == NULL ? NULL : t->s;
}

int64_t
cat_state_limit(const cat_state *s, cat_limit l)
{
    return (unsigned)l < CAT_NLIMIT ? s->limit[l] : -1;
}

pmap_fp
cat_state_fp(const cat_state *s)
{
    pmap_fp a = pmap_hamt_fp(&s->objects), b = pmap_omap_fp(&s->comments),
            c = pmap_hamt_fp(&s->config);
    return (pmap_fp){cc_hash_combine(cc_hash_combine(a.lo, b.lo), c.lo),
                     cc_hash_combine(cc_hash_combine(a.hi, b.hi), c.hi)};
}

uint64_t
cat_state_upper(const cat_state *s)
{
    return s->upper;
}

const char *
cat_state_qualified_name(const cat_state *s, const cat_object *o, char *buf, size_t cap)
{
    const cat_object *p = NULL;
    if (cat_ref_class(o->ref) == CAT_CLASS_ITEM)
        p = cat_state_find(s, o->parent);
    if (p != NULL)
        snprintf(buf, cap, "%s.%s", p->name, o->name);
    else
        snprintf(buf, cap, "%s", o->name);
    return buf;
}
