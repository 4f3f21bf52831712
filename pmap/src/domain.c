/*
 * pmap/src/domain.c — write transactions, epoch-pinned readers and deferred
 * reclamation for the persistent maps.
 *
 * Why owner tokens and retire lists rather than per-node reference counts
 *   With classic per-node counts every path copy increments each child of each
 *   copied node (about 90 cache-missing updates per insert at 1M entries) and
 *   decrements them again when the old version goes. The reference notes
 *   measured that at 2-4x the cost of a path copy that does not touch its
 *   siblings. So a node's count (rc) here counts only *structural* sharing
 *   between lines (clones). In the common case — one line, a writer advancing
 *   it, readers holding old versions — rc stays 1 and is never written: a copy
 *   *moves* the old node's children into the new node, and the old node (a
 *   husk that still points at them) is freed once no reader can see it. Only a
 *   node shared with another line (rc > 1) is copied the counted way. The
 *   benchmark measures both (PMAP_SHARING_COUNTED forces the counted way).
 *
 * Transactions
 *   A transaction has an owner token (a u32 id), and three logs:
 *     born  every node it allocated: sealed (owner = 0) at commit, freed at
 *           abort; nodes it discarded itself (owner = DEAD) are freed at either.
 *     undo  references it added (children and values of counted copies,
 *           retained values, new key blobs): given back at abort.
 *     redo  what its versions stopped referencing (husks, released shared
 *           nodes, removed values and keys, deferred callbacks): handed to
 *           the domain's garbage at commit.
 *   Sealing at commit makes owner tokens of finished transactions disappear
 *   from the nodes, so a u32 id may wrap without a stale node ever matching a
 *   new transaction.
 *
 * Readers and epochs
 *   d->epoch starts at 1 and advances by one at every commit. A reader pins by
 *   storing the epoch it saw in its slot and re-reading the epoch (seq_cst on
 *   both sides: either the writer's slot scan sees the pin, or the reader sees
 *   the new epoch and retries). Garbage of a commit is tagged with the epoch
 *   current at the commit, which is when the superseded version stopped being
 *   the latest published one (the caller publishes before committing). A batch
 *   tagged e is freed once every pinned slot holds an epoch > e: such readers
 *   pinned after the new version was published and cannot reach the garbage.
 *
 *      reader:  slot = e (seq_cst) ; load epoch (seq_cst) == e ? pinned : retry
 *      writer:  publish root (release) ; tag garbage e ; epoch = e+1 (seq_cst) ;
 *               scan slots (seq_cst) ; free batches with tag < min(slot)
 *
 *   If the garbage log cannot grow (out of memory) while a commit is dropping
 *   nodes, the commit falls back to waiting for every reader pinned at or
 *   before the current epoch to leave and then frees directly: commit never
 *   fails, it may only wait.
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "pmap_internal.h"

enum rec_op {
    REC_FREE_NODE,     /* free a node's memory (ptr node, aux class) */
    REC_UNREF_NODE,    /* drop one structural reference (ptr node, aux class) */
    REC_RELEASE_VALUE, /* ops->release(ptr) (aux ops) */
    REC_RELEASE_KEY,   /* drop one key blob reference (ptr key) */
    REC_DEFER,         /* fn(arg): ptr arg, aux fn */
};

typedef struct rec {
    void *ptr;
    const void *aux;
    uint32_t op;
} rec;

typedef struct recvec {
    rec *v;
    size_t n;
    size_t cap;
} recvec;

/* A batch of garbage: items no version after `epoch` references. */
struct pmap__garbage {
    pmap_domain *d;
    pmap__garbage *next;
    uint64_t epoch; /* tag: readers pinned at <= epoch may still see the items */
    recvec items;   /* REC_FREE_NODE, REC_RELEASE_VALUE, REC_RELEASE_KEY, REC_DEFER */
    bool direct;    /* out of memory: items were executed after a synchronize */
};

struct pmap_reader {
    uint64_t slot;  /* pinned epoch, 0 when not pinned; written by its thread */
    unsigned depth; /* pin nesting; owner thread only */
    pmap_domain *d;
    char pad[64 - 2 * sizeof(uint64_t) - sizeof(pmap_domain *)];
};

struct pmap_txn {
    pmap__txn_head h; /* domain, owner token, flags: first, see pmap_internal.h */
    recvec born;      /* REC_FREE_NODE records of nodes allocated here */
    int64_t d_nodes;  /* live-node statistics not yet flushed to the domain: */
    int64_t d_bytes;  /* kept here so allocation does no atomic update */
    int64_t d_keys;
    recvec undo;
    recvec redo;
    pmap_txn *next_free; /* domain's cache of finished transactions */
};

struct pmap_domain {
    pthread_mutex_t lock; /* garbage list, readers array, txn ids and cache */
    uint64_t epoch;       /* atomic; see the file comment */
    pmap_sharing sharing;
    uint32_t next_txn_id;   /* under lock; skips SEALED and DEAD */
    pmap__garbage *garbage; /* oldest first */
    pmap__garbage *garbage_tail;
    pmap_reader **readers; /* under lock */
    size_t nreaders;
    size_t readers_cap;
    pmap_txn *txn_cache; /* under lock */
    pmap__garbage *garbage_cache; /* under lock: emptied batches kept with their logs */
    unsigned ngarbage_cache;
    unsigned open_txns;  /* under lock */
    /* Statistics, updated with relaxed atomics. */
    uint64_t live_nodes;
    uint64_t live_node_bytes;
    uint64_t live_keys;
    uint64_t garbage_items;
    uint64_t commits;
    uint64_t aborts;
};

/* --- small helpers --------------------------------------------------------- */

static void
stat_add(uint64_t *counter, uint64_t v)
{
    __atomic_add_fetch(counter, v, __ATOMIC_RELAXED);
}

static void
stat_sub(uint64_t *counter, uint64_t v)
{
    __atomic_sub_fetch(counter, v, __ATOMIC_RELAXED);
}

static bool
recvec_grow(recvec *v, size_t extra)
{
    if (v->n + extra <= v->cap)
        return true;
    size_t cap = v->cap ? v->cap : 64;
    while (cap < v->n + extra)
        cap *= 2;
    rec *nv = cc_realloc(v->v, cap * sizeof *nv);
    if (nv == NULL)
        return false;
    v->v = nv;
    v->cap = cap;
    return true;
}

static void
recvec_push_reserved(recvec *v, uint32_t op, void *ptr, const void *aux)
{
    CC_VERIFY(v->n < v->cap); /* callers reserve first; overrunning would corrupt the heap */
    v->v[v->n++] = (rec){.ptr = ptr, .aux = aux, .op = op};
}

static void
recvec_fini(recvec *v)
{
    cc_free(v->v);
    v->v = NULL;
    v->n = v->cap = 0;
}

/* Frees tallied by a caller and subtracted from the domain's statistics once. */
typedef struct tally {
    uint64_t nodes, bytes, keys, items;
} tally;

static void
tally_flush(pmap_domain *d, const tally *t)
{
    if (t->nodes != 0)
        stat_sub(&d->live_nodes, t->nodes);
    if (t->bytes != 0)
        stat_sub(&d->live_node_bytes, t->bytes);
    if (t->keys != 0)
        stat_sub(&d->live_keys, t->keys);
    if (t->items != 0)
        stat_sub(&d->garbage_items, t->items);
}

static void
node_free_mem(tally *t, pmap__hdr *n, const pmap__node_class *cls)
{
    t->nodes++;
    t->bytes += cls->size(n);
    cc_free(n);
}

/* --- garbage ---------------------------------------------------------------- */

static void domain_synchronize(pmap_domain *d);

/* Runs one garbage item now: every reader that could see it has left. */
static void
garbage_execute(tally *t, const rec *r)
{
    switch (r->op) {
    case REC_FREE_NODE:
        node_free_mem(t, r->ptr, r->aux);
        break;
    case REC_RELEASE_VALUE: {
        const pmap_value_ops *ops = r->aux;
        if (ops != NULL && ops->release != NULL)
            ops->release(r->ptr);
        break;
    }
    case REC_RELEASE_KEY: {
        pmap__key *k = r->ptr;
        if (__atomic_sub_fetch(&k->refs, 1, __ATOMIC_ACQ_REL) == 0) {
            t->keys++;
            cc_free(k);
        }
        break;
    }
    case REC_DEFER: {
        void (*fn)(void *) = (void (*)(void *))(uintptr_t)r->aux;
        fn(r->ptr);
        break;
    }
    default:
        CC_UNREACHABLE();
    }
}

/*
 * Adds an item to g. If the log cannot grow, waits until no reader can see
 * anything retired so far and executes the item directly (see file comment).
 */
static void
garbage_push(pmap__garbage *g, uint32_t op, void *ptr, const void *aux)
{
    if (!g->direct && recvec_grow(&g->items, 1)) {
        recvec_push_reserved(&g->items, op, ptr, aux);
        stat_add(&g->d->garbage_items, 1);
        return;
    }
    if (!g->direct) {
        domain_synchronize(g->d);
        g->direct = true;
    }
    rec r = {.ptr = ptr, .aux = aux, .op = op};
    tally t = {0};
    garbage_execute(&t, &r);
    tally_flush(g->d, &t);
}

void
pmap__g_unref_node(pmap__garbage *g, pmap__hdr *n, const pmap__node_class *cls)
{
    /* acq_rel: the last dropper must see every earlier holder's accesses. */
    uint32_t after = __atomic_sub_fetch(&n->rc_aux, 1, __ATOMIC_ACQ_REL) & PMAP__RC_MASK;
    if (after != 0)
        return;
    cls->drop_refs(g, n);
    garbage_push(g, REC_FREE_NODE, n, cls);
}

void
pmap__g_release_key(pmap__garbage *g, pmap__key *k)
{
    garbage_push(g, REC_RELEASE_KEY, k, NULL);
}

void
pmap__g_release_value(pmap__garbage *g, void *value, const pmap_value_ops *ops)
{
    if (ops == NULL || ops->release == NULL)
        return;
    garbage_push(g, REC_RELEASE_VALUE, value, ops);
}

/* Batches kept for reuse, and the largest log a kept batch may hold. */
#define GARBAGE_CACHE     8
#define GARBAGE_CACHE_CAP 4096

/*
 * Returns an executed batch to the domain's cache (its log keeps its
 * capacity, so the next commit neither allocates the batch nor regrows the
 * log), or frees it.
 */
static void
garbage_recycle(pmap_domain *d, pmap__garbage *g)
{
    g->items.n = 0;
    g->next = NULL;
    g->direct = false;
    if (g->items.cap <= GARBAGE_CACHE_CAP) {
        pthread_mutex_lock(&d->lock);
        if (d->ngarbage_cache < GARBAGE_CACHE) {
            g->next = d->garbage_cache;
            d->garbage_cache = g;
            d->ngarbage_cache++;
            pthread_mutex_unlock(&d->lock);
            return;
        }
        pthread_mutex_unlock(&d->lock);
    }
    recvec_fini(&g->items);
    cc_free(g);
}

/* Runs every item of a detached batch and recycles it. */
static size_t
garbage_free_batch(pmap_domain *d, pmap__garbage *g)
{
    size_t n = g->items.n;
    tally t = {.items = n};
    for (size_t i = 0; i < n; i++)
        garbage_execute(&t, &g->items.v[i]);
    tally_flush(d, &t);
    garbage_recycle(d, g);
    return n;
}

/* Smallest pinned epoch, or UINT64_MAX when no reader is pinned. Under d->lock. */
static uint64_t
min_pinned_locked(pmap_domain *d)
{
    uint64_t min = UINT64_MAX;
    for (size_t i = 0; i < d->nreaders; i++) {
        /* seq_cst: pairs with the reader's seq_cst slot store and epoch re-read. */
        uint64_t s = __atomic_load_n(&d->readers[i]->slot, __ATOMIC_SEQ_CST);
        if (s != 0 && s < min)
            min = s;
    }
    return min;
}

size_t
pmap_domain_reclaim(pmap_domain *d)
{
    pthread_mutex_lock(&d->lock);
    uint64_t min = min_pinned_locked(d);
    pmap__garbage *head = d->garbage, *last = NULL;
    for (pmap__garbage *g = d->garbage; g != NULL && g->epoch < min; g = g->next)
        last = g;
    if (last == NULL) {
        pthread_mutex_unlock(&d->lock);
        return 0;
    }
    d->garbage = last->next;
    if (d->garbage == NULL)
        d->garbage_tail = NULL;
    last->next = NULL;
    pthread_mutex_unlock(&d->lock);

    /* Executed outside the lock: release callbacks may start transactions. */
    size_t freed = 0;
    while (head != NULL) {
        pmap__garbage *next = head->next;
        freed += garbage_free_batch(d, head);
        head = next;
    }
    return freed;
}

/*
 * Advances the epoch and waits until no reader is pinned at an epoch at or
 * before the old one. Afterwards nothing retired before the call is visible.
 */
static void
domain_synchronize(pmap_domain *d)
{
    uint64_t e = __atomic_fetch_add(&d->epoch, 1, __ATOMIC_SEQ_CST);
    struct timespec pause = {0, 100000};
    for (;;) {
        pthread_mutex_lock(&d->lock);
        uint64_t min = min_pinned_locked(d);
        pthread_mutex_unlock(&d->lock);
        if (min > e)
            return;
        nanosleep(&pause, NULL);
    }
}

static pmap__garbage *
garbage_new(pmap_domain *d)
{
    pthread_mutex_lock(&d->lock);
    pmap__garbage *g = d->garbage_cache;
    if (g != NULL) {
        d->garbage_cache = g->next;
        d->ngarbage_cache--;
    }
    pthread_mutex_unlock(&d->lock);
    if (g == NULL && (g = cc_calloc(1, sizeof *g)) == NULL)
        return NULL; /* callers fall back to a synchronous batch */
    g->d = d;
    g->next = NULL;
    return g;
}

/* Tags g with the current epoch and queues it (or frees it if empty). */
static void
garbage_enqueue(pmap_domain *d, pmap__garbage *g, bool advance)
{
    pthread_mutex_lock(&d->lock);
    if (advance)
        /* seq_cst: pairs with readers' epoch re-read (see file comment). */
        g->epoch = __atomic_fetch_add(&d->epoch, 1, __ATOMIC_SEQ_CST);
    else
        g->epoch = __atomic_load_n(&d->epoch, __ATOMIC_SEQ_CST);
    if (g->items.n == 0) {
        pthread_mutex_unlock(&d->lock);
        garbage_recycle(d, g);
        return;
    }
    if (d->garbage_tail != NULL)
        d->garbage_tail->next = g;
    else
        d->garbage = g;
    d->garbage_tail = g;
    pthread_mutex_unlock(&d->lock);
}

/* --- domains ----------------------------------------------------------------- */

cc_code
pmap_domain_new(const pmap_domain_options *opts, pmap_domain **out, cc_err *err)
{
    pmap_domain *d = cc_calloc(1, sizeof *d);
    if (d == NULL)
        return cc_err_set(err, CC_NOMEM, "out of memory creating a map domain");
    if (pthread_mutex_init(&d->lock, NULL) != 0) {
        cc_free(d);
        return cc_err_set(err, CC_INTERNAL, "cannot initialise the map domain lock");
    }
    d->epoch = 1;
    d->next_txn_id = 1;
    d->sharing = opts != NULL ? opts->sharing : PMAP_SHARING_OWNER;
    *out = d;
    return CC_OK;
}

void
pmap_domain_free(pmap_domain *d)
{
    if (d == NULL)
        return;
    CC_VERIFY(d->open_txns == 0);
    CC_VERIFY(d->nreaders == 0);
    while (d->garbage != NULL) {
        pmap__garbage *g = d->garbage;
        d->garbage = g->next;
        garbage_free_batch(d, g);
    }
    while (d->garbage_cache != NULL) {
        pmap__garbage *g = d->garbage_cache;
        d->garbage_cache = g->next;
        recvec_fini(&g->items);
        cc_free(g);
    }
    while (d->txn_cache != NULL) {
        pmap_txn *t = d->txn_cache;
        d->txn_cache = t->next_free;
        recvec_fini(&t->born);
        recvec_fini(&t->undo);
        recvec_fini(&t->redo);
        cc_free(t);
    }
    cc_free(d->readers);
    pthread_mutex_destroy(&d->lock);
    cc_free(d);
}

pmap_sharing
pmap_domain_sharing(const pmap_domain *d)
{
    return d->sharing;
}

void
pmap_domain_stats_get(pmap_domain *d, pmap_domain_stats *out)
{
    out->epoch = __atomic_load_n(&d->epoch, __ATOMIC_RELAXED);
    out->live_nodes = __atomic_load_n(&d->live_nodes, __ATOMIC_RELAXED);
    out->live_node_bytes = __atomic_load_n(&d->live_node_bytes, __ATOMIC_RELAXED);
    out->live_keys = __atomic_load_n(&d->live_keys, __ATOMIC_RELAXED);
    out->garbage_items = __atomic_load_n(&d->garbage_items, __ATOMIC_RELAXED);
    out->commits = __atomic_load_n(&d->commits, __ATOMIC_RELAXED);
    out->aborts = __atomic_load_n(&d->aborts, __ATOMIC_RELAXED);
    pthread_mutex_lock(&d->lock);
    out->readers = d->nreaders;
    pthread_mutex_unlock(&d->lock);
}

/* --- readers ----------------------------------------------------------------- */

cc_code
pmap_reader_new(pmap_domain *d, pmap_reader **out, cc_err *err)
{
    pmap_reader *r = NULL;
    if (posix_memalign((void **)&r, 64, sizeof *r) != 0 || r == NULL)
        return cc_err_set(err, CC_NOMEM, "out of memory registering a map reader");
    memset(r, 0, sizeof *r);
    r->d = d;
    pthread_mutex_lock(&d->lock);
    if (d->nreaders == d->readers_cap) {
        size_t cap = d->readers_cap ? d->readers_cap * 2 : 8;
        pmap_reader **nr = cc_realloc(d->readers, cap * sizeof *nr);
        if (nr == NULL) {
            pthread_mutex_unlock(&d->lock);
            free(r);
            return cc_err_set(err, CC_NOMEM, "out of memory registering a map reader");
        }
        d->readers = nr;
        d->readers_cap = cap;
    }
    d->readers[d->nreaders++] = r;
    pthread_mutex_unlock(&d->lock);
    *out = r;
    return CC_OK;
}

void
pmap_reader_free(pmap_reader *r)
{
    if (r == NULL)
        return;
    CC_VERIFY(r->depth == 0);
    pmap_domain *d = r->d;
    pthread_mutex_lock(&d->lock);
    for (size_t i = 0; i < d->nreaders; i++) {
        if (d->readers[i] == r) {
            d->readers[i] = d->readers[--d->nreaders];
            break;
        }
    }
    pthread_mutex_unlock(&d->lock);
    free(r); /* posix_memalign'd: not through the hook */
}

void
pmap_reader_pin(pmap_reader *r)
{
    if (r->depth++ > 0)
        return;
    pmap_domain *d = r->d;
    for (;;) {
        uint64_t e = __atomic_load_n(&d->epoch, __ATOMIC_SEQ_CST);
        /* seq_cst store then seq_cst load: pairs with the writer's epoch
         * increment followed by its slot scan (min_pinned_locked). */
        __atomic_store_n(&r->slot, e, __ATOMIC_SEQ_CST);
        if (__atomic_load_n(&d->epoch, __ATOMIC_SEQ_CST) == e)
            return;
    }
}

void
pmap_reader_unpin(pmap_reader *r)
{
    CC_ASSERT(r->depth > 0);
    if (--r->depth > 0)
        return;
    /* release: every read of the pinned versions happens before a writer's
     * scan that observes 0 and frees (its seq_cst load acquires). */
    __atomic_store_n(&r->slot, 0, __ATOMIC_RELEASE);
}

/* --- transactions ------------------------------------------------------------ */

cc_code
pmap_txn_begin(pmap_domain *d, pmap_txn **out, cc_err *err)
{
    pthread_mutex_lock(&d->lock);
    pmap_txn *t = d->txn_cache;
    if (t != NULL)
        d->txn_cache = t->next_free;
    uint32_t id = d->next_txn_id++;
    if (d->next_txn_id == PMAP__OWNER_DEAD)
        d->next_txn_id = 1;
    d->open_txns++;
    pthread_mutex_unlock(&d->lock);

    if (t == NULL) {
        t = cc_calloc(1, sizeof *t);
        if (t == NULL) {
            pthread_mutex_lock(&d->lock);
            d->open_txns--;
            pthread_mutex_unlock(&d->lock);
            return cc_err_set(err, CC_NOMEM, "out of memory starting a map transaction");
        }
    }
    t->h.d = d;
    t->h.id = id;
    t->h.counted = d->sharing == PMAP_SHARING_COUNTED;
    t->h.poisoned = false;
    t->next_free = NULL;
    t->born.n = t->undo.n = t->redo.n = 0;
    t->d_nodes = t->d_bytes = t->d_keys = 0;
    *out = t;
    return CC_OK;
}

/* Returns a finished transaction to the domain's cache. */
static void
txn_finish(pmap_txn *t)
{
    pmap_domain *d = t->h.d;
    if (t->d_nodes != 0)
        __atomic_add_fetch(&d->live_nodes, (uint64_t)t->d_nodes, __ATOMIC_RELAXED);
    if (t->d_bytes != 0)
        __atomic_add_fetch(&d->live_node_bytes, (uint64_t)t->d_bytes, __ATOMIC_RELAXED);
    if (t->d_keys != 0)
        __atomic_add_fetch(&d->live_keys, (uint64_t)t->d_keys, __ATOMIC_RELAXED);
    /* Large logs are not worth caching. */
    if (t->born.cap > 65536)
        recvec_fini(&t->born);
    if (t->undo.cap > 65536)
        recvec_fini(&t->undo);
    if (t->redo.cap > 65536)
        recvec_fini(&t->redo);
    pthread_mutex_lock(&d->lock);
    d->open_txns--;
    t->next_free = d->txn_cache;
    d->txn_cache = t;
    pthread_mutex_unlock(&d->lock);
}

void
pmap_txn_commit(pmap_txn *t)
{
    pmap_domain *d = t->h.d;
    CC_VERIFY(!t->h.poisoned);

    /* Seal what survives; free what the transaction discarded itself: no
     * reader ever saw a node born and discarded inside one transaction. */
    tally freed = {0};
    for (size_t i = 0; i < t->born.n; i++) {
        pmap__hdr *n = t->born.v[i].ptr;
        if (n->owner == PMAP__OWNER_DEAD)
            node_free_mem(&freed, n, t->born.v[i].aux);
        else
            n->owner = PMAP__OWNER_SEALED;
    }
    t->d_nodes -= (int64_t)freed.nodes;
    t->d_bytes -= (int64_t)freed.bytes;

    pmap__garbage local = {.d = d};
    pmap__garbage *g = garbage_new(d);
    if (g == NULL) {
        domain_synchronize(d);
        local.direct = true;
        g = &local;
    }
    for (size_t i = 0; i < t->redo.n; i++) {
        const rec *r = &t->redo.v[i];
        if (r->op == REC_UNREF_NODE)
            pmap__g_unref_node(g, r->ptr, r->aux);
        else
            garbage_push(g, r->op, r->ptr, r->aux);
    }
    stat_add(&d->commits, 1);
    if (g != &local)
        garbage_enqueue(d, g, true);
    else
        __atomic_fetch_add(&d->epoch, 1, __ATOMIC_SEQ_CST);
    txn_finish(t);
    pmap_domain_reclaim(d);
}

void
pmap_txn_abort(pmap_txn *t)
{
    pmap_domain *d = t->h.d;
    pmap__garbage local = {.d = d};
    pmap__garbage *g = garbage_new(d);
    if (g == NULL) {
        domain_synchronize(d);
        local.direct = true;
        g = &local;
    }
    /* Give back, newest first, every reference the transaction added. */
    for (size_t i = t->undo.n; i-- > 0;) {
        const rec *r = &t->undo.v[i];
        if (r->op == REC_UNREF_NODE)
            pmap__g_unref_node(g, r->ptr, r->aux);
        else
            garbage_push(g, r->op, r->ptr, r->aux);
    }
    /* Born nodes were never visible to anyone: free them now. Their counted
     * references were undone above; moved ones were never counted twice. */
    tally freed = {0};
    for (size_t i = 0; i < t->born.n; i++)
        node_free_mem(&freed, t->born.v[i].ptr, t->born.v[i].aux);
    t->d_nodes -= (int64_t)freed.nodes;
    t->d_bytes -= (int64_t)freed.bytes;
    stat_add(&d->aborts, 1);
    if (g != &local)
        garbage_enqueue(d, g, false);
    txn_finish(t);
    pmap_domain_reclaim(d);
}

bool
pmap_txn_is_poisoned(const pmap_txn *t)
{
    return t->h.poisoned;
}

pmap_domain *
pmap_txn_domain(const pmap_txn *t)
{
    return t->h.d;
}

cc_code
pmap_txn_defer(pmap_txn *t, void (*fn)(void *arg), void *arg, cc_err *err)
{
    cc_code rc = pmap__log_reserve(t, 0, 1, err);
    if (rc != CC_OK)
        return rc;
    recvec_push_reserved(&t->redo, REC_DEFER, arg, (const void *)(uintptr_t)fn);
    return CC_OK;
}

/* --- the internal interface (pmap_internal.h) -------------------------------- */

cc_code
pmap__txn_fail_nomem(pmap_txn *t, cc_err *err, const char *what)
{
    t->h.poisoned = true;
    return cc_err_set(err, CC_NOMEM, "out of memory %s", what);
}

cc_code
pmap__txn_check(pmap_txn *t, cc_err *err)
{
    if (CC_UNLIKELY(t->h.poisoned))
        return cc_err_set(err, CC_NOMEM,
                          "map transaction failed earlier (out of memory); only abort is allowed");
    return CC_OK;
}

cc_code
pmap__log_reserve(pmap_txn *t, size_t undo, size_t redo, cc_err *err)
{
    if (CC_UNLIKELY(t->h.poisoned))
        return pmap__txn_check(t, err);
    if (!recvec_grow(&t->undo, undo) || !recvec_grow(&t->redo, redo))
        return pmap__txn_fail_nomem(t, err, "growing a map transaction log");
    return CC_OK;
}

void *
pmap__node_new(pmap_txn *t, const pmap__node_class *cls, size_t size, cc_err *err)
{
    if (CC_UNLIKELY(t->h.poisoned)) {
        pmap__txn_check(t, err);
        return NULL;
    }
    if (!recvec_grow(&t->born, 1)) {
        pmap__txn_fail_nomem(t, err, "growing a map transaction log");
        return NULL;
    }
    pmap__hdr *n = cc_malloc(size);
    if (n == NULL) {
        pmap__txn_fail_nomem(t, err, "allocating a map node");
        return NULL;
    }
    n->owner = t->h.id;
    n->rc_aux = 1;
    recvec_push_reserved(&t->born, REC_FREE_NODE, n, cls);
    t->d_nodes++;
    t->d_bytes += (int64_t)size;
    return n;
}

void
pmap__node_discard(pmap_txn *t, pmap__hdr *n)
{
    CC_ASSERT(n->owner == t->h.id);
    (void)t;
    n->owner = PMAP__OWNER_DEAD;
}

void
pmap__retire_node(pmap_txn *t, pmap__hdr *n, const pmap__node_class *cls)
{
    CC_ASSERT(n->owner != t->h.id);
    recvec_push_reserved(&t->redo, REC_FREE_NODE, n, cls);
}

void
pmap__release_node(pmap_txn *t, pmap__hdr *n, const pmap__node_class *cls)
{
    recvec_push_reserved(&t->redo, REC_UNREF_NODE, n, cls);
}

void
pmap__share_node(pmap_txn *t, pmap__hdr *child, const pmap__node_class *cls)
{
    pmap__node_ref(child);
    recvec_push_reserved(&t->undo, REC_UNREF_NODE, child, cls);
}

void
pmap__share_key(pmap_txn *t, pmap__key *k)
{
    __atomic_add_fetch(&k->refs, 1, __ATOMIC_RELAXED);
    recvec_push_reserved(&t->undo, REC_RELEASE_KEY, k, NULL);
}

void
pmap__share_value(pmap_txn *t, void *value, const pmap_value_ops *ops)
{
    if (ops == NULL || ops->retain == NULL)
        return;
    ops->retain(value);
    recvec_push_reserved(&t->undo, REC_RELEASE_VALUE, value, ops);
}

void
pmap__release_value(pmap_txn *t, void *value, const pmap_value_ops *ops)
{
    if (ops == NULL || ops->release == NULL)
        return;
    recvec_push_reserved(&t->redo, REC_RELEASE_VALUE, value, ops);
}

void
pmap__release_key(pmap_txn *t, pmap__key *k)
{
    recvec_push_reserved(&t->redo, REC_RELEASE_KEY, k, NULL);
}

pmap__key *
pmap__key_new(pmap_txn *t, const void *bytes, size_t len, uint64_t hash, cc_err *err)
{
    if (len > UINT32_MAX) {
        cc_err_set(err, CC_INVALID, "map key of %zu bytes is too long", len);
        return NULL;
    }
    pmap__key *k = cc_malloc(sizeof *k + len);
    if (k == NULL) {
        pmap__txn_fail_nomem(t, err, "allocating a map key");
        return NULL;
    }
    k->refs = 1;
    k->len = (uint32_t)len;
    k->hash = hash;
    if (len > 0)
        memcpy(k->bytes, bytes, len);
    t->d_keys++;
    recvec_push_reserved(&t->undo, REC_RELEASE_KEY, k, NULL);
    return k;
}
