/*
 * tests/crash/powercut.c — power-cut simulation: nothing fdatasync-acknowledged
 * may be lost when the machine loses power.
 *
 * SIGKILL leaves the page cache alone; a power cut does not. Each iteration
 * runs the engine (cowcat_open, durability FSYNC, a small rollup_bytes so
 * rollups, segment rotations and deletions happen all the time) on a data
 * directory through the volatile-cache hook of powercut_io.c, which records
 * what is durable (file bytes as of their last sync, names as of the last
 * directory fsync):
 *
 *   open LIVE through the hook (armed to cut the power at a random call:
 *   the Nth of any kind, or just at / after the Nth write, sync, rename,
 *   unlink or create; sometimes during the open's own recovery)
 *     -> the shared actor alone, then N clients + the system actor, each with
 *        its own cowcat_session, run crash_gen's random DDL (single
 *        statements, BEGIN..COMMIT blocks, multi-statement strings, some
 *        ending in a predicted error), every answer checked against the model
 *     -> the power goes off: every hooked call fails with EIO from then on;
 *        the actors stop at their next error; the handle is closed (its
 *        calls fail too, close aside)
 *     -> pc_io_image writes one possible post-power-loss image of LIVE into
 *        a new directory IMG (unsynced data dropped, cut at sectors, torn;
 *        directory operations since the last directory fsync reverted)
 *     -> one iteration in three, a second cut during the recovery of IMG:
 *        IMG is opened through a new hook that cuts within its first 60
 *        calls (the torn tail's truncation, the removal of leftovers, the
 *        fence bump), and that power loss's image replaces IMG
 *     -> IMG is opened without the hook: the open must succeed, cowcat_check
 *        pass, and the catalog equal the replay of every acknowledged
 *        transaction with each in-flight one wholly present or wholly absent
 *     -> IMG is the next iteration's LIVE (recovery runs over every earlier
 *        image)
 *
 * An answer that arrives after the cut but says OK must be durable: its
 * fdatasync returned before the power went.
 *
 *   powercut [--iterations N | --long] [--seed S] [--clients N] [--dir DIR]
 *
 * The seed (COWCAT_TEST_SEED or --seed) fixes every choice but the thread
 * interleaving, as in crash_server.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cowcat.h"
#include "crash_exec.h"
#include "crash_gen.h"
#include "crash_model.h"
#include "powercut_io.h"
#include "testutil.h"

/* A transaction whose answer was lost to the cut. */
typedef struct pc_pending {
    bool active;
    bool maybe; /* its commit was attempted and the model says it succeeds */
    cg_txn txn;
} pc_pending;

struct pc_run;

typedef struct pc_actor {
    cg_actor gen;
    pthread_t thread;
    struct pc_run *run;
    int budget; /* shared actor: transactions in its phase */
    pc_pending pend;
    long acked_txns, acked_stmts, acked_errors, acked_after_cut;
    char failure[4096];
} pc_actor;

typedef struct pc_run {
    uint64_t seed;
    int iteration;
    int nclients, nactors;
    cowcat *db;
    pc_io *io;
    pthread_mutex_t mu; /* guards model, phase_b, stop */
    pthread_cond_t cv;
    cm_model model;
    bool phase_b, stop;
    pc_actor actors[CM_MAX_ACTORS];
    long inflight_either, inflight_committed, inflight_absent_only;
} pc_run;

static void
on_complete(void *arg, const char *tag)
{
    xres *x = arg;
    x->nok++;
    snprintf(x->tag, sizeof x->tag, "%s", tag);
}

/* An actor's connection: its session, and the run whose hook says whether the power is off. */
typedef struct pc_conn {
    pc_run *r;
    cowcat_session *s;
} pc_conn;

/* Runs sql through cowcat_exec (a crash_run_fn); an I/O error once the power is off is XR_LOST. */
static void
run_sql(void *conn, const char *sql, xres *x)
{
    static const cowcat_callbacks cb = {.complete = on_complete};
    pc_conn *pc = conn;
    pc_run *r = pc->r;
    cowcat_error e;
    memset(x, 0, sizeof *x);
    cowcat_code rc = cowcat_exec(pc->s, sql, &cb, x, &e);
    if (rc == COWCAT_OK) {
        x->kind = XR_OK;
        return;
    }
    snprintf(x->state, sizeof x->state, "%s", e.sqlstate);
    snprintf(x->msg, sizeof x->msg, "%s", e.message);
    x->kind = rc == COWCAT_IO && pc_io_is_cut(r->io) ? XR_LOST : XR_ERR;
}

static void actor_fail(pc_actor *a, const cg_txn *t, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
actor_fail(pc_actor *a, const cg_txn *t, const char *fmt, ...)
{
    char what[1024], desc[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    crash_gen_describe(t, desc, sizeof desc);
    snprintf(a->failure, sizeof a->failure, "%s\n    in transaction: %s", what, desc);
}

static void *
actor_main(void *arg)
{
    pc_actor *a = arg;
    pc_run *r = a->run;
    cowcat_session_options so = {.user = a->gen.role == CG_SYSTEM ? "cowcat_system" : NULL};
    cowcat_session *s = NULL;
    cowcat_error e;
    if (cowcat_session_open(r->db, &so, &s, &e) != COWCAT_OK) {
        snprintf(a->failure, sizeof a->failure, "cannot open a session: %s", e.message);
        s = NULL;
    }
    if (a->gen.role == CG_CLIENT) {
        pthread_mutex_lock(&r->mu);
        while (!r->phase_b && !r->stop)
            pthread_cond_wait(&r->cv, &r->mu);
        pthread_mutex_unlock(&r->mu);
    }
    cm_model scratch = {0};
    cg_txn *t = &a->pend.txn;
    int done = 0;
    while (s != NULL) {
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
        pc_conn conn = {a->run, s};
        int rc = crash_exec_txn(run_sql, &conn, t, &a->pend.maybe, a->failure,
                                sizeof a->failure);
        if (rc == XR_LOST)
            break; /* pend stays: decided by the image */
        a->pend.active = false;
        if (rc < 0)
            break;
        done++;
        if (rc == XR_ERR) {
            a->acked_errors++;
            continue;
        }
        char why[256] = "";
        pthread_mutex_lock(&r->mu);
        for (int i = 0; i < t->nops && why[0] == '\0'; i++)
            if (crash_model_apply(&r->model, &t->ops[i], why, sizeof why) != NULL)
                actor_fail(a, t, "test bug: the model refuses acknowledged `%s`: %s",
                           t->ops[i].sql, why);
        pthread_mutex_unlock(&r->mu);
        if (a->failure[0] != '\0')
            break;
        a->acked_txns++;
        a->acked_stmts += t->nops;
        a->acked_after_cut += pc_io_is_cut(r->io);
        if (a->gen.role == CG_SYSTEM)
            usleep((useconds_t)(500 + tu_rng_below(&a->gen.rng, 3000)));
    }
    if (a->gen.role == CG_SHARED) {
        pthread_mutex_lock(&r->mu);
        r->phase_b = true;
        pthread_cond_broadcast(&r->cv);
        pthread_mutex_unlock(&r->mu);
    }
    crash_model_free(&scratch);
    if (s != NULL)
        cowcat_session_close(s);
    return NULL;
}

/* --- reading the catalog back (the rows crash_verify.c reads over libpq) ----------------- */

/* Collects one row of a query (cm_rows_add_result). */
typedef struct fetch_ctx {
    cm_rows *out;
    const cm_query *q;
} fetch_ctx;

static int
fetch_row(void *arg, const char *const *v, size_t n)
{
    fetch_ctx *fc = arg;
    cm_rows_add_result(fc->out, fc->q, v, n);
    return 0;
}

static int
fetch(cowcat *db, cm_rows *out, char *err, size_t n)
{
    cowcat_session *s;
    cowcat_error e;
    if (cowcat_session_open(db, NULL, &s, &e) != COWCAT_OK) {
        snprintf(err, n, "session: %s", e.message);
        return -1;
    }
    int rc = 0;
    for (size_t q = 0; q < cm_nqueries && rc == 0; q++) {
        fetch_ctx fc = {out, &cm_queries[q]};
        cowcat_callbacks cb = {.row = fetch_row};
        if (cowcat_exec(s, cm_queries[q].sql, &cb, &fc, &e) != COWCAT_OK) {
            snprintf(err, n, "%s: %s %s", cm_queries[q].sql, e.sqlstate, e.message);
            rc = -1;
        }
    }
    cowcat_session_close(s);
    cm_rows_sort(out);
    return rc;
}

/*
 * Opens dir (no hook) and checks it: the open succeeds, cowcat_check passes,
 * and the catalog is the model with each in-flight transaction wholly present
 * or absent (the model becomes the match). 0, or -1 after a FAIL report.
 */
static int
verify(pc_run *r, const char *dir, long *rows_seen)
{
    cowcat_options o = {.data_dir = dir};
    cowcat *db;
    cowcat_error e;
    cowcat_code oc = cowcat_open(&o, &db, &e);
    if (oc != COWCAT_OK) {
        printf("FAIL: powercut seed %llu iteration %d: the image %s does not open: %s (%s) %s\n",
               (unsigned long long)r->seed, r->iteration, dir, cowcat_code_name(oc), e.sqlstate,
               e.message);
        return -1;
    }
    int rc = -1;
    cm_rows seen = {0}, want = {0};
    cm_model cand = {0};
    char err[1024] = "";
    if (cowcat_check(db, &e) != COWCAT_OK) {
        printf("FAIL: powercut seed %llu iteration %d: cowcat_check of the image %s: %s\n",
               (unsigned long long)r->seed, r->iteration, dir, e.message);
        goto done;
    }
    if (fetch(db, &seen, err, sizeof err) != 0) {
        printf("FAIL: powercut seed %llu iteration %d: reading the image %s back: %s\n",
               (unsigned long long)r->seed, r->iteration, dir, err);
        goto done;
    }
    *rows_seen = (long)seen.n;
    const cg_txn *etx[CM_MAX_ACTORS]; /* the in-flight transactions that may have committed */
    int ne = 0;
    for (int a = 0; a < r->nactors; a++) {
        const pc_pending *p = &r->actors[a].pend;
        if (!p->active)
            continue;
        if (p->maybe)
            etx[ne++] = &p->txn;
        else
            r->inflight_absent_only++;
    }
    unsigned best = 0;
    size_t best_diff = (size_t)-1;
    for (unsigned mask = 0; mask < (1u << ne) && rc != 0; mask++) {
        crash_model_copy(&cand, &r->model);
        if (!crash_gen_apply(&cand, etx, ne, mask))
            continue;
        cm_rows_free(&want);
        crash_model_render(&cand, &want);
        cm_rows_sort(&want);
        size_t d = cm_rows_diff_count(&want, &seen);
        if (d < best_diff)
            best_diff = d, best = mask;
        if (d == 0)
            rc = 0;
    }
    if (rc == 0) {
        crash_model_copy(&r->model, &cand);
        crash_model_compact(&r->model);
        for (int i = 0; i < ne; i++) {
            r->inflight_either++;
            r->inflight_committed += (best >> i) & 1u;
        }
        for (int a = 0; a < r->nactors; a++)
            r->actors[a].pend.active = false;
        goto done;
    }
    printf("FAIL: powercut seed %llu iteration %d: the image %s is not the replay of the "
           "acknowledged history (in-flight transactions all or nothing)\n",
           (unsigned long long)r->seed, r->iteration, dir);
    for (int a = 0; a < r->nactors; a++) {
        const pc_pending *p = &r->actors[a].pend;
        char desc[4096];
        if (!p->active)
            continue;
        crash_gen_describe(&p->txn, desc, sizeof desc);
        printf("    in flight, actor %d: %s: %s\n", a,
               p->maybe ? "may have committed" : "must be absent", desc);
    }
    crash_model_copy(&cand, &r->model);
    crash_gen_apply(&cand, etx, ne, best);
    cm_rows_free(&want);
    crash_model_render(&cand, &want);
    cm_rows_sort(&want);
    const char *miss[40], *extra[40];
    size_t nm = cm_rows_minus(&want, &seen, miss, 40), nx = cm_rows_minus(&seen, &want, extra, 40);
    printf("    closest outcome (mask %#x): %zu rows differ\n", best, best_diff);
    for (size_t k = 0; k < nm && k < 40; k++)
        printf("    - %s%s\n", miss[k],
               strncmp(miss[k], "obj|", 4) == 0 ? "   LOST ACKNOWLEDGED OBJECT" : "");
    for (size_t k = 0; k < nx && k < 40; k++)
        printf("    + %s\n", extra[k]);
done:
    cm_rows_free(&seen);
    cm_rows_free(&want);
    crash_model_free(&cand);
    cowcat_close(db);
    return rc;
}

/*
 * A second power cut, during the recovery of the image dir: opens it through
 * a new hook armed to cut within its first calls (the torn tail's truncation,
 * the removal of leftovers, the fence bump), and writes that power loss's
 * image into out. 0, or -1 after a FAIL report (the image did not open).
 */
static int
recover_under_cut(pc_run *r, tu_rng *rng, const char *dir, const char *out, uint64_t *cut_call)
{
    pc_io *q = pc_io_new(dir);
    if (q == NULL)
        return -1;
    pc_io_arm(q, PERSIST_IO_OP_COUNT, 1 + tu_rng_below(rng, 60), 0, 0);
    cowcat_options o = {.data_dir = dir, .durability = COWCAT_DURABILITY_FSYNC,
                        .io = pc_io_hook(q)};
    cowcat *db;
    cowcat_error e;
    int rc = 0;
    cowcat_code oc = cowcat_open(&o, &db, &e);
    if (oc != COWCAT_OK && !pc_io_is_cut(q)) {
        printf("FAIL: powercut seed %llu iteration %d: the image %s does not open: %s (%s) %s\n",
               (unsigned long long)r->seed, r->iteration, dir, cowcat_code_name(oc), e.sqlstate,
               e.message);
        rc = -1;
    }
    pc_io_cut(q);
    if (oc == COWCAT_OK)
        cowcat_close(db); /* its writes fail: the power is off */
    pc_image_stats st;
    char why[512];
    if (rc == 0 && pc_io_image(q, rng, out, &st, why, sizeof why) != 0) {
        printf("FAIL: powercut seed %llu iteration %d: %s\n", (unsigned long long)r->seed,
               r->iteration, why);
        rc = -1;
    }
    *cut_call = pc_io_cut_call(q);
    pc_io_free(q);
    return rc;
}

/* --- the iterations ---------------------------------------------------------------------- */

static void
rmdir_all(const char *dir)
{
    char cmd[PATH_MAX + 32];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "powercut: could not remove %s\n", dir);
}

static const char *
op_name(persist_io_op op)
{
    static const char *const names[] = {"open",      "close", "pwrite", "pread",
                                        "fdatasync", "fsync", "ftruncate", "fstat",
                                        "rename",    "unlink", "mkdir", "flock", "call"};
    return names[op];
}

/*
 * Arms p's cut; describes it in what. The cut falls on a random call, or just
 * at or after a call of one kind (a write or sync of a frame, a rollup's
 * rename, an unlink of an old file, a directory fsync, a file creation), the
 * rarer kinds early so that the unsynced directory operations around a rollup
 * are often what the cut leaves; never later than call CUT_LATEST.
 */
#define CUT_LATEST 2500

static void
arm_cut(pc_io *p, tu_rng *rng, char *what, size_t n)
{
    unsigned pick = (unsigned)tu_rng_below(rng, 100);
    persist_io_op op = PERSIST_IO_OP_COUNT;
    uint64_t nth, after = 0;
    if (pick < 8) {
        nth = 1 + tu_rng_below(rng, 40); /* within the open's recovery */
    } else if (pick < 40) {
        nth = 1 + tu_rng_below(rng, 800);
    } else if (pick < 65) {
        op = tu_rng_below(rng, 2) ? PERSIST_IO_PWRITE : PERSIST_IO_FDATASYNC;
        nth = 1 + tu_rng_below(rng, 200);
        after = tu_rng_below(rng, 3);
    } else {
        static const persist_io_op rare[] = {PERSIST_IO_FSYNC, PERSIST_IO_RENAME,
                                             PERSIST_IO_UNLINK, PERSIST_IO_OPEN};
        op = rare[tu_rng_below(rng, sizeof rare / sizeof rare[0])];
        nth = 1 + tu_rng_below(rng, op == PERSIST_IO_OPEN ? 6 : 2);
        after = tu_rng_below(rng, 3);
    }
    pc_io_arm(p, op, nth, after, CUT_LATEST);
    snprintf(what, n, "%s #%" PRIu64 "%s", op_name(op), nth,
             after == 0 ? "" : after == 1 ? " + 1" : " + 2");
}

static void
usage(void)
{
    fprintf(stderr, "usage: powercut [--iterations N | --long] [--seed S] [--clients N] "
                    "[--dir DIR]\n");
    exit(2);
}

int
main(int argc, char **argv)
{
    static pc_run run;
    pc_run *r = &run;
    int iterations = 200, seed_given = 0;
    char base[PATH_MAX - 64] = "";
    r->nclients = 4;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--iterations") == 0 && i + 1 < argc)
            iterations = atoi(argv[++i]);
        else if (strcmp(argv[i], "--long") == 0)
            iterations = 3000;
        else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
            r->seed = strtoull(argv[++i], NULL, 0), seed_given = 1;
        else if (strcmp(argv[i], "--clients") == 0 && i + 1 < argc)
            r->nclients = atoi(argv[++i]);
        else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            snprintf(base, sizeof base, "%s", argv[++i]);
        else
            usage();
    }
    if (iterations < 1 || r->nclients < 1 || r->nclients > CM_MAX_ACTORS - 2)
        usage();
    if (!seed_given)
        r->seed = tu_seed("powercut");
    if (base[0] == '\0') {
        const char *tmp = getenv("TMPDIR");
        snprintf(base, sizeof base, "%s/powercut-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (mkdtemp(base) == NULL) {
            perror("mkdtemp");
            return 1;
        }
    } else if (mkdir(base, 0700) != 0 && errno != EEXIST) {
        perror(base);
        return 1;
    }
    printf("powercut: seed %llu, %d iterations, %d clients, in %s\n", (unsigned long long)r->seed,
           iterations, r->nclients, base);
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    crash_model_init(&r->model);
    r->nactors = r->nclients + 2;
    for (int a = 0; a < r->nactors; a++) {
        r->actors[a].run = r;
        crash_gen_actor_init(&r->actors[a].gen, a, r->nclients);
    }
    double t0 = tu_now_s();
    long failures = 0, acked_txns = 0, acked_stmts = 0, acked_errors = 0, after_cut = 0;
    long cuts_in_open = 0, recovery_cuts = 0, rows_max = 0, serial = 0;
    pc_image_stats tot = {0};
    char live[PATH_MAX], img[PATH_MAX];
    snprintf(live, sizeof live, "%s/d%ld", base, serial++);
    for (int it = 0; it < iterations; it++) {
        r->iteration = it;
        tu_rng rng;
        tu_rng_init(&rng, tu_mix(r->seed, (uint64_t)it, 1000));
        r->io = pc_io_new(live);
        if (r->io == NULL)
            return 1;
        char what[64];
        arm_cut(r->io, &rng, what, sizeof what);
        uint64_t rollup_bytes = (uint64_t)(32u << 10) << tu_rng_below(&rng, 3);
        /* half the time segments of 8-32 KiB: full segments rotate between rollups */
        uint64_t segment_bytes = tu_rng_chance(&rng, 50) ? (uint64_t)(8u << 10)
                                                               << tu_rng_below(&rng, 3)
                                                         : 0;
        cowcat_options o = {.data_dir = live,
                            .durability = COWCAT_DURABILITY_FSYNC,
                            .io = pc_io_hook(r->io),
                            .rollup_bytes = rollup_bytes,
                            .segment_bytes = segment_bytes};
        cowcat_error e;
        cowcat_code oc = cowcat_open(&o, &r->db, &e);
        long it_txns = 0, it_stmts = 0;
        bool failed = false;
        if (oc != COWCAT_OK && !pc_io_is_cut(r->io)) {
            printf("FAIL: powercut seed %llu iteration %d: open before the cut failed: %s %s\n",
                   (unsigned long long)r->seed, it, cowcat_code_name(oc), e.message);
            failed = true;
        } else if (oc != COWCAT_OK) {
            cuts_in_open++;
            r->db = NULL;
        } else {
            r->phase_b = false;
            r->stop = false;
            for (int a = 0; a < r->nactors; a++) {
                pc_actor *ac = &r->actors[a];
                tu_rng_init(&ac->gen.rng, tu_mix(r->seed, (uint64_t)it, (uint64_t)a));
                ac->budget = (int)tu_rng_below(&rng, 5);
                ac->failure[0] = '\0';
                ac->acked_txns = ac->acked_stmts = ac->acked_errors = ac->acked_after_cut = 0;
                if (pthread_create(&ac->thread, NULL, actor_main, ac) != 0) {
                    perror("pthread_create");
                    return 1;
                }
            }
            if (!pc_io_wait_cut(r->io, 3000))
                pc_io_cut(r->io); /* the armed call never came */
            pthread_mutex_lock(&r->mu);
            r->stop = true;
            pthread_cond_broadcast(&r->cv);
            pthread_mutex_unlock(&r->mu);
            for (int a = 0; a < r->nactors; a++) {
                pc_actor *ac = &r->actors[a];
                pthread_join(ac->thread, NULL);
                it_txns += ac->acked_txns;
                it_stmts += ac->acked_stmts;
                acked_errors += ac->acked_errors;
                after_cut += ac->acked_after_cut;
                if (ac->failure[0] != '\0') {
                    printf("FAIL: powercut seed %llu iteration %d: actor %d: %s\n",
                           (unsigned long long)r->seed, it, a, ac->failure);
                    failed = true;
                }
            }
            cowcat_close(r->db); /* its writes fail: the power is off */
            r->db = NULL;
        }
        int inflight = 0;
        for (int a = 0; a < r->nactors; a++)
            inflight += r->actors[a].pend.active;
        pc_image_stats st = {0};
        char why[512];
        snprintf(img, sizeof img, "%s/d%ld", base, serial++);
        if (!failed && pc_io_image(r->io, &rng, img, &st, why, sizeof why) != 0) {
            printf("FAIL: powercut seed %llu iteration %d: %s\n", (unsigned long long)r->seed, it,
                   why);
            failed = true;
        }
        uint64_t calls = pc_io_cut_call(r->io), rcalls = 0;
        pc_io_free(r->io);
        r->io = NULL;
        char recovery[64] = "";
        if (!failed && tu_rng_below(&rng, 3) == 0) {
            char img2[PATH_MAX];
            snprintf(img2, sizeof img2, "%s/d%ld", base, serial++);
            if (recover_under_cut(r, &rng, img, img2, &rcalls) != 0) {
                failed = true;
            } else {
                rmdir_all(img);
                snprintf(img, sizeof img, "%s", img2);
                snprintf(recovery, sizeof recovery, "; cut again at call %" PRIu64
                         " of its recovery", rcalls);
                recovery_cuts++;
            }
        }
        long rows = 0;
        if (!failed && verify(r, img, &rows) != 0)
            failed = true;
        if (rows > rows_max)
            rows_max = rows;
        acked_txns += it_txns;
        acked_stmts += it_stmts;
        tot.files += st.files;
        tot.unsynced_bytes += st.unsynced_bytes;
        tot.dropped_bytes += st.dropped_bytes;
        tot.torn_bytes += st.torn_bytes;
        tot.dirops += st.dirops;
        tot.reverted += st.reverted;
        printf("iteration %d: cut at %s (call %" PRIu64 ")%s, rollup %" PRIu64 " KiB, segment %"
               PRIu64 " KiB: %ld "
               "transactions (%ld statements) acknowledged, %d in flight; image: %" PRIu64
               " files, %" PRIu64 " of %" PRIu64 " unsynced bytes dropped, %" PRIu64
               " torn, %" PRIu64 " of %" PRIu64 " directory operations reverted%s; %ld rows %s\n",
               it, what, calls, oc != COWCAT_OK ? " during the open" : "", rollup_bytes >> 10,
               segment_bytes ? segment_bytes >> 10 : 65536, it_txns, it_stmts, inflight, st.files, st.dropped_bytes, st.unsynced_bytes,
               st.torn_bytes, st.reverted, st.dirops, recovery, rows,
               failed ? "FAILED" : "verified");
        fflush(stdout);
        if (failed) {
            failures++;
            printf("    (keeping %s and %s; continuing in a fresh data directory)\n", live, img);
            crash_model_free(&r->model);
            crash_model_init(&r->model);
            for (int a = 0; a < r->nactors; a++)
                r->actors[a].pend.active = false;
            snprintf(live, sizeof live, "%s/d%ld", base, serial++);
            continue;
        }
        rmdir_all(live);
        snprintf(live, sizeof live, "%s", img);
    }
    double secs = tu_now_s() - t0;
    printf("powercut: seed %llu: %d iterations in %.1f s (%ld cuts during the open, %ld more "
           "during the recovery of an image); "
           "%ld transactions (%ld statements) acknowledged and verified after power cuts (%ld "
           "answered after the cut), %ld failing transactions answered with their error; in "
           "flight at the cut: %ld that may have committed (%ld had), %ld that must not have; "
           "images: %" PRIu64 " files, %" PRIu64 " of %" PRIu64 " unsynced bytes dropped, %" PRIu64
           " bytes torn, %" PRIu64 " of %" PRIu64 " directory operations reverted; up to %ld "
           "catalog rows compared\n",
           (unsigned long long)r->seed, iterations, secs, cuts_in_open, recovery_cuts, acked_txns,
           acked_stmts,
           after_cut, acked_errors, r->inflight_either, r->inflight_committed,
           r->inflight_absent_only, tot.files, tot.dropped_bytes, tot.unsynced_bytes,
           tot.torn_bytes, tot.reverted, tot.dirops, rows_max);
    crash_model_free(&r->model);
    if (failures > 0) {
        printf("powercut: FAILED: %ld failures (seed %llu; replay with COWCAT_TEST_SEED=%llu); "
               "directories kept in %s\n",
               failures, (unsigned long long)r->seed, (unsigned long long)r->seed, base);
        return 1;
    }
    rmdir_all(base);
    printf("powercut: ok\n");
    return 0;
}
