/* Login-card codes: format, reading what a pupil typed, keyed hashing, QR pictures. */
#include <criterion/criterion.h>
#include <string.h>
#include "arena.h"
#include "signin_code.h"

Test(signin_code, new_codes_are_two_groups_of_four_from_the_unambiguous_alphabet)
{
	char a[10], b[10], canon[9];
	cr_assert_eq(signin_code_new(a), 0);
	cr_assert_eq(signin_code_new(b), 0);
	cr_assert_eq(strlen(a), 9);
	cr_assert_eq(a[4], '-');
	cr_assert_str_neq(a, b);
	cr_assert_eq(signin_code_normalize(a, canon), 0);
	for (const char *c = canon; *c; c++) cr_assert(!strchr("01IO", *c), "look-alike %c in %s", *c, a);
}

Test(signin_code, normalize_ignores_case_spaces_and_hyphens_and_rejects_the_rest)
{
	char out[9];
	cr_assert_eq(signin_code_normalize("k7mp 3qxa", out), 0);
	cr_assert_str_eq(out, "K7MP3QXA");
	cr_assert_eq(signin_code_normalize("K7MP-3QXA", out), 0);
	cr_assert_str_eq(out, "K7MP3QXA");
	cr_assert_eq(signin_code_normalize("K7MP-3QX", out), -1, "too short");
	cr_assert_eq(signin_code_normalize("K7MP-3QXAB", out), -1, "too long");
	cr_assert_eq(signin_code_normalize("K0MP-3QXA", out), -1, "0 is not in the alphabet");
	cr_assert_eq(signin_code_normalize("K7MP'3QXA", out), -1);
	cr_assert_eq(signin_code_normalize(NULL, out), -1);
}

Test(signin_code, hashes_depend_on_the_secret_and_the_purpose)
{
	char a[65], b[65], c[65];
	signin_hash("secret-one", "logincode", "K7MP3QXA", a);
	signin_hash("secret-two", "logincode", "K7MP3QXA", b);
	signin_hash("secret-one", "reset", "K7MP3QXA", c);
	cr_assert_eq(strlen(a), 64);
	cr_assert_str_neq(a, b);
	cr_assert_str_neq(a, c);
	cr_assert_null(strstr(a, "K7MP"));
}

Test(signin_code, qr_is_an_svg_with_a_quiet_zone_and_a_plain_label)
{
	arena *ar = arena_new(4096);
	char *svg = signin_qr_svg(ar, "http://127.0.0.1:8080/login/code#K7MP3QXA", "QR <\"x\">");
	cr_assert_not_null(svg);
	cr_assert(!strncmp(svg, "<svg", 4));
	cr_assert(strstr(svg, "viewBox=\"0 0 "));
	cr_assert(strstr(svg, "aria-label=\"QR x\""), "label stripped of markup: %.200s", svg);
	cr_assert(strstr(svg, "M4 4h7"), "the finder pattern starts after the 4-module quiet zone");
	arena_free(ar);
}
