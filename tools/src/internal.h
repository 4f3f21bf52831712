/*
 * tools/src/internal.h — helpers shared by the files of the tools library
 * (named tools__*): varints, a write buffer over a file descriptor, files
 * and directories (atomic replace, recursive removal, directory sync).
 */
#ifndef COWCAT_TOOLS_INTERNAL_H
#define COWCAT_TOOLS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xxhash.h>

#include "tools/tools.h"

/* Bytes of v as a protobuf varint (1..10). */
static inline size_t
tools__varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

/* Writes v as a varint at p; returns the bytes written. */
static inline size_t
tools__varint_put(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

/* A write buffer over a file descriptor (errors name path); fd < 0: a growing memory buffer. */
typedef struct tools__out {
    int fd;
    const char *path; /* for messages: "standard output" or the file */
    uint8_t *buf;
    size_t len, cap;
    uint64_t written; /* bytes handed to write(2) so far */
} tools__out;

/* Sets up o over fd with a buffer of cap bytes. Errors: NOMEM. */
cc_code tools__out_init(tools__out *o, int fd, const char *path, size_t cap, cc_err *err);
/* Appends n bytes (flushing as the buffer fills). Errors: IO. */
cc_code tools__out_put(tools__out *o, const void *p, size_t n, cc_err *err);
/* Writes what is buffered. Errors: IO. */
cc_code tools__out_flush(tools__out *o, cc_err *err);
void tools__out_fini(tools__out *o);

/* IO error "could not WHAT "PATH": strerror(errnum)" (58030). */
cc_code tools__io_error(cc_err *err, const char *what, const char *path, int errnum);

/* fsyncs directory path. Errors: IO. */
cc_code tools__sync_dir(const char *path, cc_err *err);

/* Removes path and everything under it; missing is fine. Returns 0 or an errno. */
int tools__remove_tree(const char *path);

/* The directory part of path ("." if none) and its last component, into buffers of cap bytes. */
void tools__split_path(const char *path, char *dir, char *base, size_t cap);

/* Whether directory path has entries other than "." and "..": 1 yes, 0 no, -1 error (errno). */
int tools__dir_has_entries(const char *path);

/*
 * Whether a persist LOCK in dir is held by another process right now:
 * true, and its pid in *pid (0 if unknown). A missing LOCK is not held.
 */
bool tools__lock_held(const char *dir, long *pid);

/*
 * Opens what kind needs over persist client pc (taking ownership: closed
 * with the datadir, or here on failure); dir names the directory in
 * messages. Errors: as tools_datadir_open.
 */
cc_code tools__datadir_attach(persist_client *pc, const char *dir, tools_open_kind kind,
                              tools_datadir **out, cc_err *err);

/*
 * Loads the in-memory catalog over d's durable catalog (cat_open; d was
 * opened TOOLS_OPEN_DURABLE). Errors: CORRUPT (a value that does not
 * decode), NOMEM.
 */
cc_code tools__datadir_load_catalog(tools_datadir *d, cc_err *err);

/* Progress: reports every `step` units and at the end. */
typedef struct tools__progress {
    tools_progress_fn fn; /* NULL: silent */
    void *arg;
    const char *phase;
    uint64_t total, step, next;
    uint64_t last; /* the last done reported (the final report is not repeated) */
} tools__progress;

void tools__progress_start(tools__progress *p, tools_progress_fn fn, void *arg, const char *phase,
                           uint64_t total);
static inline void
tools__progress_tick(tools__progress *p, uint64_t done)
{
    if (p->fn != NULL && done >= p->next) {
        p->fn(p->arg, p->phase, done, p->total);
        p->next = done + p->step;
        p->last = done;
    }
}
void tools__progress_done(tools__progress *p);

/* --- dump bytes (dump_format.c) ------------------------------------------------------- */

/* A pass over a body: hashes every byte, writes it when out is set, counts. */
typedef struct tools__pass {
    XXH3_state_t *xx;
    tools__out *out; /* NULL: measure only */
    uint64_t bytes;
    uint64_t entries;
    uint64_t counts[DUR_NCOLL];
    uint64_t kinds[CAT_NKIND];
    tools__progress progress;
    cc_err *err;
} tools__pass;

/* Starts a pass: resets the hash state xx (borrowed); out may be NULL. */
void tools__pass_init(tools__pass *p, XXH3_state_t *xx, tools__out *out,
                      const tools_dump_options *o, const char *phase, uint64_t total, cc_err *err);
/* Frames, hashes (and writes) one entry and counts it. Errors: IO (out). */
cc_code tools__emit(tools__pass *p, dur_collection coll, pmap_bytes key, pmap_bytes value);
/* Fills the kind counts of the collections that are kinds themselves (after a pass). */
void tools__finish_kinds(tools__pass *p);

/* A header and the arrays it points into (strings borrowed). */
typedef struct tools__header {
    Cowcat__Dump__DumpHeader h;
    Cowcat__Dump__CollectionCount cc[DUR_NCOLL], *ccp[DUR_NCOLL];
    Cowcat__Dump__KindCount kc[CAT_NKIND], *kcp[CAT_NKIND];
} tools__header;

/* Fills hb for the body pass p measured (sum: its XXH3-128, borrowed). */
void tools__header_fill(tools__header *hb, const tools__pass *p, uint32_t format_version,
                        uint32_t catver, uint64_t upper, bool audit, const XXH128_canonical_t *sum);
/* Packs hb's header (tools_dump_header_pack) and writes it to out. Errors: NOMEM, IO. */
cc_code tools__header_write(tools__out *out, tools__header *hb, cc_err *err);

/* The kind of an item from its encoded ItemValue (field 3), or CAT_NKIND if unknown. */
cat_kind tools__item_kind(pmap_bytes value);

#endif
