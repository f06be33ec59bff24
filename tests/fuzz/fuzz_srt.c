/* libFuzzer harness: the caption converter (video_srt.c): SRT to WebVTT, WebVTT checked; the output of a
 * successful conversion must itself be accepted (idempotence) and be valid UTF-8. */
#include <stdint.h>
#include <string.h>
#include "video_srt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	buf out = {0}, again = {0};
	const char *err = NULL;
	video_utf8_valid((const char *)data, size);
	if (video_caption_to_vtt((const char *)data, size, &out, &err) == 0) {
		if (!out.p || !video_utf8_valid(out.p, out.len)) __builtin_trap();
		if (video_caption_to_vtt(out.p, out.len, &again, &err) != 0) __builtin_trap();
	} else if (!err) {
		__builtin_trap();   /* a refusal always names its reason */
	}
	buf_free(&out);
	buf_free(&again);
	return 0;
}
