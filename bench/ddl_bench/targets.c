/*
 * bench/ddl_bench/targets.c — the cowcat targets of ddl_bench:
 *
 *   embedded  cowcat.h in this process: one cowcat handle per instance,
 *             a session per connection, cowcat_exec per statement
 *   pgwire    libpq to a cowcatd this program starts (tests/server's
 *             process fixture) on free loopback ports, or to --url
 *   psql      the same kind of server, but each timed statement is a fresh
 *             `psql -X -q -c SQL` process, as a person would measure it
 *             (the build and counts go through libpq)
 *
 * Ablations: the embedded catalog is built without them, then closed and
 * reopened with the mask (set_ablate), so the O(n) paths cost only while
 * measuring; cowcatd likewise, restarted with --ablate. (A cowcatd whose
 * --help does not list --ablate, an older one, is measured without
 * ablations: main.c decides.)
 */
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ddl_bench.h"
#include "server_fixture.h"

extern char **environ;

/* --- embedded ------------------------------------------------------------------- */

static void
cowcat_err_copy(ddlb_err *e, const char *what, const cowcat_error *ce)
{
    ddlb_err_set(e, "%s: %s %s%s%s", what, ce->sqlstate, ce->message, ce->detail[0] ? " — " : "",
                 ce->detail);
}

static int
emb_open(ddlb_inst *in, uint32_t mask, ddlb_err *e)
{
    cowcat_options o = {
        .data_dir = in->dir,
        .durability = in->fsync ? COWCAT_DURABILITY_FSYNC : COWCAT_DURABILITY_NONE,
        .backend = COWCAT_BACKEND_FILE,
        .ablate = mask,
    };
    cowcat *db;
    cowcat_error ce;
    if (cowcat_open(&o, &db, &ce) != COWCAT_OK) {
        cowcat_err_copy(e, "cowcat_open", &ce);
        return DDLB_FAIL;
    }
    in->priv = db;
    in->armed = mask;
    return DDLB_OK;
}

static int
emb_start(ddlb_inst *in, ddlb_err *e)
{
    return emb_open(in, 0, e);
}

/* Reopens the catalog with mask (O(n): the catalog is loaded again). */
static int
emb_set_ablate(ddlb_inst *in, uint32_t mask, ddlb_err *e)
{
    if (in->armed == mask)
        return DDLB_OK;
    cowcat_close(in->priv);
    in->priv = NULL;
    return emb_open(in, mask, e);
}

static int
emb_connect(ddlb_inst *in, ddlb_conn **out, ddlb_err *e)
{
    ddlb_conn *c = calloc(1, sizeof *c);
    cowcat_session *s;
    cowcat_error ce;
    if (c == NULL) {
        ddlb_err_set(e, "out of memory");
        return DDLB_FAIL;
    }
    if (cowcat_session_open(in->priv, NULL, &s, &ce) != COWCAT_OK) {
        cowcat_err_copy(e, "cowcat_session_open", &ce);
        free(c);
        return DDLB_FAIL;
    }
    c->in = in;
    c->handle = s;
    *out = c;
    return DDLB_OK;
}

static int
emb_exec(ddlb_conn *c, const char *sql, ddlb_err *e)
{
    cowcat_error ce;
    if (cowcat_exec(c->handle, sql, NULL, NULL, &ce) != COWCAT_OK) {
        cowcat_err_copy(e, "cowcat_exec", &ce);
        return DDLB_FAIL;
    }
    return DDLB_OK;
}

static int
count_row(void *arg, const char *const *values, size_t n)
{
    if (n > 0 && values[0] != NULL)
        *(long *)arg = atol(values[0]);
    return 0;
}

static const char count_sql[] =
    "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'";

static int
emb_count(ddlb_conn *c, long *out, ddlb_err *e)
{
    cowcat_callbacks cb = {.row = count_row};
    cowcat_error ce;
    *out = -1;
    if (cowcat_exec(c->handle, count_sql, &cb, out, &ce) != COWCAT_OK) {
        cowcat_err_copy(e, "count", &ce);
        return DDLB_FAIL;
    }
    return DDLB_OK;
}

static void
emb_disconnect(ddlb_conn *c)
{
    if (c == NULL)
        return;
    cowcat_session_close(c->handle);
    free(c);
}

static void
emb_stop(ddlb_inst *in)
{
    if (in->priv != NULL)
        cowcat_close(in->priv);
    in->priv = NULL;
}

static bool
emb_counters(ddlb_inst *in, ddlb_counters *out)
{
    cowcat_stats st;
    cowcat_stats_get(in->priv, &st);
    out->ddl = st.ddl;
    out->objects = st.objects;
    for (int a = 0; a < COWCAT_NABLATIONS; a++)
        out->ablated[a] = st.ablated[a];
    return true;
}

const ddlb_target ddlb_target_embedded = {
    .name = "embedded",
    .ablatable = true,
    .start = emb_start,
    .set_ablate = emb_set_ablate,
    .connect = emb_connect,
    .exec = emb_exec,
    .exec_batch = emb_exec,
    .count_tables = emb_count,
    .disconnect = emb_disconnect,
    .stop = emb_stop,
    .counters = emb_counters,
};

/* --- cowcatd, for pgwire and psql ----------------------------------------------------------- */

typedef struct server {
    srvproc proc;
    bool running;
    char conninfo[512];
    char log[PATH_MAX + 64];
} server;

/* "clone,check" for a mask. */
static void
mask_names(uint32_t mask, char *out, size_t n)
{
    size_t len = 0;
    out[0] = '\0';
    for (int a = 0; a < COWCAT_NABLATIONS; a++)
        if (mask & COWCAT_ABLATE_BIT(a))
            len += (size_t)snprintf(out + len, n - len, "%s%s", len ? "," : "",
                                    cowcat_ablation_name((cowcat_ablation)a));
}

static int
server_run(ddlb_inst *in, server *s, uint32_t mask, ddlb_err *e)
{
    char maxconn[32], names[128];
    int most = 0;
    for (int i = 0; i < in->cfg->nclients; i++)
        most = in->cfg->clients[i] > most ? in->cfg->clients[i] : most;
    snprintf(maxconn, sizeof maxconn, "%d", most + 100);
    const char *extra[16] = {"--durability", in->durability, "--log-level", "warning",
                             "--max-connections", maxconn};
    int n = 6;
    if (mask != 0) {
        mask_names(mask, names, sizeof names);
        extra[n++] = "--ablate";
        extra[n++] = names;
    }
    extra[n] = NULL;
    if (srvproc_start(&s->proc, in->dir, extra) != 0) {
        ddlb_err_set(e, "%s: cowcatd did not start (its log: %s)", in->label, s->proc.log);
        return DDLB_FAIL;
    }
    /* The fixture logs into the current directory: move the log next to the data. */
    snprintf(s->log, sizeof s->log, "%s.log", in->dir);
    if (rename(s->proc.log, s->log) != 0)
        snprintf(s->log, sizeof s->log, "%s", s->proc.log);
    s->running = true;
    snprintf(s->conninfo, sizeof s->conninfo,
             "host=127.0.0.1 port=%d user=cowcat dbname=cowcat connect_timeout=10",
             s->proc.port);
    in->armed = mask;
    return DDLB_OK;
}

static void
server_halt(server *s)
{
    if (!s->running)
        return;
    int st = srvproc_stop(&s->proc);
    s->running = false;
    if (st == 0)
        unlink(s->log);
    else
        fprintf(stderr, "ddl_bench: cowcatd exited with status %d (log kept: %s)\n", st, s->log);
}

static int
server_start(ddlb_inst *in, ddlb_err *e)
{
    server *s = calloc(1, sizeof *s);
    if (s == NULL) {
        ddlb_err_set(e, "out of memory");
        return DDLB_FAIL;
    }
    in->priv = s;
    if (in->url != NULL) {
        snprintf(s->conninfo, sizeof s->conninfo, "%s", in->url);
        return DDLB_OK;
    }
    return server_run(in, s, 0, e);
}

static int
server_set_ablate(ddlb_inst *in, uint32_t mask, ddlb_err *e)
{
    server *s = in->priv;
    if (in->armed == mask)
        return DDLB_OK;
    if (in->url != NULL) {
        ddlb_err_set(e, "%s: cannot ablate a server given by --url", in->label);
        return DDLB_FAIL;
    }
    server_halt(s);
    return server_run(in, s, mask, e);
}

static void
server_stop(ddlb_inst *in)
{
    server *s = in->priv;
    if (s != NULL)
        server_halt(s);
    free(s);
    in->priv = NULL;
}

static void
quiet_notice(void *arg, const char *message)
{
    (void)arg, (void)message;
}

int
ddlb_pq_open(const char *conninfo, struct pg_conn **out, ddlb_err *e)
{
    PGconn *pg = PQconnectdb(conninfo);
    if (PQstatus(pg) != CONNECTION_OK) {
        ddlb_err_set(e, "connect %s: %s", conninfo, PQerrorMessage(pg));
        PQfinish(pg);
        return DDLB_FAIL;
    }
    PQsetNoticeProcessor(pg, quiet_notice, NULL);
    *out = pg;
    return DDLB_OK;
}

int
ddlb_pq_exec(PGconn *pg, const char *sql, ddlb_err *e)
{
    PGresult *r = PQexec(pg, sql);
    ExecStatusType st = PQresultStatus(r);
    int rc = DDLB_OK;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        ddlb_err_set(e, "%s %s", state != NULL ? state : "", PQresultErrorMessage(r));
        size_t len = strlen(e->msg);
        if (len > 0 && e->msg[len - 1] == '\n')
            e->msg[len - 1] = '\0';
        rc = DDLB_FAIL;
    }
    PQclear(r);
    return rc;
}

int
ddlb_pq_count(PGconn *pg, const char *sql, long *out, ddlb_err *e)
{
    PGresult *r = PQexec(pg, sql);
    int rc = DDLB_OK;
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        ddlb_err_set(e, "count: %s", PQresultErrorMessage(r));
        rc = DDLB_FAIL;
    } else {
        *out = atol(PQgetvalue(r, 0, 0));
    }
    PQclear(r);
    return rc;
}

int
ddlb_pq_connect(ddlb_inst *in, const char *conninfo, ddlb_conn **out, ddlb_err *e)
{
    ddlb_conn *c = calloc(1, sizeof *c);
    PGconn *pg;
    if (c == NULL) {
        ddlb_err_set(e, "out of memory");
        return DDLB_FAIL;
    }
    if (ddlb_pq_open(conninfo, &pg, e) != DDLB_OK) {
        free(c);
        return DDLB_FAIL;
    }
    c->in = in;
    c->handle = pg;
    *out = c;
    return DDLB_OK;
}

int
ddlb_pq_conn_exec(ddlb_conn *c, const char *sql, ddlb_err *e)
{
    return ddlb_pq_exec(c->handle, sql, e);
}

void
ddlb_pq_disconnect(ddlb_conn *c)
{
    if (c == NULL)
        return;
    PQfinish(c->handle);
    free(c);
}

static int
pgwire_connect(ddlb_inst *in, ddlb_conn **out, ddlb_err *e)
{
    const server *s = in->priv;
    return ddlb_pq_connect(in, s->conninfo, out, e);
}

static int
pgwire_count(ddlb_conn *c, long *out, ddlb_err *e)
{
    return ddlb_pq_count(c->handle, count_sql, out, e);
}

const ddlb_target ddlb_target_pgwire = {
    .name = "pgwire",
    .ablatable = true,
    .start = server_start,
    .set_ablate = server_set_ablate,
    .connect = pgwire_connect,
    .exec = ddlb_pq_conn_exec,
    .exec_batch = ddlb_pq_conn_exec,
    .count_tables = pgwire_count,
    .disconnect = ddlb_pq_disconnect,
    .stop = server_stop,
};

/* --- psql ----------------------------------------------------------------------------- */

static char psql_path[PATH_MAX];

static const char *
psql_available(const ddlb_config *cfg)
{
    (void)cfg;
    if (psql_path[0] == '\0' && !ddlb_find_in_path("psql", psql_path, sizeof psql_path)) {
        psql_path[0] = '\0';
        return "psql is not in PATH (Debian: postgresql-client)";
    }
    return NULL;
}

static int
psql_connect(ddlb_inst *in, ddlb_conn **out, ddlb_err *e)
{
    server *s = in->priv;
    ddlb_conn *c = calloc(1, sizeof *c);
    if (c == NULL || (c->handle = strdup(s->conninfo)) == NULL) {
        free(c);
        ddlb_err_set(e, "out of memory");
        return DDLB_FAIL;
    }
    c->in = in;
    *out = c;
    return DDLB_OK;
}

/*
 * One `psql -X -q -v ON_ERROR_STOP=1 -d CONNINFO -c SQL` process; stdout
 * goes to /dev/null, stderr is the error message. Errors: the exit status
 * is not 0.
 */
static int
psql_exec(ddlb_conn *c, const char *sql, ddlb_err *e)
{
    int pipefd[2];
    if (psql_available(NULL) != NULL || pipe2(pipefd, O_CLOEXEC) != 0) {
        ddlb_err_set(e, "psql: cannot start (%s)", psql_path[0] ? strerror(errno) : "not found");
        return DDLB_FAIL;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
    char *argv[] = {"psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", c->handle, "-c",
                    (char *)sql, NULL};
    pid_t pid;
    int rc = posix_spawn(&pid, psql_path, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(pipefd[1]);
    if (rc != 0) {
        close(pipefd[0]);
        ddlb_err_set(e, "psql: posix_spawn: %s", strerror(rc));
        return DDLB_FAIL;
    }
    char msg[512];
    size_t len = 0;
    ssize_t r;
    while ((r = read(pipefd[0], msg + len, sizeof msg - 1 - len)) != 0) {
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            break;
        len += (size_t)r;
        if (len == sizeof msg - 1) {
            char sink[256];
            while (read(pipefd[0], sink, sizeof sink) > 0)
                ;
            break;
        }
    }
    msg[len] = '\0';
    close(pipefd[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        if (len > 0 && msg[len - 1] == '\n')
            msg[len - 1] = '\0';
        ddlb_err_set(e, "psql exit %d: %s", WIFEXITED(st) ? WEXITSTATUS(st) : -1, msg);
        return DDLB_FAIL;
    }
    return DDLB_OK;
}

static int
psql_pq(ddlb_conn *c, ddlb_err *e)
{
    if (c->aux != NULL)
        return DDLB_OK;
    PGconn *pg;
    if (ddlb_pq_open(c->handle, &pg, e) != DDLB_OK)
        return DDLB_FAIL;
    c->aux = pg;
    return DDLB_OK;
}

static int
psql_exec_batch(ddlb_conn *c, const char *sql, ddlb_err *e)
{
    return psql_pq(c, e) != DDLB_OK ? DDLB_FAIL : ddlb_pq_exec(c->aux, sql, e);
}

static int
psql_count(ddlb_conn *c, long *out, ddlb_err *e)
{
    return psql_pq(c, e) != DDLB_OK ? DDLB_FAIL : ddlb_pq_count(c->aux, count_sql, out, e);
}

static void
psql_disconnect(ddlb_conn *c)
{
    if (c == NULL)
        return;
    if (c->aux != NULL)
        PQfinish(c->aux);
    free(c->handle);
    free(c);
}

const ddlb_target ddlb_target_psql = {
    .name = "psql",
    .ablatable = true,
    .start = server_start,
    .set_ablate = server_set_ablate,
    .connect = psql_connect,
    .exec = psql_exec,
    .exec_batch = psql_exec_batch,
    .count_tables = psql_count,
    .disconnect = psql_disconnect,
    .stop = server_stop,
    .available = psql_available,
};
