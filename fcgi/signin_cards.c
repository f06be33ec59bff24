/* Login cards in the database, see signin_cards.h. The code itself is never stored: only its keyed hash. */
#include "signin_cards.h"
#include <stdio.h>
#include <stdlib.h>
#include "config.h"
#include "db.h"
#include "log.h"
#include "signin_code.h"

int signin_card_issue(long user_id, const char *class_sid, long created_by, int days, char code[10])
{
	char canon[9], h[65], uid[24], by[24], ds[16];
	if (signin_code_new(code) < 0 || signin_code_normalize(code, canon) < 0) return -1;
	signin_hash(cfg.secret, "logincode", canon, h);
	snprintf(uid, sizeof uid, "%ld", user_id);
	snprintf(by, sizeof by, "%ld", created_by);
	snprintf(ds, sizeof ds, "%d", days);
	if (DB_CMD("UPDATE login_codes SET revoked_at = now() WHERE user_id = $1::bigint AND revoked_at IS NULL", uid) < 0 ||
	    DB_CMD("INSERT INTO login_codes (user_id, code_hash, class_sourced_id, created_by, expires_at) "
		   "VALUES ($1::bigint, $2, $3, NULLIF($4::bigint, 0), now() + make_interval(days => $5::int))",
		   uid, h, class_sid, by, ds) < 0) {
		log_error("login card for user %ld: %s", user_id, db_error());
		return -1;
	}
	return 0;
}

int signin_cards_cli(const char *email, const char *username, int days)
{
	PGresult *r = email ? DB_EXEC("SELECT id FROM users WHERE lower(email) = lower($1) AND NOT disabled", email)
			    : DB_EXEC("SELECT id FROM users WHERE username = $1 AND NOT disabled", username);
	if (!r || PQntuples(r) != 1) {
		PQclear(r);
		fprintf(stderr, "rstream user code: no (single) enabled user %s\n", email ? email : username);
		return 1;
	}
	long id = strtol(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	char code[10];
	if (signin_card_issue(id, NULL, 0, days, code) < 0) { fputs("rstream user code: failed (see log)\n", stderr); return 1; }
	printf("%s\n", code);
	return 0;
}
