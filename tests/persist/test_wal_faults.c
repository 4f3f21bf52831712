/*
 * tests/persist/test_wal_faults.c — the log under injected I/O faults: every
 * failing call of a kind, for N = 1, 2, ..., during appends, rotation, open
 * (recovery) and rollups; and the poisoned state when a failed write cannot be
 * undone. After each fault the directory must reopen to exactly the
 * acknowledged state. Shares its fixtures with test_wal.c (wal_testutil.h).
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

/* ---- injected I/O faults ---------------------------------------------------------- */

typedef struct fault_case {
    persist_io_op op;           /* which call fails */
    persist_io_fault_kind kind; /* how */
    int errnum;                 /* errno for PERSIST_FAULT_ERRNO */
    size_t pad;                 /* unit size; 1000 makes every few appends rotate */
    const char *msg;            /* every failure message contains this */
} fault_case;

/*
 * Walks N = 1, 2, ...: two acknowledged appends, then the Nth `op` call fails
 * during six more appends. The failing append must report CC_IO with fc->msg,
 * the appends after it must work without a reopen, and a reopen must replay
 * exactly the acknowledged units. Stops at the first N that no longer fires.
 */
static void
fault_walk(const fault_case *fc)
{
    uint64_t nth;
    for (nth = 1; nth < 100; nth++) {
        tdir t;
        tdir_make(&t);
        persist_io_faults f;
        persist_io_faults_init(&f, persist_io_default());
        persist_wal_opts o = {.io = &f.io, .segment_bytes = PERSIST_WAL_SEGMENT_BYTES_MIN};
        state s, model = {0};
        persist_wal *wal = open_replay(&t, &o, &s);
        free(s.sig);
        unit u;
        for (unsigned k = 0; k < 2; k++) {
            unit_make(&u, k, fc->pad);
            cr_assert_eq(persist_wal_append(wal, u.recs, u.n, NULL), CC_OK);
            state_push(&model, sig_of(u.recs, u.n));
        }
        cr_assert_eq(persist_io_faults_arm(&f, fc->op, nth, 1, fc->kind, fc->errnum), 0);
        int failures = 0;
        for (unsigned k = 2; k < 8; k++) {
            cc_err err;
            unit_make(&u, k, fc->pad);
            cc_code rc = persist_wal_append(wal, u.recs, u.n, &err);
            if (rc == CC_OK) {
                state_push(&model, sig_of(u.recs, u.n));
                continue;
            }
            failures++;
            cr_assert_eq(rc, CC_IO, "N=%llu: %s", (unsigned long long)nth, err.msg);
            cr_assert_eq(err.code, CC_IO);
            cr_assert(strstr(err.msg, fc->msg) != NULL, "N=%llu: message \"%s\" lacks \"%s\"",
                      (unsigned long long)nth, err.msg, fc->msg);
            cr_assert(strstr(err.msg, t.data) != NULL, "the message names the file: %s", err.msg);
        }
        uint64_t fired = persist_io_faults_fired(&f);
        cr_assert_eq(failures, fired ? 1 : 0,
                     "N=%llu: one injected fault must fail exactly one append (%d failed)",
                     (unsigned long long)nth, failures);
        persist_wal_close(wal);
        reopen_expect(&t, &model, "after an injected fault");
        free(model.sig);
        persist_io_faults_fini(&f);
        tdir_remove(&t);
        if (!fired)
            break;
    }
    cr_assert_gt(nth, 1, "the fault never fired");
}

Test(persist_wal, enospc_on_write_fails_only_the_group_and_the_log_stays_usable)
{
    fault_walk(&(fault_case){PERSIST_IO_PWRITE, PERSIST_FAULT_ERRNO, ENOSPC, 0,
                             "No space left on device"});
}

Test(persist_wal, eio_on_write_fails_only_the_group_and_the_log_stays_usable)
{
    fault_walk(
        &(fault_case){PERSIST_IO_PWRITE, PERSIST_FAULT_ERRNO, EIO, 0, "could not write to file"});
}

Test(persist_wal, a_short_write_is_undone_and_reported)
{
    fault_walk(&(fault_case){PERSIST_IO_PWRITE, PERSIST_FAULT_SHORT, 0, 0, "wrote only"});
}

Test(persist_wal, a_failed_fdatasync_is_undone_by_truncation_and_reported)
{
    fault_walk(&(fault_case){PERSIST_IO_FDATASYNC, PERSIST_FAULT_ERRNO, EIO, 0,
                             "could not fdatasync file"});
}

Test(persist_wal, faults_while_rotating_segments_fail_only_their_group)
{
    fault_walk(
        &(fault_case){PERSIST_IO_OPEN, PERSIST_FAULT_ERRNO, EMFILE, 1000, "could not create file"});
    fault_walk(&(fault_case){PERSIST_IO_FSYNC, PERSIST_FAULT_ERRNO, EIO, 1000,
                             "could not fsync directory"});
    fault_walk(&(fault_case){PERSIST_IO_PWRITE, PERSIST_FAULT_ERRNO, ENOSPC, 1000,
                             "No space left on device"});
    fault_walk(&(fault_case){PERSIST_IO_FDATASYNC, PERSIST_FAULT_ERRNO, EIO, 1000,
                             "could not fdatasync file"});
}

/* Fails one append with a failed fdatasync whose repair fails as well (how: repair_op). */
static void
poison_case(persist_io_op repair_op, uint64_t times)
{
    tdir t;
    tdir_make(&t);
    persist_io_faults f;
    persist_io_faults_init(&f, persist_io_default());
    persist_wal_opts o = {.io = &f.io};
    state s, model = {0};
    persist_wal *wal = open_replay(&t, &o, &s);
    free(s.sig);
    append_ok(wal, 1, &model);
    append_ok(wal, 2, &model);
    cr_assert_eq(
        persist_io_faults_arm(&f, PERSIST_IO_FDATASYNC, 1, times, PERSIST_FAULT_ERRNO, EIO), 0);
    if (repair_op != PERSIST_IO_FDATASYNC)
        cr_assert_eq(persist_io_faults_arm(&f, repair_op, 1, 1, PERSIST_FAULT_ERRNO, EIO), 0);
    cc_err err;
    unit u;
    unit_make(&u, 3, 0);
    uint64_t failed_sig = sig_of(u.recs, u.n);
    cr_assert_eq(persist_wal_append(wal, u.recs, u.n, &err), CC_IO);
    cr_assert(strstr(err.msg, "could not fdatasync file") != NULL, "%s", err.msg);
    persist_io_faults_disarm(&f);
    unit_make(&u, 4, 0);
    cr_assert_eq(persist_wal_append(wal, u.recs, u.n, &err), CC_IO, "a poisoned wal must refuse");
    cr_assert(strstr(err.msg, "is unusable after a failed write") != NULL, "%s", err.msg);
    uint64_t mark;
    cr_assert_eq(persist_wal_rollup_begin(wal, &mark, &err), CC_IO);
    persist_wal_close(wal);

    /* Reopen recovers; acknowledged units are there, the failed one may be. */
    wal = open_replay(&t, NULL, &s);
    cr_assert(s.n == 2 || (s.n == 3 && s.sig[2] == failed_sig), "%zu units replayed", s.n);
    s.n = 2;
    state_expect(&s, &model, "after poisoning");
    free(s.sig);
    append_ok(wal, 5, NULL);
    persist_wal_close(wal);
    free(model.sig);
    persist_io_faults_fini(&f);
    tdir_remove(&t);
}

Test(persist_wal, a_failed_truncate_back_poisons_the_log_until_reopen)
{
    poison_case(PERSIST_IO_FTRUNCATE, 1);
    poison_case(PERSIST_IO_FDATASYNC, 2); /* the repair's own fdatasync fails */
}

/* Rollup writer: the state's signatures, emitted in chunks of 1, 7, 8, ... bytes. */
static void
prepare_recovery_dir(const tdir *t, state *model)
{
    state s;
    persist_wal *wal = open_replay(t, NULL, &s);
    free(s.sig);
    append_ok(wal, 1, model);
    append_ok(wal, 2, model);
    cr_assert_eq(rollup_ok(wal, model), 2);
    append_ok(wal, 3, model);
    append_ok(wal, 4, model);
    persist_wal_close(wal);
    long len;
    unsigned char *b = slurp(seg_path(t, 2), &len);
    b = realloc(b, (size_t)len + 7);
    memcpy(b + len, "\x43\x43\x57\x46\x09\x00\x00", 7); /* a frame header cut short */
    spit(seg_path(t, 2), b, len + 7);
    free(b);
    char tmp[256];
    snprintf(tmp, sizeof tmp, "%s/rollup-0000000000000009.tmp", t->data);
    spit(tmp, (const unsigned char *)"half", 4);
}

Test(persist_wal, failures_during_open_leave_a_directory_that_recovers_later)
{
    static const persist_io_op ops[] = {
        PERSIST_IO_OPEN,      PERSIST_IO_PREAD,  PERSIST_IO_FSTAT,  PERSIST_IO_FTRUNCATE,
        PERSIST_IO_FDATASYNC, PERSIST_IO_FSYNC,  PERSIST_IO_UNLINK, PERSIST_IO_MKDIR,
        PERSIST_IO_FLOCK,     PERSIST_IO_PWRITE,
    };
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        int failed_opens = 0;
        for (uint64_t nth = 1; nth < 50; nth++) {
            tdir t;
            tdir_make(&t);
            state model = {0};
            prepare_recovery_dir(&t, &model);
            persist_io_faults f;
            persist_io_faults_init(&f, persist_io_default());
            cr_assert_eq(persist_io_faults_arm(&f, ops[i], nth, 1, PERSIST_FAULT_ERRNO, EIO), 0);
            persist_wal_opts o = {.io = &f.io};
            persist_wal *wal = NULL;
            cc_err err;
            cc_code rc = persist_wal_open(t.data, &o, &wal, &err);
            if (rc != CC_OK) {
                cr_assert_eq(rc, CC_IO, "op %zu N=%llu: %s", i, (unsigned long long)nth, err.msg);
                cr_assert(strstr(err.msg, "could not") != NULL, "%s", err.msg);
                failed_opens++;
            } else {
                state s = {0};
                rc = persist_wal_replay(wal, collect, &s, &err);
                cr_assert(rc == CC_OK || rc == CC_IO, "%s", err.msg);
                if (rc == CC_OK)
                    state_expect(&s, &model, "replay under faults");
                free(s.sig);
                persist_wal_close(wal);
            }
            uint64_t fired = persist_io_faults_fired(&f);
            persist_io_faults_fini(&f);
            reopen_expect(&t, &model, "clean reopen after a failed open");
            free(model.sig);
            tdir_remove(&t);
            if (!fired)
                break;
        }
        cr_assert_gt(failed_opens, 0, "op %zu never made open fail", i);
    }
}

static cc_code
failing_writer(void *arg, persist_wal_sink *sink, cc_err *err)
{
    (void)arg;
    persist_wal_sink_write(sink, "partial", 7, err);
    return cc_err_set(err, CC_INTERNAL, "snapshot failed");
}

Test(persist_wal, a_failed_rollup_leaves_the_previous_state_intact)
{
    tdir t;
    tdir_make(&t);
    persist_io_faults f;
    persist_io_faults_init(&f, persist_io_default());
    persist_wal_opts o = {.io = &f.io};
    state s, model = {0};
    persist_wal *wal = open_replay(&t, &o, &s);
    free(s.sig);
    append_ok(wal, 1, &model);
    rollup_ok(wal, &model);
    append_ok(wal, 2, &model);
    uint64_t mark;
    cc_err err;
    /* The crash-before-rename case: the rename fails. */
    cr_assert_eq(persist_wal_rollup_begin(wal, &mark, &err), CC_OK);
    cr_assert_eq(persist_io_faults_arm(&f, PERSIST_IO_RENAME, 1, 1, PERSIST_FAULT_ERRNO, EIO), 0);
    cr_assert_eq(persist_wal_rollup_write(wal, mark, write_sigs, &model, &err), CC_IO);
    cr_assert(strstr(err.msg, "could not rename file") != NULL, "%s", err.msg);
    cr_assert_eq(count_files(&t, "rollup-"), 1, "no temp file is left and the old rollup stays");
    /* A writer that fails: its code comes back, nothing is installed. */
    cr_assert_eq(persist_wal_rollup_write(wal, mark, failing_writer, NULL, &err), CC_INTERNAL);
    cr_assert_str_eq(err.msg, "snapshot failed");
    cr_assert_eq(count_files(&t, "rollup-"), 1);
    append_ok(wal, 3, &model);
    persist_wal_close(wal);
    reopen_expect(&t, &model, "after failed rollups");
    /* The walk: every injected failure inside begin/write leaves a consistent state. */
    static const persist_io_op ops[] = {PERSIST_IO_OPEN,   PERSIST_IO_PWRITE, PERSIST_IO_FDATASYNC,
                                        PERSIST_IO_RENAME, PERSIST_IO_FSYNC,  PERSIST_IO_UNLINK};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        for (uint64_t nth = 1; nth < 50; nth++) {
            wal = open_replay(&t, &o, &s);
            free(s.sig);
            persist_io_faults_disarm(&f);
            cr_assert_eq(persist_io_faults_arm(&f, ops[i], nth, 1, PERSIST_FAULT_ERRNO, EIO), 0);
            cc_code rc = persist_wal_rollup_begin(wal, &mark, &err);
            if (rc == CC_OK)
                rc = persist_wal_rollup_write(wal, mark, write_sigs, &model, &err);
            cr_assert(rc == CC_OK || rc == CC_IO, "%s", err.msg);
            uint64_t fired = persist_io_faults_fired(&f);
            persist_io_faults_disarm(&f);
            append_ok(wal, 100 + (unsigned)nth, &model);
            persist_wal_close(wal);
            reopen_expect(&t, &model, "after a rollup fault");
            if (!fired)
                break;
        }
    }
    free(model.sig);
    persist_io_faults_fini(&f);
    tdir_remove(&t);
}
