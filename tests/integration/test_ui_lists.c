/* The roster org and class lists: numbered pages with a total, sortable columns from a fixed list (anything else
 * is 400), a page past the end goes back to the first. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "harness.h"

static char cookie_hdr[1200];

static void admin(void)
{
	if (cookie_hdr[0]) return;
	char csrf[65];
	char *c = t_browser_login(t_env("RSTREAM_TEST_ADMIN_EMAIL"), t_env("RSTREAM_TEST_ADMIN_PASSWORD"), csrf);
	cr_assert(c);
	snprintf(cookie_hdr, sizeof cookie_hdr, "Cookie: %s\r\n", c);
	free(c);
}

static char *get(const char *path, int want)
{
	admin();
	struct http_res r = {0};
	cr_assert_eq(http_do("GET", path, cookie_hdr, NULL, 0, &r), 0);
	cr_assert_eq(r.status, want, "%s: HTTP %d", path, r.status);
	char *b = strdup(r.body ? r.body : "");
	http_free(&r);
	return b;
}

static void sql(const char *q, int n, const char *const *p)
{
	PGresult *r = PQexecParams(t_db(), q, n, NULL, p, NULL, NULL, 0);
	cr_assert(PQresultStatus(r) == PGRES_COMMAND_OK, "%s", PQerrorMessage(t_db()));
	PQclear(r);
}

/* position of needle in hay, or a large number */
static long at(const char *hay, const char *needle)
{
	const char *p = strstr(hay, needle);
	return p ? p - hay : 1L << 40;
}

Test(ui_lists, roster_orgs_sort_by_name_both_ways_with_a_total)
{
	char tag[32], path[256];
	snprintf(tag, sizeof tag, "LST%ld", (long)time(NULL));
	const char *p[] = {tag};
	sql("INSERT INTO roster_orgs (sourced_id, name, type, status) VALUES "
	    "($1 || '-z', $1 || ' あおば小学校', 'school', 'active'), ($1 || '-a', $1 || ' わかば小学校', 'school', 'active'), "
	    "($1 || '-m', $1 || ' かえで小学校', 'school', 'active') ON CONFLICT DO NOTHING", 1, p);
	snprintf(path, sizeof path, "/admin/roster/orgs?q=%s&sort=name&dir=asc", tag);
	char *b = get(path, 200);
	cr_assert(at(b, "あおば") < at(b, "かえで") && at(b, "かえで") < at(b, "わかば"), "by name, not by sourcedId");
	cr_assert(strstr(b, "aria-sort=\"ascending\""));
	cr_assert(strstr(b, "class=\"total\""), "the pager shows a total");
	free(b);
	snprintf(path, sizeof path, "/admin/roster/orgs?q=%s&sort=name&dir=desc", tag);
	b = get(path, 200);
	cr_assert(at(b, "わかば") < at(b, "かえで") && at(b, "かえで") < at(b, "あおば"));
	free(b);
	get("/admin/roster/orgs?sort=sourced_id;DROP", 400);
	get("/admin/roster/orgs?sort=name&dir=sideways", 400);
	snprintf(path, sizeof path, "/admin/roster/orgs?q=%s&page=999", tag);
	free(get(path, 303));
}

Test(ui_lists, roster_classes_page_and_sort_by_title_and_enrollments)
{
	char tag[32], path[256];
	snprintf(tag, sizeof tag, "LSC%ld", (long)time(NULL));
	const char *p[] = {tag};
	sql("INSERT INTO roster_orgs (sourced_id, name, type, status) VALUES ($1 || '-s', $1 || ' 学校', 'school', 'active') "
	    "ON CONFLICT DO NOTHING", 1, p);
	/* 55 classes: two pages of 50 */
	sql("INSERT INTO roster_classes (sourced_id, title, class_type, school_sourced_id, course_sourced_id, status) "
	    "SELECT $1 || '-c' || lpad(i::text, 3, '0'), $1 || ' 組' || lpad((100 - i)::text, 3, '0'), 'scheduled', "
	    "$1 || '-s', $1 || '-course', 'active' FROM generate_series(1, 55) i ON CONFLICT DO NOTHING", 1, p);
	snprintf(path, sizeof path, "/admin/roster/classes?q=%s", tag);
	char *b = get(path, 200);
	cr_assert(strstr(b, ">55<") || strstr(b, "55"), "total 55");
	cr_assert(strstr(b, "組045") && !strstr(b, "組099"), "title order: the first page holds 組045..組094, not 組099 (%ld)", at(b, "組045"));
	cr_assert(strstr(b, "rel=\"next\""));
	free(b);
	snprintf(path, sizeof path, "/admin/roster/classes?q=%s&sort=title&dir=asc&page=2", tag);
	b = get(path, 200);
	cr_assert(strstr(b, "組099") && !strstr(b, "組045"), "page 2 holds the rest");
	cr_assert(strstr(b, "rel=\"prev\""));
	free(b);
	snprintf(path, sizeof path, "/admin/roster/classes?q=%s&sort=enrollments&dir=desc", tag);
	free(get(path, 200));
	get("/admin/roster/classes?sort=nope", 400);
}
