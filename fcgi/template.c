/* Mustache-subset template engine over json-c values.
 * Templates are parsed once into a node tree; rendering walks it with a context stack. */
#include "template.h"
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum ntype { N_TEXT, N_VAR, N_RAW, N_URL, N_SECTION, N_INVERTED, N_PARTIAL };
struct node {
	enum ntype type;
	char *text;            /* literal text, or the name */
	size_t len;
	struct node *child;    /* sections */
	struct node *next;
};
struct tmpl { char *name; struct node *root; };

#define MAX_DEPTH 32
#define MAX_TEMPLATES 512
static struct { char *name; tmpl *t; } registry[MAX_TEMPLATES];
static int nregistry;

static void nodes_free(struct node *n)
{
	while (n) {
		struct node *next = n->next;
		nodes_free(n->child);
		free(n->text);
		free(n);
		n = next;
	}
}

void tmpl_free(tmpl *t)
{
	if (!t) return;
	nodes_free(t->root);
	free(t->name);
	free(t);
}

static struct node *node_new(enum ntype type, const char *s, size_t len)
{
	struct node *n = calloc(1, sizeof *n);
	n->type = type;
	n->text = strndup(s, len);
	n->len = len;
	return n;
}

static void trim_span(const char **s, size_t *len)
{
	while (*len && (**s == ' ' || **s == '\t')) { (*s)++; (*len)--; }
	while (*len && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t')) (*len)--;
}

/* Parse src[*pos..] until {{/end}} (or end of input when end is NULL). */
static struct node *parse(const char *src, size_t *pos, const char *end, size_t endlen, int depth,
			  char *err, int errlen, int *failed)
{
	struct node head = {0}, *tail = &head;
	size_t n = strlen(src);
	if (depth > MAX_DEPTH) { snprintf(err, (size_t)errlen, "sections nested too deep"); *failed = 1; return NULL; }
	while (*pos < n) {
		const char *open = strstr(src + *pos, "{{");
		size_t tstart = *pos, tlen = open ? (size_t)(open - (src + *pos)) : n - *pos;
		if (tlen) { tail->next = node_new(N_TEXT, src + tstart, tlen); tail = tail->next; }
		if (!open) { *pos = n; break; }
		size_t p = (size_t)(open - src) + 2;
		int triple = src[p] == '{';
		if (triple) p++;
		const char *close = strstr(src + p, triple ? "}}}" : "}}");
		if (!close) { snprintf(err, (size_t)errlen, "unclosed tag at offset %zu", (size_t)(open - src)); *failed = 1; break; }
		const char *tag = src + p;
		size_t taglen = (size_t)(close - tag);
		*pos = (size_t)(close - src) + (triple ? 3 : 2);
		char sigil = triple ? '&' : (taglen ? tag[0] : 0);
		if (!triple && strchr("#^/>&!%", sigil) && sigil) { tag++; taglen--; }
		trim_span(&tag, &taglen);
		if (sigil == '!') continue;
		if (!taglen) { snprintf(err, (size_t)errlen, "empty tag at offset %zu", (size_t)(open - src)); *failed = 1; break; }
		if (sigil == '/') {
			if (!end || taglen != endlen || strncmp(tag, end, endlen)) {
				snprintf(err, (size_t)errlen, "unexpected {{/%.*s}}", (int)taglen, tag);
				*failed = 1;
				/* found by tests/fuzz/fuzz_template: a stray close tag leaked what was parsed before it */
				nodes_free(head.next);
				return NULL;
			}
			return head.next;
		}
		struct node *nd;
		if (sigil == '#' || sigil == '^') {
			nd = node_new(sigil == '#' ? N_SECTION : N_INVERTED, tag, taglen);
			char name[128];
			snprintf(name, sizeof name, "%.*s", (int)taglen, tag);
			nd->child = parse(src, pos, name, strlen(name), depth + 1, err, errlen, failed);
			if (*failed) { nodes_free(nd); break; }
		} else if (sigil == '>') {
			nd = node_new(N_PARTIAL, tag, taglen);
		} else {
			nd = node_new(sigil == '&' ? N_RAW : sigil == '%' ? N_URL : N_VAR, tag, taglen);
		}
		tail->next = nd;
		tail = nd;
	}
	if (end && !*failed) { snprintf(err, (size_t)errlen, "unclosed section {{#%s}}", end); *failed = 1; }
	if (*failed) { nodes_free(head.next); return NULL; }
	return head.next;
}

tmpl *tmpl_compile(const char *name, const char *src, char *err, int errlen)
{
	size_t pos = 0;
	int failed = 0;
	struct node *root = parse(src, &pos, NULL, 0, 0, err, errlen, &failed);
	if (failed) return NULL;
	tmpl *t = calloc(1, sizeof *t);
	t->name = strdup(name ? name : "");
	t->root = root;
	return t;
}

void tmpl_register(const char *name, tmpl *t)
{
	for (int i = 0; i < nregistry; i++)
		if (!strcmp(registry[i].name, name)) { tmpl_free(registry[i].t); registry[i].t = t; return; }
	if (nregistry == MAX_TEMPLATES) { tmpl_free(t); return; }
	registry[nregistry].name = strdup(name);
	registry[nregistry].t = t;
	nregistry++;
}

const tmpl *tmpl_get(const char *name)
{
	for (int i = 0; i < nregistry; i++)
		if (!strcmp(registry[i].name, name)) return registry[i].t;
	return NULL;
}

static int load_dir(const char *base, const char *rel, char *err, int errlen)
{
	char path[4096];
	snprintf(path, sizeof path, "%s%s%s", base, *rel ? "/" : "", rel);
	DIR *d = opendir(path);
	if (!d) { snprintf(err, (size_t)errlen, "cannot open template dir %.300s", path); return -1; }
	struct dirent *e;
	int rc = 0;
	while (rc == 0 && (e = readdir(d))) {
		if (e->d_name[0] == '.') continue;
		char sub[2048], full[4096];
		snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", e->d_name);
		snprintf(full, sizeof full, "%s/%s", base, sub);
		struct stat st;
		if (stat(full, &st) < 0) continue;
		if (S_ISDIR(st.st_mode)) { rc = load_dir(base, sub, err, errlen); continue; }
		size_t sl = strlen(sub);
		if (sl < 6 || strcmp(sub + sl - 5, ".html")) continue;
		FILE *f = fopen(full, "r");
		if (!f) continue;
		buf b = {0};
		char chunk[8192];
		size_t n;
		while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) buf_append(&b, chunk, n);
		fclose(f);
		sub[sl - 5] = 0;
		char e2[256];
		tmpl *t = tmpl_compile(sub, b.p ? b.p : "", e2, sizeof e2);
		buf_free(&b);
		if (!t) { snprintf(err, (size_t)errlen, "template %s: %s", sub, e2); rc = -1; break; }
		tmpl_register(sub, t);
	}
	closedir(d);
	return rc;
}

int tmpl_load_dir(const char *dir, char *err, int errlen) { return load_dir(dir, "", err, errlen); }

void html_escape(buf *out, const char *s, size_t n)
{
	size_t start = 0;
	for (size_t i = 0; i < n; i++) {
		const char *rep = NULL;
		switch (s[i]) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		case '`': rep = "&#96;"; break;
		case '=': rep = "&#61;"; break;
		}
		if (rep) {
			if (i > start) buf_append(out, s + start, i - start);
			buf_puts(out, rep);
			start = i + 1;
		}
	}
	if (n > start) buf_append(out, s + start, n - start);
}

struct stack { json_object *v[MAX_DEPTH + 2]; int n; };

static json_object *lookup(struct stack *st, const char *name)
{
	if (!strcmp(name, ".")) return st->v[st->n - 1];
	char first[128];
	size_t fl = strcspn(name, ".");
	if (fl >= sizeof first) return NULL;
	memcpy(first, name, fl);
	first[fl] = 0;
	json_object *v = NULL;
	int found = 0;
	for (int i = st->n - 1; i >= 0 && !found; i--)
		if (json_object_is_type(st->v[i], json_type_object) && json_object_object_get_ex(st->v[i], first, &v))
			found = 1;
	if (!found) return NULL;
	const char *rest = name + fl;
	while (*rest == '.' && v) {
		rest++;
		size_t l = strcspn(rest, ".");
		if (l >= sizeof first) return NULL;
		memcpy(first, rest, l);
		first[l] = 0;
		json_object *next = NULL;
		if (!json_object_is_type(v, json_type_object) || !json_object_object_get_ex(v, first, &next)) return NULL;
		v = next;
		rest += l;
	}
	return v;
}

static int truthy(json_object *v)
{
	if (!v) return 0;
	switch (json_object_get_type(v)) {
	case json_type_null: return 0;
	case json_type_boolean: return json_object_get_boolean(v);
	case json_type_int: return json_object_get_int64(v) != 0;
	case json_type_double: return json_object_get_double(v) != 0;
	case json_type_string: return json_object_get_string_len(v) > 0;
	case json_type_array: return json_object_array_length(v) > 0;
	default: return 1;
	}
}

static void emit_value(buf *out, json_object *v, int escape)
{
	if (!v || json_object_is_type(v, json_type_null)) return;
	const char *s;
	size_t len;
	if (json_object_is_type(v, json_type_string)) {
		s = json_object_get_string(v);
		len = (size_t)json_object_get_string_len(v);
	} else {
		s = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
		len = strlen(s);
	}
	if (escape) html_escape(out, s, len);
	else buf_append(out, s, len);
}

/* {{%name}}: one URL path segment or query value, percent-encoded (an id with / ? # or a space stays one segment);
 * the result has only unreserved characters and %XX, so it is safe in an attribute as it is */
static void emit_url(buf *out, json_object *v)
{
	static const char hex[] = "0123456789ABCDEF";
	if (!v || json_object_is_type(v, json_type_null)) return;
	const char *s = json_object_is_type(v, json_type_string) ? json_object_get_string(v)
								  : json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
			buf_append(out, s, 1);
		} else {
			char e[3] = {'%', hex[c >> 4], hex[c & 15]};
			buf_append(out, e, 3);
		}
	}
}

static int render_nodes(const struct node *n, struct stack *st, buf *out, int depth);

static int render_nodes(const struct node *n, struct stack *st, buf *out, int depth)
{
	if (depth > MAX_DEPTH) return -1;
	for (; n; n = n->next) {
		switch (n->type) {
		case N_TEXT: buf_append(out, n->text, n->len); break;
		case N_VAR: emit_value(out, lookup(st, n->text), 1); break;
		case N_RAW: emit_value(out, lookup(st, n->text), 0); break;
		case N_URL: emit_url(out, lookup(st, n->text)); break;
		case N_PARTIAL: {
			const tmpl *p = tmpl_get(n->text);
			if (p && render_nodes(p->root, st, out, depth + 1) < 0) return -1;
			break;
		}
		case N_INVERTED:
			if (!truthy(lookup(st, n->text)) && render_nodes(n->child, st, out, depth + 1) < 0) return -1;
			break;
		case N_SECTION: {
			json_object *v = lookup(st, n->text);
			if (!truthy(v)) break;
			if (st->n >= MAX_DEPTH) return -1;
			if (json_object_is_type(v, json_type_array)) {
				size_t len = json_object_array_length(v);
				for (size_t i = 0; i < len; i++) {
					st->v[st->n++] = json_object_array_get_idx(v, i);
					int rc = render_nodes(n->child, st, out, depth + 1);
					st->n--;
					if (rc < 0) return -1;
				}
			} else {
				st->v[st->n++] = v;
				int rc = render_nodes(n->child, st, out, depth + 1);
				st->n--;
				if (rc < 0) return -1;
			}
			break;
		}
		}
	}
	return 0;
}

int tmpl_render(const tmpl *t, json_object *ctx, buf *out)
{
	struct stack st = {.n = 1};
	st.v[0] = ctx;
	return render_nodes(t->root, &st, out, 0);
}

int tmpl_render_name(const char *name, json_object *ctx, buf *out)
{
	const tmpl *t = tmpl_get(name);
	return t ? tmpl_render(t, ctx, out) : -1;
}
