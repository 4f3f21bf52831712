/*
 * ddl/src/view_replace.c — CREATE OR REPLACE VIEW over an existing view.
 *
 * PostgreSQL's order of checks: the new query keeps every old column in its
 * position with its name and type, new ones only follow (checkViewTupleDesc);
 * then only the owner (or a superuser) may replace it; then the new columns
 * are added as by ALTER TABLE ADD COLUMN (a duplicate name fails there).
 * The view is rewritten in place (CAT_OP_REPLACE_ITEM): its OID,
 * privileges, comments and dependents stay. A dependent view names it by
 * name, so its create_sql changes only where a `*` over the view would now
 * take the added columns too (spelled out, view_rewrite.c) or an added
 * column would capture one of its names.
 */
#include <string.h>

#include "base/alloc.h"
#include "base/assert.h"
#include "internal.h"

#define TYPE_REF COWCAT__CATALOG__COLUMN__TYPE_REF_OPT_TYPE_REF

static cat_ref
type_ref(const Cowcat__Catalog__Column *col)
{
    return col->type_ref_opt_case == TYPE_REF ? cat_ref_from_id(CAT_CLASS_ITEM, col->type_ref) : 0;
}

static bool
is_array(const char *type_name)
{
    size_t n = strlen(type_name);
    return n >= 2 && strcmp(type_name + n - 2, "[]") == 0;
}

/*
 * Same type and typmod (PostgreSQL compares atttypid and atttypmod). A user
 * type is compared by ref, not by its stored name, which a rename of the
 * type leaves behind.
 */
static bool
same_type(const Cowcat__Catalog__Column *a, const Cowcat__Catalog__Column *b)
{
    const char *an = a->type_name ? a->type_name : "", *bn = b->type_name ? b->type_name : "";
    cat_ref ra = type_ref(a), rb = type_ref(b);
    if (a->typmod != b->typmod || ra != rb)
        return false;
    return ra != 0 ? is_array(an) == is_array(bn) : strcmp(an, bn) == 0;
}

/* The views and materialized views that read a view (refs, collected before any change). */
static int
dep_view(void *arg, const cat_object *o)
{
    if (o->kind != CAT_KIND_VIEW && o->kind != CAT_KIND_MATERIALIZED_VIEW)
        return 0;
    return ddl__refs_push(arg, o->ref) ? 0 : 1;
}

/* checkViewTupleDesc: the old columns old[0..nold) against the new cols[0..n). */
static cc_code
check_compatible(Cowcat__Catalog__Column *const *old, size_t nold,
                 Cowcat__Catalog__Column *const *cols, size_t n, cc_err *err)
{
    if (n < nold)
        return cc_err_set_state(err, CC_INVALID, "42P16", "cannot drop columns from view");
    for (size_t i = 0; i < nold; i++) {
        if (strcmp(old[i]->name, cols[i]->name) != 0) {
            cc_err_set_state(err, CC_INVALID, "42P16",
                             "cannot change name of view column \"%s\" to \"%s\"", old[i]->name,
                             cols[i]->name);
            return cc_err_hint(err, "Use ALTER VIEW ... RENAME COLUMN ... to change name of view "
                                    "column instead.");
        }
        if (!same_type(old[i], cols[i])) {
            char a[2 * DDL_NAME_MAX + 32], b[2 * DDL_NAME_MAX + 32];
            return cc_err_set_state(err, CC_INVALID, "42P16",
                                    "cannot change data type of view column \"%s\" from %s to %s",
                                    old[i]->name, ddl__format_type(old[i], a, sizeof a),
                                    ddl__format_type(cols[i], b, sizeof b));
        }
    }
    return CC_OK;
}

cc_code
ddl__replace_view(ddl_ctx *c, const cat_object *view, const char *create_sql,
                  Cowcat__Catalog__Column *const *cols, size_t ncols, const cat_ref *uses,
                  size_t nuses, cc_err *err)
{
    CC_ASSERT(view->kind == CAT_KIND_VIEW);
    ProtobufCMessage *m;
    cc_code rc = cat_object_decode(view, &m, err);
    if (rc != CC_OK)
        return rc;
    const Cowcat__Catalog__ItemValue *v = (const Cowcat__Catalog__ItemValue *)m;
    size_t nold = v->n_columns;
    rc = check_compatible(v->columns, v->n_columns, cols, ncols, err);
    protobuf_c_message_free_unpacked(m, NULL);
    /* Then ownership (ALTER TABLE's check before adding the new columns). */
    if (rc == CC_OK)
        rc = ddl__check_owner(c, view, err);
    if (rc != CC_OK)
        return rc;
    /* New columns are added as by ALTER TABLE ADD COLUMN, one after the other. */
    for (size_t i = nold; i < ncols; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(cols[i]->name, cols[j]->name) == 0)
                return cc_err_set_state(err, CC_EXISTS, "42701",
                                        "column \"%s\" of relation \"%s\" already exists",
                                        cols[i]->name, view->name);
    /* Views over this one keep their columns: a `*` over it is spelled out. */
    ddl_refs d = {0};
    if (ncols > nold)
        cat_state_walk_used_by(c->st, view->ref, dep_view, &d);
    rc = d.nomem ? cc_err_set(err, CC_NOMEM, "out of memory replacing a view") : CC_OK;
    const char **added = ncols > nold ? cc_calloc(ncols - nold, sizeof *added) : NULL;
    char **sqls = d.n > 0 ? cc_calloc(d.n, sizeof *sqls) : NULL;
    if (rc == CC_OK && ((ncols > nold && added == NULL) || (d.n > 0 && sqls == NULL)))
        rc = cc_err_set(err, CC_NOMEM, "out of memory replacing a view");
    for (size_t i = nold; rc == CC_OK && i < ncols; i++)
        added[i - nold] = cols[i]->name;
    for (size_t i = 0; rc == CC_OK && i < d.n; i++)
        rc = ddl__view_sql_added(c, cat_state_find(c->st, d.v[i]), view, added, ncols - nold,
                                 &sqls[i], err);
    cat_op op = {.kind = CAT_OP_REPLACE_ITEM};
    op.u.replace_item.ref = view->ref;
    op.u.replace_item.create_sql = create_sql;
    op.u.replace_item.ncolumns = ncols;
    op.u.replace_item.columns = cols;
    op.u.replace_item.nuses = nuses;
    op.u.replace_item.uses = uses;
    if (rc == CC_OK)
        rc = ddl__apply(c, &op, NULL, err);
    for (size_t i = 0; rc == CC_OK && i < d.n; i++)
        if (sqls[i] != NULL)
            rc = ddl__set_sql(c, d.v[i], sqls[i], NULL, err);
    for (size_t i = 0; sqls != NULL && i < d.n; i++)
        cc_free(sqls[i]);
    cc_free(sqls);
    cc_free(added);
    cc_free(d.v);
    return rc;
}
