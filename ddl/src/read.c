/*
 * ddl/src/read.c — the read side's entry point and its shared helpers.
 *
 * Reads run on the session's thread against a pinned version (c->st) and
 * never write: SELECT over one builtin relation or none (select.c), SHOW
 * TABLES and friends (show.c). The builtin relations (relations.c) are
 * computed from the version at query time into an in-memory ddl_rows; the
 * query then filters, sorts, slices and projects them.
 *
 * Helpers here: ddl_rows (a row set, one allocation per row), ddl_objs
 * (the objects of some kinds, sorted by oid: the stable order of every
 * builtin relation), name lookups for the relations' columns, and the
 * value helpers that select.c and expr.c share (output text, ordering,
 * LIKE) and the view analysis information_schema reports (ddl__view_info).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "internal.h"

/* --- row sets -------------------------------------------------------------------------- */

void
ddl__rows_init(ddl_rows *r, size_t ncols)
{
    memset(r, 0, sizeof *r);
    r->ncols = ncols;
}

cc_code
ddl__rows_add(ddl_rows *r, const char *const *cells, cc_err *err)
{
    size_t bytes = r->ncols * sizeof(char *);
    for (size_t j = 0; j < r->ncols; j++)
        if (cells[j] != NULL)
            bytes += strlen(cells[j]) + 1;
    if (r->n == r->cap) {
        size_t ncap = r->cap ? r->cap * 2 : 32;
        char ***nv = cc_realloc(r->rows, ncap * sizeof *nv);
        if (nv == NULL)
            return cc_err_set(err, CC_NOMEM, "out of memory building a result");
        r->rows = nv;
        r->cap = ncap;
    }
    char **row = cc_malloc(bytes ? bytes : 1);
    if (row == NULL)
        return cc_err_set(err, CC_NOMEM, "out of memory building a result");
    char *p = (char *)(row + r->ncols);
    for (size_t j = 0; j < r->ncols; j++) {
        if (cells[j] == NULL) {
            row[j] = NULL;
            continue;
        }
        size_t len = strlen(cells[j]) + 1;
        memcpy(p, cells[j], len);
        row[j] = p;
        p += len;
    }
    r->rows[r->n++] = row;
    return CC_OK;
}

void
ddl__rows_fini(ddl_rows *r)
{
    for (size_t i = 0; i < r->n; i++)
        cc_free(r->rows[i]);
    cc_free(r->rows);
    memset(r, 0, sizeof *r);
}

cc_code
ddl__emit_rows(ddl_ctx *c, const cowcat_column *cols, const ddl_rows *rows, cc_err *err)
{
    cc_code rc = ddl__emit_columns(c, cols, rows->ncols, err);
    for (size_t i = 0; i < rows->n && rc == CC_OK; i++)
        rc = ddl__emit_row(c, (const char *const *)rows->rows[i], rows->ncols, err);
    if (rc == CC_OK)
        snprintf(c->tag, sizeof c->tag, "SELECT %zu", rows->n);
    return rc;
}

/* --- objects by kind ------------------------------------------------------------------- */

typedef struct collect_arg {
    uint32_t kinds;
    ddl_objs *out;
    size_t cap;
    bool nomem;
} collect_arg;

static int
collect_cb(void *arg, const cat_object *o)
{
    collect_arg *a = arg;
    if (!(a->kinds & (1u << o->kind)))
        return 0;
    if (a->out->n == a->cap) {
        size_t ncap = a->cap ? a->cap * 2 : 64;
        const cat_object **nv = cc_realloc((void *)a->out->v, ncap * sizeof *nv);
        if (nv == NULL) {
            a->nomem = true;
            return 1;
        }
        a->out->v = nv;
        a->cap = ncap;
    }
    a->out->v[a->out->n++] = o;
    return 0;
}

/* By oid (clusters, oid 0, last), then ref. */
static int
obj_cmp(const void *x, const void *y)
{
    const cat_object *a = *(const cat_object *const *)x, *b = *(const cat_object *const *)y;
    uint64_t ka = a->oid ? a->oid : UINT64_MAX, kb = b->oid ? b->oid : UINT64_MAX;
    if (ka != kb)
        return ka < kb ? -1 : 1;
    return a->ref < b->ref ? -1 : a->ref > b->ref;
}

cc_code
ddl__objs_collect(const cat_state *st, uint32_t kinds, ddl_objs *out, cc_err *err)
{
    memset(out, 0, sizeof *out);
    collect_arg a = {.kinds = kinds, .out = out};
    cat_state_walk_all(st, collect_cb, &a);
    if (a.nomem) {
        ddl__objs_fini(out);
        return cc_err_set(err, CC_NOMEM, "out of memory listing the catalog");
    }
    if (out->n > 1)
        qsort((void *)out->v, out->n, sizeof *out->v, obj_cmp);
    return CC_OK;
}

void
ddl__objs_fini(ddl_objs *o)
{
    cc_free((void *)o->v);
    memset(o, 0, sizeof *o);
}

/* --- names ----------------------------------------------------------------------------- */

const char *
ddl__ref_name(const cat_state *st, cat_ref ref)
{
    const cat_object *o = ref != 0 ? cat_state_find(st, ref) : NULL;
    return o != NULL ? o->name : NULL;
}

const char *
ddl__item_schema(const cat_state *st, const cat_object *item)
{
    return ddl__ref_name(st, item->parent);
}

cat_ref
ddl__item_database(const cat_state *st, const cat_object *item)
{
    const cat_object *sc = cat_state_find(st, item->parent);
    return sc != NULL ? sc->parent : 0;
}

/* --- values ---------------------------------------------------------------------------- */

/* The text of a TEXT / UNKNOWN / NUMERIC value (converted ones live in its buffer). */
static const char *
vtext(const ddl_value *v)
{
    return v->inbuf ? v->buf : v->s;
}

const char *
ddl__value_text(const ddl_value *v, char *buf, size_t cap)
{
    if (v->null)
        return NULL;
    switch (v->type) {
    case DDL_VT_INT:
        snprintf(buf, cap, "%lld", (long long)v->i);
        return buf;
    case DDL_VT_BOOL:
        return v->b ? "t" : "f";
    case DDL_VT_NULL:
        return NULL;
    default:
        return vtext(v);
    }
}

int
ddl__value_cmp(const ddl_value *a, const ddl_value *b)
{
    if (a->type == DDL_VT_INT && b->type == DDL_VT_INT)
        return a->i < b->i ? -1 : a->i > b->i;
    if ((a->type == DDL_VT_INT || a->type == DDL_VT_NUMERIC) &&
        (b->type == DDL_VT_INT || b->type == DDL_VT_NUMERIC)) {
        double x = a->type == DDL_VT_INT ? (double)a->i : a->d;
        double y = b->type == DDL_VT_INT ? (double)b->i : b->d;
        return x < y ? -1 : x > y;
    }
    if (a->type == DDL_VT_BOOL && b->type == DDL_VT_BOOL)
        return (int)a->b - (int)b->b;
    int c = strcmp(vtext(a), vtext(b));
    return c < 0 ? -1 : c > 0;
}

bool
ddl__value_true(const ddl_value *v)
{
    return !v->null && v->type == DDL_VT_BOOL && v->b;
}

/* Advances past one UTF-8 character. */
static const char *
next_char(const char *s)
{
    s++;
    while ((*s & 0xC0) == 0x80)
        s++;
    return s;
}

static bool
char_eq(char a, char b, bool ci)
{
    return ci ? tolower((unsigned char)a) == tolower((unsigned char)b) : a == b;
}

/* Greedy with one backtrack point (the last %): O(len(s) * len(p)) worst case. */
bool
ddl__like(const char *s, const char *p, bool ci)
{
    const char *star_p = NULL, *star_s = NULL;
    while (*s) {
        if (*p == '%') {
            while (*p == '%')
                p++;
            star_p = p;
            star_s = s;
            continue;
        }
        if (*p == '_') {
            s = next_char(s);
            p++;
            continue;
        }
        const char *lit = *p == '\\' && p[1] ? p + 1 : p;
        if (*lit && char_eq(*s, *lit, ci)) {
            s++;
            p = lit + 1;
            continue;
        }
        if (star_p == NULL)
            return false;
        star_s = next_char(star_s);
        s = star_s;
        p = star_p;
    }
    while (*p == '%')
        p++;
    return *p == 0;
}

cc_code
ddl__unsupported(ddl_ctx *c, int32_t location, const char *what, cc_err *err)
{
    return ddl__at(c, location,
                   cc_err_set_state(err, CC_INVALID, "0A000", "feature not supported: %s", what));
}

/* --- views ------------------------------------------------------------------------------- */

/* The item o uses that the view's FROM names (a table or view), or NULL. */
static const cat_object *
view_base(const cat_state *st, const cat_object *o, const PgQuery__RangeVar *rv)
{
    for (uint32_t i = 0; i < o->nuses; i++) {
        const cat_object *u = cat_state_find(st, o->uses[i]);
        if (u != NULL && strcmp(u->name, rv->relname) == 0 &&
            (u->kind == CAT_KIND_TABLE || u->kind == CAT_KIND_VIEW))
            return u;
    }
    return NULL;
}

/*
 * A view's description is lenient: what cannot be worked out from its
 * stored statement (it does not parse, deparse or decode) is left out — no
 * definition, not updatable. Running out of memory is never such a case: it
 * fails the description. Returns rc if it must be reported, else CC_OK.
 */
static cc_code
lenient(cc_code rc, const cc_err *e, cc_err *err)
{
    if (rc != CC_NOMEM)
        return CC_OK;
    if (err != NULL)
        *err = *e;
    return rc;
}

/* *n gets the number of columns of item o (0 if it cannot be decoded). Errors: NOMEM. */
static cc_code
item_ncols(const cat_object *o, size_t *n, cc_err *err)
{
    ProtobufCMessage *m;
    cc_err e;
    *n = 0;
    cc_code rc = cat_object_decode(o, &m, &e);
    if (rc != CC_OK)
        return lenient(rc, &e, err);
    *n = ((Cowcat__Catalog__ItemValue *)m)->n_columns;
    protobuf_c_message_free_unpacked(m, NULL);
    return CC_OK;
}

/* True if target n is an aggregate or window call (the view is then not updatable). */
static bool
is_aggregate(const PgQuery__Node *n)
{
    static const char *const aggs[] = {"count",     "sum",        "min",      "max",     "avg",
                                       "array_agg", "string_agg", "bool_and", "bool_or", "every"};
    if (n == NULL || n->node_case != PG_QUERY__NODE__NODE_FUNC_CALL)
        return false;
    const PgQuery__FuncCall *f = n->func_call;
    const char *name = f->n_funcname ? ddl__str(f->funcname[f->n_funcname - 1]) : NULL;
    for (size_t i = 0; name != NULL && i < sizeof aggs / sizeof aggs[0]; i++)
        if (strcmp(name, aggs[i]) == 0)
            return true;
    return f->over != NULL || f->agg_star;
}

/*
 * Marks the updatable output columns of query s of view o into cols (n
 * entries); *updatable gets whether the view is automatically updatable (a
 * base view must be so itself; dependencies are acyclic, so this recursion
 * ends). Errors: NOMEM.
 */
static cc_code
query_updatable(ddl_ctx *c, const cat_object *o, const PgQuery__SelectStmt *s, bool *cols, size_t n,
                bool *updatable, cc_err *err)
{
    *updatable = false;
    if (s->op > PG_QUERY__SET_OPERATION__SETOP_NONE || s->with_clause != NULL ||
        s->n_distinct_clause || s->n_group_clause || s->having_clause != NULL ||
        s->n_window_clause || s->limit_count != NULL || s->limit_offset != NULL ||
        s->n_values_lists || s->n_from_clause != 1 ||
        s->from_clause[0]->node_case != PG_QUERY__NODE__NODE_RANGE_VAR)
        return CC_OK;
    const cat_object *base = view_base(c->st, o, s->from_clause[0]->range_var);
    if (base == NULL)
        return CC_OK;
    if (base->kind == CAT_KIND_VIEW) {
        ddl_view_info bi;
        cc_err e;
        cc_code rc = ddl__view_info(c, base, &bi, &e);
        if (rc != CC_OK)
            return lenient(rc, &e, err);
        bool ok = bi.updatable;
        ddl__view_info_fini(&bi);
        if (!ok)
            return CC_OK;
    }
    size_t k = 0;
    bool any = false;
    for (size_t i = 0; i < s->n_target_list; i++) {
        const PgQuery__Node *t = s->target_list[i];
        const PgQuery__Node *v =
            t->node_case == PG_QUERY__NODE__NODE_RES_TARGET ? t->res_target->val : NULL;
        if (is_aggregate(v))
            return CC_OK;
        bool col = v != NULL && v->node_case == PG_QUERY__NODE__NODE_COLUMN_REF;
        size_t width = 1;
        if (col && v->column_ref->n_fields > 0 &&
            v->column_ref->fields[v->column_ref->n_fields - 1]->node_case ==
                PG_QUERY__NODE__NODE_A_STAR) {
            cc_code rc = item_ncols(base, &width, err);
            if (rc != CC_OK)
                return rc;
        }
        for (size_t j = 0; j < width && k < n; j++)
            cols[k++] = col;
        any = any || (col && width > 0);
    }
    *updatable = any;
    return CC_OK;
}

cc_code
ddl__view_info(ddl_ctx *c, const cat_object *view, ddl_view_info *out, cc_err *err)
{
    memset(out, 0, sizeof *out);
    out->check_option = "NONE";
    ProtobufCMessage *m;
    cc_code rc = cat_object_decode(view, &m, err);
    if (rc != CC_OK)
        return rc;
    const Cowcat__Catalog__ItemValue *iv = (const Cowcat__Catalog__ItemValue *)m;
    PgQuery__ParseResult *r = NULL;
    int pos;
    cc_err e;
    out->ncols = iv->n_columns;
    if ((out->col_updatable = cc_calloc(iv->n_columns ? iv->n_columns : 1, sizeof(bool))) == NULL)
        rc = cc_err_set(err, CC_NOMEM, "out of memory describing a view");
    cc_code prc = rc == CC_OK ? ddl__parse(iv->create_sql, &r, &pos, &e) : rc;
    if (rc == CC_OK && prc != CC_OK)
        rc = lenient(prc, &e, err);
    if (rc == CC_OK && prc == CC_OK && r->n_stmts == 1) {
        const PgQuery__Node *n = r->stmts[0]->stmt;
        const PgQuery__Node *q = NULL;
        if (n->node_case == PG_QUERY__NODE__NODE_VIEW_STMT) {
            q = n->view_stmt->query;
            PgQuery__ViewCheckOption opt = n->view_stmt->with_check_option;
            out->check_option = opt == PG_QUERY__VIEW_CHECK_OPTION__LOCAL_CHECK_OPTION ? "LOCAL"
                                : opt == PG_QUERY__VIEW_CHECK_OPTION__CASCADED_CHECK_OPTION
                                    ? "CASCADED"
                                    : "NONE";
        } else if (n->node_case == PG_QUERY__NODE__NODE_CREATE_TABLE_AS_STMT) {
            q = n->create_table_as_stmt->query;
        }
        if (q != NULL) {
            cc_code drc = ddl__deparse(q, &out->definition, &e);
            if (drc != CC_OK)
                rc = lenient(drc, &e, err);
        }
        if (rc == CC_OK && q != NULL && view->kind == CAT_KIND_VIEW &&
            q->node_case == PG_QUERY__NODE__NODE_SELECT_STMT)
            rc = query_updatable(c, view, q->select_stmt, out->col_updatable, out->ncols,
                                 &out->updatable, err);
    }
    ddl__parse_free(r);
    protobuf_c_message_free_unpacked(m, NULL);
    if (rc != CC_OK)
        ddl__view_info_fini(out);
    return rc;
}

void
ddl__view_info_fini(ddl_view_info *v)
{
    cc_free(v->definition);
    cc_free(v->col_updatable);
    memset(v, 0, sizeof *v);
}

/* --- dispatch -------------------------------------------------------------------------- */

cc_code
ddl__read(ddl_ctx *c, const PgQuery__Node *stmt, cc_err *err)
{
    switch (stmt->node_case) {
    case PG_QUERY__NODE__NODE_SELECT_STMT:
        return ddl__select(c, stmt->select_stmt, err);
    case PG_QUERY__NODE__NODE_VARIABLE_SHOW_STMT:
        return ddl__show_list(c, stmt->variable_show_stmt->name, NULL, -1, err);
    default: {
        char what[96];
        snprintf(what, sizeof what, "%s", ddl__stmt_name(stmt));
        return ddl__unsupported(c, -1, what, err);
    }
    }
}
