/*
 * tools/src/main.c — the `cowcat` command-line tool: dump, restore, check,
 * stats, sql, inspect (docs/CLI.md). Each command parses its options, calls
 * the tools library (tools/tools.h) and reports errors PostgreSQL-tool style
 * on stderr:
 *
 *   cowcat: error: data directory "d" is in use by pid 42 (SQLSTATE 55006)
 *   cowcat: hint: The cowcat tools read the data directory directly; ...
 *
 * Exit status: 0 success, 1 failure (an error, a check finding, a failed
 * SQL statement), 2 usage error.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools/tools.h"

#define EXIT_USAGE 2

/* --- reporting ---------------------------------------------------------------------------- */

static void
report(const cc_err *e)
{
    fprintf(stderr, "cowcat: error: %s (SQLSTATE %s)\n", e->msg, cc_err_sqlstate(e));
    if (e->detail[0] != '\0')
        fprintf(stderr, "cowcat: detail: %s\n", e->detail);
    if (e->hint[0] != '\0')
        fprintf(stderr, "cowcat: hint: %s\n", e->hint);
}

static int
usage_error(const char *cmd, const char *fmt, const char *arg)
{
    fprintf(stderr, "cowcat: error: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\ncowcat: hint: Try \"cowcat %s --help\" for more information.\n", cmd);
    return EXIT_USAGE;
}

/* Progress on stderr: a rewritten line on a terminal, plain lines otherwise. */
typedef struct progress {
    bool tty;
    bool forced; /* --progress: also small catalogs, also when not a terminal */
} progress;

static void
on_progress(void *arg, const char *phase, uint64_t done, uint64_t total)
{
    const progress *p = arg;
    if (!p->forced && total < 100000)
        return;
    unsigned pct = total > 0 ? (unsigned)(done * 100 / total) : 100;
    if (p->tty)
        fprintf(stderr, "\rcowcat: %s %3u%% (%" PRIu64 "/%" PRIu64 ")%s", phase, pct, done, total,
                done == total ? "\n" : "");
    else
        fprintf(stderr, "cowcat: %s %3u%% (%" PRIu64 "/%" PRIu64 ")\n", phase, pct, done, total);
}

static bool
progress_wanted(progress *p, bool forced)
{
    p->tty = isatty(2);
    p->forced = forced;
    return forced || p->tty;
}

/* --- dump ---------------------------------------------------------------------------------- */

static const char dump_help[] =
    "Usage: cowcat dump -D DIR [-o FILE] [OPTION]...\n"
    "Writes a consistent dump of the catalog in data directory DIR.\n"
    "\n"
    "  -D, --data-dir=DIR   the data directory (read directly; it must not be open\n"
    "                       in another process)\n"
    "  -o, --output=FILE    write to FILE (default: standard output, \"-\"); FILE is\n"
    "                       written under a temporary name and renamed when complete\n"
    "      --audit-log      include the audit log (left out by default)\n"
    "      --progress       report progress on stderr (default: on a terminal)\n"
    "  -v, --verbose        print a summary on stderr\n"
    "  -h, --help           show this help\n";

static int
cmd_dump(int argc, char **argv)
{
    static const struct option opts[] = {{"data-dir", required_argument, NULL, 'D'},
                                         {"output", required_argument, NULL, 'o'},
                                         {"audit-log", no_argument, NULL, 'A'},
                                         {"progress", no_argument, NULL, 'P'},
                                         {"verbose", no_argument, NULL, 'v'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *dir = NULL, *out = "-";
    bool verbose = false, forced = false;
    tools_dump_options o = {0};
    progress pr;
    int c;
    while ((c = getopt_long(argc, argv, "D:o:vh", opts, NULL)) != -1) {
        switch (c) {
        case 'D':
            dir = optarg;
            break;
        case 'o':
            out = optarg;
            break;
        case 'A':
            o.content = TOOLS_DUMP_WITH_AUDIT_LOG;
            break;
        case 'P':
            forced = true;
            break;
        case 'v':
            verbose = true;
            break;
        case 'h':
            fputs(dump_help, stdout);
            return 0;
        default:
            return usage_error("dump", "invalid option \"%s\"", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return usage_error("dump", "unexpected argument \"%s\"", argv[optind]);
    if (dir == NULL)
        return usage_error("dump", "%s", "no data directory given (-D DIR)");
    if (strcmp(out, "-") == 0 && isatty(1)) {
        fprintf(stderr, "cowcat: error: refusing to write a binary dump to a terminal\n"
                        "cowcat: hint: Use -o FILE or redirect standard output.\n");
        return 1;
    }
    if (progress_wanted(&pr, forced)) {
        o.progress = on_progress;
        o.progress_arg = &pr;
    }
    tools_dump_summary sum;
    cc_err e;
    cc_err_clear(&e);
    if (tools_dump_to_path(dir, out, &o, &sum, &e) != CC_OK) {
        report(&e);
        return 1;
    }
    if (verbose)
        fprintf(stderr,
                "cowcat: dumped %" PRIu64 " entries (%" PRIu64 " bytes, upper %" PRIu64 ") to %s\n",
                sum.entries, sum.bytes, sum.upper, strcmp(out, "-") == 0 ? "standard output" : out);
    return 0;
}

/* --- restore ------------------------------------------------------------------------------- */

static const char restore_help[] =
    "Usage: cowcat restore -D DIR [-i FILE] [OPTION]...\n"
    "Creates the catalog in data directory DIR from a dump. The dump is verified\n"
    "(checksums, versions, every entry), written into a new directory next to DIR,\n"
    "checked in full and only then renamed to DIR: on failure nothing is left.\n"
    "\n"
    "  -D, --data-dir=DIR   the data directory: missing or empty (see --force)\n"
    "  -i, --input=FILE     read the dump from FILE (default: standard input, \"-\")\n"
    "      --force          replace DIR even if it is not empty (never one in use)\n"
    "      --no-sync        do not fdatasync (faster; not safe against power loss)\n"
    "      --progress       report progress on stderr (default: on a terminal)\n"
    "  -v, --verbose        print a summary on stderr\n"
    "  -h, --help           show this help\n";

static int
cmd_restore(int argc, char **argv)
{
    static const struct option opts[] = {
        {"data-dir", required_argument, NULL, 'D'}, {"input", required_argument, NULL, 'i'},
        {"force", no_argument, NULL, 'F'},          {"no-sync", no_argument, NULL, 'N'},
        {"progress", no_argument, NULL, 'P'},       {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0}};
    const char *dir = NULL, *in = "-";
    bool verbose = false, forced = false;
    tools_restore_options o = {0};
    progress pr;
    int c;
    while ((c = getopt_long(argc, argv, "D:i:vh", opts, NULL)) != -1) {
        switch (c) {
        case 'D':
            dir = optarg;
            break;
        case 'i':
            in = optarg;
            break;
        case 'F':
            o.target = TOOLS_RESTORE_REPLACE;
            break;
        case 'N':
            o.sync = PERSIST_SYNC_NONE;
            break;
        case 'P':
            forced = true;
            break;
        case 'v':
            verbose = true;
            break;
        case 'h':
            fputs(restore_help, stdout);
            return 0;
        default:
            return usage_error("restore", "invalid option \"%s\"", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return usage_error("restore", "unexpected argument \"%s\"", argv[optind]);
    if (dir == NULL)
        return usage_error("restore", "%s", "no data directory given (-D DIR)");
    if (progress_wanted(&pr, forced)) {
        o.progress = on_progress;
        o.progress_arg = &pr;
    }
    cc_err e;
    cc_err_clear(&e);
    tools_dump *d;
    if (tools_dump_load(in, &d, &e) != CC_OK) {
        report(&e);
        return 1;
    }
    tools_restore_summary sum;
    tools_datadir *loaded = NULL;
    o.loaded = &loaded;
    cc_code rc = tools_restore(d, dir, &o, &sum, &e);
    tools_dump_free(d);
    if (rc != CC_OK) {
        report(&e);
        return 1;
    }
    /*
     * The process exits right after: the checked catalog (at a million tables,
     * a million objects, snapshot entries and trace entries; freeing them one
     * by one takes a second) is left to the exit, which returns the memory at
     * once. Nothing is pending in it: the restore's one write and its rollup
     * were synced before the check, and it was only read since. Builds with
     * debug invariants (Debug, sanitizers, fuzzing) close it, so leak checks
     * stay exact.
     */
#ifdef CC_DEBUG
    tools_datadir_close(loaded);
#endif
    if (verbose)
        fprintf(stderr,
                "cowcat: restored %" PRIu64 " entries into %s (%" PRIu64
                " durable write%s, upper %" PRIu64 ")\n",
                sum.entries, dir, sum.appends, sum.appends == 1 ? "" : "s", sum.upper);
    return 0;
}

/* --- check --------------------------------------------------------------------------------- */

static const char check_help[] =
    "Usage: cowcat check -D DIR\n"
    "Runs the full consistency check of the catalog in DIR (read-only): the durable\n"
    "snapshot, the catalog (indexes, dependencies, owners, counts, limits, every\n"
    "stored statement re-parsed) and the audit log. Prints each finding; exit\n"
    "status 0 when there is none, 1 otherwise.\n"
    "\n"
    "  -D, --data-dir=DIR   the data directory (must not be open in another process)\n"
    "  -q, --quiet          print findings only\n"
    "  -h, --help           show this help\n";

static void
on_finding(void *arg, const char *what, const cc_err *f)
{
    (void)arg;
    printf("finding (%s): %s (SQLSTATE %s)\n", what, f->msg, cc_err_sqlstate(f));
    if (f->detail[0] != '\0')
        printf("  detail: %s\n", f->detail);
}

static int
cmd_check(int argc, char **argv)
{
    static const struct option opts[] = {{"data-dir", required_argument, NULL, 'D'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *dir = NULL;
    bool quiet = false;
    int c;
    while ((c = getopt_long(argc, argv, "D:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'D':
            dir = optarg;
            break;
        case 'q':
            quiet = true;
            break;
        case 'h':
            fputs(check_help, stdout);
            return 0;
        default:
            return usage_error("check", "invalid option \"%s\"", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return usage_error("check", "unexpected argument \"%s\"", argv[optind]);
    if (dir == NULL)
        return usage_error("check", "%s", "no data directory given (-D DIR)");
    cc_err e;
    cc_err_clear(&e);
    tools_datadir *d;
    cc_code rc = tools_datadir_open(dir, TOOLS_OPEN_DURABLE, &d, &e);
    if (rc == CC_CORRUPT) { /* loading is the first check */
        on_finding(NULL, "load", &e);
        printf("check: 1 finding\n");
        return 1;
    }
    if (rc != CC_OK) {
        report(&e);
        return 1;
    }
    size_t n = 0;
    rc = tools_check(d, on_finding, NULL, &n, &e);
    uint64_t objects = 0;
    if (tools_datadir_catalog(d) != NULL) {
        const cat_state *s = cat_state_acquire(tools_datadir_catalog(d));
        for (int k = 0; k < CAT_NKIND; k++)
            objects += cat_state_count(s, (cat_kind)k);
    }
    uint64_t upper = dur_upper(tools_datadir_durable(d));
    tools_datadir_close(d);
    if (rc != CC_OK) {
        report(&e);
        return 1;
    }
    if (n > 0) {
        printf("check: %zu finding%s\n", n, n == 1 ? "" : "s");
        return 1;
    }
    if (!quiet)
        printf("check: ok (%" PRIu64 " objects, upper %" PRIu64 ")\n", objects, upper);
    return 0;
}

/* --- stats --------------------------------------------------------------------------------- */

static const char stats_help[] =
    "Usage: cowcat stats -D DIR [--json]\n"
    "Prints object counts by kind and by schema, the data directory's size (log\n"
    "segments, rollup), the memory the catalog takes when loaded, and the limits in\n"
    "force with their current use. Opens DIR read-only.\n"
    "\n"
    "  -D, --data-dir=DIR   the data directory (must not be open in another process)\n"
    "      --json           one JSON object instead of text\n"
    "  -h, --help           show this help\n";

static const cat_kind item_kinds[] = {CAT_KIND_TABLE, CAT_KIND_VIEW, CAT_KIND_MATERIALIZED_VIEW,
                                      CAT_KIND_INDEX, CAT_KIND_TYPE};
#define NITEM_KINDS (sizeof item_kinds / sizeof *item_kinds)

static void
stats_text(const char *dir, const tools_stats *st)
{
    printf("data directory: %s\n", dir);
    printf("upper: %" PRIu64 "   fence: generation %" PRIu64 ", epoch %" PRIu64 "\n", st->upper,
           st->fence.generation, st->fence.epoch);
    printf("\nobjects by kind:\n");
    for (int k = 0; k < CAT_NKIND; k++)
        printf("  %-18s %12" PRIu64 "\n", cat_kind_name((cat_kind)k), st->kinds[k]);
    printf("\nobjects by schema:\n  %-20s %-20s", "database", "schema");
    for (size_t i = 0; i < NITEM_KINDS; i++)
        printf(" %10s", i == 2 ? "matviews" : cat_kind_name(item_kinds[i]));
    printf("\n");
    for (size_t i = 0; i < st->nschemas; i++) {
        const tools_schema_stats *s = &st->schemas[i];
        printf("  %-20s %-20s", s->database[0] ? s->database : "(builtin)", s->schema);
        for (size_t k = 0; k < NITEM_KINDS; k++)
            printf(" %10" PRIu64, s->kinds[item_kinds[k]]);
        printf("\n");
    }
    printf("\ndurable entries by collection:\n");
    for (int c = DUR_COLLECTION_MIN; c <= DUR_COLLECTION_MAX; c++)
        if (st->entries[c] > 0)
            printf("  %-28s %12" PRIu64 "\n", tools_collection_name(c), st->entries[c]);
    printf("  %-28s %12" PRIu64 "\n", "(encoded keys + values, bytes)", st->value_bytes);
    printf("\nfiles:\n");
    printf("  %-28s %12" PRIu64 " bytes\n", "data directory", st->dir_bytes);
    printf("  %-28s %12" PRIu64 " bytes in %" PRIu64 " segment%s\n", "log", st->log_bytes,
           st->log_segments, st->log_segments == 1 ? "" : "s");
    printf("  %-28s %12" PRIu64 " bytes\n", "rollup", st->rollup_bytes);
    printf("\nmemory: %" PRIu64 " bytes (%.1f MiB; %s)\n", st->memory_bytes,
           (double)st->memory_bytes / (1024.0 * 1024.0), st->memory_method);
    printf("\nlimits:\n  %-28s %12s %12s\n", "name", "limit", "current");
    for (int l = 0; l < CAT_NLIMIT; l++)
        printf("  %-28s %12" PRId64 " %12" PRIu64 "\n", cat_limit_name((cat_limit)l), st->limits[l],
               st->limit_used[l]);
}

static void
json_str(const char *s)
{
    putchar('"');
    for (; *s != '\0'; s++) {
        if (*s == '"' || *s == '\\')
            printf("\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            printf("\\u%04x", (unsigned char)*s);
        else
            putchar(*s);
    }
    putchar('"');
}

static void
stats_json(const char *dir, const tools_stats *st)
{
    printf("{\"data_dir\":");
    json_str(dir);
    printf(",\"upper\":%" PRIu64 ",\"fence\":{\"generation\":%" PRIu64 ",\"epoch\":%" PRIu64 "}",
           st->upper, st->fence.generation, st->fence.epoch);
    printf(",\"kinds\":{");
    for (int k = 0; k < CAT_NKIND; k++) {
        printf(k ? "," : "");
        json_str(cat_kind_name((cat_kind)k));
        printf(":%" PRIu64, st->kinds[k]);
    }
    printf("},\"schemas\":[");
    for (size_t i = 0; i < st->nschemas; i++) {
        printf(i ? ",{\"database\":" : "{\"database\":");
        json_str(st->schemas[i].database);
        printf(",\"schema\":");
        json_str(st->schemas[i].schema);
        for (size_t k = 0; k < NITEM_KINDS; k++) {
            putchar(',');
            json_str(cat_kind_name(item_kinds[k]));
            printf(":%" PRIu64, st->schemas[i].kinds[item_kinds[k]]);
        }
        putchar('}');
    }
    printf("],\"entries\":{");
    bool first = true;
    for (int c = DUR_COLLECTION_MIN; c <= DUR_COLLECTION_MAX; c++) {
        if (st->entries[c] == 0)
            continue;
        printf(first ? "" : ",");
        first = false;
        json_str(tools_collection_name(c));
        printf(":%" PRIu64, st->entries[c]);
    }
    printf("},\"value_bytes\":%" PRIu64 ",\"dir_bytes\":%" PRIu64 ",\"log_bytes\":%" PRIu64
           ",\"log_segments\":%" PRIu64 ",\"rollup_bytes\":%" PRIu64 ",\"memory_bytes\":%" PRIu64
           ",\"memory_method\":",
           st->value_bytes, st->dir_bytes, st->log_bytes, st->log_segments, st->rollup_bytes,
           st->memory_bytes);
    json_str(st->memory_method);
    printf(",\"limits\":{");
    for (int l = 0; l < CAT_NLIMIT; l++) {
        printf(l ? "," : "");
        json_str(cat_limit_name((cat_limit)l));
        printf(":{\"limit\":%" PRId64 ",\"current\":%" PRIu64 "}", st->limits[l],
               st->limit_used[l]);
    }
    printf("}}\n");
}

static int
cmd_stats(int argc, char **argv)
{
    static const struct option opts[] = {{"data-dir", required_argument, NULL, 'D'},
                                         {"json", no_argument, NULL, 'J'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *dir = NULL;
    bool json = false;
    int c;
    while ((c = getopt_long(argc, argv, "D:h", opts, NULL)) != -1) {
        switch (c) {
        case 'D':
            dir = optarg;
            break;
        case 'J':
            json = true;
            break;
        case 'h':
            fputs(stats_help, stdout);
            return 0;
        default:
            return usage_error("stats", "invalid option \"%s\"", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return usage_error("stats", "unexpected argument \"%s\"", argv[optind]);
    if (dir == NULL)
        return usage_error("stats", "%s", "no data directory given (-D DIR)");
    tools_stats st;
    cc_err e;
    cc_err_clear(&e);
    if (tools_stats_collect(dir, &st, &e) != CC_OK) {
        report(&e);
        return 1;
    }
    if (json)
        stats_json(dir, &st);
    else
        stats_text(dir, &st);
    tools_stats_fini(&st);
    return 0;
}

/* --- inspect ------------------------------------------------------------------------------- */

static const char inspect_help[] =
    "Usage: cowcat inspect FILE\n"
    "Verifies a dump (header, checksums, every entry) and prints its header and a\n"
    "summary: entries per collection, objects per kind. FILE \"-\" reads standard\n"
    "input. Exit status 1 if the dump is not valid.\n"
    "\n"
    "  -h, --help   show this help\n";

static int
cmd_inspect(int argc, char **argv)
{
    static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(inspect_help, stdout);
            return 0;
        }
        return usage_error("inspect", "invalid option \"%s\"", argv[optind - 1]);
    }
    if (optind != argc - 1)
        return usage_error("inspect", "%s", "expected exactly one FILE");
    const char *path = argv[optind];
    cc_err e;
    cc_err_clear(&e);
    tools_dump *d;
    if (tools_dump_load(path, &d, &e) != CC_OK) {
        report(&e);
        return 1;
    }
    const Cowcat__Dump__DumpHeader *h = d->header;
    printf("file: %s\n", path);
    printf("magic: %s\nformat version: %u\ncowcat version: %s\ncatalog format version: %u\n",
           h->magic, h->format_version, h->cowcat_version, h->catalog_format_version);
    printf("upper: %" PRIu64 "\naudit log: %s\n", h->upper, h->audit_log ? "included" : "no");
    printf("entries: %" PRIu64 "\nbody: %" PRIu64 " bytes (header %zu bytes, file %zu bytes)\n",
           h->entries, h->body_bytes, d->header_bytes, d->len);
    printf("body checksum (XXH3-128): ");
    for (size_t i = 0; i < h->body_xxh3_128.len; i++)
        printf("%02x", h->body_xxh3_128.data[i]);
    printf(" (verified)\n\nentries by collection:\n");
    for (size_t i = 0; i < h->n_collections; i++)
        printf("  %-28s %12" PRIu64 "\n", h->collections[i]->name, h->collections[i]->entries);
    printf("\nobjects by kind:\n");
    for (size_t i = 0; i < h->n_kinds; i++)
        printf("  %-28s %12" PRIu64 "\n", h->kinds[i]->kind, h->kinds[i]->count);
    tools_dump_free(d);
    return 0;
}

/* --- sql ------------------------------------------------------------------------------------ */

static const char sql_help[] =
    "Usage: cowcat sql -D DIR [-c SQL | -f FILE]... [OPTION]...\n"
    "Runs SQL through the embedded engine (no server) and prints the results as\n"
    "psql does. Each -c string is sent as one query (several statements in it are\n"
    "one implicit transaction); -f FILE and standard input (when there is no -c or\n"
    "-f) are split into statements at ';' and sent one by one. Errors print as\n"
    "\"ERROR:  SQLSTATE: message\" on stderr; the exit status is 1 if any statement\n"
    "failed.\n"
    "\n"
    "  -D, --data-dir=DIR     the data directory (must not be open in another process)\n"
    "  -c, --command=SQL      run SQL (repeatable, in order with -f)\n"
    "  -f, --file=FILE        run the statements in FILE (\"-\": standard input)\n"
    "  -U, --user=ROLE        act as ROLE (default: cowcat)\n"
    "  -d, --database=NAME    connect to database NAME (default: cowcat)\n"
    "      --csv              print rows as CSV (no command tags)\n"
    "      --json             print each result as one line of JSON (no command tags)\n"
    "      --on-error-stop    stop at the first failing statement\n"
    "      --create           create DIR (a new catalog) if it does not exist\n"
    "  -h, --help             show this help\n";

typedef struct sql_job {
    char kind; /* 'c' or 'f' */
    const char *arg;
} sql_job;

typedef struct sql_run {
    cowcat_session *s;
    tools_sql_output out;
    bool stop_on_error;
    int failures;
    const char *file; /* for messages */
} sql_run;

static int
run_stmt(void *arg, const char *stmt, int line)
{
    sql_run *r = arg;
    if (stmt[0] == '\\') {
        fprintf(stderr, "cowcat: %s:%d: error: psql meta-commands are not supported: %.40s\n",
                r->file, line, stmt);
        r->failures++;
        return r->stop_on_error;
    }
    if (tools_sql_exec(r->s, stmt, &r->out) != COWCAT_OK) {
        r->failures++;
        return r->stop_on_error;
    }
    return 0;
}

/* Reads a whole file ("-": standard input) into a NUL-terminated string (malloc'd). */
static char *
slurp(const char *path)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (f == NULL)
        return NULL;
    size_t len = 0, cap = 4096;
    char *buf = malloc(cap);
    while (buf != NULL) {
        size_t n = fread(buf + len, 1, cap - len - 1, f);
        len += n;
        if (n == 0)
            break;
        if (len + 1 == cap) {
            char *nb = realloc(buf, cap * 2);
            if (nb == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    bool bad = ferror(f);
    if (f != stdin)
        fclose(f);
    if (buf != NULL && bad) {
        free(buf);
        return NULL;
    }
    if (buf != NULL)
        buf[len] = '\0';
    return buf;
}

static int
cmd_sql(int argc, char **argv)
{
    static const struct option opts[] = {{"data-dir", required_argument, NULL, 'D'},
                                         {"command", required_argument, NULL, 'c'},
                                         {"file", required_argument, NULL, 'f'},
                                         {"user", required_argument, NULL, 'U'},
                                         {"database", required_argument, NULL, 'd'},
                                         {"csv", no_argument, NULL, 'C'},
                                         {"json", no_argument, NULL, 'J'},
                                         {"on-error-stop", no_argument, NULL, 'S'},
                                         {"create", no_argument, NULL, 'N'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *dir = NULL;
    cowcat_session_options so = {0};
    sql_run r = {.out = {.format = TOOLS_SQL_ALIGNED, .out = stdout, .msg = stderr}};
    bool create = false;
    sql_job *jobs = calloc((size_t)argc + 1, sizeof *jobs);
    size_t njobs = 0;
    int c, status = 0;
    if (jobs == NULL) {
        fprintf(stderr, "cowcat: error: out of memory\n");
        return 1;
    }
    while ((c = getopt_long(argc, argv, "D:c:f:U:d:h", opts, NULL)) != -1) {
        switch (c) {
        case 'D':
            dir = optarg;
            break;
        case 'c':
        case 'f':
            jobs[njobs++] = (sql_job){(char)c, optarg};
            break;
        case 'U':
            so.user = optarg;
            break;
        case 'd':
            so.database = optarg;
            break;
        case 'C':
            r.out.format = TOOLS_SQL_CSV;
            break;
        case 'J':
            r.out.format = TOOLS_SQL_JSON;
            break;
        case 'S':
            r.stop_on_error = true;
            break;
        case 'N':
            create = true;
            break;
        case 'h':
            fputs(sql_help, stdout);
            free(jobs);
            return 0;
        default:
            free(jobs);
            return usage_error("sql", "invalid option \"%s\"", argv[optind - 1]);
        }
    }
    if (optind < argc || dir == NULL) {
        free(jobs);
        return optind < argc ? usage_error("sql", "unexpected argument \"%s\"", argv[optind])
                             : usage_error("sql", "%s", "no data directory given (-D DIR)");
    }
    if (njobs == 0)
        jobs[njobs++] = (sql_job){'f', "-"};
    if (!create && !tools_datadir_exists(dir)) {
        fprintf(stderr,
                "cowcat: error: data directory \"%s\" %s (SQLSTATE 58P01)\n"
                "cowcat: hint: Use --create to create a new catalog there.\n",
                dir, access(dir, F_OK) != 0 ? "does not exist" : "is not a cowcat data directory");
        free(jobs);
        return 1;
    }
    cowcat *db = NULL;
    cowcat_error ce;
    cowcat_options co = {.data_dir = dir};
    if (cowcat_open(&co, &db, &ce) != COWCAT_OK ||
        cowcat_session_open(db, &so, &r.s, &ce) != COWCAT_OK) {
        fprintf(stderr, "cowcat: error: %s (SQLSTATE %s)\n", ce.message, ce.sqlstate);
        if (ce.hint[0] != '\0')
            fprintf(stderr, "cowcat: hint: %s\n", ce.hint);
        cowcat_close(db);
        free(jobs);
        return 1;
    }
    for (size_t i = 0; i < njobs && status == 0; i++) {
        if (jobs[i].kind == 'c') {
            r.file = "-c";
            run_stmt(&r, jobs[i].arg, 1);
        } else {
            char *script = slurp(jobs[i].arg);
            r.file = strcmp(jobs[i].arg, "-") == 0 ? "<stdin>" : jobs[i].arg;
            if (script == NULL) {
                fprintf(stderr, "cowcat: error: could not read \"%s\"\n", r.file);
                r.failures++;
            } else {
                tools_sql_split(script, run_stmt, &r);
                free(script);
            }
        }
        if (r.failures > 0 && r.stop_on_error)
            status = 1;
    }
    cowcat_session_close(r.s);
    cowcat_close(db);
    free(jobs);
    return r.failures > 0 ? 1 : 0;
}

/* --- main ---------------------------------------------------------------------------------- */

static const char main_help[] =
    "cowcat — the command-line tool of the cowcat catalog engine.\n"
    "\n"
    "Usage: cowcat COMMAND [OPTION]...\n"
    "\n"
    "Commands:\n"
    "  dump      write a dump of a data directory's catalog\n"
    "  restore   create a catalog from a dump\n"
    "  check     run the full consistency check of a data directory\n"
    "  stats     object counts, sizes, memory and limits of a data directory\n"
    "  sql       run SQL through the embedded engine\n"
    "  inspect   verify a dump and print its header and a summary\n"
    "\n"
    "\"cowcat COMMAND --help\" describes a command. The commands read data\n"
    "directories directly: a directory open in another process (a server) is\n"
    "refused. Exit status: 0 success, 1 failure, 2 usage error.\n";

int
main(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } cmds[] = {{"dump", cmd_dump},   {"restore", cmd_restore}, {"check", cmd_check},
                {"stats", cmd_stats}, {"sql", cmd_sql},         {"inspect", cmd_inspect}};
    if (argc < 2) {
        fputs(main_help, stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(main_help, stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
        printf("cowcat %s (dump format %u, catalog format %u)\n", tools_version(),
               TOOLS_DUMP_FORMAT_VERSION, DUR_FORMAT_VERSION);
        return 0;
    }
    opterr = 0; /* the commands report bad options themselves */
    for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++)
        if (strcmp(argv[1], cmds[i].name) == 0)
            return cmds[i].fn(argc - 1, argv + 1);
    fprintf(stderr,
            "cowcat: error: unknown command \"%s\"\n"
            "cowcat: hint: Try \"cowcat --help\" for the list of commands.\n",
            argv[1]);
    return EXIT_USAGE;
}
