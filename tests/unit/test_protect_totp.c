/* TOTP: the RFC 6238 test vectors (SHA-1), base32 both ways, the ±1 step window, replay refusal, sealing. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include "arena.h"
#include "signin_code.h"
#include "totp.h"

static const unsigned char RFC_KEY[] = "12345678901234567890";

Test(totp, matches_the_rfc6238_sha1_vectors)
{
	static const struct { long long t; unsigned code; } v[] = {
		{59, 94287082}, {1111111109, 7081804}, {1111111111, 14050471},
		{1234567890, 89005924}, {2000000000, 69279037}, {20000000000LL, 65353130},
	};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
		cr_assert_eq(totp_hotp(RFC_KEY, 20, (uint64_t)(v[i].t / 30), 8), v[i].code, "t=%lld", v[i].t);
}

Test(totp, six_digit_codes_are_the_last_six_digits_of_the_rfc_vectors)
{
	cr_assert_eq(totp_hotp(RFC_KEY, 20, 1, 6), 287082);
	cr_assert_eq(totp_hotp(RFC_KEY, 20, 1234567890 / 30, 6), 5924);   /* printed with leading zeros: 005924 */
}

Test(totp, accepts_one_step_either_side_and_not_two)
{
	time_t now = 1234567890;
	long s = totp_step(now);
	char code[8];
	for (long d = -2; d <= 2; d++) {
		snprintf(code, sizeof code, "%06u", totp_hotp(RFC_KEY, 20, (uint64_t)(s + d), 6));
		long got = totp_match(RFC_KEY, 20, code, now, 0);
		if (d >= -1 && d <= 1) cr_assert_eq(got, s + d, "offset %ld", d);
		else cr_assert_eq(got, -1, "offset %ld accepted", d);
	}
}

Test(totp, refuses_a_code_whose_step_was_already_used)
{
	time_t now = 1111111111;
	long s = totp_step(now);
	char code[8];
	snprintf(code, sizeof code, "%06u", totp_hotp(RFC_KEY, 20, (uint64_t)s, 6));
	cr_assert_eq(totp_match(RFC_KEY, 20, code, now, s - 1), s);
	cr_assert_eq(totp_match(RFC_KEY, 20, code, now, s), -1, "replayed code accepted");
	cr_assert_eq(totp_match(RFC_KEY, 20, code, now + 30, s), -1, "replayed code accepted in the next step");
	/* the previous step's code is refused once a later step was used */
	snprintf(code, sizeof code, "%06u", totp_hotp(RFC_KEY, 20, (uint64_t)(s - 1), 6));
	cr_assert_eq(totp_match(RFC_KEY, 20, code, now, s), -1);
}

Test(totp, normalize_takes_six_digits_with_spaces_and_rejects_the_rest)
{
	char out[7];
	cr_assert_eq(totp_code_normalize("123 456", out), 0);
	cr_assert_str_eq(out, "123456");
	cr_assert_eq(totp_code_normalize("12345", out), -1);
	cr_assert_eq(totp_code_normalize("1234567", out), -1);
	cr_assert_eq(totp_code_normalize("12a456", out), -1);
	cr_assert_eq(totp_code_normalize("", out), -1);
	cr_assert_eq(totp_code_normalize(NULL, out), -1);
	cr_assert_eq(totp_match(RFC_KEY, 20, "abcdef", 59, 0), -1);
}

Test(base32, encodes_the_rfc4648_vectors_without_padding)
{
	char out[64];
	cr_assert_eq(base32_encode((const unsigned char *)"foobar", 6, out, sizeof out), 10);
	cr_assert_str_eq(out, "MZXW6YTBOI");
	cr_assert_eq(base32_encode((const unsigned char *)"f", 1, out, sizeof out), 2);
	cr_assert_str_eq(out, "MY");
	cr_assert_eq(base32_encode(RFC_KEY, 20, out, sizeof out), 32);
	cr_assert_str_eq(out, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
	cr_assert_eq(base32_encode(RFC_KEY, 20, out, 32), -1, "no room for the NUL");
}

Test(base32, decodes_any_case_with_spaces_and_padding_and_refuses_bad_characters)
{
	unsigned char out[32];
	cr_assert_eq(base32_decode("mzxw 6ytb oi======", out, sizeof out), 6);
	cr_assert_eq(memcmp(out, "foobar", 6), 0);
	cr_assert_eq(base32_decode("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", out, sizeof out), 20);
	cr_assert_eq(memcmp(out, RFC_KEY, 20), 0);
	cr_assert_eq(base32_decode("MZXW1", out, sizeof out), -1, "1 is not base32");
	cr_assert_eq(base32_decode("MY=A", out, sizeof out), -1, "data after padding");
	cr_assert_eq(base32_decode("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", out, 4), -1, "overflow");
}

Test(totp, sealed_secrets_open_only_with_the_same_key_and_account)
{
	char sealed[TOTP_SEALED_MAX], again[TOTP_SEALED_MAX];
	unsigned char out[TOTP_SECRET_LEN];
	const char *key = "0123456789abcdef0123456789abcdef-test";
	cr_assert_eq(totp_seal(key, 7, RFC_KEY, 20, sealed, sizeof sealed), 0);
	cr_assert_null(strstr(sealed, "3132333435"), "the plain secret shows in the sealed text");
	cr_assert_eq(totp_seal(key, 7, RFC_KEY, 20, again, sizeof again), 0);
	cr_assert_str_neq(sealed, again, "the nonce must differ each time");
	cr_assert_eq(totp_open(key, 7, sealed, out, sizeof out), 20);
	cr_assert_eq(memcmp(out, RFC_KEY, 20), 0);
	cr_assert_eq(totp_open(key, 8, sealed, out, sizeof out), -1, "opened for another account");
	cr_assert_eq(totp_open("another-deployment-secret-0123456789", 7, sealed, out, sizeof out), -1);
	sealed[30] = sealed[30] == 'a' ? 'b' : 'a';
	cr_assert_eq(totp_open(key, 7, sealed, out, sizeof out), -1, "altered text opened");
	cr_assert_eq(totp_open(key, 7, "zz", out, sizeof out), -1);
}

Test(totp, the_otpauth_uri_fits_a_qr_code)
{
	arena *a = arena_new(0);
	char *svg = signin_qr_svg(a, "otpauth://totp/R-Stream:admin%40example.jp?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
				  "&issuer=R-Stream&algorithm=SHA1&digits=6&period=30", "QR");
	cr_assert_not_null(svg);
	cr_assert(strncmp(svg, "<svg", 4) == 0);
	cr_assert_not_null(strstr(svg, "<path"));
	arena_free(a);
}
