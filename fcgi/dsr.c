/* Data-subject requests. The export reads every table that holds the person's data, one query per file, and
 * streams a zip; the erasure is one call of dsr_erase() in SQL, which pseudonymises the account and the roster
 * records, deletes per-person viewing, messages and ways in, and rewrites audit rows through their owner's function. */
#include "dsr.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "auth.h"
#include "db.h"
#include "log.h"
#include "roster_csv.h"

int dsr_state(long uid)
{
	char id[24];
	snprintf(id, sizeof id, "%ld", uid);
	PGresult *res = DB_EXEC("SELECT erased_at IS NOT NULL FROM users WHERE id = $1::bigint", id);
	if (!res) return -1;
	int st = PQntuples(res) == 0 ? DSR_NO_USER : PQgetvalue(res, 0, 0)[0] == 't' ? DSR_ERASED : DSR_LIVE;
	PQclear(res);
	return st;
}

#define ISO(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* one JSON document: the first cell of the query */
static const char *const json_files[][2] = {
	{"account.json",
	 "SELECT jsonb_pretty(jsonb_build_object('id', u.id, 'email', u.email, 'username', u.username, 'name', u.name, "
	 "'role', u.role, 'sourcedId', u.sourced_id, 'orgSourcedId', u.org_sourced_id, 'disabled', u.disabled, "
	 "'lang', u.lang, 'timeZone', u.time_zone, 'lastLoginAt', " ISO("u.last_login_at") ", 'createdAt', " ISO("u.created_at") ", "
	 "'mfaEnrolled', EXISTS (SELECT 1 FROM mfa_totp m WHERE m.user_id = u.id AND m.confirmed_at IS NOT NULL), "
	 "'notificationPreferences', COALESCE((SELECT jsonb_agg(to_jsonb(p) - 'user_id') FROM notify_prefs p WHERE p.user_id = u.id), '[]'), "
	 "'subscriptions', COALESCE((SELECT jsonb_agg(to_jsonb(s) - 'user_id') FROM notify_subscriptions s WHERE s.user_id = u.id), '[]'))) "
	 "FROM users u WHERE u.id = $1::bigint"},
	{"roster.json",
	 "SELECT jsonb_pretty(jsonb_build_object("
	 "'user', (SELECT to_jsonb(x) FROM roster_users x WHERE x.sourced_id = u.sourced_id), "
	 "'roles', COALESCE((SELECT jsonb_agg(to_jsonb(x)) FROM roster_roles x WHERE x.user_sourced_id = u.sourced_id), '[]'), "
	 "'profiles', COALESCE((SELECT jsonb_agg(to_jsonb(x)) FROM roster_user_profiles x WHERE x.user_sourced_id = u.sourced_id), '[]'), "
	 "'demographics', (SELECT to_jsonb(x) FROM roster_demographics x WHERE x.sourced_id = u.sourced_id))) "
	 "FROM users u WHERE u.id = $1::bigint"},
};

/* one table: a header from the column names, then the rows */
static const char *const csv_files[][2] = {
	{"enrollments.csv",
	 "SELECT e.sourced_id, e.class_sourced_id, c.title AS class_title, e.school_sourced_id, e.role, e.status, "
	 "e.begin_date, e.end_date FROM users u JOIN roster_enrollments e ON e.user_sourced_id = u.sourced_id "
	 "LEFT JOIN roster_classes c ON c.sourced_id = e.class_sourced_id WHERE u.id = $1::bigint ORDER BY e.sourced_id"},
	{"viewing.csv",
	 "SELECT p.video_id, v.title AS video_title, p.watched_ms, p.position_ms, " ISO("p.completed_at") " AS completed_at, "
	 ISO("p.first_at") " AS first_at, " ISO("p.last_at") " AS last_at FROM view_progress p "
	 "LEFT JOIN videos v ON v.id = p.video_id WHERE p.user_id = $1::bigint ORDER BY p.first_at"},
	{"viewing_sessions.csv",
	 "SELECT s.id, s.video_id, s.watched_ms, s.position_ms, s.rate, " ISO("s.started_at") " AS started_at, "
	 ISO("s.last_at") " AS last_at FROM view_sessions s WHERE s.user_id = $1::bigint ORDER BY s.started_at"},
	{"notifications.csv",
	 "SELECT n.id, n.kind, n.payload::text AS payload, " ISO("n.created_at") " AS created_at, " ISO("n.read_at")
	 " AS read_at FROM notifications n WHERE n.user_id = $1::bigint ORDER BY n.id"},
	/* entries by them, about their account, or naming their sourcedId or e-mail */
	{"audit.csv",
	 "SELECT a.id, " ISO("a.at") " AS at, a.actor, a.action, a.target, a.ip, a.status, a.detail::text AS detail "
	 "FROM users u JOIN audit_log a ON a.actor = 'user:' || u.id OR a.target = 'user:' || u.id "
	 "OR (u.sourced_id IS NOT NULL AND strpos(a.target, u.sourced_id) > 0) "
	 "OR (u.email IS NOT NULL AND (a.actor = u.email OR strpos(a.target, u.email) > 0)) "
	 "WHERE u.id = $1::bigint ORDER BY a.id"},
};

static int put_entry(zipw *z, const char *name, const char *data, size_t len)
{
	return zipw_begin(z, name) < 0 || zipw_write(z, data, len) < 0 || zipw_end(z) < 0 ? -1 : 0;
}

int dsr_export(long uid, zipw_sink sink, void *ud, char *err, size_t errlen)
{
	char id[24];
	snprintf(id, sizeof id, "%ld", uid);
	int files = 0, rc = -1;
	buf b = {0};
	zipw *z = zipw_new(sink, ud);
	if (!z) { snprintf(err, errlen, "zip writer"); return -1; }
	for (size_t i = 0; i < sizeof json_files / sizeof json_files[0]; i++) {
		PGresult *res = DB_EXEC(json_files[i][1], id);
		if (!res || PQntuples(res) != 1) { snprintf(err, errlen, "%s: %s", json_files[i][0], db_error()); PQclear(res); goto out; }
		const char *doc = PQgetisnull(res, 0, 0) ? "null" : PQgetvalue(res, 0, 0);
		int w = put_entry(z, json_files[i][0], doc, strlen(doc));
		PQclear(res);
		if (w < 0) { snprintf(err, errlen, "zip: %s", zipw_error(z)); goto out; }
		files++;
	}
	for (size_t i = 0; i < sizeof csv_files / sizeof csv_files[0]; i++) {
		PGresult *res = DB_EXEC(csv_files[i][1], id);
		if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) { snprintf(err, errlen, "%s: %s", csv_files[i][0], db_error()); PQclear(res); goto out; }
		buf_reset(&b);
		buf_puts(&b, "\xEF\xBB\xBF");   /* BOM: spreadsheet programs then read UTF-8 */
		for (int c = 0; c < PQnfields(res); c++) rcsv_put_cell(&b, PQfname(res, c), c == 0);
		buf_puts(&b, "\r\n");
		for (int row = 0; row < PQntuples(res); row++) {
			for (int c = 0; c < PQnfields(res); c++) rcsv_put_cell(&b, PQgetvalue(res, row, c), c == 0);
			buf_puts(&b, "\r\n");
		}
		PQclear(res);
		if (put_entry(z, csv_files[i][0], b.p, b.len) < 0) { snprintf(err, errlen, "zip: %s", zipw_error(z)); goto out; }
		files++;
	}
	if (zipw_finish(z) < 0) { snprintf(err, errlen, "zip: %s", zipw_error(z)); goto out; }
	rc = files;
out:
	buf_free(&b);
	zipw_free(z);
	return rc;
}

int dsr_erase(long uid, char pseudonym[32])
{
	char id[24], rnd[13];
	snprintf(id, sizeof id, "%ld", uid);
	random_hex(rnd, 6);
	snprintf(pseudonym, 32, "erased-%s", rnd);
	int st = dsr_state(uid);
	if (st < 0) return -1;
	if (st != DSR_LIVE) return st + 1;
	if (db_begin() < 0) return -1;
	PGresult *res = DB_EXEC("SELECT dsr_erase($1::bigint, $2)", id, pseudonym);
	if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
		/* a concurrent erasure of the same person raises already_erased inside: report it as such */
		int again = strstr(db_error(), "already_erased") != NULL;
		if (!again) log_error("dsr erase of user %ld: %s", uid, db_error());
		PQclear(res);
		db_rollback();
		return again ? DSR_ERASED + 1 : -1;
	}
	PQclear(res);
	return db_commit() < 0 ? -1 : 0;
}
