/*
 * ddl/src/typefmt.c — how stored column types print: PostgreSQL's
 * format_type ("character varying(20)"), the type OIDs clients see in
 * RowDescription and the SQL-standard data_type of information_schema.
 *
 * Columns store PostgreSQL's internal type name (pg_type.typname: "int4",
 * "varchar", "_int4" for int4[]) and a typmod (-1 none; varchar/bpchar(n):
 * n; numeric(p,s): p << 16 | s; time/timestamp/interval(p): p); a user enum
 * stores its own name with Column.type_ref set.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

typedef struct builtin {
    const char *name;    /* typname */
    const char *display; /* format_type */
    const char *sql;     /* information_schema data_type */
    uint32_t oid;
    uint32_t array_oid;
} builtin;

static const builtin builtins[] = {
    {"int2", "smallint", "smallint", 21, 1005},
    {"int4", "integer", "integer", 23, 1007},
    {"int8", "bigint", "bigint", 20, 1016},
    {"numeric", "numeric", "numeric", 1700, 1231},
    {"float4", "real", "real", 700, 1021},
    {"float8", "double precision", "double precision", 701, 1022},
    {"bool", "boolean", "boolean", 16, 1000},
    {"text", "text", "text", 25, 1009},
    {"varchar", "character varying", "character varying", 1043, 1015},
    {"bpchar", "character", "character", 1042, 1014},
    {"bytea", "bytea", "bytea", 17, 1001},
    {"date", "date", "date", 1082, 1182},
    {"time", "time without time zone", "time without time zone", 1083, 1183},
    {"timestamp", "timestamp without time zone", "timestamp without time zone", 1114, 1115},
    {"timestamptz", "timestamp with time zone", "timestamp with time zone", 1184, 1185},
    {"interval", "interval", "interval", 1186, 1187},
    {"uuid", "uuid", "uuid", 2950, 2951},
    {"json", "json", "json", 114, 199},
    {"jsonb", "jsonb", "jsonb", 3802, 3807},
    {"unknown", "unknown", "unknown", 705, 0},
};

/* The builtin named name (without a leading '_'), or NULL. */
static const builtin *
find_builtin(const char *name)
{
    for (size_t i = 0; i < sizeof builtins / sizeof *builtins; i++)
        if (strcmp(builtins[i].name, name) == 0)
            return &builtins[i];
    return NULL;
}

/* Splits an array type name: returns the element name, *array says whether it was one. */
static const char *
element(const Cowcat__Catalog__Column *col, bool *array)
{
    const char *n = col->type_name;
    *array = n[0] == '_' && find_builtin(n + 1) != NULL;
    if (!*array && col->type_ref_opt_case == COWCAT__CATALOG__COLUMN__TYPE_REF_OPT_TYPE_REF) {
        size_t len = strlen(n);
        *array = len > 2 && strcmp(n + len - 2, "[]") == 0;
    }
    return *array && n[0] == '_' ? n + 1 : n;
}

const char *
ddl__format_type(const Cowcat__Catalog__Column *col, char *buf, size_t cap)
{
    bool array;
    const char *el = element(col, &array);
    const builtin *b = find_builtin(el);
    int32_t m = col->typmod;
    if (b == NULL) { /* a user type: its name as stored */
        snprintf(buf, cap, "%s", col->type_name);
        return buf;
    }
    const char *suffix = array ? "[]" : "";
    if (m >= 0 && strcmp(b->name, "numeric") == 0)
        snprintf(buf, cap, "numeric(%d,%d)%s", (m >> 16) & 0xffff, m & 0xffff, suffix);
    else if (m >= 0 && (strcmp(b->name, "varchar") == 0 || strcmp(b->name, "bpchar") == 0))
        snprintf(buf, cap, "%s(%d)%s", b->display, m, suffix);
    else if (m >= 0 && (strcmp(b->name, "timestamp") == 0 || strcmp(b->name, "timestamptz") == 0 ||
                        strcmp(b->name, "time") == 0)) {
        /* "timestamp(3) without time zone" */
        const char *tz = strchr(b->display, ' ');
        size_t head = (size_t)(tz - b->display);
        snprintf(buf, cap, "%.*s(%d)%s%s", (int)head, b->display, m, tz, suffix);
    } else if (m >= 0 && strcmp(b->name, "interval") == 0)
        snprintf(buf, cap, "interval(%d)%s", m, suffix);
    else
        snprintf(buf, cap, "%s%s", b->display, suffix);
    return buf;
}

uint32_t
ddl__type_oid(const Cowcat__Catalog__Column *col)
{
    bool array;
    const builtin *b = find_builtin(element(col, &array));
    if (b == NULL)
        return 0;
    return array ? b->array_oid : b->oid;
}

const char *
ddl__sql_data_type(const Cowcat__Catalog__Column *col)
{
    bool array;
    const builtin *b = find_builtin(element(col, &array));
    if (array)
        return "ARRAY";
    return b != NULL ? b->sql : "USER-DEFINED";
}

const char *
ddl__constraint_type(Cowcat__Catalog__ConstraintKind k)
{
    switch (k) {
    case COWCAT__CATALOG__CONSTRAINT_KIND__CONSTRAINT_KIND_PRIMARY_KEY:
        return "PRIMARY KEY";
    case COWCAT__CATALOG__CONSTRAINT_KIND__CONSTRAINT_KIND_UNIQUE:
        return "UNIQUE";
    case COWCAT__CATALOG__CONSTRAINT_KIND__CONSTRAINT_KIND_CHECK:
        return "CHECK";
    case COWCAT__CATALOG__CONSTRAINT_KIND__CONSTRAINT_KIND_FOREIGN_KEY:
        return "FOREIGN KEY";
    default:
        return "?";
    }
}
