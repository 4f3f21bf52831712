/*
 * tests/crash/powercut_io.h — a persist_io hook that simulates a volatile
 * write cache, so that powercut.c can cut the power at any moment and build
 * what the disk could hold afterwards.
 *
 * Every call is forwarded to the real file system (so the log, and the
 * unhooked opendir/readdir, see the files as usual), and the hook keeps, per
 * file of the data directory, what a power loss cannot take away:
 *
 *   file  durable bytes (as of its last fdatasync/fsync) + the writes and
 *         truncations since then, in order (what the cache may or may not
 *         have written back)
 *   dir   the durable name -> file map (as of the directory's last fsync) +
 *         the creations, renames and unlinks since then, in order
 *
 * The syncs themselves are not forwarded: the live directory is scratch, and
 * the model above is what a power cut leaves. Calls are serialised by one
 * mutex, so a cut falls between two calls, never inside one.
 *
 * After pc_io_cut (or an armed cut firing inside a call) every call fails
 * with EIO except close, which really closes the descriptor; the model is
 * frozen. pc_io_image then writes one possible post-power-loss image of the
 * directory into a new directory: per file its durable bytes plus a random
 * choice of the unsynced ones (none; all; a prefix of the writes in order,
 * the last cut at a 512-byte sector boundary; any subset of the dirty
 * sectors), the file size durable, current or in between (zero filled),
 * sometimes one torn sector whose new bytes are garbage or zeros; and per
 * directory operation since the last directory fsync, applied or reverted
 * (a prefix in order, as a journal gives, or any subset, each rename
 * atomic). Bytes that were durable and not rewritten are never damaged.
 *
 * Reordering between files is covered: every file's choice and the
 * directory's are independent, so any file's unsynced data may survive while
 * another's, or the name that reaches it, does not.
 *
 * Not modelled: a sync that fails or lies (fsyncgate; the fault tests cover
 * failures); damage to bytes that were durable and not rewritten (a device
 * that destroys neighbouring sectors); directories other than the data
 * directory, whose parent is assumed durable; metadata other than names and
 * sizes (modes, times). An unlinked file that is still open stays readable
 * through its descriptor on the real file system, as on Linux.
 */
#ifndef TESTS_CRASH_POWERCUT_IO_H
#define TESTS_CRASH_POWERCUT_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "persist/io.h"
#include "testutil.h"

typedef struct pc_io pc_io;

/* What one image threw away. */
typedef struct pc_image_stats {
    uint64_t files;          /* files in the image */
    uint64_t unsynced_bytes; /* bytes written since their file's last sync */
    uint64_t dropped_bytes;  /* of the current contents, bytes the image does not hold */
    uint64_t torn_bytes;     /* bytes replaced by garbage or zeros */
    uint64_t dirops;         /* directory operations since the last directory fsync */
    uint64_t reverted;       /* of them, not applied in the image */
} pc_image_stats;

/*
 * A new hook for the data directory dir (an absolute or relative path, spelt
 * exactly as the log is given it). Every regular file already in dir counts
 * as durable. Returns NULL (with a message on stderr) if dir cannot be read.
 */
pc_io *pc_io_new(const char *dir);

/* Frees p; no call may be in progress through its hook. */
void pc_io_free(pc_io *p);

/* The hook to put in cowcat_options.io; valid until pc_io_free. */
const persist_io *pc_io_hook(pc_io *p);

/* Cuts the power now (idempotent). Thread-safe. */
void pc_io_cut(pc_io *p);

/*
 * Arms an automatic cut: at the nth call of op (n >= 1; op == PERSIST_IO_OP_COUNT:
 * the nth call of any kind) plus `after` more calls of any kind, and at the
 * latest (0: no bound) at call number `latest` of any kind. The call the cut
 * falls on fails. Replaces any earlier arming.
 */
void pc_io_arm(pc_io *p, persist_io_op op, uint64_t n, uint64_t after, uint64_t latest);

/* Whether the power is off. Thread-safe. */
bool pc_io_is_cut(pc_io *p);

/* Waits until the power is off or timeout_ms passed; returns pc_io_is_cut. */
bool pc_io_wait_cut(pc_io *p, long timeout_ms);

/* The number (1-based, all kinds counted) of the first call that found the power off; 0: none. */
uint64_t pc_io_cut_call(pc_io *p);

/*
 * Writes a possible post-power-loss image of the directory into out_dir
 * (created; must not exist), choosing with rng. Requires the cut. Returns 0,
 * or -1 with why filled.
 */
int pc_io_image(pc_io *p, tu_rng *rng, const char *out_dir, pc_image_stats *st, char *why,
                size_t n);

#endif
