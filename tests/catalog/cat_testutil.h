/*
 * tests/catalog/cat_testutil.h — fixtures for the in-memory catalog tests: a
 * writer catalog over a persist client (mem, or file in a temp dir, no
 * fsync), op builders (tables with N int4 columns, views, indexes, drops,
 * renames, comments, config), and assertion helpers that run cat_check after
 * every successful transaction and check that a failing one leaves the
 * fingerprint and the durable upper unchanged. Helpers assert with Criterion.
 *
 * Builders return ops by value; the strings and arrays an op points at are
 * borrowed from the caller (ct_cols for columns) and must outlive the apply.
 */
#ifndef COWCAT_TESTS_CAT_TESTUTIL_H
#define COWCAT_TESTS_CAT_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "catalog/catalog.h"
#include "dur_testutil.h"

/* Bootstrap objects (durable/src/catalog.c, file top). */
#define CT_DB_COWCAT         cat_ref_make(CAT_CLASS_DATABASE, false, 1)
#define CT_SCHEMA_PUBLIC     cat_ref_make(CAT_CLASS_SCHEMA, false, 1)
#define CT_SCHEMA_CATALOG    cat_ref_make(CAT_CLASS_SCHEMA, true, 1) /* cowcat_catalog */
#define CT_SCHEMA_INFO       cat_ref_make(CAT_CLASS_SCHEMA, true, 2) /* information_schema */
#define CT_CLUSTER_DEFAULT   cat_ref_make(CAT_CLASS_CLUSTER, false, 1)
#define CT_BOOTSTRAP_SCHEMAS 3u
#define CT_BOOTSTRAP_ROLES   2u

/* A writer catalog under test. */
typedef struct cfix {
    pfix p;           /* the persist client (file: its temp directory) */
    dur_catalog *dur; /* writable durable catalog under cat */
    cat_catalog *cat; /* the catalog under test */
    cat_options o;    /* the options every (re)open uses */
} cfix;

/* Opens a writer on kind; o may be NULL (incremental checks, nothing else). */
void cfix_open(cfix *f, persist_backend_kind kind, const cat_options *o);
/* As cfix_open with persist options from tmpl (sync, io hook; may be NULL: no fsync). */
void cfix_open_with(cfix *f, persist_backend_kind kind, const persist_options *tmpl,
                    const cat_options *o);
/* Closes catalog and durable catalog (file: also the client) and opens them again. */
void cfix_reopen(cfix *f);
/* Closes everything and removes the temp directory. */
void cfix_close(cfix *f);
/* A writable durable catalog with DUR_NAMES_EXTERNAL, as a catalog runs over it. */
dur_catalog *dopen_external(persist_client *c);
/* cat_open over dur with o (asserting success). */
cat_catalog *copen(dur_catalog *dur, const cat_options *o);
/* The writer's published version. */
const cat_state *cst(const cfix *f);

/* Columns c1..cn, int4, nullable, typmod -1. */
#define CT_MAX_COLS 16
typedef struct ct_cols {
    Cowcat__Catalog__Column col[CT_MAX_COLS];
    Cowcat__Catalog__Column *ptr[CT_MAX_COLS];
    char name[CT_MAX_COLS][16];
    size_t n;
} ct_cols;
void ct_cols_init(ct_cols *c, size_t n);

/* Op builders (owner: cowcat). */
cat_op ct_op_table(cat_ref schema, const char *name, const ct_cols *cols);
cat_op ct_op_item(cat_kind kind, cat_ref schema, const char *name, const cat_ref *uses,
                  size_t nuses);
cat_op ct_op_database(const char *name);
cat_op ct_op_schema(cat_ref database, const char *name);
cat_op ct_op_role(const char *name);
cat_op ct_op_cluster(const char *name);
cat_op ct_op_drop(const cat_ref *refs, size_t n, cat_drop_behavior behavior);
cat_op ct_op_rename(cat_ref ref, const char *new_name);
cat_op ct_op_comment(cat_ref ref, uint32_t column, const char *comment);
cat_op ct_op_config_set(const char *name, const char *value);
cat_op ct_op_config_reset(const char *name);

/* Asserts cat_check of s passes; what names the situation. */
void ct_check_state(const cat_state *s, const char *what);
/* cat_transact asserting success, then cat_check. created may be NULL. */
void ct_ok(cat_catalog *cat, const cat_op *ops, size_t n, cat_ref *created);
/* One op asserting success; returns the created ref (0 if none). */
cat_ref ct_ok1(cat_catalog *cat, cat_op op);
/*
 * cat_transact asserting it fails with code, SQLSTATE sqlstate (NULL: any) and
 * message msg (NULL: any), and that the fingerprint, the published upper and
 * the durable upper are unchanged and cat_check passes. *out (may be NULL)
 * gets the error.
 */
void ct_fail(cat_catalog *cat, const cat_op *ops, size_t n, cc_code code, const char *sqlstate,
             const char *msg, cc_err *out);
/* As ct_fail for one op. */
void ct_fail1(cat_catalog *cat, cat_op op, cc_code code, const char *sqlstate, const char *msg,
              cc_err *out);

/* Creation shortcuts asserting success. */
cat_ref ct_table(cat_catalog *cat, cat_ref schema, const char *name, size_t ncols);
cat_ref ct_view(cat_catalog *cat, cat_ref schema, const char *name, const cat_ref *uses,
                size_t nuses);
cat_ref ct_index(cat_catalog *cat, cat_ref schema, const char *name, cat_ref table);

/* The item value of o, decoded (asserting); free with protobuf_c_message_free_unpacked. */
Cowcat__Catalog__ItemValue *ct_item_value(const cat_object *o);

/* A growable list of refs; ct_collect is a cat_walk_fn appending o->ref (arg: ct_refs *). */
typedef struct ct_refs {
    cat_ref *r;
    size_t n, cap;
} ct_refs;
void ct_refs_push(ct_refs *l, cat_ref r);
void ct_refs_free(ct_refs *l);
bool ct_refs_has(const ct_refs *l, cat_ref r);
int ct_collect(void *arg, const cat_object *o);
/* Asserts got holds exactly the n refs of want (any order). */
void ct_expect_refs(const ct_refs *got, const cat_ref *want, size_t n, const char *what);
bool ct_starts_with(const char *s, const char *prefix);
/* The walk's refs as a new list (asserting ascending order and a zero result). */
ct_refs ct_members(const cat_state *s, cat_ref parent);
ct_refs ct_used_by(const cat_state *s, cat_ref ref);

/* Fingerprint and upper of the published version, for before/after checks. */
typedef struct ct_mark {
    pmap_fp fp;
    uint64_t upper;     /* cat_state_upper */
    uint64_t dur_upper; /* dur_upper of the catalog's durable catalog */
} ct_mark;
ct_mark ct_mark_take(cat_catalog *cat);
/*
 * A digest of the catalog's contents that ignores ids and OIDs: every
 * object's kind, qualified name, owner, the names of what it uses, its
 * columns and constraints by name, comments. Two catalogs built by the same
 * statements have the same shape even when a reopen between them moved the
 * id allocators past a reserved block.
 */
uint64_t ct_shape(const cat_state *s);
/* Asserts the catalog is still at m; what names the situation. */
void ct_mark_expect(cat_catalog *cat, ct_mark m, const char *what);

#endif
