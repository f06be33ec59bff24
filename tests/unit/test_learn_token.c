/* Playback session ids: what one issues, the other accepts; a changed byte, another key or age is refused. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include "learn_token.h"

static const char *key = "unit-test-secret-0123456789abcdef0123";

static void issue(char out[LEARN_TOKEN_MAX], long iat)
{
	struct learn_pb p = {.uid = 42, .vpk = 7, .dur_ms = 120000, .iat = iat};
	memcpy(p.vid, "0123456789abcdef", 17);
	cr_assert_eq(learn_token_make(key, &p, out, LEARN_TOKEN_MAX), 0);
	cr_assert_eq(strlen(p.sid), 16);
}

Test(learn_token, round_trips)
{
	char t[LEARN_TOKEN_MAX];
	issue(t, 1000000);
	struct learn_pb p;
	cr_assert_eq(learn_token_parse(key, t, 1000100, 3600, &p), 0);
	cr_assert_eq(p.uid, 42);
	cr_assert_eq(p.vpk, 7);
	cr_assert_eq(p.dur_ms, 120000);
	cr_assert_str_eq(p.vid, "0123456789abcdef");
}

Test(learn_token, refuses_a_forged_or_altered_token)
{
	char t[LEARN_TOKEN_MAX], u[LEARN_TOKEN_MAX];
	issue(t, 1000000);
	struct learn_pb p;
	cr_assert_eq(learn_token_parse("another-secret-0123456789abcdef01234", t, 1000100, 3600, &p), -1);
	/* another user id, same MAC */
	strcpy(u, t);
	u[0] = '4'; u[1] = '3';
	cr_assert_eq(learn_token_parse(key, u, 1000100, 3600, &p), -1);
	/* a leading zero keeps the number but not the signed text */
	snprintf(u, sizeof u, "0%s", t);
	cr_assert_eq(learn_token_parse(key, u, 1000100, 3600, &p), -1);
	cr_assert_eq(learn_token_parse(key, "", 1000100, 3600, &p), -1);
	cr_assert_eq(learn_token_parse(key, NULL, 1000100, 3600, &p), -1);
	cr_assert_eq(learn_token_parse(key, "1.2.3.4.5.6.7", 1000100, 3600, &p), -1);
	strcpy(u, t);
	strcat(u, ".x");
	cr_assert_eq(learn_token_parse(key, u, 1000100, 3600, &p), -1);
}

Test(learn_token, refuses_an_expired_token)
{
	char t[LEARN_TOKEN_MAX];
	issue(t, 1000000);
	struct learn_pb p;
	cr_assert_eq(learn_token_parse(key, t, 1000000 + 3601, 3600, &p), -2);
}
