/* The list cache (see catalog_cache.h). Values are the JSON a handler built before it localises times, so the
 * same entry serves pages and the API; the viewer's language is part of the key (labels are translated). */
#include "catalog_cache.h"
#include <stdio.h>
#include <string.h>
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

json_object *catalog_cache_get(const char *key)
{
	if (!key) return NULL;
	redisReply *rep = cache_cmd("GET %s", key);
	json_object *o = NULL;
	if (rep && rep->type == REDIS_REPLY_STRING) o = json_tokener_parse(rep->str);
	if (rep) freeReplyObject(rep);
	return o;
}

void catalog_cache_put(const char *key, json_object *o)
{
	if (!key || !o) return;
	size_t len;
	const char *s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &len);
	redisReply *rep = cache_cmd("SET %s %b EX %d", key, s, len, CATALOG_CACHE_TTL);
	if (rep) freeReplyObject(rep);
}
