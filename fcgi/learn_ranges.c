/* Watched ranges: the player's cumulative list for one playback session. Checking them strictly here is what
 * lets the flusher merge them blindly (a union) and lets completion be computed from them in SQL. */
#include "learn_ranges.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int learn_seconds_ms(json_object *v, long max_ms, long *out)
{
	if (!v || !(json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int))) return -1;
	double d = json_object_get_double(v);
	if (!isfinite(d) || d < 0 || d * 1000.0 > (double)max_ms + LEARN_SLACK_MS) return -1;
	long ms = lround(d * 1000.0);
	*out = ms > max_ms ? max_ms : ms;
	return 0;
}

int learn_ranges_parse(json_object *arr, long dur_ms, struct learn_range *out, int *n, const char **code)
{
	*n = 0;
	if (!arr || !json_object_is_type(arr, json_type_array)) { *code = "ranges_type"; return -1; }
	size_t len = json_object_array_length(arr);
	if (len > LEARN_MAX_RANGES) { *code = "too_many_ranges"; return -1; }
	long prev_end = -1;
	for (size_t i = 0; i < len; i++) {
		json_object *p = json_object_array_get_idx(arr, i);
		if (!p || !json_object_is_type(p, json_type_array) || json_object_array_length(p) != 2) {
			*code = "ranges_type";
			return -1;
		}
		long s, e;
		if (learn_seconds_ms(json_object_array_get_idx(p, 0), dur_ms, &s) < 0 ||
		    learn_seconds_ms(json_object_array_get_idx(p, 1), dur_ms, &e) < 0) {
			*code = "range_value";
			return -1;
		}
		if (s > e) { *code = "range_reversed"; return -1; }
		if (s < prev_end) { *code = "range_overlap"; return -1; }
		if (s == e) continue;
		if (*n > 0 && s == prev_end) out[*n - 1].e = e;
		else out[(*n)++] = (struct learn_range){s, e};
		prev_end = e;
	}
	return 0;
}

int learn_ranges_format(const struct learn_range *r, int n, char *out, size_t outlen)
{
	size_t off = 0;
	int k = snprintf(out, outlen, "{");
	if (k < 0 || (size_t)k >= outlen) return -1;
	off = (size_t)k;
	for (int i = 0; i < n; i++) {
		k = snprintf(out + off, outlen - off, "%s[%ld,%ld)", i ? "," : "", r[i].s, r[i].e);
		if (k < 0 || (size_t)k >= outlen - off) return -1;
		off += (size_t)k;
	}
	k = snprintf(out + off, outlen - off, "}");
	return k < 0 || (size_t)k >= outlen - off ? -1 : 0;
}

static int digits(const char **p, long *v)
{
	const char *s = *p;
	if (*s < '0' || *s > '9') return -1;
	long x = 0;
	int k = 0;
	while (*s >= '0' && *s <= '9') {
		if (++k > 15) return -1;
		x = x * 10 + (*s++ - '0');
	}
	*v = x;
	*p = s;
	return 0;
}

int learn_ranges_scan(const char *s, struct learn_range *out, int *n)
{
	*n = 0;
	if (*s++ != '{') return -1;
	long prev = -1;
	while (*s == '[') {
		s++;
		long a, b;
		if (digits(&s, &a) < 0 || *s++ != ',' || digits(&s, &b) < 0 || *s++ != ')') return -1;
		if (a >= b || a < prev || *n >= LEARN_MAX_RANGES) return -1;
		out[(*n)++] = (struct learn_range){a, b};
		prev = b;
		if (*s == ',') { s++; if (*s != '[') return -1; }
	}
	return *s == '}' && s[1] == 0 ? 0 : -1;
}

long learn_ranges_total(const struct learn_range *r, int n)
{
	long t = 0;
	for (int i = 0; i < n; i++) t += r[i].e - r[i].s;
	return t;
}
