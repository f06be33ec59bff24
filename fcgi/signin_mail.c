/* E-mailed sign-in links (issue 8): reset tokens, the outbox rows that carry them and their text. The link is in
 * the mail only; the database keeps the token's keyed hash, and the outbox keeps the link sealed until it is sent. */
#include "signin_mail.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "auth.h"
#include "config.h"
#include "db.h"
#include "i18n.h"
#include "log.h"
#include "notify.h"
#include "oidc.h"
#include "signin_code.h"

int signin_reset_create(long user_id, long created_by, long minutes, char token[65])
{
	char h[65], uid[24], by[24], mins[24];
	random_hex(token, 32);
	signin_hash(cfg.secret, "reset", token, h);
	snprintf(uid, sizeof uid, "%ld", user_id);
	snprintf(by, sizeof by, "%ld", created_by);
	snprintf(mins, sizeof mins, "%ld", minutes);
	if (DB_CMD("DELETE FROM password_resets WHERE user_id = $1::bigint AND used_at IS NULL", uid) < 0 ||
	    DB_CMD("INSERT INTO password_resets (token_hash, user_id, created_by, expires_at) "
		   "VALUES ($1, $2::bigint, NULLIF($3::bigint, 0), now() + make_interval(mins => $4::int))", h, uid, by, mins) < 0) {
		log_error("reset token: %s", db_error());
		return -1;
	}
	return 0;
}

int signin_mail_queue(long user_id, const char *kind, const char *link, long minutes, const char *inviter)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "link", json_object_new_string(link));
	json_object_object_add(o, "minutes", json_object_new_int64(minutes));
	if (inviter) json_object_object_add(o, "inviter", json_object_new_string(inviter));
	char *sealed = oidc_secret_seal(cfg.secret, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	if (!sealed) { log_error("signin mail: cannot seal the link"); return -1; }
	char uid[24];
	snprintf(uid, sizeof uid, "%ld", user_id);
	int rc = DB_CMD("INSERT INTO mail_outbox (user_id, mail_kind, sealed, state) VALUES ($1::bigint, $2, $3, 'queued')",
			uid, kind, sealed);
	free(sealed);
	if (rc < 0) { log_error("signin mail: %s", db_error()); return -1; }
	notify_kick("notify_mail");
	return 0;
}

/* "90 minutes" reads better as "1 hour 30 minutes" in neither language: whole hours or days when exact */
static char *validity(const char *lang, long minutes)
{
	char n[24], *s;
	const char *key = "signin_mail_minutes";
	long v = minutes;
	if (minutes % 1440 == 0) { key = "signin_mail_days"; v = minutes / 1440; }
	else if (minutes % 60 == 0) { key = "signin_mail_hours"; v = minutes / 60; }
	snprintf(n, sizeof n, "%ld", v);
	json_object *vals = json_object_new_object();
	json_object_object_add(vals, "n", json_object_new_string(n));
	s = notify_fill(i18n_get(lang, key), vals);
	json_object_put(vals);
	return s;
}

int signin_mail_render(const char *lang, const char *kind, const char *sealed, char **subject, char **body)
{
	*subject = *body = NULL;
	if (json_object_object_length(i18n_catalog("ja")) == 0) i18n_load(config_path("conf/i18n"));
	char *plain = sealed ? oidc_secret_open(cfg.secret, sealed) : NULL;
	json_object *o = plain ? json_tokener_parse(plain) : NULL, *v;
	free(plain);
	if (!o || !json_object_object_get_ex(o, "link", &v)) { json_object_put(o); return -1; }
	json_object *vals = json_object_new_object();
	json_object_object_add(vals, "link", json_object_get(v));
	json_object *m = json_object_object_get(o, "minutes");
	char *valid = validity(lang, m ? json_object_get_int64(m) : 0);
	json_object_object_add(vals, "valid", json_object_new_string(valid));
	free(valid);
	const char *site = config_get("site.name", "R-Stream");
	json_object_object_add(vals, "site", json_object_new_string(site && *site ? site : "R-Stream"));
	if (json_object_object_get_ex(o, "inviter", &v)) json_object_object_add(vals, "inviter", json_object_get(v));
	char sk[48], bk[48];
	snprintf(sk, sizeof sk, "signin_mail_%s_subject", kind);
	snprintf(bk, sizeof bk, "signin_mail_%s_body", kind);
	*subject = notify_fill(i18n_get(lang, sk), vals);
	*body = notify_fill(i18n_get(lang, bk), vals);
	json_object_put(vals);
	json_object_put(o);
	return 0;
}

const char *signin_link_problem(const char *table, const char *hash)
{
	const char *sql = !strcmp(table, "invitations")
		? "SELECT CASE WHEN revoked_at IS NOT NULL THEN 'signin_link_revoked' WHEN accepted_at IS NOT NULL THEN "
		  "'signin_link_used' WHEN expires_at <= now() THEN 'signin_link_expired' END FROM invitations WHERE token_hash = $1"
		: "SELECT CASE WHEN used_at IS NOT NULL THEN 'signin_link_used' WHEN expires_at <= now() THEN "
		  "'signin_link_expired' END FROM password_resets WHERE token_hash = $1";
	PGresult *r = DB_EXEC(sql, hash);
	const char *k = "signin_link_unknown";
	if (r && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0)) {
		const char *v = PQgetvalue(r, 0, 0);
		k = !strcmp(v, "signin_link_revoked") ? "signin_link_revoked" : !strcmp(v, "signin_link_used") ? "signin_link_used"
			: "signin_link_expired";
	}
	PQclear(r);
	return k;
}
