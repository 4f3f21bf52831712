/*
 * persist/src/backend.h — what the shard logic needs from durable storage.
 *
 * shard.c and client.c own everything about shards: validation, the trace,
 * retained history, listeners, snapshots, the encoding of records
 * (proto/persist.proto). A backend owns durability and the order of writes:
 *
 *   append        make one encoded record durable. For an append record
 *                 (ev->is_append) the backend is the authority on the
 *                 shard's upper: it must fail with CC_UPPER_MISMATCH, setting
 *                 *current, unless the durable upper equals
 *                 ev->expected_upper, and write nothing. The shard logic has
 *                 already checked its in-memory upper under the shard lock;
 *                 a backend that is the only writer of its storage (file:
 *                 the data directory's exclusive lock) may rely on that,
 *                 while one that shares storage with other processes (a
 *                 compare-and-set on a sequence number in PostgreSQL) must
 *                 check itself. Returns once durable; on failure nothing may
 *                 become visible to a later replay.
 *   replay        deliver the latest rollup body (rollup = true, once, if
 *                 any) and then every record appended after it, in order.
 *   rollup_begin  a mark such that every record acknowledged before it is
 *                 covered by a state the caller captures under its own lock
 *   rollup_write  stream that state; once durable, history before the mark
 *                 may be dropped. A backend without history sets
 *                 can_rollup = false and the client never calls these.
 *   stats, close
 *
 * Calls on one backend may come from many threads at once (append from any
 * shard's committer); the backend serialises what it must and should
 * group-commit concurrent appends.
 */
#ifndef COWCAT_PERSIST_BACKEND_H
#define COWCAT_PERSIST_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "persist/persist.h"

/*
 * What a record is about, for backends that must check uppers themselves. A
 * batch record (persist_batch) is not an append itself (is_append false): its
 * appends are parts[0..nparts), all of which must match or none be written.
 */
typedef struct persist_event {
    const char *shard;                 /* the shard's id (a batch: its first shard) */
    bool is_append;                    /* a compare_and_append (else create / since / batch) */
    uint64_t expected_upper;           /* is_append only */
    uint64_t new_upper;                /* is_append only */
    const struct persist_event *parts; /* a batch's appends (else NULL) */
    size_t nparts;
} persist_event;

/* Where a rollup writer streams its bytes. */
typedef struct persist_sink {
    cc_code (*write)(void *ctx, const void *p, size_t n, cc_err *err);
    void *ctx;
} persist_sink;

typedef cc_code (*persist_replay_fn)(void *arg, bool rollup, const void *rec, size_t len,
                                     cc_err *err);
typedef cc_code (*persist_rollup_fn)(void *arg, const persist_sink *sink, cc_err *err);

typedef struct persist_backend_ops {
    const char *name;
    bool can_rollup;
    cc_code (*append)(void *be, const persist_event *ev, const void *rec, size_t len,
                      uint64_t *current, cc_err *err);
    cc_code (*replay)(void *be, persist_replay_fn fn, void *arg, cc_err *err);
    cc_code (*rollup_begin)(void *be, uint64_t *mark, cc_err *err);
    cc_code (*rollup_write)(void *be, uint64_t mark, persist_rollup_fn fn, void *arg, cc_err *err);
    /* Fills the wal_* fields of out (others are the client's). */
    void (*stats)(void *be, persist_stats *out);
    /* CC_OK, or why the backend can no longer acknowledge writes (NULL: always OK). */
    cc_code (*health)(void *be, cc_err *err);
    void (*close)(void *be);
} persist_backend_ops;

/* A backend instance: its operations and its state. */
typedef struct persist_backend {
    const persist_backend_ops *ops;
    void *be;
} persist_backend;

/*
 * The file backend over the wal in opts->data_dir (locks and recovers it).
 * Errors: IO, CORRUPT, NOMEM, INVALID.
 */
cc_code persist_backend_file_open(const persist_options *opts, persist_backend *out, cc_err *err);

/* The mem backend: every append succeeds at once, nothing survives close. */
cc_code persist_backend_mem_open(persist_backend *out, cc_err *err);

#endif
