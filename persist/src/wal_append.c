/*
 * persist/src/wal_append.c — group commit, segment rotation and rollups.
 *
 * Group commit: every appender queues its unit (on its own stack) under mu.
 * Whoever finds the writer token free takes it, becomes the leader, detaches
 * the queue (up to WAL_GROUP_SOFT bytes of payload, at least one unit), and
 * without mu encodes the units into one frame, writes it with one pwrite and
 * fdatasyncs once. It then retakes mu only to release the token and hand
 * leadership to the queue's new head (its unit's state goes WAITING -> LEAD),
 * and, without mu, stores the result in every unit of the group and marks it
 * DONE. Each appender sleeps on its own unit's state word with a futex, so a
 * finished group wakes exactly its own appenders, none of which needs mu to
 * return (waking every waiter on a shared condition variable, and then
 * convoying them through mu, made 64 committers on two cores spend more time
 * in the scheduler than in fdatasync). A leader that finds fewer units
 * queued than its predecessor flushed waits a bounded moment (a few dozen
 * yields) for the appenders just released to queue again, so that steady
 * load forms one full group per fdatasync instead of two alternating half
 * groups; a lone appender never waits.
 *
 *   appender A ──queue──┐          ┌─ A: done
 *   appender B ──queue──┼─ leader ─┼─ B: done      (one frame, one fdatasync)
 *   appender C ──queue──┘  (= A)   └─ C: done
 *   appender D ──queue── waits ── next leader ...
 *
 * Failure: if the write or the fdatasync fails, every unit of the group fails
 * with CC_IO and the leader truncates the segment back to the frame's start
 * and fdatasyncs again, so memory and disk agree that the group does not exist.
 * If that repair fails the wal is poisoned: the failed frame may or may not be
 * on disk, so nothing more may be acknowledged until a reopen recovers.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdbool.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <xxhash.h>

#include "base/alloc.h"
#include "base/assert.h"
#include "wal.h"
#include "wal_int.h"

#define SINK_BUF (256u << 10)

/* Marks wal unusable (first reason wins). */
static void
poison(persist_wal *wal, const char *why)
{
    pthread_mutex_lock(&wal->mu);
    if (!wal->poisoned) {
        cc_err e;
        cc_err_set(&e, CC_IO,
                   "the log in data directory \"%s\" is unusable after a failed write (%s); "
                   "close and reopen it",
                   wal->dir, why);
        memcpy(wal->poison_msg, e.msg, sizeof e.msg);
        __atomic_store_n(&wal->poisoned, 1, __ATOMIC_RELEASE); /* persist_wal_health reads it */
    }
    pthread_mutex_unlock(&wal->mu);
}

/* Rotates to segment seg_seq + 1. Requires the writer token. */
static cc_code
rotate(persist_wal *wal, cc_err *err)
{
    int fd, leftover;
    cc_code rc = persist__wal_seg_create(wal, wal->seg_seq + 1, &fd, &leftover, err);
    if (rc != CC_OK) {
        if (leftover)
            poison(wal, "a half-created segment could not be removed");
        return rc;
    }
    /* The old segment was synced after its last group; nothing is pending on it. */
    wal->io->close(wal->io->ctx, wal->seg_fd);
    wal->seg_fd = fd;
    /* Atomic because rollup_write reads seg_seq without the token (to bound its mark). */
    __atomic_store_n(&wal->seg_seq, wal->seg_seq + 1, __ATOMIC_RELAXED);
    wal->seg_end = WAL_SEG_HDR;
    persist__wal_seg_path(wal, wal->seg_seq, wal->seg_path);
    return CC_OK;
}

/* Encodes units g (nunits of them, payload bytes in all) as one frame into wal->buf. */
static cc_code
encode_group(persist_wal *wal, const wal_unit *g, size_t nunits, size_t payload, cc_err *err)
{
    size_t framelen = WAL_FRAME_HDR + payload;
    if (framelen > wal->buf_cap) {
        size_t cap = wal->buf_cap ? wal->buf_cap : 4096;
        while (cap < framelen)
            cap *= 2;
        unsigned char *nb = cc_realloc(wal->buf, cap);
        if (nb == NULL)
            return cc_err_set(err, CC_NOMEM, "out of memory encoding a log frame of %zu bytes",
                              framelen);
        wal->buf = nb;
        wal->buf_cap = cap;
    }
    unsigned char *p = wal->buf + WAL_FRAME_HDR;
    wal__put32(p, (uint32_t)nunits);
    p += 4;
    for (const wal_unit *u = g; nunits-- > 0; u = u->next) {
        wal__put32(p, (uint32_t)u->n);
        p += 4;
        for (size_t i = 0; i < u->n; i++) {
            wal__put32(p, (uint32_t)u->recs[i].len);
            p += 4;
            if (u->recs[i].len > 0)
                memcpy(p, u->recs[i].data, u->recs[i].len);
            p += u->recs[i].len;
        }
    }
    CC_ASSERT((size_t)(p - wal->buf) == framelen);
    wal__put32(wal->buf, WAL_FRAME_MAGIC);
    wal__put32(wal->buf + 4, (uint32_t)payload);
    wal__put64(wal->buf + 8, XXH3_64bits(wal->buf + WAL_FRAME_HDR, payload));
    return CC_OK;
}

/*
 * Writes one group as one frame and syncs it. Requires the writer token; runs
 * without mu. On failure undoes the partial frame (or poisons the wal).
 */
static cc_code
flush_group(persist_wal *wal, const wal_unit *g, size_t nunits, size_t payload, cc_err *err)
{
    size_t framelen = WAL_FRAME_HDR + payload;
    cc_code rc = encode_group(wal, g, nunits, payload, err);
    if (rc != CC_OK)
        return rc;
    if (wal->seg_end > WAL_SEG_HDR && wal->seg_end + framelen > wal->segment_bytes &&
        (rc = rotate(wal, err)) != CC_OK)
        return rc;
    uint64_t start = wal->seg_end;
    rc = persist__wal_write_all(wal, wal->seg_fd, wal->buf, framelen, start, wal->seg_path, err);
    if (rc != CC_OK)
        goto undo;
    if (wal->durability == PERSIST_DURABILITY_FSYNC) {
        wal__stat_add(&wal->stats.fsyncs, 1);
        if (wal->io->fdatasync(wal->io->ctx, wal->seg_fd) != 0) {
            rc = persist__wal_io_error(err, "fdatasync file", wal->seg_path, errno);
            goto undo;
        }
    }
    wal->seg_end += framelen;
    wal__stat_add(&wal->stats.bytes_written, framelen);
    wal__stat_add(&wal->stats.groups, 1);
    wal__stat_add(&wal->stats.appends, nunits);
    return CC_OK;
undo:
    /*
     * The frame may be partly or wholly in the file (or only in a page cache
     * whose write-back failed). Cut the file back to where the frame began and
     * make that durable; then the group provably does not exist.
     */
    if (wal->io->ftruncate(wal->io->ctx, wal->seg_fd, (off_t)start) != 0) {
        poison(wal, "could not truncate the failed frame away");
        return rc;
    }
    if (wal->durability == PERSIST_DURABILITY_FSYNC) {
        wal__stat_add(&wal->stats.fsyncs, 1);
        if (wal->io->fdatasync(wal->io->ctx, wal->seg_fd) != 0)
            poison(wal, "could not sync the truncation of the failed frame");
    }
    return rc;
}

/* Encoded size of a unit, or CC_INVALID when it exceeds PERSIST_WAL_UNIT_MAX. */
static cc_code
unit_size(const persist_wal_rec *recs, size_t n, size_t *bytes, cc_err *err)
{
    size_t total = 4;
    if (n > PERSIST_WAL_UNIT_MAX / 4)
        return cc_err_set(err, CC_INVALID, "append unit has too many records (%zu)", n);
    for (size_t i = 0; i < n; i++) {
        if (recs[i].data == NULL && recs[i].len > 0)
            return cc_err_set(err, CC_INVALID, "record %zu has no data", i);
        if (total + 4 > PERSIST_WAL_UNIT_MAX || recs[i].len > PERSIST_WAL_UNIT_MAX - total - 4)
            return cc_err_set(err, CC_INVALID, "append unit exceeds the maximum size of %u bytes",
                              PERSIST_WAL_UNIT_MAX);
        total += 4 + recs[i].len;
    }
    *bytes = total;
    return CC_OK;
}

/* A unit's state (wal_unit.state). Only these transitions happen:
 *   WAITING -> LEAD     under mu, while the unit is queued (wake_next)
 *   LEAD -> WAITING     by its owner, before it retakes mu to try to lead
 *   WAITING|LEAD -> DONE by the leader that detached it, without mu
 */
enum { UNIT_WAITING = 0, UNIT_LEAD = 1, UNIT_DONE = 2 };

/* Commit delay bounds (see persist_wal_append). */
#define COMMIT_DELAY_MIN_GROUP 4
#define COMMIT_DELAY_SPINS     64

/* Sleeps while *addr == val (or returns at once / spuriously). */
static void
futex_wait(int *addr, int val)
{
    syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

/*
 * Wakes a thread sleeping on addr. addr may already be dead (its owner saw the
 * new state and returned): a futex wake on a stale address is at worst a
 * spurious wakeup for whoever sleeps there now, and every futex user retries.
 */
static void
futex_wake(int *addr)
{
    syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/*
 * Completes a detached group: stores code (and the error, SQLSTATE included,
 * on failure) in each unit and marks it DONE. Called without mu: the units are
 * no longer queued, and each owner reads its result only after seeing DONE.
 */
static void
group_finish(wal_unit *g, cc_code code, const cc_err *gerr)
{
    for (wal_unit *u = g, *next; u != NULL; u = next) {
        next = u->next; /* read before DONE: u's owner may return then */
        if (code != CC_OK)
            cc_err_set_state(u->err, code, cc_err_sqlstate(gerr), "%s", gerr->msg);
        u->code = code;
        int *st = &u->state;
        /* Pairs with the acquire loads in unit_wait: code and err are visible. */
        __atomic_store_n(st, UNIT_DONE, __ATOMIC_RELEASE);
        futex_wake(st);
    }
}

/*
 * Hands the free token on: the queue's head becomes the next leader, token_take
 * callers are woken. Requires mu; returns the state word to futex_wake once mu
 * is released (NULL if none).
 */
static int *
wake_next(persist_wal *wal)
{
    if (wal->token_waiters > 0)
        pthread_cond_broadcast(&wal->cv); /* pairs with the wait in token_take */
    if (wal->head == NULL)
        return NULL;
    int expected = UNIT_WAITING;
    __atomic_compare_exchange_n(&wal->head->state, &expected, UNIT_LEAD, false, __ATOMIC_RELEASE,
                                __ATOMIC_RELAXED);
    return &wal->head->state;
}

/*
 * Waits, without mu, until the unit is DONE (returns true) or asked to lead
 * (returns false: the caller retakes mu and tries to take the token).
 */
static bool
unit_wait(wal_unit *u)
{
    for (;;) {
        int st = __atomic_load_n(&u->state, __ATOMIC_ACQUIRE); /* pairs with group_finish */
        if (st == UNIT_DONE)
            return true;
        if (st == UNIT_LEAD) {
            int expected = UNIT_LEAD;
            if (__atomic_compare_exchange_n(&u->state, &expected, UNIT_WAITING, false,
                                            __ATOMIC_ACQUIRE, __ATOMIC_ACQUIRE))
                return false;
            continue; /* it became DONE meanwhile */
        }
        futex_wait(&u->state, UNIT_WAITING);
    }
}

cc_code
persist_wal_append(persist_wal *wal, const persist_wal_rec *recs, size_t n, cc_err *err)
{
    if (wal == NULL || (recs == NULL && n > 0))
        return cc_err_set(err, CC_INVALID, "persist_wal_append: wal and recs are required");
    wal_unit me = {.recs = recs, .n = n, .err = err, .state = UNIT_WAITING, .queued = 1};
    cc_code rc = unit_size(recs, n, &me.bytes, err);
    if (rc != CC_OK)
        return rc;

    pthread_mutex_lock(&wal->mu);
    if (!wal->appended) {
        wal->appended = 1;
        persist__wal_drop_rollup_body(wal); /* replay, if any, is over */
    }
    if (wal->poisoned) {
        cc_err_set(err, CC_IO, "%s", wal->poison_msg);
        pthread_mutex_unlock(&wal->mu);
        return CC_IO;
    }
    if (wal->tail != NULL)
        wal->tail->next = &me;
    else
        wal->head = &me;
    wal->tail = &me;
    wal->nqueued++;

    for (;;) {
        /* Another leader has taken my unit: its result is on the way. */
        if (!me.queued) {
            pthread_mutex_unlock(&wal->mu);
            while (!unit_wait(&me))
                ; /* a stale LEAD: nothing to lead for */
            return me.code;
        }
        if (wal->writing) {
            pthread_mutex_unlock(&wal->mu);
            if (unit_wait(&me))
                return me.code;
            pthread_mutex_lock(&wal->mu);
            continue;
        }
        wal->writing = 1;
        /* Commit delay: the appenders of the previous group are being woken
         * and, when they append in a loop, queue again within tens of
         * microseconds. If fewer than the last group's units are queued, wait
         * a bounded moment for them so that the halves do not alternate
         * between two half-size groups. A lone appender (last group of one)
         * never waits. */
        for (int spin = 0; wal->durability == PERSIST_DURABILITY_FSYNC && !wal->poisoned &&
                           wal->last_group >= COMMIT_DELAY_MIN_GROUP &&
                           wal->nqueued < wal->last_group && spin < COMMIT_DELAY_SPINS;
             spin++) {
            pthread_mutex_unlock(&wal->mu);
            sched_yield();
            pthread_mutex_lock(&wal->mu);
        }
        /* Detach the group: the queue's head up to the soft size limit (the
         * whole queue when poisoned: every unit fails). */
        wal_unit *g = wal->head, *last = g; /* non-empty: my unit is queued */
        size_t nunits = 1, payload = 4 + g->bytes;
        g->queued = 0;
        while (last->next != NULL &&
               (wal->poisoned || payload + last->next->bytes <= WAL_GROUP_SOFT)) {
            last = last->next;
            last->queued = 0;
            payload += last->bytes;
            nunits++;
        }
        wal->head = last->next;
        if (wal->head == NULL)
            wal->tail = NULL;
        last->next = NULL;
        wal->nqueued -= nunits;
        wal->last_group = nunits;
        cc_err gerr;
        cc_err_clear(&gerr);
        if (wal->poisoned) {
            rc = cc_err_set(&gerr, CC_IO, "%s", wal->poison_msg);
        } else {
            pthread_mutex_unlock(&wal->mu);
            rc = flush_group(wal, g, nunits, payload, &gerr);
            pthread_mutex_lock(&wal->mu);
        }
        wal->writing = 0;
        int *next_leader = wake_next(wal);
        pthread_mutex_unlock(&wal->mu);
        if (next_leader != NULL)
            futex_wake(next_leader);
        bool mine = false;
        for (wal_unit *u = g; u != NULL && !mine; u = u->next)
            mine = u == &me;
        group_finish(g, rc, &gerr);
        if (mine)
            return me.code;
        pthread_mutex_lock(&wal->mu); /* my unit is still queued: lead again or wait */
    }
}

cc_code
persist_wal_health(persist_wal *wal, cc_err *err)
{
    if (!__atomic_load_n(&wal->poisoned, __ATOMIC_ACQUIRE)) /* the fast path: every statement */
        return CC_OK;
    pthread_mutex_lock(&wal->mu);
    cc_code rc = CC_OK;
    if (wal->poisoned && !wal->read_only)
        rc = cc_err_set(err, CC_IO, "%s", wal->poison_msg);
    pthread_mutex_unlock(&wal->mu);
    return rc;
}

/* Takes the writer token for a non-append operation; fails if poisoned. */
static cc_code
token_take(persist_wal *wal, cc_err *err)
{
    pthread_mutex_lock(&wal->mu);
    wal->token_waiters++;
    while (wal->writing)
        pthread_cond_wait(&wal->cv, &wal->mu); /* pairs with wake_next */
    wal->token_waiters--;
    if (wal->poisoned) {
        cc_err_set(err, CC_IO, "%s", wal->poison_msg);
        pthread_mutex_unlock(&wal->mu);
        return CC_IO;
    }
    wal->writing = 1;
    if (!wal->appended) {
        wal->appended = 1; /* the segments replay would read may now change */
        persist__wal_drop_rollup_body(wal);
    }
    pthread_mutex_unlock(&wal->mu);
    return CC_OK;
}

static void
token_release(persist_wal *wal)
{
    pthread_mutex_lock(&wal->mu);
    wal->writing = 0;
    int *next_leader = wake_next(wal);
    pthread_mutex_unlock(&wal->mu);
    if (next_leader != NULL)
        futex_wake(next_leader);
}

cc_code
persist_wal_rollup_begin(persist_wal *wal, uint64_t *mark, cc_err *err)
{
    if (wal == NULL || mark == NULL)
        return cc_err_set(err, CC_INVALID, "persist_wal_rollup_begin: wal and mark are required");
    cc_code rc = token_take(wal, err);
    if (rc != CC_OK)
        return rc;
    rc = rotate(wal, err);
    if (rc == CC_OK)
        *mark = wal->seg_seq;
    token_release(wal);
    return rc;
}

struct persist_wal_sink {
    persist_wal *wal;   /* owner */
    int fd;             /* the temporary file */
    const char *path;   /* its path, for messages */
    uint64_t off;       /* file offset of buf[0] */
    XXH3_state_t *hash; /* running XXH3-64 of the body */
    unsigned char *buf; /* write buffer */
    size_t used;        /* bytes in buf */
    uint64_t body_len;  /* body bytes accepted so far */
};

static cc_code
sink_flush(persist_wal_sink *s, cc_err *err)
{
    if (s->used == 0)
        return CC_OK;
    cc_code rc = persist__wal_write_all(s->wal, s->fd, s->buf, s->used, s->off, s->path, err);
    if (rc != CC_OK)
        return rc;
    s->off += s->used;
    s->used = 0;
    return CC_OK;
}

cc_code
persist_wal_sink_write(persist_wal_sink *sink, const void *p, size_t n, cc_err *err)
{
    if (sink == NULL || (p == NULL && n > 0))
        return cc_err_set(err, CC_INVALID, "persist_wal_sink_write: sink and p are required");
    if (n == 0)
        return CC_OK;
    XXH3_64bits_update(sink->hash, p, n);
    sink->body_len += n;
    if (sink->used + n > SINK_BUF) {
        cc_code rc = sink_flush(sink, err);
        if (rc != CC_OK)
            return rc;
    }
    if (n >= SINK_BUF) {
        cc_code rc = persist__wal_write_all(sink->wal, sink->fd, p, n, sink->off, sink->path, err);
        if (rc != CC_OK)
            return rc;
        sink->off += n;
        return CC_OK;
    }
    memcpy(sink->buf + sink->used, p, n);
    sink->used += n;
    return CC_OK;
}

/* Writes, syncs and installs rollup-<mark>; requires rollup_mu. See wal.h. */
static cc_code
write_rollup(persist_wal *wal, uint64_t mark, persist_wal_rollup_fn fn, void *arg, cc_err *err)
{
    char tmp[PATH_MAX], final[PATH_MAX];
    unsigned char hdr[WAL_ROLLUP_HDR];
    persist_wal_sink s = {.wal = wal, .fd = -1, .path = tmp, .off = WAL_ROLLUP_HDR};
    int renamed = 0;
    cc_code rc;
    persist__wal_rollup_path(wal, mark, ".tmp", tmp);
    persist__wal_rollup_path(wal, mark, "", final);
    s.buf = cc_malloc(SINK_BUF);
    s.hash = XXH3_createState();
    if (s.buf == NULL || s.hash == NULL) {
        rc = cc_err_set(err, CC_NOMEM, "out of memory writing rollup \"%s\"", final);
        goto fail;
    }
    XXH3_64bits_reset(s.hash);
    s.fd = wal->io->open(wal->io->ctx, tmp, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (s.fd < 0) {
        rc = persist__wal_io_error(err, "create file", tmp, errno);
        goto fail;
    }
    if ((rc = fn(arg, &s, err)) != CC_OK || (rc = sink_flush(&s, err)) != CC_OK)
        goto fail;
    wal__put32(hdr, WAL_ROLLUP_MAGIC);
    wal__put32(hdr + 4, WAL_VERSION);
    wal__put64(hdr + 8, mark);
    wal__put64(hdr + 16, s.body_len);
    wal__put64(hdr + 24, XXH3_64bits_digest(s.hash));
    if ((rc = persist__wal_write_all(wal, s.fd, hdr, sizeof hdr, 0, tmp, err)) != CC_OK)
        goto fail;
    if (wal->durability == PERSIST_DURABILITY_FSYNC) {
        wal__stat_add(&wal->stats.fsyncs, 1);
        if (wal->io->fdatasync(wal->io->ctx, s.fd) != 0) {
            rc = persist__wal_io_error(err, "fdatasync file", tmp, errno);
            goto fail;
        }
    }
    wal->io->close(wal->io->ctx, s.fd);
    s.fd = -1;
    if (wal->io->rename(wal->io->ctx, tmp, final) != 0) {
        char eb[128];
        const char *why = strerror_r(errno, eb, sizeof eb);
        rc = cc_err_set(err, CC_IO, "could not rename file \"%s\" to \"%s\": %s", tmp, final, why);
        goto fail;
    }
    renamed = 1;
    /*
     * Until the directory fsync returns, a crash may keep either the old or the
     * new rollup; both describe the same state, because segments >= the old
     * mark are still present. So nothing is removed before it.
     */
    if ((rc = persist__wal_sync_dir(wal, err)) != CC_OK)
        goto fail;
    pthread_mutex_lock(&wal->mu);
    wal->rollup_mark = mark;
    pthread_mutex_unlock(&wal->mu);
    wal__stat_add(&wal->stats.rollups, 1);
    rc = persist__wal_remove_old(wal, mark, err);
    XXH3_freeState(s.hash);
    cc_free(s.buf);
    return rc;
fail:
    if (s.fd >= 0)
        wal->io->close(wal->io->ctx, s.fd);
    if (!renamed)
        wal->io->unlink(wal->io->ctx, tmp); /* best effort; open removes leftovers */
    XXH3_freeState(s.hash);
    cc_free(s.buf);
    return rc;
}

cc_code
persist_wal_rollup_write(persist_wal *wal, uint64_t mark, persist_wal_rollup_fn fn, void *arg,
                         cc_err *err)
{
    if (wal == NULL || fn == NULL)
        return cc_err_set(err, CC_INVALID, "persist_wal_rollup_write: wal and fn are required");
    pthread_mutex_lock(&wal->rollup_mu);
    pthread_mutex_lock(&wal->mu);
    int poisoned = wal->poisoned;
    uint64_t have = wal->rollup_mark;
    /* seg_seq is written only under the writer token; read it only to bound mark. */
    uint64_t cur = __atomic_load_n(&wal->seg_seq, __ATOMIC_RELAXED);
    if (poisoned)
        cc_err_set(err, CC_IO, "%s", wal->poison_msg);
    pthread_mutex_unlock(&wal->mu);
    cc_code rc = CC_IO;
    if (poisoned)
        goto done;
    rc = CC_INVALID;
    if (mark <= have || mark > cur) {
        cc_err_set(err, CC_INVALID,
                   "rollup mark %" PRIu64 " is not a mark of this log newer than the current "
                   "rollup %" PRIu64,
                   mark, have);
        goto done;
    }
    rc = write_rollup(wal, mark, fn, arg, err);
done:
    pthread_mutex_unlock(&wal->rollup_mu);
    return rc;
}
