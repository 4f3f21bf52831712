/*
 * tools/src/stats.c — `cowcat stats`: object counts by kind and schema, the
 * data directory's files, memory, limits.
 *
 * Memory is measured, not modelled: the heap in use (glibc mallinfo2:
 * uordblks + hblkhd) before and after opening the catalog read-only, which
 * loads the same structures a writer holds — persist's trace, the durable
 * snapshot (names external, as under a writer's catalog) and the catalog
 * state. Sanitizer allocators do not report through mallinfo2; then the
 * resident set's growth is used (coarser: it counts pages, and freed memory
 * the allocator keeps).
 */
#include <dirent.h>
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "internal.h"

static uint64_t
heap_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();
    return (uint64_t)mi.uordblks + (uint64_t)mi.hblkhd;
}

static uint64_t
resident_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0, rss = 0;
    if (f == NULL)
        return 0;
    if (fscanf(f, "%lu %lu", &size, &rss) != 2)
        rss = 0;
    fclose(f);
    return (uint64_t)rss * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* Sizes of the files in dir (not recursive: persist keeps none in subdirectories). */
static cc_code
dir_sizes(const char *dir, tools_stats *st, cc_err *err)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return tools__io_error(err, "open directory", dir, errno);
    struct dirent *e;
    char path[4096];
    while ((e = readdir(d)) != NULL) {
        struct stat sb;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (e->d_name[0] == '.' || stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
            continue;
        uint64_t n = (uint64_t)sb.st_size;
        st->dir_bytes += n;
        if (strncmp(e->d_name, "log-", 4) == 0) {
            st->log_bytes += n;
            st->log_segments++;
        } else if (strncmp(e->d_name, "rollup-", 7) == 0) {
            st->rollup_bytes += n;
        }
    }
    closedir(d);
    return CC_OK;
}

/* Collecting schemas (walk_all), then counting their members by kind. */
typedef struct collect {
    const cat_object **schemas;
    size_t n, cap;
    bool nomem;
} collect;

static int
collect_schema(void *arg, const cat_object *o)
{
    collect *c = arg;
    if (o->kind != CAT_KIND_SCHEMA)
        return 0;
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 64;
        const cat_object **v = cc_realloc(c->schemas, cap * sizeof *v);
        if (v == NULL) {
            c->nomem = true;
            return 1;
        }
        c->schemas = v;
        c->cap = cap;
    }
    c->schemas[c->n++] = o;
    return 0;
}

static int
count_member(void *arg, const cat_object *o)
{
    tools_schema_stats *ss = arg;
    if ((unsigned)o->kind < CAT_NKIND)
        ss->kinds[o->kind]++;
    return 0;
}

static int
schema_cmp(const void *a, const void *b)
{
    const tools_schema_stats *x = a, *y = b;
    int c = strcmp(x->database, y->database);
    return c != 0 ? c : strcmp(x->schema, y->schema);
}

static uint64_t
max_members(const cat_state *s, const collect *c, cat_kind parent_kind)
{
    uint64_t best = 0;
    for (size_t i = 0; i < c->n; i++) {
        const cat_object *o = parent_kind == CAT_KIND_SCHEMA
                                  ? c->schemas[i]
                                  : cat_state_find(s, c->schemas[i]->parent);
        if (o == NULL)
            continue;
        uint64_t n = cat_state_count_members(s, o->ref);
        if (n > best)
            best = n;
    }
    return best;
}

static cc_code
collect_catalog(tools_datadir *d, tools_stats *st, cc_err *err)
{
    cat_catalog *cat = tools_datadir_catalog(d);
    dur_catalog *dur = tools_datadir_durable(d);
    const cat_state *s = cat_state_acquire(cat);
    const dur_snapshot *ds = dur_snapshot_acquire(dur);
    for (int k = 0; k < CAT_NKIND; k++)
        st->kinds[k] = cat_state_count(s, (cat_kind)k);
    for (int c = DUR_COLLECTION_MIN; c <= DUR_COLLECTION_MAX; c++) {
        st->entries[c] = dur_snapshot_count(ds, c);
        dur_cursor cur;
        for (bool ok = dur_cursor_first(&cur, ds, c); ok; ok = dur_cursor_next(&cur)) {
            pmap_bytes k;
            const dur_blob *v;
            dur_cursor_get(&cur, &k, &v);
            st->value_bytes += k.len + dur_blob_bytes(v).len;
        }
    }
    st->upper = dur_snapshot_upper(ds);
    st->fence = dur_fence_token(dur);
    collect c = {0};
    cat_state_walk_all(s, collect_schema, &c);
    if (c.nomem || (c.n > 0 && (st->schemas = cc_calloc(c.n, sizeof *st->schemas)) == NULL)) {
        cc_free(c.schemas);
        return cc_err_set(err, CC_NOMEM, "out of memory counting schemas");
    }
    for (size_t i = 0; i < c.n; i++) {
        tools_schema_stats *ss = &st->schemas[i];
        const cat_object *db = cat_state_find(s, c.schemas[i]->parent);
        snprintf(ss->database, sizeof ss->database, "%s", db != NULL ? db->name : "");
        snprintf(ss->schema, sizeof ss->schema, "%s", c.schemas[i]->name);
        cat_state_walk_members(s, c.schemas[i]->ref, count_member, ss);
    }
    st->nschemas = c.n;
    if (c.n > 1)
        qsort(st->schemas, c.n, sizeof *st->schemas, schema_cmp);
    for (int l = 0; l < CAT_NLIMIT; l++)
        st->limits[l] = cat_state_limit(s, (cat_limit)l);
    st->limit_used[CAT_LIMIT_DATABASES] = st->kinds[CAT_KIND_DATABASE];
    st->limit_used[CAT_LIMIT_SCHEMAS_PER_DATABASE] = max_members(s, &c, CAT_KIND_DATABASE);
    st->limit_used[CAT_LIMIT_OBJECTS_PER_SCHEMA] = max_members(s, &c, CAT_KIND_SCHEMA);
    st->limit_used[CAT_LIMIT_TABLES] = st->kinds[CAT_KIND_TABLE];
    st->limit_used[CAT_LIMIT_VIEWS] = st->kinds[CAT_KIND_VIEW];
    st->limit_used[CAT_LIMIT_MATERIALIZED_VIEWS] = st->kinds[CAT_KIND_MATERIALIZED_VIEW];
    st->limit_used[CAT_LIMIT_INDEXES] = st->kinds[CAT_KIND_INDEX];
    st->limit_used[CAT_LIMIT_ROLES] = st->kinds[CAT_KIND_ROLE];
    st->limit_used[CAT_LIMIT_CLUSTERS] = st->kinds[CAT_KIND_CLUSTER];
    cc_free(c.schemas);
    return CC_OK;
}

cc_code
tools_stats_collect(const char *data_dir, tools_stats *out, cc_err *err)
{
    memset(out, 0, sizeof *out);
    malloc_trim(0);
    uint64_t heap0 = heap_in_use(), rss0 = resident_bytes();
    tools_datadir *d;
    cc_code rc = tools_datadir_open(data_dir, TOOLS_OPEN_CATALOG, &d, err);
    if (rc != CC_OK)
        return rc;
    uint64_t heap1 = heap_in_use(), rss1 = resident_bytes();
    if (heap1 > heap0) {
        out->memory_bytes = heap1 - heap0;
        out->memory_method = "heap in use after opening minus before (mallinfo2)";
    } else {
        out->memory_bytes = rss1 > rss0 ? rss1 - rss0 : 0;
        out->memory_method = "resident set after opening minus before (/proc/self/statm)";
    }
    rc = collect_catalog(d, out, err);
    tools_datadir_close(d);
    if (rc == CC_OK)
        rc = dir_sizes(data_dir, out, err);
    if (rc != CC_OK)
        tools_stats_fini(out);
    return rc;
}

void
tools_stats_fini(tools_stats *st)
{
    cc_free(st->schemas);
    st->schemas = NULL;
    st->nschemas = 0;
}
