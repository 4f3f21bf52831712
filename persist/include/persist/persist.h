/*
 * persist/persist.h — durable shards: compare_and_append, consolidated traces,
 * snapshots and listeners, behind a backend interface (file, mem).
 *
 * A shard is a durable collection of updates (key bytes, value bytes, ts u64,
 * diff i64) with two frontiers:
 *   upper  every update has ts < upper; times below it are complete. Starts at 0.
 *   since  reads at as_of >= since are exact; history below may be compacted.
 * The one write is compare_and_append(updates, expected_upper, new_upper): it
 * succeeds only if the shard's upper equals expected_upper and every update's
 * ts is in [expected_upper, new_upper); it then moves upper to new_upper.
 * Otherwise it fails with CC_UPPER_MISMATCH (and the current upper) or
 * CC_INVALID, and nothing is written. An empty batch only advances the upper.
 *
 * The trace of a shard is its consolidated contents at the current upper: a
 * persistent ordered map (key, value) -> net diff with zero-diff entries gone.
 * Applying m updates costs O(m log n) and taking a view of it is O(1) (a pmap
 * clone), so the durable catalog can read it without copying.
 *
 * Backends
 *   file  the embedded default: a data directory with an append-only,
 *         checksummed log, group commit across shards, torn-tail recovery and
 *         periodic rollups (persist/src/wal.c). Exclusive per process.
 *   mem   the same semantics without I/O, for tests.
 * The shard logic talks to its backend through one small interface
 * (persist/src/backend.h): make this encoded record durable, replay, roll up.
 * For an append the backend is the authority on the shard's upper: the file
 * backend owns its directory exclusively and relies on the in-memory check,
 * while a backend keeping consensus elsewhere (a compare-and-set on a sequence
 * number in PostgreSQL) rejects a lost race with CC_UPPER_MISMATCH itself —
 * without touching the shard logic.
 *
 * Thread-safety: a client and its shards may be used from many threads.
 * Calls on one shard serialise on the shard's lock (a compare_and_append holds
 * it until its update is durable); calls on different shards run concurrently
 * and their durable writes are group-committed.
 */
#ifndef COWCAT_PERSIST_PERSIST_H
#define COWCAT_PERSIST_PERSIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "persist/io.h"
#include "pmap/omap.h"

typedef struct persist_client persist_client;
typedef struct persist_shard persist_shard;
typedef struct persist_listener persist_listener;

typedef enum persist_backend_kind {
    PERSIST_BACKEND_FILE = 0,
    PERSIST_BACKEND_MEM = 1,
} persist_backend_kind;

/* When a write is acknowledged (file backend). */
typedef enum persist_sync {
    PERSIST_SYNC_FSYNC = 0, /* fdatasync before acknowledging (default) */
    PERSIST_SYNC_NONE = 1,  /* no syncs: survives kill -9, not power loss; for benchmarks */
} persist_sync;

typedef struct persist_options {
    persist_backend_kind backend;
    const char *data_dir;      /* file backend: the data directory (created if missing) */
    persist_sync sync;         /* file backend */
    const persist_io *io;      /* file backend: I/O hook; NULL = POSIX */
    uint64_t segment_bytes;    /* file backend: log segment size; 0 = 64 MiB */
    uint64_t rollup_min_bytes; /* roll up once this much log has accumulated and it
                                  exceeds the last rollup's size; 0 = 16 MiB */
} persist_options;

/* One update. Borrowed views: the bytes need only live for the call. */
typedef struct persist_update {
    pmap_bytes key;
    pmap_bytes value;
    uint64_t ts;
    int64_t diff;
} persist_update;

typedef struct persist_stats {
    uint64_t shards;
    uint64_t appends;    /* successful compare_and_appends since open */
    uint64_t wal_groups; /* durable writes (file backend) */
    uint64_t wal_fsyncs;
    uint64_t wal_bytes;
    uint64_t rollups;
} persist_stats;

/*
 * Opens a client on a backend; for the file backend this locks the data
 * directory and recovers every shard (the latest rollup, then the log after
 * it). opts is borrowed. Errors: IO (including "data directory ... is in use
 * by pid N"), CORRUPT, NOMEM, INVALID.
 */
cc_code persist_client_open(const persist_options *opts, persist_client **out, cc_err *err);

/*
 * Closes the client and every shard handle; releases the directory lock.
 * Everything acknowledged is already durable. No call may be in flight.
 */
void persist_client_close(persist_client *c);

/* Counters (for benchmarks and tests). */
void persist_client_stats(persist_client *c, persist_stats *out);

/*
 * Writes a rollup now (file backend; a no-op for mem): the consolidated state
 * of every shard, after which older log segments are deleted.
 * Errors: IO, NOMEM.
 */
cc_code persist_client_rollup(persist_client *c, cc_err *err);

/*
 * The shard named id (1..255 bytes), creating it durably (upper 0, since 0)
 * if it does not exist. The handle lives until the client is closed.
 * Errors: INVALID, IO, NOMEM.
 */
cc_code persist_shard_open(persist_client *c, const char *id, persist_shard **out, cc_err *err);

/* The shard's name (borrowed, valid while the client is open). */
const char *persist_shard_id(const persist_shard *s);

uint64_t persist_shard_upper(persist_shard *s);
uint64_t persist_shard_since(persist_shard *s);

/*
 * Appends updates[0..n) at [expected_upper, new_upper) if the shard's upper is
 * expected_upper; returns only once the append is durable. On
 * CC_UPPER_MISMATCH *current (may be NULL) gets the shard's upper. Requires
 * new_upper > expected_upper, every ts in [expected_upper, new_upper) and
 * every diff != 0 (CC_INVALID otherwise, checked before the upper). Errors:
 * UPPER_MISMATCH, INVALID, IO (nothing acknowledged; the shard is unchanged),
 * NOMEM.
 */
cc_code persist_compare_and_append(persist_shard *s, const persist_update *updates, size_t n,
                                   uint64_t expected_upper, uint64_t new_upper, uint64_t *current,
                                   cc_err *err);

/*
 * Snapshot callback: one consolidated (key, value) with its net diff != 0;
 * return 0 to continue, non-zero to stop (the snapshot then returns CC_OK).
 */
typedef int (*persist_snapshot_fn)(void *arg, pmap_bytes key, pmap_bytes value, int64_t diff);

/*
 * Calls fn for the consolidated contents at as_of, in (key, value) order.
 * Requires since <= as_of < upper (CC_INVALID otherwise; as_of below since
 * would be inexact, at or above upper incomplete). Errors: INVALID, NOMEM.
 */
cc_code persist_snapshot(persist_shard *s, uint64_t as_of, persist_snapshot_fn fn, void *arg,
                         cc_err *err);

/*
 * An O(1) view of the trace at the current upper: *trace maps the encoding of
 * (key, value) (see persist_trace_decode) to the net diff, stored as the value
 * pointer (intptr_t, never 0). *upper gets the upper it is exact for. The view
 * is an independent line (pmap clone): drop it with pmap_omap_drop in a txn of
 * persist_client_domain(c), or with persist_trace_release. Errors: none.
 */
void persist_shard_trace(persist_shard *s, pmap_omap *trace, uint64_t *upper);

/* Releases a view from persist_shard_trace. */
void persist_trace_release(persist_client *c, pmap_omap *trace);

/*
 * Splits a trace key back into (key, value) without copying: *key and *value
 * point into enc. The key comes back exactly only if it has no 0x00 byte;
 * otherwise each of its 0x00 bytes is still escaped as 0x00 0xff (use
 * persist_trace_decode_copy for such keys). The value is always exact.
 * False if enc is malformed.
 */
bool persist_trace_decode(pmap_bytes enc, pmap_bytes *key, pmap_bytes *value);

/*
 * As persist_trace_decode, but unescapes the key into buf (at least enc.len
 * bytes, caller-owned): *key points into buf, *value into enc. Exact for every
 * key. False if enc is malformed.
 */
bool persist_trace_decode_copy(pmap_bytes enc, uint8_t *buf, pmap_bytes *key, pmap_bytes *value);

/* The pmap domain traces live in (for dropping views in a caller's txn). */
pmap_domain *persist_client_domain(persist_client *c);

/*
 * Listener callback: the updates of one successful append (ts in
 * [lower, upper)), called after the append is durable, in upper order, under
 * the shard's lock (do not call into the same shard). Empty appends are
 * delivered too (n == 0): they advance the frontier.
 */
typedef void (*persist_listen_fn)(void *arg, const persist_update *updates, size_t n,
                                  uint64_t lower, uint64_t upper);

/*
 * Starts listening from frontier `from` (since <= from <= upper): first
 * replays, in ts order, the retained updates with ts >= from as one call per
 * original append, then every later append as it commits. Errors: INVALID
 * (from outside [since, upper]), NOMEM.
 */
cc_code persist_listen(persist_shard *s, uint64_t from, persist_listen_fn fn, void *arg,
                       persist_listener **out, cc_err *err);

/* Stops a listener; fn is not called after this returns. */
void persist_listen_stop(persist_listener *l);

/*
 * Moves since forward to `since` (<= upper; a smaller value is a no-op), after
 * which history below it is compacted: snapshots below it fail and its
 * updates stay only in the consolidated trace. Durable. Errors: INVALID, IO.
 */
cc_code persist_downgrade_since(persist_shard *s, uint64_t since, cc_err *err);

#endif
