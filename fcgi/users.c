/* Accounts domain: validation, creation, password changes, keyset search.
 * Keyset pagination (id > $after ORDER BY id) stays fast at 200,000 users where OFFSET would not. */
#include "users.h"
#include "settings.h"
#include "timefmt.h"
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "auth.h"
#include "db.h"
#include "log.h"
#include "login_throttle.h"

int users_valid_email(const char *e)
{
	if (!e) return 0;
	size_t n = strlen(e);
	const char *at = strchr(e, '@');
	if (n < 3 || n > 254 || !at || at == e || !at[1] || strchr(at + 1, '@')) return 0;
	for (const char *p = e; *p; p++) if (isspace((unsigned char)*p) || iscntrl((unsigned char)*p)) return 0;
	return 1;
}

int users_valid_role(const char *r)
{
	return r && (!strcmp(r, "admin") || !strcmp(r, "creator") || !strcmp(r, "viewer") || !strcmp(r, "guest"));
}

/* the admin's password policy (settings page) */
static int password_ok(const char *pw, char *err, int errlen) { return settings_password_ok(pw, err, errlen); }

long users_create(const char *email, const char *name, const char *role, const char *password, char *err, int errlen)
{
	if (!users_valid_email(email)) { snprintf(err, (size_t)errlen, "%s", "users_err_email"); return -1; }
	if (!users_valid_role(role)) { snprintf(err, (size_t)errlen, "%s", "users_err_role"); return -1; }
	if (!name || !*name || strlen(name) > 200) { snprintf(err, (size_t)errlen, "%s", "users_err_name"); return -1; }
	char hash[PASSWORD_HASH_MAX] = "";
	if (password) {
		if (!password_ok(password, err, errlen)) return -1;
		if (password_hash(password, hash) < 0) { snprintf(err, (size_t)errlen, "%s", "users_err_internal"); return -1; }
	}
	PGresult *r = DB_EXEC("INSERT INTO users (email, name, role, password_hash) VALUES ($1, $2, $3, NULLIF($4, '')) "
			      "RETURNING id", email, name, role, hash);
	if (!r) {
		if (!strcmp(db_sqlstate(), "23505")) snprintf(err, (size_t)errlen, "%s", "users_err_duplicate");
		else snprintf(err, (size_t)errlen, "%s", "users_err_internal");
		return -1;
	}
	long id = strtol(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return id;
}

int users_set_password(long id, const char *password, char *err, int errlen)
{
	if (!password_ok(password, err, errlen)) return -1;
	char hash[PASSWORD_HASH_MAX], ids[24];
	if (password_hash(password, hash) < 0) { snprintf(err, (size_t)errlen, "%s", "users_err_internal"); return -1; }
	snprintf(ids, sizeof ids, "%ld", id);
	/* a new generation ends every session and bearer token issued before (session.c compares it); the old
	 * password's failed attempts are forgotten with it */
	PGresult *r = DB_EXEC("UPDATE users SET password_hash = $2, token_gen = token_gen + 1, updated_at = now() "
			      "WHERE id = $1::bigint RETURNING email", ids, hash);
	int ok = r && PQntuples(r) == 1;
	if (ok && !PQgetisnull(r, 0, 0)) login_throttle_unlock(PQgetvalue(r, 0, 0));
	PQclear(r);
	if (!ok) { snprintf(err, (size_t)errlen, "%s", r ? "users_err_no_user" : "users_err_internal"); return -1; }
	return 0;
}

int users_set_password_by_email(const char *email, const char *password, char *err, int errlen)
{
	PGresult *r = DB_EXEC("SELECT id FROM users WHERE lower(email) = lower($1)", email);
	if (!r || PQntuples(r) != 1) { PQclear(r); snprintf(err, (size_t)errlen, "%s", "users_err_no_user"); return -1; }
	long id = strtol(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return users_set_password(id, password, err, errlen);
}

int users_set_email(long id, const char *email, char *err, int errlen)
{
	if (!users_valid_email(email)) { snprintf(err, (size_t)errlen, "%s", "users_err_email"); return -1; }
	char ids[24];
	snprintf(ids, sizeof ids, "%ld", id);
	/* the unique index on lower(email) refuses one held by another account */
	PGresult *r = DB_EXEC("UPDATE users SET email = $2, updated_at = now() WHERE id = $1::bigint "
			      "AND email IS DISTINCT FROM $2 RETURNING id", ids, email);
	if (!r) {
		snprintf(err, (size_t)errlen, "%s", !strcmp(db_sqlstate(), "23505") ? "users_err_duplicate" : "users_err_internal");
		return -1;
	}
	PQclear(r);
	return 0;
}

int users_update(long id, const char *name, const char *role, const char *lang, const char *time_zone, int disabled,
		 char *err, int errlen)
{
	if (role && !users_valid_role(role)) { snprintf(err, (size_t)errlen, "%s", "users_err_role"); return -1; }
	if (name && (!*name || strlen(name) > 200)) { snprintf(err, (size_t)errlen, "%s", "users_err_name"); return -1; }
	if (lang && *lang && strcmp(lang, "ja") && strcmp(lang, "en")) { snprintf(err, (size_t)errlen, "%s", "users_err_lang"); return -1; }
	if (time_zone && *time_zone && !time_zone_valid(time_zone)) { snprintf(err, (size_t)errlen, "%s", "users_err_time_zone"); return -1; }
	char ids[24], dis[4];
	snprintf(ids, sizeof ids, "%ld", id);
	snprintf(dis, sizeof dis, "%d", disabled);
	PGresult *r = DB_EXEC("UPDATE users SET name = COALESCE($2, name), role = COALESCE($3, role), "
			      "lang = CASE WHEN $4::text IS NULL THEN lang ELSE NULLIF($4, '') END, "
			      "disabled = CASE WHEN $5::int < 0 THEN disabled ELSE $5::int = 1 END, "
			      "time_zone = CASE WHEN $6::text IS NULL THEN time_zone ELSE NULLIF($6, '') END, updated_at = now() "
			      "WHERE id = $1::bigint RETURNING id", ids, name, role, lang, disabled < 0 ? "-1" : dis, time_zone);
	int ok = r && PQntuples(r) == 1;
	PQclear(r);
	if (!ok) { snprintf(err, (size_t)errlen, "%s", "users_err_no_user"); return -1; }
	return 0;
}

json_object *users_search(const char *q, const char *role, long after, int limit)
{
	char afters[24], lim[16];
	snprintf(afters, sizeof afters, "%ld", after);
	snprintf(lim, sizeof lim, "%d", limit + 1);
	/* prefix match on indexed lower(email)/lower(name); LIKE metacharacters in q are escaped */
	PGresult *r = DB_EXEC("SELECT id, email, name, role, disabled, sourced_id, org_sourced_id, "
			      "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS created_at, "
			      "to_char(last_login_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS last_login_at "
			      "FROM users WHERE id > $1::bigint "
			      "AND ($2::text IS NULL OR lower(email) LIKE lower(replace(replace(replace($2, '\\', '\\\\'), '%', '\\%'), '_', '\\_')) || '%' "
			      "     OR lower(name) LIKE lower(replace(replace(replace($2, '\\', '\\\\'), '%', '\\%'), '_', '\\_')) || '%') "
			      "AND ($3::text IS NULL OR role = $3) ORDER BY id LIMIT $4::int",
			      afters, q && *q ? q : NULL, role && *role ? role : NULL, lim);
	json_object *out = json_object_new_object();
	json_object *arr = json_object_new_array();
	json_object *next = NULL;
	if (r) {
		int n = PQntuples(r);
		for (int i = 0; i < n && i < limit; i++) json_object_array_add(arr, db_row_json(r, i));
		if (n > limit) next = json_object_new_int64(strtoll(PQgetvalue(r, limit - 1, 0), NULL, 10));
		PQclear(r);
	}
	json_object_object_add(out, "users", arr);
	json_object_object_add(out, "next_after", next);
	return out;
}

/* q: prefix of the e-mail or the name (LIKE metacharacters escaped); role: exact */
#define USERS_FILTER "($1::text IS NULL OR lower(email) LIKE lower(replace(replace(replace($1, '\\', '\\\\'), '%', '\\%'), '_', '\\_')) || '%' " \
	"OR lower(name) LIKE lower(replace(replace(replace($1, '\\', '\\\\'), '%', '\\%'), '_', '\\_')) || '%') " \
	"AND ($2::text IS NULL OR role = $2)"

json_object *users_page(const char *q, const char *role, const char *sort, int desc, long page, int per_page)
{
	/* the ORDER BY comes from this fixed list, never from the request */
	static const char *const cols[][2] = {{"name", "lower(name)"}, {"email", "lower(email)"}, {"role", "role"},
					      {"last_login", "last_login_at"}};
	const char *col = cols[0][1];
	for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++) if (sort && !strcmp(sort, cols[i][0])) col = cols[i][1];
	const char *qq = q && *q ? q : NULL, *rr = role && *role ? role : NULL;
	char off[24], lim[16];
	snprintf(off, sizeof off, "%ld", (page - 1) * per_page);
	snprintf(lim, sizeof lim, "%d", per_page);
	char *sql = NULL;
	if (asprintf(&sql, "SELECT id, email, name, role, disabled, sourced_id, org_sourced_id, "
		     "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS created_at, "
		     "to_char(last_login_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS last_login_at "
		     "FROM users WHERE %s ORDER BY %s %s NULLS LAST, id LIMIT $3::int OFFSET $4::bigint",
		     USERS_FILTER, col, desc ? "DESC" : "ASC") < 0)
		return NULL;
	PGresult *r = DB_EXEC(sql, qq, rr, lim, off);
	free(sql);
	PGresult *c = DB_EXEC("SELECT count(*) FROM users WHERE " USERS_FILTER, qq, rr);
	json_object *out = json_object_new_object();
	json_object_object_add(out, "users", r ? db_rows_json(r) : json_object_new_array());
	json_object_object_add(out, "total", json_object_new_int64(c && PQntuples(c) ? strtoll(PQgetvalue(c, 0, 0), NULL, 10) : 0));
	PQclear(r);
	PQclear(c);
	return out;
}

json_object *users_get(long id)
{
	char ids[24];
	snprintf(ids, sizeof ids, "%ld", id);
	PGresult *r = DB_EXEC("SELECT id, email, name, role, disabled, lang, time_zone, sourced_id, org_sourced_id, "
			      "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS created_at, "
			      "to_char(last_login_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS last_login_at, "
			      "password_hash IS NOT NULL AS has_password FROM users WHERE id = $1::bigint", ids);
	json_object *o = r && PQntuples(r) == 1 ? db_row_json(r, 0) : NULL;
	PQclear(r);
	json_object *email;
	if (o && json_object_object_get_ex(o, "email", &email) && json_object_is_type(email, json_type_string)) {
		json_object *st = login_throttle_state(json_object_get_string(email));
		json_object *v;
		long fails = st && json_object_object_get_ex(st, "failures", &v) ? (long)json_object_get_int64(v) : 0;
		long wait = st && json_object_object_get_ex(st, "wait_seconds", &v) ? (long)json_object_get_int64(v) : 0;
		json_object_object_add(o, "failed_logins", json_object_new_int64(fails));
		json_object_object_add(o, "throttle_seconds", json_object_new_int64(wait));
		json_object_object_add(o, "locked", json_object_new_boolean(wait > 0));
		json_object_object_add(o, "unlockable", json_object_new_boolean(fails > 0 || wait > 0));
		json_object_put(st);
	}
	return o;
}

int users_exists(const char *email)
{
	PGresult *r = DB_EXEC("SELECT 1 FROM users WHERE lower(email) = lower($1)", email);
	if (!r) return -1;
	int n = PQntuples(r);
	PQclear(r);
	return n > 0;
}

int users_cli_list(void)
{
	PGresult *r = DB_EXEC0("SELECT id, email, role, name, disabled FROM users ORDER BY id");
	if (!r) { fprintf(stderr, "%s\n", db_error()); return 1; }
	for (int i = 0; i < PQntuples(r); i++)
		printf("%s\t%s\t%s\t%s%s\n", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), PQgetvalue(r, i, 2), PQgetvalue(r, i, 3),
		       PQgetvalue(r, i, 4)[0] == 't' ? "\t(disabled)" : "");
	PQclear(r);
	return 0;
}

/* A few demo accounts so the UI has something to show; they get no password (log in after `user passwd`). */
int users_seed_demo(void)
{
	static const char *demo[][3] = {
		{"sato.teacher@example.jp", "佐藤 花子", "creator"},
		{"suzuki.teacher@example.jp", "鈴木 一郎", "creator"},
		{"tanaka.student@example.jp", "田中 太郎", "viewer"},
		{"takahashi.student@example.jp", "高橋 さくら", "viewer"},
		{"guest@example.jp", "ゲスト", "guest"},
	};
	for (size_t i = 0; i < sizeof demo / sizeof demo[0]; i++)
		if (DB_CMD("INSERT INTO users (email, name, role) VALUES ($1, $2, $3) ON CONFLICT (email) DO NOTHING",
			   demo[i][0], demo[i][1], demo[i][2]) < 0) {
			log_error("seed users: %s", db_error());
			return -1;
		}
	return 0;
}
