/*
 * base/panic.c — the one way cowcat stops on a broken invariant.
 */
#include <stdio.h>
#include <stdlib.h>

#include "base/assert.h"

void
cc_panic_at(const char *file, int line, const char *what)
{
    fprintf(stderr, "cowcat: %s:%d: %s\n", file, line, what);
    fflush(stderr);
    abort();
}
