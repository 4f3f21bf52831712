/*
 * catalog/src/ops.c — creating objects and altering them: rename (with the
 * create_sql rewrite of dependents), comment, owner, grant/revoke, replacing
 * a view's definition (CREATE OR REPLACE VIEW) and system configuration.
 * Column ops and drops are in columns.c and drop.c.
 *
 * Every op validates against the working version first (names through the
 * names map, parents and owners by ref), then writes through cat__put_*: a
 * failed op has written nothing the caller could observe, and poisons the
 * transaction anyway (cat_txn_apply).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "internal.h"

#define AUDIT(x) COWCAT__CATALOG__AUDIT_EVENT_TYPE__AUDIT_EVENT_TYPE_##x

static cc_code
check_name(const char *name, const char *what, cc_err *err)
{
    if (name == NULL || *name == '\0')
        return cc_err_set_state(err, CC_INVALID, "42602", "invalid %s name: empty", what);
    if (strlen(name) > CAT_NAME_MAX)
        return cc_err_set_state(err, CC_INVALID, "42622", "%s name \"%s\" is too long", what, name);
    return CC_OK;
}

/* The object ref if it exists and has one of the kinds in mask (bit per kind). */
static cc_code
need(const cat_txn *t, cat_ref ref, unsigned mask, const cat_object **out, cc_err *err)
{
    const cat_object *o = cat_state_find(&t->work, ref);
    if (o == NULL)
        return cat__not_found(ref, err);
    if (mask & (1u << o->kind)) {
        *out = o;
        return CC_OK;
    }
    /* "is not a table, view or index", as PostgreSQL words wrong-type errors */
    char want[160] = "";
    size_t len = 0;
    unsigned left = mask;
    for (int k = 0; k < CAT_NKIND && len < sizeof want; k++) {
        if (!(left & (1u << k)))
            continue;
        left &= ~(1u << k);
        len += (size_t)snprintf(want + len, sizeof want - len, "%s%s",
                                len == 0    ? ""
                                : left == 0 ? " or "
                                            : ", ",
                                cat_kind_name(k));
    }
    return cc_err_set_state(err, CC_INVALID, "42809", "\"%s\" is not a %s", o->name, want);
}

#define K(x) (1u << CAT_KIND_##x)

static cc_code
owner_of(const cat_txn *t, cat_ref owner, cat_ref *out, cc_err *err)
{
    const cat_object *o;
    *out = owner != 0 ? owner : CAT_ROLE_COWCAT;
    return need(t, *out, K(ROLE), &o, err);
}

/* The name's current holder in ns/scope, other than self; 0 if free. */
static cat_ref
holder(const cat_txn *t, cat__ns ns, cat_ref scope, const char *name)
{
    uint8_t k[CAT_NAME_KEY_MAX + 1];
    size_t n = cat__name_key(k, ns, scope, name);
    return n == 0 ? 0 : cat__state_name(&t->work, k, n);
}

static cc_code
exists_error(const cat_txn *t, cat__ns ns, cat_ref scope, const char *name, cc_err *err)
{
    const cat_object *s = cat_state_find(&t->work, scope);
    const char *sn = s != NULL ? s->name : "?";
    switch (ns) {
    case CAT_NS_DATABASE:
        return cc_err_set_state(err, CC_EXISTS, "42P04", "database \"%s\" already exists", name);
    case CAT_NS_SCHEMA:
        return cc_err_set_state(err, CC_EXISTS, "42P06", "schema \"%s\" already exists", name);
    case CAT_NS_RELATION:
        return cc_err_set_state(err, CC_EXISTS, "42P07", "relation \"%s.%s\" already exists", sn,
                                name);
    case CAT_NS_TYPE:
        return cc_err_set_state(err, CC_EXISTS, "42710", "type \"%s.%s\" already exists", sn, name);
    case CAT_NS_ROLE:
        return cc_err_set_state(err, CC_EXISTS, "42710", "role \"%s\" already exists", name);
    case CAT_NS_CLUSTER:
        return cc_err_set_state(err, CC_EXISTS, "42710", "cluster \"%s\" already exists", name);
    }
    return cc_err_set(err, CC_EXISTS, "\"%s\" already exists", name);
}

static cc_code
name_free(const cat_txn *t, cat__ns ns, cat_ref scope, const char *name, cat_ref self, cc_err *err)
{
    cat_ref h = holder(t, ns, scope, name);
    if (h != 0 && h != self)
        return exists_error(t, ns, scope, name, err);
    return CC_OK;
}

/* --- create ------------------------------------------------------------------------------ */

#define FK_KIND COWCAT__CATALOG__CONSTRAINT_KIND__CONSTRAINT_KIND_FOREIGN_KEY

/* A foreign key to the table being created (ref_table u0): not a use. */
static bool
is_self_ref(const Cowcat__Catalog__Constraint *c)
{
    return c->ref_table_opt_case == COWCAT__CATALOG__CONSTRAINT__REF_TABLE_OPT_REF_TABLE &&
           c->ref_table != NULL && !c->ref_table->system && c->ref_table->value == 0;
}

/* Appends r to a deduplicated use list (cap >= every possible use). */
static void
add_use(cat_ref *uses, size_t *n, cat_ref r)
{
    for (size_t i = 0; i < *n; i++)
        if (uses[i] == r)
            return;
    uses[(*n)++] = r;
}

/*
 * The uses an item's op states and its columns' user types imply, checked
 * to exist with a kind an item can use, appended (deduplicated) to uses.
 */
static cc_code
given_uses(const cat_txn *t, const cat_ref *given, size_t ngiven,
           Cowcat__Catalog__Column *const *cols, size_t ncol, cat_ref *uses, size_t *nuses,
           cc_err *err)
{
    const cat_object *x;
    cc_code rc = CC_OK;
    for (size_t i = 0; i < ngiven && rc == CC_OK; i++) {
        rc = need(t, given[i], K(TABLE) | K(VIEW) | K(MATERIALIZED_VIEW) | K(INDEX) | K(TYPE), &x,
                  err);
        if (rc == CC_OK)
            add_use(uses, nuses, x->ref);
    }
    for (size_t i = 0; i < ncol && rc == CC_OK; i++) {
        if (cols[i]->type_ref_opt_case != COWCAT__CATALOG__COLUMN__TYPE_REF_OPT_TYPE_REF)
            continue;
        rc = need(t, cat_ref_from_id(CAT_CLASS_ITEM, cols[i]->type_ref), K(TYPE), &x, err);
        if (rc == CC_OK)
            add_use(uses, nuses, x->ref);
    }
    return rc;
}

static cc_code
check_columns(Cowcat__Catalog__Column *const *cols, size_t n, cc_err *err)
{
    for (size_t i = 0; i < n; i++) {
        if (cols[i] == NULL)
            return cc_err_set(err, CC_INVALID, "column %zu is NULL", i + 1);
        cc_code rc = check_name(cols[i]->name, "column", err);
        if (rc != CC_OK)
            return rc;
        for (size_t j = 0; j < i; j++)
            if (strcmp(cols[j]->name, cols[i]->name) == 0)
                return cc_err_set_state(err, CC_EXISTS, "42701",
                                        "column \"%s\" specified more than once", cols[i]->name);
    }
    return CC_OK;
}

static cc_code
create_item(cat_txn *t, const cat_op *op, cat_ref *created, cc_err *err)
{
    const cat_object *schema = NULL, *x = NULL;
    cat_ref owner;
    cc_code rc = check_name(op->u.create_item.name, "relation", err);
    if (rc == CC_OK)
        rc = need(t, op->u.create_item.schema, K(SCHEMA), &schema, err);
    if (rc == CC_OK)
        rc = owner_of(t, op->u.create_item.owner, &owner, err);
    if (rc != CC_OK)
        return rc;
    if (op->u.create_item.create_sql == NULL || op->u.create_item.create_sql[0] == '\0')
        return cc_err_set(err, CC_INVALID, "creating \"%s\": create_sql is empty",
                          op->u.create_item.name);
    cat_kind kind = op->u.create_item.kind;
    if (cat__kind_item_kind(kind) == COWCAT__CATALOG__ITEM_KIND__ITEM_KIND_UNSPECIFIED)
        return cc_err_set(err, CC_INVALID, "%s is not an item kind", cat_kind_name(kind));
    cat__ns ns = kind == CAT_KIND_TYPE ? CAT_NS_TYPE : CAT_NS_RELATION;
    if ((rc = name_free(t, ns, schema->ref, op->u.create_item.name, 0, err)) != CC_OK)
        return rc;
    size_t ncol = op->u.create_item.ncolumns, ncon = op->u.create_item.nconstraints;
    Cowcat__Catalog__Column *const *cols = op->u.create_item.columns;
    Cowcat__Catalog__Constraint *const *cons = op->u.create_item.constraints;
    if ((rc = check_columns(cols, ncol, err)) != CC_OK)
        return rc;
    size_t cap = op->u.create_item.nuses + ncol + ncon, nuses = 0;
    cat_ref *uses = cc_malloc(
        (cap ? cap : 1) * (sizeof(cat_ref) + sizeof(void *) + sizeof(Cowcat__Catalog__CatalogId)));
    if (uses == NULL)
        return cc_err_set(err, CC_NOMEM, "out of memory creating \"%s\"", op->u.create_item.name);
    rc = given_uses(t, op->u.create_item.uses, op->u.create_item.nuses, cols, ncol, uses, &nuses,
                    err);
    for (size_t i = 0; i < ncon && rc == CC_OK; i++) {
        if (cons[i] == NULL) {
            rc = cc_err_set(err, CC_INVALID, "constraint %zu is NULL", i + 1);
            break;
        }
        for (size_t j = 0; j < i && rc == CC_OK; j++)
            if (cons[i]->name && *cons[i]->name && cons[j]->name &&
                strcmp(cons[i]->name, cons[j]->name) == 0)
                rc = cc_err_set_state(err, CC_EXISTS, "42710",
                                      "constraint \"%s\" for relation \"%s\" already exists",
                                      cons[i]->name, op->u.create_item.name);
        if (rc == CC_OK &&
            cons[i]->kind == COWCAT__CATALOG__CONSTRAINT_KIND__CONSTRAINT_KIND_FOREIGN_KEY) {
            if (cons[i]->ref_table_opt_case != COWCAT__CATALOG__CONSTRAINT__REF_TABLE_OPT_REF_TABLE)
                rc = cc_err_set(err, CC_INVALID, "foreign key \"%s\" without a referenced table",
                                cons[i]->name ? cons[i]->name : "");
            else if (is_self_ref(cons[i]))
                rc = kind == CAT_KIND_TABLE
                         ? CC_OK
                         : cc_err_set(err, CC_INVALID, "foreign key \"%s\" of a non-table refers to u0",
                                      cons[i]->name ? cons[i]->name : "");
            else if ((rc = need(t, cat_ref_from_id(CAT_CLASS_ITEM, cons[i]->ref_table), K(TABLE),
                                &x, err)) == CC_OK)
                add_use(uses, &nuses, x->ref);
        }
    }
    if (rc == CC_OK && kind == CAT_KIND_INDEX) {
        if (nuses == 0)
            rc = cc_err_set(err, CC_INVALID, "index \"%s\" has no table", op->u.create_item.name);
        else if (!((1u << cat_state_find(&t->work, uses[0])->kind) &
                   (K(TABLE) | K(MATERIALIZED_VIEW))))
            rc = cc_err_set_state(err, CC_INVALID, "42809",
                                  "\"%s\" is not a table or materialized view",
                                  cat_state_find(&t->work, uses[0])->name);
    }
    cat_ref ref = 0;
    uint32_t oid = 0;
    if (rc == CC_OK)
        rc = cat__allocate(t, CAT_CLASS_ITEM, &ref, &oid, err);
    if (rc == CC_OK) {
        Cowcat__Catalog__CatalogId sid, oidm;
        Cowcat__Catalog__CatalogId *ids = (void *)(uses + (cap ? cap : 1));
        Cowcat__Catalog__CatalogId **idp = (void *)(ids + (cap ? cap : 1));
        for (size_t i = 0; i < nuses; i++) {
            cat__ref_to_id(uses[i], &ids[i]);
            idp[i] = &ids[i];
        }
        cat__ref_to_id(schema->ref, &sid);
        cat__ref_to_id(owner, &oidm);
        Cowcat__Catalog__ItemValue v = COWCAT__CATALOG__ITEM_VALUE__INIT;
        v.schema = &sid;
        v.name = (char *)op->u.create_item.name;
        v.kind = cat__kind_item_kind(kind);
        v.create_sql = (char *)op->u.create_item.create_sql;
        v.owner = &oidm;
        v.oid = oid;
        v.n_columns = ncol;
        v.columns = (Cowcat__Catalog__Column **)cols;
        v.n_constraints = ncon;
        v.constraints = (Cowcat__Catalog__Constraint **)cons;
        /* Self-references (u0) are written as the new table's id: the
         * borrowed ids are patched for the encoding and restored to u0. */
        bool self_refs = false;
        for (size_t i = 0; i < ncon; i++)
            self_refs |= cons[i]->kind == FK_KIND && is_self_ref(cons[i]);
        for (size_t i = 0; i < ncon && self_refs; i++)
            if (cons[i]->kind == FK_KIND && cons[i]->ref_table != NULL &&
                !cons[i]->ref_table->system &&
                (cons[i]->ref_table->value == 0 || cons[i]->ref_table->value == cat_ref_value(ref)))
                cons[i]->ref_table->value = cat_ref_value(ref);
        v.n_uses = nuses;
        v.uses = idp;
        const cat_object *o;
        rc = cat__put_object(t, ref, &v.base, &o, err);
        for (size_t i = 0; i < ncon && self_refs; i++)
            if (cons[i]->kind == FK_KIND && cons[i]->ref_table != NULL &&
                !cons[i]->ref_table->system && cons[i]->ref_table->value == cat_ref_value(ref))
                cons[i]->ref_table->value = 0;
        if (rc == CC_OK)
            rc = cat__refs_push(&t->parents, schema->ref, err);
        if (rc == CC_OK)
            rc = cat__audit(t, AUDIT(CREATE), o, err);
    }
    cc_free(uses);
    if (rc == CC_OK && created != NULL)
        *created = ref;
    return rc;
}

static cc_code
create_other(cat_txn *t, const cat_op *op, cat_ref *created, cc_err *err)
{
    cc_code rc = CC_OK;
    cat_ref owner = 0, scope = 0;
    const cat_object *db = NULL;
    cat__ns ns;
    cat_class cls;
    const char *name;
    switch (op->kind) {
    case CAT_OP_CREATE_DATABASE:
        name = op->u.create_database.name;
        ns = CAT_NS_DATABASE;
        cls = CAT_CLASS_DATABASE;
        rc = owner_of(t, op->u.create_database.owner, &owner, err);
        break;
    case CAT_OP_CREATE_SCHEMA:
        name = op->u.create_schema.name;
        ns = CAT_NS_SCHEMA;
        cls = CAT_CLASS_SCHEMA;
        scope = op->u.create_schema.database;
        if (scope != 0)
            rc = need(t, scope, K(DATABASE), &db, err);
        if (rc == CC_OK)
            rc = owner_of(t, op->u.create_schema.owner, &owner, err);
        break;
    case CAT_OP_CREATE_ROLE:
        name = op->u.create_role.name;
        ns = CAT_NS_ROLE;
        cls = CAT_CLASS_ROLE;
        break;
    default:
        name = op->u.create_cluster.name;
        ns = CAT_NS_CLUSTER;
        cls = CAT_CLASS_CLUSTER;
        rc = owner_of(t, op->u.create_cluster.owner, &owner, err);
        break;
    }
    if (rc == CC_OK)
        rc = check_name(name,
                        cat_kind_name(ns == CAT_NS_DATABASE ? CAT_KIND_DATABASE
                                      : ns == CAT_NS_SCHEMA ? CAT_KIND_SCHEMA
                                      : ns == CAT_NS_ROLE   ? CAT_KIND_ROLE
                                                            : CAT_KIND_CLUSTER),
                        err);
    if (rc == CC_OK)
        rc = name_free(t, ns, scope, name, 0, err);
    cat_ref ref = 0;
    uint32_t oid = 0;
    if (rc == CC_OK)
        rc = cat__allocate(t, cls, &ref, cls != CAT_CLASS_CLUSTER ? &oid : NULL, err);
    if (rc != CC_OK)
        return rc;
    Cowcat__Catalog__CatalogId oid_m, db_m;
    cat__ref_to_id(owner, &oid_m);
    const cat_object *o = NULL;
    switch (cls) {
    case CAT_CLASS_DATABASE: {
        Cowcat__Catalog__DatabaseValue v = COWCAT__CATALOG__DATABASE_VALUE__INIT;
        v.name = (char *)name;
        v.owner = &oid_m;
        v.oid = oid;
        rc = cat__put_object(t, ref, &v.base, &o, err);
        break;
    }
    case CAT_CLASS_SCHEMA: {
        Cowcat__Catalog__SchemaValue v = COWCAT__CATALOG__SCHEMA_VALUE__INIT;
        if (db != NULL) {
            cat__ref_to_id(db->ref, &db_m);
            v.database_opt_case = COWCAT__CATALOG__SCHEMA_VALUE__DATABASE_OPT_DATABASE;
            v.database = &db_m;
        }
        v.name = (char *)name;
        v.owner = &oid_m;
        v.oid = oid;
        rc = cat__put_object(t, ref, &v.base, &o, err);
        if (rc == CC_OK && db != NULL)
            rc = cat__refs_push(&t->parents, db->ref, err);
        break;
    }
    case CAT_CLASS_ROLE: {
        Cowcat__Catalog__RoleValue v = COWCAT__CATALOG__ROLE_VALUE__INIT;
        Cowcat__Catalog__RoleAttributes a = COWCAT__CATALOG__ROLE_ATTRIBUTES__INIT;
        if (op->u.create_role.attributes != NULL)
            a = *op->u.create_role.attributes;
        else
            a.inherit = true;
        a.base.descriptor = &cowcat__catalog__role_attributes__descriptor;
        v.name = (char *)name;
        v.attributes = &a;
        v.oid = oid;
        if (op->u.create_role.password != NULL)
            v.password = (char *)op->u.create_role.password;
        rc = cat__put_object(t, ref, &v.base, &o, err);
        break;
    }
    default: {
        Cowcat__Catalog__ClusterValue v = COWCAT__CATALOG__CLUSTER_VALUE__INIT;
        v.name = (char *)name;
        v.owner = &oid_m;
        v.size = (char *)(op->u.create_cluster.size ? op->u.create_cluster.size : "1");
        v.replication_factor =
            op->u.create_cluster.replication_factor ? op->u.create_cluster.replication_factor : 1;
        rc = cat__put_object(t, ref, &v.base, &o, err);
        break;
    }
    }
    if (rc == CC_OK)
        rc = cat__audit(t, AUDIT(CREATE), o, err);
    if (rc == CC_OK && created != NULL)
        *created = ref;
    return rc;
}

cc_code
cat__op_create(cat_txn *t, const cat_op *op, cat_ref *created, cc_err *err)
{
    if (op->kind == CAT_OP_CREATE_ITEM)
        return create_item(t, op, created, err);
    return create_other(t, op, created, err);
}

/* --- the value's name, owner and privileges fields ---------------------------------------- */

/* Pointers to the fields of a decoded object value that alter ops change. */
typedef struct fields {
    char **name;
    Cowcat__Catalog__CatalogId **owner;
    size_t *nacl;
    Cowcat__Catalog__AclItem ***acl;
    char **create_sql; /* items only */
} fields;

static fields
fields_of(cat_class cls, ProtobufCMessage *m)
{
    fields f = {0};
    switch (cls) {
    case CAT_CLASS_DATABASE: {
        Cowcat__Catalog__DatabaseValue *v = (void *)m;
        f = (fields){&v->name, &v->owner, &v->n_privileges, &v->privileges, NULL};
        break;
    }
    case CAT_CLASS_SCHEMA: {
        Cowcat__Catalog__SchemaValue *v = (void *)m;
        f = (fields){&v->name, &v->owner, &v->n_privileges, &v->privileges, NULL};
        break;
    }
    case CAT_CLASS_ITEM: {
        Cowcat__Catalog__ItemValue *v = (void *)m;
        f = (fields){&v->name, &v->owner, &v->n_privileges, &v->privileges, &v->create_sql};
        break;
    }
    case CAT_CLASS_ROLE: {
        Cowcat__Catalog__RoleValue *v = (void *)m;
        f.name = &v->name;
        break;
    }
    case CAT_CLASS_CLUSTER: {
        Cowcat__Catalog__ClusterValue *v = (void *)m;
        f = (fields){&v->name, &v->owner, &v->n_privileges, &v->privileges, NULL};
        break;
    }
    }
    return f;
}

/*
 * Decoded values are freed with protobuf_c_message_free_unpacked, which frees
 * every string and sub-message through the default allocator: a field this
 * file replaces is swapped back before the free, so borrowed strings are
 * never freed and decoded ones never leak.
 */

/* Writes o's value with its create_sql rewritten for renamed -> new_name. */
static cc_code
rewrite_sql(cat_txn *t, const cat_object *target, const cat_object *renamed, const char *new_name,
            const cat_op *op, ProtobufCMessage *m, cc_err *err)
{
    fields f = fields_of(cat_ref_class(target->ref), m);
    if (f.create_sql == NULL || op->u.rename.rewrite == NULL)
        return CC_OK;
    char *out = NULL;
    cc_code rc = op->u.rename.rewrite(op->u.rename.rewrite_arg, &t->work, target, *f.create_sql,
                                      renamed, new_name, &out, err);
    if (rc != CC_OK || out == NULL)
        return rc;
    free(*f.create_sql);
    *f.create_sql = out; /* malloc'd by the callback: freed with the message */
    return CC_OK;
}

static int
collect(void *arg, const cat_object *o)
{
    cc_err e;
    return cat__refs_push(arg, o->ref, &e) == CC_OK ? 0 : 1;
}

static cc_code
op_rename(cat_txn *t, const cat_op *op, cc_err *err)
{
    const cat_object *o = cat_state_find(&t->work, op->u.rename.ref);
    if (o == NULL)
        return cat__not_found(op->u.rename.ref, err);
    if (cat_ref_is_system(o->ref))
        return cc_err_set_state(err, CC_PERMISSION, "42501",
                                "cannot rename %s \"%s\": it is required by the database system",
                                cat_kind_name(o->kind), o->name);
    const char *nn = op->u.rename.new_name;
    cc_code rc = check_name(nn, cat_kind_name(o->kind), err);
    cat_ref scope;
    cat__ns ns = cat__obj_ns(o, &scope);
    /* Renaming to the current name is an error too, as in PostgreSQL. */
    if (rc == CC_OK)
        rc = name_free(t, ns, scope, nn, 0, err);
    if (rc != CC_OK)
        return rc;
    const cat_object *renamed = o; /* the old version: alive until the transaction ends */
    cat__refs deps = {0};
    if (cat_ref_class(o->ref) == CAT_CLASS_ITEM &&
        cat_state_walk_used_by(&t->work, o->ref, collect, &deps) != 0)
        rc = cc_err_set(err, CC_NOMEM, "out of memory renaming \"%s\"", o->name);
    /* A schema's name is in the SQL of its items and of their dependents
     * (anything naming s.x depends on x): O(k) in those, as in PostgreSQL. */
    if (rc == CC_OK && cat_ref_class(o->ref) == CAT_CLASS_SCHEMA) {
        cat__refs items = {0};
        if (cat_state_walk_members(&t->work, o->ref, collect, &items) != 0)
            rc = cc_err_set(err, CC_NOMEM, "out of memory renaming \"%s\"", o->name);
        for (size_t i = 0; i < items.n && rc == CC_OK; i++) {
            rc = cat__refs_push(&deps, items.v[i], err);
            if (rc == CC_OK && cat_state_walk_used_by(&t->work, items.v[i], collect, &deps) != 0)
                rc = cc_err_set(err, CC_NOMEM, "out of memory renaming \"%s\"", o->name);
        }
        cat__refs_fini(&items);
    }
    ProtobufCMessage *m = NULL;
    if (rc == CC_OK)
        rc = cat_object_decode(o, &m, err);
    if (rc == CC_OK)
        rc = rewrite_sql(t, o, renamed, nn, op, m, err);
    if (rc == CC_OK) {
        fields f = fields_of(cat_ref_class(o->ref), m);
        char *old = *f.name;
        *f.name = (char *)nn;
        rc = cat__put_object(t, o->ref, m, &o, err);
        *f.name = old;
    }
    if (m != NULL)
        protobuf_c_message_free_unpacked(m, NULL);
    if (rc == CC_OK)
        rc = cat__audit(t, AUDIT(RENAME), o, err);
    for (size_t i = 0; i < deps.n && rc == CC_OK; i++) {
        const cat_object *d = cat_state_find(&t->work, deps.v[i]);
        if (d == NULL || (rc = cat_object_decode(d, &m, err)) != CC_OK)
            continue;
        char *before = *fields_of(CAT_CLASS_ITEM, m).create_sql;
        rc = rewrite_sql(t, d, renamed, nn, op, m, err);
        if (rc == CC_OK && *fields_of(CAT_CLASS_ITEM, m).create_sql != before)
            rc = cat__put_object(t, d->ref, m, NULL, err);
        protobuf_c_message_free_unpacked(m, NULL);
    }
    cat__refs_fini(&deps);
    return rc;
}

static cc_code
op_comment(cat_txn *t, const cat_op *op, cc_err *err)
{
    const cat_object *o = cat_state_find(&t->work, op->u.comment.ref);
    if (o == NULL)
        return cat__not_found(op->u.comment.ref, err);
    uint32_t col = op->u.comment.column;
    if (col != 0) {
        ProtobufCMessage *m;
        if (cat_ref_class(o->ref) != CAT_CLASS_ITEM)
            return cc_err_set_state(err, CC_INVALID, "42809", "\"%s\" has no columns", o->name);
        cc_code rc = cat_object_decode(o, &m, err);
        if (rc != CC_OK)
            return rc;
        size_t n = ((Cowcat__Catalog__ItemValue *)m)->n_columns;
        protobuf_c_message_free_unpacked(m, NULL);
        if (col > n)
            return cc_err_set_state(err, CC_NOT_FOUND, "42703",
                                    "column %u of relation \"%s\" does not exist", col, o->name);
    }
    cc_code rc = cat__put_comment(t, o, col, op->u.comment.comment, err);
    if (rc == CC_OK)
        rc = cat__audit(t, AUDIT(COMMENT), o, err);
    return rc;
}

static bool
same_id(const Cowcat__Catalog__CatalogId *a, cat_ref r, cat_class cls)
{
    return cat_ref_from_id(cls, a) == r;
}

static cc_code
op_owner(cat_txn *t, const cat_op *op, cc_err *err)
{
    const cat_object *o = cat_state_find(&t->work, op->u.owner.ref), *r = NULL;
    if (o == NULL)
        return cat__not_found(op->u.owner.ref, err);
    cc_code rc = need(t, op->u.owner.new_owner, K(ROLE), &r, err);
    if (rc != CC_OK)
        return rc;
    if (o->kind == CAT_KIND_ROLE)
        return cc_err_set_state(err, CC_INVALID, "42809", "a role has no owner");
    if (o->owner == r->ref)
        return CC_OK;
    ProtobufCMessage *m;
    if ((rc = cat_object_decode(o, &m, err)) != CC_OK)
        return rc;
    fields f = fields_of(cat_ref_class(o->ref), m);
    Cowcat__Catalog__CatalogId id, *old = *f.owner;
    cat__ref_to_id(r->ref, &id);
    *f.owner = &id;
    /*
     * PostgreSQL's aclnewowner: what the old owner granted, or was granted,
     * now belongs to the new owner (items that then coincide are merged), so
     * the old owner no longer appears in the object's privileges.
     */
    size_t n = f.acl != NULL ? *f.nacl : 0, k = 0;
    Cowcat__Catalog__AclItem **items = cc_malloc((n + 1) * sizeof *items);
    Cowcat__Catalog__AclItem *copies = cc_malloc((n + 1) * sizeof *copies);
    if (items == NULL || copies == NULL) {
        cc_free(items);
        cc_free(copies);
        *f.owner = old;
        protobuf_c_message_free_unpacked(m, NULL);
        return cc_err_set(err, CC_NOMEM, "out of memory changing an owner");
    }
    for (size_t i = 0; i < n; i++) {
        Cowcat__Catalog__AclItem a = *(*f.acl)[i];
        if (same_id(a.grantor, o->owner, CAT_CLASS_ROLE))
            a.grantor = &id;
        if (a.grantee != NULL && same_id(a.grantee, o->owner, CAT_CLASS_ROLE))
            a.grantee = &id;
        size_t j = 0;
        while (j < k && !(cat_ref_from_id(CAT_CLASS_ROLE, copies[j].grantee) ==
                              cat_ref_from_id(CAT_CLASS_ROLE, a.grantee) &&
                          cat_ref_from_id(CAT_CLASS_ROLE, copies[j].grantor) ==
                              cat_ref_from_id(CAT_CLASS_ROLE, a.grantor)))
            j++;
        if (j < k) {
            copies[j].acl_mode |= a.acl_mode;
            continue;
        }
        copies[k] = a;
        items[k] = &copies[k];
        k++;
    }
    Cowcat__Catalog__AclItem **old_acl = f.acl != NULL ? *f.acl : NULL;
    if (f.acl != NULL) {
        *f.acl = items;
        *f.nacl = k;
    }
    rc = cat__put_object(t, o->ref, m, &o, err);
    if (f.acl != NULL) {
        *f.acl = old_acl;
        *f.nacl = n;
    }
    cc_free(items);
    cc_free(copies);
    *f.owner = old;
    protobuf_c_message_free_unpacked(m, NULL);
    if (rc == CC_OK)
        rc = cat__audit(t, AUDIT(ALTER), o, err);
    return rc;
}


static cc_code
op_grant(cat_txn *t, const cat_op *op, cc_err *err)
{
    bool grant = op->kind == CAT_OP_GRANT;
    const cat_object *o = cat_state_find(&t->work, op->u.grant.ref), *r = NULL;
    if (o == NULL)
        return cat__not_found(op->u.grant.ref, err);
    if (o->kind == CAT_KIND_ROLE)
        return cc_err_set_state(err, CC_INVALID, "0LP01", "privileges cannot be granted on a role");
    cc_code rc = CC_OK;
    if (op->u.grant.grantee != 0) /* 0: PUBLIC */
        rc = need(t, op->u.grant.grantee, K(ROLE), &r, err);
    cat_ref grantor = op->u.grant.grantor != 0 ? op->u.grant.grantor : o->owner;
    if (rc == CC_OK)
        rc = need(t, grantor, K(ROLE), &r, err);
    ProtobufCMessage *m = NULL;
    if (rc == CC_OK)
        rc = cat_object_decode(o, &m, err);
    if (rc != CC_OK)
        return rc;
    fields f = fields_of(cat_ref_class(o->ref), m);
    size_t n = *f.nacl, found = n;
    for (size_t i = 0; i < n; i++)
        if (same_id((*f.acl)[i]->grantee, op->u.grant.grantee, CAT_CLASS_ROLE) &&
            same_id((*f.acl)[i]->grantor, grantor, CAT_CLASS_ROLE))
            found = i;
    /* The new list: the old items (one changed or removed) plus maybe one. */
    Cowcat__Catalog__AclItem **items = cc_malloc((n + 1) * sizeof *items);
    Cowcat__Catalog__AclItem extra = COWCAT__CATALOG__ACL_ITEM__INIT, changed;
    Cowcat__Catalog__CatalogId ge, gr;
    if (items == NULL) {
        protobuf_c_message_free_unpacked(m, NULL);
        return cc_err_set(err, CC_NOMEM, "out of memory granting privileges");
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (i != found) {
            items[k++] = (*f.acl)[i];
            continue;
        }
        changed = *(*f.acl)[i];
        changed.acl_mode = grant ? changed.acl_mode | op->u.grant.acl_mode
                                 : changed.acl_mode & ~op->u.grant.acl_mode;
        if (changed.acl_mode != 0)
            items[k++] = &changed;
    }
    if (found == n && grant && op->u.grant.acl_mode != 0) {
        cat__ref_to_id(op->u.grant.grantee, &ge);
        cat__ref_to_id(grantor, &gr);
        extra.grantee = &ge;
        extra.grantor = &gr;
        extra.acl_mode = op->u.grant.acl_mode;
        items[k++] = &extra;
    }
    size_t old_n = *f.nacl;
    Cowcat__Catalog__AclItem **old = *f.acl;
    *f.nacl = k;
    *f.acl = items;
    rc = cat__put_object(t, o->ref, m, &o, err);
    *f.nacl = old_n;
    *f.acl = old;
    cc_free(items);
    protobuf_c_message_free_unpacked(m, NULL);
    if (rc == CC_OK)
        rc = cat__audit(t, grant ? AUDIT(GRANT) : AUDIT(REVOKE), o, err);
    return rc;
}

/* --- CREATE OR REPLACE VIEW --------------------------------------------------------------- */

/* A breadth-first walk over the transitive dependents of a view. */
typedef struct reach_ctx {
    const cat__refset *stop; /* the view's new uses: reaching one is a cycle */
    cat__refset seen;        /* dependents reached */
    cat__refs queue;         /* the same, in the order reached (to expand) */
    cat_ref hit;             /* the new use reached, or 0 */
    cc_err *err;
    cc_code rc;
} reach_ctx;

static int
reach(void *arg, const cat_object *o)
{
    reach_ctx *r = arg;
    if (cat__refset_has(&r->seen, o->ref))
        return 0;
    if (cat__refset_has(r->stop, o->ref)) {
        r->hit = o->ref;
        return 1;
    }
    r->rc = cat__refset_add(&r->seen, o->ref, r->err);
    if (r->rc == CC_OK)
        r->rc = cat__refs_push(&r->queue, o->ref, r->err);
    return r->rc != CC_OK;
}

/*
 * Fails with 42P17 if view o would come to depend on itself by using
 * uses[0..n): one of them is o or a transitive dependent of o. O(n + k) for
 * the k dependents walked (the walk stops at the first one reached).
 */
static cc_code
check_no_cycle(const cat_txn *t, const cat_object *o, const cat_ref *uses, size_t n, cc_err *err)
{
    cat__refset stop = {0};
    reach_ctx r = {.stop = &stop, .err = err};
    for (size_t i = 0; i < n && r.rc == CC_OK; i++)
        r.rc = cat__refset_add(&stop, uses[i], err);
    if (r.rc == CC_OK)
        reach(&r, o);
    for (size_t i = 0; i < r.queue.n && r.rc == CC_OK && r.hit == 0; i++)
        cat_state_walk_used_by(&t->work, r.queue.v[i], reach, &r);
    cat__refset_fini(&stop);
    cat__refset_fini(&r.seen);
    cat__refs_fini(&r.queue);
    if (r.rc == CC_OK && r.hit != 0)
        r.rc =
            cc_err_set_state(err, CC_INVALID, "42P17",
                             "infinite recursion detected in rules for relation \"%s\"", o->name);
    return r.rc;
}

static cc_code
op_replace(cat_txn *t, const cat_op *op, cc_err *err)
{
    const cat_object *o = NULL;
    cc_code rc = need(t, op->u.replace_item.ref, K(VIEW), &o, err);
    if (rc != CC_OK)
        return rc;
    if (cat_ref_is_system(o->ref))
        return cc_err_set_state(err, CC_PERMISSION, "42501",
                                "cannot replace %s \"%s\": it is required by the database system",
                                cat_kind_name(o->kind), o->name);
    if (op->u.replace_item.create_sql == NULL || op->u.replace_item.create_sql[0] == '\0')
        return cc_err_set(err, CC_INVALID, "replacing \"%s\": create_sql is empty", o->name);
    size_t ncol = op->u.replace_item.ncolumns;
    Cowcat__Catalog__Column *const *cols = op->u.replace_item.columns;
    if (ncol > 0 && cols == NULL)
        return cc_err_set(err, CC_INVALID, "replacing \"%s\": columns are NULL", o->name);
    if (op->u.replace_item.nuses > 0 && op->u.replace_item.uses == NULL)
        return cc_err_set(err, CC_INVALID, "replacing \"%s\": uses are NULL", o->name);
    if ((rc = check_columns(cols, ncol, err)) != CC_OK)
        return rc;
    size_t cap = op->u.replace_item.nuses + ncol, nuses = 0;
    cap = cap ? cap : 1;
    cat_ref *uses =
        cc_malloc(cap * (sizeof(cat_ref) + sizeof(void *) + sizeof(Cowcat__Catalog__CatalogId)));
    if (uses == NULL)
        return cc_err_set(err, CC_NOMEM, "out of memory replacing \"%s\"", o->name);
    rc = given_uses(t, op->u.replace_item.uses, op->u.replace_item.nuses, cols, ncol, uses, &nuses,
                    err);
    if (rc == CC_OK)
        rc = check_no_cycle(t, o, uses, nuses, err);
    Cowcat__Catalog__ItemValue *v = NULL;
    if (rc == CC_OK)
        rc = cat_object_decode(o, (ProtobufCMessage **)&v, err);
    if (rc == CC_OK) {
        Cowcat__Catalog__CatalogId *ids = (void *)(uses + cap);
        Cowcat__Catalog__CatalogId **idp = (void *)(ids + cap);
        for (size_t i = 0; i < nuses; i++) {
            cat__ref_to_id(uses[i], &ids[i]);
            idp[i] = &ids[i];
        }
        /* The decoded fields are swapped back before the free (see above). */
        Cowcat__Catalog__ItemValue old = *v;
        v->create_sql = (char *)op->u.replace_item.create_sql;
        v->n_columns = ncol;
        v->columns = (Cowcat__Catalog__Column **)cols;
        v->n_uses = nuses;
        v->uses = idp;
        rc = cat__put_object(t, o->ref, &v->base, &o, err);
        v->create_sql = old.create_sql;
        v->n_columns = old.n_columns;
        v->columns = old.columns;
        v->n_uses = old.n_uses;
        v->uses = old.uses;
        protobuf_c_message_free_unpacked(&v->base, NULL);
    }
    cc_free(uses);
    if (rc == CC_OK)
        rc = cat__audit(t, AUDIT(ALTER), o, err);
    return rc;
}

static cc_code
op_config(cat_txn *t, const cat_op *op, cc_err *err)
{
    const char *name = op->u.config.name ? op->u.config.name : "";
    int l = cat__limit_by_name(name);
    if (l < 0)
        return cc_err_set_state(err, CC_NOT_FOUND, "42704",
                                "unrecognized configuration parameter \"%s\"", name);
    const char *v = op->kind == CAT_OP_CONFIG_SET ? op->u.config.value : DUR_DEFAULT_LIMIT;
    if (cat__parse_limit(v) < 0)
        return cc_err_set_state(err, CC_INVALID, "22023",
                                "invalid value for parameter \"%s\": \"%s\"", name, v ? v : "");
    cc_code rc = cat__put_config(t, name, v, err);
    char details[160];
    snprintf(details, sizeof details, "%s = %s", name, v);
    if (rc == CC_OK)
        rc = dur_txn_audit(t->dt, AUDIT(SET), COWCAT__CATALOG__OBJECT_TYPE__OBJECT_TYPE_SYSTEM,
                           details, t->actor.user, t->actor.now_ms, NULL, err);
    return rc;
}

cc_code
cat__op_alter(cat_txn *t, const cat_op *op, cc_err *err)
{
    switch (op->kind) {
    case CAT_OP_RENAME:
        return op_rename(t, op, err);
    case CAT_OP_COMMENT:
        return op_comment(t, op, err);
    case CAT_OP_OWNER:
        return op_owner(t, op, err);
    case CAT_OP_GRANT:
    case CAT_OP_REVOKE:
        return op_grant(t, op, err);
    case CAT_OP_REPLACE_ITEM:
        return op_replace(t, op, err);
    default:
        return op_config(t, op, err);
    }
}
