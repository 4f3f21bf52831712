/*
 * base/alloc.c — the failure-injecting slow path of the allocation hook.
 *
 * State is process-wide because allocation is: the counters are atomics so
 * that stress programs may allocate from many threads while a test has the
 * hook armed.
 */
#include "base/alloc.h"

#include <stdbool.h>

int cc__alloc_armed;
static uint64_t alloc_calls;
static uint64_t alloc_fail_at;
static int alloc_fired;

void
cc_alloc_fail_at(uint64_t n)
{
    __atomic_store_n(&alloc_calls, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&alloc_fired, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&alloc_fail_at, n, __ATOMIC_RELAXED);
    /* Pairs with the relaxed load in the inline wrappers; ordering is not needed
     * for correctness, only eventual visibility. */
    __atomic_store_n(&cc__alloc_armed, n != 0, __ATOMIC_RELEASE);
}

void
cc_alloc_count_start(void)
{
    __atomic_store_n(&alloc_calls, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&alloc_fired, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&alloc_fail_at, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&cc__alloc_armed, 1, __ATOMIC_RELEASE);
}

uint64_t
cc_alloc_calls(void)
{
    return __atomic_load_n(&alloc_calls, __ATOMIC_RELAXED);
}

int
cc_alloc_failed(void)
{
    return __atomic_load_n(&alloc_fired, __ATOMIC_RELAXED);
}

void *
cc__alloc_hooked(size_t n, size_t size, void *old, int kind)
{
    uint64_t call = __atomic_add_fetch(&alloc_calls, 1, __ATOMIC_RELAXED);
    uint64_t at = __atomic_load_n(&alloc_fail_at, __ATOMIC_RELAXED);
    if (at != 0 && call == at) {
        __atomic_store_n(&alloc_fired, 1, __ATOMIC_RELAXED);
        return NULL;
    }
    switch (kind) {
    case CC__ALLOC_CALLOC:
        return calloc(n, size);
    case CC__ALLOC_REALLOC:
        return realloc(old, size);
    default:
        return malloc(size);
    }
}

void *
cc_protobuf_alloc(void *oom, size_t size)
{
    void *p = cc_malloc(size);
    if (p == NULL)
        *(bool *)oom = true;
    return p;
}

void
cc_protobuf_free(void *oom, void *p)
{
    (void)oom;
    cc_free(p);
}
