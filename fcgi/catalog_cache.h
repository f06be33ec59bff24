/* Lists of videos (catalog pages, search results, suggestions) cached in Redis under the catalog generation and
 * the viewer's access scope. The generation (catalog_gen, sql/093_recommend.sql and sql/099_search_batch.sql) is
 * bumped in the same transaction as every write that can change such a list (videos, their tags, categories,
 * search documents, caption cues), and the scope (video_access_scope) names everything else the access rule
 * reads (role, organisation, active classes, assignment grants), so a cached list is one this viewer may see now. */
#ifndef RS_CATALOG_CACHE_H
#define RS_CATALOG_CACHE_H
#include <json-c/json.h>
#include "router.h"

#define CATALOG_CACHE_TTL 60   /* seconds; bounds only what no generation tracks (an owner's display name) */

/* The key of a list of `kind` built from these request parts (NULL parts allowed), or NULL when it must not be
 * cached: a viewer who manages videos (their lists show live job progress), or no readable generation/scope. */
const char *catalog_cache_key(req *r, const char *kind, const char *const *parts, int n);
json_object *catalog_cache_get(const char *key);            /* NULL on a miss or without Redis; caller puts */
/* The same without the copy: the worker's own parsed entry, shared. The caller puts it and must not change it
 * (nor anything inside it): the next request gets the same object. */
json_object *catalog_cache_get_shared(const char *key);
void catalog_cache_put(const char *key, json_object *o);    /* o is not consumed */
#endif
