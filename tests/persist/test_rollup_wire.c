/*
 * tests/persist/test_rollup_wire.c — the in-place RollupShard reader
 * (persist/src/rollup_wire.c) against protobuf-c: same fields and updates
 * for every valid record, refusal of every record protobuf-c refuses.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "persist_int.h"
#include "proto/persist.pb-c.h"
#include "testutil.h"

static void
expect_same(const persist__rollup_shard *rs, const Cowcat__Persist__RollupShard *m, uint64_t seed)
{
    cr_assert_eq(rs->shard.len, strlen(m->shard), "seed %llu", (unsigned long long)seed);
    cr_assert(rs->shard.len == 0 || memcmp(rs->shard.ptr, m->shard, rs->shard.len) == 0);
    cr_assert_eq(rs->first, m->first);
    cr_assert_eq(rs->append, m->append);
    cr_assert_eq(rs->upper, m->upper);
    cr_assert_eq(rs->since, m->since);
    cr_assert_eq(rs->lower, m->lower);
    cr_assert_eq(rs->ntrace, m->n_trace);
    cr_assert_eq(rs->nhistory, m->n_history);
    for (int h = 0; h < 2; h++) {
        const persist_update *u = h ? rs->history : rs->trace;
        Cowcat__Persist__Update **w = h ? m->history : m->trace;
        size_t n = h ? m->n_history : m->n_trace;
        for (size_t i = 0; i < n; i++) {
            cr_assert_eq(u[i].key.len, w[i]->key.len, "seed %llu update %zu",
                         (unsigned long long)seed, i);
            cr_assert(u[i].key.len == 0 || memcmp(u[i].key.ptr, w[i]->key.data, u[i].key.len) == 0);
            cr_assert_eq(u[i].value.len, w[i]->value.len);
            cr_assert(u[i].value.len == 0 ||
                      memcmp(u[i].value.ptr, w[i]->value.data, u[i].value.len) == 0);
            cr_assert_eq(u[i].ts, w[i]->ts);
            cr_assert_eq(u[i].diff, w[i]->diff, "seed %llu: diff %lld vs %lld",
                         (unsigned long long)seed, (long long)u[i].diff, (long long)w[i]->diff);
        }
    }
}

Test(rollup_wire, reads_what_protobuf_c_reads_and_refuses_what_it_refuses)
{
    uint64_t seed = tu_seed("rollup_wire");
    tu_rng r;
    tu_rng_init(&r, seed);
    for (int round = 0; round < 300; round++) {
        Cowcat__Persist__RollupShard m = COWCAT__PERSIST__ROLLUP_SHARD__INIT;
        char name[32];
        snprintf(name, sizeof name, "s%u", (unsigned)tu_rng_below(&r, 1000));
        m.shard = name;
        m.first = tu_rng_chance(&r, 50);
        m.append = tu_rng_chance(&r, 30);
        m.upper = tu_rng_next(&r) >> tu_rng_below(&r, 64);
        m.since = tu_rng_below(&r, 1000);
        m.lower = tu_rng_below(&r, 1000);
        size_t nt = tu_rng_below(&r, 20), nh = tu_rng_below(&r, 5);
        Cowcat__Persist__Update ups[25], *pt[20], *ph[5];
        uint8_t bytes[25][2][40];
        for (size_t i = 0; i < nt + nh; i++) {
            cowcat__persist__update__init(&ups[i]);
            for (int k = 0; k < 2; k++) {
                size_t len = tu_rng_below(&r, 40);
                for (size_t j = 0; j < len; j++)
                    bytes[i][k][j] = (uint8_t)tu_rng_next(&r);
                ProtobufCBinaryData b = {len, bytes[i][k]};
                if (k == 0)
                    ups[i].key = b;
                else
                    ups[i].value = b;
            }
            ups[i].ts = tu_rng_next(&r) >> tu_rng_below(&r, 64);
            ups[i].diff = (int64_t)(tu_rng_next(&r) >> tu_rng_below(&r, 64)) *
                          (tu_rng_chance(&r, 50) ? 1 : -1);
            if (i < nt)
                pt[i] = &ups[i];
            else
                ph[i - nt] = &ups[i];
        }
        m.n_trace = nt;
        m.trace = pt;
        m.n_history = nh;
        m.history = ph;
        size_t n = protobuf_c_message_get_packed_size(&m.base);
        uint8_t *buf = malloc(n + 1);
        cr_assert_not_null(buf);
        protobuf_c_message_pack(&m.base, buf);
        persist__rollup_shard rs;
        cc_err err;
        cr_assert_eq(persist__rollup_shard_parse(buf, n, &rs, &err), CC_OK, "seed %llu: %s",
                     (unsigned long long)seed, err.msg);
        expect_same(&rs, &m, seed);
        persist__rollup_shard_fini(&rs);
        /* every cut: accepted exactly when protobuf-c accepts it, with its contents */
        for (size_t cut = 0; cut < n; cut++) {
            Cowcat__Persist__RollupShard *d = cowcat__persist__rollup_shard__unpack(NULL, cut, buf);
            cc_code rc = persist__rollup_shard_parse(buf, cut, &rs, &err);
            if (d == NULL) {
                cr_assert_neq(rc, CC_OK, "seed %llu round %d: a cut at %zu of %zu was read",
                              (unsigned long long)seed, round, cut, n);
                continue;
            }
            cr_assert_eq(rc, CC_OK, "seed %llu round %d: a decodable cut at %zu refused",
                         (unsigned long long)seed, round, cut);
            if (d->shard != NULL)
                expect_same(&rs, d, seed);
            persist__rollup_shard_fini(&rs);
            cowcat__persist__rollup_shard__free_unpacked(d, NULL);
        }
        free(buf);
    }
}
