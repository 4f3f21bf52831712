/*
 * base/err.c — cc_err formatting and the code tables generated from CC_CODES.
 */
#include "base/err.h"

#include <stdio.h>
#include <string.h>

static const char *const code_names[] = {
#define CC_CODE_NAME(name, state, desc) #name,
    CC_CODES(CC_CODE_NAME)
#undef CC_CODE_NAME
};

static const char *const code_states[] = {
#define CC_CODE_STATE(name, state, desc) state,
    CC_CODES(CC_CODE_STATE)
#undef CC_CODE_STATE
};

void
cc_err_clear(cc_err *err)
{
    if (err == NULL)
        return;
    err->code = CC_OK;
    err->sqlstate[0] = '\0';
    err->msg[0] = '\0';
    err->detail[0] = '\0';
    err->hint[0] = '\0';
}

cc_code
cc_err_setv(cc_err *err, cc_code code, const char *sqlstate, const char *fmt, va_list ap)
{
    if (err == NULL)
        return code;
    err->code = code;
    err->sqlstate[0] = '\0';
    if (sqlstate != NULL && strlen(sqlstate) == 5)
        memcpy(err->sqlstate, sqlstate, 6);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    err->detail[0] = '\0';
    err->hint[0] = '\0';
    return code;
}

cc_code
cc_err_detail(cc_err *err, const char *fmt, ...)
{
    if (err == NULL)
        return CC_OK;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->detail, sizeof err->detail, fmt, ap);
    va_end(ap);
    return err->code;
}

cc_code
cc_err_hint(cc_err *err, const char *fmt, ...)
{
    if (err == NULL)
        return CC_OK;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->hint, sizeof err->hint, fmt, ap);
    va_end(ap);
    return err->code;
}

cc_code
cc_err_set(cc_err *err, cc_code code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cc_err_setv(err, code, NULL, fmt, ap);
    va_end(ap);
    return code;
}

cc_code
cc_err_set_state(cc_err *err, cc_code code, const char *sqlstate, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cc_err_setv(err, code, sqlstate, fmt, ap);
    va_end(ap);
    return code;
}

const char *
cc_code_name(cc_code code)
{
    if ((unsigned)code >= CC_CODE_COUNT)
        return "?";
    return code_names[code];
}

const char *
cc_code_sqlstate(cc_code code)
{
    if ((unsigned)code >= CC_CODE_COUNT)
        return "XX000";
    return code_states[code];
}

const char *
cc_err_sqlstate(const cc_err *err)
{
    if (err->sqlstate[0] != '\0')
        return err->sqlstate;
    return cc_code_sqlstate(err->code);
}
