/*
 * ddl/src/parse.c — libpg_query: splitting a string into statements, parsing
 * one statement into its protobuf tree, deparsing a tree back to SQL.
 *
 * Every statement is parsed on its own (after the scanner split it off), so
 * a syntax error in the third statement of a string does not stop the first
 * two from running, as in PostgreSQL's simple query protocol, and cowcat's
 * SHOW extensions (which PostgreSQL's grammar rejects) can be recognised
 * before parsing.
 *
 * Never call pg_query_exit (LIBS.md): the parser's per-thread memory is
 * released by its own thread-exit destructor.
 *
 * Stack depth. libpg_query turns its tree into protobuf recursively (about
 * 200 bytes of stack per byte of the deepest statement: `1+1+...+1` nests
 * one level per two bytes, and bison bounds only right-nested input), and
 * protobuf-c's unpack and cowcat's own tree walks recurse too. So a
 * statement is parsed on the calling thread only when the worst case fits in
 * half of the stack left there, else on a short-lived thread with a stack
 * sized for it (statements up to COWCAT_MAX_STATEMENT_BYTES); and a parse tree is
 * accepted only when its nesting, measured without recursion on the packed
 * protobuf, stays within DDL_MAX_NESTING and within what the calling
 * thread's stack can walk — otherwise 54001 "stack depth limit exceeded",
 * as PostgreSQL's check_stack_depth says, never a crash.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/stack.h"
#include "internal.h"

/* Stack libpg_query may need per byte of statement text (measured ~170). */
#define DDL_PARSE_STACK_PER_BYTE 256u
#define DDL_PARSE_STACK_BASE (64u << 10)
/* The longest statement parsed on a thread of its own (512 MiB of stack, reserved not touched). */
/* Protobuf nesting levels a parse tree may have (a binary operator is two). */
#define DDL_MAX_NESTING 2000u
/*
 * Operator characters a statement may hold: libpg_query's time grows with
 * the square of a chain's length (0.5 s for 20,000 `+`, 9 s for 100,000),
 * so a long chain is refused before it is parsed.
 */
#define DDL_MAX_OPERATOR_CHARS 16384u
/* Stack cowcat's walks (unpack, planning, deparse) may need per nesting level. */
#define DDL_STACK_PER_LEVEL 2048u
#define DDL_STACK_RESERVE (128u << 10)

/* True if [p, p+n) holds only white space and comments (an empty statement). */
static bool
blank(const char *p, int n)
{
    for (int i = 0; i < n; i++) {
        if (p[i] == '-' && i + 1 < n && p[i + 1] == '-') {
            while (i < n && p[i] != '\n')
                i++;
            continue;
        }
        if (p[i] == '/' && i + 1 < n && p[i + 1] == '*') {
            i += 2;
            while (i + 1 < n && !(p[i] == '*' && p[i + 1] == '/'))
                i++;
            i++;
            continue;
        }
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\n' && p[i] != '\r' && p[i] != ';' &&
            p[i] != '\f' && p[i] != '\v')
            return false;
    }
    return true;
}

/*
 * Length of the dollar-quote tag opening at p ("$$" or "$tag$"), or 0 if p
 * does not open one.
 */
static size_t
dollar_tag(const char *p)
{
    size_t i = 1;
    if (p[i] >= '0' && p[i] <= '9')
        return 0;
    while ((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z') ||
           (p[i] >= '0' && p[i] <= '9') || p[i] == '_' || (unsigned char)p[i] >= 0x80)
        i++;
    return p[i] == '$' ? i + 1 : 0;
}

/*
 * Splits at the semicolons outside string literals ('..', E'..' with
 * backslash escapes), quoted identifiers, dollar quotes and comments (--,
 * nested slash-star), as psql and PostgreSQL's scanner do. libpg_query's
 * scanner-based split is not used: it silently drops statements that do not
 * start with a keyword ("SELEC 1"), which must reach the parser to fail with
 * a syntax error.
 */
cc_code
ddl__split(const char *sql, ddl_stmt_span **spans, size_t *n, cc_err *err)
{
    *spans = NULL;
    *n = 0;
    size_t cap = 4, k = 0;
    ddl_stmt_span *v = cc_malloc(sizeof *v * cap);
    if (v == NULL)
        return cc_err_set(err, CC_NOMEM, "out of memory splitting a query string");
    size_t start = 0, i = 0, len = strlen(sql);
    for (;;) {
        char ch = sql[i];
        bool end = ch == '\0' || ch == ';';
        if (end) {
            if (i > start && !blank(sql + start, (int)(i - start))) {
                if (k == cap) {
                    ddl_stmt_span *w = cc_realloc(v, sizeof *v * cap * 2);
                    if (w == NULL) {
                        cc_free(v);
                        return cc_err_set(err, CC_NOMEM, "out of memory splitting a query string");
                    }
                    v = w;
                    cap *= 2;
                }
                v[k].offset = (int)start;
                /* the ';' stays: "syntax error at or near ";"" as PostgreSQL says */
                v[k].len = (int)(i - start) + (ch == ';');
                k++;
            }
            if (ch == '\0')
                break;
            start = ++i;
            continue;
        }
        if (ch == '-' && sql[i + 1] == '-') {
            while (sql[i] != '\0' && sql[i] != '\n')
                i++;
        } else if (ch == '/' && sql[i + 1] == '*') {
            int depth = 1;
            for (i += 2; sql[i] != '\0' && depth > 0; i++) {
                if (sql[i] == '/' && sql[i + 1] == '*')
                    depth++, i++;
                else if (sql[i] == '*' && sql[i + 1] == '/')
                    depth--, i++;
            }
        } else if (ch == '\'' || ch == '"') {
            bool esc = ch == '\'' && i > 0 && (sql[i - 1] == 'E' || sql[i - 1] == 'e') &&
                       (i < 2 || !((sql[i - 2] >= 'a' && sql[i - 2] <= 'z') ||
                                   (sql[i - 2] >= 'A' && sql[i - 2] <= 'Z') || sql[i - 2] == '_'));
            for (i++; sql[i] != '\0'; i++) {
                if (esc && sql[i] == '\\' && sql[i + 1] != '\0') {
                    i++;
                } else if (sql[i] == ch) {
                    if (sql[i + 1] != ch)
                        break;
                    i++;
                }
            }
            if (sql[i] != '\0')
                i++;
        } else if (ch == '$' && (i == 0 || !((sql[i - 1] >= 'a' && sql[i - 1] <= 'z') ||
                                             (sql[i - 1] >= 'A' && sql[i - 1] <= 'Z') ||
                                             (sql[i - 1] >= '0' && sql[i - 1] <= '9') ||
                                             sql[i - 1] == '_'))) {
            size_t t = dollar_tag(sql + i);
            if (t == 0) {
                i++;
            } else {
                const char *close = NULL;
                for (size_t j = i + t; j + t <= len; j++)
                    if (memcmp(sql + j, sql + i, t) == 0) {
                        close = sql + j;
                        break;
                    }
                i = close != NULL ? (size_t)(close - sql) + t : len;
            }
        } else {
            i++;
        }
    }
    *spans = v;
    *n = k;
    return CC_OK;
}

/*
 * The grammar raises a few errors that are not syntax errors; libpg_query
 * reports only the message, so their SQLSTATEs are recovered from it.
 */
static const struct {
    const char *prefix;
    const char *sqlstate;
} parse_states[] = {
    {"role name \"", "42939"},                 /* ... is reserved */
    {"MATCH PARTIAL not yet implemented", "0A000"},
    {"unsafe use of string constant with Unicode escapes", "22P06"},
    {"invalid Unicode escape", "22P05"},
    {"unterminated quoted string", "42601"},
    {"zero-length delimited identifier", "42601"},
    {"time zone interval must be HOUR or HOUR TO MINUTE", "22023"},
};

static const char *
parse_state(const char *msg)
{
    for (size_t i = 0; i < sizeof parse_states / sizeof *parse_states; i++)
        if (strncmp(msg, parse_states[i].prefix, strlen(parse_states[i].prefix)) == 0)
            return parse_states[i].sqlstate;
    return "42601";
}

/*
 * Whether libpg_query's error is its allocator failing: PostgreSQL's
 * palloc reports "out of memory" (DETAIL "Failed on request of size ..."),
 * and when the strdup of a message fails libpg_query returns the error
 * without one. Either way 53200, never a syntax error.
 */
static bool
pgq_out_of_memory(const PgQueryError *e)
{
    return e->message == NULL || strcmp(e->message, "out of memory") == 0;
}

typedef struct parse_job {
    const char *text;
    PgQueryProtobufParseResult r;
} parse_job;

static void *
parse_main(void *arg)
{
    parse_job *j = arg;
    j->r = pg_query_parse_protobuf(j->text);
    return NULL;
}

static bool
ident_char(char ch)
{
    char lower = (char)(ch | 0x20);
    return ch == '_' || (ch >= '0' && ch <= '9') || (lower >= 'a' && lower <= 'z') ||
           (unsigned char)ch >= 0x80;
}

/*
 * The operator characters of text outside literals, quoted identifiers and
 * comments, counting stops past limit. Quoting rules as in ddl__split.
 */
static size_t
operator_chars(const char *text, size_t limit)
{
    size_t n = 0;
    for (const char *p = text; *p != '\0' && n <= limit; p++) {
        if (p[0] == '-' && p[1] == '-') {
            while (*p != '\0' && *p != '\n')
                p++;
            if (*p == '\0')
                break;
        } else if (p[0] == '/' && p[1] == '*') {
            int depth = 1;
            for (p += 2; *p != '\0' && depth > 0; p++) {
                if (p[0] == '/' && p[1] == '*')
                    depth++, p++;
                else if (p[0] == '*' && p[1] == '/')
                    depth--, p++;
            }
            p--;
        } else if (*p == '\'' || *p == '"') {
            char q = *p;
            bool esc = q == '\'' && p > text && (p[-1] == 'E' || p[-1] == 'e');
            for (p++; *p != '\0'; p++) {
                if (esc && *p == '\\' && p[1] != '\0')
                    p++;
                else if (*p == q && p[1] == q)
                    p++;
                else if (*p == q)
                    break;
            }
            if (*p == '\0')
                break;
        } else if (*p == '$' && (p == text || !ident_char(p[-1]))) {
            size_t tag = dollar_tag(p);
            if (tag > 0) {
                const char *e = p + tag;
                while (*e != '\0' && strncmp(e, p, tag) != 0)
                    e++;
                if (*e == '\0')
                    break;
                p = e + tag - 1;
            }
        } else if (strchr("+-*/<>=~!@#%^&|`?:", *p) != NULL) {
            n++;
        }
    }
    return n;
}

/* pg_query_parse_protobuf on a stack big enough for text (see the top). */
static cc_code
parse_protobuf(const char *text, PgQueryProtobufParseResult *out, cc_err *err)
{
    size_t len = strlen(text);
    size_t need = DDL_PARSE_STACK_BASE + DDL_PARSE_STACK_PER_BYTE * len;
    if (need <= cc_stack_left() / 2) {
        *out = pg_query_parse_protobuf(text);
        return CC_OK;
    }
    if (len > COWCAT_MAX_STATEMENT_BYTES)
        return cc_err_set_state(err, CC_LIMIT, "54000",
                                "statement is too long: %zu bytes (the limit is %u)", len,
                                COWCAT_MAX_STATEMENT_BYTES);
    parse_job j = {.text = text};
    pthread_attr_t attr;
    pthread_t t;
    int prc = pthread_attr_init(&attr);
    if (prc == 0) {
        prc = pthread_attr_setstacksize(&attr, need);
        if (prc == 0)
            prc = pthread_create(&t, &attr, parse_main, &j);
        pthread_attr_destroy(&attr);
    }
    if (prc != 0)
        return cc_err_set_state(err, CC_NOMEM, "53200",
                                "out of memory: cannot get a %zu kB stack to parse a %zu-byte "
                                "statement",
                                need >> 10, len);
    pthread_join(t, NULL);
    *out = j.r;
    return CC_OK;
}

/* Reads a protobuf varint at *p (< end); false if malformed. */
static bool
read_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    *v = 0;
    for (unsigned shift = 0; *p < end && shift < 64; shift += 7) {
        uint8_t b = *(*p)++;
        *v |= (uint64_t)(b & 0x7f) << shift;
        if ((b & 0x80) == 0)
            return true;
    }
    return false;
}

/*
 * The message nesting depth of a packed message of type d (*depth), walked
 * with an explicit stack, stopping early once it passes limit (*depth =
 * limit + 1). Malformed bytes count as too deep: they come from libpg_query,
 * never users. Errors: NOMEM (the stack).
 */
static cc_code
packed_depth(const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t len, size_t limit,
             size_t *depth, cc_err *err)
{
    struct level {
        const ProtobufCMessageDescriptor *d;
        const uint8_t *end;
    } *st = cc_malloc((limit + 1) * sizeof *st);
    if (st == NULL)
        return cc_err_set(err, CC_NOMEM, "out of memory measuring a parse tree");
    size_t top = 0, max = 1;
    st[0] = (struct level){d, p + len};
    while (true) {
        while (top > 0 && p == st[top].end)
            top--;
        if (top == 0 && p == st[0].end)
            break;
        uint64_t tag, n;
        if (!read_varint(&p, st[top].end, &tag))
            goto bad;
        switch (tag & 7) {
        case 0:
            if (!read_varint(&p, st[top].end, &n))
                goto bad;
            break;
        case 1:
        case 5: {
            size_t w = (tag & 7) == 1 ? 8 : 4;
            if ((size_t)(st[top].end - p) < w)
                goto bad;
            p += w;
            break;
        }
        case 2: {
            if (!read_varint(&p, st[top].end, &n) || n > (uint64_t)(st[top].end - p))
                goto bad;
            const ProtobufCFieldDescriptor *f =
                protobuf_c_message_descriptor_get_field(st[top].d, (unsigned)(tag >> 3));
            if (f != NULL && f->type == PROTOBUF_C_TYPE_MESSAGE) {
                if (top + 1 > limit)
                    goto bad;
                top++;
                st[top] = (struct level){f->descriptor, p + n};
                if (top + 1 > max)
                    max = top + 1;
            } else {
                p += n;
            }
            break;
        }
        default:
            goto bad;
        }
    }
    cc_free(st);
    *depth = max;
    return CC_OK;
bad:
    cc_free(st);
    *depth = limit + 1;
    return CC_OK;
}

/* 54001 unless a packed parse tree nests shallowly enough for this thread. */
static cc_code
check_depth(const PgQueryProtobuf *tree, cc_err *err)
{
    size_t left = cc_stack_left();
    size_t fits = left > DDL_STACK_RESERVE ? (left - DDL_STACK_RESERVE) / DDL_STACK_PER_LEVEL : 0;
    size_t limit = fits < DDL_MAX_NESTING ? fits : DDL_MAX_NESTING;
    size_t depth = 0;
    cc_code rc = packed_depth(&pg_query__parse_result__descriptor, (const uint8_t *)tree->data,
                              tree->len, limit, &depth, err);
    if (rc != CC_OK || depth <= limit)
        return rc;
    rc = cc_err_set_state(err, CC_LIMIT, "54001", "stack depth limit exceeded");
    cc_err_detail(err,
                      "The statement's parse tree nests more than %zu levels deep (at most %u, "
                      "fewer when the calling thread's stack is small: %zu kB left here).",
                      limit, DDL_MAX_NESTING, left >> 10);
    cc_err_hint(err, "Split the expression into smaller ones, or run it on a thread with a "
                         "larger stack.");
    return rc;
}

cc_code
ddl__parse(const char *text, PgQuery__ParseResult **out, int *errpos, cc_err *err)
{
    *out = NULL;
    *errpos = 0;
    if (operator_chars(text, DDL_MAX_OPERATOR_CHARS) > DDL_MAX_OPERATOR_CHARS) {
        cc_err_set_state(err, CC_LIMIT, "54001", "statement is too complex");
        cc_err_detail(err, "It has more than %u operator characters outside literals.",
                      DDL_MAX_OPERATOR_CHARS);
        return cc_err_hint(err, "Split the statement or its expressions into smaller ones.");
    }
    PgQueryProtobufParseResult r;
    cc_code prc = parse_protobuf(text, &r, err);
    if (prc != CC_OK)
        return prc;
    if (r.error == NULL && (prc = check_depth(&r.parse_tree, err)) != CC_OK) {
        pg_query_free_protobuf_parse_result(r);
        return prc;
    }
    if (r.error != NULL) {
        if (pgq_out_of_memory(r.error)) {
            pg_query_free_protobuf_parse_result(r);
            return cc_err_set(err, CC_NOMEM, "out of memory parsing a statement");
        }
        *errpos = r.error->cursorpos;
        const char *state = parse_state(r.error->message);
        cc_code rc = cc_err_set_state(err, strcmp(state, "0A000") == 0 ? CC_INVALID : CC_PARSE,
                                      state, "%s", r.error->message);
        pg_query_free_protobuf_parse_result(r);
        return rc;
    }
    /* Through the hook; the tree is freed with protobuf-c's default allocator
     * (base/alloc.h). libpg_query's own parse allocates outside it. */
    bool oom = false;
    ProtobufCAllocator a = {cc_protobuf_alloc, cc_protobuf_free, &oom};
    PgQuery__ParseResult *t =
        pg_query__parse_result__unpack(&a, r.parse_tree.len, (const uint8_t *)r.parse_tree.data);
    pg_query_free_protobuf_parse_result(r);
    if (t == NULL && oom)
        return cc_err_set(err, CC_NOMEM, "out of memory decoding a parse tree");
    if (t == NULL)
        return cc_err_set(err, CC_INTERNAL, "could not decode libpg_query's parse tree");
    if (t->n_stmts != 1 || t->stmts[0]->stmt == NULL) {
        pg_query__parse_result__free_unpacked(t, NULL);
        return cc_err_set_state(err, CC_PARSE, "42601", "expected exactly one statement");
    }
    *out = t;
    return CC_OK;
}

cc_code
ddl__parse_stored(const char *create_sql, const char *name, PgQuery__ParseResult **out,
                  cc_err *err)
{
    int pos;
    cc_code rc = ddl__parse(create_sql, out, &pos, err);
    if (rc == CC_OK || rc == CC_NOMEM)
        return rc;
    return cc_err_set(err, CC_CORRUPT, "the stored statement of %s does not parse", name);
}

void
ddl__parse_free(PgQuery__ParseResult *r)
{
    if (r != NULL)
        pg_query__parse_result__free_unpacked(r, NULL);
}

cc_code
ddl__deparse(const PgQuery__Node *stmt, char **out, cc_err *err)
{
    *out = NULL;
    PgQuery__RawStmt raw = PG_QUERY__RAW_STMT__INIT;
    raw.stmt = (PgQuery__Node *)stmt;
    PgQuery__RawStmt *rawp = &raw;
    PgQuery__ParseResult pr = PG_QUERY__PARSE_RESULT__INIT;
    pr.version = PG_VERSION_NUM;
    pr.n_stmts = 1;
    pr.stmts = &rawp;
    size_t len = pg_query__parse_result__get_packed_size(&pr);
    uint8_t *buf = cc_malloc(len ? len : 1);
    if (buf == NULL)
        return cc_err_set(err, CC_NOMEM, "out of memory deparsing a statement");
    pg_query__parse_result__pack(&pr, buf);
    PgQueryProtobuf pb = {.len = len, .data = (char *)buf};
    PgQueryDeparseResult d = pg_query_deparse_protobuf(pb);
    cc_free(buf);
    /* d.query NULL without an error: libpg_query's strdup of the result failed */
    if ((d.error != NULL && pgq_out_of_memory(d.error)) || (d.error == NULL && d.query == NULL)) {
        pg_query_free_deparse_result(d);
        return cc_err_set(err, CC_NOMEM, "out of memory deparsing a statement");
    }
    if (d.error != NULL) {
        cc_code rc = cc_err_set(err, CC_INTERNAL, "cannot deparse statement: %s", d.error->message);
        pg_query_free_deparse_result(d);
        return rc;
    }
    char *s = cc_strdup(d.query);
    pg_query_free_deparse_result(d);
    if (s == NULL)
        return cc_err_set(err, CC_NOMEM, "out of memory deparsing a statement");
    *out = s;
    return CC_OK;
}

const char *
ddl__str(const PgQuery__Node *n)
{
    if (n == NULL || n->node_case != PG_QUERY__NODE__NODE_STRING)
        return NULL;
    return n->string->sval;
}

cc_code
ddl__check_parse(void *arg, const char *create_sql, cc_err *err)
{
    (void)arg;
    PgQuery__ParseResult *r;
    int pos;
    cc_code rc = ddl__parse(create_sql, &r, &pos, err);
    ddl__parse_free(r);
    return rc;
}

/* PostgreSQL's command names where the node's name does not say it. */
static const struct {
    PgQuery__Node__NodeCase node;
    const char *name;
} stmt_names[] = {
    {PG_QUERY__NODE__NODE_CREATE_SEQ_STMT, "CREATE SEQUENCE"},
    {PG_QUERY__NODE__NODE_ALTER_SEQ_STMT, "ALTER SEQUENCE"},
    {PG_QUERY__NODE__NODE_CREATE_TRIG_STMT, "CREATE TRIGGER"},
    {PG_QUERY__NODE__NODE_CREATE_TABLE_AS_STMT, "CREATE TABLE AS"},
    {PG_QUERY__NODE__NODE_DEFINE_STMT, "CREATE TYPE/AGGREGATE/OPERATOR"},
    {PG_QUERY__NODE__NODE_COMPOSITE_TYPE_STMT, "CREATE TYPE"},
    {PG_QUERY__NODE__NODE_VARIABLE_SET_STMT, "SET"},
    {PG_QUERY__NODE__NODE_TRUNCATE_STMT, "TRUNCATE TABLE"},
    {PG_QUERY__NODE__NODE_VACUUM_STMT, "VACUUM"},
    {PG_QUERY__NODE__NODE_CREATE_PLANG_STMT, "CREATE LANGUAGE"},
    {PG_QUERY__NODE__NODE_DO_STMT, "DO"},
    {PG_QUERY__NODE__NODE_LOCK_STMT, "LOCK TABLE"},
    {PG_QUERY__NODE__NODE_CREATE_EXTENSION_STMT, "CREATE EXTENSION"},
    {PG_QUERY__NODE__NODE_ALTER_ROLE_STMT, "ALTER ROLE"},
    {PG_QUERY__NODE__NODE_ALTER_DATABASE_STMT, "ALTER DATABASE"},
};

const char *
ddl__stmt_name(const PgQuery__Node *stmt)
{
    static _Thread_local char buf[64];
    for (size_t i = 0; i < sizeof stmt_names / sizeof *stmt_names; i++)
        if (stmt_names[i].node == stmt->node_case)
            return stmt_names[i].name;
    /* Otherwise the node's field name: "create_function_stmt" -> "CREATE FUNCTION". */
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field(&pg_query__node__descriptor, stmt->node_case);
    if (f == NULL)
        return "this statement";
    size_t n = strlen(f->name);
    if (n > 5 && strcmp(f->name + n - 5, "_stmt") == 0)
        n -= 5;
    if (n >= sizeof buf)
        n = sizeof buf - 1;
    for (size_t i = 0; i < n; i++)
        buf[i] = f->name[i] == '_' ? ' ' : (char)(f->name[i] >= 'a' && f->name[i] <= 'z' ? f->name[i] - 32 : f->name[i]);
    buf[n] = '\0';
    return buf;
}

/* True if text has a run of more than 63 identifier bytes (a cheap filter before scanning). */
static bool
has_long_word(const char *text)
{
    size_t run = 0;
    for (const char *p = text; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        bool word = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                    (ch >= '0' && ch <= '9') || ch == '_' || ch == '$' || ch >= 0x80 || ch == '"';
        run = word ? run + 1 : 0;
        if (run > DDL_NAME_MAX - 1)
            return true;
    }
    return false;
}

void
ddl__identifier_notices(ddl_ctx *c, const char *text)
{
    if (!has_long_word(text))
        return;
    PgQueryScanResult r = pg_query_scan(text);
    if (r.error != NULL) {
        pg_query_free_scan_result(r);
        return;
    }
    PgQuery__ScanResult *t =
        pg_query__scan_result__unpack(NULL, r.pbuf.len, (const uint8_t *)r.pbuf.data);
    pg_query_free_scan_result(r);
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->n_tokens; i++) {
        const PgQuery__ScanToken *k = t->tokens[i];
        if (k->token != PG_QUERY__TOKEN__IDENT || k->end - k->start <= DDL_NAME_MAX - 1)
            continue;
        /* The identifier as the parser sees it: quoted keeps case ("" is "), else lower case. */
        char full[1024];
        size_t n = 0;
        const char *p = text + k->start, *end = text + k->end;
        bool quoted = *p == '"';
        if (quoted) {
            p++, end--;
        }
        for (; p < end && n + 1 < sizeof full; p++) {
            if (quoted && *p == '"' && p + 1 < end && p[1] == '"')
                p++;
            full[n++] = !quoted && *p >= 'A' && *p <= 'Z' ? (char)(*p + 32) : *p;
        }
        full[n] = '\0';
        if (n <= DDL_NAME_MAX - 1)
            continue;
        size_t cut = DDL_NAME_MAX - 1;
        while (cut > 0 && ((unsigned char)full[cut] & 0xC0) == 0x80) /* a whole character */
            cut--;
        ddl__notice(c, "42622", "identifier \"%s\" will be truncated to \"%.*s\"", full, (int)cut,
                    full);
    }
    pg_query__scan_result__free_unpacked(t, NULL);
}
