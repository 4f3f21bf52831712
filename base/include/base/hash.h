/*
 * base/hash.h — hashing with a per-process seed.
 *
 * Byte strings hash with XXH3-64 (libxxhash 0.8) seeded per process; u64 keys
 * hash with a seeded bijective mixer, so two distinct u64 keys never collide on
 * the full 64 bits. The seed is drawn from getrandom() on first use, or taken
 * from the environment variable COWCAT_HASH_SEED (decimal or 0x-hex) so that a
 * test run can be reproduced exactly; cc_hash_seed_set() overrides both before
 * any hashing starts. Hash order is therefore stable within a process and
 * differs between processes: nothing durable may depend on it.
 */
#ifndef COWCAT_BASE_HASH_H
#define COWCAT_BASE_HASH_H

#include <stddef.h>
#include <stdint.h>

/* The process's hash seed (initialised on first call). Thread-safe. */
uint64_t cc_hash_seed(void);

/*
 * Sets the process's hash seed. Call it before the first hash is computed
 * (tests and benchmarks do this from main or a suite init); changing it later
 * would invalidate every hashed structure in the process.
 */
void cc_hash_seed_set(uint64_t seed);

/* XXH3-64 of n bytes at p with the process seed. p may be NULL when n == 0. */
uint64_t cc_hash_bytes(const void *p, size_t n);

/* A 64-bit bijective finaliser (murmur3 fmix64): equal outputs iff equal inputs. */
static inline uint64_t
cc_mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

/* Seeded bijective hash of a u64 key. */
static inline uint64_t
cc_hash_u64(uint64_t x)
{
    return cc_mix64(x ^ cc_hash_seed());
}

/* Combines two hashes (order-dependent). */
static inline uint64_t
cc_hash_combine(uint64_t a, uint64_t b)
{
    return cc_mix64(a ^ (b + 0x9e3779b97f4a7c15ULL + (a << 6) + (a >> 2)));
}

#endif
