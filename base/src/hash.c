/*
 * base/hash.c — the per-process hash seed and XXH3 byte hashing.
 *
 * The seed is one process-wide value by nature (every hashed structure in the
 * process must agree on it), so it is the one global here; it is written once,
 * under a pthread_once, before anyone reads it.
 */
#include "base/hash.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/random.h>
#include <time.h>
#include <xxhash.h>

static uint64_t hash_seed;
static int hash_seed_fixed;
static pthread_once_t hash_seed_once = PTHREAD_ONCE_INIT;

static void
hash_seed_init(void)
{
    if (hash_seed_fixed)
        return;
    const char *env = getenv("COWCAT_HASH_SEED");
    if (env != NULL && *env != '\0') {
        hash_seed = strtoull(env, NULL, 0);
        return;
    }
    uint64_t s = 0;
    if (getrandom(&s, sizeof s, 0) != (ssize_t)sizeof s) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        s = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ULL ^ (uint64_t)ts.tv_sec;
    }
    hash_seed = s;
}

uint64_t
cc_hash_seed(void)
{
    pthread_once(&hash_seed_once, hash_seed_init);
    return hash_seed;
}

void
cc_hash_seed_set(uint64_t seed)
{
    hash_seed = seed;
    hash_seed_fixed = 1;
    pthread_once(&hash_seed_once, hash_seed_init);
}

uint64_t
cc_hash_bytes(const void *p, size_t n)
{
    return XXH3_64bits_withSeed(p, n, cc_hash_seed());
}
