/*
 * tests/base/test_hash.c — seeded hashing.
 */
#include <criterion/criterion.h>

#include "base/hash.h"

Test(cc_hash, u64_hash_is_a_bijection_on_a_sample)
{
    /* fmix64 is invertible; distinct inputs in a dense range stay distinct. */
    enum { N = 1 << 16 };
    static uint64_t h[N];
    for (uint64_t i = 0; i < N; i++)
        h[i] = cc_mix64(i);
    for (uint64_t i = 1; i < N; i++)
        cr_assert_neq(h[i], h[i - 1]);
    cr_assert_neq(cc_mix64(0), cc_mix64(1));
}

Test(cc_hash, byte_hash_depends_on_content_and_length)
{
    const char a[] = "abc\0";
    cr_assert_eq(cc_hash_bytes("abc", 3), cc_hash_bytes("abc", 3));
    cr_assert_neq(cc_hash_bytes("abc", 3), cc_hash_bytes("abd", 3));
    cr_assert_neq(cc_hash_bytes(a, 3), cc_hash_bytes(a, 4));
    cr_assert_eq(cc_hash_bytes(NULL, 0), cc_hash_bytes("", 0));
}

Test(cc_hash, seed_set_before_use_is_the_seed_in_force)
{
    cc_hash_seed_set(42);
    cr_assert_eq(cc_hash_seed(), 42);
    uint64_t h42 = cc_hash_u64(7);
    cr_assert_eq(h42, cc_mix64(7 ^ 42));
}
