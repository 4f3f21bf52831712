/*
 * bench/catalog_bench.c — catalog transact latency, open time and memory
 * against catalog size.
 *
 * For each size (1k, 100k, 1M existing two-column tables; --quick: 1k, 10k;
 * --objects N: N only) and each durability it fills a catalog in batched
 * cat_transact calls (--batch ops each, progress on stderr), then times
 * single-op transactions, each sample one cat_transact of one op:
 *   create_table  CREATE TABLE public.x<i> (a int4, b text)
 *   rename_table  the tables just created, to r<i> (no rewrite: create_sql kept)
 *   drop_table    the renamed tables
 *   create_view   a view over a random filled table (uses = that table)
 *   drop_view     the views just created
 *   create_index  an index on a random filled table (uses = that table)
 *   drop_index    the indexes just created
 * in rounds of at most objects / 10 (create a round, rename it, drop it), so
 * the catalog stays within 10% of its size and ends as it was filled.
 * Durability "none" is the persist mem backend; "fsync" the file backend in a
 * scratch directory (--dir) with fdatasync on every commit, --fsync-samples
 * per op. After the fsync samples the client is rolled up and everything
 * closed, then reopened: "open" is dur_open + cat_open; persist_client_open
 * (the shard's recovery) is reported beside it. Commits run --check (default
 * none, as in release builds); dur is opened with DUR_NAMES_EXTERNAL, as
 * cat_open asks (--dur-names checked keeps the durable name indexes too).
 *
 * Memory counts every layer — persist trace, durable snapshot, catalog state —
 * as mallinfo2 uordblks + hblkhd (heap in use, mmapped chunks included):
 *   fill    after the fill minus before persist_client_open (includes the
 *           history persist retains until durable next moves since: up to 64
 *           appends, a visible share after a batched fill of 100k)
 *   close   released by cat_close, dur_close, persist_client_close after the
 *           samples, split by layer
 *   reopen  held after each layer's open of the fsync catalog (after a
 *           malloc_trim), split by layer: the state a fresh process would have
 * divided by the number of tables; the benchmark's own arrays are allocated
 * before the baselines. RSS is the whole process's.
 *
 * --json prints one object per line (fields beyond the first ones are extra):
 *   {"bench":"fill","objects":N,"durability":"none","seconds":..,"tables_per_s":..}
 *   {"bench":"transact","op":"create_table","objects":N,"durability":"none",
 *    "p50_us":..,"p95_us":..,"p99_us":..}
 *   {"bench":"open","objects":N,"seconds":..,"dur_open_seconds":..,
 *    "cat_open_seconds":..,"persist_open_seconds":..}
 *   {"bench":"memory","objects":N,"bytes_per_object":..,"durability":"fsync",
 *    "phase":"reopen","heap_mib":..,"rss_mib":..,"persist_bytes_per_object":..,
 *    "durable_bytes_per_object":..,"catalog_bytes_per_object":..}
 *   {"bench":"scaling","op":"create_table","durability":"none",
 *    "p50_ratio_max_vs_min":..,"min_objects":..,"max_objects":..}
 * Targets (quoted, not enforced): p50 at 1M <= 1.2 x p50 at 1k for every op;
 * create_table p50 <= 20 us at 1M without durability; <= 1 KiB per two-column
 * table at 1M; open of 1M objects <= 5 s.
 */
#include <ftw.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "durable/durable.h"
#include "persist/persist.h"

static bool json;
/* The commit check when not none (printed with every transact line), else NULL. */
static const char *check_label;

/* --- helpers ---------------------------------------------------------------------- */

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
    if (err != NULL)
        fprintf(stderr, "catalog_bench: %s: %s (%s %s)\n", what, err->msg, cc_code_name(err->code),
                cc_err_sqlstate(err));
    else
        fprintf(stderr, "catalog_bench: %s\n", what);
    exit(1);
}

static void *
xmalloc(size_t n)
{
    void *p = malloc(n != 0 ? n : 1);
    if (p == NULL)
        die("out of memory", NULL);
    return p;
}

/* Heap bytes in use: arena chunks plus mmapped chunks, over every arena. */
static double
heap_used(void)
{
    struct mallinfo2 mi = mallinfo2();
    return (double)mi.uordblks + (double)mi.hblkhd;
}

/* Resident set size in MiB (VmRSS), or -1. */
static double
rss_mib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    double kib = -1;
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kib = atof(line + 6);
            break;
        }
    fclose(f);
    return kib < 0 ? -1 : kib / 1024.0;
}

/* xorshift64*: the random tables views and indexes go on (fixed seed: same run, same picks). */
static uint64_t
rnd(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1DULL;
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

/* The fsync scratch directory while one exists ("" otherwise): removed at exit, die() included. */
static char scratch_dir[512];

static void
remove_scratch_dir(void)
{
    if (scratch_dir[0] != '\0')
        rm_tree(scratch_dir);
    scratch_dir[0] = '\0';
}

/* --- results ---------------------------------------------------------------------- */

typedef enum bench_op {
    OP_CREATE_TABLE = 0,
    OP_RENAME_TABLE,
    OP_DROP_TABLE,
    OP_CREATE_VIEW,
    OP_DROP_VIEW,
    OP_CREATE_INDEX,
    OP_DROP_INDEX,
    NOP
} bench_op;

static const char *const op_names[NOP] = {"create_table", "rename_table", "drop_table",
                                          "create_view",  "drop_view",    "create_index",
                                          "drop_index"};

typedef enum durability { DURABILITY_NONE = 0, DURABILITY_FSYNC, NDURABILITY } durability;

static const char *const durability_names[NDURABILITY] = {"none", "fsync"};

/* p50 at the smallest and the largest size measured, per (durability, op): the scaling lines. */
typedef struct scaling {
    long min_objects, max_objects; /* 0: not measured */
    double min_p50, max_p50;
} scaling;

static scaling scales[NDURABILITY][NOP];

static int
cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void
report(durability d, bench_op op, long objects, double *lat, size_t n)
{
    qsort(lat, n, sizeof *lat, cmp_d);
    double p50 = lat[n / 2], p95 = lat[n * 95 / 100], p99 = lat[n * 99 / 100];
    if (json) {
        printf("{\"bench\":\"transact\",\"op\":\"%s\",\"objects\":%ld,\"durability\":\"%s\","
               "\"p50_us\":%.2f,\"p95_us\":%.2f,\"p99_us\":%.2f",
               op_names[op], objects, durability_names[d], p50, p95, p99);
        if (check_label != NULL)
            printf(",\"check\":\"%s\"", check_label);
        printf("}\n");
    } else {
        printf("%-13s %-5s %9ld objects  p50 %9.2f us  p95 %9.2f us  p99 %9.2f us  (%zu "
               "samples%s%s)\n",
               op_names[op], durability_names[d], objects, p50, p95, p99, n,
               check_label != NULL ? ", check " : "", check_label != NULL ? check_label : "");
    }
    fflush(stdout);
    scaling *sc = &scales[d][op];
    if (sc->min_objects == 0 || objects < sc->min_objects) {
        sc->min_objects = objects;
        sc->min_p50 = p50;
    }
    if (objects >= sc->max_objects) {
        sc->max_objects = objects;
        sc->max_p50 = p50;
    }
}

static void
report_scaling(void)
{
    for (int d = 0; d < NDURABILITY; d++)
        for (int op = 0; op < NOP; op++) {
            const scaling *sc = &scales[d][op];
            if (sc->min_objects == 0 || sc->max_objects == sc->min_objects)
                continue;
            double ratio = sc->max_p50 / sc->min_p50;
            if (json)
                printf("{\"bench\":\"scaling\",\"op\":\"%s\",\"durability\":\"%s\","
                       "\"p50_ratio_max_vs_min\":%.3f,\"min_objects\":%ld,\"max_objects\":%ld}\n",
                       op_names[op], durability_names[d], ratio, sc->min_objects, sc->max_objects);
            else
                printf("scaling %-13s %-5s p50 at %ld / p50 at %ld = %.3f  (target <= 1.2)\n",
                       op_names[op], durability_names[d], sc->max_objects, sc->min_objects, ratio);
        }
    fflush(stdout);
}

/* What env_open took per layer: seconds, and heap bytes the layer holds after it. */
typedef struct open_times {
    double persist, dur, cat;                /* seconds */
    double persist_heap, dur_heap, cat_heap; /* bytes */
} open_times;

/* One memory line; layers (may be NULL) splits the bytes by layer (a reopen). */
static void
report_memory(durability d, const char *phase, long objects, double bytes, const open_times *layers)
{
    double per = bytes / (double)objects, rss = rss_mib(), n = (double)objects;
    if (json) {
        printf("{\"bench\":\"memory\",\"objects\":%ld,\"bytes_per_object\":%.1f,"
               "\"durability\":\"%s\",\"phase\":\"%s\",\"heap_mib\":%.1f,\"rss_mib\":%.1f",
               objects, per, durability_names[d], phase, bytes / 1048576.0, rss);
        if (layers != NULL)
            printf(",\"persist_bytes_per_object\":%.1f,\"durable_bytes_per_object\":%.1f,"
                   "\"catalog_bytes_per_object\":%.1f",
                   layers->persist_heap / n, layers->dur_heap / n, layers->cat_heap / n);
        printf("}\n");
    } else {
        printf("memory  %-6s %-5s %9ld objects  %8.1f bytes/object  (heap %.1f MiB, process RSS "
               "%.1f MiB; target <= 1024)\n",
               phase, durability_names[d], objects, per, bytes / 1048576.0, rss);
        if (layers != NULL)
            printf("              by layer: persist %.1f + durable %.1f + catalog %.1f "
                   "bytes/object\n",
                   layers->persist_heap / n, layers->dur_heap / n, layers->cat_heap / n);
    }
    fflush(stdout);
}

/* --- the catalog under test -------------------------------------------------------- */

/* One open catalog: its three layers. */
typedef struct env {
    persist_client *pc;
    dur_catalog *dur;
    cat_catalog *cat;
    cat_ref schema; /* cowcat.public */
} env;

static void
env_open(env *e, durability d, dur_names names, cat_check_mode check, const char *dir,
         open_times *t)
{
    persist_options po = {0};
    cc_err err;
    po.backend = d == DURABILITY_NONE ? PERSIST_BACKEND_MEM : PERSIST_BACKEND_FILE;
    po.data_dir = d == DURABILITY_NONE ? NULL : dir;
    po.sync = PERSIST_SYNC_FSYNC;
    double h0 = heap_used(), t0 = now_us();
    if (persist_client_open(&po, &e->pc, &err) != CC_OK)
        die("persist_client_open", &err);
    double t1 = now_us(), h1 = heap_used();
    dur_options o = {.mode = DUR_MODE_WRITABLE, .deploy_generation = 1, .names = names};
    if (dur_open(e->pc, &o, &e->dur, &err) != CC_OK)
        die("dur_open", &err);
    double t2 = now_us(), h2 = heap_used();
    cat_options co = {0};
    co.check = check;
    if (cat_open(e->dur, &co, &e->cat, &err) != CC_OK)
        die("cat_open", &err);
    double t3 = now_us(), h3 = heap_used();
    if (t != NULL) {
        t->persist = (t1 - t0) / 1e6;
        t->dur = (t2 - t1) / 1e6;
        t->cat = (t3 - t2) / 1e6;
        t->persist_heap = h1 - h0;
        t->dur_heap = h2 - h1;
        t->cat_heap = h3 - h2;
    }
    const cat_state *s = cat_state_acquire(e->cat);
    const cat_object *db = cat_state_find_database(s, "cowcat");
    const cat_object *sch = db != NULL ? cat_state_find_schema(s, db->ref, "public") : NULL;
    if (sch == NULL)
        die("bootstrap schema cowcat.public not found", NULL);
    e->schema = sch->ref;
}

/* Closes e; layers (may be NULL) gets the heap bytes each layer's close released. */
static void
env_close(env *e, open_times *layers)
{
    double h0 = heap_used();
    cat_close(e->cat);
    double h1 = heap_used();
    dur_close(e->dur);
    double h2 = heap_used();
    persist_client_close(e->pc);
    double h3 = heap_used();
    if (layers != NULL) {
        memset(layers, 0, sizeof *layers);
        layers->cat_heap = h0 - h1;
        layers->dur_heap = h1 - h2;
        layers->persist_heap = h2 - h3;
    }
    memset(e, 0, sizeof *e);
}

/* The two columns every table (and view) has; borrowed by every op. */
typedef struct columns {
    Cowcat__Catalog__Column a, b;
    Cowcat__Catalog__Column *v[2];
} columns;

static void
columns_init(columns *c)
{
    cowcat__catalog__column__init(&c->a);
    cowcat__catalog__column__init(&c->b);
    c->a.name = "a";
    c->a.type_name = "int4";
    c->a.typmod = -1;
    c->a.nullable = true;
    c->b.name = "b";
    c->b.type_name = "text";
    c->b.typmod = -1;
    c->b.nullable = true;
    c->v[0] = &c->a;
    c->v[1] = &c->b;
}

enum { NAME_MAX_LEN = 32, SQL_MAX_LEN = 128 };

/*
 * Scratch for ops: names and create_sql for up to cap ops, allocated before
 * the memory baseline so they are not counted.
 */
typedef struct scratch {
    size_t cap;
    cat_op *ops;
    cat_ref *created;
    char *names; /* cap x NAME_MAX_LEN */
    char *sqls;  /* cap x SQL_MAX_LEN */
    cat_ref *uses;
    columns cols;
} scratch;

static void
scratch_init(scratch *s, size_t cap)
{
    s->cap = cap;
    s->ops = xmalloc(cap * sizeof *s->ops);
    s->created = xmalloc(cap * sizeof *s->created);
    s->names = xmalloc(cap * NAME_MAX_LEN);
    s->sqls = xmalloc(cap * SQL_MAX_LEN);
    s->uses = xmalloc(cap * sizeof *s->uses);
    columns_init(&s->cols);
}

static void
scratch_fini(scratch *s)
{
    free(s->ops);
    free(s->created);
    free(s->names);
    free(s->sqls);
    free(s->uses);
}

/* Fills op i of s with CREATE TABLE public.<prefix><n> (a int4, b text). */
static void
op_create_table(scratch *s, size_t i, cat_ref schema, const char *prefix, long n)
{
    char *name = s->names + i * NAME_MAX_LEN, *sql = s->sqls + i * SQL_MAX_LEN;
    cat_op *op = &s->ops[i];
    snprintf(name, NAME_MAX_LEN, "%s%ld", prefix, n);
    snprintf(sql, SQL_MAX_LEN, "CREATE TABLE public.%s (a int4, b text)", name);
    memset(op, 0, sizeof *op);
    op->kind = CAT_OP_CREATE_ITEM;
    op->u.create_item.kind = CAT_KIND_TABLE;
    op->u.create_item.schema = schema;
    op->u.create_item.name = name;
    op->u.create_item.create_sql = sql;
    op->u.create_item.owner = CAT_ROLE_COWCAT;
    op->u.create_item.ncolumns = 2;
    op->u.create_item.columns = s->cols.v;
}

/* Fills op i of s with a view or an index <prefix><n> on table number k (ref t). */
static void
op_create_dependent(scratch *s, size_t i, cat_ref schema, cat_kind kind, long n, long k, cat_ref t)
{
    char *name = s->names + i * NAME_MAX_LEN, *sql = s->sqls + i * SQL_MAX_LEN;
    cat_op *op = &s->ops[i];
    memset(op, 0, sizeof *op);
    s->uses[i] = t;
    op->kind = CAT_OP_CREATE_ITEM;
    op->u.create_item.kind = kind;
    op->u.create_item.schema = schema;
    op->u.create_item.name = name;
    op->u.create_item.owner = CAT_ROLE_COWCAT;
    op->u.create_item.nuses = 1;
    op->u.create_item.uses = &s->uses[i];
    op->u.create_item.create_sql = sql;
    if (kind == CAT_KIND_VIEW) {
        snprintf(name, NAME_MAX_LEN, "v%ld", n);
        snprintf(sql, SQL_MAX_LEN, "CREATE VIEW public.%s AS SELECT a, b FROM public.t%ld", name,
                 k);
        op->u.create_item.ncolumns = 2;
        op->u.create_item.columns = s->cols.v;
    } else {
        snprintf(name, NAME_MAX_LEN, "i%ld", n);
        snprintf(sql, SQL_MAX_LEN, "CREATE INDEX %s ON public.t%ld (a)", name, k);
        op->u.create_item.ncolumns = 1;
        op->u.create_item.columns = s->cols.v;
    }
}

/* Fills tables t0 .. t<objects-1> into e, batch ops per transact; their refs into tables. */
static double
fill(env *e, scratch *s, durability d, long objects, size_t batch, cat_ref *tables)
{
    cc_err err;
    bool tty = isatty(2);
    double t0 = now_us(), last = t0;
    for (long done = 0; done < objects;) {
        size_t n = 0;
        for (; n < batch && done + (long)n < objects; n++)
            op_create_table(s, n, e->schema, "t", done + (long)n);
        if (cat_transact(e->cat, NULL, s->ops, n, tables + done, &err) != CC_OK)
            die("fill transact", &err);
        done += (long)n;
        double t = now_us();
        if (tty && (t - last > 250e3 || done == objects)) {
            fprintf(stderr, "\rcatalog_bench: fill %-5s %ld/%ld tables  %.1f s   ",
                    durability_names[d], done, objects, (t - t0) / 1e6);
            last = t;
        }
    }
    double secs = (now_us() - t0) / 1e6;
    fprintf(stderr, "%scatalog_bench: filled %ld tables (%s) in %.2f s, %.0f tables/s\n",
            tty ? "\r" : "", objects, durability_names[d], secs, objects / secs);
    return secs;
}

/* One transact of one op, timed; returns microseconds. */
static double
timed(env *e, const cat_op *op, cat_ref *created, const char *what)
{
    cc_err err;
    double t0 = now_us();
    if (cat_transact(e->cat, NULL, op, 1, created, &err) != CC_OK)
        die(what, &err);
    return now_us() - t0;
}

static void
drop_op(cat_op *op, const cat_ref *ref)
{
    memset(op, 0, sizeof *op);
    op->kind = CAT_OP_DROP;
    op->u.drop.n = 1;
    op->u.drop.refs = ref;
    op->u.drop.behavior = CAT_DROP_RESTRICT;
}

/*
 * Times every op, samples each, on e (objects filled tables in tables[]).
 * Samples go in rounds of at most a tenth of objects — create a round, rename
 * it, drop it — so the catalog stays within 10% of its filled size even when
 * samples exceed objects.
 */
static void
measure(env *e, scratch *s, durability d, long objects, const cat_ref *tables, size_t samples,
        uint64_t *seed)
{
    double *lat[NOP];
    cat_ref *refs = xmalloc(samples * sizeof *refs);
    size_t round = (size_t)(objects / 10) > 0 ? (size_t)(objects / 10) : 1;
    cat_op op;
    for (int k = 0; k < NOP; k++)
        lat[k] = xmalloc(samples * sizeof *lat[k]);

    for (size_t lo = 0; lo < samples; lo += round) {
        size_t hi = lo + round < samples ? lo + round : samples;
        for (size_t i = lo; i < hi; i++) {
            op_create_table(s, 0, e->schema, "x", (long)i);
            lat[OP_CREATE_TABLE][i] = timed(e, &s->ops[0], &refs[i], "create_table");
        }
        for (size_t i = lo; i < hi; i++) {
            char name[NAME_MAX_LEN];
            snprintf(name, sizeof name, "r%zu", i);
            memset(&op, 0, sizeof op);
            op.kind = CAT_OP_RENAME;
            op.u.rename.ref = refs[i];
            op.u.rename.new_name = name;
            lat[OP_RENAME_TABLE][i] = timed(e, &op, NULL, "rename_table");
        }
        for (size_t i = lo; i < hi; i++) {
            drop_op(&op, &refs[i]);
            lat[OP_DROP_TABLE][i] = timed(e, &op, NULL, "drop_table");
        }
    }
    for (int k = OP_CREATE_TABLE; k <= OP_DROP_TABLE; k++)
        report(d, (bench_op)k, objects, lat[k], samples);

    static const cat_kind kinds[2] = {CAT_KIND_VIEW, CAT_KIND_INDEX};
    static const bench_op creates[2] = {OP_CREATE_VIEW, OP_CREATE_INDEX};
    static const bench_op drops[2] = {OP_DROP_VIEW, OP_DROP_INDEX};
    for (int k = 0; k < 2; k++) {
        for (size_t lo = 0; lo < samples; lo += round) {
            size_t hi = lo + round < samples ? lo + round : samples;
            for (size_t i = lo; i < hi; i++) {
                long t = (long)(rnd(seed) % (uint64_t)objects);
                op_create_dependent(s, 0, e->schema, kinds[k], (long)i, t, tables[t]);
                lat[creates[k]][i] = timed(e, &s->ops[0], &refs[i], op_names[creates[k]]);
            }
            for (size_t i = lo; i < hi; i++) {
                drop_op(&op, &refs[i]);
                lat[drops[k]][i] = timed(e, &op, NULL, op_names[drops[k]]);
            }
        }
        report(d, creates[k], objects, lat[creates[k]], samples);
        report(d, drops[k], objects, lat[drops[k]], samples);
    }
    for (int k = 0; k < NOP; k++)
        free(lat[k]);
    free(refs);
}

/* --- one size ------------------------------------------------------------------------ */

typedef struct config {
    size_t samples;       /* per op, durability none */
    size_t fsync_samples; /* per op, durability fsync */
    size_t batch;         /* ops per fill transact */
    const char *dir;      /* where the scratch directory goes */
    bool none, fsync;     /* which durabilities run */
    cat_check_mode check; /* the check every commit runs */
    dur_names names;      /* who checks names: the catalog (EXTERNAL, as cat_open asks) */
} config;

static void
report_fill(durability d, long objects, double secs)
{
    if (json)
        printf("{\"bench\":\"fill\",\"objects\":%ld,\"durability\":\"%s\",\"seconds\":%.3f,"
               "\"tables_per_s\":%.0f}\n",
               objects, durability_names[d], secs, objects / secs);
    else
        printf("fill          %-5s %9ld objects  %.2f s  (%.0f tables/s)\n", durability_names[d],
               objects, secs, objects / secs);
    fflush(stdout);
}

static void
run(const config *cfg, durability d, long objects)
{
    size_t samples = d == DURABILITY_NONE ? cfg->samples : cfg->fsync_samples;
    uint64_t seed = 0x9E3779B97F4A7C15ULL ^ (uint64_t)objects;
    cat_ref *tables = xmalloc((size_t)objects * sizeof *tables);
    scratch s;
    scratch_init(&s, cfg->batch);
    if (d == DURABILITY_FSYNC) {
        snprintf(scratch_dir, sizeof scratch_dir, "%s/catalog-bench-XXXXXX", cfg->dir);
        if (mkdtemp(scratch_dir) == NULL) {
            scratch_dir[0] = '\0';
            die("mkdtemp failed", NULL);
        }
    }

    env e;
    malloc_trim(0);
    double m0 = heap_used();
    env_open(&e, d, cfg->names, cfg->check, scratch_dir, NULL);
    report_fill(d, objects, fill(&e, &s, d, objects, cfg->batch, tables));
    report_memory(d, "fill", objects, heap_used() - m0, NULL);

    measure(&e, &s, d, objects, tables, samples, &seed);

    if (d == DURABILITY_FSYNC) {
        cc_err err;
        if (persist_client_rollup(e.pc, &err) != CC_OK)
            die("rollup", &err);
        open_times freed;
        env_close(&e, &freed);
        report_memory(d, "close", objects, freed.persist_heap + freed.dur_heap + freed.cat_heap,
                      &freed);
        malloc_trim(0);
        double m1 = heap_used();
        open_times t;
        env_open(&e, d, cfg->names, cfg->check, scratch_dir, &t);
        double m2 = heap_used();
        if (cat_state_count(cat_state_acquire(e.cat), CAT_KIND_TABLE) < (uint64_t)objects)
            die("reopened catalog lost tables", NULL);
        if (json)
            printf("{\"bench\":\"open\",\"objects\":%ld,\"seconds\":%.3f,"
                   "\"dur_open_seconds\":%.3f,\"cat_open_seconds\":%.3f,"
                   "\"persist_open_seconds\":%.3f}\n",
                   objects, t.dur + t.cat, t.dur, t.cat, t.persist);
        else
            printf("open          fsync %9ld objects  %.3f s dur_open + cat_open (%.3f + %.3f; "
                   "persist_client_open before them %.3f s; target <= 5 s)\n",
                   objects, t.dur + t.cat, t.dur, t.cat, t.persist);
        fflush(stdout);
        report_memory(d, "reopen", objects, m2 - m1, &t);
        env_close(&e, NULL);
    } else {
        open_times freed;
        env_close(&e, &freed);
        report_memory(d, "close", objects, freed.persist_heap + freed.dur_heap + freed.cat_heap,
                      &freed);
    }
    remove_scratch_dir();
    scratch_fini(&s);
    free(tables);
    malloc_trim(0);
}

static int
usage(void)
{
    fputs("usage: catalog_bench [--json] [--quick] [--objects N] [--samples N]\n"
          "                     [--fsync-samples N] [--batch N] [--dir DIR]\n"
          "                     [--durability none|fsync|all] [--check none|incremental|full]\n"
          "                     [--dur-names external|checked]\n"
          "  --objects N        one size only (default 1k, 100k, 1M; --quick 1k, 10k)\n"
          "  --samples N        timed transactions per op, durability none (default 2000;\n"
          "                     --quick 200)\n"
          "  --fsync-samples N  the same with fsync (default 200; --quick 50)\n"
          "  --batch N          ops per fill transaction (default 5000)\n"
          "  --dir DIR          where the fsync scratch directory goes (default /tmp);\n"
          "                     removed afterwards\n"
          "  --durability D     which durabilities run (default all)\n"
          "  --check C          the consistency check every commit runs (default none, as\n"
          "                     in release builds; full is O(n) per commit)\n"
          "  --dur-names N      who checks names: external (default: the catalog, as\n"
          "                     cat_open asks) or checked (durable keeps its name indexes too)\n",
          stderr);
    return 2;
}

int
main(int argc, char **argv)
{
    bool quick = false;
    long only = 0, samples = 0, fsync_samples = 0, batch = 0;
    config cfg = {0};
    cfg.dir = "/tmp";
    cfg.none = cfg.fsync = true;
    cfg.check = CAT_CHECK_NONE;
    cfg.names = DUR_NAMES_EXTERNAL;
    atexit(remove_scratch_dir);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (strcmp(argv[i], "--quick") == 0) {
            quick = true;
        } else if (strcmp(argv[i], "--objects") == 0 && i + 1 < argc) {
            only = atol(argv[++i]);
        } else if (strcmp(argv[i], "--samples") == 0 && i + 1 < argc) {
            samples = atol(argv[++i]);
        } else if (strcmp(argv[i], "--fsync-samples") == 0 && i + 1 < argc) {
            fsync_samples = atol(argv[++i]);
        } else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc) {
            batch = atol(argv[++i]);
        } else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
            cfg.dir = argv[++i];
        } else if (strcmp(argv[i], "--check") == 0 && i + 1 < argc) {
            const char *v = argv[++i];
            check_label = v;
            if (strcmp(v, "none") == 0)
                cfg.check = CAT_CHECK_NONE, check_label = NULL;
            else if (strcmp(v, "incremental") == 0)
                cfg.check = CAT_CHECK_INCREMENTAL;
            else if (strcmp(v, "full") == 0)
                cfg.check = CAT_CHECK_FULL;
            else
                return usage();
        } else if (strcmp(argv[i], "--dur-names") == 0 && i + 1 < argc) {
            const char *v = argv[++i];
            if (strcmp(v, "external") == 0)
                cfg.names = DUR_NAMES_EXTERNAL;
            else if (strcmp(v, "checked") == 0)
                cfg.names = DUR_NAMES_CHECKED;
            else
                return usage();
        } else if (strcmp(argv[i], "--durability") == 0 && i + 1 < argc) {
            const char *v = argv[++i];
            cfg.none = strcmp(v, "none") == 0 || strcmp(v, "all") == 0;
            cfg.fsync = strcmp(v, "fsync") == 0 || strcmp(v, "all") == 0;
            if (!cfg.none && !cfg.fsync)
                return usage();
        } else {
            return usage();
        }
    }
    if (samples <= 0)
        samples = quick ? 200 : 2000;
    if (fsync_samples <= 0)
        fsync_samples = quick ? 50 : 200;
    if (batch <= 0)
        batch = 5000;
    cfg.samples = (size_t)samples;
    cfg.fsync_samples = (size_t)fsync_samples;
    cfg.batch = (size_t)batch;

    static const long full[] = {1000, 100000, 1000000};
    static const long small[] = {1000, 10000};
    const long *sizes = only > 0 ? &only : quick ? small : full;
    size_t n = only > 0 ? 1 : quick ? 2 : 3;
    for (size_t i = 0; i < n; i++) {
        if (cfg.none)
            run(&cfg, DURABILITY_NONE, sizes[i]);
        if (cfg.fsync)
            run(&cfg, DURABILITY_FSYNC, sizes[i]);
    }
    report_scaling();
    return 0;
}
