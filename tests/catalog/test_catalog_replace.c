/*
 * tests/catalog/test_catalog_replace.c — unit tests of CAT_OP_REPLACE_ITEM
 * (CREATE OR REPLACE VIEW): the view keeps its identity and dependents while
 * its definition, columns and use edges change; wrong targets, bad uses and
 * cycles fail and change nothing.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "cat_testutil.h"

static cat_op
replace_op(cat_ref view, const char *sql, const ct_cols *cols, const cat_ref *uses, size_t nuses)
{
    cat_op op;
    memset(&op, 0, sizeof op);
    op.kind = CAT_OP_REPLACE_ITEM;
    op.u.replace_item.ref = view;
    op.u.replace_item.create_sql = sql;
    op.u.replace_item.ncolumns = cols != NULL ? cols->n : 0;
    op.u.replace_item.columns = cols != NULL ? cols->ptr : NULL;
    op.u.replace_item.nuses = nuses;
    op.u.replace_item.uses = uses;
    return op;
}

static size_t
audit_count(const cfix *f)
{
    return dur_snapshot_count(dur_snapshot_acquire(f->dur), DUR_AUDIT_LOG);
}

Test(cat_replace, replacing_a_view_keeps_its_identity_and_moves_its_use_edges)
{
    cfix f;
    cfix_open(&f, PERSIST_BACKEND_MEM, NULL);
    cat_ref t = ct_table(f.cat, CT_SCHEMA_PUBLIC, "t", 1);
    cat_ref u = ct_table(f.cat, CT_SCHEMA_PUBLIC, "u", 2);
    cat_ref v = ct_view(f.cat, CT_SCHEMA_PUBLIC, "v", &t, 1);
    cat_ref w = ct_view(f.cat, CT_SCHEMA_PUBLIC, "w", &v, 1);
    ct_ok1(f.cat, ct_op_comment(v, 0, "the view"));
    const cat_object *before = cat_state_find(cst(&f), v);
    uint32_t oid = before->oid;
    size_t audits = audit_count(&f);

    ct_cols cols;
    ct_cols_init(&cols, 2);
    ct_ok1(f.cat, replace_op(v, "CREATE OR REPLACE VIEW v AS SELECT c1, c2 FROM u", &cols, &u, 1));
    const cat_state *s = cst(&f);
    const cat_object *o = cat_state_find(s, v);
    cr_assert_not_null(o);
    cr_assert_eq(o->oid, oid, "the OID stays");
    cr_assert_str_eq(o->name, "v");
    cr_assert_eq(o->owner, CAT_ROLE_COWCAT);
    cr_assert_eq(o->kind, CAT_KIND_VIEW);
    cr_assert_eq(cat_state_find_relation(s, CT_SCHEMA_PUBLIC, "v"), o);
    cr_assert_eq(cat_state_find_oid(s, oid), o);
    cr_assert_eq(o->nuses, 1);
    cr_assert_eq(o->uses[0], u);
    Cowcat__Catalog__ItemValue *iv = ct_item_value(o);
    cr_assert_str_eq(iv->create_sql, "CREATE OR REPLACE VIEW v AS SELECT c1, c2 FROM u");
    cr_assert_eq(iv->n_columns, 2);
    cr_assert_str_eq(iv->columns[1]->name, "c2");
    cr_assert_eq(iv->oid, oid);
    protobuf_c_message_free_unpacked(&iv->base, NULL);
    cr_assert_str_eq(cat_state_comment(s, v, 0), "the view");
    cr_assert_gt(audit_count(&f), audits, "a replace is audited");

    /* used_by: t lost v, u gained it; v's own dependent stays */
    cr_assert_eq(cat_state_count_used_by(s, t), 0);
    ct_refs l = ct_used_by(s, u);
    ct_expect_refs(&l, &v, 1, "users of u");
    ct_refs_free(&l);
    l = ct_used_by(s, v);
    ct_expect_refs(&l, &w, 1, "users of v");
    ct_refs_free(&l);
    cr_assert_eq(cat_state_count(s, CAT_KIND_VIEW), 2);

    /* t can now be dropped alone; u cannot */
    ct_fail1(f.cat, ct_op_drop(&u, 1, CAT_DROP_RESTRICT), CC_DEPENDENTS, "2BP01", NULL, NULL);
    ct_ok1(f.cat, ct_op_drop(&t, 1, CAT_DROP_RESTRICT));

    /* the state is a function of the durable contents */
    pmap_fp fp = cat_state_fp(cst(&f));
    cfix_reopen(&f);
    cr_assert(pmap_fp_equal(cat_state_fp(cst(&f)), fp), "reopened state differs");
    ct_check_state(cst(&f), "after reopen");
    cfix_close(&f);
}

Test(cat_replace, a_view_cannot_come_to_depend_on_itself)
{
    cfix f;
    cfix_open(&f, PERSIST_BACKEND_MEM, NULL);
    cat_ref t = ct_table(f.cat, CT_SCHEMA_PUBLIC, "t", 1);
    cat_ref v = ct_view(f.cat, CT_SCHEMA_PUBLIC, "v", &t, 1);
    cat_ref w = ct_view(f.cat, CT_SCHEMA_PUBLIC, "w", &v, 1);
    cat_ref tw[] = {t, w};
    cat_ref x = ct_view(f.cat, CT_SCHEMA_PUBLIC, "x", tw, 2);
    pmap_fp fp = cat_state_fp(cst(&f));
    cc_err err;
    const char *sql = "CREATE OR REPLACE VIEW v AS SELECT 1";
    /* directly, through a dependent, through a dependent's dependent */
    cat_ref self[] = {t, v};
    ct_fail1(f.cat, replace_op(v, sql, NULL, self, 2), CC_INVALID, "42P17", NULL, &err);
    cr_assert_str_eq(err.msg, "infinite recursion detected in rules for relation \"v\"");
    ct_fail1(f.cat, replace_op(v, sql, NULL, &w, 1), CC_INVALID, "42P17", NULL, NULL);
    cat_ref tx[] = {t, x};
    ct_fail1(f.cat, replace_op(v, sql, NULL, tx, 2), CC_INVALID, "42P17", NULL, NULL);
    cr_assert(pmap_fp_equal(cat_state_fp(cst(&f)), fp), "a failed replace changed the catalog");
    /* w may read t directly: no cycle (x still reads w) */
    ct_ok1(f.cat, replace_op(w, "CREATE OR REPLACE VIEW w AS SELECT 1", NULL, &t, 1));
    cr_assert_eq(cat_state_count_used_by(cst(&f), v), 0);
    /* and now v may read x, which no longer reaches v */
    ct_ok1(f.cat, replace_op(v, sql, NULL, &x, 1));
    ct_refs l = ct_used_by(cst(&f), x);
    ct_expect_refs(&l, &v, 1, "users of x");
    ct_refs_free(&l);
    cfix_close(&f);
}

Test(cat_replace, only_an_existing_view_over_existing_relations_can_be_replaced)
{
    cfix f;
    cfix_open(&f, PERSIST_BACKEND_MEM, NULL);
    cat_ref t = ct_table(f.cat, CT_SCHEMA_PUBLIC, "t", 1);
    cat_ref v = ct_view(f.cat, CT_SCHEMA_PUBLIC, "v", &t, 1);
    cat_ref mv =
        ct_ok1(f.cat, ct_op_item(CAT_KIND_MATERIALIZED_VIEW, CT_SCHEMA_PUBLIC, "mv", &t, 1));
    pmap_fp fp = cat_state_fp(cst(&f));
    const char *sql = "CREATE OR REPLACE VIEW x AS SELECT 1";
    cc_err err;
    ct_fail1(f.cat, replace_op(t, sql, NULL, NULL, 0), CC_INVALID, "42809", NULL, &err);
    cr_assert_str_eq(err.msg, "\"t\" is not a view");
    ct_fail1(f.cat, replace_op(mv, sql, NULL, &t, 1), CC_INVALID, "42809", NULL, NULL);
    ct_fail1(f.cat, replace_op(cat_ref_make(CAT_CLASS_ITEM, false, 999), sql, NULL, NULL, 0),
             CC_NOT_FOUND, NULL, NULL, NULL);
    cat_ref missing = cat_ref_make(CAT_CLASS_ITEM, false, 999);
    ct_fail1(f.cat, replace_op(v, sql, NULL, &missing, 1), CC_NOT_FOUND, NULL, NULL, NULL);
    cat_ref role = CAT_ROLE_COWCAT;
    ct_fail1(f.cat, replace_op(v, sql, NULL, &role, 1), CC_INVALID, "42809", NULL, NULL);
    ct_fail1(f.cat, replace_op(v, "", NULL, &t, 1), CC_INVALID, NULL, NULL, NULL);
    ct_cols dup;
    ct_cols_init(&dup, 2);
    dup.col[1].name = dup.name[0];
    ct_fail1(f.cat, replace_op(v, sql, &dup, &t, 1), CC_EXISTS, "42701", NULL, NULL);
    cr_assert(pmap_fp_equal(cat_state_fp(cst(&f)), fp), "a failed replace changed the catalog");
    cfix_close(&f);
}
