/* libFuzzer harness: the request parsers (request.c): query strings and urlencoded forms, Cookie headers,
 * URL decoding and encoding. Every decoded pair must be a NUL-terminated string from the arena. */
#include <stdint.h>
#include <string.h>
#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 1 << 20) return 0;
	arena *a = arena_new(65536);
	kv *pairs;
	int n;
	if (parse_urlencoded(a, (const char *)data, size, &pairs, &n) == 0)
		for (int i = 0; i < n; i++) {
			if (!pairs[i].k || !pairs[i].v) __builtin_trap();
			url_encode(a, pairs[i].v);
		}
	char *s = arena_strndup(a, (const char *)data, size);
	if (parse_cookies(a, s, &pairs, &n) == 0)
		for (int i = 0; i < n; i++)
			if (!pairs[i].k || !pairs[i].v) __builtin_trap();
	char *d = url_decode(a, (const char *)data, size);
	if (!d) __builtin_trap();
	arena_free(a);
	return 0;
}
