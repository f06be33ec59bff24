/* Captions: SRT becomes WebVTT; files that are not text or have no cues are refused. */
#include <criterion/criterion.h>
#include <string.h>
#include "video_srt.h"

static char *conv(const char *in, const char **err)
{
	static buf b;
	buf_free(&b);
	memset(&b, 0, sizeof b);
	*err = NULL;
	if (video_caption_to_vtt(in, strlen(in), &b, err) < 0) return NULL;
	return b.p;
}

Test(video_srt, srt_cues_become_webvtt_with_dot_milliseconds)
{
	const char *err;
	char *v = conv("1\r\n00:00:01,000 --> 00:00:02,500\r\nこんにちは\r\n\r\n2\r\n00:00:03,000 --> 00:00:04,000\r\nHello\r\n", &err);
	cr_assert_not_null(v, "%s", err);
	cr_assert(!strncmp(v, "WEBVTT\n\n", 8));
	cr_assert(strstr(v, "00:00:01.000 --> 00:00:02.500\nこんにちは\n"));
	cr_assert(strstr(v, "00:00:03.000 --> 00:00:04.000\nHello\n"));
	cr_assert_null(strstr(v, "\r"));
	cr_assert_null(strstr(v, ","));
}

Test(video_srt, utf8_bom_is_dropped)
{
	const char *err;
	char *v = conv("\xEF\xBB\xBF" "1\n00:00:01,000 --> 00:00:02,000\nx\n", &err);
	cr_assert_not_null(v);
	cr_assert_null(strstr(v, "\xEF\xBB\xBF"));
}

Test(video_srt, webvtt_input_is_kept_with_its_cues)
{
	const char *err;
	char *v = conv("WEBVTT - title\n\n00:01.000 --> 00:02.000 align:start\nhi\n", &err);
	cr_assert_not_null(v);
	cr_assert(strstr(v, "00:00:01.000 --> 00:00:02.000 align:start\nhi\n"));
}

Test(video_srt, binary_or_invalid_utf8_is_not_text)
{
	const char *err;
	cr_assert_null(conv("1\n00:00:01,000 --> 00:00:02,000\n\xff\xfe\n", &err));
	cr_assert_str_eq(err, "video_caption_not_text");
	cr_assert_null(conv("\x01\x02\x03", &err));
	cr_assert_str_eq(err, "video_caption_not_text");
	cr_assert_null(conv("", &err));
}

Test(video_srt, text_without_cues_is_refused)
{
	const char *err;
	cr_assert_null(conv("just some words\n", &err));
	cr_assert_str_eq(err, "video_caption_no_cues");
	cr_assert_null(conv("1\n00:00:01,000 --> banana\nx\n", &err));
	cr_assert_str_eq(err, "video_caption_no_cues");
}

Test(video_srt, utf8_validator_rejects_overlongs_and_surrogates)
{
	cr_assert(video_utf8_valid("abc", 3));
	cr_assert(video_utf8_valid("日本", 6));
	cr_assert(!video_utf8_valid("\xC0\xAF", 2));
	cr_assert(!video_utf8_valid("\xED\xA0\x80", 3));
	cr_assert(!video_utf8_valid("a\0b", 3));
	cr_assert(!video_utf8_valid("\xE6\x97", 2));
}
