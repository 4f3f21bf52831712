/*
 * durable/src/audit.c — reading the audit log.
 *
 * The audit log is append-only and never loaded into the cached Snapshot
 * (durable.h): its entries live only in the catalog shard, under persist keys
 * [DUR_AUDIT_LOG][encoded AuditLogKey]. A walk takes an O(1) view of the
 * shard's consolidated trace (persist_shard_trace: a pmap clone made under the
 * shard's lock, an independent line a concurrent writer cannot change), scans
 * the audit range of it, sorts the entries by event id (the key is a varint,
 * whose byte order is not numeric order) and hands them out decoded.
 *
 *   trace key = [0x0e][AuditLogKey bytes, 0x00 escaped as 0x00 0xff][0x00 0x00][AuditLogValue]
 *
 * Costs: O(log n + k log k) for k events; O(k) memory for the sort.
 */
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "internal.h"

/* One audit entry of the view: its id and its encoded value (borrowed from the view). */
typedef struct audit_ent {
    uint64_t id;
    pmap_bytes value;
} audit_ent;

static int
ent_cmp(const void *a, const void *b)
{
    const audit_ent *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Collects the audit entries of view into *out (sorted by id). Errors: CORRUPT, NOMEM. */
static cc_code
collect(const pmap_omap *view, audit_ent **out, size_t *n, cc_err *err)
{
    audit_ent *v = NULL;
    size_t cnt = 0, cap = 0;
    cc_code rc = CC_OK;
    uint8_t tag = DUR_AUDIT_LOG;
    pmap_omap_cursor cur;
    for (bool have = pmap_omap_seek(&cur, view, &tag, 1); have && rc == CC_OK;
         have = pmap_omap_cursor_next(&cur)) {
        pmap_bytes enc;
        void *diff;
        pmap_omap_cursor_get(&cur, &enc, &diff);
        if (enc.len < 1 || ((const uint8_t *)enc.ptr)[0] != DUR_AUDIT_LOG)
            break;
        /* The key is unescaped into a buffer as long as the whole entry,
         * whose value (object names, ALTER SYSTEM text) has no bound. */
        uint8_t small[256];
        uint8_t *kbuf = enc.len <= sizeof small ? small : cc_malloc(enc.len);
        if (kbuf == NULL) {
            rc = cc_err_set(err, CC_NOMEM, "out of memory reading the audit log");
            break;
        }
        pmap_bytes key, value;
        ProtobufCMessage *m = NULL;
        if (!persist_trace_decode_copy(enc, kbuf, &key, &value) || (intptr_t)diff != 1 ||
            key.len < 1)
            rc = cc_err_set(err, CC_CORRUPT, "malformed audit log entry in the catalog shard");
        else
            rc = dur_decode(DUR_AUDIT_LOG, DUR_PART_KEY,
                            (pmap_bytes){(const uint8_t *)key.ptr + 1, key.len - 1}, &m, err);
        if (kbuf != small)
            cc_free(kbuf);
        if (rc != CC_OK)
            break;
        uint64_t id = ((Cowcat__Catalog__AuditLogKey *)m)->event_id;
        protobuf_c_message_free_unpacked(m, NULL);
        if (cnt == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            audit_ent *nv = cc_realloc(v, ncap * sizeof *nv);
            if (nv == NULL) {
                rc = cc_err_set(err, CC_NOMEM, "out of memory reading the audit log");
                break;
            }
            v = nv;
            cap = ncap;
        }
        v[cnt++] = (audit_ent){id, value};
    }
    if (rc != CC_OK) {
        cc_free(v);
        return rc;
    }
    if (cnt > 1)
        qsort(v, cnt, sizeof *v, ent_cmp);
    *out = v;
    *n = cnt;
    return CC_OK;
}

cc_code
dur_audit_walk(dur_catalog *cat, dur_audit_fn fn, void *arg, cc_err *err)
{
    if (cat == NULL || fn == NULL)
        return cc_err_set(err, CC_INVALID, "dur_audit_walk: no catalog or callback");
    pmap_omap view;
    persist_shard_trace(cat->shard, &view, NULL);
    audit_ent *v = NULL;
    size_t n = 0;
    cc_code rc = collect(&view, &v, &n, err);
    for (size_t i = 0; i < n && rc == CC_OK; i++) {
        ProtobufCMessage *m;
        if ((rc = dur_decode(DUR_AUDIT_LOG, DUR_PART_VALUE, v[i].value, &m, err)) != CC_OK)
            break;
        int stop = fn(arg, v[i].id, (const Cowcat__Catalog__AuditLogValue *)m);
        protobuf_c_message_free_unpacked(m, NULL);
        if (stop)
            break;
    }
    cc_free(v);
    persist_trace_release(cat->client, &view);
    return rc;
}
