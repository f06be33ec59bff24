/* Resumable upload: create, PUT chunks at offsets, resume after a gap, complete. Out-of-order and repeated chunks,
 * an upload over the limit (413 before any byte is stored) and cancel. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "video_helpers.h"

static char *create_upload(const char *h, const char *name, long size, int expect)
{
	char body[512], hdr[1024];
	snprintf(body, sizeof body, "{\"filename\":\"%s\",\"size\":%ld,\"title\":\"Chunked\"}", name, size);
	snprintf(hdr, sizeof hdr, "%sContent-Type: application/json\r\n", h);
	struct http_res r;
	cr_assert_eq(http_do("POST", "/api/v1/videos/uploads", hdr, body, strlen(body), &r), 0);
	cr_assert_eq(r.status, expect, "create: %d %.300s", r.status, r.body);
	char *id = NULL;
	if (expect == 201) {
		json_object *o = vh_json(&r);
		id = strdup(vh_str(o, "upload.id"));
		json_object_put(o);
	}
	http_free(&r);
	return id;
}

/* write bytes [off, off+len) of file into a chunk file and PUT it; returns the response */
static struct http_res put_chunk(const char *h, const char *id, const char *file, long off, long len, long at)
{
	char *chunk = vh_path("chunk.bin");
	FILE *in = fopen(file, "rb"), *out = fopen(chunk, "wb");
	cr_assert(in && out);
	fseek(in, off, SEEK_SET);
	char b[65536];
	long left = len;
	while (left > 0) {
		size_t n = fread(b, 1, left < (long)sizeof b ? (size_t)left : sizeof b, in);
		if (!n) break;
		fwrite(b, 1, n, out);
		left -= (long)n;
	}
	fclose(in);
	fclose(out);
	char path[256], hdr[1024];
	snprintf(path, sizeof path, "/api/v1/videos/uploads/%s?offset=%ld", id, at);
	snprintf(hdr, sizeof hdr, "%sContent-Type: application/octet-stream\r\n", h);
	struct http_res r;
	cr_assert_eq(http_do_file("PUT", path, hdr, chunk, &r), 0);
	free(chunk);
	return r;
}

static long received_of(const struct http_res *r)
{
	json_object *o = vh_json(r);
	const char *v = vh_str(o, "upload.received");
	long n = v ? atol(v) : -1;
	json_object_put(o);
	return n;
}

static long expected_of(const struct http_res *r)
{
	json_object *o = vh_json(r);
	const char *v = vh_str(o, "error.details.expected_offset");
	long n = v ? atol(v) : -1;
	json_object_put(o);
	return n;
}

Test(video_resumable, chunks_out_of_order_or_repeated_are_handled_and_the_file_arrives_whole)
{
	char *h = vh_admin();
	char *f = vh_clip("chunked.mp4", "320x240", "3", 1, NULL);
	struct stat st;
	cr_assert_eq(stat(f, &st), 0);
	long size = st.st_size, half = size / 2;
	char *id = create_upload(h, "chunked.mp4", size, 201);

	/* second half first: refused with the offset the server expects */
	struct http_res r = put_chunk(h, id, f, half, size - half, half);
	cr_assert_eq(r.status, 409, "%d %.200s", r.status, r.body);
	cr_assert_eq(expected_of(&r), 0);
	http_free(&r);

	r = put_chunk(h, id, f, 0, half, 0);
	cr_assert_eq(r.status, 200, "%d %.200s", r.status, r.body);
	cr_assert_eq(received_of(&r), half);
	http_free(&r);

	/* the same chunk again (a retry after a lost answer): accepted, nothing appended */
	r = put_chunk(h, id, f, 0, half, 0);
	cr_assert_eq(r.status, 200);
	cr_assert_eq(received_of(&r), half);
	http_free(&r);

	/* an overlapping chunk is refused with the expected offset */
	r = put_chunk(h, id, f, 10, half, 10);
	cr_assert_eq(r.status, 409);
	cr_assert_eq(expected_of(&r), half);
	http_free(&r);

	/* completing early is refused */
	char path[256];
	snprintf(path, sizeof path, "/api/v1/videos/uploads/%s/complete", id);
	cr_assert_eq(vh_status("POST", path, h), 409);

	/* resume: ask how much arrived, send the rest */
	char show[256];
	snprintf(show, sizeof show, "/api/v1/videos/uploads/%s", id);
	cr_assert_eq(http_do("GET", show, h, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 200);
	long at = received_of(&r);
	http_free(&r);
	cr_assert_eq(at, half);
	r = put_chunk(h, id, f, at, size - at, at);
	cr_assert_eq(r.status, 200);
	cr_assert_eq(received_of(&r), size);
	http_free(&r);

	cr_assert_eq(http_do("POST", path, h, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 201, "%d %.300s", r.status, r.body);
	json_object *o = vh_json(&r);
	char *vid = strdup(vh_str(o, "video.id"));
	json_object_put(o);
	http_free(&r);

	/* the stored source is byte for byte the file we cut into chunks */
	char *src = vh_data_path("uploads/videos/%s.src", vid), cmd[2048];
	snprintf(cmd, sizeof cmd, "cmp -s '%s' '%s'", f, src);
	cr_assert_eq(system(cmd), 0, "assembled file differs");
	json_object *v = vh_wait(h, vid, 120);
	cr_assert_str_eq(vh_str(v, "video.status"), "ready");
	json_object_put(v);
	/* a finished upload takes no more chunks */
	r = put_chunk(h, id, f, 0, 10, 0);
	cr_assert_eq(r.status, 409);
	http_free(&r);
	free(src); free(vid); free(id); free(f); free(h);
}

Test(video_resumable, a_chunk_past_the_announced_size_is_refused)
{
	char *h = vh_admin();
	char *f = vh_clip("small.mp4", "320x240", "1", 0, NULL);
	char *id = create_upload(h, "small.mp4", 1000, 201);
	struct stat st;
	cr_assert_eq(stat(f, &st), 0);
	struct http_res r = put_chunk(h, id, f, 0, st.st_size, 0);
	cr_assert_eq(r.status, 413, "%d %.200s", r.status, r.body);
	http_free(&r);
	free(id); free(f); free(h);
}

Test(video_resumable, an_upload_over_the_size_limit_is_refused_before_any_byte)
{
	char *h = vh_admin();
	char *none = create_upload(h, "huge.mp4", 1L << 50, 413);
	cr_assert_null(none);
	create_upload(h, "empty.mp4", 0, 422);
	free(h);
}

Test(video_resumable, nginx_refuses_an_oversized_body_with_413_before_storing_it)
{
	/* headers only, announcing more than any limit: nginx answers at once without reading a body */
	const char *url = t_env("RSTREAM_TEST_URL");
	int port = atoi(strrchr(url, ':') + 1);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	char req[1024];
	snprintf(req, sizeof req, "POST /api/v1/videos HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
		 "Content-Type: application/octet-stream\r\nContent-Length: 99999999999\r\nConnection: close\r\n\r\n",
		 t_admin_token());
	cr_assert_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	char resp[256] = "";
	ssize_t n = read(fd, resp, sizeof resp - 1);
	close(fd);
	cr_assert_gt(n, 12);
	cr_assert(!strncmp(resp, "HTTP/1.1 413", 12), "got %.40s", resp);
}

Test(video_resumable, cancel_drops_the_upload_and_its_placeholder)
{
	char *h = vh_admin();
	char *f = vh_clip("cancel.mp4", "320x240", "1", 0, NULL);
	struct stat st;
	cr_assert_eq(stat(f, &st), 0);
	char *id = create_upload(h, "cancel.mp4", st.st_size, 201);
	struct http_res r = put_chunk(h, id, f, 0, st.st_size / 2, 0);
	cr_assert_eq(r.status, 200);
	http_free(&r);
	char path[256];
	snprintf(path, sizeof path, "/api/v1/videos/uploads/%s", id);
	cr_assert_eq(vh_status("DELETE", path, h), 204);
	char *part = vh_data_path("uploads/parts/%s.part", id);
	cr_assert_neq(stat(part, &st), 0, "the partial file is gone");
	const char *p[1] = {id};
	char *state = t_db_value("SELECT state FROM video_uploads WHERE id = $1", 1, p);
	cr_assert_str_eq(state, "cancelled");
	free(state); free(part); free(id); free(f); free(h);
}

Test(video_resumable, someone_elses_upload_is_not_found)
{
	char *h = vh_admin();
	char *f = vh_clip("other.mp4", "320x240", "1", 0, NULL);
	char *id = create_upload(h, "other.mp4", 100, 201);
	cr_assert_gt(t_make_user("video-creator-other@test.example", "creator", "Creator-password-1"), 0);
	char *tok = t_login("video-creator-other@test.example", "Creator-password-1");
	char *h2 = vh_bearer(tok);
	struct http_res r = put_chunk(h2, id, f, 0, 100, 0);
	cr_assert_eq(r.status, 404);
	http_free(&r);
	free(h2); free(tok); free(id); free(f); free(h);
}

Test(video_resumable, uploads_abandoned_for_a_week_are_swept_when_the_next_one_starts)
{
	char *h = vh_admin();
	char *old = create_upload(h, "abandoned.mp4", 5000, 201);
	const char *p[1] = {old};
	char *vid = t_db_value("SELECT video_id FROM video_uploads WHERE id = $1", 1, p);
	cr_assert_not_null(vid);
	free(t_db_value("UPDATE video_uploads SET updated_at = now() - interval '8 days' WHERE id = $1 RETURNING id", 1, p));
	char *fresh = create_upload(h, "fresh.mp4", 5000, 201);
	char *state = t_db_value("SELECT state FROM video_uploads WHERE id = $1", 1, p);
	cr_assert_str_eq(state, "cancelled");
	const char *pv[1] = {vid};
	char *left = t_db_value("SELECT count(*) FROM videos WHERE id = $1::bigint", 1, pv);
	cr_assert_str_eq(left, "0", "the placeholder video is gone");
	const char *pf[1] = {fresh};
	char *fs = t_db_value("SELECT state FROM video_uploads WHERE id = $1", 1, pf);
	cr_assert_str_eq(fs, "open", "a fresh upload is left alone");
	free(fs); free(left); free(state); free(fresh); free(vid); free(old); free(h);
}
