/*
 * tests/catalog/test_catalog_durable.c — the catalog over its durable shard:
 *   followers   a follower on the same persist client sees every commit of
 *               a writer, in order, with the writer's fingerprint after each;
 *   I/O faults  a failed write / fdatasync (and a failed repair) during a
 *               commit; reopened from disk the state is exactly the one
 *               before or the one after, never a mix;
 *   allocation  N = 1, 2, ... allocation failures through a transaction:
 *               each fails with NOMEM and changes nothing (the commit part
 *               runs in a forked child per N, because persist stops the
 *               process on an allocation failure after a durable append);
 *   scale       COWCAT_SCALE_OBJECTS tables (default 200,000) in batches of
 *               1,000, then single creates, drops and renames still work
 *               and cat_check passes.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "cat_testutil.h"
#include "persist/io.h"
#include "testutil.h"

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- followers ---------------------------------------------------------------------------------
 */

#define LOG_MAX 1024

typedef struct commit_log {
    size_t n;                 /* callbacks so far */
    uint64_t uppers[LOG_MAX]; /* their uppers */
    size_t nchanges[LOG_MAX]; /* and change counts */
    size_t arrived;           /* +1 changes in total */
} commit_log;

static void
log_commit(void *arg, const cat_change *changes, size_t n, uint64_t upper)
{
    commit_log *l = arg;
    if (l->n < LOG_MAX) {
        l->uppers[l->n] = upper;
        l->nchanges[l->n] = n;
    }
    l->n++;
    for (size_t i = 0; i < n; i++)
        if (changes[i].diff > 0)
            l->arrived++;
}

/* Drops refs that no longer exist in s. */
static void
prune(ct_refs *l, const cat_state *s)
{
    size_t k = 0;
    for (size_t i = 0; i < l->n; i++)
        if (cat_state_find(s, l->r[i]) != NULL)
            l->r[k++] = l->r[i];
    l->n = k;
}

/* The first way the on_commit change lists broke the header's promise, or "". */
typedef struct callbacks {
    char mismatch[320];
} callbacks;

/*
 * A writer runs seeded transactions (creates, views, renames, comments,
 * cascade drops) while a follower on the same client applies each append:
 * after every commit the follower's upper and fingerprint equal the writer's
 * (asserted). How on_commit reported the commits goes to *cb.
 */
static void
follow(persist_backend_kind kind, callbacks *cb)
{
    memset(cb, 0, sizeof *cb);
    uint64_t seed = tu_seed("cat_follow");
    tu_rng r;
    tu_rng_init(&r, seed);
    commit_log *wlog = calloc(1, sizeof *wlog), *flog = calloc(1, sizeof *flog);
    cr_assert(wlog != NULL && flog != NULL);
    cat_options wo = {0};
    wo.on_commit = log_commit;
    wo.on_commit_arg = wlog;
    wo.check = CAT_CHECK_INCREMENTAL;
    cfix f;
    cfix_open(&f, kind, &wo);
    ct_table(f.cat, CT_SCHEMA_PUBLIC, "before_the_follower", 1);

    cat_options fo = {0};
    fo.on_commit = log_commit;
    fo.on_commit_arg = flog;
    fo.check = CAT_CHECK_INCREMENTAL;
    cat_catalog *fol;
    cc_err err;
    cr_assert_eq(cat_open_follower(f.p.c, &fo, &fol, &err), CC_OK, "%s", err.msg);
    cr_assert(pmap_fp_equal(cat_state_fp(cat_state_acquire(fol)), cat_state_fp(cst(&f))),
              "a new follower starts at the writer's version");
    cr_assert_not_null(
        cat_state_find_relation(cat_state_acquire(fol), CT_SCHEMA_PUBLIC, "before_the_follower"));
    cat_txn *ro_txn;
    cr_assert_neq(cat_txn_begin(fol, NULL, &ro_txn, &err), CC_OK, "a follower cannot write");

    size_t wbase = wlog->n, warrived = wlog->arrived;
    uint64_t start = cat_state_upper(cst(&f));
    ct_refs tables = {0}, views = {0};
    int steps = 150;
    for (int step = 0; step < steps; step++) {
        cat_op ops[3];
        char names[3][24];
        cat_ref use = 0;
        int nops = 1 + (int)tu_rng_below(&r, 3);
        for (int i = 0; i < nops; i++) {
            uint64_t x = tu_rng_below(&r, 100);
            snprintf(names[i], sizeof names[i], "o%d_%d", step, i);
            if (x < 35 || tables.n == 0) {
                ops[i] = ct_op_table(CT_SCHEMA_PUBLIC, names[i], NULL);
            } else if (x < 55) {
                use = tables.r[tu_rng_below(&r, tables.n)];
                ops[i] = ct_op_item(CAT_KIND_VIEW, CT_SCHEMA_PUBLIC, names[i], &use, 1);
            } else if (x < 70) {
                ops[i] = ct_op_rename(tables.r[tu_rng_below(&r, tables.n)], names[i]);
            } else if (x < 85) {
                ops[i] = ct_op_comment(tables.r[tu_rng_below(&r, tables.n)], 0, names[i]);
            } else {
                /* a cascade drop; its ref must not be dropped by an earlier op of this txn */
                ops[i] = ct_op_drop(&tables.r[tu_rng_below(&r, tables.n)], 1, CAT_DROP_CASCADE);
                nops = i + 1;
            }
            if (i + 1 < nops && ops[i].kind != CAT_OP_CREATE_ITEM)
                nops = i + 1; /* keep later ops from touching what this one changed */
        }
        cat_ref created[3] = {0, 0, 0};
        cr_assert_eq(cat_transact(f.cat, NULL, ops, (size_t)nops, created, &err), CC_OK,
                     "seed %llu step %d: %s", (unsigned long long)seed, step, err.msg);
        const cat_state *ws = cst(&f);
        for (int i = 0; i < nops; i++) {
            const cat_object *o = created[i] != 0 ? cat_state_find(ws, created[i]) : NULL;
            if (o == NULL)
                continue; /* not a create, or dropped by a later op */
            if (o->kind == CAT_KIND_TABLE)
                ct_refs_push(&tables, created[i]);
            else
                ct_refs_push(&views, created[i]);
        }
        prune(&tables, ws);
        prune(&views, ws);

        const cat_state *fs = cat_state_acquire(fol);
        size_t k = wbase + (size_t)step;
        cr_assert_eq(cat_state_upper(fs), cat_state_upper(ws), "seed %llu step %d: follower upper",
                     (unsigned long long)seed, step);
        cr_assert(pmap_fp_equal(cat_state_fp(fs), cat_state_fp(ws)),
                  "seed %llu step %d: the follower's fingerprint differs", (unsigned long long)seed,
                  step);
        /* the change lists: recorded, asserted by the on_commit tests */
        if (cb->mismatch[0] == '\0') {
            if (wlog->n != k + 1)
                snprintf(cb->mismatch, sizeof cb->mismatch,
                         "step %d: the writer's on_commit ran %zu times for %zu commits (a "
                         "commit that changes no object, e.g. a comment, is still a commit)",
                         step, wlog->n - wbase, (size_t)step + 1);
            else if (flog->n != (size_t)step + 1)
                snprintf(cb->mismatch, sizeof cb->mismatch,
                         "step %d: the follower's on_commit ran %zu times for %d appends", step,
                         flog->n, step + 1);
            else if (wlog->uppers[k] != cat_state_upper(ws) ||
                     flog->uppers[step] != cat_state_upper(ws))
                snprintf(cb->mismatch, sizeof cb->mismatch, "step %d: on_commit uppers", step);
            else if (flog->nchanges[step] != wlog->nchanges[k])
                snprintf(cb->mismatch, sizeof cb->mismatch,
                         "step %d: the follower got %zu changes, the writer %zu (an update is "
                         "-1 old, +1 new)",
                         step, flog->nchanges[step], wlog->nchanges[k]);
        }
        if (step % 10 == 0)
            ct_check_state(fs, "follower");
    }
    if (cb->mismatch[0] == '\0') {
        for (size_t i = 1; i < flog->n && i < LOG_MAX; i++)
            if (flog->uppers[i - 1] >= flog->uppers[i])
                snprintf(cb->mismatch, sizeof cb->mismatch, "follower uppers not ascending");
        if (flog->n == 0 || flog->uppers[flog->n - 1] != start + (uint64_t)steps)
            snprintf(cb->mismatch, sizeof cb->mismatch,
                     "the follower's last upper is not the last commit's");
        else if (flog->arrived != wlog->arrived - warrived)
            snprintf(cb->mismatch, sizeof cb->mismatch, "follower +1 changes %zu, writer %zu",
                     flog->arrived, wlog->arrived - warrived);
    }
    if (cb->mismatch[0] != '\0')
        snprintf(cb->mismatch + strlen(cb->mismatch), sizeof cb->mismatch - strlen(cb->mismatch),
                 " (seed %llu)", (unsigned long long)seed);
    ct_check_state(cat_state_acquire(fol), "follower at the end");
    cr_assert_gt(tables.n + views.n, 0);
    ct_refs_free(&tables);
    ct_refs_free(&views);
    cat_close(fol);
    cfix_close(&f);
    free(wlog);
    free(flog);
}

Test(cat_follow, a_follower_has_the_writers_fingerprint_after_every_commit_mem)
{
    callbacks cb;
    follow(PERSIST_BACKEND_MEM, &cb);
}

Test(cat_follow, a_follower_has_the_writers_fingerprint_after_every_commit_file)
{
    callbacks cb;
    follow(PERSIST_BACKEND_FILE, &cb);
}

/*
 * catalog.h: on_commit runs "writer: after each commit; follower: each
 * append" with the changed objects (-1: this version left, +1: arrived), so
 * writer and follower see the same commits, uppers and change lists.
 */
Test(cat_follow, on_commit_reports_each_commit_once_alike_on_writer_and_follower)
{
    callbacks cb;
    follow(PERSIST_BACKEND_MEM, &cb);
    cr_assert_eq(cb.mismatch[0], '\0', "%s", cb.mismatch);
}

/* ---- a fixed history and transaction (for faults) ------------------------------------------ */

/* Builds a small catalog: schema s; tables a, b; view v over both; index a_idx; a comment. */
static void
history(cat_catalog *cat)
{
    cat_ref s = ct_ok1(cat, ct_op_schema(CT_DB_COWCAT, "s"));
    cat_ref a = ct_table(cat, s, "a", 2);
    cat_ref b = ct_table(cat, s, "b", 3);
    cat_ref ab[] = {a, b};
    ct_view(cat, s, "v", ab, 2);
    ct_index(cat, s, "a_idx", a);
    ct_ok1(cat, ct_op_comment(b, 2, "b's second column"));
}

/*
 * The transaction under fault (no Criterion asserts: it also runs in forked
 * children): create s.c with a foreign key to a, drop v CASCADE, rename a,
 * comment on b, set max_views, create a role.
 */
static cc_code
the_txn(cat_catalog *cat, cc_err *err)
{
    const cat_state *st = cat_state_acquire(cat);
    const cat_object *s = cat_state_find_schema(st, CT_DB_COWCAT, "s");
    if (s == NULL)
        return cc_err_set(err, CC_INTERNAL, "history missing");
    cat_ref sref = s->ref;
    cat_ref a = cat_state_find_relation(st, sref, "a")->ref;
    cat_ref b = cat_state_find_relation(st, sref, "b")->ref;
    cat_ref v = cat_state_find_relation(st, sref, "v")->ref;
    ct_cols cols;
    ct_cols_init(&cols, 4);
    Cowcat__Catalog__CatalogId aid = COWCAT__CATALOG__CATALOG_ID__INIT;
    aid.value = cat_ref_value(a);
    Cowcat__Catalog__Constraint fk = COWCAT__CATALOG__CONSTRAINT__INIT;
    char *c1[] = {"c1"};
    fk.name = "c_fk";
    fk.kind = COWCAT__CATALOG__CONSTRAINT_KIND__CONSTRAINT_KIND_FOREIGN_KEY;
    fk.n_columns = 1;
    fk.columns = c1;
    fk.ref_table_opt_case = COWCAT__CATALOG__CONSTRAINT__REF_TABLE_OPT_REF_TABLE;
    fk.ref_table = &aid;
    fk.n_ref_columns = 1;
    fk.ref_columns = c1;
    Cowcat__Catalog__Constraint *cons[] = {&fk};
    cat_op ops[6];
    ops[0] = ct_op_table(sref, "c", &cols);
    ops[0].u.create_item.nconstraints = 1;
    ops[0].u.create_item.constraints = cons;
    ops[0].u.create_item.nuses = 1;
    ops[0].u.create_item.uses = &a;
    ops[1] = ct_op_drop(&v, 1, CAT_DROP_CASCADE);
    ops[2] = ct_op_rename(a, "a_renamed");
    ops[3] = ct_op_comment(b, 0, "table b");
    ops[4] = ct_op_config_set("max_views", "1234");
    ops[5] = ct_op_role("fault_role");
    return cat_transact(cat, &(cat_actor){"cowcat", 1}, ops, 6, NULL, err);
}

/* The fingerprints before and after the_txn, from a mem-backend replica of
 * the history, and the shape after it (ct_shape). */
static uint64_t replica_shape_after;

static void
replica_fps(pmap_fp *before, pmap_fp *after)
{
    cfix f;
    cfix_open(&f, PERSIST_BACKEND_MEM, NULL);
    history(f.cat);
    *before = cat_state_fp(cst(&f));
    cc_err err;
    cr_assert_eq(the_txn(f.cat, &err), CC_OK, "%s", err.msg);
    ct_check_state(cst(&f), "replica after the transaction");
    *after = cat_state_fp(cst(&f));
    replica_shape_after = ct_shape(cst(&f));
    cr_assert_not(pmap_fp_equal(*before, *after));
    cfix_close(&f);
}

/* ---- I/O faults during commit ------------------------------------------------------------------
 */

typedef struct io_case {
    persist_io_op op;
    persist_io_fault_kind kind;
    int errnum;
    persist_io_op repair; /* also fail every call of this op (PERSIST_IO_OP_COUNT: none) */
} io_case;

static void
io_fault_walk(const io_case *ic)
{
    pmap_fp fp_before, fp_after;
    replica_fps(&fp_before, &fp_after);
    uint64_t nth;
    int fired_runs = 0, mixed_seen_after = 0;
    for (nth = 1; nth < 50; nth++) {
        persist_io_faults fi;
        persist_io_faults_init(&fi, persist_io_default());
        persist_options po = {0};
        po.io = &fi.io; /* sync: fdatasync on (the default) */
        cfix f;
        cfix_open_with(&f, PERSIST_BACKEND_FILE, &po, NULL);
        history(f.cat);
        cr_assert(pmap_fp_equal(cat_state_fp(cst(&f)), fp_before),
                  "the file catalog's history matches the replica's");
        ct_mark m = ct_mark_take(f.cat);
        cr_assert_eq(persist_io_faults_arm(&fi, ic->op, nth, 1, ic->kind, ic->errnum), 0);
        if (ic->repair != PERSIST_IO_OP_COUNT)
            cr_assert_eq(
                persist_io_faults_arm(&fi, ic->repair, 1, UINT64_MAX, PERSIST_FAULT_ERRNO, EIO), 0);
        cc_err err;
        cc_err_clear(&err);
        cc_code rc = the_txn(f.cat, &err);
        uint64_t fired = persist_io_faults_fired(&fi);
        persist_io_faults_disarm(&fi);
        if (fired == 0) {
            cr_assert_eq(rc, CC_OK, "N=%llu: no fault, yet: %s", (unsigned long long)nth, err.msg);
            cr_assert(pmap_fp_equal(cat_state_fp(cst(&f)), fp_after), "N=%llu",
                      (unsigned long long)nth);
            cfix_close(&f);
            persist_io_faults_fini(&fi);
            break;
        }
        fired_runs++;
        cr_assert_neq(rc, CC_OK, "N=%llu: the commit hit an I/O fault and succeeded",
                      (unsigned long long)nth);
        cr_assert_eq(rc, CC_IO, "N=%llu: %s %s", (unsigned long long)nth, cc_code_name(rc),
                     err.msg);
        ct_mark_expect(f.cat, m, "in memory after the failed commit");
        ct_check_state(cst(&f), "after the failed commit");

        /* from disk: exactly before or exactly after */
        cat_close(f.cat);
        dur_close(f.dur);
        pfix_reopen(&f.p);
        cat_catalog *ro;
        cat_options ro_opts = {0};
        cr_assert_eq(cat_open_follower(f.p.c, &ro_opts, &ro, &err), CC_OK, "N=%llu: %s",
                     (unsigned long long)nth, err.msg);
        pmap_fp got = cat_state_fp(cat_state_acquire(ro));
        bool was_before = pmap_fp_equal(got, fp_before);
        bool was_after = pmap_fp_equal(got, fp_after);
        cr_assert(was_before || was_after,
                  "N=%llu: the reopened catalog is neither the state before nor after the commit",
                  (unsigned long long)nth);
        ct_check_state(cat_state_acquire(ro), "reopened after the fault");
        mixed_seen_after += was_after;
        cat_close(ro);

        /* the writer reopens and, if the commit is not there, it works now */
        f.dur = dopen_external(f.p.c);
        f.cat = copen(f.dur, &f.o);
        if (was_before) {
            cr_assert_eq(the_txn(f.cat, &err), CC_OK, "N=%llu: retry: %s", (unsigned long long)nth,
                         err.msg);
        }
        /* A retry on the reopened writer draws ids from a new block: same
         * contents as the replica's, other ids (durable/: reserved blocks). */
        if (was_before)
            cr_assert_eq(ct_shape(cst(&f)), replica_shape_after, "N=%llu: after the retry",
                         (unsigned long long)nth);
        else
            cr_assert(pmap_fp_equal(cat_state_fp(cst(&f)), fp_after), "N=%llu: reopened",
                      (unsigned long long)nth);
        ct_check_state(cst(&f), "after the retry");
        cfix_close(&f);
        persist_io_faults_fini(&fi);
    }
    cr_assert_gt(fired_runs, 0, "the fault never fired");
    fprintf(stderr, "io fault op %d: %d faulted commits, %d of them found committed on reopen\n",
            (int)ic->op, fired_runs, mixed_seen_after);
}

Test(cat_faults, a_failed_write_during_commit_leaves_the_state_before_or_after)
{
    io_case ic = {PERSIST_IO_PWRITE, PERSIST_FAULT_ERRNO, ENOSPC, PERSIST_IO_OP_COUNT};
    io_fault_walk(&ic);
}

Test(cat_faults, a_short_write_during_commit_leaves_the_state_before_or_after)
{
    io_case ic = {PERSIST_IO_PWRITE, PERSIST_FAULT_SHORT, 0, PERSIST_IO_OP_COUNT};
    io_fault_walk(&ic);
}

Test(cat_faults, a_failed_fdatasync_during_commit_leaves_the_state_before_or_after)
{
    io_case ic = {PERSIST_IO_FDATASYNC, PERSIST_FAULT_ERRNO, EIO, PERSIST_IO_OP_COUNT};
    io_fault_walk(&ic);
}

Test(cat_faults, a_failed_fdatasync_and_failed_repair_leave_the_state_before_or_after)
{
    io_case ic = {PERSIST_IO_FDATASYNC, PERSIST_FAULT_ERRNO, EIO, PERSIST_IO_FTRUNCATE};
    io_fault_walk(&ic);
}

/* ---- allocation failures ----------------------------------------------------------------------
 */

/*
 * N = 1, 2, ... through building the transaction in-process (begin, the ops,
 * abort): every failure is NOMEM and poisons the transaction; after abort
 * the catalog is unchanged and passes cat_check.
 */
static cc_code
build_ops(cat_catalog *cat, cat_txn **out, cc_err *err)
{
    const cat_state *st = cat_state_acquire(cat);
    cat_ref sref = cat_state_find_schema(st, CT_DB_COWCAT, "s")->ref;
    cat_ref a = cat_state_find_relation(st, sref, "a")->ref;
    cat_ref v = cat_state_find_relation(st, sref, "v")->ref;
    ct_cols cols;
    ct_cols_init(&cols, 3);
    cat_op ops[5];
    ops[0] = ct_op_table(sref, "c", &cols);
    ops[1] = ct_op_drop(&v, 1, CAT_DROP_CASCADE);
    ops[2] = ct_op_rename(a, "a_renamed");
    ops[3] = ct_op_comment(a, 1, "a column");
    ops[4] = ct_op_schema(CT_DB_COWCAT, "s2");
    cat_txn *txn;
    cc_code rc = cat_txn_begin(cat, NULL, &txn, err);
    if (rc != CC_OK)
        return rc;
    for (size_t i = 0; i < 5; i++) {
        if ((rc = cat_txn_apply(txn, &ops[i], NULL, err)) != CC_OK) {
            cat_txn_abort(txn);
            return rc;
        }
    }
    *out = txn;
    return CC_OK;
}

Test(cat_faults, every_allocation_failure_while_applying_ops_changes_nothing)
{
    cfix f;
    cfix_open(&f, PERSIST_BACKEND_MEM, NULL);
    history(f.cat);
    ct_mark m = ct_mark_take(f.cat);
    size_t failures = 0;
    uint64_t n;
    for (n = 1; n < 100000; n++) {
        cat_txn *txn = NULL;
        cc_err err;
        cc_err_clear(&err);
        cc_alloc_fail_at(n);
        cc_code rc = build_ops(f.cat, &txn, &err);
        int fired = cc_alloc_failed();
        cc_alloc_fail_at(0);
        if (rc == CC_OK)
            cat_txn_abort(txn);
        else {
            cr_assert(fired, "N=%llu: failed without an injected failure: %s",
                      (unsigned long long)n, err.msg);
            cr_assert_eq(rc, CC_NOMEM, "N=%llu: %s %s", (unsigned long long)n, cc_code_name(rc),
                         err.msg);
            failures++;
        }
        ct_mark_expect(f.cat, m, "after an allocation failure");
        if (n % 16 == 1 || rc == CC_OK)
            ct_check_state(cst(&f), "after an allocation failure");
        if (rc == CC_OK && !fired)
            break;
    }
    cr_assert_gt(failures, 10, "the walk must hit the transaction many times (%zu)", failures);
    fprintf(stderr, "apply walk: %zu allocation points\n", failures);
    /* and the same transaction commits afterwards */
    cat_txn *txn;
    cc_err err;
    cr_assert_eq(build_ops(f.cat, &txn, &err), CC_OK, "%s", err.msg);
    cr_assert_eq(cat_txn_commit(txn, &err), CC_OK, "%s", err.msg);
    ct_check_state(cst(&f), "after the commit");
    cr_assert_not_null(cat_state_find_schema(cst(&f), CT_DB_COWCAT, "s2"));
    cfix_close(&f);
}

/* What a forked child reports about one N (through a pipe). */
typedef struct alloc_report {
    int rc;         /* cc_code of the_txn under the armed failure */
    int fired;      /* whether the failure fired */
    int fp_same;    /* the fingerprint is the one before */
    int upper_same; /* published and durable (cached) uppers unchanged */
    int disk_moved; /* the catalog shard's upper moved: the append happened */
    int retry_rc;   /* the_txn again, unarmed (if the first failed and disk did not move) */
    int reopen_rc;  /* disk moved: reopening dur + cat on the same client */
    int fp_after;   /* the final fingerprint is the replica's after */
    int check_rc;   /* cat_check at the end */
    char msg[CC_ERR_MSG_MAX];
    char check_msg[CC_ERR_MSG_MAX + 16];
} alloc_report;

static uint64_t
shard_upper(persist_client *c)
{
    persist_shard *sh;
    if (persist_shard_open(c, "catalog", &sh, NULL) != CC_OK)
        return UINT64_MAX;
    return persist_shard_upper(sh);
}

static void
alloc_child(cfix *f, uint64_t n, pmap_fp fp_after, int fd)
{
    alloc_report rep;
    memset(&rep, 0, sizeof rep);
    ct_mark m = ct_mark_take(f->cat);
    uint64_t disk0 = shard_upper(f->p.c);
    cc_err err;
    cc_err_clear(&err);
    cc_alloc_fail_at(n);
    cc_code rc = the_txn(f->cat, &err);
    rep.fired = cc_alloc_failed();
    cc_alloc_fail_at(0);
    rep.rc = (int)rc;
    snprintf(rep.msg, sizeof rep.msg, "%s", err.msg);
    ct_mark now = ct_mark_take(f->cat);
    rep.fp_same = pmap_fp_equal(now.fp, m.fp);
    rep.upper_same = now.upper == m.upper && now.dur_upper == m.dur_upper;
    rep.disk_moved = shard_upper(f->p.c) != disk0;
    if (rc != CC_OK && !rep.disk_moved) {
        cc_err_clear(&err);
        rep.retry_rc = (int)the_txn(f->cat, &err);
        if (rep.retry_rc != CC_OK)
            snprintf(rep.check_msg, sizeof rep.check_msg, "retry: %s", err.msg);
    } else if (rc != CC_OK) {
        cat_close(f->cat);
        dur_close(f->dur);
        dur_options o = {0};
        o.mode = DUR_MODE_WRITABLE;
        o.deploy_generation = 1;
        cc_err_clear(&err);
        rep.reopen_rc = (int)dur_open(f->p.c, &o, &f->dur, &err);
        if (rep.reopen_rc == CC_OK)
            rep.reopen_rc = (int)cat_open(f->dur, &f->o, &f->cat, &err);
        if (rep.reopen_rc != CC_OK) {
            snprintf(rep.check_msg, sizeof rep.check_msg, "reopen: %s", err.msg);
            ssize_t w = write(fd, &rep, sizeof rep);
            _exit(w == (ssize_t)sizeof rep ? 0 : 9);
        }
    }
    rep.fp_after = pmap_fp_equal(cat_state_fp(cat_state_acquire(f->cat)), fp_after);
    cc_err_clear(&err);
    rep.check_rc = (int)cat_check(cat_state_acquire(f->cat), NULL, NULL, &err);
    if (rep.check_rc != CC_OK)
        snprintf(rep.check_msg, sizeof rep.check_msg, "cat_check: %s", err.msg);
    ssize_t w = write(fd, &rep, sizeof rep);
    _exit(w == (ssize_t)sizeof rep ? 0 : 9);
}

/*
 * N = 1, 2, ... through the whole transaction, commit included, one forked
 * child per N: each failure is NOMEM and leaves the fingerprint and the
 * published and cached durable uppers as they were. Before the append the
 * same transaction then succeeds; a NOMEM after the durable append (durable.h:
 * the handle must be reopened) leaves the commit on disk, and a reopen holds
 * exactly the committed state. A child killed by SIGABRT is persist stopping
 * the process after a durable append (by design: the log is intact); those N
 * are counted and reported, not failed.
 */
Test(cat_faults, every_allocation_failure_through_commit_is_nomem_and_keeps_the_published_state)
{
    pmap_fp fp_before, fp_after;
    replica_fps(&fp_before, &fp_after);
    cfix f;
    cfix_open(&f, PERSIST_BACKEND_MEM, NULL);
    history(f.cat);
    cr_assert(pmap_fp_equal(cat_state_fp(cst(&f)), fp_before));
    size_t failures = 0, aborted = 0, after_append = 0;
    uint64_t n, first_after_append = 0;
    char after_append_msg[CC_ERR_MSG_MAX] = "";
    bool done = false;
    for (n = 1; n < 20000 && !done; n++) {
        int pfd[2];
        cr_assert_eq(pipe(pfd), 0);
        fflush(NULL);
        pid_t pid = fork();
        cr_assert_neq(pid, -1);
        if (pid == 0) {
            close(pfd[0]);
            alloc_child(&f, n, fp_after, pfd[1]);
        }
        close(pfd[1]);
        alloc_report rep;
        memset(&rep, 0, sizeof rep);
        ssize_t got = read(pfd[0], &rep, sizeof rep);
        close(pfd[0]);
        int st;
        cr_assert_eq(waitpid(pid, &st, 0), pid);
        if (WIFSIGNALED(st)) {
            cr_assert_eq(WTERMSIG(st), SIGABRT, "N=%llu: the child died of signal %d",
                         (unsigned long long)n, WTERMSIG(st));
            aborted++;
            continue;
        }
        cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0 && got == (ssize_t)sizeof rep,
                  "N=%llu: the child exited %d", (unsigned long long)n, WEXITSTATUS(st));
        if (rep.rc == CC_OK) {
            cr_assert(rep.fp_after, "N=%llu: committed, but not the replica's state",
                      (unsigned long long)n);
            cr_assert_eq(rep.check_rc, CC_OK, "N=%llu: %s", (unsigned long long)n, rep.check_msg);
            done = !rep.fired;
            continue;
        }
        failures++;
        cr_assert(rep.fired, "N=%llu: failed without an injected failure: %s",
                  (unsigned long long)n, rep.msg);
        cr_assert_eq(rep.rc, CC_NOMEM, "N=%llu: %s \"%s\"", (unsigned long long)n,
                     cc_code_name((cc_code)rep.rc), rep.msg);
        cr_assert(rep.fp_same, "N=%llu: a failed transaction changed the fingerprint (%s)",
                  (unsigned long long)n, rep.msg);
        cr_assert(rep.upper_same, "N=%llu: a failed transaction moved an upper (%s)",
                  (unsigned long long)n, rep.msg);
        if (rep.disk_moved) {
            /* NOMEM after the durable append: the handle must be reopened (durable.h) */
            after_append++;
            if (first_after_append == 0) {
                first_after_append = n;
                snprintf(after_append_msg, sizeof after_append_msg, "%s", rep.msg);
            }
            cr_assert_eq(rep.reopen_rc, CC_OK, "N=%llu: %s", (unsigned long long)n, rep.check_msg);
            cr_assert(rep.fp_after,
                      "N=%llu: reopened after a NOMEM past the append, the "
                      "catalog is not the committed state",
                      (unsigned long long)n);
        } else {
            cr_assert_eq(rep.retry_rc, CC_OK,
                         "N=%llu: the transaction fails after the failure (%s): %s",
                         (unsigned long long)n, rep.msg, rep.check_msg);
            cr_assert(rep.fp_after, "N=%llu: the retry did not reach the replica's state",
                      (unsigned long long)n);
        }
        cr_assert_eq(rep.check_rc, CC_OK, "N=%llu: %s", (unsigned long long)n, rep.check_msg);
    }
    cr_assert(done, "the walk did not reach an N past the transaction's allocations");
    cr_assert_gt(failures, 10, "the walk must hit the transaction many times (%zu)", failures);
    fprintf(stderr, "allocation walk: %llu points, %zu NOMEM failures, %zu persist stops\n",
            (unsigned long long)n - 1, failures, aborted);
    fprintf(stderr,
            "cat_faults allocation walk: %llu points, %zu NOMEM (%zu after the durable append, "
            "first N=%llu: \"%s\"), %zu persist aborts\n",
            (unsigned long long)n - 1, failures, after_append,
            (unsigned long long)first_after_append, after_append_msg, aborted);
    /* the parent's catalog never saw any of it */
    cr_assert(pmap_fp_equal(cat_state_fp(cst(&f)), fp_before));
    cfix_close(&f);
}

/* ---- scale
 * --------------------------------------------------------------------------------------- */

#define BATCH 1000

Test(cat_scale, single_ops_stay_cheap_after_many_tables)
{
    long total = tu_env_long("COWCAT_SCALE_OBJECTS", 200000);
    cr_assert_gt(total, 0);
    cfix f;
    cfix_open(&f, PERSIST_BACKEND_MEM, NULL);
    ct_cols cols;
    ct_cols_init(&cols, 2);
    cat_op *ops = calloc(BATCH, sizeof *ops);
    char(*names)[24] = calloc(BATCH, sizeof *names);
    cr_assert(ops != NULL && names != NULL);
    double t0 = now_s();
    for (long done = 0; done < total;) {
        size_t k = 0;
        for (; k < BATCH && done + (long)k < total; k++) {
            snprintf(names[k], sizeof names[k], "t%ld", done + (long)k);
            ops[k] = ct_op_table(CT_SCHEMA_PUBLIC, names[k], &cols);
        }
        cc_err err;
        cc_code rc = cat_transact(f.cat, NULL, ops, k, NULL, &err);
        cr_assert_eq(rc, CC_OK, "batch at %ld: %s", done, err.msg);
        done += (long)k;
    }
    double t_build = now_s() - t0;
    const cat_state *s = cst(&f);
    cr_assert_eq(cat_state_count(s, CAT_KIND_TABLE), (uint64_t)total);
    cr_assert_eq(cat_state_count_members(s, CT_SCHEMA_PUBLIC), (uint64_t)total);
    char probe[24];
    snprintf(probe, sizeof probe, "t%ld", total / 2);
    const cat_object *mid = cat_state_find_relation(s, CT_SCHEMA_PUBLIC, probe);
    cr_assert_not_null(mid);
    cat_ref mid_ref = mid->ref;

    /* single ops: one transaction each. Their cost is measured in allocation
     * calls, not time (no wall-clock bound in a unit test): a rebuild, deep
     * copy or scan would allocate per object, O(log n) work allocates a few
     * nodes per tree it touches, whatever n is. */
    cc_err err;
    uint64_t a_create, a_rename, a_drop, a_dup;
    cat_op op = ct_op_table(CT_SCHEMA_PUBLIC, "one_more", &cols);
    cat_ref created;
    cc_alloc_count_start();
    cr_assert_eq(cat_transact(f.cat, NULL, &op, 1, &created, &err), CC_OK, "%s", err.msg);
    a_create = cc_alloc_calls();
    op = ct_op_rename(mid_ref, "renamed_mid");
    cc_alloc_count_start();
    cr_assert_eq(cat_transact(f.cat, NULL, &op, 1, NULL, &err), CC_OK, "%s", err.msg);
    a_rename = cc_alloc_calls();
    op = ct_op_drop(&created, 1, CAT_DROP_RESTRICT);
    cc_alloc_count_start();
    cr_assert_eq(cat_transact(f.cat, NULL, &op, 1, NULL, &err), CC_OK, "%s", err.msg);
    a_drop = cc_alloc_calls();
    op = ct_op_table(CT_SCHEMA_PUBLIC, "t0", &cols);
    cc_alloc_count_start();
    cr_assert_eq(cat_transact(f.cat, NULL, &op, 1, NULL, &err), CC_EXISTS,
                 "a duplicate is still found");
    a_dup = cc_alloc_calls();
    cc_alloc_fail_at(0);

    s = cst(&f);
    cr_assert_null(cat_state_find_relation(s, CT_SCHEMA_PUBLIC, probe));
    cr_assert_eq(cat_state_find_relation(s, CT_SCHEMA_PUBLIC, "renamed_mid")->ref, mid_ref);
    cr_assert_null(cat_state_find(s, created));
    cr_assert_eq(cat_state_count(s, CAT_KIND_TABLE), (uint64_t)total);
    double t1 = now_s();
    ct_check_state(s, "at scale");
    double t_check = now_s() - t1;
    fprintf(stderr,
            "cat_scale: %ld tables in %.2f s (%.1f us/table); allocations: single create %llu, "
            "rename %llu, drop %llu, duplicate %llu; cat_check %.2f s\n",
            total, t_build, t_build * 1e6 / (double)total, (unsigned long long)a_create,
            (unsigned long long)a_rename, (unsigned long long)a_drop, (unsigned long long)a_dup,
            t_check);
    /* A few hundred at most at any n; anything proportional to n is 10^5 and up. */
    cr_assert_lt(a_create, 1000, "single create made %llu allocations",
                 (unsigned long long)a_create);
    cr_assert_lt(a_rename, 1000, "single rename made %llu allocations",
                 (unsigned long long)a_rename);
    cr_assert_lt(a_drop, 1000, "single drop made %llu allocations", (unsigned long long)a_drop);
    cr_assert_lt(a_dup, 1000, "a duplicate made %llu allocations", (unsigned long long)a_dup);
    free(ops);
    free(names);
    cfix_close(&f);
}
