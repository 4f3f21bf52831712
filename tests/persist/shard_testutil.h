/*
 * tests/persist/shard_testutil.h — fixtures shared by the shard and txn-wal
 * tests: a client on either backend (the file backend in its own temp
 * directory), consolidated snapshots collected into arrays, and a reference
 * model of a shard (the plain list of every update) that consolidates at any
 * as_of. Helpers assert with Criterion, so they are for Criterion tests only.
 */
#ifndef COWCAT_TESTS_SHARD_TESTUTIL_H
#define COWCAT_TESTS_SHARD_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "persist/persist.h"
#include "wal_testutil.h"

/* A client under test. For the mem backend reopen is a no-op (state is kept). */
typedef struct pfix {
    persist_backend_kind kind;
    tdir t;            /* file backend: the temp directory (t.data is the data dir) */
    persist_options o; /* the options every (re)open uses */
    persist_client *c; /* the open client */
} pfix;

/* Opens a client on kind; tmpl (may be NULL) supplies sync/io/segment/rollup options. */
void pfix_open(pfix *f, persist_backend_kind kind, const persist_options *tmpl);
/* File backend: closes and reopens the client (shard handles become invalid). */
void pfix_reopen(pfix *f);
/* Closes the client and removes the temp directory. */
void pfix_close(pfix *f);
/* Opens (creating) shard id, asserting success. */
persist_shard *pfix_shard(pfix *f, const char *id);
/* "mem" or "file", for messages. */
const char *pfix_name(const pfix *f);

/* One consolidated entry (owned copies). */
typedef struct kv {
    uint8_t *k, *v;
    size_t kl, vl;
    int64_t diff;
} kv;

/* A list of consolidated entries, in (key, value) order when built by snap/model_at. */
typedef struct kvs {
    kv *a;
    size_t n, cap;
} kvs;

void kvs_push(kvs *s, pmap_bytes k, pmap_bytes v, int64_t diff);
void kvs_free(kvs *s);
/* Snapshot callback collecting into a kvs (arg: kvs *). */
int kvs_collect(void *arg, pmap_bytes key, pmap_bytes value, int64_t diff);
/* persist_snapshot into *out (zeroed first); returns its code. */
cc_code snap(persist_shard *s, uint64_t as_of, kvs *out, cc_err *err);
/* Asserts got equals want entry by entry; what names the situation. */
void kvs_expect(const kvs *got, const kvs *want, const char *what);

/* The reference model of one shard: every update ever appended, in order. */
typedef struct model {
    persist_update *u; /* key/value bytes are owned copies */
    size_t n, cap;
} model;

void model_add(model *m, const persist_update *u, size_t n);
void model_free(model *m);
/* The consolidation of every update with ts <= as_of, sorted by (key, value). */
void model_at(const model *m, uint64_t as_of, kvs *out);

/* compare_and_append asserting CC_OK. */
void caa_ok(persist_shard *s, const persist_update *u, size_t n, uint64_t lower, uint64_t upper);
/* Asserts the snapshot of s at as_of equals the model's. */
void snap_expect(persist_shard *s, const model *m, uint64_t as_of, const char *what);

/* Number of trace entries of s (through an O(1) view). */
size_t trace_count(persist_shard *s, persist_client *c);

/* Bytes helper. */
pmap_bytes B(const char *s);

#endif
