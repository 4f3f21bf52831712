/*
 * catalog/src/txn.c — transactions: the working version on an O(1) clone,
 * writes that go to the durable transaction and through cat__apply, limit
 * checks from counters at commit, the change list, and publication.
 *
 * The benchmark ablations of this layer (cat_ablation) each switch in one
 * place here: CAT_ABLATE_CLONE in cat_txn_begin (deep_clone), _ALLOC in
 * cat__allocate, _LIMITS in check_limits; CAT_CHECK_FULL in cat_txn_commit.
 *
 * Commit order (the published state never runs ahead of the disk):
 *   1. limits: for each kind / parent whose count grew, compare with the limit
 *   2. dur_txn_commit: ONE compare_and_append (none if nothing changed)
 *   3. publish the working version (release store, pairs with the acquire
 *      load in cat_state_acquire), then pmap_txn_commit retires what the
 *      previous version alone used once readers have left
 *   4. subscribers get the change list (old versions kept alive by refs)
 * Any failure before 2 returns aborts both transactions: nothing changed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/assert.h"
#include "base/hash.h"
#include "internal.h"

/* --- small helpers ------------------------------------------------------------------- */

cc_code
cat__refs_push(cat__refs *r, cat_ref ref, cc_err *err)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        cat_ref *v = cc_realloc(r->v, cap * sizeof *v);
        if (v == NULL)
            return cc_err_set(err, CC_NOMEM, "out of memory in a catalog transaction");
        r->v = v;
        r->cap = cap;
    }
    r->v[r->n++] = ref;
    return CC_OK;
}

void
cat__refs_fini(cat__refs *r)
{
    cc_free(r->v);
    memset(r, 0, sizeof *r);
}

bool
cat__refset_has(const cat__refset *s, cat_ref r)
{
    if (s->cap == 0)
        return false;
    for (size_t i = cc_hash_u64(r) & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
        if (s->slot[i] == r)
            return true;
        if (s->slot[i] == 0)
            return false;
    }
}

cc_code
cat__refset_add(cat__refset *s, cat_ref r, cc_err *err)
{
    if (2 * (s->n + 1) > s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        cat_ref *slot = cc_calloc(cap, sizeof *slot);
        if (slot == NULL)
            return cc_err_set(err, CC_NOMEM, "out of memory in a catalog transaction");
        for (size_t i = 0; i < s->cap; i++) {
            if (s->slot[i] == 0)
                continue;
            size_t j = cc_hash_u64(s->slot[i]) & (cap - 1);
            while (slot[j] != 0)
                j = (j + 1) & (cap - 1);
            slot[j] = s->slot[i];
        }
        cc_free(s->slot);
        s->slot = slot;
        s->cap = cap;
    }
    size_t i = cc_hash_u64(r) & (s->cap - 1);
    while (s->slot[i] != 0 && s->slot[i] != r)
        i = (i + 1) & (s->cap - 1);
    if (s->slot[i] == 0) {
        s->slot[i] = r;
        s->n++;
    }
    return CC_OK;
}

void
cat__refset_fini(cat__refset *s)
{
    cc_free(s->slot);
    memset(s, 0, sizeof *s);
}

static int
ref_cmp(const void *a, const void *b)
{
    cat_ref x = *(const cat_ref *)a, y = *(const cat_ref *)b;
    return (x > y) - (x < y);
}

/* Sorts and removes duplicates. */
static void
refs_unique(cat__refs *r)
{
    if (r->n < 2)
        return;
    qsort(r->v, r->n, sizeof *r->v, ref_cmp);
    size_t w = 1;
    for (size_t i = 1; i < r->n; i++)
        if (r->v[i] != r->v[w - 1])
            r->v[w++] = r->v[i];
    r->n = w;
}

cc_code
cat__not_found(cat_ref ref, cc_err *err)
{
    char b[24];
    cat_ref_str(ref, b);
    switch (cat_ref_class(ref)) {
    case CAT_CLASS_DATABASE:
        return cc_err_set_state(err, CC_NOT_FOUND, "3D000", "database %s does not exist", b);
    case CAT_CLASS_SCHEMA:
        return cc_err_set_state(err, CC_NOT_FOUND, "3F000", "schema %s does not exist", b);
    case CAT_CLASS_ITEM:
        return cc_err_set_state(err, CC_NOT_FOUND, "42P01", "relation %s does not exist", b);
    case CAT_CLASS_ROLE:
        return cc_err_set_state(err, CC_NOT_FOUND, "42704", "role %s does not exist", b);
    case CAT_CLASS_CLUSTER:
        return cc_err_set_state(err, CC_NOT_FOUND, "42704", "cluster %s does not exist", b);
    }
    return cc_err_set_state(err, CC_NOT_FOUND, "42704", "object %s does not exist", b);
}

/* --- writes ------------------------------------------------------------------------------ */

cc_code
cat__put_object(cat_txn *t, cat_ref ref, const ProtobufCMessage *value, const cat_object **obj,
                cc_err *err)
{
    dur_collection coll = cat__class_coll(cat_ref_class(ref));
    Cowcat__Catalog__CatalogId id;
    cat__ref_to_id(ref, &id);
    Cowcat__Catalog__ItemKey ik = COWCAT__CATALOG__ITEM_KEY__INIT;
    Cowcat__Catalog__DatabaseKey dk = COWCAT__CATALOG__DATABASE_KEY__INIT;
    Cowcat__Catalog__SchemaKey sk = COWCAT__CATALOG__SCHEMA_KEY__INIT;
    Cowcat__Catalog__RoleKey rk = COWCAT__CATALOG__ROLE_KEY__INIT;
    Cowcat__Catalog__ClusterKey ck = COWCAT__CATALOG__CLUSTER_KEY__INIT;
    ProtobufCMessage *key;
    switch (coll) {
    case DUR_DATABASES:
        dk.id = &id;
        key = &dk.base;
        break;
    case DUR_SCHEMAS:
        sk.id = &id;
        key = &sk.base;
        break;
    case DUR_ITEMS:
        ik.id = &id;
        key = &ik.base;
        break;
    case DUR_ROLES:
        rk.id = &id;
        key = &rk.base;
        break;
    default:
        ck.id = &id;
        key = &ck.base;
        break;
    }
    const dur_blob *blob = NULL;
    cc_code rc = value == NULL ? dur_txn_delete(t->dt, coll, key, err)
                               : dur_txn_put(t->dt, coll, key, value, &blob, err);
    if (rc == CC_OK)
        rc = cat__apply(&t->work, t->pt, coll, key, value, blob, err);
    if (rc == CC_OK)
        rc = cat__refs_push(&t->touched, ref, err);
    if (rc == CC_OK && obj != NULL)
        *obj = cat_state_find(&t->work, ref);
    return rc;
}

static void
comment_key(Cowcat__Catalog__CommentKey *k, Cowcat__Catalog__CatalogId *id, const cat_object *o,
            uint32_t column)
{
    cowcat__catalog__comment_key__init(k);
    cat__ref_to_id(o->ref, id);
    k->object_type = cat__kind_object_type(o->kind);
    k->object = id;
    if (column != 0) {
        k->column_opt_case = COWCAT__CATALOG__COMMENT_KEY__COLUMN_OPT_COLUMN_POS;
        k->column_pos = column;
    }
}

cc_code
cat__put_comment(cat_txn *t, const cat_object *o, uint32_t column, const char *text, cc_err *err)
{
    Cowcat__Catalog__CommentKey k;
    Cowcat__Catalog__CatalogId id;
    comment_key(&k, &id, o, column);
    Cowcat__Catalog__CommentValue v = COWCAT__CATALOG__COMMENT_VALUE__INIT;
    cc_code rc;
    if (text == NULL) {
        const dur_blob *cur;
        rc = dur_txn_find_raw(t->dt, DUR_COMMENTS, &k.base, &cur, err);
        if (rc != CC_OK || cur == NULL)
            return rc; /* removing an absent comment is a no-op, as in PostgreSQL */
        rc = dur_txn_delete(t->dt, DUR_COMMENTS, &k.base, err);
    } else {
        v.comment = (char *)text;
        rc = dur_txn_set(t->dt, DUR_COMMENTS, &k.base, &v.base, err);
    }
    if (rc == CC_OK)
        rc = cat__apply(&t->work, t->pt, DUR_COMMENTS, &k.base, text ? &v.base : NULL, NULL, err);
    return rc;
}

cc_code
cat__drop_comments(cat_txn *t, const cat_object *o, cc_err *err)
{
    uint8_t lo[12] = {0};
    cat__be64(lo, o->ref);
    for (;;) {
        /* Re-seek after each delete: the cursor does not survive a write. */
        pmap_omap_cursor c;
        pmap_bytes k;
        void *v;
        if (!pmap_omap_seek(&c, &t->work.comments, lo, sizeof lo) ||
            !pmap_omap_cursor_get(&c, &k, &v) || k.len != 12 || cat__get_be64(k.ptr) != o->ref)
            return CC_OK;
        const uint8_t *p = k.ptr;
        uint32_t col = (uint32_t)p[8] << 24 | (uint32_t)p[9] << 16 | (uint32_t)p[10] << 8 | p[11];
        cc_code rc = cat__put_comment(t, o, col, NULL, err);
        if (rc != CC_OK)
            return rc;
    }
}

cc_code
cat__put_config(cat_txn *t, const char *name, const char *value, cc_err *err)
{
    Cowcat__Catalog__SystemConfigurationKey k = COWCAT__CATALOG__SYSTEM_CONFIGURATION_KEY__INIT;
    Cowcat__Catalog__SystemConfigurationValue v = COWCAT__CATALOG__SYSTEM_CONFIGURATION_VALUE__INIT;
    k.name = (char *)name;
    v.value = (char *)value;
    cc_code rc = dur_txn_set(t->dt, DUR_SYSTEM_CONFIGURATION, &k.base, &v.base, err);
    if (rc == CC_OK)
        rc = cat__apply(&t->work, t->pt, DUR_SYSTEM_CONFIGURATION, &k.base, &v.base, NULL, err);
    return rc;
}

cc_code
cat__audit(cat_txn *t, Cowcat__Catalog__AuditEventType ev, const cat_object *o, cc_err *err)
{
    char name[2 * CAT_NAME_MAX + 8];
    cat_state_qualified_name(&t->work, o, name, sizeof name);
    return dur_txn_audit(t->dt, ev, cat__kind_object_type(o->kind), name, t->actor.user,
                         t->actor.now_ms, NULL, err);
}

cc_code
cat__allocate(cat_txn *t, cat_class cls, cat_ref *out, uint32_t *oid, cc_err *err)
{
    const char *alloc = NULL;
    switch (cls) {
    case CAT_CLASS_DATABASE:
        alloc = DUR_ALLOC_DATABASE;
        break;
    case CAT_CLASS_SCHEMA:
        alloc = DUR_ALLOC_SCHEMA;
        break;
    case CAT_CLASS_ITEM:
        alloc = DUR_ALLOC_USER_ITEM;
        break;
    case CAT_CLASS_ROLE:
        alloc = DUR_ALLOC_USER_ROLE;
        break;
    case CAT_CLASS_CLUSTER:
        alloc = DUR_ALLOC_USER_CLUSTER;
        break;
    }
    uint64_t id;
    cc_code rc;
    if (t->cat->opts.ablate & CAT_ABLATE_ALLOC) {
        rc = dur_txn_allocate_apart(t->dt, alloc, &id, oid, err);
        if (rc == CC_OK) {
            t->apart_upper = dur_upper(t->cat->dur);
            atomic_fetch_add_explicit(&t->cat->alloc_apart, 1, memory_order_relaxed);
        }
    } else {
        rc = dur_txn_allocate_id(t->dt, alloc, &id, err);
        if (rc == CC_OK && oid != NULL)
            rc = dur_txn_allocate_oid(t->dt, oid, err);
    }
    if (rc != CC_OK)
        return rc;
    if (id > CAT_REF_VALUE_MAX)
        return cc_err_set(err, CC_LIMIT, "out of %s ids", alloc);
    *out = cat_ref_make(cls, false, id);
    return CC_OK;
}

/* --- begin, apply, commit -------------------------------------------------------------- */

static uint64_t
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Rebuilds the published state from the durable Snapshot (defined in catalog.c). */
cc_code cat__catalog_rebuild(cat_catalog *cat, cc_err *err);

/*
 * CAT_ABLATE_CLONE: the working version becomes a deep copy of the
 * published one and the published maps are dropped in the same pmap
 * transaction (retired at commit once readers have left, restored by an
 * abort) — the O(n) copy and the O(n) free of a whole-state clone.
 */
static cc_code
deep_clone(cat_txn *t, cc_err *err)
{
    cat_state old = *t->base; /* the lines' heads, dropped below */
    cc_code rc = cat__state_copy(t->base, &t->work, t->pt, err);
    if (rc == CC_OK)
        rc = cat__state_drop(&old, t->pt, err);
    if (rc == CC_OK)
        atomic_fetch_add_explicit(&t->cat->deep_clones, 1, memory_order_relaxed);
    return rc;
}

void
cat_txn_set_actor(cat_txn *t, const cat_actor *actor)
{
    t->actor.user = actor && actor->user ? actor->user : "cowcat_system";
    t->actor.now_ms = actor && actor->now_ms ? actor->now_ms : now_ms();
}

cc_code
cat_txn_begin(cat_catalog *cat, const cat_actor *actor, cat_txn **out, cc_err *err)
{
    if (cat == NULL || out == NULL)
        return cc_err_set(err, CC_INVALID, "cat_txn_begin: NULL argument");
    if (cat->txn_open)
        return cc_err_set(err, CC_INVALID, "a catalog transaction is already open");
    cc_code rc;
    if ((cat->stale || dur_upper(cat->dur) != atomic_load(&cat->cur)->upper) &&
        (rc = cat__catalog_rebuild(cat, err)) != CC_OK)
        return rc;
    cat_txn *t = cc_calloc(1, sizeof *t);
    if (t == NULL)
        return cc_err_set(err, CC_NOMEM, "out of memory starting a catalog transaction");
    t->cat = cat;
    if ((rc = dur_txn_begin(cat->dur, &t->dt, err)) != CC_OK) {
        cc_free(t);
        return rc;
    }
    if ((rc = pmap_txn_begin(cat->domain, &t->pt, err)) != CC_OK) {
        dur_txn_abort(t->dt);
        cc_free(t);
        return rc;
    }
    t->base = atomic_load_explicit(&cat->cur, memory_order_acquire);
    t->work = *t->base; /* the head of every line: the transaction writes these paths */
    if ((cat->opts.ablate & CAT_ABLATE_CLONE) && (rc = deep_clone(t, err)) != CC_OK) {
        pmap_txn_abort(t->pt);
        dur_txn_abort(t->dt);
        cc_free(t);
        return rc;
    }
    cat_txn_set_actor(t, actor);
    cat->txn_open = true;
    *out = t;
    return CC_OK;
}

static void republish_at(cat_catalog *cat, const cat_state *base, uint64_t upper);

static void
txn_free(cat_txn *t)
{
    cat__refs_fini(&t->touched);
    cat__refs_fini(&t->parents);
    t->cat->txn_open = false;
    cc_free(t);
}

void
cat_txn_abort(cat_txn *t)
{
    if (t == NULL)
        return;
    pmap_txn_abort(t->pt);
    dur_txn_abort(t->dt);
    if (t->apart_upper != 0)
        republish_at(t->cat, t->base, t->apart_upper);
    txn_free(t);
}

const cat_state *
cat_txn_state(const cat_txn *t)
{
    return &t->work;
}

cc_code
cat_txn_apply(cat_txn *t, const cat_op *op, cat_ref *created, cc_err *err)
{
    if (t == NULL || op == NULL)
        return cc_err_set(err, CC_INVALID, "cat_txn_apply: NULL argument");
    if (created != NULL)
        *created = 0;
    if (t->poisoned)
        return cc_err_set_state(err, CC_INVALID, "25P02",
                                "current transaction is aborted, commands ignored until end of "
                                "transaction block");
    cc_code rc;
    switch (op->kind) {
    case CAT_OP_CREATE_DATABASE:
    case CAT_OP_CREATE_SCHEMA:
    case CAT_OP_CREATE_ROLE:
    case CAT_OP_CREATE_CLUSTER:
    case CAT_OP_CREATE_ITEM:
        rc = cat__op_create(t, op, created, err);
        break;
    case CAT_OP_DROP:
        rc = cat__op_drop(t, op, err);
        break;
    case CAT_OP_RENAME:
    case CAT_OP_COMMENT:
    case CAT_OP_OWNER:
    case CAT_OP_GRANT:
    case CAT_OP_REVOKE:
    case CAT_OP_CONFIG_SET:
    case CAT_OP_CONFIG_RESET:
    case CAT_OP_REPLACE_ITEM:
        rc = cat__op_alter(t, op, err);
        break;
    case CAT_OP_ADD_COLUMN:
    case CAT_OP_DROP_COLUMN:
    case CAT_OP_RENAME_COLUMN:
        rc = cat__op_column(t, op, err);
        break;
    case CAT_OP_SET_SCHEMA:
    case CAT_OP_SET_SQL:
        rc = cat__op_move(t, op, err);
        break;
    case CAT_OP_ALTER_ROLE:
        rc = cat__op_alter_role(t, op, err);
        break;
    default:
        rc = cc_err_set(err, CC_INVALID, "unknown catalog op %d", (int)op->kind);
    }
    if (rc != CC_OK)
        t->poisoned = true;
    return rc;
}

/* The limit a kind's count is checked against, or -1. */
static int
kind_limit(cat_kind k)
{
    switch (k) {
    case CAT_KIND_DATABASE:
        return CAT_LIMIT_DATABASES;
    case CAT_KIND_TABLE:
        return CAT_LIMIT_TABLES;
    case CAT_KIND_VIEW:
        return CAT_LIMIT_VIEWS;
    case CAT_KIND_MATERIALIZED_VIEW:
        return CAT_LIMIT_MATERIALIZED_VIEWS;
    case CAT_KIND_INDEX:
        return CAT_LIMIT_INDEXES;
    case CAT_KIND_ROLE:
        return CAT_LIMIT_ROLES;
    case CAT_KIND_CLUSTER:
        return CAT_LIMIT_CLUSTERS;
    default:
        return -1;
    }
}

static cc_code
limit_error(const char *what, int limit, uint64_t desired, int64_t max, uint64_t current,
            cc_err *err)
{
    return cc_err_set_state(err, CC_LIMIT, "53400",
                            "creating %s would violate %s limit (desired: %llu, limit: %lld, "
                            "current: %llu)",
                            what, cat_limit_name((cat_limit)limit), (unsigned long long)desired,
                            (long long)max, (unsigned long long)current);
}

/* CAT_ABLATE_LIMITS: the objects of each kind, counted by walking them all. */
static void
scan_kinds(const cat_state *s, uint64_t out[CAT_NKIND])
{
    memset(out, 0, CAT_NKIND * sizeof *out);
    pmap_hamt_iter it;
    void *v;
    pmap_hamt_iter_init(&it, &s->objects);
    while (pmap_hamt_iter_next(&it, NULL, NULL, &v))
        out[((const cat_object *)v)->kind]++;
    for (int k = 0; k < CAT_NKIND; k++)
        CC_ASSERT(out[k] == s->count[k]);
}

static int
count_one(void *arg, const cat_object *o)
{
    (void)o;
    (*(uint64_t *)arg)++;
    return 0;
}

/* CAT_ABLATE_LIMITS: the members of parent, counted by walking them. */
static uint64_t
scan_members(const cat_state *s, cat_ref parent)
{
    uint64_t n = 0;
    cat_state_walk_members(s, parent, count_one, &n);
    CC_ASSERT(n == cat_state_count_members(s, parent));
    return n;
}

/* Did the transaction create an object (one absent from the base)? O(k). */
static bool
created_any(const cat_txn *t)
{
    for (size_t i = 0; i < t->touched.n; i++)
        if (cat_state_find(t->base, t->touched.v[i]) == NULL &&
            cat_state_find(&t->work, t->touched.v[i]) != NULL)
            return true;
    return false;
}

/*
 * Only counts that grew are checked: a transaction that stays at or under
 * its starting count never fails on a limit lowered below it. Counts come
 * from the counters, or under CAT_ABLATE_LIMITS from scans (kinds: when the
 * transaction created something, else no kind count can have grown).
 */
static cc_code
check_limits(cat_txn *t, cc_err *err)
{
    const cat_state *b = t->base, *w = &t->work;
    const uint64_t *wn = w->count, *bn = b->count;
    uint64_t wscan[CAT_NKIND], bscan[CAT_NKIND];
    bool scan = (t->cat->opts.ablate & CAT_ABLATE_LIMITS) != 0, kinds = true;
    if (scan) {
        kinds = created_any(t);
        if (!kinds && t->parents.n == 0)
            return CC_OK;
        atomic_fetch_add_explicit(&t->cat->limit_scans, 1, memory_order_relaxed);
        if (kinds) {
            scan_kinds(w, wscan);
            scan_kinds(b, bscan);
            wn = wscan;
            bn = bscan;
        }
    }
    for (int k = 0; kinds && k < CAT_NKIND; k++) {
        int l = kind_limit((cat_kind)k);
        if (l < 0 || wn[k] <= bn[k] || (int64_t)wn[k] <= w->limit[l])
            continue;
        return limit_error(cat_kind_name((cat_kind)k), l, wn[k], w->limit[l], bn[k], err);
    }
    refs_unique(&t->parents);
    for (size_t i = 0; i < t->parents.n; i++) {
        cat_ref p = t->parents.v[i];
        const cat_object *po = cat_state_find(w, p);
        if (po == NULL)
            continue; /* dropped in this transaction */
        int l = po->kind == CAT_KIND_DATABASE ? CAT_LIMIT_SCHEMAS_PER_DATABASE
                                              : CAT_LIMIT_OBJECTS_PER_SCHEMA;
        uint64_t after = scan ? scan_members(w, p) : cat_state_count_members(w, p);
        uint64_t before = scan ? scan_members(b, p) : cat_state_count_members(b, p);
        if (after <= before || (int64_t)after <= w->limit[l])
            continue;
        char what[CAT_NAME_MAX + 32];
        snprintf(what, sizeof what, "%s in %s \"%s\"",
                 po->kind == CAT_KIND_DATABASE ? "schema" : "object", cat_kind_name(po->kind),
                 po->name);
        return limit_error(what, l, after, w->limit[l], before, err);
    }
    return CC_OK;
}

cc_code
cat__changes(const cat_state *from, const cat_state *to, cat_ref *refs, size_t n, cat_change **out,
             size_t *nout, cc_err *err)
{
    cat__refs r = {refs, n, n};
    refs_unique(&r);
    *out = NULL;
    *nout = 0;
    if (r.n == 0)
        return CC_OK;
    cat_change *c = cc_malloc(2 * r.n * sizeof *c);
    if (c == NULL)
        return cc_err_set(err, CC_NOMEM, "out of memory building the change list");
    size_t k = 0;
    for (size_t i = 0; i < r.n; i++) {
        const cat_object *o = cat_state_find(from, r.v[i]), *nw = cat_state_find(to, r.v[i]);
        if (o == nw)
            continue;
        if (o != NULL)
            c[k++] = (cat_change){cat_object_ref(o), -1};
        if (nw != NULL)
            c[k++] = (cat_change){cat_object_ref(nw), +1};
    }
    *out = c;
    *nout = k;
    return CC_OK;
}

void
cat__changes_free(cat_change *c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        cat_object_unref(c[i].object);
    cc_free(c);
}

/* Frees a replaced version struct once readers have left (pmap_txn_defer). */
static void
free_state(void *arg)
{
    cc_free(arg);
}

/*
 * After a failed transaction under CAT_ABLATE_ALLOC: its separate
 * allocation commits moved the durable upper to `upper` and changed only the
 * id allocators, which the state does not track, so the published maps are
 * exact there: publish them again at that upper (else the next begin would
 * see the upper moved and rebuild, O(n)). If anything else moved, or out of
 * memory, leave it to that rebuild.
 */
static void
republish_at(cat_catalog *cat, const cat_state *base, uint64_t upper)
{
    cat_state *cur = atomic_load_explicit(&cat->cur, memory_order_relaxed);
    if (cat->stale || cur != base || dur_upper(cat->dur) != upper)
        return;
    cat_state *next = cc_malloc(sizeof *next);
    pmap_txn *pt = NULL;
    cc_err e;
    if (next == NULL || pmap_txn_begin(cat->domain, &pt, &e) != CC_OK) {
        cc_free(next);
        return;
    }
    if (pmap_txn_defer(pt, free_state, cur, &e) != CC_OK) {
        pmap_txn_abort(pt);
        cc_free(next);
        return;
    }
    *next = *cur;
    next->upper = upper;
    pthread_mutex_lock(&cat->lock);
    /* release: pairs with the acquire load in cat_state_acquire. */
    atomic_store_explicit(&cat->cur, next, memory_order_release);
    pthread_mutex_unlock(&cat->lock);
    pmap_txn_commit(pt);
}

void
cat_txn_set_timing(cat_txn *t, cat_commit_timing *out)
{
    t->timing = out;
}

/* CLOCK_MONOTONIC in nanoseconds (commit timing). */
static uint64_t
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

cc_code
cat_txn_commit(cat_txn *t, cc_err *err)
{
    if (t == NULL)
        return cc_err_set(err, CC_INVALID, "cat_txn_commit: NULL transaction");
    cat_catalog *cat = t->cat;
    cat_change *ch = NULL;
    size_t nch = 0;
    cat_state *next = NULL;
    cc_code rc = CC_OK;
    uint64_t start = t->timing != NULL ? now_ns() : 0;
    if (t->poisoned) {
        rc = cc_err_set_state(err, CC_INVALID, "25P02",
                              "current transaction is aborted, commands ignored until end of "
                              "transaction block");
        goto fail;
    }
    if ((rc = check_limits(t, err)) != CC_OK)
        goto fail;
    if ((rc = cat__changes(t->base, &t->work, t->touched.v, t->touched.n, &ch, &nch, err)) != CC_OK)
        goto fail;
    if (cat->opts.check == CAT_CHECK_INCREMENTAL &&
        (rc = cat_check_ids(&t->work, t->touched.v, t->touched.n, err)) != CC_OK)
        goto fail;
    if (cat->opts.check == CAT_CHECK_FULL) {
        atomic_fetch_add_explicit(&cat->full_checks, 1, memory_order_relaxed);
        if ((rc = cat_txn_check(t, cat->opts.parse, cat->opts.parse_arg, err)) != CC_OK)
            goto fail;
    }
    if ((next = cc_malloc(sizeof *next)) == NULL) {
        rc = cc_err_set(err, CC_NOMEM, "out of memory committing the catalog");
        goto fail;
    }
    if ((rc = pmap_txn_defer(t->pt, free_state, (void *)t->base, err)) != CC_OK)
        goto fail;
    dur_changes *dc = NULL;
    rc = dur_txn_commit(t->dt, &dc, err);
    t->dt = NULL;
    if (rc != CC_OK) {
        /* Nothing was written, or the durable handle is now fenced/broken;
         * an UPPER_MISMATCH means the durable Snapshot moved: rebuild. */
        if (rc == CC_UPPER_MISMATCH)
            cat->stale = true;
        goto fail;
    }
    *next = t->work;
    next->upper = dc != NULL ? dc->upper : t->base->upper;
    bool appended = dc != NULL && dc->n > 0;
    dur_changes_free(dc);
    uint64_t durable = t->timing != NULL ? now_ns() : 0;
    pthread_mutex_lock(&cat->lock);
    /* release: readers that acquire-load cur see the whole version. */
    atomic_store_explicit(&cat->cur, next, memory_order_release);
    pthread_mutex_unlock(&cat->lock);
    pmap_txn_commit(t->pt);
    if (cat->opts.on_commit != NULL && appended)
        cat->opts.on_commit(cat->opts.on_commit_arg, ch, nch, next->upper);
    if (t->timing != NULL) {
        t->timing->commit_ns = durable - start;
        t->timing->publish_ns = now_ns() - durable;
    }
    cat__changes_free(ch, nch);
    txn_free(t);
    return CC_OK;
fail:
    cat__changes_free(ch, nch);
    cc_free(next);
    pmap_txn_abort(t->pt);
    if (t->dt != NULL)
        dur_txn_abort(t->dt);
    if (t->apart_upper != 0)
        republish_at(cat, t->base, t->apart_upper);
    txn_free(t);
    return rc;
}

cc_code
cat_transact(cat_catalog *cat, const cat_actor *actor, const cat_op *ops, size_t n,
             cat_ref *created, cc_err *err)
{
    if (ops == NULL && n > 0)
        return cc_err_set(err, CC_INVALID, "cat_transact: NULL ops");
    cat_txn *t;
    cc_code rc = cat_txn_begin(cat, actor, &t, err);
    if (rc != CC_OK)
        return rc;
    for (size_t i = 0; i < n; i++) {
        if ((rc = cat_txn_apply(t, &ops[i], created ? &created[i] : NULL, err)) != CC_OK) {
            cat_txn_abort(t);
            return rc;
        }
    }
    return cat_txn_commit(t, err);
}
