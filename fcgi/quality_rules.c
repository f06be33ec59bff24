/* Dataset quality rules and parsers without I/O: thresholds and grading, the schedule line, byte ranges, names.
 * The metrics themselves are SQL in quality.c. */
#include "quality_rules.h"
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Defaults sized so a healthy roster passes: any duplicate, orphan, bad e-mail or missing kana is worth a warning;
 * a large share fails. users_removed: more than 10 % of the previous version's users gone fails. */
const struct quality_metric quality_metrics[] = {
	{"error_rate", 0, 1},
	{"duplicates", 0, 2},
	{"orphan_refs", 0, 1},
	{"users_without_enrollment", 2, 20},
	{"classes_without_teacher", 10, 90},
	{"missing_kana", 0, 10},
	{"format", 0, 5},
	{"users_removed", 5, 10},
};
const int nquality_metrics = sizeof quality_metrics / sizeof quality_metrics[0];

const struct quality_metric *quality_metric_find(const char *key)
{
	for (int i = 0; key && i < nquality_metrics; i++)
		if (!strcmp(quality_metrics[i].key, key)) return &quality_metrics[i];
	return NULL;
}

const char *quality_grade(double value, double warn, double fail)
{
	if (value > fail) return "fail";
	if (value > warn) return "warn";
	return "pass";
}

int quality_threshold_valid(double warn, double fail)
{
	return warn >= 0 && fail <= 100 && warn <= fail;
}

double quality_percent(long offending, long total)
{
	return total > 0 ? 100.0 * (double)offending / (double)total : 0;
}

/* one field: "*", "*\/s", "a", "a-b", "a-b/s", comma lists; bits lo..hi set in *out */
static int cron_field(const char *s, size_t n, int lo, int hi, uint64_t *out, int *any)
{
	*out = 0;
	*any = n == 1 && s[0] == '*';
	const char *p = s, *end = s + n;
	while (p < end) {
		const char *q = memchr(p, ',', (size_t)(end - p));
		if (!q) q = end;
		int a, b, step = 1;
		const char *x = p;
		if (*x == '*') { a = lo; b = hi; x++; }
		else {
			if (!isdigit((unsigned char)*x)) return -1;
			a = 0;
			while (x < q && isdigit((unsigned char)*x)) { a = a * 10 + (*x - '0'); if (a > 99) return -1; x++; }
			b = a;
			if (x < q && *x == '-') {
				x++;
				if (x >= q || !isdigit((unsigned char)*x)) return -1;
				b = 0;
				while (x < q && isdigit((unsigned char)*x)) { b = b * 10 + (*x - '0'); if (b > 99) return -1; x++; }
			}
		}
		if (x < q && *x == '/') {
			x++;
			if (x >= q || !isdigit((unsigned char)*x)) return -1;
			step = 0;
			while (x < q && isdigit((unsigned char)*x)) { step = step * 10 + (*x - '0'); if (step > 99) return -1; x++; }
			if (step < 1) return -1;
		}
		if (x != q || a < lo || b > hi || a > b) return -1;
		for (int i = a; i <= b; i += step) *out |= 1ULL << i;
		p = q + (q < end);
		if (q < end && p == end) return -1;   /* trailing comma */
	}
	return *out ? 0 : -1;
}

int quality_cron_parse(const char *s, struct quality_cron *c)
{
	static const int lo[5] = {0, 0, 1, 1, 0}, hi[5] = {59, 23, 31, 12, 7};
	uint64_t bits[5];
	int any[5], f = 0;
	if (!s) return -1;
	memset(c, 0, sizeof *c);
	const char *p = s;
	while (f < 5) {
		while (*p == ' ' || *p == '\t') p++;
		if (!*p) break;
		size_t n = strcspn(p, " \t");
		if (cron_field(p, n, lo[f], hi[f], &bits[f], &any[f]) < 0) return -1;
		p += n;
		f++;
	}
	while (*p == ' ' || *p == '\t') p++;
	if (f != 5 || *p) return -1;
	c->minute = bits[0];
	c->hour = (uint32_t)bits[1];
	c->dom = (uint32_t)bits[2];
	c->month = (uint16_t)bits[3];
	c->dow = (uint8_t)((bits[4] | (bits[4] >> 7)) & 0x7f);   /* 7 = Sunday = 0 */
	c->dom_any = any[2];
	c->dow_any = any[4];
	return 0;
}

int quality_cron_match(const struct quality_cron *c, int minute, int hour, int dom, int month, int dow)
{
	if (minute < 0 || minute > 59 || hour < 0 || hour > 23 || dom < 1 || dom > 31 || month < 1 || month > 12 ||
	    dow < 0 || dow > 6)
		return 0;
	if (!(c->minute >> minute & 1) || !(c->hour >> hour & 1) || !(c->month >> month & 1)) return 0;
	int d = (int)(c->dom >> dom & 1), w = (int)(c->dow >> dow & 1);
	if (c->dom_any && c->dow_any) return 1;
	if (c->dom_any) return w;
	if (c->dow_any) return d;
	return d || w;
}

static int parse_num(const char **p, long long *out)
{
	if (!isdigit((unsigned char)**p)) return -1;
	long long v = 0;
	while (isdigit((unsigned char)**p)) {
		if (v > (1LL << 56)) return -1;
		v = v * 10 + (**p - '0');
		(*p)++;
	}
	*out = v;
	return 0;
}

int dataset_range_parse(const char *h, long long size, long long *from, long long *to)
{
	if (!h || strncmp(h, "bytes=", 6)) return 0;
	const char *p = h + 6;
	if (strchr(p, ',')) return 0;
	long long a, b;
	if (*p == '-') {
		p++;
		if (parse_num(&p, &b) < 0 || *p) return 0;
		if (b == 0 || size == 0) return -1;
		*from = b >= size ? 0 : size - b;
		*to = size - 1;
		return 1;
	}
	if (parse_num(&p, &a) < 0 || *p != '-') return 0;
	p++;
	if (!*p) b = size - 1;
	else if (parse_num(&p, &b) < 0 || *p || b < a) return 0;
	if (a >= size) return -1;
	if (b >= size) b = size - 1;
	*from = a;
	*to = b;
	return 1;
}

int dataset_name_valid(const char *s)
{
	if (!s) return 0;
	int chars = 0, nonspace = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p == 0x7f) return 0;
		if ((*p & 0xC0) != 0x80) chars++;
		if (*p != ' ') nonspace = 1;
	}
	return nonspace && chars <= 120;
}
