/*
 * tests/crash/crash_model.c — the reference model of crash_server (see
 * crash_model.h): PostgreSQL's and cowcat's rules for the DDL subset the test
 * generates, on plain arrays.
 */
#include "crash_model.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const cm_limit_names[CM_NLIMITS] = {
    "max_databases", "max_schemas_per_database", "max_objects_per_schema",
    "max_tables",    "max_views",                "max_materialized_views",
    "max_indexes",   "max_roles",                "max_clusters",
};

static void *
xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    if (q == NULL) {
        fprintf(stderr, "crash_server: out of memory\n");
        abort();
    }
    return q;
}

void
crash_model_init(cm_model *m)
{
    memset(m, 0, sizeof *m);
    for (int i = 0; i < CM_NLIMITS; i++)
        m->limits[i] = CM_LIMIT_DEFAULT;
    for (int i = 0; i < CM_MAX_ACTORS; i++)
        m->home[i] = -1;
    cm_op op = {.kind = CM_OP_CREATE_SCHEMA, .home_actor = -1};
    snprintf(op.schema, sizeof op.schema, "public"); /* bootstrapped by cowcatd */
    crash_model_apply(m, &op, NULL, 0);
}

void
crash_model_free(cm_model *m)
{
    free(m->schemas);
    free(m->rels);
    memset(m, 0, sizeof *m);
}

void
crash_model_copy(cm_model *dst, const cm_model *src)
{
    cm_schema *s = dst->schemas;
    cm_rel *r = dst->rels;
    int cs = dst->cap_schemas, cr = dst->cap_rels;
    if (cs < src->nschemas) {
        cs = src->cap_schemas;
        s = xrealloc(s, (size_t)cs * sizeof *s);
    }
    if (cr < src->nrels) {
        cr = src->cap_rels;
        r = xrealloc(r, (size_t)cr * sizeof *r);
    }
    *dst = *src;
    dst->schemas = s, dst->cap_schemas = cs;
    dst->rels = r, dst->cap_rels = cr;
    if (src->nschemas > 0)
        memcpy(s, src->schemas, (size_t)src->nschemas * sizeof *s);
    if (src->nrels > 0)
        memcpy(r, src->rels, (size_t)src->nrels * sizeof *r);
}

void
crash_model_compact(cm_model *m)
{
    int *smap = malloc(((size_t)m->nschemas + 1) * sizeof *smap);
    int *rmap = malloc(((size_t)m->nrels + 1) * sizeof *rmap);
    if (smap == NULL || rmap == NULL)
        abort();
    int ns = 0, nr = 0;
    for (int i = 0; i < m->nschemas; i++) {
        smap[i] = m->schemas[i].alive ? ns : -1;
        if (m->schemas[i].alive)
            m->schemas[ns++] = m->schemas[i];
    }
    for (int i = 0; i < m->nrels; i++) {
        rmap[i] = m->rels[i].alive ? nr : -1;
        if (m->rels[i].alive)
            m->rels[nr++] = m->rels[i];
    }
    for (int i = 0; i < nr; i++) {
        cm_rel *r = &m->rels[i];
        r->schema = smap[r->schema];
        for (int k = 0; k < r->ndeps; k++)
            r->deps[k] = rmap[r->deps[k]];
    }
    for (int a = 0; a < CM_MAX_ACTORS; a++)
        if (m->home[a] >= 0)
            m->home[a] = smap[m->home[a]];
    m->nschemas = ns;
    m->nrels = nr;
    free(smap);
    free(rmap);
}

int
crash_model_schema(const cm_model *m, const char *name)
{
    for (int i = 0; i < m->nschemas; i++)
        if (m->schemas[i].alive && strcmp(m->schemas[i].name, name) == 0)
            return i;
    return -1;
}

int
crash_model_rel(const cm_model *m, int schema, const char *name)
{
    for (int i = 0; i < m->nrels; i++)
        if (m->rels[i].alive && m->rels[i].schema == schema && strcmp(m->rels[i].name, name) == 0)
            return i;
    return -1;
}

int
crash_model_count(const cm_model *m, int s, int kind)
{
    int n = 0;
    for (int i = 0; i < m->nrels; i++)
        n += m->rels[i].alive && m->rels[i].schema == s && (kind < 0 || (int)m->rels[i].kind == kind);
    return n;
}

static const char *
kind_word(cm_kind k)
{
    switch (k) {
    case CM_TABLE:
        return "table";
    case CM_VIEW:
        return "view";
    case CM_MATVIEW:
        return "materialized view";
    default:
        return "index";
    }
}

static const char *
fail(char *why, size_t n, const char *state, const char *fmt, ...)
{
    if (why != NULL && n > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, n, fmt, ap);
        va_end(ap);
    }
    return state;
}

/* Drops the relations in marked[] and, transitively, everything that reads them. */
static void
drop_closure(cm_model *m, bool *marked)
{
    bool grew = true;
    while (grew) {
        grew = false;
        for (int i = 0; i < m->nrels; i++) {
            if (!m->rels[i].alive || marked[i])
                continue;
            for (int k = 0; k < m->rels[i].ndeps; k++)
                if (marked[m->rels[i].deps[k]]) {
                    marked[i] = true;
                    grew = true;
                    break;
                }
        }
    }
    for (int i = 0; i < m->nrels; i++)
        if (marked[i])
            m->rels[i].alive = false;
}

static int
add_schema(cm_model *m, const char *name)
{
    if (m->nschemas == m->cap_schemas) {
        m->cap_schemas = m->cap_schemas ? 2 * m->cap_schemas : 16;
        m->schemas = xrealloc(m->schemas, (size_t)m->cap_schemas * sizeof *m->schemas);
    }
    cm_schema *s = &m->schemas[m->nschemas];
    memset(s, 0, sizeof *s);
    s->alive = true;
    snprintf(s->name, sizeof s->name, "%s", name);
    return m->nschemas++;
}

static cm_rel *
add_rel(cm_model *m)
{
    if (m->nrels == m->cap_rels) {
        m->cap_rels = m->cap_rels ? 2 * m->cap_rels : 64;
        m->rels = xrealloc(m->rels, (size_t)m->cap_rels * sizeof *m->rels);
    }
    cm_rel *r = &m->rels[m->nrels++];
    memset(r, 0, sizeof *r);
    r->alive = true;
    return r;
}

static bool
is_relation(cm_kind k)
{
    return k == CM_TABLE || k == CM_VIEW || k == CM_MATVIEW;
}

const char *
crash_model_apply(cm_model *m, const cm_op *op, char *why, size_t n)
{
    int s = op->kind == CM_OP_ALTER_SYSTEM ? -1 : crash_model_schema(m, op->schema);
    if (op->kind != CM_OP_ALTER_SYSTEM && op->kind != CM_OP_CREATE_SCHEMA && s < 0)
        return fail(why, n, "3F000", "schema \"%s\" does not exist", op->schema);
    switch (op->kind) {
    case CM_OP_CREATE_SCHEMA:
        if (s >= 0)
            return fail(why, n, "42P06", "schema \"%s\" already exists", op->schema);
        s = add_schema(m, op->schema);
        if (op->home_actor >= 0)
            m->home[op->home_actor] = s;
        return NULL;
    case CM_OP_DROP_SCHEMA: {
        bool *marked = calloc((size_t)m->nrels + 1, sizeof *marked);
        if (marked == NULL)
            abort();
        for (int i = 0; i < m->nrels; i++)
            marked[i] = m->rels[i].alive && m->rels[i].schema == s;
        drop_closure(m, marked);
        free(marked);
        m->schemas[s].alive = false;
        return NULL;
    }
    case CM_OP_RENAME_SCHEMA:
        if (crash_model_schema(m, op->newname) >= 0)
            return fail(why, n, "42P06", "schema \"%s\" already exists", op->newname);
        snprintf(m->schemas[s].name, sizeof m->schemas[s].name, "%s", op->newname);
        return NULL;
    case CM_OP_CREATE_REL:
    case CM_OP_CREATE_INDEX: {
        if (crash_model_rel(m, s, op->name) >= 0)
            return fail(why, n, "42P07", "relation \"%s\" already exists", op->name);
        int deps[CM_MAX_SRC], nd = 0;
        for (int k = 0; k < op->nsrc; k++) {
            int ss = crash_model_schema(m, op->src_schema[k]);
            int r = ss < 0 ? -1 : crash_model_rel(m, ss, op->src[k]);
            bool ok = r >= 0 && (op->kind == CM_OP_CREATE_INDEX ? m->rels[r].kind == CM_TABLE
                                                                : is_relation(m->rels[r].kind));
            if (!ok)
                return fail(why, n, "42P01", "relation \"%s.%s\" does not exist",
                            op->src_schema[k], op->src[k]);
            if (nd == 0 || deps[0] != r)
                deps[nd++] = r;
        }
        cm_rel *r = add_rel(m);
        r->kind = op->kind == CM_OP_CREATE_INDEX ? CM_INDEX : op->rkind;
        r->schema = s;
        snprintf(r->name, sizeof r->name, "%s", op->name);
        if (r->kind != CM_INDEX) {
            r->ncols = op->ncols;
            memcpy(r->cols, op->cols, sizeof r->cols);
        }
        r->ndeps = nd;
        memcpy(r->deps, deps, sizeof r->deps);
        return NULL;
    }
    case CM_OP_DROP_REL:
    case CM_OP_RENAME_REL:
    case CM_OP_RENAME_COL: {
        int r = crash_model_rel(m, s, op->name);
        if (r < 0 || m->rels[r].kind != op->rkind)
            return fail(why, n, op->rkind == CM_INDEX && op->kind == CM_OP_DROP_REL ? "42704" : "42P01",
                        "%s \"%s\" does not exist", kind_word(op->rkind), op->name);
        cm_rel *rel = &m->rels[r];
        if (op->kind == CM_OP_DROP_REL) {
            bool *marked = calloc((size_t)m->nrels + 1, sizeof *marked);
            if (marked == NULL)
                abort();
            marked[r] = true;
            drop_closure(m, marked);
            free(marked);
            return NULL;
        }
        if (op->kind == CM_OP_RENAME_REL) {
            if (crash_model_rel(m, s, op->newname) >= 0)
                return fail(why, n, "42P07", "relation \"%s\" already exists", op->newname);
            snprintf(rel->name, sizeof rel->name, "%s", op->newname);
            return NULL;
        }
        int c = -1;
        for (int k = 0; k < rel->ncols; k++) {
            if (strcmp(rel->cols[k].name, op->newname) == 0)
                return fail(why, n, "42701", "column \"%s\" of relation \"%s\" already exists",
                            op->newname, rel->name);
            if (strcmp(rel->cols[k].name, op->name2) == 0)
                c = k;
        }
        if (c < 0)
            return fail(why, n, "42703", "column \"%s\" does not exist", op->name2);
        snprintf(rel->cols[c].name, sizeof rel->cols[c].name, "%s", op->newname);
        return NULL;
    }
    case CM_OP_ALTER_SYSTEM:
        if (op->limit < 0 || op->limit >= CM_NLIMITS)
            return fail(why, n, "42704", "unrecognized configuration parameter \"%s\"", op->name);
        m->limits[op->limit] = op->value == 0 ? CM_LIMIT_DEFAULT : op->value;
        return NULL;
    }
    return fail(why, n, "XX000", "unknown op");
}

/* --- rendering ------------------------------------------------------------------------- */

void
cm_rows_add(cm_rows *r, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (r->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 256;
        r->v = xrealloc(r->v, r->cap * sizeof *r->v);
    }
    r->v[r->n] = strdup(buf);
    if (r->v[r->n] == NULL)
        abort();
    r->n++;
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void
cm_rows_sort(cm_rows *r)
{
    if (r->n > 1)
        qsort(r->v, r->n, sizeof *r->v, cmp_str);
}

void
cm_rows_free(cm_rows *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->v[i]);
    free(r->v);
    memset(r, 0, sizeof *r);
}

size_t
cm_rows_diff_count(const cm_rows *a, const cm_rows *b)
{
    size_t i = 0, j = 0, d = 0;
    while (i < a->n || j < b->n) {
        int c = i == a->n ? 1 : j == b->n ? -1 : strcmp(a->v[i], b->v[j]);
        if (c == 0)
            i++, j++;
        else if (c < 0)
            i++, d++;
        else
            j++, d++;
    }
    return d;
}

const cm_query cm_queries[] = {
    {"obj", "SELECT kind, database, schema, name, owner FROM cowcat_catalog.objects"},
    {"schemata", "SELECT schema_name, schema_owner FROM information_schema.schemata"},
    {"tables", "SELECT table_schema, table_name, table_type FROM information_schema.tables"},
    {"columns", "SELECT table_schema, table_name, ordinal_position, column_name, data_type "
                "FROM information_schema.columns"},
    {"index", "SELECT schema, name, table_name FROM cowcat_catalog.indexes"},
    {"dep", "SELECT object, object_kind, referenced, referenced_kind "
            "FROM cowcat_catalog.dependencies"},
    {"limit", "SELECT name, value, current FROM cowcat_catalog.limits"},
    {"cols", "SELECT schema, relation, position, name, type FROM cowcat_catalog.columns"},
};
const size_t cm_nqueries = sizeof cm_queries / sizeof cm_queries[0];

void
cm_rows_add_result(cm_rows *out, const cm_query *q, const char *const *v, size_t n)
{
    if (strcmp(q->tag, "cols") == 0) {
        if (n < 5)
            return;
        char obj[512];
        snprintf(obj, sizeof obj, "obj|materialized view|cowcat|%s|%s|", v[0], v[1]);
        bool matview = false;
        for (size_t k = 0; k < out->n && !matview; k++)
            matview = strncmp(out->v[k], obj, strlen(obj)) == 0;
        if (matview)
            cm_rows_add(out, "mvcols|%s|%s|%s|%s|%s", v[0], v[1], v[2], v[3], v[4]);
        return;
    }
    char row[512];
    int len = snprintf(row, sizeof row, "%s", q->tag);
    for (size_t f = 0; f < n && len < (int)sizeof row; f++)
        len += snprintf(row + len, sizeof row - (size_t)len, "|%s", v[f] ? v[f] : "NULL");
    cm_rows_add(out, "%s", row);
}

size_t
cm_rows_minus(const cm_rows *a, const cm_rows *b, const char **out, size_t cap)
{
    size_t i = 0, j = 0, k = 0;
    while (i < a->n) {
        int c = j == b->n ? -1 : strcmp(a->v[i], b->v[j]);
        if (c == 0)
            i++, j++;
        else if (c < 0) {
            if (k < cap)
                out[k] = a->v[i];
            k++, i++;
        } else
            j++;
    }
    return k;
}

void
crash_model_render(const cm_model *m, cm_rows *out)
{
    /* cowcatd's bootstrap objects */
    cm_rows_add(out, "obj|role|NULL|NULL|cowcat_system|NULL");
    cm_rows_add(out, "obj|role|NULL|NULL|cowcat|NULL");
    cm_rows_add(out, "obj|database|NULL|NULL|cowcat|cowcat");
    cm_rows_add(out, "obj|cluster|NULL|NULL|default|cowcat_system");
    static const char *const sys[] = {"cowcat_catalog", "information_schema"};
    for (int i = 0; i < 2; i++) {
        cm_rows_add(out, "obj|schema|NULL|NULL|%s|cowcat_system", sys[i]);
        cm_rows_add(out, "schemata|%s|cowcat_system", sys[i]);
    }
    for (int i = 0; i < m->nschemas; i++) {
        if (!m->schemas[i].alive)
            continue;
        cm_rows_add(out, "obj|schema|cowcat|NULL|%s|cowcat", m->schemas[i].name);
        cm_rows_add(out, "schemata|%s|cowcat", m->schemas[i].name);
    }
    long count[4] = {0, 0, 0, 0};
    for (int i = 0; i < m->nrels; i++) {
        const cm_rel *r = &m->rels[i];
        if (!r->alive)
            continue;
        const char *sn = m->schemas[r->schema].name;
        count[r->kind]++;
        cm_rows_add(out, "obj|%s|cowcat|%s|%s|cowcat", kind_word(r->kind), sn, r->name);
        if (r->kind == CM_TABLE || r->kind == CM_VIEW) {
            cm_rows_add(out, "tables|%s|%s|%s", sn, r->name,
                        r->kind == CM_TABLE ? "BASE TABLE" : "VIEW");
            for (int k = 0; k < r->ncols; k++)
                cm_rows_add(out, "columns|%s|%s|%d|%s|%s", sn, r->name, k + 1, r->cols[k].name,
                            r->cols[k].is_int ? "integer" : "text");
        }
        if (r->kind == CM_MATVIEW) /* not in information_schema: see crash_verify.c */
            for (int k = 0; k < r->ncols; k++)
                cm_rows_add(out, "mvcols|%s|%s|%d|%s|%s", sn, r->name, k + 1, r->cols[k].name,
                            r->cols[k].is_int ? "integer" : "text");
        for (int k = 0; k < r->ndeps; k++) {
            const cm_rel *d = &m->rels[r->deps[k]];
            cm_rows_add(out, "dep|%s.%s|%s|%s.%s|%s", sn, r->name, kind_word(r->kind),
                        m->schemas[d->schema].name, d->name, kind_word(d->kind));
            if (r->kind == CM_INDEX)
                cm_rows_add(out, "index|%s|%s|%s", sn, r->name, d->name);
        }
    }
    /* current use per limit; NULL for the per-parent ones */
    const char *cur[CM_NLIMITS] = {"1", "NULL", "NULL", NULL, NULL, NULL, NULL, "2", "1"};
    long kinds[CM_NLIMITS] = {0, 0, 0, count[CM_TABLE], count[CM_VIEW], count[CM_MATVIEW],
                              count[CM_INDEX], 0, 0};
    for (int i = 0; i < CM_NLIMITS; i++) {
        if (cur[i] != NULL)
            cm_rows_add(out, "limit|%s|%ld|%s", cm_limit_names[i], m->limits[i], cur[i]);
        else
            cm_rows_add(out, "limit|%s|%ld|%ld", cm_limit_names[i], m->limits[i], kinds[i]);
    }
}
