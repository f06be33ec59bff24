/* Delivery and access: nginx serves /hls/ only with a valid signature (200), refuses an expired one (410) and a
 * forged one (403); the app hands out signed URLs only to users allowed to watch. */
#include "video_helpers.h"

static char *ready_video(const char *h, const char *name)
{
	char *f = vh_clip(name, "320x240", "2", 1, NULL);
	char *id = vh_upload_ok(h, f, name);
	json_object *v = vh_wait(h, id, 120);
	cr_assert_str_eq(vh_str(v, "video.status"), "ready", "error: %s", vh_str(v, "video.error_tail"));
	json_object_put(v);
	free(f);
	return id;
}

static void set_visibility(const char *h, const char *id, const char *json)
{
	char path[256], hdr[1024];
	snprintf(path, sizeof path, "/api/v1/videos/%s", id);
	snprintf(hdr, sizeof hdr, "%sContent-Type: application/json\r\n", h);
	struct http_res r;
	cr_assert_eq(http_do("PUT", path, hdr, json, strlen(json), &r), 0);
	cr_assert_eq(r.status, 200, "PUT %s: %d %.300s", json, r.status, r.body);
	http_free(&r);
}

Test(video_delivery, segments_need_a_valid_unexpired_signature)
{
	char *h = vh_admin();
	char *id = ready_video(h, "deliver.mp4");
	long future = (long)time(NULL) + 600, past = (long)time(NULL) - 60;
	char *ok = vh_sign(id, "master.m3u8", future);
	struct http_res r;
	cr_assert_eq(http_do("GET", ok, NULL, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 200);
	cr_assert(strstr(r.body, "#EXTM3U"));
	const char *ct = http_header(&r, "Content-Type");
	cr_assert(ct && strstr(ct, "mpegurl"), "playlist MIME type: %s", ct ? ct : "(none)");
	http_free(&r);
	/* a segment through the same prefix: immutable, video MIME type, byte ranges */
	char *seg = vh_sign(id, "240p/seg_00000.m4s", future);
	cr_assert_eq(http_do("GET", seg, "Range: bytes=0-99\r\n", NULL, 0, &r), 0);
	cr_assert_eq(r.status, 206, "byte range: %d", r.status);
	cr_assert_eq(r.body_len, 100);
	const char *cc = http_header(&r, "Cache-Control");
	cr_assert(cc && strstr(cc, "immutable"), "segments are immutable: %s", cc ? cc : "(none)");
	http_free(&r);

	char *expired = vh_sign(id, "master.m3u8", past);
	cr_assert_eq(vh_status("GET", expired, NULL), 410);
	/* forged: a valid-looking token for another expiry, or for another video */
	char forged[512];
	snprintf(forged, sizeof forged, "/hls/%.22s/%ld/%s/master.m3u8", ok + 5, future + 1, id);
	cr_assert_eq(vh_status("GET", forged, NULL), 403);
	snprintf(forged, sizeof forged, "/hls/AAAAAAAAAAAAAAAAAAAAAA/%ld/%s/master.m3u8", future, id);
	cr_assert_eq(vh_status("GET", forged, NULL), 403);
	/* no signature at all, and a path escape attempt */
	char plain[256];
	snprintf(plain, sizeof plain, "/hls/%s/master.m3u8", id);
	cr_assert_eq(vh_status("GET", plain, NULL), 403);
	char *esc = vh_sign(id, "master.m3u8", future);
	snprintf(forged, sizeof forged, "%.*s../../../etc/passwd", (int)(strrchr(esc, '/') - esc + 1), esc);
	int st = vh_status("GET", forged, NULL);
	cr_assert(st == 403 || st == 404 || st == 400, "path escape answered %d", st);
	free(esc); free(expired); free(seg); free(ok); free(id); free(h);
}

Test(video_delivery, a_viewer_who_may_not_watch_gets_403_and_no_signed_url)
{
	char *h = vh_admin();
	char *id = ready_video(h, "private.mp4");
	set_visibility(h, id, "{\"visibility\":\"private\"}");
	cr_assert_gt(t_make_user("video-viewer-b@test.example", "viewer", "Viewer-password-1"), 0);
	char *tok = t_login("video-viewer-b@test.example", "Viewer-password-1");
	char *vh = vh_bearer(tok), *html;
	cr_assert(asprintf(&html, "Authorization: Bearer %s\r\nAccept: text/html\r\n", tok) > 0);
	char path[256];
	snprintf(path, sizeof path, "/watch/%s", id);
	struct http_res r;
	cr_assert_eq(http_do("GET", path, html, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 403);
	cr_assert_null(strstr(r.body, "/hls/"), "no signed URL on a refused page");
	http_free(&r);
	snprintf(path, sizeof path, "/api/v1/videos/%s/playback", id);
	cr_assert_eq(http_do("GET", path, vh, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 403);
	cr_assert_null(strstr(r.body, "/hls/"));
	http_free(&r);
	/* the catalog does not list it either */
	cr_assert_eq(http_do("GET", "/api/v1/videos?limit=100", vh, NULL, 0, &r), 0);
	cr_assert_null(strstr(r.body, id));
	http_free(&r);
	/* guests (no login) are refused too */
	snprintf(path, sizeof path, "/watch/%s", id);
	cr_assert_eq(vh_status("GET", path, NULL), 403);
	/* public: everyone, including guests, gets a signed URL that works */
	set_visibility(h, id, "{\"visibility\":\"public\"}");
	snprintf(path, sizeof path, "/api/v1/videos/%s/playback", id);
	cr_assert_eq(http_do("GET", path, NULL, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 200, "%d %.200s", r.status, r.body);
	json_object *o = vh_json(&r);
	char *master = strdup(vh_str(o, "playback.master_url"));
	json_object_put(o);
	http_free(&r);
	cr_assert_eq(vh_status("GET", master, NULL), 200);
	free(master); free(html); free(vh); free(tok); free(id); free(h);
}

Test(video_delivery, org_and_class_visibility_follow_the_roster)
{
	char *h = vh_admin();
	char *id = ready_video(h, "scoped.mp4");
	cr_assert_gt(t_make_user("video-org-in@test.example", "viewer", "Viewer-password-1"), 0);
	cr_assert_gt(t_make_user("video-org-out@test.example", "viewer", "Viewer-password-1"), 0);
	cr_assert_gt(t_make_user("video-class-in@test.example", "viewer", "Viewer-password-1"), 0);
	const char *p1[2] = {"video-org-in@test.example", "org-video-1"};
	free(t_db_value("UPDATE users SET org_sourced_id = $2 WHERE email = $1 RETURNING id", 2, p1));
	const char *p2[2] = {"video-org-out@test.example", "org-video-2"};
	free(t_db_value("UPDATE users SET org_sourced_id = $2 WHERE email = $1 RETURNING id", 2, p2));
	const char *p3[2] = {"video-class-in@test.example", "user-video-class-in"};
	free(t_db_value("UPDATE users SET sourced_id = $2 WHERE email = $1 RETURNING id", 2, p3));
	free(t_db_value("INSERT INTO roster_enrollments (sourced_id, class_sourced_id, school_sourced_id, user_sourced_id, role) "
			"VALUES ('enr-video-1', 'class-video-k', 'org-video-1', 'user-video-class-in', 'student') "
			"ON CONFLICT (sourced_id) DO NOTHING RETURNING sourced_id", 0, NULL));
	char *in = t_login("video-org-in@test.example", "Viewer-password-1");
	char *out = t_login("video-org-out@test.example", "Viewer-password-1");
	char *cls = t_login("video-class-in@test.example", "Viewer-password-1");
	char *hin = vh_bearer(in), *hout = vh_bearer(out), *hcls = vh_bearer(cls);
	char path[256];
	snprintf(path, sizeof path, "/api/v1/videos/%s/playback", id);

	set_visibility(h, id, "{\"visibility\":\"org\",\"org_sourced_id\":\"org-video-1\"}");
	cr_assert_eq(vh_status("GET", path, hin), 200);
	cr_assert_eq(vh_status("GET", path, hout), 403);
	cr_assert_eq(vh_status("GET", path, NULL), 403);

	set_visibility(h, id, "{\"visibility\":\"class\",\"class_sourced_ids\":[\"class-video-k\"]}");
	cr_assert_eq(vh_status("GET", path, hcls), 200);
	cr_assert_eq(vh_status("GET", path, hin), 403);
	cr_assert_eq(vh_status("GET", path, hout), 403);
	cr_assert_eq(vh_status("GET", path, h), 200, "admins see everything");
	free(hin); free(hout); free(hcls); free(in); free(out); free(cls); free(id); free(h);
}

Test(video_delivery, resume_position_is_kept_per_user)
{
	char *h = vh_admin();
	char *id = ready_video(h, "resume.mp4");
	char path[256], hdr[1024];
	snprintf(path, sizeof path, "/api/v1/videos/%s/position", id);
	snprintf(hdr, sizeof hdr, "%sContent-Type: application/json\r\n", h);
	struct http_res r;
	const char *body = "{\"position\":1.5}";
	cr_assert_eq(http_do("POST", path, hdr, body, strlen(body), &r), 0);
	cr_assert_eq(r.status, 204, "%d %.200s", r.status, r.body);
	http_free(&r);
	const char *bad = "{\"position\":-3}";
	cr_assert_eq(http_do("POST", path, hdr, bad, strlen(bad), &r), 0);
	cr_assert_eq(r.status, 422);
	http_free(&r);
	snprintf(path, sizeof path, "/api/v1/videos/%s/playback", id);
	cr_assert_eq(http_do("GET", path, h, NULL, 0, &r), 0);
	json_object *o = vh_json(&r);
	cr_assert_float_eq(atof(vh_str(o, "playback.position")), 1.5, 0.01);
	json_object_put(o);
	http_free(&r);
	free(id); free(h);
}

Test(video_delivery, captions_upload_converts_srt_and_refuses_binary)
{
	char *h = vh_admin();
	char *id = ready_video(h, "captions.mp4");
	char path[256], hdr[1024];
	snprintf(path, sizeof path, "/api/v1/videos/%s/captions?lang=ja&label=%%E6%%97%%A5%%E6%%9C%%AC%%E8%%AA%%9E", id);
	snprintf(hdr, sizeof hdr, "%sContent-Type: application/octet-stream\r\n", h);
	const char *srt = "1\r\n00:00:00,500 --> 00:00:01,500\r\nこんにちは\r\n";
	struct http_res r;
	cr_assert_eq(http_do("PUT", path, hdr, srt, strlen(srt), &r), 0);
	cr_assert_eq(r.status, 200, "%d %.200s", r.status, r.body);
	http_free(&r);
	char *vtt = vh_data_path("hls/%s/captions-ja.vtt", id), *s = vh_read(vtt);
	cr_assert_not_null(s);
	cr_assert(!strncmp(s, "WEBVTT", 6));
	cr_assert(strstr(s, "00:00:00.500 --> 00:00:01.500"));
	free(s);
	const char bin[] = "\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR";
	cr_assert_eq(http_do("PUT", path, hdr, bin, sizeof bin - 1, &r), 0);
	cr_assert_eq(r.status, 422);
	http_free(&r);
	/* the signed caption URL plays through nginx with the VTT MIME type */
	char *url = vh_sign(id, "captions-ja.vtt", (long)time(NULL) + 60);
	cr_assert_eq(http_do("GET", url, NULL, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 200);
	const char *ct = http_header(&r, "Content-Type");
	cr_assert(ct && strstr(ct, "text/vtt"));
	http_free(&r);
	free(url); free(vtt); free(id); free(h);
}

Test(video_delivery, delete_removes_the_published_ladder)
{
	char *h = vh_admin();
	char *id = ready_video(h, "delete.mp4");
	char path[256];
	snprintf(path, sizeof path, "/api/v1/videos/%s", id);
	cr_assert_eq(vh_status("DELETE", path, h), 204);
	cr_assert_eq(vh_status("GET", path, h), 404);
	char *dir = vh_data_path("hls/%s", id);
	struct stat st;
	cr_assert_neq(stat(dir, &st), 0);
	free(dir); free(id); free(h);
}
