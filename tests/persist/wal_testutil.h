/*
 * tests/persist/wal_testutil.h — fixtures shared by the log's tests: a temp
 * directory per test, deterministic append units, and "states" (the list of
 * unit signatures a log holds, see test_wal.c) with a replay callback and a
 * rollup writer for them. Helpers assert with Criterion, so they are for
 * Criterion tests only.
 */
#ifndef COWCAT_TESTS_WAL_TESTUTIL_H
#define COWCAT_TESTS_WAL_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "persist/io.h"
#include "wal.h"

/* A test's directory: root from mkdtemp under /tmp, data = root/data (created by open). */
typedef struct tdir {
    char root[64]; /* the mkdtemp directory */
    char data[96]; /* the wal's data directory inside it */
} tdir;

/*
 * Append unit k: k % 4 records (so some units are empty), record r of
 * (k*7 + r*13) % 41 bytes. With pad > 0: 1 + k % 3 records of pad + k % 7
 * bytes (pad <= 1500), so that a few units fill a small segment.
 */
typedef struct unit {
    persist_wal_rec recs[4];      /* point into bytes */
    unsigned char bytes[4][1508]; /* record contents */
    size_t n;                     /* number of records */
} unit;

/*
 * What a log holds, as the list of its units' signatures in replay order. A
 * rollup body is such a list (8 bytes each), so a rollup and the units it
 * replaced give equal states.
 */
typedef struct state {
    uint64_t *sig; /* signatures (malloc'd; free it) */
    size_t n, cap; /* used / allocated */
    int rollups;   /* ROLLUP callbacks seen */
} state;

void tdir_make(tdir *t);
/* Removes the data directory's files, the data directory and root. */
void tdir_remove(tdir *t);
/* DIR/log-<seq>.wal, in a static buffer valid until the next call. */
char *seg_path(const tdir *t, unsigned seq);
long file_len(const char *path);
/* Number of entries of the data directory whose name starts with prefix. */
int count_files(const tdir *t, const char *prefix);
/* Reads a whole file (malloc'd) / writes a whole file. */
unsigned char *slurp(const char *path, long *len);
void spit(const char *path, const unsigned char *b, long len);

void unit_make(unit *u, unsigned k, size_t pad);
/* The signature of a unit's records. */
uint64_t sig_of(const persist_wal_rec *recs, size_t n);
void state_push(state *s, uint64_t x);
/* Replay callback building a state (arg is a state *). */
cc_code collect(void *arg, persist_wal_kind kind, const persist_wal_rec *recs, size_t n,
                cc_err *err);
/* Asserts got equals want; what names the situation in the failure message. */
void state_expect(const state *got, const state *want, const char *what);
/* Opens t->data with o (asserting success) and replays it into *s. */
persist_wal *open_replay(const tdir *t, const persist_wal_opts *o, state *s);
/* Appends unit k (asserting success) and pushes its signature on model (may be NULL). */
void append_ok(persist_wal *wal, unsigned k, state *model);
/* Reopens with default options and asserts the replayed state equals model. */
void reopen_expect(const tdir *t, const state *model, const char *what);
/* Rollup writer emitting a state's signatures in growing uneven chunks (arg: state *). */
cc_code write_sigs(void *arg, persist_wal_sink *sink, cc_err *err);
/* rollup_begin + rollup_write of model, asserting success; returns the mark. */
uint64_t rollup_ok(persist_wal *wal, const state *model);

#endif
