/*
 * server/src/extended.c — the extended query protocol: Parse, Bind,
 * Describe, Execute and Close over prepared statements and portals.
 *
 * Parameters ($1, $2, ...) are bound in text format by substituting
 * literals into the statement's text at the positions of its PARAM tokens
 * (found once, at Parse, with libpg_query's scanner, so a "$1" inside a
 * string, comment or dollar-quoted body is never touched): NULL for a NULL
 * value, the number itself for a numeric parameter type whose value is a
 * plain number, otherwise a quoted string literal ('' doubled; with
 * standard_conforming_strings on, backslashes are literal). The catalog
 * engine then parses the result like any statement, so a parameter is
 * exactly as safe as a quoted literal. Binary formats are refused (0A000).
 *
 * Describe needs the result columns before Execute. A statement that
 * returns rows (SELECT, SHOW, WITH, VALUES, TABLE — cowcat runs no DML, so
 * these are reads) is run at Describe: a statement with its parameters as
 * NULL just far enough to see its columns; a portal fully, its rows
 * buffered for Execute. Anything else answers NoData and runs at Execute.
 *
 * Transactions: each Execute outside BEGIN ... COMMIT commits on its own
 * (PostgreSQL instead groups the messages up to Sync into one implicit
 * transaction); inside a block, statements commit with the block.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <pg_query.h>
#include <pg_query/pg_query.pb-c.h>

#include "base/alloc.h"
#include "internal.h"

#define SRV_MAX_PARAMS 65535

/* The scan of a statement: its parameter references and whether it holds several statements. */
typedef struct scan_info {
    param_ref *refs;
    size_t nrefs;
    int max_param;
    bool several; /* a token follows a ';' */
    bool empty;   /* no token at all */
} scan_info;

/* --- helpers ----------------------------------------------------------------------------- */

bool
srv__returns_rows(const char *sql)
{
    static const char *const words[] = {"select", "show", "with", "values", "table"};
    const char *p = sql;
    for (;;) { /* skip blanks, comments and opening parentheses */
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '(')
            p++;
        if (p[0] == '-' && p[1] == '-') {
            while (*p && *p != '\n')
                p++;
        } else if (p[0] == '/' && p[1] == '*') {
            int depth = 0;
            do {
                if (p[0] == '/' && p[1] == '*')
                    depth++, p += 2;
                else if (p[0] == '*' && p[1] == '/')
                    depth--, p += 2;
                else
                    p++;
            } while (*p && depth > 0);
        } else {
            break;
        }
    }
    for (size_t i = 0; i < sizeof words / sizeof *words; i++) {
        size_t n = strlen(words[i]);
        if (strncasecmp(p, words[i], n) == 0 && !isalnum((unsigned char)p[n]) && p[n] != '_')
            return true;
    }
    return false;
}

/* Scans sql for PARAM tokens and statement separators. Errors: NOMEM. */
static cc_code
scan(const char *sql, scan_info *out, cc_err *err)
{
    memset(out, 0, sizeof *out);
    PgQueryScanResult r = pg_query_scan(sql);
    if (r.error != NULL) { /* the engine reports the syntax error at Execute */
        pg_query_free_scan_result(r);
        return CC_OK;
    }
    PgQuery__ScanResult *t =
        pg_query__scan_result__unpack(NULL, r.pbuf.len, (const uint8_t *)r.pbuf.data);
    pg_query_free_scan_result(r);
    if (t == NULL)
        return cc_err_set(err, CC_NOMEM, "out of memory scanning a statement");
    out->empty = true;
    bool after_semicolon = false;
    size_t nparam = 0;
    for (size_t i = 0; i < t->n_tokens; i++) {
        const PgQuery__ScanToken *k = t->tokens[i];
        if (k->token == PG_QUERY__TOKEN__SQL_COMMENT || k->token == PG_QUERY__TOKEN__C_COMMENT)
            continue;
        if (k->token == PG_QUERY__TOKEN__ASCII_59) {
            after_semicolon = true;
            continue;
        }
        if (after_semicolon)
            out->several = true;
        out->empty = false;
        if (k->token == PG_QUERY__TOKEN__PARAM)
            nparam++;
    }
    if (nparam > 0) {
        out->refs = cc_calloc(nparam, sizeof *out->refs);
        if (out->refs == NULL) {
            pg_query__scan_result__free_unpacked(t, NULL);
            return cc_err_set(err, CC_NOMEM, "out of memory scanning a statement");
        }
        for (size_t i = 0; i < t->n_tokens; i++) {
            const PgQuery__ScanToken *k = t->tokens[i];
            if (k->token != PG_QUERY__TOKEN__PARAM)
                continue;
            long num = strtol(sql + k->start + 1, NULL, 10);
            param_ref *pr = &out->refs[out->nrefs++];
            pr->start = k->start;
            pr->end = k->end;
            pr->number = num > 0 && num <= SRV_MAX_PARAMS ? (int)num : 0;
            if (pr->number > out->max_param)
                out->max_param = pr->number;
        }
    }
    pg_query__scan_result__free_unpacked(t, NULL);
    return CC_OK;
}

static srv_stmt *
find_stmt(srv_conn *c, const char *name)
{
    for (srv_stmt *s = c->stmts; s != NULL; s = s->next)
        if (strcmp(s->name, name) == 0)
            return s;
    return NULL;
}

static srv_portal *
find_portal(srv_conn *c, const char *name)
{
    for (srv_portal *p = c->portals; p != NULL; p = p->next)
        if (strcmp(p->name, name) == 0)
            return p;
    return NULL;
}

static void
free_stmt(srv_stmt *s)
{
    cc_free(s->name);
    cc_free(s->sql);
    cc_free(s->types);
    cc_free(s->refs);
    cc_free(s);
}

static void
free_portal(srv_portal *p)
{
    cc_free(p->name);
    cc_free(p->sql);
    pgw_buf_fini(&p->rows);
    pgw_buf_fini(&p->notices);
    cc_free(p->row_end);
    cc_free(p);
}

static void
drop_stmt(srv_conn *c, const char *name)
{
    for (srv_stmt **p = &c->stmts; *p != NULL; p = &(*p)->next)
        if (strcmp((*p)->name, name) == 0) {
            srv_stmt *s = *p;
            *p = s->next;
            free_stmt(s);
            return;
        }
}

static void
drop_portal(srv_conn *c, const char *name)
{
    for (srv_portal **p = &c->portals; *p != NULL; p = &(*p)->next)
        if (strcmp((*p)->name, name) == 0) {
            srv_portal *q = *p;
            *p = q->next;
            free_portal(q);
            return;
        }
}

void
srv__drop_unnamed_portal(srv_conn *c)
{
    drop_portal(c, "");
}

void
srv__extended_reset(srv_conn *c)
{
    while (c->stmts != NULL) {
        srv_stmt *s = c->stmts;
        c->stmts = s->next;
        free_stmt(s);
    }
    while (c->portals != NULL) {
        srv_portal *p = c->portals;
        c->portals = p->next;
        free_portal(p);
    }
}

/* An error in extended mode: reported, and every message up to Sync is ignored. */
static bool
ext_engine_error(srv_conn *c, const cowcat_error *e)
{
    srv__send_error(c, "ERROR", e);
    srv_metrics_statement(c->srv->metrics, "error", 0, e->sqlstate);
    c->skip_to_sync = true;
    return true;
}

/* ext_engine_error with a formatted message. */
static bool
ext_error(srv_conn *c, const char *sqlstate, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool
ext_error(srv_conn *c, const char *sqlstate, const char *fmt, ...)
{
    cowcat_error e;
    va_list ap;
    va_start(ap, fmt);
    srv__error_v(&e, sqlstate, fmt, ap);
    va_end(ap);
    return ext_engine_error(c, &e);
}


static void
put_empty(pgw_buf *b, char type)
{
    pgw_msg_begin(b, type);
    pgw_msg_end(b);
}

/* --- Parse ----------------------------------------------------------------------------- */

static bool
parse_msg(srv_conn *c, const char *body, size_t n)
{
    pgw_reader r;
    pgw_reader_init(&r, body, n);
    const char *name, *sql;
    int16_t ntypes;
    if (!pgw_get_str(&r, &name) || !pgw_get_str(&r, &sql) || !pgw_get_i16(&r, &ntypes) ||
        ntypes < 0)
        return ext_error(c, "08P01", "invalid Parse message");
    const char *types_at = NULL;
    if (!pgw_get_bytes(&r, (size_t)ntypes * 4, &types_at) || !pgw_reader_done(&r))
        return ext_error(c, "08P01", "invalid Parse message");
    if (name[0] != '\0' && find_stmt(c, name) != NULL)
        return ext_error(c, "42P05", "prepared statement \"%s\" already exists", name);
    scan_info si;
    cc_err e;
    cc_err_clear(&e);
    if (scan(sql, &si, &e) != CC_OK)
        return ext_error(c, "53200", "out of memory");
    if (si.several) {
        cc_free(si.refs);
        return ext_error(c, "42601", "cannot insert multiple commands into a prepared statement");
    }
    for (size_t i = 0; i < si.nrefs; i++)
        if (si.refs[i].number == 0) {
            param_ref bad = si.refs[i]; /* the message needs it after the free */
            cc_free(si.refs);
            return ext_error(c, "42P02", "there is no parameter $%.*s", bad.end - bad.start - 1,
                             sql + bad.start + 1);
        }
    srv_stmt *s = cc_calloc(1, sizeof *s);
    int np = si.max_param > ntypes ? si.max_param : ntypes;
    if (s == NULL || (s->name = cc_strdup(name)) == NULL || (s->sql = cc_strdup(sql)) == NULL ||
        (np > 0 && (s->types = cc_calloc((size_t)np, sizeof *s->types)) == NULL)) {
        cc_free(si.refs);
        if (s != NULL)
            free_stmt(s);
        return ext_error(c, "53200", "out of memory");
    }
    s->nparams = np;
    for (int i = 0; i < ntypes; i++) {
        uint32_t be;
        memcpy(&be, types_at + 4 * i, 4);
        s->types[i] = __builtin_bswap32(be);
    }
    s->refs = si.refs;
    s->nrefs = si.nrefs;
    s->returns_rows = srv__returns_rows(sql);
    s->empty = si.empty;
    drop_stmt(c, name); /* the unnamed statement is replaced */
    s->next = c->stmts;
    c->stmts = s;
    put_empty(&c->out, '1'); /* ParseComplete */
    return true;
}

/* --- Bind ------------------------------------------------------------------------------ */

/* Whether a numeric parameter's text is a plain number that can go in unquoted. */
static bool
plain_number(const char *v, size_t n)
{
    size_t i = 0, digits = 0;
    if (i < n && (v[i] == '+' || v[i] == '-'))
        i++;
    while (i < n && isdigit((unsigned char)v[i]))
        i++, digits++;
    if (i < n && v[i] == '.') {
        i++;
        while (i < n && isdigit((unsigned char)v[i]))
            i++, digits++;
    }
    if (digits == 0)
        return false;
    if (i < n && (v[i] == 'e' || v[i] == 'E')) {
        i++;
        if (i < n && (v[i] == '+' || v[i] == '-'))
            i++;
        size_t exp = 0;
        while (i < n && isdigit((unsigned char)v[i]))
            i++, exp++;
        if (exp == 0)
            return false;
    }
    return i == n;
}

static bool
numeric_type(uint32_t oid)
{
    return oid == 20 || oid == 21 || oid == 23 || oid == 26 || oid == 700 || oid == 701 ||
           oid == 1700;
}

/* Appends to a growing string. */
typedef struct sbuf {
    char *p;
    size_t len, cap;
    bool failed;
} sbuf;

static void
sb_put(sbuf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *q = cc_realloc(b->p, cap);
        if (q == NULL) {
            b->failed = true;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

/* One bound value: NULL (len < 0) or len bytes at v. */
typedef struct bound {
    const char *v;
    int32_t len;
} bound;

/* s's text with every $n replaced by the literal of values[n-1]; NULL: out of memory. */
static char *
substitute(const srv_stmt *s, const bound *values)
{
    sbuf b = {0};
    int at = 0;
    for (size_t i = 0; i < s->nrefs; i++) {
        const param_ref *pr = &s->refs[i];
        sb_put(&b, s->sql + at, (size_t)(pr->start - at));
        const bound *v = &values[pr->number - 1];
        if (v->len < 0) {
            sb_put(&b, "NULL", 4);
        } else if (numeric_type(s->types[pr->number - 1]) && plain_number(v->v, (size_t)v->len)) {
            /* A negative number in parentheses: 2-$1 must not become the comment 2--1.
             * Others bare, so they also fit where the grammar wants a literal (SET x = $1). */
            bool negative = v->v[0] == '-';
            if (negative)
                sb_put(&b, "(", 1);
            sb_put(&b, v->v, (size_t)v->len);
            if (negative)
                sb_put(&b, ")", 1);
        } else {
            sb_put(&b, "'", 1);
            const char *p = v->v, *end = v->v + v->len;
            while (p < end) {
                const char *q = memchr(p, '\'', (size_t)(end - p));
                size_t k = q != NULL ? (size_t)(q - p) + 1 : (size_t)(end - p);
                sb_put(&b, p, k);
                if (q != NULL)
                    sb_put(&b, "'", 1);
                p += k;
            }
            sb_put(&b, "'", 1);
        }
        at = pr->end;
    }
    sb_put(&b, s->sql + at, strlen(s->sql + at));
    if (b.failed) {
        cc_free(b.p);
        return NULL;
    }
    if (b.p == NULL)
        return cc_strdup("");
    return b.p;
}

static bool
bind_msg(srv_conn *c, const char *body, size_t n)
{
    pgw_reader r;
    pgw_reader_init(&r, body, n);
    const char *portal, *name;
    int16_t nformats, nvalues, nresult;
    if (!pgw_get_str(&r, &portal) || !pgw_get_str(&r, &name) || !pgw_get_i16(&r, &nformats) ||
        nformats < 0)
        return ext_error(c, "08P01", "invalid Bind message");
    for (int i = 0; i < nformats; i++) {
        int16_t f;
        if (!pgw_get_i16(&r, &f))
            return ext_error(c, "08P01", "invalid Bind message");
        if (f != 0)
            return ext_error(c, "0A000", "binary format parameters are not supported");
    }
    if (!pgw_get_i16(&r, &nvalues) || nvalues < 0)
        return ext_error(c, "08P01", "invalid Bind message");
    srv_stmt *s = find_stmt(c, name);
    if (s == NULL)
        return ext_error(c, "26000", "prepared statement \"%s\" does not exist", name);
    if (nformats > 1 && nformats != nvalues)
        return ext_error(c, "08P01", "bind message has %d parameter formats but %d parameters",
                         nformats, nvalues);
    if (nvalues != s->nparams)
        return ext_error(c, "08P01",
                         "bind message supplies %d parameters, but prepared statement \"%s\" "
                         "requires %d",
                         nvalues, name, s->nparams);
    bound *values = nvalues > 0 ? cc_calloc((size_t)nvalues, sizeof *values) : NULL;
    if (nvalues > 0 && values == NULL)
        return ext_error(c, "53200", "out of memory");
    bool ok = true;
    for (int i = 0; i < nvalues && ok; i++) {
        int32_t len;
        ok = pgw_get_i32(&r, &len) && len >= -1;
        values[i].len = len;
        if (ok && len >= 0)
            ok = pgw_get_bytes(&r, (size_t)len, &values[i].v);
        if (ok && len > 0 && memchr(values[i].v, '\0', (size_t)len) != NULL) {
            cc_free(values);
            return ext_error(c, "22021", "invalid byte sequence for encoding \"UTF8\": 0x00");
        }
    }
    ok = ok && pgw_get_i16(&r, &nresult) && nresult >= 0;
    for (int i = 0; ok && i < nresult; i++) {
        int16_t f;
        ok = pgw_get_i16(&r, &f);
        if (ok && f != 0) {
            cc_free(values);
            return ext_error(c, "0A000", "binary format results are not supported");
        }
    }
    if (!ok || !pgw_reader_done(&r)) {
        cc_free(values);
        return ext_error(c, "08P01", "invalid Bind message");
    }
    if (portal[0] != '\0' && find_portal(c, portal) != NULL) {
        cc_free(values);
        return ext_error(c, "42P03", "cursor \"%s\" already exists", portal);
    }
    srv_portal *p = cc_calloc(1, sizeof *p);
    char *sql = substitute(s, values);
    cc_free(values);
    if (p == NULL || sql == NULL || (p->name = cc_strdup(portal)) == NULL) {
        cc_free(sql);
        if (p != NULL)
            free_portal(p);
        return ext_error(c, "53200", "out of memory");
    }
    p->sql = sql;
    p->returns_rows = s->returns_rows;
    p->empty = s->empty;
    pgw_buf_init(&p->rows);
    pgw_buf_init(&p->notices);
    drop_portal(c, portal);
    p->next = c->portals;
    c->portals = p;
    put_empty(&c->out, '2'); /* BindComplete */
    return true;
}

/* --- running a portal ------------------------------------------------------------------- */

/* Callbacks of a portal run: RowDescription to the connection (if wanted), rows buffered. */
typedef struct portal_run {
    srv_conn *c;
    srv_portal *p;
    bool describe; /* send RowDescription */
    bool columns_only; /* stop at the columns (Describe of a statement) */
    bool saw_columns;
    size_t cap_rows;
} portal_run;

static int
run_columns(void *arg, const cowcat_column *cols, size_t n)
{
    portal_run *run = arg;
    if (run->describe && !run->saw_columns)
        srv__row_description(&run->c->out, cols, n);
    run->saw_columns = true;
    return run->columns_only ? 1 : 0;
}

static int
run_row(void *arg, const char *const *values, size_t n)
{
    portal_run *run = arg;
    srv_portal *p = run->p;
    if (p->nrows == run->cap_rows) {
        size_t cap = run->cap_rows ? 2 * run->cap_rows : 64;
        size_t *q = cc_realloc(p->row_end, cap * sizeof *q);
        if (q == NULL)
            return 1;
        p->row_end = q;
        run->cap_rows = cap;
    }
    srv__data_row(&p->rows, values, n);
    if (p->rows.failed)
        return 1;
    p->row_end[p->nrows++] = p->rows.len;
    return 0;
}

static void
run_complete(void *arg, const char *tag)
{
    portal_run *run = arg;
    snprintf(run->p->tag, sizeof run->p->tag, "%s", tag);
}

static void
run_notice(void *arg, const cowcat_error *n)
{
    portal_run *run = arg;
    srv__send_notice(&run->p->notices, n);
}

/* Runs p to the end, buffering rows, tag, notices and the outcome. */
static void
run_portal(srv_conn *c, srv_portal *p, bool describe)
{
    static const cowcat_callbacks cb = {run_columns, run_row, run_complete, run_notice};
    portal_run run = {.c = c, .p = p, .describe = describe};
    p->rc = cowcat_exec(c->session, p->sql, &cb, &run, &p->err);
    p->ran = true;
    if (p->rc != COWCAT_OK)
        srv__statement_failed(c->srv, c->pid, p->rc);
    if (p->rc == COWCAT_OK && (p->rows.failed || p->notices.failed)) {
        memset(&p->err, 0, sizeof p->err);
        p->rc = COWCAT_NOMEM;
        snprintf(p->err.sqlstate, sizeof p->err.sqlstate, "53200");
        snprintf(p->err.message, sizeof p->err.message, "out of memory");
    }
    if (describe && p->rc == COWCAT_OK && !run.saw_columns)
        put_empty(&c->out, 'n'); /* NoData: e.g. SHOW of something without rows */
}

/* --- Describe ---------------------------------------------------------------------------- */

static bool
describe_msg(srv_conn *c, const char *body, size_t n)
{
    pgw_reader r;
    pgw_reader_init(&r, body, n);
    const char *what, *name;
    if (!pgw_get_bytes(&r, 1, &what) || !pgw_get_str(&r, &name) || !pgw_reader_done(&r))
        return ext_error(c, "08P01", "invalid Describe message");
    if (*what == 'S') {
        srv_stmt *s = find_stmt(c, name);
        if (s == NULL)
            return ext_error(c, "26000", "prepared statement \"%s\" does not exist", name);
        pgw_msg_begin(&c->out, 't'); /* ParameterDescription */
        pgw_put_i16(&c->out, (int16_t)s->nparams);
        for (int i = 0; i < s->nparams; i++)
            pgw_put_i32(&c->out, (int32_t)(s->types[i] != 0 ? s->types[i] : 25));
        pgw_msg_end(&c->out);
        if (!s->returns_rows) {
            put_empty(&c->out, 'n');
            return true;
        }
        /* Run it with NULL parameters just far enough to see its columns. */
        bound *nulls = s->nparams > 0 ? cc_calloc((size_t)s->nparams, sizeof *nulls) : NULL;
        if (s->nparams > 0 && nulls == NULL)
            return ext_error(c, "53200", "out of memory");
        for (int i = 0; i < s->nparams; i++)
            nulls[i].len = -1;
        srv_portal probe = {.sql = substitute(s, nulls)};
        cc_free(nulls);
        if (probe.sql == NULL)
            return ext_error(c, "53200", "out of memory");
        pgw_buf_init(&probe.rows);
        pgw_buf_init(&probe.notices);
        static const cowcat_callbacks cb = {run_columns, NULL, NULL, NULL};
        portal_run run = {.c = c, .p = &probe, .describe = true, .columns_only = true};
        cowcat_error e;
        cowcat_code rc = cowcat_exec(c->session, probe.sql, &cb, &run, &e);
        cc_free(probe.sql);
        pgw_buf_fini(&probe.rows);
        pgw_buf_fini(&probe.notices);
        if (run.saw_columns)
            return true;
        if (rc != COWCAT_OK)
            return ext_engine_error(c, &e);
        put_empty(&c->out, 'n');
        return true;
    }
    if (*what == 'P') {
        srv_portal *p = find_portal(c, name);
        if (p == NULL)
            return ext_error(c, "34000", "portal \"%s\" does not exist", name);
        if (!p->returns_rows) {
            put_empty(&c->out, 'n');
            return true;
        }
        if (!p->ran)
            run_portal(c, p, true);
        if (p->rc != COWCAT_OK)
            return ext_engine_error(c, &p->err);
        return true;
    }
    return ext_error(c, "08P01", "invalid DESCRIBE message subtype %d", (unsigned char)*what);
}

/* --- Execute --------------------------------------------------------------------------- */

static bool
execute_msg(srv_conn *c, const char *body, size_t n)
{
    pgw_reader r;
    pgw_reader_init(&r, body, n);
    const char *name;
    int32_t max_rows;
    if (!pgw_get_str(&r, &name) || !pgw_get_i32(&r, &max_rows) || !pgw_reader_done(&r))
        return ext_error(c, "08P01", "invalid Execute message");
    srv_portal *p = find_portal(c, name);
    if (p == NULL)
        return ext_error(c, "34000", "portal \"%s\" does not exist", name);
    if (p->empty) {
        put_empty(&c->out, 'I'); /* EmptyQueryResponse */
        return true;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    bool fresh = !p->ran;
    if (!p->ran)
        run_portal(c, p, false);
    pgw_put_bytes(&c->out, p->notices.data, p->notices.len);
    pgw_buf_reset(&p->notices);
    if (p->rc != COWCAT_OK)
        return ext_engine_error(c, &p->err);
    size_t end = p->nrows;
    if (max_rows > 0 && p->nrows - p->sent > (size_t)max_rows)
        end = p->sent + (size_t)max_rows;
    size_t from = p->sent > 0 ? p->row_end[p->sent - 1] : 0;
    size_t to = end > 0 ? p->row_end[end - 1] : 0;
    if (to > from) /* rows.data is NULL when nothing was buffered: no offset on it */
        pgw_put_bytes(&c->out, p->rows.data + from, to - from);
    p->sent = end;
    if (end < p->nrows) {
        put_empty(&c->out, 's'); /* PortalSuspended */
        return true;
    }
    pgw_msg_begin(&c->out, 'C');
    pgw_put_str(&c->out, p->tag);
    pgw_msg_end(&c->out);
    if (fresh) {
        clock_gettime(CLOCK_MONOTONIC, &t1);
        char kind[64];
        srv__tag_kind(p->tag, kind, sizeof kind);
        srv_metrics_statement(c->srv->metrics, kind,
                              (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
                              NULL);
    }
    return true;
}

/* --- Close ------------------------------------------------------------------------------ */

static bool
close_msg(srv_conn *c, const char *body, size_t n)
{
    pgw_reader r;
    pgw_reader_init(&r, body, n);
    const char *what, *name;
    if (!pgw_get_bytes(&r, 1, &what) || !pgw_get_str(&r, &name) || !pgw_reader_done(&r))
        return ext_error(c, "08P01", "invalid Close message");
    if (*what == 'S')
        drop_stmt(c, name);
    else if (*what == 'P')
        drop_portal(c, name);
    else
        return ext_error(c, "08P01", "invalid CLOSE message subtype %d", (unsigned char)*what);
    put_empty(&c->out, '3'); /* CloseComplete */
    return true;
}

bool
srv__extended(srv_conn *c, char type, const char *body, size_t n)
{
    switch (type) {
    case 'P':
        return parse_msg(c, body, n);
    case 'B':
        return bind_msg(c, body, n);
    case 'D':
        return describe_msg(c, body, n);
    case 'E':
        return execute_msg(c, body, n);
    case 'C':
        return close_msg(c, body, n);
    default:
        return false;
    }
}
