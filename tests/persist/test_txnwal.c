/*
 * tests/persist/test_txnwal.c — txn-wal over persist shards: one commit
 * advances the logical upper of every registered data shard (100k of them),
 * reads below the logical upper see exactly the committed writes whether or
 * not they were applied, apply_le/tidy are idempotent, forget, restart with
 * unapplied and applied-but-untidied writes, keepalives, registration of a
 * data shard that is already ahead, and commits retried after another
 * handle moved the txns shard. Behavioural tests run on both backends.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "persist/persist.h"
#include "persist/txnwal.h"
#include "shard_testutil.h"
#include "testutil.h"

#define BOTH(suite, name)                                                                          \
    Test(suite, name##_on_mem)                                                                     \
    {                                                                                              \
        name(PERSIST_BACKEND_MEM);                                                                 \
    }                                                                                              \
    Test(suite, name##_on_file)                                                                    \
    {                                                                                              \
        name(PERSIST_BACKEND_FILE);                                                                \
    }

static txnwal *
tw_open(pfix *f)
{
    txnwal *w;
    cc_err err;
    cr_assert_eq(txnwal_open(f->c, "txns", &w, &err), CC_OK, "txnwal_open: %s", err.msg);
    return w;
}

static uint64_t
appends_of(pfix *f)
{
    persist_stats st;
    persist_client_stats(f->c, &st);
    return st.appends;
}

/* Commits writes (key "k<i>", value v, diff) to shards[0..n) at ts; returns the commit time. */
static uint64_t
commit_ok(txnwal *w, persist_shard **shards, size_t n, const char *v, int64_t diff, uint64_t ts,
          model *models, const char *key)
{
    txnwal_txn *t;
    cc_err err;
    cr_assert_eq(txnwal_txn_begin(w, &t, &err), CC_OK);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(txnwal_txn_write(t, shards[i], B(key), B(v), diff, &err), CC_OK, "%s",
                     err.msg);
    uint64_t at = 0;
    cr_assert_eq(txnwal_commit(t, ts, &at, &err), CC_OK, "commit: %s", err.msg);
    cr_assert_geq(at, ts);
    for (size_t i = 0; models != NULL && i < n; i++) {
        persist_update u = {B(key), B(v), at, diff};
        model_add(&models[i], &u, 1);
    }
    return at;
}

static void
tsnap_expect(txnwal *w, persist_shard *s, const model *m, uint64_t as_of, const char *what)
{
    kvs got = {0}, want;
    cc_err err;
    cr_assert_eq(txnwal_snapshot(w, s, as_of, kvs_collect, &got, &err), CC_OK, "%s: %s", what,
                 err.msg);
    model_at(m, as_of, &want);
    char buf[160];
    snprintf(buf, sizeof buf, "%s: shard %s as of %llu", what, persist_shard_id(s),
             (unsigned long long)as_of);
    kvs_expect(&got, &want, buf);
    kvs_free(&got);
    kvs_free(&want);
}

/* ---- one commit, every logical upper -------------------------------------------------- */

Test(persist_txnwal, one_commit_advances_the_logical_upper_of_100k_registered_shards)
{
    size_t n = (size_t)tu_env_long("COWCAT_TXNWAL_SHARDS", 100000);
    pfix f;
    pfix_open(&f, PERSIST_BACKEND_MEM, NULL);
    txnwal *w = tw_open(&f);
    persist_shard **sh = malloc(n * sizeof *sh);
    cr_assert_not_null(sh);
    for (size_t i = 0; i < n; i++) {
        char id[32];
        snprintf(id, sizeof id, "data-%zu", i);
        cr_assert_eq(persist_shard_open(f.c, id, &sh[i], NULL), CC_OK);
    }
    uint64_t before = appends_of(&f), at;
    cc_err err;
    cr_assert_eq(txnwal_register(w, 5, sh, n, &at, &err), CC_OK, "%s", err.msg);
    cr_assert_eq(appends_of(&f) - before, 1, "registering is one compare_and_append");
    cr_assert_eq(at, 5);
    txnwal_stats st;
    txnwal_stats_get(w, &st);
    cr_assert_eq(st.registered, n);

    before = appends_of(&f);
    uint64_t c = commit_ok(w, &sh[n / 2], 1, "v", 1, 100, NULL, "k");
    cr_assert_eq(appends_of(&f) - before, 1, "a commit is one compare_and_append, whatever n is");
    cr_assert_eq(c, 100);
    cr_assert_eq(txnwal_upper(w), 101);
    /* A sample, then every shard: logical upper advanced, physical upper untouched. */
    size_t sample[] = {0, 1, n / 3, n / 2, n - 1};
    for (size_t i = 0; i < sizeof sample / sizeof *sample; i++) {
        cr_assert_eq(txnwal_logical_upper(w, sh[sample[i]]), 101);
        cr_assert_eq(persist_shard_upper(sh[sample[i]]), 0);
    }
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(txnwal_logical_upper(w, sh[i]), 101, "shard %zu", i);
    /* An unregistered shard keeps its physical upper. */
    persist_shard *other = pfix_shard(&f, "not-registered");
    cr_assert_eq(txnwal_logical_upper(w, other), 0);
    /* Forgetting half of them, each named twice, in one call. */
    persist_shard **half = malloc(n * sizeof *half);
    cr_assert_not_null(half);
    for (size_t i = 0; i < n / 2; i++)
        half[i] = half[n / 2 + i] = sh[i];
    cr_assert_eq(txnwal_forget(w, 0, half, 2 * (n / 2), NULL, &err), CC_OK, "%s", err.msg);
    txnwal_stats_get(w, &st);
    cr_assert_eq(st.registered, n - n / 2);
    cr_assert_eq(st.unapplied, 1, "the write to shard n/2 is still outstanding");
    cr_assert_eq(persist_shard_upper(sh[0]), txnwal_upper(w));
    cr_assert_eq(txnwal_logical_upper(w, sh[n - 1]), txnwal_upper(w));
    free(half);
    txnwal_close(w);
    free(sh);
    pfix_close(&f);
}

static void
an_empty_commit_is_a_keepalive(persist_backend_kind kind)
{
    pfix f;
    pfix_open(&f, kind, NULL);
    txnwal *w = tw_open(&f);
    persist_shard *sh[3] = {pfix_shard(&f, "a"), pfix_shard(&f, "b"), pfix_shard(&f, "c")};
    cr_assert_eq(txnwal_register(w, 0, sh, 3, NULL, NULL), CC_OK);
    uint64_t before = appends_of(&f);
    txnwal_txn *t;
    cr_assert_eq(txnwal_txn_begin(w, &t, NULL), CC_OK);
    uint64_t at;
    cr_assert_eq(txnwal_commit(t, 10, &at, NULL), CC_OK);
    cr_assert_eq(at, 10);
    cr_assert_eq(appends_of(&f) - before, 1);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(txnwal_logical_upper(w, sh[i]), 11);
        kvs got = {0};
        cr_assert_eq(txnwal_snapshot(w, sh[i], 10, kvs_collect, &got, NULL), CC_OK);
        cr_assert_eq(got.n, 0);
        kvs_free(&got);
    }
    /* A commit below the upper happens at the upper. */
    cr_assert_eq(txnwal_txn_begin(w, &t, NULL), CC_OK);
    cr_assert_eq(txnwal_commit(t, 3, &at, NULL), CC_OK);
    cr_assert_eq(at, 11);
    cr_assert_eq(txnwal_logical_upper(w, sh[1]), 12);
    txnwal_close(w);
    pfix_close(&f);
}
BOTH(persist_txnwal, an_empty_commit_is_a_keepalive)

typedef struct heard_count {
    size_t calls, updates;
} heard_count;

static void
count_appends(void *arg, const persist_update *u, size_t n, uint64_t lower, uint64_t upper)
{
    heard_count *h = arg;
    (void)u, (void)lower, (void)upper;
    h->calls++;
    h->updates += n;
}

/* ---- reads, apply, tidy --------------------------------------------------------------- */

static void
reads_see_exactly_the_committed_writes(persist_backend_kind kind)
{
    pfix f;
    pfix_open(&f, kind, NULL);
    txnwal *w = tw_open(&f);
    persist_shard *sh[3] = {pfix_shard(&f, "a"), pfix_shard(&f, "b"), pfix_shard(&f, "c")};
    model m[3] = {{0}};
    cr_assert_eq(txnwal_register(w, 0, sh, 3, NULL, NULL), CC_OK);
    tu_rng r;
    tu_rng_init(&r, tu_seed("persist_txnwal/reads"));
    for (int i = 0; i < 30; i++) {
        persist_shard *which[3];
        model mm[3] = {{0}};
        size_t n = 0;
        int idx[3];
        for (int s = 0; s < 3; s++)
            if (tu_rng_chance(&r, 50)) {
                idx[n] = s;
                which[n++] = sh[s];
            }
        char key[8];
        snprintf(key, sizeof key, "k%d", (int)tu_rng_below(&r, 6));
        int64_t diff = tu_rng_chance(&r, 30) ? -1 : 1;
        commit_ok(w, which, n, "v", diff, txnwal_upper(w) + tu_rng_below(&r, 3), mm, key);
        for (size_t j = 0; j < n; j++) {
            model_add(&m[idx[j]], mm[j].u, mm[j].n);
            model_free(&mm[j]);
        }
    }
    /* Unapplied so far; reads at every T below the logical upper, shard by shard. */
    txnwal_stats st;
    txnwal_stats_get(w, &st);
    cr_assert_gt(st.unapplied, 0);
    uint64_t upper = txnwal_upper(w);
    for (int s = 0; s < 3; s++) {
        cr_assert_eq(txnwal_logical_upper(w, sh[s]), upper);
        /* Shard a bottom-up (applies one write at a time), the others top-down. */
        for (uint64_t i = 0; i < upper; i++)
            tsnap_expect(w, sh[s], &m[s], s == 0 ? i : upper - 1 - i, "unapplied");
        kvs got = {0};
        cc_err err;
        cr_assert_eq(txnwal_snapshot(w, sh[s], upper, kvs_collect, &got, &err), CC_INVALID);
        cr_assert(strstr(err.msg, "is not complete") != NULL, "%s", err.msg);
        kvs_free(&got);
    }

    /* apply_le twice: the second does nothing; then tidy twice. */
    uint64_t more = commit_ok(w, sh, 3, "late", 1, upper, m, "z");
    (void)more;
    cr_assert_eq(txnwal_apply_le(w, txnwal_upper(w), NULL), CC_OK);
    uint64_t a0 = appends_of(&f);
    uint64_t phys[3];
    for (int s = 0; s < 3; s++)
        phys[s] = persist_shard_upper(sh[s]);
    cr_assert_eq(txnwal_apply_le(w, txnwal_upper(w), NULL), CC_OK);
    cr_assert_eq(appends_of(&f), a0, "a repeated apply_le writes nothing");
    for (int s = 0; s < 3; s++) {
        cr_assert_eq(persist_shard_upper(sh[s]), phys[s]);
        snap_expect(sh[s], &m[s], phys[s] - 1, "applied physically");
    }
    uint64_t last = commit_ok(w, &sh[0], 1, "after", 1, 0, &m[0], "y"); /* stays unapplied */
    cr_assert_eq(txnwal_tidy(w, NULL), CC_OK);
    a0 = appends_of(&f);
    cr_assert_eq(txnwal_tidy(w, NULL), CC_OK);
    cr_assert_eq(appends_of(&f), a0, "a repeated tidy writes nothing");
    txnwal_stats_get(w, &st);
    cr_assert_eq(st.registered, 3);
    cr_assert_eq(st.unapplied, 1);
    cr_assert_eq(st.txns_entries, 4, "registrations + the one unapplied write");
    persist_shard *txns = pfix_shard(&f, "txns");
    cr_assert_eq(trace_count(txns, f.c), 4, "the txns shard itself holds only those");
    cr_assert_eq(persist_shard_since(txns), txnwal_upper(w) - 1, "tidy compacts its history");
    heard_count hc = {0};
    persist_listener *l;
    cr_assert_eq(persist_listen(txns, 0, count_appends, &hc, &l, NULL), CC_INVALID,
                 "history below since is gone");
    cr_assert_eq(persist_listen(txns, txnwal_upper(w) - 1, count_appends, &hc, &l, NULL), CC_OK);
    cr_assert_eq(hc.calls, 1, "only the last append (the tidy) is retained");
    persist_listen_stop(l);
    tsnap_expect(w, sh[0], &m[0], last, "the unapplied write after tidy");
    txnwal_close(w);
    for (int s = 0; s < 3; s++)
        model_free(&m[s]);
    pfix_close(&f);
}
BOTH(persist_txnwal, reads_see_exactly_the_committed_writes)

/* ---- forget ------------------------------------------------------------------------ */

static void
forget_applies_outstanding_writes_and_keeps_the_upper(persist_backend_kind kind)
{
    pfix f;
    pfix_open(&f, kind, NULL);
    txnwal *w = tw_open(&f);
    persist_shard *sh[2] = {pfix_shard(&f, "a"), pfix_shard(&f, "b")};
    model m[2] = {{0}};
    cr_assert_eq(txnwal_register(w, 0, sh, 2, NULL, NULL), CC_OK);
    commit_ok(w, sh, 2, "v1", 1, 3, m, "k1");
    commit_ok(w, sh, 2, "v2", 1, 7, m, "k2");
    uint64_t logical = txnwal_logical_upper(w, sh[0]);
    cr_assert_eq(persist_shard_upper(sh[0]), 0, "nothing applied yet");
    uint64_t at;
    cc_err err;
    /* Forgetting a shard twice in one call and an unregistered shard are harmless. */
    persist_shard *fs[3] = {sh[0], sh[0], pfix_shard(&f, "never")};
    cr_assert_eq(txnwal_forget(w, 9, fs, 3, &at, &err), CC_OK, "%s", err.msg);
    cr_assert_geq(at, 9);
    cr_assert_geq(persist_shard_upper(sh[0]), logical, "the upper never moves backwards");
    cr_assert_eq(txnwal_logical_upper(w, sh[0]), persist_shard_upper(sh[0]));
    snap_expect(sh[0], &m[0], persist_shard_upper(sh[0]) - 1, "the forgotten shard's writes");
    txnwal_stats st;
    txnwal_stats_get(w, &st);
    cr_assert_eq(st.registered, 1);
    /* Writing to it now is refused and writes nothing. */
    uint64_t a0 = appends_of(&f), u0 = txnwal_upper(w);
    txnwal_txn *t;
    cr_assert_eq(txnwal_txn_begin(w, &t, NULL), CC_OK);
    cr_assert_eq(txnwal_txn_write(t, sh[1], B("ok"), B(""), 1, NULL), CC_OK);
    cr_assert_eq(txnwal_txn_write(t, sh[0], B("no"), B(""), 1, NULL), CC_OK);
    cr_assert_eq(txnwal_commit(t, 0, NULL, &err), CC_INVALID);
    cr_assert(strstr(err.msg, "data shard \"a\" is not registered") != NULL, "%s", err.msg);
    cr_assert_eq(appends_of(&f), a0);
    cr_assert_eq(txnwal_upper(w), u0);
    /* The other shard still advances with commits; the forgotten one does not. */
    commit_ok(w, &sh[1], 1, "v3", 1, 0, &m[1], "k3");
    cr_assert_eq(txnwal_logical_upper(w, sh[1]), txnwal_upper(w));
    cr_assert_lt(txnwal_logical_upper(w, sh[0]), txnwal_upper(w));
    tsnap_expect(w, sh[1], &m[1], txnwal_upper(w) - 1, "the remaining shard");
    /* Survives a reopen of txn-wal. */
    txnwal_close(w);
    pfix_reopen(&f);
    w = tw_open(&f);
    txnwal_stats_get(w, &st);
    cr_assert_eq(st.registered, 1);
    cr_assert_eq(txnwal_logical_upper(w, pfix_shard(&f, "b")), txnwal_upper(w));
    tsnap_expect(w, pfix_shard(&f, "b"), &m[1], txnwal_upper(w) - 1, "after reopen");
    txnwal_close(w);
    model_free(&m[0]);
    model_free(&m[1]);
    pfix_close(&f);
}
BOTH(persist_txnwal, forget_applies_outstanding_writes_and_keeps_the_upper)

/* ---- restart ---------------------------------------------------------------------- */

Test(persist_txnwal, restart_rederives_unapplied_writes_and_applies_them_once)
{
    pfix f;
    pfix_open(&f, PERSIST_BACKEND_FILE, NULL);
    txnwal *w = tw_open(&f);
    persist_shard *sh[2] = {pfix_shard(&f, "a"), pfix_shard(&f, "b")};
    model m[2] = {{0}};
    cr_assert_eq(txnwal_register(w, 0, sh, 2, NULL, NULL), CC_OK);
    uint64_t t1 = commit_ok(w, sh, 2, "v1", 1, 1, m, "k1");
    uint64_t t2 = commit_ok(w, sh, 2, "v2", 2, 4, m, "k2");
    commit_ok(w, &sh[1], 1, "v3", -1, 6, &m[1], "k1");
    cr_assert_eq(txnwal_apply_le(w, t1, NULL), CC_OK); /* partial */
    cr_assert_eq(txnwal_tidy(w, NULL), CC_OK);
    txnwal_close(w);

    /* Restart 1: the two later commits are re-derived as unapplied. */
    pfix_reopen(&f);
    w = tw_open(&f);
    sh[0] = pfix_shard(&f, "a");
    sh[1] = pfix_shard(&f, "b");
    txnwal_stats st;
    txnwal_stats_get(w, &st);
    cr_assert_eq(st.registered, 2);
    cr_assert_eq(st.unapplied, 3, "w(t2) on a and b, w(t3) on b");
    cr_assert_eq(persist_shard_upper(sh[0]), t1 + 1);
    uint64_t upper = txnwal_upper(w);
    for (int s = 0; s < 2; s++)
        tsnap_expect(w, sh[s], &m[s], upper - 1, "after restart, before apply");
    cr_assert_eq(txnwal_apply_le(w, upper, NULL), CC_OK);
    uint64_t a0 = appends_of(&f);
    cr_assert_eq(txnwal_apply_le(w, upper, NULL), CC_OK);
    cr_assert_eq(appends_of(&f), a0);
    txnwal_close(w);

    /* Restart 2: applied but not tidied (a crash between apply and tidy). */
    pfix_reopen(&f);
    w = tw_open(&f);
    sh[0] = pfix_shard(&f, "a");
    sh[1] = pfix_shard(&f, "b");
    txnwal_stats_get(w, &st);
    cr_assert_eq(st.unapplied, 0, "physical uppers show they were applied");
    cr_assert_eq(st.txns_entries, 2 + 3);
    a0 = appends_of(&f);
    cr_assert_eq(txnwal_apply_le(w, txnwal_upper(w), NULL), CC_OK);
    cr_assert_eq(appends_of(&f), a0, "nothing is applied twice");
    cr_assert_eq(txnwal_tidy(w, NULL), CC_OK);
    txnwal_stats_get(w, &st);
    cr_assert_eq(st.txns_entries, 2);
    cr_assert_eq(trace_count(pfix_shard(&f, "txns"), f.c), 2);
    for (int s = 0; s < 2; s++) {
        snap_expect(sh[s], &m[s], persist_shard_upper(sh[s]) - 1, "applied exactly once");
        for (uint64_t t = 0; t < txnwal_upper(w); t++)
            tsnap_expect(w, sh[s], &m[s], t, "after restart 2");
    }
    (void)t2;
    txnwal_close(w);
    /* Restart 3, after a rollup: the same. */
    cr_assert_eq(persist_client_rollup(f.c, NULL), CC_OK);
    pfix_reopen(&f);
    w = tw_open(&f);
    txnwal_stats_get(w, &st);
    cr_assert_eq(st.registered, 2);
    cr_assert_eq(st.txns_entries, 2);
    for (int s = 0; s < 2; s++)
        tsnap_expect(w, pfix_shard(&f, s ? "b" : "a"), &m[s], txnwal_upper(w) - 1,
                     "after a rollup");
    txnwal_close(w);
    model_free(&m[0]);
    model_free(&m[1]);
    pfix_close(&f);
}

/* ---- edge cases found by review ------------------------------------------------------ */

static void
registering_a_shard_that_is_ahead_keeps_later_commits_above_it(persist_backend_kind kind)
{
    pfix f;
    pfix_open(&f, kind, NULL);
    txnwal *w = tw_open(&f);
    persist_shard *a = pfix_shard(&f, "a");
    model m = {0};
    persist_update pre = {B("pre"), B("x"), 3, 1};
    caa_ok(a, &pre, 1, 0, 10); /* written directly before txn-wal manages it */
    model_add(&m, &pre, 1);
    uint64_t at;
    cr_assert_eq(txnwal_register(w, 0, &a, 1, &at, NULL), CC_OK);
    cr_assert_geq(at, 9, "registered at or above the shard's physical upper");
    commit_ok(w, &a, 1, "v", 1, 0, &m, "k");
    uint64_t up = txnwal_logical_upper(w, a);
    cr_assert_gt(up, 10);
    tsnap_expect(w, a, &m, up - 1, "the commit is visible");
    txnwal_close(w);
    model_free(&m);
    pfix_close(&f);
}
BOTH(persist_txnwal, registering_a_shard_that_is_ahead_keeps_later_commits_above_it)

static void
a_commit_retried_after_another_writer_is_written_once(persist_backend_kind kind)
{
    pfix f;
    pfix_open(&f, kind, NULL);
    txnwal *w1 = tw_open(&f);
    persist_shard *a = pfix_shard(&f, "a");
    model m = {0};
    cr_assert_eq(txnwal_register(w1, 0, &a, 1, NULL, NULL), CC_OK);
    txnwal *w2 = tw_open(&f); /* sees the registration; its upper goes stale below */
    commit_ok(w1, &a, 1, "one", 1, 5, &m, "k1");
    uint64_t at = commit_ok(w2, &a, 1, "two", 1, 0, &m, "k2");
    cr_assert_eq(at, 6, "retried at the current upper");
    txnwal_stats st;
    txnwal_stats_get(w2, &st);
    cr_assert_eq(st.retries, 1);
    txnwal_close(w1);
    txnwal_close(w2);
    pfix_reopen(&f);
    txnwal *w3 = tw_open(&f);
    a = pfix_shard(&f, "a");
    txnwal_stats_get(w3, &st);
    cr_assert_eq(st.unapplied, 2, "exactly two WRITE entries");
    cr_assert_eq(txnwal_upper(w3), 7);
    for (uint64_t t = 0; t < 7; t++)
        tsnap_expect(w3, a, &m, t, "each write once, at its commit time");
    txnwal_close(w3);
    model_free(&m);
    pfix_close(&f);
}
BOTH(persist_txnwal, a_commit_retried_after_another_writer_is_written_once)

/* ---- staging into a caller's batch ------------------------------------------------------ */

/* Stages registrations and forgets by id beside an append to "log"; one batch. */
static void
stage_ok(pfix *f, txnwal *w, const char *const *reg, size_t nreg, const char *const *forget,
         size_t nforget, uint64_t *log_upper)
{
    persist_shard *log = pfix_shard(f, "log");
    persist_batch *b;
    txnwal_stage *st;
    cc_err err;
    cr_assert_eq(persist_batch_new(f->c, &b, NULL), CC_OK);
    cr_assert_eq(persist_batch_append(b, log, NULL, 0, *log_upper, *log_upper + 1, NULL), CC_OK);
    cr_assert_eq(txnwal_stage_begin(w, &st, NULL), CC_OK);
    for (size_t i = 0; i < nreg; i++)
        cr_assert_eq(txnwal_stage_register(st, reg[i], &err), CC_OK, "%s", err.msg);
    for (size_t i = 0; i < nforget; i++)
        cr_assert_eq(txnwal_stage_forget(st, forget[i], &err), CC_OK, "%s", err.msg);
    cr_assert_eq(txnwal_stage_add(st, b, NULL, &err), CC_OK, "%s", err.msg);
    cr_assert_eq(persist_batch_commit(b, NULL, NULL, &err), CC_OK, "%s", err.msg);
    txnwal_stage_commit(st);
    persist_batch_free(b);
    (*log_upper)++;
}

static uint64_t
groups_of(pfix *f)
{
    persist_stats st;
    persist_client_stats(f->c, &st);
    return st.wal_groups;
}

Test(persist_txnwal, staged_registrations_ride_in_the_callers_one_write)
{
    pfix f;
    pfix_open(&f, PERSIST_BACKEND_FILE, NULL);
    txnwal *w = tw_open(&f);
    uint64_t log_upper = 0;
    pfix_shard(&f, "log");
    persist_stats ps0;
    persist_client_stats(f.c, &ps0);
    const char *reg[3] = {"t/u1", "t/u2", "t/u3"};
    uint64_t g0 = groups_of(&f);
    stage_ok(&f, w, reg, 3, NULL, 0, &log_upper);
    cr_assert_eq(groups_of(&f) - g0, 1, "registrations and the caller's append: one write");
    persist_stats ps1;
    persist_client_stats(f.c, &ps1);
    cr_assert_eq(ps1.shards, ps0.shards, "registering creates no data shard");
    uint64_t up;
    for (int i = 0; i < 3; i++) {
        cr_assert(txnwal_find_upper(w, reg[i], &up));
        cr_assert_eq(up, txnwal_upper(w));
        cr_assert_null(persist_shard_find(f.c, reg[i]));
    }
    cr_assert_not(txnwal_find_upper(w, "t/u9", &up));
    /* An empty stage is a keepalive: every registered shard advances, nothing loops. */
    uint64_t u0 = txnwal_upper(w);
    stage_ok(&f, w, NULL, 0, NULL, 0, &log_upper);
    cr_assert_eq(txnwal_upper(w), u0 + 1);
    for (int i = 0; i < 3; i++) {
        cr_assert(txnwal_find_upper(w, reg[i], &up));
        cr_assert_eq(up, u0 + 1, "%s", reg[i]);
    }
    /* Registering twice, forgetting an unknown one: refused, nothing written. */
    txnwal_stage *st;
    cc_err err;
    cr_assert_eq(txnwal_stage_begin(w, &st, NULL), CC_OK);
    cr_assert_eq(txnwal_stage_register(st, "t/u1", &err), CC_EXISTS);
    cr_assert_eq(txnwal_stage_forget(st, "t/u9", &err), CC_NOT_FOUND);
    cr_assert_eq(txnwal_stage_register(st, "t/u4", &err), CC_OK);
    cr_assert_eq(txnwal_stage_register(st, "t/u4", &err), CC_EXISTS, "staged counts");
    cr_assert_eq(txnwal_stage_forget(st, "t/u1", &err), CC_OK);
    txnwal_stage_abort(st);
    cr_assert(txnwal_is_registered(w, "t/u1"), "abort undid the forget");
    cr_assert_not(txnwal_is_registered(w, "t/u4"), "abort undid the register");
    cr_assert_eq(txnwal_upper(w), u0 + 1);
    /* Survives a reopen. */
    txnwal_close(w);
    pfix_reopen(&f);
    w = tw_open(&f);
    txnwal_stats ts;
    txnwal_stats_get(w, &ts);
    cr_assert_eq(ts.registered, 3);
    cr_assert_eq(ts.upper, u0 + 1);
    for (int i = 0; i < 3; i++)
        cr_assert(txnwal_is_registered(w, reg[i]));
    txnwal_close(w);
    pfix_close(&f);
}

Test(persist_txnwal, a_staged_forget_drops_the_data_shard_in_the_same_write)
{
    pfix f;
    pfix_open(&f, PERSIST_BACKEND_FILE, NULL);
    txnwal *w = tw_open(&f);
    uint64_t log_upper = 0;
    const char *reg[2] = {"t/u1", "t/u2"};
    stage_ok(&f, w, reg, 2, NULL, 0, &log_upper);
    /* t/u1 gets data (and so a shard); t/u2 never does. */
    persist_shard *d1 = pfix_shard(&f, "t/u1");
    model m = {0};
    commit_ok(w, &d1, 1, "v", 1, 0, &m, "row");
    cr_assert_eq(txnwal_apply_le(w, txnwal_upper(w), NULL), CC_OK);
    commit_ok(w, &d1, 1, "w", 1, 0, &m, "row2"); /* stays unapplied */
    persist_stats ps0;
    persist_client_stats(f.c, &ps0);
    uint64_t g0 = groups_of(&f);
    const char *forget[2] = {"t/u1", "t/u2"};
    stage_ok(&f, w, NULL, 0, forget, 2, &log_upper);
    cr_assert_eq(groups_of(&f) - g0, 1, "forgets, drop and the caller's append: one write");
    persist_stats ps1;
    persist_client_stats(f.c, &ps1);
    cr_assert_eq(ps1.shards, ps0.shards - 1, "the data shard of t/u1 is dropped");
    cr_assert_null(persist_shard_find(f.c, "t/u1"));
    txnwal_stats ts;
    txnwal_stats_get(w, &ts);
    cr_assert_eq(ts.registered, 0);
    cr_assert_eq(ts.txns_entries, 0, "registrations and the outstanding write retracted");
    txnwal_close(w);
    pfix_reopen(&f);
    cr_assert_null(persist_shard_find(f.c, "t/u1"), "dropped after replay too");
    w = tw_open(&f);
    txnwal_stats_get(w, &ts);
    cr_assert_eq(ts.registered, 0);
    cr_assert_eq(ts.unapplied, 0);
    cr_assert_eq(trace_count(pfix_shard(&f, "txns"), f.c), 0);
    txnwal_close(w);
    model_free(&m);
    pfix_close(&f);
}

Test(persist_txnwal, advance_each_moves_every_physical_upper_one_by_one)
{
    pfix f;
    pfix_open(&f, PERSIST_BACKEND_MEM, NULL);
    txnwal *w = tw_open(&f);
    uint64_t log_upper = 0;
    char ids[50][16];
    const char *reg[50];
    for (int i = 0; i < 50; i++) {
        snprintf(ids[i], sizeof ids[i], "t/u%d", i);
        reg[i] = ids[i];
    }
    stage_ok(&f, w, reg, 50, NULL, 0, &log_upper);
    /* One of them has an unapplied write: the ablation must leave it alone. */
    persist_shard *busy = pfix_shard(&f, "t/u7");
    model m = {0};
    commit_ok(w, &busy, 1, "v", 1, 0, &m, "row");
    persist_batch *b;
    txnwal_stage *st;
    cc_err err;
    cr_assert_eq(persist_batch_new(f.c, &b, NULL), CC_OK);
    cr_assert_eq(txnwal_stage_begin(w, &st, NULL), CC_OK);
    uint64_t at;
    cr_assert_eq(txnwal_stage_add(st, b, &at, &err), CC_OK, "%s", err.msg);
    size_t n = 0;
    cr_assert_eq(txnwal_stage_advance_each(st, b, &n, &err), CC_OK, "%s", err.msg);
    cr_assert_eq(n, 49);
    cr_assert_eq(persist_batch_commit(b, NULL, NULL, &err), CC_OK, "%s", err.msg);
    txnwal_stage_commit(st);
    persist_batch_free(b);
    for (int i = 0; i < 50; i++) {
        persist_shard *s = persist_shard_find(f.c, reg[i]);
        cr_assert_not_null(s, "materialised: %s", reg[i]);
        if (i == 7)
            cr_assert_lt(persist_shard_upper(s), at + 1, "the busy shard is not advanced");
        else
            cr_assert_eq(persist_shard_upper(s), at + 1, "%s", reg[i]);
        cr_assert_eq(txnwal_logical_upper(w, s), at + 1);
    }
    tsnap_expect(w, busy, &m, at, "the busy shard's write is still seen");
    txnwal_close(w);
    model_free(&m);
    pfix_close(&f);
}

Test(persist_txnwal, a_big_stage_registers_and_forgets_in_one_append)
{
    /* Enough ids that the stage's overlay outgrows a scan and becomes a map. */
    pfix f;
    pfix_open(&f, PERSIST_BACKEND_FILE, NULL);
    txnwal *w = tw_open(&f);
    uint64_t log_upper = 0;
    pfix_shard(&f, "log");
    char ids[100][16];
    const char *p[100];
    for (int i = 0; i < 100; i++) {
        snprintf(ids[i], sizeof ids[i], "t/u%d", i);
        p[i] = ids[i];
    }
    stage_ok(&f, w, p, 30, NULL, 0, &log_upper); /* t/u0 .. t/u29 registered */
    persist_batch *b;
    txnwal_stage *st;
    cc_err err;
    cr_assert_eq(persist_batch_new(f.c, &b, NULL), CC_OK);
    cr_assert_eq(txnwal_stage_begin(w, &st, NULL), CC_OK);
    for (int i = 30; i < 100; i++) /* 70 new ones */
        cr_assert_eq(txnwal_stage_register(st, p[i], &err), CC_OK, "%s", err.msg);
    for (int i = 0; i < 100; i += 2) /* forget every even one: old and staged alike */
        cr_assert_eq(txnwal_stage_forget(st, p[i], &err), CC_OK, "%s: %s", p[i], err.msg);
    cr_assert_eq(txnwal_stage_forget(st, p[4], &err), CC_NOT_FOUND, "forgotten already");
    cr_assert_eq(txnwal_stage_register(st, p[31], &err), CC_EXISTS, "staged already");
    cr_assert_eq(txnwal_stage_register(st, p[4], &err), CC_OK, "registered again after a forget");
    cr_assert_eq(txnwal_stage_forget(st, p[4], &err), CC_OK, "and forgotten once more");
    cr_assert_eq(txnwal_stage_forget(st, p[4], &err), CC_NOT_FOUND, "the earlier forget holds");
    uint64_t g0 = groups_of(&f);
    cr_assert_eq(txnwal_stage_add(st, b, NULL, &err), CC_OK, "%s", err.msg);
    cr_assert_eq(persist_batch_commit(b, NULL, NULL, &err), CC_OK, "%s", err.msg);
    txnwal_stage_commit(st);
    persist_batch_free(b);
    cr_assert_eq(groups_of(&f) - g0, 1);
    txnwal_stats ts;
    txnwal_stats_get(w, &ts);
    cr_assert_eq(ts.registered, 50);
    for (int i = 0; i < 100; i++)
        cr_assert_eq(txnwal_is_registered(w, p[i]), i % 2 == 1, "%s", p[i]);
    txnwal_close(w);
    pfix_reopen(&f);
    w = tw_open(&f);
    txnwal_stats_get(w, &ts);
    cr_assert_eq(ts.registered, 50, "after reopen");
    for (int i = 0; i < 100; i++)
        cr_assert_eq(txnwal_is_registered(w, p[i]), i % 2 == 1, "%s after reopen", p[i]);
    txnwal_close(w);
    pfix_close(&f);
}
