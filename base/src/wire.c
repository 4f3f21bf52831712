/*
 * base/src/wire.c — the protobuf wire-format reader (base/wire.h).
 */
#include "base/wire.h"

bool
cc_wire_varint(cc_wire *w, uint64_t *v)
{
    uint64_t x = 0;
    for (int shift = 0; shift < 70 && w->p < w->end; shift += 7) {
        uint8_t b = *w->p++;
        x |= (uint64_t)(b & 0x7f) << shift;
        if ((b & 0x80) == 0) {
            *v = x;
            return true;
        }
    }
    return false;
}

bool
cc_wire_field(cc_wire *w, uint64_t *num, int *wt, uint64_t *val, const uint8_t **bytes)
{
    uint64_t tag;
    if (!cc_wire_varint(w, &tag))
        return false;
    *num = tag >> 3;
    *wt = (int)(tag & 7);
    switch (*wt) {
    case CC_WIRE_VARINT:
        return cc_wire_varint(w, val);
    case CC_WIRE_I64:
        if (w->end - w->p < 8)
            return false;
        w->p += 8;
        return true;
    case CC_WIRE_LEN:
        if (!cc_wire_varint(w, val) || *val > (uint64_t)(w->end - w->p))
            return false;
        *bytes = w->p;
        w->p += *val;
        return true;
    case CC_WIRE_I32:
        if (w->end - w->p < 4)
            return false;
        w->p += 4;
        return true;
    default:
        return false;
    }
}

bool
cc_wire_scan_varint(const void *msg, size_t n, uint64_t field, uint64_t *out)
{
    cc_wire w = cc_wire_of(msg, n);
    uint64_t found = 0; /* proto3: an absent field is 0; the last occurrence wins */
    while (w.p < w.end) {
        uint64_t num, val = 0;
        int wt;
        const uint8_t *b;
        if (!cc_wire_field(&w, &num, &wt, &val, &b))
            return false;
        if (num == field && wt == CC_WIRE_VARINT)
            found = val;
    }
    *out = found;
    return true;
}
