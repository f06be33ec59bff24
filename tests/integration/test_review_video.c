/* Review findings in the video area, driven over HTTP: each test fails on the code before its fix. */
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
