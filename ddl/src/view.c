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
 * Output columns are derived the way PostgreSQL's analysis names them:
 * plain column references copy the referenced column's type, `*` and
 * `t.*` expand (JOIN ... USING / NATURAL merge their common columns),
 * constants and casts carry their types, anything else is "unknown". Where
 * every FROM item's columns are known, a missing or ambiguous column fails
 * as in PostgreSQL (42703, 42702, 42P01 missing FROM-clause entry).
 */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "internal.h"

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

/* --- output columns ------------------------------------------------------------------------- */

typedef struct vcol {
    const char *name; /* borrowed: the parse tree, a decoded value or the plan's pool */
    ddl_type type;    /* name "unknown" when not determined */
} vcol;

typedef struct vcols {
    vcol *v;
    size_t n, cap;
    bool complete; /* every column of the item is known (a missing name is an error) */
} vcols;

/* A FROM item visible by name (t.a, t.*). */
typedef struct ventry {
    const char *alias;
    vcols cols;
} ventry;

typedef struct vcte {
    PgQuery__CommonTableExpr *cte;
    bool recursive;
    int state;  /* 0 not derived, 1 deriving, 2 derived */
    int hidden; /* > 0: out of scope while an earlier CTE's body is derived */
    vcols cols;
} vcte;

typedef struct vplan {
    ddl_ctx *c;
    ddl_pool pool;
    vcte *ctes;
    size_t nctes, capctes;
    cat_ref *uses;
    size_t nuses, capuses;
    ProtobufCMessage **decoded;
    size_t ndecoded, capdecoded;
} vplan;

static cc_code
nomem(cc_err *err)
{
    return cc_err_set(err, CC_NOMEM, "out of memory planning a view");
}

static bool
grow(void **v, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return true;
    size_t nc = *cap ? 2 * *cap : 8;
    void *nv = cc_realloc(*v, nc * elem);
    if (nv == NULL)
        return false;
    *v = nv;
    *cap = nc;
    return true;
}

static cc_code
add_use(vplan *p, cat_ref r, cc_err *err)
{
    for (size_t i = 0; i < p->nuses; i++)
        if (p->uses[i] == r)
            return CC_OK;
    if (!grow((void **)&p->uses, &p->capuses, p->nuses, sizeof *p->uses))
        return nomem(err);
    p->uses[p->nuses++] = r;
    return CC_OK;
}

static cc_code
col_push(vplan *p, vcols *cs, const char *name, const ddl_type *t, cc_err *err)
{
    if (cs->n == cs->cap) {
        size_t cap = cs->cap ? 2 * cs->cap : 8;
        vcol *v = ddl__pool_alloc(&p->pool, cap * sizeof *v);
        if (v == NULL)
            return nomem(err);
        if (cs->n)
            memcpy(v, cs->v, cs->n * sizeof *v);
        cs->v = v;
        cs->cap = cap;
    }
    vcol *c = &cs->v[cs->n++];
    c->name = name;
    if (t != NULL) {
        c->type = *t;
    } else {
        memset(&c->type, 0, sizeof c->type);
        snprintf(c->type.name, sizeof c->type.name, "unknown");
        c->type.typmod = -1;
    }
    return CC_OK;
}

static cc_code
cols_append(vplan *p, vcols *to, const vcols *from, cc_err *err)
{
    for (size_t i = 0; i < from->n; i++) {
        cc_code rc = col_push(p, to, from->v[i].name, &from->v[i].type, err);
        if (rc != CC_OK)
            return rc;
    }
    return CC_OK;
}

static const vcol *
col_find(const vcols *cs, const char *name, size_t *count)
{
    const vcol *hit = NULL;
    for (size_t i = 0; i < cs->n; i++)
        if (strcmp(cs->v[i].name, name) == 0) {
            if (hit == NULL)
                hit = &cs->v[i];
            (*count)++;
        }
    return hit;
}

/* Renames the first columns after an alias' column list. */
static void
apply_aliases(vcols *cs, PgQuery__Node **names, size_t n)
{
    for (size_t i = 0; i < n && i < cs->n; i++)
        if (ddl__str(names[i]) != NULL)
            cs->v[i].name = ddl__str(names[i]);
}

/* The relation rv names (registered as a use). Errors: 42P01 with position, 42809. */
static cc_code
resolve_relation(vplan *p, const PgQuery__RangeVar *rv, const cat_object **out, cc_err *err)
{
    ddl_qname q = ddl__qname_rv(rv);
    cc_code rc = ddl__get_relation(p->c, &q, out, err);
    if (rc != CC_OK)
        return rc;
    if ((*out)->kind == CAT_KIND_INDEX)
        return ddl__at(
            p->c, rv->location,
            cc_err_set_state(err, CC_INVALID, "42809", "\"%s\" is an index", (*out)->name));
    return add_use(p, (*out)->ref, err);
}

static cc_code derive(vplan *p, const PgQuery__SelectStmt *s, bool lateral, vcols *out,
                      cc_err *err);

/* The columns of a relation (its decoded value is kept until the plan ends). */
static cc_code
relation_cols(vplan *p, const cat_object *o, vcols *out, cc_err *err)
{
    ProtobufCMessage *m;
    cc_code rc = cat_object_decode(o, &m, err);
    if (rc != CC_OK)
        return rc;
    if (!grow((void **)&p->decoded, &p->capdecoded, p->ndecoded, sizeof *p->decoded)) {
        protobuf_c_message_free_unpacked(m, NULL);
        return nomem(err);
    }
    p->decoded[p->ndecoded++] = m;
    const Cowcat__Catalog__ItemValue *v = (const Cowcat__Catalog__ItemValue *)m;
    out->complete = true;
    for (size_t i = 0; i < v->n_columns && rc == CC_OK; i++) {
        ddl_type t = {.typmod = v->columns[i]->typmod};
        snprintf(t.name, sizeof t.name, "%s", v->columns[i]->type_name);
        if (v->columns[i]->type_ref_opt_case == COWCAT__CATALOG__COLUMN__TYPE_REF_OPT_TYPE_REF)
            t.ref = cat_ref_from_id(CAT_CLASS_ITEM, v->columns[i]->type_ref);
        rc = col_push(p, out, v->columns[i]->name, &t, err);
    }
    return rc;
}

/* The CTE in scope called name (index into p->ctes), or -1. */
static long
cte_find(vplan *p, const char *name)
{
    for (size_t i = p->nctes; i-- > 0;)
        if (p->ctes[i].hidden == 0 && strcmp(p->ctes[i].cte->ctename, name) == 0)
            return (long)i;
    return -1;
}

static cc_code
cte_cols(vplan *p, size_t i, vcols *out, cc_err *err)
{
    vcte *e = &p->ctes[i];
    if (e->state == 1 || e->cte->ctequery == NULL ||
        e->cte->ctequery->node_case != PG_QUERY__NODE__NODE_SELECT_STMT) {
        out->complete = false;
        return CC_OK;
    }
    if (e->state == 0) {
        size_t saved = p->nctes;
        e->state = 1;
        /* The body sees the CTEs before it (and itself when recursive). */
        for (size_t k = e->recursive ? i + 1 : i; k < saved; k++)
            p->ctes[k].hidden++;
        const PgQuery__SelectStmt *q = e->cte->ctequery->select_stmt;
        if (e->recursive && q->op != PG_QUERY__SET_OPERATION__SETOP_NONE && q->larg != NULL)
            q = q->larg;
        vcols cs = {0};
        cc_code rc = derive(p, q, false, &cs, err);
        for (size_t k = p->ctes[i].recursive ? i + 1 : i; k < saved; k++)
            p->ctes[k].hidden--;
        e = &p->ctes[i];
        if (rc != CC_OK)
            return rc;
        apply_aliases(&cs, e->cte->aliascolnames, e->cte->n_aliascolnames);
        e->cols = cs;
        e->state = 2;
    }
    *out = e->cols;
    return CC_OK;
}

static cc_code from_item(vplan *p, const PgQuery__Node *n, ventry **ents, size_t *nents,
                         size_t *capents, vcols *out, cc_err *err);

static cc_code
add_entry(ventry **ents, size_t *nents, size_t *capents, const char *alias, const vcols *cols,
          cc_err *err)
{
    if (!grow((void **)ents, capents, *nents, sizeof **ents))
        return nomem(err);
    (*ents)[*nents].alias = alias;
    (*ents)[*nents].cols = *cols;
    (*nents)++;
    return CC_OK;
}

/* The type family of a builtin type name: numbers and strings compare among themselves. */
static int
type_family(const char *name)
{
    static const char *const nums[] = {"int2", "int4", "int8", "numeric", "float4", "float8"};
    static const char *const strs[] = {"text", "varchar", "bpchar"};
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++)
        if (strcmp(nums[i], name) == 0)
            return 1;
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        if (strcmp(strs[i], name) == 0)
            return 2;
    return 0;
}

/* Can the two types be compared (PostgreSQL would find an = operator)? */
static bool
types_match(const ddl_type *a, const ddl_type *b)
{
    if (strcmp(a->name, "unknown") == 0 || strcmp(b->name, "unknown") == 0)
        return true;
    int fa = type_family(a->name), fb = type_family(b->name);
    if (fa != 0 || fb != 0)
        return fa == fb;
    return strcmp(a->name, b->name) == 0 && a->ref == b->ref;
}

/* PostgreSQL's format_type of t, into buf. */
static const char *
type_str(const ddl_type *t, char *buf, size_t cap)
{
    Cowcat__Catalog__Column col = COWCAT__CATALOG__COLUMN__INIT;
    Cowcat__Catalog__CatalogId id = COWCAT__CATALOG__CATALOG_ID__INIT;
    col.type_name = (char *)t->name;
    col.typmod = -1;
    if (t->ref != 0) {
        id.value = cat_ref_value(t->ref);
        col.type_ref_opt_case = COWCAT__CATALOG__COLUMN__TYPE_REF_OPT_TYPE_REF;
        col.type_ref = &id;
    }
    return ddl__format_type(&col, buf, cap);
}

/* A JOIN: both sides, then the merged columns (USING / NATURAL first). */
static cc_code
join_item(vplan *p, const PgQuery__JoinExpr *j, ventry **ents, size_t *nents, size_t *capents,
          vcols *out, cc_err *err)
{
    vcols l = {0}, r = {0};
    cc_code rc = from_item(p, j->larg, ents, nents, capents, &l, err);
    if (rc == CC_OK)
        rc = from_item(p, j->rarg, ents, nents, capents, &r, err);
    if (rc != CC_OK)
        return rc;
    const char *using[64];
    size_t nusing = 0;
    if (j->is_natural) {
        for (size_t i = 0; i < l.n && nusing < 64; i++) {
            size_t cnt = 0;
            if (col_find(&r, l.v[i].name, &cnt) != NULL)
                using[nusing++] = l.v[i].name;
        }
    }
    for (size_t i = 0; i < j->n_using_clause && nusing < 64; i++) {
        const char *u = ddl__str(j->using_clause[i]);
        size_t lc = 0, rcnt = 0;
        if (u == NULL)
            continue;
        if (col_find(&l, u, &lc) == NULL && l.complete)
            return cc_err_set_state(err, CC_NOT_FOUND, "42703",
                                    "column \"%s\" specified in USING clause does not exist in "
                                    "left table",
                                    u);
        if (lc > 1)
            return cc_err_set_state(err, CC_INVALID, "42702",
                                    "common column name \"%s\" appears more than once in left "
                                    "table",
                                    u);
        if (col_find(&r, u, &rcnt) == NULL && r.complete)
            return cc_err_set_state(err, CC_NOT_FOUND, "42703",
                                    "column \"%s\" specified in USING clause does not exist in "
                                    "right table",
                                    u);
        if (rcnt > 1)
            return cc_err_set_state(err, CC_INVALID, "42702",
                                    "common column name \"%s\" appears more than once in right "
                                    "table",
                                    u);
        lc = rcnt = 0;
        const vcol *lcol = col_find(&l, u, &lc), *rcol = col_find(&r, u, &rcnt);
        if (lcol != NULL && rcol != NULL && !types_match(&lcol->type, &rcol->type)) {
            char lb[128], rb[128];
            return cc_err_set_state(
                err, CC_INVALID, "42804", "JOIN/USING types %s and %s cannot be matched",
                type_str(&lcol->type, lb, sizeof lb), type_str(&rcol->type, rb, sizeof rb));
        }
        using[nusing++] = u;
    }
    out->complete = l.complete && r.complete;
    for (size_t i = 0; i < nusing && rc == CC_OK; i++) {
        size_t cnt = 0;
        const vcol *c = col_find(&l, using[i], &cnt);
        rc = col_push(p, out, using[i], c ? &c->type : NULL, err);
    }
    for (int side = 0; side < 2 && rc == CC_OK; side++) {
        const vcols *cs = side == 0 ? &l : &r;
        for (size_t i = 0; i < cs->n && rc == CC_OK; i++) {
            bool merged = false;
            for (size_t k = 0; k < nusing && !merged; k++)
                merged = strcmp(using[k], cs -> v[i].name) == 0;
            if (!merged)
                rc = col_push(p, out, cs->v[i].name, &cs->v[i].type, err);
        }
    }
    if (rc == CC_OK && j->alias != NULL && j->alias->aliasname[0]) {
        apply_aliases(out, j->alias->colnames, j->alias->n_colnames);
        rc = add_entry(ents, nents, capents, j->alias->aliasname, out, err);
    }
    return rc;
}

static cc_code
from_item(vplan *p, const PgQuery__Node *n, ventry **ents, size_t *nents, size_t *capents,
          vcols *out, cc_err *err)
{
    cc_code rc = CC_OK;
    const char *alias = NULL;
    const PgQuery__Alias *al = NULL;
    memset(out, 0, sizeof *out);
    switch (n->node_case) {
    case PG_QUERY__NODE__NODE_RANGE_VAR: {
        const PgQuery__RangeVar *rv = n->range_var;
        long ci = rv->schemaname[0] || rv->catalogname[0] ? -1 : cte_find(p, rv->relname);
        if (ci >= 0) {
            rc = cte_cols(p, (size_t)ci, out, err);
        } else {
            const cat_object *o;
            rc = resolve_relation(p, rv, &o, err);
            if (rc == CC_OK)
                rc = relation_cols(p, o, out, err);
        }
        alias = rv->relname;
        al = rv->alias;
        break;
    }
    case PG_QUERY__NODE__NODE_RANGE_SUBSELECT: {
        const PgQuery__RangeSubselect *rs = n->range_subselect;
        if (rs->subquery != NULL && rs->subquery->node_case == PG_QUERY__NODE__NODE_SELECT_STMT)
            rc = derive(p, rs->subquery->select_stmt, rs->lateral, out, err);
        al = rs->alias;
        break;
    }
    case PG_QUERY__NODE__NODE_JOIN_EXPR:
        return join_item(p, n->join_expr, ents, nents, capents, out, err);
    case PG_QUERY__NODE__NODE_RANGE_FUNCTION: {
        const PgQuery__RangeFunction *rf = n->range_function;
        al = rf->alias;
        if (rf->n_functions > 0 && rf->functions[0]->node_case == PG_QUERY__NODE__NODE_LIST &&
            rf->functions[0]->list->n_items > 0)
            alias = ddl__figure_colname(rf->functions[0]->list->items[0]);
        for (size_t i = 0; al != NULL && i < al->n_colnames && rc == CC_OK; i++)
            rc = col_push(p, out, ddl__str(al->colnames[i]), NULL, err);
        break;
    }
    default:
        break;
    }
    if (rc != CC_OK)
        return rc;
    if (al != NULL && al->aliasname != NULL && al->aliasname[0]) {
        alias = al->aliasname;
        apply_aliases(out, al->colnames, al->n_colnames);
    }
    if (alias == NULL)
        return CC_OK;
    return add_entry(ents, nents, capents, alias, out, err);
}

/* The type of a constant (int4, numeric, text, bool), or NULL. */
static const char *
const_type(const PgQuery__AConst *k)
{
    if (k->isnull)
        return "text";
    switch (k->val_case) {
    case PG_QUERY__A__CONST__VAL_IVAL:
        return "int4";
    case PG_QUERY__A__CONST__VAL_FVAL:
        return "numeric";
    case PG_QUERY__A__CONST__VAL_SVAL:
        return "text";
    case PG_QUERY__A__CONST__VAL_BOOLVAL:
        return "bool";
    default:
        return NULL;
    }
}

/* The type of an expression where it is evident (constants, casts). */
static cc_code
expr_type(vplan *p, const PgQuery__Node *n, ddl_type *t, bool *known, cc_err *err)
{
    *known = false;
    if (n == NULL)
        return CC_OK;
    if (n->node_case == PG_QUERY__NODE__NODE_A_CONST && const_type(n->a_const) != NULL) {
        memset(t, 0, sizeof *t);
        snprintf(t->name, sizeof t->name, "%s", const_type(n->a_const));
        t->typmod = -1;
        *known = true;
        return CC_OK;
    }
    if (n->node_case == PG_QUERY__NODE__NODE_TYPE_CAST && n->type_cast->type_name != NULL) {
        cc_code rc = ddl__type_resolve(p->c, n->type_cast->type_name, t, err);
        *known = rc == CC_OK;
        return rc;
    }
    return CC_OK;
}

static cc_code
missing_entry(vplan *p, const char *name, int32_t loc, cc_err *err)
{
    return ddl__at(p->c, loc,
                   cc_err_set_state(err, CC_NOT_FOUND, "42P01",
                                    "missing FROM-clause entry for table \"%s\"", name));
}

static const ventry *
entry_find(const ventry *ents, size_t n, const char *alias)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(ents[i].alias, alias) == 0)
            return &ents[i];
    return NULL;
}

/* One target list entry into out. */
static cc_code
target(vplan *p, const PgQuery__ResTarget *rt, const ventry *ents, size_t nents, const vcols *tops,
       size_t ntops, bool lenient, vcols *out, cc_err *err)
{
    const PgQuery__Node *val = rt->val;
    const char *name = rt->name && rt->name[0] ? rt->name : ddl__figure_colname(val);
    if (name == NULL)
        name = "?column?";
    if (val != NULL && val->node_case == PG_QUERY__NODE__NODE_COLUMN_REF) {
        const PgQuery__ColumnRef *cr = val->column_ref;
        size_t nf = cr->n_fields;
        bool star = nf > 0 && cr->fields[nf - 1]->node_case == PG_QUERY__NODE__NODE_A_STAR;
        const char *qual = nf >= 2 ? ddl__str(cr->fields[nf - 2]) : NULL;
        if (star && nf == 1) {
            if (ntops == 0)
                return ddl__at(p->c, cr->location,
                               cc_err_set_state(err, CC_PARSE, "42601",
                                                "SELECT * with no tables specified is not valid"));
            for (size_t i = 0; i < ntops; i++) {
                cc_code rc = cols_append(p, out, &tops[i], err);
                if (rc != CC_OK)
                    return rc;
            }
            return CC_OK;
        }
        if (qual != NULL) {
            const ventry *e = entry_find(ents, nents, qual);
            if (e == NULL)
                return lenient ? col_push(p, out, name, NULL, err)
                               : missing_entry(p, qual, cr->location, err);
            if (star)
                return cols_append(p, out, &e->cols, err);
            size_t cnt = 0;
            const vcol *c = col_find(&e->cols, name, &cnt);
            if (c == NULL && e->cols.complete && !lenient)
                return ddl__at(p->c, cr->location,
                               cc_err_set_state(err, CC_NOT_FOUND, "42703",
                                                "column %s.%s does not exist", qual,
                                                ddl__str(cr->fields[nf - 1])));
            return col_push(p, out, name, c ? &c->type : NULL, err);
        }
        const char *col = nf == 1 ? ddl__str(cr->fields[0]) : NULL;
        if (col != NULL) {
            size_t cnt = 0;
            bool complete = true;
            const vcol *c = NULL;
            for (size_t i = 0; i < ntops; i++) {
                const vcol *h = col_find(&tops[i], col, &cnt);
                if (c == NULL)
                    c = h;
                complete &= tops[i].complete;
            }
            if (cnt > 1)
                return ddl__at(p->c, cr->location,
                               cc_err_set_state(err, CC_INVALID, "42702",
                                                "column reference \"%s\" is ambiguous", col));
            if (c == NULL && complete && !lenient && entry_find(ents, nents, col) == NULL)
                return ddl__at(p->c, cr->location,
                               cc_err_set_state(err, CC_NOT_FOUND, "42703",
                                                "column \"%s\" does not exist", col));
            return col_push(p, out, name, c ? &c->type : NULL, err);
        }
        return col_push(p, out, name, NULL, err);
    }
    ddl_type t;
    bool known;
    cc_code rc = expr_type(p, val, &t, &known, err);
    if (rc != CC_OK)
        return rc;
    return col_push(p, out, name, known ? &t : NULL, err);
}

/*
 * The output columns of s. lateral: s may see outer FROM items, so a
 * name it cannot find is not an error here.
 */
static cc_code
derive(vplan *p, const PgQuery__SelectStmt *s, bool lateral, vcols *out, cc_err *err)
{
    size_t mark = p->nctes;
    cc_code rc = CC_OK;
    memset(out, 0, sizeof *out);
    out->complete = true;
    if (s->with_clause != NULL) {
        for (size_t i = 0; i < s->with_clause->n_ctes && rc == CC_OK; i++) {
            if (s->with_clause->ctes[i]->node_case != PG_QUERY__NODE__NODE_COMMON_TABLE_EXPR)
                continue;
            PgQuery__CommonTableExpr *cte = s->with_clause->ctes[i]->common_table_expr;
            if (cte->ctequery == NULL ||
                cte->ctequery->node_case != PG_QUERY__NODE__NODE_SELECT_STMT) {
                rc = ddl__at(p->c, cte->location,
                             cc_err_set_state(err, CC_PARSE, "0A000",
                                              "views must not contain data-modifying statements "
                                              "in WITH"));
                break;
            }
            if (!grow((void **)&p->ctes, &p->capctes, p->nctes, sizeof *p->ctes)) {
                rc = nomem(err);
                break;
            }
            p->ctes[p->nctes++] = (vcte){.cte = cte, .recursive = s->with_clause->recursive};
        }
    }
    if (rc != CC_OK) {
        p->nctes = mark;
        return rc;
    }
    if (s->op != PG_QUERY__SET_OPERATION__SETOP_NONE &&
        s->op != PG_QUERY__SET_OPERATION__SET_OPERATION_UNDEFINED) {
        if (s->larg != NULL)
            rc = derive(p, s->larg, lateral, out, err);
        if (rc == CC_OK && s->rarg != NULL) {
            vcols r;
            rc = derive(p, s->rarg, lateral, &r, err);
        }
    } else if (s->n_values_lists > 0) {
        const PgQuery__Node *l = s->values_lists[0];
        size_t n = l->node_case == PG_QUERY__NODE__NODE_LIST ? l->list->n_items : 0;
        for (size_t i = 0; i < n && rc == CC_OK; i++) {
            char buf[32];
            snprintf(buf, sizeof buf, "column%zu", i + 1);
            const char *nm = ddl__pool_strdup(&p->pool, buf);
            ddl_type t;
            bool known = false;
            if (nm == NULL)
                rc = nomem(err);
            else if ((rc = expr_type(p, l->list->items[i], &t, &known, err)) == CC_OK)
                rc = col_push(p, out, nm, known ? &t : NULL, err);
        }
    } else {
        ventry *ents = NULL;
        size_t nents = 0, capents = 0;
        vcols *tops = ddl__pool_alloc(&p->pool, (s->n_from_clause + 1) * sizeof *tops);
        if (tops == NULL)
            rc = nomem(err);
        for (size_t i = 0; i < s->n_from_clause && rc == CC_OK; i++)
            rc = from_item(p, s->from_clause[i], &ents, &nents, &capents, &tops[i], err);
        for (size_t i = 0; i < s->n_target_list && rc == CC_OK; i++)
            if (s->target_list[i]->node_case == PG_QUERY__NODE__NODE_RES_TARGET)
                rc = target(p, s->target_list[i]->res_target, ents, nents, tops, s->n_from_clause,
                            lateral, out, err);
        cc_free(ents);
    }
    p->nctes = mark;
    return rc;
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
        const cat_object *o;
        a->rc = resolve_relation(p, rv, &o, a->err);
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
        a->rc = add_use(p, t->ref, a->err);
        return a->rc != CC_OK;
    }
    return 0;
}

/* --- the statements ------------------------------------------------------------------------- */

static void
vplan_fini(vplan *p)
{
    for (size_t i = 0; i < p->ndecoded; i++)
        protobuf_c_message_free_unpacked(p->decoded[i], NULL);
    cc_free(p->decoded);
    cc_free(p->ctes);
    cc_free(p->uses);
    ddl__pool_fini(&p->pool);
}

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
    cc_code rc = derive(p, sel, false, &cols, err);
    if (rc != CC_OK)
        return rc;
    deps_arg da = {p, err, CC_OK};
    if (ddl__walk((ProtobufCMessage *)&query->base, dep_node, &da) != 0)
        return da.rc != CC_OK ? da.rc : nomem(err);
    if (naliases > cols.n)
        return cc_err_set_state(err, CC_PARSE, "42601",
                                "CREATE %s specifies more column names than columns", what);
    apply_aliases(&cols, aliases, naliases);

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
        return nomem(err);
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
    vplan_fini(&p);
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
    vplan_fini(&p);
    /* PostgreSQL's tag: rows stored (none: cowcat keeps no data), unless WITH NO DATA. */
    if (rc == CC_OK)
        snprintf(c->tag, sizeof c->tag, "%s",
                 s->into->skip_data ? "CREATE MATERIALIZED VIEW" : "SELECT 0");
    return rc;
}
