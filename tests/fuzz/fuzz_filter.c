/* libFuzzer harness: the OneRoster query parser (roster_filter.c). Input lines are filter, sort, orderBy, fields,
 * limit, offset for the users endpoint (the largest whitelist); accepted queries are turned into SQL. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "roster_api.h"
#include "roster_filter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 8192) return 0;
	arena *a = arena_new(16384);
	char *s = arena_strndup(a, (const char *)data, size);
	const char *part[6] = {NULL, NULL, NULL, NULL, NULL, NULL};
	int np = 0;
	for (char *p = s; np < 6;) {
		part[np++] = p;
		char *nl = strchr(p, '\n');
		if (!nl) break;
		*nl = 0;
		p = nl + 1;
	}
	const struct ra_entity *e = size && (data[0] & 1) ? &ra_users : &ra_classes;
	struct roster_query q;
	struct rf_error err;
	memset(&q, 0, sizeof q);
	if (roster_query_parse(a, e->fields, e->nfields, part[0], part[1], part[2], part[3], part[4], part[5], &q, &err) == 0) {
		const char *params[8];
		int n = 0;
		roster_filter_sql(a, &q, 1, params, &n);
		roster_order_sql(a, &q, "t.sourced_id");
		roster_field_selected(&q, "givenName");
		ra_select_sql(a, e, &q);
	}
	memset(&q, 0, sizeof q);
	roster_filter_parse(a, e->fields, e->nfields, s, &q, &err);
	char out[32];
	rf_datetime_normalize(s, out);
	rf_date_valid(s);
	arena_free(a);
	return 0;
}
