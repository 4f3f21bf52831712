/*
 * server/src/internal.h — what the server's files share: the server, its
 * connections, logging, and the extended protocol's statements and portals.
 */
#ifndef SERVER_INTERNAL_H
#define SERVER_INTERNAL_H

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>

#include "cowcat.h"
#include "server/metrics.h"
#include "server/pgwire.h"
#include "server/server.h"

#define SRV_NLISTEN 3 /* user, internal, metrics */

struct srv_server {
    srv_options opts;
    char *data_dir;          /* owned copies of the options' strings */
    char *listen[SRV_NLISTEN];
    cowcat *db;
    srv_metrics *metrics;
    srv_http *http;
    int fds[2];              /* user and internal listening sockets */
    int ports[SRV_NLISTEN];
    int stop_pipe[2];        /* written once by srv_server_stop; read end polled by everyone */
    atomic_bool stopping;
    bool internal_trusted;   /* the internal listener is loopback: cowcat_system needs no password */

    pthread_mutex_t lock;    /* guards the connection list and counters below */
    pthread_cond_t idle;     /* signalled when nconns drops */
    int nconns;              /* connection threads alive */
    int nsessions;           /* of them, admitted past the connection limit */
    uint32_t next_pid;       /* BackendKeyData process ids (one per connection) */
    struct srv_conn *conns;  /* live connections (for CancelRequest lookups) */
    bool failed;             /* the catalog handle broke (cowcat_health): shutting down */
    cowcat_error failure;    /* why (valid when failed) */
};

/*
 * After a statement failed with rc: if the catalog handle can no longer serve
 * (cowcat_health: the log is poisoned, or the writer fenced), logs why once and
 * stops the server, so that a restart recovers from the log rather than this
 * process serving a catalog that may disagree with disk.
 */
void srv__statement_failed(srv_server *s, uint32_t conn, cowcat_code rc);

/* Leveled logging to stderr: "2026-11-23 10:00:00.123 UTC [conn 7] LOG:  message". */
void srv__log(const srv_server *s, srv_log_level level, uint32_t conn, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* One $n in a statement's text. */
typedef struct param_ref {
    int start;  /* byte offsets of "$n" in the text */
    int end;
    int number; /* n (1-based) */
} param_ref;

/* A prepared statement (Parse). */
typedef struct srv_stmt {
    struct srv_stmt *next;
    char *name;
    char *sql;
    int nparams;          /* the highest $n the query uses, or as many types as Parse gave */
    uint32_t *types;      /* nparams type OIDs (0: unspecified) */
    param_ref *refs;      /* every $n, in text order */
    size_t nrefs;
    bool returns_rows;    /* SELECT / SHOW / WITH / VALUES / TABLE */
    bool empty;           /* no statement at all (EmptyQueryResponse) */
} srv_stmt;

/* A bound portal (Bind): the statement's SQL with its parameters substituted. */
typedef struct srv_portal {
    struct srv_portal *next;
    char *name;
    char *sql;
    bool returns_rows;
    bool empty;
    /* Rows buffered when Describe ran the portal (reads only); Execute sends them. */
    bool ran;
    cowcat_code rc;       /* outcome of the run */
    cowcat_error err;
    pgw_buf rows;         /* DataRow messages */
    size_t nrows;
    size_t sent;          /* rows already sent (Execute with a row limit) */
    size_t *row_end;      /* end offset in rows of each row */
    char tag[64];
    pgw_buf notices;      /* NoticeResponse messages of the run */
} srv_portal;

/* One client connection (its own thread). */
typedef struct srv_conn {
    struct srv_conn *next;   /* in the server's list */
    srv_server *srv;
    int fd;
    bool internal;           /* came in on the internal port */
    uint32_t pid;            /* BackendKeyData */
    int32_t key;
    char peer[64];           /* "127.0.0.1:50432" */
    char user[64];
    char database[64];
    cowcat_session *session;
    cowcat_session *cancel_target; /* session while it is open; s->lock: CancelRequest's view */
    pgw_in in;
    pgw_buf out;
    srv_stmt *stmts;
    srv_portal *portals;
    bool skip_to_sync;       /* an extended-protocol error: ignore messages until Sync */
} srv_conn;

/* The connection thread's body (conn.c); frees c. */
void *srv__conn_main(void *arg);

/* --- backend messages (conn.c) --- */
/* Fills e (zeroed) with sqlstate and the formatted message. */
void srv__error_v(cowcat_error *e, const char *sqlstate, const char *fmt, va_list ap);
void srv__send_error(srv_conn *c, const char *severity, const cowcat_error *e);
void srv__send_error_simple(srv_conn *c, const char *severity, const char *sqlstate,
                            const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void srv__send_notice(pgw_buf *b, const cowcat_error *e);
void srv__send_ready(srv_conn *c);
void srv__row_description(pgw_buf *b, const cowcat_column *cols, size_t n);
void srv__data_row(pgw_buf *b, const char *const *values, size_t n);
/* The statement kind of a command tag for metrics ("SELECT 3" -> "SELECT"). */
void srv__tag_kind(const char *tag, char *out, size_t n);

/* --- the extended protocol (extended.c) --- */
/* Handles Parse, Bind, Describe, Execute, Close (type P B D E C); false: the connection must close. */
bool srv__extended(srv_conn *c, char type, const char *body, size_t n);
/* Frees every statement and portal. */
void srv__extended_reset(srv_conn *c);
/* Drops the unnamed portal (a simple Query does, as PostgreSQL does). */
void srv__drop_unnamed_portal(srv_conn *c);
/* SELECT / SHOW / WITH / VALUES / TABLE: the statement returns rows. */
bool srv__returns_rows(const char *sql);

#endif
