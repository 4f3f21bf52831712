/*
 * tests/catalog/cat_testutil.c — fixtures for the in-memory catalog tests (see the header).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "cat_testutil.h"

cat_catalog *
copen(dur_catalog *dur, const cat_options *o)
{
    cat_catalog *cat;
    cc_err err;
    cc_code rc = cat_open(dur, o, &cat, &err);
    cr_assert_eq(rc, CC_OK, "cat_open: %s", err.msg);
    cr_assert_not_null(cat);
    return cat;
}

dur_catalog *
dopen_external(persist_client *c)
{
    dur_options o = {
        .mode = DUR_MODE_WRITABLE, .deploy_generation = 1, .names = DUR_NAMES_EXTERNAL};
    dur_catalog *dur;
    cc_err err;
    cc_code rc = dur_open(c, &o, &dur, &err);
    cr_assert_eq(rc, CC_OK, "dur_open: %s", err.msg);
    return dur;
}

void
cfix_open_with(cfix *f, persist_backend_kind kind, const persist_options *tmpl,
               const cat_options *o)
{
    memset(f, 0, sizeof *f);
    if (o != NULL)
        f->o = *o;
    else
        f->o.check = CAT_CHECK_INCREMENTAL;
    if (tmpl != NULL)
        pfix_open(&f->p, kind, tmpl);
    else
        dfix_open(&f->p, kind);
    f->dur = dopen_external(f->p.c);
    f->cat = copen(f->dur, &f->o);
}

void
cfix_open(cfix *f, persist_backend_kind kind, const cat_options *o)
{
    cfix_open_with(f, kind, NULL, o);
}

void
cfix_reopen(cfix *f)
{
    cat_close(f->cat);
    dur_close(f->dur);
    pfix_reopen(&f->p);
    f->dur = dopen_external(f->p.c);
    f->cat = copen(f->dur, &f->o);
}

void
cfix_close(cfix *f)
{
    cat_close(f->cat);
    dur_close(f->dur);
    f->cat = NULL;
    f->dur = NULL;
    pfix_close(&f->p);
}

const cat_state *
cst(const cfix *f)
{
    return cat_state_acquire(f->cat);
}

void
ct_cols_init(ct_cols *c, size_t n)
{
    cr_assert_leq(n, CT_MAX_COLS);
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < n; i++) {
        Cowcat__Catalog__Column init = COWCAT__CATALOG__COLUMN__INIT;
        c->col[i] = init;
        snprintf(c->name[i], sizeof c->name[i], "c%u", (unsigned)(i + 1));
        c->col[i].name = c->name[i];
        c->col[i].type_name = "int4";
        c->col[i].typmod = -1;
        c->col[i].nullable = true;
        c->ptr[i] = &c->col[i];
    }
    c->n = n;
}

static const char *
sql_for(cat_kind kind)
{
    switch (kind) {
    case CAT_KIND_TABLE:
        return "CREATE TABLE x (c1 int4)";
    case CAT_KIND_VIEW:
        return "CREATE VIEW x AS SELECT 1";
    case CAT_KIND_MATERIALIZED_VIEW:
        return "CREATE MATERIALIZED VIEW x AS SELECT 1";
    case CAT_KIND_INDEX:
        return "CREATE INDEX x ON y (c1)";
    case CAT_KIND_TYPE:
        return "CREATE TYPE x AS ENUM ('a')";
    default:
        return "CREATE x";
    }
}

cat_op
ct_op_item(cat_kind kind, cat_ref schema, const char *name, const cat_ref *uses, size_t nuses)
{
    cat_op op;
    memset(&op, 0, sizeof op);
    op.kind = CAT_OP_CREATE_ITEM;
    op.u.create_item.kind = kind;
    op.u.create_item.schema = schema;
    op.u.create_item.name = name;
    op.u.create_item.create_sql = sql_for(kind);
    op.u.create_item.owner = CAT_ROLE_COWCAT;
    op.u.create_item.nuses = nuses;
    op.u.create_item.uses = uses;
    return op;
}

cat_op
ct_op_table(cat_ref schema, const char *name, const ct_cols *cols)
{
    cat_op op = ct_op_item(CAT_KIND_TABLE, schema, name, NULL, 0);
    if (cols != NULL) {
        op.u.create_item.ncolumns = cols->n;
        op.u.create_item.columns = cols->ptr;
    }
    return op;
}

cat_op
ct_op_database(const char *name)
{
    cat_op op;
    memset(&op, 0, sizeof op);
    op.kind = CAT_OP_CREATE_DATABASE;
    op.u.create_database.name = name;
    op.u.create_database.owner = CAT_ROLE_COWCAT;
    return op;
}

cat_op
ct_op_schema(cat_ref database, const char *name)
{
    cat_op op;
    memset(&op, 0, sizeof op);
    op.kind = CAT_OP_CREATE_SCHEMA;
    op.u.create_schema.database = database;
    op.u.create_schema.name = name;
    op.u.create_schema.owner = CAT_ROLE_COWCAT;
    return op;
}

cat_op
ct_op_role(const char *name)
{
    cat_op op;
    memset(&op, 0, sizeof op);
    op.kind = CAT_OP_CREATE_ROLE;
    op.u.create_role.name = name;
    return op;
}

cat_op
ct_op_cluster(const char *name)
{
    cat_op op;
    memset(&op, 0, sizeof op);
    op.kind = CAT_OP_CREATE_CLUSTER;
    op.u.create_cluster.name = name;
    op.u.create_cluster.owner = CAT_ROLE_COWCAT;
    op.u.create_cluster.size = "small";
    op.u.create_cluster.replication_factor = 1;
    return op;
}

cat_op
ct_op_drop(const cat_ref *refs, size_t n, cat_drop_behavior behavior)
{
    cat_op op;
    memset(&op, 0, sizeof op);
    op.kind = CAT_OP_DROP;
    op.u.drop.refs = refs;
    op.u.drop.n = n;
    op.u.drop.behavior = behavior;
    return op;
}

cat_op
ct_op_rename(cat_ref ref, const char *new_name)
{
    cat_op op;
    memset(&op, 0, sizeof op);
    op.kind = CAT_OP_RENAME;
    op.u.rename.ref = ref;
    op.u.rename.new_name = new_name;
    return op;
}

cat_op
ct_op_comment(cat_ref ref, uint32_t column, const char *comment)
{
    cat_op op;
    memset(&op, 0, sizeof op);
    op.kind = CAT_OP_COMMENT;
    op.u.comment.ref = ref;
    op.u.comment.column = column;
    op.u.comment.comment = comment;
    return op;
}

cat_op
ct_op_config_set(const char *name, const char *value)
{
    cat_op op;
    memset(&op, 0, sizeof op);
    op.kind = CAT_OP_CONFIG_SET;
    op.u.config.name = name;
    op.u.config.value = value;
    return op;
}

cat_op
ct_op_config_reset(const char *name)
{
    cat_op op;
    memset(&op, 0, sizeof op);
    op.kind = CAT_OP_CONFIG_RESET;
    op.u.config.name = name;
    return op;
}

void
ct_check_state(const cat_state *s, const char *what)
{
    cc_err err;
    cc_err_clear(&err);
    cc_code rc = cat_check(s, NULL, NULL, &err);
    cr_assert_eq(rc, CC_OK, "cat_check %s: %s (%s)", what, err.msg, cc_code_name(rc));
}

void
ct_ok(cat_catalog *cat, const cat_op *ops, size_t n, cat_ref *created)
{
    cc_err err;
    cc_err_clear(&err);
    cc_code rc = cat_transact(cat, NULL, ops, n, created, &err);
    cr_assert_eq(rc, CC_OK, "cat_transact (%zu ops, first kind %d): %s %s (%s)", n,
                 n > 0 ? (int)ops[0].kind : 0, cc_code_name(rc), err.msg, cc_err_sqlstate(&err));
    ct_check_state(cat_state_acquire(cat), "after a successful transaction");
    cr_assert_eq(cat_state_upper(cat_state_acquire(cat)), dur_upper(cat_durable(cat)),
                 "the published version is exact for the durable upper");
}

cat_ref
ct_ok1(cat_catalog *cat, cat_op op)
{
    cat_ref created = 0;
    ct_ok(cat, &op, 1, &created);
    return created;
}

ct_mark
ct_mark_take(cat_catalog *cat)
{
    const cat_state *s = cat_state_acquire(cat);
    ct_mark m = {cat_state_fp(s), cat_state_upper(s), dur_upper(cat_durable(cat))};
    return m;
}

void
ct_mark_expect(cat_catalog *cat, ct_mark m, const char *what)
{
    const cat_state *s = cat_state_acquire(cat);
    pmap_fp fp = cat_state_fp(s);
    cr_assert(pmap_fp_equal(fp, m.fp), "%s: the fingerprint changed", what);
    cr_assert_eq(cat_state_upper(s), m.upper, "%s: the published upper changed", what);
    cr_assert_eq(dur_upper(cat_durable(cat)), m.dur_upper, "%s: the durable upper changed", what);
}

void
ct_fail(cat_catalog *cat, const cat_op *ops, size_t n, cc_code code, const char *sqlstate,
        const char *msg, cc_err *out)
{
    ct_mark m = ct_mark_take(cat);
    cc_err err;
    cc_err_clear(&err);
    cat_ref created[64];
    cr_assert_leq(n, 64);
    cc_code rc = cat_transact(cat, NULL, ops, n, created, &err);
    cr_assert_eq(rc, code, "expected %s, got %s: \"%s\"", cc_code_name(code), cc_code_name(rc),
                 err.msg);
    cr_assert_eq(err.code, code, "err.code is %s", cc_code_name(err.code));
    if (sqlstate != NULL)
        cr_assert_str_eq(cc_err_sqlstate(&err), sqlstate, "SQLSTATE of \"%s\"", err.msg);
    if (msg != NULL)
        cr_assert_str_eq(err.msg, msg);
    ct_mark_expect(cat, m, err.msg);
    ct_check_state(cat_state_acquire(cat), "after a failed transaction");
    if (out != NULL)
        *out = err;
}

void
ct_fail1(cat_catalog *cat, cat_op op, cc_code code, const char *sqlstate, const char *msg,
         cc_err *out)
{
    ct_fail(cat, &op, 1, code, sqlstate, msg, out);
}

cat_ref
ct_table(cat_catalog *cat, cat_ref schema, const char *name, size_t ncols)
{
    ct_cols cols;
    ct_cols_init(&cols, ncols);
    cat_ref r = ct_ok1(cat, ct_op_table(schema, name, &cols));
    cr_assert_eq(cat_ref_class(r), CAT_CLASS_ITEM, "created table %s has ref class %d", name,
                 (int)cat_ref_class(r));
    return r;
}

cat_ref
ct_view(cat_catalog *cat, cat_ref schema, const char *name, const cat_ref *uses, size_t nuses)
{
    cat_ref r = ct_ok1(cat, ct_op_item(CAT_KIND_VIEW, schema, name, uses, nuses));
    cr_assert_eq(cat_ref_class(r), CAT_CLASS_ITEM);
    return r;
}

cat_ref
ct_index(cat_catalog *cat, cat_ref schema, const char *name, cat_ref table)
{
    cat_ref r = ct_ok1(cat, ct_op_item(CAT_KIND_INDEX, schema, name, &table, 1));
    cr_assert_eq(cat_ref_class(r), CAT_CLASS_ITEM);
    return r;
}

Cowcat__Catalog__ItemValue *
ct_item_value(const cat_object *o)
{
    cr_assert_not_null(o);
    ProtobufCMessage *m = NULL;
    cc_err err;
    cc_code rc = cat_object_decode(o, &m, &err);
    cr_assert_eq(rc, CC_OK, "decode %s: %s", o->name, err.msg);
    cr_assert_not_null(m);
    cr_assert_eq(m->descriptor, &cowcat__catalog__item_value__descriptor,
                 "an item decodes to an ItemValue");
    return (Cowcat__Catalog__ItemValue *)m;
}

void
ct_refs_push(ct_refs *l, cat_ref r)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->r = realloc(l->r, l->cap * sizeof *l->r);
        cr_assert_not_null(l->r);
    }
    l->r[l->n++] = r;
}

void
ct_refs_free(ct_refs *l)
{
    free(l->r);
    memset(l, 0, sizeof *l);
}

bool
ct_refs_has(const ct_refs *l, cat_ref r)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->r[i] == r)
            return true;
    return false;
}

int
ct_collect(void *arg, const cat_object *o)
{
    ct_refs_push(arg, o->ref);
    return 0;
}

static void
expect_ascending(const ct_refs *l, const char *what)
{
    for (size_t i = 1; i < l->n; i++)
        cr_assert_lt(l->r[i - 1], l->r[i], "%s: walk not in ref order at %zu", what, i);
}

ct_refs
ct_members(const cat_state *s, cat_ref parent)
{
    ct_refs l = {0};
    cr_assert_eq(cat_state_walk_members(s, parent, ct_collect, &l), 0);
    expect_ascending(&l, "members");
    return l;
}

ct_refs
ct_used_by(const cat_state *s, cat_ref ref)
{
    ct_refs l = {0};
    cr_assert_eq(cat_state_walk_used_by(s, ref, ct_collect, &l), 0);
    expect_ascending(&l, "used_by");
    return l;
}

void
ct_expect_refs(const ct_refs *got, const cat_ref *want, size_t n, const char *what)
{
    char b1[24], b2[24];
    cr_assert_eq(got->n, n, "%s: %zu refs, want %zu", what, got->n, n);
    for (size_t i = 0; i < n; i++)
        cr_assert(ct_refs_has(got, want[i]), "%s: %s missing (first is %s)", what,
                  cat_ref_str(want[i], b1), got->n > 0 ? cat_ref_str(got->r[0], b2) : "-");
}

bool
ct_starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

typedef struct shape_ctx {
    const cat_state *s;
    uint64_t sum;
} shape_ctx;

static uint64_t
hstr(uint64_t h, const char *str)
{
    return cc_hash_combine(h, cc_hash_bytes(str, strlen(str) + 1));
}

static int
shape_one(void *arg, const cat_object *o)
{
    shape_ctx *c = arg;
    char q[160];
    uint64_t h = cc_hash_u64((uint64_t)o->kind);
    h = hstr(h, cat_state_qualified_name(c->s, o, q, sizeof q));
    const cat_object *owner = cat_state_find(c->s, o->owner);
    h = hstr(h, owner ? owner->name : "-");
    uint64_t uses = 0; /* order-independent */
    for (uint32_t i = 0; i < o->nuses; i++) {
        const cat_object *u = cat_state_find(c->s, o->uses[i]);
        uses += hstr(0, u ? cat_state_qualified_name(c->s, u, q, sizeof q) : "?");
    }
    h = cc_hash_combine(h, uses);
    const char *cm = cat_state_comment(c->s, o->ref, 0);
    h = hstr(h, cm ? cm : "");
    if (cat_ref_class(o->ref) == CAT_CLASS_ITEM) {
        Cowcat__Catalog__ItemValue *v;
        cr_assert_eq(cat_object_decode(o, (ProtobufCMessage **)&v, NULL), CC_OK);
        h = hstr(h, v->create_sql);
        for (size_t i = 0; i < v->n_columns; i++) {
            h = hstr(hstr(h, v->columns[i]->name), v->columns[i]->type_name);
            cm = cat_state_comment(c->s, o->ref, (uint32_t)i + 1);
            h = hstr(h, cm ? cm : "");
        }
        for (size_t i = 0; i < v->n_constraints; i++)
            h = hstr(h, v->constraints[i]->name ? v->constraints[i]->name : "");
        protobuf_c_message_free_unpacked(&v->base, NULL);
    }
    c->sum += h;
    return 0;
}

uint64_t
ct_shape(const cat_state *s)
{
    shape_ctx c = {s, 0};
    cat_state_walk_all(s, shape_one, &c);
    for (int l = 0; l < CAT_NLIMIT; l++)
        c.sum += cc_hash_combine((uint64_t)l, (uint64_t)cat_state_limit(s, (cat_limit)l));
    return c.sum;
}
