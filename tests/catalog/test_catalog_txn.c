/*
 * tests/catalog/test_catalog_txn.c — unit tests of transactions (working
 * versions, poisoning, abort, empty transactions, created refs, on_commit
 * change lists, audit events), walks (order, early stop), reopening, and
 * readers (a pinned version across commits, a referenced object after its
 * drop, a reader thread during commits).
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cat_testutil.h"

/* ---- transactions ---------------------------------------------------------------------------- */

Test(cat_txn, ops_of_a_transaction_see_each_other_and_publish_only_at_commit)
{
    cfix f;
    cfix_open(&f, PERSIST_BACKEND_MEM, NULL);
    ct_mark m = ct_mark_take(f.cat);
    cat_txn *txn;
    cc_err err;
    cr_assert_eq(cat_txn_begin(f.cat, &(cat_actor){"cowcat", 1}, &txn, &err), CC_OK, "%s", err.msg);
    cat_op op = ct_op_schema(CT_DB_COWCAT, "s");
    cat_ref s = 0, t = 0, v = 0;
    cr_assert_eq(cat_txn_apply(txn, &op, &s, &err), CC_OK, "%s", err.msg);
    op = ct_op_table(s, "t", NULL);
    cr_assert_eq(cat_txn_apply(txn, &op, &t, &err), CC_OK, "%s", err.msg);
    op = ct_op_item(CAT_KIND_VIEW, s, "v", &t, 1);
    cr_assert_eq(cat_txn_apply(txn, &op, &v, &err), CC_OK, "%s", err.msg);
    const cat_state *ts = cat_txn_state(txn);
    cr_assert_eq(cat_state_find_relation(ts, s, "t")->ref, t);
    cr_assert_eq(cat_state_count_used_by(ts, t), 1);
    cr_assert_eq(cat_state_count_members(ts, s), 2);
    cc_err_clear(&err);
    cr_assert_eq(cat_txn_check(txn, NULL, NULL, &err), CC_OK, "the working version: %s", err.msg);
    /* the published version is untouched until commit */
    cr_assert_null(cat_state_find_schema(cst(&f), CT_DB_COWCAT, "s"));
    ct_mark_expect(f.cat, m, "before commit");
    cr_assert_eq(cat_txn_commit(txn, &err), CC_OK, "%s", err.msg);
    const cat_state *st = cst(&f);
    ct_check_state(st, "after commit");
    cr_assert_eq(cat_state_find_schema(st, CT_DB_COWCAT, "s")->ref, s);
    cr_assert_eq(cat_state_find_relation(st, s, "v")->ref, v);
    cr_assert_eq(dur_upper(f.dur), m.dur_upper + 1, "one transaction, one append");
    cfix_close(&f);
}

Test(cat_txn, a_failing_op_poisons_the_transaction_and_abort_changes_nothing)
{
    cfix f;
    cfix_open(&f, PERSIST_BACKEND_MEM, NULL);
    ct_table(f.cat, CT_SCHEMA_PUBLIC, "t", 1);
    ct_mark m = ct_mark_take(f.cat);
    cat_txn *txn;
    cc_err err;
    cr_assert_eq(cat_txn_begin(f.cat, NULL, &txn, &err), CC_OK, "%s", err.msg);
    cat_op a = ct_op_table(CT_SCHEMA_PUBLIC, "a", NULL);
    cat_op dup = ct_op_table(CT_SCHEMA_PUBLIC, "t", NULL);
    cat_op b = ct_op_table(CT_SCHEMA_PUBLIC, "b", NULL);
    cr_assert_eq(cat_txn_apply(txn, &a, NULL, &err), CC_OK, "%s", err.msg);
    cr_assert_eq(cat_txn_apply(txn, &dup, NULL, &err), CC_EXISTS);
    cr_assert_neq(cat_txn_apply(txn, &b, NULL, &err), CC_OK, "a poisoned transaction takes no op");
    cr_assert_neq(cat_txn_commit(txn, &err), CC_OK, "a poisoned transaction does not commit");
    ct_mark_expect(f.cat, m, "after the poisoned transaction");
    cr_assert_null(cat_state_find_relation(cst(&f), CT_SCHEMA_PUBLIC, "a"));

    cr_assert_eq(cat_txn_begin(f.cat, NULL, &txn, &err), CC_OK, "%s", err.msg);
    cr_assert_eq(cat_txn_apply(txn, &a, NULL, &err), CC_OK, "%s", err.msg);
    cat_txn_abort(txn);
    ct_mark_expect(f.cat, m, "after abort");
    cr_assert_null(cat_state_find_relation(cst(&f), CT_SCHEMA_PUBLIC, "a"));
    /* and the catalog takes the next transaction */
    ct_ok1(f.cat, a);
    cfix_close(&f);
}

Test(cat_txn, an_empty_transaction_writes_nothing_and_created_slots_are_zero_for_other_ops)
{
    cfix f;
    cfix_open(&f, PERSIST_BACKEND_MEM, NULL);
    ct_mark m = ct_mark_take(f.cat);
    cc_err err;
    cr_assert_eq(cat_transact(f.cat, NULL, NULL, 0, NULL, &err), CC_OK, "%s", err.msg);
    ct_mark_expect(f.cat, m, "an empty transaction");
    cat_ref t = ct_table(f.cat, CT_SCHEMA_PUBLIC, "t", 1);
    cat_op ops[] = {ct_op_comment(t, 0, "c"), ct_op_table(CT_SCHEMA_PUBLIC, "u", NULL),
                    ct_op_rename(t, "t2")};
    cat_ref created[3] = {77, 77, 77};
    ct_ok(f.cat, ops, 3, created);
    cr_assert_eq(created[0], 0);
    cr_assert_eq(created[1], cat_state_find_relation(cst(&f), CT_SCHEMA_PUBLIC, "u")->ref);
    cr_assert_eq(created[2], 0);
    cfix_close(&f);
}

typedef struct change_log {
    int commits;
    uint64_t uppers[64];
    int plus, minus;    /* changes of the last commit */
    cat_ref refs[16];   /* refs of the last commit's changes */
    int diffs[16];      /* their diffs */
    char names[16][16]; /* their names */
    int n;              /* changes of the last commit */
} change_log;

static void
log_changes(void *arg, const cat_change *changes, size_t n, uint64_t upper)
{
    change_log *l = arg;
    if (l->commits < 64)
        l->uppers[l->commits] = upper;
    l->commits++;
    l->plus = l->minus = 0;
    l->n = 0;
    for (size_t i = 0; i < n; i++) {
        if (changes[i].diff > 0)
            l->plus++;
        else
            l->minus++;
        if (l->n < 16) {
            l->refs[l->n] = changes[i].object->ref;
            l->diffs[l->n] = changes[i].diff;
            snprintf(l->names[l->n], sizeof l->names[l->n], "%s", changes[i].object->name);
            l->n++;
        }
    }
}

static bool
logged(const change_log *l, cat_ref r, int diff, const char *name)
{
    for (int i = 0; i < l->n; i++)
        if (l->refs[i] == r && l->diffs[i] == diff && strcmp(l->names[i], name) == 0)
            return true;
    return false;
}

Test(cat_txn, on_commit_reports_the_changed_objects_with_their_diffs)
{
    change_log log;
    memset(&log, 0, sizeof log);
    cat_options o = {0};
    o.on_commit = log_changes;
    o.on_commit_arg = &log;
    o.check = CAT_CHECK_INCREMENTAL;
    cfix f;
    cfix_open(&f, PERSIST_BACKEND_MEM, &o);
    cat_ref t = ct_table(f.cat, CT_SCHEMA_PUBLIC, "t", 1);
    cr_assert_eq(log.commits, 1);
    cr_assert_eq(log.uppers[0], dur_upper(f.dur));
    cr_assert(logged(&log, t, +1, "t"), "the created table arrives");
    cr_assert_eq(log.minus, 0, "a create retracts nothing");

    ct_ok1(f.cat, ct_op_rename(t, "t2"));
    cr_assert_eq(log.commits, 2);
    cr_assert(logged(&log, t, -1, "t"), "the old version leaves");
    cr_assert(logged(&log, t, +1, "t2"), "the new version arrives");

    ct_ok1(f.cat, ct_op_drop(&t, 1, CAT_DROP_RESTRICT));
    cr_assert_eq(log.commits, 3);
    cr_assert(logged(&log, t, -1, "t2"));
    cr_assert_eq(log.plus, 0);
    cr_assert_lt(log.uppers[0], log.uppers[1]);
    cr_assert_lt(log.uppers[1], log.uppers[2]);

    /* a failed transaction reports nothing */
    ct_fail1(f.cat, ct_op_drop(&t, 1, CAT_DROP_RESTRICT), CC_NOT_FOUND, NULL, NULL, NULL);
    cr_assert_eq(log.commits, 3);
    cfix_close(&f);
}

/* ---- walks
 * ---------------------------------------------------------------------------------------- */

typedef struct stopper {
    int seen;
    int stop_at;
} stopper;

static int
stop_at(void *arg, const cat_object *o)
{
    stopper *st = arg;
    (void)o;
    return ++st->seen == st->stop_at ? 7 : 0;
}

Test(cat_walk, walks_go_in_ref_order_and_stop_at_the_first_nonzero_result)
{
    cfix f;
    cfix_open(&f, PERSIST_BACKEND_MEM, NULL);
    cat_ref t[5];
    for (int i = 0; i < 5; i++) {
        char name[8];
        snprintf(name, sizeof name, "t%d", i);
        t[i] = ct_table(f.cat, CT_SCHEMA_PUBLIC, name, 1);
    }
    cat_ref v = ct_view(f.cat, CT_SCHEMA_PUBLIC, "v", t, 5);
    const cat_state *s = cst(&f);
    ct_refs m = ct_members(s, CT_SCHEMA_PUBLIC); /* asserts ascending */
    cr_assert_eq(m.n, 6);
    ct_refs_free(&m);
    stopper st = {0, 3};
    cr_assert_eq(cat_state_walk_members(s, CT_SCHEMA_PUBLIC, stop_at, &st), 7);
    cr_assert_eq(st.seen, 3, "the walk stops at the first non-zero result");
    st = (stopper){0, 2};
    cr_assert_eq(cat_state_walk_all(s, stop_at, &st), 7);
    cr_assert_eq(st.seen, 2);
    for (int i = 0; i < 5; i++) {
        ct_refs l = ct_used_by(s, t[i]);
        ct_expect_refs(&l, &v, 1, "users");
        ct_refs_free(&l);
    }
    cr_assert_geq(cat_state_count_owned(s, CAT_ROLE_COWCAT), 6 + 2,
                  "cowcat owns the tables, the view, its database and public");
    cr_assert_eq(cat_state_count_members(s, cat_ref_make(CAT_CLASS_SCHEMA, false, 4242)), 0);
    cr_assert_eq(cat_state_count_used_by(s, cat_ref_make(CAT_CLASS_ITEM, false, 4242)), 0);
    cfix_close(&f);
}

Test(cat_open, a_reopened_catalog_has_the_same_fingerprint_and_objects)
{
    cfix f;
    cfix_open(&f, PERSIST_BACKEND_FILE, NULL);
    cat_ref t = ct_table(f.cat, CT_SCHEMA_PUBLIC, "t", 2);
    cat_ref v = ct_view(f.cat, CT_SCHEMA_PUBLIC, "v", &t, 1);
    ct_ok1(f.cat, ct_op_comment(t, 1, "col"));
    ct_ok1(f.cat, ct_op_config_set("max_views", "9"));
    ct_index(f.cat, CT_SCHEMA_PUBLIC, "i", t);
    pmap_fp fp = cat_state_fp(cst(&f));
    cfix_reopen(&f);
    const cat_state *s = cst(&f);
    ct_check_state(s, "after reopen");
    cr_assert(pmap_fp_equal(cat_state_fp(s), fp), "reopen gives the same fingerprint");
    cr_assert_eq(cat_state_find_relation(s, CT_SCHEMA_PUBLIC, "v")->ref, v);
    cr_assert_eq(cat_state_count_used_by(s, t), 2);
    cr_assert_str_eq(cat_state_comment(s, t, 1), "col");
    cr_assert_eq(cat_state_limit(s, CAT_LIMIT_VIEWS), 9);
    /* and new objects after the reopen get fresh ids */
    cat_ref u = ct_table(f.cat, CT_SCHEMA_PUBLIC, "u", 1);
    cr_assert_gt(cat_ref_value(u), cat_ref_value(v));
    cfix_close(&f);
}

/* ---- versions and readers ------------------------------------------------------------------- */

Test(cat_read, a_pinned_version_and_a_referenced_object_outlive_later_commits)
{
    cfix f;
    cfix_open(&f, PERSIST_BACKEND_MEM, NULL);
    cat_ref t = ct_table(f.cat, CT_SCHEMA_PUBLIC, "t", 2);
    pmap_reader *r;
    cr_assert_eq(pmap_reader_new(cat_catalog_domain(f.cat), &r, NULL), CC_OK);
    pmap_reader_pin(r);
    const cat_state *v1 = cat_state_acquire(f.cat);
    pmap_fp fp1 = cat_state_fp(v1);
    const cat_object *o = cat_object_ref(cat_state_find(v1, t));
    for (int i = 0; i < 200; i++) {
        char name[16];
        snprintf(name, sizeof name, "n%d", i);
        ct_table(f.cat, CT_SCHEMA_PUBLIC, name, 1);
    }
    ct_ok1(f.cat, ct_op_drop(&t, 1, CAT_DROP_RESTRICT));
    cr_assert_eq(cat_state_count(v1, CAT_KIND_TABLE), 1, "the old version does not change");
    cr_assert(pmap_fp_equal(cat_state_fp(v1), fp1));
    cr_assert_eq(cat_state_find_relation(v1, CT_SCHEMA_PUBLIC, "t")->ref, t);
    cr_assert_null(cat_state_find_relation(v1, CT_SCHEMA_PUBLIC, "n0"));
    ct_check_state(v1, "the pinned old version");
    pmap_reader_unpin(r);
    pmap_reader_free(r);
    /* the referenced object outlives its versions */
    cr_assert_null(cat_state_find(cst(&f), t));
    cr_assert_str_eq(o->name, "t");
    Cowcat__Catalog__ItemValue *v = ct_item_value(o);
    cr_assert_eq(v->n_columns, 2);
    protobuf_c_message_free_unpacked(&v->base, NULL);
    cat_object_unref(o);
    cr_assert_eq(cat_state_count(cst(&f), CAT_KIND_TABLE), 200);
    cfix_close(&f);
}

typedef struct reader_arg {
    cat_catalog *cat;
    atomic_int stop;
    long reads;
    char failure[128];
} reader_arg;

/* Reads published versions while the writer commits: each version is internally consistent. */
static void *
reader_main(void *p)
{
    reader_arg *a = p;
    pmap_reader *r;
    if (pmap_reader_new(cat_catalog_domain(a->cat), &r, NULL) != CC_OK) {
        snprintf(a->failure, sizeof a->failure, "pmap_reader_new");
        return NULL;
    }
    while (!atomic_load(&a->stop) && a->failure[0] == '\0') {
        pmap_reader_pin(r);
        const cat_state *s = cat_state_acquire(a->cat);
        uint64_t tables = cat_state_count(s, CAT_KIND_TABLE);
        uint64_t views = cat_state_count(s, CAT_KIND_VIEW);
        uint64_t members = cat_state_count_members(s, CT_SCHEMA_PUBLIC);
        if (members != tables + views)
            snprintf(a->failure, sizeof a->failure, "members %llu != tables %llu + views %llu",
                     (unsigned long long)members, (unsigned long long)tables,
                     (unsigned long long)views);
        const cat_object *o = cat_state_find_relation(s, CT_SCHEMA_PUBLIC, "hot");
        if (o != NULL && strcmp(o->name, "hot") != 0)
            snprintf(a->failure, sizeof a->failure, "found hot as %s", o->name);
        pmap_reader_unpin(r);
        a->reads++;
    }
    pmap_reader_free(r);
    return NULL;
}

Test(cat_read, readers_on_another_thread_see_consistent_versions_during_commits)
{
    cfix f;
    cfix_open(&f, PERSIST_BACKEND_MEM, NULL);
    reader_arg a;
    memset(&a, 0, sizeof a);
    a.cat = f.cat;
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, reader_main, &a), 0);
    cat_ref hot = 0;
    for (int i = 0; i < 300 && a.failure[0] == '\0'; i++) {
        char name[16];
        snprintf(name, sizeof name, "t%d", i);
        cat_ref t = ct_table(f.cat, CT_SCHEMA_PUBLIC, name, 1);
        if (i % 3 == 0)
            ct_view(f.cat, CT_SCHEMA_PUBLIC, i % 2 ? "hot" : "cold", &t, 1);
        if (i % 3 == 2) {
            const cat_object *h =
                cat_state_find_relation(cst(&f), CT_SCHEMA_PUBLIC, i % 2 ? "cold" : "hot");
            if (h != NULL) {
                hot = h->ref;
                ct_ok1(f.cat, ct_op_drop(&hot, 1, CAT_DROP_RESTRICT));
            }
        }
    }
    atomic_store(&a.stop, 1);
    pthread_join(th, NULL);
    cr_assert_eq(a.failure[0], '\0', "reader: %s", a.failure);
    cr_assert_gt(a.reads, 0);
    cfix_close(&f);
}

Test(cat_txn, every_commit_writes_audit_events_and_a_failed_one_none)
{
    cfix f;
    cfix_open(&f, PERSIST_BACKEND_MEM, NULL);
    size_t a0 = dur_snapshot_count(dur_snapshot_acquire(f.dur), DUR_AUDIT_LOG);
    cat_ref t = ct_table(f.cat, CT_SCHEMA_PUBLIC, "t", 1);
    size_t a1 = dur_snapshot_count(dur_snapshot_acquire(f.dur), DUR_AUDIT_LOG);
    cr_assert_gt(a1, a0, "a create is audited");
    ct_fail1(f.cat, ct_op_table(CT_SCHEMA_PUBLIC, "t", NULL), CC_EXISTS, "42P07", NULL, NULL);
    cr_assert_eq(dur_snapshot_count(dur_snapshot_acquire(f.dur), DUR_AUDIT_LOG), a1);
    ct_ok1(f.cat, ct_op_rename(t, "t2"));
    size_t a2 = dur_snapshot_count(dur_snapshot_acquire(f.dur), DUR_AUDIT_LOG);
    cr_assert_gt(a2, a1, "a rename is audited");
    ct_ok1(f.cat, ct_op_drop(&t, 1, CAT_DROP_RESTRICT));
    cr_assert_gt(dur_snapshot_count(dur_snapshot_acquire(f.dur), DUR_AUDIT_LOG), a2,
                 "a drop is audited");
    cfix_close(&f);
}

/* ---- checks, callbacks that fail, fencing ------------------------------------------------------
 */

static cc_code
refuse_bad_sql(void *arg, const char *create_sql, cc_err *err)
{
    (void)arg;
    if (strstr(create_sql, "BAD") != NULL)
        return cc_err_set(err, CC_PARSE, "syntax error at or near \"BAD\"");
    return CC_OK;
}

Test(cat_check, a_full_check_with_a_parser_refuses_a_commit_whose_create_sql_does_not_parse)
{
    cat_options o = {0};
    o.parse = refuse_bad_sql;
    o.check = CAT_CHECK_FULL;
    cfix f;
    cfix_open(&f, PERSIST_BACKEND_MEM, &o);
    ct_table(f.cat, CT_SCHEMA_PUBLIC, "good", 1);
    cat_op op = ct_op_table(CT_SCHEMA_PUBLIC, "bad", NULL);
    op.u.create_item.create_sql = "CREATE BAD TABLE";
    cc_err err;
    ct_fail1(f.cat, op, CC_CORRUPT, NULL, NULL, &err);
    cr_assert(strstr(err.msg, "does not parse") != NULL || strstr(err.msg, "BAD") != NULL,
              "names the parse failure: %s", err.msg);
    cr_assert_null(cat_state_find_relation(cst(&f), CT_SCHEMA_PUBLIC, "bad"));
    cfix_close(&f);
}

Test(cat_check, cat_check_runs_the_parser_over_every_item)
{
    cfix f;
    cfix_open(&f, PERSIST_BACKEND_MEM, NULL);
    cat_op op = ct_op_table(CT_SCHEMA_PUBLIC, "bad", NULL);
    op.u.create_item.create_sql = "CREATE BAD TABLE";
    cat_ref bad = ct_ok1(f.cat, op); /* no parser configured: accepted */
    cc_err err;
    cc_err_clear(&err);
    cr_assert_eq(cat_check(cst(&f), refuse_bad_sql, NULL, &err), CC_CORRUPT);
    cr_assert(strstr(err.msg, "syntax error at or near \"BAD\"") != NULL,
              "the report carries the parser's message: %s", err.msg);
    cr_assert_eq(cat_check(cst(&f), NULL, NULL, &err), CC_OK, "%s", err.msg);
    cr_assert_eq(cat_check_ids(cst(&f), &bad, 1, &err), CC_OK, "%s", err.msg);
    cfix_close(&f);
}

static cc_code
failing_rewrite(void *arg, const cat_state *s, const cat_object *target, const char *sql,
                const cat_object *renamed, const char *new_name, char **out, cc_err *err)
{
    (void)arg;
    (void)s;
    (void)target;
    (void)sql;
    (void)renamed;
    (void)new_name;
    *out = NULL;
    return cc_err_set(err, CC_PARSE, "cannot rewrite");
}

Test(cat_rename, a_failing_rewrite_fails_the_rename_and_changes_nothing)
{
    cfix f;
    cfix_open(&f, PERSIST_BACKEND_MEM, NULL);
    cat_ref t = ct_table(f.cat, CT_SCHEMA_PUBLIC, "t", 1);
    ct_view(f.cat, CT_SCHEMA_PUBLIC, "v", &t, 1);
    cat_op op = ct_op_rename(t, "t2");
    op.u.rename.rewrite = failing_rewrite;
    cc_err err;
    ct_fail1(f.cat, op, CC_PARSE, NULL, NULL, &err);
    cr_assert_str_eq(err.msg, "cannot rewrite");
    cr_assert_not_null(cat_state_find_relation(cst(&f), CT_SCHEMA_PUBLIC, "t"));
    cfix_close(&f);
}

Test(cat_txn, a_second_transaction_cannot_begin_while_one_is_open)
{
    cfix f;
    cfix_open(&f, PERSIST_BACKEND_MEM, NULL);
    cat_txn *a, *b;
    cc_err err;
    cr_assert_eq(cat_txn_begin(f.cat, NULL, &a, &err), CC_OK, "%s", err.msg);
    cr_assert_eq(cat_txn_begin(f.cat, NULL, &b, &err), CC_INVALID, "one writer transaction");
    cat_txn_abort(a);
    cr_assert_eq(cat_txn_begin(f.cat, NULL, &b, &err), CC_OK, "%s", err.msg);
    cat_txn_abort(b);
    cfix_close(&f);
}

Test(cat_txn, a_fenced_writer_fails_every_transaction_and_keeps_its_state)
{
    cfix f;
    cfix_open(&f, PERSIST_BACKEND_MEM, NULL);
    ct_table(f.cat, CT_SCHEMA_PUBLIC, "t", 1);
    /* a second writer on the same shard fences the first */
    dur_catalog *dur2 = dopen_external(f.p.c);
    cat_catalog *cat2 = copen(dur2, &f.o);
    ct_mark m = ct_mark_take(f.cat);
    cat_op lost = ct_op_table(CT_SCHEMA_PUBLIC, "lost", NULL);
    cc_err err;
    cr_assert_eq(cat_transact(f.cat, NULL, &lost, 1, NULL, &err), CC_FENCED, "%s", err.msg);
    cr_assert_str_eq(cc_err_sqlstate(&err), "25006");
    cat_txn *txn;
    cr_assert_eq(cat_txn_begin(f.cat, NULL, &txn, &err), CC_FENCED, "every later call fails");
    /* the content stays; the version may have caught up with what the durable snapshot read
     * when it met the newer fence token (durable.h), but is exact for its upper */
    const cat_state *s = cst(&f);
    cr_assert(pmap_fp_equal(cat_state_fp(s), m.fp), "the fenced writer's version changed");
    cr_assert_geq(cat_state_upper(s), m.upper);
    cr_assert_eq(cat_state_upper(s), dur_upper(f.dur));
    cr_assert_null(cat_state_find_relation(s, CT_SCHEMA_PUBLIC, "lost"));
    /* the new writer sees t and not the lost table, and works */
    cr_assert_not_null(cat_state_find_relation(cat_state_acquire(cat2), CT_SCHEMA_PUBLIC, "t"));
    cr_assert_null(cat_state_find_relation(cat_state_acquire(cat2), CT_SCHEMA_PUBLIC, "lost"));
    ct_table(cat2, CT_SCHEMA_PUBLIC, "won", 1);
    cat_close(cat2);
    dur_close(dur2);
    cfix_close(&f);
}
