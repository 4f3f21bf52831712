/*
 * catalog/catalog.h — the in-memory catalog: CatalogState versions on
 * persistent maps, derived from the durable catalog, and transact.
 *
 * A cat_state is an immutable version of the catalog's objects (databases,
 * schemas, items, roles, clusters), comments and system configuration, with
 * the indexes every DDL needs, each a persistent map:
 *
 *   objects   cat_ref -> cat_object        entries by id
 *   oids      oid -> cat_object            entries by global id (the OID
 *                                          clients see: regclass, pg_class)
 *   names     hash of [ns][scope ref][name] -> cat_object (an exact-key
 *             overflow map holds the rare names whose 64-bit hashes collide)
 *             ns: database, schema (scope = database; 0 = ambient),
 *             relation / type (scope = schema), role, cluster
 *   members   [parent ref][child ref]      database -> schemas, schema -> items
 *   used_by   [used ref][user ref]         the reverse of every item's `uses`
 *   owned     owner ref -> count           objects per role (DROP ROLE)
 *   comments  encoded CommentKey -> text
 *   config    system configuration name -> value (ALTER SYSTEM; limits)
 * plus a count per object kind. Per-parent counts are range counts of
 * `members` (O(log n)), so no limit check ever scans.
 *
 * The state is a pure function of the durable contents: every change goes
 * through ONE apply function (durable collection, key, old value, new value)
 * used by transactions as they write, by open (loading the cached Snapshot)
 * and by followers (applying a writer's commits). A state reopened from disk
 * therefore has the same fingerprint as the one that wrote it.
 *
 * Transactions: cat_txn_begin takes the published version (O(1): map handles
 * are copied, a pmap transaction writes the new version's paths), ops are
 * applied in order, each seeing the previous ones, each writing its durable
 * updates into one durable transaction; commit is ONE compare_and_append, then
 * the new version is published. The first failing op poisons the transaction:
 * only abort is allowed, and abort leaves the published state and the disk
 * exactly as they were (PostgreSQL aborts a transaction block the same way).
 *
 * Costs: every op is O(log n) in the number of objects, plus O(k) for the k
 * objects it touches (a CASCADE drop, the dependents a rename rewrites).
 *
 * Thread-safety: one writer thread per catalog. Other threads read published
 * versions while pinned on a pmap_reader of cat_catalog_domain():
 * cat_state_acquire gives the current one, valid until unpin.
 */
#ifndef COWCAT_CATALOG_CATALOG_H
#define COWCAT_CATALOG_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "durable/durable.h"
#include "pmap/domain.h"
#include "proto/catalog.pb-c.h"

/* --- object references --------------------------------------------------------- */

/* The class of an object: which durable collection (and id space) it lives in. */
typedef enum cat_class {
    CAT_CLASS_DATABASE = 1,
    CAT_CLASS_SCHEMA = 2,
    CAT_CLASS_ITEM = 3,
    CAT_CLASS_ROLE = 4,
    CAT_CLASS_CLUSTER = 5,
} cat_class;

/*
 * A reference to an object: class (bits 60..62), system flag (bit 59) and the
 * CatalogId value (bits 0..58). 0 is "no object". Orders by class, then
 * system, then id.
 */
typedef uint64_t cat_ref;

#define CAT_REF_VALUE_MAX (((uint64_t)1 << 59) - 1)

static inline cat_ref
cat_ref_make(cat_class cls, bool system, uint64_t value)
{
    return ((uint64_t)cls << 60) | ((uint64_t)(system ? 1 : 0) << 59) | (value & CAT_REF_VALUE_MAX);
}
static inline cat_class
cat_ref_class(cat_ref r)
{
    return (cat_class)(r >> 60);
}
static inline bool
cat_ref_is_system(cat_ref r)
{
    return (r >> 59) & 1;
}
static inline uint64_t
cat_ref_value(cat_ref r)
{
    return r & CAT_REF_VALUE_MAX;
}
/* The ref of CatalogId id in class cls (id may be NULL: 0). */
cat_ref cat_ref_from_id(cat_class cls, const Cowcat__Catalog__CatalogId *id);
/* "u7" / "s3" into buf (at least 24 bytes); returns buf. */
const char *cat_ref_str(cat_ref r, char *buf);

/* What an object is. */
typedef enum cat_kind {
    CAT_KIND_DATABASE = 0,
    CAT_KIND_SCHEMA,
    CAT_KIND_TABLE,
    CAT_KIND_VIEW,
    CAT_KIND_MATERIALIZED_VIEW,
    CAT_KIND_INDEX,
    CAT_KIND_TYPE,
    CAT_KIND_ROLE,
    CAT_KIND_CLUSTER,
    CAT_NKIND
} cat_kind;

/* "table", "materialized view", ... (PostgreSQL's words in messages). */
const char *cat_kind_name(cat_kind k);

/*
 * One object of a version. Immutable once published; borrowed with the
 * version that holds it (take cat_object_ref to keep it longer).
 */
typedef struct cat_object {
    cat_ref ref;           /* class and id */
    cat_ref parent;        /* schema: its database (0: ambient); item: its schema; else 0 */
    cat_ref owner;         /* the owning role (0: roles themselves) */
    const char *name;      /* the object's own name (unqualified) */
    const dur_blob *value; /* the encoded durable value (DatabaseValue, ItemValue, ...) */
    const cat_ref *uses;   /* items: the objects it depends on */
    uint32_t nuses;
    uint32_t oid;  /* 0 for clusters */
    cat_kind kind; /* what it is */
} cat_object;

/* Returns a new reference to o. */
const cat_object *cat_object_ref(const cat_object *o);
/* Drops a reference (o may be NULL). */
void cat_object_unref(const cat_object *o);

/*
 * Decodes the object's durable value (a new message of its collection's Value
 * type: Cowcat__Catalog__ItemValue for items, ...; free with
 * protobuf_c_message_free_unpacked(m, NULL)). Columns, constraints,
 * create_sql and privileges live there. Errors: CORRUPT, NOMEM.
 */
cc_code cat_object_decode(const cat_object *o, ProtobufCMessage **out, cc_err *err);

/* --- limits ---------------------------------------------------------------------- */

typedef enum cat_limit {
    CAT_LIMIT_DATABASES = 0,
    CAT_LIMIT_SCHEMAS_PER_DATABASE,
    CAT_LIMIT_OBJECTS_PER_SCHEMA,
    CAT_LIMIT_TABLES,
    CAT_LIMIT_VIEWS,
    CAT_LIMIT_MATERIALIZED_VIEWS,
    CAT_LIMIT_INDEXES,
    CAT_LIMIT_ROLES,
    CAT_LIMIT_CLUSTERS,
    CAT_NLIMIT
} cat_limit;

/* The system configuration name of a limit ("max_tables", ...). */
const char *cat_limit_name(cat_limit l);

/* --- versions (reads) ---------------------------------------------------------- */

typedef struct cat_state cat_state;
typedef struct cat_txn cat_txn;

/* The object ref, or NULL. */
const cat_object *cat_state_find(const cat_state *s, cat_ref ref);
/* The database, schema, item or role with that OID, or NULL. */
const cat_object *cat_state_find_oid(const cat_state *s, uint32_t oid);
const cat_object *cat_state_find_database(const cat_state *s, const char *name);
/* database 0: the ambient (builtin) schemas. */
const cat_object *cat_state_find_schema(const cat_state *s, cat_ref database, const char *name);
/* A table, view, materialized view or index named name in schema. */
const cat_object *cat_state_find_relation(const cat_state *s, cat_ref schema, const char *name);
const cat_object *cat_state_find_type(const cat_state *s, cat_ref schema, const char *name);
const cat_object *cat_state_find_role(const cat_state *s, const char *name);
const cat_object *cat_state_find_cluster(const cat_state *s, const char *name);

/* Number of objects of kind k. O(1). */
uint64_t cat_state_count(const cat_state *s, cat_kind k);
/* Number of schemas of a database / items of a schema. O(log n). */
uint64_t cat_state_count_members(const cat_state *s, cat_ref parent);
/* Number of objects that use ref (its direct dependents). O(log n). */
uint64_t cat_state_count_used_by(const cat_state *s, cat_ref ref);
/* Number of objects role owns. O(1) (a count per role, not an index). */
uint64_t cat_state_count_owned(const cat_state *s, cat_ref role);
/* Number of objects whose privileges name role (grantee or grantor). O(1). */
uint64_t cat_state_count_granted(const cat_state *s, cat_ref role);
/* The comment on object ref (column 0: the object itself), or NULL. */
const char *cat_state_comment(const cat_state *s, cat_ref ref, uint32_t column);
/* The system configuration value of name (ALTER SYSTEM), or NULL. */
const char *cat_state_config(const cat_state *s, const char *name);
/* The limit in force. */
int64_t cat_state_limit(const cat_state *s, cat_limit l);
/* Content fingerprint: equal catalogs, equal fingerprints. O(1). */
pmap_fp cat_state_fp(const cat_state *s);
/* The durable upper this version is exact for. */
uint64_t cat_state_upper(const cat_state *s);

/*
 * Ordered walks of a relation between objects: calls fn(arg, child) for the
 * members of parent (schemas of a database, items of a schema) or the users
 * of ref (its dependents), in ref order. O(log n + k).
 * fn returns 0 to go on; the walk returns fn's first non-zero result.
 */
typedef int (*cat_walk_fn)(void *arg, const cat_object *o);
int cat_state_walk_members(const cat_state *s, cat_ref parent, cat_walk_fn fn, void *arg);
int cat_state_walk_used_by(const cat_state *s, cat_ref ref, cat_walk_fn fn, void *arg);
/* Every object of the version, in hash order (O(n): tools, checks, builtin views). */
int cat_state_walk_all(const cat_state *s, cat_walk_fn fn, void *arg);

/*
 * The qualified display name of o into buf (cap bytes): "db.schema.name" is
 * never printed; items give "schema.name", schemas and the rest their name.
 * Returns buf.
 */
const char *cat_state_qualified_name(const cat_state *s, const cat_object *o, char *buf,
                                     size_t cap);

/* --- consistency checks ------------------------------------------------------- */

/*
 * Re-parses a create_sql (provided by ddl/). Returns CC_OK or an error with
 * a message. May be NULL in the options: create_sql is then only checked to
 * be non-empty for items.
 */
typedef cc_code (*cat_parse_fn)(void *arg, const char *create_sql, cc_err *err);

/*
 * Full check (O(n); tests, the CLI, debug): every map's invariants; names and
 * oids index exactly the objects; each object's parent, owner, uses and the
 * roles its privileges name exist with the right kinds; members and used_by
 * equal the relations recomputed from the objects, and the per-role owner
 * and privilege counts equal a recount; comments point at existing objects
 * (and columns); kind counts equal a recount; limits equal the configuration;
 * every object's cached fields equal its decoded value; every item's
 * create_sql is non-empty and, given parse, re-parses. Errors: CORRUPT naming
 * the first violation (of the per-object rules: the one of the lowest ref),
 * NOMEM. Without parse, a state of 4,096 objects or more is checked on two
 * threads (the caller's and one it starts and joins); with parse, on the
 * caller's thread only, as parse need not be thread-safe.
 */
cc_code cat_check(const cat_state *s, cat_parse_fn parse, void *parse_arg, cc_err *err);

/* As cat_check, for a version a transaction is still writing (cat_txn_state). */
cc_code cat_txn_check(const cat_txn *txn, cat_parse_fn parse, void *parse_arg, cc_err *err);

/*
 * Incremental check over refs and their neighbours (parent, owner, uses,
 * used_by, members): the same rules restricted to them. O(k log n).
 */
cc_code cat_check_ids(const cat_state *s, const cat_ref *refs, size_t n, cc_err *err);

/* --- the catalog handle -------------------------------------------------------- */

typedef struct cat_catalog cat_catalog;

/*
 * Rewrites create_sql after a rename or a move (provided by ddl/): sql is the
 * stored statement of `target` (the renamed object itself, or one of its
 * dependents), `renamed` the object's version before the op (old name, old
 * schema), new_name its new name. A move (set_schema) keeps the name and is
 * called after the object moved: its parent in s is the new schema.
 * *out: a new malloc'd string (or NULL: leave sql unchanged).
 */
typedef cc_code (*cat_rewrite_fn)(void *arg, const cat_state *s, const cat_object *target,
                                  const char *sql, const cat_object *renamed, const char *new_name,
                                  char **out, cc_err *err);

/*
 * Change-list callback: called once per durable append — by a writer after
 * each commit that appended, by a follower for each append it applies —
 * with -1 for each changed object's previous version and +1 for its new one
 * (in ref order; n is 0 when only comments, configuration or bookkeeping
 * changed) and the upper after the append (ascending). The objects are
 * borrowed for the call. A writer calls it on its own thread after
 * publishing; a follower on the thread that appended, holding the catalog's
 * lock — it must not call cat_* functions of that catalog other than reading
 * the objects it was given.
 */
typedef struct cat_change {
    const cat_object *object; /* borrowed for the call */
    int diff;                 /* -1: this version left; +1: this version arrived */
} cat_change;
typedef void (*cat_subscribe_fn)(void *arg, const cat_change *changes, size_t n, uint64_t upper);

/* Which consistency check a commit runs on its new version, before writing. */
typedef enum cat_check_mode {
    CAT_CHECK_DEFAULT = 0,     /* debug builds: INCREMENTAL; release builds: NONE */
    CAT_CHECK_NONE = 1,        /* no check */
    CAT_CHECK_INCREMENTAL = 2, /* cat_check_ids over the touched objects: O(k log n) */
    CAT_CHECK_FULL = 3,        /* cat_check over everything: O(n), an ablation for benchmarks */
} cat_check_mode;

/*
 * Ablations, for benchmarks only (cowcat.h's COWCAT_ABLATE_*): each switches
 * back on an O(n)-per-DDL behaviour the design removes; results stay the
 * same, only the cost changes. (The full consistency check on every commit
 * is cat_options.check = CAT_CHECK_FULL.)
 */
typedef enum cat_ablation {
    /* cat_txn_begin deep-copies every map of the published version into
     * fresh maps (and the commit drops the old ones): O(n) per transaction
     * instead of the O(1) clone. */
    CAT_ABLATE_CLONE = 1u << 0,
    /* Each create allocates its id and OID in a durable transaction of its
     * own (dur_txn_allocate_apart: one more compare_and_append and fsync per
     * create) instead of inside the DDL's commit. */
    CAT_ABLATE_ALLOC = 1u << 1,
    /* Limits are checked against counts made by scanning (every object for
     * the kinds, every member for a schema or database) instead of the
     * counters; the scans must agree with the counters (asserted in debug). */
    CAT_ABLATE_LIMITS = 1u << 2,
} cat_ablation;

typedef struct cat_options {
    cat_parse_fn parse; /* for cat_check of create_sql; may be NULL */
    void *parse_arg;
    cat_subscribe_fn on_commit; /* may be NULL; writer: after each commit; follower: each append */
    void *on_commit_arg;
    cat_check_mode check; /* a failed check fails the commit (CORRUPT): nothing is written */
    /* Hash of name keys (NULL: XXH3 with the process seed); tests plug in a
     * degenerate one to exercise the collision path. */
    uint64_t (*name_hash)(const void *p, size_t n);
    uint32_t ablate; /* cat_ablation bits; 0 (the default): none */
} cat_options;

/* How often the O(n) paths of the ablations (and CAT_CHECK_FULL) ran. */
typedef struct cat_stats {
    uint64_t deep_clones; /* CAT_ABLATE_CLONE: transactions begun on a deep copy */
    uint64_t alloc_apart; /* CAT_ABLATE_ALLOC: separate durable allocation transactions */
    uint64_t limit_scans; /* CAT_ABLATE_LIMITS: commits whose limit check scanned */
    uint64_t full_checks; /* CAT_CHECK_FULL: full checks run by commits */
} cat_stats;

/* A copy of the counters (any thread; relaxed, may miss a commit in flight). */
void cat_stats_get(cat_catalog *cat, cat_stats *out);

/*
 * Opens the catalog over a writable dur (borrowed; must outlive the
 * catalog; its domain is used for the state's maps): builds the state from
 * dur's cached Snapshot, the one O(n) pass. opts may be NULL (defaults).
 * While the catalog is open, write the durable catalog only through it: a
 * transaction that finds dur's upper moved rebuilds the state (O(n)).
 * Open dur with DUR_NAMES_EXTERNAL: names are then checked once, here.
 * Errors: CORRUPT (undecodable value), NOMEM.
 */
cc_code cat_open(dur_catalog *dur, const cat_options *opts, cat_catalog **out, cc_err *err);

/*
 * Opens the durable catalog of client c read-only and a follower over it
 * (closing it closes both). Errors: as dur_open and cat_open.
 */
cc_code cat_open_follower(persist_client *c, const cat_options *opts, cat_catalog **out,
                          cc_err *err);

/* Closes the catalog (no transaction may be open). Does not close dur, unless
 * the catalog was opened by cat_open_follower. */
void cat_close(cat_catalog *cat);

dur_catalog *cat_durable(cat_catalog *cat);
pmap_domain *cat_catalog_domain(cat_catalog *cat);

/*
 * The published version. Writer thread: valid until its next commit. Other
 * threads: pin a pmap_reader of cat_catalog_domain first; valid until unpin.
 */
const cat_state *cat_state_acquire(cat_catalog *cat);

/* --- ops -------------------------------------------------------------------------- */

typedef enum cat_op_kind {
    CAT_OP_CREATE_DATABASE = 1,
    CAT_OP_CREATE_SCHEMA,
    CAT_OP_CREATE_ROLE,
    CAT_OP_CREATE_CLUSTER,
    CAT_OP_CREATE_ITEM,
    CAT_OP_DROP,
    CAT_OP_RENAME,
    CAT_OP_COMMENT,
    CAT_OP_OWNER,
    CAT_OP_GRANT,
    CAT_OP_REVOKE,
    CAT_OP_CONFIG_SET,
    CAT_OP_CONFIG_RESET,
    CAT_OP_ADD_COLUMN,
    CAT_OP_DROP_COLUMN,
    CAT_OP_RENAME_COLUMN,
    CAT_OP_REPLACE_ITEM,
    CAT_OP_ALTER_ROLE,
    CAT_OP_SET_SCHEMA,
    CAT_OP_SET_SQL,
} cat_op_kind;

typedef enum cat_drop_behavior {
    CAT_DROP_RESTRICT = 0,
    CAT_DROP_CASCADE = 1,
} cat_drop_behavior;

/*
 * One op. Strings and arrays are borrowed for the call. Created objects'
 * refs are returned through cat_txn_apply's *created.
 *
 * create_item: kind TABLE/VIEW/MATERIALIZED_VIEW/INDEX/TYPE; columns and
 *   constraints are generated messages (borrowed); uses lists the objects
 *   it depends on (an index: its table first; a view: the relations it
 *   reads; a table: tables its foreign keys reference and types its columns
 *   use — see Column.type_ref). A foreign key whose ref_table is u0
 *   references the table being created (stored with its new id; not a use).
 *   create_sql must not be empty (ddl/ stores the statement). Owner 0 means
 *   the role cowcat (CAT_ROLE_COWCAT), for every create op.
 * drop: the objects (any classes); CASCADE drops dependents transitively
 *   (a table referenced by a foreign key loses only the constraint; a column
 *   of a dropped type is dropped), RESTRICT fails with 2BP01 if any exist
 *   outside the set. A table's indexes go with it, as PostgreSQL's automatic
 *   dependencies; a schema's items only under CASCADE; a database takes all
 *   its schemas and their items under either behaviour (PostgreSQL's DROP
 *   DATABASE has no RESTRICT for contents). A role that owns objects, or
 *   that privileges name, outside the set cannot be dropped (2BP01, either
 *   behaviour; REVOKE first). System objects (s-ids) cannot be dropped.
 * rename: an item, schema, database, role or cluster; create_sql of the
 *   item and of its direct dependents is rewritten through rewrite (for a
 *   schema: of its items and their direct dependents).
 *   Renaming to the current name fails like a clash (42P07, ...).
 * comment: column comments are keyed by 1-based position; dropping column
 *   p moves the comments of the columns after it down by one.
 * config: only the limits (cat_limit_name) exist; values are non-negative
 *   integers. A limit may be set below the current count: later creates of
 *   that kind fail, existing objects stay.
 * replace_item: CREATE OR REPLACE VIEW — rewrites a view's create_sql,
 *   columns and uses (as create_item: plus its columns' type refs) in place;
 *   its id, OID, name, owner, privileges, comments and dependents stay.
 *   The caller checks PostgreSQL's column compatibility rules. Errors:
 *   42809 not a view; a use that is missing or not a relation or type; 42P17
 *   when the view would depend on itself (a new use is the view or one of
 *   its transitive dependents: O(k) in the dependents walked).
 * set_schema: ALTER ... SET SCHEMA — moves a table, view, materialized view
 *   or type to another schema of the same database; a table's or
 *   materialized view's indexes move with it (PostgreSQL's rule). Names,
 *   members and the per-schema counts follow in O(log n) per moved object;
 *   ids, OIDs, uses and dependency edges stay. The create_sql of the item
 *   and of its direct dependents (its indexes among them) is rewritten
 *   through rewrite, called after the move with `renamed` the item's
 *   version before the move and new_name its (unchanged) name: the new
 *   schema is the item's parent in s. Moving to the current schema does
 *   nothing. Errors: 42809 (an index: "cannot change schema of index";
 *   not an item that can move), 42501 system objects, 0A000 another
 *   database, 42P07 `relation "x" already exists in schema "s"`, 42710
 *   `type "x" already exists in schema "s"` (a relation's row type and a
 *   type share names, as in PostgreSQL).
 * set_sql: replaces an item's stored create_sql (ddl/ keeps it in step with
 *   ALTER TABLE ... ADD / DROP / RENAME COLUMN and ALTER VIEW ... RENAME
 *   COLUMN), and optionally the check_expr of named CHECK constraints (a
 *   renamed column inside them); nothing else changes. O(log n).
 *   Errors: 42501 system objects, 42704 no such CHECK constraint.
 * rename_column: tables, views and materialized views (a view's output
 *   column; the caller rewrites its create_sql); indexes, constraints and
 *   other tables' foreign keys that name the column follow.
 * drop_column: indexes on the column and the table's constraints on it go;
 *   foreign keys to it (the table's own and other tables') need CASCADE,
 *   else 2BP01 with every one of them in the DETAIL.
 */
typedef struct cat_op {
    cat_op_kind kind;
    union {
        struct {
            const char *name;
            cat_ref owner;
        } create_database;
        struct {
            cat_ref database; /* 0: ambient (builtin) schema */
            const char *name;
            cat_ref owner;
        } create_schema;
        struct {
            const char *name;
            const Cowcat__Catalog__RoleAttributes *attributes; /* NULL: LOGIN off, INHERIT on */
            const char *password; /* SCRAM-SHA-256 verifier (never clear text); NULL: none */
        } create_role;
        struct {
            cat_ref role;
            const Cowcat__Catalog__RoleAttributes *attributes; /* the new attributes; NULL: kept */
            const char *password; /* a new SCRAM-SHA-256 verifier; NULL: kept (or cleared) */
            bool clear_password;  /* remove the password (password must be NULL) */
        } alter_role;
        struct {
            const char *name;
            cat_ref owner;
            const char *size;
            uint32_t replication_factor;
        } create_cluster;
        struct {
            cat_kind kind;
            cat_ref schema;
            const char *name;
            const char *create_sql;
            cat_ref owner;
            size_t ncolumns;
            Cowcat__Catalog__Column *const *columns;
            size_t nconstraints;
            Cowcat__Catalog__Constraint *const *constraints;
            size_t nuses;
            const cat_ref *uses;
        } create_item;
        struct {
            size_t n;
            const cat_ref *refs;
            cat_drop_behavior behavior;
            /* May be NULL: called, before anything is written, for each
             * object CASCADE adds beyond refs (not a table's indexes, which
             * always go with it), in the order reached (PostgreSQL's "drop
             * cascades to ..." notices). */
            void (*on_cascade)(void *arg, const cat_object *o);
            void *cascade_arg;
            /* May be NULL (plain names): how messages name an object, e.g.
             * qualified when its schema is not on the search path. Writes
             * into buf (cap bytes) and returns buf. */
            const char *(*describe)(void *arg, const cat_object *o, char *buf, size_t cap);
            void *describe_arg;
        } drop;
        struct {
            cat_ref ref;
            const char *new_name;
            cat_rewrite_fn rewrite; /* may be NULL: create_sql kept */
            void *rewrite_arg;
        } rename;
        struct {
            cat_ref ref;
            uint32_t column;     /* 0: the object; else 1-based column */
            const char *comment; /* NULL: remove */
        } comment;
        struct {
            cat_ref ref;
            cat_ref new_owner;
        } owner;
        struct {
            cat_ref ref;
            cat_ref grantee;
            cat_ref grantor;
            uint64_t acl_mode; /* bits to add (grant) or remove (revoke) */
        } grant;
        struct {
            const char *name;
            const char *value; /* set only */
        } config;
        struct {
            cat_ref table;
            const Cowcat__Catalog__Column *column; /* add */
            const char *name;                      /* drop / rename: the column */
            const char *new_name;                  /* rename */
            cat_drop_behavior behavior;            /* drop */
        } column;
        struct {
            cat_ref ref;            /* the view */
            const char *create_sql; /* not empty */
            size_t ncolumns;
            Cowcat__Catalog__Column *const *columns;
            size_t nuses;
            const cat_ref *uses; /* the relations and types the new query reads */
        } replace_item;
        struct {
            cat_ref ref;            /* the item to move */
            cat_ref schema;         /* the schema to move it to */
            cat_rewrite_fn rewrite; /* may be NULL: create_sql kept */
            void *rewrite_arg;
        } set_schema;
        struct {
            cat_ref ref;
            const char *create_sql;          /* not empty */
            size_t nchecks;                  /* CHECK constraints whose expression changes */
            const char *const *check_names;  /* their names */
            const char *const *check_exprs;  /* their new expressions */
        } set_sql;
    } u;
} cat_op;

/* Audit context stamped on the events of a transaction. */
typedef struct cat_actor {
    const char *user; /* role name for the audit log; NULL: "cowcat_system" */
    uint64_t now_ms;  /* wall clock for the audit log; 0: now */
} cat_actor;

/*
 * Starts a transaction on the published version: O(1). actor may be NULL.
 * Errors: as dur_txn_begin (FENCED, INVALID for read-only / already open), NOMEM.
 */
cc_code cat_txn_begin(cat_catalog *cat, const cat_actor *actor, cat_txn **out, cc_err *err);

/*
 * Stamps the audit events of the ops applied from now on with actor (its
 * user string borrowed until the transaction ends); a group commit of
 * several sessions' statements switches it between them. now_ms 0: now.
 */
void cat_txn_set_actor(cat_txn *txn, const cat_actor *actor);

/*
 * Where cat_txn_commit records, in nanoseconds (CLOCK_MONOTONIC), how long
 * its parts took: commit_ns = limits, change list, checks and the durable
 * write; publish_ns = making the version current and the on_commit
 * subscribers. out (may be NULL: nothing recorded) is borrowed until the
 * transaction ends and written only by a commit that succeeds.
 */
typedef struct cat_commit_timing {
    uint64_t commit_ns;
    uint64_t publish_ns;
} cat_commit_timing;
void cat_txn_set_timing(cat_txn *txn, cat_commit_timing *out);

/*
 * Applies one op on top of the previous ones. *created (may be NULL) gets
 * the ref of a created object (0 otherwise). Errors, with PostgreSQL's
 * SQLSTATEs: EXISTS (42P04, 42P06, 42P07, 42710, 42701 column), NOT_FOUND
 * (42704; 3F000 schema, 3D000 database, 42P01 relation, 42703 column),
 * DEPENDENTS (2BP01), LIMIT (53400: checked at commit), INVALID (22023,
 * 42809 wrong object type, 0LP01 grants), NOMEM. Any error poisons the
 * transaction: only cat_txn_abort is allowed afterwards.
 */
cc_code cat_txn_apply(cat_txn *txn, const cat_op *op, cat_ref *created, cc_err *err);

/* The transaction's working version (sees its own ops). Valid until the next op or its end. */
const cat_state *cat_txn_state(const cat_txn *txn);

/*
 * Checks limits for the kinds and parents whose counts grew (from counters,
 * O(touched)), writes the audit events, commits the durable transaction
 * (ONE compare_and_append; none if nothing changed) and publishes the new
 * version. Always frees txn. Errors: LIMIT (53400: `creating table would
 * violate max_tables limit (desired: 201, limit: 200, current: 200)`;
 * desired is the count at commit, current the count when the transaction
 * began), CORRUPT (the configured check failed: nothing written), and those
 * of dur_txn_commit. On error the published state is unchanged, and so is
 * the disk except in dur_txn_commit's stated cases: NOMEM after the append
 * under the SNAPSHOT ablation (the commit is durable; the durable handle
 * must be reopened and every later call fails with INTERNAL) and an I/O
 * error whose repair also failed (persist: the record may be on disk;
 * reopen to find out). Nothing after the durable append allocates: the new
 * version's memory is taken before it.
 */
cc_code cat_txn_commit(cat_txn *txn, cc_err *err);

/* Drops the transaction: state and disk unchanged. */
void cat_txn_abort(cat_txn *txn);

/*
 * transact: begin, apply ops[0..n) in order, commit. created (may be NULL)
 * has n slots for the refs of created objects. On any error nothing changes.
 */
cc_code cat_transact(cat_catalog *cat, const cat_actor *actor, const cat_op *ops, size_t n,
                     cat_ref *created, cc_err *err);

/* The bootstrap objects (created by dur_open on an empty shard). */
#define CAT_ROLE_SYSTEM cat_ref_make(CAT_CLASS_ROLE, true, 1)  /* cowcat_system */
#define CAT_ROLE_COWCAT cat_ref_make(CAT_CLASS_ROLE, false, 1) /* cowcat */

#endif
