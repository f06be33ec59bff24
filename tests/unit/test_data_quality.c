/* Pure parts of datasets and quality checks: grading against thresholds, threshold ranges, the cron-like
 * schedule line, HTTP byte ranges and dataset names. */
#include <criterion/criterion.h>
#include "quality_rules.h"

Test(data_quality, a_value_above_fail_fails_above_warn_warns_else_passes)
{
	cr_assert_str_eq(quality_grade(0, 0, 10), "pass");
	cr_assert_str_eq(quality_grade(3.3, 0, 10), "warn");
	cr_assert_str_eq(quality_grade(10, 0, 10), "warn", "equal to the failure level is not over it");
	cr_assert_str_eq(quality_grade(10.01, 0, 10), "fail");
	cr_assert_str_eq(quality_grade(5, 5, 10), "pass");
}

Test(data_quality, thresholds_must_lie_in_0_to_100_with_warn_not_above_fail)
{
	cr_assert(quality_threshold_valid(0, 0));
	cr_assert(quality_threshold_valid(5, 100));
	cr_assert_not(quality_threshold_valid(-1, 5));
	cr_assert_not(quality_threshold_valid(5, 101));
	cr_assert_not(quality_threshold_valid(20, 10));
}

Test(data_quality, percent_of_nothing_is_zero)
{
	cr_assert_float_eq(quality_percent(0, 0), 0, 1e-9);
	cr_assert_float_eq(quality_percent(1, 30), 100.0 / 30, 1e-9);
}

Test(data_quality, every_metric_has_sane_defaults)
{
	cr_assert_geq(nquality_metrics, 8);
	for (int i = 0; i < nquality_metrics; i++)
		cr_assert(quality_threshold_valid(quality_metrics[i].warn, quality_metrics[i].fail), "%s", quality_metrics[i].key);
	cr_assert_not_null(quality_metric_find("missing_kana"));
	cr_assert_null(quality_metric_find("nope"));
	cr_assert_null(quality_metric_find(NULL));
}

Test(data_quality, a_daily_schedule_matches_its_minute_only)
{
	struct quality_cron c;
	cr_assert_eq(quality_cron_parse("0 3 * * *", &c), 0);
	cr_assert(quality_cron_match(&c, 0, 3, 15, 6, 2));
	cr_assert_not(quality_cron_match(&c, 1, 3, 15, 6, 2));
	cr_assert_not(quality_cron_match(&c, 0, 4, 15, 6, 2));
}

Test(data_quality, steps_ranges_lists_and_sunday_as_7)
{
	struct quality_cron c;
	cr_assert_eq(quality_cron_parse("*/15 8-17 * * 1-5", &c), 0);
	cr_assert(quality_cron_match(&c, 45, 17, 1, 1, 5));
	cr_assert_not(quality_cron_match(&c, 50, 17, 1, 1, 5));
	cr_assert_not(quality_cron_match(&c, 45, 17, 1, 1, 6), "Saturday is not 1-5");
	cr_assert_eq(quality_cron_parse("30 6 1,15 * 7", &c), 0);
	cr_assert(quality_cron_match(&c, 30, 6, 2, 3, 0), "7 is Sunday; day and weekday both given: either matches");
	cr_assert(quality_cron_match(&c, 30, 6, 15, 3, 3));
	cr_assert_not(quality_cron_match(&c, 30, 6, 2, 3, 3));
}

Test(data_quality, malformed_schedules_are_refused)
{
	struct quality_cron c;
	const char *bad[] = {"", "* * * *", "* * * * * *", "60 * * * *", "* 24 * * *", "* * 0 * *", "* * * 13 *",
			     "* * * * 8", "*/0 * * * *", "5-1 * * * *", "1, * * * *", "a * * * *", "1-", NULL};
	for (int i = 0; bad[i]; i++) cr_assert_eq(quality_cron_parse(bad[i], &c), -1, "%s", bad[i]);
	cr_assert_eq(quality_cron_parse(NULL, &c), -1);
}

Test(data_quality, byte_ranges_follow_rfc_9110)
{
	long long a, b;
	cr_assert_eq(dataset_range_parse("bytes=0-9", 100, &a, &b), 1);
	cr_assert(a == 0 && b == 9);
	cr_assert_eq(dataset_range_parse("bytes=90-", 100, &a, &b), 1);
	cr_assert(a == 90 && b == 99);
	cr_assert_eq(dataset_range_parse("bytes=-10", 100, &a, &b), 1);
	cr_assert(a == 90 && b == 99);
	cr_assert_eq(dataset_range_parse("bytes=-500", 100, &a, &b), 1);
	cr_assert(a == 0 && b == 99);
	cr_assert_eq(dataset_range_parse("bytes=50-500", 100, &a, &b), 1);
	cr_assert(a == 50 && b == 99, "an end past the file is cut to it");
	cr_assert_eq(dataset_range_parse("bytes=100-", 100, &a, &b), -1);
	cr_assert_eq(dataset_range_parse("bytes=-0", 100, &a, &b), -1);
	cr_assert_eq(dataset_range_parse(NULL, 100, &a, &b), 0);
	cr_assert_eq(dataset_range_parse("items=0-1", 100, &a, &b), 0);
	cr_assert_eq(dataset_range_parse("bytes=5-1", 100, &a, &b), 0);
	cr_assert_eq(dataset_range_parse("bytes=0-1,5-6", 100, &a, &b), 0);
	cr_assert_eq(dataset_range_parse("bytes=x-1", 100, &a, &b), 0);
	cr_assert_eq(dataset_range_parse("bytes=99999999999999999999-", 100, &a, &b), 0);
}

Test(data_quality, names_may_hold_html_and_path_characters_but_not_control_characters)
{
	cr_assert(dataset_name_valid("<script>alert(1)</script> ../../etc/passwd"));
	cr_assert(dataset_name_valid("令和8年度 名簿"));
	cr_assert_not(dataset_name_valid(""));
	cr_assert_not(dataset_name_valid("   "));
	cr_assert_not(dataset_name_valid("a\nb"));
	cr_assert_not(dataset_name_valid(NULL));
	char long_name[400];
	memset(long_name, 'x', 121);
	long_name[121] = 0;
	cr_assert_not(dataset_name_valid(long_name));
	long_name[120] = 0;
	cr_assert(dataset_name_valid(long_name));
}
