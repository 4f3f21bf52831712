/*
 * ddl/src/objects.c — what the DROP / ALTER / COMMENT / GRANT statements share:
 * the object kinds a statement's ObjectType names, finding the object a name
 * denotes, and PostgreSQL's wording when it is missing or of the wrong kind.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* --- object kinds ------------------------------------------------------------------------- */


static const ddl_objkind objkinds[] = {
    {PG_QUERY__OBJECT_TYPE__OBJECT_TABLE, "table", CAT_KIND_TABLE, "DROP TABLE", "ALTER TABLE"},
    {PG_QUERY__OBJECT_TYPE__OBJECT_VIEW, "view", CAT_KIND_VIEW, "DROP VIEW", "ALTER VIEW"},
    {PG_QUERY__OBJECT_TYPE__OBJECT_MATVIEW, "materialized view", CAT_KIND_MATERIALIZED_VIEW,
     "DROP MATERIALIZED VIEW", "ALTER MATERIALIZED VIEW"},
    {PG_QUERY__OBJECT_TYPE__OBJECT_INDEX, "index", CAT_KIND_INDEX, "DROP INDEX", "ALTER INDEX"},
    {PG_QUERY__OBJECT_TYPE__OBJECT_TYPE, "type", CAT_KIND_TYPE, "DROP TYPE", "ALTER TYPE"},
    {PG_QUERY__OBJECT_TYPE__OBJECT_SCHEMA, "schema", CAT_KIND_SCHEMA, "DROP SCHEMA",
     "ALTER SCHEMA"},
    {PG_QUERY__OBJECT_TYPE__OBJECT_DATABASE, "database", CAT_KIND_DATABASE, "DROP DATABASE",
     "ALTER DATABASE"},
    {PG_QUERY__OBJECT_TYPE__OBJECT_ROLE, "role", CAT_KIND_ROLE, "DROP ROLE", "ALTER ROLE"},
};

const ddl_objkind *
ddl__objkind_of(PgQuery__ObjectType t)
{
    for (size_t i = 0; i < sizeof objkinds / sizeof *objkinds; i++)
        if (objkinds[i].type == t)
            return &objkinds[i];
    return NULL;
}

bool
ddl__is_relation_kind(cat_kind k)
{
    return k == CAT_KIND_TABLE || k == CAT_KIND_VIEW || k == CAT_KIND_MATERIALIZED_VIEW ||
           k == CAT_KIND_INDEX;
}

/* The SQLSTATE of "X does not exist" for a kind. */
static const char *
missing_state(cat_kind k)
{
    switch (k) {
    case CAT_KIND_SCHEMA:
        return "3F000";
    case CAT_KIND_DATABASE:
        return "3D000";
    case CAT_KIND_TYPE:
    case CAT_KIND_ROLE:
    case CAT_KIND_INDEX:
        return "42704";
    default:
        return "42P01";
    }
}

/* "Use DROP VIEW to remove a view." */
static const char *
drop_hint(cat_kind k)
{
    switch (k) {
    case CAT_KIND_TABLE:
        return "Use DROP TABLE to remove a table.";
    case CAT_KIND_VIEW:
        return "Use DROP VIEW to remove a view.";
    case CAT_KIND_MATERIALIZED_VIEW:
        return "Use DROP MATERIALIZED VIEW to remove a materialized view.";
    case CAT_KIND_INDEX:
        return "Use DROP INDEX to remove an index.";
    default:
        return "";
    }
}

/* The unqualified-or-as-written name of an object node (String, List, TypeName). */
cc_code
ddl__node_qname(ddl_ctx *c, const PgQuery__Node *n, ddl_qname *q, cc_err *err)
{
    switch (n->node_case) {
    case PG_QUERY__NODE__NODE_STRING:
        memset(q, 0, sizeof *q);
        q->name = n->string->sval;
        q->location = -1;
        return CC_OK;
    case PG_QUERY__NODE__NODE_LIST:
        if (n->list->n_items > 3) {
            char b[4 * DDL_NAME_MAX + 8] = "";
            for (size_t i = 0; i < n->list->n_items; i++) {
                const char *p = ddl__str(n->list->items[i]);
                size_t len = strlen(b);
                snprintf(b + len, sizeof b - len, "%s%s", i ? "." : "", p ? p : "?");
            }
            return cc_err_set_state(err, CC_PARSE, "42601",
                                    "improper relation name (too many dotted names): %s", b);
        }
        return ddl__qname_list(c, n->list->items, n->list->n_items, -1, q, err);
    case PG_QUERY__NODE__NODE_TYPE_NAME:
        return ddl__qname_list(c, n->type_name->names, n->type_name->n_names,
                               n->type_name->location, q, err);
    case PG_QUERY__NODE__NODE_RANGE_VAR:
        *q = ddl__qname_rv(n->range_var);
        return CC_OK;
    default:
        return cc_err_set_state(err, CC_PARSE, "42601", "unexpected object name");
    }
}

/*
 * Finds the object of kind k that q names. *out NULL if missing (the caller
 * words the error or the IF EXISTS notice). Relations of another relation
 * kind are returned as found (the caller checks the kind).
 */
cc_code
ddl__find_object(ddl_ctx *c, cat_kind k, const ddl_qname *q, const cat_object **out, cc_err *err)
{
    *out = NULL;
    switch (k) {
    case CAT_KIND_DATABASE:
        *out = cat_state_find_database(c->st, q->name);
        return CC_OK;
    case CAT_KIND_ROLE:
        *out = cat_state_find_role(c->st, q->name);
        return CC_OK;
    case CAT_KIND_SCHEMA: {
        cat_ref db;
        cc_code rc = ddl__database(c, &(ddl_qname){.database = q->schema, .location = -1}, &db, err);
        if (rc != CC_OK)
            return rc;
        *out = cat_state_find_schema(c->st, db, q->name);
        if (*out == NULL)
            *out = cat_state_find_schema(c->st, 0, q->name);
        return CC_OK;
    }
    case CAT_KIND_TYPE:
        return ddl__find_type(c, q, out, err);
    default:
        return ddl__find_relation(c, q, out, err);
    }
}

/* The error for a missing object (or, with missing_ok, the notice: returns CC_OK). */
/*
 * PostgreSQL's wording: a relation is named by its own name, a type as
 * written (qualified if it was). Utility statements carry no position.
 */
cc_code
ddl__missing(ddl_ctx *c, const ddl_objkind *ok, const ddl_qname *q, bool missing_ok, cc_err *err)
{
    char b[3 * DDL_NAME_MAX + 4];
    /* The builtin relations exist (they are read) but are no catalog objects. */
    if (ddl__is_relation_kind(ok->kind) && q->schema != NULL &&
        ddl__builtin_find(q->schema, q->name) != NULL)
        return cc_err_set_state(err, CC_PERMISSION, "42501",
                                "permission denied: \"%s\" is a system catalog", q->name);
    if (ok->kind == CAT_KIND_TYPE)
        ddl__qname_str(q, b, sizeof b);
    else
        snprintf(b, sizeof b, "%s", q->name);
    if (missing_ok) {
        ddl__notice(c, "00000", "%s \"%s\" does not exist, skipping", ok->word, b);
        return CC_OK;
    }
    return cc_err_set_state(err, CC_NOT_FOUND, missing_state(ok->kind), "%s \"%s\" does not exist",
                            ok->word, b);
}

/* The relation word of messages about a missing relation of any kind. */
const ddl_objkind ddl__any_relation = {.word = "relation", .kind = CAT_KIND_TABLE};

/*
 * ddl__find_object for IF EXISTS: a missing explicit schema is a notice too
 * (`schema "s" does not exist, skipping`); *out stays NULL.
 */
cc_code
ddl__find_or_skip(ddl_ctx *c, cat_kind k, const ddl_qname *q, bool missing_ok, bool *skipped,
             const cat_object **out, cc_err *err)
{
    *skipped = false;
    cc_code rc = ddl__find_object(c, k, q, out, err);
    if (rc == CC_NOT_FOUND && missing_ok && q->schema != NULL &&
        strcmp(cc_err_sqlstate(err), "3F000") == 0) {
        ddl__notice(c, "00000", "schema \"%s\" does not exist, skipping", q->schema);
        c->errpos = 0;
        *skipped = true;
        return CC_OK;
    }
    return rc;
}

/*
 * o is of the kind the statement names, else 42809 "x" is not a view (for
 * DROP with PostgreSQL's hint naming the right DROP).
 */
cc_code
ddl__check_kind(ddl_ctx *c, const ddl_objkind *ok, const cat_object *o, bool drop, cc_err *err)
{
    (void)c;
    if (o->kind == ok->kind)
        return CC_OK;
    cc_err_set_state(err, CC_INVALID, "42809", "\"%s\" is not %s %s", o->name,
                     ok->kind == CAT_KIND_INDEX ? "an" : "a", ok->word);
    if (drop && drop_hint(o->kind)[0])
        cc_err_hint(err, "%s", drop_hint(o->kind));
    return CC_INVALID;
}

/* The role attributes of the session role (zeroed if unknown). */
Cowcat__Catalog__RoleAttributes
ddl__session_attributes(ddl_ctx *c)
{
    return c->attrs;
}


cc_code
ddl__column_position(const cat_object *o, const char *name, uint32_t *pos, cc_err *err)
{
    *pos = 0;
    ProtobufCMessage *m = NULL;
    cc_code rc = cat_object_decode(o, &m, err);
    if (rc != CC_OK)
        return rc;
    const Cowcat__Catalog__ItemValue *v = (const Cowcat__Catalog__ItemValue *)m;
    for (size_t i = 0; i < v->n_columns && *pos == 0; i++)
        if (strcmp(v->columns[i]->name, name) == 0)
            *pos = (uint32_t)i + 1;
    protobuf_c_message_free_unpacked(m, NULL);
    return CC_OK;
}

/*
 * RENAME COLUMN's checks, in PostgreSQL's words: `column "x" does not
 * exist` (42703), `column "y" of relation "t" already exists` (42701).
 */
cc_code
ddl__check_column(ddl_ctx *c, const cat_object *o, const char *from, const char *to, cc_err *err)
{
    (void)c;
    uint32_t found = 0, taken = 0;
    cc_code rc = ddl__column_position(o, from, &found, err);
    if (rc == CC_OK)
        rc = ddl__column_position(o, to, &taken, err);
    if (rc != CC_OK)
        return rc;
    if (found == 0)
        return cc_err_set_state(err, CC_NOT_FOUND, "42703", "column \"%s\" does not exist", from);
    if (taken != 0)
        return cc_err_set_state(err, CC_EXISTS, "42701",
                                "column \"%s\" of relation \"%s\" already exists", to, o->name);
    return CC_OK;
}

cc_code
ddl__decode_lenient(const cat_object *o, ProtobufCMessage **out, cc_err *err)
{
    cc_err e;
    *out = NULL;
    cc_code rc = cat_object_decode(o, out, &e);
    if (rc == CC_NOMEM) {
        if (err != NULL)
            *err = e;
        return rc;
    }
    if (rc != CC_OK)
        *out = NULL;
    return CC_OK;
}
