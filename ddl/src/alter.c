/*
 * ddl/src/alter.c — the statements that change or remove existing objects:
 * ALTER ... RENAME / OWNER TO / SET SCHEMA / ADD|DROP|RENAME COLUMN,
 * COMMENT ON, GRANT / REVOKE and ALTER SYSTEM (DROP is drop.c; the column
 * statements' stored-SQL rewrites are alter_column.c).
 *
 * Each resolves its objects against the transaction's working version,
 * checks the object kinds and the session role's rights the way PostgreSQL
 * does (so the messages are PostgreSQL's), and applies catalog ops; the
 * catalog then checks what only it can (dependents, name clashes, limits).
 * A statement naming several objects (DROP TABLE a, b) applies one op over
 * all of them, so RESTRICT sees the whole set.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/alloc.h"
#include "internal.h"

/* --- RENAME ------------------------------------------------------------------------------- */

/* The 42P07-style clash error if name is taken in o's namespace. */
static cc_code
check_free_name(ddl_ctx *c, const cat_object *o, const char *name, cc_err *err)
{
    const cat_object *x = NULL;
    const char *state = "42P07", *word = "relation";
    switch (o->kind) {
    case CAT_KIND_DATABASE:
        x = cat_state_find_database(c->st, name);
        state = "42P04", word = "database";
        break;
    case CAT_KIND_SCHEMA:
        x = cat_state_find_schema(c->st, o->parent, name);
        state = "42P06", word = "schema";
        break;
    case CAT_KIND_ROLE:
        x = cat_state_find_role(c->st, name);
        state = "42710", word = "role";
        break;
    case CAT_KIND_TYPE:
        x = cat_state_find_type(c->st, o->parent, name);
        state = "42710", word = "type";
        break;
    default:
        x = cat_state_find_relation(c->st, o->parent, name);
        break;
    }
    if (x != NULL)
        return cc_err_set_state(err, CC_EXISTS, state, "%s \"%s\" already exists", word, name);
    return CC_OK;
}

static cc_code
rename_object(ddl_ctx *c, const cat_object *o, const char *new_name, cc_err *err)
{
    cc_code rc = ddl__check_owner(c, o, err);
    if (rc == CC_OK)
        rc = check_free_name(c, o, new_name, err);
    if (rc != CC_OK)
        return rc;
    cat_op op = {.kind = CAT_OP_RENAME,
                 .u.rename = {.ref = o->ref, .new_name = new_name, .rewrite = ddl__rewrite,
                              .rewrite_arg = c}};
    return ddl__apply(c, &op, NULL, err);
}

/*
 * The relation an ALTER {TABLE|VIEW|MATERIALIZED VIEW|INDEX} names, of the
 * statement's kind (ALTER TABLE takes any relation, PostgreSQL's legacy);
 * sets the tag. *out NULL with CC_OK: missing under IF EXISTS (noticed).
 */
static cc_code
alter_target(ddl_ctx *c, PgQuery__ObjectType type, const PgQuery__RangeVar *rv, bool missing_ok,
             const cat_object **out, cc_err *err)
{
    const ddl_objkind *ok = ddl__objkind_of(type);
    snprintf(c->tag, sizeof c->tag, "%s", ok ? ok->alter_tag : "ALTER TABLE");
    ddl_qname q = ddl__qname_rv(rv);
    cc_code rc = ddl__find_relation(c, &q, out, err);
    if (rc != CC_OK)
        return rc;
    if (*out == NULL)
        return ddl__missing(c, &ddl__any_relation, &q, missing_ok, err);
    if (ok != NULL && ok->kind != CAT_KIND_TABLE)
        rc = ddl__check_kind(c, ok, *out, false, err);
    return rc;
}

static cc_code
rename_stmt(ddl_ctx *c, const PgQuery__RenameStmt *r, cc_err *err)
{
    if (r->rename_type == PG_QUERY__OBJECT_TYPE__OBJECT_COLUMN) {
        /* ALTER TABLE / VIEW / MATERIALIZED VIEW ... RENAME COLUMN: PostgreSQL's renameatt
         * takes any of them whatever the statement says. */
        const ddl_objkind *ok = ddl__objkind_of(r->relation_type);
        snprintf(c->tag, sizeof c->tag, "%s", ok ? ok->alter_tag : "ALTER TABLE");
        ddl_qname q = ddl__qname_rv(r->relation);
        const cat_object *o;
        cc_code rc = ddl__find_relation(c, &q, &o, err);
        if (rc != CC_OK)
            return rc;
        if (o == NULL)
            return ddl__missing(c, &ddl__any_relation, &q, r->missing_ok, err);
        if (o->kind == CAT_KIND_INDEX)
            return cc_err_set_state(err, CC_INVALID, "0A000",
                                    "feature not supported: renaming a column of index %s",
                                    o->name);
        if ((rc = ddl__check_owner(c, o, err)) != CC_OK)
            return rc;
        if ((rc = ddl__check_column(c, o, r->subname, r->newname, err)) != CC_OK)
            return rc;
        return ddl__rename_column(c, o, r->subname, r->newname, err);
    }
    const ddl_objkind *ok = ddl__objkind_of(r->rename_type);
    if (ok == NULL)
        return cc_err_set_state(err, CC_INVALID, "0A000",
                                "feature not supported: ALTER ... RENAME of this object type");
    snprintf(c->tag, sizeof c->tag, "%s", ok->alter_tag);
    ddl_qname q;
    cc_code rc = CC_OK;
    if (r->relation != NULL) {
        q = ddl__qname_rv(r->relation);
    } else if (r->object != NULL) {
        if ((rc = ddl__node_qname(c, r->object, &q, err)) != CC_OK)
            return rc;
    } else {
        memset(&q, 0, sizeof q);
        q.name = r->subname;
        q.location = -1;
    }
    const cat_object *o = NULL;
    if ((rc = ddl__find_object(c, ok->kind, &q, &o, err)) != CC_OK)
        return rc;
    if (o == NULL)
        return ddl__missing(c, ddl__is_relation_kind(ok->kind) ? &ddl__any_relation : ok, &q, r->missing_ok, err);
    /* ALTER TABLE renames any relation (PostgreSQL's legacy); the others only their kind. */
    if (ddl__is_relation_kind(ok->kind) && ok->kind != CAT_KIND_TABLE &&
        (rc = ddl__check_kind(c, ok, o, false, err)) != CC_OK)
        return rc;
    if (ok->kind == CAT_KIND_TABLE && !ddl__is_relation_kind(o->kind))
        return ddl__check_kind(c, ok, o, false, err);
    if (o->kind == CAT_KIND_SCHEMA && strncmp(r->newname, "pg_", 3) == 0) {
        cc_err_set_state(err, CC_INVALID, "42939", "unacceptable schema name \"%s\"", r->newname);
        return cc_err_detail(err, "The prefix \"pg_\" is reserved for system schemas.");
    }

    if (o->kind == CAT_KIND_DATABASE && o->ref == c->database)
        return cc_err_set_state(err, CC_INVALID, "0A000", "current database cannot be renamed");
    if (o->kind == CAT_KIND_ROLE && o->ref == c->role)
        return cc_err_set_state(err, CC_INVALID, "0A000", "session user cannot be renamed");
    if (o->kind == CAT_KIND_ROLE && cat_ref_is_system(o->ref))
        return ddl__check_owner(c, o, err);
    if (o->kind == CAT_KIND_ROLE &&
        (rc = ddl__check_superuser_role(c, o, "must be superuser to rename superusers", err)) !=
            CC_OK)
        return rc;
    if (o->kind == CAT_KIND_ROLE && !c->superuser && !ddl__session_attributes(c).create_role)
        return cc_err_set_state(err, CC_PERMISSION, "42501", "permission denied to rename role");
    /* PostgreSQL: renaming a database takes its ownership and CREATEDB. */
    if (o->kind == CAT_KIND_DATABASE && (rc = ddl__check_owner(c, o, err)) != CC_OK)
        return rc;
    if (o->kind == CAT_KIND_DATABASE && !c->superuser && !ddl__session_attributes(c).create_db)
        return cc_err_set_state(err, CC_PERMISSION, "42501",
                                "permission denied to rename database");
    if (o->kind == CAT_KIND_DATABASE && (rc = ddl__database_check_unused(c, o->name, err)) != CC_OK)
        return rc;
    if (o->kind == CAT_KIND_ROLE) {
        if ((rc = check_free_name(c, o, r->newname, err)) != CC_OK)
            return rc;
        cat_op op = {.kind = CAT_OP_RENAME, .u.rename = {.ref = o->ref, .new_name = r->newname}};
        return ddl__apply(c, &op, NULL, err);
    }
    return rename_object(c, o, r->newname, err);
}

/* --- OWNER TO ------------------------------------------------------------------------------ */

/* The role a RoleSpec names. Errors: 42704. */
static cc_code
role_spec(ddl_ctx *c, const PgQuery__RoleSpec *rs, const cat_object **out, cc_err *err)
{
    const char *name = rs->roletype == PG_QUERY__ROLE_SPEC_TYPE__ROLESPEC_CSTRING ? rs->rolename
                                                                                 : c->s->user;
    if (rs->roletype == PG_QUERY__ROLE_SPEC_TYPE__ROLESPEC_PUBLIC)
        return cc_err_set_state(err, CC_NOT_FOUND, "42704", "role \"public\" does not exist");
    *out = cat_state_find_role(c->st, name);
    if (*out == NULL)
        return cc_err_set_state(err, CC_NOT_FOUND, "42704", "role \"%s\" does not exist", name);
    return CC_OK;
}

static cc_code
change_owner(ddl_ctx *c, const cat_object *o, const PgQuery__RoleSpec *rs, cc_err *err)
{
    const cat_object *role;
    cc_code rc = ddl__check_owner(c, o, err);
    if (rc == CC_OK)
        rc = role_spec(c, rs, &role, err);
    if (rc != CC_OK)
        return rc;
    if (o->owner == role->ref)
        return CC_OK;
    /* Without role membership, only a superuser may give objects away. */
    if (!c->superuser && role->ref != c->role)
        return cc_err_set_state(err, CC_PERMISSION, "42501", "must be member of role \"%s\"",
                                role->name);
    cat_op op = {.kind = CAT_OP_OWNER, .u.owner = {.ref = o->ref, .new_owner = role->ref}};
    return ddl__apply(c, &op, NULL, err);
}

static cc_code
alter_owner_stmt(ddl_ctx *c, const PgQuery__AlterOwnerStmt *a, cc_err *err)
{
    const ddl_objkind *ok = ddl__objkind_of(a->object_type);
    if (ok == NULL || ok->kind == CAT_KIND_ROLE)
        return cc_err_set_state(err, CC_INVALID, "0A000",
                                "feature not supported: ALTER ... OWNER TO of this object type");
    snprintf(c->tag, sizeof c->tag, "%s", ok->alter_tag);
    ddl_qname q;
    cc_code rc = a->relation != NULL ? (q = ddl__qname_rv(a->relation), CC_OK)
                                     : ddl__node_qname(c, a->object, &q, err);
    const cat_object *o = NULL;
    if (rc == CC_OK)
        rc = ddl__find_object(c, ok->kind, &q, &o, err);
    if (rc != CC_OK)
        return rc;
    if (o == NULL)
        return ddl__missing(c, ok, &q, false, err);
    return change_owner(c, o, a->newowner, err);
}

/* --- ALTER TABLE -------------------------------------------------------------------------- */

/* A column for ADD COLUMN: the message and the strings it points at. */
typedef struct column_plan {
    Cowcat__Catalog__Column col;
    Cowcat__Catalog__CatalogId type_id;
    ddl_type type;
    char *default_expr;
} column_plan;

static void
column_plan_fini(column_plan *p)
{
    cc_free(p->default_expr);
}

/*
 * ADD COLUMN's column: its type, NULL / NOT NULL and DEFAULT. Key,
 * check and foreign-key constraints are CREATE TABLE's (0A000 here).
 */
static cc_code
plan_column(ddl_ctx *c, const PgQuery__ColumnDef *def, column_plan *p, cc_err *err)
{
    memset(p, 0, sizeof *p);
    p->col = (Cowcat__Catalog__Column)COWCAT__CATALOG__COLUMN__INIT;
    cc_code rc = ddl__type_resolve(c, def->type_name, &p->type, err);
    if (rc != CC_OK)
        return rc;
    p->col.name = def->colname;
    p->col.type_name = p->type.name;
    p->col.typmod = p->type.typmod;
    p->col.nullable = true;
    if (p->type.ref != 0) {
        p->type_id = (Cowcat__Catalog__CatalogId)COWCAT__CATALOG__CATALOG_ID__INIT;
        p->type_id.system = cat_ref_is_system(p->type.ref);
        p->type_id.value = cat_ref_value(p->type.ref);
        p->col.type_ref_opt_case = COWCAT__CATALOG__COLUMN__TYPE_REF_OPT_TYPE_REF;
        p->col.type_ref = &p->type_id;
    }
    for (size_t i = 0; i < def->n_constraints; i++) {
        const PgQuery__Constraint *k = def->constraints[i]->constraint;
        switch (k->contype) {
        case PG_QUERY__CONSTR_TYPE__CONSTR_NULL:
            p->col.nullable = true;
            break;
        case PG_QUERY__CONSTR_TYPE__CONSTR_NOTNULL:
            p->col.nullable = false;
            break;
        case PG_QUERY__CONSTR_TYPE__CONSTR_DEFAULT:
            cc_free(p->default_expr);
            p->default_expr = NULL;
            if ((rc = ddl__expr_sql(k->raw_expr, &p->default_expr, err)) != CC_OK)
                return rc;
            p->col.default_opt_case = COWCAT__CATALOG__COLUMN__DEFAULT_OPT_DEFAULT_EXPR;
            p->col.default_expr = p->default_expr;
            break;
        default:
            column_plan_fini(p);
            return ddl__at(c, k->location,
                           cc_err_set_state(err, CC_INVALID, "0A000",
                                            "feature not supported: key, check and foreign-key "
                                            "constraints in ALTER TABLE ADD COLUMN"));
        }
    }
    return CC_OK;
}

static cc_code
alter_table_cmd(ddl_ctx *c, const cat_object *o, const PgQuery__AlterTableCmd *cmd, cc_err *err)
{
    cc_code rc;
    switch (cmd->subtype) {
    case PG_QUERY__ALTER_TABLE_TYPE__AT_AddColumn: {
        if (o->kind != CAT_KIND_TABLE)
            return cc_err_set_state(err, CC_INVALID, "42809", "\"%s\" is not a table", o->name);
        if ((rc = ddl__check_owner(c, o, err)) != CC_OK)
            return rc;
        const PgQuery__ColumnDef *def = cmd->def->column_def;
        column_plan col;
        if ((rc = plan_column(c, def, &col, err)) != CC_OK)
            return rc;
        if (cmd->missing_ok) {
            /* ADD COLUMN IF NOT EXISTS: the catalog's clash check would fail; look first. */
            uint32_t pos = 0;
            if ((rc = ddl__column_position(o, def->colname, &pos, err)) != CC_OK) {
                column_plan_fini(&col);
                return rc;
            }
            if (pos != 0) {
                column_plan_fini(&col);
                ddl__notice(c, "42701", "column \"%s\" of relation \"%s\" already exists, skipping",
                            def->colname, o->name);
                return CC_OK;
            }
        }
        rc = ddl__add_column(c, o, &col.col, cmd->def, err);
        column_plan_fini(&col);
        return rc;
    }
    case PG_QUERY__ALTER_TABLE_TYPE__AT_DropColumn: {
        if (o->kind != CAT_KIND_TABLE)
            return cc_err_set_state(err, CC_INVALID, "42809", "\"%s\" is not a table", o->name);
        if ((rc = ddl__check_owner(c, o, err)) != CC_OK)
            return rc;
        if (cmd->missing_ok) {
            uint32_t pos = 0;
            if ((rc = ddl__column_position(o, cmd->name, &pos, err)) != CC_OK)
                return rc;
            if (pos == 0) {
                ddl__notice(c, "00000", "column \"%s\" of relation \"%s\" does not exist, skipping",
                            cmd->name, o->name);
                return CC_OK;
            }
        }
        cat_drop_behavior b = cmd->behavior == PG_QUERY__DROP_BEHAVIOR__DROP_CASCADE
                                  ? CAT_DROP_CASCADE
                                  : CAT_DROP_RESTRICT;
        return ddl__drop_column(c, o, cmd->name, b, err);
    }
    case PG_QUERY__ALTER_TABLE_TYPE__AT_ChangeOwner:
        return change_owner(c, o, cmd->newowner, err);
    default: {
        const ProtobufCEnumValue *v =
            protobuf_c_enum_descriptor_get_value(&pg_query__alter_table_type__descriptor, cmd->subtype);
        return cc_err_set_state(err, CC_INVALID, "0A000", "feature not supported: ALTER TABLE %s",
                                v ? v->name : "subcommand");
    }
    }
}

static cc_code
alter_table_stmt(ddl_ctx *c, const PgQuery__AlterTableStmt *a, cc_err *err)
{
    const cat_object *o;
    cc_code rc = alter_target(c, a->objtype, a->relation, a->missing_ok, &o, err);
    if (rc != CC_OK || o == NULL)
        return rc;
    for (size_t i = 0; i < a->n_cmds && rc == CC_OK; i++) {
        /* Each command sees the previous ones: re-find the object in the new version. */
        o = cat_state_find(c->st, o->ref);
        rc = alter_table_cmd(c, o, a->cmds[i]->alter_table_cmd, err);
    }
    return rc;
}

/* --- SET SCHEMA ---------------------------------------------------------------------------- */

/*
 * ALTER {TABLE|VIEW|MATERIALIZED VIEW|TYPE} name SET SCHEMA s, in
 * PostgreSQL's order of checks: the object (IF EXISTS: a notice), its
 * ownership, the schema (3F000), CREATE on it (42501); moving to the
 * current schema does nothing; name clashes are the catalog's (42P07 /
 * 42710 `... already exists in schema "s"`). The catalog moves a table's
 * indexes with it and rewrites the stored SQL of the object and of its
 * dependents (ddl__rewrite) in the same op.
 */
static cc_code
set_schema_stmt(ddl_ctx *c, const PgQuery__AlterObjectSchemaStmt *a, cc_err *err)
{
    const ddl_objkind *ok = ddl__objkind_of(a->object_type);
    if (ok == NULL || (ok->kind != CAT_KIND_TABLE && ok->kind != CAT_KIND_VIEW &&
                       ok->kind != CAT_KIND_MATERIALIZED_VIEW && ok->kind != CAT_KIND_TYPE))
        return cc_err_set_state(err, CC_INVALID, "0A000",
                                "feature not supported: ALTER ... SET SCHEMA of this object type");
    const cat_object *o = NULL;
    cc_code rc;
    if (ok->kind == CAT_KIND_TYPE) {
        snprintf(c->tag, sizeof c->tag, "%s", ok->alter_tag);
        ddl_qname q;
        if ((rc = ddl__node_qname(c, a->object, &q, err)) != CC_OK ||
            (rc = ddl__find_type(c, &q, &o, err)) != CC_OK)
            return rc;
        if (o == NULL) {
            const cat_object *rel = NULL;
            if (ddl__find_relation(c, &q, &rel, err) == CC_OK && rel != NULL &&
                rel->kind != CAT_KIND_INDEX) {
                cc_err_set_state(err, CC_INVALID, "42809", "%s is a table's row type", rel->name);
                return cc_err_hint(err, "Use ALTER TABLE instead.");
            }
            return ddl__missing(c, ok, &q, false, err);
        }
    } else {
        if ((rc = alter_target(c, a->object_type, a->relation, a->missing_ok, &o, err)) != CC_OK ||
            o == NULL)
            return rc;
        if (o->kind == CAT_KIND_INDEX) {
            cc_err_set_state(err, CC_INVALID, "42809", "cannot change schema of index \"%s\"",
                             o->name);
            return cc_err_hint(err, "Change the schema of the table instead.");
        }
    }
    if ((rc = ddl__check_owner(c, o, err)) != CC_OK)
        return rc;
    if (strcmp(a->newschema, "pg_catalog") == 0) {
        ddl_qname q = {.schema = "pg_catalog", .name = o->name, .location = -1};
        return ddl__system_catalog(c, &q, err);
    }
    const cat_object *sc = ddl__find_schema(c, a->newschema);
    if (sc == NULL)
        return cc_err_set_state(err, CC_NOT_FOUND, "3F000", "schema \"%s\" does not exist",
                                a->newschema);
    if ((rc = ddl__check_create(c, sc, err)) != CC_OK)
        return rc;
    if (sc->ref == o->parent)
        return CC_OK;
    cat_op op = {.kind = CAT_OP_SET_SCHEMA,
                 .u.set_schema = {.ref = o->ref, .schema = sc->ref, .rewrite = ddl__rewrite,
                                  .rewrite_arg = c}};
    return ddl__apply(c, &op, NULL, err);
}

/* --- COMMENT ------------------------------------------------------------------------------- */

static cc_code
comment_stmt(ddl_ctx *c, const PgQuery__CommentStmt *s, cc_err *err)
{
    snprintf(c->tag, sizeof c->tag, "COMMENT");
    const char *text = s->comment != NULL && s->comment[0] ? s->comment : NULL;
    ddl_qname q;
    cc_code rc;
    uint32_t column = 0;
    const ddl_objkind *ok;
    const char *colname = NULL;
    if (s->objtype == PG_QUERY__OBJECT_TYPE__OBJECT_COLUMN) {
        /* [schema.]table.column */
        const PgQuery__List *l = s->object->list;
        if (l->n_items < 2)
            return cc_err_set_state(err, CC_PARSE, "42601",
                                    "column name must be qualified");
        colname = ddl__str(l->items[l->n_items - 1]);
        if ((rc = ddl__qname_list(c, l->items, l->n_items - 1, -1, &q, err)) != CC_OK)
            return rc;
        ok = ddl__objkind_of(PG_QUERY__OBJECT_TYPE__OBJECT_TABLE);
    } else {
        ok = ddl__objkind_of(s->objtype);
        if (ok == NULL)
            return cc_err_set_state(err, CC_INVALID, "0A000",
                                    "feature not supported: COMMENT ON this object type");
        if ((rc = ddl__node_qname(c, s->object, &q, err)) != CC_OK)
            return rc;
    }
    const cat_object *o = NULL;
    if ((rc = ddl__find_object(c, ok->kind, &q, &o, err)) != CC_OK)
        return rc;
    if (o == NULL)
        return ddl__missing(c, ddl__is_relation_kind(ok->kind) ? &ddl__any_relation : ok, &q, false, err);
    if (colname == NULL && ddl__is_relation_kind(ok->kind) &&
        (rc = ddl__check_kind(c, ok, o, false, err)) != CC_OK)
        return rc;
    if (o->kind == CAT_KIND_ROLE) {
        if (cat_ref_is_system(o->ref))
            return ddl__check_owner(c, o, err);
        if ((rc = ddl__check_superuser_role(c, o, "must be superuser", err)) != CC_OK)
            return rc;
        if (!c->superuser && !ddl__session_attributes(c).create_role)
            return cc_err_set_state(err, CC_PERMISSION, "42501",
                                    "must have CREATEROLE privilege to comment on role");
    } else if ((rc = ddl__check_owner(c, o, err)) != CC_OK) {
        return rc;
    }
    if (colname != NULL) {
        if ((rc = ddl__column_position(o, colname, &column, err)) != CC_OK)
            return rc;
        if (column == 0)
            return cc_err_set_state(err, CC_NOT_FOUND, "42703",
                                    "column \"%s\" of relation \"%s\" does not exist", colname,
                                    o->name);
    }
    cat_op op = {.kind = CAT_OP_COMMENT,
                 .u.comment = {.ref = o->ref, .column = column, .comment = text}};
    return ddl__apply(c, &op, NULL, err);
}

/* --- GRANT / REVOKE ---------------------------------------------------------------------- */

static const struct {
    const char *name;
    uint64_t bit;
} privs[] = {
    {"select", DDL_ACL_SELECT},   {"insert", DDL_ACL_INSERT},         {"update", DDL_ACL_UPDATE},
    {"delete", DDL_ACL_DELETE},   {"truncate", DDL_ACL_TRUNCATE},     {"references", DDL_ACL_REFERENCES},
    {"trigger", DDL_ACL_TRIGGER}, {"usage", DDL_ACL_USAGE},           {"create", DDL_ACL_CREATE},
    {"connect", DDL_ACL_CONNECT}, {"temporary", DDL_ACL_TEMPORARY},   {"temp", DDL_ACL_TEMPORARY},
    {"execute", DDL_ACL_EXECUTE},
};

/* The privileges an object class can carry (PostgreSQL's ACL_ALL_RIGHTS_*). */
static uint64_t
all_rights(cat_kind k)
{
    switch (k) {
    case CAT_KIND_SCHEMA:
        return DDL_ACL_USAGE | DDL_ACL_CREATE;
    case CAT_KIND_DATABASE:
        return DDL_ACL_CREATE | DDL_ACL_TEMPORARY | DDL_ACL_CONNECT;
    case CAT_KIND_TYPE:
        return DDL_ACL_USAGE;
    default:
        return DDL_ACL_SELECT | DDL_ACL_INSERT | DDL_ACL_UPDATE | DDL_ACL_DELETE |
               DDL_ACL_TRUNCATE | DDL_ACL_REFERENCES | DDL_ACL_TRIGGER;
    }
}

/*
 * GRANT/REVOKE by a role that does not own o. Grant options are not
 * supported, so such a role holds none; as in PostgreSQL, holding no
 * privilege on o at all is 42501, holding some is a WARNING (01007 "no
 * privileges were granted", 01006 "no privileges could be revoked") and
 * changes nothing.
 */
static cc_code
not_grantable(ddl_ctx *c, const PgQuery__GrantStmt *g, const cat_object *o, cc_err *err)
{
    uint64_t held = 0;
    cc_code rc = cat_ref_is_system(o->ref) ? CC_OK : ddl__acl_of(o, c->role, &held, err);
    if (rc != CC_OK)
        return rc;
    if (held == 0)
        return cc_err_set_state(err, CC_PERMISSION, "42501", "permission denied for %s %s",
                                cat_kind_name(o->kind), o->name);
    size_t before = c->nnotices;
    if (g->is_grant)
        ddl__notice(c, "01007", "no privileges were granted for \"%s\"", o->name);
    else
        ddl__notice(c, "01006", "no privileges could be revoked for \"%s\"", o->name);
    if (c->nnotices > before)
        snprintf(c->notices[before].severity, sizeof c->notices[before].severity, "WARNING");
    return CC_OK;
}

static cc_code
grant_stmt(ddl_ctx *c, const PgQuery__GrantStmt *g, cc_err *err)
{
    snprintf(c->tag, sizeof c->tag, "%s", g->is_grant ? "GRANT" : "REVOKE");
    if (g->targtype != PG_QUERY__GRANT_TARGET_TYPE__ACL_TARGET_OBJECT)
        return cc_err_set_state(err, CC_INVALID, "0A000",
                                "feature not supported: GRANT/REVOKE ON ALL ... IN SCHEMA");
    if (g->grant_option)
        return cc_err_set_state(err, CC_INVALID, "0A000",
                                "feature not supported: WITH GRANT OPTION");
    const ddl_objkind *ok = ddl__objkind_of(g->objtype);
    if (ok == NULL || ok->kind == CAT_KIND_ROLE)
        return cc_err_set_state(err, CC_INVALID, "0A000",
                                "feature not supported: GRANT/REVOKE on this object type");
    uint64_t bits = 0, allowed = all_rights(ok->kind);
    if (g->n_privileges == 0)
        bits = allowed;
    for (size_t i = 0; i < g->n_privileges; i++) {
        const PgQuery__AccessPriv *p = g->privileges[i]->access_priv;
        if (p->n_cols > 0)
            return cc_err_set_state(err, CC_INVALID, "0A000",
                                    "feature not supported: column privileges");
        uint64_t bit = 0;
        for (size_t k = 0; k < sizeof privs / sizeof *privs && bit == 0; k++)
            if (strcmp(p->priv_name, privs[k].name) == 0)
                bit = privs[k].bit;
        if (bit == 0)
            return cc_err_set_state(err, CC_INVALID, "42601", "unrecognized privilege type \"%s\"",
                                    p->priv_name);
        if ((bit & allowed) == 0) {
            char up[32];
            size_t n = 0;
            for (; p->priv_name[n] && n + 1 < sizeof up; n++)
                up[n] = (char)(p->priv_name[n] - 32 * (p->priv_name[n] >= 'a' && p->priv_name[n] <= 'z'));
            up[n] = '\0';
            return cc_err_set_state(err, CC_INVALID, "0LP01", "invalid privilege type %s for %s", up,
                                    ddl__is_relation_kind(ok->kind) ? "relation" : ok->word);
        }
        bits |= bit;
    }
    cc_code rc = CC_OK;
    for (size_t i = 0; i < g->n_objects && rc == CC_OK; i++) {
        ddl_qname q;
        const cat_object *o = NULL;
        if ((rc = ddl__node_qname(c, g->objects[i], &q, err)) != CC_OK)
            break;
        if ((rc = ddl__find_object(c, ok->kind, &q, &o, err)) != CC_OK)
            break;
        if (o == NULL) {
            rc = ddl__missing(c, ddl__is_relation_kind(ok->kind) ? &ddl__any_relation : ok, &q, false, err);
            break;
        }
        if (!c->superuser && o->owner != c->role) {
            rc = not_grantable(c, g, o, err);
            continue;
        }
        if (cat_ref_is_system(o->ref)) {
            rc = ddl__check_owner(c, o, err);
            break;
        }
        for (size_t k = 0; k < g->n_grantees && rc == CC_OK; k++) {
            const PgQuery__RoleSpec *rs = g->grantees[k]->role_spec;
            cat_ref grantee = 0;
            if (rs->roletype != PG_QUERY__ROLE_SPEC_TYPE__ROLESPEC_PUBLIC) {
                const cat_object *r;
                if ((rc = role_spec(c, rs, &r, err)) != CC_OK)
                    break;
                grantee = r->ref;
            }
            cat_op op = {.kind = g->is_grant ? CAT_OP_GRANT : CAT_OP_REVOKE,
                         .u.grant = {.ref = o->ref, .grantee = grantee, .acl_mode = bits}};
            rc = ddl__apply(c, &op, NULL, err);
        }
    }
    return rc;
}

/* --- ALTER SYSTEM ------------------------------------------------------------------------ */

static cc_code
alter_system(ddl_ctx *c, const PgQuery__AlterSystemStmt *a, cc_err *err)
{
    snprintf(c->tag, sizeof c->tag, "ALTER SYSTEM");
    const PgQuery__VariableSetStmt *v = a->setstmt;
    if (!c->superuser)
        return cc_err_set_state(err, CC_PERMISSION, "42501",
                                "permission denied to set parameter \"%s\"", v->name);
    bool known = false;
    for (int l = 0; l < CAT_NLIMIT; l++)
        known |= strcmp(cat_limit_name((cat_limit)l), v->name) == 0;
    if (!known)
        return cc_err_set_state(err, CC_NOT_FOUND, "42704",
                                "unrecognized configuration parameter \"%s\"", v->name);
    if (v->kind == PG_QUERY__VARIABLE_SET_KIND__VAR_RESET ||
        v->kind == PG_QUERY__VARIABLE_SET_KIND__VAR_SET_DEFAULT) {
        cat_op op = {.kind = CAT_OP_CONFIG_RESET, .u.config = {.name = v->name}};
        return ddl__apply(c, &op, NULL, err);
    }
    if (v->kind != PG_QUERY__VARIABLE_SET_KIND__VAR_SET_VALUE || v->n_args != 1)
        return cc_err_set_state(err, CC_INVALID, "22023", "parameter \"%s\" requires one value",
                                v->name);
    char buf[32];
    const PgQuery__Node *arg = v->args[0];
    const char *value = NULL;
    if (arg->node_case == PG_QUERY__NODE__NODE_A_CONST) {
        const PgQuery__AConst *k = arg->a_const;
        if (k->val_case == PG_QUERY__A__CONST__VAL_IVAL) {
            snprintf(buf, sizeof buf, "%d", k->ival->ival);
            value = buf;
        } else if (k->val_case == PG_QUERY__A__CONST__VAL_SVAL) {
            value = k->sval->sval;
        } else if (k->val_case == PG_QUERY__A__CONST__VAL_FVAL) {
            value = k->fval->fval;
        }
    }
    if (value == NULL)
        return cc_err_set_state(err, CC_INVALID, "22023",
                                "parameter \"%s\" requires an integer value", v->name);
    cat_op op = {.kind = CAT_OP_CONFIG_SET, .u.config = {.name = v->name, .value = value}};
    return ddl__apply(c, &op, NULL, err);
}

/* --- dispatch --------------------------------------------------------------------------- */

cc_code
ddl__alter(ddl_ctx *c, const PgQuery__Node *n, cc_err *err)
{
    switch (n->node_case) {
    case PG_QUERY__NODE__NODE_DROP_STMT:
        return ddl__drop_stmt(c, n->drop_stmt, err);
    case PG_QUERY__NODE__NODE_DROPDB_STMT:
        return ddl__drop_database(c, n->dropdb_stmt, err);
    case PG_QUERY__NODE__NODE_DROP_ROLE_STMT:
        return ddl__drop_roles(c, n->drop_role_stmt, err);
    case PG_QUERY__NODE__NODE_RENAME_STMT:
        return rename_stmt(c, n->rename_stmt, err);
    case PG_QUERY__NODE__NODE_ALTER_TABLE_STMT:
        return alter_table_stmt(c, n->alter_table_stmt, err);
    case PG_QUERY__NODE__NODE_ALTER_OWNER_STMT:
        return alter_owner_stmt(c, n->alter_owner_stmt, err);
    case PG_QUERY__NODE__NODE_ALTER_OBJECT_SCHEMA_STMT:
        return set_schema_stmt(c, n->alter_object_schema_stmt, err);
    case PG_QUERY__NODE__NODE_COMMENT_STMT:
        return comment_stmt(c, n->comment_stmt, err);
    case PG_QUERY__NODE__NODE_GRANT_STMT:
        return grant_stmt(c, n->grant_stmt, err);
    case PG_QUERY__NODE__NODE_ALTER_SYSTEM_STMT:
        return alter_system(c, n->alter_system_stmt, err);
    default:
        return cc_err_set_state(err, CC_INVALID, "0A000", "feature not supported: %s",
                                ddl__stmt_name(n));
    }
}
