/*
 * bench/ddl_bench/peers.c — the peers ddl_bench measures cowcat against:
 *
 *   postgres  a throwaway PostgreSQL cluster: initdb in the work directory
 *             (as the user `postgres`, or `nobody`, when this runs as root:
 *             initdb refuses root), `postgres` started on a free loopback
 *             port with its unix socket in the cluster directory, stopped
 *             with SIGINT (fast shutdown); or any server given by
 *             --url postgres=URL. Durability: fsync maps to fsync=on and
 *             synchronous_commit=on (PostgreSQL's defaults), none to
 *             fsync=off, synchronous_commit=off, full_page_writes=off.
 *   sqlite    libsqlite3 on a file in the work directory, WAL journal;
 *             synchronous=FULL (fsync) or OFF (none). One connection per
 *             session, busy timeout 60 s for concurrent clients.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef DDLB_HAVE_SQLITE
#include <sqlite3.h>
#endif

#include "ddl_bench.h"

/* --- postgres ---------------------------------------------------------------------------- */

typedef struct pgpeer {
    pid_t pid;            /* the postmaster, 0 if none */
    int port;
    bool drop;            /* run the binaries as uid/gid (we are root) */
    uid_t uid;
    gid_t gid;
    char conninfo[512];
    char log[PATH_MAX + 16];
} pgpeer;

/* The unprivileged account to run PostgreSQL as when we are root. */
static const struct passwd *
pg_account(void)
{
    const struct passwd *pw = getpwnam("postgres");
    return pw != NULL ? pw : getpwnam("nobody");
}

static const char *
pg_available(const ddlb_config *cfg)
{
    static char why[PATH_MAX + 128];
    if (cfg->postgres_url != NULL)
        return NULL;
    const char *progs[] = {"initdb", "postgres"};
    for (int i = 0; i < 2; i++) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", cfg->pg_bin, progs[i]);
        if (access(path, X_OK) != 0) {
            snprintf(why, sizeof why,
                     "%s not found (install postgresql-15, or give --pg-bin DIR or "
                     "--url postgres=URL)", path);
            return why;
        }
    }
    if (geteuid() == 0 && pg_account() == NULL)
        return "running as root and there is no `postgres` or `nobody` account to run initdb as";
    return NULL;
}

/*
 * Runs argv (a PostgreSQL binary) in a child with stdout and stderr
 * appended to log, as the unprivileged account if p->drop. The child dies
 * with us (PR_SET_PDEATHSIG SIGINT: PostgreSQL's fast shutdown) if
 * deathsig. Returns the child's pid, or -1.
 */
static pid_t
pg_spawn(const pgpeer *p, char *const argv[], const char *log, bool deathsig)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    int null = open("/dev/null", O_RDONLY);
    if (fd < 0 || null < 0)
        _exit(126);
    dup2(null, 0);
    dup2(fd, 1);
    dup2(fd, 2);
    if (p->drop && (setgroups(0, NULL) != 0 || setgid(p->gid) != 0 || setuid(p->uid) != 0)) {
        dprintf(2, "ddl_bench: cannot drop privileges: %s\n", strerror(errno));
        _exit(126);
    }
    /* After setuid: a change of credentials clears the death signal. */
    if (deathsig && (prctl(PR_SET_PDEATHSIG, SIGINT) != 0 || getppid() != parent))
        _exit(126);
    execv(argv[0], argv);
    dprintf(2, "ddl_bench: exec %s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

/* The last ~400 bytes of a log file, for error messages. */
static const char *
log_tail(const char *path, char *buf, size_t n)
{
    buf[0] = '\0';
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return buf;
    off_t end = lseek(fd, 0, SEEK_END);
    off_t from = end > (off_t)n - 1 ? end - (off_t)n + 1 : 0;
    ssize_t r = pread(fd, buf, n - 1, from);
    buf[r > 0 ? r : 0] = '\0';
    close(fd);
    for (char *c = buf; *c != '\0'; c++)
        if (*c == '\n')
            *c = ' ';
    return buf;
}

static int
pg_initdb(ddlb_inst *in, pgpeer *p, ddlb_err *e)
{
    char pgver[PATH_MAX + 16], tail[400];
    snprintf(pgver, sizeof pgver, "%s/PG_VERSION", in->dir);
    if (ddlb_exists(pgver))
        return DDLB_OK; /* --reuse: the cluster is there */
    ddlb_rmtree(in->dir);
    if (mkdir(in->dir, 0700) != 0 || (p->drop && chown(in->dir, p->uid, p->gid) != 0)) {
        ddlb_err_set(e, "postgres: mkdir/chown %s: %s", in->dir, strerror(errno));
        return DDLB_FAIL;
    }
    char initdb[PATH_MAX];
    snprintf(initdb, sizeof initdb, "%s/initdb", in->cfg->pg_bin);
    char *argv[] = {initdb, "-D", in->dir, "-U", "postgres", "-A", "trust", "-E", "UTF8",
                    "--locale=C", "--no-sync", NULL};
    pid_t pid = pg_spawn(p, argv, p->log, false);
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        ddlb_err_set(e, "postgres: initdb failed (log %s): %s%s", p->log,
                     log_tail(p->log, tail, sizeof tail),
                     p->drop ? " (it runs as an unprivileged user: every directory above the "
                               "work directory must be searchable by it; try --dir /tmp)"
                             : "");
        return DDLB_FAIL;
    }
    return DDLB_OK;
}

static int
pg_start(ddlb_inst *in, ddlb_err *e)
{
    pgpeer *p = calloc(1, sizeof *p);
    if (p == NULL) {
        ddlb_err_set(e, "out of memory");
        return DDLB_FAIL;
    }
    in->priv = p;
    if (in->url != NULL) {
        snprintf(p->conninfo, sizeof p->conninfo, "%s", in->url);
        return DDLB_OK;
    }
    const char *why = pg_available(in->cfg);
    if (why != NULL) {
        ddlb_err_set(e, "%s", why);
        return DDLB_SKIP;
    }
    if (geteuid() == 0) {
        const struct passwd *pw = pg_account();
        p->drop = true;
        p->uid = pw->pw_uid;
        p->gid = pw->pw_gid;
    }
    snprintf(p->log, sizeof p->log, "%s.log", in->dir);
    if (pg_initdb(in, p, e) != DDLB_OK)
        return DDLB_FAIL;
    p->port = ddlb_free_port();
    char postgres[PATH_MAX], port[16], maxconn[48];
    snprintf(postgres, sizeof postgres, "%s/postgres", in->cfg->pg_bin);
    snprintf(port, sizeof port, "%d", p->port);
    int most = 0;
    for (int i = 0; i < in->cfg->nclients; i++)
        most = in->cfg->clients[i] > most ? in->cfg->clients[i] : most;
    snprintf(maxconn, sizeof maxconn, "max_connections=%d", most + 20);
    const char *on = in->fsync ? "on" : "off";
    char fsync[32], sync_commit[48], fpw[48];
    snprintf(fsync, sizeof fsync, "fsync=%s", on);
    snprintf(sync_commit, sizeof sync_commit, "synchronous_commit=%s", on);
    snprintf(fpw, sizeof fpw, "full_page_writes=%s", on);
    /* 256 locks per transaction: a build batch of 1000 tables locks ~3000 relations. */
    /* The socket goes into the cluster directory; a path too long for a unix
     * socket (107 bytes) gets none: we connect over TCP anyway. */
    char *sockdir = strlen(in->dir) + sizeof "/.s.PGSQL.65535" <= 107 ? in->dir : "";
    char *argv[] = {postgres, "-D", in->dir, "-p", port, "-k", sockdir,
                    "-c", "listen_addresses=127.0.0.1", "-c", fsync, "-c", sync_commit,
                    "-c", fpw, "-c", maxconn, "-c", "max_locks_per_transaction=256",
                    "-c", "log_min_messages=warning", NULL};
    p->pid = pg_spawn(p, argv, p->log, true);
    if (p->pid < 0) {
        ddlb_err_set(e, "postgres: fork: %s", strerror(errno));
        return DDLB_FAIL;
    }
    snprintf(p->conninfo, sizeof p->conninfo,
             "host=127.0.0.1 port=%d user=postgres dbname=postgres connect_timeout=10", p->port);
    for (int i = 0; i < 1200; i++) { /* up to 60 s */
        int st;
        if (waitpid(p->pid, &st, WNOHANG) == p->pid) {
            char tail[400];
            p->pid = 0;
            ddlb_err_set(e, "postgres exited at start (log %s): %s", p->log,
                         log_tail(p->log, tail, sizeof tail));
            return DDLB_FAIL;
        }
        if (PQping(p->conninfo) == PQPING_OK)
            return DDLB_OK;
        struct timespec nap = {0, 50 * 1000 * 1000};
        nanosleep(&nap, NULL);
    }
    ddlb_err_set(e, "postgres did not accept connections within 60 s (log %s)", p->log);
    return DDLB_FAIL;
}

static void
pg_stop(ddlb_inst *in)
{
    pgpeer *p = in->priv;
    if (p != NULL && p->pid > 0) {
        kill(p->pid, SIGINT);
        int st;
        for (int i = 0; i < 600; i++) { /* fast shutdown: up to 60 s, then SIGQUIT */
            if (waitpid(p->pid, &st, WNOHANG) == p->pid) {
                p->pid = 0;
                break;
            }
            struct timespec nap = {0, 100 * 1000 * 1000};
            nanosleep(&nap, NULL);
        }
        if (p->pid > 0) {
            kill(p->pid, SIGQUIT);
            waitpid(p->pid, &st, 0);
        }
    }
    free(p);
    in->priv = NULL;
}

static int
pg_connect(ddlb_inst *in, ddlb_conn **out, ddlb_err *e)
{
    const pgpeer *p = in->priv;
    return ddlb_pq_connect(in, p->conninfo, out, e);
}

static int
pg_count(ddlb_conn *c, long *out, ddlb_err *e)
{
    return ddlb_pq_count(c->handle,
                         "SELECT count(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n"
                         " ON n.oid = c.relnamespace"
                         " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'v')",
                         out, e);
}

/* After a build: a checkpoint, so the build's dirty pages are not flushed while measuring. */
static int
pg_settle(ddlb_conn *c, ddlb_err *e)
{
    return ddlb_pq_exec(c->handle, "CHECKPOINT", e);
}

const ddlb_target ddlb_target_postgres = {
    .name = "postgres",
    .start = pg_start,
    .connect = pg_connect,
    .exec = ddlb_pq_conn_exec,
    .exec_batch = ddlb_pq_conn_exec,
    .count_tables = pg_count,
    .settle = pg_settle,
    .disconnect = ddlb_pq_disconnect,
    .stop = pg_stop,
    .available = pg_available,
};

/* --- sqlite ------------------------------------------------------------------------------ */

#ifdef DDLB_HAVE_SQLITE

static int
sq_start(ddlb_inst *in, ddlb_err *e)
{
    (void)e;
    if (in->cfg->reuse == NULL) {
        const char *suffix[] = {"", "-wal", "-shm"};
        for (int i = 0; i < 3; i++) {
            char path[PATH_MAX + 8];
            snprintf(path, sizeof path, "%s%s", in->dir, suffix[i]);
            unlink(path);
        }
    }
    return DDLB_OK;
}

static void
sq_stop(ddlb_inst *in)
{
    (void)in;
}

static int
sq_exec(ddlb_conn *c, const char *sql, ddlb_err *e)
{
    char *msg = NULL;
    int rc = sqlite3_exec(c->handle, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        ddlb_err_set(e, "sqlite: %s (%s)", msg != NULL ? msg : sqlite3_errstr(rc),
                     sqlite3_errstr(rc));
        sqlite3_free(msg);
        return DDLB_FAIL;
    }
    return DDLB_OK;
}

static int
sq_connect(ddlb_inst *in, ddlb_conn **out, ddlb_err *e)
{
    ddlb_conn *c = calloc(1, sizeof *c);
    sqlite3 *db = NULL;
    if (c == NULL) {
        ddlb_err_set(e, "out of memory");
        return DDLB_FAIL;
    }
    c->in = in;
    int rc = sqlite3_open_v2(in->dir, &db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        ddlb_err_set(e, "sqlite3_open %s: %s", in->dir, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        free(c);
        return DDLB_FAIL;
    }
    c->handle = db;
    sqlite3_busy_timeout(db, 60000);
    if (sq_exec(c, "PRAGMA journal_mode = WAL", e) != DDLB_OK ||
        sq_exec(c, in->fsync ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = OFF", e) !=
            DDLB_OK) {
        sqlite3_close(db);
        free(c);
        return DDLB_FAIL;
    }
    *out = c;
    return DDLB_OK;
}

/* A batch in one transaction: BEGIN, the statements, COMMIT (ROLLBACK on failure). */
static int
sq_exec_batch(ddlb_conn *c, const char *sql, ddlb_err *e)
{
    if (sq_exec(c, "BEGIN", e) != DDLB_OK)
        return DDLB_FAIL;
    if (sq_exec(c, sql, e) != DDLB_OK) {
        ddlb_err tmp;
        sq_exec(c, "ROLLBACK", &tmp);
        return DDLB_FAIL;
    }
    return sq_exec(c, "COMMIT", e);
}

static int
sq_count_row(void *arg, int n, char **values, char **names)
{
    (void)names;
    if (n > 0 && values[0] != NULL)
        *(long *)arg = atol(values[0]);
    return 0;
}

static int
sq_count(ddlb_conn *c, long *out, ddlb_err *e)
{
    char *msg = NULL;
    *out = -1;
    int rc = sqlite3_exec(c->handle,
                          "SELECT count(*) FROM sqlite_schema WHERE type IN ('table', 'view')"
                          " AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
                          sq_count_row, out, &msg);
    if (rc != SQLITE_OK) {
        ddlb_err_set(e, "sqlite count: %s", msg != NULL ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        return DDLB_FAIL;
    }
    return DDLB_OK;
}

/* Thread-safe by SQLite's contract; the caller keeps c open meanwhile. */
static void
sq_interrupt(ddlb_conn *c)
{
    sqlite3_interrupt(c->handle);
}

/* After a build: fold the WAL back into the database file. */
static int
sq_settle(ddlb_conn *c, ddlb_err *e)
{
    return sq_exec(c, "PRAGMA wal_checkpoint(TRUNCATE)", e);
}

static void
sq_disconnect(ddlb_conn *c)
{
    if (c == NULL)
        return;
    sqlite3_close(c->handle);
    free(c);
}

const ddlb_target ddlb_target_sqlite = {
    .name = "sqlite",
    .start = sq_start,
    .connect = sq_connect,
    .exec = sq_exec,
    .exec_batch = sq_exec_batch,
    .count_tables = sq_count,
    .settle = sq_settle,
    .interrupt = sq_interrupt,
    .disconnect = sq_disconnect,
    .stop = sq_stop,
};

#endif
