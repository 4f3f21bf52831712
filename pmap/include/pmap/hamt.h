/*
 * pmap/hamt.h — a persistent hash map: a CHAMP trie (Steindorfer & Vinju 2015).
 *
 * Keys are u64 ids or byte strings (chosen per map type); values are opaque
 * non-NULL pointers managed through pmap_value_ops. Every node has two 32-bit
 * bitmaps, one for inline entries and one for sub-nodes, indexed by 5-bit
 * slices of the key's 64-bit hash; deletes restore the canonical form (a
 * sub-node left with one entry is inlined into its parent), so equal contents
 * always have equal shapes and the diff can skip shared subtrees. Keys whose
 * hashes agree on all 64 bits land in a collision node at the bottom.
 *
 * Costs (n entries): lookup, insert, update, delete O(log32 n); clone O(1) with
 * no allocation; diff O(changes * depth); fingerprint comparison O(1).
 * Iteration order is hash order: stable for one process, not across processes
 * (the hash seed is per process), so nothing durable may depend on it.
 *
 * Versions, transactions, readers and clones: see pmap/domain.h. Read
 * functions take a const handle and are safe from any thread that holds the
 * version (a pinned reader, or the writer itself). Write functions take the
 * transaction and the handle of the line's head, and update the handle in
 * place; they fail only with NOMEM (which poisons the transaction) or
 * INVALID (bad arguments, nothing changed).
 */
#ifndef COWCAT_PMAP_HAMT_H
#define COWCAT_PMAP_HAMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "pmap/domain.h"

typedef enum pmap_key_kind {
    PMAP_KEY_U64 = 0,   /* keys are uint64_t ids */
    PMAP_KEY_BYTES = 1, /* keys are byte strings, copied into the map */
} pmap_key_kind;

/*
 * A map type, shared by every map of that type and outliving them all (usually
 * a static const). hash_u64/hash_bytes replace the default hashes (the seeded
 * bijective mixer; XXH3 with the process seed); tests plug in degenerate ones to
 * force collisions. Maps of different types must not be diffed together.
 */
typedef struct pmap_hamt_type {
    pmap_key_kind key_kind;
    const pmap_value_ops *value_ops;                 /* may be NULL */
    uint64_t (*hash_u64)(uint64_t key);              /* may be NULL */
    uint64_t (*hash_bytes)(const void *p, size_t n); /* may be NULL */
} pmap_hamt_type;

struct pmap__hnode;

/* A map handle: a view of one version (see pmap/domain.h). */
typedef struct pmap_hamt {
    struct pmap__hnode *root; /* NULL when empty */
    const pmap_hamt_type *type;
    pmap_domain *domain;
    size_t count; /* number of entries */
    pmap_fp fp;   /* sum of per-entry fingerprints */
} pmap_hamt;

/* Maximum trie depth (levels of 5 hash bits, then the collision level). */
#define PMAP_HAMT_MAX_DEPTH 14

typedef struct pmap_hamt_iter {
    const pmap_hamt *map;
    unsigned depth;
    struct {
        const struct pmap__hnode *node;
        unsigned entry; /* next inline entry to return */
        unsigned child; /* next child to descend into */
    } stack[PMAP_HAMT_MAX_DEPTH + 1];
} pmap_hamt_iter;

typedef struct pmap_hamt_stats {
    size_t nodes; /* trie nodes, collision nodes included */
    size_t collision_nodes;
    size_t node_bytes;      /* bytes requested for nodes (capacity included) */
    size_t max_depth;       /* deepest node, root = 1 */
    double avg_entry_depth; /* mean depth of an entry's node */
} pmap_hamt_stats;

/* Initialises m as the empty map of type in domain d. No allocation. */
void pmap_hamt_init(pmap_hamt *m, pmap_domain *d, const pmap_hamt_type *type);

/*
 * Starts a new line *dst from the committed version src: O(1), no allocation.
 * Both lines are independent afterwards; each must eventually be dropped.
 * Requires: src was committed (not created by a still-open transaction).
 */
void pmap_hamt_clone(const pmap_hamt *src, pmap_hamt *dst);

/*
 * Ends the line m: its nodes, keys and values are released when txn commits
 * (those shared with other lines stay). m becomes empty. Errors: NOMEM.
 */
cc_code pmap_hamt_drop(pmap_txn *txn, pmap_hamt *m, cc_err *err);

/* --- reads --------------------------------------------------------------- */

/* The value stored under id, or NULL. Requires a u64-keyed map. */
void *pmap_hamt_find_u64(const pmap_hamt *m, uint64_t id);

/* The value stored under the len bytes at key, or NULL. Requires a byte-keyed map. */
void *pmap_hamt_find_bytes(const pmap_hamt *m, const void *key, size_t len);

static inline size_t
pmap_hamt_count(const pmap_hamt *m)
{
    return m->count;
}

static inline pmap_fp
pmap_hamt_fp(const pmap_hamt *m)
{
    return m->fp;
}

/* O(1): equal counts and fingerprints (128-bit; collisions are negligible). */
static inline bool
pmap_hamt_same_content(const pmap_hamt *a, const pmap_hamt *b)
{
    return a->count == b->count && pmap_fp_equal(a->fp, b->fp);
}

/* --- writes -------------------------------------------------------------- */

/*
 * Inserts or replaces the value under id. The map retains value; a replaced
 * value is released at commit. *replaced (may be NULL) says whether the key
 * existed. Errors: NOMEM, INVALID (NULL value, wrong key kind).
 */
cc_code pmap_hamt_put_u64(pmap_txn *txn, pmap_hamt *m, uint64_t id, void *value, bool *replaced,
                          cc_err *err);

/* As pmap_hamt_put_u64 for a byte-keyed map; the key bytes are copied. */
cc_code pmap_hamt_put_bytes(pmap_txn *txn, pmap_hamt *m, const void *key, size_t len, void *value,
                            bool *replaced, cc_err *err);

/* Removes id; *removed (may be NULL) says whether it was there. Errors: NOMEM, INVALID. */
cc_code pmap_hamt_del_u64(pmap_txn *txn, pmap_hamt *m, uint64_t id, bool *removed, cc_err *err);

/* As pmap_hamt_del_u64 for a byte-keyed map. */
cc_code pmap_hamt_del_bytes(pmap_txn *txn, pmap_hamt *m, const void *key, size_t len, bool *removed,
                            cc_err *err);

/*
 * Builds the map from n entries in any order (sorted by hash internally, nodes
 * built bottom-up at exact size). Requires m empty. Errors: NOMEM, INVALID
 * (duplicate key, NULL value, wrong key kind; nothing changed).
 */
cc_code pmap_hamt_build_u64(pmap_txn *txn, pmap_hamt *m, const uint64_t *ids, void *const *values,
                            size_t n, cc_err *err);

/* As pmap_hamt_build_u64 for a byte-keyed map. */
cc_code pmap_hamt_build_bytes(pmap_txn *txn, pmap_hamt *m, const pmap_bytes *keys,
                              void *const *values, size_t n, cc_err *err);

/* --- iteration, diff, checks --------------------------------------------- */

/*
 * Starts an iteration over m in hash order (trie order: each node's inline
 * entries, then its sub-nodes). m must stay valid meanwhile.
 */
void pmap_hamt_iter_init(pmap_hamt_iter *it, const pmap_hamt *m);

/*
 * Next entry: sets *id (u64 maps) or *key (byte maps; either may be NULL) and
 * *value; returns false at the end.
 */
bool pmap_hamt_iter_next(pmap_hamt_iter *it, uint64_t *id, pmap_bytes *key, void **value);

/*
 * Calls fn for every key added, removed or changed from a to b (same type),
 * skipping subtrees the two versions share. Values are compared with the
 * type's equal (pointer equality if none). Returns 0, or fn's non-zero result.
 */
int pmap_hamt_diff(const pmap_hamt *a, const pmap_hamt *b, pmap_diff_fn fn, void *arg);

/*
 * Walks the whole map and verifies every structural invariant: bitmaps
 * disjoint and consistent with the entries' hashes, canonical form, collision
 * nodes only at the bottom with >= 2 entries of one hash, no duplicate keys,
 * count and fingerprint equal to a recount, reference counts >= 1, and no node
 * owned by a transaction other than txn (NULL: all nodes sealed).
 * m must be a line (a head or a clone): an old version that only a pinned
 * reader still holds may legitimately have counts of 0 under counted sharing.
 * Errors: CORRUPT with the first violation.
 */
cc_code pmap_hamt_check(const pmap_hamt *m, const pmap_txn *txn, cc_err *err);

/* Shape statistics (walks the whole map). */
void pmap_hamt_stats_get(const pmap_hamt *m, pmap_hamt_stats *out);

#endif
