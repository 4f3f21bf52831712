/*
 * bench/ddl_bench/check.c — ddl_bench_check: validates what ddl_bench
 * wrote, for the CI smoke test (no python or jq needed).
 *
 *   ddl_bench_check --json FILE --samples N --scales LIST --targets LIST
 *                   [--durability LIST] [--ablate LIST] [--per-ddl LIST]
 *                   [--svg FILE]
 *
 * Checks, failing with a message on the first violation:
 *   - every line is one well-formed JSON object (a strict RFC 8259 parser:
 *     strings with escapes, numbers, nesting, nothing after the value);
 *   - the first line is the config line; no expected instance was skipped;
 *   - one fdatasync floor line per scale, with a positive floor;
 *   - for every expected (target, durability, ablate, ddl, objects) exactly
 *     one line: samples_us holds N positive numbers, samples == N, errors
 *     == 0, 0 < p50_us <= p95_us and both equal the nearest-rank
 *     percentiles of samples_us (to the printed precision);
 *     ablate is "" for every target plus each --ablate item for embedded
 *     (and for pgwire and psql when the config line says cowcatd took it);
 *   - embedded lines carry cowcat's counters: committed == N (each sample
 *     one committed DDL); without ablation every ablated count is 0; with
 *     one, every other count is 0 and the named ones ran (> 0 over the
 *     instance's lines: limits, say, scans only when a DDL creates); for
 *     the names in --per-ddl (e.g. check: the full check once per commit)
 *     the count equals committed exactly;
 *   - every line is one of those kinds (or a --clients line with errors 0);
 *   - the SVG, if given, is a complete <svg> document with one polyline per
 *     DDL type and instance.
 * Prints "ddl_bench_check: ok ..." and exits 0, or exits 1.
 */
#include <ctype.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

/* --- the checks ------------------------------------------------------------------------------ */

#define MAXL 32

typedef struct expect {
    int samples;
    long scales[MAXL];
    int nscales;
    char *targets[MAXL];
    int ntargets;
    char *durs[MAXL];
    int ndurs;
    char *ablates[MAXL];
    int nablates;
    char *perddl[MAXL];
    int nperddl;
    bool cowcatd_ablate; /* the config line says cowcatd took --ablate */
} expect;

/* Does target get ablated instances? embedded always; pgwire and psql when cowcatd can. */
static bool
ablatable(const expect *x, const char *target)
{
    return strcmp(target, "embedded") == 0 ||
           (x->cowcatd_ablate && (strcmp(target, "pgwire") == 0 || strcmp(target, "psql") == 0));
}

static const char *const ddls[] = {"create_table", "create_view", "create_index", "rename_table",
                                   "drop_view",    "drop_table",  "drop_index"};
#define NDDL 7

static int
fail(int line, const char *fmt, const char *arg)
{
    fprintf(stderr, "ddl_bench_check: FAIL");
    if (line > 0)
        fprintf(stderr, " (line %d)", line);
    fprintf(stderr, ": ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    return 1;
}

static int
split(char *s, char **out)
{
    int n = 0;
    for (char *t = strtok(s, ","); t != NULL && n < MAXL; t = strtok(NULL, ","))
        out[n++] = t;
    return n;
}

static int
index_of(char *const *list, int n, const char *s)
{
    for (int i = 0; i < n; i++)
        if (strcmp(list[i], s) == 0)
            return i;
    return -1;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double
nearest_rank(const double *sorted, int n, double p)
{
    long rank = (long)(p * n + 0.999999);
    rank = rank < 1 ? 1 : rank > n ? n : rank;
    return sorted[rank - 1];
}

/* Is name one of the '+'-joined parts of item? */
static bool
item_names(const char *item, const char *name)
{
    size_t len = strlen(name);
    for (const char *p = item; *p != '\0';) {
        size_t l = strcspn(p, "+");
        if (l == len && strncmp(p, name, len) == 0)
            return true;
        p += l + (p[l] == '+');
    }
    return false;
}

/*
 * Checks one sample line; line is its number, for messages. Adds the runs
 * of the line's own ablations to *ran (each must run somewhere in the
 * instance's lines, not on every DDL type: limits scans only for creates).
 */
static int
check_cell(const expect *x, const jval *o, int line, double *ran)
{
    const char *target = jstr(o, "target"), *ablate = jstr(o, "ablate");
    const jval *arr = jget(o, "samples_us");
    double samples, errors, p50, p95;
    if (arr == NULL || arr->t != J_ARR)
        return fail(line, "samples_us is not an array%s", "");
    if ((int)arr->n != x->samples)
        return fail(line, "samples_us does not hold exactly --samples values%s", "");
    if (!jnum(o, "samples", &samples) || samples != x->samples)
        return fail(line, "samples != --samples%s", "");
    if (!jnum(o, "errors", &errors) || errors != 0)
        return fail(line, "a statement failed (errors != 0)%s", "");
    if (!jnum(o, "p50_us", &p50) || !jnum(o, "p95_us", &p95) || !(p50 > 0) || p50 > p95)
        return fail(line, "p50_us/p95_us missing or not 0 < p50 <= p95%s", "");
    double *v = malloc(arr->n * sizeof *v);
    if (v == NULL)
        return fail(line, "out of memory%s", "");
    for (size_t i = 0; i < arr->n; i++) {
        if (arr->items[i].t != J_NUM || !(arr->items[i].num > 0)) {
            free(v);
            return fail(line, "a sample is not a positive number%s", "");
        }
        v[i] = arr->items[i].num;
    }
    qsort(v, arr->n, sizeof *v, cmp_double);
    double q50 = nearest_rank(v, (int)arr->n, 0.5), q95 = nearest_rank(v, (int)arr->n, 0.95);
    free(v);
    if (fabs(q50 - p50) > 0.051 || fabs(q95 - p95) > 0.051)
        return fail(line, "p50_us/p95_us are not the percentiles of samples_us%s", "");
    if (strcmp(target, "embedded") != 0)
        return 0;
    double committed;
    const jval *abl = jget(o, "ablated");
    if (!jnum(o, "committed", &committed) || abl == NULL || abl->t != J_OBJ || abl->n == 0)
        return fail(line, "an embedded line without committed/ablated counters%s", "");
    if (committed != x->samples)
        return fail(line, "committed != samples: not one committed DDL per sample%s", "");
    for (size_t i = 0; i < abl->n; i++) {
        const char *name = abl->keys[i];
        double runs = abl->items[i].t == J_NUM ? abl->items[i].num : -1;
        bool named = ablate[0] != '\0' && item_names(ablate, name);
        if (runs < 0)
            return fail(line, "ablated.%s is not a number", name);
        if (!named && runs != 0)
            return fail(line, "ablated.%s ran although it is not ablated here", name);
        if (named)
            *ran += runs;
        if (named && index_of(x->perddl, x->nperddl, name) >= 0 && runs != committed)
            return fail(line, "ablated.%s != committed (expected one run per committed DDL)", name);
    }
    for (const char *p = ablate; *p != '\0';) { /* every named ablation is counted */
        char name[64];
        size_t l = strcspn(p, "+");
        snprintf(name, sizeof name, "%.*s", (int)l, p);
        if (jget(abl, name) == NULL)
            return fail(line, "no ablated count for %s", name);
        p += l + (p[l] == '+');
    }
    return 0;
}

static int
check_svg(const char *path, int lines)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return fail(0, "cannot read the SVG %s", path);
    size_t cap = 1 << 16, len = 0;
    char *s = malloc(cap + 1);
    size_t r;
    while (s != NULL && (r = fread(s + len, 1, cap - len, f)) > 0) {
        len += r;
        if (len == cap) {
            char *t = realloc(s, (cap *= 2) + 1);
            if (t == NULL) {
                free(s);
                s = NULL;
            } else {
                s = t;
            }
        }
    }
    fclose(f);
    if (s == NULL)
        return fail(0, "out of memory reading %s", path);
    s[len] = '\0';
    int polylines = 0;
    for (const char *p = s; (p = strstr(p, "<polyline")) != NULL; p++)
        polylines++;
    bool ok = strstr(s, "<svg") != NULL && strstr(s, "</svg>") != NULL;
    free(s);
    if (!ok)
        return fail(0, "%s is not a complete <svg> document", path);
    if (polylines != lines) {
        char msg[96];
        snprintf(msg, sizeof msg, "%d polylines, expected %d", polylines, lines);
        return fail(0, "SVG: %s", msg);
    }
    return 0;
}

int
main(int argc, char **argv)
{
    expect x = {0};
    const char *json = NULL, *svg = NULL;
    char *scales = NULL, *targets = NULL, *durs = NULL, *ablates = NULL, *perddl = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *a = argv[i];
        char *v = argv[i + 1];
        if (strcmp(a, "--json") == 0)
            json = v;
        else if (strcmp(a, "--svg") == 0)
            svg = v;
        else if (strcmp(a, "--samples") == 0)
            x.samples = atoi(v);
        else if (strcmp(a, "--scales") == 0)
            scales = v;
        else if (strcmp(a, "--targets") == 0)
            targets = v;
        else if (strcmp(a, "--durability") == 0)
            durs = v;
        else if (strcmp(a, "--ablate") == 0)
            ablates = v;
        else if (strcmp(a, "--per-ddl") == 0)
            perddl = v;
        else
            return fail(0, "unknown option %s", a);
    }
    if (json == NULL || scales == NULL || targets == NULL || x.samples <= 0 || argc % 2 == 0) {
        fprintf(stderr, "usage: ddl_bench_check --json FILE --samples N --scales LIST "
                        "--targets LIST [--durability LIST] [--ablate LIST] [--per-ddl LIST] "
                        "[--svg FILE]\n");
        return 2;
    }
    char *tmp[MAXL];
    x.nscales = split(scales, tmp);
    for (int i = 0; i < x.nscales; i++)
        x.scales[i] = atol(tmp[i]);
    x.ntargets = split(targets, x.targets);
    char fsync_default[] = "fsync";
    x.ndurs = durs != NULL ? split(durs, x.durs) : split(fsync_default, x.durs);
    x.nablates = ablates != NULL ? split(ablates, x.ablates) : 0;
    x.nperddl = perddl != NULL ? split(perddl, x.perddl) : 0;

    /* seen[target][durability][ablate+1][ddl][scale] */
    static int seen[MAXL][MAXL][MAXL + 1][NDDL][MAXL];
    static double ran[MAXL][MAXL][MAXL + 1]; /* ablated runs per instance */
    int floors[MAXL] = {0};
    FILE *f = fopen(json, "r");
    if (f == NULL)
        return fail(0, "cannot read %s", json);
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int ln = 0, cells = 0, clients = 0;
    bool config = false;
    while ((len = getline(&line, &cap, f)) > 0) {
        ln++;
        jval o;
        const char *why = ddlb_json_parse_line(line, &o);
        if (why != NULL)
            return fail(ln, "not one JSON object: %s", why);
        double num;
        const char *target = jstr(&o, "target"), *dur = jstr(&o, "durability"),
                   *abl = jstr(&o, "ablate"), *ddl = jstr(&o, "ddl");
        int rc = 0;
        if (ln == 1) {
            const jval *c = jget(&o, "config"), *ca = c != NULL ? jget(c, "cowcatd_ablate") : NULL;
            config = c != NULL && c->t == J_OBJ;
            x.cowcatd_ablate = ca != NULL && ca->t == J_BOOL && ca->b;
            if (!config)
                rc = fail(ln, "the first line is not the config line%s", "");
        } else if (jnum(&o, "fdatasync_floor_us", &num)) {
            double objects;
            int s = -1;
            if (jnum(&o, "objects", &objects))
                for (int i = 0; i < x.nscales; i++)
                    if (x.scales[i] == (long)objects)
                        s = i;
            if (!(num > 0) || s < 0)
                rc = fail(ln, "bad fdatasync floor line%s", "");
            else
                floors[s]++;
        } else if (target != NULL && jget(&o, "skipped") != NULL) {
            if (index_of(x.targets, x.ntargets, target) >= 0)
                rc = fail(ln, "expected target %s was skipped", target);
        } else if (target != NULL && dur != NULL && abl != NULL && jget(&o, "clients") != NULL) {
            double errors;
            if (!jnum(&o, "errors", &errors) || errors != 0 || !jnum(&o, "ddl_per_s", &num))
                rc = fail(ln, "a --clients line with errors or without ddl_per_s%s", "");
            clients++;
        } else if (target != NULL && dur != NULL && abl != NULL && jget(&o, "build_s") != NULL) {
            double from, objects;
            if (!jnum(&o, "build_s", &num) || !(num > 0) || !jnum(&o, "build_from", &from) ||
                !jnum(&o, "objects", &objects) || !(from < objects))
                rc = fail(ln, "a bad build line (%s)", line);
        } else if (target != NULL && dur != NULL && abl != NULL && ddl != NULL) {
            int t = index_of(x.targets, x.ntargets, target), d = index_of(x.durs, x.ndurs, dur);
            int a = abl[0] == '\0' ? 0 : 1 + index_of(x.ablates, x.nablates, abl);
            int k = index_of((char *const *)ddls, NDDL, ddl), s = -1;
            double objects;
            if (jnum(&o, "objects", &objects))
                for (int i = 0; i < x.nscales; i++)
                    if (x.scales[i] == (long)objects)
                        s = i;
            if (t < 0 || d < 0 || a < 0 || k < 0 || s < 0 || (a > 0 && !ablatable(&x, target)))
                rc = fail(ln, "a sample line nobody asked for (%s)", line);
            else if (seen[t][d][a][k][s]++ > 0)
                rc = fail(ln, "a duplicate sample line%s", "");
            else
                rc = check_cell(&x, &o, ln, &ran[t][d][a]);
            cells++;
        } else {
            rc = fail(ln, "a line of unknown kind%s", "");
        }
        jfree(&o);
        if (rc != 0)
            return rc;
    }
    free(line);
    fclose(f);
    if (!config)
        return fail(0, "%s is empty", json);
    for (int s = 0; s < x.nscales; s++)
        if (floors[s] != 1)
            return fail(0, "not exactly one fdatasync floor line per scale%s", "");
    int instances = 0;
    for (int t = 0; t < x.ntargets; t++)
        for (int d = 0; d < x.ndurs; d++)
            for (int a = 0; a <= x.nablates; a++) {
                if (a > 0 && !ablatable(&x, x.targets[t]))
                    continue;
                instances++;
                if (a > 0 && strcmp(x.targets[t], "embedded") == 0 && ran[t][d][a] == 0) {
                    char what[256];
                    snprintf(what, sizeof what, "%s/%s/%s", x.targets[t], x.durs[d],
                             x.ablates[a - 1]);
                    return fail(0, "%s: the ablated path never ran", what);
                }
                for (int k = 0; k < NDDL; k++)
                    for (int s = 0; s < x.nscales; s++)
                        if (seen[t][d][a][k][s] != 1) {
                            char what[256];
                            snprintf(what, sizeof what, "%s/%s/%s %s at %ld", x.targets[t],
                                     x.durs[d], a ? x.ablates[a - 1] : "", ddls[k], x.scales[s]);
                            return fail(0, "no sample line for %s", what);
                        }
            }
    if (svg != NULL && check_svg(svg, instances * NDDL) != 0)
        return 1;
    printf("ddl_bench_check: ok: %s: %d lines, %d sample lines of %d samples each, %d clients "
           "lines%s\n",
           json, ln, cells, x.samples, clients, svg != NULL ? ", SVG complete" : "");
    return 0;
}
