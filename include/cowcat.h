/*
 * cowcat.h — the embedded API of cowcat, an in-memory, copy-on-write,
 * transactional database catalog engine that speaks PostgreSQL's SQL.
 *
 * A program links libcowcat, opens a data directory, opens sessions and runs
 * DDL and catalog queries in PostgreSQL syntax:
 *
 *     cowcat *db;
 *     cowcat_session *s;
 *     cowcat_error err;
 *     cowcat_options o = {.data_dir = "./cowcat-data"};
 *     if (cowcat_open(&o, &db, &err) != COWCAT_OK) ... err.message ...
 *     cowcat_session_open(db, NULL, &s, &err);
 *     cowcat_exec(s, "CREATE TABLE t (a int PRIMARY KEY, b text)", NULL, NULL, &err);
 *     cowcat_exec(s, "SELECT table_name FROM information_schema.tables", &cb, arg, &err);
 *     cowcat_session_close(s);
 *     cowcat_close(db);
 *
 * Conventions
 *   - Every fallible function returns a cowcat_code (COWCAT_OK on success) and
 *     takes `cowcat_error *err` last (may be NULL); on failure err holds
 *     PostgreSQL's severity, SQLSTATE, message, DETAIL, HINT and, for SQL
 *     errors, the 1-based character position in the statement string.
 *   - Strings passed in are borrowed for the call. Strings handed to callbacks
 *     are valid for the callback only; strings in a cowcat_object are valid
 *     until its snapshot closes.
 *   - Nothing acknowledged is lost: with durability FSYNC (the default) a DDL
 *     returns only after its group's durable write reached the disk
 *     (fdatasync). A failed statement changes nothing.
 *
 * Concurrency
 *   A cowcat handle is thread-safe. A session belongs to one thread at a time
 *   (like a PostgreSQL connection); many threads may use different sessions at
 *   once. Reads run against a pinned catalog version and never wait for
 *   writers. Single DDL statements from concurrent sessions are group
 *   committed: applied one after another, each against the state its
 *   predecessors produced, each with its own success or error, and made
 *   durable by one write. A transaction block (BEGIN ... COMMIT, or a string of
 *   several statements, which PostgreSQL runs as one implicit transaction)
 *   holds the catalog's write slot from its first DDL until it ends, so other
 *   sessions' DDL waits meanwhile — keep blocks short.
 *
 * Statement limits
 *   A statement's parse tree may nest at most 2000 protobuf levels (about
 *   1000 nested operators or calls), fewer on a thread whose stack is small:
 *   cowcat_exec estimates 2 kB of stack per level and keeps 128 kB in
 *   reserve, so a 4 MB stack allows the full depth and a 256 kB one about 60
 *   levels. Deeper statements, and statements with more than 16384
 *   operator characters outside literals, fail with 54001 and change
 *   nothing; they never overflow the stack. Long statements (beyond what
 *   half the caller's stack can parse, at 256 bytes per byte of text) are
 *   parsed on a short-lived thread of their own; statements over 2 MB that
 *   need it fail with 54000.
 */
#ifndef COWCAT_H
#define COWCAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* --- errors ---------------------------------------------------------------- */

/* Result codes (the same list as cowcat's internal cc_code). */
typedef enum cowcat_code {
    COWCAT_OK = 0,
    COWCAT_NOMEM,          /* 53200 */
    COWCAT_INVALID,        /* 22023: bad argument or value; misuse of the API */
    COWCAT_EXISTS,         /* 42P07, 42P06, ...: the object already exists */
    COWCAT_NOT_FOUND,      /* 42P01, 3F000, 42704, ...: no such object */
    COWCAT_DEPENDENTS,     /* 2BP01 */
    COWCAT_LIMIT,          /* 53400 */
    COWCAT_CONFLICT,       /* 40001 */
    COWCAT_UPPER_MISMATCH, /* 40001 (internal) */
    COWCAT_FENCED,         /* 25006: a newer writer opened the data directory */
    COWCAT_CORRUPT,        /* XX001 */
    COWCAT_IO,             /* 58030 */
    COWCAT_PROTO,          /* 08P01 */
    COWCAT_PARSE,          /* 42601 and other statement errors (see sqlstate) */
    COWCAT_PERMISSION,     /* 42501 */
    COWCAT_INTERNAL,       /* XX000 */
} cowcat_code;

#define COWCAT_ERROR_MAX 256

/* One error or notice, in PostgreSQL's shape (ErrorResponse fields). */
typedef struct cowcat_error {
    cowcat_code code;                /* COWCAT_OK: no error */
    char severity[8];                /* "ERROR", "NOTICE", "WARNING" */
    char sqlstate[6];                /* e.g. "42P07" */
    char message[COWCAT_ERROR_MAX];  /* primary message */
    char detail[4 * COWCAT_ERROR_MAX]; /* DETAIL (lines separated by '\n'), or "" */
    char hint[COWCAT_ERROR_MAX];     /* HINT, or "" */
    int position;                    /* 1-based character position in the SQL string; 0: none */
} cowcat_error;

/* The name of a code ("NOT_FOUND"). */
const char *cowcat_code_name(cowcat_code code);

/* --- opening ---------------------------------------------------------------- */

typedef struct cowcat cowcat;
struct persist_io;

typedef enum cowcat_durability {
    COWCAT_DURABILITY_FSYNC = 0, /* fdatasync before acknowledging (default) */
    COWCAT_DURABILITY_NONE = 1,  /* no syncs: survives kill -9, not power loss */
} cowcat_durability;

typedef enum cowcat_backend {
    COWCAT_BACKEND_FILE = 0,   /* the persist log in data_dir (default) */
    COWCAT_BACKEND_MEMORY = 1, /* in memory only; gone at close */
} cowcat_backend;

/*
 * Ablations, for benchmarks only: each switches back on, in one place, an
 * O(n) behaviour that cowcat's design removes, so ddl_bench can show how it
 * bends the latency curve. Results stay correct; only the cost changes.
 * cowcat_stats.ablated[] counts how often each ablated path ran.
 */
typedef enum cowcat_ablation {
    COWCAT_ABLATE_CLONE,    /* deep-copy the catalog state on every transaction */
    COWCAT_ABLATE_SNAPSHOT, /* rebuild the durable snapshot from the trace on every commit */
    COWCAT_ABLATE_TRACE,    /* consolidate the persist trace by sorting all of it per append */
    COWCAT_ABLATE_ALLOC,    /* allocate ids and OIDs in a separate durable transaction */
    COWCAT_ABLATE_LIMITS,   /* check limits by counting objects with a scan */
    COWCAT_ABLATE_CHECK,    /* run the full consistency check on every commit */
    COWCAT_ABLATE_ADVANCE,  /* advance every table's frontier one by one on every commit */
    COWCAT_NABLATIONS
} cowcat_ablation;

#define COWCAT_ABLATE_BIT(a) (1u << (a))

/* "clone", "snapshot", ...; NULL for an unknown value. */
const char *cowcat_ablation_name(cowcat_ablation a);

/*
 * Parses a comma-separated list of ablation names ("" or NULL: none) into a
 * mask of COWCAT_ABLATE_BIT()s. Errors: INVALID (22023, the unknown name).
 */
cowcat_code cowcat_ablations_parse(const char *list, uint32_t *mask, cowcat_error *err);

typedef struct cowcat_options {
    const char *data_dir;         /* FILE: the data directory (created if missing) */
    cowcat_durability durability; /* FILE only */
    cowcat_backend backend;
    uint64_t deploy_generation; /* fencing: a lower generation than stored is refused */
    uint32_t ablate;            /* COWCAT_ABLATE_BIT()s; 0 (the default): none */
    uint64_t audit_log_keep;    /* audit events kept (cowcat_catalog.audit_events): the newest
                                   this many; older ones are dropped as new ones commit,
                                   so the log's memory and disk stay bounded; 0: 100,000 */
    const struct persist_io *io; /* FILE: the hook every data-directory file call goes through
                                    (persist/io.h), for fault-injection and power-cut tests;
                                    NULL (the default): the plain system calls */
    uint64_t rollup_bytes;       /* FILE: roll the log up once this many bytes have accumulated
                                    since the last rollup and exceed its size; 0: 16 MiB */
    uint64_t segment_bytes;      /* FILE: log segment size (a new segment file is started when
                                    the next write would pass it); 0: 64 MiB; at least 4 KiB */
} cowcat_options;

/*
 * Opens (creating on first use) the catalog in opts->data_dir: recovers the
 * log, loads the catalog (O(n), once) and bumps the fence token, so an older
 * writer of the same directory stops with FENCED. *out is a new handle.
 * Errors: IO (e.g. the directory is in use by another process), CORRUPT,
 * FENCED, NOMEM, INVALID.
 */
cowcat_code cowcat_open(const cowcat_options *opts, cowcat **out, cowcat_error *err);

/*
 * Closes the handle. Every session, snapshot and subscription must be closed
 * first. Everything acknowledged is already durable.
 */
void cowcat_close(cowcat *db);

/* --- sessions ---------------------------------------------------------------- */

typedef struct cowcat_session cowcat_session;

typedef struct cowcat_session_options {
    const char *user;        /* role to act as; NULL: "cowcat" */
    const char *database;    /* NULL: "cowcat" */
    const char *search_path; /* NULL: "public" */
} cowcat_session_options;

/*
 * Opens a session (opts may be NULL). The role and database must exist.
 * Errors: NOT_FOUND (28000 role / 3D000 database), NOMEM.
 */
cowcat_code cowcat_session_open(cowcat *db, const cowcat_session_options *opts,
                                cowcat_session **out, cowcat_error *err);

/* Closes a session; an open transaction block is rolled back. */
void cowcat_session_close(cowcat_session *s);

/* Transaction status, as ReadyForQuery reports it. */
typedef enum cowcat_txn_status {
    COWCAT_TXN_IDLE = 'I',    /* not in a transaction block */
    COWCAT_TXN_BLOCK = 'T',   /* in a transaction block */
    COWCAT_TXN_FAILED = 'E',  /* in a failed block: only ROLLBACK helps */
} cowcat_txn_status;

cowcat_txn_status cowcat_session_status(const cowcat_session *s);

/*
 * Fails the session's open transaction block as an error inside it would
 * (every statement 25P02 until ROLLBACK; COMMIT rolls back); a no-op outside
 * a block. For a server that refuses a statement before it reaches
 * cowcat_exec (cowcatd: one over COWCAT_MAX_STATEMENT_BYTES).
 */
void cowcat_session_fail_block(cowcat_session *s);

/*
 * Cancels what s is running, from any thread (cowcatd: a CancelRequest): a
 * write waiting for the write slot — behind another session's block, or
 * queued for group commit — fails with 57014 `canceling statement due to
 * user request` and does nothing (inside a block, the block fails). A
 * statement that already has the slot runs to the end (DDL takes
 * microseconds); a cancel with nothing waiting is forgotten when s starts
 * its next cowcat_exec. s must stay open for the call. Thread-safe.
 */
void cowcat_session_cancel(cowcat_session *s);

/*
 * The commit sequence number of the session's last committed write
 * statement (0: none yet). Committed write statements are numbered 1, 2, ...
 * in commit order across all sessions (within a group commit or a block, in
 * the order they were applied), so replaying every session's statements
 * sorted by these numbers rebuilds the same catalog. Numbers restart at each
 * cowcat_open.
 */
uint64_t cowcat_session_last_commit(const cowcat_session *s);

/*
 * The current value of a session setting ("search_path", "TimeZone", ...),
 * or NULL if there is no such setting. Valid until the session's next call.
 */
const char *cowcat_session_setting(cowcat_session *s, const char *name);

/*
 * Parses a PostgreSQL duration setting ("0", "250", "250ms", "5s", "1min",
 * "2h", "1d", "500us"; no unit: milliseconds) into *ms. False if malformed
 * or over INT32_MAX ms. SET validates the *_timeout settings with it (22023)
 * and shows them as PostgreSQL does ("5s").
 */
bool cowcat_duration_ms(const char *text, int64_t *ms);

/* What a server needs to authenticate a role. */
typedef struct cowcat_role_auth {
    bool exists;        /* the role exists */
    bool login;         /* it has LOGIN */
    bool superuser;
    char verifier[512]; /* its SCRAM-SHA-256 verifier (PostgreSQL's format), "" if none */
} cowcat_role_auth;

/*
 * Looks role up in the published version (never in clear: only the stored
 * verifier). A missing role is not an error (out->exists false).
 * Errors: INVALID (NULL argument), CORRUPT (undecodable role), NOMEM.
 */
cowcat_code cowcat_role_auth_get(cowcat *db, const char *role, cowcat_role_auth *out,
                                 cowcat_error *err);

/* --- executing SQL ---------------------------------------------------------- */

/* A result column: its name and the PostgreSQL type OID (25 text, 23 int4, ...). */
typedef struct cowcat_column {
    const char *name;
    uint32_t type_oid;
} cowcat_column;

/*
 * Result callbacks (any member may be NULL). For each statement of the
 * string, in order: a statement that returns rows calls columns once, then
 * row for each row (values[i] NULL for SQL NULL), then complete with the
 * command tag ("CREATE TABLE", "SELECT 3", ...); notices (e.g. "relation
 * ... already exists, skipping") arrive as they happen. Pointers are valid
 * for the call. A non-zero return from columns/row stops the statement
 * (cowcat_exec returns INVALID with "canceled by the result callback").
 */
typedef struct cowcat_callbacks {
    int (*columns)(void *arg, const cowcat_column *cols, size_t n);
    int (*row)(void *arg, const char *const *values, size_t n);
    void (*complete)(void *arg, const char *tag);
    void (*notice)(void *arg, const cowcat_error *notice);
} cowcat_callbacks;

/*
 * The longest statement cowcat parses, in bytes: a longer one fails with
 * 54000 `statement is too long: N bytes (the limit is 2097152)`. cowcatd
 * refuses a Query message whose string is longer (a multi-statement string
 * included), and a Parse message that cannot hold less, without reading
 * them into memory.
 */
#define COWCAT_MAX_STATEMENT_BYTES (2u << 20)

/*
 * Runs the statements of sql (one or more, separated by ';') in order.
 * Outside a transaction block, a single statement runs in its own
 * transaction and a string of several runs as one implicit transaction, as
 * PostgreSQL does: they all commit with one durable write, or none does.
 * Statements inside BEGIN ... COMMIT commit at COMMIT. The first error stops
 * the string: err describes it (with its position in sql) and, inside a
 * block, the block is failed (25P02 for later statements) until ROLLBACK.
 * Returns COWCAT_OK if every statement succeeded. cb may be NULL.
 */
cowcat_code cowcat_exec(cowcat_session *s, const char *sql, const cowcat_callbacks *cb, void *arg,
                        cowcat_error *err);

/*
 * Explicit transactions, the same as exec("BEGIN"), exec("COMMIT") and
 * exec("ROLLBACK"). Commit of a failed block rolls back and returns
 * COWCAT_INVALID with 25P02's message.
 */
cowcat_code cowcat_begin(cowcat_session *s, cowcat_error *err);
cowcat_code cowcat_commit(cowcat_session *s, cowcat_error *err);
cowcat_code cowcat_rollback(cowcat_session *s, cowcat_error *err);

/* --- read snapshots ------------------------------------------------------------ */

typedef struct cowcat_snapshot cowcat_snapshot;

/* What an object is. */
typedef enum cowcat_kind {
    COWCAT_KIND_DATABASE = 0,
    COWCAT_KIND_SCHEMA,
    COWCAT_KIND_TABLE,
    COWCAT_KIND_VIEW,
    COWCAT_KIND_MATERIALIZED_VIEW,
    COWCAT_KIND_INDEX,
    COWCAT_KIND_TYPE,
    COWCAT_KIND_ROLE,
    COWCAT_KIND_CLUSTER,
} cowcat_kind;

/* One object of a snapshot; strings valid until the snapshot closes. */
typedef struct cowcat_object {
    uint32_t oid;          /* the object's OID (0 for clusters) */
    cowcat_kind kind;
    const char *kind_name; /* "table", "materialized view", ... */
    const char *id;        /* the catalog id: "u7", "s3" */
    const char *database;  /* the database of a schema or relation; NULL otherwise */
    const char *schema;    /* the schema of a relation or type; NULL otherwise */
    const char *name;      /* the object's own name */
    const char *owner;     /* the owning role's name; NULL for roles */
    const char *create_sql; /* the stored statement of a relation or type; NULL otherwise */
} cowcat_object;

/* One column of a relation. */
typedef struct cowcat_column_info {
    uint32_t position;       /* 1-based */
    const char *name;
    const char *type;        /* PostgreSQL's format_type: "integer", "character varying(20)" */
    uint32_t type_oid;
    bool not_null;
    const char *default_expr; /* NULL: none */
} cowcat_column_info;

/* One constraint of a table. */
typedef struct cowcat_constraint_info {
    const char *name;
    const char *type;            /* "PRIMARY KEY", "UNIQUE", "CHECK", "FOREIGN KEY" */
    const char *const *columns;  /* the constrained columns */
    size_t ncolumns;
    const char *check_expr;      /* CHECK: the expression; else NULL */
    uint32_t ref_oid;            /* FOREIGN KEY: the referenced table; else 0 */
    const char *const *ref_columns;
    size_t nref_columns;
} cowcat_constraint_info;

/*
 * Pins the current catalog version for reading: O(1); writers are never
 * blocked and the version never changes under the snapshot. Inside the
 * session's transaction block, the snapshot sees the block's own changes
 * (and must be closed before the block's next statement). Errors: NOMEM.
 */
cowcat_code cowcat_snapshot_open(cowcat_session *s, cowcat_snapshot **out, cowcat_error *err);

/* Unpins the version; every cowcat_object of it becomes invalid. */
void cowcat_snapshot_close(cowcat_snapshot *snap);

/* Content fingerprint of the version: equal catalogs, equal fingerprints. */
void cowcat_snapshot_fingerprint(cowcat_snapshot *snap, uint64_t fp[2]);

/* Number of objects of a kind. O(1). */
uint64_t cowcat_snapshot_count(cowcat_snapshot *snap, cowcat_kind kind);

/*
 * Finds a relation or type by name, resolved the way SQL resolves it
 * ("t", "public.t", "cowcat.public.t"; quoted parts keep their case) against
 * the session's database and search_path. Errors: NOT_FOUND (42P01), PARSE.
 */
cowcat_code cowcat_snapshot_find(cowcat_snapshot *snap, const char *name, cowcat_object *out,
                                 cowcat_error *err);

/* Finds any object by OID. Errors: NOT_FOUND. */
cowcat_code cowcat_snapshot_find_oid(cowcat_snapshot *snap, uint32_t oid, cowcat_object *out,
                                     cowcat_error *err);

/* Walk callbacks: return 0 to go on; a non-zero value stops the walk and is returned. */
typedef int (*cowcat_object_fn)(void *arg, const cowcat_object *o);

/*
 * Calls fn for each relation and type of schema (of the session's database)
 * in creation order. O(log n + k). Errors: NOT_FOUND (3F000).
 */
cowcat_code cowcat_snapshot_walk_schema(cowcat_snapshot *snap, const char *schema,
                                        cowcat_object_fn fn, void *arg, cowcat_error *err);

/* Calls fn for each direct dependent of the object with that OID. O(log n + k). */
cowcat_code cowcat_snapshot_walk_dependents(cowcat_snapshot *snap, uint32_t oid,
                                            cowcat_object_fn fn, void *arg, cowcat_error *err);

/* Calls fn for each column of the relation with that OID, in order. */
cowcat_code cowcat_snapshot_columns(cowcat_snapshot *snap, uint32_t oid,
                                    int (*fn)(void *arg, const cowcat_column_info *c), void *arg,
                                    cowcat_error *err);

/* Calls fn for each constraint of the table with that OID, in order. */
cowcat_code cowcat_snapshot_constraints(cowcat_snapshot *snap, uint32_t oid,
                                        int (*fn)(void *arg, const cowcat_constraint_info *c),
                                        void *arg, cowcat_error *err);

/* --- change subscription -------------------------------------------------------- */

typedef struct cowcat_subscription cowcat_subscription;

/*
 * One change: an object version left (diff -1) or arrived (+1). An altered
 * object appears twice (old -1, new +1). The object is valid for the call.
 */
typedef struct cowcat_change {
    const cowcat_object *object;
    int diff;
} cowcat_change;

/*
 * Called once per durable commit that changed objects, on the committing
 * thread, after the commit is durable and published, in commit order. It
 * must not call cowcat_exec or open transactions on this handle. If memory
 * for the change list cannot be allocated, that commit's call is skipped
 * (the commit itself stands); a subscriber that must not miss one can
 * compare cowcat_snapshot_fingerprint with what it has seen.
 */
typedef void (*cowcat_change_fn)(void *arg, const cowcat_change *changes, size_t n);

cowcat_code cowcat_subscribe(cowcat *db, cowcat_change_fn fn, void *arg,
                             cowcat_subscription **out, cowcat_error *err);

/* Stops a subscription; when it returns, fn is not running and will not run. */
void cowcat_unsubscribe(cowcat_subscription *sub);

/* --- checks ------------------------------------------------------------------------ */

/*
 * Full consistency check of the published version (O(n)): every index of
 * the catalog against the objects, dependencies in both directions, owners,
 * counts and limits, every stored create_sql re-parses, and the tables are
 * exactly the data shards registered with txn-wal. Returns COWCAT_OK, or
 * COWCAT_CORRUPT with the first violation in err.
 */
cowcat_code cowcat_check(cowcat *db, cowcat_error *err);

/*
 * Can the handle still serve? COWCAT_OK, or why not — for good, until it is
 * closed and the data directory reopened:
 *   COWCAT_IO (58030)     a write to the log failed and could not be undone
 *                         (e.g. the failed frame could not be truncated away), so
 *                         disk may hold a transaction that memory does not;
 *   COWCAT_FENCED (25006) a newer writer opened the data directory.
 * A broken handle refuses every statement and snapshot with that error, so it
 * never serves a catalog that may disagree with disk; reopening recovers from
 * the log. (A write that failed and was undone — a full disk, an fdatasync
 * error whose frame was truncated away — fails only its own statement: the
 * handle stays healthy.) O(1); thread-safe.
 */
cowcat_code cowcat_health(cowcat *db, cowcat_error *err);

/* --- table frontiers (txn-wal) ------------------------------------------------------ */

/*
 * Every table has a data shard registered with txn-wal when it is created
 * (in the CREATE's own durable write) and forgotten when it is dropped. Its
 * frontier ("upper": times below it are complete) is max(the shard's own
 * upper, txn-wal's upper), and every durable commit advances txn-wal's
 * upper by one — so one commit advances the frontier of every table, with
 * no work per table. *upper gets the frontier of the table with that OID.
 * O(1). Errors: NOT_FOUND (42P01: no table with that OID), INVALID.
 */
cowcat_code cowcat_table_upper(cowcat *db, uint32_t oid, uint64_t *upper, cowcat_error *err);

/* --- statistics ------------------------------------------------------------------ */

/*
 * A histogram: buckets[i] counts the observations v with
 * bounds[i-1] < v <= bounds[i] (bounds from cowcat_duration_bounds or
 * cowcat_group_size_bounds; the last bucket has no upper bound). Not
 * cumulative. Counts are read without stopping writers, so count and the
 * bucket sum may differ by the observations in flight.
 */
#define COWCAT_HIST_BUCKETS 20
typedef struct cowcat_histogram {
    uint64_t count;
    uint64_t sum; /* nanoseconds (durations) or statements (group sizes) */
    uint64_t buckets[COWCAT_HIST_BUCKETS];
} cowcat_histogram;

/*
 * The phases of a DDL statement: parse (libpg_query), plan (name
 * resolution, privileges, types: everything of the statement's handler but
 * its catalog ops), transact (the catalog ops: ids, names, dependencies),
 * commit (limits, change list and the durable write: one per group or
 * block) and publish (the new version made visible, subscribers told).
 * commit and publish are observed once per durable commit.
 */
typedef enum cowcat_phase {
    COWCAT_PHASE_PARSE = 0,
    COWCAT_PHASE_PLAN,
    COWCAT_PHASE_TRANSACT,
    COWCAT_PHASE_COMMIT,
    COWCAT_PHASE_PUBLISH,
    COWCAT_NPHASES,
} cowcat_phase;

/* "parse", "plan", "transact", "commit", "publish". */
const char *cowcat_phase_name(cowcat_phase p);

/* The COWCAT_HIST_BUCKETS - 1 finite upper bounds of the duration buckets,
 * in nanoseconds (1 us ... 1 s), and of the group-size buckets (1 ... 1024). */
const uint64_t *cowcat_duration_bounds(void);
const uint64_t *cowcat_group_size_bounds(void);

typedef struct cowcat_stats {
    uint64_t statements;    /* statements executed */
    uint64_t ddl;           /* DDL statements that committed */
    uint64_t commits;       /* durable commits (one per group or block) */
    uint64_t groups;        /* group commits of single statements */
    uint64_t max_group;     /* largest group so far */
    uint64_t objects;       /* objects in the published version */
    cowcat_histogram phase[COWCAT_NPHASES]; /* per-phase durations of DDL */
    cowcat_histogram group_size;            /* statements per group commit */
    uint64_t ablated[COWCAT_NABLATIONS];    /* runs of each ablated O(n) path (0 unless ablated) */
    uint64_t tables_registered; /* tables whose data shard is registered with txn-wal */
    uint64_t txns_upper;        /* txn-wal's upper: no table's frontier is below it */
} cowcat_stats;

void cowcat_stats_get(cowcat *db, cowcat_stats *out);

#ifdef __cplusplus
}
#endif

#endif
