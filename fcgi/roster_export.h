/* Export of the roster as a OneRoster 1.2 CSV bundle (zip with manifest.csv), bulk (active rows) or delta (rows
 * changed after a time, tombstones included), streamed: PostgreSQL COPY TO STDOUT straight into the zip writer. */
#ifndef RS_ROSTER_EXPORT_H
#define RS_ROSTER_EXPORT_H
#include <json-c/json.h>
#include "zipwrite.h"

struct roster_export_result {
	long rows;
	json_object *counts;     /* {"users":n,...}; owned by the caller (may be NULL when not wanted) */
};

/* since: NULL/"" = bulk; else an ISO 8601 time (delta). 0 ok, -1 with err. */
int roster_export_write(const char *since, zipw_sink sink, void *ud, struct roster_export_result *res,
			char *err, size_t errlen);
#endif
