/*
 * tests/server/test_server_pgwire.c — cowcatd through libpq: the simple and
 * extended protocols, parameters, errors with SQLSTATE and position,
 * notices, ParameterStatus, transactions (and a client that disconnects
 * inside one), the ports' role rules, the connection limit, /metrics, and
 * startup refusals. Each test starts its own server (--memory unless it
 * needs a data directory).
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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

static PGconn *
connect_ok(const char *user, bool internal)
{
    PGconn *c = srvproc_connect(&srv, user, NULL, internal);
    cr_assert_eq(PQstatus(c), CONNECTION_OK, "connect: %s", PQerrorMessage(c));
    return c;
}

static void
exec_ok(PGconn *c, const char *sql, const char *tag)
{
    PGresult *r = PQexec(c, sql);
    cr_assert(PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK,
              "%s: %s", sql, PQresultErrorMessage(r));
    if (tag != NULL)
        cr_assert_str_eq(PQcmdStatus(r), tag);
    PQclear(r);
}

static void
expect_error(PGconn *c, const char *sql, const char *sqlstate)
{
    PGresult *r = PQexec(c, sql);
    cr_assert_eq(PQresultStatus(r), PGRES_FATAL_ERROR, "%s should fail", sql);
    cr_assert_str_eq(PQresultErrorField(r, PG_DIAG_SQLSTATE), sqlstate, "%s: %s", sql,
                     PQresultErrorMessage(r));
    PQclear(r);
}

static int
count_tables(PGconn *c, const char *name)
{
    const char *vals[1] = {name};
    PGresult *r = PQexecParams(c,
                               "SELECT count(*) FROM information_schema.tables "
                               "WHERE table_schema = 'public' AND table_name = $1",
                               1, NULL, vals, NULL, NULL, 0);
    cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s", PQresultErrorMessage(r));
    int n = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    return n;
}

TestSuite(server_pgwire, .init = start_memory, .fini = stop_server);

Test(server_pgwire, simple_query_creates_then_reads_with_real_type_oids)
{
    PGconn *c = connect_ok(NULL, false);
    exec_ok(c, "CREATE TABLE t (a int PRIMARY KEY, b text)", "CREATE TABLE");
    PGresult *r = PQexec(c, "SELECT table_name, ordinal_position FROM information_schema.columns "
                            "WHERE table_name = 't' ORDER BY ordinal_position");
    cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s", PQresultErrorMessage(r));
    cr_assert_eq(PQntuples(r), 2);
    cr_assert_str_eq(PQfname(r, 0), "table_name");
    cr_assert_str_eq(PQgetvalue(r, 1, 1), "2");
    cr_assert_neq(PQftype(r, 1), 25u, "ordinal_position is a number, not text");
    cr_assert_str_eq(PQcmdStatus(r), "SELECT 2");
    PQclear(r);
    PQfinish(c);
}

Test(server_pgwire, a_multi_statement_string_runs_every_statement_atomically)
{
    PGconn *c = connect_ok(NULL, false);
    exec_ok(c, "CREATE TABLE a (x int); CREATE TABLE b (y int)", "CREATE TABLE");
    cr_assert_eq(count_tables(c, "a") + count_tables(c, "b"), 2);
    /* the second statement fails: the implicit transaction takes the first with it */
    expect_error(c, "CREATE TABLE c (x int); CREATE TABLE a (x int)", "42P07");
    cr_assert_eq(count_tables(c, "c"), 0);
    cr_assert_eq(PQtransactionStatus(c), PQTRANS_IDLE);
    PQfinish(c);
}

/*
 * psql's Ctrl-C: a CancelRequest (libpq PQcancel) with the connection's
 * BackendKeyData ends a write waiting for the write slot with 57014, and
 * the write did nothing; a request with a wrong key does nothing.
 */
Test(server_pgwire, a_cancel_request_ends_a_write_waiting_for_the_slot)
{
    PGconn *a = connect_ok(NULL, false), *b = connect_ok(NULL, false);
    exec_ok(a, "BEGIN", "BEGIN");
    exec_ok(a, "CREATE TABLE held (x int)", "CREATE TABLE"); /* a holds the write slot */
    cr_assert_eq(PQsendQuery(b, "CREATE TABLE waiting (x int)"), 1);
    PGcancel *cancel = PQgetCancel(b);
    cr_assert_not_null(cancel);
    char why[256];
    /* Until it lands while b waits (a cancel before the wait is forgotten): at most ~10 s. */
    PGresult *r = NULL;
    for (int i = 0; i < 1000 && r == NULL; i++) {
        cr_assert_eq(PQcancel(cancel, why, sizeof why), 1, "PQcancel: %s", why);
        cr_assert_eq(PQconsumeInput(b), 1);
        for (int k = 0; k < 10 && PQisBusy(b); k++) {
            usleep(1000);
            PQconsumeInput(b);
        }
        if (!PQisBusy(b))
            r = PQgetResult(b);
    }
    PQfreeCancel(cancel);
    cr_assert_not_null(r, "the cancel never ended the wait");
    cr_assert_eq(PQresultStatus(r), PGRES_FATAL_ERROR, "%s", PQresStatus(PQresultStatus(r)));
    cr_assert_str_eq(PQresultErrorField(r, PG_DIAG_SQLSTATE), "57014");
    cr_assert(strstr(PQresultErrorMessage(r), "canceling statement due to user request") != NULL,
              "%s", PQresultErrorMessage(r));
    PQclear(r);
    while ((r = PQgetResult(b)) != NULL)
        PQclear(r);
    exec_ok(a, "COMMIT", "COMMIT");
    char v[64];
    cr_assert_eq(srvproc_value(b, "SELECT count(*) FROM information_schema.tables WHERE "
                                  "table_name IN ('held', 'waiting')",
                               v, sizeof v),
                 PGRES_TUPLES_OK);
    cr_assert_str_eq(v, "1", "the cancelled CREATE did nothing");
    exec_ok(b, "CREATE TABLE waiting (x int)", "CREATE TABLE"); /* b is fine afterwards */
    PQfinish(a);
    PQfinish(b);
}

Test(server_pgwire, an_empty_query_gets_empty_query_response)
{
    PGconn *c = connect_ok(NULL, false);
    PGresult *r = PQexec(c, "");
    cr_assert_eq(PQresultStatus(r), PGRES_EMPTY_QUERY);
    PQclear(r);
    r = PQexec(c, "  -- only a comment\n");
    cr_assert_eq(PQresultStatus(r), PGRES_EMPTY_QUERY);
    PQclear(r);
    PQfinish(c);
}

Test(server_pgwire, errors_carry_sqlstate_message_and_position)
{
    PGconn *c = connect_ok(NULL, false);
    PGresult *r = PQexec(c, "CREATE TABLE t (a nosuchtype)");
    cr_assert_eq(PQresultStatus(r), PGRES_FATAL_ERROR);
    cr_assert_str_eq(PQresultErrorField(r, PG_DIAG_SQLSTATE), "42704");
    cr_assert_str_eq(PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY),
                     "type \"nosuchtype\" does not exist");
    cr_assert_str_eq(PQresultErrorField(r, PG_DIAG_STATEMENT_POSITION), "19");
    cr_assert_str_eq(PQresultErrorField(r, PG_DIAG_SEVERITY), "ERROR");
    PQclear(r);
    r = PQexec(c, "SELEC 1");
    cr_assert_str_eq(PQresultErrorField(r, PG_DIAG_SQLSTATE), "42601");
    cr_assert_str_eq(PQresultErrorField(r, PG_DIAG_STATEMENT_POSITION), "1");
    PQclear(r);
    /* DETAIL and HINT travel too */
    exec_ok(c, "CREATE TABLE p (a int); CREATE VIEW pv AS SELECT a FROM p", NULL);
    r = PQexec(c, "DROP TABLE p");
    cr_assert_str_eq(PQresultErrorField(r, PG_DIAG_SQLSTATE), "2BP01");
    cr_assert_not_null(PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL));
    cr_assert_not_null(PQresultErrorField(r, PG_DIAG_MESSAGE_HINT));
    PQclear(r);
    PQfinish(c);
}

/* Deep or huge statements get clear errors; the connection and the server live on. */
Test(server_pgwire, deeply_nested_and_operator_heavy_statements_are_54001_and_harmless)
{
    PGconn *c = connect_ok(NULL, false);
    const size_t ns[] = {900, 3000, 30000};
    const char *msgs[] = {NULL, "stack depth limit exceeded", "statement is too complex"};
    for (size_t i = 0; i < sizeof ns / sizeof *ns; i++) {
        size_t n = ns[i];
        char *q = malloc(64 + 2 * n);
        cr_assert_not_null(q);
        int k = sprintf(q, "CREATE VIEW deep%zu AS SELECT ", i);
        for (size_t j = 0; j < n; j++, k += 2)
            memcpy(q + k, "1+", 2);
        strcpy(q + k, "1 AS x");
        PGresult *r = PQexec(c, q);
        free(q);
        if (msgs[i] == NULL) {
            cr_assert_eq(PQresultStatus(r), PGRES_COMMAND_OK, "n=%zu: %s", n,
                         PQresultErrorMessage(r));
        } else {
            cr_assert_eq(PQresultStatus(r), PGRES_FATAL_ERROR, "n=%zu", n);
            cr_assert_str_eq(PQresultErrorField(r, PG_DIAG_SQLSTATE), "54001");
            cr_assert_str_eq(PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY), msgs[i]);
        }
        PQclear(r);
    }
    PGresult *r = PQexec(c, "SELECT count(*) FROM information_schema.views WHERE table_name LIKE 'deep%'");
    cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s", PQresultErrorMessage(r));
    cr_assert_str_eq(PQgetvalue(r, 0, 0), "1");
    PQclear(r);
    PQfinish(c);
}

static char notice_state[8];
static char notice_text[256];

static void
on_notice(void *arg, const PGresult *r)
{
    (void)arg;
    snprintf(notice_state, sizeof notice_state, "%s", PQresultErrorField(r, PG_DIAG_SQLSTATE));
    snprintf(notice_text, sizeof notice_text, "%s",
             PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY));
}

Test(server_pgwire, notices_arrive_as_notice_responses)
{
    PGconn *c = connect_ok(NULL, false);
    PQsetNoticeReceiver(c, on_notice, NULL);
    exec_ok(c, "DROP TABLE IF EXISTS nosuch", "DROP TABLE");
    cr_assert_str_eq(notice_state, "00000");
    cr_assert_str_eq(notice_text, "table \"nosuch\" does not exist, skipping");
    PQfinish(c);
}

Test(server_pgwire, extended_protocol_binds_text_parameters_as_literals)
{
    PGconn *c = connect_ok(NULL, false);
    exec_ok(c, "CREATE TABLE t (a int)", NULL);
    cr_assert_eq(count_tables(c, "t"), 1);
    cr_assert_eq(count_tables(c, "t' OR '1'='1"), 0, "a parameter is a value, never SQL");
    const char *vals[1] = {"it's a 'table' \\ with $1"};
    PGresult *r = PQexecParams(c, "COMMENT ON TABLE t IS $1", 1, NULL, vals, NULL, NULL, 0);
    cr_assert_eq(PQresultStatus(r), PGRES_COMMAND_OK, "%s", PQresultErrorMessage(r));
    cr_assert_str_eq(PQcmdStatus(r), "COMMENT");
    PQclear(r);
    char v[256];
    cr_assert_eq(srvproc_value(c, "SELECT comment FROM cowcat_catalog.comments", v, sizeof v),
                 PGRES_TUPLES_OK);
    cr_assert_str_eq(v, vals[0]);
    /* typed numeric parameters go in as numbers; NULL as NULL */
    Oid types[1] = {23};
    const char *lim[1] = {"1"};
    r = PQexecParams(c, "SELECT table_name FROM information_schema.tables LIMIT $1", 1, types,
                     lim, NULL, NULL, 0);
    cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s", PQresultErrorMessage(r));
    cr_assert_eq(PQntuples(r), 1);
    PQclear(r);
    const char *nul[1] = {NULL};
    r = PQexecParams(c, "SELECT count(*) FROM information_schema.tables WHERE table_name = $1", 1,
                     NULL, nul, NULL, NULL, 0);
    cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s", PQresultErrorMessage(r));
    cr_assert_str_eq(PQgetvalue(r, 0, 0), "0");
    PQclear(r);
    /* a typed number also fits where the grammar wants a plain literal */
    PGconn *sys = connect_ok("cowcat_system", true);
    const char *limit[1] = {"5000"};
    r = PQexecParams(sys, "ALTER SYSTEM SET max_tables = $1", 1, types, limit, NULL, NULL, 0);
    cr_assert_eq(PQresultStatus(r), PGRES_COMMAND_OK, "%s", PQresultErrorMessage(r));
    PQclear(r);
    PQfinish(sys);
    /* DDL through the extended protocol */
    r = PQexecParams(c, "CREATE TABLE u (b text)", 0, NULL, NULL, NULL, NULL, 0);
    cr_assert_eq(PQresultStatus(r), PGRES_COMMAND_OK, "%s", PQresultErrorMessage(r));
    cr_assert_str_eq(PQcmdStatus(r), "CREATE TABLE");
    PQclear(r);
    cr_assert_eq(count_tables(c, "u"), 1);
    PQfinish(c);
}

Test(server_pgwire, prepared_statements_describe_then_execute_many_times)
{
    PGconn *c = connect_ok(NULL, false);
    exec_ok(c, "CREATE TABLE t1 (a int); CREATE TABLE t2 (a int)", NULL);
    PGresult *r = PQprepare(c, "q", "SELECT table_name, table_type FROM information_schema.tables "
                                   "WHERE table_name = $1", 0, NULL);
    cr_assert_eq(PQresultStatus(r), PGRES_COMMAND_OK, "%s", PQresultErrorMessage(r));
    PQclear(r);
    r = PQdescribePrepared(c, "q");
    cr_assert_eq(PQresultStatus(r), PGRES_COMMAND_OK, "%s", PQresultErrorMessage(r));
    cr_assert_eq(PQnparams(r), 1);
    cr_assert_eq(PQnfields(r), 2);
    cr_assert_str_eq(PQfname(r, 1), "table_type");
    PQclear(r);
    const char *names[2] = {"t1", "t2"};
    for (int i = 0; i < 2; i++) {
        r = PQexecPrepared(c, "q", 1, &names[i], NULL, NULL, 0);
        cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s", PQresultErrorMessage(r));
        cr_assert_eq(PQntuples(r), 1);
        cr_assert_str_eq(PQgetvalue(r, 0, 0), names[i]);
        PQclear(r);
    }
    /* errors: the statement exists already; wrong parameter count; several commands */
    r = PQprepare(c, "q", "SELECT 1", 0, NULL);
    cr_assert_str_eq(PQresultErrorField(r, PG_DIAG_SQLSTATE), "42P05");
    PQclear(r);
    r = PQexecPrepared(c, "q", 0, NULL, NULL, NULL, 0);
    cr_assert_str_eq(PQresultErrorField(r, PG_DIAG_SQLSTATE), "08P01");
    PQclear(r);
    r = PQprepare(c, "two", "CREATE TABLE x (a int); CREATE TABLE y (a int)", 0, NULL);
    cr_assert_str_eq(PQresultErrorField(r, PG_DIAG_SQLSTATE), "42601");
    PQclear(r);
    r = PQexecPrepared(c, "nosuch", 0, NULL, NULL, NULL, 0);
    cr_assert_str_eq(PQresultErrorField(r, PG_DIAG_SQLSTATE), "26000");
    PQclear(r);
    /* the connection is still usable after every error */
    cr_assert_eq(count_tables(c, "t1"), 1);
    r = PQexec(c, "DEALLOCATE q");
    PQclear(r);
    PQfinish(c);
}

Test(server_pgwire, a_failed_statement_aborts_the_block_until_rollback)
{
    PGconn *c = connect_ok(NULL, false);
    exec_ok(c, "BEGIN", "BEGIN");
    cr_assert_eq(PQtransactionStatus(c), PQTRANS_INTRANS);
    exec_ok(c, "CREATE TABLE inblock (a int)", "CREATE TABLE");
    expect_error(c, "CREATE TABLE inblock (a int)", "42P07");
    cr_assert_eq(PQtransactionStatus(c), PQTRANS_INERROR);
    expect_error(c, "CREATE TABLE other (a int)", "25P02");
    exec_ok(c, "ROLLBACK", "ROLLBACK");
    cr_assert_eq(PQtransactionStatus(c), PQTRANS_IDLE);
    cr_assert_eq(count_tables(c, "inblock"), 0);
    /* a block that commits: everything at once */
    exec_ok(c, "BEGIN", NULL);
    exec_ok(c, "CREATE TABLE b1 (a int)", NULL);
    exec_ok(c, "CREATE TABLE b2 (a int)", NULL);
    exec_ok(c, "COMMIT", "COMMIT");
    cr_assert_eq(count_tables(c, "b1") + count_tables(c, "b2"), 2);
    PQfinish(c);
}

Test(server_pgwire, a_client_that_vanishes_inside_begin_is_rolled_back_and_frees_the_writer)
{
    PGconn *a = connect_ok(NULL, false);
    exec_ok(a, "BEGIN", NULL);
    exec_ok(a, "CREATE TABLE ghost (a int)", NULL); /* holds the write slot now */
    PQfinish(a);                                    /* no COMMIT: gone */
    PGconn *b = connect_ok(NULL, false);
    exec_ok(b, "CREATE TABLE alive (a int)", "CREATE TABLE"); /* would hang if the slot leaked */
    cr_assert_eq(count_tables(b, "ghost"), 0);
    cr_assert_eq(count_tables(b, "alive"), 1);
    PQfinish(b);
}

Test(server_pgwire, idle_in_transaction_timeout_ends_the_session_and_frees_the_writer)
{
    PGconn *a = connect_ok(NULL, false);
    expect_error(a, "SET idle_in_transaction_session_timeout = '5 parsecs'", "22023");
    exec_ok(a, "SET idle_in_transaction_session_timeout = 60000", "SET");
    PGresult *r = PQexec(a, "SHOW idle_in_transaction_session_timeout");
    cr_assert_str_eq(PQgetvalue(r, 0, 0), "1min");
    PQclear(r);
    exec_ok(a, "SET idle_in_transaction_session_timeout = '200ms'", "SET");
    /* Idle outside a block: never timed out. */
    usleep(400 * 1000);
    exec_ok(a, "BEGIN", NULL);
    exec_ok(a, "CREATE TABLE idle_ghost (a int)", NULL); /* holds the write slot now */
    usleep(600 * 1000);
    r = PQexec(a, "COMMIT");
    cr_assert_neq(PQresultStatus(r), PGRES_COMMAND_OK, "COMMIT after the timeout succeeded");
    cr_assert(strstr(PQerrorMessage(a), "idle-in-transaction timeout") != NULL, "%s",
              PQerrorMessage(a));
    PQclear(r);
    cr_assert_neq(PQstatus(a), CONNECTION_OK);
    PQfinish(a);
    PGconn *b = connect_ok(NULL, false);
    exec_ok(b, "CREATE TABLE idle_alive (a int)", "CREATE TABLE"); /* would hang if the slot leaked */
    cr_assert_eq(count_tables(b, "idle_ghost"), 0);
    PQfinish(b);
}

Test(server_pgwire, parameter_status_reports_settings_and_their_changes)
{
    PGconn *c = connect_ok(NULL, false);
    cr_assert_str_eq(PQparameterStatus(c, "server_encoding"), "UTF8");
    cr_assert_str_eq(PQparameterStatus(c, "client_encoding"), "UTF8");
    cr_assert_str_eq(PQparameterStatus(c, "standard_conforming_strings"), "on");
    cr_assert_str_eq(PQparameterStatus(c, "integer_datetimes"), "on");
    cr_assert_str_eq(PQparameterStatus(c, "DateStyle"), "ISO, MDY");
    cr_assert_geq(PQserverVersion(c), 150000);
    cr_assert_gt(PQbackendPID(c), 0);
    exec_ok(c, "SET application_name = 'reporter'", "SET");
    cr_assert_str_eq(PQparameterStatus(c, "application_name"), "reporter");
    PQfinish(c);
}

Test(server_pgwire, the_internal_port_admits_only_the_system_role)
{
    PGconn *c = srvproc_connect(&srv, "cowcat", NULL, true);
    cr_assert_eq(PQstatus(c), CONNECTION_BAD);
    cr_assert(strstr(PQerrorMessage(c), "may not connect on the internal port") != NULL, "%s",
              PQerrorMessage(c));
    PQfinish(c);
    PGconn *user = connect_ok("cowcat", false);
    expect_error(user, "ALTER SYSTEM SET max_tables = 1000", "42501");
    PGconn *sys = connect_ok("cowcat_system", true);
    exec_ok(sys, "ALTER SYSTEM SET max_tables = 1000", "ALTER SYSTEM");
    PQfinish(sys);
    PQfinish(user);
}

Test(server_pgwire, unknown_roles_and_databases_are_refused_at_startup)
{
    PGconn *c = srvproc_connect(&srv, "nosuchrole", NULL, false);
    cr_assert_eq(PQstatus(c), CONNECTION_BAD);
    cr_assert(strstr(PQerrorMessage(c), "role \"nosuchrole\" does not exist") != NULL, "%s",
              PQerrorMessage(c));
    PQfinish(c);
    char port[16];
    snprintf(port, sizeof port, "%d", srv.port);
    const char *keys[] = {"host", "port", "user", "dbname", NULL};
    const char *vals[] = {"127.0.0.1", port, "cowcat", "nosuchdb", NULL};
    c = PQconnectdbParams(keys, vals, 0);
    cr_assert_eq(PQstatus(c), CONNECTION_BAD);
    cr_assert(strstr(PQerrorMessage(c), "database \"nosuchdb\" does not exist") != NULL, "%s",
              PQerrorMessage(c));
    PQfinish(c);
    /* a role without LOGIN */
    PGconn *sys = connect_ok("cowcat_system", true);
    exec_ok(sys, "CREATE ROLE nologin", NULL);
    PQfinish(sys);
    c = srvproc_connect(&srv, "nologin", NULL, false);
    cr_assert_eq(PQstatus(c), CONNECTION_BAD);
    cr_assert(strstr(PQerrorMessage(c), "is not permitted to log in") != NULL, "%s",
              PQerrorMessage(c));
    PQfinish(c);
}

/* GET path from the metrics port; returns the whole response (static buffer). */
static const char *
http_get(int port, const char *path)
{
    static char buf[1 << 20];
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    char req[256];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: x\r\n\r\n", path);
    cr_assert_eq(write(fd, req, (size_t)n), n);
    size_t len = 0;
    ssize_t r;
    while (len + 1 < sizeof buf && (r = read(fd, buf + len, sizeof buf - 1 - len)) > 0)
        len += (size_t)r;
    buf[len] = '\0';
    close(fd);
    return buf;
}

Test(server_pgwire, metrics_count_statements_phases_errors_and_connections)
{
    PGconn *c = connect_ok(NULL, false);
    exec_ok(c, "CREATE TABLE m (a int)", NULL);
    expect_error(c, "CREATE TABLE m (a int)", "42P07");
    const char *body = http_get(srv.metrics_port, "/metrics");
    cr_assert(strncmp(body, "HTTP/1.", 7) == 0 && strstr(body, " 200 ") != NULL, "%.200s", body);
    cr_assert(strstr(body, "cowcat_statement_duration_seconds_bucket{kind=\"CREATE TABLE\"") !=
              NULL);
    cr_assert(strstr(body, "cowcat_errors_total{sqlstate=\"42P07\"} 1") != NULL);
    cr_assert(strstr(body, "cowcat_ddl_phase_duration_seconds_count{phase=\"commit\"}") != NULL);
    cr_assert(strstr(body, "cowcat_connections 1") != NULL);
    cr_assert(strstr(body, "cowcat_objects{kind=\"table\"} 1") != NULL);
    body = http_get(srv.metrics_port, "/nosuch");
    cr_assert(strstr(body, " 404 ") != NULL);
    PQfinish(c);
}

Test(server_startup, max_connections_answers_53300_beyond_the_limit)
{
    const char *extra[] = {"--max-connections", "2", NULL};
    cr_assert_eq(srvproc_start(&srv, NULL, extra), 0);
    PGconn *a = connect_ok(NULL, false);
    PGconn *b = connect_ok(NULL, false);
    PGconn *c = srvproc_connect(&srv, NULL, NULL, false);
    cr_assert_eq(PQstatus(c), CONNECTION_BAD);
    cr_assert(strstr(PQerrorMessage(c), "sorry, too many clients already") != NULL, "%s",
              PQerrorMessage(c));
    PQfinish(c);
    PGconn *sys = connect_ok("cowcat_system", true); /* the internal port is not counted */
    PQfinish(sys);
    PQfinish(b); /* a slot frees up */
    PGconn *d = NULL;
    for (int i = 0; i < 50; i++) { /* the server notices b's close asynchronously */
        d = srvproc_connect(&srv, NULL, NULL, false);
        if (PQstatus(d) == CONNECTION_OK)
            break;
        PQfinish(d);
        d = NULL;
        usleep(20000);
    }
    cr_assert_not_null(d);
    PQfinish(d);
    PQfinish(a);
    stop_server();
}

Test(server_startup, trust_is_refused_on_a_public_listener)
{
    const char *extra[] = {"--listen", "0.0.0.0:0", NULL};
    cr_assert_neq(srvproc_start(&srv, NULL, extra), 0);
    FILE *f = fopen(srv.log, "r");
    cr_assert_not_null(f);
    char line[512] = "";
    cr_assert_not_null(fgets(line, sizeof line, f));
    fclose(f);
    cr_assert(strstr(line, "trust authentication is only allowed on loopback") != NULL, "%s",
              line);
}

Test(server_startup, scram_admits_the_right_password_only)
{
    const char *extra[] = {"--auth", "scram", NULL};
    cr_assert_eq(srvproc_start(&srv, NULL, extra), 0);
    /* the system role on the loopback internal port sets the first passwords */
    PGconn *sys = connect_ok("cowcat_system", true);
    exec_ok(sys, "CREATE ROLE alice LOGIN PASSWORD 'correct horse'", "CREATE ROLE");
    PQfinish(sys);
    PGconn *c = srvproc_connect(&srv, "alice", "correct horse", false);
    cr_assert_eq(PQstatus(c), CONNECTION_OK, "%s", PQerrorMessage(c));
    exec_ok(c, "SELECT 1", NULL);
    PQfinish(c);
    const char *wrong[] = {"wrong", "", "correct horsE"};
    for (size_t i = 0; i < sizeof wrong / sizeof *wrong; i++) {
        c = srvproc_connect(&srv, "alice", wrong[i], false);
        cr_assert_eq(PQstatus(c), CONNECTION_BAD);
        /* libpq itself refuses to send an empty password */
        cr_assert(strstr(PQerrorMessage(c), "password authentication failed for user \"alice\"") !=
                          NULL ||
                      (wrong[i][0] == '\0' && strstr(PQerrorMessage(c), "no password supplied")),
                  "%s", PQerrorMessage(c));
        PQfinish(c);
    }
    /* an unknown role fails exactly like a wrong password */
    c = srvproc_connect(&srv, "mallory", "x", false);
    cr_assert_eq(PQstatus(c), CONNECTION_BAD);
    cr_assert(strstr(PQerrorMessage(c), "password authentication failed for user \"mallory\"") !=
                  NULL,
              "%s", PQerrorMessage(c));
    PQfinish(c);
    /* a role without a password cannot log in under scram, until it is given one */
    c = srvproc_connect(&srv, "cowcat", "anything", false);
    cr_assert_eq(PQstatus(c), CONNECTION_BAD);
    PQfinish(c);
    sys = connect_ok("cowcat_system", true);
    exec_ok(sys, "ALTER ROLE cowcat PASSWORD 'anything'", "ALTER ROLE");
    PQfinish(sys);
    c = srvproc_connect(&srv, "cowcat", "anything", false);
    cr_assert_eq(PQstatus(c), CONNECTION_OK, "%s", PQerrorMessage(c));
    /* and may change its own */
    exec_ok(c, "ALTER ROLE cowcat PASSWORD 'other'", "ALTER ROLE");
    PQfinish(c);
    c = srvproc_connect(&srv, "cowcat", "anything", false);
    cr_assert_eq(PQstatus(c), CONNECTION_BAD, "the old password no longer works");
    PQfinish(c);
    stop_server();
}

/* --- graceful shutdown with DDL in flight ---------------------------------------------- */

#include <pthread.h>

typedef struct writer {
    int id;
    int acked; /* CREATE TABLEs acknowledged */
} writer;

static void *
write_until_stopped(void *arg)
{
    writer *w = arg;
    PGconn *c = srvproc_connect(&srv, NULL, NULL, false);
    if (PQstatus(c) != CONNECTION_OK) {
        PQfinish(c);
        return NULL;
    }
    for (int i = 0;; i++) {
        char sql[128];
        snprintf(sql, sizeof sql, "CREATE TABLE w%d_%d (a int, b text)", w->id, i);
        PGresult *r = PQexec(c, sql);
        bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
        if (!ok)
            break;
        w->acked = i + 1;
    }
    PQfinish(c);
    return NULL;
}

Test(server_durable, sigterm_with_ddl_in_flight_keeps_every_acknowledged_statement)
{
    char dir[256];
    srvproc_tmpdir(dir, sizeof dir, "shutdown");
    cr_assert_eq(srvproc_start(&srv, dir, NULL), 0);
    enum { NW = 4 };
    writer w[NW];
    pthread_t t[NW];
    for (int i = 0; i < NW; i++) {
        w[i] = (writer){.id = i};
        pthread_create(&t[i], NULL, write_until_stopped, &w[i]);
    }
    usleep(400000);
    cr_assert_eq(srvproc_stop(&srv), 0, "SIGTERM: exit 0");
    cr_expect(!srvproc_log_has_sanitizer_report(&srv), "sanitizer report in %s", srv.log);
    for (int i = 0; i < NW; i++)
        pthread_join(t[i], NULL);
    cr_assert_eq(srvproc_start(&srv, dir, NULL), 0, "restart on the same data directory");
    PGconn *c = connect_ok(NULL, false);
    int total = 0;
    for (int i = 0; i < NW; i++) {
        for (int k = 0; k < w[i].acked; k++) {
            char name[64];
            snprintf(name, sizeof name, "w%d_%d", i, k);
            cr_assert_eq(count_tables(c, name), 1, "acknowledged %s is lost", name);
        }
        total += w[i].acked;
    }
    cr_assert_gt(total, 0, "the writers got some DDL in before the stop");
    PQfinish(c);
    stop_server();
    srvproc_rmdir(dir);
}
