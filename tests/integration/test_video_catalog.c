/* Catalog: categories and tags made in the admin pages, filters and pagination of GET /api/v1/videos,
 * poster replacement, and creators limited to their own videos. */
#include "video_helpers.h"

static char *ready(const char *h, const char *name, const char *title)
{
	char *f = vh_clip(name, "320x240", "1", 0, NULL);
	char *id = vh_upload_ok(h, f, title);
	json_object *v = vh_wait(h, id, 120);
	cr_assert_str_eq(vh_str(v, "video.status"), "ready");
	json_object_put(v);
	free(f);
	return id;
}

static int put_json(const char *h, const char *id, const char *json, struct http_res *r)
{
	char path[256], hdr[1024];
	snprintf(path, sizeof path, "/api/v1/videos/%s", id);
	snprintf(hdr, sizeof hdr, "%sContent-Type: application/json\r\n", h);
	return http_do("PUT", path, hdr, json, strlen(json), r);
}

/* how many catalog entries of video id the answer holds (JSON "id" fields or HTML cards) */
static long count_in(const char *h, const char *query, const char *id)
{
	char needle[128];
	if (strstr(h, "text/html")) snprintf(needle, sizeof needle, "data-video-id=\"%s\"", id);
	else snprintf(needle, sizeof needle, "\"id\":\"%s\"", id);
	struct http_res r;
	cr_assert_eq(http_do("GET", query, h, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 200, "%s: %d %.200s", query, r.status, r.body);
	long n = 0;
	for (const char *p = r.body; (p = strstr(p, needle)); p++) n++;
	http_free(&r);
	return n;
}

Test(video_catalog, categories_from_the_admin_page_and_tags_filter_the_catalog)
{
	char csrf[65];
	char *cookie = t_browser_login(t_env("RSTREAM_TEST_ADMIN_EMAIL"), t_env("RSTREAM_TEST_ADMIN_PASSWORD"), csrf);
	cr_assert_not_null(cookie);
	char hdr[4096], body[512];
	snprintf(hdr, sizeof hdr, "Cookie: %s\r\nContent-Type: application/x-www-form-urlencoded\r\n", cookie);
	snprintf(body, sizeof body, "_csrf=%s&slug=math-cat&name_ja=%%E7%%AE%%97%%E6%%95%%B0&name_en=Math", csrf);
	struct http_res r;
	cr_assert_eq(http_do("POST", "/admin/categories", hdr, body, strlen(body), &r), 0);
	cr_assert(r.status == 303 || r.status == 422, "create category: %d", r.status);   /* 422: exists from a rerun */
	http_free(&r);
	/* a bad slug is refused with the form shown again */
	snprintf(body, sizeof body, "_csrf=%s&slug=Bad%%20Slug&name_ja=x&name_en=x", csrf);
	cr_assert_eq(http_do("POST", "/admin/categories", hdr, body, strlen(body), &r), 0);
	cr_assert_eq(r.status, 422);
	http_free(&r);

	char *h = vh_admin();
	char *a = ready(h, "cat-a.mp4", "Catalog A"), *b = ready(h, "cat-b.mp4", "Catalog B");
	cr_assert_eq(put_json(h, a, "{\"categories\":[\"math-cat\"],\"tags\":[\"fractions\",\"grade-5\"],\"visibility\":\"public\"}", &r), 0);
	cr_assert_eq(r.status, 200, "%d %.300s", r.status, r.body);
	json_object *o = vh_json(&r);
	cr_assert_str_eq(vh_str(o, "video.categories.0.slug"), "math-cat");
	json_object_put(o);
	http_free(&r);
	cr_assert_eq(put_json(h, b, "{\"tags\":\"grade-5\",\"categories\":[\"no-such-category\"]}", &r), 0);
	cr_assert_eq(r.status, 422, "an unknown category is refused");
	http_free(&r);
	cr_assert_eq(put_json(h, b, "{\"tags\":\"grade-5\"}", &r), 0);
	cr_assert_eq(r.status, 200);
	http_free(&r);

	cr_assert_eq(count_in(h, "/api/v1/videos?category=math-cat&limit=100", a), 1);
	cr_assert_eq(count_in(h, "/api/v1/videos?category=math-cat&limit=100", b), 0);
	cr_assert_eq(count_in(h, "/api/v1/videos?tag=grade-5&limit=100", a), 1);
	cr_assert_eq(count_in(h, "/api/v1/videos?tag=grade-5&limit=100", b), 1);
	cr_assert_eq(count_in(h, "/api/v1/videos?tag=fractions&limit=100", b), 0);
	cr_assert_eq(count_in(h, "/api/v1/videos?status=ready&q=Catalog%20A&limit=100", a), 1);
	cr_assert_eq(vh_status("GET", "/api/v1/videos?status=nonsense", h), 400);
	cr_assert_eq(vh_status("GET", "/api/v1/videos?limit=100000", h), 400);
	/* the HTML catalog filters the same way */
	char *html;
	cr_assert(asprintf(&html, "Authorization: Bearer %s\r\nAccept: text/html\r\n", t_admin_token()) > 0);
	cr_assert_eq(count_in(html, "/videos?category=math-cat", a), 1);
	cr_assert_eq(count_in(html, "/videos?category=math-cat", b), 0);
	free(html);

	/* pagination: limit 1 pages through, total stays */
	cr_assert_eq(http_do("GET", "/api/v1/videos?tag=grade-5&limit=1&offset=0", h, NULL, 0, &r), 0);
	o = vh_json(&r);
	cr_assert_geq(atol(vh_str(o, "total")), 2);
	cr_assert_str_eq(vh_str(o, "limit"), "1");
	cr_assert_eq(json_object_array_length(json_object_object_get(o, "videos")), 1);
	json_object_put(o);
	http_free(&r);
	free(a); free(b); free(h); free(cookie);
}

/* the tag links of the HTML catalog and the watch page are percent-encoded: a tag with & # ? % and a space
 * round-trips (the link, followed, filters by exactly that tag) */
Test(video_catalog, tag_links_round_trip_characters_that_mean_something_in_a_url)
{
	char *h = vh_admin();
	char *id = ready(h, "tag-link.mp4", "Tag links");
	char tag[64], json[256];
	snprintf(tag, sizeof tag, "a&b #c?d%%e f %ld", (long)getpid());
	snprintf(json, sizeof json, "{\"tags\":[\"%s\"],\"visibility\":\"public\"}", tag);
	struct http_res r;
	cr_assert_eq(put_json(h, id, json, &r), 0);
	cr_assert_eq(r.status, 200, "%d %.300s", r.status, r.body);
	http_free(&r);
	char *html;
	cr_assert(asprintf(&html, "Authorization: Bearer %s\r\nAccept: text/html\r\n", t_admin_token()) > 0);
	char want[160], watch[96];
	snprintf(want, sizeof want, "href=\"/videos?tag=a%%26b%%20%%23c%%3Fd%%25e%%20f%%20%ld\"", (long)getpid());
	snprintf(watch, sizeof watch, "/watch/%s", id);
	const char *pages[] = {"/videos?limit=100", watch};
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(http_do("GET", pages[i], html, NULL, 0, &r), 0);
		cr_assert_eq(r.status, 200, "%s: %d", pages[i], r.status);
		cr_assert_not_null(strstr(r.body, want), "%s has no encoded tag link %s", pages[i], want);
		http_free(&r);
	}
	/* following the link filters by the whole tag, not by "a" */
	char link[160];
	snprintf(link, sizeof link, "%.*s", (int)strlen(want) - 7, want + 6);   /* inside href="…" */
	cr_assert_eq(count_in(html, link, id), 1, "%s does not find the video", link);
	snprintf(link, sizeof link, "/videos?tag=a");
	cr_assert_eq(count_in(html, link, id), 0);
	free(html); free(id); free(h);
}

Test(video_catalog, creators_manage_only_their_own_videos)
{
	char *h = vh_admin();
	char *id = ready(h, "owned.mp4", "Admin owned");
	cr_assert_gt(t_make_user("video-creator-c@test.example", "creator", "Creator-password-1"), 0);
	char *tok = t_login("video-creator-c@test.example", "Creator-password-1");
	char *hc = vh_bearer(tok);
	struct http_res r;
	cr_assert_eq(put_json(hc, id, "{\"title\":\"hijacked\"}", &r), 0);
	cr_assert(r.status == 403 || r.status == 404, "foreign edit: %d", r.status);
	http_free(&r);
	char path[256];
	snprintf(path, sizeof path, "/api/v1/videos/%s", id);
	int st = vh_status("DELETE", path, hc);
	cr_assert(st == 403 || st == 404, "foreign delete: %d", st);
	/* their own upload they can edit */
	char *mine = ready(hc, "mine.mp4", "Creator owned");
	cr_assert_eq(put_json(hc, mine, "{\"title\":\"Renamed\",\"description\":\"line 1\\nline 2\"}", &r), 0);
	cr_assert_eq(r.status, 200, "%d %.200s", r.status, r.body);
	json_object *o = vh_json(&r);
	cr_assert_str_eq(vh_str(o, "video.title"), "Renamed");
	json_object_put(o);
	http_free(&r);
	cr_assert_eq(put_json(hc, mine, "{\"title\":\"\"}", &r), 0);
	cr_assert_eq(r.status, 422, "empty title refused");
	http_free(&r);
	cr_assert_eq(put_json(hc, mine, "{\"visibility\":\"everyone\"}", &r), 0);
	cr_assert_eq(r.status, 422, "unknown visibility refused");
	http_free(&r);
	free(mine); free(hc); free(tok); free(id); free(h);
}

Test(video_catalog, poster_is_replaced_only_by_a_real_image)
{
	char *h = vh_admin();
	char *id = ready(h, "poster.mp4", "Poster");
	char *png = vh_path("new-poster.png");
	char *argv[] = {"ffmpeg", "-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i", "color=c=red:s=320x180", "-frames:v", "1", png, NULL};
	cr_assert_eq(vh_run(argv), 0);
	char path[256], hdr[1024];
	snprintf(path, sizeof path, "/api/v1/videos/%s/poster", id);
	snprintf(hdr, sizeof hdr, "%sContent-Type: image/png\r\n", h);
	struct http_res r;
	cr_assert_eq(http_do_file("PUT", path, hdr, png, &r), 0);
	cr_assert_eq(r.status, 204, "%d %.300s", r.status, r.body);
	http_free(&r);
	char *poster = vh_data_path("hls/%s/poster.jpg", id);
	int w = 0, hh = 0;
	cr_assert_eq(vh_dims(poster, &w, &hh), 0);
	cr_assert_eq(w, 320);
	const char *txt = "<svg onload=alert(1)>not an image</svg>";
	cr_assert_eq(http_do("PUT", path, hdr, txt, strlen(txt), &r), 0);
	cr_assert_eq(r.status, 422);
	http_free(&r);
	free(poster); free(png); free(id); free(h);
}
