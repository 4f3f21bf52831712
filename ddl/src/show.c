/*
 * ddl/src/show.c — cowcat's SHOW statements: object lists and SHOW CREATE.
 *
 *   SHOW {TABLES | VIEWS | INDEXES | OBJECTS} [FROM schema]
 *       the schema's items of that kind (default: the first schema of
 *       search_path that exists), sorted by name:
 *         TABLES, VIEWS  (name, comment)
 *         INDEXES        (name, on, comment)
 *         OBJECTS        (name, type, comment)
 *   SHOW SCHEMAS [FROM database]   (name, comment): the database's schemas
 *       and the ambient ones
 *   SHOW DATABASES                 (name, comment)
 *   SHOW CREATE {TABLE | VIEW | MATERIALIZED VIEW | INDEX | TYPE} name
 *       one row (name, create_sql): the qualified name and the stored
 *       statement; tag "SHOW". 42809 for the wrong kind, 42P01 / 42704 when
 *       missing.
 *
 * PostgreSQL's grammar parses only `SHOW name` (SHOW TABLES arrives as a
 * VariableShowStmt); the other forms are recognised here by a small
 * tokenizer before parsing (ddl__show_extension). Keywords are
 * case-insensitive; unquoted identifiers fold to lower case, quoted ones
 * keep theirs ("" is a quote).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "internal.h"

/* --- lists ----------------------------------------------------------------------------- */

typedef struct list_arg {
    ddl_ctx *c;
    uint32_t kinds; /* bit set of cat_kind */
    int shape;      /* 0: (name, comment); 1: (name, on, comment); 2: (name, type, comment) */
    ddl_rows *rows;
    cc_err *err;
    cc_code rc;
} list_arg;

static int
list_cb(void *arg, const cat_object *o)
{
    list_arg *a = arg;
    if (!(a->kinds & (1u << o->kind)))
        return 0;
    const char *comment = cat_state_comment(a->c->st, o->ref, 0);
    const char *v[3] = {o->name, comment, NULL};
    if (a->shape == 1) {
        const cat_object *t = o->nuses > 0 ? cat_state_find(a->c->st, o->uses[0]) : NULL;
        v[1] = t ? t->name : NULL;
        v[2] = comment;
    } else if (a->shape == 2) {
        v[1] = cat_kind_name(o->kind);
        v[2] = comment;
    }
    a->rc = ddl__rows_add(a->rows, v, a->err);
    return a->rc != CC_OK;
}

static int
row_name_cmp(const void *x, const void *y)
{
    char *const *a = *(char **const *)x, *const *b = *(char **const *)y;
    return strcmp(a[0], b[0]);
}

/* The first schema of search_path that exists. Errors: 3F000. */
static cc_code
path_schema(ddl_ctx *c, const cat_object **out, cc_err *err)
{
    for (size_t i = 0; i < c->s->npath; i++) {
        const char *name = strcmp(c->s->path[i], "$user") == 0 ? c->s->user : c->s->path[i];
        if ((*out = ddl__find_schema(c, name)) != NULL)
            return CC_OK;
    }
    return cc_err_set_state(err, CC_NOT_FOUND, "3F000", "no schema has been selected");
}

cc_code
ddl__show_list(ddl_ctx *c, const char *what, const char *from, int32_t from_loc, cc_err *err)
{
    static const struct {
        const char *what;
        uint32_t kinds;
        int shape;
    } lists[] = {
        {"tables", 1u << CAT_KIND_TABLE, 0},
        {"views", 1u << CAT_KIND_VIEW, 0},
        {"indexes", 1u << CAT_KIND_INDEX, 1},
        {"objects",
         (1u << CAT_KIND_TABLE) | (1u << CAT_KIND_VIEW) | (1u << CAT_KIND_MATERIALIZED_VIEW) |
             (1u << CAT_KIND_INDEX) | (1u << CAT_KIND_TYPE),
         2},
        {"schemas", 1u << CAT_KIND_SCHEMA, 0},
        {"databases", 1u << CAT_KIND_DATABASE, 0},
    };
    size_t li;
    for (li = 0; li < sizeof lists / sizeof lists[0]; li++)
        if (strcmp(lists[li].what, what) == 0)
            break;
    if (li == sizeof lists / sizeof lists[0])
        return cc_err_set_state(err, CC_NOT_FOUND, "42704",
                                "unrecognized configuration parameter \"%s\"", what);
    static const cowcat_column shapes[3][3] = {
        {{"name", 19}, {"comment", 25}},
        {{"name", 19}, {"on", 19}, {"comment", 25}},
        {{"name", 19}, {"type", 25}, {"comment", 25}},
    };
    int shape = lists[li].shape;
    ddl_rows rows;
    ddl__rows_init(&rows, shape == 0 ? 2 : 3);
    list_arg a = {c, lists[li].kinds, shape, &rows, err, CC_OK};
    cc_code rc = CC_OK;
    if (lists[li].kinds == 1u << CAT_KIND_DATABASE) {
        ddl_objs objs;
        if ((rc = ddl__objs_collect(c->st, a.kinds, &objs, err)) == CC_OK) {
            for (size_t i = 0; i < objs.n && !list_cb(&a, objs.v[i]); i++)
                ;
            ddl__objs_fini(&objs);
        }
    } else if (lists[li].kinds == 1u << CAT_KIND_SCHEMA) {
        ddl_qname q = {.database = from, .location = from_loc};
        cat_ref db;
        ddl_objs objs;
        if ((rc = ddl__database(c, &q, &db, err)) == CC_OK &&
            (rc = ddl__objs_collect(c->st, a.kinds, &objs, err)) == CC_OK) {
            for (size_t i = 0; i < objs.n && a.rc == CC_OK; i++)
                if (objs.v[i]->parent == 0 || objs.v[i]->parent == db)
                    list_cb(&a, objs.v[i]);
            ddl__objs_fini(&objs);
        }
    } else {
        const cat_object *sc = NULL;
        if (from != NULL && (sc = ddl__find_schema(c, from)) == NULL)
            rc = ddl__at(
                c, from_loc,
                cc_err_set_state(err, CC_NOT_FOUND, "3F000", "schema \"%s\" does not exist", from));
        else if (from == NULL)
            rc = path_schema(c, &sc, err);
        if (rc == CC_OK)
            cat_state_walk_members(c->st, sc->ref, list_cb, &a);
    }
    if (rc == CC_OK)
        rc = a.rc;
    if (rc == CC_OK) {
        if (rows.n > 1)
            qsort(rows.rows, rows.n, sizeof *rows.rows, row_name_cmp);
        rc = ddl__emit_rows(c, shapes[shape], &rows, err);
    }
    ddl__rows_fini(&rows);
    return rc;
}

/* --- SHOW CREATE ----------------------------------------------------------------------- */

static cc_code
show_create(ddl_ctx *c, cat_kind kind, const ddl_qname *q, cc_err *err)
{
    char qn[3 * DDL_NAME_MAX + 4];
    ddl__qname_str(q, qn, sizeof qn);
    const cat_object *o;
    cc_code rc =
        kind == CAT_KIND_TYPE ? ddl__find_type(c, q, &o, err) : ddl__find_relation(c, q, &o, err);
    if (rc != CC_OK)
        return rc;
    if (o == NULL && kind == CAT_KIND_TYPE)
        return ddl__at(
            c, q->location,
            cc_err_set_state(err, CC_NOT_FOUND, "42704", "type \"%s\" does not exist", qn));
    if (o == NULL)
        return ddl__at(
            c, q->location,
            cc_err_set_state(err, CC_NOT_FOUND, "42P01", "relation \"%s\" does not exist", qn));
    if (o->kind != kind) {
        const char *k = cat_kind_name(kind);
        bool an = k[0] == 'i';
        return ddl__at(c, q->location,
                       cc_err_set_state(err, CC_INVALID, "42809", "\"%s\" is not %s %s", qn,
                                        an ? "an" : "a", k));
    }
    Cowcat__Catalog__ItemValue *iv;
    if ((rc = cat_object_decode(o, (ProtobufCMessage **)&iv, err)) != CC_OK)
        return rc;
    char name[2 * DDL_NAME_MAX + 2];
    static const cowcat_column cols[2] = {{"name", 25}, {"create_sql", 25}};
    const char *v[2] = {cat_state_qualified_name(c->st, o, name, sizeof name), iv->create_sql};
    rc = ddl__emit_columns(c, cols, 2, err);
    if (rc == CC_OK)
        rc = ddl__emit_row(c, v, 2, err);
    if (rc == CC_OK)
        snprintf(c->tag, sizeof c->tag, "SHOW");
    protobuf_c_message_free_unpacked(&iv->base, NULL);
    return rc;
}

/* --- the tokenizer --------------------------------------------------------------------- */

typedef enum tok_kind { T_END, T_WORD, T_QUOTED, T_DOT, T_SEMI, T_OTHER } tok_kind;

typedef struct tok {
    tok_kind kind;
    int pos;                 /* offset in the statement text */
    char text[DDL_NAME_MAX]; /* words folded to lower case; quoted as written */
} tok;

typedef struct lexer {
    const char *s;
    int i;
} lexer;

static void
skip_space(lexer *l)
{
    for (;;) {
        while (isspace((unsigned char)l->s[l->i]))
            l->i++;
        if (l->s[l->i] == '-' && l->s[l->i + 1] == '-') {
            while (l->s[l->i] && l->s[l->i] != '\n')
                l->i++;
            continue;
        }
        return;
    }
}

static tok
next(lexer *l)
{
    tok t = {.kind = T_OTHER};
    skip_space(l);
    t.pos = l->i;
    const char *s = l->s;
    size_t n = 0;
    char ch = s[l->i];
    if (ch == 0) {
        t.kind = T_END;
    } else if (ch == '.' || ch == ';') {
        t.kind = ch == '.' ? T_DOT : T_SEMI;
        l->i++;
    } else if (ch == '"') {
        l->i++;
        for (;;) {
            if (s[l->i] == 0)
                return (tok){.kind = T_OTHER, .pos = t.pos};
            if (s[l->i] == '"' && s[l->i + 1] != '"')
                break;
            if (s[l->i] == '"')
                l->i++;
            if (n + 1 < sizeof t.text)
                t.text[n++] = s[l->i];
            l->i++;
        }
        l->i++;
        t.kind = n > 0 ? T_QUOTED : T_OTHER; /* "" is a zero-length identifier: an error */
    } else if (isalpha((unsigned char)ch) || ch == '_' || (unsigned char)ch >= 0x80) {
        while (isalnum((unsigned char)s[l->i]) || s[l->i] == '_' || s[l->i] == '$' ||
               (unsigned char)s[l->i] >= 0x80) {
            if (n + 1 < sizeof t.text)
                t.text[n++] = (char)tolower((unsigned char)s[l->i]);
            l->i++;
        }
        t.kind = T_WORD;
    }
    t.text[n] = 0;
    return t;
}

static bool
is_word(const tok *t, const char *w)
{
    return t->kind == T_WORD && strcmp(t->text, w) == 0;
}

static bool
is_ident(const tok *t)
{
    return t->kind == T_WORD || t->kind == T_QUOTED;
}

/* True if only an optional ';' and the end remain. */
static bool
at_end(lexer *l)
{
    tok t = next(l);
    if (t.kind == T_SEMI)
        t = next(l);
    return t.kind == T_END;
}

/* Parses a name of 1 to 3 dotted parts into parts[] / q. */
static bool
qualified(lexer *l, tok parts[3], ddl_qname *q)
{
    size_t n = 0;
    parts[n] = next(l);
    if (!is_ident(&parts[n]))
        return false;
    int pos = parts[0].pos;
    for (n = 1; n < 3;) {
        lexer save = *l;
        tok d = next(l);
        if (d.kind != T_DOT) {
            *l = save;
            break;
        }
        parts[n] = next(l);
        if (!is_ident(&parts[n]))
            return false;
        n++;
    }
    memset(q, 0, sizeof *q);
    q->location = pos;
    q->name = parts[n - 1].text;
    if (n >= 2)
        q->schema = parts[n - 2].text;
    if (n == 3)
        q->database = parts[0].text;
    return true;
}

bool
ddl__show_extension(ddl_ctx *c, const char *text, cc_code *rc, cc_err *err)
{
    lexer l = {text, 0};
    tok t = next(&l);
    if (!is_word(&t, "show"))
        return false;
    t = next(&l);
    if (is_word(&t, "create")) {
        static const struct {
            const char *word;
            cat_kind kind;
        } kinds[] = {{"table", CAT_KIND_TABLE},
                     {"view", CAT_KIND_VIEW},
                     {"index", CAT_KIND_INDEX},
                     {"type", CAT_KIND_TYPE},
                     {"materialized", CAT_KIND_MATERIALIZED_VIEW}};
        tok k = next(&l);
        size_t i;
        for (i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
            if (is_word(&k, kinds[i].word))
                break;
        if (i == sizeof kinds / sizeof kinds[0])
            return false;
        if (kinds[i].kind == CAT_KIND_MATERIALIZED_VIEW) {
            tok v = next(&l);
            if (!is_word(&v, "view"))
                return false;
        }
        tok parts[3];
        ddl_qname q;
        if (!qualified(&l, parts, &q) || !at_end(&l))
            return false;
        *rc = show_create(c, kinds[i].kind, &q, err);
        return true;
    }
    static const char *const lists[] = {"tables",  "views",     "indexes",
                                        "schemas", "databases", "objects"};
    size_t i;
    for (i = 0; i < sizeof lists / sizeof lists[0]; i++)
        if (is_word(&t, lists[i]))
            break;
    if (i == sizeof lists / sizeof lists[0])
        return false;
    lexer save = l;
    tok f = next(&l);
    if (is_word(&f, "from") || is_word(&f, "in")) {
        if (strcmp(lists[i], "databases") == 0)
            return false;
        tok name = next(&l);
        if (!is_ident(&name) || !at_end(&l))
            return false;
        *rc = ddl__show_list(c, lists[i], name.text, name.pos, err);
        return true;
    }
    l = save;
    if (!at_end(&l))
        return false;
    *rc = ddl__show_list(c, lists[i], NULL, -1, err);
    return true;
}
