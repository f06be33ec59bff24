/* Helpers for the video integration tests (header-only, static): make clips with ffmpeg at test time,
 * upload them, wait for the transcode, read JSON fields, sign HLS URLs with the stack's secret. */
#ifndef RS_VIDEO_HELPERS_H
#define RS_VIDEO_HELPERS_H
#include <criterion/criterion.h>
#include <fcntl.h>
#include <ftw.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "harness.h"
#include "http.h"
#include "video_sign.h"

/* run argv without a shell, output discarded; exit status or -1 */
__attribute__((unused)) static int vh_run(char *const argv[])
{
	pid_t pid = fork();
	if (pid < 0) return -1;
	if (pid == 0) {
		int dn = open("/dev/null", O_RDWR);
		if (dn >= 0) { dup2(dn, 0); dup2(dn, 1); dup2(dn, 2); }
		execvp(argv[0], argv);
		_exit(127);
	}
	int st;
	if (waitpid(pid, &st, 0) < 0) return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char vh_scratch[256];

static int vh_rm(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb; (void)ftw;
	if (flag == FTW_DP) rmdir(p); else unlink(p);
	return 0;
}

static void vh_cleanup(void)
{
	if (vh_scratch[0]) nftw(vh_scratch, vh_rm, 8, FTW_DEPTH | FTW_PHYS);
}

/* a per-process scratch directory for clips, removed when the test process exits */
__attribute__((unused)) static const char *vh_dir(void)
{
	if (!vh_scratch[0]) {
		snprintf(vh_scratch, sizeof vh_scratch, "/tmp/rstream-video-test-XXXXXX");
		cr_assert_not_null(mkdtemp(vh_scratch));
		atexit(vh_cleanup);
	}
	return vh_scratch;
}

__attribute__((unused)) static char *vh_path(const char *name)
{
	char *p;
	cr_assert(asprintf(&p, "%s/%s", vh_dir(), name) > 0);
	return p;
}

/* ffmpeg test sources: size "WxH", seconds, audio yes/no, extra output options (NULL-terminated) */
__attribute__((unused)) static char *vh_clip(const char *name, const char *size, const char *seconds, int audio, ...)
{
	char *out = vh_path(name), src[128];
	snprintf(src, sizeof src, "testsrc2=size=%s:rate=25", size);
	char *argv[64];
	int n = 0;
	const char *head[] = {"ffmpeg", "-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i", src};
	for (size_t i = 0; i < sizeof head / sizeof head[0]; i++) argv[n++] = (char *)head[i];
	if (audio) { argv[n++] = "-f"; argv[n++] = "lavfi"; argv[n++] = "-i"; argv[n++] = "sine=frequency=440:sample_rate=44100"; }
	argv[n++] = "-t"; argv[n++] = (char *)seconds;
	argv[n++] = "-c:v"; argv[n++] = "libx264"; argv[n++] = "-preset"; argv[n++] = "ultrafast";
	argv[n++] = "-pix_fmt"; argv[n++] = "yuv420p";
	if (audio) { argv[n++] = "-c:a"; argv[n++] = "aac"; argv[n++] = "-ac"; argv[n++] = "1"; }
	va_list ap;
	va_start(ap, audio);
	for (const char *a; (a = va_arg(ap, const char *)) && n < 60;) argv[n++] = (char *)a;
	va_end(ap);
	argv[n++] = out;
	argv[n] = NULL;
	cr_assert_eq(vh_run(argv), 0, "ffmpeg could not make %s", name);
	return out;
}

__attribute__((unused)) static char *vh_bearer(const char *token)
{
	char *h;
	cr_assert(asprintf(&h, "Authorization: Bearer %s\r\nAccept: application/json\r\n", token) > 0);
	return h;
}

/* a number no other test process or call uses: for unique e-mails, titles and public ids */
__attribute__((unused)) static long vh_uniq(void)
{
	static long n;
	return (long)time(NULL) * 1000 + (long)getpid() % 1000 * 7 + ++n;
}

/* a fresh creator "<prefix><n>@test.example"; returns its id, its bearer header in *h */
__attribute__((unused)) static long vh_creator(const char *prefix, char **h)
{
	char email[128];
	snprintf(email, sizeof email, "%s%ld@test.example", prefix, vh_uniq());
	long id = t_make_user(email, "creator", "creator-password-1");
	char *tok = t_login(email, "creator-password-1");
	cr_assert_not_null(tok);
	*h = vh_bearer(tok);
	free(tok);
	return id;
}

__attribute__((unused)) static char *vh_admin(void)
{
	const char *t = t_admin_token();
	cr_assert_not_null(t, "admin login");
	return vh_bearer(t);
}

__attribute__((unused)) static json_object *vh_json(const struct http_res *r)
{
	json_object *o = json_tokener_parse(r->body ? r->body : "");
	cr_assert_not_null(o, "JSON body expected, got HTTP %d: %.300s", r->status, r->body ? r->body : "");
	return o;
}

/* dotted path "video.id" → string (static copy) or NULL */
__attribute__((unused)) static const char *vh_str(json_object *o, const char *path)
{
	static char out[4096];
	char tmp[256];
	snprintf(tmp, sizeof tmp, "%s", path);
	json_object *cur = o;
	for (char *save = NULL, *k = strtok_r(tmp, ".", &save); k; k = strtok_r(NULL, ".", &save)) {
		if (cur && json_object_is_type(cur, json_type_array)) {   /* "list.0.name": numeric steps index arrays */
			cur = json_object_array_get_idx(cur, (size_t)atoi(k));
			continue;
		}
		if (!cur || !json_object_object_get_ex(cur, k, &cur)) return NULL;
	}
	if (!cur || json_object_is_type(cur, json_type_null)) return NULL;
	snprintf(out, sizeof out, "%s", json_object_get_string(cur));
	return out;
}

/* POST /api/v1/videos with the file as the body. Returns the response (caller frees). */
__attribute__((unused)) static struct http_res vh_upload(const char *headers, const char *file, const char *title, const char *filename)
{
	char path[1024], hdr[2048];
	arena *a = arena_new(0);
	snprintf(path, sizeof path, "/api/v1/videos?title=%s&filename=%s", url_encode(a, title), url_encode(a, filename));
	snprintf(hdr, sizeof hdr, "%sContent-Type: application/octet-stream\r\n", headers);
	arena_free(a);
	struct http_res r;
	cr_assert_eq(http_do_file("POST", path, hdr, file, &r), 0);
	return r;
}

/* Upload and expect acceptance: returns the public id (malloc'd). */
__attribute__((unused)) static char *vh_upload_ok(const char *headers, const char *file, const char *title)
{
	const char *base = strrchr(file, '/');
	struct http_res r = vh_upload(headers, file, title, base ? base + 1 : file);
	cr_assert_eq(r.status, 201, "upload of %s answered %d: %.400s", file, r.status, r.body);
	json_object *o = vh_json(&r);
	char *id = strdup(vh_str(o, "video.id"));
	json_object_put(o);
	http_free(&r);
	return id;
}

/* Poll GET /api/v1/videos/:id until ready/failed/rejected. Returns the final JSON (caller puts). */
__attribute__((unused)) static json_object *vh_wait(const char *headers, const char *id, int timeout_s)
{
	char path[256];
	snprintf(path, sizeof path, "/api/v1/videos/%s", id);
	time_t start = time(NULL);
	for (;;) {
		struct http_res r;
		cr_assert_eq(http_do("GET", path, headers, NULL, 0, &r), 0);
		cr_assert_eq(r.status, 200, "GET %s: %d %.300s", path, r.status, r.body);
		json_object *o = vh_json(&r);
		http_free(&r);
		const char *st = vh_str(o, "video.status");
		if (st && (!strcmp(st, "ready") || !strcmp(st, "failed") || !strcmp(st, "rejected"))) return o;
		json_object_put(o);
		cr_assert_lt(time(NULL) - start, timeout_s, "video %s not done after %ds", id, timeout_s);
		usleep(200 * 1000);
	}
}

/* a signed path for file of video id, expiring at exp (the stack's RSTREAM_HLS_SECRET) */
__attribute__((unused)) static char *vh_sign(const char *id, const char *file, long exp)
{
	char url[512];
	cr_assert_eq(video_sign_url(t_env("RSTREAM_HLS_SECRET"), id, file, exp, url, sizeof url), 0);
	return strdup(url);
}

__attribute__((unused)) static int vh_status(const char *method, const char *path, const char *headers)
{
	struct http_res r;
	if (http_do(method, path, headers, NULL, 0, &r) != 0) return -1;
	int s = r.status;
	http_free(&r);
	return s;
}

/* ffprobe width/height of the first video stream of a file or URL; -1 on failure */
__attribute__((unused)) static int vh_dims(const char *target, int *w, int *h)
{
	char cmd[2048];
	snprintf(cmd, sizeof cmd, "ffprobe -v error -select_streams v:0 -show_entries stream=width,height -of csv=p=0 '%s'", target);
	FILE *p = popen(cmd, "r");
	if (!p) return -1;
	int n = fscanf(p, "%d,%d", w, h);
	pclose(p);
	return n == 2 ? 0 : -1;
}

__attribute__((unused)) static char *vh_data_path(const char *fmt, const char *id)
{
	char *p, rel[512];
	snprintf(rel, sizeof rel, fmt, id);
	cr_assert(asprintf(&p, "%s/%s", t_env("RSTREAM_DATA_DIR"), rel) > 0);
	return p;
}

__attribute__((unused)) static char *vh_read(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) return NULL;
	char *s = calloc(1, 1 << 20);
	size_t n = fread(s, 1, (1 << 20) - 1, f);
	s[n] = 0;
	fclose(f);
	return s;
}
#endif
