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
 * A persist_batch makes compare_and_appends (and since moves and drops) on
 * several shards one atomic durable write: one record, all or nothing.
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

/*
 * How an append is folded into a shard's trace. INCREMENTAL: each update is
 * one ordered-map write, O(m log n). SORT — an ablation for benchmarks: the
 * whole trace and the new updates are copied into an array, sorted,
 * consolidated and the map rebuilt, O(n log n) per append (replay at open
 * stays incremental).
 */
typedef enum persist_trace_mode {
    PERSIST_TRACE_INCREMENTAL = 0,
    PERSIST_TRACE_SORT = 1,
} persist_trace_mode;

/*
 * How the file backend opens its data directory. WRITER (default): takes
 * the directory's lock (one process at a time), recovers (cuts a torn tail),
 * appends. READ_ONLY: reads the directory as it is, beside a writer that
 * may be running (no lock taken, nothing created, removed or truncated):
 * the state is that of a prefix of the log cut at a frame boundary — every
 * shard at an upper it really had — including frames the writer has
 * written but not yet acknowledged (their fdatasync pending; should it
 * fail, the writer cuts them and reports the append failed). Later appends
 * of the writer are not seen. Appends, rollups and since moves fail, and so
 * does opening a shard the directory does not hold (see persist_shard_find).
 */
typedef enum persist_access {
    PERSIST_ACCESS_WRITER = 0,
    PERSIST_ACCESS_READ_ONLY = 1,
} persist_access;

typedef struct persist_options {
    persist_backend_kind backend;
    const char *data_dir;      /* file backend: the data directory (created if missing) */
    persist_sync sync;         /* file backend */
    const persist_io *io;      /* file backend: I/O hook; NULL = POSIX */
    uint64_t segment_bytes;    /* file backend: log segment size; 0 = 64 MiB */
    uint64_t rollup_min_bytes; /* roll up once this much log has accumulated and it
                                  exceeds the last rollup's size; 0 = 16 MiB */
    persist_trace_mode trace;  /* default PERSIST_TRACE_INCREMENTAL */
    persist_access access;     /* file backend: default PERSIST_ACCESS_WRITER */
} persist_options;

/* One update. Borrowed views: the bytes need only live for the call. */
typedef struct persist_update {
    pmap_bytes key;
    pmap_bytes value;
    uint64_t ts;
    int64_t diff;
} persist_update;

typedef struct persist_stats {
    uint64_t shards;     /* shards in memory (a drop removes one; lazy ones count) */
    uint64_t appends;    /* successful compare_and_appends since open */
    uint64_t wal_groups; /* durable writes (file backend) */
    uint64_t wal_fsyncs;
    uint64_t wal_bytes;
    uint64_t rollups;
    uint64_t trace_sorts; /* PERSIST_TRACE_SORT: traces rebuilt by sorting */
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
 * CC_OK while the client can acknowledge writes; CC_IO with the reason once the
 * file backend's log is poisoned (a failed write could not be undone: what is in
 * memory may disagree with disk, so the client must be closed and reopened).
 * Thread-safe.
 */
cc_code persist_client_health(persist_client *c, cc_err *err);

/*
 * Writes a rollup now (file backend; a no-op for mem): the consolidated state
 * of every shard, after which older log segments are deleted.
 * Errors: IO, NOMEM.
 */
cc_code persist_client_rollup(persist_client *c, cc_err *err);

/*
 * The shard named id (1..255 bytes), creating it durably (upper 0, since 0)
 * if it does not exist. The handle lives until the client is closed or the
 * shard is dropped (persist_batch_drop).
 * Errors: INVALID, IO, NOMEM.
 */
cc_code persist_shard_open(persist_client *c, const char *id, persist_shard **out, cc_err *err);

/*
 * As persist_shard_open, but a missing shard is made in memory only, with no
 * durable write: an empty shard (upper 0, since 0, no updates) and a missing
 * one look the same to every reader, so the shard reaches the log with its
 * first append or since move (after a reopen that precedes it, this call
 * makes it again, identical). For the many data shards txn-wal manages, of
 * which most are never written. Errors: INVALID, NOMEM.
 */
cc_code persist_shard_open_lazy(persist_client *c, const char *id, persist_shard **out,
                                cc_err *err);

/* The shard named id if it exists in memory (opened, or recovered), else NULL. */
persist_shard *persist_shard_find(persist_client *c, const char *id);

/*
 * Looks key up in the shard's consolidated contents at its upper: true if
 * some (key, value) has a non-zero net diff, in which case the first such
 * value in value order is copied into buf (at most cap bytes; *len, may be
 * NULL, gets its full length) and its diff into *diff (may be NULL).
 * O(log n) under the shard's lock, no allocation for keys under 254 bytes.
 */
bool persist_shard_lookup(persist_shard *s, pmap_bytes key, void *buf, size_t cap, size_t *len,
                          int64_t *diff);

/* The shard's name (borrowed, valid while the client is open and the shard not dropped). */
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

/*
 * Batches: one atomic write to several shards of a client.
 *
 * A batch collects compare_and_appends (at most one per shard), since moves
 * and drops, and commits them as ONE durable record: one log frame, one
 * fdatasync, group-committed with concurrent appenders like any append, and
 * replayed with every part or with none (a torn frame is cut as a whole).
 * Commit checks every expected upper first, under the locks of all the
 * shards involved, and writes nothing unless all of them match; it then
 * applies the appends (listeners called as for compare_and_append), then
 * the since moves, then the drops. Dropping a shard frees its memory when
 * the commit returns (the handle is invalid from then on; the caller makes
 * sure nobody else uses it) and its state leaves the log at the next rollup;
 * a later open of the same id makes a new, empty shard.
 *
 * Updates are borrowed until the batch is committed or freed. One thread
 * builds and commits a batch; batches and single appends on other threads
 * may run concurrently (shard locks are taken in a fixed order).
 */
typedef struct persist_batch persist_batch;

/* A new, empty batch on client c. Errors: NOMEM. */
cc_code persist_batch_new(persist_client *c, persist_batch **out, cc_err *err);

/* Frees a batch (committed or not). b may be NULL. */
void persist_batch_free(persist_batch *b);

/*
 * Adds a compare_and_append of updates[0..n) on s at [expected_upper,
 * new_upper), with persist_compare_and_append's rules (checked here: INVALID
 * for a bad range, a ts outside it, a diff of 0, a shard of another client
 * or a second append to s). Errors: INVALID, NOMEM.
 */
cc_code persist_batch_append(persist_batch *b, persist_shard *s, const persist_update *updates,
                             size_t n, uint64_t expected_upper, uint64_t new_upper, cc_err *err);

/*
 * Adds a since move of s (applied after the batch's appends; a value not
 * above the shard's since at commit is ignored, one above its upper then
 * fails the commit with INVALID). Errors: INVALID, NOMEM.
 */
cc_code persist_batch_since(persist_batch *b, persist_shard *s, uint64_t since, cc_err *err);

/* Adds a drop of s (after everything else in the batch). Errors: INVALID, NOMEM. */
cc_code persist_batch_drop(persist_batch *b, persist_shard *s, cc_err *err);

/* Number of shards the batch touches (for tests and ablation counters). */
size_t persist_batch_shards(const persist_batch *b);

/*
 * Commits the batch: returns once it is durable and applied, or with nothing
 * written. An empty batch writes nothing. On CC_UPPER_MISMATCH *mismatch
 * (may be NULL) gets the first shard whose upper differed and *current (may
 * be NULL) that shard's upper. The batch stays allocated (free it). Errors:
 * UPPER_MISMATCH, INVALID (a since beyond an upper), IO (nothing
 * acknowledged; no shard changed), NOMEM.
 */
cc_code persist_batch_commit(persist_batch *b, persist_shard **mismatch, uint64_t *current,
                             cc_err *err);

#endif
