/*
 * ddl/src/view_query.c — one query level of the view resolver (see
 * view_scope.h): WITH, set operations, VALUES, then a SELECT's clauses in
 * PostgreSQL's order (FROM, target list, WHERE, HAVING, ORDER BY, GROUP BY,
 * DISTINCT ON, OFFSET, LIMIT, window definitions), with SQL92's output-name
 * rules for ORDER BY / GROUP BY / DISTINCT ON.
 */
#include <stdio.h>
#include <string.h>

#include "view_scope.h"

/* --- target list, ORDER BY, GROUP BY ------------------------------------------------------- */

static cc_code
star_target(vplan *p, vlevel *lv, PgQuery__SelectStmt *s, size_t index, PgQuery__ColumnRef *cr,
            vcols *out, cc_err *err)
{
    vcols ex = {0};
    ex.complete = true;
    cc_code rc = CC_OK;
    if (cr->n_fields == 1) {
        bool any = false;
        for (size_t i = 0; i < lv->ns.n && rc == CC_OK; i++) {
            const vns *n = &lv->ns.v[i];
            if (!n->cols_visible || n->lateral_only)
                continue;
            any = true;
            rc = ddl__vcols_append(p, &ex, &n->rte->cols, true, err);
        }
        if (!any)
            return ddl__at(p->c, cr->location,
                           cc_err_set_state(err, CC_PARSE, "42601",
                                            "SELECT * with no tables specified is not valid"));
    } else {
        vref r;
        if ((rc = ddl__vcolref(p, lv, cr, NULL, &r, err)) != CC_OK)
            return rc;
        if (r.kind == VREF_WHOLEROW)
            rc = ddl__vcols_append(p, &ex, &r.via->cols, true, err);
        else
            ex.complete = false;
    }
    if (rc == CC_OK && p->visit != NULL && p->visit->star != NULL)
        rc = p->visit->star(p->visit->arg, p, s, index, &ex, lv, err);
    return rc == CC_OK ? ddl__vcols_append(p, out, &ex, true, err) : rc;
}

static cc_code
target_list(vplan *p, vlevel *lv, PgQuery__SelectStmt *s, vcols *out, cc_err *err)
{
    cc_code rc = CC_OK;
    for (size_t i = 0; i < s->n_target_list && rc == CC_OK; i++) {
        if (s->target_list[i]->node_case != PG_QUERY__NODE__NODE_RES_TARGET)
            continue;
        PgQuery__ResTarget *rt = s->target_list[i]->res_target;
        PgQuery__Node *val = rt->val;
        if (val != NULL && val->node_case == PG_QUERY__NODE__NODE_COLUMN_REF &&
            val->column_ref->n_fields > 0 &&
            val->column_ref->fields[val->column_ref->n_fields - 1]->node_case ==
                PG_QUERY__NODE__NODE_A_STAR) {
            rc = star_target(p, lv, s, i, val->column_ref, out, err);
            continue;
        }
        ddl_type t;
        bool known = false;
        if (val != NULL && val->node_case == PG_QUERY__NODE__NODE_COLUMN_REF) {
            vref r;
            rc = ddl__vcolref(p, lv, val->column_ref, rt, &r, err);
            if (rc == CC_OK && r.kind == VREF_COLUMN) {
                t = r.col->type;
                known = true;
            }
        } else {
            if ((rc = ddl__vexpr(p, lv, val, err)) == CC_OK)
                rc = ddl__vexpr_type(p, val, &t, &known, err);
        }
        /* Named after the visitor ran: a rewrite may have renamed the column and named the entry.
         */
        const char *name = rt->name && rt->name[0] ? rt->name : ddl__figure_colname(val);
        if (rc == CC_OK)
            rc = ddl__vcol_push(p, out, name ? name : "?column?", known ? &t : NULL, err);
    }
    return rc;
}

enum sortkind { SK_ORDER_BY, SK_GROUP_BY, SK_DISTINCT_ON };

static const char *
sortkind_name(enum sortkind k)
{
    return k == SK_ORDER_BY ? "ORDER BY" : k == SK_GROUP_BY ? "GROUP BY" : "DISTINCT ON";
}

/* findTargetlistEntrySQL92, then the expression as any other (SQL99). */
static cc_code
sort_item(vplan *p, vlevel *lv, PgQuery__Node *n, enum sortkind kind, cc_err *err)
{
    if (n == NULL)
        return CC_OK;
    if (n->node_case == PG_QUERY__NODE__NODE_GROUPING_SET) {
        cc_code rc = CC_OK;
        for (size_t i = 0; i < n->grouping_set->n_content && rc == CC_OK; i++)
            rc = sort_item(p, lv, n->grouping_set->content[i], kind, err);
        return rc;
    }
    const vcols *out = lv->out;
    if (n->node_case == PG_QUERY__NODE__NODE_COLUMN_REF && n->column_ref->n_fields == 1 &&
        ddl__str(n->column_ref->fields[0]) != NULL && out != NULL) {
        PgQuery__ColumnRef *cr = n->column_ref;
        const char *name = ddl__str(cr->fields[0]);
        if (kind == SK_GROUP_BY) {
            vref r;
            bool found;
            cc_code rc = ddl__vcolumn_lookup(p, lv, name, true, cr->location, &r, &found, err);
            if (rc != CC_OK)
                return rc;
            if (found)
                name = NULL;
        }
        const vcol *hit = NULL;
        for (size_t i = 0; name != NULL && i < out->n; i++) {
            if (strcmp(out->v[i].name, name) != 0)
                continue;
            if (hit != NULL &&
                (hit->src != out->v[i].src || hit->pos != out->v[i].pos || hit->src == NULL))
                return ddl__at(p->c, cr->location,
                               cc_err_set_state(err, CC_INVALID, "42702", "%s \"%s\" is ambiguous",
                                                sortkind_name(kind), name));
            if (hit == NULL)
                hit = &out->v[i];
        }
        if (hit != NULL) {
            vref r = {.kind = VREF_OUTPUT, .col = hit};
            return ddl__vreport(p, lv, cr, NULL, &r, err);
        }
    }
    if (n->node_case == PG_QUERY__NODE__NODE_A_CONST && out != NULL) {
        const PgQuery__AConst *k = n->a_const;
        if (k->isnull || k->val_case != PG_QUERY__A__CONST__VAL_IVAL)
            return ddl__at(p->c, k->location,
                           cc_err_set_state(err, CC_PARSE, "42601", "non-integer constant in %s",
                                            sortkind_name(kind)));
        int pos = k->ival->ival;
        if (pos < 1 || (out->complete && (size_t)pos > out->n))
            return ddl__at(p->c, k->location,
                           cc_err_set_state(err, CC_INVALID, "42P10",
                                            "%s position %d is not in select list",
                                            sortkind_name(kind), pos));
        return CC_OK;
    }
    return ddl__vexpr(p, lv, n, err);
}

static cc_code
sort_clause(vplan *p, vlevel *lv, PgQuery__Node **items, size_t n, cc_err *err)
{
    cc_code rc = CC_OK;
    for (size_t i = 0; i < n && rc == CC_OK; i++)
        rc = items[i]->node_case == PG_QUERY__NODE__NODE_SORT_BY
                 ? sort_item(p, lv, items[i]->sort_by->node, SK_ORDER_BY, err)
                 : ddl__vexpr(p, lv, items[i], err);
    return rc;
}

static cc_code
limits(vplan *p, vlevel *lv, PgQuery__SelectStmt *s, cc_err *err)
{
    lv->kind = EK_OFFSET;
    cc_code rc = ddl__vexpr(p, lv, s->limit_offset, err);
    lv->kind = EK_LIMIT;
    if (rc == CC_OK)
        rc = ddl__vexpr(p, lv, s->limit_count, err);
    lv->kind = EK_OTHER;
    return rc;
}

/* Window definitions: the WINDOW clause's, then those written in OVER (...), in order. */
static cc_code
windows(vplan *p, vlevel *lv, cc_err *err)
{
    cc_code rc = CC_OK;
    for (size_t i = 0; i < lv->nwin && rc == CC_OK; i++) {
        PgQuery__WindowDef *w = lv->win[i];
        for (size_t k = 0; k < w->n_partition_clause && rc == CC_OK; k++)
            rc = ddl__vexpr(p, lv, w->partition_clause[k], err);
        for (size_t k = 0; k < w->n_order_clause && rc == CC_OK; k++)
            rc = ddl__vexpr(p, lv, w->order_clause[k], err);
        if (rc == CC_OK)
            rc = ddl__vexpr(p, lv, w->start_offset, err);
        if (rc == CC_OK)
            rc = ddl__vexpr(p, lv, w->end_offset, err);
    }
    return rc;
}

/* --- queries -------------------------------------------------------------------------------- */

static bool
is_setop(const PgQuery__SelectStmt *s)
{
    return s->op != PG_QUERY__SET_OPERATION__SETOP_NONE &&
           s->op != PG_QUERY__SET_OPERATION__SET_OPERATION_UNDEFINED;
}

/* transformSetOperationTree: the leaves ("*SELECT* n" in the level's range table). */
static cc_code
setop_tree(vplan *p, vlevel *parent, vlevel *lv, PgQuery__SelectStmt *s, bool top, vcols *out,
           cc_err *err)
{
    bool leaf = !is_setop(s) || (!top && (s->n_sort_clause > 0 || s->limit_count != NULL ||
                                          s->limit_offset != NULL || s->with_clause != NULL));
    if (!leaf) {
        vcols r;
        cc_code rc = CC_OK;
        if (s->larg != NULL)
            rc = setop_tree(p, parent, lv, s->larg, false, out, err);
        if (rc == CC_OK && s->rarg != NULL)
            rc = setop_tree(p, parent, lv, s->rarg, false, &r, err);
        return rc;
    }
    cc_code rc = ddl__vquery(p, parent, s, out, err);
    char name[32];
    snprintf(name, sizeof name, "*SELECT* %zu", lv->nrt + 1);
    const char *nm = rc == CC_OK ? ddl__pool_strdup(&p->pool, name) : NULL;
    vrte *r = nm != NULL ? ddl__vrte_new(p, lv, VRTE_SUBQUERY, nm) : NULL;
    if (rc == CC_OK && r == NULL)
        rc = ddl__vnomem(err);
    if (rc == CC_OK)
        rc = ddl__vas_item_cols(p, out, &r->cols, err);
    return rc;
}

/* The columns of a VALUES list (column1, ...). */
static cc_code
values(vplan *p, vlevel *lv, PgQuery__SelectStmt *s, vcols *out, cc_err *err)
{
    cc_code rc = CC_OK;
    for (size_t k = 0; k < s->n_values_lists && rc == CC_OK; k++)
        rc = ddl__vexpr(p, lv, s->values_lists[k], err);
    const PgQuery__Node *l = s->values_lists[0];
    size_t n = l->node_case == PG_QUERY__NODE__NODE_LIST ? l->list->n_items : 0;
    for (size_t i = 0; i < n && rc == CC_OK; i++) {
        char buf[32];
        snprintf(buf, sizeof buf, "column%zu", i + 1);
        const char *nm = ddl__pool_strdup(&p->pool, buf);
        ddl_type t;
        bool known = false;
        if (nm == NULL)
            rc = ddl__vnomem(err);
        else if ((rc = ddl__vexpr_type(p, l->list->items[i], &t, &known, err)) == CC_OK)
            rc = ddl__vcol_push(p, out, nm, known ? &t : NULL, err);
    }
    return rc;
}

/* WITH: the CTEs in scope for the statement; non-recursive ones derived in order. */
static cc_code
with_clause(vplan *p, vlevel *scope, PgQuery__WithClause *wc, cc_err *err)
{
    size_t first = p->nctes;
    for (size_t i = 0; i < wc->n_ctes; i++) {
        if (wc->ctes[i]->node_case != PG_QUERY__NODE__NODE_COMMON_TABLE_EXPR)
            continue;
        PgQuery__CommonTableExpr *cte = wc->ctes[i]->common_table_expr;
        if (cte->ctequery == NULL || cte->ctequery->node_case != PG_QUERY__NODE__NODE_SELECT_STMT)
            return ddl__at(p->c, cte->location,
                           cc_err_set_state(err, CC_PARSE, "0A000",
                                            "views must not contain data-modifying statements "
                                            "in WITH"));
        if (!ddl__vgrow((void **)&p->ctes, &p->capctes, p->nctes, sizeof *p->ctes))
            return ddl__vnomem(err);
        p->ctes[p->nctes++] = (vcte){.cte = cte, .recursive = wc->recursive, .scope = scope};
    }
    cc_code rc = CC_OK;
    /* A recursive WITH may name a later CTE: derive each on first use or here, in order. */
    for (size_t i = first; i < p->nctes && rc == CC_OK; i++)
        rc = ddl__vcte_derive(p, i, scope, err);
    return rc;
}

cc_code
ddl__vquery(vplan *p, vlevel *parent, PgQuery__SelectStmt *s, vcols *out, cc_err *err)
{
    size_t mark = p->nctes;
    cc_code rc = CC_OK;
    memset(out, 0, sizeof *out);
    out->complete = true;
    vlevel lv = {.parent = parent};
    vlevel scope = {.parent = parent}; /* what a CTE body sees: not this level's FROM */
    if (s->with_clause != NULL)
        rc = with_clause(p, &scope, s->with_clause, err);
    if (rc != CC_OK) {
        /* nothing */
    } else if (is_setop(s)) {
        rc = setop_tree(p, parent, &lv, s, true, out, err);
        vrte *r = rc == CC_OK ? ddl__vrte_new(p, &lv, VRTE_OUTPUT, "*SELECT*") : NULL;
        if (rc == CC_OK && r == NULL)
            rc = ddl__vnomem(err);
        if (rc == CC_OK && (rc = ddl__vas_item_cols(p, out, &r->cols, err)) == CC_OK &&
            (rc = ddl__vns_push(&lv.ns, r, false, true, err)) == CC_OK) {
            lv.out = out;
            rc = sort_clause(p, &lv, s->sort_clause, s->n_sort_clause, err);
        }
        if (rc == CC_OK)
            rc = limits(p, &lv, s, err);
    } else if (s->n_values_lists > 0) {
        rc = values(p, &lv, s, out, err);
        lv.out = out;
        if (rc == CC_OK)
            rc = sort_clause(p, &lv, s->sort_clause, s->n_sort_clause, err);
        if (rc == CC_OK)
            rc = limits(p, &lv, s, err);
    } else {
        for (size_t i = 0; i < s->n_window_clause && rc == CC_OK; i++)
            if (s->window_clause[i]->node_case == PG_QUERY__NODE__NODE_WINDOW_DEF)
                rc = ddl__vdefer_window(&lv, s->window_clause[i]->window_def, err);
        if (rc == CC_OK)
            rc = ddl__vfrom_clause(p, &lv, s, err);
        if (rc == CC_OK)
            rc = target_list(p, &lv, s, out, err);
        lv.out = out;
        if (rc == CC_OK)
            rc = ddl__vexpr(p, &lv, s->where_clause, err);
        if (rc == CC_OK)
            rc = ddl__vexpr(p, &lv, s->having_clause, err);
        if (rc == CC_OK)
            rc = sort_clause(p, &lv, s->sort_clause, s->n_sort_clause, err);
        for (size_t i = 0; i < s->n_group_clause && rc == CC_OK; i++)
            rc = sort_item(p, &lv, s->group_clause[i], SK_GROUP_BY, err);
        for (size_t i = 0; i < s->n_distinct_clause && rc == CC_OK; i++)
            rc = sort_item(p, &lv, s->distinct_clause[i], SK_DISTINCT_ON, err);
        if (rc == CC_OK)
            rc = limits(p, &lv, s, err);
        if (rc == CC_OK)
            rc = windows(p, &lv, err);
    }
    ddl__vlevel_fini(&lv);
    ddl__vlevel_fini(&scope);
    p->nctes = mark;
    return rc;
}

cc_code
ddl__vscope_query(vplan *p, PgQuery__SelectStmt *s, vcols *out, cc_err *err)
{
    return ddl__vquery(p, NULL, s, out, err);
}