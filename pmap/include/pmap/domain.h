/*
 * pmap/domain.h — versions, write transactions and memory reclamation shared by
 * the persistent maps (pmap/hamt.h, pmap/omap.h).
 *
 * A *domain* owns the reclamation state of a family of maps: the epoch counter,
 * the registered readers, and the garbage of committed transactions waiting for
 * readers to leave. Everything that is committed together (the maps of one
 * catalog state, say) lives in one domain.
 *
 * Versions and lines
 *   A map handle (pmap_hamt, pmap_omap) is a small value: copying the struct
 *   gives a *view* of the same version and costs nothing. A *line* is a map whose
 *   nodes it may rewrite: a writer advances a line from version to version
 *   inside write transactions. pmap_*_clone() starts a new, independent line
 *   from a committed version in O(1) without allocating (it adds one structural
 *   reference to the root); pmap_*_drop() ends a line.
 *
 * Write transactions (owner tokens)
 *   Every write happens inside a pmap_txn. Nodes born in a transaction carry its
 *   owner token and are mutated in place by later writes of the same
 *   transaction (the "transient" mode: a batch of writes copies each path at
 *   most once, and nodes keep slack capacity). A node not owned by the
 *   transaction is path-copied. Commit seals the born nodes (they never change
 *   again) and hands what the new version no longer uses to the domain, which
 *   frees it once no reader can see it. Abort frees what the transaction
 *   created and leaves the base version exactly as it was.
 *
 *   A transaction writes to the *head* of each line it touches: the version it
 *   started from must not have been superseded by another committed
 *   transaction on the same line. (The catalog's single writer guarantees this;
 *   a private fork of a line that is meant to live on is made with
 *   pmap_*_clone().)
 *
 * Readers (epochs)
 *   Readers never write to nodes and never touch reference counts. A reader
 *   pins the domain's epoch (pmap_reader_pin) before loading a published
 *   version and unpins when done; a pinned reader may hold any number of
 *   versions for any length of time, and their memory stays valid until it
 *   unpins. The writer publishes a version first (a release store of whatever
 *   points at it) and calls pmap_txn_commit() after; garbage is tagged with the
 *   epoch current at commit, the epoch then advances, and garbage is freed once
 *   every pinned reader's epoch is newer than its tag.
 *
 * Thread-safety: a domain may be used from many threads. A transaction and a
 * reader handle each belong to one thread at a time. Transactions on different
 * lines of one domain may run concurrently; two transactions on one line may
 * not (see above). Value release callbacks run in whichever thread commits or
 * reclaims.
 */
#ifndef COWCAT_PMAP_DOMAIN_H
#define COWCAT_PMAP_DOMAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

typedef struct pmap_domain pmap_domain;
typedef struct pmap_txn pmap_txn;
typedef struct pmap_reader pmap_reader;

/*
 * How a path copy treats the children of the node it copies.
 *   PMAP_SHARING_OWNER (default): a node referenced only by this line is
 *     *moved*: the copy takes over its children and values without touching
 *     them, and the old node is retired at commit. Only nodes shared with
 *     another line (after pmap_*_clone) pay for reference-count updates.
 *   PMAP_SHARING_COUNTED: every copy increments every child and retains every
 *     value, and the old node is released at commit — the classic per-node
 *     refcount scheme, kept so the benchmark can measure the difference.
 */
typedef enum pmap_sharing {
    PMAP_SHARING_OWNER = 0,
    PMAP_SHARING_COUNTED = 1,
} pmap_sharing;

typedef struct pmap_domain_options {
    pmap_sharing sharing; /* default PMAP_SHARING_OWNER */
} pmap_domain_options;

/*
 * Statistics. Allocation counts of a transaction are added when it commits or
 * aborts (so allocation does no shared atomic update); frees are counted when
 * they happen.
 */
typedef struct pmap_domain_stats {
    uint64_t epoch;           /* current epoch */
    uint64_t live_nodes;      /* nodes allocated by finished transactions, not yet freed */
    uint64_t live_node_bytes; /* their requested sizes */
    uint64_t live_keys;       /* key blobs likewise */
    uint64_t garbage_items;   /* retired items waiting for readers */
    uint64_t commits;         /* transactions committed */
    uint64_t aborts;          /* transactions aborted */
    uint64_t readers;         /* registered reader handles */
} pmap_domain_stats;

/*
 * Value operations. Map values are opaque non-NULL pointers (or non-zero
 * words); the map calls retain when it starts referencing a value from one
 * more place and release when it stops. Any member may be NULL: no retain or
 * release; hash of the pointer bits; equality of pointers. hash and equal must
 * be stable for a value's whole life (values are immutable once inserted).
 * release may run on any writer thread, after every reader that could see the
 * value has unpinned.
 */
typedef struct pmap_value_ops {
    void (*retain)(void *value);
    void (*release)(void *value);
    uint64_t (*hash)(const void *value);
    bool (*equal)(const void *a, const void *b);
} pmap_value_ops;

/* A 128-bit order-independent content fingerprint (two independent sums). */
typedef struct pmap_fp {
    uint64_t lo;
    uint64_t hi;
} pmap_fp;

static inline bool
pmap_fp_equal(pmap_fp a, pmap_fp b)
{
    return a.lo == b.lo && a.hi == b.hi;
}

/* A borrowed byte string. */
typedef struct pmap_bytes {
    const void *ptr;
    size_t len;
} pmap_bytes;

/* What pmap_*_diff reports for one key. */
typedef enum pmap_diff_kind {
    PMAP_DIFF_ADDED,   /* in b only: new_value set, old_value NULL */
    PMAP_DIFF_REMOVED, /* in a only: old_value set, new_value NULL */
    PMAP_DIFF_CHANGED, /* in both with unequal values */
} pmap_diff_kind;

typedef struct pmap_diff_item {
    pmap_diff_kind kind;
    uint64_t id;     /* the key of a u64-keyed map */
    pmap_bytes key;  /* the key of a byte-keyed map; valid during the callback */
    void *old_value; /* value in a, or NULL */
    void *new_value; /* value in b, or NULL */
} pmap_diff_item;

/* Diff callback: return 0 to continue, anything else to stop the diff with it. */
typedef int (*pmap_diff_fn)(void *arg, const pmap_diff_item *item);

/* --- domains ------------------------------------------------------------- */

/* Creates a domain. opts may be NULL for defaults. Errors: NOMEM. */
cc_code pmap_domain_new(const pmap_domain_options *opts, pmap_domain **out, cc_err *err);

/*
 * Frees the domain and all garbage still waiting. Requires: no open
 * transaction, no pinned reader, no reader handle left (free them first).
 * Nodes still referenced by live maps are not freed: drop the maps first.
 */
void pmap_domain_free(pmap_domain *d);

/* The domain's sharing mode. */
pmap_sharing pmap_domain_sharing(const pmap_domain *d);

/*
 * Frees every garbage batch no pinned reader can see; returns how many items it
 * freed. pmap_txn_commit calls it; call it directly after readers unpin if you
 * want memory back sooner. Takes the domain lock.
 */
size_t pmap_domain_reclaim(pmap_domain *d);

/* A consistent-enough snapshot of the domain's counters (for tests, benches). */
void pmap_domain_stats_get(pmap_domain *d, pmap_domain_stats *out);

/* --- readers ------------------------------------------------------------- */

/* Registers a reader handle (one per reading thread). Errors: NOMEM. */
cc_code pmap_reader_new(pmap_domain *d, pmap_reader **out, cc_err *err);

/* Unregisters and frees a reader handle; it must not be pinned. */
void pmap_reader_free(pmap_reader *r);

/*
 * Pins the current epoch. Versions loaded after this returns (with an acquire
 * load of whatever the writer published) stay valid until the matching unpin.
 * Pins nest; only the outermost unpin releases. Lock-free, no allocation.
 */
void pmap_reader_pin(pmap_reader *r);

/* Releases one pin. */
void pmap_reader_unpin(pmap_reader *r);

/* --- write transactions -------------------------------------------------- */

/* Starts a write transaction. Errors: NOMEM. */
cc_code pmap_txn_begin(pmap_domain *d, pmap_txn **out, cc_err *err);

/*
 * Commits: seals every node the transaction created, retires what the new
 * versions no longer reference (freed once readers have left), advances the
 * epoch and reclaims. Publish the new versions before calling this. Cannot
 * fail. Frees txn. Requires: txn not poisoned (abort a poisoned one).
 */
void pmap_txn_commit(pmap_txn *txn);

/*
 * Aborts: undoes every reference-count change, frees every node the
 * transaction created, and leaves all base versions as they were. The map
 * handles the caller wrote through are garbage afterwards: restore the copies
 * taken before the transaction. Frees txn.
 */
void pmap_txn_abort(pmap_txn *txn);

/*
 * True once a write in this transaction failed (out of memory); every later
 * write fails with the same error and only pmap_txn_abort is allowed.
 */
bool pmap_txn_is_poisoned(const pmap_txn *txn);

/* The domain a transaction belongs to. */
pmap_domain *pmap_txn_domain(const pmap_txn *txn);

/*
 * Defers fn(arg) until no reader can see what this transaction replaced
 * (like call_rcu, tied to this transaction's commit; on abort fn is not
 * called). For freeing version structs that readers reach through a
 * published pointer. Errors: NOMEM (the transaction is then poisoned).
 */
cc_code pmap_txn_defer(pmap_txn *txn, void (*fn)(void *arg), void *arg, cc_err *err);

#endif
