/*
 * persist/src/txnwal_stage.c — txn-wal by data shard id: lookups, the
 * registration check, and staging REGISTER/FORGET (and the keepalive that
 * advances every registered shard) into a caller's persist_batch (see
 * persist/txnwal.h).
 *
 * The registry is the txns shard's trace (txnwal_int.h). A stage holds
 * w->lock from txnwal_stage_begin to txnwal_stage_commit / abort and keeps
 * its own changes — stage_entry: a staged REGISTER, or a FORGET with the
 * value it retracts — in an overlay that txnwal__registered consults before
 * the trace: the entry lists themselves while they are short (a DDL stages
 * one or two), a hash map id -> latest entry in a pmap transaction of its
 * own beyond OVERLAY_LINEAR entries (a DROP SCHEMA CASCADE, adoption at
 * open). The overlay is private to the stage and thrown away at its end
 * either way (pmap_txn_abort frees everything the transaction made): once
 * the batch is durable, the trace holds the same facts. So txnwal_stage_commit, which
 * runs after the caller's batch is durable, allocates nothing and cannot
 * fail. Any failed staging call poisons the stage: only abort is allowed.
 */
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "pmap/hamt.h"
#include "txnwal_int.h"

/* One staged change of the registry. */
/* Staged entries looked up by a scan of the lists, before the overlay map is built. */
#define OVERLAY_LINEAR 16

typedef struct stage_entry {
    bool gone;                     /* a FORGET (else a REGISTER) */
    uint32_t seq;                  /* staging order: of two entries for one id, the later wins */
    uint8_t value[REG_VALUE_LEN];  /* REGISTER: stamped by stage_add; FORGET: retracted */
    char id[];                     /* the data shard id */
} stage_entry;

struct txnwal_stage {
    txnwal *w;
    pmap_txn *pt;        /* the overlay map's transaction (NULL: not built, scan the lists) */
    pmap_hamt overlay;   /* id -> stage_entry * (the latest change of that id) */
    uint32_t seq;        /* entries staged so far */
    stage_entry **adds;  /* staged REGISTERs (owned) */
    size_t nadds, acap;
    stage_entry **gone;  /* staged FORGETs (owned) */
    size_t ngone, gcap;
    persist_update *u;   /* the txns append's updates (stage_add; borrowed by the batch) */
    bool added;          /* stage_add ran */
    bool poisoned;       /* a staging call failed: only abort is allowed */
    uint64_t at;         /* the commit time: the txns append is [at, at + 1) */
};

static const pmap_hamt_type overlay_type = {.key_kind = PMAP_KEY_BYTES};

/* The stage's latest entry for id, or NULL. */
static stage_entry *
overlay_find(const txnwal_stage *st, const char *id)
{
    if (st->pt != NULL)
        return pmap_hamt_find_bytes(&st->overlay, id, strlen(id));
    stage_entry *best = NULL;
    for (size_t i = 0; i < st->nadds + st->ngone; i++) {
        stage_entry *e = i < st->nadds ? st->adds[i] : st->gone[i - st->nadds];
        if ((best == NULL || e->seq > best->seq) && strcmp(e->id, id) == 0)
            best = e;
    }
    return best;
}

bool
txnwal__registered(txnwal *w, const char *id, uint8_t *value)
{
    size_t n = strlen(id);
    txnwal_stage *st = w->stage;
    if (st != NULL) {
        const stage_entry *e = overlay_find(st, id);
        if (e != NULL) {
            if (!e->gone && value != NULL)
                memcpy(value, e->value, REG_VALUE_LEN);
            return !e->gone;
        }
    }
    uint8_t v[REG_VALUE_LEN];
    size_t len;
    int64_t diff;
    if (!persist_shard_lookup(w->txns, (pmap_bytes){id, n}, v, sizeof v, &len, &diff))
        return false;
    /* REGISTER (kind 1) sorts before an id's WRITE entries (kind 2). */
    if (len != REG_VALUE_LEN || v[0] != KIND_REGISTER || diff != 1)
        return false;
    if (value != NULL)
        memcpy(value, v, REG_VALUE_LEN);
    return true;
}

bool
txnwal_find_upper(txnwal *w, const char *id, uint64_t *upper)
{
    pthread_mutex_lock(&w->lock);
    bool reg = txnwal__registered(w, id, NULL);
    if (reg) {
        persist_shard *s = persist_shard_find(w->c, id);
        uint64_t phys = s != NULL ? persist_shard_upper(s) : 0;
        *upper = phys > w->upper ? phys : w->upper;
    }
    pthread_mutex_unlock(&w->lock);
    return reg;
}

bool
txnwal_is_registered(txnwal *w, const char *id)
{
    pthread_mutex_lock(&w->lock);
    bool r = txnwal__registered(w, id, NULL);
    pthread_mutex_unlock(&w->lock);
    return r;
}

cc_code
txnwal_check_registered(txnwal *w, bool (*next)(void *arg, const char **id), void *arg,
                        cc_err *err)
{
    pthread_mutex_lock(&w->lock);
    cc_code rc = CC_OK;
    uint64_t seen = 0;
    const char *id;
    while (rc == CC_OK && next(arg, &id)) {
        if (!txnwal__registered(w, id, NULL))
            rc = cc_err_set(err, CC_CORRUPT, "data shard \"%s\" is not registered with txn-wal",
                            id);
        seen++;
    }
    if (rc == CC_OK && seen != w->registered)
        rc = cc_err_set(err, CC_CORRUPT,
                        "txn-wal has %llu registered data shards, but %llu are expected",
                        (unsigned long long)w->registered, (unsigned long long)seen);
    pthread_mutex_unlock(&w->lock);
    return rc;
}

/* --- staging ------------------------------------------------------------------------ */

cc_code
txnwal_stage_begin(txnwal *w, txnwal_stage **out, cc_err *err)
{
    txnwal_stage *st = cc_calloc(1, sizeof *st);
    if (st == NULL)
        return cc_err_set(err, CC_NOMEM, "out of memory staging txn-wal work");
    pthread_mutex_lock(&w->lock);
    st->w = w;
    /* Another handle on the txns shard may have moved it: stage at its upper. */
    uint64_t phys = persist_shard_upper(w->txns);
    if (phys > w->upper)
        w->upper = phys;
    w->stage = st;
    *out = st;
    return CC_OK;
}

static int
seq_cmp(const void *a, const void *b)
{
    uint32_t x = (*(stage_entry *const *)a)->seq, y = (*(stage_entry *const *)b)->seq;
    return (x > y) - (x < y);
}

/* Builds the overlay map from the lists once they outgrow a scan. */
static cc_code
overlay_build(txnwal_stage *st, cc_err *err)
{
    size_t n = st->nadds + st->ngone;
    if (st->pt != NULL || n <= OVERLAY_LINEAR)
        return CC_OK;
    stage_entry **all = cc_malloc(n * sizeof *all);
    pmap_domain *d = persist_client_domain(st->w->c);
    cc_code rc = all == NULL ? cc_err_set(err, CC_NOMEM, "out of memory staging txn-wal work")
                             : pmap_txn_begin(d, &st->pt, err);
    if (rc == CC_OK) {
        pmap_hamt_init(&st->overlay, d, &overlay_type);
        for (size_t i = 0; i < st->nadds; i++)
            all[i] = st->adds[i];
        for (size_t i = 0; i < st->ngone; i++)
            all[st->nadds + i] = st->gone[i];
        qsort(all, n, sizeof *all, seq_cmp); /* later entries replace earlier ones */
        for (size_t i = 0; rc == CC_OK && i < n; i++)
            rc = pmap_hamt_put_bytes(st->pt, &st->overlay, all[i]->id, strlen(all[i]->id),
                                     all[i], NULL, err);
    }
    cc_free(all);
    if (rc != CC_OK)
        st->poisoned = true;
    return rc;
}

/* A new entry for id, pushed on *v (owned there) and put in the overlay. */
static cc_code
stage_put(txnwal_stage *st, const char *id, bool gone, stage_entry ***v, size_t *n, size_t *cap,
          stage_entry **out, cc_err *err)
{
    size_t len = strlen(id);
    stage_entry *e = cc_calloc(1, sizeof *e + len + 1);
    if (e != NULL && *n == *cap) {
        size_t nc = *cap ? *cap * 2 : 8;
        stage_entry **nv = cc_realloc(*v, nc * sizeof *nv);
        if (nv == NULL) {
            cc_free(e);
            e = NULL;
        } else {
            *v = nv;
            *cap = nc;
        }
    }
    if (e == NULL) {
        st->poisoned = true;
        return cc_err_set(err, CC_NOMEM, "out of memory staging data shard \"%s\"", id);
    }
    e->gone = gone;
    e->seq = st->seq++;
    memcpy(e->id, id, len + 1);
    (*v)[(*n)++] = e;
    *out = e;
    cc_code rc = CC_OK;
    if (st->pt != NULL)
        rc = pmap_hamt_put_bytes(st->pt, &st->overlay, id, len, e, NULL, err);
    else
        rc = overlay_build(st, err);
    if (rc != CC_OK)
        st->poisoned = true; /* e is owned by *v: the abort frees it */
    return rc;
}

cc_code
txnwal_stage_register(txnwal_stage *st, const char *id, cc_err *err)
{
    size_t n = id != NULL ? strlen(id) : 0;
    if (n == 0 || n > 255)
        return cc_err_set(err, CC_INVALID, "invalid data shard id: must be 1 to 255 bytes");
    if (st->added || st->poisoned)
        return cc_err_set(err, CC_INVALID, "txn-wal stage already added or failed");
    if (txnwal__registered(st->w, id, NULL))
        return cc_err_set(err, CC_EXISTS, "data shard \"%s\" is already registered with txn-wal",
                          id);
    stage_entry *e;
    return stage_put(st, id, false, &st->adds, &st->nadds, &st->acap, &e, err);
}

cc_code
txnwal_stage_forget(txnwal_stage *st, const char *id, cc_err *err)
{
    if (st->added || st->poisoned)
        return cc_err_set(err, CC_INVALID, "txn-wal stage already added or failed");
    uint8_t value[REG_VALUE_LEN];
    if (id == NULL || !txnwal__registered(st->w, id, value))
        return cc_err_set(err, CC_NOT_FOUND, "data shard \"%s\" is not registered with txn-wal",
                          id != NULL ? id : "");
    cc_code rc = CC_OK;
    stage_entry *staged = overlay_find(st, id);
    if (staged != NULL && !staged->gone) {
        /* Registered and forgotten in one stage: neither reaches the log.
         * O(adds) — a stage rarely does both to many ids. */
        for (size_t i = 0; i < st->nadds; i++)
            if (st->adds[i] == staged) {
                st->adds[i] = st->adds[--st->nadds];
                break;
            }
        if (st->pt != NULL) {
            /* The map keeps one entry per id: fall back to an earlier FORGET. */
            stage_entry *prev = NULL;
            for (size_t i = 0; i < st->ngone; i++)
                if ((prev == NULL || st->gone[i]->seq > prev->seq) &&
                    strcmp(st->gone[i]->id, id) == 0)
                    prev = st->gone[i];
            rc = prev != NULL
                     ? pmap_hamt_put_bytes(st->pt, &st->overlay, id, strlen(id), prev, NULL, err)
                     : pmap_hamt_del_bytes(st->pt, &st->overlay, id, strlen(id), NULL, err);
        }
        cc_free(staged);
        if (rc != CC_OK)
            st->poisoned = true;
        return rc;
    }
    stage_entry *e;
    rc = stage_put(st, id, true, &st->gone, &st->ngone, &st->gcap, &e, err);
    if (rc == CC_OK)
        memcpy(e->value, value, REG_VALUE_LEN);
    return rc;
}

/* Is data shard id forgotten by the stage? */
static bool
stage_forgets(const txnwal_stage *st, const char *id)
{
    const stage_entry *e = st->ngone > 0 ? overlay_find(st, id) : NULL;
    return e != NULL && e->gone;
}

cc_code
txnwal_stage_add(txnwal_stage *st, persist_batch *b, uint64_t *at, cc_err *err)
{
    txnwal *w = st->w;
    if (st->added || st->poisoned)
        return cc_err_set(err, CC_INVALID, "txn-wal stage already added or failed");
    size_t nw = 0;
    for (size_t i = 0; i < w->nwrites; i++) {
        write_entry *we = &w->writes[i];
        we->forgetting = st->ngone > 0 && stage_forgets(st, persist_shard_id(we->shard));
        nw += we->forgetting;
    }
    size_t m = st->nadds + st->ngone + nw;
    persist_update *u = cc_malloc((m + 1) * sizeof *u);
    if (u == NULL) {
        st->poisoned = true;
        return cc_err_set(err, CC_NOMEM, "out of memory staging txn-wal work");
    }
    st->u = u; /* borrowed by b until the stage ends */
    uint64_t t = w->upper;
    size_t k = 0;
    for (size_t i = 0; i < st->nadds; i++) {
        stage_entry *e = st->adds[i];
        e->value[0] = KIND_REGISTER;
        txnwal__put_u64(e->value + 1, t);
        u[k++] = (persist_update){{e->id, strlen(e->id)}, {e->value, REG_VALUE_LEN}, t, 1};
    }
    for (size_t i = 0; i < st->ngone; i++) {
        stage_entry *e = st->gone[i];
        u[k++] = (persist_update){{e->id, strlen(e->id)}, {e->value, REG_VALUE_LEN}, t, -1};
    }
    for (size_t i = 0; i < w->nwrites; i++) {
        write_entry *we = &w->writes[i];
        if (we->forgetting) {
            const char *id = persist_shard_id(we->shard);
            u[k++] = (persist_update){{id, strlen(id)}, {we->value, we->len}, t, -1};
        }
    }
    cc_code rc = persist_batch_append(b, w->txns, u, m, t, t + 1, err);
    /* Only the txns shard's latest snapshot is ever read (txnwal_open). */
    if (rc == CC_OK && t > 0)
        rc = persist_batch_since(b, w->txns, t, err);
    for (size_t i = 0; rc == CC_OK && i < st->ngone; i++) {
        persist_shard *s = persist_shard_find(w->c, st->gone[i]->id);
        if (s != NULL)
            rc = persist_batch_drop(b, s, err);
    }
    if (rc != CC_OK) {
        st->poisoned = true; /* b may hold part of the work: the caller drops it unused */
        return rc;
    }
    st->added = true;
    st->at = t;
    if (at != NULL)
        *at = t;
    return CC_OK;
}

static int
ptr_cmp(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)*(persist_shard *const *)a, y = (uintptr_t)*(persist_shard *const *)b;
    return (x > y) - (x < y);
}

/* The ablation's per-shard work: an empty append to id's data shard, since following. */
static cc_code
advance_one(txnwal_stage *st, persist_batch *b, const char *id, persist_shard *const *busy,
            size_t nbusy, size_t *done, cc_err *err)
{
    persist_shard *s;
    uint64_t next = st->at + 1;
    cc_code rc = persist_shard_open_lazy(st->w->c, id, &s, err);
    if (rc != CC_OK)
        return rc;
    if (nbusy > 0 && bsearch(&s, busy, nbusy, sizeof *busy, ptr_cmp) != NULL)
        return CC_OK; /* unapplied writes: advancing it would hide them */
    uint64_t phys = persist_shard_upper(s);
    if (phys >= next)
        return CC_OK;
    rc = persist_batch_append(b, s, NULL, 0, phys, next, err);
    if (rc == CC_OK)
        rc = persist_batch_since(b, s, next - 1, err);
    *done += rc == CC_OK;
    return rc;
}

cc_code
txnwal_stage_advance_each(txnwal_stage *st, persist_batch *b, size_t *n, cc_err *err)
{
    txnwal *w = st->w;
    if (!st->added || st->poisoned)
        return cc_err_set(err, CC_INVALID, "txnwal_stage_advance_each before txnwal_stage_add");
    persist_shard **busy = cc_malloc((w->nwrites + 1) * sizeof *busy);
    if (busy == NULL) {
        st->poisoned = true;
        return cc_err_set(err, CC_NOMEM, "out of memory advancing every data shard");
    }
    size_t nbusy = 0, done = 0;
    for (size_t i = 0; i < w->nwrites; i++)
        if (!w->writes[i].applied)
            busy[nbusy++] = w->writes[i].shard;
    if (nbusy > 1)
        qsort(busy, nbusy, sizeof *busy, ptr_cmp);
    /* Every registration: the trace's REGISTER entries not forgotten here,
     * then the ones this stage adds — the loop txn-wal exists to avoid. */
    cc_code rc = CC_OK;
    pmap_omap view;
    persist_shard_trace(w->txns, &view, NULL);
    pmap_omap_cursor cur;
    bool have = pmap_omap_seek_first(&cur, &view);
    while (rc == CC_OK && have) {
        pmap_bytes enc, key, value;
        void *v;
        char id[256];
        pmap_omap_cursor_get(&cur, &enc, &v);
        if (persist_trace_decode(enc, &key, &value) && value.len == REG_VALUE_LEN &&
            ((const uint8_t *)value.ptr)[0] == KIND_REGISTER && key.len < sizeof id) {
            memcpy(id, key.ptr, key.len);
            id[key.len] = '\0';
            if (!stage_forgets(st, id))
                rc = advance_one(st, b, id, busy, nbusy, &done, err);
        }
        have = pmap_omap_cursor_next(&cur);
    }
    persist_trace_release(w->c, &view);
    for (size_t i = 0; rc == CC_OK && i < st->nadds; i++)
        rc = advance_one(st, b, st->adds[i]->id, busy, nbusy, &done, err);
    cc_free(busy);
    if (rc != CC_OK)
        st->poisoned = true;
    if (n != NULL)
        *n = done;
    return rc;
}

/* Frees the stage's entries and overlay, releases the lock. */
static void
stage_end(txnwal_stage *st)
{
    txnwal *w = st->w;
    if (st->pt != NULL)
        pmap_txn_abort(st->pt); /* the overlay only: frees what the stage made */
    for (size_t i = 0; i < st->nadds; i++)
        cc_free(st->adds[i]);
    for (size_t i = 0; i < st->ngone; i++)
        cc_free(st->gone[i]);
    w->stage = NULL;
    pthread_mutex_unlock(&w->lock);
    cc_free(st->adds);
    cc_free(st->gone);
    cc_free(st->u);
    cc_free(st);
}

void
txnwal_stage_commit(txnwal_stage *st)
{
    txnwal *w = st->w;
    CC_ASSERT(st->added && !st->poisoned);
    if (st->ngone > 0) {
        size_t keep = 0;
        for (size_t i = 0; i < w->nwrites; i++) {
            if (w->writes[i].forgetting)
                cc_free(w->writes[i].value); /* retracted; its shard went with the batch */
            else
                w->writes[keep++] = w->writes[i];
        }
        w->nwrites = keep;
    }
    w->registered = w->registered + st->nadds - st->ngone;
    w->upper = st->at + 1;
    w->commits++;
    stage_end(st);
}

void
txnwal_stage_abort(txnwal_stage *st)
{
    if (st == NULL)
        return;
    txnwal *w = st->w;
    for (size_t i = 0; i < w->nwrites; i++)
        w->writes[i].forgetting = false;
    stage_end(st);
}
