/* Watched ranges from the player: strict parsing (bounds, order, count, NaN), the multirange literal and back. */
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "learn_ranges.h"

static int parse(const char *js, long dur_ms, struct learn_range *out, int *n, const char **code)
{
	json_object *o = json_tokener_parse(js);
	int rc = learn_ranges_parse(o, dur_ms, out, n, code);
	json_object_put(o);
	return rc;
}

Test(learn_ranges, accepts_sorted_ranges_and_converts_to_milliseconds)
{
	struct learn_range r[LEARN_MAX_RANGES];
	int n;
	const char *code = NULL;
	cr_assert_eq(parse("[[0, 10.5], [20, 30]]", 60000, r, &n, &code), 0);
	cr_assert_eq(n, 2);
	cr_assert_eq(r[0].s, 0); cr_assert_eq(r[0].e, 10500);
	cr_assert_eq(r[1].s, 20000); cr_assert_eq(r[1].e, 30000);
	cr_assert_eq(learn_ranges_total(r, n), 20500);
}

Test(learn_ranges, joins_touching_ranges_and_drops_empty_ones)
{
	struct learn_range r[LEARN_MAX_RANGES];
	int n;
	const char *code = NULL;
	cr_assert_eq(parse("[[0, 10], [10, 20], [25, 25]]", 60000, r, &n, &code), 0);
	cr_assert_eq(n, 1);
	cr_assert_eq(r[0].e, 20000);
}

Test(learn_ranges, rejects_reversed_overlapping_and_out_of_bounds)
{
	struct learn_range r[LEARN_MAX_RANGES];
	int n;
	const char *code = NULL;
	cr_assert_eq(parse("[[20, 10]]", 60000, r, &n, &code), -1);
	cr_assert_str_eq(code, "range_reversed");
	cr_assert_eq(parse("[[0, 20], [10, 30]]", 60000, r, &n, &code), -1);
	cr_assert_str_eq(code, "range_overlap");
	cr_assert_eq(parse("[[30, 40], [0, 10]]", 60000, r, &n, &code), -1);
	cr_assert_str_eq(code, "range_overlap");
	cr_assert_eq(parse("[[0, 62]]", 60000, r, &n, &code), -1);
	cr_assert_str_eq(code, "range_value");
	cr_assert_eq(parse("[[-1, 10]]", 60000, r, &n, &code), -1);
	cr_assert_str_eq(code, "range_value");
	cr_assert_eq(parse("[[\"0\", 10]]", 60000, r, &n, &code), -1);
	cr_assert_str_eq(code, "range_value");
	cr_assert_eq(parse("[[0, 10, 20]]", 60000, r, &n, &code), -1);
	cr_assert_str_eq(code, "ranges_type");
	cr_assert_eq(parse("{\"a\": 1}", 60000, r, &n, &code), -1);
	cr_assert_str_eq(code, "ranges_type");
}

Test(learn_ranges, clamps_an_end_just_past_the_duration)
{
	struct learn_range r[LEARN_MAX_RANGES];
	int n;
	const char *code = NULL;
	cr_assert_eq(parse("[[50, 60.4]]", 60000, r, &n, &code), 0);
	cr_assert_eq(r[0].e, 60000);
}

Test(learn_ranges, rejects_nan_and_infinity)
{
	json_object *a = json_object_new_array(), *p = json_object_new_array();
	json_object_array_add(p, json_object_new_double(0));
	json_object_array_add(p, json_object_new_double(NAN));
	json_object_array_add(a, p);
	struct learn_range r[LEARN_MAX_RANGES];
	int n;
	const char *code = NULL;
	cr_assert_eq(learn_ranges_parse(a, 60000, r, &n, &code), -1);
	cr_assert_str_eq(code, "range_value");
	long ms;
	json_object *inf = json_object_new_double(INFINITY);
	cr_assert_eq(learn_seconds_ms(inf, 60000, &ms), -1);
	json_object_put(inf);
	json_object_put(a);
}

Test(learn_ranges, rejects_thousands_of_ranges)
{
	char *js = malloc(20 * 3000 + 16);
	strcpy(js, "[");
	for (int i = 0; i < 3000; i++) sprintf(js + strlen(js), "%s[%d,%d.5]", i ? "," : "", i, i);
	strcat(js, "]");
	struct learn_range r[LEARN_MAX_RANGES];
	int n;
	const char *code = NULL;
	cr_assert_eq(parse(js, 4000000, r, &n, &code), -1);
	cr_assert_str_eq(code, "too_many_ranges");
	free(js);
}

Test(learn_ranges, literal_round_trips_and_scan_is_strict)
{
	struct learn_range r[3] = {{0, 1000}, {2000, 3500}, {9000, 12000}}, back[LEARN_MAX_RANGES];
	char lit[256];
	int n;
	cr_assert_eq(learn_ranges_format(r, 3, lit, sizeof lit), 0);
	cr_assert_str_eq(lit, "{[0,1000),[2000,3500),[9000,12000)}");
	cr_assert_eq(learn_ranges_scan(lit, back, &n), 0);
	cr_assert_eq(n, 3);
	cr_assert_eq(back[2].e, 12000);
	cr_assert_eq(learn_ranges_scan("{}", back, &n), 0);
	cr_assert_eq(n, 0);
	cr_assert_eq(learn_ranges_scan("{[5,1)}", back, &n), -1);
	cr_assert_eq(learn_ranges_scan("{[0,1)};DROP", back, &n), -1);
	cr_assert_eq(learn_ranges_scan("{[0,1),}", back, &n), -1);
	cr_assert_eq(learn_ranges_format(r, 3, lit, 10), -1);
}
