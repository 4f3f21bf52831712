/*
 * tests/persist/test_replay.c — recovery refuses what only a forged or
 * corrupted data directory holds. Each test writes a directory straight
 * through the log (persist_wal: valid frames and checksums, a rollup body of
 * our own) holding one thing no writer produces, and expects
 * persist_client_open to fail with CORRUPT and a message naming it; the
 * legitimate neighbour of each rule (the boundary a writer does produce)
 * must still open. Last, a directory made by the real writers through every
 * edge the rules touch (since at upper, empty appends, batches with drops,
 * rollups between) reopens to the same state.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "persist/persist.h"
#include "persist_int.h"
#include "proto/persist.pb-c.h"
#include "shard_testutil.h"
#include "wal.h"

/* --- a forged directory --------------------------------------------------------------- */

typedef struct forge {
    tdir t;
    persist_wal *wal;
} forge;

static void
forge_open(forge *f)
{
    tdir_make(&f->t);
    cc_err err;
    persist_wal_opts o = {.durability = PERSIST_DURABILITY_NONE};
    cr_assert_eq(persist_wal_open(f->t.data, &o, &f->wal, &err), CC_OK, "%s", err.msg);
}

/* Appends r as one unit of the log. */
static void
forge_record(forge *f, const Cowcat__Persist__PersistRecord *r)
{
    size_t n = cowcat__persist__persist_record__get_packed_size(r);
    uint8_t *buf = malloc(n + 1);
    cr_assert_not_null(buf);
    cowcat__persist__persist_record__pack(r, buf);
    persist_wal_rec rec = {buf, n};
    cc_err err;
    cr_assert_eq(persist_wal_append(f->wal, &rec, 1, &err), CC_OK, "%s", err.msg);
    free(buf);
}

static void
forge_create(forge *f, const char *id)
{
    Cowcat__Persist__ShardCreate c = COWCAT__PERSIST__SHARD_CREATE__INIT;
    c.shard = (char *)id;
    Cowcat__Persist__PersistRecord r = COWCAT__PERSIST__PERSIST_RECORD__INIT;
    r.kind_case = COWCAT__PERSIST__PERSIST_RECORD__KIND_CREATE;
    r.create = &c;
    forge_record(f, &r);
}

/* Protobuf updates for u[0..n) into ups/ptrs (n <= 4). */
static void
to_proto(const persist_update *u, size_t n, Cowcat__Persist__Update *ups,
         Cowcat__Persist__Update **ptrs)
{
    cr_assert_leq(n, 4);
    for (size_t i = 0; i < n; i++) {
        cowcat__persist__update__init(&ups[i]);
        ups[i].key = (ProtobufCBinaryData){u[i].key.len, (uint8_t *)u[i].key.ptr};
        ups[i].value = (ProtobufCBinaryData){u[i].value.len, (uint8_t *)u[i].value.ptr};
        ups[i].ts = u[i].ts;
        ups[i].diff = u[i].diff;
        ptrs[i] = &ups[i];
    }
}

static void
forge_append(forge *f, const char *id, const persist_update *u, size_t n, uint64_t lower,
             uint64_t upper)
{
    Cowcat__Persist__Update ups[4], *ptrs[4];
    to_proto(u, n, ups, ptrs);
    Cowcat__Persist__Append a = COWCAT__PERSIST__APPEND__INIT;
    a.shard = (char *)id;
    a.expected_upper = lower;
    a.new_upper = upper;
    a.n_updates = n;
    a.updates = ptrs;
    Cowcat__Persist__PersistRecord r = COWCAT__PERSIST__PERSIST_RECORD__INIT;
    r.kind_case = COWCAT__PERSIST__PERSIST_RECORD__KIND_APPEND;
    r.append = &a;
    forge_record(f, &r);
}

static void
forge_since(forge *f, const char *id, uint64_t since)
{
    Cowcat__Persist__SinceDowngrade sd = COWCAT__PERSIST__SINCE_DOWNGRADE__INIT;
    sd.shard = (char *)id;
    sd.since = since;
    Cowcat__Persist__PersistRecord r = COWCAT__PERSIST__PERSIST_RECORD__INIT;
    r.kind_case = COWCAT__PERSIST__PERSIST_RECORD__KIND_SINCE;
    r.since = &sd;
    forge_record(f, &r);
}

/* A batch record of one since move and one drop (either id may be NULL: left out). */
static void
forge_batch(forge *f, const char *since_id, uint64_t since, const char *drop_id)
{
    Cowcat__Persist__SinceDowngrade sd = COWCAT__PERSIST__SINCE_DOWNGRADE__INIT, *sdp = &sd;
    Cowcat__Persist__ShardDrop dr = COWCAT__PERSIST__SHARD_DROP__INIT, *drp = &dr;
    sd.shard = (char *)since_id;
    sd.since = since;
    dr.shard = (char *)drop_id;
    Cowcat__Persist__Batch b = COWCAT__PERSIST__BATCH__INIT;
    b.n_sinces = since_id != NULL;
    b.sinces = &sdp;
    b.n_drops = drop_id != NULL;
    b.drops = &drp;
    Cowcat__Persist__PersistRecord r = COWCAT__PERSIST__PERSIST_RECORD__INIT;
    r.kind_case = COWCAT__PERSIST__PERSIST_RECORD__KIND_BATCH;
    r.batch = &b;
    forge_record(f, &r);
}

/* One RollupShard chunk, as the writer in client.c builds them. */
typedef struct chunk {
    const char *id;
    size_t idlen; /* 0: strlen(id) */
    bool first, append;
    uint64_t upper, since, lower;
    persist_update trace[4], history[4];
    size_t ntrace, nhistory;
} chunk;

typedef struct rollup_arg {
    const chunk *chunks;
    size_t n;
} rollup_arg;

static cc_code
emit(persist_wal_sink *sink, const ProtobufCMessage *m, cc_err *err)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(n + 4);
    cr_assert_not_null(buf);
    uint32_t len = (uint32_t)n;
    memcpy(buf, &len, 4);
    protobuf_c_message_pack(m, buf + 4);
    cc_code rc = persist_wal_sink_write(sink, buf, n + 4, err);
    free(buf);
    return rc;
}

static cc_code
write_chunks(void *arg, persist_wal_sink *sink, cc_err *err)
{
    const rollup_arg *ra = arg;
    Cowcat__Persist__RollupHeader h = COWCAT__PERSIST__ROLLUP_HEADER__INIT;
    h.format_version = ROLLUP_FORMAT_VERSION;
    h.shards = ra->n;
    cc_code rc = emit(sink, &h.base, err);
    for (size_t i = 0; rc == CC_OK && i < ra->n; i++) {
        const chunk *k = &ra->chunks[i];
        Cowcat__Persist__Update tu[4], *tp[4], hu[4], *hp[4];
        to_proto(k->trace, k->ntrace, tu, tp);
        to_proto(k->history, k->nhistory, hu, hp);
        Cowcat__Persist__RollupShard rs = COWCAT__PERSIST__ROLLUP_SHARD__INIT;
        rs.shard = k->idlen > 0 ? (char *)"" : (char *)k->id;
        rs.first = k->first;
        rs.append = k->append;
        rs.upper = k->upper;
        rs.since = k->since;
        rs.lower = k->lower;
        rs.n_trace = k->ntrace;
        rs.trace = tp;
        rs.n_history = k->nhistory;
        rs.history = hp;
        size_t n = protobuf_c_message_get_packed_size(&rs.base);
        uint8_t *buf = malloc(n + 4 + 2 + k->idlen);
        cr_assert_not_null(buf);
        protobuf_c_message_pack(&rs.base, buf + 4);
        if (k->idlen > 0) {
            /* an id with a NUL, which no C string holds: field 1 appended by
             * hand (the last occurrence wins; ids here are < 128 bytes) */
            cr_assert_lt(k->idlen, 128);
            buf[4 + n] = 1 << 3 | 2;
            buf[4 + n + 1] = (uint8_t)k->idlen;
            memcpy(buf + 4 + n + 2, k->id, k->idlen);
            n += 2 + k->idlen;
        }
        uint32_t len = (uint32_t)n;
        memcpy(buf, &len, 4);
        rc = persist_wal_sink_write(sink, buf, n + 4, err);
        free(buf);
    }
    return rc;
}

/* Writes chunks[0..n) as the directory's rollup (before any later record). */
static void
forge_rollup(forge *f, const chunk *chunks, size_t n)
{
    cc_err err;
    uint64_t mark;
    cr_assert_eq(persist_wal_rollup_begin(f->wal, &mark, &err), CC_OK, "%s", err.msg);
    rollup_arg ra = {chunks, n};
    cr_assert_eq(persist_wal_rollup_write(f->wal, mark, write_chunks, &ra, &err), CC_OK, "%s",
                 err.msg);
}

/* Opens the forged directory with a client: returns its code; err gets the message. */
static cc_code
forge_recover(forge *f, cc_err *err)
{
    persist_wal_close(f->wal);
    f->wal = NULL;
    persist_options o = {
        .backend = PERSIST_BACKEND_FILE, .data_dir = f->t.data, .sync = PERSIST_SYNC_NONE};
    persist_client *c;
    cc_err_clear(err);
    cc_code rc = persist_client_open(&o, &c, err);
    if (rc == CC_OK)
        persist_client_close(c);
    return rc;
}

/* Recovery fails with CORRUPT and a message holding want; removes the directory. */
static void
expect_corrupt(forge *f, const char *want)
{
    cc_err err;
    cc_code rc = forge_recover(f, &err);
    cr_assert_eq(rc, CC_CORRUPT, "recovery gave %s (%s), want CORRUPT with \"%s\"",
                 cc_code_name(rc), err.msg, want);
    cr_assert(strstr(err.msg, want) != NULL, "message \"%s\" does not say \"%s\"", err.msg, want);
    tdir_remove(&f->t);
}

/* Recovery succeeds; removes the directory. */
static void
expect_ok(forge *f)
{
    cc_err err;
    cc_code rc = forge_recover(f, &err);
    cr_assert_eq(rc, CC_OK, "a directory a writer could make was refused: %s", err.msg);
    tdir_remove(&f->t);
}

static persist_update
upd(uint64_t ts, int64_t diff)
{
    return (persist_update){B("k"), B("v"), ts, diff};
}

/* --- shard ids ------------------------------------------------------------------------ */

Test(persist_replay, a_log_record_naming_an_empty_shard_id_is_corrupt)
{
    forge f;
    forge_open(&f);
    forge_create(&f, "");
    expect_corrupt(&f, "invalid shard id (0 bytes");
}

Test(persist_replay, a_log_record_naming_a_256_byte_shard_id_is_corrupt_and_255_bytes_opens)
{
    char id[SHARD_ID_MAX + 2];
    memset(id, 'x', SHARD_ID_MAX + 1);
    id[SHARD_ID_MAX + 1] = '\0';
    forge f;
    forge_open(&f);
    forge_create(&f, id);
    expect_corrupt(&f, "invalid shard id (256 bytes");

    id[SHARD_ID_MAX] = '\0';
    forge_open(&f);
    forge_create(&f, id);
    persist_update u = upd(0, 1);
    forge_append(&f, id, &u, 1, 0, 1);
    expect_ok(&f);
}

Test(persist_replay, appends_since_moves_and_batches_naming_invalid_shard_ids_are_corrupt)
{
    forge f;
    persist_update u = upd(0, 1);
    forge_open(&f);
    forge_append(&f, "", &u, 1, 0, 1);
    expect_corrupt(&f, "invalid shard id");

    forge_open(&f);
    forge_since(&f, "", 0);
    expect_corrupt(&f, "invalid shard id");

    forge_open(&f);
    forge_batch(&f, "", 0, NULL);
    expect_corrupt(&f, "names an invalid shard");

    forge_open(&f);
    forge_batch(&f, NULL, 0, "");
    expect_corrupt(&f, "names an invalid shard");
}

Test(persist_replay, a_rollup_chunk_with_an_invalid_shard_id_is_corrupt)
{
    char id[SHARD_ID_MAX + 2];
    memset(id, 'x', SHARD_ID_MAX + 1);
    id[SHARD_ID_MAX + 1] = '\0';
    const char *bad[] = {"", id};
    for (size_t i = 0; i < 2; i++) {
        forge f;
        forge_open(&f);
        chunk k = {.id = bad[i], .first = true, .upper = 1};
        forge_rollup(&f, &k, 1);
        expect_corrupt(&f, "invalid shard id");
    }
    /* "a\0b": three bytes on the wire, which no C string id can be */
    forge f;
    forge_open(&f);
    chunk k = {.id = "a\0b", .idlen = 3, .first = true, .upper = 1};
    forge_rollup(&f, &k, 1);
    expect_corrupt(&f, "invalid shard id (3 bytes");
}

/* --- frontiers ------------------------------------------------------------------------ */

Test(persist_replay, a_since_move_beyond_the_upper_is_corrupt_and_up_to_it_opens)
{
    forge f;
    persist_update u = upd(0, 1);
    forge_open(&f);
    forge_create(&f, "s");
    forge_append(&f, "s", &u, 1, 0, 3);
    forge_since(&f, "s", 4);
    expect_corrupt(&f, "since of shard \"s\" moves to 4, beyond its upper 3");

    forge_open(&f);
    forge_create(&f, "s");
    forge_append(&f, "s", &u, 1, 0, 3);
    forge_since(&f, "s", 3);
    forge_since(&f, "s", 1); /* backwards: a no-op, as when written */
    expect_ok(&f);
}

Test(persist_replay, a_rollup_with_since_above_upper_is_corrupt_and_since_at_upper_opens)
{
    forge f;
    forge_open(&f);
    chunk k = {.id = "s", .first = true, .upper = 1, .since = 9};
    forge_rollup(&f, &k, 1);
    expect_corrupt(&f, "shard \"s\" has since 9 beyond its upper 1");

    forge_open(&f);
    k.since = 1;
    k.trace[0] = upd(0, 1);
    k.ntrace = 1;
    forge_rollup(&f, &k, 1);
    expect_ok(&f);
}

/* --- log appends ---------------------------------------------------------------------- */

Test(persist_replay, a_log_append_with_an_update_outside_its_range_is_corrupt)
{
    /* [2, 5): ts 1 and ts 5 are outside, 2 and 4 inside */
    uint64_t outside[] = {1, 5, 7};
    for (size_t i = 0; i < 3; i++) {
        forge f;
        forge_open(&f);
        forge_create(&f, "s");
        persist_update first = upd(0, 1);
        forge_append(&f, "s", &first, 1, 0, 2);
        persist_update u[2] = {upd(3, 1), upd(outside[i], 1)};
        forge_append(&f, "s", u, 2, 2, 5);
        expect_corrupt(&f, "append [2, 5) to shard \"s\" holds an update at ts");
    }
    forge f;
    forge_open(&f);
    persist_update first = upd(0, 1);
    forge_append(&f, "s", &first, 1, 0, 2);
    persist_update u[2] = {upd(2, 1), upd(4, -1)};
    forge_append(&f, "s", u, 2, 2, 5);
    expect_ok(&f);
}

Test(persist_replay, a_log_append_with_an_update_of_diff_0_is_corrupt)
{
    forge f;
    forge_open(&f);
    forge_create(&f, "s");
    persist_update u[2] = {upd(0, 1), upd(0, 0)};
    forge_append(&f, "s", u, 2, 0, 1);
    expect_corrupt(&f, "append [0, 1) to shard \"s\" holds an update with diff 0");
}

/* --- rollups ---------------------------------------------------------------------------- */

/* Shard "s" at upper 10, since 4, with an optional trace entry. */
static chunk
first_chunk(void)
{
    chunk k = {.id = "s", .first = true, .upper = 10, .since = 4, .ntrace = 1};
    k.trace[0] = upd(3, 1);
    return k;
}

static chunk
hist_chunk(uint64_t lower, uint64_t upper)
{
    chunk k = {.id = "s", .append = true, .lower = lower, .upper = upper, .nhistory = 1};
    k.history[0] = upd(lower, 1);
    return k;
}

/* Rollup of first_chunk and more[0..n): CORRUPT with want (NULL: opens). */
static void
rollup_case(const chunk *more, size_t n, const char *want)
{
    chunk k[4];
    cr_assert_lt(n, 4);
    k[0] = first_chunk();
    for (size_t i = 0; i < n; i++)
        k[1 + i] = more[i];
    forge f;
    forge_open(&f);
    forge_rollup(&f, k, 1 + n);
    if (want != NULL)
        expect_corrupt(&f, want);
    else
        expect_ok(&f);
}

Test(persist_replay, a_rollup_history_chunk_above_the_upper_is_corrupt)
{
    chunk h = hist_chunk(9, 11);
    rollup_case(&h, 1, "has a retained append [9, 11) beyond its upper 10");
    h = hist_chunk(9, 10);
    rollup_case(&h, 1, NULL);
    /* the fuzzer's case: no first chunk, so no upper at all */
    forge f;
    forge_open(&f);
    h = hist_chunk(4, 5);
    forge_rollup(&f, &h, 1);
    expect_corrupt(&f, "has a chunk before its first");
}

Test(persist_replay, a_rollup_history_chunk_below_since_out_of_order_or_empty_is_corrupt)
{
    chunk h = hist_chunk(2, 4);
    rollup_case(&h, 1, "has a retained append [2, 4) wholly below its since 4");
    h = hist_chunk(3, 5); /* reaches since: retained */
    rollup_case(&h, 1, NULL);
    chunk two[2] = {hist_chunk(5, 8), hist_chunk(7, 10)};
    rollup_case(two, 2, "has a retained append [7, 10) starting before the end 8");
    two[1] = hist_chunk(8, 10);
    rollup_case(two, 2, NULL);
    h = hist_chunk(6, 6);
    h.nhistory = 0;
    rollup_case(&h, 1, "has a retained append [6, 6) with an empty range");
    h = hist_chunk(6, 7);
    h.nhistory = 0; /* an empty append is retained like any other */
    rollup_case(&h, 1, NULL);
}

Test(persist_replay, a_rollup_history_update_outside_its_range_is_corrupt)
{
    chunk h = hist_chunk(5, 8);
    h.history[1] = upd(8, 1);
    h.nhistory = 2;
    rollup_case(&h, 1, "has a retained append [5, 8) holding an update at ts 8, outside its range");
    h.history[1] = upd(2, -1);
    rollup_case(&h, 1, "holding an update at ts 2, outside its range");
    h.history[1] = upd(7, -1);
    rollup_case(&h, 1, NULL);
}

Test(persist_replay, a_rollup_history_update_with_diff_0_is_corrupt)
{
    chunk h = hist_chunk(5, 8);
    h.history[1] = upd(6, 0);
    h.nhistory = 2;
    rollup_case(&h, 1, "has a retained append [5, 8) holding an update with diff 0");
}

Test(persist_replay, a_rollup_trace_entry_with_diff_0_is_corrupt)
{
    chunk k = first_chunk();
    k.trace[1] = (persist_update){B("k2"), B("v"), 0, 0};
    k.ntrace = 2;
    forge f;
    forge_open(&f);
    forge_rollup(&f, &k, 1);
    expect_corrupt(&f, "has a trace entry with diff 0");
}

Test(persist_replay, rollup_chunks_out_of_the_writers_shape_are_corrupt)
{
    /* a second first chunk */
    chunk again = first_chunk();
    rollup_case(&again, 1, "has a second first chunk");
    /* a later trace chunk is fine; one mixing in history is not */
    chunk more = {.id = "s", .upper = 10, .since = 4, .ntrace = 1};
    more.trace[0] = upd(0, 1);
    more.trace[0].key = B("k3");
    rollup_case(&more, 1, NULL);
    more.history[0] = upd(5, 1);
    more.nhistory = 1;
    rollup_case(&more, 1, "has a chunk mixing trace and retained history");
    chunk h = hist_chunk(5, 6);
    h.trace[0] = upd(0, 1);
    h.ntrace = 1;
    rollup_case(&h, 1, "has a chunk mixing trace and retained history");
}

/* --- what the writers make opens ------------------------------------------------------- */

typedef struct seen {
    uint64_t lower[16], upper[16];
    size_t n[16], count;
} seen;

static void
on_append(void *arg, const persist_update *u, size_t n, uint64_t lower, uint64_t upper)
{
    (void)u;
    seen *s = arg;
    cr_assert_lt(s->count, 16);
    s->lower[s->count] = lower;
    s->upper[s->count] = upper;
    s->n[s->count++] = n;
}

static seen
history_of(persist_shard *s)
{
    seen out = {0};
    persist_listener *l;
    cc_err err;
    cr_assert_eq(persist_listen(s, persist_shard_since(s), on_append, &out, &l, &err), CC_OK, "%s",
                 err.msg);
    persist_listen_stop(l);
    return out;
}

static void
expect_same_shard(pfix *f, const char *id, uint64_t upper, uint64_t since, size_t nhist,
                  const char *what)
{
    persist_shard *s = persist_shard_find(f->c, id);
    cr_assert_not_null(s, "%s: shard %s is gone", what, id);
    cr_assert_eq(persist_shard_upper(s), upper, "%s: %s upper %llu", what, id,
                 (unsigned long long)persist_shard_upper(s));
    cr_assert_eq(persist_shard_since(s), since, "%s: %s since %llu", what, id,
                 (unsigned long long)persist_shard_since(s));
    seen h = history_of(s);
    cr_assert_eq(h.count, nhist, "%s: %s retains %zu appends, want %zu", what, id, h.count, nhist);
    for (size_t i = 1; i < h.count; i++)
        cr_assert_eq(h.lower[i], h.upper[i - 1], "%s: %s history is not contiguous", what, id);
}

Test(persist_replay, directories_the_writers_make_at_every_edge_reopen_the_same)
{
    pfix f;
    pfix_open(&f, PERSIST_BACKEND_FILE, &(persist_options){.sync = PERSIST_SYNC_NONE});
    cc_err err;
    char long_id[SHARD_ID_MAX + 1];
    memset(long_id, 'y', SHARD_ID_MAX);
    long_id[SHARD_ID_MAX] = '\0';
    for (int round = 0; round < 3; round++) {
        char what[32];
        snprintf(what, sizeof what, "round %d", round);
        persist_shard *a = pfix_shard(&f, "a"), *b = pfix_shard(&f, long_id);
        persist_shard *d = pfix_shard(&f, "dropped");
        uint64_t ua = persist_shard_upper(a), ub = persist_shard_upper(b);
        /* an empty append, an append using its whole range, since to exactly upper */
        caa_ok(a, NULL, 0, ua, ua + 2);
        persist_update u[2] = {upd(ua + 2, 1), upd(ua + 4, 1)};
        caa_ok(a, u, 2, ua + 2, ua + 5);
        cr_assert_eq(persist_downgrade_since(a, ua + 5, &err), CC_OK, "%s", err.msg);
        /* b: since moves inside the range of a retained append */
        persist_update v = upd(ub, 1);
        caa_ok(b, &v, 1, ub, ub + 3);
        cr_assert_eq(persist_downgrade_since(b, ub + 1, &err), CC_OK, "%s", err.msg);
        /* a batch: append to b, since of b to its new upper, drop d */
        persist_update z = upd(0, 1);
        caa_ok(d, &z, 1, 0, 1); /* made anew each round: the drop forgot it */
        persist_batch *bt;
        cr_assert_eq(persist_batch_new(f.c, &bt, &err), CC_OK);
        persist_update w = upd(ub + 3, -1);
        cr_assert_eq(persist_batch_append(bt, b, &w, 1, ub + 3, ub + 4, &err), CC_OK);
        cr_assert_eq(persist_batch_since(bt, b, ub + 4, &err), CC_OK);
        cr_assert_eq(persist_batch_drop(bt, d, &err), CC_OK);
        cr_assert_eq(persist_batch_commit(bt, NULL, NULL, &err), CC_OK, "%s", err.msg);
        persist_batch_free(bt);
        /* one more append after the since moves: retained, contiguous with nothing before */
        caa_ok(b, NULL, 0, ub + 4, ub + 6);
        expect_same_shard(&f, "a", ua + 5, ua + 5, 0, what);
        expect_same_shard(&f, long_id, ub + 6, ub + 4, 1, what);
        pfix_reopen(&f);
        expect_same_shard(&f, "a", ua + 5, ua + 5, 0, what);
        expect_same_shard(&f, long_id, ub + 6, ub + 4, 1, what);
        cr_assert_null(persist_shard_find(f.c, "dropped"), "%s: the drop came back", what);
        if (round != 1) {
            cr_assert_eq(persist_client_rollup(f.c, &err), CC_OK, "%s", err.msg);
            pfix_reopen(&f);
            expect_same_shard(&f, "a", ua + 5, ua + 5, 0, what);
            expect_same_shard(&f, long_id, ub + 6, ub + 4, 1, what);
        }
    }
    pfix_close(&f);
}
