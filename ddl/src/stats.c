/*
 * ddl/src/stats.c — the engine's statistics: counters and the histograms of
 * DDL phases and group-commit sizes behind cowcat_stats_get.
 *
 * Histograms are fixed arrays of relaxed atomic counters (ddl_hist): an
 * observation is three atomic adds, no lock, on whichever thread ran the
 * phase (a group leader records for its whole group). Readers copy the
 * counters without stopping writers, so a copy may be off by the
 * observations in flight; nothing orders them against other memory.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "internal.h"

/* Upper bounds of the duration buckets: 1 us to 1 s in 1-2.5-5 steps (ns). */
static const uint64_t duration_bounds[COWCAT_HIST_BUCKETS - 1] = {
    1000,      2500,      5000,      10000,      25000,      50000,     100000,
    250000,    500000,    1000000,   2500000,    5000000,    10000000,  25000000,
    50000000,  100000000, 250000000, 500000000,  1000000000,
};

/* Upper bounds of the group-size buckets (statements). */
static const uint64_t group_size_bounds[COWCAT_HIST_BUCKETS - 1] = {
    1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 1024,
};

const uint64_t *
cowcat_duration_bounds(void)
{
    return duration_bounds;
}

const uint64_t *
cowcat_group_size_bounds(void)
{
    return group_size_bounds;
}

const char *
cowcat_phase_name(cowcat_phase p)
{
    static const char *const names[COWCAT_NPHASES] = {"parse", "plan", "transact", "commit",
                                                      "publish"};
    return (unsigned)p < COWCAT_NPHASES ? names[p] : "unknown";
}

uint64_t
ddl__now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void
ddl__observe(ddl_hist *h, const uint64_t *bounds, uint64_t v)
{
    size_t i = 0;
    while (i < COWCAT_HIST_BUCKETS - 1 && v > bounds[i])
        i++;
    atomic_fetch_add_explicit(&h->buckets[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum, v, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
}

void
ddl__observe_phase(cowcat *db, cowcat_phase phase, uint64_t ns)
{
    ddl__observe(&db->phase[phase], duration_bounds, ns);
}

void
ddl__observe_commit(cowcat *db, const cat_commit_timing *t)
{
    ddl__observe(&db->phase[COWCAT_PHASE_COMMIT], duration_bounds, t->commit_ns);
    ddl__observe(&db->phase[COWCAT_PHASE_PUBLISH], duration_bounds, t->publish_ns);
}

static void
copy_hist(const ddl_hist *h, cowcat_histogram *out)
{
    out->count = atomic_load_explicit(&h->count, memory_order_relaxed);
    out->sum = atomic_load_explicit(&h->sum, memory_order_relaxed);
    for (size_t i = 0; i < COWCAT_HIST_BUCKETS; i++)
        out->buckets[i] = atomic_load_explicit(&h->buckets[i], memory_order_relaxed);
}

void
cowcat_stats_get(cowcat *db, cowcat_stats *out)
{
    memset(out, 0, sizeof *out);
    out->statements = atomic_load_explicit(&db->statements, memory_order_relaxed);
    out->ddl = atomic_load_explicit(&db->ddl, memory_order_relaxed);
    out->commits = atomic_load_explicit(&db->commits, memory_order_relaxed);
    out->groups = atomic_load_explicit(&db->groups, memory_order_relaxed);
    out->max_group = atomic_load_explicit(&db->max_group, memory_order_relaxed);
    for (int p = 0; p < COWCAT_NPHASES; p++)
        copy_hist(&db->phase[p], &out->phase[p]);
    copy_hist(&db->group_size, &out->group_size);
    /* Each ablation's runs, as counted by the layer that switches it. */
    cat_stats cs;
    dur_stats ds;
    persist_stats ps;
    cat_stats_get(db->cat, &cs);
    dur_stats_get(db->dur, &ds);
    persist_client_stats(db->pc, &ps);
    out->ablated[COWCAT_ABLATE_CLONE] = cs.deep_clones;
    out->ablated[COWCAT_ABLATE_SNAPSHOT] = ds.snapshot_rebuilds;
    out->ablated[COWCAT_ABLATE_TRACE] = ps.trace_sorts;
    out->ablated[COWCAT_ABLATE_ALLOC] = cs.alloc_apart;
    out->ablated[COWCAT_ABLATE_LIMITS] = cs.limit_scans;
    out->ablated[COWCAT_ABLATE_CHECK] = cs.full_checks;
    dur_tables_stats ts;
    dur_tables_stats_get(db->dur, &ts);
    out->ablated[COWCAT_ABLATE_ADVANCE] = ts.advance_runs;
    out->tables_registered = ts.registered;
    out->txns_upper = ts.txns_upper;
    pmap_reader *r;
    if (pmap_reader_new(cat_catalog_domain(db->cat), &r, NULL) == CC_OK) {
        pmap_reader_pin(r);
        const cat_state *st = cat_state_acquire(db->cat);
        for (int k = 0; k < CAT_NKIND; k++)
            out->objects += cat_state_count(st, (cat_kind)k);
        pmap_reader_unpin(r);
        pmap_reader_free(r);
    }
}

static const char *const ablation_names[COWCAT_NABLATIONS] = {
    "clone", "snapshot", "trace", "alloc", "limits", "check", "advance",
};

const char *
cowcat_ablation_name(cowcat_ablation a)
{
    return (unsigned)a < COWCAT_NABLATIONS ? ablation_names[a] : NULL;
}

cowcat_code
cowcat_ablations_parse(const char *list, uint32_t *mask, cowcat_error *err)
{
    *mask = 0;
    for (const char *p = list; p != NULL && *p != '\0';) {
        size_t n = strcspn(p, ",");
        size_t a = 0;
        while (a < COWCAT_NABLATIONS &&
               (strlen(ablation_names[a]) != n || strncmp(ablation_names[a], p, n) != 0))
            a++;
        if (a == COWCAT_NABLATIONS) {
            char msg[160];
            snprintf(msg, sizeof msg, "unknown ablation \"%.*s\" (known: clone, snapshot, trace, "
                     "alloc, limits, check, advance)", (int)(n > 40 ? 40 : n), p);
            *mask = 0;
            return ddl__api_error(err, CC_INVALID, "22023", msg);
        }
        *mask |= COWCAT_ABLATE_BIT(a);
        p += n;
        if (*p == ',')
            p++;
    }
    return COWCAT_OK;
}
