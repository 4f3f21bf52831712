/*
 * persist/src/replay.c — rebuilding the shards at open from the backend's
 * replay: the latest rollup (written by client.c), then every log record
 * after it (written by shard.c and batch.c).
 *
 * Replay trusts the log's checksums only so far: a record or rollup chunk
 * that no writer produces (a forged or corrupted directory) is CORRUPT,
 * never state that breaks the invariants at the top of shard.c. What the
 * writers produce:
 *
 *   shard ids      persist__shard_id_is_valid (persist_shard_open's rule)
 *   append         expected_upper = the shard's upper < new_upper; every
 *                  update's ts in [expected_upper, new_upper), diff != 0
 *   since move     since <= the shard's upper (one not above the current
 *                  since is never written; replay skips it)
 *   batch          the same, part by part (batch.c)
 *   rollup         see replay_chunk
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "persist_int.h"

cc_code
persist__replay_shard(persist_client *c, const char *id, persist_shard **out, cc_err *err)
{
    size_t len = id != NULL ? strlen(id) : 0;
    if (!persist__shard_id_is_valid(id, len))
        return cc_err_set(err, CC_CORRUPT,
                          "persist log of \"%s\": a record names an invalid shard id "
                          "(%zu bytes; shard ids have 1 to %d)",
                          c->name, len, SHARD_ID_MAX);
    persist_shard *s = pmap_hamt_find_bytes(&c->shards, id, len);
    if (s != NULL) {
        *out = s;
        return CC_OK;
    }
    return persist__shard_create_locked(c, id, out, err);
}

/* The first of u[0..n) that no append [lower, upper) holds (ts outside, or diff 0), or NULL. */
static const persist_update *
bad_update(const persist_update *u, size_t n, uint64_t lower, uint64_t upper)
{
    for (size_t i = 0; i < n; i++)
        if (u[i].ts < lower || u[i].ts >= upper || u[i].diff == 0)
            return &u[i];
    return NULL;
}

/* What is wrong with bad_update's u, into m[0..cap) for a message; returns m. */
static const char *
bad_update_str(const persist_update *u, char *m, size_t cap)
{
    if (u->diff == 0)
        snprintf(m, cap, "an update with diff 0");
    else
        snprintf(m, cap, "an update at ts %llu, outside its range", (unsigned long long)u->ts);
    return m;
}

static cc_code
replay_updates(Cowcat__Persist__Update **ups, size_t n, persist_update **out, cc_err *err)
{
    persist_update *u = n > 0 ? cc_malloc(n * sizeof *u) : NULL;
    if (n > 0 && u == NULL)
        return cc_err_set(err, CC_NOMEM, "out of memory replaying the log");
    for (size_t i = 0; i < n; i++)
        u[i] = (persist_update){{ups[i]->key.data, ups[i]->key.len},
                                {ups[i]->value.data, ups[i]->value.len},
                                ups[i]->ts,
                                ups[i]->diff};
    *out = u;
    return CC_OK;
}

static cc_code
replay_append(persist_client *c, const Cowcat__Persist__Append *a, cc_err *err)
{
    persist_shard *s;
    cc_code rc = persist__replay_shard(c, a->shard, &s, err);
    if (rc != CC_OK)
        return rc;
    if (s->upper != a->expected_upper || a->new_upper <= a->expected_upper)
        return cc_err_set(err, CC_CORRUPT,
                          "persist log of \"%s\": append to shard \"%s\" expects upper %llu "
                          "but the shard is at %llu",
                          c->name, s->id, (unsigned long long)a->expected_upper,
                          (unsigned long long)s->upper);
    persist_update *u = NULL;
    if ((rc = replay_updates(a->updates, a->n_updates, &u, err)) != CC_OK)
        return rc;
    const persist_update *bad = bad_update(u, a->n_updates, a->expected_upper, a->new_upper);
    if (bad != NULL) {
        char m[64];
        rc = cc_err_set(err, CC_CORRUPT,
                        "persist log of \"%s\": append [%llu, %llu) to shard \"%s\" holds %s",
                        c->name, (unsigned long long)a->expected_upper,
                        (unsigned long long)a->new_upper, s->id, bad_update_str(bad, m, sizeof m));
    } else {
        rc = persist__shard_apply(s, u, a->n_updates, a->expected_upper, a->new_upper, err);
    }
    cc_free(u);
    return rc;
}

static cc_code
replay_since(persist_client *c, const Cowcat__Persist__SinceDowngrade *sd, cc_err *err)
{
    persist_shard *s;
    cc_code rc = persist__replay_shard(c, sd->shard, &s, err);
    if (rc != CC_OK)
        return rc;
    if (sd->since > s->upper)
        return cc_err_set(err, CC_CORRUPT,
                          "persist log of \"%s\": since of shard \"%s\" moves to %llu, "
                          "beyond its upper %llu",
                          c->name, s->id, (unsigned long long)sd->since,
                          (unsigned long long)s->upper);
    if (sd->since > s->since) {
        s->since = sd->since;
        persist__hist_compact(s);
    }
    return CC_OK;
}

static cc_code
replay_record(persist_client *c, const uint8_t *p, size_t len, cc_err *err)
{
    Cowcat__Persist__PersistRecord *r = cowcat__persist__persist_record__unpack(NULL, len, p);
    if (r == NULL)
        return cc_err_set(err, CC_CORRUPT, "undecodable record in the persist log of \"%s\"",
                          c->name);
    cc_code rc = CC_OK;
    persist_shard *s;
    switch (r->kind_case) {
    case COWCAT__PERSIST__PERSIST_RECORD__KIND_CREATE:
        rc = persist__replay_shard(c, r->create->shard, &s, err);
        break;
    case COWCAT__PERSIST__PERSIST_RECORD__KIND_APPEND:
        rc = replay_append(c, r->append, err);
        break;
    case COWCAT__PERSIST__PERSIST_RECORD__KIND_BATCH:
        rc = persist__replay_batch(c, r->batch, err);
        break;
    case COWCAT__PERSIST__PERSIST_RECORD__KIND_SINCE:
        rc = replay_since(c, r->since, err);
        break;
    default:
        rc = cc_err_set(err, CC_CORRUPT, "unknown record kind in the persist log of \"%s\"",
                        c->name);
    }
    cowcat__persist__persist_record__free_unpacked(r, NULL);
    return rc;
}

/* CORRUPT: the chunks of shard id in the rollup of c break a rule (see replay_chunk). */
static cc_code
chunk_bad(persist_client *c, const char *id, const char *what, cc_err *err)
{
    return cc_err_set(err, CC_CORRUPT, "malformed rollup in \"%s\": shard \"%s\" %s", c->name, id,
                      what);
}

/*
 * Applies one RollupShard chunk, which starts at byte `at` of the rollup
 * body. The writer (client.c) emits each shard as one first chunk (its upper
 * and since, since <= upper, and trace entries), more trace chunks, then one
 * chunk per retained append, oldest first; trace entries never have diff 0,
 * and a retained append is one the shard held: a non-empty range reaching
 * above since and not beyond upper, after the one before it, with updates
 * as an append holds them (bad_update). Anything else is CORRUPT. The
 * rollup is replayed before the log, so a shard that exists was made by an
 * earlier chunk.
 */
static cc_code
replay_chunk(persist_client *c, const persist__rollup_shard *rs, size_t at, cc_err *err)
{
    if (!persist__shard_id_is_valid((const char *)rs->shard.ptr, rs->shard.len))
        return cc_err_set(err, CC_CORRUPT,
                          "malformed rollup in \"%s\" at byte %zu: invalid shard id "
                          "(%zu bytes; shard ids have 1 to %d)",
                          c->name, at, rs->shard.len, SHARD_ID_MAX);
    char id[SHARD_ID_MAX + 1], m[192];
    memcpy(id, rs->shard.ptr, rs->shard.len);
    id[rs->shard.len] = '\0';
    bool known = pmap_hamt_find_bytes(&c->shards, id, rs->shard.len) != NULL;
    if (rs->append ? rs->first || rs->ntrace > 0 : rs->nhistory > 0)
        return chunk_bad(c, id, "has a chunk mixing trace and retained history", err);
    if (rs->first && known)
        return chunk_bad(c, id, "has a second first chunk", err);
    if (!rs->first && !known)
        return chunk_bad(c, id, "has a chunk before its first", err);
    if (rs->first && rs->since > rs->upper) {
        snprintf(m, sizeof m, "has since %llu beyond its upper %llu", (unsigned long long)rs->since,
                 (unsigned long long)rs->upper);
        return chunk_bad(c, id, m, err);
    }
    for (size_t i = 0; i < rs->ntrace; i++)
        if (rs->trace[i].diff == 0)
            return chunk_bad(c, id, "has a trace entry with diff 0", err);
    persist_shard *s;
    cc_code rc = persist__replay_shard(c, id, &s, err);
    if (rc != CC_OK)
        return rc;
    if (rs->first) {
        s->upper = rs->upper;
        s->since = rs->since;
    }
    if (!rs->append)
        return persist__trace_apply(s, rs->trace, rs->ntrace, err);

    /* A history chunk is one whole retained append. */
    uint64_t lower = rs->lower, upper = rs->upper;
    uint64_t prev = s->nhist > 0 ? s->hist[s->nhist - 1]->upper : 0;
    const persist_update *bad = bad_update(rs->history, rs->nhistory, lower, upper);
    char why[96], u[64];
    why[0] = '\0';
    if (lower >= upper)
        snprintf(why, sizeof why, "with an empty range");
    else if (upper > s->upper)
        snprintf(why, sizeof why, "beyond its upper %llu", (unsigned long long)s->upper);
    else if (upper <= s->since)
        snprintf(why, sizeof why, "wholly below its since %llu", (unsigned long long)s->since);
    else if (lower < prev)
        snprintf(why, sizeof why, "starting before the end %llu of the one preceding it",
                 (unsigned long long)prev);
    else if (bad != NULL)
        snprintf(why, sizeof why, "holding %s", bad_update_str(bad, u, sizeof u));
    if (why[0] != '\0') {
        snprintf(m, sizeof m, "has a retained append [%llu, %llu) %s", (unsigned long long)lower,
                 (unsigned long long)upper, why);
        return chunk_bad(c, id, m, err);
    }
    hist_entry *h = persist__hist_new(rs->history, rs->nhistory, lower, upper);
    if (h != NULL && s->nhist == s->hist_cap) {
        size_t cap = s->hist_cap ? s->hist_cap * 2 : 8;
        hist_entry **nh = cc_realloc(s->hist, cap * sizeof *nh);
        if (nh == NULL) {
            persist__hist_unref(h);
            h = NULL;
        } else {
            s->hist = nh;
            s->hist_cap = cap;
        }
    }
    if (h == NULL)
        return cc_err_set(err, CC_NOMEM, "out of memory reading a rollup");
    s->hist[s->nhist++] = h;
    return CC_OK;
}

/* Reads a rollup body: [u32 len][RollupHeader] then [u32 len][RollupShard]... */
static cc_code
replay_rollup(persist_client *c, const uint8_t *p, size_t len, cc_err *err)
{
    size_t off = 0;
    bool header = true;
    while (off < len) {
        if (len - off < 4)
            goto corrupt;
        uint32_t n;
        memcpy(&n, p + off, 4);
        off += 4;
        if (n > len - off)
            goto corrupt;
        if (header) {
            Cowcat__Persist__RollupHeader *h =
                cowcat__persist__rollup_header__unpack(NULL, n, p + off);
            if (h == NULL)
                goto corrupt;
            uint32_t v = h->format_version;
            cowcat__persist__rollup_header__free_unpacked(h, NULL);
            if (v != ROLLUP_FORMAT_VERSION)
                return cc_err_set(err, CC_CORRUPT,
                                  "rollup in \"%s\" has format version %u; this build reads %u",
                                  c->name, v, ROLLUP_FORMAT_VERSION);
            header = false;
        } else {
            /* Read in place, not with protobuf-c: see rollup_wire.c. */
            persist__rollup_shard rs;
            if (persist__rollup_shard_parse(p + off, n, &rs, err) != CC_OK)
                goto corrupt;
            cc_code rc = replay_chunk(c, &rs, off, err);
            persist__rollup_shard_fini(&rs);
            if (rc != CC_OK)
                return rc;
        }
        off += n;
    }
    return CC_OK;
corrupt:
    return cc_err_set(err, CC_CORRUPT, "malformed rollup in \"%s\" at byte %zu", c->name, off);
}

cc_code
persist__replay_cb(void *arg, bool rollup, const void *rec, size_t len, cc_err *err)
{
    persist_client *c = arg;
    c->replaying = true;
    cc_code rc = rollup ? replay_rollup(c, rec, len, err) : replay_record(c, rec, len, err);
    c->replaying = false;
    return rc;
}
