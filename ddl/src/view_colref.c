/*
 * ddl/src/view_colref.c — column references and the expressions around
 * them (transformColumnRef, colNameToVar, refnameNamespaceItem), with
 * PostgreSQL's errors and hints (errorMissingColumn, errorMissingRTE). Part
 * of the view resolver: see view_scope.h.
 */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "view_scope.h"

#define MAX_FUZZY_DISTANCE 3

/* --- expressions --------------------------------------------------------------------------- */

static cc_code walk_expr(vplan *p, vlevel *lv, ProtobufCMessage *m, cc_err *err);

cc_code
ddl__vexpr(vplan *p, vlevel *lv, PgQuery__Node *n, cc_err *err)
{
    return n != NULL ? walk_expr(p, lv, &n->base, err) : CC_OK;
}

/* Walks every message field of m. */
static cc_code
walk_fields(vplan *p, vlevel *lv, ProtobufCMessage *m, cc_err *err)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    char *base = (char *)m;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(size_t *)(base + f->quantifier_offset);
            ProtobufCMessage **v = *(ProtobufCMessage ***)(base + f->offset);
            for (size_t j = 0; j < n; j++) {
                cc_code rc = v[j] != NULL ? walk_expr(p, lv, v[j], err) : CC_OK;
                if (rc != CC_OK)
                    return rc;
            }
            continue;
        }
        if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
            *(uint32_t *)(base + f->quantifier_offset) != f->id)
            continue;
        ProtobufCMessage *sub = *(ProtobufCMessage **)(base + f->offset);
        if (sub != NULL) {
            cc_code rc = walk_expr(p, lv, sub, err);
            if (rc != CC_OK)
                return rc;
        }
    }
    return CC_OK;
}

/* A subquery in an expression: its own level, seeing this one. */
static cc_code
subquery(vplan *p, vlevel *lv, PgQuery__Node *n, cc_err *err)
{
    if (n == NULL || n->node_case != PG_QUERY__NODE__NODE_SELECT_STMT)
        return ddl__vexpr(p, lv, n, err);
    vcols out;
    return ddl__vquery(p, lv, n->select_stmt, &out, err);
}

cc_code
ddl__vdefer_window(vlevel *lv, PgQuery__WindowDef *w, cc_err *err)
{
    if (!ddl__vgrow((void **)&lv->win, &lv->capwin, lv->nwin, sizeof *lv->win))
        return ddl__vnomem(err);
    lv->win[lv->nwin++] = w;
    return CC_OK;
}

static cc_code
walk_expr(vplan *p, vlevel *lv, ProtobufCMessage *m, cc_err *err)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    if (d == &pg_query__column_ref__descriptor) {
        vref r;
        return ddl__vcolref(p, lv, (PgQuery__ColumnRef *)m, NULL, &r, err);
    }
    if (d == &pg_query__sub_link__descriptor) {
        PgQuery__SubLink *sl = (PgQuery__SubLink *)m;
        cc_code rc = ddl__vexpr(p, lv, sl->testexpr, err);
        return rc == CC_OK ? subquery(p, lv, sl->subselect, err) : rc;
    }
    if (d == &pg_query__select_stmt__descriptor) {
        vcols out;
        return ddl__vquery(p, lv, (PgQuery__SelectStmt *)m, &out, err);
    }
    if (d == &pg_query__func_call__descriptor) {
        PgQuery__FuncCall *f = (PgQuery__FuncCall *)m;
        cc_code rc = CC_OK;
        for (size_t i = 0; i < f->n_args && rc == CC_OK; i++)
            rc = ddl__vexpr(p, lv, f->args[i], err);
        for (size_t i = 0; i < f->n_agg_order && rc == CC_OK; i++)
            rc = ddl__vexpr(p, lv, f->agg_order[i], err);
        if (rc == CC_OK)
            rc = ddl__vexpr(p, lv, f->agg_filter, err);
        if (rc == CC_OK && f->over != NULL)
            rc = ddl__vdefer_window(lv, f->over, err);
        return rc;
    }
    if (d == &pg_query__range_var__descriptor || d == &pg_query__type_name__descriptor)
        return CC_OK;
    return walk_fields(p, lv, m, err);
}

/* --- column references ------------------------------------------------------------------- */

/* varstr_levenshtein with unit costs. */
static int
levenshtein(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);
    if (m > 255 || n > 255)
        return 1000;
    int prev[256], cur[256];
    for (size_t j = 0; j <= m; j++)
        prev[j] = (int)j;
    for (size_t i = 1; i <= n; i++) {
        cur[0] = (int)i;
        for (size_t j = 1; j <= m; j++) {
            int ins = cur[j - 1] + 1, del = prev[j] + 1, sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            int v = ins < del ? ins : del;
            cur[j] = v < sub ? v : sub;
        }
        memcpy(prev, cur, (m + 1) * sizeof *prev);
    }
    return prev[m];
}

/* PostgreSQL's FuzzyAttrMatchState (parse_relation.c). */
typedef struct fuzzy {
    int distance;
    const vrte *rfirst, *rsecond;
    const char *first, *second; /* NULL: InvalidAttrNumber */
} fuzzy;

static void
fuzzy_update(fuzzy *f, const vrte *r, const char *actual, const char *match)
{
    if (actual[0] == '\0')
        return;
    int matchlen = (int)strlen(match);
    int d = levenshtein(actual, match);
    if (d > matchlen / 2)
        return;
    if (d < f->distance) {
        f->distance = d;
        f->rfirst = r;
        f->first = actual;
        f->rsecond = NULL;
        f->second = NULL;
    } else if (d == f->distance) {
        if (f->second != NULL) {
            f->rfirst = f->rsecond = NULL;
            f->first = f->second = NULL;
            f->distance = d - 1;
        } else if (f->first != NULL) {
            f->rsecond = r;
            f->second = actual;
        } else if (f->distance <= MAX_FUZZY_DISTANCE) {
            f->rfirst = r;
            f->first = actual;
        }
    }
}

/* errorMissingColumn for an unqualified name (searchRangeTableForCol's hints). */
static cc_code
missing_column(vplan *p, const vlevel *lv, const char *name, int32_t loc, cc_err *err)
{
    fuzzy f = {.distance = MAX_FUZZY_DISTANCE + 1};
    const vrte *exact = NULL;
    for (const vlevel *l = lv; l != NULL && exact == NULL; l = l->parent)
        for (size_t i = 0; i < l->nrt && exact == NULL; i++) {
            const vrte *r = l->rt[i];
            if (r->kind == VRTE_JOIN || r->kind == VRTE_OUTPUT)
                continue;
            for (size_t k = 0; k < r->cols.n; k++) {
                if (strcmp(r->cols.v[k].name, name) == 0)
                    exact = r;
                fuzzy_update(&f, r, r->cols.v[k].name, name);
            }
            if (exact == NULL && ddl__vsystem_column(r, name))
                exact = r;
        }
    ddl__at(p->c, loc,
            cc_err_set_state(err, CC_NOT_FOUND, "42703", "column \"%s\" does not exist", name));
    if (exact != NULL)
        return cc_err_hint(err,
                           "There is a column named \"%s\" in table \"%s\", but it cannot be "
                           "referenced from this part of the query.",
                           name, exact->refname);
    if (f.rfirst != NULL && f.rsecond == NULL && f.first != NULL)
        return cc_err_hint(err, "Perhaps you meant to reference the column \"%s.%s\".",
                           f.rfirst->refname, f.first);
    if (f.rfirst != NULL && f.rsecond != NULL)
        return cc_err_hint(err,
                           "Perhaps you meant to reference the column \"%s.%s\" or the column "
                           "\"%s.%s\".",
                           f.rfirst->refname, f.first, f.rsecond->refname, f.second);
    return CC_NOT_FOUND;
}

/* A failure to resolve: an error, or in verify mode a VREF_FAILED result. */
static cc_code
failed(vplan *p, vref *out, cc_err *err)
{
    if (!p->verify)
        return err->code;
    /* Verify mode reports the failure to the visitor instead: forget the error. */
    cc_err_clear(err);
    p->c->errpos = 0;
    out->kind = VREF_FAILED;
    return CC_OK;
}

/*
 * colNameToVar: the column name at the nearest level that has it. *found
 * false if none (out->kind VREF_UNKNOWN if a level with unknown columns
 * could have it). Errors: 42702.
 */
cc_code
ddl__vcolumn_lookup(vplan *p, vlevel *lv, const char *name, bool localonly, int32_t loc, vref *out,
                    bool *found, cc_err *err)
{
    *found = false;
    int up = 0;
    for (vlevel *l = lv; l != NULL; l = l->parent, up++) {
        size_t count = 0;
        bool unknown = false;
        for (size_t i = 0; i < l->ns.n; i++) {
            const vns *n = &l->ns.v[i];
            if (!n->cols_visible || !ddl__vvisible(l, n))
                continue;
            size_t c = 0;
            const vcol *hit = ddl__vcol_find(&n->rte->cols, name, &c);
            if (c == 0 && ddl__vsystem_column(n->rte, name)) {
                c = 1;
                out->kind = VREF_UNKNOWN;
                out->via = n->rte;
                out->col = NULL;
            } else if (c > 0) {
                out->kind = VREF_COLUMN;
                out->via = n->rte;
                out->col = hit;
            }
            unknown |= !n->rte->cols.complete;
            count += c;
        }
        if (count > 1) {
            ddl__at(p->c, loc,
                    cc_err_set_state(err, CC_INVALID, "42702",
                                     "column reference \"%s\" is ambiguous", name));
            return failed(p, out, err);
        }
        if (count == 1) {
            out->levels_up = up;
            *found = true;
            return CC_OK;
        }
        if (unknown) {
            out->kind = VREF_UNKNOWN;
            out->via = NULL;
            out->col = NULL;
            out->levels_up = up;
            *found = true;
            return CC_OK;
        }
        if (localonly)
            break;
    }
    return CC_OK;
}

/* The relation schema.name in the current database, or NULL (no errors). */
static const cat_object *
quiet_relation(vplan *p, const char *schema, const char *name)
{
    if (schema != NULL) {
        const cat_object *sc = ddl__find_schema(p->c, schema);
        return sc != NULL ? cat_state_find_relation(p->c->st, sc->ref, name) : NULL;
    }
    ddl_qname q = {.name = name, .location = -1};
    const cat_object *o = NULL;
    cc_err e;
    return ddl__find_relation(p->c, &q, &o, &e) == CC_OK ? o : NULL;
}

/*
 * refnameNamespaceItem: the FROM item named rel (schema: an unaliased
 * relation schema.rel) at the nearest level. *out NULL if none. Errors:
 * 42712 two at one level.
 */
static cc_code
refname_lookup(vplan *p, const vlevel *lv, const char *schema, const char *rel, int32_t loc,
               const vrte **out, int *levels_up, cc_err *err)
{
    *out = NULL;
    const cat_object *relobj = NULL;
    if (schema != NULL && (relobj = quiet_relation(p, schema, rel)) == NULL)
        return CC_OK;
    int up = 0;
    for (const vlevel *l = lv; l != NULL; l = l->parent, up++) {
        const vrte *hit = NULL;
        for (size_t i = 0; i < l->ns.n; i++) {
            const vns *n = &l->ns.v[i];
            if (!n->rel_visible || !ddl__vvisible(l, n))
                continue;
            bool match = schema != NULL ? n->rte->kind == VRTE_RELATION && !n->rte->aliased &&
                                              n->rte->rel->ref == relobj->ref
                                        : strcmp(n->rte->refname, rel) == 0;
            if (!match)
                continue;
            if (hit != NULL && hit != n->rte)
                return ddl__at(p->c, loc,
                               cc_err_set_state(err, CC_INVALID, "42712",
                                                "table reference \"%s\" is ambiguous", rel));
            hit = n->rte;
        }
        if (hit != NULL) {
            *out = hit;
            *levels_up = up;
            return CC_OK;
        }
    }
    return CC_OK;
}

/* errorMissingRTE for a qualifier rel (schema may be NULL). */
static cc_code
missing_rte(vplan *p, const vlevel *lv, const char *schema, const char *rel, int32_t loc,
            cc_err *err)
{
    bool cte = schema == NULL && ddl__vcte_find(p, rel) >= 0;
    const cat_object *relobj = cte ? NULL : quiet_relation(p, schema, rel);
    const vrte *found = NULL;
    for (const vlevel *l = lv; l != NULL && found == NULL; l = l->parent)
        for (size_t i = 0; i < l->nrt && found == NULL; i++) {
            const vrte *r = l->rt[i];
            if ((r->kind == VRTE_RELATION && relobj != NULL && r->rel->ref == relobj->ref) ||
                (r->kind == VRTE_CTE && cte && strcmp(r->rv->relname, rel) == 0) ||
                strcmp(r->refname, rel) == 0)
                found = r;
        }
    if (found == NULL)
        return ddl__at(p->c, loc,
                       cc_err_set_state(err, CC_NOT_FOUND, "42P01",
                                        "missing FROM-clause entry for table \"%s\"", rel));
    ddl__at(p->c, loc,
            cc_err_set_state(err, CC_NOT_FOUND, "42P01",
                             "invalid reference to FROM-clause entry for table \"%s\"", rel));
    if (found->aliased && strcmp(found->refname, rel) != 0) {
        const vrte *r = NULL;
        int up;
        cc_err e;
        if (refname_lookup(p, lv, NULL, found->refname, loc, &r, &up, &e) == CC_OK && r == found)
            return cc_err_hint(err, "Perhaps you meant to reference the table alias \"%s\".",
                               found->refname);
    }
    return cc_err_hint(err,
                       "There is an entry for table \"%s\", but it cannot be referenced from this "
                       "part of the query.",
                       found->refname);
}

const char *
ddl__vscope_qualifier(const vlevel *at, const vrte *rte)
{
    for (const vlevel *l = at; l != NULL; l = l->parent) {
        const vrte *hit = NULL;
        size_t same = 0;
        for (size_t i = 0; i < l->ns.n; i++) {
            const vns *n = &l->ns.v[i];
            if (n->rel_visible && ddl__vvisible(l, n) &&
                strcmp(n->rte->refname, rte->refname) == 0) {
                hit = n->rte;
                same++;
            }
        }
        if (same > 0)
            return same == 1 && hit == rte ? rte->refname : NULL;
    }
    return NULL;
}

/* "a.b.c" of a ColumnRef's fields, for messages. */
static const char *
fields_str(const PgQuery__ColumnRef *cr, char *buf, size_t cap)
{
    buf[0] = '\0';
    for (size_t i = 0; i < cr->n_fields; i++) {
        const char *s = ddl__str(cr->fields[i]);
        size_t len = strlen(buf);
        snprintf(buf + len, cap - len, "%s%s", i ? "." : "", s ? s : "*");
    }
    return buf;
}

cc_code
ddl__vreport(vplan *p, vlevel *lv, PgQuery__ColumnRef *cr, PgQuery__ResTarget *rt, vref *r,
             cc_err *err)
{
    r->at = lv;
    if (r->kind == VREF_COLUMN && r->levels_up == 0 &&
        (lv->kind == EK_LIMIT || lv->kind == EK_OFFSET))
        return ddl__at(p->c, cr->location,
                       cc_err_set_state(err, CC_INVALID, "42P10",
                                        "argument of %s must not contain variables",
                                        lv->kind == EK_LIMIT ? "LIMIT" : "OFFSET"));
    if (p->visit != NULL && p->visit->colref != NULL)
        return p->visit->colref(p->visit->arg, p, cr, rt, r, err);
    return CC_OK;
}

/* transformColumnRef: binds cr (not a target-list *) and reports it. */
cc_code
ddl__vcolref(vplan *p, vlevel *lv, PgQuery__ColumnRef *cr, PgQuery__ResTarget *rt, vref *out,
             cc_err *err)
{
    memset(out, 0, sizeof *out);
    size_t nf = cr->n_fields;
    char b[5 * DDL_NAME_MAX + 8];
    if (nf == 0)
        return CC_OK;
    bool star = cr->fields[nf - 1]->node_case == PG_QUERY__NODE__NODE_A_STAR;
    if (nf > 4)
        return ddl__at(p->c, cr->location,
                       cc_err_set_state(err, CC_PARSE, "42601",
                                        "improper qualified name (too many dotted names): %s",
                                        fields_str(cr, b, sizeof b)));
    if (nf == 1) {
        if (star) /* a bare * outside a target list: count(*) is no ColumnRef */
            return CC_OK;
        const char *name = ddl__str(cr->fields[0]);
        bool found;
        cc_code rc = ddl__vcolumn_lookup(p, lv, name, false, cr->location, out, &found, err);
        if (rc != CC_OK || out->kind == VREF_FAILED)
            return rc != CC_OK ? rc : ddl__vreport(p, lv, cr, rt, out, err);
        if (!found) {
            const vrte *r = NULL;
            int up = 0;
            if ((rc = refname_lookup(p, lv, NULL, name, cr->location, &r, &up, err)) != CC_OK)
                return rc;
            if (r == NULL) {
                missing_column(p, lv, name, cr->location, err);
                if ((rc = failed(p, out, err)) != CC_OK)
                    return rc;
            } else {
                out->kind = VREF_WHOLEROW;
                out->via = r;
                out->levels_up = up;
            }
        }
        return ddl__vreport(p, lv, cr, rt, out, err);
    }
    const char *db = nf == 4 ? ddl__str(cr->fields[0]) : NULL;
    const char *schema = nf >= 3 ? ddl__str(cr->fields[nf - 3]) : NULL;
    const char *rel = ddl__str(cr->fields[nf - 2]);
    if (db != NULL && strcmp(db, p->c->s->database) != 0)
        return ddl__at(p->c, cr->location,
                       cc_err_set_state(err, CC_INVALID, "0A000",
                                        "cross-database references are not implemented: %s",
                                        fields_str(cr, b, sizeof b)));
    const vrte *r = NULL;
    int up = 0;
    cc_code rc = refname_lookup(p, lv, schema, rel, cr->location, &r, &up, err);
    if (rc != CC_OK)
        return rc;
    if (r == NULL) {
        missing_rte(p, lv, schema, rel, cr->location, err);
        if ((rc = failed(p, out, err)) != CC_OK)
            return rc;
        return ddl__vreport(p, lv, cr, rt, out, err);
    }
    out->via = r;
    out->levels_up = up;
    if (star) {
        out->kind = VREF_WHOLEROW;
        return ddl__vreport(p, lv, cr, rt, out, err);
    }
    const char *name = ddl__str(cr->fields[nf - 1]);
    size_t count = 0;
    const vcol *c = ddl__vcol_find(&r->cols, name, &count);
    if (count > 1) {
        ddl__at(p->c, cr->location,
                cc_err_set_state(err, CC_INVALID, "42702", "column reference \"%s\" is ambiguous",
                                 name));
        if ((rc = failed(p, out, err)) != CC_OK)
            return rc;
    } else if (c != NULL) {
        out->kind = VREF_COLUMN;
        out->col = c;
    } else if (!r->cols.complete || ddl__vsystem_column(r, name)) {
        out->kind = VREF_UNKNOWN;
    } else {
        ddl__at(p->c, cr->location,
                cc_err_set_state(err, CC_NOT_FOUND, "42703", "column %s.%s does not exist",
                                 r->refname, name));
        if ((rc = failed(p, out, err)) != CC_OK)
            return rc;
    }
    return ddl__vreport(p, lv, cr, rt, out, err);
}
