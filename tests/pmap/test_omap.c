/*
 * tests/pmap/test_omap.c — the persistent B+tree ordered map (pmap/omap.h).
 *
 * Unit tests, model-based property tests against a sorted array (seeded; the
 * seed is printed and replayable with COWCAT_TEST_SEED), diff on clone-derived
 * versions, persistence of old versions, fault injection on every allocation,
 * and leak accounting: every test ends by dropping all lines and checking that
 * no node, key blob or value reference is left.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "pmap/omap.h"
#include "testutil.h"

/* --- values: counted, compared by payload ---------------------------------- */

typedef struct tval {
    int refs;         /* retains minus releases by the map */
    uint64_t payload; /* what equality and hashing look at */
} tval;

static void
tv_retain(void *v)
{
    ((tval *)v)->refs++;
}

static void
tv_release(void *v)
{
    tval *t = v;
    cr_assert(t->refs > 0, "value released more often than retained");
    t->refs--;
}

static uint64_t
tv_hash(const void *v)
{
    return ((const tval *)v)->payload * 0x9E3779B97F4A7C15ULL;
}

static bool
tv_equal(const void *a, const void *b)
{
    return ((const tval *)a)->payload == ((const tval *)b)->payload;
}

static const pmap_value_ops tv_ops = {tv_retain, tv_release, tv_hash, tv_equal};
static const pmap_omap_type tv_type = {&tv_ops};

/* Failure context printed by every model assertion. */
static uint64_t g_seed;
static long g_step;

/* --- environment ------------------------------------------------------------ */

#define VCHUNK 4096

typedef struct env {
    pmap_domain *d;
    tval *chunks[2048];
    size_t nv;
} env;

static void
env_init(env *e, pmap_sharing sharing)
{
    memset(e, 0, sizeof *e);
    pmap_domain_options o = {.sharing = sharing};
    cr_assert_eq(pmap_domain_new(&o, &e->d, NULL), CC_OK);
    g_seed = 0;
    g_step = -1;
}

/* A fresh value with the given payload (valid until env_fini). */
static tval *
env_val(env *e, uint64_t payload)
{
    size_t c = e->nv / VCHUNK;
    cr_assert(c < 2048);
    if (e->nv % VCHUNK == 0)
        cr_assert_not_null(e->chunks[c] = calloc(VCHUNK, sizeof(tval)));
    tval *v = &e->chunks[c][e->nv++ % VCHUNK];
    v->payload = payload;
    return v;
}

static pmap_txn *
tx(env *e)
{
    pmap_txn *t = NULL;
    cr_assert_eq(pmap_txn_begin(e->d, &t, NULL), CC_OK);
    return t;
}

/* Drops the lines, commits and checks that nothing is left alive. */
static void
env_fini(env *e, pmap_omap **lines, size_t n)
{
    pmap_txn *t = tx(e);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(pmap_omap_drop(t, lines[i], NULL), CC_OK);
    pmap_txn_commit(t);
    pmap_domain_reclaim(e->d);
    pmap_domain_stats st;
    pmap_domain_stats_get(e->d, &st);
    cr_assert_eq(st.live_nodes, 0, "%llu nodes leaked", (unsigned long long)st.live_nodes);
    cr_assert_eq(st.live_keys, 0, "%llu key blobs leaked", (unsigned long long)st.live_keys);
    for (size_t i = 0; i < e->nv; i++)
        cr_assert_eq(e->chunks[i / VCHUNK][i % VCHUNK].refs, 0, "value %zu has %d references", i,
                     e->chunks[i / VCHUNK][i % VCHUNK].refs);
    for (size_t c = 0; c * VCHUNK < e->nv; c++)
        free(e->chunks[c]);
    pmap_domain_free(e->d);
}

static void
live_counts(env *e, uint64_t *nodes, uint64_t *keys)
{
    pmap_domain_stats st;
    pmap_domain_stats_get(e->d, &st);
    *nodes = st.live_nodes;
    *keys = st.live_keys;
}

/* --- the model: a sorted array ---------------------------------------------- */

#define KMAX 40

typedef struct mentry {
    uint8_t k[KMAX];
    uint32_t len;
    tval *v;
} mentry;

typedef struct model {
    mentry *e;
    size_t n;
    size_t cap;
} model;

static int
kcmp(const void *a, size_t alen, const void *b, size_t blen)
{
    size_t m = alen < blen ? alen : blen;
    int c = m > 0 ? memcmp(a, b, m) : 0;
    if (c != 0)
        return c;
    return (alen > blen) - (alen < blen);
}

/* Index of the first entry >= key; *found if equal. */
static size_t
model_lower(const model *md, const void *k, size_t len, bool *found)
{
    size_t lo = 0, hi = md->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (kcmp(md->e[mid].k, md->e[mid].len, k, len) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = lo < md->n && kcmp(md->e[lo].k, md->e[lo].len, k, len) == 0;
    return lo;
}

static bool
model_put(model *md, const void *k, size_t len, tval *v)
{
    bool found;
    size_t i = model_lower(md, k, len, &found);
    if (found) {
        md->e[i].v = v;
        return true;
    }
    if (md->n == md->cap) {
        md->cap = md->cap ? 2 * md->cap : 64;
        cr_assert_not_null(md->e = realloc(md->e, md->cap * sizeof *md->e));
    }
    memmove(&md->e[i + 1], &md->e[i], (md->n - i) * sizeof *md->e);
    memcpy(md->e[i].k, k, len);
    md->e[i].len = (uint32_t)len;
    md->e[i].v = v;
    md->n++;
    return false;
}

static bool
model_del(model *md, const void *k, size_t len)
{
    bool found;
    size_t i = model_lower(md, k, len, &found);
    if (!found)
        return false;
    memmove(&md->e[i], &md->e[i + 1], (md->n - i - 1) * sizeof *md->e);
    md->n--;
    return true;
}

static void
model_copy(model *dst, const model *src)
{
    dst->n = src->n;
    dst->cap = src->n > 0 ? src->n : 1;
    cr_assert_not_null(dst->e = malloc(dst->cap * sizeof *dst->e));
    if (src->n > 0)
        memcpy(dst->e, src->e, src->n * sizeof *src->e);
}

static void
model_free(model *md)
{
    free(md->e);
    memset(md, 0, sizeof *md);
}

/* --- verification ------------------------------------------------------------ */

static void
check_ok(const pmap_omap *m, const pmap_txn *t)
{
    cc_err err = {0};
    cr_assert_eq(pmap_omap_check(m, t, &err), CC_OK, "seed %llu step %ld: check failed: %s",
                 (unsigned long long)g_seed, g_step, err.msg);
}

/* Full comparison of m with md: check, count, both iteration orders, spot reads. */
static void
verify(const pmap_omap *m, const model *md, tu_rng *r)
{
    check_ok(m, NULL);
    cr_assert_eq(pmap_omap_count(m), md->n, "seed %llu step %ld: count %zu, model %zu",
                 (unsigned long long)g_seed, g_step, pmap_omap_count(m), md->n);
    pmap_omap_cursor c;
    size_t i = 0;
    for (bool ok = pmap_omap_seek_first(&c, m); ok; ok = pmap_omap_cursor_next(&c), i++) {
        pmap_bytes k;
        void *v;
        cr_assert(pmap_omap_cursor_get(&c, &k, &v));
        cr_assert(i < md->n);
        cr_assert(kcmp(k.ptr, k.len, md->e[i].k, md->e[i].len) == 0 && v == md->e[i].v,
                  "seed %llu step %ld: forward entry %zu differs", (unsigned long long)g_seed,
                  g_step, i);
    }
    cr_assert_eq(i, md->n, "seed %llu step %ld: forward scan saw %zu of %zu",
                 (unsigned long long)g_seed, g_step, i, md->n);
    for (bool ok = pmap_omap_seek_last(&c, m); ok; ok = pmap_omap_cursor_prev(&c)) {
        pmap_bytes k;
        cr_assert(i > 0);
        i--;
        cr_assert(pmap_omap_cursor_get(&c, &k, NULL));
        cr_assert(kcmp(k.ptr, k.len, md->e[i].k, md->e[i].len) == 0,
                  "seed %llu step %ld: reverse entry %zu differs", (unsigned long long)g_seed,
                  g_step, i);
    }
    cr_assert_eq(i, 0, "seed %llu step %ld: reverse scan short", (unsigned long long)g_seed,
                 g_step);
    for (int s = 0; s < 8 && md->n > 0; s++) {
        size_t j = tu_rng_below(r, md->n);
        const mentry *me = &md->e[j];
        pmap_bytes k;
        void *v;
        cr_assert(pmap_omap_select(m, j, &k, &v));
        cr_assert(kcmp(k.ptr, k.len, me->k, me->len) == 0 && v == me->v,
                  "seed %llu step %ld: select(%zu) wrong", (unsigned long long)g_seed, g_step, j);
        cr_assert_eq(pmap_omap_rank(m, me->k, me->len), j, "seed %llu step %ld: rank wrong",
                     (unsigned long long)g_seed, g_step);
        cr_assert_eq(pmap_omap_find(m, me->k, me->len), me->v);
    }
    cr_assert(!pmap_omap_select(m, md->n, NULL, NULL));
}

/* --- diff against the model diff --------------------------------------------- */

typedef struct ditem {
    uint8_t k[KMAX];
    uint32_t len;
    pmap_diff_kind kind;
    const void *oldv;
    const void *newv;
} ditem;

typedef struct dlist {
    ditem *v;
    size_t n;
    size_t cap;
} dlist;

static void
dlist_add(dlist *l, pmap_diff_kind kind, const void *k, size_t len, const void *o, const void *n)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        cr_assert_not_null(l->v = realloc(l->v, l->cap * sizeof *l->v));
    }
    ditem *d = &l->v[l->n++];
    cr_assert(len <= KMAX);
    memcpy(d->k, k, len);
    d->len = (uint32_t)len;
    d->kind = kind;
    d->oldv = o;
    d->newv = n;
}

static int
collect_diff(void *arg, const pmap_diff_item *it)
{
    dlist_add(arg, it->kind, it->key.ptr, it->key.len, it->old_value, it->new_value);
    return 0;
}

static void
model_diff(const model *a, const model *b, dlist *out)
{
    size_t i = 0, j = 0;
    while (i < a->n || j < b->n) {
        int c = i == a->n   ? 1
                : j == b->n ? -1
                            : kcmp(a->e[i].k, a->e[i].len, b->e[j].k, b->e[j].len);
        if (c < 0) {
            dlist_add(out, PMAP_DIFF_REMOVED, a->e[i].k, a->e[i].len, a->e[i].v, NULL);
            i++;
        } else if (c > 0) {
            dlist_add(out, PMAP_DIFF_ADDED, b->e[j].k, b->e[j].len, NULL, b->e[j].v);
            j++;
        } else {
            if (a->e[i].v->payload != b->e[j].v->payload)
                dlist_add(out, PMAP_DIFF_CHANGED, a->e[i].k, a->e[i].len, a->e[i].v, b->e[j].v);
            i++;
            j++;
        }
    }
}

static void
verify_diff(const pmap_omap *a, const model *ma, const pmap_omap *b, const model *mb)
{
    dlist got = {0}, want = {0};
    cr_assert_eq(pmap_omap_diff(a, b, collect_diff, &got), 0);
    model_diff(ma, mb, &want);
    cr_assert_eq(got.n, want.n, "seed %llu step %ld: diff has %zu items, model diff %zu",
                 (unsigned long long)g_seed, g_step, got.n, want.n);
    for (size_t i = 0; i < got.n; i++) {
        const ditem *g = &got.v[i], *w = &want.v[i];
        cr_assert(g->kind == w->kind && kcmp(g->k, g->len, w->k, w->len) == 0 &&
                      g->oldv == w->oldv && g->newv == w->newv,
                  "seed %llu step %ld: diff item %zu differs from the model",
                  (unsigned long long)g_seed, g_step, i);
    }
    free(got.v);
    free(want.v);
}

/* --- keys ---------------------------------------------------------------------- */

/* A random key from families that share long prefixes, are short, or binary. */
static size_t
gen_key(tu_rng *r, uint8_t *k, unsigned keyspace)
{
    static const uint8_t alpha[] = {0, 1, 'a', 0xff};
    size_t len = 0;
    switch (tu_rng_below(r, 4)) {
    case 0:
        memcpy(k, "shared_prefix_long_", 19);
        len = 19;
        for (unsigned n = 1 + (unsigned)tu_rng_below(r, 4); n > 0; n--)
            k[len++] = alpha[tu_rng_below(r, 4)];
        break;
    case 1:
        for (unsigned n = (unsigned)tu_rng_below(r, 4); n > 0; n--)
            k[len++] = (uint8_t)tu_rng_below(r, 3);
        break;
    case 2:
        len = (size_t)snprintf((char *)k, KMAX, "abcdefgh%u", (unsigned)tu_rng_below(r, keyspace));
        break;
    default:
        for (int i = 0; i < 8; i++)
            k[len++] = tu_rng_chance(r, 50) ? 0 : 'x';
        for (unsigned n = (unsigned)tu_rng_below(r, 3); n > 0; n--)
            k[len++] = alpha[tu_rng_below(r, 4)];
        break;
    }
    return len;
}

/* A key: an existing one with probability pct, else a random one. */
static size_t
pick_key(tu_rng *r, const model *md, unsigned pct, uint8_t *k, unsigned keyspace)
{
    if (md->n > 0 && tu_rng_chance(r, pct)) {
        const mentry *e = &md->e[tu_rng_below(r, md->n)];
        memcpy(k, e->k, e->len);
        return e->len;
    }
    return gen_key(r, k, keyspace);
}

static void
put1(env *e, pmap_omap *m, const void *k, size_t len, tval *v)
{
    pmap_txn *t = tx(e);
    cr_assert_eq(pmap_omap_put(t, m, k, len, v, NULL, NULL), CC_OK);
    pmap_txn_commit(t);
}

static void
del1(env *e, pmap_omap *m, const void *k, size_t len)
{
    pmap_txn *t = tx(e);
    cr_assert_eq(pmap_omap_del(t, m, k, len, NULL, NULL), CC_OK);
    pmap_txn_commit(t);
}

/* Builds m (empty) from the model in one transaction. */
static void
build_from(env *e, pmap_omap *m, const model *md)
{
    pmap_bytes *keys = malloc((md->n + 1) * sizeof *keys);
    void **vals = malloc((md->n + 1) * sizeof *vals);
    for (size_t i = 0; i < md->n; i++) {
        keys[i] = (pmap_bytes){md->e[i].k, md->e[i].len};
        vals[i] = md->e[i].v;
    }
    pmap_txn *t = tx(e);
    cc_err err = {0};
    cr_assert_eq(pmap_omap_build(t, m, keys, vals, md->n, &err), CC_OK, "%s", err.msg);
    pmap_txn_commit(t);
    free(keys);
    free(vals);
}

/* A model of n keys "key%06u" with fresh values. */
static void
model_seq(env *e, model *md, unsigned n, unsigned stride)
{
    char k[32];
    for (unsigned i = 0; i < n; i++) {
        int len = snprintf(k, sizeof k, "key%06u", i * stride);
        model_put(md, k, (size_t)len, env_val(e, i));
    }
}

/* --- unit tests ------------------------------------------------------------------ */

Test(omap, empty_map_finds_nothing_and_cursors_are_unpositioned)
{
    env e;
    env_init(&e, PMAP_SHARING_OWNER);
    pmap_omap m;
    pmap_omap_init(&m, e.d, &tv_type);
    pmap_omap_cursor c;
    cr_assert_null(pmap_omap_find(&m, "a", 1));
    cr_assert_eq(pmap_omap_count(&m), 0);
    cr_assert(!pmap_omap_seek_first(&c, &m));
    cr_assert(!pmap_omap_seek_last(&c, &m));
    cr_assert(!pmap_omap_seek(&c, &m, "", 0));
    cr_assert(!pmap_omap_cursor_get(&c, NULL, NULL));
    cr_assert(!pmap_omap_cursor_next(&c));
    cr_assert(!pmap_omap_select(&m, 0, NULL, NULL));
    cr_assert_eq(pmap_omap_rank(&m, "z", 1), 0);
    cr_assert_eq(pmap_omap_diff(&m, &m, collect_diff, NULL), 0);
    check_ok(&m, NULL);
    bool removed = true;
    pmap_txn *t = tx(&e);
    cr_assert_eq(pmap_omap_del(t, &m, "a", 1, &removed, NULL), CC_OK);
    cr_assert(!removed);
    pmap_txn_commit(t);
    pmap_omap *lines[] = {&m};
    env_fini(&e, lines, 1);
}

Test(omap, put_find_replace_and_delete_round_trip)
{
    env e;
    env_init(&e, PMAP_SHARING_OWNER);
    pmap_omap m;
    pmap_omap_init(&m, e.d, &tv_type);
    tval *v1 = env_val(&e, 1), *v2 = env_val(&e, 2);
    bool flag = true;
    pmap_txn *t = tx(&e);
    cr_assert_eq(pmap_omap_put(t, &m, "alpha", 5, v1, &flag, NULL), CC_OK);
    cr_assert(!flag);
    check_ok(&m, t);
    pmap_fp fp1 = pmap_omap_fp(&m);
    cr_assert_eq(pmap_omap_put(t, &m, "alpha", 5, v2, &flag, NULL), CC_OK);
    cr_assert(flag);
    cr_assert(!pmap_fp_equal(fp1, pmap_omap_fp(&m)), "a replaced value changes the fingerprint");
    pmap_txn_commit(t);
    cr_assert_eq(pmap_omap_find(&m, "alpha", 5), v2);
    cr_assert_null(pmap_omap_find(&m, "alph", 4));
    cr_assert_null(pmap_omap_find(&m, "alphab", 6));
    cr_assert_eq(v1->refs, 0, "the replaced value was released at commit");
    cr_assert_eq(v2->refs, 1);
    t = tx(&e);
    cr_assert_eq(pmap_omap_del(t, &m, "alpha", 5, &flag, NULL), CC_OK);
    cr_assert(flag);
    pmap_txn_commit(t);
    cr_assert_null(pmap_omap_find(&m, "alpha", 5));
    cr_assert_eq(pmap_omap_count(&m), 0);
    cr_assert_null(m.root);
    check_ok(&m, NULL);
    pmap_omap *lines[] = {&m};
    env_fini(&e, lines, 1);
}

Test(omap, keys_order_by_memcmp_with_shared_prefixes_empty_long_and_binary_keys)
{
    env e;
    env_init(&e, PMAP_SHARING_OWNER);
    pmap_omap m;
    pmap_omap_init(&m, e.d, &tv_type);
    model md = {0};
    uint8_t longk[KMAX];
    memset(longk, 'q', sizeof longk);
    static const struct {
        const char *k;
        size_t len;
    } ks[] = {
        {"", 0},
        {"\0", 1},
        {"\0\0", 2},
        {"abcdefgh", 8},
        {"abcdefgh\0", 9},
        {"abcdefgh\0\0", 10},
        {"abcdefghi", 9},
        {"abcdefg", 7},
        {"abcdefg\0", 8},
        {"\xff", 1},
        {"\xff\xff\xff\xff\xff\xff\xff\xff\x01", 9},
        {"a", 1},
        {"abcdefgh\xff", 9},
        {"abcdefgh\x01\x02", 10},
    };
    tu_rng r;
    tu_rng_init(&r, 1);
    for (size_t i = 0; i < sizeof ks / sizeof ks[0]; i++) {
        tval *v = env_val(&e, i);
        put1(&e, &m, ks[i].k, ks[i].len, v);
        model_put(&md, ks[i].k, ks[i].len, v);
        verify(&m, &md, &r);
    }
    tval *v = env_val(&e, 99);
    put1(&e, &m, longk, sizeof longk, v);
    model_put(&md, longk, sizeof longk, v);
    verify(&m, &md, &r);
    /* "abcdefg" < "abcdefg\0" < "abcdefgh" although the first two share a prefix word. */
    size_t r1 = pmap_omap_rank(&m, "abcdefg", 7), r2 = pmap_omap_rank(&m, "abcdefg\0", 8);
    cr_assert_eq(r2, r1 + 1);
    cr_assert_eq(pmap_omap_rank(&m, "abcdefgh", 8), r1 + 2);
    cr_assert_eq(pmap_omap_rank(&m, "", 0), 0, "the empty key is the smallest");
    for (size_t i = 0; i < sizeof ks / sizeof ks[0]; i++) {
        del1(&e, &m, ks[i].k, ks[i].len);
        model_del(&md, ks[i].k, ks[i].len);
        verify(&m, &md, &r);
    }
    pmap_omap *lines[] = {&m};
    env_fini(&e, lines, 1);
    model_free(&md);
}

Test(omap, cursor_seek_next_and_prev_stop_at_both_ends)
{
    env e;
    env_init(&e, PMAP_SHARING_OWNER);
    pmap_omap m;
    pmap_omap_init(&m, e.d, &tv_type);
    model md = {0};
    model_seq(&e, &md, 2000, 2); /* key000000, key000002, ... key003998 */
    build_from(&e, &m, &md);
    cr_assert_geq(m.height, 3);
    pmap_omap_cursor c;
    pmap_bytes k;
    cr_assert(pmap_omap_seek(&c, &m, "key000003", 9));
    cr_assert(pmap_omap_cursor_get(&c, &k, NULL));
    cr_assert(kcmp(k.ptr, k.len, "key000004", 9) == 0);
    cr_assert(pmap_omap_cursor_prev(&c));
    cr_assert(pmap_omap_cursor_get(&c, &k, NULL));
    cr_assert(kcmp(k.ptr, k.len, "key000002", 9) == 0);
    cr_assert(pmap_omap_cursor_prev(&c));
    cr_assert(!pmap_omap_cursor_prev(&c), "prev before the first entry unpositions");
    cr_assert(!pmap_omap_cursor_get(&c, &k, NULL));
    cr_assert(pmap_omap_seek(&c, &m, "", 0));
    cr_assert(pmap_omap_cursor_get(&c, &k, NULL));
    cr_assert(kcmp(k.ptr, k.len, "key000000", 9) == 0);
    cr_assert(pmap_omap_seek(&c, &m, "key003998", 9));
    cr_assert(!pmap_omap_cursor_next(&c), "next after the last entry unpositions");
    cr_assert(!pmap_omap_seek(&c, &m, "key003999", 9), "nothing >= a key above the last");
    cr_assert(!pmap_omap_seek(&c, &m, "l", 1));
    /* A seek that lands past the end of a leaf moves into the next leaf. */
    for (unsigned i = 0; i < 2000; i += 7) {
        char key[16];
        int len = snprintf(key, sizeof key, "key%06u", 2 * i + 1);
        bool ok = pmap_omap_seek(&c, &m, key, (size_t)len);
        cr_assert_eq(ok, i + 1 < 2000);
        if (ok) {
            cr_assert(pmap_omap_cursor_get(&c, &k, NULL));
            cr_assert(kcmp(k.ptr, k.len, md.e[i + 1].k, md.e[i + 1].len) == 0);
        }
    }
    pmap_omap *lines[] = {&m};
    env_fini(&e, lines, 1);
    model_free(&md);
}

Test(omap, rank_select_and_count_range_agree_at_boundaries)
{
    env e;
    env_init(&e, PMAP_SHARING_OWNER);
    pmap_omap m;
    pmap_omap_init(&m, e.d, &tv_type);
    model md = {0};
    model_seq(&e, &md, 3000, 2);
    build_from(&e, &m, &md);
    cr_assert_eq(pmap_omap_count_range(&m, "", 0, "z", 1), 3000);
    cr_assert_eq(pmap_omap_count_range(&m, "key000000", 9, "key000000", 9), 0);
    cr_assert_eq(pmap_omap_count_range(&m, "key000000", 9, "key000001", 9), 1);
    cr_assert_eq(pmap_omap_count_range(&m, "z", 1, "a", 1), 0, "an inverted range is empty");
    cr_assert_eq(pmap_omap_rank(&m, "key005998", 9), 2999);
    cr_assert_eq(pmap_omap_rank(&m, "key005999", 9), 3000);
    for (size_t i = 0; i < 3000; i++) {
        pmap_bytes k;
        void *v;
        cr_assert(pmap_omap_select(&m, i, &k, &v));
        cr_assert(kcmp(k.ptr, k.len, md.e[i].k, md.e[i].len) == 0 && v == md.e[i].v);
        cr_assert_eq(pmap_omap_rank(&m, k.ptr, k.len), i);
        char key[16];
        int len = snprintf(key, sizeof key, "key%06zu", 2 * i + 1);
        cr_assert_eq(pmap_omap_rank(&m, key, (size_t)len), i + 1);
        cr_assert_eq(pmap_omap_count_range(&m, md.e[i].k, md.e[i].len, key, (size_t)len), 1);
    }
    cr_assert(!pmap_omap_select(&m, 3000, NULL, NULL));
    pmap_omap *lines[] = {&m};
    env_fini(&e, lines, 1);
    model_free(&md);
}

Test(omap, invalid_arguments_return_invalid_and_change_nothing)
{
    env e;
    env_init(&e, PMAP_SHARING_OWNER);
    pmap_omap m, other;
    pmap_omap_init(&m, e.d, &tv_type);
    tval *v = env_val(&e, 1);
    put1(&e, &m, "k", 1, v);
    pmap_omap before = m;
    pmap_domain *d2;
    cr_assert_eq(pmap_domain_new(NULL, &d2, NULL), CC_OK);
    pmap_omap_init(&other, d2, &tv_type);
    pmap_txn *t = tx(&e);
    cc_err err = {0};
    cr_assert_eq(pmap_omap_put(t, &m, "k", 1, NULL, NULL, &err), CC_INVALID);
    cr_assert(strlen(err.msg) > 0);
    cr_assert_eq(pmap_omap_put(t, &m, NULL, 3, v, NULL, NULL), CC_INVALID);
    cr_assert_eq(pmap_omap_del(t, &m, NULL, 3, NULL, NULL), CC_INVALID);
    cr_assert_eq(pmap_omap_put(t, &other, "k", 1, v, NULL, NULL), CC_INVALID);
    cr_assert_eq(pmap_omap_put(NULL, &m, "k", 1, v, NULL, NULL), CC_INVALID);
    pmap_bytes keys[3] = {{"b", 1}, {"a", 1}, {"c", 1}};
    void *vals[3] = {v, v, v};
    pmap_omap fresh;
    pmap_omap_init(&fresh, e.d, &tv_type);
    cr_assert_eq(pmap_omap_build(t, &fresh, keys, vals, 3, NULL), CC_INVALID, "unsorted");
    keys[1] = (pmap_bytes){"b", 1};
    cr_assert_eq(pmap_omap_build(t, &fresh, keys, vals, 3, NULL), CC_INVALID, "duplicate");
    keys[1] = (pmap_bytes){"bb", 2};
    vals[2] = NULL;
    cr_assert_eq(pmap_omap_build(t, &fresh, keys, vals, 3, NULL), CC_INVALID, "NULL value");
    vals[2] = v;
    cr_assert_eq(pmap_omap_build(t, &m, keys, vals, 3, NULL), CC_INVALID, "non-empty map");
    cr_assert_null(fresh.root);
    cr_assert(!pmap_txn_is_poisoned(t));
    pmap_txn_commit(t);
    cr_assert(memcmp(&m, &before, sizeof m) == 0, "the handle is unchanged");
    cr_assert_eq(v->refs, 1);
    check_ok(&m, NULL);
    pmap_omap *lines[] = {&m};
    env_fini(&e, lines, 1);
    pmap_domain_free(d2);
}

Test(omap, delete_merges_underfull_leaves_and_collapses_the_root)
{
    env e;
    env_init(&e, PMAP_SHARING_OWNER);
    pmap_omap m;
    pmap_omap_init(&m, e.d, &tv_type);
    model md = {0};
    model_seq(&e, &md, 5000, 1);
    build_from(&e, &m, &md);
    tu_rng r;
    tu_rng_init(&r, 7);
    unsigned h0 = m.height;
    pmap_omap_stats st0, st1;
    pmap_omap_stats_get(&m, &st0);
    cr_assert_gt(st0.leaf_fill, 0.95, "bulk build packs leaves");
    /* Delete from the front: every leaf empties into its right neighbour. */
    for (size_t i = 0; i < 4990; i++) {
        g_step = (long)i;
        del1(&e, &m, md.e[0].k, md.e[0].len);
        model_del(&md, md.e[0].k, md.e[0].len);
        if (i % 97 == 0 || md.n < 40)
            verify(&m, &md, &r);
    }
    pmap_omap_stats_get(&m, &st1);
    cr_assert_eq(m.height, 1, "10 entries fit one leaf (height was %u)", h0);
    cr_assert_eq(st1.leaves, 1);
    cr_assert_eq(st1.branches, 0);
    verify(&m, &md, &r);
    pmap_omap *lines[] = {&m};
    env_fini(&e, lines, 1);
    model_free(&md);
}

Test(omap, bulk_build_matches_inserts_and_fingerprints_agree)
{
    env e;
    env_init(&e, PMAP_SHARING_OWNER);
    pmap_omap a, b;
    pmap_omap_init(&a, e.d, &tv_type);
    pmap_omap_init(&b, e.d, &tv_type);
    model md = {0};
    tu_rng r;
    tu_rng_init(&r, g_seed = tu_seed("omap/bulk_build"));
    uint8_t k[KMAX];
    pmap_txn *t = tx(&e);
    for (int i = 0; i < 4000; i++) {
        size_t len = gen_key(&r, k, 100000);
        tval *v = env_val(&e, (uint64_t)i);
        model_put(&md, k, len, v);
        cr_assert_eq(pmap_omap_put(t, &a, k, len, v, NULL, NULL), CC_OK);
    }
    check_ok(&a, t);
    pmap_txn_commit(t);
    build_from(&e, &b, &md);
    verify(&a, &md, &r);
    verify(&b, &md, &r);
    cr_assert(pmap_omap_same_content(&a, &b));
    verify_diff(&a, &md, &b, &md);
    for (size_t n = 0; n < 70; n++) {
        /* Every small size builds a valid tree (leaf splits of the last nodes). */
        model small = {0};
        for (size_t i = 0; i < n * 17 && i < md.n; i++)
            model_put(&small, md.e[i].k, md.e[i].len, md.e[i].v);
        pmap_omap s;
        pmap_omap_init(&s, e.d, &tv_type);
        build_from(&e, &s, &small);
        verify(&s, &small, &r);
        t = tx(&e);
        cr_assert_eq(pmap_omap_drop(t, &s, NULL), CC_OK);
        pmap_txn_commit(t);
        model_free(&small);
    }
    pmap_omap *lines[] = {&a, &b};
    env_fini(&e, lines, 2);
    model_free(&md);
}

/* --- model-based property tests --------------------------------------------------- */

#define NSAVED 4

typedef struct run_cfg {
    const char *name;
    pmap_sharing sharing;
    long steps;
    unsigned keyspace;
    unsigned initial;   /* keys bulk-built before the run */
    long verify_every;  /* full verification period (steps) */
    unsigned batch_max; /* ops per transient batch */
} run_cfg;

/* The share of puts among random writes: grow, shrink, then churn. */
static unsigned g_put_pct = 60;

/* One random write (put g_put_pct %, else del) in txn t on m and md. */
static void
random_write(env *e, tu_rng *r, pmap_txn *t, pmap_omap *m, model *md, unsigned keyspace)
{
    uint8_t k[KMAX];
    if (tu_rng_chance(r, g_put_pct)) {
        size_t len = pick_key(r, md, 30, k, keyspace);
        bool found;
        size_t i = model_lower(md, k, len, &found);
        /* Sometimes an equal-payload value: a replace diff must not report. */
        uint64_t payload = found && tu_rng_chance(r, 20) ? md->e[i].v->payload : tu_rng_next(r);
        tval *v = env_val(e, payload);
        bool replaced;
        cc_err err = {0};
        cr_assert_eq(pmap_omap_put(t, m, k, len, v, &replaced, &err), CC_OK,
                     "seed %llu step %ld: put: %s", (unsigned long long)g_seed, g_step, err.msg);
        cr_assert_eq(replaced, model_put(md, k, len, v), "seed %llu step %ld: replaced flag",
                     (unsigned long long)g_seed, g_step);
    } else {
        size_t len = pick_key(r, md, 75, k, keyspace);
        bool removed;
        cr_assert_eq(pmap_omap_del(t, m, k, len, &removed, NULL), CC_OK);
        cr_assert_eq(removed, model_del(md, k, len), "seed %llu step %ld: removed flag",
                     (unsigned long long)g_seed, g_step);
    }
}

static void
run_model(const run_cfg *cfg)
{
    env e;
    env_init(&e, cfg->sharing);
    tu_rng r;
    tu_rng_init(&r, g_seed = tu_seed(cfg->name));
    pmap_omap m, saved[NSAVED];
    model md = {0}, smd[NSAVED];
    size_t nsaved = 0;
    pmap_omap_init(&m, e.d, &tv_type);
    if (cfg->initial > 0) {
        uint8_t k[KMAX];
        while (md.n < cfg->initial) {
            size_t len = gen_key(&r, k, cfg->keyspace);
            model_put(&md, k, len, env_val(&e, tu_rng_next(&r)));
        }
        build_from(&e, &m, &md);
    }
    unsigned max_height = 0;
    for (g_step = 0; g_step < cfg->steps; g_step++) {
        g_put_pct = g_step < cfg->steps * 4 / 10 ? 80 : g_step < cfg->steps * 7 / 10 ? 25 : 60;
        unsigned op = (unsigned)tu_rng_below(&r, 100);
        if (op < 35) {
            pmap_txn *t = tx(&e);
            random_write(&e, &r, t, &m, &md, cfg->keyspace);
            pmap_txn_commit(t);
        } else if (op < 60) {
            /* A transient batch, sometimes aborted. */
            pmap_txn *t = tx(&e);
            pmap_omap base = m;
            model mcopy;
            model_copy(&mcopy, &md);
            unsigned n = 1 + (unsigned)tu_rng_below(&r, cfg->batch_max);
            for (unsigned i = 0; i < n; i++) {
                random_write(&e, &r, t, &m, &md, cfg->keyspace);
                if (i == n / 2)
                    check_ok(&m, t);
            }
            check_ok(&m, t);
            if (tu_rng_chance(&r, 15)) {
                pmap_txn_abort(t);
                m = base;
                model_free(&md);
                md = mcopy;
            } else {
                pmap_txn_commit(t);
                model_free(&mcopy);
            }
        } else if (op < 66) {
            pmap_txn *t = tx(&e);
            if (nsaved == NSAVED) {
                cr_assert_eq(pmap_omap_drop(t, &saved[0], NULL), CC_OK);
                model_free(&smd[0]);
                memmove(&saved[0], &saved[1], (NSAVED - 1) * sizeof saved[0]);
                memmove(&smd[0], &smd[1], (NSAVED - 1) * sizeof smd[0]);
                nsaved--;
            }
            pmap_txn_commit(t);
            pmap_omap_clone(&m, &saved[nsaved]);
            model_copy(&smd[nsaved], &md);
            nsaved++;
        } else if (op < 76) {
            if (nsaved > 0) {
                size_t i = tu_rng_below(&r, nsaved);
                verify_diff(&saved[i], &smd[i], &m, &md);
                verify_diff(&m, &md, &saved[i], &smd[i]);
            }
            verify_diff(&m, &md, &m, &md);
        } else if (op < 79) {
            pmap_omap b;
            pmap_omap_init(&b, e.d, &tv_type);
            build_from(&e, &b, &md);
            check_ok(&b, NULL);
            cr_assert(pmap_omap_same_content(&b, &m), "seed %llu step %ld: build differs",
                      (unsigned long long)g_seed, g_step);
            verify_diff(&b, &md, &m, &md);
            pmap_txn *t = tx(&e);
            if (tu_rng_chance(&r, 50)) {
                /* Replace the line by the rebuilt map. */
                cr_assert_eq(pmap_omap_drop(t, &m, NULL), CC_OK);
                m = b;
            } else {
                cr_assert_eq(pmap_omap_drop(t, &b, NULL), CC_OK);
            }
            pmap_txn_commit(t);
        } else if (op < 90) {
            /* Write to an older line: both lines copy their shared nodes. */
            if (nsaved > 0) {
                size_t i = tu_rng_below(&r, nsaved);
                pmap_txn *t = tx(&e);
                unsigned n = 1 + (unsigned)tu_rng_below(&r, 8);
                for (unsigned j = 0; j < n; j++)
                    random_write(&e, &r, t, &saved[i], &smd[i], cfg->keyspace);
                pmap_txn_commit(t);
                check_ok(&saved[i], NULL);
            }
        } else {
            uint8_t lo[KMAX], hi[KMAX];
            size_t ll = pick_key(&r, &md, 50, lo, cfg->keyspace);
            size_t hl = pick_key(&r, &md, 50, hi, cfg->keyspace);
            bool f;
            size_t a = model_lower(&md, lo, ll, &f), b = model_lower(&md, hi, hl, &f);
            cr_assert_eq(pmap_omap_count_range(&m, lo, ll, hi, hl), b > a ? b - a : 0,
                         "seed %llu step %ld: count_range", (unsigned long long)g_seed, g_step);
            pmap_omap_cursor c;
            bool ok = pmap_omap_seek(&c, &m, lo, ll);
            cr_assert_eq(ok, a < md.n);
            for (size_t i = a; ok && i < a + 40 && i < md.n; i++) {
                pmap_bytes k;
                cr_assert(pmap_omap_cursor_get(&c, &k, NULL));
                cr_assert(kcmp(k.ptr, k.len, md.e[i].k, md.e[i].len) == 0);
                ok = pmap_omap_cursor_next(&c);
            }
        }
        if (m.height > max_height)
            max_height = m.height;
        if (g_step % cfg->verify_every == 0 || g_step + 1 == cfg->steps)
            verify(&m, &md, &r);
        else
            check_ok(&m, NULL);
    }
    for (size_t i = 0; i < nsaved; i++)
        verify(&saved[i], &smd[i], &r);
    cr_assert_geq(max_height, 3, "the run reached %u levels only", max_height);
    fprintf(stderr, "%s: %zu entries, max height %u\n", cfg->name, md.n, max_height);
    pmap_omap *lines[NSAVED + 1];
    lines[0] = &m;
    for (size_t i = 0; i < nsaved; i++) {
        lines[i + 1] = &saved[i];
        model_free(&smd[i]);
    }
    env_fini(&e, lines, nsaved + 1);
    model_free(&md);
}

Test(omap, random_operations_match_a_sorted_array_model)
{
    run_cfg cfg = {"omap/model_owner", PMAP_SHARING_OWNER, 3000, 4000, 0, 1, 120};
    run_model(&cfg);
}

Test(omap, random_operations_match_the_model_with_counted_sharing)
{
    run_cfg cfg = {"omap/model_counted", PMAP_SHARING_COUNTED, 2000, 4000, 1500, 1, 120};
    run_model(&cfg);
}

Test(omap, large_random_run_matches_the_model)
{
    run_cfg cfg = {"omap/model_large", PMAP_SHARING_OWNER, 600, 200000, 40000, 50, 2000};
    run_model(&cfg);
}

/* --- diff on derived versions ------------------------------------------------------ */

Test(omap, diff_of_identical_roots_reports_nothing)
{
    env e;
    env_init(&e, PMAP_SHARING_OWNER);
    pmap_omap m, c;
    pmap_omap_init(&m, e.d, &tv_type);
    model md = {0};
    model_seq(&e, &md, 1000, 1);
    build_from(&e, &m, &md);
    pmap_omap_clone(&m, &c);
    dlist got = {0};
    cr_assert_eq(pmap_omap_diff(&m, &c, collect_diff, &got), 0);
    cr_assert_eq(got.n, 0);
    /* Same content, no shared nodes: the full walk also finds nothing. */
    pmap_omap b;
    pmap_omap_init(&b, e.d, &tv_type);
    build_from(&e, &b, &md);
    cr_assert_eq(pmap_omap_diff(&m, &b, collect_diff, &got), 0);
    cr_assert_eq(got.n, 0);
    free(got.v);
    pmap_omap *lines[] = {&m, &c, &b};
    env_fini(&e, lines, 3);
    model_free(&md);
}

static int
stop_at_second(void *arg, const pmap_diff_item *it)
{
    (void)it;
    return ++*(int *)arg == 2 ? 42 : 0;
}

/*
 * imbl #161: updates at leaf-boundary keys right after a long shared run were
 * dropped. Mutate a clone exactly at (and next to) leaf boundaries, after runs
 * of untouched leaves, in several rounds, and compare with the model diff.
 */
Test(omap, diff_of_clone_derived_versions_reports_boundary_updates_after_shared_runs)
{
    env e;
    env_init(&e, PMAP_SHARING_OWNER);
    tu_rng r;
    tu_rng_init(&r, g_seed = tu_seed("omap/diff_boundaries"));
    pmap_omap a;
    pmap_omap_init(&a, e.d, &tv_type);
    model ma = {0};
    model_seq(&e, &ma, 8192, 2); /* 256 full leaves: boundaries at multiples of 32 */
    build_from(&e, &a, &ma);
    for (g_step = 0; g_step < 60; g_step++) {
        pmap_omap b;
        model mb;
        pmap_omap_clone(&a, &b);
        model_copy(&mb, &ma);
        pmap_txn *t = tx(&e);
        unsigned changes = 1 + (unsigned)tu_rng_below(&r, g_step < 30 ? 4 : 40);
        for (unsigned c = 0; c < changes; c++) {
            /* A boundary slot (+-1) after a shared run of random length. */
            size_t leaf = tu_rng_below(&r, ma.n / 32);
            long off = (long)tu_rng_below(&r, 4) - 1; /* -1, 0, 1, 2 */
            long pos = (long)(leaf * 32) + (off == 2 ? 31 : off);
            if (pos < 0 || (size_t)pos >= mb.n)
                continue;
            mentry me = mb.e[pos];
            switch (tu_rng_below(&r, 4)) {
            case 0: /* delete the boundary key */
                cr_assert_eq(pmap_omap_del(t, &b, me.k, me.len, NULL, NULL), CC_OK);
                model_del(&mb, me.k, me.len);
                break;
            case 1: { /* insert right after it (odd numbers are free) */
                char k[16], digits[KMAX + 1];
                memcpy(digits, me.k, me.len);
                digits[me.len] = '\0';
                unsigned num = (unsigned)atoi(digits + 3);
                int len = snprintf(k, sizeof k, "key%06u", num + 1);
                tval *v = env_val(&e, tu_rng_next(&r));
                cr_assert_eq(pmap_omap_put(t, &b, k, (size_t)len, v, NULL, NULL), CC_OK);
                model_put(&mb, k, (size_t)len, v);
                break;
            }
            case 2: { /* equal payload, new pointer: not a change */
                tval *v = env_val(&e, me.v->payload);
                cr_assert_eq(pmap_omap_put(t, &b, me.k, me.len, v, NULL, NULL), CC_OK);
                model_put(&mb, me.k, me.len, v);
                break;
            }
            default: {
                tval *v = env_val(&e, me.v->payload + 1000000);
                cr_assert_eq(pmap_omap_put(t, &b, me.k, me.len, v, NULL, NULL), CC_OK);
                model_put(&mb, me.k, me.len, v);
                break;
            }
            }
        }
        pmap_txn_commit(t);
        check_ok(&b, NULL);
        verify_diff(&a, &ma, &b, &mb);
        verify_diff(&b, &mb, &a, &ma);
        if (g_step % 10 == 9) {
            /* Move on: b becomes the base of the next rounds. */
            t = tx(&e);
            cr_assert_eq(pmap_omap_drop(t, &a, NULL), CC_OK);
            pmap_txn_commit(t);
            a = b;
            model_free(&ma);
            ma = mb;
        } else {
            t = tx(&e);
            cr_assert_eq(pmap_omap_drop(t, &b, NULL), CC_OK);
            pmap_txn_commit(t);
            model_free(&mb);
        }
    }
    /* A non-zero callback result stops the diff and is returned. */
    pmap_omap b;
    pmap_omap_clone(&a, &b);
    pmap_txn *t = tx(&e);
    for (int i = 0; i < 5; i++)
        cr_assert_eq(pmap_omap_del(t, &b, ma.e[i * 100].k, ma.e[i * 100].len, NULL, NULL), CC_OK);
    pmap_txn_commit(t);
    int calls = 0;
    cr_assert_eq(pmap_omap_diff(&a, &b, stop_at_second, &calls), 42);
    cr_assert_eq(calls, 2);
    pmap_omap *lines[] = {&a, &b};
    env_fini(&e, lines, 2);
    model_free(&ma);
}

/* --- persistence ------------------------------------------------------------------ */

Test(omap, old_versions_survive_writes_to_newer_lines)
{
    env e;
    env_init(&e, PMAP_SHARING_OWNER);
    tu_rng r;
    tu_rng_init(&r, g_seed = tu_seed("omap/persistence"));
    pmap_omap m, old[5];
    model md = {0}, mold[5];
    pmap_omap_init(&m, e.d, &tv_type);
    for (int v = 0; v < 5; v++) {
        pmap_txn *t = tx(&e);
        for (int i = 0; i < 800; i++)
            random_write(&e, &r, t, &m, &md, 3000);
        pmap_txn_commit(t);
        pmap_omap_clone(&m, &old[v]);
        model_copy(&mold[v], &md);
    }
    for (int i = 0; i < 2000; i++) {
        pmap_txn *t = tx(&e);
        random_write(&e, &r, t, &m, &md, 3000);
        pmap_txn_commit(t);
    }
    verify(&m, &md, &r);
    for (int v = 0; v < 5; v++) {
        verify(&old[v], &mold[v], &r);
        verify_diff(&old[v], &mold[v], &m, &md);
    }
    pmap_omap *lines[] = {&m, &old[0], &old[1], &old[2], &old[3], &old[4]};
    env_fini(&e, lines, 6);
    for (int v = 0; v < 5; v++)
        model_free(&mold[v]);
    model_free(&md);
}

Test(omap, pinned_reader_keeps_old_views_readable)
{
    env e;
    env_init(&e, PMAP_SHARING_OWNER);
    tu_rng r;
    tu_rng_init(&r, g_seed = tu_seed("omap/reader"));
    pmap_reader *rd;
    cr_assert_eq(pmap_reader_new(e.d, &rd, NULL), CC_OK);
    pmap_omap m;
    model md = {0};
    pmap_omap_init(&m, e.d, &tv_type);
    model_seq(&e, &md, 3000, 1);
    build_from(&e, &m, &md);
    pmap_reader_pin(rd);
    pmap_omap view = m; /* a view, not a line: valid while pinned */
    model mview;
    model_copy(&mview, &md);
    for (int i = 0; i < 3000; i++) {
        pmap_txn *t = tx(&e);
        random_write(&e, &r, t, &m, &md, 3000);
        pmap_txn_commit(t);
    }
    verify(&view, &mview, &r);
    verify_diff(&view, &mview, &m, &md);
    pmap_domain_stats st;
    pmap_domain_stats_get(e.d, &st);
    cr_assert_gt(st.garbage_items, 0, "the pin holds garbage back");
    pmap_reader_unpin(rd);
    pmap_domain_reclaim(e.d);
    pmap_domain_stats_get(e.d, &st);
    cr_assert_eq(st.garbage_items, 0);
    pmap_reader_free(rd);
    verify(&m, &md, &r);
    pmap_omap *lines[] = {&m};
    env_fini(&e, lines, 1);
    model_free(&mview);
    model_free(&md);
}

Test(omap, abort_leaves_the_base_version_unchanged)
{
    env e;
    env_init(&e, PMAP_SHARING_OWNER);
    tu_rng r;
    tu_rng_init(&r, g_seed = tu_seed("omap/abort"));
    pmap_omap m, c;
    model md = {0};
    pmap_omap_init(&m, e.d, &tv_type);
    model_seq(&e, &md, 2500, 1);
    build_from(&e, &m, &md);
    pmap_omap_clone(&m, &c); /* half the aborts run against shared nodes */
    uint64_t n0, k0, n1, k1;
    live_counts(&e, &n0, &k0);
    for (int round = 0; round < 20; round++) {
        pmap_omap *line = round % 2 ? &m : &c;
        pmap_omap base = *line;
        model scratch;
        model_copy(&scratch, &md);
        pmap_txn *t = tx(&e);
        for (int i = 0; i < 300; i++)
            random_write(&e, &r, t, line, &scratch, 3000);
        check_ok(line, t);
        pmap_txn_abort(t);
        *line = base;
        model_free(&scratch);
        live_counts(&e, &n1, &k1);
        cr_assert_eq(n1, n0, "abort freed every born node");
        cr_assert_eq(k1, k0, "abort freed every new key");
        verify(&m, &md, &r);
        verify(&c, &md, &r);
    }
    pmap_omap *lines[] = {&m, &c};
    env_fini(&e, lines, 2);
    model_free(&md);
}

/* --- memory -------------------------------------------------------------------------- */

Test(omap, random_inserts_use_at_most_32_bytes_per_entry_besides_keys)
{
    env e;
    env_init(&e, PMAP_SHARING_OWNER);
    tu_rng r;
    tu_rng_init(&r, g_seed = tu_seed("omap/memory"));
    pmap_omap m;
    pmap_omap_init(&m, e.d, NULL);
    for (int b = 0; b < 100; b++) {
        pmap_txn *t = tx(&e);
        for (int i = 0; i < 1000; i++) {
            uint64_t x = tu_rng_next(&r);
            char k[24];
            int len = snprintf(k, sizeof k, "n%016llx", (unsigned long long)x);
            cr_assert_eq(
                pmap_omap_put(t, &m, k, (size_t)len, (void *)(uintptr_t)(x | 1), NULL, NULL),
                CC_OK);
        }
        pmap_txn_commit(t);
    }
    for (int i = 0; i < 2000; i++) {
        char k[24];
        int len = snprintf(k, sizeof k, "n%016llx", (unsigned long long)tu_rng_next(&r));
        put1(&e, &m, k, (size_t)len, (void *)(uintptr_t)1);
    }
    check_ok(&m, NULL);
    pmap_omap_stats st;
    pmap_omap_stats_get(&m, &st);
    double per = (double)st.node_bytes / (double)pmap_omap_count(&m);
    fprintf(stderr, "omap memory: %.1f B/entry (fill %.2f, %zu leaves, %zu branches)\n", per,
            st.leaf_fill, st.leaves, st.branches);
    cr_assert_leq(per, 32.0, "%.1f bytes per entry", per);
    cr_assert_eq(st.key_bytes, pmap_omap_count(&m) * (sizeof(uint64_t) * 2 + 17));
    pmap_omap *lines[] = {&m};
    env_fini(&e, lines, 1);
}

/* --- fault injection ------------------------------------------------------------------ */

typedef cc_code (*fault_op)(pmap_txn *t, pmap_omap *m, void *ctx, cc_err *err);

/*
 * Runs op in a transaction with the N-th allocation failing, N = 1, 2, ...
 * until it succeeds; after every failure: abort, and the old version (and the
 * other line, if any) equals its model and the live counts are unchanged.
 * Returns the number of failures injected.
 */
static int
run_faults(env *e, pmap_omap *m, const model *md, const pmap_omap *other, const model *mo,
           fault_op op, void *ctx)
{
    tu_rng r;
    tu_rng_init(&r, 3);
    for (int n = 1;; n++) {
        uint64_t n0, k0, n1, k1;
        live_counts(e, &n0, &k0);
        pmap_omap base = *m;
        pmap_txn *t = tx(e);
        cc_err err = {0};
        cc_alloc_fail_at((uint64_t)n);
        cc_code rc = op(t, m, ctx, &err);
        bool fired = cc_alloc_failed();
        cc_alloc_fail_at(0);
        if (rc == CC_OK) {
            cr_assert(!fired, "allocation %d failed but the operation reported success", n);
            check_ok(m, t);
            pmap_txn_commit(t);
            return n - 1;
        }
        cr_assert_eq(rc, CC_NOMEM, "allocation %d: %s", n, err.msg);
        cr_assert(pmap_txn_is_poisoned(t));
        pmap_txn_abort(t);
        *m = base;
        live_counts(e, &n1, &k1);
        cr_assert_eq(n1, n0, "allocation %d: %llu nodes before, %llu after abort", n,
                     (unsigned long long)n0, (unsigned long long)n1);
        cr_assert_eq(k1, k0, "allocation %d: key blobs changed", n);
        verify(m, md, &r);
        if (other != NULL)
            verify(other, mo, &r);
    }
}

typedef struct batch_ctx {
    const model *md;
    unsigned first;
    unsigned n;
    unsigned stride;
    bool del;
} batch_ctx;

/* Puts (fresh keys) or deletes (model keys) n entries starting at first. */
static cc_code
batch_op(pmap_txn *t, pmap_omap *m, void *ctx, cc_err *err)
{
    const batch_ctx *b = ctx;
    for (unsigned i = 0; i < b->n; i++) {
        const mentry *me = &b->md->e[b->first + i * b->stride];
        cc_code rc;
        if (b->del) {
            rc = pmap_omap_del(t, m, me->k, me->len, NULL, err);
        } else {
            char k[KMAX + 2];
            memcpy(k, me->k, me->len);
            k[me->len] = '+';
            rc = pmap_omap_put(t, m, k, me->len + 1, me->v, NULL, err);
        }
        if (rc != CC_OK)
            return rc;
    }
    return CC_OK;
}

static void
fault_batch(pmap_sharing sharing, bool with_clone, bool del, unsigned n)
{
    env e;
    env_init(&e, sharing);
    pmap_omap m, c;
    model md = {0};
    pmap_omap_init(&m, e.d, &tv_type);
    model_seq(&e, &md, 2048, 2); /* full leaves and branches: inserts split up to the root */
    build_from(&e, &m, &md);
    if (with_clone)
        pmap_omap_clone(&m, &c);
    batch_ctx b = {&md, 5, n, (unsigned)(md.n - 10) / n, del};
    int fails = run_faults(&e, &m, &md, with_clone ? &c : NULL, &md, batch_op, &b);
    cr_assert_gt(fails, 0);
    model after;
    model_copy(&after, &md);
    for (unsigned i = 0; i < n; i++) {
        const mentry *me = &md.e[b.first + i * b.stride];
        if (del) {
            model_del(&after, me->k, me->len);
        } else {
            char k[KMAX + 2];
            memcpy(k, me->k, me->len);
            k[me->len] = '+';
            model_put(&after, k, me->len + 1, me->v);
        }
    }
    tu_rng r;
    tu_rng_init(&r, 5);
    verify(&m, &after, &r);
    if (with_clone)
        verify(&c, &md, &r);
    pmap_omap *lines[] = {&m, &c};
    env_fini(&e, lines, with_clone ? 2 : 1);
    model_free(&after);
    model_free(&md);
}

Test(omap_fault, insert_failing_at_every_allocation_leaves_the_old_version_intact)
{
    fault_batch(PMAP_SHARING_OWNER, false, false, 1);
    fault_batch(PMAP_SHARING_OWNER, true, false, 1);
    fault_batch(PMAP_SHARING_COUNTED, false, false, 1);
}

Test(omap_fault, transient_batch_failing_at_every_allocation_leaves_the_old_version_intact)
{
    fault_batch(PMAP_SHARING_OWNER, false, false, 64);
    fault_batch(PMAP_SHARING_OWNER, true, false, 64);
}

Test(omap_fault, deletes_with_merges_failing_at_every_allocation_leave_the_old_version_intact)
{
    /* Thin the map first so that single deletes merge and borrow. */
    env e;
    env_init(&e, PMAP_SHARING_OWNER);
    pmap_omap m, c;
    model md = {0};
    pmap_omap_init(&m, e.d, &tv_type);
    model_seq(&e, &md, 4096, 1);
    build_from(&e, &m, &md);
    tu_rng r;
    tu_rng_init(&r, g_seed = tu_seed("omap/fault_delete"));
    pmap_txn *t = tx(&e);
    for (int i = 0; i < 2500; i++) {
        size_t j = tu_rng_below(&r, md.n);
        mentry me = md.e[j];
        cr_assert_eq(pmap_omap_del(t, &m, me.k, me.len, NULL, NULL), CC_OK);
        model_del(&md, me.k, me.len);
    }
    pmap_txn_commit(t);
    pmap_omap_clone(&m, &c);
    model mc;
    model_copy(&mc, &md);
    int total = 0;
    for (int i = 0; i < 40; i++) {
        size_t j = tu_rng_below(&r, md.n);
        batch_ctx b = {&md, (unsigned)j, 1, 1, true};
        total += run_faults(&e, &m, &md, &c, &mc, batch_op, &b);
        mentry me = md.e[j];
        model_del(&md, me.k, me.len);
        verify(&m, &md, &r);
    }
    cr_assert_gt(total, 40);
    batch_ctx b = {&md, 0, 300, 2, true};
    total = run_faults(&e, &m, &md, &c, &mc, batch_op, &b);
    cr_assert_gt(total, 0);
    verify(&c, &mc, &r);
    pmap_omap *lines[] = {&m, &c};
    env_fini(&e, lines, 2);
    model_free(&mc);
    model_free(&md);
}

typedef struct build_ctx {
    const model *md;
} build_ctx;

static cc_code
build_op(pmap_txn *t, pmap_omap *m, void *ctx, cc_err *err)
{
    const model *md = ((const build_ctx *)ctx)->md;
    pmap_bytes *keys = malloc(md->n * sizeof *keys);
    void **vals = malloc(md->n * sizeof *vals);
    cr_assert(keys != NULL && vals != NULL);
    for (size_t i = 0; i < md->n; i++) {
        keys[i] = (pmap_bytes){md->e[i].k, md->e[i].len};
        vals[i] = md->e[i].v;
    }
    cc_code rc = pmap_omap_build(t, m, keys, vals, md->n, err);
    free(keys);
    free(vals);
    return rc;
}

Test(omap_fault, bulk_build_failing_at_every_allocation_leaves_nothing_behind)
{
    env e;
    env_init(&e, PMAP_SHARING_OWNER);
    pmap_omap m;
    model md = {0}, empty = {0};
    pmap_omap_init(&m, e.d, &tv_type);
    model_seq(&e, &md, 1100, 1);
    build_ctx b = {&md};
    int fails = run_faults(&e, &m, &empty, NULL, NULL, build_op, &b);
    cr_assert_gt(fails, 1100, "every key blob is an allocation");
    tu_rng r;
    tu_rng_init(&r, 9);
    verify(&m, &md, &r);
    cr_assert_eq(m.height, 3);
    pmap_omap *lines[] = {&m};
    env_fini(&e, lines, 1);
    model_free(&md);
}
