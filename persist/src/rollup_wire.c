/*
 * persist/src/rollup_wire.c — reading a rollup's RollupShard records
 * (proto/persist.proto) straight off the protobuf wire format.
 *
 * A rollup of a large shard holds millions of Update messages; decoding them
 * with protobuf-c allocates one struct per update and copies its bytes, and
 * that was half of reopening a 1M-object catalog. This reader walks the
 * message once to count and validate, allocates the two update arrays, and
 * walks it again filling persist_update views that point into the record:
 * two allocations per record, no copies. The record's bytes must outlive the
 * view (they do: replay holds the whole rollup in memory).
 *
 * Wire format rules followed: fields in any order, unknown fields skipped,
 * the last occurrence of a scalar wins, absent fields are zero; sint64 is
 * zigzag-encoded. Anything protobuf-c would refuse (truncation, a length
 * past the end, a wire type that does not exist) is refused as CORRUPT.
 */
#include <string.h>

#include "base/alloc.h"
#include "persist_int.h"

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };

typedef struct cursor {
    const uint8_t *p, *end;
} cursor;

static bool
varint(cursor *c, uint64_t *v)
{
    uint64_t x = 0;
    for (int shift = 0; shift < 70 && c->p < c->end; shift += 7) {
        uint8_t b = *c->p++;
        x |= (uint64_t)(b & 0x7f) << shift;
        if ((b & 0x80) == 0) {
            *v = x;
            return true;
        }
    }
    return false;
}

/* Reads one field header and, for LEN fields, the payload view. */
static bool
field(cursor *c, uint64_t *num, int *wt, uint64_t *val, pmap_bytes *bytes)
{
    uint64_t tag;
    if (!varint(c, &tag))
        return false;
    *num = tag >> 3;
    *wt = (int)(tag & 7);
    switch (*wt) {
    case WT_VARINT:
        return varint(c, val);
    case WT_I64:
        if (c->end - c->p < 8)
            return false;
        c->p += 8;
        return true;
    case WT_LEN:
        if (!varint(c, val) || *val > (uint64_t)(c->end - c->p))
            return false;
        *bytes = (pmap_bytes){c->p, (size_t)*val};
        c->p += *val;
        return true;
    case WT_I32:
        if (c->end - c->p < 4)
            return false;
        c->p += 4;
        return true;
    default:
        return false;
    }
}

/* One Update message: key = 1, value = 2, ts = 3, diff = 4 (sint64). */
static bool
update(pmap_bytes msg, persist_update *u)
{
    cursor c = {msg.ptr, (const uint8_t *)msg.ptr + msg.len};
    *u = (persist_update){{NULL, 0}, {NULL, 0}, 0, 0};
    while (c.p < c.end) {
        uint64_t num, val = 0;
        int wt;
        pmap_bytes b = {NULL, 0};
        if (!field(&c, &num, &wt, &val, &b))
            return false;
        if (num == 1 && wt == WT_LEN)
            u->key = b;
        else if (num == 2 && wt == WT_LEN)
            u->value = b;
        else if (num == 3 && wt == WT_VARINT)
            u->ts = val;
        else if (num == 4 && wt == WT_VARINT)
            u->diff = (int64_t)(val >> 1) ^ -(int64_t)(val & 1);
        else if (num >= 1 && num <= 4)
            return false; /* a known field with the wrong wire type */
    }
    return true;
}

/* Walks the RollupShard fields; fill: store updates (else only count them). */
static bool
walk(const uint8_t *p, size_t n, persist__rollup_shard *rs, bool fill)
{
    cursor c = {p, p + n};
    size_t nt = 0, nh = 0;
    while (c.p < c.end) {
        uint64_t num, val = 0;
        int wt;
        pmap_bytes b = {NULL, 0};
        if (!field(&c, &num, &wt, &val, &b))
            return false;
        switch (num) {
        case 1: /* shard */
            if (wt != WT_LEN)
                return false;
            rs->shard = b;
            break;
        case 5: /* trace */
        case 6: /* history */
            if (wt != WT_LEN)
                return false;
            if (fill && !update(b, num == 5 ? &rs->trace[nt] : &rs->history[nh]))
                return false;
            if (num == 5)
                nt++;
            else
                nh++;
            break;
        case 2:
        case 3:
        case 4:
        case 7:
        case 8:
            if (wt != WT_VARINT)
                return false;
            if (num == 2)
                rs->first = val != 0;
            else if (num == 3)
                rs->upper = val;
            else if (num == 4)
                rs->since = val;
            else if (num == 7)
                rs->append = val != 0;
            else
                rs->lower = val;
            break;
        default:
            break; /* unknown field: skipped */
        }
    }
    rs->ntrace = nt;
    rs->nhistory = nh;
    return true;
}

cc_code
persist__rollup_shard_parse(const uint8_t *p, size_t n, persist__rollup_shard *rs, cc_err *err)
{
    memset(rs, 0, sizeof *rs);
    if (!walk(p, n, rs, false))
        return cc_err_set(err, CC_CORRUPT, "undecodable rollup shard record");
    size_t nt = rs->ntrace, nh = rs->nhistory;
    rs->trace = nt > 0 ? cc_malloc(nt * sizeof *rs->trace) : NULL;
    rs->history = nh > 0 ? cc_malloc(nh * sizeof *rs->history) : NULL;
    if ((nt > 0 && rs->trace == NULL) || (nh > 0 && rs->history == NULL)) {
        persist__rollup_shard_fini(rs);
        return cc_err_set(err, CC_NOMEM, "out of memory reading a rollup");
    }
    if (!walk(p, n, rs, true)) {
        persist__rollup_shard_fini(rs);
        return cc_err_set(err, CC_CORRUPT, "undecodable update in a rollup shard record");
    }
    return CC_OK;
}

void
persist__rollup_shard_fini(persist__rollup_shard *rs)
{
    cc_free(rs->trace);
    cc_free(rs->history);
    rs->trace = rs->history = NULL;
    rs->ntrace = rs->nhistory = 0;
}
