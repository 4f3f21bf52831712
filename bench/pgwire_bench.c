/*
 * bench/pgwire_bench.c — cowcatd over the wire: CREATE TABLE latency at
 * growing catalog sizes and DDL throughput with concurrent clients, through
 * libpq against a cowcatd it starts on free loopback ports (the server
 * issue's figures; ddl_bench will grow the full experiment).
 *
 * For each durability (--durability fsync,none) and scale (--scales
 * 1000,1000000) it starts a fresh server, fills the catalog to the scale
 * with multi-statement strings of --batch CREATE TABLEs (one implicit
 * transaction, one durable write each; progress on stderr), then times
 * --samples single CREATE TABLE statements, each its own round trip and
 * commit. Then, on a fresh durable server, --clients 1,8,64 sessions each
 * run CREATE TABLE for --seconds and the DDL rate is reported.
 *
 * Output (--json: one object per line):
 *   {"bench":"pgwire","ddl":"create_table","durability":"fsync","objects":1000,
 *    "samples":50,"p50_us":..,"p95_us":..}
 *   {"bench":"pgwire_clients","ddl":"create_table","durability":"fsync","clients":64,
 *    "seconds":..,"ddl_per_s":..}
 *   and one line per durability comparing the largest scale with the smallest:
 *   {"bench":"pgwire_ratio","durability":"fsync","objects":1000000,"baseline":1000,
 *    "p50_ratio":..}
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server_fixture.h"

typedef struct bench_opts {
    long scales[16];
    int nscales;
    int samples;
    int batch;
    int clients[16];
    int nclients;
    double seconds;
    bool fsync;
    bool none;
    bool json;
    const char *dir;
} bench_opts;

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static bool
exec_ok(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        fprintf(stderr, "pgwire_bench: %.80s: %s", sql, PQresultErrorMessage(r));
    PQclear(r);
    return ok;
}

/* Fills the catalog with n tables f<i> in strings of batch statements. */
static bool
fill(PGconn *c, long n, int batch)
{
    size_t cap = (size_t)batch * 64 + 64;
    char *sql = malloc(cap);
    double t0 = now_s(), last = t0;
    for (long i = 0; i < n;) {
        size_t len = 0;
        for (int k = 0; k < batch && i < n; k++, i++)
            len += (size_t)snprintf(sql + len, cap - len, "CREATE TABLE f%ld (a int, b text);", i);
        if (!exec_ok(c, sql)) {
            free(sql);
            return false;
        }
        double t = now_s();
        if (t - last > 1.0 || i == n) {
            double rate = (double)i / (t - t0);
            fprintf(stderr, "\rfill: %ld / %ld tables, %.0f/s, ETA %.0f s   ", i, n, rate,
                    (double)(n - i) / rate);
            last = t;
        }
    }
    if (n > 0)
        fprintf(stderr, "\n");
    free(sql);
    return true;
}

static double
measure_scale(const bench_opts *o, const char *durability, long scale)
{
    char dir[256];
    srvproc_tmpdir(dir, sizeof dir, "pgwire-bench");
    if (o->dir != NULL)
        snprintf(dir, sizeof dir, "%s/pgwire-bench-%s-%ld", o->dir, durability, scale);
    srvproc_rmdir(dir);
    const char *extra[] = {"--durability", durability, "--log-level", "warning", NULL};
    srvproc srv;
    if (srvproc_start(&srv, dir, extra) != 0)
        exit(1);
    PGconn *c = srvproc_connect(&srv, NULL, NULL, false);
    if (PQstatus(c) != CONNECTION_OK || !fill(c, scale, o->batch))
        exit(1);
    double *us = calloc((size_t)o->samples, sizeof *us);
    for (int i = 0; i < o->samples; i++) {
        char sql[96];
        snprintf(sql, sizeof sql, "CREATE TABLE s%d (a int, b text)", i);
        double t0 = now_s();
        if (!exec_ok(c, sql))
            exit(1);
        us[i] = (now_s() - t0) * 1e6;
    }
    qsort(us, (size_t)o->samples, sizeof *us, cmp_double);
    double p50 = us[o->samples / 2], p95 = us[(o->samples * 95) / 100];
    if (o->json)
        printf("{\"bench\":\"pgwire\",\"ddl\":\"create_table\",\"durability\":\"%s\","
               "\"objects\":%ld,\"samples\":%d,\"p50_us\":%.1f,\"p95_us\":%.1f}\n",
               durability, scale, o->samples, p50, p95);
    else
        printf("CREATE TABLE over pgwire, %-5s at %8ld tables: p50 %8.1f us  p95 %8.1f us\n",
               durability, scale, p50, p95);
    fflush(stdout);
    free(us);
    PQfinish(c);
    srvproc_stop(&srv);
    srvproc_rmdir(dir);
    return p50;
}

typedef struct worker {
    srvproc *srv;
    int id;
    volatile bool *stop;
    long done;
} worker;

static void *
worker_main(void *arg)
{
    worker *w = arg;
    PGconn *c = srvproc_connect(w->srv, NULL, NULL, false);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "pgwire_bench: %s", PQerrorMessage(c));
        PQfinish(c);
        return NULL;
    }
    char sql[96];
    while (!*w->stop) {
        snprintf(sql, sizeof sql, "CREATE TABLE w%d_%ld (a int, b text)", w->id, w->done);
        if (!exec_ok(c, sql))
            break;
        w->done++;
    }
    PQfinish(c);
    return NULL;
}

static void
measure_clients(const bench_opts *o, int nclients)
{
    char dir[256];
    srvproc_tmpdir(dir, sizeof dir, "pgwire-clients");
    const char *extra[] = {"--durability", "fsync", "--max-connections", "1000", "--log-level",
                           "warning", NULL};
    srvproc srv;
    if (srvproc_start(&srv, dir, extra) != 0)
        exit(1);
    volatile bool stop = false;
    worker *w = calloc((size_t)nclients, sizeof *w);
    pthread_t *t = calloc((size_t)nclients, sizeof *t);
    for (int i = 0; i < nclients; i++) {
        w[i] = (worker){.srv = &srv, .id = i, .stop = &stop};
        pthread_create(&t[i], NULL, worker_main, &w[i]);
    }
    double t0 = now_s();
    struct timespec nap = {.tv_sec = (time_t)o->seconds,
                           .tv_nsec = (long)((o->seconds - (double)(time_t)o->seconds) * 1e9)};
    nanosleep(&nap, NULL);
    stop = true;
    long total = 0;
    for (int i = 0; i < nclients; i++) {
        pthread_join(t[i], NULL);
        total += w[i].done;
    }
    double secs = now_s() - t0;
    if (o->json)
        printf("{\"bench\":\"pgwire_clients\",\"ddl\":\"create_table\",\"durability\":\"fsync\","
               "\"clients\":%d,\"seconds\":%.2f,\"ddl_per_s\":%.0f}\n",
               nclients, secs, (double)total / secs);
    else
        printf("CREATE TABLE over pgwire, fsync, %3d clients: %8.0f DDL/s\n", nclients,
               (double)total / secs);
    fflush(stdout);
    free(w);
    free(t);
    srvproc_stop(&srv);
    srvproc_rmdir(dir);
}

static int
parse_list(const char *s, long *out, int max)
{
    int n = 0;
    char *copy = strdup(s), *save = NULL;
    for (char *p = strtok_r(copy, ",", &save); p != NULL && n < max; p = strtok_r(NULL, ",", &save))
        out[n++] = atol(p);
    free(copy);
    return n;
}

int
main(int argc, char **argv)
{
    bench_opts o = {.scales = {1000, 1000000}, .nscales = 2, .samples = 50, .batch = 1000,
                    .clients = {1, 8, 64}, .nclients = 3, .seconds = 3, .fsync = true,
                    .none = true};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
        if (strcmp(a, "--json") == 0) {
            o.json = true;
        } else if (strcmp(a, "--quick") == 0) {
            o.scales[0] = 0, o.scales[1] = 1000, o.nscales = 2;
            o.samples = 20, o.seconds = 0.5, o.nclients = 2, o.clients[0] = 1, o.clients[1] = 8;
        } else if (strcmp(a, "--scales") == 0) {
            o.nscales = parse_list(v, o.scales, 16), i++;
        } else if (strcmp(a, "--clients") == 0) {
            long c[16];
            o.nclients = parse_list(v, c, 16), i++;
            for (int k = 0; k < o.nclients; k++)
                o.clients[k] = (int)c[k];
        } else if (strcmp(a, "--samples") == 0) {
            o.samples = atoi(v), i++;
        } else if (strcmp(a, "--batch") == 0) {
            o.batch = atoi(v), i++;
        } else if (strcmp(a, "--seconds") == 0) {
            o.seconds = atof(v), i++;
        } else if (strcmp(a, "--dir") == 0) {
            o.dir = v, i++;
        } else if (strcmp(a, "--durability") == 0) {
            o.fsync = strstr(v, "fsync") != NULL, o.none = strstr(v, "none") != NULL, i++;
        } else {
            fprintf(stderr,
                    "usage: pgwire_bench [--json] [--quick] [--scales N,N] [--samples N] "
                    "[--batch N] [--clients N,N] [--seconds S] [--durability fsync,none] "
                    "[--dir DIR]\n");
            return 2;
        }
    }
    if (o.samples < 1 || o.batch < 1 || o.nscales < 1)
        return 2;
    const char *durs[2] = {"fsync", "none"};
    bool on[2] = {o.fsync, o.none};
    for (int d = 0; d < 2; d++) {
        if (!on[d])
            continue;
        double base = 0, last = 0;
        for (int s = 0; s < o.nscales; s++) {
            double p50 = measure_scale(&o, durs[d], o.scales[s]);
            if (s == 0)
                base = p50;
            last = p50;
        }
        if (o.nscales > 1 && base > 0) {
            if (o.json)
                printf("{\"bench\":\"pgwire_ratio\",\"durability\":\"%s\",\"objects\":%ld,"
                       "\"baseline\":%ld,\"p50_ratio\":%.2f}\n",
                       durs[d], o.scales[o.nscales - 1], o.scales[0], last / base);
            else
                printf("p50 at %ld / p50 at %ld (%s): %.2fx\n", o.scales[o.nscales - 1],
                       o.scales[0], durs[d], last / base);
        }
    }
    for (int k = 0; k < o.nclients; k++)
        measure_clients(&o, o.clients[k]);
    return 0;
}
