/* Review findings in the video area, driven over HTTP: each test fails on the code before its fix. */
#include <pthread.h>
#include "video_helpers.h"

/* A creator uploads an ffconcat list naming another user's stored source (uploads/videos/<id>.src sit side by side):
 * accepted, the worker would transcode the other video and hand it to the uploader. */
Test(review_video, a_file_list_naming_another_videos_source_is_rejected)
{
	char *admin = vh_admin();
	char *clip = vh_clip("private.mp4", "320x240", "2", 0, NULL);
	char *victim = vh_upload_ok(admin, clip, "Private");
	cr_assert_gt(t_make_user("review.creator@example.jp", "creator", "review-password-1"), 0);
	char *tok = t_login("review.creator@example.jp", "review-password-1");
	cr_assert_not_null(tok);
	char *creator = vh_bearer(tok);

	char *list = vh_path("list.ffconcat");
	FILE *f = fopen(list, "w");
	cr_assert_not_null(f);
	fprintf(f, "ffconcat version 1.0\nfile %s.src\nduration 2\n", victim);
	fclose(f);
	struct http_res r = vh_upload(creator, list, "Copy", "copy.mp4");
	cr_assert_eq(r.status, 422, "a file list was accepted: HTTP %d %.300s", r.status, r.body);
	http_free(&r);

	/* an HLS playlist pointing at a media file by absolute path: the same */
	char *m3u = vh_path("list.m3u8");
	f = fopen(m3u, "w");
	cr_assert_not_null(f);
	fprintf(f, "#EXTM3U\n#EXT-X-TARGETDURATION:3\n#EXTINF:2,\n%s\n#EXT-X-ENDLIST\n", clip);
	fclose(f);
	r = vh_upload(creator, m3u, "Copy 2", "copy2.mp4");
	cr_assert_eq(r.status, 422, "an HLS playlist was accepted: HTTP %d %.300s", r.status, r.body);
	http_free(&r);
	free(m3u); free(list); free(creator); free(tok); free(victim); free(clip); free(admin);
}

/* The catalog's SQL let a guest account with an org see that org's videos (the watch check says no), and a listed
 * video carries a signed poster URL whose token opens every file of the video. */
Test(review_video, a_guest_in_an_org_does_not_see_the_orgs_videos_in_the_catalog)
{
	cr_assert_gt(t_make_user("review.guest@example.jp", "guest", "review-password-1"), 0);
	cr_assert_gt(t_make_user("review.viewer@example.jp", "viewer", "review-password-1"), 0);
	const char *p[1] = {"review.guest@example.jp"}, *p2[1] = {"review.viewer@example.jp"};
	free(t_db_value("UPDATE users SET org_sourced_id = 'org-review-1' WHERE email = $1 RETURNING id", 1, p));
	free(t_db_value("UPDATE users SET org_sourced_id = 'org-review-1' WHERE email = $1 RETURNING id", 1, p2));
	char pid[17];
	snprintf(pid, sizeof pid, "%016lx", (unsigned long)time(NULL) * 7919UL + (unsigned long)getpid());
	const char *vp[1] = {pid};
	char *row = t_db_value("INSERT INTO videos (public_id, title, status, visibility, org_sourced_id, poster) "
			       "VALUES ($1, 'Org only ' || $1, 'ready', 'org', 'org-review-1', 'poster.jpg') RETURNING id", 1, vp);
	cr_assert_not_null(row, "insert video");
	free(row);
	char path[256];
	snprintf(path, sizeof path, "/api/v1/videos?q=%s", pid);

	char *vt = t_login("review.viewer@example.jp", "review-password-1");
	cr_assert_not_null(vt);
	char *vh = vh_bearer(vt);
	struct http_res r;
	cr_assert_eq(http_do("GET", path, vh, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 200);
	cr_assert(strstr(r.body, pid), "a viewer of the org sees it: %.300s", r.body);
	http_free(&r);

	char *gt = t_login("review.guest@example.jp", "review-password-1");
	cr_assert_not_null(gt);
	char *gh = vh_bearer(gt);
	cr_assert_eq(http_do("GET", path, gh, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 200);
	cr_assert_null(strstr(r.body, pid), "a guest was shown an org video: %.400s", r.body);
	http_free(&r);
	snprintf(path, sizeof path, "/api/v1/videos/%s", pid);
	cr_assert_eq(vh_status("GET", path, gh), 404);
	free(gh); free(gt); free(vh); free(vt);
}

static void *commit_later(void *conn)
{
	sleep(1);
	PQclear(PQexec(conn, "COMMIT"));
	return NULL;
}

/* Cancel read the upload as open, then marked it cancelled and deleted its video without looking again: a complete
 * that won the row lock meanwhile had its video deleted under it (the source orphaned on disk, a 500 for the client). */
Test(review_video, cancel_after_a_concurrent_complete_leaves_the_video_alone)
{
	char *h = vh_admin(), hdr[1024];
	const char *body = "{\"filename\":\"race.mp4\",\"size\":100,\"title\":\"Race\"}";
	snprintf(hdr, sizeof hdr, "%sContent-Type: application/json\r\n", h);
	struct http_res r;
	cr_assert_eq(http_do("POST", "/api/v1/videos/uploads", hdr, body, strlen(body), &r), 0);
	cr_assert_eq(r.status, 201, "%.300s", r.body);
	json_object *o = vh_json(&r);
	char *id = strdup(vh_str(o, "upload.id")), *vid = strdup(vh_str(o, "upload.video_id"));
	json_object_put(o);
	http_free(&r);

	/* a complete in flight: it holds the upload row and has made it 'complete', not yet committed */
	PGconn *c = t_db();
	PQclear(PQexec(c, "BEGIN"));
	const char *p[1] = {id};
	PGresult *u = PQexecParams(c, "UPDATE video_uploads SET state = 'complete' WHERE id = $1", 1, NULL, p, NULL, NULL, 0);
	cr_assert_eq(PQresultStatus(u), PGRES_COMMAND_OK, "%s", PQerrorMessage(c));
	PQclear(u);
	pthread_t th;
	cr_assert_eq(pthread_create(&th, NULL, commit_later, c), 0);
	char path[256];
	snprintf(path, sizeof path, "/api/v1/videos/uploads/%s", id);
	int st = vh_status("DELETE", path, h);
	pthread_join(th, NULL);
	cr_assert_eq(st, 409, "cancel of a completed upload answered %d", st);
	const char *vp[1] = {vid};
	char *still = t_db_value("SELECT count(*) FROM videos WHERE public_id = $1", 1, vp);
	cr_assert_str_eq(still, "1", "the completed upload's video was deleted");
	char *state = t_db_value("SELECT state FROM video_uploads WHERE id = $1", 1, p);
	cr_assert_str_eq(state, "complete");
	free(state); free(still); free(vid); free(id); free(h);
}
