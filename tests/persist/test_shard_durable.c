/*
 * tests/persist/test_shard_durable.c — shards on the file backend across
 * reopens: state after close/reopen with and without rollups (explicit and
 * automatic), old segments deleted by a rollup, injected I/O faults under
 * compare_and_append (N = 1, 2, ... for ENOSPC, EIO, short writes and
 * fdatasync failure), and a seeded model-based property test over appends,
 * since downgrades, snapshots, reopens and rollups (on both backends).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "persist/io.h"
#include "persist/persist.h"
#include "shard_testutil.h"
#include "testutil.h"

/* Everything observable about a shard: upper, since, trace entries (decoded). */
typedef struct shard_state {
    uint64_t upper, since;
    kvs trace;
} shard_state;

static void
state_take(persist_shard *s, persist_client *c, shard_state *out)
{
    memset(out, 0, sizeof *out);
    pmap_omap view;
    persist_shard_trace(s, &view, &out->upper);
    out->since = persist_shard_since(s);
    pmap_omap_cursor cur;
    uint8_t buf[512];
    for (bool have = pmap_omap_seek_first(&cur, &view); have; have = pmap_omap_cursor_next(&cur)) {
        pmap_bytes enc, k, v;
        void *d;
        pmap_omap_cursor_get(&cur, &enc, &d);
        cr_assert(enc.len <= sizeof buf);
        cr_assert(persist_trace_decode_copy(enc, buf, &k, &v));
        kvs_push(&out->trace, k, v, (int64_t)(intptr_t)d);
    }
    persist_trace_release(c, &view);
}

static void
state_expect_eq(const shard_state *got, const shard_state *want, const char *what)
{
    cr_assert_eq(got->upper, want->upper, "%s: upper %llu, want %llu", what,
                 (unsigned long long)got->upper, (unsigned long long)want->upper);
    cr_assert_eq(got->since, want->since, "%s: since", what);
    kvs_expect(&got->trace, &want->trace, what);
}

/* Fills shard i of 3 with rounds appends of 1..4 updates each (some retractions). */
static void
fill(pfix *f, model *m, int rounds, uint64_t seed)
{
    tu_rng r;
    tu_rng_init(&r, seed);
    for (int i = 0; i < 3; i++) {
        char id[8];
        snprintf(id, sizeof id, "s%d", i);
        persist_shard *s = pfix_shard(f, id);
        for (int k = 0; k < rounds; k++) {
            uint64_t lo = persist_shard_upper(s), hi = lo + 1 + tu_rng_below(&r, 3);
            persist_update u[4];
            char keys[4][16];
            size_t n = tu_rng_below(&r, 5);
            for (size_t j = 0; j < n; j++) {
                snprintf(keys[j], sizeof keys[j], "key%03llu",
                         (unsigned long long)tu_rng_below(&r, 40));
                u[j] = (persist_update){B(keys[j]), B(id), lo + tu_rng_below(&r, hi - lo),
                                        tu_rng_chance(&r, 30) ? -1 : 1};
            }
            caa_ok(s, u, n, lo, hi);
            model_add(&m[i], u, n);
        }
    }
}

static void
reopen_case(bool rollup)
{
    pfix f;
    pfix_open(&f, PERSIST_BACKEND_FILE, &(persist_options){.segment_bytes = 4096});
    model m[3] = {{0}};
    fill(&f, m, 60, 7);
    cr_assert_eq(persist_downgrade_since(pfix_shard(&f, "s1"), 20, NULL), CC_OK);
    shard_state before[3];
    for (int i = 0; i < 3; i++) {
        char id[8];
        snprintf(id, sizeof id, "s%d", i);
        state_take(pfix_shard(&f, id), f.c, &before[i]);
    }
    int segs = count_files(&f.t, "log-");
    cr_assert_gt(segs, 1, "the fill spans several segments");
    if (rollup) {
        cc_err err;
        cr_assert_eq(persist_client_rollup(f.c, &err), CC_OK, "%s", err.msg);
        cr_assert_eq(count_files(&f.t, "log-"), 1, "older segments are deleted by the rollup");
        cr_assert_eq(count_files(&f.t, "rollup-"), 1);
        persist_stats st;
        persist_client_stats(f.c, &st);
        cr_assert_eq(st.rollups, 1);
    }
    for (int round = 0; round < 2; round++) {
        pfix_reopen(&f);
        for (int i = 0; i < 3; i++) {
            char id[8];
            snprintf(id, sizeof id, "s%d", i);
            persist_shard *s = pfix_shard(&f, id);
            shard_state after;
            state_take(s, f.c, &after);
            state_expect_eq(&after, &before[i], id);
            kvs_free(&after.trace);
            for (uint64_t t = before[i].since; t < before[i].upper; t++)
                snap_expect(s, &m[i], t, id);
        }
    }
    /* Usable after reopen: append, roll up again, reopen. */
    persist_shard *s0 = pfix_shard(&f, "s0");
    persist_update u = {B("late"), B("x"), before[0].upper, 1};
    caa_ok(s0, &u, 1, before[0].upper, before[0].upper + 1);
    model_add(&m[0], &u, 1);
    cr_assert_eq(persist_client_rollup(f.c, NULL), CC_OK);
    pfix_reopen(&f);
    snap_expect(pfix_shard(&f, "s0"), &m[0], before[0].upper, "after the second rollup");
    for (int i = 0; i < 3; i++) {
        kvs_free(&before[i].trace);
        model_free(&m[i]);
    }
    pfix_close(&f);
}

Test(persist_shard_durable, reopen_restores_trace_upper_and_since)
{
    reopen_case(false);
}

Test(persist_shard_durable, reopen_after_a_rollup_restores_the_same_state_and_old_segments_go)
{
    reopen_case(true);
}

Test(persist_shard_durable, automatic_rollups_trigger_and_reopen_stays_correct)
{
    pfix f;
    pfix_open(&f, PERSIST_BACKEND_FILE,
              &(persist_options){.segment_bytes = 4096, .rollup_min_bytes = 8192});
    model m[3] = {{0}};
    fill(&f, m, 150, 11);
    persist_stats st;
    persist_client_stats(f.c, &st);
    cr_assert_gt(st.rollups, 0, "no automatic rollup after %llu bytes",
                 (unsigned long long)st.wal_bytes);
    cr_assert_leq(count_files(&f.t, "rollup-"), 1);
    pfix_reopen(&f);
    for (int i = 0; i < 3; i++) {
        char id[8];
        snprintf(id, sizeof id, "s%d", i);
        persist_shard *s = pfix_shard(&f, id);
        uint64_t up = persist_shard_upper(s);
        for (uint64_t t = 0; t < up; t += 7)
            snap_expect(s, &m[i], t, id);
        snap_expect(s, &m[i], up - 1, id);
        model_free(&m[i]);
    }
    pfix_close(&f);
}

/* ---- injected I/O faults ------------------------------------------------------------- */

typedef struct fault_case {
    persist_io_op op;
    persist_io_fault_kind kind;
    int errnum;
    const char *msg; /* every failure message contains this */
} fault_case;

/*
 * N = 1, 2, ...: two acknowledged appends, then the Nth `op` call fails during
 * eight more. A failing append reports CC_IO with fc->msg and the data
 * directory, the shard (upper, snapshot) is unchanged in memory, the next
 * append at the same upper works, and a reopen holds exactly the acknowledged
 * appends. Stops at the first N that no longer fires.
 */
static void
fault_walk(const fault_case *fc)
{
    uint64_t nth;
    for (nth = 1; nth < 200; nth++) {
        persist_io_faults fi;
        persist_io_faults_init(&fi, persist_io_default());
        pfix f;
        pfix_open(&f, PERSIST_BACKEND_FILE,
                  &(persist_options){.io = &fi.io, .segment_bytes = 4096});
        persist_shard *s = pfix_shard(&f, "f");
        model m = {0};
        char val[700];
        memset(val, 'v', sizeof val);
        for (uint64_t k = 0; k < 10; k++) {
            if (k == 2)
                cr_assert_eq(persist_io_faults_arm(&fi, fc->op, nth, 1, fc->kind, fc->errnum), 0);
            char key[16];
            snprintf(key, sizeof key, "k%llu", (unsigned long long)k);
            uint64_t up = persist_shard_upper(s);
            persist_update u = {B(key), {val, 100 + 60 * k}, up, 1};
            cc_err err;
            cc_code rc = persist_compare_and_append(s, &u, 1, up, up + 1, NULL, &err);
            if (rc == CC_OK) {
                model_add(&m, &u, 1);
                continue;
            }
            cr_assert_eq(rc, CC_IO, "N=%llu: %s", (unsigned long long)nth, err.msg);
            cr_assert(strstr(err.msg, fc->msg) != NULL, "N=%llu: \"%s\" lacks \"%s\"",
                      (unsigned long long)nth, err.msg, fc->msg);
            cr_assert(strstr(err.msg, f.t.data) != NULL, "names the file: %s", err.msg);
            cr_assert_eq(persist_shard_upper(s), up, "a failed append leaves the upper");
            if (up > 0)
                snap_expect(s, &m, up - 1, "after a failed append");
        }
        uint64_t fired = persist_io_faults_fired(&fi);
        persist_io_faults_disarm(&fi);
        cr_assert_eq(persist_shard_upper(s), m.n, "N=%llu: every append after a failure works",
                     (unsigned long long)nth);
        cr_assert_eq(m.n, fired ? 9 : 10, "N=%llu: one fault fails one append",
                     (unsigned long long)nth);
        pfix_reopen(&f);
        s = pfix_shard(&f, "f");
        cr_assert_eq(persist_shard_upper(s), m.n, "N=%llu: reopen holds the acknowledged appends",
                     (unsigned long long)nth);
        snap_expect(s, &m, m.n - 1, "after reopen");
        model_free(&m);
        pfix_close(&f);
        persist_io_faults_fini(&fi);
        if (!fired)
            break;
    }
    cr_assert_gt(nth, 1, "the fault never fired");
}

Test(persist_shard_durable, enospc_fails_the_append_and_leaves_the_shard_usable)
{
    fault_walk(
        &(fault_case){PERSIST_IO_PWRITE, PERSIST_FAULT_ERRNO, ENOSPC, "No space left on device"});
}

Test(persist_shard_durable, eio_fails_the_append_and_leaves_the_shard_usable)
{
    fault_walk(&(fault_case){PERSIST_IO_PWRITE, PERSIST_FAULT_ERRNO, EIO, "could not write"});
}

Test(persist_shard_durable, a_short_write_fails_the_append_and_leaves_the_shard_usable)
{
    fault_walk(&(fault_case){PERSIST_IO_PWRITE, PERSIST_FAULT_SHORT, 0, "wrote only"});
}

Test(persist_shard_durable, a_failed_fdatasync_fails_the_append_and_leaves_the_shard_usable)
{
    fault_walk(
        &(fault_case){PERSIST_IO_FDATASYNC, PERSIST_FAULT_ERRNO, EIO, "could not fdatasync"});
}

/* ---- model-based property test ------------------------------------------------------ */

#define PROP_SHARDS 2

static void
random_bytes(tu_rng *r, char *buf, size_t *len, size_t max)
{
    static const char alphabet[] = {'a', 'b', '\0', (char)0xff};
    *len = tu_rng_below(r, max + 1);
    for (size_t i = 0; i < *len; i++)
        buf[i] = alphabet[tu_rng_below(r, sizeof alphabet)];
}

static void
property(persist_backend_kind kind, const char *name, int steps)
{
    uint64_t seed = tu_seed(name);
    tu_rng r;
    tu_rng_init(&r, seed);
    pfix f;
    pfix_open(&f, kind, &(persist_options){.segment_bytes = 4096, .rollup_min_bytes = 16384});
    model m[PROP_SHARDS] = {{0}};
    uint64_t upper[PROP_SHARDS] = {0}, since[PROP_SHARDS] = {0};
    char what[160];
    for (int step = 0; step < steps; step++) {
        int si = (int)tu_rng_below(&r, PROP_SHARDS);
        char id[8];
        snprintf(id, sizeof id, "p%d", si);
        persist_shard *s = pfix_shard(&f, id);
        unsigned op = (unsigned)tu_rng_below(&r, 100);
        snprintf(what, sizeof what, "seed %llu step %d (op %u, shard %s)", (unsigned long long)seed,
                 step, op, id);
        cc_err err;
        if (op < 55) {
            persist_update u[6];
            char kb[6][4], vb[6][3];
            size_t n = tu_rng_below(&r, 7);
            uint64_t hi = upper[si] + 1 + tu_rng_below(&r, 3);
            for (size_t i = 0; i < n; i++) {
                size_t kl, vl;
                random_bytes(&r, kb[i], &kl, 3);
                random_bytes(&r, vb[i], &vl, 2);
                int64_t d = (int64_t)tu_rng_below(&r, 3) + 1;
                u[i] = (persist_update){{kb[i], kl},
                                        {vb[i], vl},
                                        upper[si] + tu_rng_below(&r, hi - upper[si]),
                                        tu_rng_chance(&r, 40) ? -d : d};
            }
            bool stale = upper[si] > 0 && tu_rng_chance(&r, 10);
            uint64_t lo = stale ? upper[si] - 1 : upper[si], cur = 0;
            if (stale)
                for (size_t i = 0; i < n; i++)
                    u[i].ts = lo; /* valid range, wrong upper */
            cc_code rc = persist_compare_and_append(s, u, n, lo, hi, &cur, &err);
            if (stale) {
                cr_assert_eq(rc, CC_UPPER_MISMATCH, "%s", what);
                cr_assert_eq(cur, upper[si], "%s", what);
            } else {
                cr_assert_eq(rc, CC_OK, "%s: %s", what, err.msg);
                model_add(&m[si], u, n);
                upper[si] = hi;
            }
        } else if (op < 65) {
            uint64_t to = since[si] + tu_rng_below(&r, upper[si] - since[si] + 1);
            cr_assert_eq(persist_downgrade_since(s, to, &err), CC_OK, "%s: %s", what, err.msg);
            since[si] = to > since[si] ? to : since[si];
        } else if (op < 90) {
            if (upper[si] > since[si]) {
                uint64_t at = since[si] + tu_rng_below(&r, upper[si] - since[si]);
                snap_expect(s, &m[si], at, what);
            }
            if (since[si] > 0) {
                kvs got;
                cr_assert_eq(snap(s, since[si] - 1, &got, &err), CC_INVALID, "%s", what);
                kvs_free(&got);
            }
        } else if (op < 95) {
            cr_assert_eq(persist_client_rollup(f.c, &err), CC_OK, "%s: %s", what, err.msg);
        } else {
            pfix_reopen(&f);
        }
        s = pfix_shard(&f, id);
        cr_assert_eq(persist_shard_upper(s), upper[si], "%s", what);
        cr_assert_eq(persist_shard_since(s), since[si], "%s", what);
    }
    pfix_reopen(&f);
    for (int si = 0; si < PROP_SHARDS; si++) {
        char id[8];
        snprintf(id, sizeof id, "p%d", si);
        persist_shard *s = pfix_shard(&f, id);
        snprintf(what, sizeof what, "seed %llu final check of %s", (unsigned long long)seed, id);
        for (uint64_t t = since[si]; t < upper[si]; t++)
            snap_expect(s, &m[si], t, what);
        model_free(&m[si]);
    }
    pfix_close(&f);
}

Test(persist_shard_durable, random_operations_match_the_model_on_file)
{
    property(PERSIST_BACKEND_FILE, "persist_shard_durable/model_file",
             (int)tu_env_long("COWCAT_TEST_SCALE", 1) * 600);
}

Test(persist_shard_durable, random_operations_match_the_model_on_mem)
{
    property(PERSIST_BACKEND_MEM, "persist_shard_durable/model_mem",
             (int)tu_env_long("COWCAT_TEST_SCALE", 1) * 600);
}
