/*
 * tests/catalog/test_catalog_drop.c — unit tests of drops (RESTRICT and
 * CASCADE: views, indexes, foreign keys, types, schemas, databases, roles,
 * comments), limits (max_tables at commit with 53400 and PostgreSQL-style
 * messages; every other kind and parent limit) and columns (add, drop,
 * rename; column comments, user types and constraints that follow them).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cat_testutil.h"

/* ---- drops
 * ------------------------------------------------------------------------------------------ */

Test(cat_drop, restrict_fails_when_a_view_depends_on_the_table)
{
    cfix f;
    cfix_open(&f, PERSIST_BACKEND_MEM, NULL);
    cat_ref t = ct_table(f.cat, CT_SCHEMA_PUBLIC, "t", 1);
    cat_ref v = ct_view(f.cat, CT_SCHEMA_PUBLIC, "v", &t, 1);
    cc_err err;
    ct_fail1(f.cat, ct_op_drop(&t, 1, CAT_DROP_RESTRICT), CC_DEPENDENTS, "2BP01", NULL, &err);
    cr_assert(ct_starts_with(err.msg, "cannot drop table t because other objects depend on it"),
              "message: %s", err.msg);
    const cat_state *s = cst(&f);
    cr_assert_not_null(cat_state_find(s, t));
    cr_assert_not_null(cat_state_find(s, v));
    /* a view with a dependent view is refused the same way */
    ct_view(f.cat, CT_SCHEMA_PUBLIC, "w", &v, 1);
    ct_fail1(f.cat, ct_op_drop(&v, 1, CAT_DROP_RESTRICT), CC_DEPENDENTS, "2BP01", NULL, &err);
    cr_assert(ct_starts_with(err.msg, "cannot drop view v because other objects depend on it"),
              "message: %s", err.msg);
    cfix_close(&f);
}

Test(cat_drop, restrict_succeeds_when_the_dependents_are_in_the_dropped_set)
{
    cfix f;
    cfix_open(&f, PERSIST_BACKEND_MEM, NULL);
    cat_ref t = ct_table(f.cat, CT_SCHEMA_PUBLIC, "t", 1);
    cat_ref v = ct_view(f.cat, CT_SCHEMA_PUBLIC, "v", &t, 1);
    cat_ref both[] = {t, v};
    ct_ok1(f.cat, ct_op_drop(both, 2, CAT_DROP_RESTRICT));
    const cat_state *s = cst(&f);
    cr_assert_null(cat_state_find(s, t));
    cr_assert_null(cat_state_find(s, v));
    cr_assert_null(cat_state_find_relation(s, CT_SCHEMA_PUBLIC, "t"));
    cr_assert_eq(cat_state_count(s, CAT_KIND_TABLE), 0);
    cr_assert_eq(cat_state_count(s, CAT_KIND_VIEW), 0);
    cr_assert_eq(cat_state_count_members(s, CT_SCHEMA_PUBLIC), 0);
    cfix_close(&f);
}

Test(cat_drop, cascade_drops_views_transitively_and_nothing_else)
{
    cfix f;
    cfix_open(&f, PERSIST_BACKEND_MEM, NULL);
    cat_ref t = ct_table(f.cat, CT_SCHEMA_PUBLIC, "t", 1);
    cat_ref u = ct_table(f.cat, CT_SCHEMA_PUBLIC, "u", 1);
    cat_ref v1 = ct_view(f.cat, CT_SCHEMA_PUBLIC, "v1", &t, 1);
    cat_ref v2 = ct_view(f.cat, CT_SCHEMA_PUBLIC, "v2", &v1, 1);
    cat_ref v1u[] = {v1, u};
    cat_ref v3 = ct_view(f.cat, CT_SCHEMA_PUBLIC, "v3", v1u, 2);
    cat_ref w = ct_view(f.cat, CT_SCHEMA_PUBLIC, "w", &u, 1);
    cat_ref i = ct_index(f.cat, CT_SCHEMA_PUBLIC, "t_idx", t);
    ct_ok1(f.cat, ct_op_drop(&t, 1, CAT_DROP_CASCADE));
    const cat_state *s = cst(&f);
    cat_ref gone[] = {t, v1, v2, v3, i};
    for (size_t k = 0; k < 5; k++)
        cr_assert_null(cat_state_find(s, gone[k]), "dependent %zu survived", k);
    cr_assert_null(cat_state_find_relation(s, CT_SCHEMA_PUBLIC, "v3"));
    cr_assert_not_null(cat_state_find(s, u));
    cr_assert_not_null(cat_state_find(s, w));
    ct_refs l = ct_used_by(s, u);
    ct_expect_refs(&l, &w, 1, "users of u after the cascade");
    ct_refs_free(&l);
    cr_assert_eq(cat_state_count_used_by(s, u), 1);
    cr_assert_eq(cat_state_count(s, CAT_KIND_TABLE), 1);
    cr_assert_eq(cat_state_count(s, CAT_KIND_VIEW), 1);
    cr_assert_eq(cat_state_count(s, CAT_KIND_INDEX), 0);
    ct_refs m = ct_members(s, CT_SCHEMA_PUBLIC);
    cat_ref left[] = {u, w};
    ct_expect_refs(&m, left, 2, "public after the cascade");
    ct_refs_free(&m);
    cfix_close(&f);
}

Test(cat_drop, dropping_a_table_drops_its_indexes_even_under_restrict)
{
    cfix f;
    cfix_open(&f, PERSIST_BACKEND_MEM, NULL);
    cat_ref t = ct_table(f.cat, CT_SCHEMA_PUBLIC, "t", 2);
    cat_ref i1 = ct_index(f.cat, CT_SCHEMA_PUBLIC, "t_i1", t);
    cat_ref i2 = ct_index(f.cat, CT_SCHEMA_PUBLIC, "t_i2", t);
    cat_ref u = ct_table(f.cat, CT_SCHEMA_PUBLIC, "u", 1);
    cat_ref iu = ct_index(f.cat, CT_SCHEMA_PUBLIC, "u_i", u);
    ct_ok1(f.cat, ct_op_drop(&t, 1, CAT_DROP_RESTRICT));
    const cat_state *s = cst(&f);
    cr_assert_null(cat_state_find(s, t));
    cr_assert_null(cat_state_find(s, i1));
    cr_assert_null(cat_state_find(s, i2));
    cr_assert_null(cat_state_find_relation(s, CT_SCHEMA_PUBLIC, "t_i1"));
    cr_assert_not_null(cat_state_find(s, iu), "another table's index stays");
    cr_assert_eq(cat_state_count(s, CAT_KIND_INDEX), 1);
    cr_assert_eq(cat_state_count_members(s, CT_SCHEMA_PUBLIC), 2);

    /* an index is not enough to make RESTRICT pass when a view depends too */
    ct_view(f.cat, CT_SCHEMA_PUBLIC, "uv", &u, 1);
    ct_fail1(f.cat, ct_op_drop(&u, 1, CAT_DROP_RESTRICT), CC_DEPENDENTS, "2BP01", NULL, NULL);
    /* an index alone can be dropped */
    ct_ok1(f.cat, ct_op_drop(&iu, 1, CAT_DROP_RESTRICT));
    cr_assert_eq(cat_state_count(cst(&f), CAT_KIND_INDEX), 0);
    cr_assert_eq(cat_state_count_used_by(cst(&f), u), 1);
    cfix_close(&f);
}

static Cowcat__Catalog__Constraint *
find_constraint(Cowcat__Catalog__ItemValue *v, Cowcat__Catalog__ConstraintKind kind)
{
    for (size_t i = 0; i < v->n_constraints; i++)
        if (v->constraints[i]->kind == kind)
            return v->constraints[i];
    return NULL;
}

Test(cat_drop, a_cascade_drop_of_a_referenced_table_only_strips_the_foreign_key)
{
    cfix f;
    cfix_open(&f, PERSIST_BACKEND_MEM, NULL);
    cat_ref p = ct_table(f.cat, CT_SCHEMA_PUBLIC, "p", 2);

    ct_cols cols;
    ct_cols_init(&cols, 2);
    Cowcat__Catalog__CatalogId pid = COWCAT__CATALOG__CATALOG_ID__INIT;
    pid.value = cat_ref_value(p);
    Cowcat__Catalog__Constraint pk = COWCAT__CATALOG__CONSTRAINT__INIT;
    Cowcat__Catalog__Constraint fk = COWCAT__CATALOG__CONSTRAINT__INIT;
    char *c1[] = {"c1"};
    char *c2[] = {"c2"};
    pk.name = "c_pkey";
    pk.kind = COWCAT__CATALOG__CONSTRAINT_KIND__CONSTRAINT_KIND_PRIMARY_KEY;
    pk.n_columns = 1;
    pk.columns = c1;
    fk.name = "c_c2_fkey";
    fk.kind = COWCAT__CATALOG__CONSTRAINT_KIND__CONSTRAINT_KIND_FOREIGN_KEY;
    fk.n_columns = 1;
    fk.columns = c2;
    fk.ref_table_opt_case = COWCAT__CATALOG__CONSTRAINT__REF_TABLE_OPT_REF_TABLE;
    fk.ref_table = &pid;
    fk.n_ref_columns = 1;
    fk.ref_columns = c1;
    Cowcat__Catalog__Constraint *cons[] = {&pk, &fk};
    cat_op op = ct_op_table(CT_SCHEMA_PUBLIC, "c", &cols);
    op.u.create_item.nconstraints = 2;
    op.u.create_item.constraints = cons;
    op.u.create_item.nuses = 1;
    op.u.create_item.uses = &p;
    cat_ref c = ct_ok1(f.cat, op);
    cr_assert_eq(cat_state_count_used_by(cst(&f), p), 1);

    cc_err err;
    ct_fail1(f.cat, ct_op_drop(&p, 1, CAT_DROP_RESTRICT), CC_DEPENDENTS, "2BP01", NULL, &err);
    cr_assert(ct_starts_with(err.msg, "cannot drop table p because other objects depend on it"),
              "message: %s", err.msg);

    ct_ok1(f.cat, ct_op_drop(&p, 1, CAT_DROP_CASCADE));
    const cat_state *s = cst(&f);
    cr_assert_null(cat_state_find(s, p));
    const cat_object *o = cat_state_find(s, c);
    cr_assert_not_null(o, "the referencing table survives");
    cr_assert_eq(cat_state_find_relation(s, CT_SCHEMA_PUBLIC, "c")->ref, c);
    cr_assert_eq(o->nuses, 0, "the referencing table no longer uses the dropped one");
    Cowcat__Catalog__ItemValue *v = ct_item_value(o);
    cr_assert_eq(v->n_constraints, 1, "only the foreign key goes");
    cr_assert_str_eq(v->constraints[0]->name, "c_pkey");
    cr_assert_null(
        find_constraint(v, COWCAT__CATALOG__CONSTRAINT_KIND__CONSTRAINT_KIND_FOREIGN_KEY));
    cr_assert_eq(v->n_columns, 2, "columns are kept");
    cr_assert_eq(v->n_uses, 0);
    protobuf_c_message_free_unpacked(&v->base, NULL);
    cr_assert_eq(cat_state_count(s, CAT_KIND_TABLE), 1);
    cfix_close(&f);
}

Test(cat_drop, dropping_a_schema_with_items_needs_cascade)
{
    cfix f;
    cfix_open(&f, PERSIST_BACKEND_MEM, NULL);
    cat_ref s = ct_ok1(f.cat, ct_op_schema(CT_DB_COWCAT, "s"));
    cat_ref t = ct_table(f.cat, s, "t", 1);
    cat_ref v = ct_view(f.cat, s, "v", &t, 1);
    cat_ref pv = ct_view(f.cat, CT_SCHEMA_PUBLIC, "pv", &t, 1); /* in another schema */
    cat_ref keep = ct_table(f.cat, CT_SCHEMA_PUBLIC, "keep", 1);
    cr_assert_eq(cat_state_count_members(cst(&f), CT_DB_COWCAT), 2);
    cr_assert_eq(cat_state_count_members(cst(&f), s), 2);

    cc_err err;
    ct_fail1(f.cat, ct_op_drop(&s, 1, CAT_DROP_RESTRICT), CC_DEPENDENTS, "2BP01", NULL, &err);
    cr_assert(strstr(err.msg, "schema s") != NULL, "names the schema: %s", err.msg);

    ct_ok1(f.cat, ct_op_drop(&s, 1, CAT_DROP_CASCADE));
    const cat_state *st = cst(&f);
    cr_assert_null(cat_state_find(st, s));
    cr_assert_null(cat_state_find_schema(st, CT_DB_COWCAT, "s"));
    cr_assert_null(cat_state_find(st, t));
    cr_assert_null(cat_state_find(st, v));
    cr_assert_null(cat_state_find(st, pv), "a dependent in another schema goes too");
    cr_assert_not_null(cat_state_find(st, keep));
    cr_assert_eq(cat_state_count_members(st, CT_DB_COWCAT), 1);
    cr_assert_eq(cat_state_count_members(st, CT_SCHEMA_PUBLIC), 1);
    cr_assert_eq(cat_state_count(st, CAT_KIND_SCHEMA), CT_BOOTSTRAP_SCHEMAS);
    cr_assert_eq(cat_state_count(st, CAT_KIND_TABLE), 1);
    cr_assert_eq(cat_state_count(st, CAT_KIND_VIEW), 0);

    /* an empty schema goes under RESTRICT */
    cat_ref e = ct_ok1(f.cat, ct_op_schema(CT_DB_COWCAT, "e"));
    ct_ok1(f.cat, ct_op_drop(&e, 1, CAT_DROP_RESTRICT));
    cr_assert_null(cat_state_find(cst(&f), e));
    cfix_close(&f);
}

Test(cat_drop, dropping_a_database_drops_its_schemas)
{
    cfix f;
    cfix_open(&f, PERSIST_BACKEND_MEM, NULL);
    cat_ref d = ct_ok1(f.cat, ct_op_database("d"));
    cat_ref s1 = ct_ok1(f.cat, ct_op_schema(d, "s1"));
    ct_ok1(f.cat, ct_op_drop(&d, 1, CAT_DROP_RESTRICT));
    cr_assert_null(cat_state_find(cst(&f), d));
    cr_assert_null(cat_state_find(cst(&f), s1), "an empty schema goes with its database");
    cr_assert_eq(cat_state_count(cst(&f), CAT_KIND_SCHEMA), CT_BOOTSTRAP_SCHEMAS);

    cat_ref d2 = ct_ok1(f.cat, ct_op_database("d2"));
    cat_ref s2 = ct_ok1(f.cat, ct_op_schema(d2, "s2"));
    cat_ref t = ct_table(f.cat, s2, "t", 1);
    cat_ref i = ct_index(f.cat, s2, "t_idx", t);
    ct_ok1(f.cat, ct_op_drop(&d2, 1, CAT_DROP_CASCADE));
    const cat_state *s = cst(&f);
    cr_assert_null(cat_state_find(s, d2));
    cr_assert_null(cat_state_find(s, s2));
    cr_assert_null(cat_state_find(s, t));
    cr_assert_null(cat_state_find(s, i));
    cr_assert_eq(cat_state_count(s, CAT_KIND_DATABASE), 1);
    cr_assert_eq(cat_state_count(s, CAT_KIND_TABLE), 0);
    cr_assert_eq(cat_state_count(s, CAT_KIND_INDEX), 0);
    cfix_close(&f);
}

Test(cat_drop, dropping_a_dropped_object_fails_with_not_found)
{
    cfix f;
    cfix_open(&f, PERSIST_BACKEND_MEM, NULL);
    cat_ref t = ct_table(f.cat, CT_SCHEMA_PUBLIC, "t", 1);
    ct_ok1(f.cat, ct_op_drop(&t, 1, CAT_DROP_RESTRICT));
    ct_fail1(f.cat, ct_op_drop(&t, 1, CAT_DROP_RESTRICT), CC_NOT_FOUND, NULL, NULL, NULL);
    /* twice in one transaction */
    cat_ref u = ct_table(f.cat, CT_SCHEMA_PUBLIC, "u", 1);
    cat_op ops[] = {ct_op_drop(&u, 1, CAT_DROP_RESTRICT), ct_op_drop(&u, 1, CAT_DROP_RESTRICT)};
    ct_fail(f.cat, ops, 2, CC_NOT_FOUND, NULL, NULL, NULL);
    cr_assert_not_null(cat_state_find(cst(&f), u));
    cfix_close(&f);
}

Test(cat_drop, dropping_roles_and_clusters_removes_them)
{
    cfix f;
    cfix_open(&f, PERSIST_BACKEND_MEM, NULL);
    cat_ref r = ct_ok1(f.cat, ct_op_role("r"));
    cat_ref c = ct_ok1(f.cat, ct_op_cluster("c"));
    cat_ref both[] = {r, c};
    ct_ok1(f.cat, ct_op_drop(both, 2, CAT_DROP_RESTRICT));
    const cat_state *s = cst(&f);
    cr_assert_null(cat_state_find_role(s, "r"));
    cr_assert_null(cat_state_find_cluster(s, "c"));
    cr_assert_eq(cat_state_count(s, CAT_KIND_ROLE), CT_BOOTSTRAP_ROLES);
    cr_assert_eq(cat_state_count(s, CAT_KIND_CLUSTER), 1);
    /* the name is free again */
    cat_ref r2 = ct_ok1(f.cat, ct_op_role("r"));
    cr_assert_neq(r2, r, "ids are not reused");
    cfix_close(&f);
}

Test(cat_drop, dropping_an_object_removes_its_comments)
{
    cfix f;
    cfix_open(&f, PERSIST_BACKEND_MEM, NULL);
    cat_ref t = ct_table(f.cat, CT_SCHEMA_PUBLIC, "t", 2);
    cat_op ops[] = {ct_op_comment(t, 0, "a table"), ct_op_comment(t, 2, "a column")};
    ct_ok(f.cat, ops, 2, NULL);
    cr_assert_str_eq(cat_state_comment(cst(&f), t, 0), "a table");
    ct_ok1(f.cat, ct_op_drop(&t, 1, CAT_DROP_RESTRICT));
    cr_assert_null(cat_state_comment(cst(&f), t, 0));
    cr_assert_null(cat_state_comment(cst(&f), t, 2));
    cfix_close(&f);
}

/* ---- limits ------------------------------------------------------------------------------------
 */

static void
create_tables(cat_catalog *cat, const char *prefix, int from, int to)
{
    for (int i = from; i < to; i++) {
        char name[32];
        snprintf(name, sizeof name, "%s%d", prefix, i);
        ct_table(cat, CT_SCHEMA_PUBLIC, name, 1);
    }
}

Test(cat_limit, the_table_past_max_tables_fails_at_commit_with_53400)
{
    cfix f;
    cfix_open(&f, PERSIST_BACKEND_MEM, NULL);
    ct_ok1(f.cat, ct_op_config_set("max_tables", "3"));
    create_tables(f.cat, "t", 1, 4);
    cr_assert_eq(cat_state_count(cst(&f), CAT_KIND_TABLE), 3);

    /* the op applies; commit refuses */
    ct_mark m = ct_mark_take(f.cat);
    cat_txn *txn;
    cc_err err;
    cr_assert_eq(cat_txn_begin(f.cat, NULL, &txn, &err), CC_OK, "%s", err.msg);
    cat_op op = ct_op_table(CT_SCHEMA_PUBLIC, "t4", NULL);
    cat_ref created = 0;
    cr_assert_eq(cat_txn_apply(txn, &op, &created, &err), CC_OK, "limits are checked at commit: %s",
                 err.msg);
    cr_assert_neq(created, 0);
    cr_assert_eq(cat_state_count(cat_txn_state(txn), CAT_KIND_TABLE), 4);
    cc_err_clear(&err);
    cr_assert_eq(cat_txn_commit(txn, &err), CC_LIMIT, "%s", err.msg);
    cr_assert_str_eq(cc_err_sqlstate(&err), "53400");
    cr_assert_str_eq(
        err.msg,
        "creating table would violate max_tables limit (desired: 4, limit: 3, current: 3)");
    ct_mark_expect(f.cat, m, "after the refused commit");
    cr_assert_null(cat_state_find_relation(cst(&f), CT_SCHEMA_PUBLIC, "t4"));

    /* through transact too */
    ct_fail1(f.cat, ct_op_table(CT_SCHEMA_PUBLIC, "t4", NULL), CC_LIMIT, "53400",
             "creating table would violate max_tables limit (desired: 4, limit: 3, current: 3)",
             NULL);
    /* raising the limit lets it through */
    ct_ok1(f.cat, ct_op_config_set("max_tables", "4"));
    ct_table(f.cat, CT_SCHEMA_PUBLIC, "t4", 1);
    cfix_close(&f);
}

Test(cat_limit, a_transaction_that_drops_one_and_creates_one_at_the_limit_passes)
{
    cfix f;
    cfix_open(&f, PERSIST_BACKEND_MEM, NULL);
    ct_ok1(f.cat, ct_op_config_set("max_tables", "3"));
    create_tables(f.cat, "t", 1, 4);
    cat_ref t1 = cat_state_find_relation(cst(&f), CT_SCHEMA_PUBLIC, "t1")->ref;
    cat_op ops[] = {ct_op_drop(&t1, 1, CAT_DROP_RESTRICT),
                    ct_op_table(CT_SCHEMA_PUBLIC, "t9", NULL)};
    ct_ok(f.cat, ops, 2, NULL);
    cr_assert_eq(cat_state_count(cst(&f), CAT_KIND_TABLE), 3);
    cr_assert_not_null(cat_state_find_relation(cst(&f), CT_SCHEMA_PUBLIC, "t9"));
    /* and creating first, dropping after, also ends at the limit */
    cat_ref t2 = cat_state_find_relation(cst(&f), CT_SCHEMA_PUBLIC, "t2")->ref;
    cat_op ops2[] = {ct_op_table(CT_SCHEMA_PUBLIC, "t10", NULL),
                     ct_op_drop(&t2, 1, CAT_DROP_RESTRICT)};
    ct_ok(f.cat, ops2, 2, NULL);
    cr_assert_eq(cat_state_count(cst(&f), CAT_KIND_TABLE), 3);
    cfix_close(&f);
}

Test(cat_limit, a_batch_past_the_limit_reports_the_desired_count)
{
    cfix f;
    cfix_open(&f, PERSIST_BACKEND_MEM, NULL);
    ct_ok1(f.cat, ct_op_config_set("max_tables", "3"));
    create_tables(f.cat, "t", 1, 2);
    cat_op ops[] = {ct_op_table(CT_SCHEMA_PUBLIC, "a", NULL),
                    ct_op_table(CT_SCHEMA_PUBLIC, "b", NULL),
                    ct_op_table(CT_SCHEMA_PUBLIC, "c", NULL)};
    ct_fail(f.cat, ops, 3, CC_LIMIT, "53400",
            "creating table would violate max_tables limit (desired: 4, limit: 3, current: 1)",
            NULL);
    ct_ok(f.cat, ops, 2, NULL);
    cr_assert_eq(cat_state_count(cst(&f), CAT_KIND_TABLE), 3);
    cfix_close(&f);
}

static void
limit_case(cat_catalog *cat, const char *limit, const char *value, cat_op first, cat_op second)
{
    ct_ok1(cat, ct_op_config_set(limit, value));
    ct_ok1(cat, first);
    cc_err err;
    ct_fail1(cat, second, CC_LIMIT, "53400", NULL, &err);
    cr_assert(strstr(err.msg, limit) != NULL, "the message names %s: %s", limit, err.msg);
    cr_assert(ct_starts_with(err.msg, "creating "), "message: %s", err.msg);
}

Test(cat_limit, every_kind_and_parent_limit_is_enforced)
{
    cfix f;
    cfix_open(&f, PERSIST_BACKEND_MEM, NULL);
    cat_ref t = ct_table(f.cat, CT_SCHEMA_PUBLIC, "t", 1);
    limit_case(f.cat, "max_views", "1", ct_op_item(CAT_KIND_VIEW, CT_SCHEMA_PUBLIC, "v1", &t, 1),
               ct_op_item(CAT_KIND_VIEW, CT_SCHEMA_PUBLIC, "v2", &t, 1));
    limit_case(f.cat, "max_materialized_views", "1",
               ct_op_item(CAT_KIND_MATERIALIZED_VIEW, CT_SCHEMA_PUBLIC, "m1", &t, 1),
               ct_op_item(CAT_KIND_MATERIALIZED_VIEW, CT_SCHEMA_PUBLIC, "m2", &t, 1));
    limit_case(f.cat, "max_indexes", "1", ct_op_item(CAT_KIND_INDEX, CT_SCHEMA_PUBLIC, "i1", &t, 1),
               ct_op_item(CAT_KIND_INDEX, CT_SCHEMA_PUBLIC, "i2", &t, 1));
    limit_case(f.cat, "max_databases", "2", ct_op_database("d1"), ct_op_database("d2"));
    limit_case(f.cat, "max_schemas_per_database", "2", ct_op_schema(CT_DB_COWCAT, "s1"),
               ct_op_schema(CT_DB_COWCAT, "s2"));
    limit_case(f.cat, "max_roles", "3", ct_op_role("r1"), ct_op_role("r2"));
    limit_case(f.cat, "max_clusters", "2", ct_op_cluster("c1"), ct_op_cluster("c2"));
    /* public holds t, v1, m1, i1: four objects */
    limit_case(f.cat, "max_objects_per_schema", "5", ct_op_table(CT_SCHEMA_PUBLIC, "o5", NULL),
               ct_op_table(CT_SCHEMA_PUBLIC, "o6", NULL));
    /* a per-schema limit counts per schema: another schema still has room */
    cat_ref d1 = cat_state_find_database(cst(&f), "d1")->ref;
    cat_ref s = ct_ok1(f.cat, ct_op_schema(d1, "s"));
    ct_table(f.cat, s, "o6", 1);
    cfix_close(&f);
}

/* ---- columns -----------------------------------------------------------------------------------
 */

static cat_op
column_op(cat_op_kind kind, cat_ref table, const Cowcat__Catalog__Column *col, const char *name,
          const char *new_name)
{
    cat_op op;
    memset(&op, 0, sizeof op);
    op.kind = kind;
    op.u.column.table = table;
    op.u.column.column = col;
    op.u.column.name = name;
    op.u.column.new_name = new_name;
    op.u.column.behavior = CAT_DROP_RESTRICT;
    return op;
}

static void
expect_columns(const cat_state *s, cat_ref t, const char *const *names, size_t n)
{
    Cowcat__Catalog__ItemValue *v = ct_item_value(cat_state_find(s, t));
    cr_assert_eq(v->n_columns, n, "%zu columns, want %zu", v->n_columns, n);
    for (size_t i = 0; i < n; i++)
        cr_assert_str_eq(v->columns[i]->name, names[i], "column %zu", i + 1);
    protobuf_c_message_free_unpacked(&v->base, NULL);
}

Test(cat_column, add_drop_and_rename_column_change_the_table)
{
    cfix f;
    cfix_open(&f, PERSIST_BACKEND_MEM, NULL);
    cat_ref t = ct_table(f.cat, CT_SCHEMA_PUBLIC, "t", 2);
    Cowcat__Catalog__Column c3 = COWCAT__CATALOG__COLUMN__INIT;
    c3.name = "c3";
    c3.type_name = "int8";
    c3.typmod = -1;
    c3.nullable = false;
    ct_ok1(f.cat, column_op(CAT_OP_ADD_COLUMN, t, &c3, NULL, NULL));
    const char *after_add[] = {"c1", "c2", "c3"};
    expect_columns(cst(&f), t, after_add, 3);
    Cowcat__Catalog__ItemValue *v = ct_item_value(cat_state_find(cst(&f), t));
    cr_assert_str_eq(v->columns[2]->type_name, "int8");
    cr_assert_not(v->columns[2]->nullable);
    protobuf_c_message_free_unpacked(&v->base, NULL);

    Cowcat__Catalog__Column dup = COWCAT__CATALOG__COLUMN__INIT;
    dup.name = "c1";
    dup.type_name = "text";
    dup.typmod = -1;
    ct_fail1(f.cat, column_op(CAT_OP_ADD_COLUMN, t, &dup, NULL, NULL), CC_EXISTS, "42701", NULL,
             NULL);

    ct_ok1(f.cat, column_op(CAT_OP_RENAME_COLUMN, t, NULL, "c2", "x"));
    const char *after_rename[] = {"c1", "x", "c3"};
    expect_columns(cst(&f), t, after_rename, 3);
    ct_fail1(f.cat, column_op(CAT_OP_RENAME_COLUMN, t, NULL, "c1", "x"), CC_EXISTS, "42701", NULL,
             NULL);
    ct_fail1(f.cat, column_op(CAT_OP_RENAME_COLUMN, t, NULL, "nope", "y"), CC_NOT_FOUND, "42703",
             NULL, NULL);

    ct_ok1(f.cat, column_op(CAT_OP_DROP_COLUMN, t, NULL, "x", NULL));
    const char *after_drop[] = {"c1", "c3"};
    expect_columns(cst(&f), t, after_drop, 2);
    ct_fail1(f.cat, column_op(CAT_OP_DROP_COLUMN, t, NULL, "x", NULL), CC_NOT_FOUND, "42703", NULL,
             NULL);

    /* not on a view; not on a missing table */
    cat_ref vw = ct_view(f.cat, CT_SCHEMA_PUBLIC, "v", &t, 1);
    ct_fail1(f.cat, column_op(CAT_OP_ADD_COLUMN, vw, &dup, NULL, NULL), CC_INVALID, "42809", NULL,
             NULL);
    ct_fail1(f.cat,
             column_op(CAT_OP_ADD_COLUMN, cat_ref_make(CAT_CLASS_ITEM, false, 99), &c3, NULL, NULL),
             CC_NOT_FOUND, NULL, NULL, NULL);
    cfix_close(&f);
}

/* ---- edges: owners that own things, column comments and types -------------------------- */

Test(cat_drop, a_role_that_owns_objects_cannot_be_dropped)
{
    cfix f;
    cfix_open(&f, PERSIST_BACKEND_MEM, NULL);
    cat_ref r = ct_ok1(f.cat, ct_op_role("r"));
    cat_ref t = ct_table(f.cat, CT_SCHEMA_PUBLIC, "t", 1);
    cat_op op;
    memset(&op, 0, sizeof op);
    op.kind = CAT_OP_OWNER;
    op.u.owner.ref = t;
    op.u.owner.new_owner = r;
    ct_ok1(f.cat, op);
    cr_assert_eq(cat_state_count_owned(cst(&f), r), 1);
    /* PostgreSQL: role "r" cannot be dropped because some objects depend on it (2BP01) */
    ct_fail1(f.cat, ct_op_drop(&r, 1, CAT_DROP_RESTRICT), CC_DEPENDENTS, "2BP01", NULL, NULL);
    cr_assert_eq(cat_state_find(cst(&f), t)->owner, r);
    /* once it owns nothing it goes */
    op.u.owner.new_owner = CAT_ROLE_COWCAT;
    ct_ok1(f.cat, op);
    ct_ok1(f.cat, ct_op_drop(&r, 1, CAT_DROP_RESTRICT));
    cr_assert_null(cat_state_find_role(cst(&f), "r"));
    cfix_close(&f);
}

Test(cat_comment, removing_a_comment_that_is_not_there_is_a_no_op)
{
    cfix f;
    cfix_open(&f, PERSIST_BACKEND_MEM, NULL);
    cat_ref t = ct_table(f.cat, CT_SCHEMA_PUBLIC, "t", 1);
    ct_mark m = ct_mark_take(f.cat);
    ct_ok1(f.cat, ct_op_comment(t, 0, NULL)); /* PostgreSQL: COMMENT ON ... IS NULL succeeds */
    cr_assert(pmap_fp_equal(cat_state_fp(cst(&f)), m.fp), "nothing changed");
    cr_assert_null(cat_state_comment(cst(&f), t, 0));
    cfix_close(&f);
}

Test(cat_column, a_column_comment_follows_its_column_when_an_earlier_column_is_dropped)
{
    cfix f;
    cfix_open(&f, PERSIST_BACKEND_MEM, NULL);
    cat_ref t = ct_table(f.cat, CT_SCHEMA_PUBLIC, "t", 3);
    cat_op ops[] = {ct_op_comment(t, 1, "first"), ct_op_comment(t, 3, "third")};
    ct_ok(f.cat, ops, 2, NULL);
    cat_op drop;
    memset(&drop, 0, sizeof drop);
    drop.kind = CAT_OP_DROP_COLUMN;
    drop.u.column.table = t;
    drop.u.column.name = "c1";
    drop.u.column.behavior = CAT_DROP_RESTRICT;
    ct_ok1(f.cat, drop); /* runs cat_check: no comment may point past the last column */
    const cat_state *s = cst(&f);
    cr_assert_null(cat_state_comment(s, t, 3), "position 3 is gone");
    const char *c2 = cat_state_comment(s, t, 2);
    cr_assert(c2 != NULL && strcmp(c2, "third") == 0, "c3 is now column 2 and keeps its comment");
    const char *c1 = cat_state_comment(s, t, 1);
    cr_assert(c1 == NULL, "the dropped column's comment goes with it (got \"%s\")", c1);
    cfix_close(&f);
}

Test(cat_column, adding_and_dropping_a_column_of_a_user_type_tracks_the_dependency)
{
    cfix f;
    cfix_open(&f, PERSIST_BACKEND_MEM, NULL);
    cat_ref mood = ct_ok1(f.cat, ct_op_item(CAT_KIND_TYPE, CT_SCHEMA_PUBLIC, "mood", NULL, 0));
    cat_ref t = ct_table(f.cat, CT_SCHEMA_PUBLIC, "t", 1);
    Cowcat__Catalog__CatalogId tid = COWCAT__CATALOG__CATALOG_ID__INIT;
    tid.value = cat_ref_value(mood);
    Cowcat__Catalog__Column m = COWCAT__CATALOG__COLUMN__INIT;
    m.name = "m";
    m.type_name = "mood";
    m.typmod = -1;
    m.nullable = true;
    m.type_ref_opt_case = COWCAT__CATALOG__COLUMN__TYPE_REF_OPT_TYPE_REF;
    m.type_ref = &tid;
    cat_op add;
    memset(&add, 0, sizeof add);
    add.kind = CAT_OP_ADD_COLUMN;
    add.u.column.table = t;
    add.u.column.column = &m;
    ct_ok1(f.cat, add);
    cr_assert_eq(cat_state_count_used_by(cst(&f), mood), 1, "the table now uses the type");
    cr_assert_eq(cat_state_find(cst(&f), t)->nuses, 1);
    ct_fail1(f.cat, ct_op_drop(&mood, 1, CAT_DROP_RESTRICT), CC_DEPENDENTS, "2BP01", NULL, NULL);
    cat_op drop;
    memset(&drop, 0, sizeof drop);
    drop.kind = CAT_OP_DROP_COLUMN;
    drop.u.column.table = t;
    drop.u.column.name = "m";
    ct_ok1(f.cat, drop);
    cr_assert_eq(cat_state_count_used_by(cst(&f), mood), 0, "no column uses the type any more");
    ct_ok1(f.cat, ct_op_drop(&mood, 1, CAT_DROP_RESTRICT));
    cfix_close(&f);
}

Test(cat_drop, dropping_a_column_a_foreign_key_of_the_table_names_needs_cascade)
{
    cfix f;
    cfix_open(&f, PERSIST_BACKEND_MEM, NULL);
    ct_cols cols;
    ct_cols_init(&cols, 2);
    Cowcat__Catalog__Constraint pk = COWCAT__CATALOG__CONSTRAINT__INIT;
    char *c2[] = {"c2"};
    pk.name = "t_c2_key";
    pk.kind = COWCAT__CATALOG__CONSTRAINT_KIND__CONSTRAINT_KIND_UNIQUE;
    pk.n_columns = 1;
    pk.columns = c2;
    Cowcat__Catalog__Constraint *cons[] = {&pk};
    cat_op op = ct_op_table(CT_SCHEMA_PUBLIC, "t", &cols);
    op.u.create_item.nconstraints = 1;
    op.u.create_item.constraints = cons;
    cat_ref t = ct_ok1(f.cat, op);
    cat_op drop;
    memset(&drop, 0, sizeof drop);
    drop.kind = CAT_OP_DROP_COLUMN;
    drop.u.column.table = t;
    drop.u.column.name = "c2";
    drop.u.column.behavior = CAT_DROP_CASCADE;
    ct_ok1(f.cat, drop);
    Cowcat__Catalog__ItemValue *v = ct_item_value(cat_state_find(cst(&f), t));
    cr_assert_eq(v->n_columns, 1);
    cr_assert_eq(v->n_constraints, 0, "a constraint on a dropped column goes with it");
    protobuf_c_message_free_unpacked(&v->base, NULL);
    cfix_close(&f);
}

Test(cat_drop, a_role_holding_privileges_cannot_be_dropped)
{
    cfix f;
    cfix_open(&f, PERSIST_BACKEND_MEM, NULL);
    cat_ref r = ct_ok1(f.cat, ct_op_role("r"));
    cat_ref t = ct_table(f.cat, CT_SCHEMA_PUBLIC, "t", 1);
    cat_op grant;
    memset(&grant, 0, sizeof grant);
    grant.kind = CAT_OP_GRANT;
    grant.u.grant.ref = t;
    grant.u.grant.grantee = r;
    grant.u.grant.grantor = CAT_ROLE_COWCAT;
    grant.u.grant.acl_mode = 0x2;
    ct_ok1(f.cat, grant);
    /* PostgreSQL: role "r" cannot be dropped because some objects depend on it
     * (DETAIL: privileges for table t); otherwise t's ACL names a role that is gone */
    ct_fail1(f.cat, ct_op_drop(&r, 1, CAT_DROP_RESTRICT), CC_DEPENDENTS, "2BP01", NULL, NULL);
    cr_assert_not_null(cat_state_find_role(cst(&f), "r"));
    cfix_close(&f);
}
