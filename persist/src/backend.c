/*
 * persist/src/backend.c — the two backends behind persist/src/backend.h.
 *
 * file  the wal (wal.h) in the data directory. It holds the directory's
 *       exclusive lock, so the shard logic's in-memory upper check is
 *       authoritative and append only makes the record durable (group-committed
 *       with concurrent appends to other shards).
 * mem   no storage: appends succeed at once; replay delivers nothing.
 */
#include <string.h>

#include "backend.h"
#include "base/alloc.h"
#include "wal.h"

/* --- file ------------------------------------------------------------------ */

static cc_code
file_append(void *be, const persist_event *ev, const void *rec, size_t len, uint64_t *current,
            cc_err *err)
{
    (void)ev;
    (void)current;
    persist_wal_rec r = {rec, len};
    return persist_wal_append(be, &r, 1, err);
}

typedef struct file_replay {
    persist_replay_fn fn;
    void *arg;
} file_replay;

static cc_code
file_replay_cb(void *arg, persist_wal_kind kind, const persist_wal_rec *recs, size_t n, cc_err *err)
{
    file_replay *fr = arg;
    for (size_t i = 0; i < n; i++) {
        cc_code rc = fr->fn(fr->arg, kind == PERSIST_WAL_ROLLUP, recs[i].data, recs[i].len, err);
        if (rc != CC_OK)
            return rc;
    }
    return CC_OK;
}

static cc_code
file_replay_all(void *be, persist_replay_fn fn, void *arg, cc_err *err)
{
    file_replay fr = {fn, arg};
    return persist_wal_replay(be, file_replay_cb, &fr, err);
}

static cc_code
file_rollup_begin(void *be, uint64_t *mark, cc_err *err)
{
    return persist_wal_rollup_begin(be, mark, err);
}

static cc_code
file_sink_write(void *ctx, const void *p, size_t n, cc_err *err)
{
    return persist_wal_sink_write(ctx, p, n, err);
}

typedef struct file_rollup {
    persist_rollup_fn fn;
    void *arg;
} file_rollup;

static cc_code
file_rollup_cb(void *arg, persist_wal_sink *wsink, cc_err *err)
{
    file_rollup *fr = arg;
    persist_sink sink = {file_sink_write, wsink};
    return fr->fn(fr->arg, &sink, err);
}

static cc_code
file_rollup_write(void *be, uint64_t mark, persist_rollup_fn fn, void *arg, cc_err *err)
{
    file_rollup fr = {fn, arg};
    return persist_wal_rollup_write(be, mark, file_rollup_cb, &fr, err);
}

static void
file_stats(void *be, persist_stats *out)
{
    persist_wal_stats ws;
    persist_wal_stats_get(be, &ws);
    out->wal_groups = ws.groups;
    out->wal_fsyncs = ws.fsyncs;
    out->wal_bytes = ws.bytes_written;
}

static cc_code
file_health(void *be, cc_err *err)
{
    return persist_wal_health(be, err);
}

static void
file_close(void *be)
{
    persist_wal_close(be);
}

static const persist_backend_ops file_ops = {
    .name = "file",
    .can_rollup = true,
    .append = file_append,
    .replay = file_replay_all,
    .rollup_begin = file_rollup_begin,
    .rollup_write = file_rollup_write,
    .stats = file_stats,
    .health = file_health,
    .close = file_close,
};

cc_code
persist_backend_file_open(const persist_options *opts, persist_backend *out, cc_err *err)
{
    persist_wal_opts wo = {
        .io = opts->io,
        .durability =
            opts->sync == PERSIST_SYNC_NONE ? PERSIST_DURABILITY_NONE : PERSIST_DURABILITY_FSYNC,
        .segment_bytes = opts->segment_bytes,
        .access = opts->access == PERSIST_ACCESS_READ_ONLY ? PERSIST_WAL_READ_ONLY
                                                           : PERSIST_WAL_WRITER,
    };
    persist_wal *wal;
    cc_code rc = persist_wal_open(opts->data_dir, &wo, &wal, err);
    if (rc != CC_OK)
        return rc;
    *out = (persist_backend){&file_ops, wal};
    return CC_OK;
}

/* --- mem ------------------------------------------------------------------- */

static cc_code
mem_append(void *be, const persist_event *ev, const void *rec, size_t len, uint64_t *current,
           cc_err *err)
{
    (void)be;
    (void)ev;
    (void)rec;
    (void)len;
    (void)current;
    (void)err;
    return CC_OK; /* memory is the only copy; the shard logic checked the upper */
}

static cc_code
mem_replay(void *be, persist_replay_fn fn, void *arg, cc_err *err)
{
    (void)be;
    (void)fn;
    (void)arg;
    (void)err;
    return CC_OK;
}

static void
mem_stats(void *be, persist_stats *out)
{
    (void)be;
    (void)out;
}

static void
mem_close(void *be)
{
    (void)be;
}

static const persist_backend_ops mem_ops = {
    .name = "mem",
    .can_rollup = false,
    .append = mem_append,
    .replay = mem_replay,
    .stats = mem_stats,
    .close = mem_close,
};

cc_code
persist_backend_mem_open(persist_backend *out, cc_err *err)
{
    (void)err;
    *out = (persist_backend){&mem_ops, NULL};
    return CC_OK;
}
