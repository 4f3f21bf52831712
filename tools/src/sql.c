/*
 * tools/src/sql.c — `cowcat sql`: results of SQL printed the way psql prints
 * them, and scripts split into statements the way psql sends them.
 *
 * Aligned (psql's default, border 1):
 *
 *    name | kind          <- header, names centered
 *   ------+-------        <- one dash run per column, '+' between
 *    t    | table         <- text left-aligned, numbers right-aligned
 *   (1 row)               <- footer, then a blank line
 *
 * Statements without rows print their command tag ("CREATE TABLE").
 * CSV: a header line, then one line per row; a field is quoted when it holds
 * a comma, quote, CR or LF, leading or trailing space, or is empty (so an
 * empty string "" differs from NULL, which is nothing). JSON: one line per
 * result, an array of objects {"column": "text" | null}. Neither prints tags.
 * NOTICEs and errors go to the message stream: `ERROR:  42P07: message`
 * (psql's VERBOSITY verbose form), LINE and caret under the position,
 * DETAIL, HINT.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* A result set, buffered until its statement completes (alignment needs every row). */
typedef struct result {
    bool active;
    size_t ncols;
    char **names;
    bool *right; /* right-aligned (numeric types) */
    char ***rows;
    size_t nrows, cap;
    bool nomem;
} result;

typedef struct printer {
    const tools_sql_output *o;
    result res;
} printer;

static void
result_clear(result *r)
{
    for (size_t i = 0; i < r->nrows; i++) {
        for (size_t j = 0; j < r->ncols; j++)
            free(r->rows[i][j]);
        free(r->rows[i]);
    }
    for (size_t j = 0; j < r->ncols; j++)
        free(r->names[j]);
    free(r->names);
    free(r->right);
    free(r->rows);
    memset(r, 0, sizeof *r);
}

/* psql right-aligns int2/4/8, oid, xid, cid, float4/8, money, numeric. */
static bool
type_is_numeric(uint32_t oid)
{
    switch (oid) {
    case 20:
    case 21:
    case 23:
    case 26:
    case 28:
    case 29:
    case 700:
    case 701:
    case 790:
    case 1700:
        return true;
    default:
        return false;
    }
}

/* Display width of UTF-8 text: one column per code point. */
static size_t
width(const char *s)
{
    size_t w = 0;
    for (; *s != '\0'; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            w++;
    return w;
}

static void
pad(FILE *f, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fputc(' ', f);
}

static void
print_aligned(FILE *f, const result *r)
{
    size_t *w = calloc(r->ncols + 1, sizeof *w);
    if (w == NULL)
        return;
    for (size_t j = 0; j < r->ncols; j++) {
        w[j] = width(r->names[j]);
        for (size_t i = 0; i < r->nrows; i++)
            if (r->rows[i][j] != NULL && width(r->rows[i][j]) > w[j])
                w[j] = width(r->rows[i][j]);
    }
    for (size_t j = 0; j < r->ncols; j++) {
        size_t sp = w[j] - width(r->names[j]);
        fputs(j == 0 ? " " : " | ", f);
        pad(f, sp / 2);
        fputs(r->names[j], f);
        pad(f, (sp + 1) / 2);
    }
    fputs(r->ncols > 0 ? " \n" : "\n", f);
    for (size_t j = 0; j < r->ncols; j++) {
        if (j > 0)
            fputc('+', f);
        for (size_t k = 0; k < w[j] + 2; k++)
            fputc('-', f);
    }
    fputc('\n', f);
    for (size_t i = 0; i < r->nrows; i++) {
        for (size_t j = 0; j < r->ncols; j++) {
            const char *v = r->rows[i][j] != NULL ? r->rows[i][j] : "";
            size_t sp = w[j] - width(v);
            fputs(j == 0 ? " " : " | ", f);
            if (r->right[j]) {
                pad(f, sp);
                fputs(v, f);
            } else {
                fputs(v, f);
                if (j + 1 < r->ncols) /* psql leaves no blanks after the last column */
                    pad(f, sp);
            }
        }
        fputc('\n', f);
    }
    fprintf(f, r->nrows == 1 ? "(1 row)\n\n" : "(%zu rows)\n\n", r->nrows);
    free(w);
}

static void
csv_field(FILE *f, const char *v)
{
    if (v == NULL)
        return;
    size_t n = strlen(v);
    bool quote = n == 0 || v[0] == ' ' || v[n - 1] == ' ' || strpbrk(v, ",\"\r\n") != NULL;
    if (!quote) {
        fputs(v, f);
        return;
    }
    fputc('"', f);
    for (; *v != '\0'; v++) {
        if (*v == '"')
            fputc('"', f);
        fputc(*v, f);
    }
    fputc('"', f);
}

static void
print_csv(FILE *f, const result *r)
{
    for (size_t j = 0; j < r->ncols; j++) {
        if (j > 0)
            fputc(',', f);
        csv_field(f, r->names[j]);
    }
    fputc('\n', f);
    for (size_t i = 0; i < r->nrows; i++) {
        for (size_t j = 0; j < r->ncols; j++) {
            if (j > 0)
                fputc(',', f);
            csv_field(f, r->rows[i][j]);
        }
        fputc('\n', f);
    }
}

static void
json_string(FILE *f, const char *v)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)v; *p != '\0'; p++) {
        switch (*p) {
        case '"':
            fputs("\\\"", f);
            break;
        case '\\':
            fputs("\\\\", f);
            break;
        case '\n':
            fputs("\\n", f);
            break;
        case '\r':
            fputs("\\r", f);
            break;
        case '\t':
            fputs("\\t", f);
            break;
        default:
            if (*p < 0x20)
                fprintf(f, "\\u%04x", *p);
            else
                fputc(*p, f);
        }
    }
    fputc('"', f);
}

static void
print_json(FILE *f, const result *r)
{
    fputc('[', f);
    for (size_t i = 0; i < r->nrows; i++) {
        fputs(i == 0 ? "{" : ",{", f);
        for (size_t j = 0; j < r->ncols; j++) {
            if (j > 0)
                fputc(',', f);
            json_string(f, r->names[j]);
            fputc(':', f);
            if (r->rows[i][j] == NULL)
                fputs("null", f);
            else
                json_string(f, r->rows[i][j]);
        }
        fputc('}', f);
    }
    fputs("]\n", f);
}

/* --- callbacks ------------------------------------------------------------------------ */

static char *
dup_or_flag(result *r, const char *s)
{
    char *d = strdup(s);
    if (d == NULL)
        r->nomem = true;
    return d;
}

static int
on_columns(void *arg, const cowcat_column *cols, size_t n)
{
    printer *p = arg;
    result *r = &p->res;
    result_clear(r);
    r->active = true;
    r->names = calloc(n + 1, sizeof *r->names);
    r->right = calloc(n + 1, sizeof *r->right);
    if (r->names == NULL || r->right == NULL)
        return 1;
    r->ncols = n;
    for (size_t j = 0; j < n; j++) {
        r->names[j] = dup_or_flag(r, cols[j].name);
        r->right[j] = type_is_numeric(cols[j].type_oid);
    }
    return r->nomem;
}

static int
on_row(void *arg, const char *const *values, size_t n)
{
    printer *p = arg;
    result *r = &p->res;
    if (!r->active || n != r->ncols)
        return 1;
    if (r->nrows == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 64;
        char ***rows = realloc(r->rows, cap * sizeof *rows);
        if (rows == NULL)
            return 1;
        r->rows = rows;
        r->cap = cap;
    }
    char **row = calloc(n + 1, sizeof *row);
    if (row == NULL)
        return 1;
    for (size_t j = 0; j < n; j++)
        row[j] = values[j] != NULL ? dup_or_flag(r, values[j]) : NULL;
    r->rows[r->nrows++] = row;
    return r->nomem;
}

static void
on_complete(void *arg, const char *tag)
{
    printer *p = arg;
    FILE *f = p->o->out;
    if (p->res.active) {
        if (p->o->format == TOOLS_SQL_CSV)
            print_csv(f, &p->res);
        else if (p->o->format == TOOLS_SQL_JSON)
            print_json(f, &p->res);
        else
            print_aligned(f, &p->res);
        result_clear(&p->res);
    } else if (p->o->format == TOOLS_SQL_ALIGNED && tag != NULL && tag[0] != '\0') {
        fprintf(f, "%s\n", tag);
    }
}

static void
on_notice(void *arg, const cowcat_error *n)
{
    printer *p = arg;
    fprintf(p->o->msg, "%s:  %s\n", n->severity[0] ? n->severity : "NOTICE", n->message);
    if (n->detail[0] != '\0')
        fprintf(p->o->msg, "DETAIL:  %s\n", n->detail);
    if (n->hint[0] != '\0')
        fprintf(p->o->msg, "HINT:  %s\n", n->hint);
}

static const cowcat_callbacks callbacks = {
    .columns = on_columns,
    .row = on_row,
    .complete = on_complete,
    .notice = on_notice,
};

/* Characters (code points) in [a, b). */
static size_t
width_prefix(const char *a, const char *b)
{
    size_t w = 0;
    for (; a < b; a++)
        if (((unsigned char)*a & 0xC0) != 0x80)
            w++;
    return w;
}

/* psql's "LINE n: text" and a caret under the 1-based character position in sql. */
static void
print_position(FILE *f, const char *sql, int position)
{
    int line = 1, chars = 0;
    const char *start = sql, *p = sql;
    for (; *p != '\0' && chars < position - 1; p++) {
        if ((*p & 0xC0) == 0x80)
            continue; /* positions count characters, not bytes */
        chars++;
        if (*p == '\n') {
            line++;
            start = p + 1;
        }
    }
    if (chars < position - 1)
        return; /* past the end */
    const char *end = strchr(start, '\n');
    size_t len = end != NULL ? (size_t)(end - start) : strlen(start);
    int n = fprintf(f, "LINE %d: ", line);
    for (size_t k = 0; k < len; k++)
        fputc(start[k] == '\t' ? ' ' : start[k], f);
    fputc('\n', f);
    pad(f, (size_t)n + width_prefix(start, p));
    fputs("^\n", f);
}

static void
print_error(FILE *f, const char *sql, const cowcat_error *e)
{
    fprintf(f, "%s:  %s: %s\n", e->severity[0] ? e->severity : "ERROR",
            e->sqlstate[0] ? e->sqlstate : "XX000", e->message);
    if (e->position > 0 && sql != NULL)
        print_position(f, sql, e->position);
    if (e->detail[0] != '\0')
        fprintf(f, "DETAIL:  %s\n", e->detail);
    if (e->hint[0] != '\0')
        fprintf(f, "HINT:  %s\n", e->hint);
}

cowcat_code
tools_sql_exec(cowcat_session *s, const char *sql, const tools_sql_output *o)
{
    printer p = {.o = o};
    cowcat_error err;
    cowcat_code rc = cowcat_exec(s, sql, &callbacks, &p, &err);
    if (rc == COWCAT_OK && p.res.active) {
        rc = COWCAT_INTERNAL; /* rows without a completion: nothing printed, as psql */
        snprintf(err.message, sizeof err.message, "result without a command completion");
        snprintf(err.sqlstate, sizeof err.sqlstate, "XX000");
        err.severity[0] = '\0';
        err.detail[0] = err.hint[0] = '\0';
        err.position = 0;
    }
    if (rc != COWCAT_OK && (p.res.nomem || p.res.active) && err.code == COWCAT_INVALID &&
        strstr(err.message, "canceled by the result callback") != NULL) {
        snprintf(err.message, sizeof err.message, "out of memory buffering a result");
        snprintf(err.sqlstate, sizeof err.sqlstate, "53200");
    }
    result_clear(&p.res); /* an error in the middle of rows: nothing of the result is printed */
    if (rc != COWCAT_OK)
        print_error(o->msg, sql, &err);
    fflush(o->out);
    return rc;
}

/* --- splitting scripts ------------------------------------------------------------------ */

/* Length of a dollar-quote tag "$tag$" at p (0 if p does not start one). */
static size_t
dollar_tag(const char *p)
{
    size_t n = 1;
    if (p[0] != '$')
        return 0;
    if ((p[1] >= '0' && p[1] <= '9'))
        return 0; /* a parameter, $1 */
    while (p[n] == '_' || (p[n] >= 'a' && p[n] <= 'z') || (p[n] >= 'A' && p[n] <= 'Z') ||
           (p[n] >= '0' && p[n] <= '9') || ((unsigned char)p[n] >= 0x80))
        n++;
    return p[n] == '$' ? n + 1 : 0;
}

static bool
ident_char(char c)
{
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (unsigned char)c >= 0x80;
}

/* Calls fn with [start, end) as a NUL-terminated copy. */
static int
emit_stmt(const char *start, const char *end, int line,
          int (*fn)(void *arg, const char *stmt, int line), void *arg)
{
    size_t n = (size_t)(end - start);
    char *copy = malloc(n + 1);
    if (copy == NULL)
        return -1;
    memcpy(copy, start, n);
    copy[n] = '\0';
    int r = fn(arg, copy, line);
    free(copy);
    return r;
}

int
tools_sql_split(const char *script, int (*fn)(void *arg, const char *stmt, int line), void *arg)
{
    const char *p = script, *start = NULL;
    int line = 1, start_line = 1;
    while (*p != '\0') {
        char c = *p;
        if (c == '\n') {
            line++;
            p++;
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\r' || c == '\f') {
            p++;
            continue;
        }
        if (c == '-' && p[1] == '-') { /* a comment to the end of the line */
            while (*p != '\0' && *p != '\n')
                p++;
            continue;
        }
        if (c == '/' && p[1] == '*') { /* nested block comments, as PostgreSQL's */
            int depth = 0;
            do {
                if (*p == '/' && p[1] == '*') {
                    depth++;
                    p += 2;
                } else if (*p == '*' && p[1] == '/') {
                    depth--;
                    p += 2;
                } else {
                    line += *p == '\n';
                    p++;
                }
            } while (*p != '\0' && depth > 0);
            continue;
        }
        if (start == NULL) {
            start = p;
            start_line = line;
        }
        if (c == ';') {
            int r = emit_stmt(start, p + 1, start_line, fn, arg);
            if (r != 0)
                return r;
            start = NULL;
            p++;
            continue;
        }
        if (c == '\'' || c == '"') {
            bool escapes = c == '\'' && p > script && (p[-1] == 'E' || p[-1] == 'e') &&
                           (p - 1 == script || !ident_char(p[-2]));
            for (p++; *p != '\0'; p++) {
                line += *p == '\n';
                if (escapes && *p == '\\' && p[1] != '\0') {
                    p++;
                    line += *p == '\n';
                } else if (*p == c) {
                    if (p[1] != c)
                        break;
                    p++; /* a doubled quote */
                }
            }
            if (*p != '\0')
                p++;
            continue;
        }
        size_t tag = c == '$' && (p == script || !ident_char(p[-1])) ? dollar_tag(p) : 0;
        if (tag > 0) {
            const char *q = p + tag;
            while (*q != '\0' && strncmp(q, p, tag) != 0) {
                line += *q == '\n';
                q++;
            }
            p = *q != '\0' ? q + tag : q;
            continue;
        }
        p++;
    }
    return start != NULL ? emit_stmt(start, p, start_line, fn, arg) : 0;
}
