/* The audit log: append-only for the application's database role (UPDATE, DELETE, TRUNCATE refused; retention and
 * erasure only through the SECURITY DEFINER functions), and the admin search by actor, action, object, time range,
 * result and IP with its CSV export, bad filters (a reversed range, a malformed address) answered 400. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "harness.h"

static int sql_ok(const char *q)
{
	PGresult *r = PQexec(t_db(), q);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
	PQclear(r);
	return ok;
}

static char tag[64];
static char cookie[4096];

static void setup(void)
{
	snprintf(tag, sizeof tag, "aud%ld%d", (long)time(NULL), getpid());
	char csrf[65];
	char *jar = t_browser_login(t_env("RSTREAM_TEST_ADMIN_EMAIL"), t_env("RSTREAM_TEST_ADMIN_PASSWORD"), csrf);
	cr_assert_not_null(jar);
	snprintf(cookie, sizeof cookie, "Cookie: %s\r\n", jar);
	free(jar);
	/* four rows of one made-up actor: two days, two results, two addresses */
	char q[1024];
	snprintf(q, sizeof q,
		 "INSERT INTO audit_log (at, actor, action, target, ip, status) VALUES "
		 "('2025-01-10 03:00+00', 'user:%s', 'user.update', '/obj/%s/alpha', '192.0.2.10', 200),"
		 "('2025-01-10 04:00+00', 'user:%s', 'user.update', '/obj/%s/beta', '198.51.100.7', 403),"
		 "('2025-01-12 03:00+00', 'user:%s', 'signin.password', '/obj/%s/gamma', '192.0.2.99', 200),"
		 "('2025-01-14 03:00+00', 'user:%s', 'user.update', '/obj/%s/delta', '2001:db8::5', 500)",
		 tag, tag, tag, tag, tag, tag, tag, tag);
	cr_assert(sql_ok(q), "insert: %s", PQerrorMessage(t_db()));
}

static void get(const char *path, struct http_res *r)
{
	cr_assert_eq(http_do("GET", path, cookie, NULL, 0, r), 0);
}

static const char *names[] = {"alpha", "beta", "gamma", "delta"};

/* which of the four rows the page or file shows: a bit each */
static int shown(const char *body)
{
	int m = 0;
	char needle[128];
	for (int i = 0; i < 4; i++) {
		snprintf(needle, sizeof needle, "/obj/%s/%s", tag, names[i]);
		if (strstr(body, needle)) m |= 1 << i;
	}
	return m;
}

static int search(const char *filters)
{
	char path[512];
	snprintf(path, sizeof path, "/admin/audit?actor=user%%3A%s&%s", tag, filters);
	struct http_res r;
	get(path, &r);
	cr_assert_eq(r.status, 200, "%s: %d", path, r.status);
	int m = shown(r.body);
	http_free(&r);
	return m;
}

Test(protect_audit, the_application_role_can_add_rows_but_not_change_or_remove_them, .init = setup)
{
	char q[256];
	snprintf(q, sizeof q, "UPDATE audit_log SET action = 'x' WHERE actor = 'user:%s'", tag);
	cr_assert(!sql_ok(q), "UPDATE allowed");
	cr_assert(strstr(PQerrorMessage(t_db()), "permission denied"), "%s", PQerrorMessage(t_db()));
	snprintf(q, sizeof q, "DELETE FROM audit_log WHERE actor = 'user:%s'", tag);
	cr_assert(!sql_ok(q), "DELETE allowed");
	cr_assert(!sql_ok("TRUNCATE audit_log"), "TRUNCATE allowed");
	cr_assert(!sql_ok("ALTER TABLE audit_log DISABLE TRIGGER ALL"), "the app role still owns the table");
	/* a GRANT to itself grants nothing (PostgreSQL only warns): DELETE stays refused */
	sql_ok("GRANT DELETE ON audit_log TO rstream");
	snprintf(q, sizeof q, "DELETE FROM audit_log WHERE actor = 'user:%s'", tag);
	cr_assert(!sql_ok(q), "the app role granted itself DELETE");
	snprintf(q, sizeof q, "SELECT count(*) FROM audit_log WHERE actor = 'user:%s'", tag);
	char *n = t_db_value(q, 0, NULL);
	cr_assert_str_eq(n, "4");
	free(n);
	/* retention goes through audit_purge (owned by rstream_audit): a row a century old goes, today's stay */
	snprintf(q, sizeof q, "INSERT INTO audit_log (at, actor, action, target, status) VALUES "
		 "(now() - interval '101 years', 'user:%s-old', 'x', 'old', 200)", tag);
	cr_assert(sql_ok(q));
	cr_assert(sql_ok("SELECT audit_purge(36500)"), "%s", PQerrorMessage(t_db()));
	snprintf(q, sizeof q, "SELECT count(*) FROM audit_log WHERE actor = 'user:%s-old'", tag);
	n = t_db_value(q, 0, NULL);
	cr_assert_str_eq(n, "0", "audit_purge left the old row");
	free(n);
	cr_assert(!sql_ok("SELECT audit_purge(0)"), "a zero-day purge must be refused");
	const char *owner = t_db_value("SELECT tableowner FROM pg_tables WHERE tablename = 'audit_log'", 0, NULL);
	cr_assert_str_eq(owner, "rstream_audit");
}

Test(protect_audit, the_search_filters_by_object_time_result_and_address, .init = setup)
{
	cr_assert_eq(search(""), 0xf);
	cr_assert_eq(search("action=user.update"), 0x1 | 0x2 | 0x8);
	cr_assert_eq(search("object=gamma"), 0x4);
	/* days in the viewer's zone (Asia/Tokyo by default): 2025-01-10 03:00Z and 04:00Z are both on the 10th */
	cr_assert_eq(search("from=2025-01-10&to=2025-01-10"), 0x1 | 0x2);
	cr_assert_eq(search("from=2025-01-11"), 0x4 | 0x8);
	cr_assert_eq(search("result=ok"), 0x1 | 0x4);
	cr_assert_eq(search("result=error"), 0x2 | 0x8);
	cr_assert_eq(search("result=403"), 0x2);
	cr_assert_eq(search("ip=192.0.2.0%2F24"), 0x1 | 0x4);
	cr_assert_eq(search("ip=2001%3Adb8%3A%3A%2F32"), 0x8);
	cr_assert_eq(search("ip=198.51.100.7"), 0x2);

	char path[512];
	struct http_res r;
	snprintf(path, sizeof path, "/admin/audit.csv?actor=user%%3A%s&result=error", tag);
	get(path, &r);
	cr_assert_eq(r.status, 200);
	cr_assert_eq(shown(r.body), 0x2 | 0x8, "%s", r.body);
	http_free(&r);
}

Test(protect_audit, bad_filters_are_answered_400_with_the_form_kept, .init = setup)
{
	static const struct { const char *q, *needle; } bad[] = {
		{"from=2025-01-14&to=2025-01-10", "data-testid=\"audit-error\""},
		{"from=2025-02-30", "data-testid=\"audit-error\""},
		{"ip=300.1.1.1", "data-testid=\"audit-error\""},
		{"ip=192.0.2.0%2F99", "data-testid=\"audit-error\""},
		{"result=maybe", "data-testid=\"audit-error\""},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char path[512];
		struct http_res r;
		snprintf(path, sizeof path, "/admin/audit?%s", bad[i].q);
		get(path, &r);
		cr_assert_eq(r.status, 400, "%s: %d", bad[i].q, r.status);
		cr_assert_not_null(strstr(r.body, bad[i].needle), "%s: no form error", bad[i].q);
		cr_assert_not_null(strstr(r.body, "data-testid=\"audit-search\""), "%s: the form is gone", bad[i].q);
		http_free(&r);
		snprintf(path, sizeof path, "/admin/audit.csv?%s", bad[i].q);
		get(path, &r);
		cr_assert_eq(r.status, 400, "csv %s: %d", bad[i].q, r.status);
		http_free(&r);
	}
	/* the reversed range says so (in the admin's language) */
	struct http_res r;
	get("/admin/audit?from=2025-01-14&to=2025-01-10", &r);
	cr_assert(strstr(r.body, "開始日が終了日より後") || strstr(r.body, "The start date is after"), "%.300s", strstr(r.body, "audit-error"));
	http_free(&r);
}
