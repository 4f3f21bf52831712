/*
 * base/err.h — the error type every fallible cowcat function reports through.
 *
 * A fallible function returns a cc_code and takes `cc_err *err` as its last
 * parameter. The caller owns the cc_err (usually on its stack); NULL means "I
 * only want the code". The callee fills it on failure only, so one cc_err can
 * be passed down a call chain and the innermost failure wins.
 *
 * Codes come from one X-macro list, which also gives each code its name and the
 * PostgreSQL SQLSTATE it maps to by default. A layer that knows better (42P07
 * duplicate_table rather than 42710 duplicate_object) sets a specific SQLSTATE
 * with cc_err_set_state(); cc_err_sqlstate() returns whichever applies.
 */
#ifndef COWCAT_BASE_ERR_H
#define COWCAT_BASE_ERR_H

#include <stdarg.h>
#include <stddef.h>

/* X(name, sqlstate, description) */
#define CC_CODES(X)                                                                                \
    X(OK, "00000", "success")                                                                      \
    X(NOMEM, "53200", "out of memory")                                                             \
    X(INVALID, "22023", "invalid argument")                                                        \
    X(EXISTS, "42710", "object already exists")                                                    \
    X(NOT_FOUND, "42704", "object does not exist")                                                 \
    X(DEPENDENTS, "2BP01", "dependent objects still exist")                                        \
    X(LIMIT, "53400", "configuration limit exceeded")                                              \
    X(CONFLICT, "40001", "concurrent update")                                                      \
    X(UPPER_MISMATCH, "40001", "upper mismatch")                                                   \
    X(FENCED, "25006", "fenced by a newer writer")                                                 \
    X(CORRUPT, "XX001", "data corrupted")                                                          \
    X(IO, "58030", "I/O error")                                                                    \
    X(PROTO, "08P01", "protocol violation")                                                        \
    X(PARSE, "42601", "syntax error")                                                              \
    X(PERMISSION, "42501", "permission denied")                                                    \
    X(INTERNAL, "XX000", "internal error")

typedef enum cc_code {
#define CC_CODE_ENUM(name, state, desc) CC_##name,
    CC_CODES(CC_CODE_ENUM)
#undef CC_CODE_ENUM
        CC_CODE_COUNT
} cc_code;

#define CC_ERR_MSG_MAX 256

typedef struct cc_err {
    cc_code code;                /* CC_OK until a failure is recorded */
    char sqlstate[6];            /* specific SQLSTATE, or "" for the code's default */
    char msg[CC_ERR_MSG_MAX];    /* PostgreSQL-style message, NUL-terminated */
    char detail[4 * CC_ERR_MSG_MAX]; /* PostgreSQL's DETAIL (may have several lines), or "" */
    char hint[CC_ERR_MSG_MAX];   /* PostgreSQL's HINT, or "" */
} cc_err;

/* Resets err (may be NULL) to CC_OK with an empty message. */
void cc_err_clear(cc_err *err);

/*
 * Records a failure in err (may be NULL) and returns code, so a caller can write
 * `return cc_err_set(err, CC_NOMEM, "out of memory building %s", what);`.
 * The message is formatted printf-style and truncated to CC_ERR_MSG_MAX - 1.
 */
cc_code cc_err_set(cc_err *err, cc_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* As cc_err_set, with a specific five-character SQLSTATE (e.g. "42P07"). */
cc_code cc_err_set_state(cc_err *err, cc_code code, const char *sqlstate, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * Adds a DETAIL / HINT line to the failure err already records (err may be
 * NULL); cc_err_set clears both. Returns err's code.
 */
cc_code cc_err_detail(cc_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
cc_code cc_err_hint(cc_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* va_list form of cc_err_set_state; sqlstate may be NULL. */
cc_code cc_err_setv(cc_err *err, cc_code code, const char *sqlstate, const char *fmt, va_list ap);

/* The code's name, e.g. "NOT_FOUND"; "?" for an out-of-range value. */
const char *cc_code_name(cc_code code);

/* The code's default SQLSTATE, e.g. "42704". */
const char *cc_code_sqlstate(cc_code code);

/* The SQLSTATE err reports: its specific one if set, else its code's default. */
const char *cc_err_sqlstate(const cc_err *err);

#endif
