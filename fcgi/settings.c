/* Deployment settings from the admin settings page: which keys may be overridden, their checks, the per-worker
 * copy and its refresh by generation number, and the logo image. No HTTP here (h_settings.c renders). */
#include "settings.h"
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include "auth.h"
#include "config.h"
#include "db.h"
#include "log.h"
#include "timefmt.h"

/* Only these keys can be set from the UI; secrets, ports and paths stay in the file and the environment.
 * video.max_upload_mb stops at 4096: nginx refuses larger upload bodies anyway (client_max_body_size 4g). */
const struct setting_def settings_defs[] = {
	{"site.name",              SET_TEXT, 0, 60,       "R-Stream"},
	{"default_lang",           SET_LANG, 0, 0,        ""},
	{"timezone",               SET_ZONE, 0, 0,        TIME_ZONE_DEFAULT},
	{"password.min_length",    SET_INT,  8, 128,      "10"},
	{"password.require_mixed", SET_BOOL, 0, 1,        "0"},
	{"signin.password",        SET_BOOL, 0, 1,        "1"},
	{"signin.oidc",            SET_BOOL, 0, 1,        "1"},
	{"signin.cards",           SET_BOOL, 0, 1,        "1"},
	{"mfa.required_admins",    SET_BOOL, 0, 1,        "0"},   /* admins need a second factor (h_mfa.c) */
	{"upload.quota_mb",        SET_INT,  0, 10000000, "20480"},
	{"video.max_upload_mb",    SET_INT,  1, 4096,     "4096"},
};
const int settings_ndefs = sizeof settings_defs / sizeof settings_defs[0];
#define LOGO_KEY "site.logo"

const struct setting_def *settings_def(const char *key)
{
	for (int i = 0; key && i < settings_ndefs; i++)
		if (!strcmp(settings_defs[i].key, key)) return &settings_defs[i];
	return NULL;
}

static int utf8_chars(const char *s)
{
	int n = 0;
	for (; *s; s++) if (((unsigned char)*s & 0xC0) != 0x80) n++;
	return n;
}

int settings_valid(const struct setting_def *d, const char *v, char *err, int errlen)
{
	const char *why = NULL;
	if (!d) why = "settings_err_unknown";
	else if (!v) why = "settings_err_missing";
	else if (!*v) return 1;
	else if (d->kind == SET_TEXT) {
		for (const char *p = v; *p; p++) if (iscntrl((unsigned char)*p)) { why = "settings_err_text"; break; }
		if (!why && utf8_chars(v) > d->max) why = "settings_err_text";
	} else if (d->kind == SET_INT) {
		char *end;
		long n = strtol(v, &end, 10);
		if (*end || strlen(v) > 12 || n < d->min || n > d->max) why = "settings_err_int";
	} else if (d->kind == SET_BOOL) {
		if (strcmp(v, "0") && strcmp(v, "1")) why = "settings_err_bool";
	} else if (d->kind == SET_LANG) {
		if (strcmp(v, "ja") && strcmp(v, "en")) why = "settings_err_lang";
	} else if (d->kind == SET_ZONE) {
		if (!time_zone_valid(v)) why = "settings_err_zone";
	}
	if (why) { snprintf(err, (size_t)errlen, "%s", why); return 0; }
	return 1;
}

const char *settings_value(const struct setting_def *d)
{
	return config_get(d->key, d->def);
}

/* ---- the per-worker copy ---- */

static volatile unsigned long *shared_changes;   /* bumped by a worker of this host after it saved */
static unsigned long seen_changes;
static long loaded_gen = -1;
static double checked_at = -10;

int settings_shared_init(void)
{
	if (shared_changes) return 0;
	void *p = mmap(NULL, sizeof *shared_changes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) return -1;
	shared_changes = p;
	return 0;
}

static double mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int settings_load(void)
{
	PGresult *res = DB_EXEC0("SELECT key, value FROM settings WHERE key LIKE '%.%' OR key IN "
				 "('default_lang', 'timezone')");
	if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
		if (res) PQclear(res);
		return -1;
	}
	const char *keys[32], *vals[32];
	int n = 0;
	long gen = 0;
	char err[64];
	for (int i = 0; i < PQntuples(res) && n < 32; i++) {
		const char *k = PQgetvalue(res, i, 0), *v = PQgetvalue(res, i, 1);
		if (!strcmp(k, "settings.generation")) { gen = strtol(v, NULL, 10); continue; }
		/* other modules' rows are not ours; a row edited by hand into something invalid is ignored */
		if (strcmp(k, LOGO_KEY) && !settings_def(k)) continue;
		if (strcmp(k, LOGO_KEY) && !settings_valid(settings_def(k), v, err, sizeof err)) {
			log_error("settings: ignoring invalid %s", k);
			continue;
		}
		keys[n] = k;
		vals[n++] = v;
	}
	config_override_replace(keys, vals, n);
	loaded_gen = gen;
	PQclear(res);
	return 0;
}

void settings_refresh(void)
{
	double now = mono_now();
	unsigned long ch = shared_changes ? __atomic_load_n(shared_changes, __ATOMIC_SEQ_CST) : 0;
	if (ch == seen_changes && now - checked_at < 1.0) return;
	checked_at = now;
	PGresult *res = DB_EXEC0("SELECT value FROM settings WHERE key = 'settings.generation'");
	if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
		/* keep the values we have; the next second tries again. Not this request's outage: a route that needs
		 * no database (the heartbeats) must not answer 503 because this look failed */
		if (res) PQclear(res);
		db_outage_clear();
		return;
	}
	long gen = PQntuples(res) ? strtol(PQgetvalue(res, 0, 0), NULL, 10) : 0;
	PQclear(res);
	/* seen only after a successful look: a failed one must not swallow this host's change */
	seen_changes = ch;
	if (gen != loaded_gen && settings_load() < 0) log_error("settings: cannot load: %s", db_error());
}

static void changed_here(void)
{
	if (shared_changes) __atomic_add_fetch(shared_changes, 1, __ATOMIC_SEQ_CST);
	checked_at = -10;
	settings_refresh();
}

static int bump_generation(void)
{
	return DB_CMD("INSERT INTO settings (key, value, updated_at) VALUES ('settings.generation', $1, now()) "
		      "ON CONFLICT (key) DO UPDATE SET value = (settings.value::bigint + 1)::text, updated_at = now()", "1");
}

/* What the file (or environment, or built-in default) says: an override equal to it is no override. */
static const char *file_value(const struct setting_def *d) { return config_file_get(d->key, d->def); }

int settings_save(const char *const *keys, const char *const *vals, int n, json_object *changes, char *err, int errlen)
{
	for (int i = 0; i < n; i++)
		if (!settings_valid(settings_def(keys[i]), vals[i], err, errlen)) return -1;
	if (db_begin() < 0) goto dberr;
	int changed = 0;
	for (int i = 0; i < n; i++) {
		const struct setting_def *d = settings_def(keys[i]);
		const char *nv = strcmp(vals[i], file_value(d)) ? vals[i] : "";
		/* FOR UPDATE: two admins saving at once are serialised and each sees the other's value as "old" */
		PGresult *res = DB_EXEC("SELECT value FROM settings WHERE key = $1 FOR UPDATE", d->key);
		if (!res) goto rollback;
		char *old = strdup(PQntuples(res) ? PQgetvalue(res, 0, 0) : "");
		PQclear(res);
		int rc = 0, same = !strcmp(old, nv);
		if (!same && *nv)
			rc = DB_CMD("INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, now()) ON CONFLICT (key) "
				    "DO UPDATE SET value = EXCLUDED.value, updated_at = now()", d->key, nv);
		else if (!same)
			rc = DB_CMD("DELETE FROM settings WHERE key = $1", d->key);
		if (!same && changes) {
			/* the audit shows values in effect, before and after, not the rows */
			json_object *c = json_object_new_object();
			json_object_object_add(c, "key", json_object_new_string(d->key));
			json_object_object_add(c, "old", json_object_new_string(*old ? old : file_value(d)));
			json_object_object_add(c, "new", json_object_new_string(*nv ? nv : file_value(d)));
			json_object_array_add(changes, c);
		}
		free(old);
		if (rc < 0) goto rollback;
		changed |= !same;
	}
	if (changed && bump_generation() < 0) goto rollback;
	if (db_commit() < 0) goto dberr;
	if (changed) changed_here();
	return 0;
rollback:
	db_rollback();
dberr:
	log_error("settings save: %s", db_error());
	snprintf(err, (size_t)errlen, "%s", "settings_err_db");
	return -1;
}

/* ---- logo ---- */

static uint32_t be32(const unsigned char *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

/* PNG: signature, IHDR first, every chunk inside the buffer, IEND last. JPEG: SOI, a frame header (SOFn) with the
 * size, markers walked up to the scan. Anything else (SVG, GIF, HTML) is refused. */
const char *settings_logo_sniff(const unsigned char *p, size_t n, int *w, int *h)
{
	static const unsigned char png[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
	*w = *h = 0;
	if (n >= 33 && !memcmp(p, png, 8) && be32(p + 8) == 13 && !memcmp(p + 12, "IHDR", 4)) {
		*w = (int)(be32(p + 16) & 0x7fffffff);
		*h = (int)(be32(p + 20) & 0x7fffffff);
		size_t off = 8;
		while (off + 12 <= n) {
			uint32_t len = be32(p + off);
			if (len > n - off - 12) return NULL;
			if (!memcmp(p + off + 4, "IEND", 4)) return off + 12 + len == n ? "image/png" : NULL;
			off += 12 + len;
		}
		return NULL;
	}
	if (n >= 4 && p[0] == 0xFF && p[1] == 0xD8) {
		size_t off = 2;
		while (off + 4 <= n) {
			if (p[off] != 0xFF) return NULL;
			unsigned m = p[off + 1];
			if (m == 0xFF) { off++; continue; }   /* fill byte */
			size_t len = (size_t)p[off + 2] << 8 | p[off + 3];
			if (len < 2 || off + 2 + len > n) return NULL;
			if (m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC) {
				if (len < 7) return NULL;
				*h = p[off + 5] << 8 | p[off + 6];
				*w = p[off + 7] << 8 | p[off + 8];
				return *w > 0 && *h > 0 ? "image/jpeg" : NULL;
			}
			if (m == 0xDA) return NULL;   /* a scan before any frame header */
			off += 2 + len;
		}
	}
	return NULL;
}

int settings_logo_put(const unsigned char *p, size_t n, char *err, int errlen)
{
	int w, h;
	const char *why = NULL, *mime = NULL;
	if (!n) why = "settings_err_logo_empty";
	else if (n > SETTINGS_LOGO_MAX) why = "settings_err_logo_size";
	else if (!(mime = settings_logo_sniff(p, n, &w, &h))) why = "settings_err_logo_type";
	else if (w < 1 || h < 1 || w > 2000 || h > 2000) why = "settings_err_logo_dims";
	if (why) { snprintf(err, (size_t)errlen, "%s", why); return -1; }
	char sum[65];
	sha256_hex(p, n, sum);
	sum[16] = 0;   /* the version in the logo's URL */
	/* bytea travels as one binary parameter: no hex round trip for 256 KiB */
	const char *params[3] = {mime, (const char *)p, sum};
	int lens[3] = {0, (int)n, 0}, fmts[3] = {0, 1, 0};
	if (db_begin() < 0) goto dberr;
	PGconn *c = db_conn();
	PGresult *res = c ? PQexecParams(c, "INSERT INTO site_logo (id, mime, bytes, sha256) VALUES (1, $1, $2, $3) "
					"ON CONFLICT (id) DO UPDATE SET mime = EXCLUDED.mime, bytes = EXCLUDED.bytes, "
					"sha256 = EXCLUDED.sha256, updated_at = now()", 3, NULL, params, lens, fmts, 0) : NULL;
	int ok = res && PQresultStatus(res) == PGRES_COMMAND_OK;
	if (!ok) log_error("settings logo: %s", c ? PQerrorMessage(c) : "no connection");
	if (res) PQclear(res);
	if (!ok || DB_CMD("INSERT INTO settings (key, value, updated_at) VALUES ('" LOGO_KEY "', $1, now()) "
			  "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()", sum) < 0 ||
	    bump_generation() < 0) {
		db_rollback();
		goto dberr;
	}
	if (db_commit() < 0) goto dberr;
	changed_here();
	return 0;
dberr:
	snprintf(err, (size_t)errlen, "%s", "settings_err_db");
	return -1;
}

int settings_logo_delete(void)
{
	if (db_begin() < 0) return -1;
	if (DB_CMD("DELETE FROM site_logo WHERE id = $1::int", "1") < 0 ||
	    DB_CMD("DELETE FROM settings WHERE key = $1", LOGO_KEY) < 0 || bump_generation() < 0) {
		db_rollback();
		return -1;
	}
	if (db_commit() < 0) return -1;
	changed_here();
	return 0;
}

/* ---- what other modules ask ---- */

long settings_password_min(void) { return config_get_int("password.min_length", 10); }

int settings_password_ok(const char *pw, char *err, int errlen)
{
	const char *why = NULL;
	size_t len = pw ? strlen(pw) : 0;
	/* counted in characters, not bytes: a Japanese passphrase is not "longer" for being UTF-8 */
	if (!pw || utf8_chars(pw) < settings_password_min()) why = "users_err_password_short";
	else if (len > 256) why = "users_err_password_long";
	else if (config_get_int("password.require_mixed", 0)) {
		int alpha = 0, digit = 0;
		for (const char *p = pw; *p; p++) {
			if (isalpha((unsigned char)*p)) alpha = 1;
			if (isdigit((unsigned char)*p)) digit = 1;
		}
		if (!alpha || !digit) why = "users_err_password_mixed";
	}
	if (why) { snprintf(err, (size_t)errlen, "%s", why); return 0; }
	return 1;
}

int settings_signin_enabled(const char *method)
{
	char key[32];
	snprintf(key, sizeof key, "signin.%s", method);
	return config_get_int(key, 1) != 0;
}
