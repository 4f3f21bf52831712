/*
 * tests/tools/test_tools_roundtrip.c — dump and restore keep a catalog as it
 * was: byte-identical second dumps, equal fingerprints, SHOW CREATE and
 * builtin relation rows; ids and OIDs never reused after a restore; the
 * target directory rules (empty, --force, in use); check and stats.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tools_testutil.h"

/* Every builtin relation but the audit log (compared on its own). */
static const char *const relations[] = {
    "information_schema.tables",
    "information_schema.columns",
    "information_schema.views",
    "information_schema.schemata",
    "information_schema.table_constraints",
    "information_schema.key_column_usage",
    "cowcat_catalog.objects",
    "cowcat_catalog.tables",
    "cowcat_catalog.views",
    "cowcat_catalog.indexes",
    "cowcat_catalog.types",
    "cowcat_catalog.columns",
    "cowcat_catalog.schemas",
    "cowcat_catalog.databases",
    "cowcat_catalog.roles",
    "cowcat_catalog.dependencies",
    "cowcat_catalog.comments",
    "cowcat_catalog.limits",
};

static tools_dump *
load_dump(const char *path)
{
    tools_dump *d;
    cc_err e;
    cr_assert_eq(tools_dump_load(path, &d, &e), CC_OK, "load %s: %s", path, e.msg);
    return d;
}

static void
restore_file(const char *path, const char *dir, tools_restore_target target)
{
    tools_dump *d = load_dump(path);
    tools_restore_options o = {.target = target, .sync = PERSIST_SYNC_NONE};
    cc_err e;
    cr_assert_eq(tools_restore(d, dir, &o, NULL, &e), CC_OK, "restore into %s: %s", dir, e.msg);
    tools_dump_free(d);
}

/* Dumps dir to path (a file). */
static void
dump_file(const char *dir, const char *path, tools_dump_content content)
{
    tools_dump_options o = {.content = content};
    cc_err e;
    cr_assert_eq(tools_dump_to_path(dir, path, &o, NULL, &e), CC_OK, "dump %s: %s", dir, e.msg);
}

static void
assert_same_file(const char *a, const char *b)
{
    size_t na, nb;
    uint8_t *pa = tt_read_file(a, &na), *pb = tt_read_file(b, &nb);
    cr_assert_eq(na, nb, "%s has %zu bytes, %s %zu", a, na, b, nb);
    cr_assert(memcmp(pa, pb, na) == 0, "%s and %s differ", a, b);
    free(pa);
    free(pb);
}

/* SHOW CREATE's keyword for a cowcat_catalog.objects kind, or NULL. */
static const char *
show_kind(const char *kind)
{
    static const char *const map[][2] = {{"table", "TABLE"},
                                         {"view", "VIEW"},
                                         {"materialized view", "MATERIALIZED VIEW"},
                                         {"index", "INDEX"},
                                         {"type", "TYPE"}};
    for (size_t i = 0; i < sizeof map / sizeof *map; i++)
        if (strcmp(kind, map[i][0]) == 0)
            return map[i][1];
    return NULL;
}

/* Compares SHOW CREATE of every relation and type of the database; returns how many. */
static int
compare_show_create(cowcat_session *a, cowcat_session *b)
{
    char *list = tt_query(a, "SELECT kind, schema, name FROM cowcat_catalog.objects "
                             "WHERE schema IS NOT NULL");
    int n = 0;
    for (char *line = strtok(list, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        char kind[64], schema[64], name[64], sql[256];
        cr_assert_eq(sscanf(line, "%63[^|]|%63[^|]|%63[^|]", kind, schema, name), 3, "%s", line);
        const char *k = show_kind(kind);
        if (k == NULL)
            continue;
        snprintf(sql, sizeof sql, "SHOW CREATE %s %s.%s", k, schema, name);
        char *ra = tt_query(a, sql), *rb = tt_query(b, sql);
        cr_assert_str_eq(ra, rb, "%s", sql);
        cr_assert(ra[0] != '\0', "%s printed nothing", sql);
        free(ra);
        free(rb);
        n++;
    }
    free(list);
    return n;
}

Test(tools_roundtrip, every_object_kind_survives_dump_and_restore)
{
    tt_scratch sc;
    tt_scratch_new(&sc);
    char src[600], dst[600], first[600], second[600];
    tt_path(&sc, "src", src, sizeof src);
    tt_path(&sc, "dst", dst, sizeof dst);
    tt_path(&sc, "first.dump", first, sizeof first);
    tt_path(&sc, "second.dump", second, sizeof second);
    tt_build_every_kind(src);

    dump_file(src, first, TOOLS_DUMP_CATALOG);
    restore_file(first, dst, TOOLS_RESTORE_NEW);
    dump_file(dst, second, TOOLS_DUMP_CATALOG);
    assert_same_file(first, second);

    cowcat *da, *db;
    cowcat_session *sa, *sb;
    tt_open(src, NULL, &da, &sa);
    tt_open(dst, NULL, &db, &sb);
    cowcat_snapshot *pa, *pb;
    uint64_t fa[2], fb[2];
    cr_assert_eq(cowcat_snapshot_open(sa, &pa, NULL), COWCAT_OK);
    cr_assert_eq(cowcat_snapshot_open(sb, &pb, NULL), COWCAT_OK);
    cowcat_snapshot_fingerprint(pa, fa);
    cowcat_snapshot_fingerprint(pb, fb);
    cr_assert(fa[0] == fb[0] && fa[1] == fb[1], "fingerprints differ after restore");
    cr_assert_eq(cowcat_snapshot_count(pb, COWCAT_KIND_TABLE), 3);
    cowcat_snapshot_close(pa);
    cowcat_snapshot_close(pb);

    cr_assert_geq(compare_show_create(sa, sb), 8);
    for (size_t i = 0; i < sizeof relations / sizeof *relations; i++) {
        char sql[128];
        snprintf(sql, sizeof sql, "SELECT * FROM %s", relations[i]);
        char *ra = tt_query(sa, sql), *rb = tt_query(sb, sql);
        cr_assert_str_eq(ra, rb, "%s differs after restore", relations[i]);
        free(ra);
        free(rb);
    }
    char *limit = tt_query_value(sb, "SELECT value FROM cowcat_catalog.limits "
                                     "WHERE name = 'max_tables'");
    cr_assert_str_eq(limit, "500");
    free(limit);
    cowcat_error e;
    cr_assert_eq(cowcat_check(db, &e), COWCAT_OK, "%s", e.message);
    tt_close(da, sa);
    tt_close(db, sb);
    tt_scratch_free(&sc);
}

Test(tools_roundtrip, the_audit_log_is_left_out_unless_asked_for)
{
    tt_scratch sc;
    tt_scratch_new(&sc);
    char src[600], plain[600], full[600], f1[600], f2[600], f3[600];
    tt_path(&sc, "src", src, sizeof src);
    tt_path(&sc, "plain", plain, sizeof plain);
    tt_path(&sc, "full", full, sizeof full);
    tt_path(&sc, "1.dump", f1, sizeof f1);
    tt_path(&sc, "2.dump", f2, sizeof f2);
    tt_path(&sc, "3.dump", f3, sizeof f3);
    tt_build_every_kind(src);

    dump_file(src, f1, TOOLS_DUMP_CATALOG);
    tools_dump *d = load_dump(f1);
    cr_assert(!d->header->audit_log);
    cr_assert_eq(d->counts[DUR_AUDIT_LOG], 0);
    tools_dump_free(d);
    dump_file(src, f2, TOOLS_DUMP_WITH_AUDIT_LOG);
    d = load_dump(f2);
    cr_assert(d->header->audit_log);
    cr_assert_gt(d->counts[DUR_AUDIT_LOG], 10, "the build's DDL left audit events");
    tools_dump_free(d);

    restore_file(f1, plain, TOOLS_RESTORE_NEW);
    restore_file(f2, full, TOOLS_RESTORE_NEW);
    dump_file(full, f3, TOOLS_DUMP_WITH_AUDIT_LOG);
    assert_same_file(f2, f3);

    cowcat *da, *db;
    cowcat_session *sa, *sb;
    tt_open(src, NULL, &da, &sa);
    tt_open(full, NULL, &db, &sb);
    const char *q = "SELECT * FROM cowcat_catalog.audit_events";
    char *ra = tt_query(sa, q), *rb = tt_query(sb, q);
    cr_assert_str_eq(ra, rb);
    free(ra);
    free(rb);
    tt_close(da, sa);
    tt_close(db, sb);
    tt_open(plain, NULL, &db, &sb);
    rb = tt_query(sb, q);
    cr_assert_str_eq(rb, "");
    free(rb);
    tt_close(db, sb);
    tt_scratch_free(&sc);
}

/* "class|id|oid" lines for every object (relations and types share the item id space). */
static char *
ids_and_oids(cowcat_session *s)
{
    char *rows = tt_query(s, "SELECT kind, id, oid FROM cowcat_catalog.objects");
    char *out = malloc(strlen(rows) * 2 + 1);
    cr_assert_not_null(out);
    out[0] = '\0';
    for (char *line = strtok(rows, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        char kind[64], rest[128];
        cr_assert_eq(sscanf(line, "%63[^|]|%127[^\n]", kind, rest), 2, "%s", line);
        bool item = strcmp(kind, "table") == 0 || strcmp(kind, "view") == 0 ||
                    strcmp(kind, "materialized view") == 0 || strcmp(kind, "index") == 0 ||
                    strcmp(kind, "type") == 0;
        strcat(out, item ? "item" : kind);
        strcat(out, "|");
        strcat(out, rest);
        strcat(out, "\n");
    }
    free(rows);
    return out;
}

Test(tools_roundtrip, objects_created_after_a_restore_never_reuse_ids_or_oids)
{
    tt_scratch sc;
    tt_scratch_new(&sc);
    char src[600], dst[600], file[600];
    tt_path(&sc, "src", src, sizeof src);
    tt_path(&sc, "dst", dst, sizeof dst);
    tt_path(&sc, "x.dump", file, sizeof file);
    tt_build_every_kind(src);
    cowcat *db;
    cowcat_session *s;
    tt_open(src, NULL, &db, &s);
    tt_exec(s, "CREATE TABLE gone (a int)");
    char *gone_id = tt_query_value(s, "SELECT id FROM cowcat_catalog.objects WHERE name = 'gone'");
    tt_exec(s, "DROP TABLE gone");
    char *before = ids_and_oids(s);
    tt_close(db, s);

    dump_file(src, file, TOOLS_DUMP_CATALOG);
    restore_file(file, dst, TOOLS_RESTORE_NEW);
    tt_open(dst, NULL, &db, &s);
    tt_exec(s, "CREATE TABLE fresh (a int)");
    tt_exec(s, "CREATE VIEW fresh_v AS SELECT a FROM fresh");
    tt_exec(s, "CREATE ROLE carol");
    tt_exec(s, "CREATE SCHEMA fresh_s");
    tt_exec(s, "CREATE DATABASE fresh_db");
    char *after = ids_and_oids(s);
    cowcat_error e;
    cr_assert_eq(cowcat_check(db, &e), COWCAT_OK, "%s", e.message);
    tt_close(db, s);

    /* Every new row must be absent from before by id, and by OID. */
    int fresh = 0;
    for (char *line = strtok(after, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        char kind[64], id[64], oid[64], key[256];
        cr_assert_eq(sscanf(line, "%63[^|]|%63[^|]|%63[^|]", kind, id, oid), 3, "%s", line);
        snprintf(key, sizeof key, "%s|%s|%s\n", kind, id, oid);
        if (strstr(before, key) != NULL)
            continue; /* an object of the dump */
        fresh++;
        snprintf(key, sizeof key, "%s|%s|", kind, id);
        cr_assert(strncmp(before, key, strlen(key)) != 0 && strstr(before, key) == NULL,
                  "new %s reuses id %s", kind, id);
        cr_assert(!(strcmp(kind, "item") == 0 && strcmp(id, gone_id) == 0),
                  "new item reuses the dropped table's id %s", id);
        if (strcmp(oid, "<null>") != 0) {
            snprintf(key, sizeof key, "|%s\n", oid);
            cr_assert_null(strstr(before, key), "new %s %s reuses OID %s", kind, id, oid);
        }
    }
    cr_assert_eq(fresh, 6, "six objects were created after the restore (fresh_db has a public)");
    free(before);
    free(after);
    free(gone_id);
    tt_scratch_free(&sc);
}

Test(tools_restore, needs_an_empty_directory_or_force)
{
    tt_scratch sc;
    tt_scratch_new(&sc);
    char src[600], dst[600], file[600], junk[700];
    tt_path(&sc, "src", src, sizeof src);
    tt_path(&sc, "dst", dst, sizeof dst);
    tt_path(&sc, "x.dump", file, sizeof file);
    tt_build_tables(src, 5);
    dump_file(src, file, TOOLS_DUMP_CATALOG);

    cr_assert_eq(mkdir(dst, 0700), 0);
    restore_file(file, dst, TOOLS_RESTORE_NEW); /* an empty directory is fine */
    tools_dump *d = load_dump(file);
    cc_err e;
    tools_restore_options o = {.sync = PERSIST_SYNC_NONE};
    cr_assert_eq(tools_restore(d, dst, &o, NULL, &e), CC_EXISTS);
    cr_assert(strstr(e.msg, "is not empty") != NULL, "%s", e.msg);
    cr_assert(strstr(e.hint, "--force") != NULL, "%s", e.hint);

    snprintf(junk, sizeof junk, "%s/junk", dst);
    tt_write_file(junk, "x", 1);
    o.target = TOOLS_RESTORE_REPLACE;
    cr_assert_eq(tools_restore(d, dst, &o, NULL, &e), CC_OK, "%s", e.msg);
    cr_assert(!tt_exists(junk), "the replaced directory's files are gone");
    cr_assert_eq(tt_count_prefix(sc.path, ".dst."), 0, "no temporary directory is left");

    cowcat *db;
    cowcat_session *s;
    tt_open(dst, NULL, &db, &s);
    char *n = tt_query_value(s, "SELECT count(*) FROM information_schema.tables "
                                "WHERE table_schema = 'public'");
    cr_assert_str_eq(n, "5");
    free(n);
    /* In use: not replaced; dumped beside the writer (read-only, no lock), which goes on. */
    cr_assert_eq(tools_restore(d, dst, &o, NULL, &e), CC_IO);
    cr_assert(strstr(e.msg, "in use") != NULL, "%s", e.msg);
    char out[600], again[600];
    tt_path(&sc, "busy.dump", out, sizeof out);
    cr_assert_eq(tools_dump_to_path(dst, out, NULL, NULL, &e), CC_OK, "%s", e.msg);
    tt_exec(s, "CREATE TABLE after_dump (a int)");
    tools_dump *busy = load_dump(out);
    cr_assert_eq(busy->kinds[CAT_KIND_TABLE], 5, "the dump holds the tables committed before it");
    tools_dump_free(busy);
    tt_path(&sc, "again", again, sizeof again);
    restore_file(out, again, TOOLS_RESTORE_NEW); /* checks it in full */
    tt_close(db, s);
    tools_dump_free(d);
    tt_scratch_free(&sc);
}

Test(tools_restore, keeps_the_dumps_frontier_and_starts_a_fresh_fence)
{
    tt_scratch sc;
    tt_scratch_new(&sc);
    char src[600], dst[600], file[600];
    tt_path(&sc, "src", src, sizeof src);
    tt_path(&sc, "dst", dst, sizeof dst);
    tt_path(&sc, "x.dump", file, sizeof file);
    tt_build_every_kind(src);
    dump_file(src, file, TOOLS_DUMP_CATALOG);
    restore_file(file, dst, TOOLS_RESTORE_NEW);

    tools_datadir *a, *b;
    cc_err e;
    cr_assert_eq(tools_datadir_open(src, TOOLS_OPEN_DURABLE, &a, &e), CC_OK, "%s", e.msg);
    cr_assert_eq(tools_datadir_open(dst, TOOLS_OPEN_DURABLE, &b, &e), CC_OK, "%s", e.msg);
    cr_assert_eq(dur_upper(tools_datadir_durable(a)), dur_upper(tools_datadir_durable(b)));
    cr_assert_geq(dur_fence_token(tools_datadir_durable(a)).epoch, 1);
    cr_assert_eq(dur_fence_token(tools_datadir_durable(b)).epoch, 0, "no fence in a restore");
    tools_datadir_close(a);
    tools_datadir_close(b);

    cowcat *db;
    cowcat_session *s;
    tt_open(dst, NULL, &db, &s); /* the first writer's open */
    tt_close(db, s);
    cr_assert_eq(tools_datadir_open(dst, TOOLS_OPEN_DURABLE, &b, &e), CC_OK, "%s", e.msg);
    cr_assert_eq(dur_fence_token(tools_datadir_durable(b)).epoch, 1);
    tools_datadir_close(b);
    tt_scratch_free(&sc);
}

/* --- check and stats ------------------------------------------------------------------ */

static void
count_finding(void *arg, const char *what, const cc_err *f)
{
    (void)what;
    (void)f;
    (*(int *)arg)++;
}

Test(tools_check, finds_nothing_in_a_healthy_catalog)
{
    tt_scratch sc;
    tt_scratch_new(&sc);
    char src[600];
    tt_path(&sc, "src", src, sizeof src);
    tt_build_every_kind(src);
    tools_datadir *d;
    cc_err e;
    cr_assert_eq(tools_datadir_open(src, TOOLS_OPEN_CATALOG, &d, &e), CC_OK, "%s", e.msg);
    int calls = 0;
    size_t n = 99;
    cr_assert_eq(tools_check(d, count_finding, &calls, &n, &e), CC_OK, "%s", e.msg);
    cr_assert_eq(n, 0);
    cr_assert_eq(calls, 0);
    tools_datadir_close(d);
    cr_assert_eq(tools_datadir_open(sc.path, TOOLS_OPEN_CATALOG, &d, &e), CC_INVALID);
    cr_assert(strstr(e.msg, "is not a cowcat data directory") != NULL, "%s", e.msg);
    char missing[600];
    cr_assert_eq(tools_datadir_open(tt_path(&sc, "nope", missing, sizeof missing),
                                    TOOLS_OPEN_CATALOG, &d, &e),
                 CC_NOT_FOUND);
    cr_assert(!tt_exists(missing), "opening read-only creates nothing");
    tt_scratch_free(&sc);
}

Test(tools_stats, counts_objects_by_kind_and_schema)
{
    tt_scratch sc;
    tt_scratch_new(&sc);
    char src[600];
    tt_path(&sc, "src", src, sizeof src);
    tt_build_every_kind(src);
    tools_stats st;
    cc_err e;
    cr_assert_eq(tools_stats_collect(src, &st, &e), CC_OK, "%s", e.msg);
    cr_assert_eq(st.kinds[CAT_KIND_TABLE], 3);
    cr_assert_eq(st.kinds[CAT_KIND_VIEW], 1);
    cr_assert_eq(st.kinds[CAT_KIND_MATERIALIZED_VIEW], 1);
    cr_assert_eq(st.kinds[CAT_KIND_INDEX], 2);
    cr_assert_eq(st.kinds[CAT_KIND_TYPE], 1);
    cr_assert_eq(st.kinds[CAT_KIND_DATABASE], 2);
    cr_assert_eq(st.kinds[CAT_KIND_ROLE], 4);
    const tools_schema_stats *app = NULL;
    for (size_t i = 0; i < st.nschemas; i++)
        if (strcmp(st.schemas[i].database, "cowcat") == 0 &&
            strcmp(st.schemas[i].schema, "app") == 0)
            app = &st.schemas[i];
    cr_assert_not_null(app);
    cr_assert_eq(app->kinds[CAT_KIND_TABLE], 2);
    cr_assert_eq(app->kinds[CAT_KIND_INDEX], 2);
    cr_assert_eq(app->kinds[CAT_KIND_TYPE], 1);
    cr_assert_eq(st.limits[CAT_LIMIT_TABLES], 500);
    cr_assert_eq(st.limits[CAT_LIMIT_VIEWS], 70);
    cr_assert_eq(st.limit_used[CAT_LIMIT_TABLES], 3);
    cr_assert_eq(st.limit_used[CAT_LIMIT_OBJECTS_PER_SCHEMA], 7);
    cr_assert_gt(st.log_bytes, 0);
    cr_assert_geq(st.dir_bytes, st.log_bytes + st.rollup_bytes);
    cr_assert_gt(st.value_bytes, 1000);
    cr_assert_gt(st.memory_bytes, 0);
    cr_assert_gt(st.entries[DUR_AUDIT_LOG], 10);
    tools_stats_fini(&st);
    tt_scratch_free(&sc);
}
