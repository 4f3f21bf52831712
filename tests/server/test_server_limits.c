/*
 * tests/server/test_server_limits.c — resource exhaustion against a real
 * cowcatd: huge statement strings, thousands of statements in one string,
 * deep nesting, the connection limit, many idle connections and sessions
 * idle inside a transaction.
 *
 * Every case asserts a clear outcome (the result, or SQLSTATE and message)
 * and that another session keeps answering queries and doing DDL meanwhile
 * and afterwards. Memory is read from /proc/<server pid>/status (VmRSS, the
 * resident set now; VmHWM, its peak) and bounded per byte of input or per
 * connection, never timed.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server_fixture.h"

#define MIB         (1024L * 1024L)
#define MAX_MESSAGE (64L * MIB) /* server/include/server/pgwire.h PGW_MAX_MESSAGE */
#define PARSE_MAX   (2L * MIB)  /* include/cowcat.h COWCAT_MAX_STATEMENT_BYTES */

/*
 * Under AddressSanitizer freed memory waits in a quarantine of up to 256 MB
 * before reuse, so the server's resident memory after big frees says nothing
 * there: the huge-statement bounds are checked in the other builds only.
 */
#if defined(__SANITIZE_ADDRESS__)
#define CHECK_FREED_MEMORY false
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CHECK_FREED_MEMORY false
#endif
#endif
#ifndef CHECK_FREED_MEMORY
#define CHECK_FREED_MEMORY true
#endif

static srvproc srv;

static void
stop_server(void)
{
    if (srv.pid <= 0)
        return;
    cr_expect_eq(srvproc_stop(&srv), 0, "cowcatd did not exit cleanly (log %s)", srv.log);
    cr_expect(!srvproc_log_has_sanitizer_report(&srv), "sanitizer report in %s", srv.log);
}

static void
start_server(const char *const *extra)
{
    cr_assert_eq(srvproc_start(&srv, NULL, extra), 0, "cowcatd did not start (log %s)", srv.log);
}

/* A field of /proc/<server>/status in kB ("VmRSS", "VmHWM", "Threads"). */
static long
server_status(const char *field)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)srv.pid);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s", path);
    long v = -1;
    size_t n = strlen(field);
    while (v < 0 && fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, field, n) == 0 && line[n] == ':')
            v = strtol(line + n + 1, NULL, 10);
    fclose(f);
    cr_assert_geq(v, 0, "no %s in %s", field, path);
    return v;
}

/* Resets the server's VmHWM to its VmRSS now (Linux: "5" to clear_refs). */
static void
reset_peak(void)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/clear_refs", (int)srv.pid);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "%s", path);
    cr_assert_gt(fputs("5", f), -1);
    cr_assert_eq(fclose(f), 0, "%s", path);
}

/* True if the server's log has a line containing text. */
static bool
log_has(const char *text)
{
    FILE *f = fopen(srv.log, "r");
    cr_assert_not_null(f, "%s", srv.log);
    char line[1024];
    bool found = false;
    while (!found && fgets(line, sizeof line, f) != NULL)
        found = strstr(line, text) != NULL;
    fclose(f);
    return found;
}

static PGconn *
connect_ok(const char *user, bool internal)
{
    PGconn *c = srvproc_connect(&srv, user, NULL, internal);
    cr_assert_eq(PQstatus(c), CONNECTION_OK, "%s", PQerrorMessage(c));
    return c;
}

/* Runs sql and expects success; returns the number of rows (0 for a command). */
static int
exec_ok(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    cr_assert(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK, "%.80s: %s", sql,
              PQresultErrorMessage(r));
    int n = PQntuples(r);
    PQclear(r);
    return n;
}

/* One value of a one-value query. */
static long
value_of(PGconn *c, const char *sql)
{
    char v[64];
    cr_assert_eq(srvproc_value(c, sql, v, sizeof v), PGRES_TUPLES_OK, "%s: %s", sql, v);
    return strtol(v, NULL, 10);
}

/*
 * The other session works: DDL of its own (a table created, seen, dropped)
 * and a read. tag makes the table name unique.
 */
static void
other_session_works(PGconn *o, int tag)
{
    char sql[128], q[160];
    snprintf(sql, sizeof sql, "CREATE TABLE other_%d (a int)", tag);
    exec_ok(o, sql);
    snprintf(q, sizeof q, "SELECT count(*) FROM cowcat_catalog.tables WHERE name = 'other_%d'",
             tag);
    cr_assert_eq(value_of(o, q), 1, "other session: other_%d missing", tag);
    snprintf(sql, sizeof sql, "DROP TABLE other_%d", tag);
    exec_ok(o, sql);
    cr_assert_eq(value_of(o, q), 0);
    char v[64];
    cr_assert_eq(srvproc_value(o, "SELECT current_database()", v, sizeof v), PGRES_TUPLES_OK);
    cr_assert_str_eq(v, "cowcat");
}

/* A query string of exactly n bytes: SELECT 1 AS one, then a block comment of x. */
static char *
padded_select(size_t n)
{
    static const char head[] = "SELECT 1 AS one /*", tail[] = "*/";
    cr_assert_gt(n, sizeof head + sizeof tail);
    char *q = malloc(n + 1);
    cr_assert_not_null(q);
    memset(q, 'x', n);
    memcpy(q, head, sizeof head - 1);
    memcpy(q + n - (sizeof tail - 1), tail, sizeof tail - 1);
    q[n] = '\0';
    return q;
}

TestSuite(server_limits, .fini = stop_server, .timeout = 120);

/* The result r is 54000 "statement is too long: <n> bytes ..." (r is freed). */
static void
expect_too_long_result(PGresult *r, size_t n)
{
    cr_assert_eq(PQresultStatus(r), PGRES_FATAL_ERROR, "%zu bytes: %s", n,
                 PQresStatus(PQresultStatus(r)));
    cr_assert_str_eq(PQresultErrorField(r, PG_DIAG_SQLSTATE), "54000", "%zu bytes: %s", n,
                     PQresultErrorMessage(r));
    char want[128];
    snprintf(want, sizeof want, "statement is too long: %zu bytes (the limit is %ld)", n,
             PARSE_MAX);
    cr_assert_str_eq(PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY), want);
    PQclear(r);
}

/* The statement sent on c is refused with 54000 "statement is too long: <n> bytes ...". */
static void
expect_too_long(PGconn *c, size_t n)
{
    expect_too_long_result(PQgetResult(c), n);
    cr_assert_null(PQgetResult(c));
}

/*
 * Statement strings up to the parser's 2 MiB run (a comment, a literal
 * stored and read back); longer ones (8 MiB, just under the 64 MiB message
 * limit, as a Query or a Parse) are 54000 and the connection goes on,
 * operator-heavy ones 54001; a message over the limit ends that connection
 * with 08P01, which the client receives. Meanwhile another session does
 * DDL. A refused statement is never held in memory: the server's peak
 * grows by far less than its size, and an idle connection keeps nothing.
 */
Test(server_limits, huge_statement_strings_get_clear_answers_and_bounded_memory)
{
    start_server(NULL);
    PGconn *big = connect_ok(NULL, false), *other = connect_ok(NULL, false);
    exec_ok(other, "CREATE TABLE t (a int)");
    long rss0 = server_status("VmRSS");

    /* Just under the parser's limit: a comment, then a literal (stored, read back). */
    char *q = padded_select((size_t)PARSE_MAX - 1);
    cr_assert_eq(PQsendQuery(big, q), 1, "%s", PQerrorMessage(big));
    free(q);
    other_session_works(other, 1);
    PGresult *r = PQgetResult(big);
    cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s", PQresultErrorMessage(r));
    cr_assert_str_eq(PQgetvalue(r, 0, 0), "1");
    PQclear(r);
    cr_assert_null(PQgetResult(big));

    size_t lit = (size_t)PARSE_MAX - 64;
    q = malloc(lit + 64);
    cr_assert_not_null(q);
    int k = sprintf(q, "COMMENT ON TABLE t IS '");
    memset(q + k, 'c', lit);
    strcpy(q + k + lit, "'");
    r = PQexec(big, q);
    free(q);
    cr_assert_eq(PQresultStatus(r), PGRES_COMMAND_OK, "%s", PQresultErrorMessage(r));
    PQclear(r);
    r = PQexec(other, "SELECT comment FROM cowcat_catalog.comments WHERE object = 'public.t'");
    cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s", PQresultErrorMessage(r));
    cr_assert_eq(PQntuples(r), 1);
    cr_assert_eq((size_t)PQgetlength(r, 0, 0), lit);
    PQclear(r);
    exec_ok(big, "COMMENT ON TABLE t IS NULL");

    /* 8 MiB: too long to parse. */
    q = padded_select(8 * MIB);
    cr_assert_eq(PQsendQuery(big, q), 1, "%s", PQerrorMessage(big));
    free(q);
    other_session_works(other, 2);
    expect_too_long(big, 8 * MIB);

    /* 2 MiB of operators: too complex, found before parsing. */
    q = malloc(PARSE_MAX + 64);
    cr_assert_not_null(q);
    k = sprintf(q, "SELECT 1");
    for (; k < PARSE_MAX - 64; k += 2)
        memcpy(q + k, "+1", 2);
    q[k] = '\0';
    r = PQexec(big, q);
    free(q);
    cr_assert_eq(PQresultStatus(r), PGRES_FATAL_ERROR);
    cr_assert_str_eq(PQresultErrorField(r, PG_DIAG_SQLSTATE), "54001");
    cr_assert_str_eq(PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY), "statement is too complex");
    PQclear(r);
    other_session_works(other, 3);

    /*
     * Just under the message limit (the message holds the text and its
     * NUL): refused while it is read, never buffered, so the server's peak
     * grows by much less than the statement.
     */
    size_t near = (size_t)MAX_MESSAGE - 1;
    q = padded_select(near);
    long rss1 = server_status("VmRSS");
    reset_peak();
    cr_assert_eq(PQsendQuery(big, q), 1, "%s", PQerrorMessage(big));
    other_session_works(other, 4);
    expect_too_long(big, near);
    long hwm = server_status("VmHWM");
    cr_log_info("huge statements: VmRSS %ld kB before, VmHWM %ld kB after a %zu-byte statement",
                rss1, hwm, near);
    cr_expect(!CHECK_FREED_MEMORY || hwm - rss1 < 16 * MIB / 1024,
              "peak memory grew by %ld kB for a %ld kB statement", hwm - rss1, MAX_MESSAGE / 1024);

    /* The same as a Parse (extended protocol): 54000, and the connection goes on. */
    free(q);
    near = (size_t)MAX_MESSAGE - 64; /* room for the name and the parameter count */
    q = padded_select(near);
    reset_peak();
    rss1 = server_status("VmRSS");
    r = PQprepare(big, "huge", q, 0, NULL);
    cr_assert_not_null(r, "%s", PQerrorMessage(big));
    expect_too_long_result(r, near);
    hwm = server_status("VmHWM");
    cr_expect(!CHECK_FREED_MEMORY || hwm - rss1 < 16 * MIB / 1024,
              "peak memory grew by %ld kB for a %ld kB Parse", hwm - rss1, MAX_MESSAGE / 1024);
    free(q);
    r = PQexecParams(big, "SELECT $1::int AS v", 1, NULL, (const char *const[]){"42"}, NULL, NULL,
                     0);
    cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s", PQresultErrorMessage(r));
    cr_assert_str_eq(PQgetvalue(r, 0, 0), "42");
    PQclear(r);

    /* Inside a transaction block it fails the block, as any error does. */
    exec_ok(big, "BEGIN");
    exec_ok(big, "CREATE TABLE in_block (a int)");
    q = padded_select(8 * MIB);
    cr_assert_eq(PQsendQuery(big, q), 1, "%s", PQerrorMessage(big));
    free(q);
    expect_too_long(big, 8 * MIB);
    cr_assert_eq(PQtransactionStatus(big), PQTRANS_INERROR);
    r = PQexec(big, "SELECT 1");
    cr_assert_eq(PQresultStatus(r), PGRES_FATAL_ERROR);
    cr_assert_str_eq(PQresultErrorField(r, PG_DIAG_SQLSTATE), "25P02");
    PQclear(r);
    exec_ok(big, "ROLLBACK");
    cr_assert_eq(value_of(other, "SELECT count(*) FROM cowcat_catalog.tables "
                                 "WHERE name = 'in_block'"),
                 0);

    /*
     * The connection stays open and idle: it must not keep the 64 MiB it
     * read. The allocator may keep some freed memory for reuse, so three
     * more connections do the same, and memory must not grow with them.
     */
    cr_assert_eq(value_of(big, "SELECT 1"), 1);
    long idle = server_status("VmRSS");
    PGconn *more[3];
    for (int i = 0; i < 3; i++) {
        more[i] = connect_ok(NULL, false);
        q = padded_select(near);
        cr_assert_eq(PQsendQuery(more[i], q), 1, "%s", PQerrorMessage(more[i]));
        free(q);
        expect_too_long(more[i], near);
        cr_assert_eq(value_of(more[i], "SELECT 1"), 1); /* the server is done with it */
        cr_log_info("huge statements: VmRSS %ld kB with %d idle connections that sent one",
                    server_status("VmRSS"), i + 2);
    }
    long idle4 = server_status("VmRSS");
    cr_log_info("huge statements: VmRSS %ld kB with the connection idle again, %ld kB with four",
                idle, idle4);
    cr_expect(!CHECK_FREED_MEMORY || idle - rss0 < MAX_MESSAGE / 1024,
              "an idle connection keeps %ld kB after a huge statement", idle - rss0);
    cr_expect(!CHECK_FREED_MEMORY || idle4 - idle < 16 * MIB / 1024,
              "three more idle connections that sent one keep %ld kB more", idle4 - idle);
    for (int i = 0; i < 3; i++)
        PQfinish(more[i]);

    /*
     * One byte over the limit: FATAL 08P01 and the connection is closed.
     * The server reads the body before closing, so the client gets the
     * FATAL rather than a reset (PostgreSQL sends nothing at all here).
     * libpq keeps a FATAL followed by the close as text only: the verbose
     * form carries the SQLSTATE.
     */
    PQsetErrorVerbosity(big, PQERRORS_VERBOSE);
    q = padded_select((size_t)MAX_MESSAGE);
    r = PQexec(big, q);
    free(q);
    cr_assert_eq(PQresultStatus(r), PGRES_FATAL_ERROR, "%s", PQerrorMessage(big));
    cr_expect(strstr(PQerrorMessage(big), "FATAL:  08P01: invalid message length") != NULL,
              "the client did not get the FATAL: %s", PQerrorMessage(big));
    PQclear(r);
    cr_assert_neq(PQstatus(big), CONNECTION_OK);
    cr_assert(log_has("FATAL:  invalid message length (SQLSTATE 08P01)"), "not in %s", srv.log);
    PQfinish(big);
    long after = server_status("VmRSS");
    cr_log_info("huge statements: VmRSS %ld kB after the refused message", after);
    other_session_works(other, 5);
    cr_assert_eq(value_of(other, "SELECT count(*) FROM cowcat_catalog.tables WHERE name = 't'"), 1);
    PQfinish(other);
}

/* The count of tables in schema s. */
static long
tables_in(PGconn *c, const char *s)
{
    char q[160];
    snprintf(q, sizeof q, "SELECT count(*) FROM cowcat_catalog.tables WHERE schema = '%s'", s);
    return value_of(c, q);
}

static void
quiet(void *arg, const char *message)
{
    (void)arg, (void)message;
}

/* "CREATE TABLE s.p0 (a int);CREATE TABLE s.p1 ..." n of them (a malloc'd string). */
static char *
many_creates(const char *s, const char *prefix, int n)
{
    size_t cap = (size_t)n * 64 + 1, len = 0;
    char *q = malloc(cap);
    cr_assert_not_null(q);
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(q + len, cap - len, "CREATE TABLE %s.%s%d (a int, b text);", s,
                                prefix, i);
    return q;
}

/*
 * 5,000 CREATE TABLE in one simple-query string commit together; with one
 * bad statement at the end none of them does. 5,000 SELECTs in one string
 * answer 5,000 result sets.
 */
Test(server_limits, thousands_of_statements_in_one_string_are_all_or_nothing)
{
    start_server(NULL);
    PGconn *c = connect_ok(NULL, false), *other = connect_ok(NULL, false);
    PQsetNoticeProcessor(c, quiet, NULL); /* DROP SCHEMA CASCADE's 5,000-line notice */
    exec_ok(c, "CREATE SCHEMA bulk");
    enum { N = 5000 };

    char *q = many_creates("bulk", "ok", N);
    cr_assert_eq(PQsendQuery(c, q), 1, "%s", PQerrorMessage(c));
    free(q);
    other_session_works(other, 1); /* waits for the writer, then goes on */
    int results = 0;
    PGresult *r;
    while ((r = PQgetResult(c)) != NULL) {
        cr_assert_eq(PQresultStatus(r), PGRES_COMMAND_OK, "statement %d: %s", results,
                     PQresultErrorMessage(r));
        results++;
        PQclear(r);
    }
    cr_assert_eq(results, N);
    cr_assert_eq(tables_in(other, "bulk"), N);

    /* The same again with a duplicate at the end: 42P07 and nothing of it stays. */
    q = many_creates("bulk", "no", N);
    size_t len = strlen(q);
    q = realloc(q, len + 64);
    cr_assert_not_null(q);
    strcpy(q + len, "CREATE TABLE bulk.ok0 (a int)");
    r = PQexec(c, q);
    free(q);
    cr_assert_eq(PQresultStatus(r), PGRES_FATAL_ERROR);
    cr_assert_str_eq(PQresultErrorField(r, PG_DIAG_SQLSTATE), "42P07");
    cr_assert_str_eq(PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY),
                     "relation \"ok0\" already exists");
    PQclear(r);
    cr_assert_eq(tables_in(other, "bulk"), N);
    cr_assert_eq(value_of(other, "SELECT count(*) FROM cowcat_catalog.tables "
                                 "WHERE name = 'no0' OR name = 'no4999'"),
                 0);

    /* 5,000 SELECTs: one result set each, in order. */
    size_t cap = (size_t)N * 32;
    q = malloc(cap);
    cr_assert_not_null(q);
    len = 0;
    for (int i = 0; i < N; i++)
        len += (size_t)snprintf(q + len, cap - len, "SELECT %d AS n;", i);
    cr_assert_eq(PQsendQuery(c, q), 1, "%s", PQerrorMessage(c));
    free(q);
    results = 0;
    while ((r = PQgetResult(c)) != NULL) {
        cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s", PQresultErrorMessage(r));
        cr_assert_eq(strtol(PQgetvalue(r, 0, 0), NULL, 10), results);
        results++;
        PQclear(r);
    }
    cr_assert_eq(results, N);

    exec_ok(c, "DROP SCHEMA bulk CASCADE");
    cr_assert_eq(tables_in(other, "bulk"), 0);
    other_session_works(other, 2);
    PQfinish(c);
    PQfinish(other);
}

/* A nested view definition: "CREATE VIEW deep AS SELECT <open>^depth 1 )^depth AS x". */
static char *
nested(const char *open, int depth)
{
    size_t n = strlen(open);
    char *q = malloc((n + 1) * (size_t)depth + 64);
    cr_assert_not_null(q);
    int k = sprintf(q, "CREATE VIEW deep AS SELECT ");
    for (int i = 0; i < depth; i++, k += (int)n)
        memcpy(q + k, open, n);
    q[k++] = '1';
    memset(q + k, ')', (size_t)depth);
    strcpy(q + k + depth, " AS x");
    return q;
}

/*
 * Nesting beyond cowcat's tree depth is 54001; beyond the parser's own
 * stack (as in PostgreSQL) 42601. The session and the server live on and
 * nothing is created.
 */
Test(server_limits, deeply_nested_expressions_are_54001_or_42601_and_harmless)
{
    start_server(NULL);
    PGconn *c = connect_ok(NULL, false), *other = connect_ok(NULL, false);
    char *q = nested("abs(", 3000);
    PGresult *r = PQexec(c, q);
    free(q);
    cr_assert_eq(PQresultStatus(r), PGRES_FATAL_ERROR);
    cr_assert_str_eq(PQresultErrorField(r, PG_DIAG_SQLSTATE), "54001");
    cr_assert_str_eq(PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY), "stack depth limit exceeded");
    PQclear(r);
    other_session_works(other, 1);
    q = nested("(", 100000);
    r = PQexec(c, q);
    free(q);
    cr_assert_eq(PQresultStatus(r), PGRES_FATAL_ERROR);
    cr_assert_str_eq(PQresultErrorField(r, PG_DIAG_SQLSTATE), "42601");
    cr_assert_str_eq(PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY),
                     "memory exhausted at or near \"(\"");
    PQclear(r);
    other_session_works(other, 2);
    cr_assert_eq(value_of(c, "SELECT count(*) FROM information_schema.views "
                             "WHERE table_name = 'deep'"),
                 0);
    PQfinish(c);
    PQfinish(other);
}

/* Connects until the server admits one again (it notices closes asynchronously). */
static PGconn *
connect_retrying(void)
{
    for (int i = 0; i < 200; i++) {
        PGconn *c = srvproc_connect(&srv, NULL, NULL, false);
        if (PQstatus(c) == CONNECTION_OK)
            return c;
        PQfinish(c);
        usleep(20 * 1000);
    }
    cr_assert_fail("no connection admitted after slots were freed");
    return NULL;
}

/*
 * A raw startup as cowcat (libpq keeps a refused connection's SQLSTATE to
 * itself): true if the server answers an ErrorResponse with sqlstate and
 * message, then closes.
 */
static bool
startup_refused_with(const char *sqlstate, const char *message)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)srv.port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    static const char params[] = "user\0cowcat\0database\0cowcat\0";
    uint8_t pkt[8 + sizeof params];
    uint32_t be = htonl((uint32_t)sizeof pkt), proto = htonl(196608);
    memcpy(pkt, &be, 4);
    memcpy(pkt + 4, &proto, 4);
    memcpy(pkt + 8, params, sizeof params);
    cr_assert_eq(send(fd, pkt, sizeof pkt, MSG_NOSIGNAL), (ssize_t)sizeof pkt);
    char in[1024];
    size_t len = 0;
    for (;;) {
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        if (poll(&pf, 1, 10000) <= 0)
            break;
        ssize_t r = recv(fd, in + len, sizeof in - 1 - len, 0);
        if (r <= 0 || (len += (size_t)r) == sizeof in - 1)
            break;
    }
    close(fd);
    char c[16], m[128];
    snprintf(c, sizeof c, "C%s", sqlstate);
    snprintf(m, sizeof m, "M%s", message);
    bool has_c = false, has_m = false;
    for (size_t i = 5; len > 0 && in[0] == 'E' && i < len; i += strlen(in + i) + 1) {
        in[len] = '\0';
        has_c = has_c || strcmp(in + i, c) == 0;
        has_m = has_m || strcmp(in + i, m) == 0;
    }
    return has_c && has_m;
}

/* Reads from fd into buf (cap bytes) until it holds text, EOF, an error or 10 s; the length. */
static size_t
read_until(int fd, char *buf, size_t cap, size_t len, const char *text, size_t text_len)
{
    for (;;) {
        if (memmem(buf, len, text, text_len) != NULL)
            return len;
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        if (len == cap || poll(&pf, 1, 10000) <= 0)
            return len;
        ssize_t r = recv(fd, buf + len, cap - len, 0);
        if (r <= 0)
            return len;
        len += (size_t)r;
    }
}

/*
 * A client still sending an overlong message when the server answers it is
 * not reset: the server reads the body (bounded) before closing, so the
 * client's writes go through and it then reads the FATAL. Closing at once
 * with input unread resets the connection, and a client whose write fails
 * (a driver that stops at the error) never sees the FATAL.
 */
Test(server_limits, an_overlong_message_gets_its_fatal_without_a_connection_reset)
{
    start_server(NULL);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)srv.port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    static const char params[] = "user\0cowcat\0database\0cowcat\0";
    uint8_t pkt[8 + sizeof params];
    uint32_t be = htonl((uint32_t)sizeof pkt), proto = htonl(196608);
    memcpy(pkt, &be, 4);
    memcpy(pkt + 4, &proto, 4);
    memcpy(pkt + 8, params, sizeof params);
    cr_assert_eq(send(fd, pkt, sizeof pkt, MSG_NOSIGNAL), (ssize_t)sizeof pkt);
    static char in[1 << 16];
    size_t len = read_until(fd, in, sizeof in, 0, "Z\0\0\0\5I", 6); /* ReadyForQuery */
    cr_assert(memmem(in, len, "Z\0\0\0\5I", 6) != NULL, "no ReadyForQuery after startup");

    /* a Query one byte over the message limit: its header and the first 256 KiB */
    size_t part = 256 << 10;
    char *msg = malloc(5 + part);
    cr_assert_not_null(msg);
    memset(msg, 'x', 5 + part);
    msg[0] = 'Q';
    be = htonl((uint32_t)(MAX_MESSAGE + 1 + 4));
    memcpy(msg + 1, &be, 4);
    cr_assert_eq(send(fd, msg, 5 + part, MSG_NOSIGNAL), (ssize_t)(5 + part));
    usleep(300 * 1000); /* the server has answered (and, before the fix, closed) by now */
    ssize_t more = send(fd, msg + 5, part, MSG_NOSIGNAL); /* still sending the body */
    cr_expect_eq(more, (ssize_t)part,
                 "the server reset the connection while the client was sending: %s",
                 more < 0 ? strerror(errno) : "short write");
    free(msg);
    len = read_until(fd, in, sizeof in, 0, "Minvalid message length", 23);
    cr_expect(memmem(in, len, "C08P01", 6) != NULL && memmem(in, len, "SFATAL", 6) != NULL &&
                  memmem(in, len, "Minvalid message length", 23) != NULL,
              "the client did not get FATAL 08P01 (%zu bytes read: %s)", len, strerror(errno));
    close(fd);
    cr_assert(log_has("FATAL:  invalid message length (SQLSTATE 08P01)"), "not in %s", srv.log);
    PGconn *other = connect_ok(NULL, false);
    other_session_works(other, 1);
    PQfinish(other);
}

/*
 * With --max-connections 8, the ninth user connection gets 53300; the
 * eight keep working, the internal port still admits the system role, and
 * after three close three new ones are admitted (and a fourth is refused).
 */
Test(server_limits, max_connections_plus_one_is_53300_and_slots_come_back)
{
    const char *extra[] = {"--max-connections", "8", NULL};
    start_server(extra);
    enum { MAX = 8 };
    PGconn *c[MAX];
    for (int i = 0; i < MAX; i++)
        c[i] = connect_ok(NULL, false);
    PGconn *extra_conn = srvproc_connect(&srv, NULL, NULL, false);
    cr_assert_eq(PQstatus(extra_conn), CONNECTION_BAD);
    cr_assert(strstr(PQerrorMessage(extra_conn), "sorry, too many clients already") != NULL, "%s",
              PQerrorMessage(extra_conn));
    PQfinish(extra_conn);
    cr_assert(startup_refused_with("53300", "sorry, too many clients already"));
    for (int i = 0; i < MAX; i++)
        cr_assert_eq(value_of(c[i], "SELECT 1"), 1);
    other_session_works(c[0], 1);
    PGconn *sys = connect_ok("cowcat_system", true); /* not counted */
    cr_assert_eq(value_of(sys, "SELECT 2"), 2);
    PQfinish(sys);

    for (int i = 0; i < 3; i++)
        PQfinish(c[i]);
    for (int i = 0; i < 3; i++)
        c[i] = connect_retrying();
    extra_conn = srvproc_connect(&srv, NULL, NULL, false);
    cr_assert_eq(PQstatus(extra_conn), CONNECTION_BAD, "a ninth connection was admitted");
    PQfinish(extra_conn);
    for (int i = 0; i < MAX; i++)
        other_session_works(c[i], 10 + i);
    for (int i = 0; i < MAX; i++)
        PQfinish(c[i]);
}

/* Waits until the server runs at most threads threads (connection threads end asynchronously). */
static long
settle_threads(long threads)
{
    long now = server_status("Threads");
    for (int i = 0; i < 250 && now > threads; i++) {
        usleep(20 * 1000);
        now = server_status("Threads");
    }
    return now;
}

/*
 * 200 idle connections cost the server less than 1 MiB of resident memory
 * each; when they close, their threads go and the server still answers.
 */
Test(server_limits, two_hundred_idle_connections_cost_under_a_mebibyte_each)
{
    const char *extra[] = {"--max-connections", "210", NULL};
    start_server(extra);
    enum { N = 200 };
    PGconn *other = connect_ok(NULL, false);
    exec_ok(other, "SELECT 1");
    long rss0 = server_status("VmRSS"), threads0 = server_status("Threads");
    PGconn **c = calloc(N, sizeof *c);
    cr_assert_not_null(c);
    for (int i = 0; i < N; i++) {
        c[i] = connect_ok(NULL, false);
        if (i % 50 == 0)
            exec_ok(c[i], "SELECT 1");
    }
    long rss1 = server_status("VmRSS"), threads1 = server_status("Threads");
    long per = (rss1 - rss0) / N;
    cr_log_info("idle connections: VmRSS %ld kB -> %ld kB for %d (%ld kB each); threads %ld -> %ld",
                rss0, rss1, N, per, threads0, threads1);
    cr_expect_lt(per, 1024, "%ld kB per idle connection", per);
    other_session_works(other, 1);
    for (int i = 0; i < N; i++)
        PQfinish(c[i]);
    free(c);
    long threads2 = settle_threads(threads0);
    cr_expect_leq(threads2, threads0, "threads: %ld before, %ld after closing all", threads0,
                  threads2);
    other_session_works(other, 2);
    PGconn *again = connect_ok(NULL, false);
    cr_assert_eq(value_of(again, "SELECT 3"), 3);
    PQfinish(again);
    PQfinish(other);
}

/* The last FATAL the server sent unasked (libpq hands it to the notice receiver). */
typedef struct fatal_seen {
    char state[8];
    char msg[256];
} fatal_seen;

static void
on_notice(void *arg, const PGresult *r)
{
    fatal_seen *f = arg;
    const char *sev = PQresultErrorField(r, PG_DIAG_SEVERITY_NONLOCALIZED);
    if (sev == NULL || strcmp(sev, "FATAL") != 0)
        return;
    const char *st = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    const char *m = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
    snprintf(f->state, sizeof f->state, "%s", st ? st : "");
    snprintf(f->msg, sizeof f->msg, "%s", m ? m : "");
}

/*
 * A session idle inside a block past idle_in_transaction_session_timeout is
 * ended with FATAL 25P03 and its block rolled back; another session's DDL,
 * which waited for the block's write slot, then goes through.
 */
Test(server_limits, idle_in_transaction_past_the_timeout_is_25P03_and_others_go_on)
{
    start_server(NULL);
    char port[16];
    snprintf(port, sizeof port, "%d", srv.port);
    const char *keys[] = {"host", "port", "user", "dbname", "options", NULL};
    const char *vals[] = {
        "127.0.0.1", port, "cowcat", "cowcat", "-c idle_in_transaction_session_timeout=300ms",
        NULL};
    PGconn *idle = PQconnectdbParams(keys, vals, 0);
    cr_assert_eq(PQstatus(idle), CONNECTION_OK, "%s", PQerrorMessage(idle));
    fatal_seen seen = {{0}, {0}};
    PQsetNoticeReceiver(idle, on_notice, &seen);
    PGconn *other = connect_ok(NULL, false);

    exec_ok(idle, "BEGIN");
    exec_ok(idle, "CREATE TABLE abandoned (a int)"); /* holds the write slot now */
    exec_ok(other, "SELECT 1");                      /* reads do not wait */
    /* DDL waits for the slot: it goes through once the idle session is ended. */
    exec_ok(other, "CREATE TABLE after_timeout (a int)");

    struct pollfd pf = {.fd = PQsocket(idle), .events = POLLIN};
    for (int i = 0; i < 100 && seen.state[0] == '\0' && PQstatus(idle) == CONNECTION_OK; i++) {
        (void)poll(&pf, 1, 50);
        (void)PQconsumeInput(idle);
        (void)PQisBusy(idle); /* parses what arrived: the FATAL goes to on_notice */
    }
    cr_assert_str_eq(seen.state, "25P03");
    cr_assert_str_eq(seen.msg, "terminating connection due to idle-in-transaction timeout");
    PGresult *r = PQexec(idle, "COMMIT");
    cr_assert_neq(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    cr_assert_neq(PQstatus(idle), CONNECTION_OK);
    PQfinish(idle);

    cr_assert_eq(value_of(other, "SELECT count(*) FROM cowcat_catalog.tables "
                                 "WHERE name = 'abandoned'"),
                 0);
    cr_assert_eq(value_of(other, "SELECT count(*) FROM cowcat_catalog.tables "
                                 "WHERE name = 'after_timeout'"),
                 1);
    other_session_works(other, 1);
    PQfinish(other);
}
