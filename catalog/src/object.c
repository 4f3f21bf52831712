/*
 * catalog/src/object.c — objects (immutable, refcounted, one allocation each),
 * refs, kinds, the map types of a state, and key encodings.
 *
 * Object layout (one cc_malloc):
 *   [cat__obj][uses: nuses x cat_ref][acl roles: nacl x cat_ref][name bytes NUL]
 * The encoded durable value is shared (a dur_blob reference), never copied;
 * the cached fields are what indexes and checks need without decoding.
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/hash.h"
#include "internal.h"

cat_ref
cat_ref_from_id(cat_class cls, const Cowcat__Catalog__CatalogId *id)
{
    if (id == NULL)
        return 0;
    return cat_ref_make(cls, id->system, id->value);
}

void
cat__ref_to_id(cat_ref r, Cowcat__Catalog__CatalogId *id)
{
    cowcat__catalog__catalog_id__init(id);
    id->system = cat_ref_is_system(r);
    id->value = cat_ref_value(r);
}

const char *
cat_ref_str(cat_ref r, char *buf)
{
    snprintf(buf, 24, "%c%" PRIu64, cat_ref_is_system(r) ? 's' : 'u', cat_ref_value(r));
    return buf;
}

static const char *const kind_names[CAT_NKIND] = {
    [CAT_KIND_DATABASE] = "database",
    [CAT_KIND_SCHEMA] = "schema",
    [CAT_KIND_TABLE] = "table",
    [CAT_KIND_VIEW] = "view",
    [CAT_KIND_MATERIALIZED_VIEW] = "materialized view",
    [CAT_KIND_INDEX] = "index",
    [CAT_KIND_TYPE] = "type",
    [CAT_KIND_ROLE] = "role",
    [CAT_KIND_CLUSTER] = "cluster",
};

const char *
cat_kind_name(cat_kind k)
{
    return (unsigned)k < CAT_NKIND ? kind_names[k] : "object";
}

static const char *const limit_names[CAT_NLIMIT] = {
    [CAT_LIMIT_DATABASES] = "max_databases",
    [CAT_LIMIT_SCHEMAS_PER_DATABASE] = "max_schemas_per_database",
    [CAT_LIMIT_OBJECTS_PER_SCHEMA] = "max_objects_per_schema",
    [CAT_LIMIT_TABLES] = "max_tables",
    [CAT_LIMIT_VIEWS] = "max_views",
    [CAT_LIMIT_MATERIALIZED_VIEWS] = "max_materialized_views",
    [CAT_LIMIT_INDEXES] = "max_indexes",
    [CAT_LIMIT_ROLES] = "max_roles",
    [CAT_LIMIT_CLUSTERS] = "max_clusters",
};

const char *
cat_limit_name(cat_limit l)
{
    return (unsigned)l < CAT_NLIMIT ? limit_names[l] : "?";
}

int
cat__limit_by_name(const char *name)
{
    for (int i = 0; i < CAT_NLIMIT; i++)
        if (strcmp(limit_names[i], name) == 0)
            return i;
    return -1;
}

dur_collection
cat__class_coll(cat_class cls)
{
    switch (cls) {
    case CAT_CLASS_DATABASE:
        return DUR_DATABASES;
    case CAT_CLASS_SCHEMA:
        return DUR_SCHEMAS;
    case CAT_CLASS_ITEM:
        return DUR_ITEMS;
    case CAT_CLASS_ROLE:
        return DUR_ROLES;
    case CAT_CLASS_CLUSTER:
        return DUR_CLUSTERS;
    }
    return 0;
}

cat_class
cat__coll_class(dur_collection coll)
{
    switch (coll) {
    case DUR_DATABASES:
        return CAT_CLASS_DATABASE;
    case DUR_SCHEMAS:
        return CAT_CLASS_SCHEMA;
    case DUR_ITEMS:
        return CAT_CLASS_ITEM;
    case DUR_ROLES:
        return CAT_CLASS_ROLE;
    case DUR_CLUSTERS:
        return CAT_CLASS_CLUSTER;
    default:
        return 0;
    }
}

Cowcat__Catalog__ObjectType
cat__kind_object_type(cat_kind k)
{
    static const Cowcat__Catalog__ObjectType t[CAT_NKIND] = {
        [CAT_KIND_DATABASE] = COWCAT__CATALOG__OBJECT_TYPE__OBJECT_TYPE_DATABASE,
        [CAT_KIND_SCHEMA] = COWCAT__CATALOG__OBJECT_TYPE__OBJECT_TYPE_SCHEMA,
        [CAT_KIND_TABLE] = COWCAT__CATALOG__OBJECT_TYPE__OBJECT_TYPE_TABLE,
        [CAT_KIND_VIEW] = COWCAT__CATALOG__OBJECT_TYPE__OBJECT_TYPE_VIEW,
        [CAT_KIND_MATERIALIZED_VIEW] = COWCAT__CATALOG__OBJECT_TYPE__OBJECT_TYPE_MATERIALIZED_VIEW,
        [CAT_KIND_INDEX] = COWCAT__CATALOG__OBJECT_TYPE__OBJECT_TYPE_INDEX,
        [CAT_KIND_TYPE] = COWCAT__CATALOG__OBJECT_TYPE__OBJECT_TYPE_TYPE,
        [CAT_KIND_ROLE] = COWCAT__CATALOG__OBJECT_TYPE__OBJECT_TYPE_ROLE,
        [CAT_KIND_CLUSTER] = COWCAT__CATALOG__OBJECT_TYPE__OBJECT_TYPE_CLUSTER,
    };
    return (unsigned)k < CAT_NKIND ? t[k] : COWCAT__CATALOG__OBJECT_TYPE__OBJECT_TYPE_UNSPECIFIED;
}

cat_class
cat__object_type_class(Cowcat__Catalog__ObjectType t)
{
    switch (t) {
    case COWCAT__CATALOG__OBJECT_TYPE__OBJECT_TYPE_DATABASE:
        return CAT_CLASS_DATABASE;
    case COWCAT__CATALOG__OBJECT_TYPE__OBJECT_TYPE_SCHEMA:
        return CAT_CLASS_SCHEMA;
    case COWCAT__CATALOG__OBJECT_TYPE__OBJECT_TYPE_TABLE:
    case COWCAT__CATALOG__OBJECT_TYPE__OBJECT_TYPE_VIEW:
    case COWCAT__CATALOG__OBJECT_TYPE__OBJECT_TYPE_MATERIALIZED_VIEW:
    case COWCAT__CATALOG__OBJECT_TYPE__OBJECT_TYPE_INDEX:
    case COWCAT__CATALOG__OBJECT_TYPE__OBJECT_TYPE_TYPE:
        return CAT_CLASS_ITEM;
    case COWCAT__CATALOG__OBJECT_TYPE__OBJECT_TYPE_ROLE:
        return CAT_CLASS_ROLE;
    case COWCAT__CATALOG__OBJECT_TYPE__OBJECT_TYPE_CLUSTER:
        return CAT_CLASS_CLUSTER;
    default:
        return 0;
    }
}

int
cat__item_kind(Cowcat__Catalog__ItemKind k)
{
    switch (k) {
    case COWCAT__CATALOG__ITEM_KIND__ITEM_KIND_TABLE:
        return CAT_KIND_TABLE;
    case COWCAT__CATALOG__ITEM_KIND__ITEM_KIND_VIEW:
        return CAT_KIND_VIEW;
    case COWCAT__CATALOG__ITEM_KIND__ITEM_KIND_MATERIALIZED_VIEW:
        return CAT_KIND_MATERIALIZED_VIEW;
    case COWCAT__CATALOG__ITEM_KIND__ITEM_KIND_INDEX:
        return CAT_KIND_INDEX;
    case COWCAT__CATALOG__ITEM_KIND__ITEM_KIND_TYPE:
        return CAT_KIND_TYPE;
    default:
        return -1;
    }
}

Cowcat__Catalog__ItemKind
cat__kind_item_kind(cat_kind k)
{
    switch (k) {
    case CAT_KIND_TABLE:
        return COWCAT__CATALOG__ITEM_KIND__ITEM_KIND_TABLE;
    case CAT_KIND_VIEW:
        return COWCAT__CATALOG__ITEM_KIND__ITEM_KIND_VIEW;
    case CAT_KIND_MATERIALIZED_VIEW:
        return COWCAT__CATALOG__ITEM_KIND__ITEM_KIND_MATERIALIZED_VIEW;
    case CAT_KIND_INDEX:
        return COWCAT__CATALOG__ITEM_KIND__ITEM_KIND_INDEX;
    case CAT_KIND_TYPE:
        return COWCAT__CATALOG__ITEM_KIND__ITEM_KIND_TYPE;
    default:
        return COWCAT__CATALOG__ITEM_KIND__ITEM_KIND_UNSPECIFIED;
    }
}

/* --- objects ------------------------------------------------------------------------- */

const cat_object *
cat_object_ref(const cat_object *o)
{
    atomic_fetch_add_explicit(&((cat__obj *)o)->refs, 1, memory_order_relaxed);
    return o;
}

void
cat_object_unref(const cat_object *o)
{
    if (o == NULL)
        return;
    cat__obj *x = (cat__obj *)o;
    /* acq_rel: the last holder sees every write made before the other releases. */
    if (atomic_fetch_sub_explicit(&x->refs, 1, memory_order_acq_rel) == 1) {
        dur_blob_unref((dur_blob *)x->pub.value);
        cc_free(x);
    }
}

cc_code
cat_object_decode(const cat_object *o, ProtobufCMessage **out, cc_err *err)
{
    return dur_decode(cat__class_coll(cat_ref_class(o->ref)), DUR_PART_VALUE,
                      dur_blob_bytes(o->value), out, err);
}

cc_code
cat__obj_fields(cat_ref ref, const ProtobufCMessage *value, cat__fields *f, cc_err *err)
{
    *f = (cat__fields){0};
    switch (cat_ref_class(ref)) {
    case CAT_CLASS_DATABASE: {
        const Cowcat__Catalog__DatabaseValue *v = (const void *)value;
        f->kind = CAT_KIND_DATABASE;
        f->name = v->name;
        f->nacl = v->n_privileges;
        f->acl = v->privileges;
        f->oid = v->oid;
        f->owner = cat_ref_from_id(CAT_CLASS_ROLE, v->owner);
        break;
    }
    case CAT_CLASS_SCHEMA: {
        const Cowcat__Catalog__SchemaValue *v = (const void *)value;
        f->kind = CAT_KIND_SCHEMA;
        f->name = v->name;
        f->nacl = v->n_privileges;
        f->acl = v->privileges;
        f->oid = v->oid;
        f->owner = cat_ref_from_id(CAT_CLASS_ROLE, v->owner);
        if (v->database_opt_case == COWCAT__CATALOG__SCHEMA_VALUE__DATABASE_OPT_DATABASE)
            f->parent = cat_ref_from_id(CAT_CLASS_DATABASE, v->database);
        break;
    }
    case CAT_CLASS_ITEM: {
        const Cowcat__Catalog__ItemValue *v = (const void *)value;
        int k = cat__item_kind(v->kind);
        if (k < 0 || v->schema == NULL)
            return cc_err_set(err, CC_CORRUPT, "catalog item with kind %d or no schema",
                              (int)v->kind);
        f->kind = (cat_kind)k;
        f->name = v->name;
        f->oid = v->oid;
        f->owner = cat_ref_from_id(CAT_CLASS_ROLE, v->owner);
        f->parent = cat_ref_from_id(CAT_CLASS_SCHEMA, v->schema);
        f->nuses = v->n_uses;
        f->uses = v->uses;
        f->nacl = v->n_privileges;
        f->acl = v->privileges;
        break;
    }
    case CAT_CLASS_ROLE: {
        const Cowcat__Catalog__RoleValue *v = (const void *)value;
        f->kind = CAT_KIND_ROLE;
        f->name = v->name;
        f->oid = v->oid;
        break;
    }
    case CAT_CLASS_CLUSTER: {
        const Cowcat__Catalog__ClusterValue *v = (const void *)value;
        f->kind = CAT_KIND_CLUSTER;
        f->name = v->name;
        f->nacl = v->n_privileges;
        f->acl = v->privileges;
        f->owner = cat_ref_from_id(CAT_CLASS_ROLE, v->owner);
        break;
    }
    default:
        return cc_err_set(err, CC_INVALID, "not an object reference");
    }
    if (f->name == NULL)
        f->name = "";
    if (f->nuses > UINT32_MAX)
        return cc_err_set(err, CC_CORRUPT, "catalog item \"%s\" with %zu uses", f->name, f->nuses);
    return CC_OK;
}

size_t
cat__fields_refs(const cat__fields *f, cat_ref *u)
{
    for (size_t i = 0; i < f->nuses; i++)
        u[i] = f->uses[i] == NULL ? 0 : cat_ref_from_id(CAT_CLASS_ITEM, f->uses[i]);
    size_t na = 0;
    for (size_t i = 0; i < f->nacl; i++) {
        const Cowcat__Catalog__AclItem *a = f->acl[i];
        cat_ref r[2] = {a ? cat_ref_from_id(CAT_CLASS_ROLE, a->grantee) : 0,
                        a ? cat_ref_from_id(CAT_CLASS_ROLE, a->grantor) : 0};
        for (int k = 0; k < 2; k++) {
            bool seen = cat_ref_value(r[k]) == 0; /* PUBLIC (u0) or unset */
            for (size_t j = 0; j < na && !seen; j++)
                seen = u[f->nuses + j] == r[k];
            if (!seen)
                u[f->nuses + na++] = r[k];
        }
    }
    return na;
}

cc_code
cat__obj_new(cat_ref ref, const ProtobufCMessage *value, const dur_blob *blob, cat__obj **out,
             cc_err *err)
{
    cat__fields f;
    cc_code rc = cat__obj_fields(ref, value, &f, err);
    if (rc != CC_OK)
        return rc;
    size_t nlen = strlen(f.name);
    /* Each ACL item names at most two roles (grantee, grantor). */
    cat__obj *o = cc_malloc(sizeof *o + (f.nuses + 2 * f.nacl) * sizeof(cat_ref) + nlen + 1);
    if (o == NULL)
        return cc_err_set(err, CC_NOMEM, "out of memory building a catalog object");
    cat_ref *u = (cat_ref *)(o + 1);
    size_t na = cat__fields_refs(&f, u);
    char *n = (char *)(u + f.nuses + na);
    memcpy(n, f.name, nlen + 1);
    atomic_init(&o->refs, 1);
    o->nacl = (uint32_t)na;
    o->pub = (cat_object){
        .ref = ref,
        .parent = f.parent,
        .owner = f.owner,
        .name = n,
        .value = dur_blob_ref(blob),
        .uses = u,
        .nuses = (uint32_t)f.nuses,
        .oid = f.oid,
        .kind = f.kind,
    };
    *out = o;
    return CC_OK;
}

/* --- decoding arena -------------------------------------------------------------------- */

#define ARENA_BLOCK (64u << 10) /* covers any ordinary object value */
#define ARENA_ALIGN 16u

typedef struct arena_big {
    struct arena_big *next;
    max_align_t pad[]; /* the allocation follows, aligned */
} arena_big;

static void *
arena_alloc(void *data, size_t n)
{
    cat__arena *a = data;
    size_t need = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (a->block == NULL && (a->block = cc_malloc(ARENA_BLOCK)) != NULL)
        a->cap = ARENA_BLOCK;
    if (need <= a->cap - a->used) {
        void *p = a->block + a->used;
        a->used += need;
        return p;
    }
    arena_big *b = cc_malloc(sizeof *b + n);
    if (b == NULL) {
        a->oom = true;
        return NULL;
    }
    b->next = a->big;
    a->big = b;
    return b->pad;
}

static void
arena_free(void *data, void *p)
{
    (void)data; /* everything goes at the next reset (protobuf-c frees a partial
                   message on a decode error; that memory stays until then) */
    (void)p;
}

cc_code
cat__arena_decode(cat__arena *a, dur_collection coll, dur_part part, pmap_bytes b,
                  ProtobufCMessage **out, cc_err *err)
{
    const ProtobufCMessageDescriptor *d =
        part == DUR_PART_KEY ? dur_key_descriptor(coll) : dur_value_descriptor(coll);
    if (d == NULL)
        return cc_err_set(err, CC_INVALID, "invalid catalog collection %d", (int)coll);
    a->pa = (ProtobufCAllocator){arena_alloc, arena_free, a};
    a->oom = false;
    ProtobufCMessage *m = protobuf_c_message_unpack(d, &a->pa, b.len, b.ptr);
    if (m == NULL && a->oom)
        return cc_err_set(err, CC_NOMEM, "out of memory decoding a %s %s of the catalog",
                          dur_collection_name(coll), part == DUR_PART_KEY ? "key" : "value");
    if (m == NULL)
        return cc_err_set(err, CC_CORRUPT, "could not decode a %s %s of the catalog",
                          dur_collection_name(coll), part == DUR_PART_KEY ? "key" : "value");
    *out = m;
    return CC_OK;
}

void
cat__arena_reset(cat__arena *a)
{
    while (a->big != NULL) {
        arena_big *b = a->big;
        a->big = b->next;
        cc_free(b);
    }
    a->used = 0;
}

void
cat__arena_fini(cat__arena *a)
{
    cat__arena_reset(a);
    cc_free(a->block);
    a->block = NULL;
    a->cap = 0;
}

/* --- sorting ----------------------------------------------------------------------------- */

#define RADIX_BITS 11
#define RADIX      (1u << RADIX_BITS)

static uint64_t
rec_key(const unsigned char *rec, size_t off)
{
    uint64_t k;
    memcpy(&k, rec + off, sizeof k);
    return k;
}

/* One key's passes; returns where the records are. */
static unsigned char *
radix_by(unsigned char *v, unsigned char *tmp, size_t n, size_t size, size_t off)
{
    size_t count[RADIX];
    for (unsigned shift = 0; shift < 64; shift += RADIX_BITS) {
        memset(count, 0, sizeof count);
        for (size_t i = 0; i < n; i++)
            count[(rec_key(v + i * size, off) >> shift) & (RADIX - 1)]++;
        if (count[(rec_key(v, off) >> shift) & (RADIX - 1)] == n)
            continue; /* one digit for all: the order stands */
        size_t sum = 0;
        for (size_t d = 0; d < RADIX; d++) {
            size_t c = count[d];
            count[d] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++) {
            const unsigned char *r = v + i * size;
            memcpy(tmp + size * count[(rec_key(r, off) >> shift) & (RADIX - 1)]++, r, size);
        }
        unsigned char *x = v;
        v = tmp;
        tmp = x;
    }
    return v;
}

void *
cat__radix_sort(void *v, void *tmp, size_t n, size_t size, size_t lo_off, size_t hi_off)
{
    if (n < 2)
        return v;
    unsigned char *a = radix_by(v, tmp, n, size, lo_off);
    if (hi_off != SIZE_MAX)
        a = radix_by(a, a == v ? tmp : v, n, size, hi_off);
    return a;
}

/* --- keys ------------------------------------------------------------------------------ */

void
cat__be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

uint64_t
cat__get_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

size_t
cat__name_key(uint8_t *buf, cat__ns ns, cat_ref scope, const char *name)
{
    size_t n = strlen(name);
    if (n > CAT_NAME_MAX)
        return 0;
    buf[0] = (uint8_t)ns;
    cat__be64(buf + 1, scope);
    memcpy(buf + 9, name, n);
    return 9 + n;
}

cat__ns
cat__obj_ns(const cat_object *o, cat_ref *scope)
{
    *scope = 0;
    switch (o->kind) {
    case CAT_KIND_DATABASE:
        return CAT_NS_DATABASE;
    case CAT_KIND_SCHEMA:
        *scope = o->parent;
        return CAT_NS_SCHEMA;
    case CAT_KIND_TYPE:
        *scope = o->parent;
        return CAT_NS_TYPE;
    case CAT_KIND_ROLE:
        return CAT_NS_ROLE;
    case CAT_KIND_CLUSTER:
        return CAT_NS_CLUSTER;
    default:
        *scope = o->parent;
        return CAT_NS_RELATION;
    }
}

/* --- texts ------------------------------------------------------------------------------ */

cat__text *
cat__text_new(const char *s)
{
    size_t n = strlen(s);
    cat__text *t = cc_malloc(sizeof *t + n + 1);
    if (t == NULL)
        return NULL;
    atomic_init(&t->refs, 1);
    t->len = n;
    memcpy(t->s, s, n + 1);
    return t;
}

void
cat__text_unref(cat__text *t)
{
    if (t != NULL && atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) == 1)
        cc_free(t);
}

/* --- map types ---------------------------------------------------------------------------- */

static void
obj_retain(void *v)
{
    cat_object_ref(v);
}
static void
obj_release(void *v)
{
    cat_object_unref(v);
}
/* Content hash: the ref and the encoded value (equal contents, equal fingerprints). */
static uint64_t
obj_hash(const void *v)
{
    const cat__obj *o = v;
    pmap_bytes b = dur_blob_bytes(o->pub.value);
    return cc_hash_combine(cc_hash_u64(o->pub.ref), cc_hash_bytes(b.ptr, b.len));
}
static bool
obj_equal(const void *a, const void *b)
{
    const cat__obj *x = a, *y = b;
    if (x == y)
        return true;
    pmap_bytes p = dur_blob_bytes(x->pub.value), q = dur_blob_bytes(y->pub.value);
    return x->pub.ref == y->pub.ref && p.len == q.len && memcmp(p.ptr, q.ptr, p.len) == 0;
}
static const pmap_value_ops obj_ops = {obj_retain, obj_release, obj_hash, obj_equal};
const pmap_hamt_type cat__objects_type = {PMAP_KEY_U64, &obj_ops, NULL, NULL};

static uint64_t
word_hash(const void *v)
{
    return cc_hash_u64((uint64_t)(uintptr_t)v);
}
static const pmap_value_ops word_ops = {NULL, NULL, word_hash, NULL};
const pmap_hamt_type cat__u64_word_type = {PMAP_KEY_U64, &word_ops, NULL, NULL};
const pmap_hamt_type cat__bytes_word_type = {PMAP_KEY_BYTES, &word_ops, NULL, NULL};
const pmap_omap_type cat__edge_type = {&word_ops};

static void
text_retain(void *v)
{
    atomic_fetch_add_explicit(&((cat__text *)v)->refs, 1, memory_order_relaxed);
}
static void
text_release(void *v)
{
    cat__text_unref(v);
}
static uint64_t
text_hash(const void *v)
{
    const cat__text *t = v;
    return cc_hash_bytes(t->s, t->len);
}
static bool
text_equal(const void *a, const void *b)
{
    const cat__text *x = a, *y = b;
    return x->len == y->len && memcmp(x->s, y->s, x->len) == 0;
}
static const pmap_value_ops text_ops = {text_retain, text_release, text_hash, text_equal};
const pmap_hamt_type cat__config_type = {PMAP_KEY_BYTES, &text_ops, NULL, NULL};
const pmap_omap_type cat__comment_type = {&text_ops};
