/*
 * bench/tools_bench.c — the figures of `cowcat dump` and `cowcat restore`:
 * time and file size against catalog size.
 *
 * It fills a catalog of N two-column tables (CREATE TABLE t<i> (a int, b
 * text), --batch statements per cowcat_exec string, i.e. per implicit
 * transaction, durability none) in a scratch directory, closes it, then
 * takes --samples samples of each:
 *   dump     tools_dump_to_path: open the data directory read-only (persist
 *            recovery + durable load), two passes over the pinned version,
 *            write a file, fsync, rename — what `cowcat dump -o FILE` does;
 *            open_seconds is the open alone
 *   restore  tools_dump_load (read + verify the dump) + tools_restore into a
 *            fresh directory (one durable write with fdatasync, reopen from
 *            disk, full check with every create_sql re-parsed, rename) —
 *            what `cowcat restore` does; read_seconds, write_seconds and
 *            check_seconds split it (write ends when the append is durable).
 *            Like the CLI, it takes the checked catalog over instead of
 *            closing it inside the restore (tools_restore_options.loaded; the
 *            CLI leaves it to its exit): close_seconds, outside the figure,
 *            is what freeing it costs
 * and prints the medians. --sync none restores without fdatasync; --keep
 * leaves the scratch directory (--dir, default /tmp/cowcat-tools-bench-PID:
 * src/, catalog.dump, dst/) for a closer look.
 *
 * --json prints one object per line:
 *   {"bench":"fill","objects":N,"seconds":..,"tables_per_s":..}
 *   {"bench":"dump","objects":N,"samples":S,"seconds":..,"open_seconds":..,
 *    "bytes":..,"bytes_per_table":..,"min_seconds":..,"max_seconds":..}
 *   {"bench":"restore","objects":N,"samples":S,"sync":"fsync","seconds":..,
 *    "read_seconds":..,"write_seconds":..,"check_seconds":..,"min_seconds":..,
 *    "max_seconds":..,"close_seconds":..}
 * Targets (issue 9, quoted, not enforced): at 1M objects dump <= 2 s, restore
 * <= 5 s (durable), file <= 200 bytes per two-column table.
 */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cowcat.h"
#include "tools/tools.h"

#define MAX_SAMPLES 64

static bool json;

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
die(const char *what, const char *msg)
{
    fprintf(stderr, "tools_bench: %s: %s\n", what, msg);
    exit(1);
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void
rm_tree(const char *path)
{
    nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int
dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median of v[0..n) (sorts v). */
static double
median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, dbl_cmp);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void
fill(const char *dir, long objects, int batch)
{
    cowcat *db;
    cowcat_session *s;
    cowcat_error e;
    cowcat_options o = {.data_dir = dir, .durability = COWCAT_DURABILITY_NONE};
    if (cowcat_open(&o, &db, &e) != COWCAT_OK || cowcat_session_open(db, NULL, &s, &e) != COWCAT_OK)
        die("open", e.message);
    char *sql = malloc((size_t)batch * 64 + 1);
    if (sql == NULL)
        die("fill", "out of memory");
    double t0 = now_s();
    for (long i = 0; i < objects;) {
        size_t len = 0;
        for (int k = 0; k < batch && i < objects; k++, i++)
            len += (size_t)sprintf(sql + len, "CREATE TABLE t%ld (a int, b text);", i);
        if (cowcat_exec(s, sql, NULL, NULL, &e) != COWCAT_OK)
            die("fill", e.message);
        if (!json && i % 100000 == 0)
            fprintf(stderr, "tools_bench: filled %ld tables\n", i);
    }
    double secs = now_s() - t0;
    free(sql);
    cowcat_session_close(s);
    cowcat_close(db);
    if (json)
        printf("{\"bench\":\"fill\",\"objects\":%ld,\"seconds\":%.3f,\"tables_per_s\":%.0f}\n",
               objects, secs, objects / secs);
    else
        printf("fill     %8ld tables  %8.3f s  (%.0f tables/s)\n", objects, secs, objects / secs);
    fflush(stdout);
}

/* Progress hook: the time the restore's write phase finished. */
static void
on_progress(void *arg, const char *phase, uint64_t done, uint64_t total)
{
    if (done == total && strcmp(phase, "restore: write") == 0)
        *(double *)arg = now_s();
}

int
main(int argc, char **argv)
{
    long objects = 1000000;
    int samples = 3, batch = 1000;
    const char *base = NULL;
    persist_sync sync = PERSIST_SYNC_FSYNC;
    bool keep = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = true;
        else if (strcmp(argv[i], "--quick") == 0) {
            objects = 10000;
            samples = 1;
        } else if (strcmp(argv[i], "--objects") == 0 && i + 1 < argc)
            objects = atol(argv[++i]);
        else if (strcmp(argv[i], "--samples") == 0 && i + 1 < argc)
            samples = atoi(argv[++i]);
        else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc)
            batch = atoi(argv[++i]);
        else if (strcmp(argv[i], "--keep") == 0)
            keep = true;
        else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            base = argv[++i];
        else if (strcmp(argv[i], "--sync") == 0 && i + 1 < argc) {
            const char *v = argv[++i];
            sync = strcmp(v, "none") == 0 ? PERSIST_SYNC_NONE : PERSIST_SYNC_FSYNC;
        } else {
            fputs("usage: tools_bench [--json] [--quick] [--objects N] [--samples N] [--batch N]\n"
                  "                   [--dir DIR] [--keep] [--sync fsync|none]\n",
                  stderr);
            return 2;
        }
    }
    if (objects < 1 || samples < 1 || samples > MAX_SAMPLES || batch < 1)
        die("arguments", "objects, samples (1..64) and batch must be positive");
    char scratch[512], src[600], file[600], dst[600];
    if (base != NULL)
        snprintf(scratch, sizeof scratch, "%s", base);
    else
        snprintf(scratch, sizeof scratch, "/tmp/cowcat-tools-bench-%ld", (long)getpid());
    rm_tree(scratch);
    if (mkdir(scratch, 0700) != 0)
        die("mkdir", scratch);
    snprintf(src, sizeof src, "%s/src", scratch);
    snprintf(file, sizeof file, "%s/catalog.dump", scratch);
    snprintf(dst, sizeof dst, "%s/dst", scratch);
    fill(src, objects, batch);

    double dump_s[MAX_SAMPLES], open_s[MAX_SAMPLES];
    tools_dump_summary sum = {0};
    cc_err e;
    for (int k = 0; k < samples; k++) {
        double t0 = now_s();
        tools_datadir *d;
        if (tools_datadir_open(src, TOOLS_OPEN_DURABLE, &d, &e) != CC_OK)
            die("open", e.msg);
        open_s[k] = now_s() - t0;
        tools_datadir_close(d);
        unlink(file);
        t0 = now_s();
        if (tools_dump_to_path(src, file, NULL, &sum, &e) != CC_OK)
            die("dump", e.msg);
        dump_s[k] = now_s() - t0;
    }
    double dmin = dump_s[0], dmax = dump_s[0];
    for (int k = 1; k < samples; k++) {
        dmin = dump_s[k] < dmin ? dump_s[k] : dmin;
        dmax = dump_s[k] > dmax ? dump_s[k] : dmax;
    }
    double dmed = median(dump_s, samples), omed = median(open_s, samples);
    double per_table = (double)sum.bytes / (double)objects;
    if (json)
        printf("{\"bench\":\"dump\",\"objects\":%ld,\"samples\":%d,\"seconds\":%.3f,"
               "\"open_seconds\":%.3f,\"bytes\":%llu,\"bytes_per_table\":%.1f,"
               "\"min_seconds\":%.3f,\"max_seconds\":%.3f}\n",
               objects, samples, dmed, omed, (unsigned long long)sum.bytes, per_table, dmin, dmax);
    else
        printf("dump     %8ld tables  %8.3f s median (open %.3f s; min %.3f, max %.3f)  "
               "%llu bytes, %.1f bytes/table\n",
               objects, dmed, omed, dmin, dmax, (unsigned long long)sum.bytes, per_table);
    fflush(stdout);

    double all_s[MAX_SAMPLES], read_s[MAX_SAMPLES], write_s[MAX_SAMPLES], check_s[MAX_SAMPLES],
        close_s[MAX_SAMPLES];
    for (int k = 0; k < samples; k++) {
        rm_tree(dst);
        double t0 = now_s(), written = 0;
        tools_dump *d;
        if (tools_dump_load(file, &d, &e) != CC_OK)
            die("load", e.msg);
        double t1 = now_s();
        tools_datadir *loaded = NULL;
        tools_restore_options o = {
            .sync = sync, .progress = on_progress, .progress_arg = &written, .loaded = &loaded};
        if (tools_restore(d, dst, &o, NULL, &e) != CC_OK)
            die("restore", e.msg);
        double t2 = now_s();
        /* The CLI leaves the checked catalog to its exit; closing it is timed apart. */
        tools_datadir_close(loaded);
        close_s[k] = now_s() - t2;
        tools_dump_free(d);
        all_s[k] = t2 - t0;
        read_s[k] = t1 - t0;
        write_s[k] = written - t1;
        check_s[k] = t2 - written;
    }
    double rmin = all_s[0], rmax = all_s[0];
    for (int k = 1; k < samples; k++) {
        rmin = all_s[k] < rmin ? all_s[k] : rmin;
        rmax = all_s[k] > rmax ? all_s[k] : rmax;
    }
    double rmed = median(all_s, samples), rd = median(read_s, samples),
           wr = median(write_s, samples), ck = median(check_s, samples),
           cl = median(close_s, samples);
    const char *sync_name = sync == PERSIST_SYNC_FSYNC ? "fsync" : "none";
    if (json)
        printf("{\"bench\":\"restore\",\"objects\":%ld,\"samples\":%d,\"sync\":\"%s\","
               "\"seconds\":%.3f,\"read_seconds\":%.3f,\"write_seconds\":%.3f,"
               "\"check_seconds\":%.3f,\"min_seconds\":%.3f,\"max_seconds\":%.3f,"
               "\"close_seconds\":%.3f}\n",
               objects, samples, sync_name, rmed, rd, wr, ck, rmin, rmax, cl);
    else
        printf("restore  %8ld tables  %8.3f s median (read+verify %.3f, write %.3f, check %.3f; "
               "min %.3f, max %.3f; sync %s; closing the checked catalog after: %.3f)\n",
               objects, rmed, rd, wr, ck, rmin, rmax, sync_name, cl);
    if (!keep)
        rm_tree(scratch);
    return 0;
}
