/*
 * server/src/metrics.c — cowcatd's metric registry and its rendering in
 * Prometheus' text exposition format 0.0.4 (see server/metrics.h).
 *
 * The registry is one allocation. Recording is lock-free: a label value
 * (statement kind, SQLSTATE, rejection reason) is looked up in a small
 * append-only table of names and the counters of its slot are bumped with
 * relaxed atomic adds. A name not seen before is appended under the table's
 * mutex; a full table, an over-long name and the name "other" itself all
 * count in the table's last slot, rendered as "other":
 *
 *   labels.names: [0] "CREATE TABLE" [1] "SELECT" ... [n-1] | unused ... | (slot cap: "other")
 *                  \_____ published: index < n (acquire n) _/
 *
 * Invariants: names[i] for i < n never changes once n passed i (it is
 * written before n is bumped with release); counters of a slot start at zero
 * (the registry is calloc'd) and only grow. Label values are stored
 * sanitized (bytes outside printable ASCII other than '\n' become '?'), so
 * two raw values that sanitize alike share one series and the exposition
 * stays valid UTF-8.
 *
 * Histograms keep non-cumulative buckets with the same upper bounds as the
 * engine's (cowcat_duration_bounds, nanoseconds; v <= bound) and a sum in
 * nanoseconds; rendering accumulates them, converts to seconds and derives
 * _count from the buckets, so every scrape has _count == the +Inf bucket
 * even while observations are in flight.
 */
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "server/metrics.h"

#define LABEL_MAX   63  /* bytes of a stored label value */
#define KINDS_MAX   64  /* named statement kinds; more count as "other" */
#define STATES_MAX  256 /* named SQLSTATEs */
#define REASONS_MAX 32  /* named rejection reasons */
#define NBOUNDS     (COWCAT_HIST_BUCKETS - 1)

/* An append-only table of label values; slot cap is the overflow "other". */
typedef struct labels {
    pthread_mutex_t grow;           /* serialises appends */
    _Atomic uint32_t n;             /* names published: stored with release after the
                                       name is written, loaded with acquire by lookups
                                       and rendering */
    uint32_t cap;                   /* named slots */
    size_t width;                   /* longest accepted name, <= LABEL_MAX */
    char (*names)[LABEL_MAX + 1];   /* cap names, inside the registry */
} labels;

/* A latency histogram: non-cumulative buckets as cowcat_histogram's. */
typedef struct hist {
    _Atomic uint64_t buckets[COWCAT_HIST_BUCKETS]; /* relaxed adds; v <= bound */
    _Atomic uint64_t sum_ns;                       /* relaxed adds */
} hist;

struct srv_metrics {
    labels kinds;                              /* statement kinds */
    labels states;                             /* SQLSTATEs of errors */
    labels reasons;                            /* connection rejection reasons */
    hist kind_hist[KINDS_MAX + 1];             /* per kinds slot */
    _Atomic uint64_t state_count[STATES_MAX + 1];   /* per states slot */
    _Atomic uint64_t reason_count[REASONS_MAX + 1]; /* per reasons slot */
    _Atomic int64_t conns_open;                /* opened - closed; relaxed */
    _Atomic uint64_t conns_total;              /* accepted; relaxed */
    char kind_names[KINDS_MAX][LABEL_MAX + 1];
    char state_names[STATES_MAX][LABEL_MAX + 1];
    char reason_names[REASONS_MAX][LABEL_MAX + 1];
};

/* --- label tables ------------------------------------------------------------------------ */

static void
labels_init(labels *t, char (*names)[LABEL_MAX + 1], uint32_t cap, size_t width)
{
    pthread_mutex_init(&t->grow, NULL);
    atomic_init(&t->n, 0);
    t->cap = cap;
    t->width = width;
    t->names = names;
}

/*
 * Copies raw (may be NULL) sanitized into buf (LABEL_MAX + 1 bytes).
 * Returns false if raw is NULL, empty or longer than width.
 */
static bool
sanitize(const char *raw, size_t width, char *buf)
{
    if (raw == NULL)
        return false;
    size_t i = 0;
    for (; raw[i] != '\0'; i++) {
        if (i == width)
            return false;
        unsigned char ch = (unsigned char)raw[i];
        buf[i] = (ch == '\n' || (ch >= 0x20 && ch < 0x7f)) ? (char)ch : '?';
    }
    buf[i] = '\0';
    return i > 0;
}

/* The slot of raw in t, appending it if new; t->cap ("other") if it does not fit. */
static uint32_t
labels_slot(labels *t, const char *raw)
{
    char name[LABEL_MAX + 1];
    if (!sanitize(raw, t->width, name) || strcmp(name, "other") == 0)
        return t->cap;
    /* Pairs with the release store below: names[0..n) are complete. */
    uint32_t n = atomic_load_explicit(&t->n, memory_order_acquire);
    for (uint32_t i = 0; i < n; i++)
        if (strcmp(t->names[i], name) == 0)
            return i;
    pthread_mutex_lock(&t->grow);
    uint32_t now = atomic_load_explicit(&t->n, memory_order_relaxed); /* writers hold grow */
    uint32_t slot = t->cap;
    for (uint32_t i = n; i < now; i++)
        if (strcmp(t->names[i], name) == 0) {
            slot = i;
            break;
        }
    if (slot == t->cap && now < t->cap) {
        memcpy(t->names[now], name, strlen(name) + 1);
        /* Pairs with the acquire loads in labels_slot and rendering. */
        atomic_store_explicit(&t->n, now + 1, memory_order_release);
        slot = now;
    }
    pthread_mutex_unlock(&t->grow);
    return slot;
}

/* Published names of t (acquire: pairs with labels_slot's release store). */
static uint32_t
labels_count(labels *t)
{
    return atomic_load_explicit(&t->n, memory_order_acquire);
}

/* --- the registry ------------------------------------------------------------------------ */

cc_code
srv_metrics_new(srv_metrics **out, cc_err *err)
{
    *out = NULL;
    srv_metrics *m = cc_calloc(1, sizeof *m);
    if (m == NULL)
        return cc_err_set(err, CC_NOMEM, "out of memory creating the metrics registry");
    labels_init(&m->kinds, m->kind_names, KINDS_MAX, LABEL_MAX);
    labels_init(&m->states, m->state_names, STATES_MAX, 5);
    labels_init(&m->reasons, m->reason_names, REASONS_MAX, LABEL_MAX);
    *out = m;
    return CC_OK;
}

void
srv_metrics_free(srv_metrics *m)
{
    if (m == NULL)
        return;
    pthread_mutex_destroy(&m->kinds.grow);
    pthread_mutex_destroy(&m->states.grow);
    pthread_mutex_destroy(&m->reasons.grow);
    cc_free(m);
}

/* seconds as whole nanoseconds: NaN and negatives count as 0, huge values saturate. */
static uint64_t
seconds_to_ns(double seconds)
{
    if (!(seconds > 0))
        return 0;
    double ns = seconds * 1e9;
    if (ns >= 18446744073709549568.0) /* the largest double below 2^64 */
        return UINT64_MAX;
    return (uint64_t)llround(ns);
}

/* True if sqlstate is five characters of [0-9A-Z], PostgreSQL's SQLSTATE alphabet. */
static bool
is_sqlstate(const char *s)
{
    for (int i = 0; i < 5; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'Z')))
            return false;
    return s[5] == '\0';
}

void
srv_metrics_statement(srv_metrics *m, const char *kind, double seconds, const char *sqlstate)
{
    CC_ASSERT(m != NULL);
    hist *h = &m->kind_hist[labels_slot(&m->kinds, kind)];
    uint64_t ns = seconds_to_ns(seconds);
    const uint64_t *bounds = cowcat_duration_bounds();
    size_t i = 0;
    while (i < NBOUNDS && ns > bounds[i])
        i++;
    atomic_fetch_add_explicit(&h->buckets[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum_ns, ns, memory_order_relaxed);
    if (sqlstate != NULL) {
        uint32_t slot = is_sqlstate(sqlstate) ? labels_slot(&m->states, sqlstate) : m->states.cap;
        atomic_fetch_add_explicit(&m->state_count[slot], 1, memory_order_relaxed);
    }
}

void
srv_metrics_connection_opened(srv_metrics *m)
{
    CC_ASSERT(m != NULL);
    atomic_fetch_add_explicit(&m->conns_open, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->conns_total, 1, memory_order_relaxed);
}

void
srv_metrics_connection_closed(srv_metrics *m)
{
    CC_ASSERT(m != NULL);
    atomic_fetch_sub_explicit(&m->conns_open, 1, memory_order_relaxed);
}

void
srv_metrics_connection_rejected(srv_metrics *m, const char *reason)
{
    CC_ASSERT(m != NULL);
    uint32_t slot = labels_slot(&m->reasons, reason);
    atomic_fetch_add_explicit(&m->reason_count[slot], 1, memory_order_relaxed);
}

/* --- rendering ----------------------------------------------------------------------------- */

/* A growing output string; oom latches the first allocation failure. */
typedef struct sbuf {
    char *p;    /* NUL-terminated text, or NULL before the first append */
    size_t len; /* bytes before the NUL */
    size_t cap; /* bytes allocated */
    bool oom;   /* an append failed: the text is incomplete */
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Makes room for need more bytes plus the NUL; false (and oom) on failure. */
static bool
sb_reserve(sbuf *b, size_t need)
{
    if (b->oom)
        return false;
    if (b->len + need + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + need + 1)
        cap *= 2;
    char *p = cc_realloc(b->p, cap);
    if (p == NULL) {
        b->oom = true;
        return false;
    }
    b->p = p;
    b->cap = cap;
    return true;
}

static void
sb_printf(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !sb_reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* Appends s as a label value: backslash, double quote and newline escaped. */
static void
sb_label_value(sbuf *b, const char *s)
{
    if (!sb_reserve(b, 2 * strlen(s)))
        return;
    for (; *s != '\0'; s++) {
        if (*s == '\\' || *s == '"') {
            b->p[b->len++] = '\\';
            b->p[b->len++] = *s;
        } else if (*s == '\n') {
            b->p[b->len++] = '\\';
            b->p[b->len++] = 'n';
        } else {
            b->p[b->len++] = *s;
        }
    }
    b->p[b->len] = '\0';
}

/* The shortest %g form of v that reads back as v (Go's FormatFloat 'g', -1), into buf. */
static void
fmt_float(double v, char *buf, size_t n)
{
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, n, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

static void
put_family(sbuf *b, const char *name, const char *type, const char *help)
{
    sb_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One sample: name{label="value"} v (label NULL: no labels). */
static void
put_sample(sbuf *b, const char *name, const char *label, const char *value, uint64_t v)
{
    if (label == NULL) {
        sb_printf(b, "%s %" PRIu64 "\n", name, v);
        return;
    }
    sb_printf(b, "%s{%s=\"", name, label);
    sb_label_value(b, value);
    sb_printf(b, "\"} %" PRIu64 "\n", v);
}

/*
 * One histogram series from non-cumulative buckets (COWCAT_HIST_BUCKETS, the
 * last unbounded) with finite upper bounds bounds[i] / unit and a sum of
 * sum / unit (unit 1e9 turns nanoseconds into seconds; dividing, rather
 * than multiplying by 1e-9, gives the double nearest to the decimal value,
 * so 1000 ns prints as le="1e-06"): cumulative _bucket lines, +Inf, _sum and
 * _count (= +Inf).
 * label NULL: the series has no labels but le.
 */
static void
put_histogram(sbuf *b, const char *name, const char *label, const char *value,
              const uint64_t *buckets, const uint64_t *bounds, double unit, uint64_t sum)
{
    char num[32];
    uint64_t cum = 0;
    for (int i = 0; i < COWCAT_HIST_BUCKETS; i++) {
        cum += buckets[i];
        if (i < NBOUNDS)
            fmt_float((double)bounds[i] / unit, num, sizeof num);
        else
            memcpy(num, "+Inf", 5);
        sb_printf(b, "%s_bucket{", name);
        if (label != NULL) {
            sb_printf(b, "%s=\"", label);
            sb_label_value(b, value);
            sb_printf(b, "\",");
        }
        sb_printf(b, "le=\"%s\"} %" PRIu64 "\n", num, cum);
    }
    fmt_float((double)sum / unit, num, sizeof num);
    const char *tails[2] = {"_sum", "_count"};
    for (int t = 0; t < 2; t++) {
        sb_printf(b, "%s%s", name, tails[t]);
        if (label != NULL) {
            sb_printf(b, "{%s=\"", label);
            sb_label_value(b, value);
            sb_printf(b, "\"}");
        }
        if (t == 0)
            sb_printf(b, " %s\n", num);
        else
            sb_printf(b, " %" PRIu64 "\n", cum);
    }
}

/* The histogram of kinds slot i, named name. */
static void
put_kind_hist(srv_metrics *m, sbuf *b, uint32_t i, const char *name)
{
    hist *h = &m->kind_hist[i];
    uint64_t buckets[COWCAT_HIST_BUCKETS];
    for (int j = 0; j < COWCAT_HIST_BUCKETS; j++)
        buckets[j] = atomic_load_explicit(&h->buckets[j], memory_order_relaxed);
    uint64_t sum = atomic_load_explicit(&h->sum_ns, memory_order_relaxed);
    put_histogram(b, "cowcat_statement_duration_seconds", "kind", name, buckets,
                  cowcat_duration_bounds(), 1e9, sum);
}

static void
render_registry(srv_metrics *m, sbuf *b)
{
    put_family(b, "cowcat_statement_duration_seconds", "histogram",
               "Wall time of statements in the server, by command.");
    uint32_t nk = labels_count(&m->kinds);
    for (uint32_t i = 0; i < nk; i++)
        put_kind_hist(m, b, i, m->kind_names[i]);
    uint64_t other = 0;
    for (int j = 0; j < COWCAT_HIST_BUCKETS; j++)
        other += atomic_load_explicit(&m->kind_hist[KINDS_MAX].buckets[j], memory_order_relaxed);
    if (other > 0)
        put_kind_hist(m, b, KINDS_MAX, "other");

    put_family(b, "cowcat_errors_total", "counter", "Statements that failed, by SQLSTATE.");
    uint32_t ns = labels_count(&m->states);
    for (uint32_t i = 0; i < ns; i++)
        put_sample(b, "cowcat_errors_total", "sqlstate", m->state_names[i],
                   atomic_load_explicit(&m->state_count[i], memory_order_relaxed));
    other = atomic_load_explicit(&m->state_count[STATES_MAX], memory_order_relaxed);
    if (other > 0)
        put_sample(b, "cowcat_errors_total", "sqlstate", "other", other);

    put_family(b, "cowcat_connections", "gauge", "Client connections open now.");
    int64_t nopen = atomic_load_explicit(&m->conns_open, memory_order_relaxed);
    put_sample(b, "cowcat_connections", NULL, NULL, nopen > 0 ? (uint64_t)nopen : 0);
    put_family(b, "cowcat_connections_total", "counter", "Client connections accepted.");
    put_sample(b, "cowcat_connections_total", NULL, NULL,
               atomic_load_explicit(&m->conns_total, memory_order_relaxed));
    put_family(b, "cowcat_connections_rejected_total", "counter",
               "Client connections refused, by reason.");
    uint32_t nr = labels_count(&m->reasons);
    for (uint32_t i = 0; i < nr; i++)
        put_sample(b, "cowcat_connections_rejected_total", "reason", m->reason_names[i],
                   atomic_load_explicit(&m->reason_count[i], memory_order_relaxed));
    other = atomic_load_explicit(&m->reason_count[REASONS_MAX], memory_order_relaxed);
    if (other > 0)
        put_sample(b, "cowcat_connections_rejected_total", "reason", "other", other);
}

static void
render_stats(cowcat *db, sbuf *b)
{
    cowcat_stats st;
    cowcat_stats_get(db, &st);
    static const struct {
        const char *name, *type, *help;
    } scalars[] = {
        {"cowcat_statements_total", "counter", "Statements executed by the engine."},
        {"cowcat_ddl_total", "counter", "DDL statements that committed."},
        {"cowcat_commits_total", "counter", "Durable commits (one per group or block)."},
        {"cowcat_group_commits_total", "counter", "Group commits of single statements."},
        {"cowcat_group_commit_max", "gauge", "Largest group commit so far (statements)."},
    };
    const uint64_t values[] = {st.statements, st.ddl, st.commits, st.groups, st.max_group};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        put_family(b, scalars[i].name, scalars[i].type, scalars[i].help);
        put_sample(b, scalars[i].name, NULL, NULL, values[i]);
    }
    put_family(b, "cowcat_ddl_phase_duration_seconds", "histogram",
               "Time DDL statements spend in each engine phase.");
    for (int p = 0; p < COWCAT_NPHASES; p++)
        put_histogram(b, "cowcat_ddl_phase_duration_seconds", "phase",
                      cowcat_phase_name((cowcat_phase)p), st.phase[p].buckets,
                      cowcat_duration_bounds(), 1e9, st.phase[p].sum);
    put_family(b, "cowcat_group_commit_size", "histogram", "Statements per group commit.");
    put_histogram(b, "cowcat_group_commit_size", NULL, NULL, st.group_size.buckets,
                  cowcat_group_size_bounds(), 1.0, st.group_size.sum);
}

/* Object kinds in cowcat_kind order, named as cowcat_object.kind_name names them. */
static const char *const kind_names[] = {
    "database", "schema", "table", "view", "materialized view", "index", "type", "role", "cluster",
};
CC_STATIC_ASSERT(sizeof kind_names / sizeof kind_names[0] == COWCAT_KIND_CLUSTER + 1,
                 "one name per cowcat_kind");

static cc_code
render_objects(cowcat_session *s, sbuf *b, cc_err *err)
{
    cowcat_snapshot *snap;
    cowcat_error e;
    if (cowcat_snapshot_open(s, &snap, &e) != COWCAT_OK)
        return cc_err_set_state(err, (cc_code)e.code, e.sqlstate, "%s", e.message);
    put_family(b, "cowcat_objects", "gauge", "Catalog objects, by kind.");
    for (size_t k = 0; k < sizeof kind_names / sizeof kind_names[0]; k++)
        put_sample(b, "cowcat_objects", "kind", kind_names[k],
                   cowcat_snapshot_count(snap, (cowcat_kind)k));
    cowcat_snapshot_close(snap);
    return CC_OK;
}

cc_code
srv_metrics_render(srv_metrics *m, cowcat *db, cowcat_session *s, char **out, cc_err *err)
{
    *out = NULL;
    sbuf b = {0};
    cc_code rc = CC_OK;
    render_registry(m, &b);
    if (db != NULL)
        render_stats(db, &b);
    if (s != NULL)
        rc = render_objects(s, &b, err);
    if (rc == CC_OK && (b.oom || !sb_reserve(&b, 0)))
        rc = cc_err_set(err, CC_NOMEM, "out of memory rendering metrics");
    if (rc != CC_OK) {
        cc_free(b.p);
        return rc;
    }
    *out = b.p;
    return CC_OK;
}
