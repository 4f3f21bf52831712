/*
 * bench/ddl_bench/main.c — ddl_bench's options and driver.
 *
 * For each scale, in ascending order:
 *   1. build: every instance grows its catalog to exactly `scale` tables
 *      bt_<k> (a int, b text) in transactions of --batch statements (one
 *      multi-statement string each), with a progress bar; the table count
 *      is then read back (information_schema / pg_class / sqlite_schema)
 *      and must equal the scale; peers checkpoint (settle);
 *   2. the fdatasync floor of the work directory's disk is measured;
 *   3. --samples rounds: in each round every instance, in an order rotated
 *      by the round number, runs seven statements, each timed on its own:
 *          CREATE TABLE ddlb_t<k> (a int, b text)
 *          CREATE VIEW ddlb_v<k> AS SELECT a, b FROM bt_<random>
 *          CREATE INDEX ddlb_i<k> ON bt_<random> (a)
 *          ALTER TABLE ddlb_t<k> RENAME TO ddlb_r<k>
 *          DROP VIEW ddlb_v<k>
 *          DROP INDEX ddlb_i<k>
 *          DROP TABLE ddlb_r<k>
 *      so the scale is the same after every round (at scale 0 the view and
 *      index go on ddlb_t<k>); the random tables are the same for every
 *      instance in a round. --warmup rounds run first, unrecorded;
 *   4. --clients N: N threads per instance, each with its own session,
 *      creating and dropping tables for --duration seconds (SQLite
 *      statements still running a grace time later are interrupted);
 *   5. the scale's JSON lines are written.
 * Ablated embedded instances are built without their ablation and reopened
 * with it before measuring (reopening is O(n), once per scale).
 * The markdown report goes to stdout at the end, the SVG to --plot.
 * A target that cannot run on this machine (no PostgreSQL binaries, no psql)
 * is skipped with a message on stderr, in the markdown and in the JSON.
 * Exit status: 0; 1 if any statement failed or the run could not go on
 * (the work directory is then kept); 2 for bad usage.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ddl_bench.h"

#ifndef DDLB_COWCATD_PATH
#define DDLB_COWCATD_PATH "cowcatd"
#endif

const char *const ddlb_ddl_key[DDLB_NDDL] = {
    "create_table", "create_view", "create_index", "rename_table",
    "drop_view",    "drop_table",  "drop_index",
};
const char *const ddlb_ddl_title[DDLB_NDDL] = {
    "CREATE TABLE", "CREATE VIEW", "CREATE INDEX", "ALTER TABLE RENAME",
    "DROP VIEW",    "DROP TABLE",  "DROP INDEX",
};

static const ddlb_target *const all_targets[] = {
    &ddlb_target_embedded, &ddlb_target_pgwire, &ddlb_target_psql, &ddlb_target_postgres,
#ifdef DDLB_HAVE_SQLITE
    &ddlb_target_sqlite,
#endif
};
#define NTARGETS (int)(sizeof all_targets / sizeof *all_targets)

static const char usage_text[] =
    "usage: ddl_bench [options]\n"
    "\n"
    "Builds a catalog of N two-column tables at each scale on each target, then times\n"
    "single DDL statements there (CREATE TABLE, CREATE VIEW over a random table, CREATE\n"
    "INDEX, ALTER TABLE RENAME, DROP VIEW, DROP TABLE, DROP INDEX), interleaving the\n"
    "targets round by round. Markdown on stdout, progress on stderr (when a terminal).\n"
    "\n"
    "  --scales LIST        catalog sizes in tables, ascending (default 0,1000,10000,100000)\n"
    "  --samples N          timed rounds per scale; each round times each DDL once (default 50)\n"
    "  --warmup N           unrecorded rounds per scale before the samples (default 1)\n"
    "  --target LIST        embedded, pgwire, psql, postgres, sqlite (default embedded)\n"
    "  --durability LIST    fsync, none or fsync,none (default fsync): cowcat's durability;\n"
    "                       PostgreSQL fsync+synchronous_commit(+full_page_writes) on/off;\n"
    "                       SQLite synchronous FULL/OFF (WAL journal either way)\n"
    "  --ablate LIST        cowcat ablations to measure next to the default, each item\n"
    "                       separately (clone, snapshot, trace, alloc, limits, check,\n"
    "                       advance; join with '+' to combine: clone+check): embedded,\n"
    "                       and pgwire/psql through cowcatd --ablate (restarted per mask)\n"
    "  --clients LIST       after each scale's samples, N concurrent sessions per instance\n"
    "                       doing CREATE/DROP TABLE for --duration s: DDL/s, p50/p95\n"
    "  --duration S         seconds per --clients measurement (default 5)\n"
    "  --batch N            CREATE TABLEs per build transaction (default 1000)\n"
    "  --dir DIR            where the scratch work directory goes (default $TMPDIR or /tmp);\n"
    "                       the fdatasync floor is measured there\n"
    "  --reuse DIR          use DIR as the work directory and keep it: catalogs already\n"
    "                       built there (counted, must not exceed the first scale) grow\n"
    "                       from where they are instead of starting from empty\n"
    "  --keep               keep the scratch work directory\n"
    "  --url [TARGET=]URL   use a running server: pgwire=/psql= a cowcatd, postgres= a\n"
    "                       PostgreSQL (a bare URL means pgwire and psql); durability\n"
    "                       and ablations are then the server's own\n"
    "  --pg-bin DIR         PostgreSQL binaries (default /usr/lib/postgresql/15/bin)\n"
    "  --json FILE          JSON lines: a config line, per scale the fdatasync floor, one\n"
    "                       line per (target, durability, ablate, ddl, objects) with every\n"
    "                       sample, and one per --clients measurement\n"
    "  --plot FILE.svg      p50 latency against objects (log-log), a panel per DDL type,\n"
    "                       a line per target/durability/ablation\n"
    "  --floor-samples N    fdatasync floor samples per scale (default 100)\n"
    "  --seed N             seed for the random tables of views and indexes (default 1)\n"
    "  --quiet              no progress bar\n"
    "  --list-targets       print the targets and whether each can run here, and exit\n"
    "  --report FILE[,FILE] measure nothing: rebuild the markdown (and --plot) from JSON\n"
    "                       lines earlier runs wrote; several files merge (the later\n"
    "                       file wins for the same instance and scale)\n"
    "  --help               this text\n";

static int
bad_usage(const char *fmt, const char *arg)
{
    fprintf(stderr, "ddl_bench: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry \"ddl_bench --help\".\n");
    return 2;
}

/* Splits a comma list into items (in place); returns how many, or -1 if more than max. */
static int
split(char *list, char **items, int max)
{
    int n = 0;
    for (char *tok = strtok(list, ","); tok != NULL; tok = strtok(NULL, ",")) {
        if (n == max)
            return -1;
        items[n++] = tok;
    }
    return n;
}

static bool
parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

static const ddlb_target *
target_named(const char *name)
{
    for (int i = 0; i < NTARGETS; i++)
        if (strcmp(all_targets[i]->name, name) == 0)
            return all_targets[i];
    return NULL;
}

/* Does cowcatd take --ablate? (Its --help lists every flag.) */
static bool
cowcatd_has_ablate(const char *cowcatd)
{
    char cmd[PATH_MAX + 64];
    snprintf(cmd, sizeof cmd, "'%s' --help 2>/dev/null", cowcatd);
    FILE *p = popen(cmd, "r");
    bool found = false;
    char line[512];
    while (p != NULL && fgets(line, sizeof line, p) != NULL)
        found = found || strstr(line, "--ablate") != NULL;
    if (p != NULL)
        pclose(p);
    return found;
}

/* --- the driver ------------------------------------------------------------------------ */

typedef struct run {
    ddlb_config *cfg;
    ddlb_inst *in[DDLB_MAX_INSTANCES];
    int n;
    long failures;   /* failed statements, all instances */
    int printed;     /* error messages printed so far */
} run;

static void
report_failure(run *r, const ddlb_inst *in, long objects, const char *sql, const ddlb_err *e)
{
    r->failures++;
    if (r->printed++ < 20) {
        ddlb_progress_end(r->cfg);
        fprintf(stderr, "ddl_bench: %s at %ld objects: %s: %s\n", in->label, objects, sql, e->msg);
    } else if (r->printed == 21) {
        fprintf(stderr, "ddl_bench: (further statement errors not printed)\n");
    }
}

static int
reconnect(ddlb_inst *in, uint32_t mask, ddlb_err *e)
{
    if (in->armed == mask)
        return DDLB_OK;
    in->target->disconnect(in->conn);
    in->conn = NULL;
    if (in->target->set_ablate(in, mask, e) != DDLB_OK)
        return DDLB_FAIL;
    return in->target->connect(in, &in->conn, e);
}

/*
 * Grows in's catalog to scale index si's tables and checks the count. The
 * build transactions are timed (build_from/build_s), the count and settle
 * are not.
 */
static int
build(run *r, ddlb_inst *in, int si, ddlb_err *e)
{
    const ddlb_config *cfg = r->cfg;
    long scale = cfg->scales[si];
    in->build_from[si] = in->objects;
    in->build_s[si] = 0;
    if (in->objects > scale) {
        ddlb_err_set(e, "%s holds %ld tables, more than the scale %ld", in->label, in->objects,
                     scale);
        return DDLB_FAIL;
    }
    if (in->objects < scale) {
        if (in->target->ablatable && reconnect(in, 0, e) != DDLB_OK)
            return DDLB_FAIL;
        size_t cap = (size_t)cfg->batch * 48 + 64;
        char *sql = malloc(cap);
        if (sql == NULL) {
            ddlb_err_set(e, "out of memory");
            return DDLB_FAIL;
        }
        char what[200];
        snprintf(what, sizeof what, "build %s", in->label);
        long from = in->objects;
        double t0 = ddlb_now_us(), drawn = 0;
        while (in->objects < scale) {
            size_t len = 0;
            long k = in->objects;
            for (int b = 0; b < cfg->batch && k < scale; b++, k++)
                len += (size_t)snprintf(sql + len, cap - len, "CREATE TABLE bt_%ld (a int, b text);",
                                        k);
            if (in->target->exec_batch(in->conn, sql, e) != DDLB_OK) {
                free(sql);
                ddlb_progress_end(cfg);
                return DDLB_FAIL;
            }
            in->objects = k;
            ddlb_progress(cfg, what, (double)(in->objects - from), (double)(scale - from),
                          "tables", t0, &drawn);
        }
        in->build_s[si] = (ddlb_now_us() - t0) / 1e6;
        ddlb_progress_end(cfg);
        free(sql);
    }
    long count;
    if (in->target->count_tables(in->conn, &count, e) != DDLB_OK)
        return DDLB_FAIL;
    if (count != scale) {
        ddlb_err_set(e, "%s: %ld tables in schema public after the build, expected %ld (leftovers "
                        "of an interrupted run? use a fresh --reuse directory)",
                     in->label, count, scale);
        return DDLB_FAIL;
    }
    if (in->target->settle != NULL && in->target->settle(in->conn, e) != DDLB_OK)
        return DDLB_FAIL;
    return in->target->ablatable ? reconnect(in, in->mask, e) : DDLB_OK;
}

/* A 64-bit mix (splitmix64's finalizer). */
static uint64_t
mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* Execution order of a round: creates, the rename, then drops (index before its table). */
static const ddlb_ddl round_order[DDLB_NDDL] = {
    DDLB_CREATE_TABLE, DDLB_CREATE_VIEW, DDLB_CREATE_INDEX, DDLB_RENAME_TABLE,
    DDLB_DROP_VIEW,    DDLB_DROP_INDEX,  DDLB_DROP_TABLE,
};

/* One round on in at scale index si; recorded unless warmup. */
static void
round_run(run *r, ddlb_inst *in, int si, int round, bool warmup)
{
    const ddlb_config *cfg = r->cfg;
    long scale = cfg->scales[si];
    unsigned long long k = (unsigned long long)in->seq++;
    char t[64], vbase[64], ibase[64];
    snprintf(t, sizeof t, "ddlb_t%llu", k);
    if (scale > 0) {
        uint64_t h = mix(cfg->seed ^ mix(((uint64_t)si << 32) ^ (uint64_t)(round + 1000)));
        snprintf(vbase, sizeof vbase, "bt_%ld", (long)(h % (uint64_t)scale));
        snprintf(ibase, sizeof ibase, "bt_%ld", (long)(mix(h) % (uint64_t)scale));
    } else {
        snprintf(vbase, sizeof vbase, "%s", t);
        snprintf(ibase, sizeof ibase, "%s", t);
    }
    char sql[DDLB_NDDL][192];
    snprintf(sql[DDLB_CREATE_TABLE], 192, "CREATE TABLE %s (a int, b text)", t);
    snprintf(sql[DDLB_CREATE_VIEW], 192, "CREATE VIEW ddlb_v%llu AS SELECT a, b FROM %s", k, vbase);
    snprintf(sql[DDLB_CREATE_INDEX], 192, "CREATE INDEX ddlb_i%llu ON %s (a)", k, ibase);
    snprintf(sql[DDLB_RENAME_TABLE], 192, "ALTER TABLE %s RENAME TO ddlb_r%llu", t, k);
    snprintf(sql[DDLB_DROP_VIEW], 192, "DROP VIEW ddlb_v%llu", k);
    snprintf(sql[DDLB_DROP_INDEX], 192, "DROP INDEX ddlb_i%llu", k);
    snprintf(sql[DDLB_DROP_TABLE], 192, "DROP TABLE ddlb_r%llu", k);
    for (int i = 0; i < DDLB_NDDL; i++) {
        ddlb_ddl d = round_order[i];
        ddlb_cell *cell = &in->cells[si][d];
        ddlb_counters before, after;
        bool counted = in->target->counters != NULL && in->target->counters(in, &before);
        ddlb_err e;
        double t0 = ddlb_now_us();
        int rc = in->target->exec(in->conn, sql[d], &e);
        double us = ddlb_now_us() - t0;
        if (rc != DDLB_OK) {
            report_failure(r, in, scale, sql[d], &e);
            if (!warmup)
                cell->errors++;
            continue;
        }
        if (warmup)
            continue;
        cell->us[cell->n++] = us;
        if (counted && in->target->counters(in, &after)) {
            cell->has_counters = true;
            cell->committed += after.ddl - before.ddl;
            for (int a = 0; a < COWCAT_NABLATIONS; a++)
                cell->ablated[a] += after.ablated[a] - before.ablated[a];
        }
    }
}

static void
sample_scale(run *r, int si)
{
    const ddlb_config *cfg = r->cfg;
    char what[96];
    snprintf(what, sizeof what, "sample %ld objects", cfg->scales[si]);
    int total = cfg->warmup + cfg->samples;
    double t0 = ddlb_now_us(), drawn = 0;
    for (int round = 0; round < total; round++) {
        for (int j = 0; j < r->n; j++) {
            ddlb_inst *in = r->in[(j + round) % r->n];
            if (!in->skipped)
                round_run(r, in, si, round, round < cfg->warmup);
        }
        ddlb_progress(cfg, what, round + 1, total, "rounds", t0, &drawn);
    }
    ddlb_progress_end(cfg);
    for (int i = 0; i < r->n; i++)
        for (int d = 0; d < DDLB_NDDL; d++)
            ddlb_cell_finish(&r->in[i]->cells[si][d]);
}

/* --- --clients ------------------------------------------------------------------------- */

/*
 * One client thread. conn is guarded by lock: the thread closes it under
 * the lock, the main thread interrupts it under the lock (never a closed
 * one). finished pairs with the main thread's wait for stragglers.
 */
typedef struct client {
    ddlb_inst *in;
    int id, si;
    pthread_barrier_t *bar;
    const double *deadline;  /* set by the main thread between the two barrier waits */
    const atomic_bool *cut;  /* the main thread interrupted statements past the grace time */
    pthread_mutex_t lock;
    ddlb_conn *conn;
    atomic_bool finished;
    double *lat;
    size_t n, cap;
    long errors, interrupted;
    double end;
    long *left;       /* k of tables this client may have left behind (a failed DROP, */
    size_t nleft, capleft; /* or a CREATE cut off mid-way): dropped after the run */
    ddlb_err err;
} client;

static void
remember_left(client *c, long k)
{
    if (c->nleft == c->capleft) {
        size_t cap = c->capleft ? 2 * c->capleft : 16;
        long *left = realloc(c->left, cap * sizeof *left);
        if (left == NULL) {
            c->errors++; /* the count check after the next build will say what is left */
            return;
        }
        c->left = left, c->capleft = cap;
    }
    c->left[c->nleft++] = k;
}

static bool
client_exec(client *c, ddlb_conn *conn, const char *sql)
{
    double t0 = ddlb_now_us();
    int rc = c->in->target->exec(conn, sql, &c->err);
    double us = ddlb_now_us() - t0;
    if (rc != DDLB_OK) {
        if (atomic_load(c->cut))
            c->interrupted++;
        else
            c->errors++;
        return false;
    }
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 4096;
        double *lat = realloc(c->lat, cap * sizeof *lat);
        if (lat == NULL)
            return true; /* the statement ran; its latency is lost */
        c->lat = lat, c->cap = cap;
    }
    c->lat[c->n++] = us;
    return true;
}

static void *
client_main(void *arg)
{
    client *c = arg;
    ddlb_conn *conn = NULL;
    if (c->in->target->connect(c->in, &conn, &c->err) != DDLB_OK) {
        c->errors++;
        conn = NULL;
    }
    pthread_mutex_lock(&c->lock);
    c->conn = conn;
    pthread_mutex_unlock(&c->lock);
    pthread_barrier_wait(c->bar); /* everyone connected */
    pthread_barrier_wait(c->bar); /* the deadline is set */
    char sql[128];
    for (long k = 0; conn != NULL && ddlb_now_us() < *c->deadline; k++) {
        snprintf(sql, sizeof sql, "CREATE TABLE ddlb_c%d_%d_%ld (a int, b text)", c->si, c->id, k);
        if (!client_exec(c, conn, sql)) {
            if (atomic_load(c->cut))
                remember_left(c, k);
            continue;
        }
        snprintf(sql, sizeof sql, "DROP TABLE ddlb_c%d_%d_%ld", c->si, c->id, k);
        if (!client_exec(c, conn, sql))
            remember_left(c, k);
    }
    c->end = ddlb_now_us();
    pthread_mutex_lock(&c->lock);
    if (conn != NULL)
        c->in->target->disconnect(conn);
    c->conn = NULL;
    pthread_mutex_unlock(&c->lock);
    atomic_store(&c->finished, true);
    return NULL;
}

static void
clients_run(run *r, ddlb_inst *in, int si, int ci)
{
    const ddlb_config *cfg = r->cfg;
    int n = cfg->clients[ci];
    client *cs = calloc((size_t)n, sizeof *cs);
    pthread_t *th = calloc((size_t)n, sizeof *th);
    ddlb_clients_result *res = &in->clients[si][ci];
    res->clients = n;
    if (cs == NULL || th == NULL) {
        res->errors = n;
        free(cs), free(th);
        return;
    }
    pthread_barrier_t bar;
    pthread_barrier_init(&bar, NULL, (unsigned)n + 1);
    double deadline = 0;
    atomic_bool cut = false;
    int started = 0;
    for (int i = 0; i < n; i++) {
        cs[i] = (client){.in = in, .id = i, .si = si, .bar = &bar, .deadline = &deadline,
                         .cut = &cut};
        pthread_mutex_init(&cs[i].lock, NULL);
        atomic_init(&cs[i].finished, false);
        if (pthread_create(&th[i], NULL, client_main, &cs[i]) != 0)
            break;
        started++;
    }
    if (started < n) {
        fprintf(stderr, "ddl_bench: could not start %d client threads\n", n);
        exit(1); /* the barrier would wait forever */
    }
    pthread_barrier_wait(&bar);
    double t0 = ddlb_now_us();
    deadline = t0 + cfg->duration * 1e6;
    pthread_barrier_wait(&bar);
    char what[160];
    snprintf(what, sizeof what, "%s, %d clients", in->label, n);
    double drawn = 0;
    while (ddlb_now_us() < deadline) {
        ddlb_progress(cfg, what, (ddlb_now_us() - t0) / 1e6, cfg->duration, "s", t0, &drawn);
        usleep(100 * 1000);
    }
    /*
     * Statements still running after a grace time (the duration, at least
     * 2 s) are interrupted where the target can (SQLite, whose connections
     * re-read the whole schema after every other connection's DDL), so the
     * measurement stays bounded; they count as interrupted, not as errors.
     */
    double grace = deadline + (cfg->duration > 2 ? cfg->duration : 2) * 1e6;
    for (bool all = false; !all; usleep(50 * 1000)) {
        all = true;
        for (int i = 0; i < n; i++)
            all = all && atomic_load(&cs[i].finished);
        if (all || ddlb_now_us() < grace || in->target->interrupt == NULL)
            continue;
        atomic_store(&cut, true);
        for (int i = 0; i < n; i++) {
            pthread_mutex_lock(&cs[i].lock);
            if (cs[i].conn != NULL)
                in->target->interrupt(cs[i].conn);
            pthread_mutex_unlock(&cs[i].lock);
        }
    }
    double end = t0;
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        pthread_join(th[i], NULL);
        pthread_mutex_destroy(&cs[i].lock);
        end = cs[i].end > end ? cs[i].end : end;
        total += cs[i].n;
        res->errors += cs[i].errors;
        res->interrupted += cs[i].interrupted;
        if (cs[i].errors > 0)
            report_failure(r, in, cfg->scales[si], "(client DDL)", &cs[i].err);
    }
    /* What the clients may have left behind goes, so the scale stays put. */
    for (int i = 0; i < n; i++) {
        for (size_t j = 0; j < cs[i].nleft; j++) {
            char sql[128];
            ddlb_err e;
            snprintf(sql, sizeof sql, "DROP TABLE IF EXISTS ddlb_c%d_%d_%ld", si, i,
                     cs[i].left[j]);
            if (in->target->exec(in->conn, sql, &e) != DDLB_OK) {
                res->errors++;
                report_failure(r, in, cfg->scales[si], sql, &e);
            }
        }
        free(cs[i].left);
    }
    ddlb_progress_end(cfg);
    pthread_barrier_destroy(&bar);
    double *all = malloc((total ? total : 1) * sizeof *all);
    size_t m = 0;
    for (int i = 0; i < n; i++) {
        if (all != NULL)
            memcpy(all + m, cs[i].lat, cs[i].n * sizeof *all);
        m += cs[i].n;
        free(cs[i].lat);
    }
    res->ddl = (long)total;
    res->seconds = (end - t0) / 1e6;
    res->ddl_per_s = res->seconds > 0 ? (double)total / res->seconds : 0;
    if (all != NULL && total > 0) {
        qsort(all, total, sizeof *all, ddlb_cmp_double);
        res->p50 = ddlb_percentile(all, (int)total, 0.50);
        res->p95 = ddlb_percentile(all, (int)total, 0.95);
    }
    free(all);
    free(cs);
    free(th);
}

/* --- setup ----------------------------------------------------------------------------- */

static int
add_instance(run *r, const ddlb_target *t, const char *durability, const char *ablate,
             const char *url)
{
    ddlb_config *cfg = r->cfg;
    if (r->n == DDLB_MAX_INSTANCES)
        return bad_usage("too many target/durability/ablation combinations (at most %s)", "64");
    ddlb_inst *in = calloc(1, sizeof *in);
    if (in == NULL)
        return 1;
    in->target = t;
    in->cfg = cfg;
    in->durability = durability;
    in->fsync = strcmp(durability, "fsync") == 0;
    in->url = url;
    snprintf(in->ablate, sizeof in->ablate, "%s", ablate);
    char list[64];
    snprintf(list, sizeof list, "%s", ablate);
    for (char *p = list; *p != '\0'; p++)
        if (*p == '+')
            *p = ',';
    cowcat_error ce;
    if (cowcat_ablations_parse(list, &in->mask, &ce) != COWCAT_OK) {
        free(in);
        return bad_usage("--ablate: %s", ce.message);
    }
    snprintf(in->label, sizeof in->label, "%s/%s%s%s", t->name, durability, ablate[0] ? "/" : "",
             ablate);
    char name[96];
    snprintf(name, sizeof name, "%s-%s%s%s", t->name, durability, ablate[0] ? "-" : "", ablate);
    for (char *p = name; *p != '\0'; p++)
        if (*p == '+')
            *p = '_';
    if (snprintf(in->dir, sizeof in->dir, "%s/%s%s", cfg->workdir, name,
                 strcmp(t->name, "sqlite") == 0 ? ".db" : "") >= (int)sizeof in->dir) {
        free(in);
        return bad_usage("the work directory path is too long: %s", cfg->workdir);
    }
    const char *why = t->available != NULL ? t->available(cfg) : NULL;
    if (why != NULL) {
        in->skipped = true;
        snprintf(in->skip_reason, sizeof in->skip_reason, "%s", why);
    }
    for (int s = 0; s < cfg->nscales; s++)
        for (int d = 0; d < DDLB_NDDL; d++) {
            in->cells[s][d].us = calloc((size_t)cfg->samples, sizeof(double));
            in->cells[s][d].sorted = calloc((size_t)cfg->samples, sizeof(double));
            if (in->cells[s][d].us == NULL || in->cells[s][d].sorted == NULL) {
                r->in[r->n++] = in; /* freed with the others */
                return 1;
            }
        }
    r->in[r->n++] = in;
    return 0;
}

/* Stops every instance (servers, handles) and frees it with its samples. */
static void
stop_all(run *r)
{
    for (int i = 0; i < r->n; i++) {
        ddlb_inst *in = r->in[i];
        if (in->conn != NULL)
            in->target->disconnect(in->conn);
        in->conn = NULL;
        if (in->priv != NULL || !in->skipped)
            in->target->stop(in);
    }
}

static void
free_all(run *r)
{
    for (int i = 0; i < r->n; i++) {
        for (int s = 0; s < DDLB_MAX_SCALES; s++)
            for (int d = 0; d < DDLB_NDDL; d++) {
                free(r->in[i]->cells[s][d].us);
                free(r->in[i]->cells[s][d].sorted);
            }
        free(r->in[i]);
    }
    r->n = 0;
}

static int
fatal(run *r, const ddlb_err *e)
{
    ddlb_progress_end(r->cfg);
    fprintf(stderr, "ddl_bench: %s\n", e->msg);
    stop_all(r);
    free_all(r);
    fprintf(stderr, "ddl_bench: the work directory %s is left for inspection\n", r->cfg->workdir);
    return 1;
}

/* Before anything started: frees the instances, removes a scratch work directory. */
static int
early_exit(run *r, int status)
{
    free_all(r);
    if (r->cfg->reuse == NULL && !r->cfg->keep)
        ddlb_rmtree(r->cfg->workdir);
    return status;
}

static int
list_targets(ddlb_config *cfg)
{
    for (int i = 0; i < NTARGETS; i++) {
        const char *why = all_targets[i]->available ? all_targets[i]->available(cfg) : NULL;
        printf("%-9s %s%s\n", all_targets[i]->name, why ? "unavailable: " : "available",
               why ? why : "");
    }
#ifndef DDLB_HAVE_SQLITE
    printf("%-9s unavailable: built without libsqlite3 (Debian: libsqlite3-dev)\n", "sqlite");
#endif
    return 0;
}

int
main(int argc, char **argv)
{
    static ddlb_config cfg;
    static run r;
    r.cfg = &cfg;
    char scales_s[512] = "0,1000,10000,100000", targets_s[256] = "embedded",
         dur_s[64] = "fsync", ablate_s[512] = "", clients_s[128] = "";
    const char *dir_parent = getenv("TMPDIR"), *json_path = NULL, *plot_path = NULL;
    char report_s[2048] = "";
    bool quiet = false, list_only = false;
    cfg.samples = 50;
    cfg.warmup = 1;
    cfg.batch = 1000;
    cfg.duration = 5;
    cfg.floor_samples = 100;
    cfg.seed = 1;
    cfg.pg_bin = "/usr/lib/postgresql/15/bin";
    cfg.cowcatd = DDLB_COWCATD_PATH;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        long num;
        bool takes = true;
#define STRARG(buf)                                                                           \
    (v != NULL && snprintf(buf, sizeof buf, "%s", v) < (int)sizeof buf)
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage_text, stdout);
            return 0;
        } else if (strcmp(a, "--quiet") == 0) {
            quiet = true, takes = false;
        } else if (strcmp(a, "--keep") == 0) {
            cfg.keep = true, takes = false;
        } else if (strcmp(a, "--list-targets") == 0) {
            list_only = true, takes = false;
        } else if (v == NULL) {
            return bad_usage("%s: missing value (or unknown option)", a);
        } else if (strcmp(a, "--scales") == 0) {
            if (!STRARG(scales_s))
                return bad_usage("--scales too long: %s", v);
        } else if (strcmp(a, "--samples") == 0) {
            if (!parse_long(v, 1, 1000000, &num))
                return bad_usage("--samples: 1 to 1000000, not \"%s\"", v);
            cfg.samples = (int)num;
        } else if (strcmp(a, "--warmup") == 0) {
            if (!parse_long(v, 0, 1000, &num))
                return bad_usage("--warmup: 0 to 1000, not \"%s\"", v);
            cfg.warmup = (int)num;
        } else if (strcmp(a, "--target") == 0) {
            if (!STRARG(targets_s))
                return bad_usage("--target too long: %s", v);
        } else if (strcmp(a, "--durability") == 0) {
            if (!STRARG(dur_s))
                return bad_usage("--durability too long: %s", v);
        } else if (strcmp(a, "--ablate") == 0) {
            if (!STRARG(ablate_s))
                return bad_usage("--ablate too long: %s", v);
        } else if (strcmp(a, "--clients") == 0) {
            if (!STRARG(clients_s))
                return bad_usage("--clients too long: %s", v);
        } else if (strcmp(a, "--duration") == 0) {
            char *end;
            cfg.duration = strtod(v, &end);
            if (*end != '\0' || !(cfg.duration > 0 && cfg.duration < 86400))
                return bad_usage("--duration: seconds, not \"%s\"", v);
        } else if (strcmp(a, "--batch") == 0) {
            if (!parse_long(v, 1, 100000, &num))
                return bad_usage("--batch: 1 to 100000, not \"%s\"", v);
            cfg.batch = (int)num;
        } else if (strcmp(a, "--dir") == 0) {
            dir_parent = v;
        } else if (strcmp(a, "--reuse") == 0) {
            cfg.reuse = v;
        } else if (strcmp(a, "--url") == 0) {
            const char *eq = strchr(v, '=');
            size_t tl = eq != NULL ? (size_t)(eq - v) : 0;
            if (eq != NULL && tl == 8 && strncmp(v, "postgres", 8) == 0)
                cfg.postgres_url = eq + 1;
            else if (eq != NULL && ((tl == 6 && strncmp(v, "pgwire", 6) == 0) ||
                                    (tl == 4 && strncmp(v, "psql", 4) == 0)))
                cfg.cowcat_url = eq + 1;
            else
                cfg.cowcat_url = v;
        } else if (strcmp(a, "--pg-bin") == 0) {
            cfg.pg_bin = v;
        } else if (strcmp(a, "--json") == 0) {
            json_path = v;
        } else if (strcmp(a, "--plot") == 0) {
            plot_path = v;
        } else if (strcmp(a, "--report") == 0) {
            if (!STRARG(report_s))
                return bad_usage("--report too long: %s", v);
        } else if (strcmp(a, "--floor-samples") == 0) {
            if (!parse_long(v, 1, 100000, &num))
                return bad_usage("--floor-samples: 1 to 100000, not \"%s\"", v);
            cfg.floor_samples = (int)num;
        } else if (strcmp(a, "--seed") == 0) {
            if (!parse_long(v, 0, LONG_MAX, &num))
                return bad_usage("--seed: a non-negative integer, not \"%s\"", v);
            cfg.seed = (uint64_t)num;
        } else {
            return bad_usage("unknown option \"%s\"", a);
        }
#undef STRARG
        if (takes)
            i++;
    }
    if (list_only)
        return list_targets(&cfg);
    if (report_s[0] != '\0') {
        char *files[64];
        int nf = split(report_s, files, 64);
        if (nf <= 0)
            return bad_usage("--report: 1 to 64 comma-separated files%s", "");
        return ddlb_report_from(files, nf, plot_path) == DDLB_OK ? 0 : 1;
    }
    cfg.progress = !quiet && isatty(2);

    /* scales */
    char *items[64];
    int n = split(scales_s, items, DDLB_MAX_SCALES);
    if (n <= 0)
        return bad_usage("--scales: 1 to 16 comma-separated sizes%s", "");
    for (int i = 0; i < n; i++) {
        long s;
        if (!parse_long(items[i], 0, 100000000, &s) || (i > 0 && s <= cfg.scales[i - 1]))
            return bad_usage("--scales: ascending sizes 0..100000000, not \"%s\"", items[i]);
        cfg.scales[i] = s;
    }
    cfg.nscales = n;
    /* clients */
    n = clients_s[0] ? split(clients_s, items, DDLB_MAX_CLIENTS) : 0;
    if (n < 0)
        return bad_usage("--clients: at most 8 values%s", "");
    for (int i = 0; i < n; i++) {
        long c;
        if (!parse_long(items[i], 1, 4096, &c))
            return bad_usage("--clients: 1 to 4096, not \"%s\"", items[i]);
        cfg.clients[i] = (int)c;
    }
    cfg.nclients = n;
    /* durability */
    char *durs[4];
    int ndur = split(dur_s, durs, 2);
    if (ndur <= 0)
        return bad_usage("--durability: fsync, none or fsync,none%s", "");
    for (int i = 0; i < ndur; i++)
        if (strcmp(durs[i], "fsync") != 0 && strcmp(durs[i], "none") != 0)
            return bad_usage("--durability: fsync or none, not \"%s\"", durs[i]);
    /* ablations: validated per item */
    char *abl[DDLB_MAX_ABLATIONS];
    int nabl = ablate_s[0] ? split(ablate_s, abl, DDLB_MAX_ABLATIONS) : 0;
    if (nabl < 0)
        return bad_usage("--ablate: at most 16 items%s", "");
    for (int a = 0; a < nabl; a++) {
        char list[64];
        uint32_t mask;
        cowcat_error ce;
        if (snprintf(list, sizeof list, "%s", abl[a]) >= (int)sizeof list)
            return bad_usage("--ablate: item too long: %s", abl[a]);
        for (char *p = list; *p != '\0'; p++)
            if (*p == '+')
                *p = ',';
        if (cowcat_ablations_parse(list, &mask, &ce) != COWCAT_OK)
            return bad_usage("--ablate: %s", ce.message);
    }
    /* targets */
    char *tnames[16];
    int nt = split(targets_s, tnames, 16);
    if (nt <= 0)
        return bad_usage("--target: a comma list%s", "");
    const ddlb_target *targets[16];
    for (int i = 0; i < nt; i++) {
        targets[i] = target_named(tnames[i]);
        if (targets[i] == NULL) {
            if (strcmp(tnames[i], "sqlite") == 0)
                return bad_usage("target sqlite: this ddl_bench was built without libsqlite3%s",
                                 "");
            return bad_usage("unknown target \"%s\" (embedded, pgwire, psql, postgres, sqlite)",
                             tnames[i]);
        }
    }
    cfg.cowcatd_ablate = nabl > 0 && cowcatd_has_ablate(cfg.cowcatd);

    /* the work directory */
    ddlb_err e;
    if (cfg.reuse != NULL) {
        snprintf(cfg.workdir, sizeof cfg.workdir, "%s", cfg.reuse);
        if (ddlb_mkdir_p(cfg.workdir, &e) != DDLB_OK) {
            fprintf(stderr, "ddl_bench: --reuse: %s\n", e.msg);
            return 1;
        }
        char *real = realpath(cfg.workdir, NULL);
        if (real != NULL)
            snprintf(cfg.workdir, sizeof cfg.workdir, "%s", real);
        free(real);
    } else {
        if (dir_parent == NULL || dir_parent[0] == '\0')
            dir_parent = "/tmp";
        if (ddlb_mkdir_p(dir_parent, &e) != DDLB_OK) {
            fprintf(stderr, "ddl_bench: --dir: %s\n", e.msg);
            return 1;
        }
        char *real = realpath(dir_parent, NULL);
        snprintf(cfg.workdir, sizeof cfg.workdir, "%s/ddl_bench.XXXXXX",
                 real != NULL ? real : dir_parent);
        free(real);
        if (mkdtemp(cfg.workdir) == NULL) {
            fprintf(stderr, "ddl_bench: mkdtemp %s: %s\n", cfg.workdir, strerror(errno));
            return 1;
        }
    }
    chmod(cfg.workdir, 0755); /* PostgreSQL may run as another user and must get through */

    for (int d = 0; d < ndur; d++)
        for (int t = 0; t < nt; t++) {
            bool cowcatd = targets[t] == &ddlb_target_pgwire || targets[t] == &ddlb_target_psql;
            const char *url = cowcatd ? cfg.cowcat_url
                              : targets[t] == &ddlb_target_postgres ? cfg.postgres_url
                                                                    : NULL;
            if (add_instance(&r, targets[t], durs[d], "", url) != 0)
                return early_exit(&r, 2);
            bool ablatable = targets[t]->ablatable && url == NULL &&
                             (targets[t] == &ddlb_target_embedded || cfg.cowcatd_ablate);
            for (int a = 0; a < nabl; a++) {
                if (!ablatable)
                    break;
                if (add_instance(&r, targets[t], durs[d], abl[a], url) != 0)
                    return early_exit(&r, 2);
            }
        }
    if (nabl > 0 && !cfg.cowcatd_ablate)
        for (int t = 0; t < nt; t++)
            if (targets[t] == &ddlb_target_pgwire || targets[t] == &ddlb_target_psql) {
                fprintf(stderr, "ddl_bench: note: cowcatd has no --ablate flag: ablations are "
                                "measured on the embedded target only\n");
                break;
            }

    FILE *json = NULL;
    if (json_path != NULL && (json = fopen(json_path, "w")) == NULL) {
        fprintf(stderr, "ddl_bench: --json %s: %s\n", json_path, strerror(errno));
        return early_exit(&r, 1);
    }
    int status = 0;
    /* start and connect; a target that cannot run here is skipped, loudly */
    for (int i = 0; i < r.n; i++) {
        ddlb_inst *in = r.in[i];
        if (!in->skipped) {
            int rc = in->target->start(in, &e);
            if (rc == DDLB_SKIP) {
                in->skipped = true;
                snprintf(in->skip_reason, sizeof in->skip_reason, "%s", e.msg);
            } else if (rc != DDLB_OK || in->target->connect(in, &in->conn, &e) != DDLB_OK ||
                       in->target->count_tables(in->conn, &in->objects, &e) != DDLB_OK) {
                return fatal(&r, &e);
            }
        }
        if (in->skipped) {
            fprintf(stderr, "ddl_bench: skipping %s: %s\n", in->label, in->skip_reason);
        } else if (in->objects > cfg.scales[0]) {
            ddlb_err_set(&e, "%s (%s) already holds %ld tables, more than the first scale %ld",
                         in->label, in->dir, in->objects, cfg.scales[0]);
            return fatal(&r, &e);
        }
    }
    ddlb_report_config(json, &cfg, r.in, r.n);

    for (int si = 0; si < cfg.nscales; si++) {
        for (int i = 0; i < r.n; i++)
            if (!r.in[i]->skipped && build(&r, r.in[i], si, &e) != DDLB_OK)
                return fatal(&r, &e);
        if (ddlb_fdatasync_floor(cfg.workdir, cfg.floor_samples, &cfg.floor_p50[si],
                                 &cfg.floor_p95[si], &e) != DDLB_OK)
            return fatal(&r, &e);
        sample_scale(&r, si);
        for (int ci = 0; ci < cfg.nclients; ci++)
            for (int i = 0; i < r.n; i++)
                if (!r.in[i]->skipped)
                    clients_run(&r, r.in[i], si, ci);
        ddlb_report_json_scale(json, &cfg, r.in, r.n, si);
    }
    stop_all(&r);
    if (json != NULL && fclose(json) != 0) {
        fprintf(stderr, "ddl_bench: --json %s: %s\n", json_path, strerror(errno));
        status = 1;
    }
    ddlb_report_markdown(stdout, &cfg, r.in, r.n);
    if (plot_path != NULL && ddlb_report_svg(plot_path, &cfg, r.in, r.n, &e) != DDLB_OK) {
        fprintf(stderr, "ddl_bench: --plot: %s\n", e.msg);
        status = 1;
    }
    if (cfg.reuse == NULL && !cfg.keep)
        ddlb_rmtree(cfg.workdir);
    else
        fprintf(stderr, "ddl_bench: data kept in %s\n", cfg.workdir);
    if (r.failures > 0) {
        fprintf(stderr, "ddl_bench: %ld statements failed\n", r.failures);
        status = 1;
    }
    free_all(&r);
    return status;
}
