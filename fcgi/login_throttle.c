/* Login throttling with exponential backoff, kept in PostgreSQL (a login needs it anyway, so a Redis outage
 * no longer switches throttling off). Three counters per failure: the (account, address) pair is the tight one,
 * so an attacker slows down only their own attempts; the account-wide and address-wide ones are loose and catch
 * attacks spread over many addresses or many accounts. Unknown and existing e-mails are counted alike. */
#include "login_throttle.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "auth.h"
#include "config.h"
#include "db.h"

/* account-wide and address-wide counters allow this many times the per-pair failures before slowing down */
#define WIDE_FACTOR 10

void login_normalize_email(const char *in, char *out, size_t outlen)
{
	if (!outlen) return;
	if (!in) in = "";
	while (*in == ' ' || *in == '\t' || *in == '\r' || *in == '\n' || *in == '\f' || *in == '\v') in++;
	size_t n = strlen(in);
	while (n && (in[n - 1] == ' ' || in[n - 1] == '\t' || in[n - 1] == '\r' || in[n - 1] == '\n' ||
		     in[n - 1] == '\f' || in[n - 1] == '\v'))
		n--;
	if (n >= outlen) n = outlen - 1;
	for (size_t i = 0; i < n; i++) out[i] = in[i] >= 'A' && in[i] <= 'Z' ? (char)(in[i] - 'A' + 'a') : in[i];
	out[n] = 0;
}

long login_backoff_seconds(long fails, long free_fails, long cap)
{
	if (fails < free_fails) return 0;
	long over = fails - free_fails, wait = 1;
	while (over-- > 0 && wait < cap) wait *= 2;
	return wait < cap ? wait : cap;
}

struct keys {
	char account[65];                 /* sha256 of the normalised e-mail */
	char acct[68], pair[68], addr[80];
};

static void make_keys(const char *email, const char *ip, struct keys *k)
{
	char norm[320], h[65];
	login_normalize_email(email, norm, sizeof norm);
	sha256_hex(norm, strlen(norm), k->account);
	snprintf(k->acct, sizeof k->acct, "a:%s", k->account);
	char both[400];
	snprintf(both, sizeof both, "%s|%s", norm, ip ? ip : "");
	sha256_hex(both, strlen(both), h);
	snprintf(k->pair, sizeof k->pair, "p:%s", h);
	snprintf(k->addr, sizeof k->addr, "i:%.70s", ip ? ip : "");
}

int login_throttle_check(const char *email, const char *ip, long *retry_after)
{
	struct keys k;
	make_keys(email, ip, &k);
	*retry_after = 0;
	PGresult *res = DB_EXEC("SELECT COALESCE(max(ceil(extract(epoch FROM wait_until - now())))::bigint, 0) "
				"FROM login_throttle WHERE key IN ($1, $2, $3) AND wait_until > now()",
				k.pair, k.acct, k.addr);
	if (!res) return -1;
	long wait = strtol(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	*retry_after = wait > 0 ? wait : 0;
	return wait > 0;
}

int login_throttle_failed(const char *email, const char *ip)
{
	struct keys k;
	make_keys(email, ip, &k);
	char freep[16], freew[16], cap[16];
	snprintf(freep, sizeof freep, "%d", cfg.login_max_failures);
	snprintf(freew, sizeof freew, "%d", cfg.login_max_failures * WIDE_FACTOR);
	snprintf(cap, sizeof cap, "%d", cfg.login_lockout_seconds);
	/* one statement for the three counters; a counter idle for longer than the cap starts again from 1 */
	PGresult *res = DB_EXEC(
		"WITH k(key, account, free) AS (VALUES ($1, $4, $5::int), ($2, $4, $6::int), ($3, NULL, $6::int)), "
		"up AS (INSERT INTO login_throttle AS t (key, account, fails, updated_at) "
		"  SELECT key, account, 1, now() FROM k "
		"  ON CONFLICT (key) DO UPDATE SET fails = CASE WHEN t.updated_at < now() - make_interval(secs => $7::int) "
		"    THEN 1 ELSE t.fails + 1 END, updated_at = now() RETURNING t.key, t.fails) "
		"SELECT up.key, up.fails, k.free FROM up JOIN k USING (key)",
		k.pair, k.acct, k.addr, k.account, freep, freew, cap);
	if (!res) return -1;
	for (int i = 0; i < PQntuples(res); i++) {
		long fails = strtol(PQgetvalue(res, i, 1), NULL, 10), free_fails = strtol(PQgetvalue(res, i, 2), NULL, 10);
		long wait = login_backoff_seconds(fails, free_fails, cfg.login_lockout_seconds);
		if (!wait) continue;
		char w[24];
		snprintf(w, sizeof w, "%ld", wait);
		DB_CMD("UPDATE login_throttle SET wait_until = now() + make_interval(secs => $2::int) WHERE key = $1",
		       PQgetvalue(res, i, 0), w);
	}
	PQclear(res);
	/* forget what has been idle longer than the cap (indexed on updated_at) */
	return DB_CMD("DELETE FROM login_throttle WHERE updated_at < now() - make_interval(secs => $1::int) * 2", cap);
}

int login_throttle_succeeded(const char *email, const char *ip)
{
	struct keys k;
	make_keys(email, ip, &k);
	/* the address-wide counter stays: one valid account must not wipe an address that sprays others */
	return DB_CMD("DELETE FROM login_throttle WHERE key IN ($1, $2)", k.pair, k.acct);
}

int login_throttle_unlock(const char *email)
{
	struct keys k;
	make_keys(email, NULL, &k);
	return DB_CMD("DELETE FROM login_throttle WHERE account = $1", k.account);
}

json_object *login_throttle_state(const char *email)
{
	struct keys k;
	make_keys(email, NULL, &k);
	/* failures: the account-wide counter (every failure counts there); wait: the longest of any of its rows */
	PGresult *res = DB_EXEC("SELECT COALESCE(max(fails) FILTER (WHERE key = $2), 0)::bigint, "
				"COALESCE(max(ceil(extract(epoch FROM wait_until - now()))) FILTER (WHERE wait_until > now()), 0)::bigint "
				"FROM login_throttle WHERE account = $1", k.account, k.acct);
	if (!res) return NULL;
	json_object *o = json_object_new_object();
	json_object_object_add(o, "failures", json_object_new_int64(strtoll(PQgetvalue(res, 0, 0), NULL, 10)));
	json_object_object_add(o, "wait_seconds", json_object_new_int64(strtoll(PQgetvalue(res, 0, 1), NULL, 10)));
	PQclear(res);
	return o;
}
