/*
 * tests/catalog/test_catalog_model.c — a model-based property test of the
 * catalog: seeded random transactions of creates (schemas, tables with and
 * without foreign keys, views over random relations, indexes), drops
 * (RESTRICT and CASCADE, of items and schemas), renames, comments and
 * max_tables changes, with deliberate errors (duplicate names, drops of
 * objects with dependents, ops on dropped objects, creates past the limit),
 * against a reference model of plain arrays.
 *
 * After every step: cat_check passes; every live model object is found by
 * name with its ref, kind, schema, uses and dependent count; dropped objects
 * are gone; counts per kind and per schema and comments equal the model's;
 * a failed transaction leaves the fingerprint and the uppers unchanged.
 * Every REOPEN_EVERY steps the catalog is closed and reopened over the same
 * persist client and must have the same fingerprint.
 *
 * The model's rules (what the header promises): a table's indexes go with it
 * even under RESTRICT; RESTRICT fails (2BP01) if any dependent or schema
 * member lies outside the dropped set; CASCADE drops dependents and members
 * transitively, except that a table referencing a dropped table by a foreign
 * key only loses that use; limits are checked at commit for counts that grew.
 *
 * Replay: COWCAT_TEST_SEED=<seed> ./tests/test_catalog --filter 'cat_model/random*'
 */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cat_testutil.h"
#include "testutil.h"

#define M_MAX        4096 /* model objects ever created in one run */
#define M_MAX_USES   4
#define M_HIST       24 /* ops remembered for a failure report */
#define REL_POOL     64 /* relation names r0..r63: duplicates happen */
#define SCHEMA_POOL  6  /* schema names s0..s5 */
#define REOPEN_EVERY 40
#define ROUNDS       6
#define STEPS        600

typedef struct mobj {
    cat_ref ref;
    cat_kind kind;  /* SCHEMA, TABLE, VIEW, MATERIALIZED_VIEW, INDEX */
    cat_ref parent; /* schema of an item; database of a schema */
    char name[16];
    int nuses;
    cat_ref uses[M_MAX_USES];
    bool alive;
    char comment[24]; /* "" = none */
} mobj;

typedef struct cmodel {
    int n;
    int64_t max_tables;
    mobj o[M_MAX];
} cmodel;

typedef struct mctx {
    uint64_t base_seed; /* the printed seed (replay with it) */
    int round;
    uint64_t seed; /* this round's seed: base_seed + round */
    int step;
    tu_rng rng;
    cfix f;
    cmodel *m; /* committed */
    cmodel *w; /* the open transaction's working copy */
    char hist[M_HIST][128];
    int nhist;                  /* ops recorded so far */
    int outcome[CC_CODE_COUNT]; /* ops by result code (CC_LIMIT: refused commits) */
    int commits, aborts;        /* transactions */
    int cascades;               /* CASCADE drops that took more than their target */
    int fk_strips;              /* survivors that lost a foreign-key use */
} mctx;

static void
cmodel_copy(cmodel *dst, const cmodel *src)
{
    dst->n = src->n;
    dst->max_tables = src->max_tables;
    memcpy(dst->o, src->o, (size_t)src->n * sizeof src->o[0]);
}

/* ---- failure reports --------------------------------------------------------------------------
 */

static void
note(mctx *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->hist[c->nhist % M_HIST], sizeof c->hist[0], fmt, ap);
    va_end(ap);
    c->nhist++;
}

static const char *
last_note(const mctx *c)
{
    return c->nhist > 0 ? c->hist[(c->nhist - 1) % M_HIST] : "-";
}

static void
mexpect(mctx *c, bool ok, const char *fmt, ...)
{
    if (ok)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "cat_model: seed %llu round %d step %d: %s\nlast ops (oldest first):\n",
            (unsigned long long)c->base_seed, c->round, c->step, msg);
    int from = c->nhist > M_HIST ? c->nhist - M_HIST : 0;
    for (int i = from; i < c->nhist; i++)
        fprintf(stderr, "  #%d %s\n", i, c->hist[i % M_HIST]);
    cr_assert_fail("seed %llu round %d step %d: %s (replay: COWCAT_TEST_SEED=%llu)",
                   (unsigned long long)c->base_seed, c->round, c->step, msg,
                   (unsigned long long)c->base_seed);
}

/* ---- model queries ----------------------------------------------------------------------------
 */

static bool
is_item(cat_kind k)
{
    return k == CAT_KIND_TABLE || k == CAT_KIND_VIEW || k == CAT_KIND_MATERIALIZED_VIEW ||
           k == CAT_KIND_INDEX;
}

static int
find_ref(const cmodel *m, cat_ref r)
{
    for (int i = 0; i < m->n; i++)
        if (m->o[i].ref == r)
            return i;
    return -1;
}

static const mobj *
schema_of(const cmodel *m, const mobj *o)
{
    int i = find_ref(m, o->parent);
    cr_assert_geq(i, 0);
    return &m->o[i];
}

/* The live relation named name in schema, or -1. */
static int
find_relation(const cmodel *m, cat_ref schema, const char *name)
{
    for (int i = 0; i < m->n; i++)
        if (m->o[i].alive && is_item(m->o[i].kind) && m->o[i].parent == schema &&
            strcmp(m->o[i].name, name) == 0)
            return i;
    return -1;
}

static int
find_schema(const cmodel *m, const char *name)
{
    for (int i = 0; i < m->n; i++)
        if (m->o[i].alive && m->o[i].kind == CAT_KIND_SCHEMA && strcmp(m->o[i].name, name) == 0)
            return i;
    return -1;
}

static bool
uses(const mobj *o, cat_ref r)
{
    for (int k = 0; k < o->nuses; k++)
        if (o->uses[k] == r)
            return true;
    return false;
}

static uint64_t
count_users(const cmodel *m, cat_ref r)
{
    uint64_t n = 0;
    for (int i = 0; i < m->n; i++)
        if (m->o[i].alive && uses(&m->o[i], r))
            n++;
    return n;
}

static uint64_t
count_members(const cmodel *m, cat_ref parent)
{
    uint64_t n = 0;
    for (int i = 0; i < m->n; i++)
        if (m->o[i].alive && m->o[i].parent == parent)
            n++;
    return n;
}

static uint64_t
count_kind(const cmodel *m, cat_kind k)
{
    uint64_t n = 0;
    for (int i = 0; i < m->n; i++)
        if (m->o[i].alive && m->o[i].kind == k)
            n++;
    return n;
}

typedef bool (*mpred)(const mobj *o);

static bool
p_item(const mobj *o)
{
    return is_item(o->kind);
}
static bool
p_readable(const mobj *o)
{
    return o->kind == CAT_KIND_TABLE || o->kind == CAT_KIND_VIEW ||
           o->kind == CAT_KIND_MATERIALIZED_VIEW;
}
static bool
p_table(const mobj *o)
{
    return o->kind == CAT_KIND_TABLE;
}
static bool
p_schema(const mobj *o)
{
    return o->kind == CAT_KIND_SCHEMA;
}
static bool
p_user_schema(const mobj *o)
{
    return o->kind == CAT_KIND_SCHEMA && o->ref != CT_SCHEMA_PUBLIC;
}
static bool
p_any(const mobj *o)
{
    (void)o;
    return true;
}

/* A uniformly random object matching pred that is alive (or dead), or -1. */
static int
pick(mctx *c, const cmodel *m, mpred pred, bool alive)
{
    int cand = 0, chosen = -1;
    for (int i = 0; i < m->n; i++) {
        if (m->o[i].alive != alive || !pred(&m->o[i]))
            continue;
        cand++;
        if (tu_rng_below(&c->rng, (uint64_t)cand) == 0)
            chosen = i;
    }
    return chosen;
}

/* ---- the drop rules -----------------------------------------------------------------------------
 */

/*
 * The model's drop of the objects idx[0..n): returns the expected code and,
 * on CC_OK, applies it to m (dead objects, stripped foreign-key uses).
 */
static cc_code
cmodel_drop(cmodel *m, const int *idx, int n, cat_drop_behavior b)
{
    bool *in = calloc((size_t)m->n, sizeof *in);
    cr_assert_not_null(in);
    cc_code rc = CC_OK;
    for (int k = 0; k < n; k++) {
        if (!m->o[idx[k]].alive) {
            rc = CC_NOT_FOUND;
            goto out;
        }
        in[idx[k]] = true;
    }
    for (bool grew = true; grew;) {
        grew = false;
        for (int j = 0; j < m->n; j++) {
            mobj *o = &m->o[j];
            if (!o->alive || in[j])
                continue;
            bool add = false;
            int p = is_item(o->kind) ? find_ref(m, o->parent) : -1;
            if (p >= 0 && in[p]) {
                if (b == CAT_DROP_RESTRICT) {
                    rc = CC_DEPENDENTS;
                    goto out;
                }
                add = true;
            }
            for (int u = 0; u < o->nuses && !add; u++) {
                int d = find_ref(m, o->uses[u]);
                if (d < 0 || !in[d])
                    continue;
                if (o->kind == CAT_KIND_INDEX)
                    add = true; /* a table's indexes go with it */
                else if (b == CAT_DROP_RESTRICT) {
                    rc = CC_DEPENDENTS;
                    goto out;
                } else if (o->kind != CAT_KIND_TABLE)
                    add = true; /* a referencing table only loses the use */
            }
            if (add) {
                in[j] = true;
                grew = true;
            }
        }
    }
    for (int j = 0; j < m->n; j++) {
        if (in[j]) {
            m->o[j].alive = false;
            m->o[j].comment[0] = '\0';
        }
    }
    for (int j = 0; j < m->n; j++) {
        mobj *o = &m->o[j];
        if (!o->alive)
            continue;
        int k = 0;
        for (int u = 0; u < o->nuses; u++) {
            int d = find_ref(m, o->uses[u]);
            if (d >= 0 && in[d])
                continue;
            o->uses[k++] = o->uses[u];
        }
        o->nuses = k;
    }
out:
    free(in);
    return rc;
}

/* ---- ops
 * ------------------------------------------------------------------------------------------ */

/* Applies op in txn and compares with the model's expectation; returns whether it applied. */
static bool
apply(mctx *c, cat_txn *txn, const cat_op *op, cc_code want, const char *sqlstate, const char *msg,
      cat_ref *created)
{
    cc_err err;
    cc_err_clear(&err);
    cat_ref got = 0;
    cc_code rc = cat_txn_apply(txn, op, &got, &err);
    mexpect(c, rc == want, "%s: got %s \"%s\", the model expects %s", last_note(c),
            cc_code_name(rc), err.msg, cc_code_name(want));
    c->outcome[rc]++;
    if (rc != CC_OK && sqlstate != NULL)
        mexpect(c, strcmp(cc_err_sqlstate(&err), sqlstate) == 0, "%s: SQLSTATE %s, want %s (%s)",
                last_note(c), cc_err_sqlstate(&err), sqlstate, err.msg);
    if (rc != CC_OK && msg != NULL)
        mexpect(c, strcmp(err.msg, msg) == 0, "%s: message \"%s\", want \"%s\"", last_note(c),
                err.msg, msg);
    if (created != NULL)
        *created = got;
    return rc == CC_OK;
}

static mobj *
cmodel_add(mctx *c, cat_kind kind, cat_ref parent, const char *name)
{
    cr_assert_lt(c->w->n, M_MAX, "model full");
    mobj *o = &c->w->o[c->w->n++];
    memset(o, 0, sizeof *o);
    o->kind = kind;
    o->parent = parent;
    o->alive = true;
    snprintf(o->name, sizeof o->name, "%s", name);
    return o;
}

static void
rel_name(mctx *c, char *buf)
{
    sprintf(buf, "r%u", (unsigned)tu_rng_below(&c->rng, REL_POOL));
}

static bool
op_create_item(mctx *c, cat_txn *txn, cat_kind kind)
{
    cmodel *w = c->w;
    int s = pick(c, w, p_schema, true);
    cr_assert_geq(s, 0, "public always exists");
    cat_ref schema = w->o[s].ref;
    char name[16];
    rel_name(c, name);
    cat_ref use[M_MAX_USES];
    int nuses = 0;
    if (kind == CAT_KIND_VIEW || kind == CAT_KIND_MATERIALIZED_VIEW) {
        int k = 1 + (int)tu_rng_below(&c->rng, 3);
        for (int i = 0; i < k; i++) {
            int u = pick(c, w, p_readable, true);
            bool dup = false;
            for (int j = 0; j < nuses && u >= 0; j++)
                dup |= use[j] == w->o[u].ref;
            if (u >= 0 && !dup)
                use[nuses++] = w->o[u].ref;
        }
        if (nuses == 0)
            kind = CAT_KIND_TABLE;
    } else if (kind == CAT_KIND_INDEX) {
        int t = pick(c, w, p_table, true);
        if (t < 0)
            kind = CAT_KIND_TABLE;
        else {
            use[nuses++] = w->o[t].ref;
            schema = w->o[t].parent; /* an index lives with its table */
        }
    }

    ct_cols cols;
    ct_cols_init(&cols, 1 + tu_rng_below(&c->rng, 3));
    Cowcat__Catalog__CatalogId pid = COWCAT__CATALOG__CATALOG_ID__INIT;
    Cowcat__Catalog__Constraint fk = COWCAT__CATALOG__CONSTRAINT__INIT;
    Cowcat__Catalog__Constraint *cons[1] = {&fk};
    char *c1[] = {"c1"};
    cat_op op;
    if (kind == CAT_KIND_TABLE) {
        op = ct_op_table(schema, name, &cols);
        int p = tu_rng_chance(&c->rng, 25) ? pick(c, w, p_table, true) : -1;
        if (p >= 0) {
            pid.value = cat_ref_value(w->o[p].ref);
            fk.name = "fk";
            fk.kind = COWCAT__CATALOG__CONSTRAINT_KIND__CONSTRAINT_KIND_FOREIGN_KEY;
            fk.n_columns = 1;
            fk.columns = c1;
            fk.ref_table_opt_case = COWCAT__CATALOG__CONSTRAINT__REF_TABLE_OPT_REF_TABLE;
            fk.ref_table = &pid;
            fk.n_ref_columns = 1;
            fk.ref_columns = c1;
            op.u.create_item.nconstraints = 1;
            op.u.create_item.constraints = cons;
            use[nuses++] = w->o[p].ref;
        }
    } else {
        op = ct_op_item(kind, schema, name, NULL, 0);
    }
    op.u.create_item.nuses = (size_t)nuses;
    op.u.create_item.uses = nuses > 0 ? use : NULL;

    char buf[24];
    int sidx = find_ref(w, schema);
    note(c, "create %s %s.%s (%d uses, first %s)", cat_kind_name(kind), w->o[sidx].name, name,
         nuses, nuses > 0 ? cat_ref_str(use[0], buf) : "-");
    if (find_relation(w, schema, name) >= 0) {
        char msg[96];
        snprintf(msg, sizeof msg, "relation \"%s.%s\" already exists", w->o[sidx].name, name);
        return apply(c, txn, &op, CC_EXISTS, "42P07", msg, NULL);
    }
    cat_ref created;
    if (!apply(c, txn, &op, CC_OK, NULL, NULL, &created))
        return false;
    mexpect(c, cat_ref_class(created) == CAT_CLASS_ITEM, "created ref class %d",
            (int)cat_ref_class(created));
    mobj *o = cmodel_add(c, kind, schema, name);
    o->ref = created;
    o->nuses = nuses;
    memcpy(o->uses, use, (size_t)nuses * sizeof use[0]);
    return true;
}

static bool
op_create_schema(mctx *c, cat_txn *txn)
{
    char name[16];
    sprintf(name, "s%u", (unsigned)tu_rng_below(&c->rng, SCHEMA_POOL));
    cat_op op = ct_op_schema(CT_DB_COWCAT, name);
    note(c, "create schema %s", name);
    if (find_schema(c->w, name) >= 0) {
        char msg[64];
        snprintf(msg, sizeof msg, "schema \"%s\" already exists", name);
        return apply(c, txn, &op, CC_EXISTS, "42P06", msg, NULL);
    }
    cat_ref created;
    if (!apply(c, txn, &op, CC_OK, NULL, NULL, &created))
        return false;
    mobj *o = cmodel_add(c, CAT_KIND_SCHEMA, CT_DB_COWCAT, name);
    o->ref = created;
    return true;
}

static bool
op_drop(mctx *c, cat_txn *txn, mpred pred, cat_drop_behavior b, bool dead)
{
    int i = pick(c, c->w, pred, !dead);
    if (i < 0)
        return op_create_item(c, txn, CAT_KIND_TABLE);
    cat_ref r = c->w->o[i].ref;
    cat_op op = ct_op_drop(&r, 1, b);
    note(c, "drop %s%s %s %s", dead ? "dropped " : "", cat_kind_name(c->w->o[i].kind),
         c->w->o[i].name, b == CAT_DROP_CASCADE ? "CASCADE" : "RESTRICT");
    cmodel *trial = malloc(sizeof *trial);
    cr_assert_not_null(trial);
    cmodel_copy(trial, c->w);
    cc_code want = cmodel_drop(trial, &i, 1, b);
    bool ok = apply(c, txn, &op, want, want == CC_DEPENDENTS ? "2BP01" : NULL, NULL, NULL);
    if (ok) {
        int died = 0, stripped = 0;
        for (int j = 0; j < trial->n; j++) {
            died += c->w->o[j].alive && !trial->o[j].alive;
            stripped += trial->o[j].alive && trial->o[j].nuses < c->w->o[j].nuses;
        }
        c->cascades += died > 1;
        c->fk_strips += stripped;
        cmodel_copy(c->w, trial);
    }
    free(trial);
    return ok;
}

static bool
op_rename(mctx *c, cat_txn *txn, bool dead)
{
    int i = pick(c, c->w, p_item, !dead);
    if (i < 0)
        return op_create_schema(c, txn);
    mobj *o = &c->w->o[i];
    char name[16];
    do
        rel_name(c, name);
    while (strcmp(name, o->name) == 0);
    cat_op op = ct_op_rename(o->ref, name);
    const mobj *s = schema_of(c->w, o);
    note(c, "rename %s%s %s.%s to %s", dead ? "dropped " : "", cat_kind_name(o->kind), s->name,
         o->name, name);
    if (dead)
        return apply(c, txn, &op, CC_NOT_FOUND, NULL, NULL, NULL);
    if (find_relation(c->w, o->parent, name) >= 0) {
        char msg[96];
        snprintf(msg, sizeof msg, "relation \"%s.%s\" already exists", s->name, name);
        return apply(c, txn, &op, CC_EXISTS, "42P07", msg, NULL);
    }
    if (!apply(c, txn, &op, CC_OK, NULL, NULL, NULL))
        return false;
    snprintf(o->name, sizeof o->name, "%s", name);
    return true;
}

static bool
op_comment(mctx *c, cat_txn *txn)
{
    int i = pick(c, c->w, p_any, true);
    mobj *o = &c->w->o[i];
    char text[24];
    const char *comment = text;
    if (o->comment[0] != '\0' && tu_rng_chance(&c->rng, 40))
        comment = NULL;
    else
        snprintf(text, sizeof text, "note %u", (unsigned)tu_rng_below(&c->rng, 1000));
    cat_op op = ct_op_comment(o->ref, 0, comment);
    note(c, "comment on %s %s: %s", cat_kind_name(o->kind), o->name,
         comment != NULL ? comment : "(remove)");
    if (!apply(c, txn, &op, CC_OK, NULL, NULL, NULL))
        return false;
    snprintf(o->comment, sizeof o->comment, "%s", comment != NULL ? comment : "");
    return true;
}

static bool
op_view_over_dropped(mctx *c, cat_txn *txn)
{
    int d = pick(c, c->w, p_readable, false);
    if (d < 0)
        return op_comment(c, txn);
    char name[16];
    sprintf(name, "x%d", c->step);
    cat_op op = ct_op_item(CAT_KIND_VIEW, CT_SCHEMA_PUBLIC, name, &c->w->o[d].ref, 1);
    note(c, "create view public.%s over dropped %s", name, c->w->o[d].name);
    return apply(c, txn, &op, CC_NOT_FOUND, NULL, NULL, NULL);
}

static bool
op_set_limit(mctx *c, cat_txn *txn)
{
    int64_t v = (int64_t)count_kind(c->w, CAT_KIND_TABLE) + (int64_t)tu_rng_below(&c->rng, 12);
    char val[24];
    snprintf(val, sizeof val, "%lld", (long long)v);
    cat_op op = ct_op_config_set("max_tables", val);
    note(c, "set max_tables %s", val);
    if (!apply(c, txn, &op, CC_OK, NULL, NULL, NULL))
        return false;
    c->w->max_tables = v;
    return true;
}

/* One random op; alone: the only op of its transaction (limit changes are). */
static bool
random_op(mctx *c, cat_txn *txn, bool alone)
{
    uint64_t x = tu_rng_below(&c->rng, 100);
    if (x < 22)
        return op_create_item(c, txn, CAT_KIND_TABLE);
    if (x < 34)
        return op_create_item(c, txn, CAT_KIND_VIEW);
    if (x < 37)
        return op_create_item(c, txn, CAT_KIND_MATERIALIZED_VIEW);
    if (x < 45)
        return op_create_item(c, txn, CAT_KIND_INDEX);
    if (x < 50)
        return op_create_schema(c, txn);
    if (x < 57)
        return op_drop(c, txn, p_item, CAT_DROP_RESTRICT, false);
    if (x < 62)
        return op_drop(c, txn, p_item, CAT_DROP_CASCADE, false);
    if (x < 65)
        return op_drop(c, txn, p_user_schema, CAT_DROP_RESTRICT, false);
    if (x < 66)
        return op_drop(c, txn, p_user_schema, CAT_DROP_CASCADE, false);
    if (x < 70)
        return op_create_item(c, txn, CAT_KIND_TABLE);
    if (x < 78)
        return op_rename(c, txn, false);
    if (x < 85)
        return op_comment(c, txn);
    if (x < 88)
        return op_view_over_dropped(c, txn);
    if (x < 90)
        return op_drop(c, txn, p_item, CAT_DROP_RESTRICT, true);
    if (x < 92)
        return op_rename(c, txn, true);
    if (x < 94 && alone)
        return op_set_limit(c, txn);
    return op_create_item(c, txn, CAT_KIND_TABLE);
}

/* ---- comparing the state with the model ------------------------------------------------------ */

static void
expect_model(mctx *c, const cat_state *s)
{
    const cmodel *m = c->m;
    cc_err err;
    cc_err_clear(&err);
    cc_code rc = cat_check(s, NULL, NULL, &err);
    mexpect(c, rc == CC_OK, "cat_check: %s", err.msg);
    for (int i = 0; i < m->n; i++) {
        const mobj *o = &m->o[i];
        char rb[24];
        if (!o->alive) {
            mexpect(c, cat_state_find(s, o->ref) == NULL, "dropped %s %s (%s) is still there",
                    cat_kind_name(o->kind), o->name, cat_ref_str(o->ref, rb));
            continue;
        }
        const cat_object *got = o->kind == CAT_KIND_SCHEMA
                                    ? cat_state_find_schema(s, CT_DB_COWCAT, o->name)
                                    : cat_state_find_relation(s, o->parent, o->name);
        mexpect(c, got != NULL, "%s %s (%s) not found by name", cat_kind_name(o->kind), o->name,
                cat_ref_str(o->ref, rb));
        mexpect(c, got->ref == o->ref, "%s %s: ref differs", cat_kind_name(o->kind), o->name);
        mexpect(c, got->kind == o->kind, "%s: kind %s, want %s", o->name, cat_kind_name(got->kind),
                cat_kind_name(o->kind));
        mexpect(c, got->parent == o->parent, "%s: parent differs", o->name);
        mexpect(c, got->nuses == (size_t)o->nuses, "%s: %zu uses, want %d", o->name, got->nuses,
                o->nuses);
        for (int k = 0; k < o->nuses; k++) {
            bool found = false;
            for (size_t j = 0; j < got->nuses; j++)
                found |= got->uses[j] == o->uses[k];
            mexpect(c, found, "%s: use %s missing", o->name, cat_ref_str(o->uses[k], rb));
        }
        uint64_t users = count_users(m, o->ref);
        mexpect(c, cat_state_count_used_by(s, o->ref) == users, "%s: %llu dependents, want %llu",
                o->name, (unsigned long long)cat_state_count_used_by(s, o->ref),
                (unsigned long long)users);
        if (o->kind == CAT_KIND_SCHEMA) {
            uint64_t members = count_members(m, o->ref);
            mexpect(c, cat_state_count_members(s, o->ref) == members,
                    "schema %s: %llu members, want %llu", o->name,
                    (unsigned long long)cat_state_count_members(s, o->ref),
                    (unsigned long long)members);
        }
        const char *cm = cat_state_comment(s, o->ref, 0);
        if (o->comment[0] == '\0')
            mexpect(c, cm == NULL, "%s: comment \"%s\", want none", o->name, cm);
        else
            mexpect(c, cm != NULL && strcmp(cm, o->comment) == 0, "%s: comment \"%s\", want \"%s\"",
                    o->name, cm != NULL ? cm : "(none)", o->comment);
    }
    const cat_kind kinds[] = {CAT_KIND_TABLE, CAT_KIND_VIEW, CAT_KIND_MATERIALIZED_VIEW,
                              CAT_KIND_INDEX};
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++)
        mexpect(c, cat_state_count(s, kinds[k]) == count_kind(m, kinds[k]),
                "%s count %llu, want %llu", cat_kind_name(kinds[k]),
                (unsigned long long)cat_state_count(s, kinds[k]),
                (unsigned long long)count_kind(m, kinds[k]));
    uint64_t schemas = count_kind(m, CAT_KIND_SCHEMA);
    mexpect(c, cat_state_count(s, CAT_KIND_SCHEMA) == schemas + 2, "schema count %llu, want %llu",
            (unsigned long long)cat_state_count(s, CAT_KIND_SCHEMA),
            (unsigned long long)(schemas + 2));
    mexpect(c, cat_state_count_members(s, CT_DB_COWCAT) == schemas, "database members");
    mexpect(c, cat_state_limit(s, CAT_LIMIT_TABLES) == m->max_tables, "max_tables %lld, want %lld",
            (long long)cat_state_limit(s, CAT_LIMIT_TABLES), (long long)m->max_tables);
}

/* ---- the run
 * ------------------------------------------------------------------------------------- */

static void
run_step(mctx *c)
{
    cmodel_copy(c->w, c->m);
    ct_mark before = ct_mark_take(c->f.cat);
    uint64_t tables0 = count_kind(c->m, CAT_KIND_TABLE);
    cat_txn *txn;
    cc_err err;
    cc_err_clear(&err);
    mexpect(c, cat_txn_begin(c->f.cat, NULL, &txn, &err) == CC_OK, "begin: %s", err.msg);
    int nops = tu_rng_chance(&c->rng, 70) ? 1 : 2 + (int)tu_rng_below(&c->rng, 2);
    bool ok = true;
    for (int i = 0; i < nops && ok; i++)
        ok = random_op(c, txn, nops == 1);
    bool committed = false;
    if (!ok) {
        cat_txn_abort(txn);
    } else {
        uint64_t tables = count_kind(c->w, CAT_KIND_TABLE);
        bool over = (int64_t)tables > c->w->max_tables && tables > tables0;
        cc_err_clear(&err);
        cc_code rc = cat_txn_commit(txn, &err);
        if (over) {
            mexpect(c, rc == CC_LIMIT, "commit past max_tables (%llu > %lld): got %s \"%s\"",
                    (unsigned long long)tables, (long long)c->w->max_tables, cc_code_name(rc),
                    err.msg);
            mexpect(c, strcmp(cc_err_sqlstate(&err), "53400") == 0, "limit SQLSTATE %s",
                    cc_err_sqlstate(&err));
            note(c, "  (commit refused: max_tables)");
            c->outcome[CC_LIMIT]++;
        } else {
            mexpect(c, rc == CC_OK, "commit: %s \"%s\"", cc_code_name(rc), err.msg);
            committed = true;
        }
    }
    c->commits += committed;
    c->aborts += !committed;
    if (committed) {
        cmodel *t = c->m;
        c->m = c->w;
        c->w = t;
    } else {
        ct_mark after = ct_mark_take(c->f.cat);
        mexpect(c, pmap_fp_equal(after.fp, before.fp),
                "a failed transaction changed the fingerprint");
        mexpect(c, after.upper == before.upper && after.dur_upper == before.dur_upper,
                "a failed transaction moved the upper");
    }
    expect_model(c, cat_state_acquire(c->f.cat));
}

/* A name hash with 4 values: most names collide, so the exact-key overflow
 * map and every path through it (create, rename, drop, reload) get used. */
static uint64_t
colliding_hash(const void *p, size_t n)
{
    (void)p;
    return n & 3;
}

static void
run_round(uint64_t base_seed, int round, persist_backend_kind kind,
          uint64_t (*name_hash)(const void *, size_t))
{
    mctx *c = calloc(1, sizeof *c);
    cr_assert_not_null(c);
    c->base_seed = base_seed;
    c->round = round;
    c->seed = base_seed + (uint64_t)round;
    tu_rng_init(&c->rng, c->seed);
    c->m = calloc(1, sizeof *c->m);
    c->w = calloc(1, sizeof *c->w);
    cr_assert(c->m != NULL && c->w != NULL);
    mobj *pub = &c->m->o[c->m->n++];
    pub->ref = CT_SCHEMA_PUBLIC;
    pub->kind = CAT_KIND_SCHEMA;
    pub->parent = CT_DB_COWCAT;
    pub->alive = true;
    snprintf(pub->name, sizeof pub->name, "public");
    c->m->max_tables = 10000000;
    cat_options o = {.check = CAT_CHECK_INCREMENTAL, .name_hash = name_hash};
    cfix_open(&c->f, kind, &o);
    expect_model(c, cst(&c->f));
    for (c->step = 1; c->step <= STEPS; c->step++) {
        run_step(c);
        if (c->step % REOPEN_EVERY == 0) {
            pmap_fp fp = cat_state_fp(cst(&c->f));
            note(c, "reopen");
            cfix_reopen(&c->f);
            mexpect(c, pmap_fp_equal(cat_state_fp(cst(&c->f)), fp),
                    "the reopened catalog has another fingerprint");
            expect_model(c, cst(&c->f));
        }
    }
    fprintf(stderr,
            "cat_model round %d: %d commits, %d failed transactions; ops ok %d, EXISTS %d, "
            "DEPENDENTS %d, NOT_FOUND %d; LIMIT commits %d; cascades %d, fk strips %d; "
            "%d objects made, %llu tables / %llu views / %llu indexes at the end\n",
            c->round, c->commits, c->aborts, c->outcome[CC_OK], c->outcome[CC_EXISTS],
            c->outcome[CC_DEPENDENTS], c->outcome[CC_NOT_FOUND], c->outcome[CC_LIMIT], c->cascades,
            c->fk_strips, c->m->n, (unsigned long long)count_kind(c->m, CAT_KIND_TABLE),
            (unsigned long long)count_kind(c->m, CAT_KIND_VIEW),
            (unsigned long long)count_kind(c->m, CAT_KIND_INDEX));
    /* the generator must reach every kind of outcome, or the run proves little */
    mexpect(c,
            c->outcome[CC_EXISTS] > 0 && c->outcome[CC_DEPENDENTS] > 0 &&
                c->outcome[CC_NOT_FOUND] > 0 && c->outcome[CC_LIMIT] > 0 && c->cascades > 0,
            "the run missed an outcome (EXISTS %d, DEPENDENTS %d, NOT_FOUND %d, LIMIT %d, "
            "cascades %d)",
            c->outcome[CC_EXISTS], c->outcome[CC_DEPENDENTS], c->outcome[CC_NOT_FOUND],
            c->outcome[CC_LIMIT], c->cascades);
    mexpect(c, count_kind(c->m, CAT_KIND_TABLE) + count_kind(c->m, CAT_KIND_VIEW) > 0,
            "the run ended with an empty catalog (generator too destructive?)");
    cfix_close(&c->f);
    free(c->m);
    free(c->w);
    free(c);
}

Test(cat_model, random_transactions_match_the_reference_model)
{
    uint64_t seed = tu_seed("cat_model");
    for (int r = 0; r < ROUNDS; r++)
        run_round(seed, r, r == 0 ? PERSIST_BACKEND_FILE : PERSIST_BACKEND_MEM, NULL);
}

Test(cat_model, names_whose_hashes_collide_behave_the_same)
{
    uint64_t seed = tu_seed("cat_model_collisions");
    run_round(seed, 0, PERSIST_BACKEND_FILE, colliding_hash);
    run_round(seed, 1, PERSIST_BACKEND_MEM, colliding_hash);
}
