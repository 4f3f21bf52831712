/*
 * ddl/src/select.c — SELECT over one builtin relation (or none), the way a
 * client's catalog queries need it.
 *
 *   FROM      at most one relation: information_schema.x / cowcat_catalog.x,
 *             or unqualified when that schema is on the search_path;
 *             optional alias. A user relation exists but holds no rows
 *             here: 0A000.
 *   targets   columns, *, rel.*, constants, session functions, casts,
 *             count(*) / count(expr) (then every other target must be
 *             constant: 42803 otherwise, as without GROUP BY in PostgreSQL)
 *   WHERE     expr.c: comparisons, AND/OR/NOT, IS [NOT] NULL, [NOT] LIKE,
 *             ILIKE, [NOT] IN (list), [NOT] BETWEEN
 *   ORDER BY  output names / positions first, then input expressions;
 *             ASC / DESC, NULLS FIRST / LAST (default: NULLs sort as the
 *             largest value, as in PostgreSQL); ties keep the relation's
 *             order (it is sorted by oid), so results are deterministic
 *   LIMIT / OFFSET integer constants
 *
 * Execution: the relation is computed whole (relations.c), rows are
 * filtered, sorted, sliced and projected, and go out through
 * ddl__emit_columns / ddl__emit_row; the tag is "SELECT n".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "internal.h"

typedef enum agg_kind { AGG_NONE = 0, AGG_COUNT_STAR, AGG_COUNT } agg_kind;

/* One output column. */
typedef struct target {
    ddl_expr *e; /* the value (AGG_COUNT: the counted expression; COUNT_STAR: NULL) */
    agg_kind agg;
    const char *name; /* output name (borrowed) */
    uint32_t oid;
    int32_t location;
} target;

/* One ORDER BY key. */
typedef struct sort_key {
    const ddl_expr *e; /* borrowed from a target or owned (owned != NULL) */
    ddl_expr *owned;
    bool desc;
    bool nulls_first;
} sort_key;

typedef struct query {
    const ddl_builtin *rel; /* NULL: no FROM */
    ddl_scope scope;
    target *t;
    size_t nt, tcap;
    bool aggregate;
    ddl_expr *where;
    sort_key *keys;
    size_t nkeys;
    int64_t limit; /* -1: none */
    int64_t offset;
} query;

static void
query_fini(query *q)
{
    for (size_t i = 0; i < q->nt; i++)
        ddl__expr_free(q->t[i].e);
    cc_free(q->t);
    ddl__expr_free(q->where);
    for (size_t i = 0; i < q->nkeys; i++)
        ddl__expr_free(q->keys[i].owned);
    cc_free(q->keys);
}

static cc_code
nomem(cc_err *err)
{
    return cc_err_set(err, CC_NOMEM, "out of memory running a query");
}

/* --- FROM ------------------------------------------------------------------------------ */

static bool
is_builtin_schema(const char *name)
{
    return strcmp(name, "information_schema") == 0 || strcmp(name, "cowcat_catalog") == 0;
}

static cc_code
no_rows_here(ddl_ctx *c, const cat_object *o, int32_t location, cc_err *err)
{
    char qn[2 * DDL_NAME_MAX + 2], what[3 * DDL_NAME_MAX];
    cat_state_qualified_name(c->st, o, qn, sizeof qn);
    snprintf(what, sizeof what, "reading rows of %s \"%s\" (cowcat keeps only the catalog)",
             cat_kind_name(o->kind), qn);
    return ddl__unsupported(c, location, what, err);
}

/* Resolves the FROM relation. Errors: 42P01, 0A000 (user relations, other databases). */
static cc_code
resolve_from(ddl_ctx *c, const PgQuery__RangeVar *rv, const ddl_builtin **out, cc_err *err)
{
    ddl_qname q = ddl__qname_rv(rv);
    char qn[3 * DDL_NAME_MAX + 4];
    ddl__qname_str(&q, qn, sizeof qn);
    *out = NULL;
    if (q.database != NULL && strcmp(q.database, c->s->database) != 0) {
        char what[3 * DDL_NAME_MAX + 64];
        snprintf(what, sizeof what, "cross-database references: \"%s\"", qn);
        return ddl__unsupported(c, rv->location, what, err);
    }
    if (q.schema != NULL) {
        if ((*out = ddl__builtin_find(q.schema, q.name)) != NULL)
            return CC_OK;
        const cat_object *sc = is_builtin_schema(q.schema) ? NULL : ddl__find_schema(c, q.schema);
        const cat_object *o = sc ? cat_state_find_relation(c->st, sc->ref, q.name) : NULL;
        if (o != NULL)
            return no_rows_here(c, o, rv->location, err);
    } else {
        for (size_t i = 0; i < c->s->npath; i++) {
            const char *name = c->s->path[i];
            if (strcmp(name, "$user") == 0)
                name = c->s->user;
            if (is_builtin_schema(name)) {
                if ((*out = ddl__builtin_find(name, q.name)) != NULL)
                    return CC_OK;
                continue;
            }
            const cat_object *sc = ddl__find_schema(c, name);
            const cat_object *o = sc ? cat_state_find_relation(c->st, sc->ref, q.name) : NULL;
            if (o != NULL)
                return no_rows_here(c, o, rv->location, err);
        }
    }
    return ddl__at(
        c, rv->location,
        cc_err_set_state(err, CC_NOT_FOUND, "42P01", "relation \"%s\" does not exist", qn));
}

/* --- targets --------------------------------------------------------------------------- */

static cc_code
add_target(query *q, target t, cc_err *err)
{
    if (q->nt == q->tcap) {
        size_t ncap = q->tcap ? q->tcap * 2 : 16;
        target *nv = cc_realloc(q->t, ncap * sizeof *nv);
        if (nv == NULL) {
            ddl__expr_free(t.e);
            return nomem(err);
        }
        q->t = nv;
        q->tcap = ncap;
    }
    q->t[q->nt++] = t;
    return CC_OK;
}

/* Expands `*` / `rel.*` into one target per column. */
static cc_code
add_star(ddl_ctx *c, query *q, const PgQuery__ColumnRef *r, cc_err *err)
{
    if (q->rel == NULL)
        return ddl__at(c, r->location,
                       cc_err_set_state(err, CC_PARSE, "42601",
                                        "SELECT * with no tables specified is not valid"));
    if (r->n_fields >= 2) {
        const char *rel = ddl__str(r->fields[r->n_fields - 2]);
        if (rel == NULL || strcmp(rel, q->scope.relname) != 0)
            return ddl__at(c, r->location,
                           cc_err_set_state(err, CC_NOT_FOUND, "42P01",
                                            "missing FROM-clause entry for table \"%s\"",
                                            rel ? rel : "?"));
    }
    for (size_t i = 0; i < q->scope.ncols; i++) {
        PgQuery__String s = PG_QUERY__STRING__INIT;
        s.sval = (char *)q->scope.cols[i].name;
        PgQuery__Node sn = PG_QUERY__NODE__INIT;
        sn.node_case = PG_QUERY__NODE__NODE_STRING;
        sn.string = &s;
        PgQuery__Node *fields[1] = {&sn};
        PgQuery__ColumnRef cr = PG_QUERY__COLUMN_REF__INIT;
        cr.n_fields = 1;
        cr.fields = fields;
        cr.location = r->location;
        PgQuery__Node n = PG_QUERY__NODE__INIT;
        n.node_case = PG_QUERY__NODE__NODE_COLUMN_REF;
        n.column_ref = &cr;
        target t = {.location = r->location};
        cc_code rc = ddl__expr_compile(c, &q->scope, &n, &t.e, err);
        if (rc != CC_OK)
            return rc;
        t.name = q->scope.cols[i].name;
        t.oid = q->scope.cols[i].type_oid;
        if ((rc = add_target(q, t, err)) != CC_OK)
            return rc;
    }
    return CC_OK;
}

/* count(*) / count(x): *is_agg true if f is an aggregate this file runs. */
static cc_code
compile_agg(ddl_ctx *c, query *q, const PgQuery__FuncCall *f, const char *alias, bool *is_agg,
            cc_err *err)
{
    const char *name = f->n_funcname ? ddl__str(f->funcname[f->n_funcname - 1]) : NULL;
    *is_agg = false;
    if (name == NULL)
        return CC_OK;
    static const char *const aggs[] = {"sum",       "min",      "max",     "avg",   "string_agg",
                                       "array_agg", "bool_and", "bool_or", "every", "json_agg"};
    for (size_t i = 0; i < sizeof aggs / sizeof aggs[0]; i++)
        if (strcmp(name, aggs[i]) == 0) {
            char what[64];
            snprintf(what, sizeof what, "aggregate function %s()", name);
            return ddl__unsupported(c, f->location, what, err);
        }
    if (strcmp(name, "count") != 0)
        return CC_OK;
    if (f->agg_distinct || f->agg_filter != NULL || f->over != NULL || f->n_agg_order > 0)
        return ddl__unsupported(c, f->location, "count() with DISTINCT, FILTER, ORDER BY or OVER",
                                err);
    *is_agg = true;
    q->aggregate = true;
    target t = {.name = alias ? alias : "count", .oid = 20, .location = f->location};
    if (f->agg_star) {
        t.agg = AGG_COUNT_STAR;
    } else if (f->n_args == 1) {
        t.agg = AGG_COUNT;
        cc_code rc = ddl__expr_compile(c, &q->scope, f->args[0], &t.e, err);
        if (rc != CC_OK)
            return rc;
    } else {
        return ddl__at(c, f->location,
                       cc_err_set_state(err, CC_INVALID, "42883",
                                        "function count() does not exist with %zu arguments",
                                        f->n_args));
    }
    return add_target(q, t, err);
}

static cc_code
compile_targets(ddl_ctx *c, query *q, const PgQuery__SelectStmt *s, cc_err *err)
{
    cc_code rc = CC_OK;
    for (size_t i = 0; i < s->n_target_list && rc == CC_OK; i++) {
        const PgQuery__Node *tn = s->target_list[i];
        if (tn->node_case != PG_QUERY__NODE__NODE_RES_TARGET || tn->res_target->val == NULL)
            return ddl__unsupported(c, -1, "this target list", err);
        const PgQuery__ResTarget *rt = tn->res_target;
        const char *alias = rt->name != NULL && rt->name[0] ? rt->name : NULL;
        const PgQuery__Node *v = rt->val;
        if (v->node_case == PG_QUERY__NODE__NODE_COLUMN_REF && v->column_ref->n_fields > 0 &&
            v->column_ref->fields[v->column_ref->n_fields - 1]->node_case ==
                PG_QUERY__NODE__NODE_A_STAR) {
            rc = add_star(c, q, v->column_ref, err);
            continue;
        }
        if (v->node_case == PG_QUERY__NODE__NODE_FUNC_CALL) {
            bool is_agg;
            if ((rc = compile_agg(c, q, v->func_call, alias, &is_agg, err)) != CC_OK || is_agg)
                continue;
        }
        target t = {.location = rt->location};
        if ((rc = ddl__expr_compile(c, &q->scope, v, &t.e, err)) != CC_OK)
            break;
        t.name = alias ? alias : ddl__expr_name(t.e);
        t.oid = ddl__expr_type_oid(t.e);
        rc = add_target(q, t, err);
    }
    if (rc != CC_OK || !q->aggregate)
        return rc;
    for (size_t i = 0; i < q->nt; i++)
        if (q->t[i].agg == AGG_NONE && ddl__expr_has_columns(q->t[i].e))
            return ddl__at(c, q->t[i].location,
                           cc_err_set_state(err, CC_INVALID, "42803",
                                            "column \"%s.%s\" must appear in the GROUP BY clause "
                                            "or be used in an aggregate function",
                                            q->scope.relname, ddl__expr_name(q->t[i].e)));
    return CC_OK;
}

/* --- ORDER BY, LIMIT ------------------------------------------------------------------- */

/* The target an ORDER BY item names (an output name or position), or -1. */
static cc_code
sort_target(ddl_ctx *c, const query *q, const PgQuery__Node *n, int32_t location, long *out,
            cc_err *err)
{
    *out = -1;
    if (n->node_case == PG_QUERY__NODE__NODE_A_CONST &&
        n->a_const->val_case == PG_QUERY__A__CONST__VAL_IVAL) {
        long pos = n->a_const->ival->ival;
        (void)location;
        if (pos < 1 || (size_t)pos > q->nt)
            return ddl__at(c, n->a_const->location,
                           cc_err_set_state(err, CC_INVALID, "42P10",
                                            "ORDER BY position %ld is not in select list", pos));
        *out = pos - 1;
        return CC_OK;
    }
    if (n->node_case != PG_QUERY__NODE__NODE_COLUMN_REF || n->column_ref->n_fields != 1)
        return CC_OK;
    const char *name = ddl__str(n->column_ref->fields[0]);
    for (size_t i = 0; name != NULL && i < q->nt; i++)
        if (strcmp(q->t[i].name, name) == 0) {
            if (*out >= 0 && q->t[*out].e != q->t[i].e)
                return ddl__at(c, location,
                               cc_err_set_state(err, CC_INVALID, "42702",
                                                "ORDER BY \"%s\" is ambiguous", name));
            if (*out < 0)
                *out = (long)i;
        }
    return CC_OK;
}

static cc_code
compile_order(ddl_ctx *c, query *q, const PgQuery__SelectStmt *s, cc_err *err)
{
    if (s->n_sort_clause == 0)
        return CC_OK;
    q->keys = cc_calloc(s->n_sort_clause, sizeof *q->keys);
    if (q->keys == NULL)
        return nomem(err);
    for (size_t i = 0; i < s->n_sort_clause; i++) {
        const PgQuery__Node *sn = s->sort_clause[i];
        if (sn->node_case != PG_QUERY__NODE__NODE_SORT_BY)
            return ddl__unsupported(c, -1, "this ORDER BY", err);
        const PgQuery__SortBy *sb = sn->sort_by;
        if (sb->sortby_dir == PG_QUERY__SORT_BY_DIR__SORTBY_USING)
            return ddl__unsupported(c, sb->location, "ORDER BY ... USING", err);
        sort_key *k = &q->keys[q->nkeys];
        k->desc = sb->sortby_dir == PG_QUERY__SORT_BY_DIR__SORTBY_DESC;
        k->nulls_first =
            sb->sortby_nulls == PG_QUERY__SORT_BY_NULLS__SORTBY_NULLS_FIRST ||
            (k->desc && sb->sortby_nulls != PG_QUERY__SORT_BY_NULLS__SORTBY_NULLS_LAST);
        long ti;
        cc_code rc = sort_target(c, q, sb->node, sb->location, &ti, err);
        if (rc != CC_OK)
            return rc;
        if (ti >= 0) {
            /* An aggregate's output is one row: sorting it is a no-op. */
            if (q->t[ti].agg != AGG_NONE)
                continue;
            k->e = q->t[ti].e;
        } else {
            if ((rc = ddl__expr_compile(c, &q->scope, sb->node, &k->owned, err)) != CC_OK)
                return rc;
            if (q->aggregate && ddl__expr_has_columns(k->owned))
                return ddl__at(c,
                               sb->node->node_case == PG_QUERY__NODE__NODE_COLUMN_REF
                                   ? sb->node->column_ref->location
                                   : -1,
                               cc_err_set_state(err, CC_INVALID, "42803",
                                                "column \"%s.%s\" must appear in the GROUP BY "
                                                "clause or be used in an aggregate function",
                                                q->scope.relname, ddl__expr_name(k->owned)));
            k->e = k->owned;
        }
        q->nkeys++;
    }
    return CC_OK;
}

/* A LIMIT / OFFSET value: a constant integer (NULL: none → dflt). */
static cc_code
const_int(ddl_ctx *c, const PgQuery__Node *n, const char *what, const char *neg_state, int64_t dflt,
          int64_t *out, cc_err *err)
{
    *out = dflt;
    if (n == NULL)
        return CC_OK;
    ddl_scope none = {0};
    ddl_expr *e;
    cc_code rc = ddl__expr_compile(c, &none, n, &e, err);
    if (rc != CC_OK)
        return rc;
    ddl_value v;
    if ((rc = ddl__expr_eval(c, e, NULL, &v, err)) == CC_OK) {
        if (v.null || v.type == DDL_VT_NULL)
            ;
        else if (v.type != DDL_VT_INT)
            rc = cc_err_set_state(err, CC_INVALID, "42804",
                                  "argument of %s must be type bigint, not type %s", what,
                                  v.type == DDL_VT_BOOL ? "boolean" : "text");
        else if (v.i < 0)
            rc = cc_err_set_state(err, CC_INVALID, neg_state, "%s must not be negative", what);
        else
            *out = v.i;
    }
    ddl__expr_free(e);
    return rc;
}

/* --- execution ------------------------------------------------------------------------- */

typedef struct sort_ent {
    size_t row;      /* index in the relation's rows (tie-break: stable) */
    ddl_value *keys; /* nkeys values */
    const query *q;
} sort_ent;

static int
sort_cmp(const void *x, const void *y)
{
    const sort_ent *a = x, *b = y;
    for (size_t i = 0; i < a->q->nkeys; i++) {
        const sort_key *k = &a->q->keys[i];
        const ddl_value *va = &a->keys[i], *vb = &b->keys[i];
        bool na = va->null || va->type == DDL_VT_NULL, nb = vb->null || vb->type == DDL_VT_NULL;
        int r;
        if (na || nb)
            r = na == nb ? 0 : (na ? 1 : -1) * (k->nulls_first ? -1 : 1);
        else
            r = ddl__value_cmp(va, vb) * (k->desc ? -1 : 1);
        if (r != 0)
            return r;
    }
    return a->row < b->row ? -1 : a->row > b->row;
}

/* Emits the projected rows of kept[off..off+n). */
static cc_code
emit_plain(ddl_ctx *c, const query *q, const ddl_rows *rows, const sort_ent *kept, size_t n,
           size_t *emitted, cc_err *err)
{
    const char **vals = cc_calloc(q->nt ? q->nt : 1, sizeof *vals);
    char(*bufs)[32] = cc_calloc(q->nt ? q->nt : 1, sizeof *bufs);
    ddl_value *vs = cc_calloc(q->nt ? q->nt : 1, sizeof *vs);
    cc_code rc = vals && bufs && vs ? CC_OK : nomem(err);
    for (size_t r = 0; r < n && rc == CC_OK; r++) {
        const char *const *row = rows->n ? (const char *const *)rows->rows[kept[r].row] : NULL;
        for (size_t j = 0; j < q->nt && rc == CC_OK; j++)
            if ((rc = ddl__expr_eval(c, q->t[j].e, row, &vs[j], err)) == CC_OK)
                vals[j] = ddl__value_text(&vs[j], bufs[j], sizeof bufs[j]);
        if (rc == CC_OK && (rc = ddl__emit_row(c, vals, q->nt, err)) == CC_OK)
            (*emitted)++;
    }
    cc_free(vals);
    cc_free(bufs);
    cc_free(vs);
    return rc;
}

/* Emits the one row of an aggregate query over the kept rows. */
static cc_code
emit_aggregate(ddl_ctx *c, const query *q, const ddl_rows *rows, const sort_ent *kept, size_t nkept,
               size_t *emitted, cc_err *err)
{
    if (q->offset > 0 || q->limit == 0)
        return CC_OK;
    const char **vals = cc_calloc(q->nt, sizeof *vals);
    char(*bufs)[32] = cc_calloc(q->nt, sizeof *bufs);
    cc_code rc = vals && bufs ? CC_OK : nomem(err);
    for (size_t j = 0; j < q->nt && rc == CC_OK; j++) {
        ddl_value v;
        if (q->t[j].agg == AGG_NONE) {
            if ((rc = ddl__expr_eval(c, q->t[j].e, NULL, &v, err)) == CC_OK)
                vals[j] = ddl__value_text(&v, bufs[j], sizeof bufs[j]);
            continue;
        }
        uint64_t count = 0;
        for (size_t r = 0; r < nkept && rc == CC_OK; r++) {
            if (q->t[j].agg == AGG_COUNT_STAR) {
                count++;
                continue;
            }
            const char *const *row = (const char *const *)rows->rows[kept[r].row];
            if ((rc = ddl__expr_eval(c, q->t[j].e, row, &v, err)) == CC_OK)
                count += !(v.null || v.type == DDL_VT_NULL);
        }
        snprintf(bufs[j], sizeof bufs[j], "%llu", (unsigned long long)count);
        vals[j] = bufs[j];
    }
    if (rc == CC_OK && (rc = ddl__emit_row(c, vals, q->nt, err)) == CC_OK)
        *emitted = 1;
    cc_free(vals);
    cc_free(bufs);
    return rc;
}

static cc_code
run(ddl_ctx *c, query *q, cc_err *err)
{
    ddl_rows rows;
    ddl__rows_init(&rows, q->scope.ncols);
    cc_code rc = q->rel ? q->rel->fill(c, &rows, err) : CC_OK;
    size_t n = q->rel ? rows.n : 1; /* no FROM: one empty row */
    sort_ent *kept = NULL;
    ddl_value *keys = NULL;
    size_t nkept = 0, emitted = 0;
    if (rc == CC_OK) {
        kept = cc_calloc(n ? n : 1, sizeof *kept);
        keys = cc_calloc(n && q->nkeys ? n * q->nkeys : 1, sizeof *keys);
        if (kept == NULL || keys == NULL)
            rc = nomem(err);
    }
    for (size_t r = 0; r < n && rc == CC_OK; r++) {
        const char *const *row = q->rel ? (const char *const *)rows.rows[r] : NULL;
        if (q->where != NULL) {
            ddl_value v;
            if ((rc = ddl__expr_eval(c, q->where, row, &v, err)) != CC_OK)
                break;
            if (!ddl__value_true(&v))
                continue;
        }
        sort_ent *e = &kept[nkept++];
        e->row = r;
        e->q = q;
        e->keys = keys + (nkept - 1) * q->nkeys;
        for (size_t k = 0; k < q->nkeys && rc == CC_OK; k++)
            rc = ddl__expr_eval(c, q->keys[k].e, row, &e->keys[k], err);
    }
    cowcat_column *cols = NULL;
    if (rc == CC_OK && (cols = cc_calloc(q->nt ? q->nt : 1, sizeof *cols)) == NULL)
        rc = nomem(err);
    for (size_t j = 0; rc == CC_OK && j < q->nt; j++)
        cols[j] = (cowcat_column){q->t[j].name, q->t[j].oid};
    if (rc == CC_OK)
        rc = ddl__emit_columns(c, cols, q->nt, err);
    if (rc == CC_OK && q->aggregate) {
        rc = emit_aggregate(c, q, &rows, kept, nkept, &emitted, err);
    } else if (rc == CC_OK) {
        if (q->nkeys > 0 && nkept > 1)
            qsort(kept, nkept, sizeof *kept, sort_cmp);
        size_t off = (uint64_t)q->offset < nkept ? (size_t)q->offset : nkept;
        size_t cnt = nkept - off;
        if (q->limit >= 0 && (uint64_t)q->limit < cnt)
            cnt = (size_t)q->limit;
        rc = emit_plain(c, q, &rows, kept + off, cnt, &emitted, err);
    }
    if (rc == CC_OK)
        snprintf(c->tag, sizeof c->tag, "SELECT %zu", emitted);
    cc_free(cols);
    cc_free(kept);
    cc_free(keys);
    ddl__rows_fini(&rows);
    return rc;
}

/* The first clause of s this file does not run, or NULL. */
static const char *
unsupported_clause(const PgQuery__SelectStmt *s, int32_t *loc)
{
    *loc = -1;
    if (s->op != PG_QUERY__SET_OPERATION__SETOP_NONE &&
        s->op != PG_QUERY__SET_OPERATION__SET_OPERATION_UNDEFINED)
        return s->op == PG_QUERY__SET_OPERATION__SETOP_UNION       ? "UNION"
               : s->op == PG_QUERY__SET_OPERATION__SETOP_INTERSECT ? "INTERSECT"
                                                                   : "EXCEPT";
    if (s->with_clause != NULL)
        return *loc = s->with_clause->location, "WITH";
    if (s->n_values_lists > 0)
        return "VALUES";
    if (s->into_clause != NULL)
        return "SELECT INTO";
    if (s->n_distinct_clause > 0)
        return "DISTINCT";
    if (s->n_group_clause > 0)
        return "GROUP BY";
    if (s->having_clause != NULL)
        return "HAVING";
    if (s->n_window_clause > 0)
        return "WINDOW";
    if (s->n_locking_clause > 0)
        return "FOR UPDATE / FOR SHARE";
    if (s->limit_option == PG_QUERY__LIMIT_OPTION__LIMIT_OPTION_WITH_TIES)
        return "FETCH ... WITH TIES";
    if (s->n_from_clause > 1)
        return "joins (more than one relation in FROM)";
    return NULL;
}

/* What a FROM item other than a plain relation is called. */
static const char *
from_item_name(const PgQuery__Node *n, int32_t *loc)
{
    *loc = -1;
    switch (n->node_case) {
    case PG_QUERY__NODE__NODE_JOIN_EXPR:
        return "JOIN";
    case PG_QUERY__NODE__NODE_RANGE_SUBSELECT:
        return "subquery in FROM";
    case PG_QUERY__NODE__NODE_RANGE_FUNCTION:
        return "function in FROM";
    default:
        return "this FROM item";
    }
}

cc_code
ddl__select(ddl_ctx *c, const PgQuery__SelectStmt *s, cc_err *err)
{
    int32_t loc;
    const char *what = unsupported_clause(s, &loc);
    if (what != NULL)
        return ddl__unsupported(c, loc, what, err);
    query q = {.limit = -1};
    cc_code rc = CC_OK;
    if (s->n_from_clause == 1) {
        const PgQuery__Node *f = s->from_clause[0];
        if (f->node_case != PG_QUERY__NODE__NODE_RANGE_VAR) {
            what = from_item_name(f, &loc);
            return ddl__unsupported(c, loc, what, err);
        }
        const PgQuery__RangeVar *rv = f->range_var;
        if (rv->alias != NULL && rv->alias->n_colnames > 0)
            return ddl__unsupported(c, rv->location, "column aliases in FROM", err);
        if ((rc = resolve_from(c, rv, &q.rel, err)) != CC_OK)
            return rc;
        q.scope.relname = rv->alias != NULL ? rv->alias->aliasname : rv->relname;
        q.scope.cols = q.rel->cols;
        q.scope.ncols = q.rel->ncols;
    }
    if ((rc = compile_targets(c, &q, s, err)) != CC_OK)
        goto done;
    if (s->where_clause != NULL) {
        if ((rc = ddl__expr_compile(c, &q.scope, s->where_clause, &q.where, err)) != CC_OK)
            goto done;
        ddl_vtype t = ddl__expr_type(q.where);
        if (t != DDL_VT_BOOL && t != DDL_VT_NULL) {
            rc = cc_err_set_state(err, CC_INVALID, "42804",
                                  "argument of WHERE must be type boolean, not type %s",
                                  t == DDL_VT_INT ? "integer" : "text");
            goto done;
        }
    }
    if ((rc = compile_order(c, &q, s, err)) != CC_OK ||
        (rc = const_int(c, s->limit_count, "LIMIT", "2201W", -1, &q.limit, err)) != CC_OK ||
        (rc = const_int(c, s->limit_offset, "OFFSET", "2201X", 0, &q.offset, err)) != CC_OK)
        goto done;
    rc = run(c, &q, err);
done:
    query_fini(&q);
    return rc;
}
