/*
 * ddl/src/view_scope.c — the view resolver's FROM clause (see view_scope.h
 * for the model; view_colref.c binds column references, view_query.c runs
 * one query level): FROM items with their columns and names, joins, CTE
 * bodies, and the small helpers the three files share.
 *
 * Scoping rules followed (parse_clause.c, parse_relation.c):
 *   - FROM items are processed left to right; while the FROM clause is being
 *     read, earlier items are visible only to LATERAL subqueries and to
 *     functions in FROM; afterwards every item is.
 *   - A JOIN's ON clause sees only the join's two inputs (and outer query
 *     levels). An alias-less join exposes its inputs by name but not for
 *     unqualified columns (its own merged column list serves those); an
 *     aliased join hides its inputs entirely.
 *   - An unqualified column is looked up level by level outwards: two
 *     matches at one level are ambiguous (42702); a name that is no column
 *     but names a FROM item is a whole-row reference.
 *   - ORDER BY / DISTINCT ON name an output column first (SQL92), GROUP BY
 *     an input column first; integers are positions. Window definitions
 *     are resolved last, as PostgreSQL does.
 *   - Errors carry PostgreSQL's hints: an exact match in a FROM item that
 *     cannot be referenced there, the closest column name (Levenshtein,
 *     varstr_levenshtein's rules), the alias to use instead of a table name.
 *
 * Costs: O(size of the query x FROM items in scope); nothing is scanned
 * beyond the relations the query names.
 */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "view_scope.h"

/* --- small helpers ------------------------------------------------------------------------- */

cc_code
ddl__vnomem(cc_err *err)
{
    return cc_err_set(err, CC_NOMEM, "out of memory planning a view");
}

bool
ddl__vgrow(void **v, size_t *cap, size_t n, size_t elem)
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

cc_code
ddl__vcol_push_src(vplan *p, vcols *cs, const char *name, const ddl_type *t, const vrte *src,
                   uint32_t pos, cc_err *err)
{
    if (cs->n == cs->cap) {
        size_t cap = cs->cap ? 2 * cs->cap : 8;
        vcol *v = ddl__pool_alloc(&p->pool, cap * sizeof *v);
        if (v == NULL)
            return ddl__vnomem(err);
        if (cs->n)
            memcpy(v, cs->v, cs->n * sizeof *v);
        cs->v = v;
        cs->cap = cap;
    }
    vcol *c = &cs->v[cs->n++];
    c->name = name;
    c->src = src;
    c->pos = pos;
    c->item = src;
    if (t != NULL) {
        c->type = *t;
    } else {
        memset(&c->type, 0, sizeof c->type);
        snprintf(c->type.name, sizeof c->type.name, "unknown");
        c->type.typmod = -1;
    }
    return CC_OK;
}

cc_code
ddl__vcol_push(vplan *p, vcols *cs, const char *name, const ddl_type *t, cc_err *err)
{
    return ddl__vcol_push_src(p, cs, name, t, NULL, 0, err);
}

/* Appends from's columns to to (computed: origins dropped). */
cc_code
ddl__vcols_append(vplan *p, vcols *to, const vcols *from, bool keep_src, cc_err *err)
{
    for (size_t i = 0; i < from->n; i++) {
        const vcol *c = &from->v[i];
        cc_code rc = ddl__vcol_push_src(p, to, c->name, &c->type, keep_src ? c->src : NULL,
                                        keep_src ? c->pos : 0, err);
        if (rc != CC_OK)
            return rc;
        to->v[to->n - 1].item = keep_src ? c->item : NULL;
    }
    if (!from->complete)
        to->complete = false;
    return CC_OK;
}

const vcol *
ddl__vcol_find(const vcols *cs, const char *name, size_t *count)
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

void
ddl__vown_cols(vrte *r)
{
    for (size_t i = 0; i < r->cols.n; i++)
        r->cols.v[i].item = r;
}

void
ddl__vcols_alias(vcols *cs, PgQuery__Node **names, size_t n)
{
    for (size_t i = 0; i < n && i < cs->n; i++)
        if (ddl__str(names[i]) != NULL)
            cs->v[i].name = ddl__str(names[i]);
}

cc_code
ddl__vplan_use(vplan *p, cat_ref r, cc_err *err)
{
    for (size_t i = 0; i < p->nuses; i++)
        if (p->uses[i] == r)
            return CC_OK;
    if (!ddl__vgrow((void **)&p->uses, &p->capuses, p->nuses, sizeof *p->uses))
        return ddl__vnomem(err);
    p->uses[p->nuses++] = r;
    return CC_OK;
}

void
ddl__vplan_fini(vplan *p)
{
    for (size_t i = 0; i < p->ndecoded; i++)
        protobuf_c_message_free_unpacked(p->decoded[i], NULL);
    cc_free(p->decoded);
    cc_free(p->ctes);
    cc_free(p->uses);
    ddl__pool_fini(&p->pool);
}

cc_code
ddl__vns_push(vnsl *l, vrte *rte, bool rel_visible, bool cols_visible, cc_err *err)
{
    if (!ddl__vgrow((void **)&l->v, &l->cap, l->n, sizeof *l->v))
        return ddl__vnomem(err);
    l->v[l->n++] = (vns){rte, rel_visible, cols_visible, false};
    return CC_OK;
}

static cc_code
ns_concat(vnsl *to, const vnsl *from, cc_err *err)
{
    for (size_t i = 0; i < from->n; i++) {
        if (!ddl__vgrow((void **)&to->v, &to->cap, to->n, sizeof *to->v))
            return ddl__vnomem(err);
        to->v[to->n++] = from->v[i];
    }
    return CC_OK;
}

static void
ns_lateral(vnsl *l, size_t from, bool lateral_only)
{
    for (size_t i = from; i < l->n; i++)
        l->v[i].lateral_only = lateral_only;
}

void
ddl__vlevel_fini(vlevel *lv)
{
    cc_free(lv->ns.v);
    cc_free(lv->rt);
    cc_free(lv->win);
}

/* A new FROM item of the level (its id is the next of the plan). */
vrte *
ddl__vrte_new(vplan *p, vlevel *lv, vrte_kind kind, const char *refname)
{
    vrte *r = ddl__pool_alloc(&p->pool, sizeof *r);
    if (r == NULL || !ddl__vgrow((void **)&lv->rt, &lv->caprt, lv->nrt, sizeof *lv->rt))
        return NULL;
    r->kind = kind;
    r->id = p->next_id++;
    r->refname = refname;
    r->cols.complete = true;
    lv->rt[lv->nrt++] = r;
    return r;
}

bool
ddl__vvisible(const vlevel *lv, const vns *n)
{
    return !n->lateral_only || lv->lateral_active;
}

/* PostgreSQL's system columns of tables and materialized views. */
bool
ddl__vsystem_column(const vrte *r, const char *name)
{
    static const char *const sys[] = {"ctid", "xmin", "cmin", "xmax", "cmax", "tableoid"};
    if (r->kind != VRTE_RELATION ||
        (r->rel->kind != CAT_KIND_TABLE && r->rel->kind != CAT_KIND_MATERIALIZED_VIEW))
        return false;
    for (size_t i = 0; i < sizeof sys / sizeof *sys; i++)
        if (strcmp(sys[i], name) == 0)
            return true;
    return false;
}

/* --- types (output columns, JOIN USING) ------------------------------------------------- */

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
cc_code
ddl__vexpr_type(vplan *p, const PgQuery__Node *n, ddl_type *t, bool *known, cc_err *err)
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

/* --- relations and CTEs -------------------------------------------------------------------- */

/* The relation rv names (registered as a use). Errors: 42P01 with position, 42809. */
/*
 * An unqualified name in the stored query of p->owner: the relation of that
 * name among the ones it was found to read (the session's search_path may
 * not be the one it was created with); NULL to look it up as usual.
 */
static const cat_object *
owner_use(vplan *p, const PgQuery__RangeVar *rv)
{
    const cat_object *hit = NULL;
    size_t same = 0;
    for (uint32_t i = 0; p->owner != NULL && i < p->owner->nuses; i++) {
        const cat_object *u = cat_state_find(p->c->st, p->owner->uses[i]);
        if (u == NULL || u->kind == CAT_KIND_TYPE || strcmp(u->name, rv->relname) != 0)
            continue;
        if (hit == NULL || u->parent == p->owner->parent)
            hit = u;
        same++;
    }
    return same == 1 || (hit != NULL && hit->parent == p->owner->parent) ? hit : NULL;
}

static cc_code
resolve_relation(vplan *p, const PgQuery__RangeVar *rv, const cat_object **out, cc_err *err)
{
    ddl_qname q = ddl__qname_rv(rv);
    if (q.schema == NULL && q.database == NULL && (*out = owner_use(p, rv)) != NULL)
        return ddl__vplan_use(p, (*out)->ref, err);
    cc_code rc = ddl__get_relation(p->c, &q, out, err);
    if (rc != CC_OK)
        return rc;
    if ((*out)->kind == CAT_KIND_INDEX)
        return ddl__at(
            p->c, rv->location,
            cc_err_set_state(err, CC_INVALID, "42809", "\"%s\" is an index", (*out)->name));
    return ddl__vplan_use(p, (*out)->ref, err);
}

/* The columns of relation rte->rel (its decoded value is kept until the plan ends). */
static cc_code
relation_cols(vplan *p, vrte *rte, cc_err *err)
{
    ProtobufCMessage *m;
    cc_code rc = cat_object_decode(rte->rel, &m, err);
    if (rc != CC_OK)
        return rc;
    if (!ddl__vgrow((void **)&p->decoded, &p->capdecoded, p->ndecoded, sizeof *p->decoded)) {
        protobuf_c_message_free_unpacked(m, NULL);
        return ddl__vnomem(err);
    }
    p->decoded[p->ndecoded++] = m;
    const Cowcat__Catalog__ItemValue *v = (const Cowcat__Catalog__ItemValue *)m;
    bool over = p->override_rel != 0 && p->override_rel == rte->rel->ref;
    size_t n = over ? p->noverride : v->n_columns;
    for (size_t i = 0; i < n && rc == CC_OK; i++) {
        ddl_type t = {.typmod = -1};
        snprintf(t.name, sizeof t.name, "unknown");
        if (i < v->n_columns) {
            t.typmod = v->columns[i]->typmod;
            snprintf(t.name, sizeof t.name, "%s", v->columns[i]->type_name);
            if (v->columns[i]->type_ref_opt_case == COWCAT__CATALOG__COLUMN__TYPE_REF_OPT_TYPE_REF)
                t.ref = cat_ref_from_id(CAT_CLASS_ITEM, v->columns[i]->type_ref);
        }
        rc = ddl__vcol_push_src(p, &rte->cols, over ? p->override_names[i] : v->columns[i]->name,
                                &t, rte, (uint32_t)i, err);
    }
    return rc;
}

/* The CTE in scope called name (index into p->ctes), or -1. */
long
ddl__vcte_find(vplan *p, const char *name)
{
    for (size_t i = p->nctes; i-- > 0;)
        if (p->ctes[i].hidden == 0 && strcmp(p->ctes[i].cte->ctename, name) == 0)
            return (long)i;
    return -1;
}

/* Output columns as a FROM item sees them: names and types, no origins. */
cc_code
ddl__vas_item_cols(vplan *p, const vcols *in, vcols *out, cc_err *err)
{
    memset(out, 0, sizeof *out);
    out->complete = true;
    return ddl__vcols_append(p, out, in, false, err);
}

/*
 * Derives CTE i (its body resolved in scope: a level with nothing in FROM
 * whose parent is the WITH's query's parent). A recursive CTE's columns
 * come from its non-recursive term; the recursive term is resolved after
 * they are known.
 */
cc_code
ddl__vcte_derive(vplan *p, size_t i, vlevel *scope, cc_err *err)
{
    vcte *e = &p->ctes[i];
    if (e->state != 0)
        return CC_OK;
    e->state = 1;
    size_t saved = p->nctes;
    /* A non-recursive body sees the CTEs before it only. */
    for (size_t k = i; k < saved && !e->recursive; k++)
        p->ctes[k].hidden++;
    PgQuery__SelectStmt *q = e->cte->ctequery->select_stmt;
    bool split = e->recursive && q->op != PG_QUERY__SET_OPERATION__SETOP_NONE &&
                 q->op != PG_QUERY__SET_OPERATION__SET_OPERATION_UNDEFINED && q->larg != NULL &&
                 q->rarg != NULL && q->n_sort_clause == 0 && q->limit_count == NULL &&
                 q->limit_offset == NULL && q->with_clause == NULL;
    vcols cs, item;
    cc_code rc = ddl__vquery(p, scope, split ? q->larg : q, &cs, err);
    if (rc == CC_OK)
        rc = ddl__vas_item_cols(p, &cs, &item, err);
    e = &p->ctes[i];
    if (rc == CC_OK) {
        ddl__vcols_alias(&item, e->cte->aliascolnames, e->cte->n_aliascolnames);
        e->cols = item;
        e->state = 2;
        if (split) {
            vcols r;
            rc = ddl__vquery(p, scope, q->rarg, &r, err);
        }
    }
    for (size_t k = i; k < saved && !p->ctes[i].recursive; k++)
        p->ctes[k].hidden--;
    return rc;
}

/* --- FROM ------------------------------------------------------------------------------------ */

static cc_code from_item(vplan *p, vlevel *lv, PgQuery__Node *n, vnsl *out, vrte **top,
                         cc_err *err);

/* checkNameSpaceConflicts: 42712 for two visible items of one name (unaliased relations excepted).
 */
static cc_code
check_conflicts(const vnsl *a, size_t from, const vnsl *b, cc_err *err)
{
    for (size_t i = from; i < a->n; i++) {
        const vns *x = &a->v[i];
        if (!x->rel_visible)
            continue;
        for (size_t j = 0; j < b->n; j++) {
            const vns *y = &b->v[j];
            if (!y->rel_visible || strcmp(x->rte->refname, y->rte->refname) != 0)
                continue;
            if (x->rte->kind == VRTE_RELATION && !x->rte->aliased &&
                y->rte->kind == VRTE_RELATION && !y->rte->aliased &&
                x->rte->rel->ref != y->rte->rel->ref)
                continue;
            return cc_err_set_state(err, CC_INVALID, "42712",
                                    "table name \"%s\" specified more than once", x->rte->refname);
        }
    }
    return CC_OK;
}

/* The alias' column list over cols: more names than columns is an error (42P10). */
static cc_code
apply_alias(const PgQuery__Alias *al, vcols *cols, bool join, cc_err *err)
{
    if (al == NULL)
        return CC_OK;
    if (cols->complete && al->n_colnames > cols->n && join)
        return cc_err_set_state(err, CC_INVALID, "42P10",
                                "column alias list for \"%s\" has too many entries", al->aliasname);
    if (cols->complete && al->n_colnames > cols->n)
        return cc_err_set_state(err, CC_INVALID, "42P10",
                                "table \"%s\" has %zu columns available but %zu columns specified",
                                al->aliasname, cols->n, al->n_colnames);
    ddl__vcols_alias(cols, al->colnames, al->n_colnames);
    return CC_OK;
}

static cc_code
range_var(vplan *p, vlevel *lv, PgQuery__RangeVar *rv, vnsl *out, vrte **top, cc_err *err)
{
    const PgQuery__Alias *al = rv->alias;
    const char *alias = al != NULL && al->aliasname[0] ? al->aliasname : NULL;
    long ci = rv->schemaname[0] || rv->catalogname[0] ? -1 : ddl__vcte_find(p, rv->relname);
    vrte *r;
    cc_code rc = CC_OK;
    if (ci >= 0) {
        /* WITH RECURSIVE may name a CTE written after the one being derived. */
        if (p->ctes[ci].state == 0 &&
            (rc = ddl__vcte_derive(p, (size_t)ci, p->ctes[ci].scope, err)) != CC_OK)
            return rc;
        if ((r = ddl__vrte_new(p, lv, VRTE_CTE, alias ? alias : rv->relname)) == NULL)
            return ddl__vnomem(err);
        r->rv = rv;
        if (p->ctes[ci].state == 2)
            rc = ddl__vcols_append(p, &r->cols, &p->ctes[ci].cols, false, err);
        else
            r->cols.complete = false; /* a recursive reference while its columns are derived */
    } else {
        const cat_object *o;
        if ((rc = resolve_relation(p, rv, &o, err)) != CC_OK)
            return rc;
        if ((r = ddl__vrte_new(p, lv, VRTE_RELATION, alias ? alias : rv->relname)) == NULL)
            return ddl__vnomem(err);
        r->rel = o;
        r->rv = rv;
        rc = relation_cols(p, r, err);
    }
    r->aliased = alias != NULL;
    if (rc == CC_OK)
        rc = apply_alias(al, &r->cols, false, err);
    ddl__vown_cols(r);
    *top = r;
    return rc == CC_OK ? ddl__vns_push(out, r, true, true, err) : rc;
}

static cc_code
range_subselect(vplan *p, vlevel *lv, PgQuery__RangeSubselect *rs, vnsl *out, vrte **top,
                cc_err *err)
{
    const char *alias = rs->alias != NULL && rs->alias->aliasname[0] ? rs->alias->aliasname : NULL;
    vcols cs = {0};
    cc_code rc = CC_OK;
    if (rs->subquery != NULL && rs->subquery->node_case == PG_QUERY__NODE__NODE_SELECT_STMT) {
        bool saved = lv->lateral_active;
        lv->lateral_active = rs->lateral;
        rc = ddl__vquery(p, lv, rs->subquery->select_stmt, &cs, err);
        lv->lateral_active = saved;
    }
    if (rc != CC_OK)
        return rc;
    vrte *r = ddl__vrte_new(p, lv, VRTE_SUBQUERY, alias ? alias : "unnamed_subquery");
    if (r == NULL)
        return ddl__vnomem(err);
    r->aliased = alias != NULL;
    if ((rc = ddl__vas_item_cols(p, &cs, &r->cols, err)) == CC_OK)
        rc = apply_alias(rs->alias, &r->cols, false, err);
    ddl__vown_cols(r);
    *top = r;
    return rc == CC_OK ? ddl__vns_push(out, r, alias != NULL, true, err) : rc;
}

/* A function in FROM (always LATERAL): its columns are known only from a column list. */
static cc_code
range_function(vplan *p, vlevel *lv, PgQuery__RangeFunction *rf, vnsl *out, vrte **top, cc_err *err)
{
    bool saved = lv->lateral_active;
    lv->lateral_active = true;
    cc_code rc = CC_OK;
    for (size_t i = 0; i < rf->n_functions && rc == CC_OK; i++)
        rc = ddl__vexpr(p, lv, rf->functions[i], err);
    lv->lateral_active = saved;
    if (rc != CC_OK)
        return rc;
    const PgQuery__Alias *al = rf->alias;
    const char *name = al != NULL && al->aliasname[0] ? al->aliasname : NULL;
    if (name == NULL && rf->n_functions > 0 &&
        rf->functions[0]->node_case == PG_QUERY__NODE__NODE_LIST &&
        rf->functions[0]->list->n_items > 0)
        name = ddl__figure_colname(rf->functions[0]->list->items[0]);
    vrte *r = ddl__vrte_new(p, lv, VRTE_FUNCTION, name ? name : "unnamed_function");
    if (r == NULL)
        return ddl__vnomem(err);
    r->aliased = al != NULL && al->aliasname[0];
    r->cols.complete = false;
    for (size_t i = 0; al != NULL && i < al->n_colnames && rc == CC_OK; i++)
        rc = ddl__vcol_push(p, &r->cols, ddl__str(al->colnames[i]), NULL, err);
    for (size_t i = 0; i < rf->n_coldeflist && rc == CC_OK; i++)
        if (rf->coldeflist[i]->node_case == PG_QUERY__NODE__NODE_COLUMN_DEF)
            rc = ddl__vcol_push(p, &r->cols, rf->coldeflist[i]->column_def->colname, NULL, err);
    ddl__vown_cols(r);
    *top = r;
    return rc == CC_OK ? ddl__vns_push(out, r, name != NULL, true, err) : rc;
}

/* The merged (USING / NATURAL) column names of a join, checked as PostgreSQL does. */
static cc_code
join_using(vplan *p, PgQuery__JoinExpr *j, const vcols *l, const vcols *r, const char ***names,
           size_t *n, cc_err *err)
{
    size_t cap = l->n + j->n_using_clause + 1;
    const char **v = ddl__pool_alloc(&p->pool, cap * sizeof *v);
    if (v == NULL)
        return ddl__vnomem(err);
    *names = v;
    *n = 0;
    if (j->is_natural) {
        for (size_t i = 0; i < l->n; i++) {
            size_t cnt = 0;
            if (ddl__vcol_find(r, l->v[i].name, &cnt) != NULL)
                v[(*n)++] = l->v[i].name;
        }
    }
    for (size_t i = 0; i < j->n_using_clause; i++) {
        const char *u = ddl__str(j->using_clause[i]);
        size_t lc = 0, rcnt = 0;
        if (u == NULL)
            continue;
        for (size_t k = 0; k < *n; k++)
            if (strcmp(v[k], u) == 0)
                return cc_err_set_state(err, CC_INVALID, "42701",
                                        "column name \"%s\" appears more than once in USING "
                                        "clause",
                                        u);
        const vcol *lcol = ddl__vcol_find(l, u, &lc);
        if (lcol == NULL && l->complete)
            return cc_err_set_state(err, CC_NOT_FOUND, "42703",
                                    "column \"%s\" specified in USING clause does not exist in "
                                    "left table",
                                    u);
        if (lc > 1)
            return cc_err_set_state(err, CC_INVALID, "42702",
                                    "common column name \"%s\" appears more than once in left "
                                    "table",
                                    u);
        const vcol *rcol = ddl__vcol_find(r, u, &rcnt);
        if (rcol == NULL && r->complete)
            return cc_err_set_state(err, CC_NOT_FOUND, "42703",
                                    "column \"%s\" specified in USING clause does not exist in "
                                    "right table",
                                    u);
        if (rcnt > 1)
            return cc_err_set_state(err, CC_INVALID, "42702",
                                    "common column name \"%s\" appears more than once in right "
                                    "table",
                                    u);
        if (lcol != NULL && rcol != NULL && !types_match(&lcol->type, &rcol->type)) {
            char lb[128], rb[128];
            return cc_err_set_state(
                err, CC_INVALID, "42804", "JOIN/USING types %s and %s cannot be matched",
                type_str(&lcol->type, lb, sizeof lb), type_str(&rcol->type, rb, sizeof rb));
        }
        v[(*n)++] = u;
    }
    return CC_OK;
}

/* transformFromClauseItem for a JoinExpr (see the file comment for its scoping). */
static cc_code
join_item(vplan *p, vlevel *lv, PgQuery__JoinExpr *j, vnsl *out, vrte **top, cc_err *err)
{
    vnsl lns = {0}, rns = {0};
    vrte *l = NULL, *r = NULL;
    cc_code rc = from_item(p, lv, j->larg, &lns, &l, err);
    size_t mark = lv->ns.n;
    /* The left side is visible to a LATERAL right side. */
    if (rc == CC_OK && (rc = ns_concat(&lv->ns, &lns, err)) == CC_OK) {
        ns_lateral(&lv->ns, mark, true);
        rc = from_item(p, lv, j->rarg, &rns, &r, err);
    }
    lv->ns.n = mark;
    if (rc == CC_OK)
        rc = check_conflicts(&lns, 0, &rns, err);
    const char **using = NULL;
    size_t nusing = 0;
    if (rc == CC_OK && (j->is_natural || j->n_using_clause > 0)) {
        rc = join_using(p, j, &l->cols, &r->cols, &using, &nusing, err);
        if (rc == CC_OK && p->visit != NULL && p->visit->merge != NULL)
            rc = p->visit->merge(p->visit->arg, p, j, &l->cols, &r->cols, err);
    }
    const PgQuery__Alias *al = j->alias;
    bool aliased = al != NULL && al->aliasname[0];
    vrte *jr = NULL;
    if (rc == CC_OK &&
        (jr = ddl__vrte_new(p, lv, VRTE_JOIN, aliased ? al->aliasname : "unnamed_join")) == NULL)
        rc = ddl__vnomem(err);
    if (rc == CC_OK) {
        jr->aliased = aliased;
        jr->cols.complete = l->cols.complete && r->cols.complete;
        for (size_t i = 0; i < nusing && rc == CC_OK; i++) {
            size_t cnt = 0;
            const vcol *c = ddl__vcol_find(&l->cols, using[i], &cnt);
            rc = ddl__vcol_push(p, &jr->cols, using[i], c ? &c->type : NULL, err);
        }
        for (int side = 0; side < 2 && rc == CC_OK; side++) {
            const vcols *cs = side == 0 ? &l->cols : &r->cols;
            for (size_t i = 0; i < cs->n && rc == CC_OK; i++) {
                bool merged = false;
                for (size_t k = 0; k < nusing && !merged; k++)
                    merged = strcmp(using[k], cs -> v[i].name) == 0;
                if (!merged && (rc = ddl__vcol_push_src(p, &jr->cols, cs->v[i].name, &cs->v[i].type,
                                                        cs->v[i].src, cs->v[i].pos, err)) == CC_OK)
                    jr->cols.v[jr->cols.n - 1].item = cs->v[i].item;
            }
        }
    }
    vnsl my = {0};
    if (rc == CC_OK && (rc = ns_concat(&my, &lns, err)) == CC_OK)
        rc = ns_concat(&my, &rns, err);
    /* ON sees just the two inputs (and outer levels). */
    if (rc == CC_OK && j->quals != NULL) {
        vnsl saved = lv->ns;
        bool lat = lv->lateral_active;
        lv->ns = my;
        ns_lateral(&lv->ns, 0, false);
        lv->lateral_active = false;
        rc = ddl__vexpr(p, lv, j->quals, err);
        my = lv->ns;
        lv->ns = saved;
        lv->lateral_active = lat;
    }
    if (rc == CC_OK && aliased)
        rc = apply_alias(al, &jr->cols, true, err);
    if (rc == CC_OK) {
        if (aliased)
            my.n = 0;
        for (size_t i = 0; i < my.n; i++)
            my.v[i].cols_visible = false;
        rc = ns_concat(out, &my, err);
    }
    if (rc == CC_OK && j->join_using_alias != NULL && j->join_using_alias->aliasname[0]) {
        vrte *u = ddl__vrte_new(p, lv, VRTE_JOIN, j->join_using_alias->aliasname);
        if (u == NULL)
            rc = ddl__vnomem(err);
        for (size_t i = 0; i < nusing && rc == CC_OK; i++)
            rc = ddl__vcol_push(p, &u->cols, jr->cols.v[i].name, &jr->cols.v[i].type, err);
        if (rc == CC_OK) {
            u->aliased = true;
            rc = ddl__vns_push(out, u, true, false, err);
        }
    }
    if (rc == CC_OK)
        rc = ddl__vns_push(out, jr, aliased, true, err);
    *top = jr;
    cc_free(lns.v);
    cc_free(rns.v);
    cc_free(my.v);
    return rc;
}

static cc_code
from_item(vplan *p, vlevel *lv, PgQuery__Node *n, vnsl *out, vrte **top, cc_err *err)
{
    switch (n->node_case) {
    case PG_QUERY__NODE__NODE_RANGE_VAR:
        return range_var(p, lv, n->range_var, out, top, err);
    case PG_QUERY__NODE__NODE_RANGE_SUBSELECT:
        return range_subselect(p, lv, n->range_subselect, out, top, err);
    case PG_QUERY__NODE__NODE_JOIN_EXPR:
        return join_item(p, lv, n->join_expr, out, top, err);
    case PG_QUERY__NODE__NODE_RANGE_FUNCTION:
        return range_function(p, lv, n->range_function, out, top, err);
    case PG_QUERY__NODE__NODE_RANGE_TABLE_SAMPLE: {
        PgQuery__RangeTableSample *ts = n->range_table_sample;
        cc_code rc = from_item(p, lv, ts->relation, out, top, err);
        for (size_t i = 0; i < ts->n_args && rc == CC_OK; i++)
            rc = ddl__vexpr(p, lv, ts->args[i], err);
        return rc == CC_OK ? ddl__vexpr(p, lv, ts->repeatable, err) : rc;
    }
    default: {
        /* XMLTABLE and the like: columns not modelled. */
        vrte *r = ddl__vrte_new(p, lv, VRTE_FUNCTION, "unnamed_function");
        if (r == NULL)
            return ddl__vnomem(err);
        r->cols.complete = false;
        *top = r;
        return ddl__vns_push(out, r, false, true, err);
    }
    }
}

/* transformFromClause. */
cc_code
ddl__vfrom_clause(vplan *p, vlevel *lv, PgQuery__SelectStmt *s, cc_err *err)
{
    cc_code rc = CC_OK;
    for (size_t i = 0; i < s->n_from_clause && rc == CC_OK; i++) {
        vnsl items = {0};
        vrte *top;
        rc = from_item(p, lv, s->from_clause[i], &items, &top, err);
        if (rc == CC_OK)
            rc = check_conflicts(&lv->ns, 0, &items, err);
        size_t mark = lv->ns.n;
        if (rc == CC_OK && (rc = ns_concat(&lv->ns, &items, err)) == CC_OK)
            ns_lateral(&lv->ns, mark, true);
        cc_free(items.v);
    }
    ns_lateral(&lv->ns, 0, false);
    return rc;
}
