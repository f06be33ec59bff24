/* The watch page and playback API: checks who may watch, then hands out a signed, expiring HLS prefix.
 * Nothing is signed for a viewer who may not watch (403). Resume positions are stored per user. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "config.h"
#include "db.h"
#include "h_recommend.h"
#include "h_search.h"
#include "h_videos.h"
#include "learn.h"
#include "log.h"
#include "router.h"
#include "video_access.h"
#include "video_sign.h"

static const char *jtext(json_object *o, const char *k)
{
	json_object *v;
	return json_object_object_get_ex(o, k, &v) && !json_object_is_type(v, json_type_null) ? json_object_get_string(v) : NULL;
}

/* Signed URLs for everything the player needs: master playlist, poster, storyboard, captions. */
static json_object *playback_json(req *r, const char *pk, const char *pid, json_object *v)
{
	long exp = (long)time(NULL) + config_get_int("hls_url_ttl", 14400);
	char url[512];
	if (video_sign_url(video_sign_secret(), pid, "master.m3u8", exp, url, sizeof url) < 0) return NULL;
	json_object *o = json_object_new_object();
	json_object_object_add(o, "master_url", json_object_new_string(url));
	json_object_object_add(o, "expires", json_object_new_int64(exp));
	const char *poster = jtext(v, "poster"), *sb = jtext(v, "storyboard");
	if (poster && video_sign_url(video_sign_secret(), pid, poster, exp, url, sizeof url) == 0)
		json_object_object_add(o, "poster_url", json_object_new_string(url));
	if (sb && video_sign_url(video_sign_secret(), pid, sb, exp, url, sizeof url) == 0)
		json_object_object_add(o, "storyboard_url", json_object_new_string(url));
	json_object *caps = json_object_new_array();
	PGresult *res = DB_EXEC("SELECT lang, label, path FROM captions WHERE video_id = $1::bigint ORDER BY lang", pk);
	for (int i = 0; res && i < PQntuples(res); i++) {
		if (video_sign_url(video_sign_secret(), pid, PQgetvalue(res, i, 2), exp, url, sizeof url) < 0) continue;
		json_object *c = json_object_new_object();
		json_object_object_add(c, "lang", json_object_new_string(PQgetvalue(res, i, 0)));
		json_object_object_add(c, "label", json_object_new_string(PQgetvalue(res, i, 1)));
		json_object_object_add(c, "url", json_object_new_string(url));
		json_object_array_add(caps, c);
	}
	PQclear(res);
	json_object_object_add(o, "captions", caps);
	double pos = 0;
	if (r->user) {
		char uid[24];
		snprintf(uid, sizeof uid, "%ld", r->user->id);
		res = DB_EXEC("SELECT position FROM watch_positions WHERE user_id = $1::bigint AND video_id = $2::bigint", uid, pk);
		if (res && PQntuples(res)) pos = strtod(PQgetvalue(res, 0, 0), NULL);
		PQclear(res);
	}
	json_object_object_add(o, "position", json_object_new_double(pos));
	json_object *dv;
	double dur = json_object_object_get_ex(v, "duration", &dv) && !json_object_is_type(dv, json_type_null)
		? json_object_get_double(dv) : 0;
	/* the viewer may watch (checked by the caller): a signed playback session for the heartbeats */
	const char *sess = learn_playback_session(r, pk, pid, dur);
	if (sess) json_object_object_add(o, "session", json_object_new_string(sess));
	return o;
}

/* 0 may watch (v, pk filled), or an error response already sent */
static json_object *watchable(req *r, char pk[24], int *status)
{
	long owner = 0;
	json_object *v = video_fetch(r, req_param(r, "id"), pk, &owner);
	if (!v) { *status = 404; res_error(r, 404, "not_found", tr(r, "video_not_found"), NULL); return NULL; }
	int ok = video_may_watch(r, pk);
	if (ok < 0) { json_object_put(v); *status = 500; res_error(r, 500, "db", tr(r, "video_db_error"), NULL); return NULL; }
	if (!ok) {
		json_object_put(v);
		*status = 403;
		res_error(r, 403, "forbidden", tr(r, "video_watch_forbidden"), NULL);
		return NULL;
	}
	*status = 200;
	return v;
}

void h_watch(req *r)
{
	char pk[24];
	int st;
	json_object *v = watchable(r, pk, &st);
	if (!v) return;
	const char *pid = jtext(v, "id"), *status = jtext(v, "status");
	json_object *ctx = json_object_new_object();
	json_object_object_add(ctx, "title", json_object_new_string(jtext(v, "title") ? jtext(v, "title") : ""));
	json_object *styles = json_object_new_array(), *scripts = json_object_new_array();
	json_object_array_add(styles, json_object_new_string("/static/css/video.css"));
	int ready = status && !strcmp(status, "ready");
	if (ready) {
		json_object *pb = playback_json(r, pk, pid, v);
		if (!pb) {
			json_object_put(v);
			json_object_put(ctx);
			json_object_put(styles);
			json_object_put(scripts);
			log_error("hls_secret is not configured: cannot sign playback URLs");
			res_error(r, 503, "unavailable", tr(r, "video_playback_unavailable"), NULL);
			return;
		}
		json_object_object_add(ctx, "playback", pb);
		json_object_array_add(scripts, json_object_new_string("/static/vendor/hls.min.js"));
		json_object_array_add(scripts, json_object_new_string("/static/js/video-player.js"));
	} else {
		json_object_object_add(ctx, "status_label", json_object_new_string(tr(r, arena_printf(r->a, "video_status_%s", status ? status : "queued"))));
	}
	long owner = 0;
	json_object *ov;
	if (json_object_object_get_ex(v, "owner_id", &ov)) owner = (long)json_object_get_int64(ov);
	json_object_object_add(ctx, "can_manage", json_object_new_boolean(video_may_manage(r, owner)));
	video_decorate(r, v, video_may_manage(r, owner));
	/* ?t=123: start at that moment (a search hit); anything else than seconds is ignored */
	int tbad = 0;
	long t = req_query_long(r, "t", -1, 0, 10000000, &tbad);
	if (!tbad && t >= 0) json_object_object_add(ctx, "start", json_object_new_int64(t));
	/* "search in this video": its caption cues, each linking to its moment */
	PGresult *cres = DB_EXEC("SELECT EXISTS (SELECT 1 FROM caption_cues WHERE video_id = $1::bigint)", pk);
	int has_caps = cres && PQntuples(cres) && PQgetvalue(cres, 0, 0)[0] == 't';
	PQclear(cres);
	json_object_object_add(ctx, "has_captions", json_object_new_boolean(has_caps));
	const char *sq = req_query(r, "sq");
	if (has_caps && sq && *sq) {
		json_object *hits = NULL;
		const char *err = NULL;
		json_object_object_add(ctx, "sq", json_object_new_string(sq));
		if (search_in_video(r, pk, pid, sq, &hits, &err) < 0) {
			json_object_object_add(ctx, "sq_error", json_object_new_string(tr(r, err)));
		} else {
			int n = (int)json_object_array_length(hits);
			json_object_object_add(ctx, n ? "has_sq_hits" : "sq_none", json_object_new_boolean(1));
			json_object_object_add(ctx, "sq_hits", hits);
		}
	}
	/* "next up": related videos this viewer may watch (h_recommend.c) */
	recommend_watch_context(r, ctx, pk);
	json_object_object_add(ctx, "logged_in", json_object_new_boolean(r->user != NULL));
	json_object_object_add(ctx, "ready", json_object_new_boolean(ready));
	json_object_object_add(ctx, "video", v);
	json_object_object_add(ctx, "styles", styles);
	json_object_object_add(ctx, "scripts", scripts);
	res_html(r, 200, "watch", ctx);
	json_object_put(ctx);
}

/* GET /api/v1/videos/:id/playback */
void h_api_playback(req *r)
{
	char pk[24];
	int st;
	json_object *v = watchable(r, pk, &st);
	if (!v) return;
	const char *status = jtext(v, "status");
	if (status && !strcmp(status, "rejected")) {
		/* it will never play: say so and why, rather than "not ready yet" */
		const char *reason = jtext(v, "reject_reason");
		json_object *d = json_object_new_object();
		if (reason) json_object_object_add(d, "reason", json_object_new_string(reason));
		const char *msg = reason ? arena_printf(r->a, "%s %s", tr(r, "video_playback_rejected"), tr(r, reason))
					 : tr(r, "video_playback_rejected");
		json_object_put(v);
		res_error(r, 409, "video_rejected", msg, d);
		return;
	}
	if (!status || strcmp(status, "ready")) {
		json_object_put(v);
		res_error(r, 409, "not_ready", tr(r, "video_not_ready"), NULL);
		return;
	}
	json_object *pb = playback_json(r, pk, jtext(v, "id"), v);
	json_object_put(v);
	if (!pb) { res_error(r, 503, "unavailable", tr(r, "video_playback_unavailable"), NULL); return; }
	json_object *o = json_object_new_object();
	json_object_object_add(o, "playback", pb);
	res_json(r, 200, o);
}

/* POST /api/v1/videos/:id/position {"position": seconds} */
void h_api_position(req *r)
{
	char pk[24];
	int st;
	json_object *v = watchable(r, pk, &st);
	if (!v) return;
	double dur = 0;
	json_object *dv, *pv;
	if (json_object_object_get_ex(v, "duration", &dv) && !json_object_is_type(dv, json_type_null)) dur = json_object_get_double(dv);
	json_object_put(v);
	const char *ps = req_form(r, "position");
	char *end = NULL;
	double pos = ps ? strtod(ps, &end) : NAN;
	if (r->json && json_object_object_get_ex(r->json, "position", &pv) &&
	    (json_object_is_type(pv, json_type_double) || json_object_is_type(pv, json_type_int))) {
		pos = json_object_get_double(pv);
		end = NULL;
	}
	if (isnan(pos) || (end && *end) || pos < 0 || pos > 1e7 || (dur > 0 && pos > dur + 1)) {
		res_error(r, 422, "bad_position", tr(r, "video_bad_position"), NULL);
		return;
	}
	char uid[24], p[32];
	snprintf(uid, sizeof uid, "%ld", r->user->id);
	snprintf(p, sizeof p, "%.3f", pos);
	if (DB_CMD("INSERT INTO watch_positions (user_id, video_id, position) VALUES ($1::bigint, $2::bigint, $3::float8) "
		   "ON CONFLICT (user_id, video_id) DO UPDATE SET position = EXCLUDED.position, updated_at = now()",
		   uid, pk, p) < 0) {
		res_error(r, 500, "db", tr(r, "video_db_error"), NULL);
		return;
	}
	res_body(r, 204, NULL, NULL, 0);
}
