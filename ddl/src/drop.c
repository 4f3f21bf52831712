/*
 * ddl/src/drop.c — DROP of every object kind, PostgreSQL's "drop cascades
 * to ..." notices, and the views over a column (DROP COLUMN's dependents).
 *
 * A statement naming several objects (DROP TABLE a, b) applies one catalog
 * op over all of them, so RESTRICT sees the whole set. Objects are named in
 * messages as PostgreSQL names them: qualified unless their schema is on
 * the search path.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "internal.h"

/* --- DROP -------------------------------------------------------------------------------- */

/* What CASCADE adds, for PostgreSQL's "drop cascades to ..." notice. */
typedef struct cascade {
    ddl_ctx *c;
    size_t n;
    char first[4 * DDL_NAME_MAX + 64];
    char detail[1024];
} cascade;

/* True if schema is on the session's search_path (its objects print unqualified). */
static bool
visible(ddl_ctx *c, cat_ref schema)
{
    for (size_t i = 0; i < c->s->npath; i++) {
        const char *name = strcmp(c->s->path[i], "$user") == 0 ? c->s->user : c->s->path[i];
        const cat_object *sc = ddl__find_schema(c, name);
        if (sc != NULL && sc->ref == schema)
            return true;
    }
    return false;
}

/* An object's name as PostgreSQL's messages give it: qualified unless visible (cat describe). */
static const char *
describe(void *arg, const cat_object *o, char *buf, size_t cap)
{
    ddl_ctx *c = arg;
    const cat_object *sc =
        cat_ref_class(o->ref) == CAT_CLASS_ITEM ? cat_state_find(c->st, o->parent) : NULL;
    if (sc != NULL && !visible(c, sc->ref))
        snprintf(buf, cap, "%s.%s", sc->name, o->name);
    else
        snprintf(buf, cap, "%s", o->name);
    return buf;
}

static void
on_cascade(void *arg, const cat_object *o)
{
    cascade *k = arg;
    char name[2 * DDL_NAME_MAX + 2], line[sizeof k->first];
    snprintf(line, sizeof line, "%s %s", cat_kind_name(o->kind),
             describe(k->c, o, name, sizeof name));
    if (k->n++ == 0)
        snprintf(k->first, sizeof k->first, "%s", line);
    size_t len = strlen(k->detail);
    if (len + strlen(line) + 24 < sizeof k->detail)
        snprintf(k->detail + len, sizeof k->detail - len, "%sdrop cascades to %s", len ? "\n" : "",
                 line);
}

/*
 * Drops refs; what CASCADE adds beyond them is reported in one notice,
 * together with what k already holds (objects the caller chose to drop on
 * the statement's behalf, e.g. the views over a dropped column).
 */
static cc_code
drop_refs_noting(ddl_ctx *c, const cat_ref *refs, size_t n, cat_drop_behavior b, cascade *k,
                 cc_err *err)
{
    cat_op op = {.kind = CAT_OP_DROP,
                 .u.drop = {.n = n,
                            .refs = refs,
                            .behavior = b,
                            .on_cascade = on_cascade,
                            .cascade_arg = k,
                            .describe = describe,
                            .describe_arg = c}};
    cc_code rc = n == 0 ? CC_OK : ddl__apply(c, &op, NULL, err);
    if (rc == CC_OK && k->n == 1) {
        ddl__notice(c, "00000", "drop cascades to %s", k->first);
    } else if (rc == CC_OK && k->n > 1) {
        ddl__notice(c, "00000", "drop cascades to %zu other objects", k->n);
        if (c->nnotices > 0)
            snprintf(c->notices[c->nnotices - 1].detail, sizeof c->notices[0].detail, "%s",
                     k->detail);
    }
    return rc;
}

static cc_code
drop_refs(ddl_ctx *c, const cat_ref *refs, size_t n, cat_drop_behavior b, cc_err *err)
{
    cascade k = {.c = c};
    return drop_refs_noting(c, refs, n, b, &k, err);
}


cc_code
ddl__drop_stmt(ddl_ctx *c, const PgQuery__DropStmt *d, cc_err *err)
{
    const ddl_objkind *ok = ddl__objkind_of(d->remove_type);
    if (ok == NULL || ok->kind == CAT_KIND_DATABASE || ok->kind == CAT_KIND_ROLE)
        return cc_err_set_state(err, CC_INVALID, "0A000", "feature not supported: DROP of this object type");
    snprintf(c->tag, sizeof c->tag, "%s", ok->drop_tag);
    if (d->concurrent)
        return cc_err_set_state(err, CC_INVALID, "0A000",
                                "feature not supported: DROP INDEX CONCURRENTLY");
    cat_ref *refs = cc_calloc(d->n_objects ? d->n_objects : 1, sizeof *refs);
    if (refs == NULL)
        return cc_err_set(err, CC_NOMEM, "out of memory planning DROP");
    size_t n = 0;
    cc_code rc = CC_OK;
    for (size_t i = 0; i < d->n_objects && rc == CC_OK; i++) {
        ddl_qname q;
        const cat_object *o = NULL;
        if ((rc = ddl__node_qname(c, d->objects[i], &q, err)) != CC_OK)
            break;
        if (ok->kind == CAT_KIND_SCHEMA) /* DROP SCHEMA db.s is not a thing; one part only */
            q.schema = NULL;
        bool skipped;
        rc = ddl__find_or_skip(c, ok->kind, &q, d->missing_ok, &skipped, &o, err);
        if (rc == CC_OK && skipped)
            continue;
        if (rc == CC_OK && o == NULL) {
            rc = ddl__missing(c, ok, &q, d->missing_ok, err);
            continue;
        }
        if (rc == CC_OK && ddl__is_relation_kind(ok->kind))
            rc = ddl__check_kind(c, ok, o, true, err);
        if (rc == CC_OK)
            rc = ddl__check_drop(c, o, err);
        if (rc == CC_OK)
            refs[n++] = o->ref;
    }
    if (rc == CC_OK)
        rc = drop_refs(c, refs, n,
                       d->behavior == PG_QUERY__DROP_BEHAVIOR__DROP_CASCADE ? CAT_DROP_CASCADE
                                                                            : CAT_DROP_RESTRICT,
                       err);
    cc_free(refs);
    return rc;
}

cc_code
ddl__drop_database(ddl_ctx *c, const PgQuery__DropdbStmt *d, cc_err *err)
{
    snprintf(c->tag, sizeof c->tag, "DROP DATABASE");
    const cat_object *o = cat_state_find_database(c->st, d->dbname);
    if (o == NULL) {
        if (d->missing_ok) {
            ddl__notice(c, "00000", "database \"%s\" does not exist, skipping", d->dbname);
            return CC_OK;
        }
        return cc_err_set_state(err, CC_NOT_FOUND, "3D000", "database \"%s\" does not exist",
                                d->dbname);
    }
    if (o->ref == c->database)
        return cc_err_set_state(err, CC_INVALID, "55006",
                                "cannot drop the currently open database");
    cc_code rc = ddl__check_owner(c, o, err);
    if (rc == CC_OK)
        rc = ddl__database_check_unused(c, o->name, err);
    if (rc != CC_OK)
        return rc;
    /* A database takes its contents without notices, as in PostgreSQL. */
    cat_op op = {.kind = CAT_OP_DROP, .u.drop = {.n = 1, .refs = &o->ref, .behavior = CAT_DROP_CASCADE}};
    return ddl__apply(c, &op, NULL, err);
}

/* What a role is still attached to (role_detail). */
typedef struct role_uses {
    const cat_ref *roles;
    size_t nroles;
    const cat_object **v;
    size_t n, cap;
    cc_code rc; /* NOMEM stops the walk */
    cc_err *err;
} role_uses;

static bool
names_role(const role_uses *u, cat_ref r)
{
    for (size_t i = 0; i < u->nroles; i++)
        if (u->roles[i] == r)
            return true;
    return false;
}

static int
role_use(void *arg, const cat_object *o)
{
    role_uses *u = arg;
    bool hit = names_role(u, o->owner);
    for (size_t i = 0; i < u->nroles && !hit && cat_ref_class(o->ref) != CAT_CLASS_ROLE; i++)
        if ((u->rc = ddl__acl_names(o, u->roles[i], &hit, u->err)) != CC_OK)
            return 1;
    if (!hit)
        return 0;
    if (u->n == u->cap) {
        size_t cap = u->cap ? 2 * u->cap : 16;
        const cat_object **v = cc_realloc(u->v, cap * sizeof *v);
        if (v == NULL) {
            u->rc = cc_err_set(u->err, CC_NOMEM, "out of memory in DROP ROLE");
            return 1;
        }
        u->v = v;
        u->cap = cap;
    }
    u->v[u->n++] = o;
    return 0;
}

static int
by_oid(const void *a, const void *b)
{
    uint32_t x = (*(const cat_object *const *)a)->oid, y = (*(const cat_object *const *)b)->oid;
    return (x > y) - (x < y);
}

/*
 * DROP ROLE's 2BP01 DETAIL as PostgreSQL words it: one line per object the
 * roles own ("owner of table t") or are granted privileges on ("privileges
 * for schema s"), in OID order. The catalog keeps only per-role counts, so
 * this walks every object: O(n), on this error path only. Errors: NOMEM
 * (replacing the 2BP01 in err).
 */
static cc_code
role_detail(ddl_ctx *c, const cat_ref *roles, size_t nroles, cc_err *err)
{
    cc_err e;
    role_uses u = {.roles = roles, .nroles = nroles, .err = &e};
    cat_state_walk_all(c->st, role_use, &u);
    if (u.rc != CC_OK) {
        *err = e;
        cc_free(u.v);
        return u.rc;
    }
    qsort(u.v, u.n, sizeof *u.v, by_oid);
    char detail[sizeof err->detail] = "";
    for (size_t i = 0; i < u.n; i++) {
        char name[2 * DDL_NAME_MAX + 2];
        size_t len = strlen(detail);
        snprintf(detail + len, sizeof detail - len, "%s%s %s %s", len ? "\n" : "",
                 names_role(&u, u.v[i]->owner) ? "owner of" : "privileges for",
                 cat_kind_name(u.v[i]->kind), describe(c, u.v[i], name, sizeof name));
    }
    if (u.n > 0)
        cc_err_detail(err, "%s", detail);
    cc_free(u.v);
    return CC_OK;
}

cc_code
ddl__drop_roles(ddl_ctx *c, const PgQuery__DropRoleStmt *d, cc_err *err)
{
    snprintf(c->tag, sizeof c->tag, "DROP ROLE");
    if (!c->superuser && !ddl__session_attributes(c).create_role)
        return cc_err_set_state(err, CC_PERMISSION, "42501", "permission denied to drop role");
    cat_ref *refs = cc_calloc(d->n_roles ? d->n_roles : 1, sizeof *refs);
    if (refs == NULL)
        return cc_err_set(err, CC_NOMEM, "out of memory planning DROP ROLE");
    size_t n = 0;
    cc_code rc = CC_OK;
    for (size_t i = 0; i < d->n_roles && rc == CC_OK; i++) {
        const PgQuery__RoleSpec *rs = d->roles[i]->role_spec;
        const char *name = rs->roletype == PG_QUERY__ROLE_SPEC_TYPE__ROLESPEC_CSTRING ? rs->rolename
                                                                                     : c->s->user;
        const cat_object *o = cat_state_find_role(c->st, name);
        if (o == NULL) {
            if (d->missing_ok)
                ddl__notice(c, "00000", "role \"%s\" does not exist, skipping", name);
            else
                rc = cc_err_set_state(err, CC_NOT_FOUND, "42704", "role \"%s\" does not exist",
                                      name);
            continue;
        }
        if (o->ref == c->role)
            rc = cc_err_set_state(err, CC_INVALID, "55006", "current user cannot be dropped");
        else if (cat_ref_is_system(o->ref))
            rc = cc_err_set_state(err, CC_PERMISSION, "42501",
                                  "permission denied: role \"%s\" is a system object", o->name);
        else if ((rc = ddl__check_superuser_role(c, o, "must be superuser to drop superusers",
                                                 err)) == CC_OK)
            refs[n++] = o->ref;
    }
    if (rc == CC_OK)
        rc = drop_refs(c, refs, n, CAT_DROP_RESTRICT, err);
    if (rc == CC_DEPENDENTS && err != NULL) {
        cc_code drc = role_detail(c, refs, n, err);
        if (drc != CC_OK)
            rc = drc;
    }
    cc_free(refs);
    return rc;
}

/* --- columns used by views ------------------------------------------------------------- */

/* Looks for a reference to one column in a view's query. */
typedef struct colref_find {
    const char *column;
    bool found;
} colref_find;

static int
colref_node(void *arg, ddl_walk *w, ProtobufCMessage *node)
{
    (void)w;
    colref_find *f = arg;
    if (node->descriptor != &pg_query__column_ref__descriptor)
        return 0;
    const PgQuery__ColumnRef *cr = (const PgQuery__ColumnRef *)node;
    if (cr->n_fields == 0)
        return 0;
    const PgQuery__Node *last = cr->fields[cr->n_fields - 1];
    if (last->node_case == PG_QUERY__NODE__NODE_A_STAR ||
        (ddl__str(last) != NULL && strcmp(ddl__str(last), f->column) == 0)) {
        f->found = true;
        return 1;
    }
    return 0;
}

/* Collects the views and materialized views of a table that read one of its columns. */
typedef struct colusers {
    const char *column;
    cat_ref *v;
    size_t n, cap;
    cc_code rc;
    cc_err *err;
} colusers;

static int
colusers_add(void *arg, const cat_object *dep)
{
    colusers *u = arg;
    if (dep->kind != CAT_KIND_VIEW && dep->kind != CAT_KIND_MATERIALIZED_VIEW)
        return 0;
    ProtobufCMessage *m = NULL;
    if ((u->rc = cat_object_decode(dep, &m, u->err)) != CC_OK)
        return 1;
    PgQuery__ParseResult *tree = NULL;
    int pos;
    colref_find f = {.column = u->column};
    cc_err pe;
    cc_code prc = ddl__parse(((Cowcat__Catalog__ItemValue *)m)->create_sql, &tree, &pos, &pe);
    if (prc == CC_OK)
        ddl__walk(&tree->stmts[0]->stmt->base, colref_node, &f);
    else
        f.found = true; /* cannot tell: keep the view safe */
    ddl__parse_free(tree);
    protobuf_c_message_free_unpacked(m, NULL);
    if (prc == CC_NOMEM) {
        if (u->err != NULL)
            *u->err = pe;
        u->rc = prc;
        return 1;
    }
    if (!f.found)
        return 0;
    if (u->n == u->cap) {
        size_t cap = u->cap ? 2 * u->cap : 8;
        cat_ref *v = cc_realloc(u->v, cap * sizeof *v);
        if (v == NULL) {
            u->rc = cc_err_set(u->err, CC_NOMEM, "out of memory in DROP COLUMN");
            return 1;
        }
        u->v = v;
        u->cap = cap;
    }
    u->v[u->n++] = dep->ref;
    return 0;
}

/* A DETAIL listing dependents transitively (PostgreSQL's RESTRICT errors). */
typedef struct deps_detail {
    ddl_ctx *c;
    const cat_object *of;
    char detail[1024];
} deps_detail;

static void
detail_line(deps_detail *dd, const char *line)
{
    size_t len = strlen(dd->detail);
    if (len + strlen(line) + 2 < sizeof dd->detail)
        snprintf(dd->detail + len, sizeof dd->detail - len, "%s%s", len ? "\n" : "", line);
}

static int
detail_dependents(void *arg, const cat_object *o)
{
    deps_detail *dd = arg;
    if (o->kind == CAT_KIND_INDEX && o->nuses > 0 && o->uses[0] == dd->of->ref)
        return 0; /* goes with its table, unreported */
    char line[4 * DDL_NAME_MAX + 64];
    snprintf(line, sizeof line, "%s %s depends on %s %s", cat_kind_name(o->kind), o->name,
             cat_kind_name(dd->of->kind), dd->of->name);
    detail_line(dd, line);
    const cat_object *saved = dd->of;
    dd->of = o;
    cat_state_walk_used_by(dd->c->st, o->ref, detail_dependents, dd);
    dd->of = saved;
    return 0;
}

/* A line of a cascade notice that is no object (a constraint the catalog drops along). */
static void
cascade_line(cascade *k, const char *line)
{
    if (k->n++ == 0)
        snprintf(k->first, sizeof k->first, "%s", line);
    size_t len = strlen(k->detail);
    if (len + strlen(line) + 24 < sizeof k->detail)
        snprintf(k->detail + len, sizeof k->detail - len, "%sdrop cascades to %s", len ? "\n" : "",
                 line);
}

typedef struct fk_scan {
    ddl_ctx *c;
    const cat_object *table;
    const char *column;
    cascade *k;
    cc_code rc; /* NOMEM stops the scan */
    cc_err *err;
} fk_scan;

static int
fk_line(void *arg, const cat_object *o)
{
    fk_scan *f = arg;
    ProtobufCMessage *m;
    if (o->kind != CAT_KIND_TABLE)
        return 0;
    cc_code rc = ddl__decode_lenient(o, &m, f->err);
    if (rc != CC_OK) {
        f->rc = rc;
        return 1;
    }
    if (m == NULL)
        return 0; /* undecodable: no lines (cat_check reports it) */
    const Cowcat__Catalog__ItemValue *v = (const Cowcat__Catalog__ItemValue *)m;
    for (size_t i = 0; i < v->n_constraints; i++) {
        const Cowcat__Catalog__Constraint *k = v->constraints[i];
        bool hit = k->kind == COWCAT__CATALOG__CONSTRAINT_KIND__CONSTRAINT_KIND_FOREIGN_KEY &&
                   k->ref_table_opt_case == COWCAT__CATALOG__CONSTRAINT__REF_TABLE_OPT_REF_TABLE &&
                   cat_ref_from_id(CAT_CLASS_ITEM, k->ref_table) == f->table->ref;
        /* The table's own key on the column goes with the column itself. */
        for (size_t j = 0; hit && o->ref == f->table->ref && j < k->n_columns; j++)
            hit = strcmp(k->columns[j], f->column) != 0;
        for (size_t j = 0; hit && j < k->n_ref_columns; j++)
            if (strcmp(k->ref_columns[j], f->column) == 0) {
                char name[2 * DDL_NAME_MAX + 2], line[4 * DDL_NAME_MAX + 64];
                snprintf(line, sizeof line, "constraint %s on table %s", k->name,
                         describe(f->c, o, name, sizeof name));
                cascade_line(f->k, line);
                break;
            }
    }
    protobuf_c_message_free_unpacked(m, NULL);
    return 0;
}

/*
 * The foreign keys to table.column (its own, others'), which DROP COLUMN ...
 * CASCADE drops, as notice lines into k. Errors: NOMEM.
 */
static cc_code
fk_lines(ddl_ctx *c, const cat_object *table, const char *column, cascade *k, cc_err *err)
{
    fk_scan f = {c, table, column, k, CC_OK, err};
    if (fk_line(&f, table) == 0) /* its own foreign keys first, as PostgreSQL lists them */
        cat_state_walk_used_by(c->st, table->ref, fk_line, &f);
    return f.rc;
}

/*
 * DROP COLUMN and the views over the table: a view whose query names the
 * column (or reads `*`) depends on it, as PostgreSQL records per-column
 * dependencies. The match is by name, so a same-named column of another
 * relation in the view's query counts too (the safe side). RESTRICT fails
 * with 2BP01; CASCADE drops those views first. O(k) in the table's
 * dependents, each re-parsed.
 */
cc_code
ddl__drop_column_users(ddl_ctx *c, const cat_object *table, const char *column, cat_drop_behavior b,
                  cc_err *err)
{
    colusers u = {.column = column, .err = err};
    cat_state_walk_used_by(c->st, table->ref, colusers_add, &u);
    cc_code rc = u.rc;
    if (rc == CC_OK && u.n > 0 && b == CAT_DROP_RESTRICT) {
        rc = cc_err_set_state(err, CC_DEPENDENTS, "2BP01",
                              "cannot drop column %s of table %s because other objects depend on it",
                              column, table->name);
        deps_detail dd = {.c = c};
        for (size_t i = 0; i < u.n; i++) {
            const cat_object *v = cat_state_find(c->st, u.v[i]);
            char line[4 * DDL_NAME_MAX + 64];
            snprintf(line, sizeof line, "%s %s depends on column %s of table %s",
                     cat_kind_name(v->kind), v->name, column, table->name);
            detail_line(&dd, line);
            dd.of = v;
            cat_state_walk_used_by(c->st, v->ref, detail_dependents, &dd);
        }
        cc_err_detail(err, "%s", dd.detail);
        cc_err_hint(err, "Use DROP ... CASCADE to drop the dependent objects too.");
    } else if (rc == CC_OK && b == CAT_DROP_CASCADE) {
        cascade k = {.c = c};
        for (size_t i = 0; i < u.n; i++)
            on_cascade(&k, cat_state_find(c->st, u.v[i]));
        rc = fk_lines(c, table, column, &k, err);
        if (rc == CC_OK)
            rc = drop_refs_noting(c, u.v, u.n, CAT_DROP_CASCADE, &k, err);
    }
    cc_free(u.v);
    return rc;
}
