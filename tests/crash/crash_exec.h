/*
 * tests/crash/crash_exec.h — runs one generated transaction (crash_gen) through
 * a connection and judges every answer against the model's prediction; shared
 * by crash_server (libpq) and powercut (cowcat_exec), which differ only in how
 * one string of SQL is run and what a lost answer looks like.
 */
#ifndef TESTS_CRASH_EXEC_H
#define TESTS_CRASH_EXEC_H

#include <stdbool.h>
#include <stddef.h>

#include "crash_gen.h"

enum {
    XR_OK,    /* every statement of the string succeeded */
    XR_ERR,   /* answered with an error (state, msg) */
    XR_LOST,  /* no answer: the server or the power went */
    XR_FAULT, /* crash_server --faults: answered with an injected disk failure (53100 / 58030) */
};

/* The answer to one string of SQL. */
typedef struct xres {
    int kind;
    char state[6];
    char msg[512];
    char tag[32]; /* the last command tag */
    int nok;      /* results that succeeded */
} xres;

/* Runs sql (one or more statements) on conn; fills *x (zeroed by the caller's fn). */
typedef void (*crash_run_fn)(void *conn, const char *sql, xres *x);

/*
 * Runs t through run/conn — a CG_SINGLE or CG_MULTI string in one go, a
 * CG_BLOCK as BEGIN, each statement, COMMIT (or, after its predicted error,
 * ROLLBACK or COMMIT, which must answer ROLLBACK, or 25P02 through the
 * embedded API) — and judges each answer against the model. *maybe: the
 * commit was attempted and the model says it succeeds. Returns XR_OK
 * (committed and answered), XR_ERR (answered with the predicted error),
 * XR_LOST, XR_FAULT, or -1 with the unexpected answer and the transaction
 * in failure.
 */
int crash_exec_txn(crash_run_fn run, void *conn, const cg_txn *t, bool *maybe, char *failure,
                   size_t n);

#endif
