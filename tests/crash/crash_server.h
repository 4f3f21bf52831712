/*
 * tests/crash/crash_server.h — the state shared by crash_server's workload
 * (crash_server.c) and its verifier (crash_verify.c).
 *
 * One run: a data directory, the reference model of everything acknowledged
 * so far, and per actor the transaction that was in flight when the server
 * died (its outcome unknown: it may be wholly present or wholly absent).
 */
#ifndef TESTS_CRASH_SERVER_H
#define TESTS_CRASH_SERVER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "crash_gen.h"
#include "crash_model.h"
#include "persist/io.h"
#include "server/server.h"
#include "server_fixture.h"

/* A transaction whose answer never arrived. */
typedef struct cs_pending {
    bool active; /* there is one */
    bool maybe;  /* it may have committed: its commit was sent and the model says it succeeds */
    bool fault;  /* --faults: answered with an I/O error (53100 / 58030), not lost */
    cg_txn txn;
} cs_pending;

typedef struct cs_actor {
    cg_actor gen;
    pthread_t thread;
    struct cs_run *run;
    int budget;          /* shared actor: transactions in its phase */
    cs_pending pend;     /* written by the actor's thread; read after join */
    long acked_txns;     /* committed and answered */
    long acked_stmts;    /* statements in them */
    long acked_errors;   /* failing transactions answered with the predicted error */
    long fault_answers;  /* --faults: statements answered 53100 / 58030 */
    char failure[4096];  /* "" unless the server answered other than the model predicted */
} cs_actor;

/* The acknowledged history, newest last (a ring: the oldest are forgotten). */
#define CS_HISTORY 20000
typedef struct cs_history {
    char *v[CS_HISTORY];
    long n; /* ever added */
} cs_history;

typedef struct cs_run {
    uint64_t seed;
    int iteration;
    int nclients;
    int nactors; /* nclients + shared + system */
    char dir[256];
    srvproc srv;
    pthread_mutex_t mu; /* guards model, history, phase_b, stop */
    pthread_cond_t cv;  /* phase_b or stop became true */
    cm_model model;     /* the replay of everything acknowledged */
    cs_history history;
    bool phase_b; /* the shared phase is over: clients may start */
    bool stop;    /* the server is gone: actors finish */
    cs_actor actors[CM_MAX_ACTORS];
    /* --faults: cowcatd runs in this process (srv_server) with its data
     * directory's I/O going through fi, and faults are armed instead of kills */
    bool faults;
    persist_io_faults fi;
    srv_server *inproc;
    pthread_t inproc_thread;
    /* figures */
    long inflight_either, inflight_committed, inflight_absent_only;
    long faults_armed, faults_fired, fault_stops, fault_recoveries;
    long verifications, checks, failures;
    long rows_max;
} cs_run;

/* Appends one line to the history (mu held). */
void cs_history_add(cs_history *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cs_history_free(cs_history *h);

/*
 * Connects to the restarted server, reads the catalog back and checks it
 * against the model with every combination of the in-flight transactions
 * (each wholly present or wholly absent). On a match the model becomes that
 * combination and the pendings are cleared; returns 0. Otherwise prints a
 * FAIL report (seed, iteration, in-flight transactions, each differing row
 * with the acknowledged statements that named its objects) and returns -1.
 */
int cs_verify(cs_run *r, const char *when);

/* Runs `cowcat check -D dir`; 0 if it passes, else prints its output and returns -1. */
int cs_check_dir(cs_run *r, const char *when);

/*
 * --faults (crash_faults.c): starts cowcatd in this process on r->dir with
 * fdatasync, every file call through r->fi (disarmed) and frequent rollups;
 * r->srv gets its ports (pid 0). Returns 0, or -1 after printing why.
 */
int cs_inproc_start(cs_run *r);

/*
 * Stops the in-process server (if it has not stopped itself) and frees it.
 * Returns whether it had stopped itself because its catalog handle broke;
 * *why gets the reason then.
 */
bool cs_inproc_stop(cs_run *r, cowcat_error *why);

/* Arms one randomly chosen fault scenario on r->fi; *desc says which. */
void cs_fault_arm(cs_run *r, tu_rng *rng, char *desc, size_t n);

#endif
