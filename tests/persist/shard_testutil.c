/*
 * tests/persist/shard_testutil.c — fixtures for the shard and txn-wal tests
 * (see the header).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shard_testutil.h"

void
pfix_open(pfix *f, persist_backend_kind kind, const persist_options *tmpl)
{
    memset(f, 0, sizeof *f);
    f->kind = kind;
    if (tmpl != NULL)
        f->o = *tmpl;
    f->o.backend = kind;
    if (kind == PERSIST_BACKEND_FILE) {
        tdir_make(&f->t);
        f->o.data_dir = f->t.data;
    }
    cc_err err;
    cc_code rc = persist_client_open(&f->o, &f->c, &err);
    cr_assert_eq(rc, CC_OK, "open %s client: %s", pfix_name(f), err.msg);
}

void
pfix_reopen(pfix *f)
{
    if (f->kind != PERSIST_BACKEND_FILE)
        return;
    persist_client_close(f->c);
    f->c = NULL;
    cc_err err;
    cc_code rc = persist_client_open(&f->o, &f->c, &err);
    cr_assert_eq(rc, CC_OK, "reopen: %s", err.msg);
}

void
pfix_close(pfix *f)
{
    persist_client_close(f->c);
    f->c = NULL;
    if (f->kind == PERSIST_BACKEND_FILE)
        tdir_remove(&f->t);
}

persist_shard *
pfix_shard(pfix *f, const char *id)
{
    persist_shard *s;
    cc_err err;
    cc_code rc = persist_shard_open(f->c, id, &s, &err);
    cr_assert_eq(rc, CC_OK, "open shard %s: %s", id, err.msg);
    cr_assert_str_eq(persist_shard_id(s), id);
    return s;
}

const char *
pfix_name(const pfix *f)
{
    return f->kind == PERSIST_BACKEND_FILE ? "file" : "mem";
}

/* ---- consolidated lists ------------------------------------------------------ */

static uint8_t *
dup_bytes(const void *p, size_t n)
{
    uint8_t *b = malloc(n > 0 ? n : 1);
    cr_assert_not_null(b);
    if (n > 0)
        memcpy(b, p, n);
    return b;
}

void
kvs_push(kvs *s, pmap_bytes k, pmap_bytes v, int64_t diff)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->a = realloc(s->a, s->cap * sizeof *s->a);
        cr_assert_not_null(s->a);
    }
    s->a[s->n++] = (kv){dup_bytes(k.ptr, k.len), dup_bytes(v.ptr, v.len), k.len, v.len, diff};
}

void
kvs_free(kvs *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->a[i].k);
        free(s->a[i].v);
    }
    free(s->a);
    memset(s, 0, sizeof *s);
}

int
kvs_collect(void *arg, pmap_bytes key, pmap_bytes value, int64_t diff)
{
    kvs_push(arg, key, value, diff);
    return 0;
}

cc_code
snap(persist_shard *s, uint64_t as_of, kvs *out, cc_err *err)
{
    memset(out, 0, sizeof *out);
    return persist_snapshot(s, as_of, kvs_collect, out, err);
}

static int
bytes_cmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
    size_t n = al < bl ? al : bl;
    int c = n > 0 ? memcmp(a, b, n) : 0;
    if (c != 0)
        return c;
    return (al > bl) - (al < bl);
}

static int
kv_cmp(const void *x, const void *y)
{
    const kv *a = x, *b = y;
    int c = bytes_cmp(a->k, a->kl, b->k, b->kl);
    return c != 0 ? c : bytes_cmp(a->v, a->vl, b->v, b->vl);
}

void
kvs_expect(const kvs *got, const kvs *want, const char *what)
{
    for (size_t i = 0; i < got->n && i < want->n; i++) {
        const kv *g = &got->a[i], *w = &want->a[i];
        cr_assert(kv_cmp(g, w) == 0,
                  "%s: entry %zu: got key %.*s (%zu bytes) value %.*s, "
                  "want key %.*s (%zu bytes) value %.*s",
                  what, i, (int)g->kl, (char *)g->k, g->kl, (int)g->vl, (char *)g->v, (int)w->kl,
                  (char *)w->k, w->kl, (int)w->vl, (char *)w->v);
        cr_assert_eq(g->diff, w->diff, "%s: entry %zu (key %.*s): diff %lld, want %lld", what, i,
                     (int)g->kl, (char *)g->k, (long long)g->diff, (long long)w->diff);
    }
    cr_assert_eq(got->n, want->n, "%s: %zu entries, want %zu", what, got->n, want->n);
}

/* ---- the model --------------------------------------------------------------- */

void
model_add(model *m, const persist_update *u, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (m->n == m->cap) {
            m->cap = m->cap ? m->cap * 2 : 64;
            m->u = realloc(m->u, m->cap * sizeof *m->u);
            cr_assert_not_null(m->u);
        }
        m->u[m->n++] = (persist_update){{dup_bytes(u[i].key.ptr, u[i].key.len), u[i].key.len},
                                        {dup_bytes(u[i].value.ptr, u[i].value.len), u[i].value.len},
                                        u[i].ts,
                                        u[i].diff};
    }
}

void
model_free(model *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free((void *)m->u[i].key.ptr);
        free((void *)m->u[i].value.ptr);
    }
    free(m->u);
    memset(m, 0, sizeof *m);
}

void
model_at(const model *m, uint64_t as_of, kvs *out)
{
    kvs all = {0};
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < m->n; i++)
        if (m->u[i].ts <= as_of)
            kvs_push(&all, m->u[i].key, m->u[i].value, m->u[i].diff);
    if (all.n > 0)
        qsort(all.a, all.n, sizeof *all.a, kv_cmp);
    for (size_t i = 0; i < all.n;) {
        size_t j = i;
        int64_t d = 0;
        while (j < all.n && kv_cmp(&all.a[i], &all.a[j]) == 0)
            d += all.a[j++].diff;
        if (d != 0)
            kvs_push(out, (pmap_bytes){all.a[i].k, all.a[i].kl},
                     (pmap_bytes){all.a[i].v, all.a[i].vl}, d);
        i = j;
    }
    kvs_free(&all);
}

void
caa_ok(persist_shard *s, const persist_update *u, size_t n, uint64_t lower, uint64_t upper)
{
    cc_err err;
    uint64_t cur = 0;
    cc_code rc = persist_compare_and_append(s, u, n, lower, upper, &cur, &err);
    cr_assert_eq(rc, CC_OK, "append [%llu, %llu) to %s: %s (current %llu)",
                 (unsigned long long)lower, (unsigned long long)upper, persist_shard_id(s), err.msg,
                 (unsigned long long)cur);
    cr_assert_eq(persist_shard_upper(s), upper);
}

void
snap_expect(persist_shard *s, const model *m, uint64_t as_of, const char *what)
{
    kvs got, want;
    cc_err err;
    cc_code rc = snap(s, as_of, &got, &err);
    cr_assert_eq(rc, CC_OK, "%s: snapshot at %llu: %s", what, (unsigned long long)as_of, err.msg);
    model_at(m, as_of, &want);
    char w[200];
    snprintf(w, sizeof w, "%s (as_of %llu)", what, (unsigned long long)as_of);
    kvs_expect(&got, &want, w);
    kvs_free(&got);
    kvs_free(&want);
}

size_t
trace_count(persist_shard *s, persist_client *c)
{
    pmap_omap view;
    persist_shard_trace(s, &view, NULL);
    size_t n = pmap_omap_count(&view);
    persist_trace_release(c, &view);
    return n;
}

pmap_bytes
B(const char *s)
{
    return (pmap_bytes){s, strlen(s)};
}
