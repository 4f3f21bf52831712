/*
 * base/alloc.h — the allocation hook every cowcat module allocates through.
 *
 * cc_malloc/cc_calloc/cc_realloc/cc_free wrap the C allocator. Tests arm a
 * failure with cc_alloc_fail_at(n): the n-th allocation call from then on
 * (counting across all threads, 1 = the next one) returns NULL, once, and
 * every call after it succeeds again. This is how fault tests walk N = 1, 2, ...
 * through an operation until it succeeds. When disarmed the hook costs one
 * relaxed load per call.
 *
 * Memory from these functions is released with cc_free. It is the C
 * allocator's own (cc_free is free), so it may also go into structures that
 * other code frees with free(): parse trees and messages that protobuf-c's
 * default allocator frees (free_unpacked(m, NULL)).
 */
#ifndef COWCAT_BASE_ALLOC_H
#define COWCAT_BASE_ALLOC_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"

/* Internal state of the hook; read through the inline wrappers only. */
extern int cc__alloc_armed;
void *cc__alloc_hooked(size_t n, size_t size, void *old, int kind);

enum { CC__ALLOC_MALLOC, CC__ALLOC_CALLOC, CC__ALLOC_REALLOC };

/*
 * Arms the hook: the n-th allocation from now fails (n >= 1); n == 0 disarms.
 * Also resets the call counter reported by cc_alloc_calls().
 */
void cc_alloc_fail_at(uint64_t n);

/* Allocation calls counted since the last cc_alloc_fail_at (armed or not). */
uint64_t cc_alloc_calls(void);

/* Whether the armed failure has fired since the last cc_alloc_fail_at. */
int cc_alloc_failed(void);

/* Starts counting calls without arming a failure (cc_alloc_calls then works). */
void cc_alloc_count_start(void);

static inline void *
cc_malloc(size_t size)
{
    if (CC_UNLIKELY(__atomic_load_n(&cc__alloc_armed, __ATOMIC_RELAXED)))
        return cc__alloc_hooked(1, size, NULL, CC__ALLOC_MALLOC);
    return malloc(size);
}

static inline void *
cc_calloc(size_t n, size_t size)
{
    if (CC_UNLIKELY(__atomic_load_n(&cc__alloc_armed, __ATOMIC_RELAXED)))
        return cc__alloc_hooked(n, size, NULL, CC__ALLOC_CALLOC);
    return calloc(n, size);
}

/* As realloc: on failure returns NULL and old stays valid. */
static inline void *
cc_realloc(void *old, size_t size)
{
    if (CC_UNLIKELY(__atomic_load_n(&cc__alloc_armed, __ATOMIC_RELAXED)))
        return cc__alloc_hooked(1, size, old, CC__ALLOC_REALLOC);
    return realloc(old, size);
}

static inline void
cc_free(void *p)
{
    free(p);
}

/*
 * Allocation callbacks in the shape of protobuf-c's ProtobufCAllocator
 * (alloc, free), so that decoding goes through the hook and can tell running
 * out of memory from malformed input: allocator_data points at a bool that
 * cc_protobuf_alloc sets when an allocation fails. What they decode may be
 * freed with protobuf-c's default allocator (see above).
 */
void *cc_protobuf_alloc(void *oom, size_t size);
void cc_protobuf_free(void *oom, void *p);

/* A cc_malloc'd copy of the NUL-terminated s (NULL if out of memory). */
static inline char *
cc_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = cc_malloc(n);
    if (d != NULL)
        memcpy(d, s, n);
    return d;
}

#endif
