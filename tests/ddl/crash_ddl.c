/*
 * tests/ddl/crash_ddl.c — kill -9 in the middle of a DDL stream, restart,
 * and check that everything acknowledged is there and nothing is half done.
 *
 * Each iteration forks a child that opens the data directory through
 * cowcat.h and runs a deterministic stream of statements, writing the index
 * of each acknowledged one to a pipe. The parent SIGKILLs it after a random
 * delay, reopens the directory and checks:
 *   - every acknowledged statement's effect is there (creates exist, drops
 *     and renames happened);
 *   - the statement in flight is all or nothing: its multi-statement string
 *     (a table and a view over it) exists entirely or not at all;
 *   - the full consistency check passes.
 * The directory is reused across iterations, so recovery runs over the logs
 * of every earlier crash. Durability NONE (survives kill -9, not power loss)
 * by default; --fsync uses FSYNC.
 *
 *   crash_ddl [--iterations N] [--seed S] [--fsync] [--dir DIR]
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cowcat.h"

/* Statement i of iteration it (the stream is a pure function of both). */
static void
stmt(int it, int i, char *sql, size_t cap)
{
    switch (i % 4) {
    case 0:
    case 1:
        snprintf(sql, cap, "CREATE TABLE t%d_%d (a int PRIMARY KEY, b text)", it, i);
        break;
    case 2: /* atomic pair */
        snprintf(sql, cap, "CREATE TABLE p%d_%d (a int); CREATE VIEW pv%d_%d AS SELECT a FROM p%d_%d",
                 it, i, it, i, it, i);
        break;
    default: /* rename the table created two statements ago */
        snprintf(sql, cap, "ALTER TABLE t%d_%d RENAME TO r%d_%d", it, i - 2, it, i - 2);
        break;
    }
}

static int
exists(cowcat_session *s, const char *name)
{
    cowcat_snapshot *snap;
    cowcat_object o;
    if (cowcat_snapshot_open(s, &snap, NULL) != COWCAT_OK)
        return -1;
    int r = cowcat_snapshot_find(snap, name, &o, NULL) == COWCAT_OK;
    cowcat_snapshot_close(snap);
    return r;
}

static void
child(const char *dir, int it, int fd, cowcat_durability dur)
{
    cowcat_options o = {.data_dir = dir, .durability = dur};
    cowcat *db;
    cowcat_session *s;
    cowcat_error err;
    if (cowcat_open(&o, &db, &err) != COWCAT_OK || cowcat_session_open(db, NULL, &s, &err) != COWCAT_OK) {
        fprintf(stderr, "child: open: %s\n", err.message);
        _exit(2);
    }
    for (int i = 0;; i++) {
        char sql[256];
        stmt(it, i, sql, sizeof sql);
        if (cowcat_exec(s, sql, NULL, NULL, &err) != COWCAT_OK) {
            fprintf(stderr, "child: %s: %s\n", sql, err.message);
            _exit(3);
        }
        if (write(fd, &i, sizeof i) != sizeof i)
            _exit(4);
    }
}

/* Checks iteration it after a crash with `acked` statements acknowledged. */
static int
verify(cowcat_session *s, int it, int acked)
{
    char a[64], b[64];
    int bad = 0;
    for (int i = 0; i <= acked; i++) { /* i == acked: the one in flight */
        int inflight = i == acked;
        switch (i % 4) {
        case 0:
        case 1: {
            /* created; a table of statement 4k+1 is renamed by statement 4k+3 */
            snprintf(a, sizeof a, "t%d_%d", it, i);
            snprintf(b, sizeof b, "r%d_%d", it, i);
            if (inflight)
                break;
            if (i % 4 == 1 && i + 2 == acked) /* its rename is in flight: one name, not both */
                bad |= exists(s, a) + exists(s, b) != 1;
            else if (i % 4 == 1 && i + 2 < acked)
                bad |= !(exists(s, b) == 1 && exists(s, a) == 0);
            else
                bad |= exists(s, a) != 1;
            if (bad)
                fprintf(stderr, "FAIL: iteration %d statement %d (%s / %s)\n", it, i, a, b);
            break;
        }
        case 2: {
            snprintf(a, sizeof a, "p%d_%d", it, i);
            snprintf(b, sizeof b, "pv%d_%d", it, i);
            int x = exists(s, a), y = exists(s, b);
            if (x != y || (!inflight && x != 1)) {
                fprintf(stderr, "FAIL: iteration %d statement %d: table %d view %d%s\n", it, i, x,
                        y, inflight ? " (in flight: must be all or nothing)" : "");
                bad = 1;
            }
            break;
        }
        default:
            break;
        }
        if (bad)
            return 1;
    }
    return 0;
}

int
main(int argc, char **argv)
{
    int iterations = 20;
    unsigned seed = (unsigned)time(NULL);
    cowcat_durability dur = COWCAT_DURABILITY_NONE;
    char dir[256] = "";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--iterations") == 0 && i + 1 < argc)
            iterations = atoi(argv[++i]);
        else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
            seed = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--fsync") == 0)
            dur = COWCAT_DURABILITY_FSYNC;
        else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            snprintf(dir, sizeof dir, "%s", argv[++i]);
    }
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/cowcat-crash-ddl-XXXXXX");
        if (mkdtemp(dir) == NULL) {
            perror("mkdtemp");
            return 1;
        }
    }
    printf("crash_ddl: %d iterations, seed %u, dir %s, durability %s\n", iterations, seed, dir,
           dur == COWCAT_DURABILITY_FSYNC ? "fsync" : "none");
    srand(seed);
    int fail = 0;
    long total_acked = 0;
    for (int it = 0; it < iterations && !fail; it++) {
        int p[2];
        if (pipe(p) != 0)
            return 1;
        pid_t pid = fork();
        if (pid == 0) {
            close(p[0]);
            child(dir, it, p[1], dur);
        }
        close(p[1]);
        /* Let it open and run for 5..80 ms, then kill it mid-stream. */
        struct timespec ts = {0, (long)(5 + rand() % 75) * 1000000L};
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        int status;
        waitpid(pid, &status, 0);
        int acked = 0, v;
        while (read(p[0], &v, sizeof v) == sizeof v)
            acked = v + 1;
        close(p[0]);
        if (WIFEXITED(status)) {
            fprintf(stderr, "FAIL: child exited with %d before the kill\n", WEXITSTATUS(status));
            fail = 1;
            break;
        }
        total_acked += acked;

        cowcat_options o = {.data_dir = dir, .durability = dur};
        cowcat *db;
        cowcat_session *s;
        cowcat_error err;
        if (cowcat_open(&o, &db, &err) != COWCAT_OK) {
            fprintf(stderr, "FAIL: reopen after iteration %d: %s\n", it, err.message);
            fail = 1;
            break;
        }
        cowcat_session_open(db, NULL, &s, NULL);
        fail |= verify(s, it, acked);
        if (cowcat_check(db, &err) != COWCAT_OK) {
            fprintf(stderr, "FAIL: check after iteration %d: %s\n", it, err.message);
            fail = 1;
        }
        cowcat_session_close(s);
        cowcat_close(db);
    }
    printf("crash_ddl: %s (%ld statements acknowledged in all)\n", fail ? "FAILED" : "ok",
           total_acked);
    if (!fail) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "crash_ddl: could not remove %s\n", dir);
    }
    return fail;
}
