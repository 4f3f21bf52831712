/*
 * tests/soak/soak.c — the soak test: minutes of mixed DDL at full speed on a
 * bounded name space, sampling memory, file descriptors and the data
 * directory every second, and failing if any of them keeps growing once the
 * catalog has stopped growing.
 *
 * W writer threads and R reader threads (soak_work.c) run against a
 * file-backed catalog in a scratch directory — embedded through cowcat.h, or
 * with --server through a cowcatd child over libpq — plus, embedded, one
 * change subscriber. The catalog's size oscillates around a fixed level (the
 * names are bounded), so in steady state nothing the process holds should
 * grow. Every second one sample:
 *
 *   {"t_s":12,"ddl_per_s":4210,"rss_mb":41.2,"heap_mb":18.3,"fds":9,
 *    "datadir_mb":21.4,"objects":183}
 *
 * (--json prints each; otherwise every 10th). RSS and fds are the target
 * process's (/proc/PID/statm, /proc/PID/fd); heap_mb is glibc's bytes in use
 * (mallinfo2, embedded only; 0 when unknown), the floor of HEAP_PROBES
 * probes over the second (the fit uses the floor over HEAP_WINDOW seconds);
 * datadir_mb is the sum of the file sizes.
 *
 * Why RSS is not fitted alone: readers pin versions for up to 3 s, and
 * every commit meanwhile leaves ~10 kB of path-copied nodes they may still
 * see, so the heap in use swings by 50-250 MB with the commit rate (which
 * moves tenfold on a shared machine). RSS follows the heap's high-water
 * mark (glibc keeps freed memory in its per-thread arenas): it steps up
 * whenever a larger peak comes and then stays. So readers drop every pin
 * for one second in five, and the fit uses the heap's floor over five
 * seconds — live memory, the leak signal — and RSS minus the heap's
 * high-water so far (allocator overhead and fragmentation). Without a heap
 * figure (--server, or no mallinfo2) RSS itself must stop growing.
 *
 * After a warm-up (the first third of the run) each series is fitted by
 * least squares and the run FAILS (exit 1) when:
 *   - the heap floor grows faster than B = max(4 MB/min, 2% of the RSS at
 *     the end of the warm-up per minute) — a leak of one 100-byte
 *     allocation per DDL at 3,000 DDL/s is 18 MB/min, well above B, and the
 *     unbounded audit log this test found grew 30 MB/min; the floor's noise
 *     is well under 1 MB/min;
 *   - RSS minus the heap's high-water grows faster than B (flat within
 *     +-2 MB/min in the runs so far, while raw RSS rose 13-35 MB/min after
 *     the warm-up with rising commit rates); without a heap figure, RSS
 *     grows faster than B both after the warm-up and in its last third.
 *     Checked on runs of LONG_RUN_S or more: RSS moves in allocator steps
 *     of 5-30 MB, which a fit over a few seconds cannot tell from a leak
 *     (the heap floor can);
 *   - the open fds grow by more than 1 per minute and end above their
 *     lowest level after the warm-up (log segments and rollup files come
 *     and go one at a time);
 *   - the data directory grows faster than max(4 MB/min, 5% of its warm
 *     size per minute) — rollups (once the log since the last one exceeds
 *     max(16 MiB, the last rollup)) keep it a sawtooth whose floor, the
 *     rollup, tracks the catalog's size; a short run sees one or two teeth,
 *     so this too is checked on runs of LONG_RUN_S or more;
 *   - any statement fails with a SQLSTATE the workload cannot produce, a
 *     pinned version changes under its reader, or the subscriber sees a
 *     malformed change;
 *   - at the end cowcat_check fails, or reopening the data directory gives
 *     a different fingerprint from the one the run ended with (embedded) or
 *     from a second reopen (server).
 * No wall-clock figure is asserted: rates are reported, never checked.
 *
 *   soak [--seconds S] [--writers W] [--readers R] [--durability none|fsync]
 *        [--seed N] [--json] [--server] [--dir DIR] [--keep] [--audit-keep N]
 *        [--malloc-trim]
 * --audit-keep sets cowcat_options.audit_log_keep (embedded); --malloc-trim
 * calls malloc_trim(0) before each sample, to tell allocator retention from
 * growth; --keep keeps the data directory.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <malloc.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "server_fixture.h"
#include "soak.h"

#define HEAP_PROBES 5   /* heap probes per sample (mallinfo2 takes each arena's lock) */
#define HEAP_WINDOW 5   /* samples whose lowest heap floor the fit uses */
#define LONG_RUN_S  180 /* shorter runs check neither RSS nor the data directory */

/* Under a sanitizer RSS holds shadow memory and quarantined blocks that grow
 * with the memory ever touched: the memory bounds are reported, not
 * enforced (the sanitizer does its own checking); the rest is. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SOAK_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SOAK_SANITIZED 1
#endif
#endif
#ifndef SOAK_SANITIZED
#define SOAK_SANITIZED 0
#endif

typedef struct sample {
    double t;     /* seconds since the start */
    double ddl_s; /* committed DDL per second over the last interval */
    double rss_mb;
    double heap_mb;  /* the floor over the second; 0: unknown */
    double heap_low; /* the floor over the last HEAP_WINDOW samples: what the fit uses */
    double rss_over; /* rss_mb - the heap's high-water so far (0 heap: rss_mb) */
    double fds;
    double dir_mb;
    uint64_t objects;
    uint64_t ddl; /* committed DDL so far */
} sample;

typedef struct opts {
    int seconds, writers, readers;
    bool fsync, json, server, keep, trim;
    uint64_t seed;
    uint64_t audit_keep; /* embedded: cowcat_options.audit_log_keep (0: the default) */
    const char *dir;
} opts;

/* --- the subscriber ------------------------------------------------------------------------ */

typedef struct sub_state {
    uint64_t calls, changes, bad; /* relaxed atomics: written on committing threads */
} sub_state;

static void
on_change(void *arg, const cowcat_change *changes, size_t n)
{
    sub_state *s = arg;
    uint64_t bad = n == 0;
    for (size_t i = 0; i < n; i++)
        bad += (changes[i].diff != 1 && changes[i].diff != -1) || changes[i].object == NULL ||
               changes[i].object->name == NULL;
    __atomic_add_fetch(&s->calls, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&s->changes, n, __ATOMIC_RELAXED);
    if (bad)
        __atomic_add_fetch(&s->bad, bad, __ATOMIC_RELAXED);
}

/* --- measuring a process ------------------------------------------------------------------- */

static double
rss_mb(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/statm", (int)pid);
    FILE *f = fopen(path, "r");
    unsigned long size = 0, resident = 0;
    if (f == NULL)
        return 0;
    if (fscanf(f, "%lu %lu", &size, &resident) != 2)
        resident = 0;
    fclose(f);
    return (double)resident * (double)sysconf(_SC_PAGESIZE) / (1024.0 * 1024.0);
}

static int
count_fds(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    if (d == NULL)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    closedir(d);
    return n - (pid == getpid()); /* not the one opendir holds */
}

static double
dir_mb(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return 0;
    double bytes = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char path[1024];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (e->d_name[0] != '.' && stat(path, &st) == 0 && S_ISREG(st.st_mode))
            bytes += (double)st.st_size;
    }
    closedir(d);
    return bytes / (1024.0 * 1024.0);
}

static double
heap_mb(void)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
    struct mallinfo2 mi = mallinfo2();
    return (double)(mi.uordblks + mi.hblkhd) / (1024.0 * 1024.0);
#else
    return 0;
#endif
}

/* --- cowcatd's /metrics ---------------------------------------------------------------------- */

static double
metric(const char *text, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = text; (p = strstr(p, name)) != NULL; p += n)
        if ((p == text || p[-1] == '\n') && p[n] == ' ')
            return atof(p + n + 1);
    return -1;
}

/* The sum of a metric over its label sets (name{...} value lines); -1 if absent. */
static double
metric_sum(const char *text, const char *name)
{
    size_t n = strlen(name);
    double sum = -1;
    for (const char *p = text; (p = strstr(p, name)) != NULL; p += n) {
        if ((p != text && p[-1] != '\n') || p[n] != '{')
            continue;
        const char *v = strchr(p, '}');
        if (v != NULL && v[1] == ' ')
            sum = (sum < 0 ? 0 : sum) + atof(v + 2);
    }
    return sum;
}

/* GET /metrics into buf; false if the server did not answer. */
static bool
get_metrics(int port, char *buf, size_t cap)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        if (fd >= 0)
            close(fd);
        return false;
    }
    static const char req[] = "GET /metrics HTTP/1.0\r\n\r\n";
    bool ok = write(fd, req, sizeof req - 1) == (ssize_t)(sizeof req - 1);
    size_t len = 0;
    ssize_t r;
    while (ok && len + 1 < cap && (r = read(fd, buf + len, cap - 1 - len)) > 0)
        len += (size_t)r;
    buf[len] = '\0';
    close(fd);
    return ok && len > 0;
}

/* --- the growth fit ------------------------------------------------------------------------ */

/* Least-squares slope of y over t (per minute) for samples [from, n). */
static double
slope_per_min(const sample *s, size_t from, size_t n, size_t off)
{
    double st = 0, sy = 0, stt = 0, sty = 0, k = (double)(n - from);
    if (n - from < 3)
        return 0;
    for (size_t i = from; i < n; i++) {
        double y = *(const double *)((const char *)&s[i] + off);
        st += s[i].t, sy += y, stt += s[i].t * s[i].t, sty += s[i].t * y;
    }
    double den = k * stt - st * st;
    return den == 0 ? 0 : 60.0 * (k * sty - st * sy) / den;
}

#define SERIES(field) offsetof(sample, field)

static void
print_sample(const sample *s)
{
    printf("{\"t_s\":%.0f,\"ddl_per_s\":%.0f,\"rss_mb\":%.1f,\"heap_mb\":%.1f,\"fds\":%.0f,"
           "\"datadir_mb\":%.1f,\"objects\":%llu}\n",
           s->t, s->ddl_s, s->rss_mb, s->heap_mb, s->fds, s->dir_mb,
           (unsigned long long)s->objects);
    fflush(stdout);
}

static double
elapsed(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static void
usage(void)
{
    fprintf(stderr, "usage: soak [--seconds S] [--writers W] [--readers R] "
                    "[--durability none|fsync] [--seed N] [--json] [--server] [--dir DIR] "
                    "[--keep] [--audit-keep N] [--malloc-trim]\n");
    exit(2);
}

static opts
parse_args(int argc, char **argv)
{
    opts o = {.seconds = 60, .writers = 4, .readers = 2, .seed = 0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--json") == 0)
            o.json = true;
        else if (strcmp(a, "--server") == 0)
            o.server = true;
        else if (strcmp(a, "--keep") == 0)
            o.keep = true;
        else if (strcmp(a, "--malloc-trim") == 0)
            o.trim = true;
        else if (v == NULL)
            usage();
        else if (strcmp(a, "--seconds") == 0)
            o.seconds = atoi(v), i++;
        else if (strcmp(a, "--writers") == 0)
            o.writers = atoi(v), i++;
        else if (strcmp(a, "--readers") == 0)
            o.readers = atoi(v), i++;
        else if (strcmp(a, "--seed") == 0)
            o.seed = strtoull(v, NULL, 10), i++;
        else if (strcmp(a, "--audit-keep") == 0)
            o.audit_keep = strtoull(v, NULL, 10), i++;
        else if (strcmp(a, "--dir") == 0)
            o.dir = v, i++;
        else if (strcmp(a, "--durability") == 0 && (!strcmp(v, "none") || !strcmp(v, "fsync")))
            o.fsync = strcmp(v, "fsync") == 0, i++;
        else
            usage();
    }
    if (o.seconds < 3 || o.writers < 1 || o.readers < 0)
        usage();
    if (o.seed == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        o.seed = (uint64_t)ts.tv_sec * 1000003u ^ (uint64_t)ts.tv_nsec;
    }
    return o;
}

/* The target: the embedded handle, or a cowcatd child. */
typedef struct target {
    cowcat *db;
    cowcat_subscription *sub;
    srvproc srv;
    char user_ci[128], system_ci[128];
    pid_t pid;
    char *mbuf; /* /metrics text */
} target;

static bool
target_start(const opts *o, const char *dir, target *t, sub_state *subs)
{
    cowcat_error err;
    if (!o->server) {
        cowcat_options co = {.data_dir = dir,
                             .durability =
                                 o->fsync ? COWCAT_DURABILITY_FSYNC : COWCAT_DURABILITY_NONE,
                             .audit_log_keep = o->audit_keep};
        if (cowcat_open(&co, &t->db, &err) != COWCAT_OK) {
            fprintf(stderr, "soak: open %s: %s\n", dir, err.message);
            return false;
        }
        if (cowcat_subscribe(t->db, on_change, subs, &t->sub, &err) != COWCAT_OK) {
            fprintf(stderr, "soak: subscribe: %s\n", err.message);
            return false;
        }
        t->pid = getpid();
        return true;
    }
    const char *extra[] = {"--durability", o->fsync ? "fsync" : "none", "--log-level", "warning",
                           NULL};
    if (srvproc_start(&t->srv, dir, extra) != 0) {
        fprintf(stderr, "soak: cowcatd did not start (log %s)\n", t->srv.log);
        return false;
    }
    t->pid = t->srv.pid;
    snprintf(t->user_ci, sizeof t->user_ci,
             "host=127.0.0.1 port=%d user=cowcat dbname=cowcat connect_timeout=10", t->srv.port);
    snprintf(t->system_ci, sizeof t->system_ci,
             "host=127.0.0.1 port=%d user=cowcat_system dbname=cowcat connect_timeout=10",
             t->srv.internal_port);
    t->mbuf = malloc(1 << 20);
    return t->mbuf != NULL;
}

/* Committed DDL so far and the published object count. */
static void
target_counts(target *t, uint64_t *ddl, uint64_t *objects)
{
    if (t->db != NULL) {
        cowcat_stats st;
        cowcat_stats_get(t->db, &st);
        *ddl = st.ddl, *objects = st.objects;
        return;
    }
    if (get_metrics(t->srv.metrics_port, t->mbuf, 1 << 20)) {
        double d = metric(t->mbuf, "cowcat_ddl_total");
        double n = metric(t->mbuf, "cowcat_objects");
        if (n < 0)
            n = metric_sum(t->mbuf, "cowcat_objects");
        *ddl = d > 0 ? (uint64_t)d : 0, *objects = n > 0 ? (uint64_t)n : 0;
    }
}

/* Final checks on the data directory: cowcat_check and a reopen fingerprint. */
static int
final_checks(const opts *o, const char *dir, target *t)
{
    int bad = 0;
    cowcat_error err;
    uint64_t fp[2] = {0, 0};
    bool have_fp = false;
    if (t->db != NULL) {
        if (cowcat_check(t->db, &err) != COWCAT_OK) {
            printf("soak: FAIL: cowcat_check at the end: %s\n", err.message);
            bad++;
        }
        cowcat_session *s;
        cowcat_snapshot *snap;
        if (cowcat_session_open(t->db, NULL, &s, &err) == COWCAT_OK) {
            if (cowcat_snapshot_open(s, &snap, &err) == COWCAT_OK) {
                cowcat_snapshot_fingerprint(snap, fp);
                have_fp = true;
                cowcat_snapshot_close(snap);
            }
            cowcat_session_close(s);
        }
        cowcat_unsubscribe(t->sub);
        cowcat_close(t->db);
        t->db = NULL;
    } else {
        int rc = srvproc_stop(&t->srv);
        if (rc != 0) {
            printf("soak: FAIL: cowcatd exited %d on SIGTERM (log %s)\n", rc, t->srv.log);
            bad++;
        }
        if (srvproc_log_has_sanitizer_report(&t->srv)) {
            printf("soak: FAIL: sanitizer report in %s\n", t->srv.log);
            bad++;
        }
    }
    for (int round = 0; round < (o->server ? 2 : 1); round++) {
        cowcat *db;
        cowcat_options co = {.data_dir = dir};
        if (cowcat_open(&co, &db, &err) != COWCAT_OK) {
            printf("soak: FAIL: reopen: %s\n", err.message);
            return bad + 1;
        }
        if (cowcat_check(db, &err) != COWCAT_OK) {
            printf("soak: FAIL: cowcat_check after reopening: %s\n", err.message);
            bad++;
        }
        cowcat_session *s;
        cowcat_snapshot *snap;
        uint64_t again[2] = {0, 0};
        if (cowcat_session_open(db, NULL, &s, &err) == COWCAT_OK) {
            if (cowcat_snapshot_open(s, &snap, &err) == COWCAT_OK) {
                cowcat_snapshot_fingerprint(snap, again);
                cowcat_snapshot_close(snap);
            }
            cowcat_session_close(s);
        }
        if (have_fp && (again[0] != fp[0] || again[1] != fp[1])) {
            printf("soak: FAIL: the reopened catalog's fingerprint %016llx%016llx differs from "
                   "the one the run ended with %016llx%016llx\n",
                   (unsigned long long)again[0], (unsigned long long)again[1],
                   (unsigned long long)fp[0], (unsigned long long)fp[1]);
            bad++;
        }
        fp[0] = again[0], fp[1] = again[1], have_fp = true;
        cowcat_close(db);
    }
    return bad;
}

int
main(int argc, char **argv)
{
    opts o = parse_args(argc, argv);
    setvbuf(stdout, NULL, _IOLBF, 0);
    char dir[512];
    if (o.dir != NULL) {
        snprintf(dir, sizeof dir, "%s", o.dir);
    } else {
        snprintf(dir, sizeof dir, "soak-%d-XXXXXX", (int)getpid());
        if (mkdtemp(dir) == NULL) {
            perror("soak: mkdtemp");
            return 1;
        }
    }
    printf("soak: %s, %d s, %d writers, %d readers, durability %s, seed %llu, data directory "
           "%s\n",
           o.server ? "cowcatd over libpq" : "embedded", o.seconds, o.writers, o.readers,
           o.fsync ? "fsync" : "none", (unsigned long long)o.seed, dir);

    target t = {0};
    sub_state subs = {0};
    soak_shared sh = {0};
    if (!target_start(&o, dir, &t, &subs))
        return 1;
    int nw = o.writers + o.readers;
    soak_worker *w = calloc((size_t)nw + 1, sizeof *w);
    pthread_t *tid = calloc((size_t)nw, sizeof *tid);
    for (int i = 0; i <= nw; i++)
        w[i] = (soak_worker){.sh = &sh,
                             .db = t.db,
                             .conninfo_user = t.user_ci,
                             .conninfo_system = t.system_ci,
                             .id = i,
                             .rng = o.seed * 0x9E3779B97F4A7C15ull + (uint64_t)i * 7919u + 1};
    if (!soak_setup(&w[nw]))
        return 1;
    for (int i = 0; i < nw; i++)
        pthread_create(&tid[i], NULL, i < o.writers ? soak_writer_main : soak_reader_main, &w[i]);

    size_t cap = (size_t)o.seconds + 8, n = 0;
    sample *s = calloc(cap, sizeof *s);
    struct timespec t0, next;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    next = t0;
    uint64_t prev_ddl = 0;
    double prev_t = 0;
    double heap_peak = 0;
    for (int tick = 1; tick <= o.seconds; tick++) {
        /* the heap's floor over the second: pinned garbage comes and goes
         * within seconds, a leak raises the floor */
        double low = -1;
        for (int sub = 0; sub < HEAP_PROBES; sub++) {
            next.tv_nsec += 1000000000L / HEAP_PROBES;
            if (next.tv_nsec >= 1000000000L)
                next.tv_sec++, next.tv_nsec -= 1000000000L;
            while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
                ;
            double h = o.server ? 0 : heap_mb();
            low = low < 0 || h < low ? h : low;
            heap_peak = h > heap_peak ? h : heap_peak;
        }
        if (o.trim && !o.server)
            malloc_trim(0);
        sample *x = &s[n++];
        x->t = elapsed(&t0);
        target_counts(&t, &x->ddl, &x->objects);
        x->ddl_s = (double)(x->ddl - prev_ddl) / (x->t - prev_t);
        prev_ddl = x->ddl, prev_t = x->t;
        x->rss_mb = rss_mb(t.pid);
        x->rss_over = x->rss_mb - heap_peak;
        x->heap_mb = low;
        x->heap_low = low;
        for (size_t k = n - 1; k-- > 0 && k + HEAP_WINDOW >= n;)
            x->heap_low = s[k].heap_mb < x->heap_low ? s[k].heap_mb : x->heap_low;
        x->fds = count_fds(t.pid);
        x->dir_mb = dir_mb(dir);
        if (o.json || tick % 10 == 0 || tick == o.seconds)
            print_sample(x);
    }
    __atomic_store_n(&sh.stop, 1, __ATOMIC_RELAXED);
    for (int i = 0; i < nw; i++)
        pthread_join(tid[i], NULL);
    double run_s = elapsed(&t0);

    /* the growth fit over the samples after the warm-up */
    size_t warm = n / 3;
    const sample *wz = &s[warm > 0 ? warm - 1 : 0], *end = &s[n - 1];
    double rss_slope = slope_per_min(s, warm, n, SERIES(rss_mb));
    double rss_late_slope = slope_per_min(s, 2 * n / 3, n, SERIES(rss_mb));
    double over_slope = slope_per_min(s, warm, n, SERIES(rss_over));
    bool heap_known = wz->heap_mb > 0;
    bool long_run = o.seconds >= LONG_RUN_S;
    double heap_slope = slope_per_min(s, warm, n, SERIES(heap_low));
    double fd_slope = slope_per_min(s, warm, n, SERIES(fds));
    double dir_slope = slope_per_min(s, warm, n, SERIES(dir_mb));
    double rss_bound = wz->rss_mb * 0.02 > 4.0 ? wz->rss_mb * 0.02 : 4.0;
    double dir_bound = wz->dir_mb * 0.05 > 4.0 ? wz->dir_mb * 0.05 : 4.0;
    double warm_fds = wz->fds;
    for (size_t i = warm; i < n; i++)
        warm_fds = s[i].fds < warm_fds ? s[i].fds : warm_fds;
    int bad = 0;
    if (SOAK_SANITIZED)
        printf("soak: sanitizer build: memory bounds reported, not enforced\n");
    else if (!long_run)
        printf("soak: run shorter than %d s: RSS and data directory reported, not checked\n",
               LONG_RUN_S);
    if (!SOAK_SANITIZED && heap_known && long_run && over_slope > rss_bound) {
        printf("soak: FAIL: RSS grows %.2f MB/min beyond the heap's high-water mark after the "
               "warm-up (bound %.2f MB/min: max(4 MB, 2%% of the warm RSS %.1f MB) per minute)\n",
               over_slope, rss_bound, wz->rss_mb);
        bad++;
    }
    if (!SOAK_SANITIZED && !heap_known && long_run && rss_slope > rss_bound &&
        rss_late_slope > rss_bound) {
        printf("soak: FAIL: RSS grows %.2f MB/min after the warm-up and still %.2f MB/min in the "
               "last third (bound %.2f MB/min: max(4 MB, 2%% of the warm %.1f MB) per minute)\n",
               rss_slope, rss_late_slope, rss_bound, wz->rss_mb);
        bad++;
    }
    if (!SOAK_SANITIZED && heap_known && heap_slope > rss_bound) {
        printf("soak: FAIL: the heap in use (its floor over %d s) grows %.2f MB/min after the "
               "warm-up (bound %.2f MB/min; %.1f MB at the warm-up's end, %.1f MB at the end)\n",
               HEAP_WINDOW, heap_slope, rss_bound, wz->heap_low, end->heap_low);
        bad++;
    }
    if (fd_slope > 1.0 && end->fds > warm_fds) {
        printf("soak: FAIL: open fds grow %.2f per minute (%.0f at the warm-up's end, %.0f at the "
               "end)\n",
               fd_slope, wz->fds, end->fds);
        bad++;
    }
    if (long_run && dir_slope > dir_bound) {
        printf("soak: FAIL: the data directory grows %.2f MB/min after the warm-up (bound %.2f "
               "MB/min; %.1f MB at the warm-up's end, %.1f MB at the end)\n",
               dir_slope, dir_bound, wz->dir_mb, end->dir_mb);
        bad++;
    }
    uint64_t unexpected = __atomic_load_n(&sh.unexpected, __ATOMIC_RELAXED);
    if (unexpected > 0) {
        printf("soak: FAIL: %llu statements failed with a SQLSTATE the workload cannot produce\n",
               (unsigned long long)unexpected);
        for (int i = 0; i < nw; i++)
            if (w[i].first_unexpected[0] != '\0')
                printf("soak:   worker %d first: %s\n", i, w[i].first_unexpected);
        bad++;
    }
    if (sh.isolation_failures > 0) {
        printf("soak: FAIL: %llu pinned versions changed under their readers\n",
               (unsigned long long)sh.isolation_failures);
        bad++;
    }
    if (subs.bad > 0 || (!o.server && subs.calls == 0)) {
        printf("soak: FAIL: the subscriber saw %llu malformed changes in %llu calls\n",
               (unsigned long long)subs.bad, (unsigned long long)subs.calls);
        bad++;
    }

    soak_tally all = {0};
    for (int i = 0; i < nw; i++)
        for (int k = 0; k < w[i].tally.n; k++)
            for (uint64_t c = 0; c < w[i].tally.count[k]; c++)
                soak_tally_add(&all, w[i].tally.state[k]);
    printf("soak: %llu statements sent, %llu DDL committed (%.0f DDL/s), errors by SQLSTATE:",
           (unsigned long long)sh.statements, (unsigned long long)end->ddl,
           (double)end->ddl / run_s);
    for (int k = 0; k < all.n; k++)
        printf(" %s %llu", all.state[k], (unsigned long long)all.count[k]);
    printf("\nsoak: readers: %llu SELECTs (%llu rows), %llu snapshots held (longest %llu ms); "
           "subscriber: %llu commits, %llu changes\n",
           (unsigned long long)sh.reads, (unsigned long long)sh.rows,
           (unsigned long long)sh.snapshots_held, (unsigned long long)sh.max_hold_ms,
           (unsigned long long)subs.calls, (unsigned long long)subs.changes);

    bad += final_checks(&o, dir, &t);
    double obj_min = 1e300, obj_max = 0;
    for (size_t i = warm; i < n; i++) {
        obj_min = (double)s[i].objects < obj_min ? (double)s[i].objects : obj_min;
        obj_max = (double)s[i].objects > obj_max ? (double)s[i].objects : obj_max;
    }
    printf("{\"summary\":true,\"seed\":%llu,\"seconds\":%.0f,\"writers\":%d,\"readers\":%d,"
           "\"durability\":\"%s\",\"target\":\"%s\",\"ddl\":%llu,\"ddl_per_s\":%.0f,"
           "\"warm_s\":%.0f,\"rss_warm_mb\":%.1f,\"rss_end_mb\":%.1f,"
           "\"rss_slope_mb_per_min\":%.2f,\"rss_last_third_slope_mb_per_min\":%.2f,"
           "\"rss_over_heap_peak_slope_mb_per_min\":%.2f,"
           "\"rss_bound_mb_per_min\":%.2f,\"heap_warm_mb\":%.1f,\"heap_end_mb\":%.1f,"
           "\"heap_slope_mb_per_min\":%.2f,\"heap_peak_mb\":%.1f,"
           "\"fds_warm\":%.0f,\"fds_end\":%.0f,\"fds_slope_per_min\":%.2f,"
           "\"datadir_warm_mb\":%.1f,\"datadir_end_mb\":%.1f,"
           "\"datadir_slope_mb_per_min\":%.2f,\"objects_min\":%.0f,\"objects_max\":%.0f,"
           "\"unexpected\":%llu,\"ok\":%s}\n",
           (unsigned long long)o.seed, run_s, o.writers, o.readers, o.fsync ? "fsync" : "none",
           o.server ? "server" : "embedded", (unsigned long long)end->ddl, (double)end->ddl / run_s,
           wz->t, wz->rss_mb, end->rss_mb, rss_slope, rss_late_slope, over_slope, rss_bound,
           wz->heap_low, end->heap_low, heap_slope, heap_peak, wz->fds, end->fds, fd_slope,
           wz->dir_mb, end->dir_mb, dir_slope, obj_min, obj_max, (unsigned long long)unexpected,
           bad ? "false" : "true");
    if (bad == 0 && !o.keep && o.dir == NULL)
        srvproc_rmdir(dir);
    free(s), free(w), free(tid), free(t.mbuf);
    printf("soak: %s (seed %llu)\n", bad ? "FAILED" : "ok", (unsigned long long)o.seed);
    return bad ? 1 : 0;
}
