/*
 * tests/crash/crash_server.c — whole-system crash test: cowcatd under
 * concurrent libpq clients doing random DDL, SIGKILLed at a random moment,
 * restarted on the same data directory, and checked.
 *
 * One iteration:
 *
 *   start cowcatd on DIR (fsync; every 4th iteration --durability none)
 *     -> verify: the catalog read back (cowcat_catalog.objects, indexes,
 *        dependencies, limits; information_schema.schemata, tables, columns)
 *        equals the reference model's replay of every acknowledged
 *        transaction, with each transaction that was in flight at the kill
 *        wholly present or wholly absent (crash_verify.c)
 *     -> shared phase: one actor alone, DDL across schemas (views in
 *        "shared" over several clients' tables, schema renames and drops)
 *     -> concurrent phase: N clients (default 4), each in its own schema,
 *        plus the system actor (ALTER SYSTEM on the internal port as
 *        cowcat_system): single statements, BEGIN..COMMIT blocks and
 *        multi-statement strings, some ending in an error (rolled back)
 *     -> after a seeded random delay: SIGKILL (every 10th iteration SIGTERM,
 *        which must exit 0)
 *     -> `cowcat check -D DIR` on the stopped directory (even iterations and
 *        clean stops; on odd ones the restarted server recovers the raw
 *        crash state instead)
 *
 * Why the model is exact although acknowledgement order between concurrent
 * clients is unknown: each client touches only its own schema and uses fresh
 * names, so the clients' histories commute (the only cross-client effect, a
 * DROP ... CASCADE removing a shared view, is order-independent); the
 * cross-schema work is done by one actor alone before the clients start; the
 * limits the system actor sets are far above anything created. An actor's
 * acknowledged transactions are applied to the model in its own order, and
 * any interleaving of different actors gives the same model.
 *
 * Durability none on some iterations: the kill is SIGKILL, not power loss,
 * and what cowcatd wrote before acknowledging is in the page cache, which
 * survives the process; so "acknowledged = durable" must hold without
 * fdatasync too (README: "survives kill -9, not power loss").
 *
 *   crash_server [--iterations N | --long] [--seed S] [--clients N] [--dir DIR]
 *
 * The seed (COWCAT_TEST_SEED or --seed) fixes every actor's choices and the
 * kill delays; which statements were acknowledged before the kill depends on
 * timing, so a replay runs the same workload, not the same interleaving.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crash_exec.h"
#include "crash_server.h"

/* --faults: an error answer with one of these is the injected disk failure, not the model's. */
static bool g_faults;

static bool
is_fault_state(const char *state)
{
    return strcmp(state, "53100") == 0 || strcmp(state, "58030") == 0;
}

/* Runs one simple query on a PGconn; every result is read (a crash_run_fn). */
static void
run_query(void *conn, const char *sql, xres *x)
{
    PGconn *c = conn;
    memset(x, 0, sizeof *x);
    if (!PQsendQuery(c, sql)) {
        x->kind = XR_LOST;
        snprintf(x->msg, sizeof x->msg, "%s", PQerrorMessage(c));
        return;
    }
    bool lost = false, err = false;
    PGresult *res;
    while ((res = PQgetResult(c)) != NULL) {
        ExecStatusType st = PQresultStatus(res);
        if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY) {
            x->nok++;
            snprintf(x->tag, sizeof x->tag, "%s", PQcmdStatus(res));
        } else if (!err && !lost) {
            const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
            const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
            snprintf(x->msg, sizeof x->msg, "%s", PQresultErrorMessage(res));
            /* no SQLSTATE: libpq's own (the connection broke); 57P0x: shutdown; FATAL: the
             * server ends the connection (--faults: it stops after its log broke) */
            if (state == NULL || strncmp(state, "57P0", 4) == 0 || strncmp(state, "08", 2) == 0 ||
                (sev != NULL && strcmp(sev, "FATAL") == 0))
                lost = true;
            else {
                err = true;
                snprintf(x->state, sizeof x->state, "%s", state);
            }
        }
        PQclear(res);
        if (PQstatus(c) == CONNECTION_BAD && !err)
            lost = true;
    }
    x->kind = err ? XR_ERR : lost || PQstatus(c) == CONNECTION_BAD ? XR_LOST : XR_OK;
    if (x->kind == XR_ERR && g_faults && is_fault_state(x->state))
        x->kind = XR_FAULT;
}

static void
actor_fail(cs_actor *a, const cg_txn *t, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
actor_fail(cs_actor *a, const cg_txn *t, const char *fmt, ...)
{
    char what[1024], desc[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    crash_gen_describe(t, desc, sizeof desc);
    snprintf(a->failure, sizeof a->failure, "%s\n    in transaction: %s", what, desc);
}

static void
ignore_notice(void *arg, const char *msg)
{
    (void)arg, (void)msg;
}

static void *
actor_main(void *arg)
{
    cs_actor *a = arg;
    cs_run *r = a->run;
    bool internal = a->gen.role == CG_SYSTEM;
    PGconn *c = srvproc_connect(&r->srv, internal ? "cowcat_system" : NULL, NULL, internal);
    PQsetNoticeProcessor(c, ignore_notice, NULL); /* DROP ... CASCADE's lists */
    if (a->gen.role == CG_CLIENT) { /* wait for the shared phase to end */
        pthread_mutex_lock(&r->mu);
        while (!r->phase_b && !r->stop)
            pthread_cond_wait(&r->cv, &r->mu);
        pthread_mutex_unlock(&r->mu);
    }
    cm_model scratch = {0};
    cg_txn *t = &a->pend.txn;
    int done = 0;
    while (PQstatus(c) == CONNECTION_OK) {
        pthread_mutex_lock(&r->mu);
        bool stop = r->stop || (a->gen.role == CG_SHARED && done == a->budget);
        if (!stop)
            crash_model_copy(&scratch, &r->model);
        pthread_mutex_unlock(&r->mu);
        if (stop)
            break;
        crash_gen_txn(&a->gen, &scratch, t);
        a->pend.active = true;
        a->pend.maybe = false;
        a->pend.fault = false;
        int rc = crash_exec_txn(run_query, c, t, &a->pend.maybe, a->failure, sizeof a->failure);
        if (rc == XR_LOST)
            break; /* pend stays: its outcome is decided after the restart */
        if (rc == XR_FAULT) { /* pend stays too: crash_server decides what it may be */
            a->pend.fault = true;
            a->fault_answers++;
            break;
        }
        a->pend.active = false;
        if (rc < 0)
            break;
        done++;
        if (rc == XR_ERR) {
            a->acked_errors++;
            continue;
        }
        char desc[4096], why[256] = "";
        crash_gen_describe(t, desc, sizeof desc);
        pthread_mutex_lock(&r->mu);
        for (int i = 0; i < t->nops && why[0] == '\0'; i++)
            if (crash_model_apply(&r->model, &t->ops[i], why, sizeof why) != NULL)
                actor_fail(a, t, "test bug: the model refuses acknowledged `%s`: %s",
                           t->ops[i].sql, why);
        char who[32];
        if (a->gen.role == CG_CLIENT)
            snprintf(who, sizeof who, "client %d", a->gen.id);
        else
            snprintf(who, sizeof who, "%s actor", a->gen.role == CG_SHARED ? "shared" : "system");
        cs_history_add(&r->history, "iteration %d %s #%ld: %s", r->iteration, who, a->acked_txns,
                       desc);
        pthread_mutex_unlock(&r->mu);
        if (a->failure[0] != '\0')
            break;
        a->acked_txns++;
        a->acked_stmts += t->nops;
        if (a->gen.role == CG_SYSTEM) /* a light load: the clients are the workload */
            usleep((useconds_t)(1000 + tu_rng_below(&a->gen.rng, 10000)));
    }
    if (a->gen.role == CG_SHARED) { /* over (or the server is gone): the clients go */
        pthread_mutex_lock(&r->mu);
        r->phase_b = true;
        pthread_cond_broadcast(&r->cv);
        pthread_mutex_unlock(&r->mu);
    }
    crash_model_free(&scratch);
    PQfinish(c);
    return NULL;
}

/* Starts the server with --durability durability ("fsync", "none"); on failure prints why. */
static int
start_server(cs_run *r, const char *durability, const char *when)
{
    if (r->faults)
        return cs_inproc_start(r);
    const char *args[] = {"--durability", durability, NULL};
    if (srvproc_start(&r->srv, r->dir, args) == 0)
        return 0;
    printf("FAIL: crash_server seed %llu iteration %d (%s): cowcatd did not start on %s; "
           "its log %s ends:\n",
           (unsigned long long)r->seed, r->iteration, when, r->dir, r->srv.log);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "tail -n 20 '%.300s'", r->srv.log);
    fflush(stdout);
    if (system(cmd) != 0)
        printf("    (no log)\n");
    return -1;
}

static void
sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* --faults: the disk fails for a while under the running clients, then heals. */
static void
fault_window(cs_run *r, tu_rng *rng, char *desc, size_t n)
{
    cs_fault_arm(r, rng, desc, n);
    sleep_ms(20 + (long)tu_rng_below(rng, 300));
    r->faults_fired += (long)persist_io_faults_fired(&r->fi);
    persist_io_faults_disarm(&r->fi);
}

/*
 * --faults, after the actors stopped: a transaction answered with an I/O error
 * must be absent if the server kept serving (the log undid its write), and may
 * be either if the server stopped itself (the log could not undo it). A server
 * that kept serving must accept DDL again now that the disk is healthy, and its
 * live catalog must already be the model (what the restart will read from
 * disk). Then the server is stopped. Returns 0, or -1 after printing a FAIL.
 */
static int
fault_end(cs_run *r, long *stops)
{
    bool failed = srv_server_failed(r->inproc, NULL);
    for (int a = 0; a < r->nactors; a++) {
        cs_pending *p = &r->actors[a].pend;
        if (p->active && p->fault)
            p->maybe = failed && !p->txn.fails;
    }
    int rc = 0;
    if (!failed) {
        PGconn *c = srvproc_connect(&r->srv, NULL, NULL, false);
        char v[64];
        if (PQstatus(c) != CONNECTION_OK ||
            srvproc_value(c, "CREATE TABLE public.fault_probe (a int)", v, sizeof v) !=
                PGRES_COMMAND_OK ||
            srvproc_value(c, "DROP TABLE public.fault_probe", v, sizeof v) != PGRES_COMMAND_OK) {
            printf("FAIL: crash_server seed %llu iteration %d: after the fault the server "
                   "still serves but refuses DDL: %s", (unsigned long long)r->seed,
                   r->iteration, PQerrorMessage(c));
            rc = -1;
        } else {
            r->fault_recoveries++;
        }
        PQfinish(c);
        if (rc == 0 && cs_verify(r, "live, after the fault") != 0)
            rc = -1;
    }
    cowcat_error why;
    if (cs_inproc_stop(r, &why)) {
        r->fault_stops++;
        printf("    the server stopped itself: %s\n", why.message);
    }
    (*stops)++;
    return rc;
}

/* After a failure: a fresh directory and an empty model, so the run goes on. */
static void
reset_run(cs_run *r)
{
    if (r->srv.pid > 0)
        srvproc_kill(&r->srv);
    cs_inproc_stop(r, NULL);
    printf("    (keeping %s for inspection; continuing in a fresh data directory)\n", r->dir);
    srvproc_tmpdir(r->dir, sizeof r->dir, "crash");
    crash_model_free(&r->model);
    crash_model_init(&r->model);
    for (int a = 0; a < r->nactors; a++)
        r->actors[a].pend.active = false;
}

static void
usage(void)
{
    fprintf(stderr, "usage: crash_server [--iterations N | --long] [--seed S] [--clients N] "
                    "[--dir DIR] [--faults]\n");
    exit(2);
}

int
main(int argc, char **argv)
{
    static cs_run run; /* large: the history ring */
    cs_run *r = &run;
    int iterations = 100, seed_given = 0;
    r->nclients = 4;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--iterations") == 0 && i + 1 < argc)
            iterations = atoi(argv[++i]);
        else if (strcmp(argv[i], "--long") == 0)
            iterations = 2000;
        else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
            r->seed = strtoull(argv[++i], NULL, 0), seed_given = 1;
        else if (strcmp(argv[i], "--clients") == 0 && i + 1 < argc)
            r->nclients = atoi(argv[++i]);
        else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            snprintf(r->dir, sizeof r->dir, "%s", argv[++i]);
        else if (strcmp(argv[i], "--faults") == 0)
            r->faults = g_faults = true;
        else
            usage();
    }
    if (iterations < 1 || r->nclients < 1 || r->nclients > CM_MAX_ACTORS - 2)
        usage();
    if (seed_given)
        fprintf(stderr, "seed crash_server = %llu (replay: COWCAT_TEST_SEED=%llu)\n",
                (unsigned long long)r->seed, (unsigned long long)r->seed);
    else
        r->seed = tu_seed("crash_server");
    printf("crash_server: seed %llu, %d iterations, %d clients%s\n", (unsigned long long)r->seed,
           iterations, r->nclients, r->faults ? ", disk faults under an in-process server" : "");
    persist_io_faults_init(&r->fi, persist_io_default());
    if (r->dir[0] == '\0')
        srvproc_tmpdir(r->dir, sizeof r->dir, "crash");
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    crash_model_init(&r->model);
    r->nactors = r->nclients + 2;
    for (int a = 0; a < r->nactors; a++) {
        r->actors[a].run = r;
        crash_gen_actor_init(&r->actors[a].gen, a, r->nclients);
    }
    double t0 = tu_now_s();
    long kills = 0, stops = 0, acked_txns = 0, acked_stmts = 0, acked_errors = 0;
    long fault_answers = 0;
    bool tainted = false; /* an actor's model diverged from the server: start over */
    char prev_log[sizeof r->srv.log] = ""; /* the killed server's log, until its restart passed */
    bool prev_ok = true;
    for (int it = 0; it < iterations; it++) {
        r->iteration = it;
        long fails_before = r->failures;
        tu_rng rng;
        tu_rng_init(&rng, tu_mix(r->seed, (uint64_t)it, 1000));
        const char *durability = it % 4 != 3 || r->faults ? "fsync" : "none";
        bool clean = it % 10 == 9 || r->faults;
        unsigned d = (unsigned)tu_rng_below(&rng, 100);
        long delay_ms = d < 10 ? (long)tu_rng_below(&rng, 15) : 20 + (long)tu_rng_below(&rng, 700);
        if (tainted) {
            reset_run(r);
            tainted = false;
        }
        if (start_server(r, durability, "restart") != 0) {
            r->failures++;
            reset_run(r);
            continue;
        }
        if (cs_verify(r, "after the restart") != 0) {
            printf("    the killed server's log: %s\n", prev_log);
            r->failures++;
            reset_run(r);
            if (start_server(r, durability, "fresh start") != 0)
                break;
        } else if (prev_log[0] != '\0' && prev_ok) {
            unlink(prev_log);
        }
        long before_txns = acked_txns, before_stmts = acked_stmts;
        r->phase_b = false;
        r->stop = false;
        for (int a = 0; a < r->nactors; a++) {
            cs_actor *ac = &r->actors[a];
            tu_rng_init(&ac->gen.rng, tu_mix(r->seed, (uint64_t)it, (uint64_t)a));
            ac->budget = (int)tu_rng_below(&rng, 7);
            ac->failure[0] = '\0';
            ac->acked_txns = ac->acked_stmts = ac->acked_errors = 0;
            if (pthread_create(&ac->thread, NULL, actor_main, ac) != 0) {
                perror("pthread_create");
                return 1;
            }
        }
        sleep_ms(delay_ms);
        int status = 0;
        char fault[160] = "";
        if (r->faults) {
            fault_window(r, &rng, fault, sizeof fault);
        } else if (clean) {
            status = srvproc_stop(&r->srv);
            stops++;
        } else {
            srvproc_kill(&r->srv);
            kills++;
        }
        pthread_mutex_lock(&r->mu);
        r->stop = true;
        pthread_cond_broadcast(&r->cv);
        pthread_mutex_unlock(&r->mu);
        int inflight = 0;
        for (int a = 0; a < r->nactors; a++) {
            cs_actor *ac = &r->actors[a];
            pthread_join(ac->thread, NULL);
            acked_txns += ac->acked_txns;
            acked_stmts += ac->acked_stmts;
            acked_errors += ac->acked_errors;
            fault_answers += ac->fault_answers;
            inflight += ac->pend.active;
            if (ac->failure[0] != '\0') {
                printf("FAIL: crash_server seed %llu iteration %d: %s %d: %s\n",
                       (unsigned long long)r->seed, it,
                       ac->gen.role == CG_CLIENT ? "client" : "actor", a, ac->failure);
                r->failures++;
                tainted = true;
            }
        }
        if (r->faults && !tainted && fault_end(r, &stops) != 0) {
            r->failures++;
            tainted = true;
        }
        if (clean && status != 0) {
            printf("FAIL: crash_server seed %llu iteration %d: cowcatd exited with %d on SIGTERM "
                   "(log %s)\n", (unsigned long long)r->seed, it, status, r->srv.log);
            r->failures++;
        }
        if (!r->faults && srvproc_log_has_sanitizer_report(&r->srv)) {
            printf("FAIL: crash_server seed %llu iteration %d: sanitizer report in the server "
                   "log %s:\n", (unsigned long long)r->seed, it, r->srv.log);
            fflush(stdout);
            char cmd[512];
            snprintf(cmd, sizeof cmd, "grep -A30 -m1 -E 'Sanitizer|runtime error' '%.300s'",
                     r->srv.log);
            if (system(cmd) != 0)
                printf("    (grep failed)\n");
            r->failures++;
        }
        bool checked = (clean || it % 2 == 0) && !tainted, check_ok = true;
        if (checked) {
            int rc = cs_check_dir(r, clean ? "after SIGTERM" : "after SIGKILL");
            check_ok = rc == 0;
            r->failures += !check_ok;
            tainted |= rc != 0;
        }
        printf("iteration %d: %s, %s after %ld ms: %ld transactions (%ld statements) "
               "acknowledged, %d in flight%s\n",
               it, strcmp(durability, "fsync") == 0 ? "fsync" : "durability none",
               r->faults ? fault : clean ? "SIGTERM" : "SIGKILL", delay_ms,
               acked_txns - before_txns, acked_stmts - before_stmts, inflight,
               !checked ? "" : check_ok ? ", cowcat check ok" : ", cowcat check FAILED");
        fflush(stdout);
        snprintf(prev_log, sizeof prev_log, "%.*s", (int)sizeof prev_log - 1, r->srv.log);
        prev_ok = r->failures == fails_before;
    }
    /* the last kill: restart, verify, clean stop, check */
    r->iteration = iterations;
    long fails_before = r->failures;
    if (!tainted && start_server(r, "fsync", "final restart") == 0) {
        if (cs_verify(r, "final restart") != 0)
            printf("    the killed server's log: %s\n", prev_log), r->failures++;
        else if (prev_ok)
            unlink(prev_log);
        if (r->faults ? cs_inproc_stop(r, NULL) : srvproc_stop(&r->srv) != 0) {
            printf("FAIL: crash_server seed %llu: cowcatd did not exit 0 on the final stop\n",
                   (unsigned long long)r->seed);
            r->failures++;
        }
        if (cs_check_dir(r, "after the final stop") != 0)
            r->failures++;
        if (r->failures == fails_before)
            unlink(r->srv.log);
    } else if (!tainted) {
        r->failures++;
    }
    double secs = tu_now_s() - t0;
    printf("crash_server: seed %llu: %d iterations (%ld SIGKILL, %ld SIGTERM) in %.1f s; "
           "%ld transactions (%ld statements) acknowledged and verified after restarts, "
           "%ld failing transactions answered with their error; in flight at the kill: %ld that "
           "may have committed (%ld had), %ld that must not have; %ld verifications, %ld cowcat "
           "checks, up to %ld catalog rows compared\n",
           (unsigned long long)r->seed, iterations, kills, stops, secs, acked_txns, acked_stmts,
           acked_errors, r->inflight_either, r->inflight_committed, r->inflight_absent_only,
           r->verifications, r->checks, r->rows_max);
    if (r->faults)
        printf("crash_server: faults: %ld scenarios armed, %ld faulted I/O calls, %ld statements "
               "answered 53100/58030, %ld times the server kept serving (a probe DDL passed and "
               "the live catalog matched), %ld times it stopped itself after its log broke\n",
               r->faults_armed, r->faults_fired, fault_answers, r->fault_recoveries,
               r->fault_stops);
    if (r->failures > 0) {
        printf("crash_server: FAILED: %ld failures (seed %llu; replay with "
               "COWCAT_TEST_SEED=%llu)\n",
               r->failures, (unsigned long long)r->seed, (unsigned long long)r->seed);
        return 1;
    }
    srvproc_rmdir(r->dir);
    printf("crash_server: ok\n");
    crash_model_free(&r->model);
    cs_history_free(&r->history);
    return 0;
}
