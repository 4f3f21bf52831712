/*
 * pmap/src/hamt_node.h — the CHAMP node layout and the key/hash helpers shared
 * by hamt.c (writes, lookups, bulk build) and hamt_walk.c (iteration, diff,
 * check, stats). Private to pmap/src.
 *
 * Node layout (one allocation; all slots are 64-bit words)
 *
 *     +-----------+--------------+-----------+-----------+
 *     | owner u32 | rc:24 aux:8  | datamap   | nodemap   |   16-byte header
 *     +-----------+--------------+-----------+-----------+
 *     | key 0 | value 0 | key 1 | value 1 | ... | child 0 | child 1 | ...
 *     +-------+---------+-------+---------+-----+---------+---------+------
 *       inline entries, popcount(datamap)     then child nodes,
 *       of them, in bit order                 popcount(nodemap), in bit order
 *     ... | free capacity | [type pointer] |
 *
 *   A key word is the u64 id (PMAP_KEY_U64) or a pmap__key * (PMAP_KEY_BYTES,
 *   whose hash field holds the key's hash so splits never rehash). Entry i is
 *   at slot[2i], its value at slot[2i+1]; child j at slot[2*popcount(datamap)+j];
 *   the slot of hash slice s is found with popcount(map & (bit(s) - 1)).
 *   aux holds the capacity in words (low 7 bits) and PMAP__HAUX_COLL.
 *
 *   Level L (root = 0) indexes with hash bits 5L..5L+4, so levels 0..12 use
 *   all 64 bits (level 12 has 4). Keys whose whole hashes are equal share a
 *   *collision node* at level 13: PMAP__HAUX_COLL set, datamap = entry count
 *   (>= 2), nodemap = capacity in entries, entries sorted by key, no children.
 *
 *   Nodes of "typed" maps (byte keys, or values with a release function) end
 *   with a pointer to the map type after their capacity, so drop_refs can
 *   release keys and values without knowing the map; other maps' nodes do not
 *   pay the 8 bytes.
 *
 * Readers only read datamap, nodemap and slots; the header (owner, rc, aux) is
 * writer-side metadata, except that aux's collision flag is also implied by
 * the level, which readers use instead.
 */
#ifndef COWCAT_PMAP_HAMT_NODE_H
#define COWCAT_PMAP_HAMT_NODE_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "base/hash.h"
#include "pmap/hamt.h"
#include "pmap_internal.h"

#define PMAP__HCOLL_LEVEL 13u   /* level of collision nodes */
#define PMAP__HAUX_COLL   0x80u /* aux flag: collision node */
#define PMAP__HAUX_CAP    0x7Fu /* aux: capacity in words (normal nodes, <= 64) */
#define PMAP__HMAX_WORDS  64u   /* 32 inline entries */

struct pmap__hnode {
    pmap__hdr hdr;    /* owner, rc, aux = capacity | PMAP__HAUX_COLL */
    uint32_t datamap; /* inline-entry bits; collision node: entry count */
    uint32_t nodemap; /* child bits; collision node: capacity in entries */
    uint64_t slot[];  /* entries, then children, then slack, [type pointer] */
};

typedef struct pmap__hnode pmap__hnode;

CC_STATIC_ASSERT(sizeof(void *) == 8, "hamt slots hold pointers in 64-bit words");

/* A key being looked up, inserted or deleted. */
typedef struct pmap__hprobe {
    uint64_t id;       /* u64 key */
    const void *bytes; /* byte key */
    size_t len;
    uint64_t hash; /* the type's hash of the key */
} pmap__hprobe;

/* Population count; without -mpopcnt the builtin is a libgcc call, so SWAR. */
static inline unsigned
pmap__hpc(uint32_t x)
{
#ifdef __POPCNT__
    return (unsigned)__builtin_popcount(x);
#else
    x = x - ((x >> 1) & 0x55555555u);
    x = (x & 0x33333333u) + ((x >> 2) & 0x33333333u);
    x = (x + (x >> 4)) & 0x0F0F0F0Fu;
    return (x * 0x01010101u) >> 24;
#endif
}

static inline bool
pmap__hcoll(const pmap__hnode *n)
{
    return (pmap__aux(&n->hdr) & PMAP__HAUX_COLL) != 0;
}

static inline unsigned
pmap__hentries(const pmap__hnode *n)
{
    return pmap__hcoll(n) ? n->datamap : pmap__hpc(n->datamap);
}

static inline unsigned
pmap__hchildren(const pmap__hnode *n)
{
    return pmap__hcoll(n) ? 0 : pmap__hpc(n->nodemap);
}

static inline unsigned
pmap__hwords(const pmap__hnode *n)
{
    return 2 * pmap__hentries(n) + pmap__hchildren(n);
}

static inline unsigned
pmap__hcap(const pmap__hnode *n)
{
    return pmap__hcoll(n) ? 2 * n->nodemap : (pmap__aux(&n->hdr) & PMAP__HAUX_CAP);
}

static inline pmap__hnode *
pmap__hchild(const pmap__hnode *n, unsigned j)
{
    return (pmap__hnode *)(uintptr_t)n->slot[2 * pmap__hpc(n->datamap) + j];
}

static inline unsigned
pmap__hslice(uint64_t h, unsigned level)
{
    return (unsigned)(h >> (5 * level)) & 31u;
}

static inline bool
pmap__htyped(const pmap_hamt_type *t)
{
    return t->key_kind == PMAP_KEY_BYTES || (t->value_ops != NULL && t->value_ops->release != NULL);
}

static inline uint64_t
pmap__hhash_id(const pmap_hamt_type *t, uint64_t id)
{
    return t->hash_u64 != NULL ? t->hash_u64(id) : cc_hash_u64(id);
}

static inline uint64_t
pmap__hhash_bytes(const pmap_hamt_type *t, const void *p, size_t n)
{
    return t->hash_bytes != NULL ? t->hash_bytes(p, n) : cc_hash_bytes(p, n);
}

static inline const pmap__key *
pmap__hkey(uint64_t kw)
{
    return (const pmap__key *)(uintptr_t)kw;
}

static inline void *
pmap__hptr(uint64_t w)
{
    return (void *)(uintptr_t)w;
}

/* The type's hash of a stored key word. */
static inline uint64_t
pmap__hkw_hash(const pmap_hamt_type *t, uint64_t kw)
{
    return t->key_kind == PMAP_KEY_U64 ? pmap__hhash_id(t, kw) : pmap__hkey(kw)->hash;
}

/* A probe for a stored key word. */
static inline pmap__hprobe
pmap__hkw_probe(const pmap_hamt_type *t, uint64_t kw)
{
    pmap__hprobe p = {0};
    if (t->key_kind == PMAP_KEY_U64) {
        p.id = kw;
    } else {
        p.bytes = pmap__hkey(kw)->bytes;
        p.len = pmap__hkey(kw)->len;
    }
    p.hash = pmap__hkw_hash(t, kw);
    return p;
}

static inline bool
pmap__hkey_eq(pmap_key_kind kind, uint64_t kw, const pmap__hprobe *p)
{
    if (kind == PMAP_KEY_U64)
        return kw == p->id;
    const pmap__key *k = pmap__hkey(kw);
    return k->hash == p->hash && k->len == p->len &&
           (p->len == 0 || memcmp(k->bytes, p->bytes, p->len) == 0);
}

/* Key order inside collision nodes: <0, 0, >0 as kw sorts before, with, after p. */
static inline int
pmap__hkey_cmp(pmap_key_kind kind, uint64_t kw, const pmap__hprobe *p)
{
    if (kind == PMAP_KEY_U64)
        return kw < p->id ? -1 : kw > p->id;
    const pmap__key *k = pmap__hkey(kw);
    size_t m = k->len < p->len ? k->len : p->len;
    int c = m > 0 ? memcmp(k->bytes, p->bytes, m) : 0;
    if (c != 0)
        return c;
    return k->len < p->len ? -1 : k->len > p->len;
}

/* The entry's fingerprint: default key hash (whatever the type plugs in), value hash. */
static inline pmap_fp
pmap__hentry_fp(const pmap_hamt_type *t, uint64_t kw, const void *value)
{
    uint64_t kh;
    if (t->key_kind == PMAP_KEY_U64)
        kh = cc_hash_u64(kw);
    else if (t->hash_bytes != NULL)
        kh = cc_hash_bytes(pmap__hkey(kw)->bytes, pmap__hkey(kw)->len);
    else
        kh = pmap__hkey(kw)->hash;
    return pmap__fp_entry(kh, pmap__value_hash(value, t->value_ops));
}

/*
 * Finds p in the subtree n at level; returns the entry's key slot or NULL.
 * Borrows n (a version the caller holds).
 */
static inline const uint64_t *
pmap__hfind(const pmap_hamt_type *t, const pmap__hnode *n, unsigned level, const pmap__hprobe *p)
{
    pmap_key_kind kind = t->key_kind;
    while (n != NULL) {
        if (level == PMAP__HCOLL_LEVEL) {
            for (unsigned i = 0; i < n->datamap; i++)
                if (pmap__hkey_eq(kind, n->slot[2 * i], p))
                    return &n->slot[2 * i];
            return NULL;
        }
        uint32_t bit = 1u << pmap__hslice(p->hash, level);
        if (n->datamap & bit) {
            unsigned i = pmap__hpc(n->datamap & (bit - 1));
            return pmap__hkey_eq(kind, n->slot[2 * i], p) ? &n->slot[2 * i] : NULL;
        }
        if (!(n->nodemap & bit))
            return NULL;
        n = (const pmap__hnode *)(uintptr_t)
                n->slot[2 * pmap__hpc(n->datamap) + pmap__hpc(n->nodemap & (bit - 1))];
        level++;
    }
    return NULL;
}

#endif
