/*
 * tests/common/testutil.h — helpers shared by cowcat's tests and stress programs.
 *
 * Seeds: every randomised test draws its seed from tu_seed(name), which takes
 * COWCAT_TEST_SEED from the environment when set (to replay a failure) and a
 * fresh random value otherwise, and prints "seed <name> = <value>" to stderr
 * so that a failing run can be reproduced with
 *   COWCAT_TEST_SEED=<value> ./build/tests/<binary> --filter '<suite>/<test>'
 */
#ifndef COWCAT_TESTUTIL_H
#define COWCAT_TESTUTIL_H

#include <stdint.h>

/* A small, fast, seedable PRNG (xoshiro256**). */
typedef struct tu_rng {
    uint64_t s[4];
} tu_rng;

/* The seed for the test called name (see above). */
uint64_t tu_seed(const char *name);

void tu_rng_init(tu_rng *r, uint64_t seed);
uint64_t tu_rng_next(tu_rng *r);

/* Uniform in [0, n); n > 0. */
uint64_t tu_rng_below(tu_rng *r, uint64_t n);

/* True with probability pct/100. */
int tu_rng_chance(tu_rng *r, unsigned pct);

/* A seed derived from seed and two indexes (iteration, actor, ...): a splitmix64 finaliser. */
uint64_t tu_mix(uint64_t seed, uint64_t a, uint64_t b);

/* CLOCK_MONOTONIC in seconds. */
double tu_now_s(void);

/* Environment integer (decimal) or def when unset: scales test sizes (COWCAT_TEST_SCALE...). */
long tu_env_long(const char *name, long def);

/*
 * One kill -9 of the crash programs: forks a child that runs body(arg, fd),
 * writing its acknowledgements to fd (a pipe of 1 MiB where the kernel
 * allows), lets it run nap_ms milliseconds, SIGKILLs and reaps it. Returns
 * the pipe's read end, holding everything the child wrote before it died
 * (the caller reads it to EOF and closes it), or -1 with errno if the pipe
 * or the fork failed. *killed: whether SIGKILL ended the child (false: it
 * exited by itself first).
 */
int tu_fork_and_kill(void (*body)(void *arg, int fd), void *arg, long nap_ms, int *killed);

#endif
