/*
 * tests/tools/test_tools_live.c — what the tools read beside a live writer:
 * persist's read-only open (PERSIST_ACCESS_READ_ONLY, what tools_datadir_open
 * uses) while another client of the same directory appends, rotates small
 * segments and rolls up (removing the files a reader may be reading), and a
 * full check of a large catalog (the two-thread path of cat_check).
 *
 * The writer appends key k<i> at [i, i+1), one key per append, so the state
 * at upper U is exactly k0..k<U-1>: a reader must see that for the U it
 * opens at, never a gap, never a failure.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "persist/persist.h"
#include "tools/tools.h"
#include "tools_testutil.h"

#define APPENDS 1500

typedef struct writer {
    persist_shard *shard;
    persist_client *pc;
    atomic_int done;
    cc_code rc;
    char msg[256];
} writer;

static void *
write_main(void *arg)
{
    writer *w = arg;
    cc_err err;
    for (uint64_t i = 0; i < APPENDS && w->rc == CC_OK; i++) {
        char key[32];
        int n = snprintf(key, sizeof key, "k%06llu", (unsigned long long)i);
        persist_update u = {{key, (size_t)n}, {"v", 1}, i, 1};
        w->rc = persist_compare_and_append(w->shard, &u, 1, i, i + 1, NULL, &err);
        if (w->rc == CC_OK && i % 100 == 99)
            w->rc = persist_client_rollup(w->pc, &err);
        if (w->rc != CC_OK)
            snprintf(w->msg, sizeof w->msg, "%s", err.msg);
    }
    atomic_store(&w->done, 1);
    return NULL;
}

typedef struct seen {
    uint64_t n;
    bool in_order;
} seen;

static int
count_key(void *arg, pmap_bytes key, pmap_bytes value, int64_t diff)
{
    (void)value;
    seen *s = arg;
    char want[32];
    int n = snprintf(want, sizeof want, "k%06llu", (unsigned long long)s->n);
    s->in_order &= diff == 1 && key.len == (size_t)n && memcmp(key.ptr, want, (size_t)n) == 0;
    s->n++;
    return 0;
}

Test(tools_live, a_read_only_open_beside_a_writer_that_rolls_up_sees_a_prefix)
{
    tt_scratch sc;
    tt_scratch_new(&sc);
    char dir[600];
    tt_path(&sc, "live", dir, sizeof dir);
    persist_options wo = {.backend = PERSIST_BACKEND_FILE,
                          .data_dir = dir,
                          .sync = PERSIST_SYNC_NONE,
                          .segment_bytes = 4096, /* rotate often */
                          .rollup_min_bytes = 2048};
    writer w = {.rc = CC_OK};
    cc_err err;
    cr_assert_eq(persist_client_open(&wo, &w.pc, &err), CC_OK, "%s", err.msg);
    cr_assert_eq(persist_shard_open(w.pc, "s", &w.shard, &err), CC_OK, "%s", err.msg);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, write_main, &w), 0);
    persist_options ro = {.backend = PERSIST_BACKEND_FILE,
                          .data_dir = dir,
                          .access = PERSIST_ACCESS_READ_ONLY};
    int opens = 0, partial = 0;
    while (!atomic_load(&w.done) || opens < 3) {
        persist_client *pc;
        cr_assert_eq(persist_client_open(&ro, &pc, &err), CC_OK, "read-only open %d: %s", opens,
                     err.msg);
        persist_shard *s = persist_shard_find(pc, "s");
        cr_assert_not_null(s, "open %d: the shard is there", opens);
        uint64_t upper = persist_shard_upper(s);
        seen sn = {0, true};
        if (upper > 0)
            cr_assert_eq(persist_snapshot(s, upper - 1, count_key, &sn, &err), CC_OK, "%s",
                         err.msg);
        cr_assert(sn.in_order && sn.n == upper, "open %d at upper %llu sees %llu keys%s", opens,
                  (unsigned long long)upper, (unsigned long long)sn.n,
                  sn.in_order ? "" : ", not k0.. in order");
        partial += upper < APPENDS;
        /* It writes nothing: appends fail. */
        persist_update u = {{"x", 1}, {"v", 1}, upper, 1};
        cr_assert_neq(persist_compare_and_append(s, &u, 1, upper, upper + 1, NULL, &err), CC_OK);
        cr_assert(strstr(err.msg, "read-only") != NULL, "%s", err.msg);
        persist_client_close(pc);
        opens++;
    }
    pthread_join(t, NULL);
    cr_assert_eq(w.rc, CC_OK, "writer: %s", w.msg);
    cr_assert_gt(partial, 0, "some open saw the writer mid-way");
    persist_client_close(w.pc);
    tt_scratch_free(&sc);
}

Test(tools_live, the_full_check_of_a_large_catalog_runs_on_two_threads_and_passes)
{
    tt_scratch sc;
    tt_scratch_new(&sc);
    char src[600];
    tt_path(&sc, "big", src, sizeof src);
    tt_build_tables(src, 5000); /* above cat_check's two-thread threshold (4096 objects) */
    tools_datadir *d;
    cc_err err;
    cr_assert_eq(tools_datadir_open(src, TOOLS_OPEN_CATALOG, &d, &err), CC_OK, "%s", err.msg);
    cr_assert_eq(cat_check(cat_state_acquire(tools_datadir_catalog(d)), NULL, NULL, &err), CC_OK,
                 "%s", err.msg);
    tools_datadir_close(d);
    tt_scratch_free(&sc);
}
