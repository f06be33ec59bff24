/* The bad-input matrix (SPEC §5, issue 7 item 16): every route of fcgi/routes.c gets its class of hostile
 * inputs (bad ids, huge/negative numbers, NUL, invalid UTF-8, wrong content type, oversize and deep bodies,
 * missing CSRF, no session). Each answer must be a 4xx (or the login redirect for pages), no data may change
 * (row counts before/after) and no worker may crash (same worker pids, same crash-respawn count). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "harden_helpers.h"
#include "router.h"

/* tables a hostile request could touch; the audit log is left out (refusals may be audited) */
static char *snapshot(void)
{
	static const char *const tables[] = {"users", "jobs", "videos", "video_uploads", "categories", "tags",
		"video_categories", "video_tags", "captions", "watch_positions", "api_clients", "settings", "roster_orgs",
		"roster_users", "roster_classes", "roster_enrollments", "roster_imports", "roster_exports"};
	char sql[2048] = "SELECT concat_ws(','";
	for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
		size_t l = strlen(sql);
		snprintf(sql + l, sizeof sql - l, ", '%s=' || (SELECT count(*) FROM %s)", tables[i], tables[i]);
	}
	strcat(sql, ") || ',' || (SELECT coalesce(max(updated_at)::text, '') FROM users)");
	char *v = t_db_value(sql, 0, NULL);
	cr_assert_not_null(v, "snapshot query failed");
	return v;
}

/* the route's pattern with every :param and * replaced by `id` */
static void fill(const struct route *rt, const char *id, char *out, size_t n)
{
	size_t o = 0;
	for (const char *p = rt->pattern; *p && o + 1 < n;) {
		if (*p == ':' || *p == '*') {
			if (*p == '*') o += (size_t)snprintf(out + o, n - o, "users/");
			o += (size_t)snprintf(out + o, n - o, "%s", id);
			p++;
			while (*p && *p != '/') p++;
		} else {
			out[o++] = *p++;
		}
	}
	out[o < n ? o : n - 1] = 0;
}

static int has_param(const struct route *rt) { return strchr(rt->pattern, ':') || strchr(rt->pattern, '*'); }
static int is_get(const struct route *rt) { return !strcmp(rt->method, "GET"); }
static int internal(const struct route *rt) { return !strncmp(rt->pattern, "/_rstream/", 10); }
/* routes where an empty or ignored body is a complete, valid request: not hostile, skipped by body classes */
static int no_input_needed(const struct route *rt)
{
	return strstr(rt->pattern, "logout") || strstr(rt->pattern, "exports") || strstr(rt->pattern, "/cancel") ||
	       strstr(rt->pattern, "/rerun") || strstr(rt->pattern, "/delete") || strstr(rt->pattern, "/read") ||
	       !strcmp(rt->method, "DELETE");
}

static int fails;
static char *token, *cookie;
static char csrf[65];

static int call(const char *method, const char *path, const char *hdr, const char *body, size_t len)
{
	struct http_res r;
	if (http_do(method, path, hdr, body, len, &r) < 0) return -1;
	int st = r.status;
	http_free(&r);
	return st;
}

/* expect(ok, ...) records a failure without stopping, so one run lists every hole */
#define EXPECT(cond, ...) do { if (!(cond)) { fails++; cr_log_error(__VA_ARGS__); } } while (0)

static void check_4xx(const char *cls, const char *method, const char *path, int st)
{
	EXPECT(st >= 400 && st < 500, "%s: %s %s answered %d, want 4xx", cls, method, path, st);
}

static void setup(void)
{
	token = t_login(t_env("RSTREAM_TEST_ADMIN_EMAIL"), t_env("RSTREAM_TEST_ADMIN_PASSWORD"));
	cr_assert_not_null(token);
	cookie = t_browser_login(t_env("RSTREAM_TEST_ADMIN_EMAIL"), t_env("RSTREAM_TEST_ADMIN_PASSWORD"), csrf);
	cr_assert_not_null(cookie);
}

Test(bad_input, every_route_refuses_its_hostile_inputs_without_changing_data_or_crashing, .init = setup, .timeout = 600)
{
	long pids[MAX_WORKERS], pids2[MAX_WORKERS];
	int nw = fcgi_workers(pids, MAX_WORKERS);
	cr_assert_gt(nw, 0);
	long crashes = crash_respawns();
	char *before = snapshot();

	char bearer[1200], path[512];
	snprintf(bearer, sizeof bearer, "Authorization: Bearer %s\r\n", token);
	static const char *const bad_ids[] = {"0", "-1", "9223372036854775808", "99999999999999999999", "abc",
		"%00", "1%00x", "%FF%FE", "..%2F..%2Fetc%2Fpasswd", "1e9", "%20"};
	/* numbers every list route might read: each out of range for whoever reads it */
	const char *numbers = "?limit=99999999999999999999&offset=-1&owner=9223372036854775808&page=-5&per_page=0"
			      "&before=9223372036854775808&after=-1&days=-1";
	static char big[1536 * 1024];
	memset(big, ' ', sizeof big);
	big[0] = '{'; big[sizeof big - 1] = '}';
	char deep[401];
	memset(deep, '[', 200); memset(deep + 200, ']', 200); deep[400] = 0;
	const char *nul_json = "{\"title\":\"ok\\u0000hidden\",\"name\":\"a\\u0000b\",\"email\":\"x\\u0000@example.com\","
			       "\"lang\":\"ja\\u0000\",\"password\":\"p\\u0000\",\"position\":1}";
	const char *bad_form = "title=%FF%FE&name=%C0%AF&email=a%00b&lang=ja%00&_csrf=x";
	char hdr[1400];
	int routes_seen = 0;

	for (int i = 0; i < nroutes; i++) {
		const struct route *rt = &routes[i];
		if (internal(rt)) continue;   /* nginx answers 404 for /_rstream/ (internal location) */
		routes_seen++;
		const char *m = strcmp(rt->method, "*") ? rt->method : "PATCH";   /* any method: one no other route takes */
		/* bad ids, as an admin: the id must be refused, never reach PostgreSQL as garbage */
		if (has_param(rt) && !(rt->flags & RF_BODYFILE)) {
			for (size_t k = 0; k < sizeof bad_ids / sizeof bad_ids[0]; k++) {
				fill(rt, bad_ids[k], path, sizeof path);
				snprintf(hdr, sizeof hdr, "%sContent-Type: application/json\r\n", bearer);
				check_4xx("bad id", m, path, call(m, path, hdr, is_get(rt) ? NULL : "{}", is_get(rt) ? 0 : 2));
			}
		}
		fill(rt, "999999999", path, sizeof path);
		if (strstr(rt->pattern, "uploads/:id")) fill(rt, "0123456789abcdef0123456789abcdef", path, sizeof path);
		else if (strstr(rt->pattern, "videos/:id") || strstr(rt->pattern, "watch/:id")) fill(rt, "0000000000000000", path, sizeof path);
		/* huge and negative numbers in the query */
		if (is_get(rt)) {
			char q[900];
			snprintf(q, sizeof q, "%s%s", path, numbers);
			int st = call(m, q, bearer, NULL, 0);
			EXPECT(st < 500, "numbers: GET %s answered %d", q, st);
		}
		/* NUL and invalid UTF-8 in the query: refused before any handler */
		{
			char q[700];
			snprintf(q, sizeof q, "%s?q=ok%%00hidden", path);
			check_4xx("query NUL", m, q, call(m, q, bearer, NULL, 0));
			snprintf(q, sizeof q, "%s?q=%%FF%%FE", path);
			check_4xx("query UTF-8", m, q, call(m, q, bearer, NULL, 0));
		}
		/* no session at all: 401 for JSON clients, the login redirect for pages */
		if (rt->perm != PERM_NONE) {
			int st = call(m, path, "Content-Type: application/json\r\n", is_get(rt) ? NULL : "{}", is_get(rt) ? 0 : 2);
			EXPECT(st == 401 || st == 303, "no session: %s %s answered %d", m, path, st);
		}
		if (is_get(rt)) continue;
		/* missing CSRF with a browser session (bearer clients need none) */
		if (!(rt->flags & RF_NOCSRF)) {
			snprintf(hdr, sizeof hdr, "Cookie: %s\r\nContent-Type: application/x-www-form-urlencoded\r\n", cookie);
			int st = call(m, path, hdr, "x=1", 3);
			EXPECT(st == 403, "missing CSRF: %s %s answered %d", m, path, st);
		}
		if (rt->flags & RF_BODYFILE) continue;   /* uploads: test_harden_limits and the upload tests */
		/* oversize body: over body_limit (1 MB) */
		snprintf(hdr, sizeof hdr, "%sContent-Type: application/json\r\n", bearer);
		{
			int st = call(m, path, hdr, big, sizeof big);
			EXPECT(st == 413, "oversize: %s %s answered %d", m, path, st);
		}
		/* deep JSON */
		check_4xx("deep JSON", m, path, call(m, path, hdr, deep, strlen(deep)));
		if (rt->flags & RF_RAWBODY) continue;
		/* NUL in JSON strings and in form fields: 422, never stored cut short */
		{
			int st = call(m, path, hdr, nul_json, strlen(nul_json));
			EXPECT(st == 422, "NUL in JSON: %s %s answered %d", m, path, st);
			snprintf(hdr, sizeof hdr, "%sContent-Type: application/x-www-form-urlencoded\r\n", bearer);
			st = call(m, path, hdr, bad_form, strlen(bad_form));
			EXPECT(st == 422, "NUL/UTF-8 in a form: %s %s answered %d", m, path, st);
		}
		/* a content type the route does not read: the fields are missing, so the request is incomplete */
		if (!no_input_needed(rt)) {
			snprintf(hdr, sizeof hdr, "%sContent-Type: text/plain\r\n", bearer);
			check_4xx("wrong content type", m, path, call(m, path, hdr, "title=x&email=y", 15));
		}
	}
	cr_assert_gt(routes_seen, 50, "the route table was not walked");

	/* the numbers each list route reads, one at a time: out of range is a 400, not a 500 from PostgreSQL */
	static const char *const numeric[] = {
		"/api/v1/videos?limit=99999999999999999999", "/api/v1/videos?offset=-1",
		"/api/v1/videos?owner=9223372036854775808", "/api/v1/videos?owner=0", "/videos?limit=0",
		"/videos?offset=99999999999999999999", "/videos?owner=-7", "/api/v1/users?limit=99999999999999999999",
		"/api/v1/users?after=-1", "/admin/users?page=9223372036854775808", "/admin/users?page=0",
		"/admin/roster/users?page=-1", "/api/v1/jobs?before=9223372036854775808",
		"/admin/jobs?before=-1", "/api/v1/roster/imports?before=9223372036854775808",
		"/admin/audit?before=9223372036854775808", "/admin/audit?from=2024-02-30",
		"/ims/oneroster/rostering/v1p2/users?limit=99999999999999999999",
		"/ims/oneroster/rostering/v1p2/users?offset=-1",
	};
	for (size_t k = 0; k < sizeof numeric / sizeof numeric[0]; k++) {
		int st = call("GET", numeric[k], bearer, NULL, 0);
		EXPECT(st == 400 || (st == 401 && strstr(numeric[k], "/ims/")), "numbers: GET %s answered %d, want 400",
		       numeric[k], st);
	}

	char *after = snapshot();
	cr_expect_str_eq(before, after, "data changed:\n before %s\n after  %s", before, after);
	int nw2 = fcgi_workers(pids2, MAX_WORKERS);
	cr_expect_eq(nw2, nw, "worker count changed");
	for (int i = 0; i < nw && i < nw2; i++) cr_expect_eq(pids2[i], pids[i], "worker %ld was replaced", pids[i]);
	cr_expect_eq(crash_respawns(), crashes, "a worker crashed");
	cr_assert_eq(fails, 0, "%d hostile requests were not refused (listed above)", fails);
	free(before);
	free(after);
}
