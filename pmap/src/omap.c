/*
 * pmap/src/omap.c — the persistent ordered map (pmap/omap.h): a copy-on-write
 * B+tree with subtree counts, written against the copy rules of
 * pmap_internal.h.
 *
 * Node layout (one allocation; every array element is 8 bytes, cap slots each)
 *
 *   +-----------+------+-----+------------+
 *   | pmap__hdr | n    | pad | ops        |   header, 24 bytes; aux = kind | cap
 *   +-----------+------+-----+------------+
 *   leaf:    | prefix[cap] | key[cap]  | value[cap] |
 *   branch:  | prefix[cap] | sep[cap]  | child[cap] | count[cap] |
 *
 *   prefix  the first 8 bytes of key/sep, big-endian, zero padded: compares
 *           decide on it first and look at the blob only on a tie.
 *   key     pmap__key blob of the entry (each slot holds one reference).
 *   sep     branch separator: sep[i] (i >= 1) <= every key under child[i] and
 *           > every key under child[i-1]; sep[0] is unused (NULL, prefix 0).
 *           A separator is the first key of child[i]'s subtree when it is set;
 *           it may outlive that key (deletes never touch separators). Each
 *           non-NULL sep holds one reference to its blob.
 *   count   the number of entries under child[i] (rank, select, ranges).
 *   ops     the map type's value ops, so that drop_refs can release values.
 *   cap     slot capacity, a multiple of CAP_STEP (4) up to FANOUT. A copy
 *           gets the slots it needs rounded up; a node born in the
 *           transaction is changed in place and regrown by CAP_STEP slots
 *           when full (rule 1); a full node splits straight into two new
 *           half-full nodes. This keeps sealed nodes at about 3 B/entry of
 *           slack (28-29 B/entry at 70% fill, 26 B bulk-built) while a
 *           transient batch reallocates a node at most every 4 inserts.
 *
 * Invariants (pmap_omap_check verifies all of them)
 *   - n <= cap <= FANOUT; every node but the root holds >= MIN_FILL
 *     (FANOUT / 4) entries or children; a branch root has >= 2 children, a
 *     leaf root >= 1 entry (an empty map has no root).
 *   - all leaves are at depth height - 1; keys strictly ascend across leaves.
 *   - count[i] equals the number of entries under child[i]; the handle's
 *     count and fingerprint equal the sum over the leaves.
 *
 * Writes copy the root-to-leaf path top down (node_own: rule 1, 2a or 2b),
 * then change only nodes the transaction owns, bottom up: inserts split full
 * nodes, deletes borrow from or merge with a sibling (the sibling is made
 * owned, or absorbed by node_give_up, first) and collapse a one-child root.
 * Moving a pointer between owned nodes changes no reference; dropping one
 * releases it (rule 3); adding one shares or creates it.
 *
 * Files: omap_node.h (layout accessors, key search), omap.c (node class and
 * writes), omap_read.c (reads, cursors, diff, check, stats).
 */
#include "omap_node.h"

#include "base/alloc.h"

/*
 * Log pushes one level of a write may need: a counted copy of the path node
 * and of a sibling (2 * FANOUT undo each), separators and the entry (a few).
 */
#define LEVEL_UNDO (4 * FANOUT + 4)
#define LEVEL_REDO 8

/* A path entry of a write: an owned node and the slot taken in it. */
typedef struct path_ent {
    onode *node;  /* owned by the transaction */
    unsigned idx; /* child taken (branch) or entry slot (leaf) */
} path_ent;

/* A split to insert into the parent: right node, its separator, both counts. */
typedef struct split {
    onode *right;    /* NULL: no split */
    pmap__key *sep;  /* reference owned by the split */
    uint64_t lcount; /* entries under the left node */
    uint64_t rcount; /* entries under the right node */
} split;

static const pmap__node_class omap_node_class;

/* --- node class ------------------------------------------------------------ */

/* drop_refs: x's count reached zero; give up every reference it holds (x unchanged). */
static void
onode_drop_refs(pmap__garbage *g, pmap__hdr *h)
{
    const onode *x = (const onode *)h;
    pmap__key **keys = nkeys(x);
    if (is_leaf(x)) {
        void **vals = nvals(x);
        for (unsigned i = 0; i < x->n; i++) {
            pmap__g_release_key(g, keys[i]);
            pmap__g_release_value(g, vals[i], x->ops);
        }
        return;
    }
    onode **kids = nkids(x);
    for (unsigned i = 0; i < x->n; i++) {
        pmap__g_unref_node(g, &kids[i]->hdr, &omap_node_class);
        if (i > 0)
            pmap__g_release_key(g, keys[i]);
    }
}

/* The allocation size of a node (from its kind and capacity). */
static size_t
onode_size(const pmap__hdr *h)
{
    const onode *x = (const onode *)h;
    return node_bytes(kind_of(x), ncap(x));
}

static const pmap__node_class omap_node_class = {
    .name = "omap",
    .drop_refs = onode_drop_refs,
    .size = onode_size,
};

/* --- owned-node helpers (writer side) -------------------------------------- */

/* A node of kind with cap slots born in txn, n = 0. NULL on NOMEM (txn poisoned). */
static onode *
node_new(pmap_txn *txn, const pmap_value_ops *ops, node_kind kind, unsigned cap, cc_err *err)
{
    onode *x = pmap__node_new(txn, &omap_node_class, node_bytes(kind, cap), err);
    if (x == NULL)
        return NULL;
    pmap__set_aux(&x->hdr, (uint8_t)((unsigned)kind | cap));
    x->n = 0;
    x->pad = 0;
    x->ops = ops;
    return x;
}

/* Copies cnt slots (every array) from src[si..] to dst[di..]; overlap allowed. */
static void
move_slots(onode *dst, unsigned di, const onode *src, unsigned si, unsigned cnt)
{
    if (cnt == 0)
        return;
    unsigned dc = ncap(dst), sc = ncap(src), arrays = is_leaf(src) ? 3 : 4;
    for (unsigned a = 0; a < arrays; a++)
        memmove(dst->pfx + a * dc + di, src->pfx + a * sc + si, (size_t)cnt * 8);
}

/*
 * x's contents were copied into an owned node and x leaves the tree: rule 1
 * (discard), 2a (retire) or 2b (share everything x references, release x).
 * Needs 2 * FANOUT reserved undo pushes and one redo push.
 */
static void
node_give_up(pmap_txn *txn, onode *x)
{
    if (pmap__node_mutable(txn, &x->hdr)) {
        pmap__node_discard(txn, &x->hdr);
        return;
    }
    if (pmap__node_exclusive(txn, &x->hdr)) {
        pmap__retire_node(txn, &x->hdr, &omap_node_class);
        return;
    }
    pmap__key **keys = nkeys(x);
    if (is_leaf(x)) {
        void **vals = nvals(x);
        for (unsigned i = 0; i < x->n; i++) {
            pmap__share_key(txn, keys[i]);
            pmap__share_value(txn, vals[i], x->ops);
        }
    } else {
        onode **kids = nkids(x);
        for (unsigned i = 0; i < x->n; i++) {
            pmap__share_node(txn, &kids[i]->hdr, &omap_node_class);
            if (i > 0)
                pmap__share_key(txn, keys[i]);
        }
    }
    pmap__release_node(txn, &x->hdr, &omap_node_class);
}

/*
 * Returns a node txn may change in place with the contents of x and room for
 * need slots: x itself if it is mutable and big enough, else a copy (x given
 * up). The caller stores the result where x was. NULL on NOMEM.
 */
static onode *
node_own(pmap_txn *txn, onode *x, unsigned need, cc_err *err)
{
    if (ncap(x) >= need && pmap__node_mutable(txn, &x->hdr))
        return x;
    if (need < x->n)
        need = x->n;
    onode *y = node_new(txn, x->ops, kind_of(x), round_cap(need), err);
    if (y == NULL)
        return NULL;
    move_slots(y, 0, x, 0, x->n);
    y->n = x->n;
    node_give_up(txn, x);
    return y;
}

/* Stores key blob k (or NULL for a branch's slot 0) and its prefix in slot i. */
static void
set_key(onode *x, unsigned i, pmap__key *k)
{
    nkeys(x)[i] = k;
    npfx(x)[i] = k != NULL ? blob_prefix(k) : 0;
}

/* Reserves the log pushes of a write that touches `levels` tree levels. */
static cc_code
reserve_levels(pmap_txn *txn, unsigned levels, cc_err *err)
{
    return pmap__log_reserve(txn, (size_t)levels * LEVEL_UNDO + 4, (size_t)levels * LEVEL_REDO + 4,
                             err);
}

/* Validates a write's transaction and handle; INVALID or the poisoned NOMEM. */
static cc_code
check_write(pmap_txn *txn, const pmap_omap *m, const void *key, size_t len, const char *what,
            cc_err *err)
{
    if (txn == NULL || m == NULL)
        return cc_err_set(err, CC_INVALID, "omap %s: NULL transaction or map", what);
    cc_code rc = pmap__txn_check(txn, err);
    if (rc != CC_OK)
        return rc;
    if (m->domain != pmap_txn_domain(txn))
        return cc_err_set(err, CC_INVALID, "omap %s: map and transaction are in different domains",
                          what);
    if ((key == NULL && len != 0) || len > UINT32_MAX)
        return cc_err_set(err, CC_INVALID, "omap %s: invalid key (%zu bytes)", what, len);
    return CC_OK;
}

/* --- insert ---------------------------------------------------------------- */

/*
 * Splits the full node *xp into two new half-full nodes (left in *xp, right
 * returned) and gives the old one up. Branch: the right node's first
 * separator is returned in *up (it moves to the parent). NULL on NOMEM.
 */
static onode *
node_split(pmap_txn *txn, onode **xp, pmap__key **up, cc_err *err)
{
    onode *x = *xp;
    unsigned half = FANOUT / 2;
    onode *l = node_new(txn, x->ops, kind_of(x), round_cap(half + 1), err);
    onode *r = l != NULL ? node_new(txn, x->ops, kind_of(x), round_cap(half + 1), err) : NULL;
    if (r == NULL)
        return NULL;
    move_slots(l, 0, x, 0, half);
    l->n = half;
    move_slots(r, 0, x, half, FANOUT - half);
    r->n = FANOUT - half;
    if (!is_leaf(x)) {
        *up = nkeys(r)[0];
        set_key(r, 0, NULL);
    }
    node_give_up(txn, x);
    *xp = l;
    return r;
}

/*
 * Inserts entry (kb, value) at slot i of leaf *xp, which is owned with room,
 * or full: then it is split into two new nodes (*xp becomes the left one).
 */
static cc_code
leaf_insert(pmap_txn *txn, onode **xp, unsigned i, pmap__key *kb, void *value, split *sp,
            cc_err *err)
{
    *sp = (split){0};
    onode *t = *xp;
    if (t->n == FANOUT) {
        onode *r = node_split(txn, xp, NULL, err);
        if (r == NULL)
            return CC_NOMEM;
        t = *xp;
        if (i > FANOUT / 2) {
            t = r;
            i -= FANOUT / 2;
        }
        sp->right = r;
    }
    CC_ASSERT(t->n < ncap(t));
    move_slots(t, i + 1, t, i, t->n - i);
    set_key(t, i, kb);
    nvals(t)[i] = value;
    t->n++;
    if (sp->right != NULL) {
        sp->sep = nkeys(sp->right)[0];
        pmap__share_key(txn, sp->sep);
        sp->lcount = (*xp)->n;
        sp->rcount = sp->right->n;
    }
    return CC_OK;
}

/*
 * Inserts the right node of split `in` at slot pos >= 1 of branch *pp, which
 * is owned with room, or full: then it is split (*pp becomes the left node).
 */
static cc_code
branch_insert(pmap_txn *txn, onode **pp, unsigned pos, const split *in, split *sp, cc_err *err)
{
    *sp = (split){0};
    onode *t = *pp;
    if (t->n == FANOUT) {
        onode *r = node_split(txn, pp, &sp->sep, err);
        if (r == NULL)
            return CC_NOMEM;
        t = *pp;
        if (pos > FANOUT / 2) {
            t = r;
            pos -= FANOUT / 2;
        }
        sp->right = r;
    }
    CC_ASSERT(pos >= 1 && t->n < ncap(t));
    move_slots(t, pos + 1, t, pos, t->n - pos);
    set_key(t, pos, in->sep);
    nkids(t)[pos] = in->right;
    ncounts(t)[pos] = in->rcount;
    t->n++;
    if (sp->right != NULL) {
        sp->lcount = node_total(*pp);
        sp->rcount = node_total(sp->right);
    }
    return CC_OK;
}

/* The slot that points at the node at path depth d. */
static onode **
path_slot(pmap_omap *m, path_ent *path, unsigned d)
{
    return d == 0 ? &m->root : &nkids(path[d - 1].node)[path[d - 1].idx];
}

cc_code
pmap_omap_put(pmap_txn *txn, pmap_omap *m, const void *key, size_t len, void *value, bool *replaced,
              cc_err *err)
{
    cc_code rc = check_write(txn, m, key, len, "put", err);
    if (rc != CC_OK)
        return rc;
    if (value == NULL)
        return cc_err_set(err, CC_INVALID, "omap put: NULL value");
    const pmap_value_ops *ops = map_ops(m);
    okey k = okey_of(key, len);
    unsigned h = m->height;
    rc = reserve_levels(txn, h + 1, err);
    if (rc != CC_OK)
        return rc;
    if (m->root == NULL) {
        onode *leaf = node_new(txn, ops, KIND_LEAF, CAP_STEP, err);
        pmap__key *kb = leaf != NULL ? pmap__key_new(txn, key, len, 0, err) : NULL;
        if (kb == NULL)
            return CC_NOMEM;
        pmap__retain_value(txn, value, ops);
        set_key(leaf, 0, kb);
        nvals(leaf)[0] = value;
        leaf->n = 1;
        m->root = leaf;
        m->height = 1;
        m->count = 1;
        pmap__fp_add(&m->fp, entry_fp(kb, value, ops));
        if (replaced != NULL)
            *replaced = false;
        return CC_OK;
    }

    path_ent path[PMAP_OMAP_MAX_DEPTH];
    for (unsigned d = 0; d + 1 < h; d++) {
        onode **slot = path_slot(m, path, d);
        onode *x = node_own(txn, *slot, (*slot)->n, err);
        if (x == NULL)
            return CC_NOMEM;
        *slot = x;
        path[d] = (path_ent){x, branch_index(x, &k)};
    }
    onode **slot = path_slot(m, path, h - 1);
    bool found;
    unsigned i = leaf_lower(*slot, &k, &found);
    onode *x = *slot;
    if (found || x->n < FANOUT) {
        /* A full leaf is split straight from the old node instead. */
        x = node_own(txn, x, found ? x->n : x->n + 1, err);
        if (x == NULL)
            return CC_NOMEM;
        *slot = x;
    }
    if (replaced != NULL)
        *replaced = found;

    if (found) {
        void *old = nvals(x)[i];
        pmap__release_value(txn, old, ops);
        pmap__retain_value(txn, value, ops);
        nvals(x)[i] = value;
        pmap__fp_sub(&m->fp, entry_fp(nkeys(x)[i], old, ops));
        pmap__fp_add(&m->fp, entry_fp(nkeys(x)[i], value, ops));
        return CC_OK;
    }

    pmap__key *kb = pmap__key_new(txn, key, len, 0, err);
    if (kb == NULL)
        return CC_NOMEM;
    pmap__retain_value(txn, value, ops);
    split sp;
    rc = leaf_insert(txn, &x, i, kb, value, &sp, err);
    if (rc != CC_OK)
        return rc;
    *slot = x;
    for (unsigned d = h - 1; d-- > 0;) {
        onode *p = path[d].node;
        unsigned ci = path[d].idx;
        if (sp.right == NULL) {
            ncounts(p)[ci] += 1;
            continue;
        }
        ncounts(p)[ci] = sp.lcount;
        if (p->n < FANOUT && ncap(p) == p->n) {
            p = node_own(txn, p, p->n + 1, err);
            if (p == NULL)
                return CC_NOMEM;
            *path_slot(m, path, d) = p;
            path[d].node = p;
        }
        split up;
        rc = branch_insert(txn, &p, ci + 1, &sp, &up, err);
        if (rc != CC_OK)
            return rc;
        *path_slot(m, path, d) = p;
        sp = up;
    }
    if (sp.right != NULL) {
        onode *r = node_new(txn, ops, KIND_BRANCH, CAP_STEP, err);
        if (r == NULL)
            return CC_NOMEM;
        nkids(r)[0] = m->root;
        ncounts(r)[0] = sp.lcount;
        set_key(r, 0, NULL);
        nkids(r)[1] = sp.right;
        ncounts(r)[1] = sp.rcount;
        set_key(r, 1, sp.sep);
        r->n = 2;
        m->root = r;
        m->height++;
    }
    m->count++;
    pmap__fp_add(&m->fp, entry_fp(kb, value, ops));
    return CC_OK;
}

/* --- delete ---------------------------------------------------------------- */

/* Moves one entry or child from owned sibling s = child ci-1 of p into x = child ci. */
static void
borrow_from_left(onode *p, unsigned ci, onode *x, onode *s)
{
    unsigned last = s->n - 1;
    CC_ASSERT(x->n < ncap(x)); /* x lost one slot since it was copied at full size */
    move_slots(x, 1, x, 0, x->n);
    move_slots(x, 0, s, last, 1);
    uint64_t moved = 1;
    if (is_leaf(x)) {
        /* The caller shares the new separator and releases the old. */
        set_key(p, ci, nkeys(x)[0]);
    } else {
        pmap__key *up = nkeys(x)[0]; /* s's last separator moves up */
        nkeys(x)[1] = nkeys(p)[ci];  /* the parent's separator moves down */
        npfx(x)[1] = npfx(p)[ci];
        set_key(x, 0, NULL);
        set_key(p, ci, up);
        moved = ncounts(x)[0];
    }
    x->n++;
    s->n--;
    ncounts(p)[ci - 1] -= moved;
    ncounts(p)[ci] += moved;
}

/* Moves one entry or child from owned sibling s = child ci+1 of p into x = child ci. */
static void
borrow_from_right(onode *p, unsigned ci, onode *x, onode *s)
{
    uint64_t moved = 1;
    CC_ASSERT(x->n < ncap(x));
    move_slots(x, x->n, s, 0, 1);
    if (is_leaf(x)) {
        move_slots(s, 0, s, 1, s->n - 1);
        set_key(p, ci + 1, nkeys(s)[0]);
    } else {
        moved = ncounts(x)[x->n];
        nkeys(x)[x->n] = nkeys(p)[ci + 1]; /* the parent's separator moves down */
        npfx(x)[x->n] = npfx(p)[ci + 1];
        nkeys(p)[ci + 1] = nkeys(s)[1]; /* s's first separator moves up */
        npfx(p)[ci + 1] = npfx(s)[1];
        move_slots(s, 0, s, 1, s->n - 1);
        set_key(s, 0, NULL);
    }
    x->n++;
    s->n--;
    ncounts(p)[ci] += moved;
    ncounts(p)[ci + 1] -= moved;
}

/*
 * Child ci of owned branch p is owned and underfull: borrow from a sibling
 * that can spare one, or merge with it (the right node of the pair is
 * absorbed into the left and leaves p).
 */
static cc_code
rebalance(pmap_txn *txn, onode *p, unsigned ci, cc_err *err)
{
    onode **kids = nkids(p);
    unsigned si = ci > 0 ? ci - 1 : ci + 1;
    onode *x = kids[ci];
    if (kids[si]->n > MIN_FILL) {
        onode *s = node_own(txn, kids[si], kids[si]->n, err);
        if (s == NULL)
            return CC_NOMEM;
        kids[si] = s;
        pmap__key *old = nkeys(p)[si < ci ? ci : si];
        if (si < ci)
            borrow_from_left(p, ci, x, s);
        else
            borrow_from_right(p, ci, x, s);
        if (is_leaf(x)) {
            pmap__share_key(txn, nkeys(p)[si < ci ? ci : si]);
            pmap__release_key(txn, old);
        }
        return CC_OK;
    }
    unsigned li = ci < si ? ci : si, ri = li + 1;
    onode *r = kids[ri];
    onode *l = node_own(txn, kids[li], kids[li]->n + r->n, err);
    if (l == NULL)
        return CC_NOMEM;
    kids[li] = l;
    unsigned ln = l->n;
    move_slots(l, ln, r, 0, r->n);
    l->n += r->n;
    if (is_leaf(l)) {
        pmap__release_key(txn, nkeys(p)[ri]);
    } else {
        nkeys(l)[ln] = nkeys(p)[ri]; /* the parent's separator moves down */
        npfx(l)[ln] = npfx(p)[ri];
    }
    node_give_up(txn, r);
    ncounts(p)[li] += ncounts(p)[ri];
    move_slots(p, ri, p, ri + 1, p->n - ri - 1);
    p->n--;
    return CC_OK;
}

cc_code
pmap_omap_del(pmap_txn *txn, pmap_omap *m, const void *key, size_t len, bool *removed, cc_err *err)
{
    cc_code rc = check_write(txn, m, key, len, "del", err);
    if (rc != CC_OK)
        return rc;
    if (removed != NULL)
        *removed = false;
    if (pmap_omap_find(m, key, len) == NULL)
        return CC_OK;
    const pmap_value_ops *ops = map_ops(m);
    okey k = okey_of(key, len);
    unsigned h = m->height;
    rc = reserve_levels(txn, h, err);
    if (rc != CC_OK)
        return rc;

    path_ent path[PMAP_OMAP_MAX_DEPTH];
    onode *x = NULL;
    for (unsigned d = 0; d < h; d++) {
        onode **slot = path_slot(m, path, d);
        x = node_own(txn, *slot, (*slot)->n, err);
        if (x == NULL)
            return CC_NOMEM;
        *slot = x;
        bool found = true;
        unsigned i = d + 1 < h ? branch_index(x, &k) : leaf_lower(x, &k, &found);
        CC_ASSERT(found);
        path[d] = (path_ent){x, i};
    }
    if (x == NULL)
        CC_UNREACHABLE(); /* the key was found, so there is a leaf */
    unsigned i = path[h - 1].idx;
    pmap__key *kb = nkeys(x)[i];
    void *value = nvals(x)[i];
    pmap__fp_sub(&m->fp, entry_fp(kb, value, ops));
    move_slots(x, i, x, i + 1, x->n - i - 1);
    x->n--;
    pmap__release_key(txn, kb);
    pmap__release_value(txn, value, ops);
    m->count--;
    if (removed != NULL)
        *removed = true;

    for (unsigned d = h - 1; d >= 1; d--) {
        onode *p = path[d - 1].node;
        unsigned ci = path[d - 1].idx;
        ncounts(p)[ci] -= 1;
        if (nkids(p)[ci]->n < MIN_FILL) {
            rc = rebalance(txn, p, ci, err);
            if (rc != CC_OK)
                return rc;
        }
    }
    onode *root = m->root;
    if (!is_leaf(root) && root->n == 1) {
        m->root = nkids(root)[0];
        m->height--;
        node_give_up(txn, root);
    } else if (is_leaf(root) && root->n == 0) {
        m->root = NULL;
        m->height = 0;
        node_give_up(txn, root);
    }
    return CC_OK;
}

/* --- lines and bulk build -------------------------------------------------- */

void
pmap_omap_init(pmap_omap *m, pmap_domain *d, const pmap_omap_type *type)
{
    *m = (pmap_omap){.root = NULL, .type = type, .domain = d, .count = 0, .height = 0};
}

void
pmap_omap_clone(const pmap_omap *src, pmap_omap *dst)
{
    *dst = *src;
    if (src->root != NULL) {
        CC_ASSERT(src->root->hdr.owner == PMAP__OWNER_SEALED);
        pmap__node_ref(&src->root->hdr);
    }
}

cc_code
pmap_omap_drop(pmap_txn *txn, pmap_omap *m, cc_err *err)
{
    cc_code rc = check_write(txn, m, NULL, 0, "drop", err);
    if (rc != CC_OK)
        return rc;
    if (m->root != NULL) {
        rc = pmap__log_reserve(txn, 0, 1, err);
        if (rc != CC_OK)
            return rc;
        pmap__drop_root(txn, &m->root->hdr, &omap_node_class);
    }
    pmap_omap_init(m, m->domain, m->type);
    return CC_OK;
}

/* Validates build input: strictly ascending keys, non-NULL values. */
static cc_code
check_build_input(const pmap_bytes *keys, void *const *values, size_t n, cc_err *err)
{
    if (n > 0 && (keys == NULL || values == NULL))
        return cc_err_set(err, CC_INVALID, "omap build: NULL keys or values");
    for (size_t i = 0; i < n; i++) {
        if (values[i] == NULL)
            return cc_err_set(err, CC_INVALID, "omap build: NULL value at %zu", i);
        if ((keys[i].ptr == NULL && keys[i].len != 0) || keys[i].len > UINT32_MAX)
            return cc_err_set(err, CC_INVALID, "omap build: invalid key at %zu", i);
        if (i == 0)
            continue;
        const pmap_bytes *a = &keys[i - 1], *b = &keys[i];
        size_t mlen = a->len < b->len ? a->len : b->len;
        int c = mlen > 0 ? memcmp(a->ptr, b->ptr, mlen) : 0;
        if (c > 0 || (c == 0 && a->len >= b->len))
            return cc_err_set(err, CC_INVALID,
                              "omap build: keys %zu and %zu are not strictly ascending", i - 1, i);
    }
    return CC_OK;
}

cc_code
pmap_omap_build(pmap_txn *txn, pmap_omap *m, const pmap_bytes *keys, void *const *values, size_t n,
                cc_err *err)
{
    cc_code rc = check_write(txn, m, NULL, 0, "build", err);
    if (rc != CC_OK)
        return rc;
    if (m->root != NULL)
        return cc_err_set(err, CC_INVALID, "omap build: the map must be empty");
    rc = check_build_input(keys, values, n, err);
    if (rc != CC_OK || n == 0)
        return rc;
    const pmap_value_ops *ops = map_ops(m);
    size_t nodes = (n + FANOUT - 1) / FANOUT;
    onode **level = cc_malloc(nodes * sizeof *level);
    if (level == NULL)
        return pmap__txn_fail_nomem(txn, err, "building an ordered map");
    pmap_fp fp = {0, 0};
    size_t e = 0;
    for (size_t j = 0; j < nodes; j++) {
        /* Spread entries evenly: every leaf gets > FANOUT / 2 when nodes > 1. */
        unsigned size = (unsigned)(n / nodes + (j < n % nodes));
        rc = pmap__log_reserve(txn, 2 * (size_t)size + 4, 0, err);
        onode *x = rc == CC_OK ? node_new(txn, ops, KIND_LEAF, round_cap(size), err) : NULL;
        if (x == NULL)
            goto fail;
        for (unsigned s = 0; s < size; s++, e++) {
            pmap__key *kb = pmap__key_new(txn, keys[e].ptr, keys[e].len, 0, err);
            if (kb == NULL)
                goto fail;
            pmap__retain_value(txn, values[e], ops);
            set_key(x, s, kb);
            nvals(x)[s] = values[e];
            x->n = s + 1;
            pmap__fp_add(&fp, entry_fp(kb, values[e], ops));
        }
        level[j] = x;
    }
    unsigned height = 1;
    while (nodes > 1) {
        size_t up = (nodes + FANOUT - 1) / FANOUT, c = 0;
        for (size_t j = 0; j < up; j++) {
            unsigned size = (unsigned)(nodes / up + (j < nodes % up));
            rc = pmap__log_reserve(txn, size, 0, err);
            onode *x = rc == CC_OK ? node_new(txn, ops, KIND_BRANCH, round_cap(size), err) : NULL;
            if (x == NULL)
                goto fail;
            for (unsigned s = 0; s < size; s++, c++) {
                onode *child = level[c];
                pmap__key *sep = NULL;
                if (s > 0) {
                    sep = (pmap__key *)subtree_min(child);
                    pmap__share_key(txn, sep);
                }
                set_key(x, s, sep);
                nkids(x)[s] = child;
                ncounts(x)[s] = node_total(child);
            }
            x->n = size;
            level[j] = x;
        }
        nodes = up;
        height++;
    }
    m->root = level[0];
    m->height = height;
    m->count = n;
    m->fp = fp;
    cc_free(level);
    return CC_OK;

fail:
    /* The nodes and keys made so far are the transaction's: abort frees them. */
    cc_free(level);
    return CC_NOMEM;
}
