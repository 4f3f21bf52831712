/*
 * tests/catalog/test_catalog_move.c — unit tests of CAT_OP_SET_SCHEMA (ALTER
 * ... SET SCHEMA) and CAT_OP_SET_SQL (a stored statement kept in step with
 * a column change), and of RENAME_COLUMN on views: what moves and what
 * stays (ids, OIDs, edges, comments), the rewrite hook's calls, PostgreSQL's
 * clash errors, limits, and that every failure changes nothing.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cat_testutil.h"

static cat_op
move_op(cat_ref ref, cat_ref schema, cat_rewrite_fn fn, void *arg)
{
    cat_op op;
    memset(&op, 0, sizeof op);
    op.kind = CAT_OP_SET_SCHEMA;
    op.u.set_schema.ref = ref;
    op.u.set_schema.schema = schema;
    op.u.set_schema.rewrite = fn;
    op.u.set_schema.rewrite_arg = arg;
    return op;
}

/* What the hook saw: one line per call "target:old-parent-name>new-parent-name". */
typedef struct calls {
    char log[512];
    size_t n;
} calls;

static cc_code
record_move(void *arg, const cat_state *s, const cat_object *target, const char *sql,
            const cat_object *renamed, const char *new_name, char **out, cc_err *err)
{
    (void)err;
    calls *c = arg;
    const cat_object *now = cat_state_find(s, renamed->ref);
    const cat_object *from = cat_state_find(s, renamed->parent);
    const cat_object *to = now != NULL ? cat_state_find(s, now->parent) : NULL;
    size_t len = strlen(c->log);
    snprintf(c->log + len, sizeof c->log - len, "%s%s:%s>%s", c->n++ ? "," : "", target->name,
             from ? from->name : "?", to ? to->name : "?");
    cr_assert_str_eq(new_name, renamed->name, "a move keeps the name");
    size_t n = strlen(sql) + 16;
    *out = malloc(n);
    snprintf(*out, n, "%s /*moved*/", sql);
    return CC_OK;
}

static cc_code
failing_rewrite(void *arg, const cat_state *s, const cat_object *target, const char *sql,
                const cat_object *renamed, const char *new_name, char **out, cc_err *err)
{
    (void)arg, (void)s, (void)target, (void)sql, (void)renamed, (void)new_name;
    *out = NULL;
    return cc_err_set(err, CC_PARSE, "cannot rewrite");
}

static const char *
sql_of(const cfix *f, cat_ref ref, char *buf, size_t cap)
{
    Cowcat__Catalog__ItemValue *v = ct_item_value(cat_state_find(cst(f), ref));
    snprintf(buf, cap, "%s", v->create_sql);
    protobuf_c_message_free_unpacked(&v->base, NULL);
    return buf;
}

Test(cat_move, set_schema_moves_a_table_with_its_indexes_and_keeps_ids_oids_and_edges)
{
    cfix f;
    cfix_open(&f, PERSIST_BACKEND_MEM, NULL);
    cat_ref s2 = ct_ok1(f.cat, ct_op_schema(CT_DB_COWCAT, "s2"));
    cat_ref t = ct_table(f.cat, CT_SCHEMA_PUBLIC, "t", 2);
    cat_ref i = ct_index(f.cat, CT_SCHEMA_PUBLIC, "t_c1_idx", t);
    cat_ref v = ct_view(f.cat, CT_SCHEMA_PUBLIC, "v", &t, 1);
    ct_ok1(f.cat, ct_op_comment(t, 1, "first column"));
    uint32_t oid = cat_state_find(cst(&f), t)->oid;
    uint64_t pub = cat_state_count_members(cst(&f), CT_SCHEMA_PUBLIC);

    calls c = {{0}, 0};
    ct_ok1(f.cat, move_op(t, s2, record_move, &c));
    const cat_state *s = cst(&f);
    const cat_object *o = cat_state_find(s, t);
    cr_assert_eq(o->parent, s2);
    cr_assert_eq(o->oid, oid, "the OID stays");
    cr_assert_eq(cat_state_find_relation(s, s2, "t"), o);
    cr_assert_null(cat_state_find_relation(s, CT_SCHEMA_PUBLIC, "t"));
    cr_assert_eq(cat_state_find(s, i)->parent, s2, "the index moves with its table");
    cr_assert_not_null(cat_state_find_relation(s, s2, "t_c1_idx"));
    cr_assert_null(cat_state_find_relation(s, CT_SCHEMA_PUBLIC, "t_c1_idx"));
    cr_assert_eq(cat_state_find(s, v)->parent, CT_SCHEMA_PUBLIC, "a dependent view stays");
    cr_assert_eq(cat_state_count_members(s, s2), 2);
    cr_assert_eq(cat_state_count_members(s, CT_SCHEMA_PUBLIC), pub - 2);
    ct_refs l = ct_used_by(s, t);
    cat_ref users[] = {i, v};
    ct_expect_refs(&l, users, 2, "users of t");
    ct_refs_free(&l);
    cr_assert_str_eq(cat_state_comment(s, t, 1), "first column");
    /* The item first, then its direct dependents, all after the move. */
    cr_assert_str_eq(c.log, "t:public>s2,t_c1_idx:public>s2,v:public>s2", "%s", c.log);
    char buf[256];
    cr_assert(strstr(sql_of(&f, v, buf, sizeof buf), "/*moved*/") != NULL, "%s", buf);
    cr_assert(strstr(sql_of(&f, i, buf, sizeof buf), "/*moved*/") != NULL, "%s", buf);

    /* Back to public: names and members follow again; the same schema is a no-op. */
    ct_ok1(f.cat, move_op(t, CT_SCHEMA_PUBLIC, NULL, NULL));
    cr_assert_not_null(cat_state_find_relation(cst(&f), CT_SCHEMA_PUBLIC, "t_c1_idx"));
    ct_mark m = ct_mark_take(f.cat);
    ct_ok1(f.cat, move_op(t, CT_SCHEMA_PUBLIC, record_move, &c));
    ct_mark_expect(f.cat, m, "moving to the current schema");
    cfix_reopen(&f);
    cr_assert_eq(cat_state_find(cst(&f), i)->parent, CT_SCHEMA_PUBLIC, "after a reopen");
    cfix_close(&f);
}

Test(cat_move, set_schema_clashes_and_wrong_targets_fail_and_change_nothing)
{
    cfix f;
    cfix_open(&f, PERSIST_BACKEND_MEM, NULL);
    cat_ref s2 = ct_ok1(f.cat, ct_op_schema(CT_DB_COWCAT, "s2"));
    cat_ref t = ct_table(f.cat, CT_SCHEMA_PUBLIC, "t", 1);
    cat_ref ti = ct_index(f.cat, CT_SCHEMA_PUBLIC, "ti", t);
    cat_ref ty = ct_ok1(f.cat, ct_op_item(CAT_KIND_TYPE, CT_SCHEMA_PUBLIC, "mood", NULL, 0));

    cat_ref x = ct_table(f.cat, s2, "t", 1);
    ct_fail1(f.cat, move_op(t, s2, NULL, NULL), CC_EXISTS, "42P07",
             "relation \"t\" already exists in schema \"s2\"", NULL);
    ct_ok1(f.cat, ct_op_drop(&x, 1, CAT_DROP_RESTRICT));
    /* An index that would move along clashes too. */
    x = ct_table(f.cat, s2, "ti", 1);
    ct_fail1(f.cat, move_op(t, s2, NULL, NULL), CC_EXISTS, "42P07",
             "relation \"ti\" already exists in schema \"s2\"", NULL);
    ct_ok1(f.cat, ct_op_drop(&x, 1, CAT_DROP_RESTRICT));
    /* A relation's row type and a type share names. */
    x = ct_ok1(f.cat, ct_op_item(CAT_KIND_TYPE, s2, "t", NULL, 0));
    ct_fail1(f.cat, move_op(t, s2, NULL, NULL), CC_EXISTS, "42710",
             "type \"t\" already exists in schema \"s2\"", NULL);
    ct_ok1(f.cat, ct_op_drop(&x, 1, CAT_DROP_RESTRICT));
    x = ct_table(f.cat, s2, "mood", 1);
    ct_fail1(f.cat, move_op(ty, s2, NULL, NULL), CC_EXISTS, "42710",
             "type \"mood\" already exists in schema \"s2\"", NULL);
    ct_ok1(f.cat, ct_op_drop(&x, 1, CAT_DROP_RESTRICT));

    cc_err e;
    ct_fail1(f.cat, move_op(ti, s2, NULL, NULL), CC_INVALID, "42809",
             "cannot change schema of index \"ti\"", &e);
    cr_assert_str_eq(e.hint, "Change the schema of the table instead.");
    ct_fail1(f.cat, move_op(t, t, NULL, NULL), CC_INVALID, "42809", "\"t\" is not a schema", NULL);
    ct_fail1(f.cat, move_op(s2, CT_SCHEMA_PUBLIC, NULL, NULL), CC_INVALID, "42809", NULL, NULL);
    ct_fail1(f.cat, move_op(cat_ref_make(CAT_CLASS_ITEM, false, 999), s2, NULL, NULL), CC_NOT_FOUND,
             NULL, NULL, NULL);
    /* Another database's schema. */
    cat_ref db2 = ct_ok1(f.cat, ct_op_database("db2"));
    cat_ref s3 = ct_ok1(f.cat, ct_op_schema(db2, "s3"));
    ct_fail1(f.cat, move_op(t, s3, NULL, NULL), CC_INVALID, "0A000", NULL, NULL);
    /* A failing rewrite fails the move. */
    ct_fail1(f.cat, move_op(t, s2, failing_rewrite, NULL), CC_PARSE, NULL, "cannot rewrite", NULL);
    cr_assert_eq(cat_state_find(cst(&f), t)->parent, CT_SCHEMA_PUBLIC);
    cfix_close(&f);
}

Test(cat_move, set_schema_counts_toward_the_target_schemas_object_limit)
{
    cfix f;
    cfix_open(&f, PERSIST_BACKEND_MEM, NULL);
    cat_ref s2 = ct_ok1(f.cat, ct_op_schema(CT_DB_COWCAT, "s2"));
    ct_table(f.cat, s2, "a", 1);
    cat_ref t = ct_table(f.cat, CT_SCHEMA_PUBLIC, "t", 1);
    ct_ok1(f.cat, ct_op_config_set("max_objects_per_schema", "1"));
    ct_fail1(f.cat, move_op(t, s2, NULL, NULL), CC_LIMIT, "53400", NULL, NULL);
    ct_ok1(f.cat, ct_op_config_set("max_objects_per_schema", "2"));
    ct_ok1(f.cat, move_op(t, s2, NULL, NULL));
    cfix_close(&f);
}

static cat_op
sql_op(cat_ref ref, const char *sql, size_t n, const char *const *names, const char *const *exprs)
{
    cat_op op;
    memset(&op, 0, sizeof op);
    op.kind = CAT_OP_SET_SQL;
    op.u.set_sql.ref = ref;
    op.u.set_sql.create_sql = sql;
    op.u.set_sql.nchecks = n;
    op.u.set_sql.check_names = names;
    op.u.set_sql.check_exprs = exprs;
    return op;
}

Test(cat_move, set_sql_replaces_the_statement_and_named_check_expressions_only)
{
    cfix f;
    cfix_open(&f, PERSIST_BACKEND_MEM, NULL);
    ct_cols cols;
    ct_cols_init(&cols, 2);
    Cowcat__Catalog__Constraint k = COWCAT__CATALOG__CONSTRAINT__INIT;
    Cowcat__Catalog__Constraint *kp = &k;
    char *kcols[] = {"c1"};
    k.name = "t_c1_check";
    k.kind = COWCAT__CATALOG__CONSTRAINT_KIND__CONSTRAINT_KIND_CHECK;
    k.n_columns = 1;
    k.columns = kcols;
    k.check_expr = "c1 > 0";
    cat_op create = ct_op_table(CT_SCHEMA_PUBLIC, "t", &cols);
    create.u.create_item.nconstraints = 1;
    create.u.create_item.constraints = &kp;
    cat_ref t = ct_ok1(f.cat, create);
    cat_ref v = ct_view(f.cat, CT_SCHEMA_PUBLIC, "v", &t, 1);
    uint32_t oid = cat_state_find(cst(&f), t)->oid;

    const char *names[] = {"t_c1_check"}, *exprs[] = {"c1 > 1"};
    ct_ok1(f.cat, sql_op(t, "CREATE TABLE t (c1 int CHECK (c1 > 1), c2 int)", 1, names, exprs));
    Cowcat__Catalog__ItemValue *iv = ct_item_value(cat_state_find(cst(&f), t));
    cr_assert_str_eq(iv->create_sql, "CREATE TABLE t (c1 int CHECK (c1 > 1), c2 int)");
    cr_assert_str_eq(iv->constraints[0]->check_expr, "c1 > 1");
    cr_assert_str_eq(iv->constraints[0]->name, "t_c1_check");
    cr_assert_eq(iv->n_columns, 2);
    cr_assert_eq(iv->oid, oid);
    protobuf_c_message_free_unpacked(&iv->base, NULL);
    ct_refs l = ct_used_by(cst(&f), t);
    ct_expect_refs(&l, &v, 1, "users of t");
    ct_refs_free(&l);

    const char *bad[] = {"nosuch"};
    ct_fail1(f.cat, sql_op(t, "CREATE TABLE t (c1 int)", 1, bad, exprs), CC_NOT_FOUND, "42704",
             "constraint \"nosuch\" of relation \"t\" does not exist", NULL);
    ct_fail1(f.cat, sql_op(t, "", 0, NULL, NULL), CC_INVALID, NULL, NULL, NULL);
    ct_fail1(f.cat, sql_op(t, "CREATE TABLE t (c1 int)", 1, NULL, NULL), CC_INVALID, NULL, NULL,
             NULL);
    ct_fail1(f.cat, sql_op(CT_SCHEMA_PUBLIC, "x", 0, NULL, NULL), CC_INVALID, "42809", NULL, NULL);
    cfix_close(&f);
}

Test(cat_move, rename_column_renames_a_views_output_column_and_its_index_columns)
{
    cfix f;
    cfix_open(&f, PERSIST_BACKEND_MEM, NULL);
    cat_ref t = ct_table(f.cat, CT_SCHEMA_PUBLIC, "t", 1);
    ct_cols cols;
    ct_cols_init(&cols, 2);
    cat_op mv = ct_op_item(CAT_KIND_MATERIALIZED_VIEW, CT_SCHEMA_PUBLIC, "mv", &t, 1);
    mv.u.create_item.ncolumns = cols.n;
    mv.u.create_item.columns = cols.ptr;
    cat_ref m = ct_ok1(f.cat, mv);
    ct_cols icols;
    ct_cols_init(&icols, 1);
    snprintf(icols.name[0], sizeof icols.name[0], "c2");
    cat_op ix = ct_op_item(CAT_KIND_INDEX, CT_SCHEMA_PUBLIC, "mi", &m, 1);
    ix.u.create_item.ncolumns = icols.n;
    ix.u.create_item.columns = icols.ptr;
    cat_ref mi = ct_ok1(f.cat, ix);

    cat_op op;
    memset(&op, 0, sizeof op);
    op.kind = CAT_OP_RENAME_COLUMN;
    op.u.column.table = m;
    op.u.column.name = "c2";
    op.u.column.new_name = "z";
    ct_ok1(f.cat, op);
    Cowcat__Catalog__ItemValue *v = ct_item_value(cat_state_find(cst(&f), m));
    cr_assert_str_eq(v->columns[1]->name, "z");
    protobuf_c_message_free_unpacked(&v->base, NULL);
    v = ct_item_value(cat_state_find(cst(&f), mi));
    cr_assert_str_eq(v->columns[0]->name, "z");
    protobuf_c_message_free_unpacked(&v->base, NULL);
    /* Columns of an index or a type cannot be renamed; ADD COLUMN stays for tables. */
    op.u.column.table = mi;
    op.u.column.name = "z";
    op.u.column.new_name = "y";
    ct_fail1(f.cat, op, CC_INVALID, "42809", "\"mi\" is not a table", NULL);
    op.kind = CAT_OP_DROP_COLUMN;
    op.u.column.table = m;
    ct_fail1(f.cat, op, CC_INVALID, "42809", "\"mv\" is not a table", NULL);
    cfix_close(&f);
}
