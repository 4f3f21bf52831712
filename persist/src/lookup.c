/*
 * persist/src/lookup.c — point lookups in a shard's consolidated trace
 * (persist_shard_lookup): for callers that keep their index in a shard
 * instead of a copy of it in memory (txn-wal's registrations).
 *
 * A trace key is enc(key, value): the key with 0x00 escaped as 0x00 0xff, a
 * 0x00 0x00 terminator, then the value (see shard.c). Every entry of one key
 * therefore starts with the same prefix and they sort by value after it, so
 * a lookup is one seek to the prefix and a comparison: O(log n).
 */
#include <pthread.h>
#include <string.h>

#include "base/alloc.h"
#include "persist_int.h"

bool
persist_shard_lookup(persist_shard *s, pmap_bytes key, void *buf, size_t cap, size_t *len,
                     int64_t *diff)
{
    const uint8_t *k = key.ptr;
    size_t n = key.len + 2;
    for (size_t i = 0; i < key.len; i++)
        n += k[i] == 0;
    uint8_t stack[256];
    uint8_t *prefix = n <= sizeof stack ? stack : cc_malloc(n);
    if (prefix == NULL)
        return false; /* out of memory: reported as absent (keys here are short) */
    size_t p = 0;
    for (size_t i = 0; i < key.len; i++) {
        prefix[p++] = k[i];
        if (k[i] == 0)
            prefix[p++] = 0xff;
    }
    prefix[p++] = 0;
    prefix[p++] = 0;
    bool found = false;
    pthread_mutex_lock(&s->lock);
    pmap_omap_cursor cur;
    if (pmap_omap_seek(&cur, &s->trace, prefix, n)) {
        pmap_bytes enc;
        void *val;
        pmap_omap_cursor_get(&cur, &enc, &val);
        if (enc.len >= n && memcmp(enc.ptr, prefix, n) == 0) {
            size_t vlen = enc.len - n;
            memcpy(buf, (const uint8_t *)enc.ptr + n, vlen < cap ? vlen : cap);
            if (len != NULL)
                *len = vlen;
            if (diff != NULL)
                *diff = (int64_t)(intptr_t)val;
            found = true;
        }
    }
    pthread_mutex_unlock(&s->lock);
    if (prefix != stack)
        cc_free(prefix);
    return found;
}
