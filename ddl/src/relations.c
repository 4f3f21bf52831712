/*
 * ddl/src/relations.c — the builtin relations: information_schema's views
 * and cowcat_catalog's tables, computed from the pinned version at query
 * time (never stored). Each fill walks the version (O(n)), decodes what it
 * needs and appends rows in a stable order: objects by oid, then columns /
 * constraints / uses in their stored order.
 *
 * information_schema (PostgreSQL 15's column names and order; only the
 * current database's objects; identifier columns are `name` (19), numbers
 * int4 (23), everything else text (25)):
 *   tables             table_catalog, table_schema, table_name, table_type
 *                      ('BASE TABLE' | 'VIEW'; materialized views are not
 *                      listed, as in PostgreSQL), self_referencing_column_name,
 *                      reference_generation, user_defined_type_catalog,
 *                      user_defined_type_schema, user_defined_type_name,
 *                      is_insertable_into, is_typed, commit_action
 *   columns            the 44 columns of PostgreSQL 15 (table_catalog ...
 *                      is_updatable) for tables and views
 *   views              table_catalog, table_schema, table_name,
 *                      view_definition (the stored query, deparsed),
 *                      check_option, is_updatable, is_insertable_into (YES
 *                      for automatically updatable views: ddl_view_info),
 *                      is_trigger_updatable, is_trigger_deletable,
 *                      is_trigger_insertable_into
 *   schemata           catalog_name, schema_name, schema_owner,
 *                      default_character_set_catalog,
 *                      default_character_set_schema,
 *                      default_character_set_name, sql_path
 *   table_constraints  constraint_catalog, constraint_schema,
 *                      constraint_name, table_catalog, table_schema,
 *                      table_name, constraint_type, is_deferrable,
 *                      initially_deferred, enforced, nulls_distinct
 *                      (NOT NULL is a column property here, not a row)
 *   key_column_usage   constraint_catalog, constraint_schema,
 *                      constraint_name, table_catalog, table_schema,
 *                      table_name, column_name, ordinal_position,
 *                      position_in_unique_constraint
 * The builtin relations themselves are not listed in information_schema.
 *
 * cowcat_catalog (every database):
 *   objects       oid, id, kind, database, schema, name, owner
 *   tables        oid, id, database, schema, name, owner, create_sql
 *   views         oid, id, database, schema, name, owner, materialized,
 *                 definition, create_sql (views and materialized views)
 *   indexes       oid, id, database, schema, name, owner, table_oid, table_name,
 *                 create_sql
 *   types         oid, id, database, schema, name, owner, create_sql
 *   columns       relation_oid, database, schema, relation, position, name,
 *                 type (format_type), type_oid, nullable, default_expr
 *   schemas       oid, id, database, name, owner
 *   databases     oid, id, name, owner
 *   roles         oid, id, name, superuser, login, inherit, create_db,
 *                 create_role
 *   dependencies  object_oid, object, object_kind, referenced_oid,
 *                 referenced, referenced_kind (one row per `uses` edge)
 *   comments      object_oid, object, object_kind, column_position (NULL:
 *                 the object itself), comment
 *   audit_events  id, event_type, object_type, details, user_name,
 *                 occurred_at (from the durable shard, not the version)
 *   limits        name, value, current (the count per kind; NULL for the
 *                 per-parent limits)
 * Objects are named as cat_state_qualified_name prints them ("schema.t").
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/assert.h"
#include "internal.h"

#define TEXT 25
#define NAME 19
#define INT4 23
#define INT8 20
#define BOOL 16
#define OID  26
#define TSTZ 1184

#define KIND(k) (1u << (k))
#define ITEMS                                                                                      \
    (KIND(CAT_KIND_TABLE) | KIND(CAT_KIND_VIEW) | KIND(CAT_KIND_MATERIALIZED_VIEW) |               \
     KIND(CAT_KIND_INDEX) | KIND(CAT_KIND_TYPE))
#define NCOLS(a) (sizeof(a) / sizeof((a)[0]))

/* Number cells: a row's numbers are formatted into one of these per column. */
typedef char numbuf[24];

static const char *
num(numbuf b, int64_t v)
{
    snprintf(b, sizeof(numbuf), "%lld", (long long)v);
    return b;
}

static const char *
yes_no(bool b)
{
    return b ? "YES" : "NO";
}

static const char *
tf(bool b)
{
    return b ? "t" : "f";
}

/* The owner's name of o (NULL: none). */
static const char *
owner_of(const cat_state *st, const cat_object *o)
{
    return ddl__ref_name(st, o->owner);
}

/* The database name of a schema or item (NULL: ambient or none). */
static const char *
database_of(const cat_state *st, const cat_object *o)
{
    if (o->kind == CAT_KIND_SCHEMA)
        return ddl__ref_name(st, o->parent);
    if (cat_ref_class(o->ref) == CAT_CLASS_ITEM)
        return ddl__ref_name(st, ddl__item_database(st, o));
    return NULL;
}

static bool
in_current_db(ddl_ctx *c, const cat_object *item)
{
    return c->database != 0 && ddl__item_database(c->st, item) == c->database;
}

static cc_code
decode_item(const cat_object *o, Cowcat__Catalog__ItemValue **out, cc_err *err)
{
    return cat_object_decode(o, (ProtobufCMessage **)out, err);
}

static void
item_free(Cowcat__Catalog__ItemValue *v)
{
    if (v != NULL)
        protobuf_c_message_free_unpacked(&v->base, NULL);
}

/* Runs fn(c, o, out, err) for each object of kinds (sorted by oid). */
typedef cc_code (*each_fn)(ddl_ctx *c, const cat_object *o, ddl_rows *out, cc_err *err);

static cc_code
each(ddl_ctx *c, uint32_t kinds, each_fn fn, ddl_rows *out, cc_err *err)
{
    ddl_objs objs;
    cc_code rc = ddl__objs_collect(c->st, kinds, &objs, err);
    for (size_t i = 0; i < objs.n && rc == CC_OK; i++)
        rc = fn(c, objs.v[i], out, err);
    ddl__objs_fini(&objs);
    return rc;
}

/* --- information_schema ---------------------------------------------------------------- */

static const ddl_relcol is_tables_cols[] = {
    {"table_catalog", NAME},
    {"table_schema", NAME},
    {"table_name", NAME},
    {"table_type", TEXT},
    {"self_referencing_column_name", NAME},
    {"reference_generation", TEXT},
    {"user_defined_type_catalog", NAME},
    {"user_defined_type_schema", NAME},
    {"user_defined_type_name", NAME},
    {"is_insertable_into", TEXT},
    {"is_typed", TEXT},
    {"commit_action", TEXT},
};

static cc_code
is_tables_row(ddl_ctx *c, const cat_object *o, ddl_rows *out, cc_err *err)
{
    if (!in_current_db(c, o))
        return CC_OK;
    bool table = o->kind == CAT_KIND_TABLE, insertable = table;
    if (!table) {
        ddl_view_info vi;
        cc_code rc = ddl__view_info(c, o, &vi, err);
        if (rc != CC_OK)
            return rc;
        insertable = vi.updatable;
        ddl__view_info_fini(&vi);
    }
    const char *v[NCOLS(is_tables_cols)] = {c->s->database, ddl__item_schema(c->st, o),
                                            o->name,        table ? "BASE TABLE" : "VIEW",
                                            NULL,           NULL,
                                            NULL,           NULL,
                                            NULL,           yes_no(insertable),
                                            "NO",           NULL};
    return ddl__rows_add(out, v, err);
}

static cc_code
is_tables(ddl_ctx *c, ddl_rows *out, cc_err *err)
{
    return each(c, KIND(CAT_KIND_TABLE) | KIND(CAT_KIND_VIEW), is_tables_row, out, err);
}

static const ddl_relcol is_columns_cols[] = {
    {"table_catalog", NAME},
    {"table_schema", NAME},
    {"table_name", NAME},
    {"column_name", NAME},
    {"ordinal_position", INT4},
    {"column_default", TEXT},
    {"is_nullable", TEXT},
    {"data_type", TEXT},
    {"character_maximum_length", INT4},
    {"character_octet_length", INT4},
    {"numeric_precision", INT4},
    {"numeric_precision_radix", INT4},
    {"numeric_scale", INT4},
    {"datetime_precision", INT4},
    {"interval_type", TEXT},
    {"interval_precision", INT4},
    {"character_set_catalog", NAME},
    {"character_set_schema", NAME},
    {"character_set_name", NAME},
    {"collation_catalog", NAME},
    {"collation_schema", NAME},
    {"collation_name", NAME},
    {"domain_catalog", NAME},
    {"domain_schema", NAME},
    {"domain_name", NAME},
    {"udt_catalog", NAME},
    {"udt_schema", NAME},
    {"udt_name", NAME},
    {"scope_catalog", NAME},
    {"scope_schema", NAME},
    {"scope_name", NAME},
    {"maximum_cardinality", INT4},
    {"dtd_identifier", NAME},
    {"is_self_referencing", TEXT},
    {"is_identity", TEXT},
    {"identity_generation", TEXT},
    {"identity_start", TEXT},
    {"identity_increment", TEXT},
    {"identity_maximum", TEXT},
    {"identity_minimum", TEXT},
    {"identity_cycle", TEXT},
    {"is_generated", TEXT},
    {"generation_expression", TEXT},
    {"is_updatable", TEXT},
};

/* Column indexes of information_schema.columns used below. */
enum {
    ISC_CHAR_MAX = 8,
    ISC_CHAR_OCTET,
    ISC_NUM_PREC,
    ISC_NUM_RADIX,
    ISC_NUM_SCALE,
    ISC_DT_PREC,
    ISC_UDT_CATALOG = 25,
    ISC_UDT_SCHEMA,
    ISC_UDT_NAME,
};

/* Fills the type-dependent cells of one information_schema.columns row. */
static void
column_type_cells(ddl_ctx *c, const Cowcat__Catalog__Column *col, const char **v, numbuf *nb,
                  char *udt, size_t udtcap)
{
    const char *t = col->type_name;
    int32_t m = col->typmod;
    v[ISC_UDT_CATALOG] = c->s->database;
    v[ISC_UDT_SCHEMA] = "pg_catalog";
    v[ISC_UDT_NAME] = t;
    if (col->type_ref_opt_case == COWCAT__CATALOG__COLUMN__TYPE_REF_OPT_TYPE_REF) {
        const cat_object *ty =
            cat_state_find(c->st, cat_ref_from_id(CAT_CLASS_ITEM, col->type_ref));
        v[ISC_UDT_SCHEMA] = ty ? ddl__item_schema(c->st, ty) : NULL;
        size_t len = strlen(t);
        if (len > 2 && strcmp(t + len - 2, "[]") == 0) {
            snprintf(udt, udtcap, "_%.*s", (int)(len - 2), t);
            v[ISC_UDT_NAME] = udt;
        }
        return;
    }
    if (t[0] == '_')
        return;
    static const struct {
        const char *name;
        int prec; /* binary precision of ints and floats */
        int scale;
    } nums[] = {
        {"int2", 16, 0}, {"int4", 32, 0}, {"int8", 64, 0}, {"float4", 24, -1}, {"float8", 53, -1}};
    for (size_t i = 0; i < NCOLS(nums); i++)
        if (strcmp(t, nums[i].name) == 0) {
            v[ISC_NUM_PREC] = num(nb[ISC_NUM_PREC], nums[i].prec);
            v[ISC_NUM_RADIX] = "2";
            v[ISC_NUM_SCALE] = nums[i].scale >= 0 ? "0" : NULL;
        }
    if (strcmp(t, "numeric") == 0) {
        v[ISC_NUM_RADIX] = "10";
        if (m >= 0) {
            v[ISC_NUM_PREC] = num(nb[ISC_NUM_PREC], (m >> 16) & 0xffff);
            v[ISC_NUM_SCALE] = num(nb[ISC_NUM_SCALE], m & 0xffff);
        }
    }
    if (strcmp(t, "varchar") == 0 || strcmp(t, "bpchar") == 0 || strcmp(t, "text") == 0) {
        if (m >= 0 && strcmp(t, "text") != 0) {
            v[ISC_CHAR_MAX] = num(nb[ISC_CHAR_MAX], m);
            v[ISC_CHAR_OCTET] = num(nb[ISC_CHAR_OCTET], (int64_t)m * 4); /* UTF8: 4 bytes */
        } else {
            v[ISC_CHAR_OCTET] = "1073741824";
        }
    }
    if (strcmp(t, "date") == 0)
        v[ISC_DT_PREC] = "0";
    if (strcmp(t, "time") == 0 || strcmp(t, "timestamp") == 0 || strcmp(t, "timestamptz") == 0 ||
        strcmp(t, "interval") == 0)
        v[ISC_DT_PREC] = num(nb[ISC_DT_PREC], m >= 0 ? m : 6);
}

static cc_code
is_columns_row(ddl_ctx *c, const cat_object *o, ddl_rows *out, cc_err *err)
{
    if (!in_current_db(c, o))
        return CC_OK;
    Cowcat__Catalog__ItemValue *iv;
    cc_code rc = decode_item(o, &iv, err);
    if (rc != CC_OK)
        return rc;
    ddl_view_info vi = {0};
    if (o->kind == CAT_KIND_VIEW && (rc = ddl__view_info(c, o, &vi, err)) != CC_OK) {
        item_free(iv);
        return rc;
    }
    const char *schema = ddl__item_schema(c->st, o);
    for (size_t i = 0; rc == CC_OK && i < iv->n_columns; i++) {
        const Cowcat__Catalog__Column *col = iv->columns[i];
        bool updatable = o->kind == CAT_KIND_TABLE ||
                         (vi.col_updatable != NULL && i < vi.ncols && vi.col_updatable[i]);
        const char *v[NCOLS(is_columns_cols)] = {NULL};
        numbuf nb[NCOLS(is_columns_cols)];
        char udt[DDL_NAME_MAX + 2];
        v[0] = c->s->database;
        v[1] = schema;
        v[2] = o->name;
        v[3] = col->name;
        v[4] = num(nb[4], (int64_t)i + 1);
        v[5] = col->default_opt_case == COWCAT__CATALOG__COLUMN__DEFAULT_OPT_DEFAULT_EXPR
                   ? col->default_expr
                   : NULL;
        v[6] = yes_no(col->nullable);
        v[7] = ddl__sql_data_type(col);
        column_type_cells(c, col, v, nb, udt, sizeof udt);
        v[32] = v[4]; /* dtd_identifier */
        v[33] = "NO"; /* is_self_referencing */
        v[34] = "NO"; /* is_identity */
        v[40] = "NO"; /* identity_cycle */
        v[41] = "NEVER";
        v[43] = yes_no(updatable);
        rc = ddl__rows_add(out, v, err);
    }
    ddl__view_info_fini(&vi);
    item_free(iv);
    return rc;
}

static cc_code
is_columns(ddl_ctx *c, ddl_rows *out, cc_err *err)
{
    return each(c, KIND(CAT_KIND_TABLE) | KIND(CAT_KIND_VIEW), is_columns_row, out, err);
}

static const ddl_relcol is_views_cols[] = {
    {"table_catalog", NAME},        {"table_schema", NAME},
    {"table_name", NAME},           {"view_definition", TEXT},
    {"check_option", TEXT},         {"is_updatable", TEXT},
    {"is_insertable_into", TEXT},   {"is_trigger_updatable", TEXT},
    {"is_trigger_deletable", TEXT}, {"is_trigger_insertable_into", TEXT},
};

static cc_code
is_views_row(ddl_ctx *c, const cat_object *o, ddl_rows *out, cc_err *err)
{
    if (!in_current_db(c, o))
        return CC_OK;
    ddl_view_info vi;
    cc_code rc = ddl__view_info(c, o, &vi, err);
    if (rc != CC_OK)
        return rc;
    const char *v[NCOLS(is_views_cols)] = {
        c->s->database,       ddl__item_schema(c->st, o), o->name, vi.definition, vi.check_option,
        yes_no(vi.updatable), yes_no(vi.updatable),       "NO",    "NO",          "NO"};
    rc = ddl__rows_add(out, v, err);
    ddl__view_info_fini(&vi);
    return rc;
}

static cc_code
is_views(ddl_ctx *c, ddl_rows *out, cc_err *err)
{
    return each(c, KIND(CAT_KIND_VIEW), is_views_row, out, err);
}

static const ddl_relcol is_schemata_cols[] = {
    {"catalog_name", NAME},
    {"schema_name", NAME},
    {"schema_owner", NAME},
    {"default_character_set_catalog", NAME},
    {"default_character_set_schema", NAME},
    {"default_character_set_name", NAME},
    {"sql_path", TEXT},
};

static cc_code
is_schemata_row(ddl_ctx *c, const cat_object *o, ddl_rows *out, cc_err *err)
{
    if (c->database == 0 || (o->parent != 0 && o->parent != c->database))
        return CC_OK;
    const char *v[NCOLS(is_schemata_cols)] = {c->s->database, o->name, owner_of(c->st, o)};
    return ddl__rows_add(out, v, err);
}

static cc_code
is_schemata(ddl_ctx *c, ddl_rows *out, cc_err *err)
{
    return each(c, KIND(CAT_KIND_SCHEMA), is_schemata_row, out, err);
}

static const ddl_relcol is_tc_cols[] = {
    {"constraint_catalog", NAME}, {"constraint_schema", NAME}, {"constraint_name", NAME},
    {"table_catalog", NAME},      {"table_schema", NAME},      {"table_name", NAME},
    {"constraint_type", TEXT},    {"is_deferrable", TEXT},     {"initially_deferred", TEXT},
    {"enforced", TEXT},           {"nulls_distinct", TEXT},
};

static cc_code
is_tc_row(ddl_ctx *c, const cat_object *o, ddl_rows *out, cc_err *err)
{
    if (!in_current_db(c, o))
        return CC_OK;
    Cowcat__Catalog__ItemValue *iv;
    cc_code rc = decode_item(o, &iv, err);
    if (rc != CC_OK)
        return rc;
    const char *schema = ddl__item_schema(c->st, o);
    for (size_t i = 0; rc == CC_OK && i < iv->n_constraints; i++) {
        const Cowcat__Catalog__Constraint *k = iv->constraints[i];
        bool unique = k->kind == COWCAT__CATALOG__CONSTRAINT_KIND__CONSTRAINT_KIND_UNIQUE;
        const char *v[NCOLS(is_tc_cols)] = {c->s->database,
                                            schema,
                                            k->name,
                                            c->s->database,
                                            schema,
                                            o->name,
                                            ddl__constraint_type(k->kind),
                                            "NO",
                                            "NO",
                                            "YES",
                                            unique ? "YES" : NULL};
        rc = ddl__rows_add(out, v, err);
    }
    item_free(iv);
    return rc;
}

static cc_code
is_table_constraints(ddl_ctx *c, ddl_rows *out, cc_err *err)
{
    return each(c, KIND(CAT_KIND_TABLE), is_tc_row, out, err);
}

static const ddl_relcol is_kcu_cols[] = {
    {"constraint_catalog", NAME},
    {"constraint_schema", NAME},
    {"constraint_name", NAME},
    {"table_catalog", NAME},
    {"table_schema", NAME},
    {"table_name", NAME},
    {"column_name", NAME},
    {"ordinal_position", INT4},
    {"position_in_unique_constraint", INT4},
};

/*
 * The 1-based position of column name in the referenced table's primary key
 * or unique constraint over exactly the FK's referenced columns (0: none).
 */
static int
unique_position(const Cowcat__Catalog__ItemValue *ref, const Cowcat__Catalog__Constraint *fk,
                const char *name)
{
    for (size_t i = 0; i < ref->n_constraints; i++) {
        const Cowcat__Catalog__Constraint *u = ref->constraints[i];
        if ((u->kind != COWCAT__CATALOG__CONSTRAINT_KIND__CONSTRAINT_KIND_PRIMARY_KEY &&
             u->kind != COWCAT__CATALOG__CONSTRAINT_KIND__CONSTRAINT_KIND_UNIQUE) ||
            u->n_columns != fk->n_ref_columns)
            continue;
        size_t same = 0;
        for (size_t a = 0; a < u->n_columns; a++)
            for (size_t b = 0; b < fk->n_ref_columns; b++)
                same += strcmp(u->columns[a], fk->ref_columns[b]) == 0;
        if (same != u->n_columns)
            continue;
        for (size_t a = 0; a < u->n_columns; a++)
            if (strcmp(u->columns[a], name) == 0)
                return (int)a + 1;
    }
    return 0;
}

static cc_code
kcu_constraint(ddl_ctx *c, const cat_object *o, const char *schema,
               const Cowcat__Catalog__Constraint *k, ddl_rows *out, cc_err *err)
{
    Cowcat__Catalog__ItemValue *ref = NULL;
    cc_code rc = CC_OK;
    bool fk = k->kind == COWCAT__CATALOG__CONSTRAINT_KIND__CONSTRAINT_KIND_FOREIGN_KEY;
    if (fk && k->ref_table_opt_case == COWCAT__CATALOG__CONSTRAINT__REF_TABLE_OPT_REF_TABLE) {
        const cat_object *rt = cat_state_find(c->st, cat_ref_from_id(CAT_CLASS_ITEM, k->ref_table));
        if (rt != NULL && (rc = decode_item(rt, &ref, err)) != CC_OK)
            return rc;
    }
    for (size_t j = 0; rc == CC_OK && j < k->n_columns; j++) {
        numbuf pos, upos;
        int up = 0;
        if (fk && j < k->n_ref_columns)
            up = ref ? unique_position(ref, k, k->ref_columns[j]) : 0;
        if (fk && up == 0)
            up = (int)j + 1;
        const char *v[NCOLS(is_kcu_cols)] = {c->s->database,
                                             schema,
                                             k->name,
                                             c->s->database,
                                             schema,
                                             o->name,
                                             k->columns[j],
                                             num(pos, (int64_t)j + 1),
                                             fk ? num(upos, up) : NULL};
        rc = ddl__rows_add(out, v, err);
    }
    item_free(ref);
    return rc;
}

static cc_code
is_kcu_row(ddl_ctx *c, const cat_object *o, ddl_rows *out, cc_err *err)
{
    if (!in_current_db(c, o))
        return CC_OK;
    Cowcat__Catalog__ItemValue *iv;
    cc_code rc = decode_item(o, &iv, err);
    if (rc != CC_OK)
        return rc;
    const char *schema = ddl__item_schema(c->st, o);
    for (size_t i = 0; rc == CC_OK && i < iv->n_constraints; i++)
        if (iv->constraints[i]->kind != COWCAT__CATALOG__CONSTRAINT_KIND__CONSTRAINT_KIND_CHECK)
            rc = kcu_constraint(c, o, schema, iv->constraints[i], out, err);
    item_free(iv);
    return rc;
}

static cc_code
is_key_column_usage(ddl_ctx *c, ddl_rows *out, cc_err *err)
{
    return each(c, KIND(CAT_KIND_TABLE), is_kcu_row, out, err);
}

/* --- cowcat_catalog ---------------------------------------------------------------------- */

static const ddl_relcol cc_objects_cols[] = {
    {"oid", OID},     {"id", TEXT},   {"kind", TEXT},  {"database", NAME},
    {"schema", NAME}, {"name", NAME}, {"owner", NAME},
};

static cc_code
cc_objects_row(ddl_ctx *c, const cat_object *o, ddl_rows *out, cc_err *err)
{
    numbuf oid;
    char id[24];
    bool item = cat_ref_class(o->ref) == CAT_CLASS_ITEM;
    const char *v[NCOLS(cc_objects_cols)] = {o->oid ? num(oid, o->oid) : NULL,
                                             cat_ref_str(o->ref, id),
                                             cat_kind_name(o->kind),
                                             database_of(c->st, o),
                                             item ? ddl__item_schema(c->st, o) : NULL,
                                             o->name,
                                             owner_of(c->st, o)};
    return ddl__rows_add(out, v, err);
}

static cc_code
cc_objects(ddl_ctx *c, ddl_rows *out, cc_err *err)
{
    return each(c, ~0u, cc_objects_row, out, err);
}

/* tables / types: the common item columns and create_sql; views and indexes add theirs. */
static const ddl_relcol cc_tables_cols[] = {
    {"oid", OID},   {"id", TEXT},    {"database", NAME},   {"schema", NAME},
    {"name", NAME}, {"owner", NAME}, {"create_sql", TEXT},
};
static const ddl_relcol cc_views_cols[] = {
    {"oid", OID},           {"id", TEXT},         {"database", NAME},
    {"schema", NAME},       {"name", NAME},       {"owner", NAME},
    {"materialized", BOOL}, {"definition", TEXT}, {"create_sql", TEXT},
};
static const ddl_relcol cc_indexes_cols[] = {
    {"oid", OID},    {"id", TEXT},       {"database", NAME},   {"schema", NAME},     {"name", NAME},
    {"owner", NAME}, {"table_oid", OID}, {"table_name", NAME}, {"create_sql", TEXT},
};

static cc_code
cc_item_row(ddl_ctx *c, const cat_object *o, ddl_rows *out, cc_err *err)
{
    Cowcat__Catalog__ItemValue *iv;
    cc_code rc = decode_item(o, &iv, err);
    if (rc != CC_OK)
        return rc;
    numbuf oid, toid;
    char id[24];
    const char *v[9] = {num(oid, o->oid),
                        cat_ref_str(o->ref, id),
                        database_of(c->st, o),
                        ddl__item_schema(c->st, o),
                        o->name,
                        owner_of(c->st, o)};
    ddl_view_info vi = {0};
    size_t n = 6;
    if (o->kind == CAT_KIND_VIEW || o->kind == CAT_KIND_MATERIALIZED_VIEW) {
        if ((rc = ddl__view_info(c, o, &vi, err)) != CC_OK) {
            item_free(iv);
            return rc;
        }
        v[n++] = tf(o->kind == CAT_KIND_MATERIALIZED_VIEW);
        v[n++] = vi.definition;
    } else if (o->kind == CAT_KIND_INDEX) {
        const cat_object *t = o->nuses > 0 ? cat_state_find(c->st, o->uses[0]) : NULL;
        v[n++] = t ? num(toid, t->oid) : NULL;
        v[n++] = t ? t->name : NULL;
    }
    v[n++] = iv->create_sql;
    CC_ASSERT(n == out->ncols);
    rc = ddl__rows_add(out, v, err);
    ddl__view_info_fini(&vi);
    item_free(iv);
    return rc;
}

static cc_code
cc_tables(ddl_ctx *c, ddl_rows *out, cc_err *err)
{
    return each(c, KIND(CAT_KIND_TABLE), cc_item_row, out, err);
}

static cc_code
cc_views(ddl_ctx *c, ddl_rows *out, cc_err *err)
{
    return each(c, KIND(CAT_KIND_VIEW) | KIND(CAT_KIND_MATERIALIZED_VIEW), cc_item_row, out, err);
}

static cc_code
cc_indexes(ddl_ctx *c, ddl_rows *out, cc_err *err)
{
    return each(c, KIND(CAT_KIND_INDEX), cc_item_row, out, err);
}

static cc_code
cc_types(ddl_ctx *c, ddl_rows *out, cc_err *err)
{
    return each(c, KIND(CAT_KIND_TYPE), cc_item_row, out, err);
}

static const ddl_relcol cc_columns_cols[] = {
    {"relation_oid", OID}, {"database", NAME},     {"schema", NAME}, {"relation", NAME},
    {"position", INT4},    {"name", NAME},         {"type", TEXT},   {"type_oid", OID},
    {"nullable", BOOL},    {"default_expr", TEXT},
};

static cc_code
cc_columns_row(ddl_ctx *c, const cat_object *o, ddl_rows *out, cc_err *err)
{
    Cowcat__Catalog__ItemValue *iv;
    cc_code rc = decode_item(o, &iv, err);
    if (rc != CC_OK)
        return rc;
    numbuf oid, pos, toid;
    const char *db = database_of(c->st, o), *schema = ddl__item_schema(c->st, o);
    for (size_t i = 0; rc == CC_OK && i < iv->n_columns; i++) {
        const Cowcat__Catalog__Column *col = iv->columns[i];
        char type[128];
        uint32_t t = ddl__type_oid(col);
        if (t == 0 && col->type_ref_opt_case == COWCAT__CATALOG__COLUMN__TYPE_REF_OPT_TYPE_REF) {
            const cat_object *ty =
                cat_state_find(c->st, cat_ref_from_id(CAT_CLASS_ITEM, col->type_ref));
            t = ty ? ty->oid : 0;
        }
        const char *v[NCOLS(cc_columns_cols)] = {
            num(oid, o->oid),
            db,
            schema,
            o->name,
            num(pos, (int64_t)i + 1),
            col->name,
            ddl__format_type(col, type, sizeof type),
            t ? num(toid, t) : NULL,
            tf(col->nullable),
            col->default_opt_case == COWCAT__CATALOG__COLUMN__DEFAULT_OPT_DEFAULT_EXPR
                ? col->default_expr
                : NULL};
        rc = ddl__rows_add(out, v, err);
    }
    item_free(iv);
    return rc;
}

static cc_code
cc_columns(ddl_ctx *c, ddl_rows *out, cc_err *err)
{
    return each(c, ITEMS, cc_columns_row, out, err);
}

static const ddl_relcol cc_schemas_cols[] = {
    {"oid", OID}, {"id", TEXT}, {"database", NAME}, {"name", NAME}, {"owner", NAME},
};

static cc_code
cc_schemas_row(ddl_ctx *c, const cat_object *o, ddl_rows *out, cc_err *err)
{
    numbuf oid;
    char id[24];
    const char *v[NCOLS(cc_schemas_cols)] = {num(oid, o->oid), cat_ref_str(o->ref, id),
                                             database_of(c->st, o), o->name, owner_of(c->st, o)};
    return ddl__rows_add(out, v, err);
}

static cc_code
cc_schemas(ddl_ctx *c, ddl_rows *out, cc_err *err)
{
    return each(c, KIND(CAT_KIND_SCHEMA), cc_schemas_row, out, err);
}

static const ddl_relcol cc_databases_cols[] = {
    {"oid", OID},
    {"id", TEXT},
    {"name", NAME},
    {"owner", NAME},
};

static cc_code
cc_databases_row(ddl_ctx *c, const cat_object *o, ddl_rows *out, cc_err *err)
{
    numbuf oid;
    char id[24];
    const char *v[NCOLS(cc_databases_cols)] = {num(oid, o->oid), cat_ref_str(o->ref, id), o->name,
                                               owner_of(c->st, o)};
    return ddl__rows_add(out, v, err);
}

static cc_code
cc_databases(ddl_ctx *c, ddl_rows *out, cc_err *err)
{
    return each(c, KIND(CAT_KIND_DATABASE), cc_databases_row, out, err);
}

static const ddl_relcol cc_roles_cols[] = {
    {"oid", OID},    {"id", TEXT},      {"name", NAME},      {"superuser", BOOL},
    {"login", BOOL}, {"inherit", BOOL}, {"create_db", BOOL}, {"create_role", BOOL},
};

static cc_code
cc_roles_row(ddl_ctx *c, const cat_object *o, ddl_rows *out, cc_err *err)
{
    (void)c;
    Cowcat__Catalog__RoleValue *rv;
    cc_code rc = cat_object_decode(o, (ProtobufCMessage **)&rv, err);
    if (rc != CC_OK)
        return rc;
    const Cowcat__Catalog__RoleAttributes *a = rv->attributes;
    numbuf oid;
    char id[24];
    const char *v[NCOLS(cc_roles_cols)] = {
        num(oid, o->oid),      cat_ref_str(o->ref, id), o->name,
        tf(a && a->superuser), tf(a && a->login),       tf(a && a->inherit),
        tf(a && a->create_db), tf(a && a->create_role)};
    rc = ddl__rows_add(out, v, err);
    protobuf_c_message_free_unpacked(&rv->base, NULL);
    return rc;
}

static cc_code
cc_roles(ddl_ctx *c, ddl_rows *out, cc_err *err)
{
    return each(c, KIND(CAT_KIND_ROLE), cc_roles_row, out, err);
}

static const ddl_relcol cc_deps_cols[] = {
    {"object_oid", OID},     {"object", TEXT},     {"object_kind", TEXT},
    {"referenced_oid", OID}, {"referenced", TEXT}, {"referenced_kind", TEXT},
};

static cc_code
cc_deps_row(ddl_ctx *c, const cat_object *o, ddl_rows *out, cc_err *err)
{
    cc_code rc = CC_OK;
    numbuf oid, roid;
    char name[2 * DDL_NAME_MAX + 2], rname[2 * DDL_NAME_MAX + 2];
    cat_state_qualified_name(c->st, o, name, sizeof name);
    for (uint32_t i = 0; rc == CC_OK && i < o->nuses; i++) {
        const cat_object *r = cat_state_find(c->st, o->uses[i]);
        if (r == NULL)
            continue;
        const char *v[NCOLS(cc_deps_cols)] = {
            num(oid, o->oid),
            name,
            cat_kind_name(o->kind),
            num(roid, r->oid),
            cat_state_qualified_name(c->st, r, rname, sizeof rname),
            cat_kind_name(r->kind)};
        rc = ddl__rows_add(out, v, err);
    }
    return rc;
}

static cc_code
cc_dependencies(ddl_ctx *c, ddl_rows *out, cc_err *err)
{
    return each(c, ITEMS, cc_deps_row, out, err);
}

static const ddl_relcol cc_comments_cols[] = {
    {"object_oid", OID},       {"object", TEXT},  {"object_kind", TEXT},
    {"column_position", INT4}, {"comment", TEXT},
};

static cc_code
cc_comments_row(ddl_ctx *c, const cat_object *o, ddl_rows *out, cc_err *err)
{
    size_t ncols = 0;
    if (cat_ref_class(o->ref) == CAT_CLASS_ITEM) {
        Cowcat__Catalog__ItemValue *iv;
        cc_code rc = decode_item(o, &iv, err);
        if (rc != CC_OK)
            return rc;
        ncols = iv->n_columns;
        item_free(iv);
    }
    cc_code rc = CC_OK;
    numbuf oid, pos;
    char name[2 * DDL_NAME_MAX + 2];
    cat_state_qualified_name(c->st, o, name, sizeof name);
    for (size_t k = 0; rc == CC_OK && k <= ncols; k++) {
        const char *text = cat_state_comment(c->st, o->ref, (uint32_t)k);
        if (text == NULL)
            continue;
        const char *v[NCOLS(cc_comments_cols)] = {o->oid ? num(oid, o->oid) : NULL, name,
                                                  cat_kind_name(o->kind),
                                                  k ? num(pos, (int64_t)k) : NULL, text};
        rc = ddl__rows_add(out, v, err);
    }
    return rc;
}

static cc_code
cc_comments(ddl_ctx *c, ddl_rows *out, cc_err *err)
{
    return each(c, ~0u, cc_comments_row, out, err);
}

static const ddl_relcol cc_audit_cols[] = {
    {"id", INT8},      {"event_type", TEXT}, {"object_type", TEXT},
    {"details", TEXT}, {"user_name", NAME},  {"occurred_at", TSTZ},
};

typedef struct audit_arg {
    ddl_rows *out;
    cc_err *err;
    cc_code rc;
} audit_arg;

static int
audit_cb(void *arg, uint64_t id, const Cowcat__Catalog__AuditLogValue *e)
{
    static const char *const events[] = {NULL,    "create", "drop",    "alter", "rename",
                                         "grant", "revoke", "comment", "set"};
    static const char *const types[] = {NULL,   "database",          "schema", "table",
                                        "view", "materialized view", "index",  "type",
                                        "role", "cluster",           "system"};
    audit_arg *a = arg;
    numbuf idb;
    char when[48];
    time_t secs = (time_t)(e->occurred_at_ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    size_t len = strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
    snprintf(when + len, sizeof when - len, ".%03u+00", (unsigned)(e->occurred_at_ms % 1000));
    unsigned et = (unsigned)e->event_type, ot = (unsigned)e->object_type;
    const char *v[NCOLS(cc_audit_cols)] = {num(idb, (int64_t)id),
                                           et < NCOLS(events) ? events[et] : NULL,
                                           ot < NCOLS(types) ? types[ot] : NULL,
                                           e->details,
                                           e->user_name,
                                           when};
    a->rc = ddl__rows_add(a->out, v, a->err);
    return a->rc != CC_OK;
}

static cc_code
cc_audit_events(ddl_ctx *c, ddl_rows *out, cc_err *err)
{
    audit_arg a = {out, err, CC_OK};
    cc_code rc = dur_audit_walk(c->s->db->dur, audit_cb, &a, err);
    return rc != CC_OK ? rc : a.rc;
}

static const ddl_relcol cc_limits_cols[] = {
    {"name", TEXT},
    {"value", INT8},
    {"current", INT8},
};

static cc_code
cc_limits(ddl_ctx *c, ddl_rows *out, cc_err *err)
{
    /* The kind each limit counts (-1: a per-parent limit, no single count). */
    static const int kinds[CAT_NLIMIT] = {
        [CAT_LIMIT_DATABASES] = CAT_KIND_DATABASE,
        [CAT_LIMIT_SCHEMAS_PER_DATABASE] = -1,
        [CAT_LIMIT_OBJECTS_PER_SCHEMA] = -1,
        [CAT_LIMIT_TABLES] = CAT_KIND_TABLE,
        [CAT_LIMIT_VIEWS] = CAT_KIND_VIEW,
        [CAT_LIMIT_MATERIALIZED_VIEWS] = CAT_KIND_MATERIALIZED_VIEW,
        [CAT_LIMIT_INDEXES] = CAT_KIND_INDEX,
        [CAT_LIMIT_ROLES] = CAT_KIND_ROLE,
        [CAT_LIMIT_CLUSTERS] = CAT_KIND_CLUSTER,
    };
    cc_code rc = CC_OK;
    for (int l = 0; l < CAT_NLIMIT && rc == CC_OK; l++) {
        numbuf val, cur;
        const char *v[NCOLS(cc_limits_cols)] = {
            cat_limit_name((cat_limit)l), num(val, cat_state_limit(c->st, (cat_limit)l)),
            kinds[l] >= 0 ? num(cur, (int64_t)cat_state_count(c->st, (cat_kind)kinds[l])) : NULL};
        rc = ddl__rows_add(out, v, err);
    }
    return rc;
}

/* --- the registry ---------------------------------------------------------------------- */

#define REL(schema, name, cols, fill)                                                              \
    {                                                                                              \
        schema, name, cols, NCOLS(cols), fill                                                      \
    }
#define IS "information_schema"
#define CC "cowcat_catalog"

static const ddl_builtin builtins[] = {
    REL(IS, "tables", is_tables_cols, is_tables),
    REL(IS, "columns", is_columns_cols, is_columns),
    REL(IS, "views", is_views_cols, is_views),
    REL(IS, "schemata", is_schemata_cols, is_schemata),
    REL(IS, "table_constraints", is_tc_cols, is_table_constraints),
    REL(IS, "key_column_usage", is_kcu_cols, is_key_column_usage),
    REL(CC, "objects", cc_objects_cols, cc_objects),
    REL(CC, "tables", cc_tables_cols, cc_tables),
    REL(CC, "views", cc_views_cols, cc_views),
    REL(CC, "indexes", cc_indexes_cols, cc_indexes),
    REL(CC, "types", cc_tables_cols, cc_types),
    REL(CC, "columns", cc_columns_cols, cc_columns),
    REL(CC, "schemas", cc_schemas_cols, cc_schemas),
    REL(CC, "databases", cc_databases_cols, cc_databases),
    REL(CC, "roles", cc_roles_cols, cc_roles),
    REL(CC, "dependencies", cc_deps_cols, cc_dependencies),
    REL(CC, "comments", cc_comments_cols, cc_comments),
    REL(CC, "audit_events", cc_audit_cols, cc_audit_events),
    REL(CC, "limits", cc_limits_cols, cc_limits),
};

const ddl_builtin *
ddl__builtin_find(const char *schema, const char *name)
{
    for (size_t i = 0; i < NCOLS(builtins); i++)
        if (strcmp(builtins[i].schema, schema) == 0 && strcmp(builtins[i].name, name) == 0)
            return &builtins[i];
    return NULL;
}
