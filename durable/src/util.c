/*
 * durable/src/util.c — blobs, a small bytes-keyed hash table for pending
 * state, the collection table (descriptors, names) and the per-collection
 * knowledge of names and OIDs.
 *
 * Name keys (durable.h: names[i]):
 *   database, role, cluster   [name bytes]
 *   schema                    [scope 9 bytes: database id | 0xff x9 ambient][name]
 *   relation, type            [scope 9 bytes: schema id][name]
 *   scope = [system 0|1][value u64 big-endian]
 */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/hash.h"
#include "base/wire.h"
#include "internal.h"

/* --- blobs ------------------------------------------------------------------ */

dur_blob *
dur__blob_new(const void *data, size_t len)
{
    dur_blob *b = cc_malloc(sizeof *b + (len ? len : 1));
    if (b == NULL)
        return NULL;
    atomic_init(&b->refs, 1);
    b->len = len;
    if (len)
        memcpy(b->data, data, len);
    return b;
}

pmap_bytes
dur_blob_bytes(const dur_blob *b)
{
    pmap_bytes r = {b->data, b->len};
    return r;
}

dur_blob *
dur_blob_ref(const dur_blob *b)
{
    dur_blob *m = (dur_blob *)b;
    if (m != NULL)
        atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
    return m;
}

void
dur_blob_unref(dur_blob *b)
{
    /* acq_rel: the last release sees every earlier holder's reads done. */
    if (b != NULL && atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) == 1)
        cc_free(b);
}

bool
dur__blob_equal(const dur_blob *a, const dur_blob *b)
{
    if (a == b)
        return true;
    if (a == NULL || b == NULL)
        return false;
    return a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}

static void
blob_retain(void *v)
{
    dur_blob_ref(v);
}
static void
blob_release(void *v)
{
    dur_blob_unref(v);
}
static uint64_t
blob_hash(const void *v)
{
    const dur_blob *b = v;
    return cc_hash_bytes(b->data, b->len);
}
static bool
blob_eq(const void *a, const void *b)
{
    return dur__blob_equal(a, b);
}

static const pmap_value_ops blob_ops = {blob_retain, blob_release, blob_hash, blob_eq};
static uint64_t
word_hash(const void *v)
{
    return cc_hash_u64((uint64_t)(uintptr_t)v);
}
static const pmap_value_ops word_ops = {NULL, NULL, word_hash, NULL};
const pmap_omap_type dur__blob_map_type = {&blob_ops};
const pmap_omap_type dur__word_map_type = {&word_ops};

/* --- buffers ------------------------------------------------------------------ */

cc_code
dur__buf_put(dur__buf *b, const void *data, size_t len, cc_err *err)
{
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        while (cap < b->len + len)
            cap *= 2;
        uint8_t *p = cc_realloc(b->p, cap);
        if (p == NULL)
            return cc_err_set(err, CC_NOMEM, "out of memory encoding a catalog key");
        b->p = p;
        b->cap = cap;
    }
    if (len && data != NULL)
        memcpy(b->p + b->len, data, len);
    b->len += len;
    return CC_OK;
}

void
dur__buf_fini(dur__buf *b)
{
    cc_free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

void
dur__be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

/* --- hash table --------------------------------------------------------------- */

static dur__htab_slot *
htab_slot(const dur__htab *h, const void *key, size_t len, uint64_t hash)
{
    size_t mask = h->cap - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
        dur__htab_slot *s = &h->slots[i];
        if (s->key == NULL || (s->hash == hash && s->len == len && memcmp(s->key, key, len) == 0))
            return s;
    }
}

void *
dur__htab_find(const dur__htab *h, const void *key, size_t len)
{
    if (h->cap == 0)
        return NULL;
    dur__htab_slot *s = htab_slot(h, key, len, cc_hash_bytes(key, len));
    return s->key ? s->value : NULL;
}

cc_code
dur__htab_put(dur__htab *h, const void *key, size_t len, void *value, cc_err *err)
{
    if ((h->n + 1) * 2 > h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 16;
        dur__htab_slot *slots = cc_calloc(cap, sizeof *slots);
        if (slots == NULL)
            return cc_err_set(err, CC_NOMEM, "out of memory in a catalog transaction");
        dur__htab old = *h;
        h->slots = slots;
        h->cap = cap;
        for (size_t i = 0; i < old.cap; i++)
            if (old.slots[i].key != NULL)
                *htab_slot(h, old.slots[i].key, old.slots[i].len, old.slots[i].hash) = old.slots[i];
        cc_free(old.slots);
    }
    uint64_t hash = cc_hash_bytes(key, len);
    dur__htab_slot *s = htab_slot(h, key, len, hash);
    if (s->key == NULL) {
        s->key = cc_malloc(len ? len : 1);
        if (s->key == NULL)
            return cc_err_set(err, CC_NOMEM, "out of memory in a catalog transaction");
        if (len)
            memcpy(s->key, key, len);
        s->len = len;
        s->hash = hash;
        h->n++;
    }
    s->value = value;
    return CC_OK;
}

void
dur__htab_fini(dur__htab *h)
{
    for (size_t i = 0; i < h->cap; i++)
        cc_free(h->slots[i].key);
    cc_free(h->slots);
    h->slots = NULL;
    h->cap = h->n = 0;
}

/* --- collections ---------------------------------------------------------------- */

typedef struct coll_info {
    const char *name;
    const ProtobufCMessageDescriptor *key;
    const ProtobufCMessageDescriptor *value;
} coll_info;

static const coll_info colls[DUR_NCOLL] = {
    [DUR_DATABASES] = {"databases", &cowcat__catalog__database_key__descriptor,
                       &cowcat__catalog__database_value__descriptor},
    [DUR_SCHEMAS] = {"schemas", &cowcat__catalog__schema_key__descriptor,
                     &cowcat__catalog__schema_value__descriptor},
    [DUR_ITEMS] = {"items", &cowcat__catalog__item_key__descriptor,
                   &cowcat__catalog__item_value__descriptor},
    [DUR_ROLES] = {"roles", &cowcat__catalog__role_key__descriptor,
                   &cowcat__catalog__role_value__descriptor},
    [DUR_CLUSTERS] = {"clusters", &cowcat__catalog__cluster_key__descriptor,
                      &cowcat__catalog__cluster_value__descriptor},
    [DUR_COMMENTS] = {"comments", &cowcat__catalog__comment_key__descriptor,
                      &cowcat__catalog__comment_value__descriptor},
    [DUR_ID_ALLOCATOR] = {"id_allocator", &cowcat__catalog__id_alloc_key__descriptor,
                          &cowcat__catalog__id_alloc_value__descriptor},
    [DUR_CONFIG] = {"config", &cowcat__catalog__config_key__descriptor,
                    &cowcat__catalog__config_value__descriptor},
    [DUR_SETTINGS] = {"settings", &cowcat__catalog__setting_key__descriptor,
                      &cowcat__catalog__setting_value__descriptor},
    [DUR_SYSTEM_CONFIGURATION] = {"system_configuration",
                                  &cowcat__catalog__system_configuration_key__descriptor,
                                  &cowcat__catalog__system_configuration_value__descriptor},
    [DUR_DEFAULT_PRIVILEGES] = {"default_privileges",
                                &cowcat__catalog__default_privileges_key__descriptor,
                                &cowcat__catalog__default_privileges_value__descriptor},
    [DUR_SYSTEM_PRIVILEGES] = {"system_privileges",
                               &cowcat__catalog__system_privileges_key__descriptor,
                               &cowcat__catalog__system_privileges_value__descriptor},
    [DUR_STORAGE_COLLECTION_METADATA] =
        {"storage_collection_metadata",
         &cowcat__catalog__storage_collection_metadata_key__descriptor,
         &cowcat__catalog__storage_collection_metadata_value__descriptor},
    [DUR_AUDIT_LOG] = {"audit_log", &cowcat__catalog__audit_log_key__descriptor,
                       &cowcat__catalog__audit_log_value__descriptor},
    [DUR_FENCE_TOKEN] = {"fence_token", &cowcat__catalog__fence_token_key__descriptor,
                         &cowcat__catalog__fence_token_value__descriptor},
    [DUR_TXN_WAL_SHARD] = {"txn_wal_shard", &cowcat__catalog__txn_wal_shard_key__descriptor,
                           &cowcat__catalog__txn_wal_shard_value__descriptor},
};

static bool
coll_valid(dur_collection c)
{
    return c >= DUR_COLLECTION_MIN && c <= DUR_COLLECTION_MAX;
}

const ProtobufCMessageDescriptor *
dur_key_descriptor(dur_collection coll)
{
    return coll_valid(coll) ? colls[coll].key : NULL;
}

const ProtobufCMessageDescriptor *
dur_value_descriptor(dur_collection coll)
{
    return coll_valid(coll) ? colls[coll].value : NULL;
}

const char *
dur_collection_name(dur_collection coll)
{
    return coll_valid(coll) ? colls[coll].name : "?";
}

cc_code
dur_encode(const ProtobufCMessage *msg, dur_blob **out, cc_err *err)
{
    size_t len = protobuf_c_message_get_packed_size(msg);
    dur_blob *b = cc_malloc(sizeof *b + (len ? len : 1));
    if (b != NULL) {
        atomic_init(&b->refs, 1);
        b->len = len ? protobuf_c_message_pack(msg, b->data) : 0;
    }
    if (b == NULL)
        return cc_err_set(err, CC_NOMEM, "out of memory encoding a catalog entry");
    *out = b;
    return CC_OK;
}

cc_code
dur_decode(dur_collection coll, dur_part part, pmap_bytes b, ProtobufCMessage **out, cc_err *err)
{
    if (!coll_valid(coll))
        return cc_err_set(err, CC_INVALID, "invalid catalog collection %d", (int)coll);
    const ProtobufCMessageDescriptor *d =
        part == DUR_PART_KEY ? colls[coll].key : colls[coll].value;
    bool oom = false;
    ProtobufCAllocator a = {cc_protobuf_alloc, cc_protobuf_free, &oom};
    ProtobufCMessage *m = protobuf_c_message_unpack(d, &a, b.len, b.ptr);
    if (m == NULL && oom)
        return cc_err_set(err, CC_NOMEM, "out of memory decoding a %s %s of the catalog",
                          colls[coll].name, part == DUR_PART_KEY ? "key" : "value");
    if (m == NULL)
        return cc_err_set(err, CC_CORRUPT, "could not decode a %s %s of the catalog",
                          colls[coll].name, part == DUR_PART_KEY ? "key" : "value");
    *out = m;
    return CC_OK;
}

cc_code
dur__tagged_key(dur__buf *b, dur_collection coll, const ProtobufCMessage *key, cc_err *err)
{
    b->len = 0;
    size_t len = protobuf_c_message_get_packed_size(key);
    uint8_t tag = (uint8_t)coll;
    cc_code rc = dur__buf_put(b, &tag, 1, err);
    if (rc == CC_OK)
        rc = dur__buf_put(b, NULL, len, err);
    if (rc != CC_OK)
        return rc;
    protobuf_c_message_pack(key, b->p + 1);
    return CC_OK;
}

const char *
dur_id_str(const Cowcat__Catalog__CatalogId *id, char *buf)
{
    if (id == NULL)
        snprintf(buf, 24, "(none)");
    else
        snprintf(buf, 24, "%c%llu", id->system ? 's' : 'u', (unsigned long long)id->value);
    return buf;
}

/* --- names and OIDs -------------------------------------------------------------- */

static cc_code
put_scope(dur__buf *b, const Cowcat__Catalog__CatalogId *id, cc_err *err)
{
    uint8_t s[9];
    if (id == NULL) {
        memset(s, 0xff, sizeof s);
    } else {
        s[0] = id->system ? 1 : 0;
        dur__be64(s + 1, id->value);
    }
    return dur__buf_put(b, s, sizeof s, err);
}

bool
dur__name_key(dur_collection coll, const ProtobufCMessage *value, dur_name_index *idx, dur__buf *b,
              cc_code *rc, cc_err *err)
{
    const char *name;
    b->len = 0;
    *rc = CC_OK;
    switch (coll) {
    case DUR_DATABASES:
        *idx = DUR_NAME_DATABASE;
        name = ((const Cowcat__Catalog__DatabaseValue *)value)->name;
        break;
    case DUR_ROLES:
        *idx = DUR_NAME_ROLE;
        name = ((const Cowcat__Catalog__RoleValue *)value)->name;
        break;
    case DUR_CLUSTERS:
        *idx = DUR_NAME_CLUSTER;
        name = ((const Cowcat__Catalog__ClusterValue *)value)->name;
        break;
    case DUR_SCHEMAS: {
        const Cowcat__Catalog__SchemaValue *v = (const void *)value;
        *idx = DUR_NAME_SCHEMA;
        name = v->name;
        *rc = put_scope(b,
                        v->database_opt_case == COWCAT__CATALOG__SCHEMA_VALUE__DATABASE_OPT_DATABASE
                            ? v->database
                            : NULL,
                        err);
        break;
    }
    case DUR_ITEMS: {
        const Cowcat__Catalog__ItemValue *v = (const void *)value;
        static const Cowcat__Catalog__CatalogId none = COWCAT__CATALOG__CATALOG_ID__INIT;
        *idx = v->kind == COWCAT__CATALOG__ITEM_KIND__ITEM_KIND_TYPE ? DUR_NAME_TYPE
                                                                     : DUR_NAME_RELATION;
        name = v->name;
        *rc = put_scope(b, v->schema ? v->schema : &none, err);
        break;
    }
    default:
        return false;
    }
    if (*rc == CC_OK)
        *rc = dur__buf_put(b, name, strlen(name), err);
    return true;
}

uint32_t
dur__value_oid(dur_collection coll, const ProtobufCMessage *value)
{
    switch (coll) {
    case DUR_DATABASES:
        return ((const Cowcat__Catalog__DatabaseValue *)value)->oid;
    case DUR_SCHEMAS:
        return ((const Cowcat__Catalog__SchemaValue *)value)->oid;
    case DUR_ITEMS:
        return ((const Cowcat__Catalog__ItemValue *)value)->oid;
    case DUR_ROLES:
        return ((const Cowcat__Catalog__RoleValue *)value)->oid;
    default:
        return 0;
    }
}

bool
dur__scan_oid(dur_collection coll, pmap_bytes value, uint32_t *oid)
{
    uint64_t field;
    switch (coll) {
    case DUR_DATABASES:
    case DUR_ROLES:
        field = 4;
        break;
    case DUR_SCHEMAS:
        field = 5;
        break;
    case DUR_ITEMS:
        field = 7;
        break;
    default:
        *oid = 0;
        return true;
    }
    uint64_t found;
    if (!cc_wire_scan_varint(value.ptr, value.len, field, &found))
        return false;
    *oid = (uint32_t)found; /* protobuf-c keeps the low 32 bits of a uint32 too */
    return true;
}

const char *
dur__value_name(dur_collection coll, const ProtobufCMessage *value)
{
    switch (coll) {
    case DUR_DATABASES:
        return ((const Cowcat__Catalog__DatabaseValue *)value)->name;
    case DUR_SCHEMAS:
        return ((const Cowcat__Catalog__SchemaValue *)value)->name;
    case DUR_ITEMS:
        return ((const Cowcat__Catalog__ItemValue *)value)->name;
    case DUR_ROLES:
        return ((const Cowcat__Catalog__RoleValue *)value)->name;
    case DUR_CLUSTERS:
        return ((const Cowcat__Catalog__ClusterValue *)value)->name;
    default:
        return "";
    }
}
