/* Viewing heartbeats: the player posts its cumulative watched ranges; the handler checks them against a signed
 * playback session (no database round trip) and appends them to a Redis stream that the worker flushes
 * (learn_flush.c). Also the viewer's own history. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "auth.h"
#include "cache.h"
#include "config.h"
#include "db.h"
#include "learn.h"
#include "learn_ranges.h"
#include "learn_token.h"
#include "log.h"
#include "router.h"
#include "timefmt.h"

const char *learn_tz(void) { return time_zone_default(); }   /* validated; timefmt.h */

static long session_ttl(void) { return config_get_int("learn_session_ttl", 86400); }

double learn_complete_share(void)
{
	const char *s = config_get("learn_complete_share", NULL);
	double d = s ? strtod(s, NULL) : 0.9;
	return d > 0 && d <= 1 ? d : 0.9;
}

const char *learn_playback_session(req *r, const char *pk, const char *pid, double duration)
{
	if (!r->user || !(duration > 0) || !pid || strlen(pid) != 16) return NULL;
	struct learn_pb p = {.uid = r->user->id, .vpk = strtol(pk, NULL, 10), .dur_ms = lround(duration * 1000),
			     .iat = (long)time(NULL)};
	memcpy(p.vid, pid, 17);
	char *out = arena_alloc(r->a, LEARN_TOKEN_MAX);
	return learn_token_make(cfg.secret, &p, out, LEARN_TOKEN_MAX) == 0 ? out : NULL;
}


/* The body named a video the session is not for: 404 when no such video exists, else 403. Cold path only. */
static void wrong_video(req *r, const char *vid)
{
	PGresult *res = vid ? DB_EXEC("SELECT 1 FROM videos WHERE public_id = $1", vid) : NULL;
	int exists = res && PQntuples(res) > 0;
	PQclear(res);
	if (!exists) learn_fail(r, 404, "video_not_found");
	else learn_fail(r, 403, "session_video");
}

/* the answer once Redis replied to the revoked check and the append (see the end of h_api_heartbeat) */
static void beat_taken(req *r, redisReply **rep)
{
	if (rep[0] && rep[0]->type == REDIS_REPLY_INTEGER && rep[0]->integer > 0) {
		res_error(r, 401, "unauthorized", tr(r, "error_unauthorized"), NULL);
		return;
	}
	if (!rep[1] || rep[1]->type != REDIS_REPLY_STRING) {
		res_header(r, "Retry-After", "5");
		learn_fail(r, 503, "buffer_unavailable");
		return;
	}
	/* 202, not 204: the beat is queued, and nginx keeps its connection to us only after a response with a body
	 * (even an empty one): after a 204 it stops reading before our end-of-request record and closes */
	res_body(r, 202, NULL, NULL, 0);
}

/* POST /api/v1/views/heartbeat: JSON (any content type, so navigator.sendBeacon can send it as text/plain).
 * {"session","video","position","rate","ranges":[[s,e],...]} plus "csrf" on the cookie path. */
void h_api_heartbeat(req *r)
{
	if (r->content_length > LEARN_BODY_MAX || r->body_len > LEARN_BODY_MAX) { learn_fail(r, 413, "body_too_large"); return; }
	char err[200];
	json_object *j = r->body_len ? json_parse_limited(r->body, r->body_len, err, sizeof err) : NULL;
	if (!j || !json_object_is_type(j, json_type_object)) {
		if (j) json_object_put(j);
		learn_fail(r, 400, "malformed");
		return;
	}
	if (!r->user->via_bearer) {
		const char *given = req_header(r, "X-CSRF-Token");
		if (!given) given = learn_str(j, "csrf");
		if (!given || !r->user->jti || !csrf_check(cfg.secret, r->user->jti, given)) {
			json_object_put(j);
			res_error(r, 403, "csrf", tr(r, "error_csrf"), NULL);
			return;
		}
	}
	struct learn_pb pb;
	int tv = learn_token_parse(cfg.secret, learn_str(j, "session"), (long)time(NULL), session_ttl(), &pb);
	if (tv < 0 || pb.uid != r->user->id) {
		json_object_put(j);
		learn_fail(r, 403, tv == -2 ? "session_expired" : "bad_session");
		return;
	}
	const char *vid = learn_str(j, "video");
	if (!vid || strcmp(vid, pb.vid)) {
		wrong_video(r, vid);
		json_object_put(j);
		return;
	}
	long pos;
	if (learn_seconds_ms(learn_field(j, "position"), pb.dur_ms, &pos) < 0) { json_object_put(j); learn_fail(r, 422, "position"); return; }
	json_object *rv = learn_field(j, "rate");
	double rate = rv && (json_object_is_type(rv, json_type_double) || json_object_is_type(rv, json_type_int))
		? json_object_get_double(rv) : NAN;
	if (!isfinite(rate) || rate < 0.0625 || rate > 16) { json_object_put(j); learn_fail(r, 422, "rate"); return; }
	struct learn_range rg[LEARN_MAX_RANGES];
	int n;
	const char *code = NULL;
	if (learn_ranges_parse(learn_field(j, "ranges"), pb.dur_ms, rg, &n, &code) < 0) {
		json_object_put(j);
		learn_fail(r, 422, code);
		return;
	}
	json_object_put(j);
	char lit[LEARN_MAX_RANGES * 34 + 4];
	if (learn_ranges_format(rg, n, lit, sizeof lit) < 0) { learn_fail(r, 422, "too_many_ranges"); return; }
	/* one field: "sid uid video pos_ms rate ranges jti gen"; the stream entry id is the beat's time. The route
	 * loads no account (RF_TOKEN_AUTH): the flusher drops beats of a token revoked or outdated meanwhile */
	char *entry = arena_printf(r->a, "%s %ld %ld %ld %.4g %s %s %ld", pb.sid, pb.uid, pb.vpk, pos, rate, lit,
				   r->user->jti, r->user->gen);
	/* two plain commands (a script per beat cost Redis more than both), sent by the server in one round trip
	 * with the other beats it has ready: is the session ended since (logout marks its jti revoked in Redis,
	 * answered 401), and the append. A revoked session's beat is appended all the same and dropped by the
	 * flusher, which checks revoked_tokens in PostgreSQL; sent twice (a lost connection), it merges as once */
	const char **exists = arena_alloc(r->a, 2 * sizeof *exists), **xadd = arena_alloc(r->a, 5 * sizeof *xadd);
	exists[0] = "EXISTS";
	exists[1] = arena_printf(r->a, "revoked:%s", r->user->jti);
	xadd[0] = "XADD";
	xadd[1] = LEARN_STREAM;
	xadd[2] = "*";
	xadd[3] = "b";
	xadd[4] = entry;
	req_defer_redis(r, 2, (const int[]){2, 5}, (const char **const[]){exists, xadd}, beat_taken);
}

/* The viewer's own history: every video they watched, how far, newest first. JSON for both the API and page. */
static json_object *history_json(req *r, int limit)
{
	char uid[24], lim[12];
	snprintf(uid, sizeof uid, "%ld", r->user->id);
	snprintf(lim, sizeof lim, "%d", limit);
	PGresult *res = DB_EXEC(
		"SELECT v.public_id AS video, v.title, v.duration::float8 AS duration, p.watched_ms::int8 / 1000.0 AS watched_seconds, "
		"LEAST(100, floor(100.0 * p.watched_ms / NULLIF(v.duration * 1000, 0)))::int AS percent, "
		"p.position_ms::int8 / 1000.0 AS position, p.completed_at IS NOT NULL AS completed, "
		"to_char(p.completed_at AT TIME ZONE $3, 'YYYY-MM-DD HH24:MI') AS completed_at, "
		"to_char(p.last_at AT TIME ZONE $3, 'YYYY-MM-DD HH24:MI') AS last_at "
		"FROM view_progress p JOIN videos v ON v.id = p.video_id WHERE p.user_id = $1::bigint "
		"ORDER BY p.last_at DESC LIMIT $2::int", uid, lim, learn_tz());
	if (!res) { log_error("history: %s", db_error()); return NULL; }
	json_object *a = db_rows_json(res);
	PQclear(res);
	return a;
}

/* GET /api/v1/me/history */
void h_api_my_history(req *r)
{
	json_object *a = history_json(r, 500);
	if (!a) { res_error(r, 500, "db", tr(r, "video_db_error"), NULL); return; }
	json_object *o = json_object_new_object();
	json_object_object_add(o, "history", a);
	res_json(r, 200, o);
}

/* GET /my/history */
void h_my_history(req *r)
{
	json_object *a = history_json(r, 500);
	if (!a) { res_error(r, 500, "db", tr(r, "video_db_error"), NULL); return; }
	json_object *ctx = json_object_new_object();
	json_object_object_add(ctx, "history", a);
	json_object_object_add(ctx, "empty", json_object_new_boolean(json_object_array_length(a) == 0));
	learn_page(r, 200, "history", ctx, "learn_history_title", NULL);
	json_object_put(ctx);
}
