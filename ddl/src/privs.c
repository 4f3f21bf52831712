/*
 * ddl/src/privs.c — who may do what: owners and superusers alter and drop,
 * CREATE on a schema lets a role create in it, and nobody alters the system
 * objects (s-ids: cowcat_system, information_schema, cowcat_catalog). As in
 * PostgreSQL, a schema's owner may also drop what is in it, and roles with
 * SUPERUSER are managed only by superusers.
 *
 * Privileges live in each object's durable value (AclItem: grantee, grantor,
 * PostgreSQL's ACL bits); a check decodes the one object it asks about.
 */
#include <string.h>

#include "internal.h"

/*
 * The privileges of o's durable value (*acl, *n; decoded into *m, which the
 * caller frees when not NULL). A value that does not decode has none (cat_check
 * reports it). Errors: NOMEM.
 */
static cc_code
acl_items(const cat_object *o, ProtobufCMessage **m, Cowcat__Catalog__AclItem ***acl, size_t *n,
          cc_err *err)
{
    *n = 0;
    *m = NULL;
    *acl = NULL;
    cc_code rc = ddl__decode_lenient(o, m, err);
    if (rc != CC_OK || *m == NULL)
        return rc;
    switch (cat_ref_class(o->ref)) {
    case CAT_CLASS_DATABASE:
        *n = ((Cowcat__Catalog__DatabaseValue *)*m)->n_privileges;
        *acl = ((Cowcat__Catalog__DatabaseValue *)*m)->privileges;
        break;
    case CAT_CLASS_SCHEMA:
        *n = ((Cowcat__Catalog__SchemaValue *)*m)->n_privileges;
        *acl = ((Cowcat__Catalog__SchemaValue *)*m)->privileges;
        break;
    case CAT_CLASS_ITEM:
        *n = ((Cowcat__Catalog__ItemValue *)*m)->n_privileges;
        *acl = ((Cowcat__Catalog__ItemValue *)*m)->privileges;
        break;
    case CAT_CLASS_CLUSTER:
        *n = ((Cowcat__Catalog__ClusterValue *)*m)->n_privileges;
        *acl = ((Cowcat__Catalog__ClusterValue *)*m)->privileges;
        break;
    default:
        break;
    }
    return CC_OK;
}

/* True if the AclItem's grantee is PUBLIC (u0 or unset). */
static bool
is_public(const Cowcat__Catalog__AclItem *a)
{
    return a->grantee == NULL || (!a->grantee->system && a->grantee->value == 0);
}

cc_code
ddl__acl_of(const cat_object *o, cat_ref role, uint64_t *bits, cc_err *err)
{
    ProtobufCMessage *m;
    size_t n;
    Cowcat__Catalog__AclItem **acl;
    *bits = 0;
    cc_code rc = acl_items(o, &m, &acl, &n, err);
    for (size_t i = 0; i < n; i++)
        if (is_public(acl[i]) || cat_ref_from_id(CAT_CLASS_ROLE, acl[i]->grantee) == role)
            *bits |= acl[i]->acl_mode;
    if (m != NULL)
        protobuf_c_message_free_unpacked(m, NULL);
    return rc;
}

cc_code
ddl__acl_names(const cat_object *o, cat_ref role, bool *names, cc_err *err)
{
    ProtobufCMessage *m;
    size_t n;
    Cowcat__Catalog__AclItem **acl;
    *names = false;
    cc_code rc = acl_items(o, &m, &acl, &n, err);
    for (size_t i = 0; i < n && !*names; i++)
        *names = (!is_public(acl[i]) && cat_ref_from_id(CAT_CLASS_ROLE, acl[i]->grantee) == role) ||
                 cat_ref_from_id(CAT_CLASS_ROLE, acl[i]->grantor) == role;
    if (m != NULL)
        protobuf_c_message_free_unpacked(m, NULL);
    return rc;
}

cc_code
ddl__check_owner(ddl_ctx *c, const cat_object *o, cc_err *err)
{
    if (cat_ref_is_system(o->ref))
        return cc_err_set_state(err, CC_PERMISSION, "42501",
                                "permission denied: %s \"%s\" is a system object",
                                cat_kind_name(o->kind), o->name);
    if (c->superuser || (c->role != 0 && o->owner == c->role))
        return CC_OK;
    if (o->kind == CAT_KIND_ROLE)
        return cc_err_set_state(err, CC_PERMISSION, "42501", "permission denied to alter role");
    return cc_err_set_state(err, CC_PERMISSION, "42501", "must be owner of %s %s",
                            cat_kind_name(o->kind), o->name);
}

cc_code
ddl__check_create(ddl_ctx *c, const cat_object *schema, cc_err *err)
{
    if (!cat_ref_is_system(schema->ref)) {
        if (c->superuser || (c->role != 0 && schema->owner == c->role))
            return CC_OK;
        uint64_t bits;
        cc_code rc = ddl__acl_of(schema, c->role, &bits, err);
        if (rc != CC_OK || (bits & DDL_ACL_CREATE))
            return rc;
    }
    return cc_err_set_state(err, CC_PERMISSION, "42501", "permission denied for schema %s",
                            schema->name);
}

cc_code
ddl__check_drop(ddl_ctx *c, const cat_object *o, cc_err *err)
{
    if (!c->superuser && c->role != 0 && !cat_ref_is_system(o->ref) &&
        cat_ref_class(o->ref) == CAT_CLASS_ITEM && o->owner != c->role) {
        const cat_object *schema = cat_state_find(c->st, o->parent);
        if (schema != NULL && schema->owner == c->role)
            return CC_OK;
    }
    return ddl__check_owner(c, o, err);
}

cc_code
ddl__check_superuser_role(ddl_ctx *c, const cat_object *role, const char *msg, cc_err *err)
{
    if (c->superuser)
        return CC_OK;
    ProtobufCMessage *m = NULL;
    cc_code rc = cat_object_decode(role, &m, err);
    if (rc != CC_OK)
        return rc;
    const Cowcat__Catalog__RoleValue *v = (const Cowcat__Catalog__RoleValue *)m;
    bool super = v->attributes != NULL && v->attributes->superuser;
    protobuf_c_message_free_unpacked(m, NULL);
    if (super)
        return cc_err_set_state(err, CC_PERMISSION, "42501", "%s", msg);
    return CC_OK;
}
