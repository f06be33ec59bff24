/* Login throttle arithmetic and the e-mail key (login_throttle.c): pure parts, no database. */
#include <criterion/criterion.h>
#include "login_throttle.h"

Test(login_throttle, the_key_is_trimmed_and_lower_cased)
{
	char out[64];
	login_normalize_email("  Admin@Example.JP \t\r\n", out, sizeof out);
	cr_assert_str_eq(out, "admin@example.jp");
	login_normalize_email("", out, sizeof out);
	cr_assert_str_eq(out, "");
	login_normalize_email(NULL, out, sizeof out);
	cr_assert_str_eq(out, "");
	/* non-ASCII bytes are left as they are (no locale games with UTF-8) */
	login_normalize_email("Ｓato@example.jp", out, sizeof out);
	cr_assert_str_eq(out, "Ｓato@example.jp");
}

Test(login_throttle, a_long_email_is_cut_to_the_buffer)
{
	char out[8];
	login_normalize_email("ABCDEFGHIJK", out, sizeof out);
	cr_assert_str_eq(out, "abcdefg");
}

Test(login_throttle, backoff_starts_at_the_limit_and_doubles_up_to_the_cap)
{
	cr_assert_eq(login_backoff_seconds(0, 5, 900), 0);
	cr_assert_eq(login_backoff_seconds(4, 5, 900), 0);
	cr_assert_eq(login_backoff_seconds(5, 5, 900), 1);
	cr_assert_eq(login_backoff_seconds(6, 5, 900), 2);
	cr_assert_eq(login_backoff_seconds(10, 5, 900), 32);
	cr_assert_eq(login_backoff_seconds(15, 5, 900), 900);
	cr_assert_eq(login_backoff_seconds(1000000, 5, 900), 900, "no overflow on a long attack");
}
