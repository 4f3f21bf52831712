/*
 * tools/src/datadir.c — opening a data directory read-only for the tools:
 * dump, check and stats.
 *
 * A data directory is persist's file backend (persist/src/wal.c):
 *
 *   LOCK               flock'd by the writer that has it open (pid inside)
 *   log-<seq>.wal      log segments
 *   rollup-<mark>      the latest rollup
 *
 * The tools never write to it and take no lock: persist is opened
 * PERSIST_ACCESS_READ_ONLY, which reads the latest rollup and the log
 * segments as they are, beside a server (or any writer) that may have the
 * directory open and keep committing — a running cowcatd need not be
 * stopped. What is read is a prefix of the log cut at a frame boundary,
 * i.e. the catalog at one upper it really had (each DDL is one append):
 * one consistent version. Commits that land later are not seen. The
 * durable catalog above is DUR_MODE_READ_ONLY (never appends: no fence
 * bump, no bootstrap), with names external as under a writer's catalog;
 * the catalog is cat_open over it. Nothing is created: the directory must
 * exist and hold a persist log, and a directory whose log holds no
 * "catalog" shard is reported as holding no catalog.
 */
#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "base/alloc.h"
#include "internal.h"

struct tools_datadir {
    persist_client *pc;   /* owned */
    persist_shard *shard; /* the "catalog" shard (the client's handle) */
    dur_catalog *dur;     /* DURABLE and CATALOG: read-only, names external */
    cat_catalog *cat;     /* CATALOG only, over dur */
};

bool
tools_datadir_exists(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return false;
    bool found = false;
    struct dirent *e;
    while (!found && (e = readdir(d)) != NULL)
        found = strncmp(e->d_name, "log-", 4) == 0 || strncmp(e->d_name, "rollup-", 7) == 0;
    closedir(d);
    return found;
}

cc_code
tools_datadir_open(const char *dir, tools_open_kind kind, tools_datadir **out, cc_err *err)
{
    *out = NULL;
    if (dir == NULL || dir[0] == '\0')
        return cc_err_set(err, CC_INVALID, "no data directory given");
    struct stat st;
    if (stat(dir, &st) != 0) {
        if (errno == ENOENT)
            return cc_err_set_state(err, CC_NOT_FOUND, "58P01",
                                    "data directory \"%s\" does not exist", dir);
        return tools__io_error(err, "stat", dir, errno);
    }
    if (!S_ISDIR(st.st_mode))
        return cc_err_set(err, CC_INVALID, "\"%s\" is not a directory", dir);
    if (!tools_datadir_exists(dir)) {
        cc_err_set(err, CC_INVALID, "\"%s\" is not a cowcat data directory", dir);
        return cc_err_detail(err, "It holds no log-*.wal segment and no rollup.");
    }
    persist_client *pc;
    persist_options po = {
        .backend = PERSIST_BACKEND_FILE, .data_dir = dir, .access = PERSIST_ACCESS_READ_ONLY};
    cc_code rc = persist_client_open(&po, &pc, err);
    if (rc != CC_OK)
        return rc;
    return tools__datadir_attach(pc, dir, kind, out, err);
}

cc_code
tools__datadir_attach(persist_client *pc, const char *dir, tools_open_kind kind,
                      tools_datadir **out, cc_err *err)
{
    *out = NULL;
    tools_datadir *d = cc_calloc(1, sizeof *d);
    if (d == NULL) {
        persist_client_close(pc);
        return cc_err_set(err, CC_NOMEM, "out of memory opening a data directory");
    }
    d->pc = pc;
    d->shard = persist_shard_find(pc, "catalog");
    cc_code rc = CC_OK;
    if (d->shard == NULL || persist_shard_upper(d->shard) == 0)
        rc = cc_err_set(err, CC_INVALID, "data directory \"%s\" holds no catalog", dir);
    if (rc == CC_OK && kind != TOOLS_OPEN_PERSIST) {
        /* Read-only never appends; names external, as a writer runs under a catalog. */
        dur_options dopts = {.mode = DUR_MODE_READ_ONLY, .names = DUR_NAMES_EXTERNAL};
        rc = dur_open(pc, &dopts, &d->dur, err);
    }
    if (rc == CC_OK && kind == TOOLS_OPEN_CATALOG)
        rc = tools__datadir_load_catalog(d, err);
    if (rc != CC_OK) {
        tools_datadir_close(d);
        return rc;
    }
    *out = d;
    return CC_OK;
}

cc_code
tools__datadir_load_catalog(tools_datadir *d, cc_err *err)
{
    cat_options co = {.parse = tools_check_parse};
    return cat_open(d->dur, &co, &d->cat, err);
}

void
tools_datadir_close(tools_datadir *d)
{
    if (d == NULL)
        return;
    cat_close(d->cat);
    dur_close(d->dur);
    if (d->pc != NULL)
        persist_client_close(d->pc);
    cc_free(d);
}

dur_catalog *
tools_datadir_durable(tools_datadir *d)
{
    return d->dur;
}

cat_catalog *
tools_datadir_catalog(tools_datadir *d)
{
    return d->cat;
}

persist_client *
tools_datadir_client(tools_datadir *d)
{
    return d->pc;
}

persist_shard *
tools_datadir_shard(tools_datadir *d)
{
    return d->shard;
}
