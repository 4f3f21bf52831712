/*
 * tools/src/restore.c — restoring a verified dump into a data directory.
 *
 *   parent/
 *     NAME                  the target: missing, empty, or (REPLACE) replaced
 *     .NAME.restore-PID     built here first; renamed to NAME at the very end
 *     .NAME.old-PID         REPLACE only: the previous NAME until the swap is done
 *
 * 1. The entries go into the new directory's "catalog" shard as raw durable
 *    updates — persist key [collection tag][encoded key], value the encoded
 *    value, diff +1 (the on-disk format durable/durable.h documents) — in
 *    ONE compare_and_append when the body is at most 1 GiB (a log frame's
 *    length is 32 bits), else in appends of at most 256 MiB. They land just
 *    below the dump's upper (an empty append moves the upper there first,
 *    another one closes it), so the restored catalog has the frontier the
 *    dump was taken at and dumps to the same bytes.
 *    The persist client runs without automatic rollups meanwhile; after the
 *    last append the shard's since moves to upper - 1 (the consolidated
 *    state is all a catalog reads) and one rollup is written, so the new
 *    directory opens from a rollup of the state rather than replaying a
 *    log frame of the whole catalog.
 * 2. Over the same client (what it holds is what it wrote durably; no
 *    second recovery pass over the files), the catalog is loaded read-only
 *    — nothing is appended, so no fence — and checked in full exactly as
 *    `cowcat check` does (check.c): entry counts and upper must match, then
 *    dur_snapshot_check, cat_check and every create_sql re-parsed. A dump
 *    that decodes but is inconsistent (a dependency on a missing object,
 *    two objects with one OID or name, ...) fails here.
 * 3. Only then the rename. Until it, NAME is untouched; any failure removes
 *    the new directory. The checked catalog is then closed, or handed to the
 *    caller (tools_restore_options.loaded: the CLI leaves it to its exit
 *    rather than free every object one by one).
 * No fence token is written: the first writable open (cowcat_open, the
 * server) starts a fresh one, epoch 1 at its deploy generation.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "internal.h"

#define ONE_WRITE_MAX ((uint64_t)1 << 30) /* bytes of updates that go in one append */
#define BATCH_MAX     ((uint64_t)1 << 28) /* beyond that, bytes per append */
#define PATH_CAP      4096

/*
 * Writes every entry of d into a new persist client in dir, left open in
 * *pc (also on failure, when it could be opened: the caller closes it).
 */
static cc_code
write_entries(const tools_dump *d, const char *dir, const tools_restore_options *o,
              tools_restore_summary *sum, persist_client **pc, cc_err *err)
{
    size_t karena = 0;
    uint64_t total = 0;
    for (size_t i = 0; i < d->n; i++) {
        karena += 1 + d->entries[i].key.len;
        total += 1 + d->entries[i].key.len + d->entries[i].value.len + 24;
    }
    uint8_t *keys = cc_malloc(karena + 1);
    persist_update *u = cc_malloc((d->n + 1) * sizeof *u);
    persist_shard *shard = NULL;
    cc_code rc = CC_OK;
    *pc = NULL;
    if (keys == NULL || u == NULL) {
        rc = cc_err_set(err, CC_NOMEM, "out of memory restoring %zu entries", d->n);
        goto out;
    }
    uint64_t limit = total <= ONE_WRITE_MAX ? total + 1 : BATCH_MAX;
    uint64_t nbatches = 0, acc = 0;
    size_t off = 0;
    for (size_t i = 0; i < d->n; i++) {
        const tools_dump_entry *e = &d->entries[i];
        uint64_t size = 1 + e->key.len + e->value.len + 24;
        if (i == 0 || acc + size > limit) {
            nbatches++;
            acc = 0;
        }
        acc += size;
        keys[off] = (uint8_t)e->coll;
        memcpy(keys + off + 1, e->key.ptr, e->key.len);
        u[i] = (persist_update){
            .key = {keys + off, 1 + e->key.len}, .value = e->value, .ts = nbatches - 1, .diff = 1};
        off += 1 + e->key.len;
    }
    /*
     * Timestamps: the data appends, then an empty append, end at the dump's
     * upper U: [U-k-1, U-k), ..., [U-2, U-1), [U-1, U). The empty one lets
     * since move to U - 1 past every data append, so the rollup holds the
     * consolidated state only, no retained history. A dump whose upper is
     * too small for that keeps what room it has.
     */
    uint64_t upper = d->header->upper;
    bool trailing = upper >= nbatches + 1;
    uint64_t start = trailing ? upper - nbatches - 1 : upper >= nbatches ? upper - nbatches : 0;
    uint64_t end = start + nbatches + (trailing ? 1 : 0);
    persist_options po = {.backend = PERSIST_BACKEND_FILE,
                          .data_dir = dir,
                          .sync = o->sync,
                          .rollup_min_bytes = UINT64_MAX /* one rollup, at the end */};
    if ((rc = persist_client_open(&po, pc, err)) != CC_OK ||
        (rc = persist_shard_open(*pc, "catalog", &shard, err)) != CC_OK)
        goto out;
    if (start > 0 && (rc = persist_compare_and_append(shard, u, 0, 0, start, NULL, err)) != CC_OK)
        goto out;
    tools__progress p;
    tools__progress_start(&p, o->progress, o->progress_arg, "restore: write", d->n);
    for (size_t i = 0; i < d->n && rc == CC_OK;) {
        size_t j = i;
        uint64_t b = u[i].ts;
        while (j < d->n && u[j].ts == b)
            u[j++].ts = start + b;
        rc = persist_compare_and_append(shard, u + i, j - i, start + b, start + b + 1, NULL, err);
        sum->appends++;
        i = j;
        if (i < d->n) /* the last report comes once the rollup is written */
            tools__progress_tick(&p, i);
    }
    if (rc == CC_OK && trailing)
        rc = persist_compare_and_append(shard, u, 0, end - 1, end, NULL, err);
    if (rc == CC_OK)
        rc = persist_downgrade_since(shard, end - 1, err);
    if (rc == CC_OK)
        rc = persist_client_rollup(*pc, err);
    if (rc == CC_OK) {
        tools__progress_done(&p);
        sum->entries = d->n;
        sum->upper = end;
    }
out:
    cc_free(keys);
    cc_free(u);
    return rc;
}

/* Turns a check failure into "the dump's catalog is inconsistent: ..." (keeping DETAIL, HINT). */
static cc_code
inconsistent(cc_err *err, const cc_err *why)
{
    if (err == NULL)
        return CC_CORRUPT;
    cc_err e = *why;
    cc_err_set(err, CC_CORRUPT, "the dump's catalog is inconsistent: %s", e.msg);
    if (e.detail[0] != '\0')
        cc_err_detail(err, "%s", e.detail);
    if (e.hint[0] != '\0')
        cc_err_hint(err, "%s", e.hint);
    return CC_CORRUPT;
}

/* Keeps the first finding of the check. */
static void
first_finding(void *arg, const char *what, const cc_err *f)
{
    (void)what;
    cc_err *first = arg;
    if (first->code == CC_OK)
        *first = *f;
}

/*
 * Loads the catalog pc holds (taking ownership of pc) and checks it in full
 * against d. On success *out gets the loaded catalog (the caller closes it).
 */
static cc_code
verify(const tools_dump *d, persist_client *pc, const char *dir, uint64_t upper,
       const tools_restore_options *o, tools_datadir **out, cc_err *err)
{
    *out = NULL;
    tools__progress p;
    tools__progress_start(&p, o->progress, o->progress_arg, "restore: check", d->n);
    tools_datadir *dd;
    cc_err e;
    cc_err_clear(&e);
    cc_code rc = tools__datadir_attach(pc, dir, TOOLS_OPEN_DURABLE, &dd, &e);
    if (rc != CC_OK)
        return rc == CC_NOMEM ? cc_err_set(err, CC_NOMEM, "%s", e.msg) : inconsistent(err, &e);
    dur_catalog *dur = tools_datadir_durable(dd);
    const dur_snapshot *s = dur_snapshot_acquire(dur); /* this thread's own, read-only catalog */
    if (dur_snapshot_upper(s) != upper)
        rc = cc_err_set(err, CC_INTERNAL, "restored catalog has upper %" PRIu64 ", wrote %" PRIu64,
                        dur_snapshot_upper(s), upper);
    for (int c = DUR_COLLECTION_MIN; c <= DUR_COLLECTION_MAX && rc == CC_OK; c++)
        if (dur_snapshot_count(s, c) != d->counts[c])
            rc = cc_err_set(err, CC_INTERNAL,
                            "restored catalog has %zu %s entries, the dump %" PRIu64,
                            dur_snapshot_count(s, c), tools_collection_name(c), d->counts[c]);
    size_t findings = 0;
    if (rc == CC_OK)
        rc = tools_check(dd, first_finding, &e, &findings, err);
    if (rc == CC_OK && findings > 0)
        rc = inconsistent(err, &e);
    const cat_state *st = rc == CC_OK ? cat_state_acquire(tools_datadir_catalog(dd)) : NULL;
    for (int k = 0; k < CAT_NKIND && rc == CC_OK; k++)
        if (cat_state_count(st, (cat_kind)k) != d->kinds[k])
            rc = cc_err_set(
                err, CC_INTERNAL, "restored catalog has %" PRIu64 " %s objects, the dump %" PRIu64,
                cat_state_count(st, (cat_kind)k), cat_kind_name((cat_kind)k), d->kinds[k]);
    if (rc == CC_OK) {
        tools__progress_done(&p);
        *out = dd;
    } else {
        tools_datadir_close(dd);
    }
    return rc;
}

/* Moves the finished directory tmp to target (swapping a previous one out when replacing). */
static cc_code
put_in_place(const char *tmp, const char *target, const char *parent, const char *old, bool replace,
             cc_err *err)
{
    if (!replace) {
        /* rename(2) replaces an empty directory atomically. */
        if (rename(tmp, target) != 0)
            return tools__io_error(err, "rename the restored directory to", target, errno);
        return tools__sync_dir(parent, err);
    }
    if (rename(target, old) != 0)
        return tools__io_error(err, "move aside", target, errno);
    if (rename(tmp, target) != 0) {
        cc_code rc = tools__io_error(err, "rename the restored directory to", target, errno);
        if (rename(old, target) != 0) /* put the old one back; report if even that fails */
            cc_err_detail(err, "The previous data directory is in \"%s\".", old);
        return rc;
    }
    cc_code rc = tools__sync_dir(parent, err);
    int e = tools__remove_tree(old);
    if (rc == CC_OK && e != 0)
        rc = tools__io_error(err, "remove the previous data directory", old, e);
    return rc;
}

cc_code
tools_restore(const tools_dump *d, const char *data_dir, const tools_restore_options *o,
              tools_restore_summary *sum, cc_err *err)
{
    static const tools_restore_options defaults = {0};
    tools_restore_summary local;
    if (o == NULL)
        o = &defaults;
    if (sum == NULL)
        sum = &local;
    memset(sum, 0, sizeof *sum);
    if (d == NULL || data_dir == NULL || data_dir[0] == '\0')
        return cc_err_set(err, CC_INVALID, "tools_restore: no dump or data directory");
    char parent[PATH_CAP], base[PATH_CAP], tmp[PATH_CAP], old[PATH_CAP];
    tools__split_path(data_dir, parent, base, sizeof parent);
    if (base[0] == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
        return cc_err_set(err, CC_INVALID, "cannot restore into \"%s\": name a directory",
                          data_dir);
    struct stat st;
    bool exists = stat(data_dir, &st) == 0;
    if (!exists && errno != ENOENT)
        return tools__io_error(err, "stat", data_dir, errno);
    if (exists && !S_ISDIR(st.st_mode))
        return cc_err_set(err, CC_INVALID, "\"%s\" exists and is not a directory", data_dir);
    int full = exists ? tools__dir_has_entries(data_dir) : 0;
    if (full < 0)
        return tools__io_error(err, "read directory", data_dir, errno);
    if (full && o->target != TOOLS_RESTORE_REPLACE) {
        cc_err_set_state(err, CC_EXISTS, "55000", "data directory \"%s\" is not empty", data_dir);
        return cc_err_hint(err, "Restore into a new or empty directory, or use --force to "
                                "replace this one.");
    }
    long pid;
    if (full && tools__lock_held(data_dir, &pid))
        return cc_err_set_state(err, CC_IO, "55006", "data directory \"%s\" is in use by pid %ld",
                                data_dir, pid);
    if (stat(parent, &st) != 0 || !S_ISDIR(st.st_mode))
        return cc_err_set_state(err, CC_NOT_FOUND, "58P01", "directory \"%s\" does not exist",
                                parent);
    if ((size_t)snprintf(tmp, sizeof tmp, "%s/.%s.restore-%ld", parent, base, (long)getpid()) >=
            sizeof tmp ||
        (size_t)snprintf(old, sizeof old, "%s/.%s.old-%ld", parent, base, (long)getpid()) >=
            sizeof old)
        return cc_err_set(err, CC_INVALID, "data directory path too long");
    tools__remove_tree(tmp); /* a leftover of this pid's earlier, killed run */
    if (mkdir(tmp, 0700) != 0)
        return tools__io_error(err, "create directory", tmp, errno);
    persist_client *pc;
    tools_datadir *dd = NULL;
    cc_code rc = write_entries(d, tmp, o, sum, &pc, err);
    if (rc == CC_OK)
        rc = verify(d, pc, data_dir, sum->upper, o, &dd, err); /* takes pc */
    else
        persist_client_close(pc);
    if (rc == CC_OK)
        rc = put_in_place(tmp, data_dir, parent, old, full, err);
    if (rc == CC_OK && o->loaded != NULL) {
        *o->loaded = dd; /* open files follow the rename */
        return CC_OK;
    }
    tools_datadir_close(dd);
    if (rc != CC_OK)
        tools__remove_tree(tmp);
    return rc;
}
