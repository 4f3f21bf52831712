/*
 * ddl/src/engine.c — the engine behind a cowcat handle: opening the durable
 * catalog, the write slot, group commit and change subscriptions.
 *
 * One writer at a time. The catalog has one write transaction at a time, so
 * the engine has one *write slot*; whoever holds it may begin a catalog
 * transaction:
 *
 *   group leader   a session with a single DDL statement to run appends a
 *                  request to the queue; the first one to find the slot free
 *                  takes the slot AND the whole queue (its group), applies
 *                  the statements one after another to one transaction —
 *                  each planned against the state its predecessors produced
 *                  — commits once (one compare_and_append, one fdatasync)
 *                  and wakes the others, whose statements are done. While a
 *                  leader waits for the disk, new requests pile up for the
 *                  next group: that is the group commit.
 *   block owner    a session in a transaction block takes the slot at its
 *                  block's first write and keeps it until COMMIT/ROLLBACK.
 *
 *   session A ─┐   queue: [A][B][C]      leader (A's thread):
 *   session B ─┼─> ───────────────── ──> begin; plan+apply A, B, C; commit
 *   session C ─┘   slot: free/busy        (1 durable write); publish; wake
 *
 * A statement that fails inside a group must not take the others with it,
 * and a failed op poisons a catalog transaction, so the leader aborts and
 * replays the group without the failed statement (each failure costs one
 * replay of the statements before it; groups are as large as the number of
 * concurrent sessions, never the catalog). If the durable commit fails,
 * every statement of the group fails with its error and the published
 * version stays the one before the group.
 *
 * Readers never take the slot: they pin the published version
 * (cat_state_acquire under a pmap_reader; exec.c).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "internal.h"

/* One single statement waiting for (or being run by) a group leader. */
struct ddl_request {
    ddl_request *next;
    ddl_ctx *ctx;              /* the statement's context (the submitting thread's) */
    const PgQuery__Node *stmt; /* borrowed from the submitter */
    cc_code rc;                /* its outcome once done */
    cc_err err;
    size_t notice_base; /* notices the statement had before it was queued (kept on replays) */
    bool failed; /* failed while planning/applying: left out of the replay */
    pthread_cond_t cond; /* its session sleeps here until done or until it may lead */
    bool done;   /* guarded by db->lock */
};

/* --- subscriptions ---------------------------------------------------------------- */

/* cat on_commit: forwards one commit's change list to the subscribers (writer thread). */
static void
on_commit(void *arg, const cat_change *changes, size_t n, uint64_t upper)
{
    (void)upper;
    cowcat *db = arg;
    if (n == 0)
        return;
    pthread_mutex_lock(&db->sub_lock);
    if (db->subs != NULL)
        ddl__notify(db, changes, n);
    pthread_mutex_unlock(&db->sub_lock);
}

cowcat_code
cowcat_subscribe(cowcat *db, cowcat_change_fn fn, void *arg, cowcat_subscription **out,
                 cowcat_error *err)
{
    if (db == NULL || fn == NULL || out == NULL)
        return ddl__api_error(err, CC_INVALID, "22023", "cowcat_subscribe: NULL argument");
    cowcat_subscription *sub = cc_calloc(1, sizeof *sub);
    if (sub == NULL)
        return ddl__api_error(err, CC_NOMEM, "53200", "out of memory");
    sub->db = db;
    sub->fn = fn;
    sub->arg = arg;
    pthread_mutex_lock(&db->sub_lock);
    sub->next = db->subs;
    db->subs = sub;
    pthread_mutex_unlock(&db->sub_lock);
    *out = sub;
    return COWCAT_OK;
}

void
cowcat_unsubscribe(cowcat_subscription *sub)
{
    if (sub == NULL)
        return;
    cowcat *db = sub->db;
    /* Subscribers run under sub_lock: once we hold it, sub is not running. */
    pthread_mutex_lock(&db->sub_lock);
    for (cowcat_subscription **p = &db->subs; *p != NULL; p = &(*p)->next)
        if (*p == sub) {
            *p = sub->next;
            break;
        }
    pthread_mutex_unlock(&db->sub_lock);
    cc_free(sub);
}

/* --- open / close ------------------------------------------------------------------- */

/*
 * Is ablation a on? Each one maps onto the option of the one layer that
 * switches it (cowcat.h: COWCAT_ABLATE_*): trace -> persist_options.trace,
 * snapshot -> dur_options.snapshot, advance -> dur_options.advance, clone /
 * alloc / limits -> cat_options.ablate, check -> cat_options.check =
 * CAT_CHECK_FULL.
 */
static bool
ablated(const cowcat_options *opts, cowcat_ablation a)
{
    return (opts->ablate & COWCAT_ABLATE_BIT(a)) != 0;
}

cc_code
ddl__engine_open(const cowcat_options *opts, cowcat **out, cc_err *err)
{
    *out = NULL;
    cowcat *db = cc_calloc(1, sizeof *db);
    if (db == NULL)
        return cc_err_set(err, CC_NOMEM, "out of memory opening cowcat");
    pthread_mutex_init(&db->lock, NULL);
    pthread_cond_init(&db->cond, NULL);
    pthread_mutex_init(&db->sub_lock, NULL);

    persist_options po = {
        .backend = opts->backend == COWCAT_BACKEND_MEMORY ? PERSIST_BACKEND_MEM : PERSIST_BACKEND_FILE,
        .data_dir = opts->data_dir,
        .sync = opts->durability == COWCAT_DURABILITY_NONE ? PERSIST_SYNC_NONE : PERSIST_SYNC_FSYNC,
        .trace = ablated(opts, COWCAT_ABLATE_TRACE) ? PERSIST_TRACE_SORT : PERSIST_TRACE_INCREMENTAL,
        .io = opts->io,
        .rollup_min_bytes = opts->rollup_bytes,
        .segment_bytes = opts->segment_bytes,
    };
    cc_code rc = persist_client_open(&po, &db->pc, err);
    if (rc != CC_OK)
        goto fail;
    dur_options dopts = {
        .mode = DUR_MODE_WRITABLE,
        .deploy_generation = opts->deploy_generation,
        .names = DUR_NAMES_EXTERNAL,
        .snapshot = ablated(opts, COWCAT_ABLATE_SNAPSHOT) ? DUR_SNAPSHOT_REBUILD : DUR_SNAPSHOT_DELTA,
        .advance = ablated(opts, COWCAT_ABLATE_ADVANCE) ? DUR_ADVANCE_EACH : DUR_ADVANCE_TXNS,
        .audit_keep = opts->audit_log_keep,
    };
    if ((rc = dur_open(db->pc, &dopts, &db->dur, err)) != CC_OK)
        goto fail;
    cat_options copts = {
        .parse = ddl__check_parse,
        .on_commit = on_commit,
        .on_commit_arg = db,
        .check = ablated(opts, COWCAT_ABLATE_CHECK) ? CAT_CHECK_FULL : CAT_CHECK_DEFAULT,
        .ablate = (ablated(opts, COWCAT_ABLATE_CLONE) ? CAT_ABLATE_CLONE : 0u) |
                  (ablated(opts, COWCAT_ABLATE_ALLOC) ? CAT_ABLATE_ALLOC : 0u) |
                  (ablated(opts, COWCAT_ABLATE_LIMITS) ? CAT_ABLATE_LIMITS : 0u),
    };
    if ((rc = cat_open(db->dur, &copts, &db->cat, err)) != CC_OK)
        goto fail;
    *out = db;
    return CC_OK;

fail:
    ddl__engine_close(db);
    return rc;
}

cc_code
ddl__engine_health(cowcat *db, cc_err *err)
{
    cc_code rc = persist_client_health(db->pc, err);
    if (rc == CC_OK)
        rc = dur_health(db->dur, err);
    return rc;
}

void
ddl__engine_close(cowcat *db)
{
    if (db == NULL)
        return;
    if (db->cat != NULL)
        cat_close(db->cat);
    if (db->dur != NULL)
        dur_close(db->dur);
    if (db->pc != NULL)
        persist_client_close(db->pc);
    while (db->subs != NULL) {
        cowcat_subscription *s = db->subs;
        db->subs = s->next;
        cc_free(s);
    }
    ddl__database_uses_free(db);
    pthread_mutex_destroy(&db->lock);
    pthread_cond_destroy(&db->cond);
    pthread_mutex_destroy(&db->sub_lock);
    cc_free(db);
}

/* --- the write slot ----------------------------------------------------------------- */

/*
 * Frees the slot (db->lock held) and wakes whoever may take it: the first
 * queued statement (its session becomes the next leader) and the sessions
 * waiting in ddl__slot_acquire. Nobody else is woken: a follower sleeps on
 * its own condition variable until its group is done, so a finished group
 * costs one wake-up per member, not one per waiting session.
 */
static void
slot_free_locked(cowcat *db)
{
    db->slot_busy = false;
    if (db->queue_head != NULL)
        pthread_cond_signal(&db->queue_head->cond);
    if (db->slot_waiters > 0)
        pthread_cond_broadcast(&db->cond);
}

/* How long a statement may wait for the slot (lock_timeout, statement_timeout). */
typedef struct wait_limit {
    bool set;              /* false: wait for ever */
    bool statement;        /* statement_timeout is the nearer one */
    struct timespec until; /* CLOCK_REALTIME, the clock of the engine's condition variables */
} wait_limit;

/* A duration setting of s in ms (0: unset or off). */
static int64_t
setting_ms(cowcat_session *s, const char *name)
{
    int64_t ms = 0;
    const char *v = cowcat_session_setting(s, name);
    return v != NULL && cowcat_duration_ms(v, &ms) && ms > 0 ? ms : 0;
}

/* The limit of a wait that starts now for c's statement. */
static wait_limit
wait_limit_of(const ddl_ctx *c)
{
    wait_limit w = {0};
    int64_t lock_ms = setting_ms(c->s, "lock_timeout");
    int64_t stmt_ms = setting_ms(c->s, "statement_timeout");
    int64_t left_ns = INT64_MAX;
    if (lock_ms > 0)
        left_ns = lock_ms * 1000000;
    if (stmt_ms > 0) {
        int64_t stmt_left = stmt_ms * 1000000 - (int64_t)(ddl__now_ns() - c->start_ns);
        if (stmt_left < left_ns) {
            left_ns = stmt_left > 0 ? stmt_left : 0;
            w.statement = true;
        }
    }
    if (left_ns == INT64_MAX)
        return w;
    w.set = true;
    clock_gettime(CLOCK_REALTIME, &w.until);
    int64_t ns = (int64_t)w.until.tv_nsec + left_ns % 1000000000;
    w.until.tv_sec += (time_t)(left_ns / 1000000000 + ns / 1000000000);
    w.until.tv_nsec = (long)(ns % 1000000000);
    return w;
}

typedef enum wait_end { WAIT_WOKEN, WAIT_EXPIRED, WAIT_CANCELLED } wait_end;

/*
 * One sleep on cond (db->lock held) within w, unless s (NULL: not
 * cancellable) was cancelled (cowcat_session_cancel wakes the sleeper).
 */
static wait_end
wait_step(pthread_cond_t *cond, pthread_mutex_t *lock, const wait_limit *w, cowcat_session *s)
{
    if (s != NULL && atomic_load(&s->cancel))
        return WAIT_CANCELLED;
    if (!w->set)
        pthread_cond_wait(cond, lock);
    else if (pthread_cond_timedwait(cond, lock, &w->until) == ETIMEDOUT)
        return WAIT_EXPIRED;
    return s != NULL && atomic_load(&s->cancel) ? WAIT_CANCELLED : WAIT_WOKEN;
}

/* The error that ends a wait. */
static cc_code
wait_error(wait_end why, const wait_limit *w, cc_err *err)
{
    if (why == WAIT_CANCELLED)
        return cc_err_set_state(err, CC_CONFLICT, "57014",
                                "canceling statement due to user request");
    if (w->statement)
        return cc_err_set_state(err, CC_CONFLICT, "57014",
                                "canceling statement due to statement timeout");
    return cc_err_set_state(err, CC_CONFLICT, "55P03", "canceling statement due to lock timeout");
}

cc_code
ddl__slot_acquire(ddl_ctx *c, cc_err *err)
{
    cowcat *db = c->s->db;
    wait_limit w = wait_limit_of(c);
    wait_end why = WAIT_WOKEN;
    pthread_mutex_lock(&db->lock);
    db->slot_waiters++; /* cowcat_session_cancel and slot_free_locked broadcast db->cond */
    while (db->slot_busy && why == WAIT_WOKEN)
        why = wait_step(&db->cond, &db->lock, &w, c->s);
    db->slot_waiters--;
    if (!db->slot_busy) /* free after all: take it */
        why = WAIT_WOKEN;
    if (why == WAIT_WOKEN)
        db->slot_busy = true;
    pthread_mutex_unlock(&db->lock);
    return why == WAIT_WOKEN ? CC_OK : wait_error(why, &w, err);
}

void
ddl__slot_release(cowcat *db)
{
    pthread_mutex_lock(&db->lock);
    slot_free_locked(db);
    pthread_mutex_unlock(&db->lock);
}

/* --- group commit ------------------------------------------------------------------- */

static void
stat_max(atomic_uint_fast64_t *a, uint64_t v)
{
    uint64_t cur = atomic_load_explicit(a, memory_order_relaxed);
    while (v > cur && !atomic_compare_exchange_weak_explicit(a, &cur, v, memory_order_relaxed,
                                                             memory_order_relaxed))
        ;
}

/*
 * Runs a group (the slot is held): applies the statements that have not
 * failed to one transaction, replaying without any statement that fails,
 * then commits. Sets every request's rc/err.
 */
static void
run_group(cowcat *db, ddl_request *group)
{
    size_t n = 0;
    for (ddl_request *r = group; r != NULL; r = r->next)
        n++;
    atomic_fetch_add_explicit(&db->groups, 1, memory_order_relaxed);
    stat_max(&db->max_group, n);
    ddl__observe(&db->group_size, cowcat_group_size_bounds(), n);

    for (;;) {
        size_t left = 0;
        for (ddl_request *r = group; r != NULL; r = r->next)
            left += !r->failed;
        if (left == 0)
            return; /* every statement failed: no transaction to replay */
        cat_txn *txn = NULL;
        cc_err e;
        cc_err_clear(&e);
        cat_actor actor = {.user = group->ctx->s->user};
        cc_code rc = cat_txn_begin(db->cat, &actor, &txn, &e);
        if (rc != CC_OK) {
            for (ddl_request *r = group; r != NULL; r = r->next)
                if (!r->failed) {
                    r->rc = rc;
                    r->err = e;
                }
            return;
        }
        bool replay = false;
        size_t applied = 0;
        for (ddl_request *r = group; r != NULL && !replay; r = r->next) {
            if (r->failed)
                continue;
            ddl_ctx *c = r->ctx;
            actor.user = c->s->user;
            cat_txn_set_actor(txn, &actor);
            c->tag[0] = '\0';
            c->nnotices = r->notice_base;
            c->errpos = 0;
            c->txn = txn;
            c->st = cat_txn_state(txn);
            cc_err_clear(&r->err);
            r->rc = ddl__ctx_bind(c, &r->err);
            if (r->rc == CC_OK)
                r->rc = ddl__write_timed(c, r->stmt, &r->err);
            c->txn = NULL;
            if (r->rc != CC_OK) {
                r->failed = true;
                replay = true;
            } else {
                applied++;
            }
        }
        if (replay) {
            cat_txn_abort(txn);
            continue;
        }
        if (applied == 0) {
            cat_txn_abort(txn);
            return;
        }
        cat_commit_timing timing = {0};
        cat_txn_set_timing(txn, &timing);
        rc = cat_txn_commit(txn, &e);
        if (rc == CC_OK) {
            ddl__observe_commit(db, &timing);
            atomic_fetch_add_explicit(&db->commits, 1, memory_order_relaxed);
            atomic_fetch_add_explicit(&db->ddl, applied, memory_order_relaxed);
        }
        for (ddl_request *r = group; r != NULL; r = r->next) {
            if (r->failed)
                continue;
            if (rc != CC_OK) {
                r->rc = rc;
                r->err = e;
            } else {
                r->ctx->s->last_commit = ++db->commit_seq; /* group order is commit order */
            }
        }
        return;
    }
}

/*
 * Takes req out of the queue if no leader has taken it yet (db->lock held);
 * false if it is not there (a group is running it).
 */
static bool
unqueue(cowcat *db, ddl_request *req)
{
    ddl_request *prev = NULL;
    for (ddl_request *r = db->queue_head; r != NULL; prev = r, r = r->next) {
        if (r != req)
            continue;
        if (prev != NULL)
            prev->next = r->next;
        else
            db->queue_head = r->next;
        if (db->queue_tail == r)
            db->queue_tail = prev;
        r->next = NULL;
        return true;
    }
    return false;
}

cc_code
ddl__engine_submit(ddl_ctx *c, const PgQuery__Node *stmt, cc_err *err)
{
    cowcat *db = c->s->db;
    ddl_request req = {.ctx = c, .stmt = stmt, .notice_base = c->nnotices};
    pthread_cond_init(&req.cond, NULL);

    wait_limit w = wait_limit_of(c);
    pthread_mutex_lock(&db->lock);
    if (db->queue_tail != NULL)
        db->queue_tail->next = &req;
    else
        db->queue_head = &req;
    db->queue_tail = &req;
    cowcat_session *cancellable = c->s; /* NULL once a leader has taken req */
    while (!req.done) {
        if (db->slot_busy) {
            c->s->wait_cond = &req.cond; /* what cowcat_session_cancel signals */
            wait_end why = wait_step(&req.cond, &db->lock, &w, cancellable);
            c->s->wait_cond = NULL;
            if (why == WAIT_WOKEN || req.done)
                continue;
            if (unqueue(db, &req)) { /* still queued: no leader has it */
                pthread_mutex_unlock(&db->lock);
                pthread_cond_destroy(&req.cond);
                return wait_error(why, &w, err);
            }
            cancellable = NULL; /* a group is running it: wait for its end */
            w.set = false;
            continue;
        }
        /* Lead: take the slot and everything queued (our request among it). */
        db->slot_busy = true;
        ddl_request *group = db->queue_head;
        db->queue_head = db->queue_tail = NULL;
        pthread_mutex_unlock(&db->lock);

        run_group(db, group);

        pthread_mutex_lock(&db->lock);
        /* Each owner sees done only after we unlock, so r stays valid here. */
        for (ddl_request *r = group, *next; r != NULL; r = next) {
            next = r->next;
            r->next = NULL;
            r->done = true;
            if (r != &req)
                pthread_cond_signal(&r->cond);
        }
        slot_free_locked(db);
    }
    pthread_mutex_unlock(&db->lock);
    pthread_cond_destroy(&req.cond);
    if (req.rc != CC_OK && err != NULL)
        *err = req.err;
    return req.rc;
}
