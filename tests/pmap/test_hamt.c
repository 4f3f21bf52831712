/*
 * tests/pmap/test_hamt.c — the CHAMP map: unit tests, model-based property
 * tests (against a plain array indexed by a key universe), diff on derived
 * versions, persistence of old versions, allocation-failure injection and
 * leak accounting. Every randomised test prints its seed (tu_seed).
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/hash.h"
#include "pmap/domain.h"
#include "pmap/hamt.h"
#include "testutil.h"

/* --- values: refcounted so leaks and double releases show ------------------ */

typedef struct tval {
    int refs;
} tval;

static int g_negative_refs; /* set if any value is released more than retained */

static void
tval_retain(void *v)
{
    ((tval *)v)->refs++;
}

static void
tval_release(void *v)
{
    if (--((tval *)v)->refs < 0)
        g_negative_refs = 1;
}

static const pmap_value_ops tval_ops = {tval_retain, tval_release, NULL, NULL};

/* --- hashes and types -------------------------------------------------------- */

static uint64_t
h_low3(uint64_t id)
{
    return id & 7;
}

static uint64_t
h_const(uint64_t id)
{
    (void)id;
    return 0x5a5a5a5aULL;
}

/* Only the top 12 bits vary: long chains of one-child nodes, then splits and collisions. */
static uint64_t
h_deep(uint64_t id)
{
    return cc_mix64(id) << 52;
}

static uint64_t
hb_const(const void *p, size_t n)
{
    (void)p;
    (void)n;
    return 42;
}

static uint64_t
hb_len(const void *p, size_t n)
{
    (void)p;
    return n & 3;
}

static const pmap_hamt_type t_u64 = {PMAP_KEY_U64, &tval_ops, NULL, NULL};
static const pmap_hamt_type t_u64_plain = {PMAP_KEY_U64, NULL, NULL, NULL};
static const pmap_hamt_type t_u64_low3 = {PMAP_KEY_U64, &tval_ops, h_low3, NULL};
static const pmap_hamt_type t_u64_const = {PMAP_KEY_U64, &tval_ops, h_const, NULL};
static const pmap_hamt_type t_u64_deep = {PMAP_KEY_U64, &tval_ops, h_deep, NULL};
static const pmap_hamt_type t_bytes = {PMAP_KEY_BYTES, &tval_ops, NULL, NULL};
static const pmap_hamt_type t_bytes_plain = {PMAP_KEY_BYTES, NULL, NULL, NULL};
static const pmap_hamt_type t_bytes_const = {PMAP_KEY_BYTES, &tval_ops, NULL, hb_const};
static const pmap_hamt_type t_bytes_len = {PMAP_KEY_BYTES, &tval_ops, NULL, hb_len};

/* --- the world: domain, key universe, value pool ------------------------------ */

#define NVALS  61
#define KEYBUF 160
#define ID_MUL 0x9E3779B97F4A7C15ULL

typedef struct world {
    pmap_domain *d;
    const pmap_hamt_type *type;
    size_t nu; /* universe size: keys are indexed 0..nu-1 */
    char (*kbuf)[KEYBUF];
    size_t *klen;
    tval vals[NVALS];
    uint64_t id_inv; /* inverse of ID_MUL mod 2^64 */
} world;

static uint64_t
key_id(size_t i)
{
    return (uint64_t)i * ID_MUL;
}

static void
world_init(world *w, const pmap_hamt_type *type, size_t nu, pmap_sharing sharing)
{
    memset(w, 0, sizeof *w);
    pmap_domain_options opts = {.sharing = sharing};
    cr_assert_eq(pmap_domain_new(&opts, &w->d, NULL), CC_OK);
    w->type = type;
    w->nu = nu;
    uint64_t inv = ID_MUL; /* Newton: inv = inv * (2 - a * inv) doubles correct bits */
    for (int k = 0; k < 6; k++)
        inv *= 2 - ID_MUL * inv;
    w->id_inv = inv;
    cr_assert_eq(ID_MUL * inv, 1);
    if (type->key_kind == PMAP_KEY_BYTES) {
        w->kbuf = calloc(nu, KEYBUF);
        w->klen = calloc(nu, sizeof *w->klen);
        for (size_t i = 1; i < nu; i++) {
            int n = snprintf(w->kbuf[i], KEYBUF, "k%zu", i);
            size_t len = (size_t)n;
            if (i % 7 == 0)
                len = KEYBUF - 1 - (i % 13); /* long keys */
            else if (i % 3 == 0)
                len = (size_t)n + i % 9;
            memset(w->kbuf[i] + n, '.', KEYBUF - (size_t)n);
            w->kbuf[i][len] = '\0';
            w->klen[i] = len;
        }
        w->klen[0] = 0; /* the empty key */
    }
}

/* Index of a stored key in the universe. */
static size_t
world_index(const world *w, uint64_t id, pmap_bytes key)
{
    if (w->type->key_kind == PMAP_KEY_U64)
        return (size_t)(id * w->id_inv);
    if (key.len == 0)
        return 0;
    char tmp[32] = {0};
    size_t n = key.len < sizeof tmp - 1 ? key.len : sizeof tmp - 1;
    memcpy(tmp, key.ptr, n);
    cr_assert_eq(tmp[0], 'k');
    return (size_t)strtoull(tmp + 1, NULL, 10);
}

static void
world_fini(world *w)
{
    pmap_domain_stats st;
    pmap_domain_stats_get(w->d, &st);
    cr_assert_eq(st.live_nodes, 0, "leaked %llu nodes", (unsigned long long)st.live_nodes);
    cr_assert_eq(st.live_keys, 0, "leaked %llu keys", (unsigned long long)st.live_keys);
    for (int i = 0; i < NVALS; i++)
        cr_assert_eq(w->vals[i].refs, 0, "value %d has %d references left", i, w->vals[i].refs);
    cr_assert_eq(g_negative_refs, 0, "a value was released more often than retained");
    pmap_domain_free(w->d);
    free(w->kbuf);
    free(w->klen);
}

static pmap_txn *
begin(world *w)
{
    pmap_txn *t;
    cr_assert_eq(pmap_txn_begin(w->d, &t, NULL), CC_OK);
    return t;
}

static cc_code
put_i(world *w, pmap_txn *t, pmap_hamt *m, size_t i, void *v, bool *replaced, cc_err *err)
{
    if (w->type->key_kind == PMAP_KEY_U64)
        return pmap_hamt_put_u64(t, m, key_id(i), v, replaced, err);
    return pmap_hamt_put_bytes(t, m, w->kbuf[i], w->klen[i], v, replaced, err);
}

static cc_code
del_i(world *w, pmap_txn *t, pmap_hamt *m, size_t i, bool *removed, cc_err *err)
{
    if (w->type->key_kind == PMAP_KEY_U64)
        return pmap_hamt_del_u64(t, m, key_id(i), removed, err);
    return pmap_hamt_del_bytes(t, m, w->kbuf[i], w->klen[i], removed, err);
}

static void *
find_i(const world *w, const pmap_hamt *m, size_t i)
{
    if (w->type->key_kind == PMAP_KEY_U64)
        return pmap_hamt_find_u64(m, key_id(i));
    return pmap_hamt_find_bytes(m, w->kbuf[i], w->klen[i]);
}

/* Bulk build from the non-NULL entries of model (length nu). */
static cc_code
build_from(world *w, pmap_txn *t, pmap_hamt *m, void **model, cc_err *err)
{
    size_t n = 0;
    uint64_t *ids = malloc((w->nu + 1) * sizeof *ids);
    pmap_bytes *keys = malloc((w->nu + 1) * sizeof *keys);
    void **vals = malloc((w->nu + 1) * sizeof *vals);
    for (size_t i = 0; i < w->nu; i++) {
        if (model[i] == NULL)
            continue;
        ids[n] = key_id(i);
        if (w->kbuf != NULL)
            keys[n] = (pmap_bytes){w->kbuf[i], w->klen[i]};
        vals[n++] = model[i];
    }
    cc_code rc = w->type->key_kind == PMAP_KEY_U64
                     ? pmap_hamt_build_u64(t, m, ids, vals, n, err)
                     : pmap_hamt_build_bytes(t, m, keys, vals, n, err);
    free(ids);
    free(keys);
    free(vals);
    return rc;
}

/* --- verification against the model ----------------------------------------- */

/* m's check passes and m holds exactly model (checked by iteration and lookups). */
static void verify_content(const world *w, const pmap_hamt *m, void **model, long step);

static void
verify(const world *w, const pmap_hamt *m, void **model, const pmap_txn *txn, long step)
{
    cc_err err = {0};
    cc_code rc = pmap_hamt_check(m, txn, &err);
    cr_assert_eq(rc, CC_OK, "step %ld: check failed: %s", step, err.msg);
    verify_content(w, m, model, step);
}

/*
 * m holds exactly model. Also for old views a pinned reader holds: their nodes
 * may have dropped to rc 0 (counted sharing), which pmap_hamt_check reports.
 */
static void
verify_content(const world *w, const pmap_hamt *m, void **model, long step)
{
    size_t expect = 0;
    for (size_t i = 0; i < w->nu; i++)
        expect += model[i] != NULL;
    cr_assert_eq(pmap_hamt_count(m), expect, "step %ld: count %zu, model %zu", step,
                 pmap_hamt_count(m), expect);
    unsigned char *seen = calloc(w->nu, 1);
    pmap_hamt_iter it;
    uint64_t id;
    pmap_bytes key;
    void *v;
    size_t n = 0;
    pmap_hamt_iter_init(&it, m);
    while (pmap_hamt_iter_next(&it, &id, &key, &v)) {
        size_t i = world_index(w, id, key);
        cr_assert(i < w->nu, "step %ld: iteration returned a key outside the universe", step);
        cr_assert(!seen[i], "step %ld: iteration returned key %zu twice", step, i);
        seen[i] = 1;
        cr_assert_eq(v, model[i], "step %ld: key %zu has the wrong value", step, i);
        n++;
    }
    cr_assert_eq(n, expect, "step %ld: iteration gave %zu entries, model %zu", step, n, expect);
    size_t stride = w->nu > 4096 ? w->nu / 512 : 1;
    for (size_t i = 0; i < w->nu; i += stride)
        cr_assert_eq(find_i(w, m, i), model[i], "step %ld: lookup of key %zu wrong", step, i);
    free(seen);
}

typedef struct diff_rec {
    const world *w;
    void **ma, **mb;
    unsigned char *seen;
    size_t n;
    int fail;
    char why[160];
} diff_rec;

static int
diff_cb(void *arg, const pmap_diff_item *item)
{
    diff_rec *r = arg;
    size_t i = world_index(r->w, item->id, item->key);
    if (i >= r->w->nu || r->seen[i]) {
        snprintf(r->why, sizeof r->why, "key %zu reported twice or unknown", i);
        r->fail = 1;
        return 1;
    }
    r->seen[i] = 1;
    r->n++;
    void *a = r->ma[i], *b = r->mb[i];
    bool ok = false;
    switch (item->kind) {
    case PMAP_DIFF_ADDED:
        ok = a == NULL && b != NULL && item->new_value == b && item->old_value == NULL;
        break;
    case PMAP_DIFF_REMOVED:
        ok = a != NULL && b == NULL && item->old_value == a && item->new_value == NULL;
        break;
    case PMAP_DIFF_CHANGED:
        ok = a != NULL && b != NULL && a != b && item->old_value == a && item->new_value == b;
        break;
    }
    if (!ok) {
        snprintf(r->why, sizeof r->why, "key %zu reported as kind %d wrongly", i, item->kind);
        r->fail = 1;
        return 1;
    }
    return 0;
}

/* diff(a, b) reports exactly the model difference. */
static void
verify_diff(const world *w, const pmap_hamt *a, void **ma, const pmap_hamt *b, void **mb, long step)
{
    diff_rec r = {.w = w, .ma = ma, .mb = mb, .seen = calloc(w->nu, 1)};
    int rc = pmap_hamt_diff(a, b, diff_cb, &r);
    cr_assert_eq(r.fail, 0, "step %ld: diff: %s", step, r.why);
    cr_assert_eq(rc, 0, "step %ld: diff returned %d", step, rc);
    size_t expect = 0;
    for (size_t i = 0; i < w->nu; i++)
        expect += ma[i] != mb[i];
    cr_assert_eq(r.n, expect, "step %ld: diff reported %zu keys, model %zu", step, r.n, expect);
    free(r.seen);
}

static bool
model_equal(const world *w, void **a, void **b)
{
    return memcmp(a, b, w->nu * sizeof *a) == 0;
}

/* Drops m in its own transaction. */
static void
drop_line(world *w, pmap_hamt *m)
{
    pmap_txn *t = begin(w);
    cr_assert_eq(pmap_hamt_drop(t, m, NULL), CC_OK);
    pmap_txn_commit(t);
}

static void *
rand_val(world *w, tu_rng *r)
{
    return &w->vals[tu_rng_below(r, NVALS)];
}

/* --- unit tests -------------------------------------------------------------- */

Test(hamt, empty_map_finds_nothing_and_checks_clean)
{
    world w;
    world_init(&w, &t_u64, 16, PMAP_SHARING_OWNER);
    pmap_hamt m;
    pmap_hamt_init(&m, w.d, &t_u64);
    cr_assert_null(pmap_hamt_find_u64(&m, 1));
    cr_assert_eq(pmap_hamt_count(&m), 0);
    cr_assert_eq(pmap_hamt_check(&m, NULL, NULL), CC_OK);
    pmap_hamt_iter it;
    pmap_hamt_iter_init(&it, &m);
    cr_assert(!pmap_hamt_iter_next(&it, NULL, NULL, NULL));
    pmap_txn *t = begin(&w);
    bool removed = true;
    cr_assert_eq(pmap_hamt_del_u64(t, &m, 5, &removed, NULL), CC_OK);
    cr_assert(!removed);
    pmap_txn_commit(t);
    pmap_hamt n;
    pmap_hamt_clone(&m, &n);
    cr_assert(pmap_hamt_same_content(&m, &n));
    cr_assert_eq(pmap_hamt_diff(&m, &n, diff_cb, NULL), 0);
    pmap_hamt_stats st;
    pmap_hamt_stats_get(&m, &st);
    cr_assert_eq(st.nodes, 0);
    drop_line(&w, &n);
    drop_line(&w, &m);
    world_fini(&w);
}

Test(hamt, put_find_replace_delete_u64)
{
    world w;
    world_init(&w, &t_u64, 1000, PMAP_SHARING_OWNER);
    void *model[1000] = {0};
    pmap_hamt m;
    pmap_hamt_init(&m, w.d, &t_u64);
    pmap_txn *t = begin(&w);
    bool replaced = true;
    for (size_t i = 0; i < 1000; i++) {
        model[i] = &w.vals[i % NVALS];
        cr_assert_eq(put_i(&w, t, &m, i, model[i], &replaced, NULL), CC_OK);
        cr_assert(!replaced);
    }
    verify(&w, &m, model, t, 0);
    pmap_txn_commit(t);
    verify(&w, &m, model, NULL, 1);
    cr_assert_eq(w.vals[0].refs, (1000 + NVALS - 1) / NVALS);

    t = begin(&w);
    cr_assert_eq(put_i(&w, t, &m, 7, &w.vals[3], &replaced, NULL), CC_OK);
    cr_assert(replaced);
    model[7] = &w.vals[3];
    bool removed = false;
    cr_assert_eq(del_i(&w, t, &m, 8, &removed, NULL), CC_OK);
    cr_assert(removed);
    model[8] = NULL;
    cr_assert_eq(del_i(&w, t, &m, 8, &removed, NULL), CC_OK);
    cr_assert(!removed);
    pmap_txn_commit(t);
    verify(&w, &m, model, NULL, 2);
    cr_assert_null(pmap_hamt_find_u64(&m, key_id(8)));
    cr_assert_eq(pmap_hamt_find_u64(&m, key_id(7)), &w.vals[3]);

    t = begin(&w);
    for (size_t i = 0; i < 1000; i++) {
        cr_assert_eq(del_i(&w, t, &m, i, &removed, NULL), CC_OK);
        cr_assert_eq(removed, model[i] != NULL);
        model[i] = NULL;
        if (i % 97 == 0)
            verify(&w, &m, model, t, (long)i);
    }
    cr_assert_null(m.root);
    pmap_txn_commit(t);
    verify(&w, &m, model, NULL, 3);
    drop_line(&w, &m);
    world_fini(&w);
}

Test(hamt, byte_keys_include_empty_long_and_prefix_keys)
{
    world w;
    world_init(&w, &t_bytes, 8, PMAP_SHARING_OWNER);
    pmap_hamt m;
    pmap_hamt_init(&m, w.d, &t_bytes);
    size_t big = 100000;
    char *long_key = malloc(big);
    for (size_t i = 0; i < big; i++)
        long_key[i] = (char)('a' + i % 26);
    pmap_txn *t = begin(&w);
    cr_assert_eq(pmap_hamt_put_bytes(t, &m, "", 0, &w.vals[0], NULL, NULL), CC_OK);
    cr_assert_eq(pmap_hamt_put_bytes(t, &m, NULL, 0, &w.vals[1], NULL, NULL), CC_OK);
    cr_assert_eq(pmap_hamt_put_bytes(t, &m, "ab", 2, &w.vals[2], NULL, NULL), CC_OK);
    cr_assert_eq(pmap_hamt_put_bytes(t, &m, "abc", 3, &w.vals[3], NULL, NULL), CC_OK);
    cr_assert_eq(pmap_hamt_put_bytes(t, &m, "a\0c", 3, &w.vals[4], NULL, NULL), CC_OK);
    cr_assert_eq(pmap_hamt_put_bytes(t, &m, long_key, big, &w.vals[5], NULL, NULL), CC_OK);
    cr_assert_eq(pmap_hamt_check(&m, t, NULL), CC_OK);
    pmap_txn_commit(t);
    cr_assert_eq(pmap_hamt_count(&m), 5);
    cr_assert_eq(pmap_hamt_find_bytes(&m, "", 0), &w.vals[1]);
    cr_assert_eq(pmap_hamt_find_bytes(&m, "ab", 2), &w.vals[2]);
    cr_assert_eq(pmap_hamt_find_bytes(&m, "abc", 3), &w.vals[3]);
    cr_assert_eq(pmap_hamt_find_bytes(&m, "a\0c", 3), &w.vals[4]);
    cr_assert_null(pmap_hamt_find_bytes(&m, "a", 1));
    cr_assert_eq(pmap_hamt_find_bytes(&m, long_key, big), &w.vals[5]);
    cr_assert_null(pmap_hamt_find_bytes(&m, long_key, big - 1));
    cr_assert_null(pmap_hamt_find_u64(&m, 0), "a u64 lookup in a byte map finds nothing");
    pmap_hamt_iter it;
    pmap_bytes key;
    void *v;
    size_t n = 0, seen_long = 0;
    pmap_hamt_iter_init(&it, &m);
    while (pmap_hamt_iter_next(&it, NULL, &key, &v)) {
        n++;
        if (key.len == big) {
            seen_long++;
            cr_assert(memcmp(key.ptr, long_key, big) == 0);
        }
    }
    cr_assert_eq(n, 5);
    cr_assert_eq(seen_long, 1);
    t = begin(&w);
    bool removed;
    cr_assert_eq(pmap_hamt_del_bytes(t, &m, "", 0, &removed, NULL), CC_OK);
    cr_assert(removed);
    cr_assert_eq(pmap_hamt_del_bytes(t, &m, long_key, big, &removed, NULL), CC_OK);
    cr_assert(removed);
    pmap_txn_commit(t);
    cr_assert_eq(pmap_hamt_count(&m), 3);
    cr_assert_null(pmap_hamt_find_bytes(&m, "", 0));
    cr_assert_eq(pmap_hamt_check(&m, NULL, NULL), CC_OK);
    pmap_domain_stats st;
    pmap_domain_stats_get(w.d, &st);
    cr_assert_eq(st.live_keys, 3);
    free(long_key);
    drop_line(&w, &m);
    world_fini(&w);
}

/* Inserts keys 0..n-1 in a shuffled order, deletes some, returns the map. */
static void
collision_round(const pmap_hamt_type *type, size_t n)
{
    world w;
    world_init(&w, type, n, PMAP_SHARING_OWNER);
    void **model = calloc(n, sizeof *model);
    tu_rng r;
    tu_rng_init(&r, tu_seed("hamt_collisions"));
    pmap_hamt m;
    pmap_hamt_init(&m, w.d, type);
    for (size_t k = 0; k < 4 * n; k++) {
        size_t i = tu_rng_below(&r, n);
        pmap_txn *t = begin(&w);
        if (tu_rng_chance(&r, 60)) {
            model[i] = rand_val(&w, &r);
            cr_assert_eq(put_i(&w, t, &m, i, model[i], NULL, NULL), CC_OK);
        } else {
            model[i] = NULL;
            cr_assert_eq(del_i(&w, t, &m, i, NULL, NULL), CC_OK);
        }
        pmap_txn_commit(t);
        verify(&w, &m, model, NULL, (long)k);
    }
    pmap_hamt_stats st;
    pmap_hamt_stats_get(&m, &st);
    if (pmap_hamt_count(&m) > 16)
        cr_assert_gt(st.collision_nodes, 0, "a degenerate hash must create collision nodes");
    /* Delete down to one entry: the map must shrink to a lone root. */
    size_t keep = n;
    for (size_t i = 0; i < n; i++)
        if (model[i] != NULL && keep == n)
            keep = i;
    pmap_txn *t = begin(&w);
    for (size_t i = 0; i < n; i++) {
        if (i == keep || model[i] == NULL)
            continue;
        bool removed;
        cr_assert_eq(del_i(&w, t, &m, i, &removed, NULL), CC_OK);
        cr_assert(removed);
        model[i] = NULL;
    }
    verify(&w, &m, model, t, -1);
    pmap_txn_commit(t);
    if (keep < n) {
        pmap_hamt_stats_get(&m, &st);
        cr_assert_eq(st.nodes, 1, "a single entry must live in the root alone");
        cr_assert_eq(st.collision_nodes, 0);
    }
    drop_line(&w, &m);
    free(model);
    world_fini(&w);
}

Test(hamt, collisions_with_a_three_bit_hash_return_to_canonical_form)
{
    collision_round(&t_u64_low3, 300);
}

Test(hamt, collisions_with_a_constant_hash_return_to_canonical_form)
{
    collision_round(&t_u64_const, 120);
    collision_round(&t_bytes_const, 120);
}

Test(hamt, deep_single_child_chains_collapse_on_delete)
{
    collision_round(&t_u64_deep, 600);
    collision_round(&t_bytes_len, 200);
}

Test(hamt, delete_restores_canonical_form)
{
    /* Any insert/delete history gives the shape a bulk build of the same content gives. */
    const pmap_hamt_type *types[] = {&t_u64, &t_u64_deep, &t_u64_low3, &t_bytes};
    for (size_t ti = 0; ti < 4; ti++) {
        world w;
        size_t n = 2000;
        world_init(&w, types[ti], n, PMAP_SHARING_OWNER);
        void **model = calloc(n, sizeof *model);
        tu_rng r;
        tu_rng_init(&r, tu_seed("hamt_canonical"));
        pmap_hamt m, b;
        pmap_hamt_init(&m, w.d, types[ti]);
        pmap_hamt_init(&b, w.d, types[ti]);
        pmap_txn *t = begin(&w);
        for (size_t i = 0; i < n; i++) {
            model[i] = rand_val(&w, &r);
            cr_assert_eq(put_i(&w, t, &m, i, model[i], NULL, NULL), CC_OK);
        }
        pmap_txn_commit(t);
        for (size_t k = 0; k < n; k++) { /* delete about 3/4, one per txn */
            size_t i = tu_rng_below(&r, n);
            t = begin(&w);
            cr_assert_eq(del_i(&w, t, &m, i, NULL, NULL), CC_OK);
            model[i] = NULL;
            pmap_txn_commit(t);
        }
        t = begin(&w);
        cr_assert_eq(build_from(&w, t, &b, model, NULL), CC_OK);
        pmap_txn_commit(t);
        verify(&w, &m, model, NULL, (long)ti);
        verify(&w, &b, model, NULL, (long)ti);
        pmap_hamt_stats sm, sb;
        pmap_hamt_stats_get(&m, &sm);
        pmap_hamt_stats_get(&b, &sb);
        cr_assert_eq(sm.nodes, sb.nodes, "type %zu: %zu nodes after deletes, %zu built", ti,
                     sm.nodes, sb.nodes);
        cr_assert_eq(sm.max_depth, sb.max_depth);
        cr_assert_eq(sm.collision_nodes, sb.collision_nodes);
        cr_assert(sm.avg_entry_depth == sb.avg_entry_depth);
        cr_assert(pmap_hamt_same_content(&m, &b));
        verify_diff(&w, &m, model, &b, model, (long)ti);
        drop_line(&w, &m);
        drop_line(&w, &b);
        free(model);
        world_fini(&w);
    }
}

Test(hamt, invalid_arguments_change_nothing)
{
    world w;
    world_init(&w, &t_u64, 64, PMAP_SHARING_OWNER);
    pmap_hamt m;
    pmap_hamt_init(&m, w.d, &t_u64);
    pmap_txn *t = begin(&w);
    for (size_t i = 0; i < 40; i++)
        cr_assert_eq(put_i(&w, t, &m, i, &w.vals[i % NVALS], NULL, NULL), CC_OK);
    pmap_txn_commit(t);
    pmap_hamt before = m;
    pmap_domain_stats s0, s1;
    pmap_domain_stats_get(w.d, &s0);

    t = begin(&w);
    cc_err err = {0};
    cr_assert_eq(pmap_hamt_put_u64(t, &m, 1, NULL, NULL, &err), CC_INVALID);
    cr_assert_eq(err.code, CC_INVALID);
    cr_assert_eq(pmap_hamt_put_bytes(t, &m, "x", 1, &w.vals[0], NULL, NULL), CC_INVALID);
    cr_assert_eq(pmap_hamt_del_bytes(t, &m, "x", 1, NULL, NULL), CC_INVALID);
    cr_assert_eq(pmap_hamt_put_u64(NULL, &m, 1, &w.vals[0], NULL, NULL), CC_INVALID);
    uint64_t ids[3] = {1, 2, 3};
    void *vals[3] = {&w.vals[0], &w.vals[1], &w.vals[2]};
    cr_assert_eq(pmap_hamt_build_u64(t, &m, ids, vals, 3, NULL), CC_INVALID, "m is not empty");
    pmap_hamt e;
    pmap_hamt_init(&e, w.d, &t_u64);
    uint64_t dup[4] = {5, 6, 7, 6};
    void *dvals[4] = {&w.vals[0], &w.vals[1], &w.vals[2], &w.vals[3]};
    cr_assert_eq(pmap_hamt_build_u64(t, &e, dup, dvals, 4, NULL), CC_INVALID);
    void *nvals[3] = {&w.vals[0], NULL, &w.vals[2]};
    cr_assert_eq(pmap_hamt_build_u64(t, &e, ids, nvals, 3, NULL), CC_INVALID);
    cr_assert_null(e.root);
    cr_assert(!pmap_txn_is_poisoned(t));
    cr_assert_eq(m.root, before.root);
    cr_assert(pmap_hamt_same_content(&m, &before));
    pmap_txn_commit(t);
    pmap_domain_stats_get(w.d, &s1);
    cr_assert_eq(s1.live_nodes, s0.live_nodes);
    cr_assert_eq(pmap_hamt_check(&m, NULL, NULL), CC_OK);

    /* Duplicates under a constant hash: equal hashes are not equal keys. */
    world wb;
    world_init(&wb, &t_bytes_const, 4, PMAP_SHARING_OWNER);
    pmap_hamt bm;
    pmap_hamt_init(&bm, wb.d, &t_bytes_const);
    pmap_bytes keys[3] = {{"a", 1}, {"b", 1}, {"c", 1}};
    pmap_bytes dkeys[3] = {{"a", 1}, {"b", 1}, {"a", 1}};
    t = begin(&wb);
    cr_assert_eq(pmap_hamt_build_bytes(t, &bm, dkeys, vals, 3, NULL), CC_INVALID);
    cr_assert_eq(pmap_hamt_put_bytes(t, &bm, NULL, 3, &wb.vals[0], NULL, NULL), CC_INVALID);
    cr_assert_null(bm.root);
    void *bvals[3] = {&wb.vals[0], &wb.vals[1], &wb.vals[2]};
    cr_assert_eq(pmap_hamt_build_bytes(t, &bm, keys, bvals, 3, NULL), CC_OK);
    cr_assert_eq(pmap_hamt_count(&bm), 3);
    cr_assert_eq(pmap_hamt_check(&bm, t, NULL), CC_OK);
    pmap_txn_abort(t);
    pmap_hamt_init(&bm, wb.d, &t_bytes_const);
    drop_line(&wb, &bm);
    world_fini(&wb);
    drop_line(&w, &m);
    world_fini(&w);
}

/* --- model-based property tests ---------------------------------------------- */

#define MAXL 4

typedef struct line {
    pmap_hamt m;
    void **model;
} line;

typedef struct prop_cfg {
    const char *name;
    const pmap_hamt_type *type;
    size_t nu; /* key universe */
    long steps;
    unsigned batch_max; /* ops in a transient batch */
    pmap_sharing sharing;
} prop_cfg;

/* One random put or delete on l in txn t, mirrored in the model when apply. */
static void
random_write(world *w, tu_rng *r, pmap_txn *t, line *l, bool apply, long step)
{
    size_t i = tu_rng_below(r, w->nu);
    cc_err err = {0};
    if (tu_rng_chance(r, 60)) {
        void *v = rand_val(w, r);
        bool replaced;
        cr_assert_eq(put_i(w, t, &l->m, i, v, &replaced, &err), CC_OK, "step %ld: %s", step,
                     err.msg);
        if (apply) {
            cr_assert_eq(replaced, l->model[i] != NULL, "step %ld: replaced flag wrong", step);
            l->model[i] = v;
        }
    } else {
        bool removed;
        cr_assert_eq(del_i(w, t, &l->m, i, &removed, &err), CC_OK, "step %ld: %s", step, err.msg);
        if (apply) {
            cr_assert_eq(removed, l->model[i] != NULL, "step %ld: removed flag wrong", step);
            l->model[i] = NULL;
        }
    }
}

static void
run_model(const prop_cfg *cfg)
{
    world w;
    world_init(&w, cfg->type, cfg->nu, cfg->sharing);
    tu_rng r;
    tu_rng_init(&r, tu_seed(cfg->name));
    long scale = tu_env_long("COWCAT_TEST_SCALE", 1);
    long steps = cfg->steps * (scale > 0 ? scale : 1);
    line L[MAXL];
    int nl = 1;
    pmap_hamt_init(&L[0].m, w.d, cfg->type);
    L[0].model = calloc(w.nu, sizeof(void *));
    void **tmp = calloc(w.nu, sizeof(void *));

    for (long step = 0; step < steps; step++) {
        int li = (int)tu_rng_below(&r, (uint64_t)nl);
        line *l = &L[li];
        unsigned op = (unsigned)tu_rng_below(&r, 100);
        bool verify_all = step % 64 == 0;
        pmap_txn *t;
        if (op < 30) { /* one write per transaction: path copies of sealed nodes */
            t = begin(&w);
            random_write(&w, &r, t, l, true, step);
            pmap_txn_commit(t);
        } else if (op < 45) { /* a transient batch */
            t = begin(&w);
            unsigned k = 1 + (unsigned)tu_rng_below(&r, cfg->batch_max);
            for (unsigned j = 0; j < k; j++) {
                random_write(&w, &r, t, l, true, step);
                if (j % 50 == 49)
                    verify(&w, &l->m, l->model, t, step);
            }
            pmap_txn_commit(t);
        } else if (op < 52) { /* an aborted batch leaves the base as it was */
            pmap_hamt saved = l->m;
            t = begin(&w);
            unsigned k = 1 + (unsigned)tu_rng_below(&r, cfg->batch_max);
            for (unsigned j = 0; j < k; j++)
                random_write(&w, &r, t, l, false, step);
            cr_assert_eq(pmap_hamt_check(&l->m, t, NULL), CC_OK, "step %ld", step);
            pmap_txn_abort(t);
            l->m = saved;
        } else if (op < 62) { /* clone */
            if (nl < MAXL) {
                pmap_hamt_clone(&l->m, &L[nl].m);
                L[nl].model = malloc(w.nu * sizeof(void *));
                memcpy(L[nl].model, l->model, w.nu * sizeof(void *));
                nl++;
            }
        } else if (op < 67) { /* drop a line */
            if (nl > 1) {
                drop_line(&w, &l->m);
                free(l->model);
                L[li] = L[--nl];
                continue;
            }
        } else if (op < 80) { /* diff against another line, both ways */
            line *o = &L[tu_rng_below(&r, (uint64_t)nl)];
            verify_diff(&w, &l->m, l->model, &o->m, o->model, step);
            verify_diff(&w, &o->m, o->model, &l->m, l->model, step);
        } else if (op < 86) { /* replace the line by a bulk build of a mutated copy */
            memcpy(tmp, l->model, w.nu * sizeof(void *));
            size_t k = tu_rng_below(&r, w.nu / 4 + 1);
            for (size_t j = 0; j < k; j++)
                tmp[tu_rng_below(&r, w.nu)] = tu_rng_chance(&r, 50) ? rand_val(&w, &r) : NULL;
            t = begin(&w);
            cr_assert_eq(pmap_hamt_drop(t, &l->m, NULL), CC_OK);
            cc_err err = {0};
            cr_assert_eq(build_from(&w, t, &l->m, tmp, &err), CC_OK, "step %ld: %s", step, err.msg);
            verify(&w, &l->m, tmp, t, step);
            pmap_txn_commit(t);
            memcpy(l->model, tmp, w.nu * sizeof(void *));
        } else if (op < 93) { /* one transaction writing two lines */
            line *o = &L[(li + 1) % nl];
            t = begin(&w);
            unsigned k = 1 + (unsigned)tu_rng_below(&r, cfg->batch_max);
            for (unsigned j = 0; j < k; j++)
                random_write(&w, &r, t, j % 2 == 0 || o == l ? l : o, true, step);
            pmap_txn_commit(t);
            verify(&w, &o->m, o->model, NULL, step);
        } else { /* a reader pins an old view across writes */
            pmap_reader *rd;
            cr_assert_eq(pmap_reader_new(w.d, &rd, NULL), CC_OK);
            pmap_reader_pin(rd);
            pmap_hamt old = l->m;
            memcpy(tmp, l->model, w.nu * sizeof(void *));
            for (int j = 0; j < 3; j++) {
                t = begin(&w);
                for (unsigned q = 0; q < 5; q++)
                    random_write(&w, &r, t, l, true, step);
                pmap_txn_commit(t);
            }
            verify_content(&w, &old, tmp, step);
            pmap_reader_unpin(rd);
            pmap_reader_free(rd);
            pmap_domain_reclaim(w.d);
        }
        if (verify_all) {
            for (int q = 0; q < nl; q++)
                verify(&w, &L[q].m, L[q].model, NULL, step);
        } else {
            verify(&w, &l->m, l->model, NULL, step);
        }
        for (int a = 0; a < nl; a++)
            for (int b = a + 1; b < nl; b++)
                cr_assert_eq(pmap_hamt_same_content(&L[a].m, &L[b].m),
                             model_equal(&w, L[a].model, L[b].model),
                             "step %ld: same_content disagrees with the model", step);
    }
    for (int q = 0; q < nl; q++) {
        verify(&w, &L[q].m, L[q].model, NULL, steps);
        drop_line(&w, &L[q].m);
        free(L[q].model);
    }
    free(tmp);
    world_fini(&w);
}

Test(hamt_model, u64_keys_match_the_model)
{
    prop_cfg c = {"hamt_model_u64", &t_u64, 2000, 3000, 200, PMAP_SHARING_OWNER};
    run_model(&c);
}

Test(hamt_model, u64_keys_match_the_model_with_counted_sharing)
{
    prop_cfg c = {"hamt_model_u64_counted", &t_u64, 2000, 2000, 200, PMAP_SHARING_COUNTED};
    run_model(&c);
}

Test(hamt_model, u64_keys_without_value_ops_match_the_model)
{
    prop_cfg c = {"hamt_model_u64_plain", &t_u64_plain, 1500, 1000, 100, PMAP_SHARING_OWNER};
    run_model(&c);
}

Test(hamt_model, u64_keys_with_a_three_bit_hash_match_the_model)
{
    prop_cfg c = {"hamt_model_u64_low3", &t_u64_low3, 300, 2000, 50, PMAP_SHARING_OWNER};
    run_model(&c);
}

Test(hamt_model, u64_keys_with_a_deep_hash_match_the_model)
{
    prop_cfg c = {"hamt_model_u64_deep", &t_u64_deep, 1500, 2000, 100, PMAP_SHARING_COUNTED};
    run_model(&c);
}

Test(hamt_model, byte_keys_match_the_model)
{
    prop_cfg c = {"hamt_model_bytes", &t_bytes, 1500, 2000, 150, PMAP_SHARING_OWNER};
    run_model(&c);
}

Test(hamt_model, byte_keys_match_the_model_with_counted_sharing)
{
    prop_cfg c = {"hamt_model_bytes_counted", &t_bytes_plain, 1000, 800, 100, PMAP_SHARING_COUNTED};
    run_model(&c);
}

Test(hamt_model, byte_keys_with_degenerate_hashes_match_the_model)
{
    prop_cfg c = {"hamt_model_bytes_const", &t_bytes_const, 120, 800, 30, PMAP_SHARING_OWNER};
    run_model(&c);
    prop_cfg c2 = {"hamt_model_bytes_len", &t_bytes_len, 400, 800, 60, PMAP_SHARING_COUNTED};
    run_model(&c2);
}

Test(hamt_model, a_large_map_matches_the_model)
{
    prop_cfg c = {"hamt_model_large", &t_u64, 60000, 150, 3000, PMAP_SHARING_OWNER};
    run_model(&c);
}

/* --- diff on derived versions ---------------------------------------------------- */

static int
count_cb(void *arg, const pmap_diff_item *item)
{
    (void)item;
    ++*(size_t *)arg;
    return 0;
}

static int
stop_cb(void *arg, const pmap_diff_item *item)
{
    (void)item;
    ++*(size_t *)arg;
    return 7;
}

static void
diff_rounds(const pmap_hamt_type *type, pmap_sharing sharing, size_t n)
{
    world w;
    world_init(&w, type, 2 * n, sharing);
    tu_rng r;
    tu_rng_init(&r, tu_seed("hamt_diff_derived"));
    void **base_model = calloc(w.nu, sizeof(void *));
    void **model = calloc(w.nu, sizeof(void *));
    for (size_t i = 0; i < w.nu; i += 2)
        base_model[i] = rand_val(&w, &r);
    pmap_hamt base;
    pmap_hamt_init(&base, w.d, type);
    pmap_txn *t = begin(&w);
    cr_assert_eq(build_from(&w, t, &base, base_model, NULL), CC_OK);
    pmap_txn_commit(t);

    /* Identical roots report nothing. */
    pmap_hamt same;
    pmap_hamt_clone(&base, &same);
    size_t calls = 0;
    cr_assert_eq(pmap_hamt_diff(&base, &same, count_cb, &calls), 0);
    cr_assert_eq(calls, 0);
    cr_assert_eq(pmap_hamt_diff(&base, &base, count_cb, &calls), 0);
    cr_assert_eq(calls, 0);
    drop_line(&w, &same);

    /* Keys in hash order, so runs of neighbours hit node boundaries. */
    size_t *order = malloc(w.nu * sizeof *order), no = 0;
    pmap_hamt_iter it;
    uint64_t id;
    pmap_bytes key;
    pmap_hamt_iter_init(&it, &base);
    while (pmap_hamt_iter_next(&it, &id, &key, NULL))
        order[no++] = world_index(&w, id, key);

    static const size_t ks[] = {1, 2, 3, 5, 10, 33, 100, 1000};
    for (long round = 0; round < 48; round++) {
        size_t k = ks[round % 8];
        pmap_hamt c;
        pmap_hamt_clone(&base, &c);
        memcpy(model, base_model, w.nu * sizeof(void *));
        t = begin(&w);
        size_t start = tu_rng_below(&r, no);
        for (size_t j = 0; j < k; j++) {
            size_t i;
            if (round % 3 == 0) /* a run of hash-order neighbours */
                i = order[(start + j) % no];
            else if (round % 3 == 1) /* absent keys land next to present ones */
                i = (order[(start + j) % no] + 1) % w.nu;
            else
                i = tu_rng_below(&r, w.nu);
            unsigned what = (unsigned)tu_rng_below(&r, 3);
            if (what == 0 || model[i] == NULL) {
                model[i] = rand_val(&w, &r);
                cr_assert_eq(put_i(&w, t, &c, i, model[i], NULL, NULL), CC_OK);
            } else {
                model[i] = NULL;
                cr_assert_eq(del_i(&w, t, &c, i, NULL, NULL), CC_OK);
            }
        }
        pmap_txn_commit(t);
        verify(&w, &c, model, NULL, round);
        verify(&w, &base, base_model, NULL, round);
        verify_diff(&w, &base, base_model, &c, model, round);
        verify_diff(&w, &c, model, &base, base_model, round);
        cr_assert_eq(pmap_hamt_same_content(&base, &c), model_equal(&w, base_model, model));
        calls = 0;
        if (!model_equal(&w, base_model, model)) {
            cr_assert_eq(pmap_hamt_diff(&base, &c, stop_cb, &calls), 7);
            cr_assert_eq(calls, 1, "a non-zero callback result stops the diff");
        }
        drop_line(&w, &c);
    }
    /* Independently built maps with equal content diff to nothing. */
    pmap_hamt other;
    pmap_hamt_init(&other, w.d, type);
    t = begin(&w);
    for (size_t j = no; j-- > 0;)
        cr_assert_eq(put_i(&w, t, &other, order[j], base_model[order[j]], NULL, NULL), CC_OK);
    pmap_txn_commit(t);
    calls = 0;
    cr_assert_eq(pmap_hamt_diff(&base, &other, count_cb, &calls), 0);
    cr_assert_eq(calls, 0);
    cr_assert(pmap_hamt_same_content(&base, &other));
    drop_line(&w, &other);
    drop_line(&w, &base);
    free(order);
    free(model);
    free(base_model);
    world_fini(&w);
}

Test(hamt_diff, derived_versions_report_exactly_the_changes)
{
    diff_rounds(&t_u64, PMAP_SHARING_OWNER, 3000);
    diff_rounds(&t_bytes, PMAP_SHARING_COUNTED, 1500);
}

Test(hamt_diff, derived_versions_with_collisions_report_exactly_the_changes)
{
    diff_rounds(&t_u64_low3, PMAP_SHARING_OWNER, 200);
    diff_rounds(&t_u64_deep, PMAP_SHARING_OWNER, 1500);
}

/* --- persistence ------------------------------------------------------------------ */

Test(hamt_persist, old_versions_keep_their_content_after_writes_to_newer_ones)
{
    world w;
    world_init(&w, &t_u64, 3000, PMAP_SHARING_OWNER);
    tu_rng r;
    tu_rng_init(&r, tu_seed("hamt_persist"));
    line head = {.model = calloc(w.nu, sizeof(void *))};
    pmap_hamt_init(&head.m, w.d, &t_u64);
    line old[8];
    int nold = 0;
    for (long step = 0; step < 800; step++) {
        pmap_txn *t = begin(&w);
        unsigned k = step % 10 == 0 ? 100 : 1;
        for (unsigned j = 0; j < k; j++)
            random_write(&w, &r, t, &head, true, step);
        pmap_txn_commit(t);
        if (step % 100 == 99 && nold < 8) {
            pmap_hamt_clone(&head.m, &old[nold].m);
            old[nold].model = malloc(w.nu * sizeof(void *));
            memcpy(old[nold].model, head.model, w.nu * sizeof(void *));
            nold++;
        }
        if (step % 25 == 0)
            for (int q = 0; q < nold; q++)
                verify(&w, &old[q].m, old[q].model, NULL, step);
    }
    /* An aborted transaction leaves the base exactly as it was. */
    pmap_hamt saved = head.m;
    pmap_fp fp = pmap_hamt_fp(&head.m);
    pmap_txn *t = begin(&w);
    for (unsigned j = 0; j < 500; j++)
        random_write(&w, &r, t, &head, false, -1);
    pmap_txn_abort(t);
    head.m = saved;
    cr_assert(pmap_fp_equal(pmap_hamt_fp(&head.m), fp));
    verify(&w, &head.m, head.model, NULL, -1);
    for (int q = 0; q < nold; q++) {
        verify(&w, &old[q].m, old[q].model, NULL, -1);
        verify_diff(&w, &old[q].m, old[q].model, &head.m, head.model, -1);
        drop_line(&w, &old[q].m);
        free(old[q].model);
    }
    drop_line(&w, &head.m);
    free(head.model);
    world_fini(&w);
}

/* --- allocation failures ---------------------------------------------------------- */

enum fault_op { F_INSERT, F_REPLACE, F_DELETE, F_BATCH, F_BUILD, F_DROP };

/* Runs op on l in t; mirrors it into model on success. */
static cc_code
fault_apply(world *w, pmap_txn *t, line *l, void **model, enum fault_op op, tu_rng *r)
{
    cc_code rc = CC_OK;
    size_t i;
    switch (op) {
    case F_INSERT:
        for (i = tu_rng_below(r, w->nu); model[i] != NULL; i = (i + 1) % w->nu)
            ;
        model[i] = &w->vals[1];
        return put_i(w, t, &l->m, i, model[i], NULL, NULL);
    case F_REPLACE:
        for (i = tu_rng_below(r, w->nu); model[i] == NULL; i = (i + 1) % w->nu)
            ;
        model[i] = &w->vals[2];
        return put_i(w, t, &l->m, i, model[i], NULL, NULL);
    case F_DELETE:
        for (i = tu_rng_below(r, w->nu); model[i] == NULL; i = (i + 1) % w->nu)
            ;
        model[i] = NULL;
        return del_i(w, t, &l->m, i, NULL, NULL);
    case F_BATCH:
        for (int j = 0; j < 60 && rc == CC_OK; j++) {
            i = tu_rng_below(r, w->nu);
            if (j % 3 == 2) {
                model[i] = NULL;
                rc = del_i(w, t, &l->m, i, NULL, NULL);
            } else {
                model[i] = &w->vals[j % NVALS];
                rc = put_i(w, t, &l->m, i, model[i], NULL, NULL);
            }
        }
        return rc;
    case F_BUILD:
        rc = pmap_hamt_drop(t, &l->m, NULL);
        for (i = 0; i < w->nu; i++)
            model[i] = i % 3 == 0 ? NULL : &w->vals[i % NVALS];
        return rc == CC_OK ? build_from(w, t, &l->m, model, NULL) : rc;
    case F_DROP:
        memset(model, 0, w->nu * sizeof(void *));
        return pmap_hamt_drop(t, &l->m, NULL);
    }
    return CC_INTERNAL;
}

static void
fault_rounds(const pmap_hamt_type *type, pmap_sharing sharing, bool shared, enum fault_op op)
{
    world w;
    world_init(&w, type, 400, sharing);
    tu_rng r;
    tu_rng_init(&r, tu_seed("hamt_faults"));
    line l = {.model = calloc(w.nu, sizeof(void *))};
    void **next = calloc(w.nu, sizeof(void *));
    pmap_hamt_init(&l.m, w.d, type);
    pmap_txn *t = begin(&w);
    for (size_t i = 0; i < w.nu; i += 2) {
        l.model[i] = &w.vals[i % NVALS];
        cr_assert_eq(put_i(&w, t, &l.m, i, l.model[i], NULL, NULL), CC_OK);
    }
    pmap_txn_commit(t);
    pmap_hamt twin; /* makes every node shared: the counted copy path */
    void **twin_model = malloc(w.nu * sizeof(void *));
    memcpy(twin_model, l.model, w.nu * sizeof(void *));
    if (shared)
        pmap_hamt_clone(&l.m, &twin);

    for (int round = 0; round < 3; round++) {
        uint64_t seed = tu_rng_next(&r);
        uint64_t n;
        for (n = 1;; n++) {
            pmap_domain_stats s0, s1;
            pmap_domain_stats_get(w.d, &s0);
            int refs0[NVALS];
            for (int v = 0; v < NVALS; v++)
                refs0[v] = w.vals[v].refs;
            pmap_hamt saved = l.m;
            memcpy(next, l.model, w.nu * sizeof(void *));
            tu_rng or ;
            tu_rng_init(& or, seed);
            t = begin(&w);
            cc_alloc_fail_at(n);
            cc_code rc = fault_apply(&w, t, &l, next, op, & or);
            int fired = cc_alloc_failed();
            cc_alloc_fail_at(0);
            if (rc == CC_OK) {
                cr_assert(!fired, "op %d: an allocation failed but the write succeeded", op);
                cr_assert_eq(pmap_hamt_check(&l.m, t, NULL), CC_OK);
                pmap_txn_commit(t);
                memcpy(l.model, next, w.nu * sizeof(void *));
                verify(&w, &l.m, l.model, NULL, (long)n);
                break;
            }
            cr_assert_eq(rc, CC_NOMEM, "op %d, failure %llu: rc %d", op, (unsigned long long)n, rc);
            cr_assert(pmap_txn_is_poisoned(t));
            cr_assert_eq(put_i(&w, t, &l.m, 0, &w.vals[0], NULL, NULL), CC_NOMEM);
            pmap_txn_abort(t);
            l.m = saved;
            verify(&w, &l.m, l.model, NULL, (long)n);
            pmap_domain_stats_get(w.d, &s1);
            cr_assert_eq(s1.live_nodes, s0.live_nodes, "op %d, failure %llu: nodes leaked", op,
                         (unsigned long long)n);
            cr_assert_eq(s1.live_keys, s0.live_keys, "op %d, failure %llu: keys leaked", op,
                         (unsigned long long)n);
            for (int v = 0; v < NVALS; v++)
                cr_assert_eq(w.vals[v].refs, refs0[v], "op %d: value refs changed by abort", op);
        }
        if (op != F_DROP)
            cr_assert_gt(n, 1, "op %d allocated nothing", op);
    }
    drop_line(&w, &l.m);
    if (shared) {
        verify(&w, &twin, twin_model, NULL, -2);
        drop_line(&w, &twin);
    }
    free(twin_model);
    free(l.model);
    free(next);
    world_fini(&w);
}

Test(hamt_fault, failed_inserts_and_replaces_leave_the_old_version_intact)
{
    fault_rounds(&t_u64, PMAP_SHARING_OWNER, false, F_INSERT);
    fault_rounds(&t_bytes, PMAP_SHARING_OWNER, true, F_INSERT);
    fault_rounds(&t_u64, PMAP_SHARING_OWNER, true, F_REPLACE);
    fault_rounds(&t_bytes_const, PMAP_SHARING_COUNTED, false, F_INSERT);
}

Test(hamt_fault, failed_deletes_leave_the_old_version_intact)
{
    fault_rounds(&t_u64, PMAP_SHARING_OWNER, false, F_DELETE);
    fault_rounds(&t_bytes, PMAP_SHARING_OWNER, true, F_DELETE);
    fault_rounds(&t_u64_deep, PMAP_SHARING_COUNTED, false, F_DELETE);
    fault_rounds(&t_u64_low3, PMAP_SHARING_OWNER, true, F_DELETE);
}

Test(hamt_fault, failed_batches_leave_the_old_version_intact)
{
    fault_rounds(&t_u64, PMAP_SHARING_OWNER, false, F_BATCH);
    fault_rounds(&t_bytes, PMAP_SHARING_COUNTED, true, F_BATCH);
    fault_rounds(&t_u64_low3, PMAP_SHARING_OWNER, false, F_BATCH);
}

Test(hamt_fault, failed_bulk_builds_and_drops_leave_the_old_version_intact)
{
    fault_rounds(&t_u64, PMAP_SHARING_OWNER, false, F_BUILD);
    fault_rounds(&t_bytes, PMAP_SHARING_OWNER, true, F_BUILD);
    fault_rounds(&t_u64, PMAP_SHARING_OWNER, true, F_DROP);
}

/* --- memory shape --------------------------------------------------------------------- */

Test(hamt, bulk_build_of_plain_u64_entries_is_compact)
{
    world w;
    size_t n = 200000;
    world_init(&w, &t_u64_plain, n, PMAP_SHARING_OWNER);
    void **model = calloc(n, sizeof(void *));
    for (size_t i = 0; i < n; i++)
        model[i] = &w.vals[i % NVALS];
    pmap_hamt m;
    pmap_hamt_init(&m, w.d, &t_u64_plain);
    pmap_txn *t = begin(&w);
    cr_assert_eq(build_from(&w, t, &m, model, NULL), CC_OK);
    pmap_txn_commit(t);
    pmap_hamt_stats st;
    pmap_hamt_stats_get(&m, &st);
    double per = (double)st.node_bytes / (double)n;
    cr_assert_lt(per, 24.0, "%.2f node bytes per entry", per);
    /* Depth d needs two keys sharing 5(d-1) hash bits: with 2e10 pairs, depth 10
     * happens about once in 2,000 seeds (seen in CI), depth 12 once in 2 million. */
    cr_assert_lt(st.max_depth, 12, "depth %zu", st.max_depth);
    pmap_domain_stats ds;
    pmap_domain_stats_get(w.d, &ds);
    cr_assert_eq(ds.live_node_bytes, st.node_bytes);
    cr_assert_eq(ds.live_nodes, st.nodes);
    drop_line(&w, &m);
    free(model);
    world_fini(&w);
}

Test(hamt, a_line_built_and_dropped_in_one_transaction_leaves_nothing_behind)
{
    world w;
    world_init(&w, &t_bytes, 500, PMAP_SHARING_OWNER);
    void **model = calloc(w.nu, sizeof(void *));
    for (size_t i = 0; i < w.nu; i++)
        model[i] = &w.vals[i % NVALS];
    pmap_hamt a, b;
    pmap_hamt_init(&a, w.d, &t_bytes);
    pmap_hamt_init(&b, w.d, &t_bytes);
    pmap_txn *t = begin(&w);
    cr_assert_eq(build_from(&w, t, &a, model, NULL), CC_OK);
    for (size_t i = 0; i < w.nu; i += 3)
        cr_assert_eq(put_i(&w, t, &b, i, model[i], NULL, NULL), CC_OK);
    cr_assert_eq(del_i(&w, t, &a, 4, NULL, NULL), CC_OK);
    cr_assert_eq(pmap_hamt_drop(t, &a, NULL), CC_OK);
    cr_assert_eq(pmap_hamt_drop(t, &b, NULL), CC_OK);
    cr_assert_eq(pmap_hamt_count(&a), 0);
    cr_assert_null(a.root);
    pmap_txn_commit(t);
    free(model);
    world_fini(&w);
}

Test(hamt, clones_of_clones_share_until_written_and_drop_in_any_order)
{
    world w;
    world_init(&w, &t_u64, 3000, PMAP_SHARING_OWNER);
    tu_rng r;
    tu_rng_init(&r, tu_seed("hamt_clone_chain"));
    line L[4];
    L[0].model = calloc(w.nu, sizeof(void *));
    pmap_hamt_init(&L[0].m, w.d, &t_u64);
    pmap_txn *t = begin(&w);
    for (int j = 0; j < 2000; j++)
        random_write(&w, &r, t, &L[0], true, j);
    pmap_txn_commit(t);
    for (int q = 1; q < 4; q++) { /* each a clone of the previous, then written */
        pmap_hamt_clone(&L[q - 1].m, &L[q].m);
        L[q].model = malloc(w.nu * sizeof(void *));
        memcpy(L[q].model, L[q - 1].model, w.nu * sizeof(void *));
        cr_assert_eq(L[q].m.root, L[q - 1].m.root, "a clone shares the root");
        t = begin(&w);
        for (int j = 0; j < 50; j++)
            random_write(&w, &r, t, &L[q], true, j);
        pmap_txn_commit(t);
    }
    for (int q = 0; q < 4; q++)
        verify(&w, &L[q].m, L[q].model, NULL, q);
    static const int order[4] = {1, 3, 0, 2};
    for (int k = 0; k < 4; k++) {
        drop_line(&w, &L[order[k]].m);
        for (int q = k + 1; q < 4; q++)
            verify(&w, &L[order[q]].m, L[order[q]].model, NULL, 100 + k);
    }
    for (int q = 0; q < 4; q++)
        free(L[q].model);
    world_fini(&w);
}
