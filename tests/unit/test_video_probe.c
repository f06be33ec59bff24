/* ffprobe verdicts from JSON: what counts as a video, and the reason given when it is not. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "video_probe.h"

#define FMT(name, dur) "\"format\":{\"format_name\":\"" name "\",\"duration\":\"" dur "\",\"bit_rate\":\"800000\"}"
#define VSTREAM(extra) "{\"codec_type\":\"video\",\"codec_name\":\"h264\",\"width\":1920,\"height\":1080," \
	"\"sample_aspect_ratio\":\"1:1\",\"avg_frame_rate\":\"30000/1001\",\"r_frame_rate\":\"30000/1001\"" extra "}"
#define ASTREAM "{\"codec_type\":\"audio\",\"codec_name\":\"aac\"}"

Test(video_probe, a_normal_video_is_accepted_with_its_geometry)
{
	struct video_probe p;
	video_probe_parse("{\"streams\":[" VSTREAM("") "," ASTREAM "]," FMT("mov,mp4,m4a,3gp,3g2,mj2", "12.5") "}", 3600, &p);
	cr_assert_null(p.reason, "%s", p.reason);
	cr_assert_eq(p.width, 1920);
	cr_assert_eq(p.height, 1080);
	cr_assert_float_eq(p.fps, 29.97, 0.01);
	cr_assert_float_eq(p.duration, 12.5, 0.001);
	cr_assert(p.has_audio);
	cr_assert_str_eq(p.vcodec, "h264");
}

Test(video_probe, rotation_comes_from_the_display_matrix)
{
	struct video_probe p;
	video_probe_parse("{\"streams\":[" VSTREAM(",\"side_data_list\":[{\"side_data_type\":\"Display Matrix\",\"rotation\":-90}]")
			  "]," FMT("mov,mp4,m4a,3gp,3g2,mj2", "3") "}", 0, &p);
	cr_assert_null(p.reason);
	cr_assert_eq(p.rotation, 90);
	cr_assert_not(p.has_audio);
}

Test(video_probe, audio_only_is_rejected)
{
	struct video_probe p;
	video_probe_parse("{\"streams\":[" ASTREAM "]," FMT("mp3", "3") "}", 0, &p);
	cr_assert_str_eq(p.reason, "video_reject_audio_only");
}

Test(video_probe, cover_art_is_not_a_video)
{
	struct video_probe p;
	video_probe_parse("{\"streams\":[" ASTREAM ",{\"codec_type\":\"video\",\"codec_name\":\"mjpeg\",\"width\":500,"
			  "\"height\":500,\"disposition\":{\"attached_pic\":1}}]," FMT("mp3", "3") "}", 0, &p);
	cr_assert_str_eq(p.reason, "video_reject_cover_art");
}

Test(video_probe, a_still_image_is_not_a_video)
{
	struct video_probe p;
	video_probe_parse("{\"streams\":[{\"codec_type\":\"video\",\"codec_name\":\"png\",\"width\":64,\"height\":64}],"
			  FMT("png_pipe", "0.04") "}", 0, &p);
	cr_assert_str_eq(p.reason, "video_reject_no_video");
}

Test(video_probe, too_long_is_rejected)
{
	struct video_probe p;
	video_probe_parse("{\"streams\":[" VSTREAM("") "]," FMT("matroska,webm", "7200") "}", 3600, &p);
	cr_assert_str_eq(p.reason, "video_reject_too_long");
}

Test(video_probe, garbage_or_missing_fields_are_unreadable)
{
	struct video_probe p;
	video_probe_parse("not json", 0, &p);
	cr_assert_str_eq(p.reason, "video_reject_unreadable");
	video_probe_parse("{\"streams\":[]}", 0, &p);
	cr_assert_str_eq(p.reason, "video_reject_unreadable");
	video_probe_parse("{\"streams\":[{\"codec_type\":\"video\",\"width\":0,\"height\":0}]," FMT("mpegts", "3") "}", 0, &p);
	cr_assert_str_eq(p.reason, "video_reject_unreadable");
	video_probe_parse(NULL, 0, &p);
	cr_assert_str_eq(p.reason, "video_reject_unreadable");
}

Test(video_probe, runs_ffprobe_on_a_missing_or_empty_file_without_crashing)
{
	struct video_probe p;
	cr_assert_eq(video_probe_file("/nonexistent/file.mp4", 0, &p), 0);
	cr_assert_str_eq(p.reason, "video_reject_unreadable");
	char tmpl[] = "/tmp/rs-probe-XXXXXX";
	int fd = mkstemp(tmpl);
	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_eq(video_probe_file(tmpl, 0, &p), 0);
	cr_assert_str_eq(p.reason, "video_reject_empty");
	unlink(tmpl);
}

Test(video_probe, no_streams_at_all_is_unreadable_not_no_video)
{
	struct video_probe p;
	video_probe_parse("{\"streams\":[]," FMT("mov,mp4,m4a,3gp,3g2,mj2", "0") "}", 0, &p);
	cr_assert_str_eq(p.reason, "video_reject_unreadable");
	video_probe_parse("{\"streams\":[{\"index\":0,\"codec_type\":\"data\"}]," FMT("mov,mp4,m4a,3gp,3g2,mj2", "7") "}", 0, &p);
	cr_assert_str_eq(p.reason, "video_reject_unreadable", "a header cut short leaves a stream without a codec");
}

Test(video_probe, default_audio_leads_and_languages_become_bcp47)
{
	struct video_probe p;
	video_probe_parse("{\"streams\":[" VSTREAM(",\"duration\":\"10.0\"")
			  ",{\"codec_type\":\"audio\",\"codec_name\":\"aac\",\"duration\":\"30.0\",\"tags\":{\"language\":\"eng\"},\"disposition\":{\"default\":0}}"
			  ",{\"codec_type\":\"audio\",\"codec_name\":\"aac\",\"tags\":{\"language\":\"jpn\",\"DURATION\":\"00:00:30.500000000\"},\"disposition\":{\"default\":1}}"
			  ",{\"codec_type\":\"audio\",\"codec_name\":\"aac\",\"tags\":{\"language\":\"x;y\"}}"
			  "]," FMT("mov,mp4,m4a,3gp,3g2,mj2", "30.5") "}", 0, &p);
	cr_assert_null(p.reason, "%s", p.reason);
	cr_assert_eq(p.naudio, 3);
	cr_assert_eq(p.audio[0].index, 2, "the default track first");
	cr_assert_str_eq(p.audio[0].lang, "ja");
	cr_assert_float_eq(p.audio[0].duration, 30.5, 1e-6, "Matroska DURATION tag");
	cr_assert_str_eq(p.audio[1].lang, "en");
	cr_assert_str_eq(p.audio[2].lang, "", "a language that is not a tag is dropped");
	cr_assert_float_eq(p.video.duration, 10.0, 1e-6, "the picture's own duration");
	cr_assert_eq(p.video.index, 0);
}
