/*
 * ddl/src/view_rewrite.c — a view's stored SQL kept in step with the
 * columns of a relation it reads (ALTER TABLE / VIEW ... RENAME COLUMN,
 * ALTER TABLE ... ADD COLUMN) and with its own renamed output columns.
 *
 * PostgreSQL keeps a view as an analysed tree bound to column numbers, so a
 * rename never disturbs it; cowcat keeps the statement, so the statement is
 * rewritten the way pg_get_viewdef would print it:
 *
 *   1. bind the query with the view resolver (view_scope.h) against the
 *      relation as it is: every ColumnRef bound to the renamed column of a
 *      FROM item over the relation is renamed (and qualified with its FROM
 *      item's name where that reaches it: `t.b`); a target entry keeps its
 *      output name (`t.b AS a`); a `*` that covers the column (or, for an
 *      added column, any `*` over the relation) is spelled out, so the
 *      view's columns stay what they were;
 *   2. bind the rewritten query again as if the relation already had its
 *      new columns, and require every ColumnRef to bind to the same FROM
 *      item column (by FROM item id and position) and the output names to
 *      be the same. An unqualified reference that the new name captures or
 *      makes ambiguous is qualified, and the check runs once more;
 *   3. what still binds differently — or a JOIN ... USING / NATURAL JOIN
 *      over the column, whose meaning changes with the names — is refused
 *      (0A000) rather than stored wrong.
 *
 * Costs: a few passes over the view's statement; nothing else is read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "view_scope.h"

/* What a ColumnRef was bound to by the first pass. */
typedef struct binding {
    const PgQuery__ColumnRef *cr; /* NULL: a node that no longer exists */
    vref_kind kind;
    uint32_t rte;     /* FROM item id (UINT32_MAX: any column) */
    int32_t pos;      /* column position (-1: the whole row) */
    const char *name; /* VREF_OUTPUT: the output name */
    const char *qual; /* a qualifier that reaches its FROM item from where it is, or NULL */
    bool bad;         /* the check pass bound it differently */
} binding;

/* A `*` target entry to spell out. */
typedef struct xcol {
    const char *qual;  /* NULL: unqualified */
    const char *name;  /* the column as referenced */
    const char *alias; /* the output name when it differs from name, else NULL */
    uint32_t rte;
    int32_t pos;
} xcol;

typedef struct starx {
    PgQuery__SelectStmt *s;
    size_t index;
    const PgQuery__ColumnRef *cr;
    xcol *cols;
    size_t n;
} starx;

typedef struct rw {
    ddl_ctx *c;
    const cat_object *view;
    const cat_object *rel;
    const char *from, *to; /* a rename; from NULL: rel gains the columns added */
    const char *const *added;
    size_t nadded;
    long frompos;  /* from's 0-based position in rel (-1: an added column) */
    ddl_pool pool; /* strings and arrays of the rewrite */
    binding *b;
    size_t nb, capb;
    starx *x;
    size_t nx, capx;
    bool check;   /* the check pass (bindings are compared, not recorded) */
    bool changed; /* the statement was edited */
    bool sorted;
} rw;

static cc_code
nomem(cc_err *err)
{
    return cc_err_set(err, CC_NOMEM, "out of memory rewriting a view");
}

static bool
is_rel_column(const rw *w, const vcol *c)
{
    return c->src != NULL && c->src->kind == VRTE_RELATION && c->src->rel->ref == w->rel->ref;
}

/* Is c the renamed column, referenced by its own name (not an alias)? */
static bool
is_renamed(const rw *w, const vcol *c)
{
    return w->from != NULL && is_rel_column(w, c) && (long)c->pos == w->frompos &&
           strcmp(c->src->cols.v[c->pos].name, w->from) == 0;
}

/* Is name one that rel gains (the rename's new name, or an added column)? */
static bool
is_new_name(const rw *w, const char *name)
{
    if (w->from != NULL)
        return strcmp(name, w->to) == 0;
    for (size_t i = 0; i < w->nadded; i++)
        if (strcmp(name, w->added[i]) == 0)
            return true;
    return false;
}

static void
identity(const vref *r, uint32_t *rte, int32_t *pos)
{
    *rte = UINT32_MAX;
    *pos = -1;
    if (r->kind == VREF_COLUMN && r->col->src != NULL) {
        *rte = r->col->src->id;
        *pos = (int32_t)r->col->pos;
    } else if (r->kind == VREF_COLUMN) {
        *rte = r->via->id;
        *pos = (int32_t)(r->col - r->via->cols.v);
    } else if (r->kind == VREF_WHOLEROW) {
        *rte = r->via->id;
    }
}

static int
by_cr(const void *a, const void *b)
{
    const binding *x = a, *y = b;
    return x->cr < y->cr ? -1 : x->cr > y->cr;
}

static binding *
find_binding(rw *w, const PgQuery__ColumnRef *cr)
{
    if (!w->sorted) {
        qsort(w->b, w->nb, sizeof *w->b, by_cr);
        w->sorted = true;
    }
    binding key = {.cr = cr};
    return bsearch(&key, w->b, w->nb, sizeof *w->b, by_cr);
}

static cc_code
add_binding(rw *w, const binding *b, cc_err *err)
{
    if (!ddl__vgrow((void **)&w->b, &w->capb, w->nb, sizeof *w->b))
        return nomem(err);
    w->b[w->nb++] = *b;
    w->sorted = false;
    return CC_OK;
}

/* The check pass: does cr bind as it did? */
static void
check_binding(rw *w, const PgQuery__ColumnRef *cr, const vref *r)
{
    binding *b = find_binding(w, cr);
    if (b == NULL || b->kind == VREF_UNKNOWN || r->kind == VREF_UNKNOWN)
        return;
    uint32_t rte;
    int32_t pos;
    identity(r, &rte, &pos);
    bool same = r->kind == b->kind;
    if (same && b->kind == VREF_OUTPUT)
        same = strcmp(r->col->name, b->name) == 0;
    else if (same && b->rte != UINT32_MAX)
        same = rte == b->rte && pos == b->pos;
    if (!same)
        b->bad = true;
}

static cc_code
on_colref(void *arg, vplan *p, PgQuery__ColumnRef *cr, PgQuery__ResTarget *rt, const vref *r,
          cc_err *err)
{
    (void)p;
    rw *w = arg;
    if (w->check) {
        check_binding(w, cr, r);
        return CC_OK;
    }
    binding b = {.cr = cr, .kind = r->kind};
    identity(r, &b.rte, &b.pos);
    if (r->kind == VREF_OUTPUT && (b.name = ddl__pool_strdup(&w->pool, r->col->name)) == NULL)
        return nomem(err);
    if (r->kind == VREF_COLUMN && is_renamed(w, r->col)) {
        size_t nf = cr->n_fields;
        if (!ddl__tree_set_string(&cr->fields[nf - 1]->string->sval, w->to))
            return nomem(err);
        const char *q = nf == 1 ? ddl__vscope_qualifier(r->at, r->col->src) : NULL;
        PgQuery__Node *qn = q != NULL ? ddl__tree_string(q) : NULL;
        if (q != NULL && (qn == NULL || !ddl__tree_insert(&cr->fields, &cr->n_fields, 0, qn))) {
            if (qn != NULL)
                pg_query__node__free_unpacked(qn, NULL);
            return nomem(err);
        }
        /* The target entry keeps its output name. */
        if (rt != NULL && (rt->name == NULL || rt->name[0] == '\0') &&
            !ddl__tree_set_string(&rt->name, w->from))
            return nomem(err);
        w->changed = true;
    } else if (r->kind == VREF_COLUMN && cr->n_fields == 1) {
        const vrte *item = r->col->src != NULL ? r->col->src : r->via;
        const char *q = ddl__vscope_qualifier(r->at, item);
        if (q != NULL && item->kind != VRTE_JOIN && item->kind != VRTE_OUTPUT) {
            const vcol *own = r->col->src != NULL ? &item->cols.v[r->col->pos] : r->col;
            /* Only a qualifier under which the same name reaches the column. */
            if (strcmp(own->name, ddl__str(cr->fields[0])) == 0 &&
                (b.qual = ddl__pool_strdup(&w->pool, q)) == NULL)
                return nomem(err);
        }
    }
    return add_binding(w, &b, err);
}

static cc_code
on_star(void *arg, vplan *p, PgQuery__SelectStmt *s, size_t index, const vcols *ex,
        const vlevel *at, cc_err *err)
{
    (void)p;
    rw *w = arg;
    if (w->check)
        return CC_OK;
    bool need = false;
    for (size_t i = 0; i < ex->n && !need; i++)
        need = w->from == NULL ? is_rel_column(w, &ex->v[i]) : is_renamed(w, &ex->v[i]);
    if (!need)
        return CC_OK;
    if (!ex->complete)
        return cc_err_set_state(err, CC_INVALID, "0A000",
                                "feature not supported: spelling out * over a relation whose "
                                "columns are not known, in view %s",
                                w->view->name);
    if (!ddl__vgrow((void **)&w->x, &w->capx, w->nx, sizeof *w->x))
        return nomem(err);
    starx *x = &w->x[w->nx];
    x->s = s;
    x->index = index;
    x->cr = s->target_list[index]->res_target->val->column_ref;
    x->n = ex->n;
    x->cols = ddl__pool_alloc(&w->pool, (ex->n + 1) * sizeof *x->cols);
    if (x->cols == NULL)
        return nomem(err);
    for (size_t i = 0; i < ex->n; i++) {
        const vcol *c = &ex->v[i];
        xcol *o = &x->cols[i];
        o->rte = UINT32_MAX;
        o->pos = -1;
        o->name = c->name;
        if (c->src != NULL && (o->qual = ddl__vscope_qualifier(at, c->src)) != NULL) {
            o->name = c->src->cols.v[c->pos].name;
            o->rte = c->src->id;
            o->pos = (int32_t)c->pos;
        } else if (c->src == NULL && c->item != NULL) {
            /* A subquery's, CTE's or function's column: through its FROM item's name. */
            o->qual = ddl__vscope_qualifier(at, c->item);
        }
        if (is_renamed(w, c))
            o->name = w->to;
        if (strcmp(o->name, c->name) != 0)
            o->alias = c->name;
        /* The names may point into the pass's decoded values: keep copies. */
        o->name = ddl__pool_strdup(&w->pool, o->name);
        if (o->name == NULL ||
            (o->alias != NULL && (o->alias = ddl__pool_strdup(&w->pool, o->alias)) == NULL) ||
            (o->qual != NULL && (o->qual = ddl__pool_strdup(&w->pool, o->qual)) == NULL))
            return nomem(err);
    }
    w->nx++;
    return CC_OK;
}

/* USING / NATURAL over the column: its meaning would change with the names. */
static cc_code
on_merge(void *arg, vplan *p, PgQuery__JoinExpr *j, const vcols *l, const vcols *r, cc_err *err)
{
    (void)p;
    rw *w = arg;
    if (w->check)
        return CC_OK;
    for (int side = 0; side < 2; side++) {
        const vcols *cs = side == 0 ? l : r, *other = side == 0 ? r : l;
        bool hit = false;
        for (size_t i = 0; i < cs->n && !hit; i++)
            hit = w->from != NULL ? is_renamed(w, &cs->v[i]) : is_rel_column(w, &cs->v[i]);
        if (!hit)
            continue;
        bool unsafe = false;
        for (size_t i = 0; i < j->n_using_clause && !unsafe; i++) {
            const char *u = ddl__str(j->using_clause[i]);
            unsafe =
                u != NULL && ((w->from != NULL && strcmp(u, w->from) == 0) || is_new_name(w, u));
        }
        for (size_t i = 0; j->is_natural && i < other->n && !unsafe; i++)
            unsafe = is_new_name(w, other->v[i].name) ||
                     (w->from != NULL && strcmp(other->v[i].name, w->from) == 0);
        if (!unsafe)
            continue;
        if (w->from != NULL)
            cc_err_set_state(err, CC_INVALID, "0A000",
                             "feature not supported: renaming column %s of %s %s, which %s %s "
                             "joins with USING or NATURAL",
                             w->from, cat_kind_name(w->rel->kind), w->rel->name,
                             cat_kind_name(w->view->kind), w->view->name);
        else
            cc_err_set_state(err, CC_INVALID, "0A000",
                             "feature not supported: adding column %s to %s %s, which %s %s "
                             "joins with USING or NATURAL",
                             w->to, cat_kind_name(w->rel->kind), w->rel->name,
                             cat_kind_name(w->view->kind), w->view->name);
        return cc_err_hint(err, "Drop the %s, alter the %s, then create the %s again.",
                           cat_kind_name(w->view->kind), cat_kind_name(w->rel->kind),
                           cat_kind_name(w->view->kind));
    }
    return CC_OK;
}

static const vvisit visitor = {NULL, on_colref, on_star, on_merge};

/* A target entry [qual.]name [AS alias] (malloc memory for the tree: tree.c). */
static PgQuery__Node *
res_target(const xcol *x)
{
    PgQuery__Node *n = cc_malloc(sizeof *n);
    PgQuery__ResTarget *rt = cc_malloc(sizeof *rt);
    PgQuery__Node *val = ddl__tree_column_ref(x->qual, x->name);
    if (n == NULL || rt == NULL || val == NULL) {
        cc_free(n);
        cc_free(rt);
        if (val != NULL)
            pg_query__node__free_unpacked(val, NULL);
        return NULL;
    }
    pg_query__node__init(n);
    pg_query__res_target__init(rt);
    rt->location = -1;
    rt->val = val;
    n->node_case = PG_QUERY__NODE__NODE_RES_TARGET;
    n->res_target = rt;
    if (x->alias != NULL && !ddl__tree_set_string(&rt->name, x->alias)) {
        pg_query__node__free_unpacked(n, NULL);
        return NULL;
    }
    return n;
}

/* Spells out the recorded stars (last first, so earlier indexes stay valid). */
static cc_code
expand_stars(rw *w, cc_err *err)
{
    for (size_t k = w->nx; k-- > 0;) {
        starx *x = &w->x[k];
        for (size_t i = 0; i < w->nb; i++)
            if (w->b[i].cr == x->cr)
                w->b[i].cr = NULL; /* freed below */
        ddl__tree_remove(x->s->target_list, &x->s->n_target_list, x->index);
        for (size_t i = 0; i < x->n; i++) {
            PgQuery__Node *n = res_target(&x->cols[i]);
            if (n == NULL ||
                !ddl__tree_insert(&x->s->target_list, &x->s->n_target_list, x->index + i, n)) {
                if (n != NULL)
                    pg_query__node__free_unpacked(n, NULL);
                return nomem(err);
            }
            binding b = {.cr = n->res_target->val->column_ref,
                         .kind = VREF_COLUMN,
                         .rte = x->cols[i].rte,
                         .pos = x->cols[i].pos};
            cc_code rc = add_binding(w, &b, err);
            if (rc != CC_OK)
                return rc;
        }
        w->changed = true;
    }
    w->nx = 0;
    return CC_OK;
}

/* rel's column names after the change. */
static cc_code
new_names(rw *w, const char ***names, size_t *n, cc_err *err)
{
    ProtobufCMessage *m;
    cc_code rc = cat_object_decode(w->rel, &m, err);
    if (rc != CC_OK)
        return rc;
    const Cowcat__Catalog__ItemValue *v = (const Cowcat__Catalog__ItemValue *)m;
    const char **out = ddl__pool_alloc(&w->pool, (v->n_columns + w->nadded + 2) * sizeof *out);
    w->frompos = -1;
    for (size_t i = 0; out != NULL && i < v->n_columns; i++) {
        out[i] = ddl__pool_strdup(&w->pool, v->columns[i]->name);
        if (out[i] == NULL)
            out = NULL;
        else if (w->from != NULL && strcmp(v->columns[i]->name, w->from) == 0) {
            w->frompos = (long)i;
            out[i] = w->to;
        }
    }
    *n = v->n_columns;
    protobuf_c_message_free_unpacked(m, NULL);
    if (out == NULL)
        return nomem(err);
    for (size_t i = 0; w->from == NULL && i < w->nadded; i++)
        out[(*n)++] = w->added[i];
    *names = out;
    return CC_OK;
}

/* One binding pass over sel; cols: its output columns (names copied into w's pool). */
static cc_code
bind(rw *w, PgQuery__SelectStmt *sel, const char **names, size_t nnames, const char ***cols,
     size_t *ncols, cc_err *err)
{
    vplan p = {.c = w->c, .owner = w->view};
    vvisit v = visitor;
    v.arg = w;
    p.visit = &v;
    if (names != NULL) {
        p.override_rel = w->rel->ref;
        p.override_names = names;
        p.noverride = nnames;
        p.verify = true;
    }
    vcols out;
    cc_code rc = ddl__vscope_query(&p, sel, &out, err);
    if (rc == CC_OK) {
        *cols = ddl__pool_alloc(&w->pool, (out.n + 1) * sizeof **cols);
        if (*cols == NULL)
            rc = nomem(err);
        for (size_t i = 0; rc == CC_OK && i < out.n; i++)
            if (((*cols)[i] = ddl__pool_strdup(&w->pool, out.v[i].name)) == NULL)
                rc = nomem(err);
        *ncols = out.n;
    }
    ddl__vplan_fini(&p);
    return rc;
}

static cc_code
changes_reads(rw *w, cc_err *err)
{
    if (w->from != NULL)
        cc_err_set_state(err, CC_INVALID, "0A000",
                         "feature not supported: renaming column %s of %s %s would change what "
                         "%s %s reads",
                         w->from, cat_kind_name(w->rel->kind), w->rel->name,
                         cat_kind_name(w->view->kind), w->view->name);
    else
        cc_err_set_state(err, CC_INVALID, "0A000",
                         "feature not supported: adding column %s to %s %s would change what %s "
                         "%s reads",
                         w->to, cat_kind_name(w->rel->kind), w->rel->name,
                         cat_kind_name(w->view->kind), w->view->name);
    return cc_err_hint(err, "Drop the %s, alter the %s, then create the %s again.",
                       cat_kind_name(w->view->kind), cat_kind_name(w->rel->kind),
                       cat_kind_name(w->view->kind));
}

/* The check pass: every binding as before, the same output names. */
static cc_code
check(rw *w, PgQuery__SelectStmt *sel, const char **names, size_t nnames, const char **cols0,
      size_t ncols0, bool *ok, cc_err *err)
{
    for (size_t i = 0; i < w->nb; i++)
        w->b[i].bad = false;
    w->check = true;
    const char **cols;
    size_t ncols;
    cc_code rc = bind(w, sel, names, nnames, &cols, &ncols, err);
    w->check = false;
    if (rc == CC_NOT_FOUND || rc == CC_INVALID || rc == CC_PARSE) {
        /* The rewritten query no longer binds at all (a USING column went, ...). */
        *ok = false;
        cc_err_clear(err);
        w->c->errpos = 0;
        return CC_OK;
    }
    if (rc != CC_OK)
        return rc;
    *ok = ncols == ncols0;
    for (size_t i = 0; *ok && i < ncols; i++)
        *ok = strcmp(cols[i], cols0[i]) == 0;
    for (size_t i = 0; i < w->nb; i++)
        *ok &= !w->b[i].bad;
    return CC_OK;
}

/* The SELECT of a view's or materialized view's statement, or NULL. */
static PgQuery__SelectStmt *
view_query(PgQuery__Node *stmt)
{
    PgQuery__Node *q = NULL;
    if (stmt->node_case == PG_QUERY__NODE__NODE_VIEW_STMT)
        q = stmt->view_stmt->query;
    else if (stmt->node_case == PG_QUERY__NODE__NODE_CREATE_TABLE_AS_STMT)
        q = stmt->create_table_as_stmt->query;
    return q != NULL && q->node_case == PG_QUERY__NODE__NODE_SELECT_STMT ? q->select_stmt : NULL;
}

static cc_code
parse_stored(const cat_object *o, PgQuery__ParseResult **tree, cc_err *err)
{
    ProtobufCMessage *m;
    cc_code rc = cat_object_decode(o, &m, err);
    if (rc != CC_OK)
        return rc;
    rc = ddl__parse_stored(((Cowcat__Catalog__ItemValue *)m)->create_sql, o->name, tree, err);
    protobuf_c_message_free_unpacked(m, NULL);
    return rc;
}

static cc_code rewrite(rw *w, char **out, cc_err *err);

cc_code
ddl__view_sql_column(ddl_ctx *c, const cat_object *view, const cat_object *rel, const char *from,
                     const char *to, char **out, cc_err *err)
{
    rw w = {.c = c, .view = view, .rel = rel, .from = from, .to = to};
    if (from == NULL) {
        w.added = &to;
        w.nadded = 1;
    }
    return rewrite(&w, out, err);
}

cc_code
ddl__view_sql_added(ddl_ctx *c, const cat_object *view, const cat_object *rel,
                    const char *const *added, size_t nadded, char **out, cc_err *err)
{
    rw w = {.c = c, .view = view, .rel = rel, .to = added[0], .added = added, .nadded = nadded};
    return rewrite(&w, out, err);
}

static cc_code
rewrite(rw *wp, char **out, cc_err *err)
{
    rw w = *wp;
    ddl_ctx *c = w.c;
    const cat_object *view = w.view;
    *out = NULL;
    const char **names = NULL, **cols0 = NULL;
    size_t nnames = 0, ncols0 = 0;
    PgQuery__ParseResult *tree = NULL;
    cc_code rc = new_names(&w, &names, &nnames, err);
    if (rc == CC_OK)
        rc = parse_stored(view, &tree, err);
    PgQuery__Node *stmt = rc == CC_OK ? tree->stmts[0]->stmt : NULL;
    PgQuery__SelectStmt *sel = stmt != NULL ? view_query(stmt) : NULL;
    if (rc == CC_OK && sel == NULL)
        rc = cc_err_set(err, CC_CORRUPT, "the stored statement of %s is not a view", view->name);
    if (rc == CC_OK && (rc = bind(&w, sel, NULL, 0, &cols0, &ncols0, err)) != CC_OK &&
        rc != CC_NOMEM && strcmp(cc_err_sqlstate(err), "0A000") != 0) {
        /* A stored query that no longer binds (made before views were checked this closely). */
        char msg[CC_ERR_MSG_MAX];
        snprintf(msg, sizeof msg, "%s", err->msg);
        cc_err_clear(err);
        rc = cc_err_set_state(err, CC_INVALID, "0A000",
                              "feature not supported: rewriting %s %s, whose stored query does "
                              "not bind: %s",
                              cat_kind_name(view->kind), view->name, msg);
    }
    if (rc == CC_OK)
        rc = expand_stars(&w, err);
    bool ok = true;
    /* Even an untouched view is checked: the new name may capture one of its references. */
    if (rc == CC_OK)
        rc = check(&w, sel, names, nnames, cols0, ncols0, &ok, err);
    if (rc == CC_OK && !ok) {
        /* Qualify what the new name captured or made ambiguous, and check again. */
        bool fixable = true;
        for (size_t i = 0; i < w.nb && fixable; i++) {
            binding *b = &w.b[i];
            if (!b->bad)
                continue;
            PgQuery__ColumnRef *cr = (PgQuery__ColumnRef *)b->cr;
            PgQuery__Node *qn =
                b->qual != NULL && cr->n_fields == 1 ? ddl__tree_string(b->qual) : NULL;
            if (qn == NULL || !ddl__tree_insert(&cr->fields, &cr->n_fields, 0, qn)) {
                if (qn != NULL)
                    pg_query__node__free_unpacked(qn, NULL);
                fixable = false;
            }
            w.changed = true;
        }
        if (fixable)
            rc = check(&w, sel, names, nnames, cols0, ncols0, &ok, err);
        if (rc == CC_OK && (!fixable || !ok))
            rc = changes_reads(&w, err);
    }
    if (rc == CC_OK && w.changed)
        rc = ddl__deparse(stmt, out, err);
    if (rc != CC_OK)
        c->errpos = 0; /* a position in the view's statement, not in the ALTER */
    ddl__parse_free(tree);
    cc_free(w.b);
    cc_free(w.x);
    ddl__pool_fini(&w.pool);
    return rc;
}

cc_code
ddl__view_sql_rename_output(ddl_ctx *c, const cat_object *view, const char *from, const char *to,
                            char **out, cc_err *err)
{
    (void)c;
    *out = NULL;
    ProtobufCMessage *m;
    cc_code rc = cat_object_decode(view, &m, err);
    if (rc != CC_OK)
        return rc;
    const Cowcat__Catalog__ItemValue *v = (const Cowcat__Catalog__ItemValue *)m;
    PgQuery__ParseResult *tree = NULL;
    rc = ddl__parse_stored(v->create_sql, view->name, &tree, err);
    PgQuery__Node ***names = NULL;
    size_t *n = NULL;
    if (rc == CC_OK) {
        PgQuery__Node *stmt = tree->stmts[0]->stmt;
        if (stmt->node_case == PG_QUERY__NODE__NODE_VIEW_STMT) {
            names = &stmt->view_stmt->aliases;
            n = &stmt->view_stmt->n_aliases;
        } else if (stmt->node_case == PG_QUERY__NODE__NODE_CREATE_TABLE_AS_STMT &&
                   stmt->create_table_as_stmt->into != NULL) {
            names = &stmt->create_table_as_stmt->into->col_names;
            n = &stmt->create_table_as_stmt->into->n_col_names;
        } else {
            rc =
                cc_err_set(err, CC_CORRUPT, "the stored statement of %s is not a view", view->name);
        }
    }
    /* The column list names every column up to the renamed one (CREATE VIEW v (a, b) AS). */
    size_t at = v->n_columns;
    for (size_t i = 0; i < v->n_columns; i++)
        if (strcmp(v->columns[i]->name, from) == 0)
            at = i;
    if (rc == CC_OK && at == v->n_columns)
        rc = cc_err_set_state(err, CC_NOT_FOUND, "42703", "column \"%s\" does not exist", from);
    for (size_t i = n != NULL ? *n : 0; rc == CC_OK && i <= at; i++) {
        PgQuery__Node *s = ddl__tree_string(v->columns[i]->name);
        if (s == NULL || !ddl__tree_insert(names, n, i, s)) {
            if (s != NULL)
                pg_query__node__free_unpacked(s, NULL);
            rc = cc_err_set(err, CC_NOMEM, "out of memory rewriting a view");
        }
    }
    if (rc == CC_OK && ((*names)[at]->node_case != PG_QUERY__NODE__NODE_STRING ||
                        !ddl__tree_set_string(&(*names)[at]->string->sval, to)))
        rc = cc_err_set(err, CC_NOMEM, "out of memory rewriting a view");
    if (rc == CC_OK)
        rc = ddl__deparse(tree->stmts[0]->stmt, out, err);
    ddl__parse_free(tree);
    protobuf_c_message_free_unpacked(m, NULL);
    return rc;
}
