/*
 * durable/src/internal.h — the structures behind durable/durable.h, shared by
 * the module's files (helpers named dur__*).
 *
 * Invariants of a published dur_snapshot (see durable.h for the maps):
 *   - coll[c] holds exactly the consolidated +1 entries of collection c at
 *     `upper` (coll[DUR_AUDIT_LOG] stays empty: audit_count counts them);
 *   - names[i] has one entry per indexed object, pointing at its encoded key;
 *   - oids maps each OID used by a database/schema/role/item to its use count.
 *   - the struct never changes once published; the next version is a copy
 *     whose map handles a pmap transaction advances.
 */
#ifndef COWCAT_DURABLE_INTERNAL_H
#define COWCAT_DURABLE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "durable/durable.h"
#include "persist/txnwal.h"

struct dur_blob {
    atomic_size_t refs; /* references: maps, pending entries, changes */
    size_t len;
    uint8_t data[];
};

struct dur_snapshot {
    pmap_omap coll[DUR_NCOLL];  /* encoded key -> dur_blob value */
    pmap_omap names[DUR_NNAME]; /* name key -> dur_blob (encoded catalog key) */
    pmap_omap oids;             /* u64 BE oid -> (void *)(uintptr_t) use count */
    uint64_t audit_count;       /* audit_log entries in the shard */
    uint64_t audit_next_id;     /* 1 + the largest audit event id */
    dur_fence fence;            /* the stored fence token */
    bool external_names;        /* DUR_NAMES_EXTERNAL: names[] stay empty */
    uint64_t upper;             /* the shard upper this version is exact for */
};

/* A bytes -> pointer hash table (open addressing, keys copied). */
typedef struct dur__htab_slot {
    uint8_t *key; /* NULL: empty */
    size_t len;
    uint64_t hash;
    void *value;
} dur__htab_slot;

typedef struct dur__htab {
    dur__htab_slot *slots;
    size_t cap; /* power of two or 0 */
    size_t n;
} dur__htab;

void *dur__htab_find(const dur__htab *h, const void *key, size_t len);
/* Inserts or replaces; *slot_key (may be NULL) gets the table's copy of the key. Errors: NOMEM. */
cc_code dur__htab_put(dur__htab *h, const void *key, size_t len, void *value, cc_err *err);
void dur__htab_fini(dur__htab *h);

extern const pmap_omap_type dur__blob_map_type; /* values are dur_blob */
extern const pmap_omap_type dur__word_map_type; /* values are plain words */

dur_blob *dur__blob_new(const void *data, size_t len);
bool dur__blob_equal(const dur_blob *a, const dur_blob *b); /* NULL-safe */

/* Growable byte buffer. */
typedef struct dur__buf {
    uint8_t *p;
    size_t len, cap;
} dur__buf;
cc_code dur__buf_put(dur__buf *b, const void *data, size_t len, cc_err *err);
void dur__buf_fini(dur__buf *b);

/* Encodes [tag][key message] into b (reset first). Errors: NOMEM. */
cc_code dur__tagged_key(dur__buf *b, dur_collection coll, const ProtobufCMessage *key, cc_err *err);

/*
 * The name index entry of a decoded value of coll: false if coll has none;
 * else *idx and b = the name key. Errors through the return code of the
 * buffer (NOMEM) in *rc.
 */
bool dur__name_key(dur_collection coll, const ProtobufCMessage *value, dur_name_index *idx,
                   dur__buf *b, cc_code *rc, cc_err *err);
/* The OID of a decoded value of coll, or 0 if it has none. */
uint32_t dur__value_oid(dur_collection coll, const ProtobufCMessage *value);
/*
 * The OID of an encoded value of coll, read off the wire format without
 * decoding (no allocation): one pass over the top-level fields. False if the
 * bytes are not a well-formed message.
 */
bool dur__scan_oid(dur_collection coll, pmap_bytes value, uint32_t *oid);
/* The display name of a decoded indexed value (for messages). */
const char *dur__value_name(dur_collection coll, const ProtobufCMessage *value);
/* Big-endian u64 into 8 bytes. */
void dur__be64(uint8_t *p, uint64_t v);

/* Snapshots (snapshot.c). */
void dur__snap_init(dur_snapshot *s, pmap_domain *d);
/*
 * What the writer knows of an insertion (+1) it appends: the blob holding
 * the value's bytes (shared by the snapshot instead of a copy, so the
 * snapshot and the catalog state above it hold one copy) and the value's OID
 * (so applying it decodes nothing when names are external).
 */
typedef struct dur__meta {
    dur_blob *blob; /* NULL: unknown (copy the bytes) */
    uint32_t oid;
    bool oid_known;
} dur__meta;

/*
 * Applies one append's updates (tagged keys) to s (a new version) in pt.
 * meta (may be NULL) parallels u. Errors: CORRUPT, NOMEM.
 */
cc_code dur__snap_apply(dur_snapshot *s, pmap_txn *pt, const persist_update *u,
                        const dur__meta *meta, size_t n, cc_err *err);
/* Drops every map line of s in pt. */
cc_code dur__snap_drop(dur_snapshot *s, pmap_txn *pt, cc_err *err);

/*
 * Id reservation. An id_allocator value on disk is the end of a block
 * reserved durably; ids are handed out from [next, limit) in memory, and a
 * transaction writes the allocator only when its block runs out (reserving
 * DUR_ID_BLOCK more, in the DDL's own commit). A restart loses at most the
 * unused rest of each block (gaps, never reuse). OIDs use the same scheme for
 * their cursor; their uniqueness comes from the used-OID set regardless.
 */
#define DUR_ID_BLOCK    64
#define DUR_ALLOC_SLOTS 8

typedef struct dur__alloc_block {
    char name[24];  /* allocator name (id_allocator key) */
    uint64_t next;  /* next id to hand out */
    uint64_t limit; /* end of the reserved block = the value on disk; 0: none yet */
} dur__alloc_block;

struct dur_catalog {
    persist_client *client;
    persist_shard *shard;
    pmap_domain *domain;
    dur_options opts;
    _Atomic(dur_snapshot *) cur; /* published version (release store, acquire load) */
    pthread_mutex_t lock;        /* serialises version changes (writer, follower callback) */
    dur_fence mine;              /* writer: the token this handle wrote */
    persist_listener *listener;  /* read-only: following the shard */
    bool fenced;                 /* sticky */
    bool broken;                 /* sticky: the snapshot missed a durable append (NOMEM) */
    bool txn_open;
    dur__alloc_block blocks[DUR_ALLOC_SLOTS]; /* committed reservations (writer) */
    size_t nblocks;
    atomic_uint_fast64_t snapshot_rebuilds; /* dur_stats (DUR_SNAPSHOT_REBUILD) */
    txnwal *tw;          /* writer: txn-wal over the txns shard (tables.c); else NULL */
    bool adopt_tables;   /* the next commit registers every table (tables.c) */
    uint64_t advance_runs; /* atomic (relaxed): DUR_ADVANCE_EACH commits */
    uint64_t advanced;     /* atomic (relaxed): data shard appends they made */
};

/*
 * txn-wal (tables.c). dur__tables_open opens txn-wal over the catalog's txns
 * shard (writer) and either has the open's commit adopt the tables (an empty
 * txns shard) or checks that the registrations agree with them.
 * dur__tables_prepare writes the txn_wal_shard entry into the open's
 * transaction. dur__tables_stage stages a commit's registrations — from its
 * changed items, or every table when adopting — and adds txn-wal's part to
 * b (*out: commit or abort it with the batch). Errors: CORRUPT, NOMEM, INVALID.
 */
cc_code dur__tables_open(dur_catalog *cat, cc_err *err);
cc_code dur__tables_prepare(dur_catalog *cat, dur_txn *t, cc_err *err);
/* One changed item of a commit: its encoded ItemKey and its values before and after. */
typedef struct dur__item_change {
    pmap_bytes key;
    const dur_blob *old_value; /* NULL: inserted */
    const dur_blob *new_value; /* NULL: deleted */
} dur__item_change;
cc_code dur__tables_stage(dur_catalog *cat, const dur__item_change *items, size_t n,
                          persist_batch *b, txnwal_stage **out, cc_err *err);

/*
 * The next version, built but not yet published: what a writer prepares
 * before its append, so that nothing is left to allocate once the append is
 * durable. Only the snapshot's one writer prepares, one at a time.
 */
typedef struct dur__next {
    dur_snapshot *snap; /* the new version (cc_malloc'd; its maps in pt) */
    pmap_txn *pt;       /* the transaction that wrote them, still open */
} dur__next;

/*
 * Builds the next version: cur + updates, upper = new_upper, and does not
 * publish it (cur must not change until publish / discard). *out is for
 * exactly one of dur__catalog_publish and dur__catalog_discard. Errors:
 * CORRUPT, NOMEM (*out empty, nothing changed).
 */
cc_code dur__catalog_prepare(dur_catalog *cat, const persist_update *u, const dur__meta *meta,
                             size_t n, uint64_t new_upper, dur__next *out, cc_err *err);

/* Publishes a prepared version. Never fails. Caller holds cat->lock. */
void dur__catalog_publish(dur_catalog *cat, dur__next *next);

/* Drops a prepared version: cur stays as it was. */
void dur__catalog_discard(dur__next *next);

/*
 * Makes and publishes the next version (prepare + publish): cur + updates,
 * upper = new_upper. Caller holds cat->lock. Errors: CORRUPT, NOMEM
 * (nothing published).
 */
cc_code dur__catalog_advance(dur_catalog *cat, const persist_update *u, const dur__meta *meta,
                             size_t n, uint64_t new_upper, cc_err *err);

/*
 * Loads the consolidated snapshot at the shard's upper - 1 into a new
 * published version (bulk-built maps). Errors: CORRUPT, NOMEM, INVALID.
 */
cc_code dur__catalog_load(dur_catalog *cat, cc_err *err);

/*
 * DUR_SNAPSHOT_REBUILD: replaces the published version by one loaded, as
 * dur__catalog_load does, from the shard's whole consolidated contents at
 * new_upper - 1 (the old version is retired once readers have left).
 * Writer only, not from a listener (it reads the shard). Caller holds
 * cat->lock. Errors: CORRUPT, NOMEM, INVALID (nothing published).
 */
cc_code dur__catalog_reload(dur_catalog *cat, uint64_t new_upper, cc_err *err);

/*
 * Writer: reads the appends it missed after an UPPER_MISMATCH and applies
 * them; a newer fence token among them sets cat->fenced. Errors: INVALID,
 * NOMEM, INTERNAL (could not apply: the handle is broken).
 */
cc_code dur__catalog_sync(dur_catalog *cat, cc_err *err);

/* Commits a writer lets pass before moving the catalog shard's since (txn.c). */
#define DUR_SINCE_LAG 64

#endif
