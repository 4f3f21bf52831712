/*
 * ddl/src/types.c — column types: a TypeName from the parser to the type
 * cowcat stores (PostgreSQL's internal name, a type modifier, and the enum
 * it refers to for user types).
 *
 * The grammar already maps SQL's spellings to internal names qualified with
 * pg_catalog (integer -> pg_catalog.int4, double precision ->
 * pg_catalog.float8, char -> pg_catalog.bpchar(1), float(p) -> float4 or
 * float8). An unqualified name is looked up in pg_catalog first and then
 * along search_path, as PostgreSQL does, so a user enum called "text" never
 * hides the builtin. Type modifiers are validated with PostgreSQL's messages
 * (varchar/bpchar length, numeric precision and scale, time precision).
 *
 * Stored names: builtins by internal name, arrays "_int4"; user types
 * (enums) by their name, arrays "mood[]", with Column.type_ref set.
 * Stored modifiers: varchar(n)/bpchar(n) -> n; numeric(p,s) -> p << 16 | s
 * (s masked to 11 bits when negative, as PostgreSQL packs it); time and
 * timestamp precision -> p; interval(p) -> p; else -1.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* How a builtin type takes modifiers. */
typedef enum mod_kind {
    MOD_NONE = 0, /* no modifiers allowed */
    MOD_CHAR,     /* one length */
    MOD_NUMERIC,  /* precision [, scale] */
    MOD_TIME,     /* one precision (0..6) */
    MOD_INTERVAL, /* range mask [, precision] */
} mod_kind;

typedef struct builtin {
    const char *name;  /* internal name */
    const char *label; /* the type's name in typmod messages ("varchar", "TIMESTAMP") */
    mod_kind mods;
} builtin;

static const builtin builtins[] = {
    {"int2", NULL, MOD_NONE},
    {"int4", NULL, MOD_NONE},
    {"int8", NULL, MOD_NONE},
    {"numeric", "NUMERIC", MOD_NUMERIC},
    {"float4", NULL, MOD_NONE},
    {"float8", NULL, MOD_NONE},
    {"bool", NULL, MOD_NONE},
    {"text", NULL, MOD_NONE},
    {"varchar", "varchar", MOD_CHAR},
    {"bpchar", "char", MOD_CHAR},
    {"bytea", NULL, MOD_NONE},
    {"date", NULL, MOD_NONE},
    {"time", "TIME", MOD_TIME},
    {"timetz", "TIME", MOD_TIME},
    {"timestamp", "TIMESTAMP", MOD_TIME},
    {"timestamptz", "TIMESTAMP", MOD_TIME},
    {"interval", "INTERVAL", MOD_INTERVAL},
    {"uuid", NULL, MOD_NONE},
    {"json", NULL, MOD_NONE},
    {"jsonb", NULL, MOD_NONE},
};

/* PostgreSQL types cowcat does not store: 0A000 rather than "does not exist". */
static const char *const unsupported[] = {
    "money",     "inet",      "cidr",     "macaddr",   "macaddr8",  "bit",           "varbit",
    "xml",       "point",     "line",     "lseg",      "box",       "path",          "polygon",
    "circle",    "tsvector",  "tsquery",  "oid",       "name",      "char",          "regclass",
    "regtype",   "pg_lsn",    "jsonpath", "int4range", "int8range", "numrange",      "tsrange",
    "tstzrange", "daterange", "record",   "void",      "cstring",   "txid_snapshot",
};

static const char *const serials[] = {"serial",  "serial4",     "bigserial",
                                      "serial8", "smallserial", "serial2"};

static const builtin *
builtin_find(const char *name)
{
    for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++)
        if (strcmp(builtins[i].name, name) == 0)
            return &builtins[i];
    return NULL;
}

static bool
in_list(const char *const *list, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], name) == 0)
            return true;
    return false;
}

/* The integer value of a typmod node (an A_Const integer). */
static bool
mod_int(const PgQuery__Node *n, int64_t *out)
{
    if (n == NULL || n->node_case != PG_QUERY__NODE__NODE_A_CONST ||
        n->a_const->val_case != PG_QUERY__A__CONST__VAL_IVAL)
        return false;
    *out = n->a_const->ival->ival;
    return true;
}

static cc_code
typmod_error(ddl_ctx *c, const PgQuery__TypeName *tn, cc_err *err, const char *state,
             const char *msg)
{
    return ddl__at(c, tn->location, cc_err_set_state(err, CC_INVALID, state, "%s", msg));
}

/* Validates tn's modifiers for b and computes the stored typmod. */
static cc_code
builtin_typmod(ddl_ctx *c, const PgQuery__TypeName *tn, const builtin *b, int32_t *out, cc_err *err)
{
    char msg[160];
    int64_t v[2] = {0, 0};
    size_t n = tn->n_typmods;
    *out = -1;
    if (n == 0)
        return CC_OK;
    if (b->mods == MOD_NONE) {
        snprintf(msg, sizeof msg, "type modifier is not allowed for type \"%s\"", b->name);
        return ddl__at(c, tn->location, cc_err_set_state(err, CC_PARSE, "42601", "%s", msg));
    }
    for (size_t i = 0; i < n && i < 2; i++)
        if (!mod_int(tn->typmods[i], &v[i]))
            return typmod_error(c, tn, err, "22023",
                                "type modifiers must be simple constants or identifiers");
    switch (b->mods) {
    case MOD_CHAR:
        if (n != 1)
            return typmod_error(c, tn, err, "22023", "invalid type modifier");
        if (v[0] < 1) {
            snprintf(msg, sizeof msg, "length for type %s must be at least 1", b->label);
            return typmod_error(c, tn, err, "22023", msg);
        }
        if (v[0] > 10485760) {
            snprintf(msg, sizeof msg, "length for type %s cannot exceed 10485760", b->label);
            return typmod_error(c, tn, err, "22023", msg);
        }
        *out = (int32_t)v[0];
        return CC_OK;
    case MOD_NUMERIC:
        if (n > 2)
            return typmod_error(c, tn, err, "22023", "invalid NUMERIC type modifier");
        if (v[0] < 1 || v[0] > 1000) {
            snprintf(msg, sizeof msg, "NUMERIC precision %lld must be between 1 and 1000",
                     (long long)v[0]);
            return typmod_error(c, tn, err, "22023", msg);
        }
        if (n == 2 && (v[1] < -1000 || v[1] > 1000)) {
            snprintf(msg, sizeof msg, "NUMERIC scale %lld must be between -1000 and 1000",
                     (long long)v[1]);
            return typmod_error(c, tn, err, "22023", msg);
        }
        *out = (int32_t)((v[0] << 16) | (v[1] & 0x7ff));
        return CC_OK;
    case MOD_TIME: {
        bool tz = strcmp(b->name, "timetz") == 0 || strcmp(b->name, "timestamptz") == 0;
        if (n != 1)
            return typmod_error(c, tn, err, "22023", "invalid type modifier");
        if (v[0] < 0) {
            snprintf(msg, sizeof msg, "%s(%lld)%s precision must not be negative", b->label,
                     (long long)v[0], tz ? " WITH TIME ZONE" : "");
            return typmod_error(c, tn, err, "22023", msg);
        }
        *out = (int32_t)(v[0] > 6 ? 6 : v[0]);
        return CC_OK;
    }
    case MOD_INTERVAL: {
        /* The grammar gives the range mask first, then the precision. */
        int64_t range = v[0], prec = n == 2 ? v[1] : 0xFFFF;
        if (n == 2 && prec < 0) {
            snprintf(msg, sizeof msg, "INTERVAL(%lld) precision must not be negative",
                     (long long)prec);
            return typmod_error(c, tn, err, "22023", msg);
        }
        if (prec != 0xFFFF && prec > 6)
            prec = 6;
        /* Only a precision over the full range is kept (format_type's
         * "interval(p)"); a field restriction stays in create_sql. */
        if (range == 0x7FFF && prec != 0xFFFF)
            *out = (int32_t)prec;
        return CC_OK;
    }
    default:
        return CC_OK;
    }
}

/* "a.b.c" of a TypeName's names into buf. */
static const char *
type_display(const PgQuery__TypeName *tn, char *buf, size_t cap)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < tn->n_names; i++) {
        const char *p = ddl__str(tn->names[i]);
        int w = snprintf(buf + len, cap - len, "%s%s", i ? "." : "", p ? p : "?");
        if (w < 0 || (size_t)w >= cap - len)
            break;
        len += (size_t)w;
    }
    /* PostgreSQL's TypeNameToString: array bounds print as "[]" */
    for (size_t i = 0; i < tn->n_array_bounds && len + 2 < cap; i++, len += 2)
        memcpy(buf + len, "[]", 3);
    return buf;
}

/* Fills out for builtin b (array if tn has bounds). */
static cc_code
resolve_builtin(ddl_ctx *c, const PgQuery__TypeName *tn, const builtin *b, ddl_type *out,
                cc_err *err)
{
    cc_code rc = builtin_typmod(c, tn, b, &out->typmod, err);
    if (rc != CC_OK)
        return rc;
    snprintf(out->name, sizeof out->name, "%s%s", tn->n_array_bounds ? "_" : "", b->name);
    out->ref = 0;
    return CC_OK;
}

cc_code
ddl__type_resolve(ddl_ctx *c, const PgQuery__TypeName *tn, ddl_type *out, cc_err *err)
{
    char disp[3 * DDL_NAME_MAX + 4];
    memset(out, 0, sizeof *out);
    out->typmod = -1;
    if (tn->pct_type)
        return ddl__at(c, tn->location,
                       cc_err_set_state(err, CC_PARSE, "0A000", "feature not supported: %%TYPE"));
    if (tn->setof)
        return ddl__at(c, tn->location,
                       cc_err_set_state(err, CC_PARSE, "0A000", "feature not supported: SETOF"));
    ddl_qname q;
    cc_code rc = ddl__qname_list(c, tn->names, tn->n_names, tn->location, &q, err);
    if (rc != CC_OK)
        return rc;
    bool pg_catalog = q.schema != NULL && strcmp(q.schema, "pg_catalog") == 0;
    if (q.schema == NULL || pg_catalog) {
        const builtin *b = builtin_find(q.name);
        if (b != NULL)
            return resolve_builtin(c, tn, b, out, err);
        if (in_list(serials, sizeof serials / sizeof serials[0], q.name) && q.schema == NULL)
            return ddl__at(
                c, tn->location,
                cc_err_set_state(err, CC_PARSE, "0A000", "feature not supported: serial columns"));
        if (in_list(unsupported, sizeof unsupported / sizeof unsupported[0], q.name))
            return ddl__at(
                c, tn->location,
                cc_err_set_state(err, CC_PARSE, "0A000", "feature not supported: type %s", q.name));
        if (pg_catalog)
            return ddl__at(c, tn->location,
                           cc_err_set_state(err, CC_NOT_FOUND, "42704",
                                            "type \"%s\" does not exist",
                                            type_display(tn, disp, sizeof disp)));
    }
    const cat_object *t = NULL;
    if ((rc = ddl__find_type(c, &q, &t, err)) != CC_OK)
        return rc;
    if (t == NULL) {
        const cat_object *rel = NULL;
        if (ddl__find_relation(c, &q, &rel, NULL) == CC_OK && rel != NULL)
            return ddl__at(c, tn->location,
                           cc_err_set_state(err, CC_PARSE, "0A000",
                                            "feature not supported: columns of composite type "
                                            "\"%s\"",
                                            rel->name));
        return ddl__at(c, tn->location,
                       cc_err_set_state(err, CC_NOT_FOUND, "42704", "type \"%s\" does not exist",
                                        type_display(tn, disp, sizeof disp)));
    }
    if (tn->n_typmods > 0)
        return ddl__at(c, tn->location,
                       cc_err_set_state(err, CC_PARSE, "42601",
                                        "type modifier is not allowed for type \"%s\"", t->name));
    /* A user type's array is stored as "name[]" (typefmt.c's convention). */
    snprintf(out->name, sizeof out->name, "%s%s", t->name, tn->n_array_bounds ? "[]" : "");
    out->ref = t->ref;
    return CC_OK;
}

bool
ddl__type_is_builtin(const char *name)
{
    return builtin_find(name) != NULL ||
           in_list(unsupported, sizeof unsupported / sizeof unsupported[0], name) ||
           in_list(serials, sizeof serials / sizeof serials[0], name);
}
