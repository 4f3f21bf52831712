/*
 * catalog/src/apply.c — the one function that turns a durable change into
 * state changes (load.c builds the same maps in bulk at open).
 *
 * For an object entry: the old object (found by ref) loses its derived
 * entries — name, OID, member edge, use edges, owner and ACL counts, kind
 * count — and the new one gains them. Nothing requires referenced objects to
 * exist, so entries apply in any order (a follower's batch); cat_check is
 * what verifies references. Costs O((1 + uses) log n) per change.
 */
#include <string.h>

#include "internal.h"

static cc_code
edge(pmap_txn *pt, pmap_omap *m, cat_ref from, cat_ref to, bool add, cc_err *err)
{
    uint8_t k[16];
    cat__be64(k, from);
    cat__be64(k + 8, to);
    if (add)
        return pmap_omap_put(pt, m, k, sizeof k, (void *)(uintptr_t)1, NULL, err);
    return pmap_omap_del(pt, m, k, sizeof k, NULL, err);
}

/* Adds delta to a per-role count in m (an entry exists only while > 0). */
static cc_code
count_adjust(pmap_hamt *m, pmap_txn *pt, cat_ref role, int delta, cc_err *err)
{
    uint64_t n = (uint64_t)(uintptr_t)pmap_hamt_find_u64(m, role);
    if (delta < 0 && n == 0)
        return cc_err_set(err, CC_CORRUPT, "catalog per-role count went negative");
    n = delta > 0 ? n + 1 : n - 1;
    if (n == 0)
        return pmap_hamt_del_u64(pt, m, role, NULL, err);
    return pmap_hamt_put_u64(pt, m, role, (void *)(uintptr_t)n, NULL, err);
}

/* Adds (add) or removes every derived entry of o. */
static cc_code
derived(cat_state *s, pmap_txn *pt, const cat_object *o, bool add, cc_err *err)
{
    cc_code rc = add ? cat__names_add(s, pt, o, err) : cat__names_del(s, pt, o, err);
    if (rc == CC_OK && o->oid != 0) {
        if (add)
            rc = pmap_hamt_put_u64(pt, &s->oids, o->oid, (void *)(uintptr_t)o->ref, NULL, err);
        else if ((cat_ref)(uintptr_t)pmap_hamt_find_u64(&s->oids, o->oid) == o->ref)
            rc = pmap_hamt_del_u64(pt, &s->oids, o->oid, NULL, err);
    }
    if (rc == CC_OK && o->parent != 0)
        rc = edge(pt, &s->members, o->parent, o->ref, add, err);
    if (rc == CC_OK && o->owner != 0)
        rc = count_adjust(&s->owned, pt, o->owner, add ? +1 : -1, err);
    uint32_t nacl;
    const cat_ref *acl = cat__obj_acl(o, &nacl);
    for (uint32_t i = 0; i < nacl && rc == CC_OK; i++)
        rc = count_adjust(&s->granted, pt, acl[i], add ? +1 : -1, err);
    for (size_t i = 0; i < o->nuses && rc == CC_OK; i++) {
        bool dup = false; /* a use listed twice has one edge */
        for (size_t j = 0; j < i && !dup; j++)
            dup = o->uses[j] == o->uses[i];
        if (!dup && o->uses[i] != 0)
            rc = edge(pt, &s->used_by, o->uses[i], o->ref, add, err);
    }
    if (rc == CC_OK) {
        if (add)
            s->count[o->kind]++;
        else
            s->count[o->kind]--;
    }
    return rc;
}

static cc_code
apply_object(cat_state *s, pmap_txn *pt, cat_class cls, const ProtobufCMessage *key,
             const ProtobufCMessage *value, const dur_blob *blob, cc_err *err)
{
    /* Every object key is { CatalogId id = 1; } (see catalog.proto). */
    const Cowcat__Catalog__ItemKey *k = (const void *)key;
    if (k->id == NULL || k->id->value > CAT_REF_VALUE_MAX)
        return cc_err_set(err, CC_CORRUPT, "catalog %s key without a valid id",
                          dur_collection_name(cat__class_coll(cls)));
    cat_ref ref = cat_ref_from_id(cls, k->id);
    const cat_object *old = cat_state_find(s, ref);
    cc_code rc = CC_OK;
    if (old != NULL && (rc = derived(s, pt, old, false, err)) != CC_OK)
        return rc;
    if (value == NULL) {
        if (old != NULL)
            rc = pmap_hamt_del_u64(pt, &s->objects, ref, NULL, err);
        return rc;
    }
    cat__obj *o;
    if ((rc = cat__obj_new(ref, value, blob, &o, err)) != CC_OK)
        return rc;
    rc = derived(s, pt, &o->pub, true, err);
    if (rc == CC_OK)
        rc = pmap_hamt_put_u64(pt, &s->objects, ref, o, NULL, err);
    cat_object_unref(&o->pub); /* the map retained it */
    return rc;
}

static cc_code
apply_comment(cat_state *s, pmap_txn *pt, const ProtobufCMessage *key,
              const ProtobufCMessage *value, cc_err *err)
{
    const Cowcat__Catalog__CommentKey *k = (const void *)key;
    cat_class cls = cat__object_type_class(k->object_type);
    if (cls == 0 || k->object == NULL)
        return cc_err_set(err, CC_CORRUPT, "catalog comment on an unknown object type %d",
                          (int)k->object_type);
    uint32_t col = k->column_opt_case == COWCAT__CATALOG__COMMENT_KEY__COLUMN_OPT_COLUMN_POS
                       ? k->column_pos
                       : 0;
    uint8_t mk[12];
    cat__be64(mk, cat_ref_from_id(cls, k->object));
    mk[8] = (uint8_t)(col >> 24);
    mk[9] = (uint8_t)(col >> 16);
    mk[10] = (uint8_t)(col >> 8);
    mk[11] = (uint8_t)col;
    if (value == NULL)
        return pmap_omap_del(pt, &s->comments, mk, sizeof mk, NULL, err);
    const Cowcat__Catalog__CommentValue *v = (const void *)value;
    cat__text *t = cat__text_new(v->comment ? v->comment : "");
    if (t == NULL)
        return cc_err_set(err, CC_NOMEM, "out of memory applying a comment");
    cc_code rc = pmap_omap_put(pt, &s->comments, mk, sizeof mk, t, NULL, err);
    cat__text_unref(t);
    return rc;
}

static cc_code
apply_config(cat_state *s, pmap_txn *pt, const ProtobufCMessage *key, const ProtobufCMessage *value,
             cc_err *err)
{
    const char *name = ((const Cowcat__Catalog__SystemConfigurationKey *)key)->name;
    if (name == NULL)
        name = "";
    const char *val =
        value == NULL ? NULL : ((const Cowcat__Catalog__SystemConfigurationValue *)value)->value;
    cc_code rc;
    if (val == NULL) {
        rc = pmap_hamt_del_bytes(pt, &s->config, name, strlen(name), NULL, err);
    } else {
        cat__text *t = cat__text_new(val);
        if (t == NULL)
            return cc_err_set(err, CC_NOMEM, "out of memory applying a configuration value");
        rc = pmap_hamt_put_bytes(pt, &s->config, name, strlen(name), t, NULL, err);
        cat__text_unref(t);
    }
    int l = cat__limit_by_name(name);
    if (rc == CC_OK && l >= 0) {
        int64_t x = cat__parse_limit(val);
        s->limit[l] = x >= 0 ? x : cat__parse_limit(DUR_DEFAULT_LIMIT);
    }
    return rc;
}

cc_code
cat__apply(cat_state *s, pmap_txn *pt, dur_collection coll, const ProtobufCMessage *key,
           const ProtobufCMessage *value, const dur_blob *blob, cc_err *err)
{
    cat_class cls = cat__coll_class(coll);
    if (cls != 0)
        return apply_object(s, pt, cls, key, value, blob, err);
    if (coll == DUR_COMMENTS)
        return apply_comment(s, pt, key, value, err);
    if (coll == DUR_SYSTEM_CONFIGURATION)
        return apply_config(s, pt, key, value, err);
    return CC_OK;
}

static bool
tracked(dur_collection coll)
{
    return cat__coll_class(coll) != 0 || coll == DUR_COMMENTS || coll == DUR_SYSTEM_CONFIGURATION;
}

cc_code
cat__apply_encoded(cat_state *s, pmap_txn *pt, dur_collection coll, pmap_bytes key,
                   const dur_blob *value, cc_err *err)
{
    if (!tracked(coll))
        return CC_OK;
    ProtobufCMessage *k = NULL, *v = NULL;
    cc_code rc = dur_decode(coll, DUR_PART_KEY, key, &k, err);
    if (rc == CC_OK && value != NULL)
        rc = dur_decode(coll, DUR_PART_VALUE, dur_blob_bytes(value), &v, err);
    if (rc == CC_OK)
        rc = cat__apply(s, pt, coll, k, v, value, err);
    if (k != NULL)
        protobuf_c_message_free_unpacked(k, NULL);
    if (v != NULL)
        protobuf_c_message_free_unpacked(v, NULL);
    return rc;
}
