/* Notification pages and APIs: the list (mark read / all read), preferences per kind and channel, subscriptions
 * to creators and categories, the signed unsubscribe link, and the admin's webhooks (delivery log) and mail
 * outbox. Fan-out and delivery live in notify.c, mail.c and webhook.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "audit.h"
#include "config.h"
#include "db.h"
#include "log.h"
#include "mail.h"
#include "notify.h"
#include "oidc.h"
#include "router.h"
#include "timefmt.h"
#include "webhook.h"
#include "auth.h"

#define NOTIFY_PAGE 30

static const char *uid(req *r) { return arena_printf(r->a, "%ld", r->user ? r->user->id : 0L); }
static int nrole_rank(const char *role)
{
	return !strcmp(role, "admin") ? 3 : !strcmp(role, "creator") ? 2 : 1;
}
static int kind_for(req *r, const struct notify_kind *k) { return nrole_rank(r->user->role) >= nrole_rank(k->min_role); }

static void fail(req *r, int status, const char *code)
{
	res_error(r, status, code, tr(r, arena_printf(r->a, "notify_err_%s", code)), NULL);
}

static void page(req *r, const char *name, json_object *ctx, const char *title_key)
{
	/* notify.css is linked by the layout on every page (the bell) */
	json_object_object_add(ctx, "title", json_object_new_string(tr(r, title_key)));
	res_html(r, 200, arena_printf(r->a, "notify/%s", name), ctx);
}

/* rows → items with text (in the reader's language), href, read flag */
static json_object *items_of(req *r, PGresult *res)
{
	json_object *arr = json_object_new_array();
	for (int i = 0; i < PQntuples(res); i++) {
		json_object *o = json_object_new_object(), *pl = json_tokener_parse(PQgetvalue(res, i, 2)), *h;
		char *text = notify_text(r->lang, PQgetvalue(res, i, 1), pl);
		json_object_object_add(o, "id", json_object_new_int64(strtoll(PQgetvalue(res, i, 0), NULL, 10)));
		json_object_object_add(o, "kind", json_object_new_string(PQgetvalue(res, i, 1)));
		json_object_object_add(o, "kind_label", json_object_new_string(tr(r, arena_printf(r->a, "notify_kind_%s", PQgetvalue(res, i, 1)))));
		json_object_object_add(o, "text", json_object_new_string(text));
		/* only site-relative links: a payload never sends anyone elsewhere */
		if (pl && json_object_object_get_ex(pl, "href", &h) && json_object_is_type(h, json_type_string) &&
		    json_object_get_string(h)[0] == '/' && json_object_get_string(h)[1] != '/')
			json_object_object_add(o, "href", json_object_new_string(json_object_get_string(h)));
		if (pl && json_object_object_get_ex(pl, "detail", &h) && json_object_is_type(h, json_type_string))
			json_object_object_add(o, "detail", json_object_new_string(json_object_get_string(h)));
		json_object_object_add(o, "created_at", json_object_new_string(PQgetvalue(res, i, 3)));
		json_object_object_add(o, "read", json_object_new_boolean(!PQgetisnull(res, i, 4)));
		free(text);
		json_object_put(pl);
		json_object_array_add(arr, o);
	}
	return arr;
}

static PGresult *list_rows(req *r, int unread_only, long before, long limit)
{
	char b[24], l[24];
	snprintf(b, sizeof b, "%ld", before);
	snprintf(l, sizeof l, "%ld", limit);
	return DB_EXEC("SELECT id, kind, payload::text, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), read_at "
		       "FROM notifications WHERE user_id = $1::bigint AND inapp AND ($2::bigint = 0 OR id < $2::bigint) "
		       "AND (NOT $3::boolean OR read_at IS NULL) ORDER BY id DESC LIMIT $4::int",
		       uid(r), b, unread_only ? "true" : "false", l);
}

static long unread(req *r)
{
	PGresult *res = DB_EXEC("SELECT count(*) FROM notifications WHERE user_id = $1::bigint AND inapp AND read_at IS NULL", uid(r));
	long n = res ? strtol(PQgetvalue(res, 0, 0), NULL, 10) : 0;
	PQclear(res);
	return n;
}

void h_api_notifications(req *r)
{
	int bad = 0;
	long limit = req_query_long(r, "limit", NOTIFY_PAGE, 1, 100, &bad);
	long before = req_query_long(r, "before", 0, 0, 9000000000000000000L, &bad);
	const char *u = req_query(r, "unread");
	if (bad || (u && strcmp(u, "0") && strcmp(u, "1") && strcmp(u, "true") && strcmp(u, "false"))) { fail(r, 400, "bad_query"); return; }
	PGresult *res = list_rows(r, u && (!strcmp(u, "1") || !strcmp(u, "true")), before, limit);
	if (!res) { log_error("notifications: %s", db_error()); fail(r, 500, "db"); return; }
	json_object *o = json_object_new_object(), *items = items_of(r, res);
	if (PQntuples(res) == limit)
		json_object_object_add(o, "next_before", json_object_new_int64(strtoll(PQgetvalue(res, PQntuples(res) - 1, 0), NULL, 10)));
	PQclear(res);
	json_object_object_add(o, "items", items);
	json_object_object_add(o, "unread", json_object_new_int64(unread(r)));
	res_json(r, 200, o);
}

/* ids: a JSON array of positive integers (≤ 500), or all: true */
void h_api_notifications_read(req *r)
{
	json_object *ids = NULL, *all = NULL;
	if (!r->json || !json_object_is_type(r->json, json_type_object)) { fail(r, 400, "bad_body"); return; }
	json_object_object_get_ex(r->json, "ids", &ids);
	json_object_object_get_ex(r->json, "all", &all);
	PGresult *res;
	if (all && json_object_is_type(all, json_type_boolean) && json_object_get_boolean(all) && !ids) {
		res = DB_EXEC("WITH u AS (UPDATE notifications SET read_at = now() WHERE user_id = $1::bigint AND read_at IS NULL "
			      "RETURNING 1) SELECT count(*) FROM u", uid(r));
	} else if (ids && json_object_is_type(ids, json_type_array) && !all && json_object_array_length(ids) >= 1 &&
		   json_object_array_length(ids) <= 500) {
		buf b = {0};
		buf_puts(&b, "{");
		for (size_t i = 0; i < json_object_array_length(ids); i++) {
			json_object *e = json_object_array_get_idx(ids, i);
			if (!json_object_is_type(e, json_type_int) || json_object_get_int64(e) <= 0) { buf_free(&b); fail(r, 422, "bad_ids"); return; }
			buf_printf(&b, "%s%lld", i ? "," : "", (long long)json_object_get_int64(e));
		}
		buf_puts(&b, "}");
		res = DB_EXEC("WITH u AS (UPDATE notifications SET read_at = now() WHERE user_id = $1::bigint AND read_at IS NULL "
			      "AND id = ANY ($2::bigint[]) RETURNING 1) SELECT count(*) FROM u", uid(r), b.p);
		buf_free(&b);
	} else { fail(r, 422, "bad_ids"); return; }
	if (!res) { log_error("notifications read: %s", db_error()); fail(r, 500, "db"); return; }
	json_object *o = json_object_new_object();
	json_object_object_add(o, "updated", json_object_new_int64(strtoll(PQgetvalue(res, 0, 0), NULL, 10)));
	PQclear(res);
	json_object_object_add(o, "unread", json_object_new_int64(unread(r)));
	res_json(r, 200, o);
}

void h_notifications_page(req *r)
{
	int bad = 0;
	long before = req_query_long(r, "before", 0, 0, 9000000000000000000L, &bad);
	if (bad) before = 0;
	PGresult *res = list_rows(r, 0, before, NOTIFY_PAGE);
	if (!res) { log_error("notifications: %s", db_error()); fail(r, 500, "db"); return; }
	json_object *ctx = json_object_new_object(), *items = items_of(r, res);
	if (PQntuples(res) == NOTIFY_PAGE)
		json_object_object_add(ctx, "next_before", json_object_new_string(PQgetvalue(res, PQntuples(res) - 1, 0)));
	PQclear(res);
	static const char *const tf[] = {"created_at", NULL};
	time_localize(r, items, TIME_LIST, tf);
	json_object_object_add(ctx, "empty", json_object_new_boolean(json_object_array_length(items) == 0));
	json_object_object_add(ctx, "items", items);
	json_object_object_add(ctx, "older", json_object_new_boolean(before > 0));
	page(r, "list", ctx, "notify_list_title");
	json_object_put(ctx);
}

void h_notification_read(req *r)
{
	long id = req_param_id(r, "id");
	if (id <= 0) { fail(r, 404, "not_found"); return; }
	char ids[24];
	snprintf(ids, sizeof ids, "%ld", id);
	PGresult *res = DB_EXEC("UPDATE notifications SET read_at = COALESCE(read_at, now()) WHERE id = $1::bigint "
				"AND user_id = $2::bigint RETURNING payload->>'href'", ids, uid(r));
	if (!res) { fail(r, 500, "db"); return; }
	int found = PQntuples(res) == 1;
	const char *href = found && !PQgetisnull(res, 0, 0) ? arena_strdup(r->a, PQgetvalue(res, 0, 0)) : NULL;
	PQclear(res);
	if (!found) { fail(r, 404, "not_found"); return; }
	/* "open" follows the link after marking read; a plain "mark read" returns to the list */
	const char *open = req_form(r, "open");
	if (open && href && href[0] == '/' && href[1] != '/') res_redirect(r, href);
	else res_redirect(r, "/notifications");
}

void h_notifications_read_all(req *r)
{
	/* the form says so explicitly: a post without it (another content type, a stray request) changes nothing */
	const char *all = req_form(r, "all");
	if (!all || strcmp(all, "1")) { fail(r, 422, "bad_ids"); return; }
	DB_CMD("UPDATE notifications SET read_at = now() WHERE user_id = $1::bigint AND read_at IS NULL", uid(r));
	res_redirect(r, "/notifications");
}

/* ---- preferences ---- */

static json_object *prefs_json(req *r, const char **digest)
{
	PGresult *res = DB_EXEC("SELECT kind, channel, enabled FROM notify_prefs WHERE user_id = $1::bigint", uid(r));
	PGresult *st = DB_EXEC("SELECT digest FROM notify_settings WHERE user_id = $1::bigint", uid(r));
	*digest = st && PQntuples(st) ? arena_strdup(r->a, PQgetvalue(st, 0, 0)) : "off";
	PQclear(st);
	json_object *arr = json_object_new_array();
	for (int i = 0; i < nnotify_kinds; i++) {
		const struct notify_kind *k = &notify_kinds[i];
		if (!kind_for(r, k)) continue;
		int inapp = k->inapp, email = k->email;
		for (int j = 0; res && j < PQntuples(res); j++) {
			if (strcmp(PQgetvalue(res, j, 0), k->kind)) continue;
			int on = PQgetvalue(res, j, 2)[0] == 't';
			if (!strcmp(PQgetvalue(res, j, 1), "inapp")) inapp = on; else email = on;
		}
		json_object *o = json_object_new_object();
		json_object_object_add(o, "kind", json_object_new_string(k->kind));
		json_object_object_add(o, "label", json_object_new_string(tr(r, arena_printf(r->a, "notify_kind_%s", k->kind))));
		json_object_object_add(o, "inapp", json_object_new_boolean(inapp));
		json_object_object_add(o, "email", json_object_new_boolean(email));
		json_object_array_add(arr, o);
	}
	PQclear(res);
	return arr;
}

static int save_pref(req *r, const char *kind, const char *channel, int on)
{
	return DB_CMD("INSERT INTO notify_prefs (user_id, kind, channel, enabled) VALUES ($1::bigint, $2, $3, $4::boolean) "
		      "ON CONFLICT (user_id, kind, channel) DO UPDATE SET enabled = EXCLUDED.enabled",
		      uid(r), kind, channel, on ? "true" : "false");
}

static int save_digest(req *r, const char *digest)
{
	return DB_CMD("INSERT INTO notify_settings (user_id, digest) VALUES ($1::bigint, $2) "
		      "ON CONFLICT (user_id) DO UPDATE SET digest = EXCLUDED.digest", uid(r), digest);
}

static json_object *subscriptions_json(req *r)
{
	PGresult *res = DB_EXEC("SELECT s.target_kind, s.target_id, "
				"CASE WHEN s.target_kind = 'creator' THEN (SELECT COALESCE(NULLIF(name, ''), '#' || id) FROM users WHERE id = s.target_id) "
				"ELSE (SELECT CASE WHEN $2 = 'en' THEN name_en ELSE name_ja END FROM categories WHERE id = s.target_id) END, "
				"CASE WHEN s.target_kind = 'creator' THEN '/videos?owner=' || s.target_id "
				"ELSE '/videos?category=' || (SELECT slug FROM categories WHERE id = s.target_id) END "
				"FROM notify_subscriptions s WHERE s.user_id = $1::bigint ORDER BY s.created_at DESC", uid(r), r->lang);
	json_object *arr = json_object_new_array();
	for (int i = 0; res && i < PQntuples(res); i++) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "kind", json_object_new_string(PQgetvalue(res, i, 0)));
		json_object_object_add(o, "kind_label", json_object_new_string(tr(r, arena_printf(r->a, "notify_target_%s", PQgetvalue(res, i, 0)))));
		json_object_object_add(o, "id", json_object_new_int64(strtoll(PQgetvalue(res, i, 1), NULL, 10)));
		json_object_object_add(o, "name", json_object_new_string(PQgetvalue(res, i, 2)));
		json_object_object_add(o, "href", json_object_new_string(PQgetvalue(res, i, 3)));
		json_object_array_add(arr, o);
	}
	PQclear(res);
	return arr;
}

void h_notify_settings_page(req *r)
{
	const char *digest;
	json_object *ctx = json_object_new_object();
	json_object_object_add(ctx, "prefs", prefs_json(r, &digest));
	json_object_object_add(ctx, "digest_daily", json_object_new_boolean(!strcmp(digest, "daily")));
	json_object *subs = subscriptions_json(r);
	json_object_object_add(ctx, "no_subscriptions", json_object_new_boolean(json_object_array_length(subs) == 0));
	json_object_object_add(ctx, "subscriptions", subs);
	json_object_object_add(ctx, "has_email", json_object_new_boolean(r->user->email && *r->user->email));
	json_object_object_add(ctx, "saved", json_object_new_boolean(req_query(r, "saved") != NULL));
	page(r, "settings", ctx, "notify_settings_title");
	json_object_put(ctx);
}

void h_notify_settings_post(req *r)
{
	/* the form always sends a digest choice; without it (not our form) absent checkboxes must not mean "off" */
	const char *digest = req_form(r, "digest");
	if (!digest || (strcmp(digest, "off") && strcmp(digest, "daily"))) { fail(r, 422, "bad_digest"); return; }
	if (db_begin() < 0) { fail(r, 500, "db"); return; }
	int rc = 0;
	for (int i = 0; i < nnotify_kinds && rc == 0; i++) {
		if (!kind_for(r, &notify_kinds[i])) continue;
		/* a checkbox that is absent is off */
		const char *k = notify_kinds[i].kind;
		rc |= save_pref(r, k, "inapp", req_form(r, arena_printf(r->a, "inapp_%s", k)) != NULL);
		rc |= save_pref(r, k, "email", req_form(r, arena_printf(r->a, "email_%s", k)) != NULL);
	}
	if (rc == 0) rc = save_digest(r, digest);
	if (rc != 0 || db_commit() < 0) { db_rollback(); fail(r, 500, "db"); return; }
	res_redirect(r, "/notifications/settings?saved=1");
}

void h_api_notify_prefs(req *r)
{
	const char *digest;
	json_object *o = json_object_new_object();
	json_object_object_add(o, "prefs", prefs_json(r, &digest));
	json_object_object_add(o, "digest", json_object_new_string(digest));
	res_json(r, 200, o);
}

/* {"prefs":[{"kind","channel","enabled"}], "digest":"off|daily"}: all checked before anything is saved */
void h_api_notify_prefs_put(req *r)
{
	json_object *prefs = NULL, *dg = NULL;
	if (!r->json || !json_object_is_type(r->json, json_type_object)) { fail(r, 400, "bad_body"); return; }
	json_object_object_get_ex(r->json, "prefs", &prefs);
	json_object_object_get_ex(r->json, "digest", &dg);
	const char *digest = dg && json_object_is_type(dg, json_type_string) ? json_object_get_string(dg) : NULL;
	if ((dg && !digest) || (digest && strcmp(digest, "off") && strcmp(digest, "daily"))) { fail(r, 422, "bad_digest"); return; }
	if (prefs && (!json_object_is_type(prefs, json_type_array) || json_object_array_length(prefs) > 64)) { fail(r, 422, "bad_prefs"); return; }
	size_t n = prefs ? json_object_array_length(prefs) : 0;
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(prefs, i), *k, *c, *en;
		if (!json_object_is_type(e, json_type_object) || !json_object_object_get_ex(e, "kind", &k) ||
		    !json_object_object_get_ex(e, "channel", &c) || !json_object_object_get_ex(e, "enabled", &en) ||
		    !json_object_is_type(en, json_type_boolean) || !json_object_is_type(c, json_type_string) ||
		    (strcmp(json_object_get_string(c), "inapp") && strcmp(json_object_get_string(c), "email"))) { fail(r, 422, "bad_prefs"); return; }
		const struct notify_kind *kd = notify_kind_find(json_object_get_string(k));
		if (!kd || !kind_for(r, kd)) { fail(r, 422, "bad_kind"); return; }
	}
	if (db_begin() < 0) { fail(r, 500, "db"); return; }
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		json_object *e = json_object_array_get_idx(prefs, i), *k, *c, *en;
		json_object_object_get_ex(e, "kind", &k);
		json_object_object_get_ex(e, "channel", &c);
		json_object_object_get_ex(e, "enabled", &en);
		rc = save_pref(r, json_object_get_string(k), json_object_get_string(c), json_object_get_boolean(en));
	}
	if (rc == 0 && digest) rc = save_digest(r, digest);
	if (rc != 0 || db_commit() < 0) { db_rollback(); fail(r, 500, "db"); return; }
	h_api_notify_prefs(r);
}

/* ---- subscriptions ---- */

/* target must exist: a creator (admin or creator account) or a category. 0 ok, -1 with the error sent. */
static int subscribe(req *r, const char *kind, long id, int on)
{
	if (!kind || (strcmp(kind, "creator") && strcmp(kind, "category"))) { fail(r, 422, "bad_target"); return -1; }
	if (id <= 0) { fail(r, 422, "bad_target"); return -1; }
	char ids[24];
	snprintf(ids, sizeof ids, "%ld", id);
	if (!on) return DB_CMD("DELETE FROM notify_subscriptions WHERE user_id = $1::bigint AND target_kind = $2 AND target_id = $3::bigint",
			       uid(r), kind, ids) < 0 ? (fail(r, 500, "db"), -1) : 0;
	PGresult *res = DB_EXEC("INSERT INTO notify_subscriptions (user_id, target_kind, target_id) "
				"SELECT $1::bigint, $2, $3::bigint WHERE CASE WHEN $2 = 'creator' "
				"THEN EXISTS (SELECT 1 FROM users WHERE id = $3::bigint AND role IN ('creator', 'admin') AND NOT disabled) "
				"ELSE EXISTS (SELECT 1 FROM categories WHERE id = $3::bigint) END "
				"ON CONFLICT DO NOTHING RETURNING 1", uid(r), kind, ids);
	if (!res) { fail(r, 500, "db"); return -1; }
	PQclear(res);
	res = DB_EXEC("SELECT 1 FROM notify_subscriptions WHERE user_id = $1::bigint AND target_kind = $2 AND target_id = $3::bigint",
		      uid(r), kind, ids);
	int ok = res && PQntuples(res) == 1;
	PQclear(res);
	if (!ok) { fail(r, 404, "target_not_found"); return -1; }
	return 0;
}

void h_api_subscriptions(req *r)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "items", subscriptions_json(r));
	res_json(r, 200, o);
}

void h_api_subscription_create(req *r)
{
	json_object *k = NULL, *id = NULL;
	if (!r->json || !json_object_is_type(r->json, json_type_object)) { fail(r, 400, "bad_body"); return; }
	json_object_object_get_ex(r->json, "kind", &k);
	json_object_object_get_ex(r->json, "id", &id);
	if (!k || !json_object_is_type(k, json_type_string) || !id || !json_object_is_type(id, json_type_int)) { fail(r, 422, "bad_target"); return; }
	if (subscribe(r, json_object_get_string(k), (long)json_object_get_int64(id), 1) < 0) return;
	h_api_subscriptions(r);
	r->status = 201;
}

void h_api_subscription_delete(req *r)
{
	if (subscribe(r, req_param(r, "kind"), req_param_id(r, "id"), 0) < 0) return;
	r->status = 204;
	res_body_reset(r);
}

/* the subscribe / unsubscribe buttons on a creator's or a category's page post here */
void h_subscription_form(req *r)
{
	const char *kind = req_form(r, "kind"), *on = req_form(r, "on"), *next = req_form(r, "next");
	if (subscribe(r, kind, parse_id(req_form(r, "id") ? req_form(r, "id") : ""), on && !strcmp(on, "1")) < 0) return;
	res_redirect(r, next && next[0] == '/' && next[1] != '/' && !strpbrk(next, "\r\n\\") ? next : "/notifications/settings");
}

/* For a page of videos by one creator or in one category: adds "notify_sub" {kind,id,name,on,next} to ctx. */
void notify_subscribe_ctx(req *r, json_object *ctx, const char *kind, const char *key)
{
	if (!r->user || !key || !*key) return;
	PGresult *res = !strcmp(kind, "creator")
		? DB_EXEC("SELECT u.id, COALESCE(NULLIF(u.name, ''), '#' || u.id), EXISTS (SELECT 1 FROM notify_subscriptions s "
			  "WHERE s.user_id = $2::bigint AND s.target_kind = 'creator' AND s.target_id = u.id) FROM users u "
			  "WHERE u.id = CASE WHEN $1 ~ '^[0-9]{1,18}$' THEN $1::bigint END AND u.role IN ('creator', 'admin') "
			  "AND u.id <> $2::bigint", key, uid(r))
		: DB_EXEC("SELECT c.id, CASE WHEN $3 = 'en' THEN c.name_en ELSE c.name_ja END, EXISTS (SELECT 1 FROM notify_subscriptions s "
			  "WHERE s.user_id = $2::bigint AND s.target_kind = 'category' AND s.target_id = c.id) FROM categories c "
			  "WHERE c.slug = $1", key, uid(r), r->lang);
	if (res && PQntuples(res) == 1) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "kind", json_object_new_string(kind));
		json_object_object_add(o, "id", json_object_new_string(PQgetvalue(res, 0, 0)));
		json_object_object_add(o, "name", json_object_new_string(PQgetvalue(res, 0, 1)));
		json_object_object_add(o, "on", json_object_new_boolean(PQgetvalue(res, 0, 2)[0] == 't'));
		json_object_object_add(o, "next", json_object_new_string(arena_printf(r->a, "%s%s%s", r->path,
					r->query_string && *r->query_string ? "?" : "", r->query_string ? r->query_string : "")));
		json_object_object_add(ctx, "notify_sub", o);
	}
	PQclear(res);
}

/* ---- unsubscribe from e-mail without signing in (the link in every mail) ---- */

static int unsub_params(req *r, long *u, const char **k, const char **t)
{
	const char *us = req_query(r, "u");
	*k = req_query(r, "k");
	*t = req_query(r, "t");
	if (!us) us = req_form(r, "u");
	if (!*k) *k = req_form(r, "k");
	if (!*t) *t = req_form(r, "t");
	*u = parse_id(us ? us : "");
	if (!*k || (strcmp(*k, "all") && !notify_kind_find(*k))) return -1;
	return notify_unsub_check(cfg.secret, *u, *k, *t) ? 0 : -1;
}

void h_unsubscribe_page(req *r)
{
	long u;
	const char *k, *t;
	if (unsub_params(r, &u, &k, &t) < 0) { fail(r, 400, "bad_unsub_link"); return; }
	json_object *ctx = json_object_new_object();
	json_object_object_add(ctx, "u", json_object_new_int64(u));
	json_object_object_add(ctx, "k", json_object_new_string(k));
	json_object_object_add(ctx, "tok", json_object_new_string(t));
	json_object_object_add(ctx, "kind_label", json_object_new_string(!strcmp(k, "all") ? tr(r, "notify_all_kinds")
									     : tr(r, arena_printf(r->a, "notify_kind_%s", k))));
	page(r, "unsubscribe", ctx, "notify_unsub_title");
	json_object_put(ctx);
}

/* POST: the page's button, or a mail client's one-click (RFC 8058) */
void h_unsubscribe_post(req *r)
{
	long u;
	const char *k, *t;
	if (unsub_params(r, &u, &k, &t) < 0) { fail(r, 400, "bad_unsub_link"); return; }
	char us[24];
	snprintf(us, sizeof us, "%ld", u);
	int rc = 0;
	for (int i = 0; i < nnotify_kinds && rc == 0; i++)
		if (!strcmp(k, "all") || !strcmp(k, notify_kinds[i].kind))
			rc = DB_CMD("INSERT INTO notify_prefs (user_id, kind, channel, enabled) SELECT $1::bigint, $2, 'email', false "
				    "WHERE EXISTS (SELECT 1 FROM users WHERE id = $1::bigint) "
				    "ON CONFLICT (user_id, kind, channel) DO UPDATE SET enabled = false", us, notify_kinds[i].kind);
	if (rc < 0) { fail(r, 500, "db"); return; }
	audit_record(r, arena_printf(r->a, "user:%ld", u), "notify.unsubscribe", arena_printf(r->a, "user:%ld", u), NULL, 200, 1);
	if (req_wants_json(r)) { json_object *o = json_object_new_object(); json_object_object_add(o, "unsubscribed", json_object_new_string(k)); res_json(r, 200, o); return; }
	json_object *ctx = json_object_new_object();
	json_object_object_add(ctx, "done", json_object_new_boolean(1));
	page(r, "unsubscribe", ctx, "notify_unsub_title");
	json_object_put(ctx);
}

/* ---- admin: webhooks ---- */

static const char *const kinds_all[] = {"video_new", "assignment_new", "assignment_due", "transcode_done", "transcode_failed",
					"roster_done", "roster_failed"};

/* name, url, kinds (JSON array or the form's kind_<k> checkboxes). Returns the new id (and the secret), or -1 sent. */
static long webhook_create(req *r, const char *name, const char *url, json_object *kinds, char secret[65])
{
	if (!name || !*name || strlen(name) > 100) { fail(r, 422, "bad_name"); return -1; }
	const char *why;
	char resolve[400], err[300];
	if (!url || webhook_url_check(url, resolve, sizeof resolve, &why, err, sizeof err) < 0) {
		json_object *d = json_object_new_object();
		if (url && err[0]) json_object_object_add(d, "address", json_object_new_string(err));
		res_error(r, 422, why ? why + strlen("notify_err_") : "url_invalid", tr(r, why ? why : "notify_err_url_invalid"), d);
		return -1;
	}
	size_t n = json_object_array_length(kinds);
	if (n == 0) { fail(r, 422, "bad_kinds"); return -1; }
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(kinds, i);
		if (!json_object_is_type(e, json_type_string) || !notify_kind_find(json_object_get_string(e))) { fail(r, 422, "bad_kinds"); return -1; }
	}
	random_hex(secret, 32);
	char *sealed = oidc_secret_seal(cfg.secret, secret);
	PGresult *res = DB_EXEC("INSERT INTO webhooks (name, url, secret_sealed, kinds, created_by) "
				"SELECT $1, $2, $3, array_agg(k), $5::bigint FROM jsonb_array_elements_text($4::jsonb) k RETURNING id",
				name, url, sealed, json_object_to_json_string_ext(kinds, JSON_C_TO_STRING_PLAIN), uid(r));
	free(sealed);
	if (!res) { log_error("webhook create: %s", db_error()); fail(r, 500, "db"); return -1; }
	long id = strtol(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	audit_record(r, NULL, "webhook.create", arena_printf(r->a, "webhook:%ld", id), NULL, 201, 1);
	return id;
}

static json_object *webhooks_json(req *r)
{
	PGresult *res = DB_EXEC0("SELECT w.id, w.name, w.url, array_to_json(w.kinds)::text AS kinds_json, w.enabled, w.failures, "
				 "w.disabled_reason, to_char(w.disabled_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS disabled_at, "
				 "(SELECT count(*) FROM webhook_deliveries d WHERE d.webhook_id = w.id AND d.state = 'sent')::int AS sent, "
				 "(SELECT count(*) FROM webhook_deliveries d WHERE d.webhook_id = w.id AND d.state = 'queued')::int AS queued, "
				 "(SELECT count(*) FROM webhook_deliveries d WHERE d.webhook_id = w.id AND d.state = 'failed')::int AS failed "
				 "FROM webhooks w ORDER BY w.id");
	json_object *arr = res ? db_rows_json(res) : json_object_new_array();
	PQclear(res);
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *w = json_object_array_get_idx(arr, i), *ks, *labels = json_object_new_array();
		if (json_object_object_get_ex(w, "kinds", &ks))
			for (size_t j = 0; j < json_object_array_length(ks); j++)
				json_object_array_add(labels, json_object_new_string(tr(r, arena_printf(r->a, "notify_kind_%s",
							json_object_get_string(json_object_array_get_idx(ks, j))))));
		json_object_object_add(w, "kind_labels", labels);
	}
	return arr;
}

void h_api_webhooks(req *r)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "items", webhooks_json(r));
	res_json(r, 200, o);
}

void h_api_webhook_create(req *r)
{
	json_object *n = NULL, *u = NULL, *k = NULL;
	if (!r->json || !json_object_is_type(r->json, json_type_object)) { fail(r, 400, "bad_body"); return; }
	json_object_object_get_ex(r->json, "name", &n);
	json_object_object_get_ex(r->json, "url", &u);
	json_object_object_get_ex(r->json, "kinds", &k);
	if (!k || !json_object_is_type(k, json_type_array)) { fail(r, 422, "bad_kinds"); return; }
	char secret[65];
	long id = webhook_create(r, n && json_object_is_type(n, json_type_string) ? json_object_get_string(n) : NULL,
				 u && json_object_is_type(u, json_type_string) ? json_object_get_string(u) : NULL, k, secret);
	if (id < 0) return;
	json_object *o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_int64(id));
	json_object_object_add(o, "secret", json_object_new_string(secret));   /* shown once */
	res_json(r, 201, o);
}

static json_object *deliveries_json(long hook, int limit)
{
	char hs[24], ls[24];
	snprintf(hs, sizeof hs, "%ld", hook);
	snprintf(ls, sizeof ls, "%d", limit);
	PGresult *res = DB_EXEC("SELECT d.id, d.webhook_id, d.kind, d.event_key, d.state, d.attempts, d.status_code, d.last_error, "
				"to_char(d.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS created_at, "
				"to_char(d.next_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS next_at, "
				"(SELECT COALESCE(json_agg(json_build_object('status_code', a.status_code, 'error', a.error, "
				"  'at', to_char(a.at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')) ORDER BY a.id), '[]') "
				"  FROM webhook_attempts a WHERE a.delivery_id = d.id)::text AS attempts_json "
				"FROM webhook_deliveries d WHERE ($1::bigint = 0 OR d.webhook_id = $1::bigint) ORDER BY d.id DESC LIMIT $2::int",
				hs, ls);
	json_object *arr = res ? db_rows_json(res) : json_object_new_array();
	PQclear(res);
	return arr;
}

void h_api_webhook_deliveries(req *r)
{
	long id = req_param_id(r, "id");
	if (id <= 0) { fail(r, 404, "not_found"); return; }
	json_object *o = json_object_new_object();
	json_object_object_add(o, "items", deliveries_json(id, 100));
	res_json(r, 200, o);
}

static int webhook_set(req *r, long id, const char *action)
{
	char ids[24];
	snprintf(ids, sizeof ids, "%ld", id);
	PGresult *res;
	if (!strcmp(action, "delete")) res = DB_EXEC("DELETE FROM webhooks WHERE id = $1::bigint RETURNING 1", ids);
	else res = DB_EXEC("UPDATE webhooks SET enabled = $2::boolean, failures = 0, "
			   "disabled_reason = CASE WHEN $2::boolean THEN NULL ELSE disabled_reason END, "
			   "disabled_at = CASE WHEN $2::boolean THEN NULL ELSE now() END WHERE id = $1::bigint RETURNING 1",
			   ids, !strcmp(action, "enable") ? "true" : "false");
	int found = res && PQntuples(res) == 1;
	PQclear(res);
	if (!found) { fail(r, 404, "not_found"); return -1; }
	audit_record(r, NULL, arena_printf(r->a, "webhook.%s", action), arena_printf(r->a, "webhook:%ld", id), NULL, 200, 1);
	if (!strcmp(action, "enable")) notify_kick("notify_webhook");
	return 0;
}

void h_api_webhook_action(req *r)
{
	const char *a = req_param(r, "action");
	if (!a || (strcmp(a, "enable") && strcmp(a, "disable") && strcmp(a, "delete"))) { fail(r, 404, "not_found"); return; }
	if (webhook_set(r, req_param_id(r, "id"), a) < 0) return;
	json_object *o = json_object_new_object();
	json_object_object_add(o, "ok", json_object_new_boolean(1));
	res_json(r, 200, o);
}

static void webhooks_page(req *r, const char *secret)
{
	json_object *ctx = json_object_new_object(), *hooks = webhooks_json(r), *kinds = json_object_new_array();
	static const char *const tf[] = {"disabled_at", "created_at", "next_at", NULL};
	time_localize(r, hooks, TIME_LIST, tf);
	for (size_t i = 0; i < sizeof kinds_all / sizeof kinds_all[0]; i++) {
		json_object *k = json_object_new_object();
		json_object_object_add(k, "kind", json_object_new_string(kinds_all[i]));
		json_object_object_add(k, "label", json_object_new_string(tr(r, arena_printf(r->a, "notify_kind_%s", kinds_all[i]))));
		json_object_array_add(kinds, k);
	}
	json_object *dl = deliveries_json(0, 50);
	for (size_t i = 0; i < json_object_array_length(dl); i++) {
		json_object *d = json_object_array_get_idx(dl, i), *v;
		if (json_object_object_get_ex(d, "kind", &v))
			json_object_object_add(d, "kind_label", json_object_new_string(tr(r, arena_printf(r->a, "notify_kind_%s", json_object_get_string(v)))));
		if (json_object_object_get_ex(d, "state", &v))
			json_object_object_add(d, "state_label", json_object_new_string(tr(r, arena_printf(r->a, "notify_state_%s", json_object_get_string(v)))));
	}
	time_localize(r, dl, TIME_LIST, tf);
	/* the mail outbox: failed messages (never dropped silently) and how many wait */
	PGresult *res = DB_EXEC0("SELECT o.id, u.email, o.attempts, o.last_error, "
				 "to_char(o.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS created_at "
				 "FROM mail_outbox o JOIN users u ON u.id = o.user_id WHERE o.state = 'failed' ORDER BY o.id DESC LIMIT 50");
	json_object *failed = res ? db_rows_json(res) : json_object_new_array();
	PQclear(res);
	time_localize(r, failed, TIME_LIST, tf);
	res = DB_EXEC0("SELECT count(*) FILTER (WHERE state = 'queued'), count(*) FILTER (WHERE state = 'sent'), "
		       "count(*) FILTER (WHERE state = 'failed'), count(*) FILTER (WHERE state = 'digest') FROM mail_outbox");
	if (res) {
		json_object_object_add(ctx, "mail_queued", json_object_new_string(PQgetvalue(res, 0, 0)));
		json_object_object_add(ctx, "mail_sent", json_object_new_string(PQgetvalue(res, 0, 1)));
		json_object_object_add(ctx, "mail_failed", json_object_new_string(PQgetvalue(res, 0, 2)));
		json_object_object_add(ctx, "mail_digest", json_object_new_string(PQgetvalue(res, 0, 3)));
	}
	PQclear(res);
	json_object_object_add(ctx, "mail_configured", json_object_new_boolean(mail_configured()));
	json_object_object_add(ctx, "webhooks", hooks);
	json_object_object_add(ctx, "no_webhooks", json_object_new_boolean(json_object_array_length(hooks) == 0));
	json_object_object_add(ctx, "kinds", kinds);
	json_object_object_add(ctx, "deliveries", dl);
	json_object_object_add(ctx, "mail_failures", failed);
	if (secret) json_object_object_add(ctx, "new_secret", json_object_new_string(secret));
	page(r, "webhooks", ctx, "notify_webhooks_title");
	json_object_put(ctx);
}

void h_webhooks_page(req *r) { webhooks_page(r, NULL); }

void h_webhook_create_form(req *r)
{
	json_object *kinds = json_object_new_array();
	for (size_t i = 0; i < sizeof kinds_all / sizeof kinds_all[0]; i++)
		if (req_form(r, arena_printf(r->a, "kind_%s", kinds_all[i]))) json_object_array_add(kinds, json_object_new_string(kinds_all[i]));
	char secret[65];
	long id = webhook_create(r, req_form(r, "name"), req_form(r, "url"), kinds, secret);
	json_object_put(kinds);
	if (id < 0) return;
	/* the secret is shown once, in this answer (no-store), never in a URL that logs would keep */
	webhooks_page(r, secret);
}

void h_webhook_action_form(req *r)
{
	const char *a = req_param(r, "action");
	if (!a || (strcmp(a, "enable") && strcmp(a, "disable") && strcmp(a, "delete"))) { fail(r, 404, "not_found"); return; }
	if (webhook_set(r, req_param_id(r, "id"), a) < 0) return;
	res_redirect(r, "/admin/webhooks");
}

/* a failed e-mail goes back to the queue with its attempts reset */
void h_mail_retry(req *r)
{
	long id = req_param_id(r, "id");
	char ids[24];
	snprintf(ids, sizeof ids, "%ld", id);
	PGresult *res = DB_EXEC("UPDATE mail_outbox SET state = 'queued', attempts = 0, next_at = now() WHERE id = $1::bigint "
				"AND state = 'failed' RETURNING 1", ids);
	int found = res && PQntuples(res) == 1;
	PQclear(res);
	if (!found) { fail(r, 404, "not_found"); return; }
	audit_record(r, NULL, "mail.retry", arena_printf(r->a, "mail:%ld", id), NULL, 200, 1);
	notify_kick("notify_mail");
	if (req_wants_json(r)) { json_object *o = json_object_new_object(); json_object_object_add(o, "ok", json_object_new_boolean(1)); res_json(r, 200, o); }
	else res_redirect(r, "/admin/webhooks#mail");
}
