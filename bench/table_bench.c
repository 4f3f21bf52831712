/*
 * bench/table_bench.c — CREATE TABLE latency through cowcat.h (parse, plan,
 * transact, the durable commit with its txn-wal part, publish) against the
 * number of tables, with and without ablations.
 *
 *   table_bench [--objects N[,N...]] [--durability none|fsync|all] [--samples S]
 *               [--ablate LIST] [--dir D] [--json]
 *
 * For each size N (default 1000,100000) and durability (the file backend;
 * "none" = no syncs, "fsync" = fdatasync per commit) it fills a scratch data
 * directory with N two-column tables in implicit transactions of 1000
 * statements (no ablation: the fill is not what is measured), closes it,
 * reopens it with the --ablate mask (cowcat_ablations_parse names), times S
 * single-statement `CREATE TABLE x<i> (a int, b text)` calls (each one
 * cowcat_exec, one durable commit), then drops them again (not timed).
 * Prints p50/p95/p99 in microseconds and the number of durable commits and
 * ablated path runs during the samples.
 *
 * --json prints one object per line:
 *   {"bench":"create_table","objects":N,"durability":"fsync","ablate":"advance",
 *    "p50_us":..,"p95_us":..,"p99_us":..,"commits":..,"ablated_runs":..}
 */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cowcat.h"

static bool json;

static double
now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void
die(const char *what, const cowcat_error *err)
{
    fprintf(stderr, "table_bench: %s: %s\n", what, err != NULL ? err->message : "");
    exit(1);
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static cowcat *
open_db(const char *dir, cowcat_durability d, uint32_t ablate)
{
    cowcat_options o = {.data_dir = dir, .durability = d, .ablate = ablate};
    cowcat *db;
    cowcat_error err;
    if (cowcat_open(&o, &db, &err) != COWCAT_OK)
        die("cowcat_open", &err);
    return db;
}

/* Runs sql on s or dies. */
static void
exec_ok(cowcat_session *s, const char *sql)
{
    cowcat_error err;
    if (cowcat_exec(s, sql, NULL, NULL, &err) != COWCAT_OK)
        die(sql, &err);
}

/* Fills db with n tables f<i>, 1000 statements per implicit transaction. */
static void
fill(cowcat *db, long n)
{
    cowcat_session *s;
    cowcat_error err;
    if (cowcat_session_open(db, NULL, &s, &err) != COWCAT_OK)
        die("session", &err);
    size_t cap = 64 * 1000 + 64;
    char *sql = malloc(cap);
    if (sql == NULL)
        die("out of memory", NULL);
    for (long i = 0; i < n;) {
        size_t len = 0;
        for (int k = 0; k < 1000 && i < n; k++, i++)
            len += (size_t)snprintf(sql + len, cap - len, "CREATE TABLE f%ld (a int, b text);", i);
        exec_ok(s, sql);
        if (!json && (i % 20000 == 0 || i == n))
            fprintf(stderr, "\r  fill %ld/%ld", i, n);
    }
    if (!json)
        fprintf(stderr, "\n");
    free(sql);
    cowcat_session_close(s);
}

static void
run(const char *base, long n, cowcat_durability d, const char *ablate_list, uint32_t ablate,
    long samples)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/table_bench.%ld", base, (long)getpid());
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    cowcat *db = open_db(dir, d, 0);
    fill(db, n);
    cowcat_close(db);
    db = open_db(dir, d, ablate);
    cowcat_session *s;
    cowcat_error err;
    if (cowcat_session_open(db, NULL, &s, &err) != COWCAT_OK)
        die("session", &err);
    double *lat = malloc((size_t)samples * sizeof *lat);
    if (lat == NULL)
        die("out of memory", NULL);
    cowcat_stats st0, st1;
    cowcat_stats_get(db, &st0);
    char sql[128];
    for (long i = 0; i < samples; i++) {
        snprintf(sql, sizeof sql, "CREATE TABLE x%ld (a int, b text)", i);
        double t0 = now_us();
        exec_ok(s, sql);
        lat[i] = now_us() - t0;
    }
    cowcat_stats_get(db, &st1);
    for (long i = 0; i < samples; i++) {
        snprintf(sql, sizeof sql, "DROP TABLE x%ld", i);
        exec_ok(s, sql);
    }
    qsort(lat, (size_t)samples, sizeof *lat, cmp_double);
    double p50 = lat[samples / 2], p95 = lat[samples * 95 / 100], p99 = lat[samples * 99 / 100];
    const char *dname = d == COWCAT_DURABILITY_NONE ? "none" : "fsync";
    uint64_t runs = 0;
    for (int a = 0; a < COWCAT_NABLATIONS; a++)
        runs += st1.ablated[a] - st0.ablated[a];
    if (json)
        printf("{\"bench\":\"create_table\",\"objects\":%ld,\"durability\":\"%s\","
               "\"ablate\":\"%s\",\"p50_us\":%.1f,\"p95_us\":%.1f,\"p99_us\":%.1f,"
               "\"commits\":%llu,\"ablated_runs\":%llu}\n",
               n, dname, ablate_list, p50, p95, p99,
               (unsigned long long)(st1.commits - st0.commits), (unsigned long long)runs);
    else
        printf("create_table objects=%-7ld durability=%-5s ablate=%-8s p50 %9.1f us  p95 %9.1f us  "
               "p99 %9.1f us  commits %llu  ablated runs %llu\n",
               n, dname, ablate_list[0] ? ablate_list : "-", p50, p95, p99,
               (unsigned long long)(st1.commits - st0.commits), (unsigned long long)runs);
    fflush(stdout);
    free(lat);
    cowcat_session_close(s);
    cowcat_close(db);
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int
usage(void)
{
    fprintf(stderr, "usage: table_bench [--objects N[,N...]] [--durability none|fsync|all] "
                    "[--samples S] [--ablate LIST] [--dir D] [--json]\n");
    return 2;
}

int
main(int argc, char **argv)
{
    const char *objects = "1000,100000", *dur = "all", *ablate_list = "", *dir = "/tmp";
    long samples = 200;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = true;
        else if (strcmp(argv[i], "--objects") == 0 && i + 1 < argc)
            objects = argv[++i];
        else if (strcmp(argv[i], "--durability") == 0 && i + 1 < argc)
            dur = argv[++i];
        else if (strcmp(argv[i], "--samples") == 0 && i + 1 < argc)
            samples = atol(argv[++i]);
        else if (strcmp(argv[i], "--ablate") == 0 && i + 1 < argc)
            ablate_list = argv[++i];
        else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            dir = argv[++i];
        else
            return usage();
    }
    uint32_t mask;
    cowcat_error err;
    if (cowcat_ablations_parse(ablate_list, &mask, &err) != COWCAT_OK)
        die("--ablate", &err);
    bool none = strcmp(dur, "none") == 0 || strcmp(dur, "all") == 0;
    bool fsync = strcmp(dur, "fsync") == 0 || strcmp(dur, "all") == 0;
    if ((!none && !fsync) || samples <= 0)
        return usage();
    for (const char *p = objects; *p != '\0';) {
        long n = strtol(p, NULL, 10);
        if (n < 0)
            return usage();
        if (none)
            run(dir, n, COWCAT_DURABILITY_NONE, ablate_list, mask, samples);
        if (fsync)
            run(dir, n, COWCAT_DURABILITY_FSYNC, ablate_list, mask, samples);
        p += strcspn(p, ",");
        if (*p == ',')
            p++;
    }
    return 0;
}
