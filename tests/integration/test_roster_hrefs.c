/* Links built from roster sourcedIds: a sourcedId may hold '/', '?', '#', '%' and spaces (OneRoster only asks for
 * a string), so every page must percent-encode it into one path segment. Each test reads a link off a page and
 * follows it the way a browser would (the fragment cut off at '#', a space sent as %20). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"

#define CLASS_ID "rh-c/1?x=1#frag%zz 2"
#define TEACHER_ID "rh-t/1?#% a"
#define CLASS_TITLE "記号組"
static const char *TEACHER = "rh.teacher@rh.example", *TEACHER_PW = "teacher-password-rh1";

static void sql(const char *q, int n, const char *const *params)
{
	PGresult *r = PQexecParams(t_db(), q, n, NULL, params, NULL, NULL, 0);
	cr_assert(PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK, "%s: %s", q,
		  PQerrorMessage(t_db()));
	PQclear(r);
}

/* a school, one class and a teacher whose sourcedIds need encoding, plus a pupil; rostered and with accounts */
static void fixture(void)
{
	const char *ids[2] = {CLASS_ID, TEACHER_ID};
	sql("INSERT INTO roster_orgs (sourced_id, name, type) VALUES ('rh-s', '記号小学校', 'school') ON CONFLICT DO NOTHING",
	    0, NULL);
	sql("INSERT INTO roster_classes (sourced_id, title, course_sourced_id, class_type, school_sourced_id) VALUES "
	    "($1, '" CLASS_TITLE "', 'rh-course', 'homeroom', 'rh-s') ON CONFLICT DO NOTHING", 1, ids);
	sql("INSERT INTO roster_users (sourced_id, username, given_name, family_name, primary_org_sourced_id, user_ids, "
	    "metadata) VALUES ($1, 'rht1', '記号', '先生', 'rh-s', '{}', '{}'), ('rh-p1', 'rhp1', '一郎', '記号', 'rh-s', '{}', "
	    "'{\"jp.kanaFamilyName\":\"きごう\",\"jp.kanaGivenName\":\"いちろう\"}') ON CONFLICT DO NOTHING", 1, ids + 1);
	sql("INSERT INTO roster_enrollments (sourced_id, class_sourced_id, school_sourced_id, user_sourced_id, role) VALUES "
	    "('rh-e1', $1, 'rh-s', $2, 'teacher'), ('rh-e2', $1, 'rh-s', 'rh-p1', 'student') ON CONFLICT DO NOTHING", 2, ids);
	cr_assert_gt(t_make_user(TEACHER, "creator", TEACHER_PW), 0);
	const char *t[2] = {TEACHER_ID, TEACHER};
	sql("UPDATE users SET sourced_id = $1, org_sourced_id = 'rh-s', name = '記号 先生' WHERE email = $2", 2, t);
	sql("INSERT INTO users (email, name, role, sourced_id, org_sourced_id) VALUES "
	    "(NULL, '記号 一郎', 'viewer', 'rh-p1', 'rh-s') ON CONFLICT DO NOTHING", 0, NULL);
}

/* GET path with the session cookie; assert the status; the body (caller frees the response) */
static void get(const char *cookie, const char *path, int want, struct http_res *r)
{
	char hdr[1024];
	snprintf(hdr, sizeof hdr, "Cookie: %s\r\n", cookie);
	cr_assert_eq(http_do("GET", path, hdr, NULL, 0, r), 0);
	cr_assert_eq(r->status, want, "GET %s: HTTP %d %.300s", path, r->status, r->body);
}

/* The value of the first attr="prefix…" on the page, as a browser would request it: HTML entities undone, the
 * fragment dropped, spaces as %20. */
static void link_on(const char *html, const char *attr, const char *prefix, char *out, size_t n)
{
	char needle[128];
	snprintf(needle, sizeof needle, "%s=\"%s", attr, prefix);
	const char *m = strstr(html, needle);
	cr_assert_not_null(m, "no %s…\" on the page: %.600s", needle, html);
	m += strlen(attr) + 2;
	size_t k = 0;
	for (const char *p = m; *p && *p != '"' && *p != '#' && k + 4 < n; p++) {
		if (!strncmp(p, "&amp;", 5)) { out[k++] = '&'; p += 4; }
		else if (*p == ' ') { memcpy(out + k, "%20", 3); k += 3; }
		else out[k++] = *p;
	}
	out[k] = 0;
}

Test(roster_hrefs, teacher_pages_link_to_a_class_whose_sourcedId_needs_encoding)
{
	fixture();
	char csrf[65], link[512];
	char *cookie = t_browser_login(TEACHER, TEACHER_PW, csrf);
	cr_assert_not_null(cookie);
	struct http_res home, r;
	get(cookie, "/", 200, &home);
	cr_assert(strstr(home.body, CLASS_TITLE), "the class is on the teacher home");
	/* the home's two links for the class: login cards and the class's statistics */
	link_on(home.body, "href", "/cards/", link, sizeof link);
	cr_assert(!strchr(link + 7, '/') && !strchr(link, '?'), "one encoded path segment: %s", link);
	get(cookie, link, 200, &r);
	cr_assert(strstr(r.body, CLASS_TITLE), "%s opens the class's cards page", link);
	http_free(&r);
	link_on(home.body, "href", "/stats/classes/", link, sizeof link);
	get(cookie, link, 200, &r);
	cr_assert(strstr(r.body, CLASS_TITLE), "%s opens the class's statistics", link);
	http_free(&r);
	http_free(&home);

	/* the list of classes for cards, the class page's form, and the printed sheet's way back */
	struct http_res list, page;
	get(cookie, "/cards", 200, &list);
	link_on(list.body, "href", "/cards/", link, sizeof link);
	http_free(&list);
	get(cookie, link, 200, &page);
	cr_assert(strstr(page.body, "記号 一郎") || strstr(page.body, CLASS_TITLE));
	char action[512], body[256], hdr[1200];
	link_on(page.body, "action", "/cards/", action, sizeof action);
	http_free(&page);
	cr_assert_str_eq(action, link, "the form posts to the page it is on");
	snprintf(body, sizeof body, "_csrf=%s&days=30", csrf);
	snprintf(hdr, sizeof hdr, "Cookie: %s\r\nContent-Type: application/x-www-form-urlencoded\r\n", cookie);
	cr_assert_eq(http_do("POST", action, hdr, body, strlen(body), &r), 0);
	cr_assert_eq(r.status, 200, "issue cards at %s: HTTP %d %.300s", action, r.status, r.body);
	cr_assert(strstr(r.body, "data-testid=\"card-code\""), "a sheet of cards");
	char back[512];
	link_on(r.body, "href", "/cards/", back, sizeof back);
	http_free(&r);
	cr_assert_str_eq(back, link, "the sheet links back to the class");
	free(cookie);
}

Test(roster_hrefs, the_admin_user_page_links_to_a_roster_person_whose_sourcedId_needs_encoding)
{
	fixture();
	const char *p[1] = {TEACHER};
	char *id = t_db_value("SELECT id FROM users WHERE email = $1", 1, p);
	cr_assert_not_null(id);
	char csrf[65], path[64], link[512];
	char *cookie = t_browser_login(t_env("RSTREAM_TEST_ADMIN_EMAIL"), t_env("RSTREAM_TEST_ADMIN_PASSWORD"), csrf);
	cr_assert_not_null(cookie);
	snprintf(path, sizeof path, "/admin/users/%s", id);
	free(id);
	struct http_res page, r;
	get(cookie, path, 200, &page);
	link_on(page.body, "href", "/admin/roster/users/", link, sizeof link);
	http_free(&page);
	get(cookie, link, 200, &r);
	cr_assert(strstr(r.body, "rht1") && strstr(r.body, "先生"), "%s opens the roster person: %.400s", link, r.body);
	http_free(&r);
	free(cookie);
}
