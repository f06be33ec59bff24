/* Configuration: conf/rstream.conf ("key = value", # comments) with environment overrides.
 * Typed fields land in `cfg`; every key stays readable through config_get. */
#include "config.h"
#include "arena.h"
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct config cfg;

#define MAXKEYS 256
struct kv_pair { char *k, *v; };
static struct kv_pair table[MAXKEYS];
static int nkeys;

void config_reset(void)
{
	for (int i = 0; i < nkeys; i++) { free(table[i].k); free(table[i].v); }
	nkeys = 0;
	config_override_replace(NULL, NULL, 0);
	memset(&cfg, 0, sizeof cfg);
}

static int config_set(const char *k, const char *v)
{
	for (int i = 0; i < nkeys; i++)
		if (!strcmp(table[i].k, k)) { free(table[i].v); table[i].v = strdup(v); return 0; }
	if (nkeys == MAXKEYS) return -1;
	table[nkeys].k = strdup(k);
	table[nkeys].v = strdup(v);
	nkeys++;
	return 0;
}

/* Values an admin set on the settings page (settings.c replaces them as a whole when the generation moves);
 * they win over the file and the environment for the keys settings.c allows. */
#define MAXOVER 32
static struct { char *k, *v; } over[MAXOVER];
static int nover;

void config_override_replace(const char *const *keys, const char *const *vals, int n)
{
	for (int i = 0; i < nover; i++) { free(over[i].k); free(over[i].v); }
	nover = 0;
	for (int i = 0; i < n && nover < MAXOVER; i++, nover++) {
		over[nover].k = strdup(keys[i]);
		over[nover].v = strdup(vals[i]);
	}
}

const char *config_get(const char *key, const char *def)
{
	for (int i = 0; i < nover; i++)
		if (!strcmp(over[i].k, key)) return over[i].v;
	return config_file_get(key, def);
}

const char *config_file_get(const char *key, const char *def)
{
	for (int i = 0; i < nkeys; i++)
		if (!strcmp(table[i].k, key)) return table[i].v;
	return def;
}

long config_get_int(const char *key, long def)
{
	const char *v = config_get(key, NULL);
	if (!v || !*v) return def;
	char *end;
	long n = strtol(v, &end, 10);
	return *end ? def : n;
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s)) s++;
	char *e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1])) *--e = 0;
	return s;
}

int config_parse_text(const char *text, char *err, int errlen)
{
	char *copy = strdup(text), *save = NULL;
	int lineno = 0, rc = 0;
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		lineno++;
		char *s = trim(line);
		if (!*s || *s == '#') continue;
		char *eq = strchr(s, '=');
		if (!eq) { snprintf(err, (size_t)errlen, "line %d: expected key = value", lineno); rc = -1; break; }
		*eq = 0;
		char *k = trim(s), *v = trim(eq + 1);
		if (!*k) { snprintf(err, (size_t)errlen, "line %d: empty key", lineno); rc = -1; break; }
		for (char *p = k; *p; p++)
			if (!isalnum((unsigned char)*p) && *p != '_' && *p != '.') {
				snprintf(err, (size_t)errlen, "line %d: bad key name '%s'", lineno, k);
				rc = -1; goto out;
			}
		size_t vl = strlen(v);
		if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"') { v[vl - 1] = 0; v++; }
		else {
			/* trailing comment: a '#' at the start or after whitespace */
			for (char *h = v; *h; h++)
				if (*h == '#' && (h == v || isspace((unsigned char)h[-1]))) { *h = 0; v = trim(v); break; }
		}
		config_set(k, v);
	}
out:
	free(copy);
	return rc;
}

/* environment name -> config key */
static const struct { const char *env, *key; } env_map[] = {
	{"DATABASE_URL", "database_url"}, {"DATABASE_READ_URL", "database_read_url"}, {"REDIS_URL", "redis_url"}, {"RSTREAM_SECRET", "secret"},
	{"RSTREAM_LISTEN", "listen"}, {"RSTREAM_DATA_DIR", "data_dir"}, {"RSTREAM_ROOT", "root_dir"},
	{"RSTREAM_PUBLIC_URL", "public_url"}, {"RSTREAM_TRUSTED_PROXIES", "trusted_proxies"},
	{"RSTREAM_WORKERS", "workers"}, {"RSTREAM_MAX_REQUESTS", "max_requests"},
	{"RSTREAM_KEPT_CONNECTIONS", "kept_connections"},
	{"RSTREAM_BODY_LIMIT", "body_limit"}, {"RSTREAM_SESSION_TTL", "session_ttl"},
	{"RSTREAM_SECURE_COOKIES", "secure_cookies"}, {"RSTREAM_HLS_SECRET", "hls_secret"},
	{"RSTREAM_VIDEO_MAX_MB", "video.max_upload_mb"}, {"RSTREAM_X264_PRESET", "video.x264_preset"},
	{"RSTREAM_UPLOAD_QUOTA_MB", "upload.quota_mb"}, {"RSTREAM_UPLOAD_MIN_FREE_MB", "upload.min_free_mb"},
	{"RSTREAM_BACKUP_DIR", "backup.dir"}, {"RSTREAM_BACKUP_KEY_FILE", "backup.key_file"},
	{"RSTREAM_LOG_DIR", "log.dir"},
};

static int want_int(const char *key, long def, long min, long max, long *out, char *err, int errlen)
{
	const char *v = config_get(key, NULL);
	if (!v || !*v) { *out = def; return 0; }
	char *end;
	errno = 0;
	long n = strtol(v, &end, 10);
	if (errno || *end || n < min || n > max) {
		snprintf(err, (size_t)errlen, "config %s: '%s' is not an integer in %ld..%ld", key, v, min, max);
		return -1;
	}
	*out = n;
	return 0;
}

int config_load(const char *path, char *err, int errlen)
{
	char pathbuf[4096];
	if (!path) path = getenv("RSTREAM_CONFIG");
	const char *root = getenv("RSTREAM_ROOT");
	if (!path) {
		snprintf(pathbuf, sizeof pathbuf, "%s/conf/rstream.conf", root ? root : ".");
		path = pathbuf;
		/* an installed rstream run from anywhere: the host's config (make install puts it there) */
		if (!root && access(path, R_OK) < 0) path = RSTREAM_SYSCONFDIR "/rstream.conf";
	}
	FILE *f = fopen(path, "r");
	if (f) {
		buf b = {0};
		char chunk[4096];
		size_t n;
		while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) buf_append(&b, chunk, n);
		fclose(f);
		int rc = b.p ? config_parse_text(b.p, err, errlen) : 0;
		buf_free(&b);
		if (rc < 0) {
			char tmp[512];
			snprintf(tmp, sizeof tmp, "%.200s: %.300s", path, err);
			snprintf(err, (size_t)errlen, "%s", tmp);
			return -1;
		}
	} else if (getenv("RSTREAM_CONFIG")) {
		snprintf(err, (size_t)errlen, "cannot read config %s", path);
		return -1;
	}
	for (size_t i = 0; i < sizeof env_map / sizeof env_map[0]; i++) {
		const char *v = getenv(env_map[i].env);
		if (v) config_set(env_map[i].key, v);
	}
	if (!config_get("root_dir", NULL)) {
		char cwd[4096];
		config_set("root_dir", getcwd(cwd, sizeof cwd) ? cwd : ".");
	}
	cfg.database_url = config_get("database_url", "postgresql:///rstream");
	cfg.redis_url = config_get("redis_url", "redis://127.0.0.1:6379/0");
	cfg.secret = config_get("secret", NULL);
	cfg.listen = config_get("listen", "127.0.0.1:9000");
	cfg.root_dir = config_get("root_dir", ".");
	cfg.data_dir = config_get("data_dir", NULL);
	if (!cfg.data_dir) {
		snprintf(pathbuf, sizeof pathbuf, "%s/var/data", cfg.root_dir);
		config_set("data_dir", pathbuf);
		cfg.data_dir = config_get("data_dir", NULL);
	}
	cfg.public_url = config_get("public_url", "http://127.0.0.1:8080");
	cfg.trusted_proxies = config_get("trusted_proxies", "");
	long n;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	if (want_int("workers", cores > 0 ? cores : 2, 1, 256, &n, err, errlen)) return -1;
	cfg.workers = (int)n;
	if (want_int("max_requests", 1000000, 1, 100000000, &n, err, errlen)) return -1;
	cfg.max_requests = (int)n;
	if (want_int("kept_connections", 128, 0, 4096, &n, err, errlen)) return -1;
	cfg.kept_connections = (int)n;
	if (want_int("body_limit", 1 << 20, 1024, 1L << 30, &n, err, errlen)) return -1;
	cfg.body_limit = n;
	if (want_int("session_ttl", 8 * 3600, 60, 30L * 86400, &n, err, errlen)) return -1;
	cfg.session_ttl = (int)n;
	if (want_int("login_max_failures", 5, 1, 1000, &n, err, errlen)) return -1;
	cfg.login_max_failures = (int)n;
	if (want_int("login_lockout_seconds", 900, 1, 86400, &n, err, errlen)) return -1;
	cfg.login_lockout_seconds = (int)n;
	/* a public https URL means TLS in front: Secure cookies and HSTS unless said otherwise */
	if (want_int("secure_cookies", !strncmp(cfg.public_url, "https://", 8), 0, 1, &n, err, errlen)) return -1;
	cfg.secure_cookies = (int)n;
	if (!cfg.secret || strlen(cfg.secret) < 32) {
		snprintf(err, (size_t)errlen, "RSTREAM_SECRET (config 'secret') must be set and at least 32 characters");
		return -1;
	}
	return 0;
}

int config_reload(char *err, int errlen)
{
	/* the running values stay in use until the new file parsed and validated as a whole */
	static struct kv_pair old[MAXKEYS];
	int nold = nkeys;
	memcpy(old, table, sizeof table[0] * (size_t)nkeys);
	struct config oldcfg = cfg;
	nkeys = 0;
	if (config_load(NULL, err, errlen) < 0) {
		for (int i = 0; i < nkeys; i++) { free(table[i].k); free(table[i].v); }
		memcpy(table, old, sizeof table[0] * (size_t)nold);
		nkeys = nold;
		cfg = oldcfg;
		return -1;
	}
	for (int i = 0; i < nold; i++) { free(old[i].k); free(old[i].v); }
	return 0;
}

static const char *join(const char *base, const char *rel)
{
	char *p;
	if (asprintf(&p, "%s/%s", base, rel) < 0) abort();
	return p;   /* long-lived by design: callers keep paths for the process lifetime */
}

const char *config_path(const char *rel) { return join(cfg.root_dir, rel); }
const char *config_data_path(const char *rel) { return join(cfg.data_dir, rel); }
