/*
 * catalog/src/check.c — consistency checks of a version: full (cat_check,
 * O(n)) and for the objects a transaction touched (cat_check_ids, O(k log n)).
 *
 * Both apply the same per-object rules (check_core): the object is in the
 * name and OID indexes under its own name and OID, its parent, owner, uses
 * and ACL roles exist with the right kinds, its owner and ACL roles are
 * counted, and its cached fields are what its durable value says.
 *
 * The incremental check adds, per object, the edges both ways by lookup
 * (its members / used_by entries exist; its members and dependents point
 * back at it).
 *
 * The full check proves the same and more without a lookup per edge. It
 * takes the objects in ref order (which is, after a load, the order they were
 * allocated in: sequential memory), runs check_core over them on two threads
 * for a large catalog, then compares the members and used_by indexes with
 * the relations recomputed from the objects in one sequential pass each:
 *
 *   objects by ref ──► check_core (2 threads, chunks; lowest failing ref wins)
 *        │
 *        ├─ grouped by parent ──► == members  [parent][child]   (merge, both ways)
 *        ├─ distinct uses, sorted ► == used_by [used][user]     (merge, both ways)
 *        └─ owner / ACL role tallies == owned, granted counts
 *
 * then index sizes, kind counts, comments and limits. Equality in both
 * directions covers every per-edge rule of the incremental check (an edge
 * missing, an edge to a parent or dependent that does not list it back, an
 * edge from or to no object).
 */
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/assert.h"

#include "internal.h"

#define PAR_MIN 4096 /* objects from which the full check uses a second thread */
#define CHUNK   1024 /* objects a thread takes at a time */

static cc_code
bad(cc_err *err, const cat_object *o, const char *what)
{
    char b[24];
    return cc_err_set(err, CC_CORRUPT, "catalog check: %s %s \"%s\": %s",
                      o ? cat_kind_name(o->kind) : "object", o ? cat_ref_str(o->ref, b) : "-",
                      o ? o->name : "", what);
}

static bool
has_edge(const pmap_omap *m, cat_ref from, cat_ref to)
{
    uint8_t k[16];
    cat__be64(k, from);
    cat__be64(k + 8, to);
    return pmap_omap_find(m, k, sizeof k) != NULL;
}

/* The last object looked up for one purpose (most objects share a parent and an owner). */
typedef struct memo {
    cat_ref ref;
    const cat_object *o;
} memo;

static const cat_object *
memo_find(const cat_state *s, memo *m, cat_ref ref)
{
    if (ref != m->ref) {
        m->ref = ref;
        m->o = cat_state_find(s, ref);
    }
    return m->o;
}

/* Per-thread state of check_core. */
typedef struct checker {
    const cat_state *s;
    cat__arena arena; /* the value being compared */
    memo parent, owner, role;
    cat_ref owned_ok, granted_ok; /* the last role found counted in owned / granted */
    cat_ref *refs;                /* scratch: the refs the value states */
    size_t cap;
} checker;

static void
checker_init(checker *w, const cat_state *s)
{
    *w = (checker){.s = s};
}

static void
checker_fini(checker *w)
{
    cat__arena_fini(&w->arena);
    cc_free(w->refs);
}

/* Is o the holder of its own name key k? (One find when o holds the hash itself.) */
static bool
named(const cat_state *s, const cat_object *o, const uint8_t *k, size_t kn)
{
    if ((cat_ref)(uintptr_t)pmap_hamt_find_u64(&s->names, s->name_hash(k, kn)) == o->ref)
        return true; /* o's name key is k by construction */
    return cat__state_name(s, k, kn) == o->ref;
}

/* The rules every object obeys by itself (see the file comment); parse: may be NULL. */
static cc_code
check_core(checker *w, const cat_object *o, cat_parse_fn parse, void *parse_arg, cc_err *err)
{
    const cat_state *s = w->s;
    cat_ref scope;
    cat__ns ns = cat__obj_ns(o, &scope);
    uint8_t k[CAT_NAME_KEY_MAX + 1];
    size_t kn = cat__name_key(k, ns, scope, o->name);
    if (kn == 0 || !named(s, o, k, kn))
        return bad(err, o, "not in the name index under its name");
    if (o->oid != 0 && (cat_ref)(uintptr_t)pmap_hamt_find_u64(&s->oids, o->oid) != o->ref)
        return bad(err, o, "not in the OID index under its OID");
    cat_class cls = cat_ref_class(o->ref);
    if ((cls == CAT_CLASS_CLUSTER) != (o->oid == 0))
        return bad(err, o, "OID present where none belongs, or missing");
    const cat_object *p = memo_find(s, &w->parent, o->parent);
    if (cls == CAT_CLASS_ITEM && (p == NULL || p->kind != CAT_KIND_SCHEMA))
        return bad(err, o, "its schema does not exist");
    if (cls == CAT_CLASS_SCHEMA && o->parent != 0 && (p == NULL || p->kind != CAT_KIND_DATABASE))
        return bad(err, o, "its database does not exist");
    if (cls != CAT_CLASS_ITEM && cls != CAT_CLASS_SCHEMA && o->parent != 0)
        return bad(err, o, "has a parent");
    const cat_object *ow = memo_find(s, &w->owner, o->owner);
    if (cls == CAT_CLASS_ROLE ? o->owner != 0 : (ow == NULL || ow->kind != CAT_KIND_ROLE))
        return bad(err, o, "owner is not an existing role");
    if (o->owner != 0 && o->owner != w->owned_ok) {
        if (cat_state_count_owned(s, o->owner) == 0)
            return bad(err, o, "not counted among its owner's objects");
        w->owned_ok = o->owner;
    }
    uint32_t nacl;
    const cat_ref *acl = cat__obj_acl(o, &nacl);
    for (uint32_t i = 0; i < nacl; i++) {
        const cat_object *r = memo_find(s, &w->role, acl[i]);
        if (r == NULL || r->kind != CAT_KIND_ROLE)
            return bad(err, o, "privileges name a role that does not exist");
        if (acl[i] != w->granted_ok) {
            if (cat_state_count_granted(s, acl[i]) == 0)
                return bad(err, o, "privileges not counted for their role");
            w->granted_ok = acl[i];
        }
    }
    const cat_object *first_use = NULL;
    for (size_t i = 0; i < o->nuses; i++) {
        const cat_object *u = cat_state_find(s, o->uses[i]);
        if (u == NULL || cat_ref_class(u->ref) != CAT_CLASS_ITEM)
            return bad(err, o, "uses an object that does not exist");
        if (i == 0)
            first_use = u;
    }
    if (o->kind == CAT_KIND_INDEX && (first_use == NULL || (first_use->kind != CAT_KIND_TABLE &&
                                                            first_use->kind != CAT_KIND_MATERIALIZED_VIEW)))
        return bad(err, o, "index without its table");

    /* The cached fields are what the durable value says. */
    cat__arena_reset(&w->arena);
    ProtobufCMessage *m;
    cc_code rc = cat__arena_decode(&w->arena, cat__class_coll(cls), DUR_PART_VALUE,
                                   dur_blob_bytes(o->value), &m, err);
    if (rc != CC_OK)
        return rc;
    cat__fields f;
    if ((rc = cat__obj_fields(o->ref, m, &f, err)) != CC_OK)
        return rc;
    size_t need = f.nuses + 2 * f.nacl;
    if (need > w->cap) {
        cat_ref *r = cc_realloc(w->refs, (need + 16) * sizeof *r);
        if (r == NULL)
            return cc_err_set(err, CC_NOMEM, "out of memory checking the catalog");
        w->refs = r;
        w->cap = need + 16;
    }
    size_t na = cat__fields_refs(&f, w->refs);
    bool same = f.kind == o->kind && f.oid == o->oid && f.parent == o->parent &&
                f.owner == o->owner && strcmp(f.name, o->name) == 0 && f.nuses == o->nuses &&
                na == nacl &&
                (f.nuses + na == 0 || memcmp(w->refs, o->uses, (f.nuses + na) * sizeof *o->uses) == 0);
    if (!same)
        return bad(err, o, "cached fields differ from its durable value");
    /* Items carry the statement that created them (the parse callback, when
     * given, checks that it parses; without one it must at least be there). */
    if (cls != CAT_CLASS_ITEM)
        return CC_OK;
    const char *sql = ((const Cowcat__Catalog__ItemValue *)m)->create_sql;
    if (sql == NULL || sql[0] == '\0')
        return bad(err, o, "item without create_sql");
    if (parse == NULL)
        return CC_OK;
    cc_err pe;
    cc_err_clear(&pe);
    if (parse(parse_arg, sql, &pe) != CC_OK) {
        char msg[CC_ERR_MSG_MAX + 32];
        snprintf(msg, sizeof msg, "create_sql does not parse: %s", pe.msg);
        return bad(err, o, msg);
    }
    return CC_OK;
}

/* --- incremental --------------------------------------------------------------------- */

typedef struct dep_ctx {
    const cat_state *s;
    const cat_object *of;
    cc_err *err;
    cc_code rc;
} dep_ctx;

/* A dependent of `of` must list it in its uses. */
static int
dep_lists_us(void *arg, const cat_object *d)
{
    dep_ctx *c = arg;
    for (size_t i = 0; i < d->nuses; i++)
        if (d->uses[i] == c->of->ref)
            return 0;
    c->rc = bad(c->err, d, "in used_by of an object it does not use");
    return 1;
}

static int
member_points_back(void *arg, const cat_object *m)
{
    dep_ctx *c = arg;
    if (m->parent == c->of->ref)
        return 0;
    c->rc = bad(c->err, m, "member edge to a parent it does not have");
    return 1;
}

/* check_core, then o's edges by lookup and (neighbours) its members and dependents. */
static cc_code
check_object(checker *w, const cat_object *o, bool neighbours, cc_err *err)
{
    const cat_state *s = w->s;
    cc_code rc = check_core(w, o, NULL, NULL, err);
    if (rc != CC_OK)
        return rc;
    if (o->parent != 0 && !has_edge(&s->members, o->parent, o->ref))
        return bad(err, o, "missing from its parent's members");
    for (size_t i = 0; i < o->nuses; i++)
        if (!has_edge(&s->used_by, o->uses[i], o->ref))
            return bad(err, o, "a use without its used_by edge");
    if (!neighbours)
        return CC_OK;
    dep_ctx c = {s, o, err, CC_OK};
    cat_state_walk_used_by(s, o->ref, dep_lists_us, &c);
    if (c.rc == CC_OK)
        cat_state_walk_members(s, o->ref, member_points_back, &c);
    return c.rc;
}

/* Objects that no longer exist must leave no edges from them. */
static cc_code
check_gone(const cat_state *s, cat_ref ref, cc_err *err)
{
    char b[24];
    if (cat_state_count_used_by(s, ref) != 0 || cat_state_count_members(s, ref) != 0)
        return cc_err_set(err, CC_CORRUPT,
                          "catalog check: dropped object %s still has dependents or members",
                          cat_ref_str(ref, b));
    if (cat_state_count_owned(s, ref) != 0 || cat_state_count_granted(s, ref) != 0)
        return cc_err_set(err, CC_CORRUPT, "catalog check: dropped role %s still owns objects",
                          cat_ref_str(ref, b));
    return CC_OK;
}

cc_code
cat_check_ids(const cat_state *s, const cat_ref *refs, size_t n, cc_err *err)
{
    checker w;
    checker_init(&w, s);
    cc_code rc = CC_OK;
    for (size_t i = 0; i < n && rc == CC_OK; i++) {
        const cat_object *o = cat_state_find(s, refs[i]);
        rc = o == NULL ? check_gone(s, refs[i], err) : check_object(&w, o, true, err);
        for (size_t j = 0; o != NULL && j < o->nuses && rc == CC_OK; j++) {
            const cat_object *u = cat_state_find(s, o->uses[j]);
            if (u != NULL)
                rc = check_object(&w, u, false, err);
        }
        if (rc == CC_OK && o != NULL && o->parent != 0)
            rc = check_object(&w, cat_state_find(s, o->parent), false, err);
    }
    checker_fini(&w);
    return rc;
}

/* --- full: tallies, order ------------------------------------------------------------ */

/* role -> how many times it was counted: open addressing, 0 = free slot. */
typedef struct tally {
    cat_ref *key;
    uint64_t *n;
    size_t cap, used;
} tally;

static bool
tally_add(tally *t, cat_ref r, uint64_t by)
{
    if (2 * (t->used + 1) > t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 64;
        cat_ref *k = cc_calloc(cap, sizeof *k);
        uint64_t *n = cc_calloc(cap, sizeof *n);
        if (k == NULL || n == NULL) {
            cc_free(k);
            cc_free(n);
            return false;
        }
        for (size_t i = 0; i < t->cap; i++) {
            if (t->key[i] == 0)
                continue;
            size_t j = (size_t)(t->key[i] * 0x9E3779B97F4A7C15ull) & (cap - 1);
            while (k[j] != 0)
                j = (j + 1) & (cap - 1);
            k[j] = t->key[i];
            n[j] = t->n[i];
        }
        cc_free(t->key);
        cc_free(t->n);
        t->key = k;
        t->n = n;
        t->cap = cap;
    }
    size_t j = (size_t)(r * 0x9E3779B97F4A7C15ull) & (t->cap - 1);
    while (t->key[j] != 0 && t->key[j] != r)
        j = (j + 1) & (t->cap - 1);
    if (t->key[j] == 0) {
        t->key[j] = r;
        t->used++;
    }
    t->n[j] += by;
    return true;
}

static void
tally_fini(tally *t)
{
    cc_free(t->key);
    cc_free(t->n);
}

/* A per-role count map m equals the tally t. */
static cc_code
check_counts(const pmap_hamt *m, const char *what, const tally *t, cc_err *err)
{
    for (size_t i = 0; i < t->cap; i++) {
        if (t->key[i] == 0)
            continue;
        uint64_t have = (uint64_t)(uintptr_t)pmap_hamt_find_u64(m, t->key[i]);
        char b[24];
        if (have != t->n[i])
            return cc_err_set(err, CC_CORRUPT,
                              "catalog check: role %s %s %llu objects, counted %llu",
                              cat_ref_str(t->key[i], b), what, (unsigned long long)t->n[i],
                              (unsigned long long)have);
    }
    if (pmap_hamt_count(m) != t->used)
        return cc_err_set(err, CC_CORRUPT,
                          "catalog check: %zu counts for %zu roles that %s objects",
                          pmap_hamt_count(m), t->used, what);
    return CC_OK;
}

/* An object with its ref inline (sorting without touching the object). */
typedef struct obj_at {
    cat_ref ref;
    const cat_object *o;
} obj_at;

/* --- full: the per-object pass ----------------------------------------------------------- */

typedef struct full full;

/* One thread's share: its first failure and its recounts. */
typedef struct worker {
    full *f;
    checker w;
    size_t bad_at; /* index of its first failing object (f->n: none) */
    cc_code rc;
    cc_err err;
    uint64_t count[CAT_NKIND];
    size_t with_oid, with_parent, uses;
    tally owned, granted;
} worker;

struct full {
    const cat_state *s;
    const obj_at *objs; /* by ref */
    size_t n;
    cat_parse_fn parse;
    void *parse_arg;
    _Atomic size_t next;      /* the next chunk's first index */
    _Atomic size_t first_bad; /* the lowest failing index seen (n: none) */
};

static cc_code
full_one(worker *k, const cat_object *o, cc_err *err)
{
    cc_code rc = check_core(&k->w, o, k->f->parse, k->f->parse_arg, err);
    if (rc != CC_OK)
        return rc;
    k->count[o->kind]++;
    k->with_oid += o->oid != 0;
    k->with_parent += o->parent != 0;
    if (o->owner != 0 && !tally_add(&k->owned, o->owner, 1))
        return cc_err_set(err, CC_NOMEM, "out of memory checking the catalog");
    uint32_t nacl;
    const cat_ref *acl = cat__obj_acl(o, &nacl);
    for (uint32_t i = 0; i < nacl; i++)
        if (!tally_add(&k->granted, acl[i], 1))
            return cc_err_set(err, CC_NOMEM, "out of memory checking the catalog");
    for (size_t i = 0; i < o->nuses; i++) {
        bool dup = false;
        for (size_t j = 0; j < i; j++)
            dup |= o->uses[j] == o->uses[i];
        k->uses += !dup;
    }
    return CC_OK;
}

/* Takes chunks until none is left or one below them failed. */
static void *
worker_main(void *arg)
{
    worker *k = arg;
    full *f = k->f;
    for (;;) {
        size_t from = atomic_fetch_add_explicit(&f->next, CHUNK, memory_order_relaxed);
        if (from >= f->n || from >= atomic_load_explicit(&f->first_bad, memory_order_relaxed))
            break;
        size_t to = from + CHUNK < f->n ? from + CHUNK : f->n;
        for (size_t i = from; i < to; i++) {
            if ((k->rc = full_one(k, f->objs[i].o, &k->err)) == CC_OK)
                continue;
            k->bad_at = i;
            size_t cur = atomic_load_explicit(&f->first_bad, memory_order_relaxed);
            while (i < cur && !atomic_compare_exchange_weak_explicit(
                                  &f->first_bad, &cur, i, memory_order_relaxed,
                                  memory_order_relaxed)) {
            }
            return NULL;
        }
    }
    return NULL;
}

static void
worker_init(worker *k, full *f)
{
    *k = (worker){.f = f, .bad_at = f->n};
    checker_init(&k->w, f->s);
    cc_err_clear(&k->err);
}

static void
worker_fini(worker *k)
{
    checker_fini(&k->w);
    tally_fini(&k->owned);
    tally_fini(&k->granted);
}

/* Folds b's recounts into a. */
static bool
worker_merge(worker *a, const worker *b)
{
    for (int i = 0; i < CAT_NKIND; i++)
        a->count[i] += b->count[i];
    a->with_oid += b->with_oid;
    a->with_parent += b->with_parent;
    a->uses += b->uses;
    for (size_t i = 0; i < b->owned.cap; i++)
        if (b->owned.key[i] != 0 && !tally_add(&a->owned, b->owned.key[i], b->owned.n[i]))
            return false;
    for (size_t i = 0; i < b->granted.cap; i++)
        if (b->granted.key[i] != 0 && !tally_add(&a->granted, b->granted.key[i], b->granted.n[i]))
            return false;
    return true;
}

/* --- full: the edge indexes -------------------------------------------------------------- */

/* An edge [from][to] recomputed from object o. */
typedef struct edge_of {
    cat_ref from, to;
    const cat_object *o;
} edge_of;

static int
edge_cmp(const void *a, const void *b)
{
    const edge_of *x = a, *y = b;
    if (x->from != y->from)
        return x->from < y->from ? -1 : 1;
    return (x->to > y->to) - (x->to < y->to);
}

/* The messages of a members / used_by mismatch. */
typedef struct edge_words {
    const char *index;   /* "members", "used_by" */
    const char *missing; /* about the object whose edge is missing */
    const char *extra;   /* about an existing `to` object the edge does not belong to */
} edge_words;

/*
 * The omap m (keys [from BE8][to BE8]) holds exactly the edges e[0..n) (sorted,
 * distinct). One pass over both.
 */
static cc_code
edges_equal(const cat_state *s, const pmap_omap *m, const edge_of *e, size_t n,
            const edge_words *words, cc_err *err)
{
    pmap_omap_cursor cur;
    bool more = pmap_omap_seek_first(&cur, m);
    size_t i = 0;
    char b1[24], b2[24];
    while (more || i < n) {
        pmap_bytes k = {0};
        void *v;
        bool have = more && pmap_omap_cursor_get(&cur, &k, &v);
        if (more && !have)
            return cc_err_set(err, CC_CORRUPT, "catalog check: %s cursor failed", words->index);
        if (have && k.len != 16)
            return cc_err_set(err, CC_CORRUPT, "catalog check: %s key of %zu bytes",
                              words->index, k.len);
        edge_of x = {0};
        if (have) {
            x.from = cat__get_be64(k.ptr);
            x.to = cat__get_be64((const uint8_t *)k.ptr + 8);
        }
        int c = !have ? -1 : i == n ? 1 : edge_cmp(&e[i], &x);
        if (c < 0)
            return bad(err, e[i].o, words->missing);
        if (c > 0) {
            const cat_object *to = cat_state_find(s, x.to);
            if (to != NULL)
                return bad(err, to, words->extra);
            return cc_err_set(err, CC_CORRUPT,
                              "catalog check: %s edge %s -> %s to an object that does not exist",
                              words->index, cat_ref_str(x.from, b1), cat_ref_str(x.to, b2));
        }
        i++;
        more = pmap_omap_cursor_next(&cur);
    }
    return CC_OK;
}

/* The slot of r in t, which holds it. */
static size_t
tally_slot(const tally *t, cat_ref r)
{
    size_t j = (size_t)(r * 0x9E3779B97F4A7C15ull) & (t->cap - 1);
    while (t->key[j] != r)
        j = (j + 1) & (t->cap - 1);
    return j;
}

static int
ref_cmp(const void *a, const void *b)
{
    cat_ref x = *(const cat_ref *)a, y = *(const cat_ref *)b;
    return (x > y) - (x < y);
}

/*
 * members == { [o->parent][o->ref] : o with a parent }. objs: by ref, so a
 * counting sort by parent (few parents, long runs) gives the index's order
 * in O(n).
 */
static cc_code
check_members(const cat_state *s, const obj_at *objs, size_t n, size_t with_parent, cc_err *err)
{
    static const edge_words words = {"members", "missing from its parent's members",
                                     "member edge to a parent it does not have"};
    edge_of *e = cc_malloc((with_parent + 1) * sizeof *e);
    tally parents = {0};
    cat_ref *keys = NULL;
    cc_code rc = CC_OK;
    cat_ref last = 0;
    size_t slot = 0;
    for (size_t i = 0; i < n && e != NULL && rc == CC_OK; i++) {
        cat_ref p = objs[i].o->parent;
        if (p == 0)
            continue;
        if (p != last || last == 0) {
            if (!tally_add(&parents, p, 0))
                rc = cc_err_set(err, CC_NOMEM, "out of memory checking the catalog");
            else
                slot = tally_slot(&parents, p);
            last = p;
        }
        parents.n[slot]++;
    }
    if (e == NULL || (parents.used > 0 && rc == CC_OK &&
                      (keys = cc_malloc(parents.used * sizeof *keys)) == NULL))
        rc = cc_err_set(err, CC_NOMEM, "out of memory checking the catalog");
    if (rc == CC_OK && parents.used > 0) {
        size_t nk = 0;
        for (size_t i = 0; i < parents.cap; i++)
            if (parents.key[i] != 0)
                keys[nk++] = parents.key[i];
        qsort(keys, nk, sizeof *keys, ref_cmp);
        size_t at = 0; /* each parent's count becomes its first position */
        for (size_t i = 0; i < nk; i++) {
            size_t j = tally_slot(&parents, keys[i]);
            size_t c = parents.n[j];
            parents.n[j] = at;
            at += c;
        }
        last = 0;
        size_t m = 0;
        for (size_t i = 0; i < n && m < with_parent; i++) {
            const cat_object *o = objs[i].o;
            if (o->parent == 0)
                continue;
            if (o->parent != last) {
                slot = tally_slot(&parents, o->parent);
                last = o->parent;
            }
            e[parents.n[slot]++] = (edge_of){o->parent, objs[i].ref, o};
            m++;
        }
        rc = edges_equal(s, &s->members, e, m, &words, err);
    } else if (rc == CC_OK) {
        rc = edges_equal(s, &s->members, e, 0, &words, err);
    }
    cc_free(keys);
    tally_fini(&parents);
    cc_free(e);
    return rc;
}

/* used_by == { [u][o->ref] : u a distinct use of o }. */
static cc_code
check_used_by(const cat_state *s, const obj_at *objs, size_t n, size_t uses, cc_err *err)
{
    static const edge_words words = {"used_by", "a use without its used_by edge",
                                     "in used_by of an object it does not use"};
    edge_of *e = cc_malloc((uses + 1) * sizeof *e);
    if (e == NULL)
        return cc_err_set(err, CC_NOMEM, "out of memory checking the catalog");
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        const cat_object *o = objs[i].o;
        for (size_t j = 0; j < o->nuses; j++) {
            bool dup = false;
            for (size_t l = 0; l < j; l++)
                dup |= o->uses[l] == o->uses[j];
            if (!dup && m < uses)
                e[m++] = (edge_of){o->uses[j], o->ref, o};
        }
    }
    if (m > 1)
        qsort(e, m, sizeof *e, edge_cmp);
    cc_code rc = edges_equal(s, &s->used_by, e, m, &words, err);
    cc_free(e);
    return rc;
}

/* --- full ------------------------------------------------------------------------------ */

static int
collect_obj(void *arg, const cat_object *o)
{
    obj_at **p = arg;
    *(*p)++ = (obj_at){o->ref, o};
    return 0;
}

/* Comments on existing objects, columns within range. */
static cc_code
check_comments(const cat_state *s, cc_err *err)
{
    pmap_omap_cursor cur;
    if (!pmap_omap_seek_first(&cur, &s->comments))
        return CC_OK;
    do {
        pmap_bytes k;
        void *v;
        if (!pmap_omap_cursor_get(&cur, &k, &v))
            break;
        const uint8_t *p = k.ptr;
        const cat_object *o = k.len == 12 ? cat_state_find(s, cat__get_be64(p)) : NULL;
        if (o == NULL)
            return cc_err_set(err, CC_CORRUPT, "catalog check: comment on a missing object");
        uint32_t col = (uint32_t)p[8] << 24 | (uint32_t)p[9] << 16 | (uint32_t)p[10] << 8 | p[11];
        if (col != 0) {
            Cowcat__Catalog__ItemValue *iv;
            if (cat_ref_class(o->ref) != CAT_CLASS_ITEM)
                return bad(err, o, "column comment on an object without columns");
            cc_code rc = cat_object_decode(o, (ProtobufCMessage **)&iv, err);
            if (rc != CC_OK)
                return rc;
            size_t n = iv->n_columns;
            protobuf_c_message_free_unpacked(&iv->base, NULL);
            if (col > n)
                return bad(err, o, "comment on a column past its last");
        }
    } while (pmap_omap_cursor_next(&cur));
    return CC_OK;
}

/* The per-object pass over objs[0..n) (by ref): on two threads when large and there is no
 * parse callback (whose thread safety is the caller's business). Result in *k (merged). */
static cc_code
run_workers(full *f, worker *k, cc_err *err)
{
    worker k2;
    worker_init(k, f);
    worker_init(&k2, f);
    pthread_t t;
    bool threaded = f->n >= PAR_MIN && f->parse == NULL &&
                    pthread_create(&t, NULL, worker_main, &k2) == 0;
    worker_main(k);
    if (threaded)
        pthread_join(t, NULL);
    else
        worker_main(&k2); /* takes nothing if k finished every chunk */
    const worker *first = k->bad_at <= k2.bad_at ? k : &k2;
    cc_code rc = first->rc;
    if (rc != CC_OK && err != NULL)
        *err = first->err;
    if (rc == CC_OK && !worker_merge(k, &k2))
        rc = cc_err_set(err, CC_NOMEM, "out of memory checking the catalog");
    worker_fini(&k2);
    return rc;
}

/* The objects map's own check (the largest: it rehashes every value), beside the others. */
typedef struct map_job {
    const pmap_hamt *m;
    const pmap_txn *pt;
    cc_code rc;
    cc_err err;
} map_job;

static void *
map_job_main(void *arg)
{
    map_job *j = arg;
    cc_err_clear(&j->err);
    j->rc = pmap_hamt_check(j->m, j->pt, &j->err);
    return NULL;
}

/* Every map's invariants (objects first when several fail). */
static cc_code
check_maps(const cat_state *s, const pmap_txn *pt, cc_err *err)
{
    map_job j = {.m = &s->objects, .pt = pt};
    pthread_t t;
    bool threaded = pmap_hamt_count(&s->objects) >= PAR_MIN &&
                    pthread_create(&t, NULL, map_job_main, &j) == 0;
    cc_err e;
    cc_err_clear(&e);
    cc_code rc = pmap_hamt_check(&s->names, pt, &e);
    if (rc == CC_OK)
        rc = pmap_hamt_check(&s->oids, pt, &e);
    if (rc == CC_OK)
        rc = pmap_omap_check(&s->members, pt, &e);
    if (rc == CC_OK)
        rc = pmap_omap_check(&s->used_by, pt, &e);
    if (rc == CC_OK)
        rc = pmap_hamt_check(&s->owned, pt, &e);
    if (rc == CC_OK)
        rc = pmap_hamt_check(&s->granted, pt, &e);
    if (rc == CC_OK)
        rc = pmap_hamt_check(&s->names_x, pt, &e);
    if (rc == CC_OK)
        rc = pmap_omap_check(&s->comments, pt, &e);
    if (rc == CC_OK)
        rc = pmap_hamt_check(&s->config, pt, &e);
    if (threaded)
        pthread_join(t, NULL);
    else
        map_job_main(&j);
    if (j.rc != CC_OK) {
        if (err != NULL)
            *err = j.err;
        return j.rc;
    }
    if (rc != CC_OK && err != NULL)
        *err = e;
    return rc;
}

/* Full check; pt: the transaction still writing s (NULL: s is sealed). */
static cc_code
check_full(const cat_state *s, const pmap_txn *pt, cat_parse_fn parse, void *parse_arg, cc_err *err)
{
    cc_code rc = check_maps(s, pt, err);
    if (rc != CC_OK)
        return rc;
    size_t nobj = pmap_hamt_count(&s->objects);
    obj_at *v = cc_malloc((nobj + 1) * sizeof *v), *tmp = cc_malloc((nobj + 1) * sizeof *tmp);
    if (v == NULL || tmp == NULL) {
        cc_free(v);
        cc_free(tmp);
        return cc_err_set(err, CC_NOMEM, "out of memory checking the catalog");
    }
    obj_at *end = v;
    cat_state_walk_all(s, collect_obj, &end);
    CC_ASSERT((size_t)(end - v) == nobj); /* pmap_hamt_check counted them */
    obj_at *objs = cat__radix_sort(v, tmp, nobj, sizeof *v, offsetof(obj_at, ref), SIZE_MAX);
    full f = {.s = s, .objs = objs, .n = nobj, .parse = parse, .parse_arg = parse_arg};
    atomic_init(&f.next, 0);
    atomic_init(&f.first_bad, nobj);
    worker c;
    rc = run_workers(&f, &c, err);
    if (rc == CC_OK)
        rc = check_counts(&s->owned, "owns", &c.owned, err);
    if (rc == CC_OK)
        rc = check_counts(&s->granted, "is named by the privileges of", &c.granted, err);
    if (rc == CC_OK)
        rc = check_members(s, objs, nobj, c.with_parent, err);
    if (rc == CC_OK)
        rc = check_used_by(s, objs, nobj, c.uses, err);
    cc_free(v);
    cc_free(tmp);
    worker_fini(&c);
    if (rc != CC_OK)
        return rc;
    if (pmap_hamt_count(&s->names) + pmap_hamt_count(&s->names_x) != nobj ||
        pmap_hamt_count(&s->oids) != c.with_oid || pmap_omap_count(&s->members) != c.with_parent ||
        pmap_omap_count(&s->used_by) != c.uses)
        return cc_err_set(err, CC_CORRUPT,
                          "catalog check: index sizes (names %zu + %zu, oids %zu, members %zu, "
                          "used_by %zu) differ from the objects' (%zu, %zu, %zu, %zu)",
                          pmap_hamt_count(&s->names), pmap_hamt_count(&s->names_x),
                          pmap_hamt_count(&s->oids), pmap_omap_count(&s->members),
                          pmap_omap_count(&s->used_by), nobj, c.with_oid, c.with_parent, c.uses);
    for (int k = 0; k < CAT_NKIND; k++)
        if (c.count[k] != s->count[k])
            return cc_err_set(err, CC_CORRUPT, "catalog check: %s count %llu, recount %llu",
                              cat_kind_name((cat_kind)k), (unsigned long long)s->count[k],
                              (unsigned long long)c.count[k]);
    if ((rc = check_comments(s, err)) != CC_OK)
        return rc;
    for (int l = 0; l < CAT_NLIMIT; l++) {
        int64_t want = cat__parse_limit(cat_state_config(s, cat_limit_name((cat_limit)l)));
        if (want < 0)
            want = cat__parse_limit(DUR_DEFAULT_LIMIT);
        if (s->limit[l] != want)
            return cc_err_set(err, CC_CORRUPT, "catalog check: limit %s is %lld, config says %lld",
                              cat_limit_name((cat_limit)l), (long long)s->limit[l],
                              (long long)want);
    }
    return CC_OK;
}

cc_code
cat_check(const cat_state *s, cat_parse_fn parse, void *parse_arg, cc_err *err)
{
    if (s == NULL)
        return cc_err_set(err, CC_INVALID, "cat_check: NULL state");
    return check_full(s, NULL, parse, parse_arg, err);
}

cc_code
cat_txn_check(const cat_txn *txn, cat_parse_fn parse, void *parse_arg, cc_err *err)
{
    if (txn == NULL)
        return cc_err_set(err, CC_INVALID, "cat_txn_check: NULL transaction");
    return check_full(&txn->work, txn->pt, parse, parse_arg, err);
}
