/* End-to-end checks of the whole stack over HTTP: nginx → FastCGI pool → PostgreSQL/Redis.
 * Health, errors in both shapes, login and tokens, CSRF, and the master healing a killed worker. */
#include <criterion/criterion.h>
#include <ctype.h>
#include <dirent.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "auth.h"
#include "harness.h"

/* error.code / error.message of a JSON error envelope; 0 when r holds one. */
static int envelope(const struct http_res *r, char *code, size_t codelen, char *msg, size_t msglen)
{
	json_object *o = json_tokener_parse(r->body), *err, *c, *m;
	int rc = -1;
	if (o && json_object_object_get_ex(o, "error", &err) && json_object_object_get_ex(err, "code", &c) &&
	    json_object_object_get_ex(err, "message", &m) && json_object_is_type(c, json_type_string) &&
	    json_object_is_type(m, json_type_string)) {
		snprintf(code, codelen, "%s", json_object_get_string(c));
		snprintf(msg, msglen, "%s", json_object_get_string(m));
		rc = 0;
	}
	json_object_put(o);
	return rc;
}

static int get_status(const char *path, const char *headers)
{
	struct http_res r;
	if (http_do("GET", path, headers, NULL, 0, &r) != 0) return -1;
	int st = r.status;
	http_free(&r);
	return st;
}

static char *bearer(const char *token)
{
	char *h;
	cr_assert(asprintf(&h, "Authorization: Bearer %s\r\nAccept: application/json\r\n", token) > 0);
	return h;
}

static const char *content_type(const struct http_res *r)
{
	const char *ct = http_header(r, "Content-Type");
	return ct ? ct : "";
}

Test(stack_http, healthz_answers_200)
{
	struct http_res r;
	cr_assert_eq(http_do("GET", "/healthz", NULL, NULL, 0, &r), 0, "cannot reach %s", t_env("RSTREAM_TEST_URL"));
	cr_assert_eq(r.status, 200);
	http_free(&r);
}

Test(stack_http, readyz_answers_200_with_json)
{
	struct http_res r;
	cr_assert_eq(http_do("GET", "/readyz", NULL, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 200, "readyz: %d %s", r.status, r.body);
	cr_assert(strstr(content_type(&r), "application/json"), "Content-Type %s", content_type(&r));
	json_object *o = json_tokener_parse(r.body);
	cr_assert(o && json_object_is_type(o, json_type_object), "body is not a JSON object: %s", r.body);
	json_object *st;
	cr_assert(json_object_object_get_ex(o, "status", &st) && !strcmp(json_object_get_string(st), "ready"),
		  "database, Redis and migrations are ready: %s", r.body);
	json_object_put(o);
	http_free(&r);
}

Test(stack_http, metrics_count_requests)
{
	cr_assert_eq(get_status("/healthz", NULL), 200);
	struct http_res r;
	cr_assert_eq(http_do("GET", "/metrics", NULL, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 200);
	cr_assert(strstr(r.body, "http_requests_total"), "no http_requests_total in /metrics");
	cr_assert(strstr(r.body, "http_request_duration_seconds"), "no http_request_duration_seconds in /metrics");
	http_free(&r);
}

Test(stack_http, unknown_api_path_is_404_json_envelope)
{
	struct http_res r;
	char code[64], msg[256];
	cr_assert_eq(http_do("GET", "/api/v1/no-such-thing", NULL, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 404);
	cr_assert(strstr(content_type(&r), "application/json"), "Content-Type %s", content_type(&r));
	cr_assert_eq(envelope(&r, code, sizeof code, msg, sizeof msg), 0, "not an error envelope: %s", r.body);
	http_free(&r);
}

Test(stack_http, unknown_html_path_is_404_html)
{
	struct http_res r;
	cr_assert_eq(http_do("GET", "/no/such/page", "Accept: text/html\r\n", NULL, 0, &r), 0);
	cr_assert_eq(r.status, 404);
	cr_assert(strstr(content_type(&r), "text/html"), "Content-Type %s", content_type(&r));
	cr_assert(strstr(r.body, "<html") || strstr(r.body, "<!doctype") || strstr(r.body, "<!DOCTYPE"));
	http_free(&r);
}

Test(stack_http, security_headers_on_html)
{
	struct http_res r;
	cr_assert_eq(http_do("GET", "/login", NULL, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 200);
	cr_assert(http_header(&r, "Content-Security-Policy"), "no CSP header");
	const char *nosniff = http_header(&r, "X-Content-Type-Options");
	cr_assert(nosniff && !strcmp(nosniff, "nosniff"));
	http_free(&r);
}

Test(stack_http, malformed_json_is_400_envelope)
{
	struct http_res r;
	char code[64], msg[256];
	const char *bad = "{\"email\": \"a@b.c\", \"password\": ";
	cr_assert_eq(http_do("POST", "/api/v1/auth/login", "Content-Type: application/json\r\n", bad, strlen(bad), &r), 0);
	cr_assert_eq(r.status, 400, "got %d %s", r.status, r.body);
	cr_assert_eq(envelope(&r, code, sizeof code, msg, sizeof msg), 0, "not an error envelope: %s", r.body);
	http_free(&r);
}

Test(stack_http, body_over_limit_is_413)
{
	size_t n = 2 * 1024 * 1024;
	char *big = malloc(n);
	cr_assert(big);
	memset(big, ' ', n);
	big[0] = '{';
	big[n - 1] = '}';
	struct http_res r;
	cr_assert_eq(http_do("POST", "/api/v1/auth/login", "Content-Type: application/json\r\n", big, n, &r), 0);
	cr_assert_eq(r.status, 413, "got %d", r.status);
	char code[64], msg[256];
	cr_assert_eq(envelope(&r, code, sizeof code, msg, sizeof msg), 0, "413 is not an error envelope: %s", r.body);
	http_free(&r);
	free(big);
}

/* POST /api/v1/auth/login and return the status and the error message. */
static int failed_login(const char *email, const char *password, char *msg, size_t msglen)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "email", json_object_new_string(email));
	json_object_object_add(o, "password", json_object_new_string(password));
	const char *body = json_object_to_json_string(o);
	struct http_res r;
	cr_assert_eq(http_do("POST", "/api/v1/auth/login", "Content-Type: application/json\r\n", body, strlen(body), &r), 0);
	char code[64];
	int st = r.status;
	cr_assert_eq(envelope(&r, code, sizeof code, msg, msglen), 0, "not an error envelope: %s", r.body);
	http_free(&r);
	json_object_put(o);
	return st;
}

Test(stack_http, wrong_password_and_unknown_user_read_the_same)
{
	cr_assert_gt(t_make_user("wrongpw@test.example", "viewer", "Right-password-123"), 0);
	char m1[256], m2[256];
	int s1 = failed_login("wrongpw@test.example", "Wrong-password-123", m1, sizeof m1);
	int s2 = failed_login("nobody-here@test.example", "Wrong-password-123", m2, sizeof m2);
	cr_assert_eq(s1, 401);
	cr_assert_eq(s1, s2);
	cr_assert_str_eq(m1, m2);
}

Test(stack_http, login_gives_a_token_that_reads_me)
{
	char *token = t_admin_token();
	cr_assert(token, "admin login failed");
	char *h = bearer(token);
	struct http_res r;
	cr_assert_eq(http_do("GET", "/api/v1/me", h, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 200, "me: %d %s", r.status, r.body);
	cr_assert(strstr(r.body, t_env("RSTREAM_TEST_ADMIN_EMAIL")), "me does not name the admin: %s", r.body);
	http_free(&r);
	free(h);
}

Test(stack_http, me_without_token_is_401)
{
	cr_assert_eq(get_status("/api/v1/me", "Accept: application/json\r\n"), 401);
}

Test(stack_http, forged_token_is_401)
{
	cr_assert(t_admin_token(), "admin login failed");
	char *token = strdup(t_admin_token());
	/* flip one character of the signature */
	size_t n = strlen(token);
	token[n - 2] = token[n - 2] == 'A' ? 'B' : 'A';
	char *h = bearer(token);
	cr_assert_eq(get_status("/api/v1/me", h), 401);
	free(h);
	free(token);
}

static long admin_id(void)
{
	const char *p[1] = {t_env("RSTREAM_TEST_ADMIN_EMAIL")};
	char *v = t_db_value("SELECT id FROM users WHERE lower(email) = lower($1)", 1, p);
	cr_assert(v, "no admin row");
	long id = atol(v);
	free(v);
	return id;
}

Test(stack_http, alg_none_token_is_401)
{
	/* same claims as a real token, header {"alg":"none"}, empty signature */
	char *token = t_admin_token();
	cr_assert(token);
	const char *payload = strchr(token, '.');
	cr_assert(payload);
	payload++;
	size_t plen = strcspn(payload, ".");
	char head[64];
	const char *hjson = "{\"alg\":\"none\",\"typ\":\"JWT\"}";
	cr_assert_eq(base64url_encode((const unsigned char *)hjson, strlen(hjson), head, sizeof head) > 0, 1);
	char *forged, *h;
	cr_assert(asprintf(&forged, "%s.%.*s.", head, (int)plen, payload) > 0);
	h = bearer(forged);
	cr_assert_eq(get_status("/api/v1/me", h), 401);
	free(h);
	free(forged);
}

Test(stack_http, expired_token_is_401)
{
	struct token t = {0};
	snprintf(t.sub, sizeof t.sub, "%ld", admin_id());
	snprintf(t.role, sizeof t.role, "admin");
	snprintf(t.kind, sizeof t.kind, "api");
	char *jwt = token_issue(t_env("RSTREAM_SECRET"), &t, -120);
	cr_assert(jwt);
	char *h = bearer(jwt);
	cr_assert_eq(get_status("/api/v1/me", h), 401);
	free(h);
	free(jwt);
}

Test(stack_http, token_signed_with_another_key_is_401)
{
	struct token t = {0};
	snprintf(t.sub, sizeof t.sub, "%ld", admin_id());
	snprintf(t.role, sizeof t.role, "admin");
	snprintf(t.kind, sizeof t.kind, "api");
	char *jwt = token_issue("another-secret-another-secret-another-secret", &t, 600);
	cr_assert(jwt);
	char *h = bearer(jwt);
	cr_assert_eq(get_status("/api/v1/me", h), 401);
	free(h);
	free(jwt);
}

Test(stack_http, logout_revokes_the_token)
{
	char *token = t_login(t_env("RSTREAM_TEST_ADMIN_EMAIL"), t_env("RSTREAM_TEST_ADMIN_PASSWORD"));
	cr_assert(token);
	char *h = bearer(token);
	cr_assert_eq(get_status("/api/v1/me", h), 200);
	struct http_res r;
	cr_assert_eq(http_do("POST", "/api/v1/auth/logout", h, NULL, 0, &r), 0);
	cr_assert(r.status >= 200 && r.status < 300, "logout: %d %s", r.status, r.body);
	http_free(&r);
	cr_assert_eq(get_status("/api/v1/me", h), 401);
	free(h);
	free(token);
}

Test(stack_http, form_post_without_csrf_is_403)
{
	char csrf[65];
	char *cookie = t_browser_login(t_env("RSTREAM_TEST_ADMIN_EMAIL"), t_env("RSTREAM_TEST_ADMIN_PASSWORD"), csrf);
	cr_assert(cookie, "browser login failed");
	cr_assert(strlen(csrf) >= 16);
	char *h;
	cr_assert(asprintf(&h, "Cookie: %s\r\nContent-Type: application/x-www-form-urlencoded\r\n", cookie) > 0);
	struct http_res r;
	/* no token, then a wrong one: both refused */
	cr_assert_eq(http_do("POST", "/logout", h, "", 0, &r), 0);
	cr_assert_eq(r.status, 403, "no token: %d", r.status);
	http_free(&r);
	const char *wrong = "_csrf=0000000000000000000000000000000000000000000000000000000000000000";
	cr_assert_eq(http_do("POST", "/logout", h, wrong, strlen(wrong), &r), 0);
	cr_assert_eq(r.status, 403, "wrong token: %d", r.status);
	http_free(&r);
	/* the right token works */
	char *good;
	cr_assert(asprintf(&good, "_csrf=%s", csrf) > 0);
	cr_assert_eq(http_do("POST", "/logout", h, good, strlen(good), &r), 0);
	cr_assert(r.status == 303 || r.status == 302 || r.status == 200, "logout with token: %d", r.status);
	http_free(&r);
	free(good);
	free(h);
	free(cookie);
}

/* Children of the FastCGI master (its pre-forked workers). */
static int fcgi_workers(pid_t master, pid_t *out, int max) { return t_children(master, out, max); }

Test(stack_http, killed_worker_is_respawned_and_no_request_fails, .timeout = 120)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/run/fcgi.pid", t_env("STACK_DIR"));
	FILE *f = fopen(path, "r");
	cr_assert(f, "no %s", path);
	int master = 0;
	cr_assert_eq(fscanf(f, "%d", &master), 1);
	fclose(f);
	pid_t w[256];
	int before = fcgi_workers(master, w, 256);
	cr_assert_gt(before, 0, "the master %d has no workers", master);
	cr_assert_eq(kill(w[0], SIGKILL), 0);
	/* wait for the respawn: the victim gone and the pool back to its size */
	int now = 0;
	for (int i = 0; i < 100; i++) {
		pid_t w2[256];
		now = fcgi_workers(master, w2, 256);
		int victim_alive = 0;
		for (int j = 0; j < now; j++) victim_alive |= w2[j] == w[0];
		if (!victim_alive && now >= before) break;
		usleep(100 * 1000);
	}
	cr_assert_geq(now, before, "pool did not come back: %d of %d workers", now, before);
	for (int i = 0; i < 50; i++) {
		int st = get_status(i % 2 ? "/healthz" : "/login", NULL);
		cr_assert_eq(st, 200, "request %d after the kill answered %d", i, st);
	}
}
