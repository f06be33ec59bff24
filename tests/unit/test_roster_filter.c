/* Unit tests for the OneRoster filter/sort/fields/paging parser and the SQL it produces. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include "roster_filter.h"

static const struct rf_field WL[] = {
	{"sourcedId", "sourcedId", "t.sourced_id", RF_STR, RFF_FILTER | RFF_SORT | RFF_SELECT, NULL, NULL, 0, NULL},
	{"status", "status", "t.status", RF_STR, RFF_FILTER | RFF_SORT | RFF_SELECT, NULL, NULL, 0, NULL},
	{"dateLastModified", "dateLastModified", "t.date_last_modified", RF_DATETIME,
	 RFF_FILTER | RFF_SORT | RFF_SELECT, NULL, NULL, 0, NULL},
	{"givenName", "givenName", "t.given_name", RF_STR, RFF_FILTER | RFF_SORT | RFF_SELECT, NULL, NULL, 0, NULL},
	{"familyName", "familyName", "t.family_name", RF_STR, RFF_FILTER | RFF_SORT | RFF_SELECT, NULL, NULL, 0, NULL},
	{"enabledUser", "enabledUser", "t.enabled_user", RF_BOOL, RFF_FILTER | RFF_SELECT, NULL, NULL, 0, NULL},
	{"grades", "grades", "t.grades", RF_LIST, RFF_FILTER | RFF_SELECT, NULL, NULL, 0, NULL},
	{"birthDate", "birthDate", "t.birth_date", RF_DATE, RFF_FILTER | RFF_SELECT, NULL, NULL, 0, NULL},
	{"primaryOrg.sourcedId", "primaryOrg", "t.primary_org_sourced_id", RF_STR, RFF_FILTER | RFF_SELECT, "org", NULL, 0, NULL},
	{"role", "roles", "EXISTS (SELECT 1 FROM roster_roles ro WHERE ro.user_sourced_id = t.sourced_id AND %s)",
	 RF_EXISTS, RFF_FILTER, NULL, "ro.role", 0, NULL},
	{"roles", "roles", NULL, RF_NONE, RFF_SELECT, NULL, NULL, 0, NULL},
};
#define NWL ((int)(sizeof WL / sizeof WL[0]))

static arena *A;
static void setup(void) { A = arena_new(0); }
static void teardown(void) { arena_free(A); }
TestSuite(roster_filter, .init = setup, .fini = teardown);
TestSuite(roster_query, .init = setup, .fini = teardown);

static int parse(const char *filter, struct roster_query *q, struct rf_error *e)
{
	memset(q, 0, sizeof *q);
	memset(e, 0, sizeof *e);
	return roster_filter_parse(A, WL, NWL, filter, q, e);
}

static const char *sql_of(const char *filter, const char **params, int *np)
{
	struct roster_query q; struct rf_error e;
	cr_assert_eq(parse(filter, &q, &e), 0, "filter %s: %s", filter, e.msg);
	*np = 0;
	return roster_filter_sql(A, &q, 1, params, np);
}

Test(roster_filter, parses_a_single_equality_into_a_placeholder)
{
	const char *params[4]; int np;
	const char *s = sql_of("givenName='Fred'", params, &np);
	cr_assert_str_eq(s, "(t.given_name = $1)");
	cr_assert_eq(np, 1);
	cr_assert_str_eq(params[0], "Fred");
}

Test(roster_filter, joins_two_predicates_with_and)
{
	const char *params[4]; int np;
	const char *s = sql_of("givenName='Fred' AND familyName!='Smith'", params, &np);
	cr_assert_str_eq(s, "(t.given_name = $1 AND t.family_name IS DISTINCT FROM $2)");
	cr_assert_eq(np, 2);
	cr_assert_str_eq(params[1], "Smith");
}

Test(roster_filter, joins_two_predicates_with_or)
{
	const char *params[4]; int np;
	const char *s = sql_of("givenName='a' OR givenName='b'", params, &np);
	cr_assert_str_eq(s, "(t.given_name = $1 OR t.given_name = $2)");
}

Test(roster_filter, accepts_every_operator)
{
	const char *ops[] = {"=", "!=", ">", ">=", "<", "<=", "~"};
	for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
		char f[64];
		snprintf(f, sizeof f, "familyName%s'x'", ops[i]);
		struct roster_query q; struct rf_error e;
		cr_assert_eq(parse(f, &q, &e), 0, "%s: %s", f, e.msg);
		cr_assert_eq((int)q.pred[0].op, (int)i);
	}
}

Test(roster_filter, contains_is_case_insensitive_substring)
{
	const char *params[4]; int np;
	const char *s = sql_of("familyName~'sm'", params, &np);
	cr_assert_str_eq(s, "(strpos(lower(t.family_name::text), lower($1)) > 0)");
}

Test(roster_filter, injection_stays_inside_the_value)
{
	const char *params[4]; int np;
	const char *s = sql_of("givenName='x'' OR 1=1--'", params, &np);
	cr_assert_str_eq(s, "(t.given_name = $1)");
	cr_assert_str_eq(params[0], "x' OR 1=1--");
}

Test(roster_filter, rejects_or_1_equals_1_injection)
{
	struct roster_query q; struct rf_error e;
	cr_assert_eq(parse("givenName='x' OR 1=1--", &q, &e), -1);
	cr_assert_str_eq(e.code_minor, "invaliddata");
	cr_assert_str_eq(e.param, "filter");
}

Test(roster_filter, rejects_sql_after_the_value)
{
	struct roster_query q; struct rf_error e;
	cr_assert_eq(parse("givenName='x'; DROP TABLE roster_users", &q, &e), -1);
	cr_assert_eq(parse("givenName='x'--", &q, &e), -1);
}

Test(roster_filter, unescapes_backslash_quotes)
{
	const char *params[4]; int np;
	sql_of("givenName='O\\'Brien'", params, &np);
	cr_assert_str_eq(params[0], "O'Brien");
}

Test(roster_filter, rejects_unbalanced_quotes)
{
	struct roster_query q; struct rf_error e;
	cr_assert_eq(parse("givenName='Fred", &q, &e), -1);
	cr_assert(strstr(e.msg, "unbalanced"), "%s", e.msg);
	cr_assert_eq(parse("givenName='Fred'' AND familyName='x", &q, &e), -1);
}

Test(roster_filter, rejects_unquoted_values)
{
	struct roster_query q; struct rf_error e;
	cr_assert_eq(parse("givenName=Fred", &q, &e), -1);
	cr_assert(strstr(e.msg, "single quotes"), "%s", e.msg);
}

Test(roster_filter, rejects_three_predicates)
{
	struct roster_query q; struct rf_error e;
	cr_assert_eq(parse("givenName='a' AND familyName='b' AND status='active'", &q, &e), -1);
	cr_assert(strstr(e.msg, "at most two"), "%s", e.msg);
}

Test(roster_filter, rejects_an_unknown_field_with_invalid_filter_field)
{
	struct roster_query q; struct rf_error e;
	cr_assert_eq(parse("password='x'", &q, &e), -1);
	cr_assert_str_eq(e.code_minor, "invalid_filter_field");
	cr_assert_eq(parse("givenName='a' AND nope='b'", &q, &e), -1);
	cr_assert_str_eq(e.code_minor, "invalid_filter_field");
}

Test(roster_filter, rejects_unknown_operators)
{
	struct roster_query q; struct rf_error e;
	cr_assert_eq(parse("givenName=='x'", &q, &e), -1);
	cr_assert(strstr(e.msg, "operator"), "%s", e.msg);
	cr_assert_eq(parse("givenName LIKE 'x'", &q, &e), -1);
	cr_assert(strstr(e.msg, "operator"), "%s", e.msg);
	cr_assert_eq(parse("givenName<>'x'", &q, &e), -1);
}

Test(roster_filter, rejects_a_missing_joiner)
{
	struct roster_query q; struct rf_error e;
	cr_assert_eq(parse("givenName='a' familyName='b'", &q, &e), -1);
	cr_assert_eq(parse("givenName='a'AND familyName='b'", &q, &e), -1);
	cr_assert_eq(parse("givenName='a' XOR familyName='b'", &q, &e), -1);
}

Test(roster_filter, rejects_parentheses)
{
	struct roster_query q; struct rf_error e;
	cr_assert_eq(parse("(givenName='a')", &q, &e), -1);
}

Test(roster_filter, normalises_a_delta_date_time)
{
	const char *params[4]; int np;
	const char *s = sql_of("dateLastModified>'2024-05-01T09:00:00+09:00'", params, &np);
	cr_assert_str_eq(s, "(t.date_last_modified > $1::timestamptz)");
	cr_assert_str_eq(params[0], "2024-05-01T00:00:00.000Z");
}

Test(roster_filter, rejects_a_bad_date_time)
{
	struct roster_query q; struct rf_error e;
	cr_assert_eq(parse("dateLastModified>'yesterday'", &q, &e), -1);
	cr_assert_str_eq(e.code_minor, "invaliddata");
	cr_assert_eq(parse("dateLastModified>'2024-02-30T00:00:00Z'", &q, &e), -1);
	cr_assert_eq(parse("dateLastModified~'2024'", &q, &e), -1);
}

Test(roster_filter, boolean_fields_take_true_or_false)
{
	const char *params[4]; int np;
	const char *s = sql_of("enabledUser='true'", params, &np);
	cr_assert_str_eq(s, "(t.enabled_user = $1::boolean)");
	struct roster_query q; struct rf_error e;
	cr_assert_eq(parse("enabledUser='yes'", &q, &e), -1);
	cr_assert_eq(parse("enabledUser>'true'", &q, &e), -1);
}

Test(roster_filter, date_fields_check_the_calendar)
{
	struct roster_query q; struct rf_error e;
	cr_assert_eq(parse("birthDate<'2010-04-01'", &q, &e), 0);
	cr_assert_eq(parse("birthDate<'2010-13-01'", &q, &e), -1);
}

Test(roster_filter, list_fields_match_an_item)
{
	const char *params[4]; int np;
	cr_assert_str_eq(sql_of("grades='P3'", params, &np), "($1 = ANY(t.grades))");
	struct roster_query q; struct rf_error e;
	cr_assert_eq(parse("grades>'P3'", &q, &e), -1);
}

Test(roster_filter, dotted_reference_fields_are_whitelisted)
{
	const char *params[4]; int np;
	cr_assert_str_eq(sql_of("primaryOrg.sourcedId='org-1'", params, &np), "(t.primary_org_sourced_id = $1)");
}

Test(roster_filter, exists_fields_put_the_comparison_inside_the_subquery)
{
	const char *params[4]; int np;
	const char *s = sql_of("role='student'", params, &np);
	cr_assert_str_eq(s, "(EXISTS (SELECT 1 FROM roster_roles ro WHERE ro.user_sourced_id = t.sourced_id AND "
			    "ro.role = $1))");
}

Test(roster_filter, placeholders_continue_after_the_endpoint_parameters)
{
	struct roster_query q; struct rf_error e;
	cr_assert_eq(parse("givenName='a' AND familyName='b'", &q, &e), 0);
	const char *params[4] = {"class-1"}; int np = 1;
	const char *s = roster_filter_sql(A, &q, 2, params, &np);
	cr_assert_str_eq(s, "(t.given_name = $2 AND t.family_name = $3)");
	cr_assert_eq(np, 3);
}

Test(roster_filter, empty_filter_gives_no_sql)
{
	struct roster_query q; struct rf_error e;
	cr_assert_eq(parse("", &q, &e), 0);
	const char *params[2]; int np = 0;
	cr_assert_str_eq(roster_filter_sql(A, &q, 1, params, &np), "");
	cr_assert_eq(np, 0);
}

Test(roster_filter, rejects_a_filter_over_the_length_limit)
{
	char big[RF_MAX_FILTER_LEN + 20];
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = 0;
	struct roster_query q; struct rf_error e;
	cr_assert_eq(parse(big, &q, &e), -1);
}

static int qparse(const char *sort, const char *order, const char *fields, const char *limit, const char *offset,
		  struct roster_query *q, struct rf_error *e)
{
	memset(e, 0, sizeof *e);
	return roster_query_parse(A, WL, NWL, NULL, sort, order, fields, limit, offset, q, e);
}

Test(roster_query, defaults_to_limit_100_offset_0)
{
	struct roster_query q; struct rf_error e;
	cr_assert_eq(qparse(NULL, NULL, NULL, NULL, NULL, &q, &e), 0);
	cr_assert_eq(q.limit, 100);
	cr_assert_eq(q.offset, 0);
	cr_assert_null(q.sort);
}

Test(roster_query, rejects_negative_zero_huge_and_non_numeric_limits)
{
	struct roster_query q; struct rf_error e;
	const char *bad[] = {"-1", "0", "10001", "99999999999999999999", "abc", "1e3", "", " 5"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cr_assert_eq(qparse(NULL, NULL, NULL, bad[i], NULL, &q, &e), -1, "limit %s", bad[i]);
		cr_assert_str_eq(e.code_minor, "invaliddata");
		cr_assert_str_eq(e.param, "limit");
	}
	cr_assert_eq(qparse(NULL, NULL, NULL, "10000", NULL, &q, &e), 0);
}

Test(roster_query, rejects_negative_and_huge_offsets)
{
	struct roster_query q; struct rf_error e;
	cr_assert_eq(qparse(NULL, NULL, NULL, NULL, "-5", &q, &e), -1);
	cr_assert_str_eq(e.param, "offset");
	cr_assert_eq(qparse(NULL, NULL, NULL, NULL, "100000001", &q, &e), -1);
	cr_assert_eq(qparse(NULL, NULL, NULL, NULL, "18446744073709551617", &q, &e), -1);
	cr_assert_eq(qparse(NULL, NULL, NULL, NULL, "200", &q, &e), 0);
	cr_assert_eq(q.offset, 200);
}

Test(roster_query, rejects_an_unknown_sort_field)
{
	struct roster_query q; struct rf_error e;
	cr_assert_eq(qparse("shoeSize", NULL, NULL, NULL, NULL, &q, &e), -1);
	cr_assert_str_eq(e.code_minor, "invalid_sort_field");
	cr_assert_eq(qparse("grades", NULL, NULL, NULL, NULL, &q, &e), -1, "lists are not sortable");
}

Test(roster_query, orders_by_the_sort_field_then_sourced_id)
{
	struct roster_query q; struct rf_error e;
	cr_assert_eq(qparse("familyName", "desc", NULL, NULL, NULL, &q, &e), 0);
	cr_assert_str_eq(roster_order_sql(A, &q, "t.sourced_id"), "t.family_name DESC NULLS LAST, t.sourced_id DESC");
	cr_assert_eq(qparse(NULL, NULL, NULL, NULL, NULL, &q, &e), 0);
	cr_assert_str_eq(roster_order_sql(A, &q, "t.sourced_id"), "t.sourced_id ASC");
}

Test(roster_query, rejects_order_by_other_than_asc_or_desc)
{
	struct roster_query q; struct rf_error e;
	cr_assert_eq(qparse("familyName", "sideways", NULL, NULL, NULL, &q, &e), -1);
	cr_assert_str_eq(e.param, "orderBy");
	cr_assert_eq(qparse("familyName", "DESC", NULL, NULL, NULL, &q, &e), 0);
}

Test(roster_query, selects_known_fields_once_each)
{
	struct roster_query q; struct rf_error e;
	cr_assert_eq(qparse(NULL, NULL, "sourcedId,givenName,givenName,roles", NULL, NULL, &q, &e), 0);
	cr_assert_eq(q.nfields, 3);
	cr_assert(roster_field_selected(&q, "roles"));
	cr_assert_not(roster_field_selected(&q, "familyName"));
}

Test(roster_query, rejects_unknown_fields_in_the_selection)
{
	struct roster_query q; struct rf_error e;
	cr_assert_eq(qparse(NULL, NULL, "sourcedId,password", NULL, NULL, &q, &e), -1);
	cr_assert_str_eq(e.code_minor, "invalid_selection_field");
	cr_assert_eq(qparse(NULL, NULL, "sourcedId,,givenName", NULL, NULL, &q, &e), -1);
	cr_assert_eq(qparse(NULL, NULL, "", NULL, NULL, &q, &e), -1);
	cr_assert_eq(qparse(NULL, NULL, "role", NULL, NULL, &q, &e), -1, "filter-only names are not members");
}

Test(rf_datetime, emits_the_strict_form)
{
	char out[32];
	cr_assert_eq(rf_datetime_normalize("2024-05-01", out), 0);
	cr_assert_str_eq(out, "2024-05-01T00:00:00.000Z");
	cr_assert_eq(rf_datetime_normalize("2024-05-01T10:11:12.3456Z", out), 0);
	cr_assert_str_eq(out, "2024-05-01T10:11:12.345Z");
	cr_assert_eq(rf_datetime_normalize("2024-05-01 00:30:00-01:00", out), 0);
	cr_assert_str_eq(out, "2024-05-01T01:30:00.000Z");
	cr_assert_eq(rf_datetime_normalize("2024-05-01T25:00:00Z", out), -1);
	cr_assert_eq(rf_datetime_normalize("2024-05-01T10:00:00Zjunk", out), -1);
}

static const char *const STATUS_CODES[] = {"active", "tobedeleted", NULL};
static const struct rf_field CODED_WL[] = {
	{"status", "status", "t.status", RF_STR, RFF_FILTER | RFF_SORT | RFF_SELECT, NULL, NULL, 0, STATUS_CODES},
};

Test(roster_filter, refuses_a_value_outside_the_code_list_with_invaliddata)
{
	struct roster_query q; struct rf_error e;
	memset(&q, 0, sizeof q);
	cr_assert_eq(roster_filter_parse(A, CODED_WL, 1, "status='bogus'", &q, &e), -1);
	cr_assert_str_eq(e.code_minor, "invaliddata");
	cr_assert(strstr(e.msg, "bogus") && strstr(e.msg, "tobedeleted"), "%s", e.msg);
	cr_assert_eq(roster_filter_parse(A, CODED_WL, 1, "status!='bogus'", &q, &e), -1);
	cr_assert_eq(roster_filter_parse(A, CODED_WL, 1, "status='tobedeleted'", &q, &e), 0);
	cr_assert_eq(roster_filter_parse(A, CODED_WL, 1, "status~'to'", &q, &e), 0, "contains takes any text");
}

Test(roster_filter, datetime_microseconds_and_the_first_change_after_an_instant)
{
	long long us;
	cr_assert_eq(rf_datetime_us("1970-01-01T00:00:01.250Z", &us), 0);
	cr_assert_eq(us, 1250000LL);
	cr_assert_eq(rf_datetime_us("2025-04-03T07:00:00.000Z", &us), 0);
	cr_assert_eq(us, 1743663600000000LL);
	cr_assert_eq(rf_datetime_us("2025-04-03T07:00:00Z", &us), -1, "only the normalized form");
	cr_assert_eq(rf_datetime_us("2025-02-30T07:00:00.000Z", &us), -1);
	cr_assert_eq(rf_datetime_us(NULL, &us), -1);

	const long long t[] = {100, 200, 200500, 300000};   /* distinct, ascending */
	cr_assert_eq(rf_first_change(t, 4, 99, 0), -1, "before the first instant held: unknown");
	cr_assert_eq(rf_first_change(t, 4, 100, 0), 1, "after 100: 200");
	cr_assert_eq(rf_first_change(t, 4, 100, 1), 0, "at or after 100: 100");
	cr_assert_eq(rf_first_change(t, 4, 150, 0), 1);
	cr_assert_eq(rf_first_change(t, 4, 200000, 0), 2);
	cr_assert_eq(rf_first_change(t, 4, 300000, 1), 3);
	cr_assert_eq(rf_first_change(t, 4, 300000, 0), 4, "nothing after the last: none");
	cr_assert_eq(rf_first_change(t, 4, 999999, 1), 4);
	cr_assert_eq(rf_first_change(t, 0, 5, 0), -1);
	/* against a plain scan, every instant from 99 to 300001 */
	for (long long s = 99; s <= 300001; s += 97)
		for (int ge = 0; ge < 2; ge++) {
			int want = s < t[0] ? -1 : 4;
			for (int i = 0; want == 4 && i < 4; i++) if (ge ? t[i] >= s : t[i] > s) want = i;
			cr_assert_eq(rf_first_change(t, 4, s, ge), want, "since %lld ge %d", s, ge);
		}
}
