/*
 * tests/persist/test_wal.c — the file backend's log: round trips, rotation,
 * group commit, the directory lock, torn tails, corruption, injected I/O
 * faults, rollups and durability NONE.
 *
 * Every test works in its own mkdtemp directory under /tmp (the wal's data
 * directory is "<tmp>/data", so open's mkdir is exercised) and removes it.
 * Content is checked through a "state": the list of unit signatures the log
 * holds. An append unit's signature hashes its records; a rollup body is the
 * list of signatures it replaces, so a rollup and the units it covers give the
 * same state, and every test compares states with the model it kept.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xxhash.h>

#include "persist/io.h"
#include "testutil.h"
#include "wal.h"
#include "wal_testutil.h"

/* ---- basics ----------------------------------------------------------------- */

Test(persist_wal, appended_units_replay_in_order_after_reopen)
{
    tdir t;
    tdir_make(&t);
    state s, model = {0};
    persist_wal *wal = open_replay(&t, NULL, &s);
    cr_assert_eq(s.n, 0, "a fresh directory replays nothing");
    for (unsigned k = 0; k < 200; k++)
        append_ok(wal, k, &model);
    persist_wal_stats st;
    persist_wal_stats_get(wal, &st);
    cr_assert_eq(st.appends, 200);
    persist_wal_close(wal);
    reopen_expect(&t, &model, "first reopen");
    for (int round = 0; round < 3; round++) {
        wal = open_replay(&t, NULL, &s);
        free(s.sig);
        for (unsigned k = 0; k < 10; k++)
            append_ok(wal, 1000 + 10 * (unsigned)round + k, &model);
        persist_wal_close(wal);
    }
    reopen_expect(&t, &model, "after three reopen-and-append rounds");
    free(model.sig);
    tdir_remove(&t);
}

Test(persist_wal, empty_records_and_units_without_records_round_trip)
{
    tdir t;
    tdir_make(&t);
    state s, model = {0};
    persist_wal *wal = open_replay(&t, NULL, &s);
    cc_err err;
    persist_wal_rec empty[3] = {{NULL, 0}, {"x", 1}, {NULL, 0}};
    cr_assert_eq(persist_wal_append(wal, empty, 3, &err), CC_OK);
    state_push(&model, sig_of(empty, 3));
    cr_assert_eq(persist_wal_append(wal, NULL, 0, &err), CC_OK);
    state_push(&model, sig_of(NULL, 0));
    persist_wal_rec bad = {NULL, 5};
    cr_assert_eq(persist_wal_append(wal, &bad, 1, &err), CC_INVALID);
    /* Oversized units are refused before their bytes are touched. */
    persist_wal_rec one = {"a", PERSIST_WAL_UNIT_MAX};
    cr_assert_eq(persist_wal_append(wal, &one, 1, &err), CC_INVALID);
    persist_wal_rec two[2] = {{"a", PERSIST_WAL_UNIT_MAX - 12}, {"b", 8}}; /* 8 bytes too many */
    cr_assert_eq(persist_wal_append(wal, two, 2, &err), CC_INVALID);
    cr_assert(strstr(err.msg, "exceeds the maximum size") != NULL, "%s", err.msg);
    persist_wal_close(wal);
    reopen_expect(&t, &model, "empty records");
    free(model.sig);
    tdir_remove(&t);
}

Test(persist_wal, small_segments_rotate_and_replay_across_files)
{
    tdir t;
    tdir_make(&t);
    persist_wal_opts o = {.segment_bytes = PERSIST_WAL_SEGMENT_BYTES_MIN};
    state s, model = {0};
    persist_wal *wal = open_replay(&t, &o, &s);
    for (unsigned k = 0; k < 600; k++)
        append_ok(wal, k, &model);
    persist_wal_stats st;
    persist_wal_stats_get(wal, &st);
    persist_wal_close(wal);
    int logs = count_files(&t, "log-");
    cr_assert_gt(logs, 3, "600 units of ~40 bytes must span several 4 KiB segments");
    cr_assert_eq((uint64_t)logs, st.segments);
    for (int i = 1; i <= logs; i++)
        cr_assert_leq(file_len(seg_path(&t, (unsigned)i)), PERSIST_WAL_SEGMENT_BYTES_MIN);
    reopen_expect(&t, &model, "rotated segments");
    free(model.sig);
    tdir_remove(&t);
}

Test(persist_wal, replay_is_allowed_once_and_only_before_appends)
{
    tdir t;
    tdir_make(&t);
    state s;
    cc_err err;
    persist_wal *wal = open_replay(&t, NULL, &s);
    cr_assert_eq(persist_wal_replay(wal, collect, &s, &err), CC_INVALID);
    persist_wal_close(wal);
    cr_assert_eq(persist_wal_open(t.data, NULL, &wal, &err), CC_OK);
    append_ok(wal, 1, NULL);
    cr_assert_eq(persist_wal_replay(wal, collect, &s, &err), CC_INVALID);
    persist_wal_close(wal);
    free(s.sig);
    tdir_remove(&t);
}

/* ---- group commit -------------------------------------------------------------- */

#define GC_THREADS 8
#define GC_EACH    200

typedef struct gc_arg {
    persist_wal *wal;
    unsigned t;
    int failures;
} gc_arg;

static void *
gc_thread(void *p)
{
    gc_arg *a = p;
    for (unsigned i = 0; i < GC_EACH; i++) {
        unsigned char rec[8];
        unsigned id = a->t * 100000 + i;
        memcpy(rec, &id, sizeof id);
        memcpy(rec + 4, "grp!", 4);
        persist_wal_rec r = {rec, sizeof rec};
        if (persist_wal_append(a->wal, &r, 1, NULL) != CC_OK)
            a->failures++;
    }
    return NULL;
}

static cc_code
collect_ids(void *arg, persist_wal_kind kind, const persist_wal_rec *recs, size_t n, cc_err *err)
{
    unsigned *last = arg; /* last[t] = next expected i for thread t */
    (void)err;
    cr_assert_eq(kind, PERSIST_WAL_APPEND);
    cr_assert_eq(n, 1);
    cr_assert_eq(recs[0].len, 8);
    unsigned id;
    memcpy(&id, recs[0].data, 4);
    cr_assert_eq(memcmp((const char *)recs[0].data + 4, "grp!", 4), 0);
    unsigned t = id / 100000, i = id % 100000;
    cr_assert_lt(t, GC_THREADS);
    cr_assert_eq(i, last[t], "thread %u: unit %u replayed where %u was expected", t, i, last[t]);
    last[t]++;
    return CC_OK;
}

Test(persist_wal, concurrent_appenders_share_writes_and_fdatasyncs)
{
    tdir t;
    tdir_make(&t);
    persist_io_faults f;
    persist_io_faults_init(&f, persist_io_default());
    persist_wal_opts o = {.io = &f.io};
    persist_wal *wal;
    cc_err err;
    cr_assert_eq(persist_wal_open(t.data, &o, &wal, &err), CC_OK, "%s", err.msg);
    uint64_t syncs0 = persist_io_faults_calls(&f, PERSIST_IO_FDATASYNC);
    pthread_t th[GC_THREADS];
    gc_arg args[GC_THREADS];
    for (unsigned i = 0; i < GC_THREADS; i++) {
        args[i] = (gc_arg){.wal = wal, .t = i};
        pthread_create(&th[i], NULL, gc_thread, &args[i]);
    }
    for (unsigned i = 0; i < GC_THREADS; i++) {
        pthread_join(th[i], NULL);
        cr_assert_eq(args[i].failures, 0);
    }
    persist_wal_stats st;
    persist_wal_stats_get(wal, &st);
    uint64_t syncs = persist_io_faults_calls(&f, PERSIST_IO_FDATASYNC) - syncs0;
    persist_wal_close(wal);
    cr_assert_eq(st.appends, GC_THREADS * GC_EACH);
    cr_assert_lt(st.groups, st.appends, "no two appends shared a group (%llu groups)",
                 (unsigned long long)st.groups);
    cr_assert_eq(syncs, st.groups, "one fdatasync per group");
    cr_log_info("group commit: %u appends in %llu groups", GC_THREADS * GC_EACH,
                (unsigned long long)st.groups);

    unsigned next[GC_THREADS] = {0};
    cr_assert_eq(persist_wal_open(t.data, NULL, &wal, &err), CC_OK, "%s", err.msg);
    cr_assert_eq(persist_wal_replay(wal, collect_ids, next, &err), CC_OK, "%s", err.msg);
    for (unsigned i = 0; i < GC_THREADS; i++)
        cr_assert_eq(next[i], GC_EACH, "thread %u: %u of %u units replayed", i, next[i], GC_EACH);
    persist_wal_close(wal);
    persist_io_faults_fini(&f);
    tdir_remove(&t);
}

static cc_code
count_units(void *arg, persist_wal_kind kind, const persist_wal_rec *recs, size_t n, cc_err *err)
{
    (void)kind, (void)recs, (void)n, (void)err;
    ++*(size_t *)arg;
    return CC_OK;
}

Test(persist_wal, a_torn_group_loses_all_of_its_units_and_nothing_else)
{
    tdir t;
    tdir_make(&t);
    persist_wal *wal;
    cc_err err;
    cr_assert_eq(persist_wal_open(t.data, NULL, &wal, &err), CC_OK, "%s", err.msg);
    pthread_t th[GC_THREADS];
    gc_arg args[GC_THREADS];
    for (unsigned i = 0; i < GC_THREADS; i++) {
        args[i] = (gc_arg){.wal = wal, .t = i};
        pthread_create(&th[i], NULL, gc_thread, &args[i]);
    }
    for (unsigned i = 0; i < GC_THREADS; i++)
        pthread_join(th[i], NULL);
    persist_wal_close(wal);

    /* Walk the frames (format in wal.c) to find the last group of several units. */
    long len;
    unsigned char *orig = slurp(seg_path(&t, 1), &len);
    long off = 16, last = -1, last_end = 0;
    size_t units = 0, before = 0;
    while (off < len) {
        uint32_t plen, nunits;
        memcpy(&plen, orig + off + 4, 4);
        memcpy(&nunits, orig + off + 16, 4);
        if (nunits > 1) {
            last = off;
            last_end = off + 16 + (long)plen;
            before = units;
        }
        units += nunits;
        off += 16 + (long)plen;
    }
    cr_assert_eq(off, len);
    cr_assert_eq(units, GC_THREADS * GC_EACH);
    cr_assert_geq(last, 0, "no group held more than one unit");
    for (long cut = last; cut < last_end; cut++) {
        spit(seg_path(&t, 1), orig, cut);
        size_t got = 0;
        cr_assert_eq(persist_wal_open(t.data, NULL, &wal, &err), CC_OK, "%s", err.msg);
        cr_assert_eq(persist_wal_replay(wal, count_units, &got, &err), CC_OK, "%s", err.msg);
        persist_wal_close(wal);
        cr_assert_eq(got, before, "cut at %ld of group [%ld, %ld): %zu units, %zu expected", cut,
                     last, last_end, got, before);
    }
    free(orig);
    tdir_remove(&t);
}

/* ---- the directory lock ---------------------------------------------------------- */

Test(persist_wal, a_second_open_fails_while_the_directory_is_locked)
{
    tdir t;
    tdir_make(&t);
    persist_wal *a, *b = NULL;
    cc_err err;
    char want[160];
    cr_assert_eq(persist_wal_open(t.data, NULL, &a, &err), CC_OK, "%s", err.msg);
    cr_assert_eq(persist_wal_open(t.data, NULL, &b, &err), CC_IO);
    cr_assert_null(b);
    snprintf(want, sizeof want, "data directory \"%s\" is in use by pid %ld", t.data,
             (long)getpid());
    cr_assert_str_eq(err.msg, want);

    pid_t child = fork();
    cr_assert_geq(child, 0);
    if (child == 0) {
        /* Exit 0 only if the child is refused with the parent's pid in the message. */
        persist_wal *c;
        cc_err cerr;
        cc_code rc = persist_wal_open(t.data, NULL, &c, &cerr);
        _exit(rc == CC_IO && strcmp(cerr.msg, want) == 0 ? 0 : 1);
    }
    int status;
    cr_assert_eq(waitpid(child, &status, 0), child);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "a forked child must be refused with the holder's pid");

    persist_wal_close(a);
    cr_assert_eq(persist_wal_open(t.data, NULL, &b, &err), CC_OK, "%s", err.msg);
    persist_wal_close(b);
    tdir_remove(&t);
}

/* ---- torn tails and corruption ------------------------------------------------------ */

/* Writes k units (one frame each) and returns the segment-1 length after each. */
static void
write_units(const tdir *t, unsigned k, state *model, long *ends)
{
    state s;
    persist_wal *wal = open_replay(t, NULL, &s);
    free(s.sig);
    ends[0] = file_len(seg_path(t, 1));
    for (unsigned i = 0; i < k; i++) {
        append_ok(wal, i + 1, model);
        ends[i + 1] = file_len(seg_path(t, 1));
    }
    persist_wal_close(wal);
}

Test(persist_wal, a_tail_torn_at_every_offset_recovers_to_the_last_complete_unit)
{
    tdir t;
    tdir_make(&t);
    enum { K = 5 };
    state model = {0};
    long ends[K + 1], len;
    write_units(&t, K, &model, ends);
    unsigned char *orig = slurp(seg_path(&t, 1), &len);
    cr_assert_eq(len, ends[K]);
    for (long cut = ends[K - 1]; cut <= ends[K]; cut++) {
        spit(seg_path(&t, 1), orig, cut);
        state s, want = model;
        want.n = cut == ends[K] ? K : K - 1;
        persist_wal *wal = open_replay(&t, NULL, &s);
        state_expect(&s, &want, "after a torn tail");
        cr_assert_eq(file_len(seg_path(&t, 1)), ends[want.n], "the torn tail is truncated");
        free(s.sig);
        unit u;
        unit_make(&u, 7, 0);
        cr_assert_eq(persist_wal_append(wal, u.recs, u.n, NULL), CC_OK);
        persist_wal_close(wal);
        wal = open_replay(&t, NULL, &s);
        cr_assert_eq(s.n, want.n + 1);
        cr_assert_eq(s.sig[want.n], sig_of(u.recs, u.n), "the append after recovery survives");
        free(s.sig);
        persist_wal_close(wal);
    }
    /* Garbage or zeros after an intact log are a torn tail too. */
    for (int kind = 0; kind < 2; kind++) {
        unsigned char *g = malloc((size_t)len + 100);
        memcpy(g, orig, (size_t)len);
        for (int i = 0; i < 100; i++)
            g[len + i] = kind ? (unsigned char)(i * 37 + 11) : 0;
        spit(seg_path(&t, 1), g, len + 100);
        free(g);
        reopen_expect(&t, &model, kind ? "garbage tail" : "zero tail");
        cr_assert_eq(file_len(seg_path(&t, 1)), len);
    }
    free(orig);
    free(model.sig);
    tdir_remove(&t);
}

Test(persist_wal, a_flipped_bit_before_the_tail_is_reported_as_corruption)
{
    tdir t;
    tdir_make(&t);
    enum { K = 4 };
    state model = {0};
    long ends[K + 1], len;
    write_units(&t, K, &model, ends);
    unsigned char *orig = slurp(seg_path(&t, 1), &len);
    char want[256];
    /* Frame 2 (of 4) is followed by valid frames: every bit flip in it is CORRUPT. */
    snprintf(want, sizeof want, "invalid record in file \"%s\" at offset %ld", seg_path(&t, 1),
             ends[1]);
    for (long at = ends[1]; at < ends[2]; at++) {
        orig[at] ^= 0x10;
        spit(seg_path(&t, 1), orig, len);
        orig[at] ^= 0x10;
        persist_wal *wal = NULL;
        cc_err err;
        cr_assert_eq(persist_wal_open(t.data, NULL, &wal, &err), CC_CORRUPT, "flip at %ld", at);
        cr_assert_str_eq(err.msg, want);
        cr_assert_eq(file_len(seg_path(&t, 1)), len, "corruption must not be truncated away");
    }
    /* A damaged segment header is corruption too. */
    orig[3] ^= 1;
    spit(seg_path(&t, 1), orig, len);
    orig[3] ^= 1;
    persist_wal *wal;
    cr_assert_eq(persist_wal_open(t.data, NULL, &wal, NULL), CC_CORRUPT);
    spit(seg_path(&t, 1), orig, len);
    reopen_expect(&t, &model, "repaired file");
    free(orig);
    free(model.sig);
    tdir_remove(&t);
}

Test(persist_wal, a_bad_frame_in_an_older_segment_or_a_missing_segment_is_corruption)
{
    tdir t;
    tdir_make(&t);
    persist_wal_opts o = {.segment_bytes = PERSIST_WAL_SEGMENT_BYTES_MIN};
    state s, model = {0};
    persist_wal *wal = open_replay(&t, &o, &s);
    for (unsigned k = 0; k < 400; k++)
        append_ok(wal, k, &model);
    persist_wal_close(wal);
    cr_assert_geq(count_files(&t, "log-"), 3);
    long len;
    unsigned char *seg1 = slurp(seg_path(&t, 1), &len);
    spit(seg_path(&t, 1), seg1, len - 1); /* the last frame of segment 1 is cut short */
    cc_err err;
    cr_assert_eq(persist_wal_open(t.data, NULL, &wal, &err), CC_CORRUPT);
    cr_assert(strstr(err.msg, "log-0000000000000001.wal") != NULL, "%s", err.msg);
    spit(seg_path(&t, 1), seg1, len);
    char moved[300];
    snprintf(moved, sizeof moved, "%s.away", seg_path(&t, 2));
    cr_assert_eq(rename(seg_path(&t, 2), moved), 0);
    cr_assert_eq(persist_wal_open(t.data, NULL, &wal, &err), CC_CORRUPT);
    cr_assert(strstr(err.msg, "missing log segment") != NULL, "%s", err.msg);
    cr_assert_eq(rename(moved, seg_path(&t, 2)), 0);
    reopen_expect(&t, &model, "restored segments");
    free(seg1);
    free(model.sig);
    tdir_remove(&t);
}

Test(persist_wal, a_last_segment_shorter_than_its_header_is_restarted)
{
    tdir t;
    tdir_make(&t);
    state model = {0};
    long ends[3];
    write_units(&t, 2, &model, ends);
    spit(seg_path(&t, 2), (const unsigned char *)"CCW", 3); /* a crash during rotation */
    state s;
    persist_wal *wal = open_replay(&t, NULL, &s);
    state_expect(&s, &model, "torn segment header");
    free(s.sig);
    append_ok(wal, 9, &model);
    persist_wal_close(wal);
    cr_assert_gt(file_len(seg_path(&t, 2)), 16, "appends continue in the restarted segment");
    reopen_expect(&t, &model, "after appending to the restarted segment");
    free(model.sig);
    tdir_remove(&t);
}

/* ---- rollups ------------------------------------------------------------------------ */

Test(persist_wal, a_rollup_replaces_older_segments_and_rollups)
{
    tdir t;
    tdir_make(&t);
    persist_wal_opts o = {.segment_bytes = PERSIST_WAL_SEGMENT_BYTES_MIN};
    state s, model = {0};
    persist_wal *wal = open_replay(&t, &o, &s);
    for (unsigned k = 0; k < 300; k++)
        append_ok(wal, k, &model);
    cr_assert_gt(count_files(&t, "log-"), 2);
    uint64_t mark = rollup_ok(wal, &model);
    cr_assert_eq(count_files(&t, "log-"), 1, "only the segment at the mark is left");
    cr_assert_eq(file_len(seg_path(&t, (unsigned)mark)), 16, "and it is empty");
    cr_assert_eq(count_files(&t, "rollup-"), 1);
    for (unsigned k = 300; k < 305; k++)
        append_ok(wal, k, &model);
    persist_wal_close(wal);

    wal = open_replay(&t, NULL, &s);
    cr_assert_eq(s.rollups, 1);
    state_expect(&s, &model, "rollup + later units");
    free(s.sig);
    append_ok(wal, 999, &model);
    uint64_t mark2 = rollup_ok(wal, &model);
    cr_assert_gt(mark2, mark);
    cr_assert_eq(count_files(&t, "rollup-"), 1, "the older rollup is deleted");
    char p[256];
    snprintf(p, sizeof p, "%s/rollup-%016llx", t.data, (unsigned long long)mark2);
    cr_assert_eq(access(p, F_OK), 0);
    cc_err err;
    uint64_t m3;
    cr_assert_eq(persist_wal_rollup_begin(wal, &m3, &err), CC_OK);
    cr_assert_eq(persist_wal_rollup_write(wal, mark2, write_sigs, &model, &err), CC_INVALID,
                 "a mark that is not newer than the installed rollup is refused");
    cr_assert_eq(persist_wal_rollup_write(wal, m3 + 1, write_sigs, &model, &err), CC_INVALID);
    persist_wal_close(wal);
    reopen_expect(&t, &model, "second rollup");
    free(model.sig);
    tdir_remove(&t);
}

Test(persist_wal, a_flipped_bit_in_the_rollup_is_reported_as_corruption)
{
    tdir t;
    tdir_make(&t);
    state s, model = {0};
    persist_wal *wal = open_replay(&t, NULL, &s);
    free(s.sig);
    for (unsigned k = 0; k < 3; k++)
        append_ok(wal, k, &model);
    uint64_t mark = rollup_ok(wal, &model);
    append_ok(wal, 3, &model);
    persist_wal_close(wal);
    char path[256];
    snprintf(path, sizeof path, "%s/rollup-%016llx", t.data, (unsigned long long)mark);
    long len;
    unsigned char *orig = slurp(path, &len);
    cr_assert_eq(len, 32 + 3 * 8);
    for (long at = 0; at < len; at++) {
        orig[at] ^= 0x04;
        spit(path, orig, len);
        orig[at] ^= 0x04;
        cc_err err;
        cr_assert_eq(persist_wal_open(t.data, NULL, &wal, &err), CC_CORRUPT, "flip at %ld", at);
        cr_assert(strstr(err.msg, path) != NULL, "the message names the rollup: %s", err.msg);
    }
    spit(path, orig, len - 1); /* a truncated rollup is corrupt too */
    cr_assert_eq(persist_wal_open(t.data, NULL, &wal, NULL), CC_CORRUPT);
    spit(path, orig, len);
    reopen_expect(&t, &model, "restored rollup");
    free(orig);
    free(model.sig);
    tdir_remove(&t);
}

static cc_code
stop_at_third(void *arg, persist_wal_kind kind, const persist_wal_rec *recs, size_t n, cc_err *err)
{
    (void)kind, (void)recs, (void)n;
    if (++*(int *)arg == 3)
        return cc_err_set(err, CC_INTERNAL, "callback refused unit 3");
    return CC_OK;
}

Test(persist_wal, a_replay_callback_failure_stops_the_replay_with_its_error)
{
    tdir t;
    tdir_make(&t);
    state s;
    persist_wal *wal = open_replay(&t, NULL, &s);
    free(s.sig);
    for (unsigned k = 0; k < 5; k++)
        append_ok(wal, k, NULL);
    persist_wal_close(wal);
    cc_err err;
    int calls = 0;
    cr_assert_eq(persist_wal_open(t.data, NULL, &wal, &err), CC_OK);
    cr_assert_eq(persist_wal_replay(wal, stop_at_third, &calls, &err), CC_INTERNAL);
    cr_assert_str_eq(err.msg, "callback refused unit 3");
    cr_assert_eq(calls, 3);
    persist_wal_close(wal);
    tdir_remove(&t);
}

Test(persist_wal, a_large_rollup_streamed_in_uneven_chunks_round_trips)
{
    tdir t;
    tdir_make(&t);
    state s, model = {0};
    tu_rng rng;
    tu_rng_init(&rng, tu_seed("persist_wal/large_rollup"));
    for (int i = 0; i < 200000; i++)
        state_push(&model, tu_rng_next(&rng));
    persist_wal *wal = open_replay(&t, NULL, &s);
    free(s.sig);
    rollup_ok(wal, &model);
    append_ok(wal, 5, &model);
    persist_wal_close(wal);
    reopen_expect(&t, &model, "1.6 MB rollup");
    free(model.sig);
    tdir_remove(&t);
}

typedef struct roll_arg {
    persist_wal *wal;
    pthread_mutex_t *mu; /* the caller's lock: an append and its model update are atomic */
    state *model;
    int failures;
} roll_arg;

static void *
roll_appender(void *p)
{
    roll_arg *a = p;
    for (unsigned k = 0; k < 300; k++) {
        unit u;
        unit_make(&u, k, 0);
        pthread_mutex_lock(a->mu);
        if (persist_wal_append(a->wal, u.recs, u.n, NULL) == CC_OK)
            state_push(a->model, sig_of(u.recs, u.n));
        else
            a->failures++;
        pthread_mutex_unlock(a->mu);
    }
    return NULL;
}

Test(persist_wal, appends_continue_while_a_rollup_is_written)
{
    tdir t;
    tdir_make(&t);
    persist_wal_opts o = {.durability = PERSIST_DURABILITY_NONE};
    state s, model = {0};
    persist_wal *wal = open_replay(&t, &o, &s);
    free(s.sig);
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    roll_arg a = {.wal = wal, .mu = &mu, .model = &model};
    pthread_t th;
    pthread_create(&th, NULL, roll_appender, &a);
    for (int r = 0; r < 5; r++) {
        uint64_t mark;
        cc_err err;
        state snap = {0};
        pthread_mutex_lock(&mu);
        cr_assert_eq(persist_wal_rollup_begin(wal, &mark, &err), CC_OK, "%s", err.msg);
        for (size_t i = 0; i < model.n; i++)
            state_push(&snap, model.sig[i]);
        pthread_mutex_unlock(&mu);
        cr_assert_eq(persist_wal_rollup_write(wal, mark, write_sigs, &snap, &err), CC_OK, "%s",
                     err.msg);
        free(snap.sig);
        usleep(1000);
    }
    pthread_join(th, NULL);
    cr_assert_eq(a.failures, 0);
    persist_wal_close(wal);
    reopen_expect(&t, &model, "rollups concurrent with appends");
    free(model.sig);
    tdir_remove(&t);
}

/* ---- durability NONE --------------------------------------------------------------- */

Test(persist_wal, durability_none_issues_no_syncs)
{
    tdir t;
    tdir_make(&t);
    persist_io_faults f;
    persist_io_faults_init(&f, persist_io_default());
    persist_wal_opts o = {.io = &f.io,
                          .durability = PERSIST_DURABILITY_NONE,
                          .segment_bytes = PERSIST_WAL_SEGMENT_BYTES_MIN};
    state s, model = {0};
    persist_wal *wal = open_replay(&t, &o, &s);
    free(s.sig);
    for (unsigned k = 0; k < 300; k++)
        append_ok(wal, k, &model);
    rollup_ok(wal, &model);
    append_ok(wal, 7, &model);
    persist_wal_stats st;
    persist_wal_stats_get(wal, &st);
    persist_wal_close(wal);
    cr_assert_gt(st.segments, 1, "the run rotated");
    cr_assert_eq(st.fsyncs, 0);
    cr_assert_eq(persist_io_faults_calls(&f, PERSIST_IO_FDATASYNC), 0);
    cr_assert_eq(persist_io_faults_calls(&f, PERSIST_IO_FSYNC), 0);
    cr_assert_gt(persist_io_faults_calls(&f, PERSIST_IO_PWRITE), 300, "the hook saw the writes");
    reopen_expect(&t, &model, "durability none");
    /* The same run with FSYNC does sync: the counters above could fail. */
    o.durability = PERSIST_DURABILITY_FSYNC;
    wal = open_replay(&t, &o, &s);
    free(s.sig);
    append_ok(wal, 8, NULL);
    persist_wal_close(wal);
    cr_assert_gt(persist_io_faults_calls(&f, PERSIST_IO_FDATASYNC), 0);
    free(model.sig);
    persist_io_faults_fini(&f);
    tdir_remove(&t);
}
