/* The Apache-side HLS check must give nginx secure_link's verdicts for the links video_sign.c makes. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "video_hls_check.h"
#include "video_sign.h"

#define SECRET "s3cret-0123456789"
#define VID "0123456789abcdef"

static const char *key_for(const char *vid, long expires, char *out, size_t n)
{
	char tok[VIDEO_SIGN_TOKEN_LEN + 1];
	cr_assert_eq(video_sign_token(SECRET, vid, expires, tok), 0);
	snprintf(out, n, "%s/%ld/%s", tok, expires, vid);
	return out;
}

Test(video_hls_check, signed_link_before_expiry_is_ok)
{
	char k[128];
	cr_assert_str_eq(video_hls_verdict(SECRET, key_for(VID, 2000, k, sizeof k), 1999), "ok");
	cr_assert_str_eq(video_hls_verdict(SECRET, key_for(VID, 2000, k, sizeof k), 2000), "ok");
}

Test(video_hls_check, signed_link_after_expiry_is_expired)
{
	char k[128];
	cr_assert_str_eq(video_hls_verdict(SECRET, key_for(VID, 2000, k, sizeof k), 2001), "expired");
}

Test(video_hls_check, made_up_or_altered_tokens_are_forged)
{
	char k[128];
	key_for(VID, 2000, k, sizeof k);
	k[0] = k[0] == 'A' ? 'B' : 'A';
	cr_assert_str_eq(video_hls_verdict(SECRET, k, 1000), "forged");
	cr_assert_str_eq(video_hls_verdict(SECRET, "AAAAAAAAAAAAAAAAAAAAAA/99999999999/" VID, 1000), "forged");
	/* a later expiry or another video with a genuine token */
	key_for(VID, 2000, k, sizeof k);
	char moved[128];
	snprintf(moved, sizeof moved, "%.22s/2001/" VID, k);
	cr_assert_str_eq(video_hls_verdict(SECRET, moved, 1000), "forged");
	snprintf(moved, sizeof moved, "%.22s/2000/0123456789abcdee", k);
	cr_assert_str_eq(video_hls_verdict(SECRET, moved, 1000), "forged");
	/* the same link under another secret */
	cr_assert_str_eq(video_hls_verdict("other-secret", k, 1000), "forged");
}

Test(video_hls_check, malformed_keys_and_missing_secret_are_forged)
{
	char k[128];
	key_for(VID, 2000, k, sizeof k);
	cr_assert_str_eq(video_hls_verdict(NULL, k, 1000), "forged");
	cr_assert_str_eq(video_hls_verdict("", k, 1000), "forged");
	const char *bad[] = {"", "/", "//", "short/1/" VID, "AAAAAAAAAAAAAAAAAAAAAA//" VID,
			     "AAAAAAAAAAAAAAAAAAAAAA/12x/" VID, "AAAAAAAAAAAAAAAAAAAAAA/1234567890123/" VID,
			     "AAAAAAAAAAAAAAAAAAAAAA/1/../../etc", "AAAAAAAAAAAAAAAAAAAAAA/1", NULL};
	for (int i = 0; bad[i]; i++) cr_assert_str_eq(video_hls_verdict(SECRET, bad[i], 0), "forged", "%s", bad[i]);
	cr_assert_str_eq(video_hls_verdict(SECRET, NULL, 0), "forged");
}
