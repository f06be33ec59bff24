#include <criterion/criterion.h>
#include <string.h>
#include "timefmt.h"

Test(ui_time, parses_postgres_and_api_forms)
{
	time_t t;
	cr_assert_eq(time_parse("2026-12-02T00:06:00Z", &t), 0);
	cr_assert_eq(t, 1796169960);
	cr_assert_eq(time_parse("2026-12-02 09:06:00.123+09", &t), 0);
	cr_assert_eq(t, 1796169960);
	cr_assert_eq(time_parse("2026-12-02T09:06:00+09:00", &t), 0);
	cr_assert_eq(t, 1796169960);
	cr_assert_eq(time_parse("2026-12-01T19:06-05:00", &t), 0);
	cr_assert_eq(t, 1796169960);
}

Test(ui_time, rejects_what_is_not_a_time)
{
	time_t t;
	cr_assert_eq(time_parse("", &t), -1);
	cr_assert_eq(time_parse("admin", &t), -1);
	cr_assert_eq(time_parse("2026-12-02", &t), -1);
	cr_assert_eq(time_parse("2026-13-02T00:00:00Z", &t), -1);
	cr_assert_eq(time_parse("2026-12-02T00:00:00Zjunk", &t), -1);
}

Test(ui_time, formats_in_the_zone_per_language)
{
	arena *a = arena_new(4096);
	time_t t = 1796169960;   /* 2026-12-02 00:06 UTC */
	cr_assert_str_eq(time_format(a, t, "Asia/Tokyo", "ja", TIME_LIST), "2026年12月2日 9:06");
	cr_assert_str_eq(time_format(a, t, "Asia/Tokyo", "en", TIME_LIST), "Dec 2, 2026, 9:06");
	cr_assert_str_eq(time_format(a, t, "Asia/Tokyo", "ja", TIME_DATE), "2026年12月2日");
	cr_assert_str_eq(time_format(a, t, "Asia/Tokyo", "ja", TIME_ISO), "2026-12-02T09:06:00+09:00");
	cr_assert_str_eq(time_format(a, t, "UTC", "en", TIME_ISO), "2026-12-02T00:06:00+00:00");
	cr_assert_str_eq(time_format(a, t, "America/New_York", "en", TIME_LIST), "Dec 1, 2026, 19:06");
	/* summer time is the zone's, not today's offset */
	cr_assert_str_eq(time_format(a, 1783036800, "America/New_York", "ja", TIME_ISO), "2026-07-02T20:00:00-04:00");
	arena_free(a);
}

Test(ui_time, unknown_zones_are_refused)
{
	cr_assert(time_zone_valid("Asia/Tokyo"));
	cr_assert(time_zone_valid("UTC"));
	cr_assert_not(time_zone_valid("Asia/Nowhere"));
	cr_assert_not(time_zone_valid("../../etc/passwd"));
	cr_assert_not(time_zone_valid("/etc/localtime"));
	cr_assert_not(time_zone_valid(""));
	cr_assert_not(time_zone_valid(NULL));
}
