/* Sessions: HS256 JWT in an HttpOnly SameSite cookie (browsers) or a bearer header (API).
 * Revocation lives in Redis, mirrored in PostgreSQL so a Redis outage never re-opens a logged-out session. */
#include "session.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <time.h>
#include "cache.h"
#include "config.h"
#include "db.h"
#include "i18n.h"
#include "log.h"
#include "login_throttle.h"
#include "router.h"

/* jti set: the token must not be revoked in PostgreSQL either (Redis may have lost the key), and must carry the
 * user's current token generation (a password change bumps it, ending every older session); same round trip */
static struct user *user_load(arena *a, long id, const char *jti, long gen)
{
	char ids[24], gens[24];
	snprintf(ids, sizeof ids, "%ld", id);
	snprintf(gens, sizeof gens, "%ld", gen);
	PGresult *res = DB_EXEC("SELECT id, email, name, role, lang, sourced_id, time_zone FROM users "
				"WHERE id = $1::bigint AND NOT disabled "
				"AND ($2::text IS NULL OR (token_gen = $3::int "
				"AND NOT EXISTS (SELECT 1 FROM revoked_tokens WHERE jti = $2)))", ids, jti, gens);
	if (!res || PQntuples(res) != 1) { PQclear(res); return NULL; }
	struct user *u = arena_alloc(a, sizeof *u);
	u->id = id;
	u->email = arena_strdup(a, PQgetvalue(res, 0, 1));
	u->name = arena_strdup(a, PQgetvalue(res, 0, 2));
	u->role = arena_strdup(a, PQgetvalue(res, 0, 3));
	u->lang = PQgetisnull(res, 0, 4) ? NULL : arena_strdup(a, PQgetvalue(res, 0, 4));
	u->sourced_id = PQgetisnull(res, 0, 5) ? NULL : arena_strdup(a, PQgetvalue(res, 0, 5));
	u->time_zone = PQgetisnull(res, 0, 6) ? NULL : arena_strdup(a, PQgetvalue(res, 0, 6));
	PQclear(res);
	return u;
}

struct user *session_user_by_id(arena *a, long id) { return user_load(a, id, NULL, 0); }

void session_revoke(const char *jti, long exp)
{
	long ttl = exp - (long)time(NULL);
	if (ttl < 1) return;
	redisReply *r = cache_cmd("SET revoked:%s 1 EX %ld", jti, ttl);
	if (r) freeReplyObject(r);
	char e[24];
	snprintf(e, sizeof e, "%ld", exp);
	DB_CMD("INSERT INTO revoked_tokens (jti, expires_at) VALUES ($1, to_timestamp($2::bigint)) "
	       "ON CONFLICT DO NOTHING", jti, e);
	session_invalidate_all();   /* after the insert: a worker re-checking now sees the revocation */
	db_cmd("DELETE FROM revoked_tokens WHERE expires_at < now()", 0, NULL);
}

void session_set_cookie(req *r, const char *name, const char *value, long max_age)
{
	char *c = arena_printf(r->a, "%s=%s; Path=/; Max-Age=%ld; HttpOnly; SameSite=Lax%s", name, value, max_age,
			       cfg.secure_cookies ? "; Secure" : "");
	res_header(r, "Set-Cookie", c);
}

/* Checked sessions, per worker. A hit skips the database: the JWT signature and expiry are still verified on
 * every request. Entries live SESSION_CACHE_TTL seconds and die at once when any worker of this host bumps the
 * shared epoch (logout, role change, disable); on other hosts a logout takes effect within the TTL. */
#define SESSION_CACHE_SLOTS 64
#define SESSION_CACHE_TTL 1.0
struct cached_session {
	char jti[40];
	unsigned long epoch;
	double at;
	long id;
	char email[256], name[256], role[16], lang[8], sourced_id[256], time_zone[65];
	int has_lang, has_sourced_id;
};
static struct cached_session scache[SESSION_CACHE_SLOTS];
static volatile unsigned long *shared_epoch;

int session_cache_init(void)
{
	if (shared_epoch) return 0;
	void *p = mmap(NULL, sizeof *shared_epoch, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) return -1;
	shared_epoch = p;
	return 0;
}

void session_invalidate_all(void)
{
	if (shared_epoch) __atomic_add_fetch(shared_epoch, 1, __ATOMIC_SEQ_CST);
}

static double mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct cached_session *scache_slot(const char *jti)
{
	unsigned h = 5381;
	for (const char *p = jti; *p; p++) h = h * 33 + (unsigned char)*p;
	return &scache[h % SESSION_CACHE_SLOTS];
}

static struct user *scache_get(arena *a, const char *jti)
{
	if (!shared_epoch) return NULL;   /* CLI, tests: no cache */
	struct cached_session *c = scache_slot(jti);
	if (strcmp(c->jti, jti) || c->epoch != __atomic_load_n(shared_epoch, __ATOMIC_SEQ_CST) ||
	    mono_now() - c->at > SESSION_CACHE_TTL)
		return NULL;
	struct user *u = arena_alloc(a, sizeof *u);
	u->id = c->id;
	u->email = arena_strdup(a, c->email);
	u->name = arena_strdup(a, c->name);
	u->role = arena_strdup(a, c->role);
	u->lang = c->has_lang ? arena_strdup(a, c->lang) : NULL;
	u->sourced_id = c->has_sourced_id ? arena_strdup(a, c->sourced_id) : NULL;
	u->time_zone = c->time_zone[0] ? arena_strdup(a, c->time_zone) : NULL;
	return u;
}

static void scache_put(const char *jti, unsigned long epoch, const struct user *u)
{
	if (!shared_epoch || strlen(jti) >= sizeof scache[0].jti) return;
	struct cached_session *c = scache_slot(jti);
	snprintf(c->jti, sizeof c->jti, "%s", jti);
	c->epoch = epoch;
	c->at = mono_now();
	c->id = u->id;
	snprintf(c->email, sizeof c->email, "%s", u->email);
	snprintf(c->name, sizeof c->name, "%s", u->name);
	snprintf(c->role, sizeof c->role, "%s", u->role);
	c->has_lang = u->lang != NULL;
	snprintf(c->lang, sizeof c->lang, "%s", u->lang ? u->lang : "");
	c->has_sourced_id = u->sourced_id != NULL;
	snprintf(c->sourced_id, sizeof c->sourced_id, "%s", u->sourced_id ? u->sourced_id : "");
	snprintf(c->time_zone, sizeof c->time_zone, "%s", u->time_zone ? u->time_zone : "");
}

static struct user *user_from_token(req *r, const char *jwt, int bearer)
{
	struct token t;
	if (token_verify(cfg.secret, jwt, &t) != 0) return NULL;
	if (strcmp(t.kind, "session") && strcmp(t.kind, "api")) return NULL;
	struct user *u = scache_get(r->a, t.jti);
	if (!u) {
		/* read the epoch before the query: a bump during it leaves the entry already stale */
		unsigned long epoch = shared_epoch ? __atomic_load_n(shared_epoch, __ATOMIC_SEQ_CST) : 0;
		/* one round trip: the user query itself refuses a jti revoked in PostgreSQL (logout writes there and
		 * to Redis; Redis is only a cache, so asking it too would add a round trip and no certainty) */
		u = user_load(r->a, strtol(t.sub, NULL, 10), t.jti, t.gen);
		if (!u) return NULL;
		scache_put(t.jti, epoch, u);
	}
	u->jti = arena_strdup(r->a, t.jti);
	u->exp = t.exp;
	u->gen = t.gen;
	u->via_bearer = bearer;
	return u;
}

/* RF_TOKEN_AUTH routes: who the signed token says, without loading the account. A token revoked since, or
 * issued before a password change, is refused where the route stores what it was sent (learn_flush.c). */
static struct user *user_from_claims(req *r, const char *jwt, int bearer)
{
	struct token t;
	if (token_verify(cfg.secret, jwt, &t) != 0) return NULL;
	if (strcmp(t.kind, "session") && strcmp(t.kind, "api")) return NULL;
	char *end;
	long id = strtol(t.sub, &end, 10);
	if (*end || id <= 0 || role_rank(t.role) <= 0) return NULL;
	struct user *u = arena_alloc(r->a, sizeof *u);
	memset(u, 0, sizeof *u);
	u->id = id;
	u->role = arena_strdup(r->a, t.role);
	u->jti = arena_strdup(r->a, t.jti);
	u->exp = t.exp;
	u->gen = t.gen;
	u->via_bearer = bearer;
	return u;
}

/* Anonymous forms (login, language switch) are protected by a pre-session cookie: the token binds to it. */
static const char *pre_session(req *r, int create)
{
	const char *pre = req_cookie(r, "rs_pre");
	if (pre && strlen(pre) == 32) return pre;
	if (!create) return NULL;
	char *v = arena_alloc(r->a, 33);
	random_hex(v, 16);
	char *c = arena_printf(r->a, "rs_pre=%s; Path=/; HttpOnly; SameSite=Lax%s", v, cfg.secure_cookies ? "; Secure" : "");
	res_header(r, "Set-Cookie", c);
	/* later reads in this request see the new value; the other cookies stay */
	kv *nc = arena_alloc(r->a, (size_t)(r->ncookies + 1) * sizeof(kv));
	nc[0].k = "rs_pre";
	nc[0].v = v;
	for (int i = 0; i < r->ncookies; i++) nc[i + 1] = r->cookies[i];
	r->cookies = nc;
	r->ncookies++;
	return v;
}

/* The token pages embed in their forms, made here so rendering never has to call back into sessions.
 * JSON clients send tokens, they are never given one. */
static void csrf_prepare(req *r)
{
	if (req_wants_json(r) || (r->user && r->user->via_bearer)) return;
	char *out = arena_alloc(r->a, 65);
	if (r->user && r->user->jti) csrf_make(cfg.secret, r->user->jti, out);
	else csrf_make(cfg.secret, arena_printf(r->a, "pre:%s", pre_session(r, 1)), out);
	r->csrf = out;
}

void session_load(req *r)
{
	const char *auth = req_header(r, "Authorization");
	struct user *(*from)(req *, const char *, int) =
		r->route && (r->route->flags & RF_TOKEN_AUTH) ? user_from_claims : user_from_token;
	if (auth && !strncasecmp(auth, "Bearer ", 7)) r->user = from(r, auth + 7, 1);
	else if (req_cookie(r, "rs_session")) r->user = from(r, req_cookie(r, "rs_session"), 0);
	const char *choice = req_cookie(r, "rs_lang");
	if (!choice && r->user) choice = r->user->lang;
	r->lang = i18n_pick(choice, req_header(r, "Accept-Language"));
	if (r->user) r->log_user = r->user->email;
	csrf_prepare(r);
}

int session_csrf_ok(req *r)
{
	const char *given = req_header(r, "X-CSRF-Token");
	if (!given) given = req_form(r, "_csrf");
	if (!given) return 0;
	if (r->user && r->user->jti) return csrf_check(cfg.secret, r->user->jti, given);
	const char *pre = pre_session(r, 0);
	return pre && csrf_check(cfg.secret, arena_printf(r->a, "pre:%s", pre), given);
}

int session_check_password(const char *email, const char *password, const char *ip, long *user_id, long *retry_after)
{
	*retry_after = 0;
	/* throttled attempts are refused before the password is looked at, the same way for every e-mail */
	int t = login_throttle_check(email, ip, retry_after);
	if (t < 0) return -4;
	if (t > 0) return -2;
	char norm[320];
	login_normalize_email(email, norm, sizeof norm);
	/* pupils often have no e-mail: without an "@" the roster user name names the account (when exactly one has it) */
	/* mfa: with a second factor the password alone proves nothing yet (h_mfa.c forgets the failures after the code) */
	PGresult *res = DB_EXEC("SELECT id, password_hash, disabled, EXISTS (SELECT 1 FROM mfa_totp m WHERE m.user_id = users.id "
				"AND m.confirmed_at IS NOT NULL) AS mfa FROM users WHERE lower(email) = lower($1) "
				"OR (strpos($1, '@') = 0 AND lower(username) = $1) LIMIT 2", norm);
	/* PostgreSQL unreachable: nobody is told "wrong password" and nothing is counted */
	if (!res) return -4;
	int found = PQntuples(res) == 1;
	const char *stored = found && !PQgetisnull(res, 0, 1) ? PQgetvalue(res, 0, 1) : NULL;
	/* verify even for unknown users so timing does not tell them apart */
	int ok = password_verify(password, stored ? stored
				 : "scrypt$16384$8$1$00000000000000000000000000000000$0000000000000000000000000000000000000000000000000000000000000000");
	ok = ok && found && stored && PQgetvalue(res, 0, 2)[0] != 't';
	long id = found ? strtol(PQgetvalue(res, 0, 0), NULL, 10) : 0;
	int mfa = found && PQgetvalue(res, 0, 3)[0] == 't';
	PQclear(res);
	if (ok && mfa) { *user_id = id; return 0; }
	if (ok) {
		char ids[24];
		snprintf(ids, sizeof ids, "%ld", id);
		if (login_throttle_succeeded(email, ip) < 0 ||
		    DB_CMD("UPDATE users SET last_login_at = now() WHERE id = $1::bigint", ids) < 0)
			return db_outage() ? -4 : -1;
		*user_id = id;
		return 0;
	}
	if (login_throttle_failed(email, ip) < 0 && db_outage()) return -4;
	return -1;
}

char *session_issue(long user_id, const char *kind, struct token *t)
{
	memset(t, 0, sizeof *t);
	snprintf(t->sub, sizeof t->sub, "%ld", user_id);
	snprintf(t->kind, sizeof t->kind, "%s", kind);
	char ids[24];
	snprintf(ids, sizeof ids, "%ld", user_id);
	PGresult *res = DB_EXEC("SELECT role, token_gen FROM users WHERE id = $1::bigint", ids);
	if (!res || PQntuples(res) != 1) { PQclear(res); return NULL; }
	snprintf(t->role, sizeof t->role, "%s", PQgetvalue(res, 0, 0));
	t->gen = strtol(PQgetvalue(res, 0, 1), NULL, 10);
	PQclear(res);
	return token_issue(cfg.secret, t, cfg.session_ttl);
}
