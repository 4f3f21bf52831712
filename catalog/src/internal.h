/*
 * catalog/src/internal.h — the structures behind catalog/catalog.h, shared by
 * the module's files (helpers named cat__*).
 *
 * A cat_state is a struct of map handles; a version never changes once
 * published, the next one is a copy whose handles a pmap transaction advances.
 * Every map is derived from the durable contents by cat__apply (apply.c):
 *
 *   objects   u64 ref -> cat__obj (retained)      one per database, schema,
 *                                                 item, role, cluster
 *   names     u64 hash of the name key -> ref (word)
 *   names_x   name key [ns u8][scope BE8][name] -> ref (word): the names whose
 *             hash is held in `names` by another name (normally empty)
 *   oids      u64 oid -> ref (word)
 *   members   [parent BE8][child BE8] -> 1        (schema/item with parent != 0)
 *   used_by   [used BE8][user BE8] -> 1           (one per distinct item use)
 *   owned     u64 owner ref -> count (word)       (owner != 0)
 *   granted   u64 role ref -> count (word)        objects whose privileges name the role
 *   comments  [ref BE8][column BE4] -> cat__text
 *   config    name -> cat__text                   (system_configuration)
 *   count[k]  objects of kind k; limit[l]: parsed from config (default if absent)
 */
#ifndef COWCAT_CATALOG_INTERNAL_H
#define COWCAT_CATALOG_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "catalog/catalog.h"
#include "pmap/hamt.h"
#include "pmap/omap.h"

/* An object: the public part first, then the name and uses it points at. */
typedef struct cat__obj {
    cat_object pub;   /* pub.value holds one reference to the blob */
    atomic_uint refs; /* the maps' and callers' references */
    uint32_t nacl;    /* distinct roles its privileges name: pub.uses[nuses..nuses+nacl) */
} cat__obj;

/* The roles o's privileges name (grantees and grantors; PUBLIC excluded). */
static inline const cat_ref *
cat__obj_acl(const cat_object *o, uint32_t *n)
{
    *n = ((const cat__obj *)o)->nacl;
    return o->uses + o->nuses;
}

/* A refcounted NUL-terminated string (comments, config values). */
typedef struct cat__text {
    atomic_size_t refs;
    size_t len;
    char s[];
} cat__text;

cat__text *cat__text_new(const char *s);
void cat__text_unref(cat__text *t);

/* Name-index namespaces (first byte of a names key). */
typedef enum cat__ns {
    CAT_NS_DATABASE = 1,
    CAT_NS_SCHEMA = 2,
    CAT_NS_RELATION = 3,
    CAT_NS_TYPE = 4,
    CAT_NS_ROLE = 5,
    CAT_NS_CLUSTER = 6,
} cat__ns;

#define CAT_NAME_MAX     63 /* PostgreSQL's NAMEDATALEN - 1 */
#define CAT_NAME_KEY_MAX (1 + 8 + CAT_NAME_MAX)

struct cat_state {
    pmap_hamt objects;
    pmap_hamt names;
    pmap_hamt names_x;
    pmap_hamt oids;
    pmap_omap members;
    pmap_omap used_by;
    pmap_hamt owned;
    pmap_hamt granted;
    pmap_omap comments;
    pmap_hamt config;
    uint64_t count[CAT_NKIND];
    int64_t limit[CAT_NLIMIT];
    uint64_t upper;                                 /* durable upper this version is exact for */
    uint64_t (*name_hash)(const void *p, size_t n); /* names' key hash (cat_options) */
};

extern const pmap_hamt_type cat__objects_type;
extern const pmap_hamt_type cat__u64_word_type;
extern const pmap_hamt_type cat__bytes_word_type;
extern const pmap_hamt_type cat__config_type;
extern const pmap_omap_type cat__edge_type;
extern const pmap_omap_type cat__comment_type;

/* --- objects (object.c) ------------------------------------------------------------ */

/* The collection of a class. */
dur_collection cat__class_coll(cat_class cls);
/* The class of a collection, or 0. */
cat_class cat__coll_class(dur_collection coll);
/* The durable ObjectType of a kind (comments, audit). */
Cowcat__Catalog__ObjectType cat__kind_object_type(cat_kind k);
/* The class of a comment's ObjectType, or 0. */
cat_class cat__object_type_class(Cowcat__Catalog__ObjectType t);
/* The catalog kind of an ItemKind, or -1. */
int cat__item_kind(Cowcat__Catalog__ItemKind k);
Cowcat__Catalog__ItemKind cat__kind_item_kind(cat_kind k);
/* Fills id from ref (id storage is the caller's). */
void cat__ref_to_id(cat_ref r, Cowcat__Catalog__CatalogId *id);

/*
 * A new object (1 reference) for ref from its decoded durable value and the
 * encoded blob (retained). Errors: NOMEM, CORRUPT (value unusable).
 */
cc_code cat__obj_new(cat_ref ref, const ProtobufCMessage *value, const dur_blob *blob,
                     cat__obj **out, cc_err *err);

/*
 * The cached fields of an object as its decoded durable value states them:
 * views into that value, valid while it is. cat__obj_new builds an object
 * from them; the full check compares them with an object's cached fields.
 */
typedef struct cat__fields {
    cat_kind kind;
    const char *name; /* never NULL ("" when the value has none) */
    uint32_t oid;
    cat_ref parent, owner;
    size_t nuses, nacl;
    Cowcat__Catalog__CatalogId *const *uses;
    Cowcat__Catalog__AclItem *const *acl;
} cat__fields;

/* The fields of value for an object of ref's class. Errors: CORRUPT, INVALID. */
cc_code cat__obj_fields(cat_ref ref, const ProtobufCMessage *value, cat__fields *f, cc_err *err);
/*
 * Writes f's uses, then the distinct roles its privileges name (PUBLIC
 * excluded), into u (room for nuses + 2 * nacl); returns the number of roles.
 */
size_t cat__fields_refs(const cat__fields *f, cat_ref *u);

/*
 * A bump arena for decoding durable messages without one malloc per field
 * (load, full check): what protobuf-c allocates comes from one block, and a
 * reset drops it all at once (no protobuf_c_message_free_unpacked). A
 * zeroed struct is a valid empty arena. One thread at a time.
 */
typedef struct cat__arena {
    ProtobufCAllocator pa; /* allocator_data points back at the arena */
    uint8_t *block;        /* cap bytes; NULL until first used */
    size_t used, cap;
    void *big; /* allocations that did not fit: a list, freed at reset */
    bool oom;  /* an allocation of the current decode failed */
} cat__arena;

/* Decodes b as the key or value of coll into *out (valid until the arena's
 * next reset). Errors: CORRUPT (malformed), INVALID. */
cc_code cat__arena_decode(cat__arena *a, dur_collection coll, dur_part part, pmap_bytes b,
                          ProtobufCMessage **out, cc_err *err);
/* Drops everything decoded since the last reset (keeps the block). */
void cat__arena_reset(cat__arena *a);
void cat__arena_fini(cat__arena *a);

/*
 * Sorts n records of `size` bytes by the uint64_t at lo_off, then (stable,
 * so by (hi, lo)) by the one at hi_off (SIZE_MAX: none): LSD radix, 11 bits
 * a pass, skipping passes in which every record has the same digit. tmp has
 * room for n records. Returns where the result is: v or tmp. O(n) a pass.
 */
void *cat__radix_sort(void *v, void *tmp, size_t n, size_t size, size_t lo_off, size_t hi_off);

/* Big-endian helpers and map keys. */
void cat__be64(uint8_t *p, uint64_t v);
uint64_t cat__get_be64(const uint8_t *p);
/* [ns][scope BE8][name] into buf (CAT_NAME_KEY_MAX + 1); returns length (0: name too long). */
size_t cat__name_key(uint8_t *buf, cat__ns ns, cat_ref scope, const char *name);
/* The namespace an object's name lives in (and its scope). */
cat__ns cat__obj_ns(const cat_object *o, cat_ref *scope);

/* --- states (state.c) ---------------------------------------------------------------- */

/* An empty state of domain d (limits at their defaults). */
void cat__state_init(cat_state *s, pmap_domain *d, uint64_t (*name_hash)(const void *, size_t));
/* Starts new lines for every map of src into dst (O(1)). */
void cat__state_clone(const cat_state *src, cat_state *dst);
/*
 * The CLONE ablation: dst becomes src with every map rebuilt entry by entry
 * into fresh nodes of pt (O(n log n); shares nothing with src). Errors: NOMEM.
 */
cc_code cat__state_copy(const cat_state *src, cat_state *dst, pmap_txn *pt, cc_err *err);
/* Drops every map line of s in pt. Errors: NOMEM. */
cc_code cat__state_drop(cat_state *s, pmap_txn *pt, cc_err *err);
/* The ref of the object whose name key is key[0..len), or 0. */
cat_ref cat__state_name(const cat_state *s, const uint8_t *key, size_t len);
/* Adds / removes o's names entry (add fails with CORRUPT if another object
 * holds the name). Errors: NOMEM, CORRUPT. */
cc_code cat__names_add(cat_state *s, pmap_txn *pt, const cat_object *o, cc_err *err);
cc_code cat__names_del(cat_state *s, pmap_txn *pt, const cat_object *o, cc_err *err);
/* Parses a limit value: a non-negative decimal integer; -1 if invalid. */
int64_t cat__parse_limit(const char *v);
/* The limit whose config name is name, or -1. */
int cat__limit_by_name(const char *name);

/* --- apply (apply.c) ---------------------------------------------------------------- */

/*
 * Applies the new value of one durable entry to s (in pt): key is the decoded
 * key; value the decoded new value and blob its encoding (both NULL: the
 * entry was deleted). The old value's derived entries are found through s.
 * Collections the state does not track are ignored. Errors: NOMEM, CORRUPT.
 */
cc_code cat__apply(cat_state *s, pmap_txn *pt, dur_collection coll, const ProtobufCMessage *key,
                   const ProtobufCMessage *value, const dur_blob *blob, cc_err *err);

/* Decodes and applies an encoded change (open, followers). */
cc_code cat__apply_encoded(cat_state *s, pmap_txn *pt, dur_collection coll, pmap_bytes key,
                           const dur_blob *value, cc_err *err);

/* Builds s (empty) from every tracked collection of snapshot ds in pt. */
cc_code cat__state_load(cat_state *s, pmap_txn *pt, const dur_snapshot *ds, cc_err *err);

/* --- the catalog and transactions ---------------------------------------------------- */

struct cat_catalog {
    dur_catalog *dur;
    bool owns_dur; /* opened by cat_open_follower */
    pmap_domain *domain;
    cat_options opts;
    _Atomic(cat_state *) cur; /* published version (release store / acquire load) */
    pthread_mutex_t lock;     /* serialises version changes (writer, follower) */
    bool stale;               /* the durable catalog moved without us: rebuild */
    bool txn_open;
    /* cat_stats (written by the writer, read by anyone: relaxed) */
    atomic_uint_fast64_t deep_clones;
    atomic_uint_fast64_t alloc_apart;
    atomic_uint_fast64_t limit_scans;
    atomic_uint_fast64_t full_checks;
};

/* A growable array of refs. */
typedef struct cat__refs {
    cat_ref *v;
    size_t n, cap;
} cat__refs;
cc_code cat__refs_push(cat__refs *r, cat_ref ref, cc_err *err);
void cat__refs_fini(cat__refs *r);

/* An open-addressing set of refs (0 is never a ref); zero-initialised is empty. */
typedef struct cat__refset {
    cat_ref *slot; /* cap slots, 0 = free; cap is 0 or a power of two */
    size_t cap, n;
} cat__refset;
bool cat__refset_has(const cat__refset *s, cat_ref r);
/* Adds r (no-op if present). Errors: NOMEM (err may be NULL). */
cc_code cat__refset_add(cat__refset *s, cat_ref r, cc_err *err);
void cat__refset_fini(cat__refset *s);

struct cat_txn {
    cat_catalog *cat;
    const cat_state *base; /* the published version it started from */
    cat_state work;        /* the working version (lines of base's maps) */
    pmap_txn *pt;          /* writes the working version */
    dur_txn *dt;           /* the durable transaction */
    cat_actor actor;
    cat__refs touched; /* objects written (change list, checks) */
    cat__refs parents; /* parents whose member counts may have grown */
    cat_commit_timing *timing; /* where commit records its phases; may be NULL */
    uint64_t apart_upper; /* CAT_ABLATE_ALLOC: durable upper after the last separate
                             allocation (0: none); an abort republishes at it */
    bool poisoned;
};

/*
 * Writes the new value of an object (value NULL: deletes it) to the durable
 * transaction and applies it to the working state. *obj (may be NULL) gets
 * the new object (borrowed from the working state). Errors: those of
 * dur_txn_set / dur_txn_delete, NOMEM.
 */
cc_code cat__put_object(cat_txn *t, cat_ref ref, const ProtobufCMessage *value,
                        const cat_object **obj, cc_err *err);
/* Writes (value NULL: deletes) a comment entry and applies it. */
cc_code cat__put_comment(cat_txn *t, const cat_object *o, uint32_t column, const char *text,
                         cc_err *err);
/* Deletes every comment of object ref (columns included). O(log n + k). */
cc_code cat__drop_comments(cat_txn *t, const cat_object *o, cc_err *err);
/* Writes a system configuration value (applied: limits follow). */
cc_code cat__put_config(cat_txn *t, const char *name, const char *value, cc_err *err);
/* Records an audit event for o (details: its qualified name). */
cc_code cat__audit(cat_txn *t, Cowcat__Catalog__AuditEventType ev, const cat_object *o,
                   cc_err *err);
/*
 * Allocates a new object id in the allocator of cls (items: "user") and, if
 * oid is not NULL, an OID: inside the durable transaction, or under
 * CAT_ABLATE_ALLOC in a durable transaction of their own.
 */
cc_code cat__allocate(cat_txn *t, cat_class cls, cat_ref *out, uint32_t *oid, cc_err *err);

/*
 * The change list from version `from` to version `to` over refs[0..n) (sorted
 * and deduplicated in place): -1 for each object's version in from, +1 for
 * its version in to, in ref order, each holding a reference. *out: new array
 * (NULL when empty); free with cat__changes_free. Errors: NOMEM.
 */
cc_code cat__changes(const cat_state *from, const cat_state *to, cat_ref *refs, size_t n,
                     cat_change **out, size_t *nout, cc_err *err);
void cat__changes_free(cat_change *c, size_t n);

/* A not-found error for ref, worded for its class. */
cc_code cat__not_found(cat_ref ref, cc_err *err);
/* CAT_OP_ALTER_ROLE (role.c): a role's attributes and password. */
cc_code cat__op_alter_role(cat_txn *t, const cat_op *op, cc_err *err);

/* The ops (ops.c, drop.c, columns.c, move.c). */
cc_code cat__op_create(cat_txn *t, const cat_op *op, cat_ref *created, cc_err *err);
cc_code cat__op_drop(cat_txn *t, const cat_op *op, cc_err *err);
cc_code cat__op_alter(cat_txn *t, const cat_op *op, cc_err *err);
cc_code cat__op_column(cat_txn *t, const cat_op *op, cc_err *err);
/* CAT_OP_SET_SCHEMA and CAT_OP_SET_SQL (move.c). */
cc_code cat__op_move(cat_txn *t, const cat_op *op, cc_err *err);
/*
 * Removes from table o what refers to dropped object gone: foreign keys
 * referencing it, columns of its type (with their comments). Errors as put.
 */
cc_code cat__strip_dependency(cat_txn *t, const cat_object *o, const cat_object *gone, cc_err *err);

#endif
