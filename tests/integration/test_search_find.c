/* Search over the real stack: Japanese two-character queries find caption hits with their time, mixed queries
 * AND their parts, width and kana variants match, a viewer never sees what they may not watch, and bad input
 * never reaches PostgreSQL as syntax. Videos are made ready directly in the database (no transcode needed:
 * search reads text only) and each test filters on its own fresh owner, so other tests' data do not matter. */
#include "video_helpers.h"

/* a ready video row of owner with this visibility; returns its public id (malloc'd) */
static char *video(long owner, const char *title, const char *desc, const char *vis, int seconds)
{
	char pid[17], own[24], sec[16];
	snprintf(pid, sizeof pid, "%016lx", (unsigned long)vh_uniq() * 2654435761UL);
	snprintf(own, sizeof own, "%ld", owner);
	snprintf(sec, sizeof sec, "%d", seconds);
	const char *p[] = {pid, title, desc, own, vis, sec};
	char *pk = t_db_value("INSERT INTO videos (public_id, title, description, owner_id, status, visibility, duration) "
			      "VALUES ($1, $2, $3, $4::bigint, 'ready', $5, $6::float8) RETURNING id", 6, p);
	cr_assert_not_null(pk, "insert video");
	/* rows written behind the application's back are indexed by the worker from its queue: wait for that */
	const char *q[] = {pk};
	for (int i = 0; i < 600; i++) {
		char *n = t_db_value("SELECT count(*) FROM search_docs WHERE video_id = $1::bigint", 1, q);
		int done = n && !strcmp(n, "1");
		free(n);
		if (done) break;
		usleep(100 * 1000);
	}
	free(pk);
	return strdup(pid);
}

static void set_meta(const char *h, const char *id, const char *json)
{
	char path[128], hdr[1024];
	snprintf(path, sizeof path, "/api/v1/videos/%s", id);
	snprintf(hdr, sizeof hdr, "%sContent-Type: application/json\r\n", h);
	struct http_res r;
	cr_assert_eq(http_do("PUT", path, hdr, json, strlen(json), &r), 0);
	cr_assert_eq(r.status, 200, "%d %.300s", r.status, r.body);
	http_free(&r);
}

static void caption(const char *h, const char *id, const char *lang, const char *vtt)
{
	char path[160];
	snprintf(path, sizeof path, "/api/v1/videos/%s/captions?lang=%s", id, lang);
	struct http_res r;
	cr_assert_eq(http_do("PUT", path, h, vtt, strlen(vtt), &r), 0);
	cr_assert_eq(r.status, 200, "caption: %d %.300s", r.status, r.body);
	http_free(&r);
}

/* GET path with header h; expects status; returns the parsed JSON (or NULL for non-JSON) */
static json_object *get(const char *h, const char *path, int status)
{
	struct http_res r;
	cr_assert_eq(http_do("GET", path, h, NULL, 0, &r), 0);
	cr_assert_eq(r.status, status, "%s: %d %.300s", path, r.status, r.body);
	json_object *o = json_tokener_parse(r.body ? r.body : "");
	http_free(&r);
	return o;
}

/* search q (already URL-encoded) among owner's videos; returns the JSON answer */
static json_object *search(const char *h, const char *q, long owner, const char *extra)
{
	char path[2048];
	snprintf(path, sizeof path, "/api/v1/search?q=%s&owner=%ld%s", q, owner, extra ? extra : "");
	json_object *o = get(h, path, 200);
	cr_assert_not_null(o);
	return o;
}

/* index of public id in the results, -1 if absent */
static int find(json_object *o, const char *id)
{
	json_object *res;
	cr_assert(json_object_object_get_ex(o, "results", &res));
	for (size_t i = 0; i < json_object_array_length(res); i++) {
		json_object *v = json_object_array_get_idx(res, i), *x;
		if (json_object_object_get_ex(v, "id", &x) && !strcmp(json_object_get_string(x), id)) return (int)i;
	}
	return -1;
}

static long total(json_object *o)
{
	json_object *t;
	cr_assert(json_object_object_get_ex(o, "total", &t));
	return (long)json_object_get_int64(t);
}

#define Q_SANSU "%E7%AE%97%E6%95%B0"   /* 算数 */

Test(search_find, two_character_query_finds_the_caption_hit_with_its_time)
{
	char *h;
	long me = vh_creator("search.c", &h);
	char *v = video(me, "Lesson video", "Numbers", "public", 300);
	char *other = video(me, "Another lesson", "No match here", "public", 300);
	caption(h, v, "ja", "WEBVTT\n\n00:00:05.000 --> 00:00:08.000\nはじめに\n\n"
			    "00:01:23.500 --> 00:01:27.000\n今日は<b>算数</b>の時間です\n");
	json_object *o = search(h, Q_SANSU, me, NULL);
	cr_assert_eq(total(o), 1);
	int i = find(o, v);
	cr_assert_eq(i, 0);
	cr_assert_eq(find(o, other), -1);
	json_object *res, *hit, *cues, *cue, *x;
	json_object_object_get_ex(o, "results", &res);
	hit = json_object_array_get_idx(res, 0);
	cr_assert(json_object_object_get_ex(hit, "cues", &cues));
	cr_assert_eq(json_object_array_length(cues), 1);
	cue = json_object_array_get_idx(cues, 0);
	json_object_object_get_ex(cue, "start", &x);
	cr_assert_eq(json_object_get_int64(x), 83);
	json_object_object_get_ex(cue, "url", &x);
	char want[128];
	snprintf(want, sizeof want, "/watch/%s?t=83", v);
	cr_assert_str_eq(json_object_get_string(x), want);
	json_object_object_get_ex(cue, "text", &x);
	cr_assert_str_eq(json_object_get_string(x), "今日は算数の時間です");
	json_object_put(o);

	/* the results page shows the cue with its time, marked, and links to the moment */
	struct http_res r;
	char path[256];
	snprintf(path, sizeof path, "/search?q=%s&owner=%ld", Q_SANSU, me);
	cr_assert_eq(http_do("GET", path, "Accept: text/html\r\n", NULL, 0, &r), 0);
	cr_assert_eq(r.status, 200);
	char want_html[160];   /* the template escapes '=' in attributes */
	snprintf(want_html, sizeof want_html, "/watch/%s?t&#61;83", v);
	cr_assert(strstr(r.body, want_html), "%.2000s", strstr(r.body, "<main") ? strstr(r.body, "<main") : r.body);
	cr_assert(strstr(r.body, "<mark>算数</mark>"));
	cr_assert(strstr(r.body, "1:23"));
	http_free(&r);

	/* the watch page starts there and searches its own captions */
	snprintf(path, sizeof path, "/watch/%s?t=83&sq=%s", v, Q_SANSU);
	cr_assert_eq(http_do("GET", path, h, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 200, "%d", r.status);
	cr_assert(strstr(r.body, "data-testid=\"video-search-hits\""), "%.3000s", r.body);
	cr_assert(strstr(r.body, "data-seek=\"83\""));
	http_free(&r);

	/* replacing the caption replaces its cues: the old words are gone */
	caption(h, v, "ja", "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n理科の実験\n");
	o = search(h, Q_SANSU, me, NULL);
	cr_assert_eq(total(o), 0);
	json_object_put(o);
	o = search(h, "%E7%90%86%E7%A7%91", me, NULL);   /* 理科 */
	cr_assert_eq(find(o, v), 0);
	json_object_put(o);
	free(v); free(other); free(h);
}

Test(search_find, mixed_queries_and_their_parts_and_widths)
{
	char *h;
	long me = vh_creator("search.c", &h);
	char *a = video(me, "HTML入門", "はじめてのウェブ", "public", 120);
	char *b = video(me, "HTML応用", "", "public", 120);
	char *c = video(me, "CSS入門", "", "public", 120);
	char *k = video(me, "プログラミングの基礎", "", "public", 120);
	set_meta(h, b, "{\"tags\":[\"入門\"]}");   /* a tag counts as text: b now has both parts */
	json_object *o = search(h, "HTML%20%E5%85%A5%E9%96%80", me, NULL);   /* HTML 入門 */
	cr_assert_eq(total(o), 2);
	cr_assert_eq(find(o, a), 0, "the title hit ranks above the tag hit");
	cr_assert_neq(find(o, b), -1);
	cr_assert_eq(find(o, c), -1);
	json_object_put(o);
	/* full-width letters and an ideographic space: ＨＴＭＬ　入門 */
	o = search(h, "%EF%BC%A8%EF%BC%B4%EF%BC%AD%EF%BC%AC%E3%80%80%E5%85%A5%E9%96%80", me, NULL);
	cr_assert_eq(total(o), 2);
	json_object_put(o);
	/* half-width katakana ﾌﾟﾛｸﾞﾗﾐﾝｸﾞ and hiragana ぷろぐらみんぐ both find プログラミング */
	o = search(h, "%EF%BE%8C%EF%BE%9F%EF%BE%9B%EF%BD%B8%EF%BE%9E%EF%BE%97%EF%BE%90%EF%BE%9D%EF%BD%B8%EF%BE%9E", me, NULL);
	cr_assert_eq(find(o, k), 0);
	json_object_put(o);
	o = search(h, "%E3%81%B7%E3%82%8D%E3%81%90%E3%82%89%E3%81%BF%E3%82%93%E3%81%90", me, NULL);
	cr_assert_eq(find(o, k), 0);
	json_object_put(o);
	/* English words match as prefixes and case-insensitively */
	o = search(h, "htm", me, NULL);
	cr_assert_eq(total(o), 2);
	json_object_put(o);
	/* filters: duration and sort by newest */
	o = search(h, "html", me, "&dmin=3");
	cr_assert_eq(total(o), 0);
	json_object_put(o);
	o = search(h, "html", me, "&dmax=2&sort=newest");
	cr_assert_eq(find(o, b), 0, "b was made after a");
	json_object_put(o);
	o = search(h, "%E5%85%A5%E9%96%80", me, "&tag=%E5%85%A5%E9%96%80");   /* 入門, tagged 入門 */
	cr_assert_eq(total(o), 1);
	cr_assert_eq(find(o, b), 0);
	json_object_put(o);
	/* suggestions complete titles from a prefix */
	o = get(h, "/api/v1/search/suggest?q=%E3%83%97%E3%83%AD%E3%82%B0", 200);   /* プログ */
	cr_assert_not_null(o);
	cr_assert(strstr(json_object_to_json_string(o), "プログラミングの基礎"), "%s", json_object_to_json_string(o));
	json_object_put(o);
	free(a); free(b); free(c); free(k); free(h);
}

Test(search_find, a_viewer_never_sees_what_they_may_not_watch)
{
	char *h;
	long me = vh_creator("search.c", &h);
	long word = vh_uniq();
	char title[128];
	snprintf(title, sizeof title, "secret%ld 算数", word);
	char *priv = video(me, title, "", "private", 60);
	snprintf(title, sizeof title, "secret%ld 算数 open", word);
	char *pub = video(me, title, "", "public", 60);
	char email[128], q[64];
	snprintf(email, sizeof email, "search.v%ld@test.example", vh_uniq());
	t_make_user(email, "viewer", "viewer-password-1");
	char *tok = t_login(email, "viewer-password-1");
	char *vh = vh_bearer(tok);
	snprintf(q, sizeof q, "secret%ld", word);
	json_object *o = search(vh, q, me, NULL);
	cr_assert_eq(total(o), 1);
	cr_assert_eq(find(o, pub), 0);
	cr_assert_eq(find(o, priv), -1);
	json_object_put(o);
	/* a guest likewise; the owner sees both */
	o = search("Accept: application/json\r\n", q, me, NULL);
	cr_assert_eq(total(o), 1);
	json_object_put(o);
	o = search(h, q, me, NULL);
	cr_assert_eq(total(o), 2);
	json_object_put(o);
	/* suggestions obey the same rule */
	char path[256];
	snprintf(path, sizeof path, "/api/v1/search/suggest?q=secret%ld", word);
	o = get(vh, path, 200);
	const char *s = json_object_to_json_string(o);
	cr_assert(strstr(s, "open"), "%s", s);
	int n = 0;
	for (const char *p = s; (p = strstr(p, "secret")); p++) n++;
	cr_assert_eq(n, 1, "only the public title: %s", s);
	json_object_put(o);
	free(priv); free(pub); free(tok); free(vh); free(h);
}

Test(search_find, bad_input_is_a_clear_answer_never_a_500)
{
	const char *j = "Accept: application/json\r\n";
	/* 10,000 characters pass nginx's request line limit: it answers 414 itself; a long query that reaches us is
	 * refused with our message */
	char *big = malloc(10100);
	strcpy(big, "/api/v1/search?q=");
	memset(big + strlen(big), 'a', 10000);
	big[17 + 10000] = 0;
	struct http_res r0;
	cr_assert_eq(http_do("GET", big, j, NULL, 0, &r0), 0);
	cr_assert(r0.status == 414 || r0.status == 400, "%d", r0.status);
	http_free(&r0);
	big[17 + 3000] = 0;
	json_object *o = get(j, big, 400);
	cr_assert_not_null(o);
	cr_assert(strstr(json_object_to_json_string(o), "bad_query"));
	json_object_put(o);
	free(big);
	static const char *const ok[] = {
		"/api/v1/search?q=%21%40%23%24%25%5E%26*()",              /* punctuation only */
		"/api/v1/search?q=a%20%26%20b%20%7C%20!c%20%3A*",         /* tsquery operators */
		"/api/v1/search?q=%27%22%E7%AE%97%E6%95%B0",              /* unbalanced quotes */
		"/api/v1/search?q=%27)%3B%20DROP%20TABLE%20videos%3B--", /* SQL */
		"/api/v1/search?q=%01%02%1F%7F",                          /* control characters */
		"/api/v1/search?q=%5C%5C%3A%3A%3C-%3E",                   /* backslashes, phrase operator */
		"/api/v1/search?q=",                                      /* nothing */
		"/api/v1/search?q=x&offset=1000",
		"/api/v1/search/suggest?q=%27%26%7C",
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) json_object_put(get(j, ok[i], 200));
	static const char *const bad[] = {
		"/api/v1/search?q=%FF%FE",                                /* invalid UTF-8 */
		"/api/v1/search?q=x&offset=-1",
		"/api/v1/search?q=x&offset=99999999999999999999999",
		"/api/v1/search?q=x&offset=1001",
		"/api/v1/search?q=x&limit=0",
		"/api/v1/search?q=x&page=0",
		"/api/v1/search?q=x&sort=random",
		"/api/v1/search?q=x&from=2026-13-40",
		"/api/v1/search?q=x&owner=1%3B",
		"/api/v1/search?q=x&dmin=-5",
		"/api/v1/search?q=a%20b%20c%20d%20e%20f%20g%20h%20i%20j%20k%20l%20m",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct http_res r;
		cr_assert_eq(http_do("GET", bad[i], j, NULL, 0, &r), 0);
		cr_assert_eq(r.status, 400, "%s: %d %.200s", bad[i], r.status, r.body);
		cr_assert(strstr(r.body, "\"error\""));
		http_free(&r);
	}
	/* HTML in the query is echoed escaped on the page */
	struct http_res r;
	cr_assert_eq(http_do("GET", "/search?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E%20%E7%AE%97%E6%95%B0", "Accept: text/html\r\n", NULL, 0, &r), 0);
	cr_assert_eq(r.status, 200);
	cr_assert_null(strstr(r.body, "<script>alert"));
	cr_assert(strstr(r.body, "&lt;script&gt;alert(1)"));
	http_free(&r);
	/* the page answers a too long query with its message, not an error page */
	cr_assert_eq(http_do("GET", "/search?q=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
				    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
			     "Accept: text/html\r\n", NULL, 0, &r), 0);
	cr_assert_eq(r.status, 400);
	cr_assert(strstr(r.body, "data-testid=\"search-error\""));
	http_free(&r);
}
