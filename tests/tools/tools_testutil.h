/*
 * tests/tools/tools_testutil.h — fixtures for the tools tests: scratch
 * directories, catalogs built through cowcat.h, query results as sorted
 * text, dumps in memory.
 *
 * Every helper asserts (Criterion) on failure, so a test reads as the steps
 * it takes.
 */
#ifndef COWCAT_TOOLS_TESTUTIL_H
#define COWCAT_TOOLS_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cowcat.h"
#include "tools/tools.h"

/* A scratch directory (mkdtemp under $TMPDIR or /tmp), removed by tt_scratch_free. */
typedef struct tt_scratch {
    char path[512];
} tt_scratch;

void tt_scratch_new(tt_scratch *s);
void tt_scratch_free(tt_scratch *s);
/* "<scratch>/<name>" into buf (cap bytes); returns buf. */
const char *tt_path(const tt_scratch *s, const char *name, char *buf, size_t cap);

/* Opens the catalog in dir (created if missing) and a session as user (NULL: cowcat). */
void tt_open(const char *dir, const char *user, cowcat **db, cowcat_session **s);
void tt_close(cowcat *db, cowcat_session *s);

/* Runs sql; it must succeed (the failure is printed and asserted). */
void tt_exec(cowcat_session *s, const char *sql);

/*
 * Runs a query and returns its rows as one string: each row's cells joined
 * by '|' (NULL as "<null>"), rows sorted and joined by '\n' (malloc'd).
 */
char *tt_query(cowcat_session *s, const char *sql);

/* The first cell of the first row of a query (malloc'd); the query must return a row. */
char *tt_query_value(cowcat_session *s, const char *sql);

/* Creates a catalog with every object kind in dir (see the .c for the script). */
void tt_build_every_kind(const char *dir);
/* Creates a catalog in dir with n two-column tables (batched). */
void tt_build_tables(const char *dir, int n);

/* Reads a whole file (malloc'd, *len bytes). */
uint8_t *tt_read_file(const char *path, size_t *len);
void tt_write_file(const char *path, const void *p, size_t len);

/* Dumps dir into a buffer (malloc'd) through a file in scratch. */
uint8_t *tt_dump(const tt_scratch *s, const char *dir, tools_dump_content content, size_t *len);

/* True if path exists. */
bool tt_exists(const char *path);
/* Number of entries in directory dir whose name starts with prefix. */
int tt_count_prefix(const char *dir, const char *prefix);

#endif
