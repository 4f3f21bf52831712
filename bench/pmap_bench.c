/*
 * bench/pmap_bench.c — the persistent-map benchmark.
 *
 * For each size n (default 1k, 100k, 1M) it measures the CHAMP map (u64 id ->
 * pointer) and the B+tree (16-byte name -> pointer): clone, lookups, single
 * persistent writes (one write per transaction, old version released),
 * transient batches, bulk build, diff with k changes, range scan and rank
 * (omap), and memory per entry and per retained single-write version. In the
 * same run it measures the baselines the targets are stated against: a plain
 * mutable open-addressing hash table (`openaddr`) and a sorted array with
 * binary search (`sorted_array`), so ratios are fair on a noisy machine. The
 * single writes are also measured with PMAP_SHARING_COUNTED (classic per-node
 * reference counts) to show what the owner-token scheme saves.
 *
 * Every figure is the median of --samples runs. --json prints one object per
 * line: {"map":"hamt","op":"lookup_hit","n":1000000,"ns_per_op":123.4,...};
 * memory lines carry "bytes_per_entry" (or "bytes_per_version") instead.
 *
 * Memory is measured as the growth of glibc's heap in use (mallinfo2), so it
 * includes allocator overhead.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/hash.h"
#include "pmap/domain.h"
#include "pmap/hamt.h"
#include "pmap/omap.h"

typedef struct opts {
    size_t sizes[8];
    size_t nsizes;
    int samples;
    bool json;
    bool quick;
} opts;

/* --- timing and results ------------------------------------------------------ */

static double
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double
median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static const opts *g_opts;

static void
report(const char *map, const char *op, size_t n, const char *unit, double value,
       const char *sharing)
{
    if (g_opts->json) {
        printf("{\"map\":\"%s\",\"op\":\"%s\",\"n\":%zu,\"%s\":%.1f", map, op, n, unit, value);
        if (sharing != NULL)
            printf(",\"sharing\":\"%s\"", sharing);
        printf(",\"samples\":%d}\n", g_opts->samples);
    } else {
        printf("  %-13s %-22s n=%-8zu %12.1f %s%s%s\n", map, op, n, value, unit,
               sharing ? "  sharing=" : "", sharing ? sharing : "");
    }
    fflush(stdout);
}

static size_t
heap_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

static void
die(const char *what, const cc_err *err)
{
    fprintf(stderr, "pmap_bench: %s: %s\n", what, err != NULL ? err->msg : "failed");
    exit(1);
}

#define CHECK(call)                                                                                \
    do {                                                                                           \
        cc_err e_;                                                                                 \
        if ((call) != CC_OK)                                                                       \
            die(#call, &e_);                                                                       \
    } while (0)

/* --- workload ---------------------------------------------------------------- */

static uint64_t rng_state = 0x853c49e6748fea9bULL;

static uint64_t
rnd(void)
{
    rng_state += 0x9e3779b97f4a7c15ULL;
    return cc_mix64(rng_state);
}

static void *
val_of(uint64_t k)
{
    return (void *)(uintptr_t)(k | 1);
}

/* Distinct random ids: keys[0..n) in the map, keys[n..n+extra) never inserted. */
static uint64_t *
make_ids(size_t total)
{
    uint64_t *k = malloc(total * sizeof *k);
    for (size_t i = 0; i < total; i++)
        k[i] = rnd() | 1; /* distinct with overwhelming probability (bulk build rejects dups) */
    return k;
}

/* 16-byte names: hex of a random u64 (the first 8 bytes discriminate). */
typedef struct name {
    char s[17];
} name;

static int
cmp_name(const void *a, const void *b)
{
    return memcmp(((const name *)a)->s, ((const name *)b)->s, 16);
}

static name *
make_names(size_t total)
{
    name *v = malloc(total * sizeof *v);
    for (size_t i = 0; i < total; i++)
        snprintf(v[i].s, sizeof v[i].s, "%016llx", (unsigned long long)rnd());
    return v;
}

/* --- baseline: open addressing ----------------------------------------------- */

typedef struct oa {
    uint64_t *keys; /* 0 = empty */
    void **vals;
    size_t mask;
    size_t count;
} oa;

static void
oa_init(oa *t, size_t n)
{
    size_t cap = 16;
    while (cap < n * 2)
        cap *= 2;
    t->keys = calloc(cap, sizeof *t->keys);
    t->vals = calloc(cap, sizeof *t->vals);
    t->mask = cap - 1;
    t->count = 0;
}

static void
oa_put(oa *t, uint64_t k, void *v)
{
    size_t i = cc_mix64(k) & t->mask;
    while (t->keys[i] != 0 && t->keys[i] != k)
        i = (i + 1) & t->mask;
    t->count += t->keys[i] == 0;
    t->keys[i] = k;
    t->vals[i] = v;
}

static void *
oa_find(const oa *t, uint64_t k)
{
    size_t i = cc_mix64(k) & t->mask;
    while (t->keys[i] != 0) {
        if (t->keys[i] == k)
            return t->vals[i];
        i = (i + 1) & t->mask;
    }
    return NULL;
}

static void
oa_free(oa *t)
{
    free(t->keys);
    free(t->vals);
}

/* --- baseline: sorted array -------------------------------------------------- */

typedef struct kv {
    uint64_t k;
    void *v;
} kv;

static int
cmp_kv(const void *a, const void *b)
{
    uint64_t x = ((const kv *)a)->k, y = ((const kv *)b)->k;
    return (x > y) - (x < y);
}

static void *
sa_find(const kv *a, size_t n, uint64_t k)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (a[mid].k < k)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && a[lo].k == k ? a[lo].v : NULL;
}

/* Sorted array of name pointers (the omap baseline). */
static size_t
sn_lower(name *const *a, size_t n, const char *s)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (memcmp(a[mid]->s, s, 16) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* --- helpers over the maps --------------------------------------------------- */

static const pmap_hamt_type hamt_u64 = {.key_kind = PMAP_KEY_U64};
static const pmap_omap_type omap_names = {0};

static pmap_domain *
new_domain(pmap_sharing sharing)
{
    pmap_domain *d;
    pmap_domain_options o = {.sharing = sharing};
    CHECK(pmap_domain_new(&o, &d, &e_));
    return d;
}

static void
hamt_build(pmap_domain *d, pmap_hamt *m, const uint64_t *ids, size_t n)
{
    void **vals = malloc(n * sizeof *vals);
    for (size_t i = 0; i < n; i++)
        vals[i] = val_of(ids[i]);
    pmap_txn *t;
    pmap_hamt_init(m, d, &hamt_u64);
    CHECK(pmap_txn_begin(d, &t, &e_));
    CHECK(pmap_hamt_build_u64(t, m, ids, vals, n, &e_));
    pmap_txn_commit(t);
    free(vals);
}

static void
hamt_drop(pmap_hamt *m)
{
    pmap_txn *t;
    CHECK(pmap_txn_begin(m->domain, &t, &e_));
    CHECK(pmap_hamt_drop(t, m, &e_));
    pmap_txn_commit(t);
}

static void
omap_build(pmap_domain *d, pmap_omap *m, name *sorted, size_t n)
{
    pmap_bytes *keys = malloc(n * sizeof *keys);
    void **vals = malloc(n * sizeof *vals);
    for (size_t i = 0; i < n; i++) {
        keys[i] = (pmap_bytes){sorted[i].s, 16};
        vals[i] = val_of(i);
    }
    pmap_txn *t;
    pmap_omap_init(m, d, &omap_names);
    CHECK(pmap_txn_begin(d, &t, &e_));
    CHECK(pmap_omap_build(t, m, keys, vals, n, &e_));
    pmap_txn_commit(t);
    free(keys);
    free(vals);
}

static void
omap_drop(pmap_omap *m)
{
    pmap_txn *t;
    CHECK(pmap_txn_begin(m->domain, &t, &e_));
    CHECK(pmap_omap_drop(t, m, &e_));
    pmap_txn_commit(t);
}

static int
count_diff(void *arg, const pmap_diff_item *item)
{
    (void)item;
    (*(size_t *)arg)++;
    return 0;
}

/* Sample count for an operation: fewer repetitions for expensive ones. */
static size_t
reps(size_t n, size_t want)
{
    (void)n;
    return g_opts->quick ? (want / 10 > 0 ? want / 10 : 1) : want;
}

/* --- the hamt benchmarks ------------------------------------------------------- */

static void
bench_hamt_writes(size_t n, pmap_sharing sharing, const uint64_t *ids, const uint64_t *fresh,
                  size_t nfresh)
{
    const char *sh = sharing == PMAP_SHARING_OWNER ? "owner" : "counted";
    pmap_domain *d = new_domain(sharing);
    pmap_hamt m;
    hamt_build(d, &m, ids, n);
    int S = g_opts->samples;
    double ins[S], upd[S], del[S];
    size_t k = reps(n, 20000);
    if (k * (size_t)S > nfresh)
        k = nfresh / (size_t)S;
    size_t next = 0;
    for (int s = 0; s < S; s++) {
        pmap_txn *t;
        double t0 = now_ns();
        for (size_t i = 0; i < k; i++) {
            CHECK(pmap_txn_begin(d, &t, &e_));
            CHECK(pmap_hamt_put_u64(t, &m, fresh[next + i], val_of(fresh[next + i]), NULL, &e_));
            pmap_txn_commit(t);
        }
        ins[s] = (now_ns() - t0) / (double)k;
        t0 = now_ns();
        for (size_t i = 0; i < k; i++) {
            CHECK(pmap_txn_begin(d, &t, &e_));
            uint64_t key = ids[(next + i * 7919) % n];
            CHECK(pmap_hamt_put_u64(t, &m, key, val_of(key + 2), NULL, &e_));
            pmap_txn_commit(t);
        }
        upd[s] = (now_ns() - t0) / (double)k;
        t0 = now_ns();
        for (size_t i = 0; i < k; i++) {
            CHECK(pmap_txn_begin(d, &t, &e_));
            CHECK(pmap_hamt_del_u64(t, &m, fresh[next + i], NULL, &e_));
            pmap_txn_commit(t);
        }
        del[s] = (now_ns() - t0) / (double)k;
        next += k;
    }
    report("hamt", "insert", n, "ns_per_op", median(ins, S), sh);
    report("hamt", "update", n, "ns_per_op", median(upd, S), sh);
    report("hamt", "delete", n, "ns_per_op", median(del, S), sh);
    hamt_drop(&m);
    pmap_domain_free(d);
}

static void
bench_hamt(size_t n)
{
    int S = g_opts->samples;
    size_t nfresh = 200000;
    uint64_t *all = make_ids(n + nfresh + 100000);
    uint64_t *ids = all, *fresh = all + n, *miss = all + n + nfresh;
    pmap_domain *d = new_domain(PMAP_SHARING_OWNER);
    double v[S];

    /* bulk build (and memory of the built map) */
    pmap_hamt m;
    size_t heap0 = heap_in_use();
    for (int s = 0; s < S; s++) {
        double t0 = now_ns();
        hamt_build(d, &m, ids, n);
        v[s] = (now_ns() - t0) / (double)n;
        if (s == 0) {
            size_t heap1 = heap_in_use();
            report("hamt", "memory", n, "bytes_per_entry", (double)(heap1 - heap0) / (double)n,
                   NULL);
        }
        if (s + 1 < S)
            hamt_drop(&m);
    }
    report("hamt", "bulk_build", n, "ns_per_op", median(v, S), NULL);

    /* lookups in shuffled order */
    size_t q = n < 200000 ? n : 200000;
    uint64_t *probe = malloc(q * sizeof *probe);
    for (size_t i = 0; i < q; i++)
        probe[i] = ids[rnd() % n];
    uintptr_t sink = 0;
    for (int s = 0; s < S; s++) {
        double t0 = now_ns();
        for (size_t i = 0; i < q; i++)
            sink += (uintptr_t)pmap_hamt_find_u64(&m, probe[i]);
        v[s] = (now_ns() - t0) / (double)q;
    }
    report("hamt", "lookup_hit", n, "ns_per_op", median(v, S), NULL);
    for (int s = 0; s < S; s++) {
        double t0 = now_ns();
        for (size_t i = 0; i < q && i < 100000; i++)
            sink += (uintptr_t)pmap_hamt_find_u64(&m, miss[i]);
        v[s] = (now_ns() - t0) / (double)(q < 100000 ? q : 100000);
    }
    report("hamt", "lookup_miss", n, "ns_per_op", median(v, S), NULL);

    /* clone: O(1), one structural reference on the root */
    enum { NCLONES = 1000 };
    static pmap_hamt clones[NCLONES];
    for (int s = 0; s < S; s++) {
        double t0 = now_ns();
        for (int i = 0; i < NCLONES; i++)
            pmap_hamt_clone(&m, &clones[i]);
        v[s] = (now_ns() - t0) / NCLONES;
        pmap_txn *t;
        CHECK(pmap_txn_begin(d, &t, &e_));
        for (int i = 0; i < NCLONES; i++)
            CHECK(pmap_hamt_drop(t, &clones[i], &e_));
        pmap_txn_commit(t);
    }
    report("hamt", "clone", n, "ns_per_op", median(v, S), NULL);

    /* memory per retained single-write version: clone, one write, keep it */
    {
        size_t h0 = heap_in_use();
        for (int i = 0; i < NCLONES; i++) {
            pmap_hamt_clone(&m, &clones[i]);
            pmap_txn *t;
            CHECK(pmap_txn_begin(d, &t, &e_));
            CHECK(pmap_hamt_put_u64(t, &clones[i], fresh[i], val_of(fresh[i]), NULL, &e_));
            pmap_txn_commit(t);
        }
        size_t h1 = heap_in_use();
        report("hamt", "memory_version", n, "bytes_per_version", (double)(h1 - h0) / NCLONES, NULL);
        pmap_txn *t;
        CHECK(pmap_txn_begin(d, &t, &e_));
        for (int i = 0; i < NCLONES; i++)
            CHECK(pmap_hamt_drop(t, &clones[i], &e_));
        pmap_txn_commit(t);
    }

    /* transient batch: many inserts in one transaction into a clone */
    for (int s = 0; s < S; s++) {
        pmap_hamt b;
        pmap_hamt_clone(&m, &b);
        size_t k = reps(n, 100000);
        if (k > nfresh)
            k = nfresh;
        pmap_txn *t;
        double t0 = now_ns();
        CHECK(pmap_txn_begin(d, &t, &e_));
        for (size_t i = 0; i < k; i++)
            CHECK(pmap_hamt_put_u64(t, &b, fresh[i], val_of(fresh[i]), NULL, &e_));
        pmap_txn_commit(t);
        v[s] = (now_ns() - t0) / (double)k;
        hamt_drop(&b);
    }
    report("hamt", "transient_batch", n, "ns_per_op", median(v, S), NULL);

    /* diff against a clone with k updated keys */
    size_t ks[] = {1, 100, 10000};
    for (size_t ki = 0; ki < 3; ki++) {
        size_t k = ks[ki] < n ? ks[ki] : n;
        for (int s = 0; s < S; s++) {
            pmap_hamt b;
            pmap_hamt_clone(&m, &b);
            pmap_txn *t;
            CHECK(pmap_txn_begin(d, &t, &e_));
            for (size_t i = 0; i < k; i++) {
                uint64_t key = ids[(i * 104729 + (size_t)s) % n];
                CHECK(pmap_hamt_put_u64(t, &b, key, val_of(key + 4), NULL, &e_));
            }
            pmap_txn_commit(t);
            size_t seen = 0;
            double t0 = now_ns();
            pmap_hamt_diff(&m, &b, count_diff, &seen);
            v[s] = (now_ns() - t0) / (double)k;
            if (seen > k || seen == 0)
                die("diff reported a wrong number of changes", NULL);
            hamt_drop(&b);
        }
        char op[32];
        snprintf(op, sizeof op, "diff_k%zu", ks[ki]);
        report("hamt", op, n, "ns_per_change", median(v, S), NULL);
    }
    hamt_drop(&m);
    pmap_domain_free(d);

    /* single persistent writes, owner tokens vs counted */
    bench_hamt_writes(n, PMAP_SHARING_OWNER, ids, fresh, nfresh);
    bench_hamt_writes(n, PMAP_SHARING_COUNTED, ids, fresh, nfresh);

    /* baseline: open addressing */
    {
        oa t = {0};
        size_t h0 = heap_in_use();
        for (int s = 0; s < S; s++) {
            double t0 = now_ns();
            oa_init(&t, n);
            for (size_t i = 0; i < n; i++)
                oa_put(&t, ids[i], val_of(ids[i]));
            v[s] = (now_ns() - t0) / (double)n;
            if (s == 0)
                report("openaddr", "memory", n, "bytes_per_entry",
                       (double)(heap_in_use() - h0) / (double)n, NULL);
            if (s + 1 < S)
                oa_free(&t);
        }
        report("openaddr", "bulk_build", n, "ns_per_op", median(v, S), NULL);
        for (int s = 0; s < S; s++) {
            double t0 = now_ns();
            for (size_t i = 0; i < q; i++)
                sink += (uintptr_t)oa_find(&t, probe[i]);
            v[s] = (now_ns() - t0) / (double)q;
        }
        report("openaddr", "lookup_hit", n, "ns_per_op", median(v, S), NULL);
        for (int s = 0; s < S; s++) {
            double t0 = now_ns();
            size_t qm = q < 100000 ? q : 100000;
            for (size_t i = 0; i < qm; i++)
                sink += (uintptr_t)oa_find(&t, miss[i]);
            v[s] = (now_ns() - t0) / (double)qm;
        }
        report("openaddr", "lookup_miss", n, "ns_per_op", median(v, S), NULL);
        oa_free(&t);
        /* inserts: a table with room for the n entries and the new keys */
        size_t k = nfresh / (size_t)S;
        for (int s = 0; s < S; s++) {
            oa_init(&t, n + k);
            for (size_t i = 0; i < n; i++)
                oa_put(&t, ids[i], val_of(ids[i]));
            double t0 = now_ns();
            for (size_t i = 0; i < k; i++)
                oa_put(&t, fresh[(size_t)s * k + i], val_of(1));
            v[s] = (now_ns() - t0) / (double)k;
            oa_free(&t);
        }
        report("openaddr", "insert", n, "ns_per_op", median(v, S), NULL);
    }
    /* baseline: sorted array */
    {
        kv *a = malloc(n * sizeof *a);
        for (int s = 0; s < S; s++) {
            for (size_t i = 0; i < n; i++)
                a[i] = (kv){ids[i], val_of(ids[i])};
            double t0 = now_ns();
            qsort(a, n, sizeof *a, cmp_kv);
            v[s] = (now_ns() - t0) / (double)n;
        }
        report("sorted_array", "bulk_build", n, "ns_per_op", median(v, S), NULL);
        for (int s = 0; s < S; s++) {
            double t0 = now_ns();
            for (size_t i = 0; i < q; i++)
                sink += (uintptr_t)sa_find(a, n, probe[i]);
            v[s] = (now_ns() - t0) / (double)q;
        }
        report("sorted_array", "lookup_hit", n, "ns_per_op", median(v, S), NULL);
        report("sorted_array", "memory", n, "bytes_per_entry", (double)sizeof(kv), NULL);
        free(a);
    }
    if (sink == 42)
        puts("");
    free(probe);
    free(all);
}

/* --- the omap benchmarks ------------------------------------------------------- */

static void
bench_omap_writes(size_t n, pmap_sharing sharing, name *sorted, name *fresh, size_t nfresh)
{
    const char *sh = sharing == PMAP_SHARING_OWNER ? "owner" : "counted";
    pmap_domain *d = new_domain(sharing);
    pmap_omap m;
    omap_build(d, &m, sorted, n);
    int S = g_opts->samples;
    double ins[S], del[S];
    size_t k = reps(n, 20000);
    if (k * (size_t)S > nfresh)
        k = nfresh / (size_t)S;
    size_t next = 0;
    for (int s = 0; s < S; s++) {
        pmap_txn *t;
        double t0 = now_ns();
        for (size_t i = 0; i < k; i++) {
            CHECK(pmap_txn_begin(d, &t, &e_));
            CHECK(pmap_omap_put(t, &m, fresh[next + i].s, 16, val_of(i), NULL, &e_));
            pmap_txn_commit(t);
        }
        ins[s] = (now_ns() - t0) / (double)k;
        t0 = now_ns();
        for (size_t i = 0; i < k; i++) {
            CHECK(pmap_txn_begin(d, &t, &e_));
            CHECK(pmap_omap_del(t, &m, fresh[next + i].s, 16, NULL, &e_));
            pmap_txn_commit(t);
        }
        del[s] = (now_ns() - t0) / (double)k;
        next += k;
    }
    report("omap", "insert", n, "ns_per_op", median(ins, S), sh);
    report("omap", "delete", n, "ns_per_op", median(del, S), sh);
    omap_drop(&m);
    pmap_domain_free(d);
}

static void
bench_omap(size_t n)
{
    int S = g_opts->samples;
    size_t nfresh = 200000;
    if (n == 0 || n > ((size_t)1 << 32))
        die("map size out of range", NULL);
    name *all = make_names(n + nfresh);
    name *fresh = all + n;
    name *sorted = malloc(n * sizeof *sorted);
    memcpy(sorted, all, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, cmp_name);
    size_t u = 0; /* drop (improbable) duplicates */
    for (size_t i = 0; i < n; i++)
        if (u == 0 || memcmp(sorted[u - 1].s, sorted[i].s, 16) != 0)
            sorted[u++] = sorted[i];
    n = u;
    pmap_domain *d = new_domain(PMAP_SHARING_OWNER);
    double v[S];

    pmap_omap m;
    size_t heap0 = heap_in_use();
    for (int s = 0; s < S; s++) {
        double t0 = now_ns();
        omap_build(d, &m, sorted, n);
        v[s] = (now_ns() - t0) / (double)n;
        if (s == 0) {
            size_t heap1 = heap_in_use();
            /* glibc chunk of a 16-byte key blob: header 16 + 16 bytes, +8, to 16 */
            size_t blob = ((sizeof(uint64_t) * 2 + 16 + 8 + 15) & ~(size_t)15);
            double total = (double)(heap1 - heap0) / (double)n;
            report("omap", "memory", n, "bytes_per_entry", total - (double)blob, NULL);
            report("omap", "memory_with_keys", n, "bytes_per_entry", total, NULL);
        }
        if (s + 1 < S)
            omap_drop(&m);
    }
    report("omap", "bulk_build", n, "ns_per_op", median(v, S), NULL);

    size_t q = n < 200000 ? n : 200000;
    name **probe = malloc(q * sizeof *probe);
    for (size_t i = 0; i < q; i++)
        probe[i] = &sorted[rnd() % n];
    uintptr_t sink = 0;
    for (int s = 0; s < S; s++) {
        double t0 = now_ns();
        for (size_t i = 0; i < q; i++)
            sink += (uintptr_t)pmap_omap_find(&m, probe[i]->s, 16);
        v[s] = (now_ns() - t0) / (double)q;
    }
    double lookup = median(v, S);
    report("omap", "lookup_hit", n, "ns_per_op", lookup, NULL);
    for (int s = 0; s < S; s++) {
        size_t qm = q < 100000 ? q : 100000;
        double t0 = now_ns();
        for (size_t i = 0; i < qm; i++)
            sink += (uintptr_t)pmap_omap_find(&m, fresh[i].s, 16);
        v[s] = (now_ns() - t0) / (double)qm;
    }
    report("omap", "lookup_miss", n, "ns_per_op", median(v, S), NULL);
    for (int s = 0; s < S; s++) {
        double t0 = now_ns();
        for (size_t i = 0; i < q; i++)
            sink += pmap_omap_rank(&m, probe[i]->s, 16);
        v[s] = (now_ns() - t0) / (double)q;
    }
    report("omap", "rank", n, "ns_per_op", median(v, S), NULL);

    /* range scan: seek to a random key, then walk up to 1000 entries */
    for (int s = 0; s < S; s++) {
        size_t items = 0;
        double t0 = now_ns();
        for (size_t i = 0; i < 200; i++) {
            pmap_omap_cursor c;
            bool ok = pmap_omap_seek(&c, &m, probe[i]->s, 16);
            for (int j = 0; ok && j < 1000; j++) {
                void *val;
                pmap_omap_cursor_get(&c, NULL, &val);
                sink += (uintptr_t)val;
                items++;
                ok = pmap_omap_cursor_next(&c);
            }
        }
        v[s] = (now_ns() - t0) / (double)items;
    }
    report("omap", "range_scan", n, "ns_per_item", median(v, S), NULL);

    enum { NCLONES = 1000 };
    static pmap_omap clones[NCLONES];
    for (int s = 0; s < S; s++) {
        double t0 = now_ns();
        for (int i = 0; i < NCLONES; i++)
            pmap_omap_clone(&m, &clones[i]);
        v[s] = (now_ns() - t0) / NCLONES;
        pmap_txn *t;
        CHECK(pmap_txn_begin(d, &t, &e_));
        for (int i = 0; i < NCLONES; i++)
            CHECK(pmap_omap_drop(t, &clones[i], &e_));
        pmap_txn_commit(t);
    }
    report("omap", "clone", n, "ns_per_op", median(v, S), NULL);
    {
        size_t h0 = heap_in_use();
        for (int i = 0; i < NCLONES; i++) {
            pmap_omap_clone(&m, &clones[i]);
            pmap_txn *t;
            CHECK(pmap_txn_begin(d, &t, &e_));
            CHECK(pmap_omap_put(t, &clones[i], fresh[i].s, 16, val_of(1), NULL, &e_));
            pmap_txn_commit(t);
        }
        report("omap", "memory_version", n, "bytes_per_version",
               (double)(heap_in_use() - h0) / NCLONES, NULL);
        pmap_txn *t;
        CHECK(pmap_txn_begin(d, &t, &e_));
        for (int i = 0; i < NCLONES; i++)
            CHECK(pmap_omap_drop(t, &clones[i], &e_));
        pmap_txn_commit(t);
    }
    for (int s = 0; s < S; s++) {
        pmap_omap b;
        pmap_omap_clone(&m, &b);
        size_t k = reps(n, 100000);
        if (k > nfresh)
            k = nfresh;
        pmap_txn *t;
        double t0 = now_ns();
        CHECK(pmap_txn_begin(d, &t, &e_));
        for (size_t i = 0; i < k; i++)
            CHECK(pmap_omap_put(t, &b, fresh[i].s, 16, val_of(i), NULL, &e_));
        pmap_txn_commit(t);
        v[s] = (now_ns() - t0) / (double)k;
        omap_drop(&b);
    }
    report("omap", "transient_batch", n, "ns_per_op", median(v, S), NULL);

    size_t ks[] = {1, 100, 10000};
    for (size_t ki = 0; ki < 3; ki++) {
        size_t k = ks[ki] < n ? ks[ki] : n;
        for (int s = 0; s < S; s++) {
            pmap_omap b;
            pmap_omap_clone(&m, &b);
            pmap_txn *t;
            CHECK(pmap_txn_begin(d, &t, &e_));
            for (size_t i = 0; i < k; i++) {
                size_t j = (i * 104729 + (size_t)s) % n; /* built with val_of(j) */
                CHECK(pmap_omap_put(t, &b, sorted[j].s, 16, val_of(j + 2), NULL, &e_));
            }
            pmap_txn_commit(t);
            size_t seen = 0;
            double t0 = now_ns();
            pmap_omap_diff(&m, &b, count_diff, &seen);
            v[s] = (now_ns() - t0) / (double)k;
            if (seen > k || seen == 0)
                die("diff reported a wrong number of changes", NULL);
            omap_drop(&b);
        }
        char op[32];
        snprintf(op, sizeof op, "diff_k%zu", ks[ki]);
        report("omap", op, n, "ns_per_change", median(v, S), NULL);
    }
    omap_drop(&m);
    pmap_domain_free(d);

    bench_omap_writes(n, PMAP_SHARING_OWNER, sorted, fresh, nfresh);
    bench_omap_writes(n, PMAP_SHARING_COUNTED, sorted, fresh, nfresh);

    /* baseline: sorted array of name pointers with binary search */
    {
        name **a = malloc(n * sizeof *a);
        for (size_t i = 0; i < n; i++)
            a[i] = &sorted[i];
        for (int s = 0; s < S; s++) {
            double t0 = now_ns();
            for (size_t i = 0; i < q; i++) {
                size_t at = sn_lower(a, n, probe[i]->s);
                sink += at;
            }
            v[s] = (now_ns() - t0) / (double)q;
        }
        report("sorted_array", "name_lookup_hit", n, "ns_per_op", median(v, S), NULL);
        report("sorted_array", "name_rank", n, "ns_per_op", median(v, S), NULL);
        for (int s = 0; s < S; s++) {
            size_t items = 0;
            double t0 = now_ns();
            for (size_t i = 0; i < 200; i++) {
                size_t at = sn_lower(a, n, probe[i]->s);
                for (size_t j = at; j < n && j < at + 1000; j++) {
                    sink += (uintptr_t)a[j]->s[0];
                    items++;
                }
            }
            v[s] = (now_ns() - t0) / (double)items;
        }
        report("sorted_array", "name_range_scan", n, "ns_per_item", median(v, S), NULL);
        free(a);
    }
    if (sink == 42)
        puts("");
    free(probe);
    free(sorted);
    free(all);
}

/* --- main ---------------------------------------------------------------------- */

static void
usage(FILE *f)
{
    fputs("usage: pmap_bench [--json] [--sizes N,N,...] [--samples S] [--quick]\n"
          "  --json         one JSON object per line (map, op, n, ns_per_op | bytes_per_entry)\n"
          "  --sizes        map sizes to measure (default 1000,100000,1000000)\n"
          "  --samples      repetitions per figure; the median is reported (default 5)\n"
          "  --quick        fewer operations per sample (smoke runs)\n",
          f);
}

int
main(int argc, char **argv)
{
    opts o = {.sizes = {1000, 100000, 1000000}, .nsizes = 3, .samples = 5};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            o.json = true;
        } else if (strcmp(argv[i], "--quick") == 0) {
            o.quick = true;
        } else if (strcmp(argv[i], "--samples") == 0 && i + 1 < argc) {
            o.samples = atoi(argv[++i]);
            if (o.samples < 1 || o.samples > 99) {
                fprintf(stderr, "pmap_bench: --samples must be 1..99\n");
                return 2;
            }
        } else if (strcmp(argv[i], "--sizes") == 0 && i + 1 < argc) {
            o.nsizes = 0;
            char *s = argv[++i];
            while (*s != '\0' && o.nsizes < 8) {
                char *end;
                unsigned long long v = strtoull(s, &end, 10);
                if (end == s || v < 1) {
                    fprintf(stderr, "pmap_bench: bad --sizes list\n");
                    return 2;
                }
                o.sizes[o.nsizes++] = (size_t)v;
                s = *end == ',' ? end + 1 : end;
            }
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    g_opts = &o;
    cc_hash_seed_set(0x243f6a8885a308d3ULL); /* reproducible shapes across runs */
    for (size_t i = 0; i < o.nsizes; i++) {
        if (!o.json)
            printf("n = %zu\n", o.sizes[i]);
        bench_hamt(o.sizes[i]);
        bench_omap(o.sizes[i]);
    }
    return 0;
}
