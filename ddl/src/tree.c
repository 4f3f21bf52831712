/*
 * ddl/src/tree.c — small edits of parse trees unpacked by ddl__parse.
 *
 * Such a tree belongs to protobuf-c's default allocator (malloc / free):
 * every string, node and array put into it must be malloc memory, since
 * pg_query__parse_result__free_unpacked frees them (strings equal to
 * protobuf_c_empty_string excepted). cc_malloc's memory is (base/alloc.h),
 * so the edits allocate through the hook and fault tests reach them.
 */
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "internal.h"

bool
ddl__tree_set_string(char **slot, const char *s)
{
    char *d = cc_strdup(s);
    if (d == NULL)
        return false;
    if (*slot != NULL && *slot != protobuf_c_empty_string)
        cc_free(*slot);
    *slot = d;
    return true;
}

PgQuery__Node *
ddl__tree_string(const char *s)
{
    PgQuery__Node *n = cc_malloc(sizeof *n);
    PgQuery__String *v = cc_malloc(sizeof *v);
    char *d = cc_strdup(s);
    if (n == NULL || v == NULL || d == NULL) {
        cc_free(n);
        cc_free(v);
        cc_free(d);
        return NULL;
    }
    pg_query__node__init(n);
    pg_query__string__init(v);
    v->sval = d;
    n->node_case = PG_QUERY__NODE__NODE_STRING;
    n->string = v;
    return n;
}

bool
ddl__tree_insert(PgQuery__Node ***v, size_t *n, size_t at, PgQuery__Node *item)
{
    PgQuery__Node **nv = cc_realloc(*v, (*n + 1) * sizeof *nv);
    if (nv == NULL)
        return false;
    memmove(nv + at + 1, nv + at, (*n - at) * sizeof *nv);
    nv[at] = item;
    *v = nv;
    (*n)++;
    return true;
}

void
ddl__tree_remove(PgQuery__Node **v, size_t *n, size_t at)
{
    pg_query__node__free_unpacked(v[at], NULL);
    memmove(v + at, v + at + 1, (*n - at - 1) * sizeof *v);
    (*n)--;
}

PgQuery__Node *
ddl__tree_copy(const PgQuery__Node *n)
{
    size_t len = pg_query__node__get_packed_size(n);
    uint8_t *buf = cc_malloc(len ? len : 1);
    if (buf == NULL)
        return NULL;
    pg_query__node__pack(n, buf);
    bool oom = false;
    ProtobufCAllocator a = {cc_protobuf_alloc, cc_protobuf_free, &oom};
    PgQuery__Node *copy = pg_query__node__unpack(&a, len, buf);
    cc_free(buf);
    return copy;
}

PgQuery__Node *
ddl__tree_column_ref(const char *qualifier, const char *name)
{
    PgQuery__Node *n = cc_malloc(sizeof *n);
    PgQuery__ColumnRef *cr = cc_malloc(sizeof *cr);
    if (n == NULL || cr == NULL) {
        cc_free(n);
        cc_free(cr);
        return NULL;
    }
    pg_query__node__init(n);
    pg_query__column_ref__init(cr);
    cr->location = -1;
    n->node_case = PG_QUERY__NODE__NODE_COLUMN_REF;
    n->column_ref = cr;
    PgQuery__Node *q = qualifier != NULL ? ddl__tree_string(qualifier) : NULL;
    PgQuery__Node *f = ddl__tree_string(name);
    if ((qualifier != NULL && q == NULL) || f == NULL ||
        (q != NULL && !ddl__tree_insert(&cr->fields, &cr->n_fields, 0, q)) ||
        !ddl__tree_insert(&cr->fields, &cr->n_fields, cr->n_fields, f)) {
        if (q != NULL && (cr->n_fields == 0 || cr->fields[0] != q))
            pg_query__node__free_unpacked(q, NULL);
        if (f != NULL && (cr->n_fields == 0 || cr->fields[cr->n_fields - 1] != f))
            pg_query__node__free_unpacked(f, NULL);
        pg_query__node__free_unpacked(n, NULL);
        return NULL;
    }
    return n;
}

bool
ddl__refs_push(ddl_refs *r, cat_ref ref)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 8;
        cat_ref *v = cc_realloc(r->v, cap * sizeof *v);
        if (v == NULL) {
            r->nomem = true;
            return false;
        }
        r->v = v;
        r->cap = cap;
    }
    r->v[r->n++] = ref;
    return true;
}
