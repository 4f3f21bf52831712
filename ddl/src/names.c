/*
 * ddl/src/names.c — name resolution: qualified names, the current database
 * and the session's search_path, PostgreSQL's rules.
 *
 * Identifiers arrive folded by the parser (unquoted names in lower case,
 * quoted ones as written). A name resolves as:
 *   db.schema.name   that database's schema
 *   schema.name      the current database's schema, else an ambient
 *                    (builtin) schema of that name: information_schema,
 *                    cowcat_catalog
 *   name             the schemas of search_path in order ("$user" is the
 *                    schema named after the session role); a creation
 *                    goes to the first of them that exists
 * Each lookup is a name-map probe: O(1) per search_path entry.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

ddl_qname
ddl__qname_rv(const PgQuery__RangeVar *rv)
{
    ddl_qname q = {.location = rv->location};
    q.database = rv->catalogname != NULL && rv->catalogname[0] ? rv->catalogname : NULL;
    q.schema = rv->schemaname != NULL && rv->schemaname[0] ? rv->schemaname : NULL;
    q.name = rv->relname;
    return q;
}

cc_code
ddl__qname_list(ddl_ctx *c, PgQuery__Node *const *items, size_t n, int32_t location,
                ddl_qname *out, cc_err *err)
{
    memset(out, 0, sizeof *out);
    out->location = location;
    const char *p[3] = {NULL, NULL, NULL};
    for (size_t i = 0; i < n && i < 3; i++)
        if ((p[i] = ddl__str(items[i])) == NULL)
            return ddl__at(c, location, cc_err_set_state(err, CC_PARSE, "42601",
                                                         "improper qualified name"));
    switch (n) {
    case 1:
        out->name = p[0];
        return CC_OK;
    case 2:
        out->schema = p[0];
        out->name = p[1];
        return CC_OK;
    case 3:
        out->database = p[0];
        out->schema = p[1];
        out->name = p[2];
        return CC_OK;
    }
    return ddl__at(c, location,
                   cc_err_set_state(err, CC_PARSE, "42601",
                                    "improper qualified name (too many dotted names)"));
}

const char *
ddl__qname_str(const ddl_qname *q, char *buf, size_t cap)
{
    if (q->database != NULL)
        snprintf(buf, cap, "%s.%s.%s", q->database, q->schema, q->name);
    else if (q->schema != NULL)
        snprintf(buf, cap, "%s.%s", q->schema, q->name);
    else
        snprintf(buf, cap, "%s", q->name);
    return buf;
}

cc_code
ddl__database(ddl_ctx *c, const ddl_qname *q, cat_ref *out, cc_err *err)
{
    *out = 0;
    if (q == NULL || q->database == NULL) {
        if (c->database == 0)
            return cc_err_set_state(err, CC_NOT_FOUND, "3D000", "database \"%s\" does not exist",
                                    c->s->database);
        *out = c->database;
        return CC_OK;
    }
    const cat_object *d = cat_state_find_database(c->st, q->database);
    if (d == NULL)
        return ddl__at(c, q->location,
                       cc_err_set_state(err, CC_NOT_FOUND, "3D000",
                                        "database \"%s\" does not exist", q->database));
    *out = d->ref;
    return CC_OK;
}

/* The schema called name in database db, else the ambient one. */
static const cat_object *
schema_in(ddl_ctx *c, cat_ref db, const char *name)
{
    const cat_object *s = db != 0 ? cat_state_find_schema(c->st, db, name) : NULL;
    if (s == NULL)
        s = cat_state_find_schema(c->st, 0, name);
    return s;
}

const cat_object *
ddl__find_schema(ddl_ctx *c, const char *name)
{
    return schema_in(c, c->database, name);
}

/* The explicit schema of q. Errors: 3D000, 3F000. */
static cc_code
explicit_schema(ddl_ctx *c, const ddl_qname *q, const cat_object **out, cc_err *err)
{
    cat_ref db;
    cc_code rc = ddl__database(c, q, &db, err);
    if (rc != CC_OK)
        return rc;
    *out = schema_in(c, db, q->schema);
    if (*out == NULL)
        return ddl__at(c, q->location,
                       cc_err_set_state(err, CC_NOT_FOUND, "3F000", "schema \"%s\" does not exist",
                                        q->schema));
    return CC_OK;
}

/* The i-th search_path schema that exists, or NULL. */
static const cat_object *
path_schema(ddl_ctx *c, size_t i)
{
    const char *name = c->s->path[i];
    if (strcmp(name, "$user") == 0)
        name = c->s->user;
    return c->database != 0 ? schema_in(c, c->database, name) : cat_state_find_schema(c->st, 0, name);
}

cc_code
ddl__creation_schema(ddl_ctx *c, const ddl_qname *q, const cat_object **out, cc_err *err)
{
    *out = NULL;
    if (q->schema != NULL)
        return explicit_schema(c, q, out, err);
    for (size_t i = 0; i < c->s->npath; i++)
        if ((*out = path_schema(c, i)) != NULL)
            return CC_OK;
    return ddl__at(c, q->location, cc_err_set_state(err, CC_NOT_FOUND, "3F000",
                                                    "no schema has been selected to create in"));
}

typedef const cat_object *(*find_in_fn)(const cat_state *s, cat_ref schema, const char *name);

static cc_code
find_in_path(ddl_ctx *c, const ddl_qname *q, find_in_fn find, const cat_object **out, cc_err *err)
{
    *out = NULL;
    if (q->schema != NULL) {
        const cat_object *sc;
        cc_code rc = explicit_schema(c, q, &sc, err);
        if (rc != CC_OK)
            return rc;
        *out = find(c->st, sc->ref, q->name);
        return CC_OK;
    }
    for (size_t i = 0; i < c->s->npath && *out == NULL; i++) {
        const cat_object *sc = path_schema(c, i);
        if (sc != NULL)
            *out = find(c->st, sc->ref, q->name);
    }
    return CC_OK;
}

cc_code
ddl__find_relation(ddl_ctx *c, const ddl_qname *q, const cat_object **out, cc_err *err)
{
    return find_in_path(c, q, cat_state_find_relation, out, err);
}

cc_code
ddl__find_type(ddl_ctx *c, const ddl_qname *q, const cat_object **out, cc_err *err)
{
    return find_in_path(c, q, cat_state_find_type, out, err);
}

cc_code
ddl__get_relation(ddl_ctx *c, const ddl_qname *q, const cat_object **out, cc_err *err)
{
    cc_code rc = ddl__find_relation(c, q, out, err);
    if (rc == CC_OK && *out == NULL) {
        char b[3 * DDL_NAME_MAX + 4];
        return ddl__at(c, q->location,
                       cc_err_set_state(err, CC_NOT_FOUND, "42P01", "relation \"%s\" does not exist",
                                        ddl__qname_str(q, b, sizeof b)));
    }
    return rc;
}

cc_code
ddl__check_same_database(ddl_ctx *c, const ddl_qname *q, cc_err *err)
{
    if (q->database == NULL || strcmp(q->database, c->s->database) == 0)
        return CC_OK;
    char b[3 * DDL_NAME_MAX + 4];
    return ddl__at(c, q->location,
                   cc_err_set_state(err, CC_PARSE, "0A000",
                                    "cross-database references are not implemented: \"%s\"",
                                    ddl__qname_str(q, b, sizeof b)));
}
