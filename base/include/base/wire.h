/*
 * base/wire.h — reading the protobuf wire format in place, without decoding
 * a message: for the hot paths that need one or two scalar fields of an
 * encoded value (durable/: OIDs, id allocators) or views of many small
 * sub-messages (persist/: a rollup's updates), where protobuf-c would
 * allocate and copy per message.
 *
 * A reader refuses what protobuf-c refuses at the wire level: a truncated
 * varint or field, a length past the end, a wire type that does not exist.
 * Field order, repetition and unknown fields are the caller's business (the
 * protobuf rules: any order, last scalar wins, unknown fields skipped).
 */
#ifndef COWCAT_BASE_WIRE_H
#define COWCAT_BASE_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { CC_WIRE_VARINT = 0, CC_WIRE_I64 = 1, CC_WIRE_LEN = 2, CC_WIRE_I32 = 5 };

/* A position in an encoded message: [p, end). */
typedef struct cc_wire {
    const uint8_t *p;
    const uint8_t *end;
} cc_wire;

static inline cc_wire
cc_wire_of(const void *p, size_t n)
{
    return (cc_wire){(const uint8_t *)p, (const uint8_t *)p + n};
}

/* Reads a varint (at most 10 bytes). False if truncated or too long. */
bool cc_wire_varint(cc_wire *w, uint64_t *v);

/*
 * Reads the next field: its number and wire type; *val gets a VARINT's
 * value or a LEN field's length, and *bytes (LEN only) the payload, a view
 * into the message. I64/I32 payloads are skipped. False if malformed.
 */
bool cc_wire_field(cc_wire *w, uint64_t *num, int *wt, uint64_t *val, const uint8_t **bytes);

/*
 * The value of varint field `field` of a whole message (0 if absent, the
 * last occurrence if repeated). False if the message is malformed.
 */
bool cc_wire_scan_varint(const void *msg, size_t n, uint64_t field, uint64_t *out);

/* Decodes a zigzag-encoded sint64. */
static inline int64_t
cc_wire_zigzag(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

#endif
