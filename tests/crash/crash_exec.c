/*
 * tests/crash/crash_exec.c — one generated transaction, every answer judged
 * (crash_exec.h).
 */
#include "crash_exec.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef struct judge {
    const cg_txn *t;
    char *failure;
    size_t n;
} judge;

static int fail(judge *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Records the unexpected answer with the transaction; returns -1. */
static int
fail(judge *j, const char *fmt, ...)
{
    char what[1024], desc[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    crash_gen_describe(j->t, desc, sizeof desc);
    snprintf(j->failure, j->n, "%s\n    in transaction: %s", what, desc);
    return -1;
}

static bool
unanswered(const xres *x)
{
    return x->kind == XR_LOST || x->kind == XR_FAULT;
}

/* A CG_SINGLE or CG_MULTI transaction: one string. */
static int
run_string(crash_run_fn run, void *conn, judge *j, bool *maybe)
{
    const cg_txn *t = j->t;
    int fail_at = t->fails ? t->nops - 1 : -1;
    const cm_op *last = &t->ops[t->nops - 1];
    char sql[CG_MAX_OPS * CM_SQL];
    size_t len = 0;
    for (int i = 0; i < t->nops; i++)
        len += (size_t)snprintf(sql + len, sizeof sql - len, "%s%s", i ? "; " : "", t->ops[i].sql);
    xres x;
    *maybe = !t->fails;
    run(conn, sql, &x);
    if (unanswered(&x))
        return x.kind;
    if (x.kind == XR_OK && !t->fails && x.nok == t->nops)
        return XR_OK;
    if (x.kind == XR_ERR && t->fails && x.nok == fail_at && strcmp(x.state, last->expect) == 0)
        return XR_ERR;
    if (x.kind == XR_OK)
        return fail(j, "statement %d `%s` succeeded (%d results), the model expected %s", t->nops,
                    last->sql, x.nok, t->fails ? last->expect : "success");
    return fail(j, "statement %d `%s` failed: %s %s; the model expected %s", x.nok + 1,
                x.nok < t->nops ? t->ops[x.nok].sql : "?", x.state, x.msg,
                x.nok == fail_at ? t->ops[fail_at].expect : "success");
}

int
crash_exec_txn(crash_run_fn run, void *conn, const cg_txn *t, bool *maybe, char *failure, size_t n)
{
    judge j = {t, failure, n};
    if (t->form != CG_BLOCK)
        return run_string(run, conn, &j, maybe);
    int fail_at = t->fails ? t->nops - 1 : -1;
    xres x;
    run(conn, "BEGIN", &x);
    if (unanswered(&x))
        return x.kind;
    if (x.kind != XR_OK)
        return fail(&j, "BEGIN failed: %s %s", x.state, x.msg);
    for (int i = 0; i < t->nops; i++) {
        run(conn, t->ops[i].sql, &x);
        if (unanswered(&x))
            return x.kind; /* a fault leaves the block failed; the actor stops */
        if (x.kind == XR_OK && i != fail_at)
            continue;
        if (x.kind == XR_ERR && i == fail_at && strcmp(x.state, t->ops[i].expect) == 0) {
            const char *end = t->end_with_commit ? "COMMIT" : "ROLLBACK";
            run(conn, end, &x);
            if (x.kind == XR_OK && strcmp(x.tag, "ROLLBACK") != 0)
                return fail(&j, "%s of a failed block answered `%s`, not ROLLBACK", end, x.tag);
            /* the embedded API's COMMIT of a failed block is an error (cowcat.h) */
            if (x.kind == XR_ERR && !(t->end_with_commit && strcmp(x.state, "25P02") == 0))
                return fail(&j, "%s of a failed block failed: %s %s", end, x.state, x.msg);
            return XR_ERR; /* answered: the block is gone, whatever happens next */
        }
        if (x.kind == XR_OK) {
            fail(&j, "block statement %d `%s` succeeded; the model expected %s", i + 1,
                 t->ops[i].sql, t->ops[i].expect);
        } else {
            fail(&j, "block statement %d `%s` failed: %s %s; the model expected %s", i + 1,
                 t->ops[i].sql, x.state, x.msg, i == fail_at ? t->ops[i].expect : "success");
        }
        run(conn, "ROLLBACK", &x);
        return -1;
    }
    *maybe = true;
    run(conn, "COMMIT", &x);
    if (unanswered(&x))
        return x.kind;
    if (x.kind == XR_OK && strcmp(x.tag, "COMMIT") == 0)
        return XR_OK;
    return fail(&j, "COMMIT answered %s %s; the model expected COMMIT",
                x.kind == XR_OK ? x.tag : x.state, x.msg);
}
