/* Caption files: WebVTT passed through after checks, SubRip (SRT) converted to WebVTT. Pure, unit-tested. */
#ifndef RS_VIDEO_SRT_H
#define RS_VIDEO_SRT_H
#include <stddef.h>
#include "arena.h"

#define VIDEO_CAPTION_MAX (2 * 1024 * 1024)

/* 1 if s[0..n) is valid UTF-8 without NUL bytes. */
int video_utf8_valid(const char *s, size_t n);
/* Convert (or check) a caption file into WebVTT. 0 ok, -1 with err set to a message key
 * (video_caption_not_text, video_caption_no_cues, video_caption_too_large). */
int video_caption_to_vtt(const char *in, size_t n, buf *out, const char **err);
#endif
