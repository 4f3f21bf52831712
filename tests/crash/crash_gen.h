/*
 * tests/crash/crash_gen.h — the random DDL of crash_server: transactions for
 * three kinds of actor, generated against (and applied to) a scratch copy of
 * the reference model, so every statement's outcome is predicted.
 *
 *   client  works only in its own schema (its "home"), so the histories of
 *           concurrent clients commute: any interleaving gives one catalog.
 *   shared  runs alone (the shared phase, before the clients start): views
 *           over several clients' relations in schema "shared", renames and
 *           drops of clients' schemas, column renames across schemas.
 *   system  ALTER SYSTEM SET/RESET of the limits (never low enough to bind),
 *           on the internal port as cowcat_system.
 *
 * Names are fresh (t<actor>_<serial>, ...), so no statement ever depends on
 * which of two concurrent clients ran first.
 */
#ifndef TESTS_CRASH_GEN_H
#define TESTS_CRASH_GEN_H

#include <stdbool.h>

#include "crash_model.h"
#include "testutil.h"

typedef enum cg_role { CG_CLIENT, CG_SHARED, CG_SYSTEM } cg_role;

typedef enum cg_form {
    CG_SINGLE, /* one statement, autocommit (group committed) */
    CG_BLOCK,  /* BEGIN; ...; COMMIT as separate round trips */
    CG_MULTI,  /* "a; b; c" in one simple query: one implicit transaction */
} cg_form;

#define CG_MAX_OPS 5

typedef struct cg_txn {
    cg_form form;
    int nops;
    cm_op ops[CG_MAX_OPS];
    bool fails;           /* ops[nops - 1] fails (its expect): nothing of the txn may survive */
    bool end_with_commit; /* a failed block ends with COMMIT (answered ROLLBACK), not ROLLBACK */
} cg_txn;

typedef struct cg_actor {
    int id; /* index into cm_model.home */
    cg_role role;
    char tag[12];             /* name infix: "0".."5", "x" */
    unsigned long serial;     /* for fresh names; never reset */
    int nclients;             /* the clients' ids are 0 .. nclients-1 */
    tu_rng rng;
} cg_actor;

/*
 * Sets up actor id of nclients + 2: ids 0 .. nclients-1 are clients (tags
 * "0", "1", ...), then the shared actor and the system actor (tag "x").
 * The caller seeds a->rng.
 */
void crash_gen_actor_init(cg_actor *a, int id, int nclients);

/*
 * Generates a's next transaction against scratch, which it leaves as the
 * model after the transaction's successful statements. Never fails: a
 * statement the model cannot apply as generated is a bug of the test, and
 * aborts with a message.
 */
void crash_gen_txn(cg_actor *a, cm_model *scratch, cg_txn *t);

/*
 * Applies to m each of txns[0..n) whose bit is set in mask (a combination of
 * in-flight transactions, each wholly committed or not); false if the model
 * refuses one of their statements.
 */
bool crash_gen_apply(cm_model *m, const cg_txn *const *txns, int n, unsigned mask);

/* The whole transaction as one line (BEGIN ... COMMIT spelled out). */
void crash_gen_describe(const cg_txn *t, char *buf, size_t n);

#endif
