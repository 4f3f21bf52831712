/*
 * tests/server/test_server_frames.c — hostile and broken frontend messages
 * from a raw socket: oversized, truncated, malformed and random frames, at
 * startup and after it. The server must answer with the right error (or
 * close), never crash, and keep serving other clients: every test ends
 * with a libpq client doing DDL.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "server_fixture.h"

static srvproc srv;

static void
start_memory(void)
{
    cr_assert_eq(srvproc_start(&srv, NULL, NULL), 0);
}

static void
stop_server(void)
{
    cr_expect_eq(srvproc_stop(&srv), 0, "cowcatd exits 0 on SIGTERM");
    cr_expect(!srvproc_log_has_sanitizer_report(&srv), "sanitizer report in %s", srv.log);
}

TestSuite(server_frames, .init = start_memory, .fini = stop_server);

static int
dial(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)srv.port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

static void
put32(uint8_t *p, uint32_t v)
{
    v = htonl(v);
    memcpy(p, &v, 4);
}

static void
send_all(int fd, const void *p, size_t n)
{
    cr_assert_eq(send(fd, p, n, MSG_NOSIGNAL), (ssize_t)n);
}

/* Reads until the server closes (or 10 s pass); returns the bytes read (static buffer). */
static size_t
read_to_close(int fd, uint8_t **out)
{
    static uint8_t buf[1 << 16];
    size_t len = 0;
    for (;;) {
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        if (poll(&pf, 1, 10000) <= 0)
            break;
        ssize_t r = recv(fd, buf + len, sizeof buf - len, 0);
        if (r <= 0 || (len += (size_t)r) == sizeof buf)
            break;
    }
    *out = buf;
    return len;
}

/* Does the reply hold an ErrorResponse with this SQLSTATE? */
static bool
has_error(const uint8_t *p, size_t n, const char *sqlstate)
{
    char want[8];
    snprintf(want, sizeof want, "C%s", sqlstate);
    for (size_t i = 0; i + 6 <= n; i++)
        if (memcmp(p + i, want, 6) == 0)
            return true;
    return false;
}

/* A valid startup packet for user cowcat into buf; returns its length. */
static size_t
startup_packet(uint8_t *buf)
{
    static const char params[] = "user\0cowcat\0database\0cowcat\0";
    size_t n = 8 + sizeof params; /* sizeof includes the final terminator */
    put32(buf, (uint32_t)n);
    put32(buf + 4, 196608);
    memcpy(buf + 8, params, sizeof params);
    return n;
}

/* Connects and completes startup; returns the socket positioned after ReadyForQuery. */
static int
dial_ready(void)
{
    int fd = dial();
    uint8_t buf[128];
    send_all(fd, buf, startup_packet(buf));
    uint8_t in[4096];
    size_t len = 0;
    while (len < 6 || memcmp(in + len - 6, "Z\0\0\0\5I", 6) != 0) {
        ssize_t r = recv(fd, in + len, sizeof in - len, 0);
        cr_assert_gt(r, 0, "startup did not reach ReadyForQuery");
        len += (size_t)r;
    }
    return fd;
}

/* The server still serves: a libpq client creates a table. */
static void
still_serving(void)
{
    PGconn *c = srvproc_connect(&srv, NULL, NULL, false);
    cr_assert_eq(PQstatus(c), CONNECTION_OK, "%s", PQerrorMessage(c));
    static int seq;
    char sql[64];
    snprintf(sql, sizeof sql, "CREATE TABLE alive_%d_%d (a int)", (int)getpid(), seq++);
    PGresult *r = PQexec(c, sql);
    cr_assert_eq(PQresultStatus(r), PGRES_COMMAND_OK, "%s", PQresultErrorMessage(r));
    PQclear(r);
    PQfinish(c);
}

Test(server_frames, an_oversized_startup_packet_is_refused)
{
    int fd = dial();
    uint8_t buf[8];
    put32(buf, 1u << 30);
    put32(buf + 4, 196608);
    send_all(fd, buf, 8);
    uint8_t *reply;
    size_t n = read_to_close(fd, &reply);
    cr_assert(has_error(reply, n, "08P01"));
    close(fd);
    still_serving();
}

Test(server_frames, a_message_over_64_mib_gets_08P01_and_the_connection_closes)
{
    int fd = dial_ready();
    uint8_t buf[5] = {'Q'};
    put32(buf + 1, (64u << 20) + 5);
    send_all(fd, buf, 5);
    uint8_t *reply;
    size_t n = read_to_close(fd, &reply);
    cr_assert(has_error(reply, n, "08P01"));
    close(fd);
    still_serving();
}

Test(server_frames, an_unknown_message_type_is_a_protocol_violation)
{
    int fd = dial_ready();
    uint8_t buf[5] = {'z'};
    put32(buf + 1, 4);
    send_all(fd, buf, 5);
    uint8_t *reply;
    size_t n = read_to_close(fd, &reply);
    cr_assert(has_error(reply, n, "08P01"));
    close(fd);
    still_serving();
}

Test(server_frames, a_client_vanishing_mid_message_or_mid_startup_harms_no_one)
{
    for (int i = 0; i < 20; i++) {
        int fd = dial();
        uint8_t buf[128];
        size_t n = startup_packet(buf);
        send_all(fd, buf, (size_t)i % n); /* a prefix of the startup packet */
        close(fd);
    }
    int fd = dial_ready();
    uint8_t q[5 + 32] = {'Q'};
    put32(q + 1, 4 + 32);
    send_all(fd, q, 5 + 10); /* announced 32 bytes of query, sent 10 */
    close(fd);
    still_serving();
}

Test(server_frames, ssl_and_gss_requests_are_answered_N_then_startup_proceeds)
{
    int fd = dial();
    uint8_t req[8];
    put32(req, 8);
    put32(req + 4, 80877103);
    send_all(fd, req, 8);
    char answer = 0;
    cr_assert_eq(recv(fd, &answer, 1, 0), 1);
    cr_assert_eq(answer, 'N');
    uint8_t buf[128];
    send_all(fd, buf, startup_packet(buf));
    uint8_t in[16];
    cr_assert_gt(recv(fd, in, sizeof in, 0), 0);
    cr_assert_eq(in[0], 'R', "AuthenticationOk follows");
    close(fd);
    still_serving();
}

Test(server_frames, malformed_extended_messages_get_errors_and_sync_recovers)
{
    int fd = dial_ready();
    /* Parse "SELECT $1", then a Bind whose parameter values are not there, then Sync. */
    static const char stmt[] = "\0SELECT $1";
    uint8_t parse[5 + sizeof stmt + 2] = {'P'};
    put32(parse + 1, 4 + sizeof stmt + 2);
    memcpy(parse + 5, stmt, sizeof stmt);
    send_all(fd, parse, sizeof parse);
    uint8_t bind[] = {'B', 0, 0, 0, 12, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 'S', 0, 0, 0, 4};
    send_all(fd, bind, sizeof bind);
    uint8_t in[1024];
    size_t len = 0;
    while (len < 6 || memcmp(in + len - 6, "Z\0\0\0\5I", 6) != 0) {
        ssize_t r = recv(fd, in + len, sizeof in - len, 0);
        cr_assert_gt(r, 0, "no ReadyForQuery after Sync");
        len += (size_t)r;
    }
    cr_assert(has_error(in, len, "08P01"), "a malformed Bind is an error");
    /* and the connection still runs queries */
    const char sql[] = "CREATE TABLE after_bad_bind (a int)";
    uint8_t q[5 + sizeof sql] = {'Q'};
    put32(q + 1, 4 + sizeof sql);
    memcpy(q + 5, sql, sizeof sql);
    send_all(fd, q, sizeof q);
    len = 0;
    while (len < 6 || memcmp(in + len - 6, "Z\0\0\0\5I", 6) != 0) {
        ssize_t r = recv(fd, in + len, sizeof in - len, 0);
        cr_assert_gt(r, 0);
        len += (size_t)r;
    }
    cr_assert(memmem(in, len, "CREATE TABLE", 12) != NULL);
    close(fd);
    still_serving();
}

Test(server_frames, random_frames_never_crash_the_server)
{
    unsigned seed = (unsigned)time(NULL);
    const char *env = getenv("COWCAT_TEST_SEED");
    if (env != NULL)
        seed = (unsigned)strtoul(env, NULL, 10);
    fprintf(stderr, "random_frames seed %u (COWCAT_TEST_SEED=%u reproduces)\n", seed, seed);
    srand(seed);
    static const char types[] = "QPBDECSHXFdcfpz\0";
    for (int conn = 0; conn < 40; conn++) {
        int fd = dial_ready();
        for (int m = 0; m < 20; m++) {
            uint8_t buf[300];
            size_t body = (size_t)(rand() % 256);
            buf[0] = (uint8_t)types[rand() % (int)(sizeof types - 1)];
            uint32_t len = (uint32_t)body + 4;
            if (rand() % 10 == 0)
                len = (uint32_t)rand(); /* a lying length */
            put32(buf + 1, len);
            for (size_t i = 0; i < body; i++)
                buf[5 + i] = (uint8_t)(rand() % 4 == 0 ? 0 : rand());
            if (send(fd, buf, 5 + body, MSG_NOSIGNAL) < 0)
                break;
        }
        close(fd);
    }
    still_serving();
}
