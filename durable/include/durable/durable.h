/*
 * durable/durable.h — the durable catalog: collections of (key, value) in ONE
 * persist shard, a cached Snapshot of them, and transactions that commit with
 * one compare_and_append.
 *
 * On disk (see proto/catalog.proto)
 *   persist key   = [tag u8 = dur_collection][encoded <Collection>Key message]
 *   persist value =                         [encoded <Collection>Value message]
 *   diff ±1; changing a key's value is -old +new at the same ts; every commit
 *   is one append [upper, upper + 1).
 *
 * Cached Snapshot (dur_snapshot): an immutable version of
 *   coll[c]    one pmap_omap per collection: encoded Key -> dur_blob (the
 *              encoded Value, decoded only by whoever asks)
 *   names[i]   name indexes: [scope 9 bytes][name] -> dur_blob (encoded Key)
 *              (database name; (database, schema name); (schema, relation
 *              name); (schema, type name); role name; cluster name)
 *   oids       used OIDs: u64 big-endian -> use count (never scanned: a gap is
 *              found by binary search over range counts)
 *   audit      only the count and next event id; the audit log itself is never
 *              loaded (its entries live in the shard only; their ids are dense:
 *              next - count .. next - 1, as retention removes the oldest)
 * A commit makes the next version from the previous one with the delta only
 * (O(changes · log n)); versions share structure (pmap path copying).
 *
 * Transactions: dur_txn_begin takes the current version (O(1), nothing
 * decoded). Writes keep one pending entry per key (the value at first touch
 * and the current one), a name overlay and an OID overlay; reads consult
 * pending first, then the base version. Uniqueness is checked only for the
 * keys a write changes, through the name indexes. Commit turns the pending
 * entries whose value changed into -old/+new updates.
 *
 * Fencing: a writable dur_open bumps the fence token (generation, epoch + 1).
 * A writer whose append fails with UPPER_MISMATCH reads what it missed; if a
 * newer fence token appeared it is fenced: that call and every later one fail
 * with CC_FENCED. A read-only catalog listens to the shard and applies every
 * append to its cached Snapshot as it commits.
 *
 * Thread-safety: one writer thread per catalog (one open transaction at a
 * time). Other threads may read versions while pinned on a pmap_reader of
 * dur_catalog_domain() (dur_snapshot_acquire gives the published version).
 */
#ifndef COWCAT_DURABLE_DURABLE_H
#define COWCAT_DURABLE_DURABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "base/err.h"
#include "persist/persist.h"
#include "pmap/domain.h"
#include "pmap/omap.h"
#include "proto/catalog.pb-c.h"

/* Collection tags: the StateUpdateKind field numbers, and the first key byte. */
typedef enum dur_collection {
    DUR_DATABASES = 1,
    DUR_SCHEMAS = 2,
    DUR_ITEMS = 3,
    DUR_ROLES = 4,
    DUR_CLUSTERS = 5,
    DUR_COMMENTS = 6,
    DUR_ID_ALLOCATOR = 7,
    DUR_CONFIG = 8,
    DUR_SETTINGS = 9,
    DUR_SYSTEM_CONFIGURATION = 10,
    DUR_DEFAULT_PRIVILEGES = 11,
    DUR_SYSTEM_PRIVILEGES = 12,
    DUR_STORAGE_COLLECTION_METADATA = 13,
    DUR_AUDIT_LOG = 14,
    DUR_FENCE_TOKEN = 15,
    DUR_TXN_WAL_SHARD = 16,
} dur_collection;

#define DUR_COLLECTION_MIN 1
#define DUR_COLLECTION_MAX 16
#define DUR_NCOLL          17 /* array size indexed by dur_collection */

/* Name indexes kept in the snapshot. */
typedef enum dur_name_index {
    DUR_NAME_DATABASE = 0, /* name */
    DUR_NAME_SCHEMA,       /* (database id or ambient, name) */
    DUR_NAME_RELATION,     /* (schema id, name) of items other than types */
    DUR_NAME_TYPE,         /* (schema id, name) of types */
    DUR_NAME_ROLE,         /* name */
    DUR_NAME_CLUSTER,      /* name */
    DUR_NNAME
} dur_name_index;

/* The first user OID; system objects use fixed OIDs below it. */
#define DUR_FIRST_USER_OID 20000u
/* The catalog format version this build writes (config "catalog_format_version"). */
#define DUR_FORMAT_VERSION 1u
/* Default for every max_* limit in system_configuration. */
#define DUR_DEFAULT_LIMIT "10000000"

/* Id allocator names (id_allocator keys). */
#define DUR_ALLOC_DATABASE     "database"
#define DUR_ALLOC_SCHEMA       "schema"
#define DUR_ALLOC_USER_ITEM    "user"
#define DUR_ALLOC_SYSTEM_ITEM  "system"
#define DUR_ALLOC_USER_ROLE    "user_role"
#define DUR_ALLOC_USER_CLUSTER "user_compute"
#define DUR_ALLOC_OID          "oid"

/* A refcounted immutable byte string: an encoded Key or Value. */
typedef struct dur_blob dur_blob;

pmap_bytes dur_blob_bytes(const dur_blob *b);
/* Returns a new reference (b may be NULL). */
dur_blob *dur_blob_ref(const dur_blob *b);
/* Drops a reference (b may be NULL). */
void dur_blob_unref(dur_blob *b);

typedef struct dur_catalog dur_catalog;
typedef struct dur_txn dur_txn;
typedef struct dur_snapshot dur_snapshot;

typedef enum dur_mode {
    DUR_MODE_WRITABLE = 0,  /* bootstrap if empty, bump the fence token */
    DUR_MODE_READ_ONLY = 1, /* never writes; follows the shard */
} dur_mode;

typedef struct dur_fence {
    uint64_t generation; /* deploy generation */
    uint64_t epoch;      /* bumped by every writable open */
} dur_fence;

/* One applied change: key and values are encoded messages (no tag byte). */
typedef struct dur_change {
    dur_collection coll;
    dur_blob *key;       /* owned by the dur_changes */
    dur_blob *old_value; /* NULL: inserted */
    dur_blob *new_value; /* NULL: deleted */
} dur_change;

typedef struct dur_changes {
    size_t n;
    dur_change *v;  /* in (collection, key) order */
    uint64_t upper; /* the catalog upper after the commit */
} dur_changes;

void dur_changes_free(dur_changes *c);

/*
 * Follower callback (read-only catalogs): called for every append after the
 * cached Snapshot has been updated, on the appending thread, under the shard's
 * lock (do not call into the catalog's shard from it). changes is borrowed.
 */
typedef void (*dur_follow_fn)(void *arg, const dur_changes *changes);

/*
 * Who enforces name uniqueness. CHECKED: this layer, through the Snapshot's
 * name indexes (standalone use). EXTERNAL: the layer above (catalog/ keeps
 * its own name maps and checks every write): the Snapshot keeps no name
 * indexes, writes skip the check, dur_snapshot_find_name finds nothing —
 * one index per name in the process instead of two, and no value decoded on
 * the create path.
 */
typedef enum dur_names {
    DUR_NAMES_CHECKED = 0,
    DUR_NAMES_EXTERNAL = 1,
} dur_names;

/*
 * How a writer's commit brings the cached Snapshot up to date. DELTA: the
 * commit's changes are applied to the previous version (O(changes log n)).
 * REBUILD — an ablation for benchmarks: the Snapshot is rebuilt from the
 * shard's whole consolidated contents, as dur_open loads it (O(n) per
 * commit). Followed appends always apply the delta.
 */
typedef enum dur_snapshot_mode {
    DUR_SNAPSHOT_DELTA = 0,
    DUR_SNAPSHOT_REBUILD = 1,
} dur_snapshot_mode;

/*
 * How a writer's commit advances the frontiers of the tables' data shards
 * (txn-wal, see "tables" below). TXNS: the commit's one append to the txns
 * shard advances every registered table's logical upper at once. EACH: the
 * `advance` ablation (benchmarks only) — the commit also appends, in the
 * same record, an empty batch to EVERY table's data shard, the per-table
 * O(n) work txn-wal removes (counted in dur_tables_stats.advance_runs).
 */
typedef enum dur_advance {
    DUR_ADVANCE_TXNS = 0,
    DUR_ADVANCE_EACH = 1,
} dur_advance;

typedef struct dur_options {
    dur_mode mode;
    uint64_t deploy_generation; /* a writer with a lower generation than stored is refused */
    const char *shard_id;       /* NULL: "catalog" */
    dur_follow_fn on_change;    /* read-only only; may be NULL */
    void *on_change_arg;
    dur_names names;            /* default DUR_NAMES_CHECKED */
    dur_snapshot_mode snapshot; /* default DUR_SNAPSHOT_DELTA */
    dur_advance advance;        /* writer: default DUR_ADVANCE_TXNS */
    uint64_t audit_keep;        /* writer: audit events kept, the newest; 0: DUR_AUDIT_KEEP */
} dur_options;

/*
 * The audit log's default bound. The log lives in the catalog shard's
 * consolidated trace, which is in memory and in every rollup, so an
 * unbounded log grows both by ~100 bytes per DDL forever although the
 * catalog does not (found by tests/soak). Past the bound each commit that
 * appends events retracts the oldest ones (see dur_txn_audit).
 */
#define DUR_AUDIT_KEEP 100000u

typedef struct dur_stats {
    uint64_t snapshot_rebuilds; /* DUR_SNAPSHOT_REBUILD: Snapshots rebuilt by commits */
} dur_stats;

/* A copy of the counters (any thread; relaxed). */
void dur_stats_get(dur_catalog *cat, dur_stats *out);

/* --- open, close ----------------------------------------------------------- */

/*
 * Opens the catalog in its shard of client c (borrowed; must outlive the
 * catalog): loads the consolidated snapshot into the cached Snapshot (audit
 * log counted, not loaded). Writable: bootstraps an empty shard in one
 * transaction, upgrades the format version if older, and bumps the fence
 * token — all in ONE append — and opens txn-wal over the txns shard, whose
 * registrations must agree with the tables (see "tables"). Read-only: starts
 * following the shard. Errors: FENCED (the stored generation is newer),
 * CORRUPT (undecodable entry, a diff other than +1, registrations that
 * disagree with the tables), INVALID, NOMEM, IO, UPPER_MISMATCH (lost a race
 * with another writer; retry).
 */
cc_code dur_open(persist_client *c, const dur_options *opts, dur_catalog **out, cc_err *err);

/* Closes the catalog (stops following). No transaction may be open. */
void dur_close(dur_catalog *cat);

/* The shard upper the cached Snapshot is exact for. */
uint64_t dur_upper(dur_catalog *cat);
/* This writer's fence token (read-only: the latest one seen). */
dur_fence dur_fence_token(dur_catalog *cat);
bool dur_is_fenced(dur_catalog *cat);
/*
 * CC_OK, or why the handle can no longer serve: FENCED (a newer writer opened
 * the data directory) or INTERNAL (a durable change could not be applied to the
 * cached snapshot, so memory disagrees with disk). Both are for good: close and
 * reopen. O(1).
 */
cc_code dur_health(dur_catalog *cat, cc_err *err);
/* The pmap domain of the snapshots (for readers on other threads). */
pmap_domain *dur_catalog_domain(dur_catalog *cat);

/* --- snapshots (reads) ------------------------------------------------------ */

/*
 * The current version. Writer thread: valid until its next commit (or, for a
 * follower, the next append). Other threads: pin a pmap_reader of
 * dur_catalog_domain first; valid until unpin.
 */
const dur_snapshot *dur_snapshot_acquire(dur_catalog *cat);

/* The encoded value under the encoded key, or NULL; borrowed with the version. */
const dur_blob *dur_snapshot_find(const dur_snapshot *s, dur_collection coll, pmap_bytes key);
/* Number of entries of a collection (audit log: the durable count). */
size_t dur_snapshot_count(const dur_snapshot *s, dur_collection coll);
/* The encoded key of the object named (scope, name) in index idx, or NULL
 * (always NULL under DUR_NAMES_EXTERNAL).
 * scope: the database (DUR_NAME_SCHEMA; NULL = ambient) or schema
 * (RELATION/TYPE); ignored for the other indexes. */
const dur_blob *dur_snapshot_find_name(const dur_snapshot *s, dur_name_index idx,
                                       const Cowcat__Catalog__CatalogId *scope, const char *name);
/* True if oid is used by a database, schema, role or item. */
bool dur_snapshot_oid_used(const dur_snapshot *s, uint32_t oid);
/* Content fingerprint over every collection (equal contents, equal fp). */
pmap_fp dur_snapshot_fp(const dur_snapshot *s);
/* The shard upper this version is exact for. */
uint64_t dur_snapshot_upper(const dur_snapshot *s);

/*
 * Walks the whole version (tests, tools; O(n)): every map's invariants, each
 * indexed object's name entry pointing at its key and index sizes equal to
 * object counts, OID use counts equal to a recount, the audit log absent, the
 * cached fence token equal to the stored one. Errors: CORRUPT, NOMEM.
 */
cc_code dur_snapshot_check(const dur_snapshot *s, cc_err *err);

/* Iteration in encoded-key order. */
typedef struct dur_cursor {
    pmap_omap_cursor c;
} dur_cursor;
bool dur_cursor_first(dur_cursor *cur, const dur_snapshot *s, dur_collection coll);
bool dur_cursor_get(const dur_cursor *cur, pmap_bytes *key, const dur_blob **value);
bool dur_cursor_next(dur_cursor *cur);

/* --- encoding helpers -------------------------------------------------------- */

/* The key / value message descriptor of a collection. */
const ProtobufCMessageDescriptor *dur_key_descriptor(dur_collection coll);
const ProtobufCMessageDescriptor *dur_value_descriptor(dur_collection coll);
const char *dur_collection_name(dur_collection coll);

/* Encodes msg into a new blob (*out: new reference). Errors: NOMEM. */
cc_code dur_encode(const ProtobufCMessage *msg, dur_blob **out, cc_err *err);
/*
 * Decodes b as a coll key (DUR_DECODE_KEY) or value into a new message (free
 * with protobuf_c_message_free_unpacked(m, NULL)). Errors: CORRUPT, NOMEM.
 */
typedef enum dur_part { DUR_PART_KEY = 0, DUR_PART_VALUE = 1 } dur_part;
cc_code dur_decode(dur_collection coll, dur_part part, pmap_bytes b, ProtobufCMessage **out,
                   cc_err *err);

/* "u7" / "s3" into buf (at least 24 bytes); returns buf. */
const char *dur_id_str(const Cowcat__Catalog__CatalogId *id, char *buf);

/* --- transactions ------------------------------------------------------------ */

/*
 * Starts a transaction on the current version: O(1). Errors: FENCED,
 * INVALID (read-only catalog, SQLSTATE 25006; a transaction already open),
 * NOMEM.
 */
cc_code dur_txn_begin(dur_catalog *cat, dur_txn **out, cc_err *err);

/*
 * The encoded value under key (pending first, then the base version), or
 * *value = NULL if absent. *value is borrowed until the next write of that
 * key in this transaction or its end (take a dur_blob_ref to keep it).
 * Errors: NOMEM (encoding the key), INVALID.
 */
cc_code dur_txn_find_raw(dur_txn *txn, dur_collection coll, const ProtobufCMessage *key,
                         const dur_blob **value, cc_err *err);

/*
 * As dur_txn_find_raw, decoded: *value is a new message (free with
 * protobuf_c_message_free_unpacked(v, NULL)). Errors: NOT_FOUND, CORRUPT, NOMEM.
 */
cc_code dur_txn_get(dur_txn *txn, dur_collection coll, const ProtobufCMessage *key,
                    ProtobufCMessage **value, cc_err *err);

/*
 * Writes. key and value are borrowed generated messages of the collection's
 * Key / Value types (INVALID otherwise). insert requires the key absent
 * (EXISTS), update and delete require it present (NOT_FOUND); set is
 * insert-or-update. Name uniqueness is checked for the changed key only:
 * EXISTS with SQLSTATE 42P04 database, 42P06 schema, 42P07 relation, 42710
 * type / role / cluster, PostgreSQL wording. A failed write changes nothing;
 * NOMEM poisons the transaction. The fenced/poisoned state fails every call.
 */
cc_code dur_txn_insert(dur_txn *txn, dur_collection coll, const ProtobufCMessage *key,
                       const ProtobufCMessage *value, cc_err *err);
cc_code dur_txn_update(dur_txn *txn, dur_collection coll, const ProtobufCMessage *key,
                       const ProtobufCMessage *value, cc_err *err);
cc_code dur_txn_set(dur_txn *txn, dur_collection coll, const ProtobufCMessage *key,
                    const ProtobufCMessage *value, cc_err *err);
cc_code dur_txn_delete(dur_txn *txn, dur_collection coll, const ProtobufCMessage *key, cc_err *err);

/*
 * As dur_txn_set, and *stored gets the encoded value now stored under key
 * (borrowed like dur_txn_find_raw's; take a dur_blob_ref to keep it): the
 * blob the Snapshot will share after commit, without encoding the key twice.
 */
cc_code dur_txn_put(dur_txn *txn, dur_collection coll, const ProtobufCMessage *key,
                    const ProtobufCMessage *value, const dur_blob **stored, cc_err *err);

/*
 * Allocates the next id of allocator name, inside the transaction. Ids come
 * from a block reserved durably: an id_allocator value on disk is the end of
 * the block handed out so far, and only when the block runs out does the
 * transaction write the allocator (reserving DUR_ID_BLOCK = 64 more, in its
 * own commit) — so most DDLs write no allocator at all. Ids are unique and
 * increasing; within one open they are contiguous, and after a reopen they
 * continue past the last reserved block (gaps, never reuse). A transaction
 * that fails gives its ids back. Errors: NOT_FOUND (no such allocator),
 * NOMEM, INVALID.
 */
cc_code dur_txn_allocate_id(dur_txn *txn, const char *name, uint64_t *id, cc_err *err);

/*
 * Allocates an unused OID >= the "oid" allocator's cursor (wrapping to
 * DUR_FIRST_USER_OID), skipping OIDs used in the base version or by this
 * transaction's writes: one lookup when the cursor is free, else a gallop
 * and binary search over range counts, O(log(run) · log n); never a scan.
 * The cursor on disk moves a block at a time, as ids do; uniqueness comes
 * from the used-OID set. Errors: LIMIT (OIDs exhausted), NOMEM.
 */
cc_code dur_txn_allocate_oid(dur_txn *txn, uint32_t *oid, cc_err *err);

/*
 * Appends an audit event to this commit (id = next audit id; *event_id may be
 * NULL). Strings are borrowed. While the log, with this commit's events,
 * holds more than the open's audit_keep events, the oldest are retracted in
 * the same commit — at most two per new event, so a lowered bound (or a log
 * written before there was one) shrinks gradually, never in one big commit.
 * O(log n). Errors: NOMEM.
 */
cc_code dur_txn_audit(dur_txn *txn, Cowcat__Catalog__AuditEventType event_type,
                      Cowcat__Catalog__ObjectType object_type, const char *details,
                      const char *user, uint64_t occurred_at_ms, uint64_t *event_id, cc_err *err);

/* Number of keys whose value this transaction changes (for tests). */
size_t dur_txn_pending_count(const dur_txn *txn);

/*
 * Commits: ONE compare_and_append at [upper, upper + 1) with -old/+new per
 * changed key (nothing at all if nothing changed) — in one persist record
 * with txn-wal's part (tables created / dropped; see "tables") and, every
 * DUR_SINCE_LAG commits, the catalog shard's since move — then applies the
 * delta to the cached Snapshot. *changes (may be NULL) gets the applied changes (new;
 * free with dur_changes_free). Always frees txn. Errors: FENCED (a newer
 * writer appeared; the catalog is fenced for good), UPPER_MISMATCH (the shard
 * moved without a newer fence: the snapshot is caught up, retry), IO, NOMEM
 * (nothing written: the next cached version is built before the append, so
 * nothing is left to allocate after it — except under DUR_SNAPSHOT_REBUILD,
 * whose rebuild follows the append: a NOMEM there leaves the commit durable,
 * the catalog must be reopened and every later call fails with INTERNAL),
 * INVALID (poisoned txn). On any error nothing was written unless stated.
 */
cc_code dur_txn_commit(dur_txn *txn, dur_changes **changes, cc_err *err);

/* Drops the transaction and its pending state. */
void dur_txn_abort(dur_txn *txn);

/*
 * A standalone id allocation: one transaction touching only id_allocator
 * (2 updates: -old +new), handing out the id at the allocator's value on
 * disk, past every reserved block (the "separate transaction per id" the
 * DDL path avoids; kept for callers and for benchmark ablations).
 */
cc_code dur_allocate_id(dur_catalog *cat, const char *name, uint64_t *id, cc_err *err);

/*
 * An ablation for benchmarks (what the DDL path avoids): allocates the next
 * id of allocator name — and, if oid is not NULL, an OID — as txn would, but
 * in a durable transaction of its own that writes the allocators (one
 * compare_and_append, one fsync), committed now; txn then continues on the
 * version that commit made. The ids are spent even if txn aborts (gaps,
 * never reuse). txn must not have written those allocators itself (INVALID).
 * Errors: those of dur_txn_allocate_id / _oid and dur_txn_commit.
 */
cc_code dur_txn_allocate_apart(dur_txn *txn, const char *name, uint64_t *id, uint32_t *oid,
                               cc_err *err);

/* --- tables: txn-wal registration of their data shards ---------------------------- */

/*
 * Every table (an item of kind TABLE; views, materialized views, indexes and
 * types have no data shard here) owns a data shard, "t/<item id>" ("t/u7"),
 * registered with txn-wal (persist/txnwal.h) over the catalog's txns shard
 * (named by the txn_wal_shard collection; "txns" by default). A writer's
 * commit derives the registrations from its own changes — an inserted table
 * is REGISTERed, a deleted one FORGOTten (its data shard dropped), whatever
 * op deleted it (DROP, CASCADE, a schema or database going) — and writes them
 * with the catalog updates in ONE persist record (persist_batch): one durable
 * write per commit, as before. Every appending commit also appends to the
 * txns shard (empty when no table came or went), so each commit advances the
 * logical upper of every table, max(physical upper, txns upper), with no
 * per-table work; a data shard that is never written exists only as its txns
 * entry. A writable open checks that the registrations and the tables agree
 * (O(n), like the load itself); an empty txns shard beside existing tables (a
 * catalog written before txn-wal, or restored from a dump) has them all
 * registered by the open's own commit. Read-only catalogs have no txn-wal.
 */
typedef struct dur_tables_stats {
    uint64_t registered;   /* data shards registered with txn-wal */
    uint64_t txns_upper;   /* the txns shard's upper: every table's logical upper is >= it */
    uint64_t advance_runs; /* commits that advanced every data shard one by one (ablation) */
    uint64_t advanced;     /* data shard appends those commits made */
} dur_tables_stats;

/* Writer statistics (zeros for a read-only catalog). Thread-safe. */
void dur_tables_stats_get(dur_catalog *cat, dur_tables_stats *out);

/* The data shard id of table item id into buf (at least 32 bytes): "t/u7". Returns buf. */
const char *dur_table_shard_id(const Cowcat__Catalog__CatalogId *id, char *buf);

/*
 * The logical upper of table id's data shard. Thread-safe. Errors: NOT_FOUND
 * (no such registered table), INVALID (read-only catalog: no txn-wal).
 */
cc_code dur_table_upper(dur_catalog *cat, const Cowcat__Catalog__CatalogId *id, uint64_t *upper,
                        cc_err *err);

/*
 * Checks that every table of the published version has a txn-wal
 * registration and every registration a table (O(n) in the items). Any
 * thread (pin a reader of dur_catalog_domain first). A read-only catalog
 * passes trivially. Errors: CORRUPT naming the first disagreement, NOMEM.
 */
cc_code dur_tables_check(dur_catalog *cat, cc_err *err);

/* --- the audit log ------------------------------------------------------------ */

/* One audit event: v is borrowed for the call. Return 0 to go on, non-zero to stop. */
typedef int (*dur_audit_fn)(void *arg, uint64_t event_id, const Cowcat__Catalog__AuditLogValue *v);

/*
 * Calls fn for every audit event in the shard, in event id order. The log is
 * read from an O(1) view of the shard's trace (never from the cached
 * Snapshot, which does not hold it): safe from any thread while a writer
 * commits (the view is taken under the shard's lock; a commit in progress is
 * waited for, later ones are not seen). O(log n + k log k) for k events.
 * Errors: CORRUPT (undecodable entry), NOMEM, INVALID.
 */
cc_code dur_audit_walk(dur_catalog *cat, dur_audit_fn fn, void *arg, cc_err *err);

#endif
