/*
 * persist/src/wal_int.h — what wal.c (open, recovery, replay, close) and
 * wal_append.c (group commit, rotation, rollups) share: the handle, the
 * on-disk constants (the format is drawn in wal.c) and a few I/O helpers.
 *
 * Locking: mu protects the queue, `writing`, the poison state and rollup_mark.
 * The "writer token" (writing == 1) gives its holder — a group-commit leader or
 * rollup_begin — exclusive use of the seg_* fields and buf without mu held;
 * it is taken and released under mu. On release only the next leader (the
 * queue's head, through its unit's state) and any token_take callers (on the
 * shared cv) are woken; the units of a finished group are completed and woken
 * one by one without mu (see wal_append.c), so a group of k appenders costs k
 * wakeups and no convoy on mu. Stats are updated with relaxed atomics (they order nothing).
 */
#ifndef COWCAT_PERSIST_WAL_INT_H
#define COWCAT_PERSIST_WAL_INT_H

#include <limits.h>
#include <pthread.h>
#include <stdint.h>

#include "wal.h"

#define WAL_SEG_MAGIC    0x4c574343u /* "CCWL" little-endian */
#define WAL_FRAME_MAGIC  0x46574343u /* "CCWF" */
#define WAL_ROLLUP_MAGIC 0x52574343u /* "CCWR" */
#define WAL_VERSION      1u
#define WAL_SEG_HDR      16u /* [u32 magic][u32 version][u64 seq] */
#define WAL_FRAME_HDR    16u /* [u32 magic][u32 payload len][u64 XXH3-64 of payload] */
#define WAL_ROLLUP_HDR   32u /* [u32 magic][u32 version][u64 mark][u64 body len][u64 XXH3] */
#define WAL_GROUP_SOFT   (16u << 20) /* a leader stops adding units past this payload size */

/* An appender's unit, on its stack while it waits in persist_wal_append. */
typedef struct wal_unit {
    const persist_wal_rec *recs; /* borrowed from the appender */
    size_t n;                    /* number of records */
    size_t bytes;                /* encoded size: 4 + sum(4 + len) */
    struct wal_unit *next;       /* queue link */
    int state;                   /* atomic UNIT_WAITING / UNIT_LEAD / UNIT_DONE (wal_append.c);
                                    its owner sleeps on it with a futex */
    int queued;                  /* in the queue (under mu); 0 once a leader detached it */
    cc_code code;                /* result, valid once done */
    cc_err *err;                 /* appender's err (may be NULL); filled by the leader */
} wal_unit;

struct persist_wal {
    const persist_io *io;          /* the I/O hook */
    persist_durability durability; /* FSYNC or NONE */
    uint64_t segment_bytes;        /* rotation threshold */
    char dir[PATH_MAX - 64];       /* data directory path (room left for file names) */
    int dir_fd;                    /* open directory, for fsync */
    int lock_fd;                   /* LOCK file holding the flock */

    /* Owned by the holder of the writer token. */
    int seg_fd;              /* current (last) segment, O_RDWR */
    uint64_t seg_seq;        /* its number; stored atomically (rollup_write reads it) */
    uint64_t seg_end;        /* offset of the next frame == valid length */
    char seg_path[PATH_MAX]; /* its path, for messages */
    unsigned char *buf;      /* frame encoding buffer */
    size_t buf_cap;          /* its capacity */

    pthread_mutex_t mu;              /* see the file comment */
    pthread_cond_t cv;               /* token_take callers wait here for the token */
    int token_waiters;               /* how many of them */
    int writing;                     /* the writer token is taken */
    wal_unit *head, *tail;           /* units waiting for a leader */
    size_t nqueued;                  /* units in the queue */
    size_t last_group;               /* units in the last group flushed */
    int poisoned;                    /* a failed write could not be undone */
    char poison_msg[CC_ERR_MSG_MAX]; /* why; reported by every later call */
    int appended;                    /* an append has started: replay is over */
    uint64_t rollup_mark;            /* mark of the installed rollup, 0 = none */

    pthread_mutex_t rollup_mu; /* serialises persist_wal_rollup_write */

    /* Recovery results, consumed by replay (which precedes appends). */
    uint64_t replay_first;      /* first segment to replay */
    uint64_t replay_last;       /* last segment to replay (== seg_seq at open) */
    uint64_t replay_last_end;   /* valid length of replay_last */
    unsigned char *rollup_body; /* verified body of the latest rollup, or NULL */
    size_t rollup_len;          /* its length */
    int replayed;               /* replay has run */

    /* PERSIST_WAL_READ_ONLY: the segments as read at open (replay reads them from here). */
    int read_only;
    struct wal_ro_seg *ro; /* nro segments from replay_first on, in order */
    size_t nro;

    persist_wal_stats stats; /* relaxed atomics */
};

/* A segment read by a read-only open: its bytes up to the last whole frame. */
typedef struct wal_ro_seg {
    uint64_t seq;
    unsigned char *buf;
    size_t end;
} wal_ro_seg;

static inline void
wal__put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static inline void
wal__put64(unsigned char *p, uint64_t v)
{
    wal__put32(p, (uint32_t)v);
    wal__put32(p + 4, (uint32_t)(v >> 32));
}

static inline uint32_t
wal__get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t
wal__get64(const unsigned char *p)
{
    return (uint64_t)wal__get32(p) | (uint64_t)wal__get32(p + 4) << 32;
}

static inline void
wal__stat_add(uint64_t *counter, uint64_t n)
{
    __atomic_fetch_add(counter, n, __ATOMIC_RELAXED);
}

/*
 * Records `could not <what> "<path>": <strerror(errnum)>` as CC_IO with SQLSTATE
 * 53100 (disk_full) for ENOSPC / EDQUOT and 58030 (io_error) otherwise; returns CC_IO.
 */
cc_code persist__wal_io_error(cc_err *err, const char *what, const char *path, int errnum);

/* Formats DIR/log-<seq>.wal into out (PATH_MAX bytes). */
void persist__wal_seg_path(const persist_wal *wal, uint64_t seq, char *out);

/* Formats DIR/rollup-<mark><suffix> into out (PATH_MAX bytes). */
void persist__wal_rollup_path(const persist_wal *wal, uint64_t mark, const char *suffix, char *out);

/*
 * Removes rollup temp files, rollups older than mark and segments older than
 * mark, then fsyncs the directory if anything went. Used by open (mark = the
 * latest rollup) and by rollup_write after installing a rollup (holding
 * rollup_mu, so no temp file is being written).
 */
cc_code persist__wal_remove_old(persist_wal *wal, uint64_t mark, cc_err *err);

/*
 * Writes all n bytes of p at offset off of fd (path for messages). A short
 * write is an error, as in PostgreSQL: on a regular file it means the disk is
 * full, and the caller undoes the partial write.
 */
cc_code persist__wal_write_all(persist_wal *wal, int fd, const void *p, size_t n, uint64_t off,
                               const char *path, cc_err *err);

/* fsyncs the data directory (a no-op with durability NONE). */
cc_code persist__wal_sync_dir(persist_wal *wal, cc_err *err);

/*
 * Creates (or truncates) segment seq with its header, syncs it and the
 * directory, and returns its fd. On failure the file is removed again; if that
 * removal fails, returns CC_IO with *leftover set (the caller must not go on
 * writing the log as if the file did not exist).
 */
cc_code persist__wal_seg_create(persist_wal *wal, uint64_t seq, int *fd, int *leftover,
                                cc_err *err);

/* Releases rollup_body (called when replay is done or appends begin). */
void persist__wal_drop_rollup_body(persist_wal *wal);

#endif
