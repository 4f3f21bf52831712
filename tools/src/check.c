/*
 * tools/src/check.c — the full consistency check of a catalog (`cowcat
 * check`, and restore before it renames anything into place) and the
 * create_sql re-parse hook.
 *
 * The checks, each reported as one finding when it fails:
 *   durable    dur_snapshot_check: every map's invariants, the OID set
 *              against a recount, the fence token
 *   catalog    cat_check: names and OIDs index exactly the objects, parents,
 *              owners, uses and ACL roles exist with the right kinds,
 *              members and used_by both ways, owner and privilege counts,
 *              comments, kind counts, limits, cached fields equal to the
 *              stored values, create_sql non-empty
 *   create_sql every item's stored statement re-parses as exactly one
 *              statement (what cat_check's parse hook does, cowcat_check's)
 *   audit log  every event in the shard decodes
 *   load       (when the data directory was opened TOOLS_OPEN_DURABLE) the
 *              catalog loads: every object value decodes (cat_open)
 *
 * Two threads: the checks only read one immutable durable version, so the
 * durable check and the re-parse — a third of the work at a million tables,
 * in chunks that either thread takes — run beside loading the catalog and
 * cat_check. cat_check therefore runs without its parse hook; the result is
 * the same set of checks. (Without the hook, cat_check of a large catalog
 * splits its own per-object pass over two threads; the parse chunks then
 * take up whatever time the other work leaves.)
 *
 *   main    [ cat_open ....... ][ cat_check ............ ][ parse chunks ]
 *   helper  [ dur_snapshot_check ][ audit log ][ parse chunks ............ ]
 *
 * The re-parse uses libpg_query's parser without building a protobuf or
 * JSON tree (pg_query_split_with_parser): PostgreSQL's grammar all the same.
 */
#include <pg_query.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/wire.h"
#include "internal.h"

#define PARSE_CHUNK 2048 /* items a thread takes at a time */

cc_code
tools_check_parse(void *arg, const char *create_sql, cc_err *err)
{
    (void)arg;
    if (create_sql == NULL || create_sql[0] == '\0')
        return cc_err_set(err, CC_PARSE, "empty statement");
    PgQuerySplitResult r = pg_query_split_with_parser(create_sql);
    cc_code rc = CC_OK;
    if (r.error != NULL)
        rc = cc_err_set(err, CC_PARSE, "%s", r.error->message);
    else if (r.n_stmts != 1)
        rc = cc_err_set(err, CC_PARSE, "%d statements where one was stored", r.n_stmts);
    pg_query_free_split_result(r);
    return rc;
}

/* One item to re-parse: views into the pinned version. */
typedef struct item_ref {
    pmap_bytes key;
    pmap_bytes value;
} item_ref;

typedef struct checker {
    pmap_domain *domain;
    const dur_snapshot *snap;
    item_ref *items;
    size_t nitems;
    atomic_size_t next; /* the next chunk's first item */

    dur_catalog *dur;
    cc_code dur_rc; /* the helper's durable check */
    cc_err dur_err;
    cc_code audit_rc; /* the helper's audit log walk */
    cc_err audit_err;

    pthread_mutex_t lock; /* guards the first parse failure */
    size_t bad_item;      /* index of the first failing item (lowest index wins) */
    cc_code parse_rc;
    cc_err parse_err;
} checker;

/* The string field `field` of an encoded message, copied NUL-terminated into *buf. */
static bool
scan_string(pmap_bytes msg, uint64_t field, char **buf, size_t *cap)
{
    cc_wire w = cc_wire_of(msg.ptr, msg.len);
    while (w.p < w.end) {
        uint64_t num, val;
        int wt;
        const uint8_t *bytes;
        if (!cc_wire_field(&w, &num, &wt, &val, &bytes))
            return false;
        if (num != field || wt != CC_WIRE_LEN)
            continue;
        if (val + 1 > *cap) {
            char *nb = cc_realloc(*buf, val + 1);
            if (nb == NULL)
                return false;
            *buf = nb;
            *cap = val + 1;
        }
        memcpy(*buf, bytes, val);
        (*buf)[val] = '\0';
        return true;
    }
    return false;
}

/* Records item i's parse failure if it is the first (by index) so far. */
static void
parse_failed(checker *c, size_t i, const char *why)
{
    pthread_mutex_lock(&c->lock);
    if (c->parse_rc == CC_OK || i < c->bad_item) {
        char id[24] = "?", name[64] = "?";
        ProtobufCMessage *k;
        if (dur_decode(DUR_ITEMS, DUR_PART_KEY, c->items[i].key, &k, NULL) == CC_OK) {
            dur_id_str(((Cowcat__Catalog__ItemKey *)k)->id, id);
            protobuf_c_message_free_unpacked(k, NULL);
        }
        char *nb = NULL;
        size_t ncap = 0;
        if (scan_string(c->items[i].value, 2, &nb, &ncap))
            snprintf(name, sizeof name, "%s", nb);
        cc_free(nb);
        c->bad_item = i;
        c->parse_rc = cc_err_set(&c->parse_err, CC_CORRUPT,
                                 "catalog check: item %s \"%s\": create_sql does not parse: %s", id,
                                 name, why);
    }
    pthread_mutex_unlock(&c->lock);
}

/* Takes chunks of items until none is left, re-parsing each create_sql. */
static void
parse_chunks(checker *c)
{
    char *sql = NULL;
    size_t cap = 0;
    for (;;) {
        size_t from = atomic_fetch_add_explicit(&c->next, PARSE_CHUNK, memory_order_relaxed);
        if (from >= c->nitems)
            break;
        size_t to = from + PARSE_CHUNK < c->nitems ? from + PARSE_CHUNK : c->nitems;
        for (size_t i = from; i < to; i++) {
            cc_err e;
            if (!scan_string(c->items[i].value, 4, &sql, &cap))
                parse_failed(c, i, "no statement stored");
            else if (tools_check_parse(NULL, sql, &e) != CC_OK)
                parse_failed(c, i, e.msg);
        }
    }
    cc_free(sql);
}

static int
audit_count(void *arg, uint64_t event_id, const Cowcat__Catalog__AuditLogValue *v)
{
    (void)event_id;
    (void)v;
    (*(uint64_t *)arg)++;
    return 0;
}

static void *
helper_main(void *arg)
{
    checker *c = arg;
    pmap_reader *r;
    cc_err_clear(&c->dur_err);
    c->dur_rc = pmap_reader_new(c->domain, &r, &c->dur_err);
    if (c->dur_rc != CC_OK)
        return NULL;
    pmap_reader_pin(r); /* another thread's version: pinned while read */
    c->dur_rc = dur_snapshot_check(c->snap, &c->dur_err);
    uint64_t events = 0;
    cc_err_clear(&c->audit_err);
    c->audit_rc = dur_audit_walk(c->dur, audit_count, &events, &c->audit_err);
    parse_chunks(c);
    pmap_reader_unpin(r);
    pmap_reader_free(r);
    return NULL;
}

/* Collects views of every item of s. Errors: NOMEM. */
static cc_code
collect_items(checker *c, cc_err *err)
{
    size_t n = dur_snapshot_count(c->snap, DUR_ITEMS);
    c->items = cc_malloc((n + 1) * sizeof *c->items);
    if (c->items == NULL)
        return cc_err_set(err, CC_NOMEM, "out of memory checking the catalog");
    dur_cursor cur;
    for (bool ok = dur_cursor_first(&cur, c->snap, DUR_ITEMS); ok && c->nitems < n;
         ok = dur_cursor_next(&cur)) {
        const dur_blob *v;
        item_ref *it = &c->items[c->nitems++];
        dur_cursor_get(&cur, &it->key, &v);
        it->value = dur_blob_bytes(v);
    }
    return CC_OK;
}

cc_code
tools_check(tools_datadir *d, tools_finding_fn fn, void *arg, size_t *nfindings, cc_err *err)
{
    *nfindings = 0;
    dur_catalog *dur = tools_datadir_durable(d);
    if (dur == NULL)
        return cc_err_set(err, CC_INVALID,
                          "tools_check: the data directory was opened without "
                          "its durable catalog");
    checker c = {.domain = dur_catalog_domain(dur), .dur = dur};
    pthread_mutex_init(&c.lock, NULL);
    pmap_reader *r;
    cc_code rc = pmap_reader_new(c.domain, &r, err);
    if (rc != CC_OK)
        goto out;
    pmap_reader_pin(r);
    c.snap = dur_snapshot_acquire(dur);
    if ((rc = collect_items(&c, err)) != CC_OK) {
        pmap_reader_unpin(r);
        pmap_reader_free(r);
        goto out;
    }
    pthread_t helper;
    bool threaded = pthread_create(&helper, NULL, helper_main, &c) == 0;
    cc_err e, load_err;
    cc_err_clear(&e);
    cc_err_clear(&load_err);
    cc_code load_rc = CC_OK, cat_rc = CC_OK;
    if (tools_datadir_catalog(d) == NULL)
        load_rc = tools__datadir_load_catalog(d, &load_err);
    if (load_rc == CC_OK)
        cat_rc = cat_check(cat_state_acquire(tools_datadir_catalog(d)), NULL, NULL, &e);
    if (threaded) {
        parse_chunks(&c);
        pthread_join(helper, NULL);
    } else {
        helper_main(&c); /* no thread: the same work, one after the other */
    }
    pmap_reader_unpin(r);
    pmap_reader_free(r);
    if (c.dur_rc == CC_NOMEM || cat_rc == CC_NOMEM || load_rc == CC_NOMEM ||
        c.audit_rc == CC_NOMEM) {
        rc = cc_err_set(err, CC_NOMEM, "out of memory checking the catalog");
        goto out;
    }
    if (load_rc != CC_OK) {
        fn(arg, "load", &load_err);
        ++*nfindings;
    }
    if (c.dur_rc != CC_OK) {
        fn(arg, "durable", &c.dur_err);
        ++*nfindings;
    }
    if (cat_rc != CC_OK) {
        fn(arg, "catalog", &e);
        ++*nfindings;
    }
    if (c.parse_rc != CC_OK) {
        fn(arg, "create_sql", &c.parse_err);
        ++*nfindings;
    }
    if (c.audit_rc != CC_OK) {
        fn(arg, "audit log", &c.audit_err);
        ++*nfindings;
    }
out:
    cc_free(c.items);
    pthread_mutex_destroy(&c.lock);
    return rc;
}
