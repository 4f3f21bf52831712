/*
 * base/stack.h — how much of the calling thread's stack is left.
 *
 * Recursive code over trees whose depth comes from user input (parse trees
 * of SQL statements) must not run off the end of the stack. cc_stack_left
 * measures the room left below the caller's frame so that such code can
 * refuse an input it cannot handle (PostgreSQL's check_stack_depth) or move
 * the work to a thread with a bigger stack.
 */
#ifndef COWCAT_BASE_STACK_H
#define COWCAT_BASE_STACK_H

#include <stddef.h>

/*
 * Bytes of stack left below the caller's frame in the calling thread, or
 * SIZE_MAX/2 when the thread's stack bounds cannot be found. The bounds are
 * looked up once per thread (pthread_getattr_np) and cached; later calls
 * cost a subtraction.
 */
size_t cc_stack_left(void);

#endif
