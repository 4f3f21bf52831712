/*
 * tests/sql/sql_regress.c — the SQL regression driver: runs NAME.sql files
 * through cowcat.h and compares what they print with expected/NAME.out, in
 * the style of pg_regress over `psql -a`.
 *
 *   sql_regress --input-dir DIR --expected-dir DIR [--output-dir DIR]
 *               [--data-dir DIR] [--update] NAME...
 *
 * Each file gets a fresh catalog (the memory backend, or the file backend in
 * DATA-DIR/NAME, emptied first) and one session as the default role. The
 * output is what `psql -a` prints for the file:
 *
 *   - every input line is echoed as read (comments and blank lines too);
 *   - a statement ends at a ';' outside quotes, comments, dollar quotes and
 *     parentheses, and is sent as psql sends it: from its first token (leading
 *     white space and -- comments dropped) through the ';'. `\;` puts a ';'
 *     into the statement without ending it, so `A\; B;` is ONE string of two
 *     statements (an implicit transaction). Text left at end of file is sent;
 *   - rows print as psql's aligned table, then "(N rows)" and a blank line;
 *     other statements print their command tag; notices print as
 *     "NOTICE:  message"; errors as "ERROR:  SQLSTATE: message", then the
 *     LINE / caret lines for a position, then DETAIL and HINT;
 *   - meta-commands: `\c [db|-] [user|-]` (also `\connect`) opens a new
 *     session as psql would open a new connection, closing the old one.
 *
 * The output goes to OUTPUT-DIR/NAME.out (default ./sql_results); with
 * --update it is copied to expected/NAME.out, else the two are compared and
 * a mismatch prints `diff -u` and makes the exit status 1.
 */
#include <errno.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cowcat.h"

#define NAME_MAX_LEN 64

/* A growable byte string. */
typedef struct buf {
    char *p;
    size_t len, cap;
} buf;

static void
buf_reserve(buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return;
    size_t ncap = b->cap ? b->cap : 256;
    while (ncap < b->len + extra + 1)
        ncap *= 2;
    char *np = realloc(b->p, ncap);
    if (np == NULL) {
        fprintf(stderr, "sql_regress: out of memory\n");
        exit(2);
    }
    b->p = np;
    b->cap = ncap;
}

static void
buf_addn(buf *b, const char *s, size_t n)
{
    buf_reserve(b, n);
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void
buf_addc(buf *b, char c)
{
    buf_addn(b, &c, 1);
}

static void
buf_clear(buf *b)
{
    b->len = 0;
    if (b->p != NULL)
        b->p[0] = '\0';
}

/* --- a result set, buffered until its statement completes ------------------------------ */

typedef struct result {
    bool active;    /* columns arrived for the current statement */
    size_t ncols;
    char **names;   /* ncols, malloc'd */
    bool *right;    /* ncols: right-aligned (numeric types) */
    char ***rows;   /* rows[i][j]; NULL: SQL NULL */
    size_t nrows, cap;
} result;

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

static char *
xstrdup(const char *s)
{
    char *d = strdup(s);
    if (d == NULL) {
        fprintf(stderr, "sql_regress: out of memory\n");
        exit(2);
    }
    return d;
}

static void *
xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (p == NULL) {
        fprintf(stderr, "sql_regress: out of memory\n");
        exit(2);
    }
    return p;
}

/* psql right-aligns the numeric types: int2/4/8, oid, xid, cid, float4/8, numeric, money. */
static bool
type_is_numeric(uint32_t oid)
{
    switch (oid) {
    case 20: case 21: case 23: case 26: case 28: case 29: case 700: case 701: case 790:
    case 1700:
        return true;
    default:
        return false;
    }
}

/* Display width of a UTF-8 string: one column per code point. */
static size_t
display_width(const char *s)
{
    size_t w = 0;
    for (; *s != '\0'; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            w++;
    return w;
}

static void
pad(FILE *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fputc(' ', out);
}

/* Prints r as psql's aligned format (border 1) with its footer. */
static void
result_print(FILE *out, const result *r)
{
    size_t *w = xcalloc(r->ncols, sizeof *w);
    for (size_t j = 0; j < r->ncols; j++) {
        w[j] = display_width(r->names[j]);
        for (size_t i = 0; i < r->nrows; i++) {
            const char *v = r->rows[i][j];
            size_t vw = v != NULL ? display_width(v) : 0;
            if (vw > w[j])
                w[j] = vw;
        }
    }
    /* header: centered names, every column followed by its padding */
    for (size_t j = 0; j < r->ncols; j++) {
        fputs(j == 0 ? " " : " | ", out);
        size_t sp = w[j] - display_width(r->names[j]);
        pad(out, sp / 2);
        fputs(r->names[j], out);
        pad(out, (sp + 1) / 2);
    }
    fputs(r->ncols > 0 ? " \n" : "\n", out);
    for (size_t j = 0; j < r->ncols; j++) {
        if (j > 0)
            fputc('+', out);
        for (size_t k = 0; k < w[j] + 2; k++)
            fputc('-', out);
    }
    fputc('\n', out);
    for (size_t i = 0; i < r->nrows; i++) {
        for (size_t j = 0; j < r->ncols; j++) {
            const char *v = r->rows[i][j] != NULL ? r->rows[i][j] : "";
            size_t sp = w[j] - display_width(v);
            fputs(j == 0 ? " " : " | ", out);
            if (r->right[j]) {
                pad(out, sp);
                fputs(v, out);
            } else {
                fputs(v, out);
                if (j + 1 < r->ncols) /* no trailing blanks after the last column */
                    pad(out, sp);
            }
        }
        fputc('\n', out);
    }
    fprintf(out, r->nrows == 1 ? "(1 row)\n\n" : "(%zu rows)\n\n", r->nrows);
    free(w);
}

/* --- the runner ------------------------------------------------------------------------ */

typedef struct runner {
    cowcat *db;
    cowcat_session *s;
    char user[NAME_MAX_LEN];     /* the session's role ("" : the default) */
    char database[NAME_MAX_LEN]; /* the session's database ("" : the default) */
    FILE *out;
    result res;
} runner;

static int
on_columns(void *arg, const cowcat_column *cols, size_t n)
{
    runner *r = arg;
    result_clear(&r->res);
    r->res.active = true;
    r->res.ncols = n;
    r->res.names = xcalloc(n, sizeof *r->res.names);
    r->res.right = xcalloc(n, sizeof *r->res.right);
    for (size_t j = 0; j < n; j++) {
        r->res.names[j] = xstrdup(cols[j].name);
        r->res.right[j] = type_is_numeric(cols[j].type_oid);
    }
    return 0;
}

static int
on_row(void *arg, const char *const *values, size_t n)
{
    runner *r = arg;
    result *res = &r->res;
    if (!res->active || n != res->ncols) {
        fprintf(r->out, "sql_regress: row of %zu values for %zu columns\n", n, res->ncols);
        return 1;
    }
    if (res->nrows == res->cap) {
        size_t ncap = res->cap ? res->cap * 2 : 16;
        char ***nv = realloc(res->rows, ncap * sizeof *nv);
        if (nv == NULL) {
            fprintf(stderr, "sql_regress: out of memory\n");
            exit(2);
        }
        res->rows = nv;
        res->cap = ncap;
    }
    char **row = xcalloc(n, sizeof *row);
    for (size_t j = 0; j < n; j++)
        row[j] = values[j] != NULL ? xstrdup(values[j]) : NULL;
    res->rows[res->nrows++] = row;
    return 0;
}

static void
on_complete(void *arg, const char *tag)
{
    runner *r = arg;
    if (r->res.active) {
        result_print(r->out, &r->res);
        result_clear(&r->res);
    } else if (tag != NULL && tag[0] != '\0') {
        fprintf(r->out, "%s\n", tag);
    }
}

static void
on_notice(void *arg, const cowcat_error *n)
{
    runner *r = arg;
    fprintf(r->out, "%s:  %s\n", n->severity[0] ? n->severity : "NOTICE", n->message);
    if (n->detail[0] != '\0')
        fprintf(r->out, "DETAIL:  %s\n", n->detail);
    if (n->hint[0] != '\0')
        fprintf(r->out, "HINT:  %s\n", n->hint);
}

static const cowcat_callbacks callbacks = {
    .columns = on_columns,
    .row = on_row,
    .complete = on_complete,
    .notice = on_notice,
};

/*
 * Prints psql's "LINE n: ..." and caret lines for a 1-based character
 * position in sql: libpq's reportErrorPosition, lines wider than 60 columns
 * trimmed with "..." the same way (one screen column per character).
 */
#define DISPLAY_SIZE  60 /* screen width limit */
#define MIN_RIGHT_CUT 10 /* try to keep this far away from the end of the line */

static void
print_position(FILE *out, const char *sql, int position)
{
    int loc = position - 1;
    size_t slen = strlen(sql) + 1;
    size_t *qidx = xcalloc(slen, sizeof *qidx); /* character number -> byte offset */
    int loc_line = 1, ibeg = 0, iend = -1, cno = 0;
    size_t q = 0;
    for (cno = 0; sql[q] != '\0'; cno++) {
        char ch = sql[q];
        qidx[cno] = q;
        if (ch == '\r' || ch == '\n') {
            if (cno < loc) {
                if (ch == '\r' || cno == 0 || sql[qidx[cno - 1]] != '\r')
                    loc_line++;
                ibeg = cno + 1;
            } else {
                iend = cno;
                break;
            }
        }
        q++;
        while ((((unsigned char)sql[q]) & 0xC0) == 0x80)
            q++;
    }
    if (iend < 0) {
        iend = cno;
        qidx[iend] = q;
    }
    if (loc > cno) {
        free(qidx);
        return;
    }
    bool beg_trunc = false, end_trunc = false;
    if (iend - ibeg > DISPLAY_SIZE) {
        if (ibeg + DISPLAY_SIZE >= loc + MIN_RIGHT_CUT) {
            while (iend - ibeg > DISPLAY_SIZE)
                iend--;
            end_trunc = true;
        } else {
            while (loc + MIN_RIGHT_CUT < iend) {
                iend--;
                end_trunc = true;
            }
            while (iend - ibeg > DISPLAY_SIZE) {
                ibeg++;
                beg_trunc = true;
            }
        }
    }
    char prefix[40];
    int plen = snprintf(prefix, sizeof prefix, "LINE %d: %s", loc_line, beg_trunc ? "..." : "");
    fputs(prefix, out);
    for (size_t k = qidx[ibeg]; k < qidx[iend]; k++)
        fputc(sql[k] == '\t' ? ' ' : sql[k], out);
    fputs(end_trunc ? "...\n" : "\n", out);
    pad(out, (size_t)plen + (size_t)(loc - ibeg));
    fputs("^\n", out);
    free(qidx);
}

static void
print_error(FILE *out, const char *sql, const cowcat_error *e)
{
    fprintf(out, "%s:  %s: %s\n", e->severity[0] ? e->severity : "ERROR", e->sqlstate,
            e->message);
    if (e->position > 0 && sql != NULL)
        print_position(out, sql, e->position);
    if (e->detail[0] != '\0')
        fprintf(out, "DETAIL:  %s\n", e->detail);
    if (e->hint[0] != '\0')
        fprintf(out, "HINT:  %s\n", e->hint);
}

/* Sends one query string (one or more statements) and prints what comes back. */
static void
run_query(runner *r, const char *sql)
{
    cowcat_error err;
    cowcat_code rc = cowcat_exec(r->s, sql, &callbacks, r, &err);
    bool partial = r->res.active;
    result_clear(&r->res); /* an error mid-rows: psql prints nothing of the result */
    if (rc != COWCAT_OK) {
        print_error(r->out, sql, &err);
    } else if (partial) {
        fprintf(r->out, "sql_regress: rows without a completion\n");
    }
}

/* Opens a session as user in database (NULL or "": the defaults). */
static cowcat_code
open_session(runner *r, const char *database, const char *user, cowcat_session **out,
             cowcat_error *err)
{
    cowcat_session_options so = {
        .user = user != NULL && user[0] != '\0' ? user : NULL,
        .database = database != NULL && database[0] != '\0' ? database : NULL,
    };
    return cowcat_session_open(r->db, &so, out, err);
}

/* Splits the next white-space separated word off *p (NULL at the end). */
static char *
next_word(char **p)
{
    char *s = *p;
    while (*s == ' ' || *s == '\t')
        s++;
    if (*s == '\0') {
        *p = s;
        return NULL;
    }
    char *w = s;
    while (*s != '\0' && *s != ' ' && *s != '\t')
        s++;
    if (*s != '\0')
        *s++ = '\0';
    *p = s;
    return w;
}

/* Runs a meta-command line ("\c - alice"); cmd points after the backslash. */
static void
run_meta(runner *r, const char *cmd)
{
    char line[512];
    snprintf(line, sizeof line, "%s", cmd);
    char *p = line;
    char *name = next_word(&p);
    if (name == NULL || (strcmp(name, "c") != 0 && strcmp(name, "connect") != 0)) {
        fprintf(r->out, "invalid command \\%s\n", name != NULL ? name : "");
        return;
    }
    char *db = next_word(&p);
    char *user = next_word(&p);
    char newdb[NAME_MAX_LEN], newuser[NAME_MAX_LEN];
    snprintf(newdb, sizeof newdb, "%s", db != NULL && strcmp(db, "-") != 0 ? db : r->database);
    snprintf(newuser, sizeof newuser, "%s",
             user != NULL && strcmp(user, "-") != 0 ? user : r->user);
    cowcat_session *s = NULL;
    cowcat_error err;
    if (open_session(r, newdb, newuser, &s, &err) != COWCAT_OK) {
        fprintf(r->out, "\\connect: FATAL:  %s\n", err.message);
        fprintf(r->out, "Previous connection kept\n");
        return;
    }
    cowcat_session_close(r->s);
    r->s = s;
    snprintf(r->database, sizeof r->database, "%s", newdb);
    snprintf(r->user, sizeof r->user, "%s", newuser);
    fprintf(r->out, "You are now connected to database \"%s\" as user \"%s\".\n",
            r->database[0] ? r->database : "cowcat", r->user[0] ? r->user : "cowcat");
}

/* --- psql's statement splitter ---------------------------------------------------------- */

typedef enum lex_state {
    LEX_NORMAL = 0,
    LEX_SQUOTE,  /* '...' */
    LEX_ESTRING, /* E'...' (backslash escapes) */
    LEX_DQUOTE,  /* "..." */
    LEX_DOLLAR,  /* $tag$...$tag$ */
    LEX_COMMENT, /* slash-star comments, nested */
} lex_state;

typedef struct lexer {
    lex_state state;
    int depth;         /* comment nesting */
    int parens;        /* parentheses open in NORMAL */
    char tag[64];      /* the dollar quote's delimiter, "$tag$" */
    buf query;         /* the statement being collected */
} lexer;

static bool
ident_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '$' || (unsigned char)c >= 0x80;
}

/* If s starts a dollar-quote delimiter ($tag$), its length; else 0. */
static size_t
dollar_tag(const char *s)
{
    if (s[0] != '$')
        return 0;
    size_t i = 1;
    if (s[1] >= '0' && s[1] <= '9')
        return 0;
    while (s[i] != '\0' && s[i] != '$' && ident_char(s[i]))
        i++;
    return s[i] == '$' ? i + 1 : 0;
}

/*
 * Feeds one input line (without its newline) to the splitter; runs every
 * statement it completes.
 */
static void
lex_line(runner *r, lexer *lx, const char *line)
{
    if (lx->query.len > 0)
        buf_addc(&lx->query, '\n');
    size_t n = strlen(line);
    for (size_t i = 0; i < n;) {
        char c = line[i];
        switch (lx->state) {
        case LEX_NORMAL:
            if (lx->query.len == 0 && (c == ' ' || c == '\t' || c == '\r' || c == '\f')) {
                i++; /* white space before a statement is not sent */
                continue;
            }
            if (c == '-' && line[i + 1] == '-') {
                if (lx->query.len > 0)
                    buf_addn(&lx->query, line + i, n - i);
                return;
            }
            if (c == '/' && line[i + 1] == '*') {
                lx->state = LEX_COMMENT;
                lx->depth = 1;
                buf_addn(&lx->query, "/*", 2);
                i += 2;
                continue;
            }
            if (c == '\\') {
                if (line[i + 1] == ';') {
                    buf_addc(&lx->query, ';');
                    i += 2;
                    continue;
                }
                if (lx->query.len > 0) {
                    run_query(r, lx->query.p);
                    buf_clear(&lx->query);
                }
                run_meta(r, line + i + 1);
                return;
            }
            if (c == ';' && lx->parens == 0) {
                buf_addc(&lx->query, ';');
                run_query(r, lx->query.p);
                buf_clear(&lx->query);
                i++;
                continue;
            }
            if (c == '(')
                lx->parens++;
            else if (c == ')' && lx->parens > 0)
                lx->parens--;
            bool word_start = i == 0 || !ident_char(line[i - 1]);
            if (c == '\'') {
                bool e = i > 0 && (line[i - 1] == 'e' || line[i - 1] == 'E') &&
                         (i == 1 || !ident_char(line[i - 2]));
                lx->state = e ? LEX_ESTRING : LEX_SQUOTE;
            } else if (c == '"') {
                lx->state = LEX_DQUOTE;
            } else if (c == '$' && word_start) {
                size_t t = dollar_tag(line + i);
                if (t > 0 && t < sizeof lx->tag) {
                    memcpy(lx->tag, line + i, t);
                    lx->tag[t] = '\0';
                    lx->state = LEX_DOLLAR;
                    buf_addn(&lx->query, line + i, t);
                    i += t;
                    continue;
                }
            }
            buf_addc(&lx->query, c);
            i++;
            continue;
        case LEX_SQUOTE:
        case LEX_ESTRING:
            if (lx->state == LEX_ESTRING && c == '\\' && i + 1 < n) {
                buf_addn(&lx->query, line + i, 2);
                i += 2;
                continue;
            }
            if (c == '\'') {
                if (line[i + 1] == '\'') {
                    buf_addn(&lx->query, "''", 2);
                    i += 2;
                    continue;
                }
                lx->state = LEX_NORMAL;
            }
            buf_addc(&lx->query, c);
            i++;
            continue;
        case LEX_DQUOTE:
            if (c == '"')
                lx->state = LEX_NORMAL; /* "" re-enters at once */
            buf_addc(&lx->query, c);
            i++;
            continue;
        case LEX_DOLLAR: {
            size_t t = strlen(lx->tag);
            if (strncmp(line + i, lx->tag, t) == 0) {
                buf_addn(&lx->query, line + i, t);
                i += t;
                lx->state = LEX_NORMAL;
                continue;
            }
            buf_addc(&lx->query, c);
            i++;
            continue;
        }
        case LEX_COMMENT:
            if (c == '/' && line[i + 1] == '*') {
                lx->depth++;
                buf_addn(&lx->query, "/*", 2);
                i += 2;
                continue;
            }
            if (c == '*' && line[i + 1] == '/') {
                buf_addn(&lx->query, "*/", 2);
                i += 2;
                if (--lx->depth == 0)
                    lx->state = LEX_NORMAL;
                continue;
            }
            buf_addc(&lx->query, c);
            i++;
            continue;
        }
    }
}

/* --- one file ----------------------------------------------------------------------------- */

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Runs in_path, writing the output to out. Returns 0, or -1 if the catalog did not open. */
static int
run_file(const char *in_path, FILE *out, const char *data_dir, const char *name)
{
    FILE *in = fopen(in_path, "r");
    if (in == NULL) {
        fprintf(stderr, "sql_regress: cannot open %s: %s\n", in_path, strerror(errno));
        return -1;
    }
    char dir[4096];
    cowcat_options o = {.backend = COWCAT_BACKEND_MEMORY, .durability = COWCAT_DURABILITY_NONE};
    if (data_dir != NULL) {
        snprintf(dir, sizeof dir, "%s/%s", data_dir, name);
        (void)nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS); /* a fresh catalog per file */
        (void)mkdir(data_dir, 0777);
        o.backend = COWCAT_BACKEND_FILE;
        o.data_dir = dir;
    }
    runner r = {.out = out};
    cowcat_error err;
    if (cowcat_open(&o, &r.db, &err) != COWCAT_OK) {
        fprintf(stderr, "sql_regress: cowcat_open: %s: %s\n", err.sqlstate, err.message);
        fclose(in);
        return -1;
    }
    if (open_session(&r, NULL, NULL, &r.s, &err) != COWCAT_OK) {
        fprintf(stderr, "sql_regress: cowcat_session_open: %s\n", err.message);
        cowcat_close(r.db);
        fclose(in);
        return -1;
    }
    lexer lx = {.state = LEX_NORMAL};
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, in)) >= 0) {
        if (len > 0 && line[len - 1] == '\n')
            line[--len] = '\0';
        fprintf(out, "%s\n", line);
        lex_line(&r, &lx, line);
    }
    if (lx.query.len > 0) /* psql sends what is left at the end of the file */
        run_query(&r, lx.query.p);
    free(line);
    free(lx.query.p);
    result_clear(&r.res);
    cowcat_session_close(r.s);
    cowcat_close(r.db);
    fclose(in);
    return 0;
}

/* Copies the file at from to to. Returns 0 or -1. */
static int
copy_file(const char *from, const char *to)
{
    FILE *a = fopen(from, "rb");
    if (a == NULL)
        return -1;
    FILE *b = fopen(to, "wb");
    if (b == NULL) {
        fclose(a);
        return -1;
    }
    char chunk[8192];
    size_t k;
    int rc = 0;
    while ((k = fread(chunk, 1, sizeof chunk, a)) > 0)
        if (fwrite(chunk, 1, k, b) != k)
            rc = -1;
    fclose(a);
    if (fclose(b) != 0)
        rc = -1;
    return rc;
}

/* True if the two files have the same bytes. */
static bool
same_file(const char *x, const char *y)
{
    FILE *a = fopen(x, "rb");
    FILE *b = fopen(y, "rb");
    bool same = a != NULL && b != NULL;
    while (same) {
        int ca = fgetc(a), cb = fgetc(b);
        if (ca != cb)
            same = false;
        if (ca == EOF || cb == EOF)
            break;
    }
    if (a != NULL)
        fclose(a);
    if (b != NULL)
        fclose(b);
    return same;
}

static void
usage(void)
{
    fprintf(stderr, "usage: sql_regress --input-dir DIR --expected-dir DIR [--output-dir DIR]\n"
                    "                   [--data-dir DIR] [--update] NAME...\n");
    exit(2);
}

int
main(int argc, char **argv)
{
    const char *input_dir = NULL, *expected_dir = NULL, *output_dir = "sql_results";
    const char *data_dir = NULL;
    bool update = false;
    int first = argc;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--update") == 0) {
            update = true;
        } else if (strcmp(argv[i], "--input-dir") == 0 && i + 1 < argc) {
            input_dir = argv[++i];
        } else if (strcmp(argv[i], "--expected-dir") == 0 && i + 1 < argc) {
            expected_dir = argv[++i];
        } else if (strcmp(argv[i], "--output-dir") == 0 && i + 1 < argc) {
            output_dir = argv[++i];
        } else if (strcmp(argv[i], "--data-dir") == 0 && i + 1 < argc) {
            data_dir = argv[++i];
        } else if (argv[i][0] == '-') {
            usage();
        } else {
            first = i;
            break;
        }
    }
    if (input_dir == NULL || expected_dir == NULL || first == argc)
        usage();
    if (mkdir(output_dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "sql_regress: cannot create %s: %s\n", output_dir, strerror(errno));
        return 2;
    }
    int failed = 0;
    for (int i = first; i < argc; i++) {
        const char *name = argv[i];
        char in_path[4096], out_path[4096], exp_path[4096];
        snprintf(in_path, sizeof in_path, "%s/%s.sql", input_dir, name);
        snprintf(out_path, sizeof out_path, "%s/%s.out", output_dir, name);
        snprintf(exp_path, sizeof exp_path, "%s/%s.out", expected_dir, name);
        FILE *out = fopen(out_path, "w");
        if (out == NULL) {
            fprintf(stderr, "sql_regress: cannot write %s: %s\n", out_path, strerror(errno));
            return 2;
        }
        int rc = run_file(in_path, out, data_dir, name);
        fclose(out);
        if (rc != 0) {
            printf("%-20s ... FAILED (could not run)\n", name);
            failed++;
            continue;
        }
        if (update) {
            if (copy_file(out_path, exp_path) != 0) {
                fprintf(stderr, "sql_regress: cannot write %s\n", exp_path);
                return 2;
            }
            printf("%-20s ... updated\n", name);
            continue;
        }
        if (same_file(exp_path, out_path)) {
            printf("%-20s ... ok\n", name);
            continue;
        }
        printf("%-20s ... FAILED\n", name);
        fflush(stdout);
        char cmd[3 * 4096];
        snprintf(cmd, sizeof cmd, "diff -u '%s' '%s'", exp_path, out_path);
        if (access(exp_path, R_OK) != 0)
            printf("sql_regress: no expected output %s\n", exp_path);
        else if (system(cmd) == -1)
            printf("sql_regress: could not run diff\n");
        fflush(stdout);
        failed++;
    }
    return failed > 0 ? 1 : 0;
}
