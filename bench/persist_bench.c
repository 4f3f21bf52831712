/*
 * bench/persist_bench.c — the persist benchmark: what a durable commit costs.
 *
 * Measured in one run, in one data directory (so the ratios are fair on a
 * noisy machine):
 *   fdatasync_floor  append 4 KiB + fdatasync to a file in the directory: the
 *                    physical limit of a durable commit here (sampled just
 *                    before and just after the single durable committer);
 *   commit           compare_and_append latency (p50/p95) and throughput with
 *                    1, 4, 16, 64 concurrent committers, each on its own
 *                    shard, durability fsync (group commit), and one committer
 *                    with durability none;
 *   txnwal_commit    txn-wal commit latency (one write to one data shard) with
 *                    1, 1k, 100k registered data shards, fsync and none;
 *   reopen           persist_client_open of a directory holding 1M live keys
 *                    in one shard, right after a rollup.
 *
 * --json prints one object per line:
 *   {"bench":"fdatasync_floor","p50_us":240.0}
 *   {"bench":"commit","durability":"fsync","committers":1,"p50_us":..,"p95_us":..,
 *    "commits_per_s":..}   (on one line)
 *   {"bench":"txnwal_commit","registered":100000,"p50_us":..,"p95_us":..,"durability":"fsync"}
 *   {"bench":"reopen","keys":1000000,"seconds":..}
 * Without it, a table plus the targets of issue 4 as ratios. --quick shrinks
 * every count (CI smoke). --dir DIR puts the scratch directory under DIR
 * (default /tmp); it is removed afterwards.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "persist/persist.h"
#include "persist/txnwal.h"

typedef struct opts {
    bool json;
    bool quick;
    const char *dir;
    const char *only; /* run only this bench (floor, commit, txnwal, reopen); NULL = all */
} opts;

static opts g;
static char g_root[512]; /* the scratch directory (mkdtemp) */
static int g_sub;        /* counter for fresh data directories */

/* --- helpers ---------------------------------------------------------------------- */

static double
now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The p-th percentile (0..100) of v[0..n) (sorts v). */
static double
pct(double *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof *v, cmp_double);
    size_t i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
    return v[i < n ? i : n - 1];
}

static void
die(const char *what, const cc_err *err)
{
    fprintf(stderr, "persist_bench: %s: %s\n", what, err != NULL ? err->msg : strerror(errno));
    exit(1);
}

/* A fresh data directory path under the scratch root (not created). */
static void
fresh_dir(char *out, size_t cap, const char *tag)
{
    snprintf(out, cap, "%s/%s-%d", g_root, tag, g_sub++);
}

static persist_client *
open_client(const char *dir, persist_sync sync)
{
    persist_options o = {.backend = PERSIST_BACKEND_FILE, .data_dir = dir, .sync = sync};
    persist_client *c;
    cc_err err;
    if (persist_client_open(&o, &c, &err) != CC_OK)
        die("open", &err);
    return c;
}

static persist_shard *
open_shard(persist_client *c, const char *id)
{
    persist_shard *s;
    cc_err err;
    if (persist_shard_open(c, id, &s, &err) != CC_OK)
        die("open shard", &err);
    return s;
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

/* --- fdatasync floor -------------------------------------------------------------- */

/* One floor sample: append 4 KiB at block i of fd and fdatasync; returns microseconds. */
static double
floor_sample(int fd, int i)
{
    static char buf[4096];
    buf[0] = 'f';
    double t0 = now_us();
    if (pwrite(fd, buf, sizeof buf, (off_t)i * (off_t)sizeof buf) != (ssize_t)sizeof buf ||
        fdatasync(fd) != 0)
        die("floor write", NULL);
    return now_us() - t0;
}

/* n floor samples into lat, in a fresh file of the scratch directory. */
static void
floor_samples(double *lat, int n)
{
    char path[600];
    snprintf(path, sizeof path, "%s/floor.dat", g_root);
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
    if (fd < 0)
        die("open floor file", NULL);
    for (int i = 0; i < n; i++)
        lat[i] = floor_sample(fd, i);
    close(fd);
    unlink(path);
}

static double
floor_report(double p50)
{
    if (g.json)
        printf("{\"bench\":\"fdatasync_floor\",\"p50_us\":%.1f}\n", p50);
    else
        printf("%-40s p50 %9.1f us\n", "fdatasync floor (4 KiB append)", p50);
    return p50;
}

/* --- commit latency and group commit ---------------------------------------------- */

typedef struct committer {
    persist_shard *s;
    pthread_barrier_t *start;
    const int *stop; /* atomic: set by the main thread when time is up */
    double *lat;
    size_t n, cap;
} committer;

static void *
commit_loop(void *arg)
{
    committer *cm = arg;
    char key[32], val[64];
    memset(val, 'v', sizeof val);
    pthread_barrier_wait(cm->start);
    /* Pairs with the main thread's release store of stop. */
    while (!__atomic_load_n(cm->stop, __ATOMIC_ACQUIRE) && cm->n < cm->cap) {
        uint64_t up = persist_shard_upper(cm->s);
        snprintf(key, sizeof key, "key-%llu", (unsigned long long)up);
        persist_update u = {{key, strlen(key)}, {val, sizeof val}, up, 1};
        cc_err err;
        double t0 = now_us();
        if (persist_compare_and_append(cm->s, &u, 1, up, up + 1, NULL, &err) != CC_OK)
            die("commit", &err);
        cm->lat[cm->n++] = now_us() - t0;
    }
    return NULL;
}

typedef struct commit_result {
    double p50, p95, per_s;
} commit_result;

static commit_result
bench_commit(int committers, persist_sync sync)
{
    char dir[600];
    fresh_dir(dir, sizeof dir, "commit");
    persist_client *c = open_client(dir, sync);
    double secs = g.quick ? 0.25 : 2.0;
    size_t cap = sync == PERSIST_SYNC_NONE ? 2000000 : 200000;
    committer *cm = calloc((size_t)committers, sizeof *cm);
    pthread_t *th = calloc((size_t)committers, sizeof *th);
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, (unsigned)committers + 1);
    int stop = 0;
    for (int i = 0; i < committers; i++) {
        char id[32];
        snprintf(id, sizeof id, "shard-%d", i);
        cm[i] = (committer){open_shard(c, id), &start, &stop, malloc(cap * sizeof(double)), 0, cap};
        pthread_create(&th[i], NULL, commit_loop, &cm[i]);
    }
    pthread_barrier_wait(&start);
    double t0 = now_us();
    struct timespec ts = {(time_t)secs, (long)((secs - (double)(time_t)secs) * 1e9)};
    nanosleep(&ts, NULL);
    __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < committers; i++)
        pthread_join(th[i], NULL);
    double elapsed = (now_us() - t0) / 1e6;
    size_t total = 0;
    for (int i = 0; i < committers; i++)
        total += cm[i].n;
    double *all = malloc((total > 0 ? total : 1) * sizeof *all);
    size_t k = 0;
    for (int i = 0; i < committers; i++) {
        memcpy(all + k, cm[i].lat, cm[i].n * sizeof *all);
        k += cm[i].n;
        free(cm[i].lat);
    }
    persist_stats st;
    persist_client_stats(c, &st);
    commit_result r = {pct(all, total, 50), pct(all, total, 95), (double)total / elapsed};
    const char *dur = sync == PERSIST_SYNC_NONE ? "none" : "fsync";
    if (g.json)
        printf("{\"bench\":\"commit\",\"durability\":\"%s\",\"committers\":%d,\"p50_us\":%.1f,"
               "\"p95_us\":%.1f,\"commits_per_s\":%.0f}\n",
               dur, committers, r.p50, r.p95, r.per_s);
    else
        printf("commit %-5s committers %-3d             p50 %9.1f us  p95 %9.1f us  %9.0f "
               "commits/s  (%.1f appends per durable write)\n",
               dur, committers, r.p50, r.p95, r.per_s,
               st.wal_groups > 0 ? (double)st.appends / (double)st.wal_groups : 0.0);
    free(all);
    free(cm);
    free(th);
    pthread_barrier_destroy(&start);
    persist_client_close(c);
    rm_tree(dir);
    return r;
}

/* --- txn-wal commit ----------------------------------------------------------------- */

static double
bench_txnwal(size_t registered, persist_sync sync)
{
    char dir[600];
    fresh_dir(dir, sizeof dir, "txnwal");
    cc_err err;
    /* Setup without syncs: create and register the data shards. */
    persist_client *c = open_client(dir, PERSIST_SYNC_NONE);
    txnwal *w;
    if (txnwal_open(c, "txns", &w, &err) != CC_OK)
        die("txnwal_open", &err);
    persist_shard **sh = malloc(registered * sizeof *sh);
    for (size_t i = 0; i < registered; i++) {
        char id[32];
        snprintf(id, sizeof id, "data-%zu", i);
        sh[i] = open_shard(c, id);
    }
    if (txnwal_register(w, 1, sh, registered, NULL, &err) != CC_OK)
        die("txnwal_register", &err);
    txnwal_close(w);
    persist_client_close(c);

    c = open_client(dir, sync);
    if (txnwal_open(c, "txns", &w, &err) != CC_OK)
        die("txnwal_open", &err);
    for (size_t i = 0; i < registered; i++) {
        char id[32];
        snprintf(id, sizeof id, "data-%zu", i);
        sh[i] = open_shard(c, id);
    }
    int n = g.quick ? 50 : (sync == PERSIST_SYNC_NONE ? 3000 : 500);
    double *lat = malloc((size_t)n * sizeof *lat);
    char val[64];
    memset(val, 'v', sizeof val);
    for (int i = 0; i < n; i++) {
        char key[32];
        snprintf(key, sizeof key, "key-%d", i);
        txnwal_txn *t;
        double t0 = now_us();
        if (txnwal_txn_begin(w, &t, &err) != CC_OK ||
            txnwal_txn_write(t, sh[(size_t)i % registered], (pmap_bytes){key, strlen(key)},
                             (pmap_bytes){val, sizeof val}, 1, &err) != CC_OK ||
            txnwal_commit(t, 0, NULL, &err) != CC_OK)
            die("txnwal commit", &err);
        lat[i] = now_us() - t0;
    }
    double p95 = pct(lat, (size_t)n, 95), p50 = pct(lat, (size_t)n, 50);
    const char *dur = sync == PERSIST_SYNC_NONE ? "none" : "fsync";
    if (g.json)
        printf("{\"bench\":\"txnwal_commit\",\"registered\":%zu,\"p50_us\":%.1f,\"p95_us\":%.1f,"
               "\"durability\":\"%s\"}\n",
               registered, p50, p95, dur);
    else
        printf("txnwal_commit %-5s registered %-7zu      p50 %9.1f us  p95 %9.1f us\n", dur,
               registered, p50, p95);
    free(lat);
    free(sh);
    txnwal_close(w);
    persist_client_close(c);
    rm_tree(dir);
    return p50;
}

/* --- reopen ---------------------------------------------------------------------------- */

static double
bench_reopen(size_t keys)
{
    char dir[600];
    fresh_dir(dir, sizeof dir, "reopen");
    persist_client *c = open_client(dir, PERSIST_SYNC_NONE);
    persist_shard *s = open_shard(c, "big");
    size_t batch = 10000;
    persist_update *u = malloc(batch * sizeof *u);
    char(*kb)[24] = malloc(batch * sizeof *kb);
    char val[32];
    memset(val, 'v', sizeof val);
    cc_err err;
    for (size_t done = 0, up = 0; done < keys; up++) {
        size_t n = keys - done < batch ? keys - done : batch;
        for (size_t i = 0; i < n; i++) {
            snprintf(kb[i], sizeof kb[i], "key-%012zu", done + i);
            u[i] = (persist_update){{kb[i], strlen(kb[i])}, {val, sizeof val}, up, 1};
        }
        if (persist_compare_and_append(s, u, n, up, up + 1, NULL, &err) != CC_OK)
            die("fill", &err);
        done += n;
    }
    if (persist_downgrade_since(s, persist_shard_upper(s), &err) != CC_OK ||
        persist_client_rollup(c, &err) != CC_OK)
        die("rollup", &err);
    persist_client_close(c);
    free(u);
    free(kb);
    int samples = g.quick ? 1 : 3;
    double secs[3];
    for (int i = 0; i < samples; i++) {
        double t0 = now_us();
        c = open_client(dir, PERSIST_SYNC_FSYNC);
        secs[i] = (now_us() - t0) / 1e6;
        pmap_omap view;
        persist_shard_trace(open_shard(c, "big"), &view, NULL);
        size_t live = pmap_omap_count(&view);
        persist_trace_release(c, &view);
        if (live != keys) {
            fprintf(stderr, "persist_bench: reopen found %zu keys, want %zu\n", live, keys);
            exit(1);
        }
        persist_client_close(c);
    }
    double med = pct(secs, (size_t)samples, 50);
    if (g.json)
        printf("{\"bench\":\"reopen\",\"keys\":%zu,\"seconds\":%.3f}\n", keys, med);
    else
        printf("reopen %-8zu keys after a rollup        %9.3f s\n", keys, med);
    rm_tree(dir);
    return med;
}

static bool
wanted(const char *name)
{
    return g.only == NULL || strcmp(g.only, name) == 0;
}

/* --- main --------------------------------------------------------------------------------- */

static void
usage(void)
{
    fputs("usage: persist_bench [--json] [--quick] [--dir DIR] [--only BENCH]\n"
          "  --json     one JSON object per line\n"
          "  --quick    smaller counts (CI smoke)\n"
          "  --dir DIR  where the scratch directory goes (default /tmp); removed afterwards\n"
          "  --only B   run only floor, commit, txnwal or reopen\n",
          stderr);
}

int
main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            g.json = true;
        else if (strcmp(argv[i], "--quick") == 0)
            g.quick = true;
        else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            g.dir = argv[++i];
        else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
            g.only = argv[++i];
        else {
            usage();
            return 2;
        }
    }
    snprintf(g_root, sizeof g_root, "%s/persist-bench-XXXXXX", g.dir != NULL ? g.dir : "/tmp");
    if (mkdtemp(g_root) == NULL)
        die("mkdtemp", NULL);
    setvbuf(stdout, NULL, _IOLBF, 0);

    double floor = 0, reopen = 0, tw[3] = {0};
    commit_result one = {0}, many = {0};
    /* The floor is sampled just before and just after the single durable
     * committer and pooled, so both figures see the same disk. */
    if (wanted("commit") || wanted("floor")) {
        int nf = g.quick ? 20 : 200;
        double *fl = malloc(2 * (size_t)nf * sizeof *fl);
        floor_samples(fl, nf);
        if (wanted("commit"))
            one = bench_commit(1, PERSIST_SYNC_FSYNC);
        floor_samples(fl + nf, nf);
        floor = floor_report(pct(fl, 2 * (size_t)nf, 50));
        free(fl);
    }
    if (wanted("commit")) {
        bench_commit(1, PERSIST_SYNC_NONE);
        static const int ks[] = {4, 16, 64};
        for (size_t i = 0; i < sizeof ks / sizeof *ks; i++)
            many = bench_commit(ks[i], PERSIST_SYNC_FSYNC);
    }
    static const size_t regs_full[] = {1, 1000, 100000}, regs_quick[] = {1, 1000, 10000};
    const size_t *regs = g.quick ? regs_quick : regs_full;
    if (wanted("txnwal"))
        for (int d = 0; d < 2; d++)
            for (int i = 0; i < 3; i++) {
                double p = bench_txnwal(regs[i], d == 0 ? PERSIST_SYNC_FSYNC : PERSIST_SYNC_NONE);
                if (d == 0)
                    tw[i] = p;
            }
    if (wanted("reopen"))
        reopen = bench_reopen(g.quick ? 100000 : 1000000);
    if (!g.json && g.only == NULL) {
        printf("\ntargets (issue 4):\n");
        printf("  single durable commit p50 / fdatasync floor   %.2fx  (<= 1.3x)\n",
               one.p50 / floor);
        printf("  64 committers / 1 committer commits/s          %.1fx  (>= 20x)\n",
               many.per_s / one.per_s);
        printf("  txn-wal p50 at %zu / at 1 registered (fsync)  %.2fx  (<= 1.1x)\n", regs[2],
               tw[2] / tw[0]);
        printf("  reopen of %zu keys                           %.3f s (<= 2 s for 1M)\n",
               g.quick ? (size_t)100000 : (size_t)1000000, reopen);
    }
    rm_tree(g_root);
    return 0;
}
