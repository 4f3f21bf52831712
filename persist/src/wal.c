/*
 * persist/src/wal.c — the log's on-disk format, open/recovery, replay, close.
 * Group commit, rotation and rollups are in wal_append.c.
 *
 * A data directory holds:
 *
 *   LOCK                      flock(LOCK_EX) by the owner, who writes its pid in it
 *   log-<seq, 16 hex>.wal     segments, seq = 1, 2, 3, ... with no gaps
 *   rollup-<mark, 16 hex>     the latest rollup: everything in segments < mark
 *   rollup-<mark>.tmp         a rollup being written (removed at open)
 *
 * Segment (all integers little-endian):
 *
 *   0        4          8               16
 *   +--------+----------+---------------+----------- ... ---+---- ...
 *   | "CCWL" | version  | seq (u64)     | frame              | frame
 *   +--------+----------+---------------+----------- ... ---+---- ...
 *
 * Frame (one per group commit; written with one pwrite, then fdatasync):
 *
 *   +--------+-------------+----------------------+-----------------------+
 *   | "CCWF" | payload len | XXH3-64 of payload   | payload (len bytes)   |
 *   | u32    | u32         | u64                  |                       |
 *   +--------+-------------+----------------------+-----------------------+
 *   payload = [u32 nunits] then per unit [u32 nrecs] then per record
 *             [u32 len][len bytes]
 *
 * Rollup file (written to .tmp, synced, renamed, directory fsynced):
 *
 *   +--------+---------+-----------+---------------+-----------------+------+
 *   | "CCWR" | version | mark u64  | body len u64  | XXH3-64 of body | body |
 *   +--------+---------+-----------+---------------+-----------------+------+
 *
 * Invariants:
 * - Frames are appended only to the last segment, and only by the holder of
 *   the writer token; a segment other than the last is never written again,
 *   so it must parse completely.
 * - With a rollup at mark m, every acknowledged unit is either reflected in
 *   the rollup (it was acknowledged before rollup_begin returned m) or lies in
 *   a segment >= m, never both. Segments < m are garbage.
 *
 * Recovery (persist_wal_open):
 * - The latest rollup must verify completely (length and checksum) or open
 *   fails with CC_CORRUPT; older rollups and segments below its mark are
 *   deleted; *.tmp files are deleted.
 * - Segments from the mark (or 1) on must be consecutive. Each non-last
 *   segment must parse completely. In the last segment, the first bad frame
 *   (short header, bad magic, cut short by EOF, checksum mismatch, zeros) is a
 *   torn tail if no valid frame follows it anywhere in the file: the segment is
 *   truncated there and synced. If a valid frame does follow, or the bad frame
 *   is in another segment, open fails with CC_CORRUPT naming file and offset.
 *   A frame whose checksum matches but whose payload does not parse is CORRUPT.
 * - A last segment shorter than its header (a crash during rotation) is
 *   rewritten as an empty segment.
 *
 * Read-only open (PERSIST_WAL_READ_ONLY; beside a live writer or none): no
 * LOCK, and nothing is created, removed, truncated or synced. The latest
 * rollup and every segment from its mark on are read into memory at open,
 * the last segment up to its first bad frame (a frame the writer is still
 * writing, or a torn tail the writer's next recovery will cut), so what is
 * replayed is a prefix of the acknowledged-or-in-flight units, cut at a
 * frame boundary. Segments are only ever appended to, so reading them one
 * after another still gives a prefix. A rollup of the writer may remove the
 * files being read (a new rollup replaces the old one and the segments
 * below its mark): the open then starts over, a few times. Appends and
 * rollups fail (the wal is marked poisoned with a read-only message).
 */
#include "wal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "base/alloc.h"
#include "base/assert.h"
#include "wal_int.h"

cc_code
persist__wal_io_error(cc_err *err, const char *what, const char *path, int errnum)
{
    char buf[128];
    const char *msg = strerror_r(errnum, buf, sizeof buf);
    /* A full disk or quota is 53100 disk_full, as in PostgreSQL; the rest 58030. */
    const char *state = errnum == ENOSPC || errnum == EDQUOT ? "53100" : "58030";
    return cc_err_set_state(err, CC_IO, state, "could not %s \"%s\": %s", what, path, msg);
}

void
persist__wal_seg_path(const persist_wal *wal, uint64_t seq, char *out)
{
    snprintf(out, PATH_MAX, "%s/log-%016" PRIx64 ".wal", wal->dir, seq);
}

void
persist__wal_rollup_path(const persist_wal *wal, uint64_t mark, const char *suffix, char *out)
{
    snprintf(out, PATH_MAX, "%s/rollup-%016" PRIx64 "%s", wal->dir, mark, suffix);
}

cc_code
persist__wal_sync_dir(persist_wal *wal, cc_err *err)
{
    if (wal->durability == PERSIST_DURABILITY_NONE)
        return CC_OK;
    wal__stat_add(&wal->stats.fsyncs, 1);
    if (wal->io->fsync(wal->io->ctx, wal->dir_fd) != 0)
        return persist__wal_io_error(err, "fsync directory", wal->dir, errno);
    return CC_OK;
}

cc_code
persist__wal_write_all(persist_wal *wal, int fd, const void *p, size_t n, uint64_t off,
                       const char *path, cc_err *err)
{
    ssize_t w = wal->io->pwrite(wal->io->ctx, fd, p, n, (off_t)off);
    if (w < 0)
        return persist__wal_io_error(err, "write to file", path, errno);
    if ((size_t)w != n) /* a short write is a full disk (PostgreSQL reads it so too) */
        return cc_err_set_state(err, CC_IO, "53100",
                                "could not write to file \"%s\": wrote only %zd of %zu bytes", path,
                                w, n);
    return CC_OK;
}

cc_code
persist__wal_seg_create(persist_wal *wal, uint64_t seq, int *out_fd, int *leftover, cc_err *err)
{
    char path[PATH_MAX];
    unsigned char hdr[WAL_SEG_HDR];
    cc_code rc;
    *leftover = 0;
    persist__wal_seg_path(wal, seq, path);
    int fd = wal->io->open(wal->io->ctx, path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return persist__wal_io_error(err, "create file", path, errno);
    wal__put32(hdr, WAL_SEG_MAGIC);
    wal__put32(hdr + 4, WAL_VERSION);
    wal__put64(hdr + 8, seq);
    if ((rc = persist__wal_write_all(wal, fd, hdr, sizeof hdr, 0, path, err)) != CC_OK)
        goto fail;
    if (wal->durability == PERSIST_DURABILITY_FSYNC) {
        wal__stat_add(&wal->stats.fsyncs, 1);
        if (wal->io->fdatasync(wal->io->ctx, fd) != 0) {
            rc = persist__wal_io_error(err, "fdatasync file", path, errno);
            goto fail;
        }
    }
    if ((rc = persist__wal_sync_dir(wal, err)) != CC_OK)
        goto fail;
    wal__stat_add(&wal->stats.segments, 1);
    *out_fd = fd;
    return CC_OK;
fail:
    /* Remove the half-made segment so that it cannot become the "last" one. */
    wal->io->close(wal->io->ctx, fd);
    if (wal->io->unlink(wal->io->ctx, path) != 0 && errno != ENOENT)
        *leftover = 1;
    return rc;
}

void
persist__wal_drop_rollup_body(persist_wal *wal)
{
    cc_free(wal->rollup_body);
    wal->rollup_body = NULL;
    wal->rollup_len = 0;
}

/* Reads the whole file at fd (size bytes) into a new buffer *out (cc_free it). */
static cc_code
read_file(persist_wal *wal, int fd, size_t size, const char *path, unsigned char **out, cc_err *err)
{
    unsigned char *buf = cc_malloc(size ? size : 1);
    if (buf == NULL)
        return cc_err_set(err, CC_NOMEM, "out of memory reading file \"%s\" (%zu bytes)", path,
                          size);
    size_t got = 0;
    while (got < size) {
        ssize_t r = wal->io->pread(wal->io->ctx, fd, buf + got, size - got, (off_t)got);
        if (r < 0) {
            int e = errno;
            cc_free(buf);
            return persist__wal_io_error(err, "read file", path, e);
        }
        if (r == 0) {
            cc_free(buf);
            return cc_err_set(err, CC_IO, "could not read file \"%s\": unexpected end of file",
                              path);
        }
        got += (size_t)r;
    }
    *out = buf;
    return CC_OK;
}

static cc_code
file_size(persist_wal *wal, int fd, const char *path, size_t *size, cc_err *err)
{
    struct stat st;
    if (wal->io->fstat(wal->io->ctx, fd, &st) != 0)
        return persist__wal_io_error(err, "stat file", path, errno);
    *size = (size_t)st.st_size;
    return CC_OK;
}

/* Returns 1 when a complete frame with a matching checksum starts at off. */
static int
frame_ok(const unsigned char *buf, size_t size, size_t off, uint32_t *len)
{
    if (size - off < WAL_FRAME_HDR || wal__get32(buf + off) != WAL_FRAME_MAGIC)
        return 0;
    uint32_t n = wal__get32(buf + off + 4);
    if (n > size - off - WAL_FRAME_HDR)
        return 0;
    if (XXH3_64bits(buf + off + WAL_FRAME_HDR, n) != wal__get64(buf + off + 8))
        return 0;
    *len = n;
    return 1;
}

/* Whether any valid frame starts after off: decides torn tail versus corruption. */
static int
valid_frame_after(const unsigned char *buf, size_t size, size_t off)
{
    uint32_t len;
    for (size_t q = off + 1; q + WAL_FRAME_HDR <= size; q++)
        if (wal__get32(buf + q) == WAL_FRAME_MAGIC && frame_ok(buf, size, q, &len))
            return 1;
    return 0;
}

/* A growable record array for handing units to a callback. */
typedef struct rec_vec {
    persist_wal_rec *v;
    size_t cap;
} rec_vec;

typedef cc_code (*unit_fn)(void *arg, const persist_wal_rec *recs, size_t n, cc_err *err);

static cc_code
corrupt_at(cc_err *err, const char *path, size_t off)
{
    return cc_err_set(err, CC_CORRUPT, "invalid record in file \"%s\" at offset %zu", path, off);
}

/*
 * Parses a checksummed payload at p (len bytes) of the frame at frame_off,
 * calling fn (if not NULL) once per unit. A structural error is CORRUPT.
 */
static cc_code
parse_payload(const unsigned char *p, uint32_t len, const char *path, size_t frame_off, rec_vec *rv,
              unit_fn fn, void *arg, cc_err *err)
{
    size_t off = 0;
    if (len < 4)
        return corrupt_at(err, path, frame_off);
    uint32_t nunits = wal__get32(p);
    off = 4;
    for (uint32_t u = 0; u < nunits; u++) {
        if (len - off < 4)
            return corrupt_at(err, path, frame_off);
        uint32_t nrecs = wal__get32(p + off);
        off += 4;
        if (nrecs > (len - off) / 4)
            return corrupt_at(err, path, frame_off);
        if (fn != NULL && nrecs > rv->cap) {
            persist_wal_rec *nv = cc_realloc(rv->v, nrecs * sizeof *nv);
            if (nv == NULL)
                return cc_err_set(err, CC_NOMEM, "out of memory replaying file \"%s\"", path);
            rv->v = nv;
            rv->cap = nrecs;
        }
        for (uint32_t r = 0; r < nrecs; r++) {
            if (len - off < 4)
                return corrupt_at(err, path, frame_off);
            uint32_t rl = wal__get32(p + off);
            off += 4;
            if (rl > len - off)
                return corrupt_at(err, path, frame_off);
            if (fn != NULL)
                rv->v[r] = (persist_wal_rec){.data = p + off, .len = rl};
            off += rl;
        }
        if (fn != NULL) {
            cc_code rc = fn(arg, rv->v, nrecs, err);
            if (rc != CC_OK)
                return rc;
        }
    }
    if (off != len)
        return corrupt_at(err, path, frame_off);
    return CC_OK;
}

/*
 * Walks the segment image buf[0..size). Sets *valid_end to the end of the last
 * good frame. A bad frame in the last segment with nothing valid after it is a
 * torn tail (*valid_end stops there, CC_OK); anything else bad is CC_CORRUPT.
 * *valid_end == 0 means the header itself is torn (last segment only).
 */
static cc_code
walk_segment(const unsigned char *buf, size_t size, uint64_t seq, int is_last, const char *path,
             rec_vec *rv, unit_fn fn, void *arg, size_t *valid_end, cc_err *err)
{
    if (size < WAL_SEG_HDR) {
        if (!is_last)
            return corrupt_at(err, path, 0);
        *valid_end = 0;
        return CC_OK;
    }
    if (wal__get32(buf) != WAL_SEG_MAGIC || wal__get32(buf + 4) != WAL_VERSION ||
        wal__get64(buf + 8) != seq) {
        if (is_last && size == WAL_SEG_HDR && !valid_frame_after(buf, size, 0)) {
            *valid_end = 0;
            return CC_OK;
        }
        return corrupt_at(err, path, 0);
    }
    size_t off = WAL_SEG_HDR;
    while (off < size) {
        uint32_t len;
        if (!frame_ok(buf, size, off, &len)) {
            if (!is_last || valid_frame_after(buf, size, off))
                return corrupt_at(err, path, off);
            break;
        }
        cc_code rc = parse_payload(buf + off + WAL_FRAME_HDR, len, path, off, rv, fn, arg, err);
        if (rc != CC_OK)
            return rc;
        off += WAL_FRAME_HDR + (size_t)len;
    }
    *valid_end = off;
    return CC_OK;
}

/* Numbers found in the directory listing. */
typedef struct u64_vec {
    uint64_t *v;
    size_t n, cap;
} u64_vec;

static int
u64_push(u64_vec *a, uint64_t x)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 16;
        uint64_t *nv = cc_realloc(a->v, cap * sizeof *nv);
        if (nv == NULL)
            return -1;
        a->v = nv;
        a->cap = cap;
    }
    a->v[a->n++] = x;
    return 0;
}

static int
u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Parses exactly 16 lowercase hex digits followed by suffix (and nothing else). */
static int
parse_name(const char *name, const char *prefix, const char *suffix, uint64_t *out)
{
    size_t pl = strlen(prefix), sl = strlen(suffix);
    if (strlen(name) != pl + 16 + sl || strncmp(name, prefix, pl) != 0 ||
        strcmp(name + pl + 16, suffix) != 0)
        return 0;
    uint64_t v = 0;
    for (size_t i = 0; i < 16; i++) {
        char c = name[pl + i];
        if (c >= '0' && c <= '9')
            v = v << 4 | (uint64_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v = v << 4 | (uint64_t)(c - 'a' + 10);
        else
            return 0;
    }
    *out = v;
    return 1;
}

/* Lists the directory: segment seqs and rollup marks (sorted), rollup temp marks. */
static cc_code
list_dir(persist_wal *wal, u64_vec *segs, u64_vec *rollups, u64_vec *tmps, cc_err *err)
{
    DIR *d = opendir(wal->dir);
    if (d == NULL)
        return persist__wal_io_error(err, "open directory", wal->dir, errno);
    struct dirent *de;
    uint64_t x;
    int oom = 0;
    errno = 0;
    while ((de = readdir(d)) != NULL) {
        if (parse_name(de->d_name, "log-", ".wal", &x))
            oom |= u64_push(segs, x);
        else if (parse_name(de->d_name, "rollup-", "", &x))
            oom |= u64_push(rollups, x);
        else if (parse_name(de->d_name, "rollup-", ".tmp", &x))
            oom |= u64_push(tmps, x);
        errno = 0;
    }
    int e = errno;
    closedir(d);
    if (e != 0)
        return persist__wal_io_error(err, "read directory", wal->dir, e);
    if (oom)
        return cc_err_set(err, CC_NOMEM, "out of memory listing directory \"%s\"", wal->dir);
    if (segs->n > 1)
        qsort(segs->v, segs->n, sizeof(uint64_t), u64_cmp);
    if (rollups->n > 1)
        qsort(rollups->v, rollups->n, sizeof(uint64_t), u64_cmp);
    return CC_OK;
}

/* Removes path; a missing file is fine. Sets *removed when something was removed. */
static cc_code
remove_file(persist_wal *wal, const char *path, int *removed, cc_err *err)
{
    if (wal->io->unlink(wal->io->ctx, path) == 0) {
        *removed = 1;
        return CC_OK;
    }
    if (errno == ENOENT)
        return CC_OK;
    return persist__wal_io_error(err, "remove file", path, errno);
}

cc_code
persist__wal_remove_old(persist_wal *wal, uint64_t mark, cc_err *err)
{
    u64_vec segs = {0}, rollups = {0}, tmps = {0};
    char path[PATH_MAX];
    int removed = 0;
    cc_code rc = list_dir(wal, &segs, &rollups, &tmps, err);
    if (rc != CC_OK)
        goto done;
    for (size_t i = 0; i < tmps.n && rc == CC_OK; i++) {
        persist__wal_rollup_path(wal, tmps.v[i], ".tmp", path);
        rc = remove_file(wal, path, &removed, err);
    }
    for (size_t i = 0; i < rollups.n && rc == CC_OK && rollups.v[i] < mark; i++) {
        persist__wal_rollup_path(wal, rollups.v[i], "", path);
        rc = remove_file(wal, path, &removed, err);
    }
    for (size_t i = 0; i < segs.n && rc == CC_OK && segs.v[i] < mark; i++) {
        persist__wal_seg_path(wal, segs.v[i], path);
        rc = remove_file(wal, path, &removed, err);
    }
    if (rc == CC_OK && removed)
        rc = persist__wal_sync_dir(wal, err);
done:
    cc_free(segs.v);
    cc_free(rollups.v);
    cc_free(tmps.v);
    return rc;
}

/* Reads and verifies rollup-<mark> into wal->rollup_body. */
static cc_code
load_rollup(persist_wal *wal, uint64_t mark, cc_err *err)
{
    char path[PATH_MAX];
    unsigned char *buf = NULL;
    size_t size = 0;
    cc_code rc;
    persist__wal_rollup_path(wal, mark, "", path);
    int fd = wal->io->open(wal->io->ctx, path, O_RDONLY, 0);
    if (fd < 0)
        return persist__wal_io_error(err, "open file", path, errno);
    if ((rc = file_size(wal, fd, path, &size, err)) != CC_OK)
        goto fail;
    if ((rc = read_file(wal, fd, size, path, &buf, err)) != CC_OK)
        goto fail;
    if (size < WAL_ROLLUP_HDR || wal__get32(buf) != WAL_ROLLUP_MAGIC ||
        wal__get32(buf + 4) != WAL_VERSION || wal__get64(buf + 8) != mark ||
        wal__get64(buf + 16) != size - WAL_ROLLUP_HDR) {
        rc = cc_err_set(err, CC_CORRUPT, "invalid rollup header in file \"%s\"", path);
        goto fail;
    }
    if (XXH3_64bits(buf + WAL_ROLLUP_HDR, size - WAL_ROLLUP_HDR) != wal__get64(buf + 24)) {
        rc = cc_err_set(err, CC_CORRUPT, "invalid rollup in file \"%s\": checksum mismatch", path);
        goto fail;
    }
    memmove(buf, buf + WAL_ROLLUP_HDR, size - WAL_ROLLUP_HDR);
    wal->rollup_body = buf;
    wal->rollup_len = size - WAL_ROLLUP_HDR;
    wal->io->close(wal->io->ctx, fd);
    return CC_OK;
fail:
    cc_free(buf);
    wal->io->close(wal->io->ctx, fd);
    return rc;
}

/*
 * Opens segment seq and validates it; for the last segment, truncates a torn
 * tail and leaves the fd open as the current segment.
 */
static cc_code
recover_segment(persist_wal *wal, uint64_t seq, int is_last, cc_err *err)
{
    char path[PATH_MAX];
    unsigned char *buf = NULL;
    size_t size = 0, end = 0;
    int leftover;
    cc_code rc;
    persist__wal_seg_path(wal, seq, path);
    int fd = wal->io->open(wal->io->ctx, path, is_last ? O_RDWR : O_RDONLY, 0);
    if (fd < 0)
        return persist__wal_io_error(err, "open file", path, errno);
    if ((rc = file_size(wal, fd, path, &size, err)) != CC_OK)
        goto fail;
    if ((rc = read_file(wal, fd, size, path, &buf, err)) != CC_OK)
        goto fail;
    rc = walk_segment(buf, size, seq, is_last, path, NULL, NULL, NULL, &end, err);
    cc_free(buf);
    buf = NULL;
    if (rc != CC_OK)
        goto fail;
    if (!is_last) {
        wal->io->close(wal->io->ctx, fd);
        return CC_OK;
    }
    if (end == 0) {
        /* Torn header: the crash hit rotation; start the segment afresh. */
        wal->io->close(wal->io->ctx, fd);
        rc = persist__wal_seg_create(wal, seq, &fd, &leftover, err);
        if (rc != CC_OK)
            return rc;
        end = WAL_SEG_HDR;
    } else if (end < size) {
        if (wal->io->ftruncate(wal->io->ctx, fd, (off_t)end) != 0) {
            rc = persist__wal_io_error(err, "truncate file", path, errno);
            goto fail;
        }
        if (wal->durability == PERSIST_DURABILITY_FSYNC) {
            wal__stat_add(&wal->stats.fsyncs, 1);
            if (wal->io->fdatasync(wal->io->ctx, fd) != 0) {
                rc = persist__wal_io_error(err, "fdatasync file", path, errno);
                goto fail;
            }
        }
    }
    wal->seg_fd = fd;
    wal->seg_seq = seq;
    wal->seg_end = end;
    memcpy(wal->seg_path, path, sizeof path);
    return CC_OK;
fail:
    cc_free(buf);
    wal->io->close(wal->io->ctx, fd);
    return rc;
}

/* Takes the directory lock; reports the holder's pid when it is taken. */
static cc_code
take_lock(persist_wal *wal, cc_err *err)
{
    char path[PATH_MAX];
    char pid[32];
    snprintf(path, sizeof path, "%s/LOCK", wal->dir);
    int fd = wal->io->open(wal->io->ctx, path, O_RDWR | O_CREAT, 0644);
    if (fd < 0)
        return persist__wal_io_error(err, "open lock file", path, errno);
    if (wal->io->flock(wal->io->ctx, fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        cc_code rc;
        if (e == EWOULDBLOCK) {
            ssize_t r = wal->io->pread(wal->io->ctx, fd, pid, sizeof pid - 1, 0);
            long holder = 0;
            if (r > 0) {
                pid[r] = '\0';
                holder = strtol(pid, NULL, 10);
            }
            if (holder > 0)
                rc = cc_err_set(err, CC_IO, "data directory \"%s\" is in use by pid %ld", wal->dir,
                                holder);
            else
                rc = cc_err_set(err, CC_IO, "data directory \"%s\" is in use by another process",
                                wal->dir);
        } else {
            rc = persist__wal_io_error(err, "lock file", path, e);
        }
        wal->io->close(wal->io->ctx, fd);
        return rc;
    }
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (wal->io->ftruncate(wal->io->ctx, fd, 0) != 0 ||
        wal->io->pwrite(wal->io->ctx, fd, pid, (size_t)n, 0) != n) {
        cc_code rc = persist__wal_io_error(err, "write lock file", path, errno);
        wal->io->close(wal->io->ctx, fd);
        return rc;
    }
    wal->lock_fd = fd;
    return CC_OK;
}

/* Creates dir if missing and makes its entry durable (fsync of the parent). */
static cc_code
make_dir(persist_wal *wal, cc_err *err)
{
    if (wal->io->mkdir(wal->io->ctx, wal->dir, 0700) != 0) {
        if (errno == EEXIST)
            return CC_OK;
        return persist__wal_io_error(err, "create directory", wal->dir, errno);
    }
    if (wal->durability == PERSIST_DURABILITY_NONE)
        return CC_OK;
    char parent[PATH_MAX];
    snprintf(parent, sizeof parent, "%s", wal->dir);
    char *slash = strrchr(parent, '/');
    if (slash == NULL)
        strcpy(parent, ".");
    else if (slash == parent)
        parent[1] = '\0';
    else
        *slash = '\0';
    int fd = wal->io->open(wal->io->ctx, parent, O_RDONLY | O_DIRECTORY, 0);
    if (fd < 0)
        return persist__wal_io_error(err, "open directory", parent, errno);
    wal__stat_add(&wal->stats.fsyncs, 1);
    int r = wal->io->fsync(wal->io->ctx, fd);
    int e = errno;
    wal->io->close(wal->io->ctx, fd);
    if (r != 0)
        return persist__wal_io_error(err, "fsync directory", parent, e);
    return CC_OK;
}

/* Recovery proper, with the lock held: see the file comment. */
static cc_code
recover(persist_wal *wal, cc_err *err)
{
    u64_vec segs = {0}, rollups = {0}, tmps = {0};
    int leftover;
    cc_code rc = list_dir(wal, &segs, &rollups, &tmps, err);
    if (rc != CC_OK)
        goto done;
    uint64_t mark = rollups.n ? rollups.v[rollups.n - 1] : 0;
    if (mark != 0 && (rc = load_rollup(wal, mark, err)) != CC_OK)
        goto done;
    if ((rc = persist__wal_remove_old(wal, mark, err)) != CC_OK)
        goto done;
    wal->rollup_mark = mark;
    uint64_t first = mark ? mark : 1;
    size_t i = 0;
    while (i < segs.n && segs.v[i] < first)
        i++; /* removed just now */
    for (size_t j = i; j < segs.n; j++) {
        if (segs.v[j] != first + (j - i)) {
            char path[PATH_MAX];
            persist__wal_seg_path(wal, first + (j - i), path);
            rc = cc_err_set(err, CC_CORRUPT, "missing log segment \"%s\"", path);
            goto done;
        }
    }
    for (size_t j = i; j < segs.n; j++)
        if ((rc = recover_segment(wal, segs.v[j], j + 1 == segs.n, err)) != CC_OK)
            goto done;
    if (i == segs.n) {
        if ((rc = persist__wal_seg_create(wal, first, &wal->seg_fd, &leftover, err)) != CC_OK)
            goto done;
        wal->seg_seq = first;
        wal->seg_end = WAL_SEG_HDR;
        persist__wal_seg_path(wal, first, wal->seg_path);
    }
    wal->replay_first = first;
    wal->replay_last = wal->seg_seq;
    wal->replay_last_end = wal->seg_end;
done:
    cc_free(segs.v);
    cc_free(rollups.v);
    cc_free(tmps.v);
    return rc;
}

static void
ro_free(persist_wal *wal)
{
    for (size_t i = 0; i < wal->nro; i++)
        cc_free(wal->ro[i].buf);
    cc_free(wal->ro);
    wal->ro = NULL;
    wal->nro = 0;
    persist__wal_drop_rollup_body(wal);
}

/* One attempt at a read-only recovery (see the file comment). */
static cc_code
recover_ro_once(persist_wal *wal, cc_err *err)
{
    u64_vec segs = {0}, rollups = {0}, tmps = {0};
    cc_code rc = list_dir(wal, &segs, &rollups, &tmps, err);
    if (rc != CC_OK)
        goto done;
    uint64_t mark = rollups.n ? rollups.v[rollups.n - 1] : 0;
    if (mark != 0 && (rc = load_rollup(wal, mark, err)) != CC_OK)
        goto done;
    wal->rollup_mark = mark;
    uint64_t first = mark ? mark : 1;
    size_t i = 0;
    while (i < segs.n && segs.v[i] < first)
        i++; /* garbage the writer has not removed yet */
    if (segs.n > i && (wal->ro = cc_calloc(segs.n - i, sizeof *wal->ro)) == NULL) {
        rc = cc_err_set(err, CC_NOMEM, "out of memory reading \"%s\"", wal->dir);
        goto done;
    }
    for (size_t j = i; j < segs.n; j++) {
        char path[PATH_MAX];
        persist__wal_seg_path(wal, first + (j - i), path);
        if (segs.v[j] != first + (j - i)) {
            rc = cc_err_set(err, CC_CORRUPT, "missing log segment \"%s\"", path);
            goto done;
        }
        int fd = wal->io->open(wal->io->ctx, path, O_RDONLY, 0);
        if (fd < 0) {
            rc = persist__wal_io_error(err, "open file", path, errno);
            goto done;
        }
        size_t size = 0, end = 0;
        unsigned char *buf = NULL;
        rc = file_size(wal, fd, path, &size, err);
        if (rc == CC_OK)
            rc = read_file(wal, fd, size, path, &buf, err);
        wal->io->close(wal->io->ctx, fd);
        if (rc == CC_OK)
            rc = walk_segment(buf, size, segs.v[j], j + 1 == segs.n, path, NULL, NULL, NULL, &end,
                              err);
        if (rc != CC_OK) {
            cc_free(buf);
            goto done;
        }
        wal->ro[wal->nro++] = (wal_ro_seg){segs.v[j], buf, end};
    }
    wal->replay_first = first;
    wal->replay_last = first + wal->nro - 1; /* first - 1: no segment */
done:
    cc_free(segs.v);
    cc_free(rollups.v);
    cc_free(tmps.v);
    return rc;
}

#define RO_ATTEMPTS 8 /* read-only opens that lose a race with the writer's rollup start over */

static cc_code
recover_ro(persist_wal *wal, cc_err *err)
{
    cc_code rc = CC_OK;
    for (int attempt = 0; attempt < RO_ATTEMPTS; attempt++) {
        ro_free(wal);
        if ((rc = recover_ro_once(wal, err)) == CC_OK || rc == CC_NOMEM)
            break;
        /* A file gone or cut short under us: a rollup or a recovery of the writer. */
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (rc != CC_OK) {
        ro_free(wal);
        return rc;
    }
    wal->read_only = 1;
    wal->poisoned = 1; /* every append and rollup fails with this message */
    cc_err e;
    cc_err_set(&e, CC_IO, "data directory \"%s\" is open read-only", wal->dir);
    memcpy(wal->poison_msg, e.msg, sizeof wal->poison_msg < sizeof e.msg ? sizeof wal->poison_msg
                                                                         : sizeof e.msg);
    wal->poison_msg[sizeof wal->poison_msg - 1] = '\0';
    return CC_OK;
}

cc_code
persist_wal_open(const char *dir, const persist_wal_opts *opts, persist_wal **out, cc_err *err)
{
    if (dir == NULL || out == NULL || *dir == '\0')
        return cc_err_set(err, CC_INVALID, "persist_wal_open: dir and out are required");
    if (strlen(dir) + 64 >= PATH_MAX)
        return cc_err_set(err, CC_INVALID, "data directory path is too long");
    persist_wal_opts o = opts ? *opts : (persist_wal_opts){0};
    if (o.durability != PERSIST_DURABILITY_FSYNC && o.durability != PERSIST_DURABILITY_NONE)
        return cc_err_set(err, CC_INVALID, "invalid durability %d", (int)o.durability);
    if (o.segment_bytes == 0)
        o.segment_bytes = PERSIST_WAL_SEGMENT_BYTES_DEFAULT;
    if (o.segment_bytes < PERSIST_WAL_SEGMENT_BYTES_MIN)
        return cc_err_set(err, CC_INVALID, "segment size %" PRIu64 " is below the minimum %u",
                          o.segment_bytes, PERSIST_WAL_SEGMENT_BYTES_MIN);
    persist_wal *wal = cc_calloc(1, sizeof *wal);
    if (wal == NULL)
        return cc_err_set(err, CC_NOMEM, "out of memory opening data directory \"%s\"", dir);
    cc_code rc;
    wal->io = o.io ? o.io : persist_io_default();
    wal->durability = o.durability;
    wal->segment_bytes = o.segment_bytes;
    snprintf(wal->dir, sizeof wal->dir, "%s", dir);
    wal->dir_fd = wal->lock_fd = wal->seg_fd = -1;
    pthread_mutex_init(&wal->mu, NULL);
    pthread_cond_init(&wal->cv, NULL);
    pthread_mutex_init(&wal->rollup_mu, NULL);

    if (o.access != PERSIST_WAL_READ_ONLY && (rc = make_dir(wal, err)) != CC_OK)
        goto fail;
    wal->dir_fd = wal->io->open(wal->io->ctx, wal->dir, O_RDONLY | O_DIRECTORY, 0);
    if (wal->dir_fd < 0) {
        rc = persist__wal_io_error(err, "open directory", wal->dir, errno);
        goto fail;
    }
    if (o.access == PERSIST_WAL_READ_ONLY)
        rc = recover_ro(wal, err);
    else if ((rc = take_lock(wal, err)) == CC_OK)
        rc = recover(wal, err);
    if (rc != CC_OK)
        goto fail;
    *out = wal;
    return CC_OK;
fail:
    persist_wal_close(wal);
    return rc;
}

/* Replay state: forwards units to the caller's callback. */
typedef struct replay_ctx {
    persist_wal_replay_fn fn;
    void *arg;
} replay_ctx;

static cc_code
replay_unit(void *arg, const persist_wal_rec *recs, size_t n, cc_err *err)
{
    replay_ctx *rc = arg;
    return rc->fn(rc->arg, PERSIST_WAL_APPEND, recs, n, err);
}

cc_code
persist_wal_replay(persist_wal *wal, persist_wal_replay_fn fn, void *arg, cc_err *err)
{
    if (wal == NULL || fn == NULL)
        return cc_err_set(err, CC_INVALID, "persist_wal_replay: wal and fn are required");
    pthread_mutex_lock(&wal->mu);
    int late = wal->replayed || wal->appended;
    wal->replayed = 1;
    pthread_mutex_unlock(&wal->mu);
    if (late)
        return cc_err_set(err, CC_INVALID,
                          "the log of \"%s\" can be replayed only once, before any append",
                          wal->dir);
    replay_ctx ctx = {.fn = fn, .arg = arg};
    rec_vec rv = {0};
    unsigned char *buf = NULL;
    cc_code rc = CC_OK;
    if (wal->rollup_body != NULL) {
        persist_wal_rec rec = {.data = wal->rollup_body, .len = wal->rollup_len};
        rc = fn(arg, PERSIST_WAL_ROLLUP, &rec, 1, err);
        persist__wal_drop_rollup_body(wal);
        if (rc != CC_OK)
            goto done;
    }
    for (size_t i = 0; wal->read_only && i < wal->nro; i++) {
        char path[PATH_MAX];
        size_t end;
        persist__wal_seg_path(wal, wal->ro[i].seq, path);
        if (wal->ro[i].end < WAL_SEG_HDR)
            continue; /* being created by a rotation: empty */
        /* Verified at open up to end: whole frames only. */
        rc = walk_segment(wal->ro[i].buf, wal->ro[i].end, wal->ro[i].seq, 0, path, &rv, replay_unit,
                          &ctx, &end, err);
        if (rc != CC_OK)
            goto done;
    }
    if (wal->read_only)
        ro_free(wal); /* replayed: the bytes are not needed again */
    for (uint64_t seq = wal->replay_first; !wal->read_only && seq <= wal->replay_last; seq++) {
        char path[PATH_MAX];
        size_t size, end;
        int is_last = seq == wal->replay_last;
        persist__wal_seg_path(wal, seq, path);
        int fd = wal->io->open(wal->io->ctx, path, O_RDONLY, 0);
        if (fd < 0) {
            rc = persist__wal_io_error(err, "open file", path, errno);
            goto done;
        }
        size = wal->replay_last_end; /* the last segment's length as recovered */
        rc = is_last ? CC_OK : file_size(wal, fd, path, &size, err);
        if (rc == CC_OK)
            rc = read_file(wal, fd, size, path, &buf, err);
        wal->io->close(wal->io->ctx, fd);
        if (rc != CC_OK)
            goto done;
        /* Re-verified: not the last segment now, so any bad frame is corruption. */
        rc = walk_segment(buf, size, seq, 0, path, &rv, replay_unit, &ctx, &end, err);
        cc_free(buf);
        buf = NULL;
        if (rc != CC_OK)
            goto done;
    }
done:
    cc_free(rv.v);
    return rc;
}

void
persist_wal_stats_get(persist_wal *wal, persist_wal_stats *out)
{
    out->bytes_written = __atomic_load_n(&wal->stats.bytes_written, __ATOMIC_RELAXED);
    out->appends = __atomic_load_n(&wal->stats.appends, __ATOMIC_RELAXED);
    out->groups = __atomic_load_n(&wal->stats.groups, __ATOMIC_RELAXED);
    out->fsyncs = __atomic_load_n(&wal->stats.fsyncs, __ATOMIC_RELAXED);
    out->segments = __atomic_load_n(&wal->stats.segments, __ATOMIC_RELAXED);
    out->rollups = __atomic_load_n(&wal->stats.rollups, __ATOMIC_RELAXED);
}

void
persist_wal_close(persist_wal *wal)
{
    if (wal == NULL)
        return;
    CC_ASSERT(wal->head == NULL && !wal->writing);
    if (wal->seg_fd >= 0)
        wal->io->close(wal->io->ctx, wal->seg_fd);
    if (wal->dir_fd >= 0)
        wal->io->close(wal->io->ctx, wal->dir_fd);
    if (wal->lock_fd >= 0)
        wal->io->close(wal->io->ctx, wal->lock_fd); /* releases the flock */
    ro_free(wal);
    cc_free(wal->buf);
    pthread_mutex_destroy(&wal->mu);
    pthread_cond_destroy(&wal->cv);
    pthread_mutex_destroy(&wal->rollup_mu);
    cc_free(wal);
}
