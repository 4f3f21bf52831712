/*
 * catalog/src/check.c — consistency checks of a version: full (cat_check,
 * O(n)) and for the objects a transaction touched (cat_check_ids, O(k log n)).
 *
 * Both apply the same per-object rules (check_object); the full check adds
 * the map invariants, exact index sizes (so nothing is indexed that is not an
 * object), comments, limits and a recount of every counter.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"

#include "internal.h"

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

static cc_code
check_object(const cat_state *s, const cat_object *o, bool neighbours, cc_err *err)
{
    cat_ref scope;
    cat__ns ns = cat__obj_ns(o, &scope);
    uint8_t k[CAT_NAME_KEY_MAX + 1];
    size_t kn = cat__name_key(k, ns, scope, o->name);
    if (kn == 0 || cat__state_name(s, k, kn) != o->ref)
        return bad(err, o, "not in the name index under its name");
    if (o->oid != 0 && (cat_ref)(uintptr_t)pmap_hamt_find_u64(&s->oids, o->oid) != o->ref)
        return bad(err, o, "not in the OID index under its OID");
    cat_class cls = cat_ref_class(o->ref);
    if ((cls == CAT_CLASS_CLUSTER) != (o->oid == 0))
        return bad(err, o, "OID present where none belongs, or missing");
    const cat_object *p = cat_state_find(s, o->parent);
    if (cls == CAT_CLASS_ITEM && (p == NULL || p->kind != CAT_KIND_SCHEMA))
        return bad(err, o, "its schema does not exist");
    if (cls == CAT_CLASS_SCHEMA && o->parent != 0 && (p == NULL || p->kind != CAT_KIND_DATABASE))
        return bad(err, o, "its database does not exist");
    if (cls != CAT_CLASS_ITEM && cls != CAT_CLASS_SCHEMA && o->parent != 0)
        return bad(err, o, "has a parent");
    if (o->parent != 0 && !has_edge(&s->members, o->parent, o->ref))
        return bad(err, o, "missing from its parent's members");
    const cat_object *ow = cat_state_find(s, o->owner);
    if (cls == CAT_CLASS_ROLE ? o->owner != 0 : (ow == NULL || ow->kind != CAT_KIND_ROLE))
        return bad(err, o, "owner is not an existing role");
    if (o->owner != 0 && cat_state_count_owned(s, o->owner) == 0)
        return bad(err, o, "not counted among its owner's objects");
    uint32_t nacl;
    const cat_ref *acl = cat__obj_acl(o, &nacl);
    for (uint32_t i = 0; i < nacl; i++) {
        const cat_object *r = cat_state_find(s, acl[i]);
        if (r == NULL || r->kind != CAT_KIND_ROLE)
            return bad(err, o, "privileges name a role that does not exist");
        if (cat_state_count_granted(s, acl[i]) == 0)
            return bad(err, o, "privileges not counted for their role");
    }

    for (size_t i = 0; i < o->nuses; i++) {
        const cat_object *u = cat_state_find(s, o->uses[i]);
        if (u == NULL || cat_ref_class(u->ref) != CAT_CLASS_ITEM)
            return bad(err, o, "uses an object that does not exist");
        if (!has_edge(&s->used_by, u->ref, o->ref))
            return bad(err, o, "a use without its used_by edge");
    }
    if (o->kind == CAT_KIND_INDEX) {
        const cat_object *tab = o->nuses > 0 ? cat_state_find(s, o->uses[0]) : NULL;
        if (tab == NULL || (tab->kind != CAT_KIND_TABLE && tab->kind != CAT_KIND_MATERIALIZED_VIEW))
            return bad(err, o, "index without its table");
    }
    /* The cached fields are what the durable value says. */
    ProtobufCMessage *m;
    cc_code rc = cat_object_decode(o, &m, err);
    if (rc != CC_OK)
        return rc;
    /* Items carry the statement that created them (the parse callback, when
     * given, checks that it parses; without one it must at least be there). */
    bool sql_ok =
        cls != CAT_CLASS_ITEM || (((Cowcat__Catalog__ItemValue *)m)->create_sql != NULL &&
                                  ((Cowcat__Catalog__ItemValue *)m)->create_sql[0] != '\0');
    cat__obj *re;
    rc = cat__obj_new(o->ref, m, o->value, &re, err);
    protobuf_c_message_free_unpacked(m, NULL);
    if (rc != CC_OK)
        return rc;
    bool same = re->pub.kind == o->kind && re->pub.oid == o->oid && re->pub.parent == o->parent &&
                re->pub.owner == o->owner && strcmp(re->pub.name, o->name) == 0 &&
                re->pub.nuses == o->nuses && re->nacl == ((const cat__obj *)o)->nacl &&
                memcmp(re->pub.uses, o->uses, (o->nuses + re->nacl) * sizeof *o->uses) == 0;
    cat_object_unref(&re->pub);
    if (!same)
        return bad(err, o, "cached fields differ from its durable value");
    if (!sql_ok)
        return bad(err, o, "item without create_sql");
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
    for (size_t i = 0; i < n; i++) {
        const cat_object *o = cat_state_find(s, refs[i]);
        cc_code rc = o == NULL ? check_gone(s, refs[i], err) : check_object(s, o, true, err);
        for (size_t j = 0; o != NULL && j < o->nuses && rc == CC_OK; j++) {
            const cat_object *u = cat_state_find(s, o->uses[j]);
            if (u != NULL)
                rc = check_object(s, u, false, err);
        }
        if (rc == CC_OK && o != NULL && o->parent != 0)
            rc = check_object(s, cat_state_find(s, o->parent), false, err);
        if (rc != CC_OK)
            return rc;
    }
    return CC_OK;
}

typedef struct full_ctx {
    const cat_state *s;
    cat_parse_fn parse;
    void *parse_arg;
    cc_err *err;
    cc_code rc;
    uint64_t count[CAT_NKIND];
    size_t with_oid, with_parent, with_owner, uses;
    cat_ref *owners; /* owner of every owned object, for the recount */
    cat_ref *grants; /* every (object, role) privilege naming, for the recount */
    size_t ngrants, capgrants;
} full_ctx;

static int
full_one(void *arg, const cat_object *o)
{
    full_ctx *c = arg;
    if ((c->rc = check_object(c->s, o, true, c->err)) != CC_OK)
        return 1;
    c->count[o->kind]++;
    c->with_oid += o->oid != 0;
    c->with_parent += o->parent != 0;
    if (o->owner != 0)
        c->owners[c->with_owner++] = o->owner;
    uint32_t nacl;
    const cat_ref *acl = cat__obj_acl(o, &nacl);
    if (c->ngrants + nacl > c->capgrants) {
        size_t cap = 2 * (c->ngrants + nacl) + 16;
        cat_ref *g = cc_realloc(c->grants, cap * sizeof *g);
        if (g == NULL) {
            c->rc = cc_err_set(c->err, CC_NOMEM, "out of memory checking the catalog");
            return 1;
        }
        c->grants = g;
        c->capgrants = cap;
    }
    for (uint32_t i = 0; i < nacl; i++)
        c->grants[c->ngrants++] = acl[i];
    for (size_t i = 0; i < o->nuses; i++) {
        bool dup = false;
        for (size_t j = 0; j < i; j++)
            dup |= o->uses[j] == o->uses[i];
        c->uses += !dup;
    }
    if (c->parse != NULL && cat_ref_class(o->ref) == CAT_CLASS_ITEM) {
        Cowcat__Catalog__ItemValue *v;
        if ((c->rc = cat_object_decode(o, (ProtobufCMessage **)&v, c->err)) != CC_OK)
            return 1;
        cc_err pe;
        cc_err_clear(&pe);
        cc_code prc = c->parse(c->parse_arg, v->create_sql, &pe);
        protobuf_c_message_free_unpacked(&v->base, NULL);
        if (prc != CC_OK) {
            char m[CC_ERR_MSG_MAX + 32];
            snprintf(m, sizeof m, "create_sql does not parse: %s", pe.msg);
            c->rc = bad(c->err, o, m);
            return 1;
        }
    }
    return 0;
}

static int
ref_cmp(const void *a, const void *b)
{
    cat_ref x = *(const cat_ref *)a, y = *(const cat_ref *)b;
    return (x > y) - (x < y);
}

/* A per-role count map m equals a recount of roles[0..n) (one per naming). */
static cc_code
check_counts(const pmap_hamt *m, const char *what, cat_ref *owners, size_t n, cc_err *err)
{
    if (n > 1)
        qsort(owners, n, sizeof *owners, ref_cmp);
    size_t roles = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && owners[j] == owners[i])
            j++;
        char b[24];
        if ((uint64_t)(uintptr_t)pmap_hamt_find_u64(m, owners[i]) != j - i)
            return cc_err_set(
                err, CC_CORRUPT, "catalog check: role %s %s %zu objects, counted %llu",
                cat_ref_str(owners[i], b), what, j - i,
                (unsigned long long)(uint64_t)(uintptr_t)pmap_hamt_find_u64(m, owners[i]));
        roles++;
        i = j;
    }
    if (pmap_hamt_count(m) != roles)
        return cc_err_set(err, CC_CORRUPT,
                          "catalog check: %zu counts for %zu roles that %s objects",
                          pmap_hamt_count(m), roles, what);
    return CC_OK;
}

/* Full check; pt: the transaction still writing s (NULL: s is sealed). */
static cc_code
check_full(const cat_state *s, const pmap_txn *pt, cat_parse_fn parse, void *parse_arg, cc_err *err)
{
    cc_code rc = pmap_hamt_check(&s->objects, pt, err);
    if (rc == CC_OK)
        rc = pmap_hamt_check(&s->names, pt, err);
    if (rc == CC_OK)
        rc = pmap_hamt_check(&s->oids, pt, err);
    if (rc == CC_OK)
        rc = pmap_omap_check(&s->members, pt, err);
    if (rc == CC_OK)
        rc = pmap_omap_check(&s->used_by, pt, err);
    if (rc == CC_OK)
        rc = pmap_hamt_check(&s->owned, pt, err);
    if (rc == CC_OK)
        rc = pmap_hamt_check(&s->granted, pt, err);
    if (rc == CC_OK)
        rc = pmap_hamt_check(&s->names_x, pt, err);
    if (rc == CC_OK)
        rc = pmap_omap_check(&s->comments, pt, err);
    if (rc == CC_OK)
        rc = pmap_hamt_check(&s->config, pt, err);
    if (rc != CC_OK)
        return rc;
    size_t nobj = pmap_hamt_count(&s->objects);
    full_ctx c = {.s = s, .parse = parse, .parse_arg = parse_arg, .err = err};
    if ((c.owners = cc_malloc((nobj + 1) * sizeof *c.owners)) == NULL)
        return cc_err_set(err, CC_NOMEM, "out of memory checking the catalog");
    cat_state_walk_all(s, full_one, &c);
    if (c.rc == CC_OK)
        c.rc = check_counts(&s->owned, "owns", c.owners, c.with_owner, err);
    if (c.rc == CC_OK)
        c.rc = check_counts(&s->granted, "is named by the privileges of", c.grants, c.ngrants, err);
    cc_free(c.owners);
    cc_free(c.grants);
    if (c.rc != CC_OK)
        return c.rc;
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
    /* Comments: on existing objects, columns within range. */
    pmap_omap_cursor cur;
    if (pmap_omap_seek_first(&cur, &s->comments)) {
        do {
            pmap_bytes k;
            void *v;
            if (!pmap_omap_cursor_get(&cur, &k, &v))
                break;
            const uint8_t *p = k.ptr;
            const cat_object *o = k.len == 12 ? cat_state_find(s, cat__get_be64(p)) : NULL;
            if (o == NULL)
                return cc_err_set(err, CC_CORRUPT, "catalog check: comment on a missing object");
            uint32_t col =
                (uint32_t)p[8] << 24 | (uint32_t)p[9] << 16 | (uint32_t)p[10] << 8 | p[11];
            if (col != 0) {
                Cowcat__Catalog__ItemValue *iv;
                if (cat_ref_class(o->ref) != CAT_CLASS_ITEM)
                    return bad(err, o, "column comment on an object without columns");
                if ((rc = cat_object_decode(o, (ProtobufCMessage **)&iv, err)) != CC_OK)
                    return rc;
                size_t n = iv->n_columns;
                protobuf_c_message_free_unpacked(&iv->base, NULL);
                if (col > n)
                    return bad(err, o, "comment on a column past its last");
            }
        } while (pmap_omap_cursor_next(&cur));
    }
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
