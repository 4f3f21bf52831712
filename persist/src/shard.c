/*
 * persist/src/shard.c — shards over a backend: compare_and_append, the
 * consolidated trace, snapshots, listeners and since (replay of the log and
 * rollups at open is in replay.c).
 *
 * State of a shard (all under s->lock):
 *
 *   upper, since          the frontiers (see persist.h)
 *   trace                 pmap_omap line: enc(key, value) -> net diff of every
 *                         update with ts < upper; zero diffs are removed
 *   hist[0..nhist)        the appends whose range reaches since or above
 *                         (ts >= since possible), oldest first, each an
 *                         immutable refcounted copy: for snapshots below upper
 *                         and for listeners starting in the past
 *   listeners             called after each durable append
 *
 * A compare_and_append validates, encodes one PersistRecord, hands it to the
 * backend (backend.h; file: the wal, group-committed across shards; mem:
 * nothing) while holding the shard lock, and applies it to memory only once
 * it is durable, so memory never runs ahead of disk and a failed write — or a
 * mismatch reported by a backend shared with other writers — changes nothing.
 *
 * Rollups: appends hold c->gate for reading from before their backend write
 * until their in-memory apply; a rollup takes it for writing just long enough
 * to start a new log segment and capture O(1) views of every trace (pmap
 * clones) plus references to the history. The capture therefore holds exactly
 * the appends acknowledged before the mark, and the rollup file is written
 * from the views while appends go on.
 *
 * Trace keys encode (key, value) order-preservingly: key bytes with 0x00
 * escaped as 0x00 0xff, a 0x00 0x00 terminator, then the value bytes. So the
 * trace iterates in (key, value) order.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "persist/persist.h"
#include "persist_int.h"
#include "pmap/hamt.h"
#include "proto/persist.pb-c.h"

static const pmap_omap_type trace_type = {NULL};

/* --- trace key encoding ------------------------------------------------------ */

static size_t
enc_len(pmap_bytes key, pmap_bytes value)
{
    size_t n = key.len + 2 + value.len;
    const uint8_t *k = key.ptr;
    for (size_t i = 0; i < key.len; i++)
        n += k[i] == 0;
    return n;
}

static void
enc_write(uint8_t *out, pmap_bytes key, pmap_bytes value)
{
    const uint8_t *k = key.ptr;
    for (size_t i = 0; i < key.len; i++) {
        *out++ = k[i];
        if (k[i] == 0)
            *out++ = 0xff;
    }
    *out++ = 0;
    *out++ = 0;
    if (value.len > 0)
        memcpy(out, value.ptr, value.len);
}

bool
persist_trace_decode(pmap_bytes enc, pmap_bytes *key, pmap_bytes *value)
{
    /* Find the 0x00 0x00 terminator, stepping over 0x00 0xff escapes (which
     * stay in *key: see persist_trace_decode_copy). */
    const uint8_t *p = enc.ptr;
    for (size_t i = 0; i + 1 < enc.len; i++) {
        if (p[i] != 0)
            continue;
        if (p[i + 1] == 0xff) {
            i++;
            continue;
        }
        if (p[i + 1] != 0)
            return false;
        *key = (pmap_bytes){p, i};
        *value = (pmap_bytes){p + i + 2, enc.len - i - 2};
        return true;
    }
    return false;
}

bool
persist_trace_decode_copy(pmap_bytes enc, uint8_t *buf, pmap_bytes *key, pmap_bytes *value)
{
    pmap_bytes k, v;
    if (!persist_trace_decode(enc, &k, &v))
        return false;
    const uint8_t *p = k.ptr;
    size_t n = 0;
    for (size_t i = 0; i < k.len; i++) {
        buf[n++] = p[i];
        if (p[i] == 0)
            i++; /* skip the 0xff escape */
    }
    *key = (pmap_bytes){buf, n};
    *value = v;
    return true;
}

/* --- history ------------------------------------------------------------------- */

hist_entry *
persist__hist_new(const persist_update *u, size_t n, uint64_t lower, uint64_t upper)
{
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++)
        bytes += u[i].key.len + u[i].value.len;
    hist_entry *h = cc_malloc(sizeof *h + bytes);
    if (h == NULL)
        return NULL;
    h->updates = n > 0 ? cc_malloc(n * sizeof *h->updates) : NULL;
    if (n > 0 && h->updates == NULL) {
        cc_free(h);
        return NULL;
    }
    h->refs = 1;
    h->lower = lower;
    h->upper = upper;
    h->n = n;
    uint8_t *p = h->blob;
    for (size_t i = 0; i < n; i++) {
        h->updates[i] = u[i];
        if (u[i].key.len > 0)
            memcpy(p, u[i].key.ptr, u[i].key.len);
        h->updates[i].key.ptr = p;
        p += u[i].key.len;
        if (u[i].value.len > 0)
            memcpy(p, u[i].value.ptr, u[i].value.len);
        h->updates[i].value.ptr = p;
        p += u[i].value.len;
    }
    return h;
}

void
persist__hist_unref(hist_entry *h)
{
    if (__atomic_sub_fetch(&h->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        cc_free(h->updates);
        cc_free(h);
    }
}

/* Drops retained appends that lie wholly below since. Under s->lock. */
void
persist__hist_compact(persist_shard *s)
{
    size_t drop = 0;
    while (drop < s->nhist && s->hist[drop]->upper <= s->since)
        persist__hist_unref(s->hist[drop++]);
    if (drop == 0)
        return;
    memmove(s->hist, s->hist + drop, (s->nhist - drop) * sizeof *s->hist);
    s->nhist -= drop;
}

/* --- applying updates to memory -------------------------------------------------- */

/* One entry of a sorted rebuild: an encoded trace key in the arena, its diff. */
typedef struct sort_ent {
    size_t off, len;
    int64_t diff;
} sort_ent;

/* Orders entries by their encoded key (memcmp, shorter first: omap order); arg: the arena. */
static int
sort_ent_cmp(const void *a, const void *b, void *arg)
{
    const uint8_t *arena = arg;
    const sort_ent *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = n > 0 ? memcmp(arena + x->off, arena + y->off, n) : 0;
    return c != 0 ? c : (x->len > y->len) - (x->len < y->len);
}

/*
 * Rebuilds the trace from scratch: every entry of the trace and the new
 * updates are copied into an array, sorted (unless they already are),
 * summed per key (zero sums dropped), and the map is bulk-built anew and
 * replaces the old one in t. Two uses:
 *   - PERSIST_TRACE_SORT, an ablation for benchmarks: consolidation the way
 *     the design avoids, O(n log n) per live append (empty ones included;
 *     replay at open stays incremental, so reopening an ablated catalog is
 *     not O(appends * n));
 *   - a large append to an empty trace (a rollup replayed at open, a
 *     restore): one O(n) build from sorted input instead of n searches and
 *     inserts, each a few cache misses deep.
 * On failure the caller restores the trace (trace_fold).
 */
static cc_code
trace_resort(persist_shard *s, pmap_txn *t, const persist_update *u, size_t n, cc_err *err)
{
    size_t total = pmap_omap_count(&s->trace) + n, bytes = 0;
    pmap_omap_cursor c;
    pmap_bytes k;
    void *v;
    for (bool ok = pmap_omap_seek_first(&c, &s->trace); ok; ok = pmap_omap_cursor_next(&c)) {
        pmap_omap_cursor_get(&c, &k, NULL);
        bytes += k.len;
    }
    for (size_t i = 0; i < n; i++)
        bytes += enc_len(u[i].key, u[i].value);
    sort_ent *e = cc_malloc((total + 1) * sizeof *e);
    uint8_t *arena = cc_malloc(bytes + 1);
    pmap_bytes *keys = cc_malloc((total + 1) * sizeof *keys);
    void **vals = cc_malloc((total + 1) * sizeof *vals);
    cc_code rc = CC_OK;
    if (e == NULL || arena == NULL || keys == NULL || vals == NULL) {
        rc = cc_err_set(err, CC_NOMEM, "out of memory sorting the trace of shard \"%s\"", s->id);
        goto out;
    }
    size_t ne = 0, off = 0;
    for (bool ok = pmap_omap_seek_first(&c, &s->trace); ok; ok = pmap_omap_cursor_next(&c)) {
        pmap_omap_cursor_get(&c, &k, &v);
        memcpy(arena + off, k.ptr, k.len);
        e[ne++] = (sort_ent){off, k.len, (int64_t)(intptr_t)v};
        off += k.len;
    }
    for (size_t i = 0; i < n; i++) {
        size_t len = enc_len(u[i].key, u[i].value);
        enc_write(arena + off, u[i].key, u[i].value);
        e[ne++] = (sort_ent){off, len, u[i].diff};
        off += len;
    }
    bool sorted = true; /* a rollup's trace is written in order: no sort needed */
    for (size_t i = 1; i < ne && sorted; i++)
        sorted = sort_ent_cmp(&e[i - 1], &e[i], arena) < 0;
    if (!sorted)
        qsort_r(e, ne, sizeof *e, sort_ent_cmp, arena);
    size_t m = 0;
    for (size_t i = 0; i < ne;) {
        size_t j = i;
        int64_t sum = 0;
        for (; j < ne && sort_ent_cmp(&e[i], &e[j], arena) == 0; j++)
            sum += e[j].diff;
        if (sum != 0) {
            keys[m] = (pmap_bytes){arena + e[i].off, e[i].len};
            vals[m++] = (void *)(intptr_t)sum;
        }
        i = j;
    }
    pmap_omap fresh;
    pmap_omap_init(&fresh, s->c->domain, &trace_type);
    rc = pmap_omap_build(t, &fresh, keys, vals, m, err);
    if (rc == CC_OK)
        rc = pmap_omap_drop(t, &s->trace, err);
    if (rc != CC_OK)
        goto out;
    s->trace = fresh;
out:
    cc_free(e);
    cc_free(arena);
    cc_free(keys);
    cc_free(vals);
    return rc;
}

static bool
resorting(const persist_shard *s)
{
    return s->c->opts.trace == PERSIST_TRACE_SORT && !s->c->replaying;
}

/*
 * Folds updates into s->trace inside t, which the caller commits — or aborts,
 * restoring the trace it saved, on failure. Under the PERSIST_TRACE_SORT
 * ablation the trace is rebuilt by sorting instead (trace_resort).
 */
/* Updates into an empty trace from which on trace_fold bulk-builds it (trace_resort). */
#define TRACE_BULK_MIN 4096

static cc_code
trace_fold(persist_shard *s, pmap_txn *t, const persist_update *u, size_t n, cc_err *err)
{
    if (resorting(s)) {
        __atomic_add_fetch(&s->c->trace_sorts, 1, __ATOMIC_RELAXED);
        return trace_resort(s, t, u, n, err);
    }
    if (n >= TRACE_BULK_MIN && pmap_omap_count(&s->trace) == 0)
        return trace_resort(s, t, u, n, err);
    cc_code rc = CC_OK;
    uint8_t stack[256];
    for (size_t i = 0; i < n && rc == CC_OK; i++) {
        size_t len = enc_len(u[i].key, u[i].value);
        uint8_t *buf = len <= sizeof stack ? stack : cc_malloc(len);
        if (buf == NULL)
            return cc_err_set(err, CC_NOMEM, "out of memory applying an update to shard \"%s\"",
                              s->id);
        enc_write(buf, u[i].key, u[i].value);
        int64_t cur = (int64_t)(intptr_t)pmap_omap_find(&s->trace, buf, len);
        int64_t next = cur + u[i].diff;
        if (next == 0)
            rc = pmap_omap_del(t, &s->trace, buf, len, NULL, err);
        else
            rc = pmap_omap_put(t, &s->trace, buf, len, (void *)(intptr_t)next, NULL, err);
        if (buf != stack)
            cc_free(buf);
    }
    return rc;
}

/* Folds updates into the trace in one pmap transaction. On NOMEM the trace is left as it was. */
cc_code
persist__trace_apply(persist_shard *s, const persist_update *u, size_t n, cc_err *err)
{
    if (n == 0 && !resorting(s)) /* the ablation re-sorts on empty appends too */
        return CC_OK;
    pmap_omap before = s->trace;
    pmap_txn *t;
    cc_code rc = pmap_txn_begin(s->c->domain, &t, err);
    if (rc != CC_OK)
        return rc;
    if ((rc = trace_fold(s, t, u, n, err)) != CC_OK) {
        pmap_txn_abort(t);
        s->trace = before;
        return rc;
    }
    pmap_txn_commit(t);
    return CC_OK;
}

cc_code
persist__shard_prepare(persist_shard *s, const persist_update *u, size_t n, uint64_t lower,
                       uint64_t upper, shard_prep *p, cc_err *err)
{
    *p = (shard_prep){.s = s, .before = s->trace, .lower = lower, .upper = upper};
    if (s->nhist == s->hist_cap) { /* room for the entry; harmless if the append then fails */
        size_t cap = s->hist_cap ? s->hist_cap * 2 : 8;
        hist_entry **nh = cc_realloc(s->hist, cap * sizeof *nh);
        if (nh == NULL)
            goto nomem;
        s->hist = nh;
        s->hist_cap = cap;
    }
    if ((p->h = persist__hist_new(u, n, lower, upper)) == NULL)
        goto nomem;
    if (n == 0 && !resorting(s))
        return CC_OK;
    cc_code rc = pmap_txn_begin(s->c->domain, &p->t, err);
    if (rc == CC_OK && (rc = trace_fold(s, p->t, u, n, err)) == CC_OK)
        return CC_OK;
    persist__shard_unprepare(p);
    return rc;
nomem:
    persist__shard_unprepare(p);
    return cc_err_set(err, CC_NOMEM, "out of memory preparing an append to shard \"%s\"", s->id);
}

void
persist__shard_unprepare(shard_prep *p)
{
    if (p->t != NULL) {
        pmap_txn_abort(p->t);
        p->s->trace = p->before;
    }
    if (p->h != NULL)
        persist__hist_unref(p->h);
    *p = (shard_prep){0};
}

void
persist__shard_publish(shard_prep *p)
{
    persist_shard *s = p->s;
    if (p->t != NULL)
        pmap_txn_commit(p->t);
    hist_entry *h = p->h;
    s->hist[s->nhist++] = h; /* prepare made the room */
    s->upper = p->upper;
    persist__hist_compact(s);
    for (persist_listener *l = s->listeners; l != NULL; l = l->next)
        l->fn(l->arg, h->updates, h->n, p->lower, p->upper);
    *p = (shard_prep){0};
}

cc_code
persist__shard_apply(persist_shard *s, const persist_update *u, size_t n, uint64_t lower,
                     uint64_t upper, cc_err *err)
{
    shard_prep p;
    cc_code rc = persist__shard_prepare(s, u, n, lower, upper, &p, err);
    if (rc == CC_OK)
        persist__shard_publish(&p);
    return rc;
}

/* --- records ---------------------------------------------------------------------- */

/* Encodes a PersistRecord into a new buffer (*out, *len). */
cc_code
persist__record_pack(const Cowcat__Persist__PersistRecord *r, uint8_t **out, size_t *len,
                     cc_err *err)
{
    size_t n = protobuf_c_message_get_packed_size(&r->base);
    uint8_t *buf = cc_malloc(n > 0 ? n : 1);
    if (buf == NULL)
        return cc_err_set(err, CC_NOMEM, "out of memory encoding a persist record");
    protobuf_c_message_pack(&r->base, buf);
    *out = buf;
    *len = n;
    return CC_OK;
}

/* Makes one encoded record durable through the backend (see backend.h). */
static cc_code
backend_write(persist_client *c, const persist_event *ev, const uint8_t *rec, size_t len,
              uint64_t *current, cc_err *err)
{
    return c->backend.ops->append(c->backend.be, ev, rec, len, current, err);
}

/* --- shards --------------------------------------------------------------------- */

static persist_shard *
shard_find(persist_client *c, const char *id)
{
    pthread_mutex_lock(&c->lock);
    persist_shard *s = pmap_hamt_find_bytes(&c->shards, id, strlen(id));
    pthread_mutex_unlock(&c->lock);
    return s;
}

bool
persist__shard_id_is_valid(const char *id, size_t len)
{
    return len >= 1 && len <= SHARD_ID_MAX && memchr(id, 0, len) == NULL;
}

/* Creates the in-memory shard and registers it. Under c->lock. */
cc_code
persist__shard_create_locked(persist_client *c, const char *id, persist_shard **out, cc_err *err)
{
    persist_shard *s = cc_calloc(1, sizeof *s);
    char *sid = strdup(id);
    if (s == NULL || sid == NULL)
        goto nomem;
    if (c->nall == c->all_cap) {
        size_t cap = c->all_cap ? c->all_cap * 2 : 16;
        persist_shard **na = cc_realloc(c->all, cap * sizeof *na);
        if (na == NULL)
            goto nomem;
        c->all = na;
        c->all_cap = cap;
    }
    pmap_txn *t;
    if (pmap_txn_begin(c->domain, &t, err) != CC_OK)
        goto fail;
    pmap_hamt before = c->shards;
    if (pmap_hamt_put_bytes(t, &c->shards, id, strlen(id), s, NULL, err) != CC_OK) {
        pmap_txn_abort(t);
        c->shards = before;
        goto fail;
    }
    pmap_txn_commit(t);
    s->c = c;
    s->id = sid;
    pthread_mutex_init(&s->lock, NULL);
    pmap_omap_init(&s->trace, c->domain, &trace_type);
    s->slot = c->nall;
    c->all[c->nall++] = s;
    *out = s;
    return CC_OK;
nomem:
    cc_err_set(err, CC_NOMEM, "out of memory opening shard \"%s\"", id);
fail:
    free(sid);
    cc_free(s);
    return err != NULL ? err->code : CC_NOMEM;
}

cc_code
persist_shard_open(persist_client *c, const char *id, persist_shard **out, cc_err *err)
{
    size_t idlen = id != NULL ? strlen(id) : 0;
    if (!persist__shard_id_is_valid(id, idlen))
        return cc_err_set(err, CC_INVALID, "invalid shard id: must be 1 to %d bytes", SHARD_ID_MAX);
    persist_shard *s = shard_find(c, id);
    if (s != NULL) {
        *out = s;
        return CC_OK;
    }
    /* Creation is durable before the shard is visible. c->lock serialises
     * creations so one id is created once. */
    pthread_mutex_lock(&c->lock);
    s = pmap_hamt_find_bytes(&c->shards, id, idlen);
    if (s != NULL) {
        pthread_mutex_unlock(&c->lock);
        *out = s;
        return CC_OK;
    }
    Cowcat__Persist__ShardCreate create = COWCAT__PERSIST__SHARD_CREATE__INIT;
    create.shard = (char *)id;
    Cowcat__Persist__PersistRecord r = COWCAT__PERSIST__PERSIST_RECORD__INIT;
    r.kind_case = COWCAT__PERSIST__PERSIST_RECORD__KIND_CREATE;
    r.create = &create;
    uint8_t *buf = NULL;
    size_t len = 0;
    cc_code rc = persist__record_pack(&r, &buf, &len, err);
    if (rc == CC_OK) {
        pthread_rwlock_rdlock(&c->gate);
        persist_event ev = {.shard = id};
        rc = backend_write(c, &ev, buf, len, NULL, err);
        if (rc == CC_OK)
            rc = persist__shard_create_locked(c, id, &s, err);
        pthread_rwlock_unlock(&c->gate);
        cc_free(buf);
    }
    pthread_mutex_unlock(&c->lock);
    if (rc == CC_OK)
        *out = s;
    return rc;
}

const char *
persist_shard_id(const persist_shard *s)
{
    return s->id;
}

uint64_t
persist_shard_upper(persist_shard *s)
{
    pthread_mutex_lock(&s->lock);
    uint64_t u = s->upper;
    pthread_mutex_unlock(&s->lock);
    return u;
}

uint64_t
persist_shard_since(persist_shard *s)
{
    pthread_mutex_lock(&s->lock);
    uint64_t v = s->since;
    pthread_mutex_unlock(&s->lock);
    return v;
}

cc_code
persist__check_append(const persist_shard *s, const persist_update *updates, size_t n,
                      uint64_t expected_upper, uint64_t new_upper, cc_err *err)
{
    if (new_upper <= expected_upper)
        return cc_err_set(err, CC_INVALID,
                          "new upper %llu must be greater than the expected upper %llu",
                          (unsigned long long)new_upper, (unsigned long long)expected_upper);
    for (size_t i = 0; i < n; i++) {
        if (updates[i].ts < expected_upper || updates[i].ts >= new_upper)
            return cc_err_set(err, CC_INVALID,
                              "update timestamp %llu is outside [%llu, %llu) for shard \"%s\"",
                              (unsigned long long)updates[i].ts, (unsigned long long)expected_upper,
                              (unsigned long long)new_upper, s->id);
        if (updates[i].diff == 0)
            return cc_err_set(err, CC_INVALID, "update with diff 0 for shard \"%s\"", s->id);
    }
    return CC_OK;
}

cc_code
persist_compare_and_append(persist_shard *s, const persist_update *updates, size_t n,
                           uint64_t expected_upper, uint64_t new_upper, uint64_t *current,
                           cc_err *err)
{
    persist_client *c = s->c;
    cc_code rc = persist__check_append(s, updates, n, expected_upper, new_upper, err);
    if (rc != CC_OK)
        return rc;

    /* Encode outside the lock. */
    Cowcat__Persist__Update *ups = n > 0 ? cc_malloc(n * sizeof *ups) : NULL;
    Cowcat__Persist__Update **upp = n > 0 ? cc_malloc(n * sizeof *upp) : NULL;
    if (n > 0 && (ups == NULL || upp == NULL)) {
        cc_free(ups);
        cc_free(upp);
        return cc_err_set(err, CC_NOMEM, "out of memory encoding an append to shard \"%s\"", s->id);
    }
    for (size_t i = 0; i < n; i++) {
        cowcat__persist__update__init(&ups[i]);
        ups[i].key.data = (uint8_t *)updates[i].key.ptr;
        ups[i].key.len = updates[i].key.len;
        ups[i].value.data = (uint8_t *)updates[i].value.ptr;
        ups[i].value.len = updates[i].value.len;
        ups[i].ts = updates[i].ts;
        ups[i].diff = updates[i].diff;
        upp[i] = &ups[i];
    }
    Cowcat__Persist__Append app = COWCAT__PERSIST__APPEND__INIT;
    app.shard = s->id;
    app.expected_upper = expected_upper;
    app.new_upper = new_upper;
    app.n_updates = n;
    app.updates = upp;
    Cowcat__Persist__PersistRecord r = COWCAT__PERSIST__PERSIST_RECORD__INIT;
    r.kind_case = COWCAT__PERSIST__PERSIST_RECORD__KIND_APPEND;
    r.append = &app;
    uint8_t *buf = NULL;
    size_t len = 0;
    rc = persist__record_pack(&r, &buf, &len, err);
    cc_free(ups);
    cc_free(upp);
    if (rc != CC_OK)
        return rc;

    pthread_rwlock_rdlock(&c->gate);
    pthread_mutex_lock(&s->lock);
    if (s->upper != expected_upper) {
        if (current != NULL)
            *current = s->upper;
        rc = cc_err_set(err, CC_UPPER_MISMATCH,
                        "upper mismatch on shard \"%s\": expected %llu, current %llu", s->id,
                        (unsigned long long)expected_upper, (unsigned long long)s->upper);
    } else {
        persist_event ev = {.shard = s->id, .is_append = true, .expected_upper = expected_upper,
                            .new_upper = new_upper};
        uint64_t durable_upper = s->upper;
        /* Memory first, so that nothing can fail once the append is durable. */
        shard_prep prep;
        rc = persist__shard_prepare(s, updates, n, expected_upper, new_upper, &prep, err);
        if (rc == CC_OK)
            rc = backend_write(c, &ev, buf, len, &durable_upper, err);
        if (rc == CC_UPPER_MISMATCH && current != NULL)
            *current = durable_upper; /* another process moved it (shared backends) */
        if (rc == CC_OK) {
            persist__shard_publish(&prep);
            __atomic_add_fetch(&c->appends, 1, __ATOMIC_RELAXED);
        } else {
            persist__shard_unprepare(&prep);
        }
    }
    pthread_mutex_unlock(&s->lock);
    pthread_rwlock_unlock(&c->gate);
    cc_free(buf);
    if (rc == CC_OK)
        persist__maybe_rollup(c);
    return rc;
}

cc_code
persist_downgrade_since(persist_shard *s, uint64_t since, cc_err *err)
{
    persist_client *c = s->c;
    pthread_rwlock_rdlock(&c->gate);
    pthread_mutex_lock(&s->lock);
    cc_code rc = CC_OK;
    if (since > s->upper) {
        rc = cc_err_set(err, CC_INVALID, "since %llu is beyond the upper %llu of shard \"%s\"",
                        (unsigned long long)since, (unsigned long long)s->upper, s->id);
    } else if (since > s->since) {
        Cowcat__Persist__SinceDowngrade sd = COWCAT__PERSIST__SINCE_DOWNGRADE__INIT;
        sd.shard = s->id;
        sd.since = since;
        Cowcat__Persist__PersistRecord r = COWCAT__PERSIST__PERSIST_RECORD__INIT;
        r.kind_case = COWCAT__PERSIST__PERSIST_RECORD__KIND_SINCE;
        r.since = &sd;
        uint8_t *buf = NULL;
        size_t len = 0;
        rc = persist__record_pack(&r, &buf, &len, err);
        if (rc == CC_OK) {
            persist_event ev = {.shard = s->id};
            rc = backend_write(c, &ev, buf, len, NULL, err);
            cc_free(buf);
        }
        if (rc == CC_OK) {
            s->since = since;
            persist__hist_compact(s);
        }
    }
    pthread_mutex_unlock(&s->lock);
    pthread_rwlock_unlock(&c->gate);
    return rc;
}

/* --- reads --------------------------------------------------------------------- */

void
persist_shard_trace(persist_shard *s, pmap_omap *trace, uint64_t *upper)
{
    pthread_mutex_lock(&s->lock);
    pmap_omap_clone(&s->trace, trace);
    if (upper != NULL)
        *upper = s->upper;
    pthread_mutex_unlock(&s->lock);
}

void
persist_trace_release(persist_client *c, pmap_omap *trace)
{
    pmap_txn *t;
    cc_err err;
    if (pmap_txn_begin(c->domain, &t, &err) != CC_OK || pmap_omap_drop(t, trace, &err) != CC_OK) {
        /* Dropping needs one log slot; without memory we cannot even do that. */
        fprintf(stderr, "persist: out of memory releasing a trace view\n");
        abort();
    }
    pmap_txn_commit(t);
}

pmap_domain *
persist_client_domain(persist_client *c)
{
    return c->domain;
}

/* An adjustment to the trace for a snapshot below upper: enc -> -diff. */
typedef struct adj {
    uint8_t *enc;
    size_t len;
    int64_t diff;
} adj;

static int
adj_cmp(const void *a, const void *b)
{
    const adj *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->enc, y->enc, n);
    if (c != 0)
        return c;
    return (x->len > y->len) - (x->len < y->len);
}

static int
bytes_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = memcmp(a, b, n);
    if (c != 0)
        return c;
    return (alen > blen) - (alen < blen);
}

cc_code
persist_snapshot(persist_shard *s, uint64_t as_of, persist_snapshot_fn fn, void *arg, cc_err *err)
{
    pthread_mutex_lock(&s->lock);
    if (as_of < s->since || as_of >= s->upper) {
        uint64_t since = s->since, upper = s->upper;
        pthread_mutex_unlock(&s->lock);
        return cc_err_set(err, CC_INVALID,
                          "snapshot as of %llu of shard \"%s\" is outside [since %llu, upper %llu)",
                          (unsigned long long)as_of, s->id, (unsigned long long)since,
                          (unsigned long long)upper);
    }
    /* Updates after as_of are subtracted from the trace (sorted adjustments). */
    size_t nadj = 0, cap = 0;
    adj *adjs = NULL;
    cc_code rc = CC_OK;
    for (size_t h = 0; h < s->nhist && rc == CC_OK; h++) {
        const hist_entry *e = s->hist[h];
        for (size_t i = 0; i < e->n; i++) {
            if (e->updates[i].ts <= as_of)
                continue;
            if (nadj == cap) {
                cap = cap ? cap * 2 : 16;
                adj *na = cc_realloc(adjs, cap * sizeof *na);
                if (na == NULL) {
                    rc = cc_err_set(err, CC_NOMEM, "out of memory taking a snapshot");
                    break;
                }
                adjs = na;
            }
            size_t len = enc_len(e->updates[i].key, e->updates[i].value);
            uint8_t *b = cc_malloc(len);
            if (b == NULL) {
                rc = cc_err_set(err, CC_NOMEM, "out of memory taking a snapshot");
                break;
            }
            enc_write(b, e->updates[i].key, e->updates[i].value);
            adjs[nadj++] = (adj){b, len, -e->updates[i].diff};
        }
    }
    pmap_omap view;
    if (rc == CC_OK)
        pmap_omap_clone(&s->trace, &view);
    pthread_mutex_unlock(&s->lock);
    if (rc != CC_OK)
        goto done;
    if (nadj > 1)
        qsort(adjs, nadj, sizeof *adjs, adj_cmp);

    /* Merge the trace view with the adjustments, in encoded order. */
    size_t ai = 0;
    pmap_omap_cursor cur;
    bool have = pmap_omap_seek_first(&cur, &view);
    uint8_t *scratch = NULL;
    size_t scratch_cap = 0;
    int stop = 0;
    while (!stop && (have || ai < nadj)) {
        pmap_bytes enc = {NULL, 0};
        void *val = NULL;
        if (have)
            pmap_omap_cursor_get(&cur, &enc, &val);
        int c;
        if (!have)
            c = 1;
        else if (ai >= nadj)
            c = -1;
        else
            c = bytes_cmp(enc.ptr, enc.len, adjs[ai].enc, adjs[ai].len);
        int64_t diff;
        pmap_bytes which;
        if (c < 0) {
            diff = (int64_t)(intptr_t)val;
            which = enc;
            have = pmap_omap_cursor_next(&cur);
        } else {
            diff = c == 0 ? (int64_t)(intptr_t)val : 0;
            which = (pmap_bytes){adjs[ai].enc, adjs[ai].len};
            while (ai < nadj && adj_cmp(&adjs[ai], &(adj){(uint8_t *)which.ptr, which.len, 0}) == 0)
                diff += adjs[ai++].diff;
            if (c == 0)
                have = pmap_omap_cursor_next(&cur);
        }
        if (diff == 0)
            continue;
        if (scratch_cap < which.len) {
            uint8_t *ns = cc_realloc(scratch, which.len);
            if (ns == NULL) {
                rc = cc_err_set(err, CC_NOMEM, "out of memory taking a snapshot");
                break;
            }
            scratch = ns;
            scratch_cap = which.len;
        }
        pmap_bytes k, v;
        if (!persist_trace_decode_copy(which, scratch, &k, &v)) {
            rc = cc_err_set(err, CC_CORRUPT, "malformed trace key in shard \"%s\"", s->id);
            break;
        }
        stop = fn(arg, k, v, diff);
    }
    cc_free(scratch);
    persist_trace_release(s->c, &view);
done:
    for (size_t i = 0; i < nadj; i++)
        cc_free(adjs[i].enc);
    cc_free(adjs);
    return rc;
}

cc_code
persist_listen(persist_shard *s, uint64_t from, persist_listen_fn fn, void *arg,
               persist_listener **out, cc_err *err)
{
    persist_listener *l = cc_calloc(1, sizeof *l);
    if (l == NULL)
        return cc_err_set(err, CC_NOMEM, "out of memory starting a listener");
    l->s = s;
    l->fn = fn;
    l->arg = arg;
    pthread_mutex_lock(&s->lock);
    if (from < s->since || from > s->upper) {
        uint64_t since = s->since, upper = s->upper;
        pthread_mutex_unlock(&s->lock);
        cc_free(l);
        return cc_err_set(
            err, CC_INVALID, "listen from %llu on shard \"%s\" is outside [since %llu, upper %llu]",
            (unsigned long long)from, s->id, (unsigned long long)since, (unsigned long long)upper);
    }
    /* Replay retained appends reaching at or past `from`, trimmed to ts >= from. */
    for (size_t h = 0; h < s->nhist; h++) {
        const hist_entry *e = s->hist[h];
        if (e->upper <= from)
            continue;
        size_t first = 0, cnt = 0;
        persist_update *sel = e->n > 0 ? cc_malloc(e->n * sizeof *sel) : NULL;
        if (e->n > 0 && sel == NULL) {
            pthread_mutex_unlock(&s->lock);
            cc_free(l);
            return cc_err_set(err, CC_NOMEM, "out of memory starting a listener");
        }
        for (size_t i = first; i < e->n; i++)
            if (e->updates[i].ts >= from)
                sel[cnt++] = e->updates[i];
        fn(arg, sel, cnt, e->lower > from ? e->lower : from, e->upper);
        cc_free(sel);
    }
    l->next = s->listeners;
    s->listeners = l;
    pthread_mutex_unlock(&s->lock);
    *out = l;
    return CC_OK;
}

void
persist_listen_stop(persist_listener *l)
{
    if (l == NULL)
        return;
    persist_shard *s = l->s;
    pthread_mutex_lock(&s->lock);
    for (persist_listener **p = &s->listeners; *p != NULL; p = &(*p)->next) {
        if (*p == l) {
            *p = l->next;
            break;
        }
    }
    pthread_mutex_unlock(&s->lock);
    cc_free(l);
}
