/*
 * tests/ddl/oom_common.c — hashes and fingerprints for the allocation-failure
 * sweeps (oom_common.h).
 */
#include "oom_common.h"

#include <string.h>

#include "base/hash.h"

static void
out_add(uint64_t *h, const char *kind, const char *s)
{
    *h = cc_hash_combine(*h, cc_hash_bytes(kind, strlen(kind)));
    *h = cc_hash_combine(*h, s != NULL ? cc_hash_bytes(s, strlen(s)) : 0x5eed);
}

static int
on_columns(void *arg, const cowcat_column *cols, size_t n)
{
    oom_out *o = arg;
    for (size_t i = 0; i < n; i++)
        out_add(&o->h, "col", cols[i].name);
    return 0;
}

static int
on_row(void *arg, const char *const *values, size_t n)
{
    oom_out *o = arg;
    out_add(&o->h, "row", "");
    for (size_t i = 0; i < n; i++)
        out_add(&o->h, "val", values[i]);
    return 0;
}

static void
on_complete(void *arg, const char *tag)
{
    oom_out *o = arg;
    out_add(&o->h, "tag", tag);
    out_add(&o->tags, "tag", tag);
}

static void
on_notice(void *arg, const cowcat_error *n)
{
    oom_out *o = arg;
    out_add(&o->h, n->sqlstate, n->message);
    out_add(&o->tags, n->sqlstate, n->message);
}

const cowcat_callbacks oom_out_cbs = {on_columns, on_row, on_complete, on_notice};

uint64_t
oom_error_hash(const cowcat_error *err)
{
    uint64_t h = 0;
    out_add(&h, "state", err->sqlstate);
    out_add(&h, "message", err->message);
    out_add(&h, "detail", err->detail);
    out_add(&h, "hint", err->hint);
    return h;
}

cowcat_code
oom_fingerprint(cowcat_session *s, uint64_t fp[2], cowcat_error *err)
{
    cowcat_snapshot *snap;
    cowcat_code rc = cowcat_snapshot_open(s, &snap, err);
    if (rc != COWCAT_OK)
        return rc;
    cowcat_snapshot_fingerprint(snap, fp);
    cowcat_snapshot_close(snap);
    return COWCAT_OK;
}
