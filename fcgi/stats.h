/* Statistics: rollups kept by the worker (stats_rollup.c), date ranges and access rules shared by the stats pages
 * and API (h_stats.c). Tables and SQL functions in sql/060_stats.sql. */
#ifndef RS_STATS_H
#define RS_STATS_H
#include <stddef.h>

/* Worker side, called every loop: recompute dirty rollups (bounded by budget_ms), refresh the KPI row every
 * stats_kpi_interval seconds (default 15) and the storage totals every stats_storage_interval (default 600).
 * Returns rollup pairs recomputed, -1 on a database error. */
int stats_tick(int budget_ms);

/* A date range from the query's from/to (YYYY-MM-DD, inclusive). Missing: the last def_days days ending at
 * today. Returns 0, or -1 with *code one of: bad_date, reversed_range, range_too_long, range_out_of_bounds.
 * today is "YYYY-MM-DD" in the deployment's zone. Pure, unit-tested. */
#define STATS_MAX_DAYS 366
struct stats_range { char from[11], to[11]; int days; };
int stats_range_parse(const char *from, const char *to, const char *today, int def_days, struct stats_range *out,
		      const char **code);

/* Rendered page bodies, per process (stats_cache.c): key = every input of the body (ids, the rollups' generation,
 * range, language); a changed input is a new key, so nothing is invalidated in place. get: NULL on a miss, else
 * the body, valid until the next put. Bodies over STATS_CACHE_MAX_BODY are not kept. Pure, unit-tested. */
#define STATS_CACHE_SLOTS 32
#define STATS_CACHE_MAX_BODY (256 * 1024)
const char *stats_cache_get(const char *key, size_t *len);
void stats_cache_put(const char *key, const char *body, size_t len);
#endif
