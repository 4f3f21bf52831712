/*
 * tests/fuzz/fuzz_pgwire.c — libFuzzer target: the PostgreSQL wire protocol
 * of cowcatd from raw client bytes, and the server side of SCRAM.
 *
 * The first input byte picks a mode (bits 0-1) and options (bits 2-3):
 *
 *   0  connection, trust: the rest is everything a client sends — startup
 *      packet (or SSLRequest / GSSENCRequest / CancelRequest first), then
 *      typed messages (Q, P/B/D/E/C, S, H, X, F, ...) — to one connection
 *      of a server over a fresh in-memory cowcat
 *   1  as 0, on the internal port (cowcat_system only, trusted)
 *   2  as 0, with SCRAM authentication (SASLInitialResponse and
 *      client-first parsing; the random server nonce stops the exchange at
 *      the client-final message)
 *   3  SCRAM directly: the rest is client-first \0 client-final [\0 verifier]
 *      against srv_scram with a fixed server nonce, so a whole exchange
 *      (RFC 7677's example) can run; verifier: RFC 7677's user "pencil"
 *      unless given; bit 2: a mock exchange (no verifier)
 *
 * A connection runs srv__conn_main — the server's own per-connection body:
 * framing (pgw_read_message), startup, authentication, the simple and
 * extended protocols — on this thread over one end of a socketpair; a
 * helper thread writes the input to the other end, half-closes it and reads
 * everything the server sends until it closes. So frame decoding is the
 * real one, including lengths that promise more than arrives.
 *
 * Oracles (abort() on violation): the server's output is a well-formed
 * sequence of backend messages (after at most two 'N' answers to SSL/GSS
 * requests) whose ReadyForQuery status is I, T or E; the catalog passes
 * cowcat_check afterwards; SCRAM results have the RFC shape. ASan, UBSan and
 * LeakSanitizer catch the rest.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/alloc.h"
#include "internal.h"
#include "server/scram.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RFC_NONCE "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
/* RFC 7677's user: password "pencil", salt W22ZaJ0SNY7soEsUEjb6gQ==, 4096 iterations. */
#define RFC_VERIFIER                                                                               \
    "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:"    \
    "wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU="

static void
die(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_pgwire: %s%s%s\n", what, detail != NULL ? ": " : "",
            detail != NULL ? detail : "");
    abort();
}

/* --- the client side: a helper thread ----------------------------------------------------- */

typedef struct peer {
    int fd;
    const uint8_t *in; /* what the client sends */
    size_t n;
    char *out;         /* what the server sent (malloc) */
    size_t len, cap;
} peer;

static void
peer_keep(peer *p, const char *b, size_t n)
{
    if (p->len + n > p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 4096;
        while (cap < p->len + n)
            cap *= 2;
        char *q = realloc(p->out, cap);
        if (q == NULL)
            abort();
        p->out = q;
        p->cap = cap;
    }
    memcpy(p->out + p->len, b, n);
    p->len += n;
}

/* Writes the input, half-closes, and reads until the server closes. */
static void *
peer_main(void *arg)
{
    peer *p = arg;
    size_t off = 0;
    bool writing = true;
    if (p->n == 0) {
        shutdown(p->fd, SHUT_WR);
        writing = false;
    }
    for (;;) {
        struct pollfd pf = {.fd = p->fd, .events = (short)(POLLIN | (writing ? POLLOUT : 0))};
        if (poll(&pf, 1, -1) < 0) {
            if (errno == EINTR)
                continue;
            die("poll", strerror(errno));
        }
        if (pf.revents & (POLLIN | POLLHUP | POLLERR)) {
            char buf[16384];
            ssize_t r = recv(p->fd, buf, sizeof buf, MSG_DONTWAIT);
            if (r == 0)
                break; /* the server closed */
            if (r > 0)
                peer_keep(p, buf, (size_t)r);
            else if (errno != EAGAIN && errno != EINTR)
                break;
        }
        if (writing && (pf.revents & (POLLOUT | POLLERR | POLLHUP))) {
            ssize_t w = send(p->fd, p->in + off, p->n - off, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (w > 0)
                off += (size_t)w;
            else if (w < 0 && errno != EAGAIN && errno != EINTR)
                off = p->n; /* the server is gone: stop writing */
            if (off == p->n) {
                shutdown(p->fd, SHUT_WR);
                writing = false;
            }
        }
    }
    close(p->fd);
    return NULL;
}

/* Checks the server's bytes: backend messages end to end. */
static bool
well_formed_from(const char *b, size_t n, size_t off)
{
    while (off < n) {
        if (n - off < 5)
            return false;
        uint32_t len = (uint32_t)(uint8_t)b[off + 1] << 24 | (uint32_t)(uint8_t)b[off + 2] << 16 |
                       (uint32_t)(uint8_t)b[off + 3] << 8 | (uint32_t)(uint8_t)b[off + 4];
        if (len < 4 || len - 4 > n - off - 5)
            return false;
        if (b[off] == 'Z') {
            char st = len == 5 ? b[off + 5] : 0;
            if (st != 'I' && st != 'T' && st != 'E')
                die("ReadyForQuery with a bad status", NULL);
        }
        off += 1 + (size_t)len;
    }
    return true;
}

static void
check_output(const peer *p)
{
    /* Up to two SSL/GSS negotiations are each answered by a lone 'N'. */
    for (size_t skip = 0; skip <= 2 && skip <= p->len; skip++) {
        if (skip > 0 && p->out[skip - 1] != 'N')
            break;
        if (well_formed_from(p->out, p->len, skip))
            return;
    }
    die("the server sent a malformed message stream", NULL);
}

/* --- the server side ------------------------------------------------------------------------ */

/* One connection of a server over a fresh in-memory catalog. */
static void
run_connection(const uint8_t *data, size_t size, bool internal, srv_auth auth)
{
    srv_server *s = cc_calloc(1, sizeof *s);
    if (s == NULL)
        abort();
    s->opts.auth = auth;
    s->opts.log_level = SRV_LOG_ERROR;
    s->opts.max_connections = 4;
    s->opts.backend = COWCAT_BACKEND_MEMORY;
    s->internal_trusted = true;
    s->fds[0] = s->fds[1] = -1;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->idle, NULL);
    if (pipe2(s->stop_pipe, O_CLOEXEC) != 0)
        die("pipe", strerror(errno));
    cowcat_options co = {.backend = COWCAT_BACKEND_MEMORY};
    cowcat_error ce;
    if (cowcat_open(&co, &s->db, &ce) != COWCAT_OK)
        die("cowcat_open", ce.message);
    cc_err err;
    if (srv_metrics_new(&s->metrics, &err) != CC_OK)
        die("srv_metrics_new", err.msg);

    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        die("socketpair", strerror(errno));
    srv_conn *c = cc_calloc(1, sizeof *c);
    if (c == NULL)
        abort();
    c->srv = s;
    c->fd = sv[0];
    c->internal = internal;
    c->pid = s->next_pid = 1;
    c->key = 12345;
    snprintf(c->peer, sizeof c->peer, "fuzz");
    s->conns = c;
    s->nconns = 1;

    peer p = {.fd = sv[1], .in = data, .n = size};
    pthread_t t;
    if (pthread_create(&t, NULL, peer_main, &p) != 0)
        die("pthread_create", NULL);
    srv__conn_main(c); /* frees c and closes its end */
    pthread_join(t, NULL);
    check_output(&p);
    free(p.out);
    if (s->nconns != 0 || s->conns != NULL || s->nsessions != 0)
        die("the connection did not leave the server's books balanced", NULL);

    if (cowcat_check(s->db, &ce) != COWCAT_OK)
        die("cowcat_check", ce.message);
    cowcat_close(s->db);
    srv_metrics_free(s->metrics);
    close(s->stop_pipe[0]);
    close(s->stop_pipe[1]);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->idle);
    cc_free(s);
}

/* --- SCRAM directly ------------------------------------------------------------------------- */

static void
run_scram(const uint8_t *data, size_t size, bool mock)
{
    /* Up to three NUL-separated parts, copied so each is NUL-terminated. */
    char *buf = malloc(size + 1);
    if (buf == NULL)
        abort();
    memcpy(buf, data, size);
    buf[size] = '\0';
    const char *part[3] = {buf, NULL, NULL};
    size_t len[3] = {0, 0, 0};
    size_t np = 1;
    for (size_t i = 0; i < size && np < 3; i++)
        if (buf[i] == '\0')
            part[np++] = buf + i + 1;
    for (size_t i = 0; i < np; i++) {
        const char *end = i + 1 < np ? part[i + 1] - 1 : buf + size;
        len[i] = (size_t)(end - part[i]);
    }
    const char *verifier = mock ? NULL : np == 3 ? part[2] : RFC_VERIFIER;

    srv_scram *s = NULL;
    cc_err err;
    cc_code rc = srv_scram_new_with_nonce("user", verifier, RFC_NONCE, &s, &err);
    if (rc != CC_OK)
        die("srv_scram_new_with_nonce", err.msg);
    char *out = NULL;
    rc = srv_scram_first(s, part[0], len[0], &out, &err);
    if (rc == CC_OK) {
        if (out == NULL || strncmp(out, "r=", 2) != 0 || strstr(out, RFC_NONCE) == NULL)
            die("server-first without the server nonce", out);
        cc_free(out);
        out = NULL;
        if (np >= 2) {
            rc = srv_scram_final(s, part[1], len[1], &out, &err);
            if (rc == CC_OK && (mock || out == NULL || strncmp(out, "v=", 2) != 0))
                die("a final message accepted wrongly", out);
            if (rc != CC_OK && rc != CC_PROTO && rc != CC_PERMISSION)
                die("srv_scram_final: unexpected code", err.msg);
            cc_free(out);
            out = NULL;
        }
    } else if (rc != CC_PROTO) {
        die("srv_scram_first: unexpected code", err.msg);
    }
    /* After the exchange (or a failure) every call is refused. */
    if (srv_scram_first(s, part[0], len[0], &out, &err) != CC_PROTO)
        die("a second client-first accepted", NULL);
    srv_scram_free(s);
    free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t mode = data[0];
    switch (mode & 3) {
    case 0:
        run_connection(data + 1, size - 1, false, SRV_AUTH_TRUST);
        break;
    case 1:
        run_connection(data + 1, size - 1, true, SRV_AUTH_TRUST);
        break;
    case 2:
        run_connection(data + 1, size - 1, false, SRV_AUTH_SCRAM);
        break;
    default:
        run_scram(data + 1, size - 1, (mode & 4) != 0);
        break;
    }
    return 0;
}
