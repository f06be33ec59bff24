/* Review findings in the video modules: each test fails on the code before its fix. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include "video_probe.h"

#define VSTREAM "{\"codec_type\":\"video\",\"codec_name\":\"h264\",\"width\":640,\"height\":360," \
	"\"avg_frame_rate\":\"25/1\",\"r_frame_rate\":\"25/1\",\"duration\":\"3.000000\"}"

/* ffprobe reports an HLS playlist or an ffconcat list by the streams of the files it points at:
 * taking one would transcode files of this server (other videos' sources, any .mp4 on disk) */
Test(review_video_probe, playlists_and_file_lists_are_not_videos)
{
	static const char *formats[] = {"hls", "concat", "dash", "sdp"};
	for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
		char json[1024];
		snprintf(json, sizeof json, "{\"streams\":[" VSTREAM "],\"format\":{\"format_name\":\"%s\",\"duration\":\"3.0\"}}",
			 formats[i]);
		struct video_probe p;
		video_probe_parse(json, 3600, &p);
		cr_assert_not_null(p.reason, "format %s was accepted as a video", formats[i]);
	}
	/* an ordinary container still passes */
	struct video_probe p;
	video_probe_parse("{\"streams\":[" VSTREAM "],\"format\":{\"format_name\":\"mov,mp4,m4a,3gp,3g2,mj2\",\"duration\":\"3.0\"}}",
			  3600, &p);
	cr_assert_null(p.reason, "%s", p.reason);
}
