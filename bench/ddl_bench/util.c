/*
 * bench/ddl_bench/util.c — small helpers of ddl_bench: the clock, the
 * progress bar, the fdatasync floor, files and directories, free ports,
 * JSON string escaping.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ddl_bench.h"

double
ddlb_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

void
ddlb_err_set(ddlb_err *e, const char *fmt, ...)
{
    if (e == NULL)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
}

int
ddlb_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of n sorted values (p in [0, 1]); 0 for n == 0. */
double
ddlb_percentile(const double *sorted, int n, double p)
{
    if (n <= 0)
        return 0;
    long rank = (long)(p * n + 0.999999); /* ceil(p n), 1-based */
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return sorted[rank - 1];
}

/*
 * Draws "what [#####.....] done/total unit, rate/s, ETA s" over the current
 * stderr line, at most every 100 ms (*last_us: when it last drew; start it
 * at 0) and always at the end; nothing unless cfg->progress (stderr is a
 * terminal).
 */
void
ddlb_progress(const ddlb_config *cfg, const char *what, double done, double total,
              const char *unit, double t0_us, double *last_us)
{
    double now = ddlb_now_us();
    if (!cfg->progress || (now - *last_us < 100e3 && done < total))
        return;
    *last_us = now;
    double secs = (now - t0_us) / 1e6;
    double rate = secs > 0 ? done / secs : 0;
    double eta = rate > 0 ? (total - done) / rate : 0;
    char bar[21];
    int fill = total > 0 ? (int)(20 * done / total) : 20;
    for (int i = 0; i < 20; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[20] = '\0';
    fprintf(stderr, "\r\033[K%s [%s] %.0f/%.0f %s, %.0f %s/s, ETA %.0f s", what, bar, done, total,
            unit, rate, unit, eta);
    fflush(stderr);
}

/* Ends a progress line. */
void
ddlb_progress_end(const ddlb_config *cfg)
{
    if (cfg->progress)
        fprintf(stderr, "\r\033[K");
}

/*
 * The fdatasync floor of dir's filesystem: samples appends of 4 KiB to a
 * scratch file, each followed by fdatasync (what a log commit costs at
 * least). p50/p95 in µs. Errors: the file could not be written.
 */
int
ddlb_fdatasync_floor(const char *dir, int samples, double *p50, double *p95, ddlb_err *e)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/fdatasync-floor.tmp", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
    if (fd < 0) {
        ddlb_err_set(e, "fdatasync floor: open %s: %s", path, strerror(errno));
        return DDLB_FAIL;
    }
    static const char block[4096];
    double *us = calloc((size_t)samples, sizeof *us);
    int rc = us == NULL ? DDLB_FAIL : DDLB_OK;
    for (int i = 0; rc == DDLB_OK && i < samples; i++) {
        double t0 = ddlb_now_us();
        if (write(fd, block, sizeof block) != (ssize_t)sizeof block || fdatasync(fd) != 0) {
            ddlb_err_set(e, "fdatasync floor: %s: %s", path, strerror(errno));
            rc = DDLB_FAIL;
        }
        us[i] = ddlb_now_us() - t0;
    }
    close(fd);
    unlink(path);
    if (rc == DDLB_OK) {
        qsort(us, (size_t)samples, sizeof *us, ddlb_cmp_double);
        *p50 = ddlb_percentile(us, samples, 0.50);
        *p95 = ddlb_percentile(us, samples, 0.95);
    }
    free(us);
    return rc;
}

/* mkdir -p path (mode 0755). */
int
ddlb_mkdir_p(const char *path, ddlb_err *e)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
        ddlb_err_set(e, "path too long: %s", path);
        return DDLB_FAIL;
    }
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
                ddlb_err_set(e, "mkdir %s: %s", buf, strerror(errno));
                return DDLB_FAIL;
            }
            *p = c;
            if (c == '\0')
                break;
        }
    }
    return DDLB_OK;
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

/* rm -rf path. */
void
ddlb_rmtree(const char *path)
{
    (void)nftw(path, rm_entry, 32, FTW_DEPTH | FTW_PHYS);
}

bool
ddlb_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* A TCP port on 127.0.0.1 that was free a moment ago (bind to 0, read, close); 0 on error. */
int
ddlb_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return 0;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int port = 0;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

/* s as the inside of a JSON string (quotes, backslashes, control characters escaped). */
char *
ddlb_json_escape(const char *s, char *out, size_t n)
{
    size_t o = 0;
    for (; *s != '\0' && o + 7 < n; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c < 0x20) {
            o += (size_t)snprintf(out + o, n - o, "\\u%04x", c);
        } else {
            out[o++] = (char)c;
        }
    }
    out[o] = '\0';
    return out;
}

/* Finds prog in $PATH; its full path into out. */
bool
ddlb_find_in_path(const char *prog, char *out, size_t n)
{
    const char *path = getenv("PATH");
    if (path == NULL)
        path = "/usr/local/bin:/usr/bin:/bin";
    while (*path != '\0') {
        size_t len = strcspn(path, ":");
        snprintf(out, n, "%.*s/%s", (int)len, path, prog);
        if (len > 0 && access(out, X_OK) == 0)
            return true;
        path += len;
        if (*path == ':')
            path++;
    }
    return false;
}
