/*
 * base/assert.h — the assert family.
 *
 *   CC_ASSERT(cond)       a proven invariant. Checked only in debug and sanitizer
 *                         builds (CC_DEBUG); compiled out otherwise. Never put a
 *                         side effect in cond.
 *   CC_VERIFY(cond)       an invariant whose violation would corrupt data if we
 *                         went on; checked in every build, aborts with a message.
 *                         Use it only where no recovery is possible; defensive
 *                         checks with a way out return an error instead.
 *   CC_UNREACHABLE()      a branch that cannot be taken.
 *   CC_STATIC_ASSERT(c,m) a compile-time check.
 *   CC_LIKELY/UNLIKELY    branch hints.
 */
#ifndef COWCAT_BASE_ASSERT_H
#define COWCAT_BASE_ASSERT_H

#include <stdnoreturn.h>

/* Prints "file:line: what" to stderr and aborts. */
noreturn void cc_panic_at(const char *file, int line, const char *what);

#define CC_LIKELY(x)   __builtin_expect(!!(x), 1)
#define CC_UNLIKELY(x) __builtin_expect(!!(x), 0)

#define CC_VERIFY(cond)                                                                            \
    do {                                                                                           \
        if (CC_UNLIKELY(!(cond)))                                                                  \
            cc_panic_at(__FILE__, __LINE__, "invariant violated: " #cond);                         \
    } while (0)

#ifdef CC_DEBUG
#define CC_ASSERT(cond) CC_VERIFY(cond)
#else
#define CC_ASSERT(cond) ((void)sizeof(!(cond)))
#endif

#define CC_UNREACHABLE() cc_panic_at(__FILE__, __LINE__, "unreachable code reached")

#define CC_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)

#endif
