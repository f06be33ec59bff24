/* Message catalogs: every conf/i18n/<lang>*.json is merged into one flat object per language.
 * Japanese is the default and the fallback; English second. */
#include "i18n.h"
#include "config.h"
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "http.h"
#include "log.h"

static const char *langs[] = {"ja", "en"};
static json_object *catalogs[2];

static int lang_index(const char *lang)
{
	if (lang && !strcmp(lang, "en")) return 1;
	return 0;
}

int i18n_load(const char *dir)
{
	for (int i = 0; i < 2; i++) {
		if (catalogs[i]) json_object_put(catalogs[i]);
		catalogs[i] = json_object_new_object();
	}
	DIR *d = opendir(dir);
	if (!d) return -1;
	struct dirent *e;
	int rc = 0;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (l < 6 || strcmp(e->d_name + l - 5, ".json")) continue;
		for (int i = 0; i < 2; i++) {
			size_t ll = strlen(langs[i]);
			if (strncmp(e->d_name, langs[i], ll) || (e->d_name[ll] != '.' )) continue;
			char path[4096];
			snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
			json_object *o = json_object_from_file(path);
			if (!o || !json_object_is_type(o, json_type_object)) {
				log_error("i18n: %s is not a JSON object", path);
				rc = -1;
				json_object_put(o);
				continue;
			}
			json_object_object_foreach(o, k, v) json_object_object_add(catalogs[i], k, json_object_get(v));
			json_object_put(o);
		}
	}
	closedir(d);
	return rc;
}

const char *i18n_get(const char *lang, const char *key)
{
	json_object *v;
	int i = lang_index(lang);
	if (catalogs[i] && json_object_object_get_ex(catalogs[i], key, &v)) return json_object_get_string(v);
	if (catalogs[0] && json_object_object_get_ex(catalogs[0], key, &v)) return json_object_get_string(v);
	return key;
}

json_object *i18n_catalog(const char *lang)
{
	int i = lang_index(lang);
	if (!catalogs[i]) catalogs[i] = json_object_new_object();
	return catalogs[i];
}

const char *i18n_pick(const char *choice, const char *accept)
{
	if (choice && (!strcmp(choice, "ja") || !strcmp(choice, "en"))) return choice;
	/* a deployment language set by the admin (settings page) wins over the browser's wish */
	const char *def = config_get("default_lang", "");
	if (!strcmp(def, "ja") || !strcmp(def, "en")) return def;
	if (!accept) return "ja";
	/* first language tag we support, in the client's order (q-values ignored: browsers list best first) */
	const char *p = accept;
	while (*p) {
		while (*p == ' ' || *p == ',') p++;
		if (!strncasecmp(p, "ja", 2)) return "ja";
		if (!strncasecmp(p, "en", 2)) return "en";
		p += strcspn(p, ",");
	}
	return "ja";
}

const char *tr(req *r, const char *key) { return i18n_get(r->lang, key); }

const char *tr_n(req *r, const char *key, long n)
{
	const char *s = tr(r, key);
	if (!strchr(s, '#')) return s;
	buf b = {0};
	char num[24];
	snprintf(num, sizeof num, "%ld", n);
	for (const char *p = s; *p; p++) {
		if (*p == '#') buf_puts(&b, num);
		else buf_append(&b, p, 1);
	}
	const char *out = arena_strndup(r->a, b.p, b.len);
	buf_free(&b);
	return out;
}

const char *tr_code(req *r, const char *prefix, const char *value)
{
	if (!value || !*value) return "";
	const char *key = arena_printf(r->a, "%s%s", prefix, value);
	const char *s = i18n_get(r->lang, key);
	return s == key ? value : s;
}

static void label_field(req *r, json_object *o, const char *prefix, const char *field)
{
	json_object *v;
	if (!json_object_object_get_ex(o, field, &v) || !v) return;
	const char *val = json_object_get_string(v);   /* booleans read as "true"/"false" */
	buf out = {0};
	/* "teacher, aide": each item labelled, joined the way the language lists things */
	const char *sep = strcmp(r->lang, "en") ? "、" : ", ";
	for (const char *p = val; *p;) {
		size_t n = strcspn(p, ",");
		while (n && p[n - 1] == ' ') n--;
		const char *item = arena_strndup(r->a, p, n);
		if (out.len) buf_puts(&out, sep);
		buf_puts(&out, tr_code(r, prefix, item));
		p += strcspn(p, ",");
		while (*p == ',' || *p == ' ') p++;
	}
	json_object_object_add(o, arena_printf(r->a, "%s_label", field), json_object_new_string(out.p ? out.p : ""));
	buf_free(&out);
}

void tr_codes(req *r, json_object *obj, const char *prefix, const char *const *fields)
{
	if (!obj) return;
	size_t n = json_object_is_type(obj, json_type_array) ? json_object_array_length(obj) : 1;
	for (size_t i = 0; i < n; i++) {
		json_object *o = json_object_is_type(obj, json_type_array) ? json_object_array_get_idx(obj, i) : obj;
		if (!json_object_is_type(o, json_type_object)) continue;
		for (int f = 0; fields[f]; f++) label_field(r, o, prefix, fields[f]);
	}
}
