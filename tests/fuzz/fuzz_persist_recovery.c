/*
 * tests/fuzz/fuzz_persist_recovery.c — libFuzzer target: recovery of a
 * persist data directory (file backend) from arbitrary bytes, then the
 * durable catalog and the in-memory catalog on top of what was recovered.
 *
 * The first input byte picks how the rest becomes files in a scratch data
 * directory (the layout of persist/src/wal.c):
 *
 *   mode 0  raw: the rest is segment log-0000000000000001.wal, byte for byte
 *   mode 1  frame: the rest is one frame's payload; the segment header and
 *           the frame header (length, XXH3) are made for it, so the fuzzer
 *           gets past the checksum into the unit/record framing
 *   mode 2  records: the rest is a list of [u16 le length][record bytes]
 *           (a short last one takes what is left); each record becomes one
 *           append unit, so the fuzzer works on PersistRecord protobufs
 *   mode 3  rollup: [u32 le body length][rollup body][records as mode 2];
 *           rollup-0000000000000001 gets the body with a valid header, the
 *           records go to segment 1 after it
 *   bit 2   (modes 2, 3) one frame per unit instead of one frame for all
 *   bit 3   (modes 1-3) cut the last frame short by one byte: a torn tail
 *   bit 4   catalog entries (bits 0-3 ignored): the rest is a list of
 *           [u16 le key length][key][u16 le value length][value]; they become
 *           one valid append at [0, 1) of shard "catalog" (diff +1 each), so
 *           the fuzzer works on the durable catalog's encoded objects
 *
 * Then persist_client_open must fail with a message, or succeed with shards
 * that read back: since <= upper, snapshots at since and upper - 1 in strict
 * (key, value) order with no zero diffs, listeners replaying history inside
 * [since, upper]. A successful recovery is rolled up and reopened, and must
 * come back the same (a digest of every shard's frontiers, snapshots and
 * retained history). If a "catalog" shard was recovered, cowcat_open runs on
 * the directory (dur_open + cat_open): it fails with a message, or yields a
 * catalog on which some DDL — for a few relations and types SHOW CREATE,
 * ADD COLUMN, RENAME (which rewrites dependents' stored statements), then a
 * CREATE TABLE — each succeeds, or fails with a message and a SQLSTATE and
 * changes nothing; and a catalog that was consistent before the DDL
 * (cowcat_check passes, or its one finding is a stored create_sql that
 * does not parse: see catalog_is_consistent) still is after it.
 *
 * Each input gets a scratch data directory, cowcat-fuzz-persist-<pid>-*
 * (in /dev/shm when it exists: tmpfs, else $TMPDIR or /tmp), removed when
 * the input is done. After a crash it keeps the failing input's files
 * (recovered and rolled up as far as it got) until the next run starts.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "cowcat.h"
#include "internal.h" /* ddl/src: db->cat and db->dur, for the check without the re-parse */
#include "persist_int.h"
#include "wal_int.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char scratch_base[256]; /* where scratch directories are made */
static char scratch[512];      /* this input's data directory */

static void
die(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_persist_recovery: %s%s%s\n", what, detail != NULL ? ": " : "",
            detail != NULL ? detail : "");
    abort();
}

/* --- the scratch directory ------------------------------------------------------------ */

/* Empties and removes the directory base/name. */
static void
remove_dir(const char *base, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", base, name);
    DIR *d = opendir(path);
    if (d == NULL)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            unlinkat(dirfd(d), de->d_name, 0);
    closedir(d);
    rmdir(path);
}

/*
 * Removes the scratch directories of fuzzer processes that are gone (a
 * crash leaves its directory behind, holding the files of the failing input,
 * until the next run starts).
 */
static void
remove_stale(const char *base)
{
    DIR *d = opendir(base);
    if (d == NULL)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        int pid;
        if (sscanf(de->d_name, "cowcat-fuzz-persist-%d-", &pid) == 1 && pid > 0 &&
            kill(pid, 0) != 0 && errno == ESRCH)
            remove_dir(base, de->d_name);
    }
    closedir(d);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    struct stat st;
    if (stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode))
        snprintf(scratch_base, sizeof scratch_base, "/dev/shm");
    else
        snprintf(scratch_base, sizeof scratch_base, "%s",
                 getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
    remove_stale(scratch_base);
    return 0;
}

/* Makes this input's scratch directory. */
static void
make_scratch(void)
{
    snprintf(scratch, sizeof scratch, "%s/cowcat-fuzz-persist-%d-XXXXXX", scratch_base,
             (int)getpid());
    if (mkdtemp(scratch) == NULL)
        die("mkdtemp", strerror(errno));
}

static void
remove_scratch(void)
{
    remove_dir(scratch_base, scratch + strlen(scratch_base) + 1);
}

static void
write_file(const char *name, const void *p, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", scratch, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        die("open", path);
    if (n > 0 && write(fd, p, n) != (ssize_t)n)
        die("write", path);
    close(fd);
}

/* --- building files ------------------------------------------------------------------- */

typedef struct buf {
    uint8_t *p;
    size_t len, cap;
} buf;

static uint8_t *
buf_grow(buf *b, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        while (cap < b->len + n)
            cap *= 2;
        uint8_t *q = realloc(b->p, cap);
        if (q == NULL)
            abort();
        b->p = q;
        b->cap = cap;
    }
    b->len += n;
    return b->p + b->len - n;
}

static void
buf_put(buf *b, const void *p, size_t n)
{
    if (n > 0)
        memcpy(buf_grow(b, n), p, n);
}

static void
put32(buf *b, uint32_t v)
{
    wal__put32(buf_grow(b, 4), v);
}

static void
put_seg_header(buf *seg, uint64_t seq)
{
    put32(seg, WAL_SEG_MAGIC);
    put32(seg, WAL_VERSION);
    wal__put64(buf_grow(seg, 8), seq);
}

static void
put_frame(buf *seg, const uint8_t *payload, size_t n)
{
    put32(seg, WAL_FRAME_MAGIC);
    put32(seg, (uint32_t)n);
    wal__put64(buf_grow(seg, 8), XXH3_64bits(payload, n));
    buf_put(seg, payload, n);
}

/* A unit of one record: [u32 nrecs = 1][u32 len][bytes]. */
static void
put_unit(buf *payload, const uint8_t *rec, size_t n)
{
    put32(payload, 1);
    put32(payload, (uint32_t)n);
    buf_put(payload, rec, n);
}

/* Mode 2's record list in[0..n) as segment frames after seg's header. */
static void
put_records(buf *seg, const uint8_t *in, size_t n, int frame_per_unit)
{
    buf payload = {0};
    uint32_t nunits = 0;
    if (!frame_per_unit)
        put32(&payload, 0); /* patched below */
    size_t off = 0;
    while (off < n) {
        size_t len = n - off >= 2 ? (size_t)(in[off] | in[off + 1] << 8) : 0;
        off += n - off >= 2 ? 2 : n - off;
        if (len > n - off)
            len = n - off;
        if (frame_per_unit) {
            payload.len = 0;
            put32(&payload, 1);
            put_unit(&payload, in + off, len);
            put_frame(seg, payload.p, payload.len);
        } else {
            put_unit(&payload, in + off, len);
            nunits++;
        }
        off += len;
    }
    if (!frame_per_unit && nunits > 0) {
        wal__put32(payload.p, nunits);
        put_frame(seg, payload.p, payload.len);
    }
    free(payload.p);
}

/* Packs r as one unit into payload (a frame payload of units). */
static void
put_record(buf *payload, const Cowcat__Persist__PersistRecord *r)
{
    size_t n = cowcat__persist__persist_record__get_packed_size(r);
    uint8_t *rec = malloc(n + 1);
    if (rec == NULL)
        abort();
    cowcat__persist__persist_record__pack(r, rec);
    put_unit(payload, rec, n);
    free(rec);
}

/* Bit 4: the entries in[0..n) as shard "catalog"'s first append, in one frame. */
static void
put_catalog_entries(buf *seg, const uint8_t *in, size_t n)
{
    size_t cap = n / 4 + 1, nu = 0;
    Cowcat__Persist__Update *ups = calloc(cap, sizeof *ups);
    Cowcat__Persist__Update **ptrs = calloc(cap, sizeof *ptrs);
    if (ups == NULL || ptrs == NULL)
        abort();
    size_t off = 0;
    while (off < n && nu < cap) {
        size_t len[2];
        const uint8_t *at[2];
        for (int i = 0; i < 2; i++) {
            len[i] = n - off >= 2 ? (size_t)(in[off] | in[off + 1] << 8) : 0;
            off += n - off >= 2 ? 2 : n - off;
            if (len[i] > n - off)
                len[i] = n - off;
            at[i] = in + off;
            off += len[i];
        }
        Cowcat__Persist__Update u = COWCAT__PERSIST__UPDATE__INIT;
        u.key.data = (uint8_t *)at[0];
        u.key.len = len[0];
        u.value.data = (uint8_t *)at[1];
        u.value.len = len[1];
        u.ts = 0;
        u.diff = 1;
        ups[nu] = u;
        ptrs[nu] = &ups[nu];
        nu++;
    }
    Cowcat__Persist__ShardCreate create = COWCAT__PERSIST__SHARD_CREATE__INIT;
    create.shard = (char *)"catalog";
    Cowcat__Persist__PersistRecord rc = COWCAT__PERSIST__PERSIST_RECORD__INIT;
    rc.kind_case = COWCAT__PERSIST__PERSIST_RECORD__KIND_CREATE;
    rc.create = &create;
    Cowcat__Persist__Append append = COWCAT__PERSIST__APPEND__INIT;
    append.shard = (char *)"catalog";
    append.expected_upper = 0;
    append.new_upper = 1;
    append.n_updates = nu;
    append.updates = ptrs;
    Cowcat__Persist__PersistRecord ra = COWCAT__PERSIST__PERSIST_RECORD__INIT;
    ra.kind_case = COWCAT__PERSIST__PERSIST_RECORD__KIND_APPEND;
    ra.append = &append;
    buf payload = {0};
    put32(&payload, 2);
    put_record(&payload, &rc);
    put_record(&payload, &ra);
    put_frame(seg, payload.p, payload.len);
    free(payload.p);
    free(ptrs);
    free(ups);
}

static void
make_files(const uint8_t *data, size_t size)
{
    uint8_t mode = data[0];
    const uint8_t *in = data + 1;
    size_t n = size - 1;
    static const char seg_name[] = "log-0000000000000001.wal";
    buf seg = {0};
    if (mode & 16) {
        put_seg_header(&seg, 1);
        put_catalog_entries(&seg, in, n);
        write_file(seg_name, seg.p, seg.len);
        free(seg.p);
        return;
    }
    if ((mode & 3) == 0) {
        write_file(seg_name, in, n);
        return;
    }
    put_seg_header(&seg, 1);
    if ((mode & 3) == 1) {
        put_frame(&seg, in, n);
    } else if ((mode & 3) == 2) {
        put_records(&seg, in, n, mode & 4);
    } else {
        size_t body = n >= 4 ? wal__get32(in) : 0;
        size_t off = n >= 4 ? 4 : n;
        if (body > n - off)
            body = n - off;
        buf r = {0};
        put32(&r, WAL_ROLLUP_MAGIC);
        put32(&r, WAL_VERSION);
        wal__put64(buf_grow(&r, 8), 1);
        wal__put64(buf_grow(&r, 8), body);
        wal__put64(buf_grow(&r, 8), XXH3_64bits(in + off, body));
        buf_put(&r, in + off, body);
        write_file("rollup-0000000000000001", r.p, r.len);
        free(r.p);
        put_records(&seg, in + off + body, n - off - body, mode & 4);
    }
    if ((mode & 8) && seg.len > WAL_SEG_HDR)
        seg.len--;
    write_file(seg_name, seg.p, seg.len);
    free(seg.p);
}

/* --- reading the recovered shards ---------------------------------------------------------- */

typedef struct reading {
    XXH3_state_t *h;                   /* the shard's digest */
    uint8_t *prev;                     /* the previous snapshot entry's key and value */
    size_t prev_klen, prev_vlen;
    bool have_prev;
    const char *id;                    /* the shard's name */
    uint64_t lower_bound, upper_bound; /* listen: updates must be inside */
} reading;

static int
compare_bytes(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    return c != 0 ? c : (an > bn) - (an < bn);
}

static int
on_entry(void *arg, pmap_bytes key, pmap_bytes value, int64_t diff)
{
    reading *rd = arg;
    if (diff == 0)
        die("a snapshot entry with diff 0", NULL);
    if (rd->have_prev) {
        int c = compare_bytes(rd->prev, rd->prev_klen, key.ptr, key.len);
        if (c == 0)
            c = compare_bytes(rd->prev + rd->prev_klen, rd->prev_vlen, value.ptr, value.len);
        if (c >= 0)
            die("snapshot entries out of (key, value) order", NULL);
    }
    free(rd->prev);
    rd->prev = malloc(key.len + value.len + 1);
    if (rd->prev == NULL)
        abort();
    if (key.len > 0)
        memcpy(rd->prev, key.ptr, key.len);
    if (value.len > 0)
        memcpy(rd->prev + key.len, value.ptr, value.len);
    rd->prev_klen = key.len;
    rd->prev_vlen = value.len;
    rd->have_prev = true;
    uint64_t kv[3] = {key.len, value.len, (uint64_t)diff};
    XXH3_64bits_update(rd->h, kv, sizeof kv);
    XXH3_64bits_update(rd->h, key.ptr, key.len);
    XXH3_64bits_update(rd->h, value.ptr, value.len);
    return 0;
}

static void
on_listen(void *arg, const persist_update *updates, size_t n, uint64_t lower, uint64_t upper)
{
    reading *rd = arg;
    char what[512];
    if (lower > upper || lower < rd->lower_bound || upper > rd->upper_bound) {
        snprintf(what, sizeof what, "shard \"%s\": append [%llu, %llu), since %llu, upper %llu",
                 rd->id, (unsigned long long)lower, (unsigned long long)upper,
                 (unsigned long long)rd->lower_bound, (unsigned long long)rd->upper_bound);
        die("a replayed append outside [since, upper]", what);
    }
    uint64_t range[3] = {lower, upper, n};
    XXH3_64bits_update(rd->h, range, sizeof range);
    for (size_t i = 0; i < n; i++) {
        if (updates[i].ts < lower || updates[i].ts >= upper || updates[i].diff == 0) {
            snprintf(what, sizeof what, "shard \"%s\": update at ts %llu, diff %lld in [%llu, %llu)",
                     rd->id, (unsigned long long)updates[i].ts, (long long)updates[i].diff,
                     (unsigned long long)lower, (unsigned long long)upper);
            die("a replayed update outside its append (or with diff 0)", what);
        }
        uint64_t kv[4] = {updates[i].key.len, updates[i].value.len, updates[i].ts,
                          (uint64_t)updates[i].diff};
        XXH3_64bits_update(rd->h, kv, sizeof kv);
        XXH3_64bits_update(rd->h, updates[i].key.ptr, updates[i].key.len);
        XXH3_64bits_update(rd->h, updates[i].value.ptr, updates[i].value.len);
    }
}

static void
snapshot_at(persist_shard *s, uint64_t as_of, reading *rd)
{
    cc_err err;
    rd->have_prev = false;
    XXH3_64bits_update(rd->h, &as_of, sizeof as_of);
    if (persist_snapshot(s, as_of, on_entry, rd, &err) != CC_OK)
        die("persist_snapshot of a recovered shard", err.msg);
}

/* Reads every shard back; returns an order-independent digest of them all. */
static uint64_t
read_back(persist_client *c)
{
    XXH3_state_t *h = XXH3_createState();
    if (h == NULL)
        abort();
    uint64_t digest = c->nall;
    for (size_t i = 0; i < c->nall; i++) {
        persist_shard *s = c->all[i];
        uint64_t upper = persist_shard_upper(s), since = persist_shard_since(s);
        if (since > upper) {
            char what[512];
            snprintf(what, sizeof what, "shard \"%s\": since %llu, upper %llu", s->id,
                     (unsigned long long)since, (unsigned long long)upper);
            die("a recovered shard with since > upper", what);
        }
        XXH3_64bits_reset(h);
        XXH3_64bits_update(h, s->id, strlen(s->id) + 1);
        uint64_t fr[2] = {upper, since};
        XXH3_64bits_update(h, fr, sizeof fr);
        reading rd = {.h = h, .id = s->id, .lower_bound = since, .upper_bound = upper};
        if (upper > since) {
            snapshot_at(s, since, &rd);
            snapshot_at(s, upper - 1, &rd);
        }
        free(rd.prev);
        pmap_omap trace;
        uint64_t tupper;
        persist_shard_trace(s, &trace, &tupper);
        if (tupper != upper)
            die("persist_shard_trace at another upper", s->id);
        persist_trace_release(c, &trace);
        persist_listener *l;
        cc_err err;
        if (persist_listen(s, since, on_listen, &rd, &l, &err) != CC_OK)
            die("persist_listen from since", err.msg);
        persist_listen_stop(l);
        digest += XXH3_64bits_digest(h);
    }
    XXH3_freeState(h);
    return digest;
}

/* --- the catalog on top ------------------------------------------------------------------- */

/*
 * Whether the catalog is consistent: cowcat_check passes, or its one finding
 * is a stored create_sql that does not parse and the same check without the
 * re-parse (cat_check with no parse function, then the txn-wal
 * registrations, as cowcat_check runs them) passes.
 *
 * cowcat_open verifies what loading needs (ids, names and OIDs unique) and
 * trusts the rest of the durable state: it does not re-parse every stored
 * statement (O(n) parses) nor chase every reference. A forged directory
 * can hold a catalog that breaks those (a statement that does not parse, a
 * use of an object that does not exist); finding them is what cowcat_check
 * (`cowcat check`) is for. So a recovered catalog need not be consistent;
 * but one that is must stay so after DDL (open_catalog).
 */
static bool
catalog_is_consistent(cowcat *db, char *why, size_t cap)
{
    cowcat_error err;
    if (cowcat_check(db, &err) == COWCAT_OK)
        return true;
    snprintf(why, cap, "%s", err.message);
    if (strstr(err.message, "create_sql does not parse") == NULL)
        return false;
    pmap_reader *r;
    cc_err e;
    cc_err_clear(&e);
    if (pmap_reader_new(cat_catalog_domain(db->cat), &r, &e) != CC_OK)
        die("pmap_reader_new", e.msg);
    pmap_reader_pin(r);
    cc_code rc = cat_check(cat_state_acquire(db->cat), NULL, NULL, &e);
    if (rc == CC_OK)
        rc = dur_tables_check(db->dur, &e);
    pmap_reader_unpin(r);
    pmap_reader_free(r);
    if (rc != CC_OK)
        snprintf(why, cap, "%s (beside a create_sql that does not parse)", e.msg);
    return rc == CC_OK;
}

/* The catalog content fingerprint of the published version. */
static void
fingerprint(cowcat_session *s, uint64_t fp[2])
{
    cowcat_snapshot *snap;
    cowcat_error err;
    if (cowcat_snapshot_open(s, &snap, &err) != COWCAT_OK)
        die("cowcat_snapshot_open", err.message);
    cowcat_snapshot_fingerprint(snap, fp);
    cowcat_snapshot_close(snap);
}

/*
 * Runs one statement on a recovered catalog: it succeeds, or fails with a
 * message and a SQLSTATE and changes nothing. CORRUPT is such a failure: a
 * statement that must re-parse a stored statement only a forged directory
 * holds ("the stored statement of v does not parse", "... is not a view");
 * INTERNAL is not.
 */
static void
probe(cowcat_session *s, const char *sql)
{
    uint64_t before[2], after[2];
    fingerprint(s, before);
    cowcat_error err;
    memset(&err, 0, sizeof err);
    cowcat_code rc = cowcat_exec(s, sql, NULL, NULL, &err);
    if (rc == COWCAT_OK)
        return;
    char what[COWCAT_ERROR_MAX + 600];
    snprintf(what, sizeof what, "%s: %s (%s)", sql, err.message, err.sqlstate);
    if (err.message[0] == '\0' || err.sqlstate[0] == '\0')
        die("a statement failed without a message or SQLSTATE", what);
    if (rc == COWCAT_INTERNAL)
        die("a statement on a recovered catalog failed with an internal error", what);
    fingerprint(s, after);
    if (before[0] != after[0] || before[1] != after[1])
        die("a failed statement changed a recovered catalog", what);
}

/* The first few relations and types of the catalog: (kind, "schema"."name"). */
typedef struct objects {
    struct {
        cowcat_kind kind;
        char qname[300];
        char rename[300];
    } o[6];
    size_t n;
} objects;

/* Appends name to out[*at..cap) as a quoted identifier; false if it does not fit. */
static bool
put_ident(char *out, size_t cap, size_t *at, const char *name)
{
    if (*at + 3 > cap)
        return false;
    out[(*at)++] = '"';
    for (const char *p = name; *p != '\0'; p++) {
        if (*at + 4 > cap)
            return false;
        if (*p == '"')
            out[(*at)++] = '"';
        out[(*at)++] = *p;
    }
    out[(*at)++] = '"';
    out[*at] = '\0';
    return true;
}

static int
on_object(void *arg, const cowcat_object *o)
{
    objects *os = arg;
    if (os->n == sizeof os->o / sizeof *os->o)
        return 1;
    if (o->schema == NULL || o->name == NULL)
        return 0;
    size_t at = 0, rat = 0;
    char *q = os->o[os->n].qname, *r = os->o[os->n].rename, name[80];
    if (strlen(o->name) > 60)
        return 0;
    snprintf(name, sizeof name, "%s_fz", o->name);
    if (!put_ident(q, sizeof os->o[0].qname, &at, o->schema) || at + 1 >= sizeof os->o[0].qname)
        return 0;
    q[at++] = '.';
    if (!put_ident(q, sizeof os->o[0].qname, &at, o->name) ||
        !put_ident(r, sizeof os->o[0].rename, &rat, name))
        return 0;
    os->o[os->n++].kind = o->kind;
    return 0;
}

static int
on_schema_row(void *arg, const char *const *values, size_t n)
{
    char (*names)[80] = arg;
    size_t i = 0;
    while (i < 4 && names[i][0] != '\0')
        i++;
    if (i < 4 && n >= 1 && values[0] != NULL && strlen(values[0]) < 80)
        snprintf(names[i], 80, "%s", values[0]);
    return 0;
}

/* The SQL word of a relation or type kind; NULL for other kinds. */
static const char *
kind_word(cowcat_kind k)
{
    switch (k) {
    case COWCAT_KIND_TABLE:
        return "TABLE";
    case COWCAT_KIND_VIEW:
        return "VIEW";
    case COWCAT_KIND_MATERIALIZED_VIEW:
        return "MATERIALIZED VIEW";
    case COWCAT_KIND_INDEX:
        return "INDEX";
    case COWCAT_KIND_TYPE:
        return "TYPE";
    default:
        return NULL;
    }
}

/*
 * DDL on a recovered catalog: for a few relations and types, SHOW CREATE,
 * ADD COLUMN (tables) and RENAME (which rewrites the stored statements of
 * dependents), each succeeding or failing cleanly (probe).
 */
static void
exercise(cowcat_session *s)
{
    char schemas[4][80];
    memset(schemas, 0, sizeof schemas);
    cowcat_callbacks cb = {.row = on_schema_row};
    cowcat_error err;
    static const char list[] = "SELECT schema_name FROM information_schema.schemata";
    if (cowcat_exec(s, list, &cb, schemas, &err) != COWCAT_OK)
        memset(schemas, 0, sizeof schemas); /* then only the CREATE TABLE */
    objects os = {.n = 0};
    cowcat_snapshot *snap;
    if (cowcat_snapshot_open(s, &snap, &err) != COWCAT_OK)
        die("cowcat_snapshot_open", err.message);
    for (size_t i = 0; i < 4 && schemas[i][0] != '\0'; i++)
        cowcat_snapshot_walk_schema(snap, schemas[i], on_object, &os, &err);
    cowcat_snapshot_close(snap);
    char sql[1024];
    for (size_t i = 0; i < os.n; i++) {
        const char *kind = kind_word(os.o[i].kind);
        if (kind == NULL)
            continue;
        snprintf(sql, sizeof sql, "SHOW CREATE %s %s", kind, os.o[i].qname);
        probe(s, sql);
        if (os.o[i].kind == COWCAT_KIND_TABLE) {
            snprintf(sql, sizeof sql, "ALTER TABLE %s ADD COLUMN fz_probe int", os.o[i].qname);
            probe(s, sql);
        }
        snprintf(sql, sizeof sql, "ALTER %s %s RENAME TO %s", kind, os.o[i].qname,
                 os.o[i].rename);
        probe(s, sql);
    }
    probe(s, "CREATE TABLE fuzz_probe (a int PRIMARY KEY)");
}

static void
open_catalog(void)
{
    cowcat_options o = {.data_dir = scratch, .durability = COWCAT_DURABILITY_NONE};
    cowcat *db;
    cowcat_error err;
    if (cowcat_open(&o, &db, &err) != COWCAT_OK) {
        if (err.message[0] == '\0')
            die("cowcat_open failed without a message", NULL);
        if (err.code == COWCAT_INTERNAL)
            die("cowcat_open: internal error", err.message);
        return;
    }
    char why[CC_ERR_MSG_MAX + 64];
    bool consistent = catalog_is_consistent(db, why, sizeof why);
    cowcat_session *s;
    if (cowcat_session_open(db, NULL, &s, &err) == COWCAT_OK) {
        exercise(s);
        cowcat_session_close(s);
        if (consistent && !catalog_is_consistent(db, why, sizeof why))
            die("DDL made a consistent recovered catalog inconsistent", why);
    }
    cowcat_close(db);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    make_scratch();
    make_files(data, size);

    persist_options po = {.backend = PERSIST_BACKEND_FILE, .data_dir = scratch,
                          .sync = PERSIST_SYNC_NONE};
    persist_client *c;
    cc_err err;
    cc_err_clear(&err);
    if (persist_client_open(&po, &c, &err) != CC_OK) {
        if (err.msg[0] == '\0')
            die("persist_client_open failed without a message", NULL);
        remove_scratch();
        return 0;
    }
    uint64_t before = read_back(c);
    bool has_catalog = persist_shard_find(c, "catalog") != NULL;
    if (persist_client_rollup(c, &err) != CC_OK)
        die("persist_client_rollup of a recovered client", err.msg);
    persist_client_close(c);
    if (persist_client_open(&po, &c, &err) != CC_OK)
        die("reopening after a rollup of a recovered client", err.msg);
    if (read_back(c) != before)
        die("a rollup of a recovered client reopened to different contents", NULL);
    persist_client_close(c);

    if (has_catalog)
        open_catalog();
    remove_scratch();
    return 0;
}
