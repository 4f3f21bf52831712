/*
 * tests/catalog/stress_catalog_readers.c — reader threads pin and read
 * catalog versions while one writer commits, on the writer's catalog and on
 * a follower that applies the writer's appends on the writer's thread. Built
 * as a plain program so it runs under TSan (and ASan).
 *
 * The writer runs transactions that each create two tables and a view over
 * them, or drop one such group with CASCADE, in schema public. In every
 * published version, then, tables = 2 x views + the few it never drops, the
 * schema's member count equals tables + views, every view's two uses exist
 * and count it among their dependents. Readers pin, acquire the current
 * version, check all of that over a walk of the schema's members, and keep
 * the version pinned across several commits before checking it again: a
 * torn or freed version fails a check or trips the sanitizer.
 *
 * Usage: stress_catalog_readers [commits] [readers per catalog]
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"
#include "persist/persist.h"
#include "testutil.h"

#define PUBLIC cat_ref_make(CAT_CLASS_SCHEMA, false, 1)

static void
die(const char *what, const cc_err *err)
{
    fprintf(stderr, "stress_catalog_readers: %s: %s\n", what, err ? err->msg : "");
    exit(1);
}

typedef struct shared {
    cat_catalog *cats[2]; /* writer, follower */
    int done;             /* atomic */
    uint64_t reads;       /* atomic */
} shared;

typedef struct reader_arg {
    shared *sh;
    cat_catalog *cat;
    uint64_t seed;
} reader_arg;

typedef struct tally {
    const cat_state *s;
    uint64_t tables, views;
    const char *bad;
} tally;

static int
visit(void *arg, const cat_object *o)
{
    tally *t = arg;
    if (o->parent != PUBLIC) {
        t->bad = "a member of public whose parent is not public";
        return 1;
    }
    if (o->kind == CAT_KIND_TABLE) {
        t->tables++;
    } else if (o->kind == CAT_KIND_VIEW) {
        t->views++;
        if (o->nuses != 2) {
            t->bad = "a view without its two tables";
            return 1;
        }
        for (uint32_t i = 0; i < 2; i++) {
            const cat_object *u = cat_state_find(t->s, o->uses[i]);
            if (u == NULL || u->kind != CAT_KIND_TABLE ||
                cat_state_count_used_by(t->s, u->ref) != 1) {
                t->bad = "a view's table is missing or does not count it";
                return 1;
            }
        }
    }
    return 0;
}

static const char *
check(const cat_state *s)
{
    tally t = {.s = s};
    cat_state_walk_members(s, PUBLIC, visit, &t);
    if (t.bad != NULL)
        return t.bad;
    if (t.tables != cat_state_count(s, CAT_KIND_TABLE) ||
        t.views != cat_state_count(s, CAT_KIND_VIEW))
        return "kind counts differ from the walk";
    if (t.tables != 2 * t.views + 4)
        return "tables and views out of step (a torn version?)";
    if (cat_state_count_members(s, PUBLIC) != t.tables + t.views)
        return "member count differs from the walk";
    return NULL;
}

static void *
reader(void *p)
{
    reader_arg *a = p;
    pmap_reader *r;
    cc_err err;
    if (pmap_reader_new(cat_catalog_domain(a->cat), &r, &err) != CC_OK)
        die("reader", &err);
    tu_rng rng;
    tu_rng_init(&rng, a->seed);
    while (!__atomic_load_n(&a->sh->done, __ATOMIC_ACQUIRE)) {
        pmap_reader_pin(r);
        const cat_state *s = cat_state_acquire(a->cat);
        const char *bad = check(s);
        for (uint64_t k = tu_rng_below(&rng, 8); bad == NULL && k > 0; k--)
            sched_yield(); /* hold the version while commits go by */
        if (bad == NULL)
            bad = check(s); /* the same version, after commits went by */
        pmap_reader_unpin(r);
        if (bad != NULL) {
            fprintf(stderr, "stress_catalog_readers: %s\n", bad);
            exit(1);
        }
        __atomic_add_fetch(&a->sh->reads, 1, __ATOMIC_RELAXED);
    }
    pmap_reader_free(r);
    return NULL;
}

int
main(int argc, char **argv)
{
    long commits = argc > 1 ? atol(argv[1]) : 3000;
    int nreaders = argc > 2 ? atoi(argv[2]) : 2;
    uint64_t seed = tu_seed("stress_catalog_readers");
    cc_err err;
    persist_options po = {.backend = PERSIST_BACKEND_MEM};
    persist_client *pc;
    if (persist_client_open(&po, &pc, &err) != CC_OK)
        die("persist", &err);
    dur_options dopt = {
        .mode = DUR_MODE_WRITABLE, .deploy_generation = 1, .names = DUR_NAMES_EXTERNAL};
    dur_catalog *dur;
    if (dur_open(pc, &dopt, &dur, &err) != CC_OK)
        die("dur_open", &err);
    cat_options copt = {.check = CAT_CHECK_INCREMENTAL};
    shared sh = {0};
    if (cat_open(dur, &copt, &sh.cats[0], &err) != CC_OK)
        die("cat_open", &err);

    /* four tables that stay, so a version is never empty */
    Cowcat__Catalog__Column col = COWCAT__CATALOG__COLUMN__INIT;
    Cowcat__Catalog__Column *cols[] = {&col};
    col.name = "a";
    col.type_name = "int4";
    col.typmod = -1;
    col.nullable = true;
    char name[4][32];
    cat_op ops[4];
    for (int i = 0; i < 4; i++) {
        snprintf(name[i], sizeof name[i], "base%d", i);
        ops[i] = (cat_op){.kind = CAT_OP_CREATE_ITEM};
        ops[i].u.create_item.kind = CAT_KIND_TABLE;
        ops[i].u.create_item.schema = PUBLIC;
        ops[i].u.create_item.name = name[i];
        ops[i].u.create_item.create_sql = "CREATE TABLE base (a int4)";
        ops[i].u.create_item.ncolumns = 1;
        ops[i].u.create_item.columns = cols;
    }
    if (cat_transact(sh.cats[0], NULL, ops, 4, NULL, &err) != CC_OK)
        die("base tables", &err);
    if (cat_open_follower(pc, &copt, &sh.cats[1], &err) != CC_OK)
        die("follower", &err);

    pthread_t th[16];
    reader_arg ra[16];
    int nth = 0;
    for (int c = 0; c < 2; c++)
        for (int i = 0; i < nreaders && nth < 16; i++, nth++) {
            ra[nth] = (reader_arg){&sh, sh.cats[c], seed + (uint64_t)nth};
            pthread_create(&th[nth], NULL, reader, &ra[nth]);
        }

    tu_rng rng;
    tu_rng_init(&rng, seed);
    cat_ref *groups = calloc((size_t)commits + 1, sizeof *groups); /* each group's view */
    size_t ngroups = 0;
    for (long i = 0; i < commits; i++) {
        if (ngroups > 0 && tu_rng_chance(&rng, 40)) {
            size_t g = tu_rng_below(&rng, ngroups);
            const cat_object *v = cat_state_find(cat_state_acquire(sh.cats[0]), groups[g]);
            cat_ref all[3] = {groups[g], v->uses[0], v->uses[1]}; /* RESTRICT: all in the set */
            cat_op op = {.kind = CAT_OP_DROP};
            op.u.drop.n = 3;
            op.u.drop.refs = all;
            op.u.drop.behavior = CAT_DROP_RESTRICT;
            if (cat_transact(sh.cats[0], NULL, &op, 1, NULL, &err) != CC_OK)
                die("drop group", &err);
            groups[g] = groups[--ngroups];
            continue;
        }
        char tn[2][32], vn[32];
        snprintf(tn[0], sizeof tn[0], "a%ld", i);
        snprintf(tn[1], sizeof tn[1], "b%ld", i);
        snprintf(vn, sizeof vn, "v%ld", i);
        cat_txn *t;
        cat_ref tr[2], vr;
        if (cat_txn_begin(sh.cats[0], NULL, &t, &err) != CC_OK)
            die("begin", &err);
        for (int k = 0; k < 2; k++) {
            cat_op op = ops[0];
            op.u.create_item.name = tn[k];
            if (cat_txn_apply(t, &op, &tr[k], &err) != CC_OK)
                die("create table", &err);
        }
        cat_op view = {.kind = CAT_OP_CREATE_ITEM};
        view.u.create_item.kind = CAT_KIND_VIEW;
        view.u.create_item.schema = PUBLIC;
        view.u.create_item.name = vn;
        view.u.create_item.create_sql = "CREATE VIEW v AS SELECT 1";
        view.u.create_item.nuses = 2;
        view.u.create_item.uses = tr;
        if (cat_txn_apply(t, &view, &vr, &err) != CC_OK)
            die("create view", &err);
        if (cat_txn_commit(t, &err) != CC_OK)
            die("commit", &err);
        groups[ngroups++] = vr;
    }
    __atomic_store_n(&sh.done, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < nth; i++)
        pthread_join(th[i], NULL);
    const char *bad = check(cat_state_acquire(sh.cats[1]));
    if (bad != NULL || cat_state_upper(cat_state_acquire(sh.cats[1])) !=
                           cat_state_upper(cat_state_acquire(sh.cats[0])))
        die(bad ? bad : "the follower did not reach the writer's upper", NULL);
    if (cat_check(cat_state_acquire(sh.cats[1]), NULL, NULL, &err) != CC_OK)
        die("follower check", &err);
    printf("stress_catalog_readers: %ld commits, %llu version reads, %zu groups left\n", commits,
           (unsigned long long)__atomic_load_n(&sh.reads, __ATOMIC_RELAXED), ngroups);
    free(groups);
    cat_close(sh.cats[1]);
    cat_close(sh.cats[0]);
    dur_close(dur);
    persist_client_close(pc);
    return 0;
}
