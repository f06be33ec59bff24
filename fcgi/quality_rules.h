/* Dataset quality: the metric list with default thresholds, grading a value against its thresholds, threshold
 * checks, the cron-like schedule line, and the small parsers the dataset pages need. Pure: no I/O (unit-tested). */
#ifndef RS_QUALITY_RULES_H
#define RS_QUALITY_RULES_H
#include <stdint.h>

struct quality_metric {
	const char *key;       /* dataset_metrics.metric, catalog quality_metric_<key> */
	double warn, fail;     /* default thresholds: percent of the metric's total; value > fail → fail, > warn → warn */
};
extern const struct quality_metric quality_metrics[];
extern const int nquality_metrics;
const struct quality_metric *quality_metric_find(const char *key);

/* "pass" | "warn" | "fail" */
const char *quality_grade(double value, double warn, double fail);
/* 1 when 0 <= warn <= fail <= 100 */
int quality_threshold_valid(double warn, double fail);
/* offending / total as a percent (0 when total is 0) */
double quality_percent(long offending, long total);

/* Cron-like line: five fields "minute hour day-of-month month day-of-week" with *, numbers, a-b ranges, lists and
 * /step (day-of-week 0-7, 0 and 7 = Sunday). Day-of-month and day-of-week both restricted = either matches. */
struct quality_cron {
	uint64_t minute;
	uint32_t hour, dom;
	uint16_t month;
	uint8_t dow;
	int dom_any, dow_any;
};
int quality_cron_parse(const char *s, struct quality_cron *c);   /* 0 ok, -1 malformed */
/* minute 0-59, hour 0-23, dom 1-31, month 1-12, dow 0-6 (Sunday 0) */
int quality_cron_match(const struct quality_cron *c, int minute, int hour, int dom, int month, int dow);

/* A single HTTP byte range "bytes=a-b" | "bytes=a-" | "bytes=-n" against size. 1 = serve [*from, *to],
 * 0 = no usable header (serve everything), -1 = unsatisfiable (416). Several ranges are served whole (0). */
int dataset_range_parse(const char *h, long long size, long long *from, long long *to);
/* A dataset name: 1-120 characters of UTF-8 text without control characters (any other text is fine: it is
 * escaped when shown and never used in a path). 1 ok. */
int dataset_name_valid(const char *s);
#endif
