/* TOTP second factor over the tables of sql/091_protect_mfa.sql. The secret is stored sealed (totp.c); the newest
 * accepted step is kept per account and moved forward by a compare-and-set UPDATE, so a code is good once even
 * when two requests carry it at the same moment. */
#include "mfa.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include "config.h"
#include "db.h"
#include "log.h"
#include "settings.h"
#include "signin_code.h"
#include "totp.h"

static void ids(long uid, char out[24]) { snprintf(out, 24, "%ld", uid); }

int mfa_state(long uid)
{
	char id[24];
	ids(uid, id);
	PGresult *res = DB_EXEC("SELECT confirmed_at IS NOT NULL FROM mfa_totp WHERE user_id = $1::bigint", id);
	if (!res) return -1;
	int st = PQntuples(res) == 0 ? MFA_NONE : PQgetvalue(res, 0, 0)[0] == 't' ? MFA_ON : MFA_PENDING;
	PQclear(res);
	return st;
}

int mfa_required(long uid)
{
	const struct setting_def *d = settings_def("mfa.required_admins");
	if (!d || strcmp(settings_value(d), "1")) return 0;
	char id[24];
	ids(uid, id);
	PGresult *res = DB_EXEC("SELECT 1 FROM users WHERE id = $1::bigint AND role = 'admin'", id);
	if (!res) return -1;
	int admin = PQntuples(res) == 1;
	PQclear(res);
	return admin;
}

/* the hash a recovery code is stored under: keyed, and bound to its account */
static void recovery_hash(long uid, const char *canon, char out[65])
{
	char v[48];
	snprintf(v, sizeof v, "%ld:%s", uid, canon);
	signin_hash(cfg.secret, "mfa-recovery", v, out);
}

/* the account's secret: confirmed (want_confirmed 1) or pending (0); *last_step of it. 0 ok, -1 none or error */
static int load_secret(long uid, int want_confirmed, unsigned char key[TOTP_SECRET_LEN], long *last_step)
{
	char id[24];
	ids(uid, id);
	PGresult *res = DB_EXEC("SELECT secret_sealed, last_step FROM mfa_totp WHERE user_id = $1::bigint "
				"AND (confirmed_at IS NOT NULL) = $2::boolean", id, want_confirmed ? "true" : "false");
	if (!res || PQntuples(res) != 1) { int none = res != NULL; PQclear(res); return none ? -2 : -1; }
	int n = totp_open(cfg.secret, uid, PQgetvalue(res, 0, 0), key, TOTP_SECRET_LEN);
	*last_step = strtol(PQgetvalue(res, 0, 1), NULL, 10);
	PQclear(res);
	if (n != TOTP_SECRET_LEN) { log_error("mfa: the stored secret of user %ld does not open (RSTREAM_SECRET changed?)", uid); return -1; }
	return 0;
}

int mfa_enrol_secret(long uid, char b32[64])
{
	unsigned char key[TOTP_SECRET_LEN];
	long last;
	int rc = -1;
	if (load_secret(uid, 0, key, &last) < 0) {
		char sealed[TOTP_SEALED_MAX], id[24];
		ids(uid, id);
		if (RAND_bytes(key, sizeof key) != 1 || totp_seal(cfg.secret, uid, key, sizeof key, sealed, sizeof sealed) < 0)
			goto out;
		/* never replaces a confirmed factor: that takes an admin reset */
		PGresult *res = DB_EXEC("INSERT INTO mfa_totp (user_id, secret_sealed) VALUES ($1::bigint, $2) "
					"ON CONFLICT (user_id) DO UPDATE SET secret_sealed = EXCLUDED.secret_sealed, last_step = 0, "
					"created_at = now() WHERE mfa_totp.confirmed_at IS NULL RETURNING 1", id, sealed);
		int ok = res && PQntuples(res) == 1;
		PQclear(res);
		if (!ok) goto out;
	}
	rc = base32_encode(key, sizeof key, b32, 64) < 0 ? -1 : 0;
out:
	OPENSSL_cleanse(key, sizeof key);
	return rc;
}

int mfa_enrol_confirm(long uid, const char *code, char codes[MFA_RECOVERY_CODES][10])
{
	unsigned char key[TOTP_SECRET_LEN];
	long last;
	int ls = load_secret(uid, 0, key, &last);
	if (ls < 0) return ls == -2 ? 2 : -1;
	long step = totp_match(key, sizeof key, code, time(NULL), last);
	OPENSSL_cleanse(key, sizeof key);
	if (step < 0) return 1;
	char id[24], st[24];
	ids(uid, id);
	snprintf(st, sizeof st, "%ld", step);
	if (db_begin() < 0) return -1;
	PGresult *res = DB_EXEC("UPDATE mfa_totp SET confirmed_at = now(), last_step = $2::bigint "
				"WHERE user_id = $1::bigint AND confirmed_at IS NULL RETURNING 1", id, st);
	int ok = res && PQntuples(res) == 1;
	PQclear(res);
	ok = ok && DB_CMD("DELETE FROM mfa_recovery_codes WHERE user_id = $1::bigint", id) >= 0;
	for (int i = 0; ok && i < MFA_RECOVERY_CODES; i++) {
		char canon[9], h[65];
		ok = signin_code_new(codes[i]) == 0 && signin_code_normalize(codes[i], canon) == 0;
		if (!ok) break;
		recovery_hash(uid, canon, h);
		ok = DB_CMD("INSERT INTO mfa_recovery_codes (user_id, code_hash) VALUES ($1::bigint, $2)", id, h) >= 0;
	}
	if (!ok || db_commit() < 0) { db_rollback(); return -1; }
	return 0;
}

int mfa_check(long uid, const char *code, int *recovery)
{
	char id[24], norm[TOTP_DIGITS + 1], canon[9];
	ids(uid, id);
	*recovery = 0;
	if (totp_code_normalize(code, norm) == 0) {
		unsigned char key[TOTP_SECRET_LEN];
		long last;
		if (load_secret(uid, 1, key, &last) < 0) return -1;
		long step = totp_match(key, sizeof key, norm, time(NULL), last);
		OPENSSL_cleanse(key, sizeof key);
		if (step < 0) return 1;
		char st[24];
		snprintf(st, sizeof st, "%ld", step);
		/* compare-and-set: of two requests with the same code only one moves the step */
		PGresult *res = DB_EXEC("UPDATE mfa_totp SET last_step = $2::bigint WHERE user_id = $1::bigint "
					"AND confirmed_at IS NOT NULL AND last_step < $2::bigint RETURNING 1", id, st);
		if (!res) return -1;
		int ok = PQntuples(res) == 1;
		PQclear(res);
		return ok ? 0 : 1;
	}
	if (signin_code_normalize(code, canon) < 0) return 1;
	char h[65];
	recovery_hash(uid, canon, h);
	PGresult *res = DB_EXEC("UPDATE mfa_recovery_codes SET used_at = now() WHERE user_id = $1::bigint AND code_hash = $2 "
				"AND used_at IS NULL AND EXISTS (SELECT 1 FROM mfa_totp m WHERE m.user_id = $1::bigint "
				"AND m.confirmed_at IS NOT NULL) RETURNING 1", id, h);
	if (!res) return -1;
	int ok = PQntuples(res) == 1;
	PQclear(res);
	*recovery = ok;
	return ok ? 0 : 1;
}

int mfa_recovery_left(long uid)
{
	char id[24];
	ids(uid, id);
	PGresult *res = DB_EXEC("SELECT count(*) FROM mfa_recovery_codes WHERE user_id = $1::bigint AND used_at IS NULL", id);
	if (!res) return -1;
	int n = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	return n;
}

int mfa_reset(long uid)
{
	char id[24];
	ids(uid, id);
	if (db_begin() < 0) return -1;
	PGresult *res = DB_EXEC("DELETE FROM mfa_totp WHERE user_id = $1::bigint RETURNING confirmed_at IS NOT NULL", id);
	int found = res && PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 't';
	int ok = res != NULL;
	PQclear(res);
	ok = ok && DB_CMD("DELETE FROM mfa_recovery_codes WHERE user_id = $1::bigint", id) >= 0;
	if (!ok || db_commit() < 0) { db_rollback(); return -1; }
	return found;
}
