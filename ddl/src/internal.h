/*
 * ddl/src/internal.h — the structures behind cowcat.h, shared by the files of
 * ddl/ (helpers named ddl__*).
 *
 *   cowcat.h call ─> exec.c: split the string (libpg_query's scanner), parse
 *   each statement (parse.c), classify it:
 *     transaction control  exec.c (BEGIN / COMMIT / ROLLBACK)
 *     session settings     session.c (SET / RESET / SHOW name)
 *     reads                read.c, select.c, relations.c, show.c: run on the
 *                          session's thread against a pinned version
 *     writes (DDL)         create.c, alter.c, ...: plan AND apply against a
 *                          catalog transaction, on the thread that holds the
 *                          engine's write slot (engine.c)
 *
 * Writes are planned where they are applied: names resolve against the
 * transaction's working version (cat_txn_state), so each statement of a
 * group sees what its predecessors did, and a statement is never planned
 * against a version older than the one it is applied to.
 *
 * Results of writes (the command tag, notices) are recorded in the ddl_ctx
 * and handed to the session's callbacks by the session's own thread after
 * the statement finished: user callbacks never run on another session's
 * thread. Reads emit rows directly.
 */
#ifndef COWCAT_DDL_INTERNAL_H
#define COWCAT_DDL_INTERNAL_H

#include <pg_query.h>
#include <pg_query/pg_query.pb-c.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "base/err.h"
#include "catalog/catalog.h"
#include "cowcat.h"
#include "durable/durable.h"
#include "persist/persist.h"

/* --- the engine (engine.c) --------------------------------------------------------- */

typedef struct ddl_request ddl_request;
typedef struct ddl_db_use ddl_db_use;

struct cowcat_subscription {
    cowcat *db;
    cowcat_change_fn fn;
    void *arg;
    struct cowcat_subscription *next;
};

/* A histogram of the engine (relaxed atomics; see cowcat_histogram). */
typedef struct ddl_hist {
    atomic_uint_fast64_t count;
    atomic_uint_fast64_t sum;
    atomic_uint_fast64_t buckets[COWCAT_HIST_BUCKETS];
} ddl_hist;

struct cowcat {
    persist_client *pc;
    dur_catalog *dur;
    cat_catalog *cat;

    /*
     * The write slot: held by a group leader while it applies and commits a
     * group, or by a session from its block's first write until the block
     * ends. Queue and slot are guarded by lock; waiters sleep on cond.
     */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool slot_busy;          /* someone holds the write slot */
    int slot_waiters;        /* sessions in ddl__slot_acquire (they sleep on cond) */
    ddl_request *queue_head; /* single statements waiting for a leader */
    ddl_request *queue_tail;

    pthread_mutex_t sub_lock; /* guards subs; held while subscribers run */
    struct cowcat_subscription *subs;

    atomic_uint_fast64_t statements; /* statistics (relaxed counters) */
    atomic_uint_fast64_t ddl;
    atomic_uint_fast64_t commits;
    atomic_uint_fast64_t groups;
    atomic_uint_fast64_t max_group;
    ddl_hist phase[COWCAT_NPHASES]; /* DDL phase durations (ns) */
    ddl_hist group_size;            /* statements per group commit */
    /* Committed write statements so far, in commit order; guarded by the write slot. */
    uint64_t commit_seq;

    /*
     * Open sessions per database name (session.c), so that DROP DATABASE and
     * ALTER DATABASE ... RENAME refuse a database other sessions use (55006).
     * Guarded by lock. An entry exists while it has sessions or is marked.
     */
    ddl_db_use *uses;
    size_t nuses, uses_cap;
};

/* Records v (ns, or a group size) in h, whose buckets end at bounds (stats.c). */
void ddl__observe(ddl_hist *h, const uint64_t *bounds, uint64_t v);
/* Records a phase's duration in db's histogram. */
void ddl__observe_phase(cowcat *db, cowcat_phase phase, uint64_t ns);
/* Records a durable commit's timing (commit and publish phases). */
void ddl__observe_commit(cowcat *db, const cat_commit_timing *t);
/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t ddl__now_ns(void);

/* Opens the persist client, durable catalog and catalog behind a handle. Errors: as cowcat_open. */
cc_code ddl__engine_open(const cowcat_options *opts, cowcat **out, cc_err *err);
/*
 * CC_OK, or why db can no longer serve (cowcat_health): IO (the log is
 * poisoned), FENCED, INTERNAL (the snapshot missed a durable change).
 */
cc_code ddl__engine_health(cowcat *db, cc_err *err);
/* Closes what ddl__engine_open opened and frees db (NULL allowed). */
void ddl__engine_close(cowcat *db);
/*
 * Takes the write slot for c's statement, waiting while a leader or a block
 * holds it — at most as long as the session's lock_timeout (from now) and
 * statement_timeout (from the statement's start) allow: then 55P03
 * `canceling statement due to lock timeout` / 57014 `canceling statement due
 * to statement timeout`, and nothing was taken. ddl__slot_release gives it back.
 */
typedef struct ddl_ctx ddl_ctx;
cc_code ddl__slot_acquire(ddl_ctx *c, cc_err *err);
void ddl__slot_release(cowcat *db);
/*
 * Runs one write statement in autocommit through group commit: returns
 * when its group committed (or it failed). c's tag and notices are filled
 * by whichever thread led the group. While it is queued behind a busy slot
 * the session's lock_timeout / statement_timeout apply as in
 * ddl__slot_acquire; once a leader has taken it, it runs to the end.
 */
cc_code ddl__engine_submit(ddl_ctx *c, const PgQuery__Node *stmt, cc_err *err);
/* Hands one commit's changes to the subscribers (api.c; sub_lock held). */
void ddl__notify(cowcat *db, const cat_change *changes, size_t n);
/* Fills a cowcat_error (may be NULL) and returns code as a cowcat_code. */
cowcat_code ddl__api_error(cowcat_error *err, cc_code code, const char *sqlstate, const char *msg);

/* --- sessions (session.c) ------------------------------------------------------------ */

#define DDL_NAME_MAX        64 /* NAMEDATALEN */
#define DDL_SEARCH_PATH_MAX 16 /* schemas in search_path */

/* One session setting (SET / SHOW). */
typedef struct ddl_setting {
    const char *name;   /* as SHOW prints it: "search_path", "TimeZone" */
    const char *boot;   /* the default */
    bool read_only;     /* SET fails with 55P02 */
    const char *desc;   /* for SHOW ALL */
} ddl_setting;

/*
 * The sessions open on one database (struct cowcat's uses). closing: the
 * holder of the write slot is dropping or renaming it; sessions opening on
 * it wait while the slot stays busy. The mark is stale once the slot has
 * been free (that transaction ended, committed and published or aborted).
 */
struct ddl_db_use {
    char name[DDL_NAME_MAX]; /* the database's name, as sessions open it */
    size_t sessions;         /* open sessions (counted before their name is checked) */
    bool closing;            /* marked by ddl__database_check_unused */
};

/*
 * Database name is used by no session (other than the caller's, which is
 * on another database): the caller holds the write slot and is about to
 * drop or rename it. Marks name so that sessions opening on it wait until
 * the caller's transaction ends, then see the catalog after it. Errors:
 * INVALID (55006 `database "x" is being accessed by other users`, with
 * PostgreSQL's DETAIL), NOMEM.
 */
cc_code ddl__database_check_unused(ddl_ctx *c, const char *name, cc_err *err);
/* Frees db's session counts (ddl__engine_close). */
void ddl__database_uses_free(cowcat *db);

/* The settings a session has (session.c). */
extern const ddl_setting ddl__settings[];
extern const size_t ddl__nsettings;

struct cowcat_session {
    cowcat *db;
    char user[DDL_NAME_MAX];     /* the session role's name */
    char database[DDL_NAME_MAX]; /* the current database's name */
    char *values[32];            /* current value of ddl__settings[i] (malloc'd) */
    /* search_path parsed: schema names in order ("$user" kept as is) */
    char path[DDL_SEARCH_PATH_MAX][DDL_NAME_MAX];
    size_t npath;

    cowcat_txn_status status; /* I / T / E */
    bool implicit;            /* the block is the implicit one of a multi-statement string */
    bool holds_slot;          /* the session holds the engine's write slot (txn != NULL) */
    atomic_bool cancel;       /* cowcat_session_cancel: end the current wait (cleared per exec) */
    pthread_cond_t *wait_cond; /* what a queued write sleeps on (db->lock), for the cancel */
    cat_txn *txn;             /* the block's catalog transaction, once it wrote */
    pmap_reader *reader;      /* pins versions for this session's reads */
    uint64_t last_commit;     /* commit sequence number of its last committed write */
    uint64_t block_writes;    /* write statements applied in the open block */
    bool counted;             /* database is counted in db->uses */
};

/* The index of setting name (case-insensitive) in ddl__settings, or -1. */
int ddl__setting_find(const char *name);
/* Parses value as a search_path into s->path. Errors: INVALID (22023, 42602). */
cc_code ddl__session_set_path(cowcat_session *s, const char *value, cc_err *err);

/* --- statement context ---------------------------------------------------------------- */

#define DDL_NOTICES_MAX 8

/* Executes one statement: where it runs, what it read, what it reports. */
struct ddl_ctx {
    cowcat_session *s;
    const cat_state *st; /* the version names resolve against (a write: the txn's) */
    cat_txn *txn;        /* writes: the transaction to apply ops to; reads: NULL */
    const char *sql;     /* the whole string the statement came from (positions) */
    int offset;          /* the statement's offset in sql */
    const char *text;    /* the statement's own text (NUL-terminated copy) */
    cat_ref role;        /* the session role (0 if it was dropped) */
    bool superuser;      /* the session role is a superuser */
    cat_ref database;    /* the current database (0 if it was dropped) */
    /* the session role's attributes (zeroed if it was dropped); superuser is one of them */
    Cowcat__Catalog__RoleAttributes attrs;

    char tag[64]; /* command tag, e.g. "CREATE TABLE" */
    cowcat_error notices[DDL_NOTICES_MAX];
    size_t nnotices;
    int errpos; /* 1-based position in sql of the failure (0: none), see ddl__at */
    uint64_t apply_ns; /* time spent in catalog ops (ddl__apply) by the statement */
    uint64_t start_ns; /* when the statement started (statement_timeout counts from it) */

    const cowcat_callbacks *cb; /* reads: rows go straight out */
    void *cb_arg;
    bool columns_sent; /* reads: columns went out */
};

/* Clears what a statement reported (tag, notices, position) before a (re)run. */
void ddl__ctx_reset(ddl_ctx *c);
/*
 * Resolves the session's role (its attributes: superuser, ...) and database
 * in c->st. Errors: NOMEM (decoding the role).
 */
cc_code ddl__ctx_bind(ddl_ctx *c, cc_err *err);

/* Records a NOTICE (sqlstate, printf message); beyond DDL_NOTICES_MAX it is dropped. */
void ddl__notice(ddl_ctx *c, const char *sqlstate, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Marks the failure's position from a parse-tree location (offset within the
 * statement's text; -1: none) and returns code — use as
 * `return ddl__at(c, loc, cc_err_set_state(err, ...))`.
 */
cc_code ddl__at(ddl_ctx *c, int32_t location, cc_code code);

/* Applies one op to c->txn and refreshes c->st. */
cc_code ddl__apply(ddl_ctx *c, const cat_op *op, cat_ref *created, cc_err *err);

/* Row output for reads: columns once, then rows. Errors: INVALID (canceled). */
cc_code ddl__emit_columns(ddl_ctx *c, const cowcat_column *cols, size_t n, cc_err *err);
cc_code ddl__emit_row(ddl_ctx *c, const char *const *values, size_t n, cc_err *err);

/* --- parsing (parse.c) -------------------------------------------------------------- */

/* One statement of a string. */
typedef struct ddl_stmt_span {
    int offset; /* in the string */
    int len;
} ddl_stmt_span;

/*
 * Splits sql into statements with libpg_query's scanner (empty statements
 * dropped). *spans is malloc'd. Errors: NOMEM, PARSE.
 */
cc_code ddl__split(const char *sql, ddl_stmt_span **spans, size_t *n, cc_err *err);

/*
 * Parses one statement. *out: a new tree (free with ddl__parse_free) holding
 * exactly one RawStmt. Errors: PARSE (42601 with *errpos, 1-based within
 * text), NOMEM.
 */
cc_code ddl__parse(const char *text, PgQuery__ParseResult **out, int *errpos, cc_err *err);

/*
 * Parses the stored statement create_sql of the object called name (it
 * parsed when it was stored). *out as ddl__parse. Errors: CORRUPT (`the
 * stored statement of v does not parse`), NOMEM.
 */
/*
 * cat_object_decode for reads that tolerate a damaged value: an undecodable
 * one (cowcat_check reports it) gives CC_OK with *out NULL; only NOMEM is an
 * error (copied to *err when err is not NULL).
 */
cc_code ddl__decode_lenient(const cat_object *o, ProtobufCMessage **out, cc_err *err);
cc_code ddl__parse_stored(const char *create_sql, const char *name, PgQuery__ParseResult **out,
                          cc_err *err);
void ddl__parse_free(PgQuery__ParseResult *r);

/*
 * Deparses one statement node into SQL text (a new malloc'd string).
 * Errors: INTERNAL (the deparser refused), NOMEM.
 */
cc_code ddl__deparse(const PgQuery__Node *stmt, char **out, cc_err *err);

/*
 * PostgreSQL's scanner NOTICE for identifiers longer than 63 bytes
 * (`identifier "..." will be truncated to "..."`, 42622): libpg_query
 * truncates silently, so the statement is scanned again when it has such
 * a word (cheap check first).
 */
void ddl__identifier_notices(ddl_ctx *c, const char *text);

/* PostgreSQL's name for a statement node, for "feature not supported: X". */
const char *ddl__stmt_name(const PgQuery__Node *stmt);

/* The string value of a String node (or NULL if n is not one). */
const char *ddl__str(const PgQuery__Node *n);

/* --- names (names.c) ------------------------------------------------------------------ */

/* A possibly-qualified name: [database.][schema.]name. */
typedef struct ddl_qname {
    const char *database; /* NULL: the current one */
    const char *schema;   /* NULL: search_path */
    const char *name;
    int32_t location; /* parse location or -1 */
} ddl_qname;

/* From a RangeVar. */
ddl_qname ddl__qname_rv(const PgQuery__RangeVar *rv);
/* From a list of String nodes (1 to 3 parts). Errors: PARSE (42601 improper qualified name). */
cc_code ddl__qname_list(ddl_ctx *c, PgQuery__Node *const *items, size_t n, int32_t location,
                        ddl_qname *out, cc_err *err);
/* "a.b.c" for messages, into buf. */
const char *ddl__qname_str(const ddl_qname *q, char *buf, size_t cap);

/* The database q names (current if NULL). Errors: NOT_FOUND (3D000). */
cc_code ddl__database(ddl_ctx *c, const ddl_qname *q, cat_ref *out, cc_err *err);

/*
 * The schema to create q in: its explicit schema, else the first schema of
 * search_path that exists. Errors: NOT_FOUND (3F000 `schema "x" does not
 * exist`, or `no schema has been selected to create in`), 3D000.
 */
cc_code ddl__creation_schema(ddl_ctx *c, const ddl_qname *q, const cat_object **out, cc_err *err);

/*
 * Finds the relation (table, view, materialized view, index) or type q
 * names: its explicit schema, or the search_path in order. *out NULL if
 * there is none (no error: callers word "does not exist" themselves, and
 * IF EXISTS turns it into a notice). Errors only for a missing database or
 * explicit schema (3D000, 3F000).
 */
cc_code ddl__find_relation(ddl_ctx *c, const ddl_qname *q, const cat_object **out, cc_err *err);
cc_code ddl__find_type(ddl_ctx *c, const ddl_qname *q, const cat_object **out, cc_err *err);

/* As ddl__find_relation, failing with 42P01 `relation "x" does not exist` when missing. */
cc_code ddl__get_relation(ddl_ctx *c, const ddl_qname *q, const cat_object **out, cc_err *err);

/*
 * Objects are created in the current database only, as in PostgreSQL: a
 * name qualified with another fails with 0A000 `cross-database references
 * are not implemented: "db.s.t"` at its position.
 */
cc_code ddl__check_same_database(ddl_ctx *c, const ddl_qname *q, cc_err *err);

/* The schema named by name in the current database (NULL if none). */
const cat_object *ddl__find_schema(ddl_ctx *c, const char *name);

/* --- privileges (privs.c) --------------------------------------------------------------- */

/* ACL bits (PostgreSQL's). */
#define DDL_ACL_INSERT     (1u << 0)
#define DDL_ACL_SELECT     (1u << 1)
#define DDL_ACL_UPDATE     (1u << 2)
#define DDL_ACL_DELETE     (1u << 3)
#define DDL_ACL_TRUNCATE   (1u << 4)
#define DDL_ACL_REFERENCES (1u << 5)
#define DDL_ACL_TRIGGER    (1u << 6)
#define DDL_ACL_EXECUTE    (1u << 7)
#define DDL_ACL_USAGE      (1u << 8)
#define DDL_ACL_CREATE     (1u << 9)
#define DDL_ACL_TEMPORARY  (1u << 10)
#define DDL_ACL_CONNECT    (1u << 11)

/*
 * The session role owns o or is a superuser. Errors: PERMISSION (42501
 * `must be owner of table t`); system objects: 42501 for everyone but the
 * system role, e.g. `permission denied: "cowcat_catalog" is a system schema`.
 */
cc_code ddl__check_owner(ddl_ctx *c, const cat_object *o, cc_err *err);

/*
 * The session role may drop o: as ddl__check_owner, and also when o is in a
 * schema the session role owns (PostgreSQL's rule for DROP only; altering
 * still needs ownership). Errors: as ddl__check_owner.
 */
cc_code ddl__check_drop(ddl_ctx *c, const cat_object *o, cc_err *err);

/*
 * Only a superuser manages a role with SUPERUSER (CREATEROLE is not enough):
 * 42501 with msg (PostgreSQL's, e.g. "must be superuser to drop superusers")
 * if role is one and the session role is not. Errors: also NOMEM, CORRUPT.
 */
cc_code ddl__check_superuser_role(ddl_ctx *c, const cat_object *role, const char *msg,
                                  cc_err *err);

/*
 * The session role may create in schema (owner, superuser, or CREATE
 * granted to it or PUBLIC). Errors: PERMISSION (42501 `permission denied
 * for schema s`).
 */
cc_code ddl__check_create(ddl_ctx *c, const cat_object *schema, cc_err *err);

/* *bits: the ACL bits o's privileges grant role (and PUBLIC). Errors: NOMEM. */
cc_code ddl__acl_of(const cat_object *o, cat_ref role, uint64_t *bits, cc_err *err);
/* *names: o's privileges name role as grantee or grantor. Errors: NOMEM. */
cc_code ddl__acl_names(const cat_object *o, cat_ref role, bool *names, cc_err *err);

/* --- statements -------------------------------------------------------------------------- */

/* What a statement does. */
typedef enum ddl_stmt_class {
    DDL_STMT_WRITE = 0,    /* changes the catalog: runs with the write slot */
    DDL_STMT_READ,         /* SELECT, SHOW TABLES, SHOW CREATE */
    DDL_STMT_SESSION,      /* SET, RESET, SHOW setting */
    DDL_STMT_TXN,          /* BEGIN, COMMIT, ROLLBACK */
    DDL_STMT_UNSUPPORTED,  /* 0A000 */
} ddl_stmt_class;

ddl_stmt_class ddl__classify(const PgQuery__Node *stmt);

/* Plans and applies one write statement to c->txn (create.c, alter.c, ...). */
cc_code ddl__write(ddl_ctx *c, const PgQuery__Node *stmt, cc_err *err);
/* ddl__write, recording its plan and transact phases (c->apply_ns) in the engine's histograms. */
cc_code ddl__write_timed(ddl_ctx *c, const PgQuery__Node *stmt, cc_err *err);

/* alter.c: DROP, ALTER ... (RENAME, columns, OWNER, SET SCHEMA), COMMENT, GRANT/REVOKE, ALTER SYSTEM. */
cc_code ddl__alter(ddl_ctx *c, const PgQuery__Node *stmt, cc_err *err);

/*
 * typefmt.c: PostgreSQL's format_type of a stored column ("integer",
 * "character varying(20)", "numeric(10,2)", "text[]", an enum's name) into
 * buf (returns buf), and its type OID (705 unknown; a user enum: 0 — its
 * item's OID is the caller's to look up).
 */
const char *ddl__format_type(const Cowcat__Catalog__Column *col, char *buf, size_t cap);
uint32_t ddl__type_oid(const Cowcat__Catalog__Column *col);
/* information_schema.columns.data_type: "integer", "character varying", "ARRAY", "USER-DEFINED". */
const char *ddl__sql_data_type(const Cowcat__Catalog__Column *col);
/* "PRIMARY KEY", "UNIQUE", "CHECK", "FOREIGN KEY" (information_schema's constraint_type). */
const char *ddl__constraint_type(Cowcat__Catalog__ConstraintKind k);

/* session.c: SET / RESET / SHOW name / SHOW ALL. */
cc_code ddl__session_stmt(ddl_ctx *c, const PgQuery__Node *stmt, cc_err *err);

/* exec.c: rolls back the session's open block and frees the write slot (session close). */
void ddl__session_abort(cowcat_session *s);

/* create.c */
cc_code ddl__create_table(ddl_ctx *c, const PgQuery__CreateStmt *s, cc_err *err);
cc_code ddl__create_view(ddl_ctx *c, const PgQuery__ViewStmt *s, cc_err *err);
cc_code ddl__create_matview(ddl_ctx *c, const PgQuery__CreateTableAsStmt *s, cc_err *err);
/*
 * view_replace.c: CREATE OR REPLACE VIEW of the existing view `view` with the
 * new statement, output columns and uses (all borrowed for the call).
 * Errors: INVALID (42P16 a column dropped, renamed or retyped; 42P17 the
 * view would depend on itself), PERMISSION (42501 not the owner), and those
 * of the catalog op.
 */
cc_code ddl__replace_view(ddl_ctx *c, const cat_object *view, const char *create_sql,
                          Cowcat__Catalog__Column *const *cols, size_t ncols, const cat_ref *uses,
                          size_t nuses, cc_err *err);
cc_code ddl__create_index(ddl_ctx *c, const PgQuery__IndexStmt *s, cc_err *err);
cc_code ddl__create_enum(ddl_ctx *c, const PgQuery__CreateEnumStmt *s, cc_err *err);
cc_code ddl__create_role(ddl_ctx *c, const PgQuery__CreateRoleStmt *s, cc_err *err);
/* role.c: ALTER ROLE / USER name [WITH] options. */
cc_code ddl__alter_role(ddl_ctx *c, const PgQuery__AlterRoleStmt *s, cc_err *err);
cc_code ddl__create_database(ddl_ctx *c, const PgQuery__CreatedbStmt *s, cc_err *err);
cc_code ddl__create_schema(ddl_ctx *c, const PgQuery__CreateSchemaStmt *s, cc_err *err);

/*
 * The rename rewrite hook (rewrite.c; cat_rewrite_fn): re-parses a stored
 * create_sql, renames every reference to the renamed object, deparses.
 */
cc_code ddl__rewrite(void *arg, const cat_state *s, const cat_object *target, const char *sql,
                     const cat_object *renamed, const char *new_name, char **out, cc_err *err);

/* The create_sql re-parse hook for cat_check (cat_parse_fn). */
cc_code ddl__check_parse(void *arg, const char *create_sql, cc_err *err);

/* Reads (read.c): SELECT, SHOW TABLES ..., SHOW CREATE ... against c->st. */
cc_code ddl__read(ddl_ctx *c, const PgQuery__Node *stmt, cc_err *err);

/*
 * The cowcat-specific SHOW forms libpg_query cannot parse (SHOW TABLES FROM
 * s, SHOW CREATE TABLE t, ...): returns true and runs it if text is one,
 * false if not (then parse as usual). Errors through *rc/err.
 */
bool ddl__show_extension(ddl_ctx *c, const char *text, cc_code *rc, cc_err *err);

/* --- reads (read.c, select.c, relations.c, show.c, expr.c) ---------------------------- */

/*
 * A result set in memory: rows of ncols text cells (NULL: SQL NULL). Each
 * row is one allocation holding its cell pointers and their bytes.
 */
typedef struct ddl_rows {
    size_t ncols;
    size_t n, cap;
    char ***rows; /* rows[i][j]: cell j of row i */
} ddl_rows;

void ddl__rows_init(ddl_rows *r, size_t ncols);
/* Appends a row (cells copied; cells[j] NULL: SQL NULL). Errors: NOMEM. */
cc_code ddl__rows_add(ddl_rows *r, const char *const *cells, cc_err *err);
void ddl__rows_fini(ddl_rows *r);

/* Emits cols, then every row of rows, and sets c->tag to "SELECT n". */
cc_code ddl__emit_rows(ddl_ctx *c, const cowcat_column *cols, const ddl_rows *rows, cc_err *err);

/* The objects of c->st whose kind is in kinds (a bit set of 1u << cat_kind), sorted by oid. */
typedef struct ddl_objs {
    const cat_object **v; /* borrowed from c->st; the array is malloc'd */
    size_t n;
} ddl_objs;
cc_code ddl__objs_collect(const cat_state *st, uint32_t kinds, ddl_objs *out, cc_err *err);
void ddl__objs_fini(ddl_objs *o);

/* Name of the object ref in st (NULL if none); the schema/database names of an item. */
const char *ddl__ref_name(const cat_state *st, cat_ref ref);
const char *ddl__item_schema(const cat_state *st, const cat_object *item);
cat_ref ddl__item_database(const cat_state *st, const cat_object *item);

/*
 * What information_schema reports about a view (read.c), by PostgreSQL's
 * rules for automatically updatable views: one table or updatable view in
 * FROM; no WITH, DISTINCT, GROUP BY, HAVING, window, LIMIT / OFFSET, set
 * operation or aggregate; then a plain column reference (or *) is an
 * updatable column, and a view with one is updatable and insertable into.
 */
typedef struct ddl_view_info {
    char *definition;         /* the query, deparsed (malloc'd; NULL if it cannot be) */
    const char *check_option; /* "NONE", "LOCAL", "CASCADED" */
    bool updatable;           /* auto-updatable with an updatable column */
    bool *col_updatable;      /* per output column (malloc'd, ncols entries; NULL: none) */
    size_t ncols;
} ddl_view_info;
/* Fills *out for view (a view or materialized view). Errors: CORRUPT, NOMEM. */
cc_code ddl__view_info(ddl_ctx *c, const cat_object *view, ddl_view_info *out, cc_err *err);
void ddl__view_info_fini(ddl_view_info *v);

/* One column of a builtin relation (type_oid: 25 text, 19 name, 23 int4, 20 int8, 16 bool, 26 oid). */
typedef struct ddl_relcol {
    const char *name;
    uint32_t type_oid;
} ddl_relcol;

/* A builtin relation, computed from c->st at query time (relations.c). */
typedef struct ddl_builtin {
    const char *schema; /* "information_schema" or "cowcat_catalog" */
    const char *name;
    const ddl_relcol *cols;
    size_t ncols;
    /* Appends every row to out (ncols cells), in a stable order. Errors: NOMEM, CORRUPT. */
    cc_code (*fill)(ddl_ctx *c, ddl_rows *out, cc_err *err);
} ddl_builtin;

/* The builtin relation schema.name, or NULL. */
const ddl_builtin *ddl__builtin_find(const char *schema, const char *name);

/* SELECT (select.c). */
cc_code ddl__select(ddl_ctx *c, const PgQuery__SelectStmt *s, cc_err *err);

/*
 * SHOW TABLES|VIEWS|INDEXES|SCHEMAS|DATABASES|OBJECTS [FROM from] (show.c).
 * what is lower case; from may be NULL; from_loc its location (-1: none).
 * Errors: NOT_FOUND (3F000, 3D000), INVALID (0A000 for another what).
 */
cc_code ddl__show_list(ddl_ctx *c, const char *what, const char *from, int32_t from_loc,
                       cc_err *err);

/* Expressions (expr.c): a parse-tree expression bound to one relation's columns. */
typedef enum ddl_vtype {
    DDL_VT_NULL = 0, /* the NULL constant: adapts to anything */
    DDL_VT_TEXT,     /* text, name, varchar */
    DDL_VT_UNKNOWN,  /* a string literal: takes the type of what it meets */
    DDL_VT_INT,      /* int2, int4, int8, oid */
    DDL_VT_NUMERIC,  /* numeric / float literals */
    DDL_VT_BOOL,
} ddl_vtype;

/* A value during evaluation. s borrows a row cell, a constant or the evaluator's buffer. */
typedef struct ddl_value {
    ddl_vtype type;
    bool null;
    int64_t i;
    double d;
    bool b;
    const char *s; /* TEXT / UNKNOWN; NUMERIC: its literal text */
    bool inbuf;    /* TEXT converted from another type: the text is in buf, not s */
    char buf[24];
} ddl_value;

/* What expressions can see: the FROM relation's columns (none without FROM). */
typedef struct ddl_scope {
    const char *relname; /* the relation's name or alias (NULL: no FROM) */
    const ddl_relcol *cols;
    size_t ncols;
} ddl_scope;

typedef struct ddl_expr ddl_expr;

/*
 * Compiles n against sc: binds columns, types every operator (PostgreSQL's
 * errors: 42703, 42P01, 42883, 42804, 22P02, 0A000 with positions) and
 * folds the session functions (version(), current_user, ...). *out is new
 * (free with ddl__expr_free). Errors: as listed, NOMEM.
 */
cc_code ddl__expr_compile(ddl_ctx *c, const ddl_scope *sc, const PgQuery__Node *n, ddl_expr **out,
                          cc_err *err);
void ddl__expr_free(ddl_expr *e);
ddl_vtype ddl__expr_type(const ddl_expr *e);
uint32_t ddl__expr_type_oid(const ddl_expr *e);
/* True if e reads a column of its relation (false: a constant). */
bool ddl__expr_has_columns(const ddl_expr *e);
/* PostgreSQL's output column name for the expression ("?column?" if none). */
const char *ddl__expr_name(const ddl_expr *e);
/* Evaluates e over row (sc's cells). Errors: INVALID (22P02 bad cast input). */
cc_code ddl__expr_eval(ddl_ctx *c, const ddl_expr *e, const char *const *row, ddl_value *out,
                       cc_err *err);
/* The value as output text (NULL for SQL NULL), using buf for numbers. */
const char *ddl__value_text(const ddl_value *v, char *buf, size_t cap);
/* True if v is a true condition (WHERE keeps the row only then). */
bool ddl__value_true(const ddl_value *v);
/* Orders two non-NULL values of the same type family (NUMERIC/INT numerically). */
int ddl__value_cmp(const ddl_value *a, const ddl_value *b);
/* s LIKE pattern (ci: ILIKE): % any run, _ one character, \ escapes the next one. */
bool ddl__like(const char *s, const char *pattern, bool ci);
/* Raises 0A000 `feature not supported: what` at location. */
cc_code ddl__unsupported(ddl_ctx *c, int32_t location, const char *what, cc_err *err);

/* --- objects.c / drop.c: shared by DROP, ALTER, COMMENT, GRANT ------------------------------ */

/* What a statement's ObjectType names. */
typedef struct ddl_objkind {
    PgQuery__ObjectType type;
    const char *word; /* "table", "materialized view", ... */
    cat_kind kind;
    const char *drop_tag;
    const char *alter_tag;
} ddl_objkind;

/* The kind a statement's ObjectType names, or NULL. */
const ddl_objkind *ddl__objkind_of(PgQuery__ObjectType t);
/* "relation": the word for a missing relation of any kind. */
extern const ddl_objkind ddl__any_relation;
bool ddl__is_relation_kind(cat_kind k);
/* The name an object node of a statement gives (String, List, TypeName, RangeVar). */
cc_code ddl__node_qname(ddl_ctx *c, const PgQuery__Node *n, ddl_qname *q, cc_err *err);
/* The object of kind k that q names (*out NULL if missing; relations of any relation kind). */
cc_code ddl__find_object(ddl_ctx *c, cat_kind k, const ddl_qname *q, const cat_object **out,
                         cc_err *err);
/* As ddl__find_object; with missing_ok a missing explicit schema is a notice (*skipped). */
cc_code ddl__find_or_skip(ddl_ctx *c, cat_kind k, const ddl_qname *q, bool missing_ok,
                          bool *skipped, const cat_object **out, cc_err *err);
/*
 * The missing-object error, or with missing_ok its "..., skipping" notice
 * (CC_OK); a builtin relation (cowcat_catalog.objects) is there but is not
 * a catalog object: 42501 `permission denied: "objects" is a system catalog`.
 */
cc_code ddl__missing(ddl_ctx *c, const ddl_objkind *ok, const ddl_qname *q, bool missing_ok,
                     cc_err *err);
/* o has the statement's kind, else 42809 (with DROP's hint when drop). */
cc_code ddl__check_kind(ddl_ctx *c, const ddl_objkind *ok, const cat_object *o, bool drop,
                        cc_err *err);
/* The session role's attributes (zeroed if it is gone), as ddl__ctx_bind found them. */
Cowcat__Catalog__RoleAttributes ddl__session_attributes(ddl_ctx *c);
/* The 1-based position of column name in item o (0: no such column). Errors: CORRUPT, NOMEM. */
cc_code ddl__column_position(const cat_object *o, const char *name, uint32_t *pos, cc_err *err);
/* RENAME COLUMN's checks: 42703 missing, 42701 taken. */
cc_code ddl__check_column(ddl_ctx *c, const cat_object *o, const char *from, const char *to,
                          cc_err *err);

cc_code ddl__drop_stmt(ddl_ctx *c, const PgQuery__DropStmt *d, cc_err *err);
cc_code ddl__drop_database(ddl_ctx *c, const PgQuery__DropdbStmt *d, cc_err *err);
cc_code ddl__drop_roles(ddl_ctx *c, const PgQuery__DropRoleStmt *d, cc_err *err);
/* DROP COLUMN's views over the column: RESTRICT fails (2BP01), CASCADE drops them first. */
cc_code ddl__drop_column_users(ddl_ctx *c, const cat_object *table, const char *column,
                               cat_drop_behavior b, cc_err *err);

/* --- creates (create.c, types.c, view.c, rewrite.c) ----------------------------------- */

/* A resolved column type (types.c). */
typedef struct ddl_type {
    char name[DDL_NAME_MAX + 3]; /* internal name ("int4", "_text"); an enum's: "mood", "mood[]" */
    int32_t typmod;              /* -1: none; varchar/bpchar(n): n; numeric(p,s): p << 16 | s */
    cat_ref ref;                 /* the user type (an enum) it is or is an array of; 0: builtin */
} ddl_type;

/*
 * Resolves a column's TypeName: builtin types first (pg_catalog is searched
 * before search_path, as in PostgreSQL), then user types. Errors with the
 * TypeName's position: NOT_FOUND (42704 `type "foo" does not exist`,
 * 3F000), INVALID (22023 bad length/precision, 42601 modifiers not
 * allowed), PARSE (0A000 serial and other unsupported types).
 */
cc_code ddl__type_resolve(ddl_ctx *c, const PgQuery__TypeName *tn, ddl_type *out, cc_err *err);

/* Allocations that live until a statement's plan is applied (create.c). */
typedef struct ddl_pool {
    void **v;
    size_t n, cap;
} ddl_pool;
/* Zeroed memory / a copy of s owned by the pool (NULL: out of memory). */
void *ddl__pool_alloc(ddl_pool *p, size_t size);
char *ddl__pool_strdup(ddl_pool *p, const char *s);
/* Frees everything the pool holds. */
void ddl__pool_fini(ddl_pool *p);

/* True if name (unqualified, or qualified with pg_catalog) is a PostgreSQL builtin type. */
bool ddl__type_is_builtin(const char *name);

/*
 * Creating in pg_catalog: 42501 `permission denied for schema pg_catalog`,
 * or for a superuser `permission denied to create "pg_catalog.x"` (DETAIL
 * System catalog modifications are currently disallowed.).
 */
cc_code ddl__system_catalog(ddl_ctx *c, const ddl_qname *q, cc_err *err);

/* c->text without surrounding white space and a trailing ';' (new malloc'd). Errors: NOMEM. */
cc_code ddl__create_sql(ddl_ctx *c, char **out, cc_err *err);

/* The SQL text of expression n, deparsed (new malloc'd). Errors: INTERNAL, NOMEM. */
cc_code ddl__expr_sql(const PgQuery__Node *n, char **out, cc_err *err);

/*
 * PostgreSQL's makeObjectName: "name1_name2_label" (name2, label may be
 * NULL) truncated to 63 bytes by shortening the longer of name1 and name2.
 * out has DDL_NAME_MAX bytes.
 */
void ddl__object_name(const char *name1, const char *name2, const char *label, char *out);

/*
 * PostgreSQL's ChooseRelationName / ChooseConstraintName: ddl__object_name
 * with label, then label1, label2, ... until taken(arg, name) is false.
 */
void ddl__choose_name(const char *name1, const char *name2, const char *label,
                      bool (*taken)(void *arg, const char *name), void *arg, char *out);

/* PostgreSQL's ChooseIndexNameAddition: names joined with '_' (out: 2 * DDL_NAME_MAX bytes). */
void ddl__name_addition(const char *const *names, size_t n, char *out);

/* PostgreSQL's FigureColname: the output name of an expression (NULL: "?column?"). */
const char *ddl__figure_colname(const PgQuery__Node *n);

/*
 * Walks every message of a parse tree (view.c), depth first, calling fn for
 * each RangeVar, TypeName and ColumnRef; fn returns 0 to go on, and the walk
 * returns its first non-zero result (-1: out of memory). WITH names are
 * tracked: ddl__walk_is_cte tells whether an unqualified RangeVar names a
 * CTE in scope where fn is called.
 */
typedef struct ddl_walk ddl_walk;
typedef int (*ddl_walk_fn)(void *arg, ddl_walk *w, ProtobufCMessage *node);
int ddl__walk(ProtobufCMessage *root, ddl_walk_fn fn, void *arg);
bool ddl__walk_is_cte(const ddl_walk *w, const PgQuery__RangeVar *rv);
/* True while the walk is inside a query (SelectStmt) rather than the statement itself. */
bool ddl__walk_in_query(const ddl_walk *w);

/*
 * SCRAM-SHA-256 verifiers in PostgreSQL's format (scram.c):
 * "SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>" (base64).
 * ddl__scram_verifier uses a random 16-byte salt and 4096 iterations.
 * *out is new (cc_malloc'd). Errors: INTERNAL (libcrypto failed), NOMEM.
 */
cc_code ddl__scram_verifier(const char *password, char **out, cc_err *err);
cc_code ddl__scram_verifier_salt(const char *password, const uint8_t *salt, size_t nsalt,
                                 int iterations, char **out, cc_err *err);
/* True if s is a well-formed SCRAM-SHA-256 verifier (stored as given, as PostgreSQL does). */
bool ddl__scram_is_verifier(const char *s);

/* A growing vector of refs, collected by a cat_state walk before anything changes. */
typedef struct ddl_refs {
    cat_ref *v;
    size_t n, cap;
    bool nomem; /* a push failed: the walk stopped */
} ddl_refs;

/* Appends ref; false (and nomem set) when out of memory. */
bool ddl__refs_push(ddl_refs *r, cat_ref ref);

/* --- tree edits (tree.c), stored SQL kept in step with ALTER (colsql.c, view_rewrite.c) ----- */

/* Replaces *slot, a string of a tree from ddl__parse, with a malloc'd copy of s. */
bool ddl__tree_set_string(char **slot, const char *s);
/* A new String node (malloc'd, for a ddl__parse tree; NULL: out of memory). */
PgQuery__Node *ddl__tree_string(const char *s);
/* A new ColumnRef node [qualifier.]name (NULL: out of memory). */
PgQuery__Node *ddl__tree_column_ref(const char *qualifier, const char *name);
/* A deep copy of n for another ddl__parse tree (NULL: out of memory). */
PgQuery__Node *ddl__tree_copy(const PgQuery__Node *n);
/* Inserts item at position at of the node array *v (n items). False: out of memory. */
bool ddl__tree_insert(PgQuery__Node ***v, size_t *n, size_t at, PgQuery__Node *item);
/* Frees and removes item at of the node array v. */
void ddl__tree_remove(PgQuery__Node **v, size_t *n, size_t at);

/*
 * The create_sql of view or materialized view `view` once column `from` of
 * relation `rel` (a table, view or materialized view it reads) is renamed
 * to `to` — or, from NULL, once rel gains a column `to` at its end.
 * References to the column are renamed (qualified where the name could be
 * captured), target entries keep their output names (`b AS a`), and `*`
 * over rel is spelled out so the view's columns stay what they were;
 * unqualified references to `to` that the new column would capture are
 * qualified. The rewritten query is bound again against rel's new columns
 * and must bind every reference as before. *out: new malloc'd SQL, or NULL
 * when nothing changes. Errors: INVALID (0A000: JOIN USING / NATURAL JOIN
 * over the column, or another rewrite that would change what the view
 * reads), CORRUPT, NOMEM.
 */
cc_code ddl__view_sql_column(ddl_ctx *c, const cat_object *view, const cat_object *rel,
                             const char *from, const char *to, char **out, cc_err *err);

/* ALTER VIEW v RENAME COLUMN: v's own create_sql with its output column from named to. */
cc_code ddl__view_sql_rename_output(ddl_ctx *c, const cat_object *view, const char *from,
                                    const char *to, char **out, cc_err *err);

/*
 * A table's, index's or foreign-key table's create_sql after a column
 * change of table `table` (colsql.c). Each gives *out (new malloc'd SQL,
 * NULL when unchanged) for `item`, which is the table itself or one of its
 * dependents, computed against c->st before the change is applied:
 *   add:    the table's CREATE TABLE gains def (a ColumnDef node);
 *   drop:   the column, the constraints the catalog drops with it (its
 *           keys, CHECKs naming it, foreign keys on it or, in other
 *           tables, to it) go; NOT NULL a dropped key implied stays;
 *   rename: the column and every reference to it (keys, CHECK
 *           expressions, foreign keys of the table and of other tables,
 *           index columns, expressions and predicates); constraints
 *           without a name get their stored names, so a replay names them
 *           the same. *checks gets the CHECK constraints whose expression
 *           changed (names and new expressions, malloc'd; free with
 *           ddl__checks_fini).
 * Errors: CORRUPT (the stored SQL does not parse), NOMEM.
 */
typedef struct ddl_checks {
    char **names; /* CHECK constraint names */
    char **exprs; /* their new expressions */
    size_t n;
} ddl_checks;
void ddl__checks_fini(ddl_checks *k);
cc_code ddl__table_sql_add(ddl_ctx *c, const cat_object *table, const PgQuery__Node *def,
                           char **out, cc_err *err);
cc_code ddl__table_sql_drop(ddl_ctx *c, const cat_object *item, const cat_object *table,
                            const char *column, char **out, cc_err *err);
cc_code ddl__table_sql_rename(ddl_ctx *c, const cat_object *item, const cat_object *table,
                              const char *from, const char *to, char **out, ddl_checks *checks,
                              cc_err *err);
/* True if index `index` (of table) reads column in an expression or predicate. */
bool ddl__index_reads_column(const cat_object *index, const char *column);

/* Applies CAT_OP_SET_SQL for item with sql (and the CHECK expressions of checks, may be NULL). */
cc_code ddl__set_sql(ddl_ctx *c, cat_ref item, const char *sql, const ddl_checks *checks,
                     cc_err *err);

/*
 * The column statements with their stored SQL kept in step (alter_column.c):
 * RENAME COLUMN of a table, view or materialized view; ADD COLUMN col
 * (def: its ColumnDef node) and DROP COLUMN of a table (views over the
 * column: RESTRICT fails, CASCADE drops them). Errors: those of the
 * rewrites (0A000 when a view's SQL cannot be rewritten safely) and of the
 * catalog ops.
 */
cc_code ddl__rename_column(ddl_ctx *c, const cat_object *rel, const char *from, const char *to,
                           cc_err *err);
cc_code ddl__add_column(ddl_ctx *c, const cat_object *table, const Cowcat__Catalog__Column *col,
                        const PgQuery__Node *def, cc_err *err);
cc_code ddl__drop_column(ddl_ctx *c, const cat_object *table, const char *column,
                         cat_drop_behavior b, cc_err *err);

/* As ddl__view_sql_column for relation rel gaining the columns added[0..n) at its end
 * (CREATE OR REPLACE VIEW of rel adding columns). */
cc_code ddl__view_sql_added(ddl_ctx *c, const cat_object *view, const cat_object *rel,
                            const char *const *added, size_t nadded, char **out, cc_err *err);

#endif
