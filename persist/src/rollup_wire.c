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
 * The field walking is base/wire.h's; this file applies the protobuf rules
 * (fields in any order, unknown fields skipped, the last occurrence of a
 * scalar wins, absent fields are zero) to RollupShard and Update. Anything
 * protobuf-c would refuse is refused as CORRUPT.
 */
#include <string.h>

#include "base/alloc.h"
#include "base/wire.h"
#include "persist_int.h"

/* One Update message: key = 1, value = 2, ts = 3, diff = 4 (sint64). */
static bool
update(pmap_bytes msg, persist_update *u)
{
    cc_wire c = cc_wire_of(msg.ptr, msg.len);
    *u = (persist_update){{NULL, 0}, {NULL, 0}, 0, 0};
    while (c.p < c.end) {
        uint64_t num, val = 0;
        int wt;
        const uint8_t *b = NULL;
        if (!cc_wire_field(&c, &num, &wt, &val, &b))
            return false;
        if (num == 1 && wt == CC_WIRE_LEN)
            u->key = (pmap_bytes){b, (size_t)val};
        else if (num == 2 && wt == CC_WIRE_LEN)
            u->value = (pmap_bytes){b, (size_t)val};
        else if (num == 3 && wt == CC_WIRE_VARINT)
            u->ts = val;
        else if (num == 4 && wt == CC_WIRE_VARINT)
            u->diff = cc_wire_zigzag(val);
        else if (num >= 1 && num <= 4)
            return false; /* a known field with the wrong wire type */
    }
    return true;
}

/* Walks the RollupShard fields; fill: store updates (else only count them). */
static bool
walk(const uint8_t *p, size_t n, persist__rollup_shard *rs, bool fill)
{
    cc_wire c = cc_wire_of(p, n);
    size_t nt = 0, nh = 0;
    while (c.p < c.end) {
        uint64_t num, val = 0;
        int wt;
        const uint8_t *bp = NULL;
        if (!cc_wire_field(&c, &num, &wt, &val, &bp))
            return false;
        pmap_bytes b = {bp, (size_t)val};
        switch (num) {
        case 1: /* shard */
            if (wt != CC_WIRE_LEN)
                return false;
            rs->shard = b;
            break;
        case 5: /* trace */
        case 6: /* history */
            if (wt != CC_WIRE_LEN)
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
            if (wt != CC_WIRE_VARINT)
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
