/*
 * server/server.h — cowcatd as a library: srv_run opens the data directory,
 * listens on the user, internal and metrics ports and serves PostgreSQL
 * clients until srv_stop (or SIGTERM/SIGINT in cowcatd) asks it to stop.
 *
 * Ports:
 *   listen           users; any role with LOGIN except cowcat_system
 *   internal_listen  the system role cowcat_system only (ALTER SYSTEM ...)
 *   metrics_listen   HTTP GET /metrics (Prometheus text format)
 */
#ifndef SERVER_SERVER_H
#define SERVER_SERVER_H

#include <stdbool.h>

#include "base/err.h"
#include "cowcat.h"

typedef enum srv_auth {
    SRV_AUTH_TRUST = 0, /* any client may be any role: loopback listeners only */
    SRV_AUTH_SCRAM = 1, /* SCRAM-SHA-256 against the role's stored verifier; the system
                         * role on a loopback internal port is still trusted */
} srv_auth;

typedef enum srv_log_level {
    SRV_LOG_ERROR = 0,
    SRV_LOG_WARNING,
    SRV_LOG_INFO, /* default: connection events and errors */
    SRV_LOG_DEBUG,
} srv_log_level;

typedef struct srv_options {
    const char *data_dir;        /* "./cowcat-data" if NULL */
    const char *listen;          /* "127.0.0.1:6875" if NULL */
    const char *internal_listen; /* "127.0.0.1:6877" if NULL */
    const char *metrics_listen;  /* "127.0.0.1:6878" if NULL */
    cowcat_durability durability;
    cowcat_backend backend;
    srv_auth auth;
    int max_connections;         /* 0: 100 */
    srv_log_level log_level;
    uint64_t audit_log_keep;     /* cowcat_options.audit_log_keep (0: its default, 100,000) */
    uint32_t ablate;             /* cowcat_options.ablate: benchmarks only (0: none) */
    const struct persist_io *io; /* cowcat_options.io: tests only (NULL: the system calls) */
    uint64_t rollup_bytes;       /* cowcat_options.rollup_bytes (0: its default, 16 MiB) */
} srv_options;

typedef struct srv_server srv_server;

/*
 * Opens the catalog and binds every listener (a port of 0 picks a free
 * one). Refuses trust authentication on a listener that is not loopback.
 * Errors: INVALID (bad address, trust on a public address), IO (bind),
 * those of cowcat_open.
 */
cc_code srv_server_new(const srv_options *opts, srv_server **out, cc_err *err);

/* The port a listener is bound to (0 user, 1 internal, 2 metrics). */
int srv_server_port(const srv_server *s, int which);

/*
 * Serves until srv_server_stop: accepts connections, one thread each. When
 * asked to stop it stops accepting, lets every connection finish the
 * statement it is running, tells each client (57P01), waits for them and
 * returns. Everything acknowledged is durable before it was acknowledged.
 */
void srv_server_run(srv_server *s);

/* Asks srv_server_run to stop; async-signal-safe (a write to a pipe). */
void srv_server_stop(srv_server *s);

/*
 * True if the server stopped itself because the catalog handle broke
 * (cowcat_health: a log write that could not be undone, or a newer writer);
 * *why (may be NULL) gets the reason. cowcatd then exits with status 1 so that
 * a supervisor restarts it and recovery decides from the log. Thread-safe.
 */
bool srv_server_failed(srv_server *s, cowcat_error *why);

/* Closes the catalog and frees the server (after srv_server_run returned). */
void srv_server_free(srv_server *s);

/* The ready line's object count. */
uint64_t srv_server_objects(srv_server *s);

#endif
