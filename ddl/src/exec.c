/*
 * ddl/src/exec.c — cowcat_exec: a query string, statement by statement, with
 * PostgreSQL's transaction semantics.
 *
 *   status I (idle)    a single statement runs in its own transaction (a write
 *                      goes through group commit, engine.c); a string of
 *                      several statements opens an *implicit* block that
 *                      commits after the last one (one durable write) or
 *                      rolls back at the first error, as PostgreSQL's simple
 *                      query protocol does
 *   status T (block)   BEGIN opened it; the first write takes the engine's
 *                      write slot and a catalog transaction; every later
 *                      statement sees the block's changes; COMMIT commits
 *                      them with one durable write
 *   status E (failed)  a statement of the block failed: the transaction is
 *                      already aborted and the slot released; everything but
 *                      COMMIT / ROLLBACK fails with 25P02 until then
 *
 * Errors carry the 1-based position in the whole string: parse errors from
 * libpg_query's cursor, planning errors from the parse tree's locations
 * (ddl__at), both shifted by the statement's offset.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/alloc.h"
#include "internal.h"

/* --- context helpers ------------------------------------------------------------------ */

void
ddl__notice(ddl_ctx *c, const char *sqlstate, const char *fmt, ...)
{
    if (c->nnotices == DDL_NOTICES_MAX)
        return;
    cowcat_error *n = &c->notices[c->nnotices++];
    memset(n, 0, sizeof *n);
    snprintf(n->severity, sizeof n->severity, "NOTICE");
    snprintf(n->sqlstate, sizeof n->sqlstate, "%s", sqlstate);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(n->message, sizeof n->message, fmt, ap);
    va_end(ap);
}

/* As ddl__notice with severity WARNING. */
static void
warning(ddl_ctx *c, const char *sqlstate, const char *msg)
{
    ddl__notice(c, sqlstate, "%s", msg);
    if (c->nnotices > 0)
        snprintf(c->notices[c->nnotices - 1].severity, 8, "WARNING");
}

cc_code
ddl__at(ddl_ctx *c, int32_t location, cc_code code)
{
    if (location >= 0 && c->errpos == 0)
        c->errpos = c->offset + location + 1;
    return code;
}

cc_code
ddl__apply(ddl_ctx *c, const cat_op *op, cat_ref *created, cc_err *err)
{
    uint64_t start = ddl__now_ns();
    cc_code rc = cat_txn_apply(c->txn, op, created, err);
    c->st = cat_txn_state(c->txn);
    c->apply_ns += ddl__now_ns() - start;
    return rc;
}

cc_code
ddl__emit_columns(ddl_ctx *c, const cowcat_column *cols, size_t n, cc_err *err)
{
    c->columns_sent = true;
    if (c->cb != NULL && c->cb->columns != NULL && c->cb->columns(c->cb_arg, cols, n) != 0)
        return cc_err_set_state(err, CC_INVALID, "57014", "canceled by the result callback");
    return CC_OK;
}

cc_code
ddl__emit_row(ddl_ctx *c, const char *const *values, size_t n, cc_err *err)
{
    if (c->cb != NULL && c->cb->row != NULL && c->cb->row(c->cb_arg, values, n) != 0)
        return cc_err_set_state(err, CC_INVALID, "57014", "canceled by the result callback");
    return CC_OK;
}

void
ddl__ctx_reset(ddl_ctx *c)
{
    c->tag[0] = '\0';
    c->nnotices = 0;
    c->errpos = 0;
    c->columns_sent = false;
}

cc_code
ddl__ctx_bind(ddl_ctx *c, cc_err *err)
{
    cowcat_session *s = c->s;
    const cat_object *d = cat_state_find_database(c->st, s->database);
    c->database = d != NULL ? d->ref : 0;
    const cat_object *r = cat_state_find_role(c->st, s->user);
    c->role = r != NULL ? r->ref : 0;
    c->attrs = (Cowcat__Catalog__RoleAttributes)COWCAT__CATALOG__ROLE_ATTRIBUTES__INIT;
    c->superuser = false;
    if (r == NULL)
        return CC_OK;
    ProtobufCMessage *m = NULL;
    cc_code rc = ddl__decode_lenient(r, &m, err);
    if (rc != CC_OK || m == NULL)
        return rc; /* an undecodable role has no attributes (cat_check reports it) */
    const Cowcat__Catalog__RoleValue *v = (const Cowcat__Catalog__RoleValue *)m;
    if (v->attributes != NULL) {
        c->attrs = *v->attributes;
        c->attrs.base = (ProtobufCMessage)PROTOBUF_C_MESSAGE_INIT(
            &cowcat__catalog__role_attributes__descriptor);
    }
    c->superuser = c->attrs.superuser;
    protobuf_c_message_free_unpacked(m, NULL);
    return CC_OK;
}

/* --- classification ----------------------------------------------------------------- */

ddl_stmt_class
ddl__classify(const PgQuery__Node *n)
{
    switch (n->node_case) {
    case PG_QUERY__NODE__NODE_TRANSACTION_STMT:
        return DDL_STMT_TXN;
    case PG_QUERY__NODE__NODE_VARIABLE_SET_STMT:
        return DDL_STMT_SESSION;
    case PG_QUERY__NODE__NODE_VARIABLE_SHOW_STMT: {
        static const char *const lists[] = {"tables",    "views",   "indexes",
                                            "schemas",   "databases", "objects"};
        for (size_t i = 0; i < sizeof lists / sizeof *lists; i++)
            if (strcmp(n->variable_show_stmt->name, lists[i]) == 0)
                return DDL_STMT_READ;
        return DDL_STMT_SESSION;
    }
    case PG_QUERY__NODE__NODE_SELECT_STMT:
        return DDL_STMT_READ;
    case PG_QUERY__NODE__NODE_CREATE_STMT:
    case PG_QUERY__NODE__NODE_VIEW_STMT:
    case PG_QUERY__NODE__NODE_INDEX_STMT:
    case PG_QUERY__NODE__NODE_CREATE_ENUM_STMT:
    case PG_QUERY__NODE__NODE_CREATE_ROLE_STMT:
    case PG_QUERY__NODE__NODE_CREATEDB_STMT:
    case PG_QUERY__NODE__NODE_CREATE_SCHEMA_STMT:
    case PG_QUERY__NODE__NODE_DROP_STMT:
    case PG_QUERY__NODE__NODE_DROP_ROLE_STMT:
    case PG_QUERY__NODE__NODE_DROPDB_STMT:
    case PG_QUERY__NODE__NODE_RENAME_STMT:
    case PG_QUERY__NODE__NODE_ALTER_TABLE_STMT:
    case PG_QUERY__NODE__NODE_ALTER_OWNER_STMT:
    case PG_QUERY__NODE__NODE_ALTER_OBJECT_SCHEMA_STMT:
    case PG_QUERY__NODE__NODE_COMMENT_STMT:
    case PG_QUERY__NODE__NODE_GRANT_STMT:
    case PG_QUERY__NODE__NODE_ALTER_SYSTEM_STMT:
    case PG_QUERY__NODE__NODE_ALTER_ROLE_STMT:
        return DDL_STMT_WRITE;
    case PG_QUERY__NODE__NODE_CREATE_TABLE_AS_STMT:
        return n->create_table_as_stmt->objtype == PG_QUERY__OBJECT_TYPE__OBJECT_MATVIEW
                   ? DDL_STMT_WRITE
                   : DDL_STMT_UNSUPPORTED;
    default:
        return DDL_STMT_UNSUPPORTED;
    }
}

cc_code
ddl__write_timed(ddl_ctx *c, const PgQuery__Node *n, cc_err *err)
{
    c->apply_ns = 0;
    uint64_t start = ddl__now_ns();
    cc_code rc = ddl__write(c, n, err);
    uint64_t total = ddl__now_ns() - start;
    uint64_t apply = c->apply_ns < total ? c->apply_ns : total;
    ddl__observe_phase(c->s->db, COWCAT_PHASE_PLAN, total - apply);
    ddl__observe_phase(c->s->db, COWCAT_PHASE_TRANSACT, apply);
    return rc;
}

cc_code
ddl__write(ddl_ctx *c, const PgQuery__Node *n, cc_err *err)
{
    switch (n->node_case) {
    case PG_QUERY__NODE__NODE_CREATE_STMT:
        return ddl__create_table(c, n->create_stmt, err);
    case PG_QUERY__NODE__NODE_VIEW_STMT:
        return ddl__create_view(c, n->view_stmt, err);
    case PG_QUERY__NODE__NODE_CREATE_TABLE_AS_STMT:
        return ddl__create_matview(c, n->create_table_as_stmt, err);
    case PG_QUERY__NODE__NODE_INDEX_STMT:
        return ddl__create_index(c, n->index_stmt, err);
    case PG_QUERY__NODE__NODE_CREATE_ENUM_STMT:
        return ddl__create_enum(c, n->create_enum_stmt, err);
    case PG_QUERY__NODE__NODE_CREATE_ROLE_STMT:
        return ddl__create_role(c, n->create_role_stmt, err);
    case PG_QUERY__NODE__NODE_ALTER_ROLE_STMT:
        return ddl__alter_role(c, n->alter_role_stmt, err);
    case PG_QUERY__NODE__NODE_CREATEDB_STMT:
        return ddl__create_database(c, n->createdb_stmt, err);
    case PG_QUERY__NODE__NODE_CREATE_SCHEMA_STMT:
        return ddl__create_schema(c, n->create_schema_stmt, err);
    default:
        return ddl__alter(c, n, err);
    }
}

/* --- statements ---------------------------------------------------------------------- */

/*
 * Points c->st at what the session reads: its block's working version, or
 * the published one pinned with the session's reader (*pinned true: unpin
 * with unpin_version, also after an error). Binds the session's role and
 * database. Errors: those of ddl__ctx_bind.
 */
static cc_code
pin_version(ddl_ctx *c, bool *pinned, cc_err *err)
{
    cowcat_session *s = c->s;
    *pinned = s->txn == NULL;
    if (*pinned) {
        pmap_reader_pin(s->reader);
        c->st = cat_state_acquire(s->db->cat);
    } else {
        c->st = cat_txn_state(s->txn);
    }
    return ddl__ctx_bind(c, err);
}

static void
unpin_version(ddl_ctx *c, bool pinned)
{
    if (pinned)
        pmap_reader_unpin(c->s->reader);
    c->st = NULL;
}

/* Runs a read against the block's working version or a pinned published one. */
static cc_code
run_read(ddl_ctx *c, const PgQuery__Node *stmt, cc_err *err)
{
    bool pinned;
    cc_code rc = pin_version(c, &pinned, err);
    if (rc == CC_OK)
        rc = ddl__read(c, stmt, err);
    unpin_version(c, pinned);
    return rc;
}

/* Ends the session's block: commits (commit) or aborts its transaction, frees the slot. */
static cc_code
end_block(cowcat_session *s, bool commit, cc_err *err)
{
    cc_code rc = CC_OK;
    if (s->txn != NULL) {
        if (commit) {
            cat_commit_timing timing = {0};
            cat_txn_set_timing(s->txn, &timing);
            rc = cat_txn_commit(s->txn, err);
            if (rc == CC_OK) {
                ddl__observe_commit(s->db, &timing);
                atomic_fetch_add_explicit(&s->db->commits, 1, memory_order_relaxed);
                atomic_fetch_add_explicit(&s->db->ddl, s->block_writes, memory_order_relaxed);
                s->db->commit_seq += s->block_writes; /* the slot is still ours */
                s->last_commit = s->db->commit_seq;
            }
        } else {
            cat_txn_abort(s->txn);
        }
        s->txn = NULL;
    }
    if (s->holds_slot) {
        ddl__slot_release(s->db);
        s->holds_slot = false;
    }
    s->status = COWCAT_TXN_IDLE;
    s->implicit = false;
    s->block_writes = 0;
    return rc;
}

void
ddl__session_abort(cowcat_session *s)
{
    end_block(s, false, NULL);
}

/* A write inside a block: take the slot and begin the transaction on the first one. */
static cc_code
run_block_write(ddl_ctx *c, const PgQuery__Node *stmt, cc_err *err)
{
    cowcat_session *s = c->s;
    if (s->txn == NULL) {
        cc_code wrc = ddl__slot_acquire(c, err);
        if (wrc != CC_OK)
            return wrc;
        s->holds_slot = true;
        cat_actor actor = {.user = s->user};
        cc_code rc = cat_txn_begin(s->db->cat, &actor, &s->txn, err);
        if (rc != CC_OK) {
            ddl__slot_release(s->db);
            s->holds_slot = false;
            return rc;
        }
    }
    c->txn = s->txn;
    c->st = cat_txn_state(s->txn);
    cc_code rc = ddl__ctx_bind(c, err);
    if (rc == CC_OK)
        rc = ddl__write_timed(c, stmt, err);
    if (rc == CC_OK)
        s->block_writes++;
    c->txn = NULL;
    c->st = NULL;
    return rc;
}

/* BEGIN / COMMIT / ROLLBACK. */
static cc_code
run_txn(ddl_ctx *c, const PgQuery__TransactionStmt *t, cc_err *err)
{
    cowcat_session *s = c->s;
    switch (t->kind) {
    case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_BEGIN:
    case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_START:
        snprintf(c->tag, sizeof c->tag, "%s",
                 t->kind == PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_START ? "START TRANSACTION"
                                                                             : "BEGIN");
        if (s->status != COWCAT_TXN_IDLE && !s->implicit)
            warning(c, "25001", "there is already a transaction in progress");
        s->status = COWCAT_TXN_BLOCK;
        s->implicit = false;
        return CC_OK;
    case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_COMMIT:
        if (s->status == COWCAT_TXN_FAILED) {
            snprintf(c->tag, sizeof c->tag, "ROLLBACK");
            end_block(s, false, NULL);
            return CC_OK;
        }
        snprintf(c->tag, sizeof c->tag, "COMMIT");
        if (s->status == COWCAT_TXN_IDLE || s->implicit)
            warning(c, "25P01", "there is no transaction in progress");
        return end_block(s, true, err);
    case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_ROLLBACK:
        snprintf(c->tag, sizeof c->tag, "ROLLBACK");
        if (s->status == COWCAT_TXN_IDLE || s->implicit)
            warning(c, "25P01", "there is no transaction in progress");
        end_block(s, false, NULL);
        return CC_OK;
    default:
        return cc_err_set_state(err, CC_INVALID, "0A000",
                                "feature not supported: savepoints and two-phase commit");
    }
}

/* Hands a finished statement's notices and tag to the callbacks. */
static void
report(ddl_ctx *c, bool ok)
{
    const cowcat_callbacks *cb = c->cb;
    if (cb == NULL)
        return;
    for (size_t i = 0; i < c->nnotices; i++)
        if (cb->notice != NULL)
            cb->notice(c->cb_arg, &c->notices[i]);
    if (ok && cb->complete != NULL)
        cb->complete(c->cb_arg, c->tag);
}

/* The 1-based character (not byte) position of byte position pos in sql. */
static int
char_position(const char *sql, int pos)
{
    int chars = 0;
    for (int i = 0; i < pos - 1 && sql[i] != '\0'; i++)
        if (((unsigned char)sql[i] & 0xC0) != 0x80)
            chars++;
    return chars + 1;
}

/* Copies a cc_err (and position) into the caller's cowcat_error. */
static void
export_error(const ddl_ctx *c, const cc_err *e, cowcat_error *out)
{
    if (out == NULL)
        return;
    memset(out, 0, sizeof *out);
    out->code = (cowcat_code)e->code;
    snprintf(out->severity, sizeof out->severity, "ERROR");
    snprintf(out->sqlstate, sizeof out->sqlstate, "%s", cc_err_sqlstate(e));
    snprintf(out->message, sizeof out->message, "%s", e->msg);
    snprintf(out->detail, sizeof out->detail, "%s", e->detail);
    snprintf(out->hint, sizeof out->hint, "%s", e->hint);
    out->position = c->errpos > 0 ? char_position(c->sql, c->errpos) : 0;
}

/*
 * After an error inside a block: the transaction is poisoned, so abort it
 * now and free the slot; an explicit block stays failed (E) until ROLLBACK,
 * the implicit one of a string is simply over.
 */
static void
fail_block(cowcat_session *s)
{
    if (s->status != COWCAT_TXN_BLOCK)
        return;
    bool implicit = s->implicit;
    end_block(s, false, NULL);
    s->status = implicit ? COWCAT_TXN_IDLE : COWCAT_TXN_FAILED;
}

void
cowcat_session_cancel(cowcat_session *s)
{
    if (s == NULL)
        return;
    cowcat *db = s->db;
    atomic_store(&s->cancel, true); /* before the lock: a waiter checks it under the lock */
    pthread_mutex_lock(&db->lock);
    pthread_cond_broadcast(&db->cond);
    if (s->wait_cond != NULL)
        pthread_cond_signal(s->wait_cond);
    pthread_mutex_unlock(&db->lock);
}

void
cowcat_session_fail_block(cowcat_session *s)
{
    if (s != NULL)
        fail_block(s);
}

/* Runs one statement of the string. */
static cc_code
run_one(ddl_ctx *c, const char *text, bool many, cc_err *err)
{
    cowcat_session *s = c->s;
    atomic_fetch_add_explicit(&s->db->statements, 1, memory_order_relaxed);
    c->start_ns = ddl__now_ns();

    /* cowcat's SHOW forms first: PostgreSQL's grammar rejects them. */
    const char *word = text;
    while (*word == ' ' || *word == '\t' || *word == '\n' || *word == '\r')
        word++;
    if (s->status != COWCAT_TXN_FAILED && strncasecmp(word, "show", 4) == 0) {
        cc_code rc = CC_OK;
        ddl_ctx probe = *c;
        bool pinned;
        cc_code brc = pin_version(&probe, &pinned, err);
        bool took = brc == CC_OK && ddl__show_extension(&probe, text, &rc, err);
        unpin_version(&probe, pinned);
        if (brc != CC_OK)
            return brc;
        if (took) {
            *c = probe;
            return rc;
        }
    }

    PgQuery__ParseResult *tree = NULL;
    int pos = 0;
    uint64_t parse_start = ddl__now_ns();
    cc_code rc = ddl__parse(text, &tree, &pos, err);
    uint64_t parse_ns = ddl__now_ns() - parse_start;
    if (rc != CC_OK) {
        if (pos > 0)
            c->errpos = c->offset + pos;
        return rc;
    }
    const PgQuery__Node *stmt = tree->stmts[0]->stmt;
    ddl_stmt_class cls = ddl__classify(stmt);
    ddl__identifier_notices(c, text);

    if (s->status == COWCAT_TXN_FAILED &&
        !(cls == DDL_STMT_TXN &&
          (stmt->transaction_stmt->kind == PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_COMMIT ||
           stmt->transaction_stmt->kind == PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_ROLLBACK))) {
        ddl__parse_free(tree);
        return cc_err_set_state(
            err, CC_INVALID, "25P02",
            "current transaction is aborted, commands ignored until end of transaction block");
    }
    /* The implicit block of a multi-statement string starts at its first statement. */
    if (many && s->status == COWCAT_TXN_IDLE && cls != DDL_STMT_TXN) {
        s->status = COWCAT_TXN_BLOCK;
        s->implicit = true;
    }

    switch (cls) {
    case DDL_STMT_TXN:
        rc = run_txn(c, stmt->transaction_stmt, err);
        break;
    case DDL_STMT_SESSION:
        rc = ddl__session_stmt(c, stmt, err);
        break;
    case DDL_STMT_READ:
        rc = run_read(c, stmt, err);
        break;
    case DDL_STMT_WRITE:
        ddl__observe_phase(s->db, COWCAT_PHASE_PARSE, parse_ns);
        if (s->status == COWCAT_TXN_BLOCK)
            rc = run_block_write(c, stmt, err);
        else
            rc = ddl__engine_submit(c, stmt, err);
        break;
    case DDL_STMT_UNSUPPORTED:
        rc = ddl__at(c, tree->stmts[0]->stmt_location,
                     cc_err_set_state(err, CC_INVALID, "0A000", "feature not supported: %s",
                                      ddl__stmt_name(stmt)));
        break;
    }
    ddl__parse_free(tree);
    return rc;
}

cowcat_code
cowcat_exec(cowcat_session *s, const char *sql, const cowcat_callbacks *cb, void *arg,
            cowcat_error *err)
{
    if (s == NULL || sql == NULL)
        return ddl__api_error(err, CC_INVALID, "22023", "cowcat_exec: NULL argument");
    if (err != NULL)
        memset(err, 0, sizeof *err);
    atomic_store(&s->cancel, false); /* a cancel is for the statement running when it came */
    ddl_ctx c = {.s = s, .sql = sql, .cb = cb, .cb_arg = arg};
    cc_err e;
    cc_err_clear(&e);
    ddl_stmt_span *spans = NULL;
    size_t n = 0;
    /* A broken handle serves nothing: memory may disagree with disk (cowcat_health). */
    cc_code rc = ddl__engine_health(s->db, &e);
    if (rc == CC_OK)
        rc = ddl__split(sql, &spans, &n, &e);
    if (rc != CC_OK) {
        fail_block(s);
        export_error(&c, &e, err);
        return (cowcat_code)rc;
    }
    if (n == 0) { /* PostgreSQL's EmptyQueryResponse: no tag, nothing happens */
        cc_free(spans);
        return COWCAT_OK;
    }
    bool many = n > 1;
    for (size_t i = 0; i < n && rc == CC_OK; i++) {
        char *text = cc_malloc((size_t)spans[i].len + 1);
        if (text == NULL) {
            rc = cc_err_set(&e, CC_NOMEM, "out of memory copying a statement");
        } else {
            memcpy(text, sql + spans[i].offset, (size_t)spans[i].len);
            text[spans[i].len] = '\0';
            ddl__ctx_reset(&c);
            c.offset = spans[i].offset;
            c.text = text;
            rc = run_one(&c, text, many, &e);
            report(&c, rc == CC_OK);
            cc_free(text);
            c.text = NULL;
        }
        /* Whatever failed — the statement, or getting to run it — fails the
         * block (explicit) or rolls it back (the string's implicit one). */
        if (rc != CC_OK)
            fail_block(s);
    }
    cc_free(spans);
    /* The implicit block ends with the string; after an error it is already
     * rolled back (fail_block), so this commits only if every statement succeeded. */
    if (s->implicit) {
        c.errpos = 0;
        rc = end_block(s, true, &e);
    }
    if (rc != CC_OK)
        export_error(&c, &e, err);
    return (cowcat_code)rc;
}
