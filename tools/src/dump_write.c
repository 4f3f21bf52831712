/*
 * tools/src/dump_write.c — writing a dump of a data directory's catalog
 * (format: tools/tools.h, proto/dump.proto; bytes: dump_format.c).
 *
 * The dump is of one version: an O(1) view (a pmap clone) of the catalog
 * shard's consolidated trace at its upper, held while the dump is written.
 * The trace maps [tag][encoded key] + value to the net diff, in exactly the
 * dump's order, so nothing is sorted and nothing decoded (the view's keys
 * escape 0x00 bytes, which keeps their order; such keys are unescaped into
 * a scratch buffer). The durable layer is not opened at all: the dump only
 * needs the shard's consolidated contents, which are the durable
 * collections by definition (durable/durable.h: key = [tag][encoded key]).
 * The data directory is locked by this process and opened read-only, so
 * nothing commits meanwhile anyway.
 *
 * A regular file is written in one pass: the body after the header's fixed
 * room (TOOLS_DUMP_HEADER_BYTES: the header is padded to it), then the
 * header in front. A pipe gets two passes over the same view: the first
 * computes counts, length and checksum for the header, the second writes
 * (and must reproduce the checksum). Both give the same bytes.
 *
 * Order: collections by tag, each in encoded-key order. Every trace entry
 * must have net diff +1 and a key of its own (CORRUPT otherwise).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "base/alloc.h"
#include "internal.h"

#define OUT_BUF (1u << 20)

/* A growable scratch buffer for unescaped trace keys. */
typedef struct scratch {
    uint8_t *p;
    size_t cap;
} scratch;

static bool
scratch_fit(scratch *s, size_t n)
{
    if (n <= s->cap)
        return true;
    uint8_t *np = cc_realloc(s->p, n);
    if (np == NULL)
        return false;
    s->p = np;
    s->cap = n;
    return true;
}

/* The catalog_format_version of a config entry (key, value), or 0 if it is another key. */
static cc_code
config_format_version(pmap_bytes key, pmap_bytes value, uint32_t *out, cc_err *err)
{
    ProtobufCMessage *k, *v;
    cc_code rc = dur_decode(DUR_CONFIG, DUR_PART_KEY, key, &k, err);
    if (rc != CC_OK)
        return rc;
    bool hit = strcmp(((Cowcat__Catalog__ConfigKey *)k)->key, "catalog_format_version") == 0;
    protobuf_c_message_free_unpacked(k, NULL);
    if (!hit)
        return CC_OK;
    if ((rc = dur_decode(DUR_CONFIG, DUR_PART_VALUE, value, &v, err)) != CC_OK)
        return rc;
    *out = (uint32_t)((Cowcat__Catalog__ConfigValue *)v)->value;
    protobuf_c_message_free_unpacked(v, NULL);
    return CC_OK;
}

/*
 * One pass over the trace view in dump order: fence token left out, audit
 * log only if asked for. *catver (may be NULL) gets the format version.
 */
static cc_code
walk_trace(tools__pass *p, const pmap_omap *trace, bool with_audit, uint32_t *catver)
{
    scratch sc[2] = {{0}, {0}}; /* the previous key may live in one while we fill the other */
    pmap_bytes prev = {NULL, 0};
    size_t n = 0;
    cc_code rc = CC_OK;
    pmap_omap_cursor cur;
    for (bool ok = pmap_omap_seek_first(&cur, trace); ok && rc == CC_OK;
         ok = pmap_omap_cursor_next(&cur), n++) {
        pmap_bytes enc, key, value;
        void *v;
        pmap_omap_cursor_get(&cur, &enc, &v);
        intptr_t diff = (intptr_t)v;
        bool decoded = persist_trace_decode(enc, &key, &value);
        if (decoded && memchr(key.ptr, 0, key.len) != NULL) { /* escaped: unescape a copy */
            scratch *s = &sc[n & 1];
            if (!scratch_fit(s, enc.len)) {
                rc = cc_err_set(p->err, CC_NOMEM, "out of memory reading the catalog shard");
                break;
            }
            decoded = persist_trace_decode_copy(enc, s->p, &key, &value);
        }
        const uint8_t *kp = key.ptr;
        if (!decoded || key.len < 1 || kp[0] < DUR_COLLECTION_MIN || kp[0] > DUR_COLLECTION_MAX ||
            diff != 1) {
            rc = cc_err_set(p->err, CC_CORRUPT,
                            "malformed catalog shard entry %zu (key of %zu bytes, net diff %lld)",
                            n, key.len, (long long)diff);
            break;
        }
        if (prev.ptr != NULL && prev.len == key.len && memcmp(prev.ptr, key.ptr, key.len) == 0) {
            rc = cc_err_set(p->err, CC_CORRUPT, "the catalog shard holds two values for one %s key",
                            tools_collection_name(kp[0]));
            break;
        }
        prev = key;
        dur_collection coll = kp[0];
        pmap_bytes k = {kp + 1, key.len - 1};
        if (coll == DUR_FENCE_TOKEN || (coll == DUR_AUDIT_LOG && !with_audit))
            continue;
        if (coll == DUR_CONFIG && catver != NULL)
            rc = config_format_version(k, value, catver, p->err);
        if (rc == CC_OK)
            rc = tools__emit(p, coll, k, value);
    }
    cc_free(sc[0].p);
    cc_free(sc[1].p);
    tools__finish_kinds(p);
    return rc;
}

/* Writes n bytes at offset off of fd. Errors: IO. */
static cc_code
pwrite_all(int fd, const uint8_t *p, size_t n, off_t off, cc_err *err)
{
    while (n > 0) {
        ssize_t w = pwrite(fd, p, n, off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return tools__io_error(err, "write to", "the dump file", w < 0 ? errno : EIO);
        p += w;
        n -= (size_t)w;
        off += w;
    }
    return CC_OK;
}

/*
 * One pass for a regular file: the body streams out after room for the
 * header (its fixed TOOLS_DUMP_HEADER_BYTES), then the header goes in front.
 */
static cc_code
write_one_pass(const pmap_omap *trace, uint64_t upper, const tools_dump_options *o, int fd,
               off_t base, XXH3_state_t *xx, tools_dump_summary *sum, cc_err *err)
{
    bool with_audit = o->content == TOOLS_DUMP_WITH_AUDIT_LOG;
    tools__out out = {0};
    tools__pass p = {0};
    uint32_t catver = 0;
    uint8_t *hdr = NULL;
    size_t hlen = 0;
    tools__header hb;
    XXH128_canonical_t sum1;
    cc_code rc = tools__out_init(&out, fd, "the dump file", OUT_BUF, err);
    if (rc == CC_OK && lseek(fd, base + TOOLS_DUMP_HEADER_BYTES, SEEK_SET) < 0)
        rc = tools__io_error(err, "seek in", "the dump file", errno);
    if (rc == CC_OK) {
        tools__pass_init(&p, xx, &out, o, "dump: write", pmap_omap_count(trace), err);
        rc = walk_trace(&p, trace, with_audit, &catver);
    }
    if (rc == CC_OK)
        rc = tools__out_flush(&out, err);
    if (rc == CC_OK && catver == 0)
        rc = cc_err_set(err, CC_CORRUPT, "the catalog has no catalog_format_version");
    if (rc == CC_OK) {
        tools__progress_done(&p.progress);
        XXH128_canonicalFromHash(&sum1, XXH3_128bits_digest(xx));
        tools__header_fill(&hb, &p, TOOLS_DUMP_FORMAT_VERSION, catver, upper, with_audit, &sum1);
        rc = tools_dump_header_pack(&hb.h, &hdr, &hlen, err);
    }
    if (rc == CC_OK && hlen != TOOLS_DUMP_HEADER_BYTES)
        rc = cc_err_set(err, CC_INTERNAL, "dump header of %zu bytes, not %u", hlen,
                        TOOLS_DUMP_HEADER_BYTES);
    if (rc == CC_OK)
        rc = pwrite_all(fd, hdr, hlen, base, err);
    if (rc == CC_OK && sum != NULL) {
        sum->entries = p.entries;
        sum->bytes = hlen + out.written;
        sum->upper = upper;
    }
    cc_free(hdr);
    tools__out_fini(&out);
    return rc;
}

/* Two passes, for a pipe: counts and checksum first, then header and body. */
static cc_code
write_two_passes(const pmap_omap *trace, uint64_t upper, const tools_dump_options *o, int fd,
                 XXH3_state_t *xx, tools_dump_summary *sum, cc_err *err)
{
    bool with_audit = o->content == TOOLS_DUMP_WITH_AUDIT_LOG;
    tools__out out = {0};
    tools__pass p1 = {0}, p2 = {0};
    tools__header hb;
    uint32_t catver = 0;
    XXH128_canonical_t sum1, sum2;
    uint64_t total = pmap_omap_count(trace);
    tools__pass_init(&p1, xx, NULL, o, "dump: checksum", total, err);
    cc_code rc = walk_trace(&p1, trace, with_audit, &catver);
    if (rc == CC_OK && catver == 0)
        rc = cc_err_set(err, CC_CORRUPT, "the catalog has no catalog_format_version");
    if (rc != CC_OK)
        return rc;
    tools__progress_done(&p1.progress);
    XXH128_canonicalFromHash(&sum1, XXH3_128bits_digest(xx));
    rc = tools__out_init(&out, fd, fd == 1 ? "standard output" : "the dump file", OUT_BUF, err);
    if (rc == CC_OK) {
        tools__header_fill(&hb, &p1, TOOLS_DUMP_FORMAT_VERSION, catver, upper, with_audit, &sum1);
        rc = tools__header_write(&out, &hb, err);
    }
    if (rc == CC_OK) {
        tools__pass_init(&p2, xx, &out, o, "dump: write", total, err);
        rc = walk_trace(&p2, trace, with_audit, NULL);
    }
    if (rc == CC_OK)
        rc = tools__out_flush(&out, err);
    if (rc == CC_OK) {
        tools__progress_done(&p2.progress);
        XXH128_canonicalFromHash(&sum2, XXH3_128bits_digest(xx));
        if (memcmp(&sum1, &sum2, sizeof sum1) != 0 || p1.bytes != p2.bytes)
            rc = cc_err_set(err, CC_INTERNAL, "the catalog changed while it was being dumped");
    }
    if (rc == CC_OK && sum != NULL) {
        sum->entries = p2.entries;
        sum->bytes = out.written;
        sum->upper = upper;
    }
    tools__out_fini(&out);
    return rc;
}

cc_code
tools_dump_write_fd(tools_datadir *d, const tools_dump_options *o, int fd, tools_dump_summary *sum,
                    cc_err *err)
{
    static const tools_dump_options defaults = {0};
    if (o == NULL)
        o = &defaults;
    pmap_omap trace;
    uint64_t upper;
    persist_shard_trace(tools_datadir_shard(d), &trace, &upper);
    XXH3_state_t *xx = XXH3_createState();
    cc_code rc;
    struct stat st;
    off_t base = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? lseek(fd, 0, SEEK_CUR) : -1;
    if (xx == NULL)
        rc = cc_err_set(err, CC_NOMEM, "out of memory starting a checksum");
    else if (base >= 0)
        rc = write_one_pass(&trace, upper, o, fd, base, xx, sum, err);
    else
        rc = write_two_passes(&trace, upper, o, fd, xx, sum, err);
    if (xx != NULL)
        XXH3_freeState(xx);
    persist_trace_release(tools_datadir_client(d), &trace);
    return rc;
}

cc_code
tools_dump_to_path(const char *data_dir, const char *path, const tools_dump_options *o,
                   tools_dump_summary *sum, cc_err *err)
{
    tools_datadir *d;
    cc_code rc = tools_datadir_open(data_dir, TOOLS_OPEN_PERSIST, &d, err);
    if (rc != CC_OK)
        return rc;
    if (path == NULL || strcmp(path, "-") == 0) {
        rc = tools_dump_write_fd(d, o, 1, sum, err);
        tools_datadir_close(d);
        return rc;
    }
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid()) >= sizeof tmp) {
        tools_datadir_close(d);
        return cc_err_set(err, CC_INVALID, "output path too long");
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        tools_datadir_close(d);
        return tools__io_error(err, "create file", tmp, errno);
    }
    rc = tools_dump_write_fd(d, o, fd, sum, err);
    tools_datadir_close(d);
    if (rc == CC_OK && fsync(fd) != 0)
        rc = tools__io_error(err, "fsync file", tmp, errno);
    if (close(fd) != 0 && rc == CC_OK)
        rc = tools__io_error(err, "close file", tmp, errno);
    if (rc == CC_OK && rename(tmp, path) != 0)
        rc = tools__io_error(err, "rename file to", path, errno);
    if (rc != CC_OK) {
        unlink(tmp); /* the only thing this call created */
        return rc;
    }
    char dir[4096], base[4096];
    tools__split_path(path, dir, base, sizeof dir);
    return tools__sync_dir(dir, err);
}
