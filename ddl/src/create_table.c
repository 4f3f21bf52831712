/*
 * ddl/src/create_table.c — CREATE TABLE: columns, defaults, NOT NULL and
 * the PRIMARY KEY / UNIQUE / CHECK / FOREIGN KEY constraints, planned the
 * way PostgreSQL's transformCreateStmt and DefineRelation do it:
 *
 *   1. schema, CREATE privilege, IF NOT EXISTS      (notice 42P07, done)
 *   2. each element in order: column types and column constraints
 *      (42704, 0A000, 42601 NULL/NOT NULL and DEFAULT conflicts), table
 *      constraints collected in the same order
 *   3. PRIMARY KEY / UNIQUE keys (42P16, 42703, 42701); identical unique
 *      keys merged into one constraint, as PostgreSQL merges them
 *   4. duplicate column names (42701), an existing relation (42P07) or
 *      type (42710)
 *   5. CHECK names and expressions, then PRIMARY KEY / UNIQUE names, then
 *      FOREIGN KEYs (42P01, 42809, 42703, 42704, 42830) with their names —
 *      PostgreSQL's naming order, so generated names (t_pkey, t_a_key,
 *      t_a_check, t_check, t_b_fkey, then t_b_fkey1 ...) match
 *
 * No index objects are created for PRIMARY KEY / UNIQUE: they stay
 * constraints of the table. A foreign key to the table itself is stored
 * with ref_table u0 (the catalog writes the new table's id).
 */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "internal.h"

#define KIND_PK     COWCAT__CATALOG__CONSTRAINT_KIND__CONSTRAINT_KIND_PRIMARY_KEY
#define KIND_UNIQUE COWCAT__CATALOG__CONSTRAINT_KIND__CONSTRAINT_KIND_UNIQUE
#define KIND_CHECK  COWCAT__CATALOG__CONSTRAINT_KIND__CONSTRAINT_KIND_CHECK
#define KIND_FK     COWCAT__CATALOG__CONSTRAINT_KIND__CONSTRAINT_KIND_FOREIGN_KEY

/* One constraint being planned. */
typedef struct tcon {
    Cowcat__Catalog__Constraint m;     /* what is stored (strings in the pool / tree) */
    const PgQuery__Constraint *src;    /* the parse node */
    const char *column;                /* a column constraint: its column; else NULL */
    bool dropped;                      /* merged into an identical unique key */
    Cowcat__Catalog__CatalogId ref_id; /* FOREIGN KEY: the referenced table (u0: itself) */
} tcon;

typedef struct tplan {
    ddl_ctx *c;
    ddl_pool pool;
    const char *name;         /* the table's name */
    const cat_object *schema; /* its schema */
    Cowcat__Catalog__Column *cols;
    Cowcat__Catalog__CatalogId *col_type; /* type_ref ids, one per column */
    int32_t *col_loc;                     /* ColumnDef locations */
    size_t ncols;
    tcon *cons;
    size_t ncons;
    ProtobufCMessage *ref_value; /* the decoded referenced table of the FK being planned */
} tplan;

static cc_code
nomem(cc_err *err)
{
    return cc_err_set(err, CC_NOMEM, "out of memory planning CREATE TABLE");
}

static cc_code
unsupported(ddl_ctx *c, int32_t loc, const char *what, cc_err *err)
{
    return ddl__at(c, loc,
                   cc_err_set_state(err, CC_PARSE, "0A000", "feature not supported: %s", what));
}

static Cowcat__Catalog__Column *
find_column(tplan *p, const char *name)
{
    for (size_t i = 0; i < p->ncols; i++)
        if (strcmp(p->cols[i].name, name) == 0)
            return &p->cols[i];
    return NULL;
}

/* Appends a constraint from the parse node (column: the column it is attached to). */
static tcon *
add_con(tplan *p, const PgQuery__Constraint *src, const char *column)
{
    tcon *t = &p->cons[p->ncons++];
    Cowcat__Catalog__Constraint init = COWCAT__CATALOG__CONSTRAINT__INIT;
    t->m = init;
    t->src = src;
    t->column = column;
    t->m.name = src->conname && src->conname[0] ? src->conname : NULL;
    return t;
}

/* String nodes (or one column name) into a pool array. */
static char **
name_list(tplan *p, PgQuery__Node **nodes, size_t n, const char *single, size_t *count)
{
    size_t k = single ? 1 : n;
    char **v = ddl__pool_alloc(&p->pool, (k ? k : 1) * sizeof *v);
    if (v == NULL)
        return NULL;
    if (single)
        v[0] = (char *)single;
    for (size_t i = 0; !single && i < n; i++) {
        const char *s = ddl__str(nodes[i]);
        v[i] = (char *)(s ? s : "");
    }
    *count = k;
    return v;
}

/* --- step 2: columns and their constraints ------------------------------------------------- */

static cc_code
plan_column(tplan *p, const PgQuery__ColumnDef *cd, cc_err *err)
{
    ddl_ctx *c = p->c;
    if (cd->coll_clause != NULL)
        return unsupported(c, cd->coll_clause->location, "COLLATE", err);
    if (cd->type_name == NULL)
        return unsupported(c, cd->location, "columns without a type", err);
    ddl_type t;
    cc_code rc = ddl__type_resolve(c, cd->type_name, &t, err);
    if (rc != CC_OK)
        return rc;
    size_t i = p->ncols++;
    Cowcat__Catalog__Column col = COWCAT__CATALOG__COLUMN__INIT;
    col.name = cd->colname;
    col.type_name = ddl__pool_strdup(&p->pool, t.name);
    if (col.type_name == NULL)
        return nomem(err);
    col.typmod = t.typmod;
    col.nullable = true;
    if (t.ref != 0) {
        Cowcat__Catalog__CatalogId id = COWCAT__CATALOG__CATALOG_ID__INIT;
        id.system = cat_ref_is_system(t.ref);
        id.value = cat_ref_value(t.ref);
        p->col_type[i] = id;
        col.type_ref_opt_case = COWCAT__CATALOG__COLUMN__TYPE_REF_OPT_TYPE_REF;
    }
    p->cols[i] = col;
    p->col_loc[i] = cd->location;
    bool saw_nullable = false, saw_default = false;
    for (size_t k = 0; k < cd->n_constraints; k++) {
        const PgQuery__Constraint *con = cd->constraints[k]->constraint;
        if (cd->constraints[k]->node_case != PG_QUERY__NODE__NODE_CONSTRAINT)
            continue;
        switch (con->contype) {
        case PG_QUERY__CONSTR_TYPE__CONSTR_NULL:
        case PG_QUERY__CONSTR_TYPE__CONSTR_NOTNULL: {
            bool notnull = con->contype == PG_QUERY__CONSTR_TYPE__CONSTR_NOTNULL;
            if (saw_nullable && p->cols[i].nullable == notnull)
                return ddl__at(c, con->location,
                               cc_err_set_state(err, CC_PARSE, "42601",
                                                "conflicting NULL/NOT NULL declarations for "
                                                "column \"%s\" of table \"%s\"",
                                                cd->colname, p->name));
            p->cols[i].nullable = !notnull;
            saw_nullable = true;
            break;
        }
        case PG_QUERY__CONSTR_TYPE__CONSTR_DEFAULT: {
            if (saw_default)
                return ddl__at(c, con->location,
                               cc_err_set_state(err, CC_PARSE, "42601",
                                                "multiple default values specified for column "
                                                "\"%s\" of table \"%s\"",
                                                cd->colname, p->name));
            saw_default = true;
            char *text;
            if ((rc = ddl__expr_sql(con->raw_expr, &text, err)) != CC_OK)
                return rc;
            char *d = ddl__pool_strdup(&p->pool, text);
            cc_free(text);
            if (d == NULL)
                return nomem(err);
            p->cols[i].default_opt_case = COWCAT__CATALOG__COLUMN__DEFAULT_OPT_DEFAULT_EXPR;
            p->cols[i].default_expr = d;
            break;
        }
        case PG_QUERY__CONSTR_TYPE__CONSTR_IDENTITY:
            return unsupported(c, con->location, "identity columns", err);
        case PG_QUERY__CONSTR_TYPE__CONSTR_GENERATED:
            return unsupported(c, con->location, "generated columns", err);
        case PG_QUERY__CONSTR_TYPE__CONSTR_PRIMARY:
        case PG_QUERY__CONSTR_TYPE__CONSTR_UNIQUE:
        case PG_QUERY__CONSTR_TYPE__CONSTR_CHECK:
        case PG_QUERY__CONSTR_TYPE__CONSTR_FOREIGN:
            add_con(p, con, cd->colname);
            break;
        default: /* DEFERRABLE and friends qualify the previous constraint */
            break;
        }
    }
    return CC_OK;
}

static cc_code
plan_table_constraint(tplan *p, const PgQuery__Constraint *con, cc_err *err)
{
    switch (con->contype) {
    case PG_QUERY__CONSTR_TYPE__CONSTR_PRIMARY:
    case PG_QUERY__CONSTR_TYPE__CONSTR_UNIQUE:
    case PG_QUERY__CONSTR_TYPE__CONSTR_CHECK:
    case PG_QUERY__CONSTR_TYPE__CONSTR_FOREIGN:
        add_con(p, con, NULL);
        return CC_OK;
    case PG_QUERY__CONSTR_TYPE__CONSTR_EXCLUSION:
        return unsupported(p->c, con->location, "EXCLUDE constraints", err);
    default:
        return CC_OK;
    }
}

/* --- step 3: PRIMARY KEY / UNIQUE keys --------------------------------------------------- */

static bool
same_key(const tcon *a, const tcon *b)
{
    if (a->m.n_columns != b->m.n_columns ||
        a->src->nulls_not_distinct != b->src->nulls_not_distinct ||
        a->src->deferrable != b->src->deferrable || a->src->initdeferred != b->src->initdeferred)
        return false;
    for (size_t i = 0; i < a->m.n_columns; i++)
        if (strcmp(a->m.columns[i], b->m.columns[i]) != 0)
            return false;
    return true;
}

static cc_code
plan_keys(tplan *p, cc_err *err)
{
    ddl_ctx *c = p->c;
    tcon *pk = NULL;
    for (size_t i = 0; i < p->ncons; i++) {
        tcon *t = &p->cons[i];
        bool primary = t->src->contype == PG_QUERY__CONSTR_TYPE__CONSTR_PRIMARY;
        if (!primary && t->src->contype != PG_QUERY__CONSTR_TYPE__CONSTR_UNIQUE)
            continue;
        if (primary && pk != NULL)
            return ddl__at(c, t->src->location,
                           cc_err_set_state(err, CC_INVALID, "42P16",
                                            "multiple primary keys for table \"%s\" are not "
                                            "allowed",
                                            p->name));
        if (t->src->n_including > 0)
            return unsupported(c, t->src->location, "INCLUDE", err);
        t->m.kind = primary ? KIND_PK : KIND_UNIQUE;
        t->m.columns = name_list(p, t->src->keys, t->src->n_keys, t->column, &t->m.n_columns);
        if (t->m.columns == NULL)
            return nomem(err);
        for (size_t k = 0; k < t->m.n_columns; k++) {
            Cowcat__Catalog__Column *col = find_column(p, t->m.columns[k]);
            if (col == NULL)
                return ddl__at(c, t->src->location,
                               cc_err_set_state(err, CC_NOT_FOUND, "42703",
                                                "column \"%s\" named in key does not exist",
                                                t->m.columns[k]));
            for (size_t j = 0; j < k; j++)
                if (strcmp(t->m.columns[j], t->m.columns[k]) == 0)
                    return ddl__at(c, t->src->location,
                                   cc_err_set_state(err, CC_EXISTS, "42701",
                                                    "column \"%s\" appears twice in %s constraint",
                                                    t->m.columns[k],
                                                    primary ? "primary key" : "unique"));
            if (primary)
                col->nullable = false;
        }
        if (primary)
            pk = t;
    }
    /* Identical keys become one constraint (the primary key first, as PostgreSQL). */
    for (size_t i = 0; i < p->ncons; i++) {
        tcon *t = &p->cons[i];
        if (t->m.kind != KIND_UNIQUE)
            continue;
        tcon *prior = pk != NULL && same_key(pk, t) ? pk : NULL;
        for (size_t j = 0; j < i && prior == NULL; j++)
            if (p->cons[j].m.kind == KIND_UNIQUE && !p->cons[j].dropped && same_key(&p->cons[j], t))
                prior = &p->cons[j];
        if (prior != NULL) {
            t->dropped = true;
            if (prior->m.name == NULL)
                prior->m.name = t->m.name;
        }
    }
    return CC_OK;
}

/* --- step 5: names, CHECK expressions, foreign keys --------------------------------------------
 */

/*
 * Which names a generated name must avoid, as PostgreSQL sees them when it
 * names the constraint: a CHECK sees the CHECKs before it; a key (an index
 * in PostgreSQL) the relations of the schema and the constraints named so
 * far; a FOREIGN KEY every named constraint but the foreign keys after it.
 */
typedef struct taken_arg {
    tplan *p;
    tcon *self; /* the constraint being named */
    Cowcat__Catalog__ConstraintKind kind;
} taken_arg;

static bool
name_taken(void *arg, const char *name)
{
    taken_arg *a = arg;
    tplan *p = a->p;
    for (size_t i = 0; i < p->ncons; i++) {
        const tcon *t = &p->cons[i];
        bool before = t < a->self;
        if (t->dropped || t->m.name == NULL || t == a->self)
            continue;
        if (a->kind == KIND_CHECK && (t->m.kind != KIND_CHECK || !before))
            continue;
        if (a->kind == KIND_FK && t->src->contype == PG_QUERY__CONSTR_TYPE__CONSTR_FOREIGN &&
            !before)
            continue;
        if (strcmp(t->m.name, name) == 0)
            return true;
    }
    return a->kind != KIND_CHECK && a->kind != KIND_FK &&
           (cat_state_find_relation(p->c->st, p->schema->ref, name) != NULL ||
            strcmp(name, p->name) == 0);
}

/* Sets t's generated name (name2: NULL or the column part). */
static cc_code
choose(tplan *p, tcon *t, const char *name2, const char *label, cc_err *err)
{
    char buf[DDL_NAME_MAX];
    taken_arg a = {p, t, t->m.kind};
    ddl__choose_name(p->name, name2, label, name_taken, &a, buf);
    if ((t->m.name = ddl__pool_strdup(&p->pool, buf)) == NULL)
        return nomem(err);
    return CC_OK;
}

typedef struct check_vars {
    tplan *p;
    const char *var; /* the one column referenced, if exactly one */
    size_t nvars;    /* distinct columns referenced (2 means "more than one") */
    bool *used;      /* per column of the plan: referenced */
    const PgQuery__ColumnRef *missing;
} check_vars;

static int
check_var(void *arg, ddl_walk *w, ProtobufCMessage *node)
{
    (void)w;
    check_vars *v = arg;
    if (node->descriptor != &pg_query__column_ref__descriptor)
        return 0;
    const PgQuery__ColumnRef *cr = (const PgQuery__ColumnRef *)node;
    const char *name = cr->n_fields > 0 ? ddl__str(cr->fields[cr->n_fields - 1]) : NULL;
    if (name == NULL)
        return 0;
    Cowcat__Catalog__Column *col = find_column(v->p, name);
    if (col == NULL) {
        v->missing = cr;
        return 1;
    }
    v->used[col - v->p->cols] = true;
    if (v->var == NULL || strcmp(v->var, name) != 0) {
        if (v->var == NULL)
            v->var = name;
        v->nvars++;
    }
    return 0;
}

static cc_code
plan_checks(tplan *p, cc_err *err)
{
    ddl_ctx *c = p->c;
    for (size_t i = 0; i < p->ncons; i++) {
        tcon *t = &p->cons[i];
        if (t->src->contype != PG_QUERY__CONSTR_TYPE__CONSTR_CHECK)
            continue;
        t->m.kind = KIND_CHECK;
        if (t->src->raw_expr == NULL)
            return unsupported(c, t->src->location, "CHECK without an expression", err);
        check_vars v = {.p = p};
        if ((v.used = ddl__pool_alloc(&p->pool, p->ncols + 1)) == NULL)
            return nomem(err);
        if (ddl__walk(&t->src->raw_expr->base, check_var, &v) != 0 && v.missing != NULL) {
            char b[3 * DDL_NAME_MAX];
            const PgQuery__ColumnRef *cr = v.missing;
            const char *last = ddl__str(cr->fields[cr->n_fields - 1]);
            if (cr->n_fields > 1)
                snprintf(b, sizeof b, "%s.%s", ddl__str(cr->fields[cr->n_fields - 2]), last);
            else
                snprintf(b, sizeof b, "\"%s\"", last);
            return ddl__at(
                c, cr->location,
                cc_err_set_state(err, CC_NOT_FOUND, "42703", "column %s does not exist", b));
        }
        /* The referenced columns in column order (PostgreSQL's conkey). */
        t->m.columns = ddl__pool_alloc(&p->pool, (p->ncols + 1) * sizeof *t->m.columns);
        if (t->m.columns == NULL)
            return nomem(err);
        for (size_t k = 0; k < p->ncols; k++)
            if (v.used[k])
                t->m.columns[t->m.n_columns++] = p->cols[k].name;
        char *text;
        cc_code rc = ddl__expr_sql(t->src->raw_expr, &text, err);
        if (rc != CC_OK)
            return rc;
        t->m.check_expr = ddl__pool_strdup(&p->pool, text);
        cc_free(text);
        if (t->m.check_expr == NULL)
            return nomem(err);
        if (t->m.name != NULL) {
            for (size_t j = 0; j < i; j++)
                if (p->cons[j].m.kind == KIND_CHECK && p->cons[j].m.name != NULL &&
                    strcmp(p->cons[j].m.name, t->m.name) == 0)
                    return cc_err_set_state(err, CC_EXISTS, "42710",
                                            "check constraint \"%s\" already exists", t->m.name);
        } else {
            if ((rc = choose(p, t, v.nvars == 1 ? v.var : NULL, "check", err)) != CC_OK)
                return rc;
        }
    }
    return CC_OK;
}

static cc_code
plan_key_names(tplan *p, cc_err *err)
{
    for (size_t i = 0; i < p->ncons; i++) {
        tcon *t = &p->cons[i];
        if ((t->m.kind != KIND_PK && t->m.kind != KIND_UNIQUE) || t->dropped)
            continue;
        if (t->m.name != NULL) {
            if (cat_state_find_relation(p->c->st, p->schema->ref, t->m.name) != NULL ||
                strcmp(t->m.name, p->name) == 0)
                return cc_err_set_state(err, CC_EXISTS, "42P07", "relation \"%s\" already exists",
                                        t->m.name);
            for (size_t j = 0; j < i; j++)
                if ((p->cons[j].m.kind == KIND_PK || p->cons[j].m.kind == KIND_UNIQUE) &&
                    !p->cons[j].dropped && p->cons[j].m.name != NULL &&
                    strcmp(p->cons[j].m.name, t->m.name) == 0)
                    return cc_err_set_state(err, CC_EXISTS, "42P07",
                                            "relation \"%s\" already exists", t->m.name);
            continue;
        }
        cc_code rc;
        if (t->m.kind == KIND_PK) {
            rc = choose(p, t, NULL, "pkey", err);
        } else {
            char add[2 * DDL_NAME_MAX];
            ddl__name_addition((const char *const *)t->m.columns, t->m.n_columns, add);
            rc = choose(p, t, add, "key", err);
        }
        if (rc != CC_OK)
            return rc;
    }
    return CC_OK;
}

static Cowcat__Catalog__FkAction
fk_action(const char *a)
{
    switch (a != NULL ? a[0] : 'a') {
    case 'r':
        return COWCAT__CATALOG__FK_ACTION__FK_ACTION_RESTRICT;
    case 'c':
        return COWCAT__CATALOG__FK_ACTION__FK_ACTION_CASCADE;
    case 'n':
        return COWCAT__CATALOG__FK_ACTION__FK_ACTION_SET_NULL;
    case 'd':
        return COWCAT__CATALOG__FK_ACTION__FK_ACTION_SET_DEFAULT;
    default:
        return COWCAT__CATALOG__FK_ACTION__FK_ACTION_NO_ACTION;
    }
}

/* The referenced table's columns and key constraints (itself: the plan's). */
typedef struct ref_table {
    const char *name;
    Cowcat__Catalog__Column **cols; /* another table's; NULL for self */
    size_t ncols;
    Cowcat__Catalog__Constraint **cons;
    size_t ncons;
} ref_table;

static bool
ref_has_column(tplan *p, const ref_table *r, const char *name)
{
    if (r->cols == NULL)
        return find_column(p, name) != NULL;
    for (size_t i = 0; i < r->ncols; i++)
        if (strcmp(r->cols[i]->name, name) == 0)
            return true;
    return false;
}

/* The i-th key constraint of r (self: the plan's live PK/UNIQUE constraints), or NULL. */
static const Cowcat__Catalog__Constraint *
ref_key(tplan *p, const ref_table *r, size_t i)
{
    if (r->cols != NULL)
        return i < r->ncons ? r->cons[i] : NULL;
    for (size_t k = 0; k < p->ncons; k++)
        if ((p->cons[k].m.kind == KIND_PK || p->cons[k].m.kind == KIND_UNIQUE) &&
            !p->cons[k].dropped && i-- == 0)
            return &p->cons[k].m;
    return NULL;
}

/* Does the set of names equal key's columns (PostgreSQL's transformFkeyCheckAttrs)? */
static bool
key_matches(const Cowcat__Catalog__Constraint *key, char **names, size_t n)
{
    if (key->n_columns != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        bool found = false;
        for (size_t j = 0; j < n && !found; j++)
            found = strcmp(key->columns[j], names[i]) == 0;
        for (size_t j = 0; j < i && found; j++)
            found = strcmp(names[j], names[i]) != 0;
        if (!found)
            return false;
    }
    return true;
}

/* Is the foreign key's referenced RangeVar the table being created? */
static bool
is_self(tplan *p, const ddl_qname *q)
{
    if (strcmp(q->name, p->name) != 0)
        return false;
    if (q->schema != NULL)
        return strcmp(q->schema, p->schema->name) == 0;
    /* Unqualified: the first search_path schema holding the name, or the new table. */
    for (size_t i = 0; i < p->c->s->npath; i++) {
        const char *sn = p->c->s->path[i];
        if (strcmp(sn, "$user") == 0)
            sn = p->c->s->user;
        const cat_object *sc = ddl__find_schema(p->c, sn);
        if (sc == NULL)
            continue;
        if (sc->ref == p->schema->ref)
            return true;
        if (cat_state_find_relation(p->c->st, sc->ref, q->name) != NULL)
            return false;
    }
    return false;
}

static cc_code
plan_fk(tplan *p, tcon *t, cc_err *err)
{
    ddl_ctx *c = p->c;
    const PgQuery__Constraint *s = t->src;
    t->m.kind = KIND_FK;
    ddl_qname q = ddl__qname_rv(s->pktable);
    ref_table r = {.name = q.name};
    Cowcat__Catalog__CatalogId id = COWCAT__CATALOG__CATALOG_ID__INIT;
    cc_code rc;
    if (is_self(p, &q)) {
        r.name = p->name;
    } else {
        const cat_object *o;
        if ((rc = ddl__find_relation(c, &q, &o, err)) != CC_OK)
            return rc;
        if (o == NULL) {
            char b[3 * DDL_NAME_MAX + 4];
            return cc_err_set_state(err, CC_NOT_FOUND, "42P01", "relation \"%s\" does not exist",
                                    ddl__qname_str(&q, b, sizeof b));
        }
        if (o->kind != CAT_KIND_TABLE)
            return cc_err_set_state(err, CC_INVALID, "42809",
                                    "referenced relation \"%s\" is not a table", o->name);
        if ((rc = cat_object_decode(o, &p->ref_value, err)) != CC_OK)
            return rc;
        const Cowcat__Catalog__ItemValue *v = (const Cowcat__Catalog__ItemValue *)p->ref_value;
        r.name = o->name;
        r.cols = v->columns;
        r.ncols = v->n_columns;
        r.cons = NULL;
        r.ncons = 0;
        Cowcat__Catalog__Constraint **keys =
            ddl__pool_alloc(&p->pool, (v->n_constraints + 1) * sizeof *keys);
        if (keys == NULL)
            return nomem(err);
        for (size_t i = 0; i < v->n_constraints; i++)
            if (v->constraints[i]->kind == KIND_PK || v->constraints[i]->kind == KIND_UNIQUE)
                keys[r.ncons++] = v->constraints[i];
        r.cons = keys;
        id.system = cat_ref_is_system(o->ref);
        id.value = cat_ref_value(o->ref);
    }
    t->m.columns = name_list(p, s->fk_attrs, s->n_fk_attrs, t->column, &t->m.n_columns);
    if (t->m.columns == NULL)
        return nomem(err);
    for (size_t i = 0; i < t->m.n_columns; i++)
        if (find_column(p, t->m.columns[i]) == NULL)
            return cc_err_set_state(err, CC_NOT_FOUND, "42703",
                                    "column \"%s\" referenced in foreign key constraint does not "
                                    "exist",
                                    t->m.columns[i]);
    if (s->n_pk_attrs > 0) {
        t->m.ref_columns = name_list(p, s->pk_attrs, s->n_pk_attrs, NULL, &t->m.n_ref_columns);
        if (t->m.ref_columns == NULL)
            return nomem(err);
        for (size_t i = 0; i < t->m.n_ref_columns; i++)
            if (!ref_has_column(p, &r, t->m.ref_columns[i]))
                return cc_err_set_state(err, CC_NOT_FOUND, "42703",
                                        "column \"%s\" referenced in foreign key constraint does "
                                        "not exist",
                                        t->m.ref_columns[i]);
        for (size_t i = 0; i < t->m.n_ref_columns; i++)
            for (size_t j = 0; j < i; j++)
                if (strcmp(t->m.ref_columns[i], t->m.ref_columns[j]) == 0)
                    return cc_err_set_state(err, CC_INVALID, "42830",
                                            "foreign key referenced-columns list must not "
                                            "contain duplicates");
        bool found = false;
        const Cowcat__Catalog__Constraint *k;
        for (size_t i = 0; !found && (k = ref_key(p, &r, i)) != NULL; i++)
            found = key_matches(k, t->m.ref_columns, t->m.n_ref_columns);
        if (!found)
            return cc_err_set_state(err, CC_INVALID, "42830",
                                    "there is no unique constraint matching given keys for "
                                    "referenced table \"%s\"",
                                    r.name);
    } else {
        const Cowcat__Catalog__Constraint *k, *pk = NULL;
        for (size_t i = 0; pk == NULL && (k = ref_key(p, &r, i)) != NULL; i++)
            if (k->kind == KIND_PK)
                pk = k;
        if (pk == NULL)
            return cc_err_set_state(err, CC_NOT_FOUND, "42704",
                                    "there is no primary key for referenced table \"%s\"", r.name);
        t->m.ref_columns = pk->columns;
        t->m.n_ref_columns = pk->n_columns;
    }
    if (t->m.n_ref_columns != t->m.n_columns)
        return cc_err_set_state(err, CC_INVALID, "42830",
                                "number of referencing and referenced columns for foreign key "
                                "disagree");
    /* Borrowed from the referenced value: copy before it is freed. */
    char **rc_copy = ddl__pool_alloc(&p->pool, (t->m.n_ref_columns + 1) * sizeof *rc_copy);
    if (rc_copy == NULL)
        return nomem(err);
    for (size_t i = 0; i < t->m.n_ref_columns; i++)
        if ((rc_copy[i] = ddl__pool_strdup(&p->pool, t->m.ref_columns[i])) == NULL)
            return nomem(err);
    t->m.ref_columns = rc_copy;
    if (s->fk_matchtype != NULL && s->fk_matchtype[0] == 'p')
        return ddl__at(
            c, s->location,
            cc_err_set_state(err, CC_PARSE, "0A000", "MATCH PARTIAL not yet implemented"));
    if (s->n_fk_del_set_cols > 0)
        return unsupported(c, s->location, "ON DELETE SET NULL/SET DEFAULT with columns", err);
    t->ref_id = id;
    t->m.ref_table_opt_case = COWCAT__CATALOG__CONSTRAINT__REF_TABLE_OPT_REF_TABLE;
    t->m.on_delete = fk_action(s->fk_del_action);
    t->m.on_update = fk_action(s->fk_upd_action);
    if (t->m.name == NULL) {
        char add[2 * DDL_NAME_MAX];
        ddl__name_addition((const char *const *)t->m.columns, t->m.n_columns, add);
        return choose(p, t, add, "fkey", err);
    }
    return CC_OK;
}

static cc_code
plan_fks(tplan *p, cc_err *err)
{
    for (size_t i = 0; i < p->ncons; i++) {
        tcon *t = &p->cons[i];
        if (t->src->contype != PG_QUERY__CONSTR_TYPE__CONSTR_FOREIGN)
            continue;
        cc_code rc = plan_fk(p, t, err);
        if (p->ref_value != NULL) {
            protobuf_c_message_free_unpacked(p->ref_value, NULL);
            p->ref_value = NULL;
        }
        if (rc != CC_OK)
            return rc;
    }
    return CC_OK;
}

/* --- the statement --------------------------------------------------------------------------- */

/* 0A000 for the CREATE TABLE forms cowcat does not store. */
static cc_code
check_supported(ddl_ctx *c, const PgQuery__CreateStmt *s, cc_err *err)
{
    int32_t loc = s->relation->location;
    const char *rp = s->relation->relpersistence;
    if (rp != NULL && rp[0] == 't')
        return unsupported(c, loc, "temporary tables", err);
    if (rp != NULL && rp[0] == 'u')
        return unsupported(c, loc, "unlogged tables", err);
    if (s->partbound != NULL)
        return unsupported(c, loc, "PARTITION OF", err);
    if (s->partspec != NULL)
        return unsupported(c, s->partspec->location, "PARTITION BY", err);
    if (s->n_inh_relations > 0)
        return unsupported(c, loc, "INHERITS", err);
    if (s->of_typename != NULL)
        return unsupported(c, loc, "CREATE TABLE OF type", err);
    if (s->tablespacename != NULL && s->tablespacename[0])
        return unsupported(c, loc, "TABLESPACE", err);
    if (s->access_method != NULL && s->access_method[0])
        return unsupported(c, loc, "table access methods", err);
    if (s->n_options > 0)
        return unsupported(c, loc, "storage parameters", err);
    for (size_t i = 0; i < s->n_table_elts; i++)
        if (s->table_elts[i]->node_case == PG_QUERY__NODE__NODE_TABLE_LIKE_CLAUSE)
            return unsupported(c, s->table_elts[i]->table_like_clause->relation->location, "LIKE",
                               err);
    return CC_OK;
}

static cc_code
plan_table(tplan *p, const PgQuery__CreateStmt *s, bool *skipped, cc_err *err)
{
    ddl_ctx *c = p->c;
    *skipped = false;
    cc_code rc = check_supported(c, s, err);
    if (rc != CC_OK)
        return rc;
    ddl_qname q = ddl__qname_rv(s->relation);
    if ((rc = ddl__check_same_database(c, &q, err)) != CC_OK)
        return rc;
    if (q.schema != NULL && strcmp(q.schema, "pg_catalog") == 0)
        return ddl__at(c, q.location, ddl__system_catalog(c, &q, err));
    if ((rc = ddl__creation_schema(c, &q, &p->schema, err)) != CC_OK)
        return rc;
    if ((rc = ddl__check_create(c, p->schema, err)) != CC_OK)
        return ddl__at(c, q.location, rc);
    p->name = q.name;
    if (s->if_not_exists && cat_state_find_relation(c->st, p->schema->ref, q.name) != NULL) {
        ddl__notice(c, "42P07", "relation \"%s\" already exists, skipping", q.name);
        *skipped = true;
        return CC_OK;
    }
    size_t maxcols = s->n_table_elts, maxcons = 0;
    for (size_t i = 0; i < s->n_table_elts; i++) {
        const PgQuery__Node *e = s->table_elts[i];
        maxcons +=
            e->node_case == PG_QUERY__NODE__NODE_COLUMN_DEF ? e->column_def->n_constraints : 1;
    }
    p->cols = ddl__pool_alloc(&p->pool, (maxcols + 1) * sizeof *p->cols);
    p->col_type = ddl__pool_alloc(&p->pool, (maxcols + 1) * sizeof *p->col_type);
    p->col_loc = ddl__pool_alloc(&p->pool, (maxcols + 1) * sizeof *p->col_loc);
    p->cons = ddl__pool_alloc(&p->pool, (maxcons + 1) * sizeof *p->cons);
    if (p->cols == NULL || p->col_type == NULL || p->col_loc == NULL || p->cons == NULL)
        return nomem(err);
    for (size_t i = 0; i < s->n_table_elts && rc == CC_OK; i++) {
        const PgQuery__Node *e = s->table_elts[i];
        if (e->node_case == PG_QUERY__NODE__NODE_COLUMN_DEF)
            rc = plan_column(p, e->column_def, err);
        else if (e->node_case == PG_QUERY__NODE__NODE_CONSTRAINT)
            rc = plan_table_constraint(p, e->constraint, err);
    }
    if (rc == CC_OK)
        rc = plan_keys(p, err);
    if (rc != CC_OK)
        return rc;
    for (size_t i = 0; i < p->ncols; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(p->cols[i].name, p->cols[j].name) == 0)
                return cc_err_set_state(err, CC_EXISTS, "42701",
                                        "column \"%s\" specified more than once", p->cols[i].name);
    if (cat_state_find_relation(c->st, p->schema->ref, q.name) != NULL)
        return cc_err_set_state(err, CC_EXISTS, "42P07", "relation \"%s\" already exists", q.name);
    if (cat_state_find_type(c->st, p->schema->ref, q.name) != NULL) {
        cc_err_set_state(err, CC_EXISTS, "42710", "type \"%s\" already exists", q.name);
        return cc_err_hint(err, "A relation has an associated type of the same name, so you must "
                                "use a name that doesn't conflict with any existing type.");
    }
    if ((rc = plan_checks(p, err)) != CC_OK)
        return rc;
    if ((rc = plan_key_names(p, err)) != CC_OK)
        return rc;
    return plan_fks(p, err);
}

cc_code
ddl__create_table(ddl_ctx *c, const PgQuery__CreateStmt *s, cc_err *err)
{
    tplan p = {.c = c};
    bool skipped;
    char *sql = NULL;
    cc_code rc = plan_table(&p, s, &skipped, err);
    if (rc == CC_OK && skipped) {
        snprintf(c->tag, sizeof c->tag, "CREATE TABLE");
        ddl__pool_fini(&p.pool);
        return CC_OK;
    }
    Cowcat__Catalog__Column **colp = NULL;
    Cowcat__Catalog__Constraint **conp = NULL;
    size_t ncons = 0;
    if (rc == CC_OK) {
        colp = ddl__pool_alloc(&p.pool, (p.ncols + 1) * sizeof *colp);
        conp = ddl__pool_alloc(&p.pool, (p.ncons + 1) * sizeof *conp);
        if (colp == NULL || conp == NULL)
            rc = nomem(err);
    }
    if (rc == CC_OK) {
        for (size_t i = 0; i < p.ncols; i++) {
            if (p.cols[i].type_ref_opt_case == COWCAT__CATALOG__COLUMN__TYPE_REF_OPT_TYPE_REF)
                p.cols[i].type_ref = &p.col_type[i];
            colp[i] = &p.cols[i];
        }
        for (size_t i = 0; i < p.ncons; i++) {
            if (p.cons[i].dropped)
                continue;
            if (p.cons[i].m.kind == KIND_FK)
                p.cons[i].m.ref_table = &p.cons[i].ref_id;
            conp[ncons++] = &p.cons[i].m;
        }
        rc = ddl__create_sql(c, &sql, err);
    }
    if (rc == CC_OK) {
        cat_op op = {.kind = CAT_OP_CREATE_ITEM};
        op.u.create_item.kind = CAT_KIND_TABLE;
        op.u.create_item.schema = p.schema->ref;
        op.u.create_item.name = p.name;
        op.u.create_item.create_sql = sql;
        op.u.create_item.owner = c->role;
        op.u.create_item.ncolumns = p.ncols;
        op.u.create_item.columns = colp;
        op.u.create_item.nconstraints = ncons;
        op.u.create_item.constraints = conp;
        rc = ddl__apply(c, &op, NULL, err);
    }
    cc_free(sql);
    ddl__pool_fini(&p.pool);
    if (rc == CC_OK)
        snprintf(c->tag, sizeof c->tag, "CREATE TABLE");
    return rc;
}
