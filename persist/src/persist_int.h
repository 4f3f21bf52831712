/*
 * persist/src/persist_int.h — what shard.c, batch.c, client.c and replay.c
 * share: the client, shard, history and listener structs (see shard.c for
 * the invariants).
 */
#ifndef COWCAT_PERSIST_INT_H
#define COWCAT_PERSIST_INT_H

#include <pthread.h>

#include "backend.h"
#include "persist/persist.h"
#include "pmap/hamt.h"
#include "proto/persist.pb-c.h"

#define ROLLUP_FORMAT_VERSION 2
#define ROLLUP_CHUNK          4096
#define ROLLUP_MIN_DEFAULT    (16u << 20)
#define SHARD_ID_MAX          255

/* One retained append: immutable once built; shared by rollup captures (refs). */
typedef struct hist_entry {
    uint32_t refs;         /* atomic */
    uint64_t lower, upper; /* the append's [expected_upper, new_upper) */
    size_t n;
    persist_update *updates; /* bytes point into blob */
    uint8_t blob[];
} hist_entry;

struct persist_listener {
    persist_shard *s;
    persist_listen_fn fn;
    void *arg;
    persist_listener *next;
};

struct persist_shard {
    persist_client *c;
    char *id;
    pthread_mutex_t lock; /* everything below; held across an append's durable write */
    uint64_t upper;
    uint64_t since;
    pmap_omap trace;   /* enc(key, value) -> net diff, exact at upper */
    hist_entry **hist; /* retained appends reaching >= since, oldest first */
    size_t nhist, hist_cap;
    persist_listener *listeners;
    size_t slot; /* index in c->all (under c->lock) */
};

struct persist_client {
    persist_options opts;
    char *data_dir;          /* owned copy (file backend) */
    const char *name;        /* for messages: the data directory, or "mem" */
    persist_backend backend; /* ops == NULL until opened */
    pmap_domain *domain;     /* traces and the shard table */
    pthread_mutex_t lock;    /* shards, all, nall: creation and lookup */
    pthread_rwlock_t gate;   /* appends read; a rollup's capture writes */
    pmap_hamt shards;        /* id bytes -> persist_shard * */
    persist_shard **all;     /* every shard; a drop moves the last one into its slot */
    size_t nall, all_cap;
    uint64_t appends;           /* atomic */
    uint64_t rollups;           /* atomic */
    uint64_t trace_sorts;       /* atomic: PERSIST_TRACE_SORT rebuilds (shard.c) */
    bool replaying;             /* in persist__replay_cb (open): the trace is built incrementally */
    uint64_t bytes_at_rollup;   /* log bytes written when the last rollup began */
    uint64_t last_rollup_bytes; /* size of the last rollup body */
    int rolling;                /* atomic: a rollup is running */
};

/* Opens a client over a backend of the caller's (see client.c). */
cc_code persist__client_open_backend(const persist_options *opts, persist_backend be,
                                     persist_client **out, cc_err *err);

/* The backend replay callback (backend.h): rebuilds shards from the log (replay.c). */
cc_code persist__replay_cb(void *arg, bool rollup, const void *rec, size_t len, cc_err *err);
/* A retained append: copies of u[0..n) (keys and values too); refs 1. NULL: out of memory. */
hist_entry *persist__hist_new(const persist_update *u, size_t n, uint64_t lower, uint64_t upper);
void persist__hist_unref(hist_entry *h);
cc_code persist__trace_apply(persist_shard *s, const persist_update *u, size_t n, cc_err *err);
cc_code persist__record_pack(const Cowcat__Persist__PersistRecord *r, uint8_t **out, size_t *len,
                             cc_err *err);
/*
 * Applying an append to memory in two steps, so that nothing can fail after
 * the append is durable: persist__shard_prepare (under s->lock, before the
 * backend write) allocates the history entry and builds the new trace in an
 * uncommitted pmap transaction; then persist__shard_publish (after the write:
 * commits, retains the entry, moves the upper, tells listeners; cannot fail)
 * or persist__shard_unprepare (the write failed: s is as before). One
 * prepared append per shard at a time; p must not move in between.
 * prepare's errors: NOMEM (s unchanged).
 */
typedef struct shard_prep {
    persist_shard *s;
    hist_entry *h;
    pmap_txn *t;      /* the trace change, uncommitted (NULL: none) */
    pmap_omap before; /* s->trace before it */
    uint64_t lower, upper;
} shard_prep;
cc_code persist__shard_prepare(persist_shard *s, const persist_update *u, size_t n, uint64_t lower,
                               uint64_t upper, shard_prep *p, cc_err *err);
void persist__shard_publish(shard_prep *p);
void persist__shard_unprepare(shard_prep *p);
/* Prepares and publishes at once (replay: the append is already in the log). Errors: NOMEM. */
cc_code persist__shard_apply(persist_shard *s, const persist_update *u, size_t n, uint64_t lower,
                             uint64_t upper, cc_err *err);
void persist__hist_compact(persist_shard *s);
/*
 * Whether id[0..len) is a shard id persist_shard_open accepts: 1 to
 * SHARD_ID_MAX bytes, none of them NUL. The one rule for every id, opened or
 * replayed.
 */
bool persist__shard_id_is_valid(const char *id, size_t len);
/* The arguments of an append (persist_compare_and_append, persist_batch_append): new_upper
 * above expected_upper, every update's timestamp in [expected_upper, new_upper) and diff != 0.
 * Errors: INVALID. */
cc_code persist__check_append(const persist_shard *s, const persist_update *updates, size_t n,
                              uint64_t expected_upper, uint64_t new_upper, cc_err *err);
/* Creates the in-memory shard id and registers it. Under c->lock. Errors: NOMEM. */
cc_code persist__shard_create_locked(persist_client *c, const char *id, persist_shard **out,
                                     cc_err *err);
/*
 * Replay (single-threaded): the shard id, created if missing. Errors: CORRUPT
 * (an id persist_shard_open refuses: only a forged log holds one), NOMEM.
 */
cc_code persist__replay_shard(persist_client *c, const char *id, persist_shard **out, cc_err *err);
/* Replays a Batch record: validates every part, then applies all (batch.c). */
cc_code persist__replay_batch(persist_client *c, const Cowcat__Persist__Batch *b, cc_err *err);
/* Frees a shard's memory (client.c); t (may be NULL) drops its trace. */
void persist__shard_free(persist_shard *s, pmap_txn *t);

/* Rolls up if enough log has accumulated (see client.c); never fails the caller. */
void persist__maybe_rollup(persist_client *c);

/*
 * A RollupShard record read in place (rollup_wire.c): shard is a view of
 * the name (not NUL-terminated); trace and history point into the record's
 * bytes, which must outlive the view. Free the arrays with _fini.
 */
typedef struct persist__rollup_shard {
    pmap_bytes shard;
    bool first, append;
    uint64_t upper, since, lower;
    persist_update *trace, *history;
    size_t ntrace, nhistory;
} persist__rollup_shard;

/* Errors: CORRUPT (malformed record or update), NOMEM. */
cc_code persist__rollup_shard_parse(const uint8_t *p, size_t n, persist__rollup_shard *rs,
                                    cc_err *err);
void persist__rollup_shard_fini(persist__rollup_shard *rs);

#endif
