/*
 * bench/ddl_bench/report_from.c — ddl_bench --report FILE.json[,FILE.json...]:
 * the markdown report (and --plot) rebuilt from JSON lines earlier runs
 * wrote, without measuring anything.
 *
 * Several files merge into one report: the scales, --clients counts and
 * instances (target, durability, ablate) are the union of the files'; where
 * two files hold the same (instance, scale), the later file's lines win. So
 * a run that stopped after some scales and a later --reuse run over the
 * remaining scales report together. Percentiles are recomputed from
 * samples_us; the header's sample count is the first config line's.
 */
#include <stdlib.h>
#include <string.h>

#include "ddl_bench.h"
#include "json.h"

typedef struct merged {
    ddlb_config *cfg;
    ddlb_inst **in;
    int n;
} merged;

static const ddlb_target *const known[] = {
    &ddlb_target_embedded, &ddlb_target_pgwire, &ddlb_target_psql, &ddlb_target_postgres,
#ifdef DDLB_HAVE_SQLITE
    &ddlb_target_sqlite,
#endif
};

/* The target called name; one with only a name if this build lacks it (sqlite). */
static const ddlb_target *
target_named(const char *name)
{
    for (size_t i = 0; i < sizeof known / sizeof *known; i++)
        if (strcmp(known[i]->name, name) == 0)
            return known[i];
    ddlb_target *t = calloc(1, sizeof *t);
    char *copy = strdup(name);
    if (t == NULL || copy == NULL) {
        free(t), free(copy);
        return NULL;
    }
    t->name = copy;
    return t;
}

/* Index of objects in cfg's scales, inserted in order if new; -1 when full. */
static int
scale_index(ddlb_config *cfg, merged *m, long objects)
{
    int s = 0;
    while (s < cfg->nscales && cfg->scales[s] < objects)
        s++;
    if (s < cfg->nscales && cfg->scales[s] == objects)
        return s;
    if (cfg->nscales == DDLB_MAX_SCALES)
        return -1;
    /* Shift every per-scale array from s on. */
    int tail = cfg->nscales - s;
    memmove(&cfg->scales[s + 1], &cfg->scales[s], (size_t)tail * sizeof cfg->scales[0]);
    memmove(&cfg->floor_p50[s + 1], &cfg->floor_p50[s], (size_t)tail * sizeof(double));
    memmove(&cfg->floor_p95[s + 1], &cfg->floor_p95[s], (size_t)tail * sizeof(double));
    cfg->scales[s] = objects, cfg->floor_p50[s] = 0, cfg->floor_p95[s] = 0;
    for (int i = 0; i < m->n; i++) {
        ddlb_inst *in = m->in[i];
        memmove(&in->cells[s + 1], &in->cells[s], (size_t)tail * sizeof in->cells[0]);
        memmove(&in->clients[s + 1], &in->clients[s], (size_t)tail * sizeof in->clients[0]);
        memmove(&in->build_from[s + 1], &in->build_from[s], (size_t)tail * sizeof(long));
        memmove(&in->build_s[s + 1], &in->build_s[s], (size_t)tail * sizeof(double));
        memset(&in->cells[s], 0, sizeof in->cells[0]);
        memset(&in->clients[s], 0, sizeof in->clients[0]);
        in->build_from[s] = 0, in->build_s[s] = 0;
    }
    cfg->nscales++;
    return s;
}

static int
clients_index(ddlb_config *cfg, int clients)
{
    for (int c = 0; c < cfg->nclients; c++)
        if (cfg->clients[c] == clients)
            return c;
    if (cfg->nclients == DDLB_MAX_CLIENTS)
        return -1;
    cfg->clients[cfg->nclients] = clients;
    return cfg->nclients++;
}

static ddlb_inst *
instance(merged *m, const char *target, const char *durability, const char *ablate)
{
    for (int i = 0; i < m->n; i++)
        if (strcmp(m->in[i]->target->name, target) == 0 &&
            strcmp(m->in[i]->durability, durability) == 0 &&
            strcmp(m->in[i]->ablate, ablate) == 0)
            return m->in[i];
    if (m->n == DDLB_MAX_INSTANCES)
        return NULL;
    ddlb_inst *in = calloc(1, sizeof *in);
    const ddlb_target *t = target_named(target);
    char *dur = strdup(durability);
    if (in == NULL || t == NULL || dur == NULL) {
        free(in), free(dur);
        return NULL;
    }
    in->target = t;
    in->cfg = m->cfg;
    in->durability = dur;
    in->fsync = strcmp(durability, "fsync") == 0;
    snprintf(in->ablate, sizeof in->ablate, "%s", ablate);
    snprintf(in->label, sizeof in->label, "%s/%s%s%s", target, durability, ablate[0] ? "/" : "",
             ablate);
    m->in[m->n++] = in;
    return in;
}

static int
load_cell(ddlb_cell *c, const jval *o, ddlb_err *e)
{
    const jval *us = jget(o, "samples_us");
    double errors = 0, committed;
    if (us == NULL || us->t != J_ARR) {
        ddlb_err_set(e, "a sample line without samples_us");
        return DDLB_FAIL;
    }
    free(c->us), free(c->sorted);
    memset(c, 0, sizeof *c);
    c->us = malloc((us->n ? us->n : 1) * sizeof *c->us);
    c->sorted = malloc((us->n ? us->n : 1) * sizeof *c->sorted);
    if (c->us == NULL || c->sorted == NULL) {
        ddlb_err_set(e, "out of memory");
        return DDLB_FAIL;
    }
    for (size_t k = 0; k < us->n; k++) {
        if (us->items[k].t != J_NUM) {
            ddlb_err_set(e, "samples_us holds a non-number");
            return DDLB_FAIL;
        }
        c->us[c->n++] = us->items[k].num;
    }
    jnum(o, "errors", &errors);
    c->errors = (int)errors;
    if (jnum(o, "committed", &committed)) {
        c->has_counters = true;
        c->committed = (uint64_t)committed;
        const jval *abl = jget(o, "ablated");
        for (int a = 0; abl != NULL && a < COWCAT_NABLATIONS; a++) {
            double runs;
            if (jnum(abl, cowcat_ablation_name((cowcat_ablation)a), &runs))
                c->ablated[a] = (uint64_t)runs;
        }
    }
    if (c->n > 0)
        ddlb_cell_finish(c);
    return DDLB_OK;
}

/* One JSON line into m. */
static int
load_line(merged *m, const jval *o, bool *first_config, ddlb_err *e)
{
    ddlb_config *cfg = m->cfg;
    const jval *config = jget(o, "config");
    const char *target = jstr(o, "target"), *dur = jstr(o, "durability"),
               *abl = jstr(o, "ablate");
    double objects = -1, num;
    jnum(o, "objects", &objects);
    if (config != NULL) {
        if (*first_config) {
            if (jnum(config, "samples", &num))
                cfg->samples = (int)num;
            if (jnum(config, "warmup", &num))
                cfg->warmup = (int)num;
            if (jnum(config, "batch", &num))
                cfg->batch = (int)num;
            if (jnum(config, "seed", &num))
                cfg->seed = (uint64_t)num;
            if (jnum(config, "duration_s", &num))
                cfg->duration = num;
            *first_config = false;
        }
        return DDLB_OK;
    }
    if (target != NULL && jget(o, "skipped") != NULL)
        return DDLB_OK; /* the markdown of a merge lists what ran */
    int s = objects >= 0 ? scale_index(cfg, m, (long)objects) : -1;
    if (jnum(o, "fdatasync_floor_us", &num)) {
        if (s < 0)
            goto bad;
        cfg->floor_p50[s] = num;
        if (jnum(o, "fdatasync_floor_p95_us", &num))
            cfg->floor_p95[s] = num;
        if (jnum(o, "samples", &num))
            cfg->floor_samples = (int)num;
        return DDLB_OK;
    }
    if (target == NULL || dur == NULL || abl == NULL || s < 0)
        goto bad;
    ddlb_inst *in = instance(m, target, dur, abl);
    if (in == NULL) {
        ddlb_err_set(e, "too many instances or out of memory");
        return DDLB_FAIL;
    }
    const char *ddl = jstr(o, "ddl");
    if (ddl != NULL) {
        for (int d = 0; d < DDLB_NDDL; d++)
            if (strcmp(ddlb_ddl_key[d], ddl) == 0)
                return load_cell(&in->cells[s][d], o, e);
        goto bad;
    }
    if (jnum(o, "build_s", &num)) {
        double from = 0;
        jnum(o, "build_from", &from);
        in->build_s[s] = num, in->build_from[s] = (long)from;
        return DDLB_OK;
    }
    if (jnum(o, "clients", &num)) {
        int ci = clients_index(cfg, (int)num);
        if (ci < 0)
            goto bad;
        ddlb_clients_result *c = &in->clients[s][ci];
        double v;
        *c = (ddlb_clients_result){.clients = (int)num};
        if (jnum(o, "seconds", &v))
            c->seconds = v;
        if (jnum(o, "ddl", &v))
            c->ddl = (long)v;
        if (jnum(o, "errors", &v))
            c->errors = (long)v;
        if (jnum(o, "interrupted", &v))
            c->interrupted = (long)v;
        if (jnum(o, "ddl_per_s", &v))
            c->ddl_per_s = v;
        if (jnum(o, "p50_us", &v))
            c->p50 = v;
        if (jnum(o, "p95_us", &v))
            c->p95 = v;
        return DDLB_OK;
    }
bad:
    ddlb_err_set(e, "a line of unknown kind (or too many scales or client counts)");
    return DDLB_FAIL;
}

int
ddlb_report_from(char *const *files, int nfiles, const char *plot)
{
    ddlb_config cfg = {.samples = 0, .batch = 0};
    ddlb_inst *in[DDLB_MAX_INSTANCES];
    merged m = {.cfg = &cfg, .in = in, .n = 0};
    bool first_config = true;
    ddlb_err e = {{0}};
    int rc = DDLB_OK;
    for (int f = 0; f < nfiles && rc == DDLB_OK; f++) {
        FILE *fp = fopen(files[f], "r");
        if (fp == NULL) {
            fprintf(stderr, "ddl_bench: --report: cannot read %s\n", files[f]);
            rc = DDLB_FAIL;
            break;
        }
        char *line = NULL;
        size_t cap = 0;
        for (int ln = 1; rc == DDLB_OK && getline(&line, &cap, fp) > 0; ln++) {
            jval o;
            const char *why = ddlb_json_parse_line(line, &o);
            if (why != NULL) {
                ddlb_err_set(&e, "not one JSON object: %s", why);
                rc = DDLB_FAIL;
            } else {
                rc = load_line(&m, &o, &first_config, &e);
                jfree(&o);
            }
            if (rc != DDLB_OK)
                fprintf(stderr, "ddl_bench: --report: %s line %d: %s\n", files[f], ln, e.msg);
        }
        free(line);
        fclose(fp);
    }
    if (rc == DDLB_OK && (m.n == 0 || cfg.nscales == 0)) {
        fprintf(stderr, "ddl_bench: --report: no samples in the files given\n");
        rc = DDLB_FAIL;
    }
    if (rc == DDLB_OK) {
        snprintf(cfg.workdir, sizeof cfg.workdir, "(report of %d file%s)", nfiles,
                 nfiles == 1 ? "" : "s");
        ddlb_report_markdown(stdout, &cfg, in, m.n);
        if (plot != NULL && ddlb_report_svg(plot, &cfg, in, m.n, &e) != DDLB_OK) {
            fprintf(stderr, "ddl_bench: --plot: %s\n", e.msg);
            rc = DDLB_FAIL;
        }
    }
    for (int i = 0; i < m.n; i++) {
        for (int s = 0; s < DDLB_MAX_SCALES; s++)
            for (int d = 0; d < DDLB_NDDL; d++)
                free(in[i]->cells[s][d].us), free(in[i]->cells[s][d].sorted);
        free((char *)in[i]->durability);
        free(in[i]);
    }
    return rc;
}
