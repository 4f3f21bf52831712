/*
 * tests/server/stress_server_clients.c — many libpq clients doing mixed DDL
 * against one cowcatd at once (default 64 clients x 500 statements, durable).
 *
 * Each client owns its names (c<client>_...), keeps a model of what it
 * created, renamed and dropped (tables, views over them, indexes), and
 * records only what the server acknowledged. Afterwards the catalog must
 * hold exactly the union of the models (no lost and no duplicated object),
 * the server must have group-committed (fewer durable commits than DDL),
 * and after a clean stop the data directory must pass the full consistency
 * check (cowcat_check on a fresh open). Prints the DDL rate.
 *
 *   stress_server_clients [--clients N] [--ops N] [--seed S]
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cowcat.h"
#include "server_fixture.h"

#define MAX_OBJ 4096

typedef struct client {
    int id;
    int ops;
    unsigned seed;
    /* the model: what exists, by name */
    char tables[MAX_OBJ][48];
    int ntables;
    char views[MAX_OBJ][48];
    int nviews;
    int indexes; /* indexes alive (they go with their tables) */
    int serial;
    long acked;
    char failure[512]; /* "" unless a statement failed unexpectedly */
} client;

static srvproc srv;

static bool
run(client *c, PGconn *pg, const char *sql)
{
    PGresult *r = PQexec(pg, sql);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok && c->failure[0] == '\0')
        snprintf(c->failure, sizeof c->failure, "client %d: %.200s: %.250s", c->id, sql,
                 PQresultErrorMessage(r));
    PQclear(r);
    if (ok)
        c->acked++;
    return ok;
}

static void
remove_at(char (*v)[48], int *n, int i)
{
    memmove(v[i], v[i + 1], (size_t)(*n - i - 1) * sizeof v[0]);
    (*n)--;
}

static void *
client_main(void *arg)
{
    client *c = arg;
    PGconn *pg = srvproc_connect(&srv, NULL, NULL, false);
    if (PQstatus(pg) != CONNECTION_OK) {
        snprintf(c->failure, sizeof c->failure, "client %d: %s", c->id, PQerrorMessage(pg));
        PQfinish(pg);
        return NULL;
    }
    char sql[512];
    for (int op = 0; op < c->ops && c->failure[0] == '\0'; op++) {
        int dice = (int)(rand_r(&c->seed) % 100);
        if (c->ntables == 0 || dice < 40) { /* CREATE TABLE */
            if (c->ntables == MAX_OBJ)
                continue;
            char name[48];
            snprintf(name, sizeof name, "c%d_t%d", c->id, c->serial++);
            snprintf(sql, sizeof sql, "CREATE TABLE %s (id int PRIMARY KEY, v text)", name);
            if (run(c, pg, sql))
                snprintf(c->tables[c->ntables++], 48, "%s", name);
        } else if (dice < 55) { /* CREATE VIEW over one of its tables */
            if (c->nviews == MAX_OBJ)
                continue;
            int t = (int)(rand_r(&c->seed) % (unsigned)c->ntables);
            char name[48];
            snprintf(name, sizeof name, "c%d_v%d", c->id, c->serial++);
            snprintf(sql, sizeof sql, "CREATE VIEW %s AS SELECT id, v FROM %s", name,
                     c->tables[t]);
            if (run(c, pg, sql))
                snprintf(c->views[c->nviews++], 48, "%s", name);
        } else if (dice < 70) { /* CREATE INDEX */
            int t = (int)(rand_r(&c->seed) % (unsigned)c->ntables);
            snprintf(sql, sizeof sql, "CREATE INDEX c%d_i%d ON %s (v)", c->id, c->serial++,
                     c->tables[t]);
            if (run(c, pg, sql))
                c->indexes++;
        } else if (dice < 80 && c->nviews > 0) { /* DROP VIEW */
            int v = (int)(rand_r(&c->seed) % (unsigned)c->nviews);
            snprintf(sql, sizeof sql, "DROP VIEW %s", c->views[v]);
            if (run(c, pg, sql))
                remove_at(c->views, &c->nviews, v);
        } else if (dice < 90) { /* RENAME a table (its views follow it) */
            int t = (int)(rand_r(&c->seed) % (unsigned)c->ntables);
            char name[48];
            snprintf(name, sizeof name, "c%d_r%d", c->id, c->serial++);
            snprintf(sql, sizeof sql, "ALTER TABLE %s RENAME TO %s", c->tables[t], name);
            if (run(c, pg, sql))
                snprintf(c->tables[t], 48, "%s", name);
        } else { /* a two-statement transaction: create and comment */
            char name[48];
            snprintf(name, sizeof name, "c%d_t%d", c->id, c->serial++);
            snprintf(sql, sizeof sql,
                     "BEGIN; CREATE TABLE %s (id int, v text); COMMENT ON TABLE %s IS 'x'; COMMIT",
                     name, name);
            if (c->ntables < MAX_OBJ && run(c, pg, sql))
                snprintf(c->tables[c->ntables++], 48, "%s", name);
        }
    }
    PQfinish(pg);
    return NULL;
}

/* Names of one kind in public, sorted, into a malloc'd array of 48-byte names. */
static int
fetch_names(PGconn *pg, const char *sql, char (**out)[48])
{
    PGresult *r = PQexec(pg, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        fprintf(stderr, "%s: %s", sql, PQresultErrorMessage(r));
        PQclear(r);
        return -1;
    }
    int n = PQntuples(r);
    *out = calloc((size_t)n + 1, 48);
    for (int i = 0; i < n; i++)
        snprintf((*out)[i], 48, "%s", PQgetvalue(r, i, 0));
    PQclear(r);
    return n;
}

static int
cmp_name(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* Compares the model's names (gathered from every client) with the server's. */
static int
compare(const char *what, char (*model)[48], int nmodel, char (*got)[48], int ngot)
{
    qsort(model, (size_t)nmodel, 48, cmp_name);
    qsort(got, (size_t)ngot, 48, cmp_name);
    int bad = 0;
    int i = 0, j = 0;
    while (i < nmodel || j < ngot) {
        int c = i == nmodel ? 1 : j == ngot ? -1 : strcmp(model[i], got[j]);
        if (c < 0) {
            if (bad++ < 5)
                fprintf(stderr, "lost %s %s\n", what, model[i]);
            i++;
        } else if (c > 0) {
            if (bad++ < 5)
                fprintf(stderr, "unexpected %s %s\n", what, got[j]);
            j++;
        } else {
            i++, j++;
        }
    }
    return bad;
}

/* A counter's value from /metrics text. */
static double
metric(const char *text, const char *name)
{
    const char *p = text;
    size_t n = strlen(name);
    while ((p = strstr(p, name)) != NULL) {
        if ((p == text || p[-1] == '\n') && p[n] == ' ')
            return atof(p + n + 1);
        p += n;
    }
    return -1;
}

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

static char *
get_metrics(void)
{
    static char buf[1 << 20];
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)srv.metrics_port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return NULL;
    }
    static const char req[] = "GET /metrics HTTP/1.0\r\n\r\n";
    if (write(fd, req, sizeof req - 1) != (ssize_t)(sizeof req - 1)) {
        close(fd);
        return NULL;
    }
    size_t len = 0;
    ssize_t r;
    while (len + 1 < sizeof buf && (r = read(fd, buf + len, sizeof buf - 1 - len)) > 0)
        len += (size_t)r;
    buf[len] = '\0';
    close(fd);
    return buf;
}

int
main(int argc, char **argv)
{
    int nclients = 64, ops = 500;
    unsigned seed = (unsigned)time(NULL);
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--clients") == 0)
            nclients = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--ops") == 0)
            ops = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--seed") == 0)
            seed = (unsigned)strtoul(argv[i + 1], NULL, 10);
    }
    printf("stress_server_clients: %d clients x %d statements, seed %u (--seed %u reproduces "
           "each client's choices)\n",
           nclients, ops, seed, seed);
    char dir[256];
    srvproc_tmpdir(dir, sizeof dir, "stress");
    const char *extra[] = {"--max-connections", "200", "--log-level", "warning", NULL};
    if (srvproc_start(&srv, dir, extra) != 0)
        return 1;
    client *cl = calloc((size_t)nclients, sizeof *cl);
    pthread_t *t = calloc((size_t)nclients, sizeof *t);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < nclients; i++) {
        cl[i].id = i;
        cl[i].ops = ops;
        cl[i].seed = seed + (unsigned)i * 7919u;
        pthread_create(&t[i], NULL, client_main, &cl[i]);
    }
    long acked = 0;
    int failed = 0;
    for (int i = 0; i < nclients; i++) {
        pthread_join(t[i], NULL);
        acked += cl[i].acked;
        if (cl[i].failure[0] != '\0') {
            fprintf(stderr, "%s\n", cl[i].failure);
            failed++;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("stress_server_clients: %ld statements acknowledged in %.2f s (%.0f DDL/s)\n", acked,
           secs, (double)acked / secs);

    int bad = failed;
    const char *m = get_metrics();
    double commits = m ? metric(m, "cowcat_commits_total") : -1;
    double ddl = m ? metric(m, "cowcat_ddl_total") : -1;
    printf("stress_server_clients: %.0f DDL in %.0f durable commits\n", ddl, commits);
    if (commits <= 0 || ddl <= 0 || commits >= ddl) {
        fprintf(stderr, "no group commit: %.0f commits for %.0f DDL\n", commits, ddl);
        bad++;
    }

    PGconn *pg = srvproc_connect(&srv, NULL, NULL, false);
    char(*got)[48] = NULL;
    int ngot = fetch_names(pg,
                           "SELECT table_name FROM information_schema.tables WHERE table_schema "
                           "= 'public' AND table_type = 'BASE TABLE'",
                           &got);
    char(*gotv)[48] = NULL;
    int ngotv = fetch_names(pg, "SELECT table_name FROM information_schema.views WHERE "
                                "table_schema = 'public'",
                            &gotv);
    char idx[32] = "";
    srvproc_value(pg, "SELECT count(*) FROM cowcat_catalog.indexes", idx, sizeof idx);
    PQfinish(pg);
    size_t total_t = 0, total_v = 0;
    long total_i = 0;
    for (int i = 0; i < nclients; i++) {
        total_t += (size_t)cl[i].ntables;
        total_v += (size_t)cl[i].nviews;
        total_i += cl[i].indexes + cl[i].ntables; /* each table has its primary key's index */
    }
    (void)total_i;
    char(*mt)[48] = calloc(total_t + 1, 48);
    char(*mv)[48] = calloc(total_v + 1, 48);
    int nt = 0, nv = 0;
    for (int i = 0; i < nclients; i++) {
        for (int k = 0; k < cl[i].ntables; k++)
            memcpy(mt[nt++], cl[i].tables[k], 48);
        for (int k = 0; k < cl[i].nviews; k++)
            memcpy(mv[nv++], cl[i].views[k], 48);
    }
    if (ngot < 0 || ngotv < 0)
        bad++;
    else
        bad += compare("table", mt, nt, got, ngot) + compare("view", mv, nv, gotv, ngotv);
    printf("stress_server_clients: %d tables, %d views, %s indexes in the catalog\n", ngot, ngotv,
           idx);

    if (srvproc_stop(&srv) != 0) {
        fprintf(stderr, "cowcatd did not exit 0\n");
        bad++;
    }
    if (srvproc_log_has_sanitizer_report(&srv)) {
        fprintf(stderr, "sanitizer report in %s\n", srv.log);
        bad++;
    }
    /* the full consistency check on the data directory, in process */
    cowcat *db = NULL;
    cowcat_error err;
    cowcat_options o = {.data_dir = dir};
    if (cowcat_open(&o, &db, &err) != COWCAT_OK) {
        fprintf(stderr, "reopen: %s\n", err.message);
        bad++;
    } else {
        if (cowcat_check(db, &err) != COWCAT_OK) {
            fprintf(stderr, "cowcat_check: %s\n", err.message);
            bad++;
        }
        cowcat_close(db);
    }
    srvproc_rmdir(dir);
    free(mt), free(mv), free(got), free(gotv), free(cl), free(t);
    if (bad != 0) {
        printf("stress_server_clients: FAILED (%d problems; seed %u)\n", bad, seed);
        return 1;
    }
    printf("stress_server_clients: ok\n");
    return 0;
}
