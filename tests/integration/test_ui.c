/* UI helpers over HTTP: pickers search orgs and classes by name, a failed job can be retried (and only a failed
 * one), a rostered person's page, times in the person's zone, add-user form rules, confirmation markup. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "harness.h"

static void sql(const char *q)
{
	PGresult *r = PQexec(t_db(), q);
	cr_assert(PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK, "%s: %s", q,
		  PQerrorMessage(t_db()));
	PQclear(r);
}

/* a small roster of our own, with names nobody else uses */
static void roster(void)
{
	sql("INSERT INTO roster_orgs (sourced_id, name, type, status) VALUES "
	    "('ui-org-1', '北山UI小学校', 'school', 'active'), ('ui-org-2', '南川UI中学校', 'school', 'active') "
	    "ON CONFLICT DO NOTHING");
	sql("INSERT INTO roster_academic_sessions (sourced_id, title, type, status, school_year) VALUES "
	    "('ui-term-1', 'UI2026年度', 'schoolYear', 'active', 2026) ON CONFLICT DO NOTHING");
	sql("INSERT INTO roster_classes (sourced_id, title, class_type, school_sourced_id, course_sourced_id, term_sourced_ids, status) "
	    "VALUES ('ui-class-1', 'UI3年1組', 'homeroom', 'ui-org-1', 'ui-course-1', '{ui-term-1}', 'active') ON CONFLICT DO NOTHING");
	sql("INSERT INTO roster_users (sourced_id, username, given_name, family_name, status, primary_org_sourced_id) VALUES "
	    "('ui-teacher-1', 'uiteacher', '一郎', 'UI先生', 'active', 'ui-org-1'), "
	    "('ui-pupil-1', 'uipupil', '花子', 'UI児童', 'active', 'ui-org-1') ON CONFLICT DO NOTHING");
	sql("INSERT INTO roster_enrollments (sourced_id, class_sourced_id, school_sourced_id, user_sourced_id, role, status) VALUES "
	    "('ui-enr-1', 'ui-class-1', 'ui-org-1', 'ui-teacher-1', 'teacher', 'active'), "
	    "('ui-enr-2', 'ui-class-1', 'ui-org-1', 'ui-pupil-1', 'student', 'active') ON CONFLICT DO NOTHING");
}

static json_object *get_json(const char *path, const char *token, int want)
{
	char *hdr;
	cr_assert(asprintf(&hdr, "Authorization: Bearer %s\r\nAccept: application/json\r\n", token) > 0);
	struct http_res r = {0};
	cr_assert_eq(http_do("GET", path, hdr, NULL, 0, &r), 0);
	cr_assert_eq(r.status, want, "%s: HTTP %d %.300s", path, r.status, r.body ? r.body : "");
	json_object *o = json_tokener_parse(r.body);
	http_free(&r);
	free(hdr);
	return o;
}

static json_object *items(json_object *o)
{
	json_object *a;
	cr_assert(json_object_object_get_ex(o, "items", &a), "items in the answer");
	return a;
}

Test(ui, class_picker_finds_a_class_by_name_with_school_year_and_teacher)
{
	roster();
	json_object *o = get_json("/api/v1/pickers/classes?q=UI3%E5%B9%B4", t_admin_token(), 200);
	json_object *a = items(o);
	cr_assert_eq(json_object_array_length(a), 1);
	json_object *it = json_object_array_get_idx(a, 0);
	cr_assert_str_eq(json_object_get_string(json_object_object_get(it, "id")), "ui-class-1");
	cr_assert_str_eq(json_object_get_string(json_object_object_get(it, "label")), "UI3年1組");
	const char *detail = json_object_get_string(json_object_object_get(it, "detail"));
	cr_assert(strstr(detail, "北山UI小学校") && strstr(detail, "UI2026年度") && strstr(detail, "UI先生 一郎"), "detail: %s", detail);
	json_object_put(o);
	/* by school name too */
	o = get_json("/api/v1/pickers/classes?q=%E5%8C%97%E5%B1%B1UI", t_admin_token(), 200);
	cr_assert_eq(json_object_array_length(items(o)), 1);
	json_object_put(o);
}

Test(ui, org_picker_searches_and_resolves_chosen_ids)
{
	roster();
	json_object *o = get_json("/api/v1/pickers/orgs?q=UI%E4%B8%AD%E5%AD%A6", t_admin_token(), 200);
	cr_assert_eq(json_object_array_length(items(o)), 1);
	cr_assert_str_eq(json_object_get_string(json_object_object_get(json_object_array_get_idx(items(o), 0), "id")), "ui-org-2");
	json_object_put(o);
	o = get_json("/api/v1/pickers/orgs?ids=ui-org-1,ui-org-2,nope", t_admin_token(), 200);
	cr_assert_eq(json_object_array_length(items(o)), 2);
	json_object_put(o);
	/* an injection attempt is only text */
	o = get_json("/api/v1/pickers/orgs?q=%27%29%20OR%201%3D1--", t_admin_token(), 200);
	cr_assert_eq(json_object_array_length(items(o)), 0);
	json_object_put(o);
}

Test(ui, pickers_reject_overlong_queries_and_viewers)
{
	char path[300] = "/api/v1/pickers/orgs?q=";
	memset(path + strlen(path), 'a', 150);
	json_object_put(get_json(path, t_admin_token(), 400));
	cr_assert_gt(t_make_user("ui.viewer@example.jp", "viewer", "ui-viewer-pass-1"), 0);
	char *tok = t_login("ui.viewer@example.jp", "ui-viewer-pass-1");
	cr_assert_not_null(tok);
	json_object_put(get_json("/api/v1/pickers/classes?q=UI", tok, 403));
	free(tok);
}

static int post_retry(long id)
{
	char path[64], *hdr;
	snprintf(path, sizeof path, "/api/v1/jobs/%ld/retry", id);
	cr_assert(asprintf(&hdr, "Authorization: Bearer %s\r\nAccept: application/json\r\n", t_admin_token()) > 0);
	struct http_res r = {0};
	cr_assert_eq(http_do("POST", path, hdr, "", 0, &r), 0);
	int st = r.status;
	http_free(&r);
	free(hdr);
	return st;
}

Test(ui, a_failed_job_can_be_retried_and_a_finished_one_cannot)
{
	char *id = t_db_value("INSERT INTO jobs (kind, state, attempts, max_attempts, error, finished_at) "
			      "VALUES ('ui_no_such_kind', 'failed', 3, 3, 'boom', now()) RETURNING id", 0, NULL);
	cr_assert_not_null(id);
	long jid = strtol(id, NULL, 10);
	cr_assert_eq(post_retry(jid), 200);
	const char *p[] = {id};
	char *st = t_db_value("SELECT state || ':' || attempts || ':' || (error IS NULL) FROM jobs WHERE id = $1::bigint", 1, p);
	/* queued again with fresh attempts and no old error (a worker may already have claimed it) */
	cr_assert(!strncmp(st, "queued:0:t", 10) || !strncmp(st, "running", 7) || !strncmp(st, "failed:1", 8), "state %s", st);
	free(st);
	char *aud = t_db_value("SELECT count(*) FROM audit_log WHERE action = 'job.retry' AND target = 'job:' || $1", 1, p);
	cr_assert_str_eq(aud, "1");
	free(aud);
	sql("UPDATE jobs SET state = 'done' WHERE kind = 'ui_no_such_kind'");
	cr_assert_eq(post_retry(jid), 409);
	free(id);
}

static struct http_res page(const char *path, const char *cookie)
{
	char *hdr;
	cr_assert(asprintf(&hdr, "Cookie: %s\r\n", cookie) > 0);
	struct http_res r = {0};
	cr_assert_eq(http_do("GET", path, hdr, NULL, 0, &r), 0);
	free(hdr);
	return r;
}

Test(ui, a_rostered_person_has_a_page_with_classes_and_linked_account)
{
	roster();
	sql("INSERT INTO users (email, name, role, sourced_id) VALUES ('ui.pupil@example.jp', 'UI児童 花子', 'viewer', 'ui-pupil-1') "
	    "ON CONFLICT DO NOTHING");
	char csrf[65];
	char *cookie = t_browser_login(t_env("RSTREAM_TEST_ADMIN_EMAIL"), t_env("RSTREAM_TEST_ADMIN_PASSWORD"), csrf);
	cr_assert_not_null(cookie);
	struct http_res r = page("/admin/roster/users/ui-pupil-1", cookie);
	cr_assert_eq(r.status, 200, "HTTP %d", r.status);
	cr_assert(strstr(r.body, "UI3年1組"), "the class is listed");
	cr_assert(strstr(r.body, "UI先生 一郎"), "with its teacher");
	cr_assert(strstr(r.body, "ui.pupil@example.jp"), "the linked login account");
	cr_assert(strstr(r.body, "児童生徒"), "the role in Japanese");
	http_free(&r);
	r = page("/admin/roster/users/no-such-person", cookie);
	cr_assert_eq(r.status, 404);
	http_free(&r);
	/* the roster list links to it */
	r = page("/admin/roster/users?q=UI%E5%85%90%E7%AB%A5", cookie);
	cr_assert(strstr(r.body, "href=\"/admin/roster/users/ui-pupil-1\""), "linked from the list");
	http_free(&r);
	free(cookie);
}

Test(ui, times_show_in_the_persons_zone_never_raw_utc)
{
	long id = t_make_user("ui.zone@example.jp", "admin", "ui-zone-pass-12");
	cr_assert_gt(id, 0);
	char ids[24];
	snprintf(ids, sizeof ids, "%ld", id);
	const char *p[] = {ids};
	PGresult *res = PQexecParams(t_db(), "UPDATE users SET created_at = '2026-12-02T00:06:00Z' WHERE id = $1::bigint", 1, NULL, p, NULL, NULL, 0);
	PQclear(res);
	char csrf[65];
	char *cookie = t_browser_login("ui.zone@example.jp", "ui-zone-pass-12", csrf);
	cr_assert_not_null(cookie);
	char path[64];
	snprintf(path, sizeof path, "/admin/users/%ld", id);
	struct http_res r = page(path, cookie);
	cr_assert(strstr(r.body, "2026年12月2日 9:06"), "Tokyo by default: %.2000s", r.body);
	http_free(&r);
	/* the person's own zone wins; a zone that does not exist is refused */
	char *hdr, *body;
	cr_assert(asprintf(&hdr, "Content-Type: application/x-www-form-urlencoded\r\nCookie: %s\r\n", cookie) > 0);
	cr_assert(asprintf(&body, "_csrf=%s&name=Zone&role=admin&time_zone=Mars%%2FOlympus", csrf) > 0);
	cr_assert_eq(http_do("POST", path, hdr, body, strlen(body), &r), 0);
	cr_assert_eq(r.status, 422);
	cr_assert(strstr(r.body, "タイムゾーンが正しくありません"), "a Japanese error");
	http_free(&r);
	free(body);
	cr_assert(asprintf(&body, "_csrf=%s&name=Zone&role=admin&time_zone=America%%2FNew_York", csrf) > 0);
	cr_assert_eq(http_do("POST", path, hdr, body, strlen(body), &r), 0);
	cr_assert_eq(r.status, 303, "HTTP %d %.500s", r.status, r.body);
	http_free(&r);
	r = page(path, cookie);
	cr_assert(strstr(r.body, "2026年12月1日 19:06"), "New York time: %.2000s", r.body);
	http_free(&r);
	free(body);
	free(hdr);
	free(cookie);
}

Test(ui, a_new_user_needs_a_password_or_sso_and_keeps_the_new_title)
{
	char csrf[65];
	char *cookie = t_browser_login(t_env("RSTREAM_TEST_ADMIN_EMAIL"), t_env("RSTREAM_TEST_ADMIN_PASSWORD"), csrf);
	cr_assert_not_null(cookie);
	char *hdr, *body;
	cr_assert(asprintf(&hdr, "Content-Type: application/x-www-form-urlencoded\r\nCookie: %s\r\n", cookie) > 0);
	cr_assert(asprintf(&body, "_csrf=%s&email=ui.new%%40example.jp&name=New&role=viewer&sign_in=password&password=", csrf) > 0);
	struct http_res r = {0};
	cr_assert_eq(http_do("POST", "/admin/users", hdr, body, strlen(body), &r), 0);
	cr_assert_eq(r.status, 422);
	cr_assert(strstr(r.body, "<h1>ユーザーを追加</h1>"), "still the new-user title: %.1500s", r.body);
	cr_assert(strstr(r.body, "action=\"/admin/users\""), "still posts to create");
	cr_assert(strstr(r.body, "ui.new@example.jp"), "keeps what was typed");
	http_free(&r);
	free(body);
	cr_assert(asprintf(&body, "_csrf=%s&email=ui.new%%40example.jp&name=New&role=viewer&sign_in=sso", csrf) > 0);
	cr_assert_eq(http_do("POST", "/admin/users", hdr, body, strlen(body), &r), 0);
	cr_assert_eq(r.status, 303, "HTTP %d %.500s", r.status, r.body);
	http_free(&r);
	const char *p[] = {"ui.new@example.jp"};
	char *has = t_db_value("SELECT password_hash IS NULL FROM users WHERE email = $1", 1, p);
	cr_assert_str_eq(has, "t", "SSO accounts get no password");
	free(has);
	free(body);
	free(hdr);
	free(cookie);
}

Test(ui, the_user_list_has_numbered_pages_a_total_and_sorts_by_name)
{
	char email[64], name[64];
	for (int i = 0; i < 55; i++) {
		snprintf(email, sizeof email, "ui.page%02d@example.jp", i);
		snprintf(name, sizeof name, "UIページ %02d", 54 - i);
		const char *p[] = {email, name};
		PGresult *r = PQexecParams(t_db(), "INSERT INTO users (email, name, role) VALUES ($1, $2, 'viewer') "
					   "ON CONFLICT DO NOTHING", 2, NULL, p, NULL, NULL, 0);
		PQclear(r);
	}
	char csrf[65];
	char *cookie = t_browser_login(t_env("RSTREAM_TEST_ADMIN_EMAIL"), t_env("RSTREAM_TEST_ADMIN_PASSWORD"), csrf);
	cr_assert_not_null(cookie);
	struct http_res r = page("/admin/users?q=ui.page&sort=name", cookie);
	cr_assert_eq(r.status, 200);
	cr_assert(strstr(r.body, "全 55 件"), "the total: %.3000s", r.body);
	cr_assert(strstr(r.body, "aria-current=\"page\">1<"), "page 1 is current");
	cr_assert(strstr(r.body, "&amp;page&#61;2"), "a link to page 2");
	/* by name: "UIページ 00" (the last e-mail) comes first */
	char *first = strstr(r.body, "UIページ 00"), *second = strstr(r.body, "UIページ 01");
	cr_assert(first && second && first < second, "sorted by name");
	http_free(&r);
	r = page("/admin/users?q=ui.page&sort=name&dir=desc&page=2", cookie);
	cr_assert_eq(r.status, 200);
	cr_assert(strstr(r.body, "UIページ 00") && !strstr(r.body, "UIページ 54"), "page 2 of the reverse order ends with 00");
	http_free(&r);
	r = page("/admin/users?sort=password_hash", cookie);
	cr_assert_eq(r.status, 400, "only listed columns sort");
	http_free(&r);
	free(cookie);
}

Test(ui, roster_people_are_listed_by_name_with_pages)
{
	roster();
	char csrf[65];
	char *cookie = t_browser_login(t_env("RSTREAM_TEST_ADMIN_EMAIL"), t_env("RSTREAM_TEST_ADMIN_PASSWORD"), csrf);
	cr_assert_not_null(cookie);
	struct http_res r = page("/admin/roster/users?org=ui-org-1", cookie);
	cr_assert_eq(r.status, 200);
	cr_assert(strstr(r.body, "UI児童") && strstr(r.body, "UI先生"), "both people listed");
	cr_assert(strstr(r.body, "全 2 件"), "the total: %.200s", strstr(r.body, "pager") ? strstr(r.body, "pager") : "");
	http_free(&r);
	r = page("/admin/roster/users?org=ui-org-1&sort=username&dir=desc", cookie);
	cr_assert_eq(r.status, 200);
	char *t = strstr(r.body, "uiteacher"), *p = strstr(r.body, "uipupil");
	cr_assert(t && p && t < p, "username, reversed: uiteacher first");
	http_free(&r);
	r = page("/admin/roster/users?sort=sourced_id%3Bdrop", cookie);
	cr_assert_eq(r.status, 400);
	http_free(&r);
	r = page("/admin/roster/users?org=ui-org-1&page=9", cookie);
	cr_assert_eq(r.status, 303, "past the end goes back to page 1");
	http_free(&r);
	free(cookie);
}

/* A roster account whose roster e-mail another account held was made without one: the admin gives it an e-mail on
 * the edit form (and cannot give it one another account holds); an empty field changes nothing. */
Test(ui, an_admin_sets_the_email_of_an_account_that_has_none)
{
	char csrf[65], *cookie = t_browser_login(t_env("RSTREAM_TEST_ADMIN_EMAIL"), t_env("RSTREAM_TEST_ADMIN_PASSWORD"), csrf);
	cr_assert_not_null(cookie);
	sql("INSERT INTO users (email, name, role, sourced_id) VALUES (NULL, 'メール無し 先生', 'creator', 'ui-noemail-1') "
	    "ON CONFLICT (sourced_id) DO UPDATE SET email = NULL");
	char *id = t_db_value("SELECT id FROM users WHERE sourced_id = 'ui-noemail-1'", 0, NULL);
	char *hdr, *body, path[64];
	snprintf(path, sizeof path, "/admin/users/%s", id);
	cr_assert(asprintf(&hdr, "Content-Type: application/x-www-form-urlencoded\r\nCookie: %s\r\n", cookie) > 0);
	struct http_res r = {0};
	/* one held by another account (the admin's own) is refused with the form and a reason */
	cr_assert(asprintf(&body, "_csrf=%s&name=%%E3%%83%%A1&role=creator&email=%s", csrf, t_env("RSTREAM_TEST_ADMIN_EMAIL")) > 0);
	cr_assert_eq(http_do("POST", path, hdr, body, strlen(body), &r), 0);
	cr_assert_eq(r.status, 422, "HTTP %d", r.status);
	cr_assert(strstr(r.body, "すでに登録されています"), "the reason: %.800s", r.body);
	http_free(&r);
	free(body);
	cr_assert(asprintf(&body, "_csrf=%s&name=%%E3%%83%%A1&role=creator&email=not-an-address", csrf) > 0);
	cr_assert_eq(http_do("POST", path, hdr, body, strlen(body), &r), 0);
	cr_assert_eq(r.status, 422);
	http_free(&r);
	free(body);
	char *e = t_db_value("SELECT COALESCE(email, '(none)') FROM users WHERE sourced_id = 'ui-noemail-1'", 0, NULL);
	cr_assert_str_eq(e, "(none)", "nothing stored by a refused change");
	free(e);
	cr_assert(asprintf(&body, "_csrf=%s&name=%%E3%%83%%A1&role=creator&email=ui.noemail%%40example.jp", csrf) > 0);
	cr_assert_eq(http_do("POST", path, hdr, body, strlen(body), &r), 0);
	cr_assert_eq(r.status, 303, "HTTP %d %.300s", r.status, r.body);
	http_free(&r);
	free(body);
	/* an empty field leaves it as it is */
	cr_assert(asprintf(&body, "_csrf=%s&name=%%E3%%83%%A1&role=creator&email=", csrf) > 0);
	cr_assert_eq(http_do("POST", path, hdr, body, strlen(body), &r), 0);
	cr_assert_eq(r.status, 303);
	http_free(&r);
	e = t_db_value("SELECT email FROM users WHERE sourced_id = 'ui-noemail-1'", 0, NULL);
	cr_assert_str_eq(e, "ui.noemail@example.jp");
	free(e);
	free(body); free(hdr); free(id); free(cookie);
}
