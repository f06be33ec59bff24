#include <criterion/criterion.h>
#include "chart.h"

static int geti(json_object *o, const char *k)
{
	json_object *v;
	cr_assert(json_object_object_get_ex(o, k, &v), "missing %s", k);
	return json_object_get_int(v);
}

Test(chart, bars_scale_to_the_largest_value)
{
	const char *labels[] = {"a", "b", "c"};
	long values[] = {10, 5, 0};
	json_object *c = chart_bars(labels, values, 3, 300, 160), *bars;
	json_object_object_get_ex(c, "bars", &bars);
	cr_assert_eq(json_object_array_length(bars), 3);
	int h0 = geti(json_object_array_get_idx(bars, 0), "h"), h1 = geti(json_object_array_get_idx(bars, 1), "h");
	cr_assert_eq(h1 * 2, h0);
	cr_assert_eq(geti(json_object_array_get_idx(bars, 2), "h"), 0);
	/* bars stand on one baseline */
	cr_assert_eq(geti(json_object_array_get_idx(bars, 0), "y") + h0, geti(json_object_array_get_idx(bars, 1), "y") + h1);
	json_object_put(c);
}

Test(chart, tiny_values_stay_visible_and_bars_fit_the_width)
{
	const char *labels[] = {"big", "tiny"};
	long values[] = {100000, 1};
	json_object *c = chart_bars(labels, values, 2, 200, 160), *bars;
	json_object_object_get_ex(c, "bars", &bars);
	cr_assert_geq(geti(json_object_array_get_idx(bars, 1), "h"), 2);
	json_object *last = json_object_array_get_idx(bars, 1);
	cr_assert_leq(geti(last, "x") + geti(last, "w"), 200);
	json_object_put(c);
}
