/*
 * server/src/http.c — the metrics endpoint: a tiny HTTP/1.0 server on its own
 * thread answering GET /metrics with srv_metrics_render's text.
 *
 * One thread runs a poll() loop over a self-pipe (srv_http_stop writes a
 * byte to it, so stop is prompt even with idle clients), the non-blocking
 * listening socket and up to HTTP_MAX_CONNS client connections. Each
 * connection lives through two states and is then closed:
 *
 *   accept --> READ (until the blank line ending the headers) --> WRITE (the
 *              whole response) --> shutdown(SHUT_WR), close
 *
 * A connection is dropped without an answer if its request grows past
 * HTTP_MAX_REQUEST bytes before the end of the headers, if the client goes
 * away, or if it is not done HTTP_DEADLINE_MS after it was accepted (slow
 * readers included). Only the request line is looked at: GET answers 200
 * (/metrics) or 404 (any other path), any other method 405, a request line
 * that is not "METHOD /target HTTP/x" 400, a failed render 500. Every
 * response carries Content-Length and Connection: close.
 *
 * Each scrape opens its own session for the object counts and closes it
 * after: a session held for the server's life would count as a user of
 * database "cowcat" and keep DROP DATABASE from ever succeeding (55006). If
 * the session cannot be opened (that database was dropped), the counts by
 * kind are left out and the rest is served.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "server/metrics.h"

#define HTTP_MAX_CONNS    16
#define HTTP_MAX_REQUEST  8192  /* bytes of request line and headers */
#define HTTP_DEADLINE_MS  5000  /* per connection, from accept to the last byte sent */
#define HTTP_EMFILE_PAUSE 100   /* ms without accepting after running out of descriptors */

typedef enum conn_state { CONN_READ, CONN_WRITE } conn_state;

/* One client connection; req and resp are owned. */
typedef struct conn {
    int fd;            /* non-blocking */
    conn_state state;
    int64_t deadline;  /* monotonic ms: dropped after this */
    char *req;         /* HTTP_MAX_REQUEST + 1 bytes; READ only */
    size_t nreq;       /* bytes of req received */
    char *resp;        /* the whole response; WRITE only */
    size_t nresp;      /* its length */
    size_t sent;       /* bytes of resp sent */
} conn;

struct srv_http {
    srv_metrics *m;          /* borrowed; outlives the listener */
    cowcat *db;              /* borrowed; may be NULL */
    int lfd;                 /* listening socket, non-blocking */
    int wake[2];             /* self-pipe: [0] polled by the thread, [1] written by stop */
    pthread_t thread;
    conn conns[HTTP_MAX_CONNS]; /* [0, nconns) in use; HTTP thread only */
    int nconns;
};

static int64_t
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
conn_close(srv_http *h, int i)
{
    conn *c = &h->conns[i];
    close(c->fd);
    cc_free(c->req);
    cc_free(c->resp);
    h->conns[i] = h->conns[--h->nconns];
}

/* --- requests ------------------------------------------------------------------------------ */

/* Builds c's response (status, headers, body) into c->resp; false if out of memory. */
static bool
respond(conn *c, int status, const char *reason, const char *extra, const char *body,
        size_t nbody)
{
    char head[256];
    int nh = snprintf(head, sizeof head,
                      "HTTP/1.0 %d %s\r\n"
                      "Content-Type: %s\r\n"
                      "Content-Length: %zu\r\n"
                      "%s"
                      "Connection: close\r\n\r\n",
                      status, reason,
                      status == 200 ? "text/plain; version=0.0.4; charset=utf-8"
                                    : "text/plain; charset=utf-8",
                      nbody, extra);
    CC_ASSERT(nh > 0 && (size_t)nh < sizeof head);
    c->resp = cc_malloc((size_t)nh + nbody);
    if (c->resp == NULL)
        return false;
    memcpy(c->resp, head, (size_t)nh);
    memcpy(c->resp + nh, body, nbody);
    c->nresp = (size_t)nh + nbody;
    c->sent = 0;
    c->state = CONN_WRITE;
    cc_free(c->req);
    c->req = NULL;
    return true;
}

static bool
respond_text(conn *c, int status, const char *reason, const char *extra, const char *body)
{
    return respond(c, status, reason, extra, body, strlen(body));
}

/* True if the characters of s[0..n) are an HTTP token (a method). */
static bool
is_token(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') || s[i] == '-' ||
              s[i] == '_'))
            return false;
    return true;
}

/*
 * Answers the complete request in c->req (request line ends at the first
 * '\n'). False if the response could not be built (out of memory).
 */
static bool
handle_request(srv_http *h, conn *c)
{
    const char *line = c->req, *eol = memchr(line, '\n', c->nreq);
    size_t n = (size_t)(eol - line);
    if (n > 0 && line[n - 1] == '\r')
        n--;
    const char *sp1 = memchr(line, ' ', n);
    const char *target = sp1 ? sp1 + 1 : NULL;
    const char *sp2 = target ? memchr(target, ' ', n - (size_t)(target - line)) : NULL;
    const char *version = sp2 ? sp2 + 1 : NULL;
    if (version == NULL || !is_token(line, (size_t)(sp1 - line)) || *target != '/' ||
        (size_t)(line + n - version) < 5 || memcmp(version, "HTTP/", 5) != 0)
        return respond_text(c, 400, "Bad Request", "", "bad request\n");
    if ((size_t)(sp1 - line) != 3 || memcmp(line, "GET", 3) != 0)
        return respond_text(c, 405, "Method Not Allowed", "Allow: GET\r\n",
                            "method not allowed\n");
    size_t npath = (size_t)(sp2 - target);
    const char *q = memchr(target, '?', npath);
    if (q != NULL)
        npath = (size_t)(q - target);
    if (npath != 8 || memcmp(target, "/metrics", 8) != 0)
        return respond_text(c, 404, "Not Found", "", "not found\n");

    char *text;
    cc_err err;
    cc_err_clear(&err);
    cowcat_session *session = NULL;
    cowcat_error e;
    if (h->db != NULL && cowcat_session_open(h->db, NULL, &session, &e) != COWCAT_OK)
        session = NULL; /* no counts by kind this time */
    cc_code rc = srv_metrics_render(h->m, h->db, session, &text, &err);
    if (session != NULL)
        cowcat_session_close(session);
    if (rc != CC_OK) {
        char msg[CC_ERR_MSG_MAX + 1];
        snprintf(msg, sizeof msg, "%s\n", err.msg);
        return respond_text(c, 500, "Internal Server Error", "", msg);
    }
    bool ok = respond(c, 200, "OK", "", text, strlen(text));
    cc_free(text);
    return ok;
}

/* True once req holds the end of the headers (a blank line); bytes before from were
 * looked at already (so a client sending one byte at a time costs linear time). */
static bool
request_complete(const conn *c, size_t from)
{
    for (size_t i = from > 1 ? from : 1; i < c->nreq; i++)
        if (c->req[i] == '\n' &&
            (c->req[i - 1] == '\n' || (i >= 2 && c->req[i - 1] == '\r' && c->req[i - 2] == '\n')))
            return true;
    return false;
}

/* --- connection I/O ------------------------------------------------------------------------ */

/* Sends what the socket takes. Returns false when the connection is finished or broken. */
static bool
conn_write(conn *c)
{
    while (c->sent < c->nresp) {
        ssize_t k = send(c->fd, c->resp + c->sent, c->nresp - c->sent, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return true;
        if (k <= 0)
            return false; /* EPIPE, ECONNRESET: the client went away */
        c->sent += (size_t)k;
    }
    shutdown(c->fd, SHUT_WR);
    return false;
}

/* Reads what has arrived and answers once the request is complete. Returns false to drop. */
static bool
conn_read(srv_http *h, conn *c)
{
    for (;;) {
        if (c->nreq == HTTP_MAX_REQUEST)
            return false; /* too large */
        ssize_t k = recv(c->fd, c->req + c->nreq, HTTP_MAX_REQUEST - c->nreq, 0);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return true;
        if (k <= 0)
            return false; /* closed or reset before a complete request */
        size_t from = c->nreq;
        c->nreq += (size_t)k;
        if (request_complete(c, from)) {
            if (!handle_request(h, c))
                return false;
            return conn_write(c);
        }
    }
}

/* Accepts waiting clients while there is room. Returns the time to pause accepting until. */
static int64_t
accept_clients(srv_http *h)
{
    while (h->nconns < HTTP_MAX_CONNS) {
        int fd = accept4(h->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                return now_ms() + HTTP_EMFILE_PAUSE;
            return 0; /* EAGAIN: nobody waiting */
        }
        char *req = cc_malloc(HTTP_MAX_REQUEST + 1);
        if (req == NULL) {
            close(fd);
            return now_ms() + HTTP_EMFILE_PAUSE;
        }
        h->conns[h->nconns++] = (conn){.fd = fd,
                                       .state = CONN_READ,
                                       .deadline = now_ms() + HTTP_DEADLINE_MS,
                                       .req = req};
    }
    return 0;
}

/* The HTTP thread: serves until the self-pipe becomes readable. */
static void *
http_main(void *arg)
{
    srv_http *h = arg;
    int64_t pause_until = 0;
    struct pollfd pfd[2 + HTTP_MAX_CONNS];
    for (;;) {
        int64_t now = now_ms();
        for (int i = h->nconns - 1; i >= 0; i--)
            if (now >= h->conns[i].deadline)
                conn_close(h, i);
        int64_t wake_at = -1;
        pfd[0] = (struct pollfd){.fd = h->wake[0], .events = POLLIN};
        int listening = h->nconns < HTTP_MAX_CONNS && now >= pause_until;
        pfd[1] = (struct pollfd){.fd = listening ? h->lfd : -1, .events = POLLIN};
        if (h->nconns < HTTP_MAX_CONNS && now < pause_until)
            wake_at = pause_until;
        for (int i = 0; i < h->nconns; i++) {
            conn *c = &h->conns[i];
            pfd[2 + i] = (struct pollfd){
                .fd = c->fd, .events = c->state == CONN_READ ? POLLIN : POLLOUT};
            if (wake_at < 0 || c->deadline < wake_at)
                wake_at = c->deadline;
        }
        int timeout = wake_at < 0 ? -1 : (int)(wake_at > now ? wake_at - now : 0);
        int nconns = h->nconns;
        if (poll(pfd, (nfds_t)(2 + nconns), timeout) < 0) {
            if (errno != EINTR)
                poll(NULL, 0, 10); /* ENOMEM: back off, then retry */
            continue;
        }
        if (pfd[0].revents != 0)
            break;
        /* Backwards, so conn_close's move of the last entry into i touches only
         * entries already handled. */
        for (int i = nconns - 1; i >= 0; i--) {
            if (pfd[2 + i].revents == 0)
                continue;
            conn *c = &h->conns[i];
            bool keep = c->state == CONN_READ ? conn_read(h, c) : conn_write(c);
            if (!keep)
                conn_close(h, i);
        }
        if (pfd[1].revents != 0)
            pause_until = accept_clients(h);
    }
    while (h->nconns > 0)
        conn_close(h, h->nconns - 1);
    return NULL;
}

/* --- start / stop ------------------------------------------------------------------------- */

/* Binds and listens on host:port; the socket in *lfd, its port in *bound. */
static cc_code
listen_on(const char *host, int port, int *lfd, int *bound, cc_err *err)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res;
    char service[16];
    snprintf(service, sizeof service, "%d", port);
    if (host != NULL && (host[0] == '\0' || strcmp(host, "*") == 0))
        host = NULL;
    int gai = getaddrinfo(host, service, &hints, &res);
    if (gai != 0)
        return cc_err_set(err, CC_IO, "could not resolve metrics address \"%s\": %s",
                          host ? host : "*", gai_strerror(gai));
    int fd = -1, saved = 0;
    for (struct addrinfo *a = res; a != NULL; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) {
            saved = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 && listen(fd, 64) == 0)
            break;
        saved = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        return cc_err_set(err, CC_IO, "could not listen for metrics on %s:%d: %s",
                          host ? host : "*", port, strerror(saved));
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) {
        saved = errno;
        close(fd);
        return cc_err_set(err, CC_IO, "getsockname on the metrics socket: %s", strerror(saved));
    }
    char portbuf[16];
    getnameinfo((struct sockaddr *)&ss, len, NULL, 0, portbuf, sizeof portbuf, NI_NUMERICSERV);
    *bound = atoi(portbuf);
    *lfd = fd;
    return CC_OK;
}

cc_code
srv_http_start(srv_metrics *m, cowcat *db, const char *host, int port, srv_http **out,
               int *bound_port, cc_err *err)
{
    *out = NULL;
    if (m == NULL || port < 0 || port > 65535)
        return cc_err_set(err, CC_INVALID, "invalid metrics listener port %d", port);
    srv_http *h = cc_calloc(1, sizeof *h);
    if (h == NULL)
        return cc_err_set(err, CC_NOMEM, "out of memory starting the metrics listener");
    h->m = m;
    h->db = db;
    h->lfd = -1;
    h->wake[0] = h->wake[1] = -1;
    cc_code rc;
    int port_out = 0;
    if ((rc = listen_on(host, port, &h->lfd, &port_out, err)) != CC_OK)
        goto fail;
    if (pipe2(h->wake, O_NONBLOCK | O_CLOEXEC) != 0) {
        rc = cc_err_set(err, CC_IO, "could not create the metrics wake-up pipe: %s",
                        strerror(errno));
        goto fail;
    }
    int perr = pthread_create(&h->thread, NULL, http_main, h);
    if (perr != 0) {
        rc = cc_err_set(err, CC_NOMEM, "could not start the metrics thread: %s", strerror(perr));
        goto fail;
    }
    if (bound_port != NULL)
        *bound_port = port_out;
    *out = h;
    return CC_OK;

fail: /* no thread runs: release whatever was set up */
    if (h->wake[0] >= 0) {
        close(h->wake[0]);
        close(h->wake[1]);
    }
    if (h->lfd >= 0)
        close(h->lfd);
    cc_free(h);
    return rc;
}

void
srv_http_stop(srv_http *h)
{
    if (h == NULL)
        return;
    char one = 1;
    while (write(h->wake[1], &one, 1) < 0 && errno == EINTR)
        continue; /* EAGAIN: the pipe is full, so the thread is woken already */
    pthread_join(h->thread, NULL);
    close(h->wake[0]);
    close(h->wake[1]);
    close(h->lfd);
    cc_free(h);
}
