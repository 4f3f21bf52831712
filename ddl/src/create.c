/*
 * ddl/src/create.c — CREATE INDEX, TYPE ... AS ENUM, ROLE, DATABASE and
 * SCHEMA (CREATE TABLE is in create_table.c, views in view.c), and the
 * helpers every CREATE shares: the stored statement text, expression text,
 * PostgreSQL's rules for generated names, and a pool for plan memory.
 *
 * Each planner checks what PostgreSQL checks, in PostgreSQL's order, so the
 * first error is PostgreSQL's first error (message and SQLSTATE), then
 * applies catalog ops to c->txn through ddl__apply. A failing statement
 * applies nothing: every check precedes the first op, and the ops that can
 * still fail (limits, NOMEM) poison the transaction, which the caller then
 * aborts.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/alloc.h"
#include "internal.h"

/* --- plan memory ------------------------------------------------------------------ */

void *
ddl__pool_alloc(ddl_pool *p, size_t size)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 16;
        void **v = cc_realloc(p->v, cap * sizeof *v);
        if (v == NULL)
            return NULL;
        p->v = v;
        p->cap = cap;
    }
    void *m = cc_calloc(1, size ? size : 1);
    if (m != NULL)
        p->v[p->n++] = m;
    return m;
}

char *
ddl__pool_strdup(ddl_pool *p, const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = ddl__pool_alloc(p, n);
    if (d != NULL)
        memcpy(d, s, n);
    return d;
}

void
ddl__pool_fini(ddl_pool *p)
{
    for (size_t i = 0; i < p->n; i++)
        cc_free(p->v[i]);
    cc_free(p->v);
    memset(p, 0, sizeof *p);
}

/* --- shared helpers ------------------------------------------------------------------ */

cc_code
ddl__create_sql(ddl_ctx *c, char **out, cc_err *err)
{
    const char *t = c->text;
    size_t b = 0, e = strlen(t);
    while (b < e && (t[b] == ' ' || t[b] == '\t' || t[b] == '\n' || t[b] == '\r' || t[b] == '\f'))
        b++;
    while (e > b && (t[e - 1] == ' ' || t[e - 1] == '\t' || t[e - 1] == '\n' || t[e - 1] == '\r' ||
                     t[e - 1] == '\f' || t[e - 1] == ';'))
        e--;
    char *s = cc_malloc(e - b + 1);
    if (s == NULL)
        return cc_err_set(err, CC_NOMEM, "out of memory copying a statement");
    memcpy(s, t + b, e - b);
    s[e - b] = '\0';
    *out = s;
    return CC_OK;
}

cc_code
ddl__expr_sql(const PgQuery__Node *n, char **out, cc_err *err)
{
    PgQuery__ResTarget rt = PG_QUERY__RES_TARGET__INIT;
    rt.val = (PgQuery__Node *)n;
    rt.location = -1;
    PgQuery__Node rtn = PG_QUERY__NODE__INIT;
    rtn.node_case = PG_QUERY__NODE__NODE_RES_TARGET;
    rtn.res_target = &rt;
    PgQuery__Node *tl[1] = {&rtn};
    PgQuery__SelectStmt sel = PG_QUERY__SELECT_STMT__INIT;
    sel.n_target_list = 1;
    sel.target_list = tl;
    sel.op = PG_QUERY__SET_OPERATION__SETOP_NONE;
    sel.limit_option = PG_QUERY__LIMIT_OPTION__LIMIT_OPTION_DEFAULT;
    PgQuery__Node sn = PG_QUERY__NODE__INIT;
    sn.node_case = PG_QUERY__NODE__NODE_SELECT_STMT;
    sn.select_stmt = &sel;
    char *s;
    cc_code rc = ddl__deparse(&sn, &s, err);
    if (rc != CC_OK)
        return rc;
    if (strncmp(s, "SELECT ", 7) == 0)
        memmove(s, s + 7, strlen(s + 7) + 1);
    *out = s;
    return CC_OK;
}

/* Cuts n bytes of s back to a UTF-8 character boundary (pg_mbcliplen). */
static size_t
clip(const char *s, size_t n)
{
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}

void
ddl__object_name(const char *name1, const char *name2, const char *label, char *out)
{
    size_t n1 = strlen(name1), n2 = name2 ? strlen(name2) : 0, overhead = 0;
    if (name2 != NULL)
        overhead++;
    if (label != NULL)
        overhead += strlen(label) + 1;
    size_t avail = DDL_NAME_MAX - 1 - overhead;
    while (n1 + n2 > avail) {
        if (n1 > n2)
            n1--;
        else
            n2--;
    }
    n1 = clip(name1, n1);
    if (name2 != NULL)
        n2 = clip(name2, n2);
    size_t len = 0;
    memcpy(out, name1, n1);
    len = n1;
    if (name2 != NULL) {
        out[len++] = '_';
        memcpy(out + len, name2, n2);
        len += n2;
    }
    if (label != NULL) {
        out[len++] = '_';
        strcpy(out + len, label);
    } else {
        out[len] = '\0';
    }
}

void
ddl__choose_name(const char *name1, const char *name2, const char *label,
                 bool (*taken)(void *arg, const char *name), void *arg, char *out)
{
    char mod[DDL_NAME_MAX];
    snprintf(mod, sizeof mod, "%s", label);
    for (int pass = 0;; pass++) {
        ddl__object_name(name1, name2, mod, out);
        if (!taken(arg, out))
            return;
        snprintf(mod, sizeof mod, "%s%d", label, pass + 1);
    }
}

void
ddl__name_addition(const char *const *names, size_t n, char *out)
{
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (len > 0)
            out[len++] = '_';
        size_t k = strlen(names[i]);
        if (k > DDL_NAME_MAX - 1)
            k = DDL_NAME_MAX - 1;
        memcpy(out + len, names[i], k);
        len += k;
        out[len] = '\0';
        if (len >= DDL_NAME_MAX)
            break;
    }
}

cc_code
ddl__system_catalog(ddl_ctx *c, const ddl_qname *q, cc_err *err)
{
    if (!c->superuser)
        return cc_err_set_state(err, CC_PERMISSION, "42501", "permission denied for schema %s",
                                q->schema);
    cc_err_set_state(err, CC_PERMISSION, "42501", "permission denied to create \"%s.%s\"",
                     q->schema, q->name);
    return cc_err_detail(err, "System catalog modifications are currently disallowed.");
}

/* 0A000 `feature not supported: what` at loc. */
static cc_code
unsupported(ddl_ctx *c, int32_t loc, const char *what, cc_err *err)
{
    return ddl__at(c, loc,
                   cc_err_set_state(err, CC_PARSE, "0A000", "feature not supported: %s", what));
}

/* 42601 `conflicting or redundant options` at the option's position. */
static cc_code
conflicting(ddl_ctx *c, const PgQuery__DefElem *d, cc_err *err)
{
    return ddl__at(c, d->location,
                   cc_err_set_state(err, CC_PARSE, "42601", "conflicting or redundant options"));
}

/*
 * *member: the session role is a member of role (itself, or through
 * memberships). A role that does not decode has none. Errors: NOMEM.
 */
static cc_code
member_of(ddl_ctx *c, cat_ref role, bool *member, cc_err *err)
{
    *member = c->superuser || c->role == role;
    if (*member)
        return CC_OK;
    cat_ref todo[32];
    size_t n = 0, seen = 0;
    todo[n++] = c->role;
    while (seen < n && !*member) {
        const cat_object *r = cat_state_find(c->st, todo[seen++]);
        ProtobufCMessage *m = NULL;
        if (r == NULL)
            continue;
        cc_code rc = ddl__decode_lenient(r, &m, err);
        if (rc != CC_OK)
            return rc;
        if (m == NULL)
            continue;
        Cowcat__Catalog__RoleValue *v = (Cowcat__Catalog__RoleValue *)m;
        for (size_t i = 0; i < v->n_membership && !*member; i++) {
            cat_ref g = cat_ref_from_id(CAT_CLASS_ROLE, v->membership[i]->role);
            *member = g == role;
            bool dup = false;
            for (size_t j = 0; j < n; j++)
                dup |= todo[j] == g;
            if (!dup && n < sizeof todo / sizeof todo[0])
                todo[n++] = g;
        }
        protobuf_c_message_free_unpacked(m, NULL);
    }
    return CC_OK;
}

/* --- CREATE INDEX ------------------------------------------------------------------- */

static const char *const access_methods[] = {"btree", "hash", "gist", "gin", "spgist", "brin"};

typedef struct name_check {
    ddl_ctx *c;
    cat_ref schema;
} name_check;

/* A relation of that name exists in the schema. */
static bool
relation_taken(void *arg, const char *name)
{
    name_check *n = arg;
    return cat_state_find_relation(n->c->st, n->schema, name) != NULL;
}

/* The table column called name, or NULL. */
static const Cowcat__Catalog__Column *
table_column(const Cowcat__Catalog__ItemValue *v, const char *name)
{
    for (size_t i = 0; i < v->n_columns; i++)
        if (strcmp(v->columns[i]->name, name) == 0)
            return v->columns[i];
    return NULL;
}

typedef struct expr_cols {
    ddl_ctx *c;
    const Cowcat__Catalog__ItemValue *table;
    const PgQuery__ColumnRef *missing; /* the first column reference that does not exist */
} expr_cols;

static int
check_expr_column(void *arg, ddl_walk *w, ProtobufCMessage *node)
{
    (void)w;
    expr_cols *e = arg;
    if (node->descriptor != &pg_query__column_ref__descriptor)
        return 0;
    const PgQuery__ColumnRef *cr = (const PgQuery__ColumnRef *)node;
    const char *name = cr->n_fields == 1 ? ddl__str(cr->fields[0]) : NULL;
    if (name != NULL && table_column(e->table, name) == NULL) {
        e->missing = cr;
        return 1;
    }
    return 0;
}

/* PostgreSQL's ChooseIndexColumnNames: names made unique by appending 1, 2, ... */
static void
index_column_names(const PgQuery__IndexStmt *s, char (*names)[DDL_NAME_MAX], size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const PgQuery__Node *en = i < s->n_index_params
                                      ? s->index_params[i]
                                      : s->index_including_params[i - s->n_index_params];
        const PgQuery__IndexElem *e = en->index_elem;
        const char *orig = NULL;
        if (e->indexcolname != NULL && e->indexcolname[0])
            orig = e->indexcolname;
        else if (e->name != NULL && e->name[0])
            orig = e->name;
        else if (e->expr != NULL)
            orig = ddl__figure_colname(e->expr);
        if (orig == NULL)
            orig = "expr";
        for (int k = 0;; k++) {
            char suffix[16] = "";
            if (k > 0)
                snprintf(suffix, sizeof suffix, "%d", k);
            size_t room = DDL_NAME_MAX - 1 - strlen(suffix), len = strlen(orig);
            if (len > room)
                len = clip(orig, room);
            snprintf(names[i], DDL_NAME_MAX, "%.*s%s", (int)len, orig, suffix);
            bool dup = false;
            for (size_t j = 0; j < i; j++)
                dup |= strcmp(names[j], names[i]) == 0;
            if (!dup)
                break;
        }
    }
}

cc_code
ddl__create_index(ddl_ctx *c, const PgQuery__IndexStmt *s, cc_err *err)
{
    ddl_qname q = ddl__qname_rv(s->relation);
    const cat_object *tab;
    cc_code rc = ddl__find_relation(c, &q, &tab, err);
    if (rc != CC_OK)
        return rc;
    if (tab == NULL && q.schema != NULL && ddl__builtin_find(q.schema, q.name) != NULL)
        return cc_err_set_state(err, CC_PERMISSION, "42501",
                                "permission denied: \"%s\" is a system catalog", q.name);
    if (tab == NULL) {
        char b[3 * DDL_NAME_MAX + 4];
        return cc_err_set_state(err, CC_NOT_FOUND, "42P01", "relation \"%s\" does not exist",
                                ddl__qname_str(&q, b, sizeof b));
    }
    if (tab->kind == CAT_KIND_INDEX)
        return cc_err_set_state(err, CC_INVALID, "42809", "\"%s\" is an index", tab->name);
    if (tab->kind != CAT_KIND_TABLE && tab->kind != CAT_KIND_MATERIALIZED_VIEW) {
        cc_err_set_state(err, CC_INVALID, "42809", "cannot create index on relation \"%s\"",
                         tab->name);
        return cc_err_detail(err, "This operation is not supported for %s.",
                             tab->kind == CAT_KIND_VIEW ? "views" : "indexes");
    }
    if ((rc = ddl__check_owner(c, tab, err)) != CC_OK)
        return rc;
    const cat_object *schema = cat_state_find(c->st, tab->parent);
    if (schema == NULL)
        return cc_err_set(err, CC_INTERNAL, "relation \"%s\" has no schema", tab->name);
    if ((rc = ddl__check_create(c, schema, err)) != CC_OK)
        return rc;
    if (s->access_method != NULL && s->access_method[0]) {
        bool known = false;
        for (size_t i = 0; i < sizeof access_methods / sizeof access_methods[0]; i++)
            known |= strcmp(access_methods[i], s->access_method) == 0;
        if (!known)
            return cc_err_set_state(err, CC_NOT_FOUND, "42704",
                                    "access method \"%s\" does not exist", s->access_method);
    }
    if (s->n_index_params + s->n_index_including_params > 32)
        return cc_err_set_state(err, CC_LIMIT, "54011",
                                "cannot use more than 32 columns in an index");

    ProtobufCMessage *m = NULL;
    if ((rc = cat_object_decode(tab, &m, err)) != CC_OK)
        return rc;
    const Cowcat__Catalog__ItemValue *tv = (const Cowcat__Catalog__ItemValue *)m;
    size_t n = s->n_index_params + s->n_index_including_params;
    char names[32][DDL_NAME_MAX];
    Cowcat__Catalog__Column cols[32];
    Cowcat__Catalog__Column *colp[32];
    char *sql = NULL;
    for (size_t i = 0; i < n && rc == CC_OK; i++) {
        const PgQuery__Node *en = i < s->n_index_params
                                      ? s->index_params[i]
                                      : s->index_including_params[i - s->n_index_params];
        const PgQuery__IndexElem *e = en->index_elem;
        if (e->name != NULL && e->name[0]) {
            if (table_column(tv, e->name) == NULL)
                rc = cc_err_set_state(err, CC_NOT_FOUND, "42703", "column \"%s\" does not exist",
                                      e->name);
        } else if (e->expr != NULL) {
            expr_cols ec = {.c = c, .table = tv};
            if (ddl__walk(&e->expr->base, check_expr_column, &ec) != 0 && ec.missing != NULL)
                rc = ddl__at(c, ec.missing->location,
                             cc_err_set_state(err, CC_NOT_FOUND, "42703",
                                              "column \"%s\" does not exist",
                                              ddl__str(ec.missing->fields[0])));
        }
    }
    if (rc == CC_OK)
        index_column_names(s, names, n);

    char idxname[DDL_NAME_MAX];
    name_check nc = {c, schema->ref};
    if (rc == CC_OK && s->idxname != NULL && s->idxname[0]) {
        snprintf(idxname, sizeof idxname, "%s", s->idxname);
        if (relation_taken(&nc, idxname)) {
            if (s->if_not_exists) {
                ddl__notice(c, "42P07", "relation \"%s\" already exists, skipping", idxname);
                snprintf(c->tag, sizeof c->tag, "CREATE INDEX");
                protobuf_c_message_free_unpacked(m, NULL);
                return CC_OK;
            }
            rc = cc_err_set_state(err, CC_EXISTS, "42P07", "relation \"%s\" already exists",
                                  idxname);
        }
    } else if (rc == CC_OK) {
        char add[2 * DDL_NAME_MAX];
        const char *np[32];
        for (size_t i = 0; i < n; i++)
            np[i] = names[i];
        ddl__name_addition(np, n, add);
        ddl__choose_name(tab->name, add, "idx", relation_taken, &nc, idxname);
    }

    for (size_t i = 0; i < n && rc == CC_OK; i++) {
        const PgQuery__Node *en = i < s->n_index_params
                                      ? s->index_params[i]
                                      : s->index_including_params[i - s->n_index_params];
        const PgQuery__IndexElem *e = en->index_elem;
        const char *src = e->name && e->name[0] ? e->name : NULL;
        if (src == NULL && e->expr != NULL &&
            e->expr->node_case == PG_QUERY__NODE__NODE_COLUMN_REF &&
            e->expr->column_ref->n_fields == 1)
            src = ddl__str(e->expr->column_ref->fields[0]);
        const Cowcat__Catalog__Column *tc = src ? table_column(tv, src) : NULL;
        Cowcat__Catalog__Column col = COWCAT__CATALOG__COLUMN__INIT;
        col.name = names[i];
        col.type_name = tc ? tc->type_name : (char *)"unknown";
        col.typmod = tc ? tc->typmod : -1;
        col.nullable = tc ? tc->nullable : true;
        if (tc != NULL && tc->type_ref_opt_case == COWCAT__CATALOG__COLUMN__TYPE_REF_OPT_TYPE_REF) {
            col.type_ref_opt_case = COWCAT__CATALOG__COLUMN__TYPE_REF_OPT_TYPE_REF;
            col.type_ref = tc->type_ref;
        }
        cols[i] = col;
        colp[i] = &cols[i];
    }

    /* An unnamed index stores its statement with the chosen name. */
    if (rc == CC_OK) {
        if (s->idxname != NULL && s->idxname[0]) {
            rc = ddl__create_sql(c, &sql, err);
        } else {
            PgQuery__IndexStmt copy = *s;
            copy.idxname = idxname;
            PgQuery__Node node = PG_QUERY__NODE__INIT;
            node.node_case = PG_QUERY__NODE__NODE_INDEX_STMT;
            node.index_stmt = &copy;
            rc = ddl__deparse(&node, &sql, err);
        }
    }
    if (rc == CC_OK) {
        cat_op op = {.kind = CAT_OP_CREATE_ITEM};
        op.u.create_item.kind = CAT_KIND_INDEX;
        op.u.create_item.schema = schema->ref;
        op.u.create_item.name = idxname;
        op.u.create_item.create_sql = sql;
        op.u.create_item.owner = tab->owner;
        op.u.create_item.ncolumns = n;
        op.u.create_item.columns = colp;
        op.u.create_item.nuses = 1;
        op.u.create_item.uses = &tab->ref;
        rc = ddl__apply(c, &op, NULL, err);
    }
    cc_free(sql);
    protobuf_c_message_free_unpacked(m, NULL);
    if (rc == CC_OK)
        snprintf(c->tag, sizeof c->tag, "CREATE INDEX");
    return rc;
}

/* --- CREATE TYPE ... AS ENUM ----------------------------------------------------------- */

cc_code
ddl__create_enum(ddl_ctx *c, const PgQuery__CreateEnumStmt *s, cc_err *err)
{
    ddl_qname q;
    const cat_object *schema;
    cc_code rc = ddl__qname_list(c, s->type_name, s->n_type_name, -1, &q, err);
    if (rc == CC_OK && q.schema != NULL && strcmp(q.schema, "pg_catalog") == 0)
        return ddl__system_catalog(c, &q, err);
    if (rc == CC_OK)
        rc = ddl__creation_schema(c, &q, &schema, err);
    if (rc == CC_OK)
        rc = ddl__check_create(c, schema, err);
    if (rc != CC_OK)
        return rc;
    /* Relations have row types in PostgreSQL: their names are taken too. */
    if (cat_state_find_type(c->st, schema->ref, q.name) != NULL ||
        cat_state_find_relation(c->st, schema->ref, q.name) != NULL)
        return cc_err_set_state(err, CC_EXISTS, "42710", "type \"%s\" already exists", q.name);
    for (size_t i = 0; i < s->n_vals; i++) {
        const char *l = ddl__str(s->vals[i]);
        if (l == NULL)
            return cc_err_set_state(err, CC_PARSE, "42601", "enum labels must be strings");
        if (strlen(l) > DDL_NAME_MAX - 1) {
            cc_err_set_state(err, CC_INVALID, "42602", "invalid enum label \"%s\"", l);
            return cc_err_detail(err, "Labels must be %d bytes or less.", DDL_NAME_MAX - 1);
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(ddl__str(s->vals[j]), l) == 0)
                return cc_err_set_state(
                    err, CC_EXISTS, "23505",
                    "duplicate key value violates unique constraint \"pg_enum_typid_label_index\"");
    }
    char *sql;
    if ((rc = ddl__create_sql(c, &sql, err)) != CC_OK)
        return rc;
    cat_op op = {.kind = CAT_OP_CREATE_ITEM};
    op.u.create_item.kind = CAT_KIND_TYPE;
    op.u.create_item.schema = schema->ref;
    op.u.create_item.name = q.name;
    op.u.create_item.create_sql = sql;
    op.u.create_item.owner = c->role;
    rc = ddl__apply(c, &op, NULL, err);
    cc_free(sql);
    if (rc == CC_OK)
        snprintf(c->tag, sizeof c->tag, "CREATE TYPE");
    return rc;
}

/* --- CREATE DATABASE ------------------------------------------------------------------- */

/* The string value of a DefElem (String or Integer node), or NULL. */
static const char *
def_string(const PgQuery__DefElem *d, char *buf, size_t cap)
{
    if (d->arg == NULL)
        return NULL;
    if (d->arg->node_case == PG_QUERY__NODE__NODE_STRING)
        return d->arg->string->sval;
    if (d->arg->node_case == PG_QUERY__NODE__NODE_INTEGER) {
        snprintf(buf, cap, "%d", d->arg->integer->ival);
        return buf;
    }
    if (d->arg->node_case == PG_QUERY__NODE__NODE_TYPE_NAME && d->arg->type_name->n_names > 0)
        return ddl__str(d->arg->type_name->names[d->arg->type_name->n_names - 1]);
    return NULL;
}

cc_code
ddl__create_database(ddl_ctx *c, const PgQuery__CreatedbStmt *s, cc_err *err)
{
    static const char *const known[] = {"owner",      "template", "encoding",        "locale",
                                        "lc_collate", "lc_ctype", "connection_limit"};
    static const char *const other[] = {"icu_locale",        "locale_provider",  "is_template",
                                        "allow_connections", "tablespace",       "oid",
                                        "strategy",          "collation_version"};
    const PgQuery__DefElem *seen[sizeof known / sizeof known[0]] = {0};
    for (size_t i = 0; i < s->n_options; i++) {
        if (s->options[i]->node_case != PG_QUERY__NODE__NODE_DEF_ELEM)
            continue;
        const PgQuery__DefElem *d = s->options[i]->def_elem;
        size_t k = 0;
        while (k < sizeof known / sizeof known[0] && strcmp(known[k], d->defname) != 0)
            k++;
        if (k == sizeof known / sizeof known[0]) {
            for (size_t j = 0; j < sizeof other / sizeof other[0]; j++)
                if (strcmp(other[j], d->defname) == 0) {
                    char buf[96];
                    snprintf(buf, sizeof buf, "CREATE DATABASE option %s", d->defname);
                    return unsupported(c, d->location, buf, err);
                }
            return ddl__at(c, d->location,
                           cc_err_set_state(err, CC_PARSE, "42601", "option \"%s\" not recognized",
                                            d->defname));
        }
        if (seen[k] != NULL)
            return conflicting(c, d, err);
        seen[k] = d;
    }
    char buf[32];
    cat_ref owner = c->role;
    const char *oname = seen[0] ? def_string(seen[0], buf, sizeof buf) : NULL;
    if (oname != NULL) {
        const cat_object *r = cat_state_find_role(c->st, oname);
        if (r == NULL)
            return cc_err_set_state(err, CC_NOT_FOUND, "42704", "role \"%s\" does not exist",
                                    oname);
        owner = r->ref;
    }
    if (!c->superuser && !ddl__session_attributes(c).create_db)
        return cc_err_set_state(err, CC_PERMISSION, "42501",
                                "permission denied to create database");
    bool member = true;
    cc_code prc = owner != c->role ? member_of(c, owner, &member, err) : CC_OK;
    if (prc != CC_OK)
        return prc;
    if (!member)
        return cc_err_set_state(err, CC_PERMISSION, "42501", "must be member of role \"%s\"",
                                oname);
    const char *tmpl = seen[1] ? def_string(seen[1], buf, sizeof buf) : NULL;
    if (tmpl != NULL && strcmp(tmpl, "template0") != 0 && strcmp(tmpl, "template1") != 0)
        return cc_err_set_state(err, CC_NOT_FOUND, "3D000",
                                "template database \"%s\" does not exist", tmpl);
    const char *enc = seen[2] ? def_string(seen[2], buf, sizeof buf) : NULL;
    if (enc != NULL && strcasecmp(enc, "UTF8") != 0 && strcasecmp(enc, "UTF-8") != 0 &&
        strcmp(enc, "6") != 0) {
        char what[96];
        snprintf(what, sizeof what, "encoding %s (only UTF8)", enc);
        return unsupported(c, seen[2]->location, what, err);
    }
    if (cat_state_find_database(c->st, s->dbname) != NULL)
        return cc_err_set_state(err, CC_EXISTS, "42P04", "database \"%s\" already exists",
                                s->dbname);
    cat_op op = {.kind = CAT_OP_CREATE_DATABASE};
    op.u.create_database.name = s->dbname;
    op.u.create_database.owner = owner;
    cat_ref db;
    cc_code rc = ddl__apply(c, &op, &db, err);
    if (rc == CC_OK) {
        cat_op sop = {.kind = CAT_OP_CREATE_SCHEMA};
        sop.u.create_schema.database = db;
        sop.u.create_schema.name = "public";
        sop.u.create_schema.owner = owner;
        rc = ddl__apply(c, &sop, NULL, err);
    }
    if (rc == CC_OK)
        snprintf(c->tag, sizeof c->tag, "CREATE DATABASE");
    return rc;
}

/* --- CREATE SCHEMA --------------------------------------------------------------------- */

cc_code
ddl__create_schema(ddl_ctx *c, const PgQuery__CreateSchemaStmt *s, cc_err *err)
{
    cat_ref owner = c->role;
    const char *oname = c->s->user;
    const PgQuery__RoleSpec *rs = s->authrole;
    if (rs != NULL) {
        switch (rs->roletype) {
        case PG_QUERY__ROLE_SPEC_TYPE__ROLESPEC_CSTRING: {
            const cat_object *r = cat_state_find_role(c->st, rs->rolename);
            if (r == NULL)
                return cc_err_set_state(err, CC_NOT_FOUND, "42704", "role \"%s\" does not exist",
                                        rs->rolename);
            owner = r->ref;
            oname = r->name;
            break;
        }
        case PG_QUERY__ROLE_SPEC_TYPE__ROLESPEC_PUBLIC:
            return ddl__at(
                c, rs->location,
                cc_err_set_state(err, CC_NOT_FOUND, "42704", "role \"public\" does not exist"));
        default:
            break;
        }
    }
    const char *name = s->schemaname && s->schemaname[0] ? s->schemaname : oname;
    const cat_object *db = c->database ? cat_state_find(c->st, c->database) : NULL;
    if (db == NULL)
        return cc_err_set_state(err, CC_NOT_FOUND, "3D000", "database \"%s\" does not exist",
                                c->s->database);
    uint64_t bits = DDL_ACL_CREATE;
    cc_code prc =
        !c->superuser && db->owner != c->role ? ddl__acl_of(db, c->role, &bits, err) : CC_OK;
    if (prc != CC_OK)
        return prc;
    if (!(bits & DDL_ACL_CREATE))
        return cc_err_set_state(err, CC_PERMISSION, "42501", "permission denied for database %s",
                                db->name);
    bool member = true;
    if (owner != c->role && (prc = member_of(c, owner, &member, err)) != CC_OK)
        return prc;
    if (!member)
        return cc_err_set_state(err, CC_PERMISSION, "42501", "must be member of role \"%s\"",
                                oname);
    if (strncmp(name, "pg_", 3) == 0) {
        cc_err_set_state(err, CC_INVALID, "42939", "unacceptable schema name \"%s\"", name);
        return cc_err_detail(err, "The prefix \"pg_\" is reserved for system schemas.");
    }
    if (ddl__find_schema(c, name) != NULL) {
        if (s->if_not_exists) {
            ddl__notice(c, "42P06", "schema \"%s\" already exists, skipping", name);
            snprintf(c->tag, sizeof c->tag, "CREATE SCHEMA");
            return CC_OK;
        }
        return cc_err_set_state(err, CC_EXISTS, "42P06", "schema \"%s\" already exists", name);
    }
    if (s->n_schema_elts > 0)
        return unsupported(c, -1, "CREATE SCHEMA with schema elements", err);
    cat_op op = {.kind = CAT_OP_CREATE_SCHEMA};
    op.u.create_schema.database = db->ref;
    op.u.create_schema.name = name;
    op.u.create_schema.owner = owner;
    cc_code rc = ddl__apply(c, &op, NULL, err);
    if (rc == CC_OK)
        snprintf(c->tag, sizeof c->tag, "CREATE SCHEMA");
    return rc;
}
