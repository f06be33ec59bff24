/* Rendered bodies of the video and KPI stats pages, kept per FastCGI process (stats.h). A page over the rollups
 * reads a few hundred rows and draws two SVG charts: rendering it is most of its cost, and the same body is asked
 * for again and again until the worker's next refresh. The key names every input of the body (the caller's job),
 * so an entry is never stale: when the rollups change their generation changes, the key with it, and the old
 * entry ages out (least recently used first). */
#include <stdlib.h>
#include <string.h>
#include "stats.h"

struct slot { char *key, *body; size_t len; unsigned long used; };
static struct slot slots[STATS_CACHE_SLOTS];
static unsigned long tick;

const char *stats_cache_get(const char *key, size_t *len)
{
	for (int i = 0; i < STATS_CACHE_SLOTS; i++)
		if (slots[i].key && !strcmp(slots[i].key, key)) {
			slots[i].used = ++tick;
			*len = slots[i].len;
			return slots[i].body;
		}
	return NULL;
}

void stats_cache_put(const char *key, const char *body, size_t len)
{
	if (len > STATS_CACHE_MAX_BODY) return;
	struct slot *s = &slots[0];
	for (int i = 0; i < STATS_CACHE_SLOTS; i++) {
		if (slots[i].key && !strcmp(slots[i].key, key)) { s = &slots[i]; break; }
		if (!slots[i].key || slots[i].used < s->used) s = &slots[i];
		if (!slots[i].key) break;
	}
	char *k = strdup(key), *b = malloc(len + 1);
	if (!k || !b) { free(k); free(b); return; }   /* out of memory: the page is rendered again next time */
	memcpy(b, body, len);
	b[len] = 0;
	free(s->key);
	free(s->body);
	*s = (struct slot){k, b, len, ++tick};
}
