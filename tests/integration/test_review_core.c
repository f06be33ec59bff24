/* Review findings in the core, driven over HTTP: each test fails on the code before its fix. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <openssl/evp.h>
#include "cache.h"
#include "harness.h"

/* POST /lang with next=… as a logged-in browser; returns the Location header (static) or NULL */
static const char *lang_redirect(const char *next_encoded)
{
	static char loc[1024];
	char csrf[65];
	char *cookie = t_browser_login("review.redirect@example.jp", "review-password-1", csrf);
	cr_assert_not_null(cookie, "browser login");
	char *hdr, *body;
	cr_assert(asprintf(&hdr, "Content-Type: application/x-www-form-urlencoded\r\nCookie: %s\r\n", cookie) > 0);
	cr_assert(asprintf(&body, "lang=ja&_csrf=%s&next=%s", csrf, next_encoded) > 0);
	struct http_res r = {0};
	cr_assert_eq(http_do("POST", "/lang", hdr, body, strlen(body), &r), 0);
	cr_assert_eq(r.status, 303, "HTTP %d: %.300s", r.status, r.body ? r.body : "");
	const char *l = http_header(&r, "Location");
	snprintf(loc, sizeof loc, "%s", l ? l : "");
	http_free(&r);
	free(hdr);
	free(body);
	free(cookie);
	return l ? loc : NULL;
}

Test(review_core, next_with_a_tab_before_the_second_slash_does_not_redirect_off_site)
{
	cr_assert_gt(t_make_user("review.redirect@example.jp", "viewer", "review-password-1"), 0);
	/* browsers strip tabs and newlines from URLs: "/\t/evil.example" would be "//evil.example" */
	const char *l = lang_redirect("%2F%09%2Fevil.example%2Fx");
	cr_assert_not_null(l);
	cr_assert_str_eq(l, "/", "Location: %s", l);
	l = lang_redirect("%2F%0B%2Fevil.example");
	cr_assert_str_eq(l, "/", "Location: %s", l);
	/* a plain local path still works */
	l = lang_redirect("%2Fvideos%3Fq%3Dx");
	cr_assert_str_eq(l, "/videos?q=x");
}

/* the jti claim of a JWT, read without verifying (the test made the token) */
static char *jwt_jti(const char *jwt)
{
	const char *a = strchr(jwt, '.'), *b = a ? strchr(a + 1, '.') : NULL;
	cr_assert(a && b);
	char b64[2048];
	size_t n = (size_t)(b - a - 1);
	cr_assert_lt(n, sizeof b64 - 4);
	memcpy(b64, a + 1, n);
	for (size_t i = 0; i < n; i++) { if (b64[i] == '-') b64[i] = '+'; else if (b64[i] == '_') b64[i] = '/'; }
	while (n % 4) b64[n++] = '=';
	b64[n] = 0;
	unsigned char js[2048];
	int len = EVP_DecodeBlock(js, (unsigned char *)b64, (int)n);
	cr_assert_gt(len, 0);
	js[len] = 0;
	json_object *o = json_tokener_parse((char *)js), *v;
	cr_assert(o && json_object_object_get_ex(o, "jti", &v));
	char *jti = strdup(json_object_get_string(v));
	json_object_put(o);
	return jti;
}

/* Redis is a cache ("losing Redis loses no data"), and revocations are mirrored in PostgreSQL, but a miss in Redis
 * was taken as "not revoked": after a Redis restart every logged-out token worked again. */
Test(review_core, a_logged_out_token_stays_revoked_when_redis_forgets_it)
{
	cr_assert_gt(t_make_user("review.logout@example.jp", "viewer", "review-password-1"), 0);
	char *tok = t_login("review.logout@example.jp", "review-password-1");
	cr_assert_not_null(tok);
	char *hdr;
	cr_assert(asprintf(&hdr, "Authorization: Bearer %s\r\n", tok) > 0);
	struct http_res r;
	cr_assert_eq(http_do("GET", "/api/v1/me", hdr, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 200);
	http_free(&r);
	cr_assert_eq(http_do("POST", "/api/v1/auth/logout", hdr, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 200, "%.300s", r.body);
	http_free(&r);
	cr_assert_eq(http_do("GET", "/api/v1/me", hdr, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 401);
	http_free(&r);

	/* Redis loses the key (restart without persistence, eviction, FLUSHDB) */
	char *jti = jwt_jti(tok);
	cr_assert_eq(cache_connect(t_env("REDIS_URL")), 0);
	redisReply *x = cache_cmd("DEL revoked:%s", jti);
	cr_assert(x && x->type == REDIS_REPLY_INTEGER && x->integer == 1, "the revocation was in Redis");
	freeReplyObject(x);
	cache_close();

	cr_assert_eq(http_do("GET", "/api/v1/me", hdr, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 401, "a logged-out token works again: %.200s", r.body);
	http_free(&r);
	free(jti); free(hdr); free(tok);
}

/* Creators see their own jobs on /admin/jobs; the dashboard's "recent jobs" showed everyone's (roster imports,
 * exports by admins: kind, state, progress, message in the page context). */
Test(review_core, the_dashboard_shows_a_creator_only_their_own_recent_jobs)
{
	cr_assert_gt(t_make_user("review.dash@example.jp", "creator", "review-password-1"), 0);
	char *jid = t_db_value("INSERT INTO jobs (kind, state, message, created_by, finished_at) "
			       "SELECT 'review_other', 'done', 'someone else''s', id, now() FROM users WHERE role = 'admin' "
			       "ORDER BY id LIMIT 1 RETURNING id", 0, NULL);
	cr_assert_not_null(jid);
	char csrf[65];
	char *cookie = t_browser_login("review.dash@example.jp", "review-password-1", csrf);
	cr_assert_not_null(cookie);
	char *hdr, link[64];
	cr_assert(asprintf(&hdr, "Cookie: %s\r\n", cookie) > 0);
	snprintf(link, sizeof link, "/admin/jobs/%s\"", jid);
	struct http_res r;
	cr_assert_eq(http_do("GET", "/", hdr, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 200);
	cr_assert_null(strstr(r.body, link), "another user's job is listed on a creator's dashboard");
	cr_assert_null(strstr(r.body, "review_other"));
	http_free(&r);
	free(hdr); free(cookie); free(jid);
}

/* ---- a bare FastCGI client: what Apache (mod_proxy_fcgi) sends, the body streamed and not spooled by a proxy ---- */
static void fcgi_record(int fd, int type, const unsigned char *data, size_t n)
{
	unsigned char h[8] = {1, (unsigned char)type, 0, 1, (unsigned char)(n >> 8), (unsigned char)n, 0, 0};
	cr_assert_eq(write(fd, h, 8), 8);
	if (n) cr_assert_eq(write(fd, data, n), (ssize_t)n);
}

static size_t fcgi_pair(unsigned char *out, const char *k, const char *v)
{
	size_t kl = strlen(k), vl = strlen(v), o = 0;
	out[o++] = (unsigned char)kl;
	out[o++] = (unsigned char)vl;
	memcpy(out + o, k, kl); o += kl;
	memcpy(out + o, v, vl); o += vl;
	return o;
}

/* Behind Apache the app spools RF_BODYFILE bodies itself (up to LimitRequestBody, 4 GiB). It read the whole body
 * before looking at who was asking, so anyone could fill the data disk with uploads that end in 401. */
Test(review_core, an_anonymous_upload_is_refused_before_its_body_is_read)
{
	const char *listen = t_env("RSTREAM_LISTEN");
	cr_assert(!strncmp(listen, "unix:", 5), "RSTREAM_LISTEN=%s", listen);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", listen + 5);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	cr_assert_geq(fd, 0);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	unsigned char begin[8] = {0, 1, 0, 0, 0, 0, 0, 0}, params[1024];
	fcgi_record(fd, 1, begin, 8);
	size_t n = 0;
	n += fcgi_pair(params + n, "REQUEST_METHOD", "PUT");
	n += fcgi_pair(params + n, "REQUEST_URI", "/api/v1/videos/uploads/0123456789abcdef0123456789abcdef?offset=0");
	n += fcgi_pair(params + n, "QUERY_STRING", "offset=0");
	n += fcgi_pair(params + n, "CONTENT_TYPE", "application/octet-stream");
	n += fcgi_pair(params + n, "CONTENT_LENGTH", "1073741824");
	n += fcgi_pair(params + n, "REMOTE_ADDR", "127.0.0.1");
	fcgi_record(fd, 4, params, n);
	fcgi_record(fd, 4, NULL, 0);
	unsigned char chunk[4096];
	memset(chunk, 'x', sizeof chunk);
	fcgi_record(fd, 5, chunk, sizeof chunk);   /* the first 4 KiB of a 1 GiB body, and the client waits */

	struct pollfd p = {fd, POLLIN, 0};
	int ready = poll(&p, 1, 3000);
	char reply[8192] = "";
	if (ready > 0) {
		ssize_t k = read(fd, reply, sizeof reply - 1);
		if (k > 0) reply[k] = 0;
	}
	close(fd);
	cr_assert_gt(ready, 0, "no answer within 3 s: the app is reading the anonymous body");
	cr_assert(strstr(reply + 8, "Status: 401"), "expected 401, got %.200s", reply + 8);
}
