/*
 * tests/crash/powercut_io.c — the volatile-cache hook of powercut.c and the
 * post-power-loss images it builds (see powercut_io.h).
 *
 * Model, per data directory:
 *
 *   files[i]   dur (bytes as of the last sync) + ops[] (writes and truncations
 *              since, in order); the current contents are dur with ops applied
 *   names      current name -> file, durable name -> file (as of the last
 *              directory fsync), and dirops[] since that fsync, in order
 *   fd_file[]  descriptor -> file index, FD_DIR (the directory) or FD_NONE
 *
 * Everything is guarded by mu; a hooked call holds it from the cut check to
 * the model update, so each call is wholly before or wholly after a cut.
 */
#include "powercut_io.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PC_MAX_FD 4096
#define PC_NAME 64
#define SECTOR 512u
#define FD_NONE (-1)
#define FD_DIR (-2)

/* One write (data != NULL: len bytes at off) or truncation (data == NULL: to off). */
typedef struct pc_op {
    uint64_t off;
    uint64_t len;
    unsigned char *data;
} pc_op;

typedef struct pc_file {
    unsigned char *dur; /* durable contents */
    size_t dur_len;
    pc_op *ops; /* since the last sync */
    size_t nops, cap_ops;
} pc_file;

typedef struct pc_entry {
    char name[PC_NAME];
    int file;
} pc_entry;

typedef struct pc_names {
    pc_entry *v;
    size_t n, cap;
} pc_names;

typedef enum { DIROP_CREATE, DIROP_RENAME, DIROP_UNLINK } dirop_kind;

typedef struct pc_dirop {
    dirop_kind kind;
    char a[PC_NAME]; /* the name created, renamed or unlinked */
    char b[PC_NAME]; /* RENAME: the new name */
    int file;
} pc_dirop;

struct pc_io {
    persist_io io;          /* the hook handed out; ctx = this */
    const persist_io *real; /* where calls go */
    pthread_mutex_t mu;     /* guards everything below */
    pthread_cond_t cv;      /* cut became true */
    char dir[PATH_MAX];
    size_t dir_len;
    pc_file **files;
    size_t nfiles, cap_files;
    pc_names cur, dur;
    pc_dirop *dirops;
    size_t ndirops, cap_dirops;
    int fd_file[PC_MAX_FD];
    bool cut;
    uint64_t calls, calls_op[PERSIST_IO_OP_COUNT];
    persist_io_op arm_op; /* PERSIST_IO_OP_COUNT: any */
    uint64_t arm_n, arm_after, arm_latest;
    uint64_t cut_at;   /* absolute call number of the armed cut; 0 = none yet */
    uint64_t cut_call; /* the call the power went off on (calls at pc_io_cut) */
};

static void oom(void);

static void *
xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (q == NULL)
        oom();
    return q;
}

static void
oom(void)
{
    fprintf(stderr, "powercut: out of memory\n");
    abort();
}

/* Makes room for one more element in the array *arr of n elements (capacity *cap). */
static void *
grow(void *arr, size_t n, size_t *cap, size_t elem)
{
    if (n < *cap)
        return arr;
    *cap = *cap ? 2 * *cap : 16;
    return xrealloc(arr, *cap * elem);
}

/* --- names ------------------------------------------------------------------------------- */

static int
names_find(const pc_names *ns, const char *name)
{
    for (size_t i = 0; i < ns->n; i++)
        if (strcmp(ns->v[i].name, name) == 0)
            return (int)i;
    return -1;
}

static int
names_file(const pc_names *ns, const char *name)
{
    int i = names_find(ns, name);
    return i < 0 ? -1 : ns->v[i].file;
}

static void
names_set(pc_names *ns, const char *name, int file)
{
    int i = names_find(ns, name);
    if (i >= 0) {
        ns->v[i].file = file;
        return;
    }
    ns->v = grow(ns->v, ns->n, &ns->cap, sizeof *ns->v);
    snprintf(ns->v[ns->n].name, PC_NAME, "%s", name);
    ns->v[ns->n++].file = file;
}

static void
names_del(pc_names *ns, const char *name)
{
    int i = names_find(ns, name);
    if (i >= 0)
        ns->v[i] = ns->v[--ns->n];
}

static void
names_copy(pc_names *dst, const pc_names *src)
{
    dst->n = 0;
    for (size_t i = 0; i < src->n; i++)
        names_set(dst, src->v[i].name, src->v[i].file);
}

/* --- files ------------------------------------------------------------------------------- */

static int
file_new(pc_io *p, const void *dur, size_t len)
{
    pc_file *f = calloc(1, sizeof *f);
    if (f == NULL)
        oom();
    f->dur = xrealloc(NULL, len);
    if (len > 0)
        memcpy(f->dur, dur, len);
    f->dur_len = len;
    p->files = grow(p->files, p->nfiles, &p->cap_files, sizeof *p->files);
    p->files[p->nfiles] = f;
    return (int)p->nfiles++;
}

static void
file_op(pc_file *f, uint64_t off, const void *data, uint64_t len)
{
    f->ops = grow(f->ops, f->nops, &f->cap_ops, sizeof *f->ops);
    pc_op *op = &f->ops[f->nops++];
    op->off = off;
    op->len = len;
    op->data = NULL;
    if (data != NULL) {
        op->data = xrealloc(NULL, len);
        memcpy(op->data, data, len);
    }
}

/* Applies op to the buffer *buf of *len bytes (growing it, zero filled). */
static void
apply_op(unsigned char **buf, size_t *len, const pc_op *op, uint64_t upto)
{
    if (op->data == NULL) {
        if (op->off > *len) {
            *buf = xrealloc(*buf, op->off);
            memset(*buf + *len, 0, op->off - *len);
        }
        *len = op->off;
        return;
    }
    uint64_t n = upto < op->len ? upto : op->len;
    if (n == 0)
        return;
    if (op->off + n > *len) {
        *buf = xrealloc(*buf, op->off + n);
        if (op->off > *len)
            memset(*buf + *len, 0, op->off - *len);
        *len = op->off + n;
    }
    memcpy(*buf + op->off, op->data, n);
}

static void
file_sync(pc_file *f)
{
    for (size_t i = 0; i < f->nops; i++) {
        apply_op(&f->dur, &f->dur_len, &f->ops[i], UINT64_MAX);
        free(f->ops[i].data);
    }
    f->nops = 0;
}

/* --- the hook ---------------------------------------------------------------------------- */

/* The name of path inside the directory, "" for the directory itself, NULL if outside. */
static const char *
local_name(const pc_io *p, const char *path)
{
    if (strncmp(path, p->dir, p->dir_len) != 0)
        return NULL;
    if (path[p->dir_len] == '\0')
        return "";
    if (path[p->dir_len] != '/' || strchr(path + p->dir_len + 1, '/') != NULL ||
        strlen(path + p->dir_len + 1) >= PC_NAME)
        return NULL;
    return path + p->dir_len + 1;
}

/*
 * Counts a call of op and fires an armed cut. Requires mu. Returns true (errno
 * EIO) when the power is off: the call must not happen.
 */
static bool
enter(pc_io *p, persist_io_op op)
{
    p->calls++;
    p->calls_op[op]++;
    if (!p->cut && p->arm_n > 0 && p->cut_at == 0) {
        uint64_t seen = p->arm_op == PERSIST_IO_OP_COUNT ? p->calls : p->calls_op[p->arm_op];
        if ((p->arm_op == PERSIST_IO_OP_COUNT || p->arm_op == op) && seen == p->arm_n)
            p->cut_at = p->calls + p->arm_after;
    }
    if (!p->cut && ((p->cut_at != 0 && p->calls >= p->cut_at) ||
                    (p->arm_latest != 0 && p->calls >= p->arm_latest))) {
        p->cut = true;
        p->cut_call = p->calls;
        pthread_cond_broadcast(&p->cv); /* pairs with pc_io_wait_cut */
    }
    if (p->cut)
        errno = EIO;
    return p->cut;
}

static int
fd_file(const pc_io *p, int fd)
{
    return fd >= 0 && fd < PC_MAX_FD ? p->fd_file[fd] : FD_NONE;
}

static int
h_open(void *ctx, const char *path, int flags, mode_t mode)
{
    pc_io *p = ctx;
    pthread_mutex_lock(&p->mu);
    if (enter(p, PERSIST_IO_OPEN)) {
        pthread_mutex_unlock(&p->mu);
        return -1;
    }
    const char *name = local_name(p, path);
    int fd = p->real->open(p->real->ctx, path, flags, mode);
    int e = errno;
    if (fd >= PC_MAX_FD) {
        fprintf(stderr, "powercut: descriptor %d beyond the hook's table\n", fd);
        abort();
    }
    if (fd >= 0) {
        int f = FD_NONE;
        if (name != NULL && *name == '\0') {
            f = FD_DIR;
        } else if (name != NULL) {
            f = names_file(&p->cur, name);
            if (f < 0) { /* created */
                f = file_new(p, NULL, 0);
                names_set(&p->cur, name, f);
                p->dirops = grow(p->dirops, p->ndirops, &p->cap_dirops, sizeof *p->dirops);
                pc_dirop *d = &p->dirops[p->ndirops++];
                *d = (pc_dirop){.kind = DIROP_CREATE, .file = f};
                snprintf(d->a, PC_NAME, "%s", name);
            }
            if ((flags & O_TRUNC) && (flags & O_ACCMODE) != O_RDONLY)
                file_op(p->files[f], 0, NULL, 0);
        }
        p->fd_file[fd] = f;
    }
    pthread_mutex_unlock(&p->mu);
    errno = e;
    return fd;
}

static int
h_close(void *ctx, int fd)
{
    pc_io *p = ctx;
    pthread_mutex_lock(&p->mu);
    (void)enter(p, PERSIST_IO_CLOSE); /* close always happens: it changes nothing on disk */
    if (fd >= 0 && fd < PC_MAX_FD)
        p->fd_file[fd] = FD_NONE;
    int r = p->real->close(p->real->ctx, fd);
    int e = errno;
    pthread_mutex_unlock(&p->mu);
    errno = e;
    return r;
}

static ssize_t
h_pwrite(void *ctx, int fd, const void *buf, size_t n, off_t off)
{
    pc_io *p = ctx;
    pthread_mutex_lock(&p->mu);
    if (enter(p, PERSIST_IO_PWRITE)) {
        pthread_mutex_unlock(&p->mu);
        return -1;
    }
    ssize_t w = p->real->pwrite(p->real->ctx, fd, buf, n, off);
    int e = errno;
    int f = fd_file(p, fd);
    if (w > 0 && f >= 0)
        file_op(p->files[f], (uint64_t)off, buf, (uint64_t)w);
    pthread_mutex_unlock(&p->mu);
    errno = e;
    return w;
}

static ssize_t
h_pread(void *ctx, int fd, void *buf, size_t n, off_t off)
{
    pc_io *p = ctx;
    pthread_mutex_lock(&p->mu);
    if (enter(p, PERSIST_IO_PREAD)) {
        pthread_mutex_unlock(&p->mu);
        return -1;
    }
    ssize_t r = p->real->pread(p->real->ctx, fd, buf, n, off);
    int e = errno;
    pthread_mutex_unlock(&p->mu);
    errno = e;
    return r;
}

/* fdatasync and fsync: the file's writes, or the directory's operations, become durable. */
static int
do_sync(pc_io *p, int fd, persist_io_op op)
{
    pthread_mutex_lock(&p->mu);
    if (enter(p, op)) {
        pthread_mutex_unlock(&p->mu);
        return -1;
    }
    int f = fd_file(p, fd);
    if (f >= 0) {
        file_sync(p->files[f]);
    } else if (f == FD_DIR) {
        names_copy(&p->dur, &p->cur);
        p->ndirops = 0;
    }
    pthread_mutex_unlock(&p->mu);
    return 0;
}

static int
h_fdatasync(void *ctx, int fd)
{
    return do_sync(ctx, fd, PERSIST_IO_FDATASYNC);
}

static int
h_fsync(void *ctx, int fd)
{
    return do_sync(ctx, fd, PERSIST_IO_FSYNC);
}

static int
h_ftruncate(void *ctx, int fd, off_t len)
{
    pc_io *p = ctx;
    pthread_mutex_lock(&p->mu);
    if (enter(p, PERSIST_IO_FTRUNCATE)) {
        pthread_mutex_unlock(&p->mu);
        return -1;
    }
    int r = p->real->ftruncate(p->real->ctx, fd, len);
    int e = errno;
    int f = fd_file(p, fd);
    if (r == 0 && f >= 0)
        file_op(p->files[f], (uint64_t)len, NULL, 0);
    pthread_mutex_unlock(&p->mu);
    errno = e;
    return r;
}

static int
h_fstat(void *ctx, int fd, struct stat *st)
{
    pc_io *p = ctx;
    pthread_mutex_lock(&p->mu);
    if (enter(p, PERSIST_IO_FSTAT)) {
        pthread_mutex_unlock(&p->mu);
        return -1;
    }
    int r = p->real->fstat(p->real->ctx, fd, st);
    int e = errno;
    pthread_mutex_unlock(&p->mu);
    errno = e;
    return r;
}

static int
h_rename(void *ctx, const char *from, const char *to)
{
    pc_io *p = ctx;
    pthread_mutex_lock(&p->mu);
    if (enter(p, PERSIST_IO_RENAME)) {
        pthread_mutex_unlock(&p->mu);
        return -1;
    }
    int r = p->real->rename(p->real->ctx, from, to);
    int e = errno;
    const char *a = local_name(p, from), *b = local_name(p, to);
    int f = a != NULL ? names_file(&p->cur, a) : -1;
    if (r == 0 && f >= 0 && b != NULL && *b != '\0') {
        names_del(&p->cur, a);
        names_set(&p->cur, b, f);
        p->dirops = grow(p->dirops, p->ndirops, &p->cap_dirops, sizeof *p->dirops);
        pc_dirop *d = &p->dirops[p->ndirops++];
        *d = (pc_dirop){.kind = DIROP_RENAME, .file = f};
        snprintf(d->a, PC_NAME, "%s", a);
        snprintf(d->b, PC_NAME, "%s", b);
    }
    pthread_mutex_unlock(&p->mu);
    errno = e;
    return r;
}

static int
h_unlink(void *ctx, const char *path)
{
    pc_io *p = ctx;
    pthread_mutex_lock(&p->mu);
    if (enter(p, PERSIST_IO_UNLINK)) {
        pthread_mutex_unlock(&p->mu);
        return -1;
    }
    int r = p->real->unlink(p->real->ctx, path);
    int e = errno;
    const char *a = local_name(p, path);
    int f = a != NULL ? names_file(&p->cur, a) : -1;
    if (r == 0 && f >= 0) {
        names_del(&p->cur, a);
        p->dirops = grow(p->dirops, p->ndirops, &p->cap_dirops, sizeof *p->dirops);
        pc_dirop *d = &p->dirops[p->ndirops++];
        *d = (pc_dirop){.kind = DIROP_UNLINK, .file = f};
        snprintf(d->a, PC_NAME, "%s", a);
    }
    pthread_mutex_unlock(&p->mu);
    errno = e;
    return r;
}

static int
h_mkdir(void *ctx, const char *path, mode_t mode)
{
    pc_io *p = ctx;
    pthread_mutex_lock(&p->mu);
    if (enter(p, PERSIST_IO_MKDIR)) {
        pthread_mutex_unlock(&p->mu);
        return -1;
    }
    int r = p->real->mkdir(p->real->ctx, path, mode);
    int e = errno;
    pthread_mutex_unlock(&p->mu);
    errno = e;
    return r;
}

static int
h_flock(void *ctx, int fd, int operation)
{
    pc_io *p = ctx;
    pthread_mutex_lock(&p->mu);
    if (enter(p, PERSIST_IO_FLOCK)) {
        pthread_mutex_unlock(&p->mu);
        return -1;
    }
    int r = p->real->flock(p->real->ctx, fd, operation);
    int e = errno;
    pthread_mutex_unlock(&p->mu);
    errno = e;
    return r;
}

/* --- life cycle -------------------------------------------------------------------------- */

/* Reads the whole regular file path into a new buffer; -1 on failure. */
static int
slurp(const char *path, unsigned char **out, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return -1;
    unsigned char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? 2 * cap : 65536;
            buf = xrealloc(buf, cap);
        }
        size_t r = fread(buf + n, 1, cap - n, fp);
        n += r;
        if (r == 0)
            break;
    }
    int bad = ferror(fp);
    fclose(fp);
    if (bad) {
        free(buf);
        return -1;
    }
    *out = buf;
    *len = n;
    return 0;
}

pc_io *
pc_io_new(const char *dir)
{
    pc_io *p = calloc(1, sizeof *p);
    if (p == NULL)
        return NULL;
    p->real = persist_io_default();
    p->io = (persist_io){
        .ctx = p,
        .open = h_open,
        .close = h_close,
        .pwrite = h_pwrite,
        .pread = h_pread,
        .fdatasync = h_fdatasync,
        .fsync = h_fsync,
        .ftruncate = h_ftruncate,
        .fstat = h_fstat,
        .rename = h_rename,
        .unlink = h_unlink,
        .mkdir = h_mkdir,
        .flock = h_flock,
    };
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    snprintf(p->dir, sizeof p->dir, "%s", dir);
    p->dir_len = strlen(p->dir);
    for (int i = 0; i < PC_MAX_FD; i++)
        p->fd_file[i] = FD_NONE;
    p->arm_op = PERSIST_IO_OP_COUNT;
    DIR *d = opendir(dir);
    if (d == NULL) {
        if (errno == ENOENT)
            return p; /* created by the log's open */
        fprintf(stderr, "powercut: cannot read directory %s: %s\n", dir, strerror(errno));
        pc_io_free(p);
        return NULL;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        char path[PATH_MAX + PC_NAME];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (strlen(de->d_name) >= PC_NAME || stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        unsigned char *buf;
        size_t len;
        if (slurp(path, &buf, &len) != 0) {
            fprintf(stderr, "powercut: cannot read %s\n", path);
            closedir(d);
            pc_io_free(p);
            return NULL;
        }
        int f = file_new(p, buf, len);
        free(buf);
        names_set(&p->cur, de->d_name, f);
        names_set(&p->dur, de->d_name, f);
    }
    closedir(d);
    return p;
}

void
pc_io_free(pc_io *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->nfiles; i++) {
        pc_file *f = p->files[i];
        for (size_t k = 0; k < f->nops; k++)
            free(f->ops[k].data);
        free(f->ops);
        free(f->dur);
        free(f);
    }
    free(p->files);
    free(p->cur.v);
    free(p->dur.v);
    free(p->dirops);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p);
}

const persist_io *
pc_io_hook(pc_io *p)
{
    return &p->io;
}

void
pc_io_cut(pc_io *p)
{
    pthread_mutex_lock(&p->mu);
    if (!p->cut)
        p->cut_call = p->calls + 1;
    p->cut = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

void
pc_io_arm(pc_io *p, persist_io_op op, uint64_t n, uint64_t after, uint64_t latest)
{
    pthread_mutex_lock(&p->mu);
    p->arm_op = op;
    p->arm_n = n;
    p->arm_after = after;
    p->arm_latest = latest;
    p->cut_at = 0;
    pthread_mutex_unlock(&p->mu);
}

bool
pc_io_is_cut(pc_io *p)
{
    pthread_mutex_lock(&p->mu);
    bool cut = p->cut;
    pthread_mutex_unlock(&p->mu);
    return cut;
}

bool
pc_io_wait_cut(pc_io *p, long timeout_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L)
        ts.tv_sec++, ts.tv_nsec -= 1000000000L;
    pthread_mutex_lock(&p->mu);
    while (!p->cut && pthread_cond_timedwait(&p->cv, &p->mu, &ts) == 0)
        ; /* pairs with the broadcasts in enter and pc_io_cut */
    bool cut = p->cut;
    pthread_mutex_unlock(&p->mu);
    return cut;
}

uint64_t
pc_io_cut_call(pc_io *p)
{
    pthread_mutex_lock(&p->mu);
    uint64_t n = p->cut_call;
    pthread_mutex_unlock(&p->mu);
    return n;
}

/* --- images ------------------------------------------------------------------------------ */

static uint64_t
below(tu_rng *rng, uint64_t n)
{
    return n == 0 ? 0 : tu_rng_below(rng, n);
}

/* A file image being built: len bytes at b. */
typedef struct img {
    unsigned char *b;
    size_t len;
} img;

/*
 * The image of file f: its durable bytes plus a random choice of the unsynced
 * ones (see powercut_io.h). *out gets a new buffer.
 */
static void
file_image(const pc_file *f, tu_rng *rng, img *out, pc_image_stats *st)
{
    img cur = {xrealloc(NULL, f->dur_len), f->dur_len};
    if (f->dur_len)
        memcpy(cur.b, f->dur, f->dur_len);
    size_t maxlen = f->dur_len;
    for (size_t i = 0; i < f->nops; i++) {
        apply_op(&cur.b, &cur.len, &f->ops[i], UINT64_MAX);
        if (cur.len > maxlen)
            maxlen = cur.len;
        if (f->ops[i].data != NULL)
            st->unsynced_bytes += f->ops[i].len;
    }
    /* Bytes that may differ from the durable ones: written since the sync, or past dur_len. */
    unsigned char *dirty = calloc(maxlen ? maxlen : 1, 1);
    if (dirty == NULL)
        oom();
    for (size_t b = f->dur_len; b < maxlen; b++)
        dirty[b] = 1;
    for (size_t i = 0; i < f->nops; i++)
        if (f->ops[i].data != NULL)
            memset(dirty + f->ops[i].off, 1, f->ops[i].len);
    img o = {xrealloc(NULL, f->dur_len), f->dur_len};
    if (f->dur_len)
        memcpy(o.b, f->dur, f->dur_len);
    unsigned mode = f->nops == 0 ? 0 : (unsigned)below(rng, 100);
    if (mode < 15) {
        /* none of it */
    } else if (mode < 35) { /* all of it */
        free(o.b);
        o.b = xrealloc(NULL, cur.len);
        if (cur.len)
            memcpy(o.b, cur.b, cur.len);
        o.len = cur.len;
    } else if (mode < 70) { /* a prefix of the operations, the last one cut at a sector */
        size_t k = (size_t)below(rng, f->nops + 1);
        for (size_t i = 0; i < k; i++)
            apply_op(&o.b, &o.len, &f->ops[i], UINT64_MAX);
        if (k < f->nops && f->ops[k].data != NULL) {
            const pc_op *op = &f->ops[k];
            uint64_t first = (op->off / SECTOR + 1) * SECTOR, end = op->off + op->len;
            if (first < end && below(rng, 2) == 0) {
                uint64_t cut = first + below(rng, (end - 1 - first) / SECTOR + 1) * SECTOR;
                apply_op(&o.b, &o.len, op, cut - op->off);
                if (below(rng, 3) == 0 && end > o.len) { /* the size got there, the data not */
                    o.b = xrealloc(o.b, end);
                    memset(o.b + o.len, 0, end - o.len);
                    o.len = end;
                }
            }
        }
    } else { /* any subset of the dirty sectors; the size durable, current or between */
        size_t lo = f->dur_len < cur.len ? f->dur_len : cur.len;
        size_t hi = f->dur_len < cur.len ? cur.len : f->dur_len;
        size_t len;
        unsigned pick = (unsigned)below(rng, 3);
        if (pick == 0)
            len = f->dur_len;
        else if (pick == 1)
            len = cur.len;
        else
            len = lo + (size_t)below(rng, (hi - lo) / SECTOR + 1) * SECTOR;
        if (len > hi)
            len = hi;
        unsigned char *nb = calloc(len ? len : 1, 1);
        if (nb == NULL)
            oom();
        for (size_t s = 0; s < len; s += SECTOR) {
            size_t e = s + SECTOR < len ? s + SECTOR : len;
            bool any = false;
            for (size_t b = s; b < e && !any; b++)
                any = b < maxlen && dirty[b];
            bool take_new = any && below(rng, 2) == 0;
            for (size_t b = s; b < e; b++) {
                const img *src = take_new ? &cur : &o;
                if (b < src->len)
                    nb[b] = src->b[b];
            }
        }
        free(o.b);
        o.b = nb;
        o.len = len;
    }
    /* A torn sector: some of its new bytes hold garbage or zeros. */
    if (f->nops > 0 && below(rng, 4) == 0) {
        size_t cand = 0;
        for (size_t b = 0; b < o.len; b += SECTOR)
            for (size_t k = b; k < b + SECTOR && k < o.len && k < maxlen; k++)
                if (dirty[k]) {
                    cand++;
                    break;
                }
        if (cand > 0) {
            size_t want = (size_t)below(rng, cand), seen = 0;
            bool zeros = below(rng, 2) == 0;
            for (size_t b = 0; b < o.len; b += SECTOR) {
                bool any = false;
                for (size_t k = b; k < b + SECTOR && k < o.len && k < maxlen && !any; k++)
                    any = dirty[k];
                if (!any || seen++ != want)
                    continue;
                size_t start = b + (size_t)below(rng, SECTOR);
                for (size_t k = start; k < b + SECTOR && k < o.len && k < maxlen; k++)
                    if (dirty[k]) {
                        o.b[k] = zeros ? 0 : (unsigned char)tu_rng_next(rng);
                        st->torn_bytes++;
                    }
                break;
            }
        }
    }
    for (size_t b = 0; b < cur.len; b++)
        if (dirty[b] && (b >= o.len || o.b[b] != cur.b[b]))
            st->dropped_bytes++;
    free(dirty);
    free(cur.b);
    *out = o;
}

/* Whether dirop d can be applied to the name map m (what it moves is there, as it was). */
static bool
dirop_apply(pc_names *m, const pc_dirop *d)
{
    switch (d->kind) {
    case DIROP_CREATE:
        if (names_find(m, d->a) >= 0)
            return false;
        names_set(m, d->a, d->file);
        return true;
    case DIROP_RENAME:
        if (names_file(m, d->a) != d->file)
            return false;
        names_del(m, d->a);
        names_set(m, d->b, d->file);
        return true;
    default:
        if (names_file(m, d->a) != d->file)
            return false;
        names_del(m, d->a);
        return true;
    }
}

int
pc_io_image(pc_io *p, tu_rng *rng, const char *out_dir, pc_image_stats *st, char *why, size_t n)
{
    pthread_mutex_lock(&p->mu);
    int rc = -1;
    pc_names m = {0};
    img *imgs = NULL;
    memset(st, 0, sizeof *st);
    if (!p->cut) {
        snprintf(why, n, "pc_io_image before the cut");
        goto done;
    }
    if (mkdir(out_dir, 0700) != 0) {
        snprintf(why, n, "mkdir %s: %s", out_dir, strerror(errno));
        goto done;
    }
    /* The directory: a prefix of the operations (a journal), or any subset. */
    names_copy(&m, &p->dur);
    bool prefix = below(rng, 2) == 0;
    size_t k = (size_t)below(rng, p->ndirops + 1);
    st->dirops = p->ndirops;
    for (size_t i = 0; i < p->ndirops; i++) {
        bool want = prefix ? i < k : below(rng, 2) == 0;
        if (!want || !dirop_apply(&m, &p->dirops[i]))
            st->reverted++;
    }
    imgs = calloc(p->nfiles ? p->nfiles : 1, sizeof *imgs);
    bool *made = calloc(p->nfiles ? p->nfiles : 1, sizeof *made);
    if (imgs == NULL || made == NULL)
        oom();
    for (size_t i = 0; i < m.n; i++) {
        int f = m.v[i].file;
        if (!made[f]) {
            file_image(p->files[f], rng, &imgs[f], st);
            made[f] = true;
        }
        char path[PATH_MAX + PC_NAME];
        snprintf(path, sizeof path, "%s/%s", out_dir, m.v[i].name);
        FILE *fp = fopen(path, "wb");
        bool bad = fp == NULL;
        if (!bad && imgs[f].len > 0 && fwrite(imgs[f].b, 1, imgs[f].len, fp) != imgs[f].len)
            bad = true;
        if (fp != NULL && fclose(fp) != 0)
            bad = true;
        if (bad) {
            snprintf(why, n, "writing %s: %s", path, strerror(errno));
            free(made);
            goto done;
        }
        st->files++;
    }
    free(made);
    rc = 0;
done:
    if (imgs != NULL)
        for (size_t i = 0; i < p->nfiles; i++)
            free(imgs[i].b);
    free(imgs);
    free(m.v);
    pthread_mutex_unlock(&p->mu);
    return rc;
}
