/*
 * tests/tools/test_tools_baddump.c — damaged and crafted dumps are rejected
 * with a clear message, and a restore that fails leaves no data directory
 * (and no temporary one) behind.
 *
 * Damage (truncation, bit flips) must fail in the reader; crafted dumps that
 * are well-formed but inconsistent (two objects with one OID or name, a
 * dependency on a missing object) must fail the restore's full check.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/wire.h"
#include "testutil.h"
#include "tools_testutil.h"

/* A catalog of tables, a view over t0, an index and a comment, dumped into memory. */
typedef struct fixture {
    tt_scratch sc;
    uint8_t *buf;
    size_t len;
    tools_dump *d; /* parsed buf */
} fixture;

static void
fixture_new(fixture *f, int tables)
{
    char src[600];
    tt_scratch_new(&f->sc);
    tt_path(&f->sc, "src", src, sizeof src);
    tt_build_tables(src, tables);
    cowcat *db;
    cowcat_session *s;
    tt_open(src, NULL, &db, &s);
    tt_exec(s, "CREATE VIEW v AS SELECT a FROM t0; CREATE INDEX i ON t1 (b);"
               "COMMENT ON TABLE t2 IS 'two'");
    tt_close(db, s);
    f->buf = tt_dump(&f->sc, src, TOOLS_DUMP_CATALOG, &f->len);
    cc_err e;
    cr_assert_eq(tools_dump_parse(f->buf, f->len, &f->d, &e), CC_OK, "%s", e.msg);
}

static void
fixture_free(fixture *f)
{
    tools_dump_free(f->d);
    free(f->buf);
    tt_scratch_free(&f->sc);
}

/* The reader must refuse buf; the message must contain want (if not NULL). */
static void
expect_unreadable(const uint8_t *buf, size_t len, const char *want, const char *what)
{
    tools_dump *d = NULL;
    cc_err e;
    cc_err_clear(&e);
    cc_code rc = tools_dump_parse(buf, len, &d, &e);
    cr_assert_neq(rc, CC_OK, "%s: accepted", what);
    cr_assert(rc == CC_CORRUPT || rc == CC_INVALID, "%s: code %s", what, cc_code_name(rc));
    cr_assert(e.msg[0] != '\0', "%s: no message", what);
    if (want != NULL)
        cr_assert(strstr(e.msg, want) != NULL, "%s: \"%s\" lacks \"%s\"", what, e.msg, want);
}

/* buf reads, but restoring it fails with a message containing want, leaving nothing. */
static void
expect_restore_fails(fixture *f, const uint8_t *buf, size_t len, const char *want)
{
    tools_dump *d;
    cc_err e;
    cr_assert_eq(tools_dump_parse(buf, len, &d, &e), CC_OK, "the reader refused: %s", e.msg);
    char dst[600];
    tt_path(&f->sc, "dst", dst, sizeof dst);
    tools_restore_options o = {.sync = PERSIST_SYNC_NONE};
    cc_err_clear(&e);
    cr_assert_eq(tools_restore(d, dst, &o, NULL, &e), CC_CORRUPT, "restored: %s", e.msg);
    cr_assert(strstr(e.msg, "inconsistent") != NULL, "%s", e.msg);
    if (want != NULL)
        cr_assert(strstr(e.msg, want) != NULL, "\"%s\" lacks \"%s\"", e.msg, want);
    cr_assert(!tt_exists(dst), "a failed restore left %s", dst);
    cr_assert_eq(tt_count_prefix(f->sc.path, ".dst."), 0, "a failed restore left a temporary");
    tools_dump_free(d);
}

/* A copy of the fixture's entries, with room for one more. */
static tools_dump_entry *
entries_copy(const fixture *f)
{
    tools_dump_entry *e = malloc((f->d->n + 1) * sizeof *e);
    cr_assert_not_null(e);
    memcpy(e, f->d->entries, f->d->n * sizeof *e);
    return e;
}

static uint8_t *
encode(const fixture *f, const tools_dump_entry *e, size_t n, size_t *len)
{
    tools_dump_encode_options o = {.upper = f->d->header->upper};
    uint8_t *out;
    cc_err err;
    cr_assert_eq(tools_dump_encode(e, n, &o, &out, len, &err), CC_OK, "%s", err.msg);
    return out;
}

/* The index of the first item entry named name (decoding each item). */
static size_t
find_item(const fixture *f, const char *name)
{
    for (size_t i = 0; i < f->d->n; i++) {
        if (f->d->entries[i].coll != DUR_ITEMS)
            continue;
        ProtobufCMessage *m;
        cr_assert_eq(dur_decode(DUR_ITEMS, DUR_PART_VALUE, f->d->entries[i].value, &m, NULL),
                     CC_OK);
        bool hit = strcmp(((Cowcat__Catalog__ItemValue *)m)->name, name) == 0;
        protobuf_c_message_free_unpacked(m, NULL);
        if (hit)
            return i;
    }
    cr_assert_fail("no item %s in the dump", name);
    return 0;
}

/* Re-encodes item entry i's value after edit(v) into a new buffer kept in *keep. */
static void
edit_item(const fixture *f, tools_dump_entry *e, size_t i,
          void (*edit)(Cowcat__Catalog__ItemValue *v, void *arg), void *arg, uint8_t **keep)
{
    ProtobufCMessage *m;
    cr_assert_eq(dur_decode(DUR_ITEMS, DUR_PART_VALUE, f->d->entries[i].value, &m, NULL), CC_OK);
    edit((Cowcat__Catalog__ItemValue *)m, arg);
    size_t n = protobuf_c_message_get_packed_size(m);
    *keep = malloc(n + 1);
    cr_assert_not_null(*keep);
    protobuf_c_message_pack(m, *keep);
    e[i].value = (pmap_bytes){*keep, n};
    protobuf_c_message_free_unpacked(m, NULL);
}

/* Re-packs the fixture's header after edit(h) and glues the body back on. */
static uint8_t *
with_header(const fixture *f, void (*edit)(Cowcat__Dump__DumpHeader *h), size_t *len)
{
    cc_wire w = cc_wire_of(f->buf, f->len);
    uint64_t n;
    cr_assert(cc_wire_varint(&w, &n));
    Cowcat__Dump__DumpHeader *h = cowcat__dump__dump_header__unpack(NULL, (size_t)n, w.p);
    cr_assert_not_null(h);
    char *magic = h->magic; /* owned by h: an edit may point it elsewhere for the pack */
    edit(h);
    uint8_t *hdr;
    size_t hlen;
    cr_assert_eq(tools_dump_header_pack(h, &hdr, &hlen, NULL), CC_OK);
    h->magic = magic;
    size_t body = f->len - f->d->header_bytes;
    uint8_t *out = malloc(hlen + body);
    cr_assert_not_null(out);
    memcpy(out, hdr, hlen);
    memcpy(out + hlen, f->buf + f->d->header_bytes, body);
    *len = hlen + body;
    free(hdr);
    cowcat__dump__dump_header__free_unpacked(h, NULL);
    return out;
}

/* --- damage ---------------------------------------------------------------------------- */

Test(tools_bad_dump, truncation_at_every_kib_boundary_and_odd_offsets_is_rejected)
{
    fixture f;
    fixture_new(&f, 150);
    cr_assert_gt(f.len, 8 * 1024, "the fixture spans several KiB (%zu bytes)", f.len);
    size_t hb = f.d->header_bytes;
    size_t odd[] = {0, 1, 2, 3, 17, hb - 1, hb, hb + 1, hb + 7, f.len - 1, f.len - 2, f.len - 13};
    for (size_t i = 0; i < sizeof odd / sizeof *odd; i++) {
        char what[64];
        snprintf(what, sizeof what, "truncated to %zu bytes", odd[i]);
        expect_unreadable(f.buf, odd[i], odd[i] >= hb ? "truncated" : NULL, what);
    }
    int n = 0;
    for (size_t off = 1024; off < f.len; off += 1024, n++) {
        char what[64];
        snprintf(what, sizeof what, "truncated to %zu bytes", off);
        expect_unreadable(f.buf, off, off >= hb ? "truncated" : NULL, what);
    }
    cr_assert_geq(n, 8);
    fixture_free(&f);
}

Test(tools_bad_dump, bit_flips_anywhere_are_rejected)
{
    fixture f;
    fixture_new(&f, 60);
    uint8_t *copy = malloc(f.len);
    cr_assert_not_null(copy);
    /* Every bit of the header and the first entries, then a seeded sample of the rest. */
    size_t dense = f.d->header_bytes + 512;
    uint64_t seed = tu_seed("tools_bad_dump.bit_flips");
    tu_rng rng;
    tu_rng_init(&rng, seed);
    for (size_t k = 0; k < dense * 8 + 4000; k++) {
        size_t bit = k < dense * 8 ? k : dense * 8 + tu_rng_below(&rng, (f.len - dense) * 8);
        memcpy(copy, f.buf, f.len);
        copy[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        char what[96];
        snprintf(what, sizeof what, "bit %zu flipped (seed %llu)", bit, (unsigned long long)seed);
        expect_unreadable(copy, f.len, bit / 8 >= f.d->header_bytes ? "checksum mismatch" : NULL,
                          what);
    }
    free(copy);
    fixture_free(&f);
}

static void
bad_magic(Cowcat__Dump__DumpHeader *h)
{
    h->magic = "cowcat-dumq";
}

static void
newer_format(Cowcat__Dump__DumpHeader *h)
{
    h->format_version = TOOLS_DUMP_FORMAT_VERSION + 1;
}

static void
newer_catalog(Cowcat__Dump__DumpHeader *h)
{
    h->catalog_format_version = DUR_FORMAT_VERSION + 1;
}

static void
more_entries(Cowcat__Dump__DumpHeader *h)
{
    h->entries++;
}

Test(tools_bad_dump, wrong_magic_and_newer_versions_are_refused)
{
    fixture f;
    fixture_new(&f, 3);
    size_t len;
    uint8_t *b = with_header(&f, bad_magic, &len);
    expect_unreadable(b, len, "not a cowcat dump: bad magic", "bad magic");
    free(b);
    b = with_header(&f, newer_format, &len);
    expect_unreadable(b, len, "is newer than this build's", "newer format");
    free(b);
    b = with_header(&f, newer_catalog, &len);
    expect_unreadable(b, len, "catalog format version", "newer catalog format");
    free(b);
    b = with_header(&f, more_entries, &len);
    expect_unreadable(b, len, "entries", "a wrong entry count");
    free(b);
    static const char text[] = "CREATE TABLE t (a int);\n";
    expect_unreadable((const uint8_t *)text, sizeof text - 1, "not a cowcat dump", "SQL text");
    expect_unreadable((const uint8_t *)"", 0, "not a cowcat dump", "an empty file");
    fixture_free(&f);
}

/* --- crafted dumps ------------------------------------------------------------------------ */

Test(tools_bad_dump, duplicate_keys_and_out_of_order_entries_are_rejected)
{
    fixture f;
    fixture_new(&f, 3);
    size_t n = f.d->n, len, i = find_item(&f, "t1");
    tools_dump_entry *e = entries_copy(&f);
    memmove(e + i + 1, e + i, (n - i) * sizeof *e); /* entry i twice */
    uint8_t *b = encode(&f, e, n + 1, &len);
    expect_unreadable(b, len, "duplicate items key", "a duplicate item");
    free(b);

    memcpy(e, f.d->entries, n * sizeof *e);
    tools_dump_entry t = e[i];
    e[i] = e[i + 1];
    e[i + 1] = t;
    b = encode(&f, e, n, &len);
    expect_unreadable(b, len, "out of order", "two swapped entries");
    free(b);

    static const uint8_t fence_key[] = {0}, fence_value[] = {0x08, 0x01, 0x10, 0x05};
    memcpy(e, f.d->entries, n * sizeof *e);
    e[n] = (tools_dump_entry){DUR_FENCE_TOKEN, {fence_key, 0}, {fence_value, sizeof fence_value}};
    b = encode(&f, e, n + 1, &len);
    expect_unreadable(b, len, "fence token", "a fence token");
    free(b);

    /* u5 spelled with an explicit system = false: the same id, other bytes. */
    static const uint8_t long_key[] = {0x0a, 0x04, 0x08, 0x00, 0x10, 0x05};
    memcpy(e, f.d->entries, n * sizeof *e);
    e[i].key = (pmap_bytes){long_key, sizeof long_key};
    b = encode(&f, e, n, &len);
    expect_unreadable(b, len, "canonical", "a non-canonical key");
    free(b);
    free(e);
    fixture_free(&f);
}

static void
set_id_alloc(tools_dump_entry *e, size_t n, const char *name, uint64_t value, uint8_t *keep,
             size_t cap)
{
    for (size_t i = 0; i < n; i++) {
        if (e[i].coll != DUR_ID_ALLOCATOR)
            continue;
        ProtobufCMessage *k;
        cr_assert_eq(dur_decode(DUR_ID_ALLOCATOR, DUR_PART_KEY, e[i].key, &k, NULL), CC_OK);
        bool hit = strcmp(((Cowcat__Catalog__IdAllocKey *)k)->name, name) == 0;
        protobuf_c_message_free_unpacked(k, NULL);
        if (!hit)
            continue;
        Cowcat__Catalog__IdAllocValue v = COWCAT__CATALOG__ID_ALLOC_VALUE__INIT;
        v.next_id = value;
        size_t len = protobuf_c_message_get_packed_size(&v.base);
        cr_assert_leq(len, cap);
        protobuf_c_message_pack(&v.base, keep);
        e[i].value = (pmap_bytes){keep, len};
        return;
    }
    cr_assert_fail("no allocator %s", name);
}

Test(tools_bad_dump, an_allocator_behind_its_ids_is_rejected)
{
    fixture f;
    fixture_new(&f, 3);
    tools_dump_entry *e = entries_copy(&f);
    uint8_t keep[16];
    set_id_alloc(e, f.d->n, DUR_ALLOC_USER_ITEM, 2, keep, sizeof keep);
    size_t len;
    uint8_t *b = encode(&f, e, f.d->n, &len);
    expect_unreadable(b, len, "would reuse ids", "an allocator behind its ids");
    free(b);
    free(e);
    fixture_free(&f);
}

static void
set_oid(Cowcat__Catalog__ItemValue *v, void *arg)
{
    v->oid = *(uint32_t *)arg;
}

static void
set_name(Cowcat__Catalog__ItemValue *v, void *arg)
{
    free(v->name); /* protobuf-c's default allocator: malloc */
    v->name = strdup(arg);
    cr_assert_not_null(v->name);
}

static void
set_sql(Cowcat__Catalog__ItemValue *v, void *arg)
{
    free(v->create_sql); /* protobuf-c's default allocator: malloc */
    v->create_sql = strdup(arg);
    cr_assert_not_null(v->create_sql);
}

static uint32_t
item_oid(const fixture *f, size_t i)
{
    ProtobufCMessage *m;
    cr_assert_eq(dur_decode(DUR_ITEMS, DUR_PART_VALUE, f->d->entries[i].value, &m, NULL), CC_OK);
    uint32_t oid = ((Cowcat__Catalog__ItemValue *)m)->oid;
    protobuf_c_message_free_unpacked(m, NULL);
    return oid;
}

Test(tools_bad_dump, two_objects_with_one_oid_or_one_name_fail_the_check_and_leave_nothing)
{
    fixture f;
    fixture_new(&f, 3);
    size_t len, a = find_item(&f, "t1"), b = find_item(&f, "t2");
    uint32_t oid = item_oid(&f, a);
    uint8_t *keep;
    tools_dump_entry *e = entries_copy(&f);
    edit_item(&f, e, b, set_oid, &oid, &keep);
    uint8_t *buf = encode(&f, e, f.d->n, &len);
    expect_restore_fails(&f, buf, len, NULL);
    free(buf);
    free(keep);

    memcpy(e, f.d->entries, f.d->n * sizeof *e);
    edit_item(&f, e, b, set_name, "t1", &keep);
    buf = encode(&f, e, f.d->n, &len);
    expect_restore_fails(&f, buf, len, NULL);
    free(buf);
    free(keep);
    free(e);
    fixture_free(&f);
}

static void
dangle(Cowcat__Catalog__ItemValue *v, void *arg)
{
    cr_assert_geq(v->n_uses, 1, "the view uses its table");
    v->uses[0]->value = *(uint64_t *)arg;
}

Test(tools_bad_dump, a_dangling_dependency_fails_the_check_and_leaves_nothing)
{
    fixture f;
    fixture_new(&f, 3);
    size_t len, v = find_item(&f, "v");
    uint64_t missing = 60; /* below the "user" allocator's block, used by no item */
    uint8_t *keep;
    tools_dump_entry *e = entries_copy(&f);
    edit_item(&f, e, v, dangle, &missing, &keep);
    uint8_t *buf = encode(&f, e, f.d->n, &len);
    expect_restore_fails(&f, buf, len, "uses an object that does not exist");
    free(buf);
    free(keep);
    free(e);
    fixture_free(&f);
}

Test(tools_bad_dump, a_dangling_dependency_in_a_large_catalog_fails_the_two_thread_check)
{
    fixture f;
    fixture_new(&f, 5000); /* above cat_check's two-thread threshold (4096 objects) */
    size_t len, v = find_item(&f, "v");
    uint64_t missing = 1ull << 40; /* no item has it */
    uint8_t *keep;
    tools_dump_entry *e = entries_copy(&f);
    edit_item(&f, e, v, dangle, &missing, &keep);
    uint8_t *buf = encode(&f, e, f.d->n, &len);
    expect_restore_fails(&f, buf, len, "view");
    expect_restore_fails(&f, buf, len, "uses an object that does not exist");
    free(buf);
    free(keep);
    free(e);
    fixture_free(&f);
}

/* --- check on a damaged data directory -------------------------------------------------- */

/* Writes entries into dir's catalog shard as raw durable updates, unchecked (what a bug or
 * a bad restore could leave), at [0, 1). */
static void
write_raw(const char *dir, const tools_dump_entry *e, size_t n)
{
    persist_options po = {
        .backend = PERSIST_BACKEND_FILE, .data_dir = dir, .sync = PERSIST_SYNC_NONE};
    persist_client *pc;
    persist_shard *shard;
    cc_err err;
    cr_assert_eq(persist_client_open(&po, &pc, &err), CC_OK, "%s", err.msg);
    cr_assert_eq(persist_shard_open(pc, "catalog", &shard, &err), CC_OK, "%s", err.msg);
    persist_update *u = calloc(n, sizeof *u);
    uint8_t **keys = calloc(n, sizeof *keys);
    cr_assert(u != NULL && keys != NULL);
    for (size_t i = 0; i < n; i++) {
        keys[i] = malloc(e[i].key.len + 1);
        cr_assert_not_null(keys[i]);
        keys[i][0] = (uint8_t)e[i].coll;
        memcpy(keys[i] + 1, e[i].key.ptr, e[i].key.len);
        u[i] = (persist_update){{keys[i], e[i].key.len + 1}, e[i].value, 0, 1};
    }
    cr_assert_eq(persist_compare_and_append(shard, u, n, 0, 1, NULL, &err), CC_OK, "%s", err.msg);
    persist_client_close(pc);
    for (size_t i = 0; i < n; i++)
        free(keys[i]);
    free(keys);
    free(u);
}

typedef struct findings {
    int n;
    char what[64];
    char msg[256];
} findings;

static void
on_finding(void *arg, const char *what, const cc_err *f)
{
    findings *fs = arg;
    if (fs->n++ == 0) {
        snprintf(fs->what, sizeof fs->what, "%s", what);
        snprintf(fs->msg, sizeof fs->msg, "%s", f->msg);
    }
}

Test(tools_check, reports_a_dangling_dependency_in_a_data_directory)
{
    fixture f;
    fixture_new(&f, 3);
    size_t v = find_item(&f, "v");
    uint64_t missing = 60;
    uint8_t *keep;
    tools_dump_entry *e = entries_copy(&f);
    edit_item(&f, e, v, dangle, &missing, &keep);
    char dir[600];
    tt_path(&f.sc, "damaged", dir, sizeof dir);
    write_raw(dir, e, f.d->n);

    tools_datadir *d;
    cc_err err;
    cr_assert_eq(tools_datadir_open(dir, TOOLS_OPEN_DURABLE, &d, &err), CC_OK, "%s", err.msg);
    findings fs = {0};
    size_t n = 0;
    cr_assert_eq(tools_check(d, on_finding, &fs, &n, &err), CC_OK, "%s", err.msg);
    cr_assert_eq(n, 1);
    cr_assert_eq(fs.n, 1);
    cr_assert_str_eq(fs.what, "catalog");
    cr_assert(strstr(fs.msg, "uses an object that does not exist") != NULL, "%s", fs.msg);
    tools_datadir_close(d);
    free(keep);
    free(e);
    fixture_free(&f);
}

Test(tools_check, reports_a_statement_that_does_not_parse)
{
    fixture f;
    fixture_new(&f, 3);
    size_t t = find_item(&f, "t1");
    uint8_t *keep;
    tools_dump_entry *e = entries_copy(&f);
    edit_item(&f, e, t, set_sql, "CREATE TABLE t1 (a int", &keep);
    char dir[600];
    tt_path(&f.sc, "damaged", dir, sizeof dir);
    write_raw(dir, e, f.d->n);

    tools_datadir *d;
    cc_err err;
    cr_assert_eq(tools_datadir_open(dir, TOOLS_OPEN_DURABLE, &d, &err), CC_OK, "%s", err.msg);
    findings fs = {0};
    size_t n = 0;
    cr_assert_eq(tools_check(d, on_finding, &fs, &n, &err), CC_OK, "%s", err.msg);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(fs.what, "create_sql");
    cr_assert(strstr(fs.msg, "\"t1\": create_sql does not parse") != NULL, "%s", fs.msg);
    tools_datadir_close(d);
    free(keep);
    free(e);
    fixture_free(&f);
}
