/*
 * durable/src/txn.c — catalog transactions: pending changes per key on top of
 * an O(1) base version, name uniqueness through the indexes, ID/OID
 * allocation inside the transaction, audit events, and the one-record commit
 * (the catalog append with txn-wal's part for the tables it creates or drops).
 *
 * Pending state (all O(1) per touched key, nothing proportional to the
 * catalog):
 *   pending   tagged key -> pend {value at first touch, current value}
 *   names[i]  name key -> the pend now holding the name, or ABSENT (freed by
 *             a rename/delete in this transaction); missing: ask the base
 *   oids      OIDs this transaction allocated or wrote (skipped by allocation)
 * A read is: pending, else the base version. Commit emits, in key order, -old
 * and +new for each pend whose value changed, as ONE compare_and_append.
 */
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/wire.h"
#include "internal.h"

typedef struct pend {
    dur_blob *key; /* tagged key: [coll][encoded key] */
    dur_blob *old; /* base value at first touch, or NULL */
    dur_blob *cur; /* current value, or NULL (deleted / absent) */
    uint32_t oid;  /* cur's OID (0: none), known without decoding */
} pend;

struct dur_txn {
    dur_catalog *cat;
    const dur_snapshot *base; /* the version it started from (valid: single writer) */
    dur__htab pending;        /* tagged key -> pend */
    pend **order;             /* every pend, for commit and cleanup */
    size_t npend, cappend;
    dur__htab names[DUR_NNAME]; /* name key -> pend or ABSENT */
    dur__htab oids;             /* u64 BE -> non-NULL */
    uint64_t audit_next;        /* next audit event id */
    uint64_t audit_live;        /* audit events in the log once this txn commits */
    dur__alloc_block
        blocks[DUR_ALLOC_SLOTS]; /* the catalog's, advanced here; published at commit */
    size_t nblocks;
    bool poisoned; /* a NOMEM happened mid-write: only abort */
    dur__buf kbuf; /* scratch: tagged key */
};

static char absent_mark;
#define ABSENT ((void *)&absent_mark)

typedef enum write_mode { W_INSERT, W_UPDATE, W_SET, W_DELETE } write_mode;

static cc_code
usable(dur_txn *txn, cc_err *err)
{
    if (txn->cat->fenced)
        return cc_err_set(err, CC_FENCED,
                          "catalog writer fenced by a newer writer (generation %llu, epoch %llu)",
                          (unsigned long long)atomic_load(&txn->cat->cur)->fence.generation,
                          (unsigned long long)atomic_load(&txn->cat->cur)->fence.epoch);
    if (txn->cat->broken)
        return cc_err_set(err, CC_INTERNAL, "catalog handle must be reopened after a failure");
    if (txn->poisoned)
        return cc_err_set(err, CC_INVALID,
                          "catalog transaction failed earlier; only abort is allowed");
    return CC_OK;
}

cc_code
dur_txn_begin(dur_catalog *cat, dur_txn **out, cc_err *err)
{
    if (cat == NULL || out == NULL)
        return cc_err_set(err, CC_INVALID, "dur_txn_begin: NULL argument");
    if (cat->opts.mode == DUR_MODE_READ_ONLY)
        return cc_err_set_state(err, CC_INVALID, "25006",
                                "cannot write to the catalog in a read-only open");
    if (cat->txn_open)
        return cc_err_set(err, CC_INVALID, "a catalog transaction is already open");
    if (cat->fenced)
        return cc_err_set(err, CC_FENCED, "catalog writer fenced by a newer writer");
    if (cat->broken)
        return cc_err_set(err, CC_INTERNAL, "catalog handle must be reopened after a failure");
    dur_txn *t = cc_calloc(1, sizeof *t);
    if (t == NULL)
        return cc_err_set(err, CC_NOMEM, "out of memory starting a catalog transaction");
    t->cat = cat;
    t->base = atomic_load_explicit(&cat->cur, memory_order_acquire);
    t->audit_next = t->base->audit_next_id ? t->base->audit_next_id : 1;
    t->audit_live = t->base->audit_count;
    memcpy(t->blocks, cat->blocks, sizeof t->blocks);
    t->nblocks = cat->nblocks;
    cat->txn_open = true;
    *out = t;
    return CC_OK;
}

static void
txn_free(dur_txn *t)
{
    for (size_t i = 0; i < t->npend; i++) {
        dur_blob_unref(t->order[i]->key);
        dur_blob_unref(t->order[i]->old);
        dur_blob_unref(t->order[i]->cur);
        cc_free(t->order[i]);
    }
    cc_free(t->order);
    dur__htab_fini(&t->pending);
    for (int i = 0; i < DUR_NNAME; i++)
        dur__htab_fini(&t->names[i]);
    dur__htab_fini(&t->oids);
    dur__buf_fini(&t->kbuf);
    t->cat->txn_open = false;
    cc_free(t);
}

void
dur_txn_abort(dur_txn *txn)
{
    if (txn != NULL)
        txn_free(txn);
}

size_t
dur_txn_pending_count(const dur_txn *txn)
{
    size_t n = 0;
    for (size_t i = 0; i < txn->npend; i++)
        n += !dur__blob_equal(txn->order[i]->old, txn->order[i]->cur);
    return n;
}

/* The current value of the tagged key in kbuf: pending, else the base. */
static const dur_blob *
current(dur_txn *t, pend **p)
{
    *p = dur__htab_find(&t->pending, t->kbuf.p, t->kbuf.len);
    if (*p != NULL)
        return (*p)->cur;
    return pmap_omap_find(&t->base->coll[t->kbuf.p[0]], t->kbuf.p + 1, t->kbuf.len - 1);
}

static cc_code
check_msg(dur_collection coll, const ProtobufCMessage *m, dur_part part, cc_err *err)
{
    const ProtobufCMessageDescriptor *d =
        part == DUR_PART_KEY ? dur_key_descriptor(coll) : dur_value_descriptor(coll);
    if (d == NULL)
        return cc_err_set(err, CC_INVALID, "invalid catalog collection %d", (int)coll);
    if (m == NULL || m->descriptor != d)
        return cc_err_set(err, CC_INVALID, "catalog %s: %s is not a %s", dur_collection_name(coll),
                          part == DUR_PART_KEY ? "key" : "value", d->name);
    return CC_OK;
}

cc_code
dur_txn_find_raw(dur_txn *txn, dur_collection coll, const ProtobufCMessage *key,
                 const dur_blob **value, cc_err *err)
{
    cc_code rc = usable(txn, err);
    if (rc == CC_OK)
        rc = check_msg(coll, key, DUR_PART_KEY, err);
    if (rc == CC_OK)
        rc = dur__tagged_key(&txn->kbuf, coll, key, err);
    if (rc != CC_OK)
        return rc;
    pend *p;
    *value = current(txn, &p);
    return CC_OK;
}

cc_code
dur_txn_get(dur_txn *txn, dur_collection coll, const ProtobufCMessage *key,
            ProtobufCMessage **value, cc_err *err)
{
    const dur_blob *b;
    cc_code rc = dur_txn_find_raw(txn, coll, key, &b, err);
    if (rc != CC_OK)
        return rc;
    if (b == NULL)
        return cc_err_set(err, CC_NOT_FOUND, "catalog %s: key not found",
                          dur_collection_name(coll));
    return dur_decode(coll, DUR_PART_VALUE, dur_blob_bytes(b), value, err);
}

/* Is name key nk of index idx held by an object other than self (pend, or key bytes)? */
static bool
name_taken(dur_txn *t, dur_name_index idx, const dur__buf *nk, const pend *self,
           pmap_bytes self_key)
{
    void *ov = dur__htab_find(&t->names[idx], nk->p, nk->len);
    if (ov == ABSENT)
        return false;
    if (ov != NULL)
        return ov != self;
    const dur_blob *k = pmap_omap_find(&t->base->names[idx], nk->p, nk->len);
    if (k == NULL)
        return false;
    return !(k->len == self_key.len && memcmp(k->data, self_key.ptr, k->len) == 0);
}

static cc_code
name_error(dur_name_index idx, const char *name, cc_err *err)
{
    switch (idx) {
    case DUR_NAME_DATABASE:
        return cc_err_set_state(err, CC_EXISTS, "42P04", "database \"%s\" already exists", name);
    case DUR_NAME_SCHEMA:
        return cc_err_set_state(err, CC_EXISTS, "42P06", "schema \"%s\" already exists", name);
    case DUR_NAME_RELATION:
        return cc_err_set_state(err, CC_EXISTS, "42P07", "relation \"%s\" already exists", name);
    case DUR_NAME_TYPE:
        return cc_err_set_state(err, CC_EXISTS, "42710", "type \"%s\" already exists", name);
    case DUR_NAME_ROLE:
        return cc_err_set_state(err, CC_EXISTS, "42710", "role \"%s\" already exists", name);
    default:
        return cc_err_set_state(err, CC_EXISTS, "42710", "cluster \"%s\" already exists", name);
    }
}

static cc_code
txn_write(dur_txn *t, dur_collection coll, const ProtobufCMessage *key,
          const ProtobufCMessage *value, write_mode mode, const dur_blob **stored, cc_err *err)
{
    cc_code rc = usable(t, err);
    if (rc == CC_OK)
        rc = check_msg(coll, key, DUR_PART_KEY, err);
    if (rc == CC_OK && mode != W_DELETE)
        rc = check_msg(coll, value, DUR_PART_VALUE, err);
    if (rc == CC_OK && coll == DUR_AUDIT_LOG)
        rc = cc_err_set(err, CC_INVALID, "the audit log is written with dur_txn_audit only");
    if (rc == CC_OK)
        rc = dur__tagged_key(&t->kbuf, coll, key, err);
    if (rc != CC_OK)
        return rc;
    pend *p;
    const dur_blob *cur = current(t, &p);
    if (mode == W_INSERT && cur != NULL)
        return cc_err_set(err, CC_EXISTS, "catalog %s: key already exists",
                          dur_collection_name(coll));
    if ((mode == W_UPDATE || mode == W_DELETE) && cur == NULL)
        return cc_err_set(err, CC_NOT_FOUND, "catalog %s: key not found",
                          dur_collection_name(coll));

    dur_blob *nv = NULL;
    if (value != NULL && (rc = dur_encode(value, &nv, err)) != CC_OK)
        return rc;
    if (dur__blob_equal(cur, nv)) {
        dur_blob_unref(nv);
        if (stored != NULL)
            *stored = cur;
        return CC_OK;
    }

    /* Names: the old entry's and the new one's; check the new one if it moved. */
    ProtobufCMessage *om = NULL;
    dur__buf onk = {0}, nnk = {0};
    dur_name_index oidx = DUR_NNAME, nidx = DUR_NNAME;
    bool has_old = false, has_new = false;
    pmap_bytes self_key = {t->kbuf.p + 1, t->kbuf.len - 1};
    bool names = !t->base->external_names;
    if (names && cur != NULL &&
        (coll == DUR_DATABASES || coll == DUR_SCHEMAS || coll == DUR_ITEMS || coll == DUR_ROLES ||
         coll == DUR_CLUSTERS)) {
        rc = dur_decode(coll, DUR_PART_VALUE, dur_blob_bytes(cur), &om, err);
        if (rc == CC_OK)
            has_old = dur__name_key(coll, om, &oidx, &onk, &rc, err);
    }
    if (names && rc == CC_OK && value != NULL)
        has_new = dur__name_key(coll, value, &nidx, &nnk, &rc, err);
    bool moved = has_new && !(has_old && oidx == nidx && onk.len == nnk.len &&
                              memcmp(onk.p, nnk.p, onk.len) == 0);
    if (rc == CC_OK && moved && name_taken(t, nidx, &nnk, p, self_key))
        rc = name_error(nidx, dur__value_name(coll, value), err);
    if (rc != CC_OK)
        goto done; /* nothing changed yet */

    /* From here on a failure is NOMEM with partial state: poison. */
    if (p == NULL) {
        p = cc_calloc(1, sizeof *p);
        if (p == NULL || (p->key = dur__blob_new(t->kbuf.p, t->kbuf.len)) == NULL) {
            cc_free(p);
            rc = cc_err_set(err, CC_NOMEM, "out of memory in a catalog transaction");
            goto poison;
        }
        if (t->npend == t->cappend) {
            size_t cap = t->cappend ? t->cappend * 2 : 16;
            pend **o = cc_realloc(t->order, cap * sizeof *o);
            if (o == NULL) {
                dur_blob_unref(p->key);
                cc_free(p);
                rc = cc_err_set(err, CC_NOMEM, "out of memory in a catalog transaction");
                goto poison;
            }
            t->order = o;
            t->cappend = cap;
        }
        p->old = dur_blob_ref(cur);
        t->order[t->npend++] = p;
        if ((rc = dur__htab_put(&t->pending, t->kbuf.p, t->kbuf.len, p, err)) != CC_OK)
            goto poison;
    }
    dur_blob_unref(p->cur);
    p->cur = nv;
    p->oid = value != NULL ? dur__value_oid(coll, value) : 0;
    nv = NULL;
    if (stored != NULL)
        *stored = p->cur;
    if (has_old && (moved || !has_new) &&
        (rc = dur__htab_put(&t->names[oidx], onk.p, onk.len, ABSENT, err)) != CC_OK)
        goto poison;
    if (moved && (rc = dur__htab_put(&t->names[nidx], nnk.p, nnk.len, p, err)) != CC_OK)
        goto poison;
    if (value != NULL) {
        uint32_t oid = dur__value_oid(coll, value);
        uint8_t ok[8];
        dur__be64(ok, oid);
        if (oid != 0 && (rc = dur__htab_put(&t->oids, ok, sizeof ok, ABSENT, err)) != CC_OK)
            goto poison;
    }
    goto done;
poison:
    t->poisoned = true;
done:
    dur_blob_unref(nv);
    if (om != NULL)
        protobuf_c_message_free_unpacked(om, NULL);
    dur__buf_fini(&onk);
    dur__buf_fini(&nnk);
    return rc;
}

cc_code
dur_txn_insert(dur_txn *txn, dur_collection coll, const ProtobufCMessage *key,
               const ProtobufCMessage *value, cc_err *err)
{
    return txn_write(txn, coll, key, value, W_INSERT, NULL, err);
}

cc_code
dur_txn_update(dur_txn *txn, dur_collection coll, const ProtobufCMessage *key,
               const ProtobufCMessage *value, cc_err *err)
{
    return txn_write(txn, coll, key, value, W_UPDATE, NULL, err);
}

cc_code
dur_txn_set(dur_txn *txn, dur_collection coll, const ProtobufCMessage *key,
            const ProtobufCMessage *value, cc_err *err)
{
    return txn_write(txn, coll, key, value, W_SET, NULL, err);
}

cc_code
dur_txn_put(dur_txn *txn, dur_collection coll, const ProtobufCMessage *key,
            const ProtobufCMessage *value, const dur_blob **stored, cc_err *err)
{
    if (stored == NULL)
        return cc_err_set(err, CC_INVALID, "dur_txn_put: NULL stored");
    return txn_write(txn, coll, key, value, W_SET, stored, err);
}

cc_code
dur_txn_delete(dur_txn *txn, dur_collection coll, const ProtobufCMessage *key, cc_err *err)
{
    return txn_write(txn, coll, key, NULL, W_DELETE, NULL, err);
}

/* --- ids, oids, audit ------------------------------------------------------------ */

static cc_code
alloc_get(dur_txn *t, const char *name, uint64_t *next, cc_err *err)
{
    Cowcat__Catalog__IdAllocKey k = COWCAT__CATALOG__ID_ALLOC_KEY__INIT;
    k.name = (char *)name;
    const dur_blob *v;
    cc_code rc = dur_txn_find_raw(t, DUR_ID_ALLOCATOR, &k.base, &v, err);
    if (rc != CC_OK)
        return rc;
    if (v == NULL)
        return cc_err_set(err, CC_NOT_FOUND, "id allocator \"%s\" does not exist", name);
    /* Every DDL allocates twice: read next_id (field 1) off the wire, no decode. */
    if (!cc_wire_scan_varint(v->data, v->len, 1, next))
        return cc_err_set(err, CC_CORRUPT, "id allocator \"%s\": undecodable value", name);
    return CC_OK;
}

static cc_code
alloc_set(dur_txn *t, const char *name, uint64_t next, cc_err *err)
{
    Cowcat__Catalog__IdAllocKey k = COWCAT__CATALOG__ID_ALLOC_KEY__INIT;
    Cowcat__Catalog__IdAllocValue v = COWCAT__CATALOG__ID_ALLOC_VALUE__INIT;
    k.name = (char *)name;
    v.next_id = next;
    return txn_write(t, DUR_ID_ALLOCATOR, &k.base, &v.base, W_UPDATE, NULL, err);
}

/* The transaction's reservation of allocator name (a new, empty one if none). */
static dur__alloc_block *
block_of(dur_txn *t, const char *name, cc_err *err)
{
    for (size_t i = 0; i < t->nblocks; i++)
        if (strcmp(t->blocks[i].name, name) == 0)
            return &t->blocks[i];
    if (t->nblocks == DUR_ALLOC_SLOTS || strlen(name) >= sizeof t->blocks[0].name) {
        cc_err_set(err, CC_INVALID, "id allocator \"%s\": too many allocators or name too long",
                   name);
        return NULL;
    }
    dur__alloc_block *b = &t->blocks[t->nblocks++];
    memset(b, 0, sizeof *b);
    memcpy(b->name, name, strlen(name) + 1);
    return b;
}

/* Reserves [start, start + DUR_ID_BLOCK) with start >= b->next and the value on disk. */
static cc_code
reserve(dur_txn *t, dur__alloc_block *b, uint64_t start, cc_err *err)
{
    uint64_t v;
    cc_code rc = alloc_get(t, b->name, &v, err);
    if (rc != CC_OK)
        return rc;
    if (v > start)
        start = v;
    if ((rc = alloc_set(t, b->name, start + DUR_ID_BLOCK, err)) != CC_OK)
        return rc;
    b->next = start;
    b->limit = start + DUR_ID_BLOCK;
    return CC_OK;
}

cc_code
dur_txn_allocate_id(dur_txn *txn, const char *name, uint64_t *id, cc_err *err)
{
    cc_code rc = usable(txn, err);
    dur__alloc_block *b = rc == CC_OK ? block_of(txn, name, err) : NULL;
    if (b == NULL)
        return rc != CC_OK ? rc : CC_INVALID;
    if (b->next >= b->limit && (rc = reserve(txn, b, b->next, err)) != CC_OK)
        return rc;
    *id = b->next++;
    return CC_OK;
}

/* Number of used OIDs in [lo, hi) of the base version. O(log n). */
static uint64_t
oids_in(const pmap_omap *m, uint64_t lo, uint64_t hi)
{
    uint8_t a[8], b[8];
    dur__be64(a, lo);
    dur__be64(b, hi);
    return pmap_omap_count_range(m, a, sizeof a, b, sizeof b);
}

/*
 * The smallest OID >= c unused in m, or 2^32 if none. Usually c itself (the
 * cursor is past everything allocated): one lookup. Otherwise a run of used
 * OIDs starts at c: gallop to a window [c, c + w) that is not full, then
 * binary-search "[c, x] is not full" in it — O(log(run) · log n) range counts.
 */
static uint64_t
first_free(const pmap_omap *m, uint64_t c)
{
    const uint64_t end = (uint64_t)1 << 32;
    uint8_t k[8];
    dur__be64(k, c);
    if (c >= end || pmap_omap_find(m, k, sizeof k) == NULL)
        return c;
    uint64_t w = 2;
    while (c + w < end && oids_in(m, c, c + w) == w)
        w *= 2;
    uint64_t hi_excl = c + w < end ? c + w : end;
    if (oids_in(m, c, hi_excl) == hi_excl - c)
        return end;
    uint64_t lo = c + w / 2, hi = hi_excl - 1; /* [c, lo) is full; a gap is in [lo, hi] */
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (oids_in(m, c, mid + 1) < mid + 1 - c)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

cc_code
dur_txn_allocate_oid(dur_txn *txn, uint32_t *oid, cc_err *err)
{
    cc_code rc = usable(txn, err);
    dur__alloc_block *b = rc == CC_OK ? block_of(txn, DUR_ALLOC_OID, err) : NULL;
    if (b == NULL)
        return rc != CC_OK ? rc : CC_INVALID;
    if (b->limit == 0) {
        /* First use since open: the cursor on disk is where to look from. */
        uint64_t v;
        if ((rc = alloc_get(txn, DUR_ALLOC_OID, &v, err)) != CC_OK)
            return rc;
        b->next = b->limit = v;
    }
    uint64_t c = b->next;
    if (c < DUR_FIRST_USER_OID || c > UINT32_MAX)
        c = DUR_FIRST_USER_OID;
    int wraps = 0;
    for (;;) {
        uint64_t x = first_free(&txn->base->oids, c);
        if (x > UINT32_MAX) {
            if (++wraps > 1)
                return cc_err_set(err, CC_LIMIT, "out of OIDs: every OID from %u is in use",
                                  DUR_FIRST_USER_OID);
            c = DUR_FIRST_USER_OID;
            continue;
        }
        uint8_t k[8];
        dur__be64(k, x);
        if (dur__htab_find(&txn->oids, k, sizeof k) != NULL) {
            c = x + 1; /* used by this transaction: at most its own write count of these */
            continue;
        }
        /* Past the reserved cursor: move it a block ahead in this commit. */
        if (x >= b->limit && (rc = reserve(txn, b, x, err)) != CC_OK)
            return rc;
        b->next = x + 1;
        if ((rc = dur__htab_put(&txn->oids, k, sizeof k, ABSENT, err)) != CC_OK) {
            txn->poisoned = true;
            return rc;
        }
        *oid = (uint32_t)x;
        return CC_OK;
    }
}

/* Adds p (key and values owned by p) to txn's pending entries. Errors: NOMEM (p freed). */
static cc_code
order_add(dur_txn *txn, pend *p, cc_err *err)
{
    if (txn->npend == txn->cappend) {
        size_t cap = txn->cappend ? txn->cappend * 2 : 16;
        pend **o = cc_realloc(txn->order, cap * sizeof *o);
        if (o == NULL) {
            dur_blob_unref(p->key);
            dur_blob_unref(p->old);
            dur_blob_unref(p->cur);
            cc_free(p);
            txn->poisoned = true;
            return cc_err_set(err, CC_NOMEM, "out of memory in a catalog transaction");
        }
        txn->order = o;
        txn->cappend = cap;
    }
    txn->order[txn->npend++] = p;
    return CC_OK;
}

/*
 * Retracts the oldest audit events while the log would hold more than the
 * open's audit_keep: at most two per call, each found with one point lookup
 * in the shard (its retraction needs the exact stored value; the shard's
 * trace is exact for base, as the writer is single). Event ids are dense
 * (audit_next - audit_live is the oldest): the log only ever gains the next
 * id and loses its oldest. A missing id — a log that is not dense, which
 * nothing writes — is skipped, so this never stalls. The txn's own events
 * are never retracted: a transaction with more than audit_keep events
 * leaves that many until the next commit. Errors: NOMEM (txn poisoned).
 */
static cc_code
audit_trim(dur_txn *txn, cc_err *err)
{
    uint64_t keep = txn->cat->opts.audit_keep ? txn->cat->opts.audit_keep : DUR_AUDIT_KEEP;
    for (int step = 0; step < 2 && txn->audit_live > keep; step++) {
        Cowcat__Catalog__AuditLogKey k = COWCAT__CATALOG__AUDIT_LOG_KEY__INIT;
        k.event_id = txn->audit_next - txn->audit_live;
        if (k.event_id >= txn->base->audit_next_id)
            break; /* only this txn's events are left */
        cc_code rc = dur__tagged_key(&txn->kbuf, DUR_AUDIT_LOG, &k.base, err);
        if (rc != CC_OK) {
            txn->poisoned = true;
            return rc;
        }
        pmap_bytes key = {txn->kbuf.p, txn->kbuf.len};
        uint8_t small[256];
        size_t len = 0;
        int64_t diff = 0;
        txn->audit_live--;
        if (!persist_shard_lookup(txn->cat->shard, key, small, sizeof small, &len, &diff) ||
            diff != 1)
            continue;
        dur_blob *old;
        if (len <= sizeof small) {
            old = dur__blob_new(small, len);
        } else { /* a long event (names, ALTER SYSTEM text): read it whole */
            uint8_t *buf = cc_malloc(len);
            size_t again = 0;
            bool found = buf != NULL &&
                         persist_shard_lookup(txn->cat->shard, key, buf, len, &again, NULL) &&
                         again == len;
            old = found ? dur__blob_new(buf, len) : NULL;
            cc_free(buf);
            if (buf != NULL && !found)
                continue;
        }
        pend *p = old != NULL ? cc_calloc(1, sizeof *p) : NULL;
        if (p == NULL || (p->key = dur__blob_new(key.ptr, key.len)) == NULL) {
            cc_free(p);
            dur_blob_unref(old);
            txn->poisoned = true;
            return cc_err_set(err, CC_NOMEM, "out of memory in a catalog transaction");
        }
        p->old = old;
        if ((rc = order_add(txn, p, err)) != CC_OK)
            return rc;
    }
    return CC_OK;
}

cc_code
dur_txn_audit(dur_txn *txn, Cowcat__Catalog__AuditEventType event_type,
              Cowcat__Catalog__ObjectType object_type, const char *details, const char *user,
              uint64_t occurred_at_ms, uint64_t *event_id, cc_err *err)
{
    cc_code rc = usable(txn, err);
    if (rc != CC_OK)
        return rc;
    Cowcat__Catalog__AuditLogKey k = COWCAT__CATALOG__AUDIT_LOG_KEY__INIT;
    Cowcat__Catalog__AuditLogValue v = COWCAT__CATALOG__AUDIT_LOG_VALUE__INIT;
    k.event_id = txn->audit_next;
    v.event_type = event_type;
    v.object_type = object_type;
    v.details = (char *)(details ? details : "");
    v.user_name = (char *)(user ? user : "");
    v.occurred_at_ms = occurred_at_ms;
    /* The audit log is not in the snapshot: a new event id is never present. */
    if ((rc = dur__tagged_key(&txn->kbuf, DUR_AUDIT_LOG, &k.base, err)) != CC_OK)
        return rc;
    dur_blob *nv;
    if ((rc = dur_encode(&v.base, &nv, err)) != CC_OK)
        return rc;
    pend *p = cc_calloc(1, sizeof *p);
    if (p == NULL || (p->key = dur__blob_new(txn->kbuf.p, txn->kbuf.len)) == NULL) {
        cc_free(p);
        dur_blob_unref(nv);
        txn->poisoned = true;
        return cc_err_set(err, CC_NOMEM, "out of memory in a catalog transaction");
    }
    p->cur = nv;
    if ((rc = order_add(txn, p, err)) != CC_OK)
        return rc;
    if (event_id != NULL)
        *event_id = txn->audit_next;
    txn->audit_next++;
    txn->audit_live++;
    return audit_trim(txn, err);
}

/* --- commit -------------------------------------------------------------------- */

static int
pend_cmp(const void *a, const void *b)
{
    const dur_blob *x = (*(pend *const *)a)->key, *y = (*(pend *const *)b)->key;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->data, y->data, n);
    return c != 0 ? c : (x->len > y->len) - (x->len < y->len);
}

void
dur_changes_free(dur_changes *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n; i++) {
        dur_blob_unref(c->v[i].key);
        dur_blob_unref(c->v[i].old_value);
        dur_blob_unref(c->v[i].new_value);
    }
    cc_free(c->v);
    cc_free(c);
}

/*
 * Lets persist drop the catalog shard's history: moves since to upper - 1 once
 * it lags by DUR_SINCE_LAG commits, in the commit's own record (b). Every
 * DUR_SINCE_LAG commits bounds the retained history (memory, rollup size,
 * reopen) to that many appends; a since moved on every commit would make
 * every record a little larger for nothing. Live followers are unaffected
 * (they listen continuously).
 */
static cc_code
compact_history(dur_catalog *cat, persist_batch *b, uint64_t new_upper, cc_err *err)
{
    uint64_t since = persist_shard_since(cat->shard);
    if (new_upper < since + DUR_SINCE_LAG + 1)
        return CC_OK;
    return persist_batch_since(b, cat->shard, new_upper - 1, err);
}

/*
 * Stages txn-wal's part of the commit into b (see tables.c): the changed
 * items among txn's pending entries (sorted), O(changes). *st is NULL
 * without txn-wal.
 */
static cc_code
stage_tables(dur_txn *txn, persist_batch *b, txnwal_stage **st, cc_err *err)
{
    *st = NULL;
    if (txn->cat->tw == NULL)
        return CC_OK;
    dur__item_change *items = cc_malloc((txn->npend + 1) * sizeof *items);
    if (items == NULL)
        return cc_err_set(err, CC_NOMEM, "out of memory committing the catalog");
    size_t n = 0;
    for (size_t i = 0; i < txn->npend; i++) {
        const pend *p = txn->order[i];
        if (p->key->data[0] != DUR_ITEMS || dur__blob_equal(p->old, p->cur))
            continue;
        items[n++] = (dur__item_change){{p->key->data + 1, p->key->len - 1}, p->old, p->cur};
    }
    cc_code rc = dur__tables_stage(txn->cat, items, n, b, st, err);
    cc_free(items);
    return rc;
}

cc_code
dur_txn_commit(dur_txn *txn, dur_changes **changes, cc_err *err)
{
    dur_catalog *cat = txn->cat;
    persist_update *ups = NULL;
    dur__meta *meta = NULL;
    dur_changes *ch = NULL;
    cc_code rc = usable(txn, err);
    if (changes != NULL)
        *changes = NULL;
    if (rc != CC_OK)
        goto out;
    if (txn->npend > 1)
        qsort(txn->order, txn->npend, sizeof *txn->order, pend_cmp);
    size_t n = 0, nch = 0;
    ups = cc_malloc((2 * txn->npend + 1) * sizeof *ups);
    meta = cc_calloc(2 * txn->npend + 1, sizeof *meta);
    ch = cc_calloc(1, sizeof *ch);
    if (ups == NULL || meta == NULL || ch == NULL ||
        (ch->v = cc_calloc(txn->npend + 1, sizeof *ch->v)) == NULL) {
        rc = cc_err_set(err, CC_NOMEM, "out of memory committing the catalog");
        goto out;
    }
    uint64_t upper = txn->base->upper;
    for (size_t i = 0; i < txn->npend; i++) {
        pend *p = txn->order[i];
        if (dur__blob_equal(p->old, p->cur))
            continue;
        pmap_bytes k = dur_blob_bytes(p->key);
        if (p->old != NULL)
            ups[n++] = (persist_update){k, dur_blob_bytes(p->old), upper, -1};
        if (p->cur != NULL) {
            meta[n] = (dur__meta){p->cur, p->oid, true};
            ups[n++] = (persist_update){k, dur_blob_bytes(p->cur), upper, +1};
        }
        dur_change *c = &ch->v[nch];
        c->coll = p->key->data[0];
        c->key = dur__blob_new(p->key->data + 1, p->key->len - 1);
        if (c->key == NULL) {
            rc = cc_err_set(err, CC_NOMEM, "out of memory committing the catalog");
            goto out;
        }
        c->old_value = dur_blob_ref(p->old);
        c->new_value = dur_blob_ref(p->cur);
        ch->n = ++nch;
    }
    if (n > 0) {
        /* One record: the catalog append, txn-wal's part, maybe a since move.
         * The next cached version is built first: once the append is durable
         * nothing may fail (else the handle must be reopened), so the memory
         * it needs is taken while failing still leaves everything as it was.
         * (The SNAPSHOT ablation rebuilds from the shard: after the append.) */
        uint64_t now = 0;
        persist_shard *mismatch = NULL;
        persist_batch *b = NULL;
        txnwal_stage *st = NULL;
        dur__next next = {NULL, NULL};
        bool rebuild = cat->opts.snapshot == DUR_SNAPSHOT_REBUILD;
        rc = rebuild ? CC_OK : dur__catalog_prepare(cat, ups, meta, n, upper + 1, &next, err);
        if (rc == CC_OK)
            rc = persist_batch_new(cat->client, &b, err);
        if (rc == CC_OK)
            rc = persist_batch_append(b, cat->shard, ups, n, upper, upper + 1, err);
        if (rc == CC_OK)
            rc = compact_history(cat, b, upper + 1, err);
        if (rc == CC_OK)
            rc = stage_tables(txn, b, &st, err);
        if (rc == CC_OK)
            rc = persist_batch_commit(b, &mismatch, &now, err);
        persist_batch_free(b);
        if (rc != CC_OK) {
            txnwal_stage_abort(st);
            dur__catalog_discard(&next); /* before a sync below writes the snapshot */
        }
        if (rc == CC_UPPER_MISMATCH && mismatch != cat->shard) {
            /* Only the txns shard moved (another txn-wal writer): the next
             * stage starts at its new upper. */
            rc = cc_err_set(err, CC_UPPER_MISMATCH, "txn-wal shard changed concurrently; retry");
            goto out;
        }
        if (rc == CC_UPPER_MISMATCH) {
            cc_err e2;
            cc_err_clear(&e2);
            cc_code src = dur__catalog_sync(cat, &e2);
            if (src != CC_OK) {
                if (err != NULL)
                    *err = e2;
                rc = src;
            } else if (cat->fenced) {
                rc = cc_err_set(
                    err, CC_FENCED,
                    "catalog writer fenced by a newer writer (generation %llu, epoch %llu)",
                    (unsigned long long)atomic_load(&cat->cur)->fence.generation,
                    (unsigned long long)atomic_load(&cat->cur)->fence.epoch);
            } else {
                rc = cc_err_set(err, CC_UPPER_MISMATCH,
                                "catalog changed concurrently (upper %llu, expected %llu); retry",
                                (unsigned long long)now, (unsigned long long)upper);
            }
            goto out;
        }
        if (rc != CC_OK)
            goto out;
        pthread_mutex_lock(&cat->lock);
        if (rebuild) {
            rc = dur__catalog_advance(cat, ups, meta, n, upper + 1, err);
            if (rc != CC_OK)
                cat->broken = true; /* durable but not cached: the handle must be reopened */
        } else {
            dur__catalog_publish(cat, &next);
        }
        pthread_mutex_unlock(&cat->lock);
        /* After the publish: under txn-wal's lock, registrations and the
         * published tables always belong to the same commit. */
        if (st != NULL) {
            txnwal_stage_commit(st);
            cat->adopt_tables = false;
        }
        if (rc != CC_OK)
            goto out;
    }
    ch->upper = atomic_load(&cat->cur)->upper;
    /* The reservations this commit made durable (or drew from) are the
     * catalog's now; a failed commit leaves the previous ones. */
    memcpy(cat->blocks, txn->blocks, sizeof cat->blocks);
    cat->nblocks = txn->nblocks;
    if (changes != NULL) {
        *changes = ch;
        ch = NULL;
    }
out:
    dur_changes_free(ch);
    cc_free(ups);
    cc_free(meta);
    txn_free(txn);
    return rc;
}

cc_code
dur_allocate_id(dur_catalog *cat, const char *name, uint64_t *id, cc_err *err)
{
    dur_txn *t = NULL;
    uint64_t v;
    cc_code rc = dur_txn_begin(cat, &t, err);
    if (rc != CC_OK)
        return rc;
    /* One id, past every block handed out so far: read, write value + 1. */
    uint64_t next = 0;
    if ((rc = alloc_get(t, name, &next, err)) == CC_OK &&
        (rc = alloc_set(t, name, next + 1, err)) == CC_OK)
        v = next;
    if (rc != CC_OK) {
        dur_txn_abort(t);
        return rc;
    }
    rc = dur_txn_commit(t, NULL, err);
    if (rc == CC_OK)
        *id = v;
    return rc;
}

/* --- ablation: allocation in a transaction of its own ----------------------------- */

/* Has txn written allocator name? (Errors encoding the key count as yes.) */
static bool
alloc_written(dur_txn *txn, const char *name)
{
    Cowcat__Catalog__IdAllocKey k = COWCAT__CATALOG__ID_ALLOC_KEY__INIT;
    k.name = (char *)name;
    return dur__tagged_key(&txn->kbuf, DUR_ID_ALLOCATOR, &k.base, NULL) != CC_OK ||
           dur__htab_find(&txn->pending, txn->kbuf.p, txn->kbuf.len) != NULL;
}

cc_code
dur_txn_allocate_apart(dur_txn *txn, const char *name, uint64_t *id, uint32_t *oid, cc_err *err)
{
    cc_code rc = usable(txn, err);
    if (rc != CC_OK)
        return rc;
    if (alloc_written(txn, name) || (oid != NULL && alloc_written(txn, DUR_ALLOC_OID)))
        return cc_err_set(err, CC_INVALID, "id allocator \"%s\" already written by this transaction",
                          name);
    /* The separate transaction runs beside txn (single writer: nothing else
     * commits meanwhile) and starts from txn's reservations. */
    dur_catalog *cat = txn->cat;
    dur_txn *a;
    cat->txn_open = false;
    rc = dur_txn_begin(cat, &a, err);
    if (rc != CC_OK) {
        cat->txn_open = true;
        return rc;
    }
    memcpy(a->blocks, txn->blocks, sizeof a->blocks);
    a->nblocks = txn->nblocks;
    uint64_t i = 0;
    uint32_t o = 0;
    /* The same ids and OIDs txn would get, but the allocators are written
     * every time (value: one past what was handed out), so every allocation
     * is a commit of its own. */
    rc = dur_txn_allocate_id(a, name, &i, err);
    if (rc == CC_OK)
        rc = alloc_set(a, name, i + 1, err);
    if (rc == CC_OK && oid != NULL)
        rc = dur_txn_allocate_oid(a, &o, err);
    if (rc == CC_OK && oid != NULL)
        rc = alloc_set(a, DUR_ALLOC_OID, (uint64_t)o + 1, err);
    if (rc == CC_OK)
        rc = dur_txn_commit(a, NULL, err);
    else
        dur_txn_abort(a);
    cat->txn_open = true;
    if (rc != CC_OK)
        return rc;
    /* Only id_allocator changed, and txn has no pending entry there: its
     * pending state holds on the new version. */
    txn->base = atomic_load_explicit(&cat->cur, memory_order_acquire);
    memcpy(txn->blocks, cat->blocks, sizeof txn->blocks);
    txn->nblocks = cat->nblocks;
    *id = i;
    if (oid != NULL)
        *oid = o;
    return CC_OK;
}
