/*
 * server/src/pgwire.c — protocol 3.0 framing (see server/pgwire.h).
 *
 * Input is read into one growing buffer per connection; a message is
 * handed out only when all of it is there, and the buffer is compacted
 * before the next read, so a connection holds at most one message plus
 * what the kernel gave with it. Lengths are checked before anything is
 * allocated for them. A buffer (input or output) that one big message grew
 * past PGW_KEEP_BYTES is freed once that message is done, so an idle
 * connection holds little whatever it sent or was sent before. A Query or
 * Parse longer than the statement limit is not buffered at all: its body
 * is read and dropped in PGW_SKIP_CHUNK pieces (skip_statement).
 */
#include "server/pgwire.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"

#define PGW_KEEP_BYTES (256u << 10) /* larger buffers are freed when they empty */

/* --- output ------------------------------------------------------------------------ */

void
pgw_buf_init(pgw_buf *b)
{
    memset(b, 0, sizeof *b);
}

void
pgw_buf_fini(pgw_buf *b)
{
    cc_free(b->data);
    memset(b, 0, sizeof *b);
}

void
pgw_buf_reset(pgw_buf *b)
{
    b->len = 0;
    b->start = 0;
    b->failed = false;
}

static bool
reserve(pgw_buf *b, size_t n)
{
    if (b->failed)
        return false;
    if (b->len + n <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n)
        cap *= 2;
    char *p = cc_realloc(b->data, cap);
    if (p == NULL) {
        b->failed = true;
        return false;
    }
    b->data = p;
    b->cap = cap;
    return true;
}

void
pgw_put_bytes(pgw_buf *b, const void *p, size_t n)
{
    if (n == 0 || !reserve(b, n))
        return;
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

void
pgw_put_u8(pgw_buf *b, uint8_t v)
{
    pgw_put_bytes(b, &v, 1);
}

void
pgw_put_i16(pgw_buf *b, int16_t v)
{
    uint16_t be = htons((uint16_t)v);
    pgw_put_bytes(b, &be, 2);
}

void
pgw_put_i32(pgw_buf *b, int32_t v)
{
    uint32_t be = htonl((uint32_t)v);
    pgw_put_bytes(b, &be, 4);
}

void
pgw_put_str(pgw_buf *b, const char *s)
{
    pgw_put_bytes(b, s, strlen(s) + 1);
}

void
pgw_msg_begin(pgw_buf *b, char type)
{
    pgw_put_u8(b, (uint8_t)type);
    b->start = b->len;
    pgw_put_i32(b, 0);
}

void
pgw_msg_end(pgw_buf *b)
{
    if (b->failed)
        return;
    uint32_t be = htonl((uint32_t)(b->len - b->start));
    memcpy(b->data + b->start, &be, 4);
}

bool
pgw_flush(int fd, pgw_buf *b)
{
    if (b->failed)
        return false;
    size_t off = 0;
    while (off < b->len) {
        ssize_t w = send(fd, b->data + off, b->len - off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        off += (size_t)w;
    }
    pgw_buf_reset(b);
    if (b->cap > PGW_KEEP_BYTES) {
        cc_free(b->data);
        b->data = NULL;
        b->cap = 0;
    }
    return true;
}

/* --- frontend message bodies ----------------------------------------------------------- */

void
pgw_reader_init(pgw_reader *r, const char *p, size_t n)
{
    r->p = p;
    r->n = n;
    r->off = 0;
    r->bad = false;
}

bool
pgw_get_bytes(pgw_reader *r, size_t n, const char **out)
{
    if (r->bad || n > r->n - r->off) {
        r->bad = true;
        return false;
    }
    *out = r->p + r->off;
    r->off += n;
    return true;
}

bool
pgw_get_i16(pgw_reader *r, int16_t *out)
{
    const char *p;
    if (!pgw_get_bytes(r, 2, &p))
        return false;
    uint16_t be;
    memcpy(&be, p, 2);
    *out = (int16_t)ntohs(be);
    return true;
}

bool
pgw_get_i32(pgw_reader *r, int32_t *out)
{
    const char *p;
    if (!pgw_get_bytes(r, 4, &p))
        return false;
    uint32_t be;
    memcpy(&be, p, 4);
    *out = (int32_t)ntohl(be);
    return true;
}

bool
pgw_get_str(pgw_reader *r, const char **out)
{
    if (r->bad)
        return false;
    const char *nul = memchr(r->p + r->off, '\0', r->n - r->off);
    if (nul == NULL) {
        r->bad = true;
        return false;
    }
    *out = r->p + r->off;
    r->off = (size_t)(nul - r->p) + 1;
    return true;
}

bool
pgw_reader_done(const pgw_reader *r)
{
    return !r->bad && r->off == r->n;
}

/* --- input ---------------------------------------------------------------------------- */

void
pgw_in_init(pgw_in *in, int fd)
{
    memset(in, 0, sizeof *in);
    in->fd = fd;
}

void
pgw_in_fini(pgw_in *in)
{
    cc_free(in->buf);
    memset(in, 0, sizeof *in);
}

/* Makes room for want more bytes after what is held (dropping consumed bytes first). */
static bool
in_reserve(pgw_in *in, size_t want)
{
    if (in->off > 0) {
        memmove(in->buf, in->buf + in->off, in->len - in->off);
        in->len -= in->off;
        in->off = 0;
    }
    if (in->len + want <= in->cap)
        return true;
    size_t cap = in->cap ? in->cap : 8192;
    while (cap < in->len + want)
        cap *= 2;
    char *p = cc_realloc(in->buf, cap);
    if (p == NULL)
        return false;
    in->buf = p;
    in->cap = cap;
    return true;
}

/*
 * Waits until at least need bytes are held. idle: no byte of the current
 * message has arrived yet (a clean EOF or a stop is allowed).
 */
static pgw_read_result
fill(pgw_in *in, size_t need, int stop_fd)
{
    while (in->len - in->off < need) {
        bool idle = in->len == in->off;
        if (!in_reserve(in, need - (in->len - in->off) < 4096 ? 4096 : need - (in->len - in->off)))
            return PGW_READ_NOMEM;
        struct pollfd pf[2] = {{.fd = in->fd, .events = POLLIN}, {.fd = stop_fd, .events = POLLIN}};
        int npf = idle && stop_fd >= 0 ? 2 : 1;
        int pr = poll(pf, (nfds_t)npf, idle && in->idle_timeout_ms > 0 ? in->idle_timeout_ms : -1);
        if (pr == 0)
            return PGW_READ_TIMEOUT;
        if (pr < 0) {
            if (errno == EINTR)
                continue;
            return idle ? PGW_READ_EOF : PGW_READ_TRUNCATED;
        }
        if (npf == 2 && (pf[1].revents & POLLIN) && !(pf[0].revents & POLLIN))
            return PGW_READ_STOP;
        ssize_t r = recv(in->fd, in->buf + in->len, in->cap - in->len, 0);
        if (r < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (r <= 0)
            return idle ? PGW_READ_EOF : PGW_READ_TRUNCATED;
        in->len += (size_t)r;
    }
    return PGW_READ_OK;
}

/* A Query or Parse body of n bytes that pgw_in.statement_limit refuses. */
static bool
statement_over(const pgw_in *in, char type, size_t n)
{
    if (in->statement_limit == 0)
        return false;
    if (type == 'Q')
        return n > in->statement_limit + 1;
    return type == 'P' && n > in->statement_limit + 2 + PGW_PARSE_EXTRA;
}

/*
 * Reads and drops the n-byte body of a Query or Parse whose header (head
 * bytes) is held, a chunk at a time; *stmt_len: the length of its
 * statement (Query: the first string, Parse: the second), or n.
 */
static pgw_read_result
skip_statement(pgw_in *in, size_t head, char type, size_t n, size_t *stmt_len)
{
    unsigned nul = 0, want = type == 'P' ? 2 : 1; /* the statement ends at NUL number want */
    size_t pos = 0, start = 0;                    /* start: where the statement begins */
    int idle_timeout = in->idle_timeout_ms;       /* the message has begun: no idle timeout */
    pgw_read_result rr = PGW_READ_STATEMENT_TOO_LONG;
    *stmt_len = n;
    in->off += head;
    in->idle_timeout_ms = 0;
    while (pos < n) {
        if (in->len == in->off) {
            pgw_read_result fr = fill(in, n - pos < PGW_SKIP_CHUNK ? n - pos : PGW_SKIP_CHUNK, -1);
            if (fr != PGW_READ_OK) {
                rr = fr == PGW_READ_EOF ? PGW_READ_TRUNCATED : fr;
                break;
            }
        }
        size_t take = in->len - in->off < n - pos ? in->len - in->off : n - pos;
        const char *p = in->buf + in->off, *z;
        for (size_t i = 0; nul < want && (z = memchr(p + i, 0, take - i)) != NULL;) {
            i = (size_t)(z - p) + 1;
            if (++nul == want)
                *stmt_len = pos + (size_t)(z - p) - start;
            else
                start = pos + i;
        }
        in->off += take;
        pos += take;
    }
    in->idle_timeout_ms = idle_timeout;
    return rr;
}

pgw_read_result
pgw_read_message(pgw_in *in, bool startup, size_t limit, int stop_fd, char *type,
                 const char **body, size_t *n)
{
    size_t head = startup ? 4 : 5;
    if (in->off == in->len && in->cap > PGW_KEEP_BYTES) { /* the last body is dead now */
        cc_free(in->buf);
        in->buf = NULL;
        in->cap = in->len = in->off = 0;
    }
    pgw_read_result rr = fill(in, head, stop_fd);
    if (rr != PGW_READ_OK)
        return rr;
    const char *p = in->buf + in->off;
    *type = startup ? 0 : p[0];
    uint32_t be;
    memcpy(&be, p + (startup ? 0 : 1), 4);
    uint32_t len = ntohl(be);
    if (len < 4 || len - 4 > limit) {
        in->off += head;
        *n = len < 4 ? 0 : len - 4;
        return PGW_READ_TOO_LONG;
    }
    if (!startup && statement_over(in, *type, len - 4)) {
        *body = NULL;
        return skip_statement(in, head, *type, len - 4, n);
    }
    /* From here the message has begun: a close is a truncation. */
    rr = fill(in, head + (len - 4), -1);
    if (rr == PGW_READ_EOF)
        rr = PGW_READ_TRUNCATED;
    if (rr != PGW_READ_OK)
        return rr;
    *body = in->buf + in->off + head;
    *n = len - 4;
    in->off += head + (len - 4);
    return PGW_READ_OK;
}

void
pgw_drain(pgw_in *in, size_t n, int timeout_ms, int stop_fd)
{
    size_t held = in->len - in->off < n ? in->len - in->off : n;
    in->off += held;
    n -= held;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    char buf[16384];
    while (n > 0) {
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        long spent = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
        if (spent >= timeout_ms)
            return;
        struct pollfd pf[2] = {{.fd = in->fd, .events = POLLIN}, {.fd = stop_fd, .events = POLLIN}};
        int pr = poll(pf, stop_fd >= 0 ? 2 : 1, (int)(timeout_ms - spent));
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0 || (stop_fd >= 0 && (pf[1].revents & POLLIN)))
            return;
        ssize_t r = recv(in->fd, buf, n < sizeof buf ? n : sizeof buf, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return;
        n -= (size_t)r;
    }
}
