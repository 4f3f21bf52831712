/*
 * catalog/src/catalog.c — opening a catalog over a durable catalog, the
 * published version, rebuilding after the durable catalog moved on its own,
 * and following a writer read-only.
 *
 * Open (and rebuild) is the only full pass: it applies every tracked entry of
 * the durable cached Snapshot through cat__apply in one pmap transaction.
 * A follower's durable catalog calls back after each append (on the appending
 * thread, under the durable lock); the callback applies the append's changes
 * to a new version under cat->lock and publishes it. Appends at or below the
 * version's upper (seen while the first version was being built) are skipped.
 */
#include <string.h>

#include "base/alloc.h"
#include "internal.h"

/* Builds a fresh version from the durable Snapshot s into *out. */
static cc_code
build(cat_catalog *cat, const dur_snapshot *ds, cat_state **out, cc_err *err)
{
    cat_state *s = cc_malloc(sizeof *s);
    if (s == NULL)
        return cc_err_set(err, CC_NOMEM, "out of memory opening the catalog");
    cat__state_init(s, cat->domain, cat->opts.name_hash);
    pmap_txn *pt;
    cc_code rc = pmap_txn_begin(cat->domain, &pt, err);
    if (rc != CC_OK) {
        cc_free(s);
        return rc;
    }
    if ((rc = cat__state_load(s, pt, ds, err)) != CC_OK) {
        pmap_txn_abort(pt);
        cc_free(s);
        return rc;
    }
    pmap_txn_commit(pt);
    *out = s;
    return CC_OK;
}

/* Drops a version's lines and frees it once readers have left. */
static void
free_state(void *arg)
{
    cc_free(arg);
}

static void
retire(cat_catalog *cat, cat_state *s)
{
    pmap_txn *pt;
    cc_err err;
    if (s == NULL)
        return;
    if (pmap_txn_begin(cat->domain, &pt, &err) != CC_OK)
        return; /* out of memory: the version leaks rather than being freed under a reader */
    if (cat__state_drop(s, pt, &err) != CC_OK || pmap_txn_defer(pt, free_state, s, &err) != CC_OK) {
        pmap_txn_abort(pt);
        return;
    }
    pmap_txn_commit(pt);
}

cc_code cat__catalog_rebuild(cat_catalog *cat, cc_err *err);

cc_code
cat__catalog_rebuild(cat_catalog *cat, cc_err *err)
{
    cat_state *s;
    cc_code rc = build(cat, dur_snapshot_acquire(cat->dur), &s, err);
    if (rc != CC_OK)
        return rc;
    pthread_mutex_lock(&cat->lock);
    cat_state *old = atomic_load(&cat->cur);
    /* release: pairs with the acquire load in cat_state_acquire. */
    atomic_store_explicit(&cat->cur, s, memory_order_release);
    pthread_mutex_unlock(&cat->lock);
    retire(cat, old);
    cat->stale = false;
    return CC_OK;
}

static cc_code
open_common(cat_catalog *cat, cc_err *err)
{
    cat_state *s;
    pmap_reader *r;
    cc_code rc = pmap_reader_new(cat->domain, &r, err);
    if (rc != CC_OK)
        return rc;
    /* Pinned: a follower's durable version may be replaced meanwhile. */
    pmap_reader_pin(r);
    pthread_mutex_lock(&cat->lock);
    rc = build(cat, dur_snapshot_acquire(cat->dur), &s, err);
    if (rc == CC_OK)
        atomic_store_explicit(&cat->cur, s, memory_order_release);
    pthread_mutex_unlock(&cat->lock);
    pmap_reader_unpin(r);
    pmap_reader_free(r);
    return rc;
}

static cat_catalog *
catalog_new(const cat_options *opts)
{
    cat_catalog *cat = cc_calloc(1, sizeof *cat);
    if (cat == NULL)
        return NULL;
    if (opts != NULL)
        cat->opts = *opts;
    if (cat->opts.check == CAT_CHECK_DEFAULT) {
#ifdef NDEBUG
        cat->opts.check = CAT_CHECK_NONE;
#else
        cat->opts.check = CAT_CHECK_INCREMENTAL;
#endif
    }
    pthread_mutex_init(&cat->lock, NULL);
    return cat;
}

cc_code
cat_open(dur_catalog *dur, const cat_options *opts, cat_catalog **out, cc_err *err)
{
    if (dur == NULL || out == NULL)
        return cc_err_set(err, CC_INVALID, "cat_open: NULL argument");
    cat_catalog *cat = catalog_new(opts);
    if (cat == NULL)
        return cc_err_set(err, CC_NOMEM, "out of memory opening the catalog");
    cat->dur = dur;
    cat->domain = dur_catalog_domain(dur);
    cc_code rc = open_common(cat, err);
    if (rc != CC_OK) {
        pthread_mutex_destroy(&cat->lock);
        cc_free(cat);
        return rc;
    }
    *out = cat;
    return CC_OK;
}

/* The refs of the objects an append changes (object collections only). */
static size_t
changed_refs(const dur_changes *ch, cat_ref *out)
{
    size_t n = 0;
    for (size_t i = 0; i < ch->n; i++) {
        cat_class cls = cat__coll_class(ch->v[i].coll);
        ProtobufCMessage *k;
        cc_err e;
        if (cls == 0 ||
            dur_decode(ch->v[i].coll, DUR_PART_KEY, dur_blob_bytes(ch->v[i].key), &k, &e) != CC_OK)
            continue; /* an undecodable key fails the apply below, which rebuilds */
        out[n++] = cat_ref_from_id(cls, ((Cowcat__Catalog__ItemKey *)k)->id);
        protobuf_c_message_free_unpacked(k, NULL);
    }
    return n;
}

/*
 * Tells the subscriber what one append changed, as the writer does: -1 for
 * each object's previous version (from cur), +1 for its new one (from next).
 * The list holds references, so the call is safe after the new version is
 * published and the old one retired.
 */
static void
notify(cat_catalog *cat, const cat_state *cur, const cat_state *next, cat_ref *refs, size_t n,
       uint64_t upper)
{
    cat_change *c;
    size_t k;
    cc_err err;
    if (cat__changes(cur, next, refs, n, &c, &k, &err) != CC_OK)
        k = 0; /* out of memory: the subscriber gets the upper without the list */
    cat->opts.on_commit(cat->opts.on_commit_arg, c, k, upper);
    cat__changes_free(c, k);
}

/* The durable follower callback: apply one append to a new version. */
static void
on_durable_change(void *arg, const dur_changes *ch)
{
    cat_catalog *cat = arg;
    pthread_mutex_lock(&cat->lock);
    cat_state *cur = atomic_load(&cat->cur);
    if (cur == NULL || (ch->upper <= cur->upper && !cat->stale)) {
        pthread_mutex_unlock(&cat->lock);
        return; /* not built yet (the build reads this append) or already applied */
    }
    cc_err err;
    pmap_txn *pt = NULL;
    cat_state *next = cat->stale ? NULL : cc_malloc(sizeof *next);
    cat_ref *refs = cc_malloc((ch->n + 1) * sizeof *refs);
    size_t nrefs = refs ? changed_refs(ch, refs) : 0;
    cc_code rc = next == NULL ? CC_NOMEM : pmap_txn_begin(cat->domain, &pt, &err);
    if (rc == CC_OK) {
        *next = *cur;
        for (size_t i = 0; i < ch->n && rc == CC_OK; i++)
            rc = cat__apply_encoded(next, pt, ch->v[i].coll, dur_blob_bytes(ch->v[i].key),
                                    ch->v[i].new_value, &err);
        if (rc == CC_OK)
            rc = pmap_txn_defer(pt, free_state, cur, &err);
    }
    if (rc != CC_OK) {
        /* Could not follow this append: rebuild from the durable Snapshot,
         * which already holds it (retried on the next append if that fails).
         * Subscribers are not told what a rebuild changed. */
        if (pt != NULL)
            pmap_txn_abort(pt);
        cc_free(next);
        cat->stale = true;
        if (build(cat, dur_snapshot_acquire(cat->dur), &next, &err) == CC_OK) {
            atomic_store_explicit(&cat->cur, next, memory_order_release);
            cat->stale = false;
            retire(cat, cur);
        }
        pthread_mutex_unlock(&cat->lock);
        cc_free(refs);
        return;
    }
    next->upper = ch->upper;
    /* The old objects must outlive the retirement of cur: notify before commit. */
    atomic_store_explicit(&cat->cur, next, memory_order_release);
    if (cat->opts.on_commit != NULL)
        notify(cat, cur, next, refs, nrefs, ch->upper);
    pmap_txn_commit(pt);
    pthread_mutex_unlock(&cat->lock);
    cc_free(refs);
}

cc_code
cat_open_follower(persist_client *c, const cat_options *opts, cat_catalog **out, cc_err *err)
{
    if (c == NULL || out == NULL)
        return cc_err_set(err, CC_INVALID, "cat_open_follower: NULL argument");
    cat_catalog *cat = catalog_new(opts);
    if (cat == NULL)
        return cc_err_set(err, CC_NOMEM, "out of memory opening the catalog");
    dur_options dopts = {
        .mode = DUR_MODE_READ_ONLY, .on_change = on_durable_change, .on_change_arg = cat};
    cc_code rc = dur_open(c, &dopts, &cat->dur, err);
    if (rc == CC_OK) {
        cat->owns_dur = true;
        cat->domain = dur_catalog_domain(cat->dur);
        rc = open_common(cat, err);
        if (rc != CC_OK)
            dur_close(cat->dur);
    }
    if (rc != CC_OK) {
        pthread_mutex_destroy(&cat->lock);
        cc_free(cat);
        return rc;
    }
    *out = cat;
    return CC_OK;
}

void
cat_close(cat_catalog *cat)
{
    if (cat == NULL)
        return;
    pthread_mutex_lock(&cat->lock);
    cat_state *s = atomic_load(&cat->cur);
    atomic_store(&cat->cur, NULL); /* a follower's callbacks now do nothing */
    pthread_mutex_unlock(&cat->lock);
    pmap_txn *pt;
    cc_err err;
    if (s != NULL && pmap_txn_begin(cat->domain, &pt, &err) == CC_OK) {
        if (cat__state_drop(s, pt, &err) == CC_OK)
            pmap_txn_commit(pt);
        else
            pmap_txn_abort(pt);
    }
    cc_free(s);
    if (cat->owns_dur)
        dur_close(cat->dur);
    pthread_mutex_destroy(&cat->lock);
    cc_free(cat);
}

dur_catalog *
cat_durable(cat_catalog *cat)
{
    return cat->dur;
}

pmap_domain *
cat_catalog_domain(cat_catalog *cat)
{
    return cat->domain;
}

void
cat_stats_get(cat_catalog *cat, cat_stats *out)
{
    out->deep_clones = atomic_load_explicit(&cat->deep_clones, memory_order_relaxed);
    out->alloc_apart = atomic_load_explicit(&cat->alloc_apart, memory_order_relaxed);
    out->limit_scans = atomic_load_explicit(&cat->limit_scans, memory_order_relaxed);
    out->full_checks = atomic_load_explicit(&cat->full_checks, memory_order_relaxed);
}

const cat_state *
cat_state_acquire(cat_catalog *cat)
{
    /* acquire: pairs with the release stores that publish versions. */
    return atomic_load_explicit(&cat->cur, memory_order_acquire);
}
