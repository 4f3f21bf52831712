/*
 * tests/persist/wal_testutil.c — fixtures shared by the log's tests (see the header).
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xxhash.h>

#include "persist/io.h"
#include "testutil.h"
#include "wal.h"
#include "wal_testutil.h"

/* ---- fixtures ---------------------------------------------------------- */

void
tdir_make(tdir *t)
{
    snprintf(t->root, sizeof t->root, "/tmp/cowcat-wal-XXXXXX");
    cr_assert_not_null(mkdtemp(t->root));
    snprintf(t->data, sizeof t->data, "%s/data", t->root);
}

void
tdir_remove(tdir *t)
{
    DIR *d = opendir(t->data);
    if (d != NULL) {
        struct dirent *de;
        char p[512];
        while ((de = readdir(d)) != NULL) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                continue;
            snprintf(p, sizeof p, "%s/%s", t->data, de->d_name);
            unlink(p);
        }
        closedir(d);
        rmdir(t->data);
    }
    rmdir(t->root);
}

char *
seg_path(const tdir *t, unsigned seq)
{
    static char p[256];
    snprintf(p, sizeof p, "%s/log-%016x.wal", t->data, seq);
    return p;
}

long
file_len(const char *path)
{
    struct stat st;
    cr_assert_eq(stat(path, &st), 0, "stat %s: %s", path, strerror(errno));
    return (long)st.st_size;
}

/* Counts directory entries starting with prefix. */
int
count_files(const tdir *t, const char *prefix)
{
    DIR *d = opendir(t->data);
    cr_assert_not_null(d);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        n += strncmp(de->d_name, prefix, strlen(prefix)) == 0;
    closedir(d);
    return n;
}

unsigned char *
slurp(const char *path, long *len)
{
    *len = file_len(path);
    unsigned char *b = malloc((size_t)*len + 1);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    cr_assert_eq(fread(b, 1, (size_t)*len, f), (size_t)*len);
    fclose(f);
    return b;
}

void
spit(const char *path, const unsigned char *b, long len)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(b, 1, (size_t)len, f), (size_t)len);
    fclose(f);
}

/* ---- units and states ------------------------------------------------------ */

void
unit_make(unit *u, unsigned k, size_t pad)
{
    u->n = pad ? 1 + k % 3 : k % 4;
    for (size_t r = 0; r < u->n; r++) {
        size_t len = pad ? pad + k % 7 : (k * 7 + r * 13) % 41;
        for (size_t i = 0; i < len; i++)
            u->bytes[r][i] = (unsigned char)(k * 31 + r * 5 + i);
        u->recs[r] = (persist_wal_rec){.data = len ? u->bytes[r] : NULL, .len = len};
    }
}

uint64_t
sig_of(const persist_wal_rec *recs, size_t n)
{
    uint64_t h = XXH3_64bits_withSeed(NULL, 0, n);
    for (size_t i = 0; i < n; i++)
        h = XXH3_64bits_withSeed(recs[i].data, recs[i].len, h ^ (recs[i].len * 0x9e3779b9u));
    return h;
}

void
state_push(state *s, uint64_t x)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->sig = realloc(s->sig, s->cap * sizeof *s->sig);
    }
    s->sig[s->n++] = x;
}

cc_code
collect(void *arg, persist_wal_kind kind, const persist_wal_rec *recs, size_t n, cc_err *err)
{
    state *s = arg;
    (void)err;
    if (kind == PERSIST_WAL_ROLLUP) {
        cr_assert_eq(n, 1);
        cr_assert_eq(s->n, 0, "the rollup must come first");
        cr_assert_eq(recs[0].len % 8, 0);
        for (size_t i = 0; i < recs[0].len / 8; i++) {
            uint64_t x;
            memcpy(&x, (const unsigned char *)recs[0].data + i * 8, 8);
            state_push(s, x);
        }
        s->rollups++;
        return CC_OK;
    }
    state_push(s, sig_of(recs, n));
    return CC_OK;
}

void
state_expect(const state *got, const state *want, const char *what)
{
    cr_assert_eq(got->n, want->n, "%s: %zu units replayed, %zu expected", what, got->n, want->n);
    for (size_t i = 0; i < want->n; i++)
        cr_assert_eq(got->sig[i], want->sig[i], "%s: unit %zu differs", what, i);
}

/* Opens dir (asserting success) and replays it into a fresh state. */
persist_wal *
open_replay(const tdir *t, const persist_wal_opts *o, state *s)
{
    persist_wal *wal = NULL;
    cc_err err;
    cc_code rc = persist_wal_open(t->data, o, &wal, &err);
    cr_assert_eq(rc, CC_OK, "open: %s", err.msg);
    memset(s, 0, sizeof *s);
    rc = persist_wal_replay(wal, collect, s, &err);
    cr_assert_eq(rc, CC_OK, "replay: %s", err.msg);
    return wal;
}

/* Appends unit k, asserting success, and records it in the model. */
void
append_ok(persist_wal *wal, unsigned k, state *model)
{
    unit u;
    cc_err err;
    unit_make(&u, k, 0);
    cc_code rc = persist_wal_append(wal, u.recs, u.n, &err);
    cr_assert_eq(rc, CC_OK, "append %u: %s", k, err.msg);
    if (model != NULL)
        state_push(model, sig_of(u.recs, u.n));
}

/* Reopens with default options and checks the state equals the model. */
void
reopen_expect(const tdir *t, const state *model, const char *what)
{
    state s;
    persist_wal *wal = open_replay(t, NULL, &s);
    state_expect(&s, model, what);
    persist_wal_close(wal);
    free(s.sig);
}

cc_code
write_sigs(void *arg, persist_wal_sink *sink, cc_err *err)
{
    const state *s = arg;
    const unsigned char *p = (const unsigned char *)s->sig;
    size_t left = s->n * 8, chunk = 1;
    while (left > 0) {
        size_t n = chunk < left ? chunk : left;
        cc_code rc = persist_wal_sink_write(sink, p, n, err);
        if (rc != CC_OK)
            return rc;
        p += n;
        left -= n;
        chunk = chunk * 3 + 1; /* grows past the sink's buffer for large states */
    }
    return CC_OK;
}

/* rollup_begin + rollup_write of model (asserting success); returns the mark. */
uint64_t
rollup_ok(persist_wal *wal, const state *model)
{
    uint64_t mark;
    cc_err err;
    cr_assert_eq(persist_wal_rollup_begin(wal, &mark, &err), CC_OK, "%s", err.msg);
    cr_assert_eq(persist_wal_rollup_write(wal, mark, write_sigs, (void *)model, &err), CC_OK, "%s",
                 err.msg);
    return mark;
}

/* Writes two units, a rollup, two more units, and a torn tail plus a stray temp file. */
