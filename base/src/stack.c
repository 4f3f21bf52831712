/*
 * base/src/stack.c — the calling thread's remaining stack (base/stack.h).
 *
 * The lowest usable address of the thread's stack comes from
 * pthread_getattr_np (for the main thread glibc derives it from
 * RLIMIT_STACK), plus the guard size, and is cached in a thread-local
 * variable; the current frame's address is that of a local variable.
 */
#include <pthread.h>
#include <stdint.h>

#include "base/stack.h"

static _Thread_local uintptr_t stack_low; /* 0: not looked up yet; 1: unknown */

static uintptr_t
lookup_low(void)
{
    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) != 0)
        return 1;
    void *addr = NULL;
    size_t size = 0, guard = 0;
    int rc = pthread_attr_getstack(&attr, &addr, &size);
    pthread_attr_getguardsize(&attr, &guard);
    pthread_attr_destroy(&attr);
    if (rc != 0 || addr == NULL)
        return 1;
    return (uintptr_t)addr + guard;
}

size_t
cc_stack_left(void)
{
    if (stack_low == 0)
        stack_low = lookup_low();
    volatile char here = 0;
    uintptr_t sp = (uintptr_t)&here;
    if (stack_low == 1 || sp <= stack_low)
        return stack_low == 1 ? SIZE_MAX / 2 : 0;
    return (size_t)(sp - stack_low);
}
