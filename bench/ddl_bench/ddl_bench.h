/*
 * bench/ddl_bench/ddl_bench.h — the DDL scaling benchmark's shared types.
 *
 * ddl_bench builds a catalog up to each requested scale on every selected
 * target (cowcat embedded, cowcatd over pgwire or psql, PostgreSQL 15,
 * SQLite), then times single DDL statements there, interleaving the targets
 * round by round so their ratios are fair on a noisy machine.
 *
 *   main.c        options, the driver (build, sample rounds, clients)
 *   targets.c     the cowcat targets: embedded, pgwire, psql
 *   peers.c       the peers: postgres (a throwaway cluster), sqlite
 *   report.c      statistics, markdown, JSON lines, the SVG plot
 *   util.c        clock, progress bar, fdatasync floor, files, ports
 *   report_from.c --report: the markdown and plot again from saved JSON lines
 *   json.c        the JSON lines reader (--report, ddl_bench_check)
 *   check.c       ddl_bench_check, the JSON checker of the smoke test
 *
 * One "instance" is a (target, durability, ablation) triple with its own
 * data directory or server; instances never share a catalog.
 *
 * Objects: at scale N the catalog holds exactly N user tables
 * `bt_0 .. bt_<N-1>`, each `(a int, b text)`, in schema public, plus
 * whatever the engine creates by itself (cowcat's builtin schemas,
 * PostgreSQL's system catalogs and toast tables). A sample round creates
 * and drops one table, one view and one index, so the count is N again
 * after each round and never more than N + 1 tables while measuring.
 */
#ifndef BENCH_DDL_BENCH_H
#define BENCH_DDL_BENCH_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cowcat.h"

#define DDLB_MAX_SCALES 16
#define DDLB_MAX_INSTANCES 64
#define DDLB_MAX_CLIENTS 8
#define DDLB_MAX_ABLATIONS 16

/* The timed statements, in report order (not execution order; see main.c). */
typedef enum ddlb_ddl {
    DDLB_CREATE_TABLE,
    DDLB_CREATE_VIEW,
    DDLB_CREATE_INDEX,
    DDLB_RENAME_TABLE,
    DDLB_DROP_VIEW,
    DDLB_DROP_TABLE,
    DDLB_DROP_INDEX,
    DDLB_NDDL
} ddlb_ddl;

extern const char *const ddlb_ddl_key[DDLB_NDDL];   /* JSON: "create_table" */
extern const char *const ddlb_ddl_title[DDLB_NDDL]; /* markdown: "CREATE TABLE" */

/* An error message; targets fill it, the driver prints it. */
typedef struct ddlb_err {
    char msg[1024];
} ddlb_err;

/* Return codes of target operations. */
enum {
    DDLB_OK = 0,
    DDLB_FAIL = -1,
    DDLB_SKIP = -2, /* start: the target cannot run on this machine (msg says why) */
};

/* Run-wide options (main.c fills them from the command line). */
typedef struct ddlb_config {
    long scales[DDLB_MAX_SCALES]; /* ascending */
    int nscales;
    int samples;                  /* sample rounds per scale */
    int batch;                    /* CREATE TABLEs per build transaction */
    int clients[DDLB_MAX_CLIENTS];
    int nclients;
    double duration;              /* seconds per --clients measurement */
    int floor_samples;
    int warmup;                   /* unrecorded rounds per instance before the samples */
    uint64_t seed;
    bool progress;                /* stderr is a tty and not --quiet */
    bool keep;                    /* keep the work directory */
    const char *reuse;            /* --reuse DIR, or NULL */
    char workdir[PATH_MAX];       /* every data directory lives here */
    const char *cowcat_url;       /* --url for pgwire/psql, or NULL */
    const char *postgres_url;     /* --url postgres=..., or NULL */
    const char *pg_bin;           /* PostgreSQL's bin directory */
    const char *cowcatd;          /* the cowcatd binary */
    bool cowcatd_ablate;          /* cowcatd --help lists --ablate */
    double floor_p50[DDLB_MAX_SCALES]; /* fdatasync floor per scale, µs */
    double floor_p95[DDLB_MAX_SCALES];
} ddlb_config;

typedef struct ddlb_inst ddlb_inst;

/* A session or connection of one instance (one thread at a time). */
typedef struct ddlb_conn {
    ddlb_inst *in;
    void *handle; /* cowcat_session *, PGconn *, sqlite3 *, or psql's conninfo */
    void *aux;    /* psql: a PGconn for batches and counts, opened on first use */
} ddlb_conn;

/* cowcat_stats counters a target can report (embedded only). */
typedef struct ddlb_counters {
    uint64_t ddl;                          /* committed DDL statements */
    uint64_t objects;                      /* objects in the published version */
    uint64_t ablated[COWCAT_NABLATIONS];   /* runs of each ablated path */
} ddlb_counters;

/*
 * One target: a vtable. start/stop bracket the instance's lifetime;
 * connections are opened per measuring session or client thread.
 * set_ablate (ablatable targets only) is called with no connection open.
 */
typedef struct ddlb_target {
    const char *name;
    bool ablatable; /* takes a cowcat ablation mask */
    int (*start)(ddlb_inst *in, ddlb_err *e);
    int (*set_ablate)(ddlb_inst *in, uint32_t mask, ddlb_err *e);
    int (*connect)(ddlb_inst *in, ddlb_conn **out, ddlb_err *e);
    int (*exec)(ddlb_conn *c, const char *sql, ddlb_err *e);       /* one statement */
    int (*exec_batch)(ddlb_conn *c, const char *sql, ddlb_err *e); /* many, one transaction */
    int (*count_tables)(ddlb_conn *c, long *out, ddlb_err *e);     /* tables + views in public */
    void (*disconnect)(ddlb_conn *c);
    void (*stop)(ddlb_inst *in);
    int (*settle)(ddlb_conn *c, ddlb_err *e);  /* after a build (checkpoint); may be NULL */
    void (*interrupt)(ddlb_conn *c); /* from another thread: stop c's statement; may be NULL */
    bool (*counters)(ddlb_inst *in, ddlb_counters *out); /* NULL or false: none */
    const char *(*available)(const ddlb_config *cfg);    /* NULL: yes; else why not */
} ddlb_target;

/* The samples of one (instance, scale, DDL type). */
typedef struct ddlb_cell {
    double *us;       /* successful samples, in run order; sorted copy in sorted */
    double *sorted;
    int n;
    int errors;       /* failed statements */
    bool has_counters;
    uint64_t committed;                  /* counters: DDLs committed by these samples */
    uint64_t ablated[COWCAT_NABLATIONS]; /* counters: ablated runs during them */
    double p50, p95;
} ddlb_cell;

/* One --clients measurement. */
typedef struct ddlb_clients_result {
    int clients;
    double seconds;
    long ddl;     /* successful statements */
    long errors;
    long interrupted; /* statements cut off after the grace time (see main.c) */
    double ddl_per_s, p50, p95;
} ddlb_clients_result;

struct ddlb_inst {
    const ddlb_target *target;
    const ddlb_config *cfg;
    const char *durability;  /* "fsync" or "none" */
    bool fsync;
    char ablate[64];         /* "" (default) or the ablation item, e.g. "check" */
    uint32_t mask;           /* its cowcat ablation bits */
    uint32_t armed;          /* the mask the running instance has now */
    char label[128];         /* "embedded/fsync/check" */
    char dir[PATH_MAX];      /* its data directory or file */
    const char *url;         /* external server, or NULL */
    void *priv;              /* the target's state */
    ddlb_conn *conn;         /* the measuring session */
    long objects;            /* bt_ tables present */
    uint64_t seq;            /* next sample name number */
    bool skipped;
    char skip_reason[1024];
    ddlb_cell cells[DDLB_MAX_SCALES][DDLB_NDDL];
    ddlb_clients_result clients[DDLB_MAX_SCALES][DDLB_MAX_CLIENTS];
    long build_from[DDLB_MAX_SCALES]; /* bt_ tables before this scale's build */
    double build_s[DDLB_MAX_SCALES];  /* seconds of its build transactions (0: none) */
};

/* targets.c / peers.c */
extern const ddlb_target ddlb_target_embedded;
extern const ddlb_target ddlb_target_pgwire;
extern const ddlb_target ddlb_target_psql;
extern const ddlb_target ddlb_target_postgres;
#ifdef DDLB_HAVE_SQLITE
extern const ddlb_target ddlb_target_sqlite;
#endif

/* util.c */
double ddlb_now_us(void);
void ddlb_err_set(ddlb_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int ddlb_cmp_double(const void *a, const void *b);
double ddlb_percentile(const double *sorted, int n, double p);
void ddlb_progress(const ddlb_config *cfg, const char *what, double done, double total,
                   const char *unit, double t0_us, double *last_us);
void ddlb_progress_end(const ddlb_config *cfg);
int ddlb_fdatasync_floor(const char *dir, int samples, double *p50, double *p95, ddlb_err *e);
int ddlb_mkdir_p(const char *path, ddlb_err *e);
void ddlb_rmtree(const char *path);
bool ddlb_exists(const char *path);
int ddlb_free_port(void);
char *ddlb_json_escape(const char *s, char *out, size_t n);
bool ddlb_find_in_path(const char *prog, char *out, size_t n);

/* targets.c: libpq helpers, shared with peers.c (PGconn is struct pg_conn) */
struct pg_conn;
int ddlb_pq_open(const char *conninfo, struct pg_conn **out, ddlb_err *e); /* notices muted */
int ddlb_pq_exec(struct pg_conn *pg, const char *sql, ddlb_err *e);
int ddlb_pq_count(struct pg_conn *pg, const char *sql, long *out, ddlb_err *e);
/* A ddlb_conn over libpq (handle: the PGconn): connect, exec/exec_batch, disconnect. */
int ddlb_pq_connect(ddlb_inst *in, const char *conninfo, ddlb_conn **out, ddlb_err *e);
int ddlb_pq_conn_exec(ddlb_conn *c, const char *sql, ddlb_err *e);
void ddlb_pq_disconnect(ddlb_conn *c);

/* report.c */
void ddlb_cell_finish(ddlb_cell *c);
void ddlb_report_config(FILE *f, const ddlb_config *cfg, ddlb_inst *const *in, int n);
void ddlb_report_json_scale(FILE *f, const ddlb_config *cfg, ddlb_inst *const *in, int n, int si);
void ddlb_report_markdown(FILE *f, const ddlb_config *cfg, ddlb_inst *const *in, int n);
int ddlb_report_svg(const char *path, const ddlb_config *cfg, ddlb_inst *const *in, int n,
                    ddlb_err *e);

/* report_from.c: --report — markdown on stdout (and plot, if not NULL) from JSON files. */
int ddlb_report_from(char *const *files, int nfiles, const char *plot);

#endif
