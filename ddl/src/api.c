/*
 * ddl/src/api.c — the rest of cowcat.h: open/close, explicit transactions,
 * read snapshots with typed lookups, and the subscribers' view of changes.
 *
 * A snapshot pins a version with its own pmap_reader (so it may outlive the
 * statements of its session) or, inside the session's transaction block,
 * borrows the block's working version. The strings a cowcat_object points
 * at are either borrowed from the pinned version's objects (names) or made
 * for it (ids, create_sql) and kept in the snapshot's arena until it closes;
 * walks release what they made for each callback once it returns.
 */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "internal.h"

/* --- errors -------------------------------------------------------------------------------- */

const char *
cowcat_code_name(cowcat_code code)
{
    return cc_code_name((cc_code)code);
}

cowcat_code
ddl__api_error(cowcat_error *err, cc_code code, const char *sqlstate, const char *msg)
{
    if (err != NULL) {
        memset(err, 0, sizeof *err);
        err->code = (cowcat_code)code;
        snprintf(err->severity, sizeof err->severity, "ERROR");
        snprintf(err->sqlstate, sizeof err->sqlstate, "%s", sqlstate);
        snprintf(err->message, sizeof err->message, "%s", msg);
    }
    return (cowcat_code)code;
}

static cowcat_code
from_cc(cowcat_error *err, const cc_err *e)
{
    if (err != NULL) {
        ddl__api_error(err, e->code, cc_err_sqlstate(e), e->msg);
        snprintf(err->detail, sizeof err->detail, "%s", e->detail);
        snprintf(err->hint, sizeof err->hint, "%s", e->hint);
    }
    return (cowcat_code)e->code;
}

/* --- open / close -------------------------------------------------------------------------- */

cowcat_code
cowcat_open(const cowcat_options *opts, cowcat **out, cowcat_error *err)
{
    if (opts == NULL || out == NULL)
        return ddl__api_error(err, CC_INVALID, "22023", "cowcat_open: NULL argument");
    if (opts->backend == COWCAT_BACKEND_FILE && (opts->data_dir == NULL || !opts->data_dir[0]))
        return ddl__api_error(err, CC_INVALID, "22023", "cowcat_open: data_dir is required");
    if (opts->ablate >> COWCAT_NABLATIONS != 0)
        return ddl__api_error(err, CC_INVALID, "22023", "cowcat_open: unknown ablation bits");
    cc_err e;
    cc_err_clear(&e);
    if (ddl__engine_open(opts, out, &e) != CC_OK)
        return from_cc(err, &e);
    return COWCAT_OK;
}

void
cowcat_close(cowcat *db)
{
    ddl__engine_close(db);
}

cowcat_code
cowcat_check(cowcat *db, cowcat_error *err)
{
    if (db == NULL)
        return ddl__api_error(err, CC_INVALID, "22023", "cowcat_check: NULL argument");
    pmap_reader *r;
    cc_err e;
    cc_err_clear(&e);
    if (pmap_reader_new(cat_catalog_domain(db->cat), &r, &e) != CC_OK)
        return from_cc(err, &e);
    pmap_reader_pin(r);
    cc_code rc = cat_check(cat_state_acquire(db->cat), ddl__check_parse, NULL, &e);
    if (rc == CC_OK)
        rc = dur_tables_check(db->dur, &e); /* every table registered with txn-wal, and only they */
    pmap_reader_unpin(r);
    pmap_reader_free(r);
    return rc == CC_OK ? COWCAT_OK : from_cc(err, &e);
}

cowcat_code
cowcat_health(cowcat *db, cowcat_error *err)
{
    if (db == NULL)
        return ddl__api_error(err, CC_INVALID, "22023", "cowcat_health: NULL argument");
    cc_err e;
    cc_err_clear(&e);
    return ddl__engine_health(db, &e) == CC_OK ? COWCAT_OK : from_cc(err, &e);
}

cowcat_code
cowcat_role_auth_get(cowcat *db, const char *role, cowcat_role_auth *out, cowcat_error *err)
{
    if (db == NULL || role == NULL || out == NULL)
        return ddl__api_error(err, CC_INVALID, "22023", "cowcat_role_auth_get: NULL argument");
    memset(out, 0, sizeof *out);
    pmap_reader *r;
    cc_err e;
    cc_err_clear(&e);
    if (pmap_reader_new(cat_catalog_domain(db->cat), &r, &e) != CC_OK)
        return from_cc(err, &e);
    pmap_reader_pin(r);
    cc_code rc = CC_OK;
    const cat_object *o = cat_state_find_role(cat_state_acquire(db->cat), role);
    ProtobufCMessage *m = NULL;
    if (o != NULL && (rc = cat_object_decode(o, &m, &e)) == CC_OK) {
        const Cowcat__Catalog__RoleValue *v = (const Cowcat__Catalog__RoleValue *)m;
        out->exists = true;
        out->login = v->attributes != NULL && v->attributes->login;
        out->superuser = v->attributes != NULL && v->attributes->superuser;
        if (v->password != NULL && strlen(v->password) < sizeof out->verifier)
            snprintf(out->verifier, sizeof out->verifier, "%s", v->password);
        protobuf_c_message_free_unpacked(m, NULL);
    }
    pmap_reader_unpin(r);
    pmap_reader_free(r);
    return rc == CC_OK ? COWCAT_OK : from_cc(err, &e);
}

/* --- explicit transactions ------------------------------------------------------------------ */

cowcat_code
cowcat_begin(cowcat_session *s, cowcat_error *err)
{
    return cowcat_exec(s, "BEGIN", NULL, NULL, err);
}

cowcat_code
cowcat_commit(cowcat_session *s, cowcat_error *err)
{
    if (s != NULL && s->status == COWCAT_TXN_FAILED) {
        ddl__session_abort(s);
        return ddl__api_error(
            err, CC_INVALID, "25P02",
            "current transaction is aborted, commands ignored until end of transaction block");
    }
    return cowcat_exec(s, "COMMIT", NULL, NULL, err);
}

cowcat_code
cowcat_rollback(cowcat_session *s, cowcat_error *err)
{
    return cowcat_exec(s, "ROLLBACK", NULL, NULL, err);
}

/* --- snapshots ---------------------------------------------------------------------------- */

struct cowcat_snapshot {
    cowcat_session *s;
    pmap_reader *reader; /* NULL: borrowing the session block's version */
    const cat_state *st;
    char **arena; /* strings made for objects handed out */
    size_t narena, cap;
};

static char *
arena_keep(cowcat_snapshot *snap, char *str)
{
    if (str == NULL)
        return NULL;
    if (snap->narena == snap->cap) {
        size_t cap = snap->cap ? snap->cap * 2 : 16;
        char **a = cc_realloc(snap->arena, cap * sizeof *a);
        if (a == NULL) {
            cc_free(str);
            return NULL;
        }
        snap->arena = a;
        snap->cap = cap;
    }
    snap->arena[snap->narena++] = str;
    return str;
}

static void
arena_release(cowcat_snapshot *snap, size_t mark)
{
    while (snap->narena > mark)
        cc_free(snap->arena[--snap->narena]);
}

cowcat_code
cowcat_snapshot_open(cowcat_session *s, cowcat_snapshot **out, cowcat_error *err)
{
    if (s == NULL || out == NULL)
        return ddl__api_error(err, CC_INVALID, "22023", "cowcat_snapshot_open: NULL argument");
    cc_err he;
    cc_err_clear(&he);
    if (ddl__engine_health(s->db, &he) != CC_OK) /* never a snapshot that may disagree with disk */
        return from_cc(err, &he);
    cowcat_snapshot *snap = cc_calloc(1, sizeof *snap);
    if (snap == NULL)
        return ddl__api_error(err, CC_NOMEM, "53200", "out of memory");
    snap->s = s;
    if (s->txn != NULL) {
        snap->st = cat_txn_state(s->txn);
    } else {
        cc_err e;
        if (pmap_reader_new(cat_catalog_domain(s->db->cat), &snap->reader, &e) != CC_OK) {
            cc_free(snap);
            return from_cc(err, &e);
        }
        pmap_reader_pin(snap->reader);
        snap->st = cat_state_acquire(s->db->cat);
    }
    *out = snap;
    return COWCAT_OK;
}

void
cowcat_snapshot_close(cowcat_snapshot *snap)
{
    if (snap == NULL)
        return;
    if (snap->reader != NULL) {
        pmap_reader_unpin(snap->reader);
        pmap_reader_free(snap->reader);
    }
    arena_release(snap, 0);
    cc_free(snap->arena);
    cc_free(snap);
}

void
cowcat_snapshot_fingerprint(cowcat_snapshot *snap, uint64_t fp[2])
{
    pmap_fp f = cat_state_fp(snap->st);
    fp[0] = f.lo;
    fp[1] = f.hi;
}

uint64_t
cowcat_snapshot_count(cowcat_snapshot *snap, cowcat_kind kind)
{
    if ((int)kind < 0 || (int)kind >= CAT_NKIND)
        return 0;
    return cat_state_count(snap->st, (cat_kind)kind);
}

/* The stored create_sql of an item (a new string), or NULL. */
static char *
item_sql(const cat_object *o)
{
    if (cat_ref_class(o->ref) != CAT_CLASS_ITEM)
        return NULL;
    ProtobufCMessage *m = NULL;
    if (cat_object_decode(o, &m, NULL) != CC_OK)
        return NULL;
    char *sql = cc_strdup(((Cowcat__Catalog__ItemValue *)m)->create_sql);
    protobuf_c_message_free_unpacked(m, NULL);
    return sql;
}

/* Fills out from o, with names looked up in st; made strings go to snap's arena (or
 * are returned through *made[0..2] when snap is NULL). */
static void
fill_object(const cat_state *st, const cat_object *o, cowcat_object *out, char **made)
{
    memset(out, 0, sizeof *out);
    out->oid = o->oid;
    out->kind = (cowcat_kind)o->kind;
    out->kind_name = cat_kind_name(o->kind);
    out->name = o->name;
    char idb[24];
    made[0] = cc_strdup(cat_ref_str(o->ref, idb));
    out->id = made[0] ? made[0] : "";
    const cat_object *schema = NULL, *db = NULL;
    if (cat_ref_class(o->ref) == CAT_CLASS_ITEM)
        schema = cat_state_find(st, o->parent);
    if (cat_ref_class(o->ref) == CAT_CLASS_SCHEMA)
        db = cat_state_find(st, o->parent);
    else if (schema != NULL)
        db = cat_state_find(st, schema->parent);
    out->schema = schema ? schema->name : NULL;
    out->database = db ? db->name : NULL;
    const cat_object *owner = o->owner ? cat_state_find(st, o->owner) : NULL;
    out->owner = owner ? owner->name : NULL;
    made[1] = item_sql(o);
    out->create_sql = made[1];
}

static void
snap_object(cowcat_snapshot *snap, const cat_object *o, cowcat_object *out)
{
    char *made[2];
    fill_object(snap->st, o, out, made);
    if (arena_keep(snap, made[0]) == NULL)
        out->id = "";
    out->create_sql = arena_keep(snap, made[1]);
}

/* A statement context over the snapshot's version, for name resolution. Errors: NOMEM. */
static cc_code
snap_ctx(cowcat_snapshot *snap, ddl_ctx *c, cc_err *err)
{
    memset(c, 0, sizeof *c);
    c->s = snap->s;
    c->st = snap->st;
    c->sql = "";
    c->text = "";
    return ddl__ctx_bind(c, err);
}

/* Splits "a.b.c" (parts optionally double-quoted) into q. Folds unquoted parts. */
static cc_code
split_name(const char *name, char parts[3][DDL_NAME_MAX], ddl_qname *q, cc_err *err)
{
    size_t n = 0;
    const char *p = name;
    for (;;) {
        if (n == 3)
            return cc_err_set_state(err, CC_PARSE, "42601",
                                    "improper qualified name (too many dotted names): %s", name);
        size_t len = 0;
        if (*p == '"') {
            for (p++; *p && !(*p == '"' && p[1] != '"'); p++) {
                if (*p == '"')
                    p++;
                if (len + 1 < DDL_NAME_MAX)
                    parts[n][len++] = *p;
            }
            if (*p != '"')
                return cc_err_set_state(err, CC_PARSE, "42601", "invalid name syntax: %s", name);
            p++;
        } else {
            for (; *p && *p != '.'; p++)
                if (len + 1 < DDL_NAME_MAX)
                    parts[n][len++] = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
        }
        parts[n][len] = '\0';
        if (len == 0)
            return cc_err_set_state(err, CC_PARSE, "42601", "invalid name syntax: %s", name);
        n++;
        if (*p == '\0')
            break;
        if (*p != '.')
            return cc_err_set_state(err, CC_PARSE, "42601", "invalid name syntax: %s", name);
        p++;
    }
    memset(q, 0, sizeof *q);
    q->location = -1;
    q->name = parts[n - 1];
    if (n >= 2)
        q->schema = parts[n - 2];
    if (n == 3)
        q->database = parts[0];
    return CC_OK;
}

cowcat_code
cowcat_snapshot_find(cowcat_snapshot *snap, const char *name, cowcat_object *out, cowcat_error *err)
{
    if (snap == NULL || name == NULL || out == NULL)
        return ddl__api_error(err, CC_INVALID, "22023", "cowcat_snapshot_find: NULL argument");
    char parts[3][DDL_NAME_MAX];
    ddl_qname q;
    cc_err e;
    cc_err_clear(&e);
    if (split_name(name, parts, &q, &e) != CC_OK)
        return from_cc(err, &e);
    ddl_ctx c;
    if (snap_ctx(snap, &c, &e) != CC_OK)
        return from_cc(err, &e);
    const cat_object *o = NULL;
    if (ddl__find_relation(&c, &q, &o, &e) != CC_OK)
        return from_cc(err, &e);
    if (o == NULL && ddl__find_type(&c, &q, &o, &e) != CC_OK)
        return from_cc(err, &e);
    if (o == NULL) {
        cc_err_set_state(&e, CC_NOT_FOUND, "42P01", "relation \"%s\" does not exist", name);
        return from_cc(err, &e);
    }
    snap_object(snap, o, out);
    return COWCAT_OK;
}

/* The object with oid, or a NOT_FOUND error. */
static const cat_object *
by_oid(cowcat_snapshot *snap, uint32_t oid, cowcat_error *err)
{
    const cat_object *o = cat_state_find_oid(snap->st, oid);
    if (o == NULL) {
        char msg[64];
        snprintf(msg, sizeof msg, "object with OID %u does not exist", oid);
        ddl__api_error(err, CC_NOT_FOUND, "42704", msg);
    }
    return o;
}

cowcat_code
cowcat_snapshot_find_oid(cowcat_snapshot *snap, uint32_t oid, cowcat_object *out,
                         cowcat_error *err)
{
    if (snap == NULL || out == NULL)
        return ddl__api_error(err, CC_INVALID, "22023", "cowcat_snapshot_find_oid: NULL argument");
    const cat_object *o = by_oid(snap, oid, err);
    if (o == NULL)
        return COWCAT_NOT_FOUND;
    snap_object(snap, o, out);
    return COWCAT_OK;
}

typedef struct walk_arg {
    cowcat_snapshot *snap;
    cowcat_object_fn fn;
    void *arg;
} walk_arg;

static int
walk_one(void *arg, const cat_object *o)
{
    walk_arg *w = arg;
    size_t mark = w->snap->narena;
    cowcat_object obj;
    snap_object(w->snap, o, &obj);
    int r = w->fn(w->arg, &obj);
    arena_release(w->snap, mark);
    return r;
}

cowcat_code
cowcat_snapshot_walk_schema(cowcat_snapshot *snap, const char *schema, cowcat_object_fn fn,
                            void *arg, cowcat_error *err)
{
    if (snap == NULL || schema == NULL || fn == NULL)
        return ddl__api_error(err, CC_INVALID, "22023", "cowcat_snapshot_walk_schema: NULL argument");
    ddl_ctx c;
    cc_err e;
    cc_err_clear(&e);
    if (snap_ctx(snap, &c, &e) != CC_OK)
        return from_cc(err, &e);
    const cat_object *sc = ddl__find_schema(&c, schema);
    if (sc == NULL) {
        char msg[128];
        snprintf(msg, sizeof msg, "schema \"%s\" does not exist", schema);
        return ddl__api_error(err, CC_NOT_FOUND, "3F000", msg);
    }
    walk_arg w = {snap, fn, arg};
    cat_state_walk_members(snap->st, sc->ref, walk_one, &w);
    return COWCAT_OK;
}

cowcat_code
cowcat_snapshot_walk_dependents(cowcat_snapshot *snap, uint32_t oid, cowcat_object_fn fn,
                                void *arg, cowcat_error *err)
{
    if (snap == NULL || fn == NULL)
        return ddl__api_error(err, CC_INVALID, "22023", "cowcat_snapshot_walk_dependents: NULL argument");
    const cat_object *o = by_oid(snap, oid, err);
    if (o == NULL)
        return COWCAT_NOT_FOUND;
    walk_arg w = {snap, fn, arg};
    cat_state_walk_used_by(snap->st, o->ref, walk_one, &w);
    return COWCAT_OK;
}

/* The decoded ItemValue of the relation with oid (free it), or NULL with err set. */
static Cowcat__Catalog__ItemValue *
item_value(cowcat_snapshot *snap, uint32_t oid, cowcat_error *err)
{
    const cat_object *o = by_oid(snap, oid, err);
    if (o == NULL)
        return NULL;
    if (cat_ref_class(o->ref) != CAT_CLASS_ITEM) {
        ddl__api_error(err, CC_INVALID, "42809", "object is not a relation");
        return NULL;
    }
    ProtobufCMessage *m = NULL;
    cc_err e;
    if (cat_object_decode(o, &m, &e) != CC_OK) {
        from_cc(err, &e);
        return NULL;
    }
    return (Cowcat__Catalog__ItemValue *)m;
}

cowcat_code
cowcat_snapshot_columns(cowcat_snapshot *snap, uint32_t oid,
                        int (*fn)(void *arg, const cowcat_column_info *c), void *arg,
                        cowcat_error *err)
{
    if (snap == NULL || fn == NULL)
        return ddl__api_error(err, CC_INVALID, "22023", "cowcat_snapshot_columns: NULL argument");
    Cowcat__Catalog__ItemValue *v = item_value(snap, oid, err);
    if (v == NULL)
        return err ? err->code : COWCAT_NOT_FOUND;
    for (size_t i = 0; i < v->n_columns; i++) {
        const Cowcat__Catalog__Column *col = v->columns[i];
        char tb[128];
        cowcat_column_info ci = {
            .position = (uint32_t)i + 1,
            .name = col->name,
            .type = ddl__format_type(col, tb, sizeof tb),
            .type_oid = ddl__type_oid(col),
            .not_null = !col->nullable,
            .default_expr = col->default_opt_case ==
                                    COWCAT__CATALOG__COLUMN__DEFAULT_OPT_DEFAULT_EXPR
                                ? col->default_expr
                                : NULL,
        };
        if (fn(arg, &ci) != 0)
            break;
    }
    protobuf_c_message_free_unpacked(&v->base, NULL);
    return COWCAT_OK;
}

cowcat_code
cowcat_snapshot_constraints(cowcat_snapshot *snap, uint32_t oid,
                            int (*fn)(void *arg, const cowcat_constraint_info *c), void *arg,
                            cowcat_error *err)
{
    if (snap == NULL || fn == NULL)
        return ddl__api_error(err, CC_INVALID, "22023", "cowcat_snapshot_constraints: NULL argument");
    Cowcat__Catalog__ItemValue *v = item_value(snap, oid, err);
    if (v == NULL)
        return err ? err->code : COWCAT_NOT_FOUND;
    for (size_t i = 0; i < v->n_constraints; i++) {
        const Cowcat__Catalog__Constraint *k = v->constraints[i];
        uint32_t ref_oid = 0;
        if (k->ref_table_opt_case == COWCAT__CATALOG__CONSTRAINT__REF_TABLE_OPT_REF_TABLE) {
            const cat_object *t =
                cat_state_find(snap->st, cat_ref_from_id(CAT_CLASS_ITEM, k->ref_table));
            ref_oid = t ? t->oid : 0;
        }
        cowcat_constraint_info ci = {
            .name = k->name,
            .type = ddl__constraint_type(k->kind),
            .columns = (const char *const *)k->columns,
            .ncolumns = k->n_columns,
            .check_expr = k->kind == COWCAT__CATALOG__CONSTRAINT_KIND__CONSTRAINT_KIND_CHECK
                              ? k->check_expr
                              : NULL,
            .ref_oid = ref_oid,
            .ref_columns = (const char *const *)k->ref_columns,
            .nref_columns = k->n_ref_columns,
        };
        if (fn(arg, &ci) != 0)
            break;
    }
    protobuf_c_message_free_unpacked(&v->base, NULL);
    return COWCAT_OK;
}

/* --- subscribers ------------------------------------------------------------------------------ */

void
ddl__notify(cowcat *db, const cat_change *changes, size_t n)
{
    cowcat_change *cv = cc_calloc(n, sizeof *cv);
    cowcat_object *ov = cc_calloc(n, sizeof *ov);
    char **made = cc_calloc(2 * n, sizeof *made);
    if (cv == NULL || ov == NULL || made == NULL) {
        cc_free(cv);
        cc_free(ov);
        cc_free(made);
        return; /* out of memory: subscribers miss this change list */
    }
    const cat_state *st = cat_state_acquire(db->cat);
    for (size_t i = 0; i < n; i++) {
        fill_object(st, changes[i].object, &ov[i], made + 2 * i);
        cv[i].object = &ov[i];
        cv[i].diff = changes[i].diff;
    }
    for (cowcat_subscription *s = db->subs; s != NULL; s = s->next)
        s->fn(s->arg, cv, n);
    for (size_t i = 0; i < 2 * n; i++)
        cc_free(made[i]);
    cc_free(made);
    cc_free(ov);
    cc_free(cv);
}
