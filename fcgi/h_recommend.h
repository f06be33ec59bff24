/* Recommendation lists for other pages: the watch page's "next up" (h_watch.c) and the pupil home row (h_home.c). */
#ifndef RS_H_RECOMMEND_H
#define RS_H_RECOMMEND_H
#include <json-c/json.h>
#include "http.h"

/* Up to k videos related to videos.id = pk that r's user may watch, decorated for display; NULL on a db error. */
json_object *recommend_related_json(req *r, const char *pk, int k);
/* Adds "next_up" (and "has_next_up") to the watch page context; nothing on a database error (logged). */
void recommend_watch_context(req *r, json_object *ctx, const char *pk);
/* Adds "recommended" (and "has_recommended") to a home context. 0, or -1 on a database error (logged). */
int recommend_home_context(req *r, json_object *ctx);
#endif
