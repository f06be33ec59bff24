/* Uploads through POST /api/v1/videos with real files made by ffmpeg at test time: accepted files become an HLS
 * ladder (checked with ffprobe and through nginx), rejected files get a reason, names and titles are defused. */
#include <math.h>
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
		/* a ready video's edit page says 100%, as the page's script writes it, not the database's 100.0 */
		if (i == 2) cr_assert(strstr(r.body, "id=\"status-pct\">100%<"), "%.200s", strstr(r.body, "status-pct"));
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

/* ---- issue 12: what real-world files showed ---- */

/* average luma (0-255) of an image, or of the w x h box at x,y; -1 if ffprobe cannot tell */
static double luma(const char *img, int x, int y, int w, int h)
{
	char cmd[2048], crop[96] = "";
	if (w > 0) snprintf(crop, sizeof crop, ",crop=%d:%d:%d:%d", w, h, x, y);
	snprintf(cmd, sizeof cmd, "ffprobe -v error -f lavfi 'movie=%s%s,signalstats' -show_entries "
		 "frame_tags=lavfi.signalstats.YAVG -of csv=p=0 2>/dev/null", img, crop);
	FILE *p = popen(cmd, "r");
	double v = -1;
	if (p && fscanf(p, "%lf", &v) != 1) v = -1;
	if (p) pclose(p);
	return v;
}

/* one line of ffprobe output for the first stream of a kind in a file or playlist */
static void probe_line(const char *target, const char *sel, const char *entries, char *out, size_t n)
{
	char cmd[2048];
	snprintf(cmd, sizeof cmd, "ffprobe -v error -select_streams %s -show_entries %s -of csv=p=0 '%s' 2>/dev/null",
		 sel, entries, target);
	FILE *p = popen(cmd, "r");
	out[0] = 0;
	if (p && fgets(out, (int)n, p)) out[strcspn(out, "\n")] = 0;
	if (p) pclose(p);
}

static double json_num(json_object *o, const char *path)
{
	const char *s = vh_str(o, path);
	return s ? strtod(s, NULL) : -1;
}

/* upload, wait, require ready; returns the final video JSON (caller puts) */
static json_object *ready_video(const char *h, const char *file, const char *title, char **id_out, int timeout)
{
	char *id = vh_upload_ok(h, file, title);
	json_object *v = vh_wait(h, id, timeout);
	cr_assert_str_eq(vh_str(v, "video.status"), "ready", "%s: %s %s", title, vh_str(v, "video.reject_reason"),
			 vh_str(v, "video.error_tail"));
	*id_out = id;
	return v;
}

/* every file the published ladder announces exists: playlists, init and media segments, poster, storyboard */
static void expect_complete_ladder(const char *id)
{
	const char *m = master_of(id);
	int playlists = 0;
	for (const char *p = m; *p;) {
		const char *e = strchr(p, '\n');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		char uri[256] = "";
		const char *u = strstr(p, "URI=\"");
		if (!strncmp(p, "#EXT-X-MEDIA:", 13) && u && u < p + l) sscanf(u + 5, "%255[^\"]", uri);
		else if (l && *p != '#' && l < sizeof uri) { memcpy(uri, p, l); uri[l] = 0; }
		if (uri[0]) {
			char rel[512];
			snprintf(rel, sizeof rel, "hls/%%s/%s", uri);
			char *pl = vh_data_path(rel, id), *text = vh_read(pl);
			cr_assert_not_null(text, "%s announced but missing", uri);
			cr_assert(strstr(text, "#EXT-X-ENDLIST"), "%s complete", uri);
			char dir[1024];
			snprintf(dir, sizeof dir, "%s", pl);
			*strrchr(dir, '/') = 0;
			int segs = 0;
			for (char *s = strtok(text, "\n"); s; s = strtok(NULL, "\n")) {
				char name[256] = "";
				if (!strncmp(s, "#EXT-X-MAP:URI=\"", 16)) sscanf(s + 16, "%255[^\"]", name);
				else if (*s != '#') { snprintf(name, sizeof name, "%s", s); segs++; }
				if (!name[0]) continue;
				char f[1400];
				struct stat st;
				snprintf(f, sizeof f, "%s/%s", dir, name);
				cr_assert(stat(f, &st) == 0 && st.st_size > 0, "%s/%s missing or empty", uri, name);
			}
			cr_assert_gt(segs, 0, "%s has segments", uri);
			playlists++;
			free(text);
			free(pl);
		}
		p = e ? e + 1 : p + l;
	}
	cr_assert_gt(playlists, 0);
	const char *files[] = {"poster.jpg", "storyboard.jpg", "storyboard.vtt"};
	for (int i = 0; i < 3; i++) {
		char rel[64];
		snprintf(rel, sizeof rel, "hls/%%s/%s", files[i]);
		char *f = vh_data_path(rel, id);
		struct stat st;
		cr_assert(stat(f, &st) == 0 && st.st_size > 0, "%s missing or empty", files[i]);
		free(f);
	}
}

/* every storyboard cue points at a tile with a picture in it (testsrc2 is never dark) */
static void expect_no_black_tiles(const char *id)
{
	char *vttp = vh_data_path("hls/%s/storyboard.vtt", id), *sprite = vh_data_path("hls/%s/storyboard.jpg", id);
	char *vtt = vh_read(vttp);
	cr_assert_not_null(vtt);
	int cues = 0;
	for (const char *p = vtt; (p = strstr(p, "#xywh=")); p++) {
		int x, y, w, h;
		cr_assert_eq(sscanf(p, "#xywh=%d,%d,%d,%d", &x, &y, &w, &h), 4);
		double l = luma(sprite, x, y, w, h);
		cr_assert_gt(l, 40, "storyboard tile %d at %d,%d is black (luma %.1f)", cues, x, y, l);
		cues++;
	}
	cr_assert_gt(cues, 0);
	free(vtt); free(vttp); free(sprite);
}

/* defect 1: an MPEG-TS cut mid-GOP (first picture at about 2.2 s of 2.8 s) gets its storyboard image too */
Test(video_upload, ts_starting_mid_gop_gets_poster_storyboard_and_every_segment)
{
	char *h = vh_admin();
	char *full = vh_path("full.ts"), *mid = vh_path("mid-gop.ts");
	char *a[] = {"ffmpeg", "-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-f", "lavfi",
		     "-i", "sine", "-t", "5", "-c:v", "libx264", "-preset", "ultrafast", "-g", "250", "-force_key_frames",
		     "expr:eq(n,0)+eq(n,110)", "-c:a", "aac", "-f", "mpegts", full, NULL};
	cr_assert_eq(vh_run(a), 0);
	struct stat st;
	cr_assert_eq(stat(full, &st), 0);
	/* drop the first 45 % on a TS packet boundary: the decoder meets P frames until the key frame at 4.4 s */
	FILE *in = fopen(full, "rb"), *out = fopen(mid, "wb");
	cr_assert(in && out);
	fseek(in, (st.st_size * 45 / 100) / 188 * 188, SEEK_SET);
	char b[65536];
	for (size_t k; (k = fread(b, 1, sizeof b, in)) > 0;) fwrite(b, 1, k, out);
	fclose(in);
	fclose(out);
	char *id;
	json_object *v = ready_video(h, mid, "Mid-GOP TS", &id, 120);
	json_object_put(v);
	expect_complete_ladder(id);
	free(id); free(mid); free(full); free(h);
}

/* defect 2: a 2 s screen recording with 6 s of narration is whole, and plays to the end of the sound */
Test(video_upload, audio_longer_than_the_picture_is_not_truncated)
{
	char *h = vh_admin();
	char *f = vh_path("narration.mp4");
	char *a[] = {"ffmpeg", "-v", "error", "-nostdin", "-y", "-f", "lavfi", "-t", "2", "-i", "testsrc2=size=320x240:rate=25",
		     "-f", "lavfi", "-t", "6", "-i", "sine=sample_rate=44100", "-c:v", "libx264", "-preset", "ultrafast",
		     "-pix_fmt", "yuv420p", "-c:a", "aac", f, NULL};
	cr_assert_eq(vh_run(a), 0);
	char *id;
	json_object *v = ready_video(h, f, "Narration", &id, 120);
	double d = json_num(v, "video.duration");
	cr_assert(d > 5.8 && d < 6.3, "published duration follows the sound: %.3f", d);
	json_object_put(v);
	expect_complete_ladder(id);
	free(id); free(f); free(h);
}

/* defect 3 (and 5's storyboard half): a variable-frame-rate recording whose last frame is held 1.4 s keeps its
 * tail; the API reports the published duration, and no storyboard tile is black */
Test(video_upload, variable_frame_rate_source_keeps_its_held_last_frame)
{
	char *h = vh_admin();
	char *cfr = vh_path("cfr.mp4"), *vfr = vh_path("vfr.mp4");
	char *a1[] = {"ffmpeg", "-v", "error", "-nostdin", "-y", "-f", "lavfi", "-t", "7.32", "-i", "testsrc2=size=320x240:rate=25",
		      "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-bf", "0", cfr, NULL};
	char *a2[] = {"ffmpeg", "-v", "error", "-nostdin", "-y", "-i", cfr, "-c", "copy", "-bsf:v",
		      "setts=duration='if(eq(N,182),1.4/TB,DURATION)'", vfr, NULL};
	cr_assert_eq(vh_run(a1), 0);
	cr_assert_eq(vh_run(a2), 0);
	char line[128];
	probe_line(vfr, "v:0", "stream=duration", line, sizeof line);
	cr_assert(strtod(line, NULL) > 8.6, "the source is 8.68 s long (got %s)", line);
	char *id;
	json_object *v = ready_video(h, vfr, "VFR", &id, 120);
	double d = json_num(v, "video.duration");
	json_object_put(v);
	cr_assert(fabs(d - 8.68) <= 0.1, "the published video is as long as the source: %.3f", d);
	char *pl = vh_data_path("hls/%s/240p/index.m3u8", id), *text = vh_read(pl);
	double sum = 0;
	for (char *p = text; (p = strstr(p, "#EXTINF:")); p++) sum += strtod(p + 8, NULL);
	cr_assert(fabs(sum - d) < 0.001, "the API reports the published duration (%.3f vs %.3f)", d, sum);
	expect_no_black_tiles(id);
	free(text); free(pl); free(id); free(vfr); free(cfr); free(h);
}

/* defect 4: an mp4 cut inside its header has no streams at all: unreadable/incomplete, not "no picture" */
Test(video_upload, mp4_cut_inside_its_header_is_unreadable)
{
	char *f = vh_clip("header.mp4", "320x240", "2", 1, "-movflags", "+faststart", NULL);
	cr_assert_eq(truncate(f, 40), 0);
	expect_reject(f, "video_reject_unreadable");
	free(f);
}

/* defect 5: a fade-in from black at 10 % of the duration does not make a black poster */
Test(video_upload, poster_is_not_a_black_frame_of_a_fade_in)
{
	char *h = vh_admin();
	char *f = vh_clip("fade.mp4", "320x240", "6", 0, "-vf", "fade=in:st=0:d=2", NULL);
	char *id;
	json_object *v = ready_video(h, f, "Fade", &id, 120);
	json_object_put(v);
	char *poster = vh_data_path("hls/%s/poster.jpg", id);
	double l = luma(poster, 0, 0, 0, 0);
	cr_assert_gt(l, 60, "the poster is a lit frame (luma %.1f)", l);
	free(poster); free(id); free(f); free(h);
}

/* defect 5, fallback: a video that is dark throughout still gets a poster (ffmpeg's thumbnail pick) */
Test(video_upload, dark_video_still_gets_a_poster)
{
	char *h = vh_admin();
	char *f = vh_path("dark.mp4");
	char *a[] = {"ffmpeg", "-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i", "color=c=0x101010:size=320x240:rate=10",
		     "-t", "2", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", f, NULL};
	cr_assert_eq(vh_run(a), 0);
	char *id;
	json_object *v = ready_video(h, f, "Dark", &id, 120);
	json_object_put(v);
	expect_complete_ladder(id);
	free(id); free(f); free(h);
}

/* defect 6: the API's renditions[].bandwidth is the BANDWIDTH players read in master.m3u8 */
Test(video_upload, rendition_bandwidth_matches_the_master_playlist)
{
	char *h = vh_admin();
	char *f = vh_clip("bw.mp4", "854x480", "2", 1, NULL);
	char *id;
	json_object *v = ready_video(h, f, "Bandwidth", &id, 120);
	const char *m = master_of(id);
	int n = 0;
	for (int i = 0; vh_str(v, "video.renditions") && i < 4; i++) {
		char key[64];
		snprintf(key, sizeof key, "video.renditions.%d.name", i);
		const char *name = vh_str(v, key);
		if (!name) break;
		char want[128];
		snprintf(want, sizeof want, "%s/index.m3u8", name);
		snprintf(key, sizeof key, "video.renditions.%d.bandwidth", i);
		long api = strtol(vh_str(v, key), NULL, 10);
		const char *uri = strstr(m, want);
		cr_assert_not_null(uri, "%s in master", want);
		const char *inf = uri;
		while (inf > m && strncmp(inf, "#EXT-X-STREAM-INF:", 18)) inf--;
		const char *bw = strstr(inf, "BANDWIDTH=");
		cr_assert(bw && bw < uri);
		cr_assert_eq(api, strtol(bw + 10, NULL, 10), "%s: API %ld vs master %.20s", name, api, bw);
		n++;
	}
	cr_assert_eq(n, 2, "480p and 360p");
	json_object_put(v);
	free(id); free(f); free(h);
}

/* defect 7: playing a rejected video says it was rejected and why, not "not ready yet" */
Test(video_upload, playback_of_a_rejected_video_says_why)
{
	char *h = vh_admin();
	char *f = vh_path("rejected.mp4");
	char *a[] = {"ffmpeg", "-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i", "sine", "-t", "1", "-c:a", "aac", f, NULL};
	cr_assert_eq(vh_run(a), 0);
	struct http_res r = vh_upload(h, f, "audio only", "rejected.m4a");
	cr_assert_eq(r.status, 422);
	json_object *o = vh_json(&r);
	char *id = strdup(vh_str(o, "error.details.video_id"));
	json_object_put(o);
	http_free(&r);
	char path[128];
	snprintf(path, sizeof path, "/api/v1/videos/%s/playback", id);
	cr_assert_eq(http_do("GET", path, h, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 409, "%d %.300s", r.status, r.body);
	o = vh_json(&r);
	cr_assert_str_eq(vh_str(o, "error.code"), "video_rejected");
	cr_assert_str_eq(vh_str(o, "error.details.reason"), "video_reject_audio_only");
	char *message = strdup(vh_str(o, "error.message"));
	json_object_put(o);
	http_free(&r);
	/* the message carries the reason the user was given at upload (in the request's language) */
	snprintf(path, sizeof path, "/api/v1/videos/%s", id);
	cr_assert_eq(http_do("GET", path, h, NULL, 0, &r), 0);
	o = vh_json(&r);
	const char *why = vh_str(o, "video.reject_message");
	cr_assert(why && strlen(why) > 5);
	cr_assert(strstr(message, why), "'%s' says why: '%s'", message, why);
	json_object_put(o);
	http_free(&r);
	cr_assert(strlen(message) > strlen(why) + 5, "and that the video was rejected: %s", message);
	free(message);
	free(id); free(f); free(h);
}

/* ---- issue 12: what teachers upload ---- */

static void expect_8bit_h264(const char *id, const char *rung)
{
	char rel[128], line[128];
	snprintf(rel, sizeof rel, "hls/%%s/%s/index.m3u8", rung);
	char *pl = vh_data_path(rel, id);
	probe_line(pl, "v:0", "stream=codec_name,pix_fmt", line, sizeof line);
	cr_assert_str_eq(line, "h264,yuv420p", "%s plays in every browser: %s", rung, line);
	free(pl);
}

Test(video_upload, ten_bit_source_comes_out_8_bit)
{
	char *h = vh_admin();
	char *f = vh_path("ten-bit.mp4");
	char *a[] = {"ffmpeg", "-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25", "-t", "1",
		     "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p10le", f, NULL};
	cr_assert_eq(vh_run(a), 0);
	char line[64];
	probe_line(f, "v:0", "stream=pix_fmt", line, sizeof line);
	cr_assert_str_eq(line, "yuv420p10le");
	char *id;
	json_object_put(ready_video(h, f, "10-bit", &id, 120));
	expect_8bit_h264(id, "360p");
	expect_complete_ladder(id);
	free(id); free(f); free(h);
}

Test(video_upload, vp9_with_alpha_comes_out_opaque_h264)
{
	char *h = vh_admin();
	char *f = vh_path("alpha.webm");
	char *a[] = {"ffmpeg", "-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25,format=yuva420p",
		     "-t", "1", "-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-pix_fmt", "yuva420p", f, NULL};
	cr_assert_eq(vh_run(a), 0);
	char line[64];
	probe_line(f, "v:0", "stream_tags=alpha_mode", line, sizeof line);
	cr_assert_str_eq(line, "1", "the source carries alpha");
	char *id;
	json_object_put(ready_video(h, f, "Alpha", &id, 120));
	expect_8bit_h264(id, "240p");
	free(id); free(f); free(h);
}

Test(video_upload, odd_641x361_source_is_published_at_even_size)
{
	char *h = vh_admin();
	char *f = vh_clip("odd641.mp4", "641x361", "1", 1, NULL);
	char *id;
	json_object_put(ready_video(h, f, "641x361", &id, 120));
	const char *m = master_of(id);
	cr_assert(strstr(m, "RESOLUTION=642x360") || strstr(m, "RESOLUTION=640x360"), "%s", m);
	expect_8bit_h264(id, "360p");
	free(id); free(f); free(h);
}

Test(video_upload, uhd_60fps_source_is_capped_at_1080p_30fps)
{
	char *h = vh_admin();
	char *f = vh_path("uhd60.mp4");
	char *a[] = {"ffmpeg", "-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i", "testsrc=size=3840x2160:rate=60", "-t", "0.5",
		     "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", f, NULL};
	cr_assert_eq(vh_run(a), 0);
	char *id;
	json_object_put(ready_video(h, f, "UHD 60", &id, 180));
	const char *m = master_of(id);
	cr_assert(strstr(m, "RESOLUTION=1920x1080"), "%s", m);
	cr_assert_null(strstr(m, "2160"), "never above 1080p: %s", m);
	char *pl = vh_data_path("hls/%s/1080p/index.m3u8", id), line[64];
	probe_line(pl, "v:0", "stream=avg_frame_rate", line, sizeof line);
	int num = 0, den = 1;
	cr_assert_eq(sscanf(line, "%d/%d", &num, &den), 2, "%s", line);
	cr_assert(den > 0 && (double)num / den <= 30.01, "capped at 30 fps: %s", line);
	free(pl); free(id); free(f); free(h);
}

Test(video_upload, screen_plus_camera_publishes_the_default_picture)
{
	char *h = vh_admin();
	char *f = vh_path("two-pictures.mkv");
	/* stream 0: a small camera; stream 1: the screen, marked default */
	char *a[] = {"ffmpeg", "-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25", "-f", "lavfi",
		     "-i", "testsrc2=size=640x360:rate=25", "-f", "lavfi", "-i", "sine", "-t", "1", "-map", "0", "-map", "1", "-map", "2",
		     "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac",
		     "-disposition:v:0", "0", "-disposition:v:1", "default", f, NULL};
	cr_assert_eq(vh_run(a), 0);
	char *id;
	json_object_put(ready_video(h, f, "Screen and camera", &id, 120));
	const char *m = master_of(id);
	cr_assert(strstr(m, "RESOLUTION=640x360"), "the screen (default stream) is the lesson: %s", m);
	expect_8bit_h264(id, "360p");
	free(id); free(f); free(h);
}

Test(video_upload, several_audio_languages_become_alternate_renditions)
{
	char *h = vh_admin();
	char *f = vh_path("bilingual.mp4");
	char *a[] = {"ffmpeg", "-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-f", "lavfi",
		     "-i", "sine=f=440", "-f", "lavfi", "-i", "sine=f=880", "-t", "2", "-map", "0", "-map", "1", "-map", "2",
		     "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac",
		     "-metadata:s:a:0", "language=eng", "-metadata:s:a:1", "language=jpn",
		     "-disposition:a:0", "0", "-disposition:a:1", "default", f, NULL};
	cr_assert_eq(vh_run(a), 0);
	char *id;
	json_object_put(ready_video(h, f, "Bilingual", &id, 120));
	const char *m = master_of(id);
	const char *ja = strstr(m, "LANGUAGE=\"ja\""), *en = strstr(m, "LANGUAGE=\"en\"");
	cr_assert(ja && en, "both languages announced: %s", m);
	const char *line = ja;
	while (line > m && line[-1] != '\n') line--;
	const char *def = strstr(line, "DEFAULT=YES");
	cr_assert(!strncmp(line, "#EXT-X-MEDIA:TYPE=AUDIO", 23) && def && def < ja,
		  "Japanese (the default track) is the default rendition: %s", m);
	cr_assert(strstr(m, "AUDIO=\""), "video variants point at the audio group: %s", m);
	expect_complete_ladder(id);
	free(id); free(f); free(h);
}

/* A 3-hour lecture at low resolution (160x90, 1 frame/s). No sound: three hours of AAC would cost about a minute
 * of CPU in every run, and the audio path is the same as in the short clips. Within the duration limit; progress
 * only ever goes up and ends at 100; the storyboard keeps 100 thumbnails over the whole length. */
Test(video_upload, three_hour_lecture_is_accepted_with_steady_progress)
{
	char *h = vh_admin();
	char *f = vh_path("lecture.mp4");
	char *a[] = {"ffmpeg", "-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=1", "-t", "10800",
		     "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "60", f, NULL};
	cr_assert_eq(vh_run(a), 0);
	char *id = vh_upload_ok(h, f, "Lecture");
	char path[128];
	snprintf(path, sizeof path, "/api/v1/videos/%s", id);
	double last = 0;
	int samples = 0, midway = 0;
	time_t start = time(NULL);
	json_object *v = NULL;
	for (;;) {
		struct http_res r;
		cr_assert_eq(http_do("GET", path, h, NULL, 0, &r), 0);
		v = vh_json(&r);
		http_free(&r);
		double pr = json_num(v, "video.progress");
		const char *st = vh_str(v, "video.status");   /* vh_str's buffer: read after json_num */
		if (st && !strcmp(st, "transcoding")) {
			cr_assert(pr >= last - 1e-9 && pr <= 100, "progress goes up: %.2f after %.2f", pr, last);
			last = pr;
			samples++;
			midway += pr > 0 && pr < 99;
		}
		if (st && (!strcmp(st, "ready") || !strcmp(st, "failed") || !strcmp(st, "rejected"))) break;
		json_object_put(v);
		cr_assert_lt(time(NULL) - start, 300, "lecture not done after 300 s");
		usleep(250 * 1000);
	}
	cr_assert_str_eq(vh_str(v, "video.status"), "ready", "%s", vh_str(v, "video.error_tail"));
	cr_assert(fabs(json_num(v, "video.duration") - 10800) < 1, "3 hours published: %s", vh_str(v, "video.duration"));
	json_object_put(v);
	cr_assert_gt(samples, 0, "progress was visible while converting");
	/* not 0 until a jump to the end: ffmpeg's own reports wait for the storyboard, the segments on disk do not */
	cr_assert_gt(midway, 0, "progress between 0 and 99 was seen while converting (%d samples)", samples);
	char *vttp = vh_data_path("hls/%s/storyboard.vtt", id), *vtt = vh_read(vttp);
	int cues = 0;
	for (const char *p = vtt; (p = strstr(p, "#xywh=")); p++) cues++;
	cr_assert_eq(cues, 100, "100 thumbnails over three hours");
	cr_assert(strstr(vtt, "--> 03:00:00.000"), "the last cue ends at the end");
	expect_complete_ladder(id);
	free(vtt); free(vttp); free(id); free(f); free(h);
}
