/* Bulk actions over the real stack: many users disabled and enabled in one request, many videos made private or
 * deleted; only what the caller may manage changes, bad ids and actions are refused, each request is one audit row. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <json-c/json.h>
#include "harness.h"

static int post_json(const char *token, const char *path, const char *body, json_object **out)
{
	char *h;
	cr_assert(asprintf(&h, "Authorization: Bearer %s\r\nContent-Type: application/json\r\nAccept: application/json\r\n", token) > 0);
	struct http_res r = {0};
	cr_assert_eq(http_do("POST", path, h, body, strlen(body), &r), 0);
	free(h);
	if (out) *out = json_tokener_parse(r.body ? r.body : "null");
	int st = r.status;
	http_free(&r);
	return st;
}

static long jint(json_object *o, const char *k)
{
	json_object *v;
	cr_assert(json_object_object_get_ex(o, k, &v), "no %s", k);
	return (long)json_object_get_int64(v);
}

static long stamp(void) { static long n; return (long)time(NULL) * 100 + (n++ % 100); }

Test(ui_bulk, users_are_disabled_and_enabled_in_one_request_and_audited_once)
{
	long ids[3];
	char emails[3][96];
	for (int i = 0; i < 3; i++) {
		snprintf(emails[i], sizeof emails[i], "bulk-%ld-%d@example.jp", stamp(), i);
		ids[i] = t_make_user(emails[i], "viewer", "bulk-password-1");
	}
	char body[256];
	snprintf(body, sizeof body, "{\"action\":\"disable\",\"ids\":[%ld,\"%ld\",%ld]}", ids[0], ids[1], ids[2]);
	json_object *o;
	cr_assert_eq(post_json(t_admin_token(), "/api/v1/users/bulk", body, &o), 200);
	cr_assert_eq(jint(o, "changed"), 3);
	json_object_put(o);
	char *tok = t_login(emails[1], "bulk-password-1");
	cr_assert_null(tok, "a disabled user cannot sign in");
	/* the same request again: nothing left to change */
	cr_assert_eq(post_json(t_admin_token(), "/api/v1/users/bulk", body, &o), 200);
	cr_assert_eq(jint(o, "changed"), 0);
	cr_assert_eq(jint(o, "unchanged"), 3);
	json_object_put(o);
	char idtxt[24];
	snprintf(idtxt, sizeof idtxt, "%ld", ids[2]);
	const char *p[] = {idtxt};
	char *n = t_db_value("SELECT count(*) FROM audit_log WHERE action = 'user.bulk_disable' AND result_count = 3 AND "
			     "detail->'ids' ? $1", 1, p);
	cr_assert_str_eq(n, "1");
	free(n);
	snprintf(body, sizeof body, "{\"action\":\"enable\",\"ids\":[%ld,%ld,%ld]}", ids[0], ids[1], ids[2]);
	cr_assert_eq(post_json(t_admin_token(), "/api/v1/users/bulk", body, &o), 200);
	cr_assert_eq(jint(o, "changed"), 3);
	json_object_put(o);
	tok = t_login(emails[1], "bulk-password-1");
	cr_assert(tok, "enabled again");
	free(tok);
}

Test(ui_bulk, bad_selections_and_actions_are_refused_and_change_nothing)
{
	cr_assert_eq(post_json(t_admin_token(), "/api/v1/users/bulk", "{\"action\":\"disable\",\"ids\":[\"1;DROP TABLE users\"]}", NULL), 400);
	cr_assert_eq(post_json(t_admin_token(), "/api/v1/users/bulk", "{\"action\":\"disable\",\"ids\":[]}", NULL), 400);
	cr_assert_eq(post_json(t_admin_token(), "/api/v1/users/bulk", "{\"action\":\"delete\",\"ids\":[1]}", NULL), 400);
	cr_assert_eq(post_json(t_admin_token(), "/api/v1/users/bulk", "{\"action\":\"disable\",\"ids\":{\"a\":1}}", NULL), 400);
	cr_assert_eq(post_json(t_admin_token(), "/api/v1/videos/bulk", "{\"action\":\"public\",\"ids\":[\"../../etc\"]}", NULL), 400);
	cr_assert_eq(post_json(t_admin_token(), "/api/v1/videos/bulk", "{\"action\":\"class\",\"ids\":[\"0123456789abcdef\"]}", NULL), 400);
	/* more than 500 at once */
	size_t cap = 8 + 501 * 8;
	char *big = malloc(cap + 64);
	strcpy(big, "{\"action\":\"enable\",\"ids\":[");
	for (int i = 0; i < 501; i++) strcat(big, i ? ",1" : "1");
	strcat(big, "]}");
	cr_assert_eq(post_json(t_admin_token(), "/api/v1/users/bulk", big, NULL), 400);
	free(big);
	/* the admin's own account is never disabled by a bulk action */
	char *self = t_db_value("SELECT id FROM users WHERE email = $1", 1, (const char *[]){t_env("RSTREAM_TEST_ADMIN_EMAIL")});
	char body[128];
	snprintf(body, sizeof body, "{\"action\":\"disable\",\"ids\":[%s]}", self);
	cr_assert_eq(post_json(t_admin_token(), "/api/v1/users/bulk", body, NULL), 422);
	free(self);
	/* a browser form without its CSRF token */
	char csrf[65];
	char *cookie = t_browser_login(t_env("RSTREAM_TEST_ADMIN_EMAIL"), t_env("RSTREAM_TEST_ADMIN_PASSWORD"), csrf);
	char hdr[1024];
	snprintf(hdr, sizeof hdr, "Cookie: %s\r\nContent-Type: application/x-www-form-urlencoded\r\n", cookie);
	struct http_res r = {0};
	cr_assert_eq(http_do("POST", "/admin/bulk/users", hdr, "action=disable&ids=1", 20, &r), 0);
	cr_assert_eq(r.status, 403);
	http_free(&r);
	free(cookie);
}

static void make_video(const char *pid, long owner, const char *vis)
{
	char os[24];
	snprintf(os, sizeof os, "%ld", owner);
	char *v = t_db_value("INSERT INTO videos (public_id, title, status, visibility, owner_id) VALUES ($1, $1, 'ready', $2, "
			     "$3::bigint) RETURNING id", 3, (const char *[]){pid, vis, os});
	cr_assert(v);
	free(v);
}

Test(ui_bulk, a_teacher_changes_and_deletes_only_their_own_videos)
{
	char mine[96], other[96];
	long s = stamp();
	snprintf(mine, sizeof mine, "bulk-teacher-%ld@example.jp", s);
	snprintf(other, sizeof other, "bulk-other-%ld@example.jp", s);
	long me = t_make_user(mine, "creator", "teacher-password-1"), them = t_make_user(other, "creator", "teacher-password-1");
	char a[17], b[17], c[17];
	snprintf(a, sizeof a, "%016lx", (unsigned long)s * 3 + 0xa0000000000ul);
	snprintf(b, sizeof b, "%016lx", (unsigned long)s * 3 + 0xa0000000001ul);
	snprintf(c, sizeof c, "%016lx", (unsigned long)s * 3 + 0xa0000000002ul);
	make_video(a, me, "public");
	make_video(b, me, "public");
	make_video(c, them, "public");
	char *tok = t_login(mine, "teacher-password-1");
	cr_assert(tok);
	char body[256];
	snprintf(body, sizeof body, "{\"action\":\"private\",\"ids\":[\"%s\",\"%s\",\"%s\"]}", a, b, c);
	json_object *o;
	cr_assert_eq(post_json(tok, "/api/v1/videos/bulk", body, &o), 200);
	cr_assert_eq(jint(o, "changed"), 2, "only the teacher's own two");
	cr_assert_eq(jint(o, "unchanged"), 1);
	json_object_put(o);
	char *vis = t_db_value("SELECT visibility FROM videos WHERE public_id = $1", 1, (const char *[]){c});
	cr_assert_str_eq(vis, "public", "someone else's video is untouched");
	free(vis);
	vis = t_db_value("SELECT string_agg(DISTINCT visibility, ',') FROM videos WHERE public_id IN ($1, $2)", 2, (const char *[]){a, b});
	cr_assert_str_eq(vis, "private");
	free(vis);
	snprintf(body, sizeof body, "{\"action\":\"delete\",\"ids\":[\"%s\",\"%s\",\"%s\"]}", a, b, c);
	cr_assert_eq(post_json(tok, "/api/v1/videos/bulk", body, &o), 200);
	cr_assert_eq(jint(o, "changed"), 2);
	json_object_put(o);
	char *left = t_db_value("SELECT string_agg(public_id, ',') FROM videos WHERE public_id IN ($1, $2, $3)", 3, (const char *[]){a, b, c});
	cr_assert_str_eq(left, c);
	free(left);
	char *n = t_db_value("SELECT count(*) FROM audit_log WHERE action = 'video.bulk_delete' AND detail->'ids' ? $1", 1, (const char *[]){a});
	cr_assert_str_eq(n, "1");
	free(n);
	free(tok);
	/* an admin may act on anyone's */
	snprintf(body, sizeof body, "{\"action\":\"delete\",\"ids\":[\"%s\"]}", c);
	cr_assert_eq(post_json(t_admin_token(), "/api/v1/videos/bulk", body, &o), 200);
	cr_assert_eq(jint(o, "changed"), 1);
	json_object_put(o);
}
