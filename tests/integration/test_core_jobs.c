/* Jobs and accounts end to end: the worker of the test stack runs real jobs from the PostgreSQL queue. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "harness.h"

static long sql_long(const char *sql)
{
	char *v = t_db_value(sql, 0, NULL);
	cr_assert_not_null(v, "query returned nothing: %s", sql);
	long n = atol(v);
	free(v);
	return n;
}

static long enqueue(const char *payload, const char *extra_cols, const char *extra_vals)
{
	char sql[512];
	snprintf(sql, sizeof sql, "WITH j AS (INSERT INTO jobs (kind, payload%s) VALUES ('noop', '%s'%s) RETURNING id) "
		 "SELECT id FROM j", extra_cols, payload, extra_vals);
	long id = sql_long(sql);
	free(t_db_value("SELECT pg_notify('rstream_jobs', 'noop')", 0, NULL));
	return id;
}

static char *job_field(long id, const char *col)
{
	char sql[128];
	snprintf(sql, sizeof sql, "SELECT %s::text FROM jobs WHERE id = %ld", col, id);
	return t_db_value(sql, 0, NULL);
}

Test(jobs, a_queued_job_runs_to_done_with_full_progress, .timeout = 60)
{
	long id = enqueue("{}", "", "");
	cr_assert_str_eq(t_wait_job(id, 45), "done");
	char *p = job_field(id, "progress");
	cr_assert_str_eq(p, "100");
	free(p);
}

Test(jobs, a_failing_job_is_retried_with_backoff_then_marked_failed, .timeout = 90)
{
	long id = enqueue("{\"fail\":true}", ", max_attempts", ", 2");
	cr_assert_str_eq(t_wait_job(id, 75), "failed");
	char *attempts = job_field(id, "attempts"), *err = job_field(id, "error");
	cr_assert_str_eq(attempts, "2");
	cr_assert(err && strstr(err, "asked to fail"), "error kept for the UI: %s", err ? err : "(null)");
	free(attempts);
	free(err);
}

Test(jobs, a_job_whose_worker_died_is_picked_up_again, .timeout = 90)
{
	/* looks like a worker claimed it and vanished a minute ago */
	long id = enqueue("{}", ", state, attempts, locked_by, heartbeat_at",
			  ", 'running', 1, 'ghost:1', now() - interval '1 minute'");
	cr_assert_str_eq(t_wait_job(id, 75), "done");
	char *err = job_field(id, "error"), *attempts = job_field(id, "attempts");
	cr_assert_str_eq(attempts, "2");
	free(err);
	free(attempts);
}

Test(jobs, cancelling_a_queued_job_stops_it_before_it_runs, .timeout = 30)
{
	long id = enqueue("{}", ", run_after", ", now() + interval '1 hour'");
	char path[64], hdr[1024];
	snprintf(path, sizeof path, "/api/v1/jobs/%ld/cancel", id);
	snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\n", t_admin_token());
	struct http_res r;
	cr_assert_eq(http_do("POST", path, hdr, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert(strstr(r.body, "\"cancelled\""));
	http_free(&r);
}

Test(jobs, job_api_hides_other_users_jobs_from_creators, .timeout = 30)
{
	long id = enqueue("{}", ", run_after", ", now() + interval '1 hour'");
	t_make_user("creator.jobs@test.example", "creator", "creator-password-1");
	char *tok = t_login("creator.jobs@test.example", "creator-password-1");
	cr_assert_not_null(tok);
	char path[64], hdr[1024];
	snprintf(path, sizeof path, "/api/v1/jobs/%ld", id);
	snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\n", tok);
	struct http_res r;
	http_do("GET", path, hdr, NULL, 0, &r);
	cr_assert_eq(r.status, 404);
	http_free(&r);
	free(tok);
}

Test(users_api, search_filters_by_role_and_pages_by_keyset, .timeout = 30)
{
	for (int i = 0; i < 3; i++) {
		char email[64];
		snprintf(email, sizeof email, "keyset%d@test.example", i);
		t_make_user(email, "viewer", "viewer-password-1");
	}
	char hdr[1024];
	snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\n", t_admin_token());
	struct http_res r;
	http_do("GET", "/api/v1/users?q=keyset&role=viewer&limit=2", hdr, NULL, 0, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	json_object *o = json_tokener_parse(r.body), *users, *next;
	cr_assert(json_object_object_get_ex(o, "users", &users));
	cr_assert_eq(json_object_array_length(users), 2);
	cr_assert(json_object_object_get_ex(o, "next_after", &next) && next);
	char path[128];
	snprintf(path, sizeof path, "/api/v1/users?q=keyset&role=viewer&limit=2&after=%lld", (long long)json_object_get_int64(next));
	json_object_put(o);
	http_free(&r);
	http_do("GET", path, hdr, NULL, 0, &r);
	o = json_tokener_parse(r.body);
	json_object_object_get_ex(o, "users", &users);
	cr_assert_eq(json_object_array_length(users), 1);
	json_object_put(o);
	http_free(&r);
}

Test(users_api, rejects_bad_parameters_and_non_admins, .timeout = 30)
{
	char hdr[1024];
	snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\n", t_admin_token());
	struct http_res r;
	http_do("GET", "/api/v1/users?role=superuser", hdr, NULL, 0, &r);
	cr_assert_eq(r.status, 400);
	cr_assert(strstr(r.body, "\"error\""));
	http_free(&r);
	http_do("GET", "/api/v1/users?limit=-5", hdr, NULL, 0, &r);
	cr_assert_eq(r.status, 400);
	http_free(&r);
	t_make_user("viewer.api@test.example", "viewer", "viewer-password-1");
	char *tok = t_login("viewer.api@test.example", "viewer-password-1");
	snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\n", tok);
	http_do("GET", "/api/v1/users", hdr, NULL, 0, &r);
	cr_assert_eq(r.status, 403);
	http_free(&r);
	free(tok);
}

Test(users_admin, sql_metacharacters_in_search_are_data, .timeout = 30)
{
	char hdr[1024];
	snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\n", t_admin_token());
	struct http_res r;
	http_do("GET", "/api/v1/users?q=%27%3B%20DROP%20TABLE%20users%3B--", hdr, NULL, 0, &r);
	cr_assert_eq(r.status, 200);
	cr_assert(strstr(r.body, "\"users\":[]"), "%s", r.body);
	http_free(&r);
	http_do("GET", "/api/v1/users?q=%25", hdr, NULL, 0, &r);
	cr_assert_eq(r.status, 200);
	cr_assert(strstr(r.body, "\"users\":[]"), "a literal %% matches nobody: %s", r.body);
	http_free(&r);
	cr_assert_gt(sql_long("SELECT count(*) FROM users"), 0);
}
