/*
 * ddl/src/view_scope.h — name resolution over a view's query, the part of
 * PostgreSQL's parse analysis that binds names (parse_relation.c,
 * parse_clause.c, transformColumnRef), shared by view.c (CREATE VIEW: output
 * columns, and 42703 / 42702 / 42P01 for every column the query reads) and
 * view_rewrite.c (rewriting a view's SQL when a column it reads is renamed
 * or a relation it reads gains a column).
 *
 *   query level (vlevel)          one SELECT; parent: the enclosing query
 *     namespace  vns[]            FROM items visible by name (rel_visible)
 *                                 and / or for unqualified columns
 *                                 (cols_visible), as PostgreSQL's p_namespace
 *     rtable     vrte*[]          every FROM item seen so far (hints)
 *   FROM item (vrte)              a relation, CTE, subquery, function or
 *                                 join, with the columns names see
 *   column (vcol)                 name, type, and its origin: the relation
 *                                 FROM item it is a column of (joins pass
 *                                 their inputs' columns through)
 *
 * Each ColumnRef is resolved in PostgreSQL's order (target list, WHERE,
 * HAVING, ORDER BY, GROUP BY, DISTINCT ON, OFFSET, LIMIT, window
 * definitions) and reported to an optional visitor. FROM items get ids in
 * the order they are met, so resolving the same tree twice gives the same
 * ids (view_rewrite.c compares a rewritten query's bindings with the
 * original's that way).
 */
#ifndef COWCAT_DDL_VIEW_SCOPE_H
#define COWCAT_DDL_VIEW_SCOPE_H

#include "internal.h"

typedef struct vrte vrte;
typedef struct vplan vplan;
typedef struct vlevel vlevel;

typedef struct vcol {
    const char *name; /* borrowed: the parse tree, a decoded value or the plan's pool */
    ddl_type type;    /* name "unknown" when not determined */
    const vrte *src;  /* the relation FROM item it is a column of (NULL: computed, merged) */
    uint32_t pos;     /* its 0-based position there */
    const vrte *item; /* the FROM item (not a join) it is a column of (NULL: merged, computed) */
} vcol;

typedef struct vcols {
    vcol *v;
    size_t n, cap;
    bool complete; /* every column is known (a missing name is an error) */
} vcols;

typedef enum vrte_kind {
    VRTE_RELATION = 0,
    VRTE_CTE,
    VRTE_SUBQUERY,
    VRTE_FUNCTION,
    VRTE_JOIN,
    VRTE_OUTPUT, /* a set operation's result columns (its ORDER BY) */
} vrte_kind;

/* A FROM item. Allocated in the plan's pool: valid until the plan ends. */
struct vrte {
    vrte_kind kind;
    uint32_t id;           /* order met in the statement */
    const char *refname;   /* PostgreSQL's eref->aliasname: alias, else relation / CTE name */
    bool aliased;          /* an explicit alias */
    const cat_object *rel; /* VRTE_RELATION: the relation */
    PgQuery__RangeVar *rv; /* VRTE_RELATION, VRTE_CTE: the node */
    vcols cols;            /* the columns names see, after the alias' column list */
};

/* What a ColumnRef denotes. */
typedef enum vref_kind {
    VREF_COLUMN = 0, /* a column of a FROM item */
    VREF_WHOLEROW,   /* t, t.* (not in a target list): the row */
    VREF_OUTPUT,     /* ORDER BY / GROUP BY naming an output column */
    VREF_UNKNOWN,    /* a name of a FROM item whose columns are not all known */
    VREF_FAILED,     /* verify mode: no longer resolves (or is ambiguous) */
} vref_kind;

typedef struct vref {
    vref_kind kind;
    const vrte *via;  /* the FROM item it was found through */
    const vcol *col;  /* VREF_COLUMN (src / pos: its origin); VREF_OUTPUT: the output column */
    int levels_up;    /* 0: this query level */
    const vlevel *at; /* the level the ColumnRef is in (for qualifying it) */
} vref;

/* Optional callbacks of a resolution (view_rewrite.c); return CC_OK to go on. */
typedef struct vvisit {
    void *arg;
    /* A ColumnRef (not a * in a target list); rt: the target entry whose value it is, or NULL. */
    cc_code (*colref)(void *arg, vplan *p, PgQuery__ColumnRef *cr, PgQuery__ResTarget *rt,
                      const vref *r, cc_err *err);
    /* A * or x.* target entry (index in s's target list) and the columns it stands for. */
    cc_code (*star)(void *arg, vplan *p, PgQuery__SelectStmt *s, size_t index,
                    const vcols *expansion, const vlevel *at, cc_err *err);
    /* A JOIN ... USING / NATURAL JOIN over inputs l and r (their columns). */
    cc_code (*merge)(void *arg, vplan *p, PgQuery__JoinExpr *j, const vcols *l, const vcols *r,
                     cc_err *err);
} vvisit;

typedef struct vcte {
    PgQuery__CommonTableExpr *cte;
    bool recursive;
    int state;  /* 0 not derived, 1 deriving, 2 derived */
    int hidden; /* > 0: out of scope while an earlier CTE's body is derived */
    vcols cols;
    vlevel *scope; /* what its body sees (the WITH's query without its FROM) */
} vcte;

struct vplan {
    ddl_ctx *c;
    ddl_pool pool;
    vcte *ctes;
    size_t nctes, capctes;
    cat_ref *uses; /* the relations and types the query reads (view.c) */
    size_t nuses, capuses;
    ProtobufCMessage **decoded;
    size_t ndecoded, capdecoded;
    uint32_t next_id; /* the next FROM item id */

    const vvisit *visit; /* NULL: none */
    /* Resolve as if relation override_rel had the columns override_names (view_rewrite.c). */
    cat_ref override_rel;
    const char *const *override_names;
    size_t noverride;
    /* verify: a column that no longer resolves is reported as VREF_FAILED, not an error. */
    bool verify;
    /* The stored view being rewritten (NULL: a new one): its unqualified relation names
     * resolve among its uses first. */
    const cat_object *owner;
};

cc_code ddl__vnomem(cc_err *err);
/* Grows *v (elements of elem bytes) to hold n + 1. */
bool ddl__vgrow(void **v, size_t *cap, size_t n, size_t elem);
/* Appends a column (t NULL: unknown type). Errors: NOMEM. */
cc_code ddl__vcol_push(vplan *p, vcols *cs, const char *name, const ddl_type *t, cc_err *err);
/* Renames the first columns after an alias' column list. */
void ddl__vcols_alias(vcols *cs, PgQuery__Node **names, size_t n);
/* Registers r as a use of the view (deduplicated). Errors: NOMEM. */
cc_code ddl__vplan_use(vplan *p, cat_ref r, cc_err *err);
/* Frees what the plan holds. */
void ddl__vplan_fini(vplan *p);

/*
 * Resolves every name of s (a view's query; parent NULL) and returns its
 * output columns (names before the view's column aliases). Errors, with
 * PostgreSQL's messages and positions: 42703, 42702, 42P01, 42712, 42P10,
 * 42601, 0A000, 42804 (JOIN USING types), and those of the visitor; NOMEM.
 */
cc_code ddl__vscope_query(vplan *p, PgQuery__SelectStmt *s, vcols *out, cc_err *err);

/*
 * The name by which a ColumnRef at level `at` can qualify a column of FROM
 * item rte (NULL if none: rte is hidden under a join alias, or another
 * item of that name is nearer).
 */
const char *ddl__vscope_qualifier(const vlevel *at, const vrte *rte);

/* --- internals of view_scope.c, view_colref.c and view_query.c ---------------------------- */

typedef struct vns {
    vrte *rte;
    bool rel_visible;  /* t.x, t.* find it */
    bool cols_visible; /* unqualified x finds its columns */
    bool lateral_only; /* visible only while the level's LATERAL is active */
} vns;

typedef struct vnsl {
    vns *v;
    size_t n, cap;
} vnsl;

/* What an expression is part of (for LIMIT / OFFSET's rule). */
enum { EK_OTHER = 0, EK_LIMIT, EK_OFFSET };

struct vlevel {
    vlevel *parent;
    vnsl ns;   /* the namespace */
    vrte **rt; /* every FROM item met so far (hints) */
    size_t nrt, caprt;
    bool lateral_active;
    int kind;                 /* EK_* of the expression being resolved */
    const vcols *out;         /* output columns (ORDER BY / GROUP BY names), or NULL */
    PgQuery__WindowDef **win; /* window definitions, resolved last */
    size_t nwin, capwin;
};

cc_code ddl__vcol_push_src(vplan *p, vcols *cs, const char *name, const ddl_type *t,
                           const vrte *src, uint32_t pos, cc_err *err);
/* Appends from's columns to to (keep_src false: as computed columns). */
cc_code ddl__vcols_append(vplan *p, vcols *to, const vcols *from, bool keep_src, cc_err *err);
/* The first column called name (*count += how many there are), or NULL. */
const vcol *ddl__vcol_find(const vcols *cs, const char *name, size_t *count);
/* Output columns as a FROM item sees them: names and types, no origins. */
cc_code ddl__vas_item_cols(vplan *p, const vcols *in, vcols *out, cc_err *err);
cc_code ddl__vns_push(vnsl *l, vrte *rte, bool rel_visible, bool cols_visible, cc_err *err);
/* Marks r's columns as its own (their item), for a FROM item that is no join. */
void ddl__vown_cols(vrte *r);
void ddl__vlevel_fini(vlevel *lv);
/* A new FROM item of level lv (NULL: out of memory). */
vrte *ddl__vrte_new(vplan *p, vlevel *lv, vrte_kind kind, const char *refname);
bool ddl__vvisible(const vlevel *lv, const vns *n);
/* ctid, xmin, ... of a table or materialized view FROM item. */
bool ddl__vsystem_column(const vrte *r, const char *name);
/* The type of an expression where it is evident (constants, casts). */
cc_code ddl__vexpr_type(vplan *p, const PgQuery__Node *n, ddl_type *t, bool *known, cc_err *err);
long ddl__vcte_find(vplan *p, const char *name);
cc_code ddl__vcte_derive(vplan *p, size_t i, vlevel *scope, cc_err *err);
/* transformFromClause (view_scope.c). */
cc_code ddl__vfrom_clause(vplan *p, vlevel *lv, PgQuery__SelectStmt *s, cc_err *err);
/* One query level under parent (view_query.c). */
cc_code ddl__vquery(vplan *p, vlevel *parent, PgQuery__SelectStmt *s, vcols *out, cc_err *err);
/* Every name of an expression (view_colref.c). */
cc_code ddl__vexpr(vplan *p, vlevel *lv, PgQuery__Node *n, cc_err *err);
/* transformColumnRef: binds cr and reports it (rt: the target entry whose value it is). */
cc_code ddl__vcolref(vplan *p, vlevel *lv, PgQuery__ColumnRef *cr, PgQuery__ResTarget *rt,
                     vref *out, cc_err *err);
/* colNameToVar (*found false: no such column). Errors: 42702. */
cc_code ddl__vcolumn_lookup(vplan *p, vlevel *lv, const char *name, bool localonly, int32_t loc,
                            vref *out, bool *found, cc_err *err);
/* Hands a resolved reference to the visitor (and checks LIMIT / OFFSET). */
cc_code ddl__vreport(vplan *p, vlevel *lv, PgQuery__ColumnRef *cr, PgQuery__ResTarget *rt, vref *r,
                     cc_err *err);
/* Queues a window definition: resolved after the rest of the level. */
cc_code ddl__vdefer_window(vlevel *lv, PgQuery__WindowDef *w, cc_err *err);

#endif
