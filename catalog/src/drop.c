/*
 * catalog/src/drop.c — DROP of any objects, with RESTRICT / CASCADE.
 *
 * One op drops a set of objects. The set is closed first, then checked, then
 * written (so a failure writes nothing):
 *   closure  every object in the set brings along
 *            - a database: its schemas and their items (always)
 *            - a schema: its items (CASCADE)
 *            - an item: the indexes on it (always, as PostgreSQL's automatic
 *              dependencies); under CASCADE its other dependents, except a
 *              table, which only loses what refers to the dropped object
 *              (a foreign key, a column of a dropped type: cat__strip_dependency)
 *   check    RESTRICT: a dependent or schema member outside the set fails
 *            with 2BP01; a role that owns objects outside the set fails
 *            under either behaviour (PostgreSQL has no DROP ROLE CASCADE)
 *   write    audit events (while names still qualify), comments, objects
 * Costs: O(k log n) for the k objects the drop reaches; the membership set is
 * a local hash table (cat__refset), so the closure is linear in k.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "internal.h"

typedef struct drop_ctx {
    cat_txn *t;
    cat_drop_behavior behavior;
    cat__refset in;        /* membership of the set */
    cat__refs order;       /* the set, in the order reached */
    cat__refs strip;       /* pairs: table, object it must stop referring to */
    const cat_object *cur; /* the object being expanded */
    size_t cur_i;          /* its index in order */
    cat__refs parent;      /* parent.v[i]: index in order of what brought order.v[i] (SIZE_MAX: named) */
    size_t requested;      /* objects the op named */
    cat__refset reported;  /* dependents already in the RESTRICT error's DETAIL */
    const cat_op *op;
    cc_err *err;
    cc_code rc;
} drop_ctx;

static cc_code
add(drop_ctx *d, cat_ref r)
{
    if (cat__refset_has(&d->in, r))
        return CC_OK;
    cc_code rc = cat__refset_add(&d->in, r, d->err);
    if (rc == CC_OK)
        rc = cat__refs_push(&d->order, r, d->err);
    if (rc == CC_OK)
        rc = cat__refs_push(&d->parent, d->cur != NULL ? d->cur_i : SIZE_MAX, d->err);
    return rc;
}

static bool
is_auto(const cat_object *dep, const cat_object *of)
{
    return dep->kind == CAT_KIND_INDEX && dep->nuses > 0 && dep->uses[0] == of->ref;
}

/* A member of a database (a schema) or of a dropped-with-cascade schema. */
static int
expand_member(void *arg, const cat_object *m)
{
    drop_ctx *d = arg;
    return (d->rc = add(d, m->ref)) != CC_OK;
}

static int
expand_dependent(void *arg, const cat_object *dep)
{
    drop_ctx *d = arg;
    if (cat__refset_has(&d->in, dep->ref))
        return 0;
    if (is_auto(dep, d->cur))
        d->rc = add(d, dep->ref);
    else if (d->behavior == CAT_DROP_CASCADE && dep->kind == CAT_KIND_TABLE) {
        d->rc = cat__refs_push(&d->strip, dep->ref, d->err);
        if (d->rc == CC_OK)
            d->rc = cat__refs_push(&d->strip, d->cur->ref, d->err);
    } else if (d->behavior == CAT_DROP_CASCADE)
        d->rc = add(d, dep->ref);
    return d->rc != CC_OK;
}

static const char *
describe(const drop_ctx *d, const cat_object *o, char *buf, size_t cap)
{
    if (d->op->u.drop.describe != NULL)
        return d->op->u.drop.describe(d->op->u.drop.describe_arg, o, buf, cap);
    snprintf(buf, cap, "%s", o->name);
    return buf;
}

static int report_dependents(void *arg, const cat_object *o);

/*
 * The RESTRICT error: PostgreSQL's message, one DETAIL line per object that
 * CASCADE would drop — each dependent outside the set and, transitively,
 * theirs (a table's indexes excepted: they go with it) — as many as fit,
 * then the HINT. Out of memory building it replaces it with NOMEM (d->rc).
 */
static void
dependents_error(drop_ctx *d, const cat_object *of, const cat_object *dep)
{
    cc_err *e = d->err;
    if (d->rc == CC_NOMEM)
        return;
    if (d->rc != CC_DEPENDENTS) {
        char b[3 * CAT_NAME_MAX + 4];
        if (d->requested > 1)
            cc_err_set_state(e, CC_DEPENDENTS, "2BP01",
                             "cannot drop desired object(s) because other objects depend on them");
        else
            cc_err_set_state(e, CC_DEPENDENTS, "2BP01",
                             "cannot drop %s %s because other objects depend on it",
                             cat_kind_name(of->kind), describe(d, of, b, sizeof b));
        cc_err_hint(e, "Use DROP ... CASCADE to drop the dependent objects too.");
        d->rc = CC_DEPENDENTS;
        if (e != NULL)
            e->detail[0] = '\0';
    }
    if (cat__refset_has(&d->reported, dep->ref))
        return;
    if (cat__refset_add(&d->reported, dep->ref, e) != CC_OK) {
        d->rc = CC_NOMEM;
        return;
    }
    if (e != NULL) {
        size_t len = strlen(e->detail);
        char a[3 * CAT_NAME_MAX + 4], b[3 * CAT_NAME_MAX + 4], k[CAT_NAME_MAX + 32] = "";
        char line[8 * CAT_NAME_MAX + 96];
        /* A table depends through a foreign key: PostgreSQL names the constraint. */
        ProtobufCMessage *m = NULL;
        cc_err de;
        cc_code rc = dep->kind == CAT_KIND_TABLE ? cat_object_decode(dep, &m, &de) : CC_NOT_FOUND;
        if (rc == CC_NOMEM) {
            *e = de;
            d->rc = rc;
            return;
        }
        if (rc == CC_OK) {
            const Cowcat__Catalog__ItemValue *v = (const Cowcat__Catalog__ItemValue *)m;
            for (size_t i = 0; i < v->n_constraints && !k[0]; i++)
                if (v->constraints[i]->ref_table_opt_case ==
                        COWCAT__CATALOG__CONSTRAINT__REF_TABLE_OPT_REF_TABLE &&
                    cat_ref_from_id(CAT_CLASS_ITEM, v->constraints[i]->ref_table) == of->ref)
                    snprintf(k, sizeof k, "constraint %s on ", v->constraints[i]->name);
            protobuf_c_message_free_unpacked(m, NULL);
        }
        snprintf(line, sizeof line, "%s%s%s %s depends on %s %s", len ? "\n" : "", k,
                 cat_kind_name(dep->kind), describe(d, dep, a, sizeof a), cat_kind_name(of->kind),
                 describe(d, of, b, sizeof b));
        if (len + strlen(line) < sizeof e->detail)
            memcpy(e->detail + len, line, strlen(line) + 1);
    }
    const cat_object *saved = d->cur;
    d->cur = dep;
    if (cat_ref_class(dep->ref) == CAT_CLASS_ITEM)
        cat_state_walk_used_by(&d->t->work, dep->ref, report_dependents, d);
    d->cur = saved;
}

/* The dependents of a reported dependent (d->cur), transitively. */
static int
report_dependents(void *arg, const cat_object *o)
{
    drop_ctx *d = arg;
    if (!is_auto(o, d->cur) && !cat__refset_has(&d->in, o->ref))
        dependents_error(d, d->cur, o);
    return d->rc == CC_NOMEM;
}

/* RESTRICT violations: every dependent/member outside the set. */
static int
check_outside(void *arg, const cat_object *o)
{
    drop_ctx *d = arg;
    if (cat__refset_has(&d->in, o->ref))
        return 0;
    if (d->behavior == CAT_DROP_CASCADE && o->kind == CAT_KIND_TABLE &&
        cat_ref_class(d->cur->ref) == CAT_CLASS_ITEM)
        return 0; /* stripped */
    dependents_error(d, d->cur, o);
    return d->rc == CC_NOMEM;
}

/* A role may go only if every object it owns, and every object whose
 * privileges name it, goes with it (no per-object index is kept: the set is
 * counted against the role's counts). Privileges are not revoked for the
 * caller: REVOKE first, as PostgreSQL requires. */
static void
check_role(drop_ctx *d, const cat_object *role)
{
    const cat_state *s = &d->t->work;
    uint64_t owned = cat_state_count_owned(s, role->ref), owned_in = 0;
    uint64_t granted = cat_state_count_granted(s, role->ref), granted_in = 0;
    for (size_t i = 0; i < d->order.n; i++) {
        const cat_object *o = cat_state_find(s, d->order.v[i]);
        uint32_t n;
        const cat_ref *acl = cat__obj_acl(o, &n);
        owned_in += o->owner == role->ref;
        for (uint32_t j = 0; j < n; j++)
            granted_in += acl[j] == role->ref;
    }
    if (owned == owned_in && granted == granted_in)
        return;
    d->rc = cc_err_set_state(d->err, CC_DEPENDENTS, "2BP01",
                             "role \"%s\" cannot be dropped because some objects depend on it",
                             role->name);
    if (owned != owned_in)
        cc_err_detail(d->err, "owner of %llu objects", (unsigned long long)(owned - owned_in));
    else
        cc_err_detail(d->err, "privileges for %llu objects",
                      (unsigned long long)(granted - granted_in));
}

/*
 * Hands on_cascade what CASCADE added, depth first from each named object
 * (PostgreSQL's order: an object, then what it brought along), a table's
 * indexes excepted (automatic). O(k). Errors: NOMEM (the notices are part
 * of the statement's result: without them the drop fails too).
 */
static cc_code
report_cascade(drop_ctx *d, size_t named)
{
    size_t n = d->order.n;
    if (n == named)
        return CC_OK; /* nothing cascaded */
    size_t *first = cc_malloc((n + 1) * sizeof *first), *next = cc_malloc((n + 1) * sizeof *next);
    size_t *stack = cc_malloc((n + 1) * sizeof *stack);
    if (first == NULL || next == NULL || stack == NULL) {
        cc_free(first);
        cc_free(next);
        cc_free(stack);
        return cc_err_set(d->err, CC_NOMEM, "out of memory in DROP ... CASCADE");
    }
    for (size_t i = 0; i < n; i++)
        first[i] = next[i] = SIZE_MAX;
    for (size_t i = n; i-- > 0;) { /* children lists in reach order */
        size_t p = d->parent.v[i];
        if (p != SIZE_MAX) {
            next[i] = first[p];
            first[p] = i;
        }
    }
    for (size_t root = named; root-- > 0;) { /* push roots in reverse: popped in order */
        size_t top = 0;
        stack[top++] = root;
        while (top > 0) {
            size_t i = stack[--top];
            if (i >= named) {
                const cat_object *o = cat_state_find(&d->t->work, d->order.v[i]);
                if (!(o->kind == CAT_KIND_INDEX && o->nuses > 0 &&
                      cat__refset_has(&d->in, o->uses[0])))
                    d->op->u.drop.on_cascade(d->op->u.drop.cascade_arg, o);
            }
            /* children, first child on top */
            size_t cnt = 0;
            for (size_t c = first[i]; c != SIZE_MAX; c = next[c])
                cnt++;
            size_t at = top + cnt;
            for (size_t c = first[i]; c != SIZE_MAX; c = next[c])
                stack[--at] = c;
            top += cnt;
        }
    }
    cc_free(first);
    cc_free(next);
    cc_free(stack);
    return CC_OK;
}

static cc_code
closure(drop_ctx *d)
{
    const cat_state *s = &d->t->work;
    for (size_t i = 0; i < d->order.n && d->rc == CC_OK; i++) {
        const cat_object *o = cat_state_find(s, d->order.v[i]);
        d->cur = o;
        d->cur_i = i;
        switch (o->kind) {
        case CAT_KIND_DATABASE:
            cat_state_walk_members(s, o->ref, expand_member, d);
            break;
        case CAT_KIND_SCHEMA: {
            /* A schema reached through its database goes with its items. */
            bool forced = o->parent != 0 && cat__refset_has(&d->in, o->parent);
            if (forced || d->behavior == CAT_DROP_CASCADE)
                cat_state_walk_members(s, o->ref, expand_member, d);
            break;
        }
        case CAT_KIND_ROLE:
        case CAT_KIND_CLUSTER:
            break;
        default:
            cat_state_walk_used_by(s, o->ref, expand_dependent, d);
        }
    }
    /* The checks go on after a RESTRICT violation, to list every one. */
    for (size_t i = 0; i < d->order.n && (d->rc == CC_OK || d->rc == CC_DEPENDENTS); i++) {
        const cat_object *o = cat_state_find(s, d->order.v[i]);
        d->cur = o;
        switch (o->kind) {
        case CAT_KIND_DATABASE:
        case CAT_KIND_CLUSTER:
            break;
        case CAT_KIND_SCHEMA:
            cat_state_walk_members(s, o->ref, check_outside, d);
            break;
        case CAT_KIND_ROLE:
            check_role(d, o);
            break;
        default:
            cat_state_walk_used_by(s, o->ref, check_outside, d);
        }
    }
    return d->rc;
}

cc_code
cat__op_drop(cat_txn *t, const cat_op *op, cc_err *err)
{
    drop_ctx d = {.t = t,
                  .behavior = op->u.drop.behavior,
                  .requested = op->u.drop.n,
                  .op = op,
                  .err = err};
    if (op->u.drop.refs == NULL && op->u.drop.n > 0)
        return cc_err_set(err, CC_INVALID, "DROP without objects");
    for (size_t i = 0; i < op->u.drop.n && d.rc == CC_OK; i++) {
        const cat_object *o = cat_state_find(&t->work, op->u.drop.refs[i]);
        if (o == NULL)
            d.rc = cat__not_found(op->u.drop.refs[i], err);
        else if (cat_ref_is_system(o->ref))
            d.rc = cc_err_set_state(err, CC_DEPENDENTS, "2BP01",
                                    "cannot drop %s %s because it is required by the database "
                                    "system",
                                    cat_kind_name(o->kind), o->name);
        else
            d.rc = add(&d, o->ref);
    }
    size_t named = d.order.n; /* the set before the closure */
    if (d.rc == CC_OK)
        closure(&d);
    if (d.rc == CC_OK && op->u.drop.on_cascade != NULL)
        d.rc = report_cascade(&d, named);
    /* Strip what surviving tables refer to (pairs: table, dropped object). */
    for (size_t i = 0; i + 1 < d.strip.n && d.rc == CC_OK; i += 2) {
        if (cat__refset_has(&d.in, d.strip.v[i]))
            continue;
        const cat_object *tab = cat_state_find(&t->work, d.strip.v[i]);
        const cat_object *gone = cat_state_find(&t->work, d.strip.v[i + 1]);
        d.rc = cat__strip_dependency(t, tab, gone, err);
    }
    for (size_t i = 0; i < d.order.n && d.rc == CC_OK; i++)
        d.rc = cat__audit(t, COWCAT__CATALOG__AUDIT_EVENT_TYPE__AUDIT_EVENT_TYPE_DROP,
                          cat_state_find(&t->work, d.order.v[i]), err);
    for (size_t i = 0; i < d.order.n && d.rc == CC_OK; i++) {
        const cat_object *o = cat_state_find(&t->work, d.order.v[i]);
        d.rc = cat__drop_comments(t, o, err);
        if (d.rc == CC_OK)
            d.rc = cat__put_object(t, o->ref, NULL, NULL, err);
    }
    cat__refset_fini(&d.in);
    cat__refset_fini(&d.reported);
    cat__refs_fini(&d.order);
    cat__refs_fini(&d.parent);
    cat__refs_fini(&d.strip);
    return d.rc;
}
