/*
 * server/src/main.c — cowcatd, the cowcat catalog server: command line,
 * signals, the ready line. Everything else is in the cowcat_server library
 * (server/server.h).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const char usage[] =
    "cowcatd — the cowcat catalog server (PostgreSQL wire protocol 3.0)\n"
    "\n"
    "Usage: cowcatd [OPTION]...\n"
    "\n"
    "  --data-dir DIR             data directory, created on first use (default ./cowcat-data)\n"
    "  --listen HOST:PORT         the users' port (default 127.0.0.1:6875)\n"
    "  --internal-listen HOST:PORT\n"
    "                             the system role's port: only cowcat_system connects here,\n"
    "                             e.g. for ALTER SYSTEM (default 127.0.0.1:6877)\n"
    "  --metrics-listen HOST:PORT Prometheus metrics at GET /metrics (default 127.0.0.1:6878)\n"
    "  --durability fsync|none    fsync (default): a DDL is acknowledged after its group's\n"
    "                             fdatasync; none: no syncs (survives kill -9, not power loss)\n"
    "  --memory                   keep the catalog in memory only (no data directory; gone at exit)\n"
    "  --auth trust|scram         trust (default; only when every listener is loopback) or\n"
    "                             SCRAM-SHA-256 against the roles' passwords\n"
    "  --max-connections N        user connections at once (default 100); more get 53300;\n"
    "                             the internal port is not counted\n"
    "  --log-level error|warning|info|debug\n"
    "                             stderr log level (default info: connections and errors)\n"
    "  --audit-log-keep N         audit events kept (cowcat_catalog.audit_events), the newest\n"
    "                             N; older ones are dropped as new ones commit (default 100000)\n"
    "  --ablate LIST              benchmarks only: switch back on the O(n) behaviours named\n"
    "                             (clone,snapshot,trace,alloc,limits,check,advance; see\n"
    "                             docs/BENCHMARKS.md) — every DDL gets slower with size\n"
    "  --help                     this text\n"
    "\n"
    "A port of 0 picks a free port; the ready line says which. cowcatd prints one line\n"
    "when it is ready:\n"
    "  cowcatd: ready on 127.0.0.1:6875 (internal 127.0.0.1:6877, metrics\n"
    "  127.0.0.1:6878), data directory ./cowcat-data, 12 objects\n"
    "SIGTERM or SIGINT: stop accepting, finish the statements in flight, close every\n"
    "connection (open transactions roll back), exit 0.\n"
    "\n"
    "Connect with: psql -h 127.0.0.1 -p 6875 -U cowcat cowcat\n";

static srv_server *the_server; /* for the signal handler only */

static void
on_signal(int sig)
{
    (void)sig;
    if (the_server != NULL)
        srv_server_stop(the_server);
}

static int
bad_usage(const char *fmt, const char *arg)
{
    fprintf(stderr, "cowcatd: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry \"cowcatd --help\" for more information.\n");
    return 2;
}

int
main(int argc, char **argv)
{
    srv_options o = {.log_level = SRV_LOG_INFO};
    enum {
        DATA_DIR = 1, LISTEN, INTERNAL, METRICS, DURABILITY, MEMORY, AUTH, MAXCONN, LOGLEVEL,
        AUDITKEEP, ABLATE, HELP
    };
    static const struct option longopts[] = {
        {"data-dir", required_argument, NULL, DATA_DIR},
        {"listen", required_argument, NULL, LISTEN},
        {"internal-listen", required_argument, NULL, INTERNAL},
        {"metrics-listen", required_argument, NULL, METRICS},
        {"durability", required_argument, NULL, DURABILITY},
        {"memory", no_argument, NULL, MEMORY},
        {"auth", required_argument, NULL, AUTH},
        {"max-connections", required_argument, NULL, MAXCONN},
        {"log-level", required_argument, NULL, LOGLEVEL},
        {"audit-log-keep", required_argument, NULL, AUDITKEEP},
        {"ablate", required_argument, NULL, ABLATE},
        {"help", no_argument, NULL, HELP},
        {NULL, 0, NULL, 0},
    };
    int opt;
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (opt) {
        case DATA_DIR:
            o.data_dir = optarg;
            break;
        case LISTEN:
            o.listen = optarg;
            break;
        case INTERNAL:
            o.internal_listen = optarg;
            break;
        case METRICS:
            o.metrics_listen = optarg;
            break;
        case DURABILITY:
            if (strcmp(optarg, "fsync") == 0)
                o.durability = COWCAT_DURABILITY_FSYNC;
            else if (strcmp(optarg, "none") == 0)
                o.durability = COWCAT_DURABILITY_NONE;
            else
                return bad_usage("invalid --durability \"%s\": fsync or none", optarg);
            break;
        case MEMORY:
            o.backend = COWCAT_BACKEND_MEMORY;
            break;
        case AUTH:
            if (strcmp(optarg, "trust") == 0)
                o.auth = SRV_AUTH_TRUST;
            else if (strcmp(optarg, "scram") == 0)
                o.auth = SRV_AUTH_SCRAM;
            else
                return bad_usage("invalid --auth \"%s\": trust or scram", optarg);
            break;
        case MAXCONN: {
            char *end;
            long n = strtol(optarg, &end, 10);
            if (*end != '\0' || n < 1 || n > 100000)
                return bad_usage("invalid --max-connections \"%s\": 1 to 100000", optarg);
            o.max_connections = (int)n;
            break;
        }
        case LOGLEVEL:
            if (strcmp(optarg, "error") == 0)
                o.log_level = SRV_LOG_ERROR;
            else if (strcmp(optarg, "warning") == 0)
                o.log_level = SRV_LOG_WARNING;
            else if (strcmp(optarg, "info") == 0)
                o.log_level = SRV_LOG_INFO;
            else if (strcmp(optarg, "debug") == 0)
                o.log_level = SRV_LOG_DEBUG;
            else
                return bad_usage("invalid --log-level \"%s\": error, warning, info or debug",
                                 optarg);
            break;
        case AUDITKEEP: {
            char *end;
            errno = 0;
            unsigned long long n = strtoull(optarg, &end, 10);
            if (*end != '\0' || optarg[0] < '0' || optarg[0] > '9' || errno != 0 || n < 1)
                return bad_usage("invalid --audit-log-keep \"%s\": a positive number of events",
                                 optarg);
            o.audit_log_keep = n;
            break;
        }
        case ABLATE: {
            cowcat_error ce;
            if (cowcat_ablations_parse(optarg, &o.ablate, &ce) != COWCAT_OK)
                return bad_usage("invalid --ablate: %s", ce.message);
            break;
        }
        case HELP:
            fputs(usage, stdout);
            return 0;
        default:
            fprintf(stderr, "Try \"cowcatd --help\" for more information.\n");
            return 2;
        }
    }
    if (optind < argc)
        return bad_usage("unexpected argument \"%s\"", argv[optind]);

    cc_err err;
    cc_err_clear(&err);
    srv_server *s = NULL;
    if (srv_server_new(&o, &s, &err) != CC_OK) {
        fprintf(stderr, "cowcatd: error: %s (SQLSTATE %s)\n", err.msg, cc_err_sqlstate(&err));
        return 1;
    }
    the_server = s;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    char at[SRV_NLISTEN][300];
    for (int i = 0; i < SRV_NLISTEN; i++) { /* the bound ports: a port of 0 picked one */
        const char *colon = strrchr(s->listen[i], ':');
        snprintf(at[i], sizeof at[i], "%.*s:%d", (int)(colon - s->listen[i]), s->listen[i],
                 srv_server_port(s, i));
    }
    printf("cowcatd: ready on %s (internal %s, metrics %s), data directory %s, %llu objects\n",
           at[0], at[1], at[2],
           o.backend == COWCAT_BACKEND_MEMORY ? "(memory)" : s->data_dir,
           (unsigned long long)srv_server_objects(s));
    fflush(stdout);
    srv_server_run(s);
    cowcat_error why;
    bool failed = srv_server_failed(s, &why);
    if (failed) /* exit 1: a supervisor restarts cowcatd and recovery decides from the log */
        srv__log(s, SRV_LOG_ERROR, 0, "shut down after a failure: %s", why.message);
    else
        srv__log(s, SRV_LOG_INFO, 0, "shut down: every acknowledged statement is durable");
    the_server = NULL;
    srv_server_free(s);
    return failed ? 1 : 0;
}
