/*
 * tests/persist/test_backend.c — the backend interface: a backend that shares
 * its storage with other writers is the authority on a shard's upper, and a
 * mismatch it reports reaches the caller with nothing applied.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "backend.h"
#include "persist_int.h"

/* A backend that, when armed, answers like a compare-and-set that lost. */
typedef struct racing {
    bool armed;
    uint64_t other_upper; /* what "another process" moved the upper to */
    persist_event last;   /* the last event it was asked to make durable */
    char last_shard[64];
    int appends;
} racing;

static cc_code
racing_append(void *be, const persist_event *ev, const void *rec, size_t len, uint64_t *current,
              cc_err *err)
{
    racing *r = be;
    (void)rec;
    (void)len;
    r->last = *ev;
    snprintf(r->last_shard, sizeof r->last_shard, "%s", ev->shard);
    if (r->armed && ev->is_append) {
        *current = r->other_upper;
        return cc_err_set(err, CC_UPPER_MISMATCH, "upper of shard \"%s\" moved to %llu", ev->shard,
                          (unsigned long long)r->other_upper);
    }
    r->appends++;
    return CC_OK;
}

static cc_code
racing_replay(void *be, persist_replay_fn fn, void *arg, cc_err *err)
{
    (void)be;
    (void)fn;
    (void)arg;
    (void)err;
    return CC_OK;
}

static void
racing_stats(void *be, persist_stats *out)
{
    (void)be;
    (void)out;
}

static void
racing_close(void *be)
{
    (void)be;
}

static const persist_backend_ops racing_ops = {
    .name = "racing",
    .can_rollup = false,
    .append = racing_append,
    .replay = racing_replay,
    .stats = racing_stats,
    .close = racing_close,
};

typedef struct count_arg {
    int rows;
} count_arg;

static int
count_rows(void *arg, pmap_bytes key, pmap_bytes value, int64_t diff)
{
    (void)key;
    (void)value;
    (void)diff;
    ((count_arg *)arg)->rows++;
    return 0;
}

Test(persist_backend, a_mismatch_from_the_backend_reaches_the_caller_and_applies_nothing)
{
    racing r = {0};
    persist_options o = {.backend = PERSIST_BACKEND_MEM};
    persist_client *c;
    cc_err err;
    cr_assert_eq(persist__client_open_backend(&o, (persist_backend){&racing_ops, &r}, &c, &err),
                 CC_OK, "%s", err.msg);
    persist_shard *s;
    cr_assert_eq(persist_shard_open(c, "t", &s, &err), CC_OK, "%s", err.msg);
    cr_assert_str_eq(r.last_shard, "t");
    cr_assert_not(r.last.is_append, "shard creation is not an append");

    persist_update u = {{"a", 1}, {"1", 1}, 0, 1};
    cr_assert_eq(persist_compare_and_append(s, &u, 1, 0, 1, NULL, &err), CC_OK, "%s", err.msg);
    cr_assert(r.last.is_append);
    cr_assert_eq(r.last.expected_upper, 0);
    cr_assert_eq(r.last.new_upper, 1);

    r.armed = true;
    r.other_upper = 7;
    uint64_t current = 0;
    persist_update v = {{"b", 1}, {"2", 1}, 1, 1};
    cr_assert_eq(persist_compare_and_append(s, &v, 1, 1, 2, &current, &err), CC_UPPER_MISMATCH);
    cr_assert_eq(current, 7, "the backend's upper must reach the caller");
    cr_assert(strstr(err.msg, "moved to 7") != NULL, "%s", err.msg);
    cr_assert_eq(persist_shard_upper(s), 1, "a rejected append must not move the upper");
    count_arg n = {0};
    cr_assert_eq(persist_snapshot(s, 0, count_rows, &n, &err), CC_OK, "%s", err.msg);
    cr_assert_eq(n.rows, 1, "a rejected append must not reach the trace");

    r.armed = false;
    cr_assert_eq(persist_compare_and_append(s, &v, 1, 1, 2, NULL, &err), CC_OK, "%s", err.msg);
    n.rows = 0;
    cr_assert_eq(persist_snapshot(s, 1, count_rows, &n, &err), CC_OK, "%s", err.msg);
    cr_assert_eq(n.rows, 2);
    cr_assert_eq(r.appends, 3, "create + two successful appends");
    persist_client_close(c);
}

Test(persist_backend, rollups_are_a_no_op_for_backends_without_history)
{
    racing r = {0};
    persist_options o = {.backend = PERSIST_BACKEND_MEM};
    persist_client *c;
    cc_err err;
    cr_assert_eq(persist__client_open_backend(&o, (persist_backend){&racing_ops, &r}, &c, &err),
                 CC_OK);
    cr_assert_eq(persist_client_rollup(c, &err), CC_OK);
    persist_stats st;
    persist_client_stats(c, &st);
    cr_assert_eq(st.rollups, 0);
    persist_client_close(c);
}
