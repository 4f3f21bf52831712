/*
 * ddl/src/view.c — CREATE [OR REPLACE] VIEW and CREATE MATERIALIZED VIEW: what a query
 * reads (its dependencies, found with ddl__walk of rewrite.c) and what it
 * returns (its output columns, named by PostgreSQL's FigureColname).
 *
 * Dependencies: every RangeVar anywhere in the query (FROM items, joins,
 * subqueries in FROM / WHERE / the target list, set operations, CTE
 * bodies) except the names of CTEs in scope, resolved along search_path;
 * a missing one fails with 42P01 at its position. User types named in
 * casts are dependencies too.
 *
 * Output columns and every column the query reads are bound by the view
 * resolver (view_scope.h: view_scope.c, view_colref.c, view_query.c) the
 * way PostgreSQL's analysis binds them: plain column references copy the
 * referenced column's type, `*` and `t.*` expand (JOIN ... USING / NATURAL
 * merge their common columns), constants and casts carry their types,
 * anything else is "unknown"; a missing or ambiguous column anywhere in the
 * query (target list, WHERE, JOIN ... ON, GROUP BY, HAVING, ORDER BY,
 * window definitions, function arguments, subqueries with their outer
 * references) fails as in PostgreSQL (42703, 42702, 42P01), with its
 * position and PostgreSQL's hints.
 */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "view_scope.h"

/* --- FigureColname ----------------------------------------------------------------------- */

/* PostgreSQL's FigureColnameInternal: 0 no name, 1 a type's name, 2 a good name. */
static int
figure(const PgQuery__Node *n, const char **name)
{
    if (n == NULL)
        return 0;
    switch (n->node_case) {
    case PG_QUERY__NODE__NODE_COLUMN_REF: {
        const PgQuery__ColumnRef *cr = n->column_ref;
        for (size_t i = cr->n_fields; i-- > 0;)
            if (ddl__str(cr->fields[i]) != NULL) {
                *name = ddl__str(cr->fields[i]);
                return 2;
            }
        return 0;
    }
    case PG_QUERY__NODE__NODE_A_INDIRECTION: {
        const PgQuery__AIndirection *ai = n->a_indirection;
        for (size_t i = ai->n_indirection; i-- > 0;)
            if (ddl__str(ai->indirection[i]) != NULL) {
                *name = ddl__str(ai->indirection[i]);
                return 2;
            }
        return figure(ai->arg, name);
    }
    case PG_QUERY__NODE__NODE_FUNC_CALL:
        if (n->func_call->n_funcname > 0 &&
            ddl__str(n->func_call->funcname[n->func_call->n_funcname - 1]) != NULL) {
            *name = ddl__str(n->func_call->funcname[n->func_call->n_funcname - 1]);
            return 2;
        }
        return 0;
    case PG_QUERY__NODE__NODE_A_EXPR:
        if (n->a_expr->kind == PG_QUERY__A__EXPR__KIND__AEXPR_NULLIF) {
            *name = "nullif";
            return 2;
        }
        return 0;
    case PG_QUERY__NODE__NODE_TYPE_CAST: {
        int s = figure(n->type_cast->arg, name);
        const PgQuery__TypeName *tn = n->type_cast->type_name;
        if (s <= 1 && tn != NULL && tn->n_names > 0) {
            *name = ddl__str(tn->names[tn->n_names - 1]);
            return 1;
        }
        return s;
    }
    case PG_QUERY__NODE__NODE_COLLATE_CLAUSE:
        return figure(n->collate_clause->arg, name);
    case PG_QUERY__NODE__NODE_GROUPING_FUNC:
        *name = "grouping";
        return 2;
    case PG_QUERY__NODE__NODE_SUB_LINK: {
        const PgQuery__SubLink *sl = n->sub_link;
        if (sl->sub_link_type == PG_QUERY__SUB_LINK_TYPE__EXISTS_SUBLINK) {
            *name = "exists";
            return 2;
        }
        if (sl->sub_link_type == PG_QUERY__SUB_LINK_TYPE__ARRAY_SUBLINK) {
            *name = "array";
            return 2;
        }
        if (sl->sub_link_type == PG_QUERY__SUB_LINK_TYPE__EXPR_SUBLINK && sl->subselect != NULL &&
            sl->subselect->node_case == PG_QUERY__NODE__NODE_SELECT_STMT &&
            sl->subselect->select_stmt->n_target_list > 0 &&
            sl->subselect->select_stmt->target_list[0]->node_case ==
                PG_QUERY__NODE__NODE_RES_TARGET) {
            const PgQuery__ResTarget *rt = sl->subselect->select_stmt->target_list[0]->res_target;
            if (rt->name != NULL && rt->name[0])
                *name = rt->name;
            else if (figure(rt->val, name) == 0)
                *name = "?column?";
            return 2;
        }
        return 0;
    }
    case PG_QUERY__NODE__NODE_CASE_EXPR: {
        int s = figure(n->case_expr->defresult, name);
        if (s <= 1) {
            *name = "case";
            s = 1;
        }
        return s;
    }
    case PG_QUERY__NODE__NODE_A_ARRAY_EXPR:
        *name = "array";
        return 2;
    case PG_QUERY__NODE__NODE_ROW_EXPR:
        *name = "row";
        return 2;
    case PG_QUERY__NODE__NODE_COALESCE_EXPR:
        *name = "coalesce";
        return 2;
    case PG_QUERY__NODE__NODE_MIN_MAX_EXPR:
        *name = n->min_max_expr->op == PG_QUERY__MIN_MAX_OP__IS_GREATEST ? "greatest" : "least";
        return 2;
    case PG_QUERY__NODE__NODE_SQLVALUE_FUNCTION: {
        static const char *const names[] = {NULL,
                                            "current_date",
                                            "current_time",
                                            "current_time",
                                            "current_timestamp",
                                            "current_timestamp",
                                            "localtime",
                                            "localtime",
                                            "localtimestamp",
                                            "localtimestamp",
                                            "current_role",
                                            "current_user",
                                            "user",
                                            "session_user",
                                            "current_catalog",
                                            "current_schema"};
        int op = n->sqlvalue_function->op;
        if (op > 0 && op < (int)(sizeof names / sizeof names[0])) {
            *name = names[op];
            return 2;
        }
        return 0;
    }
    default:
        return 0;
    }
}

const char *
ddl__figure_colname(const PgQuery__Node *n)
{
    const char *name = NULL;
    return figure(n, &name) > 0 ? name : NULL;
}


/* --- dependencies ------------------------------------------------------------------------- */

typedef struct deps_arg {
    vplan *p;
    cc_err *err;
    cc_code rc;
} deps_arg;

static int
dep_node(void *arg, ddl_walk *w, ProtobufCMessage *node)
{
    deps_arg *a = arg;
    vplan *p = a->p;
    if (node->descriptor == &pg_query__range_var__descriptor) {
        const PgQuery__RangeVar *rv = (const PgQuery__RangeVar *)node;
        if (ddl__walk_is_cte(w, rv))
            return 0;
        ddl_qname q = ddl__qname_rv(rv);
        const cat_object *o;
        if ((a->rc = ddl__get_relation(p->c, &q, &o, a->err)) == CC_OK)
            a->rc = ddl__vplan_use(p, o->ref, a->err);
        return a->rc != CC_OK;
    }
    if (node->descriptor == &pg_query__type_name__descriptor) {
        const PgQuery__TypeName *tn = (const PgQuery__TypeName *)node;
        ddl_qname q;
        if ((a->rc = ddl__qname_list(p->c, tn->names, tn->n_names, tn->location, &q, a->err)) !=
            CC_OK)
            return 1;
        if ((q.schema == NULL || strcmp(q.schema, "pg_catalog") == 0) &&
            ddl__type_is_builtin(q.name))
            return 0;
        const cat_object *t;
        if ((a->rc = ddl__find_type(p->c, &q, &t, a->err)) != CC_OK)
            return 1;
        if (t == NULL) {
            char b[3 * DDL_NAME_MAX + 4];
            a->rc = ddl__at(p->c, tn->location,
                            cc_err_set_state(a->err, CC_NOT_FOUND, "42704",
                                             "type \"%s\" does not exist",
                                             ddl__qname_str(&q, b, sizeof b)));
            return 1;
        }
        a->rc = ddl__vplan_use(p, t->ref, a->err);
        return a->rc != CC_OK;
    }
    return 0;
}

/* --- the statements ------------------------------------------------------------------------- */

/* Plans and applies a view or materialized view (kind) named rv over query. */
static cc_code
create_viewlike(vplan *p, cat_kind kind, const PgQuery__RangeVar *rv, PgQuery__Node **aliases,
                size_t naliases, const PgQuery__Node *query, bool replace, cc_err *err)
{
    ddl_ctx *c = p->c;
    const char *what = kind == CAT_KIND_VIEW ? "VIEW" : "MATERIALIZED VIEW";
    if (query == NULL || query->node_case != PG_QUERY__NODE__NODE_SELECT_STMT)
        return ddl__at(c, rv->location,
                       cc_err_set_state(err, CC_PARSE, "0A000",
                                        "feature not supported: CREATE %s over a non-SELECT query",
                                        what));
    const PgQuery__SelectStmt *sel = query->select_stmt;
    if (sel->into_clause != NULL)
        return cc_err_set_state(err, CC_PARSE, "0A000", "%s must not contain SELECT INTO",
                                kind == CAT_KIND_VIEW ? "views" : "materialized views");
    vcols cols;
    cc_code rc = ddl__vscope_query(p, (PgQuery__SelectStmt *)sel, &cols, err);
    if (rc != CC_OK)
        return rc;
    deps_arg da = {p, err, CC_OK};
    if (ddl__walk((ProtobufCMessage *)&query->base, dep_node, &da) != 0)
        return da.rc != CC_OK ? da.rc : ddl__vnomem(err);
    if (naliases > cols.n)
        return cc_err_set_state(err, CC_PARSE, "42601",
                                "CREATE %s specifies more column names than columns", what);
    ddl__vcols_alias(&cols, aliases, naliases);

    ddl_qname q = ddl__qname_rv(rv);
    if ((rc = ddl__check_same_database(c, &q, err)) != CC_OK)
        return rc;
    if (q.schema != NULL && strcmp(q.schema, "pg_catalog") == 0)
        return ddl__system_catalog(c, &q, err);
    /* PostgreSQL reports no position for a view's schema (no parse state then). */
    q.location = -1;
    const cat_object *schema;
    if ((rc = ddl__creation_schema(c, &q, &schema, err)) != CC_OK)
        return rc;
    if ((rc = ddl__check_create(c, schema, err)) != CC_OK)
        return rc;
    const cat_object *old = cat_state_find_relation(c->st, schema->ref, q.name);
    /* Replacing: the columns are checked against the old ones (ddl__replace_view). */
    for (size_t i = 0; i < cols.n && !(old != NULL && replace); i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(cols.v[i].name, cols.v[j].name) == 0)
                return cc_err_set_state(err, CC_EXISTS, "42701",
                                        "column \"%s\" specified more than once", cols.v[i].name);
    if (old != NULL && replace && old->kind != CAT_KIND_VIEW)
        return cc_err_set_state(err, CC_INVALID, "42809", "\"%s\" is not a view", q.name);
    if (old != NULL && !replace)
        return cc_err_set_state(err, CC_EXISTS, "42P07", "relation \"%s\" already exists", q.name);
    if (old == NULL && cat_state_find_type(c->st, schema->ref, q.name) != NULL) {
        cc_err_set_state(err, CC_EXISTS, "42710", "type \"%s\" already exists", q.name);
        return cc_err_hint(err, "A relation has an associated type of the same name, so you must "
                                "use a name that doesn't conflict with any existing type.");
    }

    Cowcat__Catalog__Column *mc = ddl__pool_alloc(&p->pool, (cols.n + 1) * sizeof *mc);
    Cowcat__Catalog__Column **mp = ddl__pool_alloc(&p->pool, (cols.n + 1) * sizeof *mp);
    Cowcat__Catalog__CatalogId *ids = ddl__pool_alloc(&p->pool, (cols.n + 1) * sizeof *ids);
    if (mc == NULL || mp == NULL || ids == NULL)
        return ddl__vnomem(err);
    for (size_t i = 0; i < cols.n; i++) {
        Cowcat__Catalog__Column col = COWCAT__CATALOG__COLUMN__INIT;
        col.name = (char *)cols.v[i].name;
        col.type_name = cols.v[i].type.name;
        col.typmod = cols.v[i].type.typmod;
        col.nullable = true;
        if (cols.v[i].type.ref != 0) {
            Cowcat__Catalog__CatalogId id = COWCAT__CATALOG__CATALOG_ID__INIT;
            id.system = cat_ref_is_system(cols.v[i].type.ref);
            id.value = cat_ref_value(cols.v[i].type.ref);
            ids[i] = id;
            col.type_ref_opt_case = COWCAT__CATALOG__COLUMN__TYPE_REF_OPT_TYPE_REF;
            col.type_ref = &ids[i];
        }
        mc[i] = col;
        mp[i] = &mc[i];
    }
    char *sql;
    if ((rc = ddl__create_sql(c, &sql, err)) != CC_OK)
        return rc;
    if (old != NULL) {
        rc = ddl__replace_view(c, old, sql, mp, cols.n, p->uses, p->nuses, err);
        cc_free(sql);
        return rc;
    }
    cat_op op = {.kind = CAT_OP_CREATE_ITEM};
    op.u.create_item.kind = kind;
    op.u.create_item.schema = schema->ref;
    op.u.create_item.name = q.name;
    op.u.create_item.create_sql = sql;
    op.u.create_item.owner = c->role;
    op.u.create_item.ncolumns = cols.n;
    op.u.create_item.columns = mp;
    op.u.create_item.nuses = p->nuses;
    op.u.create_item.uses = p->uses;
    rc = ddl__apply(c, &op, NULL, err);
    cc_free(sql);
    return rc;
}

cc_code
ddl__create_view(ddl_ctx *c, const PgQuery__ViewStmt *s, cc_err *err)
{
    const char *rp = s->view->relpersistence;
    if (rp != NULL && rp[0] == 't')
        return ddl__at(
            c, s->view->location,
            cc_err_set_state(err, CC_PARSE, "0A000", "feature not supported: temporary views"));
    vplan p = {.c = c};
    cc_code rc = create_viewlike(&p, CAT_KIND_VIEW, s->view, s->aliases, s->n_aliases, s->query,
                                 s->replace, err);
    ddl__vplan_fini(&p);
    if (rc == CC_OK)
        snprintf(c->tag, sizeof c->tag, "CREATE VIEW");
    return rc;
}

cc_code
ddl__create_matview(ddl_ctx *c, const PgQuery__CreateTableAsStmt *s, cc_err *err)
{
    if (s->objtype != PG_QUERY__OBJECT_TYPE__OBJECT_MATVIEW || s->into == NULL ||
        s->into->rel == NULL)
        return cc_err_set_state(err, CC_PARSE, "0A000", "feature not supported: %s",
                                s->is_select_into ? "SELECT INTO" : "CREATE TABLE AS");
    const PgQuery__RangeVar *rv = s->into->rel;
    const char *rp = rv->relpersistence;
    if (rp != NULL && rp[0] == 'u')
        return ddl__at(
            c, rv->location,
            cc_err_set_state(err, CC_PARSE, "0A000", "materialized views cannot be unlogged"));
    if (rp != NULL && rp[0] == 't')
        return ddl__at(c, rv->location,
                       cc_err_set_state(err, CC_PARSE, "0A000",
                                        "feature not supported: temporary materialized views"));
    if (s->into->access_method != NULL && s->into->access_method[0])
        return ddl__at(c, rv->location,
                       cc_err_set_state(err, CC_PARSE, "0A000",
                                        "feature not supported: table access methods"));
    /* PostgreSQL checks existence before analysing the query. */
    ddl_qname q = ddl__qname_rv(rv);
    const cat_object *schema, *old = NULL;
    cc_code rc = ddl__creation_schema(c, &q, &schema, err);
    if (rc != CC_OK)
        return rc;
    old = cat_state_find_relation(c->st, schema->ref, q.name);
    if (old != NULL && s->if_not_exists) {
        ddl__notice(c, "42P07", "relation \"%s\" already exists, skipping", q.name);
        snprintf(c->tag, sizeof c->tag, "CREATE MATERIALIZED VIEW");
        return CC_OK;
    }
    if (old != NULL)
        return cc_err_set_state(err, CC_EXISTS, "42P07", "relation \"%s\" already exists", q.name);
    vplan p = {.c = c};
    rc = create_viewlike(&p, CAT_KIND_MATERIALIZED_VIEW, rv, s->into->col_names,
                         s->into->n_col_names, s->query, false, err);
    ddl__vplan_fini(&p);
    /* PostgreSQL's tag: rows stored (none: cowcat keeps no data), unless WITH NO DATA. */
    if (rc == CC_OK)
        snprintf(c->tag, sizeof c->tag, "%s",
                 s->into->skip_data ? "CREATE MATERIALIZED VIEW" : "SELECT 0");
    return rc;
}
