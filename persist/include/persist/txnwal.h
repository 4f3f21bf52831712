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
 * Thread-safety: a txnwal handle serialises its calls on an internal lock;
 * readers (logical_upper) take it briefly.
 */
#ifndef COWCAT_PERSIST_TXNWAL_H
#define COWCAT_PERSIST_TXNWAL_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "persist/persist.h"

typedef struct txnwal txnwal;
typedef struct txnwal_txn txnwal_txn;

typedef struct txnwal_stats {
    uint64_t registered;   /* data shards currently registered */
    uint64_t unapplied;    /* WRITE entries not yet applied */
    uint64_t txns_entries; /* live entries in the txns shard trace */
    uint64_t commits;
    uint64_t retries; /* commits retried after an upper mismatch */
} txnwal_stats;

/*
 * Opens txn-wal over the txns shard named txns_id on client c (created if
 * missing) and rebuilds its cache from the shard. Errors: IO, NOMEM, CORRUPT.
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

#endif
