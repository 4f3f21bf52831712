/*
 * ddl/src/rewrite.c — the rename hook (cat_rewrite_fn): after ALTER ...
 * RENAME, the stored create_sql of the renamed item and of its direct
 * dependents is re-parsed, every reference to the renamed object is
 * renamed, and the tree is deparsed back (libpg_query's deparser, so the
 * text comes back normalized: `int4` as `int`, keywords in upper case).
 *
 * Which references are the renamed object, resolved the way they were
 * written (no session is at hand, so search_path is approximated by the
 * target's own dependencies):
 *   - the statement's own name (CreateStmt.relation, ViewStmt.view,
 *     CREATE MATERIALIZED VIEW's into.rel, IndexStmt.idxname, the type
 *     name of CREATE TYPE) when the target is the renamed object itself;
 *   - a RangeVar / TypeName qualified with the renamed object's schema and
 *     carrying its old name;
 *   - an unqualified one with the old name (not a CTE in scope) when the
 *     renamed object is the only object of that name among the target's
 *     uses (plus the target itself for a table: self-references), or, when
 *     several share the name, is in the target's schema;
 *   - for a renamed schema, every RangeVar / TypeName qualified with it and
 *     column references schema.table.column; for a database, RangeVars
 *     qualified with it.
 * A renamed relation referenced inside a query without an alias gets its
 * old name as alias (FROM t2 t), so column references qualified with the
 * old name (t.a) keep working.
 *
 * A moved item (ALTER ... SET SCHEMA; the hook is called after the move,
 * with the item's old version) keeps its name: the references found the
 * same way are qualified with the new schema (`s2.t`, `s2.mood`, column
 * references `s2.t.a`), and so is the statement's own name.
 *
 * The tree walker (ddl__walk) lives here too: a generic depth-first walk
 * over protobuf-c descriptors, so every node type is visited without a
 * hand-written case per node, with the WITH names in scope tracked.
 */
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "internal.h"

/* --- the walker (shared with view.c)
 * ------------------------------------------------------------------------- */

struct ddl_walk {
    ddl_walk_fn fn;
    void *arg;
    const char **ctes; /* CTE names in scope (a stack) */
    size_t nctes, cap;
    int queries; /* SelectStmt nesting depth */
};

static int walk_msg(ddl_walk *w, ProtobufCMessage *m);

static int
push_cte(ddl_walk *w, const char *name)
{
    if (w->nctes == w->cap) {
        size_t cap = w->cap ? 2 * w->cap : 8;
        const char **v = cc_realloc(w->ctes, cap * sizeof *v);
        if (v == NULL)
            return -1;
        w->ctes = v;
        w->cap = cap;
    }
    w->ctes[w->nctes++] = name;
    return 0;
}

/* Walks every message field of m except skip. */
static int
walk_fields(ddl_walk *w, ProtobufCMessage *m, const void *skip)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    char *base = (char *)m;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(size_t *)(base + f->quantifier_offset);
            ProtobufCMessage **v = *(ProtobufCMessage ***)(base + f->offset);
            for (size_t j = 0; j < n; j++) {
                int r = v[j] != NULL ? walk_msg(w, v[j]) : 0;
                if (r != 0)
                    return r;
            }
            continue;
        }
        if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
            *(uint32_t *)(base + f->quantifier_offset) != f->id)
            continue;
        ProtobufCMessage *sub = *(ProtobufCMessage **)(base + f->offset);
        if (sub == NULL || (const void *)sub == skip)
            continue;
        int r = walk_msg(w, sub);
        if (r != 0)
            return r;
    }
    return 0;
}

static int
walk_select(ddl_walk *w, PgQuery__SelectStmt *s)
{
    size_t mark = w->nctes;
    int r = 0;
    w->queries++;
    if (s->with_clause != NULL) {
        PgQuery__WithClause *wc = s->with_clause;
        for (size_t i = 0; i < wc->n_ctes && r == 0 && wc->recursive; i++)
            if (wc->ctes[i]->node_case == PG_QUERY__NODE__NODE_COMMON_TABLE_EXPR)
                r = push_cte(w, wc->ctes[i]->common_table_expr->ctename);
        for (size_t i = 0; i < wc->n_ctes && r == 0; i++) {
            if (wc->ctes[i]->node_case != PG_QUERY__NODE__NODE_COMMON_TABLE_EXPR)
                continue;
            PgQuery__CommonTableExpr *cte = wc->ctes[i]->common_table_expr;
            if (cte->ctequery != NULL)
                r = walk_msg(w, &cte->ctequery->base);
            if (r == 0 && !wc->recursive)
                r = push_cte(w, cte->ctename);
        }
    }
    if (r == 0)
        r = walk_fields(w, &s->base, s->with_clause);
    w->nctes = mark;
    w->queries--;
    return r;
}

static int
walk_msg(ddl_walk *w, ProtobufCMessage *m)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    if (d == &pg_query__range_var__descriptor || d == &pg_query__type_name__descriptor ||
        d == &pg_query__column_ref__descriptor) {
        int r = w->fn(w->arg, w, m);
        if (r != 0 || d != &pg_query__type_name__descriptor)
            return r;
        return walk_fields(w, m, NULL); /* typmods may hold expressions */
    }
    if (d == &pg_query__select_stmt__descriptor)
        return walk_select(w, (PgQuery__SelectStmt *)m);
    return walk_fields(w, m, NULL);
}

int
ddl__walk(ProtobufCMessage *root, ddl_walk_fn fn, void *arg)
{
    ddl_walk w = {.fn = fn, .arg = arg};
    int r = walk_msg(&w, root);
    cc_free(w.ctes);
    return r;
}

bool
ddl__walk_is_cte(const ddl_walk *w, const PgQuery__RangeVar *rv)
{
    if ((rv->schemaname != NULL && rv->schemaname[0]) ||
        (rv->catalogname != NULL && rv->catalogname[0]))
        return false;
    for (size_t i = w->nctes; i-- > 0;)
        if (strcmp(w->ctes[i], rv->relname) == 0)
            return true;
    return false;
}

bool
ddl__walk_in_query(const ddl_walk *w)
{
    return w->queries > 0;
}

/* --- the rewrite ----------------------------------------------------------------------- */

typedef struct rw {
    const cat_state *s;
    const cat_object *target;
    const cat_object *renamed;
    const char *new_name;
    const char *schema_name;      /* the renamed item's schema name; NULL otherwise */
    const char *move_to;          /* a moved item: its new schema's name; NULL: a rename */
    const PgQuery__RangeVar *own; /* the statement's own name (handled separately) */
    bool changed;
    bool nomem;
} rw;

/* Replaces *slot (a string of the unpacked tree) with a malloc'd copy of s. */
static bool
set_string(char **slot, const char *s)
{
    char *d = strdup(s);
    if (d == NULL)
        return false;
    if (*slot != NULL && *slot != protobuf_c_empty_string)
        free(*slot);
    *slot = d;
    return true;
}

static bool
is_relation(cat_kind k)
{
    return k == CAT_KIND_TABLE || k == CAT_KIND_VIEW || k == CAT_KIND_MATERIALIZED_VIEW ||
           k == CAT_KIND_INDEX;
}

/* Does an unqualified reference to the renamed object's old name mean it? */
static bool
unqualified_is_renamed(const rw *r)
{
    const cat_object *t = r->target, *x = r->renamed;
    size_t same = 0;
    bool found = false;
    for (size_t i = 0; i < t->nuses; i++) {
        /* The renamed object may already carry its new name in r->s. */
        const cat_object *u = cat_state_find(r->s, t->uses[i]);
        if (u == NULL || (u->ref != x->ref && strcmp(u->name, x->name) != 0) ||
            (u->kind == CAT_KIND_TYPE) != (x->kind == CAT_KIND_TYPE))
            continue;
        same++;
        found |= u->ref == x->ref;
    }
    if (t->ref == x->ref && t->kind == CAT_KIND_TABLE) {
        same++;
        found = true;
    }
    return found && (same == 1 || x->parent == t->parent);
}

/* Does rv (not the statement's own name) refer to the renamed relation? */
static bool
rv_is_renamed(const rw *r, ddl_walk *w, const PgQuery__RangeVar *rv)
{
    if (!is_relation(r->renamed->kind) || strcmp(rv->relname, r->renamed->name) != 0)
        return false;
    if (rv->schemaname != NULL && rv->schemaname[0])
        return r->schema_name != NULL && strcmp(rv->schemaname, r->schema_name) == 0;
    return !ddl__walk_is_cte(w, rv) && unqualified_is_renamed(r);
}

static int
rename_rv(rw *r, ddl_walk *w, PgQuery__RangeVar *rv)
{
    cat_kind k = r->renamed->kind;
    if (k == CAT_KIND_SCHEMA) {
        if (rv->schemaname != NULL && strcmp(rv->schemaname, r->renamed->name) == 0) {
            if (!set_string(&rv->schemaname, r->new_name))
                return r->nomem = true;
            r->changed = true;
        }
        return 0;
    }
    if (k == CAT_KIND_DATABASE) {
        if (rv->catalogname != NULL && strcmp(rv->catalogname, r->renamed->name) == 0) {
            if (!set_string(&rv->catalogname, r->new_name))
                return r->nomem = true;
            r->changed = true;
        }
        return 0;
    }
    if (rv == r->own || !rv_is_renamed(r, w, rv))
        return 0;
    if (r->move_to != NULL) {
        if (!set_string(&rv->schemaname, r->move_to))
            return r->nomem = true;
        r->changed = true;
        return 0;
    }
    if (ddl__walk_in_query(w) && rv->alias == NULL) {
        PgQuery__Alias *a = malloc(sizeof *a);
        if (a == NULL)
            return r->nomem = true;
        pg_query__alias__init(a);
        if ((a->aliasname = strdup(rv->relname)) == NULL) {
            free(a);
            return r->nomem = true;
        }
        rv->alias = a;
    }
    if (!set_string(&rv->relname, r->new_name))
        return r->nomem = true;
    r->changed = true;
    return 0;
}

/* A moved type's name list ([db.][schema.]name): the schema becomes the new one. */
static int
qualify_names(rw *r, PgQuery__Node ***names, size_t *n)
{
    if (*n >= 2) {
        if (!set_string(&(*names)[*n - 2]->string->sval, r->move_to))
            return r->nomem = true;
    } else {
        PgQuery__Node *sc = ddl__tree_string(r->move_to);
        if (sc == NULL || !ddl__tree_insert(names, n, 0, sc)) {
            if (sc != NULL)
                pg_query__node__free_unpacked(sc, NULL);
            return r->nomem = true;
        }
    }
    r->changed = true;
    return 0;
}

static int
rename_type(rw *r, PgQuery__TypeName *tn)
{
    size_t n = tn->n_names;
    if (n == 0 || tn->names[n - 1]->node_case != PG_QUERY__NODE__NODE_STRING)
        return 0;
    if (r->renamed->kind == CAT_KIND_SCHEMA) {
        if (n >= 2 && ddl__str(tn->names[n - 2]) != NULL &&
            strcmp(ddl__str(tn->names[n - 2]), r->renamed->name) == 0) {
            if (!set_string(&tn->names[n - 2]->string->sval, r->new_name))
                return r->nomem = true;
            r->changed = true;
        }
        return 0;
    }
    if (r->renamed->kind != CAT_KIND_TYPE ||
        strcmp(ddl__str(tn->names[n - 1]), r->renamed->name) != 0)
        return 0;
    bool hit;
    if (n >= 2)
        hit = r->schema_name != NULL && ddl__str(tn->names[n - 2]) != NULL &&
              strcmp(ddl__str(tn->names[n - 2]), r->schema_name) == 0;
    else
        hit = !ddl__type_is_builtin(r->renamed->name) && unqualified_is_renamed(r);
    if (!hit)
        return 0;
    if (r->move_to != NULL)
        return qualify_names(r, &tn->names, &tn->n_names);
    if (!set_string(&tn->names[n - 1]->string->sval, r->new_name))
        return r->nomem = true;
    r->changed = true;
    return 0;
}

/* schema.table.column references follow a renamed schema. */
static int
rename_colref(rw *r, ddl_walk *w, PgQuery__ColumnRef *cr)
{
    if (r->move_to != NULL && ddl__walk_in_query(w) && cr->n_fields >= 3 &&
        r->schema_name != NULL) {
        /* schema.table.column of a moved relation */
        PgQuery__Node *sf = cr->fields[cr->n_fields - 3], *tf = cr->fields[cr->n_fields - 2];
        if (ddl__str(sf) == NULL || ddl__str(tf) == NULL ||
            strcmp(ddl__str(sf), r->schema_name) != 0 ||
            strcmp(ddl__str(tf), r->renamed->name) != 0)
            return 0;
        if (!set_string(&sf->string->sval, r->move_to))
            return r->nomem = true;
        r->changed = true;
        return 0;
    }
    if (r->renamed->kind != CAT_KIND_SCHEMA || !ddl__walk_in_query(w) || cr->n_fields < 3)
        return 0;
    PgQuery__Node *f = cr->fields[cr->n_fields - 3];
    if (ddl__str(f) == NULL || strcmp(ddl__str(f), r->renamed->name) != 0)
        return 0;
    if (!set_string(&f->string->sval, r->new_name))
        return r->nomem = true;
    r->changed = true;
    return 0;
}

static int
visit(void *arg, ddl_walk *w, ProtobufCMessage *node)
{
    rw *r = arg;
    if (node->descriptor == &pg_query__range_var__descriptor)
        return rename_rv(r, w, (PgQuery__RangeVar *)node);
    if (node->descriptor == &pg_query__type_name__descriptor)
        return rename_type(r, (PgQuery__TypeName *)node);
    return rename_colref(r, w, (PgQuery__ColumnRef *)node);
}

/* The statement's own name: renamed when the target is the renamed object. */
static bool
rename_own(rw *r, PgQuery__Node *stmt)
{
    bool self = r->target->ref == r->renamed->ref;
    switch (stmt->node_case) {
    case PG_QUERY__NODE__NODE_CREATE_STMT:
        r->own = stmt->create_stmt->relation;
        break;
    case PG_QUERY__NODE__NODE_VIEW_STMT:
        r->own = stmt->view_stmt->view;
        break;
    case PG_QUERY__NODE__NODE_CREATE_TABLE_AS_STMT:
        r->own = stmt->create_table_as_stmt->into ? stmt->create_table_as_stmt->into->rel : NULL;
        break;
    case PG_QUERY__NODE__NODE_INDEX_STMT:
        if (self) {
            if (!set_string(&stmt->index_stmt->idxname, r->new_name))
                return false;
            r->changed = true;
        }
        return true;
    case PG_QUERY__NODE__NODE_CREATE_ENUM_STMT: {
        PgQuery__CreateEnumStmt *e = stmt->create_enum_stmt;
        if (self && r->move_to != NULL)
            return qualify_names(r, &e->type_name, &e->n_type_name) == 0;
        if (self && e->n_type_name > 0 && ddl__str(e->type_name[e->n_type_name - 1]) != NULL) {
            if (!set_string(&e->type_name[e->n_type_name - 1]->string->sval, r->new_name))
                return false;
            r->changed = true;
        }
        if (r->renamed->kind == CAT_KIND_SCHEMA && e->n_type_name >= 2 &&
            ddl__str(e->type_name[e->n_type_name - 2]) != NULL &&
            strcmp(ddl__str(e->type_name[e->n_type_name - 2]), r->renamed->name) == 0) {
            if (!set_string(&e->type_name[e->n_type_name - 2]->string->sval, r->new_name))
                return false;
            r->changed = true;
        }
        return true;
    }
    default:
        return true;
    }
    if (self && r->own != NULL) {
        PgQuery__RangeVar *own = (PgQuery__RangeVar *)r->own;
        if (!set_string(r->move_to != NULL ? &own->schemaname : &own->relname,
                        r->move_to != NULL ? r->move_to : r->new_name))
            return false;
        r->changed = true;
    }
    return true;
}

cc_code
ddl__rewrite(void *arg, const cat_state *s, const cat_object *target, const char *sql,
             const cat_object *renamed, const char *new_name, char **out, cc_err *err)
{
    (void)arg;
    *out = NULL;
    if (renamed->kind == CAT_KIND_ROLE || renamed->kind == CAT_KIND_CLUSTER)
        return CC_OK;
    PgQuery__ParseResult *tree;
    cc_code rc = ddl__parse_stored(sql, target->name, &tree, err);
    if (rc != CC_OK)
        return rc;
    rw r = {.s = s, .target = target, .renamed = renamed, .new_name = new_name};
    if (cat_ref_class(renamed->ref) == CAT_CLASS_ITEM) {
        const cat_object *sc = cat_state_find(s, renamed->parent);
        r.schema_name = sc != NULL ? sc->name : NULL;
        /* A move: the item is already in its new schema in s. */
        const cat_object *now = cat_state_find(s, renamed->ref);
        const cat_object *to = now != NULL && now->parent != renamed->parent
                                   ? cat_state_find(s, now->parent)
                                   : NULL;
        r.move_to = to != NULL ? to->name : NULL;
    }
    PgQuery__Node *stmt = tree->stmts[0]->stmt;
    bool ok = rename_own(&r, stmt);
    if (ok && ddl__walk(&stmt->base, visit, &r) != 0)
        ok = false;
    if (!ok || r.nomem)
        rc = cc_err_set(err, CC_NOMEM, "out of memory rewriting \"%s\"", target->name);
    else if (r.changed)
        rc = ddl__deparse(stmt, out, err);
    ddl__parse_free(tree);
    return rc;
}
