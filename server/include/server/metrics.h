/*
 * server/metrics.h — cowcatd's metrics: latency histograms, counters and
 * gauges, rendered in Prometheus' text exposition format (version 0.0.4) and
 * served over HTTP on the metrics port (GET /metrics).
 *
 * Recording is lock-free on the hot path (relaxed atomic adds on fixed
 * buckets); label values (statement kinds, SQLSTATEs) live in small fixed
 * tables that grow under a mutex the first time a value is seen and are
 * never freed before srv_metrics_free. Rendering reads the atomics without
 * stopping writers, so a scrape may see a histogram mid-update (count and
 * buckets off by the observations in flight), as Prometheus clients allow.
 *
 * Ownership: srv_metrics is owned by the server; every string parameter is
 * borrowed for the call.
 */
#ifndef SERVER_METRICS_H
#define SERVER_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "cowcat.h"

typedef struct srv_metrics srv_metrics;

/* Creates an empty registry. Errors: NOMEM. */
cc_code srv_metrics_new(srv_metrics **out, cc_err *err);
/* Frees it (the HTTP listener must be stopped first). */
void srv_metrics_free(srv_metrics *m);

/*
 * One statement finished: kind is its command tag's verb ("CREATE TABLE",
 * "SELECT", "SHOW", ...; at most 63 bytes), seconds its wall time in the
 * server, sqlstate NULL on success or the error's SQLSTATE (which also
 * counts in cowcat_errors_total{sqlstate=...}).
 *   cowcat_statement_duration_seconds{kind="CREATE TABLE"} (histogram)
 *   cowcat_errors_total{sqlstate="42P07"} (counter)
 */
void srv_metrics_statement(srv_metrics *m, const char *kind, double seconds, const char *sqlstate);

/* Connection events: cowcat_connections (gauge, open now) and
 * cowcat_connections_total (counter, accepted), cowcat_connections_rejected_total{reason=...}. */
void srv_metrics_connection_opened(srv_metrics *m);
void srv_metrics_connection_closed(srv_metrics *m);
void srv_metrics_connection_rejected(srv_metrics *m, const char *reason);

/*
 * Renders every metric into a new NUL-terminated string (*out, free with
 * cc_free): the registry's own metrics, then, from db (may be NULL):
 * cowcat_stats_get's counters (cowcat_statements_total, cowcat_ddl_total,
 * cowcat_commits_total, cowcat_group_commits_total), its histograms
 * (cowcat_ddl_phase_duration_seconds{phase=...}, cowcat_group_commit_size),
 * and cowcat_objects{kind=...} from a pinned snapshot of session s (may be
 * NULL: objects omitted). Errors: NOMEM.
 */
cc_code srv_metrics_render(srv_metrics *m, cowcat *db, cowcat_session *s, char **out, cc_err *err);

typedef struct srv_http srv_http;

/*
 * Starts the HTTP listener on host:port (port 0: any free port; the bound
 * port is *bound_port) with its own thread: GET /metrics answers 200 with
 * srv_metrics_render's text (Content-Type: text/plain; version=0.0.4), any
 * other path 404, any other method 405, a malformed request line 400, a
 * failed render 500; one request per connection (Connection: close, with
 * Content-Length), up to 16 connections at once; requests over 8 KiB or
 * connections not done 5 s after accept are dropped without an answer.
 * host NULL, "" or "*": every address. m (and db, which may be NULL: no
 * engine metrics) are borrowed until srv_http_stop. A session on db (role
 * "cowcat") is opened here for the object counts and used by the thread.
 * Errors: INVALID (port), IO (resolve/bind/listen), NOMEM, or the session's
 * error.
 */
cc_code srv_http_start(srv_metrics *m, cowcat *db, const char *host, int port, srv_http **out,
                       int *bound_port, cc_err *err);
/* Stops accepting, closes open client connections, joins the thread, closes
 * the session and frees h (may be NULL). Prompt even with idle clients. */
void srv_http_stop(srv_http *h);

#endif
