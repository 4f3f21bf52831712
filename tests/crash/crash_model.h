/*
 * tests/crash/crash_model.h — the reference model of crash_server: what the
 * catalog must hold after a replay of the acknowledged DDL history.
 *
 * The model is a plain value (arrays of schemas and relations, the limits)
 * with one operation, crash_model_apply, that does to it what cowcatd does to
 * its catalog for the statements crash_server generates: CREATE/DROP/RENAME
 * SCHEMA, CREATE TABLE/VIEW/MATERIALIZED VIEW/INDEX, DROP ... CASCADE (the
 * transitive closure of dependents, across schemas), ALTER ... RENAME TO,
 * ALTER ... RENAME COLUMN and ALTER SYSTEM SET/RESET. It predicts the SQLSTATE
 * of the failures it is asked about (42P07, 42P01, 42704, 3F000, 42P06, ...).
 *
 * crash_model_render writes the catalog as sorted rows in the form the
 * verifier reads back from the server (cowcat_catalog.objects, indexes,
 * dependencies and limits; information_schema.schemata, tables and columns),
 * so "the catalog equals the model" is an equality of two sorted row lists.
 *
 *   relations[i].deps[k] = j   means relation i reads relation j (a view its
 *                              sources, an index its table); j < i never
 *                              matters, only that j is alive while i is.
 */
#ifndef TESTS_CRASH_MODEL_H
#define TESTS_CRASH_MODEL_H

#include <stdbool.h>
#include <stddef.h>

#define CM_NAME 40      /* identifiers, including the terminating NUL */
#define CM_MAX_COLS 6   /* columns of a table or view */
#define CM_MAX_SRC 2    /* sources of a view */
#define CM_MAX_ACTORS 8 /* clients + the shared-phase actor + the system actor */
#define CM_SQL 1024     /* one statement's text */

typedef enum cm_kind { CM_TABLE, CM_VIEW, CM_MATVIEW, CM_INDEX } cm_kind;

typedef struct cm_col {
    char name[CM_NAME];
    bool is_int; /* integer, else text */
} cm_col;

typedef struct cm_rel {
    bool alive;
    cm_kind kind;
    int schema; /* index into cm_model.schemas */
    char name[CM_NAME];
    int ncols; /* tables, views, matviews */
    cm_col cols[CM_MAX_COLS];
    int ndeps; /* distinct relations read (index: its table) */
    int deps[CM_MAX_SRC];
} cm_rel;

typedef struct cm_schema {
    bool alive;
    char name[CM_NAME];
} cm_schema;

/* The limits of cowcat_catalog.limits, in its row order. */
#define CM_NLIMITS 9
extern const char *const cm_limit_names[CM_NLIMITS];
#define CM_LIMIT_DEFAULT 10000000L

typedef struct cm_model {
    cm_schema *schemas; /* grows; dead entries stay until crash_model_compact */
    int nschemas, cap_schemas;
    cm_rel *rels;
    int nrels, cap_rels;
    long limits[CM_NLIMITS];
    int home[CM_MAX_ACTORS]; /* each actor's own schema (index), -1: none yet */
} cm_model;

typedef enum cm_opkind {
    CM_OP_CREATE_SCHEMA, /* schema; home_actor >= 0 makes it that actor's home */
    CM_OP_DROP_SCHEMA,   /* schema, CASCADE */
    CM_OP_RENAME_SCHEMA, /* schema -> newname */
    CM_OP_CREATE_REL,    /* rkind table/view/matview: schema.name, cols, sources */
    CM_OP_CREATE_INDEX,  /* schema.name ON src[0] (cols[0]) */
    CM_OP_DROP_REL,      /* rkind schema.name CASCADE */
    CM_OP_RENAME_REL,    /* rkind schema.name -> newname */
    CM_OP_RENAME_COL,    /* rkind schema.name: column name2 -> newname */
    CM_OP_ALTER_SYSTEM,  /* limit (-1: an unknown name), value (0: RESET) */
} cm_opkind;

/* One statement: what it does to the model, and its SQL. */
typedef struct cm_op {
    cm_opkind kind;
    cm_kind rkind;
    char schema[CM_NAME];
    char name[CM_NAME];
    char name2[CM_NAME];
    char newname[CM_NAME];
    int ncols;
    cm_col cols[CM_MAX_COLS];
    int nsrc;
    char src_schema[CM_MAX_SRC][CM_NAME];
    char src[CM_MAX_SRC][CM_NAME];
    int limit;
    long value;
    int home_actor;
    char expect[6]; /* "" succeeds, else the SQLSTATE the model predicts */
    char sql[CM_SQL];
} cm_op;

/* A sorted list of rows (owned strings). */
typedef struct cm_rows {
    char **v;
    size_t n, cap;
} cm_rows;

void crash_model_init(cm_model *m);
void crash_model_free(cm_model *m);
/* *dst becomes a deep copy of src (dst's old contents are freed). */
void crash_model_copy(cm_model *dst, const cm_model *src);
/* Drops dead schemas and relations, renumbering references. */
void crash_model_compact(cm_model *m);

/*
 * Applies op to m. Returns NULL (applied) or the SQLSTATE cowcatd answers for
 * it (m unchanged); why (may be NULL) gets a message either way on failure.
 */
const char *crash_model_apply(cm_model *m, const cm_op *op, char *why, size_t n);

/* Lookups (alive only): index or -1. */
int crash_model_schema(const cm_model *m, const char *name);
int crash_model_rel(const cm_model *m, int schema, const char *name);
/* Alive relations in schema s (any kind when kind < 0). */
int crash_model_count(const cm_model *m, int s, int kind);

/* Appends the model's rows to out (call cm_rows_sort afterwards). */
void crash_model_render(const cm_model *m, cm_rows *out);

void cm_rows_add(cm_rows *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cm_rows_sort(cm_rows *r);
void cm_rows_free(cm_rows *r);
/* Number of rows in exactly one of a and b (both sorted). */
size_t cm_rows_diff_count(const cm_rows *a, const cm_rows *b);
/*
 * The queries whose rows crash_model_render predicts, each row "tag|v1|v2|...".
 * The last, "cols" (cowcat_catalog.columns), is kept only for materialized
 * views: information_schema.columns leaves them out, as in PostgreSQL, so a
 * RENAME COLUMN of one in flight would otherwise be invisible.
 */
typedef struct cm_query {
    const char *tag;
    const char *sql;
} cm_query;
extern const cm_query cm_queries[];
extern const size_t cm_nqueries;

/*
 * Adds one result row of q (values v[0..n), NULL for SQL NULL) to out; a
 * "cols" row only if out's "obj" rows name its relation as a materialized
 * view, as "mvcols|..." — so add the queries' rows in cm_queries order.
 */
void cm_rows_add_result(cm_rows *out, const cm_query *q, const char *const *v, size_t n);

/* The rows of a not in b (both sorted): the first cap go to out (borrowed); returns how many. */
size_t cm_rows_minus(const cm_rows *a, const cm_rows *b, const char **out, size_t cap);

#endif
