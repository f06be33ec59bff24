/* The shipped Apache config (conf/apache/rstream.conf.in) in front of the test stack, started by scripts/apache.sh
 * on HTTP_PORT+7: the same checks as against nginx — login, a page, an upload, signed HLS served, forged and
 * expired links refused (the signature is verified by `rstream hls-check` through a RewriteMap). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "harness.h"
#include "video_sign.h"

#define VID "00000000000ab0de"

static void write_file(const char *rel, const char *data, size_t len)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/hls", t_env("RSTREAM_DATA_DIR"));
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/hls/" VID, t_env("RSTREAM_DATA_DIR"));
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/hls/" VID "/%s", t_env("RSTREAM_DATA_DIR"), rel);
	FILE *f = fopen(path, "w");
	cr_assert(f, "cannot write %s: %s", path, strerror(errno));
	cr_assert_eq(fwrite(data, 1, len, f), len);
	fclose(f);
}

/* Start Apache once (later tests find it answering) and point the harness at it; tests/run.sh's
 * `stack.sh stop` stops it with the stack. */
static void setup(void)
{
	int port = atoi(t_env("HTTP_PORT")) + 7;
	char url[64], cmd[4096];
	snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
	snprintf(cmd, sizeof cmd, "curl -s -o /dev/null --max-time 2 -w '%%{http_code}' %s/healthz | grep -q 200 || "
		 "bash '%s/scripts/apache.sh' start >&2", url, t_env("RSTREAM_ROOT"));
	cr_assert_eq(system(cmd), 0, "scripts/apache.sh start failed (see var/test/log/apache-error.log)");
	setenv("RSTREAM_TEST_URL", url, 1);
	write_file("master.m3u8", "#EXTM3U\n#EXT-X-VERSION:7\n", 25);
	char seg[4096];
	for (size_t i = 0; i < sizeof seg; i++) seg[i] = (char)(i * 7);
	write_file("seg_00001.m4s", seg, sizeof seg);
}

TestSuite(stack_apache, .init = setup);

static char *signed_url(const char *file, long expires)
{
	static char url[512];
	cr_assert_eq(video_sign_url(t_env("RSTREAM_HLS_SECRET"), VID, file, expires, url, sizeof url), 0);
	return url;
}

static struct http_res get(const char *path, const char *headers)
{
	struct http_res r;
	cr_assert_eq(http_do("GET", path, headers, NULL, 0, &r), 0, "Apache is not answering");
	return r;
}

static void assert_header(const struct http_res *r, const char *name, const char *needle)
{
	const char *v = http_header(r, name);
	cr_assert(v && strstr(v, needle), "%s: expected '%s', got '%s'", name, needle, v ? v : "(none)");
}

Test(stack_apache, login_and_a_page_go_through_fastcgi)
{
	char *tok = t_login(t_env("RSTREAM_TEST_ADMIN_EMAIL"), t_env("RSTREAM_TEST_ADMIN_PASSWORD"));
	cr_assert_not_null(tok, "API login through Apache failed");
	free(tok);
	char csrf[65];
	char *jar = t_browser_login(t_env("RSTREAM_TEST_ADMIN_EMAIL"), t_env("RSTREAM_TEST_ADMIN_PASSWORD"), csrf);
	cr_assert_not_null(jar, "browser login through Apache failed");
	char hdr[4096];
	snprintf(hdr, sizeof hdr, "Cookie: %s\r\n", jar);
	struct http_res r = get("/admin/users", hdr);
	cr_assert_eq(r.status, 200, "/admin/users answered %d", r.status);
	cr_assert(strstr(r.body, "<html"), "not a page");
	assert_header(&r, "Content-Security-Policy", "default-src");
	http_free(&r);
	free(jar);
}

Test(stack_apache, static_files_are_served_by_apache)
{
	struct http_res r = get("/static/css/app.css", NULL);
	cr_assert_eq(r.status, 200);
	assert_header(&r, "Content-Type", "text/css");
	assert_header(&r, "Cache-Control", "max-age=300");
	assert_header(&r, "X-Content-Type-Options", "nosniff");
	http_free(&r);
}

Test(stack_apache, upload_reaches_the_app_and_anonymous_upload_is_refused)
{
	char file[] = "/tmp/rs-apache-upload-XXXXXX";
	int fd = mkstemp(file);
	cr_assert(fd >= 0);
	const char *csv = "sourcedId,status,dateLastModified,enabledUser,username,givenName,familyName,role\n";
	cr_assert_eq(write(fd, csv, strlen(csv)), (ssize_t)strlen(csv));
	close(fd);
	struct http_res r;
	cr_assert_eq(http_do_file("POST", "/api/v1/roster/imports?filename=users.csv",
				  "Accept: application/json\r\n", file, &r), 0);
	cr_assert_eq(r.status, 401, "anonymous upload answered %d", r.status);
	http_free(&r);
	char *tok = t_login(t_env("RSTREAM_TEST_ADMIN_EMAIL"), t_env("RSTREAM_TEST_ADMIN_PASSWORD"));
	cr_assert_not_null(tok);
	char hdr[1024];
	snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\nAccept: application/json\r\n", tok);
	cr_assert_eq(http_do_file("POST", "/api/v1/roster/imports?filename=users.csv", hdr, file, &r), 0);
	cr_assert_eq(r.status, 202, "upload answered %d: %s", r.status, r.body);
	cr_assert(strstr(r.body, "\"job_id\""), "%s", r.body);
	http_free(&r);
	free(tok);
	unlink(file);
}

Test(stack_apache, signed_segment_is_served)
{
	struct http_res r = get(signed_url("seg_00001.m4s", time(NULL) + 600), NULL);
	cr_assert_eq(r.status, 200, "signed segment answered %d", r.status);
	cr_assert_eq(r.body_len, 4096);
	cr_assert_eq((unsigned char)r.body[100], (unsigned char)(100 * 7));
	assert_header(&r, "Content-Type", "video/iso.segment");
	assert_header(&r, "Cache-Control", "immutable");
	http_free(&r);
	r = get(signed_url("master.m3u8", time(NULL) + 600), NULL);
	cr_assert_eq(r.status, 200);
	assert_header(&r, "Content-Type", "application/vnd.apple.mpegurl");
	assert_header(&r, "Cache-Control", "max-age=2");
	http_free(&r);
}

Test(stack_apache, forged_token_is_403)
{
	char url[512];
	snprintf(url, sizeof url, "%s", signed_url("seg_00001.m4s", time(NULL) + 600));
	char *tok = url + strlen("/hls/");
	tok[0] = tok[0] == 'A' ? 'B' : 'A';
	struct http_res r = get(url, NULL);
	cr_assert_eq(r.status, 403, "forged token answered %d", r.status);
	http_free(&r);
	/* a made-up token with a far expiry: what the old expiry-only rule let through */
	r = get("/hls/AAAAAAAAAAAAAAAAAAAAAA/99999999999/" VID "/seg_00001.m4s", NULL);
	cr_assert_eq(r.status, 403, "made-up token answered %d", r.status);
	http_free(&r);
	/* a token for one video does not open another, nor a later expiry */
	const char *good = signed_url("master.m3u8", time(NULL) + 600);
	char other[512];
	snprintf(other, sizeof other, "%.*s0000000000000bad/master.m3u8", (int)(strstr(good, VID) - good), good);
	r = get(other, NULL);
	cr_assert_eq(r.status, 403);
	http_free(&r);
	long exp = time(NULL) + 600;
	snprintf(other, sizeof other, "%.27s/%ld/" VID "/master.m3u8", signed_url("master.m3u8", exp), exp + 1);
	r = get(other, NULL);
	cr_assert_eq(r.status, 403, "%s answered %d", other, r.status);
	http_free(&r);
}

Test(stack_apache, expired_link_is_410)
{
	struct http_res r = get(signed_url("seg_00001.m4s", time(NULL) - 5), NULL);
	cr_assert_eq(r.status, 410, "expired link answered %d", r.status);
	http_free(&r);
}

Test(stack_apache, hls_paths_outside_the_pattern_are_refused)
{
	const char *bad[] = {"/hls/", "/hls/" VID "/master.m3u8", "/hls/x/1/" VID "/../../secret",
			     "/hls/AAAAAAAAAAAAAAAAAAAAAA/99999999999/" VID "/..%2f..%2fsecret"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct http_res r = get(bad[i], NULL);
		cr_assert(r.status == 403 || r.status == 404 || r.status == 400, "%s answered %d", bad[i], r.status);
		http_free(&r);
	}
}
