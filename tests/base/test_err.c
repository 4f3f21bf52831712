/*
 * tests/base/test_err.c — cc_err formatting, code names and SQLSTATEs.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "base/err.h"

Test(cc_err, set_records_code_and_formatted_message)
{
    cc_err err;
    cc_err_clear(&err);
    cc_code rc = cc_err_set(&err, CC_NOT_FOUND, "relation \"%s\" does not exist", "public.t");
    cr_assert_eq(rc, CC_NOT_FOUND);
    cr_assert_eq(err.code, CC_NOT_FOUND);
    cr_assert_str_eq(err.msg, "relation \"public.t\" does not exist");
    cr_assert_str_eq(cc_err_sqlstate(&err), "42704");
}

Test(cc_err, specific_sqlstate_overrides_the_code_default)
{
    cc_err err;
    cc_err_set_state(&err, CC_EXISTS, "42P07", "relation \"%s\" already exists", "t");
    cr_assert_str_eq(cc_err_sqlstate(&err), "42P07");
    cc_err_set(&err, CC_EXISTS, "role \"r\" already exists");
    cr_assert_str_eq(cc_err_sqlstate(&err), "42710", "a plain set must clear an earlier override");
}

Test(cc_err, malformed_sqlstate_is_ignored)
{
    cc_err err;
    cc_err_set_state(&err, CC_LIMIT, "123", "too many");
    cr_assert_str_eq(cc_err_sqlstate(&err), "53400");
}

Test(cc_err, null_err_still_returns_the_code)
{
    cr_assert_eq(cc_err_set(NULL, CC_IO, "disk on fire"), CC_IO);
}

Test(cc_err, long_messages_are_truncated_and_terminated)
{
    cc_err err;
    char big[1000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    cc_err_set(&err, CC_INVALID, "%s", big);
    cr_assert_eq(strlen(err.msg), CC_ERR_MSG_MAX - 1);
}

Test(cc_err, every_code_has_a_name_and_a_five_character_sqlstate)
{
    for (int c = 0; c < CC_CODE_COUNT; c++) {
        cr_assert_neq(strcmp(cc_code_name((cc_code)c), "?"), 0);
        cr_assert_eq(strlen(cc_code_sqlstate((cc_code)c)), 5, "code %d", c);
    }
    cr_assert_str_eq(cc_code_name(CC_DEPENDENTS), "DEPENDENTS");
    cr_assert_str_eq(cc_code_sqlstate(CC_DEPENDENTS), "2BP01");
    cr_assert_str_eq(cc_code_sqlstate(CC_NOMEM), "53200");
    cr_assert_str_eq(cc_code_name((cc_code)999), "?");
}

Test(cc_err, clear_resets_to_ok)
{
    cc_err err;
    cc_err_set_state(&err, CC_IO, "58030", "boom");
    cc_err_clear(&err);
    cr_assert_eq(err.code, CC_OK);
    cr_assert_str_eq(err.msg, "");
    cr_assert_str_eq(cc_err_sqlstate(&err), "00000");
}
