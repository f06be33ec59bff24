/* Recommendations over HTTP: GET /api/v1/videos/:id/related, GET /api/v1/me/recommendations, the "next up" list of
 * the watch page and the "recommended for you" row of the pupil home. The lists come from recommend.c. */
#include <stdio.h>
#include <string.h>
#include "db.h"
#include "h_recommend.h"
#include "h_videos.h"
#include "log.h"
#include "recommend.h"
#include "router.h"
#include "video_access.h"

static const char *uid_text(req *r) { return arena_printf(r->a, "%ld", r->user ? r->user->id : 0L); }
static const char *role_text(req *r) { return r->user ? r->user->role : "guest"; }

/* Rows → decorated video objects with a translated reason; the internal key and owner id are not shown. */
static json_object *rows_json(req *r, PGresult *res)
{
	json_object *a = json_object_new_array();
	for (int i = 0; i < PQntuples(res); i++) {
		json_object *v = db_row_json(res, i), *x;
		video_decorate(r, v, 0);
		json_object_object_del(v, "owner_id");
		json_object_object_del(v, "status_label");
		if (json_object_object_get_ex(v, "reason", &x))
			json_object_object_add(v, "reason_label", json_object_new_string(
				tr(r, arena_printf(r->a, "recommend_reason_%s", json_object_get_string(x)))));
		json_object_array_add(a, v);
	}
	return a;
}

json_object *recommend_related_json(req *r, const char *pk, int k)
{
	PGresult *res = recommend_related(pk, uid_text(r), role_text(r), k);
	if (!res) return NULL;
	json_object *a = rows_json(r, res);
	PQclear(res);
	return a;
}

void recommend_watch_context(req *r, json_object *ctx, const char *pk)
{
	/* a failure here costs the watch page its side list, not the video */
	json_object *a = recommend_related_json(r, pk, 8);
	if (!a) return;
	if (json_object_array_length(a) > 0) json_object_object_add(ctx, "has_next_up", json_object_new_boolean(1));
	json_object_object_add(ctx, "next_up", a);
}

int recommend_home_context(req *r, json_object *ctx)
{
	PGresult *res = recommend_for_user(uid_text(r), role_text(r), 8);
	if (!res) return -1;
	json_object *a = rows_json(r, res);
	PQclear(res);
	if (json_object_array_length(a) > 0) json_object_object_add(ctx, "has_recommended", json_object_new_boolean(1));
	json_object_object_add(ctx, "recommended", a);
	return 0;
}

static int limit_param(req *r, int def, int *bad)
{
	return (int)req_query_long(r, "limit", def, 1, 50, bad);
}

/* GET /api/v1/videos/:id/related?limit=N — the same rule as the watch page: 404 unknown, 403 not watchable */
void h_api_video_related(req *r)
{
	int bad = 0, k = limit_param(r, 10, &bad);
	if (bad) { res_error(r, 400, "bad_query", tr(r, "error_bad_query"), NULL); return; }
	char pk[24];
	json_object *v = video_fetch(r, req_param(r, "id"), pk, NULL);
	if (!v) { res_error(r, 404, "not_found", tr(r, "video_not_found"), NULL); return; }
	json_object_put(v);
	int ok = video_may_watch(r, pk);
	if (ok < 0) { res_error(r, 500, "db", tr(r, "video_db_error"), NULL); return; }
	if (!ok) { res_error(r, 403, "forbidden", tr(r, "video_watch_forbidden"), NULL); return; }
	json_object *a = recommend_related_json(r, pk, k);
	if (!a) { res_error(r, 500, "db", tr(r, "video_db_error"), NULL); return; }
	json_object *o = json_object_new_object();
	json_object_object_add(o, "videos", a);
	res_json(r, 200, o);
}

/* GET /api/v1/me/recommendations?limit=N */
void h_api_me_recommendations(req *r)
{
	int bad = 0, k = limit_param(r, 12, &bad);
	if (bad) { res_error(r, 400, "bad_query", tr(r, "error_bad_query"), NULL); return; }
	PGresult *res = recommend_for_user(uid_text(r), role_text(r), k);
	if (!res) { res_error(r, 500, "db", tr(r, "video_db_error"), NULL); return; }
	json_object *o = json_object_new_object();
	json_object_object_add(o, "videos", rows_json(r, res));
	PQclear(res);
	res_json(r, 200, o);
}
