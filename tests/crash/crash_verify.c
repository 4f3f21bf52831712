/*
 * tests/crash/crash_verify.c — crash_server's checks after a restart: the
 * catalog read back over libpq against the reference model with the
 * in-flight transactions all-or-nothing, and `cowcat check` on the stopped
 * data directory. Failures are printed with the seed, the iteration, the
 * in-flight transactions and, for every row that differs, the acknowledged
 * statements that named its objects.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "crash_server.h"

void
cs_history_add(cs_history *h, const char *fmt, ...)
{
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    long slot = h->n % CS_HISTORY;
    free(h->v[slot]);
    h->v[slot] = strdup(buf);
    h->n++;
}

void
cs_history_free(cs_history *h)
{
    for (long i = 0; i < CS_HISTORY; i++)
        free(h->v[i]);
    memset(h, 0, sizeof *h);
}

/* --- reading the catalog back ----------------------------------------------------------- */

static int
fetch(PGconn *c, cm_rows *out, char *err, size_t n)
{
    for (size_t q = 0; q < cm_nqueries; q++) {
        PGresult *res = PQexec(c, cm_queries[q].sql);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            snprintf(err, n, "%s: %s", cm_queries[q].sql, PQresultErrorMessage(res));
            PQclear(res);
            return -1;
        }
        for (int i = 0; i < PQntuples(res); i++) {
            const char *v[16];
            int nf = PQnfields(res) < 16 ? PQnfields(res) : 16;
            for (int f = 0; f < nf; f++)
                v[f] = PQgetisnull(res, i, f) ? NULL : PQgetvalue(res, i, f);
            cm_rows_add_result(out, &cm_queries[q], v, (size_t)nf);
        }
        PQclear(res);
    }
    cm_rows_sort(out);
    return 0;
}

/* --- reporting -------------------------------------------------------------------------- */

static const char *
actor_name(const cs_run *r, int a, char *buf, size_t n)
{
    const cg_actor *g = &r->actors[a].gen;
    if (g->role == CG_CLIENT)
        snprintf(buf, n, "client %d", a);
    else
        snprintf(buf, n, "%s actor", g->role == CG_SHARED ? "shared-phase" : "system");
    return buf;
}

static bool
is_ident(char ch)
{
    return isalnum((unsigned char)ch) || ch == '_';
}

/* True if word occurs in s as a whole identifier. */
static bool
has_word(const char *s, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = strstr(s, word); p != NULL; p = strstr(p + 1, word))
        if ((p == s || !is_ident(p[-1])) && !is_ident(p[n]))
            return true;
    return false;
}

/* Prints the newest acknowledged transactions and in-flight ones that name the test's objects in row. */
static void
annotate(const cs_run *r, const char *row)
{
    char copy[512], seen[8][CM_NAME];
    int nseen = 0;
    /* a schema's name is in every row of its objects: only a schema's own rows name it */
    bool schema_row = strncmp(row, "schemata|", 9) == 0 || strncmp(row, "obj|schema|", 11) == 0;
    snprintf(copy, sizeof copy, "%s", row);
    for (char *save = NULL, *tok = strtok_r(copy, "|.", &save); tok != NULL;
         tok = strtok_r(NULL, "|.", &save)) {
        /* the test's names: <t|v|m|i|s|c><actor>_<serial> */
        const char *u = strchr(tok, '_');
        if (strchr("tvmisc", tok[0]) == NULL || u == NULL || !isdigit((unsigned char)u[1]) ||
            strlen(tok) >= CM_NAME || nseen == 8 || (tok[0] == 's' && !schema_row))
            continue;
        bool dup = false;
        for (int i = 0; i < nseen; i++)
            dup |= strcmp(seen[i], tok) == 0;
        if (dup)
            continue;
        snprintf(seen[nseen++], CM_NAME, "%s", tok);
        int shown = 0;
        long oldest = r->history.n > CS_HISTORY ? r->history.n - CS_HISTORY : 0;
        for (long i = r->history.n - 1; i >= oldest && shown < 2; i--) {
            const char *h = r->history.v[i % CS_HISTORY];
            if (h != NULL && has_word(h, tok)) {
                printf("        %s <- %s\n", tok, h);
                shown++;
            }
        }
        if (shown == 0)
            printf("        %s <- no acknowledged transaction in the last %d names it\n", tok,
                   CS_HISTORY);
    }
}

static void
print_pending(const cs_run *r, int a)
{
    const cs_pending *p = &r->actors[a].pend;
    char name[32], desc[4096];
    crash_gen_describe(&p->txn, desc, sizeof desc);
    printf("    in flight, %s: %s: %s\n", actor_name(r, a, name, sizeof name),
           p->maybe ? "may have committed (all or nothing)"
           : p->txn.fails ? "must be absent (it fails)"
                          : "must be absent (its commit was never sent)",
           desc);
}

static bool
contains(const cm_rows *rows, const char *row)
{
    size_t lo = 0, hi = rows->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(rows->v[mid], row);
        if (c == 0)
            return true;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

static void
render(const cm_model *m, cm_rows *out)
{
    crash_model_render(m, out);
    cm_rows_sort(out);
}

/*
 * For each in-flight transaction: how much of what it changes is visible. A
 * transaction that is partly visible is reported as half applied.
 */
static void
report_half_applied(const cs_run *r, const int *pend, int npend, const cm_rows *seen)
{
    cm_rows base = {0};
    render(&r->model, &base);
    for (int i = 0; i < npend; i++) {
        const cs_pending *p = &r->actors[pend[i]].pend;
        cm_model with = {0};
        crash_model_copy(&with, &r->model);
        bool ok = true; /* the statements that succeed on their own */
        for (int k = 0; k < p->txn.nops && ok; k++)
            ok = p->txn.ops[k].expect[0] != '\0' ||
                 crash_model_apply(&with, &p->txn.ops[k], NULL, 0) == NULL;
        cm_rows wr = {0};
        render(&with, &wr);
        const char *plus[256], *gone[256];
        size_t np = cm_rows_minus(&wr, &base, plus, 256), ng = cm_rows_minus(&base, &wr, gone, 256);
        size_t vis = 0, tot = 0; /* the limits' counts add up several transactions: skipped */
        for (size_t k = 0; k < np && k < 256; k++)
            if (strncmp(plus[k], "limit|", 6) != 0)
                vis += contains(seen, plus[k]), tot++;
        for (size_t k = 0; k < ng && k < 256; k++)
            if (strncmp(gone[k], "limit|", 6) != 0)
                vis += !contains(seen, gone[k]), tot++;
        char name[32];
        if (ok && p->maybe && vis > 0 && vis < tot)
            printf("    HALF-APPLIED: the in-flight transaction of %s shows %zu of its %zu "
                   "changed rows (each transaction must be all or nothing)\n",
                   actor_name(r, pend[i], name, sizeof name), vis, tot);
        else if (ok && !p->maybe && vis > 0)
            printf("    NEVER COMMITTED BUT VISIBLE: %zu of the %zu rows %s's in-flight "
                   "transaction would change are visible, though %s\n",
                   vis, tot, actor_name(r, pend[i], name, sizeof name),
                   p->txn.fails ? "it fails" : "its COMMIT was never sent");
        cm_rows_free(&wr);
        crash_model_free(&with);
    }
    cm_rows_free(&base);
}

int
cs_verify(cs_run *r, const char *when)
{
    r->verifications++;
    char err[1024] = "";
    cm_rows seen = {0};
    PGconn *c = srvproc_connect(&r->srv, NULL, NULL, false);
    if (PQstatus(c) != CONNECTION_OK)
        snprintf(err, sizeof err, "cannot connect: %s", PQerrorMessage(c));
    else
        fetch(c, &seen, err, sizeof err);
    PQfinish(c);
    if (err[0] != '\0') {
        printf("FAIL: crash_server seed %llu iteration %d (%s): reading the catalog back: %s\n",
               (unsigned long long)r->seed, r->iteration, when, err);
        cm_rows_free(&seen);
        return -1;
    }
    if ((long)seen.n > r->rows_max)
        r->rows_max = (long)seen.n;

    const cg_txn *etx[CM_MAX_ACTORS]; /* the in-flight transactions of either[] */
    int either[CM_MAX_ACTORS], ne = 0, all[CM_MAX_ACTORS], na = 0;
    for (int a = 0; a < r->nactors; a++) {
        const cs_pending *p = &r->actors[a].pend;
        if (!p->active)
            continue;
        all[na++] = a;
        if (p->maybe)
            etx[ne] = &p->txn, either[ne++] = a;
        else
            r->inflight_absent_only++;
    }
    cm_model cand = {0};
    cm_rows want = {0};
    unsigned best = 0;
    size_t best_diff = (size_t)-1;
    int rc = -1;
    for (unsigned mask = 0; mask < (1u << ne); mask++) {
        crash_model_copy(&cand, &r->model);
        if (!crash_gen_apply(&cand, etx, ne, mask))
            continue;
        cm_rows_free(&want);
        render(&cand, &want);
        size_t d = cm_rows_diff_count(&want, &seen);
        if (d < best_diff)
            best_diff = d, best = mask;
        if (d == 0) {
            rc = 0;
            break;
        }
    }
    if (rc == 0) { /* the model becomes what the server committed */
        crash_model_copy(&r->model, &cand);
        crash_model_compact(&r->model);
        for (int i = 0; i < ne; i++) {
            r->inflight_either++;
            if (best & (1u << i)) {
                char name[32], desc[4096];
                crash_gen_describe(&r->actors[either[i]].pend.txn, desc, sizeof desc);
                cs_history_add(&r->history, "iteration %d %s, in flight at the kill, found "
                               "committed: %s", r->iteration - 1,
                               actor_name(r, either[i], name, sizeof name), desc);
                r->inflight_committed++;
            }
        }
        for (int a = 0; a < r->nactors; a++)
            r->actors[a].pend.active = false;
    } else {
        printf("FAIL: crash_server seed %llu iteration %d (%s): the catalog read back is not the "
               "replay of the acknowledged history (in-flight transactions all or nothing)\n",
               (unsigned long long)r->seed, r->iteration, when);
        printf("    replay: COWCAT_TEST_SEED=%llu crash_server --iterations %d; server log %s, "
               "data directory %s\n",
               (unsigned long long)r->seed, r->iteration + 1, r->srv.log, r->dir);
        for (int i = 0; i < na; i++)
            print_pending(r, all[i]);
        report_half_applied(r, all, na, &seen);
        crash_model_copy(&cand, &r->model);
        crash_gen_apply(&cand, etx, ne, best);
        cm_rows_free(&want);
        render(&cand, &want);
        printf("    closest outcome:");
        for (int i = 0; i < ne; i++) {
            char name[32];
            printf(" %s %s;", actor_name(r, either[i], name, sizeof name),
                   best & (1u << i) ? "committed" : "absent");
        }
        printf(" %zu rows differ (- expected but missing, + found but not expected):\n",
               best_diff);
        const char *miss[40], *extra[40];
        size_t nm = cm_rows_minus(&want, &seen, miss, 40), nx = cm_rows_minus(&seen, &want, extra, 40);
        for (size_t k = 0; k < nm && k < 40; k++) {
            printf("    - %s%s\n", miss[k],
                   strncmp(miss[k], "obj|", 4) == 0 ? "   LOST ACKNOWLEDGED OBJECT" : "");
            annotate(r, miss[k]);
        }
        for (size_t k = 0; k < nx && k < 40; k++) {
            printf("    + %s\n", extra[k]);
            annotate(r, extra[k]);
        }
        if (nm > 40 || nx > 40)
            printf("    ... (%zu missing, %zu unexpected in all)\n", nm, nx);
    }
    crash_model_free(&cand);
    cm_rows_free(&want);
    cm_rows_free(&seen);
    return rc;
}

int
cs_check_dir(cs_run *r, const char *when)
{
    r->checks++;
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s' check -D '%s' 2>&1", COWCAT_CLI_PATH, r->dir);
    FILE *f = popen(cmd, "r");
    if (f == NULL) {
        printf("FAIL: crash_server seed %llu iteration %d (%s): cannot run %s\n",
               (unsigned long long)r->seed, r->iteration, when, cmd);
        return -1;
    }
    char out[8192];
    size_t n = fread(out, 1, sizeof out - 1, f);
    out[n] = '\0';
    while (fgetc(f) != EOF) /* drain */
        ;
    int st = pclose(f);
    bool sanitizer = strstr(out, "Sanitizer") != NULL || strstr(out, "runtime error:") != NULL;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0 && !sanitizer && strstr(out, "check: ok") != NULL)
        return 0;
    printf("FAIL: crash_server seed %llu iteration %d (%s): `cowcat check -D %s` failed "
           "(status %d):\n%s\n",
           (unsigned long long)r->seed, r->iteration, when, r->dir,
           WIFEXITED(st) ? WEXITSTATUS(st) : -1, out);
    return -1;
}
