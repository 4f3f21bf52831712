/*
 * ddl/src/session.c — sessions: their role, database and settings, and the
 * statements that read and write settings (SET, RESET, SHOW name, SHOW ALL).
 *
 * Settings are per session and not transactional (cowcat departs from
 * PostgreSQL here: a ROLLBACK does not undo a SET in the block). Only the
 * settings listed below exist; SHOW ALL lists exactly them. search_path is
 * kept both as its display string and parsed into schema names.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/alloc.h"
#include "base/assert.h"
#include "internal.h"

const ddl_setting ddl__settings[] = {
    {"application_name", "", false, "Sets the application name to be reported."},
    {"client_encoding", "UTF8", false, "Sets the client's character set encoding (UTF8 only)."},
    {"cowcat_version", "0.1.0", true, "Shows the cowcat version."},
    {"DateStyle", "ISO, MDY", false, "Sets the display format for date and time values."},
    {"default_transaction_isolation", "serializable", false,
     "Sets the transaction isolation level of each new transaction."},
    {"extra_float_digits", "1", false, "Sets the number of digits displayed for floating-point values."},
    {"idle_in_transaction_session_timeout", "0", false,
     "Sets the maximum allowed idle time between queries, when in a transaction."},
    {"integer_datetimes", "on", true, "Shows whether datetimes are integer based."},
    {"IntervalStyle", "postgres", false, "Sets the display format for interval values."},
    {"lock_timeout", "0", false, "Sets the maximum allowed duration of any wait for a lock."},
    {"max_identifier_length", "63", true, "Shows the maximum identifier length."},
    {"search_path", "public", false, "Sets the schema search order for names that are not schema-qualified."},
    {"server_encoding", "UTF8", true, "Shows the server (database) character set encoding."},
    {"server_version", "15.1", true, "Shows the server version."},
    {"server_version_num", "150001", true, "Shows the server version as an integer."},
    {"standard_conforming_strings", "on", false, "Causes '...' strings to treat backslashes literally."},
    {"statement_timeout", "0", false, "Sets the maximum allowed duration of any statement."},
    {"TimeZone", "UTC", false, "Sets the time zone for displaying and interpreting time stamps."},
    {"transaction_isolation", "serializable", false, "Sets the current transaction's isolation level."},
};
const size_t ddl__nsettings = sizeof ddl__settings / sizeof *ddl__settings;

int
ddl__setting_find(const char *name)
{
    for (size_t i = 0; i < ddl__nsettings; i++)
        if (strcasecmp(ddl__settings[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* Replaces setting i's value with a copy of v. Errors: NOMEM. */
static cc_code
set_value(cowcat_session *s, int i, const char *v, cc_err *err)
{
    char *copy = cc_strdup(v);
    if (copy == NULL)
        return cc_err_set(err, CC_NOMEM, "out of memory setting a parameter");
    cc_free(s->values[i]);
    s->values[i] = copy;
    return CC_OK;
}

cc_code
ddl__session_set_path(cowcat_session *s, const char *value, cc_err *err)
{
    char path[DDL_SEARCH_PATH_MAX][DDL_NAME_MAX];
    size_t n = 0;
    const char *p = value;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\n')
            p++;
        if (*p == '\0')
            break;
        if (n == DDL_SEARCH_PATH_MAX)
            return cc_err_set_state(err, CC_INVALID, "22023",
                                    "invalid value for parameter \"search_path\": \"%s\"", value);
        size_t len = 0;
        if (*p == '"') {
            for (p++; *p != '\0'; p++) {
                if (*p == '"') {
                    if (p[1] != '"')
                        break;
                    p++;
                }
                if (len + 1 < DDL_NAME_MAX)
                    path[n][len++] = *p;
            }
            if (*p != '"')
                return cc_err_set_state(err, CC_INVALID, "22023",
                                        "invalid value for parameter \"search_path\": \"%s\"",
                                        value);
            p++;
        } else {
            for (; *p != '\0' && *p != ',' && *p != ' ' && *p != '\t'; p++)
                if (len + 1 < DDL_NAME_MAX)
                    path[n][len++] = (char)tolower((unsigned char)*p);
        }
        path[n][len] = '\0';
        n++;
        while (*p == ' ' || *p == '\t' || *p == '\n')
            p++;
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p != '\0')
            return cc_err_set_state(err, CC_INVALID, "22023",
                                    "invalid value for parameter \"search_path\": \"%s\"", value);
    }
    memcpy(s->path, path, sizeof path);
    s->npath = n;
    return CC_OK;
}

/* Appends name to buf, quoted as PostgreSQL's quote_identifier would. */
static void
append_ident(char *buf, size_t cap, const char *name)
{
    bool plain = name[0] != '\0' && (islower((unsigned char)name[0]) || name[0] == '_');
    for (const char *q = name; *q && plain; q++)
        plain = islower((unsigned char)*q) || isdigit((unsigned char)*q) || *q == '_';
    size_t len = strlen(buf);
    if (plain) {
        snprintf(buf + len, cap - len, "%s", name);
        return;
    }
    if (len + 1 < cap)
        buf[len++] = '"';
    for (const char *q = name; *q && len + 2 < cap; q++) {
        if (*q == '"')
            buf[len++] = '"';
        buf[len++] = *q;
    }
    if (len + 1 < cap)
        buf[len++] = '"';
    buf[len] = '\0';
}

/* The text of one SET argument (A_Const or a bare name). */
static const char *
arg_text(const PgQuery__Node *a, char *buf, size_t cap)
{
    if (a->node_case == PG_QUERY__NODE__NODE_A_CONST) {
        const PgQuery__AConst *k = a->a_const;
        switch (k->val_case) {
        case PG_QUERY__A__CONST__VAL_SVAL:
            return k->sval->sval;
        case PG_QUERY__A__CONST__VAL_IVAL:
            snprintf(buf, cap, "%d", k->ival->ival);
            return buf;
        case PG_QUERY__A__CONST__VAL_FVAL:
            return k->fval->fval;
        case PG_QUERY__A__CONST__VAL_BOOLVAL:
            return k->boolval->boolval ? "on" : "off";
        default:
            return NULL;
        }
    }
    return ddl__str(a);
}

bool
cowcat_duration_ms(const char *text, int64_t *ms)
{
    static const struct {
        const char *unit;
        int64_t num, den; /* ms = value * num / den */
    } units[] = {{"us", 1, 1000}, {"ms", 1, 1},        {"s", 1000, 1},
                 {"min", 60000, 1}, {"h", 3600000, 1}, {"d", 86400000, 1}};
    const char *p = text;
    while (*p == ' ')
        p++;
    if (*p < '0' || *p > '9')
        return false;
    int64_t v = 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (v > (INT64_MAX - 9) / 10)
            return false;
        v = v * 10 + (*p - '0');
    }
    while (*p == ' ')
        p++;
    int64_t num = 1, den = 1;
    if (*p != '\0') {
        size_t u = 0, n = sizeof units / sizeof *units;
        size_t len = strcspn(p, " ");
        while (u < n && !(strlen(units[u].unit) == len && strncmp(units[u].unit, p, len) == 0))
            u++;
        if (u == n)
            return false;
        num = units[u].num;
        den = units[u].den;
        for (p += len; *p == ' '; p++)
            ;
        if (*p != '\0')
            return false;
    }
    if (v > INT32_MAX / num) /* PostgreSQL's timeouts are int milliseconds */
        return false;
    *ms = v * num / den;
    return true;
}

/* PostgreSQL's display of a millisecond setting: the largest exact unit. */
static void
format_ms(int64_t ms, char *out, size_t n)
{
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {{"d", 86400000}, {"h", 3600000}, {"min", 60000}, {"s", 1000}};
    for (size_t u = 0; ms != 0 && u < sizeof units / sizeof *units; u++)
        if (ms % units[u].ms == 0) {
            snprintf(out, n, "%lld%s", (long long)(ms / units[u].ms), units[u].unit);
            return;
        }
    snprintf(out, n, ms == 0 ? "0" : "%lldms", (long long)ms);
}

static bool
is_timeout(const char *name)
{
    size_t n = strlen(name);
    return n > 8 && strcmp(name + n - 8, "_timeout") == 0;
}

/* Rows for SHOW name / SHOW ALL. */
static cc_code
show(ddl_ctx *c, const char *name, cc_err *err)
{
    cowcat_session *s = c->s;
    cc_code rc;
    snprintf(c->tag, sizeof c->tag, "SHOW");
    if (strcasecmp(name, "all") == 0) {
        const cowcat_column cols[] = {{"name", 25}, {"setting", 25}, {"description", 25}};
        if ((rc = ddl__emit_columns(c, cols, 3, err)) != CC_OK)
            return rc;
        for (size_t i = 0; i < ddl__nsettings; i++) {
            const char *row[] = {ddl__settings[i].name, s->values[i], ddl__settings[i].desc};
            if ((rc = ddl__emit_row(c, row, 3, err)) != CC_OK)
                return rc;
        }
        return CC_OK;
    }
    int i = ddl__setting_find(name);
    if (i < 0)
        return cc_err_set_state(err, CC_NOT_FOUND, "42704",
                                "unrecognized configuration parameter \"%s\"", name);
    const cowcat_column col = {ddl__settings[i].name, 25};
    if ((rc = ddl__emit_columns(c, &col, 1, err)) != CC_OK)
        return rc;
    const char *row[] = {s->values[i]};
    return ddl__emit_row(c, row, 1, err);
}

/* SET name = value / TO DEFAULT / RESET name / RESET ALL. */
static cc_code
set(ddl_ctx *c, const PgQuery__VariableSetStmt *v, cc_err *err)
{
    cowcat_session *s = c->s;
    bool reset = v->kind == PG_QUERY__VARIABLE_SET_KIND__VAR_RESET ||
                 v->kind == PG_QUERY__VARIABLE_SET_KIND__VAR_RESET_ALL;
    snprintf(c->tag, sizeof c->tag, "%s", reset ? "RESET" : "SET");
    if (v->kind == PG_QUERY__VARIABLE_SET_KIND__VAR_RESET_ALL) {
        for (size_t i = 0; i < ddl__nsettings; i++)
            if (!ddl__settings[i].read_only) {
                cc_code rc = set_value(s, (int)i, ddl__settings[i].boot, err);
                if (rc != CC_OK)
                    return rc;
            }
        return ddl__session_set_path(s, s->values[ddl__setting_find("search_path")], err);
    }
    if (v->kind == PG_QUERY__VARIABLE_SET_KIND__VAR_SET_MULTI) /* SET TRANSACTION ... */
        return CC_OK;
    if (v->is_local && s->status == COWCAT_TXN_IDLE) {
        ddl__notice(c, "25P01", "SET LOCAL can only be used in transaction blocks");
        snprintf(c->notices[c->nnotices - 1].severity, 8, "WARNING");
    }
    const char *name = v->name;
    int i = ddl__setting_find(name);
    if (i < 0)
        return cc_err_set_state(err, CC_NOT_FOUND, "42704",
                                "unrecognized configuration parameter \"%s\"", name);
    if (ddl__settings[i].read_only)
        return cc_err_set_state(err, CC_INVALID, "55P02", "parameter \"%s\" cannot be changed",
                                name);
    char value[512] = "";
    if (v->kind == PG_QUERY__VARIABLE_SET_KIND__VAR_SET_VALUE) {
        for (size_t k = 0; k < v->n_args; k++) {
            char nb[32];
            const char *t = arg_text(v->args[k], nb, sizeof nb);
            if (t == NULL)
                return cc_err_set_state(err, CC_INVALID, "22023",
                                        "invalid value for parameter \"%s\"", name);
            if (k > 0)
                strncat(value, ", ", sizeof value - strlen(value) - 1);
            if (strcmp(ddl__settings[i].name, "search_path") == 0)
                append_ident(value, sizeof value, t);
            else
                strncat(value, t, sizeof value - strlen(value) - 1);
        }
    } else {
        snprintf(value, sizeof value, "%s", ddl__settings[i].boot);
    }
    if (strcmp(ddl__settings[i].name, "client_encoding") == 0 && strcasecmp(value, "UTF8") != 0 &&
        strcasecmp(value, "UTF-8") != 0 && strcasecmp(value, "unicode") != 0)
        return cc_err_set_state(err, CC_INVALID, "0A000",
                                "feature not supported: client_encoding \"%s\" (only UTF8)", value);
    if (strcmp(ddl__settings[i].name, "client_encoding") == 0)
        snprintf(value, sizeof value, "UTF8");
    if (is_timeout(ddl__settings[i].name)) {
        int64_t ms;
        if (!cowcat_duration_ms(value, &ms)) {
            cc_err_set_state(err, CC_INVALID, "22023",
                             "invalid value for parameter \"%s\": \"%s\"", name, value);
            return cc_err_hint(err, "Valid units for this parameter are \"us\", \"ms\", \"s\", "
                                    "\"min\", \"h\", and \"d\".");
        }
        format_ms(ms, value, sizeof value);
    }
    if (strcmp(ddl__settings[i].name, "search_path") == 0) {
        cc_code rc = ddl__session_set_path(s, value, err);
        if (rc != CC_OK)
            return rc;
    }
    return set_value(s, i, value, err);
}

cc_code
ddl__session_stmt(ddl_ctx *c, const PgQuery__Node *stmt, cc_err *err)
{
    if (stmt->node_case == PG_QUERY__NODE__NODE_VARIABLE_SHOW_STMT)
        return show(c, stmt->variable_show_stmt->name, err);
    return set(c, stmt->variable_set_stmt, err);
}

/* --- sessions per database ------------------------------------------------------------------ */

/*
 * PostgreSQL refuses to drop or rename a database while other sessions are
 * connected to it, and a connection that starts meanwhile waits for the
 * dropping transaction, then finds the database gone. Here:
 *
 *   session open    count the name (waiting while a slot holder has it marked
 *                   closing), then check the name in the latest version
 *   DROP / RENAME   (write slot held) refuse if the count is not zero, else
 *                   mark the name closing until the slot is next free
 *
 * Both sides run under db->lock, so either the opener is counted before the
 * check (the DDL fails with 55006) or it waits and checks afterwards (3D000
 * if the database went). The publish of a commit happens before its slot is
 * freed, so an opener that saw the slot free sees the commit.
 */

/* The entry for name, or NULL (db->lock held). */
static ddl_db_use *
use_find(cowcat *db, const char *name)
{
    for (size_t i = 0; i < db->nuses; i++)
        if (strcmp(db->uses[i].name, name) == 0)
            return &db->uses[i];
    return NULL;
}

/* The entry for name, added if missing (db->lock held). NULL: out of memory. */
static ddl_db_use *
use_get(cowcat *db, const char *name)
{
    ddl_db_use *u = use_find(db, name);
    if (u != NULL)
        return u;
    if (db->nuses == db->uses_cap) {
        size_t cap = db->uses_cap ? 2 * db->uses_cap : 8;
        ddl_db_use *v = cc_realloc(db->uses, cap * sizeof *v);
        if (v == NULL)
            return NULL;
        db->uses = v;
        db->uses_cap = cap;
    }
    u = &db->uses[db->nuses++];
    memset(u, 0, sizeof *u);
    snprintf(u->name, sizeof u->name, "%s", name);
    return u;
}

/* Removes u if nothing keeps it (db->lock held). */
static void
use_trim(cowcat *db, ddl_db_use *u)
{
    if (u->sessions > 0 || u->closing)
        return;
    *u = db->uses[--db->nuses];
}

/*
 * While the slot is free every closing mark is stale: clears them and
 * drops the entries nothing keeps, so dropped names do not pile up
 * (db->lock held).
 */
static void
use_sweep(cowcat *db)
{
    if (db->slot_busy)
        return;
    for (size_t i = db->nuses; i-- > 0;) {
        db->uses[i].closing = false;
        use_trim(db, &db->uses[i]);
    }
}

/*
 * Counts s as a session of its database, first waiting while a slot
 * holder drops or renames it. Errors: NOMEM (53200).
 */
static cc_code
use_database(cowcat_session *s, cc_err *err)
{
    cowcat *db = s->db;
    pthread_mutex_lock(&db->lock);
    ddl_db_use *u;
    /* slot_free_locked broadcasts cond while slot_waiters > 0 */
    while ((u = use_find(db, s->database)) != NULL && u->closing && db->slot_busy) {
        db->slot_waiters++;
        pthread_cond_wait(&db->cond, &db->lock);
        db->slot_waiters--;
    }
    use_sweep(db); /* if the slot is free, no mark is current */
    if ((u = use_get(db, s->database)) == NULL) {
        pthread_mutex_unlock(&db->lock);
        return cc_err_set_state(err, CC_NOMEM, "53200", "out of memory");
    }
    u->sessions++;
    s->counted = true;
    pthread_mutex_unlock(&db->lock);
    return CC_OK;
}

/* Undoes use_database. */
static void
unuse_database(cowcat_session *s)
{
    cowcat *db = s->db;
    pthread_mutex_lock(&db->lock);
    ddl_db_use *u = use_find(db, s->database);
    CC_ASSERT(u != NULL && u->sessions > 0);
    u->sessions--;
    use_trim(db, u);
    use_sweep(db);
    s->counted = false;
    pthread_mutex_unlock(&db->lock);
}

cc_code
ddl__database_check_unused(ddl_ctx *c, const char *name, cc_err *err)
{
    cowcat *db = c->s->db;
    CC_ASSERT(c->txn != NULL); /* a write: the slot is held */
    pthread_mutex_lock(&db->lock);
    ddl_db_use *u = use_find(db, name);
    size_t others = u != NULL ? u->sessions : 0;
    if (others == 0 && (u = use_get(db, name)) != NULL)
        u->closing = true;
    pthread_mutex_unlock(&db->lock);
    if (others > 0) {
        cc_err_set_state(err, CC_INVALID, "55006",
                         "database \"%s\" is being accessed by other users", name);
        if (others == 1)
            return cc_err_detail(err, "There is 1 other session using the database.");
        return cc_err_detail(err, "There are %zu other sessions using the database.", others);
    }
    if (u == NULL)
        return cc_err_set_state(err, CC_NOMEM, "53200", "out of memory");
    return CC_OK;
}

void
ddl__database_uses_free(cowcat *db)
{
    cc_free(db->uses);
    db->uses = NULL;
    db->nuses = db->uses_cap = 0;
}

/* --- lifecycle --------------------------------------------------------------------------- */

cowcat_code
cowcat_session_open(cowcat *db, const cowcat_session_options *opts, cowcat_session **out,
                    cowcat_error *err)
{
    if (db == NULL || out == NULL)
        return ddl__api_error(err, CC_INVALID, "22023", "cowcat_session_open: NULL argument");
    *out = NULL;
    const char *user = opts && opts->user ? opts->user : "cowcat";
    const char *database = opts && opts->database ? opts->database : "cowcat";
    if (strlen(user) >= DDL_NAME_MAX || strlen(database) >= DDL_NAME_MAX)
        return ddl__api_error(err, CC_INVALID, "42622", "identifier too long");
    cowcat_session *s = cc_calloc(1, sizeof *s);
    if (s == NULL)
        return ddl__api_error(err, CC_NOMEM, "53200", "out of memory");
    s->db = db;
    s->status = COWCAT_TXN_IDLE;
    snprintf(s->user, sizeof s->user, "%s", user);
    snprintf(s->database, sizeof s->database, "%s", database);
    cc_err e;
    cc_err_clear(&e);
    cc_code rc = pmap_reader_new(cat_catalog_domain(db->cat), &s->reader, &e);
    for (size_t i = 0; rc == CC_OK && i < ddl__nsettings; i++)
        rc = set_value(s, (int)i, ddl__settings[i].boot, &e);
    if (rc == CC_OK && opts && opts->search_path) {
        int i = ddl__setting_find("search_path");
        rc = ddl__session_set_path(s, opts->search_path, &e);
        if (rc == CC_OK)
            rc = set_value(s, i, opts->search_path, &e);
    } else if (rc == CC_OK) {
        rc = ddl__session_set_path(s, "public", &e);
    }
    if (rc == CC_OK)
        rc = use_database(s, &e); /* before the check: see "sessions per database" */
    if (rc == CC_OK) {
        pmap_reader_pin(s->reader);
        const cat_state *st = cat_state_acquire(db->cat);
        if (cat_state_find_role(st, user) == NULL)
            rc = cc_err_set_state(&e, CC_NOT_FOUND, "28000", "role \"%s\" does not exist", user);
        else if (cat_state_find_database(st, database) == NULL)
            rc = cc_err_set_state(&e, CC_NOT_FOUND, "3D000", "database \"%s\" does not exist",
                                  database);
        pmap_reader_unpin(s->reader);
    }
    if (rc != CC_OK) {
        cowcat_session_close(s);
        return ddl__api_error(err, rc, cc_err_sqlstate(&e), e.msg);
    }
    *out = s;
    return COWCAT_OK;
}

void
cowcat_session_close(cowcat_session *s)
{
    if (s == NULL)
        return;
    ddl__session_abort(s);
    if (s->counted)
        unuse_database(s);
    for (size_t i = 0; i < ddl__nsettings; i++)
        cc_free(s->values[i]);
    if (s->reader != NULL)
        pmap_reader_free(s->reader);
    cc_free(s);
}

cowcat_txn_status
cowcat_session_status(const cowcat_session *s)
{
    return s->status;
}

uint64_t
cowcat_session_last_commit(const cowcat_session *s)
{
    return s->last_commit;
}

const char *
cowcat_session_setting(cowcat_session *s, const char *name)
{
    int i = ddl__setting_find(name);
    return i < 0 ? NULL : s->values[i];
}
