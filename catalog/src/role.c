/*
 * catalog/src/role.c — CAT_OP_ALTER_ROLE: a role's attributes and password.
 *
 * The role's value is re-encoded with the new attributes and/or password
 * (the name, OID and memberships stay), one audit event ALTER. A system
 * role (cowcat_system) keeps its attributes — the internal port relies on
 * it being a superuser — but its password may change. O(log n).
 */
#include "internal.h"

cc_code
cat__op_alter_role(cat_txn *t, const cat_op *op, cc_err *err)
{
    cat_ref ref = op->u.alter_role.role;
    const cat_object *o = cat_state_find(&t->work, ref);
    if (o == NULL || cat_ref_class(ref) != CAT_CLASS_ROLE)
        return cat__not_found(ref, err);
    if (op->u.alter_role.attributes != NULL && cat_ref_is_system(ref))
        return cc_err_set_state(err, CC_PERMISSION, "42501",
                                "permission denied to alter role \"%s\": it is a system role",
                                o->name);
    if (op->u.alter_role.clear_password && op->u.alter_role.password != NULL)
        return cc_err_set(err, CC_INVALID, "CAT_OP_ALTER_ROLE: a password and clear_password");
    ProtobufCMessage *m;
    cc_code rc = cat_object_decode(o, &m, err);
    if (rc != CC_OK)
        return rc;
    Cowcat__Catalog__RoleValue *v = (Cowcat__Catalog__RoleValue *)m;
    Cowcat__Catalog__RoleAttributes *old_attrs = v->attributes;
    char *old_password = v->password;
    Cowcat__Catalog__RoleAttributes a;
    if (op->u.alter_role.attributes != NULL) {
        a = *op->u.alter_role.attributes;
        a.base.descriptor = &cowcat__catalog__role_attributes__descriptor;
        v->attributes = &a;
    }
    if (op->u.alter_role.password != NULL)
        v->password = (char *)op->u.alter_role.password;
    else if (op->u.alter_role.clear_password)
        v->password = (char *)"";
    const cat_object *changed = NULL;
    rc = cat__put_object(t, ref, m, &changed, err);
    /* give the unpacked message back what it owns before freeing it */
    v->attributes = old_attrs;
    v->password = old_password;
    protobuf_c_message_free_unpacked(m, NULL);
    if (rc == CC_OK)
        rc = cat__audit(t, COWCAT__CATALOG__AUDIT_EVENT_TYPE__AUDIT_EVENT_TYPE_ALTER, changed,
                        err);
    return rc;
}
