/*
 * tests/soak/soak.h — the soak test's shared pieces: one connection type
 * over both targets (the embedded API, or cowcatd over libpq), the DDL
 * workload on a bounded name space, and the readers.
 *
 * soak.c owns the run (flags, threads, sampling, the growth fit, the final
 * checks); soak_work.c generates and runs the statements. Every counter a
 * worker shares with the sampler is updated with relaxed atomics: the
 * sampler only needs eventually-consistent totals.
 */
#ifndef TESTS_SOAK_SOAK_H
#define TESTS_SOAK_SOAK_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "cowcat.h"

/* A connection: exactly one of s (embedded) and pg (server) is set. */
typedef struct soak_conn {
    cowcat_session *s;
    PGconn *pg;
} soak_conn;

/* SQLSTATE tallies of one thread (distinct states, first seen first). */
#define SOAK_STATES 32
typedef struct soak_tally {
    char state[SOAK_STATES][6];
    uint64_t count[SOAK_STATES];
    int n;
} soak_tally;

/* What every worker shares. */
typedef struct soak_shared {
    volatile int stop;           /* set by main (atomic store), read by workers */
    uint64_t statements;         /* statements sent (relaxed atomic) */
    uint64_t unexpected;         /* failures with a state the workload cannot produce */
    uint64_t isolation_failures; /* a pinned snapshot changed under its reader */
    uint64_t snapshots_held;     /* snapshots pinned for a while, released since */
    uint64_t max_hold_ms;        /* longest pin */
    uint64_t reads;              /* SELECTs run by readers */
    uint64_t rows;               /* rows they returned */
} soak_shared;

/* One writer or reader thread. */
typedef struct soak_worker {
    soak_shared *sh;
    cowcat *db;                  /* embedded target, or NULL */
    const char *conninfo_user;   /* server target: user port conninfo */
    const char *conninfo_system; /* server target: internal port conninfo (cowcat_system) */
    int id;
    uint64_t rng;
    soak_tally tally; /* failed statements by SQLSTATE */
    char first_unexpected[512];
} soak_worker;

/* Runs writer w until sh->stop. */
void *soak_writer_main(void *arg);

/* Runs reader w until sh->stop. */
void *soak_reader_main(void *arg);

/* Opens a connection as user (NULL: cowcat); false and a message on stderr on failure. */
bool soak_conn_open(soak_worker *w, bool system, soak_conn *c);
void soak_conn_close(soak_conn *c);

/*
 * Runs sql; true on success. On failure state gets the SQLSTATE and msg the
 * message (each may be NULL). *rows (may be NULL) gets the rows returned.
 */
bool soak_exec(soak_conn *c, const char *sql, char state[6], char *msg, size_t msgcap,
               uint64_t *rows);

/* Creates what the workload needs once (roles). False on failure. */
bool soak_setup(soak_worker *w);

/* True if a failed statement's SQLSTATE is one the workload can produce. */
bool soak_expected_state(const char *state);

/* Adds one failure to a tally. */
void soak_tally_add(soak_tally *t, const char *state);

#endif
