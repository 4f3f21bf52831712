/*
 * pmap/src/omap_node.h — the B+tree node layout and the key search shared by
 * omap.c (writes) and omap_read.c (reads, cursors, diff, checks). The layout
 * and the invariants are pictured at the top of omap.c. Private to pmap.
 */
#ifndef COWCAT_PMAP_OMAP_NODE_H
#define COWCAT_PMAP_OMAP_NODE_H

#include <string.h>

#include "base/assert.h"
#include "base/hash.h"
#include "pmap/omap.h"
#include "pmap_internal.h"

#define FANOUT   PMAP_OMAP_FANOUT
#define MIN_FILL (PMAP_OMAP_FANOUT / 4)
#define CAP_STEP 4
#define AUX_LEAF 0x80u
#define AUX_CAP  0x3fu

CC_STATIC_ASSERT(FANOUT <= AUX_CAP && FANOUT % CAP_STEP == 0, "capacity must fit aux");
CC_STATIC_ASSERT(sizeof(void *) == sizeof(uint64_t), "node arrays assume 8-byte pointers");

typedef struct pmap__onode onode;

struct pmap__onode {
    pmap__hdr hdr;             /* owner, rc; aux = AUX_LEAF | capacity */
    uint32_t n;                /* entries (leaf) or children (branch) */
    uint32_t pad;              /* zero */
    const pmap_value_ops *ops; /* the map type's value ops (for drop_refs) */
    uint64_t pfx[];            /* cap prefixes, then the other arrays */
};

typedef enum node_kind {
    KIND_BRANCH = 0,
    KIND_LEAF = AUX_LEAF,
} node_kind;

/* A search key: borrowed bytes and their prefix. */
typedef struct okey {
    const uint8_t *p;
    size_t len;
    uint64_t pfx;
} okey;

/* --- node accessors -------------------------------------------------------- */

static inline unsigned
ncap(const onode *x)
{
    return pmap__aux(&x->hdr) & AUX_CAP;
}

static inline bool
is_leaf(const onode *x)
{
    return (pmap__aux(&x->hdr) & AUX_LEAF) != 0;
}

static inline node_kind
kind_of(const onode *x)
{
    return is_leaf(x) ? KIND_LEAF : KIND_BRANCH;
}

static inline uint64_t *
npfx(const onode *x)
{
    return (uint64_t *)x->pfx;
}

static inline pmap__key **
nkeys(const onode *x)
{
    return (pmap__key **)(x->pfx + ncap(x));
}

static inline void **
nvals(const onode *x)
{
    return (void **)(x->pfx + 2 * ncap(x));
}

static inline onode **
nkids(const onode *x)
{
    return (onode **)(x->pfx + 2 * ncap(x));
}

static inline uint64_t *
ncounts(const onode *x)
{
    return (uint64_t *)(x->pfx + 3 * ncap(x));
}

static inline size_t
node_bytes(node_kind kind, unsigned cap)
{
    return sizeof(onode) + (size_t)cap * 8 * (kind == KIND_LEAF ? 3 : 4);
}

static inline unsigned
round_cap(unsigned need)
{
    unsigned cap = (need + CAP_STEP - 1) / CAP_STEP * CAP_STEP;
    if (cap < CAP_STEP)
        cap = CAP_STEP;
    return cap > FANOUT ? FANOUT : cap;
}

static inline const pmap_value_ops *
map_ops(const pmap_omap *m)
{
    return m->type != NULL ? m->type->value_ops : NULL;
}

/* --- keys ------------------------------------------------------------------ */

static inline uint64_t
bytes_prefix(const uint8_t *p, size_t len)
{
    uint64_t v = 0;
    size_t m = len < 8 ? len : 8;
    for (size_t i = 0; i < m; i++)
        v |= (uint64_t)p[i] << (56 - 8 * i);
    return v;
}

static inline uint64_t
blob_prefix(const pmap__key *k)
{
    return bytes_prefix(k->bytes, k->len);
}

static inline okey
okey_of(const void *p, size_t len)
{
    okey k = {.p = p, .len = len, .pfx = len > 0 ? bytes_prefix(p, len) : 0};
    return k;
}

/* Orders k against the blob b whose prefix is pfx: memcmp order, shorter first. */
static inline int
key_cmp(const okey *k, uint64_t pfx, const pmap__key *b)
{
    if (k->pfx != pfx)
        return k->pfx < pfx ? -1 : 1;
    size_t m = k->len < b->len ? k->len : b->len;
    if (m > 8) {
        int c = memcmp(k->p + 8, b->bytes + 8, m - 8);
        if (c != 0)
            return c;
    }
    return (k->len > b->len) - (k->len < b->len);
}

static inline int
blob_cmp(const pmap__key *a, const pmap__key *b)
{
    okey k = {.p = a->bytes, .len = a->len, .pfx = blob_prefix(a)};
    return key_cmp(&k, blob_prefix(b), b);
}

/* The first slot of leaf x whose key is >= k; *found if it equals k. */
static inline unsigned
leaf_lower(const onode *x, const okey *k, bool *found)
{
    unsigned cap = ncap(x), lo = 0, hi = x->n;
    const uint64_t *pf = x->pfx;
    pmap__key *const *ks = (pmap__key *const *)(x->pfx + cap);
    while (lo < hi) {
        unsigned mid = (lo + hi) / 2;
        int c = key_cmp(k, pf[mid], ks[mid]);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c > 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

/* The child of branch x whose key range holds k. */
static inline unsigned
branch_index(const onode *x, const okey *k)
{
    unsigned cap = ncap(x), lo = 1, hi = x->n;
    const uint64_t *pf = x->pfx;
    pmap__key *const *ks = (pmap__key *const *)(x->pfx + cap);
    while (lo < hi) {
        unsigned mid = (lo + hi) / 2;
        if (key_cmp(k, pf[mid], ks[mid]) >= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo - 1;
}

/* The smallest key under x. */
static inline const pmap__key *
subtree_min(const onode *x)
{
    while (!is_leaf(x))
        x = nkids(x)[0];
    return nkeys(x)[0];
}

/* The number of entries under x (x's own counts; O(FANOUT)). */
static inline uint64_t
node_total(const onode *x)
{
    if (is_leaf(x))
        return x->n;
    uint64_t s = 0;
    const uint64_t *c = ncounts(x);
    for (unsigned i = 0; i < x->n; i++)
        s += c[i];
    return s;
}

static inline pmap_fp
entry_fp(const pmap__key *k, const void *value, const pmap_value_ops *ops)
{
    return pmap__fp_entry(cc_hash_bytes(k->bytes, k->len), pmap__value_hash(value, ops));
}

#endif
