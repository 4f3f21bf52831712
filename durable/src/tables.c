/*
 * durable/src/tables.c — txn-wal registration of the tables' data shards
 * (see "tables" in durable/durable.h).
 *
 * A writer holds a txnwal over the catalog's txns shard (the txn_wal_shard
 * collection names it). Each commit stages, from its own changed items only
 * (O(changes), never a walk of the catalog):
 *
 *   item inserted as a TABLE          REGISTER "t/<id>"
 *   TABLE deleted                     FORGET "t/<id>" (its data shard dropped)
 *   anything else                     nothing (an item's kind never changes)
 *
 * and txnwal_stage_add puts txn-wal's part — one append to the txns shard,
 * empty when no table came or went — into the commit's persist batch beside
 * the catalog append: one record, one durable write, and every registered
 * table's logical upper advanced by the same append. The stage holds
 * txn-wal's lock from before the batch is written until the new version is
 * published, so a check under that lock sees registrations and tables of
 * the same commit.
 *
 * Open: an empty txns shard (never written: a catalog older than txn-wal, or
 * restored from a dump) makes the open's commit register every table (the
 * one O(n) pass, at open, beside the load); otherwise the registrations must
 * agree with the tables, or the open fails with CORRUPT.
 */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/wire.h"
#include "internal.h"

/* 1: v is a TABLE item value; 0: another kind; -1: malformed. */
static int
is_table(const dur_blob *v)
{
    uint64_t kind;
    if (!cc_wire_scan_varint(v->data, v->len, 3, &kind))
        return -1;
    return kind == COWCAT__CATALOG__ITEM_KIND__ITEM_KIND_TABLE;
}

/* "t/u<value>" or "t/s<value>" into buf (32 bytes; no snprintf on the commit path). */
static void
shard_id(bool system, uint64_t value, char *buf)
{
    char digits[20];
    size_t n = 0;
    do {
        digits[n++] = (char)('0' + value % 10);
        value /= 10;
    } while (value > 0);
    buf[0] = 't';
    buf[1] = '/';
    buf[2] = system ? 's' : 'u';
    for (size_t i = 0; i < n; i++)
        buf[3 + i] = digits[n - 1 - i];
    buf[3 + n] = '\0';
}

/* The data shard id of the item whose encoded ItemKey is key, into buf (32 bytes). */
static bool
key_shard_id(pmap_bytes key, char *buf)
{
    cc_wire w = cc_wire_of(key.ptr, key.len), id;
    uint64_t num, val, value = 0, system = 0;
    int wt;
    const uint8_t *bytes = NULL;
    bool found = false;
    while (w.p < w.end) {
        if (!cc_wire_field(&w, &num, &wt, &val, &bytes))
            return false;
        if (num == 1 && wt == CC_WIRE_LEN) {
            id = cc_wire_of(bytes, (size_t)val);
            found = true;
        }
    }
    while (found && id.p < id.end) {
        if (!cc_wire_field(&id, &num, &wt, &val, &bytes))
            return false;
        if (num == 1 && wt == CC_WIRE_VARINT)
            system = val;
        else if (num == 2 && wt == CC_WIRE_VARINT)
            value = val;
    }
    shard_id(system != 0, value, buf);
    return true;
}

const char *
dur_table_shard_id(const Cowcat__Catalog__CatalogId *id, char *buf)
{
    shard_id(id->system, id->value, buf);
    return buf;
}

/* The txns shard's id: the txn_wal_shard entry, else the default for this catalog. */
static cc_code
txns_id(dur_catalog *cat, char *buf, size_t cap, cc_err *err)
{
    const dur_blob *v =
        dur_snapshot_find(dur_snapshot_acquire(cat), DUR_TXN_WAL_SHARD, (pmap_bytes){"", 0});
    if (v == NULL) {
        if (cat->opts.shard_id == NULL)
            snprintf(buf, cap, "txns");
        else
            snprintf(buf, cap, "%.200s.txns", cat->opts.shard_id);
        return CC_OK;
    }
    ProtobufCMessage *m;
    cc_code rc = dur_decode(DUR_TXN_WAL_SHARD, DUR_PART_VALUE, dur_blob_bytes(v), &m, err);
    if (rc != CC_OK)
        return rc;
    const char *s = ((Cowcat__Catalog__TxnWalShardValue *)m)->shard;
    size_t n = strlen(s);
    if (n == 0 || n >= cap)
        rc = cc_err_set(err, CC_CORRUPT, "catalog txn_wal_shard names an invalid shard");
    else
        memcpy(buf, s, n + 1);
    protobuf_c_message_free_unpacked(m, NULL);
    return rc;
}

cc_code
dur__tables_open(dur_catalog *cat, cc_err *err)
{
    if (cat->opts.mode != DUR_MODE_WRITABLE)
        return CC_OK;
    char id[256];
    cc_code rc = txns_id(cat, id, sizeof id, err);
    if (rc == CC_OK)
        rc = txnwal_open(cat->client, id, &cat->tw, err);
    if (rc != CC_OK)
        return rc;
    txnwal_stats st;
    txnwal_stats_get(cat->tw, &st);
    if (st.upper == 0 && st.registered == 0) {
        cat->adopt_tables = true; /* never written: the open's commit registers the tables */
        return CC_OK;
    }
    return dur_tables_check(cat, err);
}

cc_code
dur__tables_prepare(dur_catalog *cat, dur_txn *t, cc_err *err)
{
    if (cat->tw == NULL)
        return CC_OK;
    char id[256];
    cc_code rc = txns_id(cat, id, sizeof id, err);
    if (rc != CC_OK)
        return rc;
    Cowcat__Catalog__TxnWalShardKey k = COWCAT__CATALOG__TXN_WAL_SHARD_KEY__INIT;
    Cowcat__Catalog__TxnWalShardValue v = COWCAT__CATALOG__TXN_WAL_SHARD_VALUE__INIT;
    v.shard = id;
    return dur_txn_set(t, DUR_TXN_WAL_SHARD, &k.base, &v.base, err);
}

static cc_code
malformed(pmap_bytes key, cc_err *err)
{
    (void)key;
    return cc_err_set(err, CC_CORRUPT, "catalog item with an undecodable key or value");
}

/* Registers every table of the published version (adoption at open). */
static cc_code
stage_all(dur_catalog *cat, txnwal_stage *st, cc_err *err)
{
    dur_cursor cur;
    bool have = dur_cursor_first(&cur, dur_snapshot_acquire(cat), DUR_ITEMS);
    while (have) {
        pmap_bytes key;
        const dur_blob *v;
        char id[32];
        dur_cursor_get(&cur, &key, &v);
        int t = is_table(v);
        if (t < 0 || !key_shard_id(key, id))
            return malformed(key, err);
        cc_code rc = t ? txnwal_stage_register(st, id, err) : CC_OK;
        if (rc != CC_OK)
            return rc;
        have = dur_cursor_next(&cur);
    }
    return CC_OK;
}

cc_code
dur__tables_stage(dur_catalog *cat, const dur__item_change *items, size_t n, persist_batch *b,
                  txnwal_stage **out, cc_err *err)
{
    *out = NULL;
    if (cat->tw == NULL)
        return CC_OK;
    txnwal_stage *st;
    cc_code rc = txnwal_stage_begin(cat->tw, &st, err);
    if (rc != CC_OK)
        return rc;
    if (cat->adopt_tables)
        rc = stage_all(cat, st, err);
    for (size_t i = 0; rc == CC_OK && i < n; i++) {
        const dur__item_change *c = &items[i];
        int was = c->old_value != NULL ? is_table(c->old_value) : 0;
        int now = c->new_value != NULL ? is_table(c->new_value) : 0;
        char id[32];
        if (was < 0 || now < 0 || !key_shard_id(c->key, id))
            rc = malformed(c->key, err);
        else if (now && !was)
            rc = txnwal_stage_register(st, id, err);
        else if (was && !now)
            rc = txnwal_stage_forget(st, id, err);
    }
    if (rc == CC_OK)
        rc = txnwal_stage_add(st, b, NULL, err);
    if (rc == CC_OK && cat->opts.advance == DUR_ADVANCE_EACH) {
        size_t k = 0;
        rc = txnwal_stage_advance_each(st, b, &k, err);
        __atomic_add_fetch(&cat->advance_runs, 1, __ATOMIC_RELAXED);
        __atomic_add_fetch(&cat->advanced, k, __ATOMIC_RELAXED);
    }
    if (rc != CC_OK) {
        txnwal_stage_abort(st);
        return rc;
    }
    *out = st;
    return CC_OK;
}

void
dur_tables_stats_get(dur_catalog *cat, dur_tables_stats *out)
{
    memset(out, 0, sizeof *out);
    if (cat->tw != NULL) {
        txnwal_stats st;
        txnwal_stats_get(cat->tw, &st);
        out->registered = st.registered;
        out->txns_upper = st.upper;
    }
    out->advance_runs = __atomic_load_n(&cat->advance_runs, __ATOMIC_RELAXED);
    out->advanced = __atomic_load_n(&cat->advanced, __ATOMIC_RELAXED);
}

cc_code
dur_table_upper(dur_catalog *cat, const Cowcat__Catalog__CatalogId *id, uint64_t *upper,
                cc_err *err)
{
    if (cat == NULL || id == NULL || upper == NULL)
        return cc_err_set(err, CC_INVALID, "dur_table_upper: NULL argument");
    if (cat->tw == NULL)
        return cc_err_set(err, CC_INVALID, "a read-only catalog has no txn-wal");
    char sid[32];
    dur_table_shard_id(id, sid);
    if (!txnwal_find_upper(cat->tw, sid, upper))
        return cc_err_set(err, CC_NOT_FOUND, "no table with data shard \"%s\"", sid);
    return CC_OK;
}

/* Walks the tables of one version for txnwal_check_registered. */
typedef struct table_walk {
    dur_catalog *cat;
    dur_cursor cur;
    bool started, have;
    char id[32];
    cc_code rc;
    cc_err *err;
} table_walk;

static bool
next_table(void *arg, const char **id)
{
    table_walk *tw = arg;
    for (;;) {
        if (!tw->started) {
            /* Under txn-wal's lock: the version published with its registrations. */
            tw->have = dur_cursor_first(&tw->cur, dur_snapshot_acquire(tw->cat), DUR_ITEMS);
            tw->started = true;
        } else {
            tw->have = dur_cursor_next(&tw->cur);
        }
        if (!tw->have)
            return false;
        pmap_bytes key;
        const dur_blob *v;
        dur_cursor_get(&tw->cur, &key, &v);
        int t = is_table(v);
        if (t < 0 || !key_shard_id(key, tw->id)) {
            tw->rc = malformed(key, tw->err);
            return false;
        }
        if (t) {
            *id = tw->id;
            return true;
        }
    }
}

cc_code
dur_tables_check(dur_catalog *cat, cc_err *err)
{
    if (cat->tw == NULL)
        return CC_OK;
    table_walk tw = {.cat = cat, .rc = CC_OK, .err = err};
    cc_code rc = txnwal_check_registered(cat->tw, next_table, &tw, err);
    return tw.rc != CC_OK ? tw.rc : rc;
}
