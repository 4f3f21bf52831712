/*
 * pmap/src/hamt_walk.c — the read-only walks of the CHAMP map (see
 * pmap/hamt.h): iteration, structural diff, the invariant check and shape
 * statistics. Node layout and helpers: hamt_node.h.
 *
 * Diff walks both tries in parallel over datamap | nodemap of each node pair
 * and skips pointer-equal subtrees, so versions derived from each other cost
 * O(changes * depth). Because deletes keep the canonical form, equal contents
 * have equal shapes and every slot pairs up: entry/entry (same key: changed
 * or not; different keys: removed + added), node/node (recurse), entry/node
 * (look the entry up in the subtree, the rest is added or removed), and
 * collision nodes (sorted by key: a merge).
 */
#include <string.h>

#include "hamt_node.h"
#include "pmap/hamt.h"
#include "pmap_internal.h"

/* --- iteration ----------------------------------------------------------------- */

void
pmap_hamt_iter_init(pmap_hamt_iter *it, const pmap_hamt *m)
{
    it->map = m;
    it->depth = 0;
    if (m->root != NULL) {
        it->stack[0].node = m->root;
        it->stack[0].entry = 0;
        it->stack[0].child = 0;
        it->depth = 1;
    }
}

bool
pmap_hamt_iter_next(pmap_hamt_iter *it, uint64_t *id, pmap_bytes *key, void **value)
{
    while (it->depth > 0) {
        unsigned level = it->depth - 1;
        const pmap__hnode *n = it->stack[level].node;
        bool coll = level == PMAP__HCOLL_LEVEL;
        unsigned ne = coll ? n->datamap : pmap__hpc(n->datamap);
        unsigned e = it->stack[level].entry;
        if (e < ne) {
            it->stack[level].entry = e + 1;
            uint64_t kw = n->slot[2 * e];
            if (it->map->type->key_kind == PMAP_KEY_U64) {
                if (id != NULL)
                    *id = kw;
                if (key != NULL)
                    *key = (pmap_bytes){NULL, 0};
            } else {
                if (id != NULL)
                    *id = 0;
                if (key != NULL)
                    *key = (pmap_bytes){pmap__hkey(kw)->bytes, pmap__hkey(kw)->len};
            }
            if (value != NULL)
                *value = pmap__hptr(n->slot[2 * e + 1]);
            return true;
        }
        unsigned nc = coll ? 0 : pmap__hpc(n->nodemap);
        unsigned c = it->stack[level].child;
        if (c < nc) {
            it->stack[level].child = c + 1;
            it->stack[level + 1].node = (const pmap__hnode *)(uintptr_t)n->slot[2 * ne + c];
            it->stack[level + 1].entry = 0;
            it->stack[level + 1].child = 0;
            it->depth++;
            continue;
        }
        it->depth--;
    }
    return false;
}

/* --- diff ------------------------------------------------------------------------- */

typedef struct dctx {
    const pmap_hamt_type *type;
    pmap_diff_fn fn;
    void *arg;
} dctx;

static int
emit(const dctx *c, pmap_diff_kind kind, uint64_t kw, void *ov, void *nv)
{
    pmap_diff_item item = {.kind = kind, .old_value = ov, .new_value = nv};
    if (c->type->key_kind == PMAP_KEY_U64)
        item.id = kw;
    else
        item.key = (pmap_bytes){pmap__hkey(kw)->bytes, pmap__hkey(kw)->len};
    return c->fn(c->arg, &item);
}

/* Emits every entry of subtree n (at level) as kind, except the key skip (if non-NULL). */
static int
emit_all(const dctx *c, const pmap__hnode *n, unsigned level, pmap_diff_kind kind,
         const pmap__hprobe *skip)
{
    bool coll = level == PMAP__HCOLL_LEVEL;
    unsigned ne = coll ? n->datamap : pmap__hpc(n->datamap), nc = coll ? 0 : pmap__hpc(n->nodemap);
    for (unsigned i = 0; i < ne; i++) {
        uint64_t kw = n->slot[2 * i];
        if (skip != NULL && pmap__hkey_eq(c->type->key_kind, kw, skip))
            continue;
        void *v = pmap__hptr(n->slot[2 * i + 1]);
        int r = emit(c, kind, kw, kind == PMAP_DIFF_REMOVED ? v : NULL,
                     kind == PMAP_DIFF_ADDED ? v : NULL);
        if (r != 0)
            return r;
    }
    for (unsigned j = 0; j < nc; j++) {
        int r =
            emit_all(c, (const pmap__hnode *)(uintptr_t)n->slot[2 * ne + j], level + 1, kind, skip);
        if (r != 0)
            return r;
    }
    return 0;
}

/* Entry (kw, v) of one side against subtree n (at level) of the other; a_side: entry is in a. */
static int
diff_entry_node(const dctx *c, uint64_t kw, void *v, const pmap__hnode *n, unsigned level,
                bool a_side)
{
    pmap__hprobe p = pmap__hkw_probe(c->type, kw);
    const uint64_t *e = pmap__hfind(c->type, n, level, &p);
    int r;
    if (e != NULL) {
        void *o = pmap__hptr(e[1]);
        void *ov = a_side ? v : o, *nv = a_side ? o : v;
        if (!pmap__value_equal(ov, nv, c->type->value_ops)) {
            r = emit(c, PMAP_DIFF_CHANGED, kw, ov, nv);
            if (r != 0)
                return r;
        }
    } else {
        r = emit(c, a_side ? PMAP_DIFF_REMOVED : PMAP_DIFF_ADDED, kw, a_side ? v : NULL,
                 a_side ? NULL : v);
        if (r != 0)
            return r;
    }
    return emit_all(c, n, level, a_side ? PMAP_DIFF_ADDED : PMAP_DIFF_REMOVED,
                    e != NULL ? &p : NULL);
}

/* Two collision nodes: both sorted by key, so a merge. */
static int
diff_coll(const dctx *c, const pmap__hnode *a, const pmap__hnode *b)
{
    unsigned i = 0, j = 0;
    pmap_key_kind kind = c->type->key_kind;
    while (i < a->datamap || j < b->datamap) {
        int cmp;
        if (i == a->datamap) {
            cmp = 1;
        } else if (j == b->datamap) {
            cmp = -1;
        } else {
            pmap__hprobe pb = pmap__hkw_probe(c->type, b->slot[2 * j]);
            cmp = pmap__hkey_cmp(kind, a->slot[2 * i], &pb);
        }
        int r = 0;
        if (cmp < 0) {
            r = emit(c, PMAP_DIFF_REMOVED, a->slot[2 * i], pmap__hptr(a->slot[2 * i + 1]), NULL);
            i++;
        } else if (cmp > 0) {
            r = emit(c, PMAP_DIFF_ADDED, b->slot[2 * j], NULL, pmap__hptr(b->slot[2 * j + 1]));
            j++;
        } else {
            void *ov = pmap__hptr(a->slot[2 * i + 1]), *nv = pmap__hptr(b->slot[2 * j + 1]);
            if (!pmap__value_equal(ov, nv, c->type->value_ops))
                r = emit(c, PMAP_DIFF_CHANGED, a->slot[2 * i], ov, nv);
            i++;
            j++;
        }
        if (r != 0)
            return r;
    }
    return 0;
}

static int
diff_node(const dctx *c, const pmap__hnode *a, const pmap__hnode *b, unsigned level)
{
    if (a == b)
        return 0;
    if (level == PMAP__HCOLL_LEVEL)
        return diff_coll(c, a, b);
    uint32_t all = a->datamap | a->nodemap | b->datamap | b->nodemap;
    unsigned nea = pmap__hpc(a->datamap), neb = pmap__hpc(b->datamap);
    while (all != 0) {
        uint32_t bit = all & -all;
        all &= all - 1;
        const uint64_t *ea = NULL, *eb = NULL;
        const pmap__hnode *na = NULL, *nb = NULL;
        if (a->datamap & bit)
            ea = &a->slot[2 * pmap__hpc(a->datamap & (bit - 1))];
        else if (a->nodemap & bit)
            na = (const pmap__hnode *)(uintptr_t)
                     a->slot[2 * nea + pmap__hpc(a->nodemap & (bit - 1))];
        if (b->datamap & bit)
            eb = &b->slot[2 * pmap__hpc(b->datamap & (bit - 1))];
        else if (b->nodemap & bit)
            nb = (const pmap__hnode *)(uintptr_t)
                     b->slot[2 * neb + pmap__hpc(b->nodemap & (bit - 1))];
        int r = 0;
        if (ea != NULL && eb != NULL) {
            pmap__hprobe pb = pmap__hkw_probe(c->type, eb[0]);
            if (pmap__hkey_eq(c->type->key_kind, ea[0], &pb)) {
                if (!pmap__value_equal(pmap__hptr(ea[1]), pmap__hptr(eb[1]), c->type->value_ops))
                    r = emit(c, PMAP_DIFF_CHANGED, ea[0], pmap__hptr(ea[1]), pmap__hptr(eb[1]));
            } else {
                r = emit(c, PMAP_DIFF_REMOVED, ea[0], pmap__hptr(ea[1]), NULL);
                if (r == 0)
                    r = emit(c, PMAP_DIFF_ADDED, eb[0], NULL, pmap__hptr(eb[1]));
            }
        } else if (na != NULL && nb != NULL) {
            r = diff_node(c, na, nb, level + 1);
        } else if (ea != NULL && nb != NULL) {
            r = diff_entry_node(c, ea[0], pmap__hptr(ea[1]), nb, level + 1, true);
        } else if (na != NULL && eb != NULL) {
            r = diff_entry_node(c, eb[0], pmap__hptr(eb[1]), na, level + 1, false);
        } else if (ea != NULL) {
            r = emit(c, PMAP_DIFF_REMOVED, ea[0], pmap__hptr(ea[1]), NULL);
        } else if (eb != NULL) {
            r = emit(c, PMAP_DIFF_ADDED, eb[0], NULL, pmap__hptr(eb[1]));
        } else if (na != NULL) {
            r = emit_all(c, na, level + 1, PMAP_DIFF_REMOVED, NULL);
        } else {
            r = emit_all(c, nb, level + 1, PMAP_DIFF_ADDED, NULL);
        }
        if (r != 0)
            return r;
    }
    return 0;
}

int
pmap_hamt_diff(const pmap_hamt *a, const pmap_hamt *b, pmap_diff_fn fn, void *arg)
{
    CC_ASSERT(a->type == b->type);
    dctx c = {.type = a->type, .fn = fn, .arg = arg};
    if (a->root == b->root)
        return 0;
    if (a->root == NULL)
        return emit_all(&c, b->root, 0, PMAP_DIFF_ADDED, NULL);
    if (b->root == NULL)
        return emit_all(&c, a->root, 0, PMAP_DIFF_REMOVED, NULL);
    return diff_node(&c, a->root, b->root, 0);
}

/* --- check and stats ------------------------------------------------------------ */

typedef struct chk {
    const pmap_hamt *m;
    const pmap_txn *txn;
    cc_err *err;
    size_t count;
    pmap_fp fp;
} chk;

static cc_code
check_entry(chk *c, const pmap__hnode *n, unsigned i, unsigned level, uint64_t prefix)
{
    const pmap_hamt_type *t = c->m->type;
    uint64_t kw = n->slot[2 * i];
    if (n->slot[2 * i + 1] == 0)
        return cc_err_set(c->err, CC_CORRUPT, "hamt: NULL value at level %u", level);
    if (t->key_kind == PMAP_KEY_BYTES) {
        const pmap__key *k = pmap__hkey(kw);
        if (__atomic_load_n(&k->refs, __ATOMIC_RELAXED) == 0)
            return cc_err_set(c->err, CC_CORRUPT, "hamt: key blob with no reference");
        if (k->hash != pmap__hhash_bytes(t, k->bytes, k->len))
            return cc_err_set(c->err, CC_CORRUPT, "hamt: key blob hash is stale");
    }
    uint64_t h = pmap__hkw_hash(t, kw);
    bool ok = level == PMAP__HCOLL_LEVEL
                  ? h == prefix
                  : (level == 0 || (h & ((1ULL << (5 * level)) - 1)) == prefix);
    if (!ok)
        return cc_err_set(c->err, CC_CORRUPT, "hamt: entry at level %u off its hash path", level);
    if (level < PMAP__HCOLL_LEVEL && !(n->datamap & (1u << pmap__hslice(h, level))))
        return cc_err_set(c->err, CC_CORRUPT, "hamt: entry at level %u in the wrong slot", level);
    c->count++;
    pmap__fp_add(&c->fp, pmap__hentry_fp(t, kw, pmap__hptr(n->slot[2 * i + 1])));
    return CC_OK;
}

static cc_code
check_node(chk *c, const pmap__hnode *n, unsigned level, uint64_t prefix)
{
    cc_err *err = c->err;
    uint32_t owner = n->hdr.owner;
    if (owner != PMAP__OWNER_SEALED && (c->txn == NULL || owner != pmap__txn_id(c->txn)))
        return cc_err_set(err, CC_CORRUPT, "hamt: node at level %u owned by txn %u", level, owner);
    if (pmap__rc(&n->hdr) == 0)
        return cc_err_set(err, CC_CORRUPT, "hamt: node at level %u with no reference", level);
    if (pmap__hcoll(n) != (level == PMAP__HCOLL_LEVEL))
        return cc_err_set(err, CC_CORRUPT, "hamt: collision flag wrong at level %u", level);
    if (pmap__hwords(n) > pmap__hcap(n))
        return cc_err_set(err, CC_CORRUPT, "hamt: node at level %u over capacity", level);
    if (pmap__htyped(c->m->type) && n->slot[pmap__hcap(n)] != (uint64_t)(uintptr_t)c->m->type)
        return cc_err_set(err, CC_CORRUPT, "hamt: node at level %u has the wrong type pointer",
                          level);
    if (level == PMAP__HCOLL_LEVEL) {
        if (n->datamap < 2)
            return cc_err_set(err, CC_CORRUPT, "hamt: collision node with %u entries", n->datamap);
        for (unsigned i = 0; i < n->datamap; i++) {
            cc_code rc = check_entry(c, n, i, level, prefix);
            if (rc != CC_OK)
                return rc;
            if (i > 0) {
                pmap__hprobe p = pmap__hkw_probe(c->m->type, n->slot[2 * i]);
                if (pmap__hkey_cmp(c->m->type->key_kind, n->slot[2 * i - 2], &p) >= 0)
                    return cc_err_set(err, CC_CORRUPT,
                                      "hamt: collision node keys unsorted or duplicate");
            }
        }
        return CC_OK;
    }
    unsigned ne = pmap__hpc(n->datamap), nc = pmap__hpc(n->nodemap);
    if (n->datamap & n->nodemap)
        return cc_err_set(err, CC_CORRUPT, "hamt: bitmaps overlap at level %u", level);
    if (level == 12 && ((n->datamap | n->nodemap) >> 16) != 0)
        return cc_err_set(err, CC_CORRUPT, "hamt: slot beyond the hash at level 12");
    if (ne + nc == 0)
        return cc_err_set(err, CC_CORRUPT, "hamt: empty node at level %u", level);
    if (level > 0 && ne == 1 && nc == 0)
        return cc_err_set(err, CC_CORRUPT,
                          "hamt: non-canonical node at level %u (one entry, no children)", level);
    for (unsigned i = 0; i < ne; i++) {
        cc_code rc = check_entry(c, n, i, level, prefix);
        if (rc != CC_OK)
            return rc;
    }
    uint32_t nm = n->nodemap;
    for (unsigned j = 0; j < nc; j++, nm &= nm - 1) {
        const pmap__hnode *ch = pmap__hchild(n, j);
        if (ch == NULL)
            return cc_err_set(err, CC_CORRUPT, "hamt: NULL child at level %u", level);
        uint64_t s = (uint64_t)__builtin_ctz(nm);
        cc_code rc = check_node(c, ch, level + 1, prefix | (s << (5 * level)));
        if (rc != CC_OK)
            return rc;
    }
    return CC_OK;
}

cc_code
pmap_hamt_check(const pmap_hamt *m, const pmap_txn *txn, cc_err *err)
{
    chk c = {.m = m, .txn = txn, .err = err};
    if (m->root != NULL) {
        cc_code rc = check_node(&c, m->root, 0, 0);
        if (rc != CC_OK)
            return rc;
    }
    if (c.count != m->count)
        return cc_err_set(err, CC_CORRUPT, "hamt: count %zu but %zu entries", m->count, c.count);
    if (!pmap_fp_equal(c.fp, m->fp))
        return cc_err_set(err, CC_CORRUPT, "hamt: fingerprint differs from a recount");
    return CC_OK;
}

static void
stats_node(const pmap__hnode *n, unsigned level, pmap_hamt_stats *s, double *depth_sum)
{
    bool coll = level == PMAP__HCOLL_LEVEL;
    unsigned ne = coll ? n->datamap : pmap__hpc(n->datamap), nc = coll ? 0 : pmap__hpc(n->nodemap);
    s->nodes++;
    s->collision_nodes += coll;
    s->node_bytes += sizeof(pmap__hnode) + 8 * (size_t)pmap__hcap(n);
    if (level + 1 > s->max_depth)
        s->max_depth = level + 1;
    *depth_sum += (double)ne * (level + 1);
    for (unsigned j = 0; j < nc; j++)
        stats_node((const pmap__hnode *)(uintptr_t)n->slot[2 * ne + j], level + 1, s, depth_sum);
}

void
pmap_hamt_stats_get(const pmap_hamt *m, pmap_hamt_stats *out)
{
    double sum = 0;
    *out = (pmap_hamt_stats){0};
    if (m->root != NULL)
        stats_node(m->root, 0, out, &sum);
    if (pmap__htyped(m->type))
        out->node_bytes += 8 * out->nodes;
    out->avg_entry_depth = m->count > 0 ? sum / (double)m->count : 0.0;
}
