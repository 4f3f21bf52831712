/*
 * tests/ddl/test_ddl_oom_parse.c — allocation failures inside libpg_query.
 *
 * test_ddl_oom fails allocations through cowcat's hook (base/alloc.h), which
 * libpg_query never calls: its parser, deparser and scanner allocate with
 * malloc inside libpg_query.so. This test reaches them by ELF symbol
 * interposition: it defines malloc, calloc, realloc, free and strdup (what
 * `nm -D --undefined-only libpg_query.so` lists, and what glibc's own
 * internal calls go through), so the dynamic linker binds every caller in
 * the process, libpg_query.so included, to these. They forward to glibc's
 * __libc_* functions and, under AddressSanitizer (which interposes the same
 * names from libasan.so, after the executable in lookup order), to ASan's
 * __interceptor_* entry points, so ASan still sees every allocation.
 *
 * Armed (a thread-local flag, so only the thread running the statement
 * counts), the N-th allocation call — malloc, calloc, realloc to a size,
 * strdup; from any caller: libpg_query, cowcat, glibc — returns NULL. For
 * each statement kind below, on a small prepared in-memory catalog, N runs
 * 1, 2, ... through one cowcat_exec until a run makes no failing call. Each
 * run must either
 *   - fail with 53200 (COWCAT_NOMEM), leaving the catalog's fingerprint as
 *     it was, cowcat_check clean and the session idle and usable; or
 *   - give exactly the result of the unfailed run (same rows, tags,
 *     notices and catalog, or the same error with DETAIL and HINT).
 * The sweep records where each failing call came from (libpg_query.so,
 * glibc, or cowcat and the test in the executable), so the output shows how
 * many of libpg_query's own allocations were failed.
 *
 * libpg_query does not survive every failure: a NULL it does not check
 * (malloc'd error records, strdup of messages) is dereferenced inside the
 * library. A sweep runs in forked children; a child that dies of a signal
 * (or calls exit during the statement) has its stack walked in a signal
 * handler (backtrace + dladdr). The death counts as a finding in
 * libpg_query, not a failure, only if the faulting frame, after any glibc
 * or protobuf-c frames (abort, strlen, protobuf_c_message_pack ...: the
 * system libprotobuf-c serves libpg_query too, LIBS.md), lies in
 * libpg_query.so and the run of
 * libpg_query frames was entered through its public API (a pg_query_*
 * function, not protobuf-c or a pg_query__* message function cowcat calls
 * directly). Any other death fails the test. Each finding is printed with
 * its N and stack; the sweep then goes on at N + 1 in a new child.
 *
 * Every N is run (no sampling): the whole test takes about 15 s in the
 * Debug build. No LeakSanitizer check: libpg_query leaks on some of its
 * out-of-memory paths (it cannot free what it was building when a longjmp
 * skips its cleanup), and children end with _exit, so LSan does not run.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <dlfcn.h>
#include <execinfo.h>
#include <link.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#include "base/hash.h"
#include "cowcat.h"
#include "oom_common.h"

/* --- the interposed allocator ------------------------------------------------------- */

#if defined(__SANITIZE_ADDRESS__)
void *__interceptor_malloc(size_t size);
void *__interceptor_calloc(size_t n, size_t size);
void *__interceptor_realloc(void *p, size_t size);
void __interceptor_free(void *p);
#define REAL_MALLOC  __interceptor_malloc
#define REAL_CALLOC  __interceptor_calloc
#define REAL_REALLOC __interceptor_realloc
#define REAL_FREE    __interceptor_free
#else
void *__libc_malloc(size_t size);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t size);
void __libc_free(void *p);
#define REAL_MALLOC  __libc_malloc
#define REAL_CALLOC  __libc_calloc
#define REAL_REALLOC __libc_realloc
#define REAL_FREE    __libc_free
#endif

/* Where a failing allocation call came from. */
typedef enum origin { FROM_EXE, FROM_PGQ, FROM_PBC, FROM_LIBC, FROM_OTHER, NORIGINS } origin;

static const char *const origin_names[NORIGINS] = {"cowcat", "libpg_query", "protobuf-c", "libc",
                                                   "other"};

/* The calling thread's injection state (TLS: only the thread running the statement counts). */
static _Thread_local int inj_armed;       /* counting calls */
static _Thread_local uint64_t inj_calls;  /* allocation calls counted since arming */
static _Thread_local uint64_t inj_fail_at; /* the call that fails; 0: none */
static _Thread_local int inj_fired;       /* the failure happened */
static _Thread_local origin inj_origin;   /* where the failing call came from */
static _Thread_local uint64_t inj_from[NORIGINS]; /* calls counted per origin */
static _Thread_local int in_exec;         /* inside the statement's cowcat_exec */

/* Text segments' address ranges, found once (dl_iterate_phdr) before any arming. */
static uintptr_t pgq_lo, pgq_hi, libc_lo, libc_hi, exe_lo, exe_hi, pbc_lo, pbc_hi;

static origin
origin_of(const void *ret)
{
    uintptr_t a = (uintptr_t)ret;
    if (a >= pgq_lo && a < pgq_hi)
        return FROM_PGQ;
    if (a >= pbc_lo && a < pbc_hi)
        return FROM_PBC;
    if (a >= libc_lo && a < libc_hi)
        return FROM_LIBC;
    if (a >= exe_lo && a < exe_hi)
        return FROM_EXE;
    return FROM_OTHER;
}

/* True if this call fails; counts it while armed. */
static inline bool
inj_fail(const void *ret)
{
    if (!inj_armed)
        return false;
    origin o = origin_of(ret);
    inj_from[o]++;
    if (++inj_calls != inj_fail_at)
        return false;
    inj_fired = 1;
    inj_origin = o;
    return true;
}

void *
malloc(size_t size)
{
    if (inj_fail(__builtin_return_address(0)))
        return NULL;
    return REAL_MALLOC(size);
}

void *
calloc(size_t n, size_t size)
{
    if (inj_fail(__builtin_return_address(0)))
        return NULL;
    return REAL_CALLOC(n, size);
}

void *
realloc(void *p, size_t size)
{
    /* realloc(p, 0) frees: a NULL from it would mean success, so it never fails */
    if ((p == NULL || size != 0) && inj_fail(__builtin_return_address(0)))
        return NULL;
    return REAL_REALLOC(p, size);
}

void
free(void *p)
{
    REAL_FREE(p);
}

char *
strdup(const char *s)
{
    if (inj_fail(__builtin_return_address(0)))
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = REAL_MALLOC(n);
    if (d != NULL)
        memcpy(d, s, n);
    return d;
}

static void
inj_arm(uint64_t fail_at)
{
    inj_calls = 0;
    inj_fired = 0;
    inj_origin = FROM_OTHER;
    memset(inj_from, 0, sizeof inj_from);
    inj_fail_at = fail_at;
    inj_armed = 1;
}

static void
inj_disarm(void)
{
    inj_armed = 0;
}

static int
find_segments(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    (void)arg;
    uintptr_t *lo, *hi;
    if (strstr(info->dlpi_name, "libpg_query") != NULL)
        lo = &pgq_lo, hi = &pgq_hi;
    else if (strstr(info->dlpi_name, "libc.so") != NULL)
        lo = &libc_lo, hi = &libc_hi;
    else if (strstr(info->dlpi_name, "libprotobuf-c.so") != NULL)
        lo = &pbc_lo, hi = &pbc_hi;
    else if (info->dlpi_name[0] == '\0' && exe_hi == 0)
        lo = &exe_lo, hi = &exe_hi;
    else
        return 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || (ph->p_flags & PF_X) == 0)
            continue;
        *lo = info->dlpi_addr + ph->p_vaddr;
        *hi = *lo + ph->p_memsz;
    }
    return 0;
}

/* --- the statement kinds ------------------------------------------------------------- */

typedef struct oom_case {
    const char *name;   /* what the kind is, for messages */
    const char *sql;    /* the statement (or string of statements) */
    bool writes;        /* a successful run changes the catalog's fingerprint */
    const char *expect; /* NULL: succeeds; else fails with this SQLSTATE */
} oom_case;

static const char *const prepare_sql[] = {
    "CREATE ROLE alice",
    "CREATE ROLE bob",
    "CREATE TYPE mood AS ENUM ('sad', 'ok')",
    "CREATE TABLE users (id int PRIMARY KEY, name varchar(20) NOT NULL, m mood, UNIQUE (name))",
    "CREATE TABLE orders (id bigint PRIMARY KEY, user_id int REFERENCES users (id), "
    "note text DEFAULT 'none', CHECK (id > 0))",
    "CREATE VIEW big AS SELECT id, name FROM users WHERE id > 100",
    "CREATE VIEW named AS SELECT u.name, o.note FROM users u JOIN orders o ON o.user_id = u.id "
    "WHERE u.name IN (SELECT name FROM users WHERE id < 10)",
    "CREATE INDEX orders_user ON orders (user_id)",
    "GRANT SELECT ON users TO alice",
};

/* CREATE VIEW wide AS SELECT id AS c1, ..., id AS c400 FROM users: its parse tree outgrows
 * the first blocks of libpg_query's memory context, so the parser itself mallocs. */
static char wide_view[400 * 16 + 64];

static void
wide_view_init(void)
{
    size_t len = (size_t)snprintf(wide_view, sizeof wide_view, "CREATE VIEW wide AS SELECT ");
    for (int i = 1; i <= 400; i++)
        len += (size_t)snprintf(wide_view + len, sizeof wide_view - len, "%sid AS c%d",
                                i > 1 ? ", " : "", i);
    snprintf(wide_view + len, sizeof wide_view - len, " FROM users");
}

static const oom_case cases[] = {
    {.name = "CREATE TABLE with constraints",
     .sql = "CREATE TABLE t2 (a int PRIMARY KEY, b text NOT NULL DEFAULT 'x', "
            "c int REFERENCES users (id) ON DELETE CASCADE, d bigint, m mood, "
            "UNIQUE (b), CHECK (a > 0), FOREIGN KEY (d) REFERENCES orders (id))",
     .writes = true},
    {.name = "CREATE VIEW with a join and a subquery",
     .sql = "CREATE VIEW v2 AS SELECT u.id, u.name, o.note FROM users u JOIN orders o "
            "ON o.user_id = u.id WHERE u.id IN (SELECT user_id FROM orders WHERE id > 1)",
     .writes = true},
    {.name = "CREATE VIEW with 400 columns (the parser's memory grows)", .sql = wide_view,
     .writes = true},
    {.name = "CREATE INDEX", .sql = "CREATE UNIQUE INDEX users_name_m ON users (name, m)",
     .writes = true},
    {.name = "ALTER TABLE RENAME COLUMN (deparses the views)",
     .sql = "ALTER TABLE users RENAME COLUMN name TO full_name",
     .writes = true},
    {.name = "DROP TABLE CASCADE", .sql = "DROP TABLE users CASCADE", .writes = true},
    {.name = "GRANT", .sql = "GRANT SELECT, INSERT ON orders TO bob", .writes = true},
    {.name = "SELECT information_schema.tables",
     .sql = "SELECT table_schema, table_name, table_type FROM information_schema.tables "
            "WHERE table_schema = 'public'"},
    {.name = "multi-statement string",
     .sql = "CREATE TABLE i1 (a int); CREATE INDEX i1_a ON i1 (a); DROP VIEW big",
     .writes = true},
    {.name = "syntax error (42601)",
     .sql = "CREATE TABLE oops (a int,, b text)",
     .expect = "42601"},
};

#define NCASES (sizeof cases / sizeof *cases)

/* --- what a statement produced ----------------------------------------------------- */

/* --- the report a child shares with the parent --------------------------------------- */

/* How a child died inside the statement. */
typedef enum death { DEATH_NONE, DEATH_IN_PGQ, DEATH_ELSEWHERE } death;

typedef struct report {
    /* the reference run */
    uint64_t fp_before[2], fp_after[2];
    uint64_t result;               /* hash of the output */
    uint64_t error;                /* hash of the expected error */
    uint64_t allocs;               /* allocation calls of the unfailed statement */
    uint64_t allocs_from[NORIGINS]; /* ... per origin */
    /* the sweep */
    uint64_t cur;                     /* the N being run */
    uint64_t next;                    /* where the next child starts; 0: the sweep ended */
    uint64_t last;                    /* the N that ran without the failure firing */
    uint64_t nomem;                   /* N that failed with 53200 and changed nothing */
    uint64_t nomem_from[NORIGINS];    /* ... per origin of the failing call */
    uint64_t absorbed;                /* N whose failure did not change the result */
    uint64_t absorbed_from[NORIGINS]; /* ... per origin of the failing call */
    /* a death in the statement (written by the signal or exit handler) */
    death death;
    int sig;              /* the signal; 0: exit() during the statement */
    origin died_in_origin; /* origin of the failing allocation of that N */
    char where[256];      /* the faulting frame and the public entry point */
    char stack[4096];     /* the frames, one per line */
    char msg[1024];       /* why the child failed */
} report;

static report *rep; /* shared with the children (MAP_SHARED) */

static _Noreturn void __attribute__((format(printf, 1, 2))) child_fail(const char *fmt, ...)
{
    inj_disarm();
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rep->msg, sizeof rep->msg, fmt, ap);
    va_end(ap);
    fflush(NULL);
    _exit(3);
}

/* --- stack walks in a dying child -------------------------------------------------- */

static bool
in_range(void *a, uintptr_t lo, uintptr_t hi)
{
    return (uintptr_t)a >= lo && (uintptr_t)a < hi;
}

/*
 * Classifies the death from the frames f[from..n) (f[from] the faulting PC
 * or exit's first frame) and writes them to rep. Not async-signal-safe
 * (dladdr, snprintf): the child is dying anyway and its allocator is idle
 * or was interrupted in libpg_query, not in glibc's malloc.
 */
static void
record_death(void **f, int n, int from, int sig)
{
    size_t len = 0;
    for (int i = from; i < n && len < sizeof rep->stack - 200; i++) {
        Dl_info di;
        void *a = i == from ? f[i] : (char *)f[i] - 1;
        if (dladdr(a, &di) == 0)
            di = (Dl_info){0};
        const char *obj = di.dli_fname != NULL ? strrchr(di.dli_fname, '/') : NULL;
        len += (size_t)snprintf(rep->stack + len, sizeof rep->stack - len,
                                "  #%d %s(%s+0x%lx) [+0x%lx]\n", i - from,
                                obj != NULL ? obj + 1 : "?", di.dli_sname ? di.dli_sname : "",
                                (unsigned long)((char *)a - (char *)di.dli_saddr),
                                (unsigned long)((char *)a - (char *)di.dli_fbase));
    }
    int i = from;
    while (i < n && (in_range(f[i], libc_lo, libc_hi) || in_range(f[i], pbc_lo, pbc_hi)))
        i++;
    int first = i;
    while (i < n && in_range(f[i], pgq_lo, pgq_hi))
        i++;
    rep->sig = sig;
    rep->death = DEATH_ELSEWHERE;
    if (i == first || first >= n) {
        snprintf(rep->where, sizeof rep->where, "faulting frame outside libpg_query.so");
        return;
    }
    Dl_info top, entry;
    if (dladdr((char *)f[first] - (first == from ? 0 : 1), &top) == 0 || top.dli_sname == NULL)
        top.dli_sname = "?";
    if (dladdr((char *)f[i - 1] - 1, &entry) == 0 || entry.dli_sname == NULL)
        entry.dli_sname = "?";
    snprintf(rep->where, sizeof rep->where, "in libpg_query.so: %s, entered through %s",
             top.dli_sname, entry.dli_sname);
    if (strncmp(entry.dli_sname, "pg_query_", 9) == 0 &&
        strncmp(entry.dli_sname, "pg_query__", 10) != 0)
        rep->death = DEATH_IN_PGQ;
}

static void
on_fatal_signal(int sig, siginfo_t *si, void *ucv)
{
    (void)si;
    inj_disarm();
    const ucontext_t *uc = ucv;
    void *pc = (void *)uc->uc_mcontext.gregs[REG_RIP];
    void *f[64];
    int n = backtrace(f, 64);
    int from = 0;
    while (from < n && f[from] != pc)
        from++;
    if (from == n) { /* the interrupted frame is not in the walk: start from the PC alone */
        f[0] = pc;
        from = 0;
        n = 1;
    }
    rep->died_in_origin = inj_origin;
    if (in_exec)
        record_death(f, n, from, sig);
    else
        snprintf(rep->where, sizeof rep->where, "outside the statement");
    signal(sig, SIG_DFL);
    raise(sig);
}

static void
on_exit_during_exec(void)
{
    if (!in_exec)
        return;
    inj_disarm();
    void *f[64];
    int n = backtrace(f, 64);
    rep->died_in_origin = inj_origin;
    /* this handler (and, under ASan, its backtrace interceptor), then glibc's exit
     * machinery, then exit's caller */
    int from = 0;
    while (from < n && !in_range(f[from], libc_lo, libc_hi))
        from++;
    record_death(f, n, from, 0);
    fflush(NULL);
    _exit(1); /* no LeakSanitizer at exit: the library left its memory mid-statement */
}

static void
child_setup(void)
{
    static char altstack[64 << 10];
    stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack};
    sigaltstack(&ss, NULL);
    struct sigaction sa = {.sa_sigaction = on_fatal_signal, .sa_flags = SA_SIGINFO | SA_ONSTACK};
    sigemptyset(&sa.sa_mask);
    int sigs[] = {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL};
    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++)
        sigaction(sigs[i], &sa, NULL);
    atexit(on_exit_during_exec);
    void *f[4];
    (void)backtrace(f, 4); /* loads libgcc_s now, not in a handler */
    alarm(120);            /* a hang in the library ends the child (SIGALRM) */
}

/* --- the child's catalog --------------------------------------------------------------- */

typedef struct fix {
    cowcat *db;
    cowcat_session *s;
} fix;

static void
fix_prepare(fix *f)
{
    cowcat_options o = {.backend = COWCAT_BACKEND_MEMORY};
    cowcat_error err;
    if (cowcat_open(&o, &f->db, &err) != COWCAT_OK)
        child_fail("cowcat_open: %s %s", err.sqlstate, err.message);
    if (cowcat_session_open(f->db, NULL, &f->s, &err) != COWCAT_OK)
        child_fail("session_open: %s %s", err.sqlstate, err.message);
    for (size_t i = 0; i < sizeof prepare_sql / sizeof *prepare_sql; i++)
        if (cowcat_exec(f->s, prepare_sql[i], NULL, NULL, &err) != COWCAT_OK)
            child_fail("prepare: %s: %s %s", prepare_sql[i], err.sqlstate, err.message);
}

static _Noreturn void
child_end(fix *f)
{
    cowcat_session_close(f->s);
    cowcat_close(f->db);
    fflush(NULL);
    _exit(0);
}

static void
fingerprint(fix *f, uint64_t fp[2])
{
    cowcat_error err;
    if (oom_fingerprint(f->s, fp, &err) != COWCAT_OK)
        child_fail("snapshot_open: %s", err.message);
}

/* The statement with the n-th allocation call failing (n = 0: none, counting only). */
static cowcat_code
run_statement(const oom_case *k, fix *f, uint64_t n, uint64_t *out, cowcat_error *err)
{
    memset(err, 0, sizeof *err);
    oom_out o = {0};
    in_exec = 1;
    inj_arm(n);
    cowcat_code rc = cowcat_exec(f->s, k->sql, &oom_out_cbs, &o, err);
    inj_disarm();
    in_exec = 0;
    *out = o.h;
    return rc;
}

static _Noreturn void
child_reference(const oom_case *k, fix *f)
{
    fix_prepare(f);
    fingerprint(f, rep->fp_before);
    cowcat_error err;
    cowcat_code rc = run_statement(k, f, 0, &rep->result, &err);
    rep->allocs = inj_calls;
    memcpy(rep->allocs_from, inj_from, sizeof inj_from);
    if (k->expect == NULL && rc != COWCAT_OK)
        child_fail("%s without failures: %s %s", k->sql, err.sqlstate, err.message);
    if (k->expect != NULL && (rc == COWCAT_OK || strcmp(err.sqlstate, k->expect) != 0))
        child_fail("%s without failures: expected %s, got %s %s", k->sql, k->expect,
                   rc == COWCAT_OK ? "success" : err.sqlstate, err.message);
    if (k->expect != NULL)
        rep->error = oom_error_hash(&err);
    fingerprint(f, rep->fp_after);
    if (k->writes == oom_fp_eq(rep->fp_before, rep->fp_after))
        child_fail("%s %s the catalog's fingerprint", k->sql,
                   k->writes ? "did not change" : "changed");
    child_end(f);
}

/* After a failed run: nothing changed and the session works. */
static void
check_unchanged(fix *f, uint64_t n, const cowcat_error *err)
{
    cowcat_error e2;
    if (cowcat_session_status(f->s) != COWCAT_TXN_IDLE)
        child_fail("N=%llu: the failure (%s) left the session in status '%c'",
                   (unsigned long long)n, err->message, (char)cowcat_session_status(f->s));
    uint64_t fp[2];
    fingerprint(f, fp);
    if (!oom_fp_eq(fp, rep->fp_before))
        child_fail("N=%llu: the failure (%s %s) changed the catalog", (unsigned long long)n,
                   err->sqlstate, err->message);
    if (cowcat_check(f->db, &e2) != COWCAT_OK)
        child_fail("N=%llu: cowcat_check after the failure: %s", (unsigned long long)n,
                   e2.message);
    oom_out o = {0};
    if (cowcat_exec(f->s, "SELECT count(*) FROM cowcat_catalog.objects", &oom_out_cbs, &o, &e2) !=
        COWCAT_OK)
        child_fail("N=%llu: the next statement fails: %s %s", (unsigned long long)n, e2.sqlstate,
                   e2.message);
}

/* Sweeps N = start, start + 1, ... on a freshly prepared catalog. */
static _Noreturn void
child_sweep(const oom_case *k, fix *f, uint64_t start)
{
    bool verbose = getenv("COWCAT_OOM_PARSE_VERBOSE") != NULL;
    fix_prepare(f);
    for (uint64_t n = start;; n++) {
        rep->cur = n;
        uint64_t o;
        cowcat_error err;
        cowcat_code rc = run_statement(k, f, n, &o, &err);
        if (!inj_fired) {
            if (k->expect == NULL && rc != COWCAT_OK)
                child_fail("N=%llu: failed without an injected failure: %s %s",
                           (unsigned long long)n, err.sqlstate, err.message);
            if (k->expect != NULL && (rc == COWCAT_OK || oom_error_hash(&err) != rep->error))
                child_fail("N=%llu: without an injected failure, not the expected error: %s %s",
                           (unsigned long long)n, err.sqlstate, err.message);
            uint64_t fp[2];
            fingerprint(f, fp);
            if (o != rep->result || !oom_fp_eq(fp, rep->fp_after))
                child_fail("N=%llu: the run past the last allocation gave another result",
                           (unsigned long long)n);
            rep->last = n;
            rep->next = 0;
            child_end(f);
        }
        if (rc == COWCAT_OK) {
            uint64_t fp[2];
            fingerprint(f, fp);
            if (k->expect != NULL || o != rep->result || !oom_fp_eq(fp, rep->fp_after))
                child_fail("N=%llu: succeeded despite the failure (in %s), with another result",
                           (unsigned long long)n, origin_names[inj_origin]);
            rep->absorbed++;
            rep->absorbed_from[inj_origin]++;
            if (verbose)
                fprintf(stderr, "  N=%llu (call in %s): the unfailed result\n",
                        (unsigned long long)n, origin_names[inj_origin]);
            rep->next = n + 1;
            if (!k->writes)
                continue;
            child_end(f);
        }
        if (k->expect != NULL && oom_error_hash(&err) == rep->error) {
            rep->absorbed++;
            rep->absorbed_from[inj_origin]++;
            if (verbose)
                fprintf(stderr, "  N=%llu (call in %s): the unfailed error\n",
                        (unsigned long long)n, origin_names[inj_origin]);
            check_unchanged(f, n, &err);
            continue;
        }
        if (strcmp(err.sqlstate, "53200") != 0 || err.code != COWCAT_NOMEM)
            child_fail("N=%llu: the failing allocation (in %s) gave %s (%s), not 53200: %s",
                       (unsigned long long)n, origin_names[inj_origin], err.sqlstate,
                       cowcat_code_name(err.code), err.message);
        rep->nomem++;
        rep->nomem_from[inj_origin]++;
        if (verbose)
            fprintf(stderr, "  N=%llu (call in %s): %s %s\n", (unsigned long long)n,
                    origin_names[inj_origin], err.sqlstate, err.message);
        check_unchanged(f, n, &err);
    }
}

/* --- parent side ---------------------------------------------------------------------- */

typedef enum child_kind { CHILD_REFERENCE, CHILD_SWEEP } child_kind;

/* Runs one child; returns true if it died in libpg_query (a finding), fails the test on
 * any other failure. */
static bool
run_child(const oom_case *k, child_kind what, uint64_t start)
{
    FILE *errf = tmpfile();
    cr_assert_not_null(errf);
    rep->death = DEATH_NONE;
    rep->msg[0] = '\0';
    fflush(NULL);
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        dup2(fileno(errf), STDERR_FILENO);
        child_setup();
        fix f = {0};
        if (what == CHILD_REFERENCE)
            child_reference(k, &f);
        child_sweep(k, &f, start);
    }
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    char text[8192];
    rewind(errf);
    size_t got = fread(text, 1, sizeof text - 1, errf);
    text[got] = '\0';
    fclose(errf);
    if (what == CHILD_SWEEP && rep->death == DEATH_IN_PGQ)
        return true;
    if (got > 0)
        fprintf(stderr, "%s", text);
    if (rep->death != DEATH_NONE)
        cr_assert(false, "%s: N=%llu (failing call in %s): %s %d %s\n%s", k->name,
                (unsigned long long)rep->cur, origin_names[rep->died_in_origin],
                rep->sig ? "signal" : "exit() during the statement", rep->sig, rep->where,
                rep->stack);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s (%s child, N=%llu): %s%s%d", k->name,
              what == CHILD_REFERENCE ? "reference" : "sweep", (unsigned long long)rep->cur,
              rep->msg[0] ? rep->msg : "the child died: ",
              rep->msg[0] ? "" : (WIFSIGNALED(st) ? "signal " : "status "),
              rep->msg[0] ? 0 : (WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st)));
    return false;
}

/* "n cowcat, n libpg_query, ..." for the origins with a count. */
static void
per_origin(char *buf, size_t size, const uint64_t *count)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int o = 0; o < NORIGINS && len < size; o++)
        if (count[o] > 0)
            len += (size_t)snprintf(buf + len, size - len, "%s%llu %s", len > 0 ? ", " : "",
                                    (unsigned long long)count[o], origin_names[o]);
    if (len == 0)
        snprintf(buf, size, "none");
}

/* A distinct death in libpg_query: its place, how often, the first N and its stack. */
typedef struct finding {
    char where[256];
    int sig;
    uint64_t count, first_n;
    origin alloc_in;
} finding;

static void
sweep(const oom_case *k)
{
    rep = mmap(NULL, sizeof *rep, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(rep, MAP_FAILED);
    memset(rep, 0, sizeof *rep);
    (void)cc_hash_seed(); /* drawn once here: every child hashes alike */
    dl_iterate_phdr(find_segments, NULL);
    cr_assert(pgq_hi > pgq_lo && libc_hi > libc_lo && exe_hi > exe_lo,
              "cannot find the text of libpg_query.so, libc.so and the executable");
    run_child(k, CHILD_REFERENCE, 0);
    uint64_t allocs = rep->allocs;
    cr_assert_gt(rep->allocs_from[FROM_PGQ], 0,
                 "%s: the interposed malloc sees no call from libpg_query.so (not interposed?)",
                 k->name);
    finding found[16];
    size_t nfound = 0;
    uint64_t deaths = 0, children = 0, deaths_from[NORIGINS] = {0};
    for (uint64_t start = 1; start != 0;) {
        rep->next = 0;
        children++;
        if (run_child(k, CHILD_SWEEP, start)) {
            deaths++;
            deaths_from[rep->died_in_origin]++;
            size_t i = 0;
            while (i < nfound && !(strcmp(found[i].where, rep->where) == 0 &&
                                   found[i].sig == rep->sig))
                i++;
            if (i == nfound && nfound < sizeof found / sizeof *found) {
                found[nfound++] = (finding){.sig = rep->sig, .first_n = rep->cur,
                                            .alloc_in = rep->died_in_origin};
                snprintf(found[i].where, sizeof found[i].where, "%s", rep->where);
                fprintf(stderr, "ddl_oom_parse %s: N=%llu (failing call in %s): signal %d %s\n%s",
                        k->name, (unsigned long long)rep->cur, origin_names[rep->died_in_origin],
                        rep->sig, rep->where, rep->stack);
            }
            if (i < nfound)
                found[i].count++;
            rep->next = rep->cur + 1;
        }
        cr_assert(rep->next == 0 || rep->next > start, "%s: the sweep does not advance", k->name);
        start = rep->next;
    }
    cr_assert_eq(rep->last, allocs + 1,
                 "%s: the sweep ended at N=%llu, the statement makes %llu allocation calls",
                 k->name, (unsigned long long)rep->last, (unsigned long long)allocs);
    char calls[256], nomem[256], absorbed[256], died[256];
    per_origin(calls, sizeof calls, rep->allocs_from);
    per_origin(nomem, sizeof nomem, rep->nomem_from);
    per_origin(absorbed, sizeof absorbed, rep->absorbed_from);
    per_origin(died, sizeof died, deaths_from);
    fprintf(stderr,
            "ddl_oom_parse %s: N=1..%llu, every N; calls by origin: %s\n"
            "ddl_oom_parse %s:   53200 x %llu (failing call in %s)\n"
            "ddl_oom_parse %s:   the unfailed result x %llu (failing call in %s)\n"
            "ddl_oom_parse %s:   died in libpg_query x %llu (failing call in %s), %zu distinct; "
            "%llu children\n",
            k->name, (unsigned long long)allocs, calls, k->name, (unsigned long long)rep->nomem,
            nomem, k->name, (unsigned long long)rep->absorbed, absorbed, k->name,
            (unsigned long long)deaths, died, nfound, (unsigned long long)children);
    for (size_t i = 0; i < nfound; i++)
        fprintf(stderr, "ddl_oom_parse %s:   %llu x signal %d %s (first N=%llu, call in %s)\n",
                k->name, (unsigned long long)found[i].count, found[i].sig, found[i].where,
                (unsigned long long)found[i].first_n, origin_names[found[i].alloc_in]);
    munmap(rep, sizeof *rep);
    rep = NULL;
}

ParameterizedTestParameters(ddl_oom_parse, libpg_query_allocation_failures_are_53200_or_its_own_crash)
{
    static size_t idx[NCASES];
    for (size_t i = 0; i < NCASES; i++)
        idx[i] = i;
    return cr_make_param_array(size_t, idx, NCASES);
}

ParameterizedTest(size_t *i, ddl_oom_parse, libpg_query_allocation_failures_are_53200_or_its_own_crash)
{
    wide_view_init(); /* in this worker: Criterion runs each test in a fresh process */
    sweep(&cases[*i]);
}
