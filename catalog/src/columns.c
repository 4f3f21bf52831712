/*
 * catalog/src/columns.c — ALTER TABLE ADD / DROP / RENAME COLUMN (RENAME also
 * of a view's or materialized view's output column), and what a table loses
 * when an object it refers to is dropped with CASCADE.
 *
 * A table's `uses` are derived: the types its columns use (Column.type_ref)
 * and the tables its foreign keys reference, plus whatever extra uses the
 * creator listed. Edits rebuild the derived part and keep the extras.
 * Column comments are keyed by 1-based position: dropping column p moves the
 * comments of columns after it down by one.
 *
 * Decoded values belong to protobuf-c's allocator; edits build shallow copies
 * whose arrays point at the decoded elements (and at the few new ones on the
 * stack), pack them, and free the arrays only.
 */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "internal.h"

typedef Cowcat__Catalog__ItemValue item_value;
typedef Cowcat__Catalog__Constraint constraint;

#define FK COWCAT__CATALOG__CONSTRAINT_KIND__CONSTRAINT_KIND_FOREIGN_KEY

static bool
has_string(char **v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i], s) == 0)
            return true;
    return false;
}

static bool
has_ref(const cat_ref *v, size_t n, cat_ref r)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] == r)
            return true;
    return false;
}

/* The uses a table value justifies by itself: type refs and FK targets other than self. */
static size_t
derived_uses(const item_value *v, cat_ref self, cat_ref *out)
{
    size_t n = 0;
    for (size_t i = 0; i < v->n_columns; i++) {
        cat_ref r =
            v->columns[i]->type_ref_opt_case == COWCAT__CATALOG__COLUMN__TYPE_REF_OPT_TYPE_REF
                ? cat_ref_from_id(CAT_CLASS_ITEM, v->columns[i]->type_ref)
                : 0;
        if (r != 0 && !has_ref(out, n, r))
            out[n++] = r;
    }
    for (size_t i = 0; i < v->n_constraints; i++) {
        const constraint *c = v->constraints[i];
        cat_ref r = c->kind == FK && c->ref_table_opt_case ==
                                         COWCAT__CATALOG__CONSTRAINT__REF_TABLE_OPT_REF_TABLE
                        ? cat_ref_from_id(CAT_CLASS_ITEM, c->ref_table)
                        : 0;
        if (r != 0 && r != self && !has_ref(out, n, r))
            out[n++] = r;
    }
    return n;
}

/*
 * Writes table `ref` as `old` with its columns and constraints replaced by
 * nv's (a shallow copy of old), uses = extras of old + derived of nv.
 */
static cc_code
write_table(cat_txn *t, cat_ref ref, const item_value *old, item_value *nv, cc_err *err)
{
    size_t cap =
        old->n_uses + old->n_columns + old->n_constraints + nv->n_columns + nv->n_constraints + 1;
    cat_ref *was = cc_malloc(cap * sizeof *was), *now = cc_malloc(cap * sizeof *now);
    Cowcat__Catalog__CatalogId *ids = cc_malloc(cap * sizeof *ids);
    Cowcat__Catalog__CatalogId **idp = cc_malloc(cap * sizeof *idp);
    cc_code rc = CC_OK;
    if (was == NULL || now == NULL || ids == NULL || idp == NULL) {
        rc = cc_err_set(err, CC_NOMEM, "out of memory altering a table");
        goto out;
    }
    size_t nwas = derived_uses(old, ref, was), nnow = derived_uses(nv, ref, now);
    for (size_t i = 0; i < old->n_uses; i++) {
        cat_ref r = cat_ref_from_id(CAT_CLASS_ITEM, old->uses[i]);
        if (!has_ref(was, nwas, r) && !has_ref(now, nnow, r))
            now[nnow++] = r; /* an extra use the creator listed */
    }
    for (size_t i = 0; i < nnow; i++) {
        cat__ref_to_id(now[i], &ids[i]);
        idp[i] = &ids[i];
    }
    nv->n_uses = nnow;
    nv->uses = idp;
    rc = cat__put_object(t, ref, &nv->base, NULL, err);
out:
    cc_free(was);
    cc_free(now);
    cc_free(ids);
    cc_free(idp);
    return rc;
}

static cc_code
decode_item(const cat_object *o, item_value **out, cc_err *err)
{
    return cat_object_decode(o, (ProtobufCMessage **)out, err);
}

/* Moves column comments after position p (1-based, being dropped) down by one. */
static cc_code
shift_comments(cat_txn *t, cat_ref ref, uint32_t p, uint32_t ncols, cc_err *err)
{
    const cat_object *o = cat_state_find(&t->work, ref);
    cc_code rc = cat__put_comment(t, o, p, NULL, err);
    for (uint32_t c = p + 1; c <= ncols && rc == CC_OK; c++) {
        const char *txt = cat_state_comment(&t->work, ref, c);
        if (txt == NULL)
            continue;
        char *copy = strdup(txt);
        if (copy == NULL)
            return cc_err_set(err, CC_NOMEM, "out of memory moving a column comment");
        rc = cat__put_comment(t, o, c - 1, copy, err);
        if (rc == CC_OK)
            rc = cat__put_comment(t, o, c, NULL, err);
        free(copy);
    }
    return rc;
}

typedef struct col_ctx {
    cat_txn *t;
    const cat_object *table;
    const char *column;   /* the column being dropped or renamed */
    const char *new_name; /* rename */
    cat_drop_behavior behavior;
    cat__refs todo; /* dependents to edit (collected before writing) */
    cc_err *err;
    cc_code rc;
} col_ctx;

static int
collect(void *arg, const cat_object *o)
{
    col_ctx *c = arg;
    if (o->ref != c->table->ref)
        c->rc = cat__refs_push(&c->todo, o->ref, c->err);
    return c->rc != CC_OK;
}

/* Does constraint c of a table refer to `table`.column as a foreign key? */
static bool
fk_refers(const constraint *c, cat_ref table, const char *column)
{
    return c->kind == FK &&
           c->ref_table_opt_case == COWCAT__CATALOG__CONSTRAINT__REF_TABLE_OPT_REF_TABLE &&
           cat_ref_from_id(CAT_CLASS_ITEM, c->ref_table) == table &&
           (column == NULL || has_string(c->ref_columns, c->n_ref_columns, column));
}

/* Appends a line to a DETAIL (dropped when full). */
static void
detail_line(char *buf, size_t cap, const char *fmt, const char *a, const char *b, const char *c,
            const char *d)
{
    size_t len = strlen(buf);
    if (len > 0 && len + 1 < cap)
        buf[len++] = '\n', buf[len] = '\0';
    if (len + 1 < cap)
        snprintf(buf + len, cap - len, fmt, a, b, c, d);
}

/*
 * RESTRICT: the foreign keys to the column — the table's own, then other
 * tables' — fail the drop (2BP01), all named in the DETAIL as PostgreSQL
 * names them.
 */
static cc_code
restrict_fks(cat_txn *t, const cat_object *o, const item_value *v, const cat__refs *deps,
             const char *name, cc_err *err)
{
    char detail[1024] = "";
    const char *fmt = "constraint %s on table %s depends on column %s of table %s";
    size_t n = 0;
    for (size_t k = 0; k < v->n_constraints; k++)
        if (fk_refers(v->constraints[k], o->ref, name) &&
            !has_string(v->constraints[k]->columns, v->constraints[k]->n_columns, name)) {
            detail_line(detail, sizeof detail, fmt, v->constraints[k]->name, o->name, name,
                        o->name);
            n++;
        }
    for (size_t i = 0; i < deps->n; i++) {
        const cat_object *d = cat_state_find(&t->work, deps->v[i]);
        item_value *dv;
        if (d == NULL || d->kind != CAT_KIND_TABLE)
            continue;
        cc_code rc = decode_item(d, &dv, err);
        if (rc != CC_OK)
            return rc;
        for (size_t k = 0; k < dv->n_constraints; k++)
            if (fk_refers(dv->constraints[k], o->ref, name)) {
                detail_line(detail, sizeof detail, fmt, dv->constraints[k]->name, d->name, name,
                            o->name);
                n++;
            }
        protobuf_c_message_free_unpacked(&dv->base, NULL);
    }
    if (n == 0)
        return CC_OK;
    cc_err_set_state(err, CC_DEPENDENTS, "2BP01",
                     "cannot drop column %s of table %s because other objects depend on it", name,
                     o->name);
    cc_err_detail(err, "%s", detail);
    return cc_err_hint(err, "Use DROP ... CASCADE to drop the dependent objects too.");
}

/* Drops column `name` of table o (recursing into dependents as PostgreSQL does). */
static cc_code
drop_column(cat_txn *t, const cat_object *o, const char *name, cat_drop_behavior behavior,
            cc_err *err)
{
    item_value *v = NULL;
    cc_code rc = decode_item(o, &v, err);
    if (rc != CC_OK)
        return rc;
    size_t pos = v->n_columns;
    for (size_t i = 0; i < v->n_columns; i++)
        if (strcmp(v->columns[i]->name, name) == 0)
            pos = i;
    if (pos == v->n_columns) {
        protobuf_c_message_free_unpacked(&v->base, NULL);
        return cc_err_set_state(err, CC_NOT_FOUND, "42703",
                                "column \"%s\" of relation \"%s\" does not exist", name, o->name);
    }
    col_ctx c = {.t = t, .table = o, .column = name, .behavior = behavior, .err = err};
    cat_state_walk_used_by(&t->work, o->ref, collect, &c);
    rc = c.rc;
    if (rc == CC_OK && behavior == CAT_DROP_RESTRICT)
        rc = restrict_fks(t, o, v, &c.todo, name, err);
    /* Dependents: indexes on the column go; foreign keys to it need CASCADE. */
    for (size_t i = 0; i < c.todo.n && rc == CC_OK; i++) {
        const cat_object *d = cat_state_find(&t->work, c.todo.v[i]);
        if (d == NULL || (d->kind != CAT_KIND_INDEX && d->kind != CAT_KIND_TABLE))
            continue;
        item_value *dv;
        if ((rc = decode_item(d, &dv, err)) != CC_OK)
            break;
        if (d->kind == CAT_KIND_INDEX && d->nuses > 0 && d->uses[0] == o->ref) {
            bool on_col = false;
            for (size_t k = 0; k < dv->n_columns; k++)
                on_col |= strcmp(dv->columns[k]->name, name) == 0;
            if (on_col) {
                cat_ref r = d->ref;
                cat_op op = {.kind = CAT_OP_DROP};
                op.u.drop.n = 1;
                op.u.drop.refs = &r;
                op.u.drop.behavior = CAT_DROP_CASCADE;
                rc = cat__op_drop(t, &op, err);
            }
        } else if (d->kind == CAT_KIND_TABLE) {
            item_value nv = *dv;
            constraint **keep = cc_malloc((dv->n_constraints + 1) * sizeof *keep);
            if (keep == NULL) {
                rc = cc_err_set(err, CC_NOMEM, "out of memory dropping a column");
            } else {
                nv.n_constraints = 0;
                nv.constraints = keep;
                for (size_t k = 0; k < dv->n_constraints; k++)
                    if (!fk_refers(dv->constraints[k], o->ref, name))
                        keep[nv.n_constraints++] = dv->constraints[k];
                if (rc == CC_OK && nv.n_constraints != dv->n_constraints)
                    rc = write_table(t, d->ref, dv, &nv, err);
                cc_free(keep);
            }
        }
        protobuf_c_message_free_unpacked(&dv->base, NULL);
    }
    cat__refs_fini(&c.todo);
    if (rc == CC_OK)
        o = cat_state_find(&t->work, o->ref); /* edits above may have replaced it */
    /* The table itself: the column and the constraints on it go. */
    item_value nv = *v;
    Cowcat__Catalog__Column **cols = cc_malloc((v->n_columns + 1) * sizeof *cols);
    constraint **cons = cc_malloc((v->n_constraints + 1) * sizeof *cons);
    if (rc == CC_OK && (cols == NULL || cons == NULL))
        rc = cc_err_set(err, CC_NOMEM, "out of memory dropping a column");
    if (rc == CC_OK) {
        nv.n_columns = 0;
        nv.columns = cols;
        for (size_t i = 0; i < v->n_columns; i++)
            if (i != pos)
                cols[nv.n_columns++] = v->columns[i];
        nv.n_constraints = 0;
        nv.constraints = cons;
        /* Its foreign keys to the column itself go too (PostgreSQL drops them). */
        for (size_t i = 0; i < v->n_constraints; i++)
            if (!has_string(v->constraints[i]->columns, v->constraints[i]->n_columns, name) &&
                !fk_refers(v->constraints[i], o->ref, name))
                cons[nv.n_constraints++] = v->constraints[i];
        rc = write_table(t, o->ref, v, &nv, err);
    }
    if (rc == CC_OK)
        rc = shift_comments(t, o->ref, (uint32_t)pos + 1, (uint32_t)v->n_columns, err);
    cc_free(cols);
    cc_free(cons);
    protobuf_c_message_free_unpacked(&v->base, NULL);
    return rc;
}

static void
rename_in(char **v, size_t n, const char *from, const char *to, char **saved)
{
    for (size_t i = 0; i < n; i++) {
        saved[i] = v[i];
        if (strcmp(v[i], from) == 0)
            v[i] = (char *)to;
    }
}

static void
restore(char **v, size_t n, char **saved)
{
    for (size_t i = 0; i < n; i++)
        v[i] = saved[i];
}

/*
 * Renames column `from` to `to` in the string lists of value dv: the index's
 * columns (index), the constraint columns (same table), or the FK ref_columns
 * pointing at table (another table). Writes dv if anything changed.
 */
static cc_code
rename_refs(cat_txn *t, const cat_object *d, cat_ref table, const char *from, const char *to,
            cc_err *err)
{
    item_value *dv;
    cc_code rc = decode_item(d, &dv, err);
    if (rc != CC_OK)
        return rc;
    size_t total = 0;
    for (size_t i = 0; i < dv->n_constraints; i++)
        total += dv->constraints[i]->n_columns + dv->constraints[i]->n_ref_columns;
    char **saved = cc_malloc((total + 1) * sizeof *saved);
    char **csaved = cc_malloc((dv->n_columns + 1) * sizeof *csaved);
    if (saved == NULL || csaved == NULL) {
        cc_free(saved);
        cc_free(csaved);
        protobuf_c_message_free_unpacked(&dv->base, NULL);
        return cc_err_set(err, CC_NOMEM, "out of memory renaming a column");
    }
    bool self = d->ref == table, index = d->kind == CAT_KIND_INDEX;
    size_t k = 0;
    for (size_t i = 0; i < dv->n_columns; i++) {
        csaved[i] = dv->columns[i]->name;
        if ((self || index) && strcmp(dv->columns[i]->name, from) == 0)
            dv->columns[i]->name = (char *)to;
    }
    for (size_t i = 0; i < dv->n_constraints; i++) {
        constraint *c = dv->constraints[i];
        if (self)
            rename_in(c->columns, c->n_columns, from, to, saved + k);
        else
            rename_in(c->columns, c->n_columns, "", "", saved + k);
        k += c->n_columns;
        if (fk_refers(c, table, NULL))
            rename_in(c->ref_columns, c->n_ref_columns, from, to, saved + k);
        else
            rename_in(c->ref_columns, c->n_ref_columns, "", "", saved + k);
        k += c->n_ref_columns;
    }
    rc = cat__put_object(t, d->ref, &dv->base, NULL, err);
    k = 0;
    for (size_t i = 0; i < dv->n_constraints; i++) {
        constraint *c = dv->constraints[i];
        restore(c->columns, c->n_columns, saved + k);
        k += c->n_columns;
        restore(c->ref_columns, c->n_ref_columns, saved + k);
        k += c->n_ref_columns;
    }
    for (size_t i = 0; i < dv->n_columns; i++)
        dv->columns[i]->name = csaved[i];
    cc_free(saved);
    cc_free(csaved);
    protobuf_c_message_free_unpacked(&dv->base, NULL);
    return rc;
}

static cc_code
rename_column(cat_txn *t, const cat_object *o, const char *from, const char *to, cc_err *err)
{
    item_value *v;
    cc_code rc = decode_item(o, &v, err);
    if (rc != CC_OK)
        return rc;
    bool found = false, taken = false;
    for (size_t i = 0; i < v->n_columns; i++) {
        found |= strcmp(v->columns[i]->name, from) == 0;
        taken |= strcmp(v->columns[i]->name, to) == 0;
    }
    protobuf_c_message_free_unpacked(&v->base, NULL);
    if (!found)
        return cc_err_set_state(err, CC_NOT_FOUND, "42703",
                                "column \"%s\" of relation \"%s\" does not exist", from, o->name);
    if (taken)
        return cc_err_set_state(err, CC_EXISTS, "42701",
                                "column \"%s\" of relation \"%s\" already exists", to, o->name);
    col_ctx c = {.t = t, .table = o, .err = err};
    cat_state_walk_used_by(&t->work, o->ref, collect, &c);
    rc = c.rc;
    if (rc == CC_OK)
        rc = rename_refs(t, o, o->ref, from, to, err);
    for (size_t i = 0; i < c.todo.n && rc == CC_OK; i++) {
        const cat_object *d = cat_state_find(&t->work, c.todo.v[i]);
        if (d != NULL && (d->kind == CAT_KIND_TABLE ||
                          (d->kind == CAT_KIND_INDEX && d->nuses > 0 && d->uses[0] == o->ref)))
            rc = rename_refs(t, d, o->ref, from, to, err);
    }
    cat__refs_fini(&c.todo);
    return rc;
}

static cc_code
add_column(cat_txn *t, const cat_object *o, const Cowcat__Catalog__Column *col, cc_err *err)
{
    if (col == NULL || col->name == NULL || *col->name == '\0')
        return cc_err_set_state(err, CC_INVALID, "42602", "invalid column name: empty");
    if (strlen(col->name) > CAT_NAME_MAX)
        return cc_err_set_state(err, CC_INVALID, "42622", "column name \"%s\" is too long",
                                col->name);
    if (col->type_ref_opt_case == COWCAT__CATALOG__COLUMN__TYPE_REF_OPT_TYPE_REF) {
        const cat_object *ty =
            cat_state_find(&t->work, cat_ref_from_id(CAT_CLASS_ITEM, col->type_ref));
        if (ty == NULL || ty->kind != CAT_KIND_TYPE)
            return cc_err_set_state(err, CC_NOT_FOUND, "42704", "type %s does not exist",
                                    col->type_name ? col->type_name : "?");
    }
    item_value *v;
    cc_code rc = decode_item(o, &v, err);
    if (rc != CC_OK)
        return rc;
    for (size_t i = 0; i < v->n_columns && rc == CC_OK; i++)
        if (strcmp(v->columns[i]->name, col->name) == 0)
            rc = cc_err_set_state(err, CC_EXISTS, "42701",
                                  "column \"%s\" of relation \"%s\" already exists", col->name,
                                  o->name);
    Cowcat__Catalog__Column **cols = NULL;
    if (rc == CC_OK && (cols = cc_malloc((v->n_columns + 1) * sizeof *cols)) == NULL)
        rc = cc_err_set(err, CC_NOMEM, "out of memory adding a column");
    if (rc == CC_OK) {
        item_value nv = *v;
        memcpy(cols, v->columns, v->n_columns * sizeof *cols);
        cols[v->n_columns] = (Cowcat__Catalog__Column *)col;
        nv.n_columns = v->n_columns + 1;
        nv.columns = cols;
        rc = write_table(t, o->ref, v, &nv, err);
    }
    cc_free(cols);
    protobuf_c_message_free_unpacked(&v->base, NULL);
    return rc;
}

cc_code
cat__op_column(cat_txn *t, const cat_op *op, cc_err *err)
{
    const cat_object *o = cat_state_find(&t->work, op->u.column.table);
    if (o == NULL)
        return cat__not_found(op->u.column.table, err);
    /* A view's or materialized view's output columns can be renamed (PostgreSQL's renameatt). */
    bool viewlike = o->kind == CAT_KIND_VIEW || o->kind == CAT_KIND_MATERIALIZED_VIEW;
    if (o->kind != CAT_KIND_TABLE && !(viewlike && op->kind == CAT_OP_RENAME_COLUMN))
        return cc_err_set_state(err, CC_INVALID, "42809", "\"%s\" is not a table", o->name);
    cc_code rc;
    switch (op->kind) {
    case CAT_OP_ADD_COLUMN:
        rc = add_column(t, o, op->u.column.column, err);
        break;
    case CAT_OP_DROP_COLUMN:
        rc = op->u.column.name == NULL
                 ? cc_err_set(err, CC_INVALID, "DROP COLUMN without a column name")
                 : drop_column(t, o, op->u.column.name, op->u.column.behavior, err);
        break;
    default:
        rc = op->u.column.name == NULL || op->u.column.new_name == NULL
                 ? cc_err_set(err, CC_INVALID, "RENAME COLUMN without names")
             : strlen(op->u.column.new_name) > CAT_NAME_MAX || !*op->u.column.new_name
                 ? cc_err_set_state(err, CC_INVALID, "42602", "invalid column name \"%s\"",
                                    op->u.column.new_name)
                 : rename_column(t, o, op->u.column.name, op->u.column.new_name, err);
    }
    if (rc == CC_OK)
        rc = cat__audit(t, COWCAT__CATALOG__AUDIT_EVENT_TYPE__AUDIT_EVENT_TYPE_ALTER,
                        cat_state_find(&t->work, o->ref), err);
    return rc;
}

cc_code
cat__strip_dependency(cat_txn *t, const cat_object *o, const cat_object *gone, cc_err *err)
{
    item_value *v;
    cc_code rc = decode_item(o, &v, err);
    if (rc != CC_OK)
        return rc;
    /* Columns of the dropped type go one by one (each with its dependents). */
    char **drop = cc_malloc((v->n_columns + 1) * sizeof *drop);
    size_t ndrop = 0;
    if (drop == NULL)
        rc = cc_err_set(err, CC_NOMEM, "out of memory in DROP ... CASCADE");
    for (size_t i = 0; i < v->n_columns && rc == CC_OK; i++)
        if (v->columns[i]->type_ref_opt_case == COWCAT__CATALOG__COLUMN__TYPE_REF_OPT_TYPE_REF &&
            cat_ref_from_id(CAT_CLASS_ITEM, v->columns[i]->type_ref) == gone->ref)
            drop[ndrop++] = v->columns[i]->name;
    for (size_t i = 0; i < ndrop && rc == CC_OK; i++)
        rc = drop_column(t, cat_state_find(&t->work, o->ref), drop[i], CAT_DROP_CASCADE, err);
    cc_free(drop);
    protobuf_c_message_free_unpacked(&v->base, NULL);
    if (rc != CC_OK)
        return rc;
    /* Foreign keys to the dropped table go; uses follow from what is left. */
    o = cat_state_find(&t->work, o->ref);
    if ((rc = decode_item(o, &v, err)) != CC_OK)
        return rc;
    item_value nv = *v;
    constraint **keep = cc_malloc((v->n_constraints + 1) * sizeof *keep);
    if (keep == NULL) {
        protobuf_c_message_free_unpacked(&v->base, NULL);
        return cc_err_set(err, CC_NOMEM, "out of memory in DROP ... CASCADE");
    }
    nv.n_constraints = 0;
    nv.constraints = keep;
    for (size_t i = 0; i < v->n_constraints; i++)
        if (!fk_refers(v->constraints[i], gone->ref, NULL))
            keep[nv.n_constraints++] = v->constraints[i];
    /* The dropped object must leave uses even if it was an extra. */
    Cowcat__Catalog__CatalogId **uses = cc_malloc((v->n_uses + 1) * sizeof *uses);
    if (uses == NULL) {
        rc = cc_err_set(err, CC_NOMEM, "out of memory in DROP ... CASCADE");
    } else {
        size_t k = 0;
        for (size_t i = 0; i < v->n_uses; i++)
            if (cat_ref_from_id(CAT_CLASS_ITEM, v->uses[i]) != gone->ref)
                uses[k++] = v->uses[i];
        item_value base = *v;
        base.n_uses = k;
        base.uses = uses;
        rc = write_table(t, o->ref, &base, &nv, err);
        cc_free(uses);
    }
    cc_free(keep);
    protobuf_c_message_free_unpacked(&v->base, NULL);
    return rc;
}
