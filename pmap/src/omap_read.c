/*
 * pmap/src/omap_read.c — the read side of the ordered map (pmap/omap.h):
 * lookups, rank and select over the subtree counts, cursors, the structural
 * diff and the invariant checker. Readers never write to nodes and never read
 * owner or rc (only the checker does, from the writer's side). Node layout:
 * omap.c and omap_node.h.
 */
#include "omap_node.h"

/* --- reads ----------------------------------------------------------------- */

void *
pmap_omap_find(const pmap_omap *m, const void *key, size_t len)
{
    if (m == NULL || m->root == NULL || (key == NULL && len != 0))
        return NULL;
    okey k = okey_of(key, len);
    const onode *x = m->root;
    while (!is_leaf(x))
        x = nkids(x)[branch_index(x, &k)];
    bool found;
    unsigned i = leaf_lower(x, &k, &found);
    return found ? nvals(x)[i] : NULL;
}

size_t
pmap_omap_rank(const pmap_omap *m, const void *key, size_t len)
{
    if (m == NULL || m->root == NULL || (key == NULL && len != 0))
        return 0;
    okey k = okey_of(key, len);
    const onode *x = m->root;
    size_t r = 0;
    while (!is_leaf(x)) {
        unsigned i = branch_index(x, &k);
        const uint64_t *c = ncounts(x);
        for (unsigned j = 0; j < i; j++)
            r += c[j];
        x = nkids(x)[i];
    }
    bool found;
    return r + leaf_lower(x, &k, &found);
}

size_t
pmap_omap_count_range(const pmap_omap *m, const void *lo, size_t lo_len, const void *hi,
                      size_t hi_len)
{
    size_t a = pmap_omap_rank(m, lo, lo_len), b = pmap_omap_rank(m, hi, hi_len);
    return b > a ? b - a : 0;
}

bool
pmap_omap_select(const pmap_omap *m, size_t i, pmap_bytes *key, void **value)
{
    if (m == NULL || i >= m->count)
        return false;
    const onode *x = m->root;
    while (!is_leaf(x)) {
        const uint64_t *c = ncounts(x);
        unsigned j = 0;
        while (j + 1 < x->n && i >= c[j])
            i -= c[j++];
        x = nkids(x)[j];
    }
    CC_ASSERT(i < x->n);
    const pmap__key *k = nkeys(x)[i];
    if (key != NULL)
        *key = (pmap_bytes){k->bytes, k->len};
    if (value != NULL)
        *value = nvals(x)[i];
    return true;
}

/* --- cursors --------------------------------------------------------------- */

static void
cur_down_first(pmap_omap_cursor *c)
{
    for (;;) {
        const onode *t = c->stack[c->depth - 1].node;
        if (is_leaf(t))
            return;
        const onode *child = nkids(t)[c->stack[c->depth - 1].index];
        c->stack[c->depth].node = child;
        c->stack[c->depth].index = 0;
        c->depth++;
    }
}

static void
cur_down_last(pmap_omap_cursor *c)
{
    for (;;) {
        const onode *t = c->stack[c->depth - 1].node;
        if (is_leaf(t))
            return;
        const onode *child = nkids(t)[c->stack[c->depth - 1].index];
        c->stack[c->depth].node = child;
        c->stack[c->depth].index = child->n - 1;
        c->depth++;
    }
}

bool
pmap_omap_seek_first(pmap_omap_cursor *c, const pmap_omap *m)
{
    c->map = m;
    c->depth = 0;
    if (m->root == NULL)
        return false;
    c->stack[0].node = m->root;
    c->stack[0].index = 0;
    c->depth = 1;
    cur_down_first(c);
    return true;
}

bool
pmap_omap_seek_last(pmap_omap_cursor *c, const pmap_omap *m)
{
    c->map = m;
    c->depth = 0;
    if (m->root == NULL)
        return false;
    c->stack[0].node = m->root;
    c->stack[0].index = m->root->n - 1;
    c->depth = 1;
    cur_down_last(c);
    return true;
}

bool
pmap_omap_seek(pmap_omap_cursor *c, const pmap_omap *m, const void *key, size_t len)
{
    c->map = m;
    c->depth = 0;
    if (m->root == NULL || (key == NULL && len != 0))
        return false;
    okey k = okey_of(key, len);
    const onode *x = m->root;
    for (;;) {
        c->stack[c->depth].node = x;
        if (is_leaf(x))
            break;
        unsigned i = branch_index(x, &k);
        c->stack[c->depth++].index = i;
        x = nkids(x)[i];
    }
    bool found;
    unsigned i = leaf_lower(x, &k, &found);
    c->stack[c->depth++].index = i;
    if (i < x->n)
        return true;
    c->stack[c->depth - 1].index = x->n - 1;
    return pmap_omap_cursor_next(c);
}

bool
pmap_omap_cursor_get(const pmap_omap_cursor *c, pmap_bytes *key, void **value)
{
    if (c->depth == 0)
        return false;
    const onode *x = c->stack[c->depth - 1].node;
    unsigned i = c->stack[c->depth - 1].index;
    if (key != NULL) {
        const pmap__key *k = nkeys(x)[i];
        *key = (pmap_bytes){k->bytes, k->len};
    }
    if (value != NULL)
        *value = nvals(x)[i];
    return true;
}

bool
pmap_omap_cursor_next(pmap_omap_cursor *c)
{
    if (c->depth == 0)
        return false;
    if (++c->stack[c->depth - 1].index < c->stack[c->depth - 1].node->n)
        return true;
    while (--c->depth > 0) {
        unsigned d = c->depth - 1;
        if (c->stack[d].index + 1 < c->stack[d].node->n) {
            c->stack[d].index++;
            cur_down_first(c);
            return true;
        }
    }
    return false;
}

bool
pmap_omap_cursor_prev(pmap_omap_cursor *c)
{
    if (c->depth == 0)
        return false;
    if (c->stack[c->depth - 1].index > 0) {
        c->stack[c->depth - 1].index--;
        return true;
    }
    while (--c->depth > 0) {
        unsigned d = c->depth - 1;
        if (c->stack[d].index > 0) {
            c->stack[d].index--;
            cur_down_last(c);
            return true;
        }
    }
    return false;
}

/* --- diff ------------------------------------------------------------------ */

/*
 * A diff walker: a stack of (node, index) whose top names the next item, an
 * entry (top is a leaf) or a whole subtree (top is a branch; the bottom frame
 * is a pseudo node whose only child is the root). depth 0 = exhausted.
 */
typedef struct dwalk {
    const onode *root; /* the walked version's root */
    unsigned height;   /* its height */
    unsigned depth;    /* frames in use */
    struct {
        const onode *node; /* NULL: the pseudo frame above the root */
        unsigned index;
    } st[PMAP_OMAP_MAX_DEPTH + 1];
} dwalk;

static void
dw_init(dwalk *w, const pmap_omap *m)
{
    w->root = m->root;
    w->height = m->height;
    w->depth = 0;
    if (m->root != NULL) {
        w->st[0].node = NULL;
        w->st[0].index = 0;
        w->depth = 1;
    }
}

static bool
dw_top_is_entry(const dwalk *w)
{
    const onode *t = w->st[w->depth - 1].node;
    return t != NULL && is_leaf(t);
}

/* The subtree the top names (top must not be an entry). */
static const onode *
dw_top_node(const dwalk *w)
{
    const onode *t = w->st[w->depth - 1].node;
    return t == NULL ? w->root : nkids(t)[w->st[w->depth - 1].index];
}

/* The height of the subtree the top names (1 = a leaf). */
static unsigned
dw_top_height(const dwalk *w)
{
    return w->height - (w->depth - 1);
}

/* The smallest key of the top item. */
static const pmap__key *
dw_top_key(const dwalk *w)
{
    if (dw_top_is_entry(w))
        return nkeys(w->st[w->depth - 1].node)[w->st[w->depth - 1].index];
    return subtree_min(dw_top_node(w));
}

/* Steps over the top item. */
static void
dw_skip(dwalk *w)
{
    w->st[w->depth - 1].index++;
    while (w->depth > 0) {
        const onode *t = w->st[w->depth - 1].node;
        unsigned n = t == NULL ? 1 : t->n;
        if (w->st[w->depth - 1].index < n)
            return;
        w->depth--;
        if (w->depth > 0)
            w->st[w->depth - 1].index++;
    }
}

/* Replaces the top subtree by its items. */
static void
dw_expand(dwalk *w)
{
    CC_ASSERT(w->depth <= PMAP_OMAP_MAX_DEPTH);
    w->st[w->depth].node = dw_top_node(w);
    w->st[w->depth].index = 0;
    w->depth++;
}

/* Reports the top entry of w as kind; the other value is NULL. */
static int
dw_emit(const dwalk *w, pmap_diff_kind kind, pmap_diff_fn fn, void *arg)
{
    const onode *t = w->st[w->depth - 1].node;
    unsigned i = w->st[w->depth - 1].index;
    const pmap__key *k = nkeys(t)[i];
    pmap_diff_item item = {.kind = kind, .key = {k->bytes, k->len}};
    if (kind == PMAP_DIFF_REMOVED)
        item.old_value = nvals(t)[i];
    else
        item.new_value = nvals(t)[i];
    return fn(arg, &item);
}

int
pmap_omap_diff(const pmap_omap *a, const pmap_omap *b, pmap_diff_fn fn, void *arg)
{
    if (a->root == b->root)
        return 0;
    const pmap_value_ops *ops = map_ops(a);
    dwalk wa, wb;
    dw_init(&wa, a);
    dw_init(&wb, b);
    int rc = 0;
    while (rc == 0 && (wa.depth > 0 || wb.depth > 0)) {
        int c;
        if (wa.depth == 0 || wb.depth == 0) {
            c = wa.depth == 0 ? 1 : -1;
        } else if (!dw_top_is_entry(&wa) && !dw_top_is_entry(&wb) &&
                   dw_top_node(&wa) == dw_top_node(&wb)) {
            /* Both sides continue with the very same subtree: skip it. */
            dw_skip(&wa);
            dw_skip(&wb);
            continue;
        } else {
            c = blob_cmp(dw_top_key(&wa), dw_top_key(&wb));
        }
        bool ea = wa.depth > 0 && dw_top_is_entry(&wa);
        bool eb = wb.depth > 0 && dw_top_is_entry(&wb);
        if (c < 0) {
            if (!ea) {
                dw_expand(&wa);
            } else {
                rc = dw_emit(&wa, PMAP_DIFF_REMOVED, fn, arg);
                dw_skip(&wa);
            }
        } else if (c > 0) {
            if (!eb) {
                dw_expand(&wb);
            } else {
                rc = dw_emit(&wb, PMAP_DIFF_ADDED, fn, arg);
                dw_skip(&wb);
            }
        } else if (ea && eb) {
            const onode *ta = wa.st[wa.depth - 1].node, *tb = wb.st[wb.depth - 1].node;
            unsigned ia = wa.st[wa.depth - 1].index, ib = wb.st[wb.depth - 1].index;
            void *va = nvals(ta)[ia], *vb = nvals(tb)[ib];
            if (!pmap__value_equal(va, vb, ops)) {
                const pmap__key *k = nkeys(ta)[ia];
                pmap_diff_item item = {.kind = PMAP_DIFF_CHANGED,
                                       .key = {k->bytes, k->len},
                                       .old_value = va,
                                       .new_value = vb};
                rc = fn(arg, &item);
            }
            dw_skip(&wa);
            dw_skip(&wb);
        } else if (!ea && eb) {
            dw_expand(&wa);
        } else if (ea && !eb) {
            dw_expand(&wb);
        } else {
            /* Equal first keys, different subtrees: open the taller (both if
             * equal) so that a shared child can line up with its twin. */
            unsigned ha = dw_top_height(&wa), hb = dw_top_height(&wb);
            if (ha >= hb)
                dw_expand(&wa);
            if (hb >= ha)
                dw_expand(&wb);
        }
    }
    return rc;
}

/* --- check and stats ------------------------------------------------------- */

/* State of one pmap_omap_check walk. */
typedef struct chk {
    const pmap_omap *m;  /* the map checked */
    const pmap_txn *txn; /* the one transaction allowed to own nodes, or NULL */
    size_t count;        /* entries seen so far */
    pmap_fp fp;          /* fingerprint of the entries seen so far */
    cc_err *err;         /* where a violation is reported */
} chk;

/*
 * Checks the subtree x at depth whose keys must lie in [lo, hi) (NULL: open)
 * and sets *total to its entry count. Returns CC_CORRUPT with a message.
 */
static cc_code
check_node(chk *c, const onode *x, unsigned depth, const pmap__key *lo, const pmap__key *hi,
           uint64_t *total)
{
    const pmap_omap *m = c->m;
    bool root = depth == 0, leaf = depth + 1 == m->height;
    unsigned cap = ncap(x);
    if (x->hdr.owner != PMAP__OWNER_SEALED &&
        (c->txn == NULL || x->hdr.owner != pmap__txn_id(c->txn)))
        return cc_err_set(c->err, CC_CORRUPT, "omap: node at depth %u has foreign owner %u", depth,
                          x->hdr.owner);
    if (pmap__rc(&x->hdr) < 1)
        return cc_err_set(c->err, CC_CORRUPT, "omap: node at depth %u has rc 0", depth);
    if (is_leaf(x) != leaf)
        return cc_err_set(c->err, CC_CORRUPT, "omap: node kind wrong at depth %u (height %u)",
                          depth, m->height);
    if (cap == 0 || cap % CAP_STEP != 0 || cap > FANOUT || x->n > cap)
        return cc_err_set(c->err, CC_CORRUPT, "omap: node at depth %u has n %u, capacity %u", depth,
                          x->n, cap);
    unsigned min = root ? (leaf ? 1 : 2) : MIN_FILL;
    if (x->n < min)
        return cc_err_set(c->err, CC_CORRUPT, "omap: node at depth %u underfull (%u < %u)", depth,
                          x->n, min);
    if (x->ops != map_ops(m))
        return cc_err_set(c->err, CC_CORRUPT, "omap: node at depth %u has foreign value ops",
                          depth);
    pmap__key **keys = nkeys(x);
    const uint64_t *pf = npfx(x);
    unsigned first = leaf ? 0 : 1;
    for (unsigned i = first; i < x->n; i++) {
        const pmap__key *k = keys[i];
        /* Relaxed: a plain sanity read of the writer-side count (no ordering needed). */
        if (k == NULL || __atomic_load_n(&k->refs, __ATOMIC_RELAXED) < 1)
            return cc_err_set(c->err, CC_CORRUPT, "omap: dead key at depth %u slot %u", depth, i);
        if (pf[i] != blob_prefix(k))
            return cc_err_set(c->err, CC_CORRUPT, "omap: stale prefix at depth %u slot %u", depth,
                              i);
        if ((lo != NULL && blob_cmp(k, lo) < 0) || (hi != NULL && blob_cmp(k, hi) >= 0) ||
            (i > first && blob_cmp(k, keys[i - 1]) <= 0))
            return cc_err_set(c->err, CC_CORRUPT, "omap: key out of order at depth %u slot %u",
                              depth, i);
    }
    if (leaf) {
        void **vals = nvals(x);
        for (unsigned i = 0; i < x->n; i++) {
            if (vals[i] == NULL)
                return cc_err_set(c->err, CC_CORRUPT, "omap: NULL value at slot %u", i);
            pmap__fp_add(&c->fp, entry_fp(keys[i], vals[i], map_ops(m)));
        }
        c->count += x->n;
        *total = x->n;
        return CC_OK;
    }
    if (keys[0] != NULL || pf[0] != 0)
        return cc_err_set(c->err, CC_CORRUPT, "omap: branch at depth %u has a separator 0", depth);
    onode **kids = nkids(x);
    const uint64_t *counts = ncounts(x);
    *total = 0;
    for (unsigned i = 0; i < x->n; i++) {
        uint64_t sub = 0;
        cc_code rc = check_node(c, kids[i], depth + 1, i == 0 ? lo : keys[i],
                                i + 1 < x->n ? keys[i + 1] : hi, &sub);
        if (rc != CC_OK)
            return rc;
        if (sub != counts[i])
            return cc_err_set(c->err, CC_CORRUPT,
                              "omap: count of child %u at depth %u is %llu, subtree holds %llu", i,
                              depth, (unsigned long long)counts[i], (unsigned long long)sub);
        *total += sub;
    }
    return CC_OK;
}

cc_code
pmap_omap_check(const pmap_omap *m, const pmap_txn *txn, cc_err *err)
{
    if (m->root == NULL) {
        if (m->count != 0 || m->height != 0 || m->fp.lo != 0 || m->fp.hi != 0)
            return cc_err_set(err, CC_CORRUPT, "omap: empty map with count %zu, height %u",
                              m->count, m->height);
        return CC_OK;
    }
    if (m->height == 0 || m->height > PMAP_OMAP_MAX_DEPTH)
        return cc_err_set(err, CC_CORRUPT, "omap: height %u", m->height);
    chk c = {.m = m, .txn = txn, .err = err};
    uint64_t total = 0;
    cc_code rc = check_node(&c, m->root, 0, NULL, NULL, &total);
    if (rc != CC_OK)
        return rc;
    if (c.count != m->count)
        return cc_err_set(err, CC_CORRUPT, "omap: count %zu, tree holds %zu", m->count, c.count);
    if (!pmap_fp_equal(c.fp, m->fp))
        return cc_err_set(err, CC_CORRUPT, "omap: fingerprint differs from a recount");
    return CC_OK;
}

/* Adds x's subtree to s and its entry count to *entries. */
static void
stats_node(const onode *x, pmap_omap_stats *s, size_t *entries)
{
    s->node_bytes += node_bytes(kind_of(x), ncap(x));
    if (is_leaf(x)) {
        s->leaves++;
        *entries += x->n;
        for (unsigned i = 0; i < x->n; i++)
            s->key_bytes += sizeof(pmap__key) + nkeys(x)[i]->len;
        return;
    }
    s->branches++;
    for (unsigned i = 0; i < x->n; i++)
        stats_node(nkids(x)[i], s, entries);
}

void
pmap_omap_stats_get(const pmap_omap *m, pmap_omap_stats *out)
{
    *out = (pmap_omap_stats){0};
    size_t entries = 0;
    if (m->root != NULL)
        stats_node(m->root, out, &entries);
    if (out->leaves > 0)
        out->leaf_fill = (double)entries / ((double)out->leaves * FANOUT);
}
