/*
 * bench/ddl_bench/json.c — a small strict JSON parser (RFC 8259: strings with
 * escapes, numbers, nesting, nothing after the value) for the JSON lines
 * ddl_bench writes: ddl_bench_check validates them, ddl_bench --report
 * reads them back.
 */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

typedef struct parser {
    const char *p;
    const char *err;
    int depth;
} parser;

void
jfree(jval *v)
{
    free(v->str);
    for (size_t i = 0; i < v->n; i++) {
        jfree(&v->items[i]);
        if (v->keys != NULL)
            free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    memset(v, 0, sizeof *v);
}

static void
skip_ws(parser *ps)
{
    while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r')
        ps->p++;
}

static bool parse_value(parser *ps, jval *out);

static bool
parse_string(parser *ps, char **out)
{
    if (*ps->p != '"') {
        ps->err = "expected a string";
        return false;
    }
    ps->p++;
    size_t cap = 32, len = 0;
    char *s = malloc(cap);
    while (s != NULL && *ps->p != '"') {
        unsigned char c = (unsigned char)*ps->p;
        if (c == '\0' || c < 0x20) {
            ps->err = c ? "control character in a string" : "unterminated string";
            free(s);
            return false;
        }
        if (len + 8 >= cap) {
            char *t = realloc(s, cap *= 2);
            if (t == NULL)
                break;
            s = t;
        }
        if (c != '\\') {
            s[len++] = (char)c;
            ps->p++;
            continue;
        }
        ps->p++;
        switch (*ps->p) {
        case '"': s[len++] = '"'; break;
        case '\\': s[len++] = '\\'; break;
        case '/': s[len++] = '/'; break;
        case 'b': s[len++] = '\b'; break;
        case 'f': s[len++] = '\f'; break;
        case 'n': s[len++] = '\n'; break;
        case 'r': s[len++] = '\r'; break;
        case 't': s[len++] = '\t'; break;
        case 'u':
            for (int i = 1; i <= 4; i++)
                if (!isxdigit((unsigned char)ps->p[i])) {
                    ps->err = "bad \\u escape";
                    free(s);
                    return false;
                }
            s[len++] = '?'; /* the code point itself is not needed */
            ps->p += 4;
            break;
        default:
            ps->err = "bad escape";
            free(s);
            return false;
        }
        ps->p++;
    }
    if (s == NULL) {
        ps->err = "out of memory";
        return false;
    }
    ps->p++;
    s[len] = '\0';
    *out = s;
    return true;
}

static bool
parse_number(parser *ps, jval *out)
{
    const char *p = ps->p;
    if (*p == '-')
        p++;
    if (*p == '0')
        p++;
    else if (isdigit((unsigned char)*p))
        while (isdigit((unsigned char)*p))
            p++;
    else
        goto bad;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            goto bad;
        while (isdigit((unsigned char)*p))
            p++;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!isdigit((unsigned char)*p))
            goto bad;
        while (isdigit((unsigned char)*p))
            p++;
    }
    out->t = J_NUM;
    out->num = strtod(ps->p, NULL);
    ps->p = p;
    return true;
bad:
    ps->err = "bad number";
    return false;
}

/* Appends an empty value to v's items (and a key slot for objects). */
static jval *
grow(jval *v, size_t *cap)
{
    if (v->n == *cap) {
        size_t c = *cap ? *cap * 2 : 8;
        jval *items = realloc(v->items, c * sizeof *items);
        if (items == NULL)
            return NULL;
        v->items = items;
        if (v->t == J_OBJ) {
            char **keys = realloc(v->keys, c * sizeof *keys);
            if (keys == NULL)
                return NULL;
            v->keys = keys;
        }
        *cap = c;
    }
    memset(&v->items[v->n], 0, sizeof v->items[v->n]);
    if (v->t == J_OBJ)
        v->keys[v->n] = NULL;
    return &v->items[v->n++];
}

static bool
parse_container(parser *ps, jval *out, char open, char close)
{
    out->t = open == '{' ? J_OBJ : J_ARR;
    size_t cap = 0;
    if (++ps->depth > 64) {
        ps->err = "nested too deep";
        return false;
    }
    ps->p++;
    skip_ws(ps);
    if (*ps->p == close) {
        ps->p++;
        ps->depth--;
        return true;
    }
    for (;;) {
        skip_ws(ps);
        jval *item = grow(out, &cap);
        if (item == NULL) {
            ps->err = "out of memory";
            return false;
        }
        if (out->t == J_OBJ) {
            if (!parse_string(ps, &out->keys[out->n - 1]))
                return false;
            skip_ws(ps);
            if (*ps->p != ':') {
                ps->err = "expected ':'";
                return false;
            }
            ps->p++;
            skip_ws(ps);
        }
        if (!parse_value(ps, item))
            return false;
        skip_ws(ps);
        if (*ps->p == ',') {
            ps->p++;
            continue;
        }
        if (*ps->p == close) {
            ps->p++;
            ps->depth--;
            return true;
        }
        ps->err = out->t == J_OBJ ? "expected ',' or '}'" : "expected ',' or ']'";
        return false;
    }
}

static bool
parse_value(parser *ps, jval *out)
{
    skip_ws(ps);
    switch (*ps->p) {
    case '{': return parse_container(ps, out, '{', '}');
    case '[': return parse_container(ps, out, '[', ']');
    case '"': out->t = J_STR; return parse_string(ps, &out->str);
    case 't':
    case 'f':
    case 'n': {
        const char *words[] = {"true", "false", "null"};
        for (int i = 0; i < 3; i++)
            if (strncmp(ps->p, words[i], strlen(words[i])) == 0) {
                out->t = i == 2 ? J_NULL : J_BOOL;
                out->b = i == 0;
                ps->p += strlen(words[i]);
                return true;
            }
        ps->err = "bad literal";
        return false;
    }
    default: return parse_number(ps, out);
    }
}

const jval *
jget(const jval *o, const char *key)
{
    for (size_t i = 0; o->t == J_OBJ && i < o->n; i++)
        if (strcmp(o->keys[i], key) == 0)
            return &o->items[i];
    return NULL;
}

const char *
jstr(const jval *o, const char *key)
{
    const jval *v = jget(o, key);
    return v != NULL && v->t == J_STR ? v->str : NULL;
}

bool
jnum(const jval *o, const char *key, double *out)
{
    const jval *v = jget(o, key);
    if (v == NULL || v->t != J_NUM)
        return false;
    *out = v->num;
    return true;
}

const char *
ddlb_json_parse_line(const char *line, jval *out)
{
    parser ps = {.p = line};
    memset(out, 0, sizeof *out);
    if (!parse_value(&ps, out)) {
        jfree(out);
        return ps.err != NULL ? ps.err : "malformed";
    }
    skip_ws(&ps);
    if (*ps.p != '\0' || out->t != J_OBJ) {
        const char *why = out->t != J_OBJ ? "not a JSON object" : "text after the object";
        jfree(out);
        return why;
    }
    return NULL;
}
