/* What nginx answers by itself in the stack's config (conf/nginx.conf.in): static files with their cache
 * headers, and HLS files behind secure_link signed the way the app signs them (video_sign.c). */
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

#define VID "00000000000a11ce"

static void write_file(const char *rel, const char *data, size_t len)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/hls/" VID, t_env("RSTREAM_DATA_DIR"));
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/hls/" VID "/%s", t_env("RSTREAM_DATA_DIR"), rel);
	FILE *f = fopen(path, "w");
	cr_assert(f, "cannot write %s: %s", path, strerror(errno));
	cr_assert_eq(fwrite(data, 1, len, f), len);
	fclose(f);
}

static void setup_hls(void)
{
	char hls[4096];
	snprintf(hls, sizeof hls, "%s/hls", t_env("RSTREAM_DATA_DIR"));
	mkdir(hls, 0755);
	const char *m3u8 = "#EXTM3U\n#EXT-X-VERSION:7\n";
	write_file("master.m3u8", m3u8, strlen(m3u8));
	char seg[4096];
	for (size_t i = 0; i < sizeof seg; i++) seg[i] = (char)(i * 7);
	write_file("seg_00001.m4s", seg, sizeof seg);
	write_file("captions.vtt", "WEBVTT\n\n", 8);
}

static const char *secret(void) { return t_env("RSTREAM_HLS_SECRET"); }

static char *signed_url(const char *file, long expires)
{
	static char url[512];
	cr_assert_eq(video_sign_url(secret(), VID, file, expires, url, sizeof url), 0);
	return url;
}

static struct http_res get(const char *path, const char *headers)
{
	struct http_res r;
	cr_assert_eq(http_do("GET", path, headers, NULL, 0, &r), 0);
	return r;
}

static void assert_header(const struct http_res *r, const char *name, const char *needle)
{
	const char *v = http_header(r, name);
	cr_assert(v && strstr(v, needle), "%s: expected '%s', got '%s'", name, needle, v ? v : "(none)");
}

Test(stack_nginx, static_files_are_served_with_a_short_cache)
{
	struct http_res r = get("/static/css/app.css", NULL);
	cr_assert_eq(r.status, 200);
	assert_header(&r, "Content-Type", "text/css");
	assert_header(&r, "Cache-Control", "max-age=300");
	assert_header(&r, "X-Content-Type-Options", "nosniff");
	http_free(&r);
}

Test(stack_nginx, vendor_files_are_immutable)
{
	struct http_res r = get("/static/vendor/hls.min.js", NULL);
	cr_assert_eq(r.status, 200, "static/vendor/hls.min.js (make assets): %d", r.status);
	assert_header(&r, "Cache-Control", "immutable");
	http_free(&r);
}

Test(stack_nginx, signed_playlist_is_served_with_a_short_cache, .init = setup_hls)
{
	struct http_res r = get(signed_url("master.m3u8", time(NULL) + 600), NULL);
	cr_assert_eq(r.status, 200);
	assert_header(&r, "Content-Type", "application/vnd.apple.mpegurl");
	assert_header(&r, "Cache-Control", "max-age=2");
	cr_assert(strstr(r.body, "#EXTM3U"));
	http_free(&r);
}

Test(stack_nginx, signed_segment_is_immutable_and_ranges_work, .init = setup_hls)
{
	const char *url = signed_url("seg_00001.m4s", time(NULL) + 600);
	struct http_res r = get(url, NULL);
	cr_assert_eq(r.status, 200);
	cr_assert_eq(r.body_len, 4096);
	assert_header(&r, "Content-Type", "video/iso.segment");
	assert_header(&r, "Cache-Control", "immutable");
	http_free(&r);
	r = get(url, "Range: bytes=100-199\r\n");
	cr_assert_eq(r.status, 206);
	cr_assert_eq(r.body_len, 100);
	assert_header(&r, "Content-Range", "bytes 100-199/4096");
	cr_assert_eq((unsigned char)r.body[0], (unsigned char)(100 * 7));
	http_free(&r);
}

Test(stack_nginx, captions_have_the_vtt_type, .init = setup_hls)
{
	struct http_res r = get(signed_url("captions.vtt", time(NULL) + 600), NULL);
	cr_assert_eq(r.status, 200);
	assert_header(&r, "Content-Type", "text/vtt");
	http_free(&r);
}

Test(stack_nginx, forged_token_is_403, .init = setup_hls)
{
	char url[512];
	snprintf(url, sizeof url, "%s", signed_url("master.m3u8", time(NULL) + 600));
	char *tok = url + strlen("/hls/");
	tok[0] = tok[0] == 'A' ? 'B' : 'A';
	struct http_res r = get(url, NULL);
	cr_assert_eq(r.status, 403);
	http_free(&r);
	/* a token for one video does not open another */
	char other[512];
	const char *good = signed_url("master.m3u8", time(NULL) + 600);
	snprintf(other, sizeof other, "%.*s0000000000000bad/master.m3u8", (int)(strstr(good, VID) - good), good);
	r = get(other, NULL);
	cr_assert_eq(r.status, 403);
	http_free(&r);
}

Test(stack_nginx, expired_link_is_410, .init = setup_hls)
{
	struct http_res r = get(signed_url("master.m3u8", time(NULL) - 5), NULL);
	cr_assert_eq(r.status, 410);
	http_free(&r);
}

Test(stack_nginx, hls_paths_outside_the_pattern_are_refused, .init = setup_hls)
{
	const char *bad[] = {"/hls/", "/hls/" VID "/master.m3u8", "/hls/x/1/" VID "/../../secret",
			     "/hls/AAAAAAAAAAAAAAAAAAAAAA/99999999999/" VID "/..%2f..%2fsecret"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct http_res r = get(bad[i], NULL);
		cr_assert(r.status == 403 || r.status == 404 || r.status == 400, "%s answered %d", bad[i], r.status);
		http_free(&r);
	}
}

Test(stack_nginx, oversized_form_on_an_html_path_is_413)
{
	size_t n = 2 * 1024 * 1024;
	char *big = malloc(n);
	cr_assert(big);
	memset(big, 'a', n);
	struct http_res r;
	cr_assert_eq(http_do("POST", "/login", "Content-Type: application/x-www-form-urlencoded\r\n", big, n, &r), 0);
	cr_assert_eq(r.status, 413);
	http_free(&r);
	free(big);
}
