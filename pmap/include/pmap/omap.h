/*
 * pmap/omap.h — a persistent ordered map: a copy-on-write B+tree keyed by byte
 * strings, with subtree counts.
 *
 * Keys are byte strings ordered by memcmp (shorter first on a common prefix);
 * the map copies them. Values are opaque non-NULL pointers managed through
 * pmap_value_ops. Leaves and branches hold up to PMAP_OMAP_FANOUT entries;
 * every node but the root holds at least PMAP_OMAP_FANOUT / 4 (deletes borrow
 * from or merge with a sibling below that); a bulk build packs leaves full.
 * Each leaf slot keeps the first 8 key bytes big-endian next to the key
 * pointer, so most comparisons are one integer compare (keys that share their
 * first 8 bytes compare through the key blob). Branches keep the entry count
 * of every child, which gives rank, select and range counts in O(log n).
 * There are no sibling links (they are incompatible with path copying); cursors
 * keep a stack of (node, index) instead.
 *
 * Costs (n entries): find, insert, delete, rank, select O(log n); a range scan
 * O(log n + k); clone O(1) with no allocation; diff O(changes * log n) for
 * versions derived from each other; fingerprint comparison O(1).
 *
 * Versions, transactions, readers and clones: see pmap/domain.h. Read
 * functions take a const handle; write functions take the transaction and the
 * handle of the line's head and update it in place; they fail only with NOMEM
 * (which poisons the transaction) or INVALID (nothing changed).
 */
#ifndef COWCAT_PMAP_OMAP_H
#define COWCAT_PMAP_OMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "pmap/domain.h"

#define PMAP_OMAP_FANOUT    32 /* max entries per leaf, max children per branch */
#define PMAP_OMAP_MAX_DEPTH 12 /* ample: 32 * 11^11 entries */

/* A map type, shared by every map of that type and outliving them (static const). */
typedef struct pmap_omap_type {
    const pmap_value_ops *value_ops; /* may be NULL */
} pmap_omap_type;

struct pmap__onode;

/* A map handle: a view of one version (see pmap/domain.h). */
typedef struct pmap_omap {
    struct pmap__onode *root; /* NULL when empty */
    const pmap_omap_type *type;
    pmap_domain *domain;
    size_t count;    /* number of entries */
    pmap_fp fp;      /* sum of per-entry fingerprints */
    unsigned height; /* 0 when empty, 1 = root is a leaf */
} pmap_omap;

/*
 * A cursor: a position between entries or on one, valid while the version it
 * was set on is valid. Moving past either end leaves it unpositioned.
 */
typedef struct pmap_omap_cursor {
    const pmap_omap *map;
    unsigned depth; /* stack entries in use; 0 = not positioned */
    struct {
        const struct pmap__onode *node;
        unsigned index;
    } stack[PMAP_OMAP_MAX_DEPTH];
} pmap_omap_cursor;

typedef struct pmap_omap_stats {
    size_t leaves;
    size_t branches;
    size_t node_bytes; /* bytes requested for nodes */
    size_t key_bytes;  /* bytes of key blobs (headers included) */
    double leaf_fill;  /* mean entries per leaf / fanout */
} pmap_omap_stats;

/* Initialises m as the empty map of type in domain d. No allocation. */
void pmap_omap_init(pmap_omap *m, pmap_domain *d, const pmap_omap_type *type);

/* Starts a new line *dst from the committed version src: O(1), no allocation. */
void pmap_omap_clone(const pmap_omap *src, pmap_omap *dst);

/* Ends the line m (released at commit; shared parts stay). m becomes empty. Errors: NOMEM. */
cc_code pmap_omap_drop(pmap_txn *txn, pmap_omap *m, cc_err *err);

/* --- reads --------------------------------------------------------------- */

/* The value under key, or NULL. */
void *pmap_omap_find(const pmap_omap *m, const void *key, size_t len);

static inline size_t
pmap_omap_count(const pmap_omap *m)
{
    return m->count;
}

static inline pmap_fp
pmap_omap_fp(const pmap_omap *m)
{
    return m->fp;
}

static inline bool
pmap_omap_same_content(const pmap_omap *a, const pmap_omap *b)
{
    return a->count == b->count && pmap_fp_equal(a->fp, b->fp);
}

/* Number of keys strictly less than key. O(log n). */
size_t pmap_omap_rank(const pmap_omap *m, const void *key, size_t len);

/* Number of keys k with lo <= k < hi. O(log n). */
size_t pmap_omap_count_range(const pmap_omap *m, const void *lo, size_t lo_len, const void *hi,
                             size_t hi_len);

/*
 * The i-th entry in key order (0-based): sets *key (borrowed, valid with the
 * version) and *value; false if i >= count. O(log n).
 */
bool pmap_omap_select(const pmap_omap *m, size_t i, pmap_bytes *key, void **value);

/* --- cursors ------------------------------------------------------------- */

/* Positions c on the first entry >= key; returns false (unpositioned) if none. */
bool pmap_omap_seek(pmap_omap_cursor *c, const pmap_omap *m, const void *key, size_t len);

/* Positions c on the first / last entry; false if the map is empty. */
bool pmap_omap_seek_first(pmap_omap_cursor *c, const pmap_omap *m);
bool pmap_omap_seek_last(pmap_omap_cursor *c, const pmap_omap *m);

/* The entry under c: sets *key and *value (either may be NULL); false if unpositioned. */
bool pmap_omap_cursor_get(const pmap_omap_cursor *c, pmap_bytes *key, void **value);

/* Moves to the next / previous entry; false (unpositioned) past the end. */
bool pmap_omap_cursor_next(pmap_omap_cursor *c);
bool pmap_omap_cursor_prev(pmap_omap_cursor *c);

/* --- writes -------------------------------------------------------------- */

/*
 * Inserts or replaces the value under key (bytes copied; the map retains
 * value, a replaced value is released at commit). *replaced may be NULL.
 * Errors: NOMEM, INVALID (NULL value).
 */
cc_code pmap_omap_put(pmap_txn *txn, pmap_omap *m, const void *key, size_t len, void *value,
                      bool *replaced, cc_err *err);

/* Removes key; *removed (may be NULL) says whether it was there. Errors: NOMEM. */
cc_code pmap_omap_del(pmap_txn *txn, pmap_omap *m, const void *key, size_t len, bool *removed,
                      cc_err *err);

/*
 * Builds the map from n entries in strictly ascending key order, packing
 * leaves full. Requires m empty. Errors: NOMEM, INVALID (unsorted or duplicate
 * keys, NULL value; nothing changed).
 */
cc_code pmap_omap_build(pmap_txn *txn, pmap_omap *m, const pmap_bytes *keys, void *const *values,
                        size_t n, cc_err *err);

/* --- diff, checks -------------------------------------------------------- */

/*
 * Calls fn, in key order, for every key added, removed or changed from a to b,
 * skipping subtrees the two versions share. Returns 0 or fn's non-zero result.
 */
int pmap_omap_diff(const pmap_omap *a, const pmap_omap *b, pmap_diff_fn fn, void *arg);

/*
 * Verifies every invariant: keys strictly ascending across the whole tree,
 * separators bounding their subtrees, node fill bounds, all leaves at one
 * depth equal to height, subtree counts, prefixes equal to key bytes, count and
 * fingerprint equal to a recount, reference counts >= 1, and no node owned by
 * a transaction other than txn (NULL: all sealed). Errors: CORRUPT.
 */
cc_code pmap_omap_check(const pmap_omap *m, const pmap_txn *txn, cc_err *err);

void pmap_omap_stats_get(const pmap_omap *m, pmap_omap_stats *out);

#endif
