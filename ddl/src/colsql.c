/*
 * ddl/src/colsql.c — the stored CREATE TABLE / CREATE INDEX statements kept
 * in step with ALTER TABLE ... ADD / DROP / RENAME COLUMN, so SHOW CREATE
 * and a replay of the stored statements give the catalog that exists.
 *
 * Each function re-parses one stored statement, edits the tree and deparses
 * it (libpg_query's deparser: the text comes back normalized). They run
 * against c->st before the catalog op, and mirror what the op does:
 *
 *   constraint nodes of a CREATE TABLE are paired with the stored
 *   constraints in the order CREATE TABLE planned them (create_table.c:
 *   column constraints and table constraints as written; a UNIQUE key equal
 *   to an earlier key was merged into it and pairs with nothing), so a
 *   node's stored name, columns and referenced columns are known;
 *
 *   DROP COLUMN removes what columns.c removes (a constraint whose columns
 *   hold the column, a foreign key of the table to the column itself, in
 *   another table a foreign key to it), with the DEFERRABLE-style attribute
 *   nodes that qualified a removed column constraint; a column a removed
 *   primary key made NOT NULL keeps NOT NULL, as in PostgreSQL;
 *
 *   RENAME COLUMN renames the column and every reference: key columns,
 *   CHECK expressions, foreign keys of the table (and of other tables to
 *   it), index columns, expressions and predicates. Constraints without a
 *   name get their stored (generated) names written out, since a replay
 *   would otherwise generate names from the new column name.
 */
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "internal.h"

typedef Cowcat__Catalog__Constraint constraint;

#define KIND_PK     COWCAT__CATALOG__CONSTRAINT_KIND__CONSTRAINT_KIND_PRIMARY_KEY
#define KIND_UNIQUE COWCAT__CATALOG__CONSTRAINT_KIND__CONSTRAINT_KIND_UNIQUE
#define KIND_CHECK  COWCAT__CATALOG__CONSTRAINT_KIND__CONSTRAINT_KIND_CHECK
#define KIND_FK     COWCAT__CATALOG__CONSTRAINT_KIND__CONSTRAINT_KIND_FOREIGN_KEY

static cc_code
nomem(cc_err *err)
{
    return cc_err_set(err, CC_NOMEM, "out of memory rewriting a stored statement");
}

void
ddl__checks_fini(ddl_checks *k)
{
    for (size_t i = 0; i < k->n; i++) {
        cc_free(k->names[i]);
        cc_free(k->exprs[i]);
    }
    cc_free(k->names);
    cc_free(k->exprs);
    memset(k, 0, sizeof *k);
}

/* The stored value and parsed statement of an item (both to free). */
typedef struct stored {
    Cowcat__Catalog__ItemValue *v;
    PgQuery__ParseResult *tree;
    PgQuery__Node *stmt;
} stored;

static cc_code
stored_open(const cat_object *o, stored *s, cc_err *err)
{
    memset(s, 0, sizeof *s);
    cc_code rc = cat_object_decode(o, (ProtobufCMessage **)&s->v, err);
    if (rc != CC_OK)
        return rc;
    if ((rc = ddl__parse_stored(s->v->create_sql, o->name, &s->tree, err)) != CC_OK) {
        protobuf_c_message_free_unpacked(&s->v->base, NULL);
        s->v = NULL;
        return rc;
    }
    s->stmt = s->tree->stmts[0]->stmt;
    return CC_OK;
}

static void
stored_close(stored *s)
{
    ddl__parse_free(s->tree);
    if (s->v != NULL)
        protobuf_c_message_free_unpacked(&s->v->base, NULL);
}

/* --- references to the table ------------------------------------------------------------ */

/* Does rv, in the stored statement of holder, name table? */
static bool
names_table(ddl_ctx *c, const cat_object *holder, const PgQuery__RangeVar *rv,
            const cat_object *table)
{
    if (rv == NULL || strcmp(rv->relname, table->name) != 0)
        return false;
    const cat_object *sc = cat_state_find(c->st, table->parent);
    if (rv->schemaname != NULL && rv->schemaname[0])
        return sc != NULL && strcmp(rv->schemaname, sc->name) == 0;
    if (holder->ref == table->ref)
        return true;
    /* Unqualified: the one of that name among what the holder uses (its schema's first). */
    const cat_object *hit = NULL;
    size_t same = 0;
    for (uint32_t i = 0; i < holder->nuses; i++) {
        const cat_object *u = cat_state_find(c->st, holder->uses[i]);
        if (u == NULL || u->kind == CAT_KIND_TYPE || strcmp(u->name, rv->relname) != 0)
            continue;
        if (hit == NULL || u->parent == holder->parent)
            hit = u;
        same++;
    }
    return hit != NULL && hit->ref == table->ref && (same == 1 || hit->parent == holder->parent);
}

/* Renames the String nodes equal to from. Returns false: out of memory. */
static bool
rename_strings(PgQuery__Node **v, size_t n, const char *from, const char *to, bool *changed)
{
    for (size_t i = 0; i < n; i++) {
        const char *s = ddl__str(v[i]);
        if (s != NULL && strcmp(s, from) == 0) {
            if (!ddl__tree_set_string(&v[i]->string->sval, to))
                return false;
            *changed = true;
        }
    }
    return true;
}

static bool
has_string_node(PgQuery__Node **v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (ddl__str(v[i]) != NULL && strcmp(ddl__str(v[i]), s) == 0)
            return true;
    return false;
}

static bool
has_string(char **v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i], s) == 0)
            return true;
    return false;
}

/* ColumnRefs to a column of one relation: unqualified, or qualified with its name. */
typedef struct colrefs {
    const char *table; /* the relation's name */
    const char *from, *to;
    bool found;
    bool changed;
    bool nomem;
} colrefs;

static int
colref_visit(void *arg, ddl_walk *w, ProtobufCMessage *node)
{
    (void)w;
    colrefs *k = arg;
    if (node->descriptor != &pg_query__column_ref__descriptor)
        return 0;
    PgQuery__ColumnRef *cr = (PgQuery__ColumnRef *)node;
    size_t nf = cr->n_fields;
    const char *last = nf > 0 ? ddl__str(cr->fields[nf - 1]) : NULL;
    if (last == NULL || strcmp(last, k->from) != 0)
        return 0;
    if (nf >= 2 && (ddl__str(cr->fields[nf - 2]) == NULL ||
                    strcmp(ddl__str(cr->fields[nf - 2]), k->table) != 0))
        return 0;
    k->found = true;
    if (k->to != NULL) {
        if (!ddl__tree_set_string(&cr->fields[nf - 1]->string->sval, k->to)) {
            k->nomem = true;
            return 1;
        }
        k->changed = true;
    }
    return 0;
}

/* Renames (to NULL: finds) the references to table.from in expression n. */
static bool
expr_columns(PgQuery__Node *n, const char *table, const char *from, const char *to, bool *changed,
             bool *found)
{
    if (n == NULL)
        return true;
    colrefs k = {.table = table, .from = from, .to = to};
    ddl__walk(&n->base, colref_visit, &k);
    *changed |= k.changed;
    if (found != NULL)
        *found |= k.found;
    return !k.nomem;
}

/* --- constraints of a CREATE TABLE, paired with the stored ones ----------------------------- */

typedef struct conref {
    PgQuery__Constraint *node;
    PgQuery__ColumnDef *col;  /* a column constraint: its column; NULL: a table constraint */
    const constraint *stored; /* the paired stored constraint, or NULL */
    bool drop;
} conref;

typedef struct conrefs {
    conref *v;
    size_t n;
} conrefs;

static Cowcat__Catalog__ConstraintKind
node_kind(const PgQuery__Constraint *k)
{
    switch (k->contype) {
    case PG_QUERY__CONSTR_TYPE__CONSTR_PRIMARY:
        return KIND_PK;
    case PG_QUERY__CONSTR_TYPE__CONSTR_UNIQUE:
        return KIND_UNIQUE;
    case PG_QUERY__CONSTR_TYPE__CONSTR_CHECK:
        return KIND_CHECK;
    case PG_QUERY__CONSTR_TYPE__CONSTR_FOREIGN:
        return KIND_FK;
    default:
        return COWCAT__CATALOG__CONSTRAINT_KIND__CONSTRAINT_KIND_UNSPECIFIED;
    }
}

/* Do a key node's columns equal the stored constraint's? */
static bool
same_columns(const conref *r, const constraint *k)
{
    PgQuery__Node **names = r->node->contype == PG_QUERY__CONSTR_TYPE__CONSTR_FOREIGN
                                ? r->node->fk_attrs
                                : r->node->keys;
    size_t n = r->node->contype == PG_QUERY__CONSTR_TYPE__CONSTR_FOREIGN ? r->node->n_fk_attrs
                                                                         : r->node->n_keys;
    if (r->col != NULL && n == 0)
        return k->n_columns == 1 && strcmp(k->columns[0], r->col->colname) == 0;
    if (n != k->n_columns)
        return false;
    for (size_t i = 0; i < n; i++)
        if (ddl__str(names[i]) == NULL || strcmp(ddl__str(names[i]), k->columns[i]) != 0)
            return false;
    return true;
}

static cc_code
collect_constraints(const PgQuery__CreateStmt *cs, const Cowcat__Catalog__ItemValue *v,
                    conrefs *out, cc_err *err)
{
    size_t cap = 1;
    for (size_t i = 0; i < cs->n_table_elts; i++)
        cap += cs->table_elts[i]->node_case == PG_QUERY__NODE__NODE_COLUMN_DEF
                   ? cs->table_elts[i]->column_def->n_constraints
                   : 1;
    out->v = cc_calloc(cap, sizeof *out->v);
    out->n = 0;
    if (out->v == NULL)
        return nomem(err);
    for (size_t i = 0; i < cs->n_table_elts; i++) {
        PgQuery__Node *e = cs->table_elts[i];
        if (e->node_case == PG_QUERY__NODE__NODE_COLUMN_DEF) {
            PgQuery__ColumnDef *cd = e->column_def;
            for (size_t k = 0; k < cd->n_constraints; k++)
                if (cd->constraints[k]->node_case == PG_QUERY__NODE__NODE_CONSTRAINT &&
                    node_kind(cd->constraints[k]->constraint) != 0)
                    out->v[out->n++] = (conref){cd->constraints[k]->constraint, cd, NULL, false};
        } else if (e->node_case == PG_QUERY__NODE__NODE_CONSTRAINT &&
                   node_kind(e->constraint) != 0) {
            out->v[out->n++] = (conref){e->constraint, NULL, NULL, false};
        }
    }
    size_t j = 0;
    for (size_t i = 0; i < out->n && j < v->n_constraints; i++) {
        const constraint *k = v->constraints[j];
        conref *r = &out->v[i];
        if (node_kind(r->node) != k->kind)
            continue;
        if (k->kind != KIND_CHECK && !same_columns(r, k))
            continue;
        r->stored = k;
        j++;
    }
    return CC_OK;
}

/* Removes the constraint nodes marked drop (and the attribute nodes that qualified them). */
static void
remove_marked(PgQuery__CreateStmt *cs, const conrefs *refs, bool *changed)
{
    for (size_t i = cs->n_table_elts; i-- > 0;) {
        PgQuery__Node *e = cs->table_elts[i];
        if (e->node_case == PG_QUERY__NODE__NODE_CONSTRAINT) {
            for (size_t k = 0; k < refs->n; k++)
                if (refs->v[k].drop && refs->v[k].node == e->constraint) {
                    ddl__tree_remove(cs->table_elts, &cs->n_table_elts, i);
                    *changed = true;
                    break;
                }
            continue;
        }
        if (e->node_case != PG_QUERY__NODE__NODE_COLUMN_DEF)
            continue;
        PgQuery__ColumnDef *cd = e->column_def;
        for (size_t k = 0; k < cd->n_constraints;) {
            const PgQuery__Constraint *node = cd->constraints[k]->constraint;
            bool drop = false;
            for (size_t r = 0; r < refs->n && !drop; r++)
                drop = refs->v[r].drop && refs->v[r].node == node;
            if (!drop) {
                k++;
                continue;
            }
            ddl__tree_remove(cd->constraints, &cd->n_constraints, k);
            *changed = true;
            while (k < cd->n_constraints &&
                   cd->constraints[k]->node_case == PG_QUERY__NODE__NODE_CONSTRAINT &&
                   (cd->constraints[k]->constraint->contype ==
                        PG_QUERY__CONSTR_TYPE__CONSTR_ATTR_DEFERRABLE ||
                    cd->constraints[k]->constraint->contype ==
                        PG_QUERY__CONSTR_TYPE__CONSTR_ATTR_NOT_DEFERRABLE ||
                    cd->constraints[k]->constraint->contype ==
                        PG_QUERY__CONSTR_TYPE__CONSTR_ATTR_DEFERRED ||
                    cd->constraints[k]->constraint->contype ==
                        PG_QUERY__CONSTR_TYPE__CONSTR_ATTR_IMMEDIATE))
                ddl__tree_remove(cd->constraints, &cd->n_constraints, k);
        }
    }
}

static PgQuery__CreateStmt *
create_stmt(const stored *s)
{
    return s->stmt->node_case == PG_QUERY__NODE__NODE_CREATE_STMT ? s->stmt->create_stmt : NULL;
}

static cc_code
finish(stored *s, bool changed, char **out, cc_err *err)
{
    cc_code rc = changed ? ddl__deparse(s->stmt, out, err) : CC_OK;
    stored_close(s);
    return rc;
}

/* --- ADD COLUMN -------------------------------------------------------------------------- */

cc_code
ddl__table_sql_add(ddl_ctx *c, const cat_object *table, const PgQuery__Node *def, char **out,
                   cc_err *err)
{
    (void)c;
    *out = NULL;
    stored s;
    cc_code rc = stored_open(table, &s, err);
    if (rc != CC_OK)
        return rc;
    PgQuery__CreateStmt *cs = create_stmt(&s);
    PgQuery__Node *copy = cs != NULL ? ddl__tree_copy(def) : NULL;
    if (cs == NULL)
        rc = cc_err_set(err, CC_CORRUPT, "the stored statement of %s is not CREATE TABLE",
                        table->name);
    else if (copy == NULL ||
             !ddl__tree_insert(&cs->table_elts, &cs->n_table_elts, cs->n_table_elts, copy)) {
        if (copy != NULL)
            pg_query__node__free_unpacked(copy, NULL);
        rc = nomem(err);
    }
    if (rc != CC_OK) {
        stored_close(&s);
        return rc;
    }
    return finish(&s, true, out, err);
}

/* --- DROP COLUMN ------------------------------------------------------------------------- */

/* Is column (of the table) NOT NULL by what the statement still says? */
static bool
sql_not_null(const PgQuery__CreateStmt *cs, const PgQuery__ColumnDef *cd)
{
    for (size_t k = 0; k < cd->n_constraints; k++) {
        const PgQuery__Node *n = cd->constraints[k];
        if (n->node_case == PG_QUERY__NODE__NODE_CONSTRAINT &&
            (n->constraint->contype == PG_QUERY__CONSTR_TYPE__CONSTR_NOTNULL ||
             n->constraint->contype == PG_QUERY__CONSTR_TYPE__CONSTR_PRIMARY))
            return true;
    }
    for (size_t i = 0; i < cs->n_table_elts; i++) {
        const PgQuery__Node *e = cs->table_elts[i];
        if (e->node_case == PG_QUERY__NODE__NODE_CONSTRAINT &&
            e->constraint->contype == PG_QUERY__CONSTR_TYPE__CONSTR_PRIMARY &&
            has_string_node(e->constraint->keys, e->constraint->n_keys, cd->colname))
            return true;
    }
    return false;
}

/* NOT NULL for the columns the stored table has NOT NULL but the statement no longer implies. */
static cc_code
keep_not_null(PgQuery__CreateStmt *cs, const Cowcat__Catalog__ItemValue *v, const char *dropped,
              bool *changed, cc_err *err)
{
    for (size_t i = 0; i < cs->n_table_elts; i++) {
        PgQuery__Node *e = cs->table_elts[i];
        if (e->node_case != PG_QUERY__NODE__NODE_COLUMN_DEF)
            continue;
        PgQuery__ColumnDef *cd = e->column_def;
        bool stored_not_null = false;
        for (size_t k = 0; k < v->n_columns; k++)
            if (strcmp(v->columns[k]->name, cd->colname) == 0)
                stored_not_null = !v->columns[k]->nullable;
        if (strcmp(cd->colname, dropped) == 0 || !stored_not_null || sql_not_null(cs, cd))
            continue;
        PgQuery__Node *n = cc_malloc(sizeof *n);
        PgQuery__Constraint *k = cc_malloc(sizeof *k);
        if (n == NULL || k == NULL) {
            cc_free(n);
            cc_free(k);
            return nomem(err);
        }
        pg_query__node__init(n);
        pg_query__constraint__init(k);
        k->contype = PG_QUERY__CONSTR_TYPE__CONSTR_NOTNULL;
        k->location = -1;
        n->node_case = PG_QUERY__NODE__NODE_CONSTRAINT;
        n->constraint = k;
        if (!ddl__tree_insert(&cd->constraints, &cd->n_constraints, cd->n_constraints, n)) {
            pg_query__node__free_unpacked(n, NULL);
            return nomem(err);
        }
        *changed = true;
    }
    return CC_OK;
}

/* Does a constraint node (not paired) mention column? */
static bool
node_mentions(const conref *r, const char *table, const char *column)
{
    const PgQuery__Constraint *k = r->node;
    if (r->col != NULL && strcmp(r->col->colname, column) == 0)
        return true;
    bool changed = false, found = false;
    expr_columns(k->raw_expr, table, column, NULL, &changed, &found);
    return found || has_string_node(k->keys, k->n_keys, column) ||
           has_string_node(k->fk_attrs, k->n_fk_attrs, column);
}

cc_code
ddl__table_sql_drop(ddl_ctx *c, const cat_object *item, const cat_object *table, const char *column,
                    char **out, cc_err *err)
{
    *out = NULL;
    stored s;
    cc_code rc = stored_open(item, &s, err);
    if (rc != CC_OK)
        return rc;
    PgQuery__CreateStmt *cs = create_stmt(&s);
    if (cs == NULL) {
        stored_close(&s);
        return CC_OK; /* an index: it goes with the column or does not read it */
    }
    conrefs refs;
    if ((rc = collect_constraints(cs, s.v, &refs, err)) != CC_OK) {
        stored_close(&s);
        return rc;
    }
    bool self = item->ref == table->ref, changed = false;
    for (size_t i = 0; i < refs.n; i++) {
        conref *r = &refs.v[i];
        const constraint *k = r->stored;
        bool fk_to = r->node->contype == PG_QUERY__CONSTR_TYPE__CONSTR_FOREIGN &&
                     names_table(c, item, r->node->pktable, table) &&
                     (k != NULL ? has_string(k->ref_columns, k->n_ref_columns, column)
                                : has_string_node(r->node->pk_attrs, r->node->n_pk_attrs, column));
        if (self)
            r->drop = fk_to || (k != NULL ? has_string(k->columns, k->n_columns, column)
                                          : node_mentions(r, table->name, column));
        else
            r->drop = fk_to;
    }
    remove_marked(cs, &refs, &changed);
    for (size_t i = 0; self && i < cs->n_table_elts; i++)
        if (cs->table_elts[i]->node_case == PG_QUERY__NODE__NODE_COLUMN_DEF &&
            strcmp(cs->table_elts[i]->column_def->colname, column) == 0) {
            ddl__tree_remove(cs->table_elts, &cs->n_table_elts, i);
            changed = true;
            break;
        }
    if (self)
        rc = keep_not_null(cs, s.v, column, &changed, err);
    cc_free(refs.v);
    if (rc != CC_OK) {
        stored_close(&s);
        return rc;
    }
    return finish(&s, changed, out, err);
}

/* --- RENAME COLUMN ----------------------------------------------------------------------- */

static cc_code
checks_add(ddl_checks *k, const char *name, const char *expr, cc_err *err)
{
    char **nn = cc_realloc(k->names, (k->n + 1) * sizeof *nn);
    if (nn == NULL)
        return nomem(err);
    k->names = nn;
    char **ne = cc_realloc(k->exprs, (k->n + 1) * sizeof *ne);
    if (ne == NULL)
        return nomem(err);
    k->exprs = ne;
    k->names[k->n] = cc_strdup(name);
    k->exprs[k->n] = cc_strdup(expr);
    k->n++;
    if (k->names[k->n - 1] == NULL || k->exprs[k->n - 1] == NULL)
        return nomem(err);
    return CC_OK;
}

/* The CREATE TABLE of the table itself or of another table with foreign keys to it. */
static cc_code
rename_in_table(ddl_ctx *c, stored *s, const cat_object *item, const cat_object *table,
                const char *from, const char *to, bool *changed, ddl_checks *checks, cc_err *err)
{
    PgQuery__CreateStmt *cs = create_stmt(s);
    conrefs refs;
    cc_code rc = collect_constraints(cs, s->v, &refs, err);
    if (rc != CC_OK)
        return rc;
    bool self = item->ref == table->ref, ok = true;
    for (size_t i = 0; self && ok && i < cs->n_table_elts; i++) {
        PgQuery__Node *e = cs->table_elts[i];
        if (e->node_case == PG_QUERY__NODE__NODE_COLUMN_DEF &&
            strcmp(e->column_def->colname, from) == 0) {
            ok = ddl__tree_set_string(&e->column_def->colname, to);
            *changed = true;
        }
    }
    for (size_t i = 0; ok && rc == CC_OK && i < refs.n; i++) {
        conref *r = &refs.v[i];
        PgQuery__Constraint *k = r->node;
        if (r->node->contype == PG_QUERY__CONSTR_TYPE__CONSTR_FOREIGN &&
            names_table(c, item, k->pktable, table))
            ok = rename_strings(k->pk_attrs, k->n_pk_attrs, from, to, changed);
        if (!self || !ok)
            continue;
        ok = rename_strings(k->keys, k->n_keys, from, to, changed) &&
             rename_strings(k->fk_attrs, k->n_fk_attrs, from, to, changed);
        bool check_changed = false;
        if (ok && k->raw_expr != NULL)
            ok = expr_columns(k->raw_expr, table->name, from, to, &check_changed, NULL);
        *changed |= check_changed;
        if (ok && check_changed && r->stored != NULL && r->stored->kind == KIND_CHECK) {
            char *text = NULL;
            if ((rc = ddl__expr_sql(k->raw_expr, &text, err)) == CC_OK)
                rc = checks_add(checks, r->stored->name, text, err);
            cc_free(text);
        }
        /* A replay would generate names from the new column name: write the stored ones. */
        if (ok && r->stored != NULL && (k->conname == NULL || k->conname[0] == '\0')) {
            ok = ddl__tree_set_string(&k->conname, r->stored->name);
            *changed = true;
        }
    }
    cc_free(refs.v);
    if (rc == CC_OK && !ok)
        rc = nomem(err);
    return rc;
}

static cc_code
rename_in_index(PgQuery__IndexStmt *ix, const cat_object *table, const char *from, const char *to,
                bool *changed, cc_err *err)
{
    bool ok = true;
    for (size_t i = 0; ok && i < ix->n_index_params + ix->n_index_including_params; i++) {
        PgQuery__Node *en = i < ix->n_index_params
                                ? ix->index_params[i]
                                : ix->index_including_params[i - ix->n_index_params];
        if (en->node_case != PG_QUERY__NODE__NODE_INDEX_ELEM)
            continue;
        PgQuery__IndexElem *e = en->index_elem;
        if (e->name != NULL && strcmp(e->name, from) == 0) {
            ok = ddl__tree_set_string(&e->name, to);
            *changed = true;
        }
        if (ok)
            ok = expr_columns(e->expr, table->name, from, to, changed, NULL);
    }
    if (ok)
        ok = expr_columns(ix->where_clause, table->name, from, to, changed, NULL);
    return ok ? CC_OK : nomem(err);
}

cc_code
ddl__table_sql_rename(ddl_ctx *c, const cat_object *item, const cat_object *table, const char *from,
                      const char *to, char **out, ddl_checks *checks, cc_err *err)
{
    *out = NULL;
    stored s;
    cc_code rc = stored_open(item, &s, err);
    if (rc != CC_OK)
        return rc;
    bool changed = false;
    if (create_stmt(&s) != NULL)
        rc = rename_in_table(c, &s, item, table, from, to, &changed, checks, err);
    else if (s.stmt->node_case == PG_QUERY__NODE__NODE_INDEX_STMT)
        rc = rename_in_index(s.stmt->index_stmt, table, from, to, &changed, err);
    if (rc != CC_OK) {
        stored_close(&s);
        return rc;
    }
    return finish(&s, changed, out, err);
}

bool
ddl__index_reads_column(const cat_object *index, const char *column)
{
    stored s;
    cc_err e;
    if (stored_open(index, &s, &e) != CC_OK)
        return false;
    bool found = false, changed = false;
    if (s.stmt->node_case == PG_QUERY__NODE__NODE_INDEX_STMT) {
        PgQuery__IndexStmt *ix = s.stmt->index_stmt;
        const char *table = ix->relation != NULL ? ix->relation->relname : "";
        for (size_t i = 0; i < ix->n_index_params; i++)
            if (ix->index_params[i]->node_case == PG_QUERY__NODE__NODE_INDEX_ELEM)
                expr_columns(ix->index_params[i]->index_elem->expr, table, column, NULL, &changed,
                             &found);
        expr_columns(ix->where_clause, table, column, NULL, &changed, &found);
    }
    stored_close(&s);
    return found;
}

cc_code
ddl__set_sql(ddl_ctx *c, cat_ref item, const char *sql, const ddl_checks *checks, cc_err *err)
{
    cat_op op = {.kind = CAT_OP_SET_SQL};
    op.u.set_sql.ref = item;
    op.u.set_sql.create_sql = sql;
    if (checks != NULL) {
        op.u.set_sql.nchecks = checks->n;
        op.u.set_sql.check_names = (const char *const *)checks->names;
        op.u.set_sql.check_exprs = (const char *const *)checks->exprs;
    }
    return ddl__apply(c, &op, NULL, err);
}
