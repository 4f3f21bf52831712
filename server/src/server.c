/*
 * server/src/server.c — cowcatd's listeners, connection threads, shutdown
 * and logging.
 *
 * Why one thread per connection (and not an event loop): the work a
 * connection does is either a read against a pinned catalog version —
 * short, CPU-bound, and never waiting for anyone — or a DDL statement that
 * waits in the engine's group commit for its group's one durable write.
 * Group commit needs many sessions *waiting at once* so one fdatasync
 * serves them all; with a thread per connection every waiting session is a
 * blocked thread and the engine's leader/follower queue does the batching
 * with no extra machinery. An event loop would need the engine's commit to
 * be asynchronous (a completion callback per statement) and would run user
 * reads on the loop. Connections are bounded (--max-connections), each
 * thread's stack is small, and a slow or vanished client blocks only its
 * own thread (sends time out after SRV_SEND_TIMEOUT seconds).
 *
 * Shutdown (SIGTERM/SIGINT or srv_server_stop): one byte is written to
 * stop_pipe and never read, so its read end stays readable for everyone
 * who polls it. The accept loop closes its listeners; each connection
 * notices between two messages (pgw_read_message watches the pipe only
 * while no byte of a message has arrived), so a statement in flight
 * finishes and is answered first; the connection then sends FATAL 57P01
 * and closes, rolling back an open transaction block (never acknowledged).
 * srv_server_run returns when the last connection thread has gone; every
 * acknowledged statement was durable before it was acknowledged.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "internal.h"

#define SRV_SEND_TIMEOUT 30      /* seconds a send may block on a slow reader */
#define SRV_REJECT_SLACK 16      /* threads beyond max_connections that may run only to refuse */
#define SRV_THREAD_STACK (16u << 20) /* reserved, touched only by deep statements */

static const char *const default_listen[SRV_NLISTEN] = {"127.0.0.1:6875", "127.0.0.1:6877",
                                                        "127.0.0.1:6878"};

/* --- logging ------------------------------------------------------------------------- */

void
srv__log(const srv_server *s, srv_log_level level, uint32_t conn, const char *fmt, ...)
{
    if (s != NULL && level > s->opts.log_level)
        return;
    static const char *const names[] = {"ERROR", "WARNING", "LOG", "DEBUG"};
    char when[64];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    size_t w = strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
    snprintf(when + w, sizeof when - w, ".%03ld UTC", ts.tv_nsec / 1000000);
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* One fprintf: stdio locks the stream, so lines of different threads do not mix. */
    if (conn != 0)
        fprintf(stderr, "%s [conn %u] %s:  %s\n", when, conn, names[level], msg);
    else
        fprintf(stderr, "%s [server] %s:  %s\n", when, names[level], msg);
}

/* --- addresses --------------------------------------------------------------------------- */

/* Splits "HOST:PORT" / "[v6]:PORT" into host and port. Errors: INVALID. */
static cc_code
split_addr(const char *addr, char *host, size_t nhost, char *port, size_t nport, cc_err *err)
{
    const char *colon = strrchr(addr, ':');
    if (colon == NULL || colon[1] == '\0')
        return cc_err_set_state(err, CC_INVALID, "22023",
                                "invalid listen address \"%s\": expected HOST:PORT", addr);
    const char *h = addr;
    size_t hl = (size_t)(colon - addr);
    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
        h++;
        hl -= 2;
    }
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (hl == 0 || hl >= nhost || *end != '\0' || p < 0 || p > 65535)
        return cc_err_set_state(err, CC_INVALID, "22023",
                                "invalid listen address \"%s\": expected HOST:PORT", addr);
    memcpy(host, h, hl);
    host[hl] = '\0';
    snprintf(port, nport, "%ld", p);
    return CC_OK;
}

/* True if every address host resolves to is a loopback address. */
static bool
is_loopback(const char *host)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    if (getaddrinfo(host, NULL, &hints, &res) != 0)
        return false;
    bool loop = res != NULL;
    for (struct addrinfo *a = res; a != NULL; a = a->ai_next) {
        if (a->ai_family == AF_INET) {
            const struct sockaddr_in *in = (const struct sockaddr_in *)a->ai_addr;
            loop = loop && (ntohl(in->sin_addr.s_addr) >> 24) == 127;
        } else if (a->ai_family == AF_INET6) {
            const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)a->ai_addr;
            loop = loop && IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
        } else {
            loop = false;
        }
    }
    freeaddrinfo(res);
    return loop;
}

/* Binds and listens on addr; *port gets the bound port. Errors: INVALID, IO. */
static cc_code
bind_listener(const char *addr, int *fd_out, int *port, cc_err *err)
{
    char host[256], service[16];
    cc_code rc = split_addr(addr, host, sizeof host, service, sizeof service, err);
    if (rc != CC_OK)
        return rc;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE};
    struct addrinfo *res = NULL;
    int gai = getaddrinfo(host, service, &hints, &res);
    if (gai != 0)
        return cc_err_set_state(err, CC_INVALID, "22023", "could not resolve \"%s\": %s", host,
                                gai_strerror(gai));
    int fd = -1;
    int saved = 0;
    for (struct addrinfo *a = res; a != NULL && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) {
            saved = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, a->ai_addr, a->ai_addrlen) != 0 || listen(fd, 128) != 0) {
            saved = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0)
        return cc_err_set_state(err, CC_IO, "58030", "could not listen on %s: %s", addr,
                                strerror(saved));
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    *port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                     : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    *fd_out = fd;
    return CC_OK;
}

/* --- the server ------------------------------------------------------------------------ */

cc_code
srv_server_new(const srv_options *opts, srv_server **out, cc_err *err)
{
    *out = NULL;
    srv_server *s = cc_calloc(1, sizeof *s);
    if (s == NULL)
        return cc_err_set(err, CC_NOMEM, "out of memory");
    s->opts = *opts;
    s->fds[0] = s->fds[1] = -1;
    s->stop_pipe[0] = s->stop_pipe[1] = -1;
    s->next_pid = 1;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->idle, NULL);
    if (s->opts.max_connections <= 0)
        s->opts.max_connections = 100;
    cc_code rc = CC_OK;
    const char *given[SRV_NLISTEN] = {opts->listen, opts->internal_listen, opts->metrics_listen};
    s->data_dir = cc_strdup(opts->data_dir != NULL ? opts->data_dir : "./cowcat-data");
    for (int i = 0; i < SRV_NLISTEN; i++)
        s->listen[i] = cc_strdup(given[i] != NULL ? given[i] : default_listen[i]);
    for (int i = 0; i < SRV_NLISTEN; i++)
        if (s->listen[i] == NULL || s->data_dir == NULL) {
            rc = cc_err_set(err, CC_NOMEM, "out of memory");
            goto fail;
        }
    if (opts->auth == SRV_AUTH_TRUST) {
        for (int i = 0; i < 2; i++) {
            char host[256], port[16];
            if ((rc = split_addr(s->listen[i], host, sizeof host, port, sizeof port, err)) != CC_OK)
                goto fail;
            if (!is_loopback(host)) {
                rc = cc_err_set_state(err, CC_INVALID, "22023",
                                      "trust authentication is only allowed on loopback "
                                      "listeners: %s is not loopback (use --auth scram)",
                                      s->listen[i]);
                goto fail;
            }
        }
    }
    {
        char host[256], port[16];
        if ((rc = split_addr(s->listen[1], host, sizeof host, port, sizeof port, err)) != CC_OK)
            goto fail;
        s->internal_trusted = is_loopback(host);
    }
    if (pipe2(s->stop_pipe, O_CLOEXEC) != 0) {
        rc = cc_err_set_state(err, CC_IO, "58030", "could not create a pipe: %s", strerror(errno));
        goto fail;
    }
    cowcat_options co = {.data_dir = s->data_dir, .durability = opts->durability,
                         .backend = opts->backend, .audit_log_keep = opts->audit_log_keep,
                         .ablate = opts->ablate, .io = opts->io,
                         .rollup_bytes = opts->rollup_bytes};
    cowcat_error ce;
    if (cowcat_open(&co, &s->db, &ce) != COWCAT_OK) {
        rc = cc_err_set_state(err, (cc_code)ce.code, ce.sqlstate, "%s", ce.message);
        goto fail;
    }
    for (int i = 0; i < 2; i++)
        if ((rc = bind_listener(s->listen[i], &s->fds[i], &s->ports[i], err)) != CC_OK)
            goto fail;
    if ((rc = srv_metrics_new(&s->metrics, err)) != CC_OK)
        goto fail;
    {
        char host[256], port[16];
        if ((rc = split_addr(s->listen[2], host, sizeof host, port, sizeof port, err)) != CC_OK)
            goto fail;
        if ((rc = srv_http_start(s->metrics, s->db, host, atoi(port), &s->http, &s->ports[2],
                                 err)) != CC_OK)
            goto fail;
    }
    *out = s;
    return CC_OK;
fail:
    srv_server_free(s);
    return rc;
}

int
srv_server_port(const srv_server *s, int which)
{
    return which >= 0 && which < SRV_NLISTEN ? s->ports[which] : 0;
}

uint64_t
srv_server_objects(srv_server *s)
{
    cowcat_stats st;
    cowcat_stats_get(s->db, &st);
    return st.objects;
}

void
srv__statement_failed(srv_server *s, uint32_t conn, cowcat_code rc)
{
    if (rc != COWCAT_IO && rc != COWCAT_FENCED && rc != COWCAT_INTERNAL)
        return;
    cowcat_error why;
    if (cowcat_health(s->db, &why) == COWCAT_OK)
        return; /* only that statement failed (e.g. a full disk, undone): serving goes on */
    pthread_mutex_lock(&s->lock);
    bool first = !s->failed;
    if (first) {
        s->failed = true;
        s->failure = why;
    }
    pthread_mutex_unlock(&s->lock);
    if (!first)
        return;
    srv__log(s, SRV_LOG_ERROR, conn,
             "the catalog can no longer be served: %s; shutting down (a restart recovers it "
             "from the log)",
             why.message);
    srv_server_stop(s);
}

bool
srv_server_failed(srv_server *s, cowcat_error *why)
{
    pthread_mutex_lock(&s->lock);
    bool failed = s->failed;
    if (failed && why != NULL)
        *why = s->failure;
    pthread_mutex_unlock(&s->lock);
    return failed;
}

void
srv_server_stop(srv_server *s)
{
    char b = 1;
    ssize_t w = write(s->stop_pipe[1], &b, 1);
    (void)w; /* a full pipe already says stop */
}

/* Refuses a connection beyond every slot without a thread (best effort, non-blocking). */
static void
refuse_now(int fd)
{
    static const char msg[] = "too many connections";
    pgw_buf b;
    pgw_buf_init(&b);
    pgw_msg_begin(&b, 'E');
    pgw_put_u8(&b, 'S');
    pgw_put_str(&b, "FATAL");
    pgw_put_u8(&b, 'C');
    pgw_put_str(&b, "53300");
    pgw_put_u8(&b, 'M');
    pgw_put_str(&b, msg);
    pgw_put_u8(&b, 0);
    pgw_msg_end(&b);
    if (!b.failed) {
        ssize_t w = send(fd, b.data, b.len, MSG_NOSIGNAL | MSG_DONTWAIT);
        (void)w;
    }
    pgw_buf_fini(&b);
    close(fd);
}

static void
accept_one(srv_server *s, int which)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    int fd = accept4(s->fds[which], (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
    if (fd < 0)
        return; /* EAGAIN, ECONNABORTED, EMFILE: the next poll retries */
    pthread_mutex_lock(&s->lock);
    bool room = s->nconns < s->opts.max_connections + SRV_REJECT_SLACK;
    pthread_mutex_unlock(&s->lock);
    if (!room) {
        srv_metrics_connection_rejected(s->metrics, "too_many_threads");
        srv__log(s, SRV_LOG_WARNING, 0, "connection refused: too many connections");
        refuse_now(fd);
        return;
    }
    srv_conn *c = cc_calloc(1, sizeof *c);
    if (c == NULL) {
        close(fd);
        return;
    }
    c->srv = s;
    c->fd = fd;
    c->internal = which == 1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct timeval tv = {.tv_sec = SRV_SEND_TIMEOUT};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (ss.ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        port = ntohs(in->sin_port);
    } else if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        port = ntohs(in6->sin6_port);
    }
    snprintf(c->peer, sizeof c->peer, "%s:%d", host, port);
    if (getrandom(&c->key, sizeof c->key, 0) != (ssize_t)sizeof c->key)
        c->key = (int32_t)(uintptr_t)c;

    pthread_mutex_lock(&s->lock);
    c->pid = s->next_pid++;
    c->next = s->conns;
    s->conns = c;
    s->nconns++;
    pthread_mutex_unlock(&s->lock);

    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, SRV_THREAD_STACK);
    pthread_t t;
    int prc = pthread_create(&t, &attr, srv__conn_main, c);
    pthread_attr_destroy(&attr);
    if (prc != 0) {
        srv__log(s, SRV_LOG_WARNING, 0, "could not start a connection thread: %s",
                 strerror(prc));
        pthread_mutex_lock(&s->lock);
        for (srv_conn **p = &s->conns; *p != NULL; p = &(*p)->next)
            if (*p == c) {
                *p = c->next;
                break;
            }
        s->nconns--;
        pthread_mutex_unlock(&s->lock);
        refuse_now(fd);
        cc_free(c);
    }
}

void
srv_server_run(srv_server *s)
{
    for (;;) {
        struct pollfd pf[3] = {{.fd = s->fds[0], .events = POLLIN},
                               {.fd = s->fds[1], .events = POLLIN},
                               {.fd = s->stop_pipe[0], .events = POLLIN}};
        int pr = poll(pf, 3, -1);
        if (pr < 0) {
            if (errno == EINTR)
                continue;
            srv__log(s, SRV_LOG_ERROR, 0, "poll failed: %s", strerror(errno));
            break;
        }
        if (pf[2].revents & POLLIN)
            break;
        for (int i = 0; i < 2; i++)
            if (pf[i].revents & POLLIN)
                accept_one(s, i);
    }
    atomic_store(&s->stopping, true);
    for (int i = 0; i < 2; i++) {
        close(s->fds[i]);
        s->fds[i] = -1;
    }
    srv_server_stop(s); /* a poll error ends the loop too: make sure connections see it */
    pthread_mutex_lock(&s->lock);
    if (s->nconns > 0)
        srv__log(s, SRV_LOG_INFO, 0, "shutting down: waiting for %d connection(s)", s->nconns);
    while (s->nconns > 0)
        pthread_cond_wait(&s->idle, &s->lock);
    pthread_mutex_unlock(&s->lock);
}

void
srv_server_free(srv_server *s)
{
    if (s == NULL)
        return;
    if (s->http != NULL)
        srv_http_stop(s->http);
    for (int i = 0; i < 2; i++)
        if (s->fds[i] >= 0)
            close(s->fds[i]);
    if (s->db != NULL)
        cowcat_close(s->db);
    srv_metrics_free(s->metrics);
    for (int i = 0; i < 2; i++)
        if (s->stop_pipe[i] >= 0)
            close(s->stop_pipe[i]);
    for (int i = 0; i < SRV_NLISTEN; i++)
        cc_free(s->listen[i]);
    cc_free(s->data_dir);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->idle);
    cc_free(s);
}
