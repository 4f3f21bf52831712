/*
 * tests/ddl/oom_common.h — what the allocation-failure sweeps (test_ddl_oom,
 * test_ddl_oom_parse) compare a failed run with: a hash of a statement's
 * output and of its error, and the catalog's fingerprint.
 */
#ifndef TESTS_DDL_OOM_COMMON_H
#define TESTS_DDL_OOM_COMMON_H

#include <stdbool.h>
#include <stdint.h>

#include "cowcat.h"

/* What a statement produced, hashed: tags, notices, column names, rows (NULL apart from ''). */
typedef struct oom_out {
    uint64_t h;
    uint64_t tags; /* just the tags and notices, for results with random parts */
} oom_out;

/* cowcat_exec callbacks that hash into the oom_out passed as their arg. */
extern const cowcat_callbacks oom_out_cbs;

/* A hash of an error's SQLSTATE, message, DETAIL and HINT. */
uint64_t oom_error_hash(const cowcat_error *err);

/* The content fingerprint of the version s sees (cowcat_snapshot_fingerprint). */
cowcat_code oom_fingerprint(cowcat_session *s, uint64_t fp[2], cowcat_error *err);

static inline bool
oom_fp_eq(const uint64_t a[2], const uint64_t b[2])
{
    return a[0] == b[0] && a[1] == b[1];
}

#endif
