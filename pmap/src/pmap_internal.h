/*
 * pmap/src/pmap_internal.h — what the maps (hamt.c, omap.c) and the domain
 * (domain.c) share: the node header, the transaction's logs, key blobs, and
 * the rules that make path copying, transients, abort and reclamation agree.
 *
 * Node header
 *   Every node of every map starts with pmap__hdr:
 *
 *     +-----------+-----------------------------+
 *     | owner u32 | rc:24 | aux:8               |   then the map's own fields
 *     +-----------+-----------------------------+
 *
 *   owner  the id of the transaction that created the node while that
 *          transaction is open; PMAP__OWNER_SEALED (0) once it committed;
 *          PMAP__OWNER_DEAD if its own transaction discarded it.
 *   rc     structural references: parents in committed versions plus line
 *          roots. Readers never read or write it. It is 1 for every node of a
 *          map that was never cloned, and is only written (atomically) when a
 *          node is shared between lines.
 *   aux    8 bits the node's map may use (capacity, node kind).
 *   owner and rc are writer-side metadata: readers never read them, so a
 *   writer may update them while readers traverse the node.
 *
 * The copy rules (every map follows them; see domain.h for the model)
 *   Let txn write to the head of a line. For a node n on the path of a write:
 *   1. pmap__node_mutable(txn, n): n was born in txn and is referenced once:
 *      change it in place. If it must grow, allocate a bigger node with
 *      pmap__node_new, copy, and pmap__node_discard(txn, n).
 *   2. otherwise, allocate a copy c with pmap__node_new and then:
 *      a. pmap__node_exclusive(txn, n) (rc == 1, sharing mode OWNER): c takes
 *         over n's children, keys and values as they are (a move: no counts
 *         change) and pmap__retire_node(txn, n) frees n's memory once readers
 *         have left, if txn commits.
 *      b. otherwise (n is shared with another line, or the domain counts):
 *         pmap__share_children(...) for every child node, key and value c now
 *         references (each gains one reference, undone on abort), and
 *         pmap__release_node(txn, n) drops the line's reference to n at commit.
 *   3. Removing a key/value from an owned node: pmap__release_key /
 *      pmap__release_value (released at commit, once readers have left).
 *      Inserting one: pmap__key_new (a fresh blob) or pmap__retain_key, and
 *      pmap__retain_value (both undone on abort).
 *   4. Removing a child node from an owned node (e.g. CHAMP inlining a
 *      sub-node's last entry into its parent): if the child is owned and
 *      mutable, pmap__node_discard it; else apply 2a/2b to it as if it had been
 *      copied (whatever moved out of it is then owned by the parent).
 *   Every function here that can allocate returns a cc_code; the first NOMEM
 *   poisons the transaction (the map then returns NOMEM; the caller aborts).
 *   Reserve log space with pmap__log_reserve before changing anything a
 *   failure would leave half done; pushes within the reservation cannot fail.
 *
 * Node classes
 *   A pmap__node_class tells the domain how to release what a node references
 *   when its rc drops to zero (a dropped line, a shared node released by its
 *   last line) and how big it is.
 */
#ifndef COWCAT_PMAP_INTERNAL_H
#define COWCAT_PMAP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/assert.h"
#include "base/err.h"
#include "pmap/domain.h"

#define PMAP__OWNER_SEALED 0u
#define PMAP__OWNER_DEAD   0xFFFFFFFFu
#define PMAP__RC_MASK      0x00FFFFFFu
#define PMAP__AUX_SHIFT    24

typedef struct pmap__hdr {
    uint32_t owner;  /* owning open txn id, SEALED or DEAD */
    uint32_t rc_aux; /* rc in the low 24 bits, map-private aux in the high 8 */
} pmap__hdr;

typedef struct pmap__garbage pmap__garbage;

typedef struct pmap__node_class {
    const char *name;
    /*
     * node's rc reached zero: give up every reference it holds, calling
     * pmap__g_unref_node for each child node, pmap__g_release_key for each key
     * blob and pmap__g_release_value for each value. Must not free node (the
     * domain does, once readers have left) and must not modify it (readers of
     * old versions may still be reading it).
     */
    void (*drop_refs)(pmap__garbage *g, pmap__hdr *node);
    /* The node's allocation size in bytes. */
    size_t (*size)(const pmap__hdr *node);
} pmap__node_class;

/* A key blob: immutable bytes shared by every node and version holding the key. */
typedef struct pmap__key {
    uint32_t refs;   /* atomic; number of node slots referencing the blob */
    uint32_t len;    /* key length in bytes */
    uint64_t hash;   /* map-defined (hamt: the key's hash; omap: unused, 0) */
    uint8_t bytes[]; /* len bytes */
} pmap__key;

/* --- header accessors ---------------------------------------------------- */

static inline uint32_t
pmap__rc(const pmap__hdr *n)
{
    return __atomic_load_n(&n->rc_aux, __ATOMIC_RELAXED) & PMAP__RC_MASK;
}

static inline uint8_t
pmap__aux(const pmap__hdr *n)
{
    return (uint8_t)(__atomic_load_n(&n->rc_aux, __ATOMIC_RELAXED) >> PMAP__AUX_SHIFT);
}

/* Sets aux on a node its creator still owns (no concurrent rc updates possible). */
static inline void
pmap__set_aux(pmap__hdr *n, uint8_t aux)
{
    n->rc_aux = (n->rc_aux & PMAP__RC_MASK) | ((uint32_t)aux << PMAP__AUX_SHIFT);
}

/* Adds one structural reference (another line or parent shares n). */
static inline void
pmap__node_ref(pmap__hdr *n)
{
    /* Relaxed: the reference is published later by a release (commit/publish). */
    __atomic_add_fetch(&n->rc_aux, 1, __ATOMIC_RELAXED);
}

/* --- transactions -------------------------------------------------------- */

/*
 * The first fields of every pmap_txn (domain.c), visible here so the hot
 * accessors below inline. Only domain.c writes them.
 */
typedef struct pmap__txn_head {
    pmap_domain *d;
    uint32_t id;   /* owner token of nodes born in this transaction */
    bool counted;  /* PMAP_SHARING_COUNTED */
    bool poisoned; /* a write failed; only abort is allowed */
} pmap__txn_head;

/* The txn's owner token. */
static inline uint32_t
pmap__txn_id(const pmap_txn *txn)
{
    return ((const pmap__txn_head *)(const void *)txn)->id;
}

/* True if nodes must always be copied with counted sharing (PMAP_SHARING_COUNTED). */
static inline bool
pmap__txn_counted(const pmap_txn *txn)
{
    return ((const pmap__txn_head *)(const void *)txn)->counted;
}

/* Marks txn poisoned and records NOMEM in err; returns CC_NOMEM. */
cc_code pmap__txn_fail_nomem(pmap_txn *txn, cc_err *err, const char *what);

/* Returns CC_NOMEM (with a message) if txn is poisoned, else CC_OK. */
cc_code pmap__txn_check(pmap_txn *txn, cc_err *err);

/* n may be changed in place by txn: born in txn and referenced once. */
static inline bool
pmap__node_mutable(const pmap_txn *txn, const pmap__hdr *n)
{
    return n->owner == pmap__txn_id(txn) && pmap__rc(n) == 1;
}

/* A copy of n may move n's contents (rule 2a) rather than share them (2b). */
static inline bool
pmap__node_exclusive(const pmap_txn *txn, const pmap__hdr *n)
{
    return pmap__rc(n) == 1 && !pmap__txn_counted(txn);
}

/*
 * Ensures the next `undo` undo-log pushes and `redo` redo-log pushes cannot
 * fail. Errors: NOMEM (txn poisoned).
 */
cc_code pmap__log_reserve(pmap_txn *txn, size_t undo, size_t redo, cc_err *err);

/*
 * Allocates a node of size bytes (zeroed header, rest uninitialised) born in
 * txn: owner = txn's id, rc = 1, aux = 0. Recorded so abort frees it and
 * commit seals it. Returns NULL on NOMEM (txn poisoned, err set).
 */
void *pmap__node_new(pmap_txn *txn, const pmap__node_class *cls, size_t size, cc_err *err);

/* n, born in txn, is no longer referenced by anything: freed when txn ends. */
void pmap__node_discard(pmap_txn *txn, pmap__hdr *n);

/*
 * Rule 2a: n (exclusive, not born in txn) was copied or emptied; its memory
 * is freed after commit once readers have left, nothing it references is
 * touched. Needs one reserved redo push.
 */
void pmap__retire_node(pmap_txn *txn, pmap__hdr *n, const pmap__node_class *cls);

/*
 * Rule 2b: the line's reference to the shared node n ends at commit (if the
 * count then reaches zero, n's references are dropped and n freed later).
 * Needs one reserved redo push.
 */
void pmap__release_node(pmap_txn *txn, pmap__hdr *n, const pmap__node_class *cls);

/*
 * Rule 2b for one child node, key or value the copy now also references: adds
 * the reference now and logs its undo. Each needs one reserved undo push.
 * The value form calls ops->retain (nothing if ops or retain is NULL).
 */
void pmap__share_node(pmap_txn *txn, pmap__hdr *child, const pmap__node_class *cls);
void pmap__share_key(pmap_txn *txn, pmap__key *k);
void pmap__share_value(pmap_txn *txn, void *value, const pmap_value_ops *ops);

/*
 * Rule 3, insert: the map starts referencing value (retained now, released
 * on abort). Needs one reserved undo push. Same as pmap__share_value.
 */
static inline void
pmap__retain_value(pmap_txn *txn, void *value, const pmap_value_ops *ops)
{
    pmap__share_value(txn, value, ops);
}

/* Rule 3, remove: released after commit once readers have left. One reserved redo push. */
void pmap__release_value(pmap_txn *txn, void *value, const pmap_value_ops *ops);
void pmap__release_key(pmap_txn *txn, pmap__key *k);

/*
 * A new key blob holding len bytes, refs = 1, freed on abort. Needs one
 * reserved undo push. Returns NULL on NOMEM (txn poisoned, err set).
 */
pmap__key *pmap__key_new(pmap_txn *txn, const void *bytes, size_t len, uint64_t hash, cc_err *err);

/*
 * Ends a line whose root is n (pmap_*_drop): at commit the line's reference is
 * released as by pmap__release_node. Needs one reserved redo push.
 */
static inline void
pmap__drop_root(pmap_txn *txn, pmap__hdr *root, const pmap__node_class *cls)
{
    pmap__release_node(txn, root, cls);
}

/* --- garbage (used from node_class.drop_refs) ---------------------------- */

/* Drops one reference to n; at zero, drops n's references and frees n later. */
void pmap__g_unref_node(pmap__garbage *g, pmap__hdr *n, const pmap__node_class *cls);
void pmap__g_release_key(pmap__garbage *g, pmap__key *k);
void pmap__g_release_value(pmap__garbage *g, void *value, const pmap_value_ops *ops);

/* --- fingerprints -------------------------------------------------------- */

/* The contribution of one entry (key hash, value hash) to a map fingerprint. */
static inline pmap_fp
pmap__fp_entry(uint64_t key_hash, uint64_t value_hash)
{
    uint64_t a = key_hash ^ (value_hash * 0x9e3779b97f4a7c15ULL);
    uint64_t b = (key_hash * 0xc2b2ae3d27d4eb4fULL) ^ value_hash ^ 0x165667b19e3779f9ULL;
    a ^= a >> 31;
    a *= 0x7fb5d329728ea185ULL;
    a ^= a >> 27;
    a *= 0x81dadef4bc2dd44dULL;
    a ^= a >> 33;
    b ^= b >> 29;
    b *= 0xbf58476d1ce4e5b9ULL;
    b ^= b >> 32;
    b *= 0x94d049bb133111ebULL;
    b ^= b >> 29;
    return (pmap_fp){a, b};
}

static inline void
pmap__fp_add(pmap_fp *fp, pmap_fp e)
{
    fp->lo += e.lo;
    fp->hi += e.hi;
}

static inline void
pmap__fp_sub(pmap_fp *fp, pmap_fp e)
{
    fp->lo -= e.lo;
    fp->hi -= e.hi;
}

/* The hash a value contributes to fingerprints: ops->hash, or its pointer bits. */
static inline uint64_t
pmap__value_hash(const void *value, const pmap_value_ops *ops)
{
    if (ops != NULL && ops->hash != NULL)
        return ops->hash(value);
    return (uint64_t)(uintptr_t)value;
}

/* Values equal for diff purposes: same pointer, or ops->equal says so. */
static inline bool
pmap__value_equal(const void *a, const void *b, const pmap_value_ops *ops)
{
    if (a == b)
        return true;
    return ops != NULL && ops->equal != NULL && ops->equal(a, b);
}

#endif
