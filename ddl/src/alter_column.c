/*
 * ddl/src/alter_column.c — ALTER TABLE ... ADD / DROP / RENAME COLUMN and
 * ALTER VIEW ... RENAME COLUMN with the stored SQL kept in step.
 *
 * Each statement first computes the new create_sql of every object it
 * touches — the relation itself and its direct dependents: indexes, tables
 * with foreign keys to it, views that read it (colsql.c, view_rewrite.c) —
 * against the version before the change, so a rewrite that must be refused
 * fails before anything is applied; then applies the catalog's column op;
 * then CAT_OP_SET_SQL for each statement that changed. O(k) in the direct
 * dependents, each re-parsed; nothing else is read.
 */
#include <string.h>

#include "base/alloc.h"
#include "internal.h"

/* New statements to store once the column op is applied. */
typedef struct sqlplan {
    cat_ref *refs;
    char **sqls;
    ddl_checks *checks;
    size_t n, cap;
} sqlplan;

static void
plan_fini(sqlplan *p)
{
    for (size_t i = 0; i < p->n; i++) {
        cc_free(p->sqls[i]);
        ddl__checks_fini(&p->checks[i]);
    }
    cc_free(p->refs);
    cc_free(p->sqls);
    cc_free(p->checks);
}

/* Takes sql (may be NULL: nothing to store) and checks. */
static cc_code
plan_add(sqlplan *p, cat_ref ref, char *sql, ddl_checks *checks, cc_err *err)
{
    if (sql == NULL) {
        if (checks != NULL)
            ddl__checks_fini(checks);
        return CC_OK;
    }
    if (p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 8;
        cat_ref *r = cc_realloc(p->refs, cap * sizeof *r);
        if (r != NULL)
            p->refs = r;
        char **s = cc_realloc(p->sqls, cap * sizeof *s);
        if (s != NULL)
            p->sqls = s;
        ddl_checks *k = cc_realloc(p->checks, cap * sizeof *k);
        if (k != NULL)
            p->checks = k;
        if (r == NULL || s == NULL || k == NULL) {
            cc_free(sql);
            if (checks != NULL)
                ddl__checks_fini(checks);
            return cc_err_set(err, CC_NOMEM, "out of memory altering a column");
        }
        p->cap = cap;
    }
    p->refs[p->n] = ref;
    p->sqls[p->n] = sql;
    memset(&p->checks[p->n], 0, sizeof p->checks[p->n]);
    if (checks != NULL)
        p->checks[p->n] = *checks;
    p->n++;
    return CC_OK;
}

static cc_code
plan_apply(ddl_ctx *c, const sqlplan *p, cc_err *err)
{
    cc_code rc = CC_OK;
    for (size_t i = 0; i < p->n && rc == CC_OK; i++)
        if (cat_state_find(c->st, p->refs[i]) != NULL)
            rc = ddl__set_sql(c, p->refs[i], p->sqls[i], &p->checks[i], err);
    return rc;
}

static int
dep_push(void *arg, const cat_object *o)
{
    return ddl__refs_push(arg, o->ref) ? 0 : 1;
}

/* The direct dependents of o (refs, collected before anything changes). */
static cc_code
dependents(ddl_ctx *c, const cat_object *o, ddl_refs *d, cc_err *err)
{
    memset(d, 0, sizeof *d);
    cat_state_walk_used_by(c->st, o->ref, dep_push, d);
    if (d->nomem) {
        cc_free(d->v);
        return cc_err_set(err, CC_NOMEM, "out of memory altering a column");
    }
    return CC_OK;
}

static bool
is_view(const cat_object *o)
{
    return o->kind == CAT_KIND_VIEW || o->kind == CAT_KIND_MATERIALIZED_VIEW;
}

cc_code
ddl__rename_column(ddl_ctx *c, const cat_object *rel, const char *from, const char *to, cc_err *err)
{
    sqlplan p = {0};
    ddl_refs d;
    char *sql = NULL;
    ddl_checks checks = {0};
    cc_code rc = is_view(rel) ? ddl__view_sql_rename_output(c, rel, from, to, &sql, err)
                              : ddl__table_sql_rename(c, rel, rel, from, to, &sql, &checks, err);
    if (rc == CC_OK)
        rc = plan_add(&p, rel->ref, sql, &checks, err);
    else
        ddl__checks_fini(&checks);
    if (rc == CC_OK)
        rc = dependents(c, rel, &d, err);
    else
        memset(&d, 0, sizeof d);
    for (size_t i = 0; i < d.n && rc == CC_OK; i++) {
        const cat_object *o = cat_state_find(c->st, d.v[i]);
        ddl_checks none = {0};
        sql = NULL;
        if (is_view(o))
            rc = ddl__view_sql_column(c, o, rel, from, to, &sql, err);
        else if (o->kind == CAT_KIND_TABLE ||
                 (o->kind == CAT_KIND_INDEX && o->nuses > 0 && o->uses[0] == rel->ref))
            rc = ddl__table_sql_rename(c, o, rel, from, to, &sql, &none, err);
        if (rc == CC_OK)
            rc = plan_add(&p, o->ref, sql, &none, err);
        else
            ddl__checks_fini(&none);
    }
    cc_free(d.v);
    cat_op op = {.kind = CAT_OP_RENAME_COLUMN,
                 .u.column = {.table = rel->ref, .name = from, .new_name = to}};
    if (rc == CC_OK)
        rc = ddl__apply(c, &op, NULL, err);
    if (rc == CC_OK)
        rc = plan_apply(c, &p, err);
    plan_fini(&p);
    return rc;
}

cc_code
ddl__add_column(ddl_ctx *c, const cat_object *table, const Cowcat__Catalog__Column *col,
                const PgQuery__Node *def, cc_err *err)
{
    sqlplan p = {0};
    ddl_refs d = {0};
    char *sql = NULL;
    uint32_t pos = 0;
    /* The clash first, as PostgreSQL checks it (the views' rewrites would see two columns). */
    cc_code rc = ddl__column_position(table, col->name, &pos, err);
    if (rc == CC_OK && pos != 0)
        return cc_err_set_state(err, CC_EXISTS, "42701",
                                "column \"%s\" of relation \"%s\" already exists", col->name,
                                table->name);
    if (rc == CC_OK)
        rc = ddl__table_sql_add(c, table, def, &sql, err);
    if (rc == CC_OK)
        rc = plan_add(&p, table->ref, sql, NULL, err);
    if (rc == CC_OK)
        rc = dependents(c, table, &d, err);
    /* Views over the table keep their columns: a `*` over it is spelled out. */
    for (size_t i = 0; i < d.n && rc == CC_OK; i++) {
        const cat_object *o = cat_state_find(c->st, d.v[i]);
        if (!is_view(o))
            continue;
        sql = NULL;
        rc = ddl__view_sql_column(c, o, table, NULL, col->name, &sql, err);
        if (rc == CC_OK)
            rc = plan_add(&p, o->ref, sql, NULL, err);
    }
    cc_free(d.v);
    cat_op op = {.kind = CAT_OP_ADD_COLUMN, .u.column = {.table = table->ref, .column = col}};
    if (rc == CC_OK)
        rc = ddl__apply(c, &op, NULL, err);
    if (rc == CC_OK)
        rc = plan_apply(c, &p, err);
    plan_fini(&p);
    return rc;
}

cc_code
ddl__drop_column(ddl_ctx *c, const cat_object *table, const char *column, cat_drop_behavior b,
                 cc_err *err)
{
    /* Views over the column: RESTRICT fails, CASCADE drops them (drop.c). */
    cc_code rc = ddl__drop_column_users(c, table, column, b, err);
    ddl_refs d = {0};
    if (rc == CC_OK)
        rc = dependents(c, cat_state_find(c->st, table->ref), &d, err);
    /* An index whose expression or predicate reads the column goes (PostgreSQL's auto
     * dependency); one on the column itself the catalog drops with it. */
    size_t ndrop = 0;
    for (size_t i = 0; i < d.n && rc == CC_OK; i++) {
        const cat_object *o = cat_state_find(c->st, d.v[i]);
        if (o->kind == CAT_KIND_INDEX && o->nuses > 0 && o->uses[0] == table->ref &&
            ddl__index_reads_column(o, column))
            d.v[ndrop++] = o->ref;
    }
    if (rc == CC_OK && ndrop > 0) {
        cat_op op = {.kind = CAT_OP_DROP};
        op.u.drop.n = ndrop;
        op.u.drop.refs = d.v;
        op.u.drop.behavior = CAT_DROP_CASCADE;
        rc = ddl__apply(c, &op, NULL, err);
    }
    cc_free(d.v);
    memset(&d, 0, sizeof d);
    table = rc == CC_OK ? cat_state_find(c->st, table->ref) : table;
    sqlplan p = {0};
    char *sql = NULL;
    if (rc == CC_OK)
        rc = ddl__table_sql_drop(c, table, table, column, &sql, err);
    if (rc == CC_OK)
        rc = plan_add(&p, table->ref, sql, NULL, err);
    if (rc == CC_OK)
        rc = dependents(c, table, &d, err);
    for (size_t i = 0; i < d.n && rc == CC_OK; i++) {
        const cat_object *o = cat_state_find(c->st, d.v[i]);
        if (o->kind != CAT_KIND_TABLE)
            continue;
        sql = NULL;
        rc = ddl__table_sql_drop(c, o, table, column, &sql, err);
        if (rc == CC_OK)
            rc = plan_add(&p, o->ref, sql, NULL, err);
    }
    cc_free(d.v);
    cat_op op = {.kind = CAT_OP_DROP_COLUMN,
                 .u.column = {.table = table->ref, .name = column, .behavior = b}};
    if (rc == CC_OK)
        rc = ddl__apply(c, &op, NULL, err);
    if (rc == CC_OK)
        rc = plan_apply(c, &p, err);
    plan_fini(&p);
    return rc;
}
