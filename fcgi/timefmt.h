/* Times for people: instants stored in UTC, shown in a zone (the user's override, else the deployment's
 * timezone setting, default Asia/Tokyo), in one format per context. Never raw UTC without a zone. */
#ifndef RS_TIMEFMT_H
#define RS_TIMEFMT_H
#include <time.h>
#include <json-c/json.h>
#include "http.h"

enum time_style {
	TIME_LIST,   /* lists and detail pages: 2026年12月2日 9:06 / Dec 2, 2026, 9:06 */
	TIME_DATE,   /* a day: 2026年12月2日 / Dec 2, 2026 */
	TIME_ISO     /* APIs, CSV, <time datetime>: 2026-12-02T09:06:00+09:00 */
};

#define TIME_ZONE_DEFAULT "Asia/Tokyo"
/* The zones offered in forms (NULL-terminated): the user's and the settings page. */
extern const char *const time_zone_choices[];
/* An IANA zone name that exists in the system's zoneinfo (e.g. Asia/Tokyo, UTC). Strict: no paths. */
int time_zone_valid(const char *zone);
/* The deployment zone: config timezone, checked; the default when unset or unknown. */
const char *time_zone_default(void);
/* Parse what PostgreSQL or an API gives: YYYY-MM-DD[T ]HH:MM[:SS[.frac]] followed by Z, +HH[:MM] or -HH[:MM]
 * (no designator = UTC). 0 ok, -1 not a time. */
int time_parse(const char *s, time_t *out);
/* Format t in zone for lang (ja|en). Arena string. */
char *time_format(arena *a, time_t t, const char *zone, const char *lang, enum time_style st);

/* ---- for handlers ---- */
const char *time_zone_of(req *r);    /* the signed-in user's zone, else the deployment's */
/* Replace the named string fields (a NULL-terminated list) of obj, or of every object in an array, by
 * their display form in the request's zone and language; fields that are not times are left alone. */
void time_localize(req *r, json_object *obj, enum time_style st, const char *const *fields);
#endif
