/* Date ranges of the stats pages and API: strict YYYY-MM-DD, inclusive, at most STATS_MAX_DAYS days, within
 * 2000-01-01 .. a year after today. Pure (days counted with the proleptic Gregorian calendar). */
#include <stdio.h>
#include <string.h>
#include "stats.h"

/* days since 1970-01-01 of a strict YYYY-MM-DD, or -1000000 when it is not a real calendar day */
static long day_number(const char *s)
{
	if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-') return -1000000;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9')) return -1000000;
	int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
	int m = (s[5] - '0') * 10 + (s[6] - '0'), d = (s[8] - '0') * 10 + (s[9] - '0');
	static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
	if (y < 1 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1] + (m == 2 && leap)) return -1000000;
	/* days from civil (H. Hinnant) */
	long yy = y - (m <= 2);
	long era = yy / 400;
	long yoe = yy - era * 400;
	long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil(long z, char out[11])
{
	z += 719468;
	long era = (z >= 0 ? z : z - 146096) / 146097;
	long doe = z - era * 146097;
	long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	long y = yoe + era * 400;
	long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	long mp = (5 * doy + 2) / 153;
	long d = doy - (153 * mp + 2) / 5 + 1;
	long m = mp + (mp < 10 ? 3 : -9);
	snprintf(out, 11, "%04ld-%02ld-%02ld", y + (m <= 2), m, d);
}

int stats_range_parse(const char *from, const char *to, const char *today, int def_days, struct stats_range *out,
		      const char **code)
{
	long t = day_number(today);
	if (t == -1000000) { *code = "bad_date"; return -1; }
	if (from && !*from) from = NULL;
	if (to && !*to) to = NULL;
	long f, e;
	if (to) { e = day_number(to); if (e == -1000000) { *code = "bad_date"; return -1; } }
	else e = t;
	if (from) { f = day_number(from); if (f == -1000000) { *code = "bad_date"; return -1; } }
	else f = e - (def_days - 1);
	if (f > e) { *code = "reversed_range"; return -1; }
	if (e - f + 1 > STATS_MAX_DAYS) { *code = "range_too_long"; return -1; }
	if (f < day_number("2000-01-01") || e > t + 366) { *code = "range_out_of_bounds"; return -1; }
	civil(f, out->from);
	civil(e, out->to);
	out->days = (int)(e - f + 1);
	return 0;
}
