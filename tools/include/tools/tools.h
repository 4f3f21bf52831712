/*
 * tools/tools.h — the core of the `cowcat` command-line tool as a library:
 * dumps (write, read), restore, and read-only access to a data directory
 * (check, stats), plus psql-style output of SQL results. tools/src/main.c
 * is the CLI on top; tests call these functions directly.
 *
 * Data directories are read directly, not through a server: the file
 * backend of persist/ locks its directory exclusively (one process), so
 * dump, check and stats fail with `data directory "D" is in use by pid N`
 * while a writer has it open. They open it read-only: persist recovery
 * (which may truncate a torn log tail, as any open does), then a read-only
 * durable catalog that never appends — no fence bump, no bootstrap — with
 * names external, as a writer under a catalog runs it (the catalog checks
 * names).
 *
 * Dump file (proto/dump.proto has the header message):
 *
 *   [varint n][DumpHeader]                  magic, versions, upper, counts,
 *                                           body length, XXH3-128 of the body,
 *                                           its own checksum; padded to 4096
 *                                           bytes
 *   [varint n][StateUpdateKind] ...         the body: one entry per durable
 *                                           (key, value), in (collection tag,
 *                                           encoded key) order
 *
 * An entry is built from the stored encoded key and value without decoding
 * them, so the same catalog version always gives the same bytes:
 *
 *   [tag: field coll, LEN][len][0x0a][klen][key bytes][0x12][vlen][value bytes]
 *
 * What a dump holds: every durable collection except fence_token (the
 * writers' fence is the data directory's, not the catalog's: a restored
 * catalog starts a fresh one at its first writable open) and, by default,
 * the audit log (history, not state; TOOLS_DUMP_WITH_AUDIT_LOG keeps it).
 * ID allocators are in it, so a restored catalog never reuses an id.
 *
 * Errors: a bad dump is CORRUPT (XX001) or INVALID (22023: not a dump, a
 * newer format) with a message naming what and where; file errors are IO
 * (58030) naming the path.
 */
#ifndef COWCAT_TOOLS_TOOLS_H
#define COWCAT_TOOLS_TOOLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/err.h"
#include "catalog/catalog.h"
#include "cowcat.h"
#include "durable/durable.h"
#include "persist/persist.h"
#include "proto/dump.pb-c.h"

#define TOOLS_DUMP_MAGIC          "cowcat-dump"
#define TOOLS_DUMP_FORMAT_VERSION 1u
#define TOOLS_DUMP_HEADER_MAX     (1u << 20) /* a header longer than this is not one */
#define TOOLS_DUMP_HEADER_BYTES   4096u /* what a writer pads its header to (prefix included) */

/* cowcat's version, "0.1.0" (the CMake project version). */
const char *tools_version(void);

/*
 * Progress report: phase ("dump", "restore: write", ...), done of total
 * units (entries). Called now and then, and once with done == total.
 */
typedef void (*tools_progress_fn)(void *arg, const char *phase, uint64_t done, uint64_t total);

/* --- data directories (datadir.c) --------------------------------------------------- */

typedef struct tools_datadir tools_datadir;

/* What to load when opening a data directory read-only. */
typedef enum tools_open_kind {
    TOOLS_OPEN_PERSIST = 0, /* the persist client and the catalog shard (dump reads its trace) */
    TOOLS_OPEN_DURABLE = 1, /* + the durable catalog, read-only, names external */
    TOOLS_OPEN_CATALOG = 2, /* + the in-memory catalog over it (cat_open) */
} tools_open_kind;

/*
 * Opens data directory dir read-only. Nothing is created: a missing
 * directory is NOT_FOUND (`data directory "D" does not exist`), one without
 * a persist log INVALID (`... is not a cowcat data directory`), one whose
 * log has no catalog INVALID; a directory another process holds is IO
 * (`... is in use by pid N`, with a HINT). Errors also: CORRUPT, NOMEM.
 */
cc_code tools_datadir_open(const char *dir, tools_open_kind kind, tools_datadir **out, cc_err *err);
void tools_datadir_close(tools_datadir *d);

/* Whether directory dir holds a persist log (a log segment or a rollup). */
bool tools_datadir_exists(const char *dir);

/* The durable catalog (DURABLE, CATALOG), else NULL; borrowed, valid until close. */
dur_catalog *tools_datadir_durable(tools_datadir *d);
/* The catalog (CATALOG), else NULL. */
cat_catalog *tools_datadir_catalog(tools_datadir *d);
/* The persist client and the catalog's shard (borrowed). */
persist_client *tools_datadir_client(tools_datadir *d);
persist_shard *tools_datadir_shard(tools_datadir *d);

/* --- writing a dump (dump_write.c) ------------------------------------------------- */

/* One entry of a dump: views into the dump's bytes (or the caller's). */
typedef struct tools_dump_entry {
    dur_collection coll;
    pmap_bytes key;   /* the encoded <Collection>Key */
    pmap_bytes value; /* the encoded <Collection>Value */
} tools_dump_entry;

/* What a dump holds beyond the catalog state. */
typedef enum tools_dump_content {
    TOOLS_DUMP_CATALOG = 0,        /* every collection but fence_token and audit_log */
    TOOLS_DUMP_WITH_AUDIT_LOG = 1, /* ... and the audit log */
} tools_dump_content;

typedef struct tools_dump_options {
    tools_dump_content content;
    tools_progress_fn progress; /* may be NULL */
    void *progress_arg;
} tools_dump_options;

typedef struct tools_dump_summary {
    uint64_t entries; /* entries in the body */
    uint64_t bytes;   /* file size */
    uint64_t upper;   /* the upper the dump is exact for */
} tools_dump_summary;

/*
 * Writes a dump of d's catalog (any open kind) to fd (not closed; written
 * with write(2) from the current position). The dump is of one version: an
 * O(1) view of the catalog shard's consolidated trace, which is already in
 * dump order (tagged key order). Two passes over it: the first computes
 * counts, length and checksum for the header, the second writes (and must
 * give the same checksum, else INTERNAL). o and sum may be NULL. Errors:
 * IO (fd), NOMEM, CORRUPT (a malformed or retracted shard entry, no format
 * version), INTERNAL.
 */
cc_code tools_dump_write_fd(tools_datadir *d, const tools_dump_options *o, int fd,
                            tools_dump_summary *sum, cc_err *err);

/*
 * Dumps data directory data_dir to path ("-": standard output). A file is
 * written as path.tmp-PID, fsynced and renamed over path: on failure path is
 * untouched and the temporary file removed. Errors: as tools_datadir_open
 * and tools_dump_write_fd.
 */
cc_code tools_dump_to_path(const char *data_dir, const char *path, const tools_dump_options *o,
                           tools_dump_summary *sum, cc_err *err);

/*
 * Packs header h with its length prefix into a new buffer (*out, free with
 * cc_free()): padding to TOOLS_DUMP_HEADER_BYTES (when the fields leave
 * room), then header_xxh3_64 over the rest; both are set in h (padding
 * cleared again on return). Every writer packs its header here; tests and
 * the fuzzer use it to make dumps. Errors: NOMEM.
 */
cc_code tools_dump_header_pack(Cowcat__Dump__DumpHeader *h, uint8_t **out, size_t *len,
                               cc_err *err);

/* What tools_dump_encode writes into the header beyond what it computes. */
typedef struct tools_dump_encode_options {
    uint32_t format_version;         /* 0: TOOLS_DUMP_FORMAT_VERSION */
    uint32_t catalog_format_version; /* 0: DUR_FORMAT_VERSION */
    uint64_t upper;
    tools_dump_content content; /* TOOLS_DUMP_WITH_AUDIT_LOG sets the header's audit_log */
} tools_dump_encode_options;

/*
 * Encodes entries[0..n), in the given order and unchecked, as a dump file in
 * a new buffer (*out, free with cc_free()): header counts, body length and both
 * checksums are computed from exactly these bytes. Tests and the fuzzer
 * build bad dumps with it. o may be NULL. Errors: NOMEM.
 */
cc_code tools_dump_encode(const tools_dump_entry *entries, size_t n,
                          const tools_dump_encode_options *o, uint8_t **out, size_t *len,
                          cc_err *err);

/* --- reading a dump (dump_read.c) -------------------------------------------------- */

typedef struct tools_dump {
    Cowcat__Dump__DumpHeader *header; /* decoded */
    const uint8_t *data;              /* the whole file */
    size_t len;
    size_t header_bytes;       /* length prefix + header: the body starts here */
    tools_dump_entry *entries; /* n, in file order */
    size_t n;
    uint64_t counts[DUR_NCOLL]; /* entries per collection */
    uint64_t kinds[CAT_NKIND];  /* objects per kind, recounted from the body */
    uint8_t *owned;             /* the buffer data points into, if the dump owns it */
} tools_dump;

/*
 * Parses and verifies a dump in data[0..len) (borrowed: must outlive *out).
 * In order: the header (length, magic, format version — newer is refused —,
 * catalog format version), the body's length and XXH3-128, then every
 * entry: well-formed framing, a known collection, never a fence token, the
 * audit log only if the header says so, keys decoding to themselves
 * (canonical), values well-formed, (collection, key) strictly increasing —
 * so no key twice —, counts equal to the header's, the catalog format
 * version entry equal to the header's, and each id allocator past the
 * largest user id of its collection. The catalog's own consistency
 * (dependencies, names, OIDs) is checked by restore, after loading.
 * Errors: INVALID (not a dump, newer version), CORRUPT (everything else),
 * NOMEM; the message names the entry (index and byte offset).
 */
cc_code tools_dump_parse(const void *data, size_t len, tools_dump **out, cc_err *err);

/* As tools_dump_parse, reading the whole file at path ("-": standard input). Errors: + IO. */
cc_code tools_dump_load(const char *path, tools_dump **out, cc_err *err);

void tools_dump_free(tools_dump *d);

/* "databases", "items", ... or "?" (dur_collection_name, defined for every tag). */
const char *tools_collection_name(dur_collection coll);

/* --- restore (restore.c) --------------------------------------------------------- */

/* What restore may do to an existing data directory. */
typedef enum tools_restore_target {
    TOOLS_RESTORE_NEW = 0,     /* only a missing or empty directory */
    TOOLS_RESTORE_REPLACE = 1, /* replace a non-empty one (--force); never one in use */
} tools_restore_target;

typedef struct tools_restore_options {
    tools_restore_target target;
    persist_sync sync;          /* PERSIST_SYNC_FSYNC (default) or NONE (benchmarks) */
    tools_progress_fn progress; /* may be NULL */
    void *progress_arg;
    /*
     * NULL (default): the checked catalog is closed before tools_restore
     * returns. Otherwise, on success, *loaded gets it instead (still open,
     * read-only; its files were renamed into data_dir, so only close it):
     * a program that exits right after may leave it to the exit rather
     * than free a million objects one by one (the CLI does, see main.c).
     */
    tools_datadir **loaded;
} tools_restore_options;

typedef struct tools_restore_summary {
    uint64_t entries; /* entries written */
    uint64_t appends; /* durable writes (compare_and_appends with entries) */
    uint64_t upper;   /* the restored catalog's upper (the dump's when possible) */
} tools_restore_summary;

/*
 * Restores dump d (already verified by tools_dump_parse) into data_dir.
 * Builds the catalog in a new directory next to it (".NAME.restore-PID"):
 * the entries go in as raw durable updates, in one durable write (bounded
 * batches only beyond 1 GiB) ending at the dump's upper when it is large
 * enough, then one rollup; then the catalog is loaded read-only and checked
 * in full (tools_check: dur_snapshot_check, cat_check, every create_sql
 * re-parsed; counts equal to the dump's); only then is it renamed into
 * place. On any failure
 * the new directory is removed and data_dir is as it was. The fence token
 * is left out: the first writable open starts a fresh one. o and sum may
 * be NULL. Errors: EXISTS (data_dir not empty and not REPLACE, with a
 * HINT), IO (in use, file errors), CORRUPT (the check failed), NOMEM.
 */
cc_code tools_restore(const tools_dump *d, const char *data_dir, const tools_restore_options *o,
                      tools_restore_summary *sum, cc_err *err);

/* --- check (check.c) ---------------------------------------------------------------- */

/*
 * The create_sql re-parse hook for cat_check (cat_parse_fn): the statement
 * must be exactly one statement PostgreSQL's grammar accepts (libpg_query's
 * parser, without building a parse tree). Errors: PARSE.
 */
cc_code tools_check_parse(void *arg, const char *create_sql, cc_err *err);

/* One finding of a check; borrowed for the call. */
typedef void (*tools_finding_fn)(void *arg, const char *what, const cc_err *finding);

/*
 * Runs the full consistency check of d (opened TOOLS_OPEN_DURABLE, or
 * CATALOG): loading the catalog if it is not loaded yet (every value
 * decodes), the durable snapshot (dur_snapshot_check), the catalog
 * (cat_check), every create_sql re-parsed (tools_check_parse) and the audit
 * log (every event decodes); on two threads (check.c). Calls fn for each
 * failing check ("load", "durable", "catalog", "create_sql", "audit log");
 * *nfindings gets their number. Returns CC_OK when the checks ran (findings
 * or not); errors: INVALID (opened TOOLS_OPEN_PERSIST), NOMEM.
 */
cc_code tools_check(tools_datadir *d, tools_finding_fn fn, void *arg, size_t *nfindings,
                    cc_err *err);

/* --- stats (stats.c) ------------------------------------------------------------------ */

typedef struct tools_schema_stats {
    char database[64]; /* "" for the builtin (ambient) schemas */
    char schema[64];
    uint64_t kinds[CAT_NKIND]; /* items per kind */
} tools_schema_stats;

typedef struct tools_stats {
    uint64_t kinds[CAT_NKIND];   /* objects per kind (cat_state_count) */
    tools_schema_stats *schemas; /* nschemas, sorted by (database, schema) */
    size_t nschemas;
    uint64_t entries[DUR_NCOLL]; /* durable entries per collection (audit log: counted) */
    uint64_t value_bytes;        /* bytes of every encoded key and value in the snapshot */
    uint64_t upper;
    dur_fence fence;
    uint64_t dir_bytes; /* every file in the data directory */
    uint64_t log_bytes; /* log-*.wal segments */
    uint64_t log_segments;
    uint64_t rollup_bytes;           /* rollup-* (the latest rollup) */
    uint64_t memory_bytes;           /* heap grown by opening the catalog (see memory_method) */
    const char *memory_method;       /* how memory_bytes was measured */
    int64_t limits[CAT_NLIMIT];      /* in force */
    uint64_t limit_used[CAT_NLIMIT]; /* the largest count the limit applies to */
} tools_stats;

/*
 * Opens data_dir read-only (TOOLS_OPEN_CATALOG), measures and closes it.
 * Memory: the growth of the heap in use across the open (glibc mallinfo2:
 * persist trace + durable snapshot + catalog state — what a process
 * serving this catalog holds), or of the resident set when the allocator
 * does not report (sanitizer builds). Free with tools_stats_fini. Errors:
 * as tools_datadir_open, NOMEM, IO.
 */
cc_code tools_stats_collect(const char *data_dir, tools_stats *out, cc_err *err);
void tools_stats_fini(tools_stats *st);

/* --- SQL output (sql.c) ---------------------------------------------------------- */

typedef enum tools_sql_format {
    TOOLS_SQL_ALIGNED = 0, /* psql's aligned table, "(N rows)", command tags */
    TOOLS_SQL_CSV = 1,     /* a header line, then rows (RFC 4180 quoting) */
    TOOLS_SQL_JSON = 2,    /* one JSON array of row objects per result, one per line */
} tools_sql_format;

typedef struct tools_sql_output {
    tools_sql_format format;
    FILE *out; /* results */
    FILE *msg; /* NOTICEs and errors */
} tools_sql_output;

/*
 * Runs sql (one string, as psql -c sends it: several statements are one
 * implicit transaction) in session s and prints its results to o->out and
 * its notices and error (`ERROR:  SQLSTATE: message`, LINE and caret,
 * DETAIL, HINT) to o->msg. Returns the cowcat_exec code.
 */
cowcat_code tools_sql_exec(cowcat_session *s, const char *sql, const tools_sql_output *o);

/*
 * Splits a script into statements as psql sends them: at each ';' outside
 * quotes, comments and dollar quotes; text after the last ';' is a
 * statement too. Calls fn with each statement (NUL-terminated, borrowed for
 * the call) and its 1-based first line; a non-zero return stops. Returns
 * fn's first non-zero result, or 0.
 */
int tools_sql_split(const char *script, int (*fn)(void *arg, const char *stmt, int line),
                    void *arg);

#endif
