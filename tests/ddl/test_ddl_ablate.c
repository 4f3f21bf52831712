/*
 * tests/ddl/test_ddl_ablate.c — the benchmark ablations (cowcat.h
 * COWCAT_ABLATE_*) through cowcat.h: each switches back on an O(n) path
 * of one layer, and must change nothing but the cost.
 *
 * One script of DDL (creates, a rename, comments, drops, a limit, and
 * errors that fail in planning, in RESTRICT and at commit) runs on a fresh
 * catalog without ablations and with each ablation. Checked per ablation:
 *   - every statement's outcome (code, SQLSTATE, message) and the final
 *     catalog fingerprint equal the run without ablation, and the full
 *     check passes;
 *   - ablated[a] grows by exactly what the ablation claims per statement
 *     (clone: one deep copy per transaction; check: one full check per
 *     commit; limits: one scan per commit of a transaction that created;
 *     alloc: one separate durable commit per allocating statement, seen in
 *     the catalog shard's upper and, on files, persist's durable writes;
 *     snapshot: one rebuild per durable commit; trace: one sort per shard
 *     append), and every other ablated[] stays 0.
 * The durable ones (alloc, snapshot, trace) run on the file backend too
 * and are reopened without the ablation: same catalog, and new ids do not
 * collide with the ones the ablated run handed out.
 *
 * White-box (ddl/src/internal.h) only to read persist's counters and the
 * durable catalog's upper.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cowcat.h"
#include "internal.h"

/* One statement of the script and what it does to the counters. */
typedef struct step {
    const char *sql;
    bool sys;       /* run as cowcat_system (ALTER SYSTEM) */
    bool allocates; /* allocates an id and OID (a create that gets that far) */
    bool commits;   /* ends in a durable commit */
    bool creates;   /* its transaction created an object and reached commit */
} step;

static const step script[] = {
    {"ALTER SYSTEM SET max_tables = 3", true, false, true, false},
    {"CREATE TABLE t (a int PRIMARY KEY, b text)", false, true, true, true},
    {"CREATE VIEW v AS SELECT a, b FROM t", false, true, true, true},
    {"CREATE INDEX i ON t (b)", false, true, true, true},
    {"ALTER TABLE t RENAME TO t2", false, false, true, false},
    {"CREATE TABLE t2 (x int)", false, false, false, false},           /* 42P07 */
    {"DROP TABLE t2", false, false, false, false},                     /* 2BP01: v */
    {"COMMENT ON TABLE t2 IS 'renamed'", false, false, true, false},
    {"DROP VIEW v", false, false, true, false},
    {"CREATE TABLE u (x int REFERENCES t2 (a))", false, true, true, true},
    {"CREATE SCHEMA s2", false, true, true, true},
    {"CREATE TABLE s2.w (x int)", false, true, true, true},
    {"CREATE TABLE z (x int)", false, true, false, true}, /* 53400 at commit: 4 > 3 tables */
};
#define NSTEPS (sizeof script / sizeof *script)

/* What a run saw. */
typedef struct run_result {
    cowcat_code rc[NSTEPS];
    char sqlstate[NSTEPS][6];
    char message[NSTEPS][COWCAT_ERROR_MAX];
    uint64_t ablated[NSTEPS][COWCAT_NABLATIONS]; /* growth per statement */
    uint64_t appends[NSTEPS];                    /* persist appends (all shards) per statement */
    uint64_t commits[NSTEPS];                    /* durable commits: catalog upper growth */
    uint64_t writes[NSTEPS];                     /* durable writes (file backend) */
    uint64_t total[COWCAT_NABLATIONS];           /* at the end */
    uint64_t fp[2];
    bool files; /* file backend: writes[] counts */
} run_result;

typedef struct counts {
    uint64_t ablated[COWCAT_NABLATIONS];
    uint64_t appends, upper, writes;
} counts;

static void
counters(cowcat *db, counts *c)
{
    cowcat_stats st;
    persist_stats ps;
    cowcat_stats_get(db, &st);
    persist_client_stats(db->pc, &ps);
    memcpy(c->ablated, st.ablated, sizeof st.ablated);
    c->appends = ps.appends;
    c->writes = ps.wal_groups;
    c->upper = dur_upper(db->dur);
}

static void
fingerprint(cowcat_session *s, uint64_t fp[2])
{
    cowcat_snapshot *snap;
    cowcat_error err;
    cr_assert_eq(cowcat_snapshot_open(s, &snap, &err), COWCAT_OK, "%s", err.message);
    cowcat_snapshot_fingerprint(snap, fp);
    cowcat_snapshot_close(snap);
}

/* Runs the script on a fresh catalog (dir NULL: memory) with ablations mask. */
static void
run_script(uint32_t mask, const char *dir, run_result *out)
{
    memset(out, 0, sizeof *out);
    out->files = dir != NULL;
    cowcat_options o = {.backend = dir ? COWCAT_BACKEND_FILE : COWCAT_BACKEND_MEMORY,
                        .data_dir = dir,
                        .ablate = mask};
    cowcat *db;
    cowcat_session *s, *sys;
    cowcat_session_options so = {.user = "cowcat_system"};
    cowcat_error err;
    cr_assert_eq(cowcat_open(&o, &db, &err), COWCAT_OK, "%s", err.message);
    cr_assert_eq(cowcat_session_open(db, NULL, &s, &err), COWCAT_OK, "%s", err.message);
    cr_assert_eq(cowcat_session_open(db, &so, &sys, &err), COWCAT_OK, "%s", err.message);
    for (size_t i = 0; i < NSTEPS; i++) {
        counts c0, c1;
        counters(db, &c0);
        memset(&err, 0, sizeof err);
        out->rc[i] = cowcat_exec(script[i].sys ? sys : s, script[i].sql, NULL, NULL, &err);
        cr_assert_eq(out->rc[i] == COWCAT_OK, script[i].commits, "mask %#x: %s: %s", mask,
                     script[i].sql, err.message);
        snprintf(out->sqlstate[i], sizeof out->sqlstate[i], "%s", err.sqlstate);
        snprintf(out->message[i], sizeof out->message[i], "%s", err.message);
        counters(db, &c1);
        for (int a = 0; a < COWCAT_NABLATIONS; a++)
            out->ablated[i][a] = c1.ablated[a] - c0.ablated[a];
        out->appends[i] = c1.appends - c0.appends;
        out->commits[i] = c1.upper - c0.upper;
        out->writes[i] = c1.writes - c0.writes;
    }
    /* After the last statement (53400 at commit) the published version is
     * exact for the durable upper: an aborted transaction whose allocation
     * committed on its own (alloc) republishes rather than leaving a rebuild. */
    cr_assert_eq(cat_state_upper(cat_state_acquire(db->cat)), dur_upper(db->dur), "mask %#x",
                 mask);
    counts end;
    counters(db, &end);
    memcpy(out->total, end.ablated, sizeof end.ablated);
    fingerprint(s, out->fp);
    cr_assert_eq(cowcat_check(db, &err), COWCAT_OK, "mask %#x: %s", mask, err.message);
    cowcat_session_close(sys);
    cowcat_session_close(s);
    cowcat_close(db);
}

/* The outcomes and the catalog equal the run without ablations. */
static void
assert_same_results(const run_result *base, const run_result *r, const char *what)
{
    for (size_t i = 0; i < NSTEPS; i++) {
        cr_assert_eq(r->rc[i], base->rc[i], "%s: %s", what, script[i].sql);
        cr_assert_str_eq(r->sqlstate[i], base->sqlstate[i], "%s: %s", what, script[i].sql);
        cr_assert_str_eq(r->message[i], base->message[i], "%s: %s", what, script[i].sql);
    }
    cr_assert(r->fp[0] == base->fp[0] && r->fp[1] == base->fp[1],
              "%s: the catalog differs from the run without ablations", what);
}

/* ablated[a] grew by exactly the expected count per statement; every other stays 0. */
static void
assert_counts(const run_result *base, const run_result *r, cowcat_ablation a)
{
    const char *name = cowcat_ablation_name(a);
    uint64_t sum = 0;
    for (size_t i = 0; i < NSTEPS; i++) {
        const step *st = &script[i];
        uint64_t want;
        switch (a) {
        case COWCAT_ABLATE_CLONE:
            want = 1; /* every statement is one catalog transaction */
            break;
        case COWCAT_ABLATE_CHECK:
            want = st->commits;
            break;
        case COWCAT_ABLATE_SNAPSHOT:
            want = st->commits;
            cr_assert_eq(r->commits[i], want, "snapshot: %s", st->sql);
            break;
        case COWCAT_ABLATE_LIMITS:
            want = st->creates;
            break;
        case COWCAT_ABLATE_ALLOC:
            want = st->allocates;
            cr_assert_eq(r->commits[i], base->commits[i] + st->allocates,
                         "alloc: %s: %llu durable commits, %llu without the ablation", st->sql,
                         (unsigned long long)r->commits[i], (unsigned long long)base->commits[i]);
            cr_assert_eq(r->writes[i], base->writes[i] + (r->files ? st->allocates : 0),
                         "alloc: %s: %llu durable writes, %llu without the ablation", st->sql,
                         (unsigned long long)r->writes[i], (unsigned long long)base->writes[i]);
            break;
        case COWCAT_ABLATE_TRACE:
            want = r->appends[i]; /* every append, on every shard */
            cr_assert_eq(r->appends[i], base->appends[i], "trace: %s", st->sql);
            break;
        default:
            want = 0;
        }
        cr_assert_eq(r->ablated[i][a], want, "%s: %s: ran %llu times, expected %llu", name,
                     st->sql, (unsigned long long)r->ablated[i][a], (unsigned long long)want);
        sum += want;
    }
    cr_assert_gt(sum, 0, "%s: the script never takes the ablated path", name);
    for (int b = 0; b < COWCAT_NABLATIONS; b++)
        if (b != (int)a)
            cr_assert_eq(r->total[b], 0, "%s on: ablated[%s] = %llu", name,
                         cowcat_ablation_name((cowcat_ablation)b),
                         (unsigned long long)r->total[b]);
}

static const cowcat_ablation implemented[] = {
    COWCAT_ABLATE_CLONE,  COWCAT_ABLATE_SNAPSHOT, COWCAT_ABLATE_TRACE,
    COWCAT_ABLATE_ALLOC,  COWCAT_ABLATE_LIMITS,   COWCAT_ABLATE_CHECK,
};
#define NIMPL (sizeof implemented / sizeof *implemented)

Test(ablate, no_ablation_counts_nothing)
{
    run_result base;
    run_script(0, NULL, &base);
    for (int a = 0; a < COWCAT_NABLATIONS; a++)
        cr_assert_eq(base.total[a], 0, "ablated[%s]", cowcat_ablation_name((cowcat_ablation)a));
    cr_assert_eq(base.rc[5], COWCAT_EXISTS);
    cr_assert_str_eq(base.sqlstate[5], "42P07");
    cr_assert_str_eq(base.sqlstate[6], "2BP01");
    cr_assert_str_eq(base.sqlstate[12], "53400");
}

Test(ablate, each_ablation_changes_only_the_cost_in_memory)
{
    run_result base, r;
    run_script(0, NULL, &base);
    for (size_t i = 0; i < NIMPL; i++) {
        run_script(COWCAT_ABLATE_BIT(implemented[i]), NULL, &r);
        assert_same_results(&base, &r, cowcat_ablation_name(implemented[i]));
        assert_counts(&base, &r, implemented[i]);
    }
}

Test(ablate, all_ablations_at_once_change_nothing)
{
    run_result base, r;
    uint32_t mask = 0;
    for (size_t i = 0; i < NIMPL; i++)
        mask |= COWCAT_ABLATE_BIT(implemented[i]);
    run_script(0, NULL, &base);
    run_script(mask, NULL, &r);
    assert_same_results(&base, &r, "all");
    for (size_t i = 0; i < NIMPL; i++)
        cr_assert_gt(r.total[implemented[i]], 0, "%s", cowcat_ablation_name(implemented[i]));
    cr_assert_eq(r.total[COWCAT_ABLATE_ADVANCE], 0);
    /* snapshot also rebuilds after each separate allocation commit (and
     * after the open's own append: the fence bump) */
    uint64_t commits = 1, allocs = 0;
    for (size_t i = 0; i < NSTEPS; i++) {
        commits += script[i].commits;
        allocs += script[i].allocates;
    }
    cr_assert_eq(r.total[COWCAT_ABLATE_SNAPSHOT], commits + allocs, "%llu rebuilds",
                 (unsigned long long)r.total[COWCAT_ABLATE_SNAPSHOT]);
}

/* Durable ablations on the file backend, then a reopen without them. */
static void
file_round(cowcat_ablation a)
{
    char d0[] = "/tmp/cowcat-ablate-XXXXXX", d1[] = "/tmp/cowcat-ablate-XXXXXX";
    cr_assert_not_null(mkdtemp(d0));
    cr_assert_not_null(mkdtemp(d1));
    run_result base, r;
    run_script(0, d0, &base);
    run_script(COWCAT_ABLATE_BIT(a), d1, &r);
    assert_same_results(&base, &r, cowcat_ablation_name(a));
    assert_counts(&base, &r, a);

    /* Reopened with the ablation, then without: the same catalog, and new
     * creates get ids and OIDs nobody has (the check would see duplicates). */
    static const char *const more[] = {"CREATE VIEW y AS SELECT x FROM u",
                                       "CREATE INDEX j ON u (x)"};
    for (int pass = 0; pass < 2; pass++) {
        cowcat_options o = {.data_dir = d1, .ablate = pass == 0 ? COWCAT_ABLATE_BIT(a) : 0};
        cowcat *db;
        cowcat_session *s;
        cowcat_error err;
        uint64_t fp[2];
        cr_assert_eq(cowcat_open(&o, &db, &err), COWCAT_OK, "%s", err.message);
        cr_assert_eq(cowcat_check(db, &err), COWCAT_OK, "%s", err.message);
        cr_assert_eq(cowcat_session_open(db, NULL, &s, &err), COWCAT_OK);
        fingerprint(s, fp);
        if (pass == 0)
            cr_assert(fp[0] == r.fp[0] && fp[1] == r.fp[1], "%s: reopened catalog differs",
                      cowcat_ablation_name(a));
        cr_assert_eq(cowcat_exec(s, more[pass], NULL, NULL, &err), COWCAT_OK, "%s: %s",
                     cowcat_ablation_name(a), err.message);
        cr_assert_eq(cowcat_check(db, &err), COWCAT_OK, "%s", err.message);
        cowcat_session_close(s);
        cowcat_close(db);
    }
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s %s", d0, d1);
    cr_assert_eq(system(cmd), 0);
}

Test(ablate, alloc_on_files_commits_once_more_per_create_and_reopens)
{
    file_round(COWCAT_ABLATE_ALLOC);
}

Test(ablate, snapshot_on_files_rebuilds_per_commit_and_reopens)
{
    file_round(COWCAT_ABLATE_SNAPSHOT);
}

Test(ablate, trace_on_files_sorts_per_append_and_reopens)
{
    file_round(COWCAT_ABLATE_TRACE);
}

Test(ablate, parse_accepts_known_names_and_rejects_others)
{
    uint32_t mask = 123;
    cowcat_error err;
    cr_assert_eq(cowcat_ablations_parse("clone,check", &mask, &err), COWCAT_OK);
    cr_assert_eq(mask, COWCAT_ABLATE_BIT(COWCAT_ABLATE_CLONE) | COWCAT_ABLATE_BIT(COWCAT_ABLATE_CHECK));
    cr_assert_eq(cowcat_ablations_parse("", &mask, &err), COWCAT_OK);
    cr_assert_eq(mask, 0);
    memset(&err, 0, sizeof err);
    cr_assert_eq(cowcat_ablations_parse("clone,bogus", &mask, &err), COWCAT_INVALID);
    cr_assert_str_eq(err.sqlstate, "22023");
    cr_assert(strstr(err.message, "\"bogus\"") != NULL, "%s", err.message);
    cr_assert_eq(mask, 0);
    memset(&err, 0, sizeof err);
    cr_assert_eq(cowcat_ablations_parse("bogus", &mask, &err), COWCAT_INVALID);
    cr_assert_str_eq(err.sqlstate, "22023");
    for (int a = 0; a < COWCAT_NABLATIONS; a++) {
        cr_assert_eq(cowcat_ablations_parse(cowcat_ablation_name((cowcat_ablation)a), &mask, &err),
                     COWCAT_OK);
        cr_assert_eq(mask, COWCAT_ABLATE_BIT(a));
    }
}

Test(ablate, open_refuses_unknown_ablation_bits)
{
    cowcat_options o = {.backend = COWCAT_BACKEND_MEMORY, .ablate = 1u << COWCAT_NABLATIONS};
    cowcat *db = NULL;
    cowcat_error err;
    memset(&err, 0, sizeof err);
    cr_assert_eq(cowcat_open(&o, &db, &err), COWCAT_INVALID);
    cr_assert_str_eq(err.sqlstate, "22023");
    cr_assert_null(db);
}
