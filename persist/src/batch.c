/*
 * persist/src/batch.c — atomic writes to several shards (persist_batch), lazy
 * shards and shard drops.
 *
 * A batch is a list of parts, one per call (append, since or drop of one
 * shard). Commit sorts the parts by (shard, kind) — the order in which it
 * takes the shards' locks, so two batches never deadlock — checks that no
 * shard has two appends or two drops, encodes ONE PersistRecord{Batch}
 * outside every lock, and then, holding
 *
 *   c->lock (only if the batch drops a shard: the shard table changes)
 *   c->gate for reading (a rollup's capture never sees half a batch)
 *   every touched shard's lock, in pointer order
 *
 * checks every expected upper and since, hands the record to the backend (one
 * log unit: one frame, one fdatasync, group-committed with other appenders),
 * and only once it is durable applies the parts: appends (trace, history,
 * listeners), since moves, drops. A failed write or check changes nothing.
 *
 *   parts (sorted)    shard A: APPEND [4, 5)     shard B: APPEND [9, 10)
 *                               SINCE 4                   DROP
 *   record            Batch { appends: A, B   sinces: A   drops: B }
 *
 * Nothing after the durable write may fail: a drop's removal from the shard
 * table is done in a pmap transaction before the write and committed (or
 * aborted) after it; the shard's memory is freed once its lock is released.
 *
 * Replay validates the whole record (expected uppers, no shard appended
 * twice, sinces within the uppers) before applying any of it, so a record
 * that does not fit the state is refused whole (CORRUPT); a torn record never
 * reaches replay (the log's frame checksum cuts it as a whole).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/assert.h"
#include "persist_int.h"

/* Part kinds, in the order a shard's parts are applied. */
typedef enum part_kind { PART_APPEND = 0, PART_SINCE = 1, PART_DROP = 2 } part_kind;

typedef struct batch_part {
    persist_shard *s;
    part_kind kind;
    size_t seq;                 /* the order of the calls (mismatch reporting) */
    const persist_update *u;    /* APPEND: borrowed */
    size_t n;                   /* APPEND: number of updates */
    uint64_t lower, upper;      /* APPEND: [expected_upper, new_upper); SINCE: upper = since */
} batch_part;

struct persist_batch {
    persist_client *c;
    batch_part *parts;
    size_t nparts, cap;
};

cc_code
persist_batch_new(persist_client *c, persist_batch **out, cc_err *err)
{
    persist_batch *b = cc_calloc(1, sizeof *b);
    if (b == NULL)
        return cc_err_set(err, CC_NOMEM, "out of memory starting a persist batch");
    b->c = c;
    *out = b;
    return CC_OK;
}

void
persist_batch_free(persist_batch *b)
{
    if (b == NULL)
        return;
    cc_free(b->parts);
    cc_free(b);
}

size_t
persist_batch_shards(const persist_batch *b)
{
    size_t n = 0;
    for (size_t i = 0; i < b->nparts; i++)
        n += b->parts[i].kind == PART_APPEND || b->parts[i].kind == PART_DROP;
    return n;
}

static cc_code
part_push(persist_batch *b, const batch_part *p, cc_err *err)
{
    if (p->s == NULL || p->s->c != b->c)
        return cc_err_set(err, CC_INVALID, "a persist batch may only hold shards of its client");
    if (b->nparts == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 8;
        batch_part *np = cc_realloc(b->parts, cap * sizeof *np);
        if (np == NULL)
            return cc_err_set(err, CC_NOMEM, "out of memory adding to a persist batch");
        b->parts = np;
        b->cap = cap;
    }
    b->parts[b->nparts] = *p;
    b->parts[b->nparts].seq = b->nparts;
    b->nparts++;
    return CC_OK;
}

cc_code
persist_batch_append(persist_batch *b, persist_shard *s, const persist_update *updates, size_t n,
                     uint64_t expected_upper, uint64_t new_upper, cc_err *err)
{
    if (n > 0 && updates == NULL)
        return cc_err_set(err, CC_INVALID, "persist_batch_append: NULL updates");
    cc_code rc = persist__check_append(s, updates, n, expected_upper, new_upper, err);
    if (rc != CC_OK)
        return rc;
    batch_part p = {.s = s, .kind = PART_APPEND, .u = updates, .n = n,
                    .lower = expected_upper, .upper = new_upper};
    return part_push(b, &p, err);
}

cc_code
persist_batch_since(persist_batch *b, persist_shard *s, uint64_t since, cc_err *err)
{
    batch_part p = {.s = s, .kind = PART_SINCE, .upper = since};
    return part_push(b, &p, err);
}

cc_code
persist_batch_drop(persist_batch *b, persist_shard *s, cc_err *err)
{
    batch_part p = {.s = s, .kind = PART_DROP};
    return part_push(b, &p, err);
}

static int
part_cmp(const void *a, const void *b)
{
    const batch_part *x = a, *y = b;
    if (x->s != y->s)
        return (uintptr_t)x->s < (uintptr_t)y->s ? -1 : 1;
    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

/* The encoded record and the message arrays behind it (one allocation: mem). */
typedef struct batch_enc {
    void *mem;
    Cowcat__Persist__Append *apps;
    Cowcat__Persist__SinceDowngrade *sds;
    Cowcat__Persist__ShardDrop *drs;
    Cowcat__Persist__Update *ups;
    Cowcat__Persist__Update **upp;
    persist_event *events; /* one per append, for backends that check uppers themselves */
    uint8_t *rec;
    size_t len;
} batch_enc;

static void
enc_fini(batch_enc *e)
{
    cc_free(e->mem);
    cc_free(e->rec);
}

/* Carves n elements of size sz (8-byte aligned) from *p. */
static void *
carve(uint8_t **p, size_t n, size_t sz)
{
    void *r = *p;
    *p += (n * sz + 7) & ~(size_t)7;
    return r;
}

static size_t
varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static uint8_t *
varint_put(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

/* Part message i of the record in field order: appends, then sinces, then drops. */
static const ProtobufCMessage *
part_msg(const batch_enc *e, size_t na, size_t ns, size_t i)
{
    if (i < na)
        return &e->apps[i].base;
    if (i < na + ns)
        return &e->sds[i - na].base;
    return &e->drs[i - na - ns].base;
}

/* Encodes the sorted parts as one PersistRecord{Batch}. */
static cc_code
encode(const persist_batch *b, batch_enc *e, cc_err *err)
{
    size_t na = 0, ns = 0, nd = 0, nu = 0;
    for (size_t i = 0; i < b->nparts; i++) {
        const batch_part *p = &b->parts[i];
        na += p->kind == PART_APPEND;
        ns += p->kind == PART_SINCE;
        nd += p->kind == PART_DROP;
        nu += p->kind == PART_APPEND ? p->n : 0;
    }
    size_t bytes = 0;
    size_t sizes[][2] = {{na, sizeof *e->apps}, {ns, sizeof *e->sds},  {nd, sizeof *e->drs},
                         {nu, sizeof *e->ups},  {nu, sizeof *e->upp}, {na, sizeof *e->events}};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
        bytes += (sizes[i][0] * sizes[i][1] + 7) & ~(size_t)7;
    uint8_t *mem = e->mem = cc_malloc(bytes + 8);
    if (mem == NULL)
        return cc_err_set(err, CC_NOMEM, "out of memory encoding a persist batch");
    e->apps = carve(&mem, na, sizeof *e->apps);
    e->sds = carve(&mem, ns, sizeof *e->sds);
    e->drs = carve(&mem, nd, sizeof *e->drs);
    e->ups = carve(&mem, nu, sizeof *e->ups);
    e->upp = carve(&mem, nu, sizeof *e->upp);
    e->events = carve(&mem, na, sizeof *e->events);
    size_t a = 0, s = 0, d = 0, u = 0;
    for (size_t i = 0; i < b->nparts; i++) {
        const batch_part *p = &b->parts[i];
        switch (p->kind) {
        case PART_APPEND: {
            Cowcat__Persist__Append *m = &e->apps[a];
            cowcat__persist__append__init(m);
            m->shard = p->s->id;
            m->expected_upper = p->lower;
            m->new_upper = p->upper;
            m->n_updates = p->n;
            m->updates = &e->upp[u];
            for (size_t k = 0; k < p->n; k++, u++) {
                Cowcat__Persist__Update *x = &e->ups[u];
                cowcat__persist__update__init(x);
                x->key = (ProtobufCBinaryData){p->u[k].key.len, (uint8_t *)p->u[k].key.ptr};
                x->value = (ProtobufCBinaryData){p->u[k].value.len, (uint8_t *)p->u[k].value.ptr};
                x->ts = p->u[k].ts;
                x->diff = p->u[k].diff;
                e->upp[u] = x;
            }
            e->events[a] = (persist_event){p->s->id, true, p->lower, p->upper, NULL, 0};
            a++;
            break;
        }
        case PART_SINCE:
            cowcat__persist__since_downgrade__init(&e->sds[s]);
            e->sds[s].shard = p->s->id;
            e->sds[s].since = p->upper;
            s++;
            break;
        case PART_DROP:
            cowcat__persist__shard_drop__init(&e->drs[d]);
            e->drs[d].shard = p->s->id;
            d++;
            break;
        }
    }
    /*
     * PersistRecord{batch = 4: Batch{appends = 1, sinces = 2, drops = 3}}
     * framed by hand around the parts packed by protobuf-c: the same bytes
     * protobuf-c would write (fields in number order), but each part's size
     * is computed once — protobuf-c sizes a nested message again at every
     * level above it, and the catalog's append is most of the record.
     */
    size_t nparts = na + ns + nd, body = 0;
    size_t *psz = cc_malloc((nparts + 1) * sizeof *psz);
    if (psz == NULL)
        return cc_err_set(err, CC_NOMEM, "out of memory encoding a persist batch");
    for (size_t i = 0; i < nparts; i++) {
        const ProtobufCMessage *m = part_msg(e, na, ns, i);
        psz[i] = protobuf_c_message_get_packed_size(m);
        body += 1 + varint_len(psz[i]) + psz[i];
    }
    size_t total = 1 + varint_len(body) + body;
    uint8_t *out = cc_malloc(total > 0 ? total : 1);
    if (out == NULL) {
        cc_free(psz);
        return cc_err_set(err, CC_NOMEM, "out of memory encoding a persist batch");
    }
    uint8_t *q = out;
    *q++ = 4 << 3 | 2; /* PersistRecord.batch, length-delimited */
    q = varint_put(q, body);
    for (size_t i = 0; i < nparts; i++) {
        const ProtobufCMessage *m = part_msg(e, na, ns, i);
        *q++ = (uint8_t)((i < na ? 1 : i < na + ns ? 2 : 3) << 3 | 2);
        q = varint_put(q, psz[i]);
        q += protobuf_c_message_pack(m, q);
    }
    CC_ASSERT((size_t)(q - out) == total);
    cc_free(psz);
    e->rec = out;
    e->len = total;
    return CC_OK;
}

/*
 * Removes shards[0..n) from the shard table in t (c->shards advanced in t;
 * the caller commits or aborts it and restores c->shards on abort).
 * Requires c->lock (or replay). Errors: NOMEM.
 */
static cc_code
table_del(persist_client *c, pmap_txn *t, persist_shard *const *shards, size_t n, cc_err *err)
{
    for (size_t i = 0; i < n; i++) {
        const char *id = shards[i]->id;
        cc_code rc = pmap_hamt_del_bytes(t, &c->shards, id, strlen(id), NULL, err);
        if (rc != CC_OK)
            return rc;
    }
    return CC_OK;
}

/* Takes s out of c->all (the last shard moves into its slot). Requires c->lock. */
static void
all_remove(persist_client *c, persist_shard *s)
{
    persist_shard *last = c->all[--c->nall];
    c->all[s->slot] = last;
    last->slot = s->slot;
}

/* Frees dropped shards (no lock of theirs held); their traces in one pmap txn. */
static void
shards_free(persist_client *c, persist_shard *const *shards, size_t n)
{
    if (n == 0)
        return;
    pmap_txn *t = NULL;
    if (pmap_txn_begin(c->domain, &t, NULL) != CC_OK)
        t = NULL; /* out of memory: the traces' nodes stay allocated */
    for (size_t i = 0; i < n; i++)
        persist__shard_free(shards[i], t);
    if (t != NULL) {
        if (pmap_txn_is_poisoned(t))
            pmap_txn_abort(t);
        else
            pmap_txn_commit(t);
    }
}

cc_code
persist_batch_commit(persist_batch *b, persist_shard **mismatch, uint64_t *current, cc_err *err)
{
    persist_client *c = b->c;
    if (b->nparts == 0)
        return CC_OK;
    if (b->nparts > 1)
        qsort(b->parts, b->nparts, sizeof *b->parts, part_cmp);
    size_t ndrops = 0, nappends = 0;
    for (size_t i = 0; i < b->nparts; i++) {
        const batch_part *p = &b->parts[i];
        if (i > 0 && p->s == b->parts[i - 1].s && p->kind == b->parts[i - 1].kind &&
            p->kind != PART_SINCE)
            return cc_err_set(err, CC_INVALID, "a persist batch %s shard \"%s\" twice",
                              p->kind == PART_APPEND ? "appends to" : "drops", p->s->id);
        ndrops += p->kind == PART_DROP;
        nappends += p->kind == PART_APPEND;
    }
    batch_enc e = {0};
    persist_shard **dropped = NULL;
    shard_prep *preps = NULL; /* one per append, in part order */
    size_t nprep = 0;
    cc_code rc = encode(b, &e, err);
    if (rc == CC_OK && ((ndrops > 0 && (dropped = cc_malloc(ndrops * sizeof *dropped)) == NULL) ||
                        (nappends > 0 && (preps = cc_calloc(nappends, sizeof *preps)) == NULL)))
        rc = cc_err_set(err, CC_NOMEM, "out of memory committing a persist batch");
    if (rc != CC_OK) {
        cc_free(dropped);
        cc_free(preps);
        enc_fini(&e);
        return rc;
    }
    ndrops = 0;
    for (size_t i = 0; i < b->nparts; i++)
        if (b->parts[i].kind == PART_DROP)
            dropped[ndrops++] = b->parts[i].s;

    if (ndrops > 0)
        pthread_mutex_lock(&c->lock);
    pthread_rwlock_rdlock(&c->gate);
    for (size_t i = 0; i < b->nparts; i++)
        if (i == 0 || b->parts[i].s != b->parts[i - 1].s)
            pthread_mutex_lock(&b->parts[i].s->lock);

    /* Check every part against the state: nothing is written unless all fit. */
    const batch_part *bad = NULL;
    for (size_t i = 0; i < b->nparts; i++) {
        const batch_part *p = &b->parts[i];
        if (p->kind == PART_APPEND && p->s->upper != p->lower && (bad == NULL || p->seq < bad->seq))
            bad = p;
    }
    if (bad != NULL) {
        if (mismatch != NULL)
            *mismatch = bad->s;
        if (current != NULL)
            *current = bad->s->upper;
        rc = cc_err_set(err, CC_UPPER_MISMATCH,
                        "upper mismatch on shard \"%s\": expected %llu, current %llu", bad->s->id,
                        (unsigned long long)bad->lower, (unsigned long long)bad->s->upper);
        goto unlock;
    }
    uint64_t up = 0; /* the upper of parts[i].s once its append (sorted first) is applied */
    for (size_t i = 0; i < b->nparts; i++) {
        const batch_part *p = &b->parts[i];
        if (i == 0 || p->s != b->parts[i - 1].s)
            up = p->s->upper;
        if (p->kind == PART_APPEND)
            up = p->upper;
        if (p->kind == PART_SINCE && p->upper > up) {
            rc = cc_err_set(err, CC_INVALID, "since %llu is beyond the upper %llu of shard \"%s\"",
                            (unsigned long long)p->upper, (unsigned long long)up, p->s->id);
            goto unlock;
        }
    }
    /* The shard table without the dropped shards, committed once durable. */
    pmap_txn *t = NULL;
    pmap_hamt before = c->shards;
    if (ndrops > 0) {
        if ((rc = pmap_txn_begin(c->domain, &t, err)) != CC_OK)
            goto unlock;
        if ((rc = table_del(c, t, dropped, ndrops, err)) != CC_OK) {
            pmap_txn_abort(t);
            c->shards = before;
            goto unlock;
        }
    }

    /* Memory first, so that nothing can fail once the batch is durable. */
    for (size_t i = 0; i < b->nparts && rc == CC_OK; i++) {
        const batch_part *p = &b->parts[i];
        if (p->kind == PART_APPEND)
            rc = persist__shard_prepare(p->s, p->u, p->n, p->lower, p->upper, &preps[nprep++],
                                        err);
    }
    persist_event ev = {.shard = b->parts[0].s->id, .parts = e.events, .nparts = nappends};
    uint64_t durable_upper = 0;
    if (rc == CC_OK)
        rc = c->backend.ops->append(c->backend.be, &ev, e.rec, e.len, &durable_upper, err);
    if (rc != CC_OK) {
        while (nprep > 0)
            persist__shard_unprepare(&preps[--nprep]);
        if (t != NULL) {
            pmap_txn_abort(t);
            c->shards = before;
        }
        if (rc == CC_UPPER_MISMATCH && mismatch != NULL)
            *mismatch = b->parts[0].s;
        if (rc == CC_UPPER_MISMATCH && current != NULL)
            *current = durable_upper;
        goto unlock;
    }
    /* Durable: publish what was prepared. Nothing below can fail. */
    nprep = 0;
    for (size_t i = 0; i < b->nparts; i++) {
        const batch_part *p = &b->parts[i];
        if (p->kind == PART_APPEND) {
            persist__shard_publish(&preps[nprep++]);
        } else if (p->kind == PART_SINCE && p->upper > p->s->since) {
            p->s->since = p->upper;
            persist__hist_compact(p->s);
        }
    }
    if (t != NULL) {
        for (size_t i = 0; i < ndrops; i++)
            all_remove(c, dropped[i]);
        pmap_txn_commit(t);
    }
    __atomic_add_fetch(&c->appends, nappends, __ATOMIC_RELAXED);
unlock:
    for (size_t i = b->nparts; i-- > 0;)
        if (i == 0 || b->parts[i].s != b->parts[i - 1].s)
            pthread_mutex_unlock(&b->parts[i].s->lock);
    pthread_rwlock_unlock(&c->gate);
    if (ndrops > 0)
        pthread_mutex_unlock(&c->lock);
    if (rc == CC_OK) {
        shards_free(c, dropped, ndrops);
        b->nparts = 0; /* its shards may be gone: the batch is spent */
    }
    cc_free(dropped);
    cc_free(preps);
    enc_fini(&e);
    if (rc == CC_OK)
        persist__maybe_rollup(c);
    return rc;
}

/* --- lazy shards ------------------------------------------------------------------ */

persist_shard *
persist_shard_find(persist_client *c, const char *id)
{
    pthread_mutex_lock(&c->lock);
    persist_shard *s = pmap_hamt_find_bytes(&c->shards, id, strlen(id));
    pthread_mutex_unlock(&c->lock);
    return s;
}

cc_code
persist_shard_open_lazy(persist_client *c, const char *id, persist_shard **out, cc_err *err)
{
    size_t idlen = id != NULL ? strlen(id) : 0;
    if (!persist__shard_id_is_valid(id, idlen))
        return cc_err_set(err, CC_INVALID, "invalid shard id: must be 1 to %d bytes", SHARD_ID_MAX);
    pthread_mutex_lock(&c->lock);
    persist_shard *s = pmap_hamt_find_bytes(&c->shards, id, idlen);
    cc_code rc = CC_OK;
    if (s == NULL)
        rc = persist__shard_create_locked(c, id, &s, err);
    pthread_mutex_unlock(&c->lock);
    if (rc == CC_OK)
        *out = s;
    return rc;
}

/* --- replay ----------------------------------------------------------------------- */

/* An append of a batch record, for the duplicate and since checks. */
typedef struct app_ref {
    const char *shard;
    uint64_t new_upper;
} app_ref;

static int
app_ref_cmp(const void *a, const void *b)
{
    return strcmp(((const app_ref *)a)->shard, ((const app_ref *)b)->shard);
}

static int
ptr_cmp(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)*(persist_shard *const *)a, y = (uintptr_t)*(persist_shard *const *)b;
    return (x > y) - (x < y);
}

static cc_code
corrupt(persist_client *c, const char *shard, const char *why, cc_err *err)
{
    return cc_err_set(err, CC_CORRUPT, "persist log of \"%s\": batch record for shard \"%s\" %s",
                      c->name, shard, why);
}

/* The shard's upper during replay (a missing shard is empty: 0). */
static uint64_t
replay_upper(persist_client *c, const char *id)
{
    persist_shard *s = pmap_hamt_find_bytes(&c->shards, id, strlen(id));
    return s != NULL ? s->upper : 0;
}

cc_code
persist__replay_batch(persist_client *c, const Cowcat__Persist__Batch *b, cc_err *err)
{
    app_ref *apps = cc_malloc((b->n_appends + 1) * sizeof *apps);
    persist_shard **dropped = cc_malloc((b->n_drops + 1) * sizeof *dropped);
    persist_update *u = NULL;
    cc_code rc = CC_OK;
    if (apps == NULL || dropped == NULL) {
        rc = cc_err_set(err, CC_NOMEM, "out of memory replaying the log");
        goto done;
    }
    /* Validate everything first: the record applies whole or not at all. */
    for (size_t i = 0; i < b->n_appends; i++) {
        const Cowcat__Persist__Append *a = b->appends[i];
        if (!persist__shard_id_is_valid(a->shard, strlen(a->shard))) {
            rc = corrupt(c, a->shard, "names an invalid shard", err);
            goto done;
        }
        uint64_t up = replay_upper(c, a->shard);
        if (up != a->expected_upper || a->new_upper <= a->expected_upper) {
            rc = corrupt(c, a->shard, "does not fit its upper", err);
            goto done;
        }
        for (size_t k = 0; k < a->n_updates; k++)
            if (a->updates[k]->ts < a->expected_upper || a->updates[k]->ts >= a->new_upper ||
                a->updates[k]->diff == 0) {
                rc = corrupt(c, a->shard, "holds an update outside its range", err);
                goto done;
            }
        apps[i] = (app_ref){a->shard, a->new_upper};
    }
    for (size_t i = 0; i < b->n_drops; i++)
        if (!persist__shard_id_is_valid(b->drops[i]->shard, strlen(b->drops[i]->shard))) {
            rc = corrupt(c, b->drops[i]->shard, "names an invalid shard", err);
            goto done;
        }
    if (b->n_appends > 1)
        qsort(apps, b->n_appends, sizeof *apps, app_ref_cmp);
    for (size_t i = 1; i < b->n_appends; i++)
        if (strcmp(apps[i - 1].shard, apps[i].shard) == 0) {
            rc = corrupt(c, apps[i].shard, "appends to it twice", err);
            goto done;
        }
    for (size_t i = 0; i < b->n_sinces; i++) {
        const Cowcat__Persist__SinceDowngrade *sd = b->sinces[i];
        if (!persist__shard_id_is_valid(sd->shard, strlen(sd->shard))) {
            rc = corrupt(c, sd->shard, "names an invalid shard", err);
            goto done;
        }
        app_ref key = {sd->shard, 0};
        const app_ref *a =
            b->n_appends > 0 ? bsearch(&key, apps, b->n_appends, sizeof *apps, app_ref_cmp) : NULL;
        uint64_t up = a != NULL ? a->new_upper : replay_upper(c, sd->shard);
        if (sd->since > up) {
            rc = corrupt(c, sd->shard, "moves since beyond the upper", err);
            goto done;
        }
    }
    /* Apply. */
    for (size_t i = 0; i < b->n_appends; i++) {
        const Cowcat__Persist__Append *a = b->appends[i];
        persist_shard *s;
        if ((rc = persist__replay_shard(c, a->shard, &s, err)) != CC_OK)
            goto done;
        persist_update *nu = cc_realloc(u, (a->n_updates + 1) * sizeof *u);
        if (nu == NULL) {
            rc = cc_err_set(err, CC_NOMEM, "out of memory replaying the log");
            goto done;
        }
        u = nu;
        for (size_t k = 0; k < a->n_updates; k++) {
            const Cowcat__Persist__Update *x = a->updates[k];
            u[k] = (persist_update){{x->key.data, x->key.len}, {x->value.data, x->value.len},
                                    x->ts, x->diff};
        }
        if ((rc = persist__shard_apply(s, u, a->n_updates, a->expected_upper, a->new_upper,
                                       err)) != CC_OK)
            goto done;
    }
    for (size_t i = 0; i < b->n_sinces; i++) {
        persist_shard *s;
        if ((rc = persist__replay_shard(c, b->sinces[i]->shard, &s, err)) != CC_OK)
            goto done;
        if (b->sinces[i]->since > s->since) {
            s->since = b->sinces[i]->since;
            persist__hist_compact(s);
        }
    }
    size_t nd = 0;
    for (size_t i = 0; i < b->n_drops; i++) {
        const char *id = b->drops[i]->shard;
        persist_shard *s = pmap_hamt_find_bytes(&c->shards, id, strlen(id));
        if (s != NULL)
            dropped[nd++] = s; /* a shard made lazily and never written was never replayed */
    }
    if (nd > 1)
        qsort(dropped, nd, sizeof *dropped, ptr_cmp);
    size_t uniq = 0;
    for (size_t i = 0; i < nd; i++)
        if (uniq == 0 || dropped[uniq - 1] != dropped[i])
            dropped[uniq++] = dropped[i];
    nd = uniq;
    if (nd > 0) {
        pmap_txn *t;
        pmap_hamt before = c->shards;
        if ((rc = pmap_txn_begin(c->domain, &t, err)) != CC_OK)
            goto done;
        if ((rc = table_del(c, t, dropped, nd, err)) != CC_OK) {
            pmap_txn_abort(t);
            c->shards = before;
            goto done;
        }
        pmap_txn_commit(t);
        for (size_t i = 0; i < nd; i++)
            all_remove(c, dropped[i]);
        shards_free(c, dropped, nd);
    }
done:
    cc_free(u);
    cc_free(apps);
    cc_free(dropped);
    return rc;
}
