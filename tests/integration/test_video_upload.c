/* Uploads through POST /api/v1/videos with real files made by ffmpeg at test time: accepted files become an HLS
 * ladder (checked with ffprobe and through nginx), rejected files get a reason, names and titles are defused. */
#include "video_helpers.h"

static const char *master_of(const char *id)
{
	static char buf[8192];
	char *m = vh_data_path("hls/%s/master.m3u8", id), *s = vh_read(m);
	cr_assert_not_null(s, "no published master playlist at %s", m);
	snprintf(buf, sizeof buf, "%s", s);
	free(s);
	free(m);
	return buf;
}

Test(video_upload, landscape_clip_becomes_a_ladder_with_a_complete_master_playlist)
{
	char *h = vh_admin();
	char *f = vh_clip("landscape.mp4", "640x360", "3", 1, NULL);
	char *id = vh_upload_ok(h, f, "Landscape");
	json_object *v = vh_wait(h, id, 120);
	cr_assert_str_eq(vh_str(v, "video.status"), "ready", "error: %s", vh_str(v, "video.error_tail"));
	json_object_put(v);
	const char *m = master_of(id);
	cr_assert(strstr(m, "BANDWIDTH="), "%s", m);
	cr_assert(strstr(m, "RESOLUTION=640x360"), "%s", m);
	cr_assert(strstr(m, "CODECS=\"avc1."), "%s", m);
	cr_assert(strstr(m, "mp4a.40.2"), "audio codec announced: %s", m);
	cr_assert_null(strstr(m, "1080p"), "never upscaled");
	cr_assert_null(strstr(m, "720p"), "never upscaled");
	/* the rendition really is 640x360 H.264 with stereo AAC */
	char *pl = vh_data_path("hls/%s/360p/index.m3u8", id);
	int w = 0, hh = 0;
	cr_assert_eq(vh_dims(pl, &w, &hh), 0);
	cr_assert_eq(w, 640);
	cr_assert_eq(hh, 360);
	char cmd[2048];
	snprintf(cmd, sizeof cmd, "ffprobe -v error -select_streams a:0 -show_entries stream=codec_name,channels -of csv=p=0 '%s'", pl);
	FILE *p = popen(cmd, "r");
	char line[128] = "";
	cr_assert_not_null(fgets(line, sizeof line, p));
	pclose(p);
	cr_assert(!strncmp(line, "aac,2", 5), "stereo AAC, got %s", line);
	/* poster and storyboard exist */
	char *poster = vh_data_path("hls/%s/poster.jpg", id), *sb = vh_data_path("hls/%s/storyboard.vtt", id);
	struct stat st;
	cr_assert_eq(stat(poster, &st), 0);
	cr_assert_gt(st.st_size, 0);
	char *vtt = vh_read(sb);
	cr_assert_not_null(vtt);
	cr_assert(strstr(vtt, "storyboard.jpg#xywh="));
	free(vtt); free(poster); free(sb); free(pl); free(id); free(f); free(h);
}

Test(video_upload, rotated_phone_clip_is_published_in_portrait)
{
	char *h = vh_admin();
	char *f = vh_clip("rot-src.mp4", "480x360", "2", 1, NULL);
	/* rotation metadata as a phone writes it: a display matrix on the video stream */
	char *rot = vh_path("rotated.mp4");
	char *argv[] = {"ffmpeg", "-v", "error", "-nostdin", "-y", "-i", f, "-c", "copy", "-metadata:s:v:0", "rotate=90", rot, NULL};
	cr_assert_eq(vh_run(argv), 0);
	char *id = vh_upload_ok(h, rot, "Rotated");
	json_object *v = vh_wait(h, id, 120);
	cr_assert_str_eq(vh_str(v, "video.status"), "ready", "error: %s", vh_str(v, "video.error_tail"));
	json_object_put(v);
	const char *m = master_of(id);
	cr_assert(strstr(m, "RESOLUTION=360x480"), "portrait rendition expected: %s", m);
	char *pl = vh_data_path("hls/%s/360p/index.m3u8", id);
	int w = 0, hh = 0;
	cr_assert_eq(vh_dims(pl, &w, &hh), 0);
	cr_assert_lt(w, hh, "portrait: %dx%d", w, hh);
	free(pl); free(id); free(rot); free(f); free(h);
}

Test(video_upload, odd_sized_clip_without_audio_gets_even_dimensions_and_no_audio_track)
{
	char *h = vh_admin();
	char *f = vh_clip("odd.mp4", "321x241", "2", 0, NULL);
	char *id = vh_upload_ok(h, f, "Odd");
	json_object *v = vh_wait(h, id, 120);
	cr_assert_str_eq(vh_str(v, "video.status"), "ready", "error: %s", vh_str(v, "video.error_tail"));
	json_object_put(v);
	const char *m = master_of(id);
	cr_assert_null(strstr(m, "mp4a"), "no audio announced: %s", m);
	const char *res = strstr(m, "RESOLUTION=");
	cr_assert_not_null(res);
	int w = 0, hh = 0;
	cr_assert_eq(sscanf(res, "RESOLUTION=%dx%d", &w, &hh), 2);
	cr_assert_eq(w % 2, 0);
	cr_assert_eq(hh % 2, 0);
	free(id); free(f); free(h);
}

static void expect_reject(const char *file, const char *reason)
{
	char *h = vh_admin();
	struct http_res r = vh_upload(h, file, "bad", "bad.mp4");
	cr_assert_eq(r.status, 422, "%s: expected 422, got %d %.300s", file, r.status, r.body);
	json_object *o = vh_json(&r);
	cr_assert_str_eq(vh_str(o, "error.code"), "video_rejected");
	cr_assert_str_eq(vh_str(o, "error.details.reason"), reason);
	cr_assert(strlen(vh_str(o, "error.message")) > 10, "a message the user understands");
	json_object_put(o);
	http_free(&r);
	free(h);
}

Test(video_upload, audio_only_file_is_rejected_with_a_reason)
{
	char *f = vh_path("audio.m4a");
	char *argv[] = {"ffmpeg", "-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i", "sine", "-t", "2", "-c:a", "aac", f, NULL};
	cr_assert_eq(vh_run(argv), 0);
	expect_reject(f, "video_reject_audio_only");
	free(f);
}

Test(video_upload, audio_with_cover_art_is_not_a_video)
{
	char *a = vh_path("song.mp3"), *png = vh_path("cover.png"), *f = vh_path("song-cover.mp3");
	char *a1[] = {"ffmpeg", "-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i", "sine", "-t", "2", a, NULL};
	char *a2[] = {"ffmpeg", "-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i", "testsrc2=size=64x64", "-frames:v", "1", png, NULL};
	char *a3[] = {"ffmpeg", "-v", "error", "-nostdin", "-y", "-i", a, "-i", png, "-map", "0", "-map", "1", "-c:a", "copy",
		      "-c:v", "mjpeg", "-disposition:v", "attached_pic", f, NULL};
	cr_assert_eq(vh_run(a1), 0);
	cr_assert_eq(vh_run(a2), 0);
	cr_assert_eq(vh_run(a3), 0);
	expect_reject(f, "video_reject_cover_art");
	free(a); free(png); free(f);
}

Test(video_upload, truncated_file_is_rejected)
{
	char *f = vh_clip("whole.mp4", "320x240", "3", 1, NULL);
	char *t = vh_path("truncated.mp4");
	struct stat st;
	cr_assert_eq(stat(f, &st), 0);
	cr_assert_eq(truncate(f, st.st_size / 2), 0);
	cr_assert_eq(rename(f, t), 0);
	expect_reject(t, "video_reject_unreadable");
	free(t); free(f);
}

Test(video_upload, faststart_file_cut_short_is_rejected_as_truncated)
{
	char *f = vh_clip("fs.mp4", "320x240", "4", 1, "-movflags", "+faststart", NULL);
	struct stat st;
	cr_assert_eq(stat(f, &st), 0);
	cr_assert_eq(truncate(f, st.st_size / 3), 0);
	expect_reject(f, "video_reject_truncated");
	free(f);
}

Test(video_upload, text_file_named_mp4_is_not_a_video)
{
	char *f = vh_path("notes.mp4");
	FILE *o = fopen(f, "w");
	fputs("this is not a video, whatever the name says\n", o);
	fclose(o);
	expect_reject(f, "video_reject_unreadable");
	free(f);
}

Test(video_upload, png_image_named_mp4_is_not_a_video)
{
	char *f = vh_path("picture.mp4");
	char *argv[] = {"ffmpeg", "-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i", "testsrc2=size=64x64", "-frames:v", "1",
			"-f", "image2", "-c:v", "png", f, NULL};
	cr_assert_eq(vh_run(argv), 0);
	expect_reject(f, "video_reject_no_video");
	free(f);
}

Test(video_upload, polyglot_gif_html_file_is_rejected_and_never_served)
{
	char *f = vh_path("polyglot.mp4");
	FILE *o = fopen(f, "wb");
	fputs("GIF89a\x01\x00\x01\x00<html><script>alert(document.cookie)</script></html>", o);
	for (int i = 0; i < 4096; i++) fputc((i * 7919) & 0xff, o);
	fclose(o);
	char *h = vh_admin();
	struct http_res r = vh_upload(h, f, "polyglot", "polyglot.mp4");
	cr_assert_eq(r.status, 422, "%d %.300s", r.status, r.body);
	json_object *j = vh_json(&r);
	const char *reason = vh_str(j, "error.details.reason");
	cr_assert(reason && !strncmp(reason, "video_reject_", 13));
	json_object_put(j);
	http_free(&r);
	free(h);
	free(f);
}

Test(video_upload, zero_byte_upload_is_rejected)
{
	char *f = vh_path("empty.mp4");
	FILE *o = fopen(f, "w");
	fclose(o);
	expect_reject(f, "video_reject_empty");
	free(f);
}

Test(video_upload, path_traversal_in_the_file_name_never_reaches_the_file_system)
{
	char *h = vh_admin();
	char *f = vh_clip("trav.mp4", "320x240", "1", 0, NULL);
	struct http_res r = vh_upload(h, f, "Traversal", "../../../../tmp/evil\\..\\pwned.mp4");
	cr_assert_eq(r.status, 201, "%d %.300s", r.status, r.body);
	json_object *o = vh_json(&r);
	const char *name = vh_str(o, "video.source_name");
	cr_assert_not_null(name);
	cr_assert_null(strchr(name, '/'), "name kept without directories: %s", name);
	cr_assert_null(strchr(name, '\\'));
	char *id = strdup(vh_str(o, "video.id"));
	json_object_put(o);
	http_free(&r);
	struct stat st;
	cr_assert_neq(stat("/tmp/evil", &st), 0);
	cr_assert_neq(stat("/tmp/pwned.mp4", &st), 0);
	char *src = vh_data_path("uploads/videos/%s.src", id);
	cr_assert_eq(stat(src, &st), 0, "stored under its id");
	free(src); free(id); free(f); free(h);
}

Test(video_upload, xss_in_title_and_description_is_escaped_in_catalog_and_player)
{
	char *h = vh_admin();
	char *f = vh_clip("xss.mp4", "320x240", "1", 0, NULL);
	char *id = vh_upload_ok(h, f, "<script>alert('x')</script>");
	json_object *v = vh_wait(h, id, 120);
	json_object_put(v);
	char path[256], hdr[1024];
	snprintf(path, sizeof path, "/api/v1/videos/%s", id);
	snprintf(hdr, sizeof hdr, "%sContent-Type: application/json\r\n", h);
	const char *body = "{\"description\":\"<img src=x onerror=alert(1)>\",\"visibility\":\"public\"}";
	struct http_res r;
	cr_assert_eq(http_do("PUT", path, hdr, body, strlen(body), &r), 0);
	cr_assert_eq(r.status, 200, "%d %.300s", r.status, r.body);
	http_free(&r);
	const char *pages[] = {"/videos", NULL, NULL};
	char watch[128], edit[128];
	snprintf(watch, sizeof watch, "/watch/%s", id);
	snprintf(edit, sizeof edit, "/videos/%s/edit", id);
	pages[1] = watch;
	pages[2] = edit;
	char *html_hdr;
	cr_assert(asprintf(&html_hdr, "Authorization: Bearer %s\r\nAccept: text/html\r\n", t_admin_token()) > 0);
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(http_do("GET", pages[i], html_hdr, NULL, 0, &r), 0);
		cr_assert_eq(r.status, 200, "%s: %d", pages[i], r.status);
		cr_assert_null(strstr(r.body, "<script>alert("), "%s has the raw title", pages[i]);
		cr_assert_null(strstr(r.body, "<img src=x"), "%s has the raw description", pages[i]);
		if (i > 0) cr_assert(strstr(r.body, "&lt;script&gt;"), "%s shows the title escaped", pages[i]);
		http_free(&r);
	}
	free(html_hdr); free(id); free(f); free(h);
}

Test(video_upload, viewers_cannot_upload)
{
	long uid = t_make_user("video-viewer-up@test.example", "viewer", "Viewer-password-1");
	cr_assert_gt(uid, 0);
	char *tok = t_login("video-viewer-up@test.example", "Viewer-password-1");
	cr_assert_not_null(tok);
	char *h = vh_bearer(tok);
	char *f = vh_clip("viewer.mp4", "320x240", "1", 0, NULL);
	struct http_res r = vh_upload(h, f, "nope", "viewer.mp4");
	cr_assert_eq(r.status, 403);
	http_free(&r);
	free(f); free(h); free(tok);
}
