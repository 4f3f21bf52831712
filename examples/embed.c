/*
 * examples/embed.c — a tiny database prototype that embeds cowcat as its
 * catalog.
 *
 * The "database" keeps rows for its tables in memory; cowcat keeps the
 * catalog. The prototype:
 *   1. opens a data directory (the catalog survives restarts),
 *   2. subscribes to catalog changes, creating a row store when a table
 *      appears and freeing it when the table is dropped (keyed by OID, so a
 *      rename keeps the rows),
 *   3. runs DDL with PostgreSQL syntax, including a transaction block and a
 *      statement that fails (and changes nothing),
 *   4. answers a catalog query (information_schema.columns) and uses a read
 *      snapshot to look up a table's columns before "inserting" a row.
 *
 *   embed [DATA_DIR]          (default: ./embed-data)
 *
 * Build: link libcowcat (CMake target `cowcat`); see README "Embedded API".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cowcat.h"

/* --- the prototype's storage: one row store per table, by OID ------------------------ */

typedef struct store {
    uint32_t oid;
    long rows;
    struct store *next;
} store;

static store *stores;

static store *
store_find(uint32_t oid)
{
    for (store *s = stores; s != NULL; s = s->next)
        if (s->oid == oid)
            return s;
    return NULL;
}

/* Catalog changes: a table arriving gets storage, a table leaving loses it. */
static void
on_change(void *arg, const cowcat_change *changes, size_t n)
{
    (void)arg;
    for (size_t i = 0; i < n; i++) {
        const cowcat_object *o = changes[i].object;
        if (o->kind != COWCAT_KIND_TABLE)
            continue;
        /* An altered table shows up as -1 (old version) then +1 (new): look at the net. */
        int net = 0;
        for (size_t j = 0; j < n; j++)
            if (changes[j].object->oid == o->oid)
                net += changes[j].diff;
        if (net > 0 && store_find(o->oid) == NULL) {
            store *s = calloc(1, sizeof *s);
            s->oid = o->oid;
            s->next = stores;
            stores = s;
            printf("  [storage] created for %s.%s (oid %u)\n", o->schema, o->name, o->oid);
        } else if (net < 0) {
            for (store **p = &stores; *p != NULL; p = &(*p)->next)
                if ((*p)->oid == o->oid) {
                    store *dead = *p;
                    *p = dead->next;
                    printf("  [storage] freed for %s (oid %u, %ld rows)\n", o->name, o->oid,
                           dead->rows);
                    free(dead);
                    break;
                }
        }
    }
}

/* --- printing results ----------------------------------------------------------------- */

static int
print_columns(void *arg, const cowcat_column *cols, size_t n)
{
    (void)arg;
    printf("  ");
    for (size_t i = 0; i < n; i++)
        printf("%s%s", i ? " | " : "", cols[i].name);
    printf("\n");
    return 0;
}

static int
print_row(void *arg, const char *const *values, size_t n)
{
    (void)arg;
    printf("  ");
    for (size_t i = 0; i < n; i++)
        printf("%s%s", i ? " | " : "", values[i] ? values[i] : "NULL");
    printf("\n");
    return 0;
}

static void
print_tag(void *arg, const char *tag)
{
    (void)arg;
    printf("  %s\n", tag);
}

static void
print_notice(void *arg, const cowcat_error *n)
{
    (void)arg;
    printf("  %s:  %s\n", n->severity, n->message);
}

static const cowcat_callbacks printer = {print_columns, print_row, print_tag, print_notice};

/* Runs sql and prints what happened; returns 0 on success. */
static int
run(cowcat_session *s, const char *sql)
{
    cowcat_error err;
    printf("> %s\n", sql);
    if (cowcat_exec(s, sql, &printer, NULL, &err) != COWCAT_OK) {
        printf("  ERROR:  %s: %s\n", err.sqlstate, err.message);
        if (err.detail[0])
            printf("  DETAIL:  %s\n", err.detail);
        return 1;
    }
    return 0;
}

static int
count_column(void *arg, const cowcat_column_info *c)
{
    (void)c;
    ++*(int *)arg;
    return 0;
}

/* "INSERT": checks the table and its arity through a read snapshot, then counts the row. */
static int
insert_row(cowcat_session *s, const char *table, int nvalues)
{
    cowcat_snapshot *snap;
    cowcat_object t;
    cowcat_error err;
    if (cowcat_snapshot_open(s, &snap, &err) != COWCAT_OK)
        return 1;
    int rc = 1, ncols = 0;
    if (cowcat_snapshot_find(snap, table, &t, &err) != COWCAT_OK) {
        printf("  insert into %s: ERROR:  %s: %s\n", table, err.sqlstate, err.message);
    } else if (cowcat_snapshot_columns(snap, t.oid, count_column, &ncols, &err) != COWCAT_OK) {
        printf("  insert into %s: ERROR:  %s\n", table, err.message);
    } else if (nvalues > ncols) {
        printf("  insert into %s: ERROR:  INSERT has more expressions than target columns\n",
               table);
    } else {
        store *st = store_find(t.oid);
        if (st != NULL) {
            st->rows++;
            printf("  inserted 1 row into %s (oid %u, %d columns): %ld rows\n", table, t.oid, ncols,
                   st->rows);
            rc = 0;
        }
    }
    cowcat_snapshot_close(snap);
    return rc;
}

/* At startup: storage for the tables the catalog already has (a restart). */
static int
adopt(void *arg, const cowcat_object *o)
{
    (void)arg;
    if (o->kind == COWCAT_KIND_TABLE && store_find(o->oid) == NULL) {
        store *s = calloc(1, sizeof *s);
        s->oid = o->oid;
        s->next = stores;
        stores = s;
        printf("  [storage] adopted %s.%s (oid %u) from the catalog\n", o->schema, o->name, o->oid);
    }
    return 0;
}

int
main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "./embed-data";
    cowcat_options o = {.data_dir = dir, .durability = COWCAT_DURABILITY_FSYNC};
    cowcat *db;
    cowcat_session *s;
    cowcat_subscription *sub;
    cowcat_error err;
    if (cowcat_open(&o, &db, &err) != COWCAT_OK) {
        fprintf(stderr, "embed: cannot open %s: %s\n", dir, err.message);
        return 1;
    }
    cowcat_subscribe(db, on_change, NULL, &sub, NULL);
    if (cowcat_session_open(db, NULL, &s, &err) != COWCAT_OK) {
        fprintf(stderr, "embed: %s\n", err.message);
        return 1;
    }
    cowcat_snapshot *snap;
    if (cowcat_snapshot_open(s, &snap, NULL) == COWCAT_OK) {
        cowcat_snapshot_walk_schema(snap, "shop", adopt, NULL, NULL); /* NOT_FOUND on first run */
        cowcat_snapshot_close(snap);
    }
    int fails = 0;
    fails += run(s, "CREATE SCHEMA IF NOT EXISTS shop");
    fails += run(s, "SET search_path = shop, public");
    fails += run(s, "CREATE TABLE IF NOT EXISTS customers (id int PRIMARY KEY, name text NOT NULL)");
    fails += run(s, "BEGIN");
    fails += run(s, "CREATE TABLE IF NOT EXISTS orders (id int PRIMARY KEY, "
                    "customer int REFERENCES customers (id), total numeric(10,2))");
    fails += run(s, "CREATE INDEX IF NOT EXISTS orders_customer_idx ON orders (customer)");
    fails += run(s, "COMMIT");
    /* This one fails: nothing changes, the storage layer hears nothing. */
    if (run(s, "CREATE TABLE customers (id int)") == 0)
        fails++;
    fails += insert_row(s, "customers", 2);
    fails += insert_row(s, "orders", 3);
    if (insert_row(s, "customers", 5) == 0) /* too many values: refused */
        fails++;
    fails += run(s, "SELECT table_name, column_name, data_type FROM information_schema.columns "
                    "WHERE table_schema = 'shop' ORDER BY table_name, ordinal_position");
    fails += run(s, "DROP TABLE IF EXISTS scratch");
    fails += run(s, "CREATE TABLE scratch (x int)");
    fails += run(s, "DROP TABLE scratch");
    cowcat_session_close(s);
    cowcat_unsubscribe(sub);
    cowcat_close(db);
    while (stores != NULL) {
        store *next = stores->next;
        free(stores);
        stores = next;
    }
    printf("embed: %s\n", fails ? "FAILED" : "ok");
    return fails ? 1 : 0;
}
