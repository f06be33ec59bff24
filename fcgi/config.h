/* Configuration: conf/rstream.conf (key = value) overridden by environment variables.
 * Known keys are typed into `cfg`; any other key is readable with config_get*. */
#ifndef RS_CONFIG_H
#define RS_CONFIG_H

/* where an installed rstream looks for rstream.conf when neither RSTREAM_CONFIG nor RSTREAM_ROOT is set */
#ifndef RSTREAM_SYSCONFDIR
#define RSTREAM_SYSCONFDIR "/etc/rstream"
#endif

struct config {
	const char *database_url;   /* DATABASE_URL */
	const char *redis_url;      /* REDIS_URL, redis://host:port/db */
	const char *secret;         /* RSTREAM_SECRET, >= 32 chars */
	const char *listen;         /* RSTREAM_LISTEN: unix:/path or host:port; "-" = inherited fd 0 */
	const char *data_dir;       /* RSTREAM_DATA_DIR: uploads, media, exports */
	const char *root_dir;       /* RSTREAM_ROOT: where templates/, sql/, conf/ live */
	const char *public_url;     /* RSTREAM_PUBLIC_URL, e.g. http://127.0.0.1:8080 */
	const char *trusted_proxies;/* RSTREAM_TRUSTED_PROXIES: CIDR list, comma separated */
	int workers;                /* RSTREAM_WORKERS, default: number of cores */
	int max_requests;           /* recycle a worker after this many requests */
	int kept_connections;       /* per worker: web-server connections kept open between requests (FCGI_KEEP_CONN) */
	long body_limit;            /* bytes of an in-memory request body (JSON, forms) */
	int session_ttl;            /* seconds */
	int login_max_failures;     /* lockout after this many failures ... */
	int login_lockout_seconds;  /* ... for this long */
	int secure_cookies;         /* 1 behind TLS: Secure cookies + HSTS; default 1 when public_url is https */
};
extern struct config cfg;

/* Load file (may be NULL = $RSTREAM_CONFIG or conf/rstream.conf), apply env. 0 ok, -1 with err set. */
int config_load(const char *path, char *err, int errlen);
/* Parse one "key = value" text into the generic table (used by config_load; exposed for tests). */
/* Read the same file and environment again (SIGHUP). On an error the running configuration is kept whole and
 * -1 returned with err set. Strings from config_get before the call are freed on success: callers re-read. */
int config_reload(char *err, int errlen);
int config_parse_text(const char *text, char *err, int errlen);
void config_reset(void);
const char *config_get(const char *key, const char *def);        /* settings page override, else file/env */
const char *config_file_get(const char *key, const char *def);   /* file/env only (what an override replaces) */
/* Replace every settings-page override (copied); n = 0 drops them all. */
void config_override_replace(const char *const *keys, const char *const *vals, int n);
long config_get_int(const char *key, long def);
/* Absolute path under root_dir / data_dir (static storage per call site is not used: returns malloc'd, long-lived). */
const char *config_path(const char *rel);
const char *config_data_path(const char *rel);
#endif
