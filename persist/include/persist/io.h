/*
 * persist/io.h — the I/O hook every persist file operation goes through.
 *
 * A persist_io is a table of function pointers that mirror the POSIX calls the
 * file backend makes. Each returns what POSIX returns (-1 with errno set on
 * failure) and takes the hook's ctx first. persist_io_default() forwards to the
 * plain system calls; tests wrap it in a persist_io_faults to make the Nth call
 * of a given kind fail with a chosen errno (ENOSPC, EIO), write only part of its
 * buffer, or make fdatasync fail, and to count calls so that a fault test can
 * walk N = 1, 2, ... through an operation.
 *
 * Directory listing (opendir/readdir) is not hooked: it never writes.
 */
#ifndef COWCAT_PERSIST_IO_H
#define COWCAT_PERSIST_IO_H

#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

/* The hooked calls; also the index into the fault injector's counters. */
typedef enum persist_io_op {
    PERSIST_IO_OPEN,
    PERSIST_IO_CLOSE,
    PERSIST_IO_PWRITE,
    PERSIST_IO_PREAD,
    PERSIST_IO_FDATASYNC,
    PERSIST_IO_FSYNC,
    PERSIST_IO_FTRUNCATE,
    PERSIST_IO_FSTAT,
    PERSIST_IO_RENAME,
    PERSIST_IO_UNLINK,
    PERSIST_IO_MKDIR,
    PERSIST_IO_FLOCK,
    PERSIST_IO_OP_COUNT
} persist_io_op;

/*
 * The hook. All members are required. The functions must be safe to call from
 * several threads at once (the log calls them from whichever thread leads a
 * group commit, and from rollup writers).
 */
typedef struct persist_io {
    void *ctx; /* passed as the first argument of every call */
    int (*open)(void *ctx, const char *path, int flags, mode_t mode);
    int (*close)(void *ctx, int fd);
    ssize_t (*pwrite)(void *ctx, int fd, const void *buf, size_t n, off_t off);
    ssize_t (*pread)(void *ctx, int fd, void *buf, size_t n, off_t off);
    int (*fdatasync)(void *ctx, int fd);
    int (*fsync)(void *ctx, int fd); /* used for directories */
    int (*ftruncate)(void *ctx, int fd, off_t len);
    int (*fstat)(void *ctx, int fd, struct stat *st);
    int (*rename)(void *ctx, const char *from, const char *to);
    int (*unlink)(void *ctx, const char *path);
    int (*mkdir)(void *ctx, const char *path, mode_t mode);
    int (*flock)(void *ctx, int fd, int operation);
} persist_io;

/* The plain POSIX hook (a static table; never freed). Thread-safe. */
const persist_io *persist_io_default(void);

/* What an armed fault does to the call it hits. */
typedef enum persist_io_fault_kind {
    PERSIST_FAULT_ERRNO, /* the call does nothing and fails with -1 / errno */
    PERSIST_FAULT_SHORT, /* pwrite/pread: transfer only the first half (at least 0) */
} persist_io_fault_kind;

#define PERSIST_IO_FAULT_RULES 4

/* One armed fault: the nth call of op counted from arming fails, `times` calls in a row. */
typedef struct persist_io_fault_rule {
    persist_io_op op;           /* which call */
    uint64_t at;                /* absolute call number (1-based) of op that fails first */
    uint64_t times;             /* how many consecutive calls fail; UINT64_MAX = all later ones */
    persist_io_fault_kind kind; /* errno failure or short transfer */
    int errnum;                 /* errno for PERSIST_FAULT_ERRNO */
    uint64_t fired;             /* calls this rule has hit so far */
} persist_io_fault_rule;

/*
 * A fault injector: a persist_io (the member io, pass &f->io to the log) that
 * forwards to inner except where an armed rule says otherwise, and counts every
 * call by kind. Up to PERSIST_IO_FAULT_RULES rules may be armed at once, so a
 * test can fail an fdatasync and then the ftruncate that repairs it.
 * The counters and rules are protected by an internal mutex; any thread may call.
 */
typedef struct persist_io_faults {
    persist_io io;                                       /* the hook to hand out */
    const persist_io *inner;                             /* where calls are forwarded */
    pthread_mutex_t mu;                                  /* protects everything below */
    uint64_t calls[PERSIST_IO_OP_COUNT];                 /* calls so far, by kind */
    persist_io_fault_rule rules[PERSIST_IO_FAULT_RULES]; /* armed rules */
    int nrules;                                          /* how many rules are armed */
} persist_io_faults;

/* Initialises f (caller storage) to forward to inner (borrowed; must outlive f). */
void persist_io_faults_init(persist_io_faults *f, const persist_io *inner);

/* Releases f's mutex. No call may be in progress through f->io. */
void persist_io_faults_fini(persist_io_faults *f);

/*
 * Arms a rule: the nth call of op from now (n >= 1) and the times - 1 calls of
 * op after it fail as kind says (errnum for PERSIST_FAULT_ERRNO; a short
 * transfer only makes sense for PERSIST_IO_PWRITE / PERSIST_IO_PREAD).
 * Returns 0, or -1 when all rule slots are taken.
 */
int persist_io_faults_arm(persist_io_faults *f, persist_io_op op, uint64_t n, uint64_t times,
                          persist_io_fault_kind kind, int errnum);

/* Disarms every rule; the counters keep counting. */
void persist_io_faults_disarm(persist_io_faults *f);

/* Calls of op made through f so far (faulted ones included). */
uint64_t persist_io_faults_calls(persist_io_faults *f, persist_io_op op);

/* How many calls the armed rules have hit since the last disarm. */
uint64_t persist_io_faults_fired(persist_io_faults *f);

#endif
