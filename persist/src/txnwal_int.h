/*
 * persist/src/txnwal_int.h — what txnwal.c (open, register/forget by
 * handle, transactions, apply, tidy, reads) and txnwal_stage.c (lookups by
 * id, staging into a caller's batch) share: the handle, the cache of
 * outstanding writes, and the registration lookup.
 */
#ifndef COWCAT_PERSIST_TXNWAL_INT_H
#define COWCAT_PERSIST_TXNWAL_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "persist/txnwal.h"

enum { KIND_REGISTER = 1, KIND_WRITE = 2 };

#define REG_VALUE_LEN 9 /* a REGISTER value: [kind u8][ts u64 LE] */

typedef struct write_entry {
    persist_shard *shard; /* the data shard (it exists: it is being written) */
    uint64_t ts;          /* the commit time */
    bool applied;         /* copied into the data shard */
    bool forgetting;      /* inside a forget: the shard is being forgotten */
    size_t len;           /* value bytes */
    uint8_t *value;       /* the WRITE value bytes (owned) */
} write_entry;

struct txnwal {
    persist_client *c;     /* borrowed */
    persist_shard *txns;   /* the txns shard: its trace IS the registry */
    pthread_mutex_t lock;  /* everything below; a stage holds it from begin to end */
    uint64_t upper;        /* the txns shard's upper, as this handle last saw it */
    uint64_t registered;   /* REGISTER entries in the txns shard */
    write_entry *writes;   /* committed WRITE entries not yet tidied, ts ascending */
    size_t nwrites, wcap;  /* used / allocated */
    uint64_t commits;      /* commits by this handle (transactions and stages) */
    uint64_t retries;      /* commits retried after an upper mismatch */
    txnwal_stage *stage;   /* the open stage, or NULL */
};

/*
 * Whether data shard id is registered — the open stage's changes first, then
 * the txns shard's trace (one O(log n) lookup; no copy of the registry is
 * kept in memory). When it is, value (may be NULL) gets its REGISTER value.
 * Under w->lock.
 */
bool txnwal__registered(txnwal *w, const char *id, uint8_t *value);

static inline void
txnwal__put_u64(uint8_t *p, uint64_t v)
{
    memcpy(p, &v, 8);
}

#endif
