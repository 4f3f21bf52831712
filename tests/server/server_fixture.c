/*
 * tests/server/server_fixture.c — see server_fixture.h.
 */
#include "server_fixture.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int
srvproc_start(srvproc *p, const char *dir, const char *const *extra)
{
    memset(p, 0, sizeof *p);
    static int seq;
    snprintf(p->log, sizeof p->log, "cowcatd-test-%d-%d.log", (int)getpid(), seq++);
    if (dir != NULL)
        snprintf(p->dir, sizeof p->dir, "%s", dir);
    int out[2];
    if (pipe(out) != 0)
        return -1;
    const char *argv[64];
    int n = 0;
    argv[n++] = COWCATD_PATH;
    if (dir != NULL) {
        argv[n++] = "--data-dir";
        argv[n++] = dir;
    } else {
        argv[n++] = "--memory";
    }
    argv[n++] = "--listen";
    argv[n++] = "127.0.0.1:0";
    argv[n++] = "--internal-listen";
    argv[n++] = "127.0.0.1:0";
    argv[n++] = "--metrics-listen";
    argv[n++] = "127.0.0.1:0";
    for (int i = 0; extra != NULL && extra[i] != NULL && n < 62; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* a test that dies takes its server with it */
        dup2(out[1], 1);
        int fd = open(p->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0)
            dup2(fd, 2);
        close(out[0]);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(out[1]);
    p->pid = pid;
    FILE *f = fdopen(out[0], "r");
    char line[512] = "";
    bool ready = f != NULL && fgets(line, sizeof line, f) != NULL;
    if (f != NULL)
        fclose(f);
    if (!ready || sscanf(strstr(line, "ready on") ? strstr(line, "ready on") : "",
                         "ready on 127.0.0.1:%d (internal 127.0.0.1:%d, metrics 127.0.0.1:%d",
                         &p->port, &p->internal_port, &p->metrics_port) != 3) {
        int st;
        waitpid(pid, &st, 0);
        p->pid = 0;
        fprintf(stderr, "cowcatd did not start: %s (log %s)\n", line, p->log);
        return -1;
    }
    return 0;
}

int
srvproc_stop(srvproc *p)
{
    if (p->pid <= 0)
        return -1;
    kill(p->pid, SIGTERM);
    int st = 0;
    while (waitpid(p->pid, &st, 0) < 0 && errno == EINTR)
        ;
    p->pid = 0;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

void
srvproc_kill(srvproc *p)
{
    if (p->pid <= 0)
        return;
    kill(p->pid, SIGKILL);
    int st;
    while (waitpid(p->pid, &st, 0) < 0 && errno == EINTR)
        ;
    p->pid = 0;
}

bool
srvproc_log_has_sanitizer_report(const srvproc *p)
{
    FILE *f = fopen(p->log, "r");
    if (f == NULL)
        return false;
    char line[1024];
    bool found = false;
    while (!found && fgets(line, sizeof line, f) != NULL)
        found = strstr(line, "AddressSanitizer") || strstr(line, "LeakSanitizer") ||
                strstr(line, "runtime error:") || strstr(line, "ThreadSanitizer");
    fclose(f);
    return found;
}

PGconn *
srvproc_connect(const srvproc *p, const char *user, const char *password, bool internal)
{
    char port[16];
    snprintf(port, sizeof port, "%d", internal ? p->internal_port : p->port);
    const char *keys[] = {"host", "port", "user", "dbname", "password", "connect_timeout",
                          "sslmode", NULL};
    const char *vals[] = {"127.0.0.1", port, user ? user : "cowcat", "cowcat",
                          password, "10", "prefer", NULL};
    if (password == NULL) { /* drop the password pair */
        keys[4] = "connect_timeout", vals[4] = "10";
        keys[5] = "sslmode", vals[5] = "prefer";
        keys[6] = NULL, vals[6] = NULL;
    }
    return PQconnectdbParams(keys, vals, 0);
}

void
srvproc_tmpdir(char *out, size_t n, const char *tag)
{
    static int seq;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(out, n, "%s/srvtest-%s-%d-%d-%ld", P_tmpdir, tag, (int)getpid(), seq++,
             (long)ts.tv_nsec);
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

void
srvproc_rmdir(const char *dir)
{
    (void)nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

ExecStatusType
srvproc_value(PGconn *c, const char *sql, char *out, size_t n)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    if (out != NULL && n > 0) {
        out[0] = '\0';
        if (st == PGRES_TUPLES_OK && PQntuples(r) > 0 && PQnfields(r) > 0)
            snprintf(out, n, "%s", PQgetvalue(r, 0, 0));
        else if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK)
            snprintf(out, n, "%s", PQresultErrorField(r, PG_DIAG_SQLSTATE) ?
                                       PQresultErrorField(r, PG_DIAG_SQLSTATE) : "");
    }
    PQclear(r);
    return st;
}
