/* Chart geometry for the stats pages (line, area, heat map, crowded bar labels) and stats date ranges. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "chart.h"
#include "stats.h"

static int geti(json_object *o, const char *k)
{
	json_object *v;
	cr_assert(json_object_object_get_ex(o, k, &v), "missing %s", k);
	return json_object_get_int(v);
}
static const char *gets(json_object *o, const char *k)
{
	json_object *v;
	cr_assert(json_object_object_get_ex(o, k, &v), "missing %s", k);
	return json_object_get_string(v);
}

Test(stats_chart, line_points_stay_inside_the_plot_and_the_highest_reaches_its_top)
{
	const char *labels[] = {"12/01", "12/02", "12/03", "12/04"};
	double values[] = {0, 7, 3, 12};
	struct chart_axes ax = {640, 240, 0, 0, "views", "日付", "回数"};
	json_object *c = chart_line(&ax, labels, values, 4), *pts = json_object_object_get(c, "points");
	int left = geti(c, "left"), right = geti(c, "right"), base = geti(c, "base"), top = geti(c, "top");
	cr_assert_eq(json_object_array_length(pts), 4);
	for (int i = 0; i < 4; i++) {
		json_object *p = json_object_array_get_idx(pts, i);
		cr_assert(geti(p, "x") >= left && geti(p, "x") <= right);
		cr_assert(geti(p, "y") >= top && geti(p, "y") <= base);
	}
	cr_assert_eq(geti(json_object_array_get_idx(pts, 0), "y"), base, "zero sits on the x axis");
	cr_assert_eq(geti(json_object_array_get_idx(pts, 0), "x"), left);
	cr_assert_eq(geti(json_object_array_get_idx(pts, 3), "x"), right);
	/* the y axis is labelled from 0 to a round number at or above the largest value */
	json_object *yt = json_object_object_get(c, "yticks");
	cr_assert_str_eq(gets(json_object_array_get_idx(yt, 0), "label"), "0");
	int last = (int)json_object_array_length(yt) - 1;
	cr_assert_geq(atoi(gets(json_object_array_get_idx(yt, last), "label")), 12);
	cr_assert_str_eq(gets(c, "x_title"), "日付");
	cr_assert_str_eq(gets(c, "y_title"), "回数");
	cr_assert(strncmp(gets(c, "line"), "M", 1) == 0);
	cr_assert_str_eq(gets(c, "area"), "", "a line chart has no area");
	json_object_put(c);
}

Test(stats_chart, area_closes_on_the_baseline_and_a_fixed_top_caps_values)
{
	const char *labels[] = {"0:00", "0:01", "0:02"};
	double values[] = {100, 50, 150};
	struct chart_axes ax = {400, 200, 100, 1, "retention", "位置", "%"};
	json_object *c = chart_line(&ax, labels, values, 3);
	const char *area = gets(c, "area");
	cr_assert(area[strlen(area) - 1] == 'Z', "the area path is closed");
	json_object *pts = json_object_object_get(c, "points");
	cr_assert_eq(geti(json_object_array_get_idx(pts, 0), "y"), geti(c, "top"), "100 %% is the top");
	cr_assert_eq(geti(json_object_array_get_idx(pts, 2), "y"), geti(c, "top"), "values above the fixed top are capped");
	json_object *yt = json_object_object_get(c, "yticks");
	cr_assert_str_eq(gets(json_object_array_get_idx(yt, json_object_array_length(yt) - 1), "label"), "100");
	json_object_put(c);
}

Test(stats_chart, x_labels_are_thinned_so_they_never_overlap)
{
	const char *labels[100];
	double values[100];
	char buf[100][8];
	for (int i = 0; i < 100; i++) { snprintf(buf[i], 8, "%02d/%02d", i / 28 + 1, i % 28 + 1); labels[i] = buf[i]; values[i] = i; }
	struct chart_axes ax = {375, 200, 0, 0, "", "", ""};
	json_object *c = chart_line(&ax, labels, values, 100), *xt = json_object_object_get(c, "xticks");
	size_t n = json_object_array_length(xt);
	cr_assert_lt(n, 100);
	cr_assert_geq(n, 2);
	int w = chart_text_width("00/00", 11);
	for (size_t i = 1; i < n; i++)
		cr_assert_gt(geti(json_object_array_get_idx(xt, i), "x") - geti(json_object_array_get_idx(xt, i - 1), "x"), w,
			     "labels %zu and %zu overlap", i - 1, i);
	json_object_put(c);
}

Test(stats_chart, long_bar_labels_are_rotated_and_thinned)
{
	const char *labels[] = {"Creator (teacher)", "Viewer (student)", "Admin"};
	long values[] = {3, 40, 1};
	json_object *c = chart_bars(labels, values, 3, 240, 160), *bars = json_object_object_get(c, "bars");
	cr_assert(json_object_get_boolean(json_object_object_get(json_object_array_get_idx(bars, 0), "rot")));
	/* short labels in wide slots stay upright */
	const char *shortl[] = {"a", "b"};
	json_object *d = chart_bars(shortl, values, 2, 400, 160);
	cr_assert(!json_object_get_boolean(json_object_object_get(json_object_array_get_idx(json_object_object_get(d, "bars"), 0), "rot")));
	/* 60 bars in 300 px: only some labels are written */
	const char *many[60];
	long mv[60];
	for (int i = 0; i < 60; i++) { many[i] = "12/31"; mv[i] = i; }
	json_object *e = chart_bars(many, mv, 60, 300, 160), *eb = json_object_object_get(e, "bars");
	int shown = 0;
	for (int i = 0; i < 60; i++) shown += json_object_get_boolean(json_object_object_get(json_object_array_get_idx(eb, i), "show_label"));
	cr_assert(shown > 0 && shown < 60);
	json_object_put(c); json_object_put(d); json_object_put(e);
}

Test(stats_chart, heat_map_cells_form_a_grid_with_colour_bands)
{
	const char *rows[] = {"山田 花子", "佐藤 太郎"};
	const char *cols[] = {"たし算", "ひき算", "かけ算"};
	int v[] = {100, 45, -1, 0, 9, 99};
	json_object *c = chart_heat(rows, 2, cols, 3, v, NULL, "heat"), *cells = json_object_object_get(c, "cells");
	cr_assert_eq(json_object_array_length(cells), 6);
	cr_assert_eq(geti(json_object_array_get_idx(cells, 0), "band"), 10);
	cr_assert_eq(geti(json_object_array_get_idx(cells, 1), "band"), 4);
	cr_assert_eq(geti(json_object_array_get_idx(cells, 2), "band"), -1, "nothing watched has its own band");
	cr_assert_eq(geti(json_object_array_get_idx(cells, 5), "band"), 9);
	/* a completed cell has its own band whatever its percentage */
	int done[] = {0, 1, 0, 0, 0, 0};
	json_object *d = chart_heat(rows, 2, cols, 3, v, done, "heat");
	cr_assert_eq(geti(json_object_array_get_idx(json_object_object_get(d, "cells"), 1), "band"), 10);
	json_object_put(d);
	cr_assert_eq(geti(json_object_array_get_idx(cells, 3), "y"), geti(json_object_array_get_idx(cells, 4), "y"));
	cr_assert_gt(geti(json_object_array_get_idx(cells, 1), "x"), geti(json_object_array_get_idx(cells, 0), "x"));
	json_object *last = json_object_array_get_idx(cells, 5);
	cr_assert_leq(geti(last, "x") + geti(last, "w"), geti(c, "width"));
	cr_assert_leq(geti(last, "y") + geti(last, "h"), geti(c, "height"));
	json_object_put(c);
}

Test(stats_chart, clip_cuts_utf8_at_character_boundaries)
{
	char out[64];
	chart_clip("さんすうのじかん", 4, out, sizeof out);
	cr_assert_str_eq(out, "さんすう…");
	chart_clip("abc", 4, out, sizeof out);
	cr_assert_str_eq(out, "abc");
	cr_assert_gt(chart_text_width("日本", 11), chart_text_width("ab", 11));
}

Test(stats_range, defaults_to_thirty_days_ending_today)
{
	struct stats_range r;
	const char *code = NULL;
	cr_assert_eq(stats_range_parse(NULL, NULL, "2026-03-01", 30, &r, &code), 0);
	cr_assert_str_eq(r.from, "2026-01-31");
	cr_assert_str_eq(r.to, "2026-03-01");
	cr_assert_eq(r.days, 30);
	cr_assert_eq(stats_range_parse("2024-02-28", "2024-03-01", "2026-03-01", 30, &r, &code), 0);
	cr_assert_eq(r.days, 3, "2024 is a leap year");
}

Test(stats_range, rejects_bad_reversed_long_and_absurd_ranges)
{
	struct stats_range r;
	const char *code = NULL;
	cr_assert_eq(stats_range_parse("2026-02-30", NULL, "2026-03-01", 30, &r, &code), -1);
	cr_assert_str_eq(code, "bad_date");
	cr_assert_eq(stats_range_parse("2026/01/01", NULL, "2026-03-01", 30, &r, &code), -1);
	cr_assert_eq(stats_range_parse("2026-03-01", "2026-02-01", "2026-03-01", 30, &r, &code), -1);
	cr_assert_str_eq(code, "reversed_range");
	cr_assert_eq(stats_range_parse("2024-01-01", "2026-01-01", "2026-03-01", 30, &r, &code), -1);
	cr_assert_str_eq(code, "range_too_long");
	cr_assert_eq(stats_range_parse("1999-12-01", "1999-12-31", "2026-03-01", 30, &r, &code), -1);
	cr_assert_str_eq(code, "range_out_of_bounds");
	cr_assert_eq(stats_range_parse("9999-01-01", "9999-01-02", "2026-03-01", 30, &r, &code), -1);
	cr_assert_str_eq(code, "range_out_of_bounds");
	cr_assert_eq(stats_range_parse("2026-01-01", "2026-01-01' OR 1=1", "2026-03-01", 30, &r, &code), -1);
	cr_assert_str_eq(code, "bad_date");
}
