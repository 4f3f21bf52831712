/*
 * tests/catalog/test_catalog.c — unit tests of the catalog's creates, names
 * and simple alters through cat_transact: the bootstrap objects and refs;
 * creates (databases, schemas, roles, clusters, tables with columns and
 * constraints, views, indexes, types); duplicate names with PostgreSQL's
 * SQLSTATEs and messages; renames (with create_sql rewrites); comments,
 * owners, grants and configuration. Drops, limits and columns are in
 * test_catalog_drop.c; transactions, walks and readers in test_catalog_txn.c.
 * After every failing transaction the fingerprint and the uppers are
 * unchanged; after every successful one cat_check passes (cat_testutil.c).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cat_testutil.h"

static size_t
kind_total(const cat_state *s)
{
    size_t n = 0;
    for (int k = 0; k < CAT_NKIND; k++)
        n += cat_state_count(s, (cat_kind)k);
    return n;
}

/* ---- open, bootstrap, refs ---------------------------------------------------------------- */

Test(cat_open, a_new_catalog_holds_the_bootstrap_objects)
{
    cfix f;
    cfix_open(&f, PERSIST_BACKEND_MEM, NULL);
    const cat_state *s = cst(&f);
    ct_check_state(s, "bootstrap");

    const cat_object *db = cat_state_find_database(s, "cowcat");
    cr_assert_not_null(db);
    cr_assert_eq(db->ref, CT_DB_COWCAT);
    cr_assert_eq(db->kind, CAT_KIND_DATABASE);
    cr_assert_eq(db->owner, CAT_ROLE_COWCAT);
    cr_assert_str_eq(db->name, "cowcat");

    const cat_object *pub = cat_state_find_schema(s, CT_DB_COWCAT, "public");
    cr_assert_not_null(pub);
    cr_assert_eq(pub->ref, CT_SCHEMA_PUBLIC);
    cr_assert_eq(pub->kind, CAT_KIND_SCHEMA);
    cr_assert_eq(pub->parent, CT_DB_COWCAT);
    cr_assert_eq(pub->owner, CAT_ROLE_COWCAT);

    const cat_object *cc = cat_state_find_schema(s, 0, "cowcat_catalog");
    cr_assert_not_null(cc);
    cr_assert_eq(cc->ref, CT_SCHEMA_CATALOG);
    cr_assert_eq(cc->parent, 0, "an ambient schema has no database");
    const cat_object *is = cat_state_find_schema(s, 0, "information_schema");
    cr_assert_not_null(is);
    cr_assert_eq(is->ref, CT_SCHEMA_INFO);
    cr_assert_null(cat_state_find_schema(s, CT_DB_COWCAT, "cowcat_catalog"),
                   "ambient schemas are not in a database's namespace");
    cr_assert_null(cat_state_find_schema(s, 0, "public"));

    const cat_object *r = cat_state_find_role(s, "cowcat");
    cr_assert_not_null(r);
    cr_assert_eq(r->ref, CAT_ROLE_COWCAT);
    cr_assert_eq(r->kind, CAT_KIND_ROLE);
    const cat_object *sys = cat_state_find_role(s, "cowcat_system");
    cr_assert_not_null(sys);
    cr_assert_eq(sys->ref, CAT_ROLE_SYSTEM);
    const cat_object *cl = cat_state_find_cluster(s, "default");
    cr_assert_not_null(cl);
    cr_assert_eq(cl->ref, CT_CLUSTER_DEFAULT);
    cr_assert_eq(cl->kind, CAT_KIND_CLUSTER);

    cr_assert_eq(cat_state_count(s, CAT_KIND_DATABASE), 1);
    cr_assert_eq(cat_state_count(s, CAT_KIND_SCHEMA), CT_BOOTSTRAP_SCHEMAS);
    cr_assert_eq(cat_state_count(s, CAT_KIND_ROLE), CT_BOOTSTRAP_ROLES);
    cr_assert_eq(cat_state_count(s, CAT_KIND_CLUSTER), 1);
    for (cat_kind k = CAT_KIND_TABLE; k <= CAT_KIND_TYPE; k++)
        cr_assert_eq(cat_state_count(s, k), 0, "no %s at bootstrap", cat_kind_name(k));
    cr_assert_eq(cat_state_count_members(s, CT_DB_COWCAT), 1);
    cr_assert_eq(cat_state_count_members(s, CT_SCHEMA_PUBLIC), 0);

    cr_assert_eq(cat_state_limit(s, CAT_LIMIT_TABLES), 10000000);
    cr_assert_str_eq(cat_limit_name(CAT_LIMIT_TABLES), "max_tables");
    cr_assert_str_eq(cat_limit_name(CAT_LIMIT_SCHEMAS_PER_DATABASE), "max_schemas_per_database");
    cr_assert_str_eq(cat_state_config(s, "max_tables"), DUR_DEFAULT_LIMIT);
    cr_assert_null(cat_state_config(s, "no_such_setting"));
    cr_assert_eq(cat_state_upper(s), dur_upper(f.dur));

    /* every object with an OID is found by it */
    const cat_object *with_oid[] = {db, pub, cc, is, r, sys};
    for (size_t i = 0; i < sizeof with_oid / sizeof *with_oid; i++) {
        cr_assert_neq(with_oid[i]->oid, 0, "%s has an OID", with_oid[i]->name);
        const cat_object *o = cat_state_find_oid(s, with_oid[i]->oid);
        cr_assert_not_null(o, "oid %u", with_oid[i]->oid);
        cr_assert_eq(o->ref, with_oid[i]->ref);
    }
    cr_assert_eq(cat_state_find(s, CAT_ROLE_SYSTEM)->oid, 10);

    ct_refs l = {0};
    cr_assert_eq(cat_state_walk_all(s, ct_collect, &l), 0);
    size_t all = l.n;
    for (size_t i = 0; i < l.n; i++)
        cr_assert_not_null(cat_state_find(s, l.r[i]), "walk_all gave a ref find misses");
    ct_refs_free(&l);
    cr_assert_eq(all, kind_total(s), "walk_all visits every counted object");
    cfix_close(&f);
}

Test(cat_ref, refs_encode_class_system_flag_and_id_and_print_like_catalog_ids)
{
    char buf[24];
    cat_ref r = cat_ref_make(CAT_CLASS_SCHEMA, true, 2);
    cr_assert_eq(cat_ref_class(r), CAT_CLASS_SCHEMA);
    cr_assert(cat_ref_is_system(r));
    cr_assert_eq(cat_ref_value(r), 2);
    cr_assert_str_eq(cat_ref_str(r, buf), "s2");
    cr_assert_str_eq(cat_ref_str(CAT_ROLE_COWCAT, buf), "u1");
    Cowcat__Catalog__CatalogId id = COWCAT__CATALOG__CATALOG_ID__INIT;
    id.system = true;
    id.value = 2;
    cr_assert_eq(cat_ref_from_id(CAT_CLASS_SCHEMA, &id), r);
    cr_assert_eq(cat_ref_from_id(CAT_CLASS_SCHEMA, NULL), 0);
    /* order: class, then system, then id */
    cr_assert_lt(cat_ref_make(CAT_CLASS_DATABASE, true, 99),
                 cat_ref_make(CAT_CLASS_SCHEMA, false, 1));
    cr_assert_lt(cat_ref_make(CAT_CLASS_ITEM, false, 99), cat_ref_make(CAT_CLASS_ITEM, true, 1));
    cr_assert_str_eq(cat_kind_name(CAT_KIND_TABLE), "table");
    cr_assert_str_eq(cat_kind_name(CAT_KIND_MATERIALIZED_VIEW), "materialized view");
}

/* ---- creates ------------------------------------------------------------------------------------
 */

Test(cat_create, a_table_is_found_by_name_and_oid_with_its_columns_and_constraints)
{
    cfix f;
    cfix_open(&f, PERSIST_BACKEND_MEM, NULL);
    ct_cols cols;
    ct_cols_init(&cols, 3);
    Cowcat__Catalog__Constraint pk = COWCAT__CATALOG__CONSTRAINT__INIT;
    char *pkcols[] = {"c1"};
    pk.name = "t_pkey";
    pk.kind = COWCAT__CATALOG__CONSTRAINT_KIND__CONSTRAINT_KIND_PRIMARY_KEY;
    pk.n_columns = 1;
    pk.columns = pkcols;
    Cowcat__Catalog__Constraint *cons[] = {&pk};
    cat_op op = ct_op_table(CT_SCHEMA_PUBLIC, "t", &cols);
    op.u.create_item.nconstraints = 1;
    op.u.create_item.constraints = cons;
    op.u.create_item.create_sql = "CREATE TABLE t (c1 int4 PRIMARY KEY, c2 int4, c3 int4)";
    uint64_t upper0 = dur_upper(f.dur);
    uint64_t owned0 = cat_state_count_owned(cst(&f), CAT_ROLE_COWCAT);
    cat_ref t = ct_ok1(f.cat, op);
    cr_assert_eq(dur_upper(f.dur), upper0 + 1, "one commit, one append");

    const cat_state *s = cst(&f);
    const cat_object *o = cat_state_find_relation(s, CT_SCHEMA_PUBLIC, "t");
    cr_assert_not_null(o);
    cr_assert_eq(o->ref, t);
    cr_assert_eq(o->kind, CAT_KIND_TABLE);
    cr_assert_str_eq(o->name, "t");
    cr_assert_eq(o->parent, CT_SCHEMA_PUBLIC);
    cr_assert_eq(o->owner, CAT_ROLE_COWCAT);
    cr_assert_geq(o->oid, DUR_FIRST_USER_OID);
    cr_assert_eq(o->nuses, 0);
    cr_assert_eq(cat_state_find(s, t)->ref, t);
    cr_assert_eq(cat_state_find_oid(s, o->oid)->ref, t);
    cr_assert_null(cat_state_find_type(s, CT_SCHEMA_PUBLIC, "t"));
    cr_assert_null(cat_state_find_relation(s, CT_SCHEMA_CATALOG, "t"));
    char q[64];
    cr_assert_str_eq(cat_state_qualified_name(s, o, q, sizeof q), "public.t");

    Cowcat__Catalog__ItemValue *v = ct_item_value(o);
    cr_assert_str_eq(v->name, "t");
    cr_assert_eq(v->kind, COWCAT__CATALOG__ITEM_KIND__ITEM_KIND_TABLE);
    cr_assert_str_eq(v->create_sql, "CREATE TABLE t (c1 int4 PRIMARY KEY, c2 int4, c3 int4)");
    cr_assert_eq(v->oid, o->oid);
    cr_assert_eq(v->n_columns, 3);
    cr_assert_str_eq(v->columns[1]->name, "c2");
    cr_assert_str_eq(v->columns[1]->type_name, "int4");
    cr_assert_eq(v->columns[1]->typmod, -1);
    cr_assert(v->columns[1]->nullable);
    cr_assert_eq(v->n_constraints, 1);
    cr_assert_str_eq(v->constraints[0]->name, "t_pkey");
    cr_assert_eq(v->constraints[0]->kind,
                 COWCAT__CATALOG__CONSTRAINT_KIND__CONSTRAINT_KIND_PRIMARY_KEY);
    cr_assert_not_null(v->schema);
    cr_assert_eq(v->schema->value, cat_ref_value(CT_SCHEMA_PUBLIC));
    protobuf_c_message_free_unpacked(&v->base, NULL);

    cr_assert_eq(cat_state_count(s, CAT_KIND_TABLE), 1);
    cr_assert_eq(cat_state_count_members(s, CT_SCHEMA_PUBLIC), 1);
    ct_refs m = ct_members(s, CT_SCHEMA_PUBLIC);
    ct_expect_refs(&m, &t, 1, "members of public");
    ct_refs_free(&m);
    cr_assert_eq(cat_state_count_owned(s, CAT_ROLE_COWCAT), owned0 + 1, "cowcat owns the table");
    cc_err err;
    cr_assert_eq(cat_check_ids(s, &t, 1, &err), CC_OK, "%s", err.msg);
    cfix_close(&f);
}

Test(cat_create, a_view_records_what_it_uses_and_each_used_relation_counts_it)
{
    cfix f;
    cfix_open(&f, PERSIST_BACKEND_MEM, NULL);
    cat_ref t = ct_table(f.cat, CT_SCHEMA_PUBLIC, "t", 2);
    cat_ref u = ct_table(f.cat, CT_SCHEMA_PUBLIC, "u", 1);
    cat_ref tu[] = {t, u};
    cat_ref v = ct_view(f.cat, CT_SCHEMA_PUBLIC, "v", tu, 2);
    cat_ref w = ct_view(f.cat, CT_SCHEMA_PUBLIC, "w", &v, 1);
    cat_ref mv =
        ct_ok1(f.cat, ct_op_item(CAT_KIND_MATERIALIZED_VIEW, CT_SCHEMA_PUBLIC, "mv", &t, 1));
    const cat_state *s = cst(&f);

    const cat_object *o = cat_state_find_relation(s, CT_SCHEMA_PUBLIC, "v");
    cr_assert_not_null(o);
    cr_assert_eq(o->ref, v);
    cr_assert_eq(o->kind, CAT_KIND_VIEW);
    cr_assert_eq(o->nuses, 2);
    cr_assert((o->uses[0] == t && o->uses[1] == u) || (o->uses[0] == u && o->uses[1] == t));
    cr_assert_eq(cat_state_find_relation(s, CT_SCHEMA_PUBLIC, "mv")->kind,
                 CAT_KIND_MATERIALIZED_VIEW);

    cr_assert_eq(cat_state_count_used_by(s, t), 2);
    cr_assert_eq(cat_state_count_used_by(s, u), 1);
    cr_assert_eq(cat_state_count_used_by(s, v), 1);
    cr_assert_eq(cat_state_count_used_by(s, w), 0);
    ct_refs l = ct_used_by(s, t);
    cat_ref want_t[] = {v, mv};
    ct_expect_refs(&l, want_t, 2, "users of t");
    ct_refs_free(&l);
    l = ct_used_by(s, v);
    ct_expect_refs(&l, &w, 1, "users of v");
    ct_refs_free(&l);

    Cowcat__Catalog__ItemValue *val = ct_item_value(o);
    cr_assert_eq(val->n_uses, 2);
    protobuf_c_message_free_unpacked(&val->base, NULL);
    cr_assert_eq(cat_state_count(s, CAT_KIND_VIEW), 2);
    cr_assert_eq(cat_state_count(s, CAT_KIND_MATERIALIZED_VIEW), 1);
    cr_assert_eq(cat_state_count_members(s, CT_SCHEMA_PUBLIC), 5);
    cfix_close(&f);
}

Test(cat_create, an_index_uses_its_table)
{
    cfix f;
    cfix_open(&f, PERSIST_BACKEND_MEM, NULL);
    cat_ref t = ct_table(f.cat, CT_SCHEMA_PUBLIC, "t", 2);
    cat_ref i = ct_index(f.cat, CT_SCHEMA_PUBLIC, "t_c1_idx", t);
    const cat_state *s = cst(&f);
    const cat_object *o = cat_state_find_relation(s, CT_SCHEMA_PUBLIC, "t_c1_idx");
    cr_assert_not_null(o);
    cr_assert_eq(o->ref, i);
    cr_assert_eq(o->kind, CAT_KIND_INDEX);
    cr_assert_eq(o->nuses, 1);
    cr_assert_eq(o->uses[0], t);
    cr_assert_eq(cat_state_count(s, CAT_KIND_INDEX), 1);
    cr_assert_eq(cat_state_count_used_by(s, t), 1);
    cfix_close(&f);
}

Test(cat_create, a_type_lives_in_the_type_namespace_and_a_column_of_it_uses_it)
{
    cfix f;
    cfix_open(&f, PERSIST_BACKEND_MEM, NULL);
    cat_ref mood = ct_ok1(f.cat, ct_op_item(CAT_KIND_TYPE, CT_SCHEMA_PUBLIC, "mood", NULL, 0));
    const cat_state *s = cst(&f);
    const cat_object *o = cat_state_find_type(s, CT_SCHEMA_PUBLIC, "mood");
    cr_assert_not_null(o);
    cr_assert_eq(o->ref, mood);
    cr_assert_eq(o->kind, CAT_KIND_TYPE);
    cr_assert_null(cat_state_find_relation(s, CT_SCHEMA_PUBLIC, "mood"));
    cr_assert_eq(cat_state_count(s, CAT_KIND_TYPE), 1);

    /* a table with a column of the type */
    ct_cols cols;
    ct_cols_init(&cols, 2);
    Cowcat__Catalog__CatalogId tid = COWCAT__CATALOG__CATALOG_ID__INIT;
    tid.value = cat_ref_value(mood);
    cols.col[1].type_name = "mood";
    cols.col[1].type_ref_opt_case = COWCAT__CATALOG__COLUMN__TYPE_REF_OPT_TYPE_REF;
    cols.col[1].type_ref = &tid;
    cat_op op = ct_op_table(CT_SCHEMA_PUBLIC, "person", &cols);
    op.u.create_item.nuses = 1;
    op.u.create_item.uses = &mood;
    cat_ref person = ct_ok1(f.cat, op);
    s = cst(&f);
    cr_assert_eq(cat_state_count_used_by(s, mood), 1);

    /* RESTRICT refuses; CASCADE drops the column, not the table */
    cc_err err;
    ct_fail1(f.cat, ct_op_drop(&mood, 1, CAT_DROP_RESTRICT), CC_DEPENDENTS, "2BP01", NULL, &err);
    ct_ok1(f.cat, ct_op_drop(&mood, 1, CAT_DROP_CASCADE));
    s = cst(&f);
    cr_assert_null(cat_state_find(s, mood));
    const cat_object *p = cat_state_find(s, person);
    cr_assert_not_null(p, "the table survives the drop of a type one column uses");
    cr_assert_eq(p->nuses, 0);
    Cowcat__Catalog__ItemValue *v = ct_item_value(p);
    cr_assert_eq(v->n_columns, 1, "the column of the dropped type is dropped");
    cr_assert_str_eq(v->columns[0]->name, "c1");
    protobuf_c_message_free_unpacked(&v->base, NULL);
    cfix_close(&f);
}

Test(cat_create, databases_schemas_roles_and_clusters_get_refs_of_their_class)
{
    cfix f;
    cfix_open(&f, PERSIST_BACKEND_MEM, NULL);
    cat_ref d = ct_ok1(f.cat, ct_op_database("d"));
    cr_assert_eq(cat_ref_class(d), CAT_CLASS_DATABASE);
    cr_assert_not(cat_ref_is_system(d));
    cat_ref sd = ct_ok1(f.cat, ct_op_schema(d, "s"));
    cat_ref pd = ct_ok1(f.cat, ct_op_schema(d, "public")); /* another database's namespace */
    cat_ref r = ct_ok1(f.cat, ct_op_role("r"));
    cat_ref c = ct_ok1(f.cat, ct_op_cluster("c"));
    cr_assert_eq(cat_ref_class(sd), CAT_CLASS_SCHEMA);
    cr_assert_eq(cat_ref_class(r), CAT_CLASS_ROLE);
    cr_assert_eq(cat_ref_class(c), CAT_CLASS_CLUSTER);
    cr_assert_neq(pd, CT_SCHEMA_PUBLIC);

    const cat_state *s = cst(&f);
    const cat_object *o = cat_state_find_database(s, "d");
    cr_assert_not_null(o);
    cr_assert_eq(o->ref, d);
    cr_assert_eq(o->kind, CAT_KIND_DATABASE);
    cr_assert_eq(o->owner, CAT_ROLE_COWCAT);
    cr_assert_eq(cat_state_find_oid(s, o->oid)->ref, d);
    o = cat_state_find_schema(s, d, "s");
    cr_assert_not_null(o);
    cr_assert_eq(o->ref, sd);
    cr_assert_eq(o->parent, d);
    cr_assert_eq(cat_state_find_schema(s, d, "public")->ref, pd);
    cr_assert_eq(cat_state_find_schema(s, CT_DB_COWCAT, "public")->ref, CT_SCHEMA_PUBLIC);
    cr_assert_null(cat_state_find_schema(s, CT_DB_COWCAT, "s"));
    o = cat_state_find_role(s, "r");
    cr_assert_not_null(o);
    cr_assert_eq(o->ref, r);
    cr_assert_eq(o->kind, CAT_KIND_ROLE);
    cr_assert_eq(o->owner, 0, "roles have no owner");
    cr_assert_eq(cat_state_find_oid(s, o->oid)->ref, r);
    o = cat_state_find_cluster(s, "c");
    cr_assert_not_null(o);
    cr_assert_eq(o->ref, c);
    cr_assert_eq(o->kind, CAT_KIND_CLUSTER);
    cr_assert_eq(o->oid, 0, "clusters have no OID");

    cr_assert_eq(cat_state_count(s, CAT_KIND_DATABASE), 2);
    cr_assert_eq(cat_state_count(s, CAT_KIND_SCHEMA), CT_BOOTSTRAP_SCHEMAS + 2);
    cr_assert_eq(cat_state_count(s, CAT_KIND_ROLE), CT_BOOTSTRAP_ROLES + 1);
    cr_assert_eq(cat_state_count(s, CAT_KIND_CLUSTER), 2);
    cr_assert_eq(cat_state_count_members(s, d), 2);
    ct_refs m = ct_members(s, d);
    cat_ref want[] = {sd, pd};
    ct_expect_refs(&m, want, 2, "schemas of d");
    ct_refs_free(&m);

    cat_ref t = ct_table(f.cat, sd, "t", 1);
    s = cst(&f);
    char q[64];
    cr_assert_str_eq(cat_state_qualified_name(s, cat_state_find(s, t), q, sizeof q), "s.t");
    cr_assert_str_eq(cat_state_qualified_name(s, cat_state_find(s, d), q, sizeof q), "d");
    cfix_close(&f);
}

Test(cat_create, an_item_in_a_missing_schema_or_using_a_missing_object_fails)
{
    cfix f;
    cfix_open(&f, PERSIST_BACKEND_MEM, NULL);
    cat_ref nowhere = cat_ref_make(CAT_CLASS_SCHEMA, false, 999);
    ct_fail1(f.cat, ct_op_table(nowhere, "t", NULL), CC_NOT_FOUND, "3F000", NULL, NULL);
    cat_ref ghost = cat_ref_make(CAT_CLASS_ITEM, false, 999);
    cc_err err;
    ct_fail1(f.cat, ct_op_item(CAT_KIND_VIEW, CT_SCHEMA_PUBLIC, "v", &ghost, 1), CC_NOT_FOUND, NULL,
             NULL, &err);
    ct_fail1(f.cat, ct_op_schema(cat_ref_make(CAT_CLASS_DATABASE, false, 999), "s"), CC_NOT_FOUND,
             "3D000", NULL, NULL);
    /* an item's schema must be a schema */
    cat_ref t = ct_table(f.cat, CT_SCHEMA_PUBLIC, "t", 1);
    cat_op bad = ct_op_table(t, "x", NULL);
    cat_ref created;
    cr_assert_neq(cat_transact(f.cat, NULL, &bad, 1, &created, &err), CC_OK,
                  "a table cannot be the schema of another item");
    ct_check_state(cst(&f), "after a bad schema ref");
    cr_assert_null(cat_state_find_relation(cst(&f), t, "x"));
    cfix_close(&f);
}

/* ---- duplicate names --------------------------------------------------------------------------
 */

Test(cat_dup, a_duplicate_relation_fails_with_42P07_naming_it_qualified)
{
    cfix f;
    cfix_open(&f, PERSIST_BACKEND_MEM, NULL);
    cat_ref t = ct_table(f.cat, CT_SCHEMA_PUBLIC, "t", 1);
    const char *msg = "relation \"public.t\" already exists";
    ct_fail1(f.cat, ct_op_table(CT_SCHEMA_PUBLIC, "t", NULL), CC_EXISTS, "42P07", msg, NULL);
    ct_fail1(f.cat, ct_op_item(CAT_KIND_VIEW, CT_SCHEMA_PUBLIC, "t", &t, 1), CC_EXISTS, "42P07",
             msg, NULL);
    ct_fail1(f.cat, ct_op_item(CAT_KIND_INDEX, CT_SCHEMA_PUBLIC, "t", &t, 1), CC_EXISTS, "42P07",
             msg, NULL);
    /* the same name in another schema is another relation */
    cat_ref s = ct_ok1(f.cat, ct_op_schema(CT_DB_COWCAT, "s"));
    cat_ref t2 = ct_table(f.cat, s, "t", 1);
    cr_assert_neq(t2, t);
    ct_fail1(f.cat, ct_op_table(s, "t", NULL), CC_EXISTS, "42P07",
             "relation \"s.t\" already exists", NULL);
    cr_assert_eq(cat_state_count(cst(&f), CAT_KIND_TABLE), 2);
    cfix_close(&f);
}

Test(cat_dup, a_duplicate_within_one_transaction_fails_and_creates_neither)
{
    cfix f;
    cfix_open(&f, PERSIST_BACKEND_MEM, NULL);
    cat_op ops[] = {ct_op_table(CT_SCHEMA_PUBLIC, "x", NULL),
                    ct_op_table(CT_SCHEMA_PUBLIC, "y", NULL),
                    ct_op_table(CT_SCHEMA_PUBLIC, "x", NULL)};
    ct_fail(f.cat, ops, 3, CC_EXISTS, "42P07", "relation \"public.x\" already exists", NULL);
    cr_assert_null(cat_state_find_relation(cst(&f), CT_SCHEMA_PUBLIC, "x"));
    cr_assert_null(cat_state_find_relation(cst(&f), CT_SCHEMA_PUBLIC, "y"));
    cr_assert_eq(cat_state_count(cst(&f), CAT_KIND_TABLE), 0);
    /* the catalog still works afterwards */
    ct_ok(f.cat, ops, 2, NULL);
    cr_assert_eq(cat_state_count(cst(&f), CAT_KIND_TABLE), 2);
    cfix_close(&f);
}

Test(cat_dup, a_duplicate_schema_fails_with_42P06)
{
    cfix f;
    cfix_open(&f, PERSIST_BACKEND_MEM, NULL);
    ct_ok1(f.cat, ct_op_schema(CT_DB_COWCAT, "s"));
    ct_fail1(f.cat, ct_op_schema(CT_DB_COWCAT, "s"), CC_EXISTS, "42P06",
             "schema \"s\" already exists", NULL);
    ct_fail1(f.cat, ct_op_schema(CT_DB_COWCAT, "public"), CC_EXISTS, "42P06",
             "schema \"public\" already exists", NULL);
    ct_fail1(f.cat, ct_op_schema(0, "information_schema"), CC_EXISTS, "42P06",
             "schema \"information_schema\" already exists", NULL);
    cfix_close(&f);
}

Test(cat_dup, a_duplicate_database_fails_with_42P04)
{
    cfix f;
    cfix_open(&f, PERSIST_BACKEND_MEM, NULL);
    ct_fail1(f.cat, ct_op_database("cowcat"), CC_EXISTS, "42P04",
             "database \"cowcat\" already exists", NULL);
    ct_ok1(f.cat, ct_op_database("d"));
    ct_fail1(f.cat, ct_op_database("d"), CC_EXISTS, "42P04", "database \"d\" already exists", NULL);
    cfix_close(&f);
}

Test(cat_dup, a_duplicate_role_or_cluster_fails_with_42710)
{
    cfix f;
    cfix_open(&f, PERSIST_BACKEND_MEM, NULL);
    ct_fail1(f.cat, ct_op_role("cowcat"), CC_EXISTS, "42710", "role \"cowcat\" already exists",
             NULL);
    ct_ok1(f.cat, ct_op_role("r"));
    ct_fail1(f.cat, ct_op_role("r"), CC_EXISTS, "42710", "role \"r\" already exists", NULL);
    ct_fail1(f.cat, ct_op_cluster("default"), CC_EXISTS, "42710",
             "cluster \"default\" already exists", NULL);
    cr_assert_eq(cat_state_count(cst(&f), CAT_KIND_ROLE), CT_BOOTSTRAP_ROLES + 1);
    cfix_close(&f);
}

Test(cat_dup, a_duplicate_type_fails_with_42710)
{
    cfix f;
    cfix_open(&f, PERSIST_BACKEND_MEM, NULL);
    ct_ok1(f.cat, ct_op_item(CAT_KIND_TYPE, CT_SCHEMA_PUBLIC, "mood", NULL, 0));
    cc_err err;
    ct_fail1(f.cat, ct_op_item(CAT_KIND_TYPE, CT_SCHEMA_PUBLIC, "mood", NULL, 0), CC_EXISTS,
             "42710", NULL, &err);
    cr_assert(strstr(err.msg, "mood") != NULL, "names the type: %s", err.msg);
    cfix_close(&f);
}

/* ---- renames ----------------------------------------------------------------------------------
 */

Test(cat_rename, renaming_a_table_moves_its_name_and_keeps_ref_oid_and_dependents)
{
    cfix f;
    cfix_open(&f, PERSIST_BACKEND_MEM, NULL);
    cat_ref t = ct_table(f.cat, CT_SCHEMA_PUBLIC, "t", 1);
    cat_ref v = ct_view(f.cat, CT_SCHEMA_PUBLIC, "v", &t, 1);
    uint32_t oid = cat_state_find(cst(&f), t)->oid;
    ct_ok1(f.cat, ct_op_rename(t, "t2"));
    const cat_state *s = cst(&f);
    cr_assert_null(cat_state_find_relation(s, CT_SCHEMA_PUBLIC, "t"));
    const cat_object *o = cat_state_find_relation(s, CT_SCHEMA_PUBLIC, "t2");
    cr_assert_not_null(o);
    cr_assert_eq(o->ref, t);
    cr_assert_eq(o->oid, oid);
    cr_assert_str_eq(o->name, "t2");
    cr_assert_str_eq(cat_state_find(s, t)->name, "t2");
    cr_assert_eq(cat_state_find_oid(s, oid)->ref, t);
    ct_refs l = ct_used_by(s, t);
    ct_expect_refs(&l, &v, 1, "users of the renamed table");
    ct_refs_free(&l);
    Cowcat__Catalog__ItemValue *val = ct_item_value(o);
    cr_assert_str_eq(val->name, "t2");
    protobuf_c_message_free_unpacked(&val->base, NULL);
    char q[64];
    cr_assert_str_eq(cat_state_qualified_name(s, o, q, sizeof q), "public.t2");
    cr_assert_eq(cat_state_count(s, CAT_KIND_TABLE), 1);
    /* the old name is free */
    ct_table(f.cat, CT_SCHEMA_PUBLIC, "t", 1);
    cr_assert_eq(cat_state_count(cst(&f), CAT_KIND_TABLE), 2);
    cfix_close(&f);
}

Test(cat_rename, renaming_onto_an_existing_relation_fails_with_42P07)
{
    cfix f;
    cfix_open(&f, PERSIST_BACKEND_MEM, NULL);
    cat_ref a = ct_table(f.cat, CT_SCHEMA_PUBLIC, "a", 1);
    ct_table(f.cat, CT_SCHEMA_PUBLIC, "b", 1);
    ct_index(f.cat, CT_SCHEMA_PUBLIC, "a_idx", a);
    ct_fail1(f.cat, ct_op_rename(a, "b"), CC_EXISTS, "42P07",
             "relation \"public.b\" already exists", NULL);
    ct_fail1(f.cat, ct_op_rename(a, "a_idx"), CC_EXISTS, "42P07",
             "relation \"public.a_idx\" already exists", NULL);
    cr_assert_eq(cat_state_find_relation(cst(&f), CT_SCHEMA_PUBLIC, "a")->ref, a);
    cfix_close(&f);
}

Test(cat_rename, renames_in_one_transaction_can_swap_two_names)
{
    cfix f;
    cfix_open(&f, PERSIST_BACKEND_MEM, NULL);
    cat_ref a = ct_table(f.cat, CT_SCHEMA_PUBLIC, "a", 1);
    cat_ref b = ct_table(f.cat, CT_SCHEMA_PUBLIC, "b", 1);
    cat_op ops[] = {ct_op_rename(a, "tmp"), ct_op_rename(b, "a"), ct_op_rename(a, "b")};
    ct_ok(f.cat, ops, 3, NULL);
    const cat_state *s = cst(&f);
    cr_assert_eq(cat_state_find_relation(s, CT_SCHEMA_PUBLIC, "a")->ref, b);
    cr_assert_eq(cat_state_find_relation(s, CT_SCHEMA_PUBLIC, "b")->ref, a);
    cr_assert_null(cat_state_find_relation(s, CT_SCHEMA_PUBLIC, "tmp"));
    cfix_close(&f);
}

typedef struct rewrites {
    int calls;
    cat_ref targets[8];
    char renamed_name[32];
} rewrites;

static cc_code
append_new_name(void *arg, const cat_state *s, const cat_object *target, const char *sql,
                const cat_object *renamed, const char *new_name, char **out, cc_err *err)
{
    rewrites *rw = arg;
    (void)s;
    (void)err;
    if (rw->calls < 8)
        rw->targets[rw->calls] = target->ref;
    rw->calls++;
    snprintf(rw->renamed_name, sizeof rw->renamed_name, "%s", renamed->name);
    size_t n = strlen(sql) + strlen(new_name) + 8;
    *out = malloc(n);
    if (*out == NULL)
        return CC_NOMEM;
    snprintf(*out, n, "%s -- %s", sql, new_name);
    return CC_OK;
}

static char *
create_sql_of(const cat_state *s, cat_ref r)
{
    Cowcat__Catalog__ItemValue *v = ct_item_value(cat_state_find(s, r));
    char *sql = strdup(v->create_sql);
    protobuf_c_message_free_unpacked(&v->base, NULL);
    return sql;
}

Test(cat_rename, rename_rewrites_the_create_sql_of_the_item_and_its_direct_dependents)
{
    cfix f;
    cfix_open(&f, PERSIST_BACKEND_MEM, NULL);
    cat_ref t = ct_table(f.cat, CT_SCHEMA_PUBLIC, "t", 1);
    cat_ref v = ct_view(f.cat, CT_SCHEMA_PUBLIC, "v", &t, 1);
    cat_ref w = ct_view(f.cat, CT_SCHEMA_PUBLIC, "w", &v, 1);
    rewrites rw;
    memset(&rw, 0, sizeof rw);
    cat_op op = ct_op_rename(t, "t2");
    op.u.rename.rewrite = append_new_name;
    op.u.rename.rewrite_arg = &rw;
    ct_ok1(f.cat, op);
    cr_assert_eq(rw.calls, 2, "the table and its one direct dependent");
    cr_assert_str_eq(rw.renamed_name, "t", "the callback sees the old name");
    const cat_state *s = cst(&f);
    char *sql = create_sql_of(s, t);
    cr_assert_str_eq(sql, "CREATE TABLE x (c1 int4) -- t2");
    free(sql);
    sql = create_sql_of(s, v);
    cr_assert_str_eq(sql, "CREATE VIEW x AS SELECT 1 -- t2");
    free(sql);
    sql = create_sql_of(s, w);
    cr_assert_str_eq(sql, "CREATE VIEW x AS SELECT 1", "an indirect dependent is not rewritten");
    free(sql);
    /* without a callback the statement is kept */
    ct_ok1(f.cat, ct_op_rename(w, "w2"));
    sql = create_sql_of(cst(&f), w);
    cr_assert_str_eq(sql, "CREATE VIEW x AS SELECT 1");
    free(sql);
    cfix_close(&f);
}

Test(cat_rename, schemas_databases_roles_and_clusters_can_be_renamed)
{
    cfix f;
    cfix_open(&f, PERSIST_BACKEND_MEM, NULL);
    cat_ref s = ct_ok1(f.cat, ct_op_schema(CT_DB_COWCAT, "s"));
    cat_ref t = ct_table(f.cat, s, "t", 1);
    cat_ref d = ct_ok1(f.cat, ct_op_database("d"));
    cat_ref r = ct_ok1(f.cat, ct_op_role("r"));
    cat_ref c = ct_ok1(f.cat, ct_op_cluster("c"));
    cat_op ops[] = {ct_op_rename(s, "s2"), ct_op_rename(d, "d2"), ct_op_rename(r, "r2"),
                    ct_op_rename(c, "c2")};
    ct_ok(f.cat, ops, 4, NULL);
    const cat_state *st = cst(&f);
    cr_assert_null(cat_state_find_schema(st, CT_DB_COWCAT, "s"));
    cr_assert_eq(cat_state_find_schema(st, CT_DB_COWCAT, "s2")->ref, s);
    cr_assert_eq(cat_state_find_relation(st, s, "t")->ref, t, "members stay with the schema");
    char q[64];
    cr_assert_str_eq(cat_state_qualified_name(st, cat_state_find(st, t), q, sizeof q), "s2.t");
    cr_assert_eq(cat_state_find_database(st, "d2")->ref, d);
    cr_assert_null(cat_state_find_database(st, "d"));
    cr_assert_eq(cat_state_find_role(st, "r2")->ref, r);
    cr_assert_null(cat_state_find_role(st, "r"));
    cr_assert_eq(cat_state_find_cluster(st, "c2")->ref, c);

    ct_fail1(f.cat, ct_op_rename(s, "public"), CC_EXISTS, "42P06",
             "schema \"public\" already exists", NULL);
    ct_fail1(f.cat, ct_op_rename(d, "cowcat"), CC_EXISTS, "42P04",
             "database \"cowcat\" already exists", NULL);
    ct_fail1(f.cat, ct_op_rename(r, "cowcat"), CC_EXISTS, "42710", "role \"cowcat\" already exists",
             NULL);
    ct_fail1(f.cat, ct_op_rename(c, "default"), CC_EXISTS, "42710",
             "cluster \"default\" already exists", NULL);
    cfix_close(&f);
}

Test(cat_rename, renaming_a_missing_object_fails)
{
    cfix f;
    cfix_open(&f, PERSIST_BACKEND_MEM, NULL);
    ct_fail1(f.cat, ct_op_rename(cat_ref_make(CAT_CLASS_ITEM, false, 77), "x"), CC_NOT_FOUND, NULL,
             NULL, NULL);
    cfix_close(&f);
}

/* ---- comments, owners, grants, configuration -------------------------------------------- */

Test(cat_comment, comments_on_objects_and_columns_can_be_set_replaced_and_removed)
{
    cfix f;
    cfix_open(&f, PERSIST_BACKEND_MEM, NULL);
    cat_ref t = ct_table(f.cat, CT_SCHEMA_PUBLIC, "t", 3);
    cat_op ops[] = {ct_op_comment(t, 0, "a table"), ct_op_comment(t, 2, "second column"),
                    ct_op_comment(CT_SCHEMA_PUBLIC, 0, "the schema"),
                    ct_op_comment(CAT_ROLE_COWCAT, 0, "the role"),
                    ct_op_comment(CT_DB_COWCAT, 0, "the database")};
    ct_ok(f.cat, ops, 5, NULL);
    const cat_state *s = cst(&f);
    cr_assert_str_eq(cat_state_comment(s, t, 0), "a table");
    cr_assert_str_eq(cat_state_comment(s, t, 2), "second column");
    cr_assert_null(cat_state_comment(s, t, 1));
    cr_assert_null(cat_state_comment(s, t, 3));
    cr_assert_str_eq(cat_state_comment(s, CT_SCHEMA_PUBLIC, 0), "the schema");
    cr_assert_str_eq(cat_state_comment(s, CAT_ROLE_COWCAT, 0), "the role");
    cr_assert_str_eq(cat_state_comment(s, CT_DB_COWCAT, 0), "the database");

    ct_ok1(f.cat, ct_op_comment(t, 0, "replaced"));
    cr_assert_str_eq(cat_state_comment(cst(&f), t, 0), "replaced");
    ct_ok1(f.cat, ct_op_comment(t, 0, NULL));
    cr_assert_null(cat_state_comment(cst(&f), t, 0));
    cr_assert_str_eq(cat_state_comment(cst(&f), t, 2), "second column", "column comment stays");
    ct_ok1(f.cat, ct_op_comment(t, 2, NULL));
    cr_assert_null(cat_state_comment(cst(&f), t, 2));

    /* a column that does not exist, an object that does not exist */
    ct_mark m = ct_mark_take(f.cat);
    cat_op bad = ct_op_comment(t, 4, "no such column");
    cc_err err;
    cr_assert_neq(cat_transact(f.cat, NULL, &bad, 1, NULL, &err), CC_OK);
    ct_mark_expect(f.cat, m, "comment on a missing column");
    ct_fail1(f.cat, ct_op_comment(cat_ref_make(CAT_CLASS_ITEM, false, 99), 0, "x"), CC_NOT_FOUND,
             NULL, NULL, NULL);
    cfix_close(&f);
}

Test(cat_owner, changing_the_owner_moves_the_object_to_the_new_owners_count)
{
    cfix f;
    cfix_open(&f, PERSIST_BACKEND_MEM, NULL);
    cat_ref r = ct_ok1(f.cat, ct_op_role("r"));
    cat_ref t = ct_table(f.cat, CT_SCHEMA_PUBLIC, "t", 1);
    cr_assert_eq(cat_state_count_owned(cst(&f), r), 0);
    uint64_t owned0 = cat_state_count_owned(cst(&f), CAT_ROLE_COWCAT);

    cat_op op;
    memset(&op, 0, sizeof op);
    op.kind = CAT_OP_OWNER;
    op.u.owner.ref = t;
    op.u.owner.new_owner = r;
    ct_ok1(f.cat, op);
    const cat_state *s = cst(&f);
    cr_assert_eq(cat_state_find(s, t)->owner, r);
    cr_assert_eq(cat_state_count_owned(s, r), 1, "r owns t");
    cr_assert_eq(cat_state_count_owned(s, CAT_ROLE_COWCAT), owned0 - 1, "cowcat no longer owns t");
    Cowcat__Catalog__ItemValue *v = ct_item_value(cat_state_find(s, t));
    cr_assert_not_null(v->owner);
    cr_assert_eq(v->owner->value, cat_ref_value(r));
    protobuf_c_message_free_unpacked(&v->base, NULL);

    op.u.owner.ref = CT_SCHEMA_PUBLIC;
    ct_ok1(f.cat, op);
    cr_assert_eq(cat_state_find(cst(&f), CT_SCHEMA_PUBLIC)->owner, r);
    cr_assert_eq(cat_state_count_owned(cst(&f), r), 2);
    cr_assert_eq(cat_state_count(cst(&f), CAT_KIND_ROLE), CT_BOOTSTRAP_ROLES + 1);

    op.u.owner.new_owner = cat_ref_make(CAT_CLASS_ROLE, false, 99);
    ct_fail1(f.cat, op, CC_NOT_FOUND, NULL, NULL, NULL);
    cfix_close(&f);
}

static uint64_t
acl_of(const Cowcat__Catalog__ItemValue *v, cat_ref grantee)
{
    uint64_t mode = 0;
    for (size_t i = 0; i < v->n_privileges; i++)
        if (v->privileges[i]->grantee != NULL &&
            v->privileges[i]->grantee->value == cat_ref_value(grantee) &&
            (bool)v->privileges[i]->grantee->system == cat_ref_is_system(grantee))
            mode |= v->privileges[i]->acl_mode;
    return mode;
}

Test(cat_grant, grant_adds_and_revoke_removes_privilege_bits)
{
    cfix f;
    cfix_open(&f, PERSIST_BACKEND_MEM, NULL);
    cat_ref r = ct_ok1(f.cat, ct_op_role("r"));
    cat_ref t = ct_table(f.cat, CT_SCHEMA_PUBLIC, "t", 1);
    cat_op op;
    memset(&op, 0, sizeof op);
    op.kind = CAT_OP_GRANT;
    op.u.grant.ref = t;
    op.u.grant.grantee = r;
    op.u.grant.grantor = CAT_ROLE_COWCAT;
    op.u.grant.acl_mode = 0x3;
    ct_ok1(f.cat, op);
    Cowcat__Catalog__ItemValue *v = ct_item_value(cat_state_find(cst(&f), t));
    cr_assert_eq(acl_of(v, r), 0x3);
    protobuf_c_message_free_unpacked(&v->base, NULL);

    op.kind = CAT_OP_REVOKE;
    op.u.grant.acl_mode = 0x1;
    ct_ok1(f.cat, op);
    v = ct_item_value(cat_state_find(cst(&f), t));
    cr_assert_eq(acl_of(v, r), 0x2);
    protobuf_c_message_free_unpacked(&v->base, NULL);

    op.u.grant.acl_mode = 0x2;
    ct_ok1(f.cat, op);
    v = ct_item_value(cat_state_find(cst(&f), t));
    cr_assert_eq(acl_of(v, r), 0);
    protobuf_c_message_free_unpacked(&v->base, NULL);

    op.kind = CAT_OP_GRANT;
    op.u.grant.grantee = cat_ref_make(CAT_CLASS_ROLE, false, 99);
    ct_fail1(f.cat, op, CC_NOT_FOUND, NULL, NULL, NULL);
    cfix_close(&f);
}

Test(cat_config, set_and_reset_change_the_system_configuration_and_limits)
{
    cfix f;
    cfix_open(&f, PERSIST_BACKEND_MEM, NULL);
    ct_ok1(f.cat, ct_op_config_set("max_tables", "7"));
    cr_assert_str_eq(cat_state_config(cst(&f), "max_tables"), "7");
    cr_assert_eq(cat_state_limit(cst(&f), CAT_LIMIT_TABLES), 7);
    cr_assert_eq(cat_state_limit(cst(&f), CAT_LIMIT_VIEWS), 10000000, "other limits unchanged");
    ct_ok1(f.cat, ct_op_config_reset("max_tables"));
    cr_assert_eq(cat_state_limit(cst(&f), CAT_LIMIT_TABLES), 10000000);
    const char *v = cat_state_config(cst(&f), "max_tables");
    cr_assert(v == NULL || strcmp(v, DUR_DEFAULT_LIMIT) == 0, "after reset: %s", v);

    ct_mark m = ct_mark_take(f.cat);
    cat_op bad = ct_op_config_set("max_tables", "many");
    cc_err err;
    cr_assert_neq(cat_transact(f.cat, NULL, &bad, 1, NULL, &err), CC_OK,
                  "a limit must be a number");
    ct_mark_expect(f.cat, m, "a non-numeric limit");
    cfix_close(&f);
}

Test(cat_create, an_item_without_create_sql_is_refused)
{
    cfix f;
    cfix_open(&f, PERSIST_BACKEND_MEM, NULL);
    /* catalog.h: without a parse callback, create_sql is checked to be non-empty for items */
    cat_op op = ct_op_table(CT_SCHEMA_PUBLIC, "t", NULL);
    op.u.create_item.create_sql = "";
    ct_mark m = ct_mark_take(f.cat);
    cc_err err;
    cc_err_clear(&err);
    cc_code rc = cat_transact(f.cat, NULL, &op, 1, NULL, &err);
    cr_assert_neq(rc, CC_OK, "an item with an empty create_sql was created");
    ct_mark_expect(f.cat, m, err.msg);
    cr_assert_null(cat_state_find_relation(cst(&f), CT_SCHEMA_PUBLIC, "t"));
    cfix_close(&f);
}

Test(cat_create, an_item_using_an_object_of_the_wrong_kind_names_the_kinds_it_can_use)
{
    cfix f;
    cfix_open(&f, PERSIST_BACKEND_MEM, NULL);
    cat_ref schema[1] = {CT_SCHEMA_PUBLIC};
    ct_fail1(f.cat, ct_op_item(CAT_KIND_VIEW, CT_SCHEMA_PUBLIC, "v", schema, 1), CC_INVALID,
             "42809", "\"public\" is not a table, view, materialized view, index or type", NULL);
    cat_ref t = ct_ok1(f.cat, ct_op_table(CT_SCHEMA_PUBLIC, "t", NULL));
    cat_op op = ct_op_table(CT_SCHEMA_PUBLIC, "t2", NULL);
    op.u.create_item.schema = t;
    ct_fail1(f.cat, op, CC_INVALID, "42809", "\"t\" is not a schema", NULL);
    cat_ref v = ct_ok1(f.cat, ct_op_item(CAT_KIND_VIEW, CT_SCHEMA_PUBLIC, "v", &t, 1));
    ct_fail1(f.cat, ct_op_item(CAT_KIND_INDEX, CT_SCHEMA_PUBLIC, "v_idx", &v, 1), CC_INVALID,
             "42809", "\"v\" is not a table or materialized view", NULL);
    cfix_close(&f);
}
