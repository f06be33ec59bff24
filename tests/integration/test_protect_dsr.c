/* Data-subject requests over the real stack: the export zip holds the person's account, roster records,
 * enrollments, viewing, notifications and audit entries; the erasure ends their sessions, is audited, refuses a
 * second run and a missing user clearly, and afterwards no text, jsonb or array column of ANY table still holds
 * their name, e-mail, user name or sourcedId. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "harness.h"

static void sql(const char *q, int n, const char *const *p)
{
	PGresult *r = PQexecParams(t_db(), q, n, NULL, p, NULL, NULL, 0);
	cr_assert(PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK, "%s: %s", q, PQerrorMessage(t_db()));
	PQclear(r);
}

static int sh(const char *fmt, const char *a, const char *b)
{
	char cmd[2048];
	snprintf(cmd, sizeof cmd, fmt, a, b);
	return system(cmd);
}

struct person { char tag[40], sid[64], email[128], user[64], name[128], kana[128], pw[32]; long id; };

/* a rostered pupil with an account, an enrollment, demographics, viewing, a notification, audit rows and a
 * counted failed login: something in every place the erasure must reach */
static void make_person(struct person *p)
{
	snprintf(p->tag, sizeof p->tag, "%ld%d", (long)time(NULL) % 1000000, getpid());
	snprintf(p->sid, sizeof p->sid, "dsr-s-%s", p->tag);
	snprintf(p->email, sizeof p->email, "dsr-%s@dsr.example", p->tag);
	snprintf(p->user, sizeof p->user, "dsruser%s", p->tag);
	snprintf(p->name, sizeof p->name, "消去 試験%s", p->tag);
	snprintf(p->kana, sizeof p->kana, "しょうきょ しけん%s", p->tag);
	snprintf(p->pw, sizeof p->pw, "Dsr-password-%s", p->tag);
	p->id = t_make_user(p->email, "viewer", p->pw);
	cr_assert_gt(p->id, 0);
	char id[24], given[64];
	snprintf(id, sizeof id, "%ld", p->id);
	snprintf(given, sizeof given, "試験%s", p->tag);
	const char *a[] = {p->sid, p->user, given, p->email, p->tag, id, p->name};
	sql("INSERT INTO roster_users (sourced_id, username, given_name, family_name, email, identifier, user_ids, metadata) "
	    "VALUES ($1, $2, $3, '消去', $4, 'id-' || $5, ARRAY['{Google:g-' || $5 || '}'], "
	    "jsonb_build_object('jp.kanaFamilyName', 'しょうきょ', 'jp.kanaGivenName', 'しけん' || $5))", 5, a);
	const char *ua[] = {p->sid, p->user, id, p->name};
	sql("UPDATE users SET sourced_id = $1, username = $2, name = $4 WHERE id = $3::bigint", 4, ua);
	sql("INSERT INTO roster_enrollments (sourced_id, class_sourced_id, school_sourced_id, user_sourced_id, role) "
	    "VALUES ('enr-' || $1, 'dsr-class', 'dsr-school', $1, 'student')", 1, a);
	sql("INSERT INTO roster_demographics (sourced_id, birth_date, sex) VALUES ($1, '2015-04-02', 'female')", 1, a);
	const char *v[] = {p->tag, id};
	sql("WITH v AS (INSERT INTO videos (public_id, title) VALUES (substr(md5($1), 1, 16), 'DSR video ' || $1) RETURNING id) "
	    "INSERT INTO view_progress (user_id, video_id, watched, watched_ms, duration_ms, first_at, last_at) "
	    "SELECT $2::bigint, v.id, '{[0,5000)}', 5000, 60000, now(), now() FROM v", 2, v);
	sql("INSERT INTO notifications (user_id, event_key, kind, payload) VALUES ($2::bigint, 'dsr:' || $1, 'assignment_new', "
	    "jsonb_build_object('title', 'DSR', 'detail', 'for ' || $1))", 2, v);
	const char *au[] = {id, p->email, p->sid};
	sql("INSERT INTO audit_log (actor, action, target, detail, status) VALUES "
	    "('user:' || $1, 'user.update', 'user:' || $1, jsonb_build_object('email', $2::text), 200), "
	    "($2, 'signin.password', '/login', '{}', 401), "
	    "('system', 'roster.import', '/roster/' || $3, jsonb_build_object('note', 'row of ' || $3 || ' changed'), 200)", 3, au);
	/* a wrong password: counted under the e-mail */
	char *tok = t_login(p->email, "not-the-password");
	cr_assert_null(tok);
}

static char *admin_hdr(void)
{
	static char h[700];
	snprintf(h, sizeof h, "Authorization: Bearer %s\r\n", t_admin_token());
	return h;
}

Test(protect_dsr, export_holds_everything_about_the_person_then_erasure_leaves_no_personal_field_anywhere)
{
	struct person p;
	make_person(&p);
	char path[128];
	struct http_res r;

	/* a session of the person, to see it end */
	char *token = t_login(p.email, p.pw);
	cr_assert_not_null(token);
	char me[700];
	snprintf(me, sizeof me, "Authorization: Bearer %s\r\n", token);
	cr_assert_eq(http_do("GET", "/api/v1/me", me, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 200);
	http_free(&r);

	/* ---- export ---- */
	snprintf(path, sizeof path, "/api/v1/users/%ld/export", p.id);
	cr_assert_eq(http_do("GET", path, admin_hdr(), NULL, 0, &r), 0);
	cr_assert_eq(r.status, 200, "export: %d %s", r.status, r.body);
	cr_assert(strstr(http_header(&r, "Content-Type"), "application/zip"));
	char zip[256];
	snprintf(zip, sizeof zip, "/tmp/rstream-dsr-%s.zip", p.tag);
	FILE *f = fopen(zip, "wb");
	cr_assert_not_null(f);
	fwrite(r.body, 1, r.body_len, f);
	fclose(f);
	http_free(&r);
	static const char *const files[] = {"account.json", "roster.json", "enrollments.csv", "viewing.csv",
					    "viewing_sessions.csv", "notifications.csv", "audit.csv"};
	for (size_t i = 0; i < 7; i++)
		cr_assert_eq(sh("unzip -l '%s' | grep -q ' %s$'", zip, files[i]), 0, "%s missing from the zip", files[i]);
	cr_assert_eq(sh("unzip -p '%s' account.json | grep -q '%s'", zip, p.email), 0, "account.json lacks the e-mail");
	cr_assert_eq(sh("unzip -p '%s' roster.json | grep -q '2015-04-02'", zip, ""), 0, "roster.json lacks the demographics");
	cr_assert_eq(sh("unzip -p '%s' enrollments.csv | grep -q 'enr-%s'", zip, p.sid), 0, "enrollments.csv lacks the enrollment");
	cr_assert_eq(sh("unzip -p '%s' viewing.csv | grep -q 'DSR video %s'", zip, p.tag), 0, "viewing.csv lacks the video");
	cr_assert_eq(sh("unzip -p '%s' notifications.csv | grep -q 'for %s'", zip, p.tag), 0, "notifications.csv lacks the row");
	cr_assert_eq(sh("unzip -p '%s' audit.csv | grep -q '/roster/%s'", zip, p.sid), 0, "audit.csv lacks the entry naming them");
	unlink(zip);

	/* ---- erase ---- */
	snprintf(path, sizeof path, "/api/v1/users/%ld/erase", p.id);
	cr_assert_eq(http_do("POST", path, admin_hdr(), "", 0, &r), 0);
	cr_assert_eq(r.status, 200, "erase: %d %s", r.status, r.body);
	cr_assert_not_null(strstr(r.body, "erased-"));
	http_free(&r);
	cr_assert_eq(http_do("GET", "/api/v1/me", me, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 401, "the person's token still works after erasure");
	http_free(&r);
	cr_assert_null(t_login(p.email, p.pw), "the person can still sign in");
	/* again: already erased; export after erasure: the same; a user that never existed: not found */
	cr_assert_eq(http_do("POST", path, admin_hdr(), "", 0, &r), 0);
	cr_assert_eq(r.status, 409);
	cr_assert_not_null(strstr(r.body, "already_erased"));
	http_free(&r);
	snprintf(path, sizeof path, "/api/v1/users/%ld/export", p.id);
	cr_assert_eq(http_do("GET", path, admin_hdr(), NULL, 0, &r), 0);
	cr_assert_eq(r.status, 409);
	http_free(&r);
	cr_assert_eq(http_do("POST", "/api/v1/users/999999999/erase", admin_hdr(), "", 0, &r), 0);
	cr_assert_eq(r.status, 404);
	cr_assert_not_null(strstr(r.body, "no_user"));
	http_free(&r);
	char id[24];
	snprintf(id, sizeof id, "%ld", p.id);
	const char *ip[] = {id};
	char *n = t_db_value("SELECT count(*) FROM audit_log WHERE action = 'dsr.erase' AND target = 'user:' || $1", 1, ip);
	cr_assert_str_eq(n, "1", "erasure not audited");
	free(n);
	n = t_db_value("SELECT count(*) FROM view_progress WHERE user_id = $1::bigint", 1, ip);
	cr_assert_str_eq(n, "0", "per-person viewing kept");
	free(n);

	/* ---- nothing personal left in any table ---- */
	PGresult *cols = PQexec(t_db(), "SELECT c.table_name, c.column_name FROM information_schema.columns c "
				"JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name "
				"WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' "
				"AND c.data_type IN ('text', 'character varying', 'character', 'jsonb', 'json', 'ARRAY') "
				"ORDER BY 1, 2");
	cr_assert_eq(PQresultStatus(cols), PGRES_TUPLES_OK);
	cr_assert_gt(PQntuples(cols), 50, "too few columns scanned");
	const char *needles[] = {p.email, p.name, p.sid, p.user, p.kana};
	char found[4096] = "";
	for (int i = 0; i < PQntuples(cols); i++) {
		char q[512];
		snprintf(q, sizeof q, "SELECT count(*) FROM \"%s\" WHERE strpos(\"%s\"::text, $1) > 0 OR strpos(\"%s\"::text, $2) > 0 "
			 "OR strpos(\"%s\"::text, $3) > 0 OR strpos(\"%s\"::text, $4) > 0 OR strpos(\"%s\"::text, $5) > 0",
			 PQgetvalue(cols, i, 0), PQgetvalue(cols, i, 1), PQgetvalue(cols, i, 1), PQgetvalue(cols, i, 1),
			 PQgetvalue(cols, i, 1), PQgetvalue(cols, i, 1));
		char *c = t_db_value(q, 5, needles);
		cr_assert_not_null(c, "%s", q);
		if (strcmp(c, "0"))
			snprintf(found + strlen(found), sizeof found - strlen(found), " %s.%s(%s)", PQgetvalue(cols, i, 0),
				 PQgetvalue(cols, i, 1), c);
		free(c);
	}
	PQclear(cols);
	cr_assert_str_eq(found, "", "personal data left after erasure in:%s", found);
	free(token);
}

Test(protect_dsr, an_admin_cannot_erase_themselves_and_the_page_shows_the_state)
{
	char *self = t_db_value("SELECT id FROM users WHERE email = $1", 1, (const char *const[]){t_env("RSTREAM_TEST_ADMIN_EMAIL")});
	cr_assert_not_null(self);
	char path[128];
	struct http_res r;
	snprintf(path, sizeof path, "/api/v1/users/%s/erase", self);
	cr_assert_eq(http_do("POST", path, admin_hdr(), "", 0, &r), 0);
	cr_assert_eq(r.status, 422, "self-erasure: %d", r.status);
	http_free(&r);
	char csrf[65];
	char *jar = t_browser_login(t_env("RSTREAM_TEST_ADMIN_EMAIL"), t_env("RSTREAM_TEST_ADMIN_PASSWORD"), csrf);
	char hdr[4096];
	snprintf(hdr, sizeof hdr, "Cookie: %s\r\n", jar);
	snprintf(path, sizeof path, "/admin/users/%s/privacy", self);
	cr_assert_eq(http_do("GET", path, hdr, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 200);
	cr_assert_not_null(strstr(r.body, "data-testid=\"dsr-export\""));
	cr_assert_null(strstr(r.body, "data-testid=\"dsr-erase\""), "own erase button shown");
	http_free(&r);
	cr_assert_eq(http_do("GET", "/admin/users/999999999/privacy", hdr, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 404);
	http_free(&r);
	free(jar);
	free(self);
}
