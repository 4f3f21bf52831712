/*
 * tools/src/dump_format.c — the bytes of a dump: framing entries, the
 * header (padding, checksums), and encoding a dump from a list of entries.
 * dump_write.c streams a catalog through these; tests and the fuzzer build
 * (bad) dumps with tools_dump_encode and tools_dump_header_pack.
 *
 * An entry is framed from the stored key and value bytes without decoding
 * them, as protobuf packs StateUpdateKind{coll: Entry{key, value}}:
 *
 *   [varint elen] [varint (coll << 3 | 2)] [varint ilen]
 *                 [0x0a] [varint klen] [key]  [0x12] [varint vlen] [value]
 *   ilen = 1 + |klen| + klen + 1 + |vlen| + vlen,  elen = |tag| + |ilen| + ilen
 *
 * The header is padded with zeros so that it takes exactly
 * TOOLS_DUMP_HEADER_BYTES with its length prefix (a writer may then stream
 * the body first and put the header in front); header_xxh3_64 covers the
 * packed header without itself.
 */
#include <string.h>
#include <xxhash.h>

#include "base/alloc.h"
#include "internal.h"

/* Hashes (and writes) n bytes of the body. */
static cc_code
body_put(tools__pass *p, const void *b, size_t n)
{
    XXH3_128bits_update(p->xx, b, n);
    p->bytes += n;
    return p->out != NULL ? tools__out_put(p->out, b, n, p->err) : CC_OK;
}

cc_code
tools__emit(tools__pass *p, dur_collection coll, pmap_bytes key, pmap_bytes value)
{
    uint8_t pre[4 * 10 + 1], mid[11];
    uint64_t ilen =
        1 + tools__varint_len(key.len) + key.len + 1 + tools__varint_len(value.len) + value.len;
    uint64_t tag = (uint64_t)coll << 3 | 2;
    uint64_t elen = tools__varint_len(tag) + tools__varint_len(ilen) + ilen;
    size_t n = tools__varint_put(pre, elen);
    n += tools__varint_put(pre + n, tag);
    n += tools__varint_put(pre + n, ilen);
    pre[n++] = 0x0a;
    n += tools__varint_put(pre + n, key.len);
    size_t m = 0;
    mid[m++] = 0x12;
    m += tools__varint_put(mid + m, value.len);
    cc_code rc = body_put(p, pre, n);
    if (rc == CC_OK)
        rc = body_put(p, key.ptr, key.len);
    if (rc == CC_OK)
        rc = body_put(p, mid, m);
    if (rc == CC_OK)
        rc = body_put(p, value.ptr, value.len);
    p->entries++;
    p->counts[coll]++;
    if (coll == DUR_ITEMS) {
        cat_kind k = tools__item_kind(value);
        if (k != CAT_NKIND)
            p->kinds[k]++;
    }
    tools__progress_tick(&p->progress, p->entries);
    return rc;
}

void
tools__finish_kinds(tools__pass *p)
{
    p->kinds[CAT_KIND_DATABASE] = p->counts[DUR_DATABASES];
    p->kinds[CAT_KIND_SCHEMA] = p->counts[DUR_SCHEMAS];
    p->kinds[CAT_KIND_ROLE] = p->counts[DUR_ROLES];
    p->kinds[CAT_KIND_CLUSTER] = p->counts[DUR_CLUSTERS];
}

/* One pass over an array of entries, in its order. */
static cc_code
walk_entries(tools__pass *p, const tools_dump_entry *e, size_t n)
{
    cc_code rc = CC_OK;
    for (size_t i = 0; i < n && rc == CC_OK; i++)
        rc = tools__emit(p, e[i].coll, e[i].key, e[i].value);
    tools__finish_kinds(p);
    return rc;
}

/* The padding length that makes a header of base bytes (checksum included) take exactly
 * TOOLS_DUMP_HEADER_BYTES with its length prefix; 0 if none does. */
static size_t
padding_for(size_t base)
{
    for (size_t plen = TOOLS_DUMP_HEADER_BYTES; plen > 0; plen--) {
        size_t l = base + 1 + tools__varint_len(plen) + plen;
        if (tools__varint_len(l) + l == TOOLS_DUMP_HEADER_BYTES)
            return plen;
    }
    return 0;
}

cc_code
tools_dump_header_pack(Cowcat__Dump__DumpHeader *h, uint8_t **out, size_t *len, cc_err *err)
{
    static const uint8_t zeros[TOOLS_DUMP_HEADER_BYTES];
    ProtobufCBinaryData saved = h->padding; /* the caller's, restored below */
    h->header_checksum_case = COWCAT__DUMP__DUMP_HEADER__HEADER_CHECKSUM__NOT_SET;
    h->padding.data = NULL;
    h->padding.len = 0;
    h->padding.len = padding_for(cowcat__dump__dump_header__get_packed_size(h) + 9);
    h->padding.data = h->padding.len > 0 ? (uint8_t *)zeros : NULL;
    size_t n = cowcat__dump__dump_header__get_packed_size(h);
    uint8_t *buf = cc_malloc(n + 9 + 10);
    if (buf == NULL)
        return cc_err_set(err, CC_NOMEM, "out of memory writing the dump header");
    cowcat__dump__dump_header__pack(h, buf);
    h->header_xxh3_64 = XXH3_64bits(buf, n);
    h->header_checksum_case = COWCAT__DUMP__DUMP_HEADER__HEADER_CHECKSUM_HEADER_XXH3_64;
    n = cowcat__dump__dump_header__get_packed_size(h);
    size_t off = tools__varint_put(buf, n);
    cowcat__dump__dump_header__pack(h, buf + off);
    h->padding = saved; /* the static zeros are not the caller's to free */
    *out = buf;
    *len = off + n;
    return CC_OK;
}

void
tools__header_fill(tools__header *hb, const tools__pass *p, uint32_t format_version,
                   uint32_t catver, uint64_t upper, bool audit, const XXH128_canonical_t *sum)
{
    static const cat_kind kind_order[CAT_NKIND] = {CAT_KIND_DATABASE,
                                                   CAT_KIND_SCHEMA,
                                                   CAT_KIND_TABLE,
                                                   CAT_KIND_VIEW,
                                                   CAT_KIND_MATERIALIZED_VIEW,
                                                   CAT_KIND_INDEX,
                                                   CAT_KIND_TYPE,
                                                   CAT_KIND_ROLE,
                                                   CAT_KIND_CLUSTER};
    Cowcat__Dump__DumpHeader *h = &hb->h;
    cowcat__dump__dump_header__init(h);
    h->magic = TOOLS_DUMP_MAGIC;
    h->format_version = format_version;
    h->cowcat_version = (char *)tools_version();
    h->catalog_format_version = catver;
    h->upper = upper;
    for (int c = DUR_COLLECTION_MIN; c <= DUR_COLLECTION_MAX; c++) {
        if (p->counts[c] == 0)
            continue;
        Cowcat__Dump__CollectionCount *cc = &hb->cc[h->n_collections];
        cowcat__dump__collection_count__init(cc);
        cc->collection = (uint32_t)c;
        cc->name = (char *)tools_collection_name(c);
        cc->entries = p->counts[c];
        hb->ccp[h->n_collections++] = cc;
    }
    h->collections = hb->ccp;
    for (size_t i = 0; i < CAT_NKIND; i++) {
        cowcat__dump__kind_count__init(&hb->kc[i]);
        hb->kc[i].kind = (char *)cat_kind_name(kind_order[i]);
        hb->kc[i].count = p->kinds[kind_order[i]];
        hb->kcp[i] = &hb->kc[i];
    }
    h->n_kinds = CAT_NKIND;
    h->kinds = hb->kcp;
    h->entries = p->entries;
    h->body_bytes = p->bytes;
    h->body_xxh3_128.data = (uint8_t *)sum->digest;
    h->body_xxh3_128.len = sizeof sum->digest;
    h->audit_log = audit;
}

cc_code
tools__header_write(tools__out *out, tools__header *hb, cc_err *err)
{
    uint8_t *buf;
    size_t len;
    cc_code rc = tools_dump_header_pack(&hb->h, &buf, &len, err);
    if (rc != CC_OK)
        return rc;
    rc = tools__out_put(out, buf, len, err);
    cc_free(buf);
    return rc;
}

void
tools__pass_init(tools__pass *p, XXH3_state_t *xx, tools__out *out, const tools_dump_options *o,
                 const char *phase, uint64_t total, cc_err *err)
{
    memset(p, 0, sizeof *p);
    p->xx = xx;
    p->out = out;
    p->err = err;
    XXH3_128bits_reset(xx);
    tools__progress_start(&p->progress, o->progress, o->progress_arg, phase, total);
}

cc_code
tools_dump_encode(const tools_dump_entry *entries, size_t n, const tools_dump_encode_options *o,
                  uint8_t **out, size_t *len, cc_err *err)
{
    static const tools_dump_encode_options defaults = {0};
    if (o == NULL)
        o = &defaults;
    static const tools_dump_options quiet = {0};
    XXH3_state_t *xx = XXH3_createState();
    if (xx == NULL)
        return cc_err_set(err, CC_NOMEM, "out of memory starting a checksum");
    tools__out mem;
    tools__pass p1, p2;
    tools__header hb;
    XXH128_canonical_t sum;
    cc_code rc = tools__out_init(&mem, -1, "memory", 4096, err);
    if (rc == CC_OK) {
        tools__pass_init(&p1, xx, NULL, &quiet, "encode", n, err);
        rc = walk_entries(&p1, entries, n);
    }
    if (rc == CC_OK) {
        XXH128_canonicalFromHash(&sum, XXH3_128bits_digest(xx));
        tools__header_fill(
            &hb, &p1, o->format_version ? o->format_version : TOOLS_DUMP_FORMAT_VERSION,
            o->catalog_format_version ? o->catalog_format_version : DUR_FORMAT_VERSION, o->upper,
            o->content == TOOLS_DUMP_WITH_AUDIT_LOG, &sum);
        rc = tools__header_write(&mem, &hb, err);
    }
    if (rc == CC_OK) {
        tools__pass_init(&p2, xx, &mem, &quiet, "encode", n, err);
        rc = walk_entries(&p2, entries, n);
    }
    XXH3_freeState(xx);
    if (rc != CC_OK) {
        tools__out_fini(&mem);
        return rc;
    }
    *out = mem.buf; /* the caller frees it (cc_free) */
    *len = mem.len;
    return CC_OK;
}
