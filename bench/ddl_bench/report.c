/*
 * bench/ddl_bench/report.c — ddl_bench's output: per-cell statistics, the
 * JSON lines, the markdown report and the SVG plot (written by hand).
 *
 * Statistics: p50 and p95 are nearest-rank percentiles of a cell's
 * successful samples. The slope is the least-squares line of p50 against
 * the object count over all scales, in µs per 1000 objects (0 for a flat
 * curve; the largest scales dominate it). Ratios divide p50s measured in
 * the same rounds.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ddl_bench.h"

void
ddlb_cell_finish(ddlb_cell *c)
{
    memcpy(c->sorted, c->us, (size_t)c->n * sizeof *c->us);
    qsort(c->sorted, (size_t)c->n, sizeof *c->sorted, ddlb_cmp_double);
    c->p50 = ddlb_percentile(c->sorted, c->n, 0.50);
    c->p95 = ddlb_percentile(c->sorted, c->n, 0.95);
}

/* --- JSON -------------------------------------------------------------------------------- */

/* Prints the distinct values of field over the instances as a JSON array. */
static void
json_distinct(FILE *f, ddlb_inst *const *in, int n, int field)
{
    fputc('[', f);
    int printed = 0;
    for (int i = 0; i < n; i++) {
        const char *v = field == 0 ? in[i]->target->name
                        : field == 1 ? in[i]->durability
                                     : in[i]->ablate;
        if (field == 2 && v[0] == '\0')
            continue;
        bool seen = false;
        for (int j = 0; j < i && !seen; j++) {
            const char *w = field == 0 ? in[j]->target->name
                            : field == 1 ? in[j]->durability
                                         : in[j]->ablate;
            seen = strcmp(v, w) == 0;
        }
        if (!seen) {
            char esc[256];
            fprintf(f, "%s\"%s\"", printed++ ? "," : "", ddlb_json_escape(v, esc, sizeof esc));
        }
    }
    fputc(']', f);
}

static void
json_inst(FILE *f, const ddlb_inst *in)
{
    char esc[256];
    fprintf(f, "\"target\":\"%s\",\"durability\":\"%s\",\"ablate\":\"%s\"", in->target->name,
            in->durability, ddlb_json_escape(in->ablate, esc, sizeof esc));
}

/* The first line: the run's configuration; then a line per skipped instance. */
void
ddlb_report_config(FILE *f, const ddlb_config *cfg, ddlb_inst *const *in, int n)
{
    if (f == NULL)
        return;
    char esc[PATH_MAX * 2];
    fprintf(f, "{\"config\":{\"scales\":[");
    for (int s = 0; s < cfg->nscales; s++)
        fprintf(f, "%s%ld", s ? "," : "", cfg->scales[s]);
    fprintf(f, "],\"samples\":%d,\"warmup\":%d,\"batch\":%d,\"seed\":%llu,\"targets\":",
            cfg->samples, cfg->warmup, cfg->batch, (unsigned long long)cfg->seed);
    json_distinct(f, in, n, 0);
    fprintf(f, ",\"durability\":");
    json_distinct(f, in, n, 1);
    fprintf(f, ",\"ablate\":");
    json_distinct(f, in, n, 2);
    fprintf(f, ",\"clients\":[");
    for (int c = 0; c < cfg->nclients; c++)
        fprintf(f, "%s%d", c ? "," : "", cfg->clients[c]);
    fprintf(f, "],\"duration_s\":%.3g,\"cowcatd_ablate\":%s,\"workdir\":\"%s\"}}\n", cfg->duration,
            cfg->cowcatd_ablate ? "true" : "false",
            ddlb_json_escape(cfg->workdir, esc, sizeof esc));
    for (int i = 0; i < n; i++) {
        if (!in[i]->skipped)
            continue;
        fputc('{', f);
        json_inst(f, in[i]);
        fprintf(f, ",\"skipped\":\"%s\"}\n", ddlb_json_escape(in[i]->skip_reason, esc, sizeof esc));
    }
    fflush(f);
}

/* The lines of scale index si: the floor, every cell with its samples, the clients runs. */
void
ddlb_report_json_scale(FILE *f, const ddlb_config *cfg, ddlb_inst *const *in, int n, int si)
{
    if (f == NULL)
        return;
    char esc[PATH_MAX * 2];
    long objects = cfg->scales[si];
    fprintf(f,
            "{\"fdatasync_floor_us\":%.1f,\"fdatasync_floor_p95_us\":%.1f,\"samples\":%d,"
            "\"objects\":%ld,\"dir\":\"%s\"}\n",
            cfg->floor_p50[si], cfg->floor_p95[si], cfg->floor_samples, objects,
            ddlb_json_escape(cfg->workdir, esc, sizeof esc));
    for (int i = 0; i < n; i++) {
        if (in[i]->skipped)
            continue;
        for (int d = 0; d < DDLB_NDDL; d++) {
            const ddlb_cell *c = &in[i]->cells[si][d];
            fputc('{', f);
            json_inst(f, in[i]);
            fprintf(f, ",\"ddl\":\"%s\",\"objects\":%ld,\"p50_us\":%.1f,\"p95_us\":%.1f,"
                       "\"samples_us\":[",
                    ddlb_ddl_key[d], objects, c->p50, c->p95);
            for (int k = 0; k < c->n; k++)
                fprintf(f, "%s%.1f", k ? "," : "", c->us[k]);
            fprintf(f, "],\"samples\":%d,\"errors\":%d", c->n, c->errors);
            if (c->has_counters) {
                fprintf(f, ",\"committed\":%llu,\"ablated\":{", (unsigned long long)c->committed);
                for (int a = 0; a < COWCAT_NABLATIONS; a++)
                    fprintf(f, "%s\"%s\":%llu", a ? "," : "",
                            cowcat_ablation_name((cowcat_ablation)a),
                            (unsigned long long)c->ablated[a]);
                fputc('}', f);
            }
            fprintf(f, "}\n");
        }
        if (in[i]->build_s[si] > 0) {
            fputc('{', f);
            json_inst(f, in[i]);
            fprintf(f, ",\"build_from\":%ld,\"objects\":%ld,\"build_s\":%.3f,\"batch\":%d}\n",
                    in[i]->build_from[si], objects, in[i]->build_s[si], cfg->batch);
        }
        for (int ci = 0; ci < cfg->nclients; ci++) {
            const ddlb_clients_result *c = &in[i]->clients[si][ci];
            fputc('{', f);
            json_inst(f, in[i]);
            fprintf(f,
                    ",\"objects\":%ld,\"clients\":%d,\"seconds\":%.2f,\"ddl\":%ld,"
                    "\"ddl_per_s\":%.1f,\"p50_us\":%.1f,\"p95_us\":%.1f,\"errors\":%ld,"
                    "\"interrupted\":%ld}\n",
                    objects, c->clients, c->seconds, c->ddl, c->ddl_per_s, c->p50, c->p95,
                    c->errors, c->interrupted);
        }
    }
    fflush(f);
}

/* --- markdown ----------------------------------------------------------------------------- */

/* 1234567 -> "1,234,567". */
static const char *
fmt_int(long v, char *buf, size_t n)
{
    char digits[32];
    int len = snprintf(digits, sizeof digits, "%ld", v < 0 ? -v : v);
    size_t o = 0;
    if (v < 0)
        buf[o++] = '-';
    for (int i = 0; i < len && o + 2 < n; i++) {
        if (i > 0 && (len - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = digits[i];
    }
    buf[o] = '\0';
    return buf;
}

/* A latency in µs with a unit that suits it: "18.2 µs", "245 µs", "1.35 ms", "2.1 s". */
static const char *
fmt_us(double us, char *buf, size_t n)
{
    if (us < 100)
        snprintf(buf, n, "%.1f µs", us);
    else if (us < 1000)
        snprintf(buf, n, "%.0f µs", us);
    else if (us < 1e5)
        snprintf(buf, n, "%.*f ms", us < 1e4 ? 2 : 1, us / 1e3);
    else if (us < 1e6)
        snprintf(buf, n, "%.0f ms", us / 1e3);
    else
        snprintf(buf, n, "%.2f s", us / 1e6);
    return buf;
}

/* "p50 / p95 unit", the unit chosen by p50 and shared. */
static const char *
fmt_pair(const ddlb_cell *c, char *buf, size_t n)
{
    if (c->n == 0) {
        snprintf(buf, n, "—");
        return buf;
    }
    double div = 1;
    const char *unit = "µs";
    int prec = c->p50 < 100 ? 1 : 0;
    if (c->p50 >= 1e6)
        div = 1e6, unit = "s", prec = 2;
    else if (c->p50 >= 1000)
        div = 1e3, unit = "ms", prec = c->p50 < 1e4 ? 2 : c->p50 < 1e5 ? 1 : 0;
    snprintf(buf, n, "%.*f / %.*f %s", prec, c->p50 / div, prec, c->p95 / div, unit);
    return buf;
}

/* Least-squares slope of p50 (µs) against objects, per 1000 objects. */
static bool
slope_per_k(const ddlb_config *cfg, const ddlb_inst *in, int d, double *out)
{
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    int m = 0;
    for (int s = 0; s < cfg->nscales; s++) {
        const ddlb_cell *c = &in->cells[s][d];
        if (c->n == 0)
            continue;
        double x = (double)cfg->scales[s] / 1000.0, y = c->p50;
        sx += x, sy += y, sxx += x * x, sxy += x * y;
        m++;
    }
    double den = m * sxx - sx * sx;
    if (m < 2 || den == 0)
        return false;
    *out = (m * sxy - sx * sy) / den;
    return true;
}

static void
scale_header(FILE *f, const ddlb_config *cfg, const char *first, const char *first2)
{
    char b[32];
    fprintf(f, "| %s |%s", first, first2 ? " " : "");
    if (first2)
        fprintf(f, "%s |", first2);
    for (int s = 0; s < cfg->nscales; s++)
        fprintf(f, " %s |", fmt_int(cfg->scales[s], b, sizeof b));
}

static void
scale_rule(FILE *f, const ddlb_config *cfg, int lead, int extra)
{
    fprintf(f, "|");
    for (int i = 0; i < lead; i++)
        fprintf(f, "---|");
    for (int s = 0; s < cfg->nscales + extra; s++)
        fprintf(f, "---:|");
    fprintf(f, "\n");
}

/* "Builds: 0 → 1,000 tables in 0.21 s (4,800 tables/s); ..." — the timed build transactions. */
static void
md_builds(FILE *f, const ddlb_config *cfg, const ddlb_inst *in)
{
    bool any = false;
    for (int s = 0; s < cfg->nscales; s++) {
        if (in->build_s[s] <= 0)
            continue;
        char a[32], b[32], c[32];
        long built = cfg->scales[s] - in->build_from[s];
        fprintf(f, "%s %s → %s tables in %.2f s (%s tables/s)", any ? ";" : "\nBuilds:",
                fmt_int(in->build_from[s], a, sizeof a), fmt_int(cfg->scales[s], b, sizeof b),
                in->build_s[s], fmt_int((long)(built / in->build_s[s] + 0.5), c, sizeof c));
        any = true;
    }
    if (any)
        fprintf(f, " (batches of %d CREATE TABLEs per transaction).\n", cfg->batch);
}

static void
md_instance(FILE *f, const ddlb_config *cfg, const ddlb_inst *in)
{
    char buf[64];
    fprintf(f, "### %s, durability %s%s%s\n\n", in->target->name, in->durability,
            in->ablate[0] ? ", ablate " : "", in->ablate);
    scale_header(f, cfg, "DDL", NULL);
    fprintf(f, " slope µs / 1k objects | p50 last / first |\n");
    scale_rule(f, cfg, 1, 2);
    for (int d = 0; d < DDLB_NDDL; d++) {
        fprintf(f, "| %s |", ddlb_ddl_title[d]);
        for (int s = 0; s < cfg->nscales; s++) {
            const ddlb_cell *c = &in->cells[s][d];
            fprintf(f, " %s%s |", fmt_pair(c, buf, sizeof buf), c->errors ? " (errors)" : "");
        }
        double slope;
        if (slope_per_k(cfg, in, d, &slope))
            fprintf(f, " %+.*f |", fabs(slope) >= 100 ? 0 : fabs(slope) >= 1 ? 1 : 3, slope);
        else
            fprintf(f, " — |");
        const ddlb_cell *a = &in->cells[0][d], *b = &in->cells[cfg->nscales - 1][d];
        if (cfg->nscales > 1 && a->n > 0 && b->n > 0 && a->p50 > 0)
            fprintf(f, " %.2f× |\n", b->p50 / a->p50);
        else
            fprintf(f, " — |\n");
    }
    bool counted = false;
    uint64_t committed = 0, ablated[COWCAT_NABLATIONS] = {0};
    for (int s = 0; s < cfg->nscales; s++)
        for (int d = 0; d < DDLB_NDDL; d++) {
            const ddlb_cell *c = &in->cells[s][d];
            counted = counted || c->has_counters;
            committed += c->committed;
            for (int a = 0; a < COWCAT_NABLATIONS; a++)
                ablated[a] += c->ablated[a];
        }
    if (counted) {
        fprintf(f, "\nDuring the samples: %llu DDL committed; ablated path runs:",
                (unsigned long long)committed);
        bool any = false;
        for (int a = 0; a < COWCAT_NABLATIONS; a++)
            if (ablated[a] > 0) {
                fprintf(f, " %s %llu", cowcat_ablation_name((cowcat_ablation)a),
                        (unsigned long long)ablated[a]);
                any = true;
            }
        fprintf(f, "%s.\n", any ? "" : " none");
    }
    md_builds(f, cfg, in);
    fprintf(f, "\n");
}

/* Rows "| name | DDL | ratio per scale |" of in's p50 over ref's. */
static void
md_ratio_rows(FILE *f, const ddlb_config *cfg, const ddlb_inst *in, const ddlb_inst *ref,
              const char *name)
{
    for (int d = 0; d < DDLB_NDDL; d++) {
        fprintf(f, "| %s | %s |", name, ddlb_ddl_title[d]);
        for (int s = 0; s < cfg->nscales; s++) {
            const ddlb_cell *a = &in->cells[s][d], *b = &ref->cells[s][d];
            if (a->n > 0 && b->n > 0 && b->p50 > 0)
                fprintf(f, " %.2f× |", a->p50 / b->p50);
            else
                fprintf(f, " — |");
        }
        fprintf(f, "\n");
    }
}

static void
md_durability(FILE *f, const ddlb_config *cfg, ddlb_inst *const *in, int n, const char *dur)
{
    const ddlb_inst *ref = NULL;
    int others = 0, ablated = 0;
    for (int i = 0; i < n; i++) {
        if (strcmp(in[i]->durability, dur) != 0 || in[i]->skipped)
            continue;
        if (in[i]->ablate[0] == '\0') {
            if (ref == NULL)
                ref = in[i];
            else
                others++;
        } else {
            ablated++;
        }
    }
    if (ref == NULL)
        return;
    fprintf(f, "## Durability %s\n\n", dur);
    for (int i = 0; i < n; i++)
        if (strcmp(in[i]->durability, dur) == 0 && !in[i]->skipped)
            md_instance(f, cfg, in[i]);
    if (others > 0) {
        fprintf(f, "### Ratios (durability %s): p50 of each target / p50 of %s\n\n", dur,
                ref->target->name);
        scale_header(f, cfg, "target", "DDL");
        fprintf(f, "\n");
        scale_rule(f, cfg, 2, 0);
        for (int i = 0; i < n; i++)
            if (in[i] != ref && strcmp(in[i]->durability, dur) == 0 && !in[i]->skipped &&
                in[i]->ablate[0] == '\0')
                md_ratio_rows(f, cfg, in[i], ref, in[i]->target->name);
        fprintf(f, "\n");
    }
    if (ablated > 0) {
        fprintf(f, "### Ablations (durability %s): p50 ablated / p50 default, same target\n\n",
                dur);
        scale_header(f, cfg, "ablation", "DDL");
        fprintf(f, "\n");
        scale_rule(f, cfg, 2, 0);
        for (int i = 0; i < n; i++) {
            if (strcmp(in[i]->durability, dur) != 0 || in[i]->skipped || !in[i]->ablate[0])
                continue;
            const ddlb_inst *def = NULL;
            for (int j = 0; j < n && def == NULL; j++)
                if (in[j]->target == in[i]->target && in[j]->ablate[0] == '\0' &&
                    strcmp(in[j]->durability, dur) == 0)
                    def = in[j];
            char name[128];
            snprintf(name, sizeof name, "%s %s", in[i]->target->name, in[i]->ablate);
            if (def != NULL)
                md_ratio_rows(f, cfg, in[i], def, name);
        }
        fprintf(f, "\n");
    }
    if (cfg->nclients > 0) {
        fprintf(f, "### Concurrent clients (durability %s): DDL/s (p50 / p95 latency)\n\n", dur);
        scale_header(f, cfg, "target", "clients");
        fprintf(f, "\n");
        scale_rule(f, cfg, 2, 0);
        for (int i = 0; i < n; i++) {
            if (strcmp(in[i]->durability, dur) != 0 || in[i]->skipped)
                continue;
            for (int ci = 0; ci < cfg->nclients; ci++) {
                fprintf(f, "| %s%s%s | %d |", in[i]->target->name, in[i]->ablate[0] ? " " : "",
                        in[i]->ablate, cfg->clients[ci]);
                for (int s = 0; s < cfg->nscales; s++) {
                    const ddlb_clients_result *c = &in[i]->clients[s][ci];
                    char r[32], a[32], b[32];
                    if (c->ddl_per_s < 10)
                        snprintf(r, sizeof r, "%.2f", c->ddl_per_s);
                    else
                        fmt_int((long)(c->ddl_per_s + 0.5), r, sizeof r);
                    fprintf(f, " %s/s (%s / %s)%s", r,
                            fmt_us(c->p50, a, sizeof a), fmt_us(c->p95, b, sizeof b),
                            c->errors ? " (errors)" : "");
                    if (c->interrupted > 0)
                        fprintf(f, " (%ld cut off)", c->interrupted);
                    fprintf(f, " |");
                }
                fprintf(f, "\n");
            }
        }
        fprintf(f, "\n");
    }
}

void
ddlb_report_markdown(FILE *f, const ddlb_config *cfg, ddlb_inst *const *in, int n)
{
    char b[32], c[32], d[32];
    fprintf(f, "# ddl_bench\n\n");
    fprintf(f, "Objects: the catalog holds exactly that many user tables `bt_<k> (a int, b text)` "
               "(plus the engine's own objects). Each cell is p50 / p95 of %d samples, one "
               "statement each, timed by the client; the targets ran interleaved round by "
               "round. Slope: least-squares µs of p50 per 1,000 objects.\n\n",
            cfg->samples);
    fprintf(f, "fdatasync floor of the work directory's disk (4 KiB append + fdatasync, %d samples "
               "per scale):",
            cfg->floor_samples);
    for (int s = 0; s < cfg->nscales; s++)
        fprintf(f, "%s at %s objects %s p50 / %s p95", s ? ";" : "",
                fmt_int(cfg->scales[s], b, sizeof b), fmt_us(cfg->floor_p50[s], c, sizeof c),
                fmt_us(cfg->floor_p95[s], d, sizeof d));
    fprintf(f, ".\n\n");
    for (int i = 0; i < n; i++)
        if (in[i]->skipped)
            fprintf(f, "Skipped: %s — %s.\n\n", in[i]->label, in[i]->skip_reason);
    md_durability(f, cfg, in, n, "fsync");
    md_durability(f, cfg, in, n, "none");
}

/* --- SVG --------------------------------------------------------------------------------------- */

static const char *const palette[] = {
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
    "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22",
};
#define NPALETTE (int)(sizeof palette / sizeof *palette)

#define SVG_PW 480   /* panel width */
#define SVG_PH 300   /* panel height */
#define SVG_ML 64    /* panel margins: left (y labels), right, top (title), bottom (x labels) */
#define SVG_MR 14
#define SVG_MT 26
#define SVG_MB 44
#define SVG_TOP 56   /* figure title and subtitle */

typedef struct axes {
    double xlo, xhi, ylo, yhi; /* log10 ranges */
    double zero_x;             /* where objects = 0 goes (log10 units) */
} axes;

static double
x_log(const axes *ax, long objects)
{
    return objects > 0 ? log10((double)objects) : ax->zero_x;
}

static double
px(const axes *ax, double lx, double x0)
{
    return x0 + SVG_ML + (lx - ax->xlo) / (ax->xhi - ax->xlo) * (SVG_PW - SVG_ML - SVG_MR);
}

static double
py(const axes *ax, double us, double y0)
{
    double ly = log10(us > 0 ? us : pow(10, ax->ylo));
    return y0 + SVG_MT + (ax->yhi - ly) / (ax->yhi - ax->ylo) * (SVG_PH - SVG_MT - SVG_MB);
}

static const char *
fmt_objects(long v, char *buf, size_t n)
{
    if (v >= 1000000 && v % 1000000 == 0)
        snprintf(buf, n, "%ldM", v / 1000000);
    else if (v >= 1000 && v % 1000 == 0)
        snprintf(buf, n, "%ldk", v / 1000);
    else
        snprintf(buf, n, "%ld", v);
    return buf;
}

static void
svg_panel(FILE *f, const ddlb_config *cfg, ddlb_inst *const *in, int n, const axes *ax, int d,
          double x0, double y0)
{
    char buf[64];
    fprintf(f, "<g>\n<rect x=\"%.0f\" y=\"%.0f\" width=\"%d\" height=\"%d\" fill=\"white\" "
               "stroke=\"#ccc\"/>\n",
            x0 + 2, y0 + 2, SVG_PW - 4, SVG_PH - 4);
    fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" font-size=\"14\" font-weight=\"bold\" "
               "text-anchor=\"middle\">%s</text>\n",
            x0 + (SVG_ML + SVG_PW - SVG_MR) / 2.0, y0 + 18, ddlb_ddl_title[d]);
    double left = x0 + SVG_ML, right = x0 + SVG_PW - SVG_MR;
    double top = y0 + SVG_MT, bottom = y0 + SVG_PH - SVG_MB;
    for (int e = (int)ax->ylo; e <= (int)ax->yhi; e++) { /* y grid: one line per decade */
        double y = py(ax, pow(10, e), y0);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e5e5e5\"/>\n",
                left, y, right, y);
        static const char *const decade[] = {"1 µs", "10 µs", "100 µs", "1 ms",
                                             "10 ms", "100 ms", "1 s", "10 s", "100 s"};
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\">%s</text>\n",
                left - 4, y + 4,
                e >= 0 && e <= 8 ? decade[e] : fmt_us(pow(10, e), buf, sizeof buf));
    }
    for (int s = 0; s < cfg->nscales; s++) { /* x ticks at the scales */
        double x = px(ax, x_log(ax, cfg->scales[s]), x0);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e5e5e5\"/>\n",
                x, top, x, bottom);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"middle\">%s</text>\n",
                x, bottom + 14, fmt_objects(cfg->scales[s], buf, sizeof buf));
    }
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>\n", left,
            bottom, right, bottom);
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>\n", left,
            top, left, bottom);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"middle\">objects "
               "(tables, log scale)</text>\n",
            (left + right) / 2, bottom + 32);
    fprintf(f, "<text transform=\"translate(%.1f,%.1f) rotate(-90)\" font-size=\"11\" "
               "text-anchor=\"middle\">p50 latency (log scale)</text>\n",
            x0 + 12, (top + bottom) / 2);
    for (int i = 0; i < n; i++) {
        if (in[i]->skipped)
            continue;
        const char *color = palette[i % NPALETTE];
        const char *dash = i / NPALETTE == 0 ? "" : i / NPALETTE == 1 ? "6,3" : "2,2";
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.8\" "
                   "stroke-dasharray=\"%s\" points=\"",
                color, dash);
        for (int s = 0; s < cfg->nscales; s++) {
            const ddlb_cell *c = &in[i]->cells[s][d];
            if (c->n > 0)
                fprintf(f, "%.1f,%.1f ", px(ax, x_log(ax, cfg->scales[s]), x0), py(ax, c->p50, y0));
        }
        fprintf(f, "\"><title>%s — %s</title></polyline>\n", in[i]->label, ddlb_ddl_title[d]);
        for (int s = 0; s < cfg->nscales; s++) {
            const ddlb_cell *c = &in[i]->cells[s][d];
            char p50[32], p95[32];
            if (c->n > 0)
                fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"%s\"><title>%s, %s, "
                           "%ld objects: p50 %s, p95 %s</title></circle>\n",
                        px(ax, x_log(ax, cfg->scales[s]), x0), py(ax, c->p50, y0), color,
                        in[i]->label, ddlb_ddl_title[d], cfg->scales[s],
                        fmt_us(c->p50, p50, sizeof p50), fmt_us(c->p95, p95, sizeof p95));
        }
    }
    fprintf(f, "</g>\n");
}

static void
svg_legend(FILE *f, ddlb_inst *const *in, int n, double x0, double y0)
{
    fprintf(f, "<g>\n<text x=\"%.0f\" y=\"%.0f\" font-size=\"14\" font-weight=\"bold\">"
               "target / durability / ablation</text>\n",
            x0 + 20, y0 + 22);
    int row = 0;
    for (int i = 0; i < n; i++) {
        if (in[i]->skipped)
            continue;
        double x = x0 + 20 + (row / 15) * 230, y = y0 + 44 + (row % 15) * 17;
        const char *dash = i / NPALETTE == 0 ? "" : i / NPALETTE == 1 ? "6,3" : "2,2";
        fprintf(f, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"%s\" "
                   "stroke-width=\"3\" stroke-dasharray=\"%s\"/>\n",
                x, y - 4, x + 28, y - 4, palette[i % NPALETTE], dash);
        fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" font-size=\"12\">%s</text>\n", x + 36, y,
                in[i]->label);
        row++;
    }
    fprintf(f, "</g>\n");
}

int
ddlb_report_svg(const char *path, const ddlb_config *cfg, ddlb_inst *const *in, int n,
                ddlb_err *e)
{
    axes ax = {0};
    double lo = INFINITY, hi = -INFINITY;
    long minpos = 0, maxpos = 0;
    for (int s = 0; s < cfg->nscales; s++)
        if (cfg->scales[s] > 0) {
            minpos = minpos == 0 ? cfg->scales[s] : minpos;
            maxpos = cfg->scales[s];
        }
    ax.zero_x = minpos > 0 ? log10((double)minpos) - 1 : 0;
    ax.xlo = cfg->scales[0] == 0 ? ax.zero_x : log10((double)minpos);
    ax.xhi = maxpos > 0 ? log10((double)maxpos) : ax.zero_x;
    if (ax.xhi - ax.xlo < 1e-9)
        ax.xlo -= 0.5, ax.xhi += 0.5;
    for (int i = 0; i < n; i++)
        for (int s = 0; s < cfg->nscales && !in[i]->skipped; s++)
            for (int d = 0; d < DDLB_NDDL; d++) {
                const ddlb_cell *c = &in[i]->cells[s][d];
                if (c->n > 0 && c->p50 > 0) {
                    lo = fmin(lo, c->p50);
                    hi = fmax(hi, c->p50);
                }
            }
    if (!(lo <= hi))
        lo = 1, hi = 10;
    ax.ylo = floor(log10(lo));
    ax.yhi = ceil(log10(hi));
    if (ax.yhi <= ax.ylo)
        ax.yhi = ax.ylo + 1;
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        ddlb_err_set(e, "%s: cannot write", path);
        return DDLB_FAIL;
    }
    int cols = 2, rows = (DDLB_NDDL + 1 + cols - 1) / cols;
    int w = cols * SVG_PW, h = SVG_TOP + rows * SVG_PH;
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
               "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\">\n",
            w, h, w, h);
    fprintf(f, "<rect width=\"%d\" height=\"%d\" fill=\"#fafafa\"/>\n", w, h);
    char samples[32];
    fprintf(f, "<text x=\"%d\" y=\"24\" font-size=\"18\" font-weight=\"bold\" "
               "text-anchor=\"middle\">ddl_bench: p50 DDL latency against catalog size</text>\n",
            w / 2);
    fprintf(f, "<text x=\"%d\" y=\"44\" font-size=\"12\" text-anchor=\"middle\">%s samples "
               "per point; log-log axes; 0 objects is drawn one decade left of the smallest "
               "scale; hover a point for p50 and p95</text>\n",
            w / 2, fmt_int(cfg->samples, samples, sizeof samples));
    for (int d = 0; d < DDLB_NDDL; d++)
        svg_panel(f, cfg, in, n, &ax, d, (d % cols) * SVG_PW, SVG_TOP + (d / cols) * SVG_PH);
    svg_legend(f, in, n, (DDLB_NDDL % cols) * SVG_PW, SVG_TOP + (DDLB_NDDL / cols) * SVG_PH);
    fprintf(f, "</svg>\n");
    if (fclose(f) != 0) {
        ddlb_err_set(e, "%s: write failed", path);
        return DDLB_FAIL;
    }
    return DDLB_OK;
}
