/*
 * tests/durable/dur_testutil.h — fixtures for the durable catalog tests:
 * a persist client (mem or file in a temp dir, no fsync), catalog open
 * helpers, item builders and an append counter listening on the shard.
 * Helpers assert with Criterion.
 */
#ifndef COWCAT_TESTS_DUR_TESTUTIL_H
#define COWCAT_TESTS_DUR_TESTUTIL_H

#include "durable/durable.h"
#include "shard_testutil.h"

/* Counts the appends and updates of a shard (a persist listener). */
typedef struct appends_seen {
    persist_listener *l;
    size_t appends; /* non-empty appends */
    size_t updates; /* total updates */
    size_t last_n;  /* updates in the last append */
} appends_seen;

void seen_start(appends_seen *a, persist_client *c);
void seen_stop(appends_seen *a);

void dfix_open(pfix *f, persist_backend_kind kind);
dur_catalog *dopen(persist_client *c, dur_mode mode, uint64_t gen);
dur_txn *dbegin(dur_catalog *cat);
void dcommit(dur_txn *t);

/* Item helpers: key u<id>, value in schema u<schema>. */
cc_code item_put(dur_txn *t, bool insert, uint64_t id, uint64_t schema, const char *name,
                 Cowcat__Catalog__ItemKind kind, uint32_t oid, cc_err *err);
cc_code item_del(dur_txn *t, uint64_t id, cc_err *err);
/* The item's name in snapshot s, or NULL (static buffer). */
const char *item_name(const dur_snapshot *s, uint64_t id);
/* Encoded ItemKey bytes for u<id> into buf (>= 32 bytes); returns length. */
size_t item_key(uint64_t id, uint8_t *buf);
/* Asserts dur_snapshot_check passes; what names the situation. */
void snap_check(const dur_snapshot *s, const char *what);
/* A fingerprint of every collection except the fence token. */
pmap_fp fp_without_fence(const dur_snapshot *s);

#endif
