/* Ladder rules: rungs by the short side, never upscaled, even sizes, rotation and SAR honoured,
 * and one ffmpeg command that builds every rung. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include "video_ladder.h"

static struct video_src src(int w, int h)
{
	struct video_src s = {.width = w, .height = h, .fps = 30, .duration = 20, .has_audio = 1};
	return s;
}

static int argv_has(char **v, const char *s)
{
	for (; *v; v++) if (!strcmp(*v, s)) return 1;
	return 0;
}

static const char *argv_after(char **v, const char *s)
{
	for (; *v; v++) if (!strcmp(*v, s) && v[1]) return v[1];
	return NULL;
}

Test(video_ladder, full_hd_source_gets_four_rungs_from_1080p_down)
{
	struct video_src s = src(1920, 1080);
	struct video_rung r[VIDEO_MAX_RUNGS];
	cr_assert_eq(video_ladder_rungs(&s, r), 4);
	cr_assert_str_eq(r[0].name, "1080p");
	cr_assert_eq(r[0].width, 1920); cr_assert_eq(r[0].height, 1080);
	cr_assert_eq(r[1].width, 1280); cr_assert_eq(r[1].height, 720);
	cr_assert_eq(r[2].width, 854);  cr_assert_eq(r[2].height, 480);
	cr_assert_eq(r[3].width, 640);  cr_assert_eq(r[3].height, 360);
}

Test(video_ladder, never_upscales_a_720p_source)
{
	struct video_src s = src(1280, 720);
	struct video_rung r[VIDEO_MAX_RUNGS];
	cr_assert_eq(video_ladder_rungs(&s, r), 3);
	cr_assert_str_eq(r[0].name, "720p");
	for (int i = 0; i < 3; i++) cr_assert_leq(r[i].height, 720);
}

Test(video_ladder, small_source_gets_one_rung_at_its_own_even_size)
{
	struct video_src s = src(321, 241);
	struct video_rung r[VIDEO_MAX_RUNGS];
	cr_assert_eq(video_ladder_rungs(&s, r), 1);
	cr_assert_eq(r[0].width % 2, 0);
	cr_assert_eq(r[0].height % 2, 0);
	cr_assert_leq(r[0].width, 322);
	cr_assert_leq(r[0].height, 242);
}

Test(video_ladder, portrait_source_uses_the_short_side_for_rung_names)
{
	struct video_src s = src(1080, 1920);
	struct video_rung r[VIDEO_MAX_RUNGS];
	cr_assert_eq(video_ladder_rungs(&s, r), 4);
	cr_assert_str_eq(r[1].name, "720p");
	cr_assert_eq(r[1].width, 720);
	cr_assert_eq(r[1].height, 1280);
}

Test(video_ladder, rotated_phone_video_is_laid_out_in_display_orientation)
{
	struct video_src s = src(1920, 1080);
	s.rotation = 90;
	struct video_rung r[VIDEO_MAX_RUNGS];
	cr_assert_eq(video_ladder_rungs(&s, r), 4);
	cr_assert_lt(r[0].width, r[0].height);
	cr_assert_eq(r[0].width, 1080);
	s.rotation = -90;
	cr_assert_eq(video_ladder_rungs(&s, r), 4);
	cr_assert_lt(r[0].width, r[0].height);
}

Test(video_ladder, anamorphic_sar_is_applied_to_the_width)
{
	struct video_src s = src(720, 576);
	s.sar_num = 16; s.sar_den = 11;   /* PAL 16:9 */
	int w, h;
	cr_assert_eq(video_display_size(&s, &w, &h), 0);
	cr_assert_eq(w, 1048);
	cr_assert_eq(h, 576);
	struct video_rung r[VIDEO_MAX_RUNGS];
	cr_assert_eq(video_ladder_rungs(&s, r), 2);
	cr_assert_eq(r[0].height, 480);
	cr_assert_eq(r[0].width % 2, 0);
}

Test(video_ladder, unusable_sizes_are_refused)
{
	struct video_src s = src(0, 1080);
	struct video_rung r[VIDEO_MAX_RUNGS];
	cr_assert_eq(video_ladder_rungs(&s, r), -1);
	s = src(100000, 10);
	cr_assert_eq(video_ladder_rungs(&s, r), -1);
}

Test(video_ladder, argv_is_one_pass_with_split_and_aligned_keyframes)
{
	arena *a = arena_new(0);
	struct video_src s = src(1920, 1080);
	struct video_rung r[VIDEO_MAX_RUNGS];
	int n = video_ladder_rungs(&s, r);
	struct video_storyboard sb;
	video_storyboard_plan(&s, &sb);
	struct video_ladder_opts o = {.input = "/in.mp4", .outdir = "/out", .seg_seconds = 6, .preset = "ultrafast",
				      .progress_fd = 3};
	char **v = video_ladder_argv(a, &s, r, n, &sb, &o);
	cr_assert_not_null(v);
	cr_assert_str_eq(v[0], "ffmpeg");
	int inputs = 0;
	for (char **p = v; *p; p++) if (!strcmp(*p, "-i")) inputs++;
	cr_assert_eq(inputs, 1, "one decode");
	cr_assert(strstr(argv_after(v, "-filter_complex"), "split=6"));
	cr_assert_str_eq(argv_after(v, "-progress"), "pipe:3");
	cr_assert_str_eq(argv_after(v, "-g"), "60");
	cr_assert_str_eq(argv_after(v, "-sc_threshold"), "0");
	cr_assert_str_eq(argv_after(v, "-force_key_frames"), "expr:gte(t,n_forced*2)");
	cr_assert_str_eq(argv_after(v, "-hls_segment_type"), "fmp4");
	cr_assert_str_eq(argv_after(v, "-hls_time"), "6");
	cr_assert_str_eq(argv_after(v, "-master_pl_name"), "master.m3u8");
	cr_assert_str_eq(argv_after(v, "-preset"), "ultrafast");
	cr_assert_str_eq(argv_after(v, "-ac"), "2");
	cr_assert_str_eq(argv_after(v, "-var_stream_map"),
			 "v:0,a:0,name:1080p v:1,a:1,name:720p v:2,a:2,name:480p v:3,a:3,name:360p");
	cr_assert(argv_has(v, "/out/poster.jpg"));
	cr_assert(argv_has(v, "/out/storyboard.jpg"));
	arena_free(a);
}

Test(video_ladder, argv_without_audio_maps_no_audio)
{
	arena *a = arena_new(0);
	struct video_src s = src(640, 360);
	s.has_audio = 0;
	struct video_rung r[VIDEO_MAX_RUNGS];
	int n = video_ladder_rungs(&s, r);
	struct video_storyboard sb;
	video_storyboard_plan(&s, &sb);
	struct video_ladder_opts o = {.input = "/in.mp4", .outdir = "/out", .seg_seconds = 4};
	char **v = video_ladder_argv(a, &s, r, n, &sb, &o);
	cr_assert_not_null(v);
	cr_assert(!argv_has(v, "0:a:0"));
	cr_assert(!argv_has(v, "-c:a"));
	cr_assert_str_eq(argv_after(v, "-var_stream_map"), "v:0,name:360p");
	arena_free(a);
}

Test(video_ladder, storyboard_vtt_points_into_the_sprite)
{
	struct video_src s = src(640, 360);
	s.duration = 5;
	struct video_storyboard sb;
	video_storyboard_plan(&s, &sb);
	cr_assert_eq(sb.count, 3);
	cr_assert_eq(sb.thumb_w, 160);
	cr_assert_eq(sb.thumb_h, 90);
	buf b = {0};
	video_storyboard_vtt(&sb, 5, "storyboard.jpg", &b);
	cr_assert(!strncmp(b.p, "WEBVTT\n", 7));
	cr_assert(strstr(b.p, "00:00:02.000 --> 00:00:04.000\nstoryboard.jpg#xywh=160,0,160,90\n"));
	cr_assert(strstr(b.p, "00:00:04.000 --> 00:00:05.000\n"));
	buf_free(&b);
}

Test(video_ladder, master_fix_adds_missing_codecs_and_keeps_good_lines)
{
	arena *a = arena_new(0);
	const char *m = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1000,RESOLUTION=640x360\n360p/index.m3u8\n";
	char *f = video_master_fix(a, m, 1);
	cr_assert_not_null(f);
	cr_assert(strstr(f, "RESOLUTION=640x360,CODECS=\"avc1.640028,mp4a.40.2\"\n360p/index.m3u8"));
	const char *ok = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1,RESOLUTION=2x2,CODECS=\"avc1.42c01e\"\na/index.m3u8\n";
	cr_assert_str_eq(video_master_fix(a, ok, 0), ok);
	cr_assert_null(video_master_fix(a, "#EXTM3U\n", 1));
	cr_assert_null(video_master_fix(a, "#EXTM3U\n#EXT-X-STREAM-INF:RESOLUTION=2x2\na\n", 1));
	arena_free(a);
}

Test(video_ladder, ladder_only_argv_has_no_image_outputs)
{
	arena *a = arena_new(0);
	struct video_src s = src(1280, 720);
	struct video_rung r[VIDEO_MAX_RUNGS];
	int n = video_ladder_rungs(&s, r);
	struct video_storyboard sb;
	video_storyboard_plan(&s, &sb);
	struct video_ladder_opts o = {.input = "/in.mp4", .outdir = "/out", .seg_seconds = 6, .no_images = 1};
	char **v = video_ladder_argv(a, &s, r, 1, &sb, &o);
	cr_assert_not_null(v);
	cr_assert(n >= 1);
	cr_assert(!argv_has(v, "/out/poster.jpg"));
	cr_assert(strstr(argv_after(v, "-filter_complex"), "split=1"));
	arena_free(a);
}

Test(video_ladder, frame_rate_is_capped_by_whole_divisions)
{
	struct video_src s = src(3840, 2160);
	s.fps = 60;
	s.max_fps = 30;
	cr_assert_float_eq(video_out_fps(&s), 30, 1e-9);
	s.fps = 50;
	cr_assert_float_eq(video_out_fps(&s), 25, 1e-9);
	s.fps = 60000.0 / 1001;
	cr_assert_float_eq(video_out_fps(&s), 30000.0 / 1001, 1e-9);
	s.max_fps = 0;
	cr_assert_float_eq(video_out_fps(&s), 60000.0 / 1001, 1e-9, "no cap configured");
	arena *a = arena_new(0);
	struct video_rung r[VIDEO_MAX_RUNGS];
	int n = video_ladder_rungs(&s, r);
	cr_assert_eq(r[0].height, 1080, "4K tops out at 1080p");
	struct video_storyboard sb;
	video_storyboard_plan(&s, &sb);
	s.max_fps = 30;
	struct video_ladder_opts o = {.input = "/in.mp4", .outdir = "/out", .seg_seconds = 6};
	char **v = video_ladder_argv(a, &s, r, n, &sb, &o);
	cr_assert(strstr(argv_after(v, "-filter_complex"), "fps=30000/1001,"), "%s", argv_after(v, "-filter_complex"));
	cr_assert_str_eq(argv_after(v, "-g"), "60");
	arena_free(a);
}

Test(video_ladder, several_audio_languages_become_alternate_renditions)
{
	arena *a = arena_new(0);
	struct video_src s = src(640, 360);
	s.vstream = 2;
	s.naudio = 2;
	s.aindex[0] = 1;
	s.aindex[1] = 0;
	snprintf(s.alang[0], sizeof s.alang[0], "ja");
	snprintf(s.alang[1], sizeof s.alang[1], "en");
	struct video_rung r[VIDEO_MAX_RUNGS];
	int n = video_ladder_rungs(&s, r);
	struct video_storyboard sb;
	video_storyboard_plan(&s, &sb);
	struct video_ladder_opts o = {.input = "/in.mp4", .outdir = "/out", .seg_seconds = 6};
	char **v = video_ladder_argv(a, &s, r, n, &sb, &o);
	cr_assert(!strncmp(argv_after(v, "-filter_complex"), "[0:2]fps=", 9), "the chosen video stream");
	cr_assert_str_eq(argv_after(v, "-var_stream_map"),
			 "a:0,agroup:aud,name:audio0,language:ja,default:yes a:1,agroup:aud,name:audio1,language:en "
			 "v:0,agroup:aud,name:360p");
	cr_assert(argv_has(v, "0:1") && argv_has(v, "0:0"));
	arena_free(a);
}

Test(video_ladder, picture_shorter_than_the_sound_is_held)
{
	arena *a = arena_new(0);
	struct video_src s = src(640, 360);
	s.vpad = 20;
	struct video_rung r[VIDEO_MAX_RUNGS];
	int n = video_ladder_rungs(&s, r);
	struct video_storyboard sb;
	video_storyboard_plan(&s, &sb);
	struct video_ladder_opts o = {.input = "/in.mp4", .outdir = "/out", .seg_seconds = 6};
	char **v = video_ladder_argv(a, &s, r, n, &sb, &o);
	const char *g = argv_after(v, "-filter_complex");
	cr_assert(strstr(g, "tpad=stop_mode=clone:stop_duration=20.000,split"), "%s", g);
	/* one storyboard frame per cue, never a padded (black) tile under a cue */
	cr_assert(strstr(g, "eof_action=pass,tpad=stop_mode=clone:stop=10,trim=end_frame=10,"), "%s", g);
	cr_assert(strstr(g, "metadata=select:key=lavfi.signalstats.YAVG:value=40:function=greater"), "%s", g);
	arena_free(a);
}

Test(video_ladder, bandwidth_and_duration_come_from_the_published_playlists)
{
	const char *m = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=5640800,RESOLUTION=1920x1080\n1080p/index.m3u8\n\n"
			"#EXT-X-STREAM-INF:BANDWIDTH=3133600,RESOLUTION=1280x720\n720p/index.m3u8\n";
	cr_assert_eq(video_master_bandwidth(m, "1080p"), 5640800);
	cr_assert_eq(video_master_bandwidth(m, "720p"), 3133600);
	cr_assert_eq(video_master_bandwidth(m, "480p"), -1);
	const char *pl = "#EXTM3U\n#EXTINF:6.000000,\nseg_00000.m4s\n#EXTINF:2.680000,\nseg_00001.m4s\n#EXT-X-ENDLIST\n";
	cr_assert_float_eq(video_playlist_duration(pl), 8.68, 1e-6);
	cr_assert_float_eq(video_playlist_duration("#EXTM3U\n#EXTINF:6.0,\na.m4s\n"), -1, 1e-9, "no end list");
}
