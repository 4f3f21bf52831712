/*
 * tests/fuzz/persist_seeds.c — writes the seed corpus of
 * fuzz_persist_recovery from real data directories, so the seeds always
 * follow the current on-disk format:
 *
 *   fuzz_persist_seeds OUTDIR
 *
 * It makes two data directories with the file backend — one of plain shards
 * (appends, an empty append, keys with 0x00 bytes, since moves, a batch with
 * a drop, then a rollup and one more append) and one of a cowcat catalog
 * after a few DDL statements (then rolled up too) — and turns their files
 * into inputs of every mode of fuzz_persist_recovery.c: raw segments, frame
 * payloads, record lists (one frame, a frame per unit, torn), a rollup body
 * with the records logged after it, and the catalog's entries (bit 4).
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cowcat.h"
#include "persist/persist.h"
#include "wal_int.h"

static const char *outdir;

static void
fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_persist_seeds: %s: %s\n", what, detail != NULL ? detail : "");
    exit(1);
}

typedef struct buf {
    uint8_t *p;
    size_t len, cap;
} buf;

static void
buf_put(buf *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        while (cap < b->len + n)
            cap *= 2;
        if ((b->p = realloc(b->p, cap)) == NULL)
            fail("realloc", NULL);
        b->cap = cap;
    }
    if (n > 0)
        memcpy(b->p + b->len, p, n);
    b->len += n;
}

static void
buf_byte(buf *b, uint8_t v)
{
    buf_put(b, &v, 1);
}

static buf
read_all(const char *dir, const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        fail("open", path);
    buf b = {0};
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        buf_put(&b, chunk, n);
    fclose(f);
    return b;
}

static void
emit(const char *name, const buf *b)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", outdir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(b->p, 1, b->len, f) != b->len || fclose(f) != 0)
        fail("write", path);
}

/*
 * The highest file name in dir that starts with prefix and ends with suffix
 * and has no other '.' (so "rollup-" + "" skips "rollup-*.tmp"); "" if none.
 */
static void
last_file(const char *dir, const char *prefix, const char *suffix, char *out, size_t n)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        fail("opendir", dir);
    out[0] = '\0';
    struct dirent *de;
    size_t pl = strlen(prefix), sl = strlen(suffix);
    while ((de = readdir(d)) != NULL) {
        const char *name = de->d_name;
        size_t l = strlen(name);
        if (l < pl + sl || strncmp(name, prefix, pl) != 0 || strcmp(name + l - sl, suffix) != 0)
            continue;
        const char *dot = strchr(name, '.');
        if (dot != NULL && dot != name + l - sl)
            continue;
        if (strcmp(name, out) > 0)
            snprintf(out, n, "%s", name);
    }
    closedir(d);
}

/*
 * Appends the records of segment seg (its frames after the header) to recs
 * as mode 2's [u16 le length][bytes] list; records over 64 KiB are left out.
 * Also emits each frame's payload as a mode 1 input named <name>-frame-<i>
 * (the first few).
 */
static void
segment_records(const buf *seg, const char *name, buf *recs)
{
    size_t off = WAL_SEG_HDR, frame = 0;
    while (off + WAL_FRAME_HDR <= seg->len) {
        uint32_t len = wal__get32(seg->p + off + 4);
        const uint8_t *p = seg->p + off + WAL_FRAME_HDR;
        if (off + WAL_FRAME_HDR + len > seg->len)
            break;
        if (frame < 4) {
            buf f = {0};
            buf_byte(&f, 1);
            buf_put(&f, p, len);
            char fname[256];
            snprintf(fname, sizeof fname, "%s-frame-%zu", name, frame);
            emit(fname, &f);
            free(f.p);
        }
        size_t q = 4;
        uint32_t nunits = wal__get32(p);
        for (uint32_t u = 0; u < nunits; u++) {
            uint32_t nrecs = wal__get32(p + q);
            q += 4;
            for (uint32_t r = 0; r < nrecs; r++) {
                uint32_t rl = wal__get32(p + q);
                q += 4;
                if (rl <= 0xffff) {
                    uint8_t l2[2] = {(uint8_t)rl, (uint8_t)(rl >> 8)};
                    buf_put(recs, l2, 2);
                    buf_put(recs, p + q, rl);
                }
                q += rl;
            }
        }
        off += WAL_FRAME_HDR + len;
        frame++;
    }
}

/* Emits the inputs made from the data directory dir (name: the seeds' prefix). */
static void
emit_dir(const char *dir, const char *name)
{
    char seg_name[256], rollup_name[256];
    last_file(dir, "log-", ".wal", seg_name, sizeof seg_name);
    last_file(dir, "rollup-", "", rollup_name, sizeof rollup_name);
    if (seg_name[0] == '\0')
        fail("no segment in", dir);
    buf seg = read_all(dir, seg_name);
    char fname[256];
    buf out = {0};

    /* mode 0: the segment as it is (its seq must be 1 for the harness's file name) */
    if (wal__get64(seg.p + 8) == 1) {
        buf_byte(&out, 0);
        buf_put(&out, seg.p, seg.len);
        snprintf(fname, sizeof fname, "%s-raw", name);
        emit(fname, &out);
        out.len = 0;
    }
    buf recs = {0};
    segment_records(&seg, name, &recs);
    if (rollup_name[0] == '\0') {
        static const uint8_t modes[] = {2, 6, 10};
        for (size_t i = 0; i < sizeof modes; i++) {
            out.len = 0;
            buf_byte(&out, modes[i]);
            buf_put(&out, recs.p, recs.len);
            snprintf(fname, sizeof fname, "%s-records-mode%u", name, modes[i]);
            emit(fname, &out);
        }
    } else {
        buf r = read_all(dir, rollup_name);
        size_t body = r.len - WAL_ROLLUP_HDR;
        uint8_t l4[4];
        wal__put32(l4, (uint32_t)body);
        buf_byte(&out, 3);
        buf_put(&out, l4, 4);
        buf_put(&out, r.p + WAL_ROLLUP_HDR, body);
        buf_put(&out, recs.p, recs.len);
        snprintf(fname, sizeof fname, "%s-rollup", name);
        emit(fname, &out);
        free(r.p);
    }
    free(recs.p);
    free(out.p);
    free(seg.p);
}

static void
check(cc_code rc, const cc_err *err)
{
    if (rc != CC_OK)
        fail("persist", err->msg);
}

static void
put_u16_bytes(buf *b, const void *p, size_t n)
{
    uint8_t l2[2] = {(uint8_t)n, (uint8_t)(n >> 8)};
    buf_put(b, l2, 2);
    buf_put(b, p, n);
}

static int
entry(void *arg, pmap_bytes key, pmap_bytes value, int64_t diff)
{
    buf *b = arg;
    if (diff != 1 || key.len > 0xffff || value.len > 0xffff)
        fail("an entry the catalog-entries mode cannot express", NULL);
    put_u16_bytes(b, key.ptr, key.len);
    put_u16_bytes(b, value.ptr, value.len);
    return 0;
}

/* Emits the consolidated contents of shard id as a bit-4 (catalog entries) input. */
static void
emit_entries(persist_client *c, const char *id, const char *name)
{
    persist_shard *s = persist_shard_find(c, id);
    if (s == NULL || persist_shard_upper(s) == 0)
        fail("no shard", id);
    buf b = {0};
    buf_byte(&b, 16);
    cc_err err;
    check(persist_snapshot(s, persist_shard_upper(s) - 1, entry, &b, &err), &err);
    emit(name, &b);
    free(b.p);
}

static persist_client *
open_client(const char *dir)
{
    persist_options o = {.backend = PERSIST_BACKEND_FILE, .data_dir = dir,
                         .sync = PERSIST_SYNC_NONE};
    persist_client *c;
    cc_err err;
    check(persist_client_open(&o, &c, &err), &err);
    return c;
}

static void
shards(const char *dir)
{
    persist_client *c = open_client(dir);
    persist_shard *s1, *s2, *s3;
    cc_err err;
    check(persist_shard_open(c, "s1", &s1, &err), &err);
    check(persist_shard_open(c, "s2", &s2, &err), &err);
    check(persist_shard_open(c, "s3", &s3, &err), &err);
    persist_update a[] = {{{"k1", 2}, {"v1", 2}, 0, 1}, {{"k2", 2}, {"v2", 2}, 0, 1}};
    check(persist_compare_and_append(s1, a, 2, 0, 1, NULL, &err), &err);
    persist_update b[] = {{{"k1", 2}, {"v1", 2}, 1, -1}, {{"k3", 2}, {"v3", 2}, 2, 2}};
    check(persist_compare_and_append(s1, b, 2, 1, 3, NULL, &err), &err);
    check(persist_compare_and_append(s1, NULL, 0, 3, 4, NULL, &err), &err);
    check(persist_downgrade_since(s1, 2, &err), &err);
    persist_update z[] = {{{"a\0b", 3}, {"\0", 1}, 0, 1}, {{"", 0}, {"", 0}, 4, 3}};
    check(persist_compare_and_append(s2, z, 2, 0, 5, NULL, &err), &err);
    persist_batch *bt;
    check(persist_batch_new(c, &bt, &err), &err);
    persist_update d[] = {{{"k4", 2}, {"v4", 2}, 4, 1}};
    check(persist_batch_append(bt, s1, d, 1, 4, 5, &err), &err);
    check(persist_batch_since(bt, s2, 3, &err), &err);
    check(persist_batch_drop(bt, s3, &err), &err);
    check(persist_batch_commit(bt, NULL, NULL, &err), &err);
    persist_batch_free(bt);
    persist_client_close(c);
    emit_dir(dir, "shards");

    c = open_client(dir);
    check(persist_client_rollup(c, &err), &err);
    s1 = persist_shard_find(c, "s1");
    persist_update e[] = {{{"k5", 2}, {"v5", 2}, 5, 1}};
    check(persist_compare_and_append(s1, e, 1, 5, 6, NULL, &err), &err);
    persist_client_close(c);
    emit_dir(dir, "shards-rolled-up");
}

static void
catalog(const char *dir)
{
    static const char *const sql[] = {
        "CREATE ROLE alice LOGIN",
        "CREATE SCHEMA app",
        "CREATE TABLE t1 (id int PRIMARY KEY, name text NOT NULL)",
        "CREATE TABLE app.t2 (a int REFERENCES t1 (id), b varchar(20) UNIQUE)",
        "CREATE VIEW v1 AS SELECT id, name FROM t1",
        "CREATE INDEX t1_name_idx ON t1 (name)",
        "COMMENT ON TABLE t1 IS 'seed'",
        "GRANT USAGE ON SCHEMA app TO alice",
        "DROP VIEW v1",
        "CREATE VIEW app.v2 AS SELECT a, b FROM app.t2", /* a dependent a rename rewrites */
        NULL,
    };
    cowcat_options o = {.data_dir = dir, .durability = COWCAT_DURABILITY_NONE};
    cowcat *db;
    cowcat_session *s;
    cowcat_error e;
    if (cowcat_open(&o, &db, &e) != COWCAT_OK || cowcat_session_open(db, NULL, &s, &e) != COWCAT_OK)
        fail("cowcat", e.message);
    for (size_t i = 0; sql[i] != NULL; i++)
        if (cowcat_exec(s, sql[i], NULL, NULL, &e) != COWCAT_OK)
            fail(sql[i], e.message);
    cowcat_session_close(s);
    cowcat_close(db);
    emit_dir(dir, "catalog");

    persist_client *c = open_client(dir);
    cc_err err;
    emit_entries(c, "catalog", "catalog-entries");
    check(persist_client_rollup(c, &err), &err);
    persist_client_close(c);
    emit_dir(dir, "catalog-rolled-up");
}

/* Removes the files of dir, then dir. */
static void
remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            unlinkat(dirfd(d), de->d_name, 0);
    closedir(d);
    rmdir(dir);
}

int
main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: fuzz_persist_seeds OUTDIR\n");
        return 2;
    }
    outdir = argv[1];
    const char *tmp = getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp";
    char a[512], b[512];
    snprintf(a, sizeof a, "%s/cowcat-seeds-XXXXXX", tmp);
    snprintf(b, sizeof b, "%s/cowcat-seeds-XXXXXX", tmp);
    if (mkdtemp(a) == NULL || mkdtemp(b) == NULL)
        fail("mkdtemp", strerror(errno));
    shards(a);
    catalog(b);
    remove_dir(a);
    remove_dir(b);
    return 0;
}
