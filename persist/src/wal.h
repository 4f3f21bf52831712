/*
 * persist/src/wal.h — the file backend's write-ahead log (internal to persist).
 *
 * A persist_wal owns one data directory: an append-only sequence of
 * checksummed log segments plus at most one current rollup (a consolidated
 * snapshot written by the layer above). It knows nothing about shards: an
 * append is a list of opaque byte strings ("records") that become durable
 * together as one "append unit", and a rollup is one opaque byte stream.
 *
 * Life cycle:
 *
 *   persist_wal_open      lock the directory, recover (truncate a torn tail,
 *                         report corruption), position at the end of the log
 *   persist_wal_replay    once, before the first append: the latest rollup (if
 *                         any), then every unit appended after it, in log order
 *   persist_wal_append    any number of threads at once; concurrent units are
 *                         group-committed (one write + one fdatasync per group)
 *   persist_wal_rollup_begin / persist_wal_rollup_write
 *                         replace the history before a mark by a snapshot
 *   persist_wal_close
 *
 * Guarantees: a unit for which append returned CC_OK (with FSYNC durability)
 * survives any crash and is replayed exactly once; a unit is replayed with all
 * of its records or not at all; a unit whose append failed is never replayed
 * after reopen unless the wal reported itself unusable ("poisoned"), in which
 * case it may or may not be. Units are replayed in the order the log acknowledged
 * them; units acknowledged concurrently have no order among themselves.
 * See wal.c for the on-disk format.
 */
#ifndef COWCAT_PERSIST_WAL_H
#define COWCAT_PERSIST_WAL_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "persist/io.h"

/* When an append is acknowledged. */
typedef enum persist_durability {
    PERSIST_DURABILITY_FSYNC, /* fdatasync before append returns; fsync dirs (default) */
    PERSIST_DURABILITY_NONE,  /* never sync; for benchmarks (survives kill -9, not power loss) */
} persist_durability;

#define PERSIST_WAL_SEGMENT_BYTES_DEFAULT (64u << 20)
#define PERSIST_WAL_SEGMENT_BYTES_MIN     4096u

/* The largest encoded append unit (records + 4-byte lengths) the log accepts. */
#define PERSIST_WAL_UNIT_MAX (1u << 30)

/*
 * Who opens the log. WRITER: locks the directory, recovers (truncates a torn
 * tail, removes garbage), appends. READ_ONLY: a reader beside a live writer
 * (or none): no lock, nothing created, removed or truncated; it reads the
 * latest rollup and the segments after it as they are (the last one up to
 * its last whole frame, so a frame being written is not seen), retrying if
 * a concurrent rollup removes files meanwhile. The units it replays are a
 * prefix of the log; appends and rollups fail.
 */
typedef enum persist_wal_access {
    PERSIST_WAL_WRITER = 0,
    PERSIST_WAL_READ_ONLY = 1,
} persist_wal_access;

/* Open options; a zeroed struct (or NULL) gives the defaults. */
typedef struct persist_wal_opts {
    const persist_io *io;          /* borrowed, must outlive the wal; NULL = persist_io_default() */
    persist_durability durability; /* default PERSIST_DURABILITY_FSYNC */
    uint64_t segment_bytes;        /* rotate once a segment would exceed this; 0 = 64 MiB */
    persist_wal_access access;     /* default PERSIST_WAL_WRITER */
} persist_wal_opts;

/* One record of an append unit: len bytes at data (data may be NULL when len == 0). */
typedef struct persist_wal_rec {
    const void *data;
    size_t len;
} persist_wal_rec;

/* What a replay callback is given. */
typedef enum persist_wal_kind {
    PERSIST_WAL_ROLLUP, /* the latest rollup's body, as one record */
    PERSIST_WAL_APPEND, /* one append unit, all of its records */
} persist_wal_kind;

/*
 * Replay callback: recs[0..n) are valid only during the call (the bytes live in
 * the wal's read buffer). Return CC_OK to continue; any other code stops the
 * replay, which returns that code (fill err to explain).
 */
typedef cc_code (*persist_wal_replay_fn)(void *arg, persist_wal_kind kind,
                                         const persist_wal_rec *recs, size_t n, cc_err *err);

/* Where a rollup writer streams its bytes (see persist_wal_rollup_write). */
typedef struct persist_wal_sink persist_wal_sink;

/* Rollup writer: emits the whole snapshot through persist_wal_sink_write. */
typedef cc_code (*persist_wal_rollup_fn)(void *arg, persist_wal_sink *sink, cc_err *err);

/* Counters since open, for benchmarks and tests. */
typedef struct persist_wal_stats {
    uint64_t bytes_written; /* frame bytes written to segments (headers included) */
    uint64_t appends;       /* units acknowledged */
    uint64_t groups;        /* frames written: one per group commit */
    uint64_t fsyncs;        /* fdatasync and directory fsync calls */
    uint64_t segments;      /* segments created */
    uint64_t rollups;       /* rollups installed */
} persist_wal_stats;

typedef struct persist_wal persist_wal;

/*
 * Opens (creating if missing: mkdir + fsync of the parent) the data directory
 * dir, takes its exclusive lock and recovers the log: a torn tail of the last
 * segment is truncated to the last complete frame; leftovers of an interrupted
 * rollup are removed; the latest rollup's body is read and verified.
 * Returns CC_OK and *out (free with persist_wal_close); CC_IO when the
 * directory is locked (`data directory "DIR" is in use by pid N`) or an I/O
 * call fails; CC_CORRUPT when a checksum or format check fails anywhere but in
 * a torn tail (`invalid record in file "F" at offset N`); CC_INVALID for bad
 * arguments; CC_NOMEM. dir and opts are borrowed.
 */
cc_code persist_wal_open(const char *dir, const persist_wal_opts *opts, persist_wal **out,
                         cc_err *err);

/*
 * Calls fn for the latest rollup (kind ROLLUP, once, if there is one), then for
 * each append unit recovered after it (kind APPEND), in log order.
 * Allowed once, before the first append; CC_INVALID otherwise. Returns fn's
 * failure code, CC_IO / CC_CORRUPT if the log cannot be read back, CC_NOMEM.
 * Not thread-safe: no other call on wal may run concurrently.
 */
cc_code persist_wal_replay(persist_wal *wal, persist_wal_replay_fn fn, void *arg, cc_err *err);

/*
 * Appends one unit of n records (recs borrowed for the call) and returns once
 * it is durable (FSYNC) or written (NONE). Thread-safe: concurrent callers are
 * group-committed — the first to find no flush in progress writes every queued
 * unit as one frame with one pwrite and one fdatasync and then wakes the rest.
 * Errors: CC_INVALID (unit larger than PERSIST_WAL_UNIT_MAX); CC_NOMEM; CC_IO
 * when the group's write or fdatasync fails — every unit of the group fails, the
 * segment is truncated back to the group's start and synced; if that repair
 * fails too the wal is poisoned and every later append / rollup fails with
 * CC_IO until it is closed and reopened.
 */
cc_code persist_wal_append(persist_wal *wal, const persist_wal_rec *recs, size_t n, cc_err *err);

/*
 * Starts a rollup: rotates to a fresh segment and sets *mark to its sequence
 * number, so every unit acknowledged before this call returns lies in segments
 * older than *mark and every later one in *mark or newer. The caller must hold
 * its own lock across this call and the capture of its state snapshot, so that
 * the snapshot contains exactly the units acknowledged before the mark.
 * Thread-safe with appends. Errors: CC_IO (also when poisoned), CC_NOMEM.
 */
cc_code persist_wal_rollup_begin(persist_wal *wal, uint64_t *mark, cc_err *err);

/*
 * Writes the rollup for mark: fn streams the snapshot through
 * persist_wal_sink_write into "rollup-<mark>.tmp", which is synced, renamed to
 * "rollup-<mark>" and made durable with a directory fsync; then segments older
 * than mark and older rollups are deleted. On any failure before the rename the
 * temporary file is removed and the previous rollup and segments stay intact.
 * Appends may run concurrently; rollup writes are serialised among themselves.
 * The rollup body is read back whole (one buffer) by the replay after a reopen.
 * Errors: CC_INVALID (mark beyond the current segment, or not newer than the
 * installed rollup), CC_IO (also when the rollup was installed but old files
 * could not be removed; the next rollup or open removes them), CC_NOMEM, or
 * fn's code. A failure after the rename leaves either the old or the new
 * rollup in effect; both describe the same state.
 */
cc_code persist_wal_rollup_write(persist_wal *wal, uint64_t mark, persist_wal_rollup_fn fn,
                                 void *arg, cc_err *err);

/* Appends n bytes at p to the rollup being written. CC_IO / CC_NOMEM on failure. */
cc_code persist_wal_sink_write(persist_wal_sink *sink, const void *p, size_t n, cc_err *err);

/* Copies the counters into *out. Thread-safe. */
void persist_wal_stats_get(persist_wal *wal, persist_wal_stats *out);

/*
 * CC_OK while the log can still acknowledge appends; CC_IO with the reason once
 * it is poisoned (a failed write could not be undone, so memory may disagree
 * with disk until a reopen recovers). A read-only log is healthy. Thread-safe.
 */
cc_code persist_wal_health(persist_wal *wal, cc_err *err);

/*
 * Closes the segment files and releases the directory lock; frees wal (NULL is
 * a no-op). No other call on wal may be in progress or follow.
 */
void persist_wal_close(persist_wal *wal);

#endif
