/* Watched ranges sent by the player: parsed from JSON into milliseconds with limits, written as a PostgreSQL
 * int8multirange literal, read back from it. Pure, unit-tested; the heartbeat handler and the flusher use it. */
#ifndef RS_LEARN_RANGES_H
#define RS_LEARN_RANGES_H
#include <stddef.h>
#include <json-c/json.h>

#define LEARN_MAX_RANGES 200
#define LEARN_SLACK_MS 1000        /* players round durations differently: ends up to 1 s past it are clamped */
struct learn_range { long s, e; };   /* [s, e) in milliseconds */

/* A JSON number that is finite and in [0, max] as milliseconds from seconds. 0 ok, -1 not. */
int learn_seconds_ms(json_object *v, long max_ms, long *out);
/* [[start, end], ...] in seconds, ascending, not overlapping, within [0, dur]. Touching ranges are joined and
 * empty ones dropped. 0 ok; -1 with *code set to a message key suffix: ranges_type, too_many_ranges,
 * range_value, range_reversed, range_overlap. */
int learn_ranges_parse(json_object *arr, long dur_ms, struct learn_range *out, int *n, const char **code);
/* "{[0,10000),[20000,30000)}"; -1 when it does not fit. */
int learn_ranges_format(const struct learn_range *r, int n, char *out, size_t outlen);
/* Parse what learn_ranges_format wrote (strictly). 0 ok, -1 not. */
int learn_ranges_scan(const char *s, struct learn_range *out, int *n);
long learn_ranges_total(const struct learn_range *r, int n);
#endif
