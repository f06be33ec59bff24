/* Notifications: event kinds, the set-based fan-out job, the due-soon scan, digests and the worker tick.
 * Every fan-out is one INSERT … SELECT whose unique key (event, user) makes a re-run after a crash a no-op. */
#include "notify.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <openssl/hmac.h>
#include <openssl/evp.h>
#include "auth.h"
#include "config.h"
#include "db.h"
#include "i18n.h"
#include "jobs.h"
#include "log.h"
#include "mail.h"

const struct notify_kind notify_kinds[] = {
	{"video_new", 1, 0, "viewer"},
	{"assignment_new", 1, 1, "viewer"},
	{"assignment_due", 1, 1, "viewer"},
	{"transcode_done", 1, 0, "creator"},
	{"transcode_failed", 1, 1, "creator"},
	{"roster_done", 1, 0, "admin"},
	{"roster_failed", 1, 1, "admin"},
	{"quality_failed", 1, 1, "admin"},
	{"dataset_tampered", 1, 1, "admin"},
};
const int nnotify_kinds = sizeof notify_kinds / sizeof notify_kinds[0];

const struct notify_kind *notify_kind_find(const char *kind)
{
	for (int i = 0; kind && i < nnotify_kinds; i++)
		if (!strcmp(notify_kinds[i].kind, kind)) return &notify_kinds[i];
	return NULL;
}

const char *notify_conf(const char *key, const char *env, const char *def)
{
	const char *v = env ? getenv(env) : NULL;
	if (v && *v) return v;
	return config_get(key, def);
}

long notify_conf_int(const char *key, const char *env, long def)
{
	const char *v = notify_conf(key, env, NULL);
	if (!v || !*v) return def;
	char *end;
	long n = strtol(v, &end, 10);
	return *end ? def : n;
}

long notify_emit(const char *kind, const char *event, const char *audience, long audience_id, json_object *data)
{
	json_object *p = json_object_new_object();
	json_object_object_add(p, "kind", json_object_new_string(kind));
	json_object_object_add(p, "event", json_object_new_string(event));
	json_object_object_add(p, "audience", json_object_new_string(audience));
	json_object_object_add(p, "audience_id", json_object_new_int64(audience_id));
	json_object_object_add(p, "data", data ? json_object_get(data) : json_object_new_object());
	long id = job_enqueue("notify_fanout", p, 0);
	json_object_put(p);
	if (id < 0) log_error("notify: could not enqueue the fan-out of %s", event);
	return id;
}

void notify_assignment_created(long assignment_id)
{
	char ids[24];
	snprintf(ids, sizeof ids, "%ld", assignment_id);
	PGresult *r = DB_EXEC("SELECT COALESCE(co.title, v.title), a.course_id, v.public_id FROM assignments a "
			      "LEFT JOIN courses co ON co.id = a.course_id LEFT JOIN videos v ON v.id = a.video_id "
			      "WHERE a.id = $1::bigint", ids);
	if (!r || !PQntuples(r)) { PQclear(r); return; }
	json_object *d = json_object_new_object();
	json_object_object_add(d, "title", json_object_new_string(PQgetvalue(r, 0, 0)));
	char href[64];
	if (!PQgetisnull(r, 0, 1)) snprintf(href, sizeof href, "/courses/%s", PQgetvalue(r, 0, 1));
	else snprintf(href, sizeof href, "/watch/%s", PQgetvalue(r, 0, 2));
	json_object_object_add(d, "href", json_object_new_string(href));
	PQclear(r);
	char ev[48];
	snprintf(ev, sizeof ev, "assignment:%ld", assignment_id);
	notify_emit("assignment_new", ev, "assignment", assignment_id, d);
	json_object_put(d);
}

/* The audiences, each a SELECT of user_id over the parameter $6 (the audience id as text). Fixed strings: no
 * request text ever reaches this SQL. */
static const struct { const char *name, *sql; } audiences[] = {
	{"user", "SELECT $6::bigint AS user_id"},
	{"admins", "SELECT id AS user_id FROM users WHERE role = 'admin' AND $6::bigint IS NOT NULL"},
	{"assignment", "SELECT user_id FROM assignment_students WHERE assignment_id = $6::bigint"},
	/* subscribers of the video's creator or one of its categories who may watch it (the visibility rule of
	 * video_access.c, set-based); never the creator themself */
	{"video_subscribers",
	 /* two index range scans (creator, categories), never a scan of every subscription */
	 "SELECT s.user_id FROM videos v CROSS JOIN LATERAL ("
	 "  SELECT user_id FROM notify_subscriptions WHERE target_kind = 'creator' AND target_id = v.owner_id UNION "
	 "  SELECT user_id FROM notify_subscriptions WHERE target_kind = 'category' "
	 "  AND target_id IN (SELECT category_id FROM video_categories WHERE video_id = v.id)) s "
	 "JOIN users su ON su.id = s.user_id "
	 "WHERE v.id = $6::bigint AND v.status = 'ready' AND s.user_id IS DISTINCT FROM v.owner_id AND ("
	 "  su.role = 'admin' OR v.visibility = 'public' "
	 "  OR (v.visibility = 'org' AND v.org_sourced_id IS NOT NULL AND v.org_sourced_id = su.org_sourced_id) "
	 "  OR (v.visibility = 'class' AND EXISTS (SELECT 1 FROM roster_enrollments e WHERE e.user_sourced_id = su.sourced_id "
	 "      AND e.status = 'active' AND e.class_sourced_id = ANY (v.class_sourced_ids))))"},
};

/* One statement: audience rows (user_id, event_key, payload) → notifications (unique per event and user) →
 * mail_outbox for the rows just inserted whose person wants e-mail → webhook_deliveries (one per event and
 * endpoint). $1 kind, $2 in-app default, $3 e-mail default, $4 event key, $5 payload, $6 audience id.
 * Returns the number of notifications inserted, -1 on error. */
static long fanout_exec(const char *aud_rows, const char *kind, const char *event, const char *payload, const char *aud_id)
{
	const struct notify_kind *k = notify_kind_find(kind);
	if (!k) return -1;
	buf q = {0};
	buf_printf(&q,
		   "WITH aud AS (%s), "
		   "t AS (SELECT a.user_id, a.event_key, a.payload, "
		   "  COALESCE(pi.enabled, $2::boolean) AS inapp, "
		   "  COALESCE(pe.enabled, $3::boolean) AND COALESCE(u.email, '') <> '' AS mail "
		   "  FROM aud a JOIN users u ON u.id = a.user_id AND NOT u.disabled "
		   "  LEFT JOIN notify_prefs pi ON pi.user_id = a.user_id AND pi.kind = $1 AND pi.channel = 'inapp' "
		   "  LEFT JOIN notify_prefs pe ON pe.user_id = a.user_id AND pe.kind = $1 AND pe.channel = 'email'), "
		   "ins AS (INSERT INTO notifications (user_id, event_key, kind, payload, inapp) "
		   "  SELECT user_id, event_key, $1, payload, inapp FROM t WHERE inapp OR mail "
		   "  ON CONFLICT (event_key, user_id) DO NOTHING RETURNING id, user_id, event_key), "
		   /* the e-mail choice is looked up again per inserted row by index: joining the two CTEs (whose size
		    * the planner cannot know) could become a nested loop of 100,000 × 100,000 */
		   "m AS (INSERT INTO mail_outbox (user_id, notification_id, state) "
		   "  SELECT ins.user_id, ins.id, CASE WHEN COALESCE(st.digest, 'off') = 'daily' THEN 'digest' ELSE 'queued' END "
		   "  FROM ins JOIN users u ON u.id = ins.user_id "
		   "  LEFT JOIN notify_prefs pe ON pe.user_id = ins.user_id AND pe.kind = $1 AND pe.channel = 'email' "
		   "  LEFT JOIN notify_settings st ON st.user_id = ins.user_id "
		   "  WHERE COALESCE(pe.enabled, $3::boolean) AND COALESCE(u.email, '') <> '' RETURNING 1), "
		   "w AS (INSERT INTO webhook_deliveries (webhook_id, event_key, kind, payload) "
		   "  SELECT wh.id, e.event_key, $1, e.payload FROM (SELECT DISTINCT ON (event_key) event_key, payload FROM aud) e "
		   "  CROSS JOIN webhooks wh WHERE wh.enabled AND $1 = ANY (wh.kinds) "
		   "  ON CONFLICT (webhook_id, event_key) DO NOTHING RETURNING 1) "
		   "SELECT (SELECT count(*) FROM ins), (SELECT count(*) FROM m), (SELECT count(*) FROM w)",
		   aud_rows);
	const char *p[6] = {kind, k->inapp ? "true" : "false", k->email ? "true" : "false", event, payload, aud_id};
	PGresult *r = db_exec(q.p, 6, p);
	buf_free(&q);
	if (!r) { log_error("notify fan-out %s: %s", event ? event : kind, db_error()); return -1; }
	long n = strtol(PQgetvalue(r, 0, 0), NULL, 10), m = strtol(PQgetvalue(r, 0, 1), NULL, 10),
	     w = strtol(PQgetvalue(r, 0, 2), NULL, 10);
	PQclear(r);
	/* the due-soon scan runs every few minutes and usually finds nothing: log only what happened */
	if (n || m || w) log_info("notify %s %s: %ld in-app, %ld e-mail, %ld webhook", kind, event ? event : "", n, m, w);
	if (m) notify_kick("notify_mail");
	if (w) notify_kick("notify_webhook");
	return n;
}

int job_notify_fanout(struct job *j)
{
	json_object *v;
	const char *kind = json_object_object_get_ex(j->payload, "kind", &v) ? json_object_get_string(v) : NULL;
	const char *event = json_object_object_get_ex(j->payload, "event", &v) ? json_object_get_string(v) : NULL;
	const char *aud = json_object_object_get_ex(j->payload, "audience", &v) ? json_object_get_string(v) : NULL;
	long aud_id = json_object_object_get_ex(j->payload, "audience_id", &v) ? (long)json_object_get_int64(v) : 0;
	json_object *data = json_object_object_get_ex(j->payload, "data", &v) ? v : NULL;
	const char *sql = NULL;
	for (size_t i = 0; aud && i < sizeof audiences / sizeof audiences[0]; i++)
		if (!strcmp(audiences[i].name, aud)) sql = audiences[i].sql;
	if (!notify_kind_find(kind) || !event || !*event || !sql) {
		snprintf(j->error, sizeof j->error, "bad notify payload");
		return -2;
	}
	char rows[2048], ids[24];
	snprintf(rows, sizeof rows, "SELECT DISTINCT x.user_id, $4::text AS event_key, $5::jsonb AS payload FROM (%s) x", sql);
	snprintf(ids, sizeof ids, "%ld", aud_id);
	const char *pl = data ? json_object_to_json_string_ext(data, JSON_C_TO_STRING_PLAIN) : "{}";
	if (fanout_exec(rows, kind, event, pl, ids) < 0) {
		snprintf(j->error, sizeof j->error, "database: %.900s", db_error());
		return -1;
	}
	return 0;
}

/* Assignments due within the next hours (and not yet past): one notice per student and assignment, ever. */
static int due_scan(void)
{
	long hours = notify_conf_int("notify.due_hours", NULL, 24);
	char h[24];
	snprintf(h, sizeof h, "%ld", hours);
	return fanout_exec("SELECT s.user_id, $4 || a.id AS event_key, $5::jsonb || jsonb_build_object("
		    "  'title', COALESCE(co.title, v.title), "
		    "  'href', CASE WHEN a.course_id IS NOT NULL THEN '/courses/' || a.course_id ELSE '/watch/' || v.public_id END, "
		    "  'due_at', to_char(a.due_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')) AS payload "
		    "FROM assignments a JOIN assignment_students s ON s.assignment_id = a.id "
		    "LEFT JOIN courses co ON co.id = a.course_id LEFT JOIN videos v ON v.id = a.video_id "
		    "WHERE a.due_at > now() AND a.due_at <= now() + make_interval(hours => $6::int) "
		    "AND (a.start_at IS NULL OR a.start_at <= now())",
		    "assignment_due", "due:", "{}", h) < 0 ? -1 : 0;
}

/* Daily digests: the waiting rows of each person become one queued message (one statement, so a crash
 * leaves either the waiting rows or the digest, never both or neither). */
static int digest_run(void)
{
	PGresult *r = DB_EXEC0("WITH d AS (UPDATE mail_outbox SET state = 'digested' WHERE state = 'digest' "
			       "  RETURNING user_id, notification_id), "
			       "i AS (INSERT INTO mail_outbox (user_id, digest_of, state) "
			       "  SELECT user_id, array_agg(notification_id ORDER BY notification_id), 'queued' FROM d GROUP BY user_id RETURNING 1) "
			       "SELECT count(*) FROM i");
	if (!r) { log_error("notify digest: %s", db_error()); return -1; }
	long n = strtol(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	if (n) log_info("notify: %ld digest(s) queued", n);
	return 0;
}

void notify_kick(const char *kind)
{
	/* without an SMTP server the outbox waits (visible to the admin) until one is configured */
	if (!strcmp(kind, "notify_mail") && !mail_configured()) return;
	const char *due = !strcmp(kind, "notify_mail")
		? "SELECT 1 FROM mail_outbox WHERE state = 'queued' AND next_at <= now()"
		: "SELECT 1 FROM webhook_deliveries WHERE state = 'queued' AND next_at <= now()";
	buf q = {0};
	/* one delivery job at a time per kind: it drains every due row, with its own per-row retries */
	buf_printf(&q, "INSERT INTO jobs (kind, payload, max_attempts) SELECT $1, '{}', 1 WHERE EXISTS (%s) "
		   "AND NOT EXISTS (SELECT 1 FROM jobs WHERE kind = $1 AND state IN ('queued', 'running')) RETURNING id", due);
	const char *p[1] = {kind};
	PGresult *r = db_exec(q.p, 1, p);
	buf_free(&q);
	if (r && PQntuples(r)) DB_CMD("SELECT pg_notify('rstream_jobs', $1)", kind);
	PQclear(r);
}

/* A delivery job that found nothing due stays for a retry due within a few seconds: the worker's kick runs
 * every 5 s, which would round short backoffs (seconds apart) up to that tick and flatten their doubling. */
int notify_wait_next_due(const char *next_due_sql, time_t until)
{
	PGresult *r = DB_EXEC0(next_due_sql);
	double secs = r && PQntuples(r) && !PQgetisnull(r, 0, 0) ? strtod(PQgetvalue(r, 0, 0), NULL) : -1;
	PQclear(r);
	if (secs < 0 || secs > 5 || time(NULL) + (time_t)secs >= until) return 0;
	usleep((useconds_t)(secs * 1e6) + 20000);
	return 1;
}

/* The scheduled part runs in the worker's own loop, so it must never hold it up: each statement gets a short
 * lock and statement timeout (a locked table means "next tick", not a stalled worker whose job leases expire).
 * The due-soon scan every notify.due_scan_seconds; the daily digests once a day at notify.digest_hour in the
 * deployment's zone (the date guard is a settings row, so several workers make one digest a day between them). */
static int bounded_begin(void)
{
	if (db_begin() < 0) return -1;
	if (db_cmd("SET LOCAL lock_timeout = '2s'", 0, NULL) < 0 || db_cmd("SET LOCAL statement_timeout = '20s'", 0, NULL) < 0) {
		db_rollback();
		return -1;
	}
	return 0;
}

void notify_schedule_tick(void)
{
	static double last_due, last_digest;
	double now = (double)time(NULL);
	if (now - last_due >= (double)notify_conf_int("notify.due_scan_seconds", "RSTREAM_NOTIFY_DUE_SCAN_SECONDS", 300) &&
	    bounded_begin() == 0) {
		last_due = now;
		if (due_scan() < 0) db_rollback(); else if (db_commit() < 0) db_rollback();
	}
	if (now - last_digest >= 60 && bounded_begin() == 0) {
		last_digest = now;
		char hour[8];
		snprintf(hour, sizeof hour, "%ld", notify_conf_int("notify.digest_hour", NULL, 7));
		PGresult *r = DB_EXEC("INSERT INTO settings (key, value) SELECT 'notify.digest_day', d FROM "
				      "(SELECT to_char(now() AT TIME ZONE $2, 'YYYY-MM-DD') AS d) x "
				      "WHERE extract(hour FROM now() AT TIME ZONE $2) >= $1::int "
				      "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value WHERE settings.value <> EXCLUDED.value "
				      "RETURNING 1", hour, config_get("timezone", "Asia/Tokyo"));
		int run = r && PQntuples(r);
		PQclear(r);
		/* the day is claimed and the digests made in one transaction: both or neither */
		if (!r || (run && digest_run() < 0)) db_rollback(); else if (db_commit() < 0) db_rollback();
	}
	notify_kick("notify_mail");
	notify_kick("notify_webhook");
}

char *notify_fill(const char *tmpl, json_object *vals)
{
	buf b = {0};
	const char *p = tmpl ? tmpl : "";
	while (*p) {
		const char *o = strchr(p, '{'), *c = o ? strchr(o, '}') : NULL;
		if (!o || !c || c - o > 40) { buf_puts(&b, p); break; }
		buf_append(&b, p, (size_t)(o - p));
		char name[48];
		snprintf(name, sizeof name, "%.*s", (int)(c - o - 1), o + 1);
		json_object *v;
		if (vals && json_object_object_get_ex(vals, name, &v) && json_object_is_type(v, json_type_string))
			buf_puts(&b, json_object_get_string(v));
		else buf_append(&b, o, (size_t)(c - o + 1));
		p = c + 1;
	}
	char *s = strdup(b.p ? b.p : "");
	buf_free(&b);
	return s;
}

char *notify_text(const char *lang, const char *kind, json_object *payload)
{
	/* the worker process does not load the catalogs at start (main.c); the first message here does */
	if (json_object_object_length(i18n_catalog("ja")) == 0) i18n_load(config_path("conf/i18n"));
	char key[96];
	snprintf(key, sizeof key, "notify_text_%s", kind);
	/* {what} is a catalog word chosen by the event (import or export), in the reader's language */
	json_object *v, *vals = json_object_new_object();
	if (payload && json_object_is_type(payload, json_type_object)) {
		json_object_object_foreach(payload, k, val) json_object_object_add(vals, k, json_object_get(val));
	}
	if (payload && json_object_object_get_ex(payload, "what_key", &v) && json_object_is_type(v, json_type_string) &&
	    !strncmp(json_object_get_string(v), "notify_what_", 12))
		json_object_object_add(vals, "what", json_object_new_string(i18n_get(lang, json_object_get_string(v))));
	char *s = notify_fill(i18n_get(lang, key), vals);
	json_object_put(vals);
	return s;
}

void notify_unsub_token(const char *secret, long uid, const char *kind, char out[33])
{
	char msg[160];
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	int len = snprintf(msg, sizeof msg, "unsub|%ld|%s", uid, kind);
	HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)msg, (size_t)len, mac, &n);
	for (int i = 0; i < 16; i++) snprintf(out + 2 * i, 3, "%02x", mac[i]);
}

int notify_unsub_check(const char *secret, long uid, const char *kind, const char *token)
{
	if (!token || strlen(token) != 32 || uid <= 0 || !kind) return 0;
	char want[33];
	notify_unsub_token(secret, uid, kind, want);
	return ct_streq(want, token);
}

void notify_layout(req *r, json_object *ctx)
{
	if (!r->user || r->user->id <= 0) return;
	char uid[24];
	snprintf(uid, sizeof uid, "%ld", r->user->id);
	/* bounded: the bell says 99+ beyond that, so the count never walks a long list */
	/* prepared: it runs on every page, and planning it cost more than running it */
	PGresult *res = DB_PREP("SELECT count(*) FROM (SELECT 1 FROM notifications WHERE user_id = $1::bigint "
				"AND inapp AND read_at IS NULL LIMIT 100) x", uid);
	if (!res) return;
	int n = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	json_object_object_add(ctx, "notify_unread", json_object_new_int(n));
	char label[8];
	snprintf(label, sizeof label, n > 99 ? "99+" : "%d", n);
	json_object_object_add(ctx, "notify_unread_label", json_object_new_string(label));
	json_object_object_add(ctx, "notify_bell_label",
			       json_object_new_string(arena_printf(r->a, "%s (%s)", tr(r, "notify_bell"), label)));
}

/* ---- the jobs of other areas, wrapped so their outcome becomes an event (job_table.c) ---- */
int job_transcode(struct job *j), job_roster_import(struct job *j), job_roster_export(struct job *j);

static int final_failure(struct job *j, int rc) { return rc == -2 || (rc == -1 && j->attempt >= j->max_attempts); }

static void short_detail(json_object *d, const char *err)
{
	char s[201];
	snprintf(s, sizeof s, "%s", err && *err ? err : "-");
	json_object_object_add(d, "detail", json_object_new_string(s));
}

int job_transcode_notify(struct job *j)
{
	int rc = job_transcode(j);
	if (rc != 0 && !final_failure(j, rc)) return rc;
	json_object *v;
	long vid = json_object_object_get_ex(j->payload, "video_id", &v) ? (long)json_object_get_int64(v) : 0;
	char ids[24];
	snprintf(ids, sizeof ids, "%ld", vid);
	PGresult *r = DB_EXEC("SELECT owner_id, title, public_id, status FROM videos WHERE id = $1::bigint", ids);
	if (!r || !PQntuples(r) || PQgetisnull(r, 0, 0)) { PQclear(r); return rc; }
	long owner = strtol(PQgetvalue(r, 0, 0), NULL, 10);
	json_object *d = json_object_new_object();
	json_object_object_add(d, "title", json_object_new_string(PQgetvalue(r, 0, 1)));
	char href[64];
	snprintf(href, sizeof href, rc == 0 ? "/watch/%s" : "/videos/%s/edit", PQgetvalue(r, 0, 2));
	json_object_object_add(d, "href", json_object_new_string(href));
	int ready = !strcmp(PQgetvalue(r, 0, 3), "ready");
	PQclear(r);
	char ev[80];
	snprintf(ev, sizeof ev, "transcode:%ld:%ld", vid, j->id);
	if (rc != 0) short_detail(d, j->error);
	notify_emit(rc == 0 ? "transcode_done" : "transcode_failed", ev, "user", owner, d);
	if (rc == 0 && ready) {
		snprintf(ev, sizeof ev, "video:%ld", vid);
		notify_emit("video_new", ev, "video_subscribers", vid, d);
	}
	json_object_put(d);
	return rc;
}

static int roster_notify(struct job *j, int rc, const char *what, const char *idkey, const char *href_fmt)
{
	if (rc != 0 && !final_failure(j, rc)) return rc;
	json_object *v;
	long id = json_object_object_get_ex(j->payload, idkey, &v) ? (long)json_object_get_int64(v) : 0;
	json_object *d = json_object_new_object();
	char title[64], href[96], ev[96];
	snprintf(title, sizeof title, "#%ld", id);
	snprintf(href, sizeof href, href_fmt, id);
	json_object_object_add(d, "title", json_object_new_string(title));
	json_object_object_add(d, "what_key", json_object_new_string(what));
	json_object_object_add(d, "href", json_object_new_string(href));
	if (rc != 0) short_detail(d, j->error);
	snprintf(ev, sizeof ev, "%s:%ld:%ld", idkey, id, j->id);
	notify_emit(rc == 0 ? "roster_done" : "roster_failed", ev, "admins", 0, d);
	json_object_put(d);
	return rc;
}

int job_roster_import_notify(struct job *j)
{
	return roster_notify(j, job_roster_import(j), "notify_what_import", "import_id", "/admin/roster/imports/%ld");
}

int job_roster_export_notify(struct job *j)
{
	return roster_notify(j, job_roster_export(j), "notify_what_export", "export_id", "/admin/roster/exports#%ld");
}
