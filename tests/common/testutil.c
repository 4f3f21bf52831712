/*
 * tests/common/testutil.c — seeds and the PRNG for tests.
 */
#include "testutil.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

uint64_t
tu_seed(const char *name)
{
    uint64_t seed = 0;
    const char *env = getenv("COWCAT_TEST_SEED");
    if (env != NULL && *env != '\0') {
        seed = strtoull(env, NULL, 0);
    } else if (getrandom(&seed, sizeof seed, 0) != (ssize_t)sizeof seed) {
        seed = 0x5eed5eed5eedULL;
    }
    fprintf(stderr, "seed %s = %llu (replay: COWCAT_TEST_SEED=%llu)\n", name,
            (unsigned long long)seed, (unsigned long long)seed);
    return seed;
}

static uint64_t
splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void
tu_rng_init(tu_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

static uint64_t
rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t
tu_rng_next(tu_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint64_t
tu_rng_below(tu_rng *r, uint64_t n)
{
    return tu_rng_next(r) % n;
}

int
tu_rng_chance(tu_rng *r, unsigned pct)
{
    return tu_rng_below(r, 100) < pct;
}

long
tu_env_long(const char *name, long def)
{
    const char *v = getenv(name);
    if (v == NULL || *v == '\0')
        return def;
    return strtol(v, NULL, 10);
}

int
tu_fork_and_kill(void (*body)(void *arg, int fd), void *arg, long nap_ms, int *killed)
{
    int p[2];
    if (pipe(p) != 0)
        return -1;
    fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        return -1;
    }
    if (pid == 0) {
        close(p[0]);
        body(arg, p[1]);
        _exit(0);
    }
    close(p[1]);
    struct timespec ts = {nap_ms / 1000, (nap_ms % 1000) * 1000 * 1000};
    nanosleep(&ts, NULL);
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    *killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
    return p[0];
}

uint64_t
tu_mix(uint64_t seed, uint64_t a, uint64_t b)
{
    uint64_t z = seed ^ (a * 0x9e3779b97f4a7c15ULL) ^ (b * 0xc2b2ae3d27d4eb4fULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

double
tu_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
