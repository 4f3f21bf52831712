/*
 * tools/fuzz/fuzz_dump.c — libFuzzer target for the dump reader
 * (tools_dump_parse). The first input byte picks a mode:
 *
 *   even  the rest is a whole dump file, as read from disk: exercises the
 *         header, versions, lengths and checksums;
 *   odd   the rest is a dump BODY: a header is made for it (right length,
 *         checksums, an entry count that lets every entry be read; bit 1:
 *         audit log allowed) so the fuzzer gets past the checksums and into
 *         the entry checks (framing, keys, order, allocators).
 *
 * The reader must reject or accept without crashing, leaking or reading out
 * of bounds; an accepted dump must have as many entries as it claims.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "base/alloc.h"
#include "tools/tools.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Header + body for a body-only input (a new buffer, or NULL). */
static uint8_t *
with_header(const uint8_t *body, size_t n, int audit, size_t *len)
{
    XXH128_canonical_t sum;
    XXH128_canonicalFromHash(&sum, XXH3_128bits(body, n));
    Cowcat__Dump__DumpHeader h = COWCAT__DUMP__DUMP_HEADER__INIT;
    h.magic = TOOLS_DUMP_MAGIC;
    h.format_version = TOOLS_DUMP_FORMAT_VERSION;
    h.cowcat_version = (char *)tools_version();
    h.catalog_format_version = DUR_FORMAT_VERSION;
    h.upper = 1;
    h.entries = n / 6;
    h.body_bytes = n;
    h.body_xxh3_128.data = sum.digest;
    h.body_xxh3_128.len = sizeof sum.digest;
    h.audit_log = audit;
    uint8_t *hdr;
    size_t hlen;
    if (tools_dump_header_pack(&h, &hdr, &hlen, NULL) != CC_OK)
        return NULL;
    uint8_t *buf = cc_malloc(hlen + n + 1);
    if (buf != NULL) {
        memcpy(buf, hdr, hlen);
        if (n > 0)
            memcpy(buf + hlen, body, n);
        *len = hlen + n;
    }
    cc_free(hdr);
    return buf;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t mode = data[0];
    uint8_t *buf = NULL;
    size_t len = size - 1;
    const uint8_t *in = data + 1;
    if (mode & 1) {
        buf = with_header(data + 1, size - 1, (mode >> 1) & 1, &len);
        if (buf == NULL)
            return 0;
        in = buf;
    }
    tools_dump *d;
    cc_err err;
    if (tools_dump_parse(in, len, &d, &err) == CC_OK) {
        if (d->n != d->header->entries)
            abort(); /* accepted, but not what it claims */
        tools_dump_free(d);
    } else if (err.msg[0] == '\0') {
        abort(); /* rejected without a message */
    }
    cc_free(buf);
    return 0;
}
