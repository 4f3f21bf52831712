/*
 * tests/server/test_server_metrics.c — cowcatd's metric registry and its
 * HTTP endpoint: the rendered text is parsed back line by line (every line a
 * comment or `name{labels} value`, escapes valid, histograms cumulative and
 * consistent), counts are compared with what was recorded (also from
 * several threads at once), and the listener is driven with a plain socket
 * client (200/404/405/400, oversized requests, stop with idle clients).
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "server/metrics.h"
#include "testutil.h"

/* --- a parser for the exposition format ----------------------------------------------------- */

#define MAX_SAMPLES 8192

/* One sample line: its name, its labels without le (as written), le and value. */
typedef struct sample {
    char name[96];
    char key[256];    /* the label pairs but le, escaped as rendered: kind="X",phase="y" */
    double le;        /* the le label's value; NAN if none */
    double value;
} sample;

typedef struct parsed {
    sample *v;
    size_t n;
} parsed;

static bool
is_name_char(char ch, bool first)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' || ch == ':' ||
           (!first && ch >= '0' && ch <= '9');
}

/* Reads a metric or label name at *p into out (cap bytes). */
static void
parse_name(const char **p, char *out, size_t cap, const char *line)
{
    size_t n = 0;
    cr_assert(is_name_char(**p, true), "bad name in line: %s", line);
    while (is_name_char(**p, false)) {
        cr_assert_lt(n + 1, cap, "name too long in line: %s", line);
        out[n++] = *(*p)++;
    }
    out[n] = '\0';
}

/* Parses a value token (Go float syntax as Prometheus reads it). */
static double
parse_number(const char *tok, const char *line)
{
    if (strcmp(tok, "+Inf") == 0)
        return INFINITY;
    if (strcmp(tok, "-Inf") == 0)
        return -INFINITY;
    if (strcmp(tok, "NaN") == 0)
        return NAN;
    char *end;
    errno = 0;
    double v = strtod(tok, &end);
    cr_assert(end != tok && *end == '\0' && errno == 0, "bad number \"%s\" in line: %s", tok,
              line);
    return v;
}

/* Parses one sample line into s. */
static void
parse_sample(const char *line, sample *s)
{
    const char *p = line;
    parse_name(&p, s->name, sizeof s->name, line);
    s->key[0] = '\0';
    s->le = NAN;
    if (*p == '{') {
        p++;
        while (*p != '}') {
            char lname[64], raw[256], val[256];
            size_t nraw = 0, nval = 0;
            parse_name(&p, lname, sizeof lname, line);
            cr_assert(p[0] == '=' && p[1] == '"', "label without =\" in line: %s", line);
            p += 2;
            while (*p != '"') {
                cr_assert(*p != '\0', "unterminated label value in line: %s", line);
                cr_assert_lt(nraw + 2, sizeof raw, "label value too long: %s", line);
                if (*p == '\\') {
                    cr_assert(p[1] == '\\' || p[1] == '"' || p[1] == 'n',
                              "bad escape in line: %s", line);
                    raw[nraw++] = *p++;
                    val[nval++] = *p == 'n' ? '\n' : *p;
                    raw[nraw++] = *p++;
                } else {
                    val[nval++] = *p;
                    raw[nraw++] = *p++;
                }
            }
            p++;
            raw[nraw] = val[nval] = '\0';
            if (strcmp(lname, "le") == 0) {
                s->le = parse_number(val, line);
            } else {
                size_t k = strlen(s->key);
                snprintf(s->key + k, sizeof s->key - k, "%s%s=\"%s\"", k ? "," : "", lname, raw);
            }
            cr_assert(*p == ',' || *p == '}', "bad label separator in line: %s", line);
            if (*p == ',')
                p++;
        }
        p++;
    }
    cr_assert_eq(*p, ' ', "no space before the value in line: %s", line);
    p++;
    cr_assert(strchr(p, ' ') == NULL, "trailing fields (timestamp?) in line: %s", line);
    s->value = parse_number(p, line);
}

/*
 * Parses a whole exposition: every line a comment ("# HELP name text",
 * "# TYPE name type") or a sample; the text ends with a newline; each TYPE
 * comes once and before its family's samples.
 */
static parsed
parse_text(const char *text)
{
    parsed out = {.v = calloc(MAX_SAMPLES, sizeof(sample))};
    cr_assert_not_null(out.v);
    size_t len = strlen(text);
    cr_assert(len > 0 && text[len - 1] == '\n', "exposition must end with a newline");
    char typed[256][96];
    size_t ntyped = 0;
    const char *p = text;
    while (*p != '\0') {
        const char *nl = strchr(p, '\n');
        char line[1024];
        size_t n = (size_t)(nl - p);
        cr_assert_lt(n, sizeof line);
        memcpy(line, p, n);
        line[n] = '\0';
        p = nl + 1;
        cr_assert_gt(n, 0, "empty line in exposition");
        if (line[0] == '#') {
            char kw[8], name[96], rest[512];
            cr_assert_eq(sscanf(line, "# %7s %95s %511[^\n]", kw, name, rest), 3,
                         "bad comment: %s", line);
            if (strcmp(kw, "TYPE") == 0) {
                cr_assert(strcmp(rest, "counter") == 0 || strcmp(rest, "gauge") == 0 ||
                              strcmp(rest, "histogram") == 0,
                          "bad type: %s", line);
                for (size_t i = 0; i < ntyped; i++)
                    cr_assert_str_neq(typed[i], name, "TYPE twice for %s", name);
                cr_assert_lt(ntyped, 256);
                snprintf(typed[ntyped++], sizeof typed[0], "%s", name);
            } else {
                cr_assert_str_eq(kw, "HELP", "unknown comment: %s", line);
            }
            continue;
        }
        cr_assert_lt(out.n, MAX_SAMPLES);
        sample *s = &out.v[out.n++];
        parse_sample(line, s);
        bool declared = false;
        for (size_t i = 0; i < ntyped && !declared; i++) {
            size_t tl = strlen(typed[i]);
            declared = strncmp(s->name, typed[i], tl) == 0 &&
                       (s->name[tl] == '\0' || strcmp(s->name + tl, "_bucket") == 0 ||
                        strcmp(s->name + tl, "_sum") == 0 || strcmp(s->name + tl, "_count") == 0);
        }
        cr_assert(declared, "sample before its TYPE: %s", line);
    }
    return out;
}

/* The sample name{key} (le: NAN for none, else that bucket); NULL if absent. */
static const sample *
find(const parsed *ps, const char *name, const char *key, double le)
{
    for (size_t i = 0; i < ps->n; i++) {
        const sample *s = &ps->v[i];
        if (strcmp(s->name, name) == 0 && strcmp(s->key, key) == 0 &&
            (isnan(le) ? isnan(s->le) : s->le == le))
            return s;
    }
    return NULL;
}

static double
value_of(const parsed *ps, const char *name, const char *key)
{
    const sample *s = find(ps, name, key, NAN);
    cr_assert_not_null(s, "no sample %s{%s}", name, key);
    return s->value;
}

/*
 * Checks every histogram series: buckets in increasing le, cumulative counts
 * never decreasing, ending with +Inf, whose count equals _count; a _sum
 * exists. Returns the number of series checked.
 */
static size_t
check_histograms(const parsed *ps)
{
    size_t series = 0;
    for (size_t i = 0; i < ps->n; i++) {
        const sample *inf = &ps->v[i];
        size_t nl = strlen(inf->name);
        if (nl < 7 || strcmp(inf->name + nl - 7, "_bucket") != 0 || !isinf(inf->le))
            continue;
        char base[96], name[112];
        snprintf(base, sizeof base, "%.*s", (int)(nl - 7), inf->name);
        double prev_le = -INFINITY, prev_v = 0;
        size_t nb = 0;
        for (size_t j = 0; j < ps->n; j++) {
            const sample *b = &ps->v[j];
            if (strcmp(b->name, inf->name) != 0 || strcmp(b->key, inf->key) != 0)
                continue;
            cr_assert(!isnan(b->le), "%s{%s} bucket without le", b->name, b->key);
            cr_assert_gt(b->le, prev_le, "%s{%s}: le not increasing", base, b->key);
            cr_assert_geq(b->value, prev_v, "%s{%s}: buckets not cumulative", base, b->key);
            prev_le = b->le;
            prev_v = b->value;
            nb++;
        }
        cr_assert_eq(nb, 20, "%s{%s}: %zu buckets", base, inf->key, nb);
        snprintf(name, sizeof name, "%s_count", base);
        cr_assert_eq(value_of(ps, name, inf->key), inf->value, "%s{%s}: _count != +Inf", base,
                     inf->key);
        snprintf(name, sizeof name, "%s_sum", base);
        cr_assert_geq(value_of(ps, name, inf->key), 0);
        series++;
    }
    return series;
}

/* Renders m (db and s may be NULL) and parses the text; *text_out (may be NULL) keeps it. */
static parsed
render_parse(srv_metrics *m, cowcat *db, cowcat_session *s, char **text_out)
{
    char *text;
    cc_err err;
    cr_assert_eq(srv_metrics_render(m, db, s, &text, &err), CC_OK, "%s", err.msg);
    parsed ps = parse_text(text);
    check_histograms(&ps);
    if (text_out != NULL)
        *text_out = text;
    else
        cc_free(text);
    return ps;
}

static srv_metrics *
new_metrics(void)
{
    srv_metrics *m;
    cc_err err;
    cr_assert_eq(srv_metrics_new(&m, &err), CC_OK, "%s", err.msg);
    return m;
}

/* The upper bound of duration bucket i in seconds, as the renderer computes it. */
static double
bound_s(int i)
{
    return (double)cowcat_duration_bounds()[i] / 1e9;
}

/* --- the registry ---------------------------------------------------------------------------- */

Test(metrics, an_empty_registry_renders_its_families_with_zero_values)
{
    srv_metrics *m = new_metrics();
    char *text;
    parsed ps = render_parse(m, NULL, NULL, &text);
    cr_assert(strstr(text, "# TYPE cowcat_statement_duration_seconds histogram\n") != NULL);
    cr_assert(strstr(text, "# TYPE cowcat_errors_total counter\n") != NULL);
    cr_assert(strstr(text, "# TYPE cowcat_connections gauge\n") != NULL);
    cr_assert(strstr(text, "# HELP cowcat_connections_rejected_total ") != NULL);
    cr_assert(strstr(text, "cowcat_statements_total") == NULL, "no db: no engine counters");
    cr_assert(strstr(text, "cowcat_objects") == NULL, "no session: no object gauges");
    cr_assert_eq(value_of(&ps, "cowcat_connections", ""), 0);
    cr_assert_eq(value_of(&ps, "cowcat_connections_total", ""), 0);
    cr_assert_eq(check_histograms(&ps), 0);
    free(ps.v);
    cc_free(text);
    srv_metrics_free(m);
}

Test(metrics, statement_buckets_are_cumulative_and_match_what_was_recorded)
{
    srv_metrics *m = new_metrics();
    srv_metrics_statement(m, "CREATE TABLE", 0.0000005, NULL); /* le 1e-06 */
    srv_metrics_statement(m, "CREATE TABLE", 0.000001, NULL);  /* le 1e-06: bounds inclusive */
    srv_metrics_statement(m, "CREATE TABLE", 0.003, "42P07");  /* le 0.005 */
    srv_metrics_statement(m, "CREATE TABLE", 2.0, NULL);       /* +Inf only */
    srv_metrics_statement(m, "SELECT", 0.0, NULL);
    srv_metrics_statement(m, "SELECT", -1.0, NULL); /* clamped to 0 */
    srv_metrics_statement(m, "SELECT", NAN, NULL);  /* counted as 0 */
    char *text;
    parsed ps = render_parse(m, NULL, NULL, &text);
    const char *ct = "kind=\"CREATE TABLE\"", *sel = "kind=\"SELECT\"";
    const char *b = "cowcat_statement_duration_seconds_bucket";
    cr_assert(strstr(text, "cowcat_statement_duration_seconds_bucket{kind=\"CREATE TABLE\","
                           "le=\"1e-06\"} 2\n") != NULL,
              "%s", text);
    cr_assert(strstr(text, "le=\"0.0025\"") != NULL, "bounds print in shortest form");
    cr_assert_eq(find(&ps, b, ct, bound_s(0))->value, 2);
    cr_assert_eq(find(&ps, b, ct, 0.0025)->value, 2);
    cr_assert_eq(find(&ps, b, ct, 0.005)->value, 3);
    cr_assert_eq(find(&ps, b, ct, 1.0)->value, 3);
    cr_assert_eq(find(&ps, b, ct, INFINITY)->value, 4);
    cr_assert_eq(value_of(&ps, "cowcat_statement_duration_seconds_count", ct), 4);
    double sum = value_of(&ps, "cowcat_statement_duration_seconds_sum", ct);
    cr_assert(fabs(sum - 2.0030015) < 1e-9, "sum %.12g", sum);
    cr_assert_eq(find(&ps, b, sel, bound_s(0))->value, 3);
    cr_assert_eq(value_of(&ps, "cowcat_statement_duration_seconds_sum", sel), 0);
    cr_assert_eq(value_of(&ps, "cowcat_errors_total", "sqlstate=\"42P07\""), 1);
    cr_assert_eq(check_histograms(&ps), 2);
    free(ps.v);
    cc_free(text);
    srv_metrics_free(m);
}

Test(metrics, errors_count_by_sqlstate_and_malformed_states_count_as_other)
{
    srv_metrics *m = new_metrics();
    for (int i = 0; i < 3; i++)
        srv_metrics_statement(m, "DROP TABLE", 0.001, "42P01");
    srv_metrics_statement(m, "DROP TABLE", 0.001, "2BP01");
    srv_metrics_statement(m, "DROP TABLE", 0.001, "42p01");  /* lower case */
    srv_metrics_statement(m, "DROP TABLE", 0.001, "42P011"); /* too long */
    srv_metrics_statement(m, "DROP TABLE", 0.001, "");
    parsed ps = render_parse(m, NULL, NULL, NULL);
    cr_assert_eq(value_of(&ps, "cowcat_errors_total", "sqlstate=\"42P01\""), 3);
    cr_assert_eq(value_of(&ps, "cowcat_errors_total", "sqlstate=\"2BP01\""), 1);
    cr_assert_eq(value_of(&ps, "cowcat_errors_total", "sqlstate=\"other\""), 3);
    cr_assert_eq(value_of(&ps, "cowcat_statement_duration_seconds_count", "kind=\"DROP TABLE\""),
                 7);
    free(ps.v);
    srv_metrics_free(m);
}

Test(metrics, label_values_are_escaped_and_sanitized)
{
    srv_metrics *m = new_metrics();
    srv_metrics_statement(m, "A\"B\\C\nD", 0.001, NULL);
    srv_metrics_statement(m, "caf\xc3\xa9\t", 0.001, NULL);
    srv_metrics_connection_rejected(m, "quote\"d");
    char *text;
    parsed ps = render_parse(m, NULL, NULL, &text);
    cr_assert(strstr(text, "{kind=\"A\\\"B\\\\C\\nD\",le=\"+Inf\"} 1\n") != NULL, "%s", text);
    cr_assert_eq(value_of(&ps, "cowcat_statement_duration_seconds_count",
                          "kind=\"A\\\"B\\\\C\\nD\""),
                 1);
    cr_assert_eq(value_of(&ps, "cowcat_statement_duration_seconds_count", "kind=\"caf???\""), 1);
    cr_assert_eq(value_of(&ps, "cowcat_connections_rejected_total", "reason=\"quote\\\"d\""), 1);
    free(ps.v);
    cc_free(text);
    srv_metrics_free(m);
}

Test(metrics, full_label_tables_count_the_rest_as_other)
{
    srv_metrics *m = new_metrics();
    char name[80];
    for (int i = 0; i < 70; i++) {
        snprintf(name, sizeof name, "KIND %d", i);
        srv_metrics_statement(m, name, 0.001, NULL);
        srv_metrics_statement(m, name, 0.001, NULL); /* a second time: same slot */
    }
    srv_metrics_statement(m, "other", 0.001, NULL);
    memset(name, 'X', 64);
    name[64] = '\0';
    srv_metrics_statement(m, name, 0.001, NULL); /* longer than 63 bytes */
    srv_metrics_statement(m, NULL, 0.001, NULL);
    for (int i = 0; i < 300; i++) {
        snprintf(name, sizeof name, "%05d", i);
        srv_metrics_statement(m, "KIND 0", 0.001, name);
    }
    for (int i = 0; i < 40; i++) {
        snprintf(name, sizeof name, "reason %d", i);
        srv_metrics_connection_rejected(m, name);
    }
    parsed ps = render_parse(m, NULL, NULL, NULL);
    const char *cnt = "cowcat_statement_duration_seconds_count";
    cr_assert_eq(value_of(&ps, cnt, "kind=\"KIND 0\""), 302);
    cr_assert_eq(value_of(&ps, cnt, "kind=\"KIND 63\""), 2);
    cr_assert_null(find(&ps, cnt, "kind=\"KIND 64\"", NAN));
    cr_assert_eq(value_of(&ps, cnt, "kind=\"other\""), 6 * 2 + 3);
    cr_assert_eq(value_of(&ps, "cowcat_errors_total", "sqlstate=\"00255\""), 1);
    cr_assert_null(find(&ps, "cowcat_errors_total", "sqlstate=\"00256\"", NAN));
    cr_assert_eq(value_of(&ps, "cowcat_errors_total", "sqlstate=\"other\""), 300 - 256);
    cr_assert_eq(value_of(&ps, "cowcat_connections_rejected_total", "reason=\"reason 31\""), 1);
    cr_assert_eq(value_of(&ps, "cowcat_connections_rejected_total", "reason=\"other\""), 8);
    free(ps.v);
    srv_metrics_free(m);
}

Test(metrics, connection_events_update_the_gauge_and_counters)
{
    srv_metrics *m = new_metrics();
    for (int i = 0; i < 3; i++)
        srv_metrics_connection_opened(m);
    srv_metrics_connection_closed(m);
    srv_metrics_connection_rejected(m, "too_many_connections");
    srv_metrics_connection_rejected(m, "too_many_connections");
    srv_metrics_connection_rejected(m, "authentication");
    parsed ps = render_parse(m, NULL, NULL, NULL);
    cr_assert_eq(value_of(&ps, "cowcat_connections", ""), 2);
    cr_assert_eq(value_of(&ps, "cowcat_connections_total", ""), 3);
    cr_assert_eq(value_of(&ps, "cowcat_connections_rejected_total",
                          "reason=\"too_many_connections\""),
                 2);
    cr_assert_eq(value_of(&ps, "cowcat_connections_rejected_total", "reason=\"authentication\""),
                 1);
    free(ps.v);
    srv_metrics_free(m);
}

/* --- concurrency ----------------------------------------------------------------------------- */

#define WRITERS   4
#define PER_WRITER 20000
#define NKINDS    8

typedef struct writer_arg {
    srv_metrics *m;
    uint64_t seed;
    uint64_t buckets[NKINDS][20]; /* what this writer recorded */
    uint64_t sum_ns[NKINDS];
    uint64_t errors;
} writer_arg;

static void *
writer_main(void *p)
{
    writer_arg *a = p;
    tu_rng r;
    tu_rng_init(&r, a->seed);
    const uint64_t *bounds = cowcat_duration_bounds();
    for (int i = 0; i < PER_WRITER; i++) {
        int k = (int)tu_rng_below(&r, NKINDS);
        uint64_t ns = tu_rng_below(&r, 2000000000); /* 0 .. 2 s: exact as seconds */
        char kind[16];
        snprintf(kind, sizeof kind, "K%d", k);
        bool fails = tu_rng_chance(&r, 30);
        srv_metrics_statement(a->m, kind, (double)ns / 1e9, fails ? "40001" : NULL);
        int b = 0;
        while (b < 19 && ns > bounds[b])
            b++;
        a->buckets[k][b]++;
        a->sum_ns[k] += ns;
        a->errors += fails;
        srv_metrics_connection_opened(a->m);
        srv_metrics_connection_closed(a->m);
    }
    return NULL;
}

typedef struct scraper_arg {
    srv_metrics *m;
    _Atomic int stop;
    int scrapes;
} scraper_arg;

static void *
scraper_main(void *p)
{
    scraper_arg *a = p;
    while (!atomic_load(&a->stop)) {
        parsed ps = render_parse(a->m, NULL, NULL, NULL); /* parses and checks consistency */
        free(ps.v);
        a->scrapes++;
    }
    return NULL;
}

Test(metrics, concurrent_recording_gives_exact_totals)
{
    srv_metrics *m = new_metrics();
    uint64_t seed = tu_seed("metrics/concurrent_recording_gives_exact_totals");
    writer_arg *w = calloc(WRITERS, sizeof *w);
    pthread_t th[WRITERS], scraper;
    scraper_arg sa = {.m = m};
    cr_assert_eq(pthread_create(&scraper, NULL, scraper_main, &sa), 0);
    for (int t = 0; t < WRITERS; t++) {
        w[t].m = m;
        w[t].seed = seed + (uint64_t)t;
        cr_assert_eq(pthread_create(&th[t], NULL, writer_main, &w[t]), 0);
    }
    for (int t = 0; t < WRITERS; t++)
        pthread_join(th[t], NULL);
    atomic_store(&sa.stop, 1);
    pthread_join(scraper, NULL);

    parsed ps = render_parse(m, NULL, NULL, NULL);
    uint64_t errors = 0, all = 0;
    for (int k = 0; k < NKINDS; k++) {
        char key[32];
        snprintf(key, sizeof key, "kind=\"K%d\"", k);
        uint64_t cum = 0, sum_ns = 0;
        for (int b = 0; b < 20; b++) {
            for (int t = 0; t < WRITERS; t++)
                cum += w[t].buckets[k][b];
            const sample *s = find(&ps, "cowcat_statement_duration_seconds_bucket", key,
                                   b < 19 ? bound_s(b) : INFINITY);
            cr_assert_not_null(s);
            cr_assert_eq(s->value, (double)cum, "seed %llu: K%d bucket %d: %g != %llu",
                         (unsigned long long)seed, k, b, s->value, (unsigned long long)cum);
        }
        for (int t = 0; t < WRITERS; t++)
            sum_ns += w[t].sum_ns[k];
        double sum = value_of(&ps, "cowcat_statement_duration_seconds_sum", key);
        cr_assert(fabs(sum - (double)sum_ns / 1e9) <= 1e-6 * sum + 1e-9, "K%d sum %.12g", k, sum);
        all += cum;
    }
    for (int t = 0; t < WRITERS; t++)
        errors += w[t].errors;
    cr_assert_eq(all, WRITERS * PER_WRITER);
    cr_assert_eq(value_of(&ps, "cowcat_errors_total", "sqlstate=\"40001\""), (double)errors);
    cr_assert_eq(value_of(&ps, "cowcat_connections", ""), 0);
    cr_assert_eq(value_of(&ps, "cowcat_connections_total", ""), WRITERS * PER_WRITER);
    cr_assert_eq(check_histograms(&ps), NKINDS, "each kind exactly once despite racing adds");
    cr_log_info("%d concurrent scrapes parsed", sa.scrapes);
    free(ps.v);
    free(w);
    srv_metrics_free(m);
}

/* --- engine statistics and object counts --------------------------------------------------- */

static cowcat *
open_db(cowcat_session **s)
{
    cowcat_options o = {.backend = COWCAT_BACKEND_MEMORY};
    cowcat *db;
    cowcat_error e;
    cr_assert_eq(cowcat_open(&o, &db, &e), COWCAT_OK, "%s", e.message);
    cr_assert_eq(cowcat_session_open(db, NULL, s, &e), COWCAT_OK, "%s", e.message);
    cr_assert_eq(cowcat_exec(*s, "CREATE TABLE t1 (a int); CREATE VIEW v1 AS SELECT 1 AS x",
                             NULL, NULL, &e),
                 COWCAT_OK, "%s", e.message);
    cr_assert_eq(cowcat_exec(*s, "CREATE TABLE t2 (a int)", NULL, NULL, &e), COWCAT_OK, "%s",
                 e.message);
    return db;
}

Test(metrics, engine_stats_and_object_counts_render_from_the_database)
{
    cowcat_session *s;
    cowcat *db = open_db(&s);
    srv_metrics *m = new_metrics();
    parsed ps = render_parse(m, db, s, NULL);
    cowcat_stats st;
    cowcat_stats_get(db, &st);
    cr_assert_eq(value_of(&ps, "cowcat_statements_total", ""), (double)st.statements);
    cr_assert_eq(value_of(&ps, "cowcat_ddl_total", ""), (double)st.ddl);
    cr_assert_geq(st.ddl, 3);
    cr_assert_eq(value_of(&ps, "cowcat_commits_total", ""), (double)st.commits);
    cr_assert_eq(value_of(&ps, "cowcat_group_commits_total", ""), (double)st.groups);
    cr_assert_eq(value_of(&ps, "cowcat_group_commit_max", ""), (double)st.max_group);
    for (int p = 0; p < COWCAT_NPHASES; p++) {
        char key[64];
        snprintf(key, sizeof key, "phase=\"%s\"", cowcat_phase_name((cowcat_phase)p));
        uint64_t n = 0;
        for (int b = 0; b < COWCAT_HIST_BUCKETS; b++)
            n += st.phase[p].buckets[b];
        cr_assert_eq(value_of(&ps, "cowcat_ddl_phase_duration_seconds_count", key), (double)n);
        cr_assert_gt(n, 0, "phase %s observed", key);
        const sample *first =
            find(&ps, "cowcat_ddl_phase_duration_seconds_bucket", key, bound_s(0));
        cr_assert_eq(first->value, (double)st.phase[p].buckets[0], "first bucket as is");
        double sum = value_of(&ps, "cowcat_ddl_phase_duration_seconds_sum", key);
        cr_assert(fabs(sum - (double)st.phase[p].sum / 1e9) <= 1e-12 + 1e-9 * sum);
    }
    uint64_t finite = 0;
    for (int b = 0; b < COWCAT_HIST_BUCKETS - 1; b++)
        finite += st.group_size.buckets[b];
    cr_assert_eq(find(&ps, "cowcat_group_commit_size_bucket", "", 1024.0)->value, (double)finite);
    cr_assert_gt(finite, 0, "group commits observed");
    cr_assert_eq(value_of(&ps, "cowcat_group_commit_size_sum", ""), (double)st.group_size.sum);
    cr_assert_eq(value_of(&ps, "cowcat_objects", "kind=\"table\""), 2);
    cr_assert_eq(value_of(&ps, "cowcat_objects", "kind=\"view\""), 1);
    cr_assert_eq(value_of(&ps, "cowcat_objects", "kind=\"materialized view\""), 0);
    cr_assert_geq(value_of(&ps, "cowcat_objects", "kind=\"role\""), 1);
    cr_assert_geq(check_histograms(&ps), COWCAT_NPHASES + 1);
    free(ps.v);
    srv_metrics_free(m);
    cowcat_session_close(s);
    cowcat_close(db);
}

/* --- HTTP ------------------------------------------------------------------------------------ */

/* A blocking client socket connected to 127.0.0.1:port (reads give up after 60 s). */
static int
dial(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    struct timeval tv = {.tv_sec = 60};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0, "connect: %s", strerror(errno));
    return fd;
}

static void
send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR)
            continue;
        cr_assert_gt(k, 0, "send: %s", strerror(errno));
        p += k;
        n -= (size_t)k;
    }
}

/* Reads until the server closes; returns a malloc'd NUL-terminated copy, *n its length. */
static char *
read_all(int fd, size_t *n)
{
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (len + 1 == cap)
            buf = realloc(buf, cap *= 2);
        ssize_t k = recv(fd, buf + len, cap - len - 1, 0);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0 && errno == ECONNRESET)
            break;
        cr_assert_geq(k, 0, "recv: %s", strerror(errno));
        if (k == 0)
            break;
        len += (size_t)k;
    }
    buf[len] = '\0';
    *n = len;
    return buf;
}

/* An HTTP response split into its parts. */
typedef struct response {
    char *raw;        /* malloc'd */
    int status;
    const char *body; /* into raw */
    size_t nbody;
} response;

/* Sends req and reads and checks the whole response (status line, headers, length). */
static response
http(int port, const char *req)
{
    int fd = dial(port);
    send_all(fd, req, strlen(req));
    response r = {0};
    size_t n;
    r.raw = read_all(fd, &n);
    close(fd);
    cr_assert(sscanf(r.raw, "HTTP/1.0 %d ", &r.status) == 1, "status line: %.80s", r.raw);
    char *end = strstr(r.raw, "\r\n\r\n");
    cr_assert_not_null(end, "no end of headers");
    r.body = end + 4;
    r.nbody = n - (size_t)(r.body - r.raw);
    const char *cl = strstr(r.raw, "\r\nContent-Length: ");
    cr_assert(cl != NULL && cl < end, "Content-Length missing");
    cr_assert_eq(strtoull(cl + 18, NULL, 10), r.nbody, "Content-Length matches the body");
    const char *conn = strstr(r.raw, "\r\nConnection: close\r\n");
    cr_assert(conn != NULL && conn < end, "Connection: close missing");
    return r;
}

static srv_http *
start(srv_metrics *m, cowcat *db, int *port)
{
    srv_http *h;
    cc_err err;
    *port = 0;
    cr_assert_eq(srv_http_start(m, db, "127.0.0.1", 0, &h, port, &err), CC_OK, "%s", err.msg);
    cr_assert_gt(*port, 0);
    return h;
}

Test(http, get_metrics_answers_200_with_the_rendered_text)
{
    srv_metrics *m = new_metrics();
    srv_metrics_statement(m, "SHOW", 0.0002, NULL);
    int port;
    srv_http *h = start(m, NULL, &port);
    response r = http(port, "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n");
    cr_assert_eq(r.status, 200);
    cr_assert(strstr(r.raw, "\r\nContent-Type: text/plain; version=0.0.4") != NULL);
    parsed ps = parse_text(r.body);
    cr_assert_eq(check_histograms(&ps), 1);
    cr_assert_eq(value_of(&ps, "cowcat_statement_duration_seconds_count", "kind=\"SHOW\""), 1);
    free(ps.v);
    free(r.raw);

    r = http(port, "GET /metrics?name[]=x HTTP/1.0\n\n"); /* bare LF, a query string */
    cr_assert_eq(r.status, 200);
    free(r.raw);
    srv_http_stop(h);
    srv_metrics_free(m);
}

Test(http, other_paths_are_404_other_methods_405_and_garbage_400)
{
    srv_metrics *m = new_metrics();
    int port;
    srv_http *h = start(m, NULL, &port);
    response r = http(port, "GET /metricsx HTTP/1.1\r\n\r\n");
    cr_assert_eq(r.status, 404);
    free(r.raw);
    r = http(port, "GET / HTTP/1.1\r\n\r\n");
    cr_assert_eq(r.status, 404);
    free(r.raw);
    r = http(port, "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
    cr_assert_eq(r.status, 405);
    cr_assert(strstr(r.raw, "\r\nAllow: GET\r\n") != NULL);
    free(r.raw);
    r = http(port, "HEAD /metrics HTTP/1.1\r\n\r\n");
    cr_assert_eq(r.status, 405);
    free(r.raw);
    r = http(port, "GET /metrics\r\n\r\n");
    cr_assert_eq(r.status, 400);
    free(r.raw);
    r = http(port, "\r\n\r\n");
    cr_assert_eq(r.status, 400);
    free(r.raw);
    srv_http_stop(h);
    srv_metrics_free(m);
}

Test(http, a_request_sent_byte_by_byte_is_answered)
{
    srv_metrics *m = new_metrics();
    int port;
    srv_http *h = start(m, NULL, &port);
    int fd = dial(port);
    const char *req = "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n";
    for (size_t i = 0; req[i] != '\0'; i++)
        send_all(fd, req + i, 1);
    size_t n;
    char *raw = read_all(fd, &n);
    cr_assert(strncmp(raw, "HTTP/1.0 200 OK\r\n", 17) == 0, "%.40s", raw);
    free(raw);
    close(fd);
    srv_http_stop(h);
    srv_metrics_free(m);
}

Test(http, an_oversized_request_is_dropped_without_an_answer)
{
    srv_metrics *m = new_metrics();
    int port;
    srv_http *h = start(m, NULL, &port);
    int fd = dial(port);
    char big[9000];
    memcpy(big, "GET /metrics HTTP/1.1\r\nX-Pad: ", 30);
    memset(big + 30, 'a', sizeof big - 30);
    /* The server may reset the connection while we still send: ignore send errors. */
    size_t off = 0;
    while (off < sizeof big) {
        ssize_t k = send(fd, big + off, sizeof big - off, MSG_NOSIGNAL);
        if (k <= 0)
            break;
        off += (size_t)k;
    }
    size_t n;
    char *raw = read_all(fd, &n);
    cr_assert_eq(n, 0, "no answer to an oversized request, got: %.60s", raw);
    free(raw);
    close(fd);
    response r = http(port, "GET /metrics HTTP/1.1\r\n\r\n"); /* still serving */
    cr_assert_eq(r.status, 200);
    free(r.raw);
    srv_http_stop(h);
    srv_metrics_free(m);
}

Test(http, idle_clients_do_not_block_others_and_stop_closes_them)
{
    srv_metrics *m = new_metrics();
    int port;
    srv_http *h = start(m, NULL, &port);
    int idle[3];
    for (int i = 0; i < 3; i++)
        idle[i] = dial(port);
    send_all(idle[1], "GET /met", 8); /* half a request */
    response r = http(port, "GET /metrics HTTP/1.1\r\n\r\n");
    cr_assert_eq(r.status, 200);
    free(r.raw);
    srv_http_stop(h); /* returns although three clients are connected and silent */
    for (int i = 0; i < 3; i++) {
        size_t n;
        char *raw = read_all(idle[i], &n);
        cr_assert_eq(n, 0, "stopped listener closed idle client %d", i);
        free(raw);
        close(idle[i]);
    }
    srv_metrics_free(m);
}

Test(http, the_listener_serves_object_counts_from_its_own_session)
{
    cowcat_session *s;
    cowcat *db = open_db(&s);
    srv_metrics *m = new_metrics();
    int port;
    srv_http *h = start(m, db, &port);
    response r = http(port, "GET /metrics HTTP/1.1\r\n\r\n");
    cr_assert_eq(r.status, 200);
    parsed ps = parse_text(r.body);
    cr_assert_eq(value_of(&ps, "cowcat_objects", "kind=\"table\""), 2);
    cr_assert_geq(value_of(&ps, "cowcat_ddl_total", ""), 3);
    free(ps.v);
    free(r.raw);
    cowcat_error e;
    cr_assert_eq(cowcat_exec(s, "CREATE TABLE t3 (a int)", NULL, NULL, &e), COWCAT_OK, "%s",
                 e.message);
    r = http(port, "GET /metrics HTTP/1.1\r\n\r\n");
    ps = parse_text(r.body);
    cr_assert_eq(value_of(&ps, "cowcat_objects", "kind=\"table\""), 3,
                 "a fresh snapshot per scrape");
    free(ps.v);
    free(r.raw);
    srv_http_stop(h);
    srv_metrics_free(m);
    cowcat_session_close(s);
    cowcat_close(db);
}

Test(http, a_port_in_use_or_a_bad_address_fails_with_io)
{
    srv_metrics *m = new_metrics();
    int port;
    srv_http *h = start(m, NULL, &port);
    srv_http *h2;
    cc_err err;
    int p2 = -1;
    cr_assert_eq(srv_http_start(m, NULL, "127.0.0.1", port, &h2, &p2, &err), CC_IO);
    cr_assert_null(h2);
    cr_assert(strstr(err.msg, "could not listen") != NULL, "%s", err.msg);
    /* TEST-NET-1: numeric, so no resolver is asked, and not an address of this host */
    cr_assert_eq(srv_http_start(m, NULL, "192.0.2.1", 0, &h2, &p2, &err), CC_IO);
    cr_assert_eq(srv_http_start(m, NULL, "127.0.0.1", 70000, &h2, &p2, &err), CC_INVALID);
    srv_http_stop(h);
    srv_metrics_free(m);
}
