/*
 * catalog/src/move.c — ALTER ... SET SCHEMA (moving an item to another
 * schema) and replacing an item's stored create_sql.
 *
 * A move writes the item (and, for a table or materialized view, each of
 * its indexes) with its new schema; apply.c then moves its name key and
 * member edge, so the cost is O(log n) per moved object. Ids, OIDs, uses
 * and the used_by edges do not change. The stored SQL that names the item
 * (its own create_sql and its direct dependents') is rewritten through the
 * caller's hook after the move, as a rename rewrites it: O(k) in the
 * dependents.
 *
 * Decoded values are freed with protobuf_c_message_free_unpacked; a field
 * replaced with a borrowed value is swapped back before the free.
 */
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "internal.h"

#define AUDIT_ALTER COWCAT__CATALOG__AUDIT_EVENT_TYPE__AUDIT_EVENT_TYPE_ALTER
#define CHECK_KIND  COWCAT__CATALOG__CONSTRAINT_KIND__CONSTRAINT_KIND_CHECK

typedef Cowcat__Catalog__ItemValue item_value;

/* The ref of the object named name in namespace ns of schema, or 0. */
static cat_ref
holder(const cat_txn *t, cat__ns ns, cat_ref schema, const char *name)
{
    uint8_t k[CAT_NAME_KEY_MAX + 1];
    size_t n = cat__name_key(k, ns, schema, name);
    return n == 0 ? 0 : cat__state_name(&t->work, k, n);
}

/* PostgreSQL's clash errors of a move (AlterRelationNamespaceInternal, AlterTypeNamespaceInternal).
 */
static cc_code
check_free(const cat_txn *t, const cat_object *m, const cat_object *schema, cc_err *err)
{
    if (m->kind != CAT_KIND_TYPE && holder(t, CAT_NS_RELATION, schema->ref, m->name) != 0)
        return cc_err_set_state(err, CC_EXISTS, "42P07",
                                "relation \"%s\" already exists in schema \"%s\"", m->name,
                                schema->name);
    /* A relation other than an index has a row type of its name. */
    if (m->kind != CAT_KIND_INDEX &&
        (holder(t, CAT_NS_TYPE, schema->ref, m->name) != 0 ||
         (m->kind == CAT_KIND_TYPE && holder(t, CAT_NS_RELATION, schema->ref, m->name) != 0)))
        return cc_err_set_state(err, CC_EXISTS, "42710",
                                "type \"%s\" already exists in schema \"%s\"", m->name,
                                schema->name);
    return CC_OK;
}

typedef struct moving {
    const cat_object *item;
    cat__refs refs; /* the item, then its indexes */
    cat__refs deps; /* its direct dependents (rewritten) */
    cc_err *err;
    cc_code rc;
} moving;

static int
collect(void *arg, const cat_object *o)
{
    moving *mv = arg;
    mv->rc = cat__refs_push(&mv->deps, o->ref, mv->err);
    if (mv->rc == CC_OK && o->kind == CAT_KIND_INDEX && o->nuses > 0 &&
        o->uses[0] == mv->item->ref && mv->item->kind != CAT_KIND_TYPE)
        mv->rc = cat__refs_push(&mv->refs, o->ref, mv->err);
    return mv->rc != CC_OK;
}

/* Writes item ref with its schema set to schema. */
static cc_code
put_in_schema(cat_txn *t, cat_ref ref, cat_ref schema, cc_err *err)
{
    const cat_object *o = cat_state_find(&t->work, ref);
    item_value *v;
    cc_code rc = cat_object_decode(o, (ProtobufCMessage **)&v, err);
    if (rc != CC_OK)
        return rc;
    Cowcat__Catalog__CatalogId id, *old = v->schema;
    cat__ref_to_id(schema, &id);
    v->schema = &id;
    rc = cat__put_object(t, ref, &v->base, NULL, err);
    v->schema = old;
    protobuf_c_message_free_unpacked(&v->base, NULL);
    return rc;
}

/* Rewrites the create_sql of target for the move of item (its old version `before`). */
static cc_code
rewrite_one(cat_txn *t, const cat_op *op, cat_ref target, const cat_object *before, cc_err *err)
{
    const cat_object *d = cat_state_find(&t->work, target);
    if (d == NULL || op->u.set_schema.rewrite == NULL)
        return CC_OK;
    item_value *v;
    cc_code rc = cat_object_decode(d, (ProtobufCMessage **)&v, err);
    if (rc != CC_OK)
        return rc;
    char *out = NULL;
    rc = op->u.set_schema.rewrite(op->u.set_schema.rewrite_arg, &t->work, d, v->create_sql, before,
                                  before->name, &out, err);
    if (rc == CC_OK && out != NULL) {
        free(v->create_sql);
        v->create_sql = out; /* malloc'd by the hook: freed with the message */
        rc = cat__put_object(t, d->ref, &v->base, NULL, err);
    }
    protobuf_c_message_free_unpacked(&v->base, NULL);
    return rc;
}

static cc_code
op_set_schema(cat_txn *t, const cat_op *op, cc_err *err)
{
    const cat_object *o = cat_state_find(&t->work, op->u.set_schema.ref);
    const cat_object *sc = cat_state_find(&t->work, op->u.set_schema.schema);
    if (o == NULL)
        return cat__not_found(op->u.set_schema.ref, err);
    if (sc == NULL)
        return cat__not_found(op->u.set_schema.schema, err);
    if (o->kind == CAT_KIND_INDEX) {
        cc_err_set_state(err, CC_INVALID, "42809", "cannot change schema of index \"%s\"", o->name);
        return cc_err_hint(err, "Change the schema of the table instead.");
    }
    if (cat_ref_class(o->ref) != CAT_CLASS_ITEM)
        return cc_err_set_state(err, CC_INVALID, "42809", "\"%s\" cannot be moved to a schema",
                                o->name);
    if (sc->kind != CAT_KIND_SCHEMA)
        return cc_err_set_state(err, CC_INVALID, "42809", "\"%s\" is not a schema", sc->name);
    if (cat_ref_is_system(o->ref))
        return cc_err_set_state(err, CC_PERMISSION, "42501",
                                "cannot move %s \"%s\": it is required by the database system",
                                cat_kind_name(o->kind), o->name);
    if (sc->ref == o->parent)
        return CC_OK; /* PostgreSQL: nothing to do */
    const cat_object *from = cat_state_find(&t->work, o->parent);
    if (from == NULL || from->parent != sc->parent)
        return cc_err_set_state(err, CC_INVALID, "0A000",
                                "cannot move objects into or out of another database");

    moving mv = {.item = cat_object_ref(o), .err = err};
    const cat_object *before = mv.item; /* kept alive: the hook reads the old version */
    mv.rc = cat__refs_push(&mv.refs, o->ref, err);
    if (mv.rc == CC_OK && cat_state_walk_used_by(&t->work, o->ref, collect, &mv) != 0 &&
        mv.rc == CC_OK)
        mv.rc = cc_err_set(err, CC_NOMEM, "out of memory moving \"%s\"", o->name);
    cc_code rc = mv.rc;
    for (size_t i = 0; i < mv.refs.n && rc == CC_OK; i++)
        rc = check_free(t, cat_state_find(&t->work, mv.refs.v[i]), sc, err);
    for (size_t i = 0; i < mv.refs.n && rc == CC_OK; i++)
        rc = put_in_schema(t, mv.refs.v[i], sc->ref, err);
    if (rc == CC_OK)
        rc = cat__refs_push(&t->parents, sc->ref, err);
    if (rc == CC_OK)
        rc = rewrite_one(t, op, o->ref, before, err);
    for (size_t i = 0; i < mv.deps.n && rc == CC_OK; i++)
        rc = rewrite_one(t, op, mv.deps.v[i], before, err);
    if (rc == CC_OK)
        rc = cat__audit(t, AUDIT_ALTER, cat_state_find(&t->work, o->ref), err);
    cat__refs_fini(&mv.refs);
    cat__refs_fini(&mv.deps);
    cat_object_unref(before);
    return rc;
}

static cc_code
op_set_sql(cat_txn *t, const cat_op *op, cc_err *err)
{
    const cat_object *o = cat_state_find(&t->work, op->u.set_sql.ref);
    if (o == NULL)
        return cat__not_found(op->u.set_sql.ref, err);
    if (cat_ref_class(o->ref) != CAT_CLASS_ITEM)
        return cc_err_set_state(err, CC_INVALID, "42809", "\"%s\" has no stored statement",
                                o->name);
    if (cat_ref_is_system(o->ref))
        return cc_err_set_state(err, CC_PERMISSION, "42501",
                                "cannot alter %s \"%s\": it is required by the database system",
                                cat_kind_name(o->kind), o->name);
    const char *sql = op->u.set_sql.create_sql;
    if (sql == NULL || sql[0] == '\0')
        return cc_err_set(err, CC_INVALID, "altering \"%s\": create_sql is empty", o->name);
    size_t nchecks = op->u.set_sql.nchecks;
    if (nchecks > 0 && (op->u.set_sql.check_names == NULL || op->u.set_sql.check_exprs == NULL))
        return cc_err_set(err, CC_INVALID, "altering \"%s\": CHECK expressions are NULL", o->name);
    item_value *v;
    cc_code rc = cat_object_decode(o, (ProtobufCMessage **)&v, err);
    if (rc != CC_OK)
        return rc;
    /* Borrowed strings replace decoded ones; the originals are put back before the free. */
    char **saved = cc_malloc((v->n_constraints + 1) * sizeof *saved);
    if (saved == NULL) {
        protobuf_c_message_free_unpacked(&v->base, NULL);
        return cc_err_set(err, CC_NOMEM, "out of memory altering \"%s\"", o->name);
    }
    for (size_t i = 0; i < v->n_constraints; i++)
        saved[i] = v->constraints[i]->check_expr;
    for (size_t k = 0; k < nchecks && rc == CC_OK; k++) {
        const char *name = op->u.set_sql.check_names[k], *expr = op->u.set_sql.check_exprs[k];
        size_t i = 0;
        while (i < v->n_constraints && !(v->constraints[i]->kind == CHECK_KIND && name != NULL &&
                                         strcmp(v->constraints[i]->name, name) == 0))
            i++;
        if (i == v->n_constraints || expr == NULL || expr[0] == '\0')
            rc = cc_err_set_state(err, CC_NOT_FOUND, "42704",
                                  "constraint \"%s\" of relation \"%s\" does not exist",
                                  name ? name : "", o->name);
        else
            v->constraints[i]->check_expr = (char *)expr;
    }
    char *old_sql = v->create_sql;
    v->create_sql = (char *)sql;
    if (rc == CC_OK)
        rc = cat__put_object(t, o->ref, &v->base, &o, err);
    v->create_sql = old_sql;
    for (size_t i = 0; i < v->n_constraints; i++)
        v->constraints[i]->check_expr = saved[i];
    cc_free(saved);
    protobuf_c_message_free_unpacked(&v->base, NULL);
    if (rc == CC_OK)
        rc = cat__audit(t, AUDIT_ALTER, o, err);
    return rc;
}

cc_code
cat__op_move(cat_txn *t, const cat_op *op, cc_err *err)
{
    return op->kind == CAT_OP_SET_SCHEMA ? op_set_schema(t, op, err) : op_set_sql(t, op, err);
}
