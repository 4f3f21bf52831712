/*
 * tests/pmap/stress_readers.c — readers pin and read old versions for a long
 * time while one writer churns new ones; reclaimed memory must never reach a
 * reader. Built as a plain program so it runs under TSan (and ASan).
 *
 * The writer publishes `struct version` objects through one atomic pointer.
 * Each version holds a hamt (id -> tagged value) and an omap (name -> tagged
 * value) plus the count and the sum of the ids they hold. Readers pin, load
 * the current version, and keep it (still pinned) for several rounds while
 * checking lookups, a full iteration (count and sum) and an ordered scan of
 * the omap. Old versions are freed through pmap_txn_defer, so a reader that
 * touched freed memory would be caught by ASan/TSan, and a torn or mixed
 * version by the count/sum checks.
 *
 * Usage: stress_pmap_readers [versions] [readers]
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "pmap/domain.h"
#include "pmap/hamt.h"
#include "pmap/omap.h"
#include "testutil.h"

#define KEYSPACE 4096

struct version {
    pmap_hamt ids;
    pmap_omap names;
    uint64_t seq;
    uint64_t count;
    uint64_t sum;
};

static const pmap_hamt_type id_type = {.key_kind = PMAP_KEY_U64};
static const pmap_omap_type name_type = {0};

struct shared {
    pmap_domain *d;
    struct version *current; /* atomic; release-stored by the writer */
    int done;                /* atomic */
    uint64_t versions;
    uint64_t seed;
    uint64_t reads; /* atomic: total versions checked */
};

static void *
tag(uint64_t id)
{
    return (void *)(uintptr_t)((id << 8) | 0x5a);
}

static void
name_of(uint64_t id, char *buf, size_t *len)
{
    *len = (size_t)snprintf(buf, 32, "obj_%06llu", (unsigned long long)id);
}

static int
fail(const char *what, uint64_t seq)
{
    fprintf(stderr, "stress_pmap_readers: FAILED: %s (version %llu)\n", what,
            (unsigned long long)seq);
    abort();
}

static void
check_version(const struct version *v, tu_rng *rng)
{
    pmap_hamt_iter it;
    pmap_hamt_iter_init(&it, &v->ids);
    uint64_t id, n = 0, sum = 0;
    void *val;
    while (pmap_hamt_iter_next(&it, &id, NULL, &val)) {
        if (val != tag(id))
            fail("hamt value does not match its key", v->seq);
        n++;
        sum += id;
    }
    if (n != v->count || sum != v->sum || pmap_hamt_count(&v->ids) != v->count)
        fail("hamt iteration disagrees with the version's count/sum", v->seq);

    pmap_omap_cursor c;
    uint64_t m = 0, msum = 0;
    char prev[32] = "";
    size_t prev_len = 0;
    for (bool ok = pmap_omap_seek_first(&c, &v->names); ok; ok = pmap_omap_cursor_next(&c)) {
        pmap_bytes k;
        void *nv;
        pmap_omap_cursor_get(&c, &k, &nv);
        size_t cmp_len = k.len < prev_len ? k.len : prev_len;
        int cmp = memcmp(prev, k.ptr, cmp_len);
        if (m > 0 && (cmp > 0 || (cmp == 0 && prev_len >= k.len)))
            fail("omap scan out of order", v->seq);
        memcpy(prev, k.ptr, k.len < sizeof prev ? k.len : sizeof prev);
        prev_len = k.len;
        m++;
        msum += (uint64_t)(uintptr_t)nv >> 8;
    }
    if (m != v->count || msum != v->sum)
        fail("omap scan disagrees with the version's count/sum", v->seq);

    for (int i = 0; i < 64; i++) {
        uint64_t probe = tu_rng_below(rng, KEYSPACE);
        void *a = pmap_hamt_find_u64(&v->ids, probe);
        char buf[32];
        size_t len;
        name_of(probe, buf, &len);
        void *b = pmap_omap_find(&v->names, buf, len);
        if (a != b || (a != NULL && a != tag(probe)))
            fail("hamt and omap disagree on a key", v->seq);
    }
}

static void *
reader_main(void *arg)
{
    struct shared *s = arg;
    pmap_reader *r;
    if (pmap_reader_new(s->d, &r, NULL) != CC_OK)
        fail("reader registration", 0);
    tu_rng rng;
    tu_rng_init(&rng, s->seed ^ (uint64_t)(uintptr_t)&rng);
    while (!__atomic_load_n(&s->done, __ATOMIC_ACQUIRE)) {
        pmap_reader_pin(r);
        /* acquire: pairs with the writer's release store of `current`. */
        const struct version *v = __atomic_load_n(&s->current, __ATOMIC_ACQUIRE);
        uint64_t seq = v->seq;
        int rounds = 1 + (int)tu_rng_below(&rng, 8); /* hold the old version a while */
        for (int i = 0; i < rounds; i++)
            check_version(v, &rng);
        if (v->seq != seq)
            fail("a pinned version changed under its reader", seq);
        pmap_reader_unpin(r);
        __atomic_add_fetch(&s->reads, 1, __ATOMIC_RELAXED);
    }
    pmap_reader_free(r);
    return NULL;
}

static void
free_version(void *p)
{
    cc_free(p);
}

static void
writer(struct shared *s)
{
    tu_rng rng;
    tu_rng_init(&rng, s->seed);
    bool present[KEYSPACE] = {false};
    struct version *cur = s->current;
    for (uint64_t seq = 1; seq <= s->versions; seq++) {
        struct version *next = cc_malloc(sizeof *next);
        if (next == NULL)
            fail("out of memory", seq);
        *next = *cur;
        next->seq = seq;
        pmap_txn *t;
        if (pmap_txn_begin(s->d, &t, NULL) != CC_OK)
            fail("txn begin", seq);
        int ops = 1 + (int)tu_rng_below(&rng, 16);
        for (int i = 0; i < ops; i++) {
            uint64_t id = tu_rng_below(&rng, KEYSPACE);
            char buf[32];
            size_t len;
            name_of(id, buf, &len);
            cc_code rc;
            if (present[id]) {
                rc = pmap_hamt_del_u64(t, &next->ids, id, NULL, NULL);
                if (rc == CC_OK)
                    rc = pmap_omap_del(t, &next->names, buf, len, NULL, NULL);
                next->count--;
                next->sum -= id;
            } else {
                rc = pmap_hamt_put_u64(t, &next->ids, id, tag(id), NULL, NULL);
                if (rc == CC_OK)
                    rc = pmap_omap_put(t, &next->names, buf, len, tag(id), NULL, NULL);
                next->count++;
                next->sum += id;
            }
            if (rc != CC_OK)
                fail("write", seq);
            present[id] = !present[id];
        }
        if (pmap_txn_defer(t, free_version, cur, NULL) != CC_OK)
            fail("defer", seq);
        /* release: publishes the version's nodes to readers (acquire load). */
        __atomic_store_n(&s->current, next, __ATOMIC_RELEASE);
        pmap_txn_commit(t);
        cur = next;
    }
}

int
main(int argc, char **argv)
{
    struct shared s = {0};
    s.versions = argc > 1 ? strtoull(argv[1], NULL, 10) : 20000;
    int nreaders = argc > 2 ? atoi(argv[2]) : 2;
    s.seed = tu_seed("stress_pmap_readers");
    if (pmap_domain_new(NULL, &s.d, NULL) != CC_OK)
        return 1;
    struct version *v0 = cc_calloc(1, sizeof *v0);
    pmap_hamt_init(&v0->ids, s.d, &id_type);
    pmap_omap_init(&v0->names, s.d, &name_type);
    s.current = v0;

    pthread_t th[16];
    if (nreaders > 16)
        nreaders = 16;
    for (int i = 0; i < nreaders; i++)
        pthread_create(&th[i], NULL, reader_main, &s);
    writer(&s);
    __atomic_store_n(&s.done, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < nreaders; i++)
        pthread_join(th[i], NULL);

    struct version *last = s.current;
    pmap_txn *t;
    pmap_txn_begin(s.d, &t, NULL);
    pmap_hamt_drop(t, &last->ids, NULL);
    pmap_omap_drop(t, &last->names, NULL);
    pmap_txn_commit(t);
    cc_free(last);
    pmap_domain_stats st;
    pmap_domain_stats_get(s.d, &st);
    if (st.live_nodes != 0 || st.live_keys != 0 || st.garbage_items != 0) {
        fprintf(stderr, "stress_pmap_readers: FAILED: leaked %llu nodes, %llu keys, %llu garbage\n",
                (unsigned long long)st.live_nodes, (unsigned long long)st.live_keys,
                (unsigned long long)st.garbage_items);
        return 1;
    }
    pmap_domain_free(s.d);
    printf("stress_pmap_readers: %llu versions, %d readers, %llu version checks: OK\n",
           (unsigned long long)s.versions, nreaders, (unsigned long long)s.reads);
    return 0;
}
