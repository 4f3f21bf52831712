/*
 * tools/src/dump_read.c — reading and verifying a dump (format: tools/tools.h,
 * proto/dump.proto). Also the entry point of the libFuzzer target.
 *
 * Verification order, each failure with its own message:
 *   1. header: a sane length, decodes, magic, format version (newer is
 *      refused), catalog format version, a 16-byte checksum;
 *   2. body: exactly body_bytes long (truncation, trailing bytes), XXH3-128;
 *   3. entries: framing (one StateUpdateKind field holding exactly key and
 *      value), a known collection, no fence token, audit log only if the
 *      header says so, keys canonical (decode and re-encode to the same bytes,
 *      no unknown fields — so a key has one spelling), values well-formed,
 *      (collection, key) strictly increasing (no duplicates);
 *   4. the whole: counts equal to the header's, the catalog format version
 *      entry equal to the header's, each id allocator past the largest user
 *      id it has handed out.
 * Values are only checked at the wire level here (no per-entry decode of a
 * million items); the restore's full check decodes and verifies every one.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "base/alloc.h"
#include "base/wire.h"
#include "internal.h"

/* Collections whose keys are CatalogIds handed out by an id allocator (user ids). */
static const struct {
    dur_collection coll;
    const char *alloc;
} id_colls[] = {
    {DUR_DATABASES, DUR_ALLOC_DATABASE},    {DUR_SCHEMAS, DUR_ALLOC_SCHEMA},
    {DUR_ITEMS, DUR_ALLOC_USER_ITEM},       {DUR_ROLES, DUR_ALLOC_USER_ROLE},
    {DUR_CLUSTERS, DUR_ALLOC_USER_CLUSTER},
};
#define NID_COLLS (sizeof id_colls / sizeof *id_colls)

typedef struct reader {
    tools_dump *d;
    const Cowcat__Dump__DumpHeader *h;
    uint64_t max_user_id[NID_COLLS]; /* largest user id seen, per id collection */
    bool have_id[NID_COLLS];
    uint64_t alloc_next[NID_COLLS]; /* the allocator's stored value */
    bool have_alloc[NID_COLLS];
    bool have_catver;
    cc_err *err;
} reader;

/* True if m or a message inside it carries fields its type does not know. */
static bool
has_unknown_fields(const ProtobufCMessage *m)
{
    if (m->n_unknown_fields != 0)
        return true;
    const ProtobufCMessageDescriptor *d = m->descriptor;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        const char *base = (const char *)m;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)(base + f->quantifier_offset);
            ProtobufCMessage *const *v = *(ProtobufCMessage *const *const *)(base + f->offset);
            for (size_t j = 0; j < n; j++)
                if (has_unknown_fields(v[j]))
                    return true;
        } else {
            const ProtobufCMessage *sub = *(const ProtobufCMessage *const *)(base + f->offset);
            if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
                *(const uint32_t *)(base + f->quantifier_offset) != f->id)
                continue;
            if (sub != NULL && has_unknown_fields(sub))
                return true;
        }
    }
    return false;
}

/* Fails entry i (at byte off) with a CORRUPT message. */
static cc_code
bad_entry(reader *r, size_t i, size_t off, const char *what)
{
    return cc_err_set(r->err, CC_CORRUPT, "invalid dump: entry %zu (byte %zu): %s", i + 1, off,
                      what);
}

/* Whether the top level of a message is well-formed protobuf. */
static bool
well_formed(pmap_bytes b)
{
    cc_wire w = cc_wire_of(b.ptr, b.len);
    while (w.p < w.end) {
        uint64_t num, val;
        int wt;
        const uint8_t *bytes;
        if (!cc_wire_field(&w, &num, &wt, &val, &bytes) || num == 0)
            return false;
    }
    return true;
}

static int
id_coll_index(dur_collection coll)
{
    for (size_t j = 0; j < NID_COLLS; j++)
        if (id_colls[j].coll == coll)
            return (int)j;
    return -1;
}

/* Decodes a key, insists it is canonical, and records what the whole-dump checks need. */
static cc_code
check_key(reader *r, size_t i, size_t off, const tools_dump_entry *e)
{
    ProtobufCMessage *m;
    cc_err sub;
    if (dur_decode(e->coll, DUR_PART_KEY, e->key, &m, &sub) != CC_OK)
        return bad_entry(r, i, off, "undecodable key");
    cc_code rc = CC_OK;
    size_t n = protobuf_c_message_get_packed_size(m);
    uint8_t small[256];
    uint8_t *buf = n <= sizeof small ? small : cc_malloc(n);
    if (buf == NULL) {
        rc = cc_err_set(r->err, CC_NOMEM, "out of memory reading a dump");
    } else {
        protobuf_c_message_pack(m, buf);
        if (n != e->key.len || memcmp(buf, e->key.ptr, n) != 0 || has_unknown_fields(m))
            rc = bad_entry(r, i, off, "key is not in canonical form");
        if (buf != small)
            cc_free(buf);
    }
    int j = id_coll_index(e->coll);
    if (rc == CC_OK && j >= 0) {
        /* Every id collection's key is {CatalogId id = 1}. */
        const Cowcat__Catalog__CatalogId *id = ((const Cowcat__Catalog__DatabaseKey *)m)->id;
        if (id == NULL) {
            rc = bad_entry(r, i, off, "key has no id");
        } else if (!id->system) {
            r->have_id[j] = true;
            if (id->value > r->max_user_id[j])
                r->max_user_id[j] = id->value;
        }
    } else if (rc == CC_OK && e->coll == DUR_ID_ALLOCATOR) {
        const char *name = ((const Cowcat__Catalog__IdAllocKey *)m)->name;
        for (size_t k = 0; k < NID_COLLS; k++)
            if (strcmp(name, id_colls[k].alloc) == 0) {
                ProtobufCMessage *v;
                if (dur_decode(e->coll, DUR_PART_VALUE, e->value, &v, &sub) != CC_OK) {
                    rc = bad_entry(r, i, off, "undecodable id allocator value");
                } else {
                    r->have_alloc[k] = true;
                    r->alloc_next[k] = ((Cowcat__Catalog__IdAllocValue *)v)->next_id;
                    protobuf_c_message_free_unpacked(v, NULL);
                }
            }
    } else if (rc == CC_OK && e->coll == DUR_CONFIG &&
               strcmp(((const Cowcat__Catalog__ConfigKey *)m)->key, "catalog_format_version") ==
                   0) {
        ProtobufCMessage *v;
        if (dur_decode(e->coll, DUR_PART_VALUE, e->value, &v, &sub) != CC_OK) {
            rc = bad_entry(r, i, off, "undecodable catalog_format_version");
        } else {
            uint64_t have = ((Cowcat__Catalog__ConfigValue *)v)->value;
            protobuf_c_message_free_unpacked(v, NULL);
            r->have_catver = true;
            if (have != r->h->catalog_format_version)
                rc = cc_err_set(r->err, CC_CORRUPT,
                                "invalid dump: catalog_format_version entry is %" PRIu64
                                ", the header says %u",
                                have, r->h->catalog_format_version);
        }
    }
    protobuf_c_message_free_unpacked(m, NULL);
    return rc;
}

/* The values of small collections are decoded in full; the big ones checked at the wire level. */
static cc_code
check_value(reader *r, size_t i, size_t off, const tools_dump_entry *e)
{
    if (id_coll_index(e->coll) >= 0) {
        if (!well_formed(e->value))
            return bad_entry(r, i, off, "undecodable value");
        if (e->coll == DUR_ITEMS) {
            cat_kind k = tools__item_kind(e->value);
            if (k == CAT_NKIND)
                return bad_entry(r, i, off, "item has no valid kind");
            r->d->kinds[k]++;
        }
        return CC_OK;
    }
    ProtobufCMessage *m;
    cc_err sub;
    if (dur_decode(e->coll, DUR_PART_VALUE, e->value, &m, &sub) != CC_OK)
        return bad_entry(r, i, off, "undecodable value");
    protobuf_c_message_free_unpacked(m, NULL);
    return CC_OK;
}

static int
bytes_cmp(pmap_bytes a, pmap_bytes b)
{
    size_t n = a.len < b.len ? a.len : b.len;
    int c = n > 0 ? memcmp(a.ptr, b.ptr, n) : 0;
    return c != 0 ? c : (a.len > b.len) - (a.len < b.len);
}

/* Parses the entry at *w (its index i) into e and checks it against the previous one. */
static cc_code
parse_entry(reader *r, cc_wire *w, size_t i, tools_dump_entry *e)
{
    size_t off = (size_t)(w->p - r->d->data);
    uint64_t elen, coll, num, len, klen, vlen;
    int wt;
    const uint8_t *inner, *kp, *vp;
    if (!cc_wire_varint(w, &elen) || elen > (uint64_t)(w->end - w->p))
        return bad_entry(r, i, off, "entry runs past the end of the body");
    cc_wire ew = cc_wire_of(w->p, (size_t)elen);
    w->p += elen;
    if (!cc_wire_field(&ew, &coll, &wt, &len, &inner) || wt != CC_WIRE_LEN || ew.p != ew.end)
        return bad_entry(r, i, off, "not one collection entry");
    if (coll < DUR_COLLECTION_MIN || coll > DUR_COLLECTION_MAX)
        return bad_entry(r, i, off, "unknown collection");
    if (coll == DUR_FENCE_TOKEN)
        return bad_entry(r, i, off, "a fence token (dumps never hold one)");
    if (coll == DUR_AUDIT_LOG && !r->h->audit_log)
        return bad_entry(r, i, off, "an audit log entry, but the header says there are none");
    cc_wire iw = cc_wire_of(inner, (size_t)len);
    if (!cc_wire_field(&iw, &num, &wt, &klen, &kp) || num != 1 || wt != CC_WIRE_LEN ||
        !cc_wire_field(&iw, &num, &wt, &vlen, &vp) || num != 2 || wt != CC_WIRE_LEN ||
        iw.p != iw.end)
        return bad_entry(r, i, off, "entry is not exactly a key and a value");
    e->coll = (dur_collection)coll;
    e->key = (pmap_bytes){kp, (size_t)klen};
    e->value = (pmap_bytes){vp, (size_t)vlen};
    if (i > 0) {
        const tools_dump_entry *p = &r->d->entries[i - 1];
        int c = p->coll != e->coll ? (p->coll < e->coll ? -1 : 1) : bytes_cmp(p->key, e->key);
        if (c == 0) {
            char what[128];
            snprintf(what, sizeof what, "duplicate %s key (the same as entry %zu)",
                     tools_collection_name(e->coll), i);
            return bad_entry(r, i, off, what);
        }
        if (c > 0)
            return bad_entry(r, i, off, "out of order (entries are sorted by collection, key)");
    }
    cc_code rc = check_key(r, i, off, e);
    if (rc == CC_OK)
        rc = check_value(r, i, off, e);
    return rc;
}

/* Parses and checks the header at the start of d->data. */
static cc_code
parse_header(tools_dump *d, cc_err *err)
{
    const size_t mlen = sizeof TOOLS_DUMP_MAGIC - 1;
    cc_wire w = cc_wire_of(d->data, d->len);
    uint64_t hlen;
    if (d->len == 0)
        return cc_err_set(err, CC_INVALID, "not a cowcat dump: the input is empty");
    if (!cc_wire_varint(&w, &hlen) || hlen == 0 || hlen > TOOLS_DUMP_HEADER_MAX)
        return cc_err_set(err, CC_INVALID, "not a cowcat dump: no header");
    size_t avail = (size_t)(w.end - w.p);
    /* The header is packed in field order, so a dump starts with field 1, the magic. */
    bool starts_like_dump = avail >= 2 + mlen && w.p[0] == 0x0a && w.p[1] == mlen &&
                            memcmp(w.p + 2, TOOLS_DUMP_MAGIC, mlen) == 0;
    if (hlen > avail) {
        if (starts_like_dump)
            return cc_err_set(err, CC_CORRUPT, "invalid dump: truncated in its header");
        return cc_err_set(err, CC_INVALID, "not a cowcat dump: no header");
    }
    d->header = cowcat__dump__dump_header__unpack(NULL, (size_t)hlen, w.p);
    if (d->header == NULL) {
        if (starts_like_dump)
            return cc_err_set(err, CC_CORRUPT, "invalid dump: the header does not decode");
        return cc_err_set(err, CC_INVALID, "not a cowcat dump: no header");
    }
    d->header_bytes = (size_t)(w.p - d->data) + (size_t)hlen;
    Cowcat__Dump__DumpHeader *h = d->header;
    if (strcmp(h->magic, TOOLS_DUMP_MAGIC) != 0)
        return cc_err_set(err, CC_INVALID, "not a cowcat dump: bad magic");
    if (h->format_version > TOOLS_DUMP_FORMAT_VERSION) {
        cc_err_set(err, CC_INVALID,
                   "dump format version %u is newer than this build's %u (written by cowcat %s)",
                   h->format_version, TOOLS_DUMP_FORMAT_VERSION, h->cowcat_version);
        return cc_err_hint(err, "Restore it with cowcat %s or later.", h->cowcat_version);
    }
    if (h->header_checksum_case != COWCAT__DUMP__DUMP_HEADER__HEADER_CHECKSUM_HEADER_XXH3_64)
        return cc_err_set(err, CC_CORRUPT, "invalid dump: the header has no checksum");
    uint64_t stored = h->header_xxh3_64;
    h->header_checksum_case = COWCAT__DUMP__DUMP_HEADER__HEADER_CHECKSUM__NOT_SET;
    size_t n = cowcat__dump__dump_header__get_packed_size(h);
    uint8_t *buf = cc_malloc(n + 1);
    if (buf == NULL)
        return cc_err_set(err, CC_NOMEM, "out of memory reading a dump");
    cowcat__dump__dump_header__pack(h, buf);
    uint64_t want = XXH3_64bits(buf, n);
    cc_free(buf);
    h->header_checksum_case = COWCAT__DUMP__DUMP_HEADER__HEADER_CHECKSUM_HEADER_XXH3_64;
    if (stored != want)
        return cc_err_set(err, CC_CORRUPT, "invalid dump: header checksum mismatch");
    if (h->format_version == 0)
        return cc_err_set(err, CC_CORRUPT, "invalid dump: format version 0");
    if (h->catalog_format_version > DUR_FORMAT_VERSION || h->catalog_format_version == 0)
        return cc_err_set(err, CC_INVALID,
                          "dump holds catalog format version %u; this build reads 1 to %u",
                          h->catalog_format_version, DUR_FORMAT_VERSION);
    if (h->body_xxh3_128.len != 16)
        return cc_err_set(err, CC_CORRUPT, "invalid dump: the header has no body checksum");
    return CC_OK;
}

/* Parses every entry of the body and runs the whole-dump checks. */
static cc_code
parse_body(tools_dump *d, cc_err *err)
{
    const Cowcat__Dump__DumpHeader *h = d->header;
    size_t body = d->len - d->header_bytes;
    if (h->body_bytes != body)
        return cc_err_set(err, CC_CORRUPT,
                          body < h->body_bytes
                              ? "invalid dump: truncated (the body has %zu bytes, the header "
                                "says %" PRIu64 ")"
                              : "invalid dump: trailing data (the body has %zu bytes, the header "
                                "says %" PRIu64 ")",
                          body, h->body_bytes);
    XXH128_canonical_t sum;
    XXH128_canonicalFromHash(&sum, XXH3_128bits(d->data + d->header_bytes, body));
    if (memcmp(sum.digest, h->body_xxh3_128.data, 16) != 0)
        return cc_err_set(err, CC_CORRUPT, "invalid dump: checksum mismatch (the body is damaged)");
    /* An entry takes at least 6 bytes: never trust the header's count for the allocation. */
    if (h->entries > body / 6)
        return cc_err_set(err, CC_CORRUPT,
                          "invalid dump: the header claims %" PRIu64 " entries in %zu bytes",
                          h->entries, body);
    d->entries = cc_malloc((h->entries + 1) * sizeof *d->entries);
    if (d->entries == NULL)
        return cc_err_set(err, CC_NOMEM, "out of memory reading a dump");
    reader r = {.d = d, .h = h, .err = err};
    cc_wire w = cc_wire_of(d->data + d->header_bytes, body);
    cc_code rc = CC_OK;
    while (w.p < w.end && rc == CC_OK) {
        if (d->n == h->entries)
            return cc_err_set(err, CC_CORRUPT,
                              "invalid dump: more entries than the header's %" PRIu64, h->entries);
        rc = parse_entry(&r, &w, d->n, &d->entries[d->n]);
        if (rc == CC_OK)
            d->counts[d->entries[d->n++].coll]++;
    }
    if (rc != CC_OK)
        return rc;
    if (d->n != h->entries)
        return cc_err_set(err, CC_CORRUPT, "invalid dump: %zu entries, the header says %" PRIu64,
                          d->n, h->entries);
    uint64_t listed[DUR_NCOLL] = {0};
    for (size_t i = 0; i < h->n_collections; i++) {
        uint32_t c = h->collections[i]->collection;
        if (c < DUR_COLLECTION_MIN || c > DUR_COLLECTION_MAX)
            return cc_err_set(err, CC_CORRUPT, "invalid dump: the header counts collection %u", c);
        listed[c] += h->collections[i]->entries;
    }
    for (int c = DUR_COLLECTION_MIN; c <= DUR_COLLECTION_MAX; c++)
        if (listed[c] != d->counts[c])
            return cc_err_set(err, CC_CORRUPT,
                              "invalid dump: %" PRIu64 " %s entries, the header says %" PRIu64,
                              d->counts[c], tools_collection_name(c), listed[c]);
    if (!r.have_catver)
        return cc_err_set(err, CC_CORRUPT, "invalid dump: no catalog_format_version entry");
    for (size_t j = 0; j < NID_COLLS; j++) {
        if (!r.have_id[j])
            continue;
        if (!r.have_alloc[j])
            return cc_err_set(err, CC_CORRUPT, "invalid dump: %s but no id allocator \"%s\"",
                              tools_collection_name(id_colls[j].coll), id_colls[j].alloc);
        if (r.alloc_next[j] <= r.max_user_id[j])
            return cc_err_set(err, CC_CORRUPT,
                              "invalid dump: id allocator \"%s\" is at %" PRIu64
                              " but %s holds u%" PRIu64 " (new objects would reuse ids)",
                              id_colls[j].alloc, r.alloc_next[j],
                              tools_collection_name(id_colls[j].coll), r.max_user_id[j]);
    }
    d->kinds[CAT_KIND_DATABASE] = d->counts[DUR_DATABASES];
    d->kinds[CAT_KIND_SCHEMA] = d->counts[DUR_SCHEMAS];
    d->kinds[CAT_KIND_ROLE] = d->counts[DUR_ROLES];
    d->kinds[CAT_KIND_CLUSTER] = d->counts[DUR_CLUSTERS];
    for (size_t i = 0; i < h->n_kinds; i++) {
        int k = 0;
        while (k < CAT_NKIND && strcmp(cat_kind_name((cat_kind)k), h->kinds[i]->kind) != 0)
            k++;
        if (k == CAT_NKIND || d->kinds[k] != h->kinds[i]->count)
            return cc_err_set(err, CC_CORRUPT,
                              "invalid dump: the header counts %" PRIu64 " %s objects, the "
                              "body has %" PRIu64,
                              h->kinds[i]->count, h->kinds[i]->kind,
                              k == CAT_NKIND ? 0 : d->kinds[k]);
    }
    return CC_OK;
}

cc_code
tools_dump_parse(const void *data, size_t len, tools_dump **out, cc_err *err)
{
    *out = NULL;
    tools_dump *d = cc_calloc(1, sizeof *d);
    if (d == NULL)
        return cc_err_set(err, CC_NOMEM, "out of memory reading a dump");
    d->data = data;
    d->len = len;
    cc_code rc = parse_header(d, err);
    if (rc == CC_OK)
        rc = parse_body(d, err);
    if (rc != CC_OK) {
        tools_dump_free(d);
        return rc;
    }
    *out = d;
    return CC_OK;
}

/* Reads all of fd into a new buffer. Errors: IO, NOMEM. */
static cc_code
read_all(int fd, const char *name, uint8_t **out, size_t *outlen, cc_err *err)
{
    struct stat st;
    size_t cap = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 1u << 20;
    size_t len = 0;
    uint8_t *buf = cc_malloc(cap);
    if (buf == NULL)
        return cc_err_set(err, CC_NOMEM, "out of memory reading %s", name);
    for (;;) {
        if (len == cap) {
            uint8_t *nb = cc_realloc(buf, cap * 2);
            if (nb == NULL) {
                cc_free(buf);
                return cc_err_set(err, CC_NOMEM, "out of memory reading %s", name);
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + len, cap - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            cc_free(buf);
            return tools__io_error(err, "read", name, errno);
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    *out = buf;
    *outlen = len;
    return CC_OK;
}

cc_code
tools_dump_load(const char *path, tools_dump **out, cc_err *err)
{
    *out = NULL;
    bool in = path == NULL || strcmp(path, "-") == 0;
    const char *name = in ? "standard input" : path;
    int fd = in ? 0 : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return tools__io_error(err, "open file", path, errno);
    uint8_t *buf = NULL;
    size_t len = 0;
    cc_code rc = read_all(fd, name, &buf, &len, err);
    if (!in)
        close(fd);
    if (rc != CC_OK)
        return rc;
    rc = tools_dump_parse(buf, len, out, err);
    if (rc != CC_OK) {
        cc_free(buf);
        return rc;
    }
    (*out)->owned = buf;
    return CC_OK;
}

void
tools_dump_free(tools_dump *d)
{
    if (d == NULL)
        return;
    if (d->header != NULL)
        cowcat__dump__dump_header__free_unpacked(d->header, NULL);
    cc_free(d->entries);
    cc_free(d->owned);
    cc_free(d);
}
