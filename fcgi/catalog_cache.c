/* The list cache (see catalog_cache.h). Values are the JSON a handler built before it localises times, so the
 * same entry serves pages and the API; the viewer's language is part of the key (labels are translated). */
#include "catalog_cache.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/sha.h>
#include "cache.h"
#include "db.h"
#include "log.h"
#include "video_access.h"

const char *catalog_cache_key(req *r, const char *kind, const char *const *parts, int n)
{
	if (r->user && (!strcmp(r->user->role, "admin") || !strcmp(r->user->role, "creator"))) return NULL;
	const char *scope = video_access_scope(r);
	if (!scope) return NULL;
	PGresult *res = db_exec_prepared("SELECT gen FROM catalog_gen", 0, NULL);   /* on every list request */
	const char *gen = res && PQntuples(res) ? arena_strdup(r->a, PQgetvalue(res, 0, 0)) : NULL;
	PQclear(res);
	if (!gen) return NULL;
	/* each part length-prefixed, so no two part lists give the same text */
	buf k = {0};
	buf_printf(&k, "%s|%s|", scope, r->lang);
	for (int i = 0; i < n; i++) buf_printf(&k, "%zu:%s|", parts[i] ? strlen(parts[i]) : 0, parts[i] ? parts[i] : "-");
	unsigned char md[SHA256_DIGEST_LENGTH];
	SHA256((const unsigned char *)k.p, k.len, md);
	buf_free(&k);
	char hex[2 * 16 + 1];
	for (int i = 0; i < 16; i++) snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return arena_printf(r->a, "catalog:%s:%s:%s", kind, gen, hex);
}

/* Each worker keeps the last few entries it read or wrote, parsed: a catalogue page read from Redis cost a round
 * trip and a parse of ~15 KB of JSON, most of a cached page's time. The key holds the generation and scope, so a
 * kept entry is as exact as Redis's; it is dropped after CATALOG_CACHE_TTL like Redis's copy, and large entries
 * are not kept (a worker stays small). */
#define LOCAL_ENTRIES 16
#define LOCAL_MAX_BYTES (128 * 1024)
static struct local_entry { char *key; json_object *o; time_t at; unsigned long used; } local[LOCAL_ENTRIES];
static unsigned long local_clock;

static struct local_entry *local_find(const char *key)
{
	time_t now = time(NULL);
	for (int i = 0; i < LOCAL_ENTRIES; i++) {
		struct local_entry *e = &local[i];
		if (!e->key || strcmp(e->key, key)) continue;
		if (now - e->at >= CATALOG_CACHE_TTL) break;
		e->used = ++local_clock;
		return e;
	}
	return NULL;
}

static void local_keep(const char *key, json_object *o, size_t len)
{
	if (len > LOCAL_MAX_BYTES) return;
	struct local_entry *e = &local[0];
	for (int i = 0; i < LOCAL_ENTRIES; i++) {
		if (local[i].key && !strcmp(local[i].key, key)) { e = &local[i]; break; }
		if (local[i].used < e->used) e = &local[i];
	}
	free(e->key);
	json_object_put(e->o);
	e->key = strdup(key);
	e->o = e->key ? json_object_get(o) : NULL;
	e->at = time(NULL);
	e->used = ++local_clock;
}

json_object *catalog_cache_get_shared(const char *key)
{
	if (!key) return NULL;
	struct local_entry *e = local_find(key);
	if (e) return json_object_get(e->o);
	redisReply *rep = cache_cmd("GET %s", key);
	json_object *o = NULL;
	if (rep && rep->type == REDIS_REPLY_STRING && (o = json_tokener_parse(rep->str))) local_keep(key, o, rep->len);
	if (rep) freeReplyObject(rep);
	return o;
}

json_object *catalog_cache_get(const char *key)
{
	json_object *shared = catalog_cache_get_shared(key), *copy = NULL;
	if (shared && json_object_deep_copy(shared, &copy, NULL) < 0) copy = NULL;
	json_object_put(shared);
	return copy;
}

void catalog_cache_put(const char *key, json_object *o)
{
	if (!key || !o) return;
	size_t len;
	const char *s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &len);
	redisReply *rep = cache_cmd("SET %s %b EX %d", key, s, len, CATALOG_CACHE_TTL);
	if (rep) freeReplyObject(rep);
	/* kept as a copy: the caller goes on with o (and may change it) */
	json_object *copy = NULL;
	if (json_object_deep_copy(o, &copy, NULL) == 0) local_keep(key, copy, len);
	json_object_put(copy);
}
