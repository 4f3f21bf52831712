/*
 * ddl/src/expr.c — the expressions of catalog queries: compiled from
 * libpg_query nodes against one relation's columns, then evaluated per row.
 *
 * Compilation does what PostgreSQL's parse analysis does for the subset we
 * run: binds column references (42703, 42P01), types every operator (42883
 * `operator does not exist: text = integer`), coerces string literals to the
 * type they meet (22P02 on bad input), checks boolean contexts (42804) and
 * folds the session functions (version(), current_user, current_database(),
 * current_schema) into constants. An unknown function fails with 42883 as
 * in PostgreSQL; every other construct with 0A000 naming it. Evaluation
 * then cannot fail except in casts of column values.
 *
 * Values are three-valued as in SQL: comparisons with NULL yield NULL, AND /
 * OR / NOT follow Kleene logic, and WHERE keeps a row only if true.
 * Row cells are text (the relation's output form): int columns are parsed
 * with strtoll, bool columns are "t" / "f".
 *
 *   x IN (a, b)      compiles to   x = a OR x = b
 *   x NOT IN (a, b)                x <> a AND x <> b
 *   x BETWEEN a AND b              x >= a AND x <= b
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "internal.h"

typedef enum enode {
    E_CONST,
    E_COL,
    E_CMP,
    E_AND,
    E_OR,
    E_NOT,
    E_NULLTEST,
    E_LIKE,
    E_CAST,
} enode;

typedef enum ecmp { CMP_EQ, CMP_NE, CMP_LT, CMP_LE, CMP_GT, CMP_GE } ecmp;

struct ddl_expr {
    enode op;
    ddl_vtype type;    /* the result's type family */
    uint32_t type_oid; /* the result's PostgreSQL type */
    const char *name;  /* output column name (static or borrowed from the parse tree) */
    int32_t location;  /* E_CONST from a literal: its location (-1: none) */
    ddl_value k;       /* E_CONST */
    char *ktext;       /* E_CONST: owned text of k (NULL if none) */
    size_t col;        /* E_COL: column index */
    ecmp cmp;          /* E_CMP */
    ddl_vtype as;      /* E_CMP: compare as this family */
    bool negate;       /* E_NULLTEST: IS NOT NULL; E_LIKE: NOT LIKE */
    bool ci;           /* E_LIKE: ILIKE */
    ddl_expr **args;
    size_t nargs;
};

static const char *const cmp_ops[] = {"=", "<>", "<", "<=", ">", ">="};

/* --- types ----------------------------------------------------------------------------- */

/* PostgreSQL's name of a type OID, for messages. */
static const char *
oid_name(uint32_t oid)
{
    switch (oid) {
    case 16:
        return "boolean";
    case 19:
        return "name";
    case 20:
        return "bigint";
    case 21:
        return "smallint";
    case 23:
        return "integer";
    case 25:
        return "text";
    case 26:
        return "oid";
    case 705:
        return "unknown";
    case 1043:
        return "character varying";
    case 1184:
        return "timestamp with time zone";
    case 1700:
        return "numeric";
    }
    return "unknown";
}

/* The family of a column type OID. */
static ddl_vtype
oid_family(uint32_t oid)
{
    switch (oid) {
    case 16:
        return DDL_VT_BOOL;
    case 20:
    case 21:
    case 23:
    case 26:
        return DDL_VT_INT;
    case 1700:
        return DDL_VT_NUMERIC;
    }
    return DDL_VT_TEXT;
}

static bool
parse_int(const char *s, int64_t *out)
{
    while (isspace((unsigned char)*s))
        s++;
    if (*s == 0)
        return false;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    while (isspace((unsigned char)*end))
        end++;
    if (errno != 0 || *end != 0)
        return false;
    *out = v;
    return true;
}

/* PostgreSQL's boolin: t/f, true/false, yes/no, on/off, 1/0 (any case, unique prefixes). */
static bool
parse_bool(const char *s, bool *out)
{
    static const struct {
        const char *word;
        size_t min; /* shortest accepted prefix */
        bool value;
    } words[] = {{"true", 1, true}, {"false", 1, false}, {"yes", 1, true}, {"no", 1, false},
                 {"on", 2, true},   {"off", 2, false},   {"1", 1, true},   {"0", 1, false}};
    size_t n = strlen(s);
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (n >= words[i].min && n <= strlen(words[i].word) &&
            strncasecmp(s, words[i].word, n) == 0) {
            *out = words[i].value;
            return true;
        }
    return false;
}

/* The text of a TEXT / UNKNOWN / NUMERIC value (converted ones live in its buffer). */
static const char *
vtext(const ddl_value *v)
{
    return v->inbuf ? v->buf : v->s;
}

/* --- nodes ----------------------------------------------------------------------------- */

static ddl_expr *
node_new(enode op, ddl_vtype type, uint32_t oid, const char *name)
{
    ddl_expr *e = cc_calloc(1, sizeof *e);
    if (e != NULL) {
        e->op = op;
        e->type = type;
        e->type_oid = oid;
        e->name = name;
        e->location = -1;
    }
    return e;
}

void
ddl__expr_free(ddl_expr *e)
{
    if (e == NULL)
        return;
    for (size_t i = 0; i < e->nargs; i++)
        ddl__expr_free(e->args[i]);
    cc_free(e->args);
    cc_free(e->ktext);
    cc_free(e);
}

ddl_vtype
ddl__expr_type(const ddl_expr *e)
{
    return e->type;
}

uint32_t
ddl__expr_type_oid(const ddl_expr *e)
{
    return e->type_oid;
}

bool
ddl__expr_has_columns(const ddl_expr *e)
{
    if (e->op == E_COL)
        return true;
    for (size_t i = 0; i < e->nargs; i++)
        if (ddl__expr_has_columns(e->args[i]))
            return true;
    return false;
}

const char *
ddl__expr_name(const ddl_expr *e)
{
    return e->name != NULL ? e->name : "?column?";
}

static cc_code
nomem(cc_err *err)
{
    return cc_err_set(err, CC_NOMEM, "out of memory compiling an expression");
}

/* A text constant (NULL text: SQL NULL) of type oid. */
static cc_code
const_text(const char *text, uint32_t oid, const char *name, ddl_expr **out, cc_err *err)
{
    ddl_expr *e = node_new(E_CONST, text ? oid_family(oid) : DDL_VT_NULL, oid, name);
    if (e == NULL)
        return nomem(err);
    e->k.type = e->type;
    e->k.null = text == NULL;
    if (text != NULL) {
        if ((e->ktext = cc_strdup(text)) == NULL) {
            cc_free(e);
            return nomem(err);
        }
        e->k.s = e->ktext;
    }
    *out = e;
    return CC_OK;
}

/* A node over args (taken: freed on failure). */
static cc_code
node_with(enode op, ddl_vtype type, uint32_t oid, ddl_expr **args, size_t n, ddl_expr **out,
          cc_err *err)
{
    ddl_expr *e = node_new(op, type, oid, NULL);
    ddl_expr **a = cc_calloc(n, sizeof *a);
    if (e == NULL || a == NULL) {
        cc_free(e);
        cc_free(a);
        for (size_t i = 0; i < n; i++)
            ddl__expr_free(args[i]);
        return nomem(err);
    }
    memcpy(a, args, n * sizeof *a);
    e->args = a;
    e->nargs = n;
    *out = e;
    return CC_OK;
}

/* --- compiling ------------------------------------------------------------------------- */

static cc_code compile(ddl_ctx *c, const ddl_scope *sc, const PgQuery__Node *n, ddl_expr **out,
                       cc_err *err);

static cc_code
compile_const(const PgQuery__AConst *k, ddl_expr **out, cc_err *err)
{
    char num[32];
    ddl_expr *e;
    cc_code rc;
    if (k->isnull)
        return const_text(NULL, 25, NULL, out, err);
    switch (k->val_case) {
    case PG_QUERY__A__CONST__VAL_IVAL:
        snprintf(num, sizeof num, "%d", k->ival->ival);
        if ((rc = const_text(num, 23, NULL, &e, err)) != CC_OK)
            return rc;
        e->k.i = k->ival->ival;
        break;
    case PG_QUERY__A__CONST__VAL_FVAL: {
        const char *f = k->fval->fval;
        int64_t iv;
        bool integral = strpbrk(f, ".eE") == NULL && parse_int(f, &iv);
        if ((rc = const_text(f, integral ? 20 : 1700, NULL, &e, err)) != CC_OK)
            return rc;
        e->k.i = integral ? iv : 0;
        e->k.d = strtod(f, NULL);
        break;
    }
    case PG_QUERY__A__CONST__VAL_BOOLVAL:
        if ((rc = const_text(k->boolval->boolval ? "t" : "f", 16, "bool", &e, err)) != CC_OK)
            return rc;
        e->k.b = k->boolval->boolval;
        break;
    case PG_QUERY__A__CONST__VAL_SVAL:
        if ((rc = const_text(k->sval->sval, 25, NULL, &e, err)) != CC_OK)
            return rc;
        e->type = e->k.type = DDL_VT_UNKNOWN;
        break;
    default:
        return cc_err_set_state(err, CC_INVALID, "0A000",
                                "feature not supported: bit string constants");
    }
    e->location = k->location;
    *out = e;
    return CC_OK;
}

static cc_code
compile_colref(ddl_ctx *c, const ddl_scope *sc, const PgQuery__ColumnRef *r, ddl_expr **out,
               cc_err *err)
{
    size_t n = r->n_fields;
    const char *col = n > 0 ? ddl__str(r->fields[n - 1]) : NULL;
    if (col == NULL)
        return ddl__unsupported(c, r->location, "\"*\" in this position", err);
    if (n >= 2) {
        const char *rel = ddl__str(r->fields[n - 2]);
        if (sc->relname == NULL || rel == NULL || strcmp(rel, sc->relname) != 0)
            return ddl__at(c, r->location,
                           cc_err_set_state(err, CC_NOT_FOUND, "42P01",
                                            "missing FROM-clause entry for table \"%s\"",
                                            rel ? rel : "?"));
    }
    for (size_t i = 0; i < sc->ncols; i++)
        if (strcmp(sc->cols[i].name, col) == 0) {
            uint32_t oid = sc->cols[i].type_oid;
            ddl_expr *e = node_new(E_COL, oid_family(oid), oid, sc->cols[i].name);
            if (e == NULL)
                return nomem(err);
            e->col = i;
            *out = e;
            return CC_OK;
        }
    if (n >= 2)
        return ddl__at(c, r->location,
                       cc_err_set_state(err, CC_NOT_FOUND, "42703", "column %s.%s does not exist",
                                        ddl__str(r->fields[n - 2]), col));
    return ddl__at(
        c, r->location,
        cc_err_set_state(err, CC_NOT_FOUND, "42703", "column \"%s\" does not exist", col));
}

/* Converts the string literal e in place to family to (22P02 on bad input). */
static cc_code
coerce_literal(ddl_ctx *c, ddl_expr *e, ddl_vtype to, int32_t location, cc_err *err)
{
    const char *s = e->k.s;
    if (to == DDL_VT_INT && parse_int(s, &e->k.i)) {
        e->type = e->k.type = DDL_VT_INT;
        e->type_oid = 23;
        return CC_OK;
    }
    if (to == DDL_VT_NUMERIC) {
        char *end;
        e->k.d = strtod(s, &end);
        if (end != s && *end == 0) {
            e->type = e->k.type = DDL_VT_NUMERIC;
            e->type_oid = 1700;
            return CC_OK;
        }
    }
    if (to == DDL_VT_BOOL && parse_bool(s, &e->k.b)) {
        e->type = e->k.type = DDL_VT_BOOL;
        e->type_oid = 16;
        return CC_OK;
    }
    if (to == DDL_VT_TEXT) {
        e->type = e->k.type = DDL_VT_TEXT;
        return CC_OK;
    }
    const char *tn = to == DDL_VT_INT ? "integer" : to == DDL_VT_BOOL ? "boolean" : "numeric";
    return ddl__at(c, e->location >= 0 ? e->location : location,
                   cc_err_set_state(err, CC_INVALID, "22P02",
                                    "invalid input syntax for type %s: \"%s\"", tn, s));
}

static bool
is_numeric(ddl_vtype t)
{
    return t == DDL_VT_INT || t == DDL_VT_NUMERIC;
}

/*
 * Types `l op r` (op names the operator for messages): sets *as to the family
 * to compare in, coercing a string literal on one side to the other's type.
 */
static cc_code
unify(ddl_ctx *c, ddl_expr *l, ddl_expr *r, const char *op, int32_t location, ddl_vtype *as,
      cc_err *err)
{
    ddl_vtype a = l->type, b = r->type;
    if (a == DDL_VT_NULL || b == DDL_VT_NULL) {
        *as = a == DDL_VT_NULL ? b : a;
        return CC_OK;
    }
    if ((a == DDL_VT_TEXT || a == DDL_VT_UNKNOWN) && (b == DDL_VT_TEXT || b == DDL_VT_UNKNOWN)) {
        *as = DDL_VT_TEXT;
        return CC_OK;
    }
    if (is_numeric(a) && is_numeric(b)) {
        *as = a == DDL_VT_NUMERIC || b == DDL_VT_NUMERIC ? DDL_VT_NUMERIC : DDL_VT_INT;
        return CC_OK;
    }
    if (a == DDL_VT_BOOL && b == DDL_VT_BOOL) {
        *as = DDL_VT_BOOL;
        return CC_OK;
    }
    if (a == DDL_VT_UNKNOWN) {
        *as = b;
        return coerce_literal(c, l, b, location, err);
    }
    if (b == DDL_VT_UNKNOWN) {
        *as = a;
        return coerce_literal(c, r, a, location, err);
    }
    cc_err_set_state(err, CC_INVALID, "42883", "operator does not exist: %s %s %s",
                     oid_name(l->type_oid), op, oid_name(r->type_oid));
    cc_err_hint(err, "No operator matches the given name and argument types. You might need to "
                     "add explicit type casts.");
    return ddl__at(c, location, CC_INVALID);
}

static cc_code
make_cmp(ddl_ctx *c, ecmp cmp, ddl_expr *l, ddl_expr *r, int32_t location, ddl_expr **out,
         cc_err *err)
{
    ddl_vtype as = DDL_VT_TEXT;
    cc_code rc = unify(c, l, r, cmp_ops[cmp], location, &as, err);
    if (rc != CC_OK) {
        ddl__expr_free(l);
        ddl__expr_free(r);
        return rc;
    }
    ddl_expr *args[2] = {l, r};
    if ((rc = node_with(E_CMP, DDL_VT_BOOL, 16, args, 2, out, err)) == CC_OK) {
        (*out)->cmp = cmp;
        (*out)->as = as;
    }
    return rc;
}

/* Checks that e can be a condition of what ("WHERE", "AND", ...), coercing a literal. */
static cc_code
require_bool(ddl_ctx *c, ddl_expr *e, const char *what, int32_t location, cc_err *err)
{
    if (e->type == DDL_VT_BOOL || e->type == DDL_VT_NULL)
        return CC_OK;
    if (e->type == DDL_VT_UNKNOWN)
        return coerce_literal(c, e, DDL_VT_BOOL, location, err);
    return ddl__at(c, location,
                   cc_err_set_state(err, CC_INVALID, "42804",
                                    "argument of %s must be type boolean, not type %s", what,
                                    oid_name(e->type_oid)));
}

/* Compiles args[0..n) with one child each, joined by op (AND / OR). */
static cc_code
compile_cmp_list(ddl_ctx *c, const ddl_scope *sc, const PgQuery__AExpr *a, ecmp cmp, enode join,
                 ddl_expr **out, cc_err *err)
{
    const PgQuery__Node *rn = a->rexpr;
    if (rn == NULL || rn->node_case != PG_QUERY__NODE__NODE_LIST)
        return ddl__unsupported(c, a->location, "IN with a subquery", err);
    size_t n = rn->list->n_items;
    ddl_expr **parts = cc_calloc(n ? n : 1, sizeof *parts);
    if (parts == NULL)
        return nomem(err);
    cc_code rc = CC_OK;
    size_t got = 0;
    for (size_t i = 0; i < n && rc == CC_OK; i++) {
        ddl_expr *l, *r;
        if ((rc = compile(c, sc, a->lexpr, &l, err)) != CC_OK)
            break;
        if ((rc = compile(c, sc, rn->list->items[i], &r, err)) != CC_OK) {
            ddl__expr_free(l);
            break;
        }
        if ((rc = make_cmp(c, cmp, l, r, a->location, &parts[got], err)) == CC_OK)
            got++;
    }
    if (rc == CC_OK)
        rc = node_with(join, DDL_VT_BOOL, 16, parts, got, out, err);
    else
        for (size_t i = 0; i < got; i++)
            ddl__expr_free(parts[i]);
    cc_free(parts);
    return rc;
}

static cc_code
compile_aexpr(ddl_ctx *c, const ddl_scope *sc, const PgQuery__AExpr *a, ddl_expr **out, cc_err *err)
{
    const char *op = a->n_name == 1 ? ddl__str(a->name[0]) : NULL;
    cc_code rc;
    switch (a->kind) {
    case PG_QUERY__A__EXPR__KIND__AEXPR_OP: {
        if (op == NULL || a->lexpr == NULL || a->rexpr == NULL) {
            char what[64];
            snprintf(what, sizeof what, "operator %s", op ? op : "?");
            return ddl__unsupported(c, a->location, what, err);
        }
        ecmp cmp;
        size_t i;
        for (i = 0; i < sizeof cmp_ops / sizeof cmp_ops[0]; i++)
            if (strcmp(op, cmp_ops[i]) == 0)
                break;
        if (i == sizeof cmp_ops / sizeof cmp_ops[0]) {
            if (strcmp(op, "~~") == 0 || strcmp(op, "!~~") == 0)
                goto like;
            char what[64];
            snprintf(what, sizeof what, "operator %s", op);
            return ddl__unsupported(c, a->location, what, err);
        }
        cmp = (ecmp)i;
        ddl_expr *l, *r;
        if ((rc = compile(c, sc, a->lexpr, &l, err)) != CC_OK)
            return rc;
        if ((rc = compile(c, sc, a->rexpr, &r, err)) != CC_OK) {
            ddl__expr_free(l);
            return rc;
        }
        return make_cmp(c, cmp, l, r, a->location, out, err);
    }
    case PG_QUERY__A__EXPR__KIND__AEXPR_LIKE:
    case PG_QUERY__A__EXPR__KIND__AEXPR_ILIKE:
    like : {
        ddl_expr *args[2];
        if ((rc = compile(c, sc, a->lexpr, &args[0], err)) != CC_OK)
            return rc;
        if ((rc = compile(c, sc, a->rexpr, &args[1], err)) != CC_OK) {
            ddl__expr_free(args[0]);
            return rc;
        }
        for (int i = 0; i < 2; i++)
            if (args[i]->type != DDL_VT_TEXT && args[i]->type != DDL_VT_UNKNOWN &&
                args[i]->type != DDL_VT_NULL) {
                cc_err_set_state(err, CC_INVALID, "42883", "operator does not exist: %s %s %s",
                                 oid_name(args[0]->type_oid), op ? op : "~~",
                                 oid_name(args[1]->type_oid));
                cc_err_hint(err, "No operator matches the given name and argument types. You "
                                 "might need to add explicit type casts.");
                rc = ddl__at(c, a->location, CC_INVALID);
                ddl__expr_free(args[0]);
                ddl__expr_free(args[1]);
                return rc;
            }
        if ((rc = node_with(E_LIKE, DDL_VT_BOOL, 16, args, 2, out, err)) == CC_OK) {
            (*out)->negate = op != NULL && op[0] == '!';
            (*out)->ci = a->kind == PG_QUERY__A__EXPR__KIND__AEXPR_ILIKE;
        }
        return rc;
    }
    case PG_QUERY__A__EXPR__KIND__AEXPR_IN: {
        bool not_in = op != NULL && strcmp(op, "<>") == 0;
        return compile_cmp_list(c, sc, a, not_in ? CMP_NE : CMP_EQ, not_in ? E_AND : E_OR, out,
                                err);
    }
    case PG_QUERY__A__EXPR__KIND__AEXPR_BETWEEN:
    case PG_QUERY__A__EXPR__KIND__AEXPR_NOT_BETWEEN: {
        const PgQuery__Node *rn = a->rexpr;
        if (rn == NULL || rn->node_case != PG_QUERY__NODE__NODE_LIST || rn->list->n_items != 2)
            return ddl__unsupported(c, a->location, "this BETWEEN form", err);
        bool neg = a->kind == PG_QUERY__A__EXPR__KIND__AEXPR_NOT_BETWEEN;
        ddl_expr *parts[2] = {NULL, NULL};
        for (int i = 0; i < 2; i++) {
            ddl_expr *l, *r;
            rc = compile(c, sc, a->lexpr, &l, err);
            if (rc == CC_OK && (rc = compile(c, sc, rn->list->items[i], &r, err)) != CC_OK)
                ddl__expr_free(l);
            if (rc == CC_OK) {
                ecmp cmp = i == 0 ? (neg ? CMP_LT : CMP_GE) : (neg ? CMP_GT : CMP_LE);
                rc = make_cmp(c, cmp, l, r, a->location, &parts[i], err);
            }
            if (rc != CC_OK) {
                ddl__expr_free(parts[0]);
                return rc;
            }
        }
        return node_with(neg ? E_OR : E_AND, DDL_VT_BOOL, 16, parts, 2, out, err);
    }
    case PG_QUERY__A__EXPR__KIND__AEXPR_DISTINCT:
    case PG_QUERY__A__EXPR__KIND__AEXPR_NOT_DISTINCT:
        return ddl__unsupported(c, a->location, "IS DISTINCT FROM", err);
    case PG_QUERY__A__EXPR__KIND__AEXPR_SIMILAR:
        return ddl__unsupported(c, a->location, "SIMILAR TO", err);
    case PG_QUERY__A__EXPR__KIND__AEXPR_OP_ANY:
    case PG_QUERY__A__EXPR__KIND__AEXPR_OP_ALL:
        return ddl__unsupported(c, a->location, "ANY / ALL", err);
    default:
        return ddl__unsupported(c, a->location, "this operator", err);
    }
}

static cc_code
compile_bool(ddl_ctx *c, const ddl_scope *sc, const PgQuery__BoolExpr *b, ddl_expr **out,
             cc_err *err)
{
    enode op = b->boolop == PG_QUERY__BOOL_EXPR_TYPE__AND_EXPR  ? E_AND
               : b->boolop == PG_QUERY__BOOL_EXPR_TYPE__OR_EXPR ? E_OR
                                                                : E_NOT;
    const char *what = op == E_AND ? "AND" : op == E_OR ? "OR" : "NOT";
    ddl_expr **args = cc_calloc(b->n_args ? b->n_args : 1, sizeof *args);
    if (args == NULL)
        return nomem(err);
    cc_code rc = CC_OK;
    size_t got = 0;
    for (size_t i = 0; i < b->n_args && rc == CC_OK; i++) {
        if ((rc = compile(c, sc, b->args[i], &args[got], err)) != CC_OK)
            break;
        rc = require_bool(c, args[got++], what, b->location, err);
    }
    if (rc == CC_OK)
        rc = node_with(op, DDL_VT_BOOL, 16, args, got, out, err);
    else
        for (size_t i = 0; i < got; i++)
            ddl__expr_free(args[i]);
    cc_free(args);
    return rc;
}

/* The first schema of search_path that exists, or NULL. */
static const char *
current_schema(ddl_ctx *c)
{
    for (size_t i = 0; i < c->s->npath; i++) {
        const char *name = strcmp(c->s->path[i], "$user") == 0 ? c->s->user : c->s->path[i];
        const cat_object *sc = ddl__find_schema(c, name);
        if (sc != NULL)
            return sc->name;
    }
    return NULL;
}

static cc_code
compile_func(ddl_ctx *c, const ddl_scope *sc, const PgQuery__FuncCall *f, ddl_expr **out,
             cc_err *err)
{
    const char *name = f->n_funcname > 0 ? ddl__str(f->funcname[f->n_funcname - 1]) : NULL;
    const char *qual = f->n_funcname == 2 ? ddl__str(f->funcname[0]) : NULL;
    bool ok_qual = f->n_funcname == 1 || (qual != NULL && strcmp(qual, "pg_catalog") == 0);
    if (name != NULL && ok_qual && f->n_args == 0 && !f->agg_star && f->over == NULL) {
        if (strcmp(name, "version") == 0)
            return const_text("PostgreSQL 15.1 (cowcat 0.1.0)", 25, "version", out, err);
        if (strcmp(name, "current_database") == 0)
            return const_text(c->s->database, 19, "current_database", out, err);
        if (strcmp(name, "current_schema") == 0)
            return const_text(current_schema(c), 19, "current_schema", out, err);
        if (strcmp(name, "current_user") == 0 || strcmp(name, "session_user") == 0)
            return const_text(c->s->user, 19, name, out, err);
    }
    static const char *const aggs[] = {"count", "sum", "min", "max", "avg"};
    for (size_t i = 0; name != NULL && i < sizeof aggs / sizeof aggs[0]; i++)
        if (strcmp(name, aggs[i]) == 0)
            return ddl__at(c, f->location,
                           cc_err_set_state(err, CC_INVALID, "42803",
                                            "aggregate functions are not allowed here"));
    /* PostgreSQL functions clients use that cowcat does not run: 0A000. */
    static const char *const known[] = {"now",
                                        "pg_backend_pid",
                                        "length",
                                        "lower",
                                        "upper",
                                        "format_type",
                                        "pg_get_userbyid",
                                        "obj_description",
                                        "col_description",
                                        "pg_table_is_visible",
                                        "has_table_privilege",
                                        "current_setting",
                                        "set_config",
                                        "pg_get_viewdef",
                                        "pg_get_indexdef",
                                        "pg_get_constraintdef",
                                        "pg_get_expr",
                                        "pg_typeof",
                                        "array_to_string",
                                        "concat",
                                        "quote_ident",
                                        "to_char"};
    char what[96];
    for (size_t i = 0; name != NULL && i < sizeof known / sizeof known[0]; i++)
        if (strcmp(name, known[i]) == 0) {
            snprintf(what, sizeof what, "function %s()", name);
            return ddl__unsupported(c, f->location, what, err);
        }
    /* Anything else does not exist: 42883 naming the argument types, as PostgreSQL. */
    char sig[256];
    size_t len = (size_t)snprintf(sig, sizeof sig, "%s(", name ? name : "?");
    for (size_t i = 0; i < f->n_args && len < sizeof sig; i++) {
        ddl_expr *arg;
        cc_code rc = compile(c, sc, f->args[i], &arg, err);
        if (rc != CC_OK)
            return rc;
        const char *tn = arg->type == DDL_VT_UNKNOWN ? "unknown" : oid_name(arg->type_oid);
        len += (size_t)snprintf(sig + len, sizeof sig - len, "%s%s", i ? ", " : "", tn);
        ddl__expr_free(arg);
    }
    if (len < sizeof sig)
        snprintf(sig + len, sizeof sig - len, ")");
    cc_err_set_state(err, CC_NOT_FOUND, "42883", "function %s does not exist", sig);
    cc_err_hint(err, "No function matches the given name and argument types. You might need to "
                     "add explicit type casts.");
    return ddl__at(c, f->location, CC_NOT_FOUND);
}

static cc_code
compile_svf(ddl_ctx *c, const PgQuery__SQLValueFunction *f, ddl_expr **out, cc_err *err)
{
    switch (f->op) {
    case PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_CURRENT_USER:
    case PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_USER:
        return const_text(c->s->user, 19, "current_user", out, err);
    case PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_CURRENT_ROLE:
        return const_text(c->s->user, 19, "current_role", out, err);
    case PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_SESSION_USER:
        return const_text(c->s->user, 19, "session_user", out, err);
    case PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_CURRENT_CATALOG:
        return const_text(c->s->database, 19, "current_catalog", out, err);
    case PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_CURRENT_SCHEMA:
        return const_text(current_schema(c), 19, "current_schema", out, err);
    default:
        return ddl__unsupported(c, f->location, "date/time functions", err);
    }
}

static cc_code
compile_cast(ddl_ctx *c, const ddl_scope *sc, const PgQuery__TypeCast *t, ddl_expr **out,
             cc_err *err)
{
    const PgQuery__TypeName *tn = t->type_name;
    const char *name = tn && tn->n_names ? ddl__str(tn->names[tn->n_names - 1]) : NULL;
    static const struct {
        const char *name;
        uint32_t oid;
    } types[] = {{"text", 25}, {"varchar", 1043}, {"name", 19}, {"bpchar", 1043}, {"int2", 21},
                 {"int4", 23}, {"int8", 20},      {"oid", 26},  {"bool", 16}};
    uint32_t oid = 0;
    for (size_t i = 0; name && i < sizeof types / sizeof types[0]; i++)
        if (strcmp(name, types[i].name) == 0)
            oid = types[i].oid;
    if (oid == 0 || tn->n_array_bounds > 0) {
        char what[96];
        snprintf(what, sizeof what, "cast to type %s%s", name ? name : "?",
                 tn && tn->n_array_bounds ? "[]" : "");
        return ddl__unsupported(c, t->location, what, err);
    }
    ddl_expr *arg;
    cc_code rc = compile(c, sc, t->arg, &arg, err);
    if (rc != CC_OK)
        return rc;
    ddl_vtype to = oid_family(oid);
    if (arg->op == E_CONST && arg->type == DDL_VT_UNKNOWN) {
        /* A literal takes the type directly (PostgreSQL: 'x'::int is input, not a cast). */
        if ((rc = coerce_literal(c, arg, to, t->location, err)) != CC_OK) {
            ddl__expr_free(arg);
            return rc;
        }
        arg->type_oid = oid;
        if (arg->name == NULL)
            arg->name = name;
        *out = arg;
        return CC_OK;
    }
    const char *colname = arg->op == E_COL ? arg->name : name;
    if ((rc = node_with(E_CAST, to, oid, &arg, 1, out, err)) == CC_OK)
        (*out)->name = colname;
    return rc;
}

static cc_code
compile(ddl_ctx *c, const ddl_scope *sc, const PgQuery__Node *n, ddl_expr **out, cc_err *err)
{
    *out = NULL;
    switch (n->node_case) {
    case PG_QUERY__NODE__NODE_A_CONST:
        return compile_const(n->a_const, out, err);
    case PG_QUERY__NODE__NODE_COLUMN_REF:
        return compile_colref(c, sc, n->column_ref, out, err);
    case PG_QUERY__NODE__NODE_A_EXPR:
        return compile_aexpr(c, sc, n->a_expr, out, err);
    case PG_QUERY__NODE__NODE_BOOL_EXPR:
        return compile_bool(c, sc, n->bool_expr, out, err);
    case PG_QUERY__NODE__NODE_NULL_TEST: {
        ddl_expr *arg;
        cc_code rc = compile(c, sc, n->null_test->arg, &arg, err);
        if (rc == CC_OK &&
            (rc = node_with(E_NULLTEST, DDL_VT_BOOL, 16, &arg, 1, out, err)) == CC_OK)
            (*out)->negate = n->null_test->nulltesttype == PG_QUERY__NULL_TEST_TYPE__IS_NOT_NULL;
        return rc;
    }
    case PG_QUERY__NODE__NODE_FUNC_CALL:
        return compile_func(c, sc, n->func_call, out, err);
    case PG_QUERY__NODE__NODE_SQLVALUE_FUNCTION:
        return compile_svf(c, n->sqlvalue_function, out, err);
    case PG_QUERY__NODE__NODE_TYPE_CAST:
        return compile_cast(c, sc, n->type_cast, out, err);
    case PG_QUERY__NODE__NODE_SUB_LINK:
        return ddl__unsupported(c, n->sub_link->location, "subqueries", err);
    case PG_QUERY__NODE__NODE_PARAM_REF:
        return ddl__unsupported(c, n->param_ref->location, "parameters", err);
    case PG_QUERY__NODE__NODE_CASE_EXPR:
        return ddl__unsupported(c, n->case_expr->location, "CASE", err);
    case PG_QUERY__NODE__NODE_COALESCE_EXPR:
        return ddl__unsupported(c, n->coalesce_expr->location, "COALESCE", err);
    case PG_QUERY__NODE__NODE_BOOLEAN_TEST:
        return ddl__unsupported(c, n->boolean_test->location, "IS TRUE / IS FALSE", err);
    default:
        return ddl__unsupported(c, -1, "this kind of expression", err);
    }
}

cc_code
ddl__expr_compile(ddl_ctx *c, const ddl_scope *sc, const PgQuery__Node *n, ddl_expr **out,
                  cc_err *err)
{
    return compile(c, sc, n, out, err);
}

/* --- evaluating ------------------------------------------------------------------------ */

static cc_code
eval_cast(ddl_ctx *c, const ddl_expr *e, const ddl_value *in, ddl_value *out, cc_err *err)
{
    memset(out, 0, sizeof *out);
    out->type = e->type;
    if (in->null) {
        out->null = true;
        return CC_OK;
    }
    switch (e->type) {
    case DDL_VT_TEXT: {
        const char *t = ddl__value_text(in, out->buf, sizeof out->buf);
        if (in->type == DDL_VT_BOOL)
            t = in->b ? "true" : "false";
        if (t == out->buf)
            out->inbuf = true;
        else
            out->s = t;
        return CC_OK;
    }
    case DDL_VT_INT:
        if (in->type == DDL_VT_INT) {
            out->i = in->i;
        } else if (in->type == DDL_VT_BOOL) {
            out->i = in->b;
        } else if (in->type == DDL_VT_NUMERIC) {
            out->i = (int64_t)(in->d < 0 ? in->d - 0.5 : in->d + 0.5);
        } else if (!parse_int(vtext(in), &out->i)) {
            return ddl__at(c, -1,
                           cc_err_set_state(err, CC_INVALID, "22P02",
                                            "invalid input syntax for type %s: \"%s\"",
                                            oid_name(e->type_oid), vtext(in)));
        }
        return CC_OK;
    case DDL_VT_BOOL:
        if (in->type == DDL_VT_BOOL)
            out->b = in->b;
        else if (in->type == DDL_VT_INT)
            out->b = in->i != 0;
        else if (in->type == DDL_VT_NUMERIC || !parse_bool(vtext(in), &out->b))
            return ddl__at(c, -1,
                           cc_err_set_state(err, CC_INVALID, "22P02",
                                            "invalid input syntax for type boolean: \"%s\"",
                                            in->type == DDL_VT_NUMERIC ? in->s : vtext(in)));
        return CC_OK;
    default:
        *out = *in;
        return CC_OK;
    }
}

cc_code
ddl__expr_eval(ddl_ctx *c, const ddl_expr *e, const char *const *row, ddl_value *out, cc_err *err)
{
    ddl_value a, b;
    cc_code rc;
    switch (e->op) {
    case E_CONST:
        *out = e->k;
        return CC_OK;
    case E_COL: {
        const char *cell = row[e->col];
        memset(out, 0, sizeof *out);
        out->type = e->type;
        out->null = cell == NULL;
        if (cell == NULL)
            return CC_OK;
        if (e->type == DDL_VT_INT)
            out->null = !parse_int(cell, &out->i);
        else if (e->type == DDL_VT_BOOL)
            out->b = cell[0] == 't';
        else
            out->s = cell;
        return CC_OK;
    }
    case E_CMP: {
        if ((rc = ddl__expr_eval(c, e->args[0], row, &a, err)) != CC_OK ||
            (rc = ddl__expr_eval(c, e->args[1], row, &b, err)) != CC_OK)
            return rc;
        memset(out, 0, sizeof *out);
        out->type = DDL_VT_BOOL;
        if (a.null || b.null || a.type == DDL_VT_NULL || b.type == DDL_VT_NULL) {
            out->null = true;
            return CC_OK;
        }
        int r = ddl__value_cmp(&a, &b);
        switch (e->cmp) {
        case CMP_EQ:
            out->b = r == 0;
            break;
        case CMP_NE:
            out->b = r != 0;
            break;
        case CMP_LT:
            out->b = r < 0;
            break;
        case CMP_LE:
            out->b = r <= 0;
            break;
        case CMP_GT:
            out->b = r > 0;
            break;
        case CMP_GE:
            out->b = r >= 0;
            break;
        }
        return CC_OK;
    }
    case E_AND:
    case E_OR: {
        /* Kleene: a deciding value wins over NULL. */
        bool decide = e->op == E_OR, saw_null = false;
        for (size_t i = 0; i < e->nargs; i++) {
            if ((rc = ddl__expr_eval(c, e->args[i], row, &a, err)) != CC_OK)
                return rc;
            if (a.null || a.type == DDL_VT_NULL) {
                saw_null = true;
            } else if (a.b == decide) {
                memset(out, 0, sizeof *out);
                out->type = DDL_VT_BOOL;
                out->b = decide;
                return CC_OK;
            }
        }
        memset(out, 0, sizeof *out);
        out->type = DDL_VT_BOOL;
        out->null = saw_null;
        out->b = !decide;
        return CC_OK;
    }
    case E_NOT:
        if ((rc = ddl__expr_eval(c, e->args[0], row, &a, err)) != CC_OK)
            return rc;
        memset(out, 0, sizeof *out);
        out->type = DDL_VT_BOOL;
        out->null = a.null || a.type == DDL_VT_NULL;
        out->b = !a.b;
        return CC_OK;
    case E_NULLTEST:
        if ((rc = ddl__expr_eval(c, e->args[0], row, &a, err)) != CC_OK)
            return rc;
        memset(out, 0, sizeof *out);
        out->type = DDL_VT_BOOL;
        out->b = (a.null || a.type == DDL_VT_NULL) != e->negate;
        return CC_OK;
    case E_LIKE:
        if ((rc = ddl__expr_eval(c, e->args[0], row, &a, err)) != CC_OK ||
            (rc = ddl__expr_eval(c, e->args[1], row, &b, err)) != CC_OK)
            return rc;
        memset(out, 0, sizeof *out);
        out->type = DDL_VT_BOOL;
        out->null = a.null || b.null || a.type == DDL_VT_NULL || b.type == DDL_VT_NULL;
        if (!out->null)
            out->b = ddl__like(vtext(&a), vtext(&b), e->ci) != e->negate;
        return CC_OK;
    case E_CAST:
        if ((rc = ddl__expr_eval(c, e->args[0], row, &a, err)) != CC_OK)
            return rc;
        return eval_cast(c, e, &a, out, err);
    }
    return cc_err_set(err, CC_INTERNAL, "unknown expression node");
}
