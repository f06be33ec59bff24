/* Deployment settings an admin changes on /admin/settings: stored in the `settings` table, they override
 * conf/rstream.conf for the keys listed in settings.c, and every FastCGI worker picks a change up by generation. */
#ifndef RS_SETTINGS_H
#define RS_SETTINGS_H
#include <stddef.h>
#include <json-c/json.h>

enum setting_kind { SET_TEXT, SET_INT, SET_BOOL, SET_LANG, SET_ZONE };
struct setting_def {
	const char *key;        /* config key it overrides, e.g. "upload.quota_mb" */
	enum setting_kind kind;
	long min, max;          /* SET_INT: range; SET_TEXT: max characters in max */
	const char *def;        /* built-in value when neither the file nor the database sets one */
};
extern const struct setting_def settings_defs[];
extern const int settings_ndefs;
const struct setting_def *settings_def(const char *key);

/* 1 if value is acceptable for the key ("" = back to the file's value); else 0 with a catalog key in err. */
int settings_valid(const struct setting_def *d, const char *value, char *err, int errlen);
/* The effective value (database, else file/environment, else the built-in default). */
const char *settings_value(const struct setting_def *d);

/* Map the host-wide change counter: in the master, before fork. */
int settings_shared_init(void);
/* Per request: re-read the overrides when this host saw a change, or when a second passed and the generation
 * in PostgreSQL moved (another host). Cheap: no query on most requests. */
void settings_refresh(void);
/* Load the overrides now (CLI commands that set passwords). 0 ok / -1. */
int settings_load(void);

/* Save n key/value pairs in one transaction ("" deletes the override); bumps the generation. Every real change is
 * appended to changes as {"key","old","new"}. 0 ok; -1 with a catalog key in err (bad value or database). */
int settings_save(const char *const *keys, const char *const *vals, int n, json_object *changes, char *err, int errlen);

/* The logo: PNG or JPEG, at most SETTINGS_LOGO_MAX bytes and 2000 px a side, checked by content (never by name). */
#define SETTINGS_LOGO_MAX (256 * 1024)
const char *settings_logo_sniff(const unsigned char *p, size_t n, int *w, int *h);   /* mime or NULL */
int settings_logo_put(const unsigned char *p, size_t n, char *err, int errlen);
int settings_logo_delete(void);

/* Password policy (settings password.min_length, password.require_mixed): 1 ok, else 0 with a catalog key. */
int settings_password_ok(const char *pw, char *err, int errlen);
long settings_password_min(void);
/* Sign-in methods: "password", "oidc", "cards". */
int settings_signin_enabled(const char *method);
#endif
