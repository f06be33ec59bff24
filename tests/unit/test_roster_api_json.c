/* Unit tests for the OneRoster entity → JSON mapping and the SELECT list it implies. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include "roster_api.h"

#define BASE "http://h/ims/oneroster/rostering/v1p2"

static arena *A;
static void setup(void) { A = arena_new(0); }
static void teardown(void) { arena_free(A); }
TestSuite(roster_api_json, .init = setup, .fini = teardown);

static int count_selected(const struct ra_entity *e, const struct roster_query *q)
{
	int n = 0;
	for (int i = 0; i < e->nfields; i++)
		if ((e->fields[i].flags & RFF_SELECT) && e->fields[i].column && (!q || roster_field_selected(q, e->fields[i].json)))
			n++;
	return n;
}

static const char *get(json_object *o, const char *path)
{
	/* "a.b.0.c" */
	char tmp[256];
	snprintf(tmp, sizeof tmp, "%s", path);
	json_object *cur = o;
	for (char *tok = strtok(tmp, "/"); tok && cur; tok = strtok(NULL, "/")) {
		if (json_object_is_type(cur, json_type_array)) cur = json_object_array_get_idx(cur, (size_t)atoi(tok));
		else if (!json_object_object_get_ex(cur, tok, &cur)) return NULL;
	}
	return cur ? json_object_get_string(cur) : NULL;
}

/* user columns in whitelist order (see user_fields in roster_api.c) */
static json_object *sample_user(const struct roster_query *q)
{
	const char *vals[] = {
		"u-1", "active", "2024-05-01T01:02:03.456Z",
		"{\"jp.kanaGivenName\": \"たろう\", \"jp.kanaFamilyName\": \"やまだ\", \"jp.homeClass\": \"c-1\"}",
		"7f3e0f1c-0000-4000-8000-000000000001", "taro", "[\"{MEXT:12345}\",\"plain\"]", "t", "太郎", "山田", NULL,
		NULL, NULL, NULL, NULL,
		"[[\"primary\",\"student\",\"school-1\",null,\"2024-04-01\",null]]",
		NULL, "school-1", "S001", "taro@example.jp", NULL, NULL, "[\"u-parent\"]", "[\"P3\"]",
	};
	cr_assert_eq(count_selected(&ra_users, NULL), (int)(sizeof vals / sizeof vals[0]), "test row matches whitelist");
	return ra_row_json(&ra_users, q, vals, BASE);
}

Test(roster_api_json, maps_a_user_with_references_roles_and_metadata)
{
	json_object *u = sample_user(NULL);
	cr_assert_str_eq(get(u, "sourcedId"), "u-1");
	cr_assert_str_eq(get(u, "dateLastModified"), "2024-05-01T01:02:03.456Z");
	cr_assert_str_eq(get(u, "metadata/jp.kanaGivenName"), "たろう");
	cr_assert_str_eq(get(u, "givenName"), "太郎");
	json_object *en;
	cr_assert(json_object_object_get_ex(u, "enabledUser", &en));
	cr_assert(json_object_is_type(en, json_type_boolean));
	cr_assert(json_object_get_boolean(en));
	cr_assert_str_eq(get(u, "roles/0/roleType"), "primary");
	cr_assert_str_eq(get(u, "roles/0/role"), "student");
	cr_assert_str_eq(get(u, "roles/0/org/type"), "org");
	cr_assert_str_eq(get(u, "roles/0/org/href"), BASE "/orgs/school-1");
	cr_assert_str_eq(get(u, "roles/0/beginDate"), "2024-04-01");
	cr_assert_null(get(u, "roles/0/endDate"));
	cr_assert_str_eq(get(u, "primaryOrg/sourcedId"), "school-1");
	cr_assert_str_eq(get(u, "agents/0/type"), "user");
	cr_assert_str_eq(get(u, "agents/0/href"), BASE "/users/u-parent");
	cr_assert_str_eq(get(u, "grades/0"), "P3");
	cr_assert_str_eq(get(u, "userIds/0/type"), "MEXT");
	cr_assert_str_eq(get(u, "userIds/0/identifier"), "12345");
	cr_assert_str_eq(get(u, "userIds/1/identifier"), "plain");
	cr_assert_null(get(u, "middleName"), "NULL columns are left out");
	json_object *profiles;
	cr_assert(json_object_object_get_ex(u, "userProfiles", &profiles));
	cr_assert_eq(json_object_array_length(profiles), 0);
	json_object_put(u);
}

Test(roster_api_json, selects_only_the_requested_fields)
{
	struct roster_query q; struct rf_error e;
	cr_assert_eq(roster_query_parse(A, ra_users.fields, ra_users.nfields, NULL, NULL, NULL, "sourcedId,roles",
					NULL, NULL, &q, &e), 0, "%s", e.msg);
	const char *sel = ra_select_sql(A, &ra_users, &q);
	cr_assert(strstr(sel, "t.sourced_id"));
	cr_assert(strstr(sel, "roster_roles"));
	cr_assert_null(strstr(sel, "given_name"));
	const char *vals[] = {"u-9", "[[\"primary\",\"teacher\",\"s\",null,null,null]]"};
	json_object *u = ra_row_json(&ra_users, &q, vals, BASE);
	cr_assert_eq(json_object_object_length(u), 2);
	cr_assert_str_eq(get(u, "roles/0/role"), "teacher");
	json_object_put(u);
}

Test(roster_api_json, writes_date_last_modified_in_the_strict_form_in_sql)
{
	const char *sel = ra_select_sql(A, &ra_orgs, NULL);
	cr_assert(strstr(sel, "to_char(t.date_last_modified AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"),
		  "%s", sel);
}

Test(roster_api_json, maps_a_class_with_term_references)
{
	const char *vals[] = {"c-1", "active", "2024-05-01T00:00:00.000Z", "{\"jp.specialNeeds\":\"false\"}", "1年1組",
			      NULL, "homeroom", NULL, "[\"P1\"]", "[]", "course-1", "school-1", "[\"t1\",\"t2\"]", "[]",
			      "[]"};
	cr_assert_eq(count_selected(&ra_classes, NULL), (int)(sizeof vals / sizeof vals[0]));
	json_object *c = ra_row_json(&ra_classes, NULL, vals, BASE);
	cr_assert_str_eq(get(c, "course/href"), BASE "/courses/course-1");
	cr_assert_str_eq(get(c, "course/type"), "course");
	cr_assert_str_eq(get(c, "school/type"), "org");
	cr_assert_str_eq(get(c, "terms/1/sourcedId"), "t2");
	cr_assert_str_eq(get(c, "terms/1/type"), "academicSession");
	cr_assert_str_eq(get(c, "metadata/jp.specialNeeds"), "false");
	json_object_put(c);
}

Test(roster_api_json, maps_an_enrollment_with_a_boolean_primary)
{
	const char *vals[] = {"e-1", "tobedeleted", "2024-05-01T00:00:00.000Z", "{\"jp.ShussekiNo\":\"3\"}", "u-1", "c-1",
			      "s-1", "student", "f", "2024-04-01", NULL};
	cr_assert_eq(count_selected(&ra_enrollments, NULL), (int)(sizeof vals / sizeof vals[0]));
	json_object *o = ra_row_json(&ra_enrollments, NULL, vals, BASE);
	cr_assert_str_eq(get(o, "status"), "tobedeleted");
	cr_assert_str_eq(get(o, "user/href"), BASE "/users/u-1");
	cr_assert_str_eq(get(o, "class/type"), "class");
	cr_assert_str_eq(get(o, "primary"), "false");
	cr_assert_str_eq(get(o, "metadata/jp.ShussekiNo"), "3");
	json_object_put(o);
}

Test(roster_api_json, school_year_is_a_string)
{
	const char *vals[] = {"as-1", "active", "2024-05-01T00:00:00.000Z", "{}", "2024年度", "2024-04-01", "2025-03-31",
			      "schoolYear", NULL, "[\"t1\"]", "2024"};
	cr_assert_eq(count_selected(&ra_sessions, NULL), (int)(sizeof vals / sizeof vals[0]));
	json_object *o = ra_row_json(&ra_sessions, NULL, vals, BASE);
	json_object *sy;
	cr_assert(json_object_object_get_ex(o, "schoolYear", &sy));
	cr_assert(json_object_is_type(sy, json_type_string));
	cr_assert_str_eq(get(o, "children/0/href"), BASE "/academicSessions/t1");
	json_object_put(o);
}

Test(roster_api_json, escapes_odd_characters_in_hrefs)
{
	json_object *r = ra_ref(BASE, "user", "a b/c?d");
	cr_assert_str_eq(get(r, "href"), BASE "/users/a%20b%2Fc%3Fd");
	cr_assert_str_eq(get(r, "sourcedId"), "a b/c?d");
	json_object_put(r);
}

Test(roster_api_json, builds_an_imsx_status_info_error)
{
	json_object *o = ra_status_info("unknownobject", "no such user", "sourcedId");
	cr_assert_str_eq(get(o, "imsx_StatusInfo/imsx_codeMajor"), "failure");
	cr_assert_str_eq(get(o, "imsx_StatusInfo/imsx_severity"), "error");
	cr_assert_str_eq(get(o, "imsx_StatusInfo/imsx_CodeMinor/imsx_codeMinorField/0/imsx_codeMinorFieldValue"),
			 "unknownobject");
	json_object_put(o);
}

Test(roster_api_json, every_entity_has_sourced_id_status_and_date_last_modified)
{
	const struct ra_entity *all[] = {&ra_orgs, &ra_sessions, &ra_courses, &ra_classes, &ra_users, &ra_enrollments,
					 &ra_demographics};
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
		cr_assert_not_null(rf_lookup(all[i]->fields, all[i]->nfields, "sourcedId"));
		cr_assert_not_null(rf_lookup(all[i]->fields, all[i]->nfields, "status"));
		const struct rf_field *d = rf_lookup(all[i]->fields, all[i]->nfields, "dateLastModified");
		cr_assert_not_null(d);
		cr_assert_eq(d->type, RF_DATETIME);
	}
}
