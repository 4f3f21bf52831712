/*
 * tests/crash/crash_gen.c — the random DDL of crash_server (see crash_gen.h).
 *
 * Each generator picks a statement that the scratch model says succeeds (or,
 * for the failing transactions, one it says fails, with the SQLSTATE), writes
 * its SQL, and applies it to the scratch model so the next statement of the
 * same transaction sees it.
 */
#include "crash_gen.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLIENT_CAP 18 /* relations in a client's schema before it starts dropping */
#define SHARED_CAP 14 /* relations in the shared schema before the shared actor drops */
/*
 * Schema "keep": the clients add tables to it now and then (up to KEEP_CAP
 * each) and nothing ever drops, renames or alters them, so some acknowledged
 * DDL lives through every later crash, restart and rollup of a run.
 */
#define KEEP_SCHEMA "keep"
#define KEEP_CAP 25

static unsigned
below(cg_actor *a, unsigned n)
{
    return (unsigned)tu_rng_below(&a->rng, n);
}

static void
fresh(cg_actor *a, char *out, const char *prefix)
{
    snprintf(out, CM_NAME, "%s%s_%lu", prefix, a->tag, a->serial++);
}

static const char *
kw(cm_kind k)
{
    switch (k) {
    case CM_TABLE:
        return "TABLE";
    case CM_VIEW:
        return "VIEW";
    case CM_MATVIEW:
        return "MATERIALIZED VIEW";
    default:
        return "INDEX";
    }
}

#define ANY_BUT_KEEP (-1) /* pick_rel: any schema but KEEP_SCHEMA */
#define ANY_SCHEMA (-2)   /* pick_rel: any schema */

/* A random alive relation of schema s (or see above) whose kind is in mask; -1 if none. */
static int
pick_rel(cg_actor *a, const cm_model *m, int s, unsigned mask)
{
    int n = 0, pick = -1;
    int keep = s == ANY_BUT_KEEP ? crash_model_schema(m, KEEP_SCHEMA) : -1;
    for (int i = 0; i < m->nrels; i++) {
        const cm_rel *r = &m->rels[i];
        if (!r->alive || (s >= 0 && r->schema != s) || (keep >= 0 && r->schema == keep) ||
            !(mask & (1u << r->kind)))
            continue;
        if (below(a, (unsigned)++n) == 0) /* reservoir sampling */
            pick = i;
    }
    return pick;
}

#define M_TABLE (1u << CM_TABLE)
#define M_VIEW (1u << CM_VIEW)
#define M_MATVIEW (1u << CM_MATVIEW)
#define M_INDEX (1u << CM_INDEX)
#define M_REL (M_TABLE | M_VIEW | M_MATVIEW)
#define M_ANY (M_REL | M_INDEX)

/*
 * Sets op's SQL; returns its length. (A function, so that gcc's -Wrestrict
 * does not take op's other fields among the arguments for overlaps.)
 */
static int op_sql(cm_op *op, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
op_sql(cm_op *op, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(op->sql, sizeof op->sql, fmt, ap);
    va_end(ap);
    return n;
}

static void
apply_or_die(cm_model *m, cm_op *op)
{
    char why[256];
    const char *st = crash_model_apply(m, op, why, sizeof why);
    if ((st == NULL) != (op->expect[0] == '\0') || (st != NULL && strcmp(st, op->expect) != 0)) {
        fprintf(stderr, "crash_server: test bug: generated `%s` expecting %s, model says %s (%s)\n",
                op->sql, op->expect[0] ? op->expect : "success", st ? st : "success",
                st ? why : "");
        abort();
    }
}

static void
op_create_schema(cg_actor *a, cm_op *op, const char *name, int home_actor)
{
    op->kind = CM_OP_CREATE_SCHEMA;
    op->home_actor = home_actor;
    if (name != NULL)
        snprintf(op->schema, sizeof op->schema, "%s", name);
    else
        fresh(a, op->schema, "s");
    op_sql(op, "CREATE SCHEMA %s", op->schema);
}

static void
op_create_table(cg_actor *a, const cm_model *m, int s, cm_op *op)
{
    op->kind = CM_OP_CREATE_REL;
    op->rkind = CM_TABLE;
    snprintf(op->schema, sizeof op->schema, "%s", m->schemas[s].name);
    fresh(a, op->name, "t");
    op->ncols = 1 + (int)below(a, 4);
    int len = op_sql(op, "CREATE TABLE %s.%s (", op->schema, op->name);
    bool pk = below(a, 2) == 0;
    for (int k = 0; k < op->ncols; k++) {
        cm_col *c = &op->cols[k];
        fresh(a, c->name, "c");
        c->is_int = k == 0 || below(a, 2) == 0;
        len += snprintf(op->sql + len, sizeof op->sql - (size_t)len, "%s%s %s%s", k ? ", " : "",
                        c->name, c->is_int ? "int" : "text", k == 0 && pk ? " PRIMARY KEY" : "");
    }
    snprintf(op->sql + len, sizeof op->sql - (size_t)len, ")");
}

/* An int column of r, or -1. */
static int
int_col(cg_actor *a, const cm_rel *r)
{
    int n = 0, pick = -1;
    for (int k = 0; k < r->ncols; k++)
        if (r->cols[k].is_int && below(a, (unsigned)++n) == 0)
            pick = k;
    return pick;
}

/*
 * CREATE [MATERIALIZED] VIEW in schema s over relations of schema from (or ANY_*
 * when < 0): one source with a column subset, or (views) a join of two.
 * Returns false if there is no source.
 */
static bool
op_create_view(cg_actor *a, const cm_model *m, int s, int from, cm_kind kind, cm_op *op)
{
    int r1 = pick_rel(a, m, from, M_REL);
    if (r1 < 0)
        return false;
    op->kind = CM_OP_CREATE_REL;
    op->rkind = kind;
    snprintf(op->schema, sizeof op->schema, "%s", m->schemas[s].name);
    fresh(a, op->name, kind == CM_VIEW ? "v" : "m");
    const cm_rel *a1 = &m->rels[r1];
    int r2 = kind == CM_VIEW && below(a, 3) == 0 ? pick_rel(a, m, from, M_REL) : -1;
    int j1 = int_col(a, a1), j2 = r2 >= 0 ? int_col(a, &m->rels[r2]) : -1;
    const char *word = kind == CM_VIEW ? "VIEW" : "MATERIALIZED VIEW";
    op->nsrc = 1;
    snprintf(op->src_schema[0], CM_NAME, "%s", m->schemas[a1->schema].name);
    snprintf(op->src[0], CM_NAME, "%s", a1->name);
    if (r2 >= 0 && r2 != r1 && j1 >= 0 && j2 >= 0) { /* a join, qualified throughout */
        const cm_rel *a2 = &m->rels[r2];
        int k1 = (int)below(a, (unsigned)a1->ncols), k2 = (int)below(a, (unsigned)a2->ncols);
        op->nsrc = 2;
        snprintf(op->src_schema[1], CM_NAME, "%s", m->schemas[a2->schema].name);
        snprintf(op->src[1], CM_NAME, "%s", a2->name);
        op->ncols = 2;
        snprintf(op->cols[0].name, CM_NAME, "o1");
        op->cols[0].is_int = a1->cols[k1].is_int;
        snprintf(op->cols[1].name, CM_NAME, "o2");
        op->cols[1].is_int = a2->cols[k2].is_int;
        snprintf(op->sql, sizeof op->sql,
                 "CREATE %s %s.%s AS SELECT a.%s AS o1, b.%s AS o2 FROM %s.%s a JOIN %s.%s b "
                 "ON a.%s = b.%s",
                 word, op->schema, op->name, a1->cols[k1].name, a2->cols[k2].name,
                 op->src_schema[0], op->src[0], op->src_schema[1], op->src[1],
                 a1->cols[j1].name, a2->cols[j2].name);
        return true;
    }
    /* one source: a non-empty subset of its columns, in order */
    int len = op_sql(op, "CREATE %s %s.%s AS SELECT ", word, op->schema,
                       op->name);
    op->ncols = 0;
    for (int k = 0; k < a1->ncols; k++) {
        if (below(a, 3) == 0 && !(k == a1->ncols - 1 && op->ncols == 0))
            continue;
        op->cols[op->ncols++] = a1->cols[k];
        len += snprintf(op->sql + len, sizeof op->sql - (size_t)len, "%s%s",
                        op->ncols > 1 ? ", " : "", a1->cols[k].name);
    }
    snprintf(op->sql + len, sizeof op->sql - (size_t)len, " FROM %s.%s", op->src_schema[0],
             op->src[0]);
    return true;
}

static bool
op_create_index(cg_actor *a, const cm_model *m, int s, int from, cm_op *op)
{
    int t = pick_rel(a, m, from, M_TABLE);
    if (t < 0)
        return false;
    const cm_rel *r = &m->rels[t];
    op->kind = CM_OP_CREATE_INDEX;
    op->rkind = CM_INDEX;
    snprintf(op->schema, sizeof op->schema, "%s", m->schemas[s].name);
    fresh(a, op->name, "i");
    op->nsrc = 1;
    snprintf(op->src_schema[0], CM_NAME, "%s", m->schemas[r->schema].name);
    snprintf(op->src[0], CM_NAME, "%s", r->name);
    if (r->schema != s) /* an index lives in its table's schema */
        snprintf(op->schema, sizeof op->schema, "%s", op->src_schema[0]);
    const cm_col *c = &r->cols[below(a, (unsigned)r->ncols)];
    op_sql(op, "CREATE %sINDEX %s ON %s.%s (%s)",
             below(a, 4) == 0 ? "UNIQUE " : "", op->name, op->src_schema[0], op->src[0], c->name);
    return true;
}

static bool
op_drop(cg_actor *a, const cm_model *m, int s, unsigned mask, cm_op *op)
{
    int r = pick_rel(a, m, s, mask);
    if (r < 0)
        return false;
    op->kind = CM_OP_DROP_REL;
    op->rkind = m->rels[r].kind;
    snprintf(op->schema, sizeof op->schema, "%s", m->schemas[m->rels[r].schema].name);
    snprintf(op->name, sizeof op->name, "%s", m->rels[r].name);
    op_sql(op, "DROP %s %s.%s CASCADE", kw(op->rkind), op->schema, op->name);
    return true;
}

static bool
op_rename(cg_actor *a, const cm_model *m, int s, unsigned mask, cm_op *op)
{
    int r = pick_rel(a, m, s, mask);
    if (r < 0)
        return false;
    const cm_rel *rel = &m->rels[r];
    op->kind = CM_OP_RENAME_REL;
    op->rkind = rel->kind;
    snprintf(op->schema, sizeof op->schema, "%s", m->schemas[rel->schema].name);
    snprintf(op->name, sizeof op->name, "%s", rel->name);
    fresh(a, op->newname, rel->kind == CM_TABLE ? "t" : rel->kind == CM_VIEW ? "v"
                          : rel->kind == CM_MATVIEW ? "m" : "i");
    op_sql(op, "ALTER %s %s.%s RENAME TO %s", kw(op->rkind), op->schema,
             op->name, op->newname);
    return true;
}

static bool
op_rename_col(cg_actor *a, const cm_model *m, int s, cm_op *op)
{
    int r = pick_rel(a, m, s, M_REL);
    if (r < 0)
        return false;
    const cm_rel *rel = &m->rels[r];
    op->kind = CM_OP_RENAME_COL;
    op->rkind = rel->kind;
    snprintf(op->schema, sizeof op->schema, "%s", m->schemas[rel->schema].name);
    snprintf(op->name, sizeof op->name, "%s", rel->name);
    snprintf(op->name2, sizeof op->name2, "%s", rel->cols[below(a, (unsigned)rel->ncols)].name);
    fresh(a, op->newname, "c");
    op_sql(op, "ALTER %s %s.%s RENAME COLUMN %s TO %s", kw(op->rkind),
             op->schema, op->name, op->name2, op->newname);
    return true;
}

static void
op_drop_schema(const cm_model *m, int s, cm_op *op)
{
    op->kind = CM_OP_DROP_SCHEMA;
    snprintf(op->schema, sizeof op->schema, "%s", m->schemas[s].name);
    op_sql(op, "DROP SCHEMA %s CASCADE", op->schema);
}

static void
op_alter_system(cg_actor *a, cm_op *op)
{
    op->kind = CM_OP_ALTER_SYSTEM;
    op->limit = (int)below(a, CM_NLIMITS);
    snprintf(op->name, sizeof op->name, "%s", cm_limit_names[op->limit]);
    if (below(a, 5) == 0) {
        op->value = 0;
        op_sql(op, "ALTER SYSTEM RESET %s", op->name);
    } else { /* far above anything the test creates: limits never bind */
        op->value = 1000000 + (long)below(a, 9000000);
        op_sql(op, "ALTER SYSTEM SET %s = %ld", op->name, op->value);
    }
}

/* A statement the model says fails, in schema s (system: an unknown parameter). */
static void
op_failing(cg_actor *a, const cm_model *m, int s, cm_op *op)
{
    if (a->role == CG_SYSTEM) {
        op->kind = CM_OP_ALTER_SYSTEM;
        op->limit = -1;
        snprintf(op->name, sizeof op->name, "max_nosuch");
        op->value = 5;
        op_sql(op, "ALTER SYSTEM SET max_nosuch = 5");
        return;
    }
    int r = pick_rel(a, m, s, M_ANY);
    unsigned dice = below(a, 3);
    if (r >= 0 && dice == 0) { /* 42P07: a name that exists */
        op->kind = CM_OP_CREATE_REL;
        op->rkind = CM_TABLE;
        snprintf(op->schema, sizeof op->schema, "%s", m->schemas[s].name);
        snprintf(op->name, sizeof op->name, "%s", m->rels[r].name);
        op->ncols = 1;
        snprintf(op->cols[0].name, CM_NAME, "a");
        op->cols[0].is_int = true;
        op_sql(op, "CREATE TABLE %s.%s (a int)", op->schema, op->name);
    } else if (dice == 1) { /* 42P01: DROP of a table that does not exist */
        op->kind = CM_OP_DROP_REL;
        op->rkind = CM_TABLE;
        snprintf(op->schema, sizeof op->schema, "%s", m->schemas[s].name);
        fresh(a, op->name, "nosuch");
        op_sql(op, "DROP TABLE %s.%s CASCADE", op->schema, op->name);
    } else { /* 42P01: a view over a relation that does not exist */
        op->kind = CM_OP_CREATE_REL;
        op->rkind = CM_VIEW;
        snprintf(op->schema, sizeof op->schema, "%s", m->schemas[s].name);
        fresh(a, op->name, "v");
        op->nsrc = 1;
        memcpy(op->src_schema[0], op->schema, CM_NAME);
        fresh(a, op->src[0], "nosuch");
        op->ncols = 1;
        snprintf(op->cols[0].name, CM_NAME, "a");
        op->cols[0].is_int = true;
        op_sql(op, "CREATE VIEW %s.%s AS SELECT a FROM %s.%s", op->schema,
                 op->name, op->src_schema[0], op->src[0]);
    }
}

/* Relations in schema s that actor a named (t<tag>_...). */
static int
count_mine(const cg_actor *a, const cm_model *m, int s)
{
    char prefix[16];
    int n = 0, len = snprintf(prefix, sizeof prefix, "t%s_", a->tag);
    for (int i = 0; i < m->nrels; i++)
        n += m->rels[i].alive && m->rels[i].schema == s &&
             strncmp(m->rels[i].name, prefix, (size_t)len) == 0;
    return n;
}

static bool
alive_schema(const cm_model *m, int s)
{
    return s >= 0 && s < m->nschemas && m->schemas[s].alive;
}

/* The next statement of a client, in its own schema. */
static void
gen_client(cg_actor *a, const cm_model *m, cm_op *op)
{
    int h = m->home[a->id];
    if (!alive_schema(m, h)) {
        op_create_schema(a, op, NULL, a->id);
        return;
    }
    int n = crash_model_count(m, h, -1);
    if (n > CLIENT_CAP) {
        if (below(a, 10) == 0)
            op_drop_schema(m, h, op);
        else
            op_drop(a, m, h, M_ANY, op);
        return;
    }
    int keep = crash_model_schema(m, KEEP_SCHEMA);
    if (keep >= 0 && below(a, 100) < 3 && count_mine(a, m, keep) < KEEP_CAP) {
        op_create_table(a, m, keep, op);
        return;
    }
    for (;;) {
        unsigned d = below(a, 1000) / 10;
        if (d < 24 || n == 0) {
            op_create_table(a, m, h, op);
            return;
        }
        if ((d < 38 && op_create_view(a, m, h, h, CM_VIEW, op)) ||
            (d < 42 && op_create_view(a, m, h, h, CM_MATVIEW, op)) ||
            (d < 52 && op_create_index(a, m, h, h, op)) ||
            (d < 64 && op_drop(a, m, h, M_ANY, op)) ||
            (d < 74 && op_rename(a, m, h, M_ANY, op)) ||
            (d < 86 && op_rename_col(a, m, h, op)))
            return;
        if (d == 86 && below(a, 4) == 0) {
            op_drop_schema(m, h, op);
            return;
        }
    }
}

/* The shared phase: the shared schema, and other actors' schemas. */
static void
gen_shared(cg_actor *a, const cm_model *m, cm_op *op)
{
    int sh = m->home[a->id];
    if (!alive_schema(m, sh)) {
        op_create_schema(a, op, "shared", a->id);
        return;
    }
    if (crash_model_schema(m, KEEP_SCHEMA) < 0) {
        op_create_schema(a, op, KEEP_SCHEMA, -1);
        return;
    }
    int c = (int)below(a, (unsigned)a->nclients); /* some client's schema */
    int hc = m->home[c];
    if (crash_model_count(m, sh, -1) > SHARED_CAP) {
        op_drop(a, m, sh, M_ANY, op);
        return;
    }
    for (;;) {
        unsigned d = below(a, 100);
        if ((d < 28 && op_create_view(a, m, sh, ANY_SCHEMA, CM_VIEW, op)) ||
            (d < 36 && op_create_view(a, m, sh, ANY_SCHEMA, CM_MATVIEW, op)))
            return;
        if (d < 46) {
            op_create_table(a, m, sh, op);
            return;
        }
        if (d < 54 && alive_schema(m, hc)) { /* a table in a client's schema */
            op_create_table(a, m, hc, op);
            return;
        }
        if ((d < 60 && op_create_index(a, m, sh, ANY_BUT_KEEP, op)) ||
            (d < 70 && op_drop(a, m, sh, M_ANY, op)) ||
            (d < 76 && op_rename(a, m, ANY_BUT_KEEP, M_ANY, op)) ||
            (d < 86 && op_rename_col(a, m, ANY_BUT_KEEP, op)))
            return;
        if (d >= 86 && d < 94 && alive_schema(m, hc)) {
            op->kind = CM_OP_RENAME_SCHEMA;
            snprintf(op->schema, sizeof op->schema, "%s", m->schemas[hc].name);
            fresh(a, op->newname, "s");
            op_sql(op, "ALTER SCHEMA %s RENAME TO %s", op->schema,
                     op->newname);
            return;
        }
        if (d >= 94 && alive_schema(m, hc)) { /* the client makes itself a new one */
            op_drop_schema(m, hc, op);
            return;
        }
    }
}

void
crash_gen_txn(cg_actor *a, cm_model *scratch, cg_txn *t)
{
    memset(t, 0, sizeof *t);
    unsigned d = below(a, 100);
    int nok;
    if (d < 55) {
        t->form = CG_SINGLE, nok = 1;
    } else if (d < 61) { /* a single statement that fails */
        t->form = CG_SINGLE, nok = 0, t->fails = true;
    } else if (d < 75) {
        t->form = CG_BLOCK, nok = 2 + (int)below(a, 3);
    } else if (d < 89) {
        t->form = CG_MULTI, nok = 2 + (int)below(a, 3);
    } else if (d < 95) {
        t->form = CG_BLOCK, nok = 1 + (int)below(a, 3), t->fails = true;
        t->end_with_commit = below(a, 2) == 0;
    } else {
        t->form = CG_MULTI, nok = 1 + (int)below(a, 3), t->fails = true;
    }
    for (int i = 0; i < nok; i++) {
        cm_op *op = &t->ops[t->nops++];
        memset(op, 0, sizeof *op);
        op->home_actor = -1;
        if (a->role == CG_SYSTEM)
            op_alter_system(a, op);
        else if (a->role == CG_SHARED)
            gen_shared(a, scratch, op);
        else
            gen_client(a, scratch, op);
        apply_or_die(scratch, op);
    }
    if (t->fails) {
        cm_op *op = &t->ops[t->nops++];
        memset(op, 0, sizeof *op);
        op->home_actor = -1;
        int s = scratch->home[a->id];
        if (a->role != CG_SYSTEM && !alive_schema(scratch, s))
            s = 0; /* public */
        op_failing(a, scratch, s, op);
        const char *st = crash_model_apply(scratch, op, NULL, 0); /* a failure changes nothing */
        if (st == NULL) {
            fprintf(stderr, "crash_server: test bug: `%s` was meant to fail\n", op->sql);
            abort();
        }
        snprintf(op->expect, sizeof op->expect, "%s", st);
    }
}

void
crash_gen_describe(const cg_txn *t, char *buf, size_t n)
{
    size_t len = 0;
    buf[0] = '\0';
    if (t->form == CG_BLOCK)
        len += (size_t)snprintf(buf + len, n - len, "BEGIN; ");
    for (int i = 0; i < t->nops && len < n; i++)
        len += (size_t)snprintf(buf + len, n - len, "%s%s", t->ops[i].sql,
                                i + 1 < t->nops || t->form == CG_BLOCK ? "; " : "");
    if (t->form == CG_BLOCK && len < n)
        snprintf(buf + len, n - len, "%s", t->fails && !t->end_with_commit ? "ROLLBACK" : "COMMIT");
}

bool
crash_gen_apply(cm_model *m, const cg_txn *const *txns, int n, unsigned mask)
{
    for (int i = 0; i < n; i++) {
        if (!(mask & (1u << i)))
            continue;
        for (int k = 0; k < txns[i]->nops; k++)
            if (crash_model_apply(m, &txns[i]->ops[k], NULL, 0) != NULL)
                return false;
    }
    return true;
}

void
crash_gen_actor_init(cg_actor *a, int id, int nclients)
{
    a->id = id;
    a->nclients = nclients;
    a->role = id < nclients ? CG_CLIENT : id == nclients ? CG_SHARED : CG_SYSTEM;
    if (id < nclients)
        snprintf(a->tag, sizeof a->tag, "%d", id);
    else
        snprintf(a->tag, sizeof a->tag, "x");
}
