/*
 * server/src/conn.c — one client connection: startup, authentication, the
 * simple query protocol, and the dispatch of every frontend message.
 *
 *   accept ─> startup packet ─┬─ SSLRequest / GSSENCRequest: 'N', read again
 *                             ├─ CancelRequest: the connection with that
 *                             │  pid and key has its waiting write cancelled
 *                             │  (cowcat_session_cancel); closed, no answer
 *                             └─ 3.0: user, database, settings
 *             ─> port rules (cowcat_system only on the internal port, and
 *                only it) ─> connection limit (53300) ─> trust | SCRAM
 *             ─> session ─> AuthenticationOk, ParameterStatus..., BackendKeyData,
 *                ReadyForQuery
 *             ─> messages until Terminate, EOF, a protocol error or shutdown
 *
 * Errors that end the connection are sent as FATAL; an open transaction
 * block is rolled back when the session closes. Output is buffered and
 * flushed at ReadyForQuery, Flush, or when the buffer passes
 * SRV_FLUSH_AT (large results stream).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "base/alloc.h"
#include "internal.h"
#include "server/scram.h"

#define SRV_FLUSH_AT (64u << 10)
/* After a FATAL for an overlong message: its body is read and dropped before the close, at most. */
#define SRV_LINGER_MS    1000
#define SRV_LINGER_BYTES (PGW_MAX_MESSAGE + (1u << 20))
#define SRV_SERVER_VERSION "15.1 (cowcat 0.1.0)"

/* Settings reported with ParameterStatus at startup and when they change. */
static const char *const reported[] = {
    "application_name", "client_encoding",  "DateStyle",
    "integer_datetimes", "IntervalStyle",   "server_encoding",
    "standard_conforming_strings", "TimeZone",
};
#define NREPORTED (sizeof reported / sizeof *reported)

/* What a connection remembers between messages beyond srv_conn. */
typedef struct conn_state {
    char sent[NREPORTED][128]; /* the values last reported */
    uint64_t started_ns;
} conn_state;

static uint64_t
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* --- backend messages ------------------------------------------------------------------- */

static void
put_field(pgw_buf *b, char code, const char *value)
{
    if (value == NULL || value[0] == '\0')
        return;
    pgw_put_u8(b, (uint8_t)code);
    pgw_put_str(b, value);
}

/* An ErrorResponse ('E') or NoticeResponse ('N') body. */
static void
put_report(pgw_buf *b, char type, const char *severity, const cowcat_error *e)
{
    pgw_msg_begin(b, type);
    put_field(b, 'S', severity);
    put_field(b, 'V', severity);
    put_field(b, 'C', e->sqlstate[0] ? e->sqlstate : "XX000");
    put_field(b, 'M', e->message);
    put_field(b, 'D', e->detail);
    put_field(b, 'H', e->hint);
    if (e->position > 0) {
        char pos[16];
        snprintf(pos, sizeof pos, "%d", e->position);
        put_field(b, 'P', pos);
    }
    pgw_put_u8(b, 0);
    pgw_msg_end(b);
}

void
srv__send_error(srv_conn *c, const char *severity, const cowcat_error *e)
{
    put_report(&c->out, 'E', severity, e);
    srv__log(c->srv, SRV_LOG_INFO, c->pid, "%s:  %s (SQLSTATE %s)", severity, e->message,
             e->sqlstate);
}

void
srv__error_v(cowcat_error *e, const char *sqlstate, const char *fmt, va_list ap)
{
    memset(e, 0, sizeof *e);
    snprintf(e->sqlstate, sizeof e->sqlstate, "%s", sqlstate);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
}

void
srv__send_error_simple(srv_conn *c, const char *severity, const char *sqlstate, const char *fmt,
                       ...)
{
    cowcat_error e;
    va_list ap;
    va_start(ap, fmt);
    srv__error_v(&e, sqlstate, fmt, ap);
    va_end(ap);
    srv__send_error(c, severity, &e);
}

void
srv__send_notice(pgw_buf *b, const cowcat_error *e)
{
    put_report(b, 'N', e->severity[0] ? e->severity : "NOTICE", e);
}

void
srv__send_ready(srv_conn *c)
{
    pgw_msg_begin(&c->out, 'Z');
    pgw_put_u8(&c->out, c->session != NULL ? (uint8_t)cowcat_session_status(c->session) : 'I');
    pgw_msg_end(&c->out);
}

/* The storage size PostgreSQL reports for a type (RowDescription's typlen). */
static int16_t
type_len(uint32_t oid)
{
    switch (oid) {
    case 16: /* bool */
    case 18: /* char */
        return 1;
    case 21: /* int2 */
        return 2;
    case 23: /* int4 */
    case 26: /* oid */
    case 700: /* float4 */
    case 1082: /* date */
        return 4;
    case 20: /* int8 */
    case 701: /* float8 */
    case 1083: /* time */
    case 1114: /* timestamp */
    case 1184: /* timestamptz */
        return 8;
    case 2950: /* uuid */
        return 16;
    case 19: /* name */
        return 64;
    default:
        return -1;
    }
}

void
srv__row_description(pgw_buf *b, const cowcat_column *cols, size_t n)
{
    pgw_msg_begin(b, 'T');
    pgw_put_i16(b, (int16_t)n);
    for (size_t i = 0; i < n; i++) {
        pgw_put_str(b, cols[i].name);
        pgw_put_i32(b, 0); /* table OID */
        pgw_put_i16(b, 0); /* column number */
        pgw_put_i32(b, (int32_t)cols[i].type_oid);
        pgw_put_i16(b, type_len(cols[i].type_oid));
        pgw_put_i32(b, -1); /* typmod */
        pgw_put_i16(b, 0);  /* text format */
    }
    pgw_msg_end(b);
}

void
srv__data_row(pgw_buf *b, const char *const *values, size_t n)
{
    pgw_msg_begin(b, 'D');
    pgw_put_i16(b, (int16_t)n);
    for (size_t i = 0; i < n; i++) {
        if (values[i] == NULL) {
            pgw_put_i32(b, -1);
            continue;
        }
        size_t len = strlen(values[i]);
        pgw_put_i32(b, (int32_t)len);
        pgw_put_bytes(b, values[i], len);
    }
    pgw_msg_end(b);
}

void
srv__tag_kind(const char *tag, char *out, size_t n)
{
    size_t len = strlen(tag);
    while (len > 0 && (tag[len - 1] == ' ' || (tag[len - 1] >= '0' && tag[len - 1] <= '9')))
        len--;
    if (len == 0)
        len = strlen(tag);
    if (len >= n)
        len = n - 1;
    memcpy(out, tag, len);
    out[len] = '\0';
}

static void
put_param_status(pgw_buf *b, const char *name, const char *value)
{
    pgw_msg_begin(b, 'S');
    pgw_put_str(b, name);
    pgw_put_str(b, value);
    pgw_msg_end(b);
}

/* Sends ParameterStatus for each reported setting whose value changed (all at startup). */
static void
report_settings(srv_conn *c, conn_state *cs)
{
    for (size_t i = 0; i < NREPORTED; i++) {
        const char *v = cowcat_session_setting(c->session, reported[i]);
        if (v == NULL || strcmp(v, cs->sent[i]) == 0)
            continue;
        snprintf(cs->sent[i], sizeof cs->sent[i], "%s", v);
        put_param_status(&c->out, reported[i], v);
    }
}

/* --- startup --------------------------------------------------------------------------- */

/* Sends a FATAL error and flushes: the caller closes. */
static bool
fatal(srv_conn *c, const char *sqlstate, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool
fatal(srv_conn *c, const char *sqlstate, const char *fmt, ...)
{
    cowcat_error e;
    va_list ap;
    va_start(ap, fmt);
    srv__error_v(&e, sqlstate, fmt, ap);
    va_end(ap);
    srv__send_error(c, "FATAL", &e);
    srv_metrics_statement(c->srv->metrics, "connect", 0, sqlstate);
    pgw_flush(c->fd, &c->out);
    return false;
}

static void
put_auth(pgw_buf *b, int32_t code, const char *data, size_t n)
{
    pgw_msg_begin(b, 'R');
    pgw_put_i32(b, code);
    pgw_put_bytes(b, data, n);
    pgw_msg_end(b);
}

/* Reads one SASL message ('p'); false: the connection is gone or broke the protocol. */
static bool
read_sasl(srv_conn *c, const char **body, size_t *n)
{
    char type;
    pgw_read_result rr = pgw_read_message(&c->in, false, PGW_MAX_STARTUP, c->srv->stop_pipe[0],
                                          &type, body, n);
    if (rr == PGW_READ_EOF || rr == PGW_READ_TRUNCATED || rr == PGW_READ_STOP)
        return false;
    if (rr != PGW_READ_OK || type != 'p')
        return fatal(c, "08P01", "expected SASL response, got message type %d", type);
    return true;
}

/* SCRAM-SHA-256 (server/scram.h). False: refused (already reported) or gone. */
static bool
authenticate_scram(srv_conn *c, const cowcat_role_auth *ra)
{
    static const char mechs[] = "SCRAM-SHA-256\0";
    put_auth(&c->out, 10, mechs, sizeof mechs); /* AuthenticationSASL: list ends with "" */
    if (!pgw_flush(c->fd, &c->out))
        return false;
    const char *body;
    size_t n;
    if (!read_sasl(c, &body, &n))
        return false;
    pgw_reader r;
    pgw_reader_init(&r, body, n);
    const char *mech, *data;
    int32_t len;
    if (!pgw_get_str(&r, &mech) || !pgw_get_i32(&r, &len) || len < 0 ||
        !pgw_get_bytes(&r, (size_t)len, &data) || !pgw_reader_done(&r))
        return fatal(c, "08P01", "malformed SASLInitialResponse message");
    if (strcmp(mech, "SCRAM-SHA-256") != 0)
        return fatal(c, "08P01", "client selected an invalid SASL authentication mechanism");
    srv_scram *sc = NULL;
    cc_err e;
    cc_err_clear(&e);
    if (srv_scram_new(c->user, ra->exists && ra->verifier[0] ? ra->verifier : NULL, &sc, &e) !=
        CC_OK)
        return fatal(c, "53200", "out of memory");
    char *reply = NULL;
    bool ok = false;
    if (srv_scram_first(sc, data, (size_t)len, &reply, &e) != CC_OK) {
        fatal(c, cc_err_sqlstate(&e), "%s", e.msg);
        goto done;
    }
    put_auth(&c->out, 11, reply, strlen(reply)); /* AuthenticationSASLContinue */
    cc_free(reply);
    reply = NULL;
    if (!pgw_flush(c->fd, &c->out) || !read_sasl(c, &body, &n))
        goto done;
    cc_code rc = srv_scram_final(sc, body, n, &reply, &e);
    if (rc == CC_PERMISSION) {
        srv__log(c->srv, SRV_LOG_INFO, c->pid, "password authentication failed for user \"%s\"",
                 c->user);
        fatal(c, "28P01", "password authentication failed for user \"%s\"", c->user);
        goto done;
    }
    if (rc != CC_OK) {
        fatal(c, cc_err_sqlstate(&e), "%s", e.msg);
        goto done;
    }
    put_auth(&c->out, 12, reply, strlen(reply)); /* AuthenticationSASLFinal */
    ok = true;
done:
    cc_free(reply);
    srv_scram_free(sc);
    return ok;
}

/* Applies one startup setting; false: refused (reported). */
static bool
startup_setting(srv_conn *c, const char *name, const char *value)
{
    /* The client's encoding is always UTF8 here; libpq's "auto" and friends are accepted. */
    if (strcasecmp(name, "client_encoding") == 0)
        return true;
    size_t need = strlen(name) + 2 * strlen(value) + 16;
    char *sql = cc_malloc(need);
    if (sql == NULL)
        return fatal(c, "53200", "out of memory");
    size_t k = (size_t)snprintf(sql, need, "SET \"%s\" = '", name);
    for (const char *p = value; *p; p++) {
        if (*p == '\'')
            sql[k++] = '\'';
        sql[k++] = *p;
    }
    sql[k++] = '\'';
    sql[k] = '\0';
    cowcat_error e;
    cowcat_code rc = cowcat_exec(c->session, sql, NULL, NULL, &e);
    cc_free(sql);
    if (rc != COWCAT_OK) {
        e.position = 0;
        srv__send_error(c, "FATAL", &e);
        pgw_flush(c->fd, &c->out);
        return false;
    }
    return true;
}

/* Applies "-c name=value" / "--name=value" words of the options parameter. */
static bool
startup_options(srv_conn *c, const char *options)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", options);
    char *save = NULL;
    bool want_c = false;
    for (char *w = strtok_r(buf, " \t", &save); w != NULL; w = strtok_r(NULL, " \t", &save)) {
        if (strcmp(w, "-c") == 0) {
            want_c = true;
            continue;
        }
        char *kv = w;
        if (!want_c && strncmp(w, "--", 2) == 0)
            kv = w + 2;
        else if (!want_c)
            return fatal(c, "42601", "invalid command-line argument for server process: %s", w);
        want_c = false;
        char *eq = strchr(kv, '=');
        if (eq == NULL)
            return fatal(c, "42601", "-c %s requires a value", kv);
        *eq = '\0';
        for (char *p = kv; *p; p++)
            if (*p == '-')
                *p = '_';
        if (!startup_setting(c, kv, eq + 1))
            return false;
    }
    return true;
}

/*
 * The startup phase up to ReadyForQuery. False: the connection ends (an
 * error was sent, or the client left). *admitted: a connection slot was
 * taken (the caller gives it back).
 */
static bool
startup(srv_conn *c, conn_state *cs, bool *admitted)
{
    srv_server *s = c->srv;
    const char *body;
    size_t n;
    char type;
    int32_t code = 0;
    pgw_reader r;
    for (int negotiations = 0;; negotiations++) {
        pgw_read_result rr = pgw_read_message(&c->in, true, PGW_MAX_STARTUP, s->stop_pipe[0],
                                              &type, &body, &n);
        if (rr == PGW_READ_TOO_LONG)
            return fatal(c, "08P01", "invalid length of startup packet");
        if (rr != PGW_READ_OK)
            return false;
        pgw_reader_init(&r, body, n);
        if (!pgw_get_i32(&r, &code))
            return fatal(c, "08P01", "invalid length of startup packet");
        if ((code == PGW_SSL_REQUEST || code == PGW_GSS_REQUEST) && negotiations < 2) {
            if (send(c->fd, "N", 1, MSG_NOSIGNAL) != 1)
                return false;
            continue;
        }
        break;
    }
    if (code == PGW_CANCEL_REQUEST) { /* no answer either way, as in PostgreSQL */
        int32_t pid = 0, key = 0;
        pgw_get_i32(&r, &pid);
        pgw_get_i32(&r, &key);
        bool found = false;
        pthread_mutex_lock(&s->lock);
        for (srv_conn *t = s->conns; t != NULL && !found; t = t->next) {
            if ((int32_t)t->pid != pid || t->key != key || t->cancel_target == NULL)
                continue;
            cowcat_session_cancel(t->cancel_target);
            found = true;
        }
        pthread_mutex_unlock(&s->lock);
        srv__log(s, SRV_LOG_INFO, c->pid, "cancel request for connection %d%s", pid,
                 found ? "" : ": no such connection (or a wrong key)");
        return false;
    }
    if ((code >> 16) != 3)
        return fatal(c, "0A000",
                     "unsupported frontend protocol %d.%d: server supports 3.0 to 3.0",
                     code >> 16, code & 0xffff);
    const char *user = NULL, *database = NULL, *options = NULL;
    const char *names[32], *values[32];
    size_t nset = 0;
    for (;;) {
        const char *k, *v;
        if (!pgw_get_str(&r, &k))
            return fatal(c, "08P01", "invalid startup packet layout: expected terminator as last byte");
        if (k[0] == '\0')
            break;
        if (!pgw_get_str(&r, &v))
            return fatal(c, "08P01", "invalid startup packet layout: expected terminator as last byte");
        if (strcmp(k, "user") == 0)
            user = v;
        else if (strcmp(k, "database") == 0)
            database = v;
        else if (strcmp(k, "options") == 0)
            options = v;
        else if (strcmp(k, "replication") == 0)
            return fatal(c, "0A000", "replication connections are not supported");
        else if (nset < 32) {
            names[nset] = k;
            values[nset++] = v;
        }
    }
    if (user == NULL || user[0] == '\0')
        return fatal(c, "28000", "no PostgreSQL user name specified in startup packet");
    if (database == NULL || database[0] == '\0')
        database = user;
    snprintf(c->user, sizeof c->user, "%s", user);
    snprintf(c->database, sizeof c->database, "%s", database);
    srv__log(s, SRV_LOG_DEBUG, c->pid, "connection: user=%s database=%s", c->user, c->database);

    bool system = strcmp(c->user, "cowcat_system") == 0;
    if (c->internal && !system)
        return fatal(c, "28000", "role \"%s\" may not connect on the internal port", c->user);
    if (!c->internal) {
        pthread_mutex_lock(&s->lock);
        bool room = s->nsessions < s->opts.max_connections;
        if (room)
            s->nsessions++;
        pthread_mutex_unlock(&s->lock);
        if (!room) {
            srv_metrics_connection_rejected(s->metrics, "max_connections");
            return fatal(c, "53300", "sorry, too many clients already");
        }
        *admitted = true;
    }

    cowcat_role_auth ra;
    cowcat_error e;
    if (cowcat_role_auth_get(s->db, c->user, &ra, &e) != COWCAT_OK) {
        srv__send_error(c, "FATAL", &e);
        pgw_flush(c->fd, &c->out);
        return false;
    }
    /* The system role on a loopback internal port is trusted even under scram:
     * that is how the first passwords get set. */
    if (s->opts.auth == SRV_AUTH_SCRAM && !(c->internal && s->internal_trusted)) {
        if (!authenticate_scram(c, &ra))
            return false;
    } else if (!ra.exists) {
        return fatal(c, "28000", "role \"%s\" does not exist", c->user);
    }
    if (!ra.login && !system)
        return fatal(c, "28000", "role \"%s\" is not permitted to log in", c->user);
    cowcat_session_options so = {.user = c->user, .database = c->database};
    if (cowcat_session_open(s->db, &so, &c->session, &e) != COWCAT_OK) {
        srv__send_error(c, "FATAL", &e);
        pgw_flush(c->fd, &c->out);
        return false;
    }
    pthread_mutex_lock(&s->lock);
    c->cancel_target = c->session;
    pthread_mutex_unlock(&s->lock);
    for (size_t i = 0; i < nset; i++)
        if (!startup_setting(c, names[i], values[i]))
            return false;
    if (options != NULL && !startup_options(c, options))
        return false;

    put_auth(&c->out, 0, NULL, 0); /* AuthenticationOk */
    report_settings(c, cs);
    put_param_status(&c->out, "server_version", SRV_SERVER_VERSION);
    put_param_status(&c->out, "is_superuser", ra.superuser ? "on" : "off");
    put_param_status(&c->out, "session_authorization", c->user);
    pgw_msg_begin(&c->out, 'K');
    pgw_put_i32(&c->out, (int32_t)c->pid);
    pgw_put_i32(&c->out, c->key);
    pgw_msg_end(&c->out);
    srv__send_ready(c);
    srv__log(s, SRV_LOG_INFO, c->pid, "connection authorized: user=%s database=%s%s", c->user,
             c->database, c->internal ? " (internal port)" : "");
    return pgw_flush(c->fd, &c->out);
}

/* --- the simple query protocol ------------------------------------------------------------ */

/* Result callbacks of a simple query: straight into the output buffer. */
typedef struct simple_run {
    srv_conn *c;
    uint64_t last_ns; /* when the previous statement of the string ended */
    size_t completed;
    bool broken;      /* a flush failed: the client is gone */
} simple_run;

static void
maybe_flush(simple_run *run)
{
    if (run->c->out.len >= SRV_FLUSH_AT && !pgw_flush(run->c->fd, &run->c->out))
        run->broken = true;
}

static int
simple_columns(void *arg, const cowcat_column *cols, size_t n)
{
    simple_run *run = arg;
    srv__row_description(&run->c->out, cols, n);
    return 0;
}

static int
simple_row(void *arg, const char *const *values, size_t n)
{
    simple_run *run = arg;
    srv__data_row(&run->c->out, values, n);
    maybe_flush(run);
    return run->broken ? 1 : 0;
}

static void
simple_complete(void *arg, const char *tag)
{
    simple_run *run = arg;
    pgw_msg_begin(&run->c->out, 'C');
    pgw_put_str(&run->c->out, tag);
    pgw_msg_end(&run->c->out);
    char kind[64];
    srv__tag_kind(tag, kind, sizeof kind);
    uint64_t now = now_ns();
    srv_metrics_statement(run->c->srv->metrics, kind, (double)(now - run->last_ns) / 1e9, NULL);
    run->last_ns = now;
    run->completed++;
}

static void
simple_notice(void *arg, const cowcat_error *n)
{
    simple_run *run = arg;
    srv__send_notice(&run->c->out, n);
}

/* 'Q': runs the string; false: the client is gone. */
static bool
simple_query(srv_conn *c, conn_state *cs, const char *body, size_t n)
{
    pgw_reader r;
    pgw_reader_init(&r, body, n);
    const char *sql;
    if (!pgw_get_str(&r, &sql) || !pgw_reader_done(&r)) {
        fatal(c, "08P01", "invalid Query message");
        return false;
    }
    srv__drop_unnamed_portal(c);
    simple_run run = {.c = c, .last_ns = now_ns()};
    static const cowcat_callbacks cb = {simple_columns, simple_row, simple_complete,
                                        simple_notice};
    cowcat_error e;
    cowcat_code rc = cowcat_exec(c->session, sql, &cb, &run, &e);
    if (rc != COWCAT_OK)
        srv__statement_failed(c->srv, c->pid, rc);
    if (run.broken)
        return false;
    if (rc != COWCAT_OK) {
        srv__send_error(c, "ERROR", &e);
        srv_metrics_statement(c->srv->metrics, "error", (double)(now_ns() - run.last_ns) / 1e9,
                              e.sqlstate);
    } else if (run.completed == 0) {
        pgw_msg_begin(&c->out, 'I'); /* EmptyQueryResponse */
        pgw_msg_end(&c->out);
    }
    report_settings(c, cs);
    srv__send_ready(c);
    return pgw_flush(c->fd, &c->out);
}

/*
 * A Query or Parse over the statement limit, which pgw_read_message read
 * and dropped (len: its statement's length): 54000 as the engine words it.
 * A Query answers ReadyForQuery and fails an open block, as any error
 * does; a Parse error skips to Sync (extended.c). False: the client is gone.
 */
static bool
statement_too_long(srv_conn *c, conn_state *cs, char type, size_t len)
{
    if (c->skip_to_sync) /* an earlier error: ignored until Sync */
        return true;
    srv__send_error_simple(c, "ERROR", "54000",
                           "statement is too long: %zu bytes (the limit is %u)", len,
                           COWCAT_MAX_STATEMENT_BYTES);
    srv_metrics_statement(c->srv->metrics, "error", 0, "54000");
    if (type == 'P') {
        c->skip_to_sync = true;
        return c->out.len < SRV_FLUSH_AT || pgw_flush(c->fd, &c->out);
    }
    srv__drop_unnamed_portal(c);
    cowcat_session_fail_block(c->session); /* as the engine's own refusal would */
    report_settings(c, cs);
    srv__send_ready(c);
    return pgw_flush(c->fd, &c->out);
}

/* --- the message loop ------------------------------------------------------------------------ */

/*
 * idle_in_transaction_session_timeout while the session is inside a block
 * (a block holds the catalog's write slot, so an idle one stalls every
 * other session's DDL); 0 otherwise. Its value was validated by SET.
 */
static int
idle_timeout_ms(srv_conn *c)
{
    if (cowcat_session_status(c->session) == COWCAT_TXN_IDLE)
        return 0;
    int64_t ms = 0;
    const char *v = cowcat_session_setting(c->session, "idle_in_transaction_session_timeout");
    if (v == NULL || !cowcat_duration_ms(v, &ms))
        return 0;
    return (int)ms;
}

static void
serve(srv_conn *c, conn_state *cs)
{
    srv_server *s = c->srv;
    cowcat_error fail;
    c->in.statement_limit = COWCAT_MAX_STATEMENT_BYTES;
    for (;;) {
        char type;
        const char *body;
        size_t n;
        c->in.idle_timeout_ms = idle_timeout_ms(c);
        pgw_read_result rr =
            pgw_read_message(&c->in, false, PGW_MAX_MESSAGE, s->stop_pipe[0], &type, &body, &n);
        switch (rr) {
        case PGW_READ_OK:
            break;
        case PGW_READ_EOF:
            return;
        case PGW_READ_STOP:
            if (srv_server_failed(s, &fail))
                fatal(c, fail.sqlstate, "terminating connection because the server is shutting "
                                        "down: %s", fail.message);
            else
                fatal(c, "57P01", "terminating connection due to administrator command");
            return;
        case PGW_READ_TRUNCATED:
            srv__log(s, SRV_LOG_INFO, c->pid, "unexpected EOF within message");
            return;
        case PGW_READ_TOO_LONG:
            /*
             * Closing with the body unread would reset the connection and
             * the client could lose the FATAL: read it first (bounded).
             */
            fatal(c, "08P01", "invalid message length");
            pgw_drain(&c->in, n < SRV_LINGER_BYTES ? n : SRV_LINGER_BYTES, SRV_LINGER_MS,
                      s->stop_pipe[0]);
            return;
        case PGW_READ_NOMEM:
            fatal(c, "53200", "out of memory");
            return;
        case PGW_READ_TIMEOUT: /* the block is rolled back as the connection closes */
            fatal(c, "25P03", "terminating connection due to idle-in-transaction timeout");
            return;
        case PGW_READ_STATEMENT_TOO_LONG:
            if (!statement_too_long(c, cs, type, n))
                return;
            continue;
        }
        switch (type) {
        case 'Q':
            if (c->skip_to_sync)
                break;
            if (!simple_query(c, cs, body, n))
                return;
            break;
        case 'P':
        case 'B':
        case 'D':
        case 'E':
        case 'C':
            if (c->skip_to_sync)
                break;
            if (!srv__extended(c, type, body, n))
                return;
            if (type == 'E')
                report_settings(c, cs);
            if (c->out.len >= SRV_FLUSH_AT && !pgw_flush(c->fd, &c->out))
                return;
            break;
        case 'S': /* Sync */
            c->skip_to_sync = false;
            srv__send_ready(c);
            if (!pgw_flush(c->fd, &c->out))
                return;
            break;
        case 'H': /* Flush */
            if (!pgw_flush(c->fd, &c->out))
                return;
            break;
        case 'X': /* Terminate */
            return;
        case 'F':
            if (c->skip_to_sync)
                break;
            srv__send_error_simple(c, "ERROR", "0A000", "fastpath function calls not supported");
            c->skip_to_sync = true;
            break;
        case 'd': /* CopyData, CopyDone, CopyFail outside COPY: ignored, as PostgreSQL does */
        case 'c':
        case 'f':
            break;
        default:
            fatal(c, "08P01", "invalid frontend message type %d", (unsigned char)type);
            return;
        }
    }
}

void *
srv__conn_main(void *arg)
{
    srv_conn *c = arg;
    srv_server *s = c->srv;
    uint64_t start = now_ns();
    conn_state cs;
    memset(&cs, 0, sizeof cs);
    pgw_in_init(&c->in, c->fd);
    pgw_buf_init(&c->out);
    srv_metrics_connection_opened(s->metrics);
    srv__log(s, SRV_LOG_INFO, c->pid, "connection received: host=%s%s", c->peer,
             c->internal ? " (internal port)" : "");
    bool admitted = false;
    if (startup(c, &cs, &admitted))
        serve(c, &cs);

    bool in_block = c->session != NULL && cowcat_session_status(c->session) != COWCAT_TXN_IDLE;
    srv__extended_reset(c);
    pthread_mutex_lock(&s->lock); /* no CancelRequest reaches the session from here on */
    c->cancel_target = NULL;
    pthread_mutex_unlock(&s->lock);
    cowcat_session_close(c->session); /* rolls back an open block */
    c->session = NULL;
    close(c->fd);
    pgw_in_fini(&c->in);
    pgw_buf_fini(&c->out);
    srv_metrics_connection_closed(s->metrics);
    double secs = (double)(now_ns() - start) / 1e9;
    srv__log(s, SRV_LOG_INFO, c->pid, "disconnection: session time: %.3f s user=%s database=%s%s",
             secs, c->user, c->database,
             in_block ? " (its open transaction was rolled back)" : "");

    /* libcrypto's per-thread state (SCRAM's RAND_bytes) is freed by a thread-exit
     * destructor; free it now, while srv_server_run still waits for us. */
    OPENSSL_thread_stop();
    pthread_mutex_lock(&s->lock);
    for (srv_conn **p = &s->conns; *p != NULL; p = &(*p)->next)
        if (*p == c) {
            *p = c->next;
            break;
        }
    if (admitted)
        s->nsessions--;
    s->nconns--;
    pthread_cond_broadcast(&s->idle);
    pthread_mutex_unlock(&s->lock);
    cc_free(c);
    return NULL;
}
