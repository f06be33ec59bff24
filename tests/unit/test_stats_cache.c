/* The stats pages' body cache: a hit gives back exactly what was put under that key, a changed key misses, the
 * least recently used entry is the one that goes, oversized bodies are not kept. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include "stats.h"

static void put(const char *key, const char *body) { stats_cache_put(key, body, strlen(body)); }

Test(stats_cache, hit_returns_the_body_put_under_the_key)
{
	put("video 1 100 2026-01-01 2026-01-30 ja", "<p>本文</p>");
	size_t n = 0;
	const char *b = stats_cache_get("video 1 100 2026-01-01 2026-01-30 ja", &n);
	cr_assert_not_null(b);
	cr_assert_eq(n, strlen("<p>本文</p>"));
	cr_assert_str_eq(b, "<p>本文</p>");
	/* a newer generation (the worker refreshed the rollups) or another language is another key */
	cr_assert_null(stats_cache_get("video 1 101 2026-01-01 2026-01-30 ja", &n));
	cr_assert_null(stats_cache_get("video 1 100 2026-01-01 2026-01-30 en", &n));
}

Test(stats_cache, same_key_replaces_the_body)
{
	put("k", "old");
	put("k", "new body");
	size_t n;
	cr_assert_str_eq(stats_cache_get("k", &n), "new body");
	cr_assert_eq(n, 8);
}

Test(stats_cache, least_recently_used_goes_first)
{
	char k[32];
	for (int i = 0; i < STATS_CACHE_SLOTS; i++) {
		snprintf(k, sizeof k, "lru %d", i);
		put(k, k);
	}
	size_t n;
	cr_assert_not_null(stats_cache_get("lru 0", &n));   /* used again: now the newest */
	put("lru new", "x");                                 /* evicts "lru 1", the oldest */
	cr_assert_not_null(stats_cache_get("lru 0", &n));
	cr_assert_null(stats_cache_get("lru 1", &n));
	cr_assert_not_null(stats_cache_get("lru 2", &n));
	cr_assert_not_null(stats_cache_get("lru new", &n));
}

Test(stats_cache, oversized_body_is_not_kept)
{
	static char big[STATS_CACHE_MAX_BODY + 2];
	memset(big, 'a', sizeof big - 1);
	stats_cache_put("big", big, sizeof big - 1);
	size_t n;
	cr_assert_null(stats_cache_get("big", &n));
}
