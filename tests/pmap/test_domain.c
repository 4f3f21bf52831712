/*
 * tests/pmap/test_domain.c — transactions, reader pins and reclamation, tested
 * white-box through the internal node contract with a tiny one-child node.
 */
#include <criterion/criterion.h>

#include <string.h>

#include "base/alloc.h"
#include "pmap/domain.h"
#include "pmap_internal.h"

typedef struct tnode {
    pmap__hdr h;
    struct tnode *child; /* counted reference, or NULL */
    void *value;         /* counted reference, or NULL */
} tnode;

static void tnode_drop_refs(pmap__garbage *g, pmap__hdr *n);

static size_t
tnode_size(const pmap__hdr *n)
{
    (void)n;
    return sizeof(tnode);
}

static const pmap__node_class tnode_class = {"test", tnode_drop_refs, tnode_size};

/* A refcounted test value that records its releases. */
typedef struct tvalue {
    int refs;
    int released_to_zero;
} tvalue;

static void
tvalue_retain(void *v)
{
    ((tvalue *)v)->refs++;
}

static void
tvalue_release(void *v)
{
    tvalue *t = v;
    if (--t->refs == 0)
        t->released_to_zero++;
}

static const pmap_value_ops tvalue_ops = {tvalue_retain, tvalue_release, NULL, NULL};

static void
tnode_drop_refs(pmap__garbage *g, pmap__hdr *n)
{
    tnode *t = (tnode *)n;
    if (t->child != NULL)
        pmap__g_unref_node(g, &t->child->h, &tnode_class);
    if (t->value != NULL)
        pmap__g_release_value(g, t->value, &tvalue_ops);
}

static pmap_domain *
domain(pmap_sharing sharing)
{
    pmap_domain *d;
    pmap_domain_options o = {.sharing = sharing};
    cr_assert_eq(pmap_domain_new(&o, &d, NULL), CC_OK);
    return d;
}

static uint64_t
live_nodes(pmap_domain *d)
{
    pmap_domain_stats s;
    pmap_domain_stats_get(d, &s);
    return s.live_nodes;
}

/* A committed one-node "version" holding value v. */
static tnode *
committed_node(pmap_domain *d, tvalue *v)
{
    pmap_txn *t;
    cr_assert_eq(pmap_txn_begin(d, &t, NULL), CC_OK);
    cr_assert_eq(pmap__log_reserve(t, 1, 0, NULL), CC_OK);
    tnode *n = pmap__node_new(t, &tnode_class, sizeof *n, NULL);
    cr_assert_not_null(n);
    n->child = NULL;
    n->value = v;
    pmap__retain_value(t, v, &tvalue_ops);
    cr_assert_eq(n->h.owner, pmap__txn_id(t));
    pmap_txn_commit(t);
    cr_assert_eq(n->h.owner, PMAP__OWNER_SEALED, "commit must seal born nodes");
    return n;
}

/* Replaces old by a moved copy (rule 2a) and commits; returns the copy. */
static tnode *
move_copy(pmap_domain *d, tnode *old)
{
    pmap_txn *t;
    cr_assert_eq(pmap_txn_begin(d, &t, NULL), CC_OK);
    cr_assert_eq(pmap__log_reserve(t, 0, 1, NULL), CC_OK);
    tnode *c = pmap__node_new(t, &tnode_class, sizeof *c, NULL);
    c->child = old->child;
    c->value = old->value;
    cr_assert(pmap__node_exclusive(t, &old->h));
    pmap__retire_node(t, &old->h, &tnode_class);
    pmap_txn_commit(t);
    return c;
}

static void
drop_line(pmap_domain *d, tnode *root)
{
    pmap_txn *t;
    cr_assert_eq(pmap_txn_begin(d, &t, NULL), CC_OK);
    cr_assert_eq(pmap__log_reserve(t, 0, 1, NULL), CC_OK);
    pmap__drop_root(t, &root->h, &tnode_class);
    pmap_txn_commit(t);
}

Test(pmap_domain, commit_without_readers_frees_the_husk_at_once)
{
    pmap_domain *d = domain(PMAP_SHARING_OWNER);
    tvalue v = {0, 0};
    tnode *a = committed_node(d, &v);
    cr_assert_eq(live_nodes(d), 1);
    tnode *b = move_copy(d, a);
    cr_assert_eq(live_nodes(d), 1, "the husk must be reclaimed when nobody is pinned");
    cr_assert_eq(v.refs, 1, "a move must not touch the value's count");
    drop_line(d, b);
    cr_assert_eq(live_nodes(d), 0);
    cr_assert_eq(v.released_to_zero, 1);
    pmap_domain_free(d);
}

Test(pmap_domain, pinned_reader_keeps_retired_nodes_until_it_unpins)
{
    pmap_domain *d = domain(PMAP_SHARING_OWNER);
    pmap_reader *r;
    cr_assert_eq(pmap_reader_new(d, &r, NULL), CC_OK);
    tvalue v = {0, 0};
    tnode *a = committed_node(d, &v);
    pmap_reader_pin(r);
    tnode *b = move_copy(d, a);
    cr_assert_eq(live_nodes(d), 2, "a reader pinned before the commit may still read the husk");
    cr_assert_eq(a->value, &v, "the husk is still readable");
    pmap_reader_unpin(r);
    cr_assert_eq(pmap_domain_reclaim(d), 1);
    cr_assert_eq(live_nodes(d), 1);
    drop_line(d, b);
    pmap_reader_free(r);
    pmap_domain_free(d);
}

Test(pmap_domain, reader_pinned_after_a_commit_does_not_hold_its_garbage)
{
    pmap_domain *d = domain(PMAP_SHARING_OWNER);
    pmap_reader *r;
    cr_assert_eq(pmap_reader_new(d, &r, NULL), CC_OK);
    tvalue v = {0, 0};
    tnode *a = committed_node(d, &v);
    pmap_reader_pin(r);
    pmap_reader_pin(r); /* nested */
    tnode *b = move_copy(d, a);
    pmap_reader_unpin(r);
    cr_assert_eq(pmap_domain_reclaim(d), 0, "an inner unpin must not release the pin");
    pmap_reader_unpin(r);
    pmap_reader_pin(r); /* a new pin sees the new epoch */
    cr_assert_eq(pmap_domain_reclaim(d), 1);
    pmap_reader_unpin(r);
    drop_line(d, b);
    cr_assert_eq(live_nodes(d), 0);
    pmap_reader_free(r);
    pmap_domain_free(d);
}

Test(pmap_domain, abort_frees_born_nodes_and_undoes_shared_references)
{
    pmap_domain *d = domain(PMAP_SHARING_OWNER);
    tvalue v = {0, 0};
    tnode *child = committed_node(d, &v);
    tnode *parent;
    {
        pmap_txn *t;
        cr_assert_eq(pmap_txn_begin(d, &t, NULL), CC_OK);
        parent = pmap__node_new(t, &tnode_class, sizeof *parent, NULL);
        parent->child = child; /* takes the line's reference of child */
        parent->value = NULL;
        pmap_txn_commit(t);
    }
    pmap__node_ref(&parent->h); /* a clone: parent now shared by two lines */

    uint64_t before = live_nodes(d);
    pmap_txn *t;
    cr_assert_eq(pmap_txn_begin(d, &t, NULL), CC_OK);
    cr_assert(!pmap__node_exclusive(t, &parent->h));
    cr_assert_eq(pmap__log_reserve(t, 2, 1, NULL), CC_OK);
    tnode *copy = pmap__node_new(t, &tnode_class, sizeof *copy, NULL);
    copy->child = parent->child;
    copy->value = NULL;
    pmap__share_node(t, &child->h, &tnode_class);
    pmap__release_node(t, &parent->h, &tnode_class);
    cr_assert_eq(pmap__rc(&child->h), 2);
    pmap_txn_abort(t);
    cr_assert_eq(pmap__rc(&child->h), 1, "abort must undo the shared reference");
    cr_assert_eq(pmap__rc(&parent->h), 2, "abort must not release the base");
    cr_assert_eq(live_nodes(d), before, "abort must free the born copy");

    drop_line(d, parent); /* rc 2 -> 1: nothing freed */
    cr_assert_eq(live_nodes(d), 2);
    drop_line(d, parent); /* rc 1 -> 0: parent and child go */
    cr_assert_eq(live_nodes(d), 0);
    cr_assert_eq(v.released_to_zero, 1);
    pmap_domain_free(d);
}

Test(pmap_domain, counted_copy_survives_the_other_line_dropping)
{
    pmap_domain *d = domain(PMAP_SHARING_OWNER);
    tvalue v = {0, 0};
    tnode *a = committed_node(d, &v);
    pmap__node_ref(&a->h); /* clone: two lines share a */

    pmap_txn *t;
    cr_assert_eq(pmap_txn_begin(d, &t, NULL), CC_OK);
    cr_assert_eq(pmap__log_reserve(t, 1, 1, NULL), CC_OK);
    tnode *c = pmap__node_new(t, &tnode_class, sizeof *c, NULL);
    c->child = NULL;
    c->value = a->value;
    pmap__share_value(t, a->value, &tvalue_ops);
    pmap__release_node(t, &a->h, &tnode_class);
    pmap_txn_commit(t);
    cr_assert_eq(v.refs, 2);
    cr_assert_eq(pmap__rc(&a->h), 1);

    drop_line(d, a);
    cr_assert_eq(v.refs, 1);
    cr_assert_eq(live_nodes(d), 1);
    drop_line(d, c);
    cr_assert_eq(v.refs, 0);
    cr_assert_eq(live_nodes(d), 0);
    pmap_domain_free(d);
}

static void
count_call(void *arg)
{
    (*(int *)arg)++;
}

Test(pmap_domain, deferred_calls_run_after_commit_and_never_after_abort)
{
    pmap_domain *d = domain(PMAP_SHARING_OWNER);
    int calls = 0;
    pmap_txn *t;
    cr_assert_eq(pmap_txn_begin(d, &t, NULL), CC_OK);
    cr_assert_eq(pmap_txn_defer(t, count_call, &calls, NULL), CC_OK);
    pmap_txn_abort(t);
    cr_assert_eq(calls, 0);

    pmap_reader *r;
    cr_assert_eq(pmap_reader_new(d, &r, NULL), CC_OK);
    pmap_reader_pin(r);
    cr_assert_eq(pmap_txn_begin(d, &t, NULL), CC_OK);
    cr_assert_eq(pmap_txn_defer(t, count_call, &calls, NULL), CC_OK);
    pmap_txn_commit(t);
    cr_assert_eq(calls, 0, "a pinned reader delays deferred calls");
    pmap_reader_unpin(r);
    pmap_domain_reclaim(d);
    cr_assert_eq(calls, 1);
    pmap_reader_free(r);
    pmap_domain_free(d);
}

Test(pmap_domain, failed_log_growth_poisons_the_transaction)
{
    pmap_domain *d = domain(PMAP_SHARING_OWNER);
    pmap_txn *t;
    cr_assert_eq(pmap_txn_begin(d, &t, NULL), CC_OK);
    cc_err err;
    cc_alloc_fail_at(1);
    cc_code rc = pmap__log_reserve(t, 1000, 0, &err);
    cc_alloc_fail_at(0);
    cr_assert_eq(rc, CC_NOMEM);
    cr_assert(pmap_txn_is_poisoned(t));
    cr_assert_eq(pmap__txn_check(t, &err), CC_NOMEM);
    cr_assert_null(pmap__node_new(t, &tnode_class, sizeof(tnode), &err));
    pmap_txn_abort(t);
    cr_assert_eq(live_nodes(d), 0);
    pmap_domain_free(d);
}

Test(pmap_domain, counted_mode_makes_every_node_shared)
{
    pmap_domain *d = domain(PMAP_SHARING_COUNTED);
    cr_assert_eq(pmap_domain_sharing(d), PMAP_SHARING_COUNTED);
    tvalue v = {0, 0};
    tnode *a = committed_node(d, &v);
    pmap_txn *t;
    cr_assert_eq(pmap_txn_begin(d, &t, NULL), CC_OK);
    cr_assert(pmap__txn_counted(t));
    cr_assert(!pmap__node_exclusive(t, &a->h));
    pmap_txn_abort(t);
    drop_line(d, a);
    cr_assert_eq(live_nodes(d), 0);
    pmap_domain_free(d);
}

Test(pmap_domain, discarded_born_nodes_are_freed_at_commit)
{
    pmap_domain *d = domain(PMAP_SHARING_OWNER);
    pmap_txn *t;
    cr_assert_eq(pmap_txn_begin(d, &t, NULL), CC_OK);
    tnode *x = pmap__node_new(t, &tnode_class, sizeof *x, NULL);
    tnode *y = pmap__node_new(t, &tnode_class, sizeof *y, NULL);
    x->child = NULL;
    x->value = NULL;
    y->child = NULL;
    y->value = NULL;
    cr_assert(pmap__node_mutable(t, &x->h));
    pmap__node_discard(t, &x->h);
    pmap_txn_commit(t);
    cr_assert_eq(live_nodes(d), 1);
    drop_line(d, y);
    cr_assert_eq(live_nodes(d), 0);
    pmap_domain_stats s;
    pmap_domain_stats_get(d, &s);
    cr_assert_geq(s.commits, 2);
    cr_assert_eq(s.garbage_items, 0);
    pmap_domain_free(d);
}

Test(pmap_domain, key_blobs_are_counted_and_freed)
{
    pmap_domain *d = domain(PMAP_SHARING_OWNER);
    pmap_txn *t;
    cr_assert_eq(pmap_txn_begin(d, &t, NULL), CC_OK);
    cr_assert_eq(pmap__log_reserve(t, 2, 1, NULL), CC_OK);
    pmap__key *k = pmap__key_new(t, "name", 4, 7, NULL);
    cr_assert_not_null(k);
    cr_assert_eq(k->len, 4);
    cr_assert_eq(memcmp(k->bytes, "name", 4), 0);
    pmap_txn_abort(t);
    pmap_domain_stats s;
    pmap_domain_stats_get(d, &s);
    cr_assert_eq(s.live_keys, 0, "abort frees new key blobs");
    pmap_domain_free(d);
}
