/* Time zone conversion and the display formats. The zone is applied with the C library (TZ + tzset), but
 * only when it changes: a worker serves one process, one request at a time, and nearly every request uses
 * the deployment zone, so tzset runs once per worker in practice. */
#include "timefmt.h"
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "config.h"

int time_zone_valid(const char *zone)
{
	if (!zone || !*zone || strlen(zone) > 64 || zone[0] == '/' || strstr(zone, "..")) return 0;
	for (const char *p = zone; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("/_+-", *p)) return 0;
	if (!strcmp(zone, "UTC")) return 1;
	/* every formatted time asks: the zones found are remembered (a process meets a handful), so a list page of
	 * 24 dates is not 24 access(2) calls */
	static char known[8][65];
	static int nknown;
	for (int i = 0; i < nknown; i++) if (!strcmp(known[i], zone)) return 1;
	char path[128];
	snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", zone);
	if (access(path, R_OK) != 0) return 0;
	snprintf(known[nknown < 8 ? nknown++ : 7], sizeof known[0], "%s", zone);
	return 1;
}

const char *const time_zone_choices[] = {"Asia/Tokyo", "UTC", "Asia/Seoul", "Asia/Shanghai", "Asia/Taipei",
	"Asia/Singapore", "Asia/Kolkata", "Australia/Sydney", "Pacific/Auckland", "Europe/London", "Europe/Paris",
	"America/New_York", "America/Chicago", "America/Los_Angeles", "Pacific/Honolulu", NULL};

const char *time_zone_default(void)
{
	/* the setting can change at run time (settings page): checked again only when its text changes */
	static char zone[65], raw[65];
	const char *z = config_get("timezone", TIME_ZONE_DEFAULT);
	if (!zone[0] || strncmp(raw, z, sizeof raw)) {
		snprintf(raw, sizeof raw, "%s", z);
		snprintf(zone, sizeof zone, "%s", time_zone_valid(z) ? z : TIME_ZONE_DEFAULT);
	}
	return zone;
}

static void zone_use(const char *zone)
{
	static char current[65];
	if (!strcmp(current, zone)) return;
	snprintf(current, sizeof current, "%s", zone);
	setenv("TZ", zone, 1);
	tzset();
}

static int digits(const char **p, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++, (*p)++) {
		if (!isdigit((unsigned char)**p)) return -1;
		v = v * 10 + (**p - '0');
	}
	*out = v;
	return 0;
}

int time_parse(const char *s, time_t *out)
{
	if (!s) return -1;
	struct tm tm = {0};
	int y, mo, d, h, mi, sec = 0;
	const char *p = s;
	if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' || digits(&p, 2, &d)) return -1;
	if (*p != 'T' && *p != ' ') return -1;
	p++;
	if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi)) return -1;
	if (*p == ':') {
		p++;
		if (digits(&p, 2, &sec)) return -1;
		if (*p == '.') for (p++; isdigit((unsigned char)*p); p++) ;
	}
	long off = 0;
	if (*p == 'Z') p++;
	else if (*p == '+' || *p == '-') {
		int sign = *p++ == '-' ? -1 : 1, oh, om = 0;
		if (digits(&p, 2, &oh)) return -1;
		if (*p == ':') p++;
		if (isdigit((unsigned char)*p) && digits(&p, 2, &om)) return -1;
		off = sign * (oh * 3600L + om * 60L);
	}
	if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return -1;
	tm.tm_year = y - 1900; tm.tm_mon = mo - 1; tm.tm_mday = d;
	tm.tm_hour = h; tm.tm_min = mi; tm.tm_sec = sec;
	*out = timegm(&tm) - off;
	return 0;
}

char *time_format(arena *a, time_t t, const char *zone, const char *lang, enum time_style st)
{
	static const char *mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	struct tm tm;
	zone_use(time_zone_valid(zone) ? zone : time_zone_default());
	localtime_r(&t, &tm);
	int en = lang && !strcmp(lang, "en");
	int y = tm.tm_year + 1900, mo = tm.tm_mon + 1;
	switch (st) {
	case TIME_ISO: {
		long off = tm.tm_gmtoff;
		char sign = off < 0 ? '-' : '+';
		if (off < 0) off = -off;
		return arena_printf(a, "%04d-%02d-%02dT%02d:%02d:%02d%c%02ld:%02ld", y, mo, tm.tm_mday, tm.tm_hour,
				    tm.tm_min, tm.tm_sec, sign, off / 3600, off % 3600 / 60);
	}
	case TIME_DATE:
		return en ? arena_printf(a, "%s %d, %d", mon[tm.tm_mon], tm.tm_mday, y)
			  : arena_printf(a, "%d年%d月%d日", y, mo, tm.tm_mday);
	case TIME_LIST:
	default:
		return en ? arena_printf(a, "%s %d, %d, %d:%02d", mon[tm.tm_mon], tm.tm_mday, y, tm.tm_hour, tm.tm_min)
			  : arena_printf(a, "%d年%d月%d日 %d:%02d", y, mo, tm.tm_mday, tm.tm_hour, tm.tm_min);
	}
}

const char *time_zone_of(req *r)
{
	if (r->user && r->user->time_zone && time_zone_valid(r->user->time_zone)) return r->user->time_zone;
	return time_zone_default();
}

static void localize_one(req *r, json_object *o, enum time_style st, const char *const *fields)
{
	if (!json_object_is_type(o, json_type_object)) return;
	const char *zone = time_zone_of(r);
	for (int i = 0; fields[i]; i++) {
		json_object *v;
		time_t t;
		if (!json_object_object_get_ex(o, fields[i], &v) || !json_object_is_type(v, json_type_string)) continue;
		if (time_parse(json_object_get_string(v), &t) < 0) continue;
		json_object_object_add(o, fields[i], json_object_new_string(time_format(r->a, t, zone, r->lang, st)));
	}
}

void time_localize(req *r, json_object *obj, enum time_style st, const char *const *fields)
{
	if (!obj) return;
	if (json_object_is_type(obj, json_type_array)) {
		size_t n = json_object_array_length(obj);
		for (size_t i = 0; i < n; i++) localize_one(r, json_object_array_get_idx(obj, i), st, fields);
	} else {
		localize_one(r, obj, st, fields);
	}
}
