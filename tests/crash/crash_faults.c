/*
 * tests/crash/crash_faults.c — crash_server --faults: cowcatd in this process
 * (srv_server on loopback ports, reached over libpq like the real one) with
 * every data-directory file call going through a persist_io_faults, and the
 * disk failure scenarios the I/O hook can arm while clients run DDL.
 *
 * What a scenario must lead to (checked by crash_server.c):
 *   - a statement whose write failed is answered 53100 (disk full, short
 *     write) or 58030 (other I/O errors), never success and never XX000;
 *   - a failure the log undid (the frame truncated away and synced) fails
 *     only that statement: the transaction is absent from the live catalog
 *     and from disk, and the server goes on serving (a probe DDL succeeds
 *     once the fault is gone);
 *   - a failure it could not undo (the truncation fails too: the log is
 *     poisoned) stops the server — it refuses every statement meanwhile —
 *     and the restart recovers: every acknowledged transaction is there and
 *     the failed ones are each wholly present or wholly absent;
 *   - rollup failures (its temp file, rename, directory fsync, the deletion of
 *     old segments) fail no statement and lose nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "crash_server.h"

/* Rollups every 32 KiB of log, so that rollup scenarios hit one within the fault window. */
#define CS_ROLLUP_BYTES (32u << 10)

static void *
serve_main(void *arg)
{
    srv_server_run(arg);
    return NULL;
}

int
cs_inproc_start(cs_run *r)
{
    persist_io_faults_disarm(&r->fi);
    srv_options o = {
        .data_dir = r->dir,
        .listen = "127.0.0.1:0",
        .internal_listen = "127.0.0.1:0",
        .metrics_listen = "127.0.0.1:0",
        .durability = COWCAT_DURABILITY_FSYNC,
        .backend = COWCAT_BACKEND_FILE,
        .auth = SRV_AUTH_TRUST,
        .log_level = SRV_LOG_ERROR, /* the shutdown after a poisoned log, and worse */
        .io = &r->fi.io,
        .rollup_bytes = CS_ROLLUP_BYTES,
    };
    cc_err e;
    cc_err_clear(&e);
    if (srv_server_new(&o, &r->inproc, &e) != CC_OK) {
        printf("FAIL: crash_server seed %llu iteration %d: the in-process server did not start "
               "on %s: %s\n",
               (unsigned long long)r->seed, r->iteration, r->dir, e.msg);
        r->inproc = NULL;
        return -1;
    }
    memset(&r->srv, 0, sizeof r->srv);
    r->srv.port = srv_server_port(r->inproc, 0);
    r->srv.internal_port = srv_server_port(r->inproc, 1);
    r->srv.metrics_port = srv_server_port(r->inproc, 2);
    snprintf(r->srv.dir, sizeof r->srv.dir, "%s", r->dir);
    snprintf(r->srv.log, sizeof r->srv.log, "(in-process: this program's stderr)");
    if (pthread_create(&r->inproc_thread, NULL, serve_main, r->inproc) != 0) {
        perror("pthread_create");
        srv_server_free(r->inproc);
        r->inproc = NULL;
        return -1;
    }
    return 0;
}

bool
cs_inproc_stop(cs_run *r, cowcat_error *why)
{
    if (r->inproc == NULL)
        return false;
    srv_server_stop(r->inproc); /* a no-op in effect if it stopped itself */
    pthread_join(r->inproc_thread, NULL);
    bool failed = srv_server_failed(r->inproc, why);
    persist_io_faults_disarm(&r->fi); /* closing writes nothing, but never through a fault */
    srv_server_free(r->inproc);
    r->inproc = NULL;
    return failed;
}

/* One scenario: what fails, how often, and what the log should make of it. */
typedef struct scenario {
    const char *name;
    persist_io_op op;
    persist_io_fault_kind kind;
    int errnum;
    uint64_t times;     /* UINT64_MAX: until disarmed */
    persist_io_op also; /* a second op failing until disarmed (OP_COUNT: none) */
} scenario;

static const scenario scenarios[] = {
    {"disk full (pwrite ENOSPC until freed)", PERSIST_IO_PWRITE, PERSIST_FAULT_ERRNO, ENOSPC,
     UINT64_MAX, PERSIST_IO_OP_COUNT},
    {"pwrite EIO once", PERSIST_IO_PWRITE, PERSIST_FAULT_ERRNO, EIO, 1, PERSIST_IO_OP_COUNT},
    {"short writes (3 in a row)", PERSIST_IO_PWRITE, PERSIST_FAULT_SHORT, 0, 3,
     PERSIST_IO_OP_COUNT},
    {"fdatasync EIO once", PERSIST_IO_FDATASYNC, PERSIST_FAULT_ERRNO, EIO, 1, PERSIST_IO_OP_COUNT},
    {"fdatasync EIO until cleared (the repair's sync fails: poisoned)", PERSIST_IO_FDATASYNC,
     PERSIST_FAULT_ERRNO, EIO, UINT64_MAX, PERSIST_IO_OP_COUNT},
    {"pwrite EIO and every ftruncate EIO (the repair fails: poisoned)", PERSIST_IO_PWRITE,
     PERSIST_FAULT_ERRNO, EIO, 1, PERSIST_IO_FTRUNCATE},
    {"open ENOSPC until freed (new segments, rollup files)", PERSIST_IO_OPEN, PERSIST_FAULT_ERRNO,
     ENOSPC, UINT64_MAX, PERSIST_IO_OP_COUNT},
    {"rename EIO until cleared (rollups cannot be installed)", PERSIST_IO_RENAME,
     PERSIST_FAULT_ERRNO, EIO, UINT64_MAX, PERSIST_IO_OP_COUNT},
    {"unlink EIO until cleared (old segments cannot be deleted)", PERSIST_IO_UNLINK,
     PERSIST_FAULT_ERRNO, EIO, UINT64_MAX, PERSIST_IO_OP_COUNT},
    {"directory fsync EIO until cleared", PERSIST_IO_FSYNC, PERSIST_FAULT_ERRNO, EIO, UINT64_MAX,
     PERSIST_IO_OP_COUNT},
};

void
cs_fault_arm(cs_run *r, tu_rng *rng, char *desc, size_t n)
{
    const scenario *sc = &scenarios[tu_rng_below(rng, sizeof scenarios / sizeof scenarios[0])];
    uint64_t nth = 1 + tu_rng_below(rng, 4);
    persist_io_faults_arm(&r->fi, sc->op, nth, sc->times, sc->kind, sc->errnum);
    if (sc->also != PERSIST_IO_OP_COUNT)
        persist_io_faults_arm(&r->fi, sc->also, 1, UINT64_MAX, PERSIST_FAULT_ERRNO, EIO);
    r->faults_armed++;
    snprintf(desc, n, "%s, from call %llu", sc->name, (unsigned long long)nth);
}
