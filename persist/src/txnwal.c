/*
 * persist/src/txnwal.c — txn-wal over persist shards (see persist/txnwal.h).
 *
 * Entries of the txns shard: key = data shard id, value =
 *
 *   +---------+-----------+----------------------------------------------+
 *   | kind u8 | ts u64 LE | WRITE only: n u32, then n x                  |
 *   |         |           |   [klen u32][key][vlen u32][value][diff i64] |
 *   +---------+-----------+----------------------------------------------+
 *
 * (shard, ts) identifies an entry: two commits never share a ts, and a shard
 * is registered at most once at a time.
 *
 * State (under w->lock), for a txns shard of which this handle is the only
 * writer in the process:
 *   registry   the REGISTER entries of the txns shard's own trace: "is id
 *              registered" is one O(log n) lookup in it (persist_shard_lookup),
 *              so registrations cost their txns entry and nothing more — no
 *              second copy in memory, and no data shard: a registered shard is
 *              materialised only when written or read
 *   writes     committed WRITE entries, ts ascending; an entry is `applied`
 *              once copied into its data shard, and removed once tidied
 *   upper      the txns shard's upper; registered  the count of registrations
 * logical_upper is one lookup: no loop over registered shards anywhere
 * (txnwal_stage_advance_each is the ablation that puts the loop back).
 *
 * Lookups by id and staging into a caller's batch are in txnwal_stage.c;
 * the structures both files share are in txnwal_int.h.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "persist/txnwal.h"
#include "txnwal_int.h"

typedef struct txn_shard {
    persist_shard *shard;
    uint8_t *buf; /* encoded updates: n u32 then records */
    size_t len, cap;
    uint32_t n;
} txn_shard;

struct txnwal_txn {
    txnwal *w;
    txn_shard *shards;
    size_t nshards, cap;
};

/* --- encoding -------------------------------------------------------------- */

static void
put_u32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

static void
put_u64(uint8_t *p, uint64_t v)
{
    txnwal__put_u64(p, v);
}

static uint32_t
get_u32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static uint64_t
get_u64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* Decodes a WRITE value's updates into u[0..n) at ts (u borrows value). */
static cc_code
decode_write(const uint8_t *v, size_t len, uint64_t ts, persist_update **out, size_t *nout,
             cc_err *err)
{
    if (len < 13 || v[0] != KIND_WRITE)
        goto corrupt;
    uint32_t n = get_u32(v + 9);
    persist_update *u = n > 0 ? cc_malloc(n * sizeof *u) : NULL;
    if (n > 0 && u == NULL)
        return cc_err_set(err, CC_NOMEM, "out of memory applying txn-wal writes");
    size_t off = 13;
    for (uint32_t i = 0; i < n; i++) {
        if (len - off < 4)
            goto corrupt_free;
        uint32_t kl = get_u32(v + off);
        off += 4;
        if (len - off < (size_t)kl + 4)
            goto corrupt_free;
        const uint8_t *k = v + off;
        off += kl;
        uint32_t vl = get_u32(v + off);
        off += 4;
        if (len - off < (size_t)vl + 8)
            goto corrupt_free;
        const uint8_t *val = v + off;
        off += vl;
        int64_t diff = (int64_t)get_u64(v + off);
        off += 8;
        u[i] = (persist_update){{k, kl}, {val, vl}, ts, diff};
        continue;
    corrupt_free:
        cc_free(u);
        goto corrupt;
    }
    *out = u;
    *nout = n;
    return CC_OK;
corrupt:
    return cc_err_set(err, CC_CORRUPT, "malformed txn-wal WRITE entry");
}

/* --- writes ------------------------------------------------------------------ */

static cc_code
writes_push(txnwal *w, persist_shard *s, uint64_t ts, uint8_t *value, size_t len, cc_err *err)
{
    if (w->nwrites == w->wcap) {
        size_t cap = w->wcap ? w->wcap * 2 : 16;
        write_entry *nw = cc_realloc(w->writes, cap * sizeof *nw);
        if (nw == NULL)
            return cc_err_set(err, CC_NOMEM, "out of memory recording a txn-wal write");
        w->writes = nw;
        w->wcap = cap;
    }
    w->writes[w->nwrites++] = (write_entry){s, ts, false, false, len, value};
    return CC_OK;
}

static int
write_cmp(const void *a, const void *b)
{
    const write_entry *x = a, *y = b;
    return (x->ts > y->ts) - (x->ts < y->ts);
}

typedef struct rebuild {
    txnwal *w;
    char last[256]; /* the id of the last REGISTER seen ("" if none) */
    cc_code rc;
    cc_err *err;
} rebuild;

static int
rebuild_cb(void *arg, pmap_bytes key, pmap_bytes value, int64_t diff)
{
    rebuild *r = arg;
    txnwal *w = r->w;
    char id[256];
    const uint8_t *v = value.ptr;
    if (diff != 1 || key.len == 0 || key.len >= sizeof id || value.len < REG_VALUE_LEN) {
        r->rc =
            cc_err_set(r->err, CC_CORRUPT, "malformed txn-wal entry (diff %lld)", (long long)diff);
        return 1;
    }
    memcpy(id, key.ptr, key.len);
    id[key.len] = '\0';
    uint64_t ts = get_u64(v + 1);
    if (v[0] == KIND_REGISTER) {
        /* Counted only: the trace itself is the registry, and the data shard
         * is not opened (it exists once something writes it). */
        w->registered++;
        memcpy(r->last, id, key.len + 1);
    } else if (v[0] == KIND_WRITE) {
        /* REGISTER sorts before WRITE under one key. */
        if (strcmp(r->last, id) != 0) {
            r->rc = cc_err_set(r->err, CC_CORRUPT,
                               "txn-wal WRITE entry for unregistered data shard \"%s\"", id);
            return 1;
        }
        persist_shard *s;
        r->rc = persist_shard_open_lazy(w->c, id, &s, r->err);
        if (r->rc != CC_OK)
            return 1;
        uint8_t *copy = cc_malloc(value.len);
        if (copy == NULL) {
            r->rc = cc_err_set(r->err, CC_NOMEM, "out of memory opening txn-wal");
            return 1;
        }
        memcpy(copy, v, value.len);
        r->rc = writes_push(w, s, ts, copy, value.len, r->err);
        if (r->rc != CC_OK)
            cc_free(copy);
    } else {
        r->rc = cc_err_set(r->err, CC_CORRUPT, "unknown txn-wal entry kind %u", v[0]);
    }
    return r->rc != CC_OK;
}

cc_code
txnwal_open(persist_client *c, const char *txns_id, txnwal **out, cc_err *err)
{
    txnwal *w = cc_calloc(1, sizeof *w);
    if (w == NULL)
        return cc_err_set(err, CC_NOMEM, "out of memory opening txn-wal");
    w->c = c;
    pthread_mutex_init(&w->lock, NULL);
    /* Lazily: the txns shard reaches the log with its first append. */
    cc_code rc = persist_shard_open_lazy(c, txns_id, &w->txns, err);
    if (rc != CC_OK)
        goto fail;
    w->upper = persist_shard_upper(w->txns);
    if (w->upper > 0) {
        rebuild r = {.w = w, .rc = CC_OK, .err = err};
        rc = persist_snapshot(w->txns, w->upper - 1, rebuild_cb, &r, err);
        if (rc == CC_OK)
            rc = r.rc;
        if (rc != CC_OK)
            goto fail;
        if (w->nwrites > 1)
            qsort(w->writes, w->nwrites, sizeof *w->writes, write_cmp);
        /* Writes already copied into their data shard are applied (and will be
         * tidied); the physical upper tells. */
        for (size_t i = 0; i < w->nwrites; i++)
            w->writes[i].applied = persist_shard_upper(w->writes[i].shard) > w->writes[i].ts;
    }
    *out = w;
    return CC_OK;
fail:
    txnwal_close(w);
    return rc;
}

void
txnwal_close(txnwal *w)
{
    if (w == NULL)
        return;
    for (size_t i = 0; i < w->nwrites; i++)
        cc_free(w->writes[i].value);
    cc_free(w->writes);
    pthread_mutex_destroy(&w->lock);
    cc_free(w);
}

uint64_t
txnwal_upper(txnwal *w)
{
    pthread_mutex_lock(&w->lock);
    uint64_t u = w->upper;
    pthread_mutex_unlock(&w->lock);
    return u;
}

/*
 * Stamps the commit time t into an attempt's updates: their ts, and any value
 * bytes that carry the time (REGISTER and WRITE values), so that an attempt
 * retried at a later time never writes a value naming the earlier one.
 */
typedef void (*stamp_fn)(void *arg, persist_update *u, size_t n, uint64_t t);

/*
 * Appends updates to the txns shard at max(ts, upper), retrying at the
 * current upper on a mismatch; stamp (may be NULL when no value carries the
 * time) runs before every attempt. Under w->lock. *at gets the commit time.
 */
static cc_code
txns_append(txnwal *w, persist_update *u, size_t n, uint64_t ts, stamp_fn stamp, void *arg,
            uint64_t *at, cc_err *err)
{
    for (;;) {
        uint64_t t = ts > w->upper ? ts : w->upper;
        for (size_t i = 0; i < n; i++)
            u[i].ts = t;
        if (stamp != NULL)
            stamp(arg, u, n, t);
        uint64_t current;
        cc_code rc = persist_compare_and_append(w->txns, u, n, w->upper, t + 1, &current, err);
        if (rc == CC_OK) {
            w->upper = t + 1;
            *at = t;
            return CC_OK;
        }
        if (rc != CC_UPPER_MISMATCH)
            return rc;
        w->upper = current;
        w->retries++;
    }
}

/* --- register / forget ------------------------------------------------------- */

typedef struct shard_at {
    persist_shard *shard;
    size_t i;
} shard_at;

static int
shard_at_cmp(const void *a, const void *b)
{
    const shard_at *x = a, *y = b;
    if (x->shard != y->shard)
        return (uintptr_t)x->shard < (uintptr_t)y->shard ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

/*
 * Sets dup[i] for every shards[i] that also appears at a smaller index:
 * O(n log n), so registering or forgetting a big batch stays cheap.
 */
static cc_code
mark_dups(persist_shard *const *shards, size_t n, bool *dup, cc_err *err)
{
    shard_at *a = cc_malloc((n > 0 ? n : 1) * sizeof *a);
    if (a == NULL)
        return cc_err_set(err, CC_NOMEM, "out of memory checking a batch of data shards");
    for (size_t i = 0; i < n; i++)
        a[i] = (shard_at){shards[i], i};
    qsort(a, n, sizeof *a, shard_at_cmp);
    for (size_t i = 0; i < n; i++)
        dup[a[i].i] = i > 0 && a[i - 1].shard == a[i].shard;
    cc_free(a);
    return CC_OK;
}

/* stamp_fn for registrations: arg is the REGISTER values behind u (REG_VALUE_LEN each). */
static void
stamp_register(void *arg, persist_update *u, size_t n, uint64_t t)
{
    uint8_t *vals = arg;
    (void)u;
    for (size_t i = 0; i < n; i++) {
        vals[i * REG_VALUE_LEN] = KIND_REGISTER;
        put_u64(vals + i * REG_VALUE_LEN + 1, t);
    }
}

cc_code
txnwal_register(txnwal *w, uint64_t ts, persist_shard *const *shards, size_t n, uint64_t *at,
                cc_err *err)
{
    pthread_mutex_lock(&w->lock);
    persist_update *u = n > 0 ? cc_malloc(n * sizeof *u) : NULL;
    uint8_t *vals = n > 0 ? cc_malloc(n * REG_VALUE_LEN) : NULL;
    bool *dup = n > 0 ? cc_calloc(n, sizeof *dup) : NULL;
    cc_code rc = CC_OK;
    size_t m = 0;
    if (n > 0 && (u == NULL || vals == NULL || dup == NULL)) {
        rc = cc_err_set(err, CC_NOMEM, "out of memory registering data shards");
        goto done;
    }
    rc = mark_dups(shards, n, dup, err);
    /* Register above each data shard's physical upper: a commit lands at or
     * after the registration + 1, and apply_write takes a physical upper
     * beyond a write's ts to mean "already applied". */
    uint64_t t = ts;
    for (size_t i = 0; rc == CC_OK && i < n; i++) {
        const char *id = persist_shard_id(shards[i]);
        if (dup[i] || txnwal__registered(w, id, NULL))
            continue;
        uint64_t phys = persist_shard_upper(shards[i]);
        if (phys > t)
            t = phys;
        u[m] = (persist_update){{id, strlen(id)}, {vals + m * REG_VALUE_LEN, REG_VALUE_LEN}, 0, 1};
        m++;
    }
    uint64_t when = t > w->upper ? t : w->upper;
    if (rc == CC_OK && m > 0)
        rc = txns_append(w, u, m, t, stamp_register, vals, &when, err);
    if (rc == CC_OK) {
        w->registered += m;
        if (at != NULL)
            *at = when;
    }
done:
    cc_free(vals);
    cc_free(dup);
    cc_free(u);
    pthread_mutex_unlock(&w->lock);
    return rc;
}

static cc_code apply_write(txnwal *w, write_entry *we, cc_err *err);

static int
ptr_cmp(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)*(persist_shard *const *)a, y = (uintptr_t)*(persist_shard *const *)b;
    return (x > y) - (x < y);
}

cc_code
txnwal_forget(txnwal *w, uint64_t ts, persist_shard *const *shards, size_t n, uint64_t *at,
              cc_err *err)
{
    pthread_mutex_lock(&w->lock);
    cc_code rc = CC_OK;
    persist_update *u = NULL;
    bool *dup = n > 0 ? cc_calloc(n, sizeof *dup) : NULL;
    persist_shard **gone = n > 0 ? cc_malloc(n * sizeof *gone) : NULL;
    uint8_t *vals = n > 0 ? cc_malloc(n * REG_VALUE_LEN) : NULL;
    size_t m = 0, ngone = 0;
    if (n > 0 && (dup == NULL || gone == NULL || vals == NULL))
        rc = cc_err_set(err, CC_NOMEM, "out of memory forgetting data shards");
    if (rc == CC_OK)
        rc = mark_dups(shards, n, dup, err);
    /* The registrations being forgotten (unregistered shards are skipped). */
    for (size_t j = 0; rc == CC_OK && j < n; j++) {
        if (dup[j] || !txnwal__registered(w, persist_shard_id(shards[j]),
                                          vals + ngone * REG_VALUE_LEN))
            continue;
        gone[ngone++] = shards[j];
    }
    /* Mark and apply their outstanding writes first, in ts order: one pass. */
    persist_shard **sorted = NULL;
    if (rc == CC_OK && ngone > 0 && w->nwrites > 0) {
        sorted = cc_malloc(ngone * sizeof *sorted);
        if (sorted == NULL)
            rc = cc_err_set(err, CC_NOMEM, "out of memory forgetting data shards");
        else {
            memcpy(sorted, gone, ngone * sizeof *sorted);
            qsort(sorted, ngone, sizeof *sorted, ptr_cmp);
        }
    }
    size_t nw = 0;
    for (size_t i = 0; rc == CC_OK && sorted != NULL && i < w->nwrites; i++) {
        write_entry *we = &w->writes[i];
        we->forgetting = bsearch(&we->shard, sorted, ngone, sizeof *sorted, ptr_cmp) != NULL;
        if (!we->forgetting)
            continue;
        nw++;
        if (!we->applied)
            rc = apply_write(w, we, err);
    }
    cc_free(sorted);
    if (rc == CC_OK && ngone + nw > 0) {
        u = cc_malloc((ngone + nw) * sizeof *u);
        if (u == NULL)
            rc = cc_err_set(err, CC_NOMEM, "out of memory forgetting data shards");
    }
    /* Retract each registration and each of the forgotten shards' WRITE entries. */
    for (size_t k = 0; rc == CC_OK && k < ngone; k++) {
        const char *id = persist_shard_id(gone[k]);
        u[m++] = (persist_update){
            {id, strlen(id)}, {vals + k * REG_VALUE_LEN, REG_VALUE_LEN}, 0, -1};
    }
    for (size_t i = 0; rc == CC_OK && i < w->nwrites; i++) {
        if (!w->writes[i].forgetting)
            continue;
        const char *id = persist_shard_id(w->writes[i].shard);
        u[m++] = (persist_update){{id, strlen(id)}, {w->writes[i].value, w->writes[i].len}, 0, -1};
    }
    uint64_t when = 0;
    if (rc == CC_OK && m > 0)
        rc = txns_append(w, u, m, ts, NULL, NULL, &when, err);
    if (rc == CC_OK && m > 0) {
        /* Drop their writes and keep their uppers from moving back. */
        size_t keep = 0;
        for (size_t i = 0; i < w->nwrites; i++) {
            if (w->writes[i].forgetting)
                cc_free(w->writes[i].value);
            else
                w->writes[keep++] = w->writes[i];
        }
        w->nwrites = keep;
        w->registered -= ngone;
        for (size_t k = 0; rc == CC_OK && k < ngone; k++) {
            uint64_t phys = persist_shard_upper(gone[k]);
            if (phys < w->upper)
                rc = persist_compare_and_append(gone[k], NULL, 0, phys, w->upper, NULL, err);
        }
        if (at != NULL)
            *at = when;
    }
    for (size_t i = 0; i < w->nwrites; i++)
        w->writes[i].forgetting = false; /* still registered (nothing written, or NOMEM) */
    cc_free(vals);
    cc_free(gone);
    cc_free(dup);
    cc_free(u);
    pthread_mutex_unlock(&w->lock);
    return rc;
}

/* --- transactions -------------------------------------------------------------- */

cc_code
txnwal_txn_begin(txnwal *w, txnwal_txn **out, cc_err *err)
{
    txnwal_txn *t = cc_calloc(1, sizeof *t);
    if (t == NULL)
        return cc_err_set(err, CC_NOMEM, "out of memory starting a txn-wal transaction");
    t->w = w;
    *out = t;
    return CC_OK;
}

void
txnwal_txn_abort(txnwal_txn *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->nshards; i++)
        cc_free(t->shards[i].buf);
    cc_free(t->shards);
    cc_free(t);
}

static bool
buf_reserve(txn_shard *ts, size_t extra)
{
    if (ts->len + extra <= ts->cap)
        return true;
    size_t cap = ts->cap ? ts->cap : 64;
    while (cap < ts->len + extra)
        cap *= 2;
    uint8_t *nb = cc_realloc(ts->buf, cap);
    if (nb == NULL)
        return false;
    ts->buf = nb;
    ts->cap = cap;
    return true;
}

cc_code
txnwal_txn_write(txnwal_txn *t, persist_shard *shard, pmap_bytes key, pmap_bytes value,
                 int64_t diff, cc_err *err)
{
    if (diff == 0)
        return cc_err_set(err, CC_INVALID, "txn-wal write with diff 0");
    if (key.len > UINT32_MAX || value.len > UINT32_MAX)
        return cc_err_set(err, CC_INVALID, "txn-wal write too large");
    txn_shard *ts = NULL;
    for (size_t i = t->nshards; i-- > 0;) {
        if (t->shards[i].shard == shard) {
            ts = &t->shards[i];
            break;
        }
    }
    if (ts == NULL) {
        if (t->nshards == t->cap) {
            size_t cap = t->cap ? t->cap * 2 : 4;
            txn_shard *ns = cc_realloc(t->shards, cap * sizeof *ns);
            if (ns == NULL)
                return cc_err_set(err, CC_NOMEM, "out of memory buffering a txn-wal write");
            t->shards = ns;
            t->cap = cap;
        }
        ts = &t->shards[t->nshards];
        *ts = (txn_shard){shard, NULL, 0, 0, 0};
        if (!buf_reserve(ts, 13))
            return cc_err_set(err, CC_NOMEM, "out of memory buffering a txn-wal write");
        ts->len = 13; /* kind, ts and n are filled at commit */
        t->nshards++;
    }
    if (!buf_reserve(ts, 16 + key.len + value.len))
        return cc_err_set(err, CC_NOMEM, "out of memory buffering a txn-wal write");
    put_u32(ts->buf + ts->len, (uint32_t)key.len);
    ts->len += 4;
    if (key.len > 0)
        memcpy(ts->buf + ts->len, key.ptr, key.len);
    ts->len += key.len;
    put_u32(ts->buf + ts->len, (uint32_t)value.len);
    ts->len += 4;
    if (value.len > 0)
        memcpy(ts->buf + ts->len, value.ptr, value.len);
    ts->len += value.len;
    put_u64(ts->buf + ts->len, (uint64_t)diff);
    ts->len += 8;
    ts->n++;
    return CC_OK;
}

/* stamp_fn for commits: arg is the txnwal_txn whose buffers u's values are. */
static void
stamp_write(void *arg, persist_update *u, size_t n, uint64_t t)
{
    txnwal_txn *txn = arg;
    (void)u;
    for (size_t i = 0; i < n; i++) {
        txn_shard *s = &txn->shards[i];
        s->buf[0] = KIND_WRITE;
        put_u64(s->buf + 1, t);
        put_u32(s->buf + 9, s->n);
    }
}

cc_code
txnwal_commit(txnwal_txn *t, uint64_t ts, uint64_t *at, cc_err *err)
{
    txnwal *w = t->w;
    pthread_mutex_lock(&w->lock);
    cc_code rc = CC_OK;
    for (size_t i = 0; i < t->nshards; i++) {
        if (!txnwal__registered(w, persist_shard_id(t->shards[i].shard), NULL)) {
            rc = cc_err_set(err, CC_INVALID, "data shard \"%s\" is not registered with txn-wal",
                            persist_shard_id(t->shards[i].shard));
            goto done;
        }
    }
    persist_update *u = t->nshards > 0 ? cc_malloc(t->nshards * sizeof *u) : NULL;
    if (t->nshards > 0 && u == NULL) {
        rc = cc_err_set(err, CC_NOMEM, "out of memory committing a txn-wal transaction");
        goto done;
    }
    /* Each attempt stamps its time into the WRITE values (stamp_write). */
    uint64_t when;
    for (size_t i = 0; i < t->nshards; i++) {
        const char *id = persist_shard_id(t->shards[i].shard);
        u[i] = (persist_update){{id, strlen(id)}, {t->shards[i].buf, t->shards[i].len}, 0, 1};
    }
    rc = txns_append(w, u, t->nshards, ts, stamp_write, t, &when, err);
    cc_free(u);
    for (size_t i = 0; rc == CC_OK && i < t->nshards; i++) {
        rc = writes_push(w, t->shards[i].shard, when, t->shards[i].buf, t->shards[i].len, err);
        if (rc == CC_OK)
            t->shards[i].buf = NULL; /* now owned by the cache */
    }
    if (rc == CC_OK) {
        w->commits++;
        if (at != NULL)
            *at = when;
    }
done:
    pthread_mutex_unlock(&w->lock);
    txnwal_txn_abort(t);
    return rc;
}

/* --- reads, apply, tidy ---------------------------------------------------------- */

uint64_t
txnwal_logical_upper(txnwal *w, persist_shard *shard)
{
    uint64_t phys = persist_shard_upper(shard);
    pthread_mutex_lock(&w->lock);
    uint64_t logical = phys;
    if (w->upper > logical && txnwal__registered(w, persist_shard_id(shard), NULL))
        logical = w->upper;
    pthread_mutex_unlock(&w->lock);
    return logical;
}

/* Copies one committed write into its data shard unless already there. Under w->lock. */
static cc_code
apply_write(txnwal *w, write_entry *we, cc_err *err)
{
    (void)w;
    uint64_t phys = persist_shard_upper(we->shard);
    if (phys > we->ts) {
        we->applied = true;
        return CC_OK;
    }
    persist_update *u = NULL;
    size_t n = 0;
    cc_code rc = decode_write(we->value, we->len, we->ts, &u, &n, err);
    if (rc != CC_OK)
        return rc;
    rc = persist_compare_and_append(we->shard, u, n, phys, we->ts + 1, NULL, err);
    cc_free(u);
    if (rc == CC_OK)
        we->applied = true;
    return rc;
}

cc_code
txnwal_apply_le(txnwal *w, uint64_t ts, cc_err *err)
{
    pthread_mutex_lock(&w->lock);
    cc_code rc = CC_OK;
    for (size_t i = 0; rc == CC_OK && i < w->nwrites && w->writes[i].ts <= ts; i++)
        if (!w->writes[i].applied)
            rc = apply_write(w, &w->writes[i], err);
    pthread_mutex_unlock(&w->lock);
    return rc;
}

cc_code
txnwal_tidy(txnwal *w, cc_err *err)
{
    pthread_mutex_lock(&w->lock);
    size_t m = 0;
    for (size_t i = 0; i < w->nwrites; i++)
        m += w->writes[i].applied;
    cc_code rc = CC_OK;
    if (m == 0)
        goto done;
    persist_update *u = cc_malloc(m * sizeof *u);
    if (u == NULL) {
        rc = cc_err_set(err, CC_NOMEM, "out of memory tidying txn-wal");
        goto done;
    }
    m = 0;
    for (size_t i = 0; i < w->nwrites; i++) {
        if (!w->writes[i].applied)
            continue;
        const char *id = persist_shard_id(w->writes[i].shard);
        u[m++] = (persist_update){{id, strlen(id)}, {w->writes[i].value, w->writes[i].len}, 0, -1};
    }
    uint64_t when;
    rc = txns_append(w, u, m, w->upper, NULL, NULL, &when, err);
    cc_free(u);
    if (rc == CC_OK) {
        size_t keep = 0;
        for (size_t i = 0; i < w->nwrites; i++) {
            if (w->writes[i].applied)
                cc_free(w->writes[i].value);
            else
                w->writes[keep++] = w->writes[i];
        }
        w->nwrites = keep;
        /* Only the snapshot at upper - 1 is ever read (txnwal_open): let the
         * txns shard drop its history, so memory and rollups stay O(outstanding). */
        rc = persist_downgrade_since(w->txns, w->upper - 1, err);
    }
done:
    pthread_mutex_unlock(&w->lock);
    return rc;
}

cc_code
txnwal_snapshot(txnwal *w, persist_shard *shard, uint64_t as_of, persist_snapshot_fn fn, void *arg,
                cc_err *err)
{
    pthread_mutex_lock(&w->lock);
    cc_code rc = CC_OK;
    bool registered = txnwal__registered(w, persist_shard_id(shard), NULL);
    uint64_t phys = persist_shard_upper(shard);
    uint64_t logical = registered && w->upper > phys ? w->upper : phys;
    if (as_of >= logical) {
        pthread_mutex_unlock(&w->lock);
        return cc_err_set(
            err, CC_INVALID, "snapshot as of %llu of shard \"%s\" is not complete (upper %llu)",
            (unsigned long long)as_of, persist_shard_id(shard), (unsigned long long)logical);
    }
    for (size_t i = 0; rc == CC_OK && i < w->nwrites && w->writes[i].ts <= as_of; i++)
        if (w->writes[i].shard == shard && !w->writes[i].applied)
            rc = apply_write(w, &w->writes[i], err);
    /* Every write <= as_of is now physical; the rest of [phys, as_of] holds none. */
    phys = persist_shard_upper(shard);
    if (rc == CC_OK && phys <= as_of)
        rc = persist_compare_and_append(shard, NULL, 0, phys, as_of + 1, NULL, err);
    pthread_mutex_unlock(&w->lock);
    if (rc != CC_OK)
        return rc;
    return persist_snapshot(shard, as_of, fn, arg, err);
}

void
txnwal_stats_get(txnwal *w, txnwal_stats *out)
{
    pthread_mutex_lock(&w->lock);
    out->registered = w->registered;
    out->upper = w->upper;
    out->unapplied = 0;
    for (size_t i = 0; i < w->nwrites; i++)
        out->unapplied += !w->writes[i].applied;
    out->txns_entries = out->registered + w->nwrites;
    out->commits = w->commits;
    out->retries = w->retries;
    pthread_mutex_unlock(&w->lock);
}
