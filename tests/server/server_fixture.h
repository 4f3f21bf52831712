/*
 * tests/server/server_fixture.h — starts and stops a real cowcatd (the
 * binary at COWCATD_PATH) on free loopback ports for the server tests, and
 * opens libpq connections to it.
 */
#ifndef TESTS_SERVER_FIXTURE_H
#define TESTS_SERVER_FIXTURE_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <sys/types.h>

typedef struct srvproc {
    pid_t pid;
    int port;          /* users */
    int internal_port; /* cowcat_system */
    int metrics_port;
    char dir[256];     /* data directory ("" with --memory) */
    char log[300];     /* the server's stderr */
} srvproc;

/*
 * Starts cowcatd with the data directory dir (NULL: --memory) and extra
 * arguments (NULL-terminated, may be NULL); waits for its ready line.
 * Returns 0, or -1 (the log says why).
 */
int srvproc_start(srvproc *p, const char *dir, const char *const *extra);

/* SIGTERM and wait: returns the exit status (-1 if it died of a signal). */
int srvproc_stop(srvproc *p);

/* SIGKILL and wait. */
void srvproc_kill(srvproc *p);

/* True if the server's log has a sanitizer report. */
bool srvproc_log_has_sanitizer_report(const srvproc *p);

/* A connection (check PQstatus): user (NULL: cowcat), password (NULL: none), internal port or not. */
PGconn *srvproc_connect(const srvproc *p, const char *user, const char *password, bool internal);

/* A fresh temporary directory path (not created) under the test's build tree. */
void srvproc_tmpdir(char *out, size_t n, const char *tag);

/* rm -rf dir. */
void srvproc_rmdir(const char *dir);

/* One query's single value (row 0, column 0) into out; returns the result status. */
ExecStatusType srvproc_value(PGconn *c, const char *sql, char *out, size_t n);

#endif
