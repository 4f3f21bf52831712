/*
 * tests/ddl/test_ddl_txnwal.c — tables and txn-wal through cowcat.h: CREATE
 * TABLE stays exactly one durable write with its data shard registered in
 * it, every commit (DDL of any kind) advances every table's frontier
 * (cowcat_table_upper), DROP TABLE / CASCADE / DROP SCHEMA CASCADE forget
 * what they drop, registrations survive a reopen and pass cowcat_check,
 * create/drop cycles keep shards flat, and the `advance` ablation counts one
 * run per commit with the same frontiers. White-box (ddl/src/internal.h) for
 * the persist client's write counter.
 */
#include <criterion/criterion.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cowcat.h"
#include "internal.h"

static char dir[64];

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

static cowcat *
open_db(uint32_t ablate)
{
    cowcat_options o = {.data_dir = dir, .durability = COWCAT_DURABILITY_NONE, .ablate = ablate};
    cowcat *db;
    cowcat_error err;
    cr_assert_eq(cowcat_open(&o, &db, &err), COWCAT_OK, "%s", err.message);
    return db;
}

static void
setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/cowcat-txnwal-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void
teardown(void)
{
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void
exec_ok(cowcat_session *s, const char *sql)
{
    cowcat_error err;
    cr_assert_eq(cowcat_exec(s, sql, NULL, NULL, &err), COWCAT_OK, "%s: %s", sql, err.message);
}

static uint64_t
wal_groups(cowcat *db)
{
    persist_stats st;
    persist_client_stats(db->pc, &st);
    return st.wal_groups;
}

static uint64_t
shard_count(cowcat *db)
{
    persist_stats st;
    persist_client_stats(db->pc, &st);
    return st.shards;
}

static cowcat_stats
stats_of(cowcat *db)
{
    cowcat_stats st;
    cowcat_stats_get(db, &st);
    return st;
}

/* The OID of relation name, or 0. */
static uint32_t
oid_of(cowcat_session *s, const char *name)
{
    cowcat_snapshot *snap;
    cowcat_object o;
    cr_assert_eq(cowcat_snapshot_open(s, &snap, NULL), COWCAT_OK);
    uint32_t oid = cowcat_snapshot_find(snap, name, &o, NULL) == COWCAT_OK ? o.oid : 0;
    cowcat_snapshot_close(snap);
    return oid;
}

static void
check_ok(cowcat *db)
{
    cowcat_error err;
    cr_assert_eq(cowcat_check(db, &err), COWCAT_OK, "%s", err.message);
}

TestSuite(ddl_txnwal, .init = setup, .fini = teardown);

Test(ddl_txnwal, create_table_is_one_durable_write_that_registers_its_shard)
{
    cowcat *db = open_db(0);
    cowcat_session *s;
    cr_assert_eq(cowcat_session_open(db, NULL, &s, NULL), COWCAT_OK);
    uint64_t shards0 = shard_count(db);
    for (int i = 0; i < 100; i++) {
        char sql[64];
        snprintf(sql, sizeof sql, "CREATE TABLE t%d (a int PRIMARY KEY, b text)", i);
        uint64_t g0 = wal_groups(db);
        exec_ok(s, sql);
        cr_assert_eq(wal_groups(db) - g0, 1, "CREATE TABLE t%d: exactly one durable write", i);
        cr_assert_eq(stats_of(db).tables_registered, (uint64_t)i + 1);
    }
    cr_assert_eq(shard_count(db), shards0, "no data shard is made for an unwritten table");
    uint64_t g0 = wal_groups(db);
    exec_ok(s, "CREATE VIEW v AS SELECT a FROM t1");
    exec_ok(s, "CREATE INDEX i ON t2 (b)");
    cr_assert_eq(wal_groups(db) - g0, 2);
    cr_assert_eq(stats_of(db).tables_registered, 100, "views and indexes have no data shard");
    uint64_t up;
    cowcat_error err;
    cr_assert_eq(cowcat_table_upper(db, oid_of(s, "v"), &up, &err), COWCAT_NOT_FOUND);
    cr_assert_str_eq(err.sqlstate, "42P01");
    cr_assert_eq(cowcat_table_upper(db, 4000000000u, &up, &err), COWCAT_NOT_FOUND);
    check_ok(db);
    cowcat_session_close(s);
    cowcat_close(db);
}

Test(ddl_txnwal, every_commit_advances_every_tables_frontier)
{
    cowcat *db = open_db(0);
    cowcat_session *s;
    cr_assert_eq(cowcat_session_open(db, NULL, &s, NULL), COWCAT_OK);
    uint32_t oids[50];
    for (int i = 0; i < 50; i++) {
        char sql[64], name[16];
        snprintf(sql, sizeof sql, "CREATE TABLE t%d (a int)", i);
        snprintf(name, sizeof name, "t%d", i);
        exec_ok(s, sql);
        oids[i] = oid_of(s, name);
        cr_assert_neq(oids[i], 0);
    }
    const char *ddl[] = {"CREATE VIEW v AS SELECT a FROM t0", "COMMENT ON TABLE t3 IS 'x'",
                         "ALTER TABLE t4 RENAME TO t4b", "CREATE SCHEMA s",
                         "CREATE ROLE r"};
    for (size_t d = 0; d < sizeof ddl / sizeof *ddl; d++) {
        uint64_t before = stats_of(db).txns_upper;
        exec_ok(s, ddl[d]);
        uint64_t after = stats_of(db).txns_upper;
        cr_assert_eq(after, before + 1, "%s: one txns append", ddl[d]);
        for (int i = 0; i < 50; i++) {
            uint64_t up;
            cowcat_error err;
            cr_assert_eq(cowcat_table_upper(db, oids[i], &up, &err), COWCAT_OK, "%s",
                         err.message);
            cr_assert_eq(up, after, "table t%d after %s", i, ddl[d]);
        }
    }
    /* A multi-statement block is one commit: the frontier moves once. */
    uint64_t before = stats_of(db).txns_upper;
    exec_ok(s, "CREATE TABLE x1 (a int); CREATE TABLE x2 (a int); DROP TABLE t5");
    cr_assert_eq(stats_of(db).txns_upper, before + 1);
    cr_assert_eq(stats_of(db).tables_registered, 51);
    check_ok(db);
    cowcat_session_close(s);
    cowcat_close(db);
}

Test(ddl_txnwal, drops_and_cascades_forget_what_they_drop_and_reopen_agrees)
{
    cowcat *db = open_db(0);
    cowcat_session *s;
    cr_assert_eq(cowcat_session_open(db, NULL, &s, NULL), COWCAT_OK);
    exec_ok(s, "CREATE TABLE a (id int PRIMARY KEY)");
    exec_ok(s, "CREATE TABLE b (id int REFERENCES a (id))");
    exec_ok(s, "CREATE VIEW va AS SELECT id FROM a");
    exec_ok(s, "CREATE SCHEMA s2");
    exec_ok(s, "CREATE TABLE s2.c (x int)");
    exec_ok(s, "CREATE TABLE s2.d (x int)");
    exec_ok(s, "CREATE VIEW s2.vc AS SELECT x FROM s2.c");
    exec_ok(s, "CREATE TABLE keep (x int)");
    cr_assert_eq(stats_of(db).tables_registered, 5);
    uint32_t oid_a = oid_of(s, "a"), oid_keep = oid_of(s, "keep");
    exec_ok(s, "DROP TABLE a CASCADE");
    cr_assert_eq(stats_of(db).tables_registered, 4, "b loses only its foreign key");
    uint64_t up;
    cr_assert_eq(cowcat_table_upper(db, oid_a, &up, NULL), COWCAT_NOT_FOUND);
    exec_ok(s, "DROP SCHEMA s2 CASCADE");
    cr_assert_eq(stats_of(db).tables_registered, 2, "the schema's tables are forgotten");
    check_ok(db);
    exec_ok(s, "CREATE DATABASE d2");
    cowcat_session *s2;
    cowcat_session_options so = {.database = "d2"};
    cr_assert_eq(cowcat_session_open(db, &so, &s2, NULL), COWCAT_OK);
    exec_ok(s2, "CREATE TABLE in_d2 (x int)");
    exec_ok(s2, "CREATE TABLE in_d2b (x int)");
    cowcat_session_close(s2);
    cr_assert_eq(stats_of(db).tables_registered, 4);
    exec_ok(s, "DROP DATABASE d2");
    cr_assert_eq(stats_of(db).tables_registered, 2, "a dropped database takes its tables");
    check_ok(db);
    cowcat_session_close(s);
    cowcat_close(db);

    db = open_db(0);
    cr_assert_eq(cowcat_session_open(db, NULL, &s, NULL), COWCAT_OK);
    cr_assert_eq(stats_of(db).tables_registered, 2, "after reopen");
    cr_assert_eq(cowcat_table_upper(db, oid_keep, &up, NULL), COWCAT_OK);
    cr_assert_eq(up, stats_of(db).txns_upper);
    check_ok(db);
    cowcat_session_close(s);
    cowcat_close(db);
}

Test(ddl_txnwal, create_and_drop_cycles_keep_the_shard_count_flat)
{
    cowcat *db = open_db(0);
    cowcat_session *s;
    cr_assert_eq(cowcat_session_open(db, NULL, &s, NULL), COWCAT_OK);
    exec_ok(s, "CREATE TABLE base (a int)");
    uint64_t shards0 = shard_count(db);
    for (int i = 0; i < 500; i++) {
        exec_ok(s, "CREATE TABLE c (a int, b text)");
        exec_ok(s, "DROP TABLE c");
        cr_assert_eq(shard_count(db), shards0, "cycle %d", i);
        cr_assert_eq(stats_of(db).tables_registered, 1, "cycle %d", i);
    }
    cowcat_session_close(s);
    cowcat_close(db);
}

Test(ddl_txnwal, the_advance_ablation_runs_once_per_commit_with_the_same_frontiers)
{
    cowcat *db = open_db(COWCAT_ABLATE_BIT(COWCAT_ABLATE_ADVANCE));
    cowcat_session *s;
    cr_assert_eq(cowcat_session_open(db, NULL, &s, NULL), COWCAT_OK);
    uint64_t runs0 = stats_of(db).ablated[COWCAT_ABLATE_ADVANCE];
    for (int i = 0; i < 10; i++) {
        char sql[64];
        snprintf(sql, sizeof sql, "CREATE TABLE t%d (a int)", i);
        exec_ok(s, sql);
    }
    exec_ok(s, "CREATE VIEW v AS SELECT a FROM t1");
    cowcat_stats st = stats_of(db);
    cr_assert_eq(st.ablated[COWCAT_ABLATE_ADVANCE] - runs0, 11, "one loop per commit");
    cr_assert_eq(st.commits, 11);
    for (int i = 0; i < 10; i++) {
        char name[16];
        snprintf(name, sizeof name, "t%d", i);
        uint64_t up;
        cr_assert_eq(cowcat_table_upper(db, oid_of(s, name), &up, NULL), COWCAT_OK);
        cr_assert_eq(up, st.txns_upper);
    }
    for (int a = 0; a < COWCAT_NABLATIONS; a++)
        if (a != COWCAT_ABLATE_ADVANCE)
            cr_assert_eq(st.ablated[a], 0, "ablation %s did not run", cowcat_ablation_name(a));
    check_ok(db);
    cowcat_session_close(s);
    cowcat_close(db);
    /* Without the ablation the loop never runs. */
    db = open_db(0);
    cr_assert_eq(cowcat_session_open(db, NULL, &s, NULL), COWCAT_OK);
    exec_ok(s, "CREATE TABLE more (a int)");
    cr_assert_eq(stats_of(db).ablated[COWCAT_ABLATE_ADVANCE], 0);
    cr_assert_eq(stats_of(db).tables_registered, 11);
    cowcat_session_close(s);
    cowcat_close(db);
}
