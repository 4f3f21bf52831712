/*
 * persist/txnwal.h — txn-wal: one `txns` shard coordinates the writes of many
 * data shards (the tables' data), so that one commit is one
 * compare_and_append however many tables it touches, and advances the
 * frontier of every registered table at once.
 *
 * The txns shard holds entries keyed by data shard id, with values
 *   REGISTER ts      the data shard is managed by txn-wal from ts on; a
 *                    forget retracts it
 *   WRITE ts batch   committed updates for the data shard at ts, until applied
 *                    and tidied (retracted)
 * A commit at ts is one compare_and_append on the txns shard over
 * [txns upper, ts + 1). The logical upper of a registered data shard is
 *   logical_upper(shard) = max(physical upper(shard), txns upper)
 * — O(1) per shard, and no commit ever loops over tables. Writes reach the
 * data shards lazily through apply_le(ts), which is idempotent and restartable
 * (a data shard's physical upper > ts means every write <= ts was applied,
 * because only txn-wal writes a registered data shard). tidy retracts applied
 * WRITE entries so the txns shard holds only outstanding work and
 * registrations. A snapshot of a data shard at T < logical_upper is exact
 * whether or not its writes were applied yet. An empty commit is a keepalive
 * that advances every table's upper.
 *
 * Registrations are by data shard id: a registered data shard need not exist
 * in persist at all. It is materialised (persist_shard_open_lazy, no durable
 * write) only when something writes it or asks for it, so registering a
 * table that is never written costs one txns entry and no shard.
 *
 * Staging (txnwal_stage_*): REGISTERs and FORGETs, and the advance of every
 * registered shard's logical upper, become txn-wal's part of a caller's
 * persist_batch — one append on the txns shard at [upper, upper + 1), plus
 * the drops of forgotten data shards — so they are durable in the caller's
 * own write (the durable catalog stages them in the commit of the DDL that
 * creates or drops the tables) and never cost a second one.
 *
 * Thread-safety: a txnwal handle serialises its calls on an internal lock;
 * readers (logical_upper) take it briefly. A stage holds the lock from
 * txnwal_stage_begin until txnwal_stage_commit / txnwal_stage_abort.
 */
#ifndef COWCAT_PERSIST_TXNWAL_H
#define COWCAT_PERSIST_TXNWAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "persist/persist.h"

typedef struct txnwal txnwal;
typedef struct txnwal_txn txnwal_txn;

typedef struct txnwal_stage txnwal_stage;

typedef struct txnwal_stats {
    uint64_t registered;   /* data shards currently registered */
    uint64_t upper;        /* the txns shard's upper */
    uint64_t unapplied;    /* WRITE entries not yet applied */
    uint64_t txns_entries; /* live entries in the txns shard trace */
    uint64_t commits;
    uint64_t retries; /* commits retried after an upper mismatch */
} txnwal_stats;

/*
 * Opens txn-wal over the txns shard named txns_id on client c (made lazily if
 * missing: it reaches the log with its first append): counts the
 * registrations — the shard's trace is the registry, not copied — and
 * rebuilds the outstanding writes. Errors: IO, NOMEM, CORRUPT.
 */
cc_code txnwal_open(persist_client *c, const char *txns_id, txnwal **out, cc_err *err);

void txnwal_close(txnwal *w);

/* The txns shard's upper: every registered data shard is complete below it. */
uint64_t txnwal_upper(txnwal *w);

/*
 * Registers n data shards at ts with one compare_and_append on the txns
 * shard. The registration happens at the largest of ts, the txns upper and
 * the physical uppers of the shards being registered, so every later commit
 * lies above what a data shard already holds. Already-registered shards are
 * skipped. *at (may be NULL) gets the registration time. Errors: IO, NOMEM.
 */
cc_code txnwal_register(txnwal *w, uint64_t ts, persist_shard *const *shards, size_t n,
                        uint64_t *at, cc_err *err);

/*
 * Forgets n data shards at ts (one compare_and_append on the txns shard):
 * their outstanding writes are applied first, then their entries retracted,
 * and each data shard's physical upper is advanced to the forget time + 1 so
 * its upper never moves backwards. Unregistered shards are skipped.
 * Errors: IO, NOMEM.
 */
cc_code txnwal_forget(txnwal *w, uint64_t ts, persist_shard *const *shards, size_t n, uint64_t *at,
                      cc_err *err);

/* Starts a transaction (buffers writes in memory). Errors: NOMEM. */
cc_code txnwal_txn_begin(txnwal *w, txnwal_txn **out, cc_err *err);

/* Buffers one update to a registered data shard (bytes copied). Errors: INVALID, NOMEM. */
cc_code txnwal_txn_write(txnwal_txn *t, persist_shard *shard, pmap_bytes key, pmap_bytes value,
                         int64_t diff, cc_err *err);

/*
 * Commits the transaction at ts or, if the txns upper has moved past ts, at
 * the txns upper (retrying on UPPER_MISMATCH): one compare_and_append on the
 * txns shard. *at (may be NULL) gets the commit time. Frees t in every case.
 * Errors: IO, NOMEM, INVALID (a shard not registered: nothing written).
 */
cc_code txnwal_commit(txnwal_txn *t, uint64_t ts, uint64_t *at, cc_err *err);

/* Drops an uncommitted transaction. */
void txnwal_txn_abort(txnwal_txn *t);

/*
 * The logical upper of a data shard: max(physical upper, txns upper) if
 * registered, its physical upper otherwise. O(1): one lookup, no loop.
 */
uint64_t txnwal_logical_upper(txnwal *w, persist_shard *shard);

/*
 * Copies every committed write with ts <= ts into its data shard (each data
 * shard gets one compare_and_append per write time). Idempotent: writes
 * already applied (physical upper > their ts) are skipped, so a crash in the
 * middle is repaired by calling it again. Errors: IO, NOMEM.
 */
cc_code txnwal_apply_le(txnwal *w, uint64_t ts, cc_err *err);

/*
 * Retracts the WRITE entries of applied writes from the txns shard (one
 * compare_and_append at the txns upper), then moves the txns shard's since to
 * its upper - 1 so that its retained history, and every rollup, holds only
 * outstanding work and registrations. Errors: IO, NOMEM.
 */
cc_code txnwal_tidy(txnwal *w, cc_err *err);

/*
 * Snapshot of a registered data shard at as_of < logical upper: applies
 * writes <= as_of, extends the data shard's physical upper past as_of with an
 * empty append if needed (no writes lie in that range), then reads it.
 * Errors: INVALID (as_of >= logical upper or < since), IO, NOMEM.
 */
cc_code txnwal_snapshot(txnwal *w, persist_shard *shard, uint64_t as_of, persist_snapshot_fn fn,
                        void *arg, cc_err *err);

void txnwal_stats_get(txnwal *w, txnwal_stats *out);

/*
 * As txnwal_logical_upper, by data shard id (the shard need not exist): true
 * and *upper = max(physical upper, txns upper) if id is registered, false
 * otherwise. O(1).
 */
bool txnwal_find_upper(txnwal *w, const char *id, uint64_t *upper);

/* Whether data shard id is registered. O(1). */
bool txnwal_is_registered(txnwal *w, const char *id);

/*
 * Checks, under the handle's lock (so no stage commits meanwhile), that the
 * registered data shards are exactly the ids next yields: next(arg, &id)
 * returns each expected id (borrowed until its next call) and false at the
 * end. O(k) lookups. Errors: CORRUPT naming the first id missing, or the
 * count of registrations nobody expects.
 */
cc_code txnwal_check_registered(txnwal *w, bool (*next)(void *arg, const char **id), void *arg,
                                cc_err *err);

/* --- staging into a caller's batch ------------------------------------------------ */

/*
 * Starts staging: takes the handle's lock until txnwal_stage_commit or
 * txnwal_stage_abort (every other call on w waits). Errors: NOMEM.
 */
cc_code txnwal_stage_begin(txnwal *w, txnwal_stage **out, cc_err *err);

/*
 * Stages a REGISTER of data shard id (1..255 bytes; it need not exist and is
 * not created). Errors: EXISTS (already registered, or staged), INVALID, NOMEM.
 */
cc_code txnwal_stage_register(txnwal_stage *st, const char *id, cc_err *err);

/*
 * Stages a FORGET of data shard id: its REGISTER entry and any WRITE entries
 * are retracted and its data shard, if it exists in persist, is dropped by
 * the same batch (memory now, state at the next rollup) — forgetting is for
 * data that goes away with its table. Errors: NOT_FOUND (not registered),
 * NOMEM.
 */
cc_code txnwal_stage_forget(txnwal_stage *st, const char *id, cc_err *err);

/*
 * Adds txn-wal's part to b: one append to the txns shard over [upper,
 * upper + 1) with the staged REGISTER (+1) and FORGET (-1) entries — an empty
 * one when nothing was staged: a keepalive, so every commit of the caller
 * advances the logical upper of every registered data shard, with no loop
 * over them — the txns shard's since moved to its new upper - 1 (only the
 * latest snapshot is ever read), and the drops of forgotten data shards.
 * *at (may be NULL) gets the commit time. Call once per stage. Errors: NOMEM.
 */
cc_code txnwal_stage_add(txnwal_stage *st, persist_batch *b, uint64_t *at, cc_err *err);

/*
 * The `advance` ablation (benchmarks only): after txnwal_stage_add, also
 * adds to b an empty append moving EACH registered data shard's physical
 * upper to the commit's new upper (materialising every data shard), with its
 * since following — the per-table O(n) work txn-wal exists to avoid.
 * Shards with unapplied writes are left alone (advancing them would hide the
 * writes). *n gets the number of data shards advanced. Errors: NOMEM.
 */
cc_code txnwal_stage_advance_each(txnwal_stage *st, persist_batch *b, size_t *n, cc_err *err);

/*
 * The batch that carried the stage is durable: updates the cache (the
 * registrations, the txns upper), releases the lock and frees st. Cannot
 * fail: everything it needs was allocated while staging.
 */
void txnwal_stage_commit(txnwal_stage *st);

/* The batch failed or was never committed: drops the staged work, releases
 * the lock and frees st (NULL is a no-op). */
void txnwal_stage_abort(txnwal_stage *st);

#endif
