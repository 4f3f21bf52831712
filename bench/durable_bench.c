/*
 * bench/durable_bench.c — durable catalog commit latency against catalog size.
 *
 * For each size (1k, 100k, 1M existing items; --quick: 1k, 10k) it fills a
 * catalog on the mem backend (durability "none") in batched transactions,
 * then times single-DDL transactions, each one commit of one append:
 *   create_item  allocate id + OID, insert the item
 *   rename_item  update an item's name (name index moves)
 *   drop_item    delete an item
 * --json prints one object per line, e.g.
 *   {"bench":"dur_commit","op":"create_item","objects":1000000,"durability":"none",
 *    "p50_us":..,"p95_us":..,"p99_us":..}
 *   {"bench":"dur_open","objects":1000000,"seconds":..}
 * The point: p50 at 1M should stay close to p50 at 1k (O(log n) work).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "durable/durable.h"

static bool json;

static double
now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void
die(const char *what, const cc_err *err)
{
    fprintf(stderr, "durable_bench: %s: %s\n", what, err->msg);
    exit(1);
}

static cc_code
put_item(dur_txn *t, bool insert, uint64_t id, const char *name, uint32_t oid, cc_err *err)
{
    Cowcat__Catalog__CatalogId kid = COWCAT__CATALOG__CATALOG_ID__INIT;
    Cowcat__Catalog__CatalogId sid = COWCAT__CATALOG__CATALOG_ID__INIT;
    Cowcat__Catalog__ItemKey k = COWCAT__CATALOG__ITEM_KEY__INIT;
    Cowcat__Catalog__ItemValue v = COWCAT__CATALOG__ITEM_VALUE__INIT;
    Cowcat__Catalog__Column c1 = COWCAT__CATALOG__COLUMN__INIT, c2 = COWCAT__CATALOG__COLUMN__INIT;
    Cowcat__Catalog__Column *cols[2] = {&c1, &c2};
    char sql[128];
    kid.value = id;
    sid.value = 1;
    k.id = &kid;
    v.schema = &sid;
    v.name = (char *)name;
    v.kind = COWCAT__CATALOG__ITEM_KIND__ITEM_KIND_TABLE;
    snprintf(sql, sizeof sql, "CREATE TABLE %s (a int4, b text)", name);
    v.create_sql = sql;
    v.owner = &sid;
    v.oid = oid;
    c1.name = "a";
    c1.type_name = "int4";
    c2.name = "b";
    c2.type_name = "text";
    v.n_columns = 2;
    v.columns = cols;
    return insert ? dur_txn_insert(t, DUR_ITEMS, &k.base, &v.base, err)
                  : dur_txn_update(t, DUR_ITEMS, &k.base, &v.base, err);
}

static cc_code
create_one(dur_txn *t, uint64_t *id, const char *prefix, cc_err *err)
{
    uint32_t oid;
    char name[48];
    cc_code rc = dur_txn_allocate_id(t, DUR_ALLOC_USER_ITEM, id, err);
    if (rc == CC_OK)
        rc = dur_txn_allocate_oid(t, &oid, err);
    snprintf(name, sizeof name, "%s%llu", prefix, (unsigned long long)*id);
    if (rc == CC_OK)
        rc = put_item(t, true, *id, name, oid, err);
    return rc;
}

static int
cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void
report(const char *op, long objects, double *lat, size_t n)
{
    qsort(lat, n, sizeof *lat, cmp_d);
    double p50 = lat[n / 2], p95 = lat[n * 95 / 100], p99 = lat[n * 99 / 100];
    if (json)
        printf("{\"bench\":\"dur_commit\",\"op\":\"%s\",\"objects\":%ld,\"durability\":\"none\","
               "\"p50_us\":%.2f,\"p95_us\":%.2f,\"p99_us\":%.2f}\n",
               op, objects, p50, p95, p99);
    else
        printf("%-12s %9ld objects  p50 %8.2f us  p95 %8.2f us  p99 %8.2f us\n", op, objects, p50,
               p95, p99);
    fflush(stdout);
}

static void
run(long objects, size_t samples)
{
    persist_options po = {0};
    po.backend = PERSIST_BACKEND_MEM;
    persist_client *c;
    cc_err err;
    if (persist_client_open(&po, &c, &err) != CC_OK)
        die("persist open", &err);
    dur_options o = {.mode = DUR_MODE_WRITABLE, .deploy_generation = 1};
    dur_catalog *cat;
    if (dur_open(c, &o, &cat, &err) != CC_OK)
        die("open", &err);
    uint64_t id;
    for (long done = 0; done < objects;) {
        dur_txn *t;
        if (dur_txn_begin(cat, &t, &err) != CC_OK)
            die("begin", &err);
        for (int i = 0; i < 10000 && done < objects; i++, done++)
            if (create_one(t, &id, "fill", &err) != CC_OK)
                die("fill", &err);
        if (dur_txn_commit(t, NULL, &err) != CC_OK)
            die("fill commit", &err);
    }
    double *lat = malloc(samples * sizeof *lat);
    uint64_t *ids = malloc(samples * sizeof *ids);
    for (size_t i = 0; i < samples; i++) {
        dur_txn *t;
        double t0 = now_us();
        if (dur_txn_begin(cat, &t, &err) != CC_OK || create_one(t, &ids[i], "x", &err) != CC_OK ||
            dur_txn_commit(t, NULL, &err) != CC_OK)
            die("create_item", &err);
        lat[i] = now_us() - t0;
    }
    report("create_item", objects, lat, samples);
    for (size_t i = 0; i < samples; i++) {
        dur_txn *t;
        char name[48];
        snprintf(name, sizeof name, "renamed%llu", (unsigned long long)ids[i]);
        double t0 = now_us();
        if (dur_txn_begin(cat, &t, &err) != CC_OK ||
            put_item(t, false, ids[i], name, 0, &err) != CC_OK ||
            dur_txn_commit(t, NULL, &err) != CC_OK)
            die("rename_item", &err);
        lat[i] = now_us() - t0;
    }
    report("rename_item", objects, lat, samples);
    for (size_t i = 0; i < samples; i++) {
        dur_txn *t;
        Cowcat__Catalog__CatalogId kid = COWCAT__CATALOG__CATALOG_ID__INIT;
        Cowcat__Catalog__ItemKey k = COWCAT__CATALOG__ITEM_KEY__INIT;
        kid.value = ids[i];
        k.id = &kid;
        double t0 = now_us();
        if (dur_txn_begin(cat, &t, &err) != CC_OK ||
            dur_txn_delete(t, DUR_ITEMS, &k.base, &err) != CC_OK ||
            dur_txn_commit(t, NULL, &err) != CC_OK)
            die("drop_item", &err);
        lat[i] = now_us() - t0;
    }
    report("drop_item", objects, lat, samples);
    dur_close(cat);
    /* reopen from the same (mem) client: the full load */
    o.mode = DUR_MODE_READ_ONLY;
    double t0 = now_us();
    if (dur_open(c, &o, &cat, &err) != CC_OK)
        die("reopen", &err);
    double secs = (now_us() - t0) / 1e6;
    if (json)
        printf("{\"bench\":\"dur_open\",\"objects\":%ld,\"seconds\":%.3f}\n", objects, secs);
    else
        printf("open         %9ld objects  %.3f s\n", objects, secs);
    dur_close(cat);
    persist_client_close(c);
    free(lat);
    free(ids);
}

int
main(int argc, char **argv)
{
    bool quick = false;
    long only = 0, samples = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (strcmp(argv[i], "--quick") == 0) {
            quick = true;
        } else if (strcmp(argv[i], "--objects") == 0 && i + 1 < argc) {
            only = atol(argv[++i]);
        } else if (strcmp(argv[i], "--samples") == 0 && i + 1 < argc) {
            samples = atol(argv[++i]);
        } else {
            fputs("usage: durable_bench [--json] [--quick] [--objects N] [--samples N]\n"
                  "  --objects N  one size only (default 1k, 100k, 1M; --quick 1k, 10k)\n"
                  "  --samples N  timed transactions per op (default 2000; --quick 200)\n",
                  stderr);
            return 2;
        }
    }
    if (samples <= 0)
        samples = quick ? 200 : 2000;
    if (only > 0) {
        run(only, (size_t)samples);
        return 0;
    }
    static const long full[] = {1000, 100000, 1000000};
    static const long small[] = {1000, 10000};
    const long *sizes = quick ? small : full;
    size_t n = quick ? 2 : 3;
    for (size_t i = 0; i < n; i++)
        run(sizes[i], (size_t)samples);
    return 0;
}
