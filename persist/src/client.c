/*
 * persist/src/client.c — opening and closing a persist client, and rollups.
 * (Atomic multi-shard writes, lazy shards and drops are in batch.c; a rollup
 * captures the shards present at its mark, so a dropped shard leaves the
 * log at the next rollup.)
 *
 * Lock order: c->lock (shard table) < c->gate (appends read / rollup capture
 * writes) < s->lock (one shard). The gate prefers writers so a rollup's short
 * capture is not starved by a stream of appends.
 *
 * A rollup body is a sequence of length-delimited protobuf messages:
 *
 *   [u32 len][RollupHeader] ([u32 len][RollupShard])*
 *
 * where a shard's first chunk has first = true with its upper and since, `trace`
 * carries its trace (the consolidation of every update, ts dropped) in chunks
 * of up to ROLLUP_CHUNK entries, and then one chunk with append = true per
 * retained append (empty ones included): its [lower, upper) and its updates
 * with their ts in `history`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "persist_int.h"

static const pmap_hamt_type shard_table_type = {.key_kind = PMAP_KEY_BYTES};

/*
 * Opens a client over be (taken over: closed with the client, also on
 * failure), then replays it. opts is borrowed; its backend field only names
 * the kind. For persist_client_open and for tests that bring a backend.
 */
cc_code
persist__client_open_backend(const persist_options *opts, persist_backend be, persist_client **out,
                             cc_err *err)
{
    persist_client *c = cc_calloc(1, sizeof *c);
    if (c == NULL) {
        be.ops->close(be.be);
        return cc_err_set(err, CC_NOMEM, "out of memory opening persist");
    }
    c->opts = *opts;
    c->backend = be;
    if (c->opts.rollup_min_bytes == 0)
        c->opts.rollup_min_bytes = ROLLUP_MIN_DEFAULT;
    c->name = be.ops->name;
    pthread_mutex_init(&c->lock, NULL);
    pthread_rwlockattr_t ra;
    pthread_rwlockattr_init(&ra);
    pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&c->gate, &ra);
    pthread_rwlockattr_destroy(&ra);
    cc_code rc = CC_OK;
    if (opts->data_dir != NULL) {
        c->data_dir = strdup(opts->data_dir);
        if (c->data_dir == NULL) {
            rc = cc_err_set(err, CC_NOMEM, "out of memory opening persist");
            goto fail;
        }
        c->opts.data_dir = c->data_dir;
        c->name = c->data_dir;
    }
    rc = pmap_domain_new(NULL, &c->domain, err);
    if (rc != CC_OK)
        goto fail;
    pmap_hamt_init(&c->shards, c->domain, &shard_table_type);
    rc = be.ops->replay(be.be, persist__replay_cb, c, err);
    if (rc != CC_OK)
        goto fail;
    *out = c;
    return CC_OK;
fail:
    persist_client_close(c);
    return rc;
}

cc_code
persist_client_open(const persist_options *opts, persist_client **out, cc_err *err)
{
    if (opts == NULL ||
        (opts->backend != PERSIST_BACKEND_FILE && opts->backend != PERSIST_BACKEND_MEM))
        return cc_err_set(err, CC_INVALID, "invalid persist backend");
    if (opts->backend == PERSIST_BACKEND_FILE && (opts->data_dir == NULL || !*opts->data_dir))
        return cc_err_set(err, CC_INVALID, "the file backend needs a data directory");
    persist_backend be;
    cc_code rc = opts->backend == PERSIST_BACKEND_FILE ? persist_backend_file_open(opts, &be, err)
                                                       : persist_backend_mem_open(&be, err);
    if (rc != CC_OK)
        return rc;
    return persist__client_open_backend(opts, be, out, err);
}

void
persist__shard_free(persist_shard *s, pmap_txn *t)
{
    while (s->listeners != NULL) {
        persist_listener *l = s->listeners;
        s->listeners = l->next;
        cc_free(l);
    }
    for (size_t i = 0; i < s->nhist; i++)
        persist__hist_unref(s->hist[i]);
    cc_free(s->hist);
    if (t != NULL)
        pmap_omap_drop(t, &s->trace, NULL);
    pthread_mutex_destroy(&s->lock);
    free(s->id);
    cc_free(s);
}

void
persist_client_close(persist_client *c)
{
    if (c == NULL)
        return;
    if (c->domain != NULL) {
        pmap_txn *t = NULL;
        if (pmap_txn_begin(c->domain, &t, NULL) != CC_OK)
            t = NULL;
        for (size_t i = 0; i < c->nall; i++)
            persist__shard_free(c->all[i], t);
        if (t != NULL) {
            pmap_hamt_drop(t, &c->shards, NULL);
            if (pmap_txn_is_poisoned(t))
                pmap_txn_abort(t); /* out of memory while closing: the memory stays */
            else
                pmap_txn_commit(t);
        }
        pmap_domain_free(c->domain);
    }
    cc_free(c->all);
    if (c->backend.ops != NULL)
        c->backend.ops->close(c->backend.be);
    pthread_rwlock_destroy(&c->gate);
    pthread_mutex_destroy(&c->lock);
    free(c->data_dir);
    cc_free(c);
}

void
persist_client_stats(persist_client *c, persist_stats *out)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&c->lock);
    out->shards = c->nall;
    pthread_mutex_unlock(&c->lock);
    out->appends = __atomic_load_n(&c->appends, __ATOMIC_RELAXED);
    out->rollups = __atomic_load_n(&c->rollups, __ATOMIC_RELAXED);
    out->trace_sorts = __atomic_load_n(&c->trace_sorts, __ATOMIC_RELAXED);
    c->backend.ops->stats(c->backend.be, out);
}

cc_code
persist_client_health(persist_client *c, cc_err *err)
{
    if (c->backend.ops->health == NULL)
        return CC_OK;
    return c->backend.ops->health(c->backend.be, err);
}

/* --- rollups ------------------------------------------------------------------- */

/* One shard's state as captured for a rollup. */
typedef struct capture {
    char *id; /* a copy of the shard's id (a batch may drop the shard meanwhile) */
    uint64_t upper, since;
    pmap_omap trace; /* a clone: an independent line */
    hist_entry **hist;
    size_t nhist;
} capture;

typedef struct rollup_job {
    capture *caps;
    size_t ncaps;
    uint64_t bytes; /* body bytes written */
} rollup_job;

static cc_code
emit_msg(const persist_sink *sink, rollup_job *job, const ProtobufCMessage *m, cc_err *err)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    if (n > UINT32_MAX)
        return cc_err_set(err, CC_INTERNAL, "rollup chunk too large");
    uint8_t *buf = cc_malloc(n + 4);
    if (buf == NULL)
        return cc_err_set(err, CC_NOMEM, "out of memory writing a rollup");
    uint32_t len = (uint32_t)n;
    memcpy(buf, &len, 4);
    protobuf_c_message_pack(m, buf + 4);
    cc_code rc = sink->write(sink->ctx, buf, n + 4, err);
    cc_free(buf);
    job->bytes += n + 4;
    return rc;
}

/* Writes one shard: trace chunks, then one history chunk per retained append. */
static cc_code
emit_shard(const persist_sink *sink, rollup_job *job, capture *cap, cc_err *err)
{
    Cowcat__Persist__Update *ups = cc_malloc(ROLLUP_CHUNK * sizeof *ups);
    Cowcat__Persist__Update **upp = cc_malloc(ROLLUP_CHUNK * sizeof *upp);
    uint8_t **keybufs = cc_malloc(ROLLUP_CHUNK * sizeof *keybufs);
    bool first = true;
    cc_code rc = CC_OK;
    if (ups == NULL || upp == NULL || keybufs == NULL)
        rc = cc_err_set(err, CC_NOMEM, "out of memory writing a rollup");
    pmap_omap_cursor cur;
    bool have = pmap_omap_seek_first(&cur, &cap->trace);
    while (rc == CC_OK) {
        size_t n = 0;
        while (have && n < ROLLUP_CHUNK && rc == CC_OK) {
            pmap_bytes enc, k, v;
            void *val;
            pmap_omap_cursor_get(&cur, &enc, &val);
            keybufs[n] = cc_malloc(enc.len > 0 ? enc.len : 1);
            if (keybufs[n] == NULL) {
                rc = cc_err_set(err, CC_NOMEM, "out of memory writing a rollup");
                break;
            }
            if (!persist_trace_decode_copy(enc, keybufs[n], &k, &v)) {
                cc_free(keybufs[n]);
                rc = cc_err_set(err, CC_CORRUPT, "malformed trace key in shard \"%s\"", cap->id);
                break;
            }
            cowcat__persist__update__init(&ups[n]);
            ups[n].key = (ProtobufCBinaryData){k.len, (uint8_t *)k.ptr};
            ups[n].value = (ProtobufCBinaryData){v.len, (uint8_t *)v.ptr};
            ups[n].diff = (int64_t)(intptr_t)val;
            upp[n] = &ups[n];
            n++;
            have = pmap_omap_cursor_next(&cur);
        }
        if (rc == CC_OK) {
            Cowcat__Persist__RollupShard rs = COWCAT__PERSIST__ROLLUP_SHARD__INIT;
            rs.shard = (char *)cap->id;
            rs.first = first;
            rs.upper = cap->upper;
            rs.since = cap->since;
            rs.n_trace = n;
            rs.trace = upp;
            rc = emit_msg(sink, job, &rs.base, err);
            first = false;
        }
        for (size_t i = 0; i < n; i++)
            cc_free(keybufs[i]);
        if (!have)
            break;
    }
    cc_free(ups);
    cc_free(upp);
    cc_free(keybufs);

    for (size_t h = 0; rc == CC_OK && h < cap->nhist; h++) {
        const hist_entry *e = cap->hist[h];
        Cowcat__Persist__Update *hu = cc_malloc((e->n > 0 ? e->n : 1) * sizeof *hu);
        Cowcat__Persist__Update **hp = cc_malloc((e->n > 0 ? e->n : 1) * sizeof *hp);
        if (hu == NULL || hp == NULL) {
            cc_free(hu);
            cc_free(hp);
            return cc_err_set(err, CC_NOMEM, "out of memory writing a rollup");
        }
        for (size_t i = 0; i < e->n; i++) {
            cowcat__persist__update__init(&hu[i]);
            hu[i].key =
                (ProtobufCBinaryData){e->updates[i].key.len, (uint8_t *)e->updates[i].key.ptr};
            hu[i].value =
                (ProtobufCBinaryData){e->updates[i].value.len, (uint8_t *)e->updates[i].value.ptr};
            hu[i].ts = e->updates[i].ts;
            hu[i].diff = e->updates[i].diff;
            hp[i] = &hu[i];
        }
        Cowcat__Persist__RollupShard rs = COWCAT__PERSIST__ROLLUP_SHARD__INIT;
        rs.shard = (char *)cap->id;
        rs.append = true;
        rs.lower = e->lower;
        rs.upper = e->upper;
        rs.n_history = e->n;
        rs.history = hp;
        rc = emit_msg(sink, job, &rs.base, err);
        cc_free(hu);
        cc_free(hp);
    }
    return rc;
}

static cc_code
rollup_write_fn(void *arg, const persist_sink *sink, cc_err *err)
{
    rollup_job *job = arg;
    Cowcat__Persist__RollupHeader h = COWCAT__PERSIST__ROLLUP_HEADER__INIT;
    h.format_version = ROLLUP_FORMAT_VERSION;
    h.shards = job->ncaps;
    cc_code rc = emit_msg(sink, job, &h.base, err);
    for (size_t i = 0; rc == CC_OK && i < job->ncaps; i++)
        rc = emit_shard(sink, job, &job->caps[i], err);
    return rc;
}

static void
captures_release(persist_client *c, capture *caps, size_t n)
{
    pmap_txn *t = NULL;
    if (n > 0 && pmap_txn_begin(c->domain, &t, NULL) != CC_OK)
        t = NULL;
    for (size_t i = 0; i < n; i++) {
        for (size_t h = 0; h < caps[i].nhist; h++)
            persist__hist_unref(caps[i].hist[h]);
        cc_free(caps[i].hist);
        cc_free(caps[i].id);
        if (t != NULL)
            pmap_omap_drop(t, &caps[i].trace, NULL);
    }
    if (t != NULL) {
        if (pmap_txn_is_poisoned(t))
            pmap_txn_abort(t);
        else
            pmap_txn_commit(t);
    }
    cc_free(caps);
}

cc_code
persist_client_rollup(persist_client *c, cc_err *err)
{
    if (!c->backend.ops->can_rollup)
        return CC_OK;
    pthread_mutex_lock(&c->lock);
    pthread_rwlock_wrlock(&c->gate);
    size_t n = c->nall;
    capture *caps = cc_calloc(n > 0 ? n : 1, sizeof *caps);
    uint64_t mark = 0;
    cc_code rc = caps == NULL ? cc_err_set(err, CC_NOMEM, "out of memory starting a rollup")
                              : c->backend.ops->rollup_begin(c->backend.be, &mark, err);
    size_t taken = 0;
    for (size_t i = 0; rc == CC_OK && i < n; i++) {
        persist_shard *s = c->all[i];
        capture *cap = &caps[i];
        pthread_mutex_lock(&s->lock);
        cap->upper = s->upper;
        cap->since = s->since;
        cap->id = cc_strdup(s->id);
        cap->hist = s->nhist > 0 ? cc_malloc(s->nhist * sizeof *cap->hist) : NULL;
        if (cap->id == NULL || (s->nhist > 0 && cap->hist == NULL)) {
            pthread_mutex_unlock(&s->lock);
            cc_free(cap->id);
            cc_free(cap->hist);
            rc = cc_err_set(err, CC_NOMEM, "out of memory capturing shards for a rollup");
            break;
        }
        for (size_t h = 0; h < s->nhist; h++) {
            __atomic_add_fetch(&s->hist[h]->refs, 1, __ATOMIC_RELAXED);
            cap->hist[h] = s->hist[h];
        }
        cap->nhist = s->nhist;
        pmap_omap_clone(&s->trace, &cap->trace);
        pthread_mutex_unlock(&s->lock);
        taken++;
    }
    if (rc == CC_OK) {
        persist_stats ws = {0};
        c->backend.ops->stats(c->backend.be, &ws);
        __atomic_store_n(&c->bytes_at_rollup, ws.wal_bytes, __ATOMIC_RELAXED);
    }
    pthread_rwlock_unlock(&c->gate);
    pthread_mutex_unlock(&c->lock);

    if (rc == CC_OK) {
        rollup_job job = {caps, n, 0};
        rc = c->backend.ops->rollup_write(c->backend.be, mark, rollup_write_fn, &job, err);
        if (rc == CC_OK) {
            __atomic_store_n(&c->last_rollup_bytes, job.bytes, __ATOMIC_RELAXED);
            __atomic_add_fetch(&c->rollups, 1, __ATOMIC_RELAXED);
        }
    }
    if (caps != NULL)
        captures_release(c, caps, taken);
    return rc;
}

void
persist__maybe_rollup(persist_client *c)
{
    if (!c->backend.ops->can_rollup)
        return;
    persist_stats ws = {0};
    c->backend.ops->stats(c->backend.be, &ws);
    uint64_t since_last = ws.wal_bytes - __atomic_load_n(&c->bytes_at_rollup, __ATOMIC_RELAXED);
    uint64_t threshold = c->opts.rollup_min_bytes;
    uint64_t last = __atomic_load_n(&c->last_rollup_bytes, __ATOMIC_RELAXED);
    if (last > threshold)
        threshold = last;
    if (since_last < threshold)
        return;
    int expected = 0;
    if (!__atomic_compare_exchange_n(&c->rolling, &expected, 1, false, __ATOMIC_ACQUIRE,
                                     __ATOMIC_RELAXED))
        return;
    cc_err err;
    /* A failed rollup loses nothing: the log it would have replaced stays. */
    if (persist_client_rollup(c, &err) != CC_OK)
        fprintf(stderr, "persist: rollup of \"%s\" failed: %s\n", c->name, err.msg);
    __atomic_store_n(&c->rolling, 0, __ATOMIC_RELEASE);
}
