/*
 * ddl/src/role.c — CREATE ROLE / USER and ALTER ROLE / USER.
 *
 * Both take the same options (SUPERUSER, LOGIN, INHERIT, CREATEDB,
 * CREATEROLE, PASSWORD), parsed once by role_options. A password is stored
 * only as a SCRAM-SHA-256 verifier (scram.c): clear text is turned into one
 * here, a verifier (or an md5 hash, which cowcat keeps but cannot use to
 * authenticate) is stored as given, '' or NULL clears it.
 *
 * Privileges follow PostgreSQL 15: superusers may do anything; creating or
 * altering a superuser, or the SUPERUSER attribute, needs superuser; other
 * roles need CREATEROLE, except that any role may change its own password.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "internal.h"

enum { OPT_SUPER, OPT_LOGIN, OPT_INHERIT, OPT_CREATEDB, OPT_CREATEROLE, OPT_PASSWORD, NOPT };

/* The options of a role statement, each the DefElem that set it (NULL: not given). */
typedef struct role_opts {
    const PgQuery__DefElem *seen[NOPT];
} role_opts;

/* A DefElem's boolean argument (PostgreSQL 15: a Boolean node; absent: true). */
static bool
def_bool(const PgQuery__DefElem *d)
{
    if (d->arg == NULL)
        return true;
    if (d->arg->node_case == PG_QUERY__NODE__NODE_BOOLEAN)
        return d->arg->boolean->boolval;
    if (d->arg->node_case == PG_QUERY__NODE__NODE_INTEGER)
        return d->arg->integer->ival != 0;
    return true;
}

/* Sorts options into o; 0A000 for options cowcat does not have, 42601 for repeats. */
static cc_code
role_options(ddl_ctx *c, const char *verb, PgQuery__Node **options, size_t n, role_opts *o,
             cc_err *err)
{
    static const char *const names[NOPT] = {"superuser", "canlogin",   "inherit",
                                            "createdb",  "createrole", "password"};
    memset(o, 0, sizeof *o);
    for (size_t i = 0; i < n; i++) {
        if (options[i]->node_case != PG_QUERY__NODE__NODE_DEF_ELEM)
            continue;
        const PgQuery__DefElem *d = options[i]->def_elem;
        size_t k = 0;
        while (k < NOPT && strcmp(names[k], d->defname) != 0)
            k++;
        if (k == NOPT) {
            const char *what = strcmp(d->defname, "isreplication") == 0     ? "REPLICATION"
                               : strcmp(d->defname, "bypassrls") == 0       ? "BYPASSRLS"
                               : strcmp(d->defname, "connectionlimit") == 0 ? "CONNECTION LIMIT"
                               : strcmp(d->defname, "validUntil") == 0      ? "VALID UNTIL"
                               : strcmp(d->defname, "addroleto") == 0       ? "IN ROLE"
                               : strcmp(d->defname, "rolemembers") == 0     ? "ROLE"
                               : strcmp(d->defname, "adminmembers") == 0    ? "ADMIN"
                               : strcmp(d->defname, "sysid") == 0           ? "SYSID"
                                                                            : d->defname;
            return ddl__at(c, d->location,
                           cc_err_set_state(err, CC_PARSE, "0A000",
                                            "feature not supported: %s ROLE ... %s", verb, what));
        }
        if (o->seen[k] != NULL)
            return ddl__at(c, d->location,
                           cc_err_set_state(err, CC_PARSE, "42601",
                                            "conflicting or redundant options"));
        o->seen[k] = d;
    }
    return CC_OK;
}

/*
 * The password to store for option d: *store NULL with *clear false means
 * "no password given"; *clear true: remove it; else *store is what to keep
 * (a new verifier in *owned, to free). Errors: those of ddl__scram_verifier.
 */
static cc_code
role_password(ddl_ctx *c, const PgQuery__DefElem *d, const char **store, bool *clear,
              char **owned, cc_err *err)
{
    *store = NULL;
    *clear = false;
    *owned = NULL;
    if (d == NULL)
        return CC_OK;
    const char *text = ddl__str(d->arg);
    if (text == NULL) { /* PASSWORD NULL */
        *clear = true;
        return CC_OK;
    }
    if (text[0] == '\0') {
        ddl__notice(c, "00000", "empty string is not a valid password, clearing password");
        *clear = true;
        return CC_OK;
    }
    bool md5 = strncmp(text, "md5", 3) == 0 && strlen(text) == 35 &&
               strspn(text + 3, "0123456789abcdef") == 32;
    if (ddl__scram_is_verifier(text) || md5) {
        *store = text;
        return CC_OK;
    }
    cc_code rc = ddl__scram_verifier(text, owned, err);
    *store = *owned;
    return rc;
}

cc_code
ddl__create_role(ddl_ctx *c, const PgQuery__CreateRoleStmt *s, cc_err *err)
{
    role_opts o;
    cc_code rc = role_options(c, "CREATE", s->options, s->n_options, &o, err);
    if (rc != CC_OK)
        return rc;
    Cowcat__Catalog__RoleAttributes a = COWCAT__CATALOG__ROLE_ATTRIBUTES__INIT;
    a.superuser = o.seen[OPT_SUPER] && def_bool(o.seen[OPT_SUPER]);
    a.login = o.seen[OPT_LOGIN] ? def_bool(o.seen[OPT_LOGIN])
                                : s->stmt_type == PG_QUERY__ROLE_STMT_TYPE__ROLESTMT_USER;
    a.inherit = o.seen[OPT_INHERIT] ? def_bool(o.seen[OPT_INHERIT]) : true;
    a.create_db = o.seen[OPT_CREATEDB] && def_bool(o.seen[OPT_CREATEDB]);
    a.create_role = o.seen[OPT_CREATEROLE] && def_bool(o.seen[OPT_CREATEROLE]);

    if (a.superuser) {
        if (!c->superuser)
            return cc_err_set_state(err, CC_PERMISSION, "42501",
                                    "must be superuser to create superusers");
    } else if (!c->superuser && !ddl__session_attributes(c).create_role) {
        return cc_err_set_state(err, CC_PERMISSION, "42501", "permission denied to create role");
    }
    if (strncmp(s->role, "pg_", 3) == 0) {
        cc_err_set_state(err, CC_INVALID, "42939", "role name \"%s\" is reserved", s->role);
        return cc_err_detail(err, "Role names starting with \"pg_\" are reserved.");
    }
    if (cat_state_find_role(c->st, s->role) != NULL)
        return cc_err_set_state(err, CC_EXISTS, "42710", "role \"%s\" already exists", s->role);

    const char *password;
    bool clear;
    char *owned;
    if ((rc = role_password(c, o.seen[OPT_PASSWORD], &password, &clear, &owned, err)) != CC_OK)
        return rc;
    cat_op op = {.kind = CAT_OP_CREATE_ROLE};
    op.u.create_role.name = s->role;
    op.u.create_role.attributes = &a;
    op.u.create_role.password = password;
    rc = ddl__apply(c, &op, NULL, err);
    cc_free(owned);
    if (rc == CC_OK)
        snprintf(c->tag, sizeof c->tag, "CREATE ROLE");
    return rc;
}

cc_code
ddl__alter_role(ddl_ctx *c, const PgQuery__AlterRoleStmt *s, cc_err *err)
{
    const PgQuery__RoleSpec *spec = s->role;
    const char *name = spec == NULL ? NULL
                       : spec->roletype == PG_QUERY__ROLE_SPEC_TYPE__ROLESPEC_CSTRING
                           ? spec->rolename
                       : spec->roletype == PG_QUERY__ROLE_SPEC_TYPE__ROLESPEC_PUBLIC
                           ? NULL
                           : c->s->user; /* CURRENT_USER, SESSION_USER, CURRENT_ROLE */
    if (name == NULL)
        return cc_err_set_state(err, CC_INVALID, "42704", "role \"public\" does not exist");
    role_opts o;
    cc_code rc = role_options(c, "ALTER", s->options, s->n_options, &o, err);
    if (rc != CC_OK)
        return rc;
    const cat_object *r = cat_state_find_role(c->st, name);
    if (r == NULL) /* PostgreSQL gives no position here */
        return cc_err_set_state(err, CC_NOT_FOUND, "42704", "role \"%s\" does not exist", name);
    ProtobufCMessage *m = NULL;
    if ((rc = cat_object_decode(r, &m, err)) != CC_OK)
        return rc;
    const Cowcat__Catalog__RoleValue *v = (const Cowcat__Catalog__RoleValue *)m;
    Cowcat__Catalog__RoleAttributes a = COWCAT__CATALOG__ROLE_ATTRIBUTES__INIT;
    if (v->attributes != NULL)
        a = *v->attributes;
    a.base.descriptor = &cowcat__catalog__role_attributes__descriptor;
    protobuf_c_message_free_unpacked(m, NULL);

    bool target_super = a.superuser;
    bool attrs = false;
    for (int k = OPT_SUPER; k <= OPT_CREATEROLE; k++)
        attrs = attrs || o.seen[k] != NULL;
    if (target_super || o.seen[OPT_SUPER] != NULL) {
        if (!c->superuser)
            return cc_err_set_state(err, CC_PERMISSION, "42501",
                                    "must be superuser to alter superuser roles or change "
                                    "superuser attribute");
    } else if (!c->superuser && !ddl__session_attributes(c).create_role &&
               (attrs || o.seen[OPT_PASSWORD] == NULL || r->ref != c->role)) {
        return cc_err_set_state(err, CC_PERMISSION, "42501", "permission denied");
    }
    if (o.seen[OPT_SUPER])
        a.superuser = def_bool(o.seen[OPT_SUPER]);
    if (o.seen[OPT_LOGIN])
        a.login = def_bool(o.seen[OPT_LOGIN]);
    if (o.seen[OPT_INHERIT])
        a.inherit = def_bool(o.seen[OPT_INHERIT]);
    if (o.seen[OPT_CREATEDB])
        a.create_db = def_bool(o.seen[OPT_CREATEDB]);
    if (o.seen[OPT_CREATEROLE])
        a.create_role = def_bool(o.seen[OPT_CREATEROLE]);

    const char *password;
    bool clear;
    char *owned;
    if ((rc = role_password(c, o.seen[OPT_PASSWORD], &password, &clear, &owned, err)) != CC_OK)
        return rc;
    cat_op op = {.kind = CAT_OP_ALTER_ROLE};
    op.u.alter_role.role = r->ref;
    op.u.alter_role.attributes = attrs ? &a : NULL;
    op.u.alter_role.password = password;
    op.u.alter_role.clear_password = clear;
    rc = ddl__apply(c, &op, NULL, err);
    cc_free(owned);
    if (rc == CC_OK)
        snprintf(c->tag, sizeof c->tag, "ALTER ROLE");
    return rc;
}
