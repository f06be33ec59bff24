/* Signed HLS URLs must match what nginx secure_link_md5 "$expires/$videoId <secret>" computes. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include "video_sign.h"

Test(video_sign, token_matches_base64url_md5_without_padding)
{
	/* echo -n '2000000000/0123456789abcdef s3cret' | openssl md5 -binary | base64 | tr +/ -_ | tr -d = */
	char tok[VIDEO_SIGN_TOKEN_LEN + 1];
	cr_assert_eq(video_sign_token("s3cret", "0123456789abcdef", 2000000000L, tok), 0);
	FILE *p = popen("printf '%s' '2000000000/0123456789abcdef s3cret' | openssl md5 -binary | base64 | tr '+/' '-_' | tr -d '=\\n'", "r");
	cr_assert_not_null(p);
	char want[64] = {0};
	cr_assert_not_null(fgets(want, sizeof want, p));
	pclose(p);
	cr_assert_str_eq(tok, want);
	cr_assert_eq(strlen(tok), 22);
}

Test(video_sign, url_has_token_expiry_id_and_file)
{
	char url[256], tok[VIDEO_SIGN_TOKEN_LEN + 1];
	cr_assert_eq(video_sign_url("k", "00000000000000ff", "master.m3u8", 1234, url, sizeof url), 0);
	video_sign_token("k", "00000000000000ff", 1234, tok);
	char want[256];
	snprintf(want, sizeof want, "/hls/%s/1234/00000000000000ff/master.m3u8", tok);
	cr_assert_str_eq(url, want);
}

Test(video_sign, different_secret_or_expiry_gives_a_different_token)
{
	char a[23], b[23], c[23];
	video_sign_token("one", "0123456789abcdef", 100, a);
	video_sign_token("two", "0123456789abcdef", 100, b);
	video_sign_token("one", "0123456789abcdef", 101, c);
	cr_assert_str_neq(a, b);
	cr_assert_str_neq(a, c);
}

Test(video_sign, refuses_bad_ids_files_and_missing_secret)
{
	char url[256];
	cr_assert_eq(video_sign_url("k", "../etc/passwd0000", "master.m3u8", 1, url, sizeof url), -1);
	cr_assert_eq(video_sign_url("k", "0123456789ABCDEF", "master.m3u8", 1, url, sizeof url), -1);
	cr_assert_eq(video_sign_url("k", "0123456789abcdef", "../x", 1, url, sizeof url), -1);
	cr_assert_eq(video_sign_url("k", "0123456789abcdef", "/abs", 1, url, sizeof url), -1);
	cr_assert_eq(video_sign_url("k", "0123456789abcdef", "a b", 1, url, sizeof url), -1);
	cr_assert_eq(video_sign_url(NULL, "0123456789abcdef", "master.m3u8", 1, url, sizeof url), -1);
	cr_assert_eq(video_sign_url("", "0123456789abcdef", "master.m3u8", 1, url, sizeof url), -1);
	cr_assert_eq(video_sign_url("k", "0123456789abcdef", "master.m3u8", 1, url, 10), -1);
}
