/*
 * tests/base/test_alloc.c — the failure-injecting allocation hook.
 */
#include <criterion/criterion.h>

#include "base/alloc.h"

Test(cc_alloc, nth_call_fails_once_then_allocation_recovers)
{
    cc_alloc_fail_at(3);
    void *a = cc_malloc(16);
    void *b = cc_calloc(2, 8);
    void *c = cc_malloc(16);
    void *d = cc_malloc(16);
    cr_assert_not_null(a);
    cr_assert_not_null(b);
    cr_assert_null(c, "the third call must fail");
    cr_assert_not_null(d, "only one call fails");
    cr_assert(cc_alloc_failed());
    cr_assert_eq(cc_alloc_calls(), 4);
    cc_alloc_fail_at(0);
    cc_free(a);
    cc_free(b);
    cc_free(d);
}

Test(cc_alloc, failed_realloc_keeps_the_old_block)
{
    char *p = cc_malloc(8);
    cr_assert_not_null(p);
    p[0] = 'k';
    cc_alloc_fail_at(1);
    char *q = cc_realloc(p, 4096);
    cr_assert_null(q);
    cr_assert_eq(p[0], 'k');
    cc_alloc_fail_at(0);
    cc_free(p);
}

Test(cc_alloc, counting_without_failure_counts_every_call)
{
    cc_alloc_count_start();
    for (int i = 0; i < 5; i++)
        cc_free(cc_malloc(8));
    cr_assert_eq(cc_alloc_calls(), 5);
    cr_assert_not(cc_alloc_failed());
    cc_alloc_fail_at(0);
}
