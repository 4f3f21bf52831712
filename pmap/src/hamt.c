/*
 * pmap/src/hamt.c — the persistent CHAMP hash map (see pmap/hamt.h): node
 * classes, path-copying writes (insert, delete, drop), lookups and bulk build.
 * The node layout is drawn in hamt_node.h; iteration, diff, check and stats
 * are in hamt_walk.c.
 *
 * Writes walk down from the root and make every node on the path writable
 * with own(): a node born in the open transaction (pmap__node_mutable) is
 * changed in place, growing by half again (at least two entries) when full;
 * any other node is copied — exact-size for the first write of a transaction
 * to a line, with that slack once the line's root is already owned (a
 * transient batch) — and
 * the original is retired (rule 2a) or released (rule 2b) as pmap_internal.h
 * prescribes. Log space is reserved before each group of pushes, so a NOMEM
 * leaves only transaction-owned nodes half changed; the base version is never
 * written.
 *
 * Invariants (pmap_hamt_check verifies them all)
 *   - datamap & nodemap == 0; an entry or child at slice s of level L has a
 *     hash whose slices 0..L-1 are the path to the node and slice L is s.
 *   - Canonical form: a non-root node never holds exactly one entry and no
 *     children, and no node is empty (an empty map has root NULL). Deletes
 *     restore it by inlining a sub-node's last entry into its parent.
 *   - A node is changed in place only while pmap__node_mutable (born in the
 *     open transaction, rc 1); every other node on a write path is copied
 *     following the rules of pmap_internal.h.
 */
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/hash.h"
#include "hamt_node.h"
#include "pmap/hamt.h"
#include "pmap_internal.h"

/* --- node classes --------------------------------------------------------- */

static void drop_refs_plain(pmap__garbage *g, pmap__hdr *h);
static void drop_refs_typed(pmap__garbage *g, pmap__hdr *h);
static size_t size_plain(const pmap__hdr *h);
static size_t size_typed(const pmap__hdr *h);

static const pmap__node_class class_plain = {"hamt", drop_refs_plain, size_plain};
static const pmap__node_class class_typed = {"hamt_typed", drop_refs_typed, size_typed};

static const pmap__node_class *
class_of(const pmap_hamt_type *t)
{
    return pmap__htyped(t) ? &class_typed : &class_plain;
}

static void
drop_refs_plain(pmap__garbage *g, pmap__hdr *h)
{
    pmap__hnode *n = (pmap__hnode *)h;
    for (unsigned j = 0; j < pmap__hchildren(n); j++)
        pmap__g_unref_node(g, &pmap__hchild(n, j)->hdr, &class_plain);
}

static void
drop_refs_typed(pmap__garbage *g, pmap__hdr *h)
{
    pmap__hnode *n = (pmap__hnode *)h;
    const pmap_hamt_type *t = (const pmap_hamt_type *)(uintptr_t)n->slot[pmap__hcap(n)];
    for (unsigned i = 0; i < pmap__hentries(n); i++) {
        if (t->key_kind == PMAP_KEY_BYTES)
            pmap__g_release_key(g, (pmap__key *)(uintptr_t)n->slot[2 * i]);
        pmap__g_release_value(g, (void *)(uintptr_t)n->slot[2 * i + 1], t->value_ops);
    }
    for (unsigned j = 0; j < pmap__hchildren(n); j++)
        pmap__g_unref_node(g, &pmap__hchild(n, j)->hdr, &class_typed);
}

static size_t
size_plain(const pmap__hdr *h)
{
    return sizeof(pmap__hnode) + 8 * (size_t)pmap__hcap((const pmap__hnode *)h);
}

static size_t
size_typed(const pmap__hdr *h)
{
    return sizeof(pmap__hnode) + 8 * ((size_t)pmap__hcap((const pmap__hnode *)h) + 1);
}

/* --- write context and node ownership -------------------------------------- */

typedef struct wctx {
    pmap_txn *txn;
    const pmap_hamt_type *type;
    const pmap_value_ops *ops;
    const pmap__node_class *cls;
    bool typed; /* nodes carry the type pointer */
    bool batch; /* the line's root is already owned: a transient batch, copies get slack */
    cc_err *err;
} wctx;

static void
wctx_init(wctx *w, pmap_txn *txn, const pmap_hamt_type *type, cc_err *err)
{
    w->txn = txn;
    w->type = type;
    w->ops = type->value_ops;
    w->typed = pmap__htyped(type);
    w->cls = w->typed ? &class_typed : &class_plain;
    w->batch = false;
    w->err = err;
}

/* A new node born in the txn with capacity cap words, empty. NULL on NOMEM. */
static pmap__hnode *
node_alloc(wctx *w, bool coll, unsigned cap)
{
    CC_ASSERT(coll ? cap % 2 == 0 : cap <= PMAP__HMAX_WORDS);
    size_t size = sizeof(pmap__hnode) + 8 * ((size_t)cap + (w->typed ? 1 : 0));
    pmap__hnode *n = pmap__node_new(w->txn, w->cls, size, w->err);
    if (n == NULL)
        return NULL;
    n->datamap = 0;
    if (coll) {
        n->nodemap = cap / 2;
        pmap__set_aux(&n->hdr, PMAP__HAUX_COLL);
    } else {
        n->nodemap = 0;
        pmap__set_aux(&n->hdr, (uint8_t)cap);
    }
    if (w->typed)
        n->slot[cap] = (uint64_t)(uintptr_t)w->type;
    return n;
}

/*
 * Capacity for a node that will grow in place during a batch: room for about
 * half as many entries again (at least two more), so a run of inserts into
 * one node reallocates O(log) times without doubling the memory of every
 * node a batch touches only once or twice.
 */
static unsigned
slack(unsigned need, bool coll)
{
    unsigned c = need + (need / 2 > 4 ? need / 2 : 4);
    c = (c + 1) & ~1u;
    return coll || c <= PMAP__HMAX_WORDS ? c : PMAP__HMAX_WORDS;
}

/* Removes entry i from n in place (the references are the caller's). */
static void
remove_entry(pmap__hnode *n, unsigned i)
{
    unsigned words = pmap__hwords(n);
    memmove(&n->slot[2 * i], &n->slot[2 * i + 2], 8 * (size_t)(words - 2 * i - 2));
    if (pmap__hcoll(n)) {
        n->datamap--;
    } else {
        uint32_t m = n->datamap;
        for (unsigned k = 0; k < i; k++)
            m &= m - 1;
        n->datamap &= ~(m & -m);
    }
}

/* Copies src's contents into the empty node dst (capacity suffices), without entry skip. */
static void
copy_content(pmap__hnode *dst, const pmap__hnode *src, int skip)
{
    unsigned words = pmap__hwords(src);
    if (skip < 0) {
        memcpy(dst->slot, src->slot, 8 * (size_t)words);
    } else {
        unsigned s = 2 * (unsigned)skip;
        memcpy(dst->slot, src->slot, 8 * (size_t)s);
        memcpy(&dst->slot[s], &src->slot[s + 2], 8 * (size_t)(words - s - 2));
    }
    dst->datamap = src->datamap;
    if (!pmap__hcoll(src))
        dst->nodemap = src->nodemap;
    if (skip >= 0) {
        if (pmap__hcoll(src)) {
            dst->datamap--;
        } else {
            uint32_t m = src->datamap;
            for (int k = 0; k < skip; k++)
                m &= m - 1;
            dst->datamap &= ~(m & -m);
        }
    }
}

/*
 * Returns a node the txn may change in place, holding n's contents minus entry
 * skip (-1: none) with capacity >= need words, following the copy rules: n
 * itself if mutable (grown if needed), else a copy that moves (2a) or shares
 * (2b) n's references — exact-size for the first write of a transaction to
 * the line, with slack during a batch. The references of the skipped entry
 * are then the caller's (to release or to move elsewhere). The caller stores
 * the result where n was. NULL on NOMEM (txn poisoned; n's version untouched).
 */
static pmap__hnode *
own(wctx *w, pmap__hnode *n, unsigned need, int skip)
{
    pmap_txn *txn = w->txn;
    bool coll = pmap__hcoll(n);
    pmap__hnode *c;
    if (pmap__node_mutable(txn, &n->hdr)) {
        if (skip >= 0)
            remove_entry(n, (unsigned)skip);
        if (need <= pmap__hcap(n))
            return n;
        c = node_alloc(w, coll, slack(need, coll));
        if (c == NULL)
            return NULL;
        copy_content(c, n, -1);
        pmap__node_discard(txn, &n->hdr);
        return c;
    }
    bool excl = pmap__node_exclusive(txn, &n->hdr);
    unsigned ne = pmap__hentries(n), nc = pmap__hchildren(n);
    size_t undo = excl ? 0 : (size_t)ne * 2 + nc;
    if (pmap__log_reserve(txn, undo, 1, w->err) != CC_OK)
        return NULL;
    CC_ASSERT(need + (skip >= 0 ? 2 : 0) >= pmap__hwords(n));
    c = node_alloc(w, coll, w->batch ? slack(need, coll) : need);
    if (c == NULL)
        return NULL;
    copy_content(c, n, skip);
    if (excl) {
        pmap__retire_node(txn, &n->hdr, w->cls);
        return c;
    }
    for (unsigned i = 0; i < ne; i++) {
        if (w->type->key_kind == PMAP_KEY_BYTES)
            pmap__share_key(txn, (pmap__key *)(uintptr_t)n->slot[2 * i]);
        pmap__share_value(txn, pmap__hptr(n->slot[2 * i + 1]), w->ops);
    }
    for (unsigned j = 0; j < nc; j++)
        pmap__share_node(txn, &pmap__hchild(n, j)->hdr, w->cls);
    pmap__release_node(txn, &n->hdr, w->cls);
    return c;
}

/* Inserts entry (kw, v) at bit into normal node n (capacity suffices). */
static void
insert_entry(pmap__hnode *n, uint32_t bit, uint64_t kw, void *v)
{
    unsigned i = pmap__hpc(n->datamap & (bit - 1));
    unsigned words = pmap__hwords(n);
    memmove(&n->slot[2 * i + 2], &n->slot[2 * i], 8 * (size_t)(words - 2 * i));
    n->slot[2 * i] = kw;
    n->slot[2 * i + 1] = (uint64_t)(uintptr_t)v;
    n->datamap |= bit;
}

/* Inserts child c at bit into normal node n (capacity suffices). */
static void
insert_child(pmap__hnode *n, uint32_t bit, pmap__hnode *c)
{
    unsigned base = 2 * pmap__hpc(n->datamap), j = pmap__hpc(n->nodemap & (bit - 1));
    unsigned nc = pmap__hpc(n->nodemap);
    memmove(&n->slot[base + j + 1], &n->slot[base + j], 8 * (size_t)(nc - j));
    n->slot[base + j] = (uint64_t)(uintptr_t)c;
    n->nodemap |= bit;
}

/* Replaces the child at bit of normal node n by entry (kw, v) (capacity >= words + 1). */
static void
child_to_entry(pmap__hnode *n, uint32_t bit, uint64_t kw, void *v)
{
    unsigned base = 2 * pmap__hpc(n->datamap), j = pmap__hpc(n->nodemap & (bit - 1));
    unsigned nc = pmap__hpc(n->nodemap);
    memmove(&n->slot[base + j], &n->slot[base + j + 1], 8 * (size_t)(nc - j - 1));
    n->nodemap &= ~bit;
    insert_entry(n, bit, kw, v);
}

/* The key word for a new entry: the id, or a fresh blob (one reserved undo push). */
static cc_code
make_key(wctx *w, const pmap__hprobe *p, uint64_t *kw)
{
    if (w->type->key_kind == PMAP_KEY_U64) {
        *kw = p->id;
        return CC_OK;
    }
    pmap__key *k = pmap__key_new(w->txn, p->bytes, p->len, p->hash, w->err);
    if (k == NULL)
        return CC_NOMEM;
    *kw = (uint64_t)(uintptr_t)k;
    return CC_OK;
}

/*
 * A new subtree at level holding the two entries (distinct keys). Takes over
 * the entries' references. NULL on NOMEM.
 */
static pmap__hnode *
make_pair(wctx *w, uint64_t k1, uint64_t v1, uint64_t h1, uint64_t k2, uint64_t v2, uint64_t h2,
          unsigned level)
{
    pmap__hnode *c;
    if (level == PMAP__HCOLL_LEVEL) {
        c = node_alloc(w, true, 4);
        if (c == NULL)
            return NULL;
        pmap__hprobe p2 = pmap__hkw_probe(w->type, k2);
        bool first = pmap__hkey_cmp(w->type->key_kind, k1, &p2) < 0;
        c->slot[0] = first ? k1 : k2;
        c->slot[1] = first ? v1 : v2;
        c->slot[2] = first ? k2 : k1;
        c->slot[3] = first ? v2 : v1;
        c->datamap = 2;
        return c;
    }
    unsigned s1 = pmap__hslice(h1, level), s2 = pmap__hslice(h2, level);
    if (s1 == s2) {
        pmap__hnode *sub = make_pair(w, k1, v1, h1, k2, v2, h2, level + 1);
        if (sub == NULL)
            return NULL;
        c = node_alloc(w, false, 1);
        if (c == NULL)
            return NULL;
        c->nodemap = 1u << s1;
        c->slot[0] = (uint64_t)(uintptr_t)sub;
        return c;
    }
    c = node_alloc(w, false, 4);
    if (c == NULL)
        return NULL;
    bool first = s1 < s2;
    c->slot[0] = first ? k1 : k2;
    c->slot[1] = first ? v1 : v2;
    c->slot[2] = first ? k2 : k1;
    c->slot[3] = first ? v2 : v1;
    c->datamap = (1u << s1) | (1u << s2);
    return c;
}

/*
 * Where a node on a write path hangs: slot is a child slot of an owned parent,
 * or NULL for the map's root. Slots are only accessed as uint64_t words.
 */
static inline pmap__hnode *
hung(const pmap_hamt *m, const uint64_t *slot)
{
    return slot == NULL ? m->root : (pmap__hnode *)(uintptr_t)*slot;
}

static inline void
hang(pmap_hamt *m, uint64_t *slot, pmap__hnode *n)
{
    if (slot == NULL)
        m->root = n;
    else
        *slot = (uint64_t)(uintptr_t)n;
}

/* The slot of owned node c that holds the child at bit. */
static inline uint64_t *
child_slot(pmap__hnode *c, uint32_t bit)
{
    return &c->slot[2 * pmap__hpc(c->datamap) + pmap__hpc(c->nodemap & (bit - 1))];
}

/* --- insert ------------------------------------------------------------------ */

/* Replaces the value of entry i of the node at slot. */
static cc_code
replace_at(wctx *w, pmap_hamt *m, uint64_t *slot, unsigned i, void *value)
{
    pmap__hnode *n = hung(m, slot);
    pmap__hnode *c = own(w, n, pmap__hwords(n), -1);
    if (c == NULL)
        return CC_NOMEM;
    hang(m, slot, c);
    if (pmap__log_reserve(w->txn, 1, 1, w->err) != CC_OK)
        return CC_NOMEM;
    void *old = pmap__hptr(c->slot[2 * i + 1]);
    pmap__release_value(w->txn, old, w->ops);
    pmap__retain_value(w->txn, value, w->ops);
    c->slot[2 * i + 1] = (uint64_t)(uintptr_t)value;
    pmap__fp_sub(&m->fp, pmap__hentry_fp(w->type, c->slot[2 * i], old));
    pmap__fp_add(&m->fp, pmap__hentry_fp(w->type, c->slot[2 * i], value));
    return CC_OK;
}

/* Inserts or replaces in the collision node at slot. */
static cc_code
put_collision(wctx *w, pmap_hamt *m, uint64_t *slot, const pmap__hprobe *p, void *value,
              bool *replaced)
{
    pmap__hnode *n = hung(m, slot);
    unsigned cnt = n->datamap, i = 0;
    int c = -1;
    while (i < cnt && (c = pmap__hkey_cmp(w->type->key_kind, n->slot[2 * i], p)) < 0)
        i++;
    if (i < cnt && c == 0) {
        *replaced = true;
        return replace_at(w, m, slot, i, value);
    }
    uint64_t kw;
    if (pmap__log_reserve(w->txn, 2, 0, w->err) != CC_OK || make_key(w, p, &kw) != CC_OK)
        return CC_NOMEM;
    pmap__retain_value(w->txn, value, w->ops);
    pmap__hnode *o = own(w, n, 2 * (cnt + 1), -1);
    if (o == NULL)
        return CC_NOMEM;
    hang(m, slot, o);
    memmove(&o->slot[2 * i + 2], &o->slot[2 * i], 8 * (size_t)(2 * (cnt - i)));
    o->slot[2 * i] = kw;
    o->slot[2 * i + 1] = (uint64_t)(uintptr_t)value;
    o->datamap = cnt + 1;
    m->count++;
    pmap__fp_add(&m->fp, pmap__hentry_fp(w->type, kw, value));
    *replaced = false;
    return CC_OK;
}

/* Inserts or replaces p -> value in m (arguments validated). */
static cc_code
put(wctx *w, pmap_hamt *m, const pmap__hprobe *p, void *value, bool *replaced)
{
    pmap_txn *txn = w->txn;
    uint64_t kw;
    *replaced = false;
    w->batch = m->root != NULL && pmap__node_mutable(txn, &m->root->hdr);
    if (m->root == NULL) {
        if (pmap__log_reserve(txn, 2, 0, w->err) != CC_OK || make_key(w, p, &kw) != CC_OK)
            return CC_NOMEM;
        pmap__retain_value(txn, value, w->ops);
        pmap__hnode *n = node_alloc(w, false, 2);
        if (n == NULL)
            return CC_NOMEM;
        n->datamap = 1u << pmap__hslice(p->hash, 0);
        n->slot[0] = kw;
        n->slot[1] = (uint64_t)(uintptr_t)value;
        m->root = n;
        m->count = 1;
        pmap__fp_add(&m->fp, pmap__hentry_fp(w->type, kw, value));
        return CC_OK;
    }
    uint64_t *slot = NULL;
    for (unsigned level = 0;; level++) {
        pmap__hnode *n = hung(m, slot);
        if (level == PMAP__HCOLL_LEVEL)
            return put_collision(w, m, slot, p, value, replaced);
        uint32_t bit = 1u << pmap__hslice(p->hash, level);
        if (n->datamap & bit) {
            unsigned i = pmap__hpc(n->datamap & (bit - 1));
            uint64_t okw = n->slot[2 * i];
            if (pmap__hkey_eq(w->type->key_kind, okw, p)) {
                *replaced = true;
                return replace_at(w, m, slot, i, value);
            }
            /* Split: the entry and the new key go down into a new subtree. */
            if (pmap__log_reserve(txn, 2, 0, w->err) != CC_OK || make_key(w, p, &kw) != CC_OK)
                return CC_NOMEM;
            pmap__retain_value(txn, value, w->ops);
            pmap__hnode *sub = make_pair(w, okw, n->slot[2 * i + 1], pmap__hkw_hash(w->type, okw),
                                         kw, (uint64_t)(uintptr_t)value, p->hash, level + 1);
            if (sub == NULL)
                return CC_NOMEM;
            pmap__hnode *c = own(w, n, pmap__hwords(n) - 1, (int)i);
            if (c == NULL)
                return CC_NOMEM;
            hang(m, slot, c);
            insert_child(c, bit, sub);
            break;
        }
        if (n->nodemap & bit) {
            pmap__hnode *c = own(w, n, pmap__hwords(n), -1);
            if (c == NULL)
                return CC_NOMEM;
            hang(m, slot, c);
            slot = child_slot(c, bit);
            continue;
        }
        if (pmap__log_reserve(txn, 2, 0, w->err) != CC_OK || make_key(w, p, &kw) != CC_OK)
            return CC_NOMEM;
        pmap__retain_value(txn, value, w->ops);
        pmap__hnode *c = own(w, n, pmap__hwords(n) + 2, -1);
        if (c == NULL)
            return CC_NOMEM;
        hang(m, slot, c);
        insert_entry(c, bit, kw, value);
        break;
    }
    m->count++;
    pmap__fp_add(&m->fp, pmap__hentry_fp(w->type, kw, value));
    return CC_OK;
}

/* --- delete ------------------------------------------------------------------ */

/*
 * Rule 4 for the chain path[from..to] of nodes leaving the version (each the
 * only child of the previous one): discards, retires or releases them. Returns
 * true if a shared node was released, in which case the entries under it are
 * still referenced by it (the caller shares what it keeps and releases
 * nothing); false if the caller now owns their references. Needs to - from + 1
 * reserved redo pushes.
 */
static bool
drop_chain(wctx *w, pmap__hnode *const *path, unsigned from, unsigned to)
{
    for (unsigned i = from; i <= to; i++) {
        pmap__hdr *x = &path[i]->hdr;
        if (pmap__node_mutable(w->txn, x)) {
            pmap__node_discard(w->txn, x);
        } else if (pmap__node_exclusive(w->txn, x)) {
            pmap__retire_node(w->txn, x, w->cls);
        } else {
            pmap__release_node(w->txn, x, w->cls);
            return true;
        }
    }
    return false;
}

/* Releases a removed entry's key and value (needs 2 reserved redo pushes). */
static void
release_entry(wctx *w, uint64_t kw, void *v)
{
    if (w->type->key_kind == PMAP_KEY_BYTES)
        pmap__release_key(w->txn, (pmap__key *)(uintptr_t)kw);
    pmap__release_value(w->txn, v, w->ops);
}

/* Copies path[0..upto-1] for writing; sets *slot to where path[upto] hangs. */
static cc_code
own_path(wctx *w, pmap_hamt *m, pmap__hnode *const *path, const uint32_t *bits, unsigned upto,
         uint64_t **slot)
{
    *slot = NULL;
    for (unsigned i = 0; i < upto; i++) {
        pmap__hnode *c = own(w, path[i], pmap__hwords(path[i]), -1);
        if (c == NULL)
            return CC_NOMEM;
        hang(m, *slot, c);
        *slot = child_slot(c, bits[i]);
    }
    return CC_OK;
}

/* Removes p from m if present (arguments validated). */
static cc_code
del(wctx *w, pmap_hamt *m, const pmap__hprobe *p, bool *removed)
{
    pmap__hnode *path[PMAP__HCOLL_LEVEL + 1];
    uint32_t bits[PMAP__HCOLL_LEVEL + 1];
    unsigned d = 0;
    int idx = -1;
    pmap__hnode *n = m->root;
    *removed = false;
    w->batch = n != NULL && pmap__node_mutable(w->txn, &n->hdr);
    while (n != NULL) {
        path[d] = n;
        if (d == PMAP__HCOLL_LEVEL) {
            for (unsigned i = 0; i < n->datamap && idx < 0; i++)
                if (pmap__hkey_eq(w->type->key_kind, n->slot[2 * i], p))
                    idx = (int)i;
            break;
        }
        uint32_t bit = 1u << pmap__hslice(p->hash, d);
        bits[d] = bit;
        if (n->datamap & bit) {
            unsigned i = pmap__hpc(n->datamap & (bit - 1));
            if (pmap__hkey_eq(w->type->key_kind, n->slot[2 * i], p))
                idx = (int)i;
            break;
        }
        if (!(n->nodemap & bit))
            break;
        n = (pmap__hnode *)(uintptr_t)
                n->slot[2 * pmap__hpc(n->datamap) + pmap__hpc(n->nodemap & (bit - 1))];
        d++;
    }
    if (idx < 0)
        return CC_OK;

    pmap__hnode *nd = path[d];
    uint64_t kw = nd->slot[2 * idx];
    void *v = pmap__hptr(nd->slot[2 * idx + 1]);
    pmap_fp fp = pmap__hentry_fp(w->type, kw, v);
    unsigned ne_after = pmap__hentries(nd) - 1, nc = pmap__hchildren(nd);

    if (d == 0 && ne_after == 0 && nc == 0) {
        /* The last entry: the root leaves the version. */
        if (pmap__log_reserve(w->txn, 0, 3, w->err) != CC_OK)
            return CC_NOMEM;
        if (!drop_chain(w, path, 0, 0))
            release_entry(w, kw, v);
        m->root = NULL;
    } else if (d == 0 || ne_after != 1 || nc != 0) {
        uint64_t *slot;
        if (own_path(w, m, path, bits, d, &slot) != CC_OK)
            return CC_NOMEM;
        pmap__hnode *c = own(w, nd, pmap__hwords(nd) - 2, idx);
        if (c == NULL)
            return CC_NOMEM;
        hang(m, slot, c);
        if (pmap__log_reserve(w->txn, 0, 2, w->err) != CC_OK)
            return CC_NOMEM;
        release_entry(w, kw, v);
    } else {
        /*
         * nd keeps a single entry: it and every ancestor that would then hold
         * only that entry leave; the entry moves up into path[j].
         */
        unsigned j = d - 1;
        while (j > 0 && pmap__hentries(path[j]) == 0 && pmap__hchildren(path[j]) == 1)
            j--;
        unsigned keep = idx == 0 ? 1 : 0;
        uint64_t kkw = nd->slot[2 * keep];
        void *kv = pmap__hptr(nd->slot[2 * keep + 1]);
        uint64_t *slot;
        if (own_path(w, m, path, bits, j, &slot) != CC_OK)
            return CC_NOMEM;
        pmap__hnode *c = own(w, path[j], pmap__hwords(path[j]) + 1, -1);
        if (c == NULL)
            return CC_NOMEM;
        hang(m, slot, c);
        if (pmap__log_reserve(w->txn, 2, d - j + 2, w->err) != CC_OK)
            return CC_NOMEM;
        if (drop_chain(w, path, j + 1, d)) {
            if (w->type->key_kind == PMAP_KEY_BYTES)
                pmap__share_key(w->txn, (pmap__key *)(uintptr_t)kkw);
            pmap__share_value(w->txn, kv, w->ops);
        } else {
            release_entry(w, kw, v);
        }
        child_to_entry(c, bits[j], kkw, kv);
    }
    m->count--;
    pmap__fp_sub(&m->fp, fp);
    *removed = true;
    return CC_OK;
}

/* --- public: lifecycle and reads ------------------------------------------- */

void
pmap_hamt_init(pmap_hamt *m, pmap_domain *d, const pmap_hamt_type *type)
{
    m->root = NULL;
    m->type = type;
    m->domain = d;
    m->count = 0;
    m->fp = (pmap_fp){0, 0};
}

void
pmap_hamt_clone(const pmap_hamt *src, pmap_hamt *dst)
{
    *dst = *src;
    if (src->root != NULL) {
        CC_ASSERT(src->root->hdr.owner == PMAP__OWNER_SEALED);
        pmap__node_ref(&src->root->hdr);
    }
}

cc_code
pmap_hamt_drop(pmap_txn *txn, pmap_hamt *m, cc_err *err)
{
    if (txn == NULL || m == NULL)
        return cc_err_set(err, CC_INVALID, "pmap_hamt_drop: NULL argument");
    cc_code rc = pmap__txn_check(txn, err);
    if (rc != CC_OK)
        return rc;
    if (m->root != NULL) {
        rc = pmap__log_reserve(txn, 0, 1, err);
        if (rc != CC_OK)
            return rc;
        pmap__drop_root(txn, &m->root->hdr, class_of(m->type));
    }
    m->root = NULL;
    m->count = 0;
    m->fp = (pmap_fp){0, 0};
    return CC_OK;
}

void *
pmap_hamt_find_u64(const pmap_hamt *m, uint64_t id)
{
    const pmap_hamt_type *t = m->type;
    if (CC_UNLIKELY(t->key_kind != PMAP_KEY_U64))
        return NULL;
    uint64_t h = t->hash_u64 != NULL ? t->hash_u64(id) : cc_hash_u64(id);
    const pmap__hnode *n = m->root;
    for (unsigned level = 0; n != NULL; level++) {
        if (CC_UNLIKELY(level == PMAP__HCOLL_LEVEL)) {
            for (unsigned i = 0; i < n->datamap; i++)
                if (n->slot[2 * i] == id)
                    return pmap__hptr(n->slot[2 * i + 1]);
            return NULL;
        }
        uint32_t bit = 1u << (h & 31);
        h >>= 5;
        uint32_t dm = n->datamap;
        if (dm & bit) {
            unsigned i = pmap__hpc(dm & (bit - 1));
            return n->slot[2 * i] == id ? pmap__hptr(n->slot[2 * i + 1]) : NULL;
        }
        if (!(n->nodemap & bit))
            return NULL;
        n = (const pmap__hnode *)(uintptr_t)
                n->slot[2 * pmap__hpc(dm) + pmap__hpc(n->nodemap & (bit - 1))];
    }
    return NULL;
}

void *
pmap_hamt_find_bytes(const pmap_hamt *m, const void *key, size_t len)
{
    const pmap_hamt_type *t = m->type;
    if (CC_UNLIKELY(t->key_kind != PMAP_KEY_BYTES || (key == NULL && len > 0)))
        return NULL;
    pmap__hprobe p = {.bytes = key, .len = len, .hash = pmap__hhash_bytes(t, key, len)};
    const uint64_t *e = pmap__hfind(t, m->root, 0, &p);
    return e != NULL ? pmap__hptr(e[1]) : NULL;
}

/* --- public: writes -------------------------------------------------------- */

/* Common checks of every write; fills w. */
static cc_code
write_begin(wctx *w, pmap_txn *txn, pmap_hamt *m, pmap_key_kind kind, bool value_ok,
            const char *what, cc_err *err)
{
    if (txn == NULL || m == NULL)
        return cc_err_set(err, CC_INVALID, "%s: NULL transaction or map", what);
    cc_code rc = pmap__txn_check(txn, err);
    if (rc != CC_OK)
        return rc;
    if (m->type == NULL || m->type->key_kind != kind)
        return cc_err_set(err, CC_INVALID, "%s: wrong key kind for this map", what);
    if (pmap_txn_domain(txn) != m->domain)
        return cc_err_set(err, CC_INVALID, "%s: map and transaction belong to other domains", what);
    if (!value_ok)
        return cc_err_set(err, CC_INVALID, "%s: NULL value", what);
    wctx_init(w, txn, m->type, err);
    return CC_OK;
}

static cc_code
bytes_key_ok(const void *key, size_t len, const char *what, cc_err *err)
{
    if (key == NULL && len > 0)
        return cc_err_set(err, CC_INVALID, "%s: NULL key with length %zu", what, len);
    if (len > UINT32_MAX)
        return cc_err_set(err, CC_INVALID, "%s: key of %zu bytes is too long", what, len);
    return CC_OK;
}

cc_code
pmap_hamt_put_u64(pmap_txn *txn, pmap_hamt *m, uint64_t id, void *value, bool *replaced,
                  cc_err *err)
{
    wctx w;
    bool r;
    cc_code rc = write_begin(&w, txn, m, PMAP_KEY_U64, value != NULL, "pmap_hamt_put_u64", err);
    if (rc != CC_OK)
        return rc;
    pmap__hprobe p = {.id = id, .hash = pmap__hhash_id(m->type, id)};
    rc = put(&w, m, &p, value, &r);
    if (rc == CC_OK && replaced != NULL)
        *replaced = r;
    return rc;
}

cc_code
pmap_hamt_put_bytes(pmap_txn *txn, pmap_hamt *m, const void *key, size_t len, void *value,
                    bool *replaced, cc_err *err)
{
    wctx w;
    bool r;
    cc_code rc = write_begin(&w, txn, m, PMAP_KEY_BYTES, value != NULL, "pmap_hamt_put_bytes", err);
    if (rc == CC_OK)
        rc = bytes_key_ok(key, len, "pmap_hamt_put_bytes", err);
    if (rc != CC_OK)
        return rc;
    pmap__hprobe p = {.bytes = key, .len = len, .hash = pmap__hhash_bytes(m->type, key, len)};
    rc = put(&w, m, &p, value, &r);
    if (rc == CC_OK && replaced != NULL)
        *replaced = r;
    return rc;
}

cc_code
pmap_hamt_del_u64(pmap_txn *txn, pmap_hamt *m, uint64_t id, bool *removed, cc_err *err)
{
    wctx w;
    bool r;
    cc_code rc = write_begin(&w, txn, m, PMAP_KEY_U64, true, "pmap_hamt_del_u64", err);
    if (rc != CC_OK)
        return rc;
    pmap__hprobe p = {.id = id, .hash = pmap__hhash_id(m->type, id)};
    rc = del(&w, m, &p, &r);
    if (rc == CC_OK && removed != NULL)
        *removed = r;
    return rc;
}

cc_code
pmap_hamt_del_bytes(pmap_txn *txn, pmap_hamt *m, const void *key, size_t len, bool *removed,
                    cc_err *err)
{
    wctx w;
    bool r;
    cc_code rc = write_begin(&w, txn, m, PMAP_KEY_BYTES, true, "pmap_hamt_del_bytes", err);
    if (rc == CC_OK)
        rc = bytes_key_ok(key, len, "pmap_hamt_del_bytes", err);
    if (rc != CC_OK)
        return rc;
    pmap__hprobe p = {.bytes = key, .len = len, .hash = pmap__hhash_bytes(m->type, key, len)};
    rc = del(&w, m, &p, &r);
    if (rc == CC_OK && removed != NULL)
        *removed = r;
    return rc;
}

/* --- bulk build -------------------------------------------------------------- */

/* One input entry: its hash with the 5-bit slices reversed (so numeric order is trie order). */
typedef struct bitem {
    uint64_t t;   /* slice 0 in the top 5 bits, ..., slice 12 in the low 4 */
    uint64_t idx; /* index into the input arrays */
} bitem;

static uint64_t
trie_order(uint64_t h)
{
    uint64_t t = h >> 60;
    for (unsigned l = 0; l < 12; l++)
        t |= (uint64_t)pmap__hslice(h, l) << (59 - 5 * l);
    return t;
}

static uint64_t
trie_order_inverse(uint64_t t)
{
    uint64_t h = (t & 15) << 60;
    for (unsigned l = 0; l < 12; l++)
        h |= ((t >> (59 - 5 * l)) & 31) << (5 * l);
    return h;
}

static inline unsigned
t_slice(uint64_t t, unsigned level)
{
    return level < 12 ? (unsigned)(t >> (59 - 5 * level)) & 31u : (unsigned)(t & 15);
}

/* LSD radix sort of a[0..n) by t, 11 bits per pass; returns the sorted buffer (a or tmp). */
static bitem *
radix_sort(bitem *a, bitem *tmp, size_t n)
{
    static const unsigned R = 11, B = 1u << 11;
    size_t cnt[1u << 11];
    for (unsigned shift = 0; shift < 64; shift += R) {
        memset(cnt, 0, sizeof cnt);
        for (size_t i = 0; i < n; i++)
            cnt[(a[i].t >> shift) & (B - 1)]++;
        if (cnt[(a[0].t >> shift) & (B - 1)] == n)
            continue;
        size_t sum = 0;
        for (unsigned b = 0; b < B; b++) {
            size_t c = cnt[b];
            cnt[b] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++)
            tmp[cnt[(a[i].t >> shift) & (B - 1)]++] = a[i];
        bitem *s = a;
        a = tmp;
        tmp = s;
    }
    return a;
}

typedef struct build_in {
    pmap_key_kind kind;
    const uint64_t *ids;
    const pmap_bytes *keys;
    void *const *values;
} build_in;

/* qsort_r order of entries with equal hashes: by key (collision-node order). */
static int
cmp_by_key(const void *a, const void *b, void *arg)
{
    const build_in *in = arg;
    uint64_t i = ((const bitem *)a)->idx, j = ((const bitem *)b)->idx;
    if (in->kind == PMAP_KEY_U64)
        return in->ids[i] < in->ids[j] ? -1 : in->ids[i] > in->ids[j];
    pmap_bytes x = in->keys[i], y = in->keys[j];
    size_t m = x.len < y.len ? x.len : y.len;
    int c = m > 0 ? memcmp(x.ptr, y.ptr, m) : 0;
    if (c != 0)
        return c;
    return x.len < y.len ? -1 : x.len > y.len;
}

/* Creates the key word and retains the value of input item it (2 reserved undo pushes). */
static cc_code
build_entry(wctx *w, const build_in *in, const bitem *it, uint64_t *kw, uint64_t *v)
{
    void *value = in->values[it->idx];
    if (in->kind == PMAP_KEY_U64) {
        *kw = in->ids[it->idx];
    } else {
        pmap__hprobe p = {.bytes = in->keys[it->idx].ptr,
                          .len = in->keys[it->idx].len,
                          .hash = trie_order_inverse(it->t)};
        if (make_key(w, &p, kw) != CC_OK)
            return CC_NOMEM;
    }
    pmap__retain_value(w->txn, value, w->ops);
    *v = (uint64_t)(uintptr_t)value;
    return CC_OK;
}

/* Builds the exact-size subtree at level for the sorted items it[0..n), n >= 1. */
static pmap__hnode *
build_rec(wctx *w, const build_in *in, const bitem *it, size_t n, unsigned level)
{
    pmap__hnode *c;
    if (level == PMAP__HCOLL_LEVEL) {
        c = node_alloc(w, true, 2 * (unsigned)n);
        if (c == NULL)
            return NULL;
        for (size_t i = 0; i < n; i++)
            if (build_entry(w, in, &it[i], &c->slot[2 * i], &c->slot[2 * i + 1]) != CC_OK)
                return NULL;
        c->datamap = (uint32_t)n;
        return c;
    }
    uint64_t ek[32], ev[32], ch[32];
    uint32_t dm = 0, nm = 0;
    unsigned ne = 0, nc = 0;
    for (size_t i = 0; i < n;) {
        unsigned s = t_slice(it[i].t, level);
        size_t e = i + 1;
        while (e < n && t_slice(it[e].t, level) == s)
            e++;
        if (e - i == 1) {
            if (build_entry(w, in, &it[i], &ek[ne], &ev[ne]) != CC_OK)
                return NULL;
            ne++;
            dm |= 1u << s;
        } else {
            pmap__hnode *sub = build_rec(w, in, &it[i], e - i, level + 1);
            if (sub == NULL)
                return NULL;
            ch[nc++] = (uint64_t)(uintptr_t)sub;
            nm |= 1u << s;
        }
        i = e;
    }
    c = node_alloc(w, false, 2 * ne + nc);
    if (c == NULL)
        return NULL;
    for (unsigned i = 0; i < ne; i++) {
        c->slot[2 * i] = ek[i];
        c->slot[2 * i + 1] = ev[i];
    }
    memcpy(&c->slot[2 * ne], ch, 8 * (size_t)nc);
    c->datamap = dm;
    c->nodemap = nm;
    return c;
}

/* Bulk build shared by both key kinds (arguments validated except duplicates). */
static cc_code
build(wctx *w, pmap_hamt *m, const build_in *in, size_t n, const char *what)
{
    if (n == 0)
        return CC_OK;
    bitem *a = cc_malloc(n * sizeof *a), *tmp = cc_malloc(n * sizeof *a);
    if (a == NULL || tmp == NULL) {
        cc_free(a);
        cc_free(tmp);
        return pmap__txn_fail_nomem(w->txn, w->err, "sorting a bulk map build");
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t h = in->kind == PMAP_KEY_U64
                         ? pmap__hhash_id(w->type, in->ids[i])
                         : pmap__hhash_bytes(w->type, in->keys[i].ptr, in->keys[i].len);
        a[i] = (bitem){trie_order(h), i};
    }
    bitem *s = radix_sort(a, tmp, n);
    cc_code rc = CC_OK;
    for (size_t i = 0; i < n && rc == CC_OK;) {
        size_t e = i + 1;
        while (e < n && s[e].t == s[i].t)
            e++;
        if (e - i > 1) {
            qsort_r(&s[i], e - i, sizeof *s, cmp_by_key, (void *)in);
            for (size_t k = i + 1; k < e; k++)
                if (cmp_by_key(&s[k - 1], &s[k], (void *)in) == 0)
                    rc = cc_err_set(w->err, CC_INVALID, "%s: duplicate key at input %zu", what,
                                    (size_t)s[k].idx);
        }
        i = e;
    }
    if (rc == CC_OK)
        rc = pmap__log_reserve(w->txn, 2 * n, 0, w->err);
    if (rc == CC_OK) {
        pmap__hnode *root = build_rec(w, in, s, n, 0);
        if (root == NULL) {
            rc = CC_NOMEM;
        } else {
            pmap_fp fp = {0, 0};
            for (size_t i = 0; i < n; i++) {
                uint64_t kw = in->kind == PMAP_KEY_U64 ? in->ids[i] : 0;
                if (in->kind == PMAP_KEY_U64) {
                    pmap__fp_add(&fp, pmap__hentry_fp(w->type, kw, in->values[i]));
                } else {
                    uint64_t kh = cc_hash_bytes(in->keys[i].ptr, in->keys[i].len);
                    pmap__fp_add(&fp, pmap__fp_entry(kh, pmap__value_hash(in->values[i], w->ops)));
                }
            }
            m->root = root;
            m->count = n;
            m->fp = fp;
        }
    }
    cc_free(a);
    cc_free(tmp);
    return rc;
}

/* Checks the parts of a build request common to both key kinds. */
static cc_code
build_begin(wctx *w, pmap_txn *txn, pmap_hamt *m, pmap_key_kind kind, void *const *values, size_t n,
            const char *what, cc_err *err)
{
    bool values_ok = n == 0 || values != NULL;
    for (size_t i = 0; values_ok && i < n; i++)
        values_ok = values[i] != NULL;
    cc_code rc = write_begin(w, txn, m, kind, values_ok, what, err);
    if (rc != CC_OK)
        return rc;
    if (m->root != NULL || m->count != 0)
        return cc_err_set(err, CC_INVALID, "%s: the map is not empty", what);
    return CC_OK;
}

cc_code
pmap_hamt_build_u64(pmap_txn *txn, pmap_hamt *m, const uint64_t *ids, void *const *values, size_t n,
                    cc_err *err)
{
    wctx w;
    cc_code rc = build_begin(&w, txn, m, PMAP_KEY_U64, values, n, "pmap_hamt_build_u64", err);
    if (rc != CC_OK)
        return rc;
    if (n > 0 && ids == NULL)
        return cc_err_set(err, CC_INVALID, "pmap_hamt_build_u64: NULL ids");
    build_in in = {.kind = PMAP_KEY_U64, .ids = ids, .values = values};
    return build(&w, m, &in, n, "pmap_hamt_build_u64");
}

cc_code
pmap_hamt_build_bytes(pmap_txn *txn, pmap_hamt *m, const pmap_bytes *keys, void *const *values,
                      size_t n, cc_err *err)
{
    wctx w;
    cc_code rc = build_begin(&w, txn, m, PMAP_KEY_BYTES, values, n, "pmap_hamt_build_bytes", err);
    if (rc != CC_OK)
        return rc;
    if (n > 0 && keys == NULL)
        return cc_err_set(err, CC_INVALID, "pmap_hamt_build_bytes: NULL keys");
    for (size_t i = 0; i < n; i++) {
        rc = bytes_key_ok(keys[i].ptr, keys[i].len, "pmap_hamt_build_bytes", err);
        if (rc != CC_OK)
            return rc;
    }
    build_in in = {.kind = PMAP_KEY_BYTES, .keys = keys, .values = values};
    return build(&w, m, &in, n, "pmap_hamt_build_bytes");
}
