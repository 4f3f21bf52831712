/*
 * persist/src/io.c — the default POSIX I/O hook and the fault injector.
 *
 * The default hook is a thin forwarding table. The fault injector counts every
 * call by kind under one mutex and, when a call's number matches an armed rule,
 * fails it (or shortens it) instead of (or before) forwarding. Counting and the
 * decision happen under the mutex; the forwarded call itself runs without it, so
 * an fdatasync through the injector does not serialise unrelated calls.
 */
#include "persist/io.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "base/assert.h"

static int
posix_open(void *ctx, const char *path, int flags, mode_t mode)
{
    (void)ctx;
    int fd;
    do {
        fd = open(path, flags | O_CLOEXEC, mode);
    } while (fd < 0 && errno == EINTR);
    return fd;
}

static int
posix_close(void *ctx, int fd)
{
    (void)ctx;
    return close(fd);
}

static ssize_t
posix_pwrite(void *ctx, int fd, const void *buf, size_t n, off_t off)
{
    (void)ctx;
    ssize_t r;
    do {
        r = pwrite(fd, buf, n, off);
    } while (r < 0 && errno == EINTR);
    return r;
}

static ssize_t
posix_pread(void *ctx, int fd, void *buf, size_t n, off_t off)
{
    (void)ctx;
    ssize_t r;
    do {
        r = pread(fd, buf, n, off);
    } while (r < 0 && errno == EINTR);
    return r;
}

static int
posix_fdatasync(void *ctx, int fd)
{
    (void)ctx;
    return fdatasync(fd);
}

static int
posix_fsync(void *ctx, int fd)
{
    (void)ctx;
    return fsync(fd);
}

static int
posix_ftruncate(void *ctx, int fd, off_t len)
{
    (void)ctx;
    int r;
    do {
        r = ftruncate(fd, len);
    } while (r < 0 && errno == EINTR);
    return r;
}

static int
posix_fstat(void *ctx, int fd, struct stat *st)
{
    (void)ctx;
    return fstat(fd, st);
}

static int
posix_rename(void *ctx, const char *from, const char *to)
{
    (void)ctx;
    return rename(from, to);
}

static int
posix_unlink(void *ctx, const char *path)
{
    (void)ctx;
    return unlink(path);
}

static int
posix_mkdir(void *ctx, const char *path, mode_t mode)
{
    (void)ctx;
    return mkdir(path, mode);
}

static int
posix_flock(void *ctx, int fd, int operation)
{
    (void)ctx;
    int r;
    do {
        r = flock(fd, operation);
    } while (r < 0 && errno == EINTR);
    return r;
}

static const persist_io posix_io = {
    .ctx = NULL,
    .open = posix_open,
    .close = posix_close,
    .pwrite = posix_pwrite,
    .pread = posix_pread,
    .fdatasync = posix_fdatasync,
    .fsync = posix_fsync,
    .ftruncate = posix_ftruncate,
    .fstat = posix_fstat,
    .rename = posix_rename,
    .unlink = posix_unlink,
    .mkdir = posix_mkdir,
    .flock = posix_flock,
};

const persist_io *
persist_io_default(void)
{
    return &posix_io;
}

/*
 * Counts a call of op; returns 1 and copies the hit rule's kind and errnum out
 * when an armed rule covers this call number, 0 otherwise.
 */
static int
fault_check(persist_io_faults *f, persist_io_op op, persist_io_fault_kind *kind, int *errnum)
{
    int hit = 0;
    pthread_mutex_lock(&f->mu);
    uint64_t n = ++f->calls[op];
    for (int i = 0; i < f->nrules; i++) {
        persist_io_fault_rule *r = &f->rules[i];
        if (r->op != op || n < r->at || n - r->at >= r->times)
            continue;
        r->fired++;
        *kind = r->kind;
        *errnum = r->errnum;
        hit = 1;
        break;
    }
    pthread_mutex_unlock(&f->mu);
    return hit;
}

/* For calls that cannot be short: returns 1 with errno set when a rule hits. */
static int
fault_errno(persist_io_faults *f, persist_io_op op)
{
    persist_io_fault_kind kind;
    int errnum;
    if (!fault_check(f, op, &kind, &errnum))
        return 0;
    if (kind == PERSIST_FAULT_SHORT)
        return 0; /* only meaningful for transfers; ignored elsewhere */
    errno = errnum;
    return 1;
}

static int
faults_open(void *ctx, const char *path, int flags, mode_t mode)
{
    persist_io_faults *f = ctx;
    if (fault_errno(f, PERSIST_IO_OPEN))
        return -1;
    return f->inner->open(f->inner->ctx, path, flags, mode);
}

static int
faults_close(void *ctx, int fd)
{
    persist_io_faults *f = ctx;
    if (fault_errno(f, PERSIST_IO_CLOSE)) {
        /* A failed close still releases the descriptor on Linux; do the same. */
        int saved = errno;
        f->inner->close(f->inner->ctx, fd);
        errno = saved;
        return -1;
    }
    return f->inner->close(f->inner->ctx, fd);
}

/*
 * Applies an armed fault to a transfer of *n bytes: false when the call must
 * return *ret without I/O (-1 with errno set, or 0 for a short transfer of
 * nothing), else true with *n the length to transfer (halved when short).
 */
static bool
fault_transfer(persist_io_faults *f, persist_io_op op, size_t *n, ssize_t *ret)
{
    persist_io_fault_kind kind;
    int errnum;
    if (!fault_check(f, op, &kind, &errnum))
        return true;
    if (kind == PERSIST_FAULT_ERRNO) {
        errno = errnum;
        *ret = -1;
        return false;
    }
    *n /= 2;
    *ret = 0;
    return *n > 0;
}

static ssize_t
faults_pwrite(void *ctx, int fd, const void *buf, size_t n, off_t off)
{
    persist_io_faults *f = ctx;
    ssize_t ret;
    if (!fault_transfer(f, PERSIST_IO_PWRITE, &n, &ret))
        return ret;
    return f->inner->pwrite(f->inner->ctx, fd, buf, n, off);
}

static ssize_t
faults_pread(void *ctx, int fd, void *buf, size_t n, off_t off)
{
    persist_io_faults *f = ctx;
    ssize_t ret;
    if (!fault_transfer(f, PERSIST_IO_PREAD, &n, &ret))
        return ret;
    return f->inner->pread(f->inner->ctx, fd, buf, n, off);
}

static int
faults_fdatasync(void *ctx, int fd)
{
    persist_io_faults *f = ctx;
    if (fault_errno(f, PERSIST_IO_FDATASYNC))
        return -1;
    return f->inner->fdatasync(f->inner->ctx, fd);
}

static int
faults_fsync(void *ctx, int fd)
{
    persist_io_faults *f = ctx;
    if (fault_errno(f, PERSIST_IO_FSYNC))
        return -1;
    return f->inner->fsync(f->inner->ctx, fd);
}

static int
faults_ftruncate(void *ctx, int fd, off_t len)
{
    persist_io_faults *f = ctx;
    if (fault_errno(f, PERSIST_IO_FTRUNCATE))
        return -1;
    return f->inner->ftruncate(f->inner->ctx, fd, len);
}

static int
faults_fstat(void *ctx, int fd, struct stat *st)
{
    persist_io_faults *f = ctx;
    if (fault_errno(f, PERSIST_IO_FSTAT))
        return -1;
    return f->inner->fstat(f->inner->ctx, fd, st);
}

static int
faults_rename(void *ctx, const char *from, const char *to)
{
    persist_io_faults *f = ctx;
    if (fault_errno(f, PERSIST_IO_RENAME))
        return -1;
    return f->inner->rename(f->inner->ctx, from, to);
}

static int
faults_unlink(void *ctx, const char *path)
{
    persist_io_faults *f = ctx;
    if (fault_errno(f, PERSIST_IO_UNLINK))
        return -1;
    return f->inner->unlink(f->inner->ctx, path);
}

static int
faults_mkdir(void *ctx, const char *path, mode_t mode)
{
    persist_io_faults *f = ctx;
    if (fault_errno(f, PERSIST_IO_MKDIR))
        return -1;
    return f->inner->mkdir(f->inner->ctx, path, mode);
}

static int
faults_flock(void *ctx, int fd, int operation)
{
    persist_io_faults *f = ctx;
    if (fault_errno(f, PERSIST_IO_FLOCK))
        return -1;
    return f->inner->flock(f->inner->ctx, fd, operation);
}

void
persist_io_faults_init(persist_io_faults *f, const persist_io *inner)
{
    CC_ASSERT(f != NULL && inner != NULL);
    memset(f, 0, sizeof *f);
    f->inner = inner;
    pthread_mutex_init(&f->mu, NULL);
    f->io = (persist_io){
        .ctx = f,
        .open = faults_open,
        .close = faults_close,
        .pwrite = faults_pwrite,
        .pread = faults_pread,
        .fdatasync = faults_fdatasync,
        .fsync = faults_fsync,
        .ftruncate = faults_ftruncate,
        .fstat = faults_fstat,
        .rename = faults_rename,
        .unlink = faults_unlink,
        .mkdir = faults_mkdir,
        .flock = faults_flock,
    };
}

void
persist_io_faults_fini(persist_io_faults *f)
{
    pthread_mutex_destroy(&f->mu);
}

int
persist_io_faults_arm(persist_io_faults *f, persist_io_op op, uint64_t n, uint64_t times,
                      persist_io_fault_kind kind, int errnum)
{
    CC_ASSERT(op < PERSIST_IO_OP_COUNT && n >= 1 && times >= 1);
    int rc = -1;
    pthread_mutex_lock(&f->mu);
    if (f->nrules < PERSIST_IO_FAULT_RULES) {
        f->rules[f->nrules++] = (persist_io_fault_rule){
            .op = op,
            .at = f->calls[op] + n,
            .times = times,
            .kind = kind,
            .errnum = errnum,
            .fired = 0,
        };
        rc = 0;
    }
    pthread_mutex_unlock(&f->mu);
    return rc;
}

void
persist_io_faults_disarm(persist_io_faults *f)
{
    pthread_mutex_lock(&f->mu);
    f->nrules = 0;
    pthread_mutex_unlock(&f->mu);
}

uint64_t
persist_io_faults_calls(persist_io_faults *f, persist_io_op op)
{
    CC_ASSERT(op < PERSIST_IO_OP_COUNT);
    pthread_mutex_lock(&f->mu);
    uint64_t n = f->calls[op];
    pthread_mutex_unlock(&f->mu);
    return n;
}

uint64_t
persist_io_faults_fired(persist_io_faults *f)
{
    uint64_t n = 0;
    pthread_mutex_lock(&f->mu);
    for (int i = 0; i < f->nrules; i++)
        n += f->rules[i].fired;
    pthread_mutex_unlock(&f->mu);
    return n;
}
