/*
 * tools/src/util.c — the small helpers of tools/src/internal.h: a write
 * buffer over a file descriptor, directory operations (sync, recursive
 * removal, emptiness, the persist lock) and progress reporting.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/wire.h"
#include "internal.h"

#ifndef COWCAT_VERSION_STRING
#error "COWCAT_VERSION_STRING must be defined by the build (tools/CMakeLists.txt)"
#endif

const char *
tools_version(void)
{
    return COWCAT_VERSION_STRING;
}

const char *
tools_collection_name(dur_collection coll)
{
    const char *n = dur_collection_name(coll);
    return n != NULL ? n : "?";
}

cc_code
tools__io_error(cc_err *err, const char *what, const char *path, int errnum)
{
    char buf[128];
    const char *msg = strerror_r(errnum, buf, sizeof buf);
    return cc_err_set(err, CC_IO, "could not %s \"%s\": %s", what, path, msg);
}

/* --- the write buffer ------------------------------------------------------------------ */

cc_code
tools__out_init(tools__out *o, int fd, const char *path, size_t cap, cc_err *err)
{
    memset(o, 0, sizeof *o);
    o->fd = fd;
    o->path = path;
    o->buf = cc_malloc(cap);
    if (o->buf == NULL)
        return cc_err_set(err, CC_NOMEM, "out of memory allocating an output buffer");
    o->cap = cap;
    return CC_OK;
}

cc_code
tools__out_flush(tools__out *o, cc_err *err)
{
    size_t off = 0;
    if (o->fd < 0)
        return CC_OK; /* a memory sink keeps everything */
    while (off < o->len) {
        ssize_t w = write(o->fd, o->buf + off, o->len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return tools__io_error(err, "write to", o->path, w < 0 ? errno : EIO);
        off += (size_t)w;
    }
    o->written += o->len;
    o->len = 0;
    return CC_OK;
}

/* A memory sink (fd < 0) grows instead of flushing. */
static cc_code
grow(tools__out *o, size_t n, cc_err *err)
{
    size_t cap = o->cap;
    while (cap - o->len < n)
        cap *= 2;
    uint8_t *nb = cc_realloc(o->buf, cap);
    if (nb == NULL)
        return cc_err_set(err, CC_NOMEM, "out of memory encoding a dump");
    o->buf = nb;
    o->cap = cap;
    return CC_OK;
}

cc_code
tools__out_put(tools__out *o, const void *p, size_t n, cc_err *err)
{
    const uint8_t *b = p;
    if (o->fd < 0 && o->cap - o->len < n) {
        cc_code rc = grow(o, n, err);
        if (rc != CC_OK)
            return rc;
    }
    while (n > 0) {
        if (o->len == o->cap) {
            cc_code rc = tools__out_flush(o, err);
            if (rc != CC_OK)
                return rc;
        }
        size_t k = o->cap - o->len < n ? o->cap - o->len : n;
        memcpy(o->buf + o->len, b, k);
        o->len += k;
        b += k;
        n -= k;
    }
    return CC_OK;
}

void
tools__out_fini(tools__out *o)
{
    cc_free(o->buf);
    o->buf = NULL;
}

/* --- directories --------------------------------------------------------------------- */

cc_code
tools__sync_dir(const char *path, cc_err *err)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return tools__io_error(err, "open directory", path, errno);
    int r = fsync(fd);
    int e = errno;
    close(fd);
    return r == 0 ? CC_OK : tools__io_error(err, "fsync directory", path, e);
}

static int
remove_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path) == 0 || errno == ENOENT ? 0 : errno;
}

int
tools__remove_tree(const char *path)
{
    int r = nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS);
    if (r == -1)
        return errno == ENOENT ? 0 : errno;
    return r;
}

void
tools__split_path(const char *path, char *dir, char *base, size_t cap)
{
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/') /* "a/b/" names b */
        n--;
    size_t slash = n;
    while (slash > 0 && path[slash - 1] != '/')
        slash--;
    snprintf(base, cap, "%.*s", (int)(n - slash), path + slash);
    if (slash == 0)
        snprintf(dir, cap, ".");
    else if (slash == 1)
        snprintf(dir, cap, "/");
    else
        snprintf(dir, cap, "%.*s", (int)(slash - 1), path);
}

int
tools__dir_has_entries(const char *path)
{
    DIR *d = opendir(path);
    if (d == NULL)
        return -1;
    int found = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            found = 1;
            break;
        }
    closedir(d);
    return found;
}

bool
tools__lock_held(const char *dir, long *pid)
{
    char path[4096];
    *pid = 0;
    snprintf(path, sizeof path, "%s/LOCK", dir);
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return false;
    bool held = false;
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        held = errno == EWOULDBLOCK;
        char buf[32];
        ssize_t r = pread(fd, buf, sizeof buf - 1, 0);
        if (held && r > 0) {
            buf[r] = '\0';
            *pid = strtol(buf, NULL, 10);
        }
    } else {
        flock(fd, LOCK_UN);
    }
    close(fd);
    return held;
}

/* --- progress ----------------------------------------------------------------------- */

void
tools__progress_start(tools__progress *p, tools_progress_fn fn, void *arg, const char *phase,
                      uint64_t total)
{
    p->fn = fn;
    p->arg = arg;
    p->phase = phase;
    p->total = total;
    p->step = total / 100 > 1000 ? total / 100 : 1000;
    p->next = p->step;
    p->last = UINT64_MAX;
}

void
tools__progress_done(tools__progress *p)
{
    if (p->fn != NULL && p->last != p->total)
        p->fn(p->arg, p->phase, p->total, p->total);
    p->last = p->total;
}

/* --- values ------------------------------------------------------------------------- */

cat_kind
tools__item_kind(pmap_bytes value)
{
    uint64_t k;
    if (!cc_wire_scan_varint(value.ptr, value.len, 3, &k))
        return CAT_NKIND;
    switch (k) {
    case COWCAT__CATALOG__ITEM_KIND__ITEM_KIND_TABLE:
        return CAT_KIND_TABLE;
    case COWCAT__CATALOG__ITEM_KIND__ITEM_KIND_VIEW:
        return CAT_KIND_VIEW;
    case COWCAT__CATALOG__ITEM_KIND__ITEM_KIND_MATERIALIZED_VIEW:
        return CAT_KIND_MATERIALIZED_VIEW;
    case COWCAT__CATALOG__ITEM_KIND__ITEM_KIND_INDEX:
        return CAT_KIND_INDEX;
    case COWCAT__CATALOG__ITEM_KIND__ITEM_KIND_TYPE:
        return CAT_KIND_TYPE;
    default:
        return CAT_NKIND;
    }
}
